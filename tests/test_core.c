/* Errors and logging. */
#include "testutil.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ward/err.h"
#include "ward/log.h"

static void test_err_set_and_name(void **state)
{
    (void)state;
    ward_err_clear();
    assert_string_equal(ward_errmsg(), "");
    assert_int_equal(ward_err_set(WARD_ERR_FORMAT, "bad %s at %d", "header", 7), WARD_ERR_FORMAT);
    assert_string_equal(ward_errmsg(), "bad header at 7");
    assert_string_equal(ward_err_name(WARD_OK), "ok");
    assert_string_equal(ward_err_name(WARD_ERR_AUTH), "auth");
    assert_string_equal(ward_err_name((ward_err)9999), "unknown");
    for (int e = 0; e < WARD_ERR__COUNT; e++) {
        assert_non_null(ward_err_name((ward_err)e));
        assert_string_not_equal(ward_err_name((ward_err)e), "unknown");
    }
}

static void test_err_wrap(void **state)
{
    (void)state;
    ward_err_set(WARD_ERR_AUTH, "tag mismatch");
    assert_int_equal(ward_err_wrap(WARD_ERR_AUTH, "chunk %d", 3), WARD_ERR_AUTH);
    assert_string_equal(ward_errmsg(), "chunk 3: tag mismatch");
}

static void test_err_long_message_truncated(void **state)
{
    (void)state;
    char big[2000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    ward_err_set(WARD_ERR_FORMAT, "%s", big);
    assert_true(strlen(ward_errmsg()) < sizeof big);
    ward_err_wrap(WARD_ERR_FORMAT, "%s", big); /* must not overflow */
    assert_true(strlen(ward_errmsg()) < sizeof big);
}

static void test_err_ossl_appends_reason_and_clears(void **state)
{
    (void)state;
    /* Provoke a real OpenSSL error: fetching an algorithm that does not exist. */
    EVP_MD *md = EVP_MD_fetch(NULL, "NO-SUCH-DIGEST", NULL);
    assert_null(md);
    assert_int_not_equal(ERR_peek_error(), 0);
    ward_err_ossl(WARD_ERR_CRYPTO, "fetch failed");
    assert_non_null(strstr(ward_errmsg(), "fetch failed ("));
    assert_int_equal(ERR_peek_error(), 0);
}

/* Runs ward_log with stderr redirected to a temporary file and returns what it wrote. */
static char *capture(void (*fn)(void))
{
    char path[] = "/tmp/ward-log-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    int saved = dup(STDERR_FILENO);
    assert_true(saved >= 0);
    assert_true(dup2(fd, STDERR_FILENO) >= 0);
    fn();
    assert_true(dup2(saved, STDERR_FILENO) >= 0);
    close(saved);
    close(fd);
    size_t len = 0;
    char *out = (char *)tu_read_file(path, &len);
    unlink(path);
    return out;
}

static void log_kv(void)
{
    ward_log_set_format(WARD_LOG_KV);
    ward_log_set_level(WARD_LOG_INFO);
    ward_log(WARD_LOG_DEBUG, "hidden", "k", "v", (char *)NULL);
    ward_log(WARD_LOG_INFO, "task.created", "task", "t1", "note", "two words",
             "quote", "a\"b", (char *)NULL);
}

static void test_log_kv(void **state)
{
    (void)state;
    char *out = capture(log_kv);
    assert_null(strstr(out, "hidden"));
    assert_non_null(strstr(out, " level=info event=task.created task=t1 note=\"two words\" "
                                "quote=\"a\\\"b\"\n"));
    assert_true(strncmp(out, "ts=", 3) == 0);
    assert_int_equal(strchr(out, '\n') - out + 1, (long)strlen(out)); /* one line */
    free(out);
}

static void log_json(void)
{
    ward_log_set_format(WARD_LOG_JSON);
    ward_log_set_level(WARD_LOG_DEBUG);
    ward_log(WARD_LOG_WARN, "odd", "nl", "a\nb", "ctl", "\x01", (char *)NULL);
    ward_log_set_format(WARD_LOG_KV);
    ward_log_set_level(WARD_LOG_INFO);
}

static void test_log_json_escapes(void **state)
{
    (void)state;
    char *out = capture(log_json);
    json_error_t jerr;
    json_t *j = json_loads(out, 0, &jerr);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "level")), "warn");
    assert_string_equal(json_string_value(json_object_get(j, "event")), "odd");
    assert_string_equal(json_string_value(json_object_get(j, "nl")), "a\nb");
    assert_string_equal(json_string_value(json_object_get(j, "ctl")), "\x01");
    json_decref(j);
    free(out);
}

static char huge[10000];

static void log_huge_json(void)
{
    memset(huge, 'y', sizeof huge - 1);
    ward_log_set_format(WARD_LOG_JSON);
    ward_log(WARD_LOG_ERROR, "big", "small", "1", "huge", huge, (char *)NULL);
    ward_log_set_format(WARD_LOG_KV);
}

static void test_log_truncation_stays_valid_json(void **state)
{
    (void)state;
    char *out = capture(log_huge_json);
    json_error_t jerr;
    json_t *j = json_loads(out, 0, &jerr);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "small")), "1");
    assert_null(json_object_get(j, "huge"));
    assert_string_equal(json_string_value(json_object_get(j, "truncated")), "true");
    json_decref(j);
    free(out);
}

static void test_log_level_parse(void **state)
{
    (void)state;
    assert_int_equal(ward_log_level_parse("debug"), WARD_LOG_DEBUG);
    assert_int_equal(ward_log_level_parse("WARN"), WARD_LOG_WARN);
    assert_int_equal(ward_log_level_parse("warning"), WARD_LOG_WARN);
    assert_int_equal(ward_log_level_parse("off"), WARD_LOG_OFF);
    assert_int_equal(ward_log_level_parse("loud"), -1);
    assert_int_equal(ward_log_level_parse(NULL), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_err_set_and_name),
        cmocka_unit_test(test_err_wrap),
        cmocka_unit_test(test_err_long_message_truncated),
        cmocka_unit_test(test_err_ossl_appends_reason_and_clears),
        cmocka_unit_test(test_log_kv),
        cmocka_unit_test(test_log_json_escapes),
        cmocka_unit_test(test_log_truncation_stays_valid_json),
        cmocka_unit_test(test_log_level_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
