/* Monotonic counters: two alternating copies (counters.0 / counters.1), each holding every
 * counter, a generation number and an HMAC-SHA256; a write replaces the older copy (a new copy
 * appears by temp + fsync + rename + directory fsync, an existing one is rewritten in place and
 * fdatasync'd), so a crash at any point leaves the previous generation intact. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "storage/storage_internal.h"
#include "ward/crypto.h"

#define CTR_MAGIC "WCTR"
#define CTR_VERSION 1u
#define CTR_HDR 20u /* magic 4, version 2, reserved 2, generation 8, count 4 */
#define CTR_MAX 65536u
#define CTR_FILE_MAX (CTR_HDR + CTR_MAX * (1u + WARD_COUNTER_NAME_MAX + 8u) + 32u)

typedef struct ctr_entry {
    char name[WARD_COUNTER_NAME_MAX + 1];
    uint64_t value;
} ctr_entry;

struct ward_counters {
    pthread_mutex_t lock;
    char *dir;
    uint8_t key[WARD_STORAGE_KEY_LEN];
    uint64_t generation;
    int present[2]; /* copy i exists on disk */
    ctr_entry *e;
    size_t n, cap;
};

static ward_err mac(const ward_counters *c, const uint8_t *data, size_t len, uint8_t out[32])
{
    static const char label[] = "ward-counters-v1";
    uint8_t k[32];
    ward_err err = ward_hmac(WARD_HASH_SHA256, c->key, sizeof c->key, label, sizeof label - 1, k);
    if (!err)
        err = ward_hmac(WARD_HASH_SHA256, k, sizeof k, data, len, out);
    ward_wipe(k, sizeof k);
    return err;
}

/* Parses and verifies one copy; on success fills entries (malloc'd) and its generation. */
static ward_err parse_copy(const ward_counters *c, const uint8_t *b, size_t len, uint64_t *gen,
                           ctr_entry **out, size_t *n_out)
{
    if (len < CTR_HDR + 32)
        return ward_err_set(WARD_ERR_TRUNCATED, "counters: copy of %zu bytes is too short", len);
    uint8_t m[32];
    ward_err err = mac(c, b, len - 32, m);
    if (err)
        return err;
    if (!ward_ct_equal(m, b + len - 32, 32))
        return ward_err_set(WARD_ERR_AUTH, "counters: MAC does not verify (other key or "
                                           "modified)");
    if (memcmp(b, CTR_MAGIC, 4) != 0 || st_get16(b + 4) != CTR_VERSION)
        return ward_err_set(WARD_ERR_FORMAT, "counters: bad magic or version");
    uint32_t count = st_get32(b + 16);
    if (count > CTR_MAX)
        return ward_err_set(WARD_ERR_FORMAT, "counters: too many counters");
    ctr_entry *e = calloc(count ? count : 1, sizeof *e);
    if (e == NULL)
        return ward_err_set(WARD_ERR_NOMEM, "counters: out of memory");
    size_t off = CTR_HDR, end = len - 32;
    for (uint32_t i = 0; i < count; i++) {
        if (off >= end || b[off] == 0 || b[off] > WARD_COUNTER_NAME_MAX ||
            end - off - 1 < (size_t)b[off] + 8) {
            free(e);
            return ward_err_set(WARD_ERR_FORMAT, "counters: entry %u is malformed", i);
        }
        size_t nl = b[off];
        memcpy(e[i].name, b + off + 1, nl);
        e[i].name[nl] = 0;
        e[i].value = st_get64(b + off + 1 + nl);
        off += 1 + nl + 8;
    }
    if (off != end) {
        free(e);
        return ward_err_set(WARD_ERR_FORMAT, "counters: trailing bytes");
    }
    *gen = st_get64(b + 8);
    *out = e;
    *n_out = count;
    return WARD_OK;
}

static void copy_name(char *name, unsigned i)
{
    memcpy(name, "counters.0", 11);
    name[9] = (char)('0' + i);
}

ward_err ward_counters_open(const char *dir, const uint8_t key[WARD_STORAGE_KEY_LEN],
                            ward_counters **out)
{
    if (dir == NULL || key == NULL || out == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "counters: NULL argument");
    *out = NULL;
    ward_counters *c = calloc(1, sizeof *c);
    if (c == NULL || (c->dir = strdup(dir)) == NULL) {
        free(c);
        return ward_err_set(WARD_ERR_NOMEM, "counters: out of memory");
    }
    pthread_mutex_init(&c->lock, NULL);
    memcpy(c->key, key, sizeof c->key);
    ward_err err = WARD_OK, first_bad = WARD_OK;
    char bad_msg[256] = "";
    int have = 0;
    for (unsigned i = 0; i < 2 && !err; i++) {
        char name[16], path[4096];
        copy_name(name, i);
        err = st_join(path, sizeof path, dir, name, NULL);
        if (err)
            break;
        uint8_t *b = NULL;
        size_t len = 0;
        ward_err e = st_read_file(path, CTR_FILE_MAX, &b, &len);
        if (e == WARD_ERR_NOT_FOUND)
            continue;
        if (e) {
            err = e;
            break;
        }
        c->present[i] = 1;
        uint64_t gen = 0;
        ctr_entry *ents = NULL;
        size_t n = 0;
        e = parse_copy(c, b, len, &gen, &ents, &n);
        free(b);
        if (e) {
            if (!first_bad) {
                first_bad = e;
                snprintf(bad_msg, sizeof bad_msg, "%s: %s", name, ward_errmsg());
            }
            continue;
        }
        if (!have || gen > c->generation) {
            free(c->e);
            c->e = ents;
            c->n = c->cap = n;
            c->generation = gen;
            have = 1;
        } else {
            free(ents);
        }
    }
    if (!err && !have && first_bad)
        err = ward_err_set(first_bad, "counters in %s: no copy verifies (%s)", dir, bad_msg);
    if (err) {
        ward_counters_close(c);
        return err;
    }
    *out = c;
    return WARD_OK;
}

void ward_counters_close(ward_counters *c)
{
    if (c == NULL)
        return;
    ward_wipe(c->key, sizeof c->key);
    free(c->e);
    free(c->dir);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

static ctr_entry *find(ward_counters *c, const char *name)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->e[i].name, name) == 0)
            return &c->e[i];
    return NULL;
}

static ward_err check_name(const char *name)
{
    if (name == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "counters: NULL name");
    size_t l = strlen(name);
    if (l == 0 || l > WARD_COUNTER_NAME_MAX)
        return ward_err_set(WARD_ERR_INVALID_ARG, "counters: name of %zu bytes", l);
    return WARD_OK;
}

/* Writes generation c->generation + 1 with every entry into the older copy. */
static ward_err persist(ward_counters *c)
{
    size_t len = CTR_HDR + 32;
    for (size_t i = 0; i < c->n; i++)
        len += 1 + strlen(c->e[i].name) + 8;
    uint8_t *b = malloc(len);
    if (b == NULL)
        return ward_err_set(WARD_ERR_NOMEM, "counters: out of memory");
    uint64_t gen = c->generation + 1;
    memcpy(b, CTR_MAGIC, 4);
    st_put16(b + 4, CTR_VERSION);
    st_put16(b + 6, 0);
    st_put64(b + 8, gen);
    st_put32(b + 16, (uint32_t)c->n);
    size_t off = CTR_HDR;
    for (size_t i = 0; i < c->n; i++) {
        size_t nl = strlen(c->e[i].name);
        b[off] = (uint8_t)nl;
        memcpy(b + off + 1, c->e[i].name, nl);
        st_put64(b + off + 1 + nl, c->e[i].value);
        off += 1 + nl + 8;
    }
    ward_err err = mac(c, b, off, b + off);
    unsigned slot = (unsigned)(gen & 1u);
    char name[16], path[4096];
    copy_name(name, slot);
    if (!err)
        err = st_join(path, sizeof path, c->dir, name, NULL);
    if (!err && !c->present[slot]) {
        err = st_write_atomic(c->dir, name, b, len);
        if (!err)
            c->present[slot] = 1;
    } else if (!err) {
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
            err = ward_err_set(WARD_ERR_IO, "cannot open %s: %s", path, strerror(errno));
        else {
            err = st_pwrite_all(fd, b, len, 0, path);
            if (!err && ftruncate(fd, (off_t)len) != 0)
                err = ward_err_set(WARD_ERR_IO, "%s: truncate failed: %s", path, strerror(errno));
            if (!err)
                err = st_fdatasync(fd, path);
            close(fd);
        }
    }
    free(b);
    if (!err)
        c->generation = gen;
    return err;
}

ward_err ward_counters_get(ward_counters *c, const char *name, uint64_t *value)
{
    if (c == NULL || value == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "counters: NULL argument");
    ward_err err = check_name(name);
    if (err)
        return err;
    pthread_mutex_lock(&c->lock);
    ctr_entry *e = find(c, name);
    *value = e ? e->value : 0;
    pthread_mutex_unlock(&c->lock);
    return WARD_OK;
}

static ward_err advance_locked(ward_counters *c, const char *name, uint64_t value)
{
    ctr_entry *e = find(c, name);
    uint64_t cur = e ? e->value : 0;
    if (value < cur)
        return ward_err_set(WARD_ERR_STATE, "counter %s is at %llu: cannot go back to %llu",
                            name, (unsigned long long)cur, (unsigned long long)value);
    if (value == cur)
        return WARD_OK;
    if (e == NULL) {
        if (c->n >= CTR_MAX)
            return ward_err_set(WARD_ERR_LIMIT, "counters: at most %u counters", CTR_MAX);
        if (c->n == c->cap) {
            size_t nc = c->cap ? c->cap * 2 : 16;
            ctr_entry *ne = realloc(c->e, nc * sizeof *ne);
            if (ne == NULL)
                return ward_err_set(WARD_ERR_NOMEM, "counters: out of memory");
            c->e = ne;
            c->cap = nc;
        }
        e = &c->e[c->n++];
        memset(e, 0, sizeof *e);
        memcpy(e->name, name, strlen(name) + 1);
    }
    e->value = value;
    ward_err err = persist(c);
    if (err) {
        /* Not durable: keep memory as it was so that a retry writes it again. */
        if (cur == 0 && e == &c->e[c->n - 1])
            c->n--;
        else
            e->value = cur;
    }
    return err;
}

ward_err ward_counters_advance(ward_counters *c, const char *name, uint64_t value)
{
    if (c == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "counters: NULL argument");
    ward_err err = check_name(name);
    if (err)
        return err;
    pthread_mutex_lock(&c->lock);
    err = advance_locked(c, name, value);
    pthread_mutex_unlock(&c->lock);
    return err;
}

ward_err ward_counters_increment(ward_counters *c, const char *name, uint64_t *value)
{
    if (c == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "counters: NULL argument");
    ward_err err = check_name(name);
    if (err)
        return err;
    pthread_mutex_lock(&c->lock);
    ctr_entry *e = find(c, name);
    uint64_t cur = e ? e->value : 0;
    if (cur == UINT64_MAX)
        err = ward_err_set(WARD_ERR_OVERFLOW, "counter %s is at its maximum", name);
    else
        err = advance_locked(c, name, cur + 1);
    if (!err && value)
        *value = cur + 1;
    pthread_mutex_unlock(&c->lock);
    return err;
}
