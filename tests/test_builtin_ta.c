/* The built-in TAs `sql` and `psi` (docs/builtins.md), started for real in the sandbox: images
 * from <build>/builtin/, signed at test time with a fresh developer key, on a root of trust in a
 * temporary directory. Inputs are encrypted to the task key the TA made; results are decrypted,
 * their signature verified with the key the report binds. No timing assertions. */
#include "testutil.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "psi_host.h"
#include "sql_host.h"
#include "ward/crypto.h"
#include "ward/hpke.h"
#include "ward/manifest.h"
#include "ward/report.h"
#include "ward/rot.h"
#include "ward/stream.h"
#include "ward/tee.h"

static const char *const call_names[] = {"init", "add_input", "run", "last_error", "destroy"};

static struct {
    char *dir;
    ward_rot *rot;
    ward_pkey *dev;
    ward_tee *tee;
    ward_tee_image *sql, *psi;
} F;

static ward_tee_image *reg_image(const char *name)
{
    const char *bd = getenv("WARD_BUILD_DIR");
    char path[4096];
    if (bd == NULL) {
        char exe[4000];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        assert_true(n > 0);
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        assert_non_null(slash);
        *slash = '\0';
        snprintf(path, sizeof path, "%s/../builtin/%s", exe, name);
    } else {
        snprintf(path, sizeof path, "%s/builtin/%s", bd, name);
    }
    if (access(path, R_OK) != 0)
        fail_msg("the built-in TA %s is missing: src/app/builtin must be part of the build",
                 path);
    size_t len = 0;
    uint8_t *image = tu_read_file(path, &len);
    ward_ta_params p = {name, 1, 1, 0, 256u << 20, 4, call_names, 5};
    char *json = NULL;
    size_t jlen = 0;
    assert_int_equal(ward_manifest_sign(image, len, &p, F.dev, &json, &jlen), WARD_OK);
    ward_tee_image *img = NULL;
    if (ward_tee_image_register(F.tee, image, len, json, jlen, &img) != WARD_OK)
        fail_msg("register %s: %s", name, ward_errmsg());
    free(json);
    free(image);
    return img;
}

static int group_setup(void **state)
{
    (void)state;
    F.dir = tu_mkdtemp();
    char rotdir[4200];
    snprintf(rotdir, sizeof rotdir, "%s/rot", F.dir);
    assert_int_equal(ward_rot_open(rotdir, 1, &F.rot), WARD_OK);
    assert_int_equal(ward_pkey_generate(WARD_KEY_EC_P256, &F.dev), WARD_OK);
    ward_tee_config cfg = {WARD_TEE_SANDBOX, F.rot, 0, 0};
    if (ward_tee_open(&cfg, &F.tee) != WARD_OK)
        fail_msg("tee open: %s", ward_errmsg());
    F.sql = reg_image("sql");
    F.psi = reg_image("psi");
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    ward_tee_close(F.tee);
    ward_rot_close(F.rot);
    ward_pkey_free(F.dev);
    tu_rmtree(F.dir);
    free(F.dir);
    return 0;
}

/* ---- a task ------------------------------------------------------------------------------------ */

typedef struct task {
    bool psi;
    ward_tee_instance *inst;
    uint8_t digest[32];
    uint8_t task_pk[32];
    ward_pkey *sign_pk;
} task;

static char *last_error(task *t)
{
    char *m = NULL;
    ward_err e = t->psi ? psi_last_error(t->inst, &m) : sql_last_error(t->inst, &m);
    assert_int_equal(e, WARD_OK);
    return m;
}

static void start(task *t, bool psi, uint64_t max_input)
{
    memset(t, 0, sizeof *t);
    t->psi = psi;
    assert_int_equal(ward_hash(WARD_HASH_SHA256, "manifest", 8, t->digest), WARD_OK);
    if (ward_tee_create(F.tee, psi ? F.psi : F.sql, NULL, NULL, NULL, &t->inst) != WARD_OK)
        fail_msg("create: %s", ward_errmsg());
    uint8_t *pk = NULL, *spk = NULL, *rep = NULL, *sig = NULL;
    size_t pkl = 0, spkl = 0, repl = 0, sigl = 0;
    ward_err e = psi ? psi_init(t->inst, t->digest, 32, max_input, &pk, &pkl, &spk, &spkl, &rep,
                                &repl, &sig, &sigl)
                     : sql_init(t->inst, t->digest, 32, max_input, &pk, &pkl, &spk, &spkl, &rep,
                                &repl, &sig, &sigl);
    if (e != WARD_OK)
        fail_msg("init: %s", ward_errmsg());
    assert_int_equal(pkl, 32);
    assert_int_equal(repl, WARD_REPORT_LEN);
    assert_int_equal(sigl, WARD_REPORT_SIG_LEN);
    memcpy(t->task_pk, pk, 32);
    /* the report is the platform's, and binds the manifest and both task keys */
    ward_report r;
    assert_int_equal(ward_tee_report_verify(F.tee, rep, repl, sig, &r), WARD_OK);
    assert_int_equal(ward_pkey_from_spki_der(spk, spkl, &t->sign_pk), WARD_OK);
    assert_int_equal(ward_pkey_type(t->sign_pk), WARD_KEY_EC_P256);
    uint8_t bind[96], expect[64] = {0};
    memcpy(bind, t->digest, 32);
    memcpy(bind + 32, pk, 32);
    assert_int_equal(ward_hash(WARD_HASH_SHA256, spk, spkl, bind + 64), WARD_OK);
    assert_int_equal(ward_hash(WARD_HASH_SHA256, bind, sizeof bind, expect), WARD_OK);
    assert_memory_equal(r.report_data, expect, 64);
    /* a second init is refused */
    uint8_t *x1 = NULL, *x2 = NULL, *x3 = NULL, *x4 = NULL;
    size_t l1, l2, l3, l4;
    e = psi ? psi_init(t->inst, t->digest, 32, 0, &x1, &l1, &x2, &l2, &x3, &l3, &x4, &l4)
            : sql_init(t->inst, t->digest, 32, 0, &x1, &l1, &x2, &l2, &x3, &l3, &x4, &l4);
    assert_int_equal(e, WARD_ERR_STATE);
    free(pk);
    free(spk);
    free(rep);
    free(sig);
}

static void finish(task *t)
{
    assert_true(ward_tee_instance_alive(t->inst));
    assert_int_equal(t->psi ? psi_destroy(t->inst) : sql_destroy(t->inst), WARD_OK);
    ward_tee_destroy(t->inst);
    ward_pkey_free(t->sign_pk);
}

static uint8_t *encrypt(const uint8_t pk[32], const char *aad, const void *csv, size_t len,
                        size_t *out_len)
{
    uint8_t *ct = NULL;
    assert_int_equal(ward_stream_seal(pk, WARD_STREAM_MIN_CHUNK, (const uint8_t *)aad,
                                      strlen(aad), csv, len, &ct, out_len),
                     WARD_OK);
    return ct;
}

/* Sends ciphertext in pieces of 700 bytes; returns the first error. */
static ward_err send_ct(task *t, const char *table, const char *aad, const uint8_t *ct,
                        size_t len)
{
    size_t off = 0;
    do {
        size_t n = len - off < 700 ? len - off : 700;
        bool last = off + n == len;
        ward_err e = t->psi ? psi_add_input(t->inst, table, (const uint8_t *)aad, strlen(aad),
                                            ct + off, n, last)
                            : sql_add_input(t->inst, table, (const uint8_t *)aad, strlen(aad),
                                            ct + off, n, last);
        if (e != WARD_OK)
            return e;
        off += n;
    } while (off < len);
    return WARD_OK;
}

static ward_err add(task *t, const char *table, const char *aad, const void *csv, size_t len)
{
    size_t ctl = 0;
    uint8_t *ct = encrypt(t->task_pk, aad, csv, len, &ctl);
    ward_err e = send_ct(t, table, aad, ct, ctl);
    free(ct);
    return e;
}

static void add_ok(task *t, const char *table, const char *csv)
{
    char aad[128];
    snprintf(aad, sizeof aad, "task-1/slot-%s", table);
    ward_err e = add(t, table, aad, csv, strlen(csv));
    if (e != WARD_OK) {
        char *m = last_error(t);
        fail_msg("add_input %s: %s (%s)", table, ward_err_name(e), m);
    }
}

static void expect_refused(task *t, ward_err e, ward_err code, const char *word)
{
    char *m = last_error(t);
    print_message("    refused (%s): %s\n", ward_err_name(e), m);
    if (e != code)
        fail_msg("expected %s, got %s: %s", ward_err_name(code), ward_err_name(e), m);
    if (strstr(m, word) == NULL)
        fail_msg("the message lacks '%s': %s", word, m);
    free(m);
    assert_true(ward_tee_instance_alive(t->inst));
}

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Decrypts and verifies a result; returns the CSV (NUL-terminated, malloc'd). */
static char *open_result(task *t, const uint8_t sk[32], const char *function, const char *params,
                         const uint8_t *enc, size_t enc_len, const uint8_t *st, size_t st_len,
                         const uint8_t *sig, size_t sig_len)
{
    assert_int_equal(ward_verify(t->sign_pk, WARD_HASH_SHA256, WARD_SIG_RAW, st, st_len, sig,
                                 sig_len),
                     WARD_OK);
    uint8_t *pt = NULL;
    size_t ptl = 0;
    assert_int_equal(ward_stream_open(sk, t->digest, 32, enc, enc_len, &pt, &ptl), WARD_OK);
    /* the statement: magic, function, manifest, params, inputs, result hash and length */
    size_t fl = strlen(function);
    assert_int_equal(st_len, 14 + 1 + fl + 4 * 32 + 8);
    assert_memory_equal(st, "WARD-RESULT-1", 14);
    assert_int_equal(st[14], fl);
    assert_memory_equal(st + 15, function, fl);
    const uint8_t *p = st + 15 + fl;
    assert_memory_equal(p, t->digest, 32);
    uint8_t h[32];
    assert_int_equal(ward_hash(WARD_HASH_SHA256, params, strlen(params), h), WARD_OK);
    assert_memory_equal(p + 32, h, 32);
    assert_int_equal(ward_hash(WARD_HASH_SHA256, ptl ? pt : (const uint8_t *)"", ptl, h),
                     WARD_OK);
    assert_memory_equal(p + 96, h, 32);
    uint8_t lb[8];
    put_u64(lb, ptl);
    assert_memory_equal(p + 128, lb, 8);
    /* a flipped statement bit fails verification */
    uint8_t *bad = malloc(st_len);
    memcpy(bad, st, st_len);
    bad[st_len - 9] ^= 1;
    assert_int_equal(ward_verify(t->sign_pk, WARD_HASH_SHA256, WARD_SIG_RAW, bad, st_len, sig,
                                 sig_len),
                     WARD_ERR_VERIFY);
    free(bad);
    char *csv = malloc(ptl + 1);
    memcpy(csv, pt, ptl);
    csv[ptl] = '\0';
    free(pt);
    return csv;
}

static ward_err run_sql(task *t, const char *query, char **csv)
{
    uint8_t sk[32], pk[32];
    assert_int_equal(ward_hpke_generate_keypair(sk, pk), WARD_OK);
    uint8_t *enc = NULL, *st = NULL, *sig = NULL;
    size_t el = 0, sl = 0, gl = 0;
    ward_err e = sql_run(t->inst, query, pk, 32, &enc, &el, &st, &sl, &sig, &gl);
    if (e == WARD_OK && csv != NULL)
        *csv = open_result(t, sk, "sql", query, enc, el, st, sl, sig, gl);
    free(enc);
    free(st);
    free(sig);
    return e;
}

/* ---- tests ----------------------------------------------------------------------------------- */

static char *make_sales(size_t rows)
{
    size_t cap = 64 + rows * 40;
    char *s = malloc(cap);
    size_t len = (size_t)snprintf(s, cap, "sale_id,region_id,amount,note\r\n");
    for (size_t i = 0; i < rows; i++)
        len += (size_t)snprintf(s + len, cap - len, "%zu,%zu,%zu,\"n, \"\"%zu\"\"\"\r\n", i,
                                i % 3 + 1, i % 7 + 1, i);
    return s;
}

static void test_sql_join_group_by(void **state)
{
    (void)state;
    task t;
    start(&t, false, 0);
    char *sales = make_sales(300); /* several 1 KiB chunks */
    add_ok(&t, "sales", sales);
    add_ok(&t, "regions", "id,name,code\n1,North,007\n2,South,010\n3,\"East, far\",\n");
    /* expected sums: amount = i%7+1 for region i%3+1 */
    long sum[4] = {0}, cnt[4] = {0};
    for (size_t i = 0; i < 300; i++) {
        sum[i % 3 + 1] += (long)(i % 7 + 1);
        cnt[i % 3 + 1]++;
    }
    char expect[512];
    snprintf(expect, sizeof expect,
             "name,total,n,code\r\n\"East, far\",%ld,%ld,\r\nNorth,%ld,%ld,007\r\n"
             "South,%ld,%ld,010\r\n",
             sum[3], cnt[3], sum[1], cnt[1], sum[2], cnt[2]);
    char *csv = NULL;
    /* amount is typed INTEGER (SUM is an integer), code stays TEXT (leading zeros kept), an
     * empty TEXT value is '' (quoted), NULLs come out empty */
    const char *q = "SELECT r.name, SUM(s.amount) AS total, COUNT(*) AS n, NULLIF(r.code,'') "
                    "AS code FROM sales s JOIN regions r ON r.id = s.region_id "
                    "WHERE s.amount > 0 GROUP BY r.name ORDER BY r.name;";
    ward_err e = run_sql(&t, q, &csv);
    if (e != WARD_OK) {
        char *m = last_error(&t);
        fail_msg("run: %s", m);
    }
    assert_string_equal(csv, expect);
    /* one result per task: the plaintext is gone */
    assert_int_equal(run_sql(&t, q, NULL), WARD_ERR_STATE);
    assert_int_equal(add(&t, "more", "x", "a\n1\n", 4), WARD_ERR_STATE);
    free(csv);
    free(sales);
    finish(&t);
}

/* What SQLite does inside the sandbox's seccomp filter: randomness, the clock, big sorts and
 * temporary b-trees in memory, json, recursive CTEs. Being killed would show as WARD_ERR_DEAD. */
static void test_sql_sandbox_syscalls(void **state)
{
    (void)state;
    task t;
    start(&t, false, 0);
    char *sales = make_sales(20000);
    add_ok(&t, "sales", sales);
    const char *q =
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 50000), "
        "s AS (SELECT DISTINCT note FROM sales ORDER BY note DESC) "
        "SELECT (SELECT count(*) FROM s) AS a, typeof(random()) AS b, length(date('now')) AS c,"
        " length(randomblob(8)) AS d, (SELECT count(*) FROM (SELECT x FROM c ORDER BY "
        "random())) AS e, json_array(1, 'x') AS f, hex(x'00ff') AS g, x'0aff' AS h";
    char *csv = NULL;
    ward_err e = run_sql(&t, q, &csv);
    if (e != WARD_OK)
        fail_msg("run: %s: %s", ward_err_name(e),
                 e == WARD_ERR_DEAD ? ward_errmsg() : last_error(&t));
    assert_string_equal(csv, "a,b,c,d,e,f,g,h\r\n20000,integer,10,8,50000,\"[1,\"\"x\"\"]\","
                             "00FF,0aff\r\n");
    free(csv);
    free(sales);
    finish(&t);
}

static void test_sql_bad_queries(void **state)
{
    (void)state;
    task t;
    start(&t, false, 0);
    add_ok(&t, "t", "a,b\n1,x\n2,y\n");
    static const struct {
        const char *q;
        ward_err code;
        const char *word;
    } bad[] = {
        {"INSERT INTO t VALUES(3,'z')", WARD_ERR_PERMISSION, "SELECT or WITH"},
        {"UPDATE t SET a = 0", WARD_ERR_PERMISSION, "SELECT or WITH"},
        {"DELETE FROM t", WARD_ERR_PERMISSION, "SELECT or WITH"},
        {"CREATE TABLE u(x)", WARD_ERR_PERMISSION, "SELECT or WITH"},
        {"DROP TABLE t", WARD_ERR_PERMISSION, "SELECT or WITH"},
        {"ATTACH DATABASE '/tmp/x.db' AS x", WARD_ERR_PERMISSION, "SELECT or WITH"},
        {"DETACH x", WARD_ERR_PERMISSION, "SELECT or WITH"},
        {"PRAGMA writable_schema = ON", WARD_ERR_PERMISSION, "SELECT or WITH"},
        {"VACUUM INTO '/tmp/x.db'", WARD_ERR_PERMISSION, "SELECT or WITH"},
        {"WITH x AS (SELECT 1) INSERT INTO t SELECT 1, 'z' FROM x", WARD_ERR_PERMISSION,
         "not authorized"},
        {"WITH x AS (SELECT 1) DELETE FROM t", WARD_ERR_PERMISSION, "not authorized"},
        {"SELECT load_extension('/tmp/evil.so')", WARD_ERR_PERMISSION, "not authorized"},
        {"SELECT * FROM pragma_writable_schema", WARD_ERR_PERMISSION, "not authorized"},
        {"SELECT * FROM pragma_table_info('t')", WARD_ERR_PERMISSION, "not authorized"},
        {"SELECT * FROM pragma_function_list", WARD_ERR_PERMISSION, "not authorized"},
        {"SELECT 1; DROP TABLE t", WARD_ERR_PERMISSION, "only one statement"},
        {"SELECT 1; SELECT 2", WARD_ERR_PERMISSION, "only one statement"},
        {"EXPLAIN SELECT 1", WARD_ERR_PERMISSION, "SELECT or WITH"},
        {"SELECT * FROM nosuch", WARD_ERR_FORMAT, "no such table"},
        {"SELECT * FROM ward_stage", WARD_ERR_FORMAT, "no such table"},
        {"SELECT fts3_tokenizer('simple')", WARD_ERR_PERMISSION, "not authorized"},
        {"", WARD_ERR_INVALID_ARG, "empty"},
        {"SELECT", WARD_ERR_FORMAT, "refused"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        print_message("  %s\n", bad[i].q);
        expect_refused(&t, run_sql(&t, bad[i].q, NULL), bad[i].code, bad[i].word);
    }
    /* the table is untouched and the task still runs its query */
    char *csv = NULL;
    assert_int_equal(run_sql(&t, "SELECT a, b, typeof(a) AS ta FROM t ORDER BY a", &csv),
                     WARD_OK);
    assert_string_equal(csv, "a,b,ta\r\n1,x,integer\r\n2,y,integer\r\n");
    free(csv);
    finish(&t);
}

static void test_sql_bad_inputs(void **state)
{
    (void)state;
    task t;
    start(&t, false, 4096);
    ward_err e = add(&t, "r", "task-1/slot-r", "a,b\n1,2\n3\n", 10);
    expect_refused(&t, e, WARD_ERR_FORMAT, "line 3");
    e = add(&t, "u", "task-1/slot-u", "a,b\n1,\xC3\x28\n", 10);
    expect_refused(&t, e, WARD_ERR_FORMAT, "byte offset 6");
    e = add(&t, "z", "task-1/slot-z", "", 0);
    expect_refused(&t, e, WARD_ERR_FORMAT, "empty input");
    char big[5000];
    memset(big, 'x', sizeof big);
    memcpy(big, "h\n", 2);
    e = add(&t, "big", "task-1/slot-big", big, sizeof big);
    expect_refused(&t, e, WARD_ERR_LIMIT, "exceeds 4096");
    /* a tampered chunk */
    const char *csv = "a,b\n1,2\n";
    size_t ctl = 0;
    uint8_t *ct = encrypt(t.task_pk, "task-1/slot-x", csv, strlen(csv), &ctl);
    ct[ctl - 5] ^= 0x01;
    e = send_ct(&t, "x", "task-1/slot-x", ct, ctl);
    expect_refused(&t, e, WARD_ERR_AUTH, "input x refused");
    free(ct);
    /* a ciphertext made for another slot (its header carries the other associated data) */
    ct = encrypt(t.task_pk, "task-1/slot-other", csv, strlen(csv), &ctl);
    e = send_ct(&t, "x", "task-1/slot-x", ct, ctl);
    assert_int_not_equal(e, WARD_OK);
    expect_refused(&t, e, e, "input x refused");
    free(ct);
    /* a ciphertext for another task key */
    uint8_t sk2[32], pk2[32];
    assert_int_equal(ward_hpke_generate_keypair(sk2, pk2), WARD_OK);
    ct = encrypt(pk2, "task-1/slot-x", csv, strlen(csv), &ctl);
    e = send_ct(&t, "x", "task-1/slot-x", ct, ctl);
    assert_int_not_equal(e, WARD_OK);
    expect_refused(&t, e, e, "input x refused");
    free(ct);
    /* a truncated stream (last chunk missing) */
    ct = encrypt(t.task_pk, "task-1/slot-x", csv, strlen(csv), &ctl);
    e = send_ct(&t, "x", "task-1/slot-x", ct, ctl - 20);
    assert_int_not_equal(e, WARD_OK);
    expect_refused(&t, e, e, "input x refused");
    free(ct);
    /* bad table names, duplicate header names */
    e = add(&t, "sqlite_master", "a", csv, strlen(csv));
    expect_refused(&t, e, WARD_ERR_INVALID_ARG, "table name");
    e = add(&t, "a b", "a", csv, strlen(csv));
    expect_refused(&t, e, WARD_ERR_INVALID_ARG, "table name");
    e = add(&t, "d", "a", "x,X\n1,2\n", 8);
    expect_refused(&t, e, WARD_ERR_FORMAT, "same name");
    /* no input yet: run refused */
    expect_refused(&t, run_sql(&t, "SELECT 1", NULL), WARD_ERR_STATE, "no input");
    /* nothing was kept of the refused inputs; a good one still loads, once */
    add_ok(&t, "x", csv);
    e = add(&t, "x", "task-1/slot-x", csv, strlen(csv));
    expect_refused(&t, e, WARD_ERR_EXISTS, "already loaded");
    char *out = NULL;
    assert_int_equal(run_sql(&t, "SELECT name FROM sqlite_schema ORDER BY name", &out),
                     WARD_OK);
    assert_string_equal(out, "name\r\nx\r\n");
    free(out);
    finish(&t);
}

static void test_psi_three_inputs(void **state)
{
    (void)state;
    task t;
    start(&t, true, 0);
    add_ok(&t, "a", "email,name,age\nann@x,Ann,30\nbob@x,Bob,41\ncid@x,Cid,22\n,Nobody,1\n"
                    "dan@x,Dan,50\n");
    add_ok(&t, "b", "id,email\n1,dan@x\n2,ann@x\n3,eve@x\n4,\n5,bob@x\n");
    add_ok(&t, "c", "email\nbob@x\nann@x\nzed@x\n\nANN@x\n");
    uint8_t sk[32], pk[32];
    assert_int_equal(ward_hpke_generate_keypair(sk, pk), WARD_OK);
    uint8_t *enc = NULL, *st = NULL, *sig = NULL;
    size_t el = 0, sl = 0, gl = 0;
    /* bad parameters first: unknown column, quote games */
    ward_err e = psi_run(t.inst, "email", "name,nosuch", pk, 32, &enc, &el, &st, &sl, &sig, &gl);
    expect_refused(&t, e, WARD_ERR_FORMAT, "no such column");
    e = psi_run(t.inst, "email", "name\" FROM a; DROP TABLE a; --", pk, 32, &enc, &el, &st, &sl,
                &sig, &gl);
    expect_refused(&t, e, WARD_ERR_FORMAT, "no such column");
    e = psi_run(t.inst, "email", "", pk, 32, &enc, &el, &st, &sl, &sig, &gl);
    expect_refused(&t, e, WARD_ERR_INVALID_ARG, "required");
    e = psi_run(t.inst, "email", "name,age", pk, 32, &enc, &el, &st, &sl, &sig, &gl);
    if (e != WARD_OK)
        fail_msg("psi run: %s", last_error(&t));
    char *csv = open_result(&t, sk, "psi", "email\nname,age", enc, el, st, sl, sig, gl);
    assert_string_equal(csv, "name,age\r\nAnn,30\r\nBob,41\r\n");
    free(csv);
    free(enc);
    free(st);
    free(sig);
    finish(&t);

    /* one input is not enough */
    start(&t, true, 0);
    add_ok(&t, "a", "k\n1\n");
    e = psi_run(t.inst, "k", "k", pk, 32, &enc, &el, &st, &sl, &sig, &gl);
    expect_refused(&t, e, WARD_ERR_STATE, "two inputs");
    finish(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sql_join_group_by),
        cmocka_unit_test(test_sql_sandbox_syscalls),
        cmocka_unit_test(test_sql_bad_queries),
        cmocka_unit_test(test_sql_bad_inputs),
        cmocka_unit_test(test_psi_three_inputs),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
