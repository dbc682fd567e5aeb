/* The task service end to end, through the real wardd (issue 6, "Speed and memory").
 *
 * task.sql.e2e: seconds for a join + group-by over two generated 1,000,000-row CSVs, end to
 *   end: the manifest written and signed by all three parties and posted; each provider fetches
 *   the task, verifies its evidence (pinned platform certificate) and the binding of the
 *   manifest digest and task keys; encrypts its CSV to the task key (ward_stream_seal) and
 *   uploads it over loopback TLS 1.3 in 8 MiB chunks (each fdatasync'd by wardd); the analyst
 *   runs the task, fetches the result, verifies the signature, the statement (manifest digest,
 *   query, both inputs' digests, result hash and length) and decrypts it. wardd itself is
 *   started once beforehand (a node is long-running); the clock runs from the manifest to the
 *   verified plaintext. Baseline, same run: the same CSV bytes (in memory) parsed with Ward's
 *   CSV reader and loaded into typed tables of an in-memory SQLite database with prepared
 *   inserts in one transaction, then the same query, its rows written as CSV. The baseline keeps
 *   its temporary b-trees in memory (temp_store=MEMORY) as the TA does: that is also its faster
 *   setting here (SQLite's default spills them to files).
 * task.upload: MB/s (10^6 bytes) of PUT .../inputs/{slot} into wardd, 8 MiB chunks, each
 *   fdatasync'd before the reply. Baseline: plain TLS 1.3 (OpenSSL, one connection) upload of
 *   the same bytes in the same chunks to a minimal server in this program that writes each chunk
 *   to a file in the same directory and fdatasyncs it before acknowledging it: the same
 *   durability, without HTTP, JSON, the task store or the audit log. Both write a chunk the same
 *   way: 1 MiB at a time, starting each batch's writeback at once (sync_file_range), so that the
 *   closing fdatasync waits for little more than the last batch. Both upload bytes made
 *   beforehand (random, standing for ciphertext): encryption is not in the figure.
 * task.ta_peak_rss: MiB, the TA process's peak resident memory (VmHWM) while it loads both
 *   inputs and runs the query. On this kernel memfd_secret pages are counted in the process's
 *   RSS (as RssFile; checked at start and printed), so VmHWM includes the secret heap. It is
 *   sampled from /proc every 2 ms while the task runs (VmHWM only grows; the instance exits at
 *   the end of the run). Baseline: a fresh process (this program re-executed) that streams the
 *   two CSV files through the same reader into plain SQLite and runs the query: its ru_maxrss,
 *   with temp_store=MEMORY (the same work in memory as the TA, which never writes plaintext to
 *   disk). stderr also shows SQLite's default, which spills the join's automatic index and the
 *   group-by sorter to temporary files and so holds about half as much in memory.
 *
 * Each time figure is the best of REPS interleaved runs; stderr shows all of them.
 * Environment: WARD_BENCH_TASK_ROWS (default 1000000) for a quicker run; WARD_BENCH_TASK_TRACE
 * prints the TA's memory as it grows.
 *
 * Usage: bench_task [FILTER] | --list */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "ward/claims.h"
#include "ward/crypto.h"
#include "ward/csv.h"
#include "ward/encoding.h"
#include "ward/evidence.h"
#include "ward/identity.h"
#include "ward/rbac.h"
#include "ward/rot.h"
#include "ward/stream.h"
#include "ward/task.h"
#include "ward/x509.h"

#define REPS 3
#define CHUNK ((size_t)8 << 20)
#define WRITE_BATCH ((size_t)1 << 20) /* as the task store writes a chunk */
#define UPLOAD_BYTES ((size_t)256 << 20)
#define SLOT_MAX ((json_int_t)1 << 30)

static const char *const figures[] = {"task.sql.e2e", "task.upload", "task.ta_peak_rss"};

static const char QUERY[] =
    "SELECT p.region AS region, p.diagnosis AS diagnosis, COUNT(*) AS treatments, "
    "SUM(t.cost_cents) AS total_cents, "
    "AVG(t.cost_cents) AS avg_cents FROM patients AS p JOIN treatments AS t "
    "ON t.patient_id = p.patient_id GROUP BY p.region, p.diagnosis ORDER BY 1, 2";

static void die(const char *what)
{
    fprintf(stderr, "bench_task: %s failed: %s\n", what, ward_errmsg());
    exit(1);
}

static void die_msg(const char *what, const char *detail)
{
    fprintf(stderr, "bench_task: %s: %s\n", what, detail != NULL ? detail : "");
    exit(1);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int wanted(const char *filter, const char *name)
{
    return filter == NULL || strstr(name, filter) != NULL;
}

static void hex(const uint8_t *b, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
}

static void write_file(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(p, 1, n, f) != n || fclose(f) != 0)
        die_msg("write", path);
}

static char *read_text(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    char *b = malloc(65537);
    size_t n = b != NULL ? fread(b, 1, 65536, f) : 0;
    fclose(f);
    if (b != NULL)
        b[n] = 0;
    *len = n;
    return b;
}

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(p);
    return 0;
}

/* ---- data ------------------------------------------------------------------------------------ */

typedef struct buf {
    char *p;
    size_t len, cap;
} buf;

static void buf_printf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void buf_printf(buf *b, const char *fmt, ...)
{
    if (b->cap - b->len < 256) {
        size_t nc = b->cap ? b->cap * 2 : (size_t)1 << 20;
        char *np = realloc(b->p, nc);
        if (np == NULL)
            die_msg("data", "out of memory");
        b->p = np;
        b->cap = nc;
    }
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

static uint64_t rng_state = 0x5741524442454e43ull;

static uint32_t rnd(uint32_t n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state % n);
}

static const char *const REGIONS[] = {"north", "south", "east", "west", "central",
                                      "north-east", "north-west", "south-east",
                                      "south-west", "islands"};
static const char *const DIAG[] = {"E11.9", "I10", "J45.909", "M54.5", "F32.9", "K21.9",
                                   "N39.0", "J06.9", "E78.5", "I25.10", "G43.909", "L40.0",
                                   "M17.11", "R51", "Z00.00", "B34.9", "H10.9", "K58.9",
                                   "J30.9", "E03.9"};
static const char *const TREAT[] = {"consultation", "x-ray", "mri", "blood panel",
                                    "physiotherapy", "\"day surgery, minor\"", "vaccination",
                                    "ecg", "ultrasound", "prescription renewal"};

static buf g_patients, g_treatments;
static size_t g_rows;

static void make_data(size_t rows)
{
    g_rows = rows;
    buf_printf(&g_patients, "patient_id,age,region,diagnosis\n");
    for (size_t i = 0; i < rows; i++)
        buf_printf(&g_patients, "%zu,%u,%s,%s\n", 100000 + i, 18 + rnd(80),
                   REGIONS[rnd(10)], DIAG[rnd(20)]);
    buf_printf(&g_treatments, "patient_id,treatment,cost_cents\n");
    for (size_t i = 0; i < rows; i++)
        buf_printf(&g_treatments, "%u,%s,%u\n", 100000 + rnd((uint32_t)(rows + rows / 8)),
                   TREAT[rnd(10)], 500 + rnd(250000));
}

/* ---- the baseline: plain SQLite ------------------------------------------------------------ */

typedef struct load {
    sqlite3 *db;
    sqlite3_stmt *ins;
    const int *is_int; /* per column */
} load;

static void sql_ok(sqlite3 *db, int rc, const char *what)
{
    if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW)
        die_msg(what, sqlite3_errmsg(db));
}

static ward_err on_row(void *arg, uint64_t index, const char *const *f, const size_t *l,
                       size_t n)
{
    load *ld = arg;
    if (index == 0)
        return WARD_OK;
    for (size_t i = 0; i < n; i++) {
        if (ld->is_int[i])
            sqlite3_bind_int64(ld->ins, (int)i + 1, strtoll(f[i], NULL, 10));
        else
            sqlite3_bind_text(ld->ins, (int)i + 1, f[i], (int)l[i], SQLITE_STATIC);
    }
    sql_ok(ld->db, sqlite3_step(ld->ins), "insert");
    sqlite3_reset(ld->ins);
    return WARD_OK;
}

static const int P_INT[] = {1, 1, 0, 0}, T_INT[] = {1, 0, 1};

/* Loads one table, from memory (data != NULL) or streamed from a file. */
static void plain_load(sqlite3 *db, const char *create, const char *insert, const int *is_int,
                       const buf *data, const char *path)
{
    sql_ok(db, sqlite3_exec(db, create, NULL, NULL, NULL), "create");
    load ld = {db, NULL, is_int};
    sql_ok(db, sqlite3_prepare_v2(db, insert, -1, &ld.ins, NULL), "prepare");
    if (data != NULL) {
        if (ward_csv_parse((const uint8_t *)data->p, data->len, NULL, on_row, &ld) != WARD_OK)
            die("csv");
    } else {
        ward_csv_reader *r = NULL;
        FILE *f = fopen(path, "rb");
        static uint8_t piece[1 << 20];
        if (f == NULL || ward_csv_reader_new(NULL, on_row, &ld, &r) != WARD_OK)
            die_msg("open", path);
        size_t got;
        while ((got = fread(piece, 1, sizeof piece, f)) > 0)
            if (ward_csv_reader_feed(r, piece, got) != WARD_OK)
                die("csv");
        if (ward_csv_reader_finish(r) != WARD_OK)
            die("csv");
        ward_csv_reader_free(r);
        fclose(f);
    }
    sqlite3_finalize(ld.ins);
}

static double g_plain_load_s;
static int g_temp_default;

/* Load both, run the query, write its rows as CSV; returns the CSV's length. */
static size_t plain_sqlite(const char *patients_path, const char *treatments_path)
{
    double t0 = now();
    sqlite3 *db = NULL;
    sql_ok(db, sqlite3_open(":memory:", &db), "open");
    /* temporary b-trees (the join's automatic index, the group-by sorter) in memory, as in the
     * TA, which writes no plaintext to disk; --plain-rss-default keeps SQLite's default */
    if (!g_temp_default)
        sql_ok(db, sqlite3_exec(db, "PRAGMA temp_store=MEMORY", NULL, NULL, NULL), "pragma");
    sql_ok(db, sqlite3_exec(db, "BEGIN", NULL, NULL, NULL), "begin");
    plain_load(db,
               "CREATE TABLE patients(patient_id INTEGER, age INTEGER, region TEXT, "
               "diagnosis TEXT)",
               "INSERT INTO patients VALUES(?,?,?,?)", P_INT,
               patients_path != NULL ? NULL : &g_patients, patients_path);
    plain_load(db, "CREATE TABLE treatments(patient_id INTEGER, treatment TEXT, cost_cents "
                   "INTEGER)",
               "INSERT INTO treatments VALUES(?,?,?)", T_INT,
               treatments_path != NULL ? NULL : &g_treatments, treatments_path);
    sql_ok(db, sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), "commit");
    g_plain_load_s = now() - t0;
    sqlite3_stmt *q = NULL;
    sql_ok(db, sqlite3_prepare_v2(db, QUERY, -1, &q, NULL), "query");
    ward_csv_writer *w = NULL;
    if (ward_csv_writer_new((size_t)64 << 20, &w) != WARD_OK)
        die("writer");
    int nc = sqlite3_column_count(q);
    const char *f[16];
    size_t l[16];
    char num[16][40];
    for (int i = 0; i < nc; i++) {
        f[i] = sqlite3_column_name(q, i);
        l[i] = strlen(f[i]);
    }
    if (ward_csv_writer_record(w, f, l, (size_t)nc) != WARD_OK)
        die("writer");
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        for (int i = 0; i < nc; i++) {
            switch (sqlite3_column_type(q, i)) {
            case SQLITE_INTEGER:
                l[i] = (size_t)snprintf(num[i], sizeof num[i], "%lld",
                                        (long long)sqlite3_column_int64(q, i));
                f[i] = num[i];
                break;
            case SQLITE_FLOAT:
                l[i] = (size_t)snprintf(num[i], sizeof num[i], "%.17g",
                                        sqlite3_column_double(q, i));
                f[i] = num[i];
                break;
            case SQLITE_NULL:
                f[i] = NULL;
                l[i] = 0;
                break;
            default:
                f[i] = (const char *)sqlite3_column_text(q, i);
                l[i] = (size_t)sqlite3_column_bytes(q, i);
            }
        }
        if (ward_csv_writer_record(w, f, l, (size_t)nc) != WARD_OK)
            die("writer");
    }
    sql_ok(db, rc, "step");
    size_t len = 0;
    ward_csv_writer_data(w, &len);
    ward_csv_writer_free(w);
    sqlite3_finalize(q);
    sqlite3_close(db);
    return len;
}

/* ---- the node ------------------------------------------------------------------------------ */

typedef struct party {
    const char *name;
    ward_pkey *key;
    uint8_t hash[WARD_SHA256_LEN];
    char *spki_b64;
    char cert[PATH_MAX], keyf[PATH_MAX];
    CURL *c; /* one connection per party, kept alive */
} party;

static struct {
    char tmp[256], data[PATH_MAX];
    pid_t pid;
    int port;
    char pin[128];
    uint8_t platform_fp[1][WARD_SHA256_LEN];
    ward_evidence_trust trust;
    party a, b, analyst;
    uint8_t x_sk[32], x_pk[32];
} N;

static void node_start(void)
{
    char exe[PATH_MAX], wardd[PATH_MAX + 16], port_file[PATH_MAX + 16], log[PATH_MAX + 16];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        die_msg("readlink", "/proc/self/exe");
    exe[n] = 0;
    /* <build>/bench/bench_task -> <build>/wardd (and <build>/builtin/) */
    for (int k = 0; k < 2; k++) {
        char *s = strrchr(exe, '/');
        if (s == NULL)
            die_msg("build dir", exe);
        *s = 0;
    }
    snprintf(wardd, sizeof wardd, "%s/wardd", exe);
    if (access(wardd, X_OK) != 0)
        die_msg("wardd not built", wardd);
    const char *t = getenv("TMPDIR");
    snprintf(N.tmp, sizeof N.tmp, "%s/ward-bench-task-XXXXXX", t != NULL ? t : "/tmp");
    if (mkdtemp(N.tmp) == NULL)
        die_msg("mkdtemp", strerror(errno));
    snprintf(N.data, sizeof N.data, "%s/node", N.tmp);
    snprintf(port_file, sizeof port_file, "%s/port.json", N.tmp);
    snprintf(log, sizeof log, "%s/wardd.log", N.tmp);
    pid_t parent = getpid();
    fflush(NULL);
    N.pid = fork();
    if (N.pid < 0)
        die_msg("fork", strerror(errno));
    if (N.pid == 0) {
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
            _exit(126);
        int lf = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int nul = open("/dev/null", O_WRONLY);
        if (lf < 0 || nul < 0 || dup2(nul, 1) < 0 || dup2(lf, 2) < 0)
            _exit(126);
        execl(wardd, wardd, "--foreground", "--data-dir", N.data, "--listen", "127.0.0.1:0",
              "--port-file", port_file, "--log-level", "warn", (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 600; i++) {
        int st;
        if (waitpid(N.pid, &st, WNOHANG) == N.pid)
            die_msg("wardd exited during start-up; log", log);
        size_t len = 0;
        char *text = read_text(port_file, &len);
        json_error_t je;
        json_t *j = text != NULL ? json_loadb(text, len, 0, &je) : NULL;
        free(text);
        const char *spki = json_string_value(json_object_get(j, "tls_spki_sha256"));
        json_int_t port = json_integer_value(json_object_get(j, "port"));
        uint8_t h[32];
        char *b64 = NULL;
        int ok = spki != NULL && port > 0 && port < 65536 &&
                 ward_hex_decode_fixed(spki, strlen(spki), h, sizeof h) == WARD_OK &&
                 ward_base64_encode(h, sizeof h, &b64, NULL) == WARD_OK;
        if (ok) {
            snprintf(N.pin, sizeof N.pin, "sha256//%s", b64);
            N.port = (int)port;
        }
        free(b64);
        json_decref(j);
        if (ok)
            break;
        sleep_ms(100);
    }
    if (N.port == 0)
        die_msg("wardd did not start", log);
    /* the node's platform certificate, pinned: this program started the node */
    char path[PATH_MAX + 32];
    size_t len = 0;
    snprintf(path, sizeof path, "%s/platform-cert.pem", N.data);
    char *pem = read_text(path, &len);
    ward_cert *cert = NULL;
    if (pem == NULL || ward_cert_from_pem(pem, len, &cert) != WARD_OK ||
        ward_cert_fingerprint(cert, N.platform_fp[0]) != WARD_OK)
        die("platform certificate");
    free(pem);
    ward_cert_free(cert);
    N.trust.pinned = (const uint8_t(*)[WARD_SHA256_LEN])N.platform_fp;
    N.trust.n_pinned = 1;
}

static void node_stop(void)
{
    if (N.pid > 0) {
        kill(N.pid, SIGTERM);
        int st;
        for (int i = 0; i < 100 && waitpid(N.pid, &st, WNOHANG) == 0; i++)
            sleep_ms(100);
        kill(N.pid, SIGKILL);
        waitpid(N.pid, &st, 0);
        N.pid = -1;
    }
    nftw(N.tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* A participant: key, self-signed client certificate, enrolled in the node's identity db
 * (RBAC on the task endpoints: providers data-provider, the analyst result-consumer). */
static void make_party(party *p, const char *name, const char *role, ward_identity *db)
{
    p->name = name;
    int64_t t = (int64_t)time(NULL);
    ward_cert_spec spec = {.common_name = name, .not_before = t - 60, .not_after = t + 86400,
                           .path_len = -1, .client_auth = 1};
    ward_cert *cert = NULL;
    uint8_t *der = NULL;
    size_t dl = 0;
    char *pem = NULL;
    size_t pl = 0;
    if (ward_pkey_generate(WARD_KEY_EC_P256, &p->key) != WARD_OK ||
        ward_pkey_spki_sha256(p->key, p->hash) != WARD_OK ||
        ward_cert_create(&spec, p->key, NULL, p->key, &cert) != WARD_OK ||
        ward_pkey_spki_der(p->key, &der, &dl) != WARD_OK ||
        ward_base64_encode(der, dl, &p->spki_b64, NULL) != WARD_OK ||
        ward_cert_to_pem(cert, &pem, &pl) != WARD_OK)
        die("identity");
    snprintf(p->cert, sizeof p->cert, "%s/%s.crt", N.tmp, name);
    write_file(p->cert, pem, pl);
    free(pem);
    if (ward_pkey_private_pem(p->key, &pem, &pl) != WARD_OK)
        die("key pem");
    snprintf(p->keyf, sizeof p->keyf, "%s/%s.key", N.tmp, name);
    write_file(p->keyf, pem, pl);
    ward_wipe(pem, pl);
    free(pem);
    free(der);
    ward_cert_free(cert);
    const char *roles[1] = {role};
    if (ward_identity_user_add(db, name, NULL, NULL, 0, roles, 1) != WARD_OK ||
        ward_identity_cert_map(db, name, p->hash) != WARD_OK)
        die("enrolment");
    p->c = curl_easy_init();
    if (p->c == NULL)
        die_msg("curl", "init");
}

static void enrol_parties(void)
{
    ward_rot *rot = NULL;
    uint8_t key[32];
    ward_identity *db = NULL;
    if (ward_rot_open(N.data, 0, &rot) != WARD_OK ||
        ward_rot_derive(rot, WARD_IDENTITY_KEY_LABEL, NULL, 0, key, sizeof key) != WARD_OK ||
        ward_identity_open(N.data, 1, key, &db) != WARD_OK)
        die("identity db");
    ward_wipe(key, sizeof key);
    make_party(&N.a, "provider-a", "data-provider", db);
    make_party(&N.b, "provider-b", "data-provider", db);
    make_party(&N.analyst, "analyst", "result-consumer", db);
    ward_identity_close(db);
    ward_rot_close(rot);
    if (ward_x25519_generate(N.x_sk, N.x_pk) != WARD_OK)
        die("x25519");
}

static void free_party(party *p)
{
    curl_easy_cleanup(p->c);
    ward_pkey_free(p->key);
    free(p->spki_b64);
}

typedef struct resp {
    long status;
    char *body;
    size_t len, cap;
} resp;

static size_t on_data(char *p, size_t sz, size_t n, void *arg)
{
    resp *r = arg;
    size_t add = sz * n;
    if (r->cap - r->len < add + 1) {
        size_t nc = r->cap ? r->cap : 4096;
        while (nc - r->len < add + 1)
            nc *= 2;
        char *nb = realloc(r->body, nc);
        if (nb == NULL)
            return 0;
        r->body = nb;
        r->cap = nc;
    }
    memcpy(r->body + r->len, p, add);
    r->len += add;
    r->body[r->len] = 0;
    return add;
}

/* One request that must answer want; the raw body (malloc'd, NUL-ended). */
static char *request(party *p, const char *method, const char *path, const void *body,
                     size_t len, long want, size_t *out_len)
{
    char url[512];
    snprintf(url, sizeof url, "https://127.0.0.1:%d%s", N.port, path);
    resp r = {0, NULL, 0, 0};
    CURL *c = p->c;
    curl_easy_reset(c);
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    h = curl_slist_append(h, "Expect:"); /* no 100-continue round trip */
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    curl_easy_setopt(c, CURLOPT_PINNEDPUBLICKEY, N.pin);
    curl_easy_setopt(c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_3);
    curl_easy_setopt(c, CURLOPT_SSLCERTTYPE, "PEM");
    curl_easy_setopt(c, CURLOPT_SSLCERT, p->cert);
    curl_easy_setopt(c, CURLOPT_SSLKEY, p->keyf);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 600L);
    if (body != NULL) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    }
    CURLcode rc = curl_easy_perform(c);
    curl_slist_free_all(h);
    if (rc != CURLE_OK)
        die_msg(path, curl_easy_strerror(rc));
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    if (r.status != want) {
        fprintf(stderr, "bench_task: %s %s: HTTP %ld: %.500s\n", method, path, r.status,
                r.body != NULL ? r.body : "");
        exit(1);
    }
    *out_len = r.len;
    return r.body;
}

static json_t *call(party *p, const char *method, const char *path, const void *body,
                    size_t len, long want)
{
    size_t rl = 0;
    char *rb = request(p, method, path, body, len, want, &rl);
    json_error_t je;
    json_t *j = rb != NULL ? json_loadb(rb, rl, 0, &je) : NULL;
    free(rb);
    if (j == NULL)
        die_msg(path, "reply is not JSON");
    return j;
}

static uint8_t *b64u(json_t *j, const char *member, size_t *len)
{
    const char *s = json_string_value(json_object_get(j, member));
    uint8_t *out = NULL;
    if (s == NULL || ward_base64url_decode(s, strlen(s), &out, len) != WARD_OK)
        die_msg("reply lacks", member);
    return out;
}

/* ---- one sql task end to end ----------------------------------------------------------------- */

typedef struct task {
    char id[WARD_TASK_ID_HEX_LEN + 1];
    ward_task_manifest *m;
    uint8_t digest[32];
    uint8_t task_pk[32];
    uint8_t *sign_spki;
    size_t sign_spki_len;
} task;

static void task_create(task *t, const char *slot_a, const char *slot_b)
{
    uint8_t rid[16];
    if (ward_random(rid, sizeof rid) != WARD_OK)
        die("random");
    hex(rid, sizeof rid, t->id);
    char x[65];
    hex(N.x_pk, 32, x);
    json_t *j = json_pack("{s:i, s:s, s:s, s:{s:s}, s:{s:s}, s:[{s:s, s:s, s:I}, {s:s, s:s, "
                          "s:I}], s:[{s:s, s:s}], s:I, s:s}",
                          "version", 1, "task_id", t->id, "creator", N.a.spki_b64, "function",
                          "builtin", "sql", "params", "query", QUERY, "inputs", "slot", slot_a,
                          "owner", N.a.spki_b64, "max_bytes", SLOT_MAX, "slot", slot_b, "owner",
                          N.b.spki_b64, "max_bytes", SLOT_MAX, "recipients", "identity",
                          N.analyst.spki_b64, "x25519", x, "expires_at",
                          (json_int_t)time(NULL) + 3600, "retention", "delete-on-done");
    char *text = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (text == NULL || ward_task_manifest_parse(text, strlen(text), &t->m) != WARD_OK)
        die("manifest");
    free(text);
    ward_task_manifest_digest(t->m, t->digest);
    /* each party signs (in reality on its own machine, after reading the manifest) */
    if (ward_task_sign(t->m, N.a.key) != WARD_OK || ward_task_sign(t->m, N.b.key) != WARD_OK ||
        ward_task_sign(t->m, N.analyst.key) != WARD_OK)
        die("sign");
    char *env = NULL;
    size_t el = 0;
    if (ward_task_envelope_serialize(t->m, &env, &el) != WARD_OK)
        die("envelope");
    json_t *r = call(&N.a, "POST", "/v1/tasks", env, el, 201);
    free(env);
    if (strcmp(json_string_value(json_object_get(r, "state")), "approved") != 0)
        die_msg("task not approved", json_string_value(json_object_get(r, "reason")));
    json_decref(r);
}

/* A provider's check before it encrypts: evidence with its own trust anchor, and report_data =
 * SHA-256(manifest digest || task_pk || SHA-256(sign_pk)) || 0^32. */
static void task_check(task *t, party *p)
{
    char path[128];
    snprintf(path, sizeof path, "/v1/tasks/%s", t->id);
    json_t *j = call(p, "GET", path, NULL, 0, 200);
    json_t *ta = json_object_get(j, "ta");
    const char *pkhex = json_string_value(json_object_get(ta, "task_pk"));
    uint8_t pk[32];
    size_t spl = 0;
    if (pkhex == NULL || ward_hex_decode_fixed(pkhex, strlen(pkhex), pk, 32) != WARD_OK)
        die_msg("task", "no task key");
    uint8_t *spki = b64u(ta, "sign_pk", &spl);
    char *ev = json_dumps(json_object_get(ta, "evidence"), JSON_COMPACT);
    ward_claims claims;
    ward_evidence_result res;
    if (ev == NULL ||
        ward_evidence_verify(ev, strlen(ev), &N.trust, (int64_t)time(NULL), &claims, &res) !=
            WARD_OK)
        die("evidence");
    uint8_t bind[96], expect[64] = {0};
    memcpy(bind, t->digest, 32);
    memcpy(bind + 32, pk, 32);
    if (ward_hash(WARD_HASH_SHA256, spki, spl, bind + 64) != WARD_OK ||
        ward_hash(WARD_HASH_SHA256, bind, sizeof bind, expect) != WARD_OK ||
        memcmp(claims.report_data, expect, 64) != 0)
        die_msg("evidence", "the report does not bind this manifest and these keys");
    if (t->sign_spki == NULL) {
        memcpy(t->task_pk, pk, 32);
        t->sign_spki = spki;
        t->sign_spki_len = spl;
    } else {
        if (memcmp(pk, t->task_pk, 32) != 0 || spl != t->sign_spki_len ||
            memcmp(spki, t->sign_spki, spl) != 0)
            die_msg("evidence", "another party was shown other task keys");
        free(spki);
    }
    free(ev);
    json_decref(j);
}

static void upload_bytes(party *p, const char *id, const char *slot, const uint8_t *ct,
                         size_t len, int final)
{
    for (size_t off = 0; off < len;) {
        size_t n = len - off < CHUNK ? len - off : CHUNK;
        int last = final && off + n == len;
        char path[256];
        snprintf(path, sizeof path, "/v1/tasks/%s/inputs/%s?offset=%zu%s", id, slot, off,
                 last ? "&final=1" : "");
        json_t *j = call(p, "PUT", path, ct + off, n, 200);
        json_int_t got = json_integer_value(json_object_get(j, "offset"));
        if (got < 0 || (size_t)got != off + n)
            die_msg("upload", "the node stored something else");
        json_decref(j);
        off += n;
    }
}

static void task_send(task *t, party *p, const char *slot, const buf *csv)
{
    char aad[WARD_TASK_AAD_MAX + 1];
    int n = snprintf(aad, sizeof aad, "ward-task-input-v1/%s/%s", t->id, slot);
    uint8_t *ct = NULL;
    size_t ctl = 0;
    if (ward_stream_seal(t->task_pk, 0, (const uint8_t *)aad, (size_t)n,
                         (const uint8_t *)csv->p, csv->len, &ct, &ctl) != WARD_OK)
        die("seal");
    upload_bytes(p, t->id, slot, ct, ctl, 1);
    free(ct);
}

static void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* The analyst's verification of the result; returns the CSV's length. */
static size_t task_result(task *t)
{
    char path[128];
    snprintf(path, sizeof path, "/v1/tasks/%s/run", t->id);
    json_t *j = call(&N.analyst, "POST", path, NULL, 0, 200);
    if (strcmp(json_string_value(json_object_get(j, "state")), "done") != 0)
        die_msg("run", json_string_value(json_object_get(j, "reason")));
    json_decref(j);
    snprintf(path, sizeof path, "/v1/tasks/%s/result", t->id);
    j = call(&N.analyst, "GET", path, NULL, 0, 200);
    size_t stl, sigl, spl;
    uint8_t *st = b64u(j, "statement", &stl), *sig = b64u(j, "signature", &sigl);
    uint8_t *spk = b64u(j, "sign_pk", &spl);
    json_int_t total = json_integer_value(json_object_get(j, "result_bytes"));
    json_decref(j);
    if (total <= 0)
        die_msg("reply lacks", "result_bytes");
    /* the ciphertext, in the node's pieces */
    size_t encl = (size_t)total;
    uint8_t *enc = malloc(encl);
    if (enc == NULL)
        die("out of memory");
    for (size_t off = 0; off < encl;) {
        snprintf(path, sizeof path, "/v1/tasks/%s/result/data?offset=%zu", t->id, off);
        size_t pl = 0;
        char *piece = request(&N.analyst, "GET", path, NULL, 0, 200, &pl);
        if (pl == 0 || pl > encl - off)
            die_msg("result", "bad piece");
        memcpy(enc + off, piece, pl);
        off += pl;
        free(piece);
    }
    ward_pkey *vk = NULL;
    if (spl != t->sign_spki_len || memcmp(spk, t->sign_spki, spl) != 0 ||
        ward_pkey_from_spki_der(spk, spl, &vk) != WARD_OK ||
        ward_verify(vk, WARD_HASH_SHA256, WARD_SIG_RAW, st, stl, sig, sigl) != WARD_OK)
        die("result signature");
    ward_pkey_free(vk);
    /* "WARD-RESULT-1" 0 | 3 | "sql" | digest | SHA-256(query) | inputs | SHA-256(csv) | u64 */
    uint8_t h[32], in[2 * (4 + 16 + 4 + WARD_TASK_AAD_MAX + 32 + 8)];
    if (stl != 14 + 1 + 3 + 128 + 8 || memcmp(st, "WARD-RESULT-1\0\3sql", 18) != 0 ||
        memcmp(st + 18, t->digest, 32) != 0)
        die_msg("statement", "not about this task");
    if (ward_hash(WARD_HASH_SHA256, QUERY, strlen(QUERY), h) != WARD_OK ||
        memcmp(st + 50, h, 32) != 0)
        die_msg("statement", "another query");
    size_t il = 0;
    const char *slots[2] = {"patients", "treatments"};
    const buf *data[2] = {&g_patients, &g_treatments};
    for (int i = 0; i < 2; i++) {
        size_t nl = strlen(slots[i]);
        char aad[WARD_TASK_AAD_MAX + 1];
        int al = snprintf(aad, sizeof aad, "ward-task-input-v1/%s/%s", t->id, slots[i]);
        put_u32(in + il, (uint32_t)nl);
        memcpy(in + il + 4, slots[i], nl);
        il += 4 + nl;
        put_u32(in + il, (uint32_t)al);
        memcpy(in + il + 4, aad, (size_t)al);
        il += 4 + (size_t)al;
        if (ward_hash(WARD_HASH_SHA256, data[i]->p, data[i]->len, in + il) != WARD_OK)
            die("hash");
        il += 32;
        for (int k = 0; k < 8; k++)
            in[il++] = (uint8_t)((uint64_t)g_rows >> (8 * k));
    }
    if (ward_hash(WARD_HASH_SHA256, in, il, h) != WARD_OK || memcmp(st + 82, h, 32) != 0)
        die_msg("statement", "other inputs than the providers sent");
    uint8_t *csv = NULL;
    size_t csvl = 0;
    if (ward_stream_open(N.x_sk, t->digest, 32, enc, encl, &csv, &csvl) != WARD_OK)
        die("decrypt");
    uint64_t n = 0;
    for (int k = 0; k < 8; k++)
        n |= (uint64_t)st[146 + k] << (8 * k);
    if (ward_hash(WARD_HASH_SHA256, csv, csvl, h) != WARD_OK || memcmp(st + 114, h, 32) != 0 ||
        n != csvl)
        die_msg("result", "not the CSV the TA signed");
    ward_wipe(csv, csvl);
    free(csv);
    free(st);
    free(sig);
    free(enc);
    free(spk);
    return csvl;
}

static void task_free(task *t)
{
    ward_task_manifest_free(t->m);
    free(t->sign_spki);
    memset(t, 0, sizeof *t);
}

/* ---- TA memory: sampling the TA processes' VmHWM -------------------------------------------- */

static atomic_int g_sampling;
static long g_ta_hwm_kb; /* max VmHWM of any process below wardd */

static long status_kb(pid_t pid, const char *field)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    long v = -1;
    size_t fl = strlen(field);
    while (fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, field, fl) == 0 && line[fl] == ':')
            v = strtol(line + fl + 1, NULL, 10);
    fclose(f);
    return v;
}

static pid_t ppid_of(pid_t pid)
{
    long v = status_kb(pid, "PPid");
    return (pid_t)v;
}

static void *sampler(void *arg)
{
    (void)arg;
    while (atomic_load(&g_sampling)) {
        DIR *d = opendir("/proc");
        struct dirent *e;
        while (d != NULL && (e = readdir(d)) != NULL) {
            if (e->d_name[0] < '1' || e->d_name[0] > '9')
                continue;
            pid_t pid = (pid_t)atoi(e->d_name);
            /* a descendant of wardd (a TA instance), not wardd itself */
            pid_t p = ppid_of(pid);
            int below = 0;
            for (int depth = 0; depth < 4 && p > 1; depth++) {
                if (p == N.pid) {
                    below = 1;
                    break;
                }
                p = ppid_of(p);
            }
            if (!below)
                continue;
            long hwm = status_kb(pid, "VmHWM");
            static long printed;
            if (getenv("WARD_BENCH_TASK_TRACE") != NULL && hwm > printed + 8192 &&
                (printed = hwm) > 0)
                fprintf(stderr, "    TA %d at %.2f s: VmHWM %ld KiB, VmRSS %ld KiB\n", (int)pid,
                        now(), hwm, status_kb(pid, "VmRSS"));
            if (hwm > g_ta_hwm_kb)
                g_ta_hwm_kb = hwm;
        }
        if (d != NULL)
            closedir(d);
        sleep_ms(2);
    }
    return NULL;
}

/* Whether memfd_secret pages show in this kernel's VmRSS. */
static void check_secretmem(void)
{
    int fd = (int)syscall(SYS_memfd_secret, 0u);
    if (fd < 0) {
        fprintf(stderr, "task.ta_peak_rss: no memfd_secret here (%s): the TA heap is an mlock'ed "
                        "anonymous mapping, counted in VmRSS\n",
                strerror(errno));
        return;
    }
    size_t sz = (size_t)16 << 20;
    long before = status_kb(getpid(), "VmRSS");
    uint8_t *p = ftruncate(fd, (off_t)sz) == 0
                     ? mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
                     : MAP_FAILED;
    close(fd);
    if (p == MAP_FAILED) {
        fprintf(stderr, "task.ta_peak_rss: memfd_secret cannot be mapped here\n");
        return;
    }
    memset(p, 1, sz);
    long after = status_kb(getpid(), "VmRSS");
    munmap(p, sz);
    fprintf(stderr, "task.ta_peak_rss: 16 MiB of memfd_secret pages touched: VmRSS +%ld KiB "
                    "(%s in VmRSS/VmHWM on this kernel)\n",
            after - before, after - before >= 15 * 1024 ? "counted" : "NOT counted");
}

/* ---- figures ------------------------------------------------------------------------------- */

static double e2e_once(int sample)
{
    task t = {0};
    pthread_t th;
    if (sample) {
        atomic_store(&g_sampling, 1);
        g_ta_hwm_kb = 0;
        if (pthread_create(&th, NULL, sampler, NULL) != 0)
            die_msg("thread", "create");
    }
    double t0 = now();
    task_create(&t, "patients", "treatments");
    double t1 = now();
    if (getenv("WARD_BENCH_TASK_TRACE") != NULL)
        fprintf(stderr, "    start %.2f\n", t0);
    task_check(&t, &N.a);
    task_check(&t, &N.b);
    double t2 = now();
    task_send(&t, &N.a, "patients", &g_patients);
    task_send(&t, &N.b, "treatments", &g_treatments);
    double t3 = now();
    if (getenv("WARD_BENCH_TASK_TRACE") != NULL)
        fprintf(stderr, "    run at %.2f\n", t3);
    size_t n = task_result(&t);
    double t4 = now();
    if (sample) {
        atomic_store(&g_sampling, 0);
        pthread_join(th, NULL);
    }
    fprintf(stderr, "  e2e %.2f s: manifest+sign+post %.2f, evidence x2 %.2f, encrypt+upload "
                    "%.2f, run+fetch+verify+decrypt %.2f (result %zu bytes)\n",
            t4 - t0, t1 - t0, t2 - t1, t3 - t2, t4 - t3, n);
    task_free(&t);
    return t4 - t0;
}

static void bench_e2e(int do_e2e, int do_rss)
{
    double best = 1e9, best_plain = 1e9, worst = 0, worst_plain = 0;
    int reps = do_e2e ? REPS : 1;
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        size_t n = plain_sqlite(NULL, NULL);
        double tp = now() - t0;
        fprintf(stderr, "  plain SQLite %.2f s: load %.2f, query %.2f (result %zu bytes)\n", tp,
                g_plain_load_s, tp - g_plain_load_s, n);
        double te = e2e_once(do_rss && r == 0);
        best = te < best ? te : best;
        worst = te > worst ? te : worst;
        best_plain = tp < best_plain ? tp : best_plain;
        worst_plain = tp > worst_plain ? tp : worst_plain;
    }
    if (do_e2e) {
        printf("{\"bench\": \"task.sql.e2e\", \"value\": %.3f, \"unit\": \"s\", \"baseline\": "
               "%.3f, \"ratio\": %.3f, \"target\": \"<= 1.5\"}\n",
               best, best_plain, best / best_plain);
        fflush(stdout);
        fprintf(stderr,
                "%-16s %.2f s end to end (%zu + %zu rows, %zu + %zu bytes of CSV; spread %.2f .. "
                "%.2f)   plain in-process SQLite %.2f s (%.2f .. %.2f)   ratio %.3f (best of "
                "%d)\n",
                "task.sql.e2e", best, g_rows, g_rows, g_patients.len, g_treatments.len, best,
                worst, best_plain, best_plain, worst_plain, best / best_plain, reps);
    }
}

/* The baseline's memory in a fresh process: stream both files into plain SQLite. */
static long plain_peak_kb(int temp_default)
{
    char pa[PATH_MAX + 16], pb[PATH_MAX + 16], exe[PATH_MAX];
    snprintf(pa, sizeof pa, "%s/patients.csv", N.tmp);
    snprintf(pb, sizeof pb, "%s/treatments.csv", N.tmp);
    write_file(pa, g_patients.p, g_patients.len);
    write_file(pb, g_treatments.p, g_treatments.len);
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        die_msg("readlink", "self");
    exe[n] = 0;
    int fds[2];
    if (pipe(fds) != 0)
        die_msg("pipe", strerror(errno));
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        execl(exe, exe, temp_default ? "--plain-rss-default" : "--plain-rss", pa, pb,
              (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    char line[64] = {0};
    ssize_t got = read(fds[0], line, sizeof line - 1);
    close(fds[0]);
    int st;
    waitpid(pid, &st, 0);
    unlink(pa);
    unlink(pb);
    if (got <= 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        die_msg("baseline process", "failed");
    return strtol(line, NULL, 10);
}

static void report_rss(void)
{
    long plain = plain_peak_kb(0), spill = plain_peak_kb(1);
    double v = (double)g_ta_hwm_kb / 1024.0, b = (double)plain / 1024.0;
    printf("{\"bench\": \"task.ta_peak_rss\", \"value\": %.1f, \"unit\": \"MiB\", \"baseline\": "
           "%.1f, \"ratio\": %.3f, \"target\": \"<= 2.0\"}\n",
           v, b, v / b);
    fflush(stdout);
    fprintf(stderr, "%-16s %.1f MiB TA VmHWM (secret heap included)   plain SQLite process "
                    "%.1f MiB ru_maxrss (temp_store=MEMORY)   ratio %.3f;   with SQLite's "
                    "default temp_store (temporary b-trees spilled to plaintext files) %.1f MiB, "
                    "ratio %.3f\n",
            "task.ta_peak_rss", v, b, v / b, (double)spill / 1024.0,
            v / ((double)spill / 1024.0));
}

/* ---- task.upload ---------------------------------------------------------------------------- */

static double upload_wardd(const uint8_t *data, size_t len)
{
    task t = {0};
    task_create(&t, "blob", "other");
    task_check(&t, &N.a);
    double t0 = now();
    upload_bytes(&N.a, t.id, "blob", data, len, 1);
    double el = now() - t0;
    char path[128];
    snprintf(path, sizeof path, "/v1/tasks/%s/cancel", t.id);
    json_decref(call(&N.a, "POST", path, NULL, 0, 200));
    json_decref(call(&N.b, "POST", path, NULL, 0, 200));
    task_free(&t);
    return el;
}

typedef struct tls_srv {
    SSL_CTX *ctx;
    int lfd;
    char path[PATH_MAX + 32];
} tls_srv;

static int read_full(SSL *s, void *p, size_t n)
{
    size_t got = 0;
    while (got < n) {
        size_t r = 0;
        if (SSL_read_ex(s, (uint8_t *)p + got, n - got, &r) != 1)
            return -1;
        got += r;
    }
    return 0;
}

/* One connection: [u64 length, bytes] per chunk, written and fdatasync'd, then one byte back;
 * length 0 ends. */
static void *tls_server(void *arg)
{
    tls_srv *sv = arg;
    int fd = accept(sv->lfd, NULL, NULL);
    SSL *s = SSL_new(sv->ctx);
    int out = open(sv->path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    uint8_t *b = malloc(CHUNK);
    uint64_t at = 0;
    if (fd < 0 || s == NULL || out < 0 || b == NULL || SSL_set_fd(s, fd) != 1 ||
        SSL_accept(s) != 1)
        die_msg("baseline server", "accept");
    for (;;) {
        uint64_t n = 0;
        if (read_full(s, &n, 8) != 0 || n > CHUNK)
            die_msg("baseline server", "read");
        if (n == 0)
            break;
        if (read_full(s, b, n) != 0)
            die_msg("baseline server", "read");
        /* written as wardd writes it: 1 MiB at a time, each batch's writeback started at once */
        for (size_t w = 0; w < n;) {
            size_t want = n - w < WRITE_BATCH ? n - w : WRITE_BATCH;
            for (size_t d = 0; d < want;) {
                ssize_t k = write(out, b + w + d, want - d);
                if (k <= 0)
                    die_msg("baseline server", "write");
                d += (size_t)k;
            }
            (void)sync_file_range(out, (off_t)(at + w), (off_t)want, SYNC_FILE_RANGE_WRITE);
            w += want;
        }
        at += n;
        if (fdatasync(out) != 0)
            die_msg("baseline server", "fdatasync");
        size_t wr;
        if (SSL_write_ex(s, "k", 1, &wr) != 1)
            die_msg("baseline server", "write");
    }
    free(b);
    close(out);
    unlink(sv->path);
    SSL_shutdown(s);
    SSL_free(s);
    close(fd);
    return NULL;
}

static SSL_CTX *server_ctx(void)
{
    ward_pkey *k = NULL;
    ward_cert *c = NULL;
    int64_t t = (int64_t)time(NULL);
    ward_cert_spec spec = {.common_name = "bench", .not_before = t - 60, .not_after = t + 3600,
                           .path_len = -1};
    char *cp = NULL, *kp = NULL;
    size_t cl = 0, kl = 0;
    if (ward_pkey_generate(WARD_KEY_EC_P256, &k) != WARD_OK ||
        ward_cert_create(&spec, k, NULL, k, &c) != WARD_OK ||
        ward_cert_to_pem(c, &cp, &cl) != WARD_OK || ward_pkey_private_pem(k, &kp, &kl) != WARD_OK)
        die("server key");
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    BIO *bc = BIO_new_mem_buf(cp, (int)cl), *bk = BIO_new_mem_buf(kp, (int)kl);
    X509 *x = PEM_read_bio_X509(bc, NULL, NULL, NULL);
    EVP_PKEY *pk = PEM_read_bio_PrivateKey(bk, NULL, NULL, NULL);
    if (ctx == NULL || x == NULL || pk == NULL ||
        SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1 ||
        SSL_CTX_use_certificate(ctx, x) != 1 || SSL_CTX_use_PrivateKey(ctx, pk) != 1)
        die_msg("baseline server", "TLS context");
    X509_free(x);
    EVP_PKEY_free(pk);
    BIO_free(bc);
    BIO_free(bk);
    ward_wipe(kp, kl);
    free(kp);
    free(cp);
    ward_cert_free(c);
    ward_pkey_free(k);
    return ctx;
}

static double upload_plain(const uint8_t *data, size_t len)
{
    tls_srv sv;
    sv.ctx = server_ctx();
    snprintf(sv.path, sizeof sv.path, "%s/node/plain-upload.bin", N.tmp);
    sv.lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    if (sv.lfd < 0 || bind(sv.lfd, (struct sockaddr *)&a, sizeof a) != 0 ||
        listen(sv.lfd, 1) != 0 || getsockname(sv.lfd, (struct sockaddr *)&a, &al) != 0)
        die_msg("baseline server", strerror(errno));
    pthread_t th;
    if (pthread_create(&th, NULL, tls_server, &sv) != 0)
        die_msg("thread", "create");
    SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_min_proto_version(cctx, TLS1_3_VERSION);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0)
        die_msg("baseline client", strerror(errno));
    SSL *s = SSL_new(cctx);
    SSL_set_fd(s, fd);
    if (SSL_connect(s) != 1)
        die_msg("baseline client", "handshake");
    double t0 = now();
    size_t w;
    for (size_t off = 0; off <= len;) {
        uint64_t n = len - off < CHUNK ? len - off : CHUNK;
        if (SSL_write_ex(s, &n, 8, &w) != 1 || (n > 0 && SSL_write_ex(s, data + off, n, &w) != 1))
            die_msg("baseline client", "write");
        if (n == 0)
            break;
        char ack;
        if (read_full(s, &ack, 1) != 0)
            die_msg("baseline client", "ack");
        off += n;
    }
    double el = now() - t0;
    pthread_join(th, NULL);
    SSL_free(s);
    close(fd);
    close(sv.lfd);
    SSL_CTX_free(cctx);
    SSL_CTX_free(sv.ctx);
    return el;
}

static void bench_upload(void)
{
    uint8_t *data = malloc(UPLOAD_BYTES);
    if (data == NULL || ward_random(data, UPLOAD_BYTES) != WARD_OK)
        die("random data");
    double best = 1e9, best_plain = 1e9, worst = 0, worst_plain = 0;
    for (int r = 0; r < REPS; r++) {
        double tp = upload_plain(data, UPLOAD_BYTES);
        double tw = upload_wardd(data, UPLOAD_BYTES);
        fprintf(stderr, "  upload %zu MiB: wardd %.0f MB/s, plain TLS %.0f MB/s\n",
                UPLOAD_BYTES >> 20, UPLOAD_BYTES / tw / 1e6, UPLOAD_BYTES / tp / 1e6);
        best = tw < best ? tw : best;
        worst = tw > worst ? tw : worst;
        best_plain = tp < best_plain ? tp : best_plain;
        worst_plain = tp > worst_plain ? tp : worst_plain;
    }
    free(data);
    double v = UPLOAD_BYTES / best / 1e6, b = UPLOAD_BYTES / best_plain / 1e6;
    printf("{\"bench\": \"task.upload\", \"value\": %.0f, \"unit\": \"MB/s\", \"baseline\": %.0f, "
           "\"ratio\": %.3f, \"target\": \">= 300 MB/s\"}\n",
           v, b, v / b);
    fflush(stdout);
    fprintf(stderr, "%-16s %.0f MB/s into wardd (%zu MiB, %zu MiB chunks, each fdatasync'd; "
                    "%.0f .. %.0f)   plain TLS 1.3 + write + fdatasync per chunk %.0f MB/s "
                    "(%.0f .. %.0f)   ratio %.3f (best of %d)\n",
            "task.upload", v, UPLOAD_BYTES >> 20, CHUNK >> 20, UPLOAD_BYTES / worst / 1e6, v, b,
            UPLOAD_BYTES / worst_plain / 1e6, b, v / b, REPS);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--list") == 0) {
        for (size_t i = 0; i < sizeof figures / sizeof figures[0]; i++)
            puts(figures[i]);
        return 0;
    }
    if (argc == 4 && (strcmp(argv[1], "--plain-rss") == 0 ||
                      strcmp(argv[1], "--plain-rss-default") == 0)) {
        g_temp_default = strcmp(argv[1], "--plain-rss-default") == 0;
        plain_sqlite(argv[2], argv[3]);
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        printf("%ld\n", ru.ru_maxrss);
        return 0;
    }
    const char *filter = argc > 1 && argv[1][0] != '\0' ? argv[1] : NULL;
    int do_e2e = wanted(filter, figures[0]), do_up = wanted(filter, figures[1]),
        do_rss = wanted(filter, figures[2]);
    if (!do_e2e && !do_up && !do_rss)
        return 0;
    signal(SIGPIPE, SIG_IGN);
    const char *rows = getenv("WARD_BENCH_TASK_ROWS");
    curl_global_init(CURL_GLOBAL_DEFAULT);
    node_start();
    enrol_parties();
    if (do_e2e || do_rss) {
        make_data(rows != NULL ? (size_t)strtoul(rows, NULL, 10) : 1000000u);
        if (do_rss)
            check_secretmem();
        bench_e2e(do_e2e, do_rss);
        if (do_rss)
            report_rss();
    }
    if (do_up)
        bench_upload();
    free_party(&N.a);
    free_party(&N.b);
    free_party(&N.analyst);
    node_stop();
    free(g_patients.p);
    free(g_treatments.p);
    ward_wipe(N.x_sk, sizeof N.x_sk);
    curl_global_cleanup();
    return 0;
}
