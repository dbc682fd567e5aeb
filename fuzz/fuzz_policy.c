/* libFuzzer target: appraisal policies (JSON from relying parties). A policy that parses must
 * appraise fixed claims of every TEE kind without fault, with a status that matches its vector
 * and a reason for every non-affirming status; nothing may crash or leak. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ward/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ward_policy *p = NULL;
    if (ward_policy_parse((const char *)data, size, &p) != WARD_OK) {
        if (p != NULL)
            __builtin_trap();
        return 0;
    }
    (void)ward_policy_id(p);
    (void)ward_policy_max_age(p);
    for (size_t i = 0; i < ward_policy_sw_pinned_count(p); i++)
        if (ward_policy_sw_pinned(p, i) == NULL)
            __builtin_trap();
    for (size_t i = 0; i < ward_policy_sw_ca_count(p); i++) {
        size_t len = 0;
        const char *pem = ward_policy_sw_ca_pem(p, i, &len);
        if (pem == NULL || strlen(pem) != len)
            __builtin_trap();
    }
    static const ward_tee_kind kinds[] = {WARD_TEE_KIND_UNKNOWN, WARD_TEE_KIND_WARD_SW,
                                          WARD_TEE_KIND_WARD_SIM, WARD_TEE_KIND_SGX,
                                          WARD_TEE_KIND_TDX, WARD_TEE_KIND_SNP};
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        ward_claims c;
        memset(&c, 0, sizeof c);
        c.kind = kinds[k];
        c.measurement_len = (kinds[k] == WARD_TEE_KIND_TDX || kinds[k] == WARD_TEE_KIND_SNP)
                                ? 48
                                : 32;
        c.signer_len = c.measurement_len;
        c.tcb_status = (ward_tcb_status)(size % 9);
        c.debug = (int)(size & 1);
        c.svn = (uint16_t)size;
        ward_appraisal a;
        if (ward_policy_appraise(p, &c, data, size < 64 ? size : 64, 1000, 1000 + (int64_t)size,
                                 &a) != WARD_OK)
            __builtin_trap();
        if (a.status != WARD_EAR_AFFIRMING && a.n_reasons == 0)
            __builtin_trap();
        if ((int)ward_tv_status(&a.tv) > (int)a.status)
            __builtin_trap();
        if (kinds[k] == WARD_TEE_KIND_WARD_SW && a.status == WARD_EAR_AFFIRMING)
            __builtin_trap(); /* never better than warning */
    }
    ward_policy_free(p);
    return 0;
}
