/* End-to-end test of a large task result through the real wardd (docs/api.md "Tasks", GET
 * .../result and .../result/data): a sql task whose CSV result is several MiB (far above one
 * TA message) is run; the recipient fetches the metadata, then the ciphertext in pieces, and
 * decrypts exactly the CSV the signed statement names. A participant who is not the recipient,
 * an outsider and an anonymous caller are refused; bad offsets and lengths are refused; the
 * daemon keeps serving. */
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
#include "ward/x509.h"

typedef tu_party ident;

static tu_wardd W;
static ident g_a, g_b, g_analyst, g_outsider;
static char g_id[WARD_TASK_ID_HEX_LEN + 1];
static uint8_t g_sk[32], g_pk[32];
static char *g_csv_a, *g_expected;

#define ROWS_A 20000u
static const char CSV_B[] = "k\nx\ny\nz\n";
static const char QUERY[] = "SELECT a.id, a.pad, b.k FROM a, b ORDER BY a.id, b.k";

static tu_resp http_as(const ident *who, const char *method, const char *path)
{
    return tu_party_request(&W, who, method, path, NULL, 0);
}

static ward_task_manifest *manifest(void)
{
    const tu_slot slots[] = {{"a", g_a.key, 8 << 20}, {"b", g_b.key, 1 << 20}};
    const tu_manifest_spec spec = {.id = g_id, .creator = g_a.key, .fn = "sql",
                                   .params = json_pack("{s:s}", "query", QUERY),
                                   .slots = slots, .n_slots = 2, .recipient = g_analyst.key,
                                   .x25519 = g_pk, .expires_at = (int64_t)time(NULL) + 3600};
    ward_task_manifest *m = tu_manifest_make(&spec);
    const ward_pkey *const all[] = {g_a.key, g_b.key, g_analyst.key};
    tu_manifest_sign(m, all, 3);
    return m;
}

/* csv sealed in the stream's default chunks, in one PUT. */
static void upload(const ident *who, const char *slot, const uint8_t task_pk[32],
                   const char *csv)
{
    size_t ctl = 0;
    uint8_t *ct = tu_input_seal(task_pk, g_id, slot, 0, csv, strlen(csv), &ctl);
    tu_input_upload(&W, who, g_id, slot, ct, ctl, 0);
    free(ct);
}

static void make_data(void)
{
    size_t cap = 64 + ROWS_A * 64, len = 0;
    g_csv_a = malloc(cap);
    assert_non_null(g_csv_a);
    len += (size_t)snprintf(g_csv_a, cap, "id,pad\n");
    for (unsigned i = 1; i <= ROWS_A; i++)
        len += (size_t)snprintf(g_csv_a + len, cap - len, "%u,p%040u\n", i, i * 31u);
    size_t ecap = 64 + ROWS_A * 3 * 64, el = 0;
    g_expected = malloc(ecap);
    assert_non_null(g_expected);
    el += (size_t)snprintf(g_expected, ecap, "id,pad,k\r\n");
    static const char *const ks[] = {"x", "y", "z"};
    for (unsigned i = 1; i <= ROWS_A; i++)
        for (int k = 0; k < 3; k++)
            el += (size_t)snprintf(g_expected + el, ecap - el, "%u,p%040u,%s\r\n", i, i * 31u,
                                   ks[k]);
}

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
    tu_party_free(&g_analyst);
    tu_party_free(&g_outsider);
    free(g_csv_a);
    free(g_expected);
    ward_wipe(g_sk, sizeof g_sk);
    tu_wardd_stop(&W);
    curl_global_cleanup();
    return 0;
}

static void test_large_result(void **state)
{
    (void)state;
    tu_party_make(&W, &g_a, "provider-a", "data-provider");
    tu_party_make(&W, &g_b, "provider-b", "data-provider");
    tu_party_make(&W, &g_analyst, "analyst", "result-consumer");
    /* may read results on this node (RBAC), but is no recipient of this task */
    tu_party_make(&W, &g_outsider, "outsider", "result-consumer");
    assert_int_equal(ward_x25519_generate(g_sk, g_pk), WARD_OK);
    tu_task_new_id(g_id);
    make_data();

    ward_task_manifest *m = manifest();
    char *env = tu_envelope(m);
    uint8_t task_pk[32];
    tu_task_post_approved(&W, &g_a, env, task_pk);
    free(env);

    upload(&g_a, "a", task_pk, g_csv_a);
    upload(&g_b, "b", task_pk, CSV_B);
    tu_task_run_done(&W, &g_b, g_id);

    /* the metadata: statement, signature, the ciphertext's length and hash, no ciphertext */
    char path[256];
    snprintf(path, sizeof path, "/v1/tasks/%s/result", g_id);
    json_t *j = tu_get_json(&W, &g_analyst, path);
    assert_null(json_object_get(j, "result_enc"));
    json_int_t total = json_integer_value(json_object_get(j, "result_bytes"));
    char sha_hex[65];
    const char *sh = json_string_value(json_object_get(j, "result_sha256"));
    assert_non_null(sh);
    snprintf(sha_hex, sizeof sha_hex, "%s", sh);
    size_t expected_len = strlen(g_expected);
    assert_true(expected_len > 2u * 1024u * 1024u); /* far above the old 960 KiB */
    assert_true(total > (json_int_t)expected_len);
    size_t stl = 0;
    uint8_t *st = tu_b64u_member(j, "statement", &stl);
    json_decref(j);

    /* the ciphertext in pieces: 1,000,000 bytes at a time, then the default (up to 8 MiB) */
    uint8_t *enc = malloc((size_t)total);
    assert_non_null(enc);
    size_t off = 0, pieces = 0;
    while (off < (size_t)total) {
        snprintf(path, sizeof path, "/v1/tasks/%s/result/data?offset=%zu%s", g_id, off,
                 pieces < 2 ? "&length=1000000" : "");
        tu_resp r = http_as(&g_analyst, "GET", path);
        if (r.status != 200)
            fail_msg("data at %zu: %ld %s", off, r.status, r.body);
        assert_true(r.len > 0 && r.len <= (size_t)total - off);
        if (pieces < 2)
            assert_int_equal(r.len, 1000000);
        memcpy(enc + off, r.body, r.len);
        off += r.len;
        pieces++;
        free(r.body);
    }
    assert_true(pieces >= 3);
    uint8_t h[32];
    char hh[65];
    assert_int_equal(ward_hash(WARD_HASH_SHA256, enc, (size_t)total, h), WARD_OK);
    tu_hex(h, 32, hh);
    assert_string_equal(hh, sha_hex);
    uint8_t digest[32];
    ward_task_manifest_digest(m, digest);
    uint8_t *pt = NULL;
    size_t ptl = 0;
    assert_int_equal(ward_stream_open(g_sk, digest, 32, enc, (size_t)total, &pt, &ptl),
                     WARD_OK);
    assert_int_equal(ptl, expected_len);
    assert_memory_equal(pt, g_expected, ptl);
    /* the statement signs this CSV: its SHA-256 and length */
    tu_statement_check(st, stl, "sql", digest, QUERY, pt, ptl);
    free(pt);
    free(st);
    free(enc);

    /* not the recipient: a participant, an outsider (who holds result.read), nobody */
    snprintf(path, sizeof path, "/v1/tasks/%s/result/data?offset=0", g_id);
    tu_resp r = http_as(&g_b, "GET", path);
    tu_expect_error(&r, 403, "forbidden");
    r = http_as(&g_outsider, "GET", path);
    tu_expect_error(&r, 403, "forbidden");
    r = http_as(NULL, "GET", path);
    tu_expect_error(&r, 401, "unauthenticated");
    r = http_as(&g_analyst, "POST", path);
    tu_expect_error(&r, 405, "method_not_allowed");

    /* bad offsets and lengths */
    snprintf(path, sizeof path, "/v1/tasks/%s/result/data?offset=%lld", g_id, (long long)total);
    r = http_as(&g_analyst, "GET", path);
    tu_expect_error(&r, 400, "bad_offset");
    snprintf(path, sizeof path, "/v1/tasks/%s/result/data?offset=99999999999999", g_id);
    r = http_as(&g_analyst, "GET", path);
    tu_expect_error(&r, 400, "bad_offset");
    static const char *const bad[] = {"", "?offset=", "?offset=-1", "?offset=1x", "?offset=01",
                                      "?offset=0&length=0", "?offset=0&length=8388609",
                                      "?offset=0&what=1", "?length=5"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(path, sizeof path, "/v1/tasks/%s/result/data%s", g_id, bad[i]);
        r = http_as(&g_analyst, "GET", path);
        tu_expect_error(&r, 400, "bad_request");
    }
    /* the last byte alone is a piece */
    snprintf(path, sizeof path, "/v1/tasks/%s/result/data?offset=%lld", g_id,
             (long long)total - 1);
    r = http_as(&g_analyst, "GET", path);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.len, 1);
    free(r.body);
    tu_healthz(&W);
    ward_task_manifest_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_large_result),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
