/* AMD SEV-SNP attestation reports: parse every field, and verify a report offline against AMD's
 * certificate chain at a given time.
 *
 * What a successful verification establishes (docs/attestation.md, "AMD SEV-SNP"):
 *  - the 1184-byte ATTESTATION_REPORT (version 2, 3, 4 or 5) is well formed: every reserved
 *    field zero, SIGNATURE_ALGO 1, POLICY bit 17 set and no unknown POLICY bit set;
 *  - its ECDSA P-384/SHA-384 signature over bytes 0x000..0x29F verifies with the VCEK or VLEK
 *    named by the report's SIGNING_KEY field;
 *  - that certificate chains at time `at` to an AMD root key (ARK) by RSASSA-PSS: VCEK -> ASK ->
 *    ARK, VLEK -> ASVK -> ARK. The ARK must be one of AMD's (the SHA-256 of its public key is
 *    pinned here, for Milan, Genoa and Turin) unless WARD_SNP_ALLOW_UNPINNED_ARK is given;
 *  - the product (Milan, Genoa, Turin) agrees between the chain, the certificate's productName
 *    extension and, from report version 3 on, the report's CPUID;
 *  - REPORTED_TCB, decoded with that product's layout, equals the certificate's TCB extensions,
 *    and for a VCEK, CHIP_ID equals its hwID extension.
 * It does not judge the guest: MEASUREMENT, HOST_DATA, DEBUG, VMPL, the migration agent and the
 * TCB level are returned as claims for a policy to appraise. */
#ifndef WARD_SNP_H
#define WARD_SNP_H

#include <stddef.h>
#include <stdint.h>

#include "ward/claims.h"
#include "ward/err.h"

#ifdef __cplusplus
extern "C" {
#endif

#define WARD_SNP_REPORT_LEN 1184  /* 0x4A0 */
#define WARD_SNP_SIGNED_LEN 672   /* bytes 0x000..0x29F are signed */

/* Guest POLICY bits (SNP firmware ABI 56860; go-sev-guest ParseSnpPolicy). */
#define WARD_SNP_POLICY_ABI_MINOR_MASK UINT64_C(0xFF)
#define WARD_SNP_POLICY_ABI_MAJOR_MASK UINT64_C(0xFF00)
#define WARD_SNP_POLICY_SMT (UINT64_C(1) << 16)
#define WARD_SNP_POLICY_RESERVED_1 (UINT64_C(1) << 17) /* must be set */
#define WARD_SNP_POLICY_MIGRATE_MA (UINT64_C(1) << 18)
#define WARD_SNP_POLICY_DEBUG (UINT64_C(1) << 19)
#define WARD_SNP_POLICY_SINGLE_SOCKET (UINT64_C(1) << 20)
#define WARD_SNP_POLICY_CXL_ALLOW (UINT64_C(1) << 21)
#define WARD_SNP_POLICY_MEM_AES_256_XTS (UINT64_C(1) << 22)
#define WARD_SNP_POLICY_RAPL_DIS (UINT64_C(1) << 23)
#define WARD_SNP_POLICY_CIPHERTEXT_HIDING (UINT64_C(1) << 24)
#define WARD_SNP_POLICY_PAGE_SWAP_DISABLE (UINT64_C(1) << 25)
/* Bits 26..63 are not defined: a report that sets one is refused, since its meaning (which
 * might relax the guest's protection) cannot be judged. */
#define WARD_SNP_POLICY_KNOWN_MASK ((UINT64_C(1) << 26) - 1)

/* PLATFORM_INFO bits. Unknown bits are kept in platform_info, never refused (the real Turin
 * report sets bit 6, which the public libraries call reserved). */
#define WARD_SNP_PLATFORM_SMT_EN (UINT64_C(1) << 0)
#define WARD_SNP_PLATFORM_TSME_EN (UINT64_C(1) << 1)
#define WARD_SNP_PLATFORM_ECC_EN (UINT64_C(1) << 2)
#define WARD_SNP_PLATFORM_RAPL_DIS (UINT64_C(1) << 3)
#define WARD_SNP_PLATFORM_CIPHERTEXT_HIDING_EN (UINT64_C(1) << 4)
#define WARD_SNP_PLATFORM_ALIAS_CHECK_COMPLETE (UINT64_C(1) << 5)
#define WARD_SNP_PLATFORM_TIO_EN (UINT64_C(1) << 7)

typedef enum ward_snp_product {
    WARD_SNP_PRODUCT_UNKNOWN = 0,
    WARD_SNP_PRODUCT_MILAN,
    WARD_SNP_PRODUCT_GENOA,
    WARD_SNP_PRODUCT_TURIN
} ward_snp_product;

/* "Milan", "Genoa", "Turin", or "unknown". */
const char *ward_snp_product_name(ward_snp_product p);

/* The product from a report's CPUID family and model (virtee/sev identify_cpu): family 0x19
 * models 0x00-0x0F Milan, 0x10-0x1F and 0xA0-0xAF Genoa; family 0x1A models 0x00-0x11 Turin.
 * WARD_SNP_PRODUCT_UNKNOWN otherwise. */
ward_snp_product ward_snp_product_from_cpuid(uint8_t family, uint8_t model);

/* The report's SIGNING_KEY field (signer info bits 2..4). */
#define WARD_SNP_SIGNING_KEY_VCEK 0u
#define WARD_SNP_SIGNING_KEY_VLEK 1u
#define WARD_SNP_SIGNING_KEY_NONE 7u

/* A TCB_VERSION: the raw 8 bytes, and its components decoded with a product's layout.
 *   Milan, Genoa: byte 0 boot loader, 1 TEE, 2..5 reserved, 6 SNP, 7 microcode.
 *   Turin:        byte 0 FMC, 1 boot loader, 2 TEE, 3 SNP, 4..6 reserved, 7 microcode. */
typedef struct ward_snp_tcb {
    uint8_t raw[8];
    uint8_t fmc; /* Turin only; 0 on Milan and Genoa */
    uint8_t bootloader;
    uint8_t tee;
    uint8_t snp;
    uint8_t microcode;
} ward_snp_tcb;

/* Decodes raw with the layout of product p (WARD_ERR_INVALID_ARG if p is unknown). */
ward_err ward_snp_tcb_decode(const uint8_t raw[8], ward_snp_product p, ward_snp_tcb *out);

/* Every field of an ATTESTATION_REPORT, integers in host order. */
typedef struct ward_snp_report {
    uint32_t version;        /* 2, 3, 4 or 5 */
    uint32_t guest_svn;
    uint64_t policy;         /* WARD_SNP_POLICY_* */
    uint8_t family_id[16];
    uint8_t image_id[16];
    uint32_t vmpl;           /* 0..3 */
    uint32_t signature_algo; /* 1: ECDSA P-384 with SHA-384 */
    ward_snp_tcb current_tcb;
    uint64_t platform_info;  /* WARD_SNP_PLATFORM_* and any unknown bits, as reported */
    uint32_t signer_info;    /* raw word at 0x48 */
    int author_key_en;       /* signer info bit 0 */
    int mask_chip_key;       /* signer info bit 1 */
    unsigned signing_key;    /* WARD_SNP_SIGNING_KEY_VCEK or _VLEK (others are refused) */
    uint8_t report_data[64];
    uint8_t measurement[48];
    uint8_t host_data[32];
    uint8_t id_key_digest[48];
    uint8_t author_key_digest[48];
    uint8_t report_id[32];
    uint8_t report_id_ma[32];
    ward_snp_tcb reported_tcb; /* the TCB the VCEK/VLEK is issued for */
    uint8_t cpuid_fam_id;      /* version >= 3; 0 in version 2 */
    uint8_t cpuid_mod_id;
    uint8_t cpuid_step;
    uint8_t chip_id[64];
    ward_snp_tcb committed_tcb;
    uint8_t current_build, current_minor, current_major;
    uint8_t committed_build, committed_minor, committed_major;
    ward_snp_tcb launch_tcb;
    uint64_t launch_mit_vector;  /* version >= 5; 0 before */
    uint64_t current_mit_vector; /* version >= 5; 0 before */
    uint8_t signature_r[48];     /* big-endian (the report stores them little-endian) */
    uint8_t signature_s[48];
    /* The product from CPUID (version >= 3), or WARD_SNP_PRODUCT_UNKNOWN for version 2, which
     * carries no CPUID. The four TCBs are decoded with this product's layout, and with the
     * Milan/Genoa layout when it is unknown (version 2 reports come only from Milan and Genoa
     * firmware); ward_snp_report_set_product re-decodes them. Verification always decodes
     * with the product its certificate chain proves. */
    ward_snp_product product;
} ward_snp_report;

/* Parses exactly WARD_SNP_REPORT_LEN bytes. Checks the structure only (no signature):
 * WARD_ERR_TRUNCATED if shorter, WARD_ERR_FORMAT if longer or if a reserved field is not zero,
 * POLICY bit 17 is clear, VMPL > 3, SIGNING_KEY is not VCEK or VLEK, or a signature component
 * has non-zero bytes past its 48; WARD_ERR_UNSUPPORTED for an unknown version, signature
 * algorithm or POLICY bit. */
ward_err ward_snp_parse(const uint8_t *report, size_t len, ward_snp_report *out);

/* Re-decodes the four TCBs of r with product p and sets r->product. */
ward_err ward_snp_report_set_product(ward_snp_report *r, ward_snp_product p);

/* ---- verification ----------------------------------------------------------------------- */

/* What the VCEK or VLEK certificate says, after it was verified. */
typedef struct ward_snp_vek_info {
    int is_vlek;                /* 0: VCEK (CN SEV-VCEK), 1: VLEK (CN SEV-VLEK) */
    ward_snp_product product;   /* the chain's product */
    char product_name[32];      /* productName extension, e.g. "Milan-B0", "Genoa", "Turin" */
    int struct_version;         /* extension ...3704.1.1 (0 Milan/Genoa, 1 Turin); -1 if absent */
    ward_snp_tcb tcb;           /* TCB extensions; raw[] rebuilt in the product's layout */
    uint8_t hwid[64];           /* VCEK hwID: 64 bytes (Milan, Genoa) or 8 (Turin); none for VLEK */
    size_t hwid_len;
    char csp_id[128];           /* VLEK cspID extension, e.g. "CN=cc-us-east-2.amazonaws.com" */
    int64_t not_before;         /* the chain's validity window at verification: latest notBefore */
    int64_t not_after;          /* and earliest notAfter (valid for not_before <= t < not_after) */
} ward_snp_vek_info;

typedef struct ward_snp_result {
    ward_snp_report report;     /* TCBs decoded with the verified product */
    ward_snp_vek_info vek;
} ward_snp_result;

/* A verifier holds AMD chains (parsed once) and a small cache of verified VCEK/VLEK
 * certificates, so that verifying another report from a known chip costs one ECDSA P-384
 * verification. It may be shared between threads once configured (the cache is locked);
 * ward_snp_verifier_set_min_tcb must not race with verifications. */
typedef struct ward_snp_verifier ward_snp_verifier;

enum {
    /* Accept an ARK whose public key is not one of AMD's pinned keys (tests, new products).
     * The product then comes from the ARK's common name "ARK-<product>". */
    WARD_SNP_ALLOW_UNPINNED_ARK = 1u << 0
};

/* chain_pem: the AMD certificates of one or more products in any order, as AMD KDS serves
 * them (cert_chain: ASK then ARK) or as the vectors have them (ASK, ARK, ASVK): for each
 * product, "ARK-<P>" and at least one of "SEV-<P>" (ASK, issues VCEKs) and "SEV-VLEK-<P>"
 * (ASVK, issues VLEKs). Any other certificate, a duplicate, an unknown product, or an
 * unpinned ARK (without the flag) is refused. Signatures and validity are checked when a
 * report is verified, at that time. */
ward_err ward_snp_verifier_new(const char *chain_pem, size_t pem_len, unsigned flags,
                               ward_snp_verifier **out);
void ward_snp_verifier_free(ward_snp_verifier *v);

/* Optional TCB floor: with one, claims.tcb_status is WARD_TCB_UP_TO_DATE when every component
 * of REPORTED_TCB (FMC on Turin, boot loader, TEE, SNP, microcode) is at least the floor's and
 * WARD_TCB_OUT_OF_DATE otherwise (a policy decides what to accept). Without one (NULL, the
 * default), tcb_status is WARD_TCB_UNKNOWN: AMD publishes no offline TCB status. */
ward_err ward_snp_verifier_set_min_tcb(ward_snp_verifier *v, const ward_snp_tcb *floor);

/* Verifies report (WARD_SNP_REPORT_LEN bytes) with the VCEK or VLEK certificate vek (DER, or
 * PEM) at Unix time at (0: now) and fills claims (and detail, if not NULL) on success.
 * Errors: those of ward_snp_parse; WARD_ERR_VERIFY with the reason: the certificate is not a
 * VCEK/VLEK or not issued by one of the verifier's chains (another generation's, say), the
 * chain fails at `at` (signature, validity), the productName or CPUID names another product,
 * SIGNING_KEY names the other kind of key, REPORTED_TCB or CHIP_ID do not match the
 * certificate, the signature does not verify; WARD_ERR_FORMAT / _TRUNCATED for a malformed
 * certificate or extension. On failure claims and detail are zeroed. */
ward_err ward_snp_verifier_verify(ward_snp_verifier *v, const uint8_t *report, size_t len,
                                  const uint8_t *vek, size_t vek_len, int64_t at,
                                  ward_claims *claims, ward_snp_result *detail);

/* One call: a verifier for chain_pem (pinned ARKs only), one verification, freed. */
ward_err ward_snp_verify(const uint8_t *report, size_t len, const uint8_t *vek, size_t vek_len,
                         const char *chain_pem, size_t pem_len, int64_t at, ward_claims *out);

/* ---- Azure confidential VMs: the HCL report ---------------------------------------------- */

/* Azure's paravisor (HCL) wraps the SNP report: a 32-byte header ("HCLA", version, size,
 * request type, status), the 1184-byte hardware report, a 20-byte runtime-claims header
 * (data size, version, report type 2 = SNP, hash type, variable-data size) and the runtime
 * data (JSON with the HCL attestation key), then unsigned padding. Only the SNP report is
 * signed; the runtime data is bound by its hash in REPORT_DATA. */
typedef struct ward_snp_hcl {
    const uint8_t *report;        /* points into the input: WARD_SNP_REPORT_LEN bytes */
    const uint8_t *runtime_data;  /* points into the input */
    size_t runtime_data_len;
    uint32_t version;             /* HCL header version */
    uint32_t hash_type;           /* 1 SHA-256, 2 SHA-384, 3 SHA-512 */
} ward_snp_hcl;

/* Splits an HCL report, checking every size against len (bytes past the header's report size
 * are padding and ignored). WARD_ERR_FORMAT / _TRUNCATED / _UNSUPPORTED (not an SNP report,
 * unknown header version). */
ward_err ward_snp_hcl_parse(const uint8_t *hcl, size_t len, ward_snp_hcl *out);

/* Checks that report_data (64 bytes, from a verified report) is the hash of the runtime data,
 * with hash_type's algorithm, followed by zero bytes. WARD_ERR_VERIFY if not;
 * WARD_ERR_UNSUPPORTED for SHA-512 or an unknown hash type. */
ward_err ward_snp_hcl_check_binding(const ward_snp_hcl *hcl, const uint8_t report_data[64]);

#ifdef __cplusplus
}
#endif
#endif
