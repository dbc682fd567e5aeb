/* Audit log writer: validation, the queue, the group-commit writer thread, checkpoints,
 * pruning. Formats and guarantees: include/ward/audit.h.
 *
 * Locks. `mu` guards the queue and the counters (next_seq, durable_seq, want_seq, failed);
 * `db_mu` guards the SQLite connection and the chain state (tip, last checkpoint, hashes since
 * it). They are never held together: the writer thread pops a batch under mu, writes it under
 * db_mu, publishes under mu. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ops/audit_internal.h"
#include "ward/json.h"
#include "ward/log.h"

#define BATCH_CAP 8192u  /* most records in one transaction */
#define MAX_INTERVAL 100000u

struct pending {
    struct pending *next;
    uint64_t seq;
    int64_t time_ms;
    int64_t queued_mono_ms;
    unsigned outcome;
    size_t len[AF_COUNT];
    char *s[AF_COUNT];
    char data[]; /* the strings, each NUL-terminated */
};

struct ward_audit {
    /* fixed after open */
    sqlite3 *db;
    sqlite3_stmt *st_ins_rec, *st_ins_ckpt, *st_begin, *st_commit, *st_rollback;
    int lock_fd;
    ward_audit_sign_fn sign;
    void *sign_arg;
    ward_pkey *vkey;
    uint32_t interval, batch, delay_ms, queue_max;
    int64_t (*now_ms)(void *);
    void *clock_arg;
    uint8_t log_id[AUDIT_LOG_ID_LEN];
    pthread_t thread;
    int thread_started;

    /* under mu */
    pthread_mutex_t mu;
    pthread_cond_t cv_work, cv_done, cv_space;
    struct pending *head, *tail;
    size_t npending;
    uint64_t next_seq;    /* last seq assigned */
    uint64_t durable_seq; /* last seq committed */
    uint64_t want_seq;    /* commit at once up to this seq */
    int stop;
    ward_err failed;
    char failmsg[256];

    /* under db_mu */
    pthread_mutex_t db_mu;
    uint64_t tip_seq;
    uint8_t tip_hash[AUDIT_HASH_LEN];
    uint64_t ckpt_seq; /* last record covered by a checkpoint (or the anchor) */
    uint8_t *range;    /* hashes of ckpt_seq+1 .. tip_seq */
    size_t range_n, range_cap;
};

/* ---- clocks ---------------------------------------------------------------------------- */

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t log_now(const ward_audit *log)
{
    if (log->now_ms != NULL)
        return log->now_ms(log->clock_arg);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- validation -------------------------------------------------------------------------- */

/* 1 if s[0..len) is well-formed UTF-8 (no overlongs, surrogates or code points > U+10FFFF). */
static int utf8_valid(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i];
        size_t n;
        unsigned min;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            n = 1;
            min = 0x80;
            c &= 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            n = 2;
            min = 0x800;
            c &= 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            n = 3;
            min = 0x10000;
            c &= 0x07;
        } else {
            return 0;
        }
        if (len - i - 1 < n)
            return 0;
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return 0;
            c = (c << 6) | (s[i + k] & 0x3Fu);
        }
        if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
            return 0;
        i += n + 1;
    }
    return 1;
}

static const char *const field_names[AF_COUNT] = {"actor", "auth_method", "action", "object",
                                                   "request_id", "details"};

/* A short identifier field: UTF-8, no control characters, within the limit. */
static ward_err check_field(int i, const char *s, size_t *len, int required)
{
    if (s == NULL) {
        if (required)
            return ward_err_set(WARD_ERR_INVALID_ARG, "audit: %s is required", field_names[i]);
        *len = 0;
        return WARD_OK;
    }
    size_t n = strnlen(s, WARD_AUDIT_FIELD_MAX + 1);
    if (n > WARD_AUDIT_FIELD_MAX)
        return ward_err_set(WARD_ERR_OVERFLOW, "audit: %s longer than %u bytes", field_names[i],
                            WARD_AUDIT_FIELD_MAX);
    if (required && n == 0)
        return ward_err_set(WARD_ERR_INVALID_ARG, "audit: %s is empty", field_names[i]);
    for (size_t k = 0; k < n; k++) {
        unsigned char c = (unsigned char)s[k];
        if (c < 0x20 || c == 0x7F)
            return ward_err_set(WARD_ERR_INVALID_ARG,
                                "audit: %s holds a control character (byte %zu)", field_names[i],
                                k);
    }
    if (!utf8_valid((const unsigned char *)s, n))
        return ward_err_set(WARD_ERR_INVALID_ARG, "audit: %s is not valid UTF-8", field_names[i]);
    *len = n;
    return WARD_OK;
}

/* Builds the queued form of rec (strings copied, details canonicalised). */
static ward_err make_pending(const ward_audit_record *rec, struct pending **out)
{
    *out = NULL;
    if (rec == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "audit: NULL record");
    if (ward_audit_outcome_name(rec->outcome) == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "audit: unknown outcome %d", (int)rec->outcome);
    const char *in[AF_COUNT] = {rec->actor, rec->auth_method != NULL ? rec->auth_method : "none",
                                rec->action, rec->object, rec->request_id, NULL};
    size_t len[AF_COUNT] = {0};
    ward_err err;
    for (int i = 0; i < AF_DETAILS; i++) {
        err = check_field(i, in[i], &len[i], i == AF_ACTOR || i == AF_ACTION);
        if (err != WARD_OK)
            return err;
    }
    char *canon = NULL;
    size_t canon_len = 0;
    if (rec->details != NULL) {
        size_t n = strnlen(rec->details, WARD_AUDIT_DETAILS_MAX + 1);
        if (n > WARD_AUDIT_DETAILS_MAX)
            return ward_err_set(WARD_ERR_OVERFLOW, "audit: details longer than %u bytes",
                                WARD_AUDIT_DETAILS_MAX);
        json_t *j = NULL;
        err = ward_json_parse(rec->details, n, &j);
        if (err != WARD_OK)
            return ward_err_wrap(err, "audit: details");
        if (!json_is_object(j)) {
            json_decref(j);
            return ward_err_set(WARD_ERR_INVALID_ARG, "audit: details must be a JSON object");
        }
        err = ward_jcs_serialize(j, &canon, &canon_len);
        json_decref(j);
        if (err != WARD_OK)
            return ward_err_wrap(err, "audit: details");
        if (canon_len > WARD_AUDIT_DETAILS_MAX) {
            free(canon);
            return ward_err_set(WARD_ERR_OVERFLOW, "audit: details longer than %u bytes",
                                WARD_AUDIT_DETAILS_MAX);
        }
        in[AF_DETAILS] = canon;
        len[AF_DETAILS] = canon_len;
    } else {
        in[AF_DETAILS] = "{}";
        len[AF_DETAILS] = 2;
    }
    size_t total = sizeof(struct pending);
    for (int i = 0; i < AF_COUNT; i++)
        total += len[i] + 1; /* each bounded by the limits above: no overflow */
    struct pending *p = malloc(total);
    if (p == NULL) {
        free(canon);
        return ward_err_set(WARD_ERR_NOMEM, "audit: out of memory");
    }
    memset(p, 0, sizeof *p);
    p->outcome = (unsigned)rec->outcome;
    char *d = p->data;
    for (int i = 0; i < AF_COUNT; i++) {
        p->s[i] = d;
        p->len[i] = len[i];
        if (len[i] != 0)
            memcpy(d, in[i], len[i]);
        d[len[i]] = '\0';
        d += len[i] + 1;
    }
    free(canon);
    *out = p;
    return WARD_OK;
}

static void free_list(struct pending *p)
{
    while (p != NULL) {
        struct pending *n = p->next;
        free(p);
        p = n;
    }
}

/* ---- the database (under db_mu) --------------------------------------------------------- */

static ward_err exec_sql(sqlite3 *db, const char *sql, const char *what)
{
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return audit_sql_err(db, what);
    return WARD_OK;
}

static ward_err step_done(sqlite3 *db, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc != SQLITE_DONE)
        return audit_sql_err(db, what);
    return WARD_OK;
}

static ward_err range_push(ward_audit *log, const uint8_t hash[AUDIT_HASH_LEN])
{
    if (log->range_n == log->range_cap) {
        size_t cap = log->range_cap != 0 ? log->range_cap * 2 : 64;
        if (cap > SIZE_MAX / AUDIT_HASH_LEN)
            return ward_err_set(WARD_ERR_OVERFLOW, "audit: checkpoint range too long");
        uint8_t *r = realloc(log->range, cap * AUDIT_HASH_LEN);
        if (r == NULL)
            return ward_err_set(WARD_ERR_NOMEM, "audit: out of memory");
        log->range = r;
        log->range_cap = cap;
    }
    memcpy(log->range + log->range_n * AUDIT_HASH_LEN, hash, AUDIT_HASH_LEN);
    log->range_n++;
    return WARD_OK;
}

/* Signs and inserts a checkpoint (inside the caller's transaction). For an anchor, hashes is
 * NULL and the digest is zero. */
static ward_err insert_checkpoint(ward_audit *log, int kind, uint64_t first_seq, uint64_t seq,
                                  const uint8_t hash[AUDIT_HASH_LEN], const uint8_t *hashes,
                                  size_t n)
{
    audit_ckpt c;
    memset(&c, 0, sizeof c);
    c.kind = kind;
    c.first_seq = first_seq;
    c.seq = seq;
    memcpy(c.hash, hash, AUDIT_HASH_LEN);
    c.time_ms = log_now(log);
    ward_err err;
    if (hashes != NULL) {
        err = audit_range_digest(hashes, n, c.range_digest);
        if (err != WARD_OK)
            return err;
    }
    uint8_t msg[AUDIT_CKPT_MSG_LEN];
    audit_ckpt_message(&c, log->log_id, msg);
    err = log->sign(log->sign_arg, msg, sizeof msg, c.sig);
    if (err != WARD_OK)
        return ward_err_wrap(err, "audit: signing a checkpoint");
    /* A sign callback with another key than verify_key would make a log nobody can verify. */
    err = audit_ckpt_check_sig(&c, log->log_id, log->vkey);
    if (err != WARD_OK)
        return ward_err_set(WARD_ERR_VERIFY,
                            "audit: the checkpoint signature does not verify with the "
                            "verification key (sign callback uses another key)");
    sqlite3_stmt *st = log->st_ins_ckpt;
    int ok = sqlite3_bind_int(st, 1, kind) == SQLITE_OK &&
             sqlite3_bind_int64(st, 2, (sqlite3_int64)first_seq) == SQLITE_OK &&
             sqlite3_bind_int64(st, 3, (sqlite3_int64)seq) == SQLITE_OK &&
             sqlite3_bind_blob(st, 4, c.hash, AUDIT_HASH_LEN, SQLITE_STATIC) == SQLITE_OK &&
             sqlite3_bind_blob(st, 5, c.range_digest, AUDIT_HASH_LEN, SQLITE_STATIC) ==
                 SQLITE_OK &&
             sqlite3_bind_int64(st, 6, c.time_ms) == SQLITE_OK &&
             sqlite3_bind_blob(st, 7, c.sig, WARD_AUDIT_SIG_LEN, SQLITE_STATIC) == SQLITE_OK;
    if (ok && hashes != NULL) {
        if (n > (size_t)INT32_MAX / AUDIT_HASH_LEN) {
            sqlite3_reset(st);
            sqlite3_clear_bindings(st);
            return ward_err_set(WARD_ERR_OVERFLOW, "audit: checkpoint range too long");
        }
        ok = sqlite3_bind_blob(st, 8, hashes, (int)(n * AUDIT_HASH_LEN), SQLITE_STATIC) ==
             SQLITE_OK;
    } else if (ok) {
        ok = sqlite3_bind_null(st, 8) == SQLITE_OK;
    }
    if (!ok) {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        return audit_sql_err(log->db, "binding a checkpoint");
    }
    return step_done(log->db, st, "inserting a checkpoint");
}

/* Checkpoints the records since the last checkpoint, if any (inside a transaction). */
static ward_err checkpoint_range(ward_audit *log, int kind)
{
    if (log->range_n == 0)
        return WARD_OK;
    ward_err err = insert_checkpoint(log, kind, log->ckpt_seq + 1, log->tip_seq, log->tip_hash,
                                     log->range, log->range_n);
    if (err != WARD_OK)
        return err;
    log->ckpt_seq = log->tip_seq;
    log->range_n = 0;
    return WARD_OK;
}

static ward_err insert_record(ward_audit *log, const struct pending *p,
                              const uint8_t hash[AUDIT_HASH_LEN])
{
    static const int cols[AF_COUNT] = {3, 4, 5, 6, 8, 9};
    sqlite3_stmt *st = log->st_ins_rec;
    int ok = sqlite3_bind_int64(st, 1, (sqlite3_int64)p->seq) == SQLITE_OK &&
             sqlite3_bind_int64(st, 2, p->time_ms) == SQLITE_OK &&
             sqlite3_bind_text(st, 7, ward_audit_outcome_name((ward_audit_outcome)p->outcome),
                               -1, SQLITE_STATIC) == SQLITE_OK &&
             sqlite3_bind_blob(st, 10, log->tip_hash, AUDIT_HASH_LEN, SQLITE_STATIC) ==
                 SQLITE_OK &&
             sqlite3_bind_blob(st, 11, hash, AUDIT_HASH_LEN, SQLITE_STATIC) == SQLITE_OK;
    for (int i = 0; ok && i < AF_COUNT; i++)
        ok = sqlite3_bind_text(st, cols[i], p->s[i], (int)p->len[i], SQLITE_STATIC) == SQLITE_OK;
    if (!ok) {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        return audit_sql_err(log->db, "binding a record");
    }
    return step_done(log->db, st, "inserting a record");
}

static void rollback(ward_audit *log)
{
    sqlite3_step(log->st_rollback);
    sqlite3_reset(log->st_rollback);
}

/* Writes one batch in one transaction: chains, hashes, inserts, checkpoints every interval. */
static ward_err commit_batch(ward_audit *log, const struct pending *batch)
{
    ward_err err = step_done(log->db, log->st_begin, "begin");
    if (err != WARD_OK)
        return err;
    for (const struct pending *p = batch; p != NULL && err == WARD_OK; p = p->next) {
        if (p->seq != log->tip_seq + 1) {
            err = ward_err_set(WARD_ERR_STATE, "audit: internal sequence error");
            break;
        }
        audit_fields f = {.seq = p->seq, .time_ms = p->time_ms, .outcome = p->outcome,
                          .prev_hash = log->tip_hash};
        for (int i = 0; i < AF_COUNT; i++) {
            f.s[i] = p->s[i];
            f.len[i] = p->len[i];
        }
        uint8_t h[AUDIT_HASH_LEN];
        err = audit_record_hash(&f, h);
        if (err == WARD_OK)
            err = insert_record(log, p, h);
        if (err == WARD_OK)
            err = range_push(log, h);
        if (err == WARD_OK) {
            log->tip_seq = p->seq;
            memcpy(log->tip_hash, h, AUDIT_HASH_LEN);
            if (log->range_n >= log->interval)
                err = checkpoint_range(log, AUDIT_CKPT_PERIODIC);
        }
    }
    if (err == WARD_OK)
        err = step_done(log->db, log->st_commit, "commit");
    if (err != WARD_OK)
        rollback(log);
    return err;
}

/* A checkpoint in its own transaction (under db_mu). */
static ward_err checkpoint_tx(ward_audit *log, int kind)
{
    if (log->range_n == 0)
        return WARD_OK;
    ward_err err = step_done(log->db, log->st_begin, "begin");
    if (err != WARD_OK)
        return err;
    err = checkpoint_range(log, kind);
    if (err == WARD_OK)
        err = step_done(log->db, log->st_commit, "commit");
    if (err != WARD_OK)
        rollback(log);
    return err;
}

/* ---- the writer thread ------------------------------------------------------------------- */

/* Enters the failed state (under mu): drops what is pending, wakes everyone. */
static void set_failed(ward_audit *log, ward_err err, const char *msg)
{
    if (log->failed == WARD_OK) {
        log->failed = err;
        snprintf(log->failmsg, sizeof log->failmsg, "%s", msg);
        ward_log(WARD_LOG_ERROR, "audit.failed", "error", msg, (char *)NULL);
    }
    free_list(log->head);
    log->head = log->tail = NULL;
    log->npending = 0;
    pthread_cond_broadcast(&log->cv_done);
    pthread_cond_broadcast(&log->cv_space);
}

static ward_err failed_err(const ward_audit *log)
{
    return ward_err_set(log->failed, "audit log failed earlier: %s", log->failmsg);
}

static void deadline_ts(int64_t mono, struct timespec *ts)
{
    ts->tv_sec = (time_t)(mono / 1000);
    ts->tv_nsec = (long)((mono % 1000) * 1000000);
}

static void *writer_main(void *arg)
{
    ward_audit *log = arg;
    pthread_mutex_lock(&log->mu);
    for (;;) {
        while (log->npending == 0 && !log->stop)
            pthread_cond_wait(&log->cv_work, &log->mu);
        if (log->npending == 0)
            break; /* stopping, nothing left */
        /* Wait for a reason to commit: enough records, the oldest one's deadline, an urgent
         * request (sync append, flush, close). */
        while (!log->stop && log->head != NULL && log->npending < log->batch &&
               log->want_seq < log->head->seq) {
            int64_t deadline = log->head->queued_mono_ms + (int64_t)log->delay_ms;
            if (mono_ms() >= deadline)
                break;
            struct timespec ts;
            deadline_ts(deadline, &ts);
            pthread_cond_timedwait(&log->cv_work, &log->mu, &ts);
        }
        if (log->head == NULL)
            continue;
        struct pending *batch = log->head, *last = log->head;
        size_t n = 1;
        while (last->next != NULL && n < BATCH_CAP) {
            last = last->next;
            n++;
        }
        log->head = last->next;
        if (log->head == NULL)
            log->tail = NULL;
        last->next = NULL;
        log->npending -= n;
        pthread_cond_broadcast(&log->cv_space);
        pthread_mutex_unlock(&log->mu);

        pthread_mutex_lock(&log->db_mu);
        ward_err err = commit_batch(log, batch);
        char msg[256] = "";
        if (err != WARD_OK)
            snprintf(msg, sizeof msg, "%s", ward_errmsg());
        pthread_mutex_unlock(&log->db_mu);

        uint64_t last_seq = last->seq;
        free_list(batch);
        pthread_mutex_lock(&log->mu);
        if (err != WARD_OK)
            set_failed(log, err, msg);
        else if (log->failed == WARD_OK)
            log->durable_seq = last_seq;
        pthread_cond_broadcast(&log->cv_done);
    }
    pthread_mutex_unlock(&log->mu);
    return NULL;
}

/* Waits (under mu) until seq is durable. */
static ward_err wait_durable(ward_audit *log, uint64_t seq)
{
    if (log->want_seq < seq)
        log->want_seq = seq;
    pthread_cond_signal(&log->cv_work);
    while (log->durable_seq < seq && log->failed == WARD_OK)
        pthread_cond_wait(&log->cv_done, &log->mu);
    if (log->failed != WARD_OK)
        return failed_err(log);
    return WARD_OK;
}

/* ---- appending --------------------------------------------------------------------------- */

static ward_err enqueue(ward_audit *log, const ward_audit_record *rec, int sync, uint64_t *seq)
{
    if (seq != NULL)
        *seq = 0;
    if (log == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "audit: NULL log");
    struct pending *p = NULL;
    ward_err err = make_pending(rec, &p);
    if (err != WARD_OK)
        return err;
    pthread_mutex_lock(&log->mu);
    while (log->failed == WARD_OK && !log->stop && log->npending >= log->queue_max) {
        log->want_seq = log->next_seq; /* full: drain at once */
        pthread_cond_signal(&log->cv_work);
        pthread_cond_wait(&log->cv_space, &log->mu);
    }
    if (log->failed != WARD_OK || log->stop) {
        err = log->failed != WARD_OK ? failed_err(log)
                                     : ward_err_set(WARD_ERR_STATE, "audit: log is closing");
        pthread_mutex_unlock(&log->mu);
        free(p);
        return err;
    }
    p->seq = ++log->next_seq;
    p->time_ms = log_now(log);
    p->queued_mono_ms = mono_ms();
    if (log->tail != NULL)
        log->tail->next = p;
    else
        log->head = p;
    log->tail = p;
    log->npending++;
    uint64_t s = p->seq;
    if (log->npending >= log->batch || log->npending == 1)
        pthread_cond_signal(&log->cv_work);
    if (sync)
        err = wait_durable(log, s);
    pthread_mutex_unlock(&log->mu);
    if (err == WARD_OK && seq != NULL)
        *seq = s;
    return err;
}

ward_err ward_audit_append(ward_audit *log, const ward_audit_record *rec, uint64_t *seq)
{
    return enqueue(log, rec, 1, seq);
}

ward_err ward_audit_append_async(ward_audit *log, const ward_audit_record *rec, uint64_t *seq)
{
    return enqueue(log, rec, 0, seq);
}

ward_err ward_audit_flush(ward_audit *log)
{
    if (log == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "audit: NULL log");
    pthread_mutex_lock(&log->mu);
    ward_err err = wait_durable(log, log->next_seq);
    pthread_mutex_unlock(&log->mu);
    return err;
}

uint64_t ward_audit_durable_seq(ward_audit *log)
{
    if (log == NULL)
        return 0;
    pthread_mutex_lock(&log->mu);
    uint64_t s = log->durable_seq;
    pthread_mutex_unlock(&log->mu);
    return s;
}

uint64_t ward_audit_last_seq(ward_audit *log)
{
    if (log == NULL)
        return 0;
    pthread_mutex_lock(&log->mu);
    uint64_t s = log->next_seq;
    pthread_mutex_unlock(&log->mu);
    return s;
}

/* Runs fn under db_mu after a flush; a failure puts the log in the failed state when fatal. */
static ward_err checkpoint_now(ward_audit *log, int kind)
{
    ward_err err = ward_audit_flush(log);
    if (err != WARD_OK)
        return err;
    pthread_mutex_lock(&log->db_mu);
    err = checkpoint_tx(log, kind);
    char msg[256] = "";
    if (err != WARD_OK)
        snprintf(msg, sizeof msg, "%s", ward_errmsg());
    pthread_mutex_unlock(&log->db_mu);
    if (err != WARD_OK) {
        pthread_mutex_lock(&log->mu);
        set_failed(log, err, msg);
        pthread_mutex_unlock(&log->mu);
        return ward_err_set(err, "%s", msg);
    }
    return WARD_OK;
}

ward_err ward_audit_checkpoint(ward_audit *log)
{
    if (log == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "audit: NULL log");
    return checkpoint_now(log, AUDIT_CKPT_REQUEST);
}

/* ---- pruning ----------------------------------------------------------------------------- */

static ward_err prune_locked(ward_audit *log, int64_t cutoff, uint64_t *pruned)
{
    ward_audit_report rep;
    ward_err err = audit_verify_db(log->db, log->vkey, &rep);
    if (err == WARD_ERR_VERIFY)
        return ward_err_set(WARD_ERR_VERIFY,
                            "audit: refusing to prune a log that does not verify: seq %llu: %s",
                            (unsigned long long)rep.bad_seq, rep.detail);
    if (err != WARD_OK)
        return err;
    if (rep.records == 0)
        return WARD_OK;
    /* S: the record before the first one at or after the cutoff. */
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(log->db,
                           "SELECT min(seq) FROM audit_records WHERE time_ms >= ?1", -1, &st,
                           NULL) != SQLITE_OK)
        return audit_sql_err(log->db, "prune");
    sqlite3_bind_int64(st, 1, cutoff);
    uint64_t s = rep.last_seq;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) == SQLITE_INTEGER)
        s = (uint64_t)sqlite3_column_int64(st, 0) - 1;
    sqlite3_finalize(st);
    if (s < rep.first_seq)
        return WARD_OK;
    uint8_t hash[AUDIT_HASH_LEN];
    if (sqlite3_prepare_v2(log->db, "SELECT hash FROM audit_records WHERE seq = ?1", -1, &st,
                           NULL) != SQLITE_OK)
        return audit_sql_err(log->db, "prune");
    sqlite3_bind_int64(st, 1, (sqlite3_int64)s);
    int found = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_bytes(st, 0) == AUDIT_HASH_LEN;
    if (found)
        memcpy(hash, sqlite3_column_blob(st, 0), AUDIT_HASH_LEN);
    sqlite3_finalize(st);
    if (!found)
        return ward_err_set(WARD_ERR_STATE, "audit: prune: record %llu vanished",
                            (unsigned long long)s);

    err = step_done(log->db, log->st_begin, "begin");
    if (err != WARD_OK)
        return err;
    sqlite3_stmt *del_r = NULL, *del_c = NULL;
    if (sqlite3_prepare_v2(log->db, "DELETE FROM audit_records WHERE seq <= ?1", -1, &del_r,
                           NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(log->db, "DELETE FROM audit_checkpoints WHERE seq <= ?1", -1, &del_c,
                           NULL) != SQLITE_OK) {
        err = audit_sql_err(log->db, "prune");
    } else {
        sqlite3_bind_int64(del_r, 1, (sqlite3_int64)s);
        sqlite3_bind_int64(del_c, 1, (sqlite3_int64)s);
        err = step_done(log->db, del_r, "deleting records");
        if (err == WARD_OK)
            *pruned = (uint64_t)sqlite3_changes64(log->db);
        if (err == WARD_OK)
            err = step_done(log->db, del_c, "deleting checkpoints");
        if (err == WARD_OK)
            err = insert_checkpoint(log, AUDIT_CKPT_ANCHOR, rep.first_seq, s, hash, NULL, 0);
    }
    sqlite3_finalize(del_r);
    sqlite3_finalize(del_c);
    if (err == WARD_OK)
        err = step_done(log->db, log->st_commit, "commit");
    if (err != WARD_OK) {
        rollback(log);
        *pruned = 0;
    }
    return err;
}

ward_err ward_audit_prune(ward_audit *log, uint32_t older_than_days, uint64_t *pruned)
{
    if (pruned != NULL)
        *pruned = 0;
    if (log == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "audit: NULL log");
    if (older_than_days < WARD_AUDIT_MIN_RETENTION_DAYS)
        return ward_err_set(WARD_ERR_INVALID_ARG,
                            "audit: retention of %u days is below the minimum of %u days "
                            "(IEEE 2952 5.5.4: at least six months)",
                            older_than_days, WARD_AUDIT_MIN_RETENTION_DAYS);
    /* Everything written so far gets signed, so that the verification below covers it. */
    ward_err err = checkpoint_now(log, AUDIT_CKPT_REQUEST);
    if (err != WARD_OK)
        return err;
    int64_t cutoff = log_now(log) - (int64_t)older_than_days * 86400000;
    uint64_t n = 0;
    pthread_mutex_lock(&log->db_mu);
    err = prune_locked(log, cutoff, &n);
    pthread_mutex_unlock(&log->db_mu);
    if (err != WARD_OK)
        return err;
    if (n != 0) {
        char details[128];
        snprintf(details, sizeof details, "{\"older_than_days\":%u,\"records\":%llu}",
                 older_than_days, (unsigned long long)n);
        ward_audit_record rec = {.actor = "node", .auth_method = "system",
                                 .action = "audit.pruned", .object = WARD_AUDIT_DB_FILE,
                                 .outcome = WARD_AUDIT_SUCCESS, .details = details};
        err = ward_audit_append(log, &rec, NULL);
    }
    if (pruned != NULL)
        *pruned = n;
    return err;
}

/* ---- open and close ---------------------------------------------------------------------- */

/* Reads the chain state and checks the last checkpoint and the tail after it. */
static ward_err load_state(ward_audit *log)
{
    sqlite3 *db = log->db;
    sqlite3_stmt *st = NULL;
    ward_err err = WARD_OK;
    audit_ckpt last;
    int have_ckpt = 0;
    if (sqlite3_prepare_v2(db, "SELECT " AUDIT_CKPT_COLS " FROM audit_checkpoints "
                               "ORDER BY seq DESC, id DESC LIMIT 1", -1, &st, NULL) != SQLITE_OK)
        return audit_sql_err(db, "reading checkpoints");
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        err = audit_ckpt_from_row(st, &last);
        have_ckpt = err == WARD_OK;
    } else if (rc != SQLITE_DONE) {
        err = audit_sql_err(db, "reading checkpoints");
    }
    sqlite3_finalize(st);
    if (err != WARD_OK)
        return ward_err_wrap(WARD_ERR_VERIFY, "audit: last checkpoint");
    uint8_t prev[AUDIT_HASH_LEN] = {0};
    uint64_t start = 1;
    if (have_ckpt) {
        if (audit_ckpt_check_sig(&last, log->log_id, log->vkey) != WARD_OK)
            return ward_err_set(WARD_ERR_VERIFY,
                                "audit: the last checkpoint (seq %llu) does not verify with the "
                                "platform key: wrong key, or a forged checkpoint; run "
                                "`ward audit verify`",
                                (unsigned long long)last.seq);
        memcpy(prev, last.hash, AUDIT_HASH_LEN);
        start = last.seq + 1;
        if (last.kind != AUDIT_CKPT_ANCHOR) {
            /* The record it covers must be there with the same hash. */
            if (sqlite3_prepare_v2(db, "SELECT hash FROM audit_records WHERE seq = ?1", -1, &st,
                                   NULL) != SQLITE_OK)
                return audit_sql_err(db, "reading records");
            sqlite3_bind_int64(st, 1, (sqlite3_int64)last.seq);
            int ok = sqlite3_step(st) == SQLITE_ROW &&
                     sqlite3_column_bytes(st, 0) == AUDIT_HASH_LEN &&
                     memcmp(sqlite3_column_blob(st, 0), last.hash, AUDIT_HASH_LEN) == 0;
            sqlite3_finalize(st);
            if (!ok)
                return ward_err_set(WARD_ERR_VERIFY,
                                    "audit: record %llu does not match the last checkpoint; run "
                                    "`ward audit verify`",
                                    (unsigned long long)last.seq);
        }
    }
    log->ckpt_seq = start - 1;
    log->tip_seq = start - 1;
    memcpy(log->tip_hash, prev, AUDIT_HASH_LEN);
    log->range_n = 0;

    /* The tail: chain and hashes, collected for the next checkpoint. */
    if (sqlite3_prepare_v2(db, "SELECT seq, time_ms, actor, auth_method, action, object, "
                               "outcome, request_id, details, prev_hash, hash FROM audit_records "
                               "WHERE seq >= ?1 ORDER BY seq", -1, &st, NULL) != SQLITE_OK)
        return audit_sql_err(db, "reading records");
    sqlite3_bind_int64(st, 1, (sqlite3_int64)start);
    static const int cols[AF_COUNT] = {2, 3, 4, 5, 7, 8};
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        uint64_t seq = (uint64_t)sqlite3_column_int64(st, 0);
        const char *oc = (const char *)sqlite3_column_text(st, 6);
        int outcome = oc != NULL ? audit_outcome_parse(oc, (size_t)sqlite3_column_bytes(st, 6))
                                 : -1;
        audit_fields f = {.seq = seq, .time_ms = sqlite3_column_int64(st, 1),
                          .prev_hash = log->tip_hash};
        int ok = seq == log->tip_seq + 1 && outcome >= 0 &&
                 sqlite3_column_bytes(st, 9) == AUDIT_HASH_LEN &&
                 sqlite3_column_bytes(st, 10) == AUDIT_HASH_LEN &&
                 memcmp(sqlite3_column_blob(st, 9), log->tip_hash, AUDIT_HASH_LEN) == 0;
        f.outcome = (unsigned)(outcome < 0 ? 0 : outcome);
        for (int i = 0; ok && i < AF_COUNT; i++) {
            f.s[i] = (const char *)sqlite3_column_text(st, cols[i]);
            int n = sqlite3_column_bytes(st, cols[i]);
            ok = f.s[i] != NULL && n >= 0 && (size_t)n <= audit_field_max(i);
            f.len[i] = ok ? (size_t)n : 0;
        }
        uint8_t h[AUDIT_HASH_LEN];
        ok = ok && audit_record_hash(&f, h) == WARD_OK &&
             memcmp(h, sqlite3_column_blob(st, 10), AUDIT_HASH_LEN) == 0;
        if (!ok) {
            err = ward_err_set(WARD_ERR_VERIFY,
                               "audit: record %llu after the last checkpoint does not chain; run "
                               "`ward audit verify`",
                               (unsigned long long)(log->tip_seq + 1));
            break;
        }
        err = range_push(log, h);
        if (err != WARD_OK)
            break;
        log->tip_seq = seq;
        memcpy(log->tip_hash, h, AUDIT_HASH_LEN);
    }
    if (err == WARD_OK && rc != SQLITE_DONE)
        err = audit_sql_err(db, "reading records");
    sqlite3_finalize(st);
    if (err != WARD_OK)
        return err;
    if (have_ckpt && last.kind != AUDIT_CKPT_ANCHOR && log->tip_seq < last.seq)
        return ward_err_set(WARD_ERR_VERIFY, "audit: records up to seq %llu are missing",
                            (unsigned long long)last.seq);
    return WARD_OK;
}

static ward_err init_db(ward_audit *log, const char *path)
{
    /* Create the file 0600 ourselves: SQLite would use 0644; its WAL and shared-memory files
     * take the database file's mode. */
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return ward_err_set(WARD_ERR_IO, "audit: cannot open %s: %s", path, strerror(errno));
    struct stat st;
    int rc = fstat(fd, &st);
    close(fd);
    if (rc != 0 || !S_ISREG(st.st_mode))
        return ward_err_set(WARD_ERR_FORMAT, "audit: %s is not a regular file", path);
    if ((st.st_mode & 022) != 0 || st.st_uid != geteuid())
        return ward_err_set(WARD_ERR_PERMISSION,
                            "audit: %s is writable by others or owned by another user (mode "
                            "%04o); chmod 600 it",
                            path, (unsigned)(st.st_mode & 07777));
    if (sqlite3_open_v2(path, &log->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW,
                        NULL) != SQLITE_OK)
        return audit_sql_err(log->db, "opening the database");
    ward_err err = audit_harden(log->db);
    if (err != WARD_OK)
        return err;
    sqlite3_busy_timeout(log->db, 5000);
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(log->db, "PRAGMA journal_mode=WAL", -1, &q, NULL) != SQLITE_OK)
        return audit_sql_err(log->db, "journal_mode");
    int wal = sqlite3_step(q) == SQLITE_ROW && sqlite3_column_text(q, 0) != NULL &&
              strcmp((const char *)sqlite3_column_text(q, 0), "wal") == 0;
    sqlite3_finalize(q);
    if (!wal)
        return ward_err_set(WARD_ERR_IO, "audit: cannot switch %s to WAL mode", path);
    err = exec_sql(log->db, "PRAGMA synchronous=FULL", "synchronous");
    if (err == WARD_OK)
        err = exec_sql(log->db, "BEGIN IMMEDIATE", "begin");
    if (err != WARD_OK)
        return err;
    err = audit_check_schema(log->db);
    if (err == WARD_OK)
        err = exec_sql(log->db, audit_schema_sql, "creating the schema");
    if (err == WARD_OK) {
        err = audit_read_log_id(log->db, log->log_id);
        if (err == WARD_ERR_NOT_FOUND) {
            /* A new log, or a database without metadata: the latter only if empty. */
            sqlite3_stmt *c = NULL;
            int empty = 0;
            if (sqlite3_prepare_v2(log->db, "SELECT (SELECT count(*) FROM audit_records) + "
                                            "(SELECT count(*) FROM audit_checkpoints) + "
                                            "(SELECT count(*) FROM audit_meta)",
                                   -1, &c, NULL) == SQLITE_OK &&
                sqlite3_step(c) == SQLITE_ROW)
                empty = sqlite3_column_int64(c, 0) == 0;
            sqlite3_finalize(c);
            err = empty ? ward_random(log->log_id, AUDIT_LOG_ID_LEN)
                        : ward_err_set(WARD_ERR_VERIFY, "audit: the log's metadata is missing");
            if (err == WARD_OK) {
                if (sqlite3_prepare_v2(log->db, "INSERT INTO audit_meta(name, value) VALUES "
                                                "('format', ?1), ('log_id', ?2)",
                                       -1, &c, NULL) != SQLITE_OK)
                    err = audit_sql_err(log->db, "writing the metadata");
                else {
                    sqlite3_bind_int(c, 1, AUDIT_FORMAT);
                    sqlite3_bind_blob(c, 2, log->log_id, AUDIT_LOG_ID_LEN, SQLITE_STATIC);
                    err = step_done(log->db, c, "writing the metadata");
                    sqlite3_finalize(c);
                }
            }
        }
    }
    if (err == WARD_OK)
        err = exec_sql(log->db, "COMMIT", "commit");
    else
        sqlite3_exec(log->db, "ROLLBACK", NULL, NULL, NULL);
    if (err != WARD_OK)
        return err;

    static const struct {
        size_t off;
        const char *sql;
    } stmts[] = {
        {offsetof(ward_audit, st_ins_rec),
         "INSERT INTO audit_records(seq, time_ms, actor, auth_method, action, object, outcome, "
         "request_id, details, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, "
         "?11)"},
        {offsetof(ward_audit, st_ins_ckpt),
         "INSERT INTO audit_checkpoints(kind, first_seq, seq, hash, range_digest, time_ms, sig, "
         "hashes) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"},
        {offsetof(ward_audit, st_begin), "BEGIN IMMEDIATE"},
        {offsetof(ward_audit, st_commit), "COMMIT"},
        {offsetof(ward_audit, st_rollback), "ROLLBACK"},
    };
    for (size_t i = 0; i < sizeof stmts / sizeof stmts[0]; i++) {
        sqlite3_stmt **slot = (sqlite3_stmt **)(void *)((char *)log + stmts[i].off);
        if (sqlite3_prepare_v3(log->db, stmts[i].sql, -1, SQLITE_PREPARE_PERSISTENT, slot,
                               NULL) != SQLITE_OK)
            return audit_sql_err(log->db, "preparing statements");
    }
    return WARD_OK;
}

static void destroy(ward_audit *log)
{
    sqlite3_finalize(log->st_ins_rec);
    sqlite3_finalize(log->st_ins_ckpt);
    sqlite3_finalize(log->st_begin);
    sqlite3_finalize(log->st_commit);
    sqlite3_finalize(log->st_rollback);
    if (log->db != NULL)
        sqlite3_close(log->db);
    if (log->lock_fd >= 0)
        close(log->lock_fd);
    ward_pkey_free(log->vkey);
    free_list(log->head);
    free(log->range);
    pthread_mutex_destroy(&log->mu);
    pthread_mutex_destroy(&log->db_mu);
    pthread_cond_destroy(&log->cv_work);
    pthread_cond_destroy(&log->cv_done);
    pthread_cond_destroy(&log->cv_space);
    free(log);
}

static ward_err init_sync(ward_audit *log)
{
    pthread_condattr_t ca;
    if (pthread_condattr_init(&ca) != 0)
        return ward_err_set(WARD_ERR_NOMEM, "audit: condattr");
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    int bad = pthread_mutex_init(&log->mu, NULL) != 0;
    bad |= pthread_mutex_init(&log->db_mu, NULL) != 0;
    bad |= pthread_cond_init(&log->cv_work, &ca) != 0;
    bad |= pthread_cond_init(&log->cv_done, NULL) != 0;
    bad |= pthread_cond_init(&log->cv_space, NULL) != 0;
    pthread_condattr_destroy(&ca);
    return bad ? ward_err_set(WARD_ERR_NOMEM, "audit: cannot create locks") : WARD_OK;
}

ward_err ward_audit_open(const char *dir, const ward_audit_options *opts, ward_audit **out)
{
    if (out == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "audit: NULL output");
    *out = NULL;
    if (dir == NULL || opts == NULL || opts->sign == NULL || opts->verify_key == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG,
                            "audit: directory, sign callback and verification key are required");
    if (opts->checkpoint_interval > MAX_INTERVAL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "audit: checkpoint interval above %u",
                            MAX_INTERVAL);
    if (opts->batch_records > BATCH_CAP || opts->max_delay_ms > 10000)
        return ward_err_set(WARD_ERR_INVALID_ARG,
                            "audit: batch above %u records or delay above 10 s", BATCH_CAP);
    ward_audit *log = calloc(1, sizeof *log);
    if (log == NULL)
        return ward_err_set(WARD_ERR_NOMEM, "audit: out of memory");
    log->lock_fd = -1;
    ward_err err = init_sync(log);
    if (err != WARD_OK) {
        free(log);
        return err;
    }
    log->sign = opts->sign;
    log->sign_arg = opts->sign_arg;
    log->interval = opts->checkpoint_interval ? opts->checkpoint_interval
                                              : WARD_AUDIT_DEFAULT_CHECKPOINT_INTERVAL;
    log->batch = opts->batch_records ? opts->batch_records : WARD_AUDIT_DEFAULT_BATCH;
    log->delay_ms = opts->max_delay_ms ? opts->max_delay_ms : WARD_AUDIT_DEFAULT_DELAY_MS;
    log->queue_max = opts->queue_max ? opts->queue_max : WARD_AUDIT_DEFAULT_QUEUE_MAX;
    log->now_ms = opts->now_ms;
    log->clock_arg = opts->clock_arg;
    err = ward_pkey_public_only(opts->verify_key, &log->vkey);

    char *lock_path = NULL, *db_path = NULL;
    if (err == WARD_OK)
        err = audit_path(dir, WARD_AUDIT_LOCK_FILE, &lock_path);
    if (err == WARD_OK)
        err = audit_path(dir, WARD_AUDIT_DB_FILE, &db_path);
    if (err == WARD_OK) {
        log->lock_fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (log->lock_fd < 0)
            err = ward_err_set(errno == ENOENT ? WARD_ERR_NOT_FOUND : WARD_ERR_IO,
                               "audit: cannot open %s: %s", lock_path, strerror(errno));
        else if (flock(log->lock_fd, LOCK_EX | LOCK_NB) != 0)
            err = errno == EWOULDBLOCK
                      ? ward_err_set(WARD_ERR_STATE,
                                     "audit: the log in %s is open for writing by another "
                                     "process (is wardd running?)", dir)
                      : ward_err_set(WARD_ERR_IO, "audit: flock %s: %s", lock_path,
                                     strerror(errno));
    }
    if (err == WARD_OK)
        err = init_db(log, db_path);
    free(lock_path);
    free(db_path);
    if (err == WARD_OK)
        err = load_state(log);
    if (err == WARD_OK) {
        log->next_seq = log->durable_seq = log->tip_seq;
        if (pthread_create(&log->thread, NULL, writer_main, log) != 0)
            err = ward_err_set(WARD_ERR_NOMEM, "audit: cannot start the writer thread");
        else
            log->thread_started = 1;
    }
    if (err != WARD_OK) {
        destroy(log);
        return err;
    }
    *out = log;
    return WARD_OK;
}

ward_err ward_audit_close(ward_audit *log)
{
    if (log == NULL)
        return WARD_OK;
    pthread_mutex_lock(&log->mu);
    log->stop = 1;
    log->want_seq = log->next_seq;
    pthread_cond_broadcast(&log->cv_work);
    pthread_cond_broadcast(&log->cv_space);
    pthread_mutex_unlock(&log->mu);
    if (log->thread_started)
        pthread_join(log->thread, NULL);
    ward_err err = WARD_OK;
    char msg[256] = "";
    if (log->failed != WARD_OK) {
        err = log->failed;
        snprintf(msg, sizeof msg, "%s", log->failmsg);
    } else {
        err = checkpoint_tx(log, AUDIT_CKPT_CLOSE);
        if (err != WARD_OK)
            snprintf(msg, sizeof msg, "%s", ward_errmsg());
    }
    destroy(log);
    if (err != WARD_OK)
        return ward_err_set(err, "audit: close: %s", msg);
    return WARD_OK;
}
