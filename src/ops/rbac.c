/* Role-based access control over the identity database (ward/rbac.h, docs/security.md). */
#include <stdio.h>
#include <string.h>

#include "ops/identity_internal.h"
#include "ward/err.h"
#include "ward/rbac.h"

static ward_err bad_role_name(void)
{
    return ward_err_set(WARD_ERR_INVALID_ARG,
                        "invalid role name (1..64 of a-z 0-9 . _ - @, starting with a-z 0-9)");
}

static ward_err bad_perm_name(void)
{
    return ward_err_set(WARD_ERR_INVALID_ARG,
                        "invalid permission name (dot-separated parts of a-z 0-9 _ -, "
                        "at most 64 bytes)");
}

/* id of a row by name from roles (is_perm 0) or permissions (1); WARD_ERR_NOT_FOUND. */
static ward_err lookup(ward_identity *db, int is_perm, const char *name, int64_t *id)
{
    sqlite3_stmt *st;
    ward_err err = wid_prepare(db, is_perm ? "SELECT id FROM permissions WHERE name = ?1"
                                           : "SELECT id FROM roles WHERE name = ?1", &st);
    if (err)
        return err;
    wid_bind_text(st, 1, name);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *id = sqlite3_column_int64(st, 0);
    else if (rc == SQLITE_DONE)
        err = ward_err_set(WARD_ERR_NOT_FOUND, "no %s '%s'", is_perm ? "permission" : "role",
                           name);
    else
        err = wid_sql_err(db, "look up");
    sqlite3_finalize(st);
    return err;
}

/* ---- the check ------------------------------------------------------------------------------ */

static ward_err deny(ward_identity *db, const ward_principal *p, const char *perm,
                     const char *reason, const ward_auth_ctx *ctx)
{
    const char *actor = p ? wid_safe_name(p->name) : "";
    const char *method = p ? ward_auth_method_name(p->method) : "";
    const char *obj = ward_id_valid_perm_name(perm) ? perm : "(invalid)";
    wid_event(db, "rbac.check", method, actor, obj, 0, reason, ctx);
    return ward_err_set(WARD_ERR_PERMISSION, "permission denied: %s: %s", obj, reason);
}

ward_err ward_rbac_check(ward_identity *db, const ward_principal *p, const char *perm)
{
    return ward_rbac_check_ctx(db, p, perm, NULL);
}

ward_err ward_rbac_check_ctx(ward_identity *db, const ward_principal *p, const char *perm,
                             const ward_auth_ctx *ctx)
{
    if (db == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "rbac: NULL database");
    if (p == NULL || memchr(p->name, '\0', sizeof p->name) == NULL ||
        !ward_id_valid_name(p->name) || p->method == WARD_AUTH_NONE)
        return deny(db, NULL, perm, "no authenticated principal", ctx);
    if (!ward_id_valid_perm_name(perm))
        return deny(db, p, perm, "unknown permission", ctx);
    int64_t pid = 0, uid = 0;
    ward_err err = lookup(db, 1, perm, &pid);
    if (err == WARD_ERR_NOT_FOUND)
        return deny(db, p, perm, "unknown permission", ctx);
    if (err)
        return err;

    sqlite3_stmt *st;
    if ((err = wid_prepare(db, "SELECT id, disabled FROM users WHERE name = ?1", &st)))
        return err;
    wid_bind_text(st, 1, p->name);
    int rc = sqlite3_step(st);
    int disabled = 0;
    if (rc == SQLITE_ROW) {
        uid = sqlite3_column_int64(st, 0);
        disabled = sqlite3_column_int(st, 1);
    }
    sqlite3_finalize(st);
    if (rc == SQLITE_DONE)
        return deny(db, p, perm, "unknown user", ctx);
    if (rc != SQLITE_ROW)
        return wid_sql_err(db, "look up user");
    if (disabled)
        return deny(db, p, perm, "user disabled", ctx);

    /* Every role of the user that grants perm. */
    if ((err = wid_prepare(db, "SELECT r.name, r.sensitive FROM user_roles ur "
                               "JOIN roles r ON r.id = ur.role_id "
                               "JOIN role_permissions rp ON rp.role_id = r.id "
                               "WHERE ur.user_id = ?1 AND rp.perm_id = ?2 ORDER BY r.name",
                           &st)))
        return err;
    sqlite3_bind_int64(st, 1, uid);
    sqlite3_bind_int64(st, 2, pid);
    int allowed = 0;
    char sensitive_role[WARD_ID_NAME_MAX + 1] = "";
    while (!allowed && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *r = (const char *)sqlite3_column_text(st, 0);
        int sensitive = sqlite3_column_int(st, 1) != 0 ||
                        (r != NULL && strcmp(r, WARD_ROLE_ADMIN) == 0);
        if (!sensitive || p->strong)
            allowed = 1;
        else if (sensitive_role[0] == '\0')
            wid_copy(sensitive_role, sizeof sensitive_role, r);
    }
    if (!allowed && rc != SQLITE_ROW && rc != SQLITE_DONE)
        err = wid_sql_err(db, "read grants");
    sqlite3_finalize(st);
    if (err)
        return err;
    if (allowed)
        return WARD_OK;
    if (sensitive_role[0] != '\0') {
        char why[160];
        snprintf(why, sizeof why, "needs strong authentication (sensitive role %s)",
                 sensitive_role);
        return deny(db, p, perm, why, ctx);
    }
    return deny(db, p, perm, "not granted", ctx);
}

/* ---- roles ---------------------------------------------------------------------------------- */

ward_err ward_rbac_role_add(ward_identity *db, const char *role, const char *description,
                            int sensitive)
{
    if (db == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "rbac: NULL database");
    if (!ward_id_valid_name(role))
        return bad_role_name();
    if (!wid_valid_display(description))
        return ward_err_set(WARD_ERR_INVALID_ARG, "invalid role description");
    sqlite3_stmt *st;
    ward_err err = wid_prepare(db, "INSERT INTO roles(name, description, sensitive) "
                                   "VALUES (?1, ?2, ?3)", &st);
    if (err)
        return err;
    wid_bind_text(st, 1, role);
    wid_bind_text(st, 2, description ? description : "");
    sqlite3_bind_int(st, 3, sensitive ? 1 : 0);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc == SQLITE_CONSTRAINT_UNIQUE)
        return ward_err_set(WARD_ERR_EXISTS, "role '%s' exists", role);
    if (rc != SQLITE_DONE)
        return wid_sql_err(db, "add role");
    wid_event(db, "role.add", "", db->actor, role, 1, sensitive ? "sensitive" : "", NULL);
    return WARD_OK;
}

ward_err ward_rbac_role_delete(ward_identity *db, const char *role)
{
    if (db == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "rbac: NULL database");
    if (!ward_id_valid_name(role))
        return bad_role_name();
    if (strcmp(role, WARD_ROLE_ADMIN) == 0)
        return ward_err_set(WARD_ERR_STATE, "the admin role cannot be deleted");
    int64_t rid = 0;
    ward_err err = lookup(db, 0, role, &rid);
    if (err)
        return err;
    sqlite3_stmt *st;
    if ((err = wid_prepare(db, "SELECT count(*) FROM user_roles WHERE role_id = ?1", &st)))
        return err;
    sqlite3_bind_int64(st, 1, rid);
    int64_t users = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    if (users < 0)
        return wid_sql_err(db, "count role holders");
    if (users > 0)
        return ward_err_set(WARD_ERR_STATE, "role '%s' is held by %lld user(s); remove it from "
                            "them first", role, (long long)users);
    if ((err = wid_prepare(db, "DELETE FROM roles WHERE id = ?1", &st)))
        return err;
    sqlite3_bind_int64(st, 1, rid);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
        return ward_err_set(WARD_ERR_STATE, "role '%s' is in use", role);
    if (rc != SQLITE_DONE)
        return wid_sql_err(db, "delete role");
    wid_mgmt_event(db, "role.delete", role);
    return WARD_OK;
}

ward_err ward_rbac_role_set_sensitive(ward_identity *db, const char *role, int sensitive)
{
    if (db == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "rbac: NULL database");
    if (!ward_id_valid_name(role))
        return bad_role_name();
    if (!sensitive && strcmp(role, WARD_ROLE_ADMIN) == 0)
        return ward_err_set(WARD_ERR_PERMISSION, "the admin role is always sensitive");
    sqlite3_stmt *st;
    ward_err err = wid_prepare(db, "UPDATE roles SET sensitive = ?2 WHERE name = ?1", &st);
    if (err)
        return err;
    wid_bind_text(st, 1, role);
    sqlite3_bind_int(st, 2, sensitive ? 1 : 0);
    if ((err = wid_step_done(db, st, "set sensitive")))
        return err;
    if (sqlite3_changes(db->sql) != 1)
        return ward_err_set(WARD_ERR_NOT_FOUND, "no role '%s'", role);
    wid_event(db, "role.sensitive", "", db->actor, role, 1, sensitive ? "on" : "off", NULL);
    return WARD_OK;
}

/* ---- permissions ---------------------------------------------------------------------------- */

ward_err ward_rbac_perm_add(ward_identity *db, const char *perm, const char *description)
{
    if (db == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "rbac: NULL database");
    if (!ward_id_valid_perm_name(perm))
        return bad_perm_name();
    if (!wid_valid_display(description))
        return ward_err_set(WARD_ERR_INVALID_ARG, "invalid permission description");
    sqlite3_stmt *st;
    ward_err err = wid_prepare(db, "INSERT INTO permissions(name, description) VALUES (?1, ?2)",
                               &st);
    if (err)
        return err;
    wid_bind_text(st, 1, perm);
    wid_bind_text(st, 2, description ? description : "");
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc == SQLITE_CONSTRAINT_UNIQUE)
        return ward_err_set(WARD_ERR_EXISTS, "permission '%s' exists", perm);
    if (rc != SQLITE_DONE)
        return wid_sql_err(db, "add permission");
    wid_mgmt_event(db, "perm.add", perm);
    return WARD_OK;
}

static ward_err grant_or_revoke(ward_identity *db, const char *role, const char *perm,
                                int grant)
{
    if (db == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "rbac: NULL database");
    if (!ward_id_valid_name(role))
        return bad_role_name();
    if (!ward_id_valid_perm_name(perm))
        return bad_perm_name();
    int64_t rid = 0, pid = 0;
    ward_err err = lookup(db, 0, role, &rid);
    if (!err)
        err = lookup(db, 1, perm, &pid);
    if (err)
        return err;
    sqlite3_stmt *st;
    if ((err = wid_prepare(db, grant ? "INSERT OR IGNORE INTO role_permissions(role_id, perm_id) "
                                       "VALUES (?1, ?2)"
                                     : "DELETE FROM role_permissions "
                                       "WHERE role_id = ?1 AND perm_id = ?2", &st)))
        return err;
    sqlite3_bind_int64(st, 1, rid);
    sqlite3_bind_int64(st, 2, pid);
    if ((err = wid_step_done(db, st, grant ? "grant" : "revoke")))
        return err;
    wid_event(db, grant ? "role.grant" : "role.revoke", "", db->actor, role, 1, perm, NULL);
    return WARD_OK;
}

ward_err ward_rbac_grant(ward_identity *db, const char *role, const char *perm)
{
    return grant_or_revoke(db, role, perm, 1);
}

ward_err ward_rbac_revoke(ward_identity *db, const char *role, const char *perm)
{
    return grant_or_revoke(db, role, perm, 0);
}

/* ---- user-role assignment ------------------------------------------------------------------- */

ward_err ward_rbac_user_role_add(ward_identity *db, const char *user, const char *role)
{
    if (db == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "rbac: NULL database");
    if (!ward_id_valid_name(role))
        return bad_role_name();
    int64_t uid = 0, rid = 0;
    ward_err err = wid_user_id(db, user, &uid);
    if (!err)
        err = lookup(db, 0, role, &rid);
    if (err)
        return err;
    if ((err = wid_begin(db)))
        return err;
    sqlite3_stmt *st;
    if ((err = wid_prepare(db, "SELECT count(*), sum(role_id = ?2) FROM user_roles "
                               "WHERE user_id = ?1", &st)))
        goto fail;
    sqlite3_bind_int64(st, 1, uid);
    sqlite3_bind_int64(st, 2, rid);
    int64_t n = -1, has = 0;
    if (sqlite3_step(st) == SQLITE_ROW) {
        n = sqlite3_column_int64(st, 0);
        has = sqlite3_column_int64(st, 1);
    }
    sqlite3_finalize(st);
    if (n < 0) {
        err = wid_sql_err(db, "count roles");
        goto fail;
    }
    if (!has && n >= WARD_PRINCIPAL_MAX_ROLES) {
        err = ward_err_set(WARD_ERR_LIMIT, "a user has at most %d roles",
                           WARD_PRINCIPAL_MAX_ROLES);
        goto fail;
    }
    if ((err = wid_prepare(db, "INSERT OR IGNORE INTO user_roles(user_id, role_id) "
                               "VALUES (?1, ?2)", &st)))
        goto fail;
    sqlite3_bind_int64(st, 1, uid);
    sqlite3_bind_int64(st, 2, rid);
    if ((err = wid_step_done(db, st, "assign role")))
        goto fail;
    if ((err = wid_commit(db)))
        return err;
    wid_event(db, "user.role.add", "", db->actor, user, 1, role, NULL);
    return WARD_OK;
fail:
    wid_rollback(db);
    return err;
}

ward_err ward_rbac_user_role_remove(ward_identity *db, const char *user, const char *role)
{
    if (db == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "rbac: NULL database");
    if (!ward_id_valid_name(role))
        return bad_role_name();
    int64_t uid = 0, rid = 0;
    ward_err err = wid_user_id(db, user, &uid);
    if (!err)
        err = lookup(db, 0, role, &rid);
    if (err)
        return err;
    sqlite3_stmt *st;
    if ((err = wid_prepare(db, "DELETE FROM user_roles WHERE user_id = ?1 AND role_id = ?2",
                           &st)))
        return err;
    sqlite3_bind_int64(st, 1, uid);
    sqlite3_bind_int64(st, 2, rid);
    if ((err = wid_step_done(db, st, "remove role")))
        return err;
    wid_event(db, "user.role.remove", "", db->actor, user, 1, role, NULL);
    return WARD_OK;
}

/* ---- listings ------------------------------------------------------------------------------- */

/* Names from a one-column query bound with ?1 = id, appended to arr. */
static ward_err names_into(ward_identity *db, const char *sql, int64_t id, json_t *arr)
{
    sqlite3_stmt *st;
    ward_err err = wid_prepare(db, sql, &st);
    if (err)
        return err;
    sqlite3_bind_int64(st, 1, id);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *n = (const char *)sqlite3_column_text(st, 0);
        if (n && json_array_append_new(arr, json_string(n)) != 0) {
            err = ward_err_set(WARD_ERR_NOMEM, "rbac: out of memory");
            break;
        }
    }
    if (!err && rc != SQLITE_DONE)
        err = wid_sql_err(db, "list");
    sqlite3_finalize(st);
    return err;
}

static json_t *role_row(ward_identity *db, sqlite3_stmt *st, void *arg, ward_err *err)
{
    (void)arg;
    const char *name = (const char *)sqlite3_column_text(st, 1);
    int sensitive = sqlite3_column_int(st, 3) != 0 ||
                    (name != NULL && strcmp(name, WARD_ROLE_ADMIN) == 0);
    json_t *perms = json_array();
    json_t *r = json_pack("{s:s, s:s, s:b, s:b, s:o, s:I}", "name", name ? name : "",
                          "description", (const char *)sqlite3_column_text(st, 2), "sensitive",
                          sensitive, "builtin", sqlite3_column_int(st, 4), "permissions",
                          perms ? perms : json_array(), "users",
                          (json_int_t)sqlite3_column_int64(st, 5));
    if (r != NULL &&
        (*err = names_into(db, "SELECT p.name FROM role_permissions rp JOIN permissions p "
                               "ON p.id = rp.perm_id WHERE rp.role_id = ?1 ORDER BY p.name",
                           sqlite3_column_int64(st, 0), json_object_get(r, "permissions"))) !=
            WARD_OK) {
        json_decref(r);
        r = NULL;
    }
    return r;
}

ward_err ward_rbac_roles_json(ward_identity *db, json_t **out)
{
    if (db == NULL || out == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "rbac: NULL argument");
    return wid_rows_json(db, "SELECT r.id, r.name, r.description, r.sensitive, r.builtin, "
                             "(SELECT count(*) FROM user_roles ur WHERE ur.role_id = r.id) "
                             "FROM roles r ORDER BY r.name",
                         NULL, "list roles", role_row, NULL, out);
}

static json_t *perm_row(ward_identity *db, sqlite3_stmt *st, void *arg, ward_err *err)
{
    (void)arg;
    json_t *roles = json_array();
    json_t *p = json_pack("{s:s, s:s, s:o}", "name", (const char *)sqlite3_column_text(st, 1),
                          "description", (const char *)sqlite3_column_text(st, 2), "roles",
                          roles ? roles : json_array());
    if (p != NULL &&
        (*err = names_into(db, "SELECT r.name FROM role_permissions rp JOIN roles r "
                               "ON r.id = rp.role_id WHERE rp.perm_id = ?1 ORDER BY r.name",
                           sqlite3_column_int64(st, 0), json_object_get(p, "roles"))) !=
            WARD_OK) {
        json_decref(p);
        p = NULL;
    }
    return p;
}

ward_err ward_rbac_perms_json(ward_identity *db, json_t **out)
{
    if (db == NULL || out == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "rbac: NULL argument");
    return wid_rows_json(db, "SELECT id, name, description FROM permissions ORDER BY name",
                         NULL, "list permissions", perm_row, NULL, out);
}
