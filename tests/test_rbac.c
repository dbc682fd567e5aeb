/* Role-based access control: the documented default roles and permissions, least privilege,
 * unknown permissions, sensitive roles and admin needing strong authentication (TOTP or
 * hardware attestation), decisions read afresh from the database (disabled users, roles taken
 * away), role and permission management with its refusals, and denials reaching the audit hook.
 * Clock injected; Argon2 at its minimum cost. */
#include "testutil.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ward/crypto.h"
#include "ward/err.h"
#include "ward/identity.h"
#include "ward/log.h"
#include "ward/rbac.h"

#define CHECK_OK(expr)                                                                        \
    do {                                                                                      \
        ward_err e_ = (expr);                                                                 \
        if (e_ != WARD_OK)                                                                    \
            fail_msg("%s failed: %s: %s", #expr, ward_err_name(e_), ward_errmsg());          \
    } while (0)

#define T0 INT64_C(1800000000)
#define PW "correct horse battery"

typedef struct fixture {
    char *dir;
    ward_identity *db;
    int64_t now;
    size_t denials;
    char last_action[32], last_object[80], last_reason[200], last_actor[80];
} fixture;

static int64_t test_clock(void *arg)
{
    return ((fixture *)arg)->now;
}

static ward_err hook(void *arg, const ward_identity_event *e)
{
    fixture *f = arg;
    snprintf(f->last_action, sizeof f->last_action, "%s", e->action);
    snprintf(f->last_object, sizeof f->last_object, "%s", e->object);
    snprintf(f->last_reason, sizeof f->last_reason, "%s", e->reason);
    snprintf(f->last_actor, sizeof f->last_actor, "%s", e->actor);
    if (strcmp(e->action, "rbac.check") == 0 && !e->success)
        f->denials++;
    return WARD_OK;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->dir = tu_mkdtemp();
    f->now = T0;
    CHECK_OK(ward_identity_open(f->dir, 1, NULL, &f->db));
    ward_identity_set_clock(f->db, test_clock, f);
    ward_identity_set_audit_hook(f->db, hook, f);
    ward_identity_settings s;
    CHECK_OK(ward_identity_get_settings(f->db, &s));
    s.argon2_t = 1;
    s.argon2_m_kib = 8;
    CHECK_OK(ward_identity_set_settings(f->db, &s));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    ward_identity_close(f->db);
    tu_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static void add_user(fixture *f, const char *name, const char *role)
{
    const char *roles[1] = {role};
    CHECK_OK(ward_identity_user_add(f->db, name, NULL, PW, strlen(PW), roles, role ? 1 : 0));
}

/* Password login without a second factor. */
static ward_principal login(fixture *f, const char *name)
{
    ward_principal p;
    CHECK_OK(ward_identity_auth_password(f->db, name, PW, strlen(PW), NULL, &p));
    return p;
}

/* Enrols TOTP and logs in with password + code: a strong principal. */
static ward_principal login_2fa(fixture *f, const char *name)
{
    char *b32 = NULL, *uri = NULL;
    CHECK_OK(ward_identity_totp_enroll(f->db, name, &b32, &uri));
    uint8_t *secret = NULL;
    size_t len = 0;
    CHECK_OK(ward_base32_decode(b32, strlen(b32), &secret, &len));
    uint32_t c = 0;
    char code[8];
    CHECK_OK(ward_totp(WARD_TOTP_SHA1, secret, len, f->now, 30, 6, &c));
    snprintf(code, sizeof code, "%06u", c);
    CHECK_OK(ward_identity_totp_confirm(f->db, name, code));
    f->now += 30;
    CHECK_OK(ward_totp(WARD_TOTP_SHA1, secret, len, f->now, 30, 6, &c));
    snprintf(code, sizeof code, "%06u", c);
    ward_auth_ctx ctx = {.totp = code};
    ward_principal p;
    CHECK_OK(ward_identity_auth_password(f->db, name, PW, strlen(PW), &ctx, &p));
    assert_int_equal(p.strong, 1);
    free(secret);
    free(b32);
    free(uri);
    return p;
}

static void allowed(fixture *f, const ward_principal *p, const char *perm)
{
    ward_err e = ward_rbac_check(f->db, p, perm);
    if (e != WARD_OK)
        fail_msg("%s should be allowed %s: %s", p->name, perm, ward_errmsg());
}

static void denied(fixture *f, const ward_principal *p, const char *perm, const char *why)
{
    size_t before = f->denials;
    ward_err e = ward_rbac_check(f->db, p, perm);
    if (e != WARD_ERR_PERMISSION)
        fail_msg("%s should be denied %s (%s), got %s: %s", p ? p->name : "(null)", perm, why,
                 ward_err_name(e), ward_errmsg());
    assert_non_null(strstr(ward_errmsg(), "permission denied"));
    if (strstr(ward_errmsg(), why) == NULL)
        fail_msg("\"%s\" does not say \"%s\"", ward_errmsg(), why);
    /* Every denial is an audit event. */
    assert_int_equal(f->denials, before + 1);
    assert_string_equal(f->last_action, "rbac.check");
    assert_non_null(strstr(f->last_reason, why));
}

/* The default data, as docs/security.md documents it. */
static void test_defaults(void **state)
{
    fixture *f = *state;
    static const struct {
        const char *role;
        int sensitive;
        const char *perms;
    } want[] = {
        {"admin", 1,
         "audit.export audit.read data.upload key.release node.monitor node.operate result.read "
         "role.manage ta.read ta.register task.cancel task.create task.read user.manage"},
        {"auditor", 0, "audit.export audit.read node.monitor task.read"},
        {"data-provider", 0, "data.upload ta.read task.cancel task.create task.read"},
        {"operator", 1, "node.monitor node.operate ta.read ta.register task.read"},
        {"result-consumer", 0, "result.read task.cancel task.create task.read"},
    };
    json_t *roles = NULL;
    CHECK_OK(ward_rbac_roles_json(f->db, &roles));
    assert_int_equal(json_array_size(roles), sizeof want / sizeof want[0]);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        json_t *r = json_array_get(roles, i);
        assert_string_equal(json_string_value(json_object_get(r, "name")), want[i].role);
        assert_int_equal(json_is_true(json_object_get(r, "sensitive")), want[i].sensitive);
        assert_true(json_is_true(json_object_get(r, "builtin")));
        char got[512] = "";
        size_t k;
        json_t *p;
        json_array_foreach(json_object_get(r, "permissions"), k, p) {
            if (got[0])
                strcat(got, " ");
            strcat(got, json_string_value(p));
        }
        assert_string_equal(got, want[i].perms);
    }
    json_decref(roles);
    json_t *perms = NULL;
    CHECK_OK(ward_rbac_perms_json(f->db, &perms));
    assert_int_equal(json_array_size(perms), 14);
    json_decref(perms);
}

static void test_least_privilege(void **state)
{
    fixture *f = *state;
    add_user(f, "newbie", NULL);
    ward_principal p = login(f, "newbie");
    static const char *const all[] = {"task.create", "task.read", "audit.read", "user.manage",
                                      "node.operate", "key.release"};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        denied(f, &p, all[i], "not granted");
    assert_string_equal(f->last_actor, "newbie");
}

static void test_role_permissions(void **state)
{
    fixture *f = *state;
    add_user(f, "dp", "data-provider");
    add_user(f, "rc", "result-consumer");
    add_user(f, "aud", "auditor");
    ward_principal dp = login(f, "dp"), rc = login(f, "rc"), aud = login(f, "aud");
    allowed(f, &dp, "task.create");
    allowed(f, &dp, "data.upload");
    denied(f, &dp, "result.read", "not granted");
    denied(f, &dp, "user.manage", "not granted");
    allowed(f, &rc, "result.read");
    /* An analyst proposes a query (every party still signs the manifest)... */
    allowed(f, &rc, "task.create");
    /* ... but provides no data. */
    denied(f, &rc, "data.upload", "not granted");
    allowed(f, &aud, "audit.read");
    allowed(f, &aud, "audit.export");
    denied(f, &aud, "audit.delete", "unknown permission");
    denied(f, &aud, "ta.register", "not granted");
}

static void test_unknown_permission(void **state)
{
    fixture *f = *state;
    add_user(f, "root", "admin");
    ward_principal p = login_2fa(f, "root");
    allowed(f, &p, "user.manage");
    /* Even admin, strongly authenticated, is denied what does not exist. */
    denied(f, &p, "task.delete", "unknown permission");
    denied(f, &p, "", "unknown permission");
    denied(f, &p, "*", "unknown permission");
    denied(f, &p, "task.*", "unknown permission");
    denied(f, &p, "Task.Create", "unknown permission");
    denied(f, &p, "task.create'; --", "unknown permission");
    denied(f, &p, NULL, "unknown permission");
    assert_string_equal(f->last_object, "(invalid)");
    /* Once added (as data), it exists but nobody holds it until granted. */
    CHECK_OK(ward_rbac_perm_add(f->db, "task.delete", "delete a finished task"));
    assert_int_equal(ward_rbac_perm_add(f->db, "task.delete", NULL), WARD_ERR_EXISTS);
    assert_int_equal(ward_rbac_perm_add(f->db, "bad perm", NULL), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_rbac_perm_add(f->db, "task..x", NULL), WARD_ERR_INVALID_ARG);
    denied(f, &p, "task.delete", "not granted");
    CHECK_OK(ward_rbac_grant(f->db, "admin", "task.delete"));
    allowed(f, &p, "task.delete");
}

static void test_admin_needs_2fa(void **state)
{
    fixture *f = *state;
    add_user(f, "root", "admin");
    ward_principal weak = login(f, "root");
    assert_int_equal(weak.strong, 0);
    denied(f, &weak, "user.manage", "needs strong authentication (sensitive role admin)");
    denied(f, &weak, "task.read", "sensitive role admin");
    /* The admin role cannot be made non-sensitive. */
    assert_int_equal(ward_rbac_role_set_sensitive(f->db, "admin", 0), WARD_ERR_PERMISSION);
    ward_principal strong = login_2fa(f, "root");
    allowed(f, &strong, "user.manage");
    allowed(f, &strong, "role.manage");
    /* A forged flag does not help a principal that is not in the database. */
    ward_principal forged = strong;
    snprintf(forged.name, sizeof forged.name, "%s", "ghost");
    denied(f, &forged, "user.manage", "unknown user");
    /* A principal that was never authenticated. */
    ward_principal none;
    memset(&none, 0, sizeof none);
    snprintf(none.name, sizeof none.name, "%s", "root");
    denied(f, &none, "user.manage", "no authenticated principal");
    denied(f, NULL, "user.manage", "no authenticated principal");
}

static void test_sensitive_role(void **state)
{
    fixture *f = *state;
    CHECK_OK(ward_rbac_role_add(f->db, "kms-client", "fetches released keys", 1));
    assert_string_equal(f->last_action, "role.add");
    CHECK_OK(ward_rbac_grant(f->db, "kms-client", "key.release"));
    CHECK_OK(ward_rbac_grant(f->db, "kms-client", "key.release")); /* idempotent */
    add_user(f, "kms", "kms-client");
    ward_principal weak = login(f, "kms");
    denied(f, &weak, "key.release", "sensitive role kms-client");
    ward_principal strong = login_2fa(f, "kms");
    allowed(f, &strong, "key.release");
    /* The configuration may turn it off... */
    CHECK_OK(ward_rbac_role_set_sensitive(f->db, "kms-client", 0));
    allowed(f, &weak, "key.release");
    /* ...and on again. */
    CHECK_OK(ward_rbac_role_set_sensitive(f->db, "kms-client", 1));
    denied(f, &weak, "key.release", "sensitive");
    /* A permission held through a non-sensitive role as well needs no second factor. */
    CHECK_OK(ward_rbac_user_role_add(f->db, "kms", "auditor"));
    CHECK_OK(ward_rbac_grant(f->db, "kms-client", "audit.read"));
    allowed(f, &weak, "audit.read");
    /* Operator is sensitive by default. */
    add_user(f, "op", "operator");
    ward_principal op = login(f, "op");
    denied(f, &op, "node.operate", "sensitive role operator");
}

static void test_hardware_attestation_is_strong(void **state)
{
    fixture *f = *state;
    const char *roles[] = {"operator"};
    CHECK_OK(ward_identity_user_add(f->db, "node-7", NULL, NULL, 0, roles, 1));
    ward_attest_binding b;
    memset(&b, 0, sizeof b);
    b.measurement_len = 48;
    memset(b.measurement, 0x42, 48);
    CHECK_OK(ward_identity_attest_bind(f->db, "node-7", &b));
    ward_claims c;
    memset(&c, 0, sizeof c);
    c.measurement_len = 48;
    memset(c.measurement, 0x42, 48);
    ward_principal p;
    c.kind = WARD_TEE_KIND_TDX;
    CHECK_OK(ward_identity_auth_attestation(f->db, &c, "node-7", NULL, &p));
    allowed(f, &p, "node.operate");
    /* The software TEE is not hardware-based: not strong. */
    c.kind = WARD_TEE_KIND_WARD_SW;
    CHECK_OK(ward_identity_auth_attestation(f->db, &c, "node-7", NULL, &p));
    denied(f, &p, "node.operate", "needs strong authentication");
}

static void test_decisions_read_afresh(void **state)
{
    fixture *f = *state;
    add_user(f, "dp", "data-provider");
    ward_principal p = login(f, "dp");
    allowed(f, &p, "task.create");
    /* A role taken away after login. */
    CHECK_OK(ward_rbac_user_role_remove(f->db, "dp", "data-provider"));
    assert_string_equal(f->last_action, "user.role.remove");
    denied(f, &p, "task.create", "not granted");
    CHECK_OK(ward_rbac_user_role_add(f->db, "dp", "data-provider"));
    allowed(f, &p, "task.create");
    /* A permission revoked from the role. */
    CHECK_OK(ward_rbac_revoke(f->db, "data-provider", "task.create"));
    assert_string_equal(f->last_action, "role.revoke");
    denied(f, &p, "task.create", "not granted");
    CHECK_OK(ward_rbac_grant(f->db, "data-provider", "task.create"));
    /* A user disabled after login. */
    CHECK_OK(ward_identity_user_set_disabled(f->db, "dp", 1));
    denied(f, &p, "task.create", "user disabled");
}

static void test_role_management(void **state)
{
    fixture *f = *state;
    assert_int_equal(ward_rbac_role_add(f->db, "auditor", NULL, 0), WARD_ERR_EXISTS);
    assert_int_equal(ward_rbac_role_add(f->db, "Bad Role", NULL, 0), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_rbac_role_add(f->db, "ok", "tab\there", 0), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_rbac_role_delete(f->db, "admin"), WARD_ERR_STATE);
    assert_int_equal(ward_rbac_role_delete(f->db, "no-such"), WARD_ERR_NOT_FOUND);
    add_user(f, "aud", "auditor");
    assert_int_equal(ward_rbac_role_delete(f->db, "auditor"), WARD_ERR_STATE);
    assert_non_null(strstr(ward_errmsg(), "held by 1 user"));
    CHECK_OK(ward_rbac_user_role_remove(f->db, "aud", "auditor"));
    CHECK_OK(ward_rbac_role_delete(f->db, "auditor"));
    assert_string_equal(f->last_action, "role.delete");
    assert_int_equal(ward_rbac_user_role_add(f->db, "aud", "auditor"), WARD_ERR_NOT_FOUND);
    assert_int_equal(ward_rbac_user_role_add(f->db, "nobody", "operator"), WARD_ERR_NOT_FOUND);
    assert_int_equal(ward_rbac_grant(f->db, "operator", "no.such"), WARD_ERR_NOT_FOUND);
    assert_int_equal(ward_rbac_grant(f->db, "no-such", "task.read"), WARD_ERR_NOT_FOUND);
    assert_int_equal(ward_rbac_role_set_sensitive(f->db, "no-such", 1), WARD_ERR_NOT_FOUND);
    /* At most WARD_PRINCIPAL_MAX_ROLES roles per user. */
    for (int i = 0; i < WARD_PRINCIPAL_MAX_ROLES; i++) {
        char name[16];
        snprintf(name, sizeof name, "r%d", i);
        CHECK_OK(ward_rbac_role_add(f->db, name, NULL, 0));
        CHECK_OK(ward_rbac_user_role_add(f->db, "aud", name));
    }
    CHECK_OK(ward_rbac_user_role_add(f->db, "aud", "r0")); /* already held: fine */
    assert_int_equal(ward_rbac_user_role_add(f->db, "aud", "operator"), WARD_ERR_LIMIT);
    ward_principal p = login(f, "aud");
    assert_int_equal(p.n_roles, WARD_PRINCIPAL_MAX_ROLES);
    /* A role deleted cascades its grants away. */
    CHECK_OK(ward_rbac_role_add(f->db, "temp", NULL, 0));
    CHECK_OK(ward_rbac_grant(f->db, "temp", "task.read"));
    CHECK_OK(ward_rbac_role_delete(f->db, "temp"));
    json_t *perms = NULL;
    CHECK_OK(ward_rbac_perms_json(f->db, &perms));
    size_t i;
    json_t *pm;
    json_array_foreach(perms, i, pm) {
        size_t k;
        json_t *r;
        json_array_foreach(json_object_get(pm, "roles"), k, r)
            assert_string_not_equal(json_string_value(r), "temp");
    }
    json_decref(perms);
}

int main(void)
{
    ward_log_set_level(WARD_LOG_WARN); /* denials are logged at info: keep the output short */
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_defaults),
        T(test_least_privilege),
        T(test_role_permissions),
        T(test_unknown_permission),
        T(test_admin_needs_2fa),
        T(test_sensitive_role),
        T(test_hardware_attestation_is_strong),
        T(test_decisions_read_afresh),
        T(test_role_management),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
