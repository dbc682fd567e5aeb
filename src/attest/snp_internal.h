/* Shared between the SEV-SNP modules (snp_report, snp_vek, snp_verify, snp_hcl) and the fuzz
 * target: the small DER decoders for AMD's certificate extensions, the certificate-to-report
 * binding check and the pinned ARK keys. */
#ifndef WARD_ATTEST_SNP_INTERNAL_H
#define WARD_ATTEST_SNP_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "ward/err.h"
#include "ward/snp.h"
#include "ward/x509.h"

/* A DER INTEGER (whole input: tag 02, short-form length, minimal two's-complement content)
 * whose value is 0..255, as AMD's TCB extensions hold. what names it in errors. */
ward_err ward_snp_priv_der_u8(const uint8_t *der, size_t len, const char *what, uint8_t *out);

/* A DER INTEGER in 0..INT32_MAX (structVersion). */
ward_err ward_snp_priv_der_small_int(const uint8_t *der, size_t len, const char *what,
                                     int *out);

/* A DER IA5String (whole input) of printable ASCII, copied NUL-terminated into out[cap]. */
ward_err ward_snp_priv_der_ia5(const uint8_t *der, size_t len, const char *what, char *out,
                               size_t cap);

/* The hwID extension's payload: raw bytes, or the same wrapped in a DER OCTET STRING (both
 * forms are in use). The length must be the product's: 64 for Milan and Genoa, 8 for Turin. */
ward_err ward_snp_priv_hwid(const uint8_t *der, size_t len, ward_snp_product p, uint8_t out[64],
                            size_t *out_len);

/* Reads AMD's extensions of a VCEK (is_vlek 0) or VLEK (1) certificate of the given product
 * into info (product, product_name, struct_version, tcb, hwid, csp_id; not the validity). The
 * productName must name the product. */
ward_err ward_snp_priv_vek_decode(const ward_cert *cert, ward_snp_product p, int is_vlek,
                                  ward_snp_vek_info *info);

/* The certificate-to-report binding: r's REPORTED_TCB (decoded with vek->product; r must have
 * been decoded with it) equals the certificate's TCB, and for a VCEK CHIP_ID equals the hwID
 * followed by zeros. WARD_ERR_VERIFY with the differing values. */
ward_err ward_snp_priv_check_binding(const ward_snp_report *r, const ward_snp_vek_info *vek);

/* The product whose AMD ARK has this SubjectPublicKeyInfo SHA-256, or UNKNOWN. */
ward_snp_product ward_snp_priv_pinned_ark(const uint8_t spki_sha256[32]);

/* "Milan" -> MILAN etc. for exactly the product's name (len bytes, no NUL needed). */
ward_snp_product ward_snp_priv_product_from_name(const char *name, size_t len);

#endif
