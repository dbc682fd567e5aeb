/* Normalised attestation claims: what every verifier (ward-sw, SGX, TDX, SNP) produces, so that a
 * policy and an attestation result (EAR) look the same whatever the TEE was (DESIGN 6). */
#ifndef WARD_CLAIMS_H
#define WARD_CLAIMS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ward_tee_kind {
    WARD_TEE_KIND_UNKNOWN = 0,
    WARD_TEE_KIND_WARD_SW,  /* software TEE, sandbox backend */
    WARD_TEE_KIND_WARD_SIM, /* software TEE, debug simulation */
    WARD_TEE_KIND_SGX,
    WARD_TEE_KIND_TDX,
    WARD_TEE_KIND_SNP
} ward_tee_kind;

/* Intel's TCB statuses (TCB Info v3), with AMD's outcome mapped onto the same scale. */
typedef enum ward_tcb_status {
    WARD_TCB_UNKNOWN = 0,
    WARD_TCB_UP_TO_DATE,
    WARD_TCB_SW_HARDENING_NEEDED,
    WARD_TCB_CONFIGURATION_NEEDED,
    WARD_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED,
    WARD_TCB_OUT_OF_DATE,
    WARD_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED,
    WARD_TCB_REVOKED,
    WARD_TCB_NOT_APPLICABLE /* the software TEE has no hardware TCB */
} ward_tcb_status;

#define WARD_CLAIMS_MAX_ADVISORIES 32
#define WARD_CLAIMS_ADVISORY_LEN 24

typedef struct ward_claims {
    ward_tee_kind kind;
    /* MRENCLAVE (32) | MRTD (48) | SNP MEASUREMENT (48) | ward measurement (32) */
    uint8_t measurement[48];
    size_t measurement_len;
    /* MRSIGNER (32) | TDX MRSIGNERSEAM (48) | SNP ID key digest (48, zero if none) | ward signer (32) */
    uint8_t signer[48];
    size_t signer_len;
    uint16_t product_id; /* ISVPRODID; 0 where the TEE has none */
    uint16_t svn;        /* ISVSVN; TDX: TEE_TCB_SVN[0]; SNP: reported TCB's SNP SVN */
    int debug;           /* SGX/TDX DEBUG attribute, SNP policy DEBUG bit, ward debug attribute */
    ward_tcb_status tcb_status;
    char advisories[WARD_CLAIMS_MAX_ADVISORIES][WARD_CLAIMS_ADVISORY_LEN]; /* "INTEL-SA-00615" */
    size_t n_advisories;
    uint8_t report_data[64];
    /* TEE-specific extras that policies may name. */
    uint8_t tdx_rtmr[4][48];
    uint8_t tdx_mrconfigid[48];
    uint8_t snp_host_data[32];
    uint64_t snp_policy;
    uint8_t snp_chip_id[64];
    int snp_signed_by_vlek; /* 1 if the report was signed by a VLEK, 0 for a VCEK */
    uint32_t snp_vmpl;      /* VMPL the SNP report was requested from (0..3; policies want 0) */
    uint32_t quote_version; /* SGX/TDX quote version, SNP report version, ward report version */
} ward_claims;

const char *ward_tee_kind_name(ward_tee_kind kind);     /* "sgx", "tdx", "snp", "ward-sw", ... */
const char *ward_tcb_status_name(ward_tcb_status s);    /* "UpToDate", "OutOfDate", ... */

#ifdef __cplusplus
}
#endif
#endif
