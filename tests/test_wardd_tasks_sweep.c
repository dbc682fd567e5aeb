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
    uint8_t rid[16];
    assert_int_equal(ward_random(rid, sizeof rid), WARD_OK);
    for (size_t i = 0; i < sizeof rid; i++)
        snprintf(id + 2 * i, 3, "%02x", rid[i]);
    char x[65];
    for (size_t i = 0; i < 32; i++)
        snprintf(x + 2 * i, 3, "%02x", g_xpk[i]);
    json_t *j = json_pack("{s:i, s:s, s:s, s:{s:s}, s:{s:s}, s:[{s:s, s:s, s:i}, {s:s, s:s, "
                          "s:i}], s:[{s:s, s:s}], s:I, s:s}",
                          "version", 1, "task_id", id, "creator", g_a.spki_b64, "function",
                          "builtin", "sql", "params", "query", "SELECT 1", "inputs", "slot", "a",
                          "owner", g_a.spki_b64, "max_bytes", 1 << 20, "slot", "b", "owner",
                          g_b.spki_b64, "max_bytes", 1 << 20, "recipients", "identity",
                          g_analyst.spki_b64, "x25519", x, "expires_at", (json_int_t)expires,
                          "retention", "delete-on-done");
    assert_non_null(j);
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    ward_task_manifest *m = NULL;
    assert_int_equal(ward_task_manifest_parse(text, strlen(text), &m), WARD_OK);
    free(text);
    assert_int_equal(ward_task_sign(m, g_a.key), WARD_OK);
    assert_int_equal(ward_task_sign(m, g_b.key), WARD_OK);
    assert_int_equal(ward_task_sign(m, g_analyst.key), WARD_OK);
    char *env = NULL;
    size_t el = 0;
    assert_int_equal(ward_task_envelope_serialize(m, &env, &el), WARD_OK);
    ward_task_manifest_free(m);
    tu_resp r = tu_wardd_request(&W, g_a.cert_path, g_a.key_path, "POST", "/v1/tasks", env, el);
    free(env);
    if (r.status != 201)
        fprintf(stderr, "POST: %ld %s\n", r.status, r.body);
    assert_int_equal(r.status, 201);
    json_t *t = tu_resp_json(&r);
    assert_string_equal(json_string_value(json_object_get(t, "state")), "approved");
    json_decref(t);
    free(r.body);
}

static json_t *get_task(const char *id)
{
    char path[128];
    snprintf(path, sizeof path, "/v1/tasks/%s", id);
    tu_resp r = tu_wardd_request(&W, g_b.cert_path, g_b.key_path, "GET", path, NULL, 0);
    assert_int_equal(r.status, 200);
    json_t *j = tu_resp_json(&r);
    free(r.body);
    return j;
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
    char path[160];
    snprintf(path, sizeof path, "/v1/tasks/%s/inputs/a?offset=0&final=1", soon);
    tu_resp r = tu_wardd_request(&W, g_a.cert_path, g_a.key_path, "PUT", path, "x", 1);
    tu_expect_error(&r, 409, "state");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_expiry_sweep),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
