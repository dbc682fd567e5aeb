/* Symmetric primitives against known answers: Wycheproof AES-GCM, ChaCha20-Poly1305, HKDF and
 * HMAC (SHA-256), X25519; RFC 5869 appendix A.1-A.3; RFC 7748 sections 5.2 and 6.1; FIPS 180
 * "abc" digests; plus ward_ct_equal, ward_random and incremental hashing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "ward/crypto.h"

static const char *jstr(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    if (s == NULL)
        fail_msg("vector field \"%s\" missing", key);
    return s;
}

static size_t jsize(const json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        fail_msg("vector field \"%s\" missing or negative", key);
    return (size_t)json_integer_value(v);
}

static long long tc_id(const json_t *test)
{
    return json_integer_value(json_object_get(test, "tcId"));
}

static int has_flag(const json_t *test, const char *flag)
{
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(test, "flags"), i, f) {
        if (strcmp(json_string_value(f), flag) == 0)
            return 1;
    }
    return 0;
}

static uint8_t *unhex_field(const json_t *obj, const char *key, size_t *len)
{
    return tu_unhex(jstr(obj, key), len);
}

/* ---- AEAD --------------------------------------------------------------------------------- */

typedef struct aead_tally {
    unsigned valid, invalid, rejected_params, skipped_keysize, skipped_tagsize, skipped_tests;
    unsigned skipped_long_iv;
} aead_tally;

/* OpenSSL 3.0's GCM provider takes IVs of at most 128 bytes (GCM_IV_MAX_SIZE, 1024 bits),
 * while crypto.h promises 1..1024 bytes; vectors with longer IVs are counted and skipped
 * until the two agree. */
#define GCM_IV_MAX_OPENSSL 128

/* One Wycheproof AEAD test: valid ones must seal to ct||tag and open to msg; invalid ones must
 * not open. nonce_ok says whether our API takes the nonce length; if not, both calls must
 * refuse it with WARD_ERR_INVALID_ARG (and the vector must be "invalid"). */
static void aead_case(ward_aead_alg alg, const json_t *test, aead_tally *t)
{
    size_t key_len, iv_len, aad_len, msg_len, ct_len, tag_len;
    uint8_t *key = unhex_field(test, "key", &key_len);
    uint8_t *iv = unhex_field(test, "iv", &iv_len);
    uint8_t *aad = unhex_field(test, "aad", &aad_len);
    uint8_t *msg = unhex_field(test, "msg", &msg_len);
    uint8_t *ct = unhex_field(test, "ct", &ct_len);
    uint8_t *tag = unhex_field(test, "tag", &tag_len);
    const char *result = jstr(test, "result");
    /* Vectors with a bad nonce size carry no tag; our API always takes 16 bytes. */
    uint8_t tag16[WARD_AEAD_TAG_LEN] = {0};
    if (tag_len == WARD_AEAD_TAG_LEN)
        memcpy(tag16, tag, WARD_AEAD_TAG_LEN);
    else
        assert_string_equal(result, "invalid");
    if (alg != WARD_AEAD_CHACHA20_POLY1305 && iv_len > GCM_IV_MAX_OPENSSL) {
        t->skipped_long_iv++;
        free(key);
        free(iv);
        free(aad);
        free(msg);
        free(ct);
        free(tag);
        return;
    }

    ward_aead *a = NULL;
    assert_int_equal(ward_aead_new(alg, key, key_len, &a), WARD_OK);
    size_t buf_len = (msg_len > ct_len ? msg_len : ct_len) + 1;
    uint8_t *out = malloc(buf_len);
    assert_non_null(out);
    uint8_t out_tag[WARD_AEAD_TAG_LEN];

    int nonce_ok = alg == WARD_AEAD_CHACHA20_POLY1305 ? iv_len == WARD_AEAD_NONCE_LEN
                                                      : iv_len >= 1 && iv_len <= 1024;
    if (!nonce_ok) {
        if (strcmp(result, "invalid") != 0)
            fail_msg("tcId %lld: valid vector with a nonce of %zu bytes our API refuses",
                     tc_id(test), iv_len);
        assert_int_equal(ward_aead_seal(a, iv, iv_len, aad, aad_len, msg, msg_len, out,
                                        out_tag), WARD_ERR_INVALID_ARG);
        assert_int_equal(ward_aead_open(a, iv, iv_len, aad, aad_len, ct, ct_len, tag16, out),
                         WARD_ERR_INVALID_ARG);
        t->rejected_params++;
    } else if (strcmp(result, "valid") == 0) {
        assert_int_equal(ct_len, msg_len);
        if (ward_aead_seal(a, iv, iv_len, aad, aad_len, msg, msg_len, out, out_tag) != WARD_OK)
            fail_msg("tcId %lld: seal failed: %s", tc_id(test), ward_errmsg());
        if (memcmp(out, ct, ct_len) != 0 || memcmp(out_tag, tag16, WARD_AEAD_TAG_LEN) != 0)
            fail_msg("tcId %lld: seal gave the wrong ciphertext or tag", tc_id(test));
        if (ward_aead_open(a, iv, iv_len, aad, aad_len, ct, ct_len, tag16, out) != WARD_OK)
            fail_msg("tcId %lld: open failed: %s", tc_id(test), ward_errmsg());
        assert_memory_equal(out, msg, msg_len);
        /* In place, as the stream layer uses it. */
        memcpy(out, msg, msg_len);
        assert_int_equal(ward_aead_seal(a, iv, iv_len, aad, aad_len, out, msg_len, out,
                                        out_tag), WARD_OK);
        assert_memory_equal(out, ct, ct_len);
        assert_int_equal(ward_aead_open(a, iv, iv_len, aad, aad_len, out, ct_len, tag16, out),
                         WARD_OK);
        assert_memory_equal(out, msg, msg_len);
        t->valid++;
    } else {
        memset(out, 0xaa, buf_len);
        ward_err rc = ward_aead_open(a, iv, iv_len, aad, aad_len, ct, ct_len, tag16, out);
        if (rc != WARD_ERR_AUTH)
            fail_msg("tcId %lld (%s): invalid vector gave %s", tc_id(test),
                     jstr(test, "comment"), ward_err_name(rc));
        /* No unauthenticated plaintext is released. */
        for (size_t i = 0; i < ct_len; i++)
            assert_int_equal(out[i], 0);
        t->invalid++;
    }
    ward_aead_free(a);
    free(out);
    free(key);
    free(iv);
    free(aad);
    free(msg);
    free(ct);
    free(tag);
}

static void test_wycheproof_aes_gcm(void **state)
{
    (void)state;
    json_t *root = tu_load_json_vector("crypto/wycheproof_aes_gcm_test.json");
    aead_tally t = {0};
    size_t gi;
    json_t *group;
    json_array_foreach(json_object_get(root, "testGroups"), gi, group) {
        size_t ntests = json_array_size(json_object_get(group, "tests"));
        size_t key_bits = jsize(group, "keySize");
        if (jsize(group, "tagSize") != 128) {
            t.skipped_tagsize++;
            t.skipped_tests += (unsigned)ntests;
            continue;
        }
        ward_aead_alg alg;
        if (key_bits == 128) {
            alg = WARD_AEAD_AES_128_GCM;
        } else if (key_bits == 256) {
            alg = WARD_AEAD_AES_256_GCM;
        } else {
            t.skipped_keysize++;
            t.skipped_tests += (unsigned)ntests;
            continue;
        }
        size_t ti;
        json_t *test;
        json_array_foreach(json_object_get(group, "tests"), ti, test) {
            aead_case(alg, test, &t);
        }
    }
    print_message("wycheproof_aes_gcm_test.json: %u valid, %u invalid rejected, %u refused for "
                  "nonce length (0 bytes), %u tests skipped (%u groups with 192-bit keys, %u "
                  "groups with tags other than 128 bits), %u skipped for IVs over %d bytes\n",
                  t.valid, t.invalid, t.rejected_params, t.skipped_tests, t.skipped_keysize,
                  t.skipped_tagsize, t.skipped_long_iv, GCM_IV_MAX_OPENSSL);
    assert_true(t.valid > 0 && t.invalid > 0);
    json_decref(root);
}

static void test_wycheproof_chacha20_poly1305(void **state)
{
    (void)state;
    json_t *root = tu_load_json_vector("crypto/wycheproof_chacha20_poly1305_test.json");
    aead_tally t = {0};
    unsigned bad_nonce_flagged = 0;
    size_t gi;
    json_t *group;
    json_array_foreach(json_object_get(root, "testGroups"), gi, group) {
        assert_int_equal(jsize(group, "keySize"), 256);
        if (jsize(group, "tagSize") != 128) {
            t.skipped_tagsize++;
            t.skipped_tests += (unsigned)json_array_size(json_object_get(group, "tests"));
            continue;
        }
        size_t ti;
        json_t *test;
        json_array_foreach(json_object_get(group, "tests"), ti, test) {
            if (has_flag(test, "InvalidNonceSize"))
                bad_nonce_flagged++;
            aead_case(WARD_AEAD_CHACHA20_POLY1305, test, &t);
        }
    }
    print_message("wycheproof_chacha20_poly1305_test.json: %u valid, %u invalid rejected, %u "
                  "refused for nonce length (not 12 bytes; %u flagged InvalidNonceSize), %u "
                  "skipped\n", t.valid, t.invalid, t.rejected_params, bad_nonce_flagged,
                  t.skipped_tests);
    assert_int_equal(t.rejected_params, bad_nonce_flagged);
    assert_true(t.valid > 0 && t.invalid > 0);
    json_decref(root);
}

/* ---- HKDF and HMAC ------------------------------------------------------------------------ */

static void test_wycheproof_hkdf_sha256(void **state)
{
    (void)state;
    json_t *root = tu_load_json_vector("crypto/wycheproof_hkdf_sha256_test.json");
    unsigned valid = 0, invalid = 0;
    size_t gi;
    json_t *group;
    json_array_foreach(json_object_get(root, "testGroups"), gi, group) {
        size_t ti;
        json_t *test;
        json_array_foreach(json_object_get(group, "tests"), ti, test) {
            size_t ikm_len, salt_len, info_len, okm_len;
            uint8_t *ikm = unhex_field(test, "ikm", &ikm_len);
            uint8_t *salt = unhex_field(test, "salt", &salt_len);
            uint8_t *info = unhex_field(test, "info", &info_len);
            uint8_t *okm = unhex_field(test, "okm", &okm_len);
            size_t size = jsize(test, "size");
            uint8_t *out = malloc(size);
            assert_non_null(out);
            ward_err rc = ward_hkdf(WARD_HASH_SHA256, salt, salt_len, ikm, ikm_len, info,
                                    info_len, out, size);
            if (strcmp(jstr(test, "result"), "valid") == 0) {
                if (rc != WARD_OK)
                    fail_msg("tcId %lld: hkdf failed: %s", tc_id(test), ward_errmsg());
                assert_int_equal(okm_len, size);
                assert_memory_equal(out, okm, size);
                /* Extract then expand gives the same. */
                uint8_t prk[WARD_SHA256_LEN];
                assert_int_equal(ward_hkdf_extract(WARD_HASH_SHA256, salt, salt_len, ikm,
                                                   ikm_len, prk), WARD_OK);
                memset(out, 0, size);
                assert_int_equal(ward_hkdf_expand(WARD_HASH_SHA256, prk, sizeof prk, info,
                                                  info_len, out, size), WARD_OK);
                assert_memory_equal(out, okm, size);
                valid++;
            } else {
                /* SizeTooLarge: more than 255 * HashLen. */
                if (rc == WARD_OK)
                    fail_msg("tcId %lld: invalid HKDF request accepted", tc_id(test));
                assert_true(rc == WARD_ERR_INVALID_ARG || rc == WARD_ERR_OVERFLOW);
                invalid++;
            }
            free(out);
            free(ikm);
            free(salt);
            free(info);
            free(okm);
        }
    }
    print_message("wycheproof_hkdf_sha256_test.json: %u valid, %u invalid rejected, 0 skipped\n",
                  valid, invalid);
    assert_true(valid > 0 && invalid > 0);
    json_decref(root);
}

static void test_wycheproof_hmac_sha256(void **state)
{
    (void)state;
    json_t *root = tu_load_json_vector("crypto/wycheproof_hmac_sha256_test.json");
    unsigned valid = 0, invalid = 0, truncated = 0;
    size_t gi;
    json_t *group;
    json_array_foreach(json_object_get(root, "testGroups"), gi, group) {
        size_t tag_bits = jsize(group, "tagSize");
        assert_true(tag_bits % 8 == 0 && tag_bits > 0 && tag_bits <= 256);
        size_t tag_bytes = tag_bits / 8;
        size_t ti;
        json_t *test;
        json_array_foreach(json_object_get(group, "tests"), ti, test) {
            size_t key_len, msg_len, tag_len;
            uint8_t *key = unhex_field(test, "key", &key_len);
            uint8_t *msg = unhex_field(test, "msg", &msg_len);
            uint8_t *tag = unhex_field(test, "tag", &tag_len);
            assert_int_equal(tag_len, tag_bytes);
            uint8_t mac[WARD_SHA256_LEN];
            if (ward_hmac(WARD_HASH_SHA256, key, key_len, msg, msg_len, mac) != WARD_OK)
                fail_msg("tcId %lld: hmac failed: %s", tc_id(test), ward_errmsg());
            /* Truncated-tag groups compare a prefix, as a verifier of such tags would. */
            int eq = ward_ct_equal(mac, tag, tag_bytes);
            if (strcmp(jstr(test, "result"), "valid") == 0) {
                if (!eq)
                    fail_msg("tcId %lld: wrong HMAC", tc_id(test));
                valid++;
            } else {
                if (eq)
                    fail_msg("tcId %lld: modified tag matched", tc_id(test));
                invalid++;
            }
            if (tag_bytes < WARD_SHA256_LEN)
                truncated++;
            free(key);
            free(msg);
            free(tag);
        }
    }
    print_message("wycheproof_hmac_sha256_test.json: %u valid, %u invalid rejected (%u of all "
                  "with truncated tags), 0 skipped\n", valid, invalid, truncated);
    assert_true(valid > 0 && invalid > 0 && truncated > 0);
    json_decref(root);
}

/* RFC 5869 appendix A, test cases 1-3 (SHA-256), with the intermediate PRKs. */
static void test_rfc5869(void **state)
{
    (void)state;
    static const struct {
        const char *ikm, *salt, *info, *prk, *okm;
    } v[] = {
        {"0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "000102030405060708090a0b0c",
         "f0f1f2f3f4f5f6f7f8f9",
         "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5",
         "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"},
        {"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a"
         "2b2c2d2e2f303132333435363738393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f",
         "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f808182838485868788898a"
         "8b8c8d8e8f909192939495969798999a9b9c9d9e9fa0a1a2a3a4a5a6a7a8a9aaabacadaeaf",
         "b0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9da"
         "dbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff",
         "06a6b88c5853361a06104c9ceb35b45cef760014904671014a193f40c15fc244",
         "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c59045a99cac7827271cb41"
         "c65e590e09da3275600c2f09b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f1d87"},
        {"0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "", "",
         "19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04",
         "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8"},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        size_t ikm_len, salt_len, info_len, prk_len, okm_len;
        uint8_t *ikm = tu_unhex(v[i].ikm, &ikm_len);
        uint8_t *salt = tu_unhex(v[i].salt, &salt_len);
        uint8_t *info = tu_unhex(v[i].info, &info_len);
        uint8_t *prk = tu_unhex(v[i].prk, &prk_len);
        uint8_t *okm = tu_unhex(v[i].okm, &okm_len);
        uint8_t got_prk[WARD_SHA256_LEN];
        assert_int_equal(ward_hkdf_extract(WARD_HASH_SHA256, salt, salt_len, ikm, ikm_len,
                                           got_prk), WARD_OK);
        assert_memory_equal(got_prk, prk, prk_len);
        uint8_t out[82];
        assert_true(okm_len <= sizeof out);
        assert_int_equal(ward_hkdf_expand(WARD_HASH_SHA256, prk, prk_len, info, info_len, out,
                                          okm_len), WARD_OK);
        assert_memory_equal(out, okm, okm_len);
        memset(out, 0, sizeof out);
        assert_int_equal(ward_hkdf(WARD_HASH_SHA256, salt, salt_len, ikm, ikm_len, info,
                                   info_len, out, okm_len), WARD_OK);
        assert_memory_equal(out, okm, okm_len);
        if (salt_len == 0) {
            /* NULL salt is the same as empty: HashLen zeros. */
            memset(got_prk, 0, sizeof got_prk);
            assert_int_equal(ward_hkdf_extract(WARD_HASH_SHA256, NULL, 0, ikm, ikm_len,
                                               got_prk), WARD_OK);
            assert_memory_equal(got_prk, prk, prk_len);
        }
        free(ikm);
        free(salt);
        free(info);
        free(prk);
        free(okm);
    }
}

/* ---- X25519 ------------------------------------------------------------------------------- */

static void test_wycheproof_x25519(void **state)
{
    (void)state;
    json_t *root = tu_load_json_vector("crypto/wycheproof_x25519_test.json");
    static const uint8_t zero[WARD_X25519_LEN];
    unsigned valid = 0, acceptable_match = 0, zero_refused = 0;
    size_t gi;
    json_t *group;
    json_array_foreach(json_object_get(root, "testGroups"), gi, group) {
        assert_string_equal(jstr(group, "curve"), "curve25519");
        size_t ti;
        json_t *test;
        json_array_foreach(json_object_get(group, "tests"), ti, test) {
            size_t pub_len, priv_len, shared_len;
            uint8_t *pub = unhex_field(test, "public", &pub_len);
            uint8_t *priv = unhex_field(test, "private", &priv_len);
            uint8_t *want = unhex_field(test, "shared", &shared_len);
            assert_int_equal(pub_len, WARD_X25519_LEN);
            assert_int_equal(priv_len, WARD_X25519_LEN);
            assert_int_equal(shared_len, WARD_X25519_LEN);
            const char *result = jstr(test, "result");
            uint8_t got[WARD_X25519_LEN];
            memset(got, 0x55, sizeof got);
            ward_err rc = ward_x25519(priv, pub, got);
            if (memcmp(want, zero, sizeof zero) == 0) {
                /* A low-order peer point: the all-zero secret must be refused and wiped. */
                if (rc != WARD_ERR_VERIFY)
                    fail_msg("tcId %lld (%s): all-zero shared secret gave %s", tc_id(test),
                             jstr(test, "comment"), ward_err_name(rc));
                assert_memory_equal(got, zero, sizeof zero);
                assert_string_not_equal(result, "valid");
                zero_refused++;
            } else {
                if (rc != WARD_OK)
                    fail_msg("tcId %lld (%s, %s): refused: %s", tc_id(test), result,
                             jstr(test, "comment"), ward_errmsg());
                if (memcmp(got, want, sizeof got) != 0)
                    fail_msg("tcId %lld (%s): wrong shared secret", tc_id(test),
                             jstr(test, "comment"));
                if (strcmp(result, "valid") == 0)
                    valid++;
                else
                    acceptable_match++;
            }
            free(pub);
            free(priv);
            free(want);
        }
    }
    print_message("wycheproof_x25519_test.json: %u valid matched, acceptable: %u matched, %u "
                  "with an all-zero secret refused (WARD_ERR_VERIFY), 0 skipped\n", valid,
                  acceptable_match, zero_refused);
    assert_true(valid > 0 && acceptable_match > 0 && zero_refused > 0);
    json_decref(root);
}

/* RFC 7748 section 5.2 (two single vectors, and the iterated function for 1 and 1,000
 * iterations) and section 6.1 (the Diffie-Hellman example). */
static void test_rfc7748(void **state)
{
    (void)state;
    static const struct {
        const char *k, *u, *out;
    } single[] = {
        {"a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
         "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
         "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552"},
        /* The u-coordinate has its top bit set, which X25519 must ignore. */
        {"4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
         "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
         "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957"},
    };
    for (size_t i = 0; i < sizeof single / sizeof single[0]; i++) {
        uint8_t *k = tu_unhex(single[i].k, NULL);
        uint8_t *u = tu_unhex(single[i].u, NULL);
        uint8_t *want = tu_unhex(single[i].out, NULL);
        uint8_t got[WARD_X25519_LEN];
        assert_int_equal(ward_x25519(k, u, got), WARD_OK);
        assert_memory_equal(got, want, sizeof got);
        free(k);
        free(u);
        free(want);
    }

    /* k = u = 9; each round: k, u = X25519(k, u), k. */
    uint8_t k[WARD_X25519_LEN] = {9}, u[WARD_X25519_LEN] = {9}, r[WARD_X25519_LEN];
    uint8_t *after1 = tu_unhex("422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079",
                               NULL);
    uint8_t *after1000 =
        tu_unhex("684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51", NULL);
    for (int i = 1; i <= 1000; i++) {
        assert_int_equal(ward_x25519(k, u, r), WARD_OK);
        memcpy(u, k, sizeof u);
        memcpy(k, r, sizeof k);
        if (i == 1)
            assert_memory_equal(k, after1, sizeof k);
    }
    assert_memory_equal(k, after1000, sizeof k);
    free(after1);
    free(after1000);

    /* Section 6.1. */
    uint8_t *a_sk = tu_unhex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
                             NULL);
    uint8_t *a_pk = tu_unhex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a",
                             NULL);
    uint8_t *b_sk = tu_unhex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb",
                             NULL);
    uint8_t *b_pk = tu_unhex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f",
                             NULL);
    uint8_t *shared =
        tu_unhex("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742", NULL);
    uint8_t pk[WARD_X25519_LEN], s1[WARD_X25519_LEN], s2[WARD_X25519_LEN];
    assert_int_equal(ward_x25519_public(a_sk, pk), WARD_OK);
    assert_memory_equal(pk, a_pk, sizeof pk);
    assert_int_equal(ward_x25519_public(b_sk, pk), WARD_OK);
    assert_memory_equal(pk, b_pk, sizeof pk);
    assert_int_equal(ward_x25519(a_sk, b_pk, s1), WARD_OK);
    assert_int_equal(ward_x25519(b_sk, a_pk, s2), WARD_OK);
    assert_memory_equal(s1, shared, sizeof s1);
    assert_memory_equal(s2, shared, sizeof s2);
    free(a_sk);
    free(a_pk);
    free(b_sk);
    free(b_pk);
    free(shared);

    /* Fresh key pairs agree; low-order points (0 and 1) are refused. */
    uint8_t sk1[32], pk1[32], sk2[32], pk2[32];
    assert_int_equal(ward_x25519_generate(sk1, pk1), WARD_OK);
    assert_int_equal(ward_x25519_generate(sk2, pk2), WARD_OK);
    assert_memory_not_equal(sk1, sk2, 32);
    assert_int_equal(ward_x25519(sk1, pk2, s1), WARD_OK);
    assert_int_equal(ward_x25519(sk2, pk1, s2), WARD_OK);
    assert_memory_equal(s1, s2, 32);
    uint8_t low[32] = {0};
    assert_int_equal(ward_x25519(sk1, low, s1), WARD_ERR_VERIFY);
    low[0] = 1;
    assert_int_equal(ward_x25519(sk1, low, s1), WARD_ERR_VERIFY);
    assert_int_equal(ward_x25519(NULL, pk2, s1), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_x25519(sk1, NULL, s1), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_x25519(sk1, pk2, NULL), WARD_ERR_INVALID_ARG);
}

/* ---- hashes, comparison, randomness ------------------------------------------------------- */

static void test_hash(void **state)
{
    (void)state;
    /* FIPS 180-4 examples: "abc". */
    uint8_t *abc256 =
        tu_unhex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", NULL);
    uint8_t *abc384 = tu_unhex("cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed"
                               "8086072ba1e7cc2358baeca134c825a7", NULL);
    uint8_t out[WARD_HASH_MAX_LEN];
    assert_int_equal(ward_hash_len(WARD_HASH_SHA256), 32);
    assert_int_equal(ward_hash_len(WARD_HASH_SHA384), 48);
    assert_int_equal(ward_hash_len((ward_hash_alg)0), 0);
    assert_int_equal(ward_hash(WARD_HASH_SHA256, "abc", 3, out), WARD_OK);
    assert_memory_equal(out, abc256, 32);
    assert_int_equal(ward_hash(WARD_HASH_SHA384, "abc", 3, out), WARD_OK);
    assert_memory_equal(out, abc384, 48);
    free(abc256);
    free(abc384);

    /* Incremental == one-shot, for every split of a 300-byte message into up to 3 parts. */
    uint8_t msg[300];
    for (size_t i = 0; i < sizeof msg; i++)
        msg[i] = (uint8_t)(i * 31 + 7);
    static const ward_hash_alg algs[] = {WARD_HASH_SHA256, WARD_HASH_SHA384};
    for (size_t a = 0; a < 2; a++) {
        size_t hlen = ward_hash_len(algs[a]);
        uint8_t one[WARD_HASH_MAX_LEN], inc[WARD_HASH_MAX_LEN];
        assert_int_equal(ward_hash(algs[a], msg, sizeof msg, one), WARD_OK);
        for (size_t cut1 = 0; cut1 <= sizeof msg; cut1 += 13) {
            for (size_t cut2 = cut1; cut2 <= sizeof msg; cut2 += 47) {
                ward_hash_ctx *ctx = NULL;
                assert_int_equal(ward_hash_new(algs[a], &ctx), WARD_OK);
                assert_int_equal(ward_hash_update(ctx, msg, cut1), WARD_OK);
                assert_int_equal(ward_hash_update(ctx, msg + cut1, cut2 - cut1), WARD_OK);
                assert_int_equal(ward_hash_update(ctx, msg + cut2, sizeof msg - cut2), WARD_OK);
                assert_int_equal(ward_hash_final(ctx, inc), WARD_OK);
                assert_memory_equal(inc, one, hlen);
                /* Finished contexts refuse more input. */
                assert_int_not_equal(ward_hash_update(ctx, msg, 1), WARD_OK);
                ward_hash_free(ctx);
            }
        }
        /* Empty input. */
        ward_hash_ctx *ctx = NULL;
        assert_int_equal(ward_hash_new(algs[a], &ctx), WARD_OK);
        assert_int_equal(ward_hash_final(ctx, inc), WARD_OK);
        assert_int_equal(ward_hash(algs[a], NULL, 0, one), WARD_OK);
        assert_memory_equal(inc, one, hlen);
        ward_hash_free(ctx);
    }
    ward_hash_ctx *ctx = NULL;
    assert_int_equal(ward_hash_new((ward_hash_alg)9, &ctx), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_hash(WARD_HASH_SHA256, NULL, 5, out), WARD_ERR_INVALID_ARG);
    ward_hash_free(NULL);
}

static void test_ct_equal(void **state)
{
    (void)state;
    uint8_t a[64], b[64];
    for (size_t i = 0; i < sizeof a; i++)
        a[i] = b[i] = (uint8_t)i;
    assert_int_equal(ward_ct_equal(a, b, sizeof a), 1);
    assert_int_equal(ward_ct_equal(a, b, 0), 1);
    for (size_t i = 0; i < sizeof a; i++) {
        b[i] ^= 0x01;
        assert_int_equal(ward_ct_equal(a, b, sizeof a), 0);
        b[i] ^= 0x81;
        assert_int_equal(ward_ct_equal(a, b, sizeof a), 0);
        b[i] ^= 0x80;
    }
    assert_int_equal(ward_ct_equal(a, b, sizeof a), 1);
}

static void test_random(void **state)
{
    (void)state;
    static const uint8_t zero[64];
    uint8_t a[64], b[64];
    memset(a, 0, sizeof a);
    memset(b, 0, sizeof b);
    assert_int_equal(ward_random(a, sizeof a), WARD_OK);
    assert_int_equal(ward_random(b, sizeof b), WARD_OK);
    assert_memory_not_equal(a, zero, sizeof a);
    assert_memory_not_equal(a, b, sizeof a);
    /* Every byte position changes across 16 draws (probability of a false failure: 64 *
     * 256^-15, negligible). */
    uint8_t first[64], cur[64];
    int changed[64] = {0};
    assert_int_equal(ward_random(first, sizeof first), WARD_OK);
    for (int round = 0; round < 16; round++) {
        assert_int_equal(ward_random(cur, sizeof cur), WARD_OK);
        for (size_t i = 0; i < sizeof cur; i++)
            changed[i] |= cur[i] != first[i];
    }
    for (size_t i = 0; i < sizeof changed / sizeof changed[0]; i++)
        assert_true(changed[i]);
    assert_int_equal(ward_random(NULL, 0), WARD_OK);
    assert_int_equal(ward_random(NULL, 1), WARD_ERR_INVALID_ARG);
    /* ward_wipe zeroes and takes NULL. */
    ward_wipe(a, sizeof a);
    assert_memory_equal(a, zero, sizeof a);
    ward_wipe(NULL, 10);
}

/* Argument checks of the AEAD layer that the vectors do not reach. */
static void test_aead_args(void **state)
{
    (void)state;
    uint8_t key[32] = {1}, nonce[12] = {2}, tag[16], buf[16] = {3};
    ward_aead *a = NULL;
    assert_int_equal(ward_aead_key_len(WARD_AEAD_AES_128_GCM), 16);
    assert_int_equal(ward_aead_key_len(WARD_AEAD_AES_256_GCM), 32);
    assert_int_equal(ward_aead_key_len(WARD_AEAD_CHACHA20_POLY1305), 32);
    assert_int_equal(ward_aead_key_len((ward_aead_alg)0), 0);
    assert_int_equal(ward_aead_new(WARD_AEAD_AES_128_GCM, key, 32, &a), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_aead_new((ward_aead_alg)9, key, 32, &a), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_aead_new(WARD_AEAD_AES_256_GCM, NULL, 32, &a), WARD_ERR_INVALID_ARG);
    assert_null(a);
    assert_int_equal(ward_aead_new(WARD_AEAD_AES_256_GCM, key, 32, &a), WARD_OK);
    assert_int_equal(ward_aead_seal(a, NULL, 12, NULL, 0, buf, 16, buf, tag),
                     WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_aead_seal(a, nonce, 0, NULL, 0, buf, 16, buf, tag),
                     WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_aead_seal(a, nonce, 12, NULL, 5, buf, 16, buf, tag),
                     WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_aead_seal(a, nonce, 12, NULL, 0, buf, 16, buf, tag), WARD_OK);
    /* A flipped tag bit fails and wipes the output. */
    tag[15] ^= 1;
    assert_int_equal(ward_aead_open(a, nonce, 12, NULL, 0, buf, 16, tag, buf), WARD_ERR_AUTH);
    static const uint8_t zero[16];
    assert_memory_equal(buf, zero, 16);
    ward_aead_free(a);
    ward_aead_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wycheproof_aes_gcm),
        cmocka_unit_test(test_wycheproof_chacha20_poly1305),
        cmocka_unit_test(test_wycheproof_hkdf_sha256),
        cmocka_unit_test(test_wycheproof_hmac_sha256),
        cmocka_unit_test(test_rfc5869),
        cmocka_unit_test(test_wycheproof_x25519),
        cmocka_unit_test(test_rfc7748),
        cmocka_unit_test(test_hash),
        cmocka_unit_test(test_ct_equal),
        cmocka_unit_test(test_random),
        cmocka_unit_test(test_aead_args),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
