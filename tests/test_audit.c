/* The audit log: append, group commit, durability, verification of every kind of hand edit,
 * pruning, export. Tampering is done through the SQLite C API, as an attacker with write access
 * to audit.db but without the platform key would.
 *
 * Also a fixture maker for tests/sh_audit_cli.sh:
 *   test_audit --make-fixture DIR N   makes a node data directory (ward_rot) with N records
 *   test_audit --tamper DIR SEQ       edits the actor of record SEQ by hand */
#include "testutil.h"

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ward/audit.h"
#include "ward/crypto.h"
#include "ward/rot.h"

#define INTERVAL 10
#define DAY_MS INT64_C(86400000)

/* ---- fixtures -------------------------------------------------------------------------- */

static ward_pkey *g_key;   /* the "platform key" */
static ward_pkey *g_other; /* someone else's key */
/* The log's clock: called from the appending threads and the writer thread. */
static _Atomic int64_t g_now = INT64_C(1767225600000); /* 2026-01-01T00:00:00Z */

static int64_t fake_now(void *arg)
{
    (void)arg;
    return atomic_fetch_add(&g_now, 1);
}

static ward_err sign_with(void *arg, const uint8_t *msg, size_t len, uint8_t sig[64])
{
    uint8_t *s = NULL;
    size_t n = 0;
    ward_err err = ward_sign(arg, WARD_HASH_SHA256, WARD_SIG_RAW, msg, len, &s, &n);
    if (err == WARD_OK && n == 64)
        memcpy(sig, s, 64);
    free(s);
    return err == WARD_OK && n != 64 ? WARD_ERR_CRYPTO : err;
}

static ward_audit_options opts(void)
{
    ward_audit_options o = {.sign = sign_with, .sign_arg = g_key, .verify_key = g_key,
                            .checkpoint_interval = INTERVAL, .now_ms = fake_now};
    return o;
}

static ward_audit *open_log(const char *dir)
{
    ward_audit_options o = opts();
    ward_audit *log = NULL;
    ward_err err = ward_audit_open(dir, &o, &log);
    if (err != WARD_OK)
        fail_msg("open: %s", ward_errmsg());
    return log;
}

static void append_n(ward_audit *log, int n, int sync)
{
    for (int i = 0; i < n; i++) {
        char obj[32], details[96];
        snprintf(obj, sizeof obj, "task-%d", i);
        snprintf(details, sizeof details, "{\"slot\":%d,\"note\":\"n\\u00e9e\",\"b\":true}", i);
        ward_audit_record r = {.actor = i % 3 ? "alice" : "bob",
                               .auth_method = "password+totp",
                               .action = "task.create",
                               .object = obj,
                               .outcome = (ward_audit_outcome)(i % 3),
                               .request_id = "req-1",
                               .details = details};
        uint64_t seq = 0;
        ward_err err = sync ? ward_audit_append(log, &r, &seq)
                            : ward_audit_append_async(log, &r, &seq);
        if (err != WARD_OK)
            fail_msg("append: %s", ward_errmsg());
        assert_true(seq > 0);
    }
}

/* A closed log of n records in a fresh directory. */
static char *make_log(int n)
{
    char *dir = tu_mkdtemp();
    ward_audit *log = open_log(dir);
    append_n(log, n / 2, 1);
    append_n(log, n - n / 2, 0);
    assert_int_equal(ward_audit_close(log), WARD_OK);
    return dir;
}

static ward_err verify(const char *dir, ward_audit_report *rep)
{
    return ward_audit_verify(dir, g_key, rep);
}

static void expect_bad(const char *dir, ward_audit_problem p, uint64_t bad_seq)
{
    ward_audit_report rep;
    ward_err err = verify(dir, &rep);
    if (err != WARD_ERR_VERIFY || rep.problem != p || rep.bad_seq != bad_seq)
        fail_msg("expected %s at seq %llu, got err %d %s at seq %llu: %s",
                 ward_audit_problem_name(p), (unsigned long long)bad_seq, (int)err,
                 ward_audit_problem_name(rep.problem), (unsigned long long)rep.bad_seq,
                 rep.detail);
    assert_false(rep.intact);
    assert_true(strlen(rep.detail) > 0);
    assert_non_null(strstr(ward_errmsg(), "seq"));
}

static sqlite3 *db_open(const char *dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/audit.db", dir);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    return db;
}

static void db_exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", sql, msg);
}

static void tamper(const char *dir, const char *sql)
{
    sqlite3 *db = db_open(dir);
    db_exec(db, sql);
    sqlite3_close(db);
}

/* ---- an independent implementation of the documented record hash -------------------------- */

static void put_be(uint8_t **p, uint64_t v, int bytes)
{
    for (int i = bytes - 1; i >= 0; i--)
        *(*p)++ = (uint8_t)(v >> (8 * i));
}

static void doc_record_hash(sqlite3_stmt *st, uint64_t seq, const uint8_t *prev, uint8_t out[32])
{
    /* st: seq, time_ms, actor, auth_method, action, object, outcome, request_id, details */
    static uint8_t buf[16384];
    uint8_t *p = buf;
    memcpy(p, "WAUDREC1", 8);
    p += 8;
    put_be(&p, seq, 8);
    put_be(&p, (uint64_t)sqlite3_column_int64(st, 1), 8);
    const char *oc = (const char *)sqlite3_column_text(st, 6);
    *p++ = strcmp(oc, "success") == 0 ? 0 : strcmp(oc, "failure") == 0 ? 1 : 2;
    static const int cols[] = {2, 3, 4, 5, 7, 8};
    for (int i = 0; i < 6; i++) {
        size_t n = (size_t)sqlite3_column_bytes(st, cols[i]);
        put_be(&p, n, 4);
        memcpy(p, sqlite3_column_text(st, cols[i]), n);
        p += n;
    }
    memcpy(p, prev, 32);
    p += 32;
    assert_int_equal(ward_hash(WARD_HASH_SHA256, buf, (size_t)(p - buf), out), WARD_OK);
}

#define SEL "SELECT seq, time_ms, actor, auth_method, action, object, outcome, request_id, " \
            "details, prev_hash, hash FROM audit_records"

/* The attacker's rechain: recomputes prev_hash and hash of every record from `from` on. */
static void rechain_from(sqlite3 *db, uint64_t from)
{
    uint8_t prev[32] = {0};
    sqlite3_stmt *q = NULL, *u = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT hash FROM audit_records WHERE seq = ?1", -1,
                                        &q, NULL), SQLITE_OK);
    sqlite3_bind_int64(q, 1, (sqlite3_int64)from - 1);
    if (sqlite3_step(q) == SQLITE_ROW)
        memcpy(prev, sqlite3_column_blob(q, 0), 32);
    sqlite3_finalize(q);
    assert_int_equal(sqlite3_prepare_v2(db, SEL " WHERE seq >= ?1 ORDER BY seq", -1, &q, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "UPDATE audit_records SET prev_hash = ?1, hash = ?2 "
                                            "WHERE seq = ?3", -1, &u, NULL), SQLITE_OK);
    sqlite3_bind_int64(q, 1, (sqlite3_int64)from);
    db_exec(db, "BEGIN");
    while (sqlite3_step(q) == SQLITE_ROW) {
        uint64_t seq = (uint64_t)sqlite3_column_int64(q, 0);
        uint8_t h[32];
        doc_record_hash(q, seq, prev, h);
        sqlite3_bind_blob(u, 1, prev, 32, SQLITE_TRANSIENT);
        sqlite3_bind_blob(u, 2, h, 32, SQLITE_TRANSIENT);
        sqlite3_bind_int64(u, 3, (sqlite3_int64)seq);
        assert_int_equal(sqlite3_step(u), SQLITE_DONE);
        sqlite3_reset(u);
        memcpy(prev, h, 32);
    }
    db_exec(db, "COMMIT");
    sqlite3_finalize(q);
    sqlite3_finalize(u);
}

/* Recomputes the hash of one record only (its stored prev_hash kept). */
static void rehash_one(sqlite3 *db, uint64_t seq)
{
    sqlite3_stmt *q = NULL, *u = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, SEL " WHERE seq = ?1", -1, &q, NULL), SQLITE_OK);
    sqlite3_bind_int64(q, 1, (sqlite3_int64)seq);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    uint8_t prev[32], h[32];
    memcpy(prev, sqlite3_column_blob(q, 9), 32);
    doc_record_hash(q, seq, prev, h);
    sqlite3_finalize(q);
    assert_int_equal(sqlite3_prepare_v2(db, "UPDATE audit_records SET hash = ?1 WHERE seq = ?2",
                                        -1, &u, NULL), SQLITE_OK);
    sqlite3_bind_blob(u, 1, h, 32, SQLITE_TRANSIENT);
    sqlite3_bind_int64(u, 2, (sqlite3_int64)seq);
    assert_int_equal(sqlite3_step(u), SQLITE_DONE);
    sqlite3_finalize(u);
}

/* ---- setup ------------------------------------------------------------------------------- */

static int group_setup(void **state)
{
    (void)state;
    if (ward_pkey_generate(WARD_KEY_EC_P256, &g_key) != WARD_OK ||
        ward_pkey_generate(WARD_KEY_EC_P256, &g_other) != WARD_OK)
        return -1;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    ward_pkey_free(g_key);
    ward_pkey_free(g_other);
    return 0;
}

/* ---- the good path --------------------------------------------------------------------- */

static void test_append_and_verify(void **state)
{
    (void)state;
    char *dir = make_log(50);
    ward_audit_report rep;
    assert_int_equal(verify(dir, &rep), WARD_OK);
    assert_true(rep.intact);
    assert_int_equal(rep.records, 50);
    assert_int_equal(rep.first_seq, 1);
    assert_int_equal(rep.last_seq, 50);
    assert_int_equal(rep.checkpoints, 5);
    assert_int_equal(rep.anchored_seq, 50);
    assert_int_equal(rep.unanchored, 0);
    tu_rmtree(dir);
    free(dir);
}

/* The stored hashes and checkpoint signatures follow the documented formats exactly. */
static void test_formats_match_documentation(void **state)
{
    (void)state;
    char *dir = make_log(23); /* checkpoints at 10, 20 and a close one at 23 */
    sqlite3 *db = db_open(dir);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, SEL " ORDER BY seq", -1, &st, NULL), SQLITE_OK);
    uint8_t prev[32] = {0};
    int n = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        uint8_t h[32];
        uint64_t seq = (uint64_t)sqlite3_column_int64(st, 0);
        assert_memory_equal(sqlite3_column_blob(st, 9), prev, 32);
        doc_record_hash(st, seq, prev, h);
        assert_memory_equal(sqlite3_column_blob(st, 10), h, 32);
        memcpy(prev, h, 32);
        n++;
    }
    assert_int_equal(n, 23);
    sqlite3_finalize(st);
    /* details are canonical JSON */
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT details FROM audit_records WHERE seq = 2",
                                        -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0),
                        "{\"b\":true,\"note\":\"n\xc3\xa9" "e\",\"slot\":1}");
    sqlite3_finalize(st);

    uint8_t log_id[16];
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT value FROM audit_meta WHERE name='log_id'",
                                        -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_bytes(st, 0), 16);
    memcpy(log_id, sqlite3_column_blob(st, 0), 16);
    sqlite3_finalize(st);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT kind, first_seq, seq, hash, range_digest, "
                                            "time_ms, sig, hashes FROM audit_checkpoints ORDER "
                                            "BY seq", -1, &st, NULL), SQLITE_OK);
    int kinds[3], k = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        assert_true(k < 3);
        kinds[k++] = sqlite3_column_int(st, 0);
        uint8_t msg[117], *p = msg;
        memcpy(p, "WAUDCKPT", 8);
        p += 8;
        put_be(&p, 1, 4);
        *p++ = (uint8_t)sqlite3_column_int(st, 0);
        memcpy(p, log_id, 16);
        p += 16;
        put_be(&p, (uint64_t)sqlite3_column_int64(st, 1), 8);
        put_be(&p, (uint64_t)sqlite3_column_int64(st, 2), 8);
        memcpy(p, sqlite3_column_blob(st, 3), 32);
        p += 32;
        /* range digest = SHA-256("WAUDRNG1" || hashes) */
        size_t hl = (size_t)sqlite3_column_bytes(st, 7);
        uint8_t *rb = malloc(8 + hl);
        assert_non_null(rb);
        memcpy(rb, "WAUDRNG1", 8);
        memcpy(rb + 8, sqlite3_column_blob(st, 7), hl);
        uint8_t d[32];
        assert_int_equal(ward_hash(WARD_HASH_SHA256, rb, 8 + hl, d), WARD_OK);
        free(rb);
        assert_memory_equal(d, sqlite3_column_blob(st, 4), 32);
        memcpy(p, d, 32);
        p += 32;
        put_be(&p, (uint64_t)sqlite3_column_int64(st, 5), 8);
        assert_int_equal((size_t)(p - msg), sizeof msg);
        assert_int_equal(sqlite3_column_bytes(st, 6), 64);
        assert_int_equal(ward_verify(g_key, WARD_HASH_SHA256, WARD_SIG_RAW, msg, sizeof msg,
                                     sqlite3_column_blob(st, 6), 64), WARD_OK);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    assert_int_equal(k, 3);
    assert_int_equal(kinds[0], 1); /* periodic */
    assert_int_equal(kinds[1], 1);
    assert_int_equal(kinds[2], 2); /* close */
    tu_rmtree(dir);
    free(dir);
}

static void test_group_commit_survives_reopen(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    ward_audit *log = open_log(dir);
    append_n(log, 1000, 0); /* async: group commits */
    assert_int_equal(ward_audit_flush(log), WARD_OK);
    assert_int_equal(ward_audit_durable_seq(log), 1000);
    assert_int_equal(ward_audit_close(log), WARD_OK);
    log = open_log(dir);
    assert_int_equal(ward_audit_last_seq(log), 1000);
    append_n(log, 15, 1);
    assert_int_equal(ward_audit_last_seq(log), 1015);
    assert_int_equal(ward_audit_close(log), WARD_OK);
    ward_audit_report rep;
    assert_int_equal(verify(dir, &rep), WARD_OK);
    assert_int_equal(rep.records, 1015);
    assert_int_equal(rep.anchored_seq, 1015);
    tu_rmtree(dir);
    free(dir);
}

struct thr {
    ward_audit *log;
    uint64_t seqs[100];
};

static void *appender(void *arg)
{
    struct thr *t = arg;
    for (int i = 0; i < 100; i++) {
        ward_audit_record r = {.actor = "svc", .action = "key.release", .object = "k"};
        if (ward_audit_append(t->log, &r, &t->seqs[i]) != WARD_OK)
            t->seqs[i] = 0;
    }
    return NULL;
}

static void test_concurrent_sync_appends(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    ward_audit *log = open_log(dir);
    struct thr t[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        t[i].log = log;
        assert_int_equal(pthread_create(&th[i], NULL, appender, &t[i]), 0);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    uint8_t seen[401] = {0};
    for (int i = 0; i < 4; i++)
        for (int k = 0; k < 100; k++) {
            uint64_t s = t[i].seqs[k];
            assert_true(s >= 1 && s <= 400);
            assert_false(seen[s]);
            seen[s] = 1;
            assert_true(ward_audit_durable_seq(log) >= s);
        }
    assert_int_equal(ward_audit_close(log), WARD_OK);
    ward_audit_report rep;
    assert_int_equal(verify(dir, &rep), WARD_OK);
    assert_int_equal(rep.records, 400);
    tu_rmtree(dir);
    free(dir);
}

/* A crash (the process dies without closing): every append that returned is there after
 * reopening; the tail after the last checkpoint is reported as unanchored. */
static void test_durable_after_crash(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        ward_audit_options o = opts();
        ward_audit *log = NULL;
        if (ward_audit_open(dir, &o, &log) != WARD_OK)
            _exit(3);
        for (int i = 0; i < 25; i++) {
            ward_audit_record r = {.actor = "alice", .action = "auth.login"};
            uint64_t seq;
            if (ward_audit_append(log, &r, &seq) != WARD_OK || seq != (uint64_t)i + 1)
                _exit(4);
        }
        _exit(0); /* no close: no close checkpoint, the writer thread just dies */
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);

    ward_audit_report rep;
    assert_int_equal(verify(dir, &rep), WARD_OK);
    assert_int_equal(rep.records, 25);
    assert_int_equal(rep.anchored_seq, 20);
    assert_int_equal(rep.unanchored, 5);

    /* An edit in the unanchored tail is still caught by the chain... */
    tamper(dir, "UPDATE audit_records SET action = 'auth.logout' WHERE seq = 23");
    expect_bad(dir, WARD_AUDIT_EDITED, 23);
    /* ...and the writer refuses to sign over it. */
    ward_audit_options o = opts();
    ward_audit *log = NULL;
    assert_int_equal(ward_audit_open(dir, &o, &log), WARD_ERR_VERIFY);
    assert_null(log);
    /* But an edit with the chain recomputed cannot be told from the truth (documented). */
    sqlite3 *db = db_open(dir);
    rechain_from(db, 23);
    sqlite3_close(db);
    assert_int_equal(verify(dir, &rep), WARD_OK);
    assert_int_equal(rep.unanchored, 5);

    /* Reopening continues the chain and signs the tail. */
    log = open_log(dir);
    assert_int_equal(ward_audit_last_seq(log), 25);
    append_n(log, 2, 1);
    assert_int_equal(ward_audit_close(log), WARD_OK);
    assert_int_equal(verify(dir, &rep), WARD_OK);
    assert_int_equal(rep.records, 27);
    assert_int_equal(rep.unanchored, 0);
    tu_rmtree(dir);
    free(dir);
}

static void test_explicit_checkpoint(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    ward_audit *log = open_log(dir);
    append_n(log, 3, 0);
    assert_int_equal(ward_audit_checkpoint(log), WARD_OK);
    ward_audit_report rep;
    assert_int_equal(verify(dir, &rep), WARD_OK); /* while the writer is open */
    assert_int_equal(rep.anchored_seq, 3);
    assert_int_equal(ward_audit_checkpoint(log), WARD_OK); /* nothing new: no checkpoint */
    assert_int_equal(ward_audit_close(log), WARD_OK);
    assert_int_equal(verify(dir, &rep), WARD_OK);
    assert_int_equal(rep.checkpoints, 1);
    tu_rmtree(dir);
    free(dir);
}

/* ---- bad input to the API ------------------------------------------------------------------ */

static void test_append_rejects_bad_records(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    ward_audit *log = open_log(dir);
    char longs[WARD_AUDIT_FIELD_MAX + 2];
    memset(longs, 'a', sizeof longs - 1);
    longs[sizeof longs - 1] = '\0';
    char bigdetails[WARD_AUDIT_DETAILS_MAX + 32];
    snprintf(bigdetails, sizeof bigdetails, "{\"x\":\"%0*d\"}", WARD_AUDIT_DETAILS_MAX, 0);
    const ward_audit_record bad[] = {
        {.actor = NULL, .action = "a"},
        {.actor = "u", .action = NULL},
        {.actor = "", .action = "a"},
        {.actor = "u", .action = ""},
        {.actor = "u\nforged line", .action = "a"},
        {.actor = "u", .action = "a", .object = "\xff\xfe"},
        {.actor = "u", .action = "a", .object = "\xc0\xaf"}, /* overlong '/' */
        {.actor = "u", .action = "a", .request_id = "\xed\xa0\x80"}, /* surrogate */
        {.actor = longs, .action = "a"},
        {.actor = "u", .action = "a", .details = "[1,2]"},
        {.actor = "u", .action = "a", .details = "{\"x\":1.5}"},
        {.actor = "u", .action = "a", .details = "{\"x\":1,\"x\":2}"},
        {.actor = "u", .action = "a", .details = "{not json"},
        {.actor = "u", .action = "a", .details = bigdetails},
        {.actor = "u", .action = "a", .outcome = (ward_audit_outcome)7},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t seq = 99;
        ward_err err = ward_audit_append(log, &bad[i], &seq);
        if (err == WARD_OK)
            fail_msg("bad record %zu accepted", i);
        assert_int_equal(seq, 0);
    }
    assert_int_not_equal(ward_audit_append(log, NULL, NULL), WARD_OK);
    assert_int_equal(ward_audit_last_seq(log), 0);
    ward_audit_record ok = {.actor = "u", .action = "a"};
    assert_int_equal(ward_audit_append(log, &ok, NULL), WARD_OK);
    assert_int_equal(ward_audit_last_seq(log), 1);
    assert_int_equal(ward_audit_close(log), WARD_OK);
    tu_rmtree(dir);
    free(dir);
}

static void test_open_rejects(void **state)
{
    (void)state;
    char *dir = make_log(12);
    ward_audit_options o = opts();
    ward_audit *log = NULL;
    /* No key, no callback. */
    o.verify_key = NULL;
    assert_int_equal(ward_audit_open(dir, &o, &log), WARD_ERR_INVALID_ARG);
    /* A verification key that does not match the existing checkpoints. */
    o = opts();
    o.verify_key = g_other;
    assert_int_equal(ward_audit_open(dir, &o, &log), WARD_ERR_VERIFY);
    /* A sign callback with another key than the verification key. */
    char *fresh = tu_mkdtemp();
    o = opts();
    o.sign_arg = g_other;
    assert_int_equal(ward_audit_open(fresh, &o, &log), WARD_OK);
    append_n(log, 1, 1);
    assert_int_equal(ward_audit_checkpoint(log), WARD_ERR_VERIFY);
    ward_audit_record r = {.actor = "u", .action = "a"};
    assert_int_not_equal(ward_audit_append(log, &r, NULL), WARD_OK); /* failed state sticks */
    assert_int_not_equal(ward_audit_close(log), WARD_OK);
    /* One writer at a time. */
    ward_audit *a = open_log(dir), *b = NULL;
    o = opts();
    assert_int_equal(ward_audit_open(dir, &o, &b), WARD_ERR_STATE);
    assert_null(b);
    assert_int_equal(ward_audit_close(a), WARD_OK);
    /* No such directory. */
    assert_int_not_equal(ward_audit_open("/nonexistent/ward", &o, &b), WARD_OK);
    ward_audit_report rep;
    assert_int_equal(ward_audit_verify("/nonexistent/ward", g_key, &rep), WARD_ERR_NOT_FOUND);
    /* A planted trigger. */
    tamper(dir, "CREATE TRIGGER t AFTER INSERT ON audit_records BEGIN "
                "DELETE FROM audit_records WHERE seq = 1; END");
    assert_int_not_equal(ward_audit_open(dir, &o, &b), WARD_OK);
    expect_bad(dir, WARD_AUDIT_MALFORMED, 0);
    tu_rmtree(fresh);
    free(fresh);
    tu_rmtree(dir);
    free(dir);
}

/* ---- hand edits: each one detected, the first bad record named -------------------------- */
/* A closed log of 50 records; checkpoints cover 1..10, 11..20, 21..30, 31..40, 41..50. */

static void test_edit_field(void **state)
{
    (void)state;
    char *dir = make_log(50);
    tamper(dir, "UPDATE audit_records SET actor = 'mallory' WHERE seq = 23");
    expect_bad(dir, WARD_AUDIT_EDITED, 23);
    tu_rmtree(dir);
    free(dir);
}

static void test_edit_outcome_and_time(void **state)
{
    (void)state;
    char *dir = make_log(50);
    tamper(dir, "UPDATE audit_records SET outcome = 'success' WHERE seq = 3"); /* was denied */
    expect_bad(dir, WARD_AUDIT_EDITED, 3);
    tu_rmtree(dir);
    free(dir);
    dir = make_log(50);
    tamper(dir, "UPDATE audit_records SET time_ms = time_ms + 1 WHERE seq = 41");
    expect_bad(dir, WARD_AUDIT_EDITED, 41);
    tu_rmtree(dir);
    free(dir);
    dir = make_log(50);
    tamper(dir, "UPDATE audit_records SET outcome = 'maybe' WHERE seq = 7");
    expect_bad(dir, WARD_AUDIT_EDITED, 7);
    tu_rmtree(dir);
    free(dir);
}

static void test_delete_record(void **state)
{
    (void)state;
    char *dir = make_log(50);
    tamper(dir, "DELETE FROM audit_records WHERE seq = 23");
    expect_bad(dir, WARD_AUDIT_MISSING, 23);
    tu_rmtree(dir);
    free(dir);
    /* Deleted and the later ones renumbered. */
    dir = make_log(50);
    tamper(dir, "DELETE FROM audit_records WHERE seq = 23;"
                "UPDATE audit_records SET seq = seq + 1000 WHERE seq > 23;"
                "UPDATE audit_records SET seq = seq - 1001 WHERE seq > 1000");
    expect_bad(dir, WARD_AUDIT_MOVED, 23);
    tu_rmtree(dir);
    free(dir);
    /* The first records, without a prune anchor. */
    dir = make_log(50);
    tamper(dir, "DELETE FROM audit_records WHERE seq <= 3");
    expect_bad(dir, WARD_AUDIT_MISSING, 1);
    tu_rmtree(dir);
    free(dir);
}

static void test_swap_records(void **state)
{
    (void)state;
    char *dir = make_log(50);
    tamper(dir, "UPDATE audit_records SET seq = -1 WHERE seq = 23;"
                "UPDATE audit_records SET seq = 23 WHERE seq = 24;"
                "UPDATE audit_records SET seq = 24 WHERE seq = -1");
    expect_bad(dir, WARD_AUDIT_MOVED, 23);
    tu_rmtree(dir);
    free(dir);
    /* Contents swapped with the chain recomputed. */
    dir = make_log(50);
    sqlite3 *db = db_open(dir);
    db_exec(db, "UPDATE audit_records SET seq = -1 WHERE seq = 33;"
                "UPDATE audit_records SET seq = 33 WHERE seq = 34;"
                "UPDATE audit_records SET seq = 34 WHERE seq = -1");
    rechain_from(db, 33);
    sqlite3_close(db);
    expect_bad(dir, WARD_AUDIT_NOT_SIGNED, 33);
    tu_rmtree(dir);
    free(dir);
}

static void test_insert_record(void **state)
{
    (void)state;
    char *dir = make_log(50);
    sqlite3 *db = db_open(dir);
    /* Make room at 24, insert a well-formed record chained to 23, rechain the rest. */
    db_exec(db, "UPDATE audit_records SET seq = seq + 1000 WHERE seq >= 24;"
                "UPDATE audit_records SET seq = seq - 999 WHERE seq > 1000;"
                "INSERT INTO audit_records SELECT 24, time_ms, 'mallory', auth_method, action, "
                "object, 'success', request_id, details, prev_hash, hash FROM audit_records "
                "WHERE seq = 23");
    rechain_from(db, 24);
    sqlite3_close(db);
    expect_bad(dir, WARD_AUDIT_NOT_SIGNED, 24);
    tu_rmtree(dir);
    free(dir);
}

static void test_edit_and_rechain(void **state)
{
    (void)state;
    /* The attacker recomputes every hash after the edit, without the key: the signed
     * checkpoint holds the original hash of record 23. */
    char *dir = make_log(50);
    sqlite3 *db = db_open(dir);
    db_exec(db, "UPDATE audit_records SET outcome = 'success', actor = 'alice' WHERE seq = 23");
    rechain_from(db, 23);
    sqlite3_close(db);
    expect_bad(dir, WARD_AUDIT_NOT_SIGNED, 23);
    tu_rmtree(dir);
    free(dir);
    /* Only the edited record's own hash recomputed: its successor's link breaks, but the
     * signed list already names 23. */
    dir = make_log(50);
    db = db_open(dir);
    db_exec(db, "UPDATE audit_records SET object = 'other' WHERE seq = 23");
    rehash_one(db, 23);
    sqlite3_close(db);
    expect_bad(dir, WARD_AUDIT_NOT_SIGNED, 23);
    tu_rmtree(dir);
    free(dir);
    /* ...and also the checkpoints' hash lists and digests rewritten to match: the signatures
     * no longer verify. */
    dir = make_log(50);
    db = db_open(dir);
    db_exec(db, "UPDATE audit_records SET actor = 'mallory' WHERE seq = 23");
    rechain_from(db, 23);
    sqlite3_stmt *q = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT id, first_seq, seq FROM audit_checkpoints",
                                        -1, &q, NULL), SQLITE_OK);
    while (sqlite3_step(q) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(q, 0), first = sqlite3_column_int64(q, 1),
                last = sqlite3_column_int64(q, 2);
        size_t n = (size_t)(last - first + 1);
        uint8_t *list = malloc(8 + n * 32);
        assert_non_null(list);
        memcpy(list, "WAUDRNG1", 8);
        sqlite3_stmt *h = NULL;
        assert_int_equal(sqlite3_prepare_v2(db, "SELECT hash FROM audit_records WHERE seq "
                                                "BETWEEN ?1 AND ?2 ORDER BY seq", -1, &h, NULL),
                         SQLITE_OK);
        sqlite3_bind_int64(h, 1, first);
        sqlite3_bind_int64(h, 2, last);
        size_t i = 0;
        while (sqlite3_step(h) == SQLITE_ROW)
            memcpy(list + 8 + 32 * i++, sqlite3_column_blob(h, 0), 32);
        sqlite3_finalize(h);
        assert_int_equal(i, n);
        uint8_t d[32];
        assert_int_equal(ward_hash(WARD_HASH_SHA256, list, 8 + n * 32, d), WARD_OK);
        sqlite3_stmt *u = NULL;
        assert_int_equal(sqlite3_prepare_v2(db, "UPDATE audit_checkpoints SET hashes = ?1, "
                                                "range_digest = ?2, hash = ?3 WHERE id = ?4",
                                            -1, &u, NULL), SQLITE_OK);
        sqlite3_bind_blob(u, 1, list + 8, (int)(n * 32), SQLITE_TRANSIENT);
        sqlite3_bind_blob(u, 2, d, 32, SQLITE_TRANSIENT);
        sqlite3_bind_blob(u, 3, list + 8 + (n - 1) * 32, 32, SQLITE_TRANSIENT);
        sqlite3_bind_int64(u, 4, id);
        assert_int_equal(sqlite3_step(u), SQLITE_DONE);
        sqlite3_finalize(u);
        free(list);
    }
    sqlite3_finalize(q);
    sqlite3_close(db);
    ward_audit_report rep;
    assert_int_equal(verify(dir, &rep), WARD_ERR_VERIFY);
    assert_int_equal(rep.problem, WARD_AUDIT_BAD_SIGNATURE);
    assert_int_equal(rep.bad_seq, 21);
    assert_int_equal(rep.checkpoint_seq, 30);
    tu_rmtree(dir);
    free(dir);
}

static void test_checkpoint_tampering(void **state)
{
    (void)state;
    /* A signature altered. */
    char *dir = make_log(50);
    tamper(dir, "UPDATE audit_checkpoints SET sig = CAST(substr(sig, 1, 10) || "
                "CASE WHEN substr(sig, 11, 1) = x'00' THEN x'01' ELSE x'00' END || "
                "substr(sig, 12) AS BLOB) WHERE seq = 30");
    ward_audit_report rep;
    assert_int_equal(verify(dir, &rep), WARD_ERR_VERIFY);
    assert_int_equal(rep.problem, WARD_AUDIT_BAD_SIGNATURE);
    assert_int_equal(rep.bad_seq, 21);
    assert_int_equal(rep.checkpoint_seq, 30);
    tu_rmtree(dir);
    free(dir);
    /* A signature of the wrong type. */
    dir = make_log(50);
    tamper(dir, "UPDATE audit_checkpoints SET sig = hex(sig) WHERE seq = 30");
    expect_bad(dir, WARD_AUDIT_BAD_CHECKPOINT, 21);
    tu_rmtree(dir);
    free(dir);
    /* A signed field altered (the time). */
    dir = make_log(50);
    tamper(dir, "UPDATE audit_checkpoints SET time_ms = time_ms - 1 WHERE seq = 10");
    expect_bad(dir, WARD_AUDIT_BAD_SIGNATURE, 1);
    tu_rmtree(dir);
    free(dir);
    /* A checkpoint deleted. */
    dir = make_log(50);
    tamper(dir, "DELETE FROM audit_checkpoints WHERE seq = 30");
    expect_bad(dir, WARD_AUDIT_BAD_CHECKPOINT, 21);
    tu_rmtree(dir);
    free(dir);
    /* A checkpoint duplicated. */
    dir = make_log(50);
    tamper(dir, "INSERT INTO audit_checkpoints(kind, first_seq, seq, hash, range_digest, "
                "time_ms, sig, hashes) SELECT kind, first_seq, seq, hash, range_digest, time_ms, "
                "sig, hashes FROM audit_checkpoints WHERE seq = 20");
    expect_bad(dir, WARD_AUDIT_BAD_CHECKPOINT, 21);
    tu_rmtree(dir);
    free(dir);
    /* The wrong platform key. */
    dir = make_log(50);
    assert_int_equal(ward_audit_verify(dir, g_other, &rep), WARD_ERR_VERIFY);
    assert_int_equal(rep.problem, WARD_AUDIT_BAD_SIGNATURE);
    assert_int_equal(rep.bad_seq, 1);
    tu_rmtree(dir);
    free(dir);
    /* The log id changed (checkpoints of another log). */
    dir = make_log(50);
    tamper(dir, "UPDATE audit_meta SET value = zeroblob(16) WHERE name = 'log_id'");
    expect_bad(dir, WARD_AUDIT_BAD_SIGNATURE, 1);
    tu_rmtree(dir);
    free(dir);
}

static void test_truncation(void **state)
{
    (void)state;
    /* Tail records deleted while the checkpoint covering them remains. */
    char *dir = make_log(50);
    tamper(dir, "DELETE FROM audit_records WHERE seq >= 46");
    ward_audit_report rep;
    assert_int_equal(verify(dir, &rep), WARD_ERR_VERIFY);
    assert_int_equal(rep.problem, WARD_AUDIT_TRUNCATED);
    assert_int_equal(rep.bad_seq, 46);
    assert_int_equal(rep.checkpoint_seq, 50);
    tu_rmtree(dir);
    free(dir);
    /* Whole checkpoint ranges deleted at the end, their checkpoints kept. */
    dir = make_log(50);
    tamper(dir, "DELETE FROM audit_records WHERE seq > 30");
    expect_bad(dir, WARD_AUDIT_TRUNCATED, 31);
    tu_rmtree(dir);
    free(dir);
    /* The limitation, stated as a test: truncation back to a checkpoint boundary together with
     * the later checkpoints looks like a shorter valid log. Only an exported copy of the
     * checkpoints reveals it. */
    dir = make_log(50);
    tamper(dir, "DELETE FROM audit_records WHERE seq > 30;"
                "DELETE FROM audit_checkpoints WHERE seq > 30");
    assert_int_equal(verify(dir, &rep), WARD_OK);
    assert_int_equal(rep.last_seq, 30);
    tu_rmtree(dir);
    free(dir);
}

static void test_malformed_rows(void **state)
{
    (void)state;
    char *dir = make_log(50);
    tamper(dir, "UPDATE audit_records SET hash = x'0102' WHERE seq = 5");
    expect_bad(dir, WARD_AUDIT_MALFORMED, 5);
    tu_rmtree(dir);
    free(dir);
    dir = make_log(50);
    tamper(dir, "UPDATE audit_records SET prev_hash = zeroblob(32) WHERE seq = 12");
    ward_audit_report rep;
    assert_int_equal(verify(dir, &rep), WARD_ERR_VERIFY);
    /* prev_hash is inside the hash: an edit */
    assert_int_equal(rep.problem, WARD_AUDIT_EDITED);
    assert_int_equal(rep.bad_seq, 12);
    tu_rmtree(dir);
    free(dir);
    dir = make_log(50);
    tamper(dir, "UPDATE audit_checkpoints SET hashes = NULL WHERE seq = 20");
    expect_bad(dir, WARD_AUDIT_BAD_CHECKPOINT, 11);
    tu_rmtree(dir);
    free(dir);
    dir = make_log(50);
    tamper(dir, "DELETE FROM audit_meta");
    expect_bad(dir, WARD_AUDIT_MALFORMED, 0);
    tu_rmtree(dir);
    free(dir);
}

/* ---- pruning ------------------------------------------------------------------------------- */

static void test_prune_keeps_verifiable(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    int64_t t0 = g_now;
    ward_audit *log = open_log(dir);
    append_n(log, 25, 1);             /* old records 1..25 */
    g_now = t0 + 200 * DAY_MS;
    append_n(log, 25, 0);             /* new records 26..50 */
    uint64_t pruned = 0;
    assert_int_equal(ward_audit_prune(log, 182, &pruned), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_audit_prune(log, 183, &pruned), WARD_OK);
    assert_int_equal(pruned, 25);     /* 26..30 stay covered by the checkpoint at 30 */
    ward_audit_report rep;
    assert_int_equal(verify(dir, &rep), WARD_OK);
    assert_int_equal(rep.pruned_to, 25);
    assert_int_equal(rep.first_seq, 26);
    assert_int_equal(rep.last_seq, 51); /* + the audit.pruned record */
    assert_int_equal(ward_audit_prune(log, 183, &pruned), WARD_OK);
    assert_int_equal(pruned, 0);        /* nothing old left */
    append_n(log, 5, 1);
    assert_int_equal(ward_audit_close(log), WARD_OK);
    assert_int_equal(verify(dir, &rep), WARD_OK);
    assert_int_equal(rep.records, 31);
    assert_int_equal(rep.unanchored, 0);

    /* Tampering after the anchor is still caught; the anchor itself is signed. */
    tamper(dir, "UPDATE audit_records SET actor = actor || 'x' WHERE seq = 26");
    expect_bad(dir, WARD_AUDIT_EDITED, 26);
    tamper(dir, "UPDATE audit_records SET actor = substr(actor, 1, length(actor) - 1) "
                "WHERE seq = 26");
    assert_int_equal(verify(dir, &rep), WARD_OK);
    tamper(dir, "UPDATE audit_checkpoints SET seq = 24 WHERE kind = 3");
    expect_bad(dir, WARD_AUDIT_BAD_SIGNATURE, 25);
    tamper(dir, "UPDATE audit_checkpoints SET seq = 25 WHERE kind = 3");
    tamper(dir, "DELETE FROM audit_checkpoints WHERE kind = 3");
    expect_bad(dir, WARD_AUDIT_MISSING, 1);

    /* A log that does not verify is not pruned (that would launder the tampering). */
    char *dir2 = tu_mkdtemp();
    g_now = t0;
    log = open_log(dir2);
    append_n(log, 12, 1);
    assert_int_equal(ward_audit_close(log), WARD_OK);
    tamper(dir2, "UPDATE audit_records SET actor = 'x' WHERE seq = 11");
    g_now = t0 + 400 * DAY_MS;
    ward_audit_options o = opts();
    log = NULL;
    assert_int_equal(ward_audit_open(dir2, &o, &log), WARD_OK); /* the tail is signed */
    assert_int_equal(ward_audit_prune(log, 183, &pruned), WARD_ERR_VERIFY);
    assert_int_equal(pruned, 0);
    assert_int_equal(ward_audit_close(log), WARD_OK);
    expect_bad(dir2, WARD_AUDIT_EDITED, 11);
    g_now = t0 + 1000;
    tu_rmtree(dir2);
    free(dir2);
    tu_rmtree(dir);
    free(dir);
}

static void test_prune_everything(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    int64_t t0 = g_now;
    ward_audit *log = open_log(dir);
    append_n(log, 7, 1);
    g_now = t0 + 190 * DAY_MS;
    uint64_t pruned = 0;
    assert_int_equal(ward_audit_prune(log, 183, &pruned), WARD_OK);
    assert_int_equal(pruned, 7);
    assert_int_equal(ward_audit_close(log), WARD_OK);
    log = open_log(dir); /* reopen after a prune: the chain continues from the anchor */
    append_n(log, 3, 1);
    assert_int_equal(ward_audit_close(log), WARD_OK);
    ward_audit_report rep;
    assert_int_equal(verify(dir, &rep), WARD_OK);
    assert_int_equal(rep.pruned_to, 7);
    assert_int_equal(rep.first_seq, 8);
    assert_int_equal(rep.last_seq, 11);
    g_now = t0 + 1000;
    tu_rmtree(dir);
    free(dir);
}

/* ---- export -------------------------------------------------------------------------------- */

static void test_export_json_lines(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    int64_t t0 = g_now;
    ward_audit *log = open_log(dir);
    append_n(log, 12, 1);
    g_now = t0 + 10 * DAY_MS;
    int64_t mid = g_now;
    append_n(log, 13, 0);
    ward_audit_record tricky = {.actor = "\"quote\\ \xe2\x82\xac", .action = "x",
                                .details = "{\"k\":\"\\n\\t\"}"};
    assert_int_equal(ward_audit_append(log, &tricky, NULL), WARD_OK);
    assert_int_equal(ward_audit_close(log), WARD_OK);

    FILE *f = tmpfile();
    assert_non_null(f);
    uint64_t n = 0;
    assert_int_equal(ward_audit_export(dir, 0, f, &n), WARD_OK);
    assert_int_equal(n, 26);
    rewind(f);
    char line[8192];
    int recs = 0, ckpts = 0;
    uint64_t last_ckpt = 0;
    while (fgets(line, sizeof line, f) != NULL) {
        size_t len = strlen(line);
        assert_true(len > 0 && line[len - 1] == '\n');
        json_error_t je;
        json_t *j = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je);
        if (j == NULL)
            fail_msg("line is not JSON: %s (%s)", line, je.text);
        const char *type = json_string_value(json_object_get(j, "type"));
        assert_non_null(type);
        if (strcmp(type, "record") == 0) {
            recs++;
            assert_int_equal(json_integer_value(json_object_get(j, "seq")), recs);
            assert_true(json_is_object(json_object_get(j, "details")));
            assert_int_equal(strlen(json_string_value(json_object_get(j, "hash"))), 64);
            assert_non_null(json_string_value(json_object_get(j, "outcome")));
            const char *t = json_string_value(json_object_get(j, "time"));
            assert_int_equal(strlen(t), 24);
            assert_int_equal(t[23], 'Z');
            if (recs == 26)
                assert_string_equal(json_string_value(json_object_get(j, "actor")),
                                    tricky.actor);
            /* checkpoints come after the record they cover up to */
            assert_true(last_ckpt < (uint64_t)recs);
        } else {
            assert_string_equal(type, "checkpoint");
            ckpts++;
            last_ckpt = (uint64_t)json_integer_value(json_object_get(j, "seq"));
            assert_true(last_ckpt <= (uint64_t)recs);
            assert_int_equal(strlen(json_string_value(json_object_get(j, "signature"))), 128);
        }
        json_decref(j);
    }
    fclose(f);
    assert_int_equal(recs, 26);
    assert_int_equal(ckpts, 3); /* 10, 20, close at 26 */

    f = tmpfile();
    assert_non_null(f);
    assert_int_equal(ward_audit_export(dir, mid, f, &n), WARD_OK);
    assert_int_equal(n, 14);
    fclose(f);
    g_now = t0 + 1000;
    tu_rmtree(dir);
    free(dir);
}

/* ---- fixture mode for the shell test ------------------------------------------------------- */

static ward_err rot_sign_cb(void *arg, const uint8_t *msg, size_t len, uint8_t sig[64])
{
    return ward_rot_sign(arg, msg, len, sig);
}

static int make_fixture(const char *dir, int n)
{
    ward_rot *rot = NULL;
    ward_pkey *key = NULL;
    ward_audit *log = NULL;
    ward_err err = ward_rot_open(dir, 1, &rot);
    if (err == WARD_OK)
        err = ward_cert_public_key(ward_rot_platform_cert(rot), &key);
    if (err == WARD_OK) {
        ward_audit_options o = {.sign = rot_sign_cb, .sign_arg = rot, .verify_key = key,
                                .checkpoint_interval = INTERVAL};
        err = ward_audit_open(dir, &o, &log);
    }
    for (int i = 0; err == WARD_OK && i < n; i++) {
        ward_audit_record r = {.actor = "alice", .auth_method = "password+totp",
                               .action = "task.create", .object = "t1",
                               .details = "{\"slot\":1}"};
        err = ward_audit_append_async(log, &r, NULL);
    }
    if (log != NULL) {
        ward_err e2 = ward_audit_close(log);
        if (err == WARD_OK)
            err = e2;
    }
    ward_pkey_free(key);
    ward_rot_close(rot);
    if (err != WARD_OK) {
        fprintf(stderr, "make-fixture: %s\n", ward_errmsg());
        return 1;
    }
    return 0;
}

static int tamper_fixture(const char *dir, const char *seq)
{
    char path[4096], sql[128];
    snprintf(path, sizeof path, "%s/audit.db", dir);
    snprintf(sql, sizeof sql, "UPDATE audit_records SET actor = 'mallory' WHERE seq = %d",
             atoi(seq));
    sqlite3 *db = NULL;
    int rc = sqlite3_open(path, &db) == SQLITE_OK &&
             sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK;
    sqlite3_close(db);
    return rc ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "--make-fixture") == 0)
        return make_fixture(argv[2], atoi(argv[3]));
    if (argc == 4 && strcmp(argv[1], "--tamper") == 0)
        return tamper_fixture(argv[2], argv[3]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_and_verify),
        cmocka_unit_test(test_formats_match_documentation),
        cmocka_unit_test(test_group_commit_survives_reopen),
        cmocka_unit_test(test_concurrent_sync_appends),
        cmocka_unit_test(test_durable_after_crash),
        cmocka_unit_test(test_explicit_checkpoint),
        cmocka_unit_test(test_append_rejects_bad_records),
        cmocka_unit_test(test_open_rejects),
        cmocka_unit_test(test_edit_field),
        cmocka_unit_test(test_edit_outcome_and_time),
        cmocka_unit_test(test_delete_record),
        cmocka_unit_test(test_swap_records),
        cmocka_unit_test(test_insert_record),
        cmocka_unit_test(test_edit_and_rechain),
        cmocka_unit_test(test_checkpoint_tampering),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_malformed_rows),
        cmocka_unit_test(test_prune_keeps_verifiable),
        cmocka_unit_test(test_prune_everything),
        cmocka_unit_test(test_export_json_lines),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
