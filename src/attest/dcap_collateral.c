/* Intel DCAP verifier: loading collateral (PCS bodies and PEM/DER files, dcap-qvl's
 * QuoteCollateralV3 JSON, or a directory), checking it once, and its validity window.
 *
 * Checked at load: TCB Info and QE Identity signatures (raw ECDSA P-256 r||s over the exact bytes
 * of the "tcbInfo" / "enclaveIdentity" value as written, or of the dcap-qvl string), the signing
 * chain(s) of exactly two certificates whose second is byte-identical to the trust anchor and
 * whose first ("SGX TCB Signing") chains to it at `at` and is not on the Root CA CRL (which is
 * therefore verified too), both CRLs' form (nextUpdate, CRL number and authority key identifier,
 * as QVL requires), the Root CA CRL's issuer, and that everything is valid at `at`. The PCK CRL's
 * signature needs the PCK CA certificate, which each quote carries: it is checked with the
 * quote's chain (dcap_pck.c). */
#include <limits.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "attest/dcap_internal.h"
#include "ward/encoding.h"
#include "ward/json.h"

/* What one load is made of, whatever the container. */
typedef struct parts {
    const char *tcb_body;
    size_t tcb_body_len;
    uint8_t tcb_sig[64];
    const char *qe_body;
    size_t qe_body_len;
    uint8_t qe_sig[64];
    const char *tcb_chain;
    size_t tcb_chain_len;
    const char *qe_chain; /* NULL: tcb_chain */
    size_t qe_chain_len;
    const uint8_t *root_crl;
    size_t root_crl_len;
    const uint8_t *pck_crl;
    size_t pck_crl_len;
} parts;

/* ---- CRLs ----------------------------------------------------------------------------------- */

/* Howard Hinnant's days_from_civil, as in dcap_util.c (kept local: one use each). */
static int64_t tm_to_unix(const struct tm *tm)
{
    int64_t y = (int64_t)tm->tm_year + 1900, m = (int64_t)tm->tm_mon + 1, d = tm->tm_mday;
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    int64_t days = era * 146097 + doe - 719468;
    return days * 86400 + (int64_t)tm->tm_hour * 3600 + (int64_t)tm->tm_min * 60 + tm->tm_sec;
}

static ward_err asn1_time(const ASN1_TIME *t, const char *what, int64_t *out)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
        return ward_err_ossl(WARD_ERR_FORMAT, "%s: malformed time", what);
    *out = tm_to_unix(&tm);
    return WARD_OK;
}

/* The CRL's times, issuer (RFC 2253, as ward_cert_issuer prints names) and required
 * extensions; ward_x509 has no reader for these, so OpenSSL is called directly. */
static ward_err crl_inspect(const uint8_t *der, size_t len, const char *what, int64_t *this_u,
                            int64_t *next_u, char **issuer)
{
    if (len > (size_t)LONG_MAX)
        return ward_err_set(WARD_ERR_OVERFLOW, "%s: too large", what);
    const unsigned char *p = der;
    X509_CRL *crl = d2i_X509_CRL(NULL, &p, (long)len);
    if (crl == NULL)
        return ward_err_ossl(WARD_ERR_FORMAT, "%s: malformed DER", what);
    ward_err err = WARD_OK;
    BIO *bio = NULL;
    if ((size_t)(p - der) != len) {
        err = ward_err_set(WARD_ERR_FORMAT, "%s: %zu bytes after the DER CRL", what,
                           len - (size_t)(p - der));
        goto done;
    }
    if (X509_CRL_get0_nextUpdate(crl) == NULL) {
        err = ward_err_set(WARD_ERR_FORMAT, "%s: has no nextUpdate", what);
        goto done;
    }
    if ((err = asn1_time(X509_CRL_get0_lastUpdate(crl), what, this_u)) != WARD_OK ||
        (err = asn1_time(X509_CRL_get0_nextUpdate(crl), what, next_u)) != WARD_OK)
        goto done;
    if (X509_CRL_get_ext_by_NID(crl, NID_crl_number, -1) < 0 ||
        X509_CRL_get_ext_by_NID(crl, NID_authority_key_identifier, -1) < 0) {
        err = ward_err_set(WARD_ERR_FORMAT,
                           "%s: lacks the CRL number or authority key identifier extension",
                           what);
        goto done;
    }
    bio = BIO_new(BIO_s_mem());
    char *data = NULL;
    long n = 0;
    if (bio == NULL || X509_NAME_print_ex(bio, X509_CRL_get_issuer(crl), 0, XN_FLAG_RFC2253) < 0 ||
        (n = BIO_get_mem_data(bio, &data)) < 0 || (n > 0 && data == NULL)) {
        err = ward_err_ossl(WARD_ERR_CRYPTO, "%s: cannot print the issuer", what);
        goto done;
    }
    *issuer = malloc((size_t)n + 1);
    if (*issuer == NULL) {
        err = ward_err_set(WARD_ERR_NOMEM, "%s: out of memory", what);
        goto done;
    }
    if (n > 0)
        memcpy(*issuer, data, (size_t)n);
    (*issuer)[n] = '\0';
done:
    BIO_free(bio);
    X509_CRL_free(crl);
    ERR_clear_error();
    return err;
}

/* A CRL given as DER or PEM ("X509 CRL"). */
static ward_err load_crl(const uint8_t *data, size_t len, const char *what, ward_crl **crl,
                         int64_t *this_u, int64_t *next_u, char **issuer)
{
    if (data == NULL || len == 0)
        return ward_err_set(WARD_ERR_INVALID_ARG, "%s is missing", what);
    dcap_blob blob = {NULL, 0};
    const uint8_t *der = data;
    size_t der_len = len;
    if (data[0] != 0x30) {
        size_t n = 0;
        ward_err err = dcap_pem_decode((const char *)data, len, "X509 CRL", 1, &blob, 1, &n);
        if (err)
            return ward_err_wrap(err, "%s", what);
        der = blob.p;
        der_len = blob.n;
    }
    ward_err err = crl_inspect(der, der_len, what, this_u, next_u, issuer);
    if (err == WARD_OK) {
        err = ward_crl_from_der(der, der_len, crl);
        if (err)
            ward_err_wrap(err, "%s", what);
    }
    dcap_blobs_free(&blob, 1);
    return err;
}

/* ---- signing chains and signed JSON --------------------------------------------------------- */

static ward_err load_signer(const ward_dcap_collateral *c, const char *pem, size_t len,
                            const char *what, int64_t at, ward_pkey **key, int64_t *nb,
                            int64_t *na)
{
    if (pem == NULL || len == 0)
        return ward_err_set(WARD_ERR_INVALID_ARG, "%s is missing", what);
    dcap_blob blobs[3];
    size_t n = 0;
    ward_cert *leaf = NULL;
    ward_err err = dcap_pem_decode(pem, len, "CERTIFICATE", 1, blobs, 3, &n);
    if (err)
        return ward_err_wrap(err, "%s", what);
    if (n != 2) {
        err = ward_err_set(WARD_ERR_FORMAT,
                           "%s: %zu certificates (the TCB Signing certificate and the root "
                           "expected)", what, n);
        goto done;
    }
    if (blobs[1].n != c->root_der_len || memcmp(blobs[1].p, c->root_der, c->root_der_len) != 0) {
        err = ward_err_set(WARD_ERR_VERIFY,
                           "%s: its root is not the trusted root (the Intel SGX Root CA)", what);
        goto done;
    }
    if ((err = ward_cert_from_der(blobs[0].p, blobs[0].n, &leaf)) != WARD_OK) {
        ward_err_wrap(err, "%s", what);
        goto done;
    }
    char *cn = NULL;
    if (ward_cert_common_name(leaf, &cn) != WARD_OK || strstr(cn, "SGX TCB Signing") == NULL) {
        err = ward_err_set(WARD_ERR_VERIFY,
                           "%s: the signer's common name does not contain \"SGX TCB Signing\"",
                           what);
        free(cn);
        goto done;
    }
    free(cn);
    err = ward_cert_verify_chain(leaf, NULL, 0, &c->root, 1, &c->root_crl, 1, at,
                                 WARD_CHAIN_REQUIRE_CRLS);
    if (err) {
        ward_err_wrap(err, "%s", what);
        goto done;
    }
    if ((err = ward_cert_validity(leaf, nb, na)) != WARD_OK ||
        (err = ward_cert_public_key(leaf, key)) != WARD_OK)
        goto done;
    if (ward_pkey_type(*key) != WARD_KEY_EC_P256) {
        ward_pkey_free(*key);
        *key = NULL;
        err = ward_err_set(WARD_ERR_VERIFY, "%s: the signer's key is not ECDSA P-256", what);
    }
done:
    ward_cert_free(leaf);
    dcap_blobs_free(blobs, n);
    return err;
}

/* A PCS body {"<member>":{...},"signature":"<hex r||s>"}: the member's exact bytes and the
 * signature. */
static ward_err split_envelope(const char *text, size_t len, const char *member,
                               const char *doc, const char **body, size_t *body_len,
                               uint8_t sig[64])
{
    if (text == NULL || len == 0)
        return ward_err_set(WARD_ERR_INVALID_ARG, "%s is missing", doc);
    if (len > DCAP_MAX_JSON)
        return ward_err_set(WARD_ERR_LIMIT, "%s: %zu bytes is too large", doc, len);
    json_t *o = NULL;
    ward_err err = ward_json_parse(text, len, &o);
    if (err)
        return ward_err_wrap(err, "%s", doc);
    const json_t *s = json_object_get(o, "signature");
    if (!json_is_object(o) || !json_is_object(json_object_get(o, member)) ||
        !json_is_string(s)) {
        err = ward_err_set(WARD_ERR_FORMAT,
                           "%s: not an object with \"%s\" (an object) and \"signature\"", doc,
                           member);
    } else if (json_string_length(s) != 128 ||
               ward_hex_decode_fixed(json_string_value(s), 128, sig, 64) != WARD_OK) {
        err = ward_err_set(WARD_ERR_FORMAT, "%s: \"signature\" is not 64 bytes of hex", doc);
    } else {
        err = dcap_json_member_span(text, len, member, body, body_len);
        if (err)
            err = ward_err_wrap(WARD_ERR_FORMAT, "%s", doc);
    }
    json_decref(o);
    return err;
}

/* ---- the window ----------------------------------------------------------------------------- */

static ward_err in_window(const char *what, const char *from_name, int64_t from,
                          const char *to_name, int64_t to, int64_t at)
{
    char ts[32], ws[32];
    dcap_format_time(at, ts);
    if (at < from) {
        dcap_format_time(from, ws);
        return ward_err_set(WARD_ERR_VERIFY, "%s is not yet valid at %s (%s %s)", what, ts,
                            from_name, ws);
    }
    if (at >= to) { /* half-open, as OpenSSL treats notAfter and nextUpdate */
        dcap_format_time(to, ws);
        return ward_err_set(WARD_ERR_VERIFY, "%s has expired at %s (%s %s)", what, ts, to_name,
                            ws);
    }
    return WARD_OK;
}

ward_err dcap_collateral_check_time(const ward_dcap_collateral *c, int64_t at)
{
    ward_err err;
    if ((err = in_window("TCB Info", "issueDate", c->tcb.issue_date, "nextUpdate",
                         c->tcb.next_update, at)) != WARD_OK ||
        (err = in_window("QE Identity", "issueDate", c->qe.issue_date, "nextUpdate",
                         c->qe.next_update, at)) != WARD_OK ||
        (err = in_window("PCK CRL", "thisUpdate", c->pck_crl_this, "nextUpdate",
                         c->pck_crl_next, at)) != WARD_OK ||
        (err = in_window("Root CA CRL", "thisUpdate", c->root_crl_this, "nextUpdate",
                         c->root_crl_next, at)) != WARD_OK ||
        (err = in_window("TCB Signing certificate (TCB Info)", "notBefore", c->tcb_signer_nb,
                         "notAfter", c->tcb_signer_na, at)) != WARD_OK ||
        (err = in_window("TCB Signing certificate (QE Identity)", "notBefore",
                         c->qe_signer_nb, "notAfter", c->qe_signer_na, at)) != WARD_OK ||
        (err = in_window("trusted root certificate", "notBefore", c->root_nb, "notAfter",
                         c->root_na, at)) != WARD_OK)
        return err;
    return WARD_OK;
}

static int64_t max64(int64_t a, int64_t b)
{
    return a > b ? a : b;
}

static int64_t min64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

/* ---- loading -------------------------------------------------------------------------------- */

void ward_dcap_collateral_free(ward_dcap_collateral *c)
{
    if (c == NULL)
        return;
    dcap_pck_cache_clear(c);
    pthread_mutex_destroy(&c->lock);
    ward_cert_free(c->root);
    free(c->root_der);
    ward_crl_free(c->root_crl);
    ward_crl_free(c->pck_crl);
    free(c->pck_crl_issuer);
    dcap_tcb_info_free(&c->tcb);
    dcap_qe_identity_free(&c->qe);
    free(c);
}

static ward_err resolve_time(int64_t at, int64_t *out)
{
    if (at < 0)
        return ward_err_set(WARD_ERR_INVALID_ARG, "DCAP: negative time");
    *out = at != 0 ? at : (int64_t)time(NULL);
    return WARD_OK;
}

static ward_err load_root(ward_dcap_collateral *c, const ward_dcap_options *opt)
{
    const uint8_t *der;
    size_t len = 0;
    if (opt != NULL && opt->root_ca_der != NULL) {
        der = opt->root_ca_der;
        len = opt->root_ca_der_len;
    } else {
        der = ward_dcap_intel_root_ca(&len);
    }
    ward_err err = ward_cert_from_der(der, len, &c->root);
    if (err)
        return ward_err_wrap(err, "DCAP trust anchor");
    c->root_der = malloc(len);
    if (c->root_der == NULL)
        return ward_err_set(WARD_ERR_NOMEM, "DCAP: out of memory");
    memcpy(c->root_der, der, len);
    c->root_der_len = len;
    return ward_cert_validity(c->root, &c->root_nb, &c->root_na);
}

static ward_err check_root_crl_issuer(const ward_dcap_collateral *c, const char *issuer)
{
    char *subject = NULL;
    ward_err err = ward_cert_subject(c->root, &subject);
    if (err)
        return err;
    if (strcmp(subject, issuer) != 0)
        err = ward_err_set(WARD_ERR_VERIFY,
                           "Root CA CRL is issued by \"%s\", not by the trusted root \"%s\"",
                           issuer, subject);
    free(subject);
    return err;
}

static ward_err verify_json_sig(const ward_pkey *key, const char *body, size_t len,
                                const uint8_t sig[64], const char *doc)
{
    ward_err err = ward_verify(key, WARD_HASH_SHA256, WARD_SIG_RAW, body, len, sig, 64);
    if (err == WARD_ERR_VERIFY)
        return ward_err_set(WARD_ERR_VERIFY,
                            "%s: the signature does not verify with the TCB Signing key", doc);
    return err;
}

static ward_err load_parts(const parts *p, const ward_dcap_options *opt, int64_t at,
                           ward_dcap_collateral **out)
{
    ward_dcap_collateral *c = calloc(1, sizeof *c);
    if (c == NULL)
        return ward_err_set(WARD_ERR_NOMEM, "DCAP collateral: out of memory");
    if (pthread_mutex_init(&c->lock, NULL) != 0) {
        free(c);
        return ward_err_set(WARD_ERR_NOMEM, "DCAP collateral: cannot make a mutex");
    }
    c->flags = opt != NULL ? opt->flags : 0;
    ward_pkey *tcb_key = NULL, *qe_key = NULL;
    char *root_crl_issuer = NULL;
    ward_err err = load_root(c, opt);
    if (err)
        goto done;
    if ((err = load_crl(p->root_crl, p->root_crl_len, "Root CA CRL", &c->root_crl,
                        &c->root_crl_this, &c->root_crl_next, &root_crl_issuer)) != WARD_OK ||
        (err = check_root_crl_issuer(c, root_crl_issuer)) != WARD_OK ||
        (err = load_crl(p->pck_crl, p->pck_crl_len, "PCK CRL", &c->pck_crl, &c->pck_crl_this,
                        &c->pck_crl_next, &c->pck_crl_issuer)) != WARD_OK)
        goto done;
    if (strstr(c->pck_crl_issuer, "CA") == NULL) {
        err = ward_err_set(WARD_ERR_VERIFY, "PCK CRL: its issuer \"%s\" is not a CA",
                           c->pck_crl_issuer);
        goto done;
    }
    err = load_signer(c, p->tcb_chain, p->tcb_chain_len, "TCB Info signing chain", at,
                      &tcb_key, &c->tcb_signer_nb, &c->tcb_signer_na);
    if (err)
        goto done;
    if (p->qe_chain != NULL) {
        err = load_signer(c, p->qe_chain, p->qe_chain_len, "QE Identity signing chain", at,
                          &qe_key, &c->qe_signer_nb, &c->qe_signer_na);
        if (err)
            goto done;
    } else {
        c->qe_signer_nb = c->tcb_signer_nb;
        c->qe_signer_na = c->tcb_signer_na;
    }
    if ((err = verify_json_sig(tcb_key, p->tcb_body, p->tcb_body_len, p->tcb_sig,
                               "TCB Info")) != WARD_OK ||
        (err = verify_json_sig(qe_key != NULL ? qe_key : tcb_key, p->qe_body, p->qe_body_len,
                               p->qe_sig, "QE Identity")) != WARD_OK ||
        (err = dcap_tcb_info_parse(p->tcb_body, p->tcb_body_len, &c->tcb)) != WARD_OK ||
        (err = dcap_qe_identity_parse(p->qe_body, p->qe_body_len, &c->qe)) != WARD_OK)
        goto done;
    if (c->tcb.is_tdx != c->qe.is_td) {
        err = ward_err_set(WARD_ERR_VERIFY,
                           "DCAP collateral: the TCB Info is for %s but the QE Identity is %s",
                           c->tcb.is_tdx ? "TDX" : "SGX", c->qe.is_td ? "TD_QE" : "QE");
        goto done;
    }
    c->not_before = max64(max64(max64(c->tcb.issue_date, c->qe.issue_date),
                                max64(c->pck_crl_this, c->root_crl_this)),
                          max64(max64(c->tcb_signer_nb, c->qe_signer_nb), c->root_nb));
    c->not_after = min64(min64(min64(c->tcb.next_update, c->qe.next_update),
                               min64(c->pck_crl_next, c->root_crl_next)),
                         min64(min64(c->tcb_signer_na, c->qe_signer_na), c->root_na));
    err = dcap_collateral_check_time(c, at);
    if (err)
        ward_err_wrap(err, "DCAP collateral");
done:
    free(root_crl_issuer);
    ward_pkey_free(tcb_key);
    ward_pkey_free(qe_key);
    if (err) {
        ward_dcap_collateral_free(c);
        return err;
    }
    *out = c;
    return WARD_OK;
}

ward_err ward_dcap_collateral_load(const ward_dcap_collateral_src *src,
                                   const ward_dcap_options *opt, int64_t at,
                                   ward_dcap_collateral **out)
{
    if (out == NULL || src == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "DCAP collateral: NULL argument");
    *out = NULL;
    ward_err err = resolve_time(at, &at);
    if (err)
        return err;
    parts p;
    memset(&p, 0, sizeof p);
    if ((err = split_envelope(src->tcb_info, src->tcb_info_len, "tcbInfo", "TCB Info",
                              &p.tcb_body, &p.tcb_body_len, p.tcb_sig)) != WARD_OK ||
        (err = split_envelope(src->qe_identity, src->qe_identity_len, "enclaveIdentity",
                              "QE Identity", &p.qe_body, &p.qe_body_len, p.qe_sig)) != WARD_OK)
        return err;
    p.tcb_chain = src->tcb_signing_chain;
    p.tcb_chain_len = src->tcb_signing_chain_len;
    p.qe_chain = src->qe_identity_chain;
    p.qe_chain_len = src->qe_identity_chain_len;
    p.root_crl = src->root_ca_crl;
    p.root_crl_len = src->root_ca_crl_len;
    p.pck_crl = src->pck_crl;
    p.pck_crl_len = src->pck_crl_len;
    return load_parts(&p, opt, at, out);
}

/* ---- dcap-qvl's QuoteCollateralV3 ----------------------------------------------------------- */

static ward_err qvl_str(const json_t *o, const char *key, int required, const char **s,
                        size_t *n)
{
    const json_t *v = json_object_get(o, key);
    *s = NULL;
    *n = 0;
    if (v == NULL && !required)
        return WARD_OK;
    if (!json_is_string(v) || json_string_length(v) == 0)
        return ward_err_set(WARD_ERR_FORMAT,
                            "QuoteCollateralV3: \"%s\" is missing or not a non-empty string", key);
    *s = json_string_value(v);
    *n = json_string_length(v);
    return WARD_OK;
}

ward_err ward_dcap_collateral_load_qvl_json(const char *json, size_t len,
                                            const ward_dcap_options *opt, int64_t at,
                                            ward_dcap_collateral **out)
{
    if (out == NULL || json == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "DCAP collateral: NULL argument");
    *out = NULL;
    ward_err err = resolve_time(at, &at);
    if (err)
        return err;
    if (len > DCAP_MAX_JSON)
        return ward_err_set(WARD_ERR_LIMIT, "QuoteCollateralV3: %zu bytes is too large", len);
    json_t *o = NULL;
    err = ward_json_parse(json, len, &o);
    if (err)
        return ward_err_wrap(err, "QuoteCollateralV3");
    parts p;
    memset(&p, 0, sizeof p);
    const char *tsig = NULL, *qsig = NULL, *root_hex = NULL, *pck_hex = NULL, *unused = NULL;
    size_t tsig_len = 0, qsig_len = 0, root_hex_len = 0, pck_hex_len = 0, unused_len = 0;
    uint8_t *root_der = NULL, *pck_der = NULL;
    if (!json_is_object(o)) {
        err = ward_err_set(WARD_ERR_FORMAT, "QuoteCollateralV3: not a JSON object");
        goto done;
    }
    if ((err = qvl_str(o, "tcb_info", 1, &p.tcb_body, &p.tcb_body_len)) != WARD_OK ||
        (err = qvl_str(o, "tcb_info_signature", 1, &tsig, &tsig_len)) != WARD_OK ||
        (err = qvl_str(o, "qe_identity", 1, &p.qe_body, &p.qe_body_len)) != WARD_OK ||
        (err = qvl_str(o, "qe_identity_signature", 1, &qsig, &qsig_len)) != WARD_OK ||
        (err = qvl_str(o, "tcb_info_issuer_chain", 1, &p.tcb_chain, &p.tcb_chain_len)) !=
            WARD_OK ||
        (err = qvl_str(o, "qe_identity_issuer_chain", 1, &p.qe_chain, &p.qe_chain_len)) !=
            WARD_OK ||
        (err = qvl_str(o, "root_ca_crl", 1, &root_hex, &root_hex_len)) != WARD_OK ||
        (err = qvl_str(o, "pck_crl", 1, &pck_hex, &pck_hex_len)) != WARD_OK ||
        (err = qvl_str(o, "pck_crl_issuer_chain", 0, &unused, &unused_len)) != WARD_OK)
        goto done;
    (void)unused;
    if (tsig_len != 128 || ward_hex_decode_fixed(tsig, 128, p.tcb_sig, 64) != WARD_OK ||
        qsig_len != 128 || ward_hex_decode_fixed(qsig, 128, p.qe_sig, 64) != WARD_OK) {
        err = ward_err_set(WARD_ERR_FORMAT,
                           "QuoteCollateralV3: a signature is not 64 bytes of hex");
        goto done;
    }
    if (ward_hex_decode(root_hex, root_hex_len, &root_der, &p.root_crl_len) != WARD_OK ||
        ward_hex_decode(pck_hex, pck_hex_len, &pck_der, &p.pck_crl_len) != WARD_OK) {
        err = ward_err_set(WARD_ERR_FORMAT, "QuoteCollateralV3: a CRL is not hex");
        goto done;
    }
    p.root_crl = root_der;
    p.pck_crl = pck_der;
    /* Most sets carry the same chain twice: verify it once. */
    if (p.qe_chain_len == p.tcb_chain_len && memcmp(p.qe_chain, p.tcb_chain, p.tcb_chain_len) == 0)
        p.qe_chain = NULL;
    err = load_parts(&p, opt, at, out);
done:
    free(root_der);
    free(pck_der);
    json_decref(o);
    return err;
}

/* ---- a directory ---------------------------------------------------------------------------- */

static ward_err read_file(const char *dir, const char *prefix, const char *name, int optional,
                          uint8_t **data, size_t *len)
{
    *data = NULL;
    *len = 0;
    char path[4096];
    int k = snprintf(path, sizeof path, "%s/%s%s", dir, prefix, name);
    if (k < 0 || (size_t)k >= sizeof path)
        return ward_err_set(WARD_ERR_INVALID_ARG, "DCAP collateral: path too long");
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        if (optional)
            return WARD_ERR_NOT_FOUND;
        return ward_err_set(WARD_ERR_NOT_FOUND, "DCAP collateral: cannot open %s", path);
    }
    struct stat st;
    ward_err err = WARD_OK;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        err = ward_err_set(WARD_ERR_IO, "DCAP collateral: %s is not a regular file", path);
    } else if ((uint64_t)st.st_size > DCAP_MAX_JSON) {
        err = ward_err_set(WARD_ERR_LIMIT, "DCAP collateral: %s is too large", path);
    } else {
        size_t n = (size_t)st.st_size;
        *data = malloc(n + 1);
        if (*data == NULL)
            err = ward_err_set(WARD_ERR_NOMEM, "DCAP collateral: out of memory");
        else if (n != 0 && fread(*data, 1, n, f) != n)
            err = ward_err_set(WARD_ERR_IO, "DCAP collateral: cannot read %s", path);
        else
            *len = n;
    }
    fclose(f);
    if (err) {
        free(*data);
        *data = NULL;
        *len = 0;
    }
    return err;
}

ward_err ward_dcap_collateral_load_dir(const char *dir, const char *prefix,
                                       const ward_dcap_options *opt, int64_t at,
                                       ward_dcap_collateral **out)
{
    if (out == NULL || dir == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "DCAP collateral: NULL argument");
    *out = NULL;
    if (prefix == NULL)
        prefix = "";
    enum { TCB, QE, CHAIN, QE_CHAIN, ROOT_CRL, PCK_CRL, N_FILES };
    uint8_t *f[N_FILES] = {NULL};
    size_t l[N_FILES] = {0};
    ward_err err = read_file(dir, prefix, "tcb_info.json", 1, &f[TCB], &l[TCB]);
    if (err == WARD_ERR_NOT_FOUND) {
        err = read_file(dir, prefix, "collateral.json", 0, &f[TCB], &l[TCB]);
        if (err == WARD_OK)
            err = ward_dcap_collateral_load_qvl_json((const char *)f[TCB], l[TCB], opt, at, out);
        free(f[TCB]);
        return err;
    }
    if (err)
        return err;
    if ((err = read_file(dir, prefix, "qe_identity.json", 0, &f[QE], &l[QE])) != WARD_OK ||
        (err = read_file(dir, prefix, "tcb_signing_chain.pem", 0, &f[CHAIN], &l[CHAIN])) !=
            WARD_OK)
        goto done;
    err = read_file(dir, prefix, "qe_identity_chain.pem", 1, &f[QE_CHAIN], &l[QE_CHAIN]);
    if (err != WARD_OK && err != WARD_ERR_NOT_FOUND)
        goto done;
    err = read_file(dir, prefix, "root_ca_crl.der", 1, &f[ROOT_CRL], &l[ROOT_CRL]);
    if (err == WARD_ERR_NOT_FOUND)
        err = read_file(dir, prefix, "root_ca_crl.pem", 0, &f[ROOT_CRL], &l[ROOT_CRL]);
    if (err)
        goto done;
    err = read_file(dir, prefix, "pck_crl.der", 1, &f[PCK_CRL], &l[PCK_CRL]);
    if (err == WARD_ERR_NOT_FOUND)
        err = read_file(dir, prefix, "pck_crl.pem", 0, &f[PCK_CRL], &l[PCK_CRL]);
    if (err)
        goto done;
    ward_dcap_collateral_src src = {
        .tcb_info = (const char *)f[TCB],
        .tcb_info_len = l[TCB],
        .qe_identity = (const char *)f[QE],
        .qe_identity_len = l[QE],
        .tcb_signing_chain = (const char *)f[CHAIN],
        .tcb_signing_chain_len = l[CHAIN],
        .qe_identity_chain = (const char *)f[QE_CHAIN],
        .qe_identity_chain_len = l[QE_CHAIN],
        .root_ca_crl = f[ROOT_CRL],
        .root_ca_crl_len = l[ROOT_CRL],
        .pck_crl = f[PCK_CRL],
        .pck_crl_len = l[PCK_CRL],
    };
    err = ward_dcap_collateral_load(&src, opt, at, out);
done:
    for (size_t i = 0; i < N_FILES; i++)
        free(f[i]);
    return err;
}

ward_err ward_dcap_collateral_get_info(const ward_dcap_collateral *c,
                                       ward_dcap_collateral_info *out)
{
    if (c == NULL || out == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "DCAP collateral info: NULL argument");
    memset(out, 0, sizeof *out);
    out->is_tdx = c->tcb.is_tdx;
    out->tcb_info_version = c->tcb.version;
    memcpy(out->fmspc, c->tcb.fmspc, 6);
    memcpy(out->pceid, c->tcb.pceid, 2);
    out->tcb_eval_number = c->tcb.eval_number;
    out->qe_eval_number = c->qe.eval_number;
    out->not_before = c->not_before;
    out->not_after = c->not_after;
    out->n_tcb_levels = c->tcb.n_levels;
    return WARD_OK;
}
