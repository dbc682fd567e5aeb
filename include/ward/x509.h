/* X.509 certificates and CRLs over OpenSSL: make (self-signed or CA-signed, with custom
 * extensions), parse, and verify a chain at a given time with CRLs. */
#ifndef WARD_X509_H
#define WARD_X509_H

#include <stddef.h>
#include <stdint.h>

#include "ward/crypto.h"
#include "ward/err.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ward_cert ward_cert; /* wraps X509 */
typedef struct ward_crl ward_crl;   /* wraps X509_CRL */

/* ---- parse and encode ---------------------------------------------------------------------- */

ward_err ward_cert_from_der(const uint8_t *der, size_t len, ward_cert **out);
/* The first certificate in PEM text. */
ward_err ward_cert_from_pem(const char *pem, size_t len, ward_cert **out);
/* Every certificate in PEM text, in order (a chain file). *certs is a malloc'd array; free it
 * with ward_cert_list_free. Fails if there is none. */
ward_err ward_cert_list_from_pem(const char *pem, size_t len, ward_cert ***certs, size_t *n);
void ward_cert_list_free(ward_cert **certs, size_t n);
void ward_cert_free(ward_cert *cert);
/* A new reference to the same certificate. */
ward_cert *ward_cert_ref(ward_cert *cert);

/* Outputs malloc'd. */
ward_err ward_cert_to_der(const ward_cert *cert, uint8_t **der, size_t *len);
ward_err ward_cert_to_pem(const ward_cert *cert, char **pem, size_t *len);

/* ---- inspect -------------------------------------------------------------------------------- */

ward_err ward_cert_public_key(const ward_cert *cert, ward_pkey **out);
/* SHA-256 of the certificate's DER SubjectPublicKeyInfo. */
ward_err ward_cert_spki_sha256(const ward_cert *cert, uint8_t out[WARD_SHA256_LEN]);
/* SHA-256 of the whole DER certificate. */
ward_err ward_cert_fingerprint(const ward_cert *cert, uint8_t out[WARD_SHA256_LEN]);
/* Distinguished names in RFC 2253 form, malloc'd. */
ward_err ward_cert_subject(const ward_cert *cert, char **out);
ward_err ward_cert_issuer(const ward_cert *cert, char **out);
/* The subject's commonName, malloc'd; WARD_ERR_NOT_FOUND if there is none. */
ward_err ward_cert_common_name(const ward_cert *cert, char **out);
/* Serial number as lower-case hex, malloc'd. */
ward_err ward_cert_serial_hex(const ward_cert *cert, char **out);
/* Validity as Unix seconds. */
ward_err ward_cert_validity(const ward_cert *cert, int64_t *not_before, int64_t *not_after);
/* 1 if basicConstraints says CA. */
int ward_cert_is_ca(const ward_cert *cert);

/* The DER contents (the extnValue OCTET STRING's payload) of the extension with dotted oid:
 * *value malloc'd; *critical set if not NULL. WARD_ERR_NOT_FOUND if absent, WARD_ERR_FORMAT if
 * present more than once. */
ward_err ward_cert_extension(const ward_cert *cert, const char *oid, uint8_t **value,
                             size_t *len, int *critical);

/* ---- make ----------------------------------------------------------------------------------- */

typedef struct ward_cert_ext {
    const char *oid;       /* dotted decimal, e.g. "2.23.133.5.4.9" */
    const uint8_t *value;  /* DER contents of extnValue */
    size_t len;
    int critical;
} ward_cert_ext;

typedef struct ward_cert_spec {
    const char *common_name;          /* required */
    const char *organization;         /* optional */
    int64_t not_before, not_after;    /* Unix seconds */
    int is_ca;                        /* CA: keyCertSign|cRLSign; leaf: digitalSignature */
    int path_len;                     /* CA path length constraint, -1 for none */
    const char *const *dns_names;     /* subjectAltName dNSName entries (leaf), may be NULL */
    size_t n_dns_names;
    int server_auth, client_auth;     /* extendedKeyUsage for a leaf */
    const ward_cert_ext *extensions;  /* custom extensions, may be NULL */
    size_t n_extensions;
} ward_cert_spec;

/* Issues a certificate for subject_key (public half used). issuer NULL: self-signed, signed
 * by issuer_key which must then be subject_key's private half. Serial: 16 random bytes.
 * Signature: ECDSA with SHA-256 (P-256) or SHA-384 (P-384), or Ed25519. Adds subject and
 * authority key identifiers. */
ward_err ward_cert_create(const ward_cert_spec *spec, const ward_pkey *subject_key,
                          const ward_cert *issuer, const ward_pkey *issuer_key, ward_cert **out);

/* ---- CRLs and chain verification ------------------------------------------------------------ */

ward_err ward_crl_from_der(const uint8_t *der, size_t len, ward_crl **out);
ward_err ward_crl_from_pem(const char *pem, size_t len, ward_crl **out);
void ward_crl_free(ward_crl *crl);
/* Issues a CRL (for tests and the enrolment CA) revoking the given serials (hex). */
ward_err ward_crl_create(const ward_cert *issuer, const ward_pkey *issuer_key,
                         const char *const *revoked_serials_hex, size_t n_revoked,
                         int64_t this_update, int64_t next_update, ward_crl **out);

enum {
    /* Every certificate in the chain must have a CRL from its issuer among crls. */
    WARD_CHAIN_REQUIRE_CRLS = 1u << 0,
    /* Accept a chain that ends at a trusted intermediate (a pinned non-root certificate). */
    WARD_CHAIN_PARTIAL_OK = 1u << 1
};

/* Verifies leaf up to one of roots, through intermediates, at Unix time at (0: now), checking
 * signatures, validity periods, CA constraints and, for any CRL given, revocation (a CRL given
 * but out of date at `at` is an error). WARD_ERR_VERIFY with OpenSSL's reason and the depth
 * of the failing certificate in ward_errmsg(). */
ward_err ward_cert_verify_chain(const ward_cert *leaf, ward_cert *const *intermediates,
                                size_t n_intermediates, ward_cert *const *roots, size_t n_roots,
                                ward_crl *const *crls, size_t n_crls, int64_t at,
                                unsigned flags);

#ifdef __cplusplus
}
#endif
#endif
