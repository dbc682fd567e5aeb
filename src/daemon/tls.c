/* The server's TLS context: attested TLS (include/ward/channel.h, docs/channel.md). A fresh
 * P-256 key is made at every start (the platform key never leaves src/rot, so it cannot be
 * the TLS key); its certificate carries the node's evidence, whose report_data binds that key,
 * so a client can check which node it talks to during the handshake. The SHA-256 of the key's
 * SubjectPublicKeyInfo is also logged and written to the port file so that a client without
 * an attestation verifier can pin it. */
#include <stdio.h>
#include <string.h>

#include <openssl/ssl.h>

#include "daemon/wardd.h"
#include "ward/channel.h"
#include "ward/crypto.h"
#include "ward/err.h"
#include "ward/log.h"
#include "ward/x509.h"

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
