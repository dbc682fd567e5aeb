/* The encrypted SQLite VFS: a database (rollback journal and WAL) round trip, nothing in
 * plaintext on disk, and a modified page refused; a journal found in the store is never played
 * back; a transaction larger than the page cache and the journal's memory rolls back. */
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

/* A hot rollback journal (one record: page 1 all zeros, database cut to one page) that SQLite
 * would play back if it found it next to the database. */
static size_t hot_journal(uint8_t *j, size_t cap)
{
    static const uint8_t magic[8] = {0xd9, 0xd5, 0x05, 0xf9, 0x20, 0xa1, 0x63, 0xd7};
    const size_t sector = 4096, page = 4096, len = sector + 4 + page + 4;
    assert_true(cap >= len);
    memset(j, 0, len);
    memcpy(j, magic, 8);
    j[11] = 1;           /* nRec */
    j[19] = 1;           /* original database size in pages */
    j[22] = 0x10;        /* sector size 4096 */
    j[26] = 0x10;        /* page size 4096 */
    j[sector + 3] = 1;   /* page number 1, zeros, checksum 0 (the initial value) */
    return len;
}

static void make_db(sqlite3 *db)
{
    exec_ok(db, "PRAGMA page_size=4096; CREATE TABLE t(x); "
                "INSERT INTO t VALUES(1),(2),(3); CREATE TABLE u(y); INSERT INTO u VALUES(4)");
}

/* Journals are never kept on disk by the VFS: a journal file found in the store (left by an
 * older version, or put back from an older copy) is never played back; the same journal next
 * to a plain database is (so the journal is a real one). */
static void test_stale_journal_ignored(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp(), sdir[512], pdb[512], pj[512];
    snprintf(sdir, sizeof sdir, "%s/s", dir);
    snprintf(pdb, sizeof pdb, "%s/plain.db", dir);
    snprintf(pj, sizeof pj, "%s/plain.db-journal", dir);
    uint8_t j[8300];
    size_t jl = hot_journal(j, sizeof j);
    int rc = 0;

    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(pdb, &db), SQLITE_OK);
    make_db(db);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
    int fd = open(pj, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, j, jl), (ssize_t)jl);
    close(fd);
    assert_int_equal(sqlite3_open(pdb, &db), SQLITE_OK);
    count(db, "SELECT count(*) FROM t", &rc);
    assert_int_not_equal(rc, SQLITE_OK); /* played back: the schema is gone */
    sqlite3_close(db);

    ward_counters *c = NULL;
    ward_store *s = NULL;
    assert_int_equal(ward_counters_open(dir, K, &c), WARD_OK);
    assert_int_equal(ward_store_open(sdir, K, &META, 1, c, &s), WARD_OK);
    assert_int_equal(ward_storage_sqlite_register(s, "ward-stale"), WARD_OK);
    assert_int_equal(sqlite3_open_v2("app.db", &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                                     "ward-stale"),
                     SQLITE_OK);
    make_db(db);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
    ward_efile *f = NULL;
    assert_int_equal(ward_efile_open(s, "app.db-journal", WARD_EFILE_CREATE, &f), WARD_OK);
    assert_int_equal(ward_efile_write(f, 0, j, jl), WARD_OK);
    assert_int_equal(ward_efile_close(f), WARD_OK);
    assert_int_equal(sqlite3_open_v2("app.db", &db, SQLITE_OPEN_READWRITE, "ward-stale"),
                     SQLITE_OK);
    assert_int_equal(count(db, "SELECT count(*) FROM t", &rc), 3);
    assert_int_equal(count(db, "SELECT y FROM u", &rc), 4);
    exec_ok(db, "INSERT INTO u VALUES(5)"); /* its end deletes the journal, the stale one too */
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
    int e = 1;
    assert_int_equal(ward_efile_exists(s, "app.db-journal", &e), WARD_OK);
    assert_int_equal(e, 0);
    assert_int_equal(sqlite3_open_v2("app.db", &db, SQLITE_OPEN_READWRITE, "ward-stale"),
                     SQLITE_OK);
    assert_int_equal(count(db, "SELECT count(*) FROM u", &rc), 2);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
    assert_int_equal(ward_storage_sqlite_unregister("ward-stale"), WARD_OK);
    ward_store_close(s);
    ward_counters_close(c);
    tu_rmtree(dir);
    free(dir);
}

/* A transaction larger than the page cache (pages written to the database before the commit)
 * and than the journal's memory (the journal moves to a volatile encrypted file): nothing in
 * plaintext on disk meanwhile, ROLLBACK restores everything, and a COMMIT of it holds. */
static void test_large_rollback(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp(), sdir[512];
    snprintf(sdir, sizeof sdir, "%s/s", dir);
    ward_counters *c = NULL;
    ward_store *s = NULL;
    assert_int_equal(ward_counters_open(dir, K, &c), WARD_OK);
    assert_int_equal(ward_store_open(sdir, K, &META, 1, c, &s), WARD_OK);
    assert_int_equal(ward_storage_sqlite_register(s, "ward-big"), WARD_OK);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2("big.db", &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                                     "ward-big"),
                     SQLITE_OK);
    exec_ok(db, "PRAGMA cache_size=20; CREATE TABLE b(id INTEGER PRIMARY KEY, v BLOB); BEGIN; "
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000) "
                "INSERT INTO b SELECT i, zeroblob(3000) FROM n; COMMIT");
    int rc = 0;
    long long before = count(db, "SELECT sum(length(v)) FROM b", &rc);
    assert_int_equal(rc, SQLITE_OK);
    exec_ok(db, "BEGIN; UPDATE b SET v = CAST(printf('%.2900c', '" MARKER "') AS BLOB) || v");
    assert_false(grep_dir(sdir, MARKER));
    char wv[600];
    snprintf(wv, sizeof wv, "%s/big.db-journal.wv", sdir);
    assert_int_equal(access(wv, F_OK), 0); /* the journal outgrew its memory */
    exec_ok(db, "ROLLBACK");
    assert_int_equal(count(db, "SELECT sum(length(v)) FROM b", &rc), before);
    exec_ok(db, "BEGIN; UPDATE b SET v = zeroblob(10) WHERE id % 2 = 0; COMMIT");
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
    assert_int_equal(sqlite3_open_v2("big.db", &db, SQLITE_OPEN_READWRITE, "ward-big"),
                     SQLITE_OK);
    assert_int_equal(count(db, "SELECT sum(length(v)) FROM b", &rc), 1500LL * 3000 + 1500 * 10);
    assert_int_equal(count(db, "SELECT count(*) FROM pragma_integrity_check WHERE "
                               "integrity_check = 'ok'", &rc), 1);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
    assert_false(grep_dir(sdir, MARKER));
    assert_int_equal(ward_storage_sqlite_unregister("ward-big"), WARD_OK);
    ward_store_close(s);
    ward_counters_close(c);
    tu_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_journal),
        cmocka_unit_test(test_wal),
        cmocka_unit_test(test_stale_journal_ignored),
        cmocka_unit_test(test_large_rollback),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
