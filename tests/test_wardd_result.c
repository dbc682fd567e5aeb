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
    return tu_wardd_request(&W, who ? who->cert_path : NULL, who ? who->key_path : NULL, method,
                            path, NULL, 0);
}




static ward_task_manifest *manifest(void)
{
    const char *a = g_a.spki_b64, *b = g_b.spki_b64, *c = g_analyst.spki_b64;
    char x[65];
    for (size_t i = 0; i < 32; i++)
        snprintf(x + 2 * i, 3, "%02x", g_pk[i]);
    json_t *j = json_pack("{s:i, s:s, s:s, s:{s:s}, s:{s:s}, s:[{s:s, s:s, s:i}, {s:s, s:s, "
                          "s:i}], s:[{s:s, s:s}], s:I, s:s}",
                          "version", 1, "task_id", g_id, "creator", a, "function", "builtin",
                          "sql", "params", "query", QUERY, "inputs", "slot", "a", "owner", a,
                          "max_bytes", 8 << 20, "slot", "b", "owner", b, "max_bytes", 1 << 20,
                          "recipients", "identity", c, "x25519", x, "expires_at",
                          (json_int_t)time(NULL) + 3600, "retention", "delete-on-done");
    assert_non_null(j);
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    ward_task_manifest *m = NULL;
    if (ward_task_manifest_parse(text, strlen(text), &m) != WARD_OK)
        fail_msg("manifest: %s", ward_errmsg());
    free(text);
    assert_int_equal(ward_task_sign(m, g_a.key), WARD_OK);
    assert_int_equal(ward_task_sign(m, g_b.key), WARD_OK);
    assert_int_equal(ward_task_sign(m, g_analyst.key), WARD_OK);
    return m;
}

static void upload(const ident *who, const char *slot, const uint8_t task_pk[32],
                   const char *csv)
{
    char aad[256], path[256];
    snprintf(aad, sizeof aad, "ward-task-input-v1/%s/%s", g_id, slot);
    uint8_t *ct = NULL;
    size_t ctl = 0;
    assert_int_equal(ward_stream_seal(task_pk, 0, (const uint8_t *)aad, strlen(aad),
                                      (const uint8_t *)csv, strlen(csv), &ct, &ctl),
                     WARD_OK);
    snprintf(path, sizeof path, "/v1/tasks/%s/inputs/%s?offset=0&final=1", g_id, slot);
    tu_resp r = tu_wardd_request(&W, who->cert_path, who->key_path, "PUT", path,
                                 (const char *)ct, ctl);
    if (r.status != 200)
        fprintf(stderr, "upload %s: %ld %s\n", slot, r.status, r.body);
    assert_int_equal(r.status, 200);
    free(r.body);
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
    uint8_t rid[16];
    assert_int_equal(ward_random(rid, sizeof rid), WARD_OK);
    for (size_t i = 0; i < sizeof rid; i++)
        snprintf(g_id + 2 * i, 3, "%02x", rid[i]);
    make_data();

    ward_task_manifest *m = manifest();
    char *env = NULL;
    assert_int_equal(ward_task_envelope_serialize(m, &env, NULL), WARD_OK);
    tu_resp r = tu_wardd_request(&W, g_a.cert_path, g_a.key_path, "POST", "/v1/tasks", env,
                                 strlen(env));
    free(env);
    if (r.status != 201)
        fprintf(stderr, "create: %ld %s\n", r.status, r.body);
    assert_int_equal(r.status, 201);
    json_t *j = tu_resp_json(&r);
    free(r.body);
    assert_string_equal(json_string_value(json_object_get(j, "state")), "approved");
    const char *pkhex = json_string_value(json_object_get(json_object_get(j, "ta"), "task_pk"));
    assert_non_null(pkhex);
    uint8_t task_pk[32];
    assert_int_equal(ward_hex_decode_fixed(pkhex, strlen(pkhex), task_pk, 32), WARD_OK);
    json_decref(j);

    upload(&g_a, "a", task_pk, g_csv_a);
    upload(&g_b, "b", task_pk, CSV_B);
    char path[256];
    snprintf(path, sizeof path, "/v1/tasks/%s/run", g_id);
    r = http_as(&g_b, "POST", path);
    assert_int_equal(r.status, 200);
    j = tu_resp_json(&r);
    free(r.body);
    if (strcmp(json_string_value(json_object_get(j, "state")), "done") != 0)
        fail_msg("run: %s (%s)", json_string_value(json_object_get(j, "state")),
                 json_string_value(json_object_get(j, "reason")));
    json_decref(j);

    /* the metadata: statement, signature, the ciphertext's length and hash, no ciphertext */
    snprintf(path, sizeof path, "/v1/tasks/%s/result", g_id);
    r = http_as(&g_analyst, "GET", path);
    assert_int_equal(r.status, 200);
    j = tu_resp_json(&r);
    free(r.body);
    assert_null(json_object_get(j, "result_enc"));
    json_int_t total = json_integer_value(json_object_get(j, "result_bytes"));
    char sha_hex[65];
    const char *sh = json_string_value(json_object_get(j, "result_sha256"));
    assert_non_null(sh);
    snprintf(sha_hex, sizeof sha_hex, "%s", sh);
    size_t expected_len = strlen(g_expected);
    assert_true(expected_len > 2u * 1024u * 1024u); /* far above the old 960 KiB */
    assert_true(total > (json_int_t)expected_len);
    const char *stb = json_string_value(json_object_get(j, "statement"));
    uint8_t *st = NULL;
    size_t stl = 0;
    assert_int_equal(ward_base64url_decode(stb, strlen(stb), &st, &stl), WARD_OK);
    json_decref(j);

    /* the ciphertext in pieces: 1,000,000 bytes at a time, then the default (up to 8 MiB) */
    uint8_t *enc = malloc((size_t)total);
    assert_non_null(enc);
    size_t off = 0, pieces = 0;
    while (off < (size_t)total) {
        snprintf(path, sizeof path, "/v1/tasks/%s/result/data?offset=%zu%s", g_id, off,
                 pieces < 2 ? "&length=1000000" : "");
        r = http_as(&g_analyst, "GET", path);
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
    for (size_t i = 0; i < 32; i++)
        snprintf(hh + 2 * i, 3, "%02x", h[i]);
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
    assert_int_equal(stl, 14 + 1 + 3 + 4 * 32 + 8);
    assert_int_equal(ward_hash(WARD_HASH_SHA256, pt, ptl, h), WARD_OK);
    assert_memory_equal(st + 114, h, 32);
    uint64_t n = 0;
    for (int k = 0; k < 8; k++)
        n |= (uint64_t)st[146 + k] << (8 * k);
    assert_int_equal(n, ptl);
    free(pt);
    free(st);
    free(enc);

    /* not the recipient: a participant, an outsider (who holds result.read), nobody */
    snprintf(path, sizeof path, "/v1/tasks/%s/result/data?offset=0", g_id);
    r = http_as(&g_b, "GET", path);
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
    r = http_as(NULL, "GET", "/healthz");
    assert_int_equal(r.status, 200);
    free(r.body);
    ward_task_manifest_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_large_result),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
