/* The server's TLS context: attested TLS (include/ward/channel.h, docs/channel.md). A fresh
 * P-256 key is made at every start (the platform key never leaves src/rot, so it cannot be
 * the TLS key); its certificate carries the node's evidence, whose report_data binds that key,
 * so a client can check which node it talks to during the handshake. The SHA-256 of the key's
 * SubjectPublicKeyInfo is also logged and written to the port file so that a client without
 * an attestation verifier can pin it.
 *
 * Clients: the server REQUESTS a client certificate (SSL_VERIFY_PEER without
 * FAIL_IF_NO_PEER_CERT): participants of tasks present a plain self-signed P-256 certificate
 * whose key is their identity (SHA-256 of its SubjectPublicKeyInfo, the key that signs task
 * manifests); possession of the key is proven by the TLS 1.3 handshake (CertificateVerify), so
 * no chain is built: the certificate is accepted when it is well-formed, self-signed (its
 * signature verifies with its own key) and its key is EC P-256. A client without a certificate
 * still connects (the attestation endpoints are public); /v1/tasks answers it 401. */
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/http.h>

#include "daemon/wardd.h"
#include "ward/channel.h"
#include "ward/crypto.h"
#include "ward/err.h"
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

/* Replaces OpenSSL's chain verification for client certificates (see the file comment). */
static int client_cert_cb(X509_STORE_CTX *xs, void *arg)
{
    (void)arg;
    X509 *leaf = X509_STORE_CTX_get0_cert(xs);
    EVP_PKEY *pkey = leaf != NULL ? X509_get0_pubkey(leaf) : NULL;
    int ok = pkey != NULL && is_p256(pkey) &&
             X509_NAME_cmp(X509_get_subject_name(leaf), X509_get_issuer_name(leaf)) == 0 &&
             X509_verify(leaf, pkey) == 1;
    X509_STORE_CTX_set_error(xs, ok ? X509_V_OK : X509_V_ERR_APPLICATION_VERIFICATION);
    return ok;
}

int wardd_tls_client_id(struct evhttp_request *req, uint8_t out[WARD_SHA256_LEN])
{
    struct evhttp_connection *c = req != NULL ? evhttp_request_get_connection(req) : NULL;
    struct bufferevent *bev = c != NULL ? evhttp_connection_get_bufferevent(c) : NULL;
    SSL *ssl = bev != NULL ? bufferevent_openssl_get_ssl(bev) : NULL;
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
        SSL_CTX_set_cert_verify_callback(ctx, client_cert_cb, NULL);
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
