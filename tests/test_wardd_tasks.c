/* End-to-end test of wardd's task service (docs/api.md, "Tasks"): the real wardd binary
 * ($WARD_BUILD_DIR/wardd, built-in TAs from $WARD_BUILD_DIR/builtin) on 127.0.0.1 with an
 * ephemeral port and a temporary data directory, spoken to with libcurl over TLS 1.3 with client
 * certificates. Three identities (two data providers, one analyst: P-256 keys, self-signed
 * certificates) agree on a sql task (a join and a group-by), check the task's evidence, encrypt
 * their CSVs to the task key, upload them in resumable chunks, run it; the analyst decrypts and
 * verifies the result. Then bad requests, each refused while the daemon keeps serving. The harness
 * (start, stop, pinning) is the one of test_wardd.c. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "testutil.h"
#include "wardd_harness.h"
#include "wardd_tasks_util.h"
#include "ward/claims.h"
#include "ward/crypto.h"
#include "ward/encoding.h"
#include "ward/evidence.h"
#include "ward/json.h"
#include "ward/rot.h"
#include "ward/stream.h"
#include "ward/task.h"
#include "ward/x509.h"

typedef tu_party ident;

static tu_wardd W;

static int start_daemon(void **state)
{
    (void)state;
    return tu_wardd_start(&W);
}

static int stop_daemon(void **state)
{
    (void)state;
    tu_wardd_stop(&W);
    return 0;
}

typedef tu_resp resp;

static resp http_as(const ident *who, const char *method, const char *path, const char *body,
                    size_t len)
{
    return tu_party_request(&W, who, method, path, body, len);
}

/* ---- identities and the manifest ------------------------------------------------------------ */

static ident g_a, g_b, g_analyst, g_outsider;
static char g_id[WARD_TASK_ID_HEX_LEN + 1];
static ward_task_manifest *g_m; /* the manifest, all signatures */
static uint8_t g_sk[32], g_pk[32]; /* the analyst's X25519 result key */
static int64_t g_expires;           /* one value: every copy of a manifest has one digest */

static const char QUERY[] =
    "SELECT p.region AS region, SUM(s.amount) AS total, COUNT(*) AS n FROM a AS p JOIN b AS s "
    "ON p.id = s.id GROUP BY p.region ORDER BY p.region";
static const char CSV_A[] = "id,region\n1,north\n2,south\n3,north\n5,east\n";
static const char CSV_B[] = "id,amount\n1,10\n2,20\n3,5\n4,7\n";
static const char EXPECTED[] = "region,total,n\r\nnorth,15,2\r\nsouth,20,1\r\n";

/* The manifest: creator a, slots a (owner a) and b (owner b), recipient the analyst (its
 * X25519 result key g_pk, signed in the manifest). */
static ward_task_manifest *manifest(const char *id)
{
    const tu_slot slots[] = {{"a", g_a.key, 1 << 20}, {"b", g_b.key, 1 << 20}};
    const tu_manifest_spec spec = {.id = id, .creator = g_a.key, .fn = "sql",
                                   .params = json_pack("{s:s}", "query", QUERY),
                                   .slots = slots, .n_slots = 2, .recipient = g_analyst.key,
                                   .x25519 = g_pk, .expires_at = g_expires};
    return tu_manifest_make(&spec);
}

static json_t *get_task(const ident *who)
{
    return tu_task_get(&W, who, g_id);
}

/* ---- tests ---------------------------------------------------------------------------------- */

static void test_setup_identities(void **state)
{
    (void)state;
    /* Enrolled in the node's identity database (RBAC): the outsider is an auditor, who may
     * read metrics but is a party to no task. */
    tu_party_make(&W, &g_a, "provider-a", "data-provider");
    tu_party_make(&W, &g_b, "provider-b", "data-provider");
    tu_party_make(&W, &g_analyst, "analyst", "result-consumer");
    tu_party_make(&W, &g_outsider, "outsider", "auditor");
    assert_int_equal(ward_x25519_generate(g_sk, g_pk), WARD_OK);
    g_expires = (int64_t)time(NULL) + 3600;
    tu_task_new_id(g_id);
    g_m = manifest(g_id);
}

/* A manifest missing a signature stays created; the last signature approves it. */
static void test_create_and_approve(void **state)
{
    (void)state;
    ward_task_manifest *partial = manifest(g_id);
    /* same content, same digest: sign it by a and b only */
    assert_int_equal(ward_task_sign(partial, g_a.key), WARD_OK);
    assert_int_equal(ward_task_sign(partial, g_b.key), WARD_OK);
    char *env = tu_envelope(partial);
    /* no client certificate: 401 */
    resp r = http_as(NULL, "POST", "/v1/tasks", env, strlen(env));
    tu_expect_error(&r, 401, "unauthenticated");
    /* an outsider may not post it */
    r = http_as(&g_outsider, "POST", "/v1/tasks", env, strlen(env));
    tu_expect_error(&r, 403, "forbidden");
    r = http_as(&g_a, "POST", "/v1/tasks", env, strlen(env));
    if (r.status != 201)
        fprintf(stderr, "create: %ld %s\n", r.status, r.body);
    assert_int_equal(r.status, 201);
    json_t *j = tu_resp_json(&r);
    free(r.body);
    assert_string_equal(json_string_value(json_object_get(j, "state")), "created");
    assert_int_equal(json_array_size(json_object_get(j, "signatures_missing")), 1);
    assert_null(json_object_get(j, "ta"));
    json_decref(j);
    free(env);
    /* the same task again: 409 */
    env = tu_envelope(partial);
    r = http_as(&g_a, "POST", "/v1/tasks", env, strlen(env));
    tu_expect_error(&r, 409, "exists");
    free(env);
    ward_task_manifest_free(partial);
    tu_healthz(&W);

    /* the analyst's signature: approved, with a TA instance */
    ward_task_manifest *mine = manifest(g_id);
    assert_int_equal(ward_task_sign(mine, g_analyst.key), WARD_OK);
    env = tu_envelope(mine);
    ward_task_manifest_free(mine);
    char path[128];
    snprintf(path, sizeof path, "/v1/tasks/%s/signatures", g_id);
    r = http_as(&g_analyst, "POST", path, env, strlen(env));
    free(env);
    if (r.status != 200)
        fprintf(stderr, "signatures: %ld %s\n", r.status, r.body);
    assert_int_equal(r.status, 200);
    j = tu_resp_json(&r);
    free(r.body);
    if (strcmp(json_string_value(json_object_get(j, "state")), "approved") != 0)
        fail_msg("not approved: %s", json_string_value(json_object_get(j, "reason")));
    json_decref(j);
    assert_int_equal(ward_task_sign(g_m, g_a.key), WARD_OK);
    assert_int_equal(ward_task_sign(g_m, g_b.key), WARD_OK);
    assert_int_equal(ward_task_sign(g_m, g_analyst.key), WARD_OK);
}

static uint8_t g_task_pk[32];
static ward_pkey *g_sign_pk;

/* A provider checks the evidence: the platform's report binds the manifest and both keys. */
static void test_evidence(void **state)
{
    (void)state;
    json_t *j = get_task(&g_b);
    uint8_t digest[32];
    char dhex[65];
    ward_task_manifest_digest(g_m, digest);
    tu_hex(digest, 32, dhex);
    assert_string_equal(json_string_value(json_object_get(j, "manifest_sha256")), dhex);
    json_t *ta = json_object_get(j, "ta");
    assert_non_null(ta);
    const char *pkhex = json_string_value(json_object_get(ta, "task_pk"));
    assert_non_null(pkhex);
    assert_int_equal(ward_hex_decode_fixed(pkhex, strlen(pkhex), g_task_pk, 32), WARD_OK);
    size_t spl = 0;
    uint8_t *spk = tu_b64u_member(ta, "sign_pk", &spl);
    assert_int_equal(ward_pkey_from_spki_der(spk, spl, &g_sign_pk), WARD_OK);

    /* the evidence bundle verifies against this node's platform certificate (pinned) */
    char *ev = json_dumps(json_object_get(ta, "evidence"), JSON_COMPACT);
    assert_non_null(ev);
    ward_rot *rot = NULL;
    assert_int_equal(ward_rot_open(W.data, 0, &rot), WARD_OK);
    uint8_t pinned[1][WARD_SHA256_LEN];
    assert_int_equal(ward_cert_fingerprint(ward_rot_platform_cert(rot), pinned[0]), WARD_OK);
    ward_rot_close(rot);
    ward_evidence_trust trust = {.pinned = (const uint8_t(*)[WARD_SHA256_LEN])pinned,
                                 .n_pinned = 1};
    ward_claims claims;
    ward_evidence_result res;
    if (ward_evidence_verify(ev, strlen(ev), &trust, (int64_t)time(NULL), &claims, &res) !=
        WARD_OK)
        fail_msg("evidence: %s", ward_errmsg());
    free(ev);
    /* report_data = SHA-256(manifest digest || task_pk || SHA-256(sign_pk)) || 0^32 */
    uint8_t bind[96], expect[64] = {0};
    memcpy(bind, digest, 32);
    memcpy(bind + 32, g_task_pk, 32);
    assert_int_equal(ward_hash(WARD_HASH_SHA256, spk, spl, bind + 64), WARD_OK);
    assert_int_equal(ward_hash(WARD_HASH_SHA256, bind, sizeof bind, expect), WARD_OK);
    assert_memory_equal(claims.report_data, expect, 64);
    free(spk);
    json_decref(j);

    /* an outsider cannot read the task; nor can anyone without a certificate */
    char path[128];
    snprintf(path, sizeof path, "/v1/tasks/%s", g_id);
    resp r = http_as(&g_outsider, "GET", path, NULL, 0);
    tu_expect_error(&r, 403, "forbidden");
    r = http_as(NULL, "GET", path, NULL, 0);
    tu_expect_error(&r, 401, "unauthenticated");
    tu_healthz(&W);
}

/* The recipient's result key is the signed manifest's: there is no endpoint to register
 * another one (it was POST .../recipient-key), and nothing in the run request names a key. */
static void test_no_recipient_key_endpoint(void **state)
{
    (void)state;
    char path[128], body[128];
    snprintf(path, sizeof path, "/v1/tasks/%s/recipient-key", g_id);
    uint8_t osk[32], opk[32];
    assert_int_equal(ward_x25519_generate(osk, opk), WARD_OK);
    char *k = NULL;
    assert_int_equal(ward_base64url_encode(opk, 32, &k, NULL), WARD_OK);
    snprintf(body, sizeof body, "{\"x25519\":\"%s\"}", k);
    free(k);
    resp r = http_as(&g_analyst, "POST", path, body, strlen(body));
    tu_expect_error(&r, 404, "not_found");
    r = http_as(&g_a, "POST", path, body, strlen(body));
    tu_expect_error(&r, 404, "not_found");
    /* the task view no longer reports registered keys */
    json_t *j = get_task(&g_analyst);
    assert_null(json_object_get(j, "recipient_keys"));
    json_decref(j);
    ward_wipe(osk, sizeof osk);
}

static void put_chunk(const ident *who, const char *slot, size_t offset, int final,
                      const uint8_t *data, size_t len, resp *out)
{
    *out = tu_input_put(&W, who, g_id, slot, offset, final, data, len);
}

/* Encrypts csv to the task key with the slot's associated data and uploads it in two chunks,
 * re-sending the first once (409 with the offset to resume at). */
static void upload(const ident *who, const char *slot, const char *csv)
{
    size_t ctl = 0;
    uint8_t *ct = tu_input_seal(g_task_pk, g_id, slot, WARD_STREAM_MIN_CHUNK, csv, strlen(csv),
                                &ctl);
    size_t half = ctl / 2;
    resp r;
    put_chunk(who, slot, 0, 0, ct, half, &r);
    if (r.status != 200)
        fprintf(stderr, "upload: %ld %s\n", r.status, r.body);
    assert_int_equal(r.status, 200);
    json_t *j = tu_resp_json(&r);
    assert_int_equal(json_integer_value(json_object_get(j, "offset")), half);
    json_decref(j);
    free(r.body);
    /* a lost reply: the client sends the first chunk again and learns where to resume */
    put_chunk(who, slot, 0, 0, ct, half, &r);
    assert_int_equal(r.status, 409);
    j = tu_resp_json(&r);
    assert_string_equal(json_string_value(json_object_get(j, "error")), "offset_mismatch");
    json_int_t resume = json_integer_value(json_object_get(j, "offset"));
    assert_int_equal(resume, half);
    json_decref(j);
    free(r.body);
    put_chunk(who, slot, (size_t)resume, 1, ct + resume, ctl - (size_t)resume, &r);
    assert_int_equal(r.status, 200);
    j = tu_resp_json(&r);
    assert_true(json_is_true(json_object_get(j, "complete")));
    assert_int_equal(json_integer_value(json_object_get(j, "offset")), ctl);
    json_decref(j);
    free(r.body);
    free(ct);
}

static void test_upload(void **state)
{
    (void)state;
    /* not the owner of slot a */
    resp r;
    put_chunk(&g_b, "a", 0, 0, (const uint8_t *)"x", 1, &r);
    tu_expect_error(&r, 403, "forbidden");
    put_chunk(NULL, "a", 0, 0, (const uint8_t *)"x", 1, &r);
    tu_expect_error(&r, 401, "unauthenticated");
    put_chunk(&g_a, "nope", 0, 0, (const uint8_t *)"x", 1, &r);
    tu_expect_error(&r, 404, "not_found");
    tu_healthz(&W);
    upload(&g_a, "a", CSV_A);
    /* run before every input is complete: refused, nothing lost */
    char path[128];
    snprintf(path, sizeof path, "/v1/tasks/%s/run", g_id);
    r = http_as(&g_b, "POST", path, NULL, 0);
    tu_expect_error(&r, 409, "state");
    upload(&g_b, "b", CSV_B);
    json_t *j = get_task(&g_analyst);
    assert_string_equal(json_string_value(json_object_get(j, "state")), "collecting");
    json_decref(j);
}

static void test_run_and_result(void **state)
{
    (void)state;
    char path[128];
    /* a result before the run, and by a non-recipient */
    snprintf(path, sizeof path, "/v1/tasks/%s/result", g_id);
    resp r = http_as(&g_a, "GET", path, NULL, 0);
    tu_expect_error(&r, 403, "forbidden");
    /* a cancel by a non-participant */
    snprintf(path, sizeof path, "/v1/tasks/%s/cancel", g_id);
    r = http_as(&g_outsider, "POST", path, NULL, 0);
    tu_expect_error(&r, 403, "forbidden");
    tu_healthz(&W);

    tu_task_run_done(&W, &g_b, g_id);

    snprintf(path, sizeof path, "/v1/tasks/%s/result", g_id);
    r = http_as(&g_b, "GET", path, NULL, 0);
    tu_expect_error(&r, 403, "forbidden");
    /* the ciphertext: one piece here (small), from GET .../result/data */
    tu_result res;
    tu_result_fetch(&W, &g_analyst, g_id, &res);
    /* the key that signed is the one the evidence bound; only the manifest's recipient key
     * opens the result; the statement: "WARD-RESULT-1" 0 | 3 "sql" | digest | SHA-256(query) |
     * inputs | SHA-256(csv) | its length */
    uint8_t *der = NULL;
    size_t dl = 0;
    assert_int_equal(ward_pkey_spki_der(g_sign_pk, &der, &dl), WARD_OK);
    uint8_t digest[32];
    ward_task_manifest_digest(g_m, digest);
    size_t ptl = 0;
    char *pt = tu_result_open(&res, der, dl, digest, "sql", QUERY, g_sk, &ptl);
    free(der);
    if (ptl != strlen(EXPECTED) || memcmp(pt, EXPECTED, ptl) != 0)
        fail_msg("result: %.*s", (int)ptl, pt);
    free(pt);
    tu_result_free(&res);

    /* done: the TA is gone, inputs deleted, a further upload or run refused */
    json_t *j = get_task(&g_a);
    json_t *slots = json_object_get(j, "slots");
    assert_true(json_is_true(json_object_get(json_array_get(slots, 0), "deleted")));
    assert_true(json_is_false(json_object_get(json_object_get(j, "ta"), "alive")));
    json_decref(j);
    r = http_as(&g_b, "POST", path, NULL, 0); /* POST on /result */
    tu_expect_error(&r, 405, "method_not_allowed");
    snprintf(path, sizeof path, "/v1/tasks/%s/run", g_id);
    r = http_as(&g_b, "POST", path, NULL, 0);
    tu_expect_error(&r, 409, "state");
    snprintf(path, sizeof path, "/v1/tasks/%s/cancel", g_id);
    r = http_as(&g_b, "POST", path, NULL, 0);
    tu_expect_error(&r, 409, "state");
    tu_healthz(&W);
}

/* A second task, cancelled by a quorum (2 of 3) before any input. */
static void test_cancel(void **state)
{
    (void)state;
    char id[WARD_TASK_ID_HEX_LEN + 1];
    tu_task_new_id(id);
    ward_task_manifest *m = manifest(id);
    assert_int_equal(ward_task_sign(m, g_a.key), WARD_OK);
    assert_int_equal(ward_task_sign(m, g_b.key), WARD_OK);
    assert_int_equal(ward_task_sign(m, g_analyst.key), WARD_OK);
    char *env = tu_envelope(m);
    ward_task_manifest_free(m);
    tu_task_post_approved(&W, &g_b, env, NULL);
    free(env);
    char path[128];
    snprintf(path, sizeof path, "/v1/tasks/%s/cancel", id);
    resp r = http_as(&g_a, "POST", path, NULL, 0);
    assert_int_equal(r.status, 200);
    json_t *j = tu_resp_json(&r);
    free(r.body);
    assert_string_equal(json_string_value(json_object_get(j, "state")), "approved");
    assert_int_equal(json_integer_value(json_object_get(j, "cancel_votes")), 1);
    json_decref(j);
    r = http_as(&g_analyst, "POST", path, NULL, 0);
    assert_int_equal(r.status, 200);
    j = tu_resp_json(&r);
    free(r.body);
    assert_string_equal(json_string_value(json_object_get(j, "state")), "cancelled");
    assert_true(json_is_false(json_object_get(json_object_get(j, "ta"), "alive")));
    json_decref(j);
}

static void test_metrics(void **state)
{
    (void)state;
    resp r = http_as(&g_outsider, "GET", "/metrics", NULL, 0); /* node.monitor */
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "wardd_tasks{state=\"done\"} 1\n"));
    assert_non_null(strstr(r.body, "wardd_tasks{state=\"cancelled\"} 1\n"));
    assert_non_null(strstr(r.body, "wardd_ta_instances 0\n"));
    free(r.body);
}

static void test_sigterm(void **state)
{
    (void)state;
    tu_wardd_term(&W, NULL, NULL);
}

static int teardown(void **state)
{
    ward_task_manifest_free(g_m);
    ward_pkey_free(g_sign_pk);
    tu_party_free(&g_a);
    tu_party_free(&g_b);
    tu_party_free(&g_analyst);
    tu_party_free(&g_outsider);
    ward_wipe(g_sk, sizeof g_sk);
    return stop_daemon(state);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_setup_identities), cmocka_unit_test(test_create_and_approve),
        cmocka_unit_test(test_evidence),         cmocka_unit_test(test_no_recipient_key_endpoint),
        cmocka_unit_test(test_upload),           cmocka_unit_test(test_run_and_result),
        cmocka_unit_test(test_cancel),           cmocka_unit_test(test_metrics),
        cmocka_unit_test(test_sigterm),
    };
    int rc = cmocka_run_group_tests(tests, start_daemon, teardown);
    curl_global_cleanup();
    return rc;
}
