/* Internal to the identity database (identity*.c, rbac.c): the handle, SQL helpers, the audit
 * event path, rate limits and the end of every authentication. Not installed. */
#ifndef WARD_OPS_IDENTITY_INTERNAL_H
#define WARD_OPS_IDENTITY_INTERNAL_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "ward/identity.h"

#define WID_SOURCE_MAX 128
#define WID_GENERIC_DENIAL "authentication failed"
#define WID_LIMIT_DENIAL "too many failed authentication attempts; try again later"

struct ward_identity {
    sqlite3 *sql;
    int has_key;
    uint8_t key[WARD_IDENTITY_KEY_LEN];
    ward_identity_clock_fn clock;
    void *clock_arg;
    ward_identity_audit_fn hook;
    void *hook_arg;
    char actor[WARD_ID_NAME_MAX + 1];
    char *dummy_hash; /* Argon2id encoding of a random password, made with dummy_params */
    uint32_t dummy_params[3];
    ward_identity_stats stats;
};

int64_t wid_now(ward_identity *db);

/* ---- SQL ------------------------------------------------------------------------------------ */

/* Prepares a constant statement; WARD_ERR_IO with SQLite's message on failure. */
ward_err wid_prepare(ward_identity *db, const char *sql, sqlite3_stmt **st);

/* One JSON value per result row of sql (its ?1 bound to param, NULL binds NULL), made by row
 * (a new reference; it may run further queries). row returns NULL to stop: with *err set, that
 * error; else out of memory. On WARD_OK *out is the array; what names the list in errors. */
typedef json_t *(*wid_row_fn)(ward_identity *db, sqlite3_stmt *st, void *arg, ward_err *err);
ward_err wid_rows_json(ward_identity *db, const char *sql, const char *param, const char *what,
                       wid_row_fn row, void *arg, json_t **out);
/* WARD_ERR_IO "identity database: WHAT: <sqlite message>". */
ward_err wid_sql_err(ward_identity *db, const char *what);
/* Binds a NUL-terminated string (SQLITE_TRANSIENT). */
int wid_bind_text(sqlite3_stmt *st, int i, const char *s);
int wid_bind_blob(sqlite3_stmt *st, int i, const void *p, size_t len);
/* Copies column i (text) into out (cap bytes with NUL); "" for NULL. */
void wid_column_text(sqlite3_stmt *st, int i, char *out, size_t cap);
/* Runs a statement expected to finish with SQLITE_DONE; finalizes it. */
ward_err wid_step_done(ward_identity *db, sqlite3_stmt *st, const char *what);
ward_err wid_begin(ward_identity *db);
ward_err wid_commit(ward_identity *db);
void wid_rollback(ward_identity *db);

/* Users: id of an existing user by (valid) name; WARD_ERR_NOT_FOUND / _INVALID_ARG. */
ward_err wid_user_id(ward_identity *db, const char *name, int64_t *id);

/* Settings as stored (defaults for anything absent). */
ward_err wid_load_settings(ward_identity *db, ward_identity_settings *s);

/* Bounded copy with NUL, never more than cap-1 bytes. */
void wid_copy(char *dst, size_t cap, const char *src);
/* A name for an audit record: the name if valid, "(invalid)" otherwise, "" for NULL. */
const char *wid_safe_name(const char *name);
/* Lower-case hex of len bytes into out (2*len+1). */
void wid_hex(const uint8_t *in, size_t len, char *out);
/* Display text: NULL or at most WARD_ID_DISPLAY_MAX bytes of UTF-8 without control chars. */
int wid_valid_display(const char *s);

/* ---- audit ---------------------------------------------------------------------------------- */

/* The one path for every audit event (identity.c's record()); the hook's result. */
ward_err wid_event(ward_identity *db, const char *action, const char *method, const char *actor,
               const char *object, int success, const char *reason, const ward_auth_ctx *ctx);
/* A management event (actor = the configured actor, success). */
void wid_mgmt_event(ward_identity *db, const char *action, const char *object);

/* ---- authentication plumbing ---------------------------------------------------------------- */

/* The source address as a rate-limit key and audit text (printable ASCII, cut). */
void wid_source(const ward_auth_ctx *ctx, char out[WID_SOURCE_MAX + 1]);

enum { WID_RATE_USER = 1, WID_RATE_ADDR = 2 };
/* *locked = 1 if key of kind is locked now. */
ward_err wid_rate_locked(ward_identity *db, int kind, const char *key, int *locked);
/* Counts a failure against key (user name or address). */
ward_err wid_rate_fail(ward_identity *db, const ward_identity_settings *s, int kind,
                       const char *key);
ward_err wid_rate_clear(ward_identity *db, int kind, const char *key);

/* A rate-limited attempt: counted, recorded, WARD_ERR_LIMIT. */
ward_err wid_deny_limited(ward_identity *db, const char *action, const char *method,
                          const char *actor, int kind, const ward_auth_ctx *ctx);

/* The common start of an authentication: the settings, the caller's source address and the
 * per-address rate limit (a limited attempt checks nothing). WARD_OK to go on; any other
 * result is to be returned as is (a limited attempt is already counted and recorded). */
ward_err wid_auth_begin(ward_identity *db, const ward_auth_ctx *ctx, const char *action,
                        const char *method, const char *actor, ward_identity_settings *s,
                        char src[WID_SOURCE_MAX + 1]);

/* Ends an authentication whose first factor was checked. fail_reason NULL means the
 * credential was right for user (user_id >= 0). Then: a disabled user is denied; a TOTP code is
 * checked if the user has TOTP (require_totp: a missing code is a denial); failures are counted
 * (user name if valid, and the address) and recorded; success clears the user's counter, fills
 * out and is recorded. Returns WARD_OK or WARD_ERR_AUTH (or an operational error). */
typedef struct wid_auth {
    const char *action;       /* "auth.password", ... */
    ward_auth_method method;
    const char *name;         /* claimed or found user name (may be invalid or NULL) */
    int64_t user_id;          /* -1 if unknown */
    const char *fail_reason;  /* NULL: first factor good */
    int require_totp;         /* password: a user with TOTP must send a code */
    int strong_first;         /* the first factor alone is strong (hardware attestation) */
    const char *object;       /* token id, key hash, ... for the audit */
    const char *token_id;     /* for the principal */
    const ward_identity_settings *settings;
} wid_auth;
ward_err wid_auth_finish(ward_identity *db, const wid_auth *a, const ward_auth_ctx *ctx,
                         ward_principal *out);

/* ---- TOTP (identity_totp.c) ----------------------------------------------------------------- */

/* Checks code for user_id's active secret at now: *verdict NULL if accepted (and the step
 * marked used), else the reason ("wrong totp code", "totp code replayed", "no totp"). */
ward_err wid_totp_check(ward_identity *db, int64_t user_id, const char *name, const char *code,
                        const char **verdict);
/* 1 if the user has an active TOTP secret. */
ward_err wid_totp_active(ward_identity *db, int64_t user_id, int *active);

#endif
