/* Audit log verification and export. What is and is not detectable: include/ward/audit.h.
 *
 * The walk goes through the records in seq order once. Each record is checked, in this order,
 * for: its place (no gap, nothing before the start), its own hash (recomputed over the stored
 * fields and stored prev_hash; on a mismatch, whether it hashes as a neighbouring seq, i.e. was
 * moved), the hash its signed checkpoint holds for it, and its link to the previous record.
 * A checkpoint is checked (shape, log id, range digest, signature) when the walk enters the
 * range it covers; consecutive checkpoints must tile the records without gaps or overlaps. The
 * first failure ends the walk; records before report.bad_seq are established. */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ops/audit_internal.h"
#include "ward/encoding.h"

#define MAX_RANGE 100000u /* records one checkpoint may cover (the writer's interval limit) */
#define MOVED_SPAN 3      /* how far a moved record is looked for */

typedef struct ckinfo {
    audit_ckpt c;
    int hashes_null;
    int64_t hashes_len;
} ckinfo;

typedef struct vctx {
    sqlite3 *db;
    const ward_pkey *key;
    uint8_t log_id[AUDIT_LOG_ID_LEN];
    ward_audit_report *rep;
    ckinfo *ck;
    size_t nck;
    uint8_t *hashes; /* the current checkpoint's list */
    size_t hashes_n;
    /* Incremental: records 1..from are established (from = 0: walk everything); from_hash is
     * the hash of record from. covered_hash receives the hash of the last covered record. */
    uint64_t from;
    uint8_t from_hash[AUDIT_HASH_LEN];
    uint8_t covered_hash[AUDIT_HASH_LEN];
} vctx;

__attribute__((format(printf, 5, 6))) static ward_err
problem(vctx *v, ward_audit_problem p, uint64_t bad_seq, uint64_t ckpt_seq, const char *fmt, ...)
{
    ward_audit_report *r = v->rep;
    r->intact = 0;
    r->problem = p;
    r->bad_seq = bad_seq;
    r->checkpoint_seq = ckpt_seq;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->detail, sizeof r->detail, fmt, ap);
    va_end(ap);
    return ward_err_set(WARD_ERR_VERIFY, "audit log does not verify: seq %llu: %s: %s",
                        (unsigned long long)bad_seq, ward_audit_problem_name(p), r->detail);
}

static ward_err load_checkpoints(vctx *v)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(v->db, "SELECT " AUDIT_CKPT_COLS ", hashes IS NULL, length(hashes) "
                                  "FROM audit_checkpoints WHERE seq > ?1 ORDER BY seq, id", -1,
                           &st, NULL) != SQLITE_OK)
        return audit_sql_err(v->db, "reading checkpoints");
    sqlite3_bind_int64(st, 1, (sqlite3_int64)v->from);
    size_t cap = 0;
    ward_err err = WARD_OK;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (v->nck == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            ckinfo *n = ncap < SIZE_MAX / sizeof *n ? realloc(v->ck, ncap * sizeof *n) : NULL;
            if (n == NULL) {
                err = ward_err_set(WARD_ERR_NOMEM, "audit: out of memory");
                break;
            }
            v->ck = n;
            cap = ncap;
        }
        ckinfo *k = &v->ck[v->nck];
        if (audit_ckpt_from_row(st, &k->c) != WARD_OK) {
            char why[160];
            snprintf(why, sizeof why, "%s", ward_errmsg());
            /* Reported against the first record it claims to cover. */
            err = problem(v, WARD_AUDIT_BAD_CHECKPOINT, (uint64_t)sqlite3_column_int64(st, 2),
                          (uint64_t)sqlite3_column_int64(st, 3), "%s", why);
            break;
        }
        k->hashes_null = sqlite3_column_int(st, 8);
        k->hashes_len = sqlite3_column_int64(st, 9);
        v->nck++;
    }
    if (err == WARD_OK && rc != SQLITE_DONE)
        err = audit_sql_err(v->db, "reading checkpoints");
    sqlite3_finalize(st);
    v->rep->checkpoints = v->nck;
    return err;
}

/* Checks checkpoint k as the walk enters it at record seq (reports against seq); loads its
 * hash list. */
static ward_err enter_checkpoint(vctx *v, const ckinfo *k, uint64_t seq)
{
    const audit_ckpt *c = &k->c;
    static const uint8_t zero[AUDIT_HASH_LEN];
    v->hashes_n = 0;
    if (c->kind == AUDIT_CKPT_ANCHOR) {
        if (!k->hashes_null || memcmp(c->range_digest, zero, AUDIT_HASH_LEN) != 0 ||
            c->first_seq > c->seq)
            return problem(v, WARD_AUDIT_BAD_CHECKPOINT, seq, c->seq, "malformed prune anchor");
    } else {
        if (c->first_seq == 0 || c->first_seq > c->seq || c->seq - c->first_seq >= MAX_RANGE ||
            k->hashes_null ||
            (uint64_t)k->hashes_len != (c->seq - c->first_seq + 1) * AUDIT_HASH_LEN)
            return problem(v, WARD_AUDIT_BAD_CHECKPOINT, seq, c->seq,
                           "checkpoint at seq %llu is malformed (range %llu..%llu, %lld bytes "
                           "of hashes)",
                           (unsigned long long)c->seq, (unsigned long long)c->first_seq,
                           (unsigned long long)c->seq, (long long)k->hashes_len);
        size_t n = (size_t)(c->seq - c->first_seq + 1);
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(v->db, "SELECT hashes FROM audit_checkpoints WHERE id = ?1", -1,
                               &st, NULL) != SQLITE_OK)
            return audit_sql_err(v->db, "reading checkpoints");
        sqlite3_bind_int64(st, 1, c->id);
        int ok = sqlite3_step(st) == SQLITE_ROW &&
                 sqlite3_column_type(st, 0) == SQLITE_BLOB &&
                 (size_t)sqlite3_column_bytes(st, 0) == n * AUDIT_HASH_LEN;
        if (ok) {
            uint8_t *h = realloc(v->hashes, n * AUDIT_HASH_LEN);
            if (h == NULL) {
                sqlite3_finalize(st);
                return ward_err_set(WARD_ERR_NOMEM, "audit: out of memory");
            }
            v->hashes = h;
            memcpy(h, sqlite3_column_blob(st, 0), n * AUDIT_HASH_LEN);
            v->hashes_n = n;
        }
        sqlite3_finalize(st);
        if (!ok)
            return problem(v, WARD_AUDIT_BAD_CHECKPOINT, seq, c->seq,
                           "checkpoint at seq %llu: hash list unreadable",
                           (unsigned long long)c->seq);
        uint8_t digest[AUDIT_HASH_LEN];
        ward_err err = audit_range_digest(v->hashes, n, digest);
        if (err != WARD_OK)
            return err;
        /* A list edited to match edited records no longer matches its signed digest. */
        if (memcmp(digest, c->range_digest, AUDIT_HASH_LEN) != 0 ||
            memcmp(v->hashes + (n - 1) * AUDIT_HASH_LEN, c->hash, AUDIT_HASH_LEN) != 0)
            return problem(v, WARD_AUDIT_BAD_CHECKPOINT, seq, c->seq,
                           "checkpoint at seq %llu: hash list does not match its signed digest",
                           (unsigned long long)c->seq);
    }
    if (audit_ckpt_check_sig(c, v->log_id, v->key) != WARD_OK)
        return problem(v, WARD_AUDIT_BAD_SIGNATURE, seq, c->seq,
                       "the signature of the %s checkpoint at seq %llu (covering %llu..%llu) "
                       "does not verify: forged or altered, or from another log or key",
                       audit_kind_name(c->kind), (unsigned long long)c->seq,
                       (unsigned long long)c->first_seq, (unsigned long long)c->seq);
    return WARD_OK;
}

/* The record columns of the walk, from column 0. */
#define REC_COLS                                                                             \
    "seq, time_ms, actor, auth_method, action, object, outcome, request_id, details, "     \
    "prev_hash, hash"
static const int rec_text_cols[AF_COUNT] = {2, 3, 4, 5, 7, 8};

/* Reads the row into f (pointers into the statement's row); 0 if malformed. */
static int read_row(sqlite3_stmt *st, audit_fields *f, const uint8_t **hash, int *outcome_ok)
{
    if (sqlite3_column_type(st, 1) != SQLITE_INTEGER)
        return 0;
    f->time_ms = sqlite3_column_int64(st, 1);
    for (int i = 0; i < AF_COUNT; i++) {
        int col = rec_text_cols[i];
        f->s[i] = (const char *)sqlite3_column_text(st, col);
        int n = sqlite3_column_bytes(st, col);
        if (f->s[i] == NULL || n < 0)
            return 0;
        f->len[i] = (size_t)n;
    }
    const char *oc = (const char *)sqlite3_column_text(st, 6);
    int o = oc != NULL ? audit_outcome_parse(oc, (size_t)sqlite3_column_bytes(st, 6)) : -1;
    *outcome_ok = o >= 0;
    f->outcome = o >= 0 ? (unsigned)o : 255u;
    if (sqlite3_column_type(st, 9) != SQLITE_BLOB || sqlite3_column_bytes(st, 9) != AUDIT_HASH_LEN ||
        sqlite3_column_type(st, 10) != SQLITE_BLOB ||
        sqlite3_column_bytes(st, 10) != AUDIT_HASH_LEN)
        return 0;
    f->prev_hash = sqlite3_column_blob(st, 9);
    *hash = sqlite3_column_blob(st, 10);
    return 1;
}

/* 1 if f hashes to want when given sequence number s. */
static int hashes_as(audit_fields *f, uint64_t s, const uint8_t *want)
{
    uint64_t saved = f->seq;
    f->seq = s;
    uint8_t h[AUDIT_HASH_LEN];
    int ok = audit_record_hash(f, h) == WARD_OK && memcmp(h, want, AUDIT_HASH_LEN) == 0;
    f->seq = saved;
    return ok;
}

static ward_err walk(vctx *v)
{
    ward_audit_report *rep = v->rep;
    uint8_t prev[AUDIT_HASH_LEN];
    memset(prev, 0, sizeof prev);
    uint64_t expect = 1, covered = 0, last = 0;
    size_t idx = 0;
    int have_anchor = 0;
    if (v->nck > 0 && v->ck[0].c.kind == AUDIT_CKPT_ANCHOR) {
        const audit_ckpt *a = &v->ck[0].c;
        ward_err err = enter_checkpoint(v, &v->ck[0], a->seq + 1);
        if (err != WARD_OK)
            return err;
        expect = a->seq + 1;
        covered = a->seq;
        memcpy(prev, a->hash, AUDIT_HASH_LEN);
        rep->pruned_to = a->seq;
        have_anchor = 1;
        idx = 1;
    }
    if (v->from > 0) {
        /* Resuming after a walk that established 1..from: from was the last record a signed
         * checkpoint covered, so the next checkpoint must start right after it. */
        expect = v->from + 1;
        covered = v->from;
        memcpy(prev, v->from_hash, AUDIT_HASH_LEN);
    }
    memcpy(v->covered_hash, prev, AUDIT_HASH_LEN);
    int prev_signed = 1; /* the anchor / genesis / resume point is established */
    long cur = -1;       /* index of the checkpoint covering the current record */

    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(v->db, "SELECT " REC_COLS " FROM audit_records WHERE seq > ?1 "
                                  "ORDER BY seq", -1, &st, NULL) != SQLITE_OK)
        return audit_sql_err(v->db, "reading records");
    sqlite3_bind_int64(st, 1, (sqlite3_int64)v->from);
    ward_err err = WARD_OK;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        uint64_t seq = (uint64_t)sqlite3_column_int64(st, 0);
        if (rep->records == 0)
            rep->first_seq = seq;
        if (seq < expect) {
            err = problem(v, WARD_AUDIT_MALFORMED, seq, 0,
                          "record %llu lies before the start of the log (seq %llu)",
                          (unsigned long long)seq, (unsigned long long)expect);
            break;
        }
        if (seq > expect) {
            err = problem(v, WARD_AUDIT_MISSING, expect, 0,
                          "records %llu..%llu are missing (deleted)", (unsigned long long)expect,
                          (unsigned long long)(seq - 1));
            break;
        }
        /* Coverage: enter the next checkpoint when past the current one. */
        if (cur < 0 || seq > v->ck[cur].c.seq) {
            cur = -1;
            if (idx < v->nck) {
                const ckinfo *k = &v->ck[idx];
                int first_after_anchor = have_anchor && idx == 1;
                if (k->c.kind == AUDIT_CKPT_ANCHOR) {
                    err = problem(v, WARD_AUDIT_BAD_CHECKPOINT, seq, k->c.seq,
                                  "a second prune anchor at seq %llu",
                                  (unsigned long long)k->c.seq);
                    break;
                }
                if (k->c.first_seq > seq) {
                    err = problem(v, WARD_AUDIT_BAD_CHECKPOINT, seq, k->c.seq,
                                  "no signed checkpoint covers records %llu..%llu although a "
                                  "later one exists: a checkpoint was deleted",
                                  (unsigned long long)seq,
                                  (unsigned long long)(k->c.first_seq - 1));
                    break;
                }
                if ((k->c.first_seq < seq && !first_after_anchor) || k->c.seq < seq) {
                    err = problem(v, WARD_AUDIT_BAD_CHECKPOINT, seq, k->c.seq,
                                  "checkpoint at seq %llu (covering %llu..%llu) overlaps the "
                                  "previous one",
                                  (unsigned long long)k->c.seq,
                                  (unsigned long long)k->c.first_seq,
                                  (unsigned long long)k->c.seq);
                    break;
                }
                err = enter_checkpoint(v, k, seq);
                if (err != WARD_OK)
                    break;
                cur = (long)idx++;
            }
        }
        audit_fields f = {.seq = seq};
        const uint8_t *hash = NULL;
        int outcome_ok = 0;
        if (sqlite3_column_type(st, 0) != SQLITE_INTEGER ||
            !read_row(st, &f, &hash, &outcome_ok)) {
            err = problem(v, WARD_AUDIT_MALFORMED, seq, 0,
                          "record %llu has a missing or mistyped field", (unsigned long long)seq);
            break;
        }
        int too_long = 0;
        for (int i = 0; i < AF_COUNT; i++)
            too_long |= f.len[i] > audit_field_max(i);
        if (too_long || !outcome_ok) {
            err = problem(v, WARD_AUDIT_EDITED, seq, 0,
                          "record %llu was edited: %s", (unsigned long long)seq,
                          too_long ? "a field is longer than any record Ward writes"
                                   : "its outcome is not success, failure or denied");
            break;
        }
        if (!hashes_as(&f, seq, hash)) {
            uint64_t was = 0;
            for (int d = -MOVED_SPAN; d <= MOVED_SPAN && was == 0; d++) {
                if (d == 0 || (d < 0 && seq <= (uint64_t)-d))
                    continue;
                uint64_t s = d < 0 ? seq - (uint64_t)-d : seq + (uint64_t)d;
                if (hashes_as(&f, s, hash))
                    was = s;
            }
            if (was != 0)
                err = problem(v, WARD_AUDIT_MOVED, seq, 0,
                              "seq %llu holds the record written as seq %llu: records were "
                              "reordered, or inserted or deleted and renumbered",
                              (unsigned long long)seq, (unsigned long long)was);
            else
                err = problem(v, WARD_AUDIT_EDITED, seq, 0,
                              "record %llu was edited: its contents do not match its hash",
                              (unsigned long long)seq);
            break;
        }
        if (cur >= 0) {
            const audit_ckpt *c = &v->ck[cur].c;
            const uint8_t *want = v->hashes + (seq - c->first_seq) * AUDIT_HASH_LEN;
            if (memcmp(want, hash, AUDIT_HASH_LEN) != 0) {
                err = problem(v, WARD_AUDIT_NOT_SIGNED, seq, c->seq,
                              "record %llu differs from the one the signed checkpoint at seq "
                              "%llu holds: altered or inserted, and the hash chain recomputed",
                              (unsigned long long)seq, (unsigned long long)c->seq);
                break;
            }
        }
        if (memcmp(f.prev_hash, prev, AUDIT_HASH_LEN) != 0) {
            /* The link between seq - 1 and seq is broken: the first record not established is
             * seq - 1, unless a signed checkpoint vouches for it. */
            uint64_t bad = prev_signed ? seq : seq - 1;
            err = problem(v, WARD_AUDIT_BROKEN_LINK, bad, 0,
                          "prev_hash of record %llu is not the hash of %s %llu: %s",
                          (unsigned long long)seq,
                          seq - 1 == rep->pruned_to && have_anchor ? "the prune anchor at"
                                                                   : "record",
                          (unsigned long long)(seq - 1),
                          prev_signed ? "record altered or inserted"
                                      : "the earlier record was altered and its hash recomputed, "
                                        "or a record was inserted or removed here");
            break;
        }
        prev_signed = cur >= 0;
        if (cur >= 0 && seq == v->ck[cur].c.seq) {
            covered = seq;
            memcpy(v->covered_hash, hash, AUDIT_HASH_LEN);
        }
        memcpy(prev, hash, AUDIT_HASH_LEN);
        expect = seq + 1;
        last = seq;
        rep->records++;
    }
    if (err == WARD_OK && rc != SQLITE_DONE)
        err = audit_sql_err(v->db, "reading records");
    sqlite3_finalize(st);
    if (err != WARD_OK)
        return err;
    rep->last_seq = last;
    if (rep->records == 0)
        rep->first_seq = 0;
    /* Checkpoints beyond the last record: the records they covered are gone. */
    if (cur >= 0 && v->ck[cur].c.seq >= expect)
        return problem(v, WARD_AUDIT_TRUNCATED, expect, v->ck[cur].c.seq,
                       "records %llu..%llu, covered by the checkpoint at seq %llu, are missing "
                       "(deleted)",
                       (unsigned long long)expect, (unsigned long long)v->ck[cur].c.seq,
                       (unsigned long long)v->ck[cur].c.seq);
    if (idx < v->nck) {
        const ckinfo *k = &v->ck[idx];
        err = enter_checkpoint(v, k, expect);
        if (err != WARD_OK)
            return err;
        if (k->c.kind == AUDIT_CKPT_ANCHOR)
            return problem(v, WARD_AUDIT_BAD_CHECKPOINT, expect, k->c.seq,
                           "a second prune anchor at seq %llu", (unsigned long long)k->c.seq);
        return problem(v, WARD_AUDIT_TRUNCATED, expect, k->c.seq,
                       "records %llu..%llu, covered by the checkpoint at seq %llu, are missing "
                       "(deleted)",
                       (unsigned long long)expect, (unsigned long long)k->c.seq,
                       (unsigned long long)k->c.seq);
    }
    rep->anchored_seq = covered;
    rep->unanchored = last > covered ? last - covered : 0;
    return WARD_OK;
}

static ward_err verify_db_from(sqlite3 *db, const ward_pkey *key, uint64_t from,
                               const uint8_t from_hash[AUDIT_HASH_LEN],
                               uint8_t covered_hash[AUDIT_HASH_LEN], ward_audit_report *rep)
{
    memset(rep, 0, sizeof *rep);
    vctx v = {.db = db, .key = key, .rep = rep, .from = from};
    memcpy(v.from_hash, from_hash, AUDIT_HASH_LEN);
    ward_err err = audit_check_schema(db);
    if (err != WARD_OK) {
        char why[200];
        snprintf(why, sizeof why, "%s", ward_errmsg());
        return problem(&v, WARD_AUDIT_MALFORMED, 0, 0, "%s", why);
    }
    err = audit_read_log_id(db, v.log_id);
    if (err == WARD_ERR_NOT_FOUND || err == WARD_ERR_FORMAT || err == WARD_ERR_UNSUPPORTED) {
        char why[200];
        snprintf(why, sizeof why, "%s", ward_errmsg());
        return problem(&v, WARD_AUDIT_MALFORMED, 0, 0, "%s", why);
    }
    if (err == WARD_OK)
        err = load_checkpoints(&v);
    if (err == WARD_OK)
        err = walk(&v);
    free(v.ck);
    free(v.hashes);
    memcpy(covered_hash, v.covered_hash, AUDIT_HASH_LEN);
    if (err == WARD_OK) {
        rep->intact = 1;
        rep->problem = WARD_AUDIT_OK;
    }
    return err;
}

ward_err audit_verify_db(sqlite3 *db, const ward_pkey *key, ward_audit_report *rep)
{
    static const uint8_t zero[AUDIT_HASH_LEN];
    uint8_t covered[AUDIT_HASH_LEN];
    return verify_db_from(db, key, 0, zero, covered, rep);
}

/* Record from must still be there, unchanged, and no prune anchor may lie beyond it (then
 * the resume point is gone: walk everything). 1 to resume, 0 to walk from the start. */
static ward_err resume_point(vctx *v, int *resume)
{
    *resume = 0;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(v->db, "SELECT hash FROM audit_records WHERE seq = ?1", -1, &st,
                           NULL) != SQLITE_OK)
        return audit_sql_err(v->db, "reading records");
    sqlite3_bind_int64(st, 1, (sqlite3_int64)v->from);
    int rc = sqlite3_step(st);
    int same = rc == SQLITE_ROW && sqlite3_column_bytes(st, 0) == AUDIT_HASH_LEN &&
               memcmp(sqlite3_column_blob(st, 0), v->from_hash, AUDIT_HASH_LEN) == 0;
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return audit_sql_err(v->db, "reading records");
    if (!same)
        return WARD_OK; /* the full walk says what happened to it */
    if (sqlite3_prepare_v2(v->db, "SELECT count(*) FROM audit_checkpoints WHERE kind = ?1 AND "
                                  "seq >= ?2", -1, &st, NULL) != SQLITE_OK)
        return audit_sql_err(v->db, "reading checkpoints");
    sqlite3_bind_int(st, 1, AUDIT_CKPT_ANCHOR);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)v->from);
    rc = sqlite3_step(st);
    int anchors = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
    sqlite3_finalize(st);
    if (anchors < 0)
        return audit_sql_err(v->db, "reading checkpoints");
    *resume = anchors == 0;
    return WARD_OK;
}

/* Opens DIR/audit.db read-only. */
static ward_err open_ro(const char *dir, sqlite3 **db)
{
    *db = NULL;
    char *path = NULL;
    ward_err err = audit_path(dir, WARD_AUDIT_DB_FILE, &path);
    if (err != WARD_OK)
        return err;
    struct stat sb;
    if (stat(path, &sb) != 0) {
        err = ward_err_set(WARD_ERR_NOT_FOUND, "audit: no audit log at %s", path);
    } else if (sqlite3_open_v2(path, db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) !=
               SQLITE_OK) {
        err = audit_sql_err(*db, "opening the database");
    } else {
        err = audit_harden(*db);
        if (err == WARD_OK)
            sqlite3_busy_timeout(*db, 5000);
    }
    free(path);
    if (err != WARD_OK && *db != NULL) {
        sqlite3_close(*db);
        *db = NULL;
    }
    return err;
}

/* One read transaction over DIR/audit.db: a consistent snapshot while a writer appends.
 * cursor NULL: walk everything. */
static ward_err verify_dir(const char *dir, const ward_pkey *pubkey, ward_audit_cursor *cursor,
                           ward_audit_report *report)
{
    sqlite3 *db = NULL;
    ward_err err = open_ro(dir, &db);
    if (err != WARD_OK)
        return err;
    if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
        err = audit_sql_err(db, "begin");
    if (err == WARD_OK) {
        uint64_t from = 0;
        uint8_t from_hash[AUDIT_HASH_LEN] = {0};
        if (cursor != NULL && cursor->seq > 0) {
            vctx probe = {.db = db, .from = cursor->seq};
            memcpy(probe.from_hash, cursor->hash, AUDIT_HASH_LEN);
            int resume = 0;
            err = resume_point(&probe, &resume);
            if (err == WARD_OK && resume) {
                from = cursor->seq;
                memcpy(from_hash, cursor->hash, AUDIT_HASH_LEN);
            }
        }
        uint8_t covered_hash[AUDIT_HASH_LEN];
        if (err == WARD_OK)
            err = verify_db_from(db, pubkey, from, from_hash, covered_hash, report);
        if (err == WARD_OK && cursor != NULL && report->anchored_seq > 0) {
            cursor->seq = report->anchored_seq;
            memcpy(cursor->hash, covered_hash, AUDIT_HASH_LEN);
        }
        sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    }
    sqlite3_close(db);
    return err;
}

ward_err ward_audit_verify_from(const char *dir, const ward_pkey *pubkey,
                                ward_audit_cursor *cursor, ward_audit_report *report)
{
    if (report != NULL)
        memset(report, 0, sizeof *report);
    if (dir == NULL || pubkey == NULL || report == NULL || cursor == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "audit verify: NULL argument");
    return verify_dir(dir, pubkey, cursor, report);
}

ward_err ward_audit_verify(const char *dir, const ward_pkey *pubkey, ward_audit_report *report)
{
    if (report != NULL)
        memset(report, 0, sizeof *report);
    if (dir == NULL || pubkey == NULL || report == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "audit verify: NULL argument");
    return verify_dir(dir, pubkey, NULL, report);
}

/* ---- export ------------------------------------------------------------------------------ */

static json_t *jstr(const unsigned char *s, int n)
{
    if (s == NULL || n < 0)
        return json_null();
    json_t *j = json_stringn((const char *)s, (size_t)n);
    return j != NULL ? j : json_string("(invalid UTF-8)");
}

static json_t *jhex(const void *b, int n)
{
    if (b == NULL || n < 0)
        return json_null();
    char *hex = NULL;
    if (ward_hex_encode(b, (size_t)n, &hex, NULL) != WARD_OK)
        return json_null();
    json_t *j = json_string(hex);
    free(hex);
    return j;
}

static json_t *jtime(int64_t ms)
{
    char t[AUDIT_TIME_LEN];
    audit_format_time(ms, t);
    return json_string(t);
}

static ward_err emit(json_t *o, FILE *out)
{
    if (o == NULL)
        return ward_err_set(WARD_ERR_NOMEM, "audit export: out of memory");
    int rc = json_dumpf(o, out, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(o);
    if (rc != 0 || fputc('\n', out) == EOF)
        return ward_err_set(WARD_ERR_IO, "audit export: write failed");
    return WARD_OK;
}

static ward_err emit_ckpt(sqlite3_stmt *st, const uint8_t log_id[AUDIT_LOG_ID_LEN], FILE *out)
{
    audit_ckpt c;
    if (audit_ckpt_from_row(st, &c) != WARD_OK)
        return WARD_OK; /* malformed: verify reports it */
    json_t *o = json_object();
    if (o == NULL)
        return emit(NULL, out);
    json_object_set_new(o, "type", json_string("checkpoint"));
    json_object_set_new(o, "kind", json_string(audit_kind_name(c.kind)));
    json_object_set_new(o, "log_id", jhex(log_id, AUDIT_LOG_ID_LEN));
    json_object_set_new(o, "first_seq", json_integer((json_int_t)c.first_seq));
    json_object_set_new(o, "seq", json_integer((json_int_t)c.seq));
    json_object_set_new(o, "hash", jhex(c.hash, AUDIT_HASH_LEN));
    json_object_set_new(o, "range_digest", jhex(c.range_digest, AUDIT_HASH_LEN));
    json_object_set_new(o, "time", jtime(c.time_ms));
    json_object_set_new(o, "time_ms", json_integer(c.time_ms));
    json_object_set_new(o, "signature", jhex(c.sig, WARD_AUDIT_SIG_LEN));
    return emit(o, out);
}

static ward_err emit_record(sqlite3_stmt *st, FILE *out)
{
    json_t *o = json_object();
    if (o == NULL)
        return emit(NULL, out);
    static const char *const names[AF_COUNT] = {"actor", "auth_method", "action", "object",
                                                "request_id", "details"};
    json_object_set_new(o, "type", json_string("record"));
    json_object_set_new(o, "seq", json_integer(sqlite3_column_int64(st, 0)));
    json_object_set_new(o, "time", jtime(sqlite3_column_int64(st, 1)));
    json_object_set_new(o, "time_ms", json_integer(sqlite3_column_int64(st, 1)));
    for (int i = 0; i < AF_DETAILS; i++) {
        int col = rec_text_cols[i];
        json_object_set_new(o, names[i],
                            jstr(sqlite3_column_text(st, col), sqlite3_column_bytes(st, col)));
        if (i == AF_OBJECT)
            json_object_set_new(o, "outcome",
                                jstr(sqlite3_column_text(st, 6), sqlite3_column_bytes(st, 6)));
    }
    const char *d = (const char *)sqlite3_column_text(st, 8);
    int dn = sqlite3_column_bytes(st, 8);
    json_t *dj = d != NULL && dn >= 0 ? json_loadb(d, (size_t)dn, JSON_REJECT_DUPLICATES, NULL)
                                      : NULL;
    if (dj == NULL || !json_is_object(dj)) {
        json_decref(dj);
        dj = jstr((const unsigned char *)d, dn); /* not an object: verify reports the edit */
    }
    json_object_set_new(o, "details", dj);
    json_object_set_new(o, "prev_hash",
                        jhex(sqlite3_column_blob(st, 9), sqlite3_column_bytes(st, 9)));
    json_object_set_new(o, "hash", jhex(sqlite3_column_blob(st, 10), sqlite3_column_bytes(st, 10)));
    return emit(o, out);
}

ward_err ward_audit_export(const char *dir, int64_t since_ms, FILE *out, uint64_t *count)
{
    if (count != NULL)
        *count = 0;
    if (dir == NULL || out == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "audit export: NULL argument");
    sqlite3 *db = NULL;
    ward_err err = open_ro(dir, &db);
    if (err != WARD_OK)
        return err;
    uint8_t log_id[AUDIT_LOG_ID_LEN];
    sqlite3_stmt *rs = NULL, *cs = NULL;
    if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
        err = audit_sql_err(db, "begin");
    if (err == WARD_OK)
        err = audit_check_schema(db);
    if (err == WARD_OK)
        err = audit_read_log_id(db, log_id);
    if (err == WARD_OK &&
        (sqlite3_prepare_v2(db, "SELECT " REC_COLS " FROM audit_records WHERE time_ms >= ?1 "
                                "ORDER BY seq", -1, &rs, NULL) != SQLITE_OK ||
         sqlite3_prepare_v2(db, "SELECT " AUDIT_CKPT_COLS " FROM audit_checkpoints WHERE "
                                "time_ms >= ?1 ORDER BY seq, id", -1, &cs, NULL) != SQLITE_OK))
        err = audit_sql_err(db, "preparing the export");
    uint64_t n = 0;
    if (err == WARD_OK) {
        sqlite3_bind_int64(rs, 1, since_ms);
        sqlite3_bind_int64(cs, 1, since_ms);
        int crc = sqlite3_step(cs), rrc = SQLITE_DONE;
        while (err == WARD_OK && (rrc = sqlite3_step(rs)) == SQLITE_ROW) {
            int64_t seq = sqlite3_column_int64(rs, 0);
            /* Checkpoints made before this record (those at seq - 1 and earlier). */
            while (err == WARD_OK && crc == SQLITE_ROW && sqlite3_column_int64(cs, 3) < seq) {
                err = emit_ckpt(cs, log_id, out);
                crc = sqlite3_step(cs);
            }
            if (err == WARD_OK)
                err = emit_record(rs, out);
            n++;
        }
        if (err == WARD_OK && rrc != SQLITE_DONE)
            err = audit_sql_err(db, "reading records");
        while (err == WARD_OK && crc == SQLITE_ROW) {
            err = emit_ckpt(cs, log_id, out);
            crc = sqlite3_step(cs);
        }
        if (err == WARD_OK && crc != SQLITE_DONE)
            err = audit_sql_err(db, "reading checkpoints");
    }
    sqlite3_finalize(rs);
    sqlite3_finalize(cs);
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    sqlite3_close(db);
    if (err == WARD_OK && fflush(out) != 0)
        err = ward_err_set(WARD_ERR_IO, "audit export: write failed");
    if (count != NULL)
        *count = err == WARD_OK ? n : 0;
    return err;
}
