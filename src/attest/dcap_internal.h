/* Shared between the Intel DCAP verifier's files (dcap_*.c): helpers (DER, PEM, times, raw JSON
 * spans), the parsed collateral, the PCK chain cache and the TCB evaluation. Not public. */
#ifndef WARD_ATTEST_DCAP_INTERNAL_H
#define WARD_ATTEST_DCAP_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "ward/claims.h"
#include "ward/crypto.h"
#include "ward/dcap.h"
#include "ward/err.h"
#include "ward/x509.h"

/* ---- limits -------------------------------------------------------------------------------- */

#define DCAP_MAX_JSON (1u << 20)      /* a collateral document */
#define DCAP_MAX_TCB_LEVELS 1024
#define DCAP_MAX_ADVISORIES 256       /* per level */
#define DCAP_MAX_MODULE_IDS 64
#define DCAP_MAX_PEM_LINE 1024

/* ---- helpers (dcap_util.c) ----------------------------------------------------------------- */

/* A DER reader over a bounded buffer. */
typedef struct dcap_der {
    const uint8_t *p;
    size_t n;
} dcap_der;

/* Reads the next TLV of *in into *tag / *val and advances *in. Only low tag numbers and DER's
 * minimal definite lengths are accepted. Returns 0, or -1 if malformed. */
int dcap_der_next(dcap_der *in, uint8_t *tag, dcap_der *val);

/* "YYYY-MM-DDTHH:MM:SSZ" (Intel PCS) to Unix seconds; WARD_ERR_FORMAT names `what`. */
ward_err dcap_parse_time(const char *s, size_t len, const char *what, int64_t *out);
/* Unix seconds as "YYYY-MM-DDTHH:MM:SSZ". */
void dcap_format_time(int64_t t, char buf[32]);

/* A decoded PEM block. */
typedef struct dcap_blob {
    uint8_t *p;
    size_t n;
} dcap_blob;

/* Splits PEM text strictly: only blocks "-----BEGIN label-----" .. "-----END label-----",
 * base64 lines (canonical: ward_base64_decode) ended by LF or CRLF, empty lines between blocks,
 * and, if allow_nul, one NUL byte at the very end. At most max blocks; *n of them into out
 * (free with dcap_blobs_free). WARD_ERR_FORMAT otherwise. */
ward_err dcap_pem_decode(const char *text, size_t len, const char *label, int allow_nul,
                         dcap_blob *out, size_t max, size_t *n);
void dcap_blobs_free(dcap_blob *b, size_t n);

/* In JSON text that ward_json_parse has accepted (an object), the exact bytes of the top-level
 * member key's value: *span points into text. WARD_ERR_NOT_FOUND if there is no such member. */
ward_err dcap_json_member_span(const char *text, size_t len, const char *key,
                               const char **span, size_t *span_len);

/* Lower-case hex of n bytes into buf (2n+1 bytes). */
void dcap_hex(const uint8_t *p, size_t n, char *buf);

uint16_t dcap_rd16(const uint8_t *p);
uint32_t dcap_rd32(const uint8_t *p);
uint64_t dcap_rd64(const uint8_t *p);

/* ---- collateral (dcap_tcbinfo.c, dcap_collateral.c) ---------------------------------------- */

typedef char dcap_advisory[WARD_CLAIMS_ADVISORY_LEN];

/* A level of a QE identity or TDX module identity. status WARD_TCB_UNKNOWN: not recognised. */
typedef struct dcap_isv_level {
    uint16_t isvsvn;
    ward_tcb_status status;
    int64_t date;
    dcap_advisory *adv;
    size_t n_adv;
} dcap_isv_level;

typedef struct dcap_tcb_level {
    uint8_t sgx[16];
    uint16_t pcesvn;
    uint8_t tdx[16];
    ward_tcb_status status;
    int64_t date;
    dcap_advisory *adv;
    size_t n_adv;
    size_t index; /* position in the document, for a stable order */
} dcap_tcb_level;

typedef struct dcap_module_id {
    char id[16];         /* "TDX_01"; "" for tdxModule */
    uint8_t mrsigner[48];
    uint8_t attributes[8];
    uint8_t attributes_mask[8];
    dcap_isv_level *levels; /* highest isvsvn first */
    size_t n_levels;
} dcap_module_id;

typedef struct dcap_tcb_info {
    int is_tdx;
    uint32_t version;
    int64_t issue_date, next_update;
    uint8_t fmspc[6];
    uint8_t pceid[2];
    uint32_t eval_number;
    int has_module;
    dcap_module_id module;   /* tdxModule (no levels) */
    dcap_module_id *mods;    /* tdxModuleIdentities */
    size_t n_mods;
    dcap_tcb_level *levels;  /* highest first (QVL's order) */
    size_t n_levels;
} dcap_tcb_info;

typedef struct dcap_qe_identity {
    int is_td;
    uint32_t version;
    int64_t issue_date, next_update;
    uint32_t eval_number;
    uint32_t miscselect, miscselect_mask;
    uint8_t attributes[16], attributes_mask[16];
    uint8_t mrsigner[32];
    uint16_t isvprodid;
    dcap_isv_level *levels; /* highest isvsvn first */
    size_t n_levels;
} dcap_qe_identity;

/* Parse the (already signature-checked) tcbInfo / enclaveIdentity JSON object text. */
ward_err dcap_tcb_info_parse(const char *text, size_t len, dcap_tcb_info *out);
void dcap_tcb_info_free(dcap_tcb_info *t);
ward_err dcap_qe_identity_parse(const char *text, size_t len, dcap_qe_identity *out);
void dcap_qe_identity_free(dcap_qe_identity *q);

/* A PCK chain verified against a collateral: shared by the cache and its users. */
typedef struct dcap_pck_entry {
    uint8_t key[WARD_SHA256_LEN]; /* SHA-256 of the certification data */
    int64_t not_before, not_after; /* the three certificates' common validity */
    ward_pkey *pub;                /* the PCK leaf's key */
    ward_dcap_pck_info info;
    unsigned refs;                 /* holders, the cache included; under the collateral lock */
} dcap_pck_entry;

struct ward_dcap_collateral {
    ward_cert *root;
    uint8_t *root_der;
    size_t root_der_len;
    int64_t root_nb, root_na;
    ward_crl *root_crl, *pck_crl;
    int64_t root_crl_this, root_crl_next, pck_crl_this, pck_crl_next;
    char *pck_crl_issuer;          /* RFC 2253 */
    int64_t tcb_signer_nb, tcb_signer_na, qe_signer_nb, qe_signer_na;
    dcap_tcb_info tcb;
    dcap_qe_identity qe;
    int64_t not_before, not_after;
    unsigned flags;
    pthread_mutex_t lock;
    dcap_pck_entry *cache[WARD_DCAP_PCK_CACHE];
    size_t cache_next;
};

/* WARD_OK if at lies in every validity window of c, else WARD_ERR_VERIFY saying which. */
ward_err dcap_collateral_check_time(const ward_dcap_collateral *c, int64_t at);

/* ---- PCK certificates (dcap_pck.c) --------------------------------------------------------- */

/* The SGX extensions' DER (the extnValue contents). */
ward_err dcap_parse_sgx_ext(const uint8_t *der, size_t len, ward_dcap_pck_info *out);

/* Verifies the type-5 certification data against c at `at`, or finds it in c's cache. *entry
 * holds a reference: give it back with dcap_pck_release. */
ward_err dcap_pck_get(const ward_dcap_collateral *c, const uint8_t *cert_data, size_t len,
                      int64_t at, dcap_pck_entry **entry, int *cached);
void dcap_pck_release(const ward_dcap_collateral *c, dcap_pck_entry *e);
/* Drops every cache entry (the collateral is being freed). */
void dcap_pck_cache_clear(ward_dcap_collateral *c);

/* ---- TCB evaluation (dcap_tcb.c) ----------------------------------------------------------- */

/* Matches the QE report against the identity; *level: its QE TCB level. */
ward_err dcap_qe_identity_match(const dcap_qe_identity *qe, const ward_dcap_sgx_report *r,
                                const dcap_isv_level **level);

/* TDX: the module identity for the TD report (QVL 4.1.2.4.11): MRSIGNERSEAM, SEAMATTRIBUTES. */
ward_err dcap_tdx_module_match(const dcap_tcb_info *t, const ward_dcap_td_report *td,
                               const dcap_module_id **mod);

/* Selects the TCB level and converges the status (QVL 4.1.2.4.17); fills the status and
 * advisories of *claims and the details in *res. */
ward_err dcap_tcb_evaluate(const dcap_tcb_info *t, const ward_dcap_pck_info *pck,
                           const ward_dcap_quote *q, const dcap_module_id *mod,
                           const dcap_isv_level *qe_level, ward_claims *claims,
                           ward_dcap_result *res);

#endif
