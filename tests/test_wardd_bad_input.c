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
#include "ward/crypto.h"
#include "ward/encoding.h"
#include "ward/stream.h"
#include "ward/task.h"
#include "ward/x509.h"

typedef struct ident {
    ward_pkey *key;
    char cert_path[4200], key_path[4200];
} ident;

/* A task as this test knows it: the manifest with every signature and the TA's task key. */
typedef struct task {
    char id[WARD_TASK_ID_HEX_LEN + 1];
    ward_task_manifest *m;
    uint8_t pk[32];
} task;

typedef struct slotspec {
    const char *name;
    const ident *owner;
    json_int_t max_bytes;
} slotspec;

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
    return tu_wardd_request(&W, who ? who->cert_path : NULL, who ? who->key_path : NULL, method,
                            path, body, len);
}

static tu_resp put_chunk(const ident *who, const char *id, const char *slot, size_t offset,
                         int final, const uint8_t *data, size_t len)
{
    char path[256];
    snprintf(path, sizeof path, "/v1/tasks/%s/inputs/%s?offset=%zu%s", id, slot, offset,
             final ? "&final=1" : "");
    return http_as(who, "PUT", path, (const char *)data, len);
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

static json_t *get_task(const ident *who, const char *id)
{
    char path[128];
    snprintf(path, sizeof path, "/v1/tasks/%s", id);
    tu_resp r = http_as(who, "GET", path, NULL, 0);
    if (r.status != 200)
        fprintf(stderr, "GET task: %ld %s\n", r.status, r.body);
    assert_int_equal(r.status, 200);
    json_t *j = tu_resp_json(&r);
    free(r.body);
    return j;
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
    tu_resp r = http_as(NULL, "GET", "/healthz", NULL, 0);
    assert_int_equal(r.status, 200);
    free(r.body);
    json_t *j = get_task(&g_a, g_good.id);
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

static void write_file(const char *path, const char *text, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static void make_ident(ident *id, const char *name)
{
    assert_int_equal(ward_pkey_generate(WARD_KEY_EC_P256, &id->key), WARD_OK);
    int64_t now = (int64_t)time(NULL);
    ward_cert_spec spec = {.common_name = name, .not_before = now - 60, .not_after = now + 86400,
                           .path_len = -1, .client_auth = 1};
    ward_cert *cert = NULL;
    assert_int_equal(ward_cert_create(&spec, id->key, NULL, id->key, &cert), WARD_OK);
    char *pem = NULL;
    size_t len = 0;
    assert_int_equal(ward_cert_to_pem(cert, &pem, &len), WARD_OK);
    snprintf(id->cert_path, sizeof id->cert_path, "%s/%s.crt", W.tmp, name);
    write_file(id->cert_path, pem, len);
    free(pem);
    ward_cert_free(cert);
    assert_int_equal(ward_pkey_private_pem(id->key, &pem, &len), WARD_OK);
    snprintf(id->key_path, sizeof id->key_path, "%s/%s.key", W.tmp, name);
    write_file(id->key_path, pem, len);
    ward_wipe(pem, len);
    free(pem);
}

static char *spki_b64(const ward_pkey *k)
{
    uint8_t *der = NULL;
    size_t n = 0;
    char *b64 = NULL;
    assert_int_equal(ward_pkey_spki_der(k, &der, &n), WARD_OK);
    assert_int_equal(ward_base64_encode(der, n, &b64, NULL), WARD_OK);
    free(der);
    return b64;
}

static void new_id(char id[WARD_TASK_ID_HEX_LEN + 1])
{
    uint8_t rid[WARD_TASK_ID_LEN];
    assert_int_equal(ward_random(rid, sizeof rid), WARD_OK);
    for (size_t i = 0; i < sizeof rid; i++)
        snprintf(id + 2 * i, 3, "%02x", rid[i]);
}

/* The manifest as JSON: creator a, recipient the analyst (its X25519 key g_pk). params stolen. */
static json_t *manifest_json(const char *id, const char *fn, json_t *params,
                             const slotspec *slots, size_t n)
{
    char x[65];
    for (size_t i = 0; i < 32; i++)
        snprintf(x + 2 * i, 3, "%02x", g_pk[i]);
    char *creator = spki_b64(g_a.key), *rcpt = spki_b64(g_analyst.key);
    json_t *inputs = json_array();
    for (size_t i = 0; i < n; i++) {
        char *o = spki_b64(slots[i].owner->key);
        json_array_append_new(inputs, json_pack("{s:s, s:s, s:I}", "slot", slots[i].name,
                                                "owner", o, "max_bytes", slots[i].max_bytes));
        free(o);
    }
    json_t *j = json_pack("{s:i, s:s, s:s, s:{s:s}, s:o, s:o, s:[{s:s, s:s}], s:I, s:s}",
                          "version", 1, "task_id", id, "creator", creator, "function",
                          "builtin", fn, "params", params, "inputs", inputs, "recipients",
                          "identity", rcpt, "x25519", x, "expires_at", (json_int_t)g_expires,
                          "retention", "delete-on-done");
    free(creator);
    free(rcpt);
    assert_non_null(j);
    return j;
}

static ward_task_manifest *parse_manifest(json_t *j)
{
    char *text = json_dumps(j, JSON_COMPACT);
    assert_non_null(text);
    ward_task_manifest *m = NULL;
    if (ward_task_manifest_parse(text, strlen(text), &m) != WARD_OK)
        fail_msg("manifest: %s", ward_errmsg());
    free(text);
    return m;
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

static char *envelope(const ward_task_manifest *m)
{
    char *env = NULL;
    assert_int_equal(ward_task_envelope_serialize(m, &env, NULL), WARD_OK);
    return env;
}

/* Builds, signs by everyone, posts as a; the task is approved and has a task key. */
static void make_task(task *t, const char *fn, json_t *params, const slotspec *slots, size_t n)
{
    new_id(t->id);
    json_t *j = manifest_json(t->id, fn, params, slots, n);
    t->m = parse_manifest(j);
    json_decref(j);
    sign_all(t->m);
    char *env = envelope(t->m);
    tu_resp r = http_as(&g_a, "POST", "/v1/tasks", env, strlen(env));
    free(env);
    if (r.status != 201)
        fprintf(stderr, "create: %ld %s\n", r.status, r.body);
    assert_int_equal(r.status, 201);
    json_t *o = tu_resp_json(&r);
    free(r.body);
    if (strcmp(json_string_value(json_object_get(o, "state")), "approved") != 0)
        fail_msg("not approved: %s (%s)", json_string_value(json_object_get(o, "state")),
                 json_string_value(json_object_get(o, "reason")));
    const char *pk = json_string_value(json_object_get(json_object_get(o, "ta"), "task_pk"));
    assert_non_null(pk);
    assert_int_equal(ward_hex_decode_fixed(pk, strlen(pk), t->pk, 32), WARD_OK);
    json_decref(o);
}

/* A sql task with one slot "a" (owner a). */
static void make_sql1(task *t, const char *query, json_int_t max_bytes)
{
    slotspec s[] = {{"a", &g_a, max_bytes}};
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
    char aad[WARD_TASK_AAD_MAX];
    snprintf(aad, sizeof aad, "%s%s/%s", WARD_TASK_AAD_PREFIX, id, slot);
    uint8_t *ct = NULL;
    assert_int_equal(ward_stream_seal(pk, WARD_STREAM_MIN_CHUNK, (const uint8_t *)aad,
                                      strlen(aad), (const uint8_t *)csv, csv_len, &ct, ct_len),
                     WARD_OK);
    return ct;
}

/* One PUT with the whole ciphertext, final: accepted and complete. */
static void upload_all(const ident *who, const char *id, const char *slot, const uint8_t *ct,
                       size_t len)
{
    tu_resp r = put_chunk(who, id, slot, 0, 1, ct, len);
    if (r.status != 200)
        fprintf(stderr, "upload %s: %ld %s\n", slot, r.status, r.body);
    assert_int_equal(r.status, 200);
    json_t *j = tu_resp_json(&r);
    free(r.body);
    assert_true(json_is_true(json_object_get(j, "complete")));
    assert_int_equal(json_integer_value(json_object_get(j, "offset")), len);
    json_decref(j);
}

static void upload_csv(const ident *who, const task *t, const char *slot, const char *csv)
{
    size_t n = 0;
    uint8_t *ct = seal_for(t->pk, t->id, slot, csv, strlen(csv), &n);
    upload_all(who, t->id, slot, ct, n);
    free(ct);
}

static json_t *run(const ident *who, const char *id)
{
    char path[128];
    snprintf(path, sizeof path, "/v1/tasks/%s/run", id);
    tu_resp r = http_as(who, "POST", path, NULL, 0);
    if (r.status != 200)
        fprintf(stderr, "run: %ld %s\n", r.status, r.body);
    assert_int_equal(r.status, 200);
    json_t *j = tu_resp_json(&r);
    free(r.body);
    return j;
}

/* Runs the task: it must fail, its reason naming every needle; no result, its TA gone. */
static void run_expect_failed(const task *t, const char *const *needles, size_t n)
{
    json_t *j = run(&g_a, t->id); /* the creator: a party to every task here */
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
    j = get_task(&g_analyst, t->id);
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

static uint8_t *b64u_dec(json_t *j, const char *member, size_t *len)
{
    const char *s = json_string_value(json_object_get(j, member));
    if (s == NULL)
        fail_msg("member %s missing", member);
    uint8_t *out = NULL;
    assert_int_equal(ward_base64url_decode(s, strlen(s), &out, len), WARD_OK);
    return out;
}

/* The recipient fetches the result, checks the statement's signature with the task's signing
 * key (the one the task showed before any input), decrypts it, and checks fn, params (the query,
 * or psi's "key LF columns") and the CSV's hash in the statement. The CSV, NUL-terminated. */
static char *fetch_result(const task *t, const char *fn, const char *params, size_t *len)
{
    json_t *tj = get_task(&g_analyst, t->id);
    size_t tspl = 0;
    uint8_t *tspk = b64u_dec(json_object_get(tj, "ta"), "sign_pk", &tspl);
    json_decref(tj);
    char path[128];
    snprintf(path, sizeof path, "/v1/tasks/%s/result", t->id);
    tu_resp r = http_as(&g_analyst, "GET", path, NULL, 0);
    if (r.status != 200)
        fprintf(stderr, "result: %ld %s\n", r.status, r.body);
    assert_int_equal(r.status, 200);
    json_t *j = tu_resp_json(&r);
    free(r.body);
    size_t stl = 0, sigl = 0, encl = 0, spl = 0;
    uint8_t *st = b64u_dec(j, "statement", &stl);
    uint8_t *sig = b64u_dec(j, "signature", &sigl);
    uint8_t *spk = b64u_dec(j, "sign_pk", &spl);
    /* the ciphertext: one piece (these results are small), from GET .../result/data */
    encl = (size_t)json_integer_value(json_object_get(j, "result_bytes"));
    json_decref(j);
    assert_true(encl > 0);
    snprintf(path, sizeof path, "/v1/tasks/%s/result/data?offset=0", t->id);
    r = http_as(&g_analyst, "GET", path, NULL, 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.len, encl);
    uint8_t *enc = (uint8_t *)r.body;
    assert_int_equal(spl, tspl);
    assert_memory_equal(spk, tspk, spl);
    ward_pkey *sign_pk = NULL;
    assert_int_equal(ward_pkey_from_spki_der(spk, spl, &sign_pk), WARD_OK);
    assert_int_equal(ward_verify(sign_pk, WARD_HASH_SHA256, WARD_SIG_RAW, st, stl, sig, sigl),
                     WARD_OK);
    ward_pkey_free(sign_pk);
    uint8_t digest[32];
    ward_task_manifest_digest(t->m, digest);
    uint8_t *pt = NULL;
    size_t ptl = 0;
    assert_int_equal(ward_stream_open(g_sk, digest, 32, enc, encl, &pt, &ptl), WARD_OK);
    /* "WARD-RESULT-1" 0 | u8 len | fn | digest | SHA-256(params) | inputs | SHA-256(csv) | u64 */
    size_t fl = strlen(fn);
    assert_int_equal(stl, 14 + 1 + fl + 4 * 32 + 8);
    assert_memory_equal(st, "WARD-RESULT-1", 14);
    assert_int_equal(st[14], fl);
    assert_memory_equal(st + 15, fn, fl);
    assert_memory_equal(st + 15 + fl, digest, 32);
    uint8_t h[32];
    assert_int_equal(ward_hash(WARD_HASH_SHA256, params, strlen(params), h), WARD_OK);
    assert_memory_equal(st + 15 + fl + 32, h, 32);
    assert_int_equal(ward_hash(WARD_HASH_SHA256, pt, ptl, h), WARD_OK);
    assert_memory_equal(st + 15 + fl + 96, h, 32);
    free(st);
    free(sig);
    free(enc);
    free(spk);
    free(tspk);
    char *csv = malloc(ptl + 1);
    assert_non_null(csv);
    memcpy(csv, pt, ptl);
    csv[ptl] = '\0';
    free(pt);
    *len = ptl;
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
    make_ident(&g_a, "provider-a");
    make_ident(&g_b, "provider-b");
    make_ident(&g_analyst, "analyst");
    make_ident(&g_outsider, "outsider");
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
    slotspec s[] = {{"a", &g_a, 1 << 20}, {"b", &g_b, 1 << 20}};
    make_task(&g_good, "sql", json_pack("{s:s}", "query", GOOD_QUERY), s, 2);
    g_good_a_ct = seal_for(g_good.pk, g_good.id, "a", CSV_A, strlen(CSV_A), &g_good_a_len);
    g_good_b_ct = seal_for(g_good.pk, g_good.id, "b", CSV_B, strlen(CSV_B), &g_good_b_len);
    size_t half = g_good_a_len / 2;
    tu_resp r = put_chunk(&g_a, g_good.id, "a", 0, 0, g_good_a_ct, half);
    assert_int_equal(r.status, 200);
    free(r.body);
    r = put_chunk(&g_a, g_good.id, "a", half, 1, g_good_a_ct + half, g_good_a_len - half);
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
    tu_resp r = put_chunk(&g_a, g_good.id, "b", 0, 0, g_good_b_ct, g_good_b_len);
    expect_manifest_forbidden(&r); /* a party, owner of another slot */
    check_alive();
    r = put_chunk(&g_outsider, g_good.id, "b", 0, 1, g_good_b_ct, g_good_b_len);
    expect_manifest_forbidden(&r); /* no party at all */
    check_alive();
    r = put_chunk(&g_analyst, g_good.id, "b", 0, 1, g_good_b_ct, g_good_b_len);
    tu_expect_error(&r, 403, "forbidden"); /* the recipient: no data.upload either */
    check_alive();
    /* nor can anyone overwrite or extend the complete slot a, its owner included */
    r = put_chunk(&g_b, g_good.id, "a", 0, 1, g_good_b_ct, g_good_b_len);
    expect_manifest_forbidden(&r);
    r = put_chunk(&g_a, g_good.id, "a", g_good_a_len, 1, g_good_a_ct, 10);
    tu_expect_error(&r, 409, "state");
    r = put_chunk(&g_a, g_good.id, "a", 0, 1, g_good_a_ct, g_good_a_len);
    tu_expect_error(&r, 409, "state");
    check_alive();
}

/* A manifest missing one signature: created, no TA; uploads and runs refused (409 state). */
static void test_manifest_missing_signature(void **state)
{
    (void)state;
    task t;
    new_id(t.id);
    slotspec s[] = {{"a", &g_a, 1 << 16}};
    json_t *j = manifest_json(t.id, "sql", json_pack("{s:s}", "query", "SELECT * FROM a"), s, 1);
    t.m = parse_manifest(j);
    json_decref(j);
    const ident *only_a[] = {&g_a};
    sign_as(t.m, only_a, 1); /* the analyst (recipient) has not signed */
    char *env = envelope(t.m);
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

    r = put_chunk(&g_a, t.id, "a", 0, 1, (const uint8_t *)"x", 1);
    tu_expect_error(&r, 409, "state");
    char path[128];
    snprintf(path, sizeof path, "/v1/tasks/%s/run", t.id);
    r = http_as(&g_a, "POST", path, NULL, 0);
    tu_expect_error(&r, 409, "state");
    check_alive();

    /* the missing signature, but over a manifest changed after signing: refused, still created */
    ward_task_manifest *m2 = NULL;
    j = manifest_json(t.id, "sql", json_pack("{s:s}", "query", "SELECT * FROM a"), s, 1);
    m2 = parse_manifest(j);
    json_decref(j);
    const ident *only_c[] = {&g_analyst};
    sign_as(m2, only_c, 1);
    env = envelope(m2);
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
    o = get_task(&g_a, t.id);
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
        new_id(id);
        slotspec s[] = {{"a", &g_a, 1 << 16}, {"b", &g_b, 1 << 16}};
        json_t *j = manifest_json(id, "sql", json_pack("{s:s}", "query", "SELECT * FROM a"), s,
                                  2);
        ward_task_manifest *m = parse_manifest(j);
        json_decref(j);
        sign_all(m);
        char *env = envelope(m);
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
    slotspec s[] = {{"a", &g_a, 1 << 16}, {"b", &g_a, 1 << 16}};
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
    tu_resp r = put_chunk(&g_a, t.id, "a", 0, 1, NULL, 0);
    json_t *o = tu_resp_json(&r);
    assert_non_null(strstr(json_string_value(json_object_get(o, "message")), "0-byte"));
    json_decref(o);
    tu_expect_error(&r, 409, "state");
    json_t *j = get_task(&g_a, t.id);
    json_t *s = slot_of(j, "a");
    assert_int_equal(json_integer_value(json_object_get(s, "bytes")), 0);
    assert_true(json_is_false(json_object_get(s, "complete")));
    /* a refused request changes nothing, not even the state */
    assert_string_equal(json_string_value(json_object_get(j, "state")), "approved");
    json_decref(j);
    /* an empty chunk that is not final either */
    r = put_chunk(&g_a, t.id, "a", 0, 0, NULL, 0);
    tu_expect_error(&r, 400, "bad_request");
    check_alive();
    upload_csv(&g_a, &t, "a", CSV_A);
    j = run(&g_a, t.id);
    assert_string_equal(json_string_value(json_object_get(j, "state")), "done");
    json_decref(j);
    check_result(&t, "sql", "SELECT COUNT(*) AS n FROM a", "n\r\n4\r\n");
    free_task(&t);

    r = put_chunk(&g_b, g_good.id, "b", 0, 1, NULL, 0);
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
    tu_resp r = put_chunk(&g_a, t.id, "a", 0, 1, big, limit + 1);
    tu_expect_error(&r, 413, "too_large");
    json_t *j = get_task(&g_a, t.id);
    assert_int_equal(json_integer_value(json_object_get(slot_of(j, "a"), "bytes")), 0);
    json_decref(j);
    check_alive();

    /* half stored, then a continuation one byte over the limit */
    size_t half = n / 2;
    r = put_chunk(&g_a, t.id, "a", 0, 0, ct, half);
    assert_int_equal(r.status, 200);
    free(r.body);
    r = put_chunk(&g_a, t.id, "a", half, 1, big + half, limit + 1 - half);
    tu_expect_error(&r, 413, "too_large");
    free(big);
    j = get_task(&g_a, t.id);
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
    r = put_chunk(&g_b, g_good.id, "b", 0, 0, huge, over);
    free(huge);
    tu_expect_error(&r, 413, "too_large");
    check_alive();

    /* the right rest: accepted, and the task computes over the whole input */
    r = put_chunk(&g_a, t.id, "a", half, 1, ct + half, n - half);
    assert_int_equal(r.status, 200);
    j = tu_resp_json(&r);
    free(r.body);
    assert_true(json_is_true(json_object_get(j, "complete")));
    assert_int_equal(json_integer_value(json_object_get(j, "offset")), n);
    json_decref(j);
    free(ct);
    j = run(&g_a, t.id);
    assert_string_equal(json_string_value(json_object_get(j, "state")), "done");
    json_decref(j);
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
    json_t *j = get_task(&g_a, g_good.id);
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
    tu_resp r = put_chunk(&g_b, g_good.id, "b", 0, 0, g_good_b_ct, half);
    assert_int_equal(r.status, 200);
    free(r.body);
    r = put_chunk(&g_b, g_good.id, "b", half, 1, g_good_b_ct + half, g_good_b_len - half);
    assert_int_equal(r.status, 200);
    free(r.body);
    json_t *j = run(&g_b, g_good.id);
    if (strcmp(json_string_value(json_object_get(j, "state")), "done") != 0)
        fail_msg("good task: %s (%s)", json_string_value(json_object_get(j, "state")),
                 json_string_value(json_object_get(j, "reason")));
    json_decref(j);
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
    r = http_as(NULL, "GET", "/healthz", NULL, 0);
    assert_int_equal(r.status, 200);
    free(r.body);
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
    slotspec s2[] = {{"people", &g_a, 1 << 16}, {"scores", &g_b, 1 << 16}};
    task t;
    make_task(&t, "psi",
              json_pack("{s:s, s:[s, s]}", "key", "id", "columns", "id", "name"), s2, 2);
    /* loaded in reverse order: the result follows the manifest's first slot all the same */
    upload_csv(&g_b, &t, "scores", B);
    upload_csv(&g_a, &t, "people", A);
    /* the psi task refuses what the sql one does: a non-owner, a non-recipient */
    tu_resp r = put_chunk(&g_a, t.id, "scores", 0, 0, (const uint8_t *)"x", 1);
    expect_manifest_forbidden(&r);
    json_t *j = run(&g_analyst, t.id);
    if (strcmp(json_string_value(json_object_get(j, "state")), "done") != 0)
        fail_msg("psi: %s (%s)", json_string_value(json_object_get(j, "state")),
                 json_string_value(json_object_get(j, "reason")));
    json_decref(j);
    check_result(&t, "psi", "id\nid,name", "id,name\r\n1,ann\r\n3,\"cy, jr\"\r\n6,fay\r\n");
    char path[128];
    snprintf(path, sizeof path, "/v1/tasks/%s/result", t.id);
    r = http_as(&g_b, "GET", path, NULL, 0); /* b holds no result.read: RBAC's 403 */
    tu_expect_error(&r, 403, "forbidden");
    r = http_as(&g_a, "GET", path, NULL, 0);
    expect_manifest_forbidden(&r);
    j = get_task(&g_a, t.id);
    assert_string_equal(json_string_value(json_object_get(j, "function")), "psi");
    assert_true(json_is_true(json_object_get(slot_of(j, "people"), "deleted")));
    json_decref(j);
    free_task(&t);

    /* three inputs: the key must be in all three (1, 3) */
    slotspec s3[] = {{"people", &g_a, 1 << 16}, {"scores", &g_b, 1 << 16}, {"c", &g_a, 1 << 16}};
    make_task(&t, "psi", json_pack("{s:s, s:[s]}", "key", "id", "columns", "city"), s3, 3);
    upload_csv(&g_a, &t, "people", A);
    upload_csv(&g_b, &t, "scores", B);
    upload_csv(&g_a, &t, "c", "id,x\n3,b\n1,a\n2,z\n");
    j = run(&g_a, t.id);
    if (strcmp(json_string_value(json_object_get(j, "state")), "done") != 0)
        fail_msg("psi 3: %s (%s)", json_string_value(json_object_get(j, "state")),
                 json_string_value(json_object_get(j, "reason")));
    json_decref(j);
    check_result(&t, "psi", "id\ncity", "city\r\noslo\r\nlima\r\n");
    free_task(&t);

    /* a column the first input lacks: failed, with the reason */
    make_task(&t, "psi", json_pack("{s:s, s:[s]}", "key", "id", "columns", "score"), s2, 2);
    upload_csv(&g_a, &t, "people", A);
    upload_csv(&g_b, &t, "scores", B);
    static const char *const why[] = {"run: ", "no such column"};
    run_expect_failed(&t, why, 2);
    free_task(&t);

    r = http_as(NULL, "GET", "/healthz", NULL, 0);
    assert_int_equal(r.status, 200);
    free(r.body);
}

/* psi whose key column is missing from an input other than the first: refused ("no such
 * column"). Regression: the subquery's column was unqualified, so SQLite resolved it to the
 * OUTER table's column, the condition held for every row and the whole first input leaked. */
static void test_psi_key_missing_in_other_input(void **state)
{
    (void)state;
    static const char A[] = "id,name\n1,ann\n2,bob\n3,cy\n";
    static const char C[] = "key,x\n1,a\n";
    slotspec s2[] = {{"people", &g_a, 1 << 16}, {"scores", &g_b, 1 << 16}};
    task t;
    make_task(&t, "psi", json_pack("{s:s, s:[s]}", "key", "id", "columns", "name"), s2, 2);
    upload_csv(&g_a, &t, "people", A);
    upload_csv(&g_b, &t, "scores", C);
    json_t *j = run(&g_a, t.id);
    const char *state_name = json_string_value(json_object_get(j, "state"));
    assert_string_equal(state_name, "failed");
    assert_non_null(strstr(json_string_value(json_object_get(j, "reason")), "no such column"));
    json_decref(j);
    free_task(&t);
    tu_resp r = http_as(NULL, "GET", "/healthz", NULL, 0);
    assert_int_equal(r.status, 200);
    free(r.body);
}

static int teardown(void **state)
{
    (void)state;
    free_task(&g_good);
    free(g_good_a_ct);
    free(g_good_b_ct);
    ward_pkey_free(g_a.key);
    ward_pkey_free(g_b.key);
    ward_pkey_free(g_analyst.key);
    ward_pkey_free(g_outsider.key);
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
