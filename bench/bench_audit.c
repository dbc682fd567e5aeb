/* Audit log throughput.
 *
 * audit.append: records per second made durable, through ward_audit_append_async in rounds of
 *   256 records each closed by ward_audit_flush, so that every record is durable (its group
 *   commit fsync'ed: WAL, synchronous=FULL) when the clock stops, and every commit holds 256
 *   records (plus a signed checkpoint every 1000 records, as the node runs it). Baseline: plain
 *   SQLite inserts of the same rows (same table, same values, prepared statement) in the same
 *   WAL / synchronous=FULL database, one transaction per 256 rows. Same batching and the same
 *   durability on both sides, so the ratio isolates what the audit log adds: validation,
 *   canonical JSON, the queue and writer thread, hashing and chaining, checkpoints.
 *   (Free-running appends, where the writer commits whatever accumulated, are faster still;
 *   stderr shows that figure too.)
 * audit.verify: records per second through ward_audit_verify over a closed log (every hash
 *   recomputed, every link and checkpoint signature checked). Baseline: one plain SHA-256
 *   (raw OpenSSL EVP_Digest) per record over the same encoded bytes, held in memory: the
 *   floor of the hashing that verification cannot avoid.
 * Each figure is the best of a few interleaved runs.
 *
 * Usage: bench_audit [FILTER] | --list */
#include <openssl/evp.h>
#include <sqlite3.h>
#include <stdint.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ward/audit.h"
#include "ward/crypto.h"

#define APPEND_N 40960u
#define ROUND 256u
#define VERIFY_N 200000u
#define REPS 3

static const char *const figures[] = {"audit.append", "audit.verify"};

static void die(const char *what)
{
    fprintf(stderr, "bench_audit: %s failed: %s\n", what, ward_errmsg());
    exit(1);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int wanted(const char *filter, const char *name)
{
    return filter == NULL || strstr(name, filter) != NULL;
}

/* ---- scratch directories ------------------------------------------------------------------ */

static char g_root[256];

static void make_root(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(g_root, sizeof g_root, "%s/ward-bench-audit-XXXXXX", tmp != NULL ? tmp : "/tmp");
    if (mkdtemp(g_root) == NULL)
        die("mkdtemp");
}

static void remove_dir(const char *dir)
{
    static const char *const files[] = {"audit.db", "audit.db-wal", "audit.db-shm", "audit.lock",
                                        "plain.db", "plain.db-wal", "plain.db-shm"};
    char p[PATH_MAX + 32];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        if ((size_t)snprintf(p, sizeof p, "%s/%s", dir, files[i]) >= sizeof p)
            die("path too long");
        unlink(p);
    }
    rmdir(dir);
}

static void fresh_dir(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", g_root, name);
    remove_dir(out);
    if (mkdir(out, 0700) != 0)
        die("mkdir");
}

/* ---- the records ---------------------------------------------------------------------------- */

static char g_details[160];
static char g_object[40];

static ward_audit_record record(unsigned i)
{
    snprintf(g_object, sizeof g_object, "task-%08x-%08x", i * 2654435761u, i);
    snprintf(g_details, sizeof g_details,
             "{\"bytes\":%u,\"sha256\":\"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c"
             "15b0f00a08\",\"slot\":%u}",
             i * 977u, i % 7u);
    ward_audit_record r = {.actor = "alice@example.org",
                           .auth_method = "password+totp",
                           .action = "task.input.upload",
                           .object = g_object,
                           .outcome = WARD_AUDIT_SUCCESS,
                           .request_id = "req-5f0c2a9e-81d4-4c4b-9a0e-7d3e1b2c4f60",
                           .details = g_details};
    return r;
}

static ward_pkey *g_key;

static ward_err sign_cb(void *arg, const uint8_t *msg, size_t len, uint8_t sig[64])
{
    uint8_t *s = NULL;
    size_t n = 0;
    ward_err err = ward_sign(arg, WARD_HASH_SHA256, WARD_SIG_RAW, msg, len, &s, &n);
    if (err == WARD_OK && n == 64)
        memcpy(sig, s, 64);
    free(s);
    return err;
}

static ward_audit *open_log(const char *dir)
{
    ward_audit_options o = {.sign = sign_cb, .sign_arg = g_key, .verify_key = g_key};
    ward_audit *log = NULL;
    if (ward_audit_open(dir, &o, &log) != WARD_OK)
        die("ward_audit_open");
    return log;
}

/* ---- audit.append ---------------------------------------------------------------------------- */

/* Rounds of ROUND async appends, each closed by a flush. */
static double run_audit_lockstep(void)
{
    char dir[512];
    fresh_dir(dir, sizeof dir, "append");
    ward_audit *log = open_log(dir);
    double t0 = now();
    for (unsigned i = 0; i < APPEND_N; i++) {
        ward_audit_record r = record(i);
        if (ward_audit_append_async(log, &r, NULL) != WARD_OK)
            die("append");
        if ((i + 1) % ROUND == 0 && ward_audit_flush(log) != WARD_OK)
            die("flush");
    }
    if (ward_audit_flush(log) != WARD_OK)
        die("flush");
    double t = now() - t0;
    if (ward_audit_close(log) != WARD_OK)
        die("close");
    remove_dir(dir);
    return t;
}

/* Free-running: append everything, flush once. */
static double run_audit_free(void)
{
    char dir[512];
    fresh_dir(dir, sizeof dir, "append-free");
    ward_audit *log = open_log(dir);
    double t0 = now();
    for (unsigned i = 0; i < APPEND_N; i++) {
        ward_audit_record r = record(i);
        if (ward_audit_append_async(log, &r, NULL) != WARD_OK)
            die("append");
    }
    if (ward_audit_flush(log) != WARD_OK)
        die("flush");
    double t = now() - t0;
    if (ward_audit_close(log) != WARD_OK)
        die("close");
    remove_dir(dir);
    return t;
}

static void sql_ok(sqlite3 *db, int rc, const char *what)
{
    if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
        fprintf(stderr, "bench_audit: %s: %s\n", what, sqlite3_errmsg(db));
        exit(1);
    }
}

/* The same rows into the same table, plain. */
static double run_plain_sqlite(void)
{
    char dir[512], path[600];
    fresh_dir(dir, sizeof dir, "plain");
    snprintf(path, sizeof path, "%s/plain.db", dir);
    sqlite3 *db = NULL;
    sql_ok(db, sqlite3_open(path, &db), "open");
    sql_ok(db, sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                                "CREATE TABLE audit_records (seq INTEGER PRIMARY KEY NOT NULL,"
                                " time_ms INTEGER NOT NULL, actor TEXT NOT NULL,"
                                " auth_method TEXT NOT NULL, action TEXT NOT NULL,"
                                " object TEXT NOT NULL, outcome TEXT NOT NULL,"
                                " request_id TEXT NOT NULL, details TEXT NOT NULL,"
                                " prev_hash BLOB NOT NULL, hash BLOB NOT NULL)",
                           NULL, NULL, NULL), "schema");
    sqlite3_stmt *ins = NULL;
    sql_ok(db, sqlite3_prepare_v2(db, "INSERT INTO audit_records VALUES (?1, ?2, ?3, ?4, ?5, "
                                      "?6, ?7, ?8, ?9, ?10, ?11)", -1, &ins, NULL), "prepare");
    static const uint8_t h[32] = {1, 2, 3};
    double t0 = now();
    for (unsigned i = 0; i < APPEND_N; i++) {
        if (i % ROUND == 0)
            sql_ok(db, sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), "begin");
        ward_audit_record r = record(i);
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        sqlite3_bind_int64(ins, 1, (sqlite3_int64)i + 1);
        sqlite3_bind_int64(ins, 2, (sqlite3_int64)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
        sqlite3_bind_text(ins, 3, r.actor, -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 4, r.auth_method, -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 5, r.action, -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 6, r.object, -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 7, "success", -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 8, r.request_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 9, r.details, -1, SQLITE_STATIC);
        sqlite3_bind_blob(ins, 10, h, 32, SQLITE_STATIC);
        sqlite3_bind_blob(ins, 11, h, 32, SQLITE_STATIC);
        sql_ok(db, sqlite3_step(ins), "insert");
        sqlite3_reset(ins);
        if ((i + 1) % ROUND == 0 || i + 1 == APPEND_N)
            sql_ok(db, sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), "commit");
    }
    double t = now() - t0;
    sqlite3_finalize(ins);
    sqlite3_close(db);
    remove_dir(dir);
    return t;
}

static void report(const char *name, double v, double b, const char *target)
{
    printf("{\"bench\": \"%s\", \"value\": %.0f, \"unit\": \"records/s\", \"baseline\": %.0f, "
           "\"ratio\": %.3f, \"target\": \"%s\"}\n",
           name, v, b, v / b, target);
    fflush(stdout);
}

static void bench_append(void)
{
    double best = 1e9, best_plain = 1e9, best_free = 1e9;
    for (int r = 0; r < REPS; r++) {
        double t = run_plain_sqlite();
        if (t < best_plain)
            best_plain = t;
        t = run_audit_lockstep();
        if (t < best)
            best = t;
        t = run_audit_free();
        if (t < best_free)
            best_free = t;
    }
    double v = APPEND_N / best, b = APPEND_N / best_plain;
    report("audit.append", v, b, ">= 20000");
    fprintf(stderr,
            "%-14s %9.0f records/s durable (group commits of %u, fsync'ed)   plain SQLite "
            "same rows, same batching %9.0f records/s   ratio %.3f   free-running %9.0f "
            "records/s (best of %d, %u records)\n",
            "audit.append", v, ROUND, b, v / b, APPEND_N / best_free, REPS, APPEND_N);
}

/* ---- audit.verify ---------------------------------------------------------------------------- */

static void put_be(uint8_t **p, uint64_t v, int bytes)
{
    for (int i = bytes - 1; i >= 0; i--)
        *(*p)++ = (uint8_t)(v >> (8 * i));
}

/* The records' encodings (as hashed; include/ward/audit.h), read back from the database. */
static uint8_t *load_encodings(const char *dir, size_t **offs, size_t *n)
{
    char path[600];
    snprintf(path, sizeof path, "%s/audit.db", dir);
    sqlite3 *db = NULL;
    sql_ok(db, sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), "open");
    sqlite3_stmt *st = NULL;
    sql_ok(db, sqlite3_prepare_v2(db, "SELECT seq, time_ms, actor, auth_method, action, object, "
                                      "outcome, request_id, details, prev_hash FROM "
                                      "audit_records ORDER BY seq", -1, &st, NULL), "prepare");
    size_t cap = (size_t)VERIFY_N * 400, len = 0, k = 0;
    uint8_t *buf = malloc(cap);
    *offs = malloc(((size_t)VERIFY_N + 2) * sizeof **offs);
    if (buf == NULL || *offs == NULL)
        die("malloc");
    static const int cols[] = {2, 3, 4, 5, 7, 8};
    while (sqlite3_step(st) == SQLITE_ROW && k <= VERIFY_N) {
        size_t need = 8 + 8 + 8 + 1 + 32;
        for (int i = 0; i < 6; i++)
            need += 4 + (size_t)sqlite3_column_bytes(st, cols[i]);
        if (len + need > cap)
            die("encoding buffer");
        (*offs)[k++] = len;
        uint8_t *p = buf + len;
        memcpy(p, "WAUDREC1", 8);
        p += 8;
        put_be(&p, (uint64_t)sqlite3_column_int64(st, 0), 8);
        put_be(&p, (uint64_t)sqlite3_column_int64(st, 1), 8);
        *p++ = 0;
        for (int i = 0; i < 6; i++) {
            size_t l = (size_t)sqlite3_column_bytes(st, cols[i]);
            put_be(&p, l, 4);
            memcpy(p, sqlite3_column_text(st, cols[i]), l);
            p += l;
        }
        memcpy(p, sqlite3_column_blob(st, 9), 32);
        p += 32;
        len = (size_t)(p - buf);
    }
    (*offs)[k] = len;
    sqlite3_finalize(st);
    sqlite3_close(db);
    *n = k;
    return buf;
}

static double raw_sha256(const uint8_t *buf, const size_t *offs, size_t n, uint8_t *sink)
{
    EVP_MD *md = EVP_MD_fetch(NULL, "SHA256", NULL);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (md == NULL || ctx == NULL)
        die("EVP");
    uint8_t out[32];
    unsigned ol = 0;
    double t0 = now();
    for (size_t i = 0; i < n; i++) {
        if (EVP_DigestInit_ex2(ctx, md, NULL) != 1 ||
            EVP_DigestUpdate(ctx, buf + offs[i], offs[i + 1] - offs[i]) != 1 ||
            EVP_DigestFinal_ex(ctx, out, &ol) != 1)
            die("SHA-256");
        sink[0] ^= out[0];
    }
    double t = now() - t0;
    EVP_MD_CTX_free(ctx);
    EVP_MD_free(md);
    return t;
}

static void bench_verify(void)
{
    char dir[512];
    fresh_dir(dir, sizeof dir, "verify");
    ward_audit *log = open_log(dir);
    for (unsigned i = 0; i < VERIFY_N; i++) {
        ward_audit_record r = record(i);
        if (ward_audit_append_async(log, &r, NULL) != WARD_OK)
            die("append");
    }
    if (ward_audit_close(log) != WARD_OK)
        die("close");
    size_t *offs = NULL, n = 0;
    uint8_t *enc = load_encodings(dir, &offs, &n);
    if (n != VERIFY_N)
        die("reading back the records");
    double best = 1e9, best_raw = 1e9;
    uint8_t sink[1] = {0};
    for (int r = 0; r < REPS; r++) {
        double t = raw_sha256(enc, offs, n, sink);
        if (t < best_raw)
            best_raw = t;
        ward_audit_report rep;
        t = now();
        if (ward_audit_verify(dir, g_key, &rep) != WARD_OK)
            die("verify");
        t = now() - t;
        if (rep.records != VERIFY_N)
            die("verify count");
        if (t < best)
            best = t;
    }
    double v = VERIFY_N / best, b = VERIFY_N / best_raw;
    report("audit.verify", v, b, ">= 500000");
    fprintf(stderr,
            "%-14s %9.0f records/s verified (hash, link, signed list, %u checkpoint "
            "signatures)   raw SHA-256 per record %9.0f records/s   ratio %.3f (best of %d, %u "
            "records of %zu bytes on average)%s\n",
            "audit.verify", v, VERIFY_N / WARD_AUDIT_DEFAULT_CHECKPOINT_INTERVAL, b, v / b, REPS,
            VERIFY_N, offs[n] / n, sink[0] == 0xFF ? " " : "");
    free(enc);
    free(offs);
    remove_dir(dir);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--list") == 0) {
        for (size_t i = 0; i < sizeof figures / sizeof figures[0]; i++)
            puts(figures[i]);
        return 0;
    }
    const char *filter = argc > 1 && argv[1][0] != '\0' ? argv[1] : NULL;
    int do_append = wanted(filter, figures[0]), do_verify = wanted(filter, figures[1]);
    if (!do_append && !do_verify)
        return 0;
    if (ward_pkey_generate(WARD_KEY_EC_P256, &g_key) != WARD_OK)
        die("keygen");
    make_root();
    if (do_append)
        bench_append();
    if (do_verify)
        bench_verify();
    rmdir(g_root);
    ward_pkey_free(g_key);
    return 0;
}
