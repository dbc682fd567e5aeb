/* The identity database: opening and migrating it, settings, the audit event path, users and
 * passwords (Argon2id), rate limits, and the end of every authentication (disabled users, the
 * TOTP second factor, counting failures, the principal). docs/security.md describes the rules.
 *
 * SQL: every statement is a constant string, prepared, with values bound; nothing from input is
 * ever part of SQL text. Schema changes go through `migrations` (PRAGMA user_version). */
#include <argon2.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ops/identity_internal.h"
#include "ward/crypto.h"
#include "ward/err.h"
#include "ward/log.h"
#include "ward/rbac.h"

#define SCHEMA_VERSION 2
#define APPLICATION_ID 0x57415244 /* "WARD" */
#define PATH_MAX_LEN 4000
#define SALT_LEN 16
#define HASH_LEN 32
#define KCV_LABEL "ward-identity key check v1"
#define BUSY_TIMEOUT_MS 10000

_Static_assert(APPLICATION_ID == 1463898692, "the PRAGMA text below spells APPLICATION_ID");

/* ---- small helpers -------------------------------------------------------------------------- */

void wid_copy(char *dst, size_t cap, const char *src)
{
    if (cap == 0)
        return;
    size_t n = src ? strnlen(src, cap - 1) : 0;
    if (n)
        memcpy(dst, src, n);
    dst[n] = '\0';
}

static int name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == '-' || c == '@';
}

int ward_id_valid_name(const char *name)
{
    if (name == NULL)
        return 0;
    size_t n = strnlen(name, WARD_ID_NAME_MAX + 1);
    if (n == 0 || n > WARD_ID_NAME_MAX)
        return 0;
    char c0 = name[0];
    if (!((c0 >= 'a' && c0 <= 'z') || (c0 >= '0' && c0 <= '9')))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!name_char(name[i]))
            return 0;
    return 1;
}

int ward_id_valid_perm_name(const char *name)
{
    if (name == NULL)
        return 0;
    size_t n = strnlen(name, WARD_ID_NAME_MAX + 1);
    if (n == 0 || n > WARD_ID_NAME_MAX)
        return 0;
    size_t part = 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (c == '.') {
            if (part == 0)
                return 0;
            part = 0;
            continue;
        }
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return 0;
        part++;
    }
    return part > 0;
}

const char *wid_safe_name(const char *name)
{
    if (name == NULL)
        return "";
    return ward_id_valid_name(name) ? name : "(invalid)";
}

void wid_hex(const uint8_t *in, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * len] = '\0';
}

/* UTF-8 (RFC 3629: no overlong forms, no surrogates, at most U+10FFFF) without C0/C1 controls
 * or DEL, at most WARD_ID_DISPLAY_MAX bytes. */
int wid_valid_display(const char *s)
{
    if (s == NULL)
        return 1;
    size_t n = strnlen(s, WARD_ID_DISPLAY_MAX + 1);
    if (n > WARD_ID_DISPLAY_MAX)
        return 0;
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        unsigned c = p[i];
        if (c < 0x20 || c == 0x7f)
            return 0;
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t extra;
        unsigned cp, min;
        if ((c & 0xe0) == 0xc0) {
            extra = 1; cp = c & 0x1f; min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            extra = 2; cp = c & 0x0f; min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            extra = 3; cp = c & 0x07; min = 0x10000;
        } else {
            return 0;
        }
        if (extra > n - i - 1)
            return 0;
        for (size_t k = 1; k <= extra; k++) {
            unsigned cc = p[i + k];
            if ((cc & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (cc & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ||
            (cp >= 0x80 && cp <= 0x9f))
            return 0;
        i += extra + 1;
    }
    return 1;
}

static int64_t default_clock(void *arg)
{
    (void)arg;
    return (int64_t)time(NULL);
}

int64_t wid_now(ward_identity *db)
{
    return db->clock(db->clock_arg);
}

void ward_identity_set_clock(ward_identity *db, ward_identity_clock_fn fn, void *arg)
{
    if (db == NULL)
        return;
    db->clock = fn ? fn : default_clock;
    db->clock_arg = fn ? arg : NULL;
}

const char *ward_auth_method_name(ward_auth_method m)
{
    switch (m) {
    case WARD_AUTH_PASSWORD: return "password";
    case WARD_AUTH_TOKEN: return "token";
    case WARD_AUTH_CERTIFICATE: return "certificate";
    case WARD_AUTH_ATTESTATION: return "attestation";
    case WARD_AUTH_NONE: break;
    }
    return "";
}

void ward_identity_get_stats(const ward_identity *db, ward_identity_stats *out)
{
    if (out == NULL)
        return;
    if (db == NULL)
        memset(out, 0, sizeof *out);
    else
        *out = db->stats;
}

/* ---- SQL helpers ---------------------------------------------------------------------------- */

ward_err wid_sql_err(ward_identity *db, const char *what)
{
    return ward_err_set(WARD_ERR_IO, "identity database: %s: %s", what, sqlite3_errmsg(db->sql));
}

ward_err wid_prepare(ward_identity *db, const char *sql, sqlite3_stmt **st)
{
    *st = NULL;
    if (sqlite3_prepare_v2(db->sql, sql, -1, st, NULL) != SQLITE_OK) {
        *st = NULL;
        return wid_sql_err(db, "prepare");
    }
    return WARD_OK;
}

int wid_bind_text(sqlite3_stmt *st, int i, const char *s)
{
    return sqlite3_bind_text(st, i, s ? s : "", -1, SQLITE_TRANSIENT);
}

int wid_bind_blob(sqlite3_stmt *st, int i, const void *p, size_t len)
{
    if (len > INT_MAX)
        return SQLITE_TOOBIG;
    return sqlite3_bind_blob(st, i, len ? p : "", (int)len, SQLITE_TRANSIENT);
}

void wid_column_text(sqlite3_stmt *st, int i, char *out, size_t cap)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    wid_copy(out, cap, t ? (const char *)t : "");
}

ward_err wid_step_done(ward_identity *db, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);
    ward_err err = WARD_OK;
    if (rc != SQLITE_DONE)
        err = wid_sql_err(db, what);
    sqlite3_finalize(st);
    return err;
}

static ward_err exec_const(ward_identity *db, const char *sql, const char *what)
{
    char *msg = NULL;
    if (sqlite3_exec(db->sql, sql, NULL, NULL, &msg) != SQLITE_OK) {
        ward_err e = ward_err_set(WARD_ERR_IO, "identity database: %s: %s", what,
                                  msg ? msg : sqlite3_errmsg(db->sql));
        sqlite3_free(msg);
        return e;
    }
    return WARD_OK;
}

ward_err wid_begin(ward_identity *db)
{
    return exec_const(db, "BEGIN IMMEDIATE", "begin");
}

ward_err wid_commit(ward_identity *db)
{
    ward_err err = exec_const(db, "COMMIT", "commit");
    if (err)
        wid_rollback(db);
    return err;
}

void wid_rollback(ward_identity *db)
{
    if (!sqlite3_get_autocommit(db->sql))
        sqlite3_exec(db->sql, "ROLLBACK", NULL, NULL, NULL);
}

ward_err wid_user_id(ward_identity *db, const char *name, int64_t *id)
{
    if (!ward_id_valid_name(name))
        return ward_err_set(WARD_ERR_INVALID_ARG,
                            "invalid user name (1..64 of a-z 0-9 . _ - @, starting with a-z 0-9)");
    sqlite3_stmt *st;
    ward_err err = wid_prepare(db, "SELECT id FROM users WHERE name = ?1", &st);
    if (err)
        return err;
    wid_bind_text(st, 1, name);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *id = sqlite3_column_int64(st, 0);
        err = WARD_OK;
    } else if (rc == SQLITE_DONE) {
        err = ward_err_set(WARD_ERR_NOT_FOUND, "no user '%s'", name);
    } else {
        err = wid_sql_err(db, "look up user");
    }
    sqlite3_finalize(st);
    return err;
}

/* ---- the audit event path ------------------------------------------------------------------- */

/* Every audit event leaves the module here. Wiring to the audit log is the hook the caller
 * installs: ward_identity_set_audit_hook(db, ward_identity_audit_to_log, audit). */
static ward_err record(ward_identity *db, const ward_identity_event *ev)
{
    ward_log(ev->success ? WARD_LOG_DEBUG : WARD_LOG_INFO, "identity.event", "action",
             ev->action, "actor", ev->actor, "method", ev->method, "object", ev->object,
             "outcome", ev->success ? "success" : "failure", "reason", ev->reason, "source",
             ev->source, (char *)NULL);
    if (db->hook == NULL)
        return WARD_OK;
    ward_err err = db->hook(db->hook_arg, ev);
    if (err != WARD_OK)
        ward_log(WARD_LOG_ERROR, "identity.audit_failed", "action", ev->action, "error",
                 ward_errmsg(), (char *)NULL);
    return err;
}

ward_err wid_event(ward_identity *db, const char *action, const char *method, const char *actor,
                   const char *object, int success, const char *reason, const ward_auth_ctx *ctx)
{
    char src[WID_SOURCE_MAX + 1];
    wid_source(ctx, src);
    char rid[WID_SOURCE_MAX + 1];
    wid_copy(rid, sizeof rid, ctx && ctx->request_id ? ctx->request_id : "");
    for (char *p = rid; *p; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
            *p = '?';
    ward_identity_event ev = {
        .time = wid_now(db),
        .actor = actor ? actor : "",
        .method = method ? method : "",
        .action = action ? action : "",
        .object = object ? object : "",
        .success = success,
        .reason = reason ? reason : "",
        .source = src,
        .request_id = rid,
    };
    return record(db, &ev);
}

void wid_mgmt_event(ward_identity *db, const char *action, const char *object)
{
    (void)wid_event(db, action, "", db->actor, object, 1, "", NULL);
}

void ward_identity_set_audit_hook(ward_identity *db, ward_identity_audit_fn fn, void *arg)
{
    if (db == NULL)
        return;
    db->hook = fn;
    db->hook_arg = fn ? arg : NULL;
}

void ward_identity_set_actor(ward_identity *db, const char *actor)
{
    if (db == NULL)
        return;
    wid_copy(db->actor, sizeof db->actor, actor ? wid_safe_name(actor) : "local");
}

void wid_source(const ward_auth_ctx *ctx, char out[WID_SOURCE_MAX + 1])
{
    wid_copy(out, WID_SOURCE_MAX + 1, ctx && ctx->source ? ctx->source : "");
    for (char *p = out; *p; p++)
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
            *p = '?';
}

/* ---- settings ------------------------------------------------------------------------------- */

void ward_identity_settings_default(ward_identity_settings *s)
{
    if (s == NULL)
        return;
    memset(s, 0, sizeof *s);
    s->argon2_t = 3;
    s->argon2_m_kib = 65536;
    s->argon2_p = 1;
    s->password_min = 8;
    s->user_max_failures = 5;
    s->addr_max_failures = 20;
    s->window_s = 900;
    s->lockout_s = 300;
    s->lockout_max_s = 3600;
    s->token_ttl_default_s = 86400;
    s->token_ttl_max_s = 31622400;
    wid_copy(s->totp_issuer, sizeof s->totp_issuer, "Ward");
}

static const struct {
    const char *key;
    size_t off;
    uint32_t min, max;
} setting_fields[] = {
#define F(name, lo, hi) {#name, offsetof(ward_identity_settings, name), lo, hi}
    F(argon2_t, 1, 64),
    F(argon2_m_kib, ARGON2_MIN_MEMORY, 4u << 20),
    F(argon2_p, 1, 16),
    F(password_min, 1, WARD_PASSWORD_MAX),
    F(user_max_failures, 1, 1000),
    F(addr_max_failures, 1, 100000),
    F(window_s, 1, 7 * 86400),
    F(lockout_s, 1, 7 * 86400),
    F(lockout_max_s, 1, 30 * 86400),
    F(token_ttl_default_s, 60, 31622400),
    F(token_ttl_max_s, 60, 10 * 31622400u),
#undef F
};
#define N_SETTING_FIELDS (sizeof setting_fields / sizeof setting_fields[0])

static uint32_t *field_ptr(ward_identity_settings *s, size_t i)
{
    return (uint32_t *)(void *)((char *)s + setting_fields[i].off);
}

static int valid_issuer(const char *s)
{
    size_t n = strnlen(s, 33);
    if (n == 0 || n > 32)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == ' ' || c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

static ward_err check_settings(const ward_identity_settings *s)
{
    ward_identity_settings copy = *s;
    for (size_t i = 0; i < N_SETTING_FIELDS; i++) {
        uint32_t v = *field_ptr(&copy, i);
        if (v < setting_fields[i].min || v > setting_fields[i].max)
            return ward_err_set(WARD_ERR_INVALID_ARG, "setting %s: %u is outside %u..%u",
                                setting_fields[i].key, v, setting_fields[i].min,
                                setting_fields[i].max);
    }
    if ((uint64_t)s->argon2_m_kib < 8ull * s->argon2_p)
        return ward_err_set(WARD_ERR_INVALID_ARG, "setting argon2_m_kib: at least 8 KiB per lane");
    if (s->lockout_max_s < s->lockout_s)
        return ward_err_set(WARD_ERR_INVALID_ARG, "setting lockout_max_s: below lockout_s");
    if (s->token_ttl_default_s > s->token_ttl_max_s)
        return ward_err_set(WARD_ERR_INVALID_ARG,
                            "setting token_ttl_default_s: above token_ttl_max_s");
    if (memchr(s->totp_issuer, '\0', sizeof s->totp_issuer) == NULL ||
        !valid_issuer(s->totp_issuer))
        return ward_err_set(WARD_ERR_INVALID_ARG,
                            "setting totp_issuer: 1..32 of A-Z a-z 0-9 space . _ -");
    return WARD_OK;
}

ward_err wid_load_settings(ward_identity *db, ward_identity_settings *s)
{
    ward_identity_settings_default(s);
    sqlite3_stmt *st;
    ward_err err = wid_prepare(db, "SELECT key, value FROM settings", &st);
    if (err)
        return err;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *key = (const char *)sqlite3_column_text(st, 0);
        if (key == NULL)
            continue;
        if (strcmp(key, "totp_issuer") == 0) {
            wid_column_text(st, 1, s->totp_issuer, sizeof s->totp_issuer);
            continue;
        }
        for (size_t i = 0; i < N_SETTING_FIELDS; i++) {
            if (strcmp(key, setting_fields[i].key) == 0) {
                sqlite3_int64 v = sqlite3_column_int64(st, 1);
                *field_ptr(s, i) = (v < 0 || v > UINT32_MAX) ? 0 : (uint32_t)v;
            }
        }
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return wid_sql_err(db, "read settings");
    if (check_settings(s) != WARD_OK)
        return ward_err_wrap(WARD_ERR_FORMAT, "identity database holds an invalid setting");
    return WARD_OK;
}

ward_err ward_identity_get_settings(ward_identity *db, ward_identity_settings *out)
{
    if (db == NULL || out == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "identity: NULL argument");
    return wid_load_settings(db, out);
}

static ward_err store_settings(ward_identity *db, const ward_identity_settings *s)
{
    sqlite3_stmt *st;
    ward_err err = wid_prepare(
        db, "INSERT INTO settings(key, value) VALUES (?1, ?2) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value", &st);
    if (err)
        return err;
    ward_identity_settings copy = *s;
    for (size_t i = 0; i <= N_SETTING_FIELDS && !err; i++) {
        sqlite3_reset(st);
        if (i == N_SETTING_FIELDS) {
            wid_bind_text(st, 1, "totp_issuer");
            wid_bind_text(st, 2, s->totp_issuer);
        } else {
            wid_bind_text(st, 1, setting_fields[i].key);
            sqlite3_bind_int64(st, 2, *field_ptr(&copy, i));
        }
        if (sqlite3_step(st) != SQLITE_DONE)
            err = wid_sql_err(db, "store settings");
    }
    sqlite3_finalize(st);
    return err;
}

ward_err ward_identity_set_settings(ward_identity *db, const ward_identity_settings *s)
{
    if (db == NULL || s == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "identity: NULL argument");
    ward_err err = check_settings(s);
    if (err)
        return err;
    if ((err = wid_begin(db)) != WARD_OK)
        return err;
    if ((err = store_settings(db, s)) != WARD_OK) {
        wid_rollback(db);
        return err;
    }
    if ((err = wid_commit(db)) != WARD_OK)
        return err;
    wid_mgmt_event(db, "settings.set", "");
    return WARD_OK;
}

/* ---- schema and migrations ------------------------------------------------------------------ */

static const char schema_v1[] =
    "CREATE TABLE settings(key TEXT PRIMARY KEY, value ANY) STRICT;"
    "CREATE TABLE users("
    " id INTEGER PRIMARY KEY,"
    " name TEXT NOT NULL UNIQUE,"
    " display TEXT NOT NULL DEFAULT '',"
    " disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),"
    " password TEXT,"
    " totp_secret BLOB,"
    " totp_pending BLOB,"
    " totp_alg INTEGER NOT NULL DEFAULT 1,"
    " totp_digits INTEGER NOT NULL DEFAULT 6,"
    " totp_period INTEGER NOT NULL DEFAULT 30,"
    " totp_last_step INTEGER NOT NULL DEFAULT -1,"
    " created INTEGER NOT NULL,"
    " updated INTEGER NOT NULL) STRICT;"
    "CREATE TABLE roles("
    " id INTEGER PRIMARY KEY,"
    " name TEXT NOT NULL UNIQUE,"
    " description TEXT NOT NULL DEFAULT '',"
    " sensitive INTEGER NOT NULL DEFAULT 0 CHECK (sensitive IN (0, 1)),"
    " builtin INTEGER NOT NULL DEFAULT 0) STRICT;"
    "CREATE TABLE permissions("
    " id INTEGER PRIMARY KEY,"
    " name TEXT NOT NULL UNIQUE,"
    " description TEXT NOT NULL DEFAULT '') STRICT;"
    "CREATE TABLE role_permissions("
    " role_id INTEGER NOT NULL REFERENCES roles(id) ON DELETE CASCADE,"
    " perm_id INTEGER NOT NULL REFERENCES permissions(id) ON DELETE CASCADE,"
    " PRIMARY KEY (role_id, perm_id)) STRICT, WITHOUT ROWID;"
    "CREATE INDEX role_permissions_perm ON role_permissions(perm_id);"
    "CREATE TABLE user_roles("
    " user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    " role_id INTEGER NOT NULL REFERENCES roles(id) ON DELETE RESTRICT,"
    " PRIMARY KEY (user_id, role_id)) STRICT, WITHOUT ROWID;"
    "CREATE INDEX user_roles_role ON user_roles(role_id);"
    "CREATE TABLE tokens("
    " id TEXT PRIMARY KEY,"
    " user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    " hash BLOB NOT NULL UNIQUE,"
    " description TEXT NOT NULL DEFAULT '',"
    " created INTEGER NOT NULL,"
    " expires INTEGER NOT NULL,"
    " revoked INTEGER,"
    " last_used INTEGER) STRICT;"
    "CREATE INDEX tokens_user ON tokens(user_id);"
    "CREATE TABLE cas("
    " fingerprint BLOB PRIMARY KEY,"
    " subject TEXT NOT NULL,"
    " not_after INTEGER NOT NULL,"
    " der BLOB NOT NULL,"
    " created INTEGER NOT NULL) STRICT;"
    "CREATE TABLE user_certs("
    " spki_sha256 BLOB PRIMARY KEY,"
    " user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    " created INTEGER NOT NULL) STRICT;"
    "CREATE INDEX user_certs_user ON user_certs(user_id);"
    "CREATE TABLE attest_bindings("
    " id INTEGER PRIMARY KEY,"
    " user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    " kind INTEGER NOT NULL,"
    " measurement BLOB NOT NULL,"
    " signer BLOB NOT NULL,"
    " product_id INTEGER NOT NULL,"
    " min_svn INTEGER NOT NULL,"
    " allow_debug INTEGER NOT NULL,"
    " created INTEGER NOT NULL) STRICT;"
    "CREATE INDEX attest_bindings_user ON attest_bindings(user_id);"
    "CREATE TABLE rate_limits("
    " kind INTEGER NOT NULL,"
    " key TEXT NOT NULL,"
    " window_start INTEGER NOT NULL,"
    " failures INTEGER NOT NULL,"
    " lockouts INTEGER NOT NULL,"
    " locked_until INTEGER NOT NULL,"
    " expires INTEGER NOT NULL,"
    " PRIMARY KEY (kind, key)) STRICT;"
    "CREATE INDEX rate_limits_expires ON rate_limits(expires);";

/* The default roles and permissions (docs/security.md, "Roles and permissions"). */
static const struct {
    const char *name, *description;
} default_perms[] = {
    {"task.create", "post a task manifest (start a computation)"},
    {"task.read", "read tasks: status, manifest, evidence"},
    {"task.cancel", "ask to cancel a task (counts toward its cancel quorum)"},
    {"data.upload", "upload encrypted input to a task slot"},
    {"result.read", "fetch a task's encrypted result"},
    {"ta.register", "register a TA image (code that runs on the node)"},
    {"ta.read", "list registered TA images and their measurements"},
    {"key.release", "release keys from the key management service"},
    {"audit.read", "read the audit log"},
    {"audit.export", "export the audit log (JSON lines for a SIEM)"},
    {"node.operate", "operate the node: start, stop, configure, manage TEE instances"},
    {"node.monitor", "read metrics, health and alarms"},
    {"user.manage", "add, change and disable users; passwords, TOTP, tokens, certificates"},
    {"role.manage", "add and delete roles, grant and revoke permissions, assign roles"},
};

static const struct {
    const char *name, *description;
    int sensitive;
    const char *perms; /* space-separated; "*" = every default permission */
} default_roles[] = {
    {"admin", "administers users, roles and the node (always needs strong authentication)", 1,
     "*"},
    {"operator", "runs the node and registers TA images", 1,
     "node.operate node.monitor ta.register ta.read task.read"},
    {"data-provider", "creates tasks and provides encrypted input", 0,
     "task.create task.read task.cancel data.upload ta.read"},
    {"result-consumer", "receives results of tasks", 0, "task.read task.cancel result.read"},
    {"auditor", "reads and exports the audit log", 0,
     "audit.read audit.export node.monitor task.read"},
};

static ward_err seed_defaults(ward_identity *db)
{
    sqlite3_stmt *pst = NULL, *rst = NULL, *gst = NULL;
    ward_err err = wid_prepare(db, "INSERT INTO permissions(name, description) VALUES (?1, ?2)",
                               &pst);
    if (!err)
        err = wid_prepare(db, "INSERT INTO roles(name, description, sensitive, builtin) "
                              "VALUES (?1, ?2, ?3, 1)", &rst);
    if (!err)
        err = wid_prepare(db, "INSERT INTO role_permissions(role_id, perm_id) "
                              "SELECT r.id, p.id FROM roles r, permissions p "
                              "WHERE r.name = ?1 AND p.name = ?2", &gst);
    for (size_t i = 0; !err && i < sizeof default_perms / sizeof default_perms[0]; i++) {
        sqlite3_reset(pst);
        wid_bind_text(pst, 1, default_perms[i].name);
        wid_bind_text(pst, 2, default_perms[i].description);
        if (sqlite3_step(pst) != SQLITE_DONE)
            err = wid_sql_err(db, "seed permissions");
    }
    for (size_t i = 0; !err && i < sizeof default_roles / sizeof default_roles[0]; i++) {
        sqlite3_reset(rst);
        wid_bind_text(rst, 1, default_roles[i].name);
        wid_bind_text(rst, 2, default_roles[i].description);
        sqlite3_bind_int(rst, 3, default_roles[i].sensitive);
        if (sqlite3_step(rst) != SQLITE_DONE) {
            err = wid_sql_err(db, "seed roles");
            break;
        }
        const char *list = default_roles[i].perms;
        for (size_t k = 0; !err && k < sizeof default_perms / sizeof default_perms[0]; k++) {
            const char *pn = default_perms[k].name;
            int grant = strcmp(list, "*") == 0;
            for (const char *p = list; !grant && (p = strstr(p, pn)) != NULL; p++) {
                size_t n = strlen(pn);
                if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
                    grant = 1;
            }
            if (!grant)
                continue;
            sqlite3_reset(gst);
            wid_bind_text(gst, 1, default_roles[i].name);
            wid_bind_text(gst, 2, pn);
            if (sqlite3_step(gst) != SQLITE_DONE || sqlite3_changes(db->sql) != 1)
                err = wid_sql_err(db, "seed grants");
        }
    }
    sqlite3_finalize(pst);
    sqlite3_finalize(rst);
    sqlite3_finalize(gst);
    return err;
}

static ward_err key_check_value(const uint8_t *key, uint8_t kcv[WARD_SHA256_LEN])
{
    return ward_hmac(WARD_HASH_SHA256, key, WARD_IDENTITY_KEY_LEN, KCV_LABEL, strlen(KCV_LABEL),
                     kcv);
}

/* In the creating transaction: remember that the database is keyed, and by which key. */
static ward_err store_kcv(ward_identity *db)
{
    uint8_t kcv[WARD_SHA256_LEN];
    ward_err err = key_check_value(db->key, kcv);
    if (err)
        return err;
    sqlite3_stmt *st;
    if ((err = wid_prepare(db, "INSERT INTO settings(key, value) VALUES ('secrets_kcv', ?1)",
                           &st)))
        return err;
    wid_bind_blob(st, 1, kcv, sizeof kcv);
    return wid_step_done(db, st, "store key check");
}

/* Schema 2: CRLs of the trusted CAs (one per CA, the newest loaded; removed with the CA), and
 * task.create for result-consumer (an analyst proposes a query; every party still signs the
 * manifest). The grant goes to the built-in role only, in existing databases as in new ones:
 * seed_defaults is schema 1's data and stays as it was. */
static const char schema_v2[] =
    "CREATE TABLE crls("
    " ca_fingerprint BLOB PRIMARY KEY REFERENCES cas(fingerprint) ON DELETE CASCADE,"
    " issuer TEXT NOT NULL,"
    " this_update INTEGER NOT NULL,"
    " next_update INTEGER NOT NULL,"
    " revoked INTEGER NOT NULL,"
    " der BLOB NOT NULL,"
    " created INTEGER NOT NULL) STRICT;"
    "INSERT OR IGNORE INTO role_permissions(role_id, perm_id)"
    " SELECT r.id, p.id FROM roles r, permissions p"
    " WHERE r.name = 'result-consumer' AND r.builtin = 1 AND p.name = 'task.create';";

/* migrations[v] takes the schema from version v to v + 1. */
static const struct {
    const char *ddl;
    ward_err (*data)(ward_identity *db);
    const char *set_version; /* constant PRAGMA text */
} migrations[SCHEMA_VERSION] = {
    {schema_v1, seed_defaults, "PRAGMA user_version = 1"},
    {schema_v2, NULL, "PRAGMA user_version = 2"},
};

static ward_err read_pragma_int(ward_identity *db, const char *sql, int64_t *out)
{
    sqlite3_stmt *st;
    ward_err err = wid_prepare(db, sql, &st);
    if (err)
        return err;
    if (sqlite3_step(st) == SQLITE_ROW)
        *out = sqlite3_column_int64(st, 0);
    else
        err = wid_sql_err(db, "read pragma");
    sqlite3_finalize(st);
    return err;
}

static ward_err migrate(ward_identity *db)
{
    for (;;) {
        int64_t version = 0, app = 0;
        ward_err err = read_pragma_int(db, "PRAGMA user_version", &version);
        if (!err)
            err = read_pragma_int(db, "PRAGMA application_id", &app);
        if (err)
            return err;
        if (version > 0 && app != APPLICATION_ID)
            return ward_err_set(WARD_ERR_FORMAT, "%s is not a Ward identity database",
                                WARD_IDENTITY_FILE);
        if (version > SCHEMA_VERSION)
            return ward_err_set(WARD_ERR_UNSUPPORTED,
                                "identity database schema %lld is newer than this Ward's (%d)",
                                (long long)version, SCHEMA_VERSION);
        if (version < 0)
            return ward_err_set(WARD_ERR_FORMAT, "identity database: bad schema version");
        if (version == SCHEMA_VERSION)
            return WARD_OK;
        if ((err = wid_begin(db)) != WARD_OK)
            return err;
        /* Another process may have migrated between the read and the lock: read again. */
        int64_t again = 0;
        err = read_pragma_int(db, "PRAGMA user_version", &again);
        if (!err && again == version) {
            size_t v = (size_t)version;
            err = exec_const(db, migrations[v].ddl, "migrate");
            if (!err && migrations[v].data)
                err = migrations[v].data(db);
            if (!err && v == 0) {
                err = exec_const(db, "PRAGMA application_id = 1463898692", "set application id");
                if (!err && db->has_key)
                    err = store_kcv(db);
            }
            if (!err)
                err = exec_const(db, migrations[v].set_version, "set schema version");
        }
        if (err) {
            wid_rollback(db);
            return ward_err_wrap(err, "migrating the identity database from schema %lld",
                                 (long long)version);
        }
        if ((err = wid_commit(db)) != WARD_OK)
            return err;
    }
}

/* ---- opening -------------------------------------------------------------------------------- */

static ward_err make_dirs(const char *dir)
{
    char path[PATH_MAX_LEN + 1];
    size_t n = strlen(dir);
    memcpy(path, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (path[i] != '/' && path[i] != '\0')
            continue;
        char saved = path[i];
        path[i] = '\0';
        if (mkdir(path, 0700) != 0 && errno != EEXIST)
            return ward_err_set(WARD_ERR_IO, "cannot create %s: %s", path, strerror(errno));
        path[i] = saved;
    }
    return WARD_OK;
}

static ward_err check_file(const char *path, int create)
{
    int flags = O_RDWR | O_CLOEXEC | O_NOFOLLOW | (create ? O_CREAT : 0);
    int fd = open(path, flags, 0600);
    if (fd < 0) {
        if (errno == ENOENT)
            return ward_err_set(WARD_ERR_NOT_FOUND, "no identity database at %s", path);
        if (errno == ELOOP)
            return ward_err_set(WARD_ERR_PERMISSION, "%s is a symbolic link", path);
        return ward_err_set(WARD_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    }
    struct stat st;
    ward_err err = WARD_OK;
    if (fstat(fd, &st) != 0)
        err = ward_err_set(WARD_ERR_IO, "cannot stat %s: %s", path, strerror(errno));
    else if (!S_ISREG(st.st_mode))
        err = ward_err_set(WARD_ERR_PERMISSION, "%s is not a regular file", path);
    else if (st.st_uid != geteuid())
        err = ward_err_set(WARD_ERR_PERMISSION, "%s is owned by another user (uid %u)", path,
                           (unsigned)st.st_uid);
    else if ((st.st_mode & 077) != 0)
        err = ward_err_set(WARD_ERR_PERMISSION,
                           "%s has mode %04o: group/other access refused (chmod 600)", path,
                           (unsigned)(st.st_mode & 07777));
    close(fd);
    return err;
}

static ward_err check_key(ward_identity *db)
{
    uint8_t kcv[WARD_SHA256_LEN];
    ward_err err = WARD_OK;
    if (db->has_key && (err = key_check_value(db->key, kcv)) != WARD_OK)
        return err;
    sqlite3_stmt *st;
    if ((err = wid_prepare(db, "SELECT value FROM settings WHERE key = 'secrets_kcv'", &st)))
        return err;
    int rc = sqlite3_step(st);
    int stored = 0, match = 0;
    if (rc == SQLITE_ROW) {
        stored = 1;
        const void *b = sqlite3_column_blob(st, 0);
        int len = sqlite3_column_bytes(st, 0);
        match = db->has_key && b != NULL && len == WARD_SHA256_LEN &&
                ward_ct_equal(b, kcv, WARD_SHA256_LEN);
    } else if (rc != SQLITE_DONE) {
        err = wid_sql_err(db, "read key check");
    }
    sqlite3_finalize(st);
    if (err)
        return err;
    if (stored && !db->has_key)
        return ward_err_set(WARD_ERR_AUTH,
                            "the identity database was created with a secrets key; none given");
    if (!stored && db->has_key)
        return ward_err_set(WARD_ERR_AUTH,
                            "the identity database was created without a secrets key");
    if (stored && !match)
        return ward_err_set(WARD_ERR_AUTH, "the identity database's secrets key does not match");
    return WARD_OK;
}

ward_err ward_identity_open(const char *dir, int create, const uint8_t *secrets_key,
                            ward_identity **out)
{
    if (out == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "identity: NULL output");
    *out = NULL;
    if (dir == NULL || dir[0] == '\0')
        return ward_err_set(WARD_ERR_INVALID_ARG, "identity: no data directory");
    size_t dlen = strlen(dir);
    if (dlen > PATH_MAX_LEN - sizeof WARD_IDENTITY_FILE - 1)
        return ward_err_set(WARD_ERR_INVALID_ARG, "identity: data directory path too long");
    ward_err err;
    if (create && (err = make_dirs(dir)) != WARD_OK)
        return err;
    char path[PATH_MAX_LEN + 1];
    snprintf(path, sizeof path, "%s/%s", dir, WARD_IDENTITY_FILE);
    if ((err = check_file(path, create)) != WARD_OK)
        return err;

    ward_identity *db = calloc(1, sizeof *db);
    if (db == NULL)
        return ward_err_set(WARD_ERR_NOMEM, "identity: out of memory");
    db->clock = default_clock;
    wid_copy(db->actor, sizeof db->actor, "local");
    if (secrets_key != NULL) {
        memcpy(db->key, secrets_key, WARD_IDENTITY_KEY_LEN);
        db->has_key = 1;
    }
    int rc = sqlite3_open_v2(path, &db->sql,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW |
                                 SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE,
                             NULL);
    if (rc != SQLITE_OK) {
        err = ward_err_set(WARD_ERR_IO, "cannot open %s: %s", path,
                           db->sql ? sqlite3_errmsg(db->sql) : sqlite3_errstr(rc));
        ward_identity_close(db);
        return err;
    }
    sqlite3_db_config(db->sql, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
    sqlite3_db_config(db->sql, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
    sqlite3_db_config(db->sql, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, NULL);
    sqlite3_busy_timeout(db->sql, BUSY_TIMEOUT_MS);
    err = exec_const(db, "PRAGMA journal_mode = WAL", "journal mode");
    if (!err)
        err = exec_const(db, "PRAGMA foreign_keys = ON", "foreign keys");
    if (!err)
        err = exec_const(db, "PRAGMA secure_delete = ON", "secure delete");
    if (!err)
        err = exec_const(db, "PRAGMA synchronous = FULL", "synchronous");
    if (!err)
        err = migrate(db);
    if (!err)
        err = check_key(db);
    if (err) {
        ward_identity_close(db);
        return err;
    }
    *out = db;
    return WARD_OK;
}

void ward_identity_close(ward_identity *db)
{
    if (db == NULL)
        return;
    if (db->sql)
        sqlite3_close_v2(db->sql);
    if (db->dummy_hash) {
        ward_wipe(db->dummy_hash, strlen(db->dummy_hash));
        free(db->dummy_hash);
    }
    ward_wipe(db, sizeof *db);
    free(db);
}

/* ---- passwords ------------------------------------------------------------------------------ */

static ward_err hash_password(ward_identity *db, const ward_identity_settings *s,
                              const char *pw, size_t len, char **out)
{
    *out = NULL;
    if (len > WARD_PASSWORD_MAX || len < s->password_min)
        return ward_err_set(WARD_ERR_INVALID_ARG, "a password must be %u..%d bytes",
                            s->password_min, WARD_PASSWORD_MAX);
    if (memchr(pw, '\0', len) != NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "a password cannot contain a NUL byte");
    uint8_t salt[SALT_LEN];
    ward_err err = ward_random(salt, sizeof salt);
    if (err)
        return err;
    size_t enc_len = argon2_encodedlen(s->argon2_t, s->argon2_m_kib, s->argon2_p, SALT_LEN,
                                       HASH_LEN, Argon2_id);
    char *enc = calloc(1, enc_len + 1);
    if (enc == NULL)
        return ward_err_set(WARD_ERR_NOMEM, "identity: out of memory");
    int rc = argon2id_hash_encoded(s->argon2_t, s->argon2_m_kib, s->argon2_p, pw, len, salt,
                                   SALT_LEN, HASH_LEN, enc, enc_len + 1);
    if (rc != ARGON2_OK) {
        free(enc);
        return ward_err_set(rc == ARGON2_MEMORY_ALLOCATION_ERROR ? WARD_ERR_NOMEM : WARD_ERR_CRYPTO,
                            "argon2id: %s", argon2_error_message(rc));
    }
    db->stats.argon2_hashes++;
    *out = enc;
    return WARD_OK;
}

/* 1 if enc was not made with the current cost settings. */
static int needs_rehash(const ward_identity_settings *s, const char *enc)
{
    char prefix[96];
    snprintf(prefix, sizeof prefix, "$argon2id$v=19$m=%u,t=%u,p=%u$", s->argon2_m_kib,
             s->argon2_t, s->argon2_p);
    return strncmp(enc, prefix, strlen(prefix)) != 0;
}

/* The dummy hash for absent users: a random password hashed with the current cost, made once
 * per handle (and again if the cost changes) before any user is looked up, so that the first
 * attempt costs the same whether or not the user exists. */
static ward_err ensure_dummy(ward_identity *db, const ward_identity_settings *s)
{
    if (db->dummy_hash != NULL && db->dummy_params[0] == s->argon2_t &&
        db->dummy_params[1] == s->argon2_m_kib && db->dummy_params[2] == s->argon2_p)
        return WARD_OK;
    uint8_t pw[32];
    ward_err err = ward_random(pw, sizeof pw);
    if (err)
        return err;
    ward_identity_settings t = *s;
    t.password_min = 1;
    char hexpw[2 * sizeof pw + 1];
    wid_hex(pw, sizeof pw, hexpw);
    char *enc = NULL;
    err = hash_password(db, &t, hexpw, strlen(hexpw), &enc);
    if (!err)
        db->stats.argon2_hashes--; /* not a user's password (counted only on success) */
    ward_wipe(pw, sizeof pw);
    ward_wipe(hexpw, sizeof hexpw);
    if (err)
        return err;
    if (db->dummy_hash) {
        ward_wipe(db->dummy_hash, strlen(db->dummy_hash));
        free(db->dummy_hash);
    }
    db->dummy_hash = enc;
    db->dummy_params[0] = s->argon2_t;
    db->dummy_params[1] = s->argon2_m_kib;
    db->dummy_params[2] = s->argon2_p;
    return WARD_OK;
}

/* ---- users ---------------------------------------------------------------------------------- */

static ward_err role_id(ward_identity *db, const char *role, int64_t *id)
{
    if (!ward_id_valid_name(role))
        return ward_err_set(WARD_ERR_INVALID_ARG, "invalid role name");
    sqlite3_stmt *st;
    ward_err err = wid_prepare(db, "SELECT id FROM roles WHERE name = ?1", &st);
    if (err)
        return err;
    wid_bind_text(st, 1, role);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *id = sqlite3_column_int64(st, 0);
    else if (rc == SQLITE_DONE)
        err = ward_err_set(WARD_ERR_NOT_FOUND, "no role '%s'", role);
    else
        err = wid_sql_err(db, "look up role");
    sqlite3_finalize(st);
    return err;
}

ward_err ward_identity_user_add(ward_identity *db, const char *name, const char *display,
                                const char *password, size_t password_len,
                                const char *const *roles, size_t n_roles)
{
    if (db == NULL || (roles == NULL && n_roles != 0))
        return ward_err_set(WARD_ERR_INVALID_ARG, "identity: NULL argument");
    if (!ward_id_valid_name(name))
        return ward_err_set(WARD_ERR_INVALID_ARG,
                            "invalid user name (1..64 of a-z 0-9 . _ - @, starting with a-z 0-9)");
    if (!wid_valid_display(display))
        return ward_err_set(WARD_ERR_INVALID_ARG,
                            "invalid display name (at most %d bytes of UTF-8, no control "
                            "characters)", WARD_ID_DISPLAY_MAX);
    if (n_roles > WARD_PRINCIPAL_MAX_ROLES)
        return ward_err_set(WARD_ERR_LIMIT, "a user has at most %d roles",
                            WARD_PRINCIPAL_MAX_ROLES);
    ward_identity_settings s;
    ward_err err = wid_load_settings(db, &s);
    if (err)
        return err;
    char *enc = NULL;
    if (password != NULL && (err = hash_password(db, &s, password, password_len, &enc)))
        return err;
    int64_t now = wid_now(db);
    if ((err = wid_begin(db)) != WARD_OK)
        goto out;
    sqlite3_stmt *st;
    if ((err = wid_prepare(db, "INSERT INTO users(name, display, password, created, updated) "
                               "VALUES (?1, ?2, ?3, ?4, ?4)", &st)))
        goto fail;
    wid_bind_text(st, 1, name);
    wid_bind_text(st, 2, display ? display : "");
    if (enc)
        wid_bind_text(st, 3, enc);
    else
        sqlite3_bind_null(st, 3);
    sqlite3_bind_int64(st, 4, now);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc == SQLITE_CONSTRAINT_UNIQUE) {
        err = ward_err_set(WARD_ERR_EXISTS, "user '%s' exists", name);
        goto fail;
    }
    if (rc != SQLITE_DONE) {
        err = wid_sql_err(db, "add user");
        goto fail;
    }
    int64_t uid = sqlite3_last_insert_rowid(db->sql);
    for (size_t i = 0; i < n_roles; i++) {
        int64_t rid = 0;
        if ((err = role_id(db, roles[i], &rid)))
            goto fail;
        if ((err = wid_prepare(db, "INSERT OR IGNORE INTO user_roles(user_id, role_id) "
                                   "VALUES (?1, ?2)", &st)))
            goto fail;
        sqlite3_bind_int64(st, 1, uid);
        sqlite3_bind_int64(st, 2, rid);
        if ((err = wid_step_done(db, st, "assign role")))
            goto fail;
    }
    if ((err = wid_commit(db)) != WARD_OK)
        goto out;
    wid_mgmt_event(db, "user.add", name);
    for (size_t i = 0; i < n_roles; i++)
        wid_event(db, "user.role.add", "", db->actor, name, 1, roles[i], NULL);
    goto out;
fail:
    wid_rollback(db);
out:
    if (enc) {
        ward_wipe(enc, strlen(enc));
        free(enc);
    }
    return err;
}

/* Runs an UPDATE of one user bound as ?1 = name (with other values bound by the caller's
 * binder); WARD_ERR_NOT_FOUND if no row changed. */
static ward_err update_user(ward_identity *db, sqlite3_stmt *st, const char *name)
{
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return wid_sql_err(db, "update user");
    if (sqlite3_changes(db->sql) != 1)
        return ward_err_set(WARD_ERR_NOT_FOUND, "no user '%s'", name);
    return WARD_OK;
}

ward_err ward_identity_user_set_password(ward_identity *db, const char *name,
                                         const char *password, size_t password_len)
{
    if (db == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "identity: NULL argument");
    int64_t uid = 0;
    ward_err err = wid_user_id(db, name, &uid);
    if (err)
        return err;
    ward_identity_settings s;
    if ((err = wid_load_settings(db, &s)))
        return err;
    char *enc = NULL;
    if (password != NULL && (err = hash_password(db, &s, password, password_len, &enc)))
        return err;
    sqlite3_stmt *st;
    if (!(err = wid_prepare(db, "UPDATE users SET password = ?2, updated = ?3 WHERE name = ?1",
                            &st))) {
        wid_bind_text(st, 1, name);
        if (enc)
            wid_bind_text(st, 2, enc);
        else
            sqlite3_bind_null(st, 2);
        sqlite3_bind_int64(st, 3, wid_now(db));
        err = update_user(db, st, name);
    }
    if (enc) {
        ward_wipe(enc, strlen(enc));
        free(enc);
    }
    if (!err) {
        /* A new password ends a lockout of the name. */
        wid_rate_clear(db, WID_RATE_USER, name);
        wid_mgmt_event(db, password ? "user.passwd" : "user.passwd.remove", name);
    }
    return err;
}

ward_err ward_identity_user_set_disabled(ward_identity *db, const char *name, int disabled)
{
    if (db == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "identity: NULL argument");
    if (!ward_id_valid_name(name))
        return wid_user_id(db, name, &(int64_t){0});
    sqlite3_stmt *st;
    ward_err err = wid_prepare(db, "UPDATE users SET disabled = ?2, updated = ?3 WHERE name = ?1",
                               &st);
    if (err)
        return err;
    wid_bind_text(st, 1, name);
    sqlite3_bind_int(st, 2, disabled ? 1 : 0);
    sqlite3_bind_int64(st, 3, wid_now(db));
    if ((err = update_user(db, st, name)))
        return err;
    wid_mgmt_event(db, disabled ? "user.disable" : "user.enable", name);
    return WARD_OK;
}

ward_err ward_identity_user_set_display(ward_identity *db, const char *name,
                                        const char *display)
{
    if (db == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "identity: NULL argument");
    if (!ward_id_valid_name(name))
        return wid_user_id(db, name, &(int64_t){0});
    if (!wid_valid_display(display))
        return ward_err_set(WARD_ERR_INVALID_ARG, "invalid display name");
    sqlite3_stmt *st;
    ward_err err = wid_prepare(db, "UPDATE users SET display = ?2, updated = ?3 WHERE name = ?1",
                               &st);
    if (err)
        return err;
    wid_bind_text(st, 1, name);
    wid_bind_text(st, 2, display ? display : "");
    sqlite3_bind_int64(st, 3, wid_now(db));
    if ((err = update_user(db, st, name)))
        return err;
    wid_mgmt_event(db, "user.display", name);
    return WARD_OK;
}

int ward_identity_user_exists(ward_identity *db, const char *name)
{
    if (db == NULL) {
        ward_err_set(WARD_ERR_INVALID_ARG, "identity: NULL argument");
        return -1;
    }
    if (!ward_id_valid_name(name))
        return 0;
    int64_t id;
    ward_err err = wid_user_id(db, name, &id);
    if (err == WARD_ERR_NOT_FOUND) {
        ward_err_clear();
        return 0;
    }
    return err ? -1 : 1;
}

/* The user's role names, sorted, into a JSON array or a principal. */
static ward_err user_roles(ward_identity *db, int64_t uid, json_t *arr, ward_principal *p)
{
    sqlite3_stmt *st;
    ward_err err = wid_prepare(db, "SELECT r.name FROM user_roles ur JOIN roles r "
                                   "ON r.id = ur.role_id WHERE ur.user_id = ?1 ORDER BY r.name",
                               &st);
    if (err)
        return err;
    sqlite3_bind_int64(st, 1, uid);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *r = (const char *)sqlite3_column_text(st, 0);
        if (r == NULL)
            continue;
        if (arr && json_array_append_new(arr, json_string(r)) != 0) {
            err = ward_err_set(WARD_ERR_NOMEM, "identity: out of memory");
            break;
        }
        if (p && p->n_roles < WARD_PRINCIPAL_MAX_ROLES)
            wid_copy(p->roles[p->n_roles++], sizeof p->roles[0], r);
    }
    if (!err && rc != SQLITE_DONE)
        err = wid_sql_err(db, "read roles");
    sqlite3_finalize(st);
    return err;
}

static json_t *user_row(ward_identity *db, sqlite3_stmt *st, void *arg, ward_err *err)
{
    (void)arg;
    const char *totp = sqlite3_column_int(st, 5)   ? "active"
                       : sqlite3_column_int(st, 6) ? "pending"
                                                   : "none";
    json_t *roles = json_array();
    json_t *u = json_pack("{s:s, s:s, s:b, s:b, s:s, s:o, s:I, s:I}", "name",
                          (const char *)sqlite3_column_text(st, 1), "display",
                          (const char *)sqlite3_column_text(st, 2), "disabled",
                          sqlite3_column_int(st, 3), "password", sqlite3_column_int(st, 4),
                          "totp", totp, "roles", roles ? roles : json_array(), "created",
                          (json_int_t)sqlite3_column_int64(st, 7), "updated",
                          (json_int_t)sqlite3_column_int64(st, 8));
    if (u != NULL &&
        (*err = user_roles(db, sqlite3_column_int64(st, 0), json_object_get(u, "roles"),
                           NULL)) != WARD_OK) {
        json_decref(u);
        u = NULL;
    }
    return u;
}

ward_err ward_identity_users_json(ward_identity *db, json_t **out)
{
    if (db == NULL || out == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "identity: NULL argument");
    return wid_rows_json(db, "SELECT id, name, display, disabled, password IS NOT NULL, "
                             "totp_secret IS NOT NULL, totp_pending IS NOT NULL, created, "
                             "updated FROM users ORDER BY name",
                         NULL, "list users", user_row, NULL, out);
}

ward_err wid_rows_json(ward_identity *db, const char *sql, const char *param, const char *what,
                       wid_row_fn row, void *arg, json_t **out)
{
    *out = NULL;
    json_t *arr = json_array();
    if (arr == NULL)
        return ward_err_set(WARD_ERR_NOMEM, "identity: out of memory");
    sqlite3_stmt *st;
    ward_err err = wid_prepare(db, sql, &st);
    if (err) {
        json_decref(arr);
        return err;
    }
    if (sqlite3_bind_parameter_count(st) >= 1) {
        if (param != NULL)
            wid_bind_text(st, 1, param);
        else
            sqlite3_bind_null(st, 1);
    }
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *v = row(db, st, arg, &err);
        if (v == NULL || json_array_append_new(arr, v) != 0) {
            if (err == WARD_OK)
                err = ward_err_set(WARD_ERR_NOMEM, "identity: out of memory");
            break;
        }
    }
    if (!err && rc != SQLITE_DONE)
        err = wid_sql_err(db, what);
    sqlite3_finalize(st);
    if (err) {
        json_decref(arr);
        return err;
    }
    *out = arr;
    return WARD_OK;
}

/* ---- rate limits ---------------------------------------------------------------------------- */

ward_err wid_rate_locked(ward_identity *db, int kind, const char *key, int *locked)
{
    *locked = 0;
    sqlite3_stmt *st;
    ward_err err = wid_prepare(
        db, "SELECT locked_until FROM rate_limits WHERE kind = ?1 AND key = ?2", &st);
    if (err)
        return err;
    sqlite3_bind_int(st, 1, kind);
    wid_bind_text(st, 2, key);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *locked = sqlite3_column_int64(st, 0) > wid_now(db);
    else if (rc != SQLITE_DONE)
        err = wid_sql_err(db, "read rate limit");
    sqlite3_finalize(st);
    return err;
}

static int64_t max64(int64_t a, int64_t b)
{
    return a > b ? a : b;
}

ward_err wid_rate_fail(ward_identity *db, const ward_identity_settings *s, int kind,
                       const char *key)
{
    int64_t now = wid_now(db);
    int64_t window = s->window_s;
    uint32_t max = kind == WID_RATE_USER ? s->user_max_failures : s->addr_max_failures;
    ward_err err = wid_begin(db);
    if (err)
        return err;
    sqlite3_stmt *st = NULL;
    /* Rows whose state equals "no row" go first, so that guessed names do not pile up. */
    if ((err = wid_prepare(db, "DELETE FROM rate_limits WHERE expires < ?1", &st)))
        goto fail;
    sqlite3_bind_int64(st, 1, now);
    if ((err = wid_step_done(db, st, "prune rate limits")))
        goto fail;
    if ((err = wid_prepare(db, "SELECT window_start, failures, lockouts, locked_until "
                               "FROM rate_limits WHERE kind = ?1 AND key = ?2", &st)))
        goto fail;
    sqlite3_bind_int(st, 1, kind);
    wid_bind_text(st, 2, key);
    int64_t wstart = now, fails = 0, lockouts = 0, until = 0;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        wstart = sqlite3_column_int64(st, 0);
        fails = sqlite3_column_int64(st, 1);
        lockouts = sqlite3_column_int64(st, 2);
        until = sqlite3_column_int64(st, 3);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        err = wid_sql_err(db, "read rate limit");
        goto fail;
    }
    if (now - wstart >= window || now < wstart) {
        wstart = now;
        fails = 0;
    }
    if (until != 0 && now >= until + window)
        lockouts = 0;
    if (fails < INT32_MAX)
        fails++;
    if (fails >= (int64_t)max) {
        if (lockouts < 30)
            lockouts++;
        int64_t d = (int64_t)s->lockout_s << (lockouts - 1);
        if (d > (int64_t)s->lockout_max_s || d <= 0)
            d = s->lockout_max_s;
        until = now + d;
        fails = 0;
        wstart = now;
    }
    if ((err = wid_prepare(db, "INSERT OR REPLACE INTO rate_limits(kind, key, window_start, "
                               "failures, lockouts, locked_until, expires) "
                               "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)", &st)))
        goto fail;
    sqlite3_bind_int(st, 1, kind);
    wid_bind_text(st, 2, key);
    sqlite3_bind_int64(st, 3, wstart);
    sqlite3_bind_int64(st, 4, fails);
    sqlite3_bind_int64(st, 5, lockouts);
    sqlite3_bind_int64(st, 6, until);
    sqlite3_bind_int64(st, 7, max64(wstart, until) + window);
    if ((err = wid_step_done(db, st, "store rate limit")))
        goto fail;
    return wid_commit(db);
fail:
    wid_rollback(db);
    return err;
}

ward_err wid_rate_clear(ward_identity *db, int kind, const char *key)
{
    sqlite3_stmt *st;
    ward_err err = wid_prepare(db, "DELETE FROM rate_limits WHERE kind = ?1 AND key = ?2", &st);
    if (err)
        return err;
    sqlite3_bind_int(st, 1, kind);
    wid_bind_text(st, 2, key);
    return wid_step_done(db, st, "clear rate limit");
}

ward_err wid_deny_limited(ward_identity *db, const char *action, const char *method,
                          const char *actor, int kind, const ward_auth_ctx *ctx)
{
    db->stats.rate_limited++;
    wid_event(db, action, method, actor, "", 0,
              kind == WID_RATE_USER ? "rate limited (user)" : "rate limited (address)", ctx);
    return ward_err_set(WARD_ERR_LIMIT, "%s", WID_LIMIT_DENIAL);
}

ward_err wid_auth_begin(ward_identity *db, const ward_auth_ctx *ctx, const char *action,
                        const char *method, const char *actor, ward_identity_settings *s,
                        char src[WID_SOURCE_MAX + 1])
{
    ward_err err = wid_load_settings(db, s);
    if (err)
        return err;
    wid_source(ctx, src);
    int locked = 0;
    if ((err = wid_rate_locked(db, WID_RATE_ADDR, src, &locked)))
        return err;
    if (locked)
        return wid_deny_limited(db, action, method, actor, WID_RATE_ADDR, ctx);
    return WARD_OK;
}

/* ---- the end of every authentication -------------------------------------------------------- */

ward_err wid_auth_finish(ward_identity *db, const wid_auth *a, const ward_auth_ctx *ctx,
                         ward_principal *out)
{
    memset(out, 0, sizeof *out);
    const char *method = ward_auth_method_name(a->method);
    const char *actor = wid_safe_name(a->name);
    int valid_user = a->user_id >= 0 && ward_id_valid_name(a->name);
    const char *reason = a->fail_reason;
    if (reason == NULL && !valid_user)
        reason = "unknown user";
    ward_err err = WARD_OK;
    int two = 0;
    if (reason == NULL) {
        sqlite3_stmt *st;
        if ((err = wid_prepare(db, "SELECT disabled FROM users WHERE id = ?1", &st)))
            return err;
        sqlite3_bind_int64(st, 1, a->user_id);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW && sqlite3_column_int(st, 0) != 0)
            reason = "user disabled";
        else if (rc == SQLITE_DONE)
            reason = "unknown user";
        else if (rc != SQLITE_ROW)
            err = wid_sql_err(db, "read user");
        sqlite3_finalize(st);
        if (err)
            return err;
    }
    if (reason == NULL) {
        int active = 0;
        if ((err = wid_totp_active(db, a->user_id, &active)))
            return err;
        const char *code = ctx ? ctx->totp : NULL;
        int has_code = code != NULL && code[0] != '\0';
        if (active && has_code) {
            /* A code is only tried while the user is not locked: no second-factor guessing
             * through tokens or certificates either. */
            int locked = 0;
            if ((err = wid_rate_locked(db, WID_RATE_USER, a->name, &locked)))
                return err;
            if (locked)
                return wid_deny_limited(db, a->action, method, actor, WID_RATE_USER, ctx);
            const char *verdict = NULL;
            if ((err = wid_totp_check(db, a->user_id, a->name, code, &verdict)))
                return err;
            if (verdict != NULL)
                reason = verdict;
            else
                two = 1;
        } else if (active && a->require_totp) {
            reason = "second factor missing";
        }
    }
    if (reason != NULL) {
        char src[WID_SOURCE_MAX + 1];
        wid_source(ctx, src);
        /* The user's counter guards guessable secrets: the password, and a TOTP code with any
         * method. A bad token or certificate only counts against the address. */
        int count_user = a->method == WARD_AUTH_PASSWORD || a->fail_reason == NULL;
        if (count_user && ward_id_valid_name(a->name))
            err = wid_rate_fail(db, a->settings, WID_RATE_USER, a->name);
        ward_err err2 = wid_rate_fail(db, a->settings, WID_RATE_ADDR, src);
        wid_event(db, a->action, method, actor, a->object, 0, reason, ctx);
        if (err || err2)
            return err ? err : err2;
        return ward_err_set(WARD_ERR_AUTH, "%s", WID_GENERIC_DENIAL);
    }
    /* A success with the user's guessable secrets (the password, which needs the code when
     * the user has one; or a verified code) ends their failure series. A token or a
     * certificate alone does not: it must not reset guessing of the second factor. */
    if ((a->method == WARD_AUTH_PASSWORD || two) &&
        (err = wid_rate_clear(db, WID_RATE_USER, a->name)))
        return err;
    wid_copy(out->name, sizeof out->name, a->name);
    out->method = a->method;
    out->two_factor = two;
    out->strong = two || a->strong_first;
    out->auth_time = wid_now(db);
    wid_copy(out->token_id, sizeof out->token_id, a->token_id ? a->token_id : "");
    if ((err = user_roles(db, a->user_id, NULL, out))) {
        memset(out, 0, sizeof *out);
        return err;
    }
    if ((err = wid_event(db, a->action, method, a->name, a->object, 1, "", ctx))) {
        memset(out, 0, sizeof *out);
        return ward_err_wrap(err, "authentication not recorded in the audit log");
    }
    return WARD_OK;
}

/* ---- password authentication ---------------------------------------------------------------- */

ward_err ward_identity_auth_password(ward_identity *db, const char *name, const char *password,
                                     size_t password_len, const ward_auth_ctx *ctx,
                                     ward_principal *out)
{
    if (db == NULL || out == NULL || (password == NULL && password_len != 0))
        return ward_err_set(WARD_ERR_INVALID_ARG, "identity: NULL argument");
    memset(out, 0, sizeof *out);
    static const char action[] = "auth.password";
    int valid = ward_id_valid_name(name);
    const char *actor = wid_safe_name(name);
    ward_identity_settings s;
    char src[WID_SOURCE_MAX + 1];
    /* Rate limits first: a limited attempt checks nothing. */
    ward_err err = wid_auth_begin(db, ctx, action, "password", actor, &s, src);
    if (!err)
        err = ensure_dummy(db, &s);
    if (err)
        return err;
    int locked = 0;
    if (valid) {
        if ((err = wid_rate_locked(db, WID_RATE_USER, name, &locked)))
            return err;
        if (locked)
            return wid_deny_limited(db, action, "password", actor, WID_RATE_USER, ctx);
    }

    int64_t uid = -1;
    char *enc = NULL;
    if (valid) {
        sqlite3_stmt *st;
        if ((err = wid_prepare(db, "SELECT id, password FROM users WHERE name = ?1", &st)))
            return err;
        wid_bind_text(st, 1, name);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            uid = sqlite3_column_int64(st, 0);
            const char *p = (const char *)sqlite3_column_text(st, 1);
            if (p != NULL && (enc = strdup(p)) == NULL)
                err = ward_err_set(WARD_ERR_NOMEM, "identity: out of memory");
        } else if (rc != SQLITE_DONE) {
            err = wid_sql_err(db, "look up user");
        }
        sqlite3_finalize(st);
        if (err)
            return err;
    }

    /* Exactly one Argon2 verification whatever the case: the user's hash, or the dummy. */
    const char *reason = NULL;
    int usable = password != NULL && password_len > 0 && password_len <= WARD_PASSWORD_MAX;
    if (enc != NULL && usable) {
        int rc = argon2id_verify(enc, password, password_len);
        db->stats.argon2_verifications++;
        if (rc == ARGON2_MEMORY_ALLOCATION_ERROR) {
            ward_wipe(enc, strlen(enc));
            free(enc);
            return ward_err_set(WARD_ERR_NOMEM, "argon2id: out of memory");
        }
        if (rc != ARGON2_OK)
            reason = rc == ARGON2_VERIFY_MISMATCH ? "wrong password" : "unusable password hash";
    } else {
        static const char nothing[] = "-";
        (void)argon2id_verify(db->dummy_hash, usable ? password : nothing,
                              usable ? password_len : 1);
        db->stats.argon2_dummy++;
        reason = !valid          ? "invalid user name"
                 : uid < 0       ? "unknown user"
                 : enc == NULL   ? "no password set"
                 : password_len == 0 ? "empty password"
                                 : "password too long";
    }

    wid_auth a = {
        .action = action,
        .method = WARD_AUTH_PASSWORD,
        .name = name,
        .user_id = uid,
        .fail_reason = reason,
        .require_totp = 1,
        .object = "",
        .settings = &s,
    };
    err = wid_auth_finish(db, &a, ctx, out);
    if (!err && enc != NULL && needs_rehash(&s, enc)) {
        /* Upgrade the hash to the current cost while the password is at hand. */
        char *fresh = NULL;
        ward_identity_settings t = s;
        t.password_min = 1;
        if (hash_password(db, &t, password, password_len, &fresh) == WARD_OK) {
            sqlite3_stmt *st;
            if (wid_prepare(db, "UPDATE users SET password = ?2 WHERE id = ?1 AND password = ?3",
                            &st) == WARD_OK) {
                sqlite3_bind_int64(st, 1, uid);
                wid_bind_text(st, 2, fresh);
                wid_bind_text(st, 3, enc);
                (void)wid_step_done(db, st, "rehash");
            }
            ward_wipe(fresh, strlen(fresh));
            free(fresh);
        }
        ward_err_clear();
    }
    if (enc) {
        ward_wipe(enc, strlen(enc));
        free(enc);
    }
    return err;
}
