/* The evidence bundle (DESIGN 2 "Layered evidence" and 6): what an attester hands a verifier.
 *
 *   {"version": 1, "tee": "ward-sw" | "ward-sim",
 *    "report": b64url(200-byte TA report), "signature": b64url(64-byte raw r||s),
 *    "platform_cert_chain": [b64(DER), ...],   platform certificate first
 *    "hw": null | {"kind": "tdx"|"sgx", "quote": b64}
 *              | {"kind": "snp", "report": b64, "auxblob": b64 (optional)}
 *              | {"kind": "arm-cca", "token": b64}}
 *
 * Layout, strictness rules and the claims of a layered result: docs/formats.md, "Evidence
 * bundle", and docs/attestation.md, "Evidence and the software TEE".
 *
 * Layering. The TA report is signed by the node's platform attestation key. On TEE hardware the
 * node also obtains hardware evidence (a TDX/SGX quote, an SNP report, a CCA token) whose
 * report_data is SHA-256(DER SubjectPublicKeyInfo of the platform key) followed by 32 zero bytes
 * (ward_evidence_hw_binding), so that a verifier can check: hardware evidence -> platform key ->
 * TA report. Freshness (a verifier's nonce) lives in the TA report's report_data, which the
 * platform key signs; the hardware evidence binds only the key and may be collected once. */
#ifndef WARD_EVIDENCE_H
#define WARD_EVIDENCE_H

#include <stddef.h>
#include <stdint.h>

#include "ward/claims.h"
#include "ward/crypto.h"
#include "ward/dcap.h"
#include "ward/err.h"
#include "ward/report.h"
#include "ward/rot.h"
#include "ward/snp.h"
#include "ward/x509.h"

#ifdef __cplusplus
extern "C" {
#endif

#define WARD_EVIDENCE_VERSION 1
/* Limits a verifier enforces (and a producer respects). */
#define WARD_EVIDENCE_MAX_LEN ((size_t)4 << 20)     /* whole JSON text */
#define WARD_EVIDENCE_MAX_CHAIN 8                   /* platform_cert_chain entries */
#define WARD_EVIDENCE_MAX_CERT ((size_t)16 << 10)   /* one DER certificate */
#define WARD_HW_EVIDENCE_MAX ((size_t)1 << 20)      /* outblob / quote / token */
#define WARD_HW_AUX_MAX ((size_t)256 << 10)         /* auxblob */

/* ---- hardware evidence (attester side) ------------------------------------------------------ */

typedef enum ward_hw_kind {
    WARD_HW_NONE = 0,
    WARD_HW_TDX,     /* Intel TDX quote (v4, v5) */
    WARD_HW_SGX,     /* Intel SGX DCAP quote v3 */
    WARD_HW_SNP,     /* AMD SEV-SNP ATTESTATION_REPORT (+ certificate table) */
    WARD_HW_ARM_CCA  /* Arm CCA attestation token (collected; not verified by this build) */
} ward_hw_kind;

/* "tdx", "sgx", "snp", "arm-cca"; "none". */
const char *ward_hw_kind_name(ward_hw_kind kind);

typedef struct ward_hw_evidence {
    ward_hw_kind kind;
    uint8_t *evidence;  /* quote, report or token (malloc'd) */
    size_t evidence_len;
    uint8_t *aux;       /* SNP: the certificate table (configfs auxblob); NULL if none */
    size_t aux_len;
    char provider[32];  /* where it came from: "configfs-tsm/tdx_guest", "gramine", ... */
} ward_hw_evidence;

/* Frees the buffers and zeroes *hw. NULL is allowed. */
void ward_hw_evidence_clear(ward_hw_evidence *hw);

typedef enum ward_provider_kind {
    WARD_PROVIDER_AUTO = 0, /* configfs-tsm if usable, else Gramine if present, else none */
    WARD_PROVIDER_NONE,     /* software TEE only: no hardware evidence */
    WARD_PROVIDER_CONFIGFS, /* configfs-tsm (Linux >= 6.7): TDX, SEV-SNP, Arm CCA guests */
    WARD_PROVIDER_GRAMINE   /* Gramine's /dev/attestation pseudo-files: SGX DCAP */
} ward_provider_kind;

/* Parses "auto", "none", "configfs", "gramine". */
ward_err ward_provider_kind_parse(const char *name, ward_provider_kind *out);

/* Stages at which the test hook is called (tests emulate the kernel through it). */
typedef enum ward_provider_stage {
    WARD_PROVIDER_STAGE_CREATED = 1,  /* configfs: after mkdir of the entry */
    WARD_PROVIDER_STAGE_WRITTEN,      /* after inblob / user_report_data was written */
    WARD_PROVIDER_STAGE_REMOVING      /* configfs: before rmdir of the entry */
} ward_provider_stage;

typedef struct ward_hw_provider {
    ward_provider_kind kind;
    /* configfs-tsm report directory; NULL: /sys/kernel/config/tsm/report. */
    const char *configfs_root;
    /* Gramine's attestation directory; NULL: /dev/attestation. */
    const char *gramine_root;
    /* configfs: attempts when `generation` shows a concurrent writer; 0: 3. */
    unsigned max_attempts;
    /* Tests only: called with the entry directory (configfs) or the root (Gramine) at each
     * stage, to emulate what the kernel does (create attributes, bump `generation`, remove
     * attributes). NULL in production. A nonzero return aborts with WARD_ERR_IO. */
    int (*test_hook)(void *ctx, const char *dir, ward_provider_stage stage);
    void *test_ctx;
} ward_hw_provider;

/* Obtains hardware evidence over report_data (64 bytes) with provider p (NULL: auto, default
 * paths). With kind NONE, or AUTO when no TEE interface is present, returns WARD_OK with
 * out->kind == WARD_HW_NONE.
 *
 * configfs-tsm: mkdir ROOT/ward-<pid>-<random>; read `provider` (tdx_guest, sev_guest,
 * arm_cca_guest); then up to max_attempts times: read `generation` (g0), write the 64 bytes to
 * `inblob`, read `outblob` and (if present) `auxblob`, read `generation` (g1), and accept only
 * g1 == g0 + 1 (exactly our write); finally rmdir. A generation that moved otherwise on every
 * attempt is WARD_ERR_STATE ("concurrent writer"). AUTO moves on when ROOT is absent or mkdir
 * says ENXIO (no provider registered); any other failure is returned.
 * Gramine: reads `attestation_type` if present (must be "dcap"), writes `user_report_data`,
 * reads `quote` (an SGX quote). */
ward_err ward_hw_collect(const ward_hw_provider *p, const uint8_t report_data[64],
                         ward_hw_evidence *out);

/* The hardware report_data that binds a platform key: SHA-256(DER SPKI) || 32 zero bytes. */
void ward_evidence_hw_binding(const uint8_t key_id[WARD_SHA256_LEN], uint8_t out[64]);

/* ---- producing a bundle --------------------------------------------------------------------- */

/* Makes the bundle for a TA report (report_len must be WARD_REPORT_LEN) and its signature by
 * rot's platform key. The report must decode and name rot's platform key (platform_key_id);
 * the signature must verify with it (a cheap check that the caller paired them right).
 * Hardware evidence is collected with hw_provider (NULL: auto, default paths) over
 * ward_evidence_hw_binding(platform key id). *json malloc'd, NUL-terminated; *json_len may be
 * NULL. */
ward_err ward_evidence_make(const ward_rot *rot, const uint8_t *report, size_t report_len,
                            const uint8_t sig[WARD_REPORT_SIG_LEN],
                            const ward_hw_provider *hw_provider, char **json, size_t *json_len);

/* The same with hardware evidence already collected (hw NULL or kind NONE: none), so that a
 * daemon collects it once per platform key and reuses it. */
ward_err ward_evidence_make_with_hw(const ward_rot *rot, const uint8_t *report,
                                    size_t report_len, const uint8_t sig[WARD_REPORT_SIG_LEN],
                                    const ward_hw_evidence *hw, char **json, size_t *json_len);

/* A node-level report (no TA; `ward attest`): platform ward-sw, measurement = SHA-256 of the
 * running executable (/proc/self/exe, self-measured by the process that holds the platform
 * key: exactly as trustworthy as the node's root), signer all-zero (no TA signing key: the
 * mark of a node-level report), product id 0, SVN 0, no debug, a random instance id, the given
 * report_data and rot's platform key id. Signed with rot. */
ward_err ward_evidence_node_report(const ward_rot *rot, const uint8_t report_data[64],
                                   uint8_t report[WARD_REPORT_LEN],
                                   uint8_t sig[WARD_REPORT_SIG_LEN]);

/* SHA-256 of the running executable (/proc/self/exe). */
ward_err ward_evidence_self_measurement(uint8_t out[WARD_SHA256_LEN]);

/* ---- verifying a bundle --------------------------------------------------------------------- */

typedef struct ward_evidence_trust {
    /* Software-TEE anchors for the platform certificate: SHA-256 fingerprints of pinned
     * (whole DER) platform certificates, and/or enrolment CA certificates (with their CRLs,
     * checked when given). */
    const uint8_t (*pinned)[WARD_SHA256_LEN];
    size_t n_pinned;
    ward_cert *const *cas;
    size_t n_cas;
    ward_crl *const *crls;
    size_t n_crls;
    /* Hardware: DCAP collateral (SGX and/or TDX, any FMSPCs; each is tried whose TEE matches
     * the quote), an SNP verifier holding AMD's chains, and a VCEK/VLEK (DER or PEM) to use when
     * the bundle's auxblob carries none. */
    const ward_dcap_collateral *const *dcap;
    size_t n_dcap;
    ward_snp_verifier *snp;
    const uint8_t *snp_vek;
    size_t snp_vek_len;
    /* Optional: a verifier called for hardware evidence instead of the built-in ones (a kind
     * this build cannot verify, such as arm-cca; tests with a constructed fixture). It must
     * verify the evidence completely and fill *out, report_data included; the binding of the
     * platform key is still checked here. */
    ward_err (*hw_verify)(void *ctx, ward_hw_kind kind, const uint8_t *evidence, size_t len,
                          const uint8_t *aux, size_t aux_len, int64_t at, ward_claims *out);
    void *hw_verify_ctx;
    unsigned flags; /* WARD_EVIDENCE_* */
} ward_evidence_trust;

enum {
    /* Parse the platform certificate afresh instead of using the process-wide cache of parsed
     * platform certificates (keyed by SHA-256 of their DER, at most WARD_EVIDENCE_CERT_CACHE
     * entries, thread-safe; it holds the parsed certificate, its key, key id and validity,
     * never a verdict: every check is still made on every call). */
    WARD_EVIDENCE_NO_CACHE = 1u << 0
};
#define WARD_EVIDENCE_CERT_CACHE 32

/* How the platform key came to be trusted. */
typedef enum ward_anchor_kind {
    WARD_ANCHOR_NONE = 0,
    WARD_ANCHOR_PINNED,   /* the platform certificate's fingerprint is pinned */
    WARD_ANCHOR_CA,       /* the chain reaches an enrolment CA */
    WARD_ANCHOR_HARDWARE  /* only the hardware evidence binds the key (no software anchor) */
} ward_anchor_kind;

const char *ward_anchor_kind_name(ward_anchor_kind kind); /* "pinned", "ca", "hardware" */

/* Both layers, separately, for callers that want more than the merged claims. */
typedef struct ward_evidence_result {
    ward_report report;          /* the TA report, decoded */
    ward_claims ta;              /* the TA layer alone: kind ward-sw / ward-sim */
    int has_hw;
    ward_hw_kind hw_kind;
    ward_claims hw;              /* the hardware layer's own claims (when has_hw) */
    ward_anchor_kind anchor;
    uint8_t platform_key_id[WARD_SHA256_LEN];
    uint8_t platform_cert_sha256[WARD_SHA256_LEN];
    int node_level;              /* signer all-zero: a node-level report, no TA */
} ward_evidence_result;

/* Verifies a bundle at Unix time at (0: now) and, on WARD_OK, fills *out (the merged claims)
 * and *detail (may be NULL). Both are zeroed on failure.
 *
 * Always: strict JSON (no unknown or missing member, right types, canonical base64), a TA
 * report that decodes strictly and whose platform agrees with "tee", the report signature by
 * the platform certificate's key, and the report's platform_key_id equal to SHA-256 of that
 * key's SPKI.
 * Software anchor: when trust names any (pinned or CAs), the platform certificate must be
 * pinned (and valid at `at`: notBefore <= at < notAfter), or chain through the bundle's other
 * certificates to one of the CAs at `at` (with the CRLs given). Without hardware evidence an
 * anchor is required (WARD_ERR_VERIFY "no trust anchor ...").
 * Hardware (when "hw" is not null): verified with dcap.h / snp.h from the trust struct at `at`
 * (WARD_ERR_VERIFY if trust has nothing for that kind; arm-cca is WARD_ERR_UNSUPPORTED), and
 * its report_data must equal ward_evidence_hw_binding(platform key id) (WARD_ERR_VERIFY
 * "hardware report_data does not bind the platform key").
 *
 * Merged claims: without hardware, the TA layer (kind ward-sw or ward-sim, TCB status
 * NotApplicable). With hardware: kind, TCB status, advisories and the TEE-specific extras
 * (RTMRs, MRCONFIGID, HOST_DATA, SNP policy, chip id, VMPL, quote version) of the hardware;
 * measurement, signer, product id, SVN and report_data of the TA report (the code that runs
 * and its freshness); debug if either layer is debug. */
ward_err ward_evidence_verify(const char *json, size_t len, const ward_evidence_trust *trust,
                              int64_t at, ward_claims *out, ward_evidence_result *detail);

/* The software-TEE layer alone. Decodes report strictly (ward_report_decode), verifies the
 * signature (raw r||s, 64 bytes) with platform_cert's key, and checks that the report's
 * platform_key_id is SHA-256 of that key's SPKI. Fills *report (may be NULL) and *claims (kind
 * ward-sw or ward-sim, measurement, signer, product id, SVN, debug, TCB NotApplicable,
 * report_data, quote_version = report version). Does not judge the certificate. */
ward_err ward_sw_verify_report(const ward_cert *platform_cert, const uint8_t *report,
                               size_t report_len, const uint8_t *sig, size_t sig_len,
                               ward_report *out_report, ward_claims *claims);

/* The same with the platform key already extracted: key (EC P-256) and key_id (SHA-256 of its
 * SPKI). */
ward_err ward_sw_verify_report_key(const ward_pkey *key, const uint8_t key_id[WARD_SHA256_LEN],
                                   const uint8_t *report, size_t report_len, const uint8_t *sig,
                                   size_t sig_len, ward_report *out_report, ward_claims *claims);

/* Whether chain[0] (the platform certificate; chain[1..] intermediates) is anchored by trust
 * at time at: its DER fingerprint pinned (and at within its validity), or a chain to one of
 * trust's CAs. WARD_ERR_VERIFY with the reason otherwise, WARD_ERR_NOT_FOUND (message "no trust
 * anchor") if trust names none. */
ward_err ward_sw_check_anchor(const ward_evidence_trust *trust, ward_cert *const *chain,
                              size_t n, int64_t at, ward_anchor_kind *out);

/* The report_data that `ward attest --nonce` and verifiers use for a nonce of 1..64 bytes: the
 * nonce followed by zero bytes. */
ward_err ward_evidence_nonce_report_data(const uint8_t *nonce, size_t len, uint8_t out[64]);
/* WARD_OK if claims->report_data is exactly that for nonce; WARD_ERR_VERIFY otherwise. */
ward_err ward_evidence_check_nonce(const ward_claims *claims, const uint8_t *nonce, size_t len);

#ifdef __cplusplus
}
#endif
#endif
