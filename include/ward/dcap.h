/* Intel SGX DCAP ECDSA quotes (v3) and TDX quotes (v4, v5): parse every field, and verify a quote
 * offline, from first principles, against Intel's collateral at a given time.
 *
 * What WARD_OK from ward_dcap_verify establishes (docs/attestation.md, "Intel SGX and TDX"):
 *  - the quote is well formed: version 3, 4 or 5; attestation key type 2 (ECDSA P-256); TEE type
 *    SGX (0) or TDX (0x81), SGX only in v3; Intel's QE vendor ID; every length field consistent
 *    (the signature data, the v4/v5 type-6 wrapper and the certification data end exactly where
 *    their sizes say). Bytes after the signature data are ignored (real quotes carry padding),
 *    and reported as trailing_len;
 *  - the certification data is a PCK certificate chain (type 5): exactly three PEM certificates,
 *    strictly encoded (canonical base64, DER that re-encodes identically), leaf "SGX PCK
 *    Certificate" -> intermediate "... CA" -> a root byte-identical to the trust anchor (the
 *    Intel SGX Root CA compiled in here, SHA-256 44A0196B...74D3), verified at `at` with the
 *    Root CA CRL and the PCK CRL, both required, neither listing a certificate of the chain;
 *  - the QE report is signed by the PCK key, and its REPORTDATA is SHA-256(attestation key ||
 *    QE authentication data) followed by 32 zero bytes;
 *  - the QE report matches the QE Identity (MISCSELECT and ATTRIBUTES under their masks,
 *    MRSIGNER, ISVPRODID), whose id fits the quote ("QE" for SGX, "TD_QE" for TDX);
 *  - the quote signature over the header and body verifies with the attestation key;
 *  - the TCB Info is for this platform (id SGX/TDX as the quote, FMSPC and PCEID of the PCK
 *    certificate) and, for TDX, the TDX module identity matches (MRSIGNERSEAM, SEAMATTRIBUTES);
 *  - TCB Info and QE Identity are signed by the TCB Signing certificate over the exact bytes of
 *    their JSON values as written, that certificate chains to the trust anchor and is not revoked;
 *  - `at` lies in every validity window: each certificate (notBefore and notAfter), each CRL
 *    (thisUpdate..nextUpdate), TCB Info and QE Identity (issueDate..nextUpdate), each taken as
 *    start <= at < end, as OpenSSL treats certificates and CRLs;
 *  - a TCB level matches (Intel QVL's rules: the PCK certificate's 16 component SVNs and PCESVN,
 *    never the report's CPUSVN; for TDX also TEE_TCB_SVN and the module identity), and the QE's
 *    ISVSVN is at or above some QE Identity level.
 * The TCB status (UpToDate, SWHardeningNeeded, ConfigurationNeeded,
 * ConfigurationAndSWHardeningNeeded, OutOfDate, OutOfDateConfigurationNeeded, Revoked), converged
 * as QVL does with the TDX module and QE statuses, and the advisory IDs are reported in the
 * claims: a non-UpToDate status, Revoked included, is a verified fact for a policy to judge, not a
 * verification failure. So is the debug attribute (SGX ATTRIBUTES.DEBUG, TD DEBUG bit).
 *
 * Refused (WARD_ERR_VERIFY unless said otherwise, reason in ward_errmsg()): any bad signature; a
 * chain that does not reach the trust anchor; a revoked certificate; anything out of date at
 * `at`; a QE identity mismatch; a TCB Info for another platform or TEE; a TDX module mismatch;
 * "TCB level not supported" (no TCB level or QE level qualifies: QVL's TCB_NOT_SUPPORTED, for
 * which claims have no value); an unrecognised status in the selected level. Malformed input is
 * WARD_ERR_FORMAT, input that ends early WARD_ERR_TRUNCATED, a well-formed quote this verifier
 * cannot check (P-384 key, certification data other than a PCK chain) WARD_ERR_UNSUPPORTED.
 *
 * Decisions where sources differ:
 *  - certificate notBefore is enforced as well as notAfter (dcap-qvl does; QVL does not);
 *  - TCB Info / QE Identity issueDate is enforced (issueDate <= at < nextUpdate);
 *  - the QE REPORTDATA's upper 32 bytes must be zero (go-tdx-guest; QVL checks only 32 bytes);
 *  - the PCK chain must be exactly three certificates, the root byte-identical to the anchor;
 *  - bytes after the signature data are accepted (QVL does; some verifiers refuse them);
 *  - a TD 1.5 quote (v5, body type 3) for which QVL's relaunch check says TD_RELAUNCH_ADVISED
 *    keeps its converged status (OutOfDate or OutOfDateConfigurationNeeded: the running TD does
 *    have the old TCB) and sets ward_dcap_result.td_relaunch_advised;
 *  - advisory IDs are the union, in this order and without repeats, of the selected TCB level's
 *    (the TDX level for TDX), the TDX module level's and the QE level's. More than
 *    WARD_CLAIMS_MAX_ADVISORIES are cut and ward_dcap_result.advisories_truncated is set.
 *
 * Collateral is loaded once (parsed, signatures and chains checked) and then shared: verifying
 * is thread-safe on one collateral object (freeing it is not, while verifications run). The collateral also caches the PCK chains it has
 * verified (keyed by SHA-256 of the certification data, at most WARD_DCAP_PCK_CACHE entries,
 * with the certificates' validity window), so that a platform's second quote costs two ECDSA
 * verifications rather than seven; WARD_DCAP_NO_PCK_CACHE turns this off. */
#ifndef WARD_DCAP_H
#define WARD_DCAP_H

#include <stddef.h>
#include <stdint.h>

#include "ward/claims.h"
#include "ward/err.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- quote layout ------------------------------------------------------------------------- */

#define WARD_DCAP_HEADER_LEN 48
#define WARD_DCAP_SGX_REPORT_LEN 384
#define WARD_DCAP_TD10_REPORT_LEN 584
#define WARD_DCAP_TD15_REPORT_LEN 648

#define WARD_DCAP_TEE_SGX 0x00000000u
#define WARD_DCAP_TEE_TDX 0x00000081u

/* v5 body types; v3 and v4 quotes are given the type their body has. */
#define WARD_DCAP_BODY_SGX 1u
#define WARD_DCAP_BODY_TD10 2u
#define WARD_DCAP_BODY_TD15 3u

/* Certification data types. */
#define WARD_DCAP_CERT_PCK_CHAIN 5u
#define WARD_DCAP_CERT_QE_REPORT 6u

/* SGX ATTRIBUTES flags (low byte) and TD attributes. */
#define WARD_DCAP_SGX_FLAG_DEBUG UINT64_C(0x02)
#define WARD_DCAP_TD_ATTR_DEBUG (UINT64_C(1) << 0)
#define WARD_DCAP_TD_ATTR_SEPT_VE_DISABLE (UINT64_C(1) << 28)

/* An SGX report body (the ISV enclave's, or the QE's), decoded. */
typedef struct ward_dcap_sgx_report {
    uint8_t cpusvn[16];
    uint32_t miscselect;
    uint8_t isvextprodid[16];
    uint8_t attributes[16]; /* flags (u64 LE) then XFRM (u64 LE), raw */
    uint64_t flags;         /* attributes[0..8) as a number */
    uint64_t xfrm;
    uint8_t mrenclave[32];
    uint8_t mrsigner[32];
    uint8_t configid[64];
    uint16_t isvprodid;
    uint16_t isvsvn;
    uint16_t configsvn;
    uint8_t isvfamilyid[16];
    uint8_t report_data[64];
} ward_dcap_sgx_report;

/* A TD report body 1.0 or 1.5, decoded. */
typedef struct ward_dcap_td_report {
    uint8_t tee_tcb_svn[16];
    uint8_t mrseam[48];
    uint8_t mrsignerseam[48];
    uint64_t seam_attributes;
    uint64_t td_attributes;
    uint64_t xfam;
    uint8_t mrtd[48];
    uint8_t mrconfigid[48];
    uint8_t mrowner[48];
    uint8_t mrownerconfig[48];
    uint8_t rtmr[4][48];
    uint8_t report_data[64];
    int is_15;                /* 1 for a TD 1.5 body: the two fields below are set */
    uint8_t tee_tcb_svn2[16];
    uint8_t mrservicetd[48];
} ward_dcap_td_report;

/* A parsed quote. Pointers point into the caller's buffer, which must outlive this. Nothing here
 * is verified. */
typedef struct ward_dcap_quote {
    uint16_t version;        /* 3, 4, 5 */
    uint16_t att_key_type;   /* 2 */
    uint32_t tee_type;       /* WARD_DCAP_TEE_SGX or WARD_DCAP_TEE_TDX */
    uint16_t qe_svn, pce_svn; /* v3 header fields (informational; zero in the TDX vectors) */
    uint8_t qe_vendor_id[16];
    uint8_t user_data[20];
    uint16_t body_type;      /* WARD_DCAP_BODY_* */
    const uint8_t *body;     /* the report body, body_len bytes */
    size_t body_len;
    int is_tdx;              /* 1: td is set; 0: sgx is set */
    ward_dcap_sgx_report sgx;
    ward_dcap_td_report td;
    const uint8_t *signed_data; /* what the attestation key signs: [0, signed_len) */
    size_t signed_len;
    const uint8_t *signature;   /* 64 bytes r||s */
    const uint8_t *attest_key;  /* 64 bytes x||y */
    const uint8_t *qe_report;   /* 384 bytes, signed by the PCK key */
    ward_dcap_sgx_report qe;    /* qe_report decoded */
    const uint8_t *qe_report_sig; /* 64 bytes r||s */
    const uint8_t *qe_auth_data;
    size_t qe_auth_len;
    uint16_t cert_type;         /* the (inner) certification data type, 1..5 */
    const uint8_t *cert_data;   /* type 5: the PEM chain */
    size_t cert_len;
    size_t quote_len;           /* bytes the quote occupies by its length fields */
    size_t trailing_len;        /* bytes after it in the input (ignored) */
} ward_dcap_quote;

/* Parses a quote: structure and lengths only, no cryptography. WARD_ERR_TRUNCATED if the input
 * ends before a length field says it should, WARD_ERR_FORMAT for inconsistent or invalid fields,
 * WARD_ERR_UNSUPPORTED for a version or key type not handled. */
ward_err ward_dcap_parse(const uint8_t *quote, size_t len, ward_dcap_quote *out);

/* The claims a parsed quote states, unverified (tcb_status WARD_TCB_UNKNOWN): for inspection. */
ward_err ward_dcap_quote_claims(const ward_dcap_quote *q, ward_claims *out);

/* ---- collateral --------------------------------------------------------------------------- */

/* The collateral, as Intel's PCS serves it. Each buffer is borrowed for the call only. */
typedef struct ward_dcap_collateral_src {
    /* PCS body {"tcbInfo":{...},"signature":"<r||s hex>"}: SGX or TDX TCB Info, v2 or v3. */
    const char *tcb_info;
    size_t tcb_info_len;
    /* PCS body {"enclaveIdentity":{...},"signature":"..."}: QE or TD_QE identity, v2. */
    const char *qe_identity;
    size_t qe_identity_len;
    /* PEM: the TCB Signing certificate, then the root (header TCB-Info-Issuer-Chain). */
    const char *tcb_signing_chain;
    size_t tcb_signing_chain_len;
    /* Optional PEM chain for the QE Identity (SGX-Enclave-Identity-Issuer-Chain); NULL: the
     * TCB Info's chain. */
    const char *qe_identity_chain;
    size_t qe_identity_chain_len;
    /* The Intel SGX Root CA CRL and the PCK CRL of the CA that issued the PCK certificates
     * (processor or platform), DER or PEM. */
    const uint8_t *root_ca_crl;
    size_t root_ca_crl_len;
    const uint8_t *pck_crl;
    size_t pck_crl_len;
} ward_dcap_collateral_src;

enum {
    /* Verify every PCK chain in full, every time. */
    WARD_DCAP_NO_PCK_CACHE = 1u << 0
};

#define WARD_DCAP_PCK_CACHE 64

typedef struct ward_dcap_options {
    /* The trust anchor, DER. NULL: the Intel SGX Root CA compiled in. Another anchor is for
     * tests and private PKIs only. */
    const uint8_t *root_ca_der;
    size_t root_ca_der_len;
    unsigned flags; /* WARD_DCAP_* */
} ward_dcap_options;

typedef struct ward_dcap_collateral ward_dcap_collateral;

/* Loads collateral: parses it, checks both JSON signatures, the signing chain(s) to the trust
 * anchor with the Root CA CRL (whose signature that checks), both CRLs' form (nextUpdate, CRL
 * number, authority key identifier) and issuers, and that everything is valid at time `at` (Unix
 * seconds; 0: now). The PCK CRL's signature is checked with each quote's PCK CA. opt may be
 * NULL. */
ward_err ward_dcap_collateral_load(const ward_dcap_collateral_src *src,
                                   const ward_dcap_options *opt, int64_t at,
                                   ward_dcap_collateral **out);

/* Loads dcap-qvl's QuoteCollateralV3 JSON: pck_crl_issuer_chain, root_ca_crl and pck_crl (hex
 * DER), tcb_info_issuer_chain, tcb_info and tcb_info_signature, qe_identity_issuer_chain,
 * qe_identity and qe_identity_signature. The signatures cover the tcb_info and qe_identity
 * strings exactly. pck_crl_issuer_chain is parsed but not needed: the PCK CRL is checked with
 * the intermediate carried in each quote. */
ward_err ward_dcap_collateral_load_qvl_json(const char *json, size_t len,
                                            const ward_dcap_options *opt, int64_t at,
                                            ward_dcap_collateral **out);

/* Loads from a directory: PREFIX "collateral.json" (the QVL JSON) if there is no PREFIX
 * "tcb_info.json"; otherwise PREFIX followed by "tcb_info.json", "qe_identity.json",
 * "tcb_signing_chain.pem", "root_ca_crl.der" and "pck_crl.der" (".pem" accepted for both
 * CRLs), and optionally "qe_identity_chain.pem". prefix may be NULL (""). */
ward_err ward_dcap_collateral_load_dir(const char *dir, const char *prefix,
                                       const ward_dcap_options *opt, int64_t at,
                                       ward_dcap_collateral **out);

void ward_dcap_collateral_free(ward_dcap_collateral *c);

/* What a loaded collateral is. */
typedef struct ward_dcap_collateral_info {
    int is_tdx;                 /* TCB Info id "TDX" (and QE identity "TD_QE") */
    uint32_t tcb_info_version;
    uint8_t fmspc[6];
    uint8_t pceid[2];
    uint32_t tcb_eval_number;   /* tcbEvaluationDataNumber of the TCB Info */
    uint32_t qe_eval_number;    /* ... of the QE Identity */
    int64_t not_before;         /* the window in which verification can succeed, */
    int64_t not_after;          /* not_before <= at < not_after: the intersection of every
                                 * validity period in the collateral */
    size_t n_tcb_levels;
} ward_dcap_collateral_info;

ward_err ward_dcap_collateral_get_info(const ward_dcap_collateral *c,
                                       ward_dcap_collateral_info *out);

/* ---- verification ------------------------------------------------------------------------- */

/* What the PCK certificate's SGX extensions (OID 1.2.840.113741.1.13.1) say. */
typedef struct ward_dcap_pck_info {
    uint8_t ppid[16];
    uint8_t comp_svn[16];   /* SGX TCB COMP01..16 SVN */
    uint16_t pcesvn;
    uint8_t cpusvn[16];
    uint8_t pceid[2];
    uint8_t fmspc[6];
    int sgx_type;           /* 0 Standard, 1 Scalable, 2 ScalableWithIntegrity */
    int has_platform_instance_id; /* Platform-CA certificates */
    uint8_t platform_instance_id[16];
    int has_configuration;
    int dynamic_platform, cached_keys, smt_enabled; /* -1 if absent */
    int platform_ca;        /* 1: issued by the PCK Platform CA, 0: the Processor CA */
} ward_dcap_pck_info;

/* Details of a verification beyond the normalised claims. */
typedef struct ward_dcap_result {
    ward_dcap_pck_info pck;
    ward_tcb_status sgx_level_status;  /* the matched SGX TCB level */
    ward_tcb_status tdx_level_status;  /* TDX: the matched TDX TCB level, before convergence */
    ward_tcb_status module_status;     /* TDX: the module identity level (UpToDate for a
                                        * TEE_TCB_SVN[1] of 0, which QVL treats as OK) */
    ward_tcb_status qe_status;         /* the QE identity level: UpToDate, OutOfDate, Revoked */
    ward_tcb_status status;            /* converged: the claims' tcb_status */
    int64_t tcb_date;                  /* tcbDate of the level that gave the status */
    uint32_t tcb_eval_number;
    uint32_t qe_eval_number;
    int td_relaunch_advised;           /* see the header comment */
    int advisories_truncated;
    size_t quote_len, trailing_len;
    int pck_chain_cached;              /* 1 if the PCK chain came from the collateral's cache */
} ward_dcap_result;

/* Verifies a quote against collateral at time `at` (Unix seconds; 0: now), and on WARD_OK fills
 * *out (which is zeroed on failure). The SGX vs TDX choice follows the quote; the collateral
 * must be for the same TEE and FMSPC. */
ward_err ward_dcap_verify(const uint8_t *quote, size_t len, const ward_dcap_collateral *c,
                          int64_t at, ward_claims *out);

/* The same, with the details in *detail (may be NULL). */
ward_err ward_dcap_verify_ex(const uint8_t *quote, size_t len, const ward_dcap_collateral *c,
                             int64_t at, ward_claims *out, ward_dcap_result *detail);

/* The compiled-in Intel SGX Root CA certificate (DER). */
const uint8_t *ward_dcap_intel_root_ca(size_t *len);

#ifdef __cplusplus
}
#endif
#endif
