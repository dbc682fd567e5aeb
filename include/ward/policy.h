/* Appraisal policy and appraisal (DESIGN 2 and 6; docs/attestation.md "Policy and results").
 *
 * A policy is a JSON document naming the TEE kinds a relying party accepts, reference values per
 * kind, whether debug is allowed, which TCB statuses are acceptable, the trust anchors of the
 * software TEE and the maximum evidence age. Appraising the normalised claims of one verified
 * piece of evidence (ward_claims, from any verifier) against it gives an AR4SI trustworthiness
 * vector, an EAR status (affirming / warning / contraindicated) and a human reason for every
 * decision that is not affirming. The software TEE is never better than `warning`, whatever the
 * policy says: its memory is isolated, not encrypted, and its keys are software keys. */
#ifndef WARD_POLICY_H
#define WARD_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "ward/claims.h"
#include "ward/err.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- EAR trust tiers and the AR4SI trustworthiness vector ---------------------------------- */

/* ear.status, with the numeric values of the CBOR encoding (draft-ietf-rats-ear). */
typedef enum ward_ear_status {
    WARD_EAR_NONE = 0,
    WARD_EAR_AFFIRMING = 2,
    WARD_EAR_WARNING = 32,
    WARD_EAR_CONTRAINDICATED = 96
} ward_ear_status;

/* "none", "affirming", "warning", "contraindicated". */
const char *ward_ear_status_name(ward_ear_status s);
/* Parses one of the four names (exact, lower case). WARD_ERR_FORMAT otherwise. */
ward_err ward_ear_status_parse(const char *name, size_t len, ward_ear_status *out);

/* The eight AR4SI trustworthiness claims, in the order of the EAR specification. */
typedef enum ward_tv_claim {
    WARD_TV_INSTANCE_IDENTITY = 0,
    WARD_TV_CONFIGURATION,
    WARD_TV_EXECUTABLES,
    WARD_TV_FILE_SYSTEM,
    WARD_TV_HARDWARE,
    WARD_TV_RUNTIME_OPAQUE,
    WARD_TV_STORAGE_OPAQUE,
    WARD_TV_SOURCED_DATA,
    WARD_TV_COUNT
} ward_tv_claim;

/* "instance-identity", "configuration", ... NULL for an out-of-range claim. */
const char *ward_tv_claim_name(ward_tv_claim c);
/* Index of a claim name; WARD_ERR_NOT_FOUND if it is not one of the eight. */
ward_err ward_tv_claim_parse(const char *name, size_t len, ward_tv_claim *out);

/* Standard code points (veraison trustclaim.go). Shared by every claim: */
#define WARD_TV_NO_CLAIM 0
#define WARD_TV_UNEXPECTED_EVIDENCE 1
#define WARD_TV_VERIFIER_MALFUNCTION (-1)
#define WARD_TV_CRYPTO_VALIDATION_FAILED 99
/* instance-identity */
#define WARD_TV_TRUSTWORTHY_INSTANCE 2
#define WARD_TV_UNTRUSTWORTHY_INSTANCE 96
#define WARD_TV_UNRECOGNIZED_INSTANCE 97
/* configuration */
#define WARD_TV_APPROVED_CONFIG 2
#define WARD_TV_NO_CONFIG_VULNS 3
#define WARD_TV_UNSAFE_CONFIG 32
#define WARD_TV_UNSUPPORTABLE_CONFIG 96
/* executables */
#define WARD_TV_APPROVED_RUNTIME 2
#define WARD_TV_APPROVED_BOOT 3
#define WARD_TV_UNSAFE_RUNTIME 32
#define WARD_TV_UNRECOGNIZED_RUNTIME 33
#define WARD_TV_CONTRAINDICATED_RUNTIME 96
/* file-system */
#define WARD_TV_APPROVED_FILES 2
#define WARD_TV_UNRECOGNIZED_FILES 32
#define WARD_TV_CONTRAINDICATED_FILES 96
/* hardware */
#define WARD_TV_GENUINE_HARDWARE 2
#define WARD_TV_UNSAFE_HARDWARE 32
#define WARD_TV_CONTRAINDICATED_HARDWARE 96
#define WARD_TV_UNRECOGNIZED_HARDWARE 97
/* runtime-opaque */
#define WARD_TV_ENCRYPTED_MEMORY 2
#define WARD_TV_ISOLATED_MEMORY 32
#define WARD_TV_VISIBLE_MEMORY 96
/* storage-opaque */
#define WARD_TV_HW_KEYS_ENCRYPTED_SECRETS 2
#define WARD_TV_SW_KEYS_ENCRYPTED_SECRETS 32
#define WARD_TV_UNENCRYPTED_SECRETS 96
/* sourced-data */
#define WARD_TV_TRUSTED_SOURCES 2
#define WARD_TV_UNTRUSTED_SOURCES 32
#define WARD_TV_CONTRAINDICATED_SOURCES 96

/* Values are int8 in -128..127; 0 means "no claim". */
typedef struct ward_trust_vector {
    int8_t v[WARD_TV_COUNT];
} ward_trust_vector;

/* Tier of one claim value: none for -1..1, affirming for |v| in 2..31, warning for 32..95,
 * contraindicated for >= 96 or <= -97. */
ward_ear_status ward_tv_value_tier(int v);
/* Worst tier over the eight claims (WARD_EAR_NONE if every claim is in the none band). */
ward_ear_status ward_tv_status(const ward_trust_vector *tv);

/* ---- policy --------------------------------------------------------------------------------- */

typedef struct ward_policy ward_policy;

#define WARD_POLICY_MAX_LEN (256u * 1024u) /* largest policy text accepted */
#define WARD_POLICY_ID_MAX 255             /* bytes in a policy id */
#define WARD_POLICY_DEFAULT_ID "policy://ward/default"

/* Parses a policy (strict: unknown members, floats, wrong hex lengths, duplicate keys and
 * contradictions are refused with WARD_ERR_FORMAT and a reason naming the member). */
ward_err ward_policy_parse(const char *json, size_t len, ward_policy **out);
/* Reads and parses a policy file (at most WARD_POLICY_MAX_LEN bytes). */
ward_err ward_policy_load(const char *path, ward_policy **out);
/* The default policy: every TEE kind but ward-sim allowed, no reference values, debug
 * contraindicated, TCB UpToDate accepted, SWHardeningNeeded / ConfigurationNeeded /
 * ConfigurationAndSWHardeningNeeded a warning, every other status contraindicated, SNP VMPL 0
 * required, no age limit, no software-TEE anchors, warnings not acceptable. The software TEE
 * comes out as `warning` at best. */
ward_err ward_policy_default(ward_policy **out);
void ward_policy_free(ward_policy *p);

/* Accessors (the pointers live as long as the policy). */
const char *ward_policy_id(const ward_policy *p);
/* 1 if kind is among the allowed TEE kinds. */
int ward_policy_allows_kind(const ward_policy *p, ward_tee_kind kind);
/* Maximum evidence age in seconds; 0 means no limit. */
uint64_t ward_policy_max_age(const ward_policy *p);
/* 1 if the policy accepts a result of status s as a success (affirming always; warning only
 * when the policy sets "accept_warning": true; never contraindicated or none). `ward verify`
 * uses this for its exit status. */
int ward_policy_accepts(const ward_policy *p, ward_ear_status s);

/* Software-TEE trust anchors, for the evidence verifier (the policy only carries them):
 * SHA-256 fingerprints of pinned platform certificates (of the DER certificate), and enrolment
 * CA certificates in PEM. A platform certificate chain is trusted if its leaf's fingerprint is
 * pinned, or if it chains to one of the CAs. */
size_t ward_policy_sw_pinned_count(const ward_policy *p);
/* The i-th fingerprint (32 bytes), NULL if i is out of range. */
const uint8_t *ward_policy_sw_pinned(const ward_policy *p, size_t i);
/* 1 if SHA-256(cert_der) is pinned, 0 if not (or on a hashing failure). */
int ward_policy_sw_cert_pinned(const ward_policy *p, const uint8_t *cert_der, size_t len);
size_t ward_policy_sw_ca_count(const ward_policy *p);
/* The i-th CA as NUL-terminated PEM text (one certificate), NULL if out of range. */
const char *ward_policy_sw_ca_pem(const ward_policy *p, size_t i, size_t *len);

/* ---- appraisal ------------------------------------------------------------------------------ */

#define WARD_APPRAISAL_MAX_REASONS 16
#define WARD_APPRAISAL_REASON_LEN 160
#define WARD_NONCE_MAX_LEN 64

typedef struct ward_appraisal {
    ward_ear_status status;  /* worst of the vector's tiers and of the freshness checks */
    ward_trust_vector tv;
    char policy_id[WARD_POLICY_ID_MAX + 1];
    /* One sentence per non-affirming decision ("debug enclave: debug is not allowed"). When more
     * than WARD_APPRAISAL_MAX_REASONS arise, the last one says that some were left out. */
    char reasons[WARD_APPRAISAL_MAX_REASONS][WARD_APPRAISAL_REASON_LEN];
    size_t n_reasons;
    uint8_t nonce[WARD_NONCE_MAX_LEN]; /* the expected nonce that was checked, if any */
    size_t nonce_len;
    int64_t evidence_time; /* as passed in (seconds since the epoch; 0 = unknown) */
} ward_appraisal;

/* Appraises verified claims against policy p (NULL = the default policy).
 * nonce (nonce_len 0..64; NULL/0 = no freshness challenge): must equal the first nonce_len bytes
 *   of claims->report_data.
 * evidence_time / now: seconds since the epoch. With a maximum age, evidence older than it, or
 *   without a time (0), is contraindicated; evidence more than 60 s in the future always is.
 * Always fills *out with a complete decision when it returns WARD_OK; errors are only for
 * unusable arguments. */
ward_err ward_policy_appraise(const ward_policy *p, const ward_claims *claims,
                              const uint8_t *nonce, size_t nonce_len, int64_t evidence_time,
                              int64_t now, ward_appraisal *out);

#ifdef __cplusplus
}
#endif
#endif
