/* The challenge store (include/ward/nonce.h): issue, consume once, expiry, capacity, with an
 * injected clock (no sleeps), and concurrent consumers of one nonce (exactly one wins). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <string.h>

#include "testutil.h"
#include "ward/nonce.h"

typedef struct clk {
    int64_t now;
} clk;

static int64_t fake_now(void *ctx)
{
    return ((clk *)ctx)->now;
}

static void expect_msg(ward_err got, ward_err want, const char *needle)
{
    if (got != want || (needle != NULL && strstr(ward_errmsg(), needle) == NULL))
        fail_msg("expected %s '%s', got %s: %s", ward_err_name(want), needle ? needle : "",
                 ward_err_name(got), ward_errmsg());
}

static void test_once(void **state)
{
    (void)state;
    clk c = {1000};
    ward_nonce_store *s = NULL;
    assert_int_equal(ward_nonce_store_new(8, 5000, fake_now, &c, &s), WARD_OK);
    uint8_t n[WARD_NONCE_LEN], m[WARD_NONCE_LEN];
    int64_t exp = 0;
    assert_int_equal(ward_nonce_issue(s, n, &exp), WARD_OK);
    assert_int_equal(exp, 6000);
    assert_int_equal(ward_nonce_issue(s, m, NULL), WARD_OK);
    assert_memory_not_equal(n, m, sizeof n);
    assert_int_equal(ward_nonce_store_count(s), 2);
    assert_int_equal(ward_nonce_consume(s, n, sizeof n), WARD_OK);
    expect_msg(ward_nonce_consume(s, n, sizeof n), WARD_ERR_VERIFY, "already used");
    /* m is unaffected */
    assert_int_equal(ward_nonce_consume(s, m, sizeof m), WARD_OK);
    /* never issued */
    uint8_t x[WARD_NONCE_LEN];
    memcpy(x, n, sizeof x);
    x[0] ^= 1;
    expect_msg(ward_nonce_consume(s, x, sizeof x), WARD_ERR_VERIFY, "unknown nonce");
    expect_msg(ward_nonce_consume(s, n, 31), WARD_ERR_INVALID_ARG, "31 bytes");
    expect_msg(ward_nonce_consume(s, NULL, 32), WARD_ERR_INVALID_ARG, NULL);
    ward_nonce_store_free(s);
}

static void test_expiry(void **state)
{
    (void)state;
    clk c = {0};
    ward_nonce_store *s = NULL;
    assert_int_equal(ward_nonce_store_new(4, 1000, fake_now, &c, &s), WARD_OK);
    uint8_t a[WARD_NONCE_LEN], b[WARD_NONCE_LEN];
    assert_int_equal(ward_nonce_issue(s, a, NULL), WARD_OK);
    assert_int_equal(ward_nonce_issue(s, b, NULL), WARD_OK);
    c.now = 999; /* last valid millisecond */
    assert_int_equal(ward_nonce_consume(s, a, sizeof a), WARD_OK);
    c.now = 1000; /* expiry is exclusive */
    expect_msg(ward_nonce_consume(s, b, sizeof b), WARD_ERR_VERIFY, "expired 0 ms ago");
    /* an expired entry is forgotten: later it is unknown */
    expect_msg(ward_nonce_consume(s, b, sizeof b), WARD_ERR_VERIFY, "unknown nonce");
    /* a used nonce, after expiry, is refused too */
    c.now = 5000;
    expect_msg(ward_nonce_consume(s, a, sizeof a), WARD_ERR_VERIFY, "expired");
    assert_int_equal(ward_nonce_store_count(s), 0);
    ward_nonce_store_free(s);
}

static void test_capacity(void **state)
{
    (void)state;
    clk c = {0};
    ward_nonce_store *s = NULL;
    assert_int_equal(ward_nonce_store_new(3, 100, fake_now, &c, &s), WARD_OK);
    uint8_t n[4][WARD_NONCE_LEN];
    for (int i = 0; i < 3; i++)
        assert_int_equal(ward_nonce_issue(s, n[i], NULL), WARD_OK);
    /* full of live nonces: refused, and nothing evicted */
    expect_msg(ward_nonce_issue(s, n[3], NULL), WARD_ERR_LIMIT, "capacity");
    /* used ones still hold their slot until they expire (replays stay detectable) */
    assert_int_equal(ward_nonce_consume(s, n[0], WARD_NONCE_LEN), WARD_OK);
    expect_msg(ward_nonce_issue(s, n[3], NULL), WARD_ERR_LIMIT, NULL);
    c.now = 50;
    expect_msg(ward_nonce_issue(s, n[3], NULL), WARD_ERR_LIMIT, NULL);
    assert_int_equal(ward_nonce_consume(s, n[1], WARD_NONCE_LEN), WARD_OK);
    /* after expiry the slots are reclaimed */
    c.now = 100;
    assert_int_equal(ward_nonce_issue(s, n[3], NULL), WARD_OK);
    assert_int_equal(ward_nonce_store_count(s), 1);
    expect_msg(ward_nonce_consume(s, n[2], WARD_NONCE_LEN), WARD_ERR_VERIFY, "unknown");
    assert_int_equal(ward_nonce_consume(s, n[3], WARD_NONCE_LEN), WARD_OK);
    ward_nonce_store_free(s);
}

static void test_args(void **state)
{
    (void)state;
    ward_nonce_store *s = NULL;
    expect_msg(ward_nonce_store_new(0, 1000, NULL, NULL, &s), WARD_ERR_INVALID_ARG, "capacity");
    expect_msg(ward_nonce_store_new(WARD_NONCE_MAX_CAPACITY + 1, 1000, NULL, NULL, &s),
               WARD_ERR_INVALID_ARG, "capacity");
    expect_msg(ward_nonce_store_new(4, 0, NULL, NULL, &s), WARD_ERR_INVALID_ARG, "lifetime");
    expect_msg(ward_nonce_store_new(4, WARD_NONCE_MAX_TTL_MS + 1, NULL, NULL, &s),
               WARD_ERR_INVALID_ARG, "lifetime");
    assert_null(s);
    /* the default (monotonic) clock */
    assert_int_equal(ward_nonce_store_new(4, 60000, NULL, NULL, &s), WARD_OK);
    uint8_t n[WARD_NONCE_LEN];
    assert_int_equal(ward_nonce_issue(s, n, NULL), WARD_OK);
    assert_int_equal(ward_nonce_consume(s, n, sizeof n), WARD_OK);
    ward_nonce_store_free(s);
    ward_nonce_store_free(NULL);
    assert_int_equal(ward_nonce_store_count(NULL), 0);
}

typedef struct race {
    ward_nonce_store *s;
    uint8_t n[WARD_NONCE_LEN];
    int ok;
} race;

static void *consumer(void *arg)
{
    race *r = arg;
    r->ok = ward_nonce_consume(r->s, r->n, sizeof r->n) == WARD_OK;
    return NULL;
}

static void test_concurrent(void **state)
{
    (void)state;
    ward_nonce_store *s = NULL;
    assert_int_equal(ward_nonce_store_new(64, 60000, NULL, NULL, &s), WARD_OK);
    for (int round = 0; round < 20; round++) {
        uint8_t n[WARD_NONCE_LEN];
        assert_int_equal(ward_nonce_issue(s, n, NULL), WARD_OK);
        race r[4];
        pthread_t t[4];
        for (int i = 0; i < 4; i++) {
            r[i].s = s;
            memcpy(r[i].n, n, sizeof n);
            r[i].ok = 0;
            assert_int_equal(pthread_create(&t[i], NULL, consumer, &r[i]), 0);
        }
        int wins = 0;
        for (int i = 0; i < 4; i++) {
            pthread_join(t[i], NULL);
            wins += r[i].ok;
        }
        assert_int_equal(wins, 1);
    }
    ward_nonce_store_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_once),     cmocka_unit_test(test_expiry),
        cmocka_unit_test(test_capacity), cmocka_unit_test(test_args),
        cmocka_unit_test(test_concurrent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
