/* Appraisal: normalised claims + policy -> AR4SI trustworthiness vector, EAR status, reasons.
 * The mapping is documented in docs/attestation.md ("Policy and results"). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "attest/policy_internal.h"
#include "ward/crypto.h"

static void add_reason(ward_appraisal *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void add_reason(ward_appraisal *a, const char *fmt, ...)
{
    if (a->n_reasons >= WARD_APPRAISAL_MAX_REASONS)
        return;
    if (a->n_reasons == WARD_APPRAISAL_MAX_REASONS - 1) {
        snprintf(a->reasons[a->n_reasons++], WARD_APPRAISAL_REASON_LEN,
                 "further reasons were left out");
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a->reasons[a->n_reasons++], WARD_APPRAISAL_REASON_LEN, fmt, ap);
    va_end(ap);
}

/* Sets claim c to v unless it already holds a value of a worse (or equal non-none) tier. */
static void raise_claim(ward_trust_vector *tv, ward_tv_claim c, int v)
{
    int cur = tv->v[c];
    if (cur == 0 || (int)ward_tv_value_tier(v) > (int)ward_tv_value_tier(cur))
        tv->v[c] = (int8_t)v;
}

static int is_hw(ward_tee_kind k)
{
    return k == WARD_TEE_KIND_SGX || k == WARD_TEE_KIND_TDX || k == WARD_TEE_KIND_SNP;
}

static void hex_prefix(const uint8_t *v, size_t len, char *out, size_t cap)
{
    static const char digits[] = "0123456789abcdef";
    size_t o = 0;
    for (size_t i = 0; i < len && o + 3 < cap; i++) {
        out[o++] = digits[v[i] >> 4];
        out[o++] = digits[v[i] & 15];
    }
    if (len * 2 + 1 > cap && o >= 3)
        memcpy(out + o - 3, "...", 3);
    out[o] = '\0';
}

/* Checks one reference list; returns 1 if it was configured (match or not). */
static int check_list(ward_appraisal *a, const hexlist *h, const char *what, const uint8_t *v,
                      size_t len, int *mismatch)
{
    if (h->n == 0)
        return 0;
    if (!ward_policy_hexlist_has(h, v, len)) {
        char shown[24];
        hex_prefix(v, len, shown, sizeof shown);
        if (len != h->width)
            add_reason(a, "%s is %zu bytes; the policy's reference values are %zu bytes", what,
                       len, h->width);
        else
            add_reason(a, "%s %s is not among the policy's %zu reference value(s)", what, shown,
                       h->n);
        *mismatch = 1;
    }
    return 1;
}

static void appraise_freshness(const ward_policy *p, const ward_claims *c, const uint8_t *nonce,
                               size_t nonce_len, int64_t evidence_time, int64_t now,
                               ward_appraisal *a)
{
    int fresh = 1;
    if (nonce_len > 0 && !ward_ct_equal(c->report_data, nonce, nonce_len)) {
        add_reason(a, "the expected nonce (%zu bytes) is not at the start of report_data",
                   nonce_len);
        fresh = 0;
    }
    if (evidence_time > 0 && evidence_time > now &&
        (uint64_t)evidence_time - (uint64_t)now > p->max_skew) {
        add_reason(a, "the evidence is dated %llu s in the future (allowed skew %llu s)",
                   (unsigned long long)((uint64_t)evidence_time - (uint64_t)now),
                   (unsigned long long)p->max_skew);
        fresh = 0;
    }
    if (p->max_age > 0) {
        if (evidence_time == 0) {
            add_reason(a, "the evidence has no time but the policy limits its age to %llu s",
                       (unsigned long long)p->max_age);
            fresh = 0;
        } else if (now > evidence_time &&
                   (uint64_t)now - (uint64_t)evidence_time > p->max_age) {
            add_reason(a, "the evidence is %llu s old; the policy allows %llu s",
                       (unsigned long long)((uint64_t)now - (uint64_t)evidence_time),
                       (unsigned long long)p->max_age);
            fresh = 0;
        }
    }
    a->tv.v[WARD_TV_INSTANCE_IDENTITY] =
        (int8_t)(fresh ? WARD_TV_TRUSTWORTHY_INSTANCE : WARD_TV_UNTRUSTWORTHY_INSTANCE);
}

static void appraise_hardware(const ward_policy *p, const ward_claims *c, ward_appraisal *a)
{
    ward_tee_kind k = c->kind;
    if (!is_hw(k))
        return; /* the software TEE has no hardware evidence: no claim */
    ward_tcb_status t = c->tcb_status;
    char adv[96] = "";
    size_t o = 0;
    for (size_t i = 0; i < c->n_advisories && i < WARD_CLAIMS_MAX_ADVISORIES; i++) {
        int w = snprintf(adv + o, sizeof adv - o, "%s%.*s", i ? ", " : " (",
                         (int)strnlen(c->advisories[i], WARD_CLAIMS_ADVISORY_LEN),
                         c->advisories[i]);
        if (w < 0 || (size_t)w >= sizeof adv - o) {
            o = sizeof adv - 1;
            break;
        }
        o += (size_t)w;
    }
    if (c->n_advisories > 0 && o + 2 < sizeof adv) {
        adv[o++] = ')';
        adv[o] = '\0';
    }
    if ((unsigned)t >= WARD_POLICY_N_TCB || t == WARD_TCB_UNKNOWN ||
        t == WARD_TCB_NOT_APPLICABLE) {
        add_reason(a, "%s evidence without a hardware TCB status", ward_tee_kind_name(k));
        raise_claim(&a->tv, WARD_TV_HARDWARE, WARD_TV_UNRECOGNIZED_HARDWARE);
        return;
    }
    if (t == WARD_TCB_REVOKED) {
        add_reason(a, "TCB status Revoked%s", adv);
        raise_claim(&a->tv, WARD_TV_HARDWARE, WARD_TV_CONTRAINDICATED_HARDWARE);
        return;
    }
    switch (p->tcb_class[t]) {
    case TCB_ACCEPT:
        raise_claim(&a->tv, WARD_TV_HARDWARE, WARD_TV_GENUINE_HARDWARE);
        break;
    case TCB_WARN:
        add_reason(a, "TCB status %s is a warning under the policy%s", ward_tcb_status_name(t),
                   adv);
        raise_claim(&a->tv, WARD_TV_HARDWARE, WARD_TV_UNSAFE_HARDWARE);
        break;
    default:
        add_reason(a, "TCB status %s is not acceptable under the policy%s",
                   ward_tcb_status_name(t), adv);
        raise_claim(&a->tv, WARD_TV_HARDWARE, WARD_TV_CONTRAINDICATED_HARDWARE);
        break;
    }
}

static void appraise_configuration(const ward_policy *p, const ward_claims *c, ward_appraisal *a)
{
    int bad = 0, warn = 0;
    if (c->debug) {
        if (p->debug_allowed) {
            add_reason(a, "debug %s: allowed by the policy, but never better than warning",
                       ward_tee_kind_name(c->kind));
            warn = 1;
        } else {
            add_reason(a, "debug %s: debug is not allowed", ward_tee_kind_name(c->kind));
            bad = 1;
        }
    }
    if (c->kind == WARD_TEE_KIND_SNP) {
        if (c->snp_vmpl != p->snp_vmpl) {
            add_reason(a, "SNP report from VMPL %u; the policy requires VMPL %u",
                       (unsigned)c->snp_vmpl, (unsigned)p->snp_vmpl);
            bad = 1;
        }
        (void)check_list(a, &p->ref[WARD_TEE_KIND_SNP].host_data, "SNP HOST_DATA",
                         c->snp_host_data, sizeof c->snp_host_data, &bad);
    }
    if (bad)
        a->tv.v[WARD_TV_CONFIGURATION] = WARD_TV_UNSUPPORTABLE_CONFIG;
    else if (warn)
        a->tv.v[WARD_TV_CONFIGURATION] = WARD_TV_UNSAFE_CONFIG;
    else if (is_hw(c->kind) && c->tcb_status == WARD_TCB_UP_TO_DATE && c->n_advisories == 0 &&
             p->tcb_class[WARD_TCB_UP_TO_DATE] == TCB_ACCEPT)
        a->tv.v[WARD_TV_CONFIGURATION] = WARD_TV_NO_CONFIG_VULNS;
    else
        a->tv.v[WARD_TV_CONFIGURATION] = WARD_TV_APPROVED_CONFIG;
}

static void appraise_executables(const ward_policy *p, const ward_claims *c, ward_appraisal *a)
{
    const kind_ref *r = &p->ref[c->kind];
    int configured = 0, bad = 0;
    if (!r->present)
        return; /* no reference values: no claim about the executables */
    const char *mname = "measurement";
    const char *sname = "signer";
    switch (c->kind) {
    case WARD_TEE_KIND_SGX: mname = "MRENCLAVE", sname = "MRSIGNER"; break;
    case WARD_TEE_KIND_TDX: mname = "MRTD", sname = "MRSIGNERSEAM"; break;
    case WARD_TEE_KIND_SNP: mname = "MEASUREMENT", sname = "ID key digest"; break;
    default: break;
    }
    configured |= check_list(a, &r->measurement, mname, c->measurement, c->measurement_len, &bad);
    configured |= check_list(a, &r->signer, sname, c->signer, c->signer_len, &bad);
    if (c->kind == WARD_TEE_KIND_TDX) {
        static const char *const names[4] = {"RTMR0", "RTMR1", "RTMR2", "RTMR3"};
        for (size_t i = 0; i < 4; i++)
            configured |= check_list(a, &r->rtmr[i], names[i], c->tdx_rtmr[i],
                                     sizeof c->tdx_rtmr[i], &bad);
    }
    if (r->has_product_id) {
        configured = 1;
        if (c->product_id != r->product_id) {
            add_reason(a, "product id %u; the policy expects %u", (unsigned)c->product_id,
                       (unsigned)r->product_id);
            bad = 1;
        }
    }
    if (r->has_min_svn) {
        configured = 1;
        if (c->svn < r->min_svn) {
            add_reason(a, "SVN %u is below the policy's minimum %u", (unsigned)c->svn,
                       (unsigned)r->min_svn);
            bad = 1;
        }
    }
    if (!configured)
        return;
    a->tv.v[WARD_TV_EXECUTABLES] =
        (int8_t)(bad ? WARD_TV_CONTRAINDICATED_RUNTIME : WARD_TV_APPROVED_RUNTIME);
}

static void appraise_opaque(const ward_claims *c, ward_appraisal *a)
{
    switch (c->kind) {
    case WARD_TEE_KIND_SGX:
        a->tv.v[WARD_TV_RUNTIME_OPAQUE] = WARD_TV_ENCRYPTED_MEMORY;
        a->tv.v[WARD_TV_STORAGE_OPAQUE] = WARD_TV_HW_KEYS_ENCRYPTED_SECRETS;
        break;
    case WARD_TEE_KIND_TDX:
    case WARD_TEE_KIND_SNP:
        a->tv.v[WARD_TV_RUNTIME_OPAQUE] = WARD_TV_ENCRYPTED_MEMORY;
        break;
    case WARD_TEE_KIND_WARD_SW:
        add_reason(a, "software TEE: memory is isolated by the kernel, not encrypted; secrets "
                      "are under software keys (never better than warning)");
        a->tv.v[WARD_TV_RUNTIME_OPAQUE] = WARD_TV_ISOLATED_MEMORY;
        a->tv.v[WARD_TV_STORAGE_OPAQUE] = WARD_TV_SW_KEYS_ENCRYPTED_SECRETS;
        break;
    case WARD_TEE_KIND_WARD_SIM:
        add_reason(a, "in-process simulation: the TA's memory is visible to its host");
        a->tv.v[WARD_TV_RUNTIME_OPAQUE] = WARD_TV_VISIBLE_MEMORY;
        a->tv.v[WARD_TV_STORAGE_OPAQUE] = WARD_TV_SW_KEYS_ENCRYPTED_SECRETS;
        break;
    case WARD_TEE_KIND_UNKNOWN:
        break;
    }
}

ward_err ward_policy_appraise(const ward_policy *p, const ward_claims *claims,
                              const uint8_t *nonce, size_t nonce_len, int64_t evidence_time,
                              int64_t now, ward_appraisal *out)
{
    if (out == NULL || claims == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "appraise: NULL argument");
    if (nonce_len > WARD_NONCE_MAX_LEN || (nonce == NULL && nonce_len != 0))
        return ward_err_set(WARD_ERR_INVALID_ARG, "appraise: a nonce is 0..%u bytes",
                            (unsigned)WARD_NONCE_MAX_LEN);
    if (evidence_time < 0 || now < 0)
        return ward_err_set(WARD_ERR_INVALID_ARG, "appraise: negative time");
    if (claims->measurement_len > sizeof claims->measurement ||
        claims->signer_len > sizeof claims->signer ||
        claims->n_advisories > WARD_CLAIMS_MAX_ADVISORIES)
        return ward_err_set(WARD_ERR_INVALID_ARG, "appraise: inconsistent claim lengths");
    ward_policy def;
    if (p == NULL) {
        ward_policy_init_defaults(&def);
        p = &def;
    }
    memset(out, 0, sizeof *out);
    snprintf(out->policy_id, sizeof out->policy_id, "%s", p->id);
    if (nonce_len > 0)
        memcpy(out->nonce, nonce, nonce_len);
    out->nonce_len = nonce_len;
    out->evidence_time = evidence_time;

    ward_tee_kind k = claims->kind;
    if ((unsigned)k >= WARD_POLICY_N_KINDS || k == WARD_TEE_KIND_UNKNOWN) {
        add_reason(out, "unknown TEE kind");
        out->tv.v[WARD_TV_HARDWARE] = WARD_TV_UNRECOGNIZED_HARDWARE;
        appraise_freshness(p, claims, nonce, nonce_len, evidence_time, now, out);
        out->status = WARD_EAR_CONTRAINDICATED;
        return WARD_OK;
    }
    if (!(p->kinds & KIND_BIT(k))) {
        add_reason(out, "TEE kind %s is not allowed by the policy", ward_tee_kind_name(k));
        out->tv.v[WARD_TV_HARDWARE] = WARD_TV_UNRECOGNIZED_HARDWARE;
    }
    appraise_freshness(p, claims, nonce, nonce_len, evidence_time, now, out);
    appraise_hardware(p, claims, out);
    appraise_configuration(p, claims, out);
    appraise_executables(p, claims, out);
    appraise_opaque(claims, out);
    out->status = ward_tv_status(&out->tv);
    if (out->status == WARD_EAR_NONE)
        out->status = WARD_EAR_CONTRAINDICATED; /* cannot happen: instance-identity is set */
    return WARD_OK;
}
