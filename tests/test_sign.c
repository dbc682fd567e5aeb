/* Key handles and signatures: Wycheproof known-answer tests (ECDSA P-256/P-384 in DER and
 * IEEE P1363, Ed25519, RSA-PSS), RFC 8032 and RFC 6979 known keys, and unit tests of the
 * import/export paths, format conversion and argument checking. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/pkey_internal.h"
#include "testutil.h"
#include "ward/crypto.h"

/* ---- helpers ------------------------------------------------------------------------------ */

static const char *jstr(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    if (s == NULL)
        fail_msg("vector field \"%s\" missing", key);
    return s;
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

/* A memory BIO's contents as a NUL-terminated malloc'd string. */
static char *bio_string(BIO *bio, size_t *len)
{
    char *data = NULL;
    long n = BIO_get_mem_data(bio, &data);
    assert_true(n > 0);
    char *s = malloc((size_t)n + 1);
    assert_non_null(s);
    memcpy(s, data, (size_t)n);
    s[n] = '\0';
    *len = (size_t)n;
    return s;
}

static void assert_same_spki(const ward_pkey *a, const ward_pkey *b)
{
    uint8_t ha[WARD_SHA256_LEN], hb[WARD_SHA256_LEN];
    assert_int_equal(ward_pkey_spki_sha256(a, ha), WARD_OK);
    assert_int_equal(ward_pkey_spki_sha256(b, hb), WARD_OK);
    assert_memory_equal(ha, hb, sizeof ha);
}

/* Per-file tallies for the report printed at the end of each KAT. */
typedef struct tally {
    unsigned valid, invalid, acceptable_ok, acceptable_rejected, skipped;
} tally;

static void print_tally(const char *file, const tally *t)
{
    print_message("%s: %u valid verified, %u invalid rejected, acceptable: %u accepted / %u "
                  "rejected, %u skipped\n", file, t->valid, t->invalid, t->acceptable_ok,
                  t->acceptable_rejected, t->skipped);
}

/* Records the outcome rc of one Wycheproof test and fails on a wrong answer. Invalid
 * signatures must give WARD_ERR_VERIFY (an empty one WARD_ERR_INVALID_ARG, by the API). */
static void judge(tally *t, const json_t *test, ward_err rc, size_t sig_len)
{
    const char *result = jstr(test, "result");
    long long id = json_integer_value(json_object_get(test, "tcId"));
    if (strcmp(result, "valid") == 0) {
        if (rc != WARD_OK)
            fail_msg("tcId %lld (%s): valid signature refused: %s", id,
                     jstr(test, "comment"), ward_errmsg());
        t->valid++;
    } else if (strcmp(result, "invalid") == 0) {
        if (rc == WARD_OK)
            fail_msg("tcId %lld (%s): invalid signature ACCEPTED", id, jstr(test, "comment"));
        ward_err want = sig_len == 0 ? WARD_ERR_INVALID_ARG : WARD_ERR_VERIFY;
        if (rc != want)
            fail_msg("tcId %lld: invalid signature gave %s, want %s (%s)", id,
                     ward_err_name(rc), ward_err_name(want), ward_errmsg());
        t->invalid++;
    } else {
        if (rc == WARD_OK)
            t->acceptable_ok++;
        else
            t->acceptable_rejected++;
        print_message("  acceptable tcId %lld (%s): %s\n", id, jstr(test, "comment"),
                      rc == WARD_OK ? "accepted" : "rejected");
    }
}

/* ---- Wycheproof ECDSA --------------------------------------------------------------------- */

static void run_ecdsa(const char *file, ward_key_type type, ward_hash_alg alg,
                      ward_sig_format fmt, size_t coord_len)
{
    json_t *root = tu_load_json_vector(file);
    tally t = {0};
    unsigned ber_rejected = 0;
    size_t gi;
    json_t *group;
    json_array_foreach(json_object_get(root, "testGroups"), gi, group) {
        /* The key two ways: DER SubjectPublicKeyInfo and the raw uncompressed point. Both must
         * load and give the same identity. */
        size_t der_len, pt_len;
        uint8_t *der = unhex_field(group, "publicKeyDer", &der_len);
        uint8_t *pt = unhex_field(json_object_get(group, "publicKey"), "uncompressed", &pt_len);
        ward_pkey *k = NULL, *k2 = NULL;
        if (ward_pkey_from_spki_der(der, der_len, &k) != WARD_OK)
            fail_msg("group %zu: SPKI refused: %s", gi, ward_errmsg());
        if (ward_pkey_from_raw_public(type, pt, pt_len, &k2) != WARD_OK)
            fail_msg("group %zu: raw point refused: %s", gi, ward_errmsg());
        assert_int_equal(ward_pkey_type(k), type);
        assert_int_equal(ward_pkey_is_private(k), 0);
        assert_same_spki(k, k2);
        uint8_t *re = NULL;
        size_t re_len = 0;
        assert_int_equal(ward_pkey_spki_der(k2, &re, &re_len), WARD_OK);
        assert_int_equal(re_len, der_len);
        assert_memory_equal(re, der, der_len);
        free(re);

        size_t ti;
        json_t *test;
        json_array_foreach(json_object_get(group, "tests"), ti, test) {
            size_t msg_len, sig_len;
            uint8_t *msg = unhex_field(test, "msg", &msg_len);
            uint8_t *sig = unhex_field(test, "sig", &sig_len);
            ward_err rc = ward_verify(k, alg, fmt, msg, msg_len, sig, sig_len);
            /* The raw-point key must agree. */
            ward_err rc2 = ward_verify(k2, alg, fmt, msg, msg_len, sig, sig_len);
            assert_int_equal(rc, rc2);
            judge(&t, test, rc, sig_len);
            if (has_flag(test, "BerEncodedSignature") && rc != WARD_OK)
                ber_rejected++;

            /* Valid signatures convert both ways without change and verify in the other
             * encoding too. */
            if (rc == WARD_OK) {
                uint8_t *other = NULL, *back = NULL;
                size_t other_len = 0, back_len = 0;
                if (fmt == WARD_SIG_DER) {
                    assert_int_equal(ward_ecdsa_der_to_raw(sig, sig_len, coord_len, &other,
                                                           &other_len), WARD_OK);
                    assert_int_equal(other_len, 2 * coord_len);
                    assert_int_equal(ward_ecdsa_raw_to_der(other, other_len, &back, &back_len),
                                     WARD_OK);
                    assert_int_equal(ward_verify(k, alg, WARD_SIG_RAW, msg, msg_len, other,
                                                 other_len), WARD_OK);
                } else {
                    assert_int_equal(ward_ecdsa_raw_to_der(sig, sig_len, &other, &other_len),
                                     WARD_OK);
                    assert_int_equal(ward_ecdsa_der_to_raw(other, other_len, coord_len, &back,
                                                           &back_len), WARD_OK);
                    assert_int_equal(ward_verify(k, alg, WARD_SIG_DER, msg, msg_len, other,
                                                 other_len), WARD_OK);
                }
                assert_int_equal(back_len, sig_len);
                assert_memory_equal(back, sig, sig_len);
                free(other);
                free(back);
            }
            free(msg);
            free(sig);
        }
        ward_pkey_free(k);
        ward_pkey_free(k2);
        free(der);
        free(pt);
    }
    print_tally(file, &t);
    if (fmt == WARD_SIG_DER) {
        print_message("  BER-encoded signatures rejected: %u\n", ber_rejected);
        assert_true(ber_rejected > 0);
    }
    assert_true(t.valid > 0 && t.invalid > 0);
    json_decref(root);
}

static void test_wycheproof_ecdsa_p256_der(void **state)
{
    (void)state;
    run_ecdsa("crypto/wycheproof_ecdsa_secp256r1_sha256_test.json", WARD_KEY_EC_P256,
              WARD_HASH_SHA256, WARD_SIG_DER, 32);
}

static void test_wycheproof_ecdsa_p256_p1363(void **state)
{
    (void)state;
    run_ecdsa("crypto/wycheproof_ecdsa_secp256r1_sha256_p1363_test.json", WARD_KEY_EC_P256,
              WARD_HASH_SHA256, WARD_SIG_RAW, 32);
}

static void test_wycheproof_ecdsa_p384_der(void **state)
{
    (void)state;
    run_ecdsa("crypto/wycheproof_ecdsa_secp384r1_sha384_test.json", WARD_KEY_EC_P384,
              WARD_HASH_SHA384, WARD_SIG_DER, 48);
}

static void test_wycheproof_ecdsa_p384_p1363(void **state)
{
    (void)state;
    run_ecdsa("crypto/wycheproof_ecdsa_secp384r1_sha384_p1363_test.json", WARD_KEY_EC_P384,
              WARD_HASH_SHA384, WARD_SIG_RAW, 48);
}

/* ---- Wycheproof Ed25519 ------------------------------------------------------------------- */

static void test_wycheproof_ed25519(void **state)
{
    (void)state;
    const char *file = "crypto/wycheproof_ed25519_test.json";
    json_t *root = tu_load_json_vector(file);
    tally t = {0};
    size_t gi;
    json_t *group;
    json_array_foreach(json_object_get(root, "testGroups"), gi, group) {
        size_t der_len, pk_len;
        uint8_t *der = unhex_field(group, "publicKeyDer", &der_len);
        uint8_t *pk = unhex_field(json_object_get(group, "publicKey"), "pk", &pk_len);
        ward_pkey *k = NULL, *k2 = NULL;
        if (ward_pkey_from_spki_der(der, der_len, &k) != WARD_OK)
            fail_msg("group %zu: SPKI refused: %s", gi, ward_errmsg());
        if (ward_pkey_from_raw_public(WARD_KEY_ED25519, pk, pk_len, &k2) != WARD_OK)
            fail_msg("group %zu: raw key refused: %s", gi, ward_errmsg());
        assert_int_equal(ward_pkey_type(k), WARD_KEY_ED25519);
        assert_same_spki(k, k2);
        uint8_t raw[32];
        size_t raw_len = sizeof raw;
        assert_int_equal(ward_pkey_raw_public(k, raw, &raw_len), WARD_OK);
        assert_int_equal(raw_len, 32);
        assert_memory_equal(raw, pk, 32);

        size_t ti;
        json_t *test;
        json_array_foreach(json_object_get(group, "tests"), ti, test) {
            size_t msg_len, sig_len;
            uint8_t *msg = unhex_field(test, "msg", &msg_len);
            uint8_t *sig = unhex_field(test, "sig", &sig_len);
            /* alg and fmt are ignored for Ed25519. */
            ward_err rc = ward_verify(k, WARD_HASH_SHA256, WARD_SIG_DER, msg, msg_len, sig,
                                      sig_len);
            assert_int_equal(rc, ward_verify(k2, WARD_HASH_SHA384, WARD_SIG_RAW, msg, msg_len,
                                             sig, sig_len));
            judge(&t, test, rc, sig_len);
            free(msg);
            free(sig);
        }
        ward_pkey_free(k);
        ward_pkey_free(k2);
        free(der);
        free(pk);
    }
    print_tally(file, &t);
    assert_true(t.valid > 0 && t.invalid > 0);
    json_decref(root);
}

/* ---- Wycheproof RSA-PSS ------------------------------------------------------------------- */

static void test_wycheproof_rsa_pss(void **state)
{
    (void)state;
    const char *file = "crypto/wycheproof_rsa_pss_4096_sha384_mgf1_48_test.json";
    json_t *root = tu_load_json_vector(file);
    tally t = {0};
    unsigned pkcs1_ok = 0;
    size_t gi;
    json_t *group;
    json_array_foreach(json_object_get(root, "testGroups"), gi, group) {
        assert_string_equal(jstr(group, "sha"), "SHA-384");
        assert_string_equal(jstr(group, "mgf"), "MGF1");
        assert_string_equal(jstr(group, "mgfSha"), "SHA-384");
        size_t salt_len = (size_t)json_integer_value(json_object_get(group, "sLen"));
        size_t der_len, n_len, e_len;
        uint8_t *der = unhex_field(group, "publicKeyDer", &der_len);
        const json_t *pub = json_object_get(group, "publicKey");
        uint8_t *n = unhex_field(pub, "modulus", &n_len);
        uint8_t *e = unhex_field(pub, "publicExponent", &e_len);
        ward_pkey *k = NULL, *k2 = NULL;
        if (ward_pkey_from_spki_der(der, der_len, &k) != WARD_OK)
            fail_msg("SPKI refused: %s", ward_errmsg());
        if (ward_pkey_from_rsa_public(n, n_len, e, e_len, &k2) != WARD_OK)
            fail_msg("n/e refused: %s", ward_errmsg());
        assert_int_equal(ward_pkey_type(k), WARD_KEY_RSA);
        assert_same_spki(k, k2);

        size_t ti;
        json_t *test;
        json_array_foreach(json_object_get(group, "tests"), ti, test) {
            size_t msg_len, sig_len;
            uint8_t *msg = unhex_field(test, "msg", &msg_len);
            uint8_t *sig = unhex_field(test, "sig", &sig_len);
            ward_err rc = ward_verify_rsa_pss(k, WARD_HASH_SHA384, salt_len, msg, msg_len, sig,
                                              sig_len);
            assert_int_equal(rc, ward_verify_rsa_pss(k2, WARD_HASH_SHA384, salt_len, msg,
                                                     msg_len, sig, sig_len));
            judge(&t, test, rc, sig_len);
            if (rc == WARD_OK) {
                /* Exact salt length: the same signature fails with any other. */
                assert_int_equal(ward_verify_rsa_pss(k, WARD_HASH_SHA384, salt_len - 1, msg,
                                                     msg_len, sig, sig_len), WARD_ERR_VERIFY);
                assert_int_equal(ward_verify_rsa_pss(k, WARD_HASH_SHA384, 32, msg, msg_len,
                                                     sig, sig_len), WARD_ERR_VERIFY);
                assert_int_equal(ward_verify_rsa_pss(k, WARD_HASH_SHA256, salt_len, msg,
                                                     msg_len, sig, sig_len), WARD_ERR_VERIFY);
                /* Nor is it a PKCS#1 v1.5 signature. */
                assert_int_equal(ward_verify_rsa_pkcs1(k, WARD_HASH_SHA384, msg, msg_len, sig,
                                                       sig_len), WARD_ERR_VERIFY);
            }
            /* The "WrongPrimitive" signatures are PKCS#1 v1.5 signatures by the same key: a
             * known answer for ward_verify_rsa_pkcs1. */
            if (has_flag(test, "WrongPrimitive")) {
                /* The comment names the hash: "PKCS #1 v1.5 signature with SHA-256". */
                ward_hash_alg h = strstr(jstr(test, "comment"), "SHA-256") != NULL
                                      ? WARD_HASH_SHA256
                                      : WARD_HASH_SHA384;
                ward_hash_alg not_h = h == WARD_HASH_SHA256 ? WARD_HASH_SHA384
                                                            : WARD_HASH_SHA256;
                assert_int_equal(ward_verify_rsa_pkcs1(k, h, msg, msg_len, sig, sig_len),
                                 WARD_OK);
                assert_int_equal(ward_verify_rsa_pkcs1(k, not_h, msg, msg_len, sig, sig_len),
                                 WARD_ERR_VERIFY);
                uint8_t *bad = malloc(sig_len);
                assert_non_null(bad);
                memcpy(bad, sig, sig_len);
                bad[sig_len - 1] ^= 1;
                assert_int_equal(ward_verify_rsa_pkcs1(k, h, msg, msg_len, bad, sig_len),
                                 WARD_ERR_VERIFY);
                free(bad);
                pkcs1_ok++;
            }
            free(msg);
            free(sig);
        }
        /* Wrong key type for ECDSA/Ed25519 verification, and RSA signing. */
        uint8_t dummy[512] = {0};
        assert_int_equal(ward_verify(k, WARD_HASH_SHA384, WARD_SIG_DER, "x", 1, dummy,
                                     sizeof dummy), WARD_ERR_INVALID_ARG);
        uint8_t *sig = NULL;
        size_t sig_len = 0;
        assert_int_equal(ward_sign(k, WARD_HASH_SHA384, WARD_SIG_DER, "x", 1, &sig, &sig_len),
                         WARD_ERR_UNSUPPORTED);
        assert_int_equal(ward_pkey_is_private(k), 0);
        uint8_t raw[16];
        size_t raw_len = sizeof raw;
        assert_int_equal(ward_pkey_raw_public(k, raw, &raw_len), WARD_ERR_INVALID_ARG);
        /* A signature of the wrong length never verifies. */
        assert_int_equal(ward_verify_rsa_pss(k, WARD_HASH_SHA384, salt_len, "x", 1, dummy, 511),
                         WARD_ERR_VERIFY);
        ward_pkey_free(k);
        ward_pkey_free(k2);
        free(der);
        free(n);
        free(e);
    }
    print_tally(file, &t);
    print_message("  PKCS#1 v1.5 known answers (WrongPrimitive signatures) verified: %u\n",
                  pkcs1_ok);
    assert_true(t.valid > 0 && t.invalid > 0 && pkcs1_ok > 0);
    json_decref(root);
}

/* ---- RFC 8032 section 7.1, tests 1-3 ------------------------------------------------------ */

static void test_rfc8032_ed25519(void **state)
{
    (void)state;
    static const struct {
        const char *sk, *pk, *msg, *sig;
    } v[] = {
        {"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
         "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
         "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e"
         "39701cf9b46bd25bf5f0595bbe24655141438e7a100b"},
        {"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
         "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
         "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f"
         "3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"},
        {"c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
         "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
         "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67"
         "f760984dc6594a7c15e9716ed28dc027beceea1ec40a"},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        size_t sk_len, pk_len, msg_len, sig_len;
        uint8_t *sk = tu_unhex(v[i].sk, &sk_len);
        uint8_t *pk = tu_unhex(v[i].pk, &pk_len);
        uint8_t *msg = tu_unhex(v[i].msg, &msg_len);
        uint8_t *want = tu_unhex(v[i].sig, &sig_len);
        ward_pkey *k = NULL, *pub = NULL;
        assert_int_equal(ward_pkey_from_raw_private(WARD_KEY_ED25519, sk, sk_len, &k), WARD_OK);
        assert_int_equal(ward_pkey_is_private(k), 1);
        uint8_t raw[32];
        size_t raw_len = sizeof raw;
        assert_int_equal(ward_pkey_raw_public(k, raw, &raw_len), WARD_OK);
        assert_memory_equal(raw, pk, 32);
        uint8_t *sig = NULL;
        size_t len = 0;
        assert_int_equal(ward_sign(k, WARD_HASH_SHA256, WARD_SIG_DER, msg, msg_len, &sig, &len),
                         WARD_OK);
        assert_int_equal(len, 64);
        assert_memory_equal(sig, want, 64); /* Ed25519 is deterministic */
        assert_int_equal(ward_pkey_from_raw_public(WARD_KEY_ED25519, pk, pk_len, &pub), WARD_OK);
        assert_int_equal(ward_verify(pub, WARD_HASH_SHA256, WARD_SIG_DER, msg, msg_len, want,
                                     sig_len), WARD_OK);
        want[0] ^= 0x80;
        assert_int_equal(ward_verify(pub, WARD_HASH_SHA256, WARD_SIG_DER, msg, msg_len, want,
                                     sig_len), WARD_ERR_VERIFY);
        /* Truncated or extended signatures are malformed: VERIFY. */
        assert_int_equal(ward_verify(pub, WARD_HASH_SHA256, WARD_SIG_DER, msg, msg_len, sig, 63),
                         WARD_ERR_VERIFY);
        ward_pkey_free(k);
        ward_pkey_free(pub);
        free(sig);
        free(sk);
        free(pk);
        free(msg);
        free(want);
    }
}

/* ---- RFC 6979 appendix A.2.5 / A.2.6 key pairs: raw private import derives the point ----- */

static void test_ec_raw_private_known(void **state)
{
    (void)state;
    static const struct {
        ward_key_type type;
        ward_hash_alg alg;
        const char *d, *q;
    } v[] = {
        {WARD_KEY_EC_P256, WARD_HASH_SHA256,
         "c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721",
         "0460fed4ba255a9d31c961eb74c6356d68c049b8923b61fa6ce669622e60f29fb67903fe1008b8bc99a41a"
         "e9e95628bc64f2f1b20c2d7e9f5177a3c294d4462299"},
        {WARD_KEY_EC_P384, WARD_HASH_SHA384,
         "6b9d3dad2e1b8c1c05b19875b6659f4de23c3b667bf297ba9aa47740787137d896d5724e4c70a825f872c9"
         "ea60d2edf5",
         "04ec3a4e415b4e19a4568618029f427fa5da9a8bc4ae92e02e06aae5286b300c64def8f0ea9055866064a2"
         "54515480bc138015d9b72d7d57244ea8ef9ac0c621896708a59367f9dfb9f54ca84b3f1c9db1288b231c3a"
         "e0d4fe7344fd2533264720"},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        size_t d_len, q_len;
        uint8_t *d = tu_unhex(v[i].d, &d_len);
        uint8_t *q = tu_unhex(v[i].q, &q_len);
        ward_pkey *k = NULL, *pub = NULL;
        assert_int_equal(ward_pkey_from_raw_private(v[i].type, d, d_len, &k), WARD_OK);
        assert_int_equal(ward_pkey_type(k), v[i].type);
        assert_int_equal(ward_pkey_is_private(k), 1);
        uint8_t raw[97];
        size_t raw_len = sizeof raw;
        assert_int_equal(ward_pkey_raw_public(k, raw, &raw_len), WARD_OK);
        assert_int_equal(raw_len, q_len);
        assert_memory_equal(raw, q, q_len);
        /* Sign with the imported scalar, verify with the public point. */
        assert_int_equal(ward_pkey_from_raw_public(v[i].type, q, q_len, &pub), WARD_OK);
        assert_same_spki(k, pub);
        uint8_t *sig = NULL;
        size_t sig_len = 0;
        assert_int_equal(ward_sign(k, v[i].alg, WARD_SIG_RAW, "sample", 6, &sig, &sig_len),
                         WARD_OK);
        assert_int_equal(sig_len, q_len - 1);
        assert_int_equal(ward_verify(pub, v[i].alg, WARD_SIG_RAW, "sample", 6, sig, sig_len),
                         WARD_OK);
        free(sig);
        ward_pkey_free(k);
        k = NULL;

        /* Scalars out of [1, n-1] and of the wrong length are refused. */
        memset(d, 0, d_len);
        assert_int_equal(ward_pkey_from_raw_private(v[i].type, d, d_len, &k), WARD_ERR_FORMAT);
        assert_null(k);
        memset(d, 0xff, d_len);
        assert_int_equal(ward_pkey_from_raw_private(v[i].type, d, d_len, &k), WARD_ERR_FORMAT);
        assert_int_equal(ward_pkey_from_raw_private(v[i].type, d, d_len - 1, &k),
                         WARD_ERR_FORMAT);
        ward_pkey_free(pub);
        free(d);
        free(q);
    }
}

/* ---- generate / sign / verify round trips ------------------------------------------------- */

static void roundtrip(ward_key_type type, ward_hash_alg alg, ward_sig_format fmt)
{
    ward_pkey *k = NULL, *pub = NULL, *other = NULL;
    assert_int_equal(ward_pkey_generate(type, &k), WARD_OK);
    assert_int_equal(ward_pkey_type(k), type);
    assert_int_equal(ward_pkey_is_private(k), 1);
    assert_int_equal(ward_pkey_public_only(k, &pub), WARD_OK);
    assert_int_equal(ward_pkey_is_private(pub), 0);
    assert_int_equal(ward_pkey_type(pub), type);
    assert_same_spki(k, pub);
    assert_int_equal(ward_pkey_generate(type, &other), WARD_OK);

    static const char msg[] = "attestation report";
    uint8_t *sig = NULL;
    size_t sig_len = 0;
    assert_int_equal(ward_sign(k, alg, fmt, msg, sizeof msg - 1, &sig, &sig_len), WARD_OK);
    if (type == WARD_KEY_ED25519)
        assert_int_equal(sig_len, 64);
    else if (fmt == WARD_SIG_RAW)
        assert_int_equal(sig_len, type == WARD_KEY_EC_P256 ? 64 : 96);
    assert_int_equal(ward_verify(pub, alg, fmt, msg, sizeof msg - 1, sig, sig_len), WARD_OK);
    assert_int_equal(ward_verify(k, alg, fmt, msg, sizeof msg - 1, sig, sig_len), WARD_OK);

    /* Tampered message, tampered signature, other key. */
    assert_int_equal(ward_verify(pub, alg, fmt, msg, sizeof msg - 2, sig, sig_len),
                     WARD_ERR_VERIFY);
    char bad_msg[sizeof msg];
    memcpy(bad_msg, msg, sizeof msg);
    bad_msg[3] ^= 1;
    assert_int_equal(ward_verify(pub, alg, fmt, bad_msg, sizeof msg - 1, sig, sig_len),
                     WARD_ERR_VERIFY);
    for (size_t i = 0; i < sig_len; i += 7) {
        sig[i] ^= 0x10;
        assert_int_equal(ward_verify(pub, alg, fmt, msg, sizeof msg - 1, sig, sig_len),
                         WARD_ERR_VERIFY);
        sig[i] ^= 0x10;
    }
    assert_int_equal(ward_verify(other, alg, fmt, msg, sizeof msg - 1, sig, sig_len),
                     WARD_ERR_VERIFY);
    /* Truncated and extended signatures. */
    assert_int_equal(ward_verify(pub, alg, fmt, msg, sizeof msg - 1, sig, sig_len - 1),
                     WARD_ERR_VERIFY);
    uint8_t *longer = malloc(sig_len + 1);
    assert_non_null(longer);
    memcpy(longer, sig, sig_len);
    longer[sig_len] = 0;
    assert_int_equal(ward_verify(pub, alg, fmt, msg, sizeof msg - 1, longer, sig_len + 1),
                     WARD_ERR_VERIFY);
    free(longer);

    if (type != WARD_KEY_ED25519) {
        /* The other hash, and the other encoding, must not verify. */
        ward_hash_alg other_alg = alg == WARD_HASH_SHA256 ? WARD_HASH_SHA384 : WARD_HASH_SHA256;
        assert_int_equal(ward_verify(pub, other_alg, fmt, msg, sizeof msg - 1, sig, sig_len),
                         WARD_ERR_VERIFY);
        ward_sig_format other_fmt = fmt == WARD_SIG_DER ? WARD_SIG_RAW : WARD_SIG_DER;
        assert_int_equal(ward_verify(pub, alg, other_fmt, msg, sizeof msg - 1, sig, sig_len),
                         WARD_ERR_VERIFY);
        /* Bad hash and format values are argument errors. */
        assert_int_equal(ward_verify(pub, (ward_hash_alg)99, fmt, msg, 1, sig, sig_len),
                         WARD_ERR_INVALID_ARG);
        assert_int_equal(ward_verify(pub, alg, (ward_sig_format)7, msg, 1, sig, sig_len),
                         WARD_ERR_INVALID_ARG);
        uint8_t *s2 = NULL;
        size_t s2_len = 0;
        assert_int_equal(ward_sign(k, (ward_hash_alg)0, fmt, msg, 1, &s2, &s2_len),
                         WARD_ERR_INVALID_ARG);
        assert_int_equal(ward_sign(k, alg, (ward_sig_format)7, msg, 1, &s2, &s2_len),
                         WARD_ERR_INVALID_ARG);
    }

    /* Empty messages sign and verify (NULL with length 0 is an empty message). */
    free(sig);
    assert_int_equal(ward_sign(k, alg, fmt, NULL, 0, &sig, &sig_len), WARD_OK);
    assert_int_equal(ward_verify(pub, alg, fmt, "", 0, sig, sig_len), WARD_OK);

    /* A public-only key cannot sign. */
    uint8_t *s3 = NULL;
    size_t s3_len = 0;
    assert_int_equal(ward_sign(pub, alg, fmt, msg, 1, &s3, &s3_len), WARD_ERR_INVALID_ARG);
    assert_null(s3);

    free(sig);
    ward_pkey_free(k);
    ward_pkey_free(pub);
    ward_pkey_free(other);
}

static void test_roundtrip_p256(void **state)
{
    (void)state;
    roundtrip(WARD_KEY_EC_P256, WARD_HASH_SHA256, WARD_SIG_DER);
    roundtrip(WARD_KEY_EC_P256, WARD_HASH_SHA256, WARD_SIG_RAW);
}

static void test_roundtrip_p384(void **state)
{
    (void)state;
    roundtrip(WARD_KEY_EC_P384, WARD_HASH_SHA384, WARD_SIG_DER);
    roundtrip(WARD_KEY_EC_P384, WARD_HASH_SHA384, WARD_SIG_RAW);
}

static void test_roundtrip_ed25519(void **state)
{
    (void)state;
    roundtrip(WARD_KEY_ED25519, WARD_HASH_SHA256, WARD_SIG_DER);
}

/* ---- PEM, SPKI and raw round trips -------------------------------------------------------- */

static void pem_spki_raw(ward_key_type type, size_t raw_len_want)
{
    ward_pkey *k = NULL, *k2 = NULL, *pub = NULL, *pub2 = NULL, *pub3 = NULL;
    assert_int_equal(ward_pkey_generate(type, &k), WARD_OK);

    /* Private PEM (PKCS#8) back to a private key with the same identity. */
    char *pem = NULL;
    size_t pem_len = 0;
    assert_int_equal(ward_pkey_private_pem(k, &pem, &pem_len), WARD_OK);
    assert_int_equal(strlen(pem), pem_len);
    assert_non_null(strstr(pem, "-----BEGIN PRIVATE KEY-----"));
    assert_int_equal(ward_pkey_from_pem(pem, pem_len, &k2), WARD_OK);
    assert_int_equal(ward_pkey_is_private(k2), 1);
    assert_int_equal(ward_pkey_type(k2), type);
    assert_same_spki(k, k2);
    ward_wipe(pem, pem_len);
    free(pem);

    /* Public PEM. */
    assert_int_equal(ward_pkey_public_pem(k, &pem, &pem_len), WARD_OK);
    assert_non_null(strstr(pem, "-----BEGIN PUBLIC KEY-----"));
    assert_null(strstr(pem, "PRIVATE"));
    assert_int_equal(ward_pkey_from_pem(pem, pem_len, &pub), WARD_OK);
    assert_int_equal(ward_pkey_is_private(pub), 0);
    assert_same_spki(k, pub);
    /* A public key has no private PEM. */
    char *none = NULL;
    size_t none_len = 0;
    assert_int_equal(ward_pkey_private_pem(pub, &none, &none_len), WARD_ERR_INVALID_ARG);
    assert_null(none);
    /* Truncated PEM. */
    ward_pkey *bad = NULL;
    assert_int_equal(ward_pkey_from_pem(pem, pem_len / 2, &bad), WARD_ERR_FORMAT);
    assert_null(bad);
    free(pem);

    /* DER SPKI: round trip, then damaged variants. */
    uint8_t *der = NULL;
    size_t der_len = 0;
    assert_int_equal(ward_pkey_spki_der(k, &der, &der_len), WARD_OK);
    assert_int_equal(ward_pkey_from_spki_der(der, der_len, &pub2), WARD_OK);
    uint8_t *der2 = NULL;
    size_t der2_len = 0;
    assert_int_equal(ward_pkey_spki_der(pub2, &der2, &der2_len), WARD_OK);
    assert_int_equal(der2_len, der_len);
    assert_memory_equal(der, der2, der_len);
    uint8_t id[WARD_SHA256_LEN], id2[WARD_SHA256_LEN];
    assert_int_equal(ward_pkey_spki_sha256(pub2, id), WARD_OK);
    unsigned int md_len = 0;
    assert_int_equal(EVP_Digest(der, der_len, id2, &md_len, EVP_sha256(), NULL), 1);
    assert_memory_equal(id, id2, sizeof id);
    free(der2);

    uint8_t *longer = malloc(der_len + 1);
    assert_non_null(longer);
    memcpy(longer, der, der_len);
    longer[der_len] = 0;
    assert_int_equal(ward_pkey_from_spki_der(longer, der_len + 1, &bad), WARD_ERR_FORMAT);
    assert_int_equal(ward_pkey_from_spki_der(der, der_len - 1, &bad), WARD_ERR_FORMAT);
    assert_null(bad);
    free(longer);
    /* Non-canonical DER: the outer SEQUENCE length in long form (0x81 nn). All the SPKIs here
     * are shorter than 128 bytes, so DER needs the short form. */
    assert_true(der_len < 130 && der[1] < 0x80);
    uint8_t *ber = malloc(der_len + 1);
    assert_non_null(ber);
    ber[0] = der[0];
    ber[1] = 0x81;
    memcpy(ber + 2, der + 1, der_len - 1);
    assert_int_equal(ward_pkey_from_spki_der(ber, der_len + 1, &bad), WARD_ERR_FORMAT);
    assert_null(bad);
    free(ber);
    free(der);

    /* Raw public round trip and capacity checks. */
    uint8_t raw[97];
    size_t raw_len = sizeof raw;
    assert_int_equal(ward_pkey_raw_public(k, raw, &raw_len), WARD_OK);
    assert_int_equal(raw_len, raw_len_want);
    assert_int_equal(ward_pkey_from_raw_public(type, raw, raw_len, &pub3), WARD_OK);
    assert_same_spki(k, pub3);
    size_t small = raw_len_want - 1;
    assert_int_equal(ward_pkey_raw_public(k, raw, &small), WARD_ERR_OVERFLOW);
    assert_int_equal(small, raw_len_want);
    assert_int_equal(ward_pkey_from_raw_public(type, raw, raw_len - 1, &bad), WARD_ERR_FORMAT);
    if (type == WARD_KEY_EC_P256 || type == WARD_KEY_EC_P384) {
        /* Compressed form refused; a point off the curve refused. */
        uint8_t save = raw[0];
        raw[0] = 0x02;
        assert_int_equal(ward_pkey_from_raw_public(type, raw, raw_len, &bad), WARD_ERR_FORMAT);
        raw[0] = save;
        raw[raw_len - 1] ^= 1;
        assert_int_equal(ward_pkey_from_raw_public(type, raw, raw_len, &bad), WARD_ERR_FORMAT);
        /* The other curve's length. */
        ward_key_type other = type == WARD_KEY_EC_P256 ? WARD_KEY_EC_P384 : WARD_KEY_EC_P256;
        raw[raw_len - 1] ^= 1;
        assert_int_equal(ward_pkey_from_raw_public(other, raw, raw_len, &bad), WARD_ERR_FORMAT);
    }
    assert_null(bad);

    ward_pkey_free(k);
    ward_pkey_free(k2);
    ward_pkey_free(pub);
    ward_pkey_free(pub2);
    ward_pkey_free(pub3);
}

static void test_pem_spki_raw_p256(void **state)
{
    (void)state;
    pem_spki_raw(WARD_KEY_EC_P256, 65);
}

static void test_pem_spki_raw_p384(void **state)
{
    (void)state;
    pem_spki_raw(WARD_KEY_EC_P384, 97);
}

static void test_pem_spki_raw_ed25519(void **state)
{
    (void)state;
    pem_spki_raw(WARD_KEY_ED25519, 32);
}

static void test_pem_spki_raw_x25519(void **state)
{
    (void)state;
    pem_spki_raw(WARD_KEY_X25519, 32);
}

/* SEC1 "EC PRIVATE KEY" PEM is accepted; encrypted PEM and other types are not. */
static void test_pem_variants(void **state)
{
    (void)state;
    ward_pkey *k = NULL, *k2 = NULL, *bad = NULL;
    assert_int_equal(ward_pkey_generate(WARD_KEY_EC_P256, &k), WARD_OK);

    BIO *bio = BIO_new(BIO_s_mem());
    assert_non_null(bio);
    assert_int_equal(PEM_write_bio_PrivateKey_traditional(bio, k->pkey, NULL, NULL, 0, NULL,
                                                          NULL), 1);
    size_t n = 0;
    char *data = bio_string(bio, &n);
    assert_non_null(strstr(data, "-----BEGIN EC PRIVATE KEY-----"));
    assert_int_equal(ward_pkey_from_pem(data, n, &k2), WARD_OK);
    assert_int_equal(ward_pkey_is_private(k2), 1);
    assert_same_spki(k, k2);
    /* It signs. */
    uint8_t *sig = NULL;
    size_t sig_len = 0;
    assert_int_equal(ward_sign(k2, WARD_HASH_SHA256, WARD_SIG_DER, "m", 1, &sig, &sig_len),
                     WARD_OK);
    assert_int_equal(ward_verify(k, WARD_HASH_SHA256, WARD_SIG_DER, "m", 1, sig, sig_len),
                     WARD_OK);
    free(sig);
    ward_wipe(data, n);
    free(data);
    BIO_free(bio);

    /* Encrypted PKCS#8. */
    bio = BIO_new(BIO_s_mem());
    assert_non_null(bio);
    assert_int_equal(PEM_write_bio_PKCS8PrivateKey(bio, k->pkey, EVP_aes_256_cbc(), NULL, 0,
                                                   NULL, (void *)"passphrase"), 1);
    data = bio_string(bio, &n);
    assert_non_null(strstr(data, "ENCRYPTED PRIVATE KEY"));
    assert_int_equal(ward_pkey_from_pem(data, n, &bad), WARD_ERR_UNSUPPORTED);
    free(data);
    BIO_free(bio);

    /* Legacy-encrypted SEC1 (Proc-Type header). */
    bio = BIO_new(BIO_s_mem());
    assert_non_null(bio);
    assert_int_equal(PEM_write_bio_PrivateKey_traditional(bio, k->pkey, EVP_aes_128_cbc(),
                                                          (unsigned char *)"passphrase", 10,
                                                          NULL, NULL), 1);
    data = bio_string(bio, &n);
    assert_non_null(strstr(data, "Proc-Type"));
    assert_int_equal(ward_pkey_from_pem(data, n, &bad), WARD_ERR_UNSUPPORTED);
    free(data);
    BIO_free(bio);

    static const char cert[] = "-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n";
    assert_int_equal(ward_pkey_from_pem(cert, sizeof cert - 1, &bad), WARD_ERR_UNSUPPORTED);
    static const char junk[] = "no pem here";
    assert_int_equal(ward_pkey_from_pem(junk, sizeof junk - 1, &bad), WARD_ERR_FORMAT);
    static const char garbage[] = "-----BEGIN PUBLIC KEY-----\nMAA=\n-----END PUBLIC KEY-----\n";
    assert_int_equal(ward_pkey_from_pem(garbage, sizeof garbage - 1, &bad), WARD_ERR_FORMAT);
    assert_null(bad);

    ward_pkey_free(k);
    ward_pkey_free(k2);
}

/* Keys outside the policy: explicit curve parameters, compressed points, small or malformed
 * RSA keys, unsupported types. */
static void test_key_policy(void **state)
{
    (void)state;
    ward_pkey *bad = NULL;
    /* The RFC 6979 P-384 key as an SPKI with explicit curve parameters. */
    static const char explicit_p384[] =
        "308201cc3082016406072a8648ce3d020130820157020101303c06072a8648ce3d0101023100ffffffffff"
        "fffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffff"
        "307b0430fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff000000"
        "0000000000fffffffc0430b3312fa7e23ee7e4988e056be3f82d19181d9c6efe8141120314088f5013875a"
        "c656398d8a2ed19d2a85c8edd3ec2aef031500a335926aa319a27a1d00896a6773a4827acdac73046104aa"
        "87ca22be8b05378eb1c71ef320ad746e1d3b628ba79b9859f741e082542a385502f25dbf55296c3a545e38"
        "72760ab73617de4a96262c6f5d9e98bf9292dc29f8f41dbd289a147ce9da3113b5f0b8c00a60b1ce1d7e81"
        "9d7a431d7c90ea0e5f023100ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372d"
        "df581a0db248b0a77aecec196accc5297302010103620004ec3a4e415b4e19a4568618029f427fa5da9a8b"
        "c4ae92e02e06aae5286b300c64def8f0ea9055866064a254515480bc138015d9b72d7d57244ea8ef9ac0c6"
        "21896708a59367f9dfb9f54ca84b3f1c9db1288b231c3ae0d4fe7344fd2533264720";
    size_t len;
    uint8_t *der = tu_unhex(explicit_p384, &len);
    if (ward_pkey_from_spki_der(der, len, &bad) != WARD_ERR_UNSUPPORTED)
        fail_msg("explicit parameters: %s", ward_errmsg());
    free(der);

    /* The RFC 6979 P-256 key as an SPKI with a compressed point (y is odd: prefix 03). */
    static const char compressed_p256[] =
        "3039301306072a8648ce3d020106082a8648ce3d0301070322000360fed4ba255a9d31c961eb74c6356d68"
        "c049b8923b61fa6ce669622e60f29fb6";
    der = tu_unhex(compressed_p256, &len);
    assert_int_equal(len, 59);
    assert_int_equal(der[26], 0x03);
    assert_int_equal(ward_pkey_from_spki_der(der, len, &bad), WARD_ERR_UNSUPPORTED);
    der[26] = 0x02; /* the other y: also a point on the curve, also compressed */
    assert_int_equal(ward_pkey_from_spki_der(der, len, &bad), WARD_ERR_UNSUPPORTED);
    assert_null(bad);
    free(der);

    /* RSA: a 1024-bit modulus is refused, as are an even exponent and e = 1. */
    uint8_t n[256], e3[1] = {3}, e_even[1] = {4}, e1[1] = {1};
    memset(n, 0xc5, sizeof n);
    n[255] |= 1;
    assert_int_equal(ward_pkey_from_rsa_public(n, 128, e3, 1, &bad), WARD_ERR_UNSUPPORTED);
    assert_int_equal(ward_pkey_from_rsa_public(n, sizeof n, e_even, 1, &bad), WARD_ERR_FORMAT);
    assert_int_equal(ward_pkey_from_rsa_public(n, sizeof n, e1, 1, &bad), WARD_ERR_FORMAT);
    n[255] &= 0xfe;
    assert_int_equal(ward_pkey_from_rsa_public(n, sizeof n, e3, 1, &bad), WARD_ERR_FORMAT);
    n[255] |= 1;
    ward_pkey *rsa = NULL;
    assert_int_equal(ward_pkey_from_rsa_public(n, sizeof n, e3, 1, &rsa), WARD_OK);
    assert_int_equal(ward_pkey_type(rsa), WARD_KEY_RSA);
    ward_pkey_free(rsa);
    uint8_t huge[3000] = {1};
    assert_int_equal(ward_pkey_from_rsa_public(huge, sizeof huge, e3, 1, &bad),
                     WARD_ERR_OVERFLOW);
    assert_null(bad);

    /* An Ed448 SPKI (RFC 8410 example shape): unsupported type. */
    EVP_PKEY *ed448 = EVP_PKEY_Q_keygen(NULL, NULL, "ED448");
    assert_non_null(ed448);
    unsigned char *buf = NULL;
    int blen = i2d_PUBKEY(ed448, &buf);
    assert_true(blen > 0);
    assert_int_equal(ward_pkey_from_spki_der(buf, (size_t)blen, &bad), WARD_ERR_UNSUPPORTED);
    OPENSSL_free(buf);
    /* ward_pkey_wrap accepts anything the X.509 code hands it; the type is just NONE. */
    ward_pkey *w = ward_pkey_wrap(ed448);
    assert_non_null(w);
    assert_int_equal(ward_pkey_type(w), WARD_KEY_NONE);
    assert_int_equal(ward_sign(w, WARD_HASH_SHA256, WARD_SIG_DER, "m", 1, (uint8_t **)&buf,
                               &len), WARD_ERR_INVALID_ARG);
    ward_pkey_free(w);
    assert_null(ward_pkey_wrap(NULL));

    assert_int_equal(ward_pkey_generate(WARD_KEY_RSA, &bad), WARD_ERR_UNSUPPORTED);
    assert_int_equal(ward_pkey_generate(WARD_KEY_NONE, &bad), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_pkey_generate((ward_key_type)77, &bad), WARD_ERR_INVALID_ARG);
    uint8_t raw[32] = {1};
    assert_int_equal(ward_pkey_from_raw_public(WARD_KEY_RSA, raw, 32, &bad),
                     WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_pkey_from_raw_private(WARD_KEY_RSA, raw, 32, &bad),
                     WARD_ERR_UNSUPPORTED);
    assert_int_equal(ward_pkey_from_raw_private(WARD_KEY_NONE, raw, 32, &bad),
                     WARD_ERR_INVALID_ARG);
    assert_null(bad);
}

/* X25519 keys: key-agreement keys only, and consistent with ward_x25519_public. */
static void test_x25519_pkey(void **state)
{
    (void)state;
    uint8_t sk[32], pk[32], raw[32];
    for (size_t i = 0; i < sizeof sk; i++)
        sk[i] = (uint8_t)(i * 7 + 1);
    assert_int_equal(ward_x25519_public(sk, pk), WARD_OK);
    ward_pkey *k = NULL;
    assert_int_equal(ward_pkey_from_raw_private(WARD_KEY_X25519, sk, sizeof sk, &k), WARD_OK);
    assert_int_equal(ward_pkey_type(k), WARD_KEY_X25519);
    assert_int_equal(ward_pkey_is_private(k), 1);
    size_t len = sizeof raw;
    assert_int_equal(ward_pkey_raw_public(k, raw, &len), WARD_OK);
    assert_memory_equal(raw, pk, 32);
    uint8_t *sig = NULL;
    size_t sig_len = 0;
    assert_int_equal(ward_sign(k, WARD_HASH_SHA256, WARD_SIG_DER, "m", 1, &sig, &sig_len),
                     WARD_ERR_INVALID_ARG);
    uint8_t dummy[64] = {0};
    assert_int_equal(ward_verify(k, WARD_HASH_SHA256, WARD_SIG_DER, "m", 1, dummy, 64),
                     WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_verify_rsa_pss(k, WARD_HASH_SHA256, 32, "m", 1, dummy, 64),
                     WARD_ERR_INVALID_ARG);
    ward_pkey_free(k);
}

/* ---- DER <-> raw conversion --------------------------------------------------------------- */

static void test_der_raw_conversion(void **state)
{
    (void)state;
    /* r = 1, s = 0x80 (needs a 0x00 pad in DER), 32-byte coordinates. */
    uint8_t raw[64] = {0};
    raw[31] = 0x01;
    raw[63] = 0x80;
    uint8_t *der = NULL, *back = NULL;
    size_t der_len = 0, back_len = 0;
    assert_int_equal(ward_ecdsa_raw_to_der(raw, sizeof raw, &der, &der_len), WARD_OK);
    static const uint8_t want[] = {0x30, 0x07, 0x02, 0x01, 0x01, 0x02, 0x02, 0x00, 0x80};
    assert_int_equal(der_len, sizeof want);
    assert_memory_equal(der, want, sizeof want);
    assert_int_equal(ward_ecdsa_der_to_raw(der, der_len, 32, &back, &back_len), WARD_OK);
    assert_int_equal(back_len, 64);
    assert_memory_equal(back, raw, 64);
    free(back);
    /* Same DER into 48-byte coordinates. */
    assert_int_equal(ward_ecdsa_der_to_raw(der, der_len, 48, &back, &back_len), WARD_OK);
    assert_int_equal(back_len, 96);
    assert_int_equal(back[47], 0x01);
    assert_int_equal(back[95], 0x80);
    free(back);
    free(der);

    /* Full-width values with the top bit set. */
    memset(raw, 0xff, sizeof raw);
    assert_int_equal(ward_ecdsa_raw_to_der(raw, sizeof raw, &der, &der_len), WARD_OK);
    assert_int_equal(der_len, 2 + 2 * (2 + 33));
    assert_int_equal(ward_ecdsa_der_to_raw(der, der_len, 32, &back, &back_len), WARD_OK);
    assert_memory_equal(back, raw, 64);
    free(back);
    back = NULL;
    /* r does not fit 31-byte coordinates. */
    assert_int_equal(ward_ecdsa_der_to_raw(der, der_len, 31, &back, &back_len),
                     WARD_ERR_FORMAT);
    assert_null(back);
    free(der);

    /* Malformed DER: missing pad (negative), extra leading zero, long-form length, trailing
     * bytes, truncated, wrong tag. */
    static const uint8_t negative[] = {0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x80};
    static const uint8_t extra_zero[] = {0x30, 0x07, 0x02, 0x02, 0x00, 0x01, 0x02, 0x01, 0x01};
    static const uint8_t long_len[] = {0x30, 0x81, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01};
    static const uint8_t trailing[] = {0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01, 0x00};
    static const uint8_t truncated[] = {0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01};
    static const uint8_t wrong_tag[] = {0x31, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01};
    static const uint8_t ok[] = {0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01};
    struct {
        const uint8_t *p;
        size_t n;
    } bad[] = {{negative, sizeof negative},   {extra_zero, sizeof extra_zero},
               {long_len, sizeof long_len},   {trailing, sizeof trailing},
               {truncated, sizeof truncated}, {wrong_tag, sizeof wrong_tag}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        back = NULL;
        assert_int_equal(ward_ecdsa_der_to_raw(bad[i].p, bad[i].n, 32, &back, &back_len),
                         WARD_ERR_FORMAT);
        assert_null(back);
    }
    assert_int_equal(ward_ecdsa_der_to_raw(ok, sizeof ok, 32, &back, &back_len), WARD_OK);
    free(back);

    /* Argument checks. */
    assert_int_equal(ward_ecdsa_der_to_raw(NULL, 8, 32, &back, &back_len), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_ecdsa_der_to_raw(ok, 0, 32, &back, &back_len), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_ecdsa_der_to_raw(ok, sizeof ok, 0, &back, &back_len),
                     WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_ecdsa_der_to_raw(ok, sizeof ok, 32, NULL, &back_len),
                     WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_ecdsa_raw_to_der(NULL, 64, &der, &der_len), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_ecdsa_raw_to_der(raw, 0, &der, &der_len), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_ecdsa_raw_to_der(raw, 63, &der, &der_len), WARD_ERR_FORMAT);
    uint8_t big[200] = {0};
    assert_int_equal(ward_ecdsa_raw_to_der(big, sizeof big, &der, &der_len), WARD_ERR_FORMAT);
}

/* ---- NULL and empty arguments ------------------------------------------------------------- */

static void test_null_args(void **state)
{
    (void)state;
    ward_pkey *k = NULL, *out = NULL;
    assert_int_equal(ward_pkey_generate(WARD_KEY_EC_P256, &k), WARD_OK);
    uint8_t buf[64] = {1};
    uint8_t *sig = NULL;
    size_t sig_len = 0;
    char *pem = NULL;
    size_t len = 0;

    assert_int_equal(ward_pkey_generate(WARD_KEY_EC_P256, NULL), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_pkey_from_spki_der(NULL, 10, &out), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_pkey_from_spki_der(buf, 0, &out), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_pkey_from_spki_der(buf, 10, NULL), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_pkey_from_pem(NULL, 10, &out), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_pkey_from_pem("x", 0, &out), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_pkey_from_raw_public(WARD_KEY_ED25519, NULL, 32, &out),
                     WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_pkey_from_raw_public(WARD_KEY_ED25519, buf, 0, &out),
                     WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_pkey_from_raw_private(WARD_KEY_ED25519, NULL, 32, &out),
                     WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_pkey_from_raw_private(WARD_KEY_ED25519, buf, 0, &out),
                     WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_pkey_from_raw_private(WARD_KEY_ED25519, buf, 32, NULL),
                     WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_pkey_from_rsa_public(NULL, 256, buf, 1, &out), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_pkey_from_rsa_public(buf, 64, buf, 0, &out), WARD_ERR_INVALID_ARG);
    assert_null(out);
    ward_pkey_free(NULL);
    assert_int_equal(ward_pkey_type(NULL), WARD_KEY_NONE);
    assert_int_equal(ward_pkey_is_private(NULL), 0);
    assert_int_equal(ward_pkey_public_only(NULL, &out), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_pkey_public_only(k, NULL), WARD_ERR_INVALID_ARG);
    uint8_t *der = NULL;
    assert_int_equal(ward_pkey_spki_der(NULL, &der, &len), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_pkey_spki_der(k, NULL, &len), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_pkey_spki_der(k, &der, NULL), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_pkey_spki_sha256(NULL, buf), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_pkey_spki_sha256(k, NULL), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_pkey_public_pem(NULL, &pem, &len), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_pkey_public_pem(k, NULL, &len), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_pkey_private_pem(NULL, &pem, &len), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_pkey_private_pem(k, &pem, NULL), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_pkey_raw_public(NULL, buf, &len), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_pkey_raw_public(k, NULL, &len), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_pkey_raw_public(k, buf, NULL), WARD_ERR_INVALID_ARG);

    assert_int_equal(ward_sign(NULL, WARD_HASH_SHA256, WARD_SIG_DER, "m", 1, &sig, &sig_len),
                     WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_sign(k, WARD_HASH_SHA256, WARD_SIG_DER, NULL, 1, &sig, &sig_len),
                     WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_sign(k, WARD_HASH_SHA256, WARD_SIG_DER, "m", 1, NULL, &sig_len),
                     WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_sign(k, WARD_HASH_SHA256, WARD_SIG_DER, "m", 1, &sig, NULL),
                     WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_verify(NULL, WARD_HASH_SHA256, WARD_SIG_DER, "m", 1, buf, 8),
                     WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_verify(k, WARD_HASH_SHA256, WARD_SIG_DER, NULL, 1, buf, 8),
                     WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_verify(k, WARD_HASH_SHA256, WARD_SIG_DER, "m", 1, NULL, 8),
                     WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_verify(k, WARD_HASH_SHA256, WARD_SIG_DER, "m", 1, buf, 0),
                     WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_verify(k, WARD_HASH_SHA256, WARD_SIG_RAW, "m", 1, buf, 0),
                     WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_verify_rsa_pss(NULL, WARD_HASH_SHA256, 32, "m", 1, buf, 8),
                     WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_verify_rsa_pss(k, WARD_HASH_SHA256, 32, "m", 1, NULL, 8),
                     WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_verify_rsa_pss(k, WARD_HASH_SHA256, 32, "m", 1, buf, 0),
                     WARD_ERR_INVALID_ARG);
    /* EC key into the RSA verifiers: wrong key type. */
    assert_int_equal(ward_verify_rsa_pss(k, WARD_HASH_SHA256, 32, "m", 1, buf, 8),
                     WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_verify_rsa_pkcs1(k, WARD_HASH_SHA256, "m", 1, buf, 8),
                     WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_verify_rsa_pkcs1(NULL, WARD_HASH_SHA256, "m", 1, buf, 8),
                     WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_verify_rsa_pkcs1(k, WARD_HASH_SHA256, "m", 1, buf, 0),
                     WARD_ERR_INVALID_ARG);
    /* Error messages say what failed. */
    assert_int_equal(ward_verify(k, WARD_HASH_SHA256, WARD_SIG_DER, "m", 1, buf, 8),
                     WARD_ERR_VERIFY);
    assert_non_null(strstr(ward_errmsg(), "verify ECDSA"));
    ward_pkey_free(k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wycheproof_ecdsa_p256_der),
        cmocka_unit_test(test_wycheproof_ecdsa_p256_p1363),
        cmocka_unit_test(test_wycheproof_ecdsa_p384_der),
        cmocka_unit_test(test_wycheproof_ecdsa_p384_p1363),
        cmocka_unit_test(test_wycheproof_ed25519),
        cmocka_unit_test(test_wycheproof_rsa_pss),
        cmocka_unit_test(test_rfc8032_ed25519),
        cmocka_unit_test(test_ec_raw_private_known),
        cmocka_unit_test(test_roundtrip_p256),
        cmocka_unit_test(test_roundtrip_p384),
        cmocka_unit_test(test_roundtrip_ed25519),
        cmocka_unit_test(test_pem_spki_raw_p256),
        cmocka_unit_test(test_pem_spki_raw_p384),
        cmocka_unit_test(test_pem_spki_raw_ed25519),
        cmocka_unit_test(test_pem_spki_raw_x25519),
        cmocka_unit_test(test_pem_variants),
        cmocka_unit_test(test_key_policy),
        cmocka_unit_test(test_x25519_pkey),
        cmocka_unit_test(test_der_raw_conversion),
        cmocka_unit_test(test_null_args),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
