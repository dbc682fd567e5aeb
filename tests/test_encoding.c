/* Hex, base64 and base64url: RFC 4648 known answers, round trips, and every refusal. */
#include "testutil.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ward/encoding.h"
#include "ward/err.h"

typedef ward_err (*enc_fn)(const uint8_t *, size_t, char **, size_t *);
typedef ward_err (*dec_fn)(const char *, size_t, uint8_t **, size_t *);

/* ---- helpers ---- */

static void check_encode(enc_fn enc, const char *in, const char *expect)
{
    char *out = NULL;
    size_t out_len = 12345;
    assert_int_equal(enc((const uint8_t *)in, strlen(in), &out, &out_len), WARD_OK);
    assert_non_null(out);
    assert_string_equal(out, expect);
    assert_int_equal(out_len, strlen(expect));
    free(out);
    /* out_len may be NULL */
    assert_int_equal(enc((const uint8_t *)in, strlen(in), &out, NULL), WARD_OK);
    assert_string_equal(out, expect);
    free(out);
}

static void check_decode(dec_fn dec, const char *in, const char *expect)
{
    uint8_t *out = NULL;
    size_t out_len = 12345;
    assert_int_equal(dec(in, strlen(in), &out, &out_len), WARD_OK);
    assert_non_null(out); /* even for empty output */
    assert_int_equal(out_len, strlen(expect));
    assert_memory_equal(out, expect, out_len);
    free(out);
}

/* dec must refuse in (len bytes) with WARD_ERR_FORMAT, leave *out NULL, and, if want is not
 * NULL, say it in its message. */
static void check_refused_n(dec_fn dec, const char *in, size_t len, const char *want)
{
    uint8_t *out = (uint8_t *)0x1;
    size_t out_len = 99;
    ward_err_clear();
    ward_err err = dec(in, len, &out, &out_len);
    if (err != WARD_ERR_FORMAT)
        fail_msg("expected a format error for input of %zu bytes, got %d (%s)", len, err,
                 ward_errmsg());
    assert_null(out);
    assert_int_equal(out_len, 0);
    assert_true(strlen(ward_errmsg()) > 0);
    if (want != NULL && strstr(ward_errmsg(), want) == NULL)
        fail_msg("message \"%s\" does not mention \"%s\"", ward_errmsg(), want);
}

static void check_refused(dec_fn dec, const char *in, const char *want)
{
    check_refused_n(dec, in, strlen(in), want);
}

/* Deterministic pseudo-random bytes. */
static void fill(uint8_t *p, size_t n, uint32_t seed)
{
    uint32_t x = seed * 2654435761u + 1u;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = (uint8_t)(x >> 24);
    }
}

/* ---- RFC 4648 section 10 known answers ---- */

static const char *const rfc_in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
static const char *const rfc_b64[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=",
                                      "Zm9vYmFy"};
static const char *const rfc_b64url[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE",
                                         "Zm9vYmFy"};
static const char *const rfc_hex[] = {"", "66", "666f", "666f6f", "666f6f62", "666f6f6261",
                                      "666f6f626172"};
static const char *const rfc_hex_upper[] = {"", "66", "666F", "666F6F", "666F6F62",
                                            "666F6F6261", "666F6F626172"};

static void test_rfc4648_base64(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof rfc_in / sizeof rfc_in[0]; i++) {
        check_encode(ward_base64_encode, rfc_in[i], rfc_b64[i]);
        check_decode(ward_base64_decode, rfc_b64[i], rfc_in[i]);
    }
}

static void test_rfc4648_base64url(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof rfc_in / sizeof rfc_in[0]; i++) {
        check_encode(ward_base64url_encode, rfc_in[i], rfc_b64url[i]);
        check_decode(ward_base64url_decode, rfc_b64url[i], rfc_in[i]);
    }
}

static void test_rfc4648_hex(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof rfc_in / sizeof rfc_in[0]; i++) {
        check_encode(ward_hex_encode, rfc_in[i], rfc_hex[i]);
        check_decode(ward_hex_decode, rfc_hex[i], rfc_in[i]);
        check_decode(ward_hex_decode, rfc_hex_upper[i], rfc_in[i]);
    }
}

/* The two alphabets differ only in values 62 and 63. */
static void test_alphabet_specific(void **state)
{
    (void)state;
    check_encode(ward_base64_encode, "\xfb\xef\xbe", "++++");
    check_encode(ward_base64url_encode, "\xfb\xef\xbe", "----");
    check_encode(ward_base64_encode, "\xff\xff\xff", "////");
    check_encode(ward_base64url_encode, "\xff\xff\xff", "____");
    check_encode(ward_base64_encode, "\xfb\xff", "+/8=");
    check_encode(ward_base64url_encode, "\xfb\xff", "-_8");
    check_decode(ward_base64_decode, "+/8=", "\xfb\xff");
    check_decode(ward_base64url_decode, "-_8", "\xfb\xff");
    check_refused(ward_base64_decode, "-_8=", "invalid character 0x2d at offset 0");
    check_refused(ward_base64url_decode, "+/8", "invalid character 0x2b at offset 0");
    check_refused(ward_base64url_decode, "A/8", "invalid character 0x2f at offset 1");
    check_refused(ward_base64_decode, "A_8=", "invalid character 0x5f at offset 1");

    /* Every byte value through hex, both cases. */
    uint8_t all[256];
    for (size_t i = 0; i < 256; i++)
        all[i] = (uint8_t)i;
    char *hex = NULL;
    size_t hex_len = 0;
    assert_int_equal(ward_hex_encode(all, sizeof all, &hex, &hex_len), WARD_OK);
    assert_int_equal(hex_len, 512);
    assert_memory_equal(hex, "000102", 6);
    assert_memory_equal(hex + 500, "fafbfcfdfeff", 12);
    for (size_t i = 0; i < hex_len; i++)
        assert_true((hex[i] >= '0' && hex[i] <= '9') || (hex[i] >= 'a' && hex[i] <= 'f'));
    free(hex);
}

/* ---- round trips ---- */

static void round_trip(enc_fn enc, dec_fn dec, const uint8_t *data, size_t n, size_t expect_len)
{
    char *s = NULL;
    size_t s_len = 0;
    assert_int_equal(enc(data, n, &s, &s_len), WARD_OK);
    assert_int_equal(s_len, expect_len);
    assert_int_equal(strlen(s), s_len);
    uint8_t *back = NULL;
    size_t back_len = 0;
    assert_int_equal(dec(s, s_len, &back, &back_len), WARD_OK);
    assert_int_equal(back_len, n);
    if (n > 0)
        assert_memory_equal(back, data, n);
    free(back);
    free(s);
}

static void test_round_trips(void **state)
{
    (void)state;
    uint8_t data[301];
    for (size_t n = 0; n <= 300; n++) {
        fill(data, n, (uint32_t)n);
        round_trip(ward_hex_encode, ward_hex_decode, data, n, 2 * n);
        round_trip(ward_base64_encode, ward_base64_decode, data, n, 4 * ((n + 2) / 3));
        round_trip(ward_base64url_encode, ward_base64url_decode, data, n,
                   (4 * n + 2) / 3);

        /* Upper-case hex decodes to the same bytes; the fixed-size decoder agrees. */
        char *hex = NULL;
        size_t hex_len = 0;
        assert_int_equal(ward_hex_encode(data, n, &hex, &hex_len), WARD_OK);
        for (size_t i = 0; i < hex_len; i++)
            if (hex[i] >= 'a' && hex[i] <= 'f')
                hex[i] = (char)(hex[i] - 'a' + 'A');
        uint8_t fixed[301];
        assert_int_equal(ward_hex_decode_fixed(hex, hex_len, fixed, n), WARD_OK);
        if (n > 0)
            assert_memory_equal(fixed, data, n);
        free(hex);
    }
}

static void test_empty(void **state)
{
    (void)state;
    uint8_t *out = NULL;
    size_t out_len = 7;
    /* NULL input is fine when the length is 0 */
    assert_int_equal(ward_base64_decode(NULL, 0, &out, &out_len), WARD_OK);
    assert_non_null(out);
    assert_int_equal(out_len, 0);
    free(out);
    out = NULL;
    assert_int_equal(ward_base64url_decode("", 0, &out, &out_len), WARD_OK);
    assert_non_null(out);
    free(out);
    out = NULL;
    assert_int_equal(ward_hex_decode("", 0, &out, &out_len), WARD_OK);
    assert_non_null(out);
    free(out);
    assert_int_equal(ward_hex_decode_fixed("", 0, NULL, 0), WARD_OK);

    char *s = NULL;
    size_t s_len = 7;
    assert_int_equal(ward_base64_encode(NULL, 0, &s, &s_len), WARD_OK);
    assert_string_equal(s, "");
    assert_int_equal(s_len, 0);
    free(s);
}

/* ---- hex refusals ---- */

static void test_hex_odd_length(void **state)
{
    (void)state;
    check_refused(ward_hex_decode, "abc", "odd length 3");
    check_refused(ward_hex_decode, "0", "odd length");
}

static void test_hex_bad_characters(void **state)
{
    (void)state;
    check_refused(ward_hex_decode, "zz", "invalid character 0x7a at offset 0");
    check_refused(ward_hex_decode, "0g", "invalid character 0x67 at offset 1");
    check_refused(ward_hex_decode, "00G0", "offset 2");
    check_refused(ward_hex_decode, "0x12", "offset 1");
    check_refused(ward_hex_decode, "-1", "offset 0");
    check_refused(ward_hex_decode, "\xc3\xa9", "invalid character 0xc3");
    check_refused_n(ward_hex_decode, "00\0" "0", 4, "invalid character 0x00 at offset 2");
    /* characters just outside each range */
    check_refused(ward_hex_decode, "/0", "offset 0");
    check_refused(ward_hex_decode, ":0", "offset 0");
    check_refused(ward_hex_decode, "@0", "offset 0");
    check_refused(ward_hex_decode, "`0", "offset 0");
}

static void test_hex_whitespace(void **state)
{
    (void)state;
    check_refused(ward_hex_decode, " 0", "invalid character 0x20 at offset 0");
    check_refused(ward_hex_decode, "00 ", "invalid character 0x20 at offset 2");
    check_refused(ward_hex_decode, "abc\n", "offset 3");
    check_refused(ward_hex_decode, "ab\n", "offset 2");
    check_refused(ward_hex_decode, "00 0", "offset 2");
    check_refused(ward_hex_decode, "000\n", "invalid character 0x0a at offset 3");
    check_refused(ward_hex_decode, "\t000", "offset 0");
}

static void test_hex_fixed(void **state)
{
    (void)state;
    uint8_t out[4] = {0xaa, 0xaa, 0xaa, 0xaa};
    assert_int_equal(ward_hex_decode_fixed("DEADbeef", 8, out, 4), WARD_OK);
    assert_memory_equal(out, "\xde\xad\xbe\xef", 4);

    uint8_t keep[4] = {1, 2, 3, 4};
    assert_int_equal(ward_hex_decode_fixed("deadbe", 6, keep, 4), WARD_ERR_FORMAT);
    assert_non_null(strstr(ward_errmsg(), "expected 4"));
    assert_int_equal(ward_hex_decode_fixed("deadbeef00", 10, keep, 4), WARD_ERR_FORMAT);
    assert_int_equal(ward_hex_decode_fixed("deadbee", 7, keep, 4), WARD_ERR_FORMAT);
    assert_non_null(strstr(ward_errmsg(), "odd length"));
    /* A bad character late in the input leaves the caller's buffer untouched. */
    assert_int_equal(ward_hex_decode_fixed("deadbexf", 8, keep, 4), WARD_ERR_FORMAT);
    assert_non_null(strstr(ward_errmsg(), "offset 6"));
    assert_memory_equal(keep, "\x01\x02\x03\x04", 4);
    assert_int_equal(ward_hex_decode_fixed(NULL, 8, keep, 4), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_hex_decode_fixed("deadbeef", 8, NULL, 4), WARD_ERR_INVALID_ARG);
}

/* ---- base64 refusals ---- */

static void test_base64_length(void **state)
{
    (void)state;
    check_refused(ward_base64_decode, "Zg", "length 2 is not a multiple of 4");
    check_refused(ward_base64_decode, "Zg=", "not a multiple of 4");
    check_refused(ward_base64_decode, "Zm9vY", "not a multiple of 4");
    check_refused(ward_base64_decode, "Z", NULL);
}

static void test_base64_whitespace(void **state)
{
    (void)state;
    check_refused(ward_base64_decode, "Zm9v\n", "invalid character 0x0a at offset 4");
    check_refused(ward_base64_decode, "Zm9vYmFy\r\n", "invalid character 0x0d at offset 8");
    check_refused(ward_base64_decode, " Zm9vYmF", "invalid character 0x20 at offset 0");
    check_refused(ward_base64_decode, "Zm 9vYmF", "invalid character 0x20 at offset 2");
    check_refused(ward_base64_decode, "Zm9v\tmFy", "invalid character 0x09 at offset 4");
    check_refused(ward_base64_decode, "Zm9vYmF\n", "offset 7");
}

static void test_base64_bad_characters(void **state)
{
    (void)state;
    check_refused(ward_base64_decode, "AAAAAAAAAAAAAAAAA*AAAAAA",
                  "invalid character 0x2a at offset 17");
    check_refused(ward_base64_decode, "Zm9.", "offset 3");
    check_refused(ward_base64_decode, "Zm\xc3\xa9", "invalid character 0xc3 at offset 2");
    check_refused_n(ward_base64_decode, "Zm\0v", 4, "invalid character 0x00 at offset 2");
    /* just outside each alphabet range */
    check_refused(ward_base64_decode, "@AAA", "offset 0");
    check_refused(ward_base64_decode, "[AAA", "offset 0");
    check_refused(ward_base64_decode, "`AAA", "offset 0");
    check_refused(ward_base64_decode, "{AAA", "offset 0");
    check_refused(ward_base64_decode, ",AAA", "offset 0");
    check_refused(ward_base64_decode, ":AAA", "offset 0");
}

static void test_base64_padding(void **state)
{
    (void)state;
    /* '=' anywhere but the last one or two positions */
    check_refused(ward_base64_decode, "Zg==Zm9v", "padding '=' at offset 2 is not at the end");
    check_refused(ward_base64_decode, "Z=9v", "padding '=' at offset 1");
    check_refused(ward_base64_decode, "=AAA", "offset 0");
    check_refused(ward_base64_decode, "Z===", "offset 1");
    check_refused(ward_base64_decode, "====", "offset 0");
    check_refused(ward_base64_decode, "AAAA====", "offset 4");
    check_refused(ward_base64_decode, "Zg=A", "offset 2");
    /* missing padding */
    check_refused(ward_base64_decode, "Zm8", "not a multiple of 4");
}

static void test_base64_trailing_bits(void **state)
{
    (void)state;
    /* "Zg==" is 'f'; 'h' leaves the low 4 bits of the last character set. */
    check_refused(ward_base64_decode, "Zh==", "non-zero trailing bits");
    check_refused(ward_base64_decode, "Zv==", "non-zero trailing bits");
    /* "Zm8=" is "fo"; '9' (61) leaves the low 2 bits set. */
    check_refused(ward_base64_decode, "Zm9=", "non-zero trailing bits");
    check_refused(ward_base64_decode, "Zm9vZm9=", "offset 6");
    check_refused(ward_base64_decode, "AB==", NULL);
    check_refused(ward_base64_decode, "AAB=", NULL);
    uint8_t *out = NULL;
    size_t out_len = 0;
    assert_int_equal(ward_base64_decode("AA==", 4, &out, &out_len), WARD_OK);
    assert_int_equal(out_len, 1);
    assert_int_equal(out[0], 0);
    free(out);
    assert_int_equal(ward_base64_decode("AAA=", 4, &out, &out_len), WARD_OK);
    assert_int_equal(out_len, 2);
    assert_memory_equal(out, "\0\0", 2);
    free(out);
}

/* ---- base64url refusals ---- */

static void test_base64url_padding_refused(void **state)
{
    (void)state;
    check_refused(ward_base64url_decode, "Zg==", "padding '=' (offset 2) is not allowed");
    check_refused(ward_base64url_decode, "Zm8=", "offset 3");
    check_refused(ward_base64url_decode, "Zm9vYg=", "offset 6");
    check_refused(ward_base64url_decode, "Zm9vYg==", "offset 6");
    check_refused(ward_base64url_decode, "====", "offset 0");
}

static void test_base64url_length(void **state)
{
    (void)state;
    check_refused(ward_base64url_decode, "Z", "impossible");
    check_refused(ward_base64url_decode, "Zm9v=", "impossible");
    check_refused(ward_base64url_decode, "Zm9vY", "length 5 is impossible");
}

static void test_base64url_trailing_bits(void **state)
{
    (void)state;
    check_refused(ward_base64url_decode, "Zh", "non-zero trailing bits");
    check_refused(ward_base64url_decode, "Zm9", "non-zero trailing bits");
    check_refused(ward_base64url_decode, "_x", NULL);
    check_refused(ward_base64url_decode, "__-", NULL);
    check_decode(ward_base64url_decode, "_w", "\xff");
}

static void test_base64url_bad_characters(void **state)
{
    (void)state;
    check_refused(ward_base64url_decode, "Zm9v\nA", "invalid character 0x0a at offset 4");
    check_refused(ward_base64url_decode, "Zm9v\n", "invalid character 0x0a at offset 4");
    check_refused(ward_base64url_decode, " Zm9v", "offset 0");
    check_refused(ward_base64url_decode, "Zm 9v", "offset 2");
    check_refused(ward_base64url_decode, "Zm9v+A", "offset 4");
    check_refused(ward_base64url_decode, "Zm9v/A", "offset 4");
    check_refused_n(ward_base64url_decode, "Zm9v\0A", 6, "invalid character 0x00 at offset 4");
}

/* ---- arguments, limits, messages ---- */

static void test_null_arguments(void **state)
{
    (void)state;
    uint8_t *out = NULL;
    size_t out_len = 0;
    char *s = NULL;
    assert_int_equal(ward_hex_decode(NULL, 2, &out, &out_len), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_hex_decode("00", 2, NULL, &out_len), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_hex_decode("00", 2, &out, NULL), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_base64_decode(NULL, 4, &out, &out_len), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_base64_decode("AAAA", 4, NULL, &out_len), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_base64url_decode(NULL, 4, &out, &out_len), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_base64url_decode("AAAA", 4, &out, NULL), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_hex_encode(NULL, 1, &s, NULL), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_hex_encode((const uint8_t *)"a", 1, NULL, NULL),
                     WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_base64_encode(NULL, 1, &s, NULL), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_base64url_encode((const uint8_t *)"a", 1, NULL, NULL),
                     WARD_ERR_INVALID_ARG);
}

/* Output lengths that would overflow size_t are refused before any byte is read. */
static void test_encode_overflow(void **state)
{
    (void)state;
    const uint8_t one = 0;
    char *s = (char *)0x1;
    assert_int_equal(ward_hex_encode(&one, SIZE_MAX / 2 + 1, &s, NULL), WARD_ERR_OVERFLOW);
    assert_null(s);
    assert_int_equal(ward_hex_encode(&one, SIZE_MAX, &s, NULL), WARD_ERR_OVERFLOW);
    assert_int_equal(ward_base64_encode(&one, SIZE_MAX, &s, NULL), WARD_ERR_OVERFLOW);
    assert_int_equal(ward_base64_encode(&one, SIZE_MAX / 4 * 3 + 3, &s, NULL),
                     WARD_ERR_OVERFLOW);
    assert_int_equal(ward_base64url_encode(&one, SIZE_MAX, &s, NULL), WARD_ERR_OVERFLOW);
    assert_non_null(strstr(ward_errmsg(), "too long"));
}

/* A long bad input is not echoed back in the message. */
static void test_message_does_not_echo_input(void **state)
{
    (void)state;
    size_t n = 4000;
    char *big = malloc(n);
    assert_non_null(big);
    memset(big, 'A', n);
    big[n - 8] = '!';
    check_refused_n(ward_base64_decode, big, n, "offset 3992");
    assert_true(strlen(ward_errmsg()) < 100);
    check_refused_n(ward_base64url_decode, big, n, "offset 3992");
    assert_true(strlen(ward_errmsg()) < 100);
    check_refused_n(ward_hex_decode, big, n, "offset 3992");
    assert_true(strlen(ward_errmsg()) < 100);
    free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc4648_base64),
        cmocka_unit_test(test_rfc4648_base64url),
        cmocka_unit_test(test_rfc4648_hex),
        cmocka_unit_test(test_alphabet_specific),
        cmocka_unit_test(test_round_trips),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_hex_odd_length),
        cmocka_unit_test(test_hex_bad_characters),
        cmocka_unit_test(test_hex_whitespace),
        cmocka_unit_test(test_hex_fixed),
        cmocka_unit_test(test_base64_length),
        cmocka_unit_test(test_base64_whitespace),
        cmocka_unit_test(test_base64_bad_characters),
        cmocka_unit_test(test_base64_padding),
        cmocka_unit_test(test_base64_trailing_bits),
        cmocka_unit_test(test_base64url_padding_refused),
        cmocka_unit_test(test_base64url_length),
        cmocka_unit_test(test_base64url_trailing_bits),
        cmocka_unit_test(test_base64url_bad_characters),
        cmocka_unit_test(test_null_arguments),
        cmocka_unit_test(test_encode_overflow),
        cmocka_unit_test(test_message_does_not_echo_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
