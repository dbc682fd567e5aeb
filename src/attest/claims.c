/* Names of claim values, as they appear in results and policies. */
#include "ward/claims.h"

const char *ward_tee_kind_name(ward_tee_kind kind)
{
    switch (kind) {
    case WARD_TEE_KIND_WARD_SW: return "ward-sw";
    case WARD_TEE_KIND_WARD_SIM: return "ward-sim";
    case WARD_TEE_KIND_SGX: return "sgx";
    case WARD_TEE_KIND_TDX: return "tdx";
    case WARD_TEE_KIND_SNP: return "snp";
    case WARD_TEE_KIND_UNKNOWN: break;
    }
    return "unknown";
}

const char *ward_tcb_status_name(ward_tcb_status s)
{
    switch (s) {
    case WARD_TCB_UP_TO_DATE: return "UpToDate";
    case WARD_TCB_SW_HARDENING_NEEDED: return "SWHardeningNeeded";
    case WARD_TCB_CONFIGURATION_NEEDED: return "ConfigurationNeeded";
    case WARD_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED:
        return "ConfigurationAndSWHardeningNeeded";
    case WARD_TCB_OUT_OF_DATE: return "OutOfDate";
    case WARD_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED: return "OutOfDateConfigurationNeeded";
    case WARD_TCB_REVOKED: return "Revoked";
    case WARD_TCB_NOT_APPLICABLE: return "NotApplicable";
    case WARD_TCB_UNKNOWN: break;
    }
    return "Unknown";
}
