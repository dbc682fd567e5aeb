/* The identity database and its authentication methods, with every bad input of issue 8:
 * wrong password; unknown user (same denial, dummy Argon2 verification); disabled user; wrong,
 * replayed, missing and out-of-window TOTP codes; expired, revoked, malformed and unknown
 * tokens; certificates from an unknown CA, of a known CA but not mapped, outside their validity;
 * attestation claims that match no binding; rate limits per user and per address that refuse
 * even the right password and recover after the lockout; SQL injection in names (refused by
 * validation, harmless anyway); the secrets key; schema versions; the audit events.
 * The clock is injected: nothing sleeps, nothing measures time. Argon2 runs at its minimum
 * cost (t=1, 8 KiB) except where the cost itself is tested. */
#include "testutil.h"

#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ward/audit.h"
#include "ward/crypto.h"
#include "ward/encoding.h"
#include "ward/err.h"
#include "ward/identity.h"
#include "ward/log.h"
#include "ward/rbac.h"
#include "ward/x509.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#define CHECK_OK(expr)                                                                        \
    do {                                                                                      \
        ward_err e_ = (expr);                                                                 \
        if (e_ != WARD_OK)                                                                    \
            fail_msg("%s failed: %s: %s", #expr, ward_err_name(e_), ward_errmsg());          \
    } while (0)

#define T0 INT64_C(1800000000) /* a multiple of 30: the start of a TOTP step */
#define PW "correct horse battery"
#define DENIAL "authentication failed"
#define MAX_EVENTS 256

typedef struct ev_copy {
    char action[32], actor[80], method[16], object[80], reason[200], source[140];
    int success;
} ev_copy;

typedef struct fixture {
    char *dir;
    ward_identity *db;
    int64_t now;
    uint8_t key[WARD_IDENTITY_KEY_LEN];
    ev_copy ev[MAX_EVENTS];
    size_t n_ev;
    int hook_fails;
} fixture;

static int64_t test_clock(void *arg)
{
    return ((fixture *)arg)->now;
}

static ward_err hook(void *arg, const ward_identity_event *e)
{
    fixture *f = arg;
    if (f->n_ev < MAX_EVENTS) {
        ev_copy *c = &f->ev[f->n_ev++];
        snprintf(c->action, sizeof c->action, "%s", e->action);
        snprintf(c->actor, sizeof c->actor, "%s", e->actor);
        snprintf(c->method, sizeof c->method, "%s", e->method);
        snprintf(c->object, sizeof c->object, "%s", e->object);
        snprintf(c->reason, sizeof c->reason, "%s", e->reason);
        snprintf(c->source, sizeof c->source, "%s", e->source);
        c->success = e->success;
        assert_true(e->time == f->now);
    }
    if (f->hook_fails)
        return ward_err_set(WARD_ERR_IO, "audit log unavailable");
    return WARD_OK;
}

static const ev_copy *last_ev(fixture *f)
{
    assert_true(f->n_ev > 0);
    return &f->ev[f->n_ev - 1];
}

static void small_cost(ward_identity *db)
{
    ward_identity_settings s;
    CHECK_OK(ward_identity_get_settings(db, &s));
    s.argon2_t = 1;
    s.argon2_m_kib = 8;
    s.argon2_p = 1;
    CHECK_OK(ward_identity_set_settings(db, &s));
}

static void open_db(fixture *f)
{
    CHECK_OK(ward_identity_open(f->dir, 1, f->key, &f->db));
    ward_identity_set_clock(f->db, test_clock, f);
    ward_identity_set_audit_hook(f->db, hook, f);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->dir = tu_mkdtemp();
    f->now = T0;
    CHECK_OK(ward_random(f->key, sizeof f->key));
    open_db(f);
    small_cost(f->db);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    ward_identity_close(f->db);
    tu_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static void add_user(fixture *f, const char *name, const char *pw)
{
    CHECK_OK(ward_identity_user_add(f->db, name, NULL, pw, pw ? strlen(pw) : 0, NULL, 0));
}

static ward_err login(fixture *f, const char *name, const char *pw, const char *code,
                      const char *source, ward_principal *p)
{
    ward_auth_ctx ctx = {.source = source, .totp = code, .request_id = "req-1"};
    return ward_identity_auth_password(f->db, name, pw, pw ? strlen(pw) : 0, &ctx, p);
}

static void expect_denied(fixture *f, ward_err got, const char *reason)
{
    if (got != WARD_ERR_AUTH)
        fail_msg("expected a denial (%s), got %s: %s", reason, ward_err_name(got),
                 ward_errmsg());
    assert_string_equal(ward_errmsg(), DENIAL);
    const ev_copy *e = last_ev(f);
    assert_int_equal(e->success, 0);
    if (strstr(e->reason, reason) == NULL)
        fail_msg("audit reason \"%s\" does not mention \"%s\"", e->reason, reason);
}

/* Enrols and confirms TOTP for name; returns the decoded secret (20 bytes). */
static void enroll_totp(fixture *f, const char *name, uint8_t secret[WARD_TOTP_SECRET_LEN])
{
    char *b32 = NULL, *uri = NULL;
    CHECK_OK(ward_identity_totp_enroll(f->db, name, &b32, &uri));
    char prefix[128];
    snprintf(prefix, sizeof prefix, "otpauth://totp/Ward:%s?secret=%s&issuer=Ward&", name, b32);
    assert_memory_equal(uri, prefix, strlen(prefix));
    assert_non_null(strstr(uri, "algorithm=SHA1&digits=6&period=30"));
    uint8_t *raw = NULL;
    size_t raw_len = 0;
    CHECK_OK(ward_base32_decode(b32, strlen(b32), &raw, &raw_len));
    assert_int_equal(raw_len, WARD_TOTP_SECRET_LEN);
    memcpy(secret, raw, raw_len);
    free(raw);
    free(b32);
    free(uri);
}

static void code_at(const uint8_t secret[WARD_TOTP_SECRET_LEN], int64_t t, char out[8])
{
    uint32_t c = 0;
    CHECK_OK(ward_totp(WARD_TOTP_SHA1, secret, WARD_TOTP_SECRET_LEN, t, 30, 6, &c));
    snprintf(out, 8, "%06u", c);
}

/* ---- opening, files, keys, schema ----------------------------------------------------------- */

static void test_open_files_and_key(void **state)
{
    fixture *f = *state;
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", f->dir, WARD_IDENTITY_FILE);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    ward_identity_close(f->db);
    f->db = NULL;

    ward_identity *db = NULL;
    /* Without the key, or with another one: refused. */
    assert_int_equal(ward_identity_open(f->dir, 0, NULL, &db), WARD_ERR_AUTH);
    assert_null(db);
    uint8_t other[WARD_IDENTITY_KEY_LEN];
    memcpy(other, f->key, sizeof other);
    other[0] ^= 1;
    assert_int_equal(ward_identity_open(f->dir, 0, other, &db), WARD_ERR_AUTH);
    /* A missing database without create. */
    char *empty = tu_mkdtemp();
    assert_int_equal(ward_identity_open(empty, 0, NULL, &db), WARD_ERR_NOT_FOUND);
    /* Made without a key: opening with one is refused. */
    CHECK_OK(ward_identity_open(empty, 1, NULL, &db));
    ward_identity_close(db);
    assert_int_equal(ward_identity_open(empty, 0, f->key, &db), WARD_ERR_AUTH);
    CHECK_OK(ward_identity_open(empty, 0, NULL, &db));
    ward_identity_close(db);
    tu_rmtree(empty);
    free(empty);
    /* Group-readable: refused. */
    assert_int_equal(chmod(path, 0640), 0);
    assert_int_equal(ward_identity_open(f->dir, 0, f->key, &db), WARD_ERR_PERMISSION);
    assert_non_null(strstr(ward_errmsg(), "0640"));
    assert_int_equal(chmod(path, 0600), 0);
    open_db(f);
}

static void test_schema_versions(void **state)
{
    fixture *f = *state;
    ward_identity_close(f->db);
    f->db = NULL;
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", f->dir, WARD_IDENTITY_FILE);
    sqlite3 *s = NULL;
    assert_int_equal(sqlite3_open(path, &s), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(s, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 2);
    sqlite3_finalize(st);
    /* A schema from a newer Ward is refused, not misread. */
    assert_int_equal(sqlite3_exec(s, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(s);
    ward_identity *db = NULL;
    assert_int_equal(ward_identity_open(f->dir, 0, f->key, &db), WARD_ERR_UNSUPPORTED);
    assert_int_equal(sqlite3_open(path, &s), SQLITE_OK);
    /* A schema-1 database (before CRLs, when result-consumer could not create tasks) is
     * migrated when opened: the table appears and the built-in role gets the grant. */
    assert_int_equal(sqlite3_exec(s,
                                  "DROP TABLE crls; DELETE FROM role_permissions WHERE "
                                  "role_id = (SELECT id FROM roles WHERE name = "
                                  "'result-consumer') AND perm_id = (SELECT id FROM permissions "
                                  "WHERE name = 'task.create'); PRAGMA user_version = 1",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(s);
    open_db(f);
    CHECK_OK(ward_identity_user_add(f->db, "analyst", NULL, NULL, 0,
                                    (const char *const[]){"result-consumer"}, 1));
    ward_principal p = {.method = WARD_AUTH_TOKEN};
    snprintf(p.name, sizeof p.name, "analyst");
    CHECK_OK(ward_rbac_check(f->db, &p, "task.create"));
    assert_int_equal(ward_rbac_check(f->db, &p, "data.upload"), WARD_ERR_PERMISSION);
    json_t *crls = NULL;
    CHECK_OK(ward_identity_crls_json(f->db, &crls));
    assert_int_equal(json_array_size(crls), 0);
    json_decref(crls);

    /* Another application's database is not taken for ours. */
    char *d = tu_mkdtemp();
    snprintf(path, sizeof path, "%s/%s", d, WARD_IDENTITY_FILE);
    assert_int_equal(sqlite3_open(path, &s), SQLITE_OK);
    assert_int_equal(sqlite3_exec(s, "CREATE TABLE t(x); PRAGMA user_version = 1", NULL, NULL,
                                  NULL), SQLITE_OK);
    sqlite3_close(s);
    chmod(path, 0600);
    assert_int_equal(ward_identity_open(d, 0, NULL, &db), WARD_ERR_FORMAT);
    tu_rmtree(d);
    free(d);
}

static void test_settings(void **state)
{
    fixture *f = *state;
    ward_identity_settings s, d;
    ward_identity_settings_default(&d);
    assert_int_equal(d.argon2_t, 3);
    assert_int_equal(d.argon2_m_kib, 65536);
    assert_int_equal(d.argon2_p, 1);
    CHECK_OK(ward_identity_get_settings(f->db, &s));
    assert_int_equal(s.argon2_m_kib, 8);
    s.user_max_failures = 0;
    assert_int_equal(ward_identity_set_settings(f->db, &s), WARD_ERR_INVALID_ARG);
    assert_non_null(strstr(ward_errmsg(), "user_max_failures"));
    CHECK_OK(ward_identity_get_settings(f->db, &s));
    s.argon2_m_kib = 4;
    assert_int_equal(ward_identity_set_settings(f->db, &s), WARD_ERR_INVALID_ARG);
    CHECK_OK(ward_identity_get_settings(f->db, &s));
    snprintf(s.totp_issuer, sizeof s.totp_issuer, "%s", "Ward'; DROP TABLE users;--");
    assert_int_equal(ward_identity_set_settings(f->db, &s), WARD_ERR_INVALID_ARG);
    /* Stored in the database: a reopened handle sees them. */
    CHECK_OK(ward_identity_get_settings(f->db, &s));
    s.window_s = 1234;
    snprintf(s.totp_issuer, sizeof s.totp_issuer, "%s", "Ward Test");
    CHECK_OK(ward_identity_set_settings(f->db, &s));
    assert_string_equal(last_ev(f)->action, "settings.set");
    ward_identity_close(f->db);
    open_db(f);
    CHECK_OK(ward_identity_get_settings(f->db, &s));
    assert_int_equal(s.window_s, 1234);
    assert_string_equal(s.totp_issuer, "Ward Test");
}

/* ---- passwords ------------------------------------------------------------------------------ */

static void test_password_ok(void **state)
{
    fixture *f = *state;
    add_user(f, "alice", PW);
    assert_string_equal(last_ev(f)->action, "user.add");
    assert_string_equal(last_ev(f)->actor, "local");
    ward_principal p;
    CHECK_OK(login(f, "alice", PW, NULL, "192.0.2.1", &p));
    assert_string_equal(p.name, "alice");
    assert_int_equal(p.method, WARD_AUTH_PASSWORD);
    assert_int_equal(p.two_factor, 0);
    assert_int_equal(p.strong, 0);
    assert_int_equal(p.n_roles, 0); /* least privilege: no role by default */
    assert_int_equal(p.auth_time, T0);
    const ev_copy *e = last_ev(f);
    assert_string_equal(e->action, "auth.password");
    assert_string_equal(e->actor, "alice");
    assert_string_equal(e->method, "password");
    assert_string_equal(e->source, "192.0.2.1");
    assert_int_equal(e->success, 1);
    /* The password is not kept in clear anywhere in the users table. */
    json_t *users = NULL;
    CHECK_OK(ward_identity_users_json(f->db, &users));
    char *text = json_dumps(users, 0);
    assert_null(strstr(text, PW));
    free(text);
    json_decref(users);
}

static void test_wrong_password(void **state)
{
    fixture *f = *state;
    add_user(f, "alice", PW);
    ward_principal p;
    memset(&p, 0x5a, sizeof p);
    expect_denied(f, login(f, "alice", "correct horse battery!", NULL, NULL, &p),
                  "wrong password");
    assert_string_equal(p.name, ""); /* nothing of a principal on a denial */
    assert_int_equal(p.method, WARD_AUTH_NONE);
    expect_denied(f, login(f, "alice", "", NULL, NULL, &p), "empty password");
    char big[WARD_PASSWORD_MAX + 2];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    expect_denied(f, login(f, "alice", big, NULL, NULL, &p), "too long");
}

/* The user-exists oracle: an unknown user gets the same denial text, and a dummy Argon2
 * verification runs in place of the user's (counted, since timings are not asserted). */
static void test_unknown_user_same_denial(void **state)
{
    fixture *f = *state;
    add_user(f, "alice", PW);
    ward_principal p;
    ward_identity_stats s0, s1, s2;
    ward_identity_get_stats(f->db, &s0);
    ward_err e1 = login(f, "alice", "wrong password", NULL, NULL, &p);
    char msg1[256];
    snprintf(msg1, sizeof msg1, "%s", ward_errmsg());
    ward_identity_get_stats(f->db, &s1);
    ward_err e2 = login(f, "mallory", "wrong password", NULL, NULL, &p);
    ward_identity_get_stats(f->db, &s2);
    assert_int_equal(e1, WARD_ERR_AUTH);
    assert_int_equal(e2, WARD_ERR_AUTH);
    assert_string_equal(msg1, ward_errmsg());
    assert_string_equal(last_ev(f)->reason, "unknown user");
    /* Exactly one Argon2 verification each: the real one, then the dummy one. */
    assert_int_equal(s1.argon2_verifications - s0.argon2_verifications, 1);
    assert_int_equal(s1.argon2_dummy - s0.argon2_dummy, 0);
    assert_int_equal(s2.argon2_verifications - s1.argon2_verifications, 0);
    assert_int_equal(s2.argon2_dummy - s1.argon2_dummy, 1);
    /* A user without a password takes the dummy path too. */
    add_user(f, "bob", NULL);
    expect_denied(f, login(f, "bob", "anything at all", NULL, NULL, &p), "no password set");
    ward_identity_stats s3;
    ward_identity_get_stats(f->db, &s3);
    assert_int_equal(s3.argon2_dummy - s2.argon2_dummy, 1);
    assert_string_equal(ward_errmsg(), msg1);
}

static void test_disabled_user(void **state)
{
    fixture *f = *state;
    add_user(f, "alice", PW);
    CHECK_OK(ward_identity_user_set_disabled(f->db, "alice", 1));
    assert_string_equal(last_ev(f)->action, "user.disable");
    ward_principal p;
    ward_identity_stats s0, s1;
    ward_identity_get_stats(f->db, &s0);
    expect_denied(f, login(f, "alice", PW, NULL, NULL, &p), "user disabled");
    ward_identity_get_stats(f->db, &s1);
    /* The password was still verified: a disabled user costs the same as any other. */
    assert_int_equal(s1.argon2_verifications - s0.argon2_verifications, 1);
    CHECK_OK(ward_identity_user_set_disabled(f->db, "alice", 0));
    CHECK_OK(login(f, "alice", PW, NULL, NULL, &p));
    assert_int_equal(ward_identity_user_set_disabled(f->db, "nobody", 1), WARD_ERR_NOT_FOUND);
}

static void test_user_management(void **state)
{
    fixture *f = *state;
    const char *roles[] = {"auditor", "data-provider"};
    CHECK_OK(ward_identity_user_add(f->db, "carol", "Carol Å. Example", PW, strlen(PW), roles, 2));
    assert_int_equal(ward_identity_user_add(f->db, "carol", NULL, NULL, 0, NULL, 0),
                     WARD_ERR_EXISTS);
    const char *bad_roles[] = {"auditor", "no-such-role"};
    assert_int_equal(ward_identity_user_add(f->db, "dave", NULL, NULL, 0, bad_roles, 2),
                     WARD_ERR_NOT_FOUND);
    assert_int_equal(ward_identity_user_exists(f->db, "dave"), 0); /* atomic: not half-added */
    assert_int_equal(ward_identity_user_add(f->db, "dave", NULL, "short", 5, NULL, 0),
                     WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_identity_user_add(f->db, "dave", "bell\a", NULL, 0, NULL, 0),
                     WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_identity_user_add(f->db, "dave", "\xc3\x28", NULL, 0, NULL, 0),
                     WARD_ERR_INVALID_ARG); /* not UTF-8 */
    ward_principal p;
    CHECK_OK(login(f, "carol", PW, NULL, NULL, &p));
    assert_int_equal(p.n_roles, 2);
    assert_string_equal(p.roles[0], "auditor");
    assert_string_equal(p.roles[1], "data-provider");
    /* Password change ends the old one. */
    CHECK_OK(ward_identity_user_set_password(f->db, "carol", "a new password", 14));
    expect_denied(f, login(f, "carol", PW, NULL, NULL, &p), "wrong password");
    CHECK_OK(login(f, "carol", "a new password", NULL, NULL, &p));
    CHECK_OK(ward_identity_user_set_password(f->db, "carol", NULL, 0));
    expect_denied(f, login(f, "carol", "a new password", NULL, NULL, &p), "no password set");
    CHECK_OK(ward_identity_user_set_display(f->db, "carol", "C."));
    json_t *users = NULL;
    CHECK_OK(ward_identity_users_json(f->db, &users));
    assert_int_equal(json_array_size(users), 1);
    json_t *u = json_array_get(users, 0);
    assert_string_equal(json_string_value(json_object_get(u, "name")), "carol");
    assert_string_equal(json_string_value(json_object_get(u, "display")), "C.");
    assert_false(json_is_true(json_object_get(u, "password")));
    assert_string_equal(json_string_value(json_object_get(u, "totp")), "none");
    assert_int_equal(json_array_size(json_object_get(u, "roles")), 2);
    json_decref(users);
}

/* Names are validated before anything reaches SQL; what passes validation (display names,
 * descriptions, source addresses) is bound as a value and stored verbatim. */
static void test_sql_injection(void **state)
{
    fixture *f = *state;
    add_user(f, "alice", PW);
    static const char *const names[] = {
        "alice'; DROP TABLE users;--",
        "alice' OR '1'='1",
        "x\" OR 1=1 --",
        "Robert'); DROP TABLE users;--",
        "ALICE",
        "alice admin",
        "-alice",
        "",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", /* 65 */
    };
    ward_principal p;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        assert_false(ward_id_valid_name(names[i]));
        assert_int_equal(ward_identity_user_add(f->db, names[i], NULL, PW, strlen(PW), NULL, 0),
                         WARD_ERR_INVALID_ARG);
        expect_denied(f, login(f, names[i], PW, NULL, NULL, &p), "invalid user name");
        /* The raw name never reaches the audit record. */
        assert_string_equal(last_ev(f)->actor, "(invalid)");
        assert_int_equal(ward_identity_user_set_disabled(f->db, names[i], 1),
                         WARD_ERR_INVALID_ARG);
        assert_int_equal(ward_rbac_user_role_add(f->db, names[i], "admin"),
                         WARD_ERR_INVALID_ARG);
    }
    assert_int_equal(ward_rbac_role_add(f->db, "x'; DELETE FROM roles;--", NULL, 0),
                     WARD_ERR_INVALID_ARG);
    /* Harmless anyway: hostile text in values is data. */
    const char *hostile = "'); DROP TABLE users; SELECT ('";
    CHECK_OK(ward_identity_user_add(f->db, "bob", hostile, PW, strlen(PW), NULL, 0));
    CHECK_OK(login(f, "bob", PW, NULL, hostile, &p));
    char id[WARD_TOKEN_ID_LEN + 1];
    char *tok = NULL;
    CHECK_OK(ward_identity_token_issue(f->db, "bob", 60, hostile, &tok, id, NULL));
    free(tok);
    json_t *users = NULL;
    CHECK_OK(ward_identity_users_json(f->db, &users));
    assert_int_equal(json_array_size(users), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(users, 1), "display")),
                        hostile);
    json_decref(users);
    CHECK_OK(login(f, "alice", PW, NULL, NULL, &p));
}

static void test_rehash_on_login(void **state)
{
    fixture *f = *state;
    add_user(f, "alice", PW);
    ward_identity_settings s;
    CHECK_OK(ward_identity_get_settings(f->db, &s));
    s.argon2_t = 2;
    CHECK_OK(ward_identity_set_settings(f->db, &s));
    ward_principal p;
    ward_identity_stats s0, s1;
    ward_identity_get_stats(f->db, &s0);
    CHECK_OK(login(f, "alice", PW, NULL, NULL, &p));
    ward_identity_get_stats(f->db, &s1);
    assert_true(s1.argon2_hashes > s0.argon2_hashes); /* upgraded to t=2 */
    ward_identity_get_stats(f->db, &s0);
    CHECK_OK(login(f, "alice", PW, NULL, NULL, &p));
    ward_identity_get_stats(f->db, &s1);
    assert_int_equal(s1.argon2_hashes, s0.argon2_hashes); /* already current */
}

static void set_limits(fixture *f, uint32_t user_max, uint32_t addr_max, uint32_t window,
                       uint32_t lockout, uint32_t lockout_max);

/* ---- TOTP ----------------------------------------------------------------------------------- */

static void test_totp_flow(void **state)
{
    fixture *f = *state;
    set_limits(f, 100, 100, 900, 300, 3600); /* this test counts codes, not lockouts */
    add_user(f, "alice", PW);
    uint8_t secret[WARD_TOTP_SECRET_LEN];
    enroll_totp(f, "alice", secret);
    ward_principal p;
    char code[8];
    /* Pending: not yet asked for. */
    CHECK_OK(login(f, "alice", PW, NULL, NULL, &p));
    assert_int_equal(p.two_factor, 0);
    /* Confirmation needs a right code. */
    code_at(secret, f->now, code);
    char wrong[8];
    snprintf(wrong, sizeof wrong, "%06u", (unsigned)((strtoul(code, NULL, 10) + 1) % 1000000));
    assert_int_equal(ward_identity_totp_confirm(f->db, "alice", wrong), WARD_ERR_AUTH);
    assert_int_equal(ward_identity_totp_confirm(f->db, "bob", code), WARD_ERR_NOT_FOUND);
    CHECK_OK(ward_identity_totp_confirm(f->db, "alice", code));
    assert_string_equal(last_ev(f)->action, "totp.confirm");
    assert_int_equal(ward_identity_totp_confirm(f->db, "alice", code), WARD_ERR_STATE);
    /* Active: the password alone is no longer enough. */
    expect_denied(f, login(f, "alice", PW, NULL, NULL, &p), "second factor missing");
    /* The confirmation code's step is used: it cannot log in. */
    expect_denied(f, login(f, "alice", PW, code, NULL, &p), "replayed");
    f->now += 30;
    code_at(secret, f->now, code);
    CHECK_OK(login(f, "alice", PW, code, NULL, &p));
    assert_int_equal(p.two_factor, 1);
    assert_int_equal(p.strong, 1);
    /* Replayed: the same code again, in the same step. */
    expect_denied(f, login(f, "alice", PW, code, NULL, &p), "totp code replayed");
    /* Wrong code, and codes that are not 6 digits. */
    f->now += 30;
    code_at(secret, f->now, code);
    snprintf(wrong, sizeof wrong, "%06u", (unsigned)((strtoul(code, NULL, 10) + 1) % 1000000));
    expect_denied(f, login(f, "alice", PW, wrong, NULL, &p), "wrong totp code");
    expect_denied(f, login(f, "alice", PW, "12345", NULL, &p), "wrong totp code");
    expect_denied(f, login(f, "alice", PW, "1234567", NULL, &p), "wrong totp code");
    expect_denied(f, login(f, "alice", PW, "12a456", NULL, &p), "wrong totp code");
    /* A right code with a wrong password is still a denial (and uses no step). */
    expect_denied(f, login(f, "alice", "wrong password!", code, NULL, &p), "wrong password");
    CHECK_OK(login(f, "alice", PW, code, NULL, &p));
    ward_identity_totp_remove(f->db, "alice");
    CHECK_OK(login(f, "alice", PW, NULL, NULL, &p));
}

static void test_totp_window(void **state)
{
    fixture *f = *state;
    ward_identity_settings s;
    CHECK_OK(ward_identity_get_settings(f->db, &s));
    s.user_max_failures = 100; /* this test counts codes, not lockouts */
    CHECK_OK(ward_identity_set_settings(f->db, &s));
    add_user(f, "alice", PW);
    uint8_t secret[WARD_TOTP_SECRET_LEN];
    enroll_totp(f, "alice", secret);
    char code[8];
    code_at(secret, f->now, code);
    CHECK_OK(ward_identity_totp_confirm(f->db, "alice", code));
    ward_principal p;
    f->now += 300; /* step S = (T0 + 300) / 30 */
    /* Outside the window: two steps back and two steps ahead. */
    code_at(secret, f->now - 60, code);
    expect_denied(f, login(f, "alice", PW, code, NULL, &p), "wrong totp code");
    code_at(secret, f->now + 60, code);
    expect_denied(f, login(f, "alice", PW, code, NULL, &p), "wrong totp code");
    /* Inside: one step back... */
    code_at(secret, f->now - 30, code);
    CHECK_OK(login(f, "alice", PW, code, NULL, &p));
    /* ...then the current one (a later step)... */
    code_at(secret, f->now, code);
    CHECK_OK(login(f, "alice", PW, code, NULL, &p));
    /* ...but no longer the previous one, though within ±1: its step is older than the last
     * used. */
    code_at(secret, f->now - 30, code);
    expect_denied(f, login(f, "alice", PW, code, NULL, &p), "replayed");
    /* One step ahead is accepted (clock skew). */
    code_at(secret, f->now + 30, code);
    CHECK_OK(login(f, "alice", PW, code, NULL, &p));
    /* And then the current step is behind the last used one. */
    code_at(secret, f->now, code);
    expect_denied(f, login(f, "alice", PW, code, NULL, &p), "replayed");
}

static void test_totp_secret_at_rest(void **state)
{
    fixture *f = *state;
    add_user(f, "alice", PW);
    uint8_t secret[WARD_TOTP_SECRET_LEN];
    enroll_totp(f, "alice", secret);
    char code[8];
    code_at(secret, f->now, code);
    CHECK_OK(ward_identity_totp_confirm(f->db, "alice", code));
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", f->dir, WARD_IDENTITY_FILE);
    sqlite3 *s = NULL;
    assert_int_equal(sqlite3_open(path, &s), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(s, "SELECT totp_secret FROM users WHERE name = 'alice'",
                                        -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    const uint8_t *blob = sqlite3_column_blob(st, 0);
    int len = sqlite3_column_bytes(st, 0);
    assert_int_equal(len, 1 + 12 + WARD_TOTP_SECRET_LEN + 16); /* sealed: AES-256-GCM */
    assert_int_equal(blob[0], 1);
    for (int i = 0; i + WARD_TOTP_SECRET_LEN <= len; i++)
        assert_false(memcmp(blob + i, secret, WARD_TOTP_SECRET_LEN) == 0);
    sqlite3_finalize(st);
    /* Moved to another user, the sealed secret does not open (bound to the name). */
    add_user(f, "bob", PW);
    assert_int_equal(sqlite3_exec(s, "UPDATE users SET totp_secret = (SELECT totp_secret FROM "
                                     "users WHERE name = 'alice') WHERE name = 'bob'",
                                  NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(s);
    ward_principal p;
    f->now += 30;
    code_at(secret, f->now, code);
    expect_denied(f, login(f, "bob", PW, code, NULL, &p), "unusable totp secret");
    assert_string_equal(p.name, "");
    CHECK_OK(login(f, "alice", PW, code, NULL, &p));
}

/* ---- tokens --------------------------------------------------------------------------------- */

static ward_err use_token(fixture *f, const char *tok, const char *code, ward_principal *p)
{
    ward_auth_ctx ctx = {.source = "198.51.100.7", .totp = code};
    return ward_identity_auth_token(f->db, tok, &ctx, p);
}

static void test_tokens(void **state)
{
    fixture *f = *state;
    const char *roles[] = {"auditor"};
    CHECK_OK(ward_identity_user_add(f->db, "svc", NULL, NULL, 0, roles, 1));
    char *tok = NULL;
    char id[WARD_TOKEN_ID_LEN + 1];
    int64_t exp = 0;
    CHECK_OK(ward_identity_token_issue(f->db, "svc", 3600, "ci job", &tok, id, &exp));
    assert_int_equal(strlen(tok), WARD_TOKEN_TEXT_LEN);
    assert_int_equal(strlen(id), WARD_TOKEN_ID_LEN);
    assert_int_equal(exp, T0 + 3600);
    assert_string_equal(last_ev(f)->action, "token.issue");
    assert_string_equal(last_ev(f)->object, id);
    ward_principal p;
    CHECK_OK(use_token(f, tok, NULL, &p));
    assert_string_equal(p.name, "svc");
    assert_int_equal(p.method, WARD_AUTH_TOKEN);
    assert_string_equal(p.token_id, id);
    assert_int_equal(p.n_roles, 1);
    assert_int_equal(p.strong, 0);
    assert_string_equal(last_ev(f)->object, id);

    /* Only the SHA-256 is stored. */
    uint8_t *raw = NULL;
    size_t raw_len = 0;
    CHECK_OK(ward_base64url_decode(tok, strlen(tok), &raw, &raw_len));
    uint8_t h[WARD_SHA256_LEN];
    CHECK_OK(ward_hash(WARD_HASH_SHA256, raw, raw_len, h));
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", f->dir, WARD_IDENTITY_FILE);
    sqlite3 *s = NULL;
    assert_int_equal(sqlite3_open(path, &s), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(s, "SELECT hash FROM tokens", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_bytes(st, 0), WARD_SHA256_LEN);
    assert_memory_equal(sqlite3_column_blob(st, 0), h, WARD_SHA256_LEN);
    sqlite3_finalize(st);
    sqlite3_close(s);
    free(raw);

    /* last_used */
    f->now += 100;
    CHECK_OK(use_token(f, tok, NULL, &p));
    json_t *list = NULL;
    CHECK_OK(ward_identity_tokens_json(f->db, "svc", &list));
    assert_int_equal(json_array_size(list), 1);
    json_t *t = json_array_get(list, 0);
    assert_int_equal(json_integer_value(json_object_get(t, "last_used")), T0 + 100);
    assert_string_equal(json_string_value(json_object_get(t, "state")), "active");
    assert_string_equal(json_string_value(json_object_get(t, "description")), "ci job");
    char *text = json_dumps(list, 0);
    assert_null(strstr(text, tok)); /* listings never show the token */
    free(text);
    json_decref(list);

    /* Expired. */
    f->now = T0 + 3600;
    expect_denied(f, use_token(f, tok, NULL, &p), "token expired");
    f->now = T0 + 3599;
    CHECK_OK(use_token(f, tok, NULL, &p));
    /* Revoked. */
    CHECK_OK(ward_identity_token_revoke(f->db, id));
    assert_string_equal(last_ev(f)->action, "token.revoke");
    expect_denied(f, use_token(f, tok, NULL, &p), "token revoked");
    CHECK_OK(ward_identity_token_revoke(f->db, id)); /* idempotent */
    assert_int_equal(ward_identity_token_revoke(f->db, "0000000000000000"), WARD_ERR_NOT_FOUND);
    assert_int_equal(ward_identity_token_revoke(f->db, "'; DROP TABLE tokens;--"),
                     WARD_ERR_INVALID_ARG);
    CHECK_OK(ward_identity_tokens_json(f->db, NULL, &list));
    assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "state")),
                        "revoked");
    json_decref(list);
    free(tok);

    /* Malformed and unknown tokens. */
    expect_denied(f, use_token(f, NULL, NULL, &p), "malformed token");
    expect_denied(f, use_token(f, "short", NULL, &p), "malformed token");
    expect_denied(f, use_token(f, "' OR 1=1 --aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", NULL, &p),
                  "malformed token");
    uint8_t rnd[WARD_TOKEN_BYTES];
    CHECK_OK(ward_random(rnd, sizeof rnd));
    char *fake = NULL;
    CHECK_OK(ward_base64url_encode(rnd, sizeof rnd, &fake, NULL));
    expect_denied(f, use_token(f, fake, NULL, &p), "unknown token");
    free(fake);

    /* A disabled user's token. */
    CHECK_OK(ward_identity_token_issue(f->db, "svc", 0, NULL, &tok, id, &exp));
    assert_int_equal(exp, f->now + 86400); /* the default lifetime */
    CHECK_OK(ward_identity_user_set_disabled(f->db, "svc", 1));
    expect_denied(f, use_token(f, tok, NULL, &p), "user disabled");
    CHECK_OK(ward_identity_user_set_disabled(f->db, "svc", 0));
    CHECK_OK(use_token(f, tok, NULL, &p));
    free(tok);
    /* Lifetime limits. */
    assert_int_equal(ward_identity_token_issue(f->db, "svc", 40000000, NULL, &tok, id, NULL),
                     WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_identity_token_issue(f->db, "nobody", 60, NULL, &tok, id, NULL),
                     WARD_ERR_NOT_FOUND);
}

static void test_token_with_totp(void **state)
{
    fixture *f = *state;
    add_user(f, "alice", PW);
    uint8_t secret[WARD_TOTP_SECRET_LEN];
    enroll_totp(f, "alice", secret);
    char code[8];
    code_at(secret, f->now, code);
    CHECK_OK(ward_identity_totp_confirm(f->db, "alice", code));
    char *tok = NULL;
    char id[WARD_TOKEN_ID_LEN + 1];
    CHECK_OK(ward_identity_token_issue(f->db, "alice", 3600, NULL, &tok, id, NULL));
    ward_principal p;
    CHECK_OK(use_token(f, tok, NULL, &p)); /* a token alone: single factor */
    assert_int_equal(p.two_factor, 0);
    f->now += 30;
    code_at(secret, f->now, code);
    CHECK_OK(use_token(f, tok, code, &p));
    assert_int_equal(p.two_factor, 1);
    assert_int_equal(p.strong, 1);
    expect_denied(f, use_token(f, tok, code, &p), "replayed");
    free(tok);
}

/* ---- certificates --------------------------------------------------------------------------- */

static ward_pkey *gen_key(void)
{
    ward_pkey *k = NULL;
    CHECK_OK(ward_pkey_generate(WARD_KEY_EC_P256, &k));
    return k;
}

static ward_cert *make_cert(const char *cn, int is_ca, const ward_pkey *subject,
                            const ward_cert *issuer, const ward_pkey *issuer_key)
{
    ward_cert_spec s;
    memset(&s, 0, sizeof s);
    s.common_name = cn;
    s.not_before = T0 - 86400;
    s.not_after = T0 + 365 * 86400;
    s.is_ca = is_ca;
    s.path_len = -1;
    s.client_auth = !is_ca;
    ward_cert *c = NULL;
    CHECK_OK(ward_cert_create(&s, subject, issuer, issuer ? issuer_key : subject, &c));
    return c;
}

static ward_err use_cert(fixture *f, const ward_cert *leaf, ward_cert *const *inter, size_t n,
                         ward_principal *p)
{
    ward_auth_ctx ctx = {.source = "203.0.113.5"};
    return ward_identity_auth_cert(f->db, leaf, inter, n, &ctx, p);
}

static void test_certificates(void **state)
{
    fixture *f = *state;
    ward_pkey *ca_key = gen_key(), *int_key = gen_key(), *alice_key = gen_key(),
              *bob_key = gen_key(), *evil_key = gen_key(), *mallory_key = gen_key();
    ward_cert *ca = make_cert("Ward Test Client CA", 1, ca_key, NULL, NULL);
    ward_cert *inter = make_cert("Ward Test Intermediate", 1, int_key, ca, ca_key);
    ward_cert *alice = make_cert("alice", 0, alice_key, ca, ca_key);
    ward_cert *bob = make_cert("bob", 0, bob_key, inter, int_key);
    ward_cert *evil_ca = make_cert("Evil CA", 1, evil_key, NULL, NULL);
    ward_cert *mallory = make_cert("alice", 0, alice_key, evil_ca, evil_key); /* alice's key! */
    ward_cert *unmapped = make_cert("carol", 0, mallory_key, ca, ca_key);
    add_user(f, "alice", NULL);
    add_user(f, "bob", NULL);
    ward_principal p;
    uint8_t spki[WARD_SHA256_LEN];

    /* No CA configured yet. */
    expect_denied(f, use_cert(f, alice, NULL, 0, &p), "no trusted CA");
    assert_int_equal(ward_identity_ca_add(f->db, alice), WARD_ERR_INVALID_ARG); /* not a CA */
    CHECK_OK(ward_identity_ca_add(f->db, ca));
    assert_string_equal(last_ev(f)->action, "ca.add");
    assert_int_equal(ward_identity_ca_add(f->db, ca), WARD_ERR_EXISTS);
    CHECK_OK(ward_cert_spki_sha256(alice, spki));
    CHECK_OK(ward_identity_cert_map(f->db, "alice", spki));
    assert_int_equal(ward_identity_cert_map(f->db, "bob", spki), WARD_ERR_EXISTS);
    CHECK_OK(ward_cert_spki_sha256(bob, spki));
    CHECK_OK(ward_identity_cert_map(f->db, "bob", spki));

    CHECK_OK(use_cert(f, alice, NULL, 0, &p));
    assert_string_equal(p.name, "alice");
    assert_int_equal(p.method, WARD_AUTH_CERTIFICATE);
    /* Through an intermediate. */
    CHECK_OK(use_cert(f, bob, &inter, 1, &p));
    assert_string_equal(p.name, "bob");
    expect_denied(f, use_cert(f, bob, NULL, 0, &p), "not trusted");
    /* An unknown CA, even for a mapped key. */
    expect_denied(f, use_cert(f, mallory, NULL, 0, &p), "not trusted");
    ward_cert *evil_chain[1] = {evil_ca};
    expect_denied(f, use_cert(f, mallory, evil_chain, 1, &p), "not trusted");
    /* A known CA, but the key is mapped to nobody. */
    expect_denied(f, use_cert(f, unmapped, NULL, 0, &p), "not mapped");
    /* Outside the validity period. */
    f->now = T0 + 400 * 86400;
    expect_denied(f, use_cert(f, alice, NULL, 0, &p), "not trusted");
    f->now = T0;
    /* Disabled user. */
    CHECK_OK(ward_identity_user_set_disabled(f->db, "alice", 1));
    expect_denied(f, use_cert(f, alice, NULL, 0, &p), "user disabled");
    CHECK_OK(ward_identity_user_set_disabled(f->db, "alice", 0));
    expect_denied(f, use_cert(f, NULL, NULL, 0, &p), "no certificate");
    /* Unmapped, and the CA removed. */
    CHECK_OK(ward_cert_spki_sha256(alice, spki));
    CHECK_OK(ward_identity_cert_unmap(f->db, spki));
    expect_denied(f, use_cert(f, alice, NULL, 0, &p), "not mapped");
    CHECK_OK(ward_identity_cert_map(f->db, "alice", spki));
    json_t *cas = NULL;
    CHECK_OK(ward_identity_cas_json(f->db, &cas));
    assert_int_equal(json_array_size(cas), 1);
    uint8_t fp[WARD_SHA256_LEN];
    CHECK_OK(ward_cert_fingerprint(ca, fp));
    char *fphex = NULL;
    CHECK_OK(ward_hex_encode(fp, sizeof fp, &fphex, NULL));
    assert_string_equal(json_string_value(json_object_get(json_array_get(cas, 0),
                                                          "fingerprint")), fphex);
    free(fphex);
    json_decref(cas);
    CHECK_OK(ward_identity_ca_remove(f->db, fp));
    expect_denied(f, use_cert(f, alice, NULL, 0, &p), "no trusted CA");
    assert_int_equal(ward_identity_ca_remove(f->db, fp), WARD_ERR_NOT_FOUND);
    /* An intermediate may be the configured CA. */
    CHECK_OK(ward_identity_ca_add(f->db, inter));
    CHECK_OK(use_cert(f, bob, NULL, 0, &p));
    expect_denied(f, use_cert(f, alice, NULL, 0, &p), "not trusted");

    ward_cert *certs[] = {ca, inter, alice, bob, evil_ca, mallory, unmapped};
    for (size_t i = 0; i < sizeof certs / sizeof certs[0]; i++)
        ward_cert_free(certs[i]);
    ward_pkey *keys[] = {ca_key, int_key, alice_key, bob_key, evil_key, mallory_key};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        ward_pkey_free(keys[i]);
}

/* ---- CRLs and key usage -------------------------------------------------------------------- */

static X509 *ossl_cert(const ward_cert *c)
{
    uint8_t *der = NULL;
    size_t len = 0;
    CHECK_OK(ward_cert_to_der(c, &der, &len));
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    free(der);
    assert_non_null(x);
    return x;
}

static EVP_PKEY *ossl_key(const ward_pkey *k)
{
    char *pem = NULL;
    size_t len = 0;
    CHECK_OK(ward_pkey_private_pem(k, &pem, &len));
    BIO *b = BIO_new_mem_buf(pem, (int)len);
    EVP_PKEY *pk = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
    BIO_free(b);
    ward_wipe(pem, len);
    free(pem);
    assert_non_null(pk);
    return pk;
}

/* A CRL made with OpenSSL directly, signed by issuer: PEM (pem nonzero) or DER, malloc'd. */
static uint8_t *make_crl(const ward_cert *issuer, const ward_pkey *issuer_key,
                         const ward_cert *revoked, int64_t this_update, int64_t next_update,
                         int pem, size_t *len)
{
    X509 *ca = ossl_cert(issuer);
    EVP_PKEY *key = ossl_key(issuer_key);
    X509_CRL *crl = X509_CRL_new();
    assert_non_null(crl);
    ASN1_TIME *tu = ASN1_TIME_set(NULL, (time_t)this_update);
    ASN1_TIME *nu = ASN1_TIME_set(NULL, (time_t)next_update);
    assert_int_equal(X509_CRL_set_version(crl, X509_CRL_VERSION_2), 1);
    assert_int_equal(X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca)), 1);
    assert_int_equal(X509_CRL_set1_lastUpdate(crl, tu), 1);
    assert_int_equal(X509_CRL_set1_nextUpdate(crl, nu), 1);
    if (revoked != NULL) {
        X509 *r = ossl_cert(revoked);
        X509_REVOKED *rev = X509_REVOKED_new();
        assert_int_equal(X509_REVOKED_set_serialNumber(rev, X509_get_serialNumber(r)), 1);
        assert_int_equal(X509_REVOKED_set_revocationDate(rev, tu), 1);
        assert_int_equal(X509_CRL_add0_revoked(crl, rev), 1);
        X509_free(r);
    }
    assert_int_equal(X509_CRL_sort(crl), 1);
    assert_true(X509_CRL_sign(crl, key, EVP_sha256()) > 0);
    uint8_t *out = NULL;
    if (pem) {
        BIO *b = BIO_new(BIO_s_mem());
        assert_int_equal(PEM_write_bio_X509_CRL(b, crl), 1);
        char *data = NULL;
        long n = BIO_get_mem_data(b, &data);
        out = malloc((size_t)n);
        memcpy(out, data, (size_t)n);
        *len = (size_t)n;
        BIO_free(b);
    } else {
        unsigned char *der = NULL;
        int n = i2d_X509_CRL(crl, &der);
        assert_true(n > 0);
        out = malloc((size_t)n);
        memcpy(out, der, (size_t)n);
        *len = (size_t)n;
        OPENSSL_free(der);
    }
    ASN1_TIME_free(tu);
    ASN1_TIME_free(nu);
    X509_CRL_free(crl);
    EVP_PKEY_free(key);
    X509_free(ca);
    return out;
}

static void expect_problem(fixture *f, const ward_cert *leaf, ward_cert_problem want)
{
    ward_cert_problem got = WARD_CERT_OK;
    ward_err e = ward_identity_cert_check(f->db, leaf, NULL, 0, &got);
    if (want == WARD_CERT_OK) {
        if (e != WARD_OK)
            fail_msg("cert_check: %s", ward_errmsg());
    } else {
        assert_int_equal(e, WARD_ERR_VERIFY);
    }
    assert_int_equal(got, want);
}

static void test_crl_and_usage(void **state)
{
    fixture *f = *state;
    ward_pkey *ca_key = gen_key(), *evil_key = gen_key(), *a_key = gen_key(), *b_key = gen_key(),
              *s_key = gen_key(), *n_key = gen_key();
    ward_cert *ca = make_cert("Ward Test Client CA", 1, ca_key, NULL, NULL);
    /* Same name, another key: its CRLs must not be taken for the real CA's. */
    ward_cert *evil = make_cert("Ward Test Client CA", 1, evil_key, NULL, NULL);
    ward_cert *alice = make_cert("alice", 0, a_key, ca, ca_key);
    ward_cert *bob = make_cert("bob", 0, b_key, ca, ca_key);
    /* extendedKeyUsage serverAuth only: not for client authentication. */
    ward_cert_spec ss = {.common_name = "server", .not_before = T0 - 86400,
                         .not_after = T0 + 365 * 86400, .path_len = -1, .server_auth = 1};
    ward_cert *server = NULL;
    CHECK_OK(ward_cert_create(&ss, s_key, ca, ca_key, &server));
    /* No extendedKeyUsage at all: any purpose, client authentication included. */
    ward_cert_spec ns = {.common_name = "noeku", .not_before = T0 - 86400,
                         .not_after = T0 + 365 * 86400, .path_len = -1};
    ward_cert *noeku = NULL;
    CHECK_OK(ward_cert_create(&ns, n_key, ca, ca_key, &noeku));
    const char *names[] = {"alice", "bob", "server", "noeku"};
    ward_cert *leaves[] = {alice, bob, server, noeku};
    for (size_t i = 0; i < 4; i++) {
        uint8_t spki[WARD_SHA256_LEN];
        add_user(f, names[i], NULL);
        CHECK_OK(ward_cert_spki_sha256(leaves[i], spki));
        CHECK_OK(ward_identity_cert_map(f->db, names[i], spki));
    }
    ward_principal p;
    size_t len = 0;
    uint8_t *crl = make_crl(ca, ca_key, alice, T0 - 3600, T0 + 86400, 1, &len);

    /* A CRL of a CA that is not trusted (yet). */
    assert_int_equal(ward_identity_crl_add(f->db, crl, len), WARD_ERR_NOT_FOUND);
    CHECK_OK(ward_identity_ca_add(f->db, ca));
    CHECK_OK(use_cert(f, alice, NULL, 0, &p));
    CHECK_OK(ward_identity_crl_add(f->db, crl, len));
    assert_string_equal(last_ev(f)->action, "crl.add");
    free(crl);

    /* Revoked: refused, and the check says why. */
    expect_denied(f, use_cert(f, alice, NULL, 0, &p), "revoked");
    expect_problem(f, alice, WARD_CERT_REVOKED);
    assert_non_null(strstr(ward_errmsg(), "revoked"));
    CHECK_OK(use_cert(f, bob, NULL, 0, &p));
    assert_string_equal(p.name, "bob");
    expect_problem(f, bob, WARD_CERT_OK);

    /* The impostor CA's CRL (same issuer name) is refused, DER or PEM. */
    crl = make_crl(evil, evil_key, NULL, T0 - 60, T0 + 86400, 0, &len);
    assert_int_equal(ward_identity_crl_add(f->db, crl, len), WARD_ERR_NOT_FOUND);
    free(crl);
    /* No rollback to an older CRL; a newer one replaces it (DER this time). */
    crl = make_crl(ca, ca_key, NULL, T0 - 7200, T0 + 86400, 0, &len);
    assert_int_equal(ward_identity_crl_add(f->db, crl, len), WARD_ERR_STATE);
    free(crl);
    crl = make_crl(ca, ca_key, NULL, T0 - 60, T0 + 86400, 0, &len);
    CHECK_OK(ward_identity_crl_add(f->db, crl, len));
    free(crl);
    CHECK_OK(use_cert(f, alice, NULL, 0, &p));
    /* A CRL that is not current is not loaded; garbage is not a CRL. */
    crl = make_crl(ca, ca_key, NULL, T0 - 7200, T0 - 3600, 0, &len);
    assert_int_equal(ward_identity_crl_add(f->db, crl, len), WARD_ERR_STATE);
    free(crl);
    assert_int_equal(ward_identity_crl_add(f->db, (const uint8_t *)"not a crl", 9),
                     WARD_ERR_FORMAT);
    json_t *list = NULL;
    CHECK_OK(ward_identity_crls_json(f->db, &list));
    assert_int_equal(json_array_size(list), 1);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(list, 0), "revoked")), 0);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(list, 0), "this_update")),
                     T0 - 60);
    json_decref(list);

    /* Once the CRL is out of date, the CA's certificates are refused until a fresh one comes:
     * fail closed. */
    f->now = T0 + 2 * 86400;
    expect_denied(f, use_cert(f, bob, NULL, 0, &p), "CRL out of date");
    expect_problem(f, bob, WARD_CERT_CRL_STALE);
    crl = make_crl(ca, ca_key, alice, T0 + 86400, T0 + 3 * 86400, 1, &len);
    CHECK_OK(ward_identity_crl_add(f->db, crl, len));
    free(crl);
    CHECK_OK(use_cert(f, bob, NULL, 0, &p));
    expect_denied(f, use_cert(f, alice, NULL, 0, &p), "revoked");

    /* Key usage: an extendedKeyUsage without clientAuth is refused, none at all is fine. */
    expect_denied(f, use_cert(f, server, NULL, 0, &p), "clientAuth");
    expect_problem(f, server, WARD_CERT_USAGE);
    CHECK_OK(use_cert(f, noeku, NULL, 0, &p));
    assert_string_equal(p.name, "noeku");

    /* Removing the CA removes its CRL. */
    uint8_t fp[WARD_SHA256_LEN];
    CHECK_OK(ward_cert_fingerprint(ca, fp));
    CHECK_OK(ward_identity_ca_remove(f->db, fp));
    CHECK_OK(ward_identity_crls_json(f->db, &list));
    assert_int_equal(json_array_size(list), 0);
    json_decref(list);
    assert_int_equal(ward_identity_crl_remove(f->db, fp), WARD_ERR_NOT_FOUND);

    ward_cert *certs[] = {ca, evil, alice, bob, server, noeku};
    for (size_t i = 0; i < sizeof certs / sizeof certs[0]; i++)
        ward_cert_free(certs[i]);
    ward_pkey *keys[] = {ca_key, evil_key, a_key, b_key, s_key, n_key};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        ward_pkey_free(keys[i]);
}

/* A self-signed participant certificate: the key (possession proven by TLS) is the identity. */
static void test_auth_cert_key(void **state)
{
    fixture *f = *state;
    uint8_t k1[WARD_SHA256_LEN], k2[WARD_SHA256_LEN];
    memset(k1, 0x11, sizeof k1);
    memset(k2, 0x22, sizeof k2);
    add_user(f, "provider", NULL);
    CHECK_OK(ward_identity_cert_map(f->db, "provider", k1));
    ward_auth_ctx ctx = {.source = "198.51.100.7", .request_id = "req-9"};
    ward_principal p;
    CHECK_OK(ward_identity_auth_cert_key(f->db, k1, &ctx, &p));
    assert_string_equal(p.name, "provider");
    assert_int_equal(p.method, WARD_AUTH_CERTIFICATE);
    assert_int_equal(p.strong, 0);
    assert_string_equal(last_ev(f)->action, "auth.certificate");
    assert_int_equal(last_ev(f)->success, 1);
    expect_denied(f, ward_identity_auth_cert_key(f->db, k2, &ctx, &p), "not mapped");
    CHECK_OK(ward_identity_user_set_disabled(f->db, "provider", 1));
    expect_denied(f, ward_identity_auth_cert_key(f->db, k1, &ctx, &p), "user disabled");
}

/* ---- attestation ---------------------------------------------------------------------------- */

static void test_attestation(void **state)
{
    fixture *f = *state;
    add_user(f, "ta-sql", NULL);
    add_user(f, "node-2", NULL);
    ward_attest_binding b;
    memset(&b, 0, sizeof b);
    b.kind = WARD_TEE_KIND_WARD_SW;
    b.measurement_len = 32;
    memset(b.measurement, 0xab, 32);
    CHECK_OK(ward_identity_attest_bind(f->db, "ta-sql", &b));
    memset(&b, 0, sizeof b);
    b.kind = WARD_TEE_KIND_SGX;
    b.signer_len = 32;
    memset(b.signer, 0xcd, 32);
    b.product_id = 7;
    b.min_svn = 3;
    CHECK_OK(ward_identity_attest_bind(f->db, "node-2", &b));
    memset(&b, 0, sizeof b);
    assert_int_equal(ward_identity_attest_bind(f->db, "node-2", &b), WARD_ERR_INVALID_ARG);

    ward_claims c;
    memset(&c, 0, sizeof c);
    c.kind = WARD_TEE_KIND_WARD_SW;
    c.measurement_len = 32;
    memset(c.measurement, 0xab, 32);
    c.signer_len = 32;
    ward_principal p;
    ward_auth_ctx ctx = {.source = "10.0.0.2"};
    CHECK_OK(ward_identity_auth_attestation(f->db, &c, "ta-sql", &ctx, &p));
    assert_int_equal(p.method, WARD_AUTH_ATTESTATION);
    assert_int_equal(p.strong, 0); /* software TEE: not hardware-based */
    c.measurement[0] ^= 1;
    expect_denied(f, ward_identity_auth_attestation(f->db, &c, "ta-sql", &ctx, &p),
                  "match no attestation binding");
    c.measurement[0] ^= 1;
    c.debug = 1;
    expect_denied(f, ward_identity_auth_attestation(f->db, &c, "ta-sql", &ctx, &p),
                  "match no attestation binding");
    c.debug = 0;
    c.kind = WARD_TEE_KIND_SGX;
    expect_denied(f, ward_identity_auth_attestation(f->db, &c, "ta-sql", &ctx, &p),
                  "match no attestation binding");
    expect_denied(f, ward_identity_auth_attestation(f->db, &c, "nobody", &ctx, &p),
                  "unknown user");
    expect_denied(f, ward_identity_auth_attestation(f->db, &c, "x' OR 1=1", &ctx, &p),
                  "invalid user name");
    expect_denied(f, ward_identity_auth_attestation(f->db, NULL, "ta-sql", &ctx, &p),
                  "malformed claims");

    /* SGX by signer, product and minimum SVN; hardware, not debug: strong. */
    memset(&c, 0, sizeof c);
    c.kind = WARD_TEE_KIND_SGX;
    c.signer_len = 32;
    memset(c.signer, 0xcd, 32);
    c.measurement_len = 32;
    c.product_id = 7;
    c.svn = 3;
    CHECK_OK(ward_identity_auth_attestation(f->db, &c, "node-2", &ctx, &p));
    assert_int_equal(p.strong, 1);
    assert_int_equal(p.two_factor, 0);
    c.svn = 2;
    expect_denied(f, ward_identity_auth_attestation(f->db, &c, "node-2", &ctx, &p),
                  "match no");
    c.svn = 3;
    c.product_id = 8;
    expect_denied(f, ward_identity_auth_attestation(f->db, &c, "node-2", &ctx, &p),
                  "match no");
    c.product_id = 7;
    CHECK_OK(ward_identity_attest_unbind(f->db, "node-2"));
    expect_denied(f, ward_identity_auth_attestation(f->db, &c, "node-2", &ctx, &p),
                  "no attestation binding");
}

/* ---- rate limits ---------------------------------------------------------------------------- */

static void set_limits(fixture *f, uint32_t user_max, uint32_t addr_max, uint32_t window,
                       uint32_t lockout, uint32_t lockout_max)
{
    ward_identity_settings s;
    CHECK_OK(ward_identity_get_settings(f->db, &s));
    s.user_max_failures = user_max;
    s.addr_max_failures = addr_max;
    s.window_s = window;
    s.lockout_s = lockout;
    s.lockout_max_s = lockout_max;
    CHECK_OK(ward_identity_set_settings(f->db, &s));
}

static void expect_limited(fixture *f, ward_err got, const char *which)
{
    if (got != WARD_ERR_LIMIT)
        fail_msg("expected rate limiting, got %s: %s", ward_err_name(got), ward_errmsg());
    assert_non_null(strstr(ward_errmsg(), "too many failed"));
    assert_string_equal(last_ev(f)->reason, which);
}

static void test_rate_limit_user(void **state)
{
    fixture *f = *state;
    set_limits(f, 3, 1000, 600, 120, 480);
    add_user(f, "alice", PW);
    ward_principal p;
    /* Failures from different addresses: the per-user limit counts them all. */
    expect_denied(f, login(f, "alice", "guess number 1", NULL, "192.0.2.1", &p), "wrong");
    expect_denied(f, login(f, "alice", "guess number 2", NULL, "192.0.2.2", &p), "wrong");
    expect_denied(f, login(f, "alice", "guess number 3", NULL, "192.0.2.3", &p), "wrong");
    /* Locked: even the right password is refused, unchecked. */
    ward_identity_stats s0, s1;
    ward_identity_get_stats(f->db, &s0);
    expect_limited(f, login(f, "alice", PW, NULL, "192.0.2.4", &p), "rate limited (user)");
    assert_string_equal(p.name, "");
    ward_identity_get_stats(f->db, &s1);
    assert_int_equal(s1.argon2_verifications, s0.argon2_verifications);
    assert_int_equal(s1.argon2_dummy, s0.argon2_dummy);
    assert_int_equal(s1.rate_limited - s0.rate_limited, 1);
    /* Other users are not affected. */
    add_user(f, "bob", PW);
    CHECK_OK(login(f, "bob", PW, NULL, "192.0.2.4", &p));
    /* Still locked just before the lockout ends; free after. */
    f->now += 119;
    expect_limited(f, login(f, "alice", PW, NULL, NULL, &p), "rate limited (user)");
    f->now += 1;
    CHECK_OK(login(f, "alice", PW, NULL, NULL, &p));
    /* Success cleared the counter: two failures do not lock. */
    expect_denied(f, login(f, "alice", "guess number 4", NULL, NULL, &p), "wrong");
    expect_denied(f, login(f, "alice", "guess number 5", NULL, NULL, &p), "wrong");
    CHECK_OK(login(f, "alice", PW, NULL, NULL, &p));
    /* The success ended the series: the next lockout is the base one again. */
    for (int i = 0; i < 3; i++)
        expect_denied(f, login(f, "alice", "guess again!", NULL, NULL, &p), "wrong");
    f->now += 120;
    CHECK_OK(login(f, "alice", PW, NULL, NULL, &p));
    /* Unknown names are limited alike: lockouts do not reveal who exists. */
    for (int i = 0; i < 3; i++)
        expect_denied(f, login(f, "nobody", "guess again!", NULL, NULL, &p), "unknown user");
    expect_limited(f, login(f, "nobody", "guess again!", NULL, NULL, &p),
                   "rate limited (user)");
}

static void test_rate_limit_backoff(void **state)
{
    fixture *f = *state;
    set_limits(f, 2, 1000, 60, 100, 250);
    add_user(f, "alice", PW);
    ward_principal p;
    int64_t lock[3] = {100, 200, 250}; /* doubling, capped */
    for (int round = 0; round < 3; round++) {
        expect_denied(f, login(f, "alice", "bad password", NULL, NULL, &p), "wrong");
        expect_denied(f, login(f, "alice", "bad password", NULL, NULL, &p), "wrong");
        f->now += lock[round] - 1;
        expect_limited(f, login(f, "alice", PW, NULL, NULL, &p), "rate limited (user)");
        f->now += 1;
        /* Free again, but a failure now continues the series. */
    }
    /* A quiet window after the lockout: the series starts again at the base lockout. */
    f->now += 60;
    expect_denied(f, login(f, "alice", "bad password", NULL, NULL, &p), "wrong");
    expect_denied(f, login(f, "alice", "bad password", NULL, NULL, &p), "wrong");
    f->now += 100;
    CHECK_OK(login(f, "alice", PW, NULL, NULL, &p));
    /* Failures spread over more than a window do not add up. */
    expect_denied(f, login(f, "alice", "bad password", NULL, NULL, &p), "wrong");
    f->now += 60;
    expect_denied(f, login(f, "alice", "bad password", NULL, NULL, &p), "wrong");
    CHECK_OK(login(f, "alice", PW, NULL, NULL, &p));
}

static void test_rate_limit_address(void **state)
{
    fixture *f = *state;
    set_limits(f, 100, 4, 600, 300, 300);
    add_user(f, "alice", PW);
    add_user(f, "bob", PW);
    ward_principal p;
    /* Spraying guesses over many names from one address. */
    static const char *const names[] = {"alice", "bob", "carol", "dave"};
    for (int i = 0; i < 4; i++)
        expect_denied(f, login(f, names[i], "guess", NULL, "198.51.100.66", &p), "");
    expect_limited(f, login(f, "alice", PW, NULL, "198.51.100.66", &p),
                   "rate limited (address)");
    /* Tokens and certificates from that address are refused too. */
    expect_limited(f, ward_identity_auth_token(f->db, "x",
                                               &(ward_auth_ctx){.source = "198.51.100.66"}, &p),
                   "rate limited (address)");
    /* From another address the same user gets in. */
    CHECK_OK(login(f, "alice", PW, NULL, "198.51.100.67", &p));
    /* Bad tokens count against the address, not against a user. */
    for (int i = 0; i < 4; i++)
        expect_denied(f, ward_identity_auth_token(f->db, "bad",
                                                  &(ward_auth_ctx){.source = "203.0.113.99"},
                                                  &p), "malformed token");
    expect_limited(f, login(f, "bob", PW, NULL, "203.0.113.99", &p), "rate limited (address)");
    /* Recovers after the lockout. */
    f->now += 300;
    CHECK_OK(login(f, "alice", PW, NULL, "198.51.100.66", &p));
    CHECK_OK(login(f, "bob", PW, NULL, "203.0.113.99", &p));
    /* Hostile address text is a key like any other. */
    CHECK_OK(login(f, "bob", PW, NULL, "'; DELETE FROM rate_limits;--", &p));
}

static void test_rate_limit_totp(void **state)
{
    fixture *f = *state;
    set_limits(f, 3, 1000, 600, 300, 300);
    add_user(f, "alice", PW);
    uint8_t secret[WARD_TOTP_SECRET_LEN];
    enroll_totp(f, "alice", secret);
    char code[8];
    code_at(secret, f->now, code);
    CHECK_OK(ward_identity_totp_confirm(f->db, "alice", code));
    char *tok = NULL;
    char id[WARD_TOKEN_ID_LEN + 1];
    CHECK_OK(ward_identity_token_issue(f->db, "alice", 3600, NULL, &tok, id, NULL));
    ward_principal p;
    /* Guessing codes through a valid token counts against the user... */
    for (int i = 0; i < 3; i++)
        expect_denied(f, use_token(f, tok, "000001", &p), "wrong totp code");
    f->now += 30;
    code_at(secret, f->now, code);
    expect_limited(f, use_token(f, tok, code, &p), "rate limited (user)");
    expect_limited(f, login(f, "alice", PW, code, NULL, &p), "rate limited (user)");
    /* ...while the token alone (no code tried) still works. */
    CHECK_OK(use_token(f, tok, NULL, &p));
    f->now += 300;
    code_at(secret, f->now, code);
    CHECK_OK(login(f, "alice", PW, code, NULL, &p));
    assert_int_equal(p.two_factor, 1);
    free(tok);
}

/* ---- the audit hook ------------------------------------------------------------------------- */

static void test_audit_fail_closed(void **state)
{
    fixture *f = *state;
    add_user(f, "alice", PW);
    f->hook_fails = 1;
    ward_principal p;
    ward_err e = login(f, "alice", PW, NULL, NULL, &p);
    assert_int_equal(e, WARD_ERR_IO);
    assert_non_null(strstr(ward_errmsg(), "not recorded"));
    assert_string_equal(p.name, "");
    /* A denial stays a denial. */
    expect_denied(f, login(f, "alice", "wrong one!", NULL, NULL, &p), "wrong password");
    f->hook_fails = 0;
    CHECK_OK(login(f, "alice", PW, NULL, NULL, &p));
    /* Nothing secret in any event recorded so far. */
    for (size_t i = 0; i < f->n_ev; i++) {
        assert_null(strstr(f->ev[i].reason, PW));
        assert_null(strstr(f->ev[i].object, PW));
        assert_null(strstr(f->ev[i].actor, "wrong one"));
    }
    /* A management actor. */
    ward_identity_set_actor(f->db, "root-admin");
    add_user(f, "bob", NULL);
    assert_string_equal(last_ev(f)->actor, "root-admin");
    ward_identity_set_actor(f->db, "not valid!");
    add_user(f, "carol", NULL);
    assert_string_equal(last_ev(f)->actor, "(invalid)");
    ward_identity_set_actor(f->db, NULL);
    add_user(f, "dave", NULL);
    assert_string_equal(last_ev(f)->actor, "local");
}

/* Wired to the real audit log: authentications (success and failure) and a permission denial
 * become records, with no secret in them, and the log verifies. */
static ward_err sign_p256(void *arg, const uint8_t *msg, size_t len,
                          uint8_t sig[WARD_AUDIT_SIG_LEN])
{
    uint8_t *s = NULL;
    size_t s_len = 0;
    ward_err err = ward_sign(arg, WARD_HASH_SHA256, WARD_SIG_RAW, msg, len, &s, &s_len);
    if (!err && s_len != WARD_AUDIT_SIG_LEN)
        err = ward_err_set(WARD_ERR_CRYPTO, "unexpected signature length");
    if (!err)
        memcpy(sig, s, WARD_AUDIT_SIG_LEN);
    free(s);
    return err;
}

static void test_audit_log_wiring(void **state)
{
    fixture *f = *state;
    ward_pkey *key = NULL;
    CHECK_OK(ward_pkey_generate(WARD_KEY_EC_P256, &key));
    ward_audit_options o;
    memset(&o, 0, sizeof o);
    o.sign = sign_p256;
    o.sign_arg = key;
    o.verify_key = key;
    ward_audit *log = NULL;
    CHECK_OK(ward_audit_open(f->dir, &o, &log));
    ward_identity_set_audit_hook(f->db, ward_identity_audit_to_log, log);
    add_user(f, "alice", PW);
    ward_principal p;
    CHECK_OK(login(f, "alice", PW, NULL, "192.0.2.10", &p));
    assert_int_equal(login(f, "alice", "not the password", NULL, "192.0.2.11", &p),
                     WARD_ERR_AUTH);
    assert_int_equal(login(f, "' OR 1=1 --", PW, NULL, NULL, &p), WARD_ERR_AUTH);
    CHECK_OK(login(f, "alice", PW, NULL, NULL, &p));
    assert_int_equal(ward_rbac_check(f->db, &p, "user.manage"), WARD_ERR_PERMISSION);
    CHECK_OK(ward_audit_close(log));
    ward_identity_set_audit_hook(f->db, NULL, NULL);

    ward_audit_report rep;
    CHECK_OK(ward_audit_verify(f->dir, key, &rep));
    assert_true(rep.intact);
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    assert_non_null(mem);
    uint64_t count = 0;
    CHECK_OK(ward_audit_export(f->dir, 0, mem, &count));
    fclose(mem);
    assert_true(count >= 5);
    assert_non_null(strstr(buf, "\"action\":\"user.add\""));
    assert_non_null(strstr(buf, "\"actor\":\"alice\",\"auth_method\":\"password\","
                                "\"action\":\"auth.password\""));
    assert_non_null(strstr(buf, "\"outcome\":\"failure\""));
    assert_non_null(strstr(buf, "\"reason\":\"wrong password\""));
    assert_non_null(strstr(buf, "\"source\":\"192.0.2.11\""));
    assert_non_null(strstr(buf, "\"actor\":\"(invalid)\""));
    assert_non_null(strstr(buf, "\"action\":\"rbac.check\""));
    assert_non_null(strstr(buf, "\"outcome\":\"denied\""));
    assert_null(strstr(buf, PW));
    assert_null(strstr(buf, "not the password"));
    assert_null(strstr(buf, "OR 1=1"));
    free(buf);
    ward_pkey_free(key);
}

static void test_default_cost_is_strong(void **state)
{
    (void)state;
    /* The default cost stands unless a test lowers it; verify what a new database holds. */
    char *d = tu_mkdtemp();
    ward_identity *db = NULL;
    CHECK_OK(ward_identity_open(d, 1, NULL, &db));
    ward_identity_settings s;
    CHECK_OK(ward_identity_get_settings(db, &s));
    assert_int_equal(s.argon2_t, 3);
    assert_int_equal(s.argon2_m_kib, 65536);
    assert_int_equal(s.argon2_p, 1);
    assert_int_equal(s.user_max_failures, 5);
    assert_int_equal(s.addr_max_failures, 20);
    ward_identity_close(db);
    tu_rmtree(d);
    free(d);
}

int main(void)
{
    ward_log_set_level(WARD_LOG_WARN); /* denials are logged at info: keep the output short */
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_open_files_and_key),
        T(test_schema_versions),
        T(test_settings),
        T(test_password_ok),
        T(test_wrong_password),
        T(test_unknown_user_same_denial),
        T(test_disabled_user),
        T(test_user_management),
        T(test_sql_injection),
        T(test_rehash_on_login),
        T(test_totp_flow),
        T(test_totp_window),
        T(test_totp_secret_at_rest),
        T(test_tokens),
        T(test_token_with_totp),
        T(test_certificates),
        T(test_crl_and_usage),
        T(test_auth_cert_key),
        T(test_attestation),
        T(test_rate_limit_user),
        T(test_rate_limit_backoff),
        T(test_rate_limit_address),
        T(test_rate_limit_totp),
        T(test_audit_fail_closed),
        T(test_audit_log_wiring),
        cmocka_unit_test(test_default_cost_is_strong),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
