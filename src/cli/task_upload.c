/* An input's upload (docs/cli.md "upload", docs/api.md PUT .../inputs/{slot}): the plaintext is
 * read, hashed and encrypted piece by piece on a second thread while the main thread PUTs the
 * ciphertext already produced, so that memory is a few chunks whatever the input's size and
 * the encryption overlaps the transfer. The two threads share a ring of NBUF buffers of
 * exactly `chunk` ciphertext bytes (the last one shorter). */
#include "cli/task_client.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ward/crypto.h"
#include "ward/stream.h"

#define NBUF 2               /* one being sent, one being filled */
#define READ_PIECE (1u << 20) /* plaintext read and encrypted at a time */
#define UPLOAD_RETRIES 5

/* ---- sources --------------------------------------------------------------------------------- */

static int mem_read(void *arg, uint8_t *buf, size_t cap, size_t *got, char *err, size_t ecap)
{
    (void)err;
    (void)ecap;
    tc_mem_source *m = arg;
    size_t n = m->len - m->off < cap ? m->len - m->off : cap;
    if (n > 0)
        memcpy(buf, m->p + m->off, n);
    m->off += n;
    *got = n;
    return 0;
}

tc_source tc_source_mem(tc_mem_source *m, const void *p, size_t len)
{
    m->p = p;
    m->len = len;
    m->off = 0;
    tc_source s = {mem_read, m, len};
    return s;
}

static int file_read(void *arg, uint8_t *buf, size_t cap, size_t *got, char *err, size_t ecap)
{
    FILE *f = arg;
    size_t n = fread(buf, 1, cap, f);
    *got = n;
    if (n < cap && ferror(f)) {
        snprintf(err, ecap, "reading the input failed");
        return -1;
    }
    return 0;
}

tc_source tc_source_file(FILE *f, uint64_t size)
{
    tc_source s = {file_read, f, size};
    return s;
}

/* ---- the producer: read, hash, encrypt -------------------------------------------------------- */

typedef struct up_buf {
    uint8_t *p;
    size_t len;
    int final;
} up_buf;

typedef struct pipeline {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    up_buf buf[NBUF];
    size_t chunk;
    uint64_t produced, consumed; /* buffers handed over, buffers given back */
    int stop;                    /* the sender gave up */
    int failed;                  /* the producer stopped; why in err */
    char err[256];
    /* the producer's own */
    const tc_source *src;
    ward_stream *s;
    ward_hash_ctx *h;
    uint8_t *pt, *stage;
    size_t stage_cap;
    up_buf *cur;
    uint64_t pt_len;
    double seal_s;
} pipeline;

/* The next buffer to fill, once the sender has given it back; NULL if the sender gave up. */
static up_buf *acquire(pipeline *pl)
{
    pthread_mutex_lock(&pl->mu);
    while (!pl->stop && pl->produced - pl->consumed >= NBUF)
        pthread_cond_wait(&pl->cv, &pl->mu);
    up_buf *b = pl->stop ? NULL : &pl->buf[pl->produced % NBUF];
    pthread_mutex_unlock(&pl->mu);
    if (b != NULL) {
        b->len = 0;
        b->final = 0;
    }
    return b;
}

static void hand_over(pipeline *pl, int final)
{
    pthread_mutex_lock(&pl->mu);
    pl->cur->final = final;
    pl->produced++;
    pthread_cond_broadcast(&pl->cv);
    pthread_mutex_unlock(&pl->mu);
    pl->cur = NULL;
}

/* Appends ciphertext. A full buffer is handed over only when more bytes come: whether it is the
 * last one is known only then (the stream's final always adds a chunk). */
static int put(pipeline *pl, const uint8_t *p, size_t n)
{
    while (n > 0) {
        if (pl->cur->len == pl->chunk) {
            hand_over(pl, 0);
            if ((pl->cur = acquire(pl)) == NULL)
                return -1;
        }
        size_t k = pl->chunk - pl->cur->len < n ? pl->chunk - pl->cur->len : n;
        memcpy(pl->cur->p + pl->cur->len, p, k);
        pl->cur->len += k;
        p += k;
        n -= k;
    }
    return 0;
}

static int produce(pipeline *pl)
{
    const uint8_t *hdr = NULL;
    size_t hl = 0, got = 0, out = 0;
    if ((pl->cur = acquire(pl)) == NULL)
        return -1;
    if (ward_stream_header(pl->s, &hdr, &hl) != WARD_OK || put(pl, hdr, hl) != 0)
        return -1;
    for (;;) {
        if (pl->src->read(pl->src->arg, pl->pt, READ_PIECE, &got, pl->err, sizeof pl->err) != 0)
            return -1;
        if (got == 0)
            break;
        if (ward_hash_update(pl->h, pl->pt, got) != WARD_OK ||
            ward_stream_encrypt_update(pl->s, pl->pt, got, pl->stage, pl->stage_cap, &out) !=
                WARD_OK) {
            snprintf(pl->err, sizeof pl->err, "encrypting the input: %s", ward_errmsg());
            return -1;
        }
        pl->pt_len += got;
        if (put(pl, pl->stage, out) != 0)
            return -1;
    }
    if (ward_stream_encrypt_final(pl->s, pl->stage, pl->stage_cap, &out) != WARD_OK) {
        snprintf(pl->err, sizeof pl->err, "encrypting the input: %s", ward_errmsg());
        return -1;
    }
    if (put(pl, pl->stage, out) != 0)
        return -1;
    hand_over(pl, 1);
    return 0;
}

static void *producer(void *arg)
{
    pipeline *pl = arg;
    double t0 = tc_now_s();
    int rc = produce(pl);
    if (pl->pt != NULL)
        ward_wipe(pl->pt, READ_PIECE);
    pthread_mutex_lock(&pl->mu);
    pl->seal_s = tc_now_s() - t0;
    if (rc != 0) {
        pl->failed = 1;
        pthread_cond_broadcast(&pl->cv);
    }
    pthread_mutex_unlock(&pl->mu);
    return NULL;
}

/* ---- the sender -------------------------------------------------------------------------------- */

/* Buffer number k once produced; NULL if the producer failed. */
static up_buf *take(pipeline *pl, uint64_t k)
{
    pthread_mutex_lock(&pl->mu);
    while (!pl->failed && pl->produced <= k)
        pthread_cond_wait(&pl->cv, &pl->mu);
    up_buf *b = pl->produced > k ? &pl->buf[k % NBUF] : NULL;
    pthread_mutex_unlock(&pl->mu);
    return b;
}

static void give_back(pipeline *pl)
{
    pthread_mutex_lock(&pl->mu);
    pl->consumed++;
    pthread_cond_broadcast(&pl->cv);
    pthread_mutex_unlock(&pl->mu);
}

static void stop_producer(pipeline *pl)
{
    pthread_mutex_lock(&pl->mu);
    pl->stop = 1;
    pthread_cond_broadcast(&pl->cv);
    pthread_mutex_unlock(&pl->mu);
}

typedef struct up_progress {
    tc_bar *bar;
    uint64_t base;
} up_progress;

static void on_up_progress(void *arg, uint64_t done, uint64_t total)
{
    (void)total;
    up_progress *p = arg;
    tc_bar_update(p->bar, p->base + done);
}

/* 1 if the node reports slot complete with exactly len bytes. */
static int slot_complete(cli_client *c, const char *who, const char *task_id, const char *slot,
                         uint64_t len)
{
    char path[128];
    snprintf(path, sizeof path, "/v1/tasks/%s", task_id);
    json_t *j = tc_call(c, who, "GET", path, NULL, 0, 200);
    const json_t *slots = json_object_get(j, "slots");
    int ok = 0;
    for (size_t i = 0; i < json_array_size(slots); i++) {
        const json_t *s = json_array_get(slots, i);
        const char *n = json_string_value(json_object_get(s, "name"));
        if (n != NULL && strcmp(n, slot) == 0)
            ok = json_is_true(json_object_get(s, "complete")) &&
                 json_integer_value(json_object_get(s, "bytes")) == (json_int_t)len;
    }
    json_decref(j);
    return ok;
}

/* Tests make the client "lose" the reply of chunk N (it sends it again, as after a lost
 * connection), to exercise the resume at the node's offset. */
static long lost_reply_chunk(void)
{
    const char *s = getenv("WARD_TEST_LOSE_REPLY");
    if (s == NULL || s[0] < '0' || s[0] > '9')
        return -1;
    return strtol(s, NULL, 10);
}

typedef struct sender {
    cli_client *c;
    const char *who, *task_id, *slot;
    tc_bar *bar;
    up_progress *prog;
    tc_upload_stats *st;
    long lose;
    size_t sent;
} sender;

/* Sends buffer b, which starts at stream offset base: 0 when the node holds all of it (and
 * the slot is complete if b is the last), -1 after printing why. */
static int send_buf(sender *sd, const up_buf *b, uint64_t base)
{
    size_t pos = 0;
    int retries = 0, resent = 0;
    char path[256];
    for (;;) {
        size_t n = b->len - pos;
        uint64_t off = base + pos;
        snprintf(path, sizeof path, "/v1/tasks/%s/inputs/%s?offset=%llu%s", sd->task_id,
                 sd->slot, (unsigned long long)off, b->final ? "&final=1" : "");
        sd->prog->base = off;
        long status = 0;
        json_t *j = NULL;
        if (tc_request(sd->c, "PUT", path, b->p + pos, n, &status, &j) != WARD_OK) {
            resent = 1;
            if (++retries > UPLOAD_RETRIES)
                return tc_fail("upload: giving up after the connection failed");
            int on = sd->bar->on;
            tc_bar_end(sd->bar);
            fprintf(stderr, "%s: upload: %s; retrying (%d of %d)\n", tc_prog, ward_errmsg(),
                    retries, UPLOAD_RETRIES);
            tc_sleep_ms(200L << retries);
            sd->bar->on = on;
            continue;
        }
        const char *code = json_string_value(json_object_get(j, "error"));
        if (status == 409 && code != NULL && strcmp(code, "offset_mismatch") == 0) {
            json_int_t at = json_integer_value(json_object_get(j, "offset"));
            json_decref(j);
            /* Only this chunk is still here: the node cannot hold less than it acknowledged
             * (each 200 follows a commit), nor more than was sent. */
            if (at < 0 || (uint64_t)at < base || (uint64_t)at > base + b->len ||
                ++sd->st->resumes > 64)
                return tc_fail_msg("upload: the node holds another part of this slot than this "
                                   "run sent",
                                   sd->slot);
            fprintf(stderr, "%s: upload: the node has %lld bytes of slot %s: resuming there\n",
                    tc_prog, (long long)at, sd->slot);
            pos = (size_t)((uint64_t)at - base);
            if (pos < b->len)
                continue;
            if (!b->final)
                return 0;
            /* all stored; only the final mark may be missing */
            snprintf(path, sizeof path, "/v1/tasks/%s/inputs/%s?offset=%llu&final=1",
                     sd->task_id, sd->slot, (unsigned long long)at);
            j = tc_call(sd->c, sd->who, "PUT", path, NULL, 0, 200);
            int ok = j != NULL && json_is_true(json_object_get(j, "complete"));
            if (j != NULL && !ok)
                tc_fail_msg("upload: the node did not mark the slot complete", sd->slot);
            json_decref(j);
            return ok ? 0 : -1;
        }
        if (status == 409 && b->final && resent && code != NULL &&
            strcmp(code, "state") == 0 &&
            slot_complete(sd->c, sd->who, sd->task_id, sd->slot, base + b->len)) {
            json_decref(j); /* the lost reply was the final one: the node has it all */
            return 0;
        }
        if (status != 200 || j == NULL) {
            tc_report_http(sd->who, "PUT", path, status, j, status == 200);
            json_decref(j);
            return -1;
        }
        retries = 0;
        json_int_t got = json_integer_value(json_object_get(j, "offset"));
        int complete = json_is_true(json_object_get(j, "complete"));
        json_decref(j);
        if (got < 0 || (uint64_t)got != off + n || (b->final && !complete))
            return tc_fail_msg("upload: the node stored something else than was sent",
                               sd->slot);
        sd->st->chunks++;
        if (sd->lose >= 0 && sd->sent++ == (size_t)sd->lose) {
            sd->lose = -1;
            resent = 1;
            fprintf(stderr, "%s: upload: (test) the reply of chunk %zu is lost\n", tc_prog,
                    sd->st->chunks - 1);
            continue; /* send the same bytes again: the node answers offset_mismatch */
        }
        return 0;
    }
}

int tc_upload(cli_client *c, const char *who, const char *task_id, const char *slot,
              const uint8_t task_pk[WARD_X25519_LEN], const tc_source *src, size_t chunk,
              const char *bar_label, tc_upload_stats *st)
{
    memset(st, 0, sizeof *st);
    char aad[WARD_TASK_AAD_MAX + 1];
    int an = snprintf(aad, sizeof aad, "%s%s/%s", WARD_TASK_AAD_PREFIX, task_id, slot);
    if (an < 0 || (size_t)an >= sizeof aad || chunk == 0)
        return tc_fail_msg("bad slot name or chunk size", slot);
    double t0 = tc_now_s();
    pipeline pl;
    memset(&pl, 0, sizeof pl);
    pl.chunk = chunk;
    pl.src = src;
    int rc = -1, started = 0;
    if (pthread_mutex_init(&pl.mu, NULL) != 0)
        return tc_fail_msg("upload: cannot create a mutex", NULL);
    if (pthread_cond_init(&pl.cv, NULL) != 0) {
        pthread_mutex_destroy(&pl.mu);
        return tc_fail_msg("upload: cannot create a condition variable", NULL);
    }
    if (ward_stream_encrypt_init(task_pk, 0, (const uint8_t *)aad, (size_t)an, &pl.s) !=
            WARD_OK ||
        ward_hash_new(WARD_HASH_SHA256, &pl.h) != WARD_OK) {
        tc_fail("encrypting the input");
        goto out;
    }
    pl.stage_cap = ward_stream_update_bound(pl.s, READ_PIECE);
    size_t fin = ward_stream_update_bound(pl.s, 0);
    if (fin > pl.stage_cap)
        pl.stage_cap = fin;
    pl.pt = malloc(READ_PIECE);
    pl.stage = malloc(pl.stage_cap);
    int nomem = pl.pt == NULL || pl.stage == NULL;
    for (size_t i = 0; i < NBUF && !nomem; i++)
        nomem = (pl.buf[i].p = malloc(chunk)) == NULL;
    if (nomem) {
        tc_fail_msg("upload: out of memory", NULL);
        goto out;
    }
    uint64_t total = 0;
    if (src->size != TC_SIZE_UNKNOWN && src->size <= (uint64_t)SIZE_MAX)
        total = ward_stream_encrypted_size((size_t)src->size, 0, (size_t)an);
    tc_bar bar;
    tc_bar_start(&bar, bar_label, total);
    up_progress prog = {&bar, 0};
    cli_client_set_progress(c, bar.on ? on_up_progress : NULL, &prog);
    if (pthread_create(&pl.thread, NULL, producer, &pl) != 0) {
        cli_client_set_progress(c, NULL, NULL);
        tc_fail_msg("upload: cannot start the encryption thread", NULL);
        goto out;
    }
    started = 1;
    sender sd = {c, who, task_id, slot, &bar, &prog, st, lost_reply_chunk(), 0};
    uint64_t base = 0;
    for (uint64_t k = 0;; k++) {
        const up_buf *b = take(&pl, k);
        if (b == NULL) {
            tc_fail_msg("upload", pl.err[0] != '\0' ? pl.err : "the encryption stopped");
            break;
        }
        if (send_buf(&sd, b, base) != 0)
            break;
        base += b->len;
        int last = b->final;
        give_back(&pl);
        if (last) {
            rc = 0;
            break;
        }
    }
    cli_client_set_progress(c, NULL, NULL);
    if (rc == 0)
        tc_bar_end(&bar);
    else if (bar.on)
        fputc('\n', stderr);
    st->ct_len = base;
out:
    if (started) {
        stop_producer(&pl);
        pthread_join(pl.thread, NULL);
    }
    if (rc == 0 && ward_hash_final(pl.h, st->pt_sha256) != WARD_OK)
        rc = tc_fail("hashing the input");
    st->pt_len = pl.pt_len;
    st->seal_s = pl.seal_s;
    st->send_s = tc_now_s() - t0;
    ward_hash_free(pl.h);
    ward_stream_free(pl.s);
    if (pl.pt != NULL) {
        ward_wipe(pl.pt, READ_PIECE);
        free(pl.pt);
    }
    free(pl.stage);
    for (size_t i = 0; i < NBUF; i++)
        free(pl.buf[i].p);
    pthread_cond_destroy(&pl.cv);
    pthread_mutex_destroy(&pl.mu);
    return rc;
}
