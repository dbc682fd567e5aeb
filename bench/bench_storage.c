/* Trusted storage against plain files, in the same run.
 *
 * Figures:
 *  storage.file.seq_write  MiB/s writing a file in 1 MiB calls, then making it durable
 *                          (ward_efile_close commits: fdatasync + metadata; baseline: write(2)
 *                          through the page cache + fsync). Target >= 0.5 of the baseline.
 *  storage.file.seq_read   MiB/s reading it back in 1 MiB calls (open included; the plain file
 *                          and the encrypted file both in the page cache). Target >= 0.5.
 *  storage.file.rand_read  MiB/s of 4 KiB reads at random aligned offsets. Target >= 0.3.
 *  storage.sqlite          seconds for 100,000 inserts in transactions of 1,000 then 10,000
 *                          indexed lookups, on the encrypted VFS (the database bound to
 *                          its rollback counter; journals volatile, see docs/storage.md
 *                          "SQLite journals") against a plain database file; SQLite
 *                          defaults (rollback journal, synchronous=FULL) on both. Target: time
 *                          ratio <= 1.5.
 *                          WARD_BENCH_SQLITE_PRAGMAS (SQL, e.g. "PRAGMA locking_mode=EXCLUSIVE")
 *                          is run first on both connections, to compare other modes fairly.
 * File size: 1 GiB (WARD_BENCH_STORAGE_MIB overrides). Work directory: $TMPDIR or /tmp.
 *
 * Usage: bench_storage [FILTER] | --list */
#include <fcntl.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ward/crypto.h"
#include "ward/storage.h"

#define MIB ((size_t)1 << 20)
#define CHUNK MIB
#define RAND_READS 65536u

static const char *const FIGURES[] = {"storage.file.seq_write", "storage.file.seq_read",
                                      "storage.file.rand_read", "storage.sqlite"};
static const uint8_t KEY[32] = {0x42, 0x42, 0x42};
static const ward_seal_meta META = {WARD_SEAL_MEASUREMENT, 1, 1};

static void die(const char *what)
{
    fprintf(stderr, "bench_storage: %s failed: %s\n", what, ward_errmsg());
    exit(1);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void emit(const char *name, double v, const char *unit, double base, const char *target,
                 const char *note)
{
    printf("{\"bench\": \"%s\", \"value\": %.3f, \"unit\": \"%s\", \"baseline\": %.3f, "
           "\"ratio\": %.3f, \"target\": \"%s\"}\n",
           name, v, unit, base, v / base, target);
    fflush(stdout);
    fprintf(stderr, "%-24s %10.1f %s  baseline %10.1f  ratio %.3f  (target %s) %s\n", name, v,
            unit, base, v / base, target, note);
}

static uint64_t rs = 0x9e3779b97f4a7c15u;
static uint64_t rnd(void)
{
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return rs;
}

static int wanted(const char *filter, const char *name)
{
    return filter == NULL || strstr(name, filter) != NULL;
}

/* ---- files -------------------------------------------------------------------------------- */

static double plain_write(const char *path, const uint8_t *buf, size_t total)
{
    double t0 = now();
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        die("open plain");
    for (size_t off = 0; off < total; off += CHUNK)
        if (write(fd, buf, CHUNK) != (ssize_t)CHUNK)
            die("write plain");
    if (fsync(fd) != 0)
        die("fsync plain");
    close(fd);
    return now() - t0;
}

static double plain_read(const char *path, uint8_t *buf, size_t total)
{
    double t0 = now();
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        die("open plain");
    for (size_t off = 0; off < total; off += CHUNK)
        if (read(fd, buf, CHUNK) != (ssize_t)CHUNK)
            die("read plain");
    close(fd);
    return now() - t0;
}

static double plain_rand(const char *path, uint8_t *buf, size_t total, const uint64_t *offs)
{
    double t0 = now();
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        die("open plain");
    for (size_t i = 0; i < RAND_READS; i++)
        if (pread(fd, buf, 4096, (off_t)offs[i]) != 4096)
            die("pread plain");
    close(fd);
    (void)total;
    return now() - t0;
}

static double enc_write(ward_store *s, const uint8_t *buf, size_t total)
{
    (void)ward_efile_remove(s, "big");
    double t0 = now();
    ward_efile *f = NULL;
    if (ward_efile_open(s, "big", WARD_EFILE_CREATE, &f))
        die("efile open");
    for (size_t off = 0; off < total; off += CHUNK)
        if (ward_efile_write(f, off, buf, CHUNK))
            die("efile write");
    if (ward_efile_close(f))
        die("efile close");
    return now() - t0;
}

static double enc_read(ward_store *s, uint8_t *buf, size_t total)
{
    double t0 = now();
    ward_efile *f = NULL;
    size_t got = 0;
    if (ward_efile_open(s, "big", WARD_EFILE_RDONLY, &f))
        die("efile open");
    for (size_t off = 0; off < total; off += CHUNK)
        if (ward_efile_read(f, off, buf, CHUNK, &got) || got != CHUNK)
            die("efile read");
    ward_efile_close(f);
    return now() - t0;
}

static double enc_rand(ward_store *s, uint8_t *buf, const uint64_t *offs)
{
    ward_efile *f = NULL;
    size_t got = 0;
    if (ward_efile_open(s, "big", WARD_EFILE_RDONLY, &f))
        die("efile open");
    double t0 = now();
    for (size_t i = 0; i < RAND_READS; i++)
        if (ward_efile_read(f, offs[i], buf, 4096, &got) || got != 4096)
            die("efile read");
    double t = now() - t0;
    ward_efile_close(f);
    return t;
}

/* ---- SQLite ------------------------------------------------------------------------------- */

static void sql(sqlite3 *db, const char *q)
{
    char *msg = NULL;
    if (sqlite3_exec(db, q, NULL, NULL, &msg) != SQLITE_OK) {
        fprintf(stderr, "bench_storage: %s: %s\n", q, msg ? msg : "?");
        exit(1);
    }
}

static double sqlite_workload(const char *name, const char *vfs)
{
    double t0 = now();
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(name, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, vfs) != SQLITE_OK)
        die("sqlite open");
    const char *jm = getenv("WARD_BENCH_SQLITE_PRAGMAS");
    if (jm && *jm)
        sql(db, jm);
    sql(db, "CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER, v TEXT)");
    sql(db, "CREATE INDEX tk ON t(k)");
    sqlite3_stmt *ins = NULL, *sel = NULL;
    sqlite3_prepare_v2(db, "INSERT INTO t(k, v) VALUES(?, ?)", -1, &ins, NULL);
    char v[101];
    memset(v, 'v', 100);
    v[100] = 0;
    for (int i = 0; i < 100000; i++) {
        if (i % 1000 == 0)
            sql(db, "BEGIN");
        sqlite3_bind_int64(ins, 1, (sqlite3_int64)(rnd() % 1000000007u));
        sqlite3_bind_text(ins, 2, v, 100, SQLITE_STATIC);
        if (sqlite3_step(ins) != SQLITE_DONE)
            die("insert");
        sqlite3_reset(ins);
        if (i % 1000 == 999)
            sql(db, "COMMIT");
    }
    sqlite3_finalize(ins);
    sqlite3_prepare_v2(db, "SELECT count(*) FROM t WHERE k = ?", -1, &sel, NULL);
    for (int i = 0; i < 10000; i++) {
        sqlite3_bind_int64(sel, 1, (sqlite3_int64)(rnd() % 1000000007u));
        if (sqlite3_step(sel) != SQLITE_ROW)
            die("lookup");
        sqlite3_reset(sel);
    }
    sqlite3_finalize(sel);
    sqlite3_close(db);
    return now() - t0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--list") == 0) {
        for (size_t i = 0; i < sizeof FIGURES / sizeof *FIGURES; i++)
            puts(FIGURES[i]);
        return 0;
    }
    const char *filter = argc > 1 ? argv[1] : NULL;
    const char *tmp = getenv("TMPDIR");
    char dir[512], sdir[600], plain[600], pdb[600];
    snprintf(dir, sizeof dir, "%s/bench_storage.XXXXXX", tmp ? tmp : "/tmp");
    if (mkdtemp(dir) == NULL)
        die("mkdtemp");
    snprintf(sdir, sizeof sdir, "%s/store", dir);
    snprintf(plain, sizeof plain, "%s/plain.dat", dir);
    snprintf(pdb, sizeof pdb, "%s/plain.db", dir);
    ward_counters *c = NULL;
    ward_store *s = NULL;
    if (ward_counters_open(dir, KEY, &c) || ward_store_open(sdir, KEY, &META, 1, c, &s))
        die("store open");

    size_t mib = 1024;
    const char *e = getenv("WARD_BENCH_STORAGE_MIB");
    if (e && atoi(e) > 0)
        mib = (size_t)atoi(e);
    size_t total = mib * MIB;
    char note[64];
    snprintf(note, sizeof note, "[%zu MiB]", mib);
    int files = wanted(filter, "storage.file.seq_write") || wanted(filter, "storage.file.seq_read") ||
                wanted(filter, "storage.file.rand_read");
    if (files) {
        uint8_t *buf = malloc(CHUNK);
        if (buf == NULL || ward_random(buf, CHUNK))
            die("buffer");
        uint64_t *offs = malloc(RAND_READS * sizeof *offs);
        for (size_t i = 0; i < RAND_READS; i++)
            offs[i] = (rnd() % (total / 4096)) * 4096;
        double pw = plain_write(plain, buf, total), ew = enc_write(s, buf, total);
        /* reads: warm both caches once, then the best of two */
        plain_read(plain, buf, total);
        enc_read(s, buf, total);
        double pr = 1e9, er = 1e9, prr = 1e9, err = 1e9;
        for (int k = 0; k < 2; k++) {
            double t = plain_read(plain, buf, total);
            pr = t < pr ? t : pr;
            t = enc_read(s, buf, total);
            er = t < er ? t : er;
            t = plain_rand(plain, buf, total, offs);
            prr = t < prr ? t : prr;
            t = enc_rand(s, buf, offs);
            err = t < err ? t : err;
        }
        double m = (double)mib, rm = (double)RAND_READS * 4096.0 / (double)MIB;
        if (wanted(filter, "storage.file.seq_write"))
            emit("storage.file.seq_write", m / ew, "MiB/s", m / pw, ">= 0.5", note);
        if (wanted(filter, "storage.file.seq_read"))
            emit("storage.file.seq_read", m / er, "MiB/s", m / pr, ">= 0.5", note);
        if (wanted(filter, "storage.file.rand_read"))
            emit("storage.file.rand_read", rm / err, "MiB/s", rm / prr, ">= 0.3", note);
        free(offs);
        free(buf);
        unlink(plain);
        (void)ward_efile_remove(s, "big");
    }
    if (wanted(filter, "storage.sqlite")) {
        if (ward_storage_sqlite_register(s, "ward-bench"))
            die("register");
        rs = 42;
        double tp = sqlite_workload(pdb, NULL);
        rs = 42;
        double te = sqlite_workload("bench.db", "ward-bench");
        /* a time ratio: the encrypted VFS may take at most 1.5x the plain file's time */
        emit("storage.sqlite", te, "s", tp, "<= 1.5", "[100k inserts/1k per tx + 10k lookups]");
        ward_storage_sqlite_unregister("ward-bench");
        unlink(pdb);
    }
    if (ward_store_destroy(s))
        die("destroy");
    ward_counters_close(c);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_storage: could not remove %s\n", dir);
    return 0;
}
