/* Strict JSON parsing and RFC 8785 canonicalisation (JCS). */
#include "testutil.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ward/err.h"
#include "ward/json.h"

/* ---- helpers ---- */

/* Canonicalises in (len bytes) and compares with expect (expect_len bytes); then checks that
 * the canonical form is a fixed point and parses to a value equal to the input's. */
static void jcs_ok_n(const char *in, size_t len, const char *expect, size_t expect_len)
{
    char *out = NULL;
    size_t out_len = 0;
    ward_err err = ward_jcs_from_text(in, len, &out, &out_len);
    if (err != WARD_OK)
        fail_msg("JCS failed: %s", ward_errmsg());
    assert_non_null(out);
    if (out_len != expect_len || memcmp(out, expect, expect_len) != 0)
        fail_msg("JCS gave \"%s\" (%zu bytes), expected \"%s\" (%zu bytes)", out, out_len,
                 expect, expect_len);
    assert_int_equal(out[out_len], '\0');

    char *again = NULL;
    size_t again_len = 0;
    assert_int_equal(ward_jcs_from_text(out, out_len, &again, &again_len), WARD_OK);
    assert_int_equal(again_len, out_len);
    assert_memory_equal(again, out, out_len);

    json_t *a = NULL, *b = NULL;
    assert_int_equal(ward_json_parse(in, len, &a), WARD_OK);
    assert_int_equal(ward_json_parse(out, out_len, &b), WARD_OK);
    assert_true(json_equal(a, b));
    json_decref(a);
    json_decref(b);
    free(again);
    free(out);
}

static void jcs_ok(const char *in, const char *expect)
{
    jcs_ok_n(in, strlen(in), expect, strlen(expect));
}

/* Canonicalising in must fail with code; want (if not NULL) must be in the message. */
static void jcs_fails_n(const char *in, size_t len, ward_err code, const char *want)
{
    char *out = (char *)0x1;
    size_t out_len = 99;
    ward_err_clear();
    ward_err err = ward_jcs_from_text(in, len, &out, &out_len);
    if (err != code)
        fail_msg("expected error %d for input of %zu bytes, got %d (%s)", code, len, err,
                 ward_errmsg());
    assert_null(out);
    assert_int_equal(out_len, 0);
    assert_true(strlen(ward_errmsg()) > 0);
    if (want != NULL && strstr(ward_errmsg(), want) == NULL)
        fail_msg("message \"%s\" does not mention \"%s\"", ward_errmsg(), want);
}

static void jcs_fails(const char *in, ward_err code, const char *want)
{
    jcs_fails_n(in, strlen(in), code, want);
}

/* Parsing in must fail with WARD_ERR_FORMAT and leave *out NULL. */
static void parse_fails_n(const char *in, size_t len, const char *want)
{
    json_t *v = (json_t *)0x1;
    ward_err_clear();
    ward_err err = ward_json_parse(in, len, &v);
    if (err != WARD_ERR_FORMAT)
        fail_msg("expected a format error for input of %zu bytes, got %d (%s)", len, err,
                 ward_errmsg());
    assert_null(v);
    if (want != NULL && strstr(ward_errmsg(), want) == NULL)
        fail_msg("message \"%s\" does not mention \"%s\"", ward_errmsg(), want);
}

static void parse_fails(const char *in, const char *want)
{
    parse_fails_n(in, strlen(in), want);
}

/* Serialising a constructed value must fail with code and mention want. */
static void serialize_fails(json_t *v, ward_err code, const char *want)
{
    char *out = (char *)0x1;
    size_t out_len = 99;
    ward_err err = ward_jcs_serialize(v, &out, &out_len);
    if (err != code)
        fail_msg("expected error %d, got %d (%s)", code, err, ward_errmsg());
    assert_null(out);
    if (want != NULL && strstr(ward_errmsg(), want) == NULL)
        fail_msg("message \"%s\" does not mention \"%s\"", ward_errmsg(), want);
}

/* n nested arrays around a 0 (n >= 0); malloc'd, NUL-terminated. */
static char *nested_arrays(size_t n)
{
    char *s = malloc(2 * n + 2);
    assert_non_null(s);
    memset(s, '[', n);
    s[n] = '0';
    memset(s + n + 1, ']', n);
    s[2 * n + 1] = '\0';
    return s;
}

/* n nested objects {"a":...{"a":0}...}; malloc'd, NUL-terminated. */
static char *nested_objects(size_t n)
{
    char *s = malloc(6 * n + 2);
    assert_non_null(s);
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        memcpy(s + o, "{\"a\":", 5);
        o += 5;
    }
    s[o++] = '0';
    memset(s + o, '}', n);
    o += n;
    s[o] = '\0';
    return s;
}

/* ---- RFC 8785 examples ---- */

/* Section 3.2.2 (its string and literals parts; the numbers part holds floats). */
static void test_rfc8785_strings_and_literals(void **state)
{
    (void)state;
    jcs_ok("{\n"
           "  \"string\": \"\\u20ac$\\u000F\\u000aA'\\u0042\\u0022\\u005c\\\\\\\"\\/\",\n"
           "  \"literals\": [null, true, false]\n"
           "}",
           "{\"literals\":[null,true,false],\"string\":\"\xe2\x82\xac$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}");
}

/* Section 3.2.3: members sorted by UTF-16 code units. */
static void test_rfc8785_sorting(void **state)
{
    (void)state;
    jcs_ok("{\n"
           "  \"\\u20ac\": \"Euro Sign\",\n"
           "  \"\\r\": \"Carriage Return\",\n"
           "  \"\\ufb33\": \"Hebrew Letter Dalet With Dagesh\",\n"
           "  \"1\": \"One\",\n"
           "  \"\\ud83d\\ude00\": \"Emoji: Grinning Face\",\n"
           "  \"\\u0080\": \"Control\",\n"
           "  \"\\u00f6\": \"Latin Small Letter O With Diaeresis\"\n"
           "}",
           "{\"\\r\":\"Carriage Return\","
           "\"1\":\"One\","
           "\"\xc2\x80\":\"Control\","
           "\"\xc3\xb6\":\"Latin Small Letter O With Diaeresis\","
           "\"\xe2\x82\xac\":\"Euro Sign\","
           "\"\xf0\x9f\x98\x80\":\"Emoji: Grinning Face\","
           "\"\xef\xac\xb3\":\"Hebrew Letter Dalet With Dagesh\"}");
}

/* U+E000..U+FFFF sort after supplementary characters in UTF-16, before them in UTF-8. */
static void test_sorting_utf16_not_utf8(void **state)
{
    (void)state;
    /* literal UTF-8 input this time */
    jcs_ok("{\"\xef\xbf\xbd\":1,\"\xee\x80\x80\":2,\"\xf0\x90\x80\x80\":3,\"\xed\x9f\xbf\":4}",
           "{\"\xed\x9f\xbf\":4,\"\xf0\x90\x80\x80\":3,\"\xee\x80\x80\":2,\"\xef\xbf\xbd\":1}");
    /* a prefix sorts first; code units compare unsigned */
    jcs_ok("{\"ab\":1,\"a\":2,\"\":3,\"b\":4,\"A\":5,\"~\":6,\"\x7f\":7}",
           "{\"\":3,\"A\":5,\"a\":2,\"ab\":1,\"b\":4,\"~\":6,\"\x7f\":7}");
    jcs_ok("{\"\\ud800\\udc01\":1,\"\\ud800\\udc00\":2,\"\\udbff\\udfff\":3}",
           "{\"\xf0\x90\x80\x80\":2,\"\xf0\x90\x80\x81\":1,\"\xf4\x8f\xbf\xbf\":3}");
}

/* ---- strings ---- */

static void test_string_escapes(void **state)
{
    (void)state;
    /* Every control character: the five short escapes, the rest as lower-case \u00xx. */
    char in[512], expect[512];
    size_t o = 0, e = 0;
    in[o++] = '"';
    expect[e++] = '"';
    for (unsigned c = 0; c < 0x20; c++) {
        o += (size_t)snprintf(in + o, sizeof in - o, "\\u%04X", c);
        const char *short_esc = NULL;
        switch (c) {
        case '\b': short_esc = "\\b"; break;
        case '\t': short_esc = "\\t"; break;
        case '\n': short_esc = "\\n"; break;
        case '\f': short_esc = "\\f"; break;
        case '\r': short_esc = "\\r"; break;
        default: break;
        }
        if (short_esc != NULL)
            e += (size_t)snprintf(expect + e, sizeof expect - e, "%s", short_esc);
        else
            e += (size_t)snprintf(expect + e, sizeof expect - e, "\\u%04x", c);
    }
    in[o++] = '"';
    expect[e++] = '"';
    jcs_ok_n(in, o, expect, e);
    assert_memory_equal(expect, "\"\\u0000\\u0001", 13);

    /* Quote and backslash; solidus and DEL as they are. */
    jcs_ok("\"\\\"\\\\\\/\\u007f/\x7f\"", "\"\\\"\\\\/\x7f/\x7f\"");
    /* Non-ASCII, U+2028 and U+2029 literal, whether escaped or not in the input. */
    jcs_ok("\"\\u00e9\\u2028\\u2029\\uFFFF\\uD834\\uDD1E\"",
           "\"\xc3\xa9\xe2\x80\xa8\xe2\x80\xa9\xef\xbf\xbf\xf0\x9d\x84\x9e\"");
    jcs_ok("\"\xc3\xa9\xe2\x80\xa8\xf0\x9d\x84\x9e\"",
           "\"\xc3\xa9\xe2\x80\xa8\xf0\x9d\x84\x9e\"");
    /* Escaped printable ASCII becomes literal. */
    jcs_ok("\"\\u0041\\u0020\\u007e\"", "\"A ~\"");
    jcs_ok("\"\"", "\"\"");
}

static void test_string_with_nul(void **state)
{
    (void)state;
    const char in[] = "[\"a\\u0000b\",\"\\u0000\"]";
    const char expect[] = "[\"a\\u0000b\",\"\\u0000\"]";
    jcs_ok(in, expect);

    json_t *v = NULL;
    assert_int_equal(ward_json_parse(in, strlen(in), &v), WARD_OK);
    json_t *s = json_array_get(v, 0);
    assert_int_equal(json_string_length(s), 3);
    assert_memory_equal(json_string_value(s), "a\0b", 3);
    json_decref(v);

    /* Member names with NUL: jansson refuses them when parsing. */
    parse_fails("{\"a\\u0000\":1}", "NUL byte in object key");
    /* A raw NUL byte (not escaped) is not JSON. */
    parse_fails_n("\"a\0b\"", 5, NULL);
    parse_fails_n("[1]\0", 4, NULL);

    /* Constructed values with a NUL in a member name are length-counted too. */
    json_t *o = json_object();
    assert_int_equal(json_object_setn_new(o, "a\0b", 3, json_integer(1)), 0);
    assert_int_equal(json_object_setn_new(o, "a", 1, json_integer(2)), 0);
    assert_int_equal(json_object_setn_new(o, "a\0", 2, json_integer(3)), 0);
    char *out = NULL;
    size_t out_len = 0;
    assert_int_equal(ward_jcs_serialize(o, &out, &out_len), WARD_OK);
    const char want[] = "{\"a\":2,\"a\\u0000\":3,\"a\\u0000b\":1}";
    assert_int_equal(out_len, strlen(want));
    assert_string_equal(out, want);
    free(out);
    json_decref(o);
}

/* ---- structure and literals ---- */

static void test_literals_and_empty(void **state)
{
    (void)state;
    jcs_ok("null", "null");
    jcs_ok("true", "true");
    jcs_ok("false", "false");
    jcs_ok("[]", "[]");
    jcs_ok("{}", "{}");
    jcs_ok("[ ]", "[]");
    jcs_ok("{ }", "{}");
    jcs_ok("\"x\"", "\"x\"");
    jcs_ok("0", "0");
    jcs_ok("[null,true,false,[],{}]", "[null,true,false,[],{}]");
}

static void test_whitespace_removed(void **state)
{
    (void)state;
    jcs_ok(" \t\r\n{ \"b\" :\t[ 1 ,\n2 ] ,\r\n \"a\" : { } }\n\n ", "{\"a\":{},\"b\":[1,2]}");
}

static void test_nested(void **state)
{
    (void)state;
    jcs_ok("{\"b\":[1,{\"d\":true,\"c\":null}],\"a\":{\"z\":{},\"y\":[],\"x\":{\"k\":\"v\"}}}",
           "{\"a\":{\"x\":{\"k\":\"v\"},\"y\":[],\"z\":{}},\"b\":[1,{\"c\":null,\"d\":true}]}");
    /* array order is kept */
    jcs_ok("[3,2,1,[\"b\",\"a\"]]", "[3,2,1,[\"b\",\"a\"]]");
    jcs_ok("[[[[]]],{\"a\":[{}]}]", "[[[[]]],{\"a\":[{}]}]");
}

/* ---- numbers ---- */

static void test_integers(void **state)
{
    (void)state;
    jcs_ok("[0,-0,1,-1,10,-10,1234567890]", "[0,0,1,-1,10,-10,1234567890]");
    jcs_ok("9007199254740991", "9007199254740991");
    jcs_ok("-9007199254740991", "-9007199254740991");
    jcs_ok("{\"max\":9007199254740991,\"min\":-9007199254740991}",
           "{\"max\":9007199254740991,\"min\":-9007199254740991}");
}

static void test_integer_out_of_range(void **state)
{
    (void)state;
    jcs_fails("9007199254740992", WARD_ERR_FORMAT, "2^53");
    jcs_fails("-9007199254740992", WARD_ERR_FORMAT, "2^53");
    jcs_fails("{\"a\":[0,9223372036854775807]}", WARD_ERR_FORMAT, "/a/1");
    jcs_fails("[-9223372036854775808]", WARD_ERR_FORMAT, "/0");
    /* beyond jansson's 64-bit integers: refused while parsing */
    jcs_fails("99999999999999999999", WARD_ERR_FORMAT, "too big integer");
    jcs_fails("-99999999999999999999", WARD_ERR_FORMAT, NULL);

    json_t *v = json_integer(9007199254740992LL);
    serialize_fails(v, WARD_ERR_FORMAT, "top level");
    json_decref(v);
}

static void test_floats_refused(void **state)
{
    (void)state;
    static const char *const floats[] = {"1.0",   "1e3",  "0.5",  "-0.0", "1E+2", "1e-2",
                                         "-1.5",  "0e0",  "1E400", "[1.0]", "{\"a\":2.5}"};
    for (size_t i = 0; i < sizeof floats / sizeof floats[0]; i++) {
        char *out = NULL;
        ward_err err = ward_jcs_from_text(floats[i], strlen(floats[i]), &out, NULL);
        if (err != WARD_ERR_FORMAT)
            fail_msg("%s: expected a format error, got %d", floats[i], err);
        assert_null(out);
        /* 1E400 overflows a double: jansson refuses it while parsing */
        if (strcmp(floats[i], "1E400") != 0 &&
            strstr(ward_errmsg(), "floating-point") == NULL)
            fail_msg("%s: message \"%s\" does not mention floating-point", floats[i],
                     ward_errmsg());
    }
    /* The message gives the JSON pointer of the value, names escaped as RFC 6901 says. */
    jcs_fails("{\"a\":[1,{\"b\":0.5}]}", WARD_ERR_FORMAT,
              "floating-point numbers are not allowed (found at /a/1/b)");
    jcs_fails("{\"a/b\":{\"c~d\":1.5}}", WARD_ERR_FORMAT, "(found at /a~1b/c~0d)");
    jcs_fails("1.0", WARD_ERR_FORMAT, "found at the top level");

    json_t *r = json_real(2.0);
    serialize_fails(r, WARD_ERR_FORMAT, "floating-point");
    json_decref(r);
}

/* ---- parse refusals ---- */

static void test_duplicate_keys(void **state)
{
    (void)state;
    parse_fails("{\"a\":1,\"a\":2}", "duplicate object key");
    parse_fails("{\"a\":1,\"\\u0061\":2}", "duplicate");
    parse_fails("{\"x\":{\"a\":1,\"b\":2,\"a\":1}}", "duplicate");
    parse_fails("[{\"k\":[],\"k\":{}}]", "duplicate");
    parse_fails("{\"\\ud83d\\ude00\":1,\"\xf0\x9f\x98\x80\":2}", "duplicate");
    jcs_fails("{\"a\":1,\"a\":1}", WARD_ERR_FORMAT, "duplicate");
    /* the same name in different objects is fine */
    jcs_ok("{\"a\":{\"a\":1},\"b\":{\"a\":2}}", "{\"a\":{\"a\":1},\"b\":{\"a\":2}}");
}

static void test_trailing_garbage(void **state)
{
    (void)state;
    parse_fails("{} x", "end of file expected");
    parse_fails("{}{}", NULL);
    parse_fails("1 2", NULL);
    parse_fails("[1],", NULL);
    parse_fails("null null", NULL);
    parse_fails("\"a\"\"b\"", NULL);
    parse_fails("{}]", NULL);
    parse_fails("[1]]", NULL);
    parse_fails("{\"a\":1}}", NULL);
    parse_fails("{} /* comment */", NULL);
}

static void test_malformed(void **state)
{
    (void)state;
    parse_fails_n("", 0, "empty input");
    parse_fails(" ", NULL);
    parse_fails("[1,]", NULL);
    parse_fails("{\"a\":1,}", NULL);
    parse_fails("{'a':1}", NULL);
    parse_fails("{a:1}", NULL);
    parse_fails("[01]", NULL);
    parse_fails("[+1]", NULL);
    parse_fails("[NaN]", NULL);
    parse_fails("[Infinity]", NULL);
    parse_fails("[\"\\x41\"]", NULL);
    parse_fails("[\"unterminated]", NULL);
    parse_fails("[\"tab\there\"]", NULL);
    parse_fails("[\"\\ud800\"]", NULL);  /* lone high surrogate */
    parse_fails("[\"\\udc00\"]", NULL);  /* lone low surrogate */
    parse_fails("[\"\\ud800\\u0041\"]", NULL);
    parse_fails("\xef\xbb\xbf{}", NULL); /* byte order mark */
    parse_fails("[", NULL);
    parse_fails("{\"a\"", NULL);
    parse_fails("tru", NULL);
    parse_fails("True", NULL);
    /* the message says where */
    parse_fails("{\n  \"a\": x\n}", "line 2");
    assert_non_null(strstr(ward_errmsg(), "byte offset"));
}

static void test_invalid_utf8(void **state)
{
    (void)state;
    parse_fails("\"\xff\"", NULL);
    parse_fails("\"\xc0\xaf\"", NULL);         /* overlong '/' */
    parse_fails("\"\xe0\x80\xaf\"", NULL);     /* overlong, 3 bytes */
    parse_fails("\"\xed\xa0\x80\"", NULL);     /* UTF-8-encoded surrogate */
    parse_fails("\"\xf4\x90\x80\x80\"", NULL); /* above U+10FFFF */
    parse_fails("\"\xe2\x82\"", NULL);         /* truncated */
    parse_fails("\"\x80\"", NULL);             /* lone continuation byte */
    parse_fails("{\"\xfe\":1}", NULL);         /* in a member name */
    parse_fails("[1]\xff", NULL);              /* outside strings */
}

/* Constructed values bypass jansson's checks: JCS checks UTF-8 itself. */
static void test_constructed_invalid_utf8(void **state)
{
    (void)state;
    json_t *a = json_array();
    json_array_append_new(a, json_string("ok"));
    json_array_append_new(a, json_stringn_nocheck("x\xff", 2));
    serialize_fails(a, WARD_ERR_FORMAT, "invalid UTF-8 in string");
    assert_non_null(strstr(ward_errmsg(), "/1"));
    json_decref(a);

    json_t *o = json_object();
    json_object_set_new_nocheck(o, "\xed\xa0\x80", json_null());
    serialize_fails(o, WARD_ERR_FORMAT, "invalid UTF-8 in member name");
    json_decref(o);

    json_t *t = json_stringn_nocheck("\xe2\x82", 2);
    serialize_fails(t, WARD_ERR_FORMAT, "invalid UTF-8");
    json_decref(t);
}

/* ---- depth ---- */

static void test_depth_limit(void **state)
{
    (void)state;
    char *ok = nested_arrays(WARD_JSON_MAX_DEPTH);
    char *expect = nested_arrays(WARD_JSON_MAX_DEPTH);
    jcs_ok(ok, expect);
    free(ok);
    free(expect);
    char *deep = nested_arrays(WARD_JSON_MAX_DEPTH + 1);
    parse_fails(deep, "nesting deeper than 64");
    free(deep);

    ok = nested_objects(WARD_JSON_MAX_DEPTH);
    jcs_ok(ok, ok);
    free(ok);
    deep = nested_objects(WARD_JSON_MAX_DEPTH + 1);
    parse_fails(deep, "nesting deeper than 64");
    free(deep);

    /* far beyond jansson's own limit: refused before jansson recurses */
    deep = nested_arrays(100000);
    parse_fails(deep, "nesting deeper than 64 levels at byte offset 64");
    free(deep);
    /* unbalanced, deep: still refused on depth */
    deep = nested_arrays(1000);
    deep[1000] = '\0';
    parse_fails(deep, "nesting");
    free(deep);

    /* siblings do not add up */
    char wide[4096];
    size_t o = 0;
    wide[o++] = '[';
    for (int i = 0; i < 500; i++) {
        memcpy(wide + o, "[[]],", 5);
        o += 5;
    }
    wide[o - 1] = ']';
    wide[o] = '\0';
    jcs_ok(wide, wide);
}

/* Brackets inside strings, escaped quotes included, do not count. */
static void test_depth_ignores_strings(void **state)
{
    (void)state;
    char s[1024];
    size_t o = 0;
    s[o++] = '[';
    s[o++] = '"';
    for (int i = 0; i < 200; i++) {
        memcpy(s + o, "[{\\\"", 4);
        o += 4;
    }
    memcpy(s + o, "\\\\\"]", 4);
    o += 4;
    s[o] = '\0';
    jcs_ok(s, s);
}

static void test_depth_limit_serialize(void **state)
{
    (void)state;
    json_t *v = json_integer(1);
    for (int i = 0; i < WARD_JSON_MAX_DEPTH; i++) {
        json_t *a = json_array();
        json_array_append_new(a, v);
        v = a;
    }
    char *out = NULL;
    size_t out_len = 0;
    assert_int_equal(ward_jcs_serialize(v, &out, &out_len), WARD_OK);
    assert_int_equal(out_len, 2 * WARD_JSON_MAX_DEPTH + 1);
    free(out);

    json_t *o = json_object();
    json_object_set_new(o, "k", v);
    serialize_fails(o, WARD_ERR_FORMAT, "nesting deeper than 64");
    json_decref(o);
}

/* ---- arguments, idempotence, messages ---- */

static void test_null_arguments(void **state)
{
    (void)state;
    json_t *v = NULL;
    char *out = NULL;
    assert_int_equal(ward_json_parse(NULL, 2, &v), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_json_parse("{}", 2, NULL), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_jcs_serialize(NULL, &out, NULL), WARD_ERR_INVALID_ARG);
    json_t *n = json_null();
    assert_int_equal(ward_jcs_serialize(n, NULL, NULL), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_jcs_serialize(n, &out, NULL), WARD_OK);
    assert_string_equal(out, "null");
    free(out);
    assert_int_equal(ward_jcs_from_text("{}", 2, NULL, NULL), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_jcs_from_text(NULL, 1, &out, NULL), WARD_ERR_INVALID_ARG);
}

/* The input need not be NUL-terminated: only len bytes are read. */
static void test_length_bounded(void **state)
{
    (void)state;
    const char buf[] = "{\"a\":1}GARBAGE";
    jcs_ok_n(buf, 7, "{\"a\":1}", 7);
    parse_fails_n(buf, 6, NULL);
    char *exact = malloc(4);
    assert_non_null(exact);
    memcpy(exact, "[42]", 4); /* no NUL after it: ASan catches any over-read */
    jcs_ok_n(exact, 4, "[42]", 4);
    free(exact);
}

static void test_idempotence(void **state)
{
    (void)state;
    static const char *const inputs[] = {
        "{\"z\":[1,2,{\"y\":\"\\u001f\\u007f\"}],\"a\":null,\"\\u00e9\":true}",
        "[\"\\ud83d\\ude00\",\"\\ufb33\",\"\\u20ac\",{\"\\ufb33\":1,\"\\ud83d\\ude00\":2}]",
        "{\"\\\\\":\"\\\"\",\"\\/\":\"/\",\"\\b\\f\\n\\r\\t\":\"\"}",
        "-9007199254740991",
        "\"\\u2028\\u2029\"",
        "{\"a\":{\"b\":{\"c\":{\"d\":[[[[\"deep\"]]]]}}}}",
    };
    for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
        char *c1 = NULL, *c2 = NULL;
        size_t l1 = 0, l2 = 0;
        assert_int_equal(ward_jcs_from_text(inputs[i], strlen(inputs[i]), &c1, &l1), WARD_OK);
        assert_int_equal(ward_jcs_from_text(c1, l1, &c2, &l2), WARD_OK);
        assert_int_equal(l1, l2);
        assert_memory_equal(c1, c2, l1);
        json_t *a = NULL, *b = NULL;
        assert_int_equal(ward_json_parse(inputs[i], strlen(inputs[i]), &a), WARD_OK);
        assert_int_equal(ward_json_parse(c1, l1, &b), WARD_OK);
        assert_true(json_equal(a, b));
        json_decref(a);
        json_decref(b);
        free(c1);
        free(c2);
    }
}

/* Error messages stay short and never carry raw input bytes. */
static void test_messages_bounded(void **state)
{
    (void)state;
    size_t n = 5000;
    char *big = malloc(n + 1);
    assert_non_null(big);
    big[0] = '[';
    memset(big + 1, 'x', n - 1);
    big[n] = '\0';
    parse_fails(big, NULL);
    assert_true(strlen(ward_errmsg()) < 300);

    /* a long member name on the path of a float is truncated in the message */
    char *doc = malloc(n + 32);
    assert_non_null(doc);
    size_t o = 0;
    doc[o++] = '{';
    doc[o++] = '"';
    memset(doc + o, 'k', n);
    o += n;
    memcpy(doc + o, "\":1.5}", 6);
    o += 6;
    jcs_fails_n(doc, o, WARD_ERR_FORMAT, "floating-point");
    assert_true(strlen(ward_errmsg()) < 300);
    assert_non_null(strstr(ward_errmsg(), "..."));
    free(doc);

    /* control characters in a name do not reach the message */
    jcs_fails("{\"\\u001b[31m\\n\":0.5}", WARD_ERR_FORMAT, "/?[31m?");
    free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc8785_strings_and_literals),
        cmocka_unit_test(test_rfc8785_sorting),
        cmocka_unit_test(test_sorting_utf16_not_utf8),
        cmocka_unit_test(test_string_escapes),
        cmocka_unit_test(test_string_with_nul),
        cmocka_unit_test(test_literals_and_empty),
        cmocka_unit_test(test_whitespace_removed),
        cmocka_unit_test(test_nested),
        cmocka_unit_test(test_integers),
        cmocka_unit_test(test_integer_out_of_range),
        cmocka_unit_test(test_floats_refused),
        cmocka_unit_test(test_duplicate_keys),
        cmocka_unit_test(test_trailing_garbage),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_constructed_invalid_utf8),
        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_depth_ignores_strings),
        cmocka_unit_test(test_depth_limit_serialize),
        cmocka_unit_test(test_null_arguments),
        cmocka_unit_test(test_length_bounded),
        cmocka_unit_test(test_idempotence),
        cmocka_unit_test(test_messages_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
