/* libFuzzer target: evidence bundles (untrusted JSON from the network; include/ward/evidence.h).
 * Inputs of even length go through the built-in hardware verifiers with no trust material (so
 * the SEV certificate-table parser and the DCAP/SNP dispatch are reached and refuse); inputs of
 * odd length use a stand-in hardware verifier over "FAKEHW" || report_data[64] blobs, so that
 * the whole layered path, the binding check and the claims merge can succeed. Whatever is
 * accepted must satisfy the verifier's promises. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ward/evidence.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static ward_err fake_hw(void *ctx, ward_hw_kind kind, const uint8_t *ev, size_t len,
                        const uint8_t *aux, size_t aux_len, int64_t at, ward_claims *out)
{
    (void)ctx;
    (void)aux;
    (void)aux_len;
    (void)at;
    if (kind != WARD_HW_TDX || len != 70 || memcmp(ev, "FAKEHW", 6) != 0)
        return ward_err_set(WARD_ERR_VERIFY, "fake hardware: not mine");
    memset(out, 0, sizeof *out);
    out->kind = WARD_TEE_KIND_TDX;
    out->measurement_len = 48;
    out->signer_len = 48;
    out->tcb_status = WARD_TCB_UP_TO_DATE;
    memcpy(out->report_data, ev + 6, 64);
    return WARD_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ward_evidence_trust plain = {0};
    ward_evidence_trust fake = {.hw_verify = fake_hw};
    const ward_evidence_trust *t = (size & 1) ? &fake : &plain;
    ward_claims c;
    ward_evidence_result r;
    /* A fixed time inside the platform certificates the seeds carry. */
    ward_err err = ward_evidence_verify((const char *)data, size, t, INT64_C(1800000000), &c, &r);
    if (err != WARD_OK)
        return 0;
    /* Accepted: only through the hardware anchor (no software anchor was given), the binding
     * holds, the merged claims carry the TA's identity and report_data. */
    uint8_t want[64];
    ward_evidence_hw_binding(r.platform_key_id, want);
    if (!r.has_hw || r.anchor != WARD_ANCHOR_HARDWARE || memcmp(want, r.hw.report_data, 64) != 0 ||
        memcmp(c.report_data, r.report.report_data, 64) != 0 ||
        memcmp(c.measurement, r.report.measurement, 32) != 0 || c.kind != WARD_TEE_KIND_TDX ||
        memcmp(r.platform_key_id, r.report.platform_key_id, 32) != 0)
        __builtin_trap();
    return 0;
}
