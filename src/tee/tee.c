/* The TEE interface (include/ward/tee.h), backend-independent part: images in sealed memfds,
 * instances and their budgets, the worker thread that starts TAs and refills warm pools, the
 * services the platform gives a TA (reports, sealing keys, its identity), and report checks.
 *
 * Images: the bytes are written to a memfd (MFD_ALLOW_SEALING), sealed against any change
 * (F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL), mapped read-only, and what is IN
 * the memfd is checked against the manifest (size, SHA-256, measurement). Instances are exec'd
 * from that memfd: nothing is re-read or re-hashed at create.
 *
 * Identity: a TA's report and sealing keys use the host's verified manifest of the image that
 * runs (measurement, signer, product id, SVN, debug) and the backend's platform kind, never
 * anything the TA claims.
 *
 * The worker thread: PR_SET_PDEATHSIG follows the thread that forked, so every TA is started
 * from this one thread, which lives as long as the tee: a TA dies with its tee's process, not
 * with whichever application thread happened to create it. The worker also refills warm pools
 * (creating replacements after create took one); create requests go before refills.
 *
 * Budgets: an instance reserves its secret heap (memory limit + two message buffers + the
 * runtime's slack), its call stack and its ring against memory_budget, and its thread limit
 * against threads_budget, from create until destroy; warm instances count too. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tee/sandbox_landlock.h"
#include "tee/tee_internal.h"
#include "ward/crypto.h"
#include "ward/ta.h" /* ward_seal_policy */
#include "ward/x509.h"

#define DEFAULT_TIMEOUT_MS 30000u
#define DEFAULT_MAX_MESSAGE (1u << 20)
#define DEFAULT_SPIN_US 100u
#define DEFAULT_THREADS_BUDGET 256u
#define MAX_IMAGE ((size_t)512 << 20)
#define MAX_MANIFEST ((size_t)1 << 20)
#define MIN_MEMORY 4096u
#define MIN_MAX_MESSAGE 4096u
#define SEAL_LABEL "ward-seal-v1"
/* A warm instance taken by create is replaced once it has answered its first call (or is
 * destroyed before that): the replacement's start-up (exec, page faults in secret memory, each of
 * which flushes TLBs on every CPU) would otherwise compete with that first call. */

struct spawn_job {
    ward_tee_instance *inst;
    ward_err result;
    char msg[256];
    int done;
    spawn_job *next;
};

/* ---- helpers --------------------------------------------------------------------------------- */

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t page_up(uint64_t n)
{
    return (n + 4095u) & ~(uint64_t)4095u;
}

static int limits_equal(const ward_tee_limits *a, const ward_tee_limits *b)
{
    return a->memory_bytes == b->memory_bytes && a->threads == b->threads &&
           a->call_timeout_ms == b->call_timeout_ms && a->max_message == b->max_message &&
           a->switchless == b->switchless && a->spin_us == b->spin_us;
}

static ward_err normalize_limits(const ward_tee_image *img, const ward_tee_limits *in,
                                 ward_tee_limits *o)
{
    static const ward_tee_limits none;
    if (in == NULL)
        in = &none;
    const ward_manifest *m = img->manifest;
    uint64_t heap_max = ward_manifest_heap_max(m);
    uint32_t threads_max = ward_manifest_threads_max(m);
    o->memory_bytes = in->memory_bytes != 0 ? in->memory_bytes : heap_max;
    if (o->memory_bytes > heap_max)
        return ward_err_set(WARD_ERR_LIMIT,
                            "memory limit %llu exceeds the manifest's heap_max %llu",
                            (unsigned long long)o->memory_bytes, (unsigned long long)heap_max);
    if (o->memory_bytes < MIN_MEMORY)
        o->memory_bytes = MIN_MEMORY;
    if (o->memory_bytes > (UINT64_C(1) << 39))
        return ward_err_set(WARD_ERR_LIMIT, "memory limit too large");
    o->threads = in->threads != 0 ? in->threads : threads_max;
    if (o->threads > threads_max && threads_max != 0)
        return ward_err_set(WARD_ERR_LIMIT, "thread limit %u exceeds the manifest's threads_max %u",
                            o->threads, threads_max);
    if (o->threads == 0)
        o->threads = 1;
    o->call_timeout_ms = in->call_timeout_ms != 0 ? in->call_timeout_ms : DEFAULT_TIMEOUT_MS;
    o->max_message = in->max_message != 0 ? in->max_message : DEFAULT_MAX_MESSAGE;
    if (o->max_message < MIN_MAX_MESSAGE)
        o->max_message = MIN_MAX_MESSAGE; /* room for reports and error texts */
    if (o->max_message > WARD_RING_MAX_MESSAGE)
        return ward_err_set(WARD_ERR_LIMIT, "max_message %u exceeds %u", o->max_message,
                            WARD_RING_MAX_MESSAGE);
    /* the TA maps its heap (which holds two messages) only in whole pages */
    o->max_message = (uint32_t)page_up(o->max_message);
    o->switchless = in->switchless ? 1 : 0;
    o->spin_us = in->spin_us != 0 ? in->spin_us : DEFAULT_SPIN_US;
    if (o->spin_us > 1000000u)
        return ward_err_set(WARD_ERR_INVALID_ARG, "spin_us %u exceeds one second", o->spin_us);
    return WARD_OK;
}

/* ---- images ---------------------------------------------------------------------------------- */

static void image_free(ward_tee_image *img)
{
    if (img->fd >= 0)
        close(img->fd);
    ward_manifest_free(img->manifest);
    free(img);
}

/* Drops one reference; frees the image (unlinked from the tee) at zero. Lock held. */
static void image_unref_locked(ward_tee_image *img)
{
    if (--img->refs != 0)
        return;
    ward_tee *tee = img->tee;
    for (ward_tee_image **pp = &tee->images; *pp != NULL; pp = &(*pp)->next)
        if (*pp == img) {
            *pp = img->next;
            break;
        }
    image_free(img);
}

ward_err ward_tee_image_register(ward_tee *tee, const uint8_t *image, size_t image_len,
                                 const char *manifest_json, size_t manifest_len,
                                 ward_tee_image **out)
{
    if (out != NULL)
        *out = NULL;
    if (tee == NULL || image == NULL || manifest_json == NULL || out == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "image register: missing argument");
    if (image_len == 0 || image_len > MAX_IMAGE)
        return ward_err_set(WARD_ERR_LIMIT, "image of %zu bytes (at most %zu)", image_len,
                            MAX_IMAGE);
    if (manifest_len > MAX_MANIFEST)
        return ward_err_set(WARD_ERR_LIMIT, "manifest of %zu bytes (at most %zu)", manifest_len,
                            MAX_MANIFEST);
    ward_manifest *m = NULL;
    ward_err e = ward_manifest_parse(manifest_json, manifest_len, &m);
    if (e != WARD_OK)
        return ward_err_wrap(e, "TA manifest refused");

    char name[WARD_TA_NAME_MAX + 16];
    snprintf(name, sizeof name, "ward-ta:%s", ward_manifest_name(m));
    int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0) {
        e = ward_err_set(WARD_ERR_IO, "memfd_create: %s", strerror(errno));
        goto fail;
    }
    for (size_t off = 0; off < image_len;) {
        ssize_t n = write(fd, image + off, image_len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            e = ward_err_set(WARD_ERR_IO, "writing the image to its memfd: %s",
                             n < 0 ? strerror(errno) : "short write");
            goto fail;
        }
        off += (size_t)n;
    }
    if (fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) {
        e = ward_err_set(WARD_ERR_IO, "sealing the image memfd: %s", strerror(errno));
        goto fail;
    }
    /* From here on the bytes cannot change: check what is in the memfd, not the caller's
     * buffer (which the caller could change after this check). */
    void *map = mmap(NULL, image_len, PROT_READ, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED) {
        e = ward_err_set(WARD_ERR_IO, "mapping the sealed image: %s", strerror(errno));
        goto fail;
    }
    e = ward_manifest_check_image(m, map, image_len);
    if (e != WARD_OK)
        ward_err_wrap(e, "TA image %s refused", ward_manifest_name(m));
    else if (image_len < 64 || memcmp(map, "\177ELF", 4) != 0)
        e = ward_err_set(WARD_ERR_FORMAT, "TA image %s is not an ELF executable",
                         ward_manifest_name(m));
    munmap(map, image_len);
    if (e != WARD_OK)
        goto fail;

    ward_tee_image *img = calloc(1, sizeof *img);
    if (img == NULL) {
        e = ward_err_set(WARD_ERR_NOMEM, "out of memory");
        goto fail;
    }
    img->tee = tee;
    img->fd = fd;
    img->size = image_len;
    img->manifest = m;
    img->refs = 1;
    pthread_mutex_lock(&tee->mu);
    img->next = tee->images;
    tee->images = img;
    pthread_mutex_unlock(&tee->mu);
    *out = img;
    return WARD_OK;
fail:
    if (fd >= 0)
        close(fd);
    ward_manifest_free(m);
    return e;
}

static ward_err read_file(const char *path, size_t max, uint8_t **out, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ward_err_set(errno == ENOENT ? WARD_ERR_NOT_FOUND : WARD_ERR_IO, "%s: %s", path,
                            strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return ward_err_set(WARD_ERR_IO, "%s: not a regular file", path);
    }
    if ((uint64_t)st.st_size > max) {
        close(fd);
        return ward_err_set(WARD_ERR_LIMIT, "%s: larger than %zu bytes", path, max);
    }
    size_t n = (size_t)st.st_size;
    uint8_t *buf = malloc(n + 1);
    if (buf == NULL) {
        close(fd);
        return ward_err_set(WARD_ERR_NOMEM, "out of memory");
    }
    size_t off = 0;
    while (off < n) {
        ssize_t r = read(fd, buf + off, n - off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        off += (size_t)r;
    }
    close(fd);
    if (off != n) {
        free(buf);
        return ward_err_set(WARD_ERR_IO, "%s: short read", path);
    }
    buf[n] = 0;
    *out = buf;
    *len = n;
    return WARD_OK;
}

ward_err ward_tee_image_register_files(ward_tee *tee, const char *image_path,
                                       const char *manifest_path, ward_tee_image **out)
{
    if (out != NULL)
        *out = NULL;
    if (tee == NULL || image_path == NULL || manifest_path == NULL || out == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "image register: missing argument");
    uint8_t *image = NULL, *manifest = NULL;
    size_t ilen = 0, mlen = 0;
    ward_err e = read_file(image_path, MAX_IMAGE, &image, &ilen);
    if (e == WARD_OK)
        e = read_file(manifest_path, MAX_MANIFEST, &manifest, &mlen);
    if (e == WARD_OK)
        e = ward_tee_image_register(tee, image, ilen, (const char *)manifest, mlen, out);
    free(image);
    free(manifest);
    return e;
}

const ward_manifest *ward_tee_image_manifest(const ward_tee_image *img)
{
    return img != NULL ? img->manifest : NULL;
}

/* ---- instances ------------------------------------------------------------------------------- */

/* A new instance object with its budget reserved. Lock held. */
static ward_err instance_new_locked(ward_tee *tee, ward_tee_image *img,
                                    const ward_tee_limits *lim, ward_tee_instance **out)
{
    uint64_t heap = page_up(lim->memory_bytes) + 2 * (uint64_t)lim->max_message +
                    WARD_TEE_RUNTIME_SLACK;
    uint64_t ring = WARD_RING_HDR_SIZE + 2 * ward_ring_slot_size(lim->max_message);
    uint64_t mem = heap + WARD_TEE_STACK_BYTES + 4096u + ring;
    if (mem > tee->memory_budget || tee->memory_reserved > tee->memory_budget - mem)
        return ward_err_set(WARD_ERR_LIMIT,
                            "TEE memory budget exceeded: %llu of %llu bytes reserved, the "
                            "instance needs %llu",
                            (unsigned long long)tee->memory_reserved,
                            (unsigned long long)tee->memory_budget, (unsigned long long)mem);
    if (lim->threads > tee->threads_budget ||
        tee->threads_reserved > tee->threads_budget - lim->threads)
        return ward_err_set(WARD_ERR_LIMIT,
                            "TEE thread budget exceeded: %u of %u reserved, the instance "
                            "needs %u",
                            tee->threads_reserved, tee->threads_budget, lim->threads);
    ward_tee_instance *inst = calloc(1, sizeof *inst);
    if (inst == NULL)
        return ward_err_set(WARD_ERR_NOMEM, "out of memory");
    ward_err e = ward_random(inst->id, sizeof inst->id);
    if (e != WARD_OK) {
        free(inst);
        return e;
    }
    inst->tee = tee;
    inst->img = img;
    inst->limits = *lim;
    inst->heap_bytes = heap;
    inst->mem_reserved = mem;
    inst->threads_reserved = lim->threads;
    inst->pidfd = -1;
    inst->pinned_cpu = -1;
    tee->memory_reserved += mem;
    tee->threads_reserved += lim->threads;
    img->refs++;
    *out = inst;
    return WARD_OK;
}

/* Ends an instance (not in any list) and frees it. Lock not held. */
static ward_err instance_discard(ward_tee_instance *inst)
{
    ward_err e = ward__proc_destroy(inst);
    ward_tee *tee = inst->tee;
    pthread_mutex_lock(&tee->mu);
    tee->memory_reserved -= inst->mem_reserved;
    tee->threads_reserved -= inst->threads_reserved;
    image_unref_locked(inst->img);
    pthread_mutex_unlock(&tee->mu);
    ward_wipe(inst, sizeof *inst);
    free(inst);
    return e;
}

static void list_push(ward_tee_instance **head, ward_tee_instance *inst)
{
    inst->prev = NULL;
    inst->next = *head;
    if (*head != NULL)
        (*head)->prev = inst;
    *head = inst;
}

static void list_remove(ward_tee_instance **head, ward_tee_instance *inst)
{
    if (inst->prev != NULL)
        inst->prev->next = inst->next;
    else if (*head == inst)
        *head = inst->next;
    if (inst->next != NULL)
        inst->next->prev = inst->prev;
    inst->next = inst->prev = NULL;
}

/* Discards every instance of a detached list. Lock not held. */
static void discard_list(ward_tee_instance *list)
{
    while (list != NULL) {
        ward_tee_instance *next = list->next;
        list->next = list->prev = NULL;
        instance_discard(list);
        list = next;
    }
}

/* Takes pool instances beyond keep off img's pool into a detached list. Lock held. */
static ward_tee_instance *pool_trim_locked(ward_tee_image *img, unsigned keep)
{
    ward_tee_instance *out = NULL;
    while (img->pool_n > keep && img->pool != NULL) {
        ward_tee_instance *inst = img->pool;
        list_remove(&img->pool, inst);
        img->pool_n--;
        img->tee->n_warm--;
        list_push(&out, inst);
    }
    return out;
}

/* ---- the worker thread ------------------------------------------------------------------------ */

/* Fills warm pools; returns when they are full, a refill failed, or a create is waiting.
 * Lock held (released around each start). */
static void refill_locked(ward_tee *tee)
{
    for (;;) {
        if (tee->stopping)
            return;
        if (tee->jobs != NULL) {
            tee->refill_wanted = 1;
            return;
        }
        ward_tee_image *img = NULL;
        for (ward_tee_image *i = tee->images; i != NULL; i = i->next)
            if (!i->released && i->pool_error == WARD_OK &&
                i->pool_n + i->pool_starting < i->pool_target) {
                img = i;
                break;
            }
        if (img == NULL)
            return;
        ward_tee_instance *inst = NULL;
        ward_err e = instance_new_locked(tee, img, &img->pool_limits, &inst);
        if (e != WARD_OK) {
            img->pool_error = e;
            snprintf(img->pool_msg, sizeof img->pool_msg, "%s", ward_errmsg());
            pthread_cond_broadcast(&tee->done_cv);
            continue;
        }
        inst->warm = 1;
        img->pool_starting++;
        pthread_mutex_unlock(&tee->mu);
        e = ward__proc_spawn(inst);
        if (e == WARD_OK)
            e = ward__proc_wait_ready(inst);
        char msg[256];
        snprintf(msg, sizeof msg, "%s", e != WARD_OK ? ward_errmsg() : "");
        pthread_mutex_lock(&tee->mu);
        img->pool_starting--;
        if (e != WARD_OK || img->released || img->pool_n >= img->pool_target ||
            !limits_equal(&inst->limits, &img->pool_limits)) {
            if (e != WARD_OK) {
                img->pool_error = e;
                snprintf(img->pool_msg, sizeof img->pool_msg, "%s", msg);
            }
            pthread_mutex_unlock(&tee->mu);
            instance_discard(inst);
            pthread_mutex_lock(&tee->mu);
            pthread_cond_broadcast(&tee->done_cv);
            continue;
        }
        list_push(&img->pool, inst);
        img->pool_n++;
        tee->n_warm++;
        pthread_cond_broadcast(&tee->done_cv);
    }
}

static void *worker_main(void *arg)
{
    ward_tee *tee = arg;
    pthread_mutex_lock(&tee->mu);
    while (!tee->stopping) {
        if (tee->jobs != NULL) {
            spawn_job *j = tee->jobs;
            tee->jobs = j->next;
            pthread_mutex_unlock(&tee->mu);
            j->result = ward__proc_spawn(j->inst);
            if (j->result != WARD_OK)
                snprintf(j->msg, sizeof j->msg, "%s", ward_errmsg());
            pthread_mutex_lock(&tee->mu);
            j->done = 1;
            pthread_cond_broadcast(&tee->done_cv);
            continue;
        }
        if (tee->refill_wanted) {
            tee->refill_wanted = 0;
            refill_locked(tee);
            continue;
        }
        pthread_cond_wait(&tee->work_cv, &tee->mu);
    }
    /* Jobs posted while stopping fail. */
    for (spawn_job *j = tee->jobs; j != NULL; j = j->next) {
        j->result = WARD_ERR_STATE;
        snprintf(j->msg, sizeof j->msg, "the TEE is closing");
        j->done = 1;
    }
    tee->jobs = NULL;
    pthread_cond_broadcast(&tee->done_cv);
    pthread_mutex_unlock(&tee->mu);
    return NULL;
}

/* ---- open / close ---------------------------------------------------------------------------- */

ward_err ward_tee_open(const ward_tee_config *cfg, ward_tee **out)
{
    if (out != NULL)
        *out = NULL;
    if (cfg == NULL || out == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "tee open: missing argument");
    if (cfg->rot == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "tee open: a root of trust is needed");
    const ward_tee_profile *profile;
    if (cfg->backend == WARD_TEE_SANDBOX)
        profile = &ward__sandbox_profile;
    else if (cfg->backend == WARD_TEE_SIM)
        profile = &ward__sim_profile;
    else
        return ward_err_set(WARD_ERR_INVALID_ARG, "unknown TEE backend %d", (int)cfg->backend);
    if (profile->sandboxed) {
        if (ward_ll_abi() <= 0)
            return ward_err_set(WARD_ERR_UNSUPPORTED,
                                "the sandbox needs Landlock (Linux >= 5.13, enabled in the LSM "
                                "list) to deny TAs all file access");
        if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) < 0)
            return ward_err_set(WARD_ERR_UNSUPPORTED, "the sandbox needs seccomp");
    }
    ward_tee *tee = calloc(1, sizeof *tee);
    if (tee == NULL)
        return ward_err_set(WARD_ERR_NOMEM, "out of memory");
    tee->backend = cfg->backend;
    tee->profile = profile;
    tee->rot = cfg->rot;
    ward_rot_platform_key_id(cfg->rot, tee->platform_key_id);
    ward_err e = ward_cert_public_key(ward_rot_platform_cert(cfg->rot), &tee->platform_pub);
    if (e != WARD_OK) {
        free(tee);
        return ward_err_wrap(e, "platform certificate");
    }
    tee->memory_budget = cfg->memory_budget;
    if (tee->memory_budget == 0) {
        long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
        tee->memory_budget = pages > 0 && psize > 0 ? (uint64_t)pages * (uint64_t)psize / 2
                                                    : (UINT64_C(1) << 30);
    }
    tee->threads_budget = cfg->threads_budget != 0 ? cfg->threads_budget
                                                   : DEFAULT_THREADS_BUDGET;
    pthread_mutex_init(&tee->mu, NULL);
    pthread_cond_init(&tee->work_cv, NULL);
    pthread_cond_init(&tee->done_cv, NULL);

    /* The worker takes no signals: they stay with the application's threads. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int r = pthread_create(&tee->worker, NULL, worker_main, tee);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (r != 0) {
        pthread_cond_destroy(&tee->work_cv);
        pthread_cond_destroy(&tee->done_cv);
        pthread_mutex_destroy(&tee->mu);
        ward_pkey_free(tee->platform_pub);
        free(tee);
        return ward_err_set(WARD_ERR_NOMEM, "cannot start the TEE worker thread: %s",
                            strerror(r));
    }
    tee->worker_running = 1;
    *out = tee;
    return WARD_OK;
}

void ward_tee_close(ward_tee *tee)
{
    if (tee == NULL)
        return;
    pthread_mutex_lock(&tee->mu);
    ward_tee_instance *doomed = NULL;
    for (ward_tee_image *img = tee->images; img != NULL; img = img->next) {
        img->pool_target = 0;
        ward_tee_instance *l = pool_trim_locked(img, 0);
        while (l != NULL) {
            ward_tee_instance *n = l->next;
            list_push(&doomed, l);
            l = n;
        }
    }
    while (tee->instances != NULL) {
        ward_tee_instance *inst = tee->instances;
        list_remove(&tee->instances, inst);
        list_push(&doomed, inst);
    }
    tee->stopping = 1;
    pthread_cond_broadcast(&tee->work_cv);
    pthread_mutex_unlock(&tee->mu);
    discard_list(doomed);
    if (tee->worker_running)
        pthread_join(tee->worker, NULL);
    /* The worker discarded anything it was starting; what is left are images. */
    while (tee->images != NULL) {
        ward_tee_image *img = tee->images;
        tee->images = img->next;
        image_free(img);
    }
    ward_pkey_free(tee->platform_pub);
    pthread_cond_destroy(&tee->work_cv);
    pthread_cond_destroy(&tee->done_cv);
    pthread_mutex_destroy(&tee->mu);
    free(tee);
}

ward_tee_backend ward_tee_backend_kind(const ward_tee *tee)
{
    return tee->backend;
}

void ward_tee_image_release(ward_tee_image *img)
{
    if (img == NULL)
        return;
    ward_tee *tee = img->tee;
    pthread_mutex_lock(&tee->mu);
    if (img->released) {
        pthread_mutex_unlock(&tee->mu);
        return;
    }
    img->released = 1;
    img->pool_target = 0;
    ward_tee_instance *doomed = pool_trim_locked(img, 0);
    image_unref_locked(img); /* pool instances still hold theirs */
    pthread_mutex_unlock(&tee->mu);
    discard_list(doomed);
}

/* ---- create / call / destroy ------------------------------------------------------------------ */

void ward_tee_set_event_hook(ward_tee *tee, ward_tee_event_fn fn, void *arg)
{
    if (tee == NULL)
        return;
    tee->on_event = fn;
    tee->event_arg = arg;
}

/* Reports an event to the hook, keeping the caller's error message intact: the hook may well
 * call functions that set their own. note: what the message says when result is WARD_OK. */
static void emit_named(const ward_tee *tee, ward_tee_event_kind kind, const char *name,
                       const uint8_t meas[32], const uint8_t *instance_id, ward_err result,
                       const char *note)
{
    if (tee->on_event == NULL)
        return;
    char saved[512];
    snprintf(saved, sizeof saved, "%s",
             result != WARD_OK ? ward_errmsg() : note != NULL ? note : "");
    ward_tee_event ev = {
        .kind = kind,
        .ta_name = name,
        .measurement = meas,
        .instance_id = instance_id,
        .result = result,
        .message = saved,
    };
    tee->on_event(tee->event_arg, &ev);
    if (result != WARD_OK)
        ward_err_set(result, "%s", saved);
}

static void emit(const ward_tee *tee, ward_tee_event_kind kind, const ward_manifest *m,
                 const uint8_t *instance_id, ward_err result)
{
    if (tee->on_event == NULL)
        return;
    uint8_t meas[32];
    ward_manifest_measurement(m, meas);
    emit_named(tee, kind, ward_manifest_name(m), meas, instance_id, result, NULL);
}

static ward_err create_instance(ward_tee *tee, ward_tee_image *img, const ward_tee_limits *limits,
                                ward_tee_ocall_fn ocall, void *ocall_arg,
                                ward_tee_instance **out);

ward_err ward_tee_create(ward_tee *tee, ward_tee_image *img, const ward_tee_limits *limits,
                         ward_tee_ocall_fn ocall, void *ocall_arg, ward_tee_instance **out)
{
    ward_err e = create_instance(tee, img, limits, ocall, ocall_arg, out);
    if (tee != NULL && img != NULL && img->tee == tee)
        emit(tee, WARD_TEE_EVENT_CREATED, img->manifest, e == WARD_OK ? (*out)->id : NULL, e);
    return e;
}

static ward_err create_instance(ward_tee *tee, ward_tee_image *img, const ward_tee_limits *limits,
                                ward_tee_ocall_fn ocall, void *ocall_arg,
                                ward_tee_instance **out)
{
    if (out != NULL)
        *out = NULL;
    if (tee == NULL || img == NULL || out == NULL || img->tee != tee)
        return ward_err_set(WARD_ERR_INVALID_ARG, "tee create: bad argument");
    ward_tee_limits lim;
    ward_err e = normalize_limits(img, limits, &lim);
    if (e != WARD_OK)
        return e;

    pthread_mutex_lock(&tee->mu);
    if (img->released || tee->stopping) {
        pthread_mutex_unlock(&tee->mu);
        return ward_err_set(WARD_ERR_STATE, "the image was released");
    }
    ward_tee_instance *inst = NULL;
    img->pool_error = WARD_OK;
    while (img->pool_n > 0 && limits_equal(&img->pool_limits, &lim)) {
        inst = img->pool;
        list_remove(&img->pool, inst);
        img->pool_n--;
        tee->n_warm--;
        /* The worker is told when this instance has answered its first call (or is destroyed
         * before): waking it now would compete with that call. */
        tee->refill_wanted = 1;
        if (ward__proc_alive(inst)) {
            inst->refill_after_call = 1;
            break;
        }
        pthread_mutex_unlock(&tee->mu); /* it died while waiting: discard, try another */
        instance_discard(inst);
        inst = NULL;
        pthread_mutex_lock(&tee->mu);
    }
    if (inst != NULL) {
        inst->ocall = ocall;
        inst->ocall_arg = ocall_arg;
        list_push(&tee->instances, inst);
        pthread_mutex_unlock(&tee->mu);
        *out = inst;
        return WARD_OK;
    }

    e = instance_new_locked(tee, img, &lim, &inst);
    if (e != WARD_OK) {
        pthread_mutex_unlock(&tee->mu);
        return e;
    }
    inst->ocall = ocall;
    inst->ocall_arg = ocall_arg;
    spawn_job job;
    memset(&job, 0, sizeof job);
    job.inst = inst;
    spawn_job **tail = &tee->jobs;
    while (*tail != NULL)
        tail = &(*tail)->next;
    *tail = &job;
    pthread_cond_signal(&tee->work_cv);
    while (!job.done)
        pthread_cond_wait(&tee->done_cv, &tee->mu);
    pthread_mutex_unlock(&tee->mu);

    e = job.result;
    if (e != WARD_OK)
        ward_err_set(e, "%s", job.msg);
    else
        e = ward__proc_wait_ready(inst);
    if (e != WARD_OK) {
        char msg[256];
        snprintf(msg, sizeof msg, "%s", ward_errmsg());
        instance_discard(inst);
        return ward_err_set(e, "%s", msg);
    }
    pthread_mutex_lock(&tee->mu);
    list_push(&tee->instances, inst);
    pthread_mutex_unlock(&tee->mu);
    *out = inst;
    return WARD_OK;
}

ward_err ward_tee_call(ward_tee_instance *inst, uint32_t call_id, const uint8_t *in,
                       size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
    if (out_len != NULL)
        *out_len = 0;
    if (inst == NULL || out_len == NULL || (in_len != 0 && in == NULL) ||
        (out_cap != 0 && out == NULL))
        return ward_err_set(WARD_ERR_INVALID_ARG, "tee call: bad argument");
    if (in_len > inst->limits.max_message)
        return ward_err_set(WARD_ERR_OVERFLOW, "request of %zu bytes exceeds max_message %u",
                            in_len, inst->limits.max_message);
    size_t n_calls = ward_manifest_n_calls(inst->img->manifest);
    if (call_id >= n_calls)
        return ward_err_set(WARD_ERR_NOT_FOUND, "%s exports no call %u (it has %zu)",
                            ward_manifest_name(inst->img->manifest), call_id, n_calls);
    if (__atomic_exchange_n(&inst->busy, 1, __ATOMIC_SEQ_CST) != 0)
        return ward_err_set(WARD_ERR_STATE, "another call to this instance is in progress");
    ward_err e = ward__proc_call(inst, call_id, in, in_len, out, out_cap, out_len);
    __atomic_store_n(&inst->busy, 0, __ATOMIC_SEQ_CST);
    if (inst->refill_after_call) {
        inst->refill_after_call = 0;
        ward_tee *tee = inst->tee;
        pthread_mutex_lock(&tee->mu);
        pthread_cond_signal(&tee->work_cv);
        pthread_mutex_unlock(&tee->mu);
    }
    return e;
}

ward_err ward_tee_destroy(ward_tee_instance *inst)
{
    if (inst == NULL)
        return WARD_OK;
    ward_tee *tee = inst->tee;
    pthread_mutex_lock(&tee->mu);
    list_remove(&tee->instances, inst);
    if (inst->refill_after_call)
        pthread_cond_signal(&tee->work_cv); /* taken from a pool, never called */
    pthread_mutex_unlock(&tee->mu);
    /* The discard frees inst, and with it possibly a released image: copy what the event
     * names first. */
    char name[WARD_TA_NAME_MAX + 1];
    uint8_t meas[32], id[sizeof inst->id];
    snprintf(name, sizeof name, "%s", ward_manifest_name(inst->img->manifest));
    ward_manifest_measurement(inst->img->manifest, meas);
    memcpy(id, inst->id, sizeof id);
    const int interrupted = ward__proc_interrupted(inst);
    ward_err e = instance_discard(inst);
    /* Interrupted is the host's own doing, not the TA's failure: WARD_OK (no ta.killed alarm),
     * and the event says so. */
    emit_named(tee, WARD_TEE_EVENT_DESTROYED, name, meas, id, e,
               interrupted ? "the instance was interrupted" : NULL);
    return e;
}

ward_err ward_tee_interrupt(ward_tee_instance *inst)
{
    if (inst == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "tee interrupt: no instance");
    ward__proc_interrupt(inst);
    return WARD_OK;
}

void ward_tee_instance_id(const ward_tee_instance *inst, uint8_t out[16])
{
    memcpy(out, inst->id, sizeof inst->id);
}

int ward_tee_instance_alive(ward_tee_instance *inst)
{
    if (inst == NULL || inst->dead || ward__proc_interrupted(inst))
        return 0;
    if (__atomic_load_n(&inst->busy, __ATOMIC_SEQ_CST))
        return 1; /* a call in progress watches it */
    return ward__proc_alive(inst);
}

ward_err ward_tee_stats_get(ward_tee *tee, ward_tee_stats *out)
{
    if (tee == NULL || out == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "tee stats: missing argument");
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&tee->mu);
    for (ward_tee_instance *i = tee->instances; i != NULL; i = i->next)
        if (!i->dead)
            out->instances++;
    out->memory_reserved = tee->memory_reserved;
    out->threads_reserved = tee->threads_reserved;
    out->warm = tee->n_warm;
    pthread_mutex_unlock(&tee->mu);
    return WARD_OK;
}

ward_err ward_tee_warm_pool(ward_tee *tee, ward_tee_image *img, unsigned n,
                            const ward_tee_limits *limits)
{
    if (tee == NULL || img == NULL || img->tee != tee)
        return ward_err_set(WARD_ERR_INVALID_ARG, "warm pool: bad argument");
    ward_tee_limits lim;
    ward_err e = normalize_limits(img, limits, &lim);
    if (e != WARD_OK)
        return e;
    pthread_mutex_lock(&tee->mu);
    if (img->released || tee->stopping) {
        pthread_mutex_unlock(&tee->mu);
        return ward_err_set(WARD_ERR_STATE, "the image was released");
    }
    ward_tee_instance *doomed =
        pool_trim_locked(img, limits_equal(&lim, &img->pool_limits) ? n : 0);
    img->pool_target = n;
    img->pool_limits = lim;
    img->pool_error = WARD_OK;
    if (n > 0) {
        tee->refill_wanted = 1;
        pthread_cond_signal(&tee->work_cv);
        while (img->pool_n < n && img->pool_error == WARD_OK && !tee->stopping &&
               img->pool_target == n)
            pthread_cond_wait(&tee->done_cv, &tee->mu);
        e = img->pool_error;
        if (e != WARD_OK)
            ward_err_set(e, "warm pool: %s", img->pool_msg);
    }
    pthread_mutex_unlock(&tee->mu);
    discard_list(doomed);
    return e;
}

/* ---- what the platform gives a TA ------------------------------------------------------------ */

static void identity(const ward_tee_instance *inst, ward_report *r)
{
    const ward_manifest *m = inst->img->manifest;
    memset(r, 0, sizeof *r);
    r->version = WARD_REPORT_VERSION;
    r->platform = inst->tee->profile->platform;
    r->attributes = (ward_manifest_debug(m) ? WARD_ATTR_DEBUG : 0) |
                    inst->tee->profile->force_attributes;
    ward_manifest_measurement(m, r->measurement);
    ward_manifest_signer(m, r->signer);
    r->product_id = ward_manifest_product_id(m);
    r->svn = ward_manifest_svn(m);
    memcpy(r->instance_id, inst->id, sizeof r->instance_id);
    memcpy(r->platform_key_id, inst->tee->platform_key_id, sizeof r->platform_key_id);
}

static ward_err seal_key(const ward_tee_instance *inst, const uint8_t *in, size_t in_len,
                         uint8_t key[32])
{
    ward_ring_seal_req rq;
    if (in_len != sizeof rq)
        return ward_err_set(WARD_ERR_FORMAT, "seal key request of %zu bytes", in_len);
    memcpy(&rq, in, sizeof rq);
    if (rq.reserved0 != 0 || rq.reserved1 != 0)
        return ward_err_set(WARD_ERR_FORMAT, "seal key request: reserved fields set");
    if (rq.policy != WARD_SEAL_MEASUREMENT && rq.policy != WARD_SEAL_SIGNER)
        return ward_err_set(WARD_ERR_INVALID_ARG, "unknown sealing policy %u", rq.policy);
    ward_report id;
    identity(inst, &id);
    if (rq.svn > id.svn)
        return ward_err_set(WARD_ERR_PERMISSION,
                            "sealing key for SVN %u refused: the TA's SVN is %u", rq.svn, id.svn);
    /* context: policy u8 | platform u16 | attributes u64 | key_version u32 | svn u16 |
     *          measurement[32]                (policy measurement)
     *          signer[32] | product_id u16    (policy signer) */
    uint8_t ctx[1 + 2 + 8 + 4 + 2 + 32 + 2];
    size_t n = 0;
    ctx[n++] = (uint8_t)rq.policy;
    put16(ctx + n, id.platform);
    n += 2;
    put64(ctx + n, id.attributes);
    n += 8;
    put32(ctx + n, rq.key_version);
    n += 4;
    put16(ctx + n, rq.svn);
    n += 2;
    if (rq.policy == WARD_SEAL_MEASUREMENT) {
        memcpy(ctx + n, id.measurement, 32);
        n += 32;
    } else {
        memcpy(ctx + n, id.signer, 32);
        n += 32;
        put16(ctx + n, id.product_id);
        n += 2;
    }
    return ward_rot_derive(inst->tee->rot, SEAL_LABEL, ctx, n, key, 32);
}

ward_err ward__tee_sys_ocall(ward_tee_instance *inst, uint32_t id, const uint8_t *in,
                             size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
    *out_len = 0;
    switch (id) {
    case WARD_SYS_OCALL_REPORT: {
        if (in_len != WARD_REPORT_DATA_LEN)
            return ward_err_set(WARD_ERR_FORMAT, "report_data of %zu bytes", in_len);
        if (out_cap < WARD_REPORT_LEN + WARD_REPORT_SIG_LEN)
            return ward_err_set(WARD_ERR_OVERFLOW, "no room for a report");
        ward_report r;
        identity(inst, &r);
        memcpy(r.report_data, in, WARD_REPORT_DATA_LEN);
        ward_err e = ward_report_encode(&r, out);
        if (e == WARD_OK)
            e = ward_rot_sign(inst->tee->rot, out, WARD_REPORT_LEN, out + WARD_REPORT_LEN);
        if (e == WARD_OK)
            *out_len = WARD_REPORT_LEN + WARD_REPORT_SIG_LEN;
        emit(inst->tee, WARD_TEE_EVENT_REPORT, inst->img->manifest, inst->id, e);
        return e;
    }
    case WARD_SYS_OCALL_SEAL_KEY: {
        if (out_cap < 32)
            return ward_err_set(WARD_ERR_OVERFLOW, "no room for a key");
        ward_err e = seal_key(inst, in, in_len, out);
        if (e == WARD_OK)
            *out_len = 32;
        emit(inst->tee, WARD_TEE_EVENT_KEY_RELEASED, inst->img->manifest, inst->id, e);
        return e;
    }
    case WARD_SYS_OCALL_SELF: {
        if (out_cap < WARD_REPORT_LEN)
            return ward_err_set(WARD_ERR_OVERFLOW, "no room for a report");
        ward_report r;
        identity(inst, &r);
        ward_err e = ward_report_encode(&r, out);
        if (e == WARD_OK)
            *out_len = WARD_REPORT_LEN;
        return e;
    }
    default:
        return ward_err_set(WARD_ERR_NOT_FOUND, "unknown system ocall 0x%x", id);
    }
}

ward_err ward_tee_report_verify(const ward_tee *tee, const uint8_t *report, size_t report_len,
                                const uint8_t sig[WARD_REPORT_SIG_LEN], ward_report *out)
{
    if (tee == NULL || report == NULL || sig == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "report verify: missing argument");
    ward_report r;
    ward_err e = ward_report_decode(report, report_len, &r);
    if (e != WARD_OK)
        return ward_err_wrap(e, "report");
    e = ward_verify(tee->platform_pub, WARD_HASH_SHA256, WARD_SIG_RAW, report, report_len, sig,
                    WARD_REPORT_SIG_LEN);
    if (e != WARD_OK)
        return ward_err_set(WARD_ERR_VERIFY,
                            "the report's signature does not verify with the platform key");
    if (!ward_ct_equal(r.platform_key_id, tee->platform_key_id, sizeof r.platform_key_id))
        return ward_err_set(WARD_ERR_VERIFY, "the report names another platform key");
    if (out != NULL)
        *out = r;
    return WARD_OK;
}
