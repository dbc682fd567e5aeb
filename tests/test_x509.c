/* X.509: certificates made here (P-256 root, P-384 intermediate, P-256 leaf with a custom
 * extension, Ed25519), every field read back, DER/PEM round trips, chain verification at a given
 * time with CRLs; and real certificates: the Intel SGX root and PCK/TCB chains with Intel's
 * CRLs, AMD's ARK/ASK/ASVK and VCEK/VLEK (RSA-PSS), and three attested-TLS certificates. */
#include "testutil.h"

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/pkey_internal.h"
#include "ward/crypto.h"
#include "ward/err.h"
#include "ward/x509.h"

#define DAY INT64_C(86400)
#define YEAR (365 * DAY)
/* Made certificates: root and intermediate from T0 - 1 day, the leaf from T0 for a year. */
#define T0 INT64_C(1700000000)
#define AT (T0 + 30 * DAY)

/* Intel SGX-1 reference time (SOURCES-intel.md): 2025-07-19T10:01:17Z. */
#define T_SGX INT64_C(1752919277)
/* 2025-01-01T00:00:00Z: inside every AMD ARK/ASK/ASVK validity period. */
#define T_AMD INT64_C(1735689600)

#define TAGGED_EVIDENCE_OID "2.23.133.5.4.9"

/* ---- helpers ------------------------------------------------------------------------------ */

#define CHECK_OK(expr)                                                                        \
    do {                                                                                      \
        ward_err e_ = (expr);                                                                 \
        if (e_ != WARD_OK)                                                                    \
            fail_msg("%s failed: %s: %s", #expr, ward_err_name(e_), ward_errmsg());          \
    } while (0)

static void expect_err(ward_err got, ward_err want, const char *substr)
{
    if (got != want)
        fail_msg("expected %s, got %s: %s", ward_err_name(want), ward_err_name(got),
                 ward_errmsg());
    assert_true(strlen(ward_errmsg()) > 0);
    if (substr != NULL && strstr(ward_errmsg(), substr) == NULL)
        fail_msg("message \"%s\" does not mention \"%s\"", ward_errmsg(), substr);
}

static void expect_verify_fail(ward_err got, const char *substr)
{
    expect_err(got, WARD_ERR_VERIFY, substr);
}

static ward_pkey *gen_key(ward_key_type t)
{
    ward_pkey *k = NULL;
    CHECK_OK(ward_pkey_generate(t, &k));
    return k;
}

static ward_cert_spec basic_spec(const char *cn, int is_ca, int64_t nb, int64_t na)
{
    ward_cert_spec s;
    memset(&s, 0, sizeof s);
    s.common_name = cn;
    s.organization = "Ward Test";
    s.not_before = nb;
    s.not_after = na;
    s.is_ca = is_ca;
    s.path_len = -1;
    return s;
}

static ward_cert *make_cert(const ward_cert_spec *spec, const ward_pkey *subject,
                            const ward_cert *issuer, const ward_pkey *issuer_key)
{
    ward_cert *c = NULL;
    CHECK_OK(ward_cert_create(spec, subject, issuer, issuer_key, &c));
    assert_non_null(c);
    return c;
}

static ward_cert *make_ca(const char *cn, int path_len, const ward_pkey *subject,
                          const ward_cert *issuer, const ward_pkey *issuer_key)
{
    ward_cert_spec s = basic_spec(cn, 1, T0 - DAY, T0 + 10 * YEAR);
    s.path_len = path_len;
    return make_cert(&s, subject, issuer, issuer_key);
}

static ward_cert *make_leaf(const char *cn, const ward_pkey *subject, const ward_cert *issuer,
                            const ward_pkey *issuer_key)
{
    ward_cert_spec s = basic_spec(cn, 0, T0, T0 + YEAR);
    return make_cert(&s, subject, issuer, issuer_key);
}

/* The OpenSSL object behind a certificate, through its DER (the tests do not see inside
 * ward_cert). X509_free it. */
static X509 *to_x509(const ward_cert *c)
{
    uint8_t *der = NULL;
    size_t len = 0;
    CHECK_OK(ward_cert_to_der(c, &der, &len));
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    assert_non_null(x);
    free(der);
    return x;
}

static ward_cert *from_x509(X509 *x)
{
    unsigned char *der = NULL;
    int n = i2d_X509(x, &der);
    assert_true(n > 0);
    ward_cert *c = NULL;
    CHECK_OK(ward_cert_from_der(der, (size_t)n, &c));
    OPENSSL_free(der);
    return c;
}

static ward_cert *load_cert_der(const char *rel)
{
    size_t len = 0;
    uint8_t *der = tu_read_file(tu_vector_path(rel), &len);
    ward_cert *c = NULL;
    CHECK_OK(ward_cert_from_der(der, len, &c));
    free(der);
    return c;
}

static ward_cert *load_cert_any(const char *rel)
{
    size_t len = 0;
    uint8_t *data = tu_read_file(tu_vector_path(rel), &len);
    ward_cert *c = NULL;
    if (len > 0 && data[0] == 0x30)
        CHECK_OK(ward_cert_from_der(data, len, &c));
    else
        CHECK_OK(ward_cert_from_pem((const char *)data, len, &c));
    free(data);
    return c;
}

static ward_cert **load_cert_list(const char *rel, size_t *n)
{
    size_t len = 0;
    uint8_t *pem = tu_read_file(tu_vector_path(rel), &len);
    ward_cert **list = NULL;
    CHECK_OK(ward_cert_list_from_pem((const char *)pem, len, &list, n));
    free(pem);
    return list;
}

static ward_crl *load_crl_der(const char *rel)
{
    size_t len = 0;
    uint8_t *der = tu_read_file(tu_vector_path(rel), &len);
    ward_crl *c = NULL;
    CHECK_OK(ward_crl_from_der(der, len, &c));
    free(der);
    return c;
}

/* The certificate with the last byte of its DER (inside the signature) flipped. */
static ward_cert *tampered(const ward_cert *c)
{
    uint8_t *der = NULL;
    size_t len = 0;
    CHECK_OK(ward_cert_to_der(c, &der, &len));
    der[len - 1] ^= 0x01;
    ward_cert *t = NULL;
    CHECK_OK(ward_cert_from_der(der, len, &t));
    free(der);
    return t;
}

static void check_cn(const ward_cert *c, const char *want)
{
    char *cn = NULL;
    CHECK_OK(ward_cert_common_name(c, &cn));
    assert_string_equal(cn, want);
    free(cn);
}

static char *serial_of(const ward_cert *c)
{
    char *s = NULL;
    CHECK_OK(ward_cert_serial_hex(c, &s));
    return s;
}

static ward_err verify1(const ward_cert *leaf, ward_cert *inter, ward_cert *root,
                        ward_crl *const *crls, size_t n_crls, int64_t at, unsigned flags)
{
    ward_cert *inters[1] = {inter};
    ward_cert *roots[1] = {root};
    return ward_cert_verify_chain(leaf, inter ? inters : NULL, inter ? 1 : 0, roots, 1, crls,
                                  n_crls, at, flags);
}

static ward_crl *make_crl(const ward_cert *issuer, const ward_pkey *key, const char *revoked,
                          int64_t this_update, int64_t next_update)
{
    const char *list[1] = {revoked};
    ward_crl *crl = NULL;
    CHECK_OK(ward_crl_create(issuer, key, list, revoked ? 1 : 0, this_update, next_update, &crl));
    return crl;
}

/* ---- the made PKI, built once --------------------------------------------------------------- */

static const uint8_t EVIDENCE[] = {0xd9, 0xea, 0x60, 0x82, 0x43, 0x01, 0x02, 0x03, 0x41, 0xff};
static const char *const DNS_NAMES[] = {"node1.ward.test", "*.tasks.ward.test"};

static struct pki {
    ward_pkey *root_key, *int_key, *leaf_key;
    ward_cert *root, *inter, *leaf;
} P;

static int pki_setup(void **state)
{
    (void)state;
    P.root_key = gen_key(WARD_KEY_EC_P256);
    P.int_key = gen_key(WARD_KEY_EC_P384);
    P.leaf_key = gen_key(WARD_KEY_EC_P256);
    P.root = make_ca("Ward Root", -1, P.root_key, NULL, P.root_key);
    P.inter = make_ca("Ward Intermediate", 0, P.int_key, P.root, P.root_key);

    ward_cert_ext ext = {TAGGED_EVIDENCE_OID, EVIDENCE, sizeof EVIDENCE, 0};
    ward_cert_spec s = basic_spec("Ward Leaf", 0, T0, T0 + YEAR);
    s.dns_names = DNS_NAMES;
    s.n_dns_names = 2;
    s.server_auth = 1;
    s.extensions = &ext;
    s.n_extensions = 1;
    P.leaf = make_cert(&s, P.leaf_key, P.inter, P.int_key);
    return 0;
}

static int pki_teardown(void **state)
{
    (void)state;
    ward_cert_free(P.leaf);
    ward_cert_free(P.inter);
    ward_cert_free(P.root);
    ward_pkey_free(P.leaf_key);
    ward_pkey_free(P.int_key);
    ward_pkey_free(P.root_key);
    return 0;
}

/* ---- made certificates: fields ------------------------------------------------------------ */

static void test_made_fields(void **state)
{
    (void)state;
    char *s = NULL;

    check_cn(P.leaf, "Ward Leaf");
    CHECK_OK(ward_cert_subject(P.leaf, &s));
    assert_string_equal(s, "CN=Ward Leaf,O=Ward Test");
    free(s);
    CHECK_OK(ward_cert_issuer(P.leaf, &s));
    assert_string_equal(s, "CN=Ward Intermediate,O=Ward Test");
    free(s);
    CHECK_OK(ward_cert_issuer(P.root, &s));
    assert_string_equal(s, "CN=Ward Root,O=Ward Test");
    free(s);

    /* 16 random bytes, positive, no leading zero: exactly 32 hex digits, first in 4..7. */
    char *serial = serial_of(P.leaf);
    assert_int_equal(strlen(serial), 32);
    assert_true(serial[0] >= '4' && serial[0] <= '7');
    for (const char *c = serial; *c; c++)
        assert_true((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f'));
    char *serial2 = serial_of(P.inter);
    assert_string_not_equal(serial, serial2);
    free(serial);
    free(serial2);

    int64_t nb = 0, na = 0;
    CHECK_OK(ward_cert_validity(P.leaf, &nb, &na));
    assert_true(nb == T0 && na == T0 + YEAR);
    CHECK_OK(ward_cert_validity(P.root, &nb, &na));
    assert_true(nb == T0 - DAY && na == T0 + 10 * YEAR);

    assert_int_equal(ward_cert_is_ca(P.root), 1);
    assert_int_equal(ward_cert_is_ca(P.inter), 1);
    assert_int_equal(ward_cert_is_ca(P.leaf), 0);
    assert_int_equal(ward_cert_is_ca(NULL), 0);

    /* The custom extension, byte for byte, non-critical. */
    uint8_t *v = NULL;
    size_t vlen = 0;
    int crit = -1;
    CHECK_OK(ward_cert_extension(P.leaf, TAGGED_EVIDENCE_OID, &v, &vlen, &crit));
    assert_int_equal(vlen, sizeof EVIDENCE);
    assert_memory_equal(v, EVIDENCE, vlen);
    assert_int_equal(crit, 0);
    free(v);
    CHECK_OK(ward_cert_extension(P.leaf, TAGGED_EVIDENCE_OID, &v, &vlen, NULL));
    free(v);
    expect_err(ward_cert_extension(P.root, TAGGED_EVIDENCE_OID, &v, &vlen, &crit),
               WARD_ERR_NOT_FOUND, NULL);
    assert_null(v);
    expect_err(ward_cert_extension(P.leaf, "not an oid", &v, &vlen, &crit),
               WARD_ERR_INVALID_ARG, NULL);
    /* basicConstraints and keyUsage are critical; the rest are not. */
    CHECK_OK(ward_cert_extension(P.leaf, "2.5.29.19", &v, &vlen, &crit));
    assert_int_equal(crit, 1);
    free(v);
    CHECK_OK(ward_cert_extension(P.leaf, "2.5.29.15", &v, &vlen, &crit));
    assert_int_equal(crit, 1);
    free(v);
    CHECK_OK(ward_cert_extension(P.leaf, "2.5.29.17", &v, &vlen, &crit));
    assert_int_equal(crit, 0);
    free(v);

    /* Key identity: the SPKI hash is the key's, through the certificate and its public key. */
    uint8_t h1[WARD_SHA256_LEN], h2[WARD_SHA256_LEN], h3[WARD_SHA256_LEN];
    CHECK_OK(ward_cert_spki_sha256(P.leaf, h1));
    CHECK_OK(ward_pkey_spki_sha256(P.leaf_key, h2));
    assert_memory_equal(h1, h2, sizeof h1);
    ward_pkey *pub = NULL;
    CHECK_OK(ward_cert_public_key(P.leaf, &pub));
    assert_int_equal(ward_pkey_type(pub), WARD_KEY_EC_P256);
    assert_int_equal(ward_pkey_is_private(pub), 0);
    CHECK_OK(ward_pkey_spki_sha256(pub, h3));
    assert_memory_equal(h1, h3, sizeof h1);
    ward_pkey_free(pub);
    CHECK_OK(ward_cert_spki_sha256(P.inter, h1));
    CHECK_OK(ward_pkey_spki_sha256(P.int_key, h2));
    assert_memory_equal(h1, h2, sizeof h1);

    /* Fingerprint: SHA-256 of the DER. */
    uint8_t *der = NULL;
    size_t len = 0;
    CHECK_OK(ward_cert_to_der(P.leaf, &der, &len));
    CHECK_OK(ward_hash(WARD_HASH_SHA256, der, len, h1));
    CHECK_OK(ward_cert_fingerprint(P.leaf, h2));
    assert_memory_equal(h1, h2, sizeof h1);
    free(der);
}

/* What the certificates say, read with OpenSSL itself. */
static void test_made_extensions_openssl(void **state)
{
    (void)state;
    X509 *root = to_x509(P.root), *inter = to_x509(P.inter), *leaf = to_x509(P.leaf);

    assert_int_equal(X509_get_version(leaf), X509_VERSION_3);
    assert_int_equal(X509_get_signature_nid(root), NID_ecdsa_with_SHA256);
    assert_int_equal(X509_get_signature_nid(inter), NID_ecdsa_with_SHA256); /* root is P-256 */
    assert_int_equal(X509_get_signature_nid(leaf), NID_ecdsa_with_SHA384);  /* by P-384 */

    uint32_t rf = X509_get_extension_flags(root), lf = X509_get_extension_flags(leaf);
    assert_true(rf & EXFLAG_CA);
    assert_true(rf & EXFLAG_BCONS);
    assert_false(rf & EXFLAG_INVALID);
    assert_true(rf & EXFLAG_SS);
    assert_false(lf & EXFLAG_CA);
    assert_true(lf & EXFLAG_BCONS);
    assert_false(lf & EXFLAG_INVALID);
    assert_int_equal(X509_get_pathlen(root), -1);
    assert_int_equal(X509_get_pathlen(inter), 0);
    assert_int_equal(X509_get_key_usage(root), KU_KEY_CERT_SIGN | KU_CRL_SIGN);
    assert_int_equal(X509_get_key_usage(leaf), KU_DIGITAL_SIGNATURE);
    assert_int_equal(X509_get_extended_key_usage(leaf), XKU_SSL_SERVER);
    assert_int_equal(X509_get_extended_key_usage(inter), UINT32_MAX); /* none on a CA */

    /* Key identifiers: each AKID is its issuer's SKID; the root's is its own. */
    const ASN1_OCTET_STRING *root_skid = X509_get0_subject_key_id(root);
    const ASN1_OCTET_STRING *int_skid = X509_get0_subject_key_id(inter);
    assert_non_null(root_skid);
    assert_non_null(int_skid);
    assert_non_null(X509_get0_subject_key_id(leaf));
    assert_int_equal(ASN1_STRING_length(root_skid), 20);
    assert_int_equal(ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(root), root_skid), 0);
    assert_int_equal(ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(inter), root_skid), 0);
    assert_int_equal(ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(leaf), int_skid), 0);

    /* subjectAltName: the two DNS names, in order. */
    GENERAL_NAMES *gens = X509_get_ext_d2i(leaf, NID_subject_alt_name, NULL, NULL);
    assert_non_null(gens);
    assert_int_equal(sk_GENERAL_NAME_num(gens), 2);
    for (int i = 0; i < 2; i++) {
        GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
        assert_int_equal(g->type, GEN_DNS);
        assert_int_equal(ASN1_STRING_length(g->d.dNSName), (int)strlen(DNS_NAMES[i]));
        assert_memory_equal(ASN1_STRING_get0_data(g->d.dNSName), DNS_NAMES[i],
                            strlen(DNS_NAMES[i]));
    }
    GENERAL_NAMES_free(gens);
    assert_int_equal(X509_check_host(leaf, "node1.ward.test", 0, 0, NULL), 1);
    assert_int_equal(X509_check_host(leaf, "x.tasks.ward.test", 0, 0, NULL), 1);

    /* Signatures check with OpenSSL directly. */
    assert_int_equal(X509_verify(leaf, X509_get0_pubkey(inter)), 1);
    assert_int_equal(X509_verify(inter, X509_get0_pubkey(root)), 1);
    assert_int_equal(X509_verify(root, X509_get0_pubkey(root)), 1);

    X509_free(root);
    X509_free(inter);
    X509_free(leaf);
}

static void test_made_roundtrip(void **state)
{
    (void)state;
    uint8_t *der = NULL, *der2 = NULL;
    size_t len = 0, len2 = 0;
    char *pem = NULL;
    size_t pem_len = 0;
    ward_cert *c = NULL;

    /* DER */
    CHECK_OK(ward_cert_to_der(P.leaf, &der, &len));
    CHECK_OK(ward_cert_from_der(der, len, &c));
    CHECK_OK(ward_cert_to_der(c, &der2, &len2));
    assert_int_equal(len, len2);
    assert_memory_equal(der, der2, len);
    free(der2);
    check_cn(c, "Ward Leaf");
    ward_cert_free(c);

    /* PEM */
    CHECK_OK(ward_cert_to_pem(P.leaf, &pem, &pem_len));
    assert_int_equal(strlen(pem), pem_len);
    assert_non_null(strstr(pem, "-----BEGIN CERTIFICATE-----"));
    CHECK_OK(ward_cert_from_pem(pem, pem_len, &c));
    CHECK_OK(ward_cert_to_der(c, &der2, &len2));
    assert_int_equal(len, len2);
    assert_memory_equal(der, der2, len);
    free(der2);
    ward_cert_free(c);
    char *pem2 = NULL;
    CHECK_OK(ward_cert_to_pem(P.leaf, &pem2, NULL));
    assert_string_equal(pem, pem2);
    free(pem2);

    /* A chain file: leaf, intermediate, root in order, with text and a key block around. */
    char *pi = NULL, *pr = NULL;
    CHECK_OK(ward_cert_to_pem(P.inter, &pi, NULL));
    CHECK_OK(ward_cert_to_pem(P.root, &pr, NULL));
    char *key_pem = NULL;
    size_t key_len = 0;
    CHECK_OK(ward_pkey_public_pem(P.leaf_key, &key_pem, &key_len));
    size_t total = strlen(pem) + strlen(pi) + strlen(pr) + key_len + 64;
    char *chain = malloc(total);
    assert_non_null(chain);
    snprintf(chain, total, "leaf:\n%s%sintermediate:\n%s%s", pem, key_pem, pi, pr);
    ward_cert **list = NULL;
    size_t n = 0;
    CHECK_OK(ward_cert_list_from_pem(chain, strlen(chain), &list, &n));
    assert_int_equal(n, 3);
    check_cn(list[0], "Ward Leaf");
    check_cn(list[1], "Ward Intermediate");
    check_cn(list[2], "Ward Root");
    CHECK_OK(verify1(list[0], list[1], list[2], NULL, 0, AT, 0));
    ward_cert_list_free(list, n);
    /* The first certificate only. */
    CHECK_OK(ward_cert_from_pem(chain, strlen(chain), &c));
    check_cn(c, "Ward Leaf");
    ward_cert_free(c);
    free(chain);
    free(key_pem);
    free(pi);
    free(pr);
    free(pem);
    free(der);

    /* A new reference outlives the original handle. */
    CHECK_OK(ward_cert_to_der(P.root, &der, &len));
    CHECK_OK(ward_cert_from_der(der, len, &c));
    ward_cert *r = ward_cert_ref(c);
    assert_non_null(r);
    ward_cert_free(c);
    check_cn(r, "Ward Root");
    ward_cert_free(r);
    assert_null(ward_cert_ref(NULL));
    free(der);
}

/* ---- made certificates: chain verification ------------------------------------------------ */

static void test_chain_time(void **state)
{
    (void)state;
    CHECK_OK(verify1(P.leaf, P.inter, P.root, NULL, 0, AT, 0));
    CHECK_OK(verify1(P.leaf, P.inter, P.root, NULL, 0, T0, 0));            /* first second */
    /* OpenSSL counts notAfter itself as expired: the last valid second is the one before. */
    CHECK_OK(verify1(P.leaf, P.inter, P.root, NULL, 0, T0 + YEAR - 1, 0));
    CHECK_OK(verify1(P.inter, NULL, P.root, NULL, 0, AT, 0));
    CHECK_OK(verify1(P.root, NULL, P.root, NULL, 0, AT, 0)); /* a root as its own anchor */

    expect_verify_fail(verify1(P.leaf, P.inter, P.root, NULL, 0, T0 - 1, 0),
                       "certificate is not yet valid");
    assert_non_null(strstr(ward_errmsg(), "depth 0"));
    assert_non_null(strstr(ward_errmsg(), "CN=Ward Leaf"));
    expect_verify_fail(verify1(P.leaf, P.inter, P.root, NULL, 0, T0 + YEAR, 0),
                       "certificate has expired");
    assert_non_null(strstr(ward_errmsg(), "depth 0"));
    /* The intermediate runs out after the leaf would. */
    expect_verify_fail(verify1(P.inter, NULL, P.root, NULL, 0, T0 + 11 * YEAR, 0),
                       "certificate has expired");
    /* at = 0 is "now": these certificates (2023-2024) have expired by now. */
    expect_verify_fail(verify1(P.leaf, P.inter, P.root, NULL, 0, 0, 0), "expired");
}

static void test_chain_wrong_root(void **state)
{
    (void)state;
    /* A different root with the very same name: the signature does not check. */
    ward_pkey *k = gen_key(WARD_KEY_EC_P256);
    ward_cert *impostor = make_ca("Ward Root", -1, k, NULL, k);
    expect_verify_fail(verify1(P.leaf, P.inter, impostor, NULL, 0, AT, 0), NULL);
    assert_non_null(strstr(ward_errmsg(), "depth 1"));
    /* An unrelated root. */
    ward_cert *other = make_ca("Other Root", -1, k, NULL, k);
    expect_verify_fail(verify1(P.leaf, P.inter, other, NULL, 0, AT, 0),
                       "unable to get local issuer certificate");
    /* Missing intermediate. */
    expect_verify_fail(verify1(P.leaf, NULL, P.root, NULL, 0, AT, 0), NULL);
    /* Several roots: the right one among them is enough. */
    ward_cert *roots[3] = {other, impostor, P.root};
    ward_cert *inters[1] = {P.inter};
    CHECK_OK(ward_cert_verify_chain(P.leaf, inters, 1, roots, 3, NULL, 0, AT, 0));
    ward_cert_free(impostor);
    ward_cert_free(other);
    ward_pkey_free(k);
}

/* A certificate issued by the leaf, made with OpenSSL directly since ward_cert_create refuses
 * a non-CA issuer. */
static ward_cert *issue_under_leaf(const ward_pkey *subject)
{
    X509 *leaf = to_x509(P.leaf);
    X509 *x = X509_new();
    assert_non_null(x);
    assert_int_equal(X509_set_version(x, X509_VERSION_3), 1);
    assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), 4242), 1);
    X509_NAME *name = X509_NAME_new();
    assert_int_equal(X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
                                                (const unsigned char *)"Under Leaf", -1, -1, 0),
                     1);
    assert_int_equal(X509_set_subject_name(x, name), 1);
    X509_NAME_free(name);
    assert_int_equal(X509_set_issuer_name(x, X509_get_subject_name(leaf)), 1);
    assert_non_null(ASN1_TIME_set(X509_getm_notBefore(x), (time_t)T0));
    assert_non_null(ASN1_TIME_set(X509_getm_notAfter(x), (time_t)(T0 + YEAR)));
    assert_int_equal(X509_set_pubkey(x, subject->pkey), 1);
    AUTHORITY_KEYID *akid = AUTHORITY_KEYID_new();
    akid->keyid = ASN1_OCTET_STRING_dup(X509_get0_subject_key_id(leaf));
    assert_int_equal(X509_add1_ext_i2d(x, NID_authority_key_identifier, akid, 0, 0), 1);
    AUTHORITY_KEYID_free(akid);
    assert_true(X509_sign(x, P.leaf_key->pkey, EVP_sha256()) > 0);
    ward_cert *c = from_x509(x);
    X509_free(x);
    X509_free(leaf);
    return c;
}

static void test_chain_ca_constraint(void **state)
{
    (void)state;
    ward_pkey *k = gen_key(WARD_KEY_EC_P256);
    /* ward_cert_create refuses to issue from a leaf... */
    ward_cert_spec s = basic_spec("Under Leaf", 0, T0, T0 + YEAR);
    ward_cert *c = (ward_cert *)0x1;
    expect_err(ward_cert_create(&s, k, P.leaf, P.leaf_key, &c), WARD_ERR_INVALID_ARG, "CA");
    assert_null(c);
    /* ...and verification refuses a chain through one. */
    ward_cert *under = issue_under_leaf(k);
    ward_cert *inters[2] = {P.leaf, P.inter};
    ward_cert *roots[1] = {P.root};
    expect_verify_fail(ward_cert_verify_chain(under, inters, 2, roots, 1, NULL, 0, AT, 0),
                       "invalid CA certificate");
    assert_non_null(strstr(ward_errmsg(), "depth 1"));
    assert_non_null(strstr(ward_errmsg(), "CN=Ward Leaf"));
    ward_cert_free(under);

    /* pathlen 0 on the intermediate: no further CA below it. */
    ward_pkey *k2 = gen_key(WARD_KEY_EC_P256);
    ward_cert *sub_ca = make_ca("Sub CA", -1, k2, P.inter, P.int_key);
    ward_cert *sub_leaf = make_leaf("Sub Leaf", k, sub_ca, k2);
    ward_cert *inters2[2] = {sub_ca, P.inter};
    expect_verify_fail(ward_cert_verify_chain(sub_leaf, inters2, 2, roots, 1, NULL, 0, AT, 0),
                       "path length constraint exceeded");
    /* The same depth under the root (no pathlen) is fine. */
    ward_cert *ca2 = make_ca("CA 2", -1, k2, P.root, P.root_key);
    ward_cert *leaf2 = make_leaf("Leaf 2", k, ca2, k2);
    CHECK_OK(verify1(leaf2, ca2, P.root, NULL, 0, AT, 0));
    ward_cert_free(leaf2);
    ward_cert_free(ca2);
    ward_cert_free(sub_leaf);
    ward_cert_free(sub_ca);
    ward_pkey_free(k2);
    ward_pkey_free(k);
}

/* Signatures under 112-bit security are refused: the leaf re-signed with ECDSA-SHA1. */
static void test_chain_weak_signature(void **state)
{
    (void)state;
    X509 *x = to_x509(P.leaf);
    assert_true(X509_sign(x, P.int_key->pkey, EVP_sha1()) > 0);
    ward_cert *weak = from_x509(x);
    X509_free(x);
    expect_verify_fail(verify1(weak, P.inter, P.root, NULL, 0, AT, 0), "too weak");
    ward_cert_free(weak);
    /* The same certificate re-signed with SHA-384 is fine. */
    x = to_x509(P.leaf);
    assert_true(X509_sign(x, P.int_key->pkey, EVP_sha384()) > 0);
    ward_cert *ok = from_x509(x);
    X509_free(x);
    CHECK_OK(verify1(ok, P.inter, P.root, NULL, 0, AT, 0));
    ward_cert_free(ok);
}

static void test_chain_crls(void **state)
{
    (void)state;
    char *leaf_serial = serial_of(P.leaf);
    char *int_serial = serial_of(P.inter);

    ward_crl *int_ok = make_crl(P.inter, P.int_key, "0123456789abcdef", T0, T0 + 60 * DAY);
    ward_crl *int_revokes_leaf = make_crl(P.inter, P.int_key, leaf_serial, T0, T0 + 60 * DAY);
    ward_crl *int_expired = make_crl(P.inter, P.int_key, NULL, T0 - 20 * DAY, T0 + 10 * DAY);
    ward_crl *int_future = make_crl(P.inter, P.int_key, NULL, AT + DAY, AT + 60 * DAY);
    ward_crl *root_ok = make_crl(P.root, P.root_key, NULL, T0, T0 + 60 * DAY);
    ward_crl *root_revokes_int = make_crl(P.root, P.root_key, int_serial, T0, T0 + 60 * DAY);

    /* Not revoked. */
    CHECK_OK(verify1(P.leaf, P.inter, P.root, &int_ok, 1, AT, 0));
    ward_crl *both[2] = {int_ok, root_ok};
    CHECK_OK(verify1(P.leaf, P.inter, P.root, both, 2, AT, 0));
    CHECK_OK(verify1(P.leaf, P.inter, P.root, &root_ok, 1, AT, 0));

    /* Revoked leaf; revoked intermediate. */
    expect_verify_fail(verify1(P.leaf, P.inter, P.root, &int_revokes_leaf, 1, AT, 0),
                       "certificate revoked");
    assert_non_null(strstr(ward_errmsg(), "depth 0"));
    expect_verify_fail(verify1(P.leaf, P.inter, P.root, &root_revokes_int, 1, AT, 0),
                       "certificate revoked");
    assert_non_null(strstr(ward_errmsg(), "depth 1"));
    /* Upper-case serials are the same serials. */
    for (char *c = leaf_serial; *c; c++)
        if (*c >= 'a' && *c <= 'f')
            *c = (char)(*c - 'a' + 'A');
    ward_crl *upper = make_crl(P.inter, P.int_key, leaf_serial, T0, T0 + 60 * DAY);
    expect_verify_fail(verify1(P.leaf, P.inter, P.root, &upper, 1, AT, 0),
                       "certificate revoked");
    ward_crl_free(upper);

    /* A CRL given but out of date at `at`. */
    expect_verify_fail(verify1(P.leaf, P.inter, P.root, &int_expired, 1, AT, 0),
                       "CRL has expired");
    expect_verify_fail(verify1(P.leaf, P.inter, P.root, &int_future, 1, AT, 0),
                       "CRL is not yet valid");
    /* The same CRL is fine while it is current. */
    CHECK_OK(verify1(P.leaf, P.inter, P.root, &int_expired, 1, T0 + DAY, 0));

    /* REQUIRE_CRLS: each certificate below the anchor needs its issuer's CRL. */
    CHECK_OK(verify1(P.leaf, P.inter, P.root, both, 2, AT, WARD_CHAIN_REQUIRE_CRLS));
    expect_verify_fail(verify1(P.leaf, P.inter, P.root, &int_ok, 1, AT, WARD_CHAIN_REQUIRE_CRLS),
                       "unable to get certificate CRL");
    assert_non_null(strstr(ward_errmsg(), "depth 1"));
    expect_verify_fail(verify1(P.leaf, P.inter, P.root, &root_ok, 1, AT, WARD_CHAIN_REQUIRE_CRLS),
                       "unable to get certificate CRL");
    assert_non_null(strstr(ward_errmsg(), "depth 0"));
    expect_verify_fail(verify1(P.leaf, P.inter, P.root, NULL, 0, AT, WARD_CHAIN_REQUIRE_CRLS),
                       "unable to get certificate CRL");
    /* A root alone (the anchor) needs none. */
    CHECK_OK(verify1(P.root, NULL, P.root, NULL, 0, AT, WARD_CHAIN_REQUIRE_CRLS));

    /* A CRL under the intermediate's name from another key (its authorityKeyIdentifier names
     * that key) is not the intermediate's CRL: it can neither revoke the leaf nor stand in
     * for the real one. */
    ward_pkey *k = gen_key(WARD_KEY_EC_P384);
    ward_cert *twin = make_ca("Ward Intermediate", 0, k, P.root, P.root_key);
    ward_crl *forged = make_crl(twin, k, leaf_serial, T0, T0 + 60 * DAY);
    CHECK_OK(verify1(P.leaf, P.inter, P.root, &forged, 1, AT, 0));
    ward_crl *forged_root[2] = {forged, root_ok};
    expect_verify_fail(verify1(P.leaf, P.inter, P.root, forged_root, 2, AT,
                               WARD_CHAIN_REQUIRE_CRLS),
                       "unable to get certificate CRL");
    ward_crl_free(forged);
    /* Without an authorityKeyIdentifier, the same CRL is taken for the intermediate's and its
     * signature fails. */
    X509 *ix = to_x509(P.inter);
    X509_CRL *raw = X509_CRL_new();
    assert_int_equal(X509_CRL_set_version(raw, 1), 1);
    assert_int_equal(X509_CRL_set_issuer_name(raw, X509_get_subject_name(ix)), 1);
    ASN1_TIME *tu = ASN1_TIME_set(NULL, (time_t)T0), *nu = ASN1_TIME_set(NULL, (time_t)(AT + DAY));
    assert_int_equal(X509_CRL_set1_lastUpdate(raw, tu), 1);
    assert_int_equal(X509_CRL_set1_nextUpdate(raw, nu), 1);
    assert_true(X509_CRL_sign(raw, k->pkey, EVP_sha384()) > 0);
    unsigned char *crl_der = NULL;
    int crl_len = i2d_X509_CRL(raw, &crl_der);
    assert_true(crl_len > 0);
    CHECK_OK(ward_crl_from_der(crl_der, (size_t)crl_len, &forged));
    expect_verify_fail(verify1(P.leaf, P.inter, P.root, &forged, 1, AT, 0),
                       "CRL signature failure");
    ward_crl_free(forged);
    OPENSSL_free(crl_der);
    ASN1_TIME_free(tu);
    ASN1_TIME_free(nu);
    X509_CRL_free(raw);
    X509_free(ix);
    ward_cert_free(twin);
    ward_pkey_free(k);

    /* CRL parse: DER round trip through OpenSSL's encoder, PEM. */
    ward_crl *bad = (ward_crl *)0x1;
    expect_err(ward_crl_from_der((const uint8_t *)"\x30\x03\x02\x01", 4, &bad), WARD_ERR_FORMAT,
               NULL);
    assert_null(bad);

    /* Bad CRL requests. */
    ward_crl *c = NULL;
    const char *bad_serial[1] = {"xyz"};
    expect_err(ward_crl_create(P.inter, P.int_key, bad_serial, 1, T0, T0 + DAY, &c),
               WARD_ERR_INVALID_ARG, NULL);
    const char *empty_serial[1] = {""};
    expect_err(ward_crl_create(P.inter, P.int_key, empty_serial, 1, T0, T0 + DAY, &c),
               WARD_ERR_INVALID_ARG, NULL);
    expect_err(ward_crl_create(P.inter, P.int_key, NULL, 0, T0 + DAY, T0, &c),
               WARD_ERR_INVALID_ARG, NULL);
    expect_err(ward_crl_create(P.inter, P.root_key, NULL, 0, T0, T0 + DAY, &c),
               WARD_ERR_INVALID_ARG, "does not match");
    expect_err(ward_crl_create(P.leaf, P.leaf_key, NULL, 0, T0, T0 + DAY, &c),
               WARD_ERR_INVALID_ARG, "keyUsage");
    assert_null(c);

    ward_crl_free(int_ok);
    ward_crl_free(int_revokes_leaf);
    ward_crl_free(int_expired);
    ward_crl_free(int_future);
    ward_crl_free(root_ok);
    ward_crl_free(root_revokes_int);
    free(leaf_serial);
    free(int_serial);
}

static void test_chain_partial(void **state)
{
    (void)state;
    ward_cert *int_root[1] = {P.inter};
    /* The intermediate pinned as the anchor: only with PARTIAL_OK. */
    expect_verify_fail(
        ward_cert_verify_chain(P.leaf, NULL, 0, int_root, 1, NULL, 0, AT, 0), NULL);
    CHECK_OK(ward_cert_verify_chain(P.leaf, NULL, 0, int_root, 1, NULL, 0, AT,
                                    WARD_CHAIN_PARTIAL_OK));
    /* The leaf itself pinned. */
    ward_cert *leaf_root[1] = {P.leaf};
    expect_verify_fail(ward_cert_verify_chain(P.leaf, NULL, 0, leaf_root, 1, NULL, 0, AT, 0),
                       NULL);
    CHECK_OK(ward_cert_verify_chain(P.leaf, NULL, 0, leaf_root, 1, NULL, 0, AT,
                                    WARD_CHAIN_PARTIAL_OK));
    /* Time still counts. */
    expect_verify_fail(ward_cert_verify_chain(P.leaf, NULL, 0, int_root, 1, NULL, 0,
                                              T0 + 2 * YEAR, WARD_CHAIN_PARTIAL_OK),
                       "certificate has expired");
    /* A full chain still verifies with the flag. */
    CHECK_OK(verify1(P.leaf, P.inter, P.root, NULL, 0, AT, WARD_CHAIN_PARTIAL_OK));
    /* The pinned intermediate needs no CRL from the root, even with REQUIRE_CRLS; the leaf
     * still needs the intermediate's. */
    ward_crl *int_ok = make_crl(P.inter, P.int_key, NULL, T0, T0 + 60 * DAY);
    CHECK_OK(ward_cert_verify_chain(P.leaf, NULL, 0, int_root, 1, &int_ok, 1, AT,
                                    WARD_CHAIN_PARTIAL_OK | WARD_CHAIN_REQUIRE_CRLS));
    expect_verify_fail(ward_cert_verify_chain(P.leaf, NULL, 0, int_root, 1, NULL, 0, AT,
                                              WARD_CHAIN_PARTIAL_OK | WARD_CHAIN_REQUIRE_CRLS),
                       "unable to get certificate CRL");
    /* The root's CRL (about the pinned anchor, whose issuer is not in the chain) is not held
     * against it; the leaf's is still applied. */
    ward_crl *root_ok = make_crl(P.root, P.root_key, NULL, T0, T0 + 60 * DAY);
    char *int_serial = serial_of(P.inter);
    ward_crl *root_revokes_int = make_crl(P.root, P.root_key, int_serial, T0, T0 + 60 * DAY);
    ward_crl *crls[2] = {int_ok, root_ok};
    CHECK_OK(ward_cert_verify_chain(P.leaf, NULL, 0, int_root, 1, crls, 2, AT,
                                    WARD_CHAIN_PARTIAL_OK | WARD_CHAIN_REQUIRE_CRLS));
    CHECK_OK(ward_cert_verify_chain(P.leaf, NULL, 0, int_root, 1, &root_ok, 1, AT,
                                    WARD_CHAIN_PARTIAL_OK));
    char *leaf_serial = serial_of(P.leaf);
    ward_crl *int_revokes_leaf = make_crl(P.inter, P.int_key, leaf_serial, T0, T0 + 60 * DAY);
    crls[0] = int_revokes_leaf;
    expect_verify_fail(ward_cert_verify_chain(P.leaf, NULL, 0, int_root, 1, crls, 2, AT,
                                              WARD_CHAIN_PARTIAL_OK),
                       "certificate revoked");
    /* With the full chain, the root's CRL revoking the intermediate applies again. */
    crls[0] = int_ok;
    crls[1] = root_revokes_int;
    expect_verify_fail(verify1(P.leaf, P.inter, P.root, crls, 2, AT, WARD_CHAIN_PARTIAL_OK),
                       "certificate revoked");
    ward_crl_free(int_revokes_leaf);
    ward_crl_free(root_revokes_int);
    ward_crl_free(root_ok);
    free(leaf_serial);
    free(int_serial);
    ward_crl_free(int_ok);
    /* An unrelated pinned certificate does not help. */
    ward_cert *wrong_root[1] = {P.root};
    expect_verify_fail(ward_cert_verify_chain(P.leaf, NULL, 0, wrong_root, 1, NULL, 0, AT,
                                              WARD_CHAIN_PARTIAL_OK),
                       NULL);
}

static void test_ed25519_and_other_keys(void **state)
{
    (void)state;
    ward_pkey *rk = gen_key(WARD_KEY_ED25519), *lk = gen_key(WARD_KEY_ED25519);
    ward_cert *root = make_ca("Ed Root", 1, rk, NULL, rk);
    ward_cert *leaf = make_leaf("Ed Leaf", lk, root, rk);
    CHECK_OK(verify1(leaf, NULL, root, NULL, 0, AT, 0));
    X509 *x = to_x509(leaf);
    assert_int_equal(X509_get_signature_nid(x), NID_ED25519);
    X509_free(x);
    uint8_t h1[WARD_SHA256_LEN], h2[WARD_SHA256_LEN];
    CHECK_OK(ward_cert_spki_sha256(leaf, h1));
    CHECK_OK(ward_pkey_spki_sha256(lk, h2));
    assert_memory_equal(h1, h2, sizeof h1);
    ward_pkey *pub = NULL;
    CHECK_OK(ward_cert_public_key(leaf, &pub));
    assert_int_equal(ward_pkey_type(pub), WARD_KEY_ED25519);
    ward_pkey_free(pub);
    /* Ed25519 CRL. */
    char *serial = serial_of(leaf);
    ward_crl *crl = make_crl(root, rk, serial, T0, T0 + 60 * DAY);
    expect_verify_fail(verify1(leaf, NULL, root, &crl, 1, AT, 0), "certificate revoked");
    ward_crl_free(crl);
    free(serial);
    /* A flipped signature byte. */
    ward_cert *bad = tampered(leaf);
    expect_verify_fail(verify1(bad, NULL, root, NULL, 0, AT, 0), "signature");
    ward_cert_free(bad);

    /* Mixed: an Ed25519 leaf under the P-384 intermediate; an X25519 key certified by it. */
    ward_cert *mixed = make_leaf("Ed under P-384", lk, P.inter, P.int_key);
    CHECK_OK(verify1(mixed, P.inter, P.root, NULL, 0, AT, 0));
    ward_cert_free(mixed);
    ward_pkey *xk = gen_key(WARD_KEY_X25519);
    ward_cert *xc = make_leaf("X25519 key", xk, P.inter, P.int_key);
    CHECK_OK(verify1(xc, P.inter, P.root, NULL, 0, AT, 0));
    CHECK_OK(ward_cert_public_key(xc, &pub));
    assert_int_equal(ward_pkey_type(pub), WARD_KEY_X25519);
    ward_pkey_free(pub);
    ward_cert_free(xc);
    /* An X25519 key cannot sign. */
    ward_cert_spec s = basic_spec("X25519 self", 0, T0, T0 + YEAR);
    ward_cert *c = NULL;
    expect_err(ward_cert_create(&s, xk, NULL, xk, &c), WARD_ERR_UNSUPPORTED, NULL);
    ward_pkey_free(xk);

    ward_cert_free(leaf);
    ward_cert_free(root);
    ward_pkey_free(lk);
    ward_pkey_free(rk);
}

static void test_custom_extensions(void **state)
{
    (void)state;
    ward_pkey *k = gen_key(WARD_KEY_EC_P256);
    static const uint8_t v1[] = {0x04, 0x02, 0xaa, 0xbb};
    ward_cert_ext exts[3] = {
        {"1.3.6.1.4.1.99999.1", v1, sizeof v1, 1},
        {"1.3.6.1.4.1.99999.2", NULL, 0, 0},
        {"0.6.9.42.840.113741.1337.6", v1, 2, 0},
    };
    ward_cert_spec s = basic_spec("Exts", 0, T0, T0 + YEAR);
    s.organization = NULL;
    s.client_auth = 1;
    s.extensions = exts;
    s.n_extensions = 3;
    ward_cert *c = make_cert(&s, k, P.inter, P.int_key);
    char *subj = NULL;
    CHECK_OK(ward_cert_subject(c, &subj));
    assert_string_equal(subj, "CN=Exts");
    free(subj);
    uint8_t *v = NULL;
    size_t len = 0;
    int crit = 0;
    CHECK_OK(ward_cert_extension(c, "1.3.6.1.4.1.99999.1", &v, &len, &crit));
    assert_int_equal(len, sizeof v1);
    assert_memory_equal(v, v1, len);
    assert_int_equal(crit, 1);
    free(v);
    CHECK_OK(ward_cert_extension(c, "1.3.6.1.4.1.99999.2", &v, &len, &crit));
    assert_int_equal(len, 0);
    assert_non_null(v);
    assert_int_equal(crit, 0);
    free(v);
    CHECK_OK(ward_cert_extension(c, "0.6.9.42.840.113741.1337.6", &v, &len, &crit));
    assert_int_equal(len, 2);
    free(v);
    X509 *x = to_x509(c);
    assert_int_equal(X509_get_extended_key_usage(x), XKU_SSL_CLIENT);
    X509_free(x);
    /* OpenSSL does not know 1.3.6.1.4.1.99999.1, which is critical: the chain must fail. */
    expect_verify_fail(verify1(c, P.inter, P.root, NULL, 0, AT, 0),
                       "unhandled critical extension");

    /* A duplicated extension is a format error for ward_cert_extension. */
    x = to_x509(c);
    ASN1_OBJECT *obj = OBJ_txt2obj("1.3.6.1.4.1.99999.2", 1);
    ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
    assert_int_equal(ASN1_OCTET_STRING_set(os, v1, (int)sizeof v1), 1);
    X509_EXTENSION *ext = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, os);
    assert_non_null(ext);
    assert_int_equal(X509_add_ext(x, ext, -1), 1);
    assert_true(X509_sign(x, P.int_key->pkey, EVP_sha384()) > 0); /* re-encodes */
    X509_EXTENSION_free(ext);
    ASN1_OCTET_STRING_free(os);
    ASN1_OBJECT_free(obj);
    ward_cert *dup = from_x509(x);
    X509_free(x);
    expect_err(ward_cert_extension(dup, "1.3.6.1.4.1.99999.2", &v, &len, &crit), WARD_ERR_FORMAT,
               "more than once");
    assert_null(v);
    CHECK_OK(ward_cert_extension(dup, "1.3.6.1.4.1.99999.1", &v, &len, &crit));
    free(v);
    ward_cert_free(dup);
    ward_cert_free(c);

    /* Refused: a custom extension given twice, or one that Ward sets itself, or a bad OID. */
    ward_cert_ext twice[2] = {{"1.2.3.4", v1, 2, 0}, {"1.2.3.4", v1, 2, 0}};
    s.extensions = twice;
    s.n_extensions = 2;
    c = (ward_cert *)0x1;
    expect_err(ward_cert_create(&s, k, P.inter, P.int_key, &c), WARD_ERR_INVALID_ARG, "twice");
    assert_null(c);
    ward_cert_ext clash = {"2.5.29.19", v1, 2, 1};
    s.extensions = &clash;
    s.n_extensions = 1;
    expect_err(ward_cert_create(&s, k, P.inter, P.int_key, &c), WARD_ERR_INVALID_ARG, NULL);
    ward_cert_ext bad_oid = {"1.2.x", v1, 2, 0};
    s.extensions = &bad_oid;
    expect_err(ward_cert_create(&s, k, P.inter, P.int_key, &c), WARD_ERR_INVALID_ARG, "OID");
    ward_cert_ext named = {"basicConstraints", v1, 2, 0}; /* dotted only */
    s.extensions = &named;
    expect_err(ward_cert_create(&s, k, P.inter, P.int_key, &c), WARD_ERR_INVALID_ARG, "OID");
    ward_cert_ext no_value = {"1.2.3.4", NULL, 3, 0};
    s.extensions = &no_value;
    expect_err(ward_cert_create(&s, k, P.inter, P.int_key, &c), WARD_ERR_INVALID_ARG, NULL);
    s.extensions = NULL;
    expect_err(ward_cert_create(&s, k, P.inter, P.int_key, &c), WARD_ERR_INVALID_ARG, NULL);
    assert_null(c);
    ward_pkey_free(k);
}

/* An attested-TLS style certificate: a self-signed leaf carrying evidence, pinned by itself. */
static void test_self_signed_leaf(void **state)
{
    (void)state;
    ward_pkey *k = gen_key(WARD_KEY_EC_P256);
    ward_cert_ext ext = {TAGGED_EVIDENCE_OID, EVIDENCE, sizeof EVIDENCE, 0};
    ward_cert_spec s = basic_spec("ward-node", 0, T0, T0 + DAY);
    s.dns_names = DNS_NAMES;
    s.n_dns_names = 1;
    s.server_auth = s.client_auth = 1;
    s.extensions = &ext;
    s.n_extensions = 1;
    ward_cert *c = make_cert(&s, k, NULL, k);
    assert_int_equal(ward_cert_is_ca(c), 0);
    char *subj = NULL, *iss = NULL;
    CHECK_OK(ward_cert_subject(c, &subj));
    CHECK_OK(ward_cert_issuer(c, &iss));
    assert_string_equal(subj, iss);
    free(subj);
    free(iss);
    CHECK_OK(verify1(c, NULL, c, NULL, 0, T0 + 60, 0));
    expect_verify_fail(verify1(c, NULL, c, NULL, 0, T0 + DAY, 0), "expired");
    /* It cannot issue: not a CA. */
    ward_cert *sub = (ward_cert *)0x1;
    expect_err(ward_cert_create(&s, k, c, k, &sub), WARD_ERR_INVALID_ARG, "CA");
    assert_null(sub);
    X509 *x = to_x509(c);
    assert_int_equal(X509_get_extended_key_usage(x), XKU_SSL_SERVER | XKU_SSL_CLIENT);
    assert_int_equal(X509_verify(x, X509_get0_pubkey(x)), 1);
    X509_free(x);
    ward_cert_free(c);
    ward_pkey_free(k);
}

static void test_create_refusals(void **state)
{
    (void)state;
    ward_pkey *k = gen_key(WARD_KEY_EC_P256), *other = gen_key(WARD_KEY_EC_P256);
    ward_cert *c = (ward_cert *)0x1;
    ward_cert_spec s = basic_spec("X", 0, T0, T0 + YEAR);

    expect_err(ward_cert_create(NULL, k, NULL, k, &c), WARD_ERR_INVALID_ARG, NULL);
    assert_null(c);
    expect_err(ward_cert_create(&s, NULL, NULL, k, &c), WARD_ERR_INVALID_ARG, NULL);
    expect_err(ward_cert_create(&s, k, NULL, NULL, &c), WARD_ERR_INVALID_ARG, NULL);
    expect_err(ward_cert_create(&s, k, NULL, k, NULL), WARD_ERR_INVALID_ARG, NULL);

    /* Self-signed with a key that is not the subject's. */
    expect_err(ward_cert_create(&s, k, NULL, other, &c), WARD_ERR_INVALID_ARG, "subject key");
    /* Issuer key that does not match the issuer certificate. */
    expect_err(ward_cert_create(&s, k, P.inter, P.root_key, &c), WARD_ERR_INVALID_ARG,
               "does not match");
    /* Public half only. */
    ward_pkey *pub = NULL;
    CHECK_OK(ward_pkey_public_only(k, &pub));
    expect_err(ward_cert_create(&s, k, NULL, pub, &c), WARD_ERR_INVALID_ARG, "private");
    ward_pkey_free(pub);

    ward_cert_spec bad = s;
    bad.common_name = NULL;
    expect_err(ward_cert_create(&bad, k, NULL, k, &c), WARD_ERR_INVALID_ARG, "commonName");
    bad.common_name = "";
    expect_err(ward_cert_create(&bad, k, NULL, k, &c), WARD_ERR_INVALID_ARG, "commonName");
    bad = s;
    bad.common_name = "this common name is far too long for X.520, which allows 64 characters";
    expect_err(ward_cert_create(&bad, k, NULL, k, &c), WARD_ERR_INVALID_ARG, "commonName");
    bad = s;
    bad.not_after = bad.not_before;
    expect_err(ward_cert_create(&bad, k, NULL, k, &c), WARD_ERR_INVALID_ARG, "notBefore");
    bad = s;
    bad.not_before = -5;
    expect_err(ward_cert_create(&bad, k, NULL, k, &c), WARD_ERR_INVALID_ARG, NULL);
    bad = s;
    bad.not_after = INT64_MAX;
    expect_err(ward_cert_create(&bad, k, NULL, k, &c), WARD_ERR_INVALID_ARG, NULL);
    bad = s;
    bad.path_len = 2; /* on a leaf */
    expect_err(ward_cert_create(&bad, k, NULL, k, &c), WARD_ERR_INVALID_ARG, "path length");
    bad = s;
    bad.is_ca = 1;
    bad.path_len = -2;
    expect_err(ward_cert_create(&bad, k, NULL, k, &c), WARD_ERR_INVALID_ARG, NULL);
    bad = s;
    bad.is_ca = 1;
    bad.server_auth = 1;
    expect_err(ward_cert_create(&bad, k, NULL, k, &c), WARD_ERR_INVALID_ARG, "extendedKeyUsage");
    static const char *const bad_names[] = {"ok.example", "bad name"};
    bad = s;
    bad.dns_names = bad_names;
    bad.n_dns_names = 2;
    expect_err(ward_cert_create(&bad, k, NULL, k, &c), WARD_ERR_INVALID_ARG, "DNS");
    bad.dns_names = NULL;
    expect_err(ward_cert_create(&bad, k, NULL, k, &c), WARD_ERR_INVALID_ARG, NULL);
    assert_null(c);

    /* Far-future times are written as GeneralizedTime and read back. */
    ward_cert_spec far = s;
    far.not_before = INT64_C(2524608000); /* 2050-01-01 */
    far.not_after = INT64_C(253402300799); /* 9999-12-31T23:59:59Z */
    c = make_cert(&far, k, NULL, k);
    int64_t nb = 0, na = 0;
    CHECK_OK(ward_cert_validity(c, &nb, &na));
    assert_true(nb == far.not_before && na == far.not_after);
    ward_cert_free(c);

    ward_pkey_free(other);
    ward_pkey_free(k);
}

static void test_bad_input(void **state)
{
    (void)state;
    uint8_t *der = NULL;
    size_t len = 0;
    CHECK_OK(ward_cert_to_der(P.leaf, &der, &len));
    ward_cert *c = (ward_cert *)0x1;

    /* Truncated anywhere, or with a byte after it. */
    for (size_t cut = 1; cut < len; cut += (cut < 16 ? 1 : 37)) {
        expect_err(ward_cert_from_der(der, cut, &c), WARD_ERR_FORMAT, NULL);
        assert_null(c);
    }
    expect_err(ward_cert_from_der(der, len - 1, &c), WARD_ERR_FORMAT, NULL);
    uint8_t *longer = malloc(len + 1);
    memcpy(longer, der, len);
    longer[len] = 0;
    expect_err(ward_cert_from_der(longer, len + 1, &c), WARD_ERR_FORMAT, "after");
    free(longer);
    /* Empty and NULL. */
    expect_err(ward_cert_from_der(der, 0, &c), WARD_ERR_FORMAT, "empty");
    expect_err(ward_cert_from_der(NULL, 5, &c), WARD_ERR_INVALID_ARG, NULL);
    expect_err(ward_cert_from_der(der, len, NULL), WARD_ERR_INVALID_ARG, NULL);
    expect_err(ward_cert_from_pem("", 0, &c), WARD_ERR_FORMAT, "empty");
    ward_cert **list = (ward_cert **)0x1;
    size_t n = 7;
    expect_err(ward_cert_list_from_pem("", 0, &list, &n), WARD_ERR_FORMAT, NULL);
    assert_null(list);
    assert_int_equal(n, 0);
    /* Garbage DER. */
    expect_err(ward_cert_from_der((const uint8_t *)"garbage!", 8, &c), WARD_ERR_FORMAT, NULL);
    /* A CRL is not a certificate, nor the reverse. */
    ward_crl *crl = (ward_crl *)0x1;
    expect_err(ward_crl_from_der(der, len, &crl), WARD_ERR_FORMAT, NULL);
    assert_null(crl);
    free(der);

    /* Garbage PEM. */
    static const char *const garbage[] = {
        "hello world\n",
        "-----BEGIN CERTIFICATE-----\n!!!! not base64 !!!!\n-----END CERTIFICATE-----\n",
        "-----BEGIN CERTIFICATE-----\naGVsbG8gd29ybGQ=\n-----END CERTIFICATE-----\n",
        "-----BEGIN CERTIFICATE-----\nMIIB\n",
        "-----BEGIN PUBLIC KEY-----\naGVsbG8gd29ybGQ=\n-----END PUBLIC KEY-----\n",
    };
    for (size_t i = 0; i < sizeof garbage / sizeof garbage[0]; i++) {
        expect_err(ward_cert_from_pem(garbage[i], strlen(garbage[i]), &c), WARD_ERR_FORMAT, NULL);
        assert_null(c);
        expect_err(ward_cert_list_from_pem(garbage[i], strlen(garbage[i]), &list, &n),
                   WARD_ERR_FORMAT, NULL);
        expect_err(ward_crl_from_pem(garbage[i], strlen(garbage[i]), &crl), WARD_ERR_FORMAT,
                   NULL);
    }
    /* A good certificate followed by a broken one: the list fails as a whole. */
    char *pem = NULL;
    CHECK_OK(ward_cert_to_pem(P.leaf, &pem, NULL));
    size_t total = strlen(pem) + strlen(garbage[2]) + 1;
    char *mixed = malloc(total);
    snprintf(mixed, total, "%s%s", pem, garbage[2]);
    expect_err(ward_cert_list_from_pem(mixed, strlen(mixed), &list, &n), WARD_ERR_FORMAT, NULL);
    assert_null(list);
    CHECK_OK(ward_cert_from_pem(mixed, strlen(mixed), &c)); /* the first is fine */
    ward_cert_free(c);
    free(mixed);
    /* A PEM body cut short. */
    size_t plen = strlen(pem);
    expect_err(ward_cert_from_pem(pem, plen / 2, &c), WARD_ERR_FORMAT, NULL);
    free(pem);

    /* Bad arguments to the inspectors and the verifier. */
    char *s = NULL;
    uint8_t h[WARD_SHA256_LEN];
    expect_err(ward_cert_subject(NULL, &s), WARD_ERR_INVALID_ARG, NULL);
    expect_err(ward_cert_fingerprint(NULL, h), WARD_ERR_INVALID_ARG, NULL);
    expect_err(ward_cert_extension(P.leaf, NULL, &der, &len, NULL), WARD_ERR_INVALID_ARG, NULL);
    expect_err(ward_cert_verify_chain(NULL, NULL, 0, &P.root, 1, NULL, 0, AT, 0),
               WARD_ERR_INVALID_ARG, NULL);
    expect_err(ward_cert_verify_chain(P.leaf, NULL, 0, NULL, 0, NULL, 0, AT, 0),
               WARD_ERR_INVALID_ARG, "root");
    expect_err(ward_cert_verify_chain(P.leaf, NULL, 0, &P.root, 1, NULL, 0, AT, 0x80),
               WARD_ERR_INVALID_ARG, "flags");
    expect_err(ward_cert_verify_chain(P.leaf, NULL, 2, &P.root, 1, NULL, 0, AT, 0),
               WARD_ERR_INVALID_ARG, NULL);
    expect_err(ward_cert_verify_chain(P.leaf, NULL, 0, &P.root, 1, NULL, 1, AT, 0),
               WARD_ERR_INVALID_ARG, NULL);
    expect_err(ward_cert_verify_chain(P.leaf, NULL, 0, &P.root, 1, NULL, 0, -1, 0),
               WARD_ERR_INVALID_ARG, NULL);

    /* A flipped signature byte on the made leaf. */
    ward_cert *bad = tampered(P.leaf);
    expect_verify_fail(verify1(bad, P.inter, P.root, NULL, 0, AT, 0),
                       "certificate signature failure");
    ward_cert_free(bad);
}

/* ---- real certificates: Intel SGX --------------------------------------------------------- */

static void test_intel_root(void **state)
{
    (void)state;
    ward_cert *root = load_cert_der("sgx/intel_sgx_root_ca.der");
    check_cn(root, "Intel SGX Root CA");
    char *s = NULL;
    CHECK_OK(ward_cert_subject(root, &s));
    assert_string_equal(s, "C=US,ST=CA,L=Santa Clara,O=Intel Corporation,CN=Intel SGX Root CA");
    free(s);
    CHECK_OK(ward_cert_issuer(root, &s));
    assert_string_equal(s, "C=US,ST=CA,L=Santa Clara,O=Intel Corporation,CN=Intel SGX Root CA");
    free(s);
    s = serial_of(root);
    assert_string_equal(s, "22650cd65a9d3489f383b49552bf501b392706ac");
    free(s);
    uint8_t fp[WARD_SHA256_LEN];
    CHECK_OK(ward_cert_fingerprint(root, fp));
    size_t n = 0;
    uint8_t *want =
        tu_unhex("44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3", &n);
    assert_memory_equal(fp, want, n);
    free(want);
    int64_t nb = 0, na = 0;
    CHECK_OK(ward_cert_validity(root, &nb, &na));
    assert_true(nb == INT64_C(1526899510)); /* 2018-05-21T10:45:10Z */
    assert_true(na == INT64_C(2524607999)); /* 2049-12-31T23:59:59Z */
    assert_int_equal(ward_cert_is_ca(root), 1);
    ward_pkey *pub = NULL;
    CHECK_OK(ward_cert_public_key(root, &pub));
    assert_int_equal(ward_pkey_type(pub), WARD_KEY_EC_P256);
    ward_pkey_free(pub);

    /* Its own trust anchor, at the SGX-1 time, also with its own CRL required. */
    CHECK_OK(verify1(root, NULL, root, NULL, 0, T_SGX, 0));
    ward_crl *crl = load_crl_der("sgx/phala_sgx_root_ca_crl.der");
    CHECK_OK(verify1(root, NULL, root, &crl, 1, T_SGX, WARD_CHAIN_REQUIRE_CRLS));
    expect_verify_fail(verify1(root, NULL, root, NULL, 0, nb - 1, 0), "not yet valid");
    expect_verify_fail(verify1(root, NULL, root, NULL, 0, na + 1, 0), "expired");
    /* The same file copied for TDX is the same root. */
    ward_cert *copy = load_cert_der("tdx/intel_sgx_root_ca.der");
    CHECK_OK(verify1(copy, NULL, root, NULL, 0, T_SGX, 0));
    ward_cert_free(copy);
    /* A root whose self-signature was tampered with is refused, even as its own anchor. */
    ward_cert *bad = tampered(root);
    expect_verify_fail(verify1(bad, NULL, bad, NULL, 0, T_SGX, 0), "signature");
    ward_cert_free(bad);
    ward_crl_free(crl);
    ward_cert_free(root);
}

static void test_intel_crls(void **state)
{
    (void)state;
    static const char *const files[] = {"sgx/phala_sgx_root_ca_crl.der",
                                        "sgx/phala_sgx_pck_crl.der",
                                        "tdx/phala_tdx_v4_pck_crl.der",
                                        "tdx/gtg_root_ca_crl_2023.der"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        size_t len = 0;
        uint8_t *der = tu_read_file(tu_vector_path(files[i]), &len);
        ward_crl *crl = NULL;
        CHECK_OK(ward_crl_from_der(der, len, &crl));
        ward_crl_free(crl);
        /* The same as PEM. */
        const unsigned char *p = der;
        X509_CRL *x = d2i_X509_CRL(NULL, &p, (long)len);
        assert_non_null(x);
        BIO *bio = BIO_new(BIO_s_mem());
        assert_int_equal(PEM_write_bio_X509_CRL(bio, x), 1);
        char *pem = NULL;
        long plen = BIO_get_mem_data(bio, &pem);
        assert_true(plen > 0);
        CHECK_OK(ward_crl_from_pem(pem, (size_t)plen, &crl));
        ward_crl_free(crl);
        /* Not a certificate. */
        ward_cert *c = NULL;
        expect_err(ward_cert_from_pem(pem, (size_t)plen, &c), WARD_ERR_FORMAT, NULL);
        BIO_free(bio);
        X509_CRL_free(x);
        /* Truncated. */
        expect_err(ward_crl_from_der(der, len - 1, &crl), WARD_ERR_FORMAT, NULL);
        expect_err(ward_crl_from_der(der, len / 2, &crl), WARD_ERR_FORMAT, NULL);
        expect_err(ward_crl_from_der(der, 0, &crl), WARD_ERR_FORMAT, NULL);
        free(der);
    }
}

static void test_intel_pck_crl_issuer_chain(void **state)
{
    (void)state;
    ward_cert *root = load_cert_der("sgx/intel_sgx_root_ca.der");
    size_t n = 0;
    ward_cert **chain = load_cert_list("sgx/phala_sgx_pck_crl_issuer_chain.pem", &n);
    assert_int_equal(n, 2);
    check_cn(chain[0], "Intel SGX PCK Processor CA");
    check_cn(chain[1], "Intel SGX Root CA");
    assert_int_equal(ward_cert_is_ca(chain[0]), 1);
    uint8_t a[WARD_SHA256_LEN], b[WARD_SHA256_LEN];
    CHECK_OK(ward_cert_fingerprint(chain[1], a));
    CHECK_OK(ward_cert_fingerprint(root, b));
    assert_memory_equal(a, b, sizeof a);
    int64_t nb = 0, na = 0;
    CHECK_OK(ward_cert_validity(chain[0], &nb, &na));
    assert_true(nb == INT64_C(1526899810) && na == INT64_C(2000285410));

    /* Processor CA -> root at the SGX-1 time; the chain's own root copy passed as an untrusted
     * intermediate changes nothing. */
    CHECK_OK(verify1(chain[0], NULL, root, NULL, 0, T_SGX, 0));
    CHECK_OK(ward_cert_verify_chain(chain[0], chain, n, &root, 1, NULL, 0, T_SGX, 0));
    /* With the root CA CRL (covering the Processor CA and the root itself): required. */
    ward_crl *root_crl = load_crl_der("sgx/phala_sgx_root_ca_crl.der");
    CHECK_OK(verify1(chain[0], NULL, root, &root_crl, 1, T_SGX, WARD_CHAIN_REQUIRE_CRLS));
    /* The root CRL's nextUpdate is 2026-04-03T11:21:57Z: given, it then fails the chain. */
    int64_t crl_end = INT64_C(1775215317);
    CHECK_OK(verify1(chain[0], NULL, root, &root_crl, 1, crl_end - 1, 0));
    expect_verify_fail(verify1(chain[0], NULL, root, &root_crl, 1, crl_end, 0),
                       "CRL has expired");
    CHECK_OK(verify1(chain[0], NULL, root, NULL, 0, crl_end, 0));
    /* Before the Processor CA existed. */
    expect_verify_fail(verify1(chain[0], NULL, root, NULL, 0, nb - 1, 0), "not yet valid");
    /* A PCK CRL is from the Processor CA, not the root: it does not stand in for the root's. */
    ward_crl *pck_crl = load_crl_der("sgx/phala_sgx_pck_crl.der");
    expect_verify_fail(verify1(chain[0], NULL, root, &pck_crl, 1, T_SGX, WARD_CHAIN_REQUIRE_CRLS),
                       "unable to get certificate CRL");
    /* A wrong root. */
    ward_cert *amd = NULL;
    size_t m = 0;
    ward_cert **milan = load_cert_list("snp/amd/milan_ask_ark_asvk.pem", &m);
    amd = milan[1];
    expect_verify_fail(verify1(chain[0], NULL, amd, NULL, 0, T_SGX, 0),
                       "unable to get local issuer certificate");
    ward_cert_list_free(milan, m);
    /* A flipped signature byte. */
    ward_cert *bad = tampered(chain[0]);
    expect_verify_fail(verify1(bad, NULL, root, NULL, 0, T_SGX, 0),
                       "certificate signature failure");
    assert_non_null(strstr(ward_errmsg(), "Intel SGX PCK Processor CA"));
    ward_cert_free(bad);

    ward_crl_free(pck_crl);
    ward_crl_free(root_crl);
    ward_cert_list_free(chain, n);
    ward_cert_free(root);
}

/* The PCK chain (PCK leaf, Processor CA, root) from the SGX-1 quote's certification data,
 * verified with both of Intel's CRLs. */
static void test_intel_pck_chain_from_quote(void **state)
{
    (void)state;
    size_t qlen = 0;
    uint8_t *quote = tu_read_file(tu_vector_path("sgx/phala_sgx_v3_quote.bin"), &qlen);
    static const char begin[] = "-----BEGIN CERTIFICATE-----";
    const uint8_t *start = memmem(quote, qlen, begin, sizeof begin - 1);
    assert_non_null(start);
    size_t off = (size_t)(start - quote);
    size_t n = 0;
    ward_cert **chain = NULL;
    CHECK_OK(ward_cert_list_from_pem((const char *)start, qlen - off, &chain, &n));
    assert_int_equal(n, 3);
    check_cn(chain[0], "Intel SGX PCK Certificate");
    check_cn(chain[1], "Intel SGX PCK Processor CA");
    char *serial = serial_of(chain[0]);
    assert_string_equal(serial, "81b77732b761e98eb9b963a4abd1e5b9bf5dd8d6");
    free(serial);
    /* Intel's SGX extension, with FMSPC 00A067110000 inside. */
    uint8_t *v = NULL;
    size_t vlen = 0;
    int crit = 1;
    CHECK_OK(ward_cert_extension(chain[0], "1.2.840.113741.1.13.1", &v, &vlen, &crit));
    assert_int_equal(crit, 0);
    static const uint8_t fmspc[] = {0x00, 0xa0, 0x67, 0x11, 0x00, 0x00};
    assert_non_null(memmem(v, vlen, fmspc, sizeof fmspc));
    free(v);

    ward_cert *root = load_cert_der("sgx/intel_sgx_root_ca.der");
    ward_crl *crls[2] = {load_crl_der("sgx/phala_sgx_root_ca_crl.der"),
                         load_crl_der("sgx/phala_sgx_pck_crl.der")};
    CHECK_OK(verify1(chain[0], chain[1], root, crls, 2, T_SGX, WARD_CHAIN_REQUIRE_CRLS));
    CHECK_OK(verify1(chain[0], chain[1], root, crls, 2, T_SGX, 0));
    CHECK_OK(ward_cert_verify_chain(chain[0], chain + 1, 2, &root, 1, crls, 2, T_SGX, 0));
    /* Without the PCK CRL the leaf lacks its issuer's CRL. */
    expect_verify_fail(verify1(chain[0], chain[1], root, crls, 1, T_SGX,
                               WARD_CHAIN_REQUIRE_CRLS),
                       "unable to get certificate CRL");
    assert_non_null(strstr(ward_errmsg(), "depth 0"));
    /* The PCK CRL's nextUpdate is 2025-07-19T10:23:18Z: a day later it has expired. */
    expect_verify_fail(verify1(chain[0], chain[1], root, crls, 2, T_SGX + DAY, 0),
                       "CRL has expired");
    /* Without CRLs the certificates alone are still valid then. */
    CHECK_OK(verify1(chain[0], chain[1], root, NULL, 0, T_SGX + DAY, 0));
    /* The Processor CA pinned as the anchor, both CRLs given and required. */
    CHECK_OK(ward_cert_verify_chain(chain[0], NULL, 0, &chain[1], 1, crls, 2, T_SGX,
                                    WARD_CHAIN_PARTIAL_OK | WARD_CHAIN_REQUIRE_CRLS));
    expect_verify_fail(ward_cert_verify_chain(chain[0], NULL, 0, &chain[1], 1, crls, 2, T_SGX,
                                              WARD_CHAIN_REQUIRE_CRLS),
                       NULL);
    ward_crl_free(crls[0]);
    ward_crl_free(crls[1]);
    ward_cert_free(root);
    ward_cert_list_free(chain, n);
    free(quote);
}

static void test_intel_tcb_signing_chain(void **state)
{
    (void)state;
    ward_cert *root = load_cert_der("sgx/intel_sgx_root_ca.der");
    ward_crl *root_crl = load_crl_der("sgx/phala_sgx_root_ca_crl.der");
    size_t n = 0;
    ward_cert **chain = load_cert_list("sgx/phala_sgx_tcb_signing_chain.pem", &n);
    assert_int_equal(n, 2);
    check_cn(chain[0], "Intel SGX TCB Signing");
    assert_int_equal(ward_cert_is_ca(chain[0]), 0);
    int64_t nb = 0, na = 0;
    CHECK_OK(ward_cert_validity(chain[0], &nb, &na));
    assert_true(nb == INT64_C(1746523500) && na == INT64_C(1967448300)); /* 2025 reissue */

    CHECK_OK(verify1(chain[0], NULL, root, NULL, 0, T_SGX, 0));
    CHECK_OK(verify1(chain[0], NULL, root, &root_crl, 1, T_SGX, WARD_CHAIN_REQUIRE_CRLS));
    expect_verify_fail(verify1(chain[0], NULL, root, NULL, 0, nb - 1, 0), "not yet valid");
    expect_verify_fail(verify1(chain[0], NULL, root, NULL, 0, na + 1, 0), "expired");

    /* The 2018 certificate (same key and serial) expired on 2025-05-21: only the 2025 one
     * verifies at the SGX-1 time. */
    size_t m = 0;
    ward_cert **old = load_cert_list("tdx/gtg_tcb_signing_chain_2018.pem", &m);
    char *s1 = serial_of(chain[0]), *s2 = serial_of(old[0]);
    assert_string_equal(s1, s2);
    free(s1);
    free(s2);
    expect_verify_fail(verify1(old[0], NULL, root, NULL, 0, T_SGX, 0), "certificate has expired");
    CHECK_OK(verify1(old[0], NULL, root, NULL, 0, INT64_C(1688173200), 0)); /* TDX-5 time */
    ward_cert_list_free(old, m);

    ward_cert *bad = tampered(chain[0]);
    expect_verify_fail(verify1(bad, NULL, root, NULL, 0, T_SGX, 0),
                       "certificate signature failure");
    ward_cert_free(bad);
    ward_cert_list_free(chain, n);
    ward_crl_free(root_crl);
    ward_cert_free(root);
}

/* ---- real certificates: AMD SEV-SNP (RSA-PSS) --------------------------------------------- */

struct amd_product {
    const char *file, *ask_cn, *ark_cn, *asvk_cn;
};

static const struct amd_product AMD[] = {
    {"snp/amd/milan_ask_ark_asvk.pem", "SEV-Milan", "ARK-Milan", "SEV-VLEK-Milan"},
    {"snp/amd/genoa_ask_ark_asvk.pem", "SEV-Genoa", "ARK-Genoa", "SEV-VLEK-Genoa"},
    {"snp/amd/turin_ask_ark_asvk.pem", "SEV-Turin", "ARK-Turin", "SEV-VLEK-Turin"},
};

static void test_amd_ark_ask(void **state)
{
    (void)state;
    for (size_t i = 0; i < 3; i++) {
        size_t n = 0;
        ward_cert **c = load_cert_list(AMD[i].file, &n);
        assert_int_equal(n, 3);
        check_cn(c[0], AMD[i].ask_cn);
        check_cn(c[1], AMD[i].ark_cn);
        check_cn(c[2], AMD[i].asvk_cn);
        for (size_t j = 0; j < 3; j++)
            assert_int_equal(ward_cert_is_ca(c[j]), 1);
        X509 *x = to_x509(c[0]);
        assert_int_equal(X509_get_signature_nid(x), NID_rsassaPss);
        X509_free(x);
        ward_pkey *pub = NULL;
        CHECK_OK(ward_cert_public_key(c[1], &pub));
        ward_pkey_free(pub);

        /* ARK self-signed; ASK and ASVK signed by the ARK. */
        CHECK_OK(verify1(c[1], NULL, c[1], NULL, 0, T_AMD, 0));
        CHECK_OK(verify1(c[0], NULL, c[1], NULL, 0, T_AMD, 0));
        CHECK_OK(verify1(c[2], NULL, c[1], NULL, 0, T_AMD, 0));
        /* The ASK is not a root of its own, nor signed by another product's ARK. */
        expect_verify_fail(verify1(c[0], NULL, c[0], NULL, 0, T_AMD, 0), NULL);
        size_t m = 0;
        ward_cert **other = load_cert_list(AMD[(i + 1) % 3].file, &m);
        expect_verify_fail(verify1(c[0], NULL, other[1], NULL, 0, T_AMD, 0), NULL);
        ward_cert_list_free(other, m);
        /* A flipped byte in the RSA-PSS signature. */
        ward_cert *bad = tampered(c[0]);
        expect_verify_fail(verify1(bad, NULL, c[1], NULL, 0, T_AMD, 0),
                           "certificate signature failure");
        ward_cert_free(bad);
        /* A made-up CRL cannot be issued for AMD (no key); REQUIRE_CRLS then fails. */
        expect_verify_fail(verify1(c[0], NULL, c[1], NULL, 0, T_AMD, WARD_CHAIN_REQUIRE_CRLS),
                           "unable to get certificate CRL");
        ward_cert_list_free(c, n);
    }
}

struct amd_leaf {
    const char *file;
    size_t product;  /* index in AMD */
    size_t signer;   /* 0: ASK (VCEK), 2: ASVK (VLEK) */
    int64_t at;      /* suggested time from SOURCES-amd.md */
};

static const struct amd_leaf AMD_LEAVES[] = {
    {"snp/gsg-milan-v2/vcek.der", 0, 0, INT64_C(1666572928)},
    {"snp/virtee-milan-v2/vcek.der", 0, 0, INT64_C(1683141823)},
    {"snp/trustee-milan-v2-idblock/vcek.der", 0, 0, INT64_C(1677175106)},
    {"snp/trustee-milan-vlek-v3-aws/vlek.der", 0, 2, INT64_C(1736460861)},
    {"snp/trustee-genoa-v3-azure/vcek.pem", 1, 0, INT64_C(1740277308)},
    {"snp/oak-genoa-v5/vcek.der", 1, 0, INT64_C(1757179301)},
    {"snp/oak-turin-v5/vcek.der", 2, 0, INT64_C(1755363886)},
    {"snp/oak-milan-v3/vcek.der", 0, 0, INT64_C(1739568114)},
};

/* ARK -> ASK -> VCEK (and ARK -> ASVK -> VLEK): RSA-PSS signatures over an ECDSA P-384 leaf
 * that has no authorityKeyIdentifier. */
static void test_amd_vcek_chains(void **state)
{
    (void)state;
    ward_cert **prod[3];
    size_t np[3];
    for (size_t i = 0; i < 3; i++)
        prod[i] = load_cert_list(AMD[i].file, &np[i]);
    for (size_t i = 0; i < sizeof AMD_LEAVES / sizeof AMD_LEAVES[0]; i++) {
        const struct amd_leaf *l = &AMD_LEAVES[i];
        ward_cert *leaf = load_cert_any(l->file);
        ward_cert **c = prod[l->product];
        ward_cert *signer = c[l->signer];
        ward_err err = verify1(leaf, signer, c[1], NULL, 0, l->at, 0);
        if (err != WARD_OK)
            fail_msg("%s: %s", l->file, ward_errmsg());
        /* All three intermediates offered: the right one is found. */
        CHECK_OK(ward_cert_verify_chain(leaf, c, 3, &c[1], 1, NULL, 0, l->at, 0));
        /* The other signer (ASK for a VLEK, ASVK for a VCEK) does not do. */
        ward_cert *wrong = c[l->signer == 0 ? 2 : 0];
        expect_verify_fail(verify1(leaf, wrong, c[1], NULL, 0, l->at, 0), NULL);
        /* Another product's chain does not do. */
        ward_cert **o = prod[(l->product + 1) % 3];
        expect_verify_fail(verify1(leaf, o[l->signer], o[1], NULL, 0, l->at, 0), NULL);
        ward_pkey *pub = NULL;
        CHECK_OK(ward_cert_public_key(leaf, &pub));
        assert_int_equal(ward_pkey_type(pub), WARD_KEY_EC_P384);
        ward_pkey_free(pub);
        ward_cert_free(leaf);
    }
    /* The AWS VLEK expired on 2025-12-10. */
    ward_cert *vlek = load_cert_der("snp/trustee-milan-vlek-v3-aws/vlek.der");
    expect_verify_fail(verify1(vlek, prod[0][2], prod[0][1], NULL, 0, INT64_C(1767225600), 0),
                       "certificate has expired");
    ward_cert_free(vlek);
    /* Crafted VCEK-shaped certificates not signed by AMD. */
    static const char *const negative[] = {"snp/negative/trustee-vcek-invalid-legacy.der",
                                           "snp/negative/trustee-vcek-invalid-new.der"};
    for (size_t i = 0; i < 2; i++) {
        ward_cert *bad = load_cert_der(negative[i]);
        expect_verify_fail(verify1(bad, prod[0][0], prod[0][1], NULL, 0, INT64_C(1683141823), 0),
                           NULL);
        ward_cert_free(bad);
    }
    for (size_t i = 0; i < 3; i++)
        ward_cert_list_free(prod[i], np[i]);
}

/* ---- real certificates: attested TLS ------------------------------------------------------ */

struct ratls_cert {
    const char *file, *cn;
    const char *spki_sha256;     /* = the pubkey-hash claim, SOURCES-ratls.md */
    const char *legacy_oid;      /* raw quote under a legacy OID, or NULL */
    size_t evidence_len, legacy_len;
    int64_t inside, outside;     /* a time inside the validity period, one outside */
};

static const struct ratls_cert RATLS[] = {
    {"ratls/gramine-cert.pem", "RATLS",
     "5a5a5b2d177433048e9d62409d1acc4ec526c06e294d09e69a36cff9369e4851",
     "0.6.9.42.840.113741.1337.6", 4794, 4734, T_AMD, INT64_C(1924992000) /* 2031 */},
    {"ratls/rats-tls-cert.pem", "RATS-TLS",
     "72c0b70c2092741a4cfda0c2465487faf132998617b0aad53118aa5d6e180006", NULL, 0, 0,
     INT64_C(1685577600) /* 2023-06-01 */, T_AMD},
    {"ratls/intel-sgxsdk-cert.pem", "Intel SGX Enclave",
     "f306ed602985371e3b485102db1fcdd4f4738329ce58b2f8d1c5d2cc79752026",
     "1.2.840.113741.1.13.1", 0, 4600, T_AMD, INT64_C(1609459200) /* 2021-01-01 */},
};

static void test_ratls(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof RATLS / sizeof RATLS[0]; i++) {
        const struct ratls_cert *r = &RATLS[i];
        ward_cert *c = load_cert_any(r->file);
        check_cn(c, r->cn);
        assert_int_equal(ward_cert_is_ca(c), 0);

        uint8_t spki[WARD_SHA256_LEN];
        CHECK_OK(ward_cert_spki_sha256(c, spki));
        size_t hn = 0;
        uint8_t *want = tu_unhex(r->spki_sha256, &hn);
        assert_int_equal(hn, WARD_SHA256_LEN);
        assert_memory_equal(spki, want, hn);
        free(want);

        /* tcg-dice-TaggedEvidence: non-critical, CBOR tag 60000 (d9 ea60) around
         * [bstr quote, bstr claims]; the claims carry the SPKI hash. */
        uint8_t *v = NULL;
        size_t vlen = 0;
        int crit = -1;
        CHECK_OK(ward_cert_extension(c, TAGGED_EVIDENCE_OID, &v, &vlen, &crit));
        assert_int_equal(crit, 0);
        assert_true(vlen > 1000);
        assert_int_equal(v[0], 0xd9);
        assert_int_equal(v[1], 0xea);
        assert_int_equal(v[2], 0x60);
        assert_int_equal(v[3], 0x82);
        if (r->evidence_len)
            assert_int_equal(vlen, r->evidence_len);
        assert_non_null(memmem(v, vlen, spki, sizeof spki));
        free(v);

        if (r->legacy_oid != NULL) {
            CHECK_OK(ward_cert_extension(c, r->legacy_oid, &v, &vlen, &crit));
            assert_int_equal(vlen, r->legacy_len);
            /* An SGX quote v3 with ECDSA P-256 attestation key: 03 00 02 00. */
            assert_int_equal(v[0], 3);
            assert_int_equal(v[1], 0);
            assert_int_equal(v[2], 2);
            assert_int_equal(v[3], 0);
            free(v);
        } else {
            expect_err(ward_cert_extension(c, "0.6.9.42.840.113741.1337.6", &v, &vlen, &crit),
                       WARD_ERR_NOT_FOUND, NULL);
            expect_err(ward_cert_extension(c, "1.2.840.113741.1.13.1", &v, &vlen, &crit),
                       WARD_ERR_NOT_FOUND, NULL);
        }

        /* Self-signed: verifies as its own anchor inside its validity period only. */
        CHECK_OK(verify1(c, NULL, c, NULL, 0, r->inside, 0));
        expect_verify_fail(verify1(c, NULL, c, NULL, 0, r->outside, 0), NULL);
        ward_cert *bad = tampered(c);
        expect_verify_fail(verify1(bad, NULL, bad, NULL, 0, r->inside, 0), "signature");
        ward_cert_free(bad);
        ward_cert_free(c);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_made_fields),
        cmocka_unit_test(test_made_extensions_openssl),
        cmocka_unit_test(test_made_roundtrip),
        cmocka_unit_test(test_chain_time),
        cmocka_unit_test(test_chain_wrong_root),
        cmocka_unit_test(test_chain_ca_constraint),
        cmocka_unit_test(test_chain_weak_signature),
        cmocka_unit_test(test_chain_crls),
        cmocka_unit_test(test_chain_partial),
        cmocka_unit_test(test_ed25519_and_other_keys),
        cmocka_unit_test(test_custom_extensions),
        cmocka_unit_test(test_self_signed_leaf),
        cmocka_unit_test(test_create_refusals),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_intel_root),
        cmocka_unit_test(test_intel_crls),
        cmocka_unit_test(test_intel_pck_crl_issuer_chain),
        cmocka_unit_test(test_intel_pck_chain_from_quote),
        cmocka_unit_test(test_intel_tcb_signing_chain),
        cmocka_unit_test(test_amd_ark_ask),
        cmocka_unit_test(test_amd_vcek_chains),
        cmocka_unit_test(test_ratls),
    };
    return cmocka_run_group_tests(tests, pki_setup, pki_teardown);
}
