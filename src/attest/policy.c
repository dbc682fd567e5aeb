/* Appraisal policy: strict JSON parsing, defaults and accessors (docs/attestation.md "Policy and
 * results"). The appraisal itself is in policy_appraise.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attest/policy_internal.h"
#include "ward/crypto.h"
#include "ward/encoding.h"
#include "ward/json.h"
#include "ward/x509.h"

/* ---- names ---------------------------------------------------------------------------------- */

const char *ward_ear_status_name(ward_ear_status s)
{
    switch (s) {
    case WARD_EAR_AFFIRMING: return "affirming";
    case WARD_EAR_WARNING: return "warning";
    case WARD_EAR_CONTRAINDICATED: return "contraindicated";
    case WARD_EAR_NONE: break;
    }
    return "none";
}

ward_err ward_ear_status_parse(const char *name, size_t len, ward_ear_status *out)
{
    static const ward_ear_status all[] = {WARD_EAR_NONE, WARD_EAR_AFFIRMING, WARD_EAR_WARNING,
                                          WARD_EAR_CONTRAINDICATED};
    if (name == NULL || out == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "ear status: NULL argument");
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        const char *n = ward_ear_status_name(all[i]);
        if (strlen(n) == len && memcmp(n, name, len) == 0) {
            *out = all[i];
            return WARD_OK;
        }
    }
    return ward_err_set(WARD_ERR_FORMAT,
                        "ear.status must be none, affirming, warning or contraindicated");
}

static const char *const tv_names[WARD_TV_COUNT] = {
    "instance-identity", "configuration",  "executables",    "file-system",
    "hardware",          "runtime-opaque", "storage-opaque", "sourced-data"};

const char *ward_tv_claim_name(ward_tv_claim c)
{
    if ((unsigned)c >= (unsigned)WARD_TV_COUNT)
        return NULL;
    return tv_names[c];
}

ward_err ward_tv_claim_parse(const char *name, size_t len, ward_tv_claim *out)
{
    if (name == NULL || out == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "trust claim: NULL argument");
    for (size_t i = 0; i < WARD_TV_COUNT; i++) {
        if (strlen(tv_names[i]) == len && memcmp(tv_names[i], name, len) == 0) {
            *out = (ward_tv_claim)i;
            return WARD_OK;
        }
    }
    return ward_err_set(WARD_ERR_NOT_FOUND, "unknown trustworthiness claim");
}

ward_ear_status ward_tv_value_tier(int v)
{
    if (v >= 96 || v <= -97)
        return WARD_EAR_CONTRAINDICATED;
    if (v >= 32 || v <= -32)
        return WARD_EAR_WARNING;
    if (v >= 2 || v <= -2)
        return WARD_EAR_AFFIRMING;
    return WARD_EAR_NONE;
}

ward_ear_status ward_tv_status(const ward_trust_vector *tv)
{
    ward_ear_status worst = WARD_EAR_NONE;
    if (tv == NULL)
        return worst;
    for (size_t i = 0; i < WARD_TV_COUNT; i++) {
        ward_ear_status t = ward_tv_value_tier(tv->v[i]);
        if ((int)t > (int)worst)
            worst = t;
    }
    return worst;
}

/* ---- helpers -------------------------------------------------------------------------------- */

void ward_policy_printable(const char *in, size_t in_len, char *out, size_t cap)
{
    size_t o = 0;
    if (cap == 0)
        return;
    for (size_t i = 0; i < in_len && o + 1 < cap; i++) {
        unsigned char c = (unsigned char)in[i];
        out[o++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    out[o] = '\0';
}

static ward_err perr(const char *where, const char *what)
{
    return ward_err_set(WARD_ERR_FORMAT, "policy: %s: %s", where, what);
}

/* Refuses members of obj that are not in allowed (NULL-terminated). */
static ward_err only_members(const json_t *obj, const char *where, const char *const *allowed)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v) {
        int ok = 0;
        for (size_t i = 0; allowed[i] != NULL; i++)
            if (strcmp(key, allowed[i]) == 0)
                ok = 1;
        if (!ok) {
            char shown[48];
            ward_policy_printable(key, strlen(key), shown, sizeof shown);
            return ward_err_set(WARD_ERR_FORMAT, "policy: %s: unknown member \"%s\"", where,
                                shown);
        }
    }
    return WARD_OK;
}

static ward_err get_uint(const json_t *v, const char *where, uint64_t max, uint64_t *out)
{
    *out = 0;
    if (json_is_real(v))
        return perr(where, "floating-point numbers are not allowed");
    if (!json_is_integer(v))
        return perr(where, "must be an integer");
    json_int_t n = json_integer_value(v);
    if (n < 0 || (uint64_t)n > max) {
        return ward_err_set(WARD_ERR_FORMAT, "policy: %s: %lld is out of range 0..%llu", where,
                            (long long)n, (unsigned long long)max);
    }
    *out = (uint64_t)n;
    return WARD_OK;
}

static ward_err get_bool(const json_t *v, const char *where, int *out)
{
    if (!json_is_boolean(v))
        return perr(where, "must be true or false");
    *out = json_is_true(v) ? 1 : 0;
    return WARD_OK;
}

/* A string without embedded NUL; *s points into v. */
static ward_err get_str(const json_t *v, const char *where, const char **s, size_t *len)
{
    *s = NULL;
    *len = 0;
    if (!json_is_string(v))
        return perr(where, "must be a string");
    *s = json_string_value(v);
    *len = json_string_length(v);
    if (memchr(*s, '\0', *len) != NULL)
        return perr(where, "must not contain NUL");
    return WARD_OK;
}

/* A non-empty array of hex strings of exactly width bytes, no duplicates. */
static ward_err get_hexlist(const json_t *v, const char *where, size_t width, hexlist *out)
{
    if (!json_is_array(v))
        return perr(where, "must be an array of hex strings");
    size_t n = json_array_size(v);
    if (n == 0)
        return perr(where, "must not be empty");
    if (n > WARD_POLICY_MAX_VALUES)
        return ward_err_set(WARD_ERR_FORMAT, "policy: %s: more than %u values", where,
                            (unsigned)WARD_POLICY_MAX_VALUES);
    uint8_t *buf = calloc(n, width);
    if (buf == NULL)
        return ward_err_set(WARD_ERR_NOMEM, "policy: out of memory");
    for (size_t i = 0; i < n; i++) {
        const char *s = NULL;
        size_t len = 0;
        ward_err e = get_str(json_array_get(v, i), where, &s, &len);
        if (e != WARD_OK) {
            free(buf);
            return e;
        }
        if (len != 2 * width) {
            free(buf);
            return ward_err_set(WARD_ERR_FORMAT,
                                "policy: %s[%zu]: expected %zu hex digits (%zu bytes), got %zu",
                                where, i, 2 * width, width, len);
        }
        if (ward_hex_decode_fixed(s, len, buf + i * width, width) != WARD_OK) {
            free(buf);
            return ward_err_set(WARD_ERR_FORMAT, "policy: %s[%zu]: not hexadecimal", where, i);
        }
        for (size_t j = 0; j < i; j++) {
            if (memcmp(buf + j * width, buf + i * width, width) == 0) {
                free(buf);
                return ward_err_set(WARD_ERR_FORMAT, "policy: %s[%zu]: duplicate value", where,
                                    i);
            }
        }
    }
    out->v = buf;
    out->n = n;
    out->width = width;
    return WARD_OK;
}

static void hexlist_free(hexlist *h)
{
    free(h->v);
    h->v = NULL;
    h->n = 0;
}

int ward_policy_hexlist_has(const hexlist *h, const uint8_t *v, size_t len)
{
    if (len != h->width)
        return 0;
    for (size_t i = 0; i < h->n; i++)
        if (memcmp(h->v + i * h->width, v, len) == 0)
            return 1;
    return 0;
}

ward_err ward_policy_kind_from_name(const char *s, size_t len, ward_tee_kind *out)
{
    static const ward_tee_kind kinds[] = {WARD_TEE_KIND_WARD_SW, WARD_TEE_KIND_WARD_SIM,
                                          WARD_TEE_KIND_SGX, WARD_TEE_KIND_TDX,
                                          WARD_TEE_KIND_SNP};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        const char *n = ward_tee_kind_name(kinds[i]);
        if (strlen(n) == len && memcmp(n, s, len) == 0) {
            *out = kinds[i];
            return WARD_OK;
        }
    }
    return WARD_ERR_NOT_FOUND;
}

ward_err ward_policy_tcb_from_name(const char *s, size_t len, ward_tcb_status *out)
{
    for (int i = (int)WARD_TCB_UP_TO_DATE; i <= (int)WARD_TCB_NOT_APPLICABLE; i++) {
        const char *n = ward_tcb_status_name((ward_tcb_status)i);
        if (strlen(n) == len && memcmp(n, s, len) == 0) {
            *out = (ward_tcb_status)i;
            return WARD_OK;
        }
    }
    return WARD_ERR_NOT_FOUND;
}

/* ---- defaults ------------------------------------------------------------------------------- */

void ward_policy_init_defaults(ward_policy *p)
{
    memset(p, 0, sizeof *p);
    snprintf(p->id, sizeof p->id, "%s", WARD_POLICY_DEFAULT_ID);
    p->kinds = KIND_BIT(WARD_TEE_KIND_WARD_SW) | KIND_BIT(WARD_TEE_KIND_SGX) |
               KIND_BIT(WARD_TEE_KIND_TDX) | KIND_BIT(WARD_TEE_KIND_SNP);
    p->debug_allowed = 0;
    for (size_t i = 0; i < WARD_POLICY_N_TCB; i++)
        p->tcb_class[i] = TCB_CONTRA;
    p->tcb_class[WARD_TCB_UP_TO_DATE] = TCB_ACCEPT;
    p->tcb_class[WARD_TCB_SW_HARDENING_NEEDED] = TCB_WARN;
    p->tcb_class[WARD_TCB_CONFIGURATION_NEEDED] = TCB_WARN;
    p->tcb_class[WARD_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED] = TCB_WARN;
    p->max_age = 0;
    p->max_skew = WARD_POLICY_CLOCK_SKEW;
    p->accept_warning = 0;
    p->snp_vmpl = 0;
}

ward_err ward_policy_default(ward_policy **out)
{
    if (out == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "policy: NULL output");
    *out = NULL;
    ward_policy *p = malloc(sizeof *p);
    if (p == NULL)
        return ward_err_set(WARD_ERR_NOMEM, "policy: out of memory");
    ward_policy_init_defaults(p);
    *out = p;
    return WARD_OK;
}

void ward_policy_free(ward_policy *p)
{
    if (p == NULL)
        return;
    for (size_t k = 0; k < WARD_POLICY_N_KINDS; k++) {
        kind_ref *r = &p->ref[k];
        hexlist_free(&r->measurement);
        hexlist_free(&r->signer);
        hexlist_free(&r->host_data);
        for (size_t i = 0; i < 4; i++)
            hexlist_free(&r->rtmr[i]);
    }
    hexlist_free(&p->pinned);
    for (size_t i = 0; i < p->n_ca; i++)
        free(p->ca[i]);
    free(p->ca);
    free(p->ca_len);
    free(p);
}

/* ---- parsing -------------------------------------------------------------------------------- */

static ward_err parse_kinds(const json_t *v, ward_policy *p)
{
    if (!json_is_array(v))
        return perr("tee", "must be an array of TEE kind names");
    if (json_array_size(v) == 0)
        return perr("tee", "must name at least one TEE kind");
    unsigned bits = 0;
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e) {
        const char *s = NULL;
        size_t len = 0;
        ward_err err = get_str(e, "tee", &s, &len);
        if (err != WARD_OK)
            return err;
        ward_tee_kind k = WARD_TEE_KIND_UNKNOWN;
        if (ward_policy_kind_from_name(s, len, &k) != WARD_OK) {
            char shown[40];
            ward_policy_printable(s, len, shown, sizeof shown);
            return ward_err_set(WARD_ERR_FORMAT,
                                "policy: tee: unknown TEE kind \"%s\" (ward-sw, ward-sim, sgx, "
                                "tdx, snp)",
                                shown);
        }
        if (bits & KIND_BIT(k))
            return ward_err_set(WARD_ERR_FORMAT, "policy: tee: \"%s\" listed twice",
                                ward_tee_kind_name(k));
        bits |= KIND_BIT(k);
    }
    p->kinds = bits;
    return WARD_OK;
}

static ward_err parse_tcb_list(const json_t *v, const char *where, uint8_t cls, uint8_t *seen,
                               ward_policy *p)
{
    if (!json_is_array(v))
        return perr(where, "must be an array of TCB status names");
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e) {
        const char *s = NULL;
        size_t len = 0;
        ward_err err = get_str(e, where, &s, &len);
        if (err != WARD_OK)
            return err;
        ward_tcb_status t = WARD_TCB_UNKNOWN;
        if (ward_policy_tcb_from_name(s, len, &t) != WARD_OK) {
            char shown[48];
            ward_policy_printable(s, len, shown, sizeof shown);
            return ward_err_set(WARD_ERR_FORMAT, "policy: %s: unknown TCB status \"%s\"", where,
                                shown);
        }
        if (t == WARD_TCB_REVOKED)
            return perr(where, "Revoked is always contraindicated and cannot be listed");
        if (t == WARD_TCB_NOT_APPLICABLE)
            return perr(where, "NotApplicable is not a hardware TCB status");
        if (seen[t])
            return ward_err_set(WARD_ERR_FORMAT, "policy: %s: %s is listed twice", where,
                                ward_tcb_status_name(t));
        seen[t] = 1;
        p->tcb_class[t] = cls;
    }
    return WARD_OK;
}

static ward_err parse_tcb(const json_t *v, ward_policy *p)
{
    static const char *const allowed[] = {"accept", "warn", NULL};
    if (!json_is_object(v))
        return perr("tcb", "must be an object {accept, warn}");
    ward_err e = only_members(v, "tcb", allowed);
    if (e != WARD_OK)
        return e;
    const json_t *acc = json_object_get(v, "accept");
    const json_t *warn = json_object_get(v, "warn");
    if (acc == NULL)
        return perr("tcb", "\"accept\" is required");
    for (size_t i = 0; i < WARD_POLICY_N_TCB; i++)
        p->tcb_class[i] = TCB_CONTRA;
    uint8_t seen[WARD_POLICY_N_TCB] = {0};
    e = parse_tcb_list(acc, "tcb.accept", TCB_ACCEPT, seen, p);
    if (e == WARD_OK && warn != NULL)
        e = parse_tcb_list(warn, "tcb.warn", TCB_WARN, seen, p);
    return e;
}

typedef struct ref_field {
    const char *name;
    size_t width;
    size_t which; /* 0 measurement, 1 signer, 2 host_data, 3..6 rtmr0..3 */
} ref_field;

static hexlist *ref_slot(kind_ref *r, size_t which)
{
    switch (which) {
    case 0: return &r->measurement;
    case 1: return &r->signer;
    case 2: return &r->host_data;
    default: return &r->rtmr[which - 3];
    }
}

static ward_err parse_ref_kind(const json_t *v, ward_tee_kind kind, ward_policy *p)
{
    static const ref_field sw_fields[] = {{"measurement", 32, 0}, {"signer", 32, 1}};
    static const ref_field sgx_fields[] = {{"measurement", 32, 0}, {"signer", 32, 1}};
    static const ref_field tdx_fields[] = {{"mrtd", 48, 0},  {"signer", 48, 1},
                                           {"rtmr0", 48, 3}, {"rtmr1", 48, 4},
                                           {"rtmr2", 48, 5}, {"rtmr3", 48, 6}};
    static const ref_field snp_fields[] = {
        {"measurement", 48, 0}, {"signer", 48, 1}, {"host_data", 32, 2}};
    static const char *const sw_allowed[] = {"measurement", "signer", "product_id", "min_svn",
                                             NULL};
    static const char *const tdx_allowed[] = {"mrtd",  "signer", "rtmr0",   "rtmr1",
                                              "rtmr2", "rtmr3",  "min_svn", NULL};
    static const char *const snp_allowed[] = {"measurement", "signer", "host_data", "vmpl",
                                              "min_svn", NULL};
    const ref_field *fields;
    size_t n_fields;
    const char *const *allowed;
    const char *kname = ward_tee_kind_name(kind);
    switch (kind) {
    case WARD_TEE_KIND_SGX:
        fields = sgx_fields, n_fields = 2, allowed = sw_allowed;
        break;
    case WARD_TEE_KIND_TDX:
        fields = tdx_fields, n_fields = 6, allowed = tdx_allowed;
        break;
    case WARD_TEE_KIND_SNP:
        fields = snp_fields, n_fields = 3, allowed = snp_allowed;
        break;
    default:
        fields = sw_fields, n_fields = 2, allowed = sw_allowed;
        break;
    }
    char where[64];
    snprintf(where, sizeof where, "reference.%s", kname);
    if (!json_is_object(v))
        return perr(where, "must be an object");
    ward_err e = only_members(v, where, allowed);
    if (e != WARD_OK)
        return e;
    kind_ref *r = &p->ref[kind];
    r->present = 1;
    for (size_t i = 0; i < n_fields; i++) {
        const json_t *f = json_object_get(v, fields[i].name);
        if (f == NULL)
            continue;
        char fw[96];
        snprintf(fw, sizeof fw, "%s.%s", where, fields[i].name);
        e = get_hexlist(f, fw, fields[i].width, ref_slot(r, fields[i].which));
        if (e != WARD_OK)
            return e;
    }
    const json_t *f;
    uint64_t n = 0;
    if ((f = json_object_get(v, "product_id")) != NULL) {
        char fw[96];
        snprintf(fw, sizeof fw, "%s.product_id", where);
        if ((e = get_uint(f, fw, 0xffff, &n)) != WARD_OK)
            return e;
        r->has_product_id = 1;
        r->product_id = (uint16_t)n;
    }
    if ((f = json_object_get(v, "min_svn")) != NULL) {
        char fw[96];
        snprintf(fw, sizeof fw, "%s.min_svn", where);
        if ((e = get_uint(f, fw, 0xffff, &n)) != WARD_OK)
            return e;
        r->has_min_svn = 1;
        r->min_svn = (uint16_t)n;
    }
    if ((f = json_object_get(v, "vmpl")) != NULL) {
        if ((e = get_uint(f, "reference.snp.vmpl", 3, &n)) != WARD_OK)
            return e;
        p->snp_vmpl = (uint32_t)n;
    }
    return WARD_OK;
}

static ward_err parse_reference(const json_t *v, ward_policy *p)
{
    static const char *const allowed[] = {"ward-sw", "ward-sim", "sgx", "tdx", "snp", NULL};
    if (!json_is_object(v))
        return perr("reference", "must be an object keyed by TEE kind");
    ward_err e = only_members(v, "reference", allowed);
    if (e != WARD_OK)
        return e;
    const char *key;
    json_t *kv;
    json_object_foreach((json_t *)v, key, kv) {
        ward_tee_kind k = WARD_TEE_KIND_UNKNOWN;
        (void)ward_policy_kind_from_name(key, strlen(key), &k);
        if ((e = parse_ref_kind(kv, k, p)) != WARD_OK)
            return e;
    }
    return WARD_OK;
}

static ward_err parse_sw(const json_t *v, ward_policy *p)
{
    static const char *const allowed[] = {"pinned_certs", "enrolment_ca", NULL};
    if (!json_is_object(v))
        return perr("software_tee", "must be an object {pinned_certs, enrolment_ca}");
    ward_err e = only_members(v, "software_tee", allowed);
    if (e != WARD_OK)
        return e;
    const json_t *pins = json_object_get(v, "pinned_certs");
    if (pins != NULL &&
        (e = get_hexlist(pins, "software_tee.pinned_certs", WARD_SHA256_LEN, &p->pinned)) !=
            WARD_OK)
        return e;
    const json_t *cas = json_object_get(v, "enrolment_ca");
    if (cas == NULL)
        return WARD_OK;
    if (!json_is_array(cas) || json_array_size(cas) == 0)
        return perr("software_tee.enrolment_ca", "must be a non-empty array of PEM certificates");
    size_t n = json_array_size(cas);
    if (n > WARD_POLICY_MAX_VALUES)
        return perr("software_tee.enrolment_ca", "too many certificates");
    p->ca = calloc(n, sizeof *p->ca);
    p->ca_len = calloc(n, sizeof *p->ca_len);
    if (p->ca == NULL || p->ca_len == NULL)
        return ward_err_set(WARD_ERR_NOMEM, "policy: out of memory");
    for (size_t i = 0; i < n; i++) {
        const char *s = NULL;
        size_t len = 0;
        if ((e = get_str(json_array_get(cas, i), "software_tee.enrolment_ca", &s, &len)) !=
            WARD_OK)
            return e;
        ward_cert *c = NULL;
        if (ward_cert_from_pem(s, len, &c) != WARD_OK)
            return ward_err_wrap(WARD_ERR_FORMAT, "policy: software_tee.enrolment_ca[%zu]", i);
        int is_ca = ward_cert_is_ca(c);
        ward_cert_free(c);
        if (!is_ca)
            return ward_err_set(WARD_ERR_FORMAT,
                                "policy: software_tee.enrolment_ca[%zu]: not a CA certificate",
                                i);
        p->ca[i] = malloc(len + 1);
        if (p->ca[i] == NULL)
            return ward_err_set(WARD_ERR_NOMEM, "policy: out of memory");
        memcpy(p->ca[i], s, len);
        p->ca[i][len] = '\0';
        p->ca_len[i] = len;
        p->n_ca = i + 1;
    }
    return WARD_OK;
}

static ward_err parse_root(const json_t *root, ward_policy *p)
{
    static const char *const allowed[] = {"version",        "id",           "tee",
                                          "debug_allowed",  "tcb",          "max_age",
                                          "max_clock_skew", "accept_warning", "reference",
                                          "software_tee",   NULL};
    if (!json_is_object(root))
        return perr("document", "must be a JSON object");
    ward_err e = only_members(root, "document", allowed);
    if (e != WARD_OK)
        return e;
    const json_t *v = json_object_get(root, "version");
    uint64_t n = 0;
    if (v == NULL)
        return perr("version", "is required (1)");
    if ((e = get_uint(v, "version", UINT32_MAX, &n)) != WARD_OK)
        return e;
    if (n != 1)
        return ward_err_set(WARD_ERR_UNSUPPORTED, "policy: version %llu is not supported (1)",
                            (unsigned long long)n);
    if ((v = json_object_get(root, "id")) != NULL) {
        const char *s = NULL;
        size_t len = 0;
        if ((e = get_str(v, "id", &s, &len)) != WARD_OK)
            return e;
        if (len == 0 || len > WARD_POLICY_ID_MAX)
            return perr("id", "must be 1..255 bytes");
        for (size_t i = 0; i < len; i++)
            if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
                return perr("id", "must not contain control characters");
        memcpy(p->id, s, len);
        p->id[len] = '\0';
    } else {
        snprintf(p->id, sizeof p->id, "%s", WARD_POLICY_UNNAMED_ID);
    }
    if ((v = json_object_get(root, "tee")) != NULL && (e = parse_kinds(v, p)) != WARD_OK)
        return e;
    if ((v = json_object_get(root, "debug_allowed")) != NULL &&
        (e = get_bool(v, "debug_allowed", &p->debug_allowed)) != WARD_OK)
        return e;
    if ((v = json_object_get(root, "accept_warning")) != NULL &&
        (e = get_bool(v, "accept_warning", &p->accept_warning)) != WARD_OK)
        return e;
    if ((v = json_object_get(root, "tcb")) != NULL && (e = parse_tcb(v, p)) != WARD_OK)
        return e;
    if ((v = json_object_get(root, "max_age")) != NULL) {
        if ((e = get_uint(v, "max_age", WARD_POLICY_MAX_AGE_LIMIT, &n)) != WARD_OK)
            return e;
        p->max_age = n;
    }
    if ((v = json_object_get(root, "max_clock_skew")) != NULL) {
        if ((e = get_uint(v, "max_clock_skew", 3600, &n)) != WARD_OK)
            return e;
        p->max_skew = n;
    }
    if ((v = json_object_get(root, "reference")) != NULL &&
        (e = parse_reference(v, p)) != WARD_OK)
        return e;
    if ((v = json_object_get(root, "software_tee")) != NULL && (e = parse_sw(v, p)) != WARD_OK)
        return e;
    /* Contradictions. */
    for (size_t k = 0; k < WARD_POLICY_N_KINDS; k++) {
        if (p->ref[k].present && !(p->kinds & KIND_BIT(k)))
            return ward_err_set(WARD_ERR_FORMAT,
                                "policy: reference.%s: reference values for a TEE kind that "
                                "\"tee\" does not allow",
                                ward_tee_kind_name((ward_tee_kind)k));
    }
    if (p->tcb_class[WARD_TCB_UP_TO_DATE] != TCB_ACCEPT &&
        p->tcb_class[WARD_TCB_UP_TO_DATE] != TCB_WARN)
        return perr("tcb", "UpToDate must be accepted or a warning");
    return WARD_OK;
}

ward_err ward_policy_parse(const char *json, size_t len, ward_policy **out)
{
    if (out == NULL || (json == NULL && len != 0))
        return ward_err_set(WARD_ERR_INVALID_ARG, "policy: NULL argument");
    *out = NULL;
    if (len > WARD_POLICY_MAX_LEN)
        return ward_err_set(WARD_ERR_OVERFLOW, "policy: %zu bytes exceeds the %u-byte limit",
                            len, (unsigned)WARD_POLICY_MAX_LEN);
    json_t *root = NULL;
    ward_err e = ward_json_parse(json == NULL ? "" : json, len, &root);
    if (e != WARD_OK)
        return ward_err_wrap(WARD_ERR_FORMAT, "policy");
    ward_policy *p = malloc(sizeof *p);
    if (p == NULL) {
        json_decref(root);
        return ward_err_set(WARD_ERR_NOMEM, "policy: out of memory");
    }
    ward_policy_init_defaults(p);
    e = parse_root(root, p);
    json_decref(root);
    if (e != WARD_OK) {
        ward_policy_free(p);
        return e;
    }
    *out = p;
    return WARD_OK;
}

ward_err ward_policy_load(const char *path, ward_policy **out)
{
    if (path == NULL || out == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "policy: NULL argument");
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return ward_err_set(errno == ENOENT ? WARD_ERR_NOT_FOUND : WARD_ERR_IO,
                            "policy: cannot open %s: %s", path, strerror(errno));
    char *buf = malloc(WARD_POLICY_MAX_LEN + 1);
    if (buf == NULL) {
        fclose(f);
        return ward_err_set(WARD_ERR_NOMEM, "policy: out of memory");
    }
    size_t n = fread(buf, 1, WARD_POLICY_MAX_LEN + 1, f);
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return ward_err_set(WARD_ERR_IO, "policy: cannot read %s", path);
    }
    if (n > WARD_POLICY_MAX_LEN) {
        free(buf);
        return ward_err_set(WARD_ERR_OVERFLOW, "policy: %s is larger than %u bytes", path,
                            (unsigned)WARD_POLICY_MAX_LEN);
    }
    ward_err e = ward_policy_parse(buf, n, out);
    free(buf);
    if (e != WARD_OK)
        return ward_err_wrap(e, "%s", path);
    return WARD_OK;
}

/* ---- accessors ------------------------------------------------------------------------------ */

const char *ward_policy_id(const ward_policy *p)
{
    return p == NULL ? WARD_POLICY_DEFAULT_ID : p->id;
}

int ward_policy_allows_kind(const ward_policy *p, ward_tee_kind kind)
{
    if (p == NULL || (unsigned)kind >= WARD_POLICY_N_KINDS || kind == WARD_TEE_KIND_UNKNOWN)
        return 0;
    return (p->kinds & KIND_BIT(kind)) != 0;
}

uint64_t ward_policy_max_age(const ward_policy *p)
{
    return p == NULL ? 0 : p->max_age;
}

int ward_policy_accepts(const ward_policy *p, ward_ear_status s)
{
    if (s == WARD_EAR_AFFIRMING)
        return 1;
    if (s == WARD_EAR_WARNING)
        return p != NULL && p->accept_warning;
    return 0;
}

size_t ward_policy_sw_pinned_count(const ward_policy *p)
{
    return p == NULL ? 0 : p->pinned.n;
}

const uint8_t *ward_policy_sw_pinned(const ward_policy *p, size_t i)
{
    if (p == NULL || i >= p->pinned.n)
        return NULL;
    return p->pinned.v + i * WARD_SHA256_LEN;
}

int ward_policy_sw_cert_pinned(const ward_policy *p, const uint8_t *cert_der, size_t len)
{
    uint8_t fp[WARD_SHA256_LEN];
    if (p == NULL || cert_der == NULL || p->pinned.n == 0)
        return 0;
    if (ward_hash(WARD_HASH_SHA256, cert_der, len, fp) != WARD_OK)
        return 0;
    int found = 0;
    for (size_t i = 0; i < p->pinned.n; i++)
        found |= ward_ct_equal(fp, p->pinned.v + i * WARD_SHA256_LEN, WARD_SHA256_LEN);
    return found;
}

size_t ward_policy_sw_ca_count(const ward_policy *p)
{
    return p == NULL ? 0 : p->n_ca;
}

const char *ward_policy_sw_ca_pem(const ward_policy *p, size_t i, size_t *len)
{
    if (p == NULL || i >= p->n_ca)
        return NULL;
    if (len != NULL)
        *len = p->ca_len[i];
    return p->ca[i];
}
