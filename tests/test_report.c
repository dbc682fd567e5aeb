/* The TA report's fixed binary layout (include/ward/report.h, docs/formats.md "TA report"):
 * round trip, the byte offsets of every field, and strict decoding of every bad input: each
 * wrong length, bad magic, unknown version, nonzero reserved bytes, unknown platform, unknown
 * attribute bits, a simulation report without the debug attribute. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "testutil.h"
#include "ward/report.h"

static void sample(ward_report *r)
{
    memset(r, 0, sizeof *r);
    r->version = WARD_REPORT_VERSION;
    r->platform = WARD_PLATFORM_SW_SANDBOX;
    r->attributes = 0;
    for (size_t i = 0; i < 32; i++) {
        r->measurement[i] = (uint8_t)(0x10 + i);
        r->signer[i] = (uint8_t)(0x40 + i);
        r->platform_key_id[i] = (uint8_t)(0xa0 + i);
    }
    r->product_id = 0x1234;
    r->svn = 0xbeef;
    for (size_t i = 0; i < 16; i++)
        r->instance_id[i] = (uint8_t)(0x70 + i);
    for (size_t i = 0; i < WARD_REPORT_DATA_LEN; i++)
        r->report_data[i] = (uint8_t)(0xc0 ^ i);
}

static void encode_ok(const ward_report *r, uint8_t out[WARD_REPORT_LEN])
{
    assert_int_equal(ward_report_encode(r, out), WARD_OK);
}

static void test_roundtrip(void **state)
{
    (void)state;
    ward_report r, back;
    uint8_t buf[WARD_REPORT_LEN];
    sample(&r);
    encode_ok(&r, buf);
    assert_int_equal(ward_report_decode(buf, sizeof buf, &back), WARD_OK);
    assert_memory_equal(&r, &back, sizeof r);

    /* The simulation platform, with debug set. */
    r.platform = WARD_PLATFORM_SW_SIM;
    r.attributes = WARD_ATTR_DEBUG;
    encode_ok(&r, buf);
    assert_int_equal(ward_report_decode(buf, sizeof buf, &back), WARD_OK);
    assert_memory_equal(&r, &back, sizeof r);
    assert_int_equal(back.attributes, WARD_ATTR_DEBUG);

    /* Encoding is a function of the fields: same input, same bytes. */
    uint8_t again[WARD_REPORT_LEN];
    encode_ok(&r, again);
    assert_memory_equal(buf, again, sizeof buf);
}

/* Every field at its documented offset, little-endian. */
static void test_layout(void **state)
{
    (void)state;
    ward_report r;
    uint8_t b[WARD_REPORT_LEN];
    sample(&r);
    r.attributes = WARD_ATTR_DEBUG;
    encode_ok(&r, b);
    assert_memory_equal(b, "WRPT", 4);
    assert_int_equal(b[4], 1);
    assert_int_equal(b[5], 0);
    assert_int_equal(b[6], WARD_PLATFORM_SW_SANDBOX);
    assert_int_equal(b[7], 0);
    assert_int_equal(b[8], 1);
    for (size_t i = 9; i < 16; i++)
        assert_int_equal(b[i], 0);
    assert_memory_equal(b + 16, r.measurement, 32);
    assert_memory_equal(b + 48, r.signer, 32);
    assert_int_equal(b[80], 0x34);
    assert_int_equal(b[81], 0x12);
    assert_int_equal(b[82], 0xef);
    assert_int_equal(b[83], 0xbe);
    for (size_t i = 84; i < 88; i++)
        assert_int_equal(b[i], 0);
    assert_memory_equal(b + 88, r.instance_id, 16);
    assert_memory_equal(b + 104, r.report_data, 64);
    assert_memory_equal(b + 168, r.platform_key_id, 32);
}

static void test_every_wrong_length(void **state)
{
    (void)state;
    ward_report r, back;
    uint8_t buf[2 * WARD_REPORT_LEN + 1];
    sample(&r);
    encode_ok(&r, buf);
    memset(buf + WARD_REPORT_LEN, 0, sizeof buf - WARD_REPORT_LEN);
    for (size_t len = 0; len < WARD_REPORT_LEN; len++) {
        ward_err err = ward_report_decode(buf, len, &back);
        if (err != WARD_ERR_TRUNCATED)
            fail_msg("length %zu: got %d (%s)", len, err, ward_errmsg());
    }
    for (size_t len = WARD_REPORT_LEN + 1; len <= sizeof buf; len++)
        assert_int_equal(ward_report_decode(buf, len, &back), WARD_ERR_FORMAT);
    assert_non_null(strstr(ward_errmsg(), "exactly 200"));
    assert_int_equal(ward_report_decode(NULL, 0, &back), WARD_ERR_TRUNCATED);
}

static void expect_decode(const uint8_t *buf, ward_err want, const char *msg_part)
{
    ward_report back;
    ward_err err = ward_report_decode(buf, WARD_REPORT_LEN, &back);
    if (err != want)
        fail_msg("expected %s, got %s (%s)", ward_err_name(want), ward_err_name(err),
                 ward_errmsg());
    if (msg_part != NULL && strstr(ward_errmsg(), msg_part) == NULL)
        fail_msg("message \"%s\" lacks \"%s\"", ward_errmsg(), msg_part);
}

static void test_bad_magic(void **state)
{
    (void)state;
    ward_report r;
    uint8_t good[WARD_REPORT_LEN], buf[WARD_REPORT_LEN];
    sample(&r);
    encode_ok(&r, good);
    for (size_t i = 0; i < 4; i++) {
        for (unsigned bit = 0; bit < 8; bit++) {
            memcpy(buf, good, sizeof buf);
            buf[i] ^= (uint8_t)(1u << bit);
            expect_decode(buf, WARD_ERR_FORMAT, "magic");
        }
    }
    memcpy(buf, good, sizeof buf);
    memcpy(buf, "wrpt", 4);
    expect_decode(buf, WARD_ERR_FORMAT, "magic");
}

static void test_bad_version(void **state)
{
    (void)state;
    ward_report r;
    uint8_t buf[WARD_REPORT_LEN];
    sample(&r);
    const uint16_t bad[] = {0, 2, 0x0100, 0xffff};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        encode_ok(&r, buf);
        buf[4] = (uint8_t)(bad[i] & 0xff);
        buf[5] = (uint8_t)(bad[i] >> 8);
        expect_decode(buf, WARD_ERR_UNSUPPORTED, "version");
    }
}

static void test_bad_reserved(void **state)
{
    (void)state;
    ward_report r;
    uint8_t buf[WARD_REPORT_LEN];
    sample(&r);
    for (size_t i = 84; i < 88; i++) {
        for (unsigned bit = 0; bit < 8; bit++) {
            encode_ok(&r, buf);
            buf[i] = (uint8_t)(1u << bit);
            expect_decode(buf, WARD_ERR_FORMAT, "reserved");
        }
    }
}

static void test_bad_platform(void **state)
{
    (void)state;
    ward_report r;
    uint8_t buf[WARD_REPORT_LEN];
    sample(&r);
    const uint16_t bad[] = {0, 3, 4, 0x0101, 0xffff};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        encode_ok(&r, buf);
        buf[6] = (uint8_t)(bad[i] & 0xff);
        buf[7] = (uint8_t)(bad[i] >> 8);
        expect_decode(buf, WARD_ERR_FORMAT, "platform");
    }
}

static void test_bad_attributes(void **state)
{
    (void)state;
    ward_report r;
    uint8_t buf[WARD_REPORT_LEN];
    sample(&r);
    for (unsigned bit = 1; bit < 64; bit++) {
        encode_ok(&r, buf);
        buf[8 + bit / 8] |= (uint8_t)(1u << (bit % 8));
        expect_decode(buf, WARD_ERR_FORMAT, "attribute");
    }
    /* A simulation report must say it is a debug one. */
    r.platform = WARD_PLATFORM_SW_SIM;
    r.attributes = WARD_ATTR_DEBUG;
    encode_ok(&r, buf);
    buf[8] = 0;
    expect_decode(buf, WARD_ERR_FORMAT, "debug");
}

/* Ward never encodes (and so never signs) what its decoder would refuse. */
static void test_encode_refuses(void **state)
{
    (void)state;
    ward_report r;
    uint8_t buf[WARD_REPORT_LEN];
    sample(&r);
    r.version = 2;
    assert_int_equal(ward_report_encode(&r, buf), WARD_ERR_INVALID_ARG);
    sample(&r);
    r.platform = 0;
    assert_int_equal(ward_report_encode(&r, buf), WARD_ERR_INVALID_ARG);
    sample(&r);
    r.attributes = 2;
    assert_int_equal(ward_report_encode(&r, buf), WARD_ERR_INVALID_ARG);
    sample(&r);
    r.platform = WARD_PLATFORM_SW_SIM;
    assert_int_equal(ward_report_encode(&r, buf), WARD_ERR_INVALID_ARG);
    assert_non_null(strstr(ward_errmsg(), "debug"));
    assert_int_equal(ward_report_encode(NULL, buf), WARD_ERR_INVALID_ARG);
    sample(&r);
    assert_int_equal(ward_report_encode(&r, NULL), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_report_decode(buf, sizeof buf, NULL), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_report_decode(NULL, 5, &r), WARD_ERR_INVALID_ARG);
}

/* A refused decode leaves no partial result behind. */
static void test_decode_clears_output(void **state)
{
    (void)state;
    ward_report r, back;
    uint8_t buf[WARD_REPORT_LEN];
    sample(&r);
    encode_ok(&r, buf);
    buf[84] = 1;
    memset(&back, 0xaa, sizeof back);
    assert_int_equal(ward_report_decode(buf, sizeof buf, &back), WARD_ERR_FORMAT);
    ward_report zero;
    memset(&zero, 0, sizeof zero);
    assert_memory_equal(&back, &zero, sizeof back);
}

static void test_platform_name(void **state)
{
    (void)state;
    assert_string_equal(ward_platform_name(WARD_PLATFORM_SW_SANDBOX), "ward-sw");
    assert_string_equal(ward_platform_name(WARD_PLATFORM_SW_SIM), "ward-sim");
    assert_string_equal(ward_platform_name(0), "unknown");
    assert_string_equal(ward_platform_name(3), "unknown");
    assert_string_equal(ward_platform_name(0xffff), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_layout),
        cmocka_unit_test(test_every_wrong_length),
        cmocka_unit_test(test_bad_magic),
        cmocka_unit_test(test_bad_version),
        cmocka_unit_test(test_bad_reserved),
        cmocka_unit_test(test_bad_platform),
        cmocka_unit_test(test_bad_attributes),
        cmocka_unit_test(test_encode_refuses),
        cmocka_unit_test(test_decode_clears_output),
        cmocka_unit_test(test_platform_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
