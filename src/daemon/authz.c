/* Who may call what (IEEE 2952 5.5.3, 5.5.5; docs/api.md "Authentication"): the node's identity
 * database, the table of the permission each endpoint needs, and the check made at dispatch
 * (server.c) before any handler runs, so that the handlers (tasks.c) keep only the task-level
 * rights of the manifest.
 *
 * The caller is its TLS client certificate: a self-signed participant certificate whose key is
 * mapped to a user, or a certificate issued by a CA the identity database trusts (tls.c checked
 * the chain, revocation and usage during the handshake; ward_identity_auth_cert checks them
 * again here, with the request's id in the audit record). Each protected request authenticates
 * afresh: a key unmapped or a user disabled takes effect at the next request, even on a
 * kept-alive connection. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/wardd.h"
#include "ward/alarm.h"
#include "ward/err.h"
#include "ward/identity.h"
#include "ward/log.h"
#include "ward/rbac.h"
#include "ward/rot.h"

/* Every endpoint, with its permission. "*" is one non-empty path segment. Public endpoints
 * (perm NULL) and why: /healthz answers probes that hold no account; the attestation service
 * exists for relying parties that are participants of nothing on this node, and reveals no
 * secret (a verdict is audited, and the challenge store is bounded). /metrics reveals the
 * node's activity (task counts by state, alarm counts): operators and auditors only. */
static const struct {
    const char *method, *pattern, *perm;
} table[] = {
    {"GET", "/healthz", NULL},
    {"POST", "/v1/attestation/challenge", NULL},
    {"POST", "/v1/attestation/verify", NULL},
    {"GET", "/v1/attestation/verifier-key", NULL},
    {"GET", "/metrics", "node.monitor"},
    {"POST", "/v1/tasks", "task.create"},
    {"GET", "/v1/tasks/*", "task.read"},
    {"POST", "/v1/tasks/*/signatures", "task.read"},
    {"PUT", "/v1/tasks/*/inputs/*", "data.upload"},
    {"POST", "/v1/tasks/*/run", "task.read"},
    {"GET", "/v1/tasks/*/result", "result.read"},
    {"GET", "/v1/tasks/*/result/data", "result.read"},
    {"POST", "/v1/tasks/*/cancel", "task.cancel"},
};

static int path_matches(const char *pattern, const char *path)
{
    while (*pattern != '\0') {
        if (*pattern == '*') {
            size_t n = strcspn(path, "/");
            if (n == 0)
                return 0;
            path += n;
            pattern++;
        } else if (*pattern++ != *path++) {
            return 0;
        }
    }
    return *path == '\0';
}

int wardd_route_permission(const char *method, const char *path, const char **perm)
{
    *perm = NULL;
    if (strcmp(method, "HEAD") == 0)
        method = "GET";
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        if (strcmp(table[i].method, method) == 0 && path_matches(table[i].pattern, path)) {
            *perm = table[i].perm;
            return 1;
        }
    }
    return 0;
}

/* Every identity event goes to the audit log (durably: fail closed); a failed authentication
 * also feeds the auth.failures alarm. */
static ward_err identity_hook(void *arg, const ward_identity_event *ev)
{
    wardd *d = arg;
    ward_err err = ward_identity_audit_to_log(d->audit, ev);
    if (!ev->success && strncmp(ev->action, "auth.", 5) == 0 && d->alarms != NULL) {
        ward_err saved = err;
        if (ward_alarms_auth_failure(d->alarms, ev->actor[0] ? ev->actor : NULL,
                                     ev->source[0] ? ev->source : NULL) != WARD_OK)
            ward_log(WARD_LOG_WARN, "alarm.failed", "error", ward_errmsg(), (char *)NULL);
        err = saved;
    }
    return err;
}

ward_err wardd_identity_open(wardd *d)
{
    uint8_t key[WARD_IDENTITY_KEY_LEN];
    ward_err err = ward_rot_derive(d->rot, WARD_IDENTITY_KEY_LABEL, NULL, 0, key, sizeof key);
    if (err == WARD_OK)
        err = ward_identity_open(d->data_dir, 1, key, &d->identity);
    ward_wipe(key, sizeof key);
    if (err != WARD_OK)
        return err;
    ward_identity_set_audit_hook(d->identity, identity_hook, d);
    ward_identity_set_actor(d->identity, "node");
    return WARD_OK;
}

void wardd_identity_close(wardd *d)
{
    ward_identity_close(d->identity);
    d->identity = NULL;
}

/* The address part of "ADDR:PORT": the per-address rate limit must not see a new key for each
 * connection's port. */
static void peer_address(const char *peer, char *out, size_t cap)
{
    snprintf(out, cap, "%s", peer);
    char *colon = strrchr(out, ':');
    if (colon != NULL)
        *colon = '\0';
}

static ward_err authenticate(wardd *d, wardd_req *r, const ward_auth_ctx *ctx, ward_principal *p)
{
    ward_cert *leaf = NULL;
    ward_cert **chain = NULL;
    size_t n = 0;
    int kind = wardd_tls_client_cert(r->req, &leaf, &chain, &n);
    ward_err err;
    if (kind == 1)
        err = ward_identity_auth_cert_key(d->identity, r->client, ctx, p);
    else if (kind == 0)
        err = ward_identity_auth_cert(d->identity, leaf, chain, n, ctx, p);
    else
        err = ward_err_set(WARD_ERR_AUTH, "authentication failed");
    ward_cert_free(leaf);
    if (chain != NULL)
        ward_cert_list_free(chain, n);
    return err;
}

int wardd_authorize(wardd *d, wardd_req *r, const char *perm)
{
    if (perm == NULL)
        return 0;
    if (!r->has_client) {
        wardd_reply_error(d, r, 401, "unauthenticated",
                          "this endpoint needs a client certificate (mutual TLS) whose key is "
                          "enrolled on this node: a self-signed P-256 certificate whose key is "
                          "your identity, or one issued by a CA the node trusts");
        return -1;
    }
    if (d->identity == NULL) {
        wardd_reply_error(d, r, 503, "unavailable", "the identity database is not open");
        return -1;
    }
    char addr[sizeof r->peer];
    peer_address(r->peer, addr, sizeof addr);
    ward_auth_ctx ctx = {.source = addr, .request_id = r->id};
    ward_principal p;
    ward_err err = authenticate(d, r, &ctx, &p);
    if (err == WARD_ERR_LIMIT) {
        wardd_reply_error(d, r, 429, "rate_limited", "%s", ward_errmsg());
        return -1;
    }
    if (err == WARD_ERR_AUTH) {
        /* The denial is recorded as such, besides the failed authentication. */
        (void)ward_rbac_check_ctx(d->identity, NULL, perm, &ctx);
        wardd_reply_error(d, r, 403, "forbidden",
                          "permission denied: %s: this client certificate is not enrolled on "
                          "this node (or its user is disabled)",
                          perm);
        return -1;
    }
    if (err != WARD_OK) {
        ward_log(WARD_LOG_ERROR, "authz.error", "request_id", r->id, "error", ward_errmsg(),
                 (char *)NULL);
        wardd_reply_error(d, r, 500, "internal", "authentication could not be completed");
        return -1;
    }
    err = ward_rbac_check_ctx(d->identity, &p, perm, &ctx);
    if (err == WARD_ERR_PERMISSION) {
        wardd_reply_error(d, r, 403, "forbidden", "%s", ward_errmsg());
        return -1;
    }
    if (err != WARD_OK) {
        ward_log(WARD_LOG_ERROR, "authz.error", "request_id", r->id, "error", ward_errmsg(),
                 (char *)NULL);
        wardd_reply_error(d, r, 500, "internal", "the permission check could not be completed");
        return -1;
    }
    return 0;
}
