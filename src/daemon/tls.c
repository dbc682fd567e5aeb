/* The server's TLS context: attested TLS (include/ward/channel.h, docs/channel.md). A fresh
 * P-256 key is made at every start (the platform key never leaves src/rot, so it cannot be
 * the TLS key); its certificate carries the node's evidence, whose report_data binds that key,
 * so a client can check which node it talks to during the handshake. The SHA-256 of the key's
 * SubjectPublicKeyInfo is also logged and written to the port file so that a client without
 * an attestation verifier can pin it.
 *
 * Clients: the server REQUESTS a client certificate (SSL_VERIFY_PEER without
 * FAIL_IF_NO_PEER_CERT); a client without one still connects (the public endpoints), and the
 * others answer it 401. Two kinds are accepted, and the handshake fails for anything else:
 *  - a self-signed P-256 certificate: a task participant whose identity is its key (SHA-256 of
 *    its SubjectPublicKeyInfo, the key that signs task manifests). Possession of the key is
 *    proven by the TLS 1.3 handshake (CertificateVerify), so no chain is built: the certificate
 *    is accepted when it is well-formed, self-signed (its signature verifies with its own key),
 *    its key is EC P-256 and it is fit for client authentication;
 *  - a certificate issued by a CA trusted in the identity database: the chain, the CRLs loaded
 *    there and the usage are checked (ward_identity_cert_check). A refusal is audited as a failed
 *    authentication and answered with the matching TLS alert (certificate_revoked,
 *    certificate_expired, unsupported_certificate, unknown_ca), so that a client learns why.
 * Whether the key is enrolled (mapped to a user with the permission) is decided per request
 * (authz.c): an unenrolled participant can still reach the public endpoints. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/http.h>

#include "daemon/wardd.h"
#include "ward/channel.h"
#include "ward/crypto.h"
#include "ward/err.h"
#include "ward/identity.h"
#include "ward/log.h"
#include "ward/x509.h"

/* 1 if pkey is an EC key on P-256. */
static int is_p256(EVP_PKEY *pkey)
{
    if (pkey == NULL || EVP_PKEY_get_base_id(pkey) != EVP_PKEY_EC)
        return 0;
    char group[64];
    size_t gl = 0;
    if (EVP_PKEY_get_utf8_string_param(pkey, "group", group, sizeof group, &gl) != 1)
        return 0;
    return strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0;
}

/* 1 if the certificate may authenticate a TLS client: an extendedKeyUsage, if present, holds
 * clientAuth; a keyUsage, if present, digitalSignature. */
static int client_usage_ok(X509 *x)
{
    uint32_t f = X509_get_extension_flags(x);
    if (f & EXFLAG_INVALID)
        return 0;
    if ((f & EXFLAG_XKUSAGE) && !(X509_get_extended_key_usage(x) & XKU_SSL_CLIENT))
        return 0;
    if ((f & EXFLAG_KUSAGE) && !(X509_get_key_usage(x) & KU_DIGITAL_SIGNATURE))
        return 0;
    return 1;
}

static int is_self_signed(X509 *x)
{
    EVP_PKEY *pkey = X509_get0_pubkey(x);
    int ok = pkey != NULL &&
             X509_NAME_cmp(X509_get_subject_name(x), X509_get_issuer_name(x)) == 0 &&
             X509_verify(x, pkey) == 1;
    ERR_clear_error();
    return ok;
}

static ward_cert *wrap(X509 *x)
{
    unsigned char *der = NULL;
    int n = i2d_X509(x, &der);
    ward_cert *c = NULL;
    if (n <= 0 || ward_cert_from_der(der, (size_t)n, &c) != WARD_OK)
        c = NULL;
    OPENSSL_free(der);
    return c;
}

/* The leaf and the certificates sent after it, as ward_certs. 0, or -1. */
static int wrap_chain(X509 *leaf, STACK_OF(X509) *sent, ward_cert **out_leaf,
                      ward_cert ***out_chain, size_t *out_n)
{
    *out_leaf = NULL;
    *out_chain = NULL;
    *out_n = 0;
    int total = sent != NULL ? sk_X509_num(sent) : 0;
    ward_cert **chain = calloc(total > 0 ? (size_t)total : 1, sizeof *chain);
    ward_cert *l = wrap(leaf);
    if (chain == NULL || l == NULL) {
        free(chain);
        ward_cert_free(l);
        return -1;
    }
    size_t n = 0;
    for (int i = 0; i < total; i++) {
        X509 *x = sk_X509_value(sent, i);
        if (x == NULL || X509_cmp(x, leaf) == 0)
            continue;
        if ((chain[n] = wrap(x)) == NULL) {
            ward_cert_list_free(chain, n);
            ward_cert_free(l);
            return -1;
        }
        n++;
    }
    *out_leaf = l;
    *out_chain = chain;
    *out_n = n;
    return 0;
}

static void peer_ip(SSL *ssl, char *out, size_t cap)
{
    snprintf(out, cap, "-");
    int fd = ssl != NULL ? SSL_get_fd(ssl) : -1;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (fd < 0 || getpeername(fd, (struct sockaddr *)&ss, &sl) != 0)
        return;
    if (ss.ss_family == AF_INET)
        inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, out, (socklen_t)cap);
    else if (ss.ss_family == AF_INET6)
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, out, (socklen_t)cap);
}

static int problem_to_x509(ward_cert_problem p)
{
    switch (p) {
    case WARD_CERT_REVOKED: return X509_V_ERR_CERT_REVOKED;
    case WARD_CERT_EXPIRED: return X509_V_ERR_CERT_HAS_EXPIRED;
    case WARD_CERT_CRL_STALE: return X509_V_ERR_CRL_HAS_EXPIRED;
    case WARD_CERT_USAGE: return X509_V_ERR_INVALID_PURPOSE;
    default: return X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY;
    }
}

/* A CA-issued client certificate: checked against the identity database. */
static int check_issued(wardd *d, X509_STORE_CTX *xs, X509 *leaf)
{
    SSL *ssl = X509_STORE_CTX_get_ex_data(xs, SSL_get_ex_data_X509_STORE_CTX_idx());
    ward_cert *l = NULL;
    ward_cert **chain = NULL;
    size_t n = 0;
    if (d->identity == NULL ||
        wrap_chain(leaf, X509_STORE_CTX_get0_untrusted(xs), &l, &chain, &n) != 0) {
        X509_STORE_CTX_set_error(xs, X509_V_ERR_UNSPECIFIED);
        return 0;
    }
    ward_cert_problem problem = WARD_CERT_UNTRUSTED;
    int ok = ward_identity_cert_check(d->identity, l, chain, n, &problem) == WARD_OK;
    if (!ok) {
        char why[512], ip[INET6_ADDRSTRLEN + 1];
        snprintf(why, sizeof why, "%s", ward_errmsg());
        peer_ip(ssl, ip, sizeof ip);
        ward_log(WARD_LOG_INFO, "tls.client_refused", "peer", ip, "reason", why, (char *)NULL);
        /* The same checks again, as an authentication: audited and counted against the
         * address (it fails). */
        ward_principal p;
        ward_auth_ctx ctx = {.source = ip};
        (void)ward_identity_auth_cert(d->identity, l, chain, n, &ctx, &p);
        ward_err_clear();
    }
    ward_cert_free(l);
    ward_cert_list_free(chain, n);
    X509_STORE_CTX_set_error(xs, ok ? X509_V_OK : problem_to_x509(problem));
    return ok;
}

/* Replaces OpenSSL's chain verification for client certificates (see the file comment). */
static int client_cert_cb(X509_STORE_CTX *xs, void *arg)
{
    wardd *d = arg;
    X509 *leaf = X509_STORE_CTX_get0_cert(xs);
    if (leaf == NULL) {
        X509_STORE_CTX_set_error(xs, X509_V_ERR_UNSPECIFIED);
        return 0;
    }
    if (!client_usage_ok(leaf)) {
        X509_STORE_CTX_set_error(xs, X509_V_ERR_INVALID_PURPOSE);
        return 0;
    }
    if (!is_self_signed(leaf))
        return check_issued(d, xs, leaf);
    int ok = is_p256(X509_get0_pubkey(leaf));
    X509_STORE_CTX_set_error(xs, ok ? X509_V_OK : X509_V_ERR_APPLICATION_VERIFICATION);
    return ok;
}

static SSL *ssl_of(struct evhttp_request *req)
{
    struct evhttp_connection *c = req != NULL ? evhttp_request_get_connection(req) : NULL;
    struct bufferevent *bev = c != NULL ? evhttp_connection_get_bufferevent(c) : NULL;
    return bev != NULL ? bufferevent_openssl_get_ssl(bev) : NULL;
}

int wardd_tls_client_cert(struct evhttp_request *req, ward_cert **leaf, ward_cert ***chain,
                          size_t *n)
{
    *leaf = NULL;
    *chain = NULL;
    *n = 0;
    SSL *ssl = ssl_of(req);
    X509 *peer = ssl != NULL ? SSL_get0_peer_certificate(ssl) : NULL;
    if (peer == NULL || SSL_get_verify_result(ssl) != X509_V_OK)
        return -1;
    if (is_self_signed(peer))
        return 1;
    /* Server side: the chain the client sent, without its leaf. */
    return wrap_chain(peer, SSL_get_peer_cert_chain(ssl), leaf, chain, n) == 0 ? 0 : -1;
}

int wardd_tls_client_id(struct evhttp_request *req, uint8_t out[WARD_SHA256_LEN])
{
    SSL *ssl = ssl_of(req);
    X509 *peer = ssl != NULL ? SSL_get0_peer_certificate(ssl) : NULL;
    if (peer == NULL || SSL_get_verify_result(ssl) != X509_V_OK)
        return -1;
    unsigned char *der = NULL;
    int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(peer), &der);
    if (n <= 0)
        return -1;
    ward_err err = ward_hash(WARD_HASH_SHA256, der, (size_t)n, out);
    OPENSSL_free(der);
    return err == WARD_OK ? 0 : -1;
}

SSL_CTX *wardd_tls_server_ctx(wardd *d)
{
    /* The evidence source must outlive the identity, which the SSL_CTX keeps: one per process. */
    static ward_channel_node_source source;
    source.rot = d->rot;
    source.hw = NULL; /* no TEE hardware here: software-TEE evidence only */
    static const char *const names[] = {"localhost"};
    ward_channel_identity_spec spec = {
        .common_name = "wardd",
        .dns_names = names,
        .n_dns_names = 1,
        .lifetime = 30L * 24 * 3600,
        .evidence = ward_channel_node_evidence,
        .evidence_ctx = &source,
    };
    ward_channel_identity *id = NULL;
    SSL_CTX *ctx = NULL;
    uint8_t h[WARD_SHA256_LEN];
    ward_err err = ward_channel_identity_new(&spec, &id);
    if (!err)
        err = ward_cert_spki_sha256(ward_channel_identity_cert(id), h);
    if (!err)
        err = ward_channel_ssl_ctx_server(id, NULL, &ctx);
    ward_channel_identity_free(id); /* the context holds its own reference */
    if (!err) {
        /* One-way attested context (peer == NULL): ward_channel installs no verifier on it, so
         * the client-certificate settings below are ours alone. */
        static const unsigned char sid[] = "wardd";
        SSL_CTX_set_cert_verify_callback(ctx, client_cert_cb, d);
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
        if (SSL_CTX_set_session_id_context(ctx, sid, sizeof sid - 1) != 1) {
            SSL_CTX_free(ctx);
            ctx = NULL;
            err = ward_err_set(WARD_ERR_CRYPTO, "TLS: session id context");
        }
    }
    if (err) {
        ward_log(WARD_LOG_ERROR, "wardd.tls", "error", ward_errmsg(), (char *)NULL);
        return NULL;
    }
    for (size_t i = 0; i < sizeof h; i++)
        snprintf(d->tls_spki_hex + 2 * i, 3, "%02x", h[i]);
    ward_log(WARD_LOG_INFO, "wardd.tls", "note",
             "attested TLS 1.3: the certificate carries this node's software-TEE evidence",
             "tls_spki_sha256", d->tls_spki_hex, (char *)NULL);
    return ctx;
}
