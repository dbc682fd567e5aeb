/* TA manifests and measurements (include/ward/manifest.h; docs/formats.md "TA measurement" and
 * "TA manifest"): a pinned known-answer measurement, round trip, reproducibility, what the
 * measurement covers and what it does not (the signer, the name), and every bad manifest: each
 * member missing, of the wrong type, out of range or malformed, unknown members, real numbers,
 * bad hex and base64, a bad signature, a signature by another key, a tampered field; and every
 * image mismatch: a flipped bit, a different size, a measurement altered and re-signed. */
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
#include "ward/encoding.h"
#include "ward/json.h"
#include "ward/manifest.h"

#define IMAGE_LEN 300

/* Known answer, computed once from the encoding in docs/formats.md by an independent
 * implementation (Python hashlib/struct) and pinned: image[i] = (i * 31 + 7) mod 256 for
 * i < 300, product_id 0x1234, svn 7, heap_max 16 MiB, threads_max 4, calls ping, add_numbers,
 * get_report; debug off, then on. */
static const char pinned_measurement[] =
    "44ff1236a90b8b6538ce9ddf5946a87c96c4d2d85ecaeddac9f8509d1bc60a74";
static const char pinned_measurement_debug[] =
    "2c45bb9d5b8bdbb6a2c0bcb8dc255fa0e857f609287ca18eecffd6cd00ca5a53";
static const char pinned_image_sha256[] =
    "4ebe2a8bd5ece93fb899b68e8a5fe64464b2058a5ddca6c079bc907930aa3003";

static const char *const default_calls[] = {"ping", "add_numbers", "get_report"};

static uint8_t image[IMAGE_LEN];

struct fixture {
    ward_pkey *key;   /* the developer's key */
    ward_pkey *other; /* somebody else's */
    char *json;       /* a good manifest of image under default params, signed by key */
    size_t json_len;
};

static ward_ta_params default_params(void)
{
    ward_ta_params p = {
        .name = "hello-ta_1",
        .product_id = 0x1234,
        .svn = 7,
        .debug = 0,
        .heap_max = 16u << 20,
        .threads_max = 4,
        .calls = default_calls,
        .n_calls = 3,
    };
    return p;
}

static int setup(void **state)
{
    for (size_t i = 0; i < IMAGE_LEN; i++)
        image[i] = (uint8_t)(i * 31 + 7);
    struct fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    assert_int_equal(ward_pkey_generate(WARD_KEY_EC_P256, &f->key), WARD_OK);
    assert_int_equal(ward_pkey_generate(WARD_KEY_EC_P256, &f->other), WARD_OK);
    ward_ta_params p = default_params();
    assert_int_equal(ward_manifest_sign(image, IMAGE_LEN, &p, f->key, &f->json, &f->json_len),
                     WARD_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    ward_pkey_free(f->key);
    ward_pkey_free(f->other);
    free(f->json);
    free(f);
    return 0;
}

static char *hex(const uint8_t *b, size_t n)
{
    char *s = NULL;
    assert_int_equal(ward_hex_encode(b, n, &s, NULL), WARD_OK);
    return s;
}

static json_t *load(const char *text)
{
    json_error_t jerr;
    json_t *o = json_loads(text, 0, &jerr);
    if (o == NULL)
        fail_msg("test JSON does not load: %s", jerr.text);
    return o;
}

/* Signs obj as the manifest format says (independently of ward_manifest_sign): the RFC 8785
 * form of the object without "signature", ECDSA P-256 SHA-256 raw r||s, base64url. */
static void resign(json_t *obj, const ward_pkey *key)
{
    json_object_del(obj, "signature");
    char *canon = NULL;
    size_t canon_len = 0;
    assert_int_equal(ward_jcs_serialize(obj, &canon, &canon_len), WARD_OK);
    uint8_t *sig = NULL;
    size_t sig_len = 0;
    assert_int_equal(ward_sign(key, WARD_HASH_SHA256, WARD_SIG_RAW, canon, canon_len, &sig,
                               &sig_len), WARD_OK);
    char *b64 = NULL;
    assert_int_equal(ward_base64url_encode(sig, sig_len, &b64, NULL), WARD_OK);
    assert_int_equal(json_object_set_new(obj, "signature", json_string(b64)), 0);
    free(canon);
    free(sig);
    free(b64);
}

static char *dump(const json_t *obj)
{
    char *s = json_dumps(obj, JSON_COMPACT);
    assert_non_null(s);
    return s;
}

static void expect_parse(const char *text, size_t len, ward_err want, const char *msg_part)
{
    ward_manifest *m = (ward_manifest *)(uintptr_t)1;
    ward_err err = ward_manifest_parse(text, len, &m);
    if (err != want)
        fail_msg("expected %s, got %s (%s) for %.200s", ward_err_name(want), ward_err_name(err),
                 ward_errmsg(), text);
    if (want != WARD_OK) {
        assert_null(m);
        if (msg_part != NULL && strstr(ward_errmsg(), msg_part) == NULL)
            fail_msg("message \"%s\" lacks \"%s\"", ward_errmsg(), msg_part);
    }
    ward_manifest_free(want == WARD_OK ? m : NULL);
}

/* Applies obj[member] = value (value stolen; NULL deletes), re-signs with key when key is not
 * NULL, and expects the parse to fail with want and a message containing msg_part. */
static void expect_mutation(const struct fixture *f, const char *member, json_t *value,
                            const ward_pkey *key, ward_err want, const char *msg_part)
{
    json_t *obj = load(f->json);
    if (value == NULL)
        json_object_del(obj, member);
    else
        assert_int_equal(json_object_set_new(obj, member, value), 0);
    if (key != NULL)
        resign(obj, key);
    char *text = dump(obj);
    expect_parse(text, strlen(text), want, msg_part);
    free(text);
    json_decref(obj);
}

/* ---- known answers and round trip ------------------------------------------------------- */

static void test_pinned_measurement(void **state)
{
    struct fixture *f = *state;
    ward_ta_params p = default_params();
    uint8_t meas[WARD_SHA256_LEN];
    assert_int_equal(ward_ta_measure(image, IMAGE_LEN, &p, meas), WARD_OK);
    char *h = hex(meas, sizeof meas);
    assert_string_equal(h, pinned_measurement);
    free(h);
    p.debug = 1;
    assert_int_equal(ward_ta_measure(image, IMAGE_LEN, &p, meas), WARD_OK);
    h = hex(meas, sizeof meas);
    assert_string_equal(h, pinned_measurement_debug);
    free(h);

    /* The signed manifest carries the same numbers. */
    json_t *obj = load(f->json);
    assert_string_equal(json_string_value(json_object_get(obj, "measurement")),
                        pinned_measurement);
    assert_string_equal(json_string_value(json_object_get(obj, "image_sha256")),
                        pinned_image_sha256);
    assert_int_equal(json_integer_value(json_object_get(obj, "image_size")), IMAGE_LEN);
    json_decref(obj);
}

static void test_roundtrip(void **state)
{
    struct fixture *f = *state;
    ward_manifest *m = NULL;
    assert_int_equal(ward_manifest_parse(f->json, f->json_len, &m), WARD_OK);
    assert_string_equal(ward_manifest_name(m), "hello-ta_1");
    assert_int_equal(ward_manifest_product_id(m), 0x1234);
    assert_int_equal(ward_manifest_svn(m), 7);
    assert_int_equal(ward_manifest_debug(m), 0);
    assert_int_equal(ward_manifest_heap_max(m), 16u << 20);
    assert_int_equal(ward_manifest_threads_max(m), 4);
    assert_int_equal(ward_manifest_n_calls(m), 3);
    for (size_t i = 0; i < 3; i++) {
        assert_string_equal(ward_manifest_call_name(m, i), default_calls[i]);
        uint32_t id = 99;
        assert_int_equal(ward_manifest_call_id(m, default_calls[i], &id), WARD_OK);
        assert_int_equal(id, i);
    }
    assert_null(ward_manifest_call_name(m, 3));
    uint32_t id = 0;
    assert_int_equal(ward_manifest_call_id(m, "nope", &id), WARD_ERR_NOT_FOUND);
    assert_non_null(strstr(ward_errmsg(), "nope"));
    assert_int_equal(ward_manifest_call_id(m, "PING", &id), WARD_ERR_NOT_FOUND);

    uint8_t meas[WARD_SHA256_LEN], signer[WARD_SHA256_LEN], want[WARD_SHA256_LEN];
    ward_manifest_measurement(m, meas);
    char *h = hex(meas, sizeof meas);
    assert_string_equal(h, pinned_measurement);
    free(h);
    ward_manifest_signer(m, signer);
    assert_int_equal(ward_pkey_spki_sha256(f->key, want), WARD_OK);
    assert_memory_equal(signer, want, sizeof want);
    assert_int_equal(ward_manifest_check_image(m, image, IMAGE_LEN), WARD_OK);
    ward_manifest_free(m);

    /* The text ends with a newline and has sorted members; debug round-trips too. */
    assert_int_equal(f->json[f->json_len - 1], '\n');
    assert_int_equal(strlen(f->json), f->json_len);
    ward_ta_params p = default_params();
    p.debug = 1;
    char *json = NULL;
    size_t len = 0;
    assert_int_equal(ward_manifest_sign(image, IMAGE_LEN, &p, f->key, &json, &len), WARD_OK);
    assert_int_equal(ward_manifest_parse(json, len, &m), WARD_OK);
    assert_int_equal(ward_manifest_debug(m), 1);
    ward_manifest_measurement(m, meas);
    h = hex(meas, sizeof meas);
    assert_string_equal(h, pinned_measurement_debug);
    free(h);
    ward_manifest_free(m);
    free(json);
}

/* The signature covers the canonical form, so the same manifest laid out differently (member
 * order, whitespace, escapes) is still valid. */
static void test_layout_independent(void **state)
{
    struct fixture *f = *state;
    json_t *obj = load(f->json);
    char *compact = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
    char *indented = json_dumps(obj, JSON_INDENT(7));
    expect_parse(compact, strlen(compact), WARD_OK, NULL);
    expect_parse(indented, strlen(indented), WARD_OK, NULL);
    free(compact);
    free(indented);
    /* An escaped but equal string: "p\u0069ng" is "ping". */
    char *text = strdup(f->json);
    char *at = strstr(text, "\"ping\"");
    assert_non_null(at);
    char *re = malloc(strlen(text) + 16);
    assert_non_null(re);
    memcpy(re, text, (size_t)(at - text));
    strcpy(re + (at - text), "\"p\\u0069ng\"");
    strcat(re, at + 6);
    assert_int_equal(strlen(re), strlen(text) + 5);
    expect_parse(re, strlen(re), WARD_OK, NULL);
    free(re);
    free(text);
    json_decref(obj);
}

/* Same image and settings => same measurement, whoever signs, whatever the name; the signer
 * follows the key; the signatures differ (ECDSA is randomised) but both verify. */
static void test_reproducible(void **state)
{
    struct fixture *f = *state;
    ward_ta_params p = default_params();
    char *a = NULL, *b = NULL, *c = NULL;
    size_t al = 0, bl = 0, cl = 0;
    assert_int_equal(ward_manifest_sign(image, IMAGE_LEN, &p, f->key, &a, &al), WARD_OK);
    assert_int_equal(ward_manifest_sign(image, IMAGE_LEN, &p, f->key, &b, &bl), WARD_OK);
    p.name = "renamed";
    assert_int_equal(ward_manifest_sign(image, IMAGE_LEN, &p, f->other, &c, &cl), WARD_OK);
    ward_manifest *ma = NULL, *mb = NULL, *mc = NULL;
    assert_int_equal(ward_manifest_parse(a, al, &ma), WARD_OK);
    assert_int_equal(ward_manifest_parse(b, bl, &mb), WARD_OK);
    assert_int_equal(ward_manifest_parse(c, cl, &mc), WARD_OK);
    uint8_t x[32], y[32], z[32];
    ward_manifest_measurement(ma, x);
    ward_manifest_measurement(mb, y);
    ward_manifest_measurement(mc, z);
    assert_memory_equal(x, y, 32);
    assert_memory_equal(x, z, 32);
    ward_manifest_signer(ma, x);
    ward_manifest_signer(mb, y);
    ward_manifest_signer(mc, z);
    assert_memory_equal(x, y, 32);
    assert_memory_not_equal(x, z, 32);
    json_t *ja = load(a), *jb = load(b);
    assert_string_not_equal(json_string_value(json_object_get(ja, "signature")),
                            json_string_value(json_object_get(jb, "signature")));
    json_decref(ja);
    json_decref(jb);
    ward_manifest_free(ma);
    ward_manifest_free(mb);
    ward_manifest_free(mc);
    free(a);
    free(b);
    free(c);
}

/* Every security-relevant setting changes the measurement. */
static void test_measurement_covers_fields(void **state)
{
    (void)state;
    ward_ta_params base = default_params();
    uint8_t ref[32], m[32];
    assert_int_equal(ward_ta_measure(image, IMAGE_LEN, &base, ref), WARD_OK);
    ward_ta_params p;
#define DIFFERS(mutation)                                                                   \
    do {                                                                                    \
        p = base;                                                                           \
        mutation;                                                                           \
        assert_int_equal(ward_ta_measure(image, IMAGE_LEN, &p, m), WARD_OK);                \
        assert_memory_not_equal(ref, m, 32);                                                \
    } while (0)
    DIFFERS(p.product_id = 0x1235);
    DIFFERS(p.svn = 8);
    DIFFERS(p.debug = 1);
    DIFFERS(p.heap_max = (16u << 20) + 1);
    DIFFERS(p.threads_max = 5);
    DIFFERS(p.n_calls = 2);
    static const char *const reordered[] = {"add_numbers", "ping", "get_report"};
    DIFFERS(p.calls = reordered);
    static const char *const renamed[] = {"ping", "add_number", "get_report"};
    DIFFERS(p.calls = renamed);
    /* Names moved across the boundary between two calls ("ab","c" vs "a","bc"). */
    static const char *const split1[] = {"ab", "c"};
    static const char *const split2[] = {"a", "bc"};
    p = base;
    p.calls = split1;
    p.n_calls = 2;
    assert_int_equal(ward_ta_measure(image, IMAGE_LEN, &p, ref), WARD_OK);
    p.calls = split2;
    assert_int_equal(ward_ta_measure(image, IMAGE_LEN, &p, m), WARD_OK);
    assert_memory_not_equal(ref, m, 32);
#undef DIFFERS
    /* The image: one bit, one byte less. */
    assert_int_equal(ward_ta_measure(image, IMAGE_LEN, &base, ref), WARD_OK);
    image[150] ^= 0x01;
    assert_int_equal(ward_ta_measure(image, IMAGE_LEN, &base, m), WARD_OK);
    image[150] ^= 0x01;
    assert_memory_not_equal(ref, m, 32);
    assert_int_equal(ward_ta_measure(image, IMAGE_LEN - 1, &base, m), WARD_OK);
    assert_memory_not_equal(ref, m, 32);
    /* Not the name. */
    p = base;
    p.name = "another";
    assert_int_equal(ward_ta_measure(image, IMAGE_LEN, &p, m), WARD_OK);
    assert_memory_equal(ref, m, 32);
}

/* ---- bad manifests ------------------------------------------------------------------------ */

static const char *const all_members[] = {
    "version", "name", "image_size", "image_sha256", "product_id", "svn", "debug",
    "heap_max", "threads_max", "calls", "measurement", "signer_key", "signature",
};

static void test_each_member_missing(void **state)
{
    struct fixture *f = *state;
    for (size_t i = 0; i < sizeof all_members / sizeof all_members[0]; i++) {
        char want[64];
        snprintf(want, sizeof want, "missing member \"%s\"", all_members[i]);
        int is_sig = strcmp(all_members[i], "signature") == 0;
        expect_mutation(f, all_members[i], NULL, is_sig ? NULL : f->key, WARD_ERR_FORMAT, want);
    }
}

static void test_wrong_types(void **state)
{
    struct fixture *f = *state;
    for (size_t i = 0; i < sizeof all_members / sizeof all_members[0]; i++) {
        const char *name = all_members[i];
        int is_string = strcmp(name, "name") == 0 || strcmp(name, "image_sha256") == 0 ||
                        strcmp(name, "measurement") == 0 || strcmp(name, "signer_key") == 0 ||
                        strcmp(name, "signature") == 0;
        int is_sig = strcmp(name, "signature") == 0;
        char want[64];
        snprintf(want, sizeof want, "\"%s\"", name);
        /* Each wrong type that the member is not. */
        json_t *wrong[] = {
            json_string("1"), json_integer(1), json_true(), json_null(), json_object(),
            json_pack("[s]", "ping"),
        };
        for (size_t k = 0; k < sizeof wrong / sizeof wrong[0]; k++) {
            int same = (is_string && json_is_string(wrong[k])) ||
                       (!is_string && json_is_integer(wrong[k]) &&
                        strcmp(name, "debug") != 0 && strcmp(name, "calls") != 0) ||
                       (strcmp(name, "debug") == 0 && json_is_boolean(wrong[k])) ||
                       (strcmp(name, "calls") == 0 && json_is_array(wrong[k]));
            if (same) {
                json_decref(wrong[k]);
                continue;
            }
            expect_mutation(f, name, wrong[k], is_sig ? NULL : f->key, WARD_ERR_FORMAT, want);
        }
    }
    /* A call that is not a string. */
    expect_mutation(f, "calls", json_pack("[s, i]", "ping", 3), f->key, WARD_ERR_FORMAT,
                    "\"calls\"[1] must be a string");
    /* The whole document is not an object. */
    expect_parse("[1,2]", 5, WARD_ERR_FORMAT, "not a JSON object");
    expect_parse("\"x\"", 3, WARD_ERR_FORMAT, "not a JSON object");
}

/* Real numbers, even integral ones, are refused (RFC 8785 and Ward's signed documents). */
static void test_float(void **state)
{
    struct fixture *f = *state;
    const char *ints[] = {"version", "image_size", "product_id", "svn", "heap_max",
                          "threads_max"};
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        json_t *obj = load(f->json);
        json_int_t v = json_integer_value(json_object_get(obj, ints[i]));
        assert_int_equal(json_object_set_new(obj, ints[i], json_real((double)v)), 0);
        char *text = dump(obj);
        expect_parse(text, strlen(text), WARD_ERR_FORMAT, "real number");
        free(text);
        json_decref(obj);
    }
    /* Typed by hand: 7.0 and 7e0. */
    const char *forms[] = {"7.0", "7e0", "7E+0", "0.7e1"};
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        char *text = strdup(f->json);
        char *at = strstr(text, "\"svn\": 7");
        assert_non_null(at);
        char *re = malloc(strlen(text) + 16);
        assert_non_null(re);
        size_t head = (size_t)(at - text) + strlen("\"svn\": ");
        memcpy(re, text, head);
        strcpy(re + head, forms[i]);
        strcat(re, at + strlen("\"svn\": 7"));
        expect_parse(re, strlen(re), WARD_ERR_FORMAT, "real number");
        free(re);
        free(text);
    }
}

static void test_unknown_member(void **state)
{
    struct fixture *f = *state;
    expect_mutation(f, "extra", json_integer(1), f->key, WARD_ERR_FORMAT,
                    "unknown member \"extra\"");
    expect_mutation(f, "Signature", json_string("x"), f->key, WARD_ERR_FORMAT,
                    "unknown member \"Signature\"");
    expect_mutation(f, "signer", json_string("00"), f->key, WARD_ERR_FORMAT,
                    "unknown member \"signer\"");
    /* Not re-signed: refused all the same, for the name, before the signature. */
    expect_mutation(f, "x-note", json_string("hi"), NULL, WARD_ERR_FORMAT, "unknown member");
    /* Hostile names do not reach the message raw. */
    expect_mutation(f, "a\"b\nc", json_integer(1), f->key, WARD_ERR_FORMAT,
                    "unknown member \"a?b?c\"");
}

static void test_bad_values(void **state)
{
    struct fixture *f = *state;
    expect_mutation(f, "version", json_integer(2), f->key, WARD_ERR_UNSUPPORTED, "version 2");
    expect_mutation(f, "version", json_integer(0), f->key, WARD_ERR_UNSUPPORTED, "version 0");
    expect_mutation(f, "version", json_integer(-1), f->key, WARD_ERR_FORMAT, "\"version\"");
    /* name */
    const char *bad_names[] = {"", "has space", "dot.ted", "slash/x", "\xc3\xa9t\xc3\xa9",
                               ("0123456789012345678901234567890123456789012345678901234567890123"
                                "4")};
    for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++)
        expect_mutation(f, "name", json_string(bad_names[i]), f->key, WARD_ERR_FORMAT,
                        "\"name\"");
    expect_mutation(f, "name", json_stringn("a\0b", 3), f->key, WARD_ERR_FORMAT, "\"name\"");
    /* 64 characters is still a name */
    expect_mutation(f, "name",
                    json_string("0123456789012345678901234567890123456789012345678901234567890123"),
                    f->key, WARD_OK, NULL);
    /* integers out of range */
    struct { const char *m; json_int_t v; } bad_ints[] = {
        {"image_size", 0}, {"image_size", -1}, {"image_size", 9007199254740992LL},
        {"product_id", -1}, {"product_id", 65536}, {"svn", -1}, {"svn", 65536},
        {"heap_max", 0}, {"heap_max", (1 << 20) - 1}, {"heap_max", (64LL << 30) + 1},
        {"threads_max", 0}, {"threads_max", 257}, {"threads_max", -4},
    };
    for (size_t i = 0; i < sizeof bad_ints / sizeof bad_ints[0]; i++) {
        char want[48];
        snprintf(want, sizeof want, "\"%s\"", bad_ints[i].m);
        json_t *v = json_integer(bad_ints[i].v);
        /* 2^53 cannot be signed canonically (RFC 8785): sent unsigned. */
        int canon_ok = bad_ints[i].v < 9007199254740992LL;
        expect_mutation(f, bad_ints[i].m, v, canon_ok ? f->key : NULL, WARD_ERR_FORMAT, want);
    }
    /* calls */
    expect_mutation(f, "calls", json_array(), f->key, WARD_ERR_FORMAT, "0 entries");
    json_t *many = json_array();
    for (int i = 0; i < WARD_TA_MAX_CALLS + 1; i++) {
        char n[16];
        snprintf(n, sizeof n, "c%d", i);
        json_array_append_new(many, json_string(n));
    }
    expect_mutation(f, "calls", many, f->key, WARD_ERR_FORMAT, "257 entries");
    expect_mutation(f, "calls", json_pack("[s, s, s]", "a", "b", "a"), f->key, WARD_ERR_FORMAT,
                    "appears twice");
    const char *bad_calls[] = {"", "1abc", "a-b", "a b", "a.b", "caf\xc3\xa9",
                               ("x234567890123456789012345678901234567890123456789012345678901234"
                                "5")};
    for (size_t i = 0; i < sizeof bad_calls / sizeof bad_calls[0]; i++)
        expect_mutation(f, "calls", json_pack("[s, s]", "ok", bad_calls[i]), f->key,
                        WARD_ERR_FORMAT, "not a C identifier");
    expect_mutation(f, "calls", json_pack("[s#]", "a\0b", (int)3), f->key, WARD_ERR_FORMAT,
                    "not a C identifier");
    /* hex */
    const char *bad_hex[] = {
        "",
        "44ff1236a90b8b6538ce9ddf5946a87c96c4d2d85ecaeddac9f8509d1bc60a7",
        "44ff1236a90b8b6538ce9ddf5946a87c96c4d2d85ecaeddac9f8509d1bc60a744",
        "44FF1236A90B8B6538CE9DDF5946A87C96C4D2D85ECAEDDAC9F8509D1BC60A74",
        "g4ff1236a90b8b6538ce9ddf5946a87c96c4d2d85ecaeddac9f8509d1bc60a74",
        " 4ff1236a90b8b6538ce9ddf5946a87c96c4d2d85ecaeddac9f8509d1bc60a74",
    };
    for (size_t i = 0; i < sizeof bad_hex / sizeof bad_hex[0]; i++) {
        expect_mutation(f, "measurement", json_string(bad_hex[i]), f->key, WARD_ERR_FORMAT,
                        "\"measurement\" must be 64 lower-case hex");
        expect_mutation(f, "image_sha256", json_string(bad_hex[i]), f->key, WARD_ERR_FORMAT,
                        "\"image_sha256\" must be 64 lower-case hex");
    }
}

static void test_bad_signer_key(void **state)
{
    struct fixture *f = *state;
    json_t *obj = load(f->json);
    const char *good = json_string_value(json_object_get(obj, "signer_key"));
    size_t n = strlen(good);
    char *bad = strdup(good);
    /* base64 breakages: a bad character, no padding, url alphabet, whitespace */
    bad[3] = '*';
    expect_mutation(f, "signer_key", json_string(bad), f->key, WARD_ERR_FORMAT, "base64");
    memcpy(bad, good, n + 1);
    bad[n - 1] = '\0';
    expect_mutation(f, "signer_key", json_string(bad), f->key, WARD_ERR_FORMAT, "base64");
    char *spaced = malloc(n + 2);
    spaced[0] = ' ';
    memcpy(spaced + 1, good, n + 1);
    expect_mutation(f, "signer_key", json_string(spaced), f->key, WARD_ERR_FORMAT, "base64");
    free(spaced);
    expect_mutation(f, "signer_key", json_string(""), f->key, WARD_ERR_FORMAT, "signer_key");
    /* valid base64 of something that is not a key */
    expect_mutation(f, "signer_key", json_string("aGVsbG8gd29ybGQ="), f->key, WARD_ERR_FORMAT,
                    "signer_key");
    /* a key, but not P-256 */
    ward_pkey *p384 = NULL;
    assert_int_equal(ward_pkey_generate(WARD_KEY_EC_P384, &p384), WARD_OK);
    uint8_t *der = NULL;
    size_t der_len = 0;
    assert_int_equal(ward_pkey_spki_der(p384, &der, &der_len), WARD_OK);
    char *b64 = NULL;
    assert_int_equal(ward_base64_encode(der, der_len, &b64, NULL), WARD_OK);
    expect_mutation(f, "signer_key", json_string(b64), f->key, WARD_ERR_FORMAT, "P-256");
    free(b64);
    free(der);
    ward_pkey_free(p384);
    ward_pkey *ed = NULL;
    assert_int_equal(ward_pkey_generate(WARD_KEY_ED25519, &ed), WARD_OK);
    assert_int_equal(ward_pkey_spki_der(ed, &der, &der_len), WARD_OK);
    assert_int_equal(ward_base64_encode(der, der_len, &b64, NULL), WARD_OK);
    expect_mutation(f, "signer_key", json_string(b64), f->key, WARD_ERR_FORMAT, "P-256");
    free(b64);
    free(der);
    ward_pkey_free(ed);
    /* far too long */
    char *huge = malloc(4001);
    memset(huge, 'A', 4000);
    huge[4000] = '\0';
    expect_mutation(f, "signer_key", json_string(huge), f->key, WARD_ERR_FORMAT, "signer_key");
    free(huge);
    free(bad);
    json_decref(obj);
}

static void test_bad_signature(void **state)
{
    struct fixture *f = *state;
    json_t *obj = load(f->json);
    const char *good = json_string_value(json_object_get(obj, "signature"));
    size_t n = strlen(good);
    assert_int_equal(n, 86);
    char *bad = strdup(good);
    /* every character changed in turn: each one fails, as a bad signature or encoding */
    for (size_t i = 0; i < n; i++) {
        memcpy(bad, good, n + 1);
        bad[i] = bad[i] == 'A' ? 'B' : 'A';
        json_t *o = load(f->json);
        json_object_set_new(o, "signature", json_string(bad));
        char *text = dump(o);
        ward_manifest *m = NULL;
        ward_err err = ward_manifest_parse(text, strlen(text), &m);
        if (err != WARD_ERR_VERIFY && err != WARD_ERR_FORMAT)
            fail_msg("signature char %zu changed: got %s", i, ward_err_name(err));
        assert_null(m);
        free(text);
        json_decref(o);
    }
    /* bad encodings */
    const char *encodings[] = {"", "AAAA", "abc=", "*", NULL, NULL, NULL};
    char padded[100], std_alpha[100], longer[100];
    snprintf(padded, sizeof padded, "%s==", good);
    snprintf(std_alpha, sizeof std_alpha, "%s", good);
    std_alpha[0] = '+';
    snprintf(longer, sizeof longer, "%sAAAA", good);
    encodings[4] = padded;
    encodings[5] = std_alpha;
    encodings[6] = longer;
    for (size_t i = 0; i < sizeof encodings / sizeof encodings[0]; i++)
        expect_mutation(f, "signature", json_string(encodings[i]), NULL, WARD_ERR_FORMAT,
                        "\"signature\" must be the base64url");
    /* a valid encoding of a valid-looking but wrong signature */
    memset(bad, 'A', n);
    bad[n] = '\0';
    expect_mutation(f, "signature", json_string(bad), NULL, WARD_ERR_VERIFY,
                    "signature does not verify");
    /* signed by another key than the one named in signer_key */
    json_t *o = load(f->json);
    resign(o, f->other);
    char *text = dump(o);
    expect_parse(text, strlen(text), WARD_ERR_VERIFY, "signature does not verify");
    free(text);
    json_decref(o);
    free(bad);
    json_decref(obj);
}

/* A field changed after signing: the signature no longer verifies. */
static void test_tampered_fields(void **state)
{
    struct fixture *f = *state;
    expect_mutation(f, "svn", json_integer(8), NULL, WARD_ERR_VERIFY, "signature does not verify");
    expect_mutation(f, "debug", json_true(), NULL, WARD_ERR_VERIFY, "signature does not verify");
    expect_mutation(f, "heap_max", json_integer(32 << 20), NULL, WARD_ERR_VERIFY,
                    "signature does not verify");
    expect_mutation(f, "name", json_string("other"), NULL, WARD_ERR_VERIFY,
                    "signature does not verify");
    expect_mutation(f, "calls", json_pack("[s,s,s]", "ping", "get_report", "add_numbers"), NULL,
                    WARD_ERR_VERIFY, "signature does not verify");
    expect_mutation(f, "measurement", json_string(pinned_measurement_debug), NULL,
                    WARD_ERR_VERIFY, "signature does not verify");
    /* Swapping in another signer key without its signature. */
    uint8_t *der = NULL;
    size_t der_len = 0;
    char *b64 = NULL;
    assert_int_equal(ward_pkey_spki_der(f->other, &der, &der_len), WARD_OK);
    assert_int_equal(ward_base64_encode(der, der_len, &b64, NULL), WARD_OK);
    expect_mutation(f, "signer_key", json_string(b64), NULL, WARD_ERR_VERIFY,
                    "signature does not verify");
    /* ... with its signature it is a valid manifest of another signer. */
    json_t *o = load(f->json);
    json_object_set_new(o, "signer_key", json_string(b64));
    resign(o, f->other);
    char *text = dump(o);
    ward_manifest *m = NULL;
    assert_int_equal(ward_manifest_parse(text, strlen(text), &m), WARD_OK);
    uint8_t signer[32], want[32];
    ward_manifest_signer(m, signer);
    assert_int_equal(ward_pkey_spki_sha256(f->other, want), WARD_OK);
    assert_memory_equal(signer, want, 32);
    ward_manifest_free(m);
    free(text);
    json_decref(o);
    free(b64);
    free(der);
}

static void test_bad_text(void **state)
{
    struct fixture *f = *state;
    expect_parse("", 0, WARD_ERR_FORMAT, NULL);
    expect_parse("{", 1, WARD_ERR_FORMAT, "JSON");
    expect_parse("null", 4, WARD_ERR_FORMAT, "not a JSON object");
    /* trailing garbage */
    char *text = malloc(f->json_len + 3);
    memcpy(text, f->json, f->json_len);
    memcpy(text + f->json_len, "{}", 3);
    expect_parse(text, f->json_len + 2, WARD_ERR_FORMAT, "JSON");
    /* truncated anywhere */
    for (size_t len = 1; len + 2 < f->json_len; len += 37)
        expect_parse(f->json, len, WARD_ERR_FORMAT, NULL);
    free(text);
    /* duplicate member */
    const char *dupkeys = "{\"svn\":1,\"svn\":1}";
    expect_parse(dupkeys, strlen(dupkeys), WARD_ERR_FORMAT, "JSON");
    /* too large */
    size_t big = 300u * 1024u;
    char *huge = malloc(big);
    memset(huge, ' ', big);
    huge[0] = '{';
    huge[big - 1] = '}';
    expect_parse(huge, big, WARD_ERR_FORMAT, "at most");
    free(huge);
    ward_manifest *m = NULL;
    assert_int_equal(ward_manifest_parse(NULL, 0, &m), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_manifest_parse(f->json, f->json_len, NULL), WARD_ERR_INVALID_ARG);
}

/* ---- the image against its manifest --------------------------------------------------------- */

static void test_check_image(void **state)
{
    struct fixture *f = *state;
    ward_manifest *m = NULL;
    assert_int_equal(ward_manifest_parse(f->json, f->json_len, &m), WARD_OK);
    /* one flipped bit anywhere */
    for (size_t i = 0; i < IMAGE_LEN; i += 13) {
        for (unsigned bit = 0; bit < 8; bit += 3) {
            image[i] ^= (uint8_t)(1u << bit);
            ward_err err = ward_manifest_check_image(m, image, IMAGE_LEN);
            image[i] ^= (uint8_t)(1u << bit);
            assert_int_equal(err, WARD_ERR_VERIFY);
            assert_non_null(strstr(ward_errmsg(),
                                   "image hash differs from the manifest's image_sha256"));
        }
    }
    /* another size */
    assert_int_equal(ward_manifest_check_image(m, image, IMAGE_LEN - 1), WARD_ERR_VERIFY);
    assert_non_null(strstr(ward_errmsg(), "image size differs"));
    assert_non_null(strstr(ward_errmsg(), "300"));
    uint8_t longer[IMAGE_LEN + 1];
    memcpy(longer, image, IMAGE_LEN);
    longer[IMAGE_LEN] = 0;
    assert_int_equal(ward_manifest_check_image(m, longer, sizeof longer), WARD_ERR_VERIFY);
    assert_non_null(strstr(ward_errmsg(), "image size differs"));
    assert_int_equal(ward_manifest_check_image(m, NULL, 0), WARD_ERR_VERIFY);
    assert_int_equal(ward_manifest_check_image(NULL, image, IMAGE_LEN), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_manifest_check_image(m, image, IMAGE_LEN), WARD_OK);
    ward_manifest_free(m);
}

/* A manifest that is validly signed (by the right key) but whose numbers do not belong to the
 * image: refused, naming what differs. */
static void test_resigned_mismatch(void **state)
{
    struct fixture *f = *state;
    struct {
        const char *member;
        json_t *value;
        const char *msg;
    } cases[] = {
        {"measurement", json_string(pinned_measurement_debug), "measurement differs"},
        {"image_sha256", json_string(pinned_measurement), "image hash differs"},
        {"image_size", json_integer(IMAGE_LEN + 1), "image size differs"},
        /* a setting changed and re-signed, the measurement left stale */
        {"svn", json_integer(8), "measurement differs"},
        {"debug", json_true(), "measurement differs"},
        {"threads_max", json_integer(5), "measurement differs"},
        {"calls", json_pack("[s,s,s]", "ping", "get_report", "add_numbers"),
         "measurement differs"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *o = load(f->json);
        json_object_set_new(o, cases[i].member, cases[i].value);
        resign(o, f->key);
        char *text = dump(o);
        ward_manifest *m = NULL;
        assert_int_equal(ward_manifest_parse(text, strlen(text), &m), WARD_OK);
        assert_int_equal(ward_manifest_check_image(m, image, IMAGE_LEN), WARD_ERR_VERIFY);
        if (strstr(ward_errmsg(), cases[i].msg) == NULL)
            fail_msg("%s: message \"%s\" lacks \"%s\"", cases[i].member, ward_errmsg(),
                     cases[i].msg);
        ward_manifest_free(m);
        free(text);
        json_decref(o);
    }
    /* The measurement message gives both values. */
    json_t *o = load(f->json);
    json_object_set_new(o, "measurement", json_string(pinned_measurement_debug));
    resign(o, f->key);
    char *text = dump(o);
    ward_manifest *m = NULL;
    assert_int_equal(ward_manifest_parse(text, strlen(text), &m), WARD_OK);
    assert_int_equal(ward_manifest_check_image(m, image, IMAGE_LEN), WARD_ERR_VERIFY);
    char want[200];
    snprintf(want, sizeof want, "measurement differs: manifest says %s, image gives %s",
             pinned_measurement_debug, pinned_measurement);
    assert_string_equal(ward_errmsg(), want);
    ward_manifest_free(m);
    free(text);
    json_decref(o);
}

/* ---- what signing and measuring refuse --------------------------------------------------- */

static void test_sign_refuses(void **state)
{
    struct fixture *f = *state;
    char *json = (char *)(uintptr_t)1;
    size_t len = 5;
    ward_ta_params p;
    uint8_t meas[32];
#define REFUSED(mutation, part)                                                               \
    do {                                                                                      \
        p = default_params();                                                                 \
        mutation;                                                                             \
        assert_int_equal(ward_manifest_sign(image, IMAGE_LEN, &p, f->key, &json, &len),       \
                         WARD_ERR_INVALID_ARG);                                               \
        assert_null(json);                                                                    \
        assert_non_null(strstr(ward_errmsg(), part));                                         \
    } while (0)
    REFUSED(p.name = NULL, "no TA name");
    REFUSED(p.name = "", "TA name");
    REFUSED(p.name = "bad name", "TA name");
    REFUSED(p.name = "x23456789012345678901234567890123456789012345678901234567890123456789",
            "TA name");
    REFUSED(p.heap_max = (1u << 20) - 1, "heap_max");
    REFUSED(p.heap_max = (64ull << 30) + 1, "heap_max");
    REFUSED(p.threads_max = 0, "threads_max");
    REFUSED(p.threads_max = 257, "threads_max");
    REFUSED(p.n_calls = 0, "calls");
    REFUSED(p.n_calls = WARD_TA_MAX_CALLS + 1, "calls");
    REFUSED(p.calls = NULL, "call list");
    static const char *const dup[] = {"a", "b", "a"};
    REFUSED(p.calls = dup, "appears twice");
    static const char *const bad[] = {"a", "9b", "c"};
    REFUSED(p.calls = bad, "C identifier");
    static const char *const nul[] = {"a", NULL, "c"};
    REFUSED(p.calls = nul, "no name");
#undef REFUSED
    /* the same checks in ward_ta_measure (the name aside) */
    p = default_params();
    p.threads_max = 0;
    assert_int_equal(ward_ta_measure(image, IMAGE_LEN, &p, meas), WARD_ERR_INVALID_ARG);
    p = default_params();
    p.name = NULL;
    assert_int_equal(ward_ta_measure(image, IMAGE_LEN, &p, meas), WARD_OK);
    assert_int_equal(ward_ta_measure(image, 0, &p, meas), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_ta_measure(NULL, 5, &p, meas), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_ta_measure(image, IMAGE_LEN, NULL, meas), WARD_ERR_INVALID_ARG);

    /* keys: public only, P-384, Ed25519 */
    p = default_params();
    ward_pkey *pub = NULL, *p384 = NULL, *ed = NULL;
    assert_int_equal(ward_pkey_public_only(f->key, &pub), WARD_OK);
    assert_int_equal(ward_pkey_generate(WARD_KEY_EC_P384, &p384), WARD_OK);
    assert_int_equal(ward_pkey_generate(WARD_KEY_ED25519, &ed), WARD_OK);
    ward_pkey *keys[] = {pub, p384, ed};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(ward_manifest_sign(image, IMAGE_LEN, &p, keys[i], &json, &len),
                         WARD_ERR_INVALID_ARG);
        assert_non_null(strstr(ward_errmsg(), "P-256 private key"));
        ward_pkey_free(keys[i]);
    }
    assert_int_equal(ward_manifest_sign(image, 0, &p, f->key, &json, &len),
                     WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_manifest_sign(NULL, IMAGE_LEN, &p, f->key, &json, &len),
                     WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_manifest_sign(image, IMAGE_LEN, NULL, f->key, &json, &len),
                     WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_manifest_sign(image, IMAGE_LEN, &p, NULL, &json, &len),
                     WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_manifest_sign(image, IMAGE_LEN, &p, f->key, NULL, &len),
                     WARD_ERR_INVALID_ARG);
}

/* Limits at their edges are accepted. */
static void test_limits_accepted(void **state)
{
    struct fixture *f = *state;
    static char names[WARD_TA_MAX_CALLS][72];
    static const char *calls[WARD_TA_MAX_CALLS];
    for (size_t i = 0; i < WARD_TA_MAX_CALLS; i++) {
        /* 64-character names, unique by their tail */
        snprintf(names[i], sizeof names[i], "_%063zu", i);
        calls[i] = names[i];
    }
    ward_ta_params p = {
        .name = "x234567890123456789012345678901234567890123456789012345678901234",
        .product_id = 65535,
        .svn = 65535,
        .debug = 1,
        .heap_max = 64ull << 30,
        .threads_max = 256,
        .calls = calls,
        .n_calls = WARD_TA_MAX_CALLS,
    };
    assert_int_equal(strlen(p.name), 64);
    char *json = NULL;
    size_t len = 0;
    assert_int_equal(ward_manifest_sign(image, 1, &p, f->key, &json, &len), WARD_OK);
    ward_manifest *m = NULL;
    assert_int_equal(ward_manifest_parse(json, len, &m), WARD_OK);
    assert_int_equal(ward_manifest_n_calls(m), WARD_TA_MAX_CALLS);
    assert_string_equal(ward_manifest_call_name(m, 255), names[255]);
    assert_int_equal(ward_manifest_heap_max(m), 64ull << 30);
    assert_int_equal(ward_manifest_check_image(m, image, 1), WARD_OK);
    ward_manifest_free(m);
    free(json);
    p.heap_max = 1u << 20;
    p.threads_max = 1;
    p.n_calls = 1;
    p.name = "a";
    assert_int_equal(ward_manifest_sign(image, IMAGE_LEN, &p, f->key, &json, &len), WARD_OK);
    assert_int_equal(ward_manifest_parse(json, len, &m), WARD_OK);
    ward_manifest_free(m);
    free(json);
}

static void test_null_accessors(void **state)
{
    (void)state;
    uint8_t b[32];
    assert_null(ward_manifest_name(NULL));
    ward_manifest_measurement(NULL, b);
    ward_manifest_signer(NULL, b);
    assert_int_equal(ward_manifest_product_id(NULL), 0);
    assert_int_equal(ward_manifest_svn(NULL), 0);
    assert_int_equal(ward_manifest_debug(NULL), 1);
    assert_int_equal(ward_manifest_heap_max(NULL), 0);
    assert_int_equal(ward_manifest_threads_max(NULL), 0);
    assert_int_equal(ward_manifest_n_calls(NULL), 0);
    assert_null(ward_manifest_call_name(NULL, 0));
    uint32_t id;
    assert_int_equal(ward_manifest_call_id(NULL, "x", &id), WARD_ERR_INVALID_ARG);
    ward_manifest_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pinned_measurement),
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_layout_independent),
        cmocka_unit_test(test_reproducible),
        cmocka_unit_test(test_measurement_covers_fields),
        cmocka_unit_test(test_each_member_missing),
        cmocka_unit_test(test_wrong_types),
        cmocka_unit_test(test_float),
        cmocka_unit_test(test_unknown_member),
        cmocka_unit_test(test_bad_values),
        cmocka_unit_test(test_bad_signer_key),
        cmocka_unit_test(test_bad_signature),
        cmocka_unit_test(test_tampered_fields),
        cmocka_unit_test(test_bad_text),
        cmocka_unit_test(test_check_image),
        cmocka_unit_test(test_resigned_mismatch),
        cmocka_unit_test(test_sign_refuses),
        cmocka_unit_test(test_limits_accepted),
        cmocka_unit_test(test_null_accessors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
