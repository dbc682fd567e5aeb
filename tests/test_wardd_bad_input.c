/* End to end through the real wardd (issue 6, "Bad input"): each bad input is refused with a
 * clear error, the node keeps serving, and nothing already stored is lost. One daemon for the
 * whole run; a GOOD sql task is created first, one of its inputs uploaded in full, and after
 * every refusal /healthz answers and that task still shows its stored input; at the end it
 * completes with the right result. The TA-level refusals themselves are test_builtin_ta.c's;
 * here they are seen as HTTP statuses and as a task's `failed` state and reason. Last, a psi task
 * through all the steps (no other test runs psi through the daemon). Each task that fails in the
 * TA gets its own task: a failed task is final and its TA instance destroyed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "testutil.h"
#include "wardd_harness.h"
#include "wardd_tasks_util.h"
#include "ward/crypto.h"
#include "ward/encoding.h"
#include "ward/stream.h"
#include "ward/task.h"
#include "ward/x509.h"

typedef tu_party ident;

/* A task as this test knows it: the manifest with every signature and the TA's task key. */
typedef struct task {
    char id[WARD_TASK_ID_HEX_LEN + 1];
    ward_task_manifest *m;
    uint8_t pk[32];
} task;

static tu_wardd W;
static ident g_a, g_b, g_analyst, g_outsider;
static uint8_t g_sk[32], g_pk[32]; /* the analyst's X25519 result key */
static int64_t g_expires;

/* The good task, alive throughout. */
static task g_good;
static uint8_t *g_good_a_ct, *g_good_b_ct;
static size_t g_good_a_len, g_good_b_len;
static json_int_t g_good_a_chunks;

static const char GOOD_QUERY[] =
    "SELECT p.region AS region, SUM(s.amount) AS total, COUNT(*) AS n FROM a AS p JOIN b AS s "
    "ON p.id = s.id GROUP BY p.region ORDER BY p.region";
static const char CSV_A[] = "id,region\n1,north\n2,south\n3,north\n5,east\n";
static const char CSV_B[] = "id,amount\n1,10\n2,20\n3,5\n4,7\n";
static const char GOOD_EXPECTED[] = "region,total,n\r\nnorth,15,2\r\nsouth,20,1\r\n";

/* ---- daemon and HTTP -------------------------------------------------------------------------- */

static int start_daemon(void **state)
{
    (void)state;
    return tu_wardd_start(&W);
}

static tu_resp http_as(const ident *who, const char *method, const char *path, const char *body,
                       size_t len)
{
    return tu_party_request(&W, who, method, path, body, len);
}

/* A 403 of the task's manifest rights, not of RBAC: every caller here holds the permission. */
static void expect_manifest_forbidden(tu_resp *r)
{
    if (r->status != 403)
        fprintf(stderr, "expected 403, got %ld: %s\n", r->status, r->body);
    assert_int_equal(r->status, 403);
    json_t *j = tu_resp_json(r);
    const char *msg = json_string_value(json_object_get(j, "message"));
    assert_non_null(msg);
    if (strstr(msg, "not granted") != NULL)
        fail_msg("refused by RBAC, not by the manifest: %s", msg);
    json_decref(j);
    tu_expect_error(r, 403, "forbidden");
}

static json_t *slot_of(json_t *task_json, const char *name)
{
    json_t *slots = json_object_get(task_json, "slots");
    for (size_t i = 0; i < json_array_size(slots); i++) {
        json_t *s = json_array_get(slots, i);
        if (strcmp(json_string_value(json_object_get(s, "name")), name) == 0)
            return s;
    }
    fail_msg("no slot %s", name);
    return NULL;
}

/* After every refusal: the node answers, and the good task is as it was (collecting, slot a
 * complete with its bytes, slot b untouched). */
static void check_alive(void)
{
    tu_healthz(&W);
    json_t *j = tu_task_get(&W, &g_a, g_good.id);
    assert_string_equal(json_string_value(json_object_get(j, "state")), "collecting");
    assert_true(json_is_true(json_object_get(json_object_get(j, "ta"), "alive")));
    json_t *a = slot_of(j, "a"), *b = slot_of(j, "b");
    assert_int_equal(json_integer_value(json_object_get(a, "bytes")), g_good_a_len);
    assert_int_equal(json_integer_value(json_object_get(a, "chunks")), g_good_a_chunks);
    assert_true(json_is_true(json_object_get(a, "complete")));
    assert_true(json_is_false(json_object_get(a, "deleted")));
    assert_int_equal(json_integer_value(json_object_get(b, "bytes")), 0);
    assert_true(json_is_false(json_object_get(b, "complete")));
    json_decref(j);
}

/* ---- identities and manifests ----------------------------------------------------------------- */

/* The manifest as JSON: creator a, recipient the analyst (its X25519 key g_pk). params stolen. */
static json_t *manifest_json(const char *id, const char *fn, json_t *params,
                             const tu_slot *slots, size_t n)
{
    const tu_manifest_spec spec = {.id = id, .creator = g_a.key, .fn = fn, .params = params,
                                   .slots = slots, .n_slots = n, .recipient = g_analyst.key,
                                   .x25519 = g_pk, .expires_at = g_expires};
    return tu_manifest_json(&spec);
}

/* Signs with each of the given identities that is a participant. */
static void sign_as(ward_task_manifest *m, const ident *const *who, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        ward_err e = ward_task_sign(m, who[i]->key);
        if (e != WARD_OK && e != WARD_ERR_PERMISSION)
            fail_msg("sign: %s", ward_errmsg());
    }
}

static void sign_all(ward_task_manifest *m)
{
    const ident *all[] = {&g_a, &g_b, &g_analyst};
    sign_as(m, all, 3);
}

/* Builds, signs by everyone, posts as a; the task is approved and has a task key. */
static void make_task(task *t, const char *fn, json_t *params, const tu_slot *slots, size_t n)
{
    tu_task_new_id(t->id);
    json_t *j = manifest_json(t->id, fn, params, slots, n);
    t->m = tu_manifest_parse(j);
    json_decref(j);
    sign_all(t->m);
    char *env = tu_envelope(t->m);
    tu_task_post_approved(&W, &g_a, env, t->pk);
    free(env);
}

/* A sql task with one slot "a" (owner a). */
static void make_sql1(task *t, const char *query, json_int_t max_bytes)
{
    tu_slot s[] = {{"a", g_a.key, max_bytes}};
    make_task(t, "sql", json_pack("{s:s}", "query", query), s, 1);
}

static void free_task(task *t)
{
    ward_task_manifest_free(t->m);
    t->m = NULL;
}

/* csv encrypted to pk with the associated data of (id, slot). */
static uint8_t *seal_for(const uint8_t pk[32], const char *id, const char *slot, const char *csv,
                         size_t csv_len, size_t *ct_len)
{
    return tu_input_seal(pk, id, slot, WARD_STREAM_MIN_CHUNK, csv, csv_len, ct_len);
}

/* One PUT with the whole ciphertext, final: accepted and complete. */
static void upload_all(const ident *who, const char *id, const char *slot, const uint8_t *ct,
                       size_t len)
{
    tu_input_upload(&W, who, id, slot, ct, len, 0);
}

static void upload_csv(const ident *who, const task *t, const char *slot, const char *csv)
{
    size_t n = 0;
    uint8_t *ct = seal_for(t->pk, t->id, slot, csv, strlen(csv), &n);
    upload_all(who, t->id, slot, ct, n);
    free(ct);
}

/* Runs the task: it must fail, its reason naming every needle; no result, its TA gone. */
static void run_expect_failed(const task *t, const char *const *needles, size_t n)
{
    json_t *j = tu_task_run(&W, &g_a, t->id); /* the creator: a party to every task here */
    const char *state = json_string_value(json_object_get(j, "state"));
    const char *reason = json_string_value(json_object_get(j, "reason"));
    if (state == NULL || strcmp(state, "failed") != 0 || reason == NULL)
        fail_msg("expected failed, got %s (%s)", state, reason);
    for (size_t i = 0; i < n; i++)
        if (strstr(reason, needles[i]) == NULL)
            fail_msg("reason \"%s\" does not name \"%s\"", reason, needles[i]);
    assert_true(json_is_false(json_object_get(json_object_get(j, "ta"), "alive")));
    json_decref(j);
    /* the same reason when read back */
    j = tu_task_get(&W, &g_analyst, t->id);
    assert_string_equal(json_string_value(json_object_get(j, "state")), "failed");
    assert_non_null(strstr(json_string_value(json_object_get(j, "reason")), needles[0]));
    json_decref(j);
    char path[128];
    snprintf(path, sizeof path, "/v1/tasks/%s/result", t->id);
    tu_resp r = http_as(&g_analyst, "GET", path, NULL, 0);
    tu_expect_error(&r, 404, "not_found");
    /* a failed task is final: no further upload or run */
    snprintf(path, sizeof path, "/v1/tasks/%s/run", t->id);
    r = http_as(&g_a, "POST", path, NULL, 0);
    tu_expect_error(&r, 409, "state");
}

/* The recipient fetches the result, checks the statement's signature with the task's signing
 * key (the one the task showed before any input), decrypts it, and checks fn, params (the query,
 * or psi's "key LF columns") and the CSV's hash in the statement. The CSV, NUL-terminated. */
static char *fetch_result(const task *t, const char *fn, const char *params, size_t *len)
{
    json_t *tj = tu_task_get(&W, &g_analyst, t->id);
    size_t tspl = 0;
    uint8_t *tspk = tu_b64u_member(json_object_get(tj, "ta"), "sign_pk", &tspl);
    json_decref(tj);
    tu_result res;
    tu_result_fetch(&W, &g_analyst, t->id, &res);
    uint8_t digest[32];
    ward_task_manifest_digest(t->m, digest);
    char *csv = tu_result_open(&res, tspk, tspl, digest, fn, params, g_sk, len);
    tu_result_free(&res);
    free(tspk);
    return csv;
}

static void check_result(const task *t, const char *fn, const char *params,
                         const char *expected)
{
    size_t n = 0;
    char *csv = fetch_result(t, fn, params, &n);
    if (n != strlen(expected) || memcmp(csv, expected, n) != 0)
        fail_msg("result: %s", csv);
    free(csv);
}

/* ---- setup: identities and the good task ------------------------------------------------------ */

static void test_setup(void **state)
{
    (void)state;
    tu_party_make(&W, &g_a, "provider-a", NULL);
    tu_party_make(&W, &g_b, "provider-b", NULL);
    tu_party_make(&W, &g_analyst, "analyst", NULL);
    tu_party_make(&W, &g_outsider, "outsider", NULL);
    /* Every caller holds the permissions of the endpoints it calls, so each 403 below is the
     * manifest's refusal: a may also read results, the outsider may do everything a party may
     * (upload, cancel, read results) but is a party to no task. */
    tu_wardd_enroll(&W, "provider-a", g_a.cert_path, "data-provider");
    tu_wardd_enroll(&W, "provider-a", g_a.cert_path, "result-consumer");
    tu_wardd_enroll(&W, "provider-b", g_b.cert_path, "data-provider");
    tu_wardd_enroll(&W, "analyst", g_analyst.cert_path, "result-consumer");
    tu_wardd_enroll(&W, "outsider", g_outsider.cert_path, "data-provider");
    tu_wardd_enroll(&W, "outsider", g_outsider.cert_path, "result-consumer");
    assert_int_equal(ward_x25519_generate(g_sk, g_pk), WARD_OK);
    g_expires = (int64_t)time(NULL) + 3600;

    /* the good task: slot a uploaded in two chunks now, slot b at the very end */
    tu_slot s[] = {{"a", g_a.key, 1 << 20}, {"b", g_b.key, 1 << 20}};
    make_task(&g_good, "sql", json_pack("{s:s}", "query", GOOD_QUERY), s, 2);
    g_good_a_ct = seal_for(g_good.pk, g_good.id, "a", CSV_A, strlen(CSV_A), &g_good_a_len);
    g_good_b_ct = seal_for(g_good.pk, g_good.id, "b", CSV_B, strlen(CSV_B), &g_good_b_len);
    size_t half = g_good_a_len / 2;
    tu_resp r = tu_input_put(&W, &g_a, g_good.id, "a", 0, 0, g_good_a_ct, half);
    assert_int_equal(r.status, 200);
    free(r.body);
    r = tu_input_put(&W, &g_a, g_good.id, "a", half, 1, g_good_a_ct + half, g_good_a_len - half);
    assert_int_equal(r.status, 200);
    json_t *j = tu_resp_json(&r);
    free(r.body);
    assert_true(json_is_true(json_object_get(j, "complete")));
    g_good_a_chunks = json_integer_value(json_object_get(j, "chunks"));
    assert_int_equal(g_good_a_chunks, 2);
    json_decref(j);
    check_alive();
}

/* ---- the bad inputs ----------------------------------------------------------------------------- */

/* Upload by someone who is not the slot's owner: 403, nothing stored. */
static void test_upload_not_owner(void **state)
{
    (void)state;
    tu_resp r = tu_input_put(&W, &g_a, g_good.id, "b", 0, 0, g_good_b_ct, g_good_b_len);
    expect_manifest_forbidden(&r); /* a party, owner of another slot */
    check_alive();
    r = tu_input_put(&W, &g_outsider, g_good.id, "b", 0, 1, g_good_b_ct, g_good_b_len);
    expect_manifest_forbidden(&r); /* no party at all */
    check_alive();
    r = tu_input_put(&W, &g_analyst, g_good.id, "b", 0, 1, g_good_b_ct, g_good_b_len);
    tu_expect_error(&r, 403, "forbidden"); /* the recipient: no data.upload either */
    check_alive();
    /* nor can anyone overwrite or extend the complete slot a, its owner included */
    r = tu_input_put(&W, &g_b, g_good.id, "a", 0, 1, g_good_b_ct, g_good_b_len);
    expect_manifest_forbidden(&r);
    r = tu_input_put(&W, &g_a, g_good.id, "a", g_good_a_len, 1, g_good_a_ct, 10);
    tu_expect_error(&r, 409, "state");
    r = tu_input_put(&W, &g_a, g_good.id, "a", 0, 1, g_good_a_ct, g_good_a_len);
    tu_expect_error(&r, 409, "state");
    check_alive();
}

/* A manifest missing one signature: created, no TA; uploads and runs refused (409 state). */
static void test_manifest_missing_signature(void **state)
{
    (void)state;
    task t;
    tu_task_new_id(t.id);
    tu_slot s[] = {{"a", g_a.key, 1 << 16}};
    json_t *j = manifest_json(t.id, "sql", json_pack("{s:s}", "query", "SELECT * FROM a"), s, 1);
    t.m = tu_manifest_parse(j);
    json_decref(j);
    const ident *only_a[] = {&g_a};
    sign_as(t.m, only_a, 1); /* the analyst (recipient) has not signed */
    char *env = tu_envelope(t.m);
    tu_resp r = http_as(&g_a, "POST", "/v1/tasks", env, strlen(env));
    free(env);
    assert_int_equal(r.status, 201);
    json_t *o = tu_resp_json(&r);
    free(r.body);
    assert_string_equal(json_string_value(json_object_get(o, "state")), "created");
    assert_int_equal(json_array_size(json_object_get(o, "signatures_missing")), 1);
    assert_null(json_object_get(o, "ta")); /* no TA, no task key to encrypt to */
    json_decref(o);
    check_alive();

    r = tu_input_put(&W, &g_a, t.id, "a", 0, 1, (const uint8_t *)"x", 1);
    tu_expect_error(&r, 409, "state");
    char path[128];
    snprintf(path, sizeof path, "/v1/tasks/%s/run", t.id);
    r = http_as(&g_a, "POST", path, NULL, 0);
    tu_expect_error(&r, 409, "state");
    check_alive();

    /* the missing signature, but over a manifest changed after signing: refused, still created */
    ward_task_manifest *m2 = NULL;
    j = manifest_json(t.id, "sql", json_pack("{s:s}", "query", "SELECT * FROM a"), s, 1);
    m2 = tu_manifest_parse(j);
    json_decref(j);
    const ident *only_c[] = {&g_analyst};
    sign_as(m2, only_c, 1);
    env = tu_envelope(m2);
    ward_task_manifest_free(m2);
    json_error_t je;
    json_t *ej = json_loads(env, 0, &je);
    free(env);
    assert_non_null(ej);
    json_object_set_new(json_object_get(json_object_get(ej, "manifest"), "params"), "query",
                        json_string("SELECT id FROM a"));
    env = json_dumps(ej, JSON_COMPACT);
    json_decref(ej);
    snprintf(path, sizeof path, "/v1/tasks/%s/signatures", t.id);
    r = http_as(&g_analyst, "POST", path, env, strlen(env));
    free(env);
    tu_expect_error(&r, 422, "verify_failed");
    o = tu_task_get(&W, &g_a, t.id);
    assert_string_equal(json_string_value(json_object_get(o, "state")), "created");
    assert_int_equal(json_array_size(json_object_get(o, "signatures_missing")), 1);
    json_decref(o);
    check_alive();
    free_task(&t);
}

/* Every signature present, but one field changed after signing: 422 verify_failed, not stored. */
static void test_manifest_changed_after_signing(void **state)
{
    (void)state;
    static const char *const fields[] = {"query", "max_bytes", "expires_at"};
    for (size_t f = 0; f < sizeof fields / sizeof fields[0]; f++) {
        char id[WARD_TASK_ID_HEX_LEN + 1];
        tu_task_new_id(id);
        tu_slot s[] = {{"a", g_a.key, 1 << 16}, {"b", g_b.key, 1 << 16}};
        json_t *j = manifest_json(id, "sql", json_pack("{s:s}", "query", "SELECT * FROM a"), s,
                                  2);
        ward_task_manifest *m = tu_manifest_parse(j);
        json_decref(j);
        sign_all(m);
        char *env = tu_envelope(m);
        ward_task_manifest_free(m);
        json_error_t je;
        json_t *ej = json_loads(env, 0, &je);
        free(env);
        assert_non_null(ej);
        json_t *mj = json_object_get(ej, "manifest");
        if (strcmp(fields[f], "query") == 0)
            json_object_set_new(json_object_get(mj, "params"), "query",
                                json_string("SELECT * FROM b"));
        else if (strcmp(fields[f], "max_bytes") == 0)
            json_object_set_new(json_array_get(json_object_get(mj, "inputs"), 1), "max_bytes",
                                json_integer(1 << 20));
        else
            json_object_set_new(mj, "expires_at", json_integer(g_expires + 86400));
        env = json_dumps(ej, JSON_COMPACT);
        json_decref(ej);
        tu_resp r = http_as(&g_a, "POST", "/v1/tasks", env, strlen(env));
        free(env);
        if (r.status != 422)
            fprintf(stderr, "changed %s: %ld %s\n", fields[f], r.status, r.body);
        json_t *o = tu_resp_json(&r);
        const char *msg = json_string_value(json_object_get(o, "message"));
        assert_non_null(msg);
        assert_non_null(strstr(msg, "does not verify"));
        json_decref(o);
        tu_expect_error(&r, 422, "verify_failed");
        char path[128];
        snprintf(path, sizeof path, "/v1/tasks/%s", id);
        r = http_as(&g_a, "GET", path, NULL, 0);
        tu_expect_error(&r, 404, "not_found");
        check_alive();
    }
}

/* A ciphertext made for another task: the good task's own slot-a ciphertext replayed into a new
 * task (another task id, another task key). Run: failed, the reason names the cause. */
static void test_ciphertext_other_task(void **state)
{
    (void)state;
    task t;
    make_sql1(&t, "SELECT * FROM a", 1 << 16);
    upload_all(&g_a, t.id, "a", g_good_a_ct, g_good_a_len);
    static const char *const why[] = {"input \"a\"", "another task or slot"};
    run_expect_failed(&t, why, 2);
    check_alive();
    free_task(&t);

    /* the right task key, the associated data of the good task */
    make_sql1(&t, "SELECT * FROM a", 1 << 16);
    size_t n = 0;
    uint8_t *ct = seal_for(t.pk, g_good.id, "a", CSV_A, strlen(CSV_A), &n);
    upload_all(&g_a, t.id, "a", ct, n);
    free(ct);
    run_expect_failed(&t, why, 2);
    check_alive();
    free_task(&t);
}

/* A ciphertext made for another slot of the same task (same key, slot b's associated data,
 * uploaded to slot a). */
static void test_ciphertext_other_slot(void **state)
{
    (void)state;
    task t;
    tu_slot s[] = {{"a", g_a.key, 1 << 16}, {"b", g_a.key, 1 << 16}};
    make_task(&t, "sql", json_pack("{s:s}", "query", "SELECT * FROM a, b"), s, 2);
    size_t n = 0;
    uint8_t *ct = seal_for(t.pk, t.id, "b", CSV_A, strlen(CSV_A), &n);
    upload_all(&g_a, t.id, "a", ct, n);
    free(ct);
    upload_csv(&g_a, &t, "b", CSV_B);
    static const char *const why[] = {"input \"a\"", "another task or slot"};
    run_expect_failed(&t, why, 2);
    check_alive();
    free_task(&t);
}

/* A flipped byte in a later chunk of the stream as uploaded: the earlier chunks decrypt (and
 * parse), then authentication fails; the whole input is refused. */
static void test_tampered_chunk(void **state)
{
    (void)state;
    /* several 1 KiB chunks of CSV */
    size_t cap = 8 * WARD_STREAM_MIN_CHUNK, len = 0;
    char *csv = malloc(cap + 64);
    assert_non_null(csv);
    len += (size_t)snprintf(csv, cap, "id,v\n");
    for (int i = 0; len < cap; i++)
        len += (size_t)snprintf(csv + len, 64, "%d,%d\n", i, i * 7);
    task t;
    make_sql1(&t, "SELECT COUNT(*) AS n FROM a", 1 << 16);
    size_t n = 0;
    uint8_t *ct = seal_for(t.pk, t.id, "a", csv, len, &n);
    free(csv);
    assert_true(n > 5 * WARD_STREAM_MIN_CHUNK);
    ct[n - 2 * WARD_STREAM_MIN_CHUNK] ^= 0x01; /* inside the last-but-one or last chunk */
    upload_all(&g_a, t.id, "a", ct, n);
    free(ct);
    static const char *const why[] = {"input \"a\"", "failed authentication"};
    run_expect_failed(&t, why, 2);
    check_alive();
    free_task(&t);

    /* a flipped byte in the header (the wrapped data key) */
    make_sql1(&t, "SELECT COUNT(*) AS n FROM a", 1 << 16);
    ct = seal_for(t.pk, t.id, "a", CSV_A, strlen(CSV_A), &n);
    /* docs/formats.md: 14 fixed bytes, the aad, the 32-byte HPKE enc, then the wrapped key */
    size_t wrapped = 14 + strlen(WARD_TASK_AAD_PREFIX) + WARD_TASK_ID_HEX_LEN + 2 + 32;
    assert_true(n > wrapped + 4);
    ct[wrapped + 4] ^= 0x80;
    upload_all(&g_a, t.id, "a", ct, n);
    free(ct);
    static const char *const why_hdr[] = {"input \"a\"", "cannot unwrap the data key"};
    run_expect_failed(&t, why_hdr, 2);
    check_alive();
    free_task(&t);

    /* the last chunk left out, the rest marked final */
    make_sql1(&t, "SELECT COUNT(*) AS n FROM a", 1 << 16);
    csv = malloc(3 * WARD_STREAM_MIN_CHUNK);
    assert_non_null(csv);
    memset(csv, 'x', 3 * WARD_STREAM_MIN_CHUNK);
    memcpy(csv, "v\n", 2);
    ct = seal_for(t.pk, t.id, "a", csv, 3 * WARD_STREAM_MIN_CHUNK - 1, &n);
    free(csv);
    upload_all(&g_a, t.id, "a", ct, n - (WARD_STREAM_MIN_CHUNK - 1 + 16));
    free(ct);
    static const char *const why_cut[] = {"input \"a\"", "truncated"};
    run_expect_failed(&t, why_cut, 2);
    check_alive();
    free_task(&t);

    /* a byte flipped in the node's stored copy after the upload (the ciphertext file beside
     * tasks.db, docs/api.md): the TA still refuses it */
    make_sql1(&t, "SELECT COUNT(*) AS n FROM a", 1 << 16);
    upload_csv(&g_a, &t, "a", CSV_A);
    char path[4200];
    snprintf(path, sizeof path, "%s/blobs/%s/a.ct", W.data, t.id);
    FILE *f = fopen(path, "r+b");
    if (f == NULL)
        fail_msg("no stored ciphertext at %s", path);
    assert_int_equal(fseek(f, -3, SEEK_END), 0);
    int c = fgetc(f);
    assert_true(c != EOF);
    assert_int_equal(fseek(f, -3, SEEK_END), 0);
    assert_int_not_equal(fputc(c ^ 0x40, f), EOF);
    assert_int_equal(fclose(f), 0);
    run_expect_failed(&t, why, 2);
    check_alive();
    free_task(&t);
}

/* CSVs the TA refuses after decrypting them: the reason says what is wrong, and where. */
static void test_bad_csv(void **state)
{
    (void)state;
    static const struct {
        const char *csv;
        const char *why;
    } cases[] = {
        {"id,region\n1,north\n2\n3,east\n", "ragged row"},
        {"id,region,x\n1,north,1\n2,south,2,3\n", "ragged row"},
        {"id,region\n1,nor\xffth\n", "invalid UTF-8"},
        {"id,region\n1,\xc3\n", "invalid UTF-8"}, /* a truncated sequence at the end */
        {"id,reg\xed\xa0\x80ion\n1,x\n", "invalid UTF-8"}, /* a surrogate, in the header */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        task t;
        make_sql1(&t, "SELECT * FROM a", 1 << 16);
        upload_csv(&g_a, &t, "a", cases[i].csv);
        const char *why[] = {"input \"a\"", "csv", cases[i].why};
        run_expect_failed(&t, why, 3);
        check_alive();
        free_task(&t);
    }
}

/* A query that writes, attaches, reads pragmas or loads an extension: the manifest parses and
 * the task is approved (the query is only ever the TA's to judge), the run is refused. */
static void test_query_that_writes(void **state)
{
    (void)state;
    static const struct {
        const char *query, *why;
    } cases[] = {
        {"INSERT INTO a(id, region) VALUES (9, 'west')", "one SELECT or WITH statement"},
        {"UPDATE a SET region = 'west'", "one SELECT or WITH statement"},
        {"WITH x AS (SELECT 1) DELETE FROM a", "not authorized"},
        {"ATTACH DATABASE ':memory:' AS other", "one SELECT or WITH statement"},
        {"PRAGMA writable_schema = ON", "one SELECT or WITH statement"},
        {"SELECT * FROM pragma_table_info('a')", "not authorized"},
        {"SELECT * FROM a; DROP TABLE a", "only one statement"},
        {"SELECT load_extension('/tmp/x.so')", "load_extension"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        task t;
        make_sql1(&t, cases[i].query, 1 << 16);
        upload_csv(&g_a, &t, "a", CSV_A);
        const char *why[] = {"run: ", "permission", cases[i].why};
        run_expect_failed(&t, why, 3);
        check_alive();
        free_task(&t);
    }
}

/* A 0-byte input: final=1 with an empty body on a fresh slot. Refused; the slot stays empty and
 * open, and a real input is then accepted. The same on the good task's slot b, which stays as it
 * was. An empty CSV inside a valid stream is refused by the TA at run. */
static void test_zero_byte_input(void **state)
{
    (void)state;
    task t;
    make_sql1(&t, "SELECT COUNT(*) AS n FROM a", 1 << 16);
    tu_resp r = tu_input_put(&W, &g_a, t.id, "a", 0, 1, NULL, 0);
    json_t *o = tu_resp_json(&r);
    assert_non_null(strstr(json_string_value(json_object_get(o, "message")), "0-byte"));
    json_decref(o);
    tu_expect_error(&r, 409, "state");
    json_t *j = tu_task_get(&W, &g_a, t.id);
    json_t *s = slot_of(j, "a");
    assert_int_equal(json_integer_value(json_object_get(s, "bytes")), 0);
    assert_true(json_is_false(json_object_get(s, "complete")));
    /* a refused request changes nothing, not even the state */
    assert_string_equal(json_string_value(json_object_get(j, "state")), "approved");
    json_decref(j);
    /* an empty chunk that is not final either */
    r = tu_input_put(&W, &g_a, t.id, "a", 0, 0, NULL, 0);
    tu_expect_error(&r, 400, "bad_request");
    check_alive();
    upload_csv(&g_a, &t, "a", CSV_A);
    tu_task_run_done(&W, &g_a, t.id);
    check_result(&t, "sql", "SELECT COUNT(*) AS n FROM a", "n\r\n4\r\n");
    free_task(&t);

    r = tu_input_put(&W, &g_b, g_good.id, "b", 0, 1, NULL, 0);
    tu_expect_error(&r, 409, "state");
    check_alive();

    /* a valid stream of an empty plaintext */
    make_sql1(&t, "SELECT COUNT(*) AS n FROM a", 1 << 16);
    upload_csv(&g_a, &t, "a", "");
    static const char *const why[] = {"input \"a\"", "empty input"};
    run_expect_failed(&t, why, 2);
    check_alive();
    free_task(&t);
}

/* An input larger than the slot's max_bytes: 413; the bytes already stored stay, and the right
 * continuation is accepted; the task then runs to the right result. */
static void test_input_too_large(void **state)
{
    (void)state;
    /* the ciphertext's length does not depend on the key: learn it first, make it the limit */
    static const char csv[] = "id,v\n1,10\n2,20\n3,30\n";
    size_t limit = 0;
    uint8_t *probe = seal_for(g_pk, "00000000000000000000000000000000", "a", csv, strlen(csv),
                              &limit);
    free(probe);
    task t;
    make_sql1(&t, "SELECT COUNT(*) AS n, SUM(v) AS s FROM a", (json_int_t)limit);
    size_t n = 0;
    uint8_t *ct = seal_for(t.pk, t.id, "a", csv, strlen(csv), &n);
    assert_int_equal(n, limit);

    /* in one piece, one byte too many: nothing stored */
    uint8_t *big = calloc(1, limit + 1);
    assert_non_null(big);
    memcpy(big, ct, n);
    tu_resp r = tu_input_put(&W, &g_a, t.id, "a", 0, 1, big, limit + 1);
    tu_expect_error(&r, 413, "too_large");
    json_t *j = tu_task_get(&W, &g_a, t.id);
    assert_int_equal(json_integer_value(json_object_get(slot_of(j, "a"), "bytes")), 0);
    json_decref(j);
    check_alive();

    /* half stored, then a continuation one byte over the limit */
    size_t half = n / 2;
    r = tu_input_put(&W, &g_a, t.id, "a", 0, 0, ct, half);
    assert_int_equal(r.status, 200);
    free(r.body);
    r = tu_input_put(&W, &g_a, t.id, "a", half, 1, big + half, limit + 1 - half);
    tu_expect_error(&r, 413, "too_large");
    free(big);
    j = tu_task_get(&W, &g_a, t.id);
    json_t *s = slot_of(j, "a");
    assert_int_equal(json_integer_value(json_object_get(s, "bytes")), half);
    assert_int_equal(json_integer_value(json_object_get(s, "chunks")), 1);
    assert_true(json_is_false(json_object_get(s, "complete")));
    json_decref(j);
    check_alive();

    /* the good task's slot b too: a body over its 1 MiB, nothing stored there */
    size_t over = ((size_t)1 << 20) + 1;
    uint8_t *huge = calloc(1, over);
    assert_non_null(huge);
    r = tu_input_put(&W, &g_b, g_good.id, "b", 0, 0, huge, over);
    free(huge);
    tu_expect_error(&r, 413, "too_large");
    check_alive();

    /* the right rest: accepted, and the task computes over the whole input */
    r = tu_input_put(&W, &g_a, t.id, "a", half, 1, ct + half, n - half);
    assert_int_equal(r.status, 200);
    j = tu_resp_json(&r);
    free(r.body);
    assert_true(json_is_true(json_object_get(j, "complete")));
    assert_int_equal(json_integer_value(json_object_get(j, "offset")), n);
    json_decref(j);
    free(ct);
    tu_task_run_done(&W, &g_a, t.id);
    check_result(&t, "sql", "SELECT COUNT(*) AS n, SUM(v) AS s FROM a", "n,s\r\n3,60\r\n");
    free_task(&t);
    check_alive();
}

/* A result requested by a non-recipient; a cancel by a non-participant: 403, nothing changes. */
static void test_result_and_cancel_refused(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof path, "/v1/tasks/%s/result", g_good.id);
    tu_resp r = http_as(&g_a, "GET", path, NULL, 0); /* a party, not the recipient */
    expect_manifest_forbidden(&r);
    r = http_as(&g_outsider, "GET", path, NULL, 0);
    expect_manifest_forbidden(&r);
    check_alive();
    snprintf(path, sizeof path, "/v1/tasks/%s/cancel", g_good.id);
    r = http_as(&g_outsider, "POST", path, NULL, 0);
    expect_manifest_forbidden(&r);
    json_t *j = tu_task_get(&W, &g_a, g_good.id);
    assert_int_equal(json_integer_value(json_object_get(j, "cancel_votes")), 0);
    json_decref(j);
    /* nor may the outsider read the task */
    snprintf(path, sizeof path, "/v1/tasks/%s", g_good.id);
    r = http_as(&g_outsider, "GET", path, NULL, 0);
    expect_manifest_forbidden(&r);
    check_alive();
}

/* The good task, after all of the above: its last input, the run, the right result; then the
 * refusals again on a done task. */
static void test_good_task_completes(void **state)
{
    (void)state;
    check_alive();
    size_t half = g_good_b_len / 2;
    tu_resp r = tu_input_put(&W, &g_b, g_good.id, "b", 0, 0, g_good_b_ct, half);
    assert_int_equal(r.status, 200);
    free(r.body);
    r = tu_input_put(&W, &g_b, g_good.id, "b", half, 1, g_good_b_ct + half, g_good_b_len - half);
    assert_int_equal(r.status, 200);
    free(r.body);
    tu_task_run_done(&W, &g_b, g_good.id);
    check_result(&g_good, "sql", GOOD_QUERY, GOOD_EXPECTED);

    char path[128];
    snprintf(path, sizeof path, "/v1/tasks/%s/result", g_good.id);
    r = http_as(&g_a, "GET", path, NULL, 0);
    expect_manifest_forbidden(&r);
    r = http_as(&g_outsider, "GET", path, NULL, 0);
    expect_manifest_forbidden(&r);
    snprintf(path, sizeof path, "/v1/tasks/%s/cancel", g_good.id);
    r = http_as(&g_outsider, "POST", path, NULL, 0);
    expect_manifest_forbidden(&r);
    r = http_as(&g_a, "POST", path, NULL, 0);
    tu_expect_error(&r, 409, "state");
    tu_healthz(&W);
}

/* psi through the daemon: the rows of the first input whose key is in every other input, in the
 * first input's order, with the chosen columns; an empty key never matches. */
static void test_psi(void **state)
{
    (void)state;
    static const char A[] = "id,name,city\n"
                            "1,ann,oslo\n"
                            "2,bob,rome\n"
                            "3,\"cy, jr\",lima\n"
                            ",dee,kyiv\n"
                            "5,eve,\"new\nyork\"\n"
                            "6,fay,bern\n";
    static const char B[] = "id,score\n6,1\n3,9\n,4\n7,2\n1,5\n";
    /* keys in both: 1, 3, 6 */
    tu_slot s2[] = {{"people", g_a.key, 1 << 16}, {"scores", g_b.key, 1 << 16}};
    task t;
    make_task(&t, "psi",
              json_pack("{s:s, s:[s, s]}", "key", "id", "columns", "id", "name"), s2, 2);
    /* loaded in reverse order: the result follows the manifest's first slot all the same */
    upload_csv(&g_b, &t, "scores", B);
    upload_csv(&g_a, &t, "people", A);
    /* the psi task refuses what the sql one does: a non-owner, a non-recipient */
    tu_resp r = tu_input_put(&W, &g_a, t.id, "scores", 0, 0, (const uint8_t *)"x", 1);
    expect_manifest_forbidden(&r);
    tu_task_run_done(&W, &g_analyst, t.id);
    check_result(&t, "psi", "id\nid,name", "id,name\r\n1,ann\r\n3,\"cy, jr\"\r\n6,fay\r\n");
    char path[128];
    snprintf(path, sizeof path, "/v1/tasks/%s/result", t.id);
    r = http_as(&g_b, "GET", path, NULL, 0); /* b holds no result.read: RBAC's 403 */
    tu_expect_error(&r, 403, "forbidden");
    r = http_as(&g_a, "GET", path, NULL, 0);
    expect_manifest_forbidden(&r);
    json_t *j = tu_task_get(&W, &g_a, t.id);
    assert_string_equal(json_string_value(json_object_get(j, "function")), "psi");
    assert_true(json_is_true(json_object_get(slot_of(j, "people"), "deleted")));
    json_decref(j);
    free_task(&t);

    /* three inputs: the key must be in all three (1, 3) */
    tu_slot s3[] = {{"people", g_a.key, 1 << 16}, {"scores", g_b.key, 1 << 16}, {"c", g_a.key, 1 << 16}};
    make_task(&t, "psi", json_pack("{s:s, s:[s]}", "key", "id", "columns", "city"), s3, 3);
    upload_csv(&g_a, &t, "people", A);
    upload_csv(&g_b, &t, "scores", B);
    upload_csv(&g_a, &t, "c", "id,x\n3,b\n1,a\n2,z\n");
    tu_task_run_done(&W, &g_a, t.id);
    check_result(&t, "psi", "id\ncity", "city\r\noslo\r\nlima\r\n");
    free_task(&t);

    /* a column the first input lacks: failed, with the reason */
    make_task(&t, "psi", json_pack("{s:s, s:[s]}", "key", "id", "columns", "score"), s2, 2);
    upload_csv(&g_a, &t, "people", A);
    upload_csv(&g_b, &t, "scores", B);
    static const char *const why[] = {"run: ", "no such column"};
    run_expect_failed(&t, why, 2);
    free_task(&t);

    tu_healthz(&W);
}

/* psi whose key column is missing from an input other than the first: refused ("no such
 * column"). Regression: the subquery's column was unqualified, so SQLite resolved it to the
 * OUTER table's column, the condition held for every row and the whole first input leaked. */
static void test_psi_key_missing_in_other_input(void **state)
{
    (void)state;
    static const char A[] = "id,name\n1,ann\n2,bob\n3,cy\n";
    static const char C[] = "key,x\n1,a\n";
    tu_slot s2[] = {{"people", g_a.key, 1 << 16}, {"scores", g_b.key, 1 << 16}};
    task t;
    make_task(&t, "psi", json_pack("{s:s, s:[s]}", "key", "id", "columns", "name"), s2, 2);
    upload_csv(&g_a, &t, "people", A);
    upload_csv(&g_b, &t, "scores", C);
    json_t *j = tu_task_run(&W, &g_a, t.id);
    const char *state_name = json_string_value(json_object_get(j, "state"));
    assert_string_equal(state_name, "failed");
    assert_non_null(strstr(json_string_value(json_object_get(j, "reason")), "no such column"));
    json_decref(j);
    free_task(&t);
    tu_healthz(&W);
}

static int teardown(void **state)
{
    (void)state;
    free_task(&g_good);
    free(g_good_a_ct);
    free(g_good_b_ct);
    tu_party_free(&g_a);
    tu_party_free(&g_b);
    tu_party_free(&g_analyst);
    tu_party_free(&g_outsider);
    ward_wipe(g_sk, sizeof g_sk);
    tu_wardd_stop(&W);
    return 0;
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_setup),
        cmocka_unit_test(test_upload_not_owner),
        cmocka_unit_test(test_manifest_missing_signature),
        cmocka_unit_test(test_manifest_changed_after_signing),
        cmocka_unit_test(test_ciphertext_other_task),
        cmocka_unit_test(test_ciphertext_other_slot),
        cmocka_unit_test(test_tampered_chunk),
        cmocka_unit_test(test_bad_csv),
        cmocka_unit_test(test_query_that_writes),
        cmocka_unit_test(test_zero_byte_input),
        cmocka_unit_test(test_input_too_large),
        cmocka_unit_test(test_result_and_cancel_refused),
        cmocka_unit_test(test_good_task_completes),
        cmocka_unit_test(test_psi),
        cmocka_unit_test(test_psi_key_missing_in_other_input),
    };
    int rc = cmocka_run_group_tests(tests, start_daemon, teardown);
    curl_global_cleanup();
    return rc;
}
