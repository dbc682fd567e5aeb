/* EAR signing: appraisal + normalised claims -> compact JWS (ES256), payload in RFC 8785 form.
 * Layout: docs/attestation.md "Policy and results". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attest/policy_internal.h"
#include "ward/ear.h"
#include "ward/encoding.h"
#include "ward/json.h"

#ifndef WARD_VERSION
#define WARD_VERSION "0"
#endif

/* Sets obj[key] = v (stealing v); fails on NULL v (allocation) or a jansson error. */
static ward_err put(json_t *obj, const char *key, json_t *v)
{
    if (v == NULL)
        return ward_err_set(WARD_ERR_NOMEM, "ear: out of memory");
    if (json_object_set_new(obj, key, v) != 0)
        return ward_err_set(WARD_ERR_NOMEM, "ear: cannot set %s", key);
    return WARD_OK;
}

static ward_err put_hex(json_t *obj, const char *key, const uint8_t *v, size_t len)
{
    char *hex = NULL;
    ward_err e = ward_hex_encode(v, len, &hex, NULL);
    if (e != WARD_OK)
        return e;
    e = put(obj, key, json_string(hex));
    free(hex);
    return e;
}

static int text_ok(const char *s, size_t max)
{
    size_t n = strnlen(s, max + 1);
    if (n == 0 || n > max)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return 0;
    json_t *t = json_string(s); /* NULL unless valid UTF-8 */
    int ok = t != NULL;
    json_decref(t);
    return ok;
}

/* Ward's normalised claims under WARD_EAR_CLAIMS_KEY. */
static ward_err claims_json(const ward_claims *c, const ward_appraisal *a, json_t **out)
{
    json_t *o = json_object();
    if (o == NULL)
        return ward_err_set(WARD_ERR_NOMEM, "ear: out of memory");
    ward_err e = put(o, "tee", json_string(ward_tee_kind_name(c->kind)));
    if (e == WARD_OK)
        e = put_hex(o, "measurement", c->measurement, c->measurement_len);
    if (e == WARD_OK)
        e = put_hex(o, "signer", c->signer, c->signer_len);
    if (e == WARD_OK)
        e = put(o, "product_id", json_integer(c->product_id));
    if (e == WARD_OK)
        e = put(o, "svn", json_integer(c->svn));
    if (e == WARD_OK)
        e = put(o, "debug", json_boolean(c->debug != 0));
    if (e == WARD_OK)
        e = put(o, "tcb_status", json_string(ward_tcb_status_name(c->tcb_status)));
    if (e == WARD_OK) {
        json_t *adv = json_array();
        e = put(o, "advisories", adv);
        for (size_t i = 0; e == WARD_OK && i < c->n_advisories; i++) {
            size_t n = strnlen(c->advisories[i], WARD_CLAIMS_ADVISORY_LEN);
            if (n == 0 || n >= WARD_CLAIMS_ADVISORY_LEN) {
                e = ward_err_set(WARD_ERR_INVALID_ARG, "ear: advisory %zu is empty or too long",
                                 i);
                break;
            }
            json_t *s = json_stringn(c->advisories[i], n);
            if (s == NULL)
                e = ward_err_set(WARD_ERR_INVALID_ARG, "ear: advisory %zu is not UTF-8", i);
            else if (json_array_append_new(adv, s) != 0)
                e = ward_err_set(WARD_ERR_NOMEM, "ear: out of memory");
        }
    }
    if (e == WARD_OK)
        e = put_hex(o, "report_data", c->report_data, sizeof c->report_data);
    if (e == WARD_OK && a->nonce_len > 0)
        e = put_hex(o, "nonce", a->nonce, a->nonce_len);
    if (e == WARD_OK && a->evidence_time > 0)
        e = put(o, "evidence_time", json_integer(a->evidence_time));
    if (e == WARD_OK)
        e = put(o, "quote_version", json_integer(c->quote_version));
    if (e == WARD_OK && c->kind == WARD_TEE_KIND_TDX) {
        json_t *t = json_object();
        e = put(o, "tdx", t);
        if (e == WARD_OK) {
            json_t *r = json_array();
            e = put(t, "rtmr", r);
            for (size_t i = 0; e == WARD_OK && i < 4; i++) {
                char *hex = NULL;
                e = ward_hex_encode(c->tdx_rtmr[i], sizeof c->tdx_rtmr[i], &hex, NULL);
                if (e == WARD_OK && json_array_append_new(r, json_string(hex)) != 0)
                    e = ward_err_set(WARD_ERR_NOMEM, "ear: out of memory");
                free(hex);
            }
        }
        if (e == WARD_OK)
            e = put_hex(t, "mrconfigid", c->tdx_mrconfigid, sizeof c->tdx_mrconfigid);
    }
    if (e == WARD_OK && c->kind == WARD_TEE_KIND_SNP) {
        json_t *s = json_object();
        e = put(o, "snp", s);
        uint8_t pol[8];
        for (size_t i = 0; i < 8; i++)
            pol[i] = (uint8_t)(c->snp_policy >> (56 - 8 * i));
        if (e == WARD_OK)
            e = put_hex(s, "host_data", c->snp_host_data, sizeof c->snp_host_data);
        if (e == WARD_OK)
            e = put_hex(s, "policy", pol, sizeof pol);
        if (e == WARD_OK)
            e = put_hex(s, "chip_id", c->snp_chip_id, sizeof c->snp_chip_id);
        if (e == WARD_OK)
            e = put(s, "vmpl", json_integer(c->snp_vmpl));
        if (e == WARD_OK)
            e = put(s, "vlek", json_boolean(c->snp_signed_by_vlek != 0));
    }
    if (e != WARD_OK) {
        json_decref(o);
        return e;
    }
    *out = o;
    return WARD_OK;
}

static ward_err tv_json(const ward_trust_vector *tv, json_t **out)
{
    json_t *o = json_object();
    if (o == NULL)
        return ward_err_set(WARD_ERR_NOMEM, "ear: out of memory");
    for (size_t i = 0; i < WARD_TV_COUNT; i++) {
        ward_err e = put(o, ward_tv_claim_name((ward_tv_claim)i), json_integer(tv->v[i]));
        if (e != WARD_OK) {
            json_decref(o);
            return e;
        }
    }
    *out = o;
    return WARD_OK;
}

static ward_err b64u(const char *data, size_t len, char **out, size_t *out_len)
{
    return ward_base64url_encode((const uint8_t *)data, len, out, out_len);
}

ward_err ward_ear_sign_ex(const ward_appraisal *appraisal, const ward_claims *claims,
                          const ward_pkey *verifier_key, int64_t iat, const char *profile,
                          const ward_ear_sign_opts *opts, char **jwt, size_t *jwt_len)
{
    if (jwt != NULL)
        *jwt = NULL;
    if (appraisal == NULL || claims == NULL || verifier_key == NULL || jwt == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "ear sign: NULL argument");
    if (ward_pkey_type(verifier_key) != WARD_KEY_EC_P256 || !ward_pkey_is_private(verifier_key))
        return ward_err_set(WARD_ERR_INVALID_ARG,
                            "ear sign: the verifier key must be an EC P-256 private key");
    if (iat < 0)
        return ward_err_set(WARD_ERR_INVALID_ARG, "ear sign: negative iat");
    if (claims->measurement_len > sizeof claims->measurement ||
        claims->signer_len > sizeof claims->signer ||
        claims->n_advisories > WARD_CLAIMS_MAX_ADVISORIES ||
        appraisal->nonce_len > WARD_NONCE_MAX_LEN)
        return ward_err_set(WARD_ERR_INVALID_ARG, "ear sign: inconsistent claim lengths");
    if (appraisal->status != WARD_EAR_AFFIRMING && appraisal->status != WARD_EAR_WARNING &&
        appraisal->status != WARD_EAR_CONTRAINDICATED && appraisal->status != WARD_EAR_NONE)
        return ward_err_set(WARD_ERR_INVALID_ARG, "ear sign: invalid status");
    ward_ear_sign_opts none = {0};
    if (opts == NULL)
        opts = &none;
    if (profile == NULL)
        profile = WARD_EAR_PROFILE;
    const char *submod = opts->submod != NULL ? opts->submod : WARD_EAR_SUBMOD;
    char build_default[64];
    snprintf(build_default, sizeof build_default, "ward %s", WARD_VERSION);
    const char *build = opts->build != NULL ? opts->build : build_default;
    if (!text_ok(profile, WARD_EAR_TEXT_MAX) || !text_ok(build, WARD_EAR_TEXT_MAX) ||
        !text_ok(submod, WARD_EAR_NAME_MAX) ||
        (opts->kid != NULL && !text_ok(opts->kid, WARD_EAR_TEXT_MAX)))
        return ward_err_set(WARD_ERR_INVALID_ARG,
                            "ear sign: profile, build, submodule name and kid must be 1..%u "
                            "printable UTF-8 bytes",
                            (unsigned)WARD_EAR_TEXT_MAX);
    size_t pid_len = strnlen(appraisal->policy_id, sizeof appraisal->policy_id);
    if (pid_len == sizeof appraisal->policy_id)
        return ward_err_set(WARD_ERR_INVALID_ARG, "ear sign: policy id is not terminated");
    if (opts->exp != 0 && opts->exp <= iat)
        return ward_err_set(WARD_ERR_INVALID_ARG, "ear sign: exp must be after iat");

    ward_err e;
    json_t *payload = json_object(), *header = json_object();
    json_t *vid = NULL, *subs = NULL, *sub = NULL, *tv = NULL, *cl = NULL;
    char *htxt = NULL, *ptxt = NULL, *h64 = NULL, *p64 = NULL, *s64 = NULL, *buf = NULL;
    uint8_t *sig = NULL;
    size_t hlen = 0, plen = 0, h64len = 0, p64len = 0, s64len = 0, sig_len = 0;
    if (payload == NULL || header == NULL) {
        e = ward_err_set(WARD_ERR_NOMEM, "ear: out of memory");
        goto out;
    }
    /* Header. */
    if ((e = put(header, "alg", json_string("ES256"))) != WARD_OK ||
        (e = put(header, "typ", json_string("JWT"))) != WARD_OK)
        goto out;
    if (opts->kid != NULL && (e = put(header, "kid", json_string(opts->kid))) != WARD_OK)
        goto out;
    /* Payload. */
    if ((e = put(payload, "eat_profile", json_string(profile))) != WARD_OK ||
        (e = put(payload, "iat", json_integer(iat))) != WARD_OK)
        goto out;
    if (opts->exp != 0 && (e = put(payload, "exp", json_integer(opts->exp))) != WARD_OK)
        goto out;
    vid = json_object();
    if ((e = put(payload, "ear.verifier-id", vid)) != WARD_OK ||
        (e = put(vid, "developer", json_string(WARD_EAR_DEVELOPER))) != WARD_OK ||
        (e = put(vid, "build", json_string(build))) != WARD_OK)
        goto out;
    if (appraisal->nonce_len >= 8) {
        char *n64 = NULL;
        if ((e = ward_base64url_encode(appraisal->nonce, appraisal->nonce_len, &n64, NULL)) !=
            WARD_OK)
            goto out;
        e = put(payload, "eat_nonce", json_string(n64));
        free(n64);
        if (e != WARD_OK)
            goto out;
    }
    subs = json_object();
    if ((e = put(payload, "submods", subs)) != WARD_OK)
        goto out;
    sub = json_object();
    if ((e = put(subs, submod, sub)) != WARD_OK)
        goto out;
    if ((e = put(sub, "ear.status", json_string(ward_ear_status_name(appraisal->status)))) !=
        WARD_OK)
        goto out;
    if ((e = tv_json(&appraisal->tv, &tv)) != WARD_OK ||
        (e = put(sub, "ear.trustworthiness-vector", tv)) != WARD_OK)
        goto out;
    if (pid_len > 0) {
        json_t *pid = json_stringn(appraisal->policy_id, pid_len);
        if (pid == NULL) {
            e = ward_err_set(WARD_ERR_INVALID_ARG, "ear sign: policy id is not UTF-8");
            goto out;
        }
        if ((e = put(sub, "ear.appraisal-policy-id", pid)) != WARD_OK)
            goto out;
    }
    if ((e = claims_json(claims, appraisal, &cl)) != WARD_OK ||
        (e = put(sub, WARD_EAR_CLAIMS_KEY, cl)) != WARD_OK)
        goto out;
    /* Serialise, encode, sign. */
    if ((e = ward_jcs_serialize(header, &htxt, &hlen)) != WARD_OK ||
        (e = ward_jcs_serialize(payload, &ptxt, &plen)) != WARD_OK)
        goto out;
    if ((e = b64u(htxt, hlen, &h64, &h64len)) != WARD_OK ||
        (e = b64u(ptxt, plen, &p64, &p64len)) != WARD_OK)
        goto out;
    size_t total = h64len + 1 + p64len + 1 + 86 + 1;
    buf = malloc(total);
    if (buf == NULL) {
        e = ward_err_set(WARD_ERR_NOMEM, "ear: out of memory");
        goto out;
    }
    memcpy(buf, h64, h64len);
    buf[h64len] = '.';
    memcpy(buf + h64len + 1, p64, p64len);
    size_t signing_len = h64len + 1 + p64len;
    if ((e = ward_sign(verifier_key, WARD_HASH_SHA256, WARD_SIG_RAW, buf, signing_len, &sig,
                       &sig_len)) != WARD_OK)
        goto out;
    if (sig_len != 64) {
        e = ward_err_set(WARD_ERR_CRYPTO, "ear sign: ES256 signature of %zu bytes", sig_len);
        goto out;
    }
    if ((e = ward_base64url_encode(sig, sig_len, &s64, &s64len)) != WARD_OK)
        goto out;
    if (s64len != 86) {
        e = ward_err_set(WARD_ERR_CRYPTO, "ear sign: unexpected signature encoding");
        goto out;
    }
    buf[signing_len] = '.';
    memcpy(buf + signing_len + 1, s64, s64len);
    buf[signing_len + 1 + s64len] = '\0';
    *jwt = buf;
    buf = NULL;
    if (jwt_len != NULL)
        *jwt_len = signing_len + 1 + s64len;
out:
    json_decref(payload);
    json_decref(header);
    free(htxt);
    free(ptxt);
    free(h64);
    free(p64);
    free(s64);
    free(sig);
    free(buf);
    return e;
}

ward_err ward_ear_sign(const ward_appraisal *appraisal, const ward_claims *claims,
                       const ward_pkey *verifier_key, int64_t iat, const char *profile,
                       char **jwt, size_t *jwt_len)
{
    return ward_ear_sign_ex(appraisal, claims, verifier_key, iat, profile, NULL, jwt, jwt_len);
}
