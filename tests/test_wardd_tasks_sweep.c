/* wardd's periodic expiry sweep (docs/api.md, "Tasks"): a task whose expiry passes while it is
 * approved (its TA instance alive) becomes `expired` without any further request about it, and
 * its TA instance is destroyed; a task that has not expired is left alone. The real wardd runs
 * with a short sweep period (WARDD_TASK_SWEEP_MS). Participants are enrolled in the node's
 * identity database with their roles (RBAC on the task endpoints). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "testutil.h"
#include "wardd_harness.h"
#include "wardd_tasks_util.h"
#include "ward/crypto.h"
#include "ward/encoding.h"
#include "ward/identity.h"
#include "ward/rbac.h"
#include "ward/rot.h"
#include "ward/task.h"
#include "ward/x509.h"

typedef tu_party ident;

static tu_wardd W;
static ident g_a, g_b, g_analyst;
static uint8_t g_xpk[32];

static int setup(void **state)
{
    (void)state;
    setenv("WARDD_TASK_SWEEP_MS", "200", 1);
    if (tu_wardd_start(&W) != 0)
        return -1;
    tu_party_make(&W, &g_a, "provider-a", "data-provider");
    tu_party_make(&W, &g_b, "provider-b", "data-provider");
    tu_party_make(&W, &g_analyst, "analyst", "result-consumer");
    uint8_t sk[32];
    if (ward_x25519_generate(sk, g_xpk) != WARD_OK)
        return -1;
    ward_wipe(sk, sizeof sk);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tu_wardd_stop(&W);
    tu_party_free(&g_a);
    tu_party_free(&g_b);
    tu_party_free(&g_analyst);
    return 0;
}

/* Posts a signed sql task expiring at `expires`; returns its id in id. */
static void post_task(int64_t expires, char id[WARD_TASK_ID_HEX_LEN + 1])
{
    tu_task_new_id(id);
    const tu_slot slots[] = {{"a", g_a.key, 1 << 20}, {"b", g_b.key, 1 << 20}};
    const tu_manifest_spec spec = {.id = id, .creator = g_a.key, .fn = "sql",
                                   .params = json_pack("{s:s}", "query", "SELECT 1"),
                                   .slots = slots, .n_slots = 2, .recipient = g_analyst.key,
                                   .x25519 = g_xpk, .expires_at = expires};
    ward_task_manifest *m = tu_manifest_make(&spec);
    const ward_pkey *const all[] = {g_a.key, g_b.key, g_analyst.key};
    tu_manifest_sign(m, all, 3);
    char *env = tu_envelope(m);
    ward_task_manifest_free(m);
    tu_task_post_approved(&W, &g_a, env, NULL);
    free(env);
}

static json_t *get_task(const char *id)
{
    return tu_task_get(&W, &g_b, id);
}

static const char *state_of(json_t *t)
{
    return json_string_value(json_object_get(t, "state"));
}

static int alive_of(json_t *t)
{
    return json_is_true(json_object_get(json_object_get(t, "ta"), "alive"));
}

static void test_expiry_sweep(void **state)
{
    (void)state;
    char soon[WARD_TASK_ID_HEX_LEN + 1], later[WARD_TASK_ID_HEX_LEN + 1];
    /* approval needs now < expires_at: 3 s leaves room for a slow (sanitizer) start */
    post_task((int64_t)time(NULL) + 3, soon);
    post_task((int64_t)time(NULL) + 3600, later);
    json_t *t = get_task(soon);
    assert_string_equal(state_of(t), "approved");
    assert_true(alive_of(t));
    json_decref(t);
    /* no request touches the task: only the sweep can expire it (up to 30 s on a busy host) */
    int done = 0;
    for (int i = 0; i < 300 && !done; i++) {
        tu_sleep_ms(100);
        char path[128];
        snprintf(path, sizeof path, "/v1/tasks/%s", later); /* another task only */
        tu_resp r = tu_wardd_request(&W, g_b.cert_path, g_b.key_path, "GET", path, NULL, 0);
        assert_int_equal(r.status, 200);
        free(r.body);
        if (i % 10 == 9) {
            t = get_task(soon);
            done = strcmp(state_of(t), "expired") == 0;
            json_decref(t);
        }
    }
    assert_true(done);
    t = get_task(soon);
    assert_string_equal(state_of(t), "expired");
    assert_false(alive_of(t)); /* the sweep destroyed its TA instance */
    json_decref(t);
    t = get_task(later);
    assert_string_equal(state_of(t), "approved");
    assert_true(alive_of(t));
    json_decref(t);
    /* an expired task takes no input */
    tu_resp r = tu_input_put(&W, &g_a, soon, "a", 0, 1, (const uint8_t *)"x", 1);
    tu_expect_error(&r, 409, "state");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_expiry_sweep),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
