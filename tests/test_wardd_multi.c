/* End-to-end test of a task with two recipients through the real wardd (docs/api.md "Tasks",
 * GET .../result and .../result/data): the TA encrypts the one CSV to each recipient; each
 * fetches its own metadata (the one statement and signature, its own result_bytes and
 * result_sha256) and its own ciphertext, decrypts the same CSV and verifies the statement. A
 * recipient's ciphertext does not open with the other's key, no parameter fetches the other's
 * file, and a participant who is no recipient is refused. */
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
#include "ward/json.h"
#include "ward/stream.h"
#include "ward/task.h"

static tu_wardd W;
static tu_party g_a, g_b, g_r1, g_r2, g_outsider;
static uint8_t g_sk1[32], g_pk1[32], g_sk2[32], g_pk2[32];

static const char CSV_A[] = "id,name\n1,ann\n2,bob\n3,cid\n";
static const char CSV_B[] = "id,score\n2,41\n3,22\n4,50\n";
static const char QUERY[] = "SELECT a.name, b.score FROM a JOIN b ON a.id = b.id ORDER BY a.id";
static const char EXPECTED[] = "name,score\r\nbob,41\r\ncid,22\r\n";

static int setup(void **state)
{
    (void)state;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return tu_wardd_start(&W);
}

static int teardown(void **state)
{
    (void)state;
    tu_party_free(&g_a);
    tu_party_free(&g_b);
    tu_party_free(&g_r1);
    tu_party_free(&g_r2);
    tu_party_free(&g_outsider);
    ward_wipe(g_sk1, sizeof g_sk1);
    ward_wipe(g_sk2, sizeof g_sk2);
    tu_wardd_stop(&W);
    curl_global_cleanup();
    return 0;
}

/* Recipients r1 (key pk1) and r2 (key pk2), in that order; signed by every participant. */
static ward_task_manifest *manifest(const char *id)
{
    const tu_slot slots[] = {{"a", g_a.key, 1 << 20}, {"b", g_b.key, 1 << 20}};
    const tu_manifest_spec spec = {.id = id, .creator = g_a.key, .fn = "sql",
                                   .params = json_pack("{s:s}", "query", QUERY),
                                   .slots = slots, .n_slots = 2, .recipient = g_r1.key,
                                   .x25519 = g_pk1, .expires_at = (int64_t)time(NULL) + 3600};
    json_t *j = tu_manifest_json(&spec);
    char x[65];
    tu_hex(g_pk2, 32, x);
    assert_int_equal(json_array_append_new(json_object_get(j, "recipients"),
                                           json_pack("{s:s, s:s}", "identity", g_r2.spki_b64,
                                                     "x25519", x)),
                     0);
    ward_task_manifest *m = tu_manifest_parse(j);
    json_decref(j);
    assert_int_equal(ward_task_recipient_count(m), 2);
    const ward_pkey *const all[] = {g_a.key, g_b.key, g_r1.key, g_r2.key};
    tu_manifest_sign(m, all, 4);
    return m;
}

static void upload(const tu_party *who, const char *id, const char *slot,
                   const uint8_t task_pk[32], const char *csv)
{
    size_t ctl = 0;
    uint8_t *ct = tu_input_seal(task_pk, id, slot, 0, csv, strlen(csv), &ctl);
    tu_input_upload(&W, who, id, slot, ct, ctl, 0);
    free(ct);
}

/* GET .../result as who: its result_bytes and result_sha256 must describe the ciphertext it
 * fetched (r->enc). */
static void check_meta(const tu_party *who, const char *id, const tu_result *r)
{
    char path[256];
    snprintf(path, sizeof path, "/v1/tasks/%s/result", id);
    json_t *j = tu_get_json(&W, who, path);
    assert_int_equal(json_integer_value(json_object_get(j, "result_bytes")), r->enc_len);
    uint8_t h[32];
    char hh[65];
    assert_int_equal(ward_hash(WARD_HASH_SHA256, r->enc, r->enc_len, h), WARD_OK);
    tu_hex(h, 32, hh);
    assert_string_equal(json_string_value(json_object_get(j, "result_sha256")), hh);
    json_decref(j);
}

static void test_two_recipients(void **state)
{
    (void)state;
    tu_party_make(&W, &g_a, "provider-a", "data-provider");
    tu_party_make(&W, &g_b, "provider-b", "data-provider");
    tu_party_make(&W, &g_r1, "analyst-1", "result-consumer");
    tu_party_make(&W, &g_r2, "analyst-2", "result-consumer");
    /* may read results on this node (RBAC), but is no participant of this task */
    tu_party_make(&W, &g_outsider, "outsider", "result-consumer");
    assert_int_equal(ward_x25519_generate(g_sk1, g_pk1), WARD_OK);
    assert_int_equal(ward_x25519_generate(g_sk2, g_pk2), WARD_OK);
    char id[WARD_TASK_ID_HEX_LEN + 1];
    tu_task_new_id(id);

    ward_task_manifest *m = manifest(id);
    char *env = tu_envelope(m);
    uint8_t task_pk[32];
    tu_task_post_approved(&W, &g_a, env, task_pk);
    free(env);
    upload(&g_a, id, "a", task_pk, CSV_A);
    upload(&g_b, id, "b", task_pk, CSV_B);
    tu_task_run_done(&W, &g_b, id);

    uint8_t digest[32];
    ward_task_manifest_digest(m, digest);
    tu_result r1, r2;
    tu_result_fetch(&W, &g_r1, id, &r1);
    tu_result_fetch(&W, &g_r2, id, &r2);
    check_meta(&g_r1, id, &r1);
    check_meta(&g_r2, id, &r2);
    /* one statement and one signature for both; each its own ciphertext */
    assert_int_equal(r1.statement_len, r2.statement_len);
    assert_memory_equal(r1.statement, r2.statement, r1.statement_len);
    assert_int_equal(r1.signature_len, r2.signature_len);
    assert_memory_equal(r1.signature, r2.signature, r1.signature_len);
    assert_false(r1.enc_len == r2.enc_len && memcmp(r1.enc, r2.enc, r1.enc_len) == 0);
    size_t l1 = 0, l2 = 0;
    char *p1 = tu_result_open(&r1, r1.sign_pk, r1.sign_pk_len, digest, "sql", QUERY, g_sk1, &l1);
    char *p2 = tu_result_open(&r2, r1.sign_pk, r1.sign_pk_len, digest, "sql", QUERY, g_sk2, &l2);
    assert_string_equal(p1, EXPECTED);
    assert_string_equal(p2, EXPECTED);
    free(p1);
    free(p2);
    /* neither ciphertext opens with the other recipient's key */
    uint8_t *pt = NULL;
    size_t ptl = 0;
    assert_int_not_equal(ward_stream_open(g_sk2, digest, 32, r1.enc, r1.enc_len, &pt, &ptl),
                         WARD_OK);
    assert_int_not_equal(ward_stream_open(g_sk1, digest, 32, r2.enc, r2.enc_len, &pt, &ptl),
                         WARD_OK);
    assert_null(pt);

    /* r1 cannot reach r2's file by any parameter: the file is the caller's own, whatever the
     * query names (another identity, a path, the other's length) */
    char rh2[65], path[512];
    tu_hex(g_r2.hash, 32, rh2);
    static const char *const extra[] = {"&recipient=", "&identity=", "&file=result-", "&who="};
    for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++) {
        snprintf(path, sizeof path, "/v1/tasks/%s/result/data?offset=0%s%s", id, extra[i], rh2);
        tu_resp r = tu_party_request(&W, &g_r1, "GET", path, NULL, 0);
        tu_expect_error(&r, 400, "bad_request");
        snprintf(path, sizeof path, "/v1/tasks/%s/result?recipient=%s", id, rh2);
        json_t *j = tu_get_json(&W, &g_r1, path);
        assert_int_equal(json_integer_value(json_object_get(j, "result_bytes")), r1.enc_len);
        json_decref(j);
    }
    snprintf(path, sizeof path, "/v1/tasks/%s/result/%s", id, rh2);
    tu_resp r = tu_party_request(&W, &g_r1, "GET", path, NULL, 0);
    assert_true(r.status == 404 || r.status == 405);
    free(r.body);
    snprintf(path, sizeof path, "/v1/tasks/%s/result/data/../result-%s.data?offset=0", id, rh2);
    r = tu_party_request(&W, &g_r1, "GET", path, NULL, 0);
    assert_true(r.status >= 400 && r.status < 500);
    free(r.body);
    /* whatever r1 reads at any offset is its own ciphertext */
    snprintf(path, sizeof path, "/v1/tasks/%s/result/data?offset=%zu&length=%zu", id,
             r1.enc_len - 1, (size_t)1);
    r = tu_party_request(&W, &g_r1, "GET", path, NULL, 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.len, 1);
    assert_int_equal((uint8_t)r.body[0], r1.enc[r1.enc_len - 1]);
    free(r.body);
    snprintf(path, sizeof path, "/v1/tasks/%s/result/data?offset=%zu", id, r1.enc_len);
    r = tu_party_request(&W, &g_r1, "GET", path, NULL, 0);
    tu_expect_error(&r, 400, "bad_offset");

    /* a participant who is no recipient, and an outsider: 403 on both routes */
    static const char *const routes[] = {"", "/data?offset=0"};
    for (size_t i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "/v1/tasks/%s/result%s", id, routes[i]);
        r = tu_party_request(&W, &g_a, "GET", path, NULL, 0);
        tu_expect_error(&r, 403, "forbidden");
        r = tu_party_request(&W, &g_b, "GET", path, NULL, 0);
        tu_expect_error(&r, 403, "forbidden");
        r = tu_party_request(&W, &g_outsider, "GET", path, NULL, 0);
        tu_expect_error(&r, 403, "forbidden");
    }
    tu_result_free(&r1);
    tu_result_free(&r2);
    tu_healthz(&W);
    ward_task_manifest_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_recipients),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
