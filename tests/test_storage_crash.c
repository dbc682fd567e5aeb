/* Crash safety: a child writes in a loop (an encrypted file, and a SQLite database on the
 * encrypted VFS), acknowledging every committed sync / transaction through a pipe; the parent
 * kills it with SIGKILL at a random point, then reopens the store and checks that every
 * acknowledged write is there and that everything verifies. 30 rounds on the same store. */
#include "testutil.h"

#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ward/storage.h"

#define ROUNDS 30
#define REC 1500u /* bytes per record: records straddle blocks */

static const uint8_t K[32] = {0xCC, 1};
static const uint8_t KC[32] = {0xCD, 2};
static const ward_seal_meta META = {WARD_SEAL_MEASUREMENT, 1, 1};

static void record(uint64_t k, uint8_t *out)
{
    for (size_t i = 0; i < REC; i++)
        out[i] = (uint8_t)((k * 131u + i * 7u) ^ (k >> 3));
}

static void open_store(const char *dir, ward_counters **c, ward_store **s)
{
    char sdir[600];
    snprintf(sdir, sizeof sdir, "%s/s", dir);
    if (ward_counters_open(dir, KC, c) != WARD_OK ||
        ward_store_open(sdir, K, &META, 1, *c, s) != WARD_OK) {
        fprintf(stderr, "open store: %s\n", ward_errmsg());
        _exit(2);
    }
}

static void ack(int fd, uint64_t v)
{
    if (write(fd, &v, sizeof v) != (ssize_t)sizeof v)
        _exit(3);
}

static void die(const char *what)
{
    fprintf(stderr, "child: %s: %s\n", what, ward_errmsg());
    _exit(4);
}

/* Appends records, sometimes rewriting an old one in place, syncing after each. */
static void child_file(const char *dir, int fd, unsigned seed)
{
    ward_counters *c = NULL;
    ward_store *s = NULL;
    open_store(dir, &c, &s);
    ward_efile *f = NULL;
    if (ward_efile_open(s, "log", WARD_EFILE_CREATE, &f) != WARD_OK)
        die("open");
    uint64_t k = ward_efile_size(f) / REC;
    uint8_t r[REC];
    srand(seed);
    for (;;) {
        record(k, r);
        if (ward_efile_write(f, k * REC, r, REC) != WARD_OK)
            die("write");
        if (k > 2 && rand() % 3 == 0) {
            uint64_t j = (uint64_t)rand() % k;
            record(j, r);
            if (ward_efile_write(f, j * REC, r, REC) != WARD_OK)
                die("rewrite");
        }
        if (ward_efile_sync(f) != WARD_OK)
            die("sync");
        ack(fd, k);
        k++;
    }
}

static void child_sqlite(const char *dir, int fd, unsigned seed)
{
    ward_counters *c = NULL;
    ward_store *s = NULL;
    open_store(dir, &c, &s);
    if (ward_storage_sqlite_register(s, "crash") != WARD_OK)
        die("register");
    sqlite3 *db = NULL;
    if (sqlite3_open_v2("c.db", &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, "crash") !=
            SQLITE_OK ||
        /* a page cache of 4 pages: transactions spill pages into the database file before
         * their commit, so a kill often finds uncommitted pages there */
        sqlite3_exec(db, "PRAGMA synchronous=FULL; PRAGMA cache_size=4; "
                         "CREATE TABLE IF NOT EXISTS t(id INTEGER "
                         "PRIMARY KEY, v TEXT); CREATE INDEX IF NOT EXISTS tv ON t(v)",
                     NULL, NULL, NULL) != SQLITE_OK)
        _exit(5);
    srand(seed);
    for (;;) {
        char sql[256];
        int n = 1 + rand() % 40;
        if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
            _exit(6);
        for (int i = 0; i < n; i++) {
            snprintf(sql, sizeof sql, "INSERT INTO t(v) VALUES(hex(randomblob(%d)))",
                     10 + rand() % 200);
            if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
                _exit(7);
        }
        if (rand() % 4 == 0) {
            snprintf(sql, sizeof sql, "UPDATE t SET v = hex(randomblob(%d)) WHERE id %% 5 = %d",
                     10 + rand() % 100, rand() % 5);
            if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
                _exit(10);
        }
        if (rand() % 6 == 0) { /* undone from the journal, not acknowledged */
            if (sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL) != SQLITE_OK)
                _exit(11);
            continue;
        }
        if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
            _exit(8);
        sqlite3_stmt *st = NULL;
        sqlite3_prepare_v2(db, "SELECT max(id) FROM t", -1, &st, NULL);
        if (sqlite3_step(st) != SQLITE_ROW)
            _exit(9);
        ack(fd, (uint64_t)sqlite3_column_int64(st, 0));
        sqlite3_finalize(st);
    }
}

static void check_file(ward_store *s, uint64_t acked, int have_ack)
{
    ward_efile *f = NULL;
    if (ward_efile_open(s, "log", 0, &f) != WARD_OK)
        fail_msg("reopen log: %s", ward_errmsg());
    uint64_t size = ward_efile_size(f);
    assert_int_equal(size % REC, 0);
    if (have_ack && size / REC < acked + 1)
        fail_msg("acknowledged record %llu lost (file has %llu)", (unsigned long long)acked,
                 (unsigned long long)(size / REC));
    uint8_t r[REC], want[REC];
    for (uint64_t k = 0; k < size / REC; k++) {
        size_t got = 0;
        if (ward_efile_read(f, k * REC, r, REC, &got) != WARD_OK)
            fail_msg("record %llu: %s", (unsigned long long)k, ward_errmsg());
        record(k, want);
        assert_memory_equal(r, want, REC);
    }
    assert_int_equal(ward_efile_close(f), WARD_OK);
}

static void check_db(ward_store *s, uint64_t acked, int have_ack)
{
    assert_int_equal(ward_storage_sqlite_register(s, "crash-check"), WARD_OK);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2("c.db", &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                                     "crash-check"), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
    sqlite3_finalize(st);
    if (have_ack) {
        assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM t WHERE id <= ?", -1, &st,
                                            NULL), SQLITE_OK);
        sqlite3_bind_int64(st, 1, (sqlite3_int64)acked);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        if ((uint64_t)sqlite3_column_int64(st, 0) != acked)
            fail_msg("acknowledged rows lost: %lld of %llu", sqlite3_column_int64(st, 0),
                     (unsigned long long)acked);
        sqlite3_finalize(st);
    }
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
    assert_int_equal(ward_storage_sqlite_unregister("crash-check"), WARD_OK);
}

static void test_kill9(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    srand((unsigned)time(NULL));
    uint64_t max_ack[2] = {0, 0};
    int have[2] = {0, 0};
    for (int round = 0; round < ROUNDS; round++) {
        int kind = round % 2;
        int p[2];
        assert_int_equal(pipe(p), 0);
        unsigned seed = (unsigned)rand();
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(p[0]);
            if (kind == 0)
                child_file(dir, p[1], seed);
            else
                child_sqlite(dir, p[1], seed);
            _exit(0);
        }
        close(p[1]);
        /* let it commit a random number of times, then kill it at a random moment */
        int target = 1 + rand() % 12;
        for (int i = 0; i < target; i++) {
            uint64_t v;
            if (read(p[0], &v, sizeof v) != (ssize_t)sizeof v)
                break;
            max_ack[kind] = v;
            have[kind] = 1;
        }
        usleep((useconds_t)(rand() % 3000));
        kill(pid, SIGKILL);
        /* acknowledgements already in the pipe count too */
        uint64_t v;
        while (read(p[0], &v, sizeof v) == (ssize_t)sizeof v) {
            max_ack[kind] = v;
            have[kind] = 1;
        }
        close(p[0]);
        int status = 0;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        if (!(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL))
            fail_msg("round %d: child exited with status %d", round, status);
        ward_counters *c = NULL;
        ward_store *s = NULL;
        open_store(dir, &c, &s);
        if (kind == 0)
            check_file(s, max_ack[0], have[0]);
        else
            check_db(s, max_ack[1], have[1]);
        ward_store_close(s);
        ward_counters_close(c);
    }
    tu_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kill9),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
