/* The task lifecycle store: DIR/tasks.db (SQLite, WAL) and the ciphertext files in DIR/blobs/.
 * include/ward/task.h documents the behaviour; docs/formats.md "Task manifest" the tables.
 *
 * SQL: every statement is a constant string, prepared, with values bound; nothing from input is
 * ever part of SQL text. Every mutation runs in a BEGIN IMMEDIATE transaction, so a check and
 * the change it allows (a state, a vote count, a slot's progress) can never be split. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <sqlite3.h>

#include "app/task_internal.h"
#include "ward/audit.h"
#include "ward/crypto.h"
#include "ward/err.h"
#include "ward/json.h"
#include "ward/task.h"

#define DB_FILE "tasks.db"
#define LOCK_FILE "tasks.lock"
#define BLOB_DIR "blobs"
#define PATH_CAP 4096
#define BUSY_TIMEOUT_MS 10000
#define CHUNK_MAX (1u << 30)
#define SECONDS_PER_DAY 86400
#define SCHEMA_VERSION 1
/* An append is written in batches of this size: each batch's writeback is started at once
 * (sync_file_range), so that the device works while the next batch is copied and hashed and
 * the closing fdatasync waits for little more than the last batch. */
#define WRITE_BATCH ((size_t)1 << 20)
#define WRITE_IOV 64

struct upload {
    struct upload *next;
    char task[WARD_TASK_ID_HEX_LEN + 1];
    char slot[WARD_TASK_SLOT_NAME_MAX + 1];
    int fd;
    EVP_MD_CTX *md;
    /* The manifest's answer for this slot, kept after the first append checked it (the
     * manifest of an approved task never changes): who may append and up to how much, so that
     * the following chunks need not parse and verify the manifest again. */
    int checked;
    uint8_t owner[32];
    uint64_t max_bytes;
};

struct ward_task_store {
    pthread_mutex_t mu;
    sqlite3 *db;
    char dir[PATH_CAP];
    int lock_fd;
    ward_audit *audit;
    int64_t (*now)(void *arg);
    void *clock_arg;
    int no_fsync;
    size_t recovered;
    struct upload *uploads;
};

static const char *const state_names[WARD_TASK_STATE__COUNT] = {
    "created", "approved", "collecting", "running", "done", "failed", "cancelled", "expired"};

const char *ward_task_state_name(ward_task_state s)
{
    return (unsigned)s < WARD_TASK_STATE__COUNT ? state_names[s] : "?";
}

int ward_task_state_is_final(ward_task_state s)
{
    return s == WARD_TASK_DONE || s == WARD_TASK_FAILED || s == WARD_TASK_CANCELLED ||
           s == WARD_TASK_EXPIRED;
}

int ward_task_transition_allowed(ward_task_state from, ward_task_state to)
{
    if ((unsigned)from >= WARD_TASK_STATE__COUNT || (unsigned)to >= WARD_TASK_STATE__COUNT)
        return 0;
    if (ward_task_state_is_final(from))
        return 0;
    if (to == WARD_TASK_FAILED || to == WARD_TASK_CANCELLED || to == WARD_TASK_EXPIRED)
        return 1;
    return (from == WARD_TASK_CREATED && to == WARD_TASK_APPROVED) ||
           (from == WARD_TASK_APPROVED && to == WARD_TASK_COLLECTING) ||
           (from == WARD_TASK_COLLECTING && to == WARD_TASK_RUNNING) ||
           (from == WARD_TASK_RUNNING && to == WARD_TASK_DONE);
}

static int state_parse(const unsigned char *text, ward_task_state *out)
{
    if (text == NULL)
        return 0;
    for (unsigned i = 0; i < WARD_TASK_STATE__COUNT; i++)
        if (strcmp((const char *)text, state_names[i]) == 0) {
            *out = (ward_task_state)i;
            return 1;
        }
    return 0;
}

/* ---- SQLite helpers ---------------------------------------------------------------------------- */

static ward_err db_fail(ward_task_store *s, const char *what)
{
    return ward_err_set(WARD_ERR_IO, "task store: %s: %s", what, sqlite3_errmsg(s->db));
}

static ward_err prep(ward_task_store *s, const char *sql, sqlite3_stmt **st)
{
    if (sqlite3_prepare_v2(s->db, sql, -1, st, NULL) != SQLITE_OK)
        return db_fail(s, "prepare");
    return WARD_OK;
}

/* Runs one constant statement without results. */
static ward_err exec1(ward_task_store *s, const char *sql)
{
    sqlite3_stmt *st = NULL;
    ward_err err = prep(s, sql, &st);
    if (err == WARD_OK) {
        int rc = sqlite3_step(st);
        if (rc != SQLITE_DONE && rc != SQLITE_ROW)
            err = db_fail(s, "statement");
    }
    sqlite3_finalize(st);
    return err;
}

static ward_err begin(ward_task_store *s) { return exec1(s, "BEGIN IMMEDIATE"); }
static ward_err commit(ward_task_store *s) { return exec1(s, "COMMIT"); }
static void rollback(ward_task_store *s)
{
    if (!sqlite3_get_autocommit(s->db))
        (void)exec1(s, "ROLLBACK");
}

static int64_t now_of(const ward_task_store *s)
{
    if (s->now != NULL)
        return s->now(s->clock_arg);
    return (int64_t)time(NULL);
}

static int bind_text(sqlite3_stmt *st, int i, const char *v)
{
    return sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
}

/* ---- audit ------------------------------------------------------------------------------------ */

/* Appends an audit record when the store has a log; details is a JSON object (stolen). */
static ward_err audit(ward_task_store *s, const char *actor, const char *action,
                      const char *task_id, ward_audit_outcome outcome, json_t *details)
{
    if (s->audit == NULL) {
        json_decref(details);
        return WARD_OK;
    }
    char *text = details != NULL ? json_dumps(details, JSON_COMPACT) : NULL;
    json_decref(details);
    if (details != NULL && text == NULL)
        return ward_err_set(WARD_ERR_NOMEM, "task store: out of memory");
    ward_audit_record rec = {.actor = actor != NULL ? actor : "node",
                             .auth_method = actor != NULL ? "cert" : NULL,
                             .action = action,
                             .object = task_id,
                             .outcome = outcome,
                             .details = text};
    ward_err err = ward_audit_append(s->audit, &rec, NULL);
    free(text);
    if (err != WARD_OK)
        return ward_err_wrap(err, "task store: audit (%s)", action);
    return WARD_OK;
}

/* ---- uploads in progress ------------------------------------------------------------------------ */

static void upload_close(struct upload *u)
{
    if (u->fd >= 0)
        close(u->fd);
    EVP_MD_CTX_free(u->md);
    free(u);
}

static void uploads_drop(ward_task_store *s, const char *task, const char *slot)
{
    struct upload **pp = &s->uploads;
    while (*pp != NULL) {
        struct upload *u = *pp;
        if (strcmp(u->task, task) == 0 && (slot == NULL || strcmp(u->slot, slot) == 0)) {
            *pp = u->next;
            upload_close(u);
        } else {
            pp = &u->next;
        }
    }
}

static struct upload *uploads_find(ward_task_store *s, const char *task, const char *slot)
{
    for (struct upload *u = s->uploads; u != NULL; u = u->next)
        if (strcmp(u->task, task) == 0 && strcmp(u->slot, slot) == 0)
            return u;
    return NULL;
}

static ward_err path_join(char *out, size_t cap, const char *dir, const char *task,
                          const char *leaf)
{
    int n = leaf != NULL ? snprintf(out, cap, "%s/%s/%s/%s", dir, BLOB_DIR, task, leaf)
                         : snprintf(out, cap, "%s/%s/%s", dir, BLOB_DIR, task);
    if (n < 0 || (size_t)n >= cap)
        return ward_err_set(WARD_ERR_OVERFLOW, "task store: path too long");
    return WARD_OK;
}

static ward_err ensure_task_dir(ward_task_store *s, const char *task)
{
    char p[PATH_CAP];
    ward_err err = path_join(p, sizeof p, s->dir, task, NULL);
    if (err != WARD_OK)
        return err;
    if (mkdir(p, 0700) != 0 && errno != EEXIST)
        return ward_err_set(WARD_ERR_IO, "task store: mkdir %s: %s", p, strerror(errno));
    return WARD_OK;
}

/* Writes one batch (iov, n entries, len bytes) at off, resuming after a partial write. */
static ward_err write_batch(int fd, struct iovec *iov, int n, size_t len, uint64_t off)
{
    while (len > 0) {
        ssize_t w = pwritev(fd, iov, n, (off_t)off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return ward_err_set(WARD_ERR_IO, "task store: write: %s",
                                w < 0 ? strerror(errno) : "no progress");
        size_t done = (size_t)w;
        len -= done;
        off += (uint64_t)done;
        while (n > 0 && done >= iov->iov_len) {
            done -= iov->iov_len;
            iov++;
            n--;
        }
        if (n > 0) {
            iov->iov_base = (uint8_t *)iov->iov_base + done;
            iov->iov_len -= done;
        }
    }
    return WARD_OK;
}

/* Writes the pieces at off and feeds them to md, in batches whose writeback starts at once
 * (durability comes from the caller's fdatasync; sync_file_range only starts it early). */
static ward_err write_pieces(int fd, const ward_task_piece *p, size_t n, uint64_t off,
                             EVP_MD_CTX *md, int start_writeback)
{
    size_t i = 0, used = 0; /* the next byte to write: p[i].data[used] */
    while (i < n) {
        struct iovec iov[WRITE_IOV];
        int k = 0;
        size_t len = 0;
        while (i < n && k < WRITE_IOV && len < WRITE_BATCH) {
            size_t take = p[i].len - used;
            if (take > WRITE_BATCH - len)
                take = WRITE_BATCH - len;
            if (take > 0) {
                iov[k].iov_base = (void *)(uintptr_t)(p[i].data + used);
                iov[k].iov_len = take;
                k++;
                len += take;
                used += take;
            }
            if (used == p[i].len) {
                i++;
                used = 0;
            }
        }
        if (len == 0)
            continue;
        /* hashed from a copy of the list: write_batch advances its own */
        struct iovec keep[WRITE_IOV];
        memcpy(keep, iov, (size_t)k * sizeof iov[0]);
        ward_err err = write_batch(fd, iov, k, len, off);
        if (err != WARD_OK)
            return err;
        if (start_writeback)
            (void)sync_file_range(fd, (off_t)off, (off_t)len, SYNC_FILE_RANGE_WRITE);
        for (int j = 0; j < k; j++)
            if (EVP_DigestUpdate(md, keep[j].iov_base, keep[j].iov_len) != 1)
                return ward_err_set(WARD_ERR_CRYPTO, "task store: SHA-256 failed");
        off += (uint64_t)len;
    }
    return WARD_OK;
}

static ward_err write_all(int fd, const uint8_t *data, size_t len, uint64_t off)
{
    while (len > 0) {
        ssize_t w = pwrite(fd, data, len, (off_t)off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return ward_err_set(WARD_ERR_IO, "task store: write: %s",
                                w < 0 ? strerror(errno) : "no progress");
        data += (size_t)w;
        len -= (size_t)w;
        off += (uint64_t)w;
    }
    return WARD_OK;
}

/* Opens the slot's file for appending at `bytes`, cutting off a partly written chunk and
 * re-hashing the stored prefix, which must match the recorded SHA-256. */
static ward_err upload_open(ward_task_store *s, const char *task, const char *slot,
                            const char *path, uint64_t bytes, const uint8_t sha[32],
                            struct upload **out)
{
    ward_err err = ensure_task_dir(s, task);
    if (err != WARD_OK)
        return err;
    struct upload *u = calloc(1, sizeof *u);
    if (u == NULL)
        return ward_err_set(WARD_ERR_NOMEM, "task store: out of memory");
    u->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    u->md = EVP_MD_CTX_new();
    snprintf(u->task, sizeof u->task, "%s", task);
    snprintf(u->slot, sizeof u->slot, "%s", slot);
    struct stat st;
    if (u->fd < 0 || fstat(u->fd, &st) != 0) {
        err = ward_err_set(WARD_ERR_IO, "task store: open %s: %s", path, strerror(errno));
    } else if (u->md == NULL || EVP_DigestInit_ex(u->md, EVP_sha256(), NULL) != 1) {
        err = ward_err_set(WARD_ERR_CRYPTO, "task store: SHA-256 init failed");
    } else if ((uint64_t)st.st_size < bytes) {
        err = ward_err_set(WARD_ERR_VERIFY,
                           "task store: %s holds %lld bytes, fewer than the %llu recorded", path,
                           (long long)st.st_size, (unsigned long long)bytes);
    } else if ((uint64_t)st.st_size > bytes && ftruncate(u->fd, (off_t)bytes) != 0) {
        err = ward_err_set(WARD_ERR_IO, "task store: truncate %s: %s", path, strerror(errno));
    }
    uint8_t *buf = err == WARD_OK ? malloc(65536) : NULL;
    if (err == WARD_OK && buf == NULL)
        err = ward_err_set(WARD_ERR_NOMEM, "task store: out of memory");
    uint64_t off = 0;
    while (err == WARD_OK && off < bytes) {
        size_t want = bytes - off < 65536 ? (size_t)(bytes - off) : 65536;
        ssize_t r = pread(u->fd, buf, want, (off_t)off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            err = ward_err_set(WARD_ERR_IO, "task store: read %s: %s", path,
                               r < 0 ? strerror(errno) : "unexpected end");
        else if (EVP_DigestUpdate(u->md, buf, (size_t)r) != 1)
            err = ward_err_set(WARD_ERR_CRYPTO, "task store: SHA-256 failed");
        else
            off += (uint64_t)r;
    }
    free(buf);
    if (err == WARD_OK) {
        uint8_t got[32];
        EVP_MD_CTX *c = EVP_MD_CTX_new();
        unsigned int gl = 0;
        if (c == NULL || EVP_MD_CTX_copy_ex(c, u->md) != 1 || EVP_DigestFinal_ex(c, got, &gl) != 1)
            err = ward_err_set(WARD_ERR_CRYPTO, "task store: SHA-256 failed");
        else if (memcmp(got, sha, 32) != 0)
            err = ward_err_set(WARD_ERR_VERIFY,
                               "task store: the stored ciphertext of slot \"%s\" no longer "
                               "matches its recorded SHA-256: upload cannot resume", slot);
        EVP_MD_CTX_free(c);
    }
    if (err != WARD_OK) {
        upload_close(u);
        return err;
    }
    u->next = s->uploads;
    s->uploads = u;
    *out = u;
    return WARD_OK;
}

/* ---- loading a task ---------------------------------------------------------------------------- */

typedef struct row {
    ward_task_state state;
    int64_t created_at, updated_at, final_at, expires_at;
    char reason[WARD_TASK_REASON_MAX + 1];
    ward_task_manifest *m;
} row;

static ward_err load(ward_task_store *s, const char *id, row *r, int want_manifest)
{
    memset(r, 0, sizeof *r);
    if (!wtask_id_valid(id))
        return ward_err_set(WARD_ERR_INVALID_ARG, "task store: not a task id (32 hex digits)");
    sqlite3_stmt *st = NULL;
    ward_err err = prep(s,
                        "SELECT state, reason, created_at, updated_at, final_at, expires_at, "
                        "envelope FROM tasks WHERE task_id = ?1",
                        &st);
    if (err != WARD_OK)
        return err;
    bind_text(st, 1, id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        err = ward_err_set(WARD_ERR_NOT_FOUND, "task store: no task %s", id);
    } else if (rc != SQLITE_ROW) {
        err = db_fail(s, "read task");
    } else if (!state_parse(sqlite3_column_text(st, 0), &r->state)) {
        err = ward_err_set(WARD_ERR_FORMAT, "task store: task %s has an unknown state", id);
    } else {
        const unsigned char *reason = sqlite3_column_text(st, 1);
        snprintf(r->reason, sizeof r->reason, "%s", reason != NULL ? (const char *)reason : "");
        r->created_at = sqlite3_column_int64(st, 2);
        r->updated_at = sqlite3_column_int64(st, 3);
        r->final_at = sqlite3_column_int64(st, 4);
        r->expires_at = sqlite3_column_int64(st, 5);
        if (want_manifest) {
            const char *env = (const char *)sqlite3_column_text(st, 6);
            int n = sqlite3_column_bytes(st, 6);
            if (env == NULL || n <= 0)
                err = ward_err_set(WARD_ERR_FORMAT, "task store: task %s has no envelope", id);
            else
                err = ward_task_envelope_parse(env, (size_t)n, &r->m);
        }
    }
    sqlite3_finalize(st);
    return err;
}

static ward_err count_rows(ward_task_store *s, const char *sql, const char *id, int64_t *out)
{
    sqlite3_stmt *st = NULL;
    ward_err err = prep(s, sql, &st);
    if (err != WARD_OK)
        return err;
    bind_text(st, 1, id);
    if (sqlite3_step(st) == SQLITE_ROW)
        *out = sqlite3_column_int64(st, 0);
    else
        err = db_fail(s, "count");
    sqlite3_finalize(st);
    return err;
}

/* ---- transitions --------------------------------------------------------------------------------- */

/* Records from -> to inside the caller's transaction (state row, transitions row, audit). */
static ward_err record_transition(ward_task_store *s, const char *id, int has_from,
                                  ward_task_state from, ward_task_state to, const char *reason,
                                  const char *actor)
{
    int64_t now = now_of(s);
    const char *why = reason != NULL ? reason : "";
    sqlite3_stmt *st = NULL;
    ward_err err;
    if (has_from) {
        err = prep(s,
                   "UPDATE tasks SET state = ?1, reason = ?2, updated_at = ?3, final_at = ?4 "
                   "WHERE task_id = ?5 AND state = ?6",
                   &st);
        if (err != WARD_OK)
            return err;
        bind_text(st, 1, state_names[to]);
        bind_text(st, 2, why);
        sqlite3_bind_int64(st, 3, now);
        sqlite3_bind_int64(st, 4, ward_task_state_is_final(to) ? now : 0);
        bind_text(st, 5, id);
        bind_text(st, 6, state_names[from]);
        int rc = sqlite3_step(st);
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE)
            return db_fail(s, "update state");
        if (sqlite3_changes(s->db) != 1)
            return ward_err_set(WARD_ERR_STATE, "task store: task %s changed state meanwhile",
                                id);
    }
    if ((err = prep(s,
                    "INSERT INTO task_transitions (task_id, from_state, to_state, reason, actor, "
                    "at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    &st)) != WARD_OK)
        return err;
    bind_text(st, 1, id);
    if (has_from)
        bind_text(st, 2, state_names[from]);
    else
        sqlite3_bind_null(st, 2);
    bind_text(st, 3, state_names[to]);
    bind_text(st, 4, why);
    bind_text(st, 5, actor != NULL ? actor : "node");
    sqlite3_bind_int64(st, 6, now);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return db_fail(s, "record transition");
    json_t *d = json_pack("{s:s?,s:s,s:s}", "from", has_from ? state_names[from] : NULL, "to",
                          state_names[to], "reason", why);
    if (d == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "task store: reason is not valid UTF-8");
    return audit(s, actor, "task.transition", id, WARD_AUDIT_SUCCESS, d);
}

/* Deletes the slot files of a final task whose retention is due (delete-on-done: now;
 * keep-days:N: N days after final_at). Outside any transaction; each deletion is recorded. */
static ward_err apply_retention(ward_task_store *s, const char *id, size_t *deleted)
{
    row r;
    ward_err err = load(s, id, &r, 1);
    if (err != WARD_OK)
        return err;
    uint32_t days = 0;
    ward_task_retention ret = ward_task_retention_of(r.m, &days);
    int due = ward_task_state_is_final(r.state) &&
              (ret == WARD_TASK_RETAIN_DELETE ||
               now_of(s) >= r.final_at + (int64_t)days * SECONDS_PER_DAY);
    ward_task_manifest_free(r.m);
    if (!due)
        return WARD_OK;
    uploads_drop(s, id, NULL);
    sqlite3_stmt *st = NULL;
    if ((err = prep(s, "SELECT slot, path FROM task_slots WHERE task_id = ?1 AND deleted = 0",
                    &st)) != WARD_OK)
        return err;
    bind_text(st, 1, id);
    char slots[WARD_TASK_MAX_SLOTS][WARD_TASK_SLOT_NAME_MAX + 1];
    size_t n = 0;
    int rc;
    while (err == WARD_OK && (rc = sqlite3_step(st)) == SQLITE_ROW && n < WARD_TASK_MAX_SLOTS) {
        const char *slot = (const char *)sqlite3_column_text(st, 0);
        const char *path = (const char *)sqlite3_column_text(st, 1);
        if (slot == NULL || path == NULL)
            continue;
        if (unlink(path) != 0 && errno != ENOENT)
            err = ward_err_set(WARD_ERR_IO, "task store: delete %s: %s", path, strerror(errno));
        else
            snprintf(slots[n++], sizeof slots[0], "%s", slot);
    }
    sqlite3_finalize(st);
    for (size_t i = 0; i < n; i++) {
        if ((err = begin(s)) != WARD_OK)
            return err;
        if ((err = prep(s,
                        "UPDATE task_slots SET deleted = 1 WHERE task_id = ?1 AND slot = ?2",
                        &st)) == WARD_OK) {
            bind_text(st, 1, id);
            bind_text(st, 2, slots[i]);
            if (sqlite3_step(st) != SQLITE_DONE)
                err = db_fail(s, "mark deleted");
            sqlite3_finalize(st);
        }
        if (err == WARD_OK)
            err = audit(s, NULL, "task.ciphertext.delete", id, WARD_AUDIT_SUCCESS,
                        json_pack("{s:s,s:s}", "slot", slots[i], "retention",
                                  ret == WARD_TASK_RETAIN_DELETE ? "delete-on-done"
                                                                 : "keep-days"));
        if (err == WARD_OK)
            err = commit(s);
        if (err != WARD_OK) {
            rollback(s);
            return err;
        }
        if (deleted != NULL)
            (*deleted)++;
    }
    return err;
}

static ward_err guard(ward_task_store *s, const char *id, const row *r, ward_task_state to,
                      const char *reason)
{
    int64_t now = now_of(s);
    int64_t n = 0;
    ward_err err;
    switch (to) {
    case WARD_TASK_APPROVED:
        if ((err = ward_task_verify_signatures(r->m)) != WARD_OK)
            return ward_err_wrap(err, "cannot approve");
        if (now >= r->expires_at)
            return ward_err_set(WARD_ERR_STATE,
                                "task %s expired at %lld (now %lld): cannot approve", id,
                                (long long)r->expires_at, (long long)now);
        return WARD_OK;
    case WARD_TASK_RUNNING:
        if ((err = count_rows(s,
                              "SELECT count(*) FROM task_slots WHERE task_id = ?1 AND "
                              "complete = 0",
                              id, &n)) != WARD_OK)
            return err;
        if (n > 0)
            return ward_err_set(WARD_ERR_STATE,
                                "task %s: %lld input slot(s) not uploaded yet: cannot run", id,
                                (long long)n);
        if (now >= r->expires_at)
            return ward_err_set(WARD_ERR_STATE, "task %s has expired: cannot run", id);
        return WARD_OK;
    case WARD_TASK_DONE:
        if ((err = count_rows(s, "SELECT count(*) FROM task_results WHERE task_id = ?1", id,
                              &n)) != WARD_OK)
            return err;
        if ((uint64_t)n < ward_task_recipient_count(r->m))
            return ward_err_set(WARD_ERR_STATE,
                                "task %s: results stored for %lld of %zu recipients: not done",
                                id, (long long)n, ward_task_recipient_count(r->m));
        return WARD_OK;
    case WARD_TASK_FAILED:
        if (reason == NULL || reason[0] == '\0')
            return ward_err_set(WARD_ERR_INVALID_ARG, "task %s: failing needs a reason", id);
        return WARD_OK;
    case WARD_TASK_CANCELLED:
        if ((err = count_rows(s, "SELECT count(*) FROM task_votes WHERE task_id = ?1", id,
                              &n)) != WARD_OK)
            return err;
        if ((uint64_t)n < ward_task_cancel_quorum(r->m))
            return ward_err_set(WARD_ERR_STATE,
                                "task %s: %lld of %u cancel votes: quorum not reached", id,
                                (long long)n, ward_task_cancel_quorum(r->m));
        return WARD_OK;
    case WARD_TASK_EXPIRED:
        if (now < r->expires_at)
            return ward_err_set(WARD_ERR_STATE, "task %s expires at %lld, not yet (now %lld)",
                                id, (long long)r->expires_at, (long long)now);
        return WARD_OK;
    default:
        return WARD_OK;
    }
}

/* The transition, in its own transaction; the caller holds the mutex. */
static ward_err transition_locked(ward_task_store *s, const char *id, ward_task_state to,
                                  const char *reason, const char *actor)
{
    if ((unsigned)to >= WARD_TASK_STATE__COUNT)
        return ward_err_set(WARD_ERR_INVALID_ARG, "task store: unknown state");
    if (reason != NULL && strlen(reason) > WARD_TASK_REASON_MAX)
        return ward_err_set(WARD_ERR_INVALID_ARG, "task store: reason longer than %u bytes",
                            WARD_TASK_REASON_MAX);
    ward_err err = begin(s);
    if (err != WARD_OK)
        return err;
    row r;
    if ((err = load(s, id, &r, 1)) == WARD_OK) {
        if (!ward_task_transition_allowed(r.state, to))
            err = ward_err_set(WARD_ERR_STATE, "task %s: illegal transition %s -> %s", id,
                               state_names[r.state], state_names[to]);
        else if ((err = guard(s, id, &r, to, reason)) == WARD_OK)
            err = record_transition(s, id, 1, r.state, to, reason, actor);
    }
    ward_task_manifest_free(r.m);
    if (err == WARD_OK)
        err = commit(s);
    if (err != WARD_OK) {
        rollback(s);
        return err;
    }
    if (ward_task_state_is_final(to)) {
        uploads_drop(s, id, NULL);
        err = apply_retention(s, id, NULL);
    }
    return err;
}

ward_err ward_task_transition(ward_task_store *s, const char *task_id, ward_task_state to,
                              const char *reason, const char *actor)
{
    if (s == NULL || task_id == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "task store: NULL argument");
    pthread_mutex_lock(&s->mu);
    ward_err err = transition_locked(s, task_id, to, reason, actor);
    pthread_mutex_unlock(&s->mu);
    return err;
}

/* ---- open / close ---------------------------------------------------------------------------- */

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS tasks ("
    " task_id TEXT PRIMARY KEY NOT NULL, digest BLOB NOT NULL, envelope TEXT NOT NULL,"
    " state TEXT NOT NULL, reason TEXT NOT NULL DEFAULT '', created_at INTEGER NOT NULL,"
    " updated_at INTEGER NOT NULL, final_at INTEGER NOT NULL DEFAULT 0,"
    " expires_at INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS tasks_state ON tasks (state);"
    "CREATE TABLE IF NOT EXISTS task_transitions ("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT, task_id TEXT NOT NULL, from_state TEXT,"
    " to_state TEXT NOT NULL, reason TEXT NOT NULL, actor TEXT NOT NULL, at INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS task_transitions_task ON task_transitions (task_id);"
    "CREATE TRIGGER IF NOT EXISTS task_transitions_no_update BEFORE UPDATE ON task_transitions"
    " BEGIN SELECT RAISE(ABORT, 'task_transitions is append-only'); END;"
    "CREATE TRIGGER IF NOT EXISTS task_transitions_no_delete BEFORE DELETE ON task_transitions"
    " BEGIN SELECT RAISE(ABORT, 'task_transitions is append-only'); END;"
    "CREATE TABLE IF NOT EXISTS task_slots ("
    " task_id TEXT NOT NULL, slot TEXT NOT NULL, bytes INTEGER NOT NULL DEFAULT 0,"
    " chunks INTEGER NOT NULL DEFAULT 0, sha256 BLOB NOT NULL, path TEXT NOT NULL,"
    " complete INTEGER NOT NULL DEFAULT 0, deleted INTEGER NOT NULL DEFAULT 0,"
    " PRIMARY KEY (task_id, slot));"
    "CREATE TABLE IF NOT EXISTS task_results ("
    " task_id TEXT NOT NULL, recipient BLOB NOT NULL, bytes INTEGER NOT NULL,"
    " sha256 BLOB NOT NULL, path TEXT NOT NULL, PRIMARY KEY (task_id, recipient));"
    "CREATE TABLE IF NOT EXISTS task_votes ("
    " task_id TEXT NOT NULL, voter BLOB NOT NULL, at INTEGER NOT NULL,"
    " PRIMARY KEY (task_id, voter));"
    "PRAGMA user_version = 1;";

static ward_err create_schema(ward_task_store *s)
{
    const char *sql = schema;
    ward_err err = begin(s);
    while (err == WARD_OK && *sql != '\0') {
        sqlite3_stmt *st = NULL;
        const char *tail = NULL;
        if (sqlite3_prepare_v2(s->db, sql, -1, &st, &tail) != SQLITE_OK) {
            err = db_fail(s, "schema");
            break;
        }
        if (st != NULL && sqlite3_step(st) != SQLITE_DONE)
            err = db_fail(s, "schema");
        sqlite3_finalize(st);
        sql = tail;
    }
    if (err == WARD_OK)
        err = commit(s);
    if (err != WARD_OK)
        rollback(s);
    return err;
}

/* Crash recovery: every `running` task becomes `failed`. */
static ward_err recover(ward_task_store *s)
{
    for (;;) {
        sqlite3_stmt *st = NULL;
        ward_err err = prep(s, "SELECT task_id FROM tasks WHERE state = 'running' LIMIT 1", &st);
        if (err != WARD_OK)
            return err;
        char id[WARD_TASK_ID_HEX_LEN + 1] = "";
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW && sqlite3_column_text(st, 0) != NULL)
            snprintf(id, sizeof id, "%s", (const char *)sqlite3_column_text(st, 0));
        sqlite3_finalize(st);
        if (rc == SQLITE_DONE)
            return WARD_OK;
        if (rc != SQLITE_ROW || !wtask_id_valid(id))
            return db_fail(s, "recovery");
        if ((err = transition_locked(s, id, WARD_TASK_FAILED, WARD_TASK_REASON_RESTART,
                                     NULL)) != WARD_OK)
            return ward_err_wrap(err, "task store: recovery of task %s", id);
        s->recovered++;
    }
}

ward_err ward_task_store_open(const char *dir, const ward_task_store_options *opts,
                              ward_task_store **out)
{
    if (dir == NULL || out == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "task store: NULL argument");
    *out = NULL;
    if (strlen(dir) > PATH_CAP - 128)
        return ward_err_set(WARD_ERR_OVERFLOW, "task store: directory path too long");
    ward_task_store *s = calloc(1, sizeof *s);
    if (s == NULL)
        return ward_err_set(WARD_ERR_NOMEM, "task store: out of memory");
    pthread_mutex_init(&s->mu, NULL);
    snprintf(s->dir, sizeof s->dir, "%s", dir);
    s->lock_fd = -1;
    if (opts != NULL) {
        s->audit = opts->audit;
        s->now = opts->now;
        s->clock_arg = opts->clock_arg;
        s->no_fsync = opts->no_fsync;
    }
    char p[PATH_CAP];
    ward_err err = WARD_OK;
    snprintf(p, sizeof p, "%s/%s", dir, LOCK_FILE);
    s->lock_fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (s->lock_fd < 0) {
        err = ward_err_set(WARD_ERR_IO, "task store: open %s: %s", p, strerror(errno));
        goto fail;
    }
    if (flock(s->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        err = ward_err_set(WARD_ERR_STATE, "task store: %s is in use by another process", dir);
        goto fail;
    }
    snprintf(p, sizeof p, "%s/%s", dir, BLOB_DIR);
    if (mkdir(p, 0700) != 0 && errno != EEXIST) {
        err = ward_err_set(WARD_ERR_IO, "task store: mkdir %s: %s", p, strerror(errno));
        goto fail;
    }
    snprintf(p, sizeof p, "%s/%s", dir, DB_FILE);
    {
        int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0) {
            err = ward_err_set(WARD_ERR_IO, "task store: open %s: %s", p, strerror(errno));
            goto fail;
        }
        close(fd);
    }
    if (sqlite3_open_v2(p, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        err = ward_err_set(WARD_ERR_IO, "task store: open %s: %s", p,
                           s->db != NULL ? sqlite3_errmsg(s->db) : "out of memory");
        goto fail;
    }
    sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
    if ((err = exec1(s, "PRAGMA journal_mode=WAL")) != WARD_OK ||
        (err = exec1(s, "PRAGMA synchronous=FULL")) != WARD_OK ||
        (err = exec1(s, "PRAGMA foreign_keys=ON")) != WARD_OK ||
        (err = create_schema(s)) != WARD_OK || (err = recover(s)) != WARD_OK)
        goto fail;
    *out = s;
    return WARD_OK;
fail:
    ward_task_store_close(s);
    return err;
}

void ward_task_store_close(ward_task_store *s)
{
    if (s == NULL)
        return;
    while (s->uploads != NULL) {
        struct upload *u = s->uploads;
        s->uploads = u->next;
        upload_close(u);
    }
    if (s->db != NULL)
        sqlite3_close(s->db);
    if (s->lock_fd >= 0)
        close(s->lock_fd); /* releases the flock */
    pthread_mutex_destroy(&s->mu);
    free(s);
}

size_t ward_task_store_recovered(const ward_task_store *s) { return s != NULL ? s->recovered : 0; }

/* ---- tasks --------------------------------------------------------------------------------------- */

static ward_err create_locked(ward_task_store *s, const char *envelope, size_t len,
                              const char *actor)
{
    ward_task_manifest *m = NULL;
    ward_err err = ward_task_envelope_parse(envelope, len, &m);
    if (err != WARD_OK)
        return err;
    if ((err = wtask_verify_present(m)) != WARD_OK) {
        ward_task_manifest_free(m);
        return err;
    }
    char *canon = NULL;
    size_t canon_len = 0;
    if ((err = ward_task_envelope_serialize(m, &canon, &canon_len)) != WARD_OK) {
        ward_task_manifest_free(m);
        return err;
    }
    const char *id = ward_task_id(m);
    uint8_t digest[WARD_TASK_HASH_LEN], empty[WARD_TASK_HASH_LEN];
    ward_task_manifest_digest(m, digest);
    (void)ward_hash(WARD_HASH_SHA256, "", 0, empty);
    int64_t now = now_of(s);
    sqlite3_stmt *st = NULL;
    if ((err = begin(s)) != WARD_OK)
        goto out;
    if ((err = prep(s,
                    "INSERT INTO tasks (task_id, digest, envelope, state, created_at, "
                    "updated_at, expires_at) VALUES (?1, ?2, ?3, 'created', ?4, ?4, ?5)",
                    &st)) != WARD_OK)
        goto out;
    bind_text(st, 1, id);
    sqlite3_bind_blob(st, 2, digest, sizeof digest, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, canon, (int)canon_len, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 4, now);
    sqlite3_bind_int64(st, 5, ward_task_expires_at(m));
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc == SQLITE_CONSTRAINT) {
        err = ward_err_set(WARD_ERR_EXISTS, "task store: task %s already exists", id);
        goto out;
    }
    if (rc != SQLITE_DONE) {
        err = db_fail(s, "insert task");
        goto out;
    }
    for (size_t i = 0; i < ward_task_slot_count(m) && err == WARD_OK; i++) {
        ward_task_slot_desc d;
        char leaf[WARD_TASK_SLOT_NAME_MAX + 8], path[PATH_CAP];
        (void)ward_task_slot_at(m, i, &d);
        snprintf(leaf, sizeof leaf, "%s.ct", d.name);
        if ((err = path_join(path, sizeof path, s->dir, id, leaf)) != WARD_OK)
            break;
        if ((err = prep(s,
                        "INSERT INTO task_slots (task_id, slot, sha256, path) "
                        "VALUES (?1, ?2, ?3, ?4)",
                        &st)) != WARD_OK)
            break;
        bind_text(st, 1, id);
        bind_text(st, 2, d.name);
        sqlite3_bind_blob(st, 3, empty, sizeof empty, SQLITE_TRANSIENT);
        bind_text(st, 4, path);
        if (sqlite3_step(st) != SQLITE_DONE)
            err = db_fail(s, "insert slot");
        sqlite3_finalize(st);
    }
    if (err == WARD_OK)
        err = record_transition(s, id, 0, WARD_TASK_CREATED, WARD_TASK_CREATED, "created",
                                actor);
    if (err == WARD_OK)
        err = commit(s);
out:
    if (err != WARD_OK)
        rollback(s);
    free(canon);
    ward_task_manifest_free(m);
    return err;
}

ward_err ward_task_store_create(ward_task_store *s, const char *envelope, size_t len,
                                const char *actor)
{
    if (s == NULL || envelope == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "task store: NULL argument");
    pthread_mutex_lock(&s->mu);
    ward_err err = create_locked(s, envelope, len, actor);
    pthread_mutex_unlock(&s->mu);
    return err;
}

static ward_err add_sigs_locked(ward_task_store *s, const char *id, const char *envelope,
                                size_t len, const char *actor)
{
    ward_task_manifest *other = NULL;
    ward_err err = ward_task_envelope_parse(envelope, len, &other);
    if (err != WARD_OK)
        return err;
    row r;
    char *canon = NULL;
    size_t canon_len = 0, added = 0;
    if ((err = begin(s)) != WARD_OK) {
        ward_task_manifest_free(other);
        return err;
    }
    if ((err = load(s, id, &r, 1)) != WARD_OK)
        goto out;
    if (r.state != WARD_TASK_CREATED) {
        err = ward_err_set(WARD_ERR_STATE, "task %s is %s: signatures are only taken while created",
                           id, state_names[r.state]);
        goto out;
    }
    if ((err = wtask_merge_signatures(r.m, other, &added)) != WARD_OK ||
        (err = ward_task_envelope_serialize(r.m, &canon, &canon_len)) != WARD_OK)
        goto out;
    sqlite3_stmt *st = NULL;
    if ((err = prep(s, "UPDATE tasks SET envelope = ?1, updated_at = ?2 WHERE task_id = ?3",
                    &st)) != WARD_OK)
        goto out;
    sqlite3_bind_text(st, 1, canon, (int)canon_len, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, now_of(s));
    bind_text(st, 3, id);
    if (sqlite3_step(st) != SQLITE_DONE)
        err = db_fail(s, "update envelope");
    sqlite3_finalize(st);
    if (err == WARD_OK && added > 0)
        err = audit(s, actor, "task.sign", id, WARD_AUDIT_SUCCESS,
                    json_pack("{s:I}", "signatures_added", (json_int_t)added));
    if (err == WARD_OK)
        err = commit(s);
out:
    if (err != WARD_OK)
        rollback(s);
    free(canon);
    ward_task_manifest_free(r.m);
    ward_task_manifest_free(other);
    return err;
}

ward_err ward_task_store_add_signatures(ward_task_store *s, const char *task_id,
                                        const char *envelope, size_t len, const char *actor)
{
    if (s == NULL || task_id == NULL || envelope == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "task store: NULL argument");
    pthread_mutex_lock(&s->mu);
    ward_err err = add_sigs_locked(s, task_id, envelope, len, actor);
    pthread_mutex_unlock(&s->mu);
    return err;
}

ward_err ward_task_store_manifest(ward_task_store *s, const char *task_id,
                                  ward_task_manifest **out)
{
    if (s == NULL || task_id == NULL || out == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "task store: NULL argument");
    *out = NULL;
    pthread_mutex_lock(&s->mu);
    row r;
    ward_err err = load(s, task_id, &r, 1);
    pthread_mutex_unlock(&s->mu);
    if (err == WARD_OK)
        *out = r.m;
    else
        ward_task_manifest_free(r.m);
    return err;
}

ward_err ward_task_store_info(ward_task_store *s, const char *task_id, ward_task_info *out)
{
    if (s == NULL || task_id == NULL || out == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "task store: NULL argument");
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&s->mu);
    row r;
    int64_t votes = 0, trans = 0;
    ward_err err = load(s, task_id, &r, 1);
    if (err == WARD_OK)
        err = count_rows(s, "SELECT count(*) FROM task_votes WHERE task_id = ?1", task_id,
                         &votes);
    if (err == WARD_OK)
        err = count_rows(s, "SELECT count(*) FROM task_transitions WHERE task_id = ?1", task_id,
                         &trans);
    pthread_mutex_unlock(&s->mu);
    if (err == WARD_OK) {
        out->state = r.state;
        memcpy(out->reason, r.reason, sizeof out->reason);
        out->created_at = r.created_at;
        out->updated_at = r.updated_at;
        out->final_at = r.final_at;
        out->expires_at = r.expires_at;
        out->cancel_votes = (uint32_t)votes;
        out->cancel_quorum = ward_task_cancel_quorum(r.m);
        out->transitions = (uint32_t)trans;
    }
    ward_task_manifest_free(r.m);
    return err;
}

/* ---- slots --------------------------------------------------------------------------------------- */

typedef struct slot_row {
    uint64_t bytes, chunks;
    uint8_t sha[32];
    int complete, deleted;
    char path[PATH_CAP];
} slot_row;

static ward_err load_slot(ward_task_store *s, const char *id, const char *slot, slot_row *out)
{
    memset(out, 0, sizeof *out);
    sqlite3_stmt *st = NULL;
    ward_err err = prep(s,
                        "SELECT bytes, chunks, sha256, complete, deleted, path FROM task_slots "
                        "WHERE task_id = ?1 AND slot = ?2",
                        &st);
    if (err != WARD_OK)
        return err;
    bind_text(st, 1, id);
    bind_text(st, 2, slot);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const void *sha = sqlite3_column_blob(st, 2);
        const unsigned char *path = sqlite3_column_text(st, 5);
        if (sha == NULL || sqlite3_column_bytes(st, 2) != 32 || path == NULL) {
            err = ward_err_set(WARD_ERR_FORMAT, "task store: slot row damaged");
        } else {
            out->bytes = (uint64_t)sqlite3_column_int64(st, 0);
            out->chunks = (uint64_t)sqlite3_column_int64(st, 1);
            memcpy(out->sha, sha, 32);
            out->complete = sqlite3_column_int(st, 3) != 0;
            out->deleted = sqlite3_column_int(st, 4) != 0;
            snprintf(out->path, sizeof out->path, "%s", (const char *)path);
        }
    } else if (rc == SQLITE_DONE) {
        err = ward_err_set(WARD_ERR_NOT_FOUND, "task %s has no slot \"%.64s\"", id, slot);
    } else {
        err = db_fail(s, "read slot");
    }
    sqlite3_finalize(st);
    return err;
}

static ward_err append_locked(ward_task_store *s, const char *id, const char *slot,
                              const uint8_t uploader[32], uint64_t index,
                              const ward_task_piece *pieces, size_t n_pieces)
{
    size_t len = 0;
    for (size_t i = 0; i < n_pieces; i++) {
        if (pieces[i].len > CHUNK_MAX || len > CHUNK_MAX - pieces[i].len ||
            (pieces[i].len > 0 && pieces[i].data == NULL))
            return ward_err_set(WARD_ERR_INVALID_ARG, "task store: chunk larger than 2^30 "
                                                      "bytes or without data");
        len += pieces[i].len;
    }
    if (len == 0)
        return ward_err_set(WARD_ERR_INVALID_ARG, "task store: chunk of %zu bytes (1 .. 2^30)",
                            len);
    ward_err err = begin(s);
    if (err != WARD_OK)
        return err;
    row r;
    slot_row sr;
    struct upload *u = uploads_find(s, id, slot);
    int checked = u != NULL && u->checked && memcmp(u->owner, uploader, 32) == 0;
    uint64_t max_bytes = checked ? u->max_bytes : 0;
    if ((err = load(s, id, &r, !checked)) != WARD_OK)
        goto out;
    if (!checked) {
        ward_task_slot_desc d;
        if ((err = ward_task_may_upload(r.m, slot, uploader)) != WARD_OK) {
            if (err == WARD_ERR_PERMISSION)
                (void)audit(s, NULL, "task.upload", id, WARD_AUDIT_DENIED,
                            json_pack("{s:s,s:s}", "slot", slot, "reason",
                                      "not the slot's owner"));
            goto out;
        }
        (void)ward_task_slot_find(r.m, slot, &d);
        max_bytes = d.max_bytes;
    }
    if (r.state != WARD_TASK_COLLECTING) {
        err = ward_err_set(WARD_ERR_STATE, "task %s is %s: inputs are taken only while collecting",
                           id, state_names[r.state]);
        goto out;
    }
    if ((err = load_slot(s, id, slot, &sr)) != WARD_OK)
        goto out;
    if (sr.complete) {
        err = ward_err_set(WARD_ERR_STATE, "task %s slot \"%s\": upload already finished", id,
                           slot);
        goto out;
    }
    if (index < sr.chunks) {
        err = ward_err_set(WARD_ERR_EXISTS, "task %s slot \"%s\": chunk %llu already stored "
                           "(resume at %llu)", id, slot, (unsigned long long)index,
                           (unsigned long long)sr.chunks);
        goto out;
    }
    if (index > sr.chunks) {
        err = ward_err_set(WARD_ERR_STATE, "task %s slot \"%s\": chunk %llu out of order "
                           "(expected %llu)", id, slot, (unsigned long long)index,
                           (unsigned long long)sr.chunks);
        goto out;
    }
    if (len > max_bytes || sr.bytes > max_bytes - len) {
        err = ward_err_set(WARD_ERR_LIMIT, "task %s slot \"%s\": more than its max_bytes %llu",
                           id, slot, (unsigned long long)max_bytes);
        goto out;
    }
    if (u == NULL && (err = upload_open(s, id, slot, sr.path, sr.bytes, sr.sha, &u)) != WARD_OK)
        goto out;
    if (!checked) {
        u->checked = 1;
        memcpy(u->owner, uploader, 32);
        u->max_bytes = max_bytes;
    }
    uint8_t sha[32];
    unsigned int sl = 0;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    /* The data is durable (fdatasync) before the new length is committed: a crash between the
     * two leaves bytes beyond the recorded length, which the next append cuts off. */
    if ((err = write_pieces(u->fd, pieces, n_pieces, sr.bytes, u->md, !s->no_fsync)) ==
            WARD_OK &&
        !s->no_fsync && fdatasync(u->fd) != 0)
        err = ward_err_set(WARD_ERR_IO, "task store: fdatasync: %s", strerror(errno));
    if (err == WARD_OK &&
        (c == NULL || EVP_MD_CTX_copy_ex(c, u->md) != 1 || EVP_DigestFinal_ex(c, sha, &sl) != 1))
        err = ward_err_set(WARD_ERR_CRYPTO, "task store: SHA-256 failed");
    EVP_MD_CTX_free(c);
    if (err == WARD_OK) {
        sqlite3_stmt *st = NULL;
        if ((err = prep(s,
                        "UPDATE task_slots SET bytes = ?1, chunks = ?2, sha256 = ?3 "
                        "WHERE task_id = ?4 AND slot = ?5",
                        &st)) == WARD_OK) {
            sqlite3_bind_int64(st, 1, (sqlite3_int64)(sr.bytes + len));
            sqlite3_bind_int64(st, 2, (sqlite3_int64)(sr.chunks + 1));
            sqlite3_bind_blob(st, 3, sha, 32, SQLITE_TRANSIENT);
            bind_text(st, 4, id);
            bind_text(st, 5, slot);
            if (sqlite3_step(st) != SQLITE_DONE)
                err = db_fail(s, "update slot");
            sqlite3_finalize(st);
        }
    }
    if (err == WARD_OK)
        err = commit(s);
    if (err != WARD_OK)
        uploads_drop(s, id, slot); /* the file and hash are re-derived from the database */
out:
    if (err != WARD_OK)
        rollback(s);
    ward_task_manifest_free(r.m);
    return err;
}

ward_err ward_task_slot_append(ward_task_store *s, const char *task_id, const char *slot,
                               const uint8_t uploader[WARD_TASK_HASH_LEN], uint64_t index,
                               const uint8_t *data, size_t len)
{
    ward_task_piece one = {data, len};
    return ward_task_slot_append_pieces(s, task_id, slot, uploader, index, &one, 1);
}

ward_err ward_task_slot_append_pieces(ward_task_store *s, const char *task_id, const char *slot,
                                      const uint8_t uploader[WARD_TASK_HASH_LEN], uint64_t index,
                                      const ward_task_piece *pieces, size_t n)
{
    if (s == NULL || task_id == NULL || slot == NULL || uploader == NULL ||
        (pieces == NULL && n > 0))
        return ward_err_set(WARD_ERR_INVALID_ARG, "task store: NULL argument");
    pthread_mutex_lock(&s->mu);
    ward_err err = append_locked(s, task_id, slot, uploader, index, pieces, n);
    pthread_mutex_unlock(&s->mu);
    return err;
}

static ward_err finish_locked(ward_task_store *s, const char *id, const char *slot,
                              const uint8_t uploader[32])
{
    ward_err err = begin(s);
    if (err != WARD_OK)
        return err;
    row r;
    slot_row sr;
    if ((err = load(s, id, &r, 1)) != WARD_OK ||
        (err = ward_task_may_upload(r.m, slot, uploader)) != WARD_OK)
        goto out;
    if (r.state != WARD_TASK_COLLECTING) {
        err = ward_err_set(WARD_ERR_STATE, "task %s is %s: inputs are taken only while collecting",
                           id, state_names[r.state]);
        goto out;
    }
    if ((err = load_slot(s, id, slot, &sr)) != WARD_OK)
        goto out;
    if (sr.complete)
        goto out; /* finishing twice is harmless */
    if (sr.bytes == 0) {
        err = ward_err_set(WARD_ERR_STATE, "task %s slot \"%s\": a 0-byte input is refused", id,
                           slot);
        goto out;
    }
    sqlite3_stmt *st = NULL;
    if ((err = prep(s, "UPDATE task_slots SET complete = 1 WHERE task_id = ?1 AND slot = ?2",
                    &st)) != WARD_OK)
        goto out;
    bind_text(st, 1, id);
    bind_text(st, 2, slot);
    if (sqlite3_step(st) != SQLITE_DONE)
        err = db_fail(s, "finish slot");
    sqlite3_finalize(st);
    if (err == WARD_OK) {
        char hex[65];
        wtask_hex(sr.sha, 32, hex);
        err = audit(s, NULL, "task.upload", id, WARD_AUDIT_SUCCESS,
                    json_pack("{s:s,s:I,s:I,s:s}", "slot", slot, "bytes", (json_int_t)sr.bytes,
                              "chunks", (json_int_t)sr.chunks, "sha256", hex));
    }
    if (err == WARD_OK)
        err = commit(s);
    if (err == WARD_OK)
        uploads_drop(s, id, slot);
out:
    if (err != WARD_OK)
        rollback(s);
    else if (!sqlite3_get_autocommit(s->db))
        err = commit(s);
    ward_task_manifest_free(r.m);
    return err;
}

ward_err ward_task_slot_finish(ward_task_store *s, const char *task_id, const char *slot,
                               const uint8_t uploader[WARD_TASK_HASH_LEN])
{
    if (s == NULL || task_id == NULL || slot == NULL || uploader == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "task store: NULL argument");
    pthread_mutex_lock(&s->mu);
    ward_err err = finish_locked(s, task_id, slot, uploader);
    pthread_mutex_unlock(&s->mu);
    return err;
}

ward_err ward_task_slot_get(ward_task_store *s, const char *task_id, const char *slot,
                            ward_task_slot_info *out)
{
    if (s == NULL || task_id == NULL || slot == NULL || out == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "task store: NULL argument");
    if (!wtask_id_valid(task_id))
        return ward_err_set(WARD_ERR_INVALID_ARG, "task store: not a task id (32 hex digits)");
    pthread_mutex_lock(&s->mu);
    slot_row sr;
    ward_err err = load_slot(s, task_id, slot, &sr);
    pthread_mutex_unlock(&s->mu);
    if (err != WARD_OK)
        return err;
    out->bytes = sr.bytes;
    out->chunks = sr.chunks;
    memcpy(out->sha256, sr.sha, 32);
    out->complete = sr.complete;
    out->deleted = sr.deleted;
    _Static_assert(sizeof out->path == sizeof sr.path, "path buffers");
    memcpy(out->path, sr.path, sizeof out->path);
    return WARD_OK;
}

/* ---- results ------------------------------------------------------------------------------------- */

static ward_err result_put_locked(ward_task_store *s, const char *id, const uint8_t recip[32],
                                  const uint8_t *data, size_t len)
{
    ward_err err = begin(s);
    if (err != WARD_OK)
        return err;
    row r;
    char hex[65], leaf[80], path[PATH_CAP], tmp[PATH_CAP + 8];
    uint8_t sha[32];
    int fd = -1, have_file = 0;
    wtask_hex(recip, 32, hex);
    if ((err = load(s, id, &r, 1)) != WARD_OK ||
        (err = ward_task_may_read_result(r.m, recip)) != WARD_OK)
        goto out;
    if (r.state != WARD_TASK_RUNNING) {
        err = ward_err_set(WARD_ERR_STATE, "task %s is %s: results are stored only while running",
                           id, state_names[r.state]);
        goto out;
    }
    int64_t n = 0;
    sqlite3_stmt *st = NULL;
    if ((err = prep(s, "SELECT count(*) FROM task_results WHERE task_id = ?1 AND recipient = ?2",
                    &st)) != WARD_OK)
        goto out;
    bind_text(st, 1, id);
    sqlite3_bind_blob(st, 2, recip, 32, SQLITE_TRANSIENT);
    if (sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    if (n > 0) {
        err = ward_err_set(WARD_ERR_EXISTS, "task %s: result for %s already stored", id, hex);
        goto out;
    }
    snprintf(leaf, sizeof leaf, "result-%s.ct", hex);
    if ((err = ensure_task_dir(s, id)) != WARD_OK ||
        (err = path_join(path, sizeof path, s->dir, id, leaf)) != WARD_OK ||
        (err = ward_hash(WARD_HASH_SHA256, data, len, sha)) != WARD_OK)
        goto out;
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        err = ward_err_set(WARD_ERR_IO, "task store: open %s: %s", tmp, strerror(errno));
        goto out;
    }
    if ((err = write_all(fd, data, len, 0)) == WARD_OK && !s->no_fsync && fsync(fd) != 0)
        err = ward_err_set(WARD_ERR_IO, "task store: fsync: %s", strerror(errno));
    close(fd);
    if (err == WARD_OK && rename(tmp, path) != 0)
        err = ward_err_set(WARD_ERR_IO, "task store: rename %s: %s", tmp, strerror(errno));
    if (err != WARD_OK) {
        unlink(tmp);
        goto out;
    }
    have_file = 1;
    if ((err = prep(s,
                    "INSERT INTO task_results (task_id, recipient, bytes, sha256, path) "
                    "VALUES (?1, ?2, ?3, ?4, ?5)",
                    &st)) != WARD_OK)
        goto out;
    bind_text(st, 1, id);
    sqlite3_bind_blob(st, 2, recip, 32, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)len);
    sqlite3_bind_blob(st, 4, sha, 32, SQLITE_TRANSIENT);
    bind_text(st, 5, path);
    if (sqlite3_step(st) != SQLITE_DONE)
        err = db_fail(s, "insert result");
    sqlite3_finalize(st);
    if (err == WARD_OK)
        err = audit(s, NULL, "task.result.store", id, WARD_AUDIT_SUCCESS,
                    json_pack("{s:s,s:I}", "recipient", hex, "bytes", (json_int_t)len));
    if (err == WARD_OK)
        err = commit(s);
out:
    if (err != WARD_OK) {
        rollback(s);
        if (have_file)
            unlink(path);
    }
    ward_task_manifest_free(r.m);
    return err;
}

ward_err ward_task_result_put(ward_task_store *s, const char *task_id,
                              const uint8_t recipient[WARD_TASK_HASH_LEN], const uint8_t *data,
                              size_t len)
{
    if (s == NULL || task_id == NULL || recipient == NULL || (data == NULL && len != 0))
        return ward_err_set(WARD_ERR_INVALID_ARG, "task store: NULL argument");
    if (len > CHUNK_MAX)
        return ward_err_set(WARD_ERR_LIMIT, "task store: result larger than 1 GiB");
    pthread_mutex_lock(&s->mu);
    ward_err err = result_put_locked(s, task_id, recipient, data, len);
    pthread_mutex_unlock(&s->mu);
    return err;
}

static ward_err result_get_locked(ward_task_store *s, const char *id, const uint8_t reader[32],
                                  ward_task_result_info *out)
{
    row r;
    ward_err err = load(s, id, &r, 1);
    if (err == WARD_OK && (err = ward_task_may_read_result(r.m, reader)) != WARD_OK) {
        if (err == WARD_ERR_PERMISSION) {
            char hex[65];
            wtask_hex(reader, 32, hex);
            (void)audit(s, NULL, "task.result.read", id, WARD_AUDIT_DENIED,
                        json_pack("{s:s,s:s}", "reader", hex, "reason", "not a recipient"));
            (void)ward_task_may_read_result(r.m, reader); /* restore the message */
        }
    }
    ward_task_manifest_free(r.m);
    if (err != WARD_OK)
        return err;
    sqlite3_stmt *st = NULL;
    if ((err = prep(s,
                    "SELECT bytes, sha256, path FROM task_results WHERE task_id = ?1 AND "
                    "recipient = ?2",
                    &st)) != WARD_OK)
        return err;
    bind_text(st, 1, id);
    sqlite3_bind_blob(st, 2, reader, 32, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW && sqlite3_column_bytes(st, 1) == 32 &&
        sqlite3_column_text(st, 2) != NULL) {
        out->bytes = (uint64_t)sqlite3_column_int64(st, 0);
        memcpy(out->sha256, sqlite3_column_blob(st, 1), 32);
        snprintf(out->path, sizeof out->path, "%s", (const char *)sqlite3_column_text(st, 2));
    } else if (rc == SQLITE_DONE) {
        err = ward_err_set(WARD_ERR_NOT_FOUND, "task %s: no result stored yet", id);
    } else {
        err = db_fail(s, "read result");
    }
    sqlite3_finalize(st);
    return err;
}

ward_err ward_task_result_get(ward_task_store *s, const char *task_id,
                              const uint8_t reader[WARD_TASK_HASH_LEN],
                              ward_task_result_info *out)
{
    if (s == NULL || task_id == NULL || reader == NULL || out == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "task store: NULL argument");
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&s->mu);
    ward_err err = result_get_locked(s, task_id, reader, out);
    pthread_mutex_unlock(&s->mu);
    return err;
}

/* ---- cancellation ------------------------------------------------------------------------------------ */

static ward_err vote_locked(ward_task_store *s, const char *id, const uint8_t voter[32],
                            int *cancelled)
{
    char hex[65];
    wtask_hex(voter, 32, hex);
    ward_err err = begin(s);
    if (err != WARD_OK)
        return err;
    row r;
    if ((err = load(s, id, &r, 1)) != WARD_OK)
        goto out;
    if ((err = ward_task_may_cancel(r.m, voter)) != WARD_OK) {
        if (err == WARD_ERR_PERMISSION) {
            (void)audit(s, NULL, "task.cancel.vote", id, WARD_AUDIT_DENIED,
                        json_pack("{s:s,s:s}", "voter", hex, "reason", "not a participant"));
            (void)ward_task_may_cancel(r.m, voter); /* restore the message */
        }
        goto out;
    }
    if (ward_task_state_is_final(r.state)) {
        err = ward_err_set(WARD_ERR_STATE, "task %s is already %s: nothing to cancel", id,
                           state_names[r.state]);
        goto out;
    }
    sqlite3_stmt *st = NULL;
    if ((err = prep(s, "INSERT OR IGNORE INTO task_votes (task_id, voter, at) VALUES (?1, ?2, ?3)",
                    &st)) != WARD_OK)
        goto out;
    bind_text(st, 1, id);
    sqlite3_bind_blob(st, 2, voter, 32, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, now_of(s));
    if (sqlite3_step(st) != SQLITE_DONE)
        err = db_fail(s, "record vote");
    sqlite3_finalize(st);
    if (err != WARD_OK)
        goto out;
    int fresh = sqlite3_changes(s->db) == 1;
    int64_t votes = 0;
    if ((err = count_rows(s, "SELECT count(*) FROM task_votes WHERE task_id = ?1", id, &votes)) !=
        WARD_OK)
        goto out;
    if (fresh)
        err = audit(s, NULL, "task.cancel.vote", id, WARD_AUDIT_SUCCESS,
                    json_pack("{s:s,s:I,s:I}", "voter", hex, "votes", (json_int_t)votes, "quorum",
                              (json_int_t)ward_task_cancel_quorum(r.m)));
    if (err == WARD_OK && fresh && (uint64_t)votes >= ward_task_cancel_quorum(r.m)) {
        char why[96];
        snprintf(why, sizeof why, "cancel quorum reached (%lld of %u)", (long long)votes,
                 ward_task_cancel_quorum(r.m));
        err = record_transition(s, id, 1, r.state, WARD_TASK_CANCELLED, why, NULL);
        if (err == WARD_OK)
            *cancelled = 1;
    }
    if (err == WARD_OK)
        err = commit(s);
out:
    if (err != WARD_OK) {
        rollback(s);
        *cancelled = 0;
    }
    ward_task_manifest_free(r.m);
    if (err == WARD_OK && *cancelled) {
        uploads_drop(s, id, NULL);
        err = apply_retention(s, id, NULL);
    }
    return err;
}

ward_err ward_task_cancel_vote(ward_task_store *s, const char *task_id,
                               const uint8_t voter[WARD_TASK_HASH_LEN], int *cancelled)
{
    int dummy = 0;
    if (cancelled == NULL)
        cancelled = &dummy;
    *cancelled = 0;
    if (s == NULL || task_id == NULL || voter == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "task store: NULL argument");
    pthread_mutex_lock(&s->mu);
    ward_err err = vote_locked(s, task_id, voter, cancelled);
    pthread_mutex_unlock(&s->mu);
    return err;
}

/* ---- sweep and counts ------------------------------------------------------------------------------ */

/* The next task id that sql (one ?1 parameter: now, or unused) selects, or "" when none. */
static ward_err next_id(ward_task_store *s, const char *sql, int64_t now, const char *after,
                        char id[WARD_TASK_ID_HEX_LEN + 1])
{
    sqlite3_stmt *st = NULL;
    ward_err err = prep(s, sql, &st);
    if (err != WARD_OK)
        return err;
    sqlite3_bind_int64(st, 1, now);
    bind_text(st, 2, after);
    id[0] = '\0';
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW && sqlite3_column_text(st, 0) != NULL)
        snprintf(id, WARD_TASK_ID_HEX_LEN + 1, "%s", (const char *)sqlite3_column_text(st, 0));
    else if (rc != SQLITE_DONE)
        err = db_fail(s, "sweep");
    sqlite3_finalize(st);
    return err;
}

static ward_err sweep_locked(ward_task_store *s, size_t *expired, size_t *deleted)
{
    int64_t now = now_of(s);
    char id[WARD_TASK_ID_HEX_LEN + 1], after[WARD_TASK_ID_HEX_LEN + 1] = "";
    ward_err err;
    for (;;) {
        if ((err = next_id(s,
                           "SELECT task_id FROM tasks WHERE expires_at <= ?1 AND task_id > ?2 "
                           "AND state IN ('created','approved','collecting','running') "
                           "ORDER BY task_id LIMIT 1",
                           now, after, id)) != WARD_OK)
            return err;
        if (id[0] == '\0')
            break;
        memcpy(after, id, sizeof after);
        err = transition_locked(s, id, WARD_TASK_EXPIRED, "expired", NULL);
        if (err == WARD_OK)
            (*expired)++;
        else if (err != WARD_ERR_STATE)
            return err;
    }
    after[0] = '\0';
    for (;;) {
        if ((err = next_id(s,
                           "SELECT DISTINCT t.task_id FROM tasks t JOIN task_slots l ON "
                           "l.task_id = t.task_id WHERE t.final_at > 0 AND l.deleted = 0 AND "
                           "?1 = ?1 AND t.task_id > ?2 ORDER BY t.task_id LIMIT 1",
                           now, after, id)) != WARD_OK)
            return err;
        if (id[0] == '\0')
            break;
        memcpy(after, id, sizeof after);
        if ((err = apply_retention(s, id, deleted)) != WARD_OK)
            return err;
    }
    return WARD_OK;
}

ward_err ward_task_store_sweep(ward_task_store *s, size_t *expired, size_t *files_deleted)
{
    size_t e = 0, d = 0;
    if (s == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "task store: NULL argument");
    pthread_mutex_lock(&s->mu);
    ward_err err = sweep_locked(s, &e, &d);
    pthread_mutex_unlock(&s->mu);
    if (expired != NULL)
        *expired = e;
    if (files_deleted != NULL)
        *files_deleted = d;
    return err;
}

ward_err ward_task_store_count(ward_task_store *s, uint64_t counts[WARD_TASK_STATE__COUNT])
{
    if (s == NULL || counts == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "task store: NULL argument");
    memset(counts, 0, sizeof(uint64_t) * WARD_TASK_STATE__COUNT);
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *st = NULL;
    ward_err err = prep(s, "SELECT state, count(*) FROM tasks GROUP BY state", &st);
    int rc = SQLITE_DONE;
    while (err == WARD_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        ward_task_state state;
        if (state_parse(sqlite3_column_text(st, 0), &state))
            counts[state] = (uint64_t)sqlite3_column_int64(st, 1);
    }
    if (err == WARD_OK && rc != SQLITE_DONE)
        err = db_fail(s, "count");
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return err;
}
