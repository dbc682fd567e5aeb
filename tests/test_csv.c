/* The CSV reader and writer (include/ward/csv.h): RFC 4180 cases, every kind of bad input with
 * the position it is refused at, limits, feeding split anywhere, the writer and round trips. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ward/csv.h"

/* Records rendered as "f1|f2\n" with '<' '>' around each field, to see empties. */
typedef struct collect {
    char out[8192];
    size_t len;
    size_t stop_at; /* return an error at this record index + 1 (0: never) */
} collect;

static ward_err on_rec(void *arg, uint64_t index, const char *const *fields, const size_t *lens,
                       size_t n)
{
    collect *c = arg;
    if (c->stop_at != 0 && index + 1 == c->stop_at)
        return ward_err_set(WARD_ERR_PERMISSION, "stop");
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(fields[i][lens[i]], '\0');
        assert_null(memchr(fields[i], '\0', lens[i]));
        int w = snprintf(c->out + c->len, sizeof c->out - c->len, "%s<%.*s>", i ? "|" : "",
                         (int)lens[i], fields[i]);
        assert_true(w > 0 && (size_t)w < sizeof c->out - c->len);
        c->len += (size_t)w;
    }
    assert_true(c->len + 1 < sizeof c->out);
    c->out[c->len++] = '\n';
    c->out[c->len] = '\0';
    return WARD_OK;
}

static void parses_to(const char *in, size_t len, const char *expect)
{
    collect c = {0};
    ward_err e = ward_csv_parse((const uint8_t *)in, len, NULL, on_rec, &c);
    if (e != WARD_OK)
        fail_msg("parse failed: %s", ward_errmsg());
    assert_string_equal(c.out, expect);
    /* byte by byte gives the same */
    collect d = {0};
    ward_csv_reader *r = NULL;
    assert_int_equal(ward_csv_reader_new(NULL, on_rec, &d, &r), WARD_OK);
    for (size_t i = 0; i < len; i++)
        assert_int_equal(ward_csv_reader_feed(r, (const uint8_t *)in + i, 1), WARD_OK);
    assert_int_equal(ward_csv_reader_finish(r), WARD_OK);
    ward_csv_reader_free(r);
    assert_string_equal(d.out, expect);
}

#define PARSES(lit, expect) parses_to(lit, sizeof(lit) - 1, expect)

static void refused_lim(const char *in, size_t len, const ward_csv_limits *lim, ward_err code,
                        const char *word)
{
    collect c = {0};
    ward_err e = ward_csv_parse((const uint8_t *)in, len, lim, on_rec, &c);
    if (e != code)
        fail_msg("expected %s, got %s: %s", ward_err_name(code), ward_err_name(e),
                 ward_errmsg());
    if (strstr(ward_errmsg(), word) == NULL)
        fail_msg("message lacks '%s': %s", word, ward_errmsg());
    /* split feeding fails the same way */
    ward_csv_reader *r = NULL;
    collect d = {0};
    assert_int_equal(ward_csv_reader_new(lim, on_rec, &d, &r), WARD_OK);
    ward_err e2 = WARD_OK;
    for (size_t i = 0; i < len && e2 == WARD_OK; i++)
        e2 = ward_csv_reader_feed(r, (const uint8_t *)in + i, 1);
    if (e2 == WARD_OK)
        e2 = ward_csv_reader_finish(r);
    assert_int_equal(e2, code);
    assert_non_null(strstr(ward_errmsg(), word));
    /* dead after an error */
    assert_int_equal(ward_csv_reader_feed(r, (const uint8_t *)"a", 1), WARD_ERR_STATE);
    ward_csv_reader_free(r);
}

#define REFUSED(lit, code, word) refused_lim(lit, sizeof(lit) - 1, NULL, code, word)

static void test_rfc4180(void **state)
{
    (void)state;
    PARSES("a,b\r\n1,2\r\n", "<a>|<b>\n<1>|<2>\n");
    PARSES("a,b\n1,2\n", "<a>|<b>\n<1>|<2>\n");
    PARSES("a,b\n1,2", "<a>|<b>\n<1>|<2>\n");
    PARSES("a,b\r\n1,2", "<a>|<b>\n<1>|<2>\n");
    PARSES("a,b\n1,2\r\n3,4\n", "<a>|<b>\n<1>|<2>\n<3>|<4>\n"); /* mixed line ends */
    PARSES("a,b\n,\n", "<a>|<b>\n<>|<>\n");
    PARSES("a,b\n\"\",\"\"\n", "<a>|<b>\n<>|<>\n");
    PARSES("a,b\n\"x,y\",\"he said \"\"hi\"\"\"\n", "<a>|<b>\n<x,y>|<he said \"hi\">\n");
    PARSES("a,b\n\"line1\r\nline2\",\"l\nm\"\n", "<a>|<b>\n<line1\r\nline2>|<l\nm>\n");
    PARSES("\"a\"\"\",b\n1,2\n", "<a\">|<b>\n<1>|<2>\n");
    PARSES("a\n\n1\n", "<a>\n<>\n<1>\n"); /* one column: an empty line is an empty field */
    PARSES("a,b\n", "<a>|<b>\n");         /* header only: an empty table */
    PARSES("a,b", "<a>|<b>\n");
    PARSES("\xEF\xBB\xBF" "a,b\n1,2\n", "<a>|<b>\n<1>|<2>\n"); /* BOM skipped */
    PARSES("a,b\n \xC3\xA9 , x \n", "<a>|<b>\n< \xC3\xA9 >|< x >\n"); /* spaces kept */
    PARSES("n\n\xF0\x9F\x98\x80\n\xEF\xBF\xBF\n\xF4\x8F\xBF\xBF\n",
           "<n>\n<\xF0\x9F\x98\x80>\n<\xEF\xBF\xBF>\n<\xF4\x8F\xBF\xBF>\n");
    /* a BOM-like start that is another character */
    PARSES("\xEF\xBB\x80,b\n1,2\n", "<\xEF\xBB\x80>|<b>\n<1>|<2>\n");
}

static void test_counts(void **state)
{
    (void)state;
    ward_csv_reader *r = NULL;
    collect c = {0};
    assert_int_equal(ward_csv_reader_new(NULL, on_rec, &c, &r), WARD_OK);
    assert_int_equal(ward_csv_reader_columns(r), 0);
    const char *in = "x,y,z\n1,2,3\n4,5,6\n";
    assert_int_equal(ward_csv_reader_feed(r, (const uint8_t *)in, strlen(in)), WARD_OK);
    assert_int_equal(ward_csv_reader_columns(r), 3);
    assert_int_equal(ward_csv_reader_records(r), 2);
    assert_int_equal(ward_csv_reader_finish(r), WARD_OK);
    assert_int_equal(ward_csv_reader_finish(r), WARD_ERR_STATE);
    ward_csv_reader_free(r);
    ward_csv_reader_free(NULL);
}

static void test_ragged(void **state)
{
    (void)state;
    REFUSED("a,b\n1,2\n3\n", WARD_ERR_FORMAT, "line 3");
    REFUSED("a,b\n1,2\n3\n", WARD_ERR_FORMAT, "ragged");
    REFUSED("a,b\n1,2,3\n", WARD_ERR_FORMAT, "line 2");
    REFUSED("a,b\n1,2\n\n", WARD_ERR_FORMAT, "line 3"); /* an empty line with 2 columns */
    REFUSED("a,b\n\"x\ny\",2\n1\n", WARD_ERR_FORMAT, "line 4"); /* lines, not records */
    REFUSED("a,b\r\n1,2\r\n3,4,5", WARD_ERR_FORMAT, "line 3");
}

static void test_utf8(void **state)
{
    (void)state;
    REFUSED("a,b\n1,\xC0\x80\n", WARD_ERR_FORMAT, "byte offset 6");    /* overlong */
    REFUSED("a,b\n1,\xE0\x80\x80\n", WARD_ERR_FORMAT, "byte offset 6"); /* overlong */
    REFUSED("a,b\n1,\xED\xA0\x80\n", WARD_ERR_FORMAT, "byte offset 6"); /* surrogate */
    REFUSED("a,b\n1,\xF4\x90\x80\x80\n", WARD_ERR_FORMAT, "byte offset 6"); /* > U+10FFFF */
    REFUSED("a,b\n1,\xF5\x80\x80\x80\n", WARD_ERR_FORMAT, "byte offset 6");
    REFUSED("a,b\n1,\xFF\n", WARD_ERR_FORMAT, "byte offset 6");
    REFUSED("a,b\n1,\x80\n", WARD_ERR_FORMAT, "byte offset 6"); /* lone continuation */
    REFUSED("a,b\n1,x\xC3(\n", WARD_ERR_FORMAT, "byte offset 7"); /* bad continuation */
    REFUSED("a,b\n1,\xE2\x82", WARD_ERR_FORMAT, "byte offset 6"); /* truncated at the end */
    REFUSED("a,b\n1,\"\xC3\"\n", WARD_ERR_FORMAT, "invalid UTF-8"); /* inside quotes too */
    refused_lim("a,b\n1,\0\n", 8, NULL, WARD_ERR_FORMAT, "NUL");
    refused_lim("a,b\n1,\0\n", 8, NULL, WARD_ERR_FORMAT, "byte offset 6");
    REFUSED("\xEF\xBB", WARD_ERR_FORMAT, "byte offset 0"); /* half a BOM */

    size_t off = 99;
    assert_int_equal(ward_csv_utf8_valid((const uint8_t *)"ok \xC3\xA9", 5, &off), 1);
    assert_int_equal(ward_csv_utf8_valid((const uint8_t *)"ok \xC3", 4, &off), 0);
    assert_int_equal(off, 3);
    assert_int_equal(ward_csv_utf8_valid((const uint8_t *)"", 0, NULL), 1);
}

static void test_syntax(void **state)
{
    (void)state;
    REFUSED("", WARD_ERR_FORMAT, "empty input");
    REFUSED("\xEF\xBB\xBF", WARD_ERR_FORMAT, "empty input");
    REFUSED("a,b\n1,x\"y\n", WARD_ERR_FORMAT, "quote inside an unquoted field");
    REFUSED("a,b\n1,\"x\"y\n", WARD_ERR_FORMAT, "after a closing quote");
    REFUSED("a,b\n1,\"x\n", WARD_ERR_FORMAT, "not closed");
    REFUSED("a,b\n1,\"x\n\n\n", WARD_ERR_FORMAT, "line 2"); /* where the quote opened */
    REFUSED("a,b\n1,2\r3,4\n", WARD_ERR_FORMAT, "carriage return");
    REFUSED("a,b\n1,2\r", WARD_ERR_FORMAT, "carriage return");
    REFUSED("a,b\n1,\"2\"\r", WARD_ERR_FORMAT, "carriage return");
    REFUSED("a,A\n1,2\n", WARD_ERR_FORMAT, "same name");
    REFUSED("a,,b\n1,2,3\n", WARD_ERR_FORMAT, "empty name");
    REFUSED("\n1\n", WARD_ERR_FORMAT, "empty name");
    REFUSED("a,\"\"\n1,2\n", WARD_ERR_FORMAT, "empty name");
}

static void test_limits(void **state)
{
    (void)state;
    ward_csv_limits l = {.max_bytes = 10};
    refused_lim("a,b\n1,2\n3,4\n", 12, &l, WARD_ERR_LIMIT, "exceeds 10 bytes");
    collect c = {0};
    assert_int_equal(ward_csv_parse((const uint8_t *)"a,b\n1,2\n", 8, &l, on_rec, &c), WARD_OK);
    ward_csv_limits f = {.max_field = 3};
    refused_lim("a,b\n1,2345\n", 11, &f, WARD_ERR_LIMIT, "field exceeds 3");
    ward_csv_limits rec = {.max_record = 5};
    refused_lim("a,b\n123,456\n", 12, &rec, WARD_ERR_LIMIT, "record exceeds 5");
    ward_csv_limits col = {.max_columns = 2};
    refused_lim("a,b,c\n1,2,3\n", 12, &col, WARD_ERR_LIMIT, "more than 2 columns");
    ward_csv_limits rows = {.max_records = 2};
    refused_lim("a\n1\n2\n3\n", 8, &rows, WARD_ERR_LIMIT, "more than 2 records");
    assert_int_equal(ward_csv_parse((const uint8_t *)"a\n1\n2\n", 6, &rows, on_rec, &c),
                     WARD_OK);
    /* the callback's error stops the reader */
    collect s = {.stop_at = 2};
    assert_int_equal(ward_csv_parse((const uint8_t *)"a\n1\n2\n", 6, NULL, on_rec, &s),
                     WARD_ERR_PERMISSION);
    /* bad arguments */
    ward_csv_reader *r = NULL;
    assert_int_equal(ward_csv_reader_new(NULL, NULL, NULL, &r), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_csv_reader_new(NULL, on_rec, &c, NULL), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_csv_reader_new(NULL, on_rec, &c, &r), WARD_OK);
    assert_int_equal(ward_csv_reader_feed(r, NULL, 1), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_csv_reader_feed(r, NULL, 0), WARD_OK);
    ward_csv_reader_free(r);
}

static void test_writer(void **state)
{
    (void)state;
    ward_csv_writer *w = NULL;
    assert_int_equal(ward_csv_writer_new(1024, &w), WARD_OK);
    const char *h[] = {"name", "note", "n"};
    size_t hl[] = {4, 4, 1};
    assert_int_equal(ward_csv_writer_record(w, h, hl, 3), WARD_OK);
    const char *r1[] = {"a,b", "say \"x\"", NULL};
    size_t l1[] = {3, 7, 0};
    assert_int_equal(ward_csv_writer_record(w, r1, l1, 3), WARD_OK);
    const char *r2[] = {"", "l1\r\nl2", "\xC3\xA9"};
    size_t l2[] = {0, 6, 2};
    assert_int_equal(ward_csv_writer_record(w, r2, l2, 3), WARD_OK);
    size_t len = 0;
    const uint8_t *d = ward_csv_writer_data(w, &len);
    const char *expect = "name,note,n\r\n\"a,b\",\"say \"\"x\"\"\",\r\n\"\",\"l1\r\nl2\",\xC3\xA9\r\n";
    assert_int_equal(len, strlen(expect));
    assert_memory_equal(d, expect, len);
    /* round trip */
    collect c = {0};
    assert_int_equal(ward_csv_parse(d, len, NULL, on_rec, &c), WARD_OK);
    assert_string_equal(c.out, "<name>|<note>|<n>\n<a,b>|<say \"x\">|<>\n<>|<l1\r\nl2>|<\xC3\xA9>\n");
    /* refusals leave the output as it was */
    const char *bad[] = {"\xFF", "x", "y"};
    size_t bl[] = {1, 1, 1};
    assert_int_equal(ward_csv_writer_record(w, bad, bl, 3), WARD_ERR_FORMAT);
    const char *nul[] = {"a\0b", "x", "y"};
    size_t nl[] = {3, 1, 1};
    assert_int_equal(ward_csv_writer_record(w, nul, nl, 3), WARD_ERR_FORMAT);
    assert_int_equal(ward_csv_writer_record(w, h, hl, 2), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_csv_writer_record(w, h, hl, 0), WARD_ERR_INVALID_ARG);
    size_t len2 = 0;
    ward_csv_writer_data(w, &len2);
    assert_int_equal(len2, len);
    ward_csv_writer_free(w);

    assert_int_equal(ward_csv_writer_new(0, &w), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_csv_writer_new(8, &w), WARD_OK);
    const char *one[] = {"abc"};
    size_t ol[] = {3};
    assert_int_equal(ward_csv_writer_record(w, one, ol, 1), WARD_OK); /* 5 bytes */
    assert_int_equal(ward_csv_writer_record(w, one, ol, 1), WARD_ERR_LIMIT);
    ward_csv_writer_data(w, &len);
    assert_int_equal(len, 5);
    ward_csv_writer_free(w);
    ward_csv_writer_free(NULL);

    /* a field starting with U+FEFF is quoted, so that a reader does not take it for a BOM */
    assert_int_equal(ward_csv_writer_new(64, &w), WARD_OK);
    const char *bom[] = {"\xEF\xBB\xBFx"};
    size_t boml[] = {4};
    assert_int_equal(ward_csv_writer_record(w, bom, boml, 1), WARD_OK);
    d = ward_csv_writer_data(w, &len);
    assert_int_equal(len, 8);
    assert_memory_equal(d, "\"\xEF\xBB\xBFx\"\r\n", 8);
    collect c2 = {0};
    assert_int_equal(ward_csv_parse(d, len, NULL, on_rec, &c2), WARD_OK);
    assert_string_equal(c2.out, "<\xEF\xBB\xBFx>\n");
    ward_csv_writer_free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc4180), cmocka_unit_test(test_counts),
        cmocka_unit_test(test_ragged),  cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_syntax),  cmocka_unit_test(test_limits),
        cmocka_unit_test(test_writer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
