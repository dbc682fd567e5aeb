/* Sealing: round trips, the metadata a blob names, and every kind of bad blob (flipped bit,
 * other aad, other key, truncated, bad version), each failing with nothing returned. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "ward/crypto.h"
#include "ward/storage.h"

static const uint8_t K1[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
static const uint8_t K2[32] = {2, 2, 3, 4, 5, 6, 7, 8, 9, 10};
static const uint8_t AAD[] = "ta:alice/slot:1";
#define AAD_LEN (sizeof AAD - 1)

static void seal_ok(const uint8_t *pt, size_t n, uint8_t **blob, size_t *len)
{
    ward_seal_meta m = {WARD_SEAL_SIGNER, 7, 3};
    assert_int_equal(ward_seal(K1, &m, AAD, AAD_LEN, pt, n, blob, len), WARD_OK);
    assert_int_equal(*len, n + WARD_SEAL_OVERHEAD);
}

static void test_roundtrip(void **state)
{
    (void)state;
    size_t sizes[] = {0, 1, 31, 4096, 100000};
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
        size_t n = sizes[k];
        uint8_t *pt = malloc(n + 1);
        assert_non_null(pt);
        assert_int_equal(ward_random(pt, n), WARD_OK);
        uint8_t *blob = NULL, *out = NULL;
        size_t len = 0, out_len = 0;
        seal_ok(pt, n, &blob, &len);
        ward_seal_meta m;
        assert_int_equal(ward_seal_inspect(blob, len, &m), WARD_OK);
        assert_int_equal(m.policy, WARD_SEAL_SIGNER);
        assert_int_equal(m.svn, 7);
        assert_int_equal(m.key_version, 3);
        memset(&m, 0, sizeof m);
        assert_int_equal(ward_unseal(K1, AAD, AAD_LEN, blob, len, &out, &out_len, &m), WARD_OK);
        assert_int_equal(out_len, n);
        assert_int_equal(m.key_version, 3);
        if (n)
            assert_memory_equal(out, pt, n);
        /* two seals of the same data differ (random nonce) */
        uint8_t *blob2 = NULL;
        size_t len2 = 0;
        seal_ok(pt, n, &blob2, &len2);
        assert_memory_not_equal(blob, blob2, len);
        free(blob2);
        free(out);
        free(blob);
        free(pt);
    }
}

static void expect_fail(const uint8_t *key, const uint8_t *aad, size_t aad_len, const uint8_t *b,
                        size_t len, ward_err want, const char *needle)
{
    uint8_t *out = (uint8_t *)1;
    size_t out_len = 99;
    ward_err err = ward_unseal(key, aad, aad_len, b, len, &out, &out_len, NULL);
    assert_int_equal(err, want);
    assert_null(out);
    assert_int_equal(out_len, 0);
    if (needle && strstr(ward_errmsg(), needle) == NULL)
        fail_msg("message '%s' lacks '%s'", ward_errmsg(), needle);
}

static void test_bad_blobs(void **state)
{
    (void)state;
    uint8_t pt[100];
    memset(pt, 0x33, sizeof pt);
    uint8_t *blob = NULL;
    size_t len = 0;
    seal_ok(pt, sizeof pt, &blob, &len);
    /* every bit flip fails: the header bits are associated data, the rest ciphertext/tag */
    for (size_t i = 0; i < len; i++) {
        for (int b = 0; b < 8; b += 3) {
            blob[i] ^= (uint8_t)(1u << b);
            uint8_t *out = NULL;
            size_t out_len = 0;
            assert_int_not_equal(ward_unseal(K1, AAD, AAD_LEN, blob, len, &out, &out_len, NULL),
                                 WARD_OK);
            assert_null(out);
            blob[i] ^= (uint8_t)(1u << b);
        }
    }
    blob[len - 1] ^= 1;
    expect_fail(K1, AAD, AAD_LEN, blob, len, WARD_ERR_AUTH, "authentication failed");
    blob[len - 1] ^= 1;
    /* other aad, other key (another TA's sealing key) */
    expect_fail(K1, (const uint8_t *)"ta:bob", 6, blob, len, WARD_ERR_AUTH, "another key");
    expect_fail(K1, NULL, 0, blob, len, WARD_ERR_AUTH, NULL);
    expect_fail(K2, AAD, AAD_LEN, blob, len, WARD_ERR_AUTH, "another key");
    /* truncated, extended, bad magic, bad version, bad policy */
    expect_fail(K1, AAD, AAD_LEN, blob, len - 1, WARD_ERR_TRUNCATED, NULL);
    expect_fail(K1, AAD, AAD_LEN, blob, 3, WARD_ERR_TRUNCATED, NULL);
    uint8_t *big = malloc(len + 1);
    memcpy(big, blob, len);
    big[len] = 0;
    expect_fail(K1, AAD, AAD_LEN, big, len + 1, WARD_ERR_FORMAT, NULL);
    big[0] = 'X';
    expect_fail(K1, AAD, AAD_LEN, big, len, WARD_ERR_FORMAT, "magic");
    memcpy(big, blob, len);
    big[4] = 2;
    expect_fail(K1, AAD, AAD_LEN, big, len, WARD_ERR_UNSUPPORTED, "version");
    memcpy(big, blob, len);
    big[6] = 9;
    expect_fail(K1, AAD, AAD_LEN, big, len, WARD_ERR_FORMAT, "policy");
    free(big);
    free(blob);
}

static void test_args(void **state)
{
    (void)state;
    uint8_t *blob = NULL;
    size_t len = 0;
    ward_seal_meta bad = {(ward_seal_policy)5, 0, 0};
    assert_int_equal(ward_seal(K1, &bad, NULL, 0, NULL, 0, &blob, &len), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_seal(K1, NULL, NULL, 0, NULL, 0, &blob, &len), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_unseal(K1, NULL, 0, NULL, 0, &blob, &len, NULL), WARD_ERR_INVALID_ARG);
}

static void test_counters(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    ward_counters *c = NULL;
    assert_int_equal(ward_counters_open(dir, K1, &c), WARD_OK);
    uint64_t v = 9;
    assert_int_equal(ward_counters_get(c, "a", &v), WARD_OK);
    assert_int_equal(v, 0);
    for (int i = 0; i < 5; i++)
        assert_int_equal(ward_counters_increment(c, "a", &v), WARD_OK);
    assert_int_equal(v, 5);
    assert_int_equal(ward_counters_advance(c, "b", 40), WARD_OK);
    assert_int_equal(ward_counters_advance(c, "b", 39), WARD_ERR_STATE);
    ward_counters_close(c);
    assert_int_equal(ward_counters_open(dir, K1, &c), WARD_OK);
    assert_int_equal(ward_counters_get(c, "a", &v), WARD_OK);
    assert_int_equal(v, 5);
    assert_int_equal(ward_counters_get(c, "b", &v), WARD_OK);
    assert_int_equal(v, 40);
    ward_counters_close(c);
    /* another key: refused, not silently reset */
    assert_int_equal(ward_counters_open(dir, K2, &c), WARD_ERR_AUTH);
    tu_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_bad_blobs),
        cmocka_unit_test(test_args),
        cmocka_unit_test(test_counters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
