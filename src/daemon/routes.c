/* wardd's endpoints: /healthz, /metrics and the attestation service (docs/api.md).
 *
 * The attestation endpoints are public (no client authentication): relying parties that are not
 * participants of any task need them, and they reveal nothing secret. They change only the
 * in-memory nonce store; verdicts are audit records. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/wardd.h"
#include "ward/audit.h"
#include "ward/claims.h"
#include "ward/ear.h"
#include "ward/encoding.h"
#include "ward/err.h"
#include "ward/evidence.h"
#include "ward/json.h"
#include "ward/log.h"
#include "ward/nonce.h"
#include "ward/policy.h"

void wardd_route_healthz(wardd *d, wardd_req *r)
{
    static const char body[] = "{\"status\":\"ok\"}\n";
    wardd_reply_text(d, r, 200, "application/json", body, sizeof body - 1);
}

void wardd_route_prom(wardd *d, wardd_req *r)
{
    char *text = NULL;
    size_t len = 0;
    d->metrics.have_tasks =
        d->tasks != NULL && ward_task_store_count(d->tasks, d->metrics.tasks) == WARD_OK;
    d->metrics.ta_instances = wardd_tasks_live(d);
    if (wardd_metrics_render(&d->metrics, &text, &len) != 0) {
        wardd_reply_error(d, r, 500, "internal", "cannot render the metrics");
        return;
    }
    wardd_reply_text(d, r, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
    free(text);
}

void wardd_route_verifier_key(wardd *d, wardd_req *r)
{
    size_t n = strlen(d->verifier_jwk);
    wardd_reply_text(d, r, 200, "application/jwk+json", d->verifier_jwk, n);
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + (int64_t)ts.tv_nsec / 1000000;
}

/* The body of a route that takes no input: empty, or a JSON object (ignored members are not
 * allowed: there are none yet). Replies itself and returns -1 if it is anything else. */
static int empty_body(wardd *d, wardd_req *r)
{
    size_t len = 0;
    char *b = wardd_body(d, r, WARDD_SMALL_BODY, &len);
    if (b == NULL)
        return -1;
    int rc = 0;
    if (len > 0) {
        json_t *j = NULL;
        if (ward_json_parse(b, len, &j) != WARD_OK) {
            wardd_reply_error(d, r, 400, "bad_json", "%s", ward_errmsg());
            rc = -1;
        } else if (!json_is_object(j) || json_object_size(j) != 0) {
            wardd_reply_error(d, r, 400, "bad_request", "the body must be empty or {}");
            rc = -1;
        }
        json_decref(j);
    }
    free(b);
    return rc;
}

void wardd_route_challenge(wardd *d, wardd_req *r)
{
    if (empty_body(d, r) != 0)
        return;
    uint8_t nonce[WARD_NONCE_LEN];
    int64_t exp_mono = 0;
    ward_err err = ward_nonce_issue(d->nonces, nonce, &exp_mono);
    if (err == WARD_ERR_LIMIT) {
        wardd_reply_error(d, r, 503, "unavailable", "too many outstanding challenges; retry later");
        return;
    }
    if (err != WARD_OK) {
        wardd_reply_error(d, r, 500, "internal", "cannot issue a nonce");
        return;
    }
    int64_t left_ms = exp_mono - mono_ms();
    if (left_ms < 0)
        left_ms = 0;
    int64_t expires_at = (int64_t)time(NULL) + left_ms / 1000;
    char hex[2 * WARD_NONCE_LEN + 1];
    for (size_t i = 0; i < sizeof nonce; i++)
        snprintf(hex + 2 * i, 3, "%02x", nonce[i]);
    json_t *o = json_pack("{s:s, s:I}", "nonce", hex, "expires_at", (json_int_t)expires_at);
    wardd_reply_json(d, r, 200, o);
}

/* ---- verify ---------------------------------------------------------------------------------- */

typedef struct anchors {
    uint8_t (*pinned)[WARD_SHA256_LEN];
    size_t n_pinned;
    ward_cert **cas;
    size_t n_cas;
} anchors;

static void anchors_free(anchors *a)
{
    free(a->pinned);
    for (size_t i = 0; i < a->n_cas; i++)
        ward_cert_free(a->cas[i]);
    free(a->cas);
}

/* The node's own platform certificate (pinned: the node vouches for its own key) and the
 * policy's software-TEE anchors. */
static ward_err anchors_load(anchors *a, const wardd *d, const ward_policy *p)
{
    size_t np = ward_policy_sw_pinned_count(p), nc = ward_policy_sw_ca_count(p);
    a->pinned = calloc(np + 1, sizeof *a->pinned);
    a->cas = nc > 0 ? calloc(nc, sizeof *a->cas) : NULL;
    if (a->pinned == NULL || (nc > 0 && a->cas == NULL))
        return ward_err_set(WARD_ERR_NOMEM, "out of memory");
    memcpy(a->pinned[a->n_pinned++], d->platform_cert_fp, WARD_SHA256_LEN);
    for (size_t i = 0; i < np; i++)
        memcpy(a->pinned[a->n_pinned++], ward_policy_sw_pinned(p, i), WARD_SHA256_LEN);
    for (size_t i = 0; i < nc; i++) {
        size_t len = 0;
        const char *pem = ward_policy_sw_ca_pem(p, i, &len);
        ward_err err = ward_cert_from_pem(pem, len, &a->cas[a->n_cas]);
        if (err != WARD_OK)
            return err;
        a->n_cas++;
    }
    return WARD_OK;
}

static void hex_of(const uint8_t *b, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
}

/* An audit record for a verdict (asynchronous: the verdict does not wait for the disk). */
static void audit_verdict(wardd *d, wardd_req *r, const char *object, const char *result,
                          const char *reason)
{
    if (d->audit == NULL)
        return;
    json_t *det = json_pack("{s:s, s:s}", "result", result, "peer", r->peer);
    if (det != NULL && reason != NULL) {
        json_t *s = json_string(reason);
        if (s != NULL)
            json_object_set_new(det, "reason", s);
    }
    char *details = det != NULL ? json_dumps(det, JSON_COMPACT) : NULL;
    json_decref(det);
    ward_audit_record rec = {
        .actor = "anonymous",
        .auth_method = "none",
        .action = "attestation.verify",
        .object = object,
        .outcome = strcmp(result, "refused") == 0 || strcmp(result, "contraindicated") == 0
                       ? WARD_AUDIT_FAILURE
                       : WARD_AUDIT_SUCCESS,
        .request_id = r->id,
        .details = details,
    };
    if (ward_audit_append_async(d->audit, &rec, NULL) != WARD_OK)
        ward_log(WARD_LOG_ERROR, "audit.append", "request_id", r->id, "error", ward_errmsg(),
                 (char *)NULL);
    free(details);
}

static void refuse(wardd *d, wardd_req *r, const char *code, const char *object,
                   const char *reason)
{
    wardd_metrics_verdict(&d->metrics, WARDD_VERDICT_REFUSED);
    audit_verdict(d, r, object, "refused", reason);
    if (d->alarms != NULL) {
        /* Nothing verified names a platform: the subject is the client's address (no port). */
        char subject[80];
        snprintf(subject, sizeof subject, "peer:%s", r->peer);
        char *colon = strrchr(subject, ':');
        if (colon != NULL && colon > subject + 4)
            *colon = 0;
        ward_alarms_attestation_failure(d->alarms, subject, reason);
    }
    ward_log(WARD_LOG_WARN, "attestation.refused", "request_id", r->id, "peer", r->peer,
             "reason", reason, (char *)NULL);
    wardd_reply_error(d, r, 422, code, "%s", reason);
}

typedef struct verify_in {
    json_t *root;
    char *evidence; /* JSON text */
    size_t evidence_len;
    uint8_t *nonce;
    size_t nonce_len;
    ward_policy *policy; /* inline, or NULL */
} verify_in;

static void verify_in_free(verify_in *in)
{
    json_decref(in->root);
    free(in->evidence);
    free(in->nonce);
    ward_policy_free(in->policy);
}

/* Parses and checks the request. Replies itself (400/413/500) and returns -1 on failure. */
static int verify_parse(wardd *d, wardd_req *r, verify_in *in)
{
    size_t len = 0;
    char *body = wardd_body(d, r, WARDD_MAX_BODY, &len);
    if (body == NULL)
        return -1;
    ward_err err = ward_json_parse(body, len, &in->root);
    free(body);
    if (err != WARD_OK) {
        wardd_reply_error(d, r, 400, "bad_json", "%s", ward_errmsg());
        return -1;
    }
    if (!json_is_object(in->root)) {
        wardd_reply_error(d, r, 400, "bad_request", "the body must be a JSON object");
        return -1;
    }
    const char *key;
    json_t *v;
    json_object_foreach(in->root, key, v)
    {
        if (strcmp(key, "evidence") != 0 && strcmp(key, "nonce") != 0 &&
            strcmp(key, "policy") != 0) {
            wardd_reply_error(d, r, 400, "bad_request", "unknown member \"%.64s\"", key);
            return -1;
        }
    }
    json_t *ev = json_object_get(in->root, "evidence");
    if (json_is_string(ev)) {
        in->evidence_len = json_string_length(ev);
        in->evidence = in->evidence_len <= WARD_EVIDENCE_MAX_LEN
                           ? strndup(json_string_value(ev), in->evidence_len)
                           : NULL;
    } else if (json_is_object(ev)) {
        in->evidence = json_dumps(ev, JSON_COMPACT);
        in->evidence_len = in->evidence != NULL ? strlen(in->evidence) : 0;
    } else {
        wardd_reply_error(d, r, 400, "bad_request",
                          "\"evidence\" is required: an evidence bundle (object or string)");
        return -1;
    }
    if (in->evidence_len > WARD_EVIDENCE_MAX_LEN) {
        wardd_reply_error(d, r, 413, "too_large", "evidence larger than %zu bytes",
                          (size_t)WARD_EVIDENCE_MAX_LEN);
        return -1;
    }
    if (in->evidence == NULL) {
        wardd_reply_error(d, r, 500, "internal", "out of memory");
        return -1;
    }
    json_t *nv = json_object_get(in->root, "nonce");
    if (nv != NULL) {
        const char *h = json_string_value(nv);
        size_t hl = json_is_string(nv) ? json_string_length(nv) : 0;
        if (h == NULL || hl != 2 * WARD_NONCE_LEN ||
            ward_hex_decode(h, hl, &in->nonce, &in->nonce_len) != WARD_OK ||
            in->nonce_len != WARD_NONCE_LEN) {
            wardd_reply_error(d, r, 400, "bad_request",
                              "\"nonce\" must be the %d-byte hex nonce of a challenge",
                              WARD_NONCE_LEN);
            return -1;
        }
    }
    json_t *pv = json_object_get(in->root, "policy");
    if (pv != NULL) {
        if (!json_is_object(pv)) {
            wardd_reply_error(d, r, 400, "bad_request", "\"policy\" must be a policy object");
            return -1;
        }
        char *pt = json_dumps(pv, JSON_COMPACT);
        if (pt == NULL) {
            wardd_reply_error(d, r, 500, "internal", "out of memory");
            return -1;
        }
        size_t pl = strlen(pt);
        err = pl > WARD_POLICY_MAX_LEN ? ward_err_set(WARD_ERR_LIMIT, "policy too large")
                                       : ward_policy_parse(pt, pl, &in->policy);
        free(pt);
        if (err != WARD_OK) {
            wardd_reply_error(d, r, err == WARD_ERR_LIMIT ? 413 : 400, "bad_policy", "%s",
                              ward_errmsg());
            return -1;
        }
    }
    return 0;
}

void wardd_route_verify(wardd *d, wardd_req *r)
{
    verify_in in;
    memset(&in, 0, sizeof in);
    anchors a;
    memset(&a, 0, sizeof a);
    char *jwt = NULL;
    if (verify_parse(d, r, &in) != 0)
        goto done;
    const ward_policy *pol = in.policy != NULL ? in.policy : d->policy;
    if (anchors_load(&a, d, pol) != WARD_OK) {
        wardd_reply_error(d, r, 400, "bad_policy", "policy anchors: %s", ward_errmsg());
        goto done;
    }
    /* The nonce first: one verification attempt per challenge, whatever the evidence. */
    if (in.nonce != NULL && ward_nonce_consume(d->nonces, in.nonce, in.nonce_len) != WARD_OK) {
        char why[256];
        snprintf(why, sizeof why, "nonce refused: %s", ward_errmsg());
        refuse(d, r, "nonce_refused", "-", why);
        goto done;
    }
    int64_t now = (int64_t)time(NULL);
    ward_evidence_trust trust = {
        .pinned = (const uint8_t(*)[WARD_SHA256_LEN])a.pinned,
        .n_pinned = a.n_pinned,
        .cas = a.cas,
        .n_cas = a.n_cas,
    };
    ward_claims claims;
    ward_evidence_result res;
    if (ward_evidence_verify(in.evidence, in.evidence_len, &trust, now, &claims, &res) !=
        WARD_OK) {
        char why[512];
        snprintf(why, sizeof why, "evidence refused: %s", ward_errmsg());
        refuse(d, r, "evidence_refused", "-", why);
        goto done;
    }
    char subject[2 * WARD_SHA256_LEN + 16];
    snprintf(subject, sizeof subject, "platform:");
    hex_of(res.platform_key_id, sizeof res.platform_key_id, subject + strlen(subject));

    ward_appraisal ap;
    if (ward_policy_appraise(pol, &claims, in.nonce, in.nonce_len, 0, now, &ap) != WARD_OK) {
        wardd_reply_error(d, r, 500, "internal", "appraisal failed: %s", ward_errmsg());
        goto done;
    }
    ward_ear_sign_opts so = {.kid = d->verifier_kid};
    if (ward_ear_sign_ex(&ap, &claims, d->verifier_key, now, NULL, &so, &jwt, NULL) != WARD_OK) {
        wardd_reply_error(d, r, 500, "internal", "cannot sign the result: %s", ward_errmsg());
        goto done;
    }
    const char *status = ward_ear_status_name(ap.status);
    wardd_verdict v = ap.status == WARD_EAR_AFFIRMING ? WARDD_VERDICT_AFFIRMING
                      : ap.status == WARD_EAR_WARNING ? WARDD_VERDICT_WARNING
                                                      : WARDD_VERDICT_CONTRAINDICATED;
    wardd_metrics_verdict(&d->metrics, v);
    const char *first = ap.n_reasons > 0 ? ap.reasons[0] : NULL;
    audit_verdict(d, r, subject, status, first);
    if (v == WARDD_VERDICT_CONTRAINDICATED && d->alarms != NULL)
        ward_alarms_attestation_failure(d->alarms, subject,
                                        first != NULL ? first : "contraindicated");
    ward_log(v == WARDD_VERDICT_CONTRAINDICATED ? WARD_LOG_WARN : WARD_LOG_INFO,
             "attestation.verdict", "request_id", r->id, "subject", subject, "status", status,
             "tee", ward_tee_kind_name(claims.kind), (char *)NULL);

    json_t *o = json_object();
    json_t *reasons = json_array();
    if (o == NULL || reasons == NULL) {
        json_decref(o);
        json_decref(reasons);
        wardd_reply_error(d, r, 500, "internal", "out of memory");
        goto done;
    }
    for (size_t i = 0; i < ap.n_reasons; i++)
        json_array_append_new(reasons, json_string(ap.reasons[i]));
    json_object_set_new(o, "status", json_string(status));
    json_object_set_new(o, "ear", json_string(jwt));
    json_object_set_new(o, "reasons", reasons);
    json_object_set_new(o, "policy_id", json_string(ap.policy_id));
    json_object_set_new(o, "tee", json_string(ward_tee_kind_name(claims.kind)));
    wardd_reply_json(d, r, 200, o);
done:
    free(jwt);
    anchors_free(&a);
    verify_in_free(&in);
}
