/* HOTP (RFC 4226 Appendix D), TOTP (RFC 6238 Appendix B: SHA-1, SHA-256, SHA-512) and base32
 * (RFC 4648 section 10), with their bad inputs. The vectors are typed in from the RFCs. */
#include "testutil.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ward/crypto.h"
#include "ward/err.h"
#include "ward/identity.h"

#define CHECK_OK(expr)                                                                        \
    do {                                                                                      \
        ward_err e_ = (expr);                                                                 \
        if (e_ != WARD_OK)                                                                    \
            fail_msg("%s failed: %s: %s", #expr, ward_err_name(e_), ward_errmsg());          \
    } while (0)

/* RFC 4226 Appendix D: secret "12345678901234567890", counters 0..9, 6 digits. */
static void test_hotp_rfc4226(void **state)
{
    (void)state;
    static const uint32_t want[10] = {755224, 287082, 359152, 969429, 338314,
                                      254676, 287922, 162583, 399871, 520489};
    const uint8_t *key = (const uint8_t *)"12345678901234567890";
    for (uint64_t c = 0; c < 10; c++) {
        uint32_t code = 0;
        CHECK_OK(ward_hotp(WARD_TOTP_SHA1, key, 20, c, 6, &code));
        assert_int_equal(code, want[c]);
    }
}

/* RFC 6238 Appendix B: 8 digits, 30 s steps, T0 = 0, the seeds of the reference code. */
static void test_totp_rfc6238(void **state)
{
    (void)state;
    static const struct {
        int64_t t;
        uint32_t sha1, sha256, sha512;
    } v[] = {
        {59, 94287082, 46119246, 90693936},
        {1111111109, 7081804, 68084774, 25091201},
        {1111111111, 14050471, 67062674, 99943326},
        {1234567890, 89005924, 91819424, 93441116},
        {2000000000, 69279037, 90698825, 38618901},
        {INT64_C(20000000000), 65353130, 77737706, 47863826},
    };
    const uint8_t *k1 = (const uint8_t *)"12345678901234567890";
    const uint8_t *k256 = (const uint8_t *)"12345678901234567890123456789012";
    const uint8_t *k512 =
        (const uint8_t *)"1234567890123456789012345678901234567890123456789012345678901234";
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        uint32_t c = 0;
        CHECK_OK(ward_totp(WARD_TOTP_SHA1, k1, 20, v[i].t, 30, 8, &c));
        assert_int_equal(c, v[i].sha1);
        CHECK_OK(ward_totp(WARD_TOTP_SHA256, k256, 32, v[i].t, 30, 8, &c));
        assert_int_equal(c, v[i].sha256);
        CHECK_OK(ward_totp(WARD_TOTP_SHA512, k512, 64, v[i].t, 30, 8, &c));
        assert_int_equal(c, v[i].sha512);
    }
    /* Six digits are the last six of eight (the same truncated value mod 10^6). */
    uint32_t c6 = 0;
    CHECK_OK(ward_totp(WARD_TOTP_SHA1, k1, 20, 59, 30, 6, &c6));
    assert_int_equal(c6, 94287082 % 1000000);
    /* Within one step the code is the same; at the boundary it changes. */
    uint32_t a = 0, b = 0;
    CHECK_OK(ward_totp(WARD_TOTP_SHA1, k1, 20, 60, 30, 8, &a));
    CHECK_OK(ward_totp(WARD_TOTP_SHA1, k1, 20, 89, 30, 8, &b));
    assert_int_equal(a, b);
    CHECK_OK(ward_totp(WARD_TOTP_SHA1, k1, 20, 90, 30, 8, &b));
    assert_int_not_equal(a, b);
}

static void test_totp_bad_input(void **state)
{
    (void)state;
    const uint8_t key[20] = {1};
    uint32_t c = 1;
    assert_int_equal(ward_hotp(WARD_TOTP_SHA1, key, 20, 0, 5, &c), WARD_ERR_INVALID_ARG);
    assert_int_equal(c, 0);
    assert_int_equal(ward_hotp(WARD_TOTP_SHA1, key, 20, 0, 9, &c), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_hotp((ward_totp_alg)7, key, 20, 0, 6, &c), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_hotp(WARD_TOTP_SHA1, NULL, 20, 0, 6, &c), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_hotp(WARD_TOTP_SHA1, key, 20, 0, 6, NULL), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_totp(WARD_TOTP_SHA1, key, 20, -1, 30, 6, &c), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_totp(WARD_TOTP_SHA1, key, 20, 100, 0, 6, &c), WARD_ERR_INVALID_ARG);
    /* An empty key is a valid (if useless) HMAC key. */
    CHECK_OK(ward_hotp(WARD_TOTP_SHA1, NULL, 0, 0, 6, &c));
    CHECK_OK(ward_hotp(WARD_TOTP_SHA256, NULL, 0, 0, 6, &c));
}

/* RFC 4648 section 10. */
static void test_base32_rfc4648(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
    } v[] = {
        {"", ""},
        {"f", "MY======"},
        {"fo", "MZXQ===="},
        {"foo", "MZXW6==="},
        {"foob", "MZXW6YQ="},
        {"fooba", "MZXW6YTB"},
        {"foobar", "MZXW6YTBOI======"},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        char *enc = NULL;
        size_t enc_len = 0;
        size_t in_len = strlen(v[i].in);
        CHECK_OK(ward_base32_encode((const uint8_t *)v[i].in, in_len, 1, &enc, &enc_len));
        assert_string_equal(enc, v[i].out);
        assert_int_equal(enc_len, strlen(v[i].out));
        free(enc);
        /* Unpadded form, as in otpauth URIs. */
        CHECK_OK(ward_base32_encode((const uint8_t *)v[i].in, in_len, 0, &enc, &enc_len));
        size_t unpadded = strcspn(v[i].out, "=");
        assert_int_equal(enc_len, unpadded);
        assert_memory_equal(enc, v[i].out, unpadded);
        /* Both decode, and lower case too. */
        uint8_t *dec = NULL;
        size_t dec_len = 0;
        CHECK_OK(ward_base32_decode(enc, enc_len, &dec, &dec_len));
        assert_int_equal(dec_len, in_len);
        assert_memory_equal(dec, v[i].in, in_len);
        free(dec);
        CHECK_OK(ward_base32_decode(v[i].out, strlen(v[i].out), &dec, &dec_len));
        assert_int_equal(dec_len, in_len);
        free(dec);
        for (size_t k = 0; k < enc_len; k++)
            if (enc[k] >= 'A' && enc[k] <= 'Z')
                enc[k] = (char)(enc[k] - 'A' + 'a');
        CHECK_OK(ward_base32_decode(enc, enc_len, &dec, &dec_len));
        assert_int_equal(dec_len, in_len);
        assert_memory_equal(dec, v[i].in, in_len);
        free(dec);
        free(enc);
    }
    /* A 20-byte TOTP secret is 32 characters without padding. */
    uint8_t secret[WARD_TOTP_SECRET_LEN];
    CHECK_OK(ward_random(secret, sizeof secret));
    char *enc = NULL;
    size_t enc_len = 0;
    CHECK_OK(ward_base32_encode(secret, sizeof secret, 0, &enc, &enc_len));
    assert_int_equal(enc_len, 32);
    uint8_t *dec = NULL;
    size_t dec_len = 0;
    CHECK_OK(ward_base32_decode(enc, enc_len, &dec, &dec_len));
    assert_int_equal(dec_len, sizeof secret);
    assert_memory_equal(dec, secret, sizeof secret);
    free(dec);
    free(enc);
}

static void test_base32_bad_input(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "M",          /* impossible length (1 of 8) */
        "MZX",        /* impossible length (3) */
        "MZXW6Y",     /* impossible length (6) */
        "MY=",        /* incomplete padding */
        "MY=======",  /* too much padding */
        "MZ======",   /* non-zero trailing bits ('Z' leaves bits set) */
        "MY======MY", /* data after padding */
        "MZXW 6===",  /* space */
        "MZXW1===",   /* '1' is not in the alphabet */
        "MZXW8===",   /* nor '8' */
        "MZXW6==\n",  /* newline */
        "========",   /* padding only */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t *dec = (uint8_t *)1;
        size_t dec_len = 99;
        ward_err e = ward_base32_decode(bad[i], strlen(bad[i]), &dec, &dec_len);
        if (e != WARD_ERR_FORMAT)
            fail_msg("'%s' decoded: %s", bad[i], ward_err_name(e));
        assert_null(dec);
        assert_int_equal(dec_len, 0);
    }
    uint8_t *dec = NULL;
    size_t dec_len = 0;
    assert_int_equal(ward_base32_decode(NULL, 1, &dec, &dec_len), WARD_ERR_INVALID_ARG);
    char *enc = NULL;
    assert_int_equal(ward_base32_encode(NULL, 1, 0, &enc, NULL), WARD_ERR_INVALID_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hotp_rfc4226),
        cmocka_unit_test(test_totp_rfc6238),
        cmocka_unit_test(test_totp_bad_input),
        cmocka_unit_test(test_base32_rfc4648),
        cmocka_unit_test(test_base32_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
