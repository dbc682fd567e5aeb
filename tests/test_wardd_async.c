/* wardd keeps serving while a task runs (docs/api.md, "POST /v1/tasks/{id}/run"): the TA work is
 * done by a worker thread, and the event loop answers other requests meanwhile. The real wardd
 * binary and its built-in sql TA, on tasks large enough (a few hundred thousand rows per input)
 * that a run is still in progress when the test asks about it. The POST run goes on a curl
 * multi handle that this thread drives between its other requests.
 *
 * What is asserted is the ORDER of events, never a duration: a GET answered `running` can only
 * have been served before the run ended (the run's completion records done/failed/cancelled
 * before its reply), so seeing it proves the node answered during the run; with the old
 * synchronous run it could not happen. Then: a second run is refused, a cancel by quorum ends a
 * running task `cancelled` (and the run's reply says so), also while the TA computes a query
 * that would not end for ages (the cancel interrupts the instance), a client that goes away does not
 * disturb the run, and SIGTERM during a run ends wardd cleanly (exit status 0, which a
 * sanitizer build turns non-zero on a leak or a use after free). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "testutil.h"
#include "wardd_harness.h"
#include "wardd_tasks_util.h"
#include "ward/crypto.h"
#include "ward/encoding.h"
#include "ward/stream.h"
#include "ward/task.h"

#define ROWS 1000000u
#define SLOT_MAX ((size_t)64 << 20)
#define UPLOAD_PIECE ((size_t)8 << 20)
#define POLL_LIMIT 3000 /* a bound on polling loops, not a timing: each waits for an event */

static tu_wardd W;
static tu_party g_a, g_b, g_analyst;
static uint8_t g_sk[32], g_pk[32];
static char *g_csv_a, *g_csv_b;
static char g_expected[256];
static int64_t g_expires;

static const char QUERY[] =
    "SELECT p.region AS region, SUM(s.amount) AS total, COUNT(*) AS n FROM a AS p JOIN b AS s "
    "ON p.id = s.id GROUP BY p.region ORDER BY p.region";
static const char *const REGIONS[] = {"east", "north", "south", "west"};

typedef struct task {
    char id[WARD_TASK_ID_HEX_LEN + 1];
    uint8_t task_pk[32];
} task;

/* ---- data ----------------------------------------------------------------------------------- */

static char *append(char *buf, size_t *len, size_t *cap, const char *s)
{
    size_t n = strlen(s);
    if (*len + n + 1 > *cap) {
        *cap = (*cap + n + 1) * 2;
        buf = realloc(buf, *cap);
        assert_non_null(buf);
    }
    memcpy(buf + *len, s, n + 1);
    *len += n;
    return buf;
}

/* a: id,region for every id; b: id,amount for every other id. */
static void make_data(void)
{
    size_t la = 0, ca = 0, lb = 0, cb = 0;
    char line[64];
    unsigned long long total[4] = {0}, count[4] = {0};
    g_csv_a = append(NULL, &la, &ca, "id,region\n");
    g_csv_b = append(NULL, &lb, &cb, "id,amount\n");
    for (unsigned i = 0; i < ROWS; i++) {
        snprintf(line, sizeof line, "%u,%s\n", i, REGIONS[i % 4]);
        g_csv_a = append(g_csv_a, &la, &ca, line);
        if (i % 2 == 0) {
            unsigned amount = i % 97;
            snprintf(line, sizeof line, "%u,%u\n", i, amount);
            g_csv_b = append(g_csv_b, &lb, &cb, line);
            total[i % 4] += amount;
            count[i % 4]++;
        }
    }
    size_t n = (size_t)snprintf(g_expected, sizeof g_expected, "region,total,n\r\n");
    for (size_t r = 0; r < 4; r++)
        if (count[r] > 0)
            n += (size_t)snprintf(g_expected + n, sizeof g_expected - n, "%s,%llu,%llu\r\n",
                                  REGIONS[r], total[r], count[r]);
}

/* ---- tasks ---------------------------------------------------------------------------------- */

static json_t *get_json(const tu_party *who, const char *path)
{
    return tu_get_json(&W, who, path);
}

static const char *state_in(json_t *j)
{
    const char *s = json_string_value(json_object_get(j, "state"));
    assert_non_null(s);
    return s;
}

/* The task's state now, as one of its participants sees it (malloc'd). */
static char *state_of(const task *t)
{
    char path[128];
    snprintf(path, sizeof path, "/v1/tasks/%s", t->id);
    json_t *j = get_json(&g_analyst, path);
    char *s = strdup(state_in(j));
    json_decref(j);
    assert_non_null(s);
    return s;
}

static void new_task_q(task *t, const char *query)
{
    tu_task_new_id(t->id);
    const tu_slot slots[] = {{"a", g_a.key, (json_int_t)SLOT_MAX},
                             {"b", g_b.key, (json_int_t)SLOT_MAX}};
    const tu_manifest_spec spec = {.id = t->id, .creator = g_a.key, .fn = "sql",
                                   .params = json_pack("{s:s}", "query", query), .slots = slots,
                                   .n_slots = 2, .recipient = g_analyst.key, .x25519 = g_pk,
                                   .expires_at = g_expires};
    ward_task_manifest *m = tu_manifest_make(&spec);
    const ward_pkey *const all[] = {g_a.key, g_b.key, g_analyst.key};
    tu_manifest_sign(m, all, 3);
    char *env = tu_envelope(m);
    ward_task_manifest_free(m);
    tu_task_post_approved(&W, &g_a, env, t->task_pk);
    free(env);
}

/* csv sealed in the stream's default chunks, uploaded in pieces of UPLOAD_PIECE. */
static void upload(const task *t, const tu_party *who, const char *slot, const char *csv)
{
    size_t ctl = 0;
    uint8_t *ct = tu_input_seal(t->task_pk, t->id, slot, WARD_STREAM_DEFAULT_CHUNK, csv,
                                strlen(csv), &ctl);
    tu_input_upload(&W, who, t->id, slot, ct, ctl, UPLOAD_PIECE);
    free(ct);
}

static void ready_task_q(task *t, const char *query, const char *csv_a, const char *csv_b)
{
    new_task_q(t, query);
    upload(t, &g_a, "a", csv_a);
    upload(t, &g_b, "b", csv_b);
    char *s = state_of(t);
    assert_string_equal(s, "collecting");
    free(s);
}

static void ready_task(task *t)
{
    ready_task_q(t, QUERY, g_csv_a, g_csv_b);
}

/* ---- the POST run in the background (curl multi) -------------------------------------------- */

typedef struct bg {
    CURLM *multi;
    CURL *easy;
    struct curl_slist *hdr;
    tu_resp r;
    CURLcode result;
    int done;
} bg;

static void bg_start(bg *b, const tu_party *who, const char *path)
{
    memset(b, 0, sizeof *b);
    b->multi = curl_multi_init();
    assert_non_null(b->multi);
    /* no timeout: the run may take long, and a cancel or SIGTERM ends it */
    b->easy = tu_wardd_curl(&W, who->cert_path, who->key_path, "POST", path, "", 0, &b->r,
                            &b->hdr);
    assert_int_equal(curl_multi_add_handle(b->multi, b->easy), CURLM_OK);
}

/* Moves the transfer on, waiting up to wait_ms for something to do. */
static void bg_pump(bg *b, int wait_ms)
{
    if (b->done)
        return;
    int running = 0;
    assert_int_equal(curl_multi_perform(b->multi, &running), CURLM_OK);
    int left = 0;
    CURLMsg *msg;
    while ((msg = curl_multi_info_read(b->multi, &left)) != NULL)
        if (msg->msg == CURLMSG_DONE && msg->easy_handle == b->easy) {
            b->done = 1;
            b->result = msg->data.result;
            curl_easy_getinfo(b->easy, CURLINFO_RESPONSE_CODE, &b->r.status);
        }
    if (!b->done && wait_ms > 0)
        assert_int_equal(curl_multi_poll(b->multi, NULL, 0, wait_ms, NULL), CURLM_OK);
}

static void bg_free(bg *b)
{
    if (b->multi != NULL && b->easy != NULL)
        curl_multi_remove_handle(b->multi, b->easy);
    if (b->easy != NULL)
        curl_easy_cleanup(b->easy); /* closes the connection if the transfer is unfinished */
    if (b->multi != NULL)
        curl_multi_cleanup(b->multi);
    curl_slist_free_all(b->hdr);
    free(b->r.body);
    memset(b, 0, sizeof *b);
}

/* bg_pump without waiting, as a tu_wardd_term tick. */
static void bg_tick(void *arg)
{
    bg_pump(arg, 0);
}

static void bg_finish(bg *b)
{
    for (int i = 0; i < POLL_LIMIT && !b->done; i++)
        bg_pump(b, 200);
    assert_true(b->done);
}

/* Drives the run until the node reports the task `running` (its request has been received
 * and the worker started). The run's reply must not have come first. */
static void wait_running(bg *b, const task *t)
{
    for (int i = 0; i < POLL_LIMIT; i++) {
        bg_pump(b, 20);
        if (b->done)
            fail_msg("the run's reply (%ld: %s) came before the task was seen running",
                     b->r.status, b->r.body);
        char *s = state_of(t);
        int running = strcmp(s, "running") == 0;
        if (!running && strcmp(s, "collecting") != 0)
            fail_msg("task %s before it was seen running", s);
        free(s);
        if (running)
            return;
    }
    fail_msg("the task never showed running");
}

/* POST .../run as who on a multi handle, driven until the task shows running. */
static void run_in_background(bg *b, const task *t, const tu_party *who)
{
    char path[160];
    snprintf(path, sizeof path, "/v1/tasks/%s/run", t->id);
    bg_start(b, who, path);
    wait_running(b, t);
}

/* The run's reply, read to its end: 200, the task view in state, its TA gone (new reference). */
static json_t *finish_reply(bg *b, const char *state)
{
    bg_finish(b);
    assert_int_equal(b->result, CURLE_OK);
    assert_int_equal(b->r.status, 200);
    json_t *j = tu_resp_json(&b->r);
    if (strcmp(state_in(j), state) != 0)
        fail_msg("run: %s (%s)", state_in(j), json_string_value(json_object_get(j, "reason")));
    assert_true(json_is_false(json_object_get(json_object_get(j, "ta"), "alive")));
    return j;
}

/* ---- tests ---------------------------------------------------------------------------------- */

static void test_setup(void **state)
{
    (void)state;
    tu_party_make(&W, &g_a, "provider-a", "data-provider");
    tu_party_make(&W, &g_b, "provider-b", "data-provider");
    tu_party_make(&W, &g_analyst, "analyst", "result-consumer");
    assert_int_equal(ward_x25519_generate(g_sk, g_pk), WARD_OK);
    g_expires = (int64_t)time(NULL) + 3600;
    make_data();
}

enum { EV_GET_RUNNING = 1, EV_HEALTHZ, EV_REFUSED_RERUN, EV_GET_STILL_RUNNING, EV_RUN_REPLY };

/* While a large task runs: /healthz and the task's GET are answered (`running`), a second POST
 * run is refused 409 `state`, all before the run's reply; that reply is the task view, done,
 * and the result decrypts to the expected aggregate. */
static void test_serves_during_run(void **state)
{
    (void)state;
    task t;
    ready_task(&t);
    char path[160];
    snprintf(path, sizeof path, "/v1/tasks/%s/run", t.id);
    int events[8], n_ev = 0;
    bg b;
    bg_start(&b, &g_b, path);
    wait_running(&b, &t);
    events[n_ev++] = EV_GET_RUNNING;

    tu_healthz(&W);
    events[n_ev++] = EV_HEALTHZ;
    tu_resp r = tu_party_request(&W, &g_a, "POST", path, NULL, 0);
    tu_expect_error(&r, 409, "state");
    events[n_ev++] = EV_REFUSED_RERUN;
    /* still running after both: they were answered during the run, not after it */
    char *s = state_of(&t);
    assert_string_equal(s, "running");
    free(s);
    events[n_ev++] = EV_GET_STILL_RUNNING;

    json_t *j = finish_reply(&b, "done");
    events[n_ev++] = EV_RUN_REPLY;
    json_decref(j);
    bg_free(&b);
    const int want[] = {EV_GET_RUNNING, EV_HEALTHZ, EV_REFUSED_RERUN, EV_GET_STILL_RUNNING,
                        EV_RUN_REPLY};
    assert_int_equal(n_ev, 5);
    assert_memory_equal(events, want, sizeof want);

    /* the result the worker wrote is the one stored and served */
    tu_result res;
    tu_result_fetch(&W, &g_analyst, t.id, &res);
    assert_true(res.enc_len < ((size_t)8 << 20));
    uint8_t digest[32];
    j = tu_task_get(&W, &g_analyst, t.id);
    const char *dh = json_string_value(json_object_get(j, "manifest_sha256"));
    assert_non_null(dh);
    assert_int_equal(ward_hex_decode_fixed(dh, strlen(dh), digest, 32), WARD_OK);
    json_decref(j);
    uint8_t *pt = NULL;
    size_t ptl = 0;
    assert_int_equal(ward_stream_open(g_sk, digest, 32, res.enc, res.enc_len, &pt, &ptl),
                     WARD_OK);
    tu_result_free(&res);
    if (ptl != strlen(g_expected) || memcmp(pt, g_expected, ptl) != 0)
        fail_msg("result: %.*s (expected %s)", (int)ptl, (const char *)pt, g_expected);
    free(pt);
}

/* A quorum cancels the task while its worker is inside the TA: the cancel is answered at once
 * (cancelled), and the run's reply reports the same final state with the TA gone. */
static void test_cancel_during_run(void **state)
{
    (void)state;
    task t;
    ready_task(&t);
    char cpath[160];
    snprintf(cpath, sizeof cpath, "/v1/tasks/%s/cancel", t.id);
    bg b;
    run_in_background(&b, &t, &g_a);
    tu_resp r = tu_party_request(&W, &g_a, "POST", cpath, NULL, 0);
    assert_int_equal(r.status, 200);
    json_t *j = tu_resp_json(&r);
    free(r.body);
    assert_int_equal(json_integer_value(json_object_get(j, "cancel_votes")), 1);
    json_decref(j);
    r = tu_party_request(&W, &g_analyst, "POST", cpath, NULL, 0);
    assert_int_equal(r.status, 200);
    j = tu_resp_json(&r);
    free(r.body);
    assert_string_equal(state_in(j), "cancelled");
    json_decref(j);
    assert_false(b.done); /* the cancel was answered before the run's reply was read */

    j = finish_reply(&b, "cancelled");
    json_decref(j);
    bg_free(&b);
    /* cancelled stays cancelled, and no result was stored */
    char *s = state_of(&t);
    assert_string_equal(s, "cancelled");
    free(s);
    char path[160];
    snprintf(path, sizeof path, "/v1/tasks/%s/result", t.id);
    r = tu_party_request(&W, &g_analyst, "GET", path, NULL, 0);
    assert_int_equal(r.status, 404);
    free(r.body);
    tu_healthz(&W);
}

/* A query that would run for ages (a recursive count to 1e15: no result piece until it ends,
 * so nothing in the TA's computation looks at a stop) is cancelled by quorum. wardd runs with a
 * TA call timeout of a day (WARDD_TA_CALL_TIMEOUT_MS): the run's reply, `cancelled`, can only
 * come because the cancel interrupted the TA, not because a timeout ended the call. */
static void test_cancel_endless_query(void **state)
{
    (void)state;
    static const char endless[] =
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < "
        "1000000000000000) SELECT COUNT(*) AS n FROM c";
    task t;
    ready_task_q(&t, endless, "id,region\n1,east\n", "id,amount\n1,5\n");
    char cpath[160];
    snprintf(cpath, sizeof cpath, "/v1/tasks/%s/cancel", t.id);
    bg b;
    run_in_background(&b, &t, &g_analyst);
    tu_resp r = tu_party_request(&W, &g_a, "POST", cpath, NULL, 0);
    assert_int_equal(r.status, 200);
    free(r.body);
    r = tu_party_request(&W, &g_b, "POST", cpath, NULL, 0);
    assert_int_equal(r.status, 200);
    json_t *j = tu_resp_json(&r);
    free(r.body);
    assert_string_equal(state_in(j), "cancelled");
    json_decref(j);

    j = finish_reply(&b, "cancelled");
    const char *why = json_string_value(json_object_get(j, "reason"));
    print_message("    run reply: cancelled (%s)\n", why != NULL ? why : "-");
    assert_true(why == NULL || (strstr(why, "did not answer") == NULL &&
                                strstr(why, "timeout") == NULL));
    json_decref(j);
    bg_free(&b);
    char *s = state_of(&t);
    assert_string_equal(s, "cancelled");
    free(s);
    tu_healthz(&W);
}

/* The client that posted the run goes away while it runs: the run still ends (done), and the
 * node keeps serving. */
static void test_client_gone(void **state)
{
    (void)state;
    task t;
    ready_task(&t);
    bg b;
    run_in_background(&b, &t, &g_b);
    bg_free(&b); /* closes the connection before the reply */
    char *s = NULL;
    for (int i = 0; i < POLL_LIMIT; i++) {
        free(s);
        s = state_of(&t);
        if (strcmp(s, "running") != 0)
            break;
        tu_sleep_ms(50);
    }
    assert_string_equal(s, "done");
    free(s);
    tu_healthz(&W);
}

/* SIGTERM while a run is in progress: wardd stops the worker and exits 0. */
static void test_sigterm_during_run(void **state)
{
    (void)state;
    task t;
    ready_task(&t);
    bg b;
    run_in_background(&b, &t, &g_b);
    tu_wardd_term(&W, bg_tick, &b);
    /* the run's connection ends with the node: a reply (the task failed) or none */
    bg_finish(&b);
    if (b.result == CURLE_OK && b.r.status == 200) {
        json_t *j = tu_resp_json(&b.r);
        assert_string_equal(state_in(j), "failed");
        json_decref(j);
    }
    bg_free(&b);
    /* wardd recorded the stop itself: the store has no `running` task left to recover */
    ward_task_store *store = NULL;
    assert_int_equal(ward_task_store_open(W.data, NULL, &store), WARD_OK);
    assert_int_equal(ward_task_store_recovered(store), 0);
    ward_task_info info;
    assert_int_equal(ward_task_store_info(store, t.id, &info), WARD_OK);
    assert_int_equal(info.state, WARD_TASK_FAILED);
    assert_string_equal(info.reason, "the node stopped during the run");
    ward_task_store_close(store);
}

static int group_setup(void **state)
{
    (void)state;
    /* only an interrupt can end a TA's call in time (test_cancel_endless_query) */
    setenv("WARDD_TA_CALL_TIMEOUT_MS", "86400000", 1);
    return tu_wardd_start(&W);
}

static int group_teardown(void **state)
{
    (void)state;
    tu_party_free(&g_a);
    tu_party_free(&g_b);
    tu_party_free(&g_analyst);
    ward_wipe(g_sk, sizeof g_sk);
    free(g_csv_a);
    free(g_csv_b);
    tu_wardd_stop(&W);
    return 0;
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_setup),
        cmocka_unit_test(test_serves_during_run),
        cmocka_unit_test(test_cancel_during_run),
        cmocka_unit_test(test_cancel_endless_query),
        cmocka_unit_test(test_client_gone),
        cmocka_unit_test(test_sigterm_during_run),
    };
    int rc = cmocka_run_group_tests(tests, group_setup, group_teardown);
    curl_global_cleanup();
    return rc;
}
