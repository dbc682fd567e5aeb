/* Role-based access control (IEEE 2952 5.5.5; issue 8; docs/security.md "Roles and
 * permissions"). Roles and permissions are data in the identity database (ward/identity.h):
 * a permission is a name ("task.create"), a role is a named set of permissions, a user holds
 * roles. Least privilege: a new user has no role, a new role no permission, and anything not
 * granted is denied -- an unknown permission included.
 *
 * Sensitive roles: a permission that a principal holds only through sensitive roles is granted
 * only to a strongly authenticated principal (two factors, or hardware attestation). The admin
 * role is always sensitive.
 *
 * Default data (created with the database; change it with the functions below):
 *   permissions  task.create task.read task.cancel data.upload result.read ta.register ta.read
 *                key.release audit.read audit.export node.operate node.monitor user.manage
 *                role.manage
 *   roles        admin (sensitive: every default permission), operator (sensitive),
 *                data-provider, result-consumer, auditor -- the table is in docs/security.md. */
#ifndef WARD_RBAC_H
#define WARD_RBAC_H

#include <stddef.h>

#include <jansson.h>

#include "ward/err.h"
#include "ward/identity.h"

#ifdef __cplusplus
extern "C" {
#endif

#define WARD_ROLE_ADMIN "admin"

/* WARD_OK if the principal may use perm now; otherwise WARD_ERR_PERMISSION with the reason in
 * ward_errmsg() ("permission denied: PERM: not granted", "... needs strong authentication
 * (sensitive role ROLE)", "... unknown permission", "... user disabled"), and the denial goes
 * to the audit hook. Reads the user's current roles and disabled flag from the database.
 * Operational failures (I/O) are other codes: treat any non-OK as a denial. */
ward_err ward_rbac_check(ward_identity *db, const ward_principal *p, const char *perm);
/* The same, with the request's context (source address, request id) in the denial's audit
 * record, so that it can be matched with the request; ctx may be NULL. p NULL (a caller that
 * could not be authenticated) is a denial, "no authenticated principal". */
ward_err ward_rbac_check_ctx(ward_identity *db, const ward_principal *p, const char *perm,
                             const ward_auth_ctx *ctx);

/* ---- roles ----------------------------------------------------------------------------------- */

/* description may be NULL (at most WARD_ID_DISPLAY_MAX bytes). WARD_ERR_EXISTS if present. */
ward_err ward_rbac_role_add(ward_identity *db, const char *role, const char *description,
                            int sensitive);
/* Refused (WARD_ERR_STATE) for admin and for a role some user still holds. */
ward_err ward_rbac_role_delete(ward_identity *db, const char *role);
/* admin cannot be made non-sensitive (WARD_ERR_PERMISSION). */
ward_err ward_rbac_role_set_sensitive(ward_identity *db, const char *role, int sensitive);

/* ---- permissions ----------------------------------------------------------------------------- */

/* A new permission name for an extension; granted to nobody. WARD_ERR_EXISTS if present. */
ward_err ward_rbac_perm_add(ward_identity *db, const char *perm, const char *description);
/* Idempotent; WARD_ERR_NOT_FOUND for an unknown role or permission. */
ward_err ward_rbac_grant(ward_identity *db, const char *role, const char *perm);
ward_err ward_rbac_revoke(ward_identity *db, const char *role, const char *perm);

/* ---- user-role assignment -------------------------------------------------------------------- */

/* Idempotent; WARD_ERR_NOT_FOUND for an unknown user or role; WARD_ERR_LIMIT past
 * WARD_PRINCIPAL_MAX_ROLES. */
ward_err ward_rbac_user_role_add(ward_identity *db, const char *user, const char *role);
ward_err ward_rbac_user_role_remove(ward_identity *db, const char *user, const char *role);

/* ---- listings -------------------------------------------------------------------------------- */

/* JSON array {name, description, sensitive, builtin, permissions [..], users (count)}. */
ward_err ward_rbac_roles_json(ward_identity *db, json_t **out);
/* JSON array {name, description, roles [..]}. */
ward_err ward_rbac_perms_json(ward_identity *db, json_t **out);

#ifdef __cplusplus
}
#endif
#endif
