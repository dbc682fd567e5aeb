/* EAR verification: compact JWS, pinned algorithm, caller's key only, mandatory claims, time,
 * and Ward's claims extension parsed back. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attest/policy_internal.h"
#include "ward/ear.h"
#include "ward/encoding.h"
#include "ward/json.h"

#define EAR_IAT_SKEW 60

static ward_err ferr(const char *what)
{
    return ward_err_set(WARD_ERR_FORMAT, "ear: %s", what);
}

/* A JSON string member without NUL, 1..max bytes (0..max if allow_empty). NULL if absent. */
static ward_err text_member(const json_t *obj, const char *name, int required, size_t max,
                            char *out, size_t cap)
{
    const json_t *v = json_object_get(obj, name);
    out[0] = '\0';
    if (v == NULL) {
        if (required)
            return ward_err_set(WARD_ERR_FORMAT, "ear: mandatory claim \"%s\" is missing", name);
        return WARD_OK;
    }
    if (!json_is_string(v))
        return ward_err_set(WARD_ERR_FORMAT, "ear: \"%s\" must be a string", name);
    size_t len = json_string_length(v);
    const char *s = json_string_value(v);
    if (len == 0 || len > max || len >= cap)
        return ward_err_set(WARD_ERR_FORMAT, "ear: \"%s\" must be 1..%zu bytes", name, max);
    if (memchr(s, '\0', len) != NULL)
        return ward_err_set(WARD_ERR_FORMAT, "ear: \"%s\" contains NUL", name);
    memcpy(out, s, len);
    out[len] = '\0';
    return WARD_OK;
}

/* An integer NumericDate (no fraction, non-negative). */
static ward_err time_member(const json_t *obj, const char *name, int required, int *has,
                            int64_t *out)
{
    const json_t *v = json_object_get(obj, name);
    *has = 0;
    *out = 0;
    if (v == NULL) {
        if (required)
            return ward_err_set(WARD_ERR_FORMAT, "ear: mandatory claim \"%s\" is missing", name);
        return WARD_OK;
    }
    if (json_is_real(v))
        return ward_err_set(WARD_ERR_FORMAT,
                            "ear: \"%s\" is a floating-point number (an integer is required)",
                            name);
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return ward_err_set(WARD_ERR_FORMAT, "ear: \"%s\" must be a non-negative integer", name);
    *has = 1;
    *out = (int64_t)json_integer_value(v);
    return WARD_OK;
}

static ward_err hex_member(const json_t *obj, const char *where, const char *name, uint8_t *out,
                           size_t len)
{
    const json_t *v = json_object_get(obj, name);
    if (v == NULL)
        return ward_err_set(WARD_ERR_FORMAT, "ear: %s.%s is missing", where, name);
    if (!json_is_string(v) || json_string_length(v) != 2 * len)
        return ward_err_set(WARD_ERR_FORMAT, "ear: %s.%s must be %zu hex digits", where, name,
                            2 * len);
    if (ward_hex_decode_fixed(json_string_value(v), 2 * len, out, len) != WARD_OK)
        return ward_err_set(WARD_ERR_FORMAT, "ear: %s.%s is not hexadecimal", where, name);
    return WARD_OK;
}

/* Variable-length hex, at most max bytes. */
static ward_err hex_var_member(const json_t *obj, const char *where, const char *name,
                               uint8_t *out, size_t max, size_t *len)
{
    const json_t *v = json_object_get(obj, name);
    if (v == NULL)
        return ward_err_set(WARD_ERR_FORMAT, "ear: %s.%s is missing", where, name);
    size_t n = json_is_string(v) ? json_string_length(v) : 0;
    if (!json_is_string(v) || n % 2 != 0 || n / 2 > max)
        return ward_err_set(WARD_ERR_FORMAT, "ear: %s.%s must be at most %zu bytes of hex", where,
                            name, max);
    if (n > 0 && ward_hex_decode_fixed(json_string_value(v), n, out, n / 2) != WARD_OK)
        return ward_err_set(WARD_ERR_FORMAT, "ear: %s.%s is not hexadecimal", where, name);
    *len = n / 2;
    return WARD_OK;
}

static ward_err uint_member(const json_t *obj, const char *where, const char *name, uint64_t max,
                            int required, uint64_t *out)
{
    const json_t *v = json_object_get(obj, name);
    *out = 0;
    if (v == NULL) {
        if (required)
            return ward_err_set(WARD_ERR_FORMAT, "ear: %s.%s is missing", where, name);
        return WARD_OK;
    }
    if (!json_is_integer(v) || json_integer_value(v) < 0 ||
        (uint64_t)json_integer_value(v) > max)
        return ward_err_set(WARD_ERR_FORMAT, "ear: %s.%s must be an integer in 0..%llu", where,
                            name, (unsigned long long)max);
    *out = (uint64_t)json_integer_value(v);
    return WARD_OK;
}

static ward_err bool_member(const json_t *obj, const char *where, const char *name, int *out)
{
    const json_t *v = json_object_get(obj, name);
    if (v == NULL || !json_is_boolean(v))
        return ward_err_set(WARD_ERR_FORMAT, "ear: %s.%s must be true or false", where, name);
    *out = json_is_true(v) ? 1 : 0;
    return WARD_OK;
}

static ward_err only(const json_t *obj, const char *where, const char *const *allowed)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v) {
        int ok = 0;
        for (size_t i = 0; allowed[i] != NULL; i++)
            if (strcmp(key, allowed[i]) == 0)
                ok = 1;
        if (!ok) {
            char shown[40];
            ward_policy_printable(key, strlen(key), shown, sizeof shown);
            return ward_err_set(WARD_ERR_FORMAT, "ear: %s: unknown member \"%s\"", where, shown);
        }
    }
    return WARD_OK;
}

static ward_err parse_ward_claims(const json_t *o, ward_ear_submod *sm)
{
    static const char *const allowed[] = {
        "tee",         "measurement", "signer",        "product_id",    "svn",
        "debug",       "tcb_status",  "advisories",    "report_data",   "nonce",
        "evidence_time", "quote_version", "tdx",       "snp",           NULL};
    const char *w = WARD_EAR_CLAIMS_KEY;
    ward_claims *c = &sm->claims;
    memset(c, 0, sizeof *c);
    if (!json_is_object(o))
        return ward_err_set(WARD_ERR_FORMAT, "ear: %s must be an object", w);
    ward_err e = only(o, w, allowed);
    if (e != WARD_OK)
        return e;
    const json_t *v = json_object_get(o, "tee");
    if (!json_is_string(v) ||
        ward_policy_kind_from_name(json_string_value(v), json_string_length(v), &c->kind) !=
            WARD_OK)
        return ward_err_set(WARD_ERR_FORMAT, "ear: %s.tee is not a known TEE kind", w);
    if ((e = hex_var_member(o, w, "measurement", c->measurement, sizeof c->measurement,
                            &c->measurement_len)) != WARD_OK ||
        (e = hex_var_member(o, w, "signer", c->signer, sizeof c->signer, &c->signer_len)) !=
            WARD_OK)
        return e;
    uint64_t n = 0;
    if ((e = uint_member(o, w, "product_id", 0xffff, 1, &n)) != WARD_OK)
        return e;
    c->product_id = (uint16_t)n;
    if ((e = uint_member(o, w, "svn", 0xffff, 1, &n)) != WARD_OK)
        return e;
    c->svn = (uint16_t)n;
    if ((e = bool_member(o, w, "debug", &c->debug)) != WARD_OK)
        return e;
    v = json_object_get(o, "tcb_status");
    if (!json_is_string(v))
        return ward_err_set(WARD_ERR_FORMAT, "ear: %s.tcb_status must be a string", w);
    if (ward_policy_tcb_from_name(json_string_value(v), json_string_length(v), &c->tcb_status) !=
        WARD_OK) {
        if (json_string_length(v) == 7 && memcmp(json_string_value(v), "Unknown", 7) == 0)
            c->tcb_status = WARD_TCB_UNKNOWN;
        else
            return ward_err_set(WARD_ERR_FORMAT, "ear: %s.tcb_status is not a known status", w);
    }
    v = json_object_get(o, "advisories");
    if (!json_is_array(v) || json_array_size(v) > WARD_CLAIMS_MAX_ADVISORIES)
        return ward_err_set(WARD_ERR_FORMAT, "ear: %s.advisories must be an array of at most %u",
                            w, (unsigned)WARD_CLAIMS_MAX_ADVISORIES);
    for (size_t i = 0; i < json_array_size(v); i++) {
        const json_t *a = json_array_get(v, i);
        size_t len = json_is_string(a) ? json_string_length(a) : 0;
        if (len == 0 || len >= WARD_CLAIMS_ADVISORY_LEN ||
            memchr(json_string_value(a), '\0', len) != NULL)
            return ward_err_set(WARD_ERR_FORMAT, "ear: %s.advisories[%zu] must be 1..%u bytes",
                                w, i, (unsigned)WARD_CLAIMS_ADVISORY_LEN - 1);
        memcpy(c->advisories[i], json_string_value(a), len);
        c->advisories[i][len] = '\0';
        c->n_advisories = i + 1;
    }
    if ((e = hex_member(o, w, "report_data", c->report_data, sizeof c->report_data)) != WARD_OK)
        return e;
    if (json_object_get(o, "nonce") != NULL &&
        (e = hex_var_member(o, w, "nonce", sm->nonce, sizeof sm->nonce, &sm->nonce_len)) !=
            WARD_OK)
        return e;
    if ((e = uint_member(o, w, "evidence_time", INT64_MAX, 0, &n)) != WARD_OK)
        return e;
    if ((e = uint_member(o, w, "quote_version", UINT32_MAX, 1, &n)) != WARD_OK)
        return e;
    c->quote_version = (uint32_t)n;
    const json_t *t = json_object_get(o, "tdx");
    if ((t != NULL) != (c->kind == WARD_TEE_KIND_TDX))
        return ward_err_set(WARD_ERR_FORMAT, "ear: %s.tdx must be present exactly for TDX", w);
    if (t != NULL) {
        static const char *const tdx_allowed[] = {"rtmr", "mrconfigid", NULL};
        if (!json_is_object(t))
            return ward_err_set(WARD_ERR_FORMAT, "ear: %s.tdx must be an object", w);
        if ((e = only(t, "tdx", tdx_allowed)) != WARD_OK)
            return e;
        const json_t *r = json_object_get(t, "rtmr");
        if (!json_is_array(r) || json_array_size(r) != 4)
            return ward_err_set(WARD_ERR_FORMAT, "ear: tdx.rtmr must be an array of 4");
        for (size_t i = 0; i < 4; i++) {
            const json_t *x = json_array_get(r, i);
            if (!json_is_string(x) || json_string_length(x) != 96 ||
                ward_hex_decode_fixed(json_string_value(x), 96, c->tdx_rtmr[i], 48) != WARD_OK)
                return ward_err_set(WARD_ERR_FORMAT, "ear: tdx.rtmr[%zu] must be 96 hex digits",
                                    i);
        }
        if ((e = hex_member(t, "tdx", "mrconfigid", c->tdx_mrconfigid,
                            sizeof c->tdx_mrconfigid)) != WARD_OK)
            return e;
    }
    const json_t *s = json_object_get(o, "snp");
    if ((s != NULL) != (c->kind == WARD_TEE_KIND_SNP))
        return ward_err_set(WARD_ERR_FORMAT, "ear: %s.snp must be present exactly for SNP", w);
    if (s != NULL) {
        static const char *const snp_allowed[] = {"host_data", "policy", "chip_id", "vmpl",
                                                  "vlek",      NULL};
        if (!json_is_object(s))
            return ward_err_set(WARD_ERR_FORMAT, "ear: %s.snp must be an object", w);
        if ((e = only(s, "snp", snp_allowed)) != WARD_OK)
            return e;
        uint8_t pol[8];
        if ((e = hex_member(s, "snp", "host_data", c->snp_host_data, sizeof c->snp_host_data)) !=
                WARD_OK ||
            (e = hex_member(s, "snp", "policy", pol, sizeof pol)) != WARD_OK ||
            (e = hex_member(s, "snp", "chip_id", c->snp_chip_id, sizeof c->snp_chip_id)) !=
                WARD_OK)
            return e;
        c->snp_policy = 0;
        for (size_t i = 0; i < 8; i++)
            c->snp_policy = (c->snp_policy << 8) | pol[i];
        if ((e = uint_member(s, "snp", "vmpl", 3, 1, &n)) != WARD_OK)
            return e;
        c->snp_vmpl = (uint32_t)n;
        if ((e = bool_member(s, "snp", "vlek", &c->snp_signed_by_vlek)) != WARD_OK)
            return e;
    }
    sm->has_claims = 1;
    return WARD_OK;
}

static ward_err parse_tv(const json_t *o, ward_ear_submod *sm)
{
    if (!json_is_object(o))
        return ferr("ear.trustworthiness-vector must be an object");
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)o, key, v) {
        ward_tv_claim c = WARD_TV_INSTANCE_IDENTITY;
        if (ward_tv_claim_parse(key, strlen(key), &c) != WARD_OK) {
            char shown[40];
            ward_policy_printable(key, strlen(key), shown, sizeof shown);
            return ward_err_set(WARD_ERR_FORMAT,
                                "ear: unknown trustworthiness claim \"%s\"", shown);
        }
        if (!json_is_integer(v) || json_integer_value(v) < -128 || json_integer_value(v) > 127)
            return ward_err_set(WARD_ERR_FORMAT,
                                "ear: trustworthiness claim %s must be an integer in -128..127",
                                ward_tv_claim_name(c));
        sm->tv.v[c] = (int8_t)json_integer_value(v);
    }
    sm->has_tv = 1;
    return WARD_OK;
}

static ward_err parse_submod(const char *name, const json_t *o, ward_ear_submod *sm)
{
    memset(sm, 0, sizeof *sm);
    size_t nlen = strlen(name);
    if (nlen == 0 || nlen > WARD_EAR_NAME_MAX)
        return ward_err_set(WARD_ERR_FORMAT, "ear: submodule names must be 1..%u bytes",
                            (unsigned)WARD_EAR_NAME_MAX);
    memcpy(sm->name, name, nlen + 1);
    if (!json_is_object(o))
        return ward_err_set(WARD_ERR_FORMAT, "ear: submodule must be an object");
    const json_t *st = json_object_get(o, "ear.status");
    if (st == NULL)
        return ferr("a submodule lacks the mandatory \"ear.status\"");
    if (!json_is_string(st) ||
        ward_ear_status_parse(json_string_value(st), json_string_length(st), &sm->status) !=
            WARD_OK)
        return ferr("ear.status must be none, affirming, warning or contraindicated");
    const json_t *tv = json_object_get(o, "ear.trustworthiness-vector");
    ward_err e;
    if (tv != NULL && (e = parse_tv(tv, sm)) != WARD_OK)
        return e;
    if ((e = text_member(o, "ear.appraisal-policy-id", 0, WARD_EAR_TEXT_MAX, sm->policy_id,
                         sizeof sm->policy_id)) != WARD_OK)
        return e;
    const json_t *cl = json_object_get(o, WARD_EAR_CLAIMS_KEY);
    if (cl != NULL && (e = parse_ward_claims(cl, sm)) != WARD_OK)
        return e;
    return WARD_OK;
}

static ward_err parse_payload(const json_t *p, int64_t now, ward_ear_result *r)
{
    if (!json_is_object(p))
        return ferr("the payload is not a JSON object");
    if (json_object_size(p) == 0)
        return ferr("empty claims-set: eat_profile, iat, ear.verifier-id and submods are "
                    "mandatory");
    ward_err e = text_member(p, "eat_profile", 1, WARD_EAR_TEXT_MAX, r->profile,
                             sizeof r->profile);
    if (e != WARD_OK)
        return e;
    int has = 0;
    if ((e = time_member(p, "iat", 1, &has, &r->iat)) != WARD_OK ||
        (e = time_member(p, "exp", 0, &r->has_exp, &r->exp)) != WARD_OK ||
        (e = time_member(p, "nbf", 0, &r->has_nbf, &r->nbf)) != WARD_OK)
        return e;
    const json_t *vid = json_object_get(p, "ear.verifier-id");
    if (vid == NULL)
        return ferr("mandatory claim \"ear.verifier-id\" is missing");
    if (!json_is_object(vid))
        return ferr("\"ear.verifier-id\" must be an object");
    if ((e = text_member(vid, "developer", 1, WARD_EAR_TEXT_MAX, r->developer,
                         sizeof r->developer)) != WARD_OK ||
        (e = text_member(vid, "build", 1, WARD_EAR_TEXT_MAX, r->build, sizeof r->build)) !=
            WARD_OK)
        return ward_err_wrap(e, "ear.verifier-id");
    const json_t *subs = json_object_get(p, "submods");
    if (subs == NULL)
        return ferr("mandatory claim \"submods\" is missing");
    if (!json_is_object(subs) || json_object_size(subs) == 0)
        return ferr("\"submods\" must be a non-empty object");
    if (json_object_size(subs) > WARD_EAR_MAX_SUBMODS)
        return ward_err_set(WARD_ERR_FORMAT, "ear: more than %u submodules",
                            (unsigned)WARD_EAR_MAX_SUBMODS);
    const char *key;
    json_t *v;
    r->status = WARD_EAR_NONE;
    json_object_foreach((json_t *)subs, key, v) {
        ward_ear_submod *sm = &r->submods[r->n_submods];
        if ((e = parse_submod(key, v, sm)) != WARD_OK)
            return e;
        if ((int)sm->status > (int)r->status)
            r->status = sm->status;
        r->n_submods++;
    }
    /* Time. */
    if (r->has_exp && now >= r->exp)
        return ward_err_set(WARD_ERR_VERIFY, "ear: expired (exp %lld, now %lld)",
                            (long long)r->exp, (long long)now);
    if (r->has_nbf && now < r->nbf)
        return ward_err_set(WARD_ERR_VERIFY, "ear: not yet valid (nbf %lld, now %lld)",
                            (long long)r->nbf, (long long)now);
    if (r->iat > now && r->iat - now > EAR_IAT_SKEW)
        return ward_err_set(WARD_ERR_VERIFY, "ear: issued in the future (iat %lld, now %lld)",
                            (long long)r->iat, (long long)now);
    return WARD_OK;
}

/* Decodes one base64url part into a parsed JSON object. */
static ward_err decode_json_part(const char *s, size_t len, const char *what, json_t **out)
{
    uint8_t *raw = NULL;
    size_t raw_len = 0;
    *out = NULL;
    if (ward_base64url_decode(s, len, &raw, &raw_len) != WARD_OK)
        return ward_err_set(WARD_ERR_FORMAT, "ear: the %s is not unpadded base64url", what);
    ward_err e = ward_json_parse((const char *)raw, raw_len, out);
    free(raw);
    if (e != WARD_OK)
        return ward_err_wrap(WARD_ERR_FORMAT, "ear: the %s is not valid JSON", what);
    if (!json_is_object(*out)) {
        json_decref(*out);
        *out = NULL;
        return ward_err_set(WARD_ERR_FORMAT, "ear: the %s is not a JSON object", what);
    }
    return WARD_OK;
}

static int same_key(const ward_pkey *a, const ward_pkey *b)
{
    uint8_t ha[WARD_SHA256_LEN], hb[WARD_SHA256_LEN];
    if (ward_pkey_spki_sha256(a, ha) != WARD_OK || ward_pkey_spki_sha256(b, hb) != WARD_OK)
        return 0;
    return ward_ct_equal(ha, hb, sizeof ha);
}

static ward_err check_header(const json_t *h, const ward_pkey *key, const char *want_alg,
                             ward_ear_result *r)
{
    const json_t *alg = json_object_get(h, "alg");
    if (alg == NULL)
        return ferr("the JOSE header has no \"alg\"");
    if (!json_is_string(alg))
        return ferr("the JOSE header's \"alg\" is not a string");
    const char *a = json_string_value(alg);
    size_t alen = json_string_length(alg);
    char shown[24];
    ward_policy_printable(a, alen, shown, sizeof shown);
    if (alen == 4 && (memcmp(a, "none", 4) == 0 || memcmp(a, "NONE", 4) == 0 ||
                      memcmp(a, "None", 4) == 0))
        return ward_err_set(WARD_ERR_UNSUPPORTED,
                            "ear: alg \"none\" (an unsigned token) is refused; %s is required",
                            want_alg);
    if (alen >= 2 && a[0] == 'H' && a[1] == 'S')
        return ward_err_set(WARD_ERR_UNSUPPORTED,
                            "ear: alg \"%s\" (HMAC) is refused: algorithm confusion; %s is "
                            "required",
                            shown, want_alg);
    if (alen != strlen(want_alg) || memcmp(a, want_alg, alen) != 0)
        return ward_err_set(WARD_ERR_UNSUPPORTED,
                            "ear: alg \"%s\" does not match the verifier key (%s required)",
                            shown, want_alg);
    const json_t *typ = json_object_get(h, "typ");
    if (typ != NULL && (!json_is_string(typ) || json_string_length(typ) != 3 ||
                        strcmp(json_string_value(typ), "JWT") != 0))
        return ferr("the JOSE header's \"typ\" must be \"JWT\"");
    if (json_object_get(h, "crit") != NULL)
        return ward_err_set(WARD_ERR_UNSUPPORTED,
                            "ear: the JOSE header has \"crit\" extensions, which are not "
                            "understood");
    ward_err e = text_member(h, "kid", 0, WARD_EAR_TEXT_MAX, r->kid, sizeof r->kid);
    if (e != WARD_OK)
        return e;
    const json_t *jwk = json_object_get(h, "jwk");
    if (jwk != NULL) {
        ward_pkey *hk = NULL;
        if ((e = ward_jwk_from_json(jwk, &hk)) != WARD_OK)
            return ward_err_wrap(WARD_ERR_FORMAT, "ear: the header's jwk");
        int same = same_key(hk, key);
        ward_pkey_free(hk);
        if (!same)
            return ward_err_set(WARD_ERR_VERIFY,
                                "ear: the header's jwk is not the trusted verifier key (a key in "
                                "the header is never trusted on its own)");
        r->header_jwk = 1;
    }
    return WARD_OK;
}

ward_err ward_ear_verify(const char *jwt, size_t len, const ward_pkey *verifier_pub, int64_t now,
                         ward_ear_result *out)
{
    if (out == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "ear verify: NULL result");
    memset(out, 0, sizeof *out);
    if ((jwt == NULL && len != 0) || verifier_pub == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "ear verify: NULL argument");
    if (len == 0)
        return ferr("empty token");
    if (len > WARD_EAR_MAX_LEN)
        return ward_err_set(WARD_ERR_OVERFLOW, "ear: %zu bytes exceeds the %u-byte limit", len,
                            (unsigned)WARD_EAR_MAX_LEN);
    const char *want_alg;
    size_t sig_want;
    ward_hash_alg halg;
    switch (ward_pkey_type(verifier_pub)) {
    case WARD_KEY_EC_P256: want_alg = "ES256", sig_want = 64, halg = WARD_HASH_SHA256; break;
    case WARD_KEY_EC_P384: want_alg = "ES384", sig_want = 96, halg = WARD_HASH_SHA384; break;
    default:
        return ward_err_set(WARD_ERR_UNSUPPORTED,
                            "ear: the verifier key must be EC P-256 (ES256) or P-384 (ES384)");
    }
    /* Compact serialisation: exactly three parts. */
    if (jwt[0] == '.')
        return ferr("malformed compact JWS: it starts with '.' (empty JOSE header)");
    size_t dots[3], n_dots = 0;
    for (size_t i = 0; i < len; i++) {
        if (jwt[i] == '.') {
            if (n_dots == 3)
                return ferr("malformed compact JWS: more than four parts");
            dots[n_dots++] = i;
        }
    }
    if (n_dots < 2)
        return ward_err_set(WARD_ERR_FORMAT,
                            "ear: malformed compact JWS: %zu part(s), expected 3", n_dots + 1);
    if (n_dots > 2)
        return ferr("trailing data after the signature: a compact JWS has exactly 3 parts");
    const char *h = jwt, *p = jwt + dots[0] + 1, *s = jwt + dots[1] + 1;
    size_t h_len = dots[0], p_len = dots[1] - dots[0] - 1, s_len = len - dots[1] - 1;
    if (p_len == 0)
        return ferr("malformed compact JWS: empty payload");
    json_t *header = NULL, *payload = NULL;
    ward_err e = decode_json_part(h, h_len, "JOSE header", &header);
    if (e != WARD_OK)
        return e;
    e = check_header(header, verifier_pub, want_alg, out);
    json_decref(header);
    if (e != WARD_OK)
        goto fail;
    if (s_len == 0) {
        e = ferr("empty signature");
        goto fail;
    }
    uint8_t *sig = NULL;
    size_t sig_len = 0;
    if (ward_base64url_decode(s, s_len, &sig, &sig_len) != WARD_OK) {
        e = ferr("the signature is not unpadded base64url");
        goto fail;
    }
    if (sig_len != sig_want) {
        free(sig);
        e = ward_err_set(WARD_ERR_FORMAT, "ear: %s signature of %zu bytes (expected %zu)",
                         want_alg, sig_len, sig_want);
        goto fail;
    }
    e = ward_verify(verifier_pub, halg, WARD_SIG_RAW, jwt, dots[1], sig, sig_len);
    free(sig);
    if (e != WARD_OK) {
        e = ward_err_set(WARD_ERR_VERIFY, "ear: the %s signature does not verify with the key",
                         want_alg);
        goto fail;
    }
    if ((e = decode_json_part(p, p_len, "payload", &payload)) != WARD_OK)
        goto fail;
    if ((e = parse_payload(payload, now, out)) != WARD_OK)
        goto fail;
    out->payload = payload;
    return WARD_OK;
fail:
    json_decref(payload);
    memset(out, 0, sizeof *out);
    return e;
}

ward_err ward_ear_verify_jwk(const char *jwt, size_t len, const char *jwk_json, size_t jwk_len,
                             int64_t now, ward_ear_result *out)
{
    if (out != NULL)
        memset(out, 0, sizeof *out);
    ward_pkey *key = NULL;
    ward_err e = ward_jwk_parse(jwk_json, jwk_len, &key);
    if (e != WARD_OK)
        return ward_err_wrap(e, "ear verify: the key");
    e = ward_ear_verify(jwt, len, key, now, out);
    ward_pkey_free(key);
    return e;
}

void ward_ear_result_free(ward_ear_result *r)
{
    if (r == NULL)
        return;
    json_decref(r->payload);
    r->payload = NULL;
}
