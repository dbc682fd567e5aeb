/* X.509 certificates and CRLs over OpenSSL 3.0: parse and encode, inspect, issue (with custom
 * extensions), issue CRLs, and verify a chain at a given time.
 *
 * Every length that crosses into OpenSSL is checked against the type OpenSSL takes (long for
 * DER, int for PEM buffers and string setters). Every function frees what it allocated on every
 * path and leaves *out untouched (or NULL) on failure. */
#include <limits.h>
#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/pkey_internal.h"
#include "ward/crypto.h"
#include "ward/x509.h"

_Static_assert(sizeof(time_t) >= 8, "Ward needs a 64-bit time_t");

struct ward_cert {
    X509 *x509;
};

struct ward_crl {
    X509_CRL *crl;
};

/* Latest time we accept when making certificates and CRLs: 9999-12-31T23:59:59Z, the last
 * second GeneralizedTime can express with four year digits. */
#define MAX_CERT_TIME INT64_C(253402300799)
/* Serial numbers in CRL requests: RFC 5280 allows 20 octets; leave room for sloppy issuers. */
#define MAX_SERIAL_HEX 128
/* RFC 1035: a DNS name is at most 253 characters in text form. */
#define MAX_DNS_NAME 253
/* Key identifiers (RFC 7093 method 1): the leftmost 160 bits of SHA-256(subjectPublicKey). */
#define KEYID_LEN 20

/* ---- small helpers ------------------------------------------------------------------------ */

static ward_err wrap_cert(X509 *x, ward_cert **out)
{
    ward_cert *c = malloc(sizeof *c);
    if (c == NULL) {
        X509_free(x);
        return ward_err_set(WARD_ERR_NOMEM, "certificate: out of memory");
    }
    c->x509 = x;
    *out = c;
    return WARD_OK;
}

static ward_err wrap_crl(X509_CRL *x, ward_crl **out)
{
    ward_crl *c = malloc(sizeof *c);
    if (c == NULL) {
        X509_CRL_free(x);
        return ward_err_set(WARD_ERR_NOMEM, "CRL: out of memory");
    }
    c->crl = x;
    *out = c;
    return WARD_OK;
}

/* The contents of a memory BIO as a malloc'd NUL-terminated string. */
static ward_err bio_to_string(BIO *bio, const char *what, char **out, size_t *out_len)
{
    char *data = NULL;
    long n = BIO_get_mem_data(bio, &data);
    if (n < 0 || (n > 0 && data == NULL))
        return ward_err_ossl(WARD_ERR_CRYPTO, "%s: cannot read the output buffer", what);
    size_t len = (size_t)n;
    if (len == SIZE_MAX)
        return ward_err_set(WARD_ERR_OVERFLOW, "%s: output too large", what);
    char *s = malloc(len + 1);
    if (s == NULL)
        return ward_err_set(WARD_ERR_NOMEM, "%s: out of memory", what);
    if (len != 0)
        memcpy(s, data, len);
    s[len] = '\0';
    *out = s;
    if (out_len != NULL)
        *out_len = len;
    return WARD_OK;
}

/* A distinguished name in RFC 2253 form (OpenSSL's XN_FLAG_RFC2253). */
static ward_err name_to_string(const X509_NAME *name, const char *what, char **out)
{
    BIO *bio = BIO_new(BIO_s_mem());
    if (bio == NULL)
        return ward_err_ossl(WARD_ERR_NOMEM, "%s: out of memory", what);
    ward_err err;
    if (X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253) < 0)
        err = ward_err_ossl(WARD_ERR_FORMAT, "%s: cannot print the name", what);
    else
        err = bio_to_string(bio, what, out, NULL);
    BIO_free(bio);
    return err;
}

/* Howard Hinnant's days_from_civil: days since 1970-01-01 of a proleptic Gregorian date. */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static ward_err asn1_time_to_unix(const ASN1_TIME *t, const char *what, int64_t *out)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
        return ward_err_ossl(WARD_ERR_FORMAT, "%s: malformed time", what);
    int64_t days = days_from_civil((int64_t)tm.tm_year + 1900, (int64_t)tm.tm_mon + 1,
                                   (int64_t)tm.tm_mday);
    *out = days * 86400 + (int64_t)tm.tm_hour * 3600 + (int64_t)tm.tm_min * 60 +
           (int64_t)tm.tm_sec;
    return WARD_OK;
}

static ward_err check_time_range(int64_t t, const char *what)
{
    if (t < 0 || t > MAX_CERT_TIME)
        return ward_err_set(WARD_ERR_INVALID_ARG,
                            "%s: time %lld is outside 1970-01-01..9999-12-31", what, (long long)t);
    return WARD_OK;
}

/* A fresh ASN1_TIME (UTCTime up to 2049, GeneralizedTime after, as RFC 5280 asks). */
static ASN1_TIME *unix_to_asn1_time(int64_t t)
{
    return ASN1_TIME_set(NULL, (time_t)t);
}

/* Key identifier of a certificate's public key: RFC 7093 method 1. */
static ward_err key_id(const X509 *x, unsigned char id[KEYID_LEN])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    if (X509_pubkey_digest(x, EVP_sha256(), md, &md_len) != 1 || md_len < KEYID_LEN)
        return ward_err_ossl(WARD_ERR_CRYPTO, "certificate: cannot hash the public key");
    memcpy(id, md, KEYID_LEN);
    return WARD_OK;
}

/* The identifier an issuer's certificates carry in authorityKeyIdentifier: the issuer's
 * subjectKeyIdentifier if it has one, else one computed from its key. */
static ward_err authority_key_id(const X509 *issuer, ASN1_OCTET_STRING **out)
{
    const ASN1_OCTET_STRING *skid = X509_get0_subject_key_id((X509 *)issuer);
    ASN1_OCTET_STRING *id = NULL;
    if (skid != NULL) {
        id = ASN1_OCTET_STRING_dup(skid);
    } else {
        unsigned char buf[KEYID_LEN];
        ward_err err = key_id(issuer, buf);
        if (err)
            return err;
        id = ASN1_OCTET_STRING_new();
        if (id != NULL && ASN1_OCTET_STRING_set(id, buf, KEYID_LEN) != 1) {
            ASN1_OCTET_STRING_free(id);
            id = NULL;
        }
    }
    if (id == NULL)
        return ward_err_ossl(WARD_ERR_NOMEM, "certificate: out of memory");
    *out = id;
    return WARD_OK;
}

/* Digest for signing with key: SHA-256 for P-256, SHA-384 for P-384, none for Ed25519. */
static ward_err signing_md(const ward_pkey *key, const EVP_MD **md)
{
    switch (ward_pkey_type(key)) {
    case WARD_KEY_EC_P256: *md = EVP_sha256(); return WARD_OK;
    case WARD_KEY_EC_P384: *md = EVP_sha384(); return WARD_OK;
    case WARD_KEY_ED25519: *md = NULL; return WARD_OK;
    default: break;
    }
    return ward_err_set(WARD_ERR_UNSUPPORTED,
                        "certificate: the issuer key must be EC P-256, EC P-384 or Ed25519");
}

static int is_ca_cert(const X509 *x)
{
    return (X509_get_extension_flags((X509 *)x) & EXFLAG_CA) != 0;
}

/* ---- parse and encode --------------------------------------------------------------------- */

static ward_err check_input(const void *in, size_t len, size_t max, const char *what)
{
    if (in == NULL && len != 0)
        return ward_err_set(WARD_ERR_INVALID_ARG, "%s: NULL input", what);
    if (len == 0)
        return ward_err_set(WARD_ERR_FORMAT, "%s: empty input", what);
    if (len > max)
        return ward_err_set(WARD_ERR_OVERFLOW, "%s: input of %zu bytes is too large", what, len);
    return WARD_OK;
}

static ward_err x509_from_der(const uint8_t *der, size_t len, X509 **out)
{
    ward_err err = check_input(der, len, (size_t)LONG_MAX, "certificate");
    if (err)
        return err;
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    if (x == NULL)
        return ward_err_ossl(WARD_ERR_FORMAT, "certificate: malformed DER");
    size_t used = (size_t)(p - der);
    if (used != len) {
        X509_free(x);
        return ward_err_set(WARD_ERR_FORMAT, "certificate: %zu bytes after the DER certificate",
                            len - used);
    }
    *out = x;
    return WARD_OK;
}

ward_err ward_cert_from_der(const uint8_t *der, size_t len, ward_cert **out)
{
    if (out == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "certificate: NULL output");
    *out = NULL;
    X509 *x = NULL;
    ward_err err = x509_from_der(der, len, &x);
    if (err)
        return err;
    return wrap_cert(x, out);
}

/* Reads the next PEM block labelled label (skipping others) from bio: *der is the decoded
 * contents (OPENSSL_free), NULL when the text has no more blocks. */
static ward_err pem_next(BIO *bio, const char *label, const char *alt_label, const char *what,
                         unsigned char **der, size_t *der_len)
{
    *der = NULL;
    *der_len = 0;
    for (;;) {
        char *name = NULL, *header = NULL;
        unsigned char *data = NULL;
        long data_len = 0;
        ERR_clear_error();
        if (PEM_read_bio(bio, &name, &header, &data, &data_len) != 1) {
            unsigned long e = ERR_peek_last_error();
            if (ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE) {
                ERR_clear_error();
                return WARD_OK; /* no further BEGIN line: the end of the text */
            }
            return ward_err_ossl(WARD_ERR_FORMAT, "%s: malformed PEM", what);
        }
        int match = strcmp(name, label) == 0 || (alt_label && strcmp(name, alt_label) == 0);
        OPENSSL_free(name);
        OPENSSL_free(header);
        if (match && data_len > 0) {
            *der = data;
            *der_len = (size_t)data_len;
            return WARD_OK;
        }
        OPENSSL_free(data);
        if (match)
            return ward_err_set(WARD_ERR_FORMAT, "%s: empty PEM block", what);
    }
}

static ward_err pem_bio(const char *pem, size_t len, const char *what, BIO **out)
{
    ward_err err = check_input(pem, len, (size_t)INT_MAX, what);
    if (err)
        return err;
    *out = BIO_new_mem_buf(pem, (int)len);
    if (*out == NULL)
        return ward_err_ossl(WARD_ERR_NOMEM, "%s: out of memory", what);
    return WARD_OK;
}

ward_err ward_cert_from_pem(const char *pem, size_t len, ward_cert **out)
{
    if (out == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "certificate: NULL output");
    *out = NULL;
    BIO *bio = NULL;
    ward_err err = pem_bio(pem, len, "certificate", &bio);
    if (err)
        return err;
    unsigned char *der = NULL;
    size_t der_len = 0;
    err = pem_next(bio, PEM_STRING_X509, PEM_STRING_X509_OLD, "certificate", &der, &der_len);
    BIO_free(bio);
    if (err)
        return err;
    if (der == NULL)
        return ward_err_set(WARD_ERR_FORMAT, "certificate: no CERTIFICATE block in the PEM text");
    err = ward_cert_from_der(der, der_len, out);
    OPENSSL_free(der);
    return err;
}

void ward_cert_list_free(ward_cert **certs, size_t n)
{
    if (certs == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        ward_cert_free(certs[i]);
    free(certs);
}

ward_err ward_cert_list_from_pem(const char *pem, size_t len, ward_cert ***certs, size_t *n)
{
    if (certs == NULL || n == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "certificate list: NULL output");
    *certs = NULL;
    *n = 0;
    BIO *bio = NULL;
    ward_err err = pem_bio(pem, len, "certificate list", &bio);
    if (err)
        return err;
    ward_cert **list = NULL;
    size_t count = 0, cap = 0;
    for (;;) {
        unsigned char *der = NULL;
        size_t der_len = 0;
        err = pem_next(bio, PEM_STRING_X509, PEM_STRING_X509_OLD, "certificate list", &der,
                       &der_len);
        if (err || der == NULL)
            break;
        if (count == cap) {
            size_t ncap = cap ? cap * 2 : 4;
            if (ncap > SIZE_MAX / sizeof *list) {
                OPENSSL_free(der);
                err = ward_err_set(WARD_ERR_OVERFLOW, "certificate list: too many certificates");
                break;
            }
            ward_cert **grown = realloc(list, ncap * sizeof *list);
            if (grown == NULL) {
                OPENSSL_free(der);
                err = ward_err_set(WARD_ERR_NOMEM, "certificate list: out of memory");
                break;
            }
            list = grown;
            cap = ncap;
        }
        err = ward_cert_from_der(der, der_len, &list[count]);
        OPENSSL_free(der);
        if (err) {
            ward_err_wrap(err, "certificate list: certificate %zu", count + 1);
            break;
        }
        count++;
    }
    BIO_free(bio);
    if (err == WARD_OK && count == 0)
        err = ward_err_set(WARD_ERR_FORMAT,
                           "certificate list: no CERTIFICATE block in the PEM text");
    if (err) {
        ward_cert_list_free(list, count);
        return err;
    }
    *certs = list;
    *n = count;
    return WARD_OK;
}

void ward_cert_free(ward_cert *cert)
{
    if (cert == NULL)
        return;
    X509_free(cert->x509);
    free(cert);
}

ward_cert *ward_cert_ref(ward_cert *cert)
{
    if (cert == NULL)
        return NULL;
    ward_cert *c = malloc(sizeof *c);
    if (c == NULL)
        return NULL;
    if (X509_up_ref(cert->x509) != 1) {
        free(c);
        return NULL;
    }
    c->x509 = cert->x509;
    return c;
}

static ward_err x509_der(const X509 *x, uint8_t **der, size_t *len)
{
    int n = i2d_X509(x, NULL);
    if (n <= 0)
        return ward_err_ossl(WARD_ERR_CRYPTO, "certificate: cannot encode");
    uint8_t *buf = malloc((size_t)n);
    if (buf == NULL)
        return ward_err_set(WARD_ERR_NOMEM, "certificate: out of memory");
    unsigned char *p = buf;
    if (i2d_X509(x, &p) != n) {
        free(buf);
        return ward_err_ossl(WARD_ERR_CRYPTO, "certificate: cannot encode");
    }
    *der = buf;
    *len = (size_t)n;
    return WARD_OK;
}

ward_err ward_cert_to_der(const ward_cert *cert, uint8_t **der, size_t *len)
{
    if (cert == NULL || der == NULL || len == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "certificate: NULL argument");
    *der = NULL;
    *len = 0;
    return x509_der(cert->x509, der, len);
}

ward_err ward_cert_to_pem(const ward_cert *cert, char **pem, size_t *len)
{
    if (cert == NULL || pem == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "certificate: NULL argument");
    *pem = NULL;
    if (len != NULL)
        *len = 0;
    BIO *bio = BIO_new(BIO_s_mem());
    if (bio == NULL)
        return ward_err_ossl(WARD_ERR_NOMEM, "certificate: out of memory");
    ward_err err;
    if (PEM_write_bio_X509(bio, cert->x509) != 1)
        err = ward_err_ossl(WARD_ERR_CRYPTO, "certificate: cannot write PEM");
    else
        err = bio_to_string(bio, "certificate", pem, len);
    BIO_free(bio);
    return err;
}

/* ---- inspect ------------------------------------------------------------------------------ */

ward_err ward_cert_public_key(const ward_cert *cert, ward_pkey **out)
{
    if (cert == NULL || out == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "certificate: NULL argument");
    *out = NULL;
    EVP_PKEY *pk = X509_get0_pubkey(cert->x509);
    if (pk == NULL)
        return ward_err_ossl(WARD_ERR_UNSUPPORTED,
                             "certificate: cannot decode the subject public key");
    if (EVP_PKEY_up_ref(pk) != 1)
        return ward_err_ossl(WARD_ERR_CRYPTO, "certificate: cannot reference the public key");
    ward_pkey *k = ward_pkey_wrap(pk);
    if (k == NULL)
        return ward_err_set(WARD_ERR_NOMEM, "certificate: out of memory");
    *out = k;
    return WARD_OK;
}

ward_err ward_cert_spki_sha256(const ward_cert *cert, uint8_t out[WARD_SHA256_LEN])
{
    if (cert == NULL || out == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "certificate: NULL argument");
    const X509_PUBKEY *spki = X509_get_X509_PUBKEY(cert->x509);
    unsigned char *der = NULL;
    int n = spki ? i2d_X509_PUBKEY(spki, &der) : -1;
    if (n <= 0)
        return ward_err_ossl(WARD_ERR_FORMAT, "certificate: cannot encode the public key");
    ward_err err = ward_hash(WARD_HASH_SHA256, der, (size_t)n, out);
    OPENSSL_free(der);
    return err;
}

ward_err ward_cert_fingerprint(const ward_cert *cert, uint8_t out[WARD_SHA256_LEN])
{
    if (cert == NULL || out == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "certificate: NULL argument");
    uint8_t *der = NULL;
    size_t len = 0;
    ward_err err = x509_der(cert->x509, &der, &len);
    if (err)
        return err;
    err = ward_hash(WARD_HASH_SHA256, der, len, out);
    free(der);
    return err;
}

ward_err ward_cert_subject(const ward_cert *cert, char **out)
{
    if (cert == NULL || out == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "certificate: NULL argument");
    *out = NULL;
    return name_to_string(X509_get_subject_name(cert->x509), "certificate subject", out);
}

ward_err ward_cert_issuer(const ward_cert *cert, char **out)
{
    if (cert == NULL || out == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "certificate: NULL argument");
    *out = NULL;
    return name_to_string(X509_get_issuer_name(cert->x509), "certificate issuer", out);
}

ward_err ward_cert_common_name(const ward_cert *cert, char **out)
{
    if (cert == NULL || out == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "certificate: NULL argument");
    *out = NULL;
    const X509_NAME *name = X509_get_subject_name(cert->x509);
    /* The last commonName is the most specific one. */
    int idx = -1, next;
    while ((next = X509_NAME_get_index_by_NID(name, NID_commonName, idx)) >= 0)
        idx = next;
    if (idx < 0)
        return ward_err_set(WARD_ERR_NOT_FOUND, "certificate: the subject has no commonName");
    const ASN1_STRING *value = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx));
    unsigned char *utf8 = NULL;
    int n = value ? ASN1_STRING_to_UTF8(&utf8, value) : -1;
    if (n < 0)
        return ward_err_ossl(WARD_ERR_FORMAT, "certificate: malformed commonName");
    ward_err err = WARD_OK;
    if (memchr(utf8, '\0', (size_t)n) != NULL) {
        err = ward_err_set(WARD_ERR_FORMAT, "certificate: commonName contains a NUL byte");
    } else {
        char *s = malloc((size_t)n + 1);
        if (s == NULL) {
            err = ward_err_set(WARD_ERR_NOMEM, "certificate: out of memory");
        } else {
            memcpy(s, utf8, (size_t)n);
            s[n] = '\0';
            *out = s;
        }
    }
    OPENSSL_free(utf8);
    return err;
}

ward_err ward_cert_serial_hex(const ward_cert *cert, char **out)
{
    if (cert == NULL || out == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "certificate: NULL argument");
    *out = NULL;
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert->x509), NULL);
    if (bn == NULL)
        return ward_err_ossl(WARD_ERR_FORMAT, "certificate: malformed serial number");
    char *hex = BN_bn2hex(bn);
    BN_free(bn);
    if (hex == NULL)
        return ward_err_ossl(WARD_ERR_NOMEM, "certificate: out of memory");
    size_t n = strlen(hex);
    char *s = malloc(n + 1);
    if (s == NULL) {
        OPENSSL_free(hex);
        return ward_err_set(WARD_ERR_NOMEM, "certificate: out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        char c = hex[i];
        s[i] = (c >= 'A' && c <= 'F') ? (char)(c - 'A' + 'a') : c;
    }
    s[n] = '\0';
    OPENSSL_free(hex);
    *out = s;
    return WARD_OK;
}

ward_err ward_cert_validity(const ward_cert *cert, int64_t *not_before, int64_t *not_after)
{
    if (cert == NULL || not_before == NULL || not_after == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "certificate: NULL argument");
    int64_t nb = 0, na = 0;
    ward_err err = asn1_time_to_unix(X509_get0_notBefore(cert->x509), "certificate notBefore",
                                     &nb);
    if (err)
        return err;
    err = asn1_time_to_unix(X509_get0_notAfter(cert->x509), "certificate notAfter", &na);
    if (err)
        return err;
    *not_before = nb;
    *not_after = na;
    return WARD_OK;
}

int ward_cert_is_ca(const ward_cert *cert)
{
    return cert != NULL && is_ca_cert(cert->x509);
}

ward_err ward_cert_extension(const ward_cert *cert, const char *oid, uint8_t **value,
                             size_t *len, int *critical)
{
    if (cert == NULL || oid == NULL || value == NULL || len == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "certificate extension: NULL argument");
    *value = NULL;
    *len = 0;
    ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
    if (obj == NULL)
        return ward_err_ossl(WARD_ERR_INVALID_ARG, "certificate extension: bad OID \"%.64s\"",
                             oid);
    int idx = X509_get_ext_by_OBJ(cert->x509, obj, -1);
    int dup = idx >= 0 ? X509_get_ext_by_OBJ(cert->x509, obj, idx) : -1;
    ASN1_OBJECT_free(obj);
    if (idx < 0)
        return ward_err_set(WARD_ERR_NOT_FOUND, "certificate has no extension %.64s", oid);
    if (dup >= 0)
        return ward_err_set(WARD_ERR_FORMAT, "certificate has extension %.64s more than once",
                            oid);
    X509_EXTENSION *ext = X509_get_ext(cert->x509, idx);
    const ASN1_OCTET_STRING *data = ext ? X509_EXTENSION_get_data(ext) : NULL;
    if (data == NULL)
        return ward_err_set(WARD_ERR_FORMAT, "certificate extension %.64s is malformed", oid);
    int n = ASN1_STRING_length(data);
    if (n < 0)
        return ward_err_set(WARD_ERR_FORMAT, "certificate extension %.64s is malformed", oid);
    uint8_t *buf = malloc(n > 0 ? (size_t)n : 1);
    if (buf == NULL)
        return ward_err_set(WARD_ERR_NOMEM, "certificate extension: out of memory");
    if (n > 0)
        memcpy(buf, ASN1_STRING_get0_data(data), (size_t)n);
    *value = buf;
    *len = (size_t)n;
    if (critical != NULL)
        *critical = X509_EXTENSION_get_critical(ext) > 0;
    return WARD_OK;
}

/* ---- make --------------------------------------------------------------------------------- */

static int dns_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > MAX_DNS_NAME)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.' || c == '*' || c == '_'))
            return 0;
    }
    return 1;
}

static ward_err check_spec(const ward_cert_spec *spec)
{
    if (spec->common_name == NULL || spec->common_name[0] == '\0')
        return ward_err_set(WARD_ERR_INVALID_ARG, "certificate: a commonName is required");
    if (spec->organization != NULL && spec->organization[0] == '\0')
        return ward_err_set(WARD_ERR_INVALID_ARG, "certificate: empty organization");
    ward_err err = check_time_range(spec->not_before, "certificate notBefore");
    if (err)
        return err;
    err = check_time_range(spec->not_after, "certificate notAfter");
    if (err)
        return err;
    if (spec->not_before >= spec->not_after)
        return ward_err_set(WARD_ERR_INVALID_ARG, "certificate: notBefore is not before notAfter");
    if (spec->path_len < -1)
        return ward_err_set(WARD_ERR_INVALID_ARG, "certificate: path length %d is negative",
                            spec->path_len);
    if (spec->path_len >= 0 && !spec->is_ca)
        return ward_err_set(WARD_ERR_INVALID_ARG,
                            "certificate: a path length constraint needs a CA certificate");
    if (spec->is_ca && (spec->server_auth || spec->client_auth))
        return ward_err_set(WARD_ERR_INVALID_ARG,
                            "certificate: extendedKeyUsage is for leaf certificates only");
    if (spec->n_dns_names != 0 && spec->dns_names == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "certificate: NULL DNS name list");
    for (size_t i = 0; i < spec->n_dns_names; i++) {
        if (spec->dns_names[i] == NULL || !dns_name_ok(spec->dns_names[i]))
            return ward_err_set(WARD_ERR_INVALID_ARG, "certificate: DNS name %zu is not valid",
                                i);
    }
    if (spec->n_extensions != 0 && spec->extensions == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "certificate: NULL extension list");
    for (size_t i = 0; i < spec->n_extensions; i++) {
        const ward_cert_ext *e = &spec->extensions[i];
        if (e->oid == NULL || (e->value == NULL && e->len != 0))
            return ward_err_set(WARD_ERR_INVALID_ARG, "certificate: extension %zu is incomplete",
                                i);
        if (e->len > (size_t)INT_MAX)
            return ward_err_set(WARD_ERR_OVERFLOW, "certificate: extension %zu is too large", i);
    }
    return WARD_OK;
}

static ward_err build_name(const ward_cert_spec *spec, X509_NAME **out)
{
    X509_NAME *name = X509_NAME_new();
    if (name == NULL)
        return ward_err_ossl(WARD_ERR_NOMEM, "certificate: out of memory");
    /* Most significant first: O, then CN (printed "CN=..,O=.." in RFC 2253 order). */
    if (spec->organization != NULL &&
        X509_NAME_add_entry_by_NID(name, NID_organizationName, MBSTRING_UTF8,
                                   (const unsigned char *)spec->organization, -1, -1, 0) != 1) {
        X509_NAME_free(name);
        return ward_err_ossl(WARD_ERR_INVALID_ARG,
                             "certificate: organization not accepted (at most 64 characters)");
    }
    if (X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
                                   (const unsigned char *)spec->common_name, -1, -1, 0) != 1) {
        X509_NAME_free(name);
        return ward_err_ossl(WARD_ERR_INVALID_ARG,
                             "certificate: commonName not accepted (at most 64 characters)");
    }
    *out = name;
    return WARD_OK;
}

static ward_err set_random_serial(X509 *x)
{
    uint8_t serial[16];
    ward_err err = ward_random(serial, sizeof serial);
    if (err)
        return err;
    /* Positive (top bit clear) and exactly 16 octets (next bit set), so 126 random bits. */
    serial[0] = (uint8_t)((serial[0] & 0x7F) | 0x40);
    BIGNUM *bn = BN_bin2bn(serial, (int)sizeof serial, NULL);
    ward_wipe(serial, sizeof serial);
    if (bn == NULL)
        return ward_err_ossl(WARD_ERR_NOMEM, "certificate: out of memory");
    ASN1_INTEGER *sn = BN_to_ASN1_INTEGER(bn, NULL);
    BN_free(bn);
    if (sn == NULL)
        return ward_err_ossl(WARD_ERR_NOMEM, "certificate: out of memory");
    int ok = X509_set_serialNumber(x, sn);
    ASN1_INTEGER_free(sn);
    if (ok != 1)
        return ward_err_ossl(WARD_ERR_CRYPTO, "certificate: cannot set the serial number");
    return WARD_OK;
}

static ward_err set_validity(X509 *x, int64_t not_before, int64_t not_after)
{
    ASN1_TIME *nb = unix_to_asn1_time(not_before);
    ASN1_TIME *na = unix_to_asn1_time(not_after);
    ward_err err = WARD_OK;
    if (nb == NULL || na == NULL || X509_set1_notBefore(x, nb) != 1 ||
        X509_set1_notAfter(x, na) != 1)
        err = ward_err_ossl(WARD_ERR_CRYPTO, "certificate: cannot set the validity period");
    ASN1_TIME_free(nb);
    ASN1_TIME_free(na);
    return err;
}

static ward_err add_ext_i2d(X509 *x, int nid, void *value, int crit, const char *what)
{
    if (X509_add1_ext_i2d(x, nid, value, crit, X509V3_ADD_DEFAULT) != 1)
        return ward_err_ossl(WARD_ERR_CRYPTO, "certificate: cannot add %s", what);
    return WARD_OK;
}

static ward_err add_basic_constraints(X509 *x, const ward_cert_spec *spec)
{
    BASIC_CONSTRAINTS *bc = BASIC_CONSTRAINTS_new();
    if (bc == NULL)
        return ward_err_ossl(WARD_ERR_NOMEM, "certificate: out of memory");
    ward_err err = WARD_OK;
    bc->ca = spec->is_ca ? 0xFF : 0;
    if (spec->is_ca && spec->path_len >= 0) {
        bc->pathlen = ASN1_INTEGER_new();
        if (bc->pathlen == NULL || ASN1_INTEGER_set(bc->pathlen, spec->path_len) != 1)
            err = ward_err_ossl(WARD_ERR_NOMEM, "certificate: out of memory");
    }
    if (err == WARD_OK)
        err = add_ext_i2d(x, NID_basic_constraints, bc, 1, "basicConstraints");
    BASIC_CONSTRAINTS_free(bc);
    return err;
}

static ward_err add_key_usage(X509 *x, int is_ca)
{
    /* Bit numbers from RFC 5280 section 4.2.1.3. */
    enum { KU_BIT_DIGITAL_SIGNATURE = 0, KU_BIT_KEY_CERT_SIGN = 5, KU_BIT_CRL_SIGN = 6 };
    ASN1_BIT_STRING *ku = ASN1_BIT_STRING_new();
    if (ku == NULL)
        return ward_err_ossl(WARD_ERR_NOMEM, "certificate: out of memory");
    int ok;
    if (is_ca)
        ok = ASN1_BIT_STRING_set_bit(ku, KU_BIT_KEY_CERT_SIGN, 1) == 1 &&
             ASN1_BIT_STRING_set_bit(ku, KU_BIT_CRL_SIGN, 1) == 1;
    else
        ok = ASN1_BIT_STRING_set_bit(ku, KU_BIT_DIGITAL_SIGNATURE, 1) == 1;
    ward_err err = ok ? add_ext_i2d(x, NID_key_usage, ku, 1, "keyUsage")
                      : ward_err_ossl(WARD_ERR_NOMEM, "certificate: out of memory");
    ASN1_BIT_STRING_free(ku);
    return err;
}

static ward_err add_ext_key_usage(X509 *x, int server_auth, int client_auth)
{
    EXTENDED_KEY_USAGE *eku = sk_ASN1_OBJECT_new_null();
    if (eku == NULL)
        return ward_err_ossl(WARD_ERR_NOMEM, "certificate: out of memory");
    int ok = 1;
    /* OBJ_nid2obj returns static objects: the stack is freed without freeing them. */
    if (server_auth)
        ok = sk_ASN1_OBJECT_push(eku, OBJ_nid2obj(NID_server_auth)) > 0;
    if (ok && client_auth)
        ok = sk_ASN1_OBJECT_push(eku, OBJ_nid2obj(NID_client_auth)) > 0;
    ward_err err = ok ? add_ext_i2d(x, NID_ext_key_usage, eku, 0, "extendedKeyUsage")
                      : ward_err_ossl(WARD_ERR_NOMEM, "certificate: out of memory");
    sk_ASN1_OBJECT_free(eku);
    return err;
}

static ward_err add_subject_alt_names(X509 *x, const char *const *names, size_t n)
{
    GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
    if (gens == NULL)
        return ward_err_ossl(WARD_ERR_NOMEM, "certificate: out of memory");
    ward_err err = WARD_OK;
    for (size_t i = 0; i < n && err == WARD_OK; i++) {
        size_t len = strlen(names[i]); /* <= MAX_DNS_NAME, checked by check_spec */
        GENERAL_NAME *gen = GENERAL_NAME_new();
        ASN1_IA5STRING *ia5 = ASN1_IA5STRING_new();
        if (gen == NULL || ia5 == NULL || ASN1_STRING_set(ia5, names[i], (int)len) != 1) {
            GENERAL_NAME_free(gen);
            ASN1_IA5STRING_free(ia5);
            err = ward_err_ossl(WARD_ERR_NOMEM, "certificate: out of memory");
            break;
        }
        GENERAL_NAME_set0_value(gen, GEN_DNS, ia5);
        if (sk_GENERAL_NAME_push(gens, gen) <= 0) {
            GENERAL_NAME_free(gen);
            err = ward_err_ossl(WARD_ERR_NOMEM, "certificate: out of memory");
        }
    }
    if (err == WARD_OK)
        err = add_ext_i2d(x, NID_subject_alt_name, gens, 0, "subjectAltName");
    GENERAL_NAMES_free(gens);
    return err;
}

static ward_err add_key_identifiers(X509 *x, const X509 *issuer)
{
    unsigned char id[KEYID_LEN];
    ward_err err = key_id(x, id);
    if (err)
        return err;
    ASN1_OCTET_STRING *skid = ASN1_OCTET_STRING_new();
    if (skid == NULL || ASN1_OCTET_STRING_set(skid, id, KEYID_LEN) != 1) {
        ASN1_OCTET_STRING_free(skid);
        return ward_err_ossl(WARD_ERR_NOMEM, "certificate: out of memory");
    }
    err = add_ext_i2d(x, NID_subject_key_identifier, skid, 0, "subjectKeyIdentifier");
    ASN1_OCTET_STRING_free(skid);
    if (err)
        return err;

    AUTHORITY_KEYID *akid = AUTHORITY_KEYID_new();
    if (akid == NULL)
        return ward_err_ossl(WARD_ERR_NOMEM, "certificate: out of memory");
    if (issuer != NULL) {
        err = authority_key_id(issuer, &akid->keyid);
    } else {
        /* Self-signed: the certificate's own identifier. */
        akid->keyid = ASN1_OCTET_STRING_new();
        if (akid->keyid == NULL || ASN1_OCTET_STRING_set(akid->keyid, id, KEYID_LEN) != 1)
            err = ward_err_ossl(WARD_ERR_NOMEM, "certificate: out of memory");
    }
    if (err == WARD_OK)
        err = add_ext_i2d(x, NID_authority_key_identifier, akid, 0, "authorityKeyIdentifier");
    AUTHORITY_KEYID_free(akid);
    return err;
}

static ward_err add_custom_extension(X509 *x, const ward_cert_ext *e)
{
    ASN1_OBJECT *obj = OBJ_txt2obj(e->oid, 1);
    if (obj == NULL)
        return ward_err_ossl(WARD_ERR_INVALID_ARG, "certificate: bad extension OID \"%.64s\"",
                             e->oid);
    ward_err err = WARD_OK;
    ASN1_OCTET_STRING *data = NULL;
    X509_EXTENSION *ext = NULL;
    if (X509_get_ext_by_OBJ(x, obj, -1) >= 0) {
        err = ward_err_set(WARD_ERR_INVALID_ARG,
                           "certificate: extension %.64s is given twice or is one Ward sets",
                           e->oid);
        goto done;
    }
    data = ASN1_OCTET_STRING_new();
    if (data == NULL ||
        ASN1_OCTET_STRING_set(data, e->len ? e->value : (const unsigned char *)"",
                              (int)e->len) != 1) {
        err = ward_err_ossl(WARD_ERR_NOMEM, "certificate: out of memory");
        goto done;
    }
    ext = X509_EXTENSION_create_by_OBJ(NULL, obj, e->critical ? 1 : 0, data);
    if (ext == NULL || X509_add_ext(x, ext, -1) != 1)
        err = ward_err_ossl(WARD_ERR_CRYPTO, "certificate: cannot add extension %.64s", e->oid);
done:
    X509_EXTENSION_free(ext);
    ASN1_OCTET_STRING_free(data);
    ASN1_OBJECT_free(obj);
    return err;
}

static ward_err check_issuer_key(const ward_pkey *subject_key, const ward_cert *issuer,
                                 const ward_pkey *issuer_key)
{
    if (!ward_pkey_is_private(issuer_key))
        return ward_err_set(WARD_ERR_INVALID_ARG, "certificate: the issuer key is not private");
    if (issuer == NULL) {
        if (EVP_PKEY_eq(subject_key->pkey, issuer_key->pkey) != 1)
            return ward_err_set(WARD_ERR_INVALID_ARG,
                                "certificate: self-signed, but the issuer key is not the "
                                "subject key's private half");
        return WARD_OK;
    }
    EVP_PKEY *ipub = X509_get0_pubkey(issuer->x509);
    if (ipub == NULL || EVP_PKEY_eq(ipub, issuer_key->pkey) != 1) {
        ERR_clear_error();
        return ward_err_set(WARD_ERR_INVALID_ARG,
                            "certificate: the issuer key does not match the issuer certificate");
    }
    if (!is_ca_cert(issuer->x509) ||
        (X509_get_key_usage(issuer->x509) & KU_KEY_CERT_SIGN) == 0)
        return ward_err_set(WARD_ERR_INVALID_ARG,
                            "certificate: the issuer certificate is not a CA allowed to sign "
                            "certificates");
    return WARD_OK;
}

ward_err ward_cert_create(const ward_cert_spec *spec, const ward_pkey *subject_key,
                          const ward_cert *issuer, const ward_pkey *issuer_key, ward_cert **out)
{
    if (out == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "certificate: NULL output");
    *out = NULL;
    if (spec == NULL || subject_key == NULL || subject_key->pkey == NULL ||
        issuer_key == NULL || issuer_key->pkey == NULL || (issuer && issuer->x509 == NULL))
        return ward_err_set(WARD_ERR_INVALID_ARG, "certificate: NULL argument");
    ward_err err = check_spec(spec);
    if (err)
        return err;
    err = check_issuer_key(subject_key, issuer, issuer_key);
    if (err)
        return err;
    const EVP_MD *md = NULL;
    err = signing_md(issuer_key, &md);
    if (err)
        return err;

    X509_NAME *subject = NULL;
    X509 *x = X509_new();
    if (x == NULL)
        return ward_err_ossl(WARD_ERR_NOMEM, "certificate: out of memory");
    if (X509_set_version(x, X509_VERSION_3) != 1) {
        err = ward_err_ossl(WARD_ERR_CRYPTO, "certificate: cannot set the version");
        goto fail;
    }
    if ((err = set_random_serial(x)) != WARD_OK || (err = build_name(spec, &subject)) != WARD_OK)
        goto fail;
    if (X509_set_subject_name(x, subject) != 1 ||
        X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer->x509) : subject) != 1) {
        err = ward_err_ossl(WARD_ERR_CRYPTO, "certificate: cannot set the names");
        goto fail;
    }
    if ((err = set_validity(x, spec->not_before, spec->not_after)) != WARD_OK)
        goto fail;
    if (X509_set_pubkey(x, subject_key->pkey) != 1) {
        err = ward_err_ossl(WARD_ERR_UNSUPPORTED, "certificate: cannot encode the subject key");
        goto fail;
    }
    if ((err = add_basic_constraints(x, spec)) != WARD_OK ||
        (err = add_key_usage(x, spec->is_ca)) != WARD_OK)
        goto fail;
    if ((spec->server_auth || spec->client_auth) &&
        (err = add_ext_key_usage(x, spec->server_auth, spec->client_auth)) != WARD_OK)
        goto fail;
    if (spec->n_dns_names != 0 &&
        (err = add_subject_alt_names(x, spec->dns_names, spec->n_dns_names)) != WARD_OK)
        goto fail;
    if ((err = add_key_identifiers(x, issuer ? issuer->x509 : NULL)) != WARD_OK)
        goto fail;
    for (size_t i = 0; i < spec->n_extensions; i++) {
        if ((err = add_custom_extension(x, &spec->extensions[i])) != WARD_OK)
            goto fail;
    }
    if (X509_sign(x, issuer_key->pkey, md) <= 0) {
        err = ward_err_ossl(WARD_ERR_CRYPTO, "certificate: signing failed");
        goto fail;
    }
    X509_NAME_free(subject);
    subject = NULL;
    /* Hand back exactly what a parser of the certificate sees: encode and parse again, so that
     * the cached encoding and extension flags are those of the final certificate. */
    uint8_t *der = NULL;
    size_t der_len = 0;
    err = x509_der(x, &der, &der_len);
    X509_free(x);
    x = NULL;
    if (err)
        return err;
    err = x509_from_der(der, der_len, &x);
    free(der);
    if (err)
        return ward_err_wrap(err, "certificate: re-reading the new certificate");
    return wrap_cert(x, out);

fail:
    X509_NAME_free(subject);
    X509_free(x);
    return err;
}

/* ---- CRLs --------------------------------------------------------------------------------- */

ward_err ward_crl_from_der(const uint8_t *der, size_t len, ward_crl **out)
{
    if (out == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "CRL: NULL output");
    *out = NULL;
    ward_err err = check_input(der, len, (size_t)LONG_MAX, "CRL");
    if (err)
        return err;
    const unsigned char *p = der;
    X509_CRL *crl = d2i_X509_CRL(NULL, &p, (long)len);
    if (crl == NULL)
        return ward_err_ossl(WARD_ERR_FORMAT, "CRL: malformed DER");
    size_t used = (size_t)(p - der);
    if (used != len) {
        X509_CRL_free(crl);
        return ward_err_set(WARD_ERR_FORMAT, "CRL: %zu bytes after the DER CRL", len - used);
    }
    return wrap_crl(crl, out);
}

ward_err ward_crl_from_pem(const char *pem, size_t len, ward_crl **out)
{
    if (out == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "CRL: NULL output");
    *out = NULL;
    BIO *bio = NULL;
    ward_err err = pem_bio(pem, len, "CRL", &bio);
    if (err)
        return err;
    unsigned char *der = NULL;
    size_t der_len = 0;
    err = pem_next(bio, PEM_STRING_X509_CRL, NULL, "CRL", &der, &der_len);
    BIO_free(bio);
    if (err)
        return err;
    if (der == NULL)
        return ward_err_set(WARD_ERR_FORMAT, "CRL: no X509 CRL block in the PEM text");
    err = ward_crl_from_der(der, der_len, out);
    OPENSSL_free(der);
    return err;
}

void ward_crl_free(ward_crl *crl)
{
    if (crl == NULL)
        return;
    X509_CRL_free(crl->crl);
    free(crl);
}

/* A serial number in hex (as ward_cert_serial_hex writes it, either case). */
static ward_err serial_from_hex(const char *hex, ASN1_INTEGER **out)
{
    size_t n = hex ? strnlen(hex, MAX_SERIAL_HEX + 1) : 0;
    if (n == 0 || n > MAX_SERIAL_HEX)
        return ward_err_set(WARD_ERR_INVALID_ARG, "CRL: a serial number must be 1 to %d hex digits",
                            MAX_SERIAL_HEX);
    for (size_t i = (hex[0] == '-'); i < n; i++) {
        char c = hex[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
            return ward_err_set(WARD_ERR_INVALID_ARG, "CRL: serial number \"%.40s\" is not hex",
                                hex);
    }
    BIGNUM *bn = NULL;
    if (BN_hex2bn(&bn, hex) != (int)n) {
        BN_free(bn);
        return ward_err_ossl(WARD_ERR_INVALID_ARG, "CRL: serial number \"%.40s\" is not hex",
                             hex);
    }
    *out = BN_to_ASN1_INTEGER(bn, NULL);
    BN_free(bn);
    if (*out == NULL)
        return ward_err_ossl(WARD_ERR_NOMEM, "CRL: out of memory");
    return WARD_OK;
}

static ward_err crl_add_revoked(X509_CRL *crl, const char *serial_hex, const ASN1_TIME *when)
{
    ASN1_INTEGER *sn = NULL;
    ward_err err = serial_from_hex(serial_hex, &sn);
    if (err)
        return err;
    X509_REVOKED *rev = X509_REVOKED_new();
    if (rev == NULL || X509_REVOKED_set_serialNumber(rev, sn) != 1 ||
        X509_REVOKED_set_revocationDate(rev, (ASN1_TIME *)when) != 1 ||
        X509_CRL_add0_revoked(crl, rev) != 1) {
        X509_REVOKED_free(rev);
        err = ward_err_ossl(WARD_ERR_NOMEM, "CRL: out of memory");
    }
    ASN1_INTEGER_free(sn);
    return err;
}

static ward_err crl_add_extensions(X509_CRL *crl, const X509 *issuer, int64_t number)
{
    AUTHORITY_KEYID *akid = AUTHORITY_KEYID_new();
    if (akid == NULL)
        return ward_err_ossl(WARD_ERR_NOMEM, "CRL: out of memory");
    ward_err err = authority_key_id(issuer, &akid->keyid);
    if (err == WARD_OK &&
        X509_CRL_add1_ext_i2d(crl, NID_authority_key_identifier, akid, 0, X509V3_ADD_DEFAULT) !=
            1)
        err = ward_err_ossl(WARD_ERR_CRYPTO, "CRL: cannot add authorityKeyIdentifier");
    AUTHORITY_KEYID_free(akid);
    if (err)
        return err;
    /* cRLNumber: monotonic as long as CRLs are issued with increasing thisUpdate. */
    ASN1_INTEGER *num = ASN1_INTEGER_new();
    if (num == NULL || ASN1_INTEGER_set_int64(num, number) != 1 ||
        X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, X509V3_ADD_DEFAULT) != 1)
        err = ward_err_ossl(WARD_ERR_CRYPTO, "CRL: cannot add cRLNumber");
    ASN1_INTEGER_free(num);
    return err;
}

ward_err ward_crl_create(const ward_cert *issuer, const ward_pkey *issuer_key,
                         const char *const *revoked_serials_hex, size_t n_revoked,
                         int64_t this_update, int64_t next_update, ward_crl **out)
{
    if (out == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "CRL: NULL output");
    *out = NULL;
    if (issuer == NULL || issuer->x509 == NULL || issuer_key == NULL ||
        issuer_key->pkey == NULL || (revoked_serials_hex == NULL && n_revoked != 0))
        return ward_err_set(WARD_ERR_INVALID_ARG, "CRL: NULL argument");
    ward_err err = check_time_range(this_update, "CRL thisUpdate");
    if (err)
        return err;
    if ((err = check_time_range(next_update, "CRL nextUpdate")) != WARD_OK)
        return err;
    if (this_update >= next_update)
        return ward_err_set(WARD_ERR_INVALID_ARG, "CRL: thisUpdate is not before nextUpdate");
    if (!ward_pkey_is_private(issuer_key))
        return ward_err_set(WARD_ERR_INVALID_ARG, "CRL: the issuer key is not private");
    EVP_PKEY *ipub = X509_get0_pubkey(issuer->x509);
    if (ipub == NULL || EVP_PKEY_eq(ipub, issuer_key->pkey) != 1) {
        ERR_clear_error();
        return ward_err_set(WARD_ERR_INVALID_ARG,
                            "CRL: the issuer key does not match the issuer certificate");
    }
    if ((X509_get_key_usage(issuer->x509) & KU_CRL_SIGN) == 0)
        return ward_err_set(WARD_ERR_INVALID_ARG,
                            "CRL: the issuer's keyUsage does not allow signing CRLs");
    const EVP_MD *md = NULL;
    if ((err = signing_md(issuer_key, &md)) != WARD_OK)
        return ward_err_wrap(err, "CRL");

    ASN1_TIME *tu = unix_to_asn1_time(this_update);
    ASN1_TIME *nu = unix_to_asn1_time(next_update);
    X509_CRL *crl = X509_CRL_new();
    if (tu == NULL || nu == NULL || crl == NULL) {
        err = ward_err_ossl(WARD_ERR_NOMEM, "CRL: out of memory");
        goto done;
    }
    if (X509_CRL_set_version(crl, X509_CRL_VERSION_2) != 1 ||
        X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer->x509)) != 1 ||
        X509_CRL_set1_lastUpdate(crl, tu) != 1 || X509_CRL_set1_nextUpdate(crl, nu) != 1) {
        err = ward_err_ossl(WARD_ERR_CRYPTO, "CRL: cannot set the header fields");
        goto done;
    }
    for (size_t i = 0; i < n_revoked; i++) {
        if ((err = crl_add_revoked(crl, revoked_serials_hex[i], tu)) != WARD_OK)
            goto done;
    }
    if (X509_CRL_sort(crl) != 1) {
        err = ward_err_ossl(WARD_ERR_CRYPTO, "CRL: cannot sort the entries");
        goto done;
    }
    if ((err = crl_add_extensions(crl, issuer->x509, this_update)) != WARD_OK)
        goto done;
    if (X509_CRL_sign(crl, issuer_key->pkey, md) <= 0) {
        err = ward_err_ossl(WARD_ERR_CRYPTO, "CRL: signing failed");
        goto done;
    }
    /* Encode and parse again: OpenSSL derives what verification uses (the authority key
     * identifier, issuing distribution point, critical flags) when it decodes a CRL. */
    unsigned char *der = NULL;
    int der_len = i2d_X509_CRL(crl, &der);
    if (der_len <= 0) {
        err = ward_err_ossl(WARD_ERR_CRYPTO, "CRL: cannot encode");
        goto done;
    }
    err = ward_crl_from_der(der, (size_t)der_len, out);
    OPENSSL_free(der);
done:
    X509_CRL_free(crl);
    ASN1_TIME_free(tu);
    ASN1_TIME_free(nu);
    return err;
}

/* ---- chain verification ------------------------------------------------------------------- */

/* CRL-related verification errors: the ones that can come out of checking a certificate's
 * revocation status. */
static int is_crl_error(int e)
{
    switch (e) {
    case X509_V_ERR_UNABLE_TO_GET_CRL:
    case X509_V_ERR_UNABLE_TO_GET_CRL_ISSUER:
    case X509_V_ERR_CRL_SIGNATURE_FAILURE:
    case X509_V_ERR_CRL_NOT_YET_VALID:
    case X509_V_ERR_CRL_HAS_EXPIRED:
    case X509_V_ERR_ERROR_IN_CRL_LAST_UPDATE_FIELD:
    case X509_V_ERR_ERROR_IN_CRL_NEXT_UPDATE_FIELD:
    case X509_V_ERR_KEYUSAGE_NO_CRL_SIGN:
    case X509_V_ERR_DIFFERENT_CRL_SCOPE:
    case X509_V_ERR_CRL_PATH_VALIDATION_ERROR:
        return 1;
    default:
        return 0;
    }
}

/* Lets OpenSSL's checks stand, with these deliberate exceptions:
 *  - X509_STRICT's "missing authority/subject key identifier" (RFC 5280 4.2.1.1/4.2.1.2): the
 *    identifiers only guide path building, the signatures are checked all the same, and AMD's
 *    VCEK and VLEK certificates have no authorityKeyIdentifier;
 *  - the trust anchor at the top of the chain is not checked for revocation unless a CRL for
 *    it can be checked (RFC 5280 section 6.1 never checks anchors): a self-signed root needs no
 *    CRL, and a pinned non-self-issued anchor (WARD_CHAIN_PARTIAL_OK) has no issuer in the
 *    chain to check its issuer's CRL with;
 *  - without WARD_CHAIN_REQUIRE_CRLS, a certificate whose issuer has no CRL among those given
 *    is not an error (X509_V_ERR_UNABLE_TO_GET_CRL); a CRL that is found is still checked in
 *    full (signature, time, revocation).
 * The mode is in which callback is installed (not in ex_data) because OpenSSL hands the same
 * callback to the nested context it uses to validate a CRL issuer's own path. */
static int verify_cb_common(int ok, X509_STORE_CTX *ctx, int require_crls)
{
    if (ok)
        return ok;
    int e = X509_STORE_CTX_get_error(ctx);
    if (e == X509_V_ERR_MISSING_AUTHORITY_KEY_IDENTIFIER ||
        e == X509_V_ERR_MISSING_SUBJECT_KEY_IDENTIFIER)
        return 1;
    if (!is_crl_error(e))
        return 0;
    STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(ctx);
    int depth = X509_STORE_CTX_get_error_depth(ctx);
    int top = chain != NULL ? sk_X509_num(chain) - 1 : -1;
    if (depth >= 0 && depth == top) {
        if (e == X509_V_ERR_UNABLE_TO_GET_CRL)
            return 1;
        X509 *anchor = sk_X509_value(chain, top);
        if (anchor != NULL && X509_check_issued(anchor, anchor) != X509_V_OK)
            return 1;
    }
    if (e == X509_V_ERR_UNABLE_TO_GET_CRL && !require_crls)
        return 1;
    return 0;
}

static int verify_cb_lenient(int ok, X509_STORE_CTX *ctx)
{
    return verify_cb_common(ok, ctx, 0);
}

static int verify_cb_require_crls(int ok, X509_STORE_CTX *ctx)
{
    return verify_cb_common(ok, ctx, 1);
}

static ward_err check_cert_array(ward_cert *const *certs, size_t n, const char *what)
{
    if (n != 0 && certs == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "certificate chain: NULL %s", what);
    if (n > (size_t)INT_MAX)
        return ward_err_set(WARD_ERR_OVERFLOW, "certificate chain: too many %s", what);
    for (size_t i = 0; i < n; i++) {
        if (certs[i] == NULL || certs[i]->x509 == NULL)
            return ward_err_set(WARD_ERR_INVALID_ARG, "certificate chain: %s %zu is NULL", what,
                                i);
    }
    return WARD_OK;
}

static ward_err verify_failure(X509_STORE_CTX *ctx)
{
    int e = X509_STORE_CTX_get_error(ctx);
    int depth = X509_STORE_CTX_get_error_depth(ctx);
    X509 *cur = X509_STORE_CTX_get_current_cert(ctx);
    char *subject = NULL;
    if (cur != NULL && name_to_string(X509_get_subject_name(cur), "subject", &subject) != WARD_OK)
        subject = NULL;
    ERR_clear_error();
    ward_err code = e == X509_V_ERR_OUT_OF_MEM ? WARD_ERR_NOMEM : WARD_ERR_VERIFY;
    ward_err_set(code, "certificate chain: %s (error %d at depth %d, subject \"%s\")",
                 X509_verify_cert_error_string(e), e, depth,
                 subject != NULL ? subject : "unknown");
    free(subject);
    return code;
}

ward_err ward_cert_verify_chain(const ward_cert *leaf, ward_cert *const *intermediates,
                                size_t n_intermediates, ward_cert *const *roots, size_t n_roots,
                                ward_crl *const *crls, size_t n_crls, int64_t at,
                                unsigned flags)
{
    const unsigned known = (unsigned)WARD_CHAIN_REQUIRE_CRLS | (unsigned)WARD_CHAIN_PARTIAL_OK;
    if (leaf == NULL || leaf->x509 == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "certificate chain: NULL leaf");
    if ((flags & ~known) != 0)
        return ward_err_set(WARD_ERR_INVALID_ARG, "certificate chain: unknown flags 0x%x",
                            flags & ~known);
    if (n_roots == 0)
        return ward_err_set(WARD_ERR_INVALID_ARG, "certificate chain: no trusted roots");
    if (at < 0)
        return ward_err_set(WARD_ERR_INVALID_ARG, "certificate chain: negative time");
    ward_err err = check_cert_array(intermediates, n_intermediates, "intermediate");
    if (err == WARD_OK)
        err = check_cert_array(roots, n_roots, "root");
    if (err)
        return err;
    if (n_crls != 0 && crls == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "certificate chain: NULL CRL list");
    for (size_t i = 0; i < n_crls; i++) {
        if (crls[i] == NULL || crls[i]->crl == NULL)
            return ward_err_set(WARD_ERR_INVALID_ARG, "certificate chain: CRL %zu is NULL", i);
    }

    int require_crls = (flags & WARD_CHAIN_REQUIRE_CRLS) != 0;
    X509_STORE *store = X509_STORE_new();
    STACK_OF(X509) *untrusted = sk_X509_new_null();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    if (store == NULL || untrusted == NULL || ctx == NULL) {
        err = ward_err_ossl(WARD_ERR_NOMEM, "certificate chain: out of memory");
        goto done;
    }
    for (size_t i = 0; i < n_roots; i++) {
        if (X509_STORE_add_cert(store, roots[i]->x509) != 1) {
            err = ward_err_ossl(WARD_ERR_CRYPTO, "certificate chain: cannot add root %zu", i);
            goto done;
        }
    }
    for (size_t i = 0; i < n_crls; i++) {
        if (X509_STORE_add_crl(store, crls[i]->crl) != 1) {
            err = ward_err_ossl(WARD_ERR_CRYPTO, "certificate chain: cannot add CRL %zu", i);
            goto done;
        }
    }
    /* The stack borrows the certificates: freed with sk_X509_free, not pop_free. */
    for (size_t i = 0; i < n_intermediates; i++) {
        if (sk_X509_push(untrusted, intermediates[i]->x509) <= 0) {
            err = ward_err_ossl(WARD_ERR_NOMEM, "certificate chain: out of memory");
            goto done;
        }
    }
    if (X509_STORE_CTX_init(ctx, store, leaf->x509, untrusted) != 1) {
        err = ward_err_ossl(WARD_ERR_CRYPTO, "certificate chain: cannot initialise");
        goto done;
    }
    X509_VERIFY_PARAM *param = X509_STORE_CTX_get0_param(ctx);
    unsigned long vflags = X509_V_FLAG_X509_STRICT | X509_V_FLAG_CHECK_SS_SIGNATURE;
    if (n_crls != 0 || require_crls)
        vflags |= X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL;
    if (flags & WARD_CHAIN_PARTIAL_OK)
        vflags |= X509_V_FLAG_PARTIAL_CHAIN;
    if (param == NULL || X509_VERIFY_PARAM_set_flags(param, vflags) != 1) {
        err = ward_err_ossl(WARD_ERR_CRYPTO, "certificate chain: cannot set the flags");
        goto done;
    }
    /* At least 112-bit security for every key and signature below the anchor (refuses
     * RSA-1024, SHA-1 signatures and the like). */
    X509_VERIFY_PARAM_set_auth_level(param, 2);
    if (at != 0)
        X509_VERIFY_PARAM_set_time(param, (time_t)at);
    X509_STORE_CTX_set_verify_cb(ctx, require_crls ? verify_cb_require_crls : verify_cb_lenient);
    ERR_clear_error();
    if (X509_verify_cert(ctx) == 1) {
        ERR_clear_error();
        err = WARD_OK;
    } else {
        err = verify_failure(ctx);
    }
done:
    X509_STORE_CTX_free(ctx);
    sk_X509_free(untrusted);
    X509_STORE_free(store);
    return err;
}
