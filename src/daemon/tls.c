/* The server's TLS context. Until attested TLS (include/ward/channel.h) lands, this is the ONE
 * place that makes it: TLS 1.3 only, a fresh EC P-256 key generated at every start (the
 * platform key never leaves src/rot, so it cannot be the TLS key) and a self-signed
 * certificate for it. The SHA-256 of the key's SubjectPublicKeyInfo is logged and written to
 * the port file so that a client can pin it. Replacing this function's body by a call to
 * ward_channel_ssl_ctx_server() is the planned one-line change. */
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "daemon/wardd.h"
#include "ward/crypto.h"
#include "ward/err.h"
#include "ward/log.h"

static X509 *self_signed(EVP_PKEY *key)
{
    X509 *x = X509_new();
    X509_NAME *name = X509_NAME_new();
    uint8_t serial[16];
    BIGNUM *bn = NULL;
    int ok = x != NULL && name != NULL && ward_random(serial, sizeof serial) == WARD_OK;
    if (ok) {
        serial[0] &= 0x7f; /* positive */
        bn = BN_bin2bn(serial, (int)sizeof serial, NULL);
        ok = bn != NULL && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
    }
    ok = ok && X509_set_version(x, X509_VERSION_3) == 1 &&
         X509_gmtime_adj(X509_getm_notBefore(x), -300) != NULL &&
         X509_gmtime_adj(X509_getm_notAfter(x), 30L * 24 * 3600) != NULL &&
         X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"wardd", -1,
                                    -1, 0) == 1 &&
         X509_set_subject_name(x, name) == 1 && X509_set_issuer_name(x, name) == 1 &&
         X509_set_pubkey(x, key) == 1;
    if (ok) {
        X509V3_CTX v3;
        X509V3_set_ctx_nodb(&v3);
        X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
        static const struct {
            int nid;
            const char *value;
        } exts[] = {
            {NID_basic_constraints, "critical,CA:FALSE"},
            {NID_key_usage, "critical,digitalSignature"},
            {NID_ext_key_usage, "serverAuth"},
            {NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1,IP:::1"},
        };
        for (size_t i = 0; ok && i < sizeof exts / sizeof exts[0]; i++) {
            X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &v3, exts[i].nid, exts[i].value);
            ok = e != NULL && X509_add_ext(x, e, -1) == 1;
            X509_EXTENSION_free(e);
        }
    }
    ok = ok && X509_sign(x, key, EVP_sha256()) > 0;
    BN_free(bn);
    X509_NAME_free(name);
    if (!ok) {
        X509_free(x);
        return NULL;
    }
    return x;
}

SSL_CTX *wardd_tls_server_ctx(wardd *d)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *cert = key != NULL ? self_signed(key) : NULL;
    SSL_CTX *ctx = cert != NULL ? SSL_CTX_new(TLS_server_method()) : NULL;
    unsigned char *spki = NULL;
    int spki_len = key != NULL ? i2d_PUBKEY(key, &spki) : -1;
    uint8_t h[WARD_SHA256_LEN];
    int ok = ctx != NULL && spki_len > 0 &&
             ward_hash(WARD_HASH_SHA256, spki, (size_t)spki_len, h) == WARD_OK &&
             SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) == 1 &&
             SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) == 1 &&
             SSL_CTX_use_certificate(ctx, cert) == 1 && SSL_CTX_use_PrivateKey(ctx, key) == 1 &&
             SSL_CTX_check_private_key(ctx) == 1;
    if (ok) {
        SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION);
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
        for (size_t i = 0; i < sizeof h; i++)
            snprintf(d->tls_spki_hex + 2 * i, 3, "%02x", h[i]);
        ward_log(WARD_LOG_WARN, "wardd.tls",
                 "note", "self-signed TLS certificate with a key made at start (attested TLS "
                 "will replace it); pin tls_spki_sha256",
                 "tls_spki_sha256", d->tls_spki_hex, (char *)NULL);
    } else {
        ward_err_ossl(WARD_ERR_CRYPTO, "TLS server context");
        ward_log(WARD_LOG_ERROR, "wardd.tls", "error", ward_errmsg(), (char *)NULL);
        SSL_CTX_free(ctx);
        ctx = NULL;
    }
    OPENSSL_free(spki);
    X509_free(cert);
    EVP_PKEY_free(key);
    return ctx;
}
