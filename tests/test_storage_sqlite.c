/* The encrypted SQLite VFS: a database (rollback journal and WAL) round trip, nothing in
 * plaintext on disk, and a modified page refused. */
#include "testutil.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ward/storage.h"

static const uint8_t K[32] = {7, 7, 7};
static const ward_seal_meta META = {WARD_SEAL_SIGNER, 2, 1};
#define MARKER "PLAINTEXT-CANARY-7f3a"

static void exec_ok(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", sql, msg ? msg : "?");
}

static long long count(sqlite3 *db, const char *sql, int *rc_out)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    long long v = -1;
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            v = sqlite3_column_int64(st, 0);
            rc = SQLITE_OK;
        }
    }
    sqlite3_finalize(st);
    if (rc_out)
        *rc_out = rc;
    return v;
}

static void fill_db(sqlite3 *db, int n)
{
    exec_ok(db, "CREATE TABLE IF NOT EXISTS t(id INTEGER PRIMARY KEY, k TEXT, v BLOB)");
    exec_ok(db, "CREATE INDEX IF NOT EXISTS tk ON t(k)");
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "INSERT INTO t(k, v) VALUES(?, ?)", -1, &st, NULL),
                     SQLITE_OK);
    for (int i = 0; i < n; i++) {
        if (i % 100 == 0)
            exec_ok(db, "BEGIN");
        char k[64];
        snprintf(k, sizeof k, "%s-%d", MARKER, i);
        sqlite3_bind_text(st, 1, k, -1, SQLITE_TRANSIENT);
        sqlite3_bind_blob(st, 2, k, (int)strlen(k), SQLITE_TRANSIENT);
        assert_int_equal(sqlite3_step(st), SQLITE_DONE);
        sqlite3_reset(st);
        if (i % 100 == 99 || i == n - 1)
            exec_ok(db, "COMMIT");
    }
    sqlite3_finalize(st);
}

static int grep_dir(const char *dir, const char *needle)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "grep -rqa -- '%s' '%s'", needle, dir);
    return system(cmd) == 0;
}

static void run_mode(const char *mode)
{
    char *dir = tu_mkdtemp(), sdir[512];
    snprintf(sdir, sizeof sdir, "%s/s", dir);
    ward_counters *c = NULL;
    ward_store *s = NULL;
    assert_int_equal(ward_counters_open(dir, K, &c), WARD_OK);
    assert_int_equal(ward_store_open(sdir, K, &META, 1, c, &s), WARD_OK);
    assert_int_equal(ward_storage_sqlite_register(s, "ward-test"), WARD_OK);
    assert_int_equal(ward_storage_sqlite_register(s, "ward-test"), WARD_ERR_EXISTS);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2("app.db", &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                                     "ward-test"),
                     SQLITE_OK);
    exec_ok(db, mode);
    fill_db(db, 1500);
    exec_ok(db, "UPDATE t SET v = randomblob(300) WHERE id % 7 = 0");
    exec_ok(db, "DELETE FROM t WHERE id % 11 = 0");
    /* the journal / WAL exists mid-transaction: it must be encrypted too */
    exec_ok(db, "BEGIN; UPDATE t SET k = k || '-x' WHERE id < 200;");
    assert_false(grep_dir(sdir, MARKER));
    exec_ok(db, "COMMIT");
    long long n = count(db, "SELECT count(*) FROM t", NULL);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
    assert_false(grep_dir(sdir, MARKER));
    /* reopen: same content, indexed lookup works, integrity holds */
    assert_int_equal(sqlite3_open_v2("app.db", &db, SQLITE_OPEN_READWRITE, "ward-test"),
                     SQLITE_OK);
    exec_ok(db, mode);
    assert_int_equal(count(db, "SELECT count(*) FROM t", NULL), n);
    assert_int_equal(count(db, "SELECT id FROM t WHERE k = '" MARKER "-1234'", NULL), 1235);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
    sqlite3_finalize(st);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
    /* a flipped bit in a page: the query fails, no data from the page */
    char p[600];
    snprintf(p, sizeof p, "%s/app.db.wd0", sdir);
    int fd = open(p, O_RDWR);
    assert_true(fd >= 0);
    uint8_t b;
    assert_int_equal(pread(fd, &b, 1, 4160 * 3 + 100), 1);
    b ^= 0x20;
    assert_int_equal(pwrite(fd, &b, 1, 4160 * 3 + 100), 1);
    snprintf(p, sizeof p, "%s/app.db.wd1", sdir);
    int fd1 = open(p, O_RDWR);
    if (fd1 >= 0) {
        if (pread(fd1, &b, 1, 4160 * 3 + 100) == 1) {
            b ^= 0x20;
            assert_int_equal(pwrite(fd1, &b, 1, 4160 * 3 + 100), 1);
        }
        close(fd1);
    }
    close(fd);
    assert_int_equal(sqlite3_open_v2("app.db", &db, SQLITE_OPEN_READWRITE, "ward-test"),
                     SQLITE_OK);
    int rc = 0;
    count(db, "SELECT sum(length(v)) FROM t", &rc);
    assert_int_not_equal(rc, SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(ward_storage_sqlite_unregister("ward-test"), WARD_OK);
    ward_store_close(s);
    ward_counters_close(c);
    tu_rmtree(dir);
    free(dir);
}

static void test_journal(void **state)
{
    (void)state;
    run_mode("PRAGMA journal_mode=DELETE");
}

static void test_wal(void **state)
{
    (void)state;
    run_mode("PRAGMA locking_mode=EXCLUSIVE; PRAGMA journal_mode=WAL");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_journal),
        cmocka_unit_test(test_wal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
