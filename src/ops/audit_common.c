/* Audit log: the record and checkpoint encodings (include/ward/audit.h documents them), the
 * schema and the helpers shared by the writer (audit.c) and the verifier (audit_verify.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ops/audit_internal.h"

const char audit_schema_sql[] =
    "CREATE TABLE IF NOT EXISTS audit_meta ("
    " name TEXT PRIMARY KEY NOT NULL, value BLOB NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS audit_records ("
    " seq INTEGER PRIMARY KEY NOT NULL,"
    " time_ms INTEGER NOT NULL,"
    " actor TEXT NOT NULL, auth_method TEXT NOT NULL, action TEXT NOT NULL,"
    " object TEXT NOT NULL, outcome TEXT NOT NULL, request_id TEXT NOT NULL,"
    " details TEXT NOT NULL, prev_hash BLOB NOT NULL, hash BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS audit_checkpoints ("
    " id INTEGER PRIMARY KEY NOT NULL,"
    " kind INTEGER NOT NULL, first_seq INTEGER NOT NULL, seq INTEGER NOT NULL,"
    " hash BLOB NOT NULL, range_digest BLOB NOT NULL, time_ms INTEGER NOT NULL,"
    " sig BLOB NOT NULL, hashes BLOB);";

size_t audit_field_max(int i)
{
    return i == AF_DETAILS ? WARD_AUDIT_DETAILS_MAX : WARD_AUDIT_FIELD_MAX;
}

static uint8_t *put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--)
        *p++ = (uint8_t)(v >> (8 * i));
    return p;
}

static uint8_t *put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 3; i >= 0; i--)
        *p++ = (uint8_t)(v >> (8 * i));
    return p;
}

ward_err audit_record_hash(const audit_fields *f, uint8_t out[AUDIT_HASH_LEN])
{
    uint8_t buf[AUDIT_ENC_MAX];
    if (f->outcome > 255u)
        return ward_err_set(WARD_ERR_INVALID_ARG, "audit: outcome %u out of range", f->outcome);
    uint8_t *p = buf;
    memcpy(p, AUDIT_REC_MAGIC, AUDIT_MAGIC_LEN);
    p += AUDIT_MAGIC_LEN;
    p = put_u64(p, f->seq);
    p = put_u64(p, (uint64_t)f->time_ms);
    *p++ = (uint8_t)f->outcome;
    for (int i = 0; i < AF_COUNT; i++) {
        size_t n = f->len[i];
        if (n > audit_field_max(i))
            return ward_err_set(WARD_ERR_OVERFLOW, "audit: field %d is %zu bytes (limit %zu)", i,
                                n, audit_field_max(i));
        p = put_u32(p, (uint32_t)n);
        if (n != 0)
            memcpy(p, f->s[i], n);
        p += n;
    }
    memcpy(p, f->prev_hash, AUDIT_HASH_LEN);
    p += AUDIT_HASH_LEN;
    return ward_hash(WARD_HASH_SHA256, buf, (size_t)(p - buf), out);
}

void audit_ckpt_message(const audit_ckpt *c, const uint8_t log_id[AUDIT_LOG_ID_LEN],
                        uint8_t msg[AUDIT_CKPT_MSG_LEN])
{
    uint8_t *p = msg;
    memcpy(p, AUDIT_CKPT_MAGIC, AUDIT_MAGIC_LEN);
    p += AUDIT_MAGIC_LEN;
    p = put_u32(p, AUDIT_CKPT_VERSION);
    *p++ = (uint8_t)c->kind;
    memcpy(p, log_id, AUDIT_LOG_ID_LEN);
    p += AUDIT_LOG_ID_LEN;
    p = put_u64(p, c->first_seq);
    p = put_u64(p, c->seq);
    memcpy(p, c->hash, AUDIT_HASH_LEN);
    p += AUDIT_HASH_LEN;
    memcpy(p, c->range_digest, AUDIT_HASH_LEN);
    p += AUDIT_HASH_LEN;
    put_u64(p, (uint64_t)c->time_ms);
}

ward_err audit_range_digest(const uint8_t *hashes, size_t n, uint8_t out[AUDIT_HASH_LEN])
{
    if (n > SIZE_MAX / AUDIT_HASH_LEN)
        return ward_err_set(WARD_ERR_OVERFLOW, "audit: checkpoint range too long");
    ward_hash_ctx *h = NULL;
    ward_err err = ward_hash_new(WARD_HASH_SHA256, &h);
    if (err == WARD_OK)
        err = ward_hash_update(h, AUDIT_RANGE_MAGIC, AUDIT_MAGIC_LEN);
    if (err == WARD_OK && n != 0)
        err = ward_hash_update(h, hashes, n * AUDIT_HASH_LEN);
    if (err == WARD_OK)
        err = ward_hash_final(h, out);
    ward_hash_free(h);
    return err;
}

ward_err audit_ckpt_check_sig(const audit_ckpt *c, const uint8_t log_id[AUDIT_LOG_ID_LEN],
                              const ward_pkey *key)
{
    uint8_t msg[AUDIT_CKPT_MSG_LEN];
    audit_ckpt_message(c, log_id, msg);
    ward_err err = ward_verify(key, WARD_HASH_SHA256, WARD_SIG_RAW, msg, sizeof msg, c->sig,
                               WARD_AUDIT_SIG_LEN);
    if (err != WARD_OK)
        return ward_err_set(WARD_ERR_VERIFY, "signature does not verify");
    return WARD_OK;
}

const char *audit_kind_name(int kind)
{
    switch (kind) {
    case AUDIT_CKPT_PERIODIC: return "periodic";
    case AUDIT_CKPT_CLOSE: return "close";
    case AUDIT_CKPT_ANCHOR: return "anchor";
    case AUDIT_CKPT_REQUEST: return "request";
    default: return "unknown";
    }
}

const char *ward_audit_outcome_name(ward_audit_outcome outcome)
{
    switch (outcome) {
    case WARD_AUDIT_SUCCESS: return "success";
    case WARD_AUDIT_FAILURE: return "failure";
    case WARD_AUDIT_DENIED: return "denied";
    }
    return NULL;
}

int audit_outcome_parse(const char *s, size_t len)
{
    for (int o = WARD_AUDIT_SUCCESS; o <= WARD_AUDIT_DENIED; o++) {
        const char *name = ward_audit_outcome_name((ward_audit_outcome)o);
        if (strlen(name) == len && memcmp(name, s, len) == 0)
            return o;
    }
    return -1;
}

const char *ward_audit_problem_name(ward_audit_problem problem)
{
    switch (problem) {
    case WARD_AUDIT_OK: return "ok";
    case WARD_AUDIT_EDITED: return "edited";
    case WARD_AUDIT_MOVED: return "moved";
    case WARD_AUDIT_MISSING: return "missing";
    case WARD_AUDIT_BROKEN_LINK: return "broken-link";
    case WARD_AUDIT_NOT_SIGNED: return "not-signed";
    case WARD_AUDIT_BAD_SIGNATURE: return "bad-signature";
    case WARD_AUDIT_BAD_CHECKPOINT: return "bad-checkpoint";
    case WARD_AUDIT_TRUNCATED: return "truncated";
    case WARD_AUDIT_MALFORMED: return "malformed";
    }
    return "unknown";
}

ward_err audit_sql_err(sqlite3 *db, const char *what)
{
    return ward_err_set(WARD_ERR_IO, "audit: %s: %s", what,
                        db != NULL ? sqlite3_errmsg(db) : "out of memory");
}

ward_err audit_harden(sqlite3 *db)
{
    int on = 1;
    if (sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, &on) != SQLITE_OK ||
        sqlite3_db_config(db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, &on) != SQLITE_OK ||
        sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_TRIGGER, 0, &on) != SQLITE_OK ||
        sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_VIEW, 0, &on) != SQLITE_OK)
        return audit_sql_err(db, "hardening the connection");
    if (sqlite3_exec(db, "PRAGMA cell_size_check=ON", NULL, NULL, NULL) != SQLITE_OK)
        return audit_sql_err(db, "cell_size_check");
    return WARD_OK;
}

ward_err audit_check_schema(sqlite3 *db)
{
    static const char *const allowed[] = {"audit_meta", "audit_records", "audit_checkpoints"};
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "SELECT type, name FROM sqlite_schema", -1, &st, NULL) !=
        SQLITE_OK)
        return audit_sql_err(db, "reading the schema");
    ward_err err = WARD_OK;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *type = (const char *)sqlite3_column_text(st, 0);
        const char *name = (const char *)sqlite3_column_text(st, 1);
        if (type == NULL || name == NULL) {
            err = ward_err_set(WARD_ERR_FORMAT, "audit: malformed schema entry");
            break;
        }
        int ok = 0;
        if (strcmp(type, "table") == 0) {
            for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++)
                ok |= strcmp(name, allowed[i]) == 0;
        } else if (strcmp(type, "index") == 0) {
            ok = strncmp(name, "sqlite_autoindex_audit_", 23) == 0;
        }
        if (!ok) {
            err = ward_err_set(WARD_ERR_FORMAT,
                               "audit: unexpected %.16s '%.64s' in the database (planted?)", type,
                               name);
            break;
        }
    }
    if (err == WARD_OK && rc != SQLITE_DONE)
        err = audit_sql_err(db, "reading the schema");
    sqlite3_finalize(st);
    return err;
}

ward_err audit_read_log_id(sqlite3 *db, uint8_t out[AUDIT_LOG_ID_LEN])
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "SELECT name, value FROM audit_meta WHERE name IN "
                               "('format', 'log_id')", -1, &st, NULL) != SQLITE_OK)
        return audit_sql_err(db, "reading the metadata");
    int have_id = 0, have_format = 0;
    ward_err err = WARD_OK;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        if (name == NULL)
            continue;
        if (strcmp(name, "log_id") == 0) {
            if (sqlite3_column_type(st, 1) != SQLITE_BLOB ||
                sqlite3_column_bytes(st, 1) != AUDIT_LOG_ID_LEN) {
                err = ward_err_set(WARD_ERR_FORMAT, "audit: malformed log id");
                break;
            }
            memcpy(out, sqlite3_column_blob(st, 1), AUDIT_LOG_ID_LEN);
            have_id = 1;
        } else {
            if (sqlite3_column_type(st, 1) != SQLITE_INTEGER ||
                sqlite3_column_int64(st, 1) != AUDIT_FORMAT) {
                err = ward_err_set(WARD_ERR_UNSUPPORTED, "audit: unknown database format");
                break;
            }
            have_format = 1;
        }
    }
    if (err == WARD_OK && rc != SQLITE_DONE)
        err = audit_sql_err(db, "reading the metadata");
    sqlite3_finalize(st);
    if (err == WARD_OK && (!have_id || !have_format))
        err = ward_err_set(WARD_ERR_NOT_FOUND, "audit: metadata missing");
    return err;
}

static int blob_col(sqlite3_stmt *st, int col, uint8_t *out, size_t len)
{
    if (sqlite3_column_type(st, col) != SQLITE_BLOB)
        return 0;
    const void *b = sqlite3_column_blob(st, col);
    int n = sqlite3_column_bytes(st, col);
    if (b == NULL || n < 0 || (size_t)n != len)
        return 0;
    memcpy(out, b, len);
    return 1;
}

ward_err audit_ckpt_from_row(sqlite3_stmt *st, audit_ckpt *c)
{
    memset(c, 0, sizeof *c);
    c->id = sqlite3_column_int64(st, 0);
    for (int col = 1; col <= 3; col++)
        if (sqlite3_column_type(st, col) != SQLITE_INTEGER)
            return ward_err_set(WARD_ERR_FORMAT, "checkpoint %lld: non-integer field",
                                (long long)c->id);
    int64_t kind = sqlite3_column_int64(st, 1);
    int64_t first = sqlite3_column_int64(st, 2);
    int64_t seq = sqlite3_column_int64(st, 3);
    if (kind < AUDIT_CKPT_PERIODIC || kind > AUDIT_CKPT_REQUEST || first < 0 || seq < 0)
        return ward_err_set(WARD_ERR_FORMAT, "checkpoint %lld: field out of range",
                            (long long)c->id);
    c->kind = (int)kind;
    c->first_seq = (uint64_t)first;
    c->seq = (uint64_t)seq;
    if (!blob_col(st, 4, c->hash, AUDIT_HASH_LEN) ||
        !blob_col(st, 5, c->range_digest, AUDIT_HASH_LEN) ||
        sqlite3_column_type(st, 6) != SQLITE_INTEGER ||
        !blob_col(st, 7, c->sig, WARD_AUDIT_SIG_LEN))
        return ward_err_set(WARD_ERR_FORMAT, "checkpoint %lld: malformed field", (long long)c->id);
    c->time_ms = sqlite3_column_int64(st, 6);
    return WARD_OK;
}

ward_err audit_path(const char *dir, const char *name, char **out)
{
    *out = NULL;
    size_t dl = strlen(dir), nl = strlen(name);
    if (dl == 0 || dl > 4000)
        return ward_err_set(WARD_ERR_INVALID_ARG, "audit: bad directory path length %zu", dl);
    char *p = malloc(dl + nl + 2);
    if (p == NULL)
        return ward_err_set(WARD_ERR_NOMEM, "audit: out of memory");
    memcpy(p, dir, dl);
    p[dl] = '/';
    memcpy(p + dl + 1, name, nl + 1);
    *out = p;
    return WARD_OK;
}

void audit_format_time(int64_t ms, char out[AUDIT_TIME_LEN])
{
    int64_t secs = ms / 1000, rem = ms % 1000;
    if (rem < 0) {
        rem += 1000;
        secs -= 1;
    }
    time_t t = (time_t)secs;
    struct tm tm;
    if (gmtime_r(&t, &tm) == NULL || tm.tm_year + 1900 > 9999 || tm.tm_year + 1900 < 0) {
        snprintf(out, AUDIT_TIME_LEN, "invalid");
        return;
    }
    snprintf(out, AUDIT_TIME_LEN, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)rem);
}
