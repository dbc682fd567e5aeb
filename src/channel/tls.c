/* Attested TLS 1.3 over OpenSSL: the certificate verification hook, SSL_CTX helpers, channels
 * over connected sockets, the exporter and the freshness exchange (docs/channel.md). */
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "channel/channel_internal.h"
#include "ward/channel.h"
#include "ward/crypto.h"

/* ---- ex_data -------------------------------------------------------------------------------- */

static pthread_once_t ex_once = PTHREAD_ONCE_INIT;
static int ex_result = -1;   /* SSL: ward_channel_result * */
static int ex_verifier = -1; /* SSL_CTX: ward_channel_verifier * */
static int ex_identity = -1; /* SSL_CTX: ward_channel_identity * */

static void free_result(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
                        void *argp)
{
    (void)parent, (void)ad, (void)idx, (void)argl, (void)argp;
    free(ptr);
}

static void free_verifier(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
                          void *argp)
{
    (void)parent, (void)ad, (void)idx, (void)argl, (void)argp;
    ward_channel_verifier_free(ptr);
}

static void free_identity(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
                          void *argp)
{
    (void)parent, (void)ad, (void)idx, (void)argl, (void)argp;
    ward_channel_identity_free(ptr);
}

static void ex_init(void)
{
    ex_result = SSL_get_ex_new_index(0, NULL, NULL, NULL, free_result);
    ex_verifier = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, free_verifier);
    ex_identity = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, free_identity);
}

static ward_err ex_ready(void)
{
    pthread_once(&ex_once, ex_init);
    if (ex_result < 0 || ex_verifier < 0 || ex_identity < 0)
        return ward_err_ossl(WARD_ERR_CRYPTO, "channel: OpenSSL ex_data index");
    return WARD_OK;
}

const ward_channel_result *ward_channel_ssl_result(const SSL *ssl)
{
    if (ssl == NULL || ex_ready() != WARD_OK)
        return NULL;
    return SSL_get_ex_data(ssl, ex_result);
}

/* ---- the verification hook ------------------------------------------------------------------ */

static int verify_cb(X509_STORE_CTX *xs, void *arg)
{
    ward_channel_verifier *v = arg;
    SSL *ssl = X509_STORE_CTX_get_ex_data(xs, SSL_get_ex_data_X509_STORE_CTX_idx());
    X509 *leaf = X509_STORE_CTX_get0_cert(xs);
    if (ssl == NULL || leaf == NULL || v == NULL) {
        X509_STORE_CTX_set_error(xs, X509_V_ERR_UNSPECIFIED);
        return 0;
    }
    ward_channel_result *r = SSL_get_ex_data(ssl, ex_result);
    if (r == NULL) {
        r = calloc(1, sizeof *r);
        if (r == NULL || SSL_set_ex_data(ssl, ex_result, r) != 1) {
            free(r);
            X509_STORE_CTX_set_error(xs, X509_V_ERR_OUT_OF_MEM);
            return 0;
        }
    }
    unsigned char *der = NULL;
    int n = i2d_X509(leaf, &der);
    ward_cert *cert = NULL;
    if (n <= 0 || ward_cert_from_der(der, (size_t)n, &cert) != WARD_OK) {
        memset(r, 0, sizeof *r);
        ward_channel_reason(r, "peer certificate does not re-encode");
        OPENSSL_free(der);
        X509_STORE_CTX_set_error(xs, X509_V_ERR_APPLICATION_VERIFICATION);
        return 0;
    }
    OPENSSL_free(der);
    (void)ward_channel_verifier_check(v, cert, r);
    ward_cert_free(cert);
    if (!r->accepted) {
        X509_STORE_CTX_set_error(xs, X509_V_ERR_APPLICATION_VERIFICATION);
        return 0;
    }
    X509_STORE_CTX_set_error(xs, X509_V_OK);
    return 1;
}

static ward_err tls13_only(SSL_CTX *ctx)
{
    if (SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1 ||
        SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1)
        return ward_err_ossl(WARD_ERR_CRYPTO, "channel: cannot restrict to TLS 1.3");
    return WARD_OK;
}

ward_err ward_channel_ssl_ctx_install(SSL_CTX *ctx, const ward_channel_verify_cfg *cfg)
{
    if (ctx == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "channel: NULL SSL_CTX");
    ward_err err = ex_ready();
    if (err == WARD_OK)
        err = tls13_only(ctx);
    if (err != WARD_OK)
        return err;
    ward_channel_verifier *v = NULL;
    if ((err = ward_channel_verifier_new(cfg, &v)) != WARD_OK)
        return err;
    ward_channel_verifier *old = SSL_CTX_get_ex_data(ctx, ex_verifier);
    if (SSL_CTX_set_ex_data(ctx, ex_verifier, v) != 1) {
        ward_channel_verifier_free(v);
        return ward_err_ossl(WARD_ERR_CRYPTO, "channel: SSL_CTX ex_data");
    }
    SSL_CTX_set_cert_verify_callback(ctx, verify_cb, v);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    ward_channel_verifier_free(old); /* no handshake may be running on ctx while installing */
    return WARD_OK;
}

ward_err ward_channel_ssl_ctx_use_identity(SSL_CTX *ctx, ward_channel_identity *id)
{
    if (ctx == NULL || id == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "channel: NULL argument");
    ward_err err = ex_ready();
    if (err != WARD_OK)
        return err;
    if (SSL_CTX_use_certificate(ctx, ward_channel_identity_x509(id)) != 1 ||
        SSL_CTX_use_PrivateKey(ctx, ward_channel_identity_evp(id)) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1)
        return ward_err_ossl(WARD_ERR_CRYPTO, "channel: installing the identity");
    ward_channel_identity *old = SSL_CTX_get_ex_data(ctx, ex_identity);
    if (SSL_CTX_set_ex_data(ctx, ex_identity, ward_channel_identity_ref(id)) != 1) {
        ward_channel_identity_free(id);
        return ward_err_ossl(WARD_ERR_CRYPTO, "channel: SSL_CTX ex_data");
    }
    ward_channel_identity_free(old);
    return WARD_OK;
}

ward_err ward_channel_ssl_ctx_server(ward_channel_identity *id,
                                     const ward_channel_verify_cfg *peer, SSL_CTX **out)
{
    if (out == NULL || id == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "channel: server needs an identity");
    *out = NULL;
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL)
        return ward_err_ossl(WARD_ERR_CRYPTO, "channel: SSL_CTX_new");
    ward_err err = tls13_only(ctx);
    /* No tickets: a resumed session would skip the peer's evidence check. */
    if (err == WARD_OK && SSL_CTX_set_num_tickets(ctx, 0) != 1)
        err = ward_err_ossl(WARD_ERR_CRYPTO, "channel: tickets");
    if (err == WARD_OK) {
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
        err = ward_channel_ssl_ctx_use_identity(ctx, id);
    }
    if (err == WARD_OK && peer != NULL)
        err = ward_channel_ssl_ctx_install(ctx, peer);
    if (err != WARD_OK) {
        SSL_CTX_free(ctx);
        return err;
    }
    *out = ctx;
    return WARD_OK;
}

ward_err ward_channel_ssl_ctx_client(const ward_channel_verify_cfg *cfg,
                                     ward_channel_identity *id, SSL_CTX **out)
{
    if (out == NULL || cfg == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "channel: client needs a verifier");
    *out = NULL;
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL)
        return ward_err_ossl(WARD_ERR_CRYPTO, "channel: SSL_CTX_new");
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    ward_err err = ward_channel_ssl_ctx_install(ctx, cfg);
    if (err == WARD_OK && id != NULL)
        err = ward_channel_ssl_ctx_use_identity(ctx, id);
    if (err != WARD_OK) {
        SSL_CTX_free(ctx);
        return err;
    }
    *out = ctx;
    return WARD_OK;
}

/* ---- channels ------------------------------------------------------------------------------- */

struct ward_channel_ctx {
    SSL_CTX *ssl_ctx;
    int is_server;
    int fresh;
    ward_channel_identity *id; /* reference, may be NULL (client one-way) */
};

struct ward_channel {
    SSL *ssl;
    ward_channel_ctx *ctx;
    ward_channel_result peer;
    int has_peer;
};

static ward_err ctx_new(const ward_channel_config *cfg, int server, ward_channel_ctx **out)
{
    if (out == NULL || cfg == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "channel: NULL argument");
    *out = NULL;
    if (cfg->fresh && server && cfg->identity == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "channel: freshness needs an identity");
    ward_channel_ctx *c = calloc(1, sizeof *c);
    if (c == NULL)
        return ward_err_set(WARD_ERR_NOMEM, "channel: out of memory");
    ward_err err = server ? ward_channel_ssl_ctx_server(cfg->identity, cfg->verify, &c->ssl_ctx)
                          : ward_channel_ssl_ctx_client(cfg->verify, cfg->identity, &c->ssl_ctx);
    if (err != WARD_OK) {
        free(c);
        return err;
    }
    c->is_server = server;
    c->fresh = cfg->fresh;
    c->id = ward_channel_identity_ref(cfg->identity);
    *out = c;
    return WARD_OK;
}

ward_err ward_channel_ctx_new_server(const ward_channel_config *cfg, ward_channel_ctx **out)
{
    return ctx_new(cfg, 1, out);
}

ward_err ward_channel_ctx_new_client(const ward_channel_config *cfg, ward_channel_ctx **out)
{
    return ctx_new(cfg, 0, out);
}

void ward_channel_ctx_free(ward_channel_ctx *ctx)
{
    if (ctx == NULL)
        return;
    SSL_CTX_free(ctx->ssl_ctx);
    ward_channel_identity_free(ctx->id);
    free(ctx);
}

SSL_CTX *ward_channel_ctx_ssl_ctx(ward_channel_ctx *ctx)
{
    return ctx != NULL ? ctx->ssl_ctx : NULL;
}

/* The error for a failed SSL call: the verifier's reason if it refused the peer, else
 * OpenSSL's. */
static ward_err ssl_fail(ward_channel *ch, int rc, const char *what)
{
    const ward_channel_result *r = ward_channel_ssl_result(ch->ssl);
    if (r != NULL && !r->accepted) {
        ERR_clear_error();
        return ward_err_set(WARD_ERR_VERIFY, "%s: peer attestation refused: %s", what,
                            r->reason);
    }
    int e = SSL_get_error(ch->ssl, rc);
    if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)
        return ward_err_set(WARD_ERR_IO, "%s: connection closed or failed", what);
    return ward_err_ossl(WARD_ERR_VERIFY, "%s failed", what);
}

static ward_err handshake(ward_channel_ctx *ctx, int fd, int server, ward_channel **out)
{
    if (ctx == NULL || out == NULL || fd < 0)
        return ward_err_set(WARD_ERR_INVALID_ARG, "channel: bad argument");
    *out = NULL;
    if (ctx->is_server != server)
        return ward_err_set(WARD_ERR_STATE, "channel: %s on a %s context",
                            server ? "accept" : "connect", ctx->is_server ? "server" : "client");
    ward_channel *ch = calloc(1, sizeof *ch);
    if (ch == NULL)
        return ward_err_set(WARD_ERR_NOMEM, "channel: out of memory");
    ch->ctx = ctx;
    ERR_clear_error();
    ch->ssl = SSL_new(ctx->ssl_ctx);
    if (ch->ssl == NULL || SSL_set_fd(ch->ssl, fd) != 1) {
        ward_channel_free(ch);
        return ward_err_ossl(WARD_ERR_CRYPTO, "channel: SSL_new");
    }
    int rc = server ? SSL_accept(ch->ssl) : SSL_connect(ch->ssl);
    if (rc != 1) {
        ward_err err = ssl_fail(ch, rc, server ? "TLS accept" : "TLS connect");
        ward_channel_free(ch);
        return err;
    }
    if (SSL_version(ch->ssl) != TLS1_3_VERSION) { /* cannot happen: min = max = 1.3 */
        ward_channel_free(ch);
        return ward_err_set(WARD_ERR_VERIFY, "channel: not TLS 1.3");
    }
    const ward_channel_result *r = ward_channel_ssl_result(ch->ssl);
    if (r != NULL) {
        if (!r->accepted) { /* the hook always fails the handshake; defence in depth */
            ward_err err = ward_err_set(WARD_ERR_VERIFY, "peer attestation refused: %s",
                                        r->reason);
            ward_channel_free(ch);
            return err;
        }
        ch->peer = *r;
        ch->has_peer = 1;
    } else if (!server || SSL_CTX_get_ex_data(ctx->ssl_ctx, ex_verifier) != NULL) {
        ward_channel_free(ch);
        return ward_err_set(WARD_ERR_VERIFY, "channel: peer was not verified");
    }
    if (ctx->fresh) {
        ward_err err = server ? ward_channel_fresh_serve(ch) : ward_channel_fresh_request(ch);
        if (err != WARD_OK) {
            ward_channel_free(ch);
            return err;
        }
    }
    *out = ch;
    return WARD_OK;
}

ward_err ward_channel_connect(ward_channel_ctx *ctx, int fd, ward_channel **out)
{
    return handshake(ctx, fd, 0, out);
}

ward_err ward_channel_accept(ward_channel_ctx *ctx, int fd, ward_channel **out)
{
    return handshake(ctx, fd, 1, out);
}

ward_err ward_channel_read(ward_channel *ch, void *buf, size_t cap, size_t *got)
{
    if (ch == NULL || buf == NULL || got == NULL || cap == 0)
        return ward_err_set(WARD_ERR_INVALID_ARG, "channel read: bad argument");
    *got = 0;
    ERR_clear_error();
    size_t n = 0;
    int rc = SSL_read_ex(ch->ssl, buf, cap, &n);
    if (rc == 1) {
        *got = n;
        return WARD_OK;
    }
    if (SSL_get_error(ch->ssl, rc) == SSL_ERROR_ZERO_RETURN)
        return WARD_OK;
    return ssl_fail(ch, rc, "channel read");
}

ward_err ward_channel_read_exact(ward_channel *ch, void *buf, size_t len)
{
    uint8_t *p = buf;
    while (len > 0) {
        size_t got = 0;
        ward_err err = ward_channel_read(ch, p, len, &got);
        if (err != WARD_OK)
            return err;
        if (got == 0)
            return ward_err_set(WARD_ERR_TRUNCATED, "channel: peer closed early");
        p += got;
        len -= got;
    }
    return WARD_OK;
}

ward_err ward_channel_write(ward_channel *ch, const void *buf, size_t len)
{
    if (ch == NULL || (buf == NULL && len != 0))
        return ward_err_set(WARD_ERR_INVALID_ARG, "channel write: bad argument");
    const uint8_t *p = buf;
    while (len > 0) {
        ERR_clear_error();
        size_t n = 0;
        int rc = SSL_write_ex(ch->ssl, p, len, &n);
        if (rc != 1)
            return ssl_fail(ch, rc, "channel write");
        p += n;
        len -= n;
    }
    return WARD_OK;
}

ward_err ward_channel_shutdown(ward_channel *ch)
{
    if (ch == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "channel: NULL");
    ERR_clear_error();
    if (SSL_shutdown(ch->ssl) < 0)
        return ward_err_ossl(WARD_ERR_IO, "channel shutdown");
    return WARD_OK;
}

void ward_channel_free(ward_channel *ch)
{
    if (ch == NULL)
        return;
    SSL_free(ch->ssl);
    ward_wipe(ch, sizeof *ch);
    free(ch);
}

SSL *ward_channel_ssl(ward_channel *ch)
{
    return ch != NULL ? ch->ssl : NULL;
}

const ward_channel_result *ward_channel_peer(const ward_channel *ch)
{
    return ch != NULL && ch->has_peer ? &ch->peer : NULL;
}

ward_err ward_channel_export_key(ward_channel *ch, const char *label, const uint8_t *context,
                                 size_t context_len, uint8_t *out, size_t len)
{
    if (ch == NULL || label == NULL || out == NULL || len == 0 || len > 1024 ||
        (context == NULL && context_len != 0))
        return ward_err_set(WARD_ERR_INVALID_ARG, "channel export: bad argument");
    static const unsigned char empty[1] = {0};
    if (SSL_export_keying_material(ch->ssl, out, len, label, strlen(label),
                                   context != NULL ? context : empty, context_len,
                                   context != NULL) != 1) {
        ward_wipe(out, len);
        return ward_err_ossl(WARD_ERR_CRYPTO, "channel export");
    }
    return WARD_OK;
}

/* ---- freshness ------------------------------------------------------------------------------ */

static const uint8_t fresh_magic[4] = {'W', 'F', 'R', '1'};

ward_err ward_channel_fresh_report_data(ward_channel *ch,
                                        const uint8_t nonce[WARD_CHANNEL_FRESH_NONCE_LEN],
                                        uint8_t out[64])
{
    if (ch == NULL || nonce == NULL || out == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "channel fresh: NULL argument");
    X509 *server_cert = SSL_is_server(ch->ssl) ? SSL_get_certificate(ch->ssl)
                                               : SSL_get0_peer_certificate(ch->ssl);
    if (server_cert == NULL)
        return ward_err_set(WARD_ERR_STATE, "channel fresh: no server certificate");
    unsigned char *spki = NULL;
    int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(server_cert), &spki);
    if (n <= 0)
        return ward_err_ossl(WARD_ERR_CRYPTO, "channel fresh: server key");
    uint8_t buf[WARD_CHANNEL_FRESH_NONCE_LEN + 32 + WARD_SHA256_LEN];
    memcpy(buf, nonce, WARD_CHANNEL_FRESH_NONCE_LEN);
    ward_err err = ward_channel_export_key(ch, WARD_CHANNEL_EXPORTER_LABEL, NULL, 0,
                                           buf + WARD_CHANNEL_FRESH_NONCE_LEN, 32);
    if (err == WARD_OK)
        err = ward_hash(WARD_HASH_SHA256, spki, (size_t)n,
                        buf + WARD_CHANNEL_FRESH_NONCE_LEN + 32);
    OPENSSL_free(spki);
    if (err == WARD_OK) {
        memset(out, 0, 64);
        err = ward_hash(WARD_HASH_SHA256, buf, sizeof buf, out);
    }
    ward_wipe(buf, sizeof buf);
    return err;
}

ward_err ward_channel_fresh_recv_nonce(ward_channel *ch,
                                       uint8_t nonce[WARD_CHANNEL_FRESH_NONCE_LEN])
{
    uint8_t msg[4 + WARD_CHANNEL_FRESH_NONCE_LEN];
    ward_err err = ward_channel_read_exact(ch, msg, sizeof msg);
    if (err != WARD_OK)
        return ward_err_wrap(err, "freshness nonce");
    if (memcmp(msg, fresh_magic, 4) != 0)
        return ward_err_set(WARD_ERR_FORMAT, "freshness: the first message is not a nonce");
    memcpy(nonce, msg + 4, WARD_CHANNEL_FRESH_NONCE_LEN);
    return WARD_OK;
}

ward_err ward_channel_fresh_send_evidence(ward_channel *ch, const char *json, size_t len)
{
    if (json == NULL || len == 0 || len > WARD_EVIDENCE_MAX_LEN)
        return ward_err_set(WARD_ERR_INVALID_ARG, "freshness: bad evidence length");
    uint8_t hdr[8];
    memcpy(hdr, fresh_magic, 4);
    hdr[4] = (uint8_t)(len >> 24);
    hdr[5] = (uint8_t)(len >> 16);
    hdr[6] = (uint8_t)(len >> 8);
    hdr[7] = (uint8_t)len;
    ward_err err = ward_channel_write(ch, hdr, sizeof hdr);
    if (err == WARD_OK)
        err = ward_channel_write(ch, json, len);
    return err;
}

ward_err ward_channel_fresh_serve(ward_channel *ch)
{
    if (ch == NULL || ch->ctx->id == NULL)
        return ward_err_set(WARD_ERR_STATE, "freshness: no identity to answer with");
    uint8_t nonce[WARD_CHANNEL_FRESH_NONCE_LEN], rd[64];
    ward_err err = ward_channel_fresh_recv_nonce(ch, nonce);
    if (err == WARD_OK)
        err = ward_channel_fresh_report_data(ch, nonce, rd);
    char *json = NULL;
    size_t len = 0;
    if (err == WARD_OK)
        err = ward_channel_identity_evidence(ch->ctx->id, rd, &json, &len);
    if (err == WARD_OK)
        err = ward_channel_fresh_send_evidence(ch, json, len);
    free(json);
    return err;
}

static ward_err fresh_refuse(ward_channel *ch, const char *what, const char *detail)
{
    ch->peer.accepted = 0;
    ch->peer.fresh = 0;
    ch->peer.reason[0] = '\0';
    ward_channel_reason(&ch->peer, "%s%s", what, detail);
    return ward_err_set(WARD_ERR_VERIFY, "fresh evidence refused: %s", ch->peer.reason);
}

ward_err ward_channel_fresh_request(ward_channel *ch)
{
    if (ch == NULL || !ch->has_peer || SSL_is_server(ch->ssl))
        return ward_err_set(WARD_ERR_STATE, "freshness: only a client with a verified peer");
    ward_channel_verifier *v = SSL_CTX_get_ex_data(ch->ctx->ssl_ctx, ex_verifier);
    if (v == NULL)
        return ward_err_set(WARD_ERR_STATE, "freshness: no verifier");
    const ward_channel_verify_cfg *cfg = ward_channel_verifier_cfg(v);
    uint8_t msg[4 + WARD_CHANNEL_FRESH_NONCE_LEN], rd[64];
    memcpy(msg, fresh_magic, 4);
    ward_err err = ward_random(msg + 4, WARD_CHANNEL_FRESH_NONCE_LEN);
    if (err == WARD_OK)
        err = ward_channel_fresh_report_data(ch, msg + 4, rd);
    if (err == WARD_OK)
        err = ward_channel_write(ch, msg, sizeof msg);
    uint8_t hdr[8];
    if (err == WARD_OK)
        err = ward_channel_read_exact(ch, hdr, sizeof hdr);
    if (err != WARD_OK)
        return ward_err_wrap(err, "freshness exchange");
    if (memcmp(hdr, fresh_magic, 4) != 0)
        return fresh_refuse(ch, "the server's answer is not fresh evidence", "");
    size_t len = (size_t)hdr[4] << 24 | (size_t)hdr[5] << 16 | (size_t)hdr[6] << 8 | hdr[7];
    if (len == 0 || len > WARD_EVIDENCE_MAX_LEN)
        return fresh_refuse(ch, "fresh evidence of a bad length", "");
    char *json = malloc(len);
    if (json == NULL)
        return ward_err_set(WARD_ERR_NOMEM, "freshness: out of memory");
    if ((err = ward_channel_read_exact(ch, json, len)) != WARD_OK) {
        free(json);
        return ward_err_wrap(err, "freshness evidence");
    }
    ward_claims c;
    ward_evidence_trust none;
    memset(&none, 0, sizeof none);
    int64_t at = cfg->at != 0 ? cfg->at : (int64_t)time(NULL);
    err = ward_evidence_verify(json, len, cfg->trust != NULL ? cfg->trust : &none, at, &c, NULL);
    free(json);
    if (err != WARD_OK)
        return fresh_refuse(ch, "fresh evidence does not verify: ", ward_errmsg());
    /* Same TEE, same code as the certificate's evidence. */
    const ward_claims *cc = &ch->peer.claims;
    if (c.kind != cc->kind || c.measurement_len != cc->measurement_len ||
        memcmp(c.measurement, cc->measurement, c.measurement_len) != 0 ||
        c.signer_len != cc->signer_len || memcmp(c.signer, cc->signer, c.signer_len) != 0 ||
        c.product_id != cc->product_id)
        return fresh_refuse(ch, "fresh evidence is from another TEE or code than the "
                                "certificate's",
                            "");
    ward_appraisal a;
    if (ward_policy_appraise(cfg->policy, &c, rd, 32, at, at, &a) != WARD_OK)
        return fresh_refuse(ch, "appraisal failed: ", ward_errmsg());
    int acc = cfg->policy != NULL ? ward_policy_accepts(cfg->policy, a.status)
                                  : a.status == WARD_EAR_AFFIRMING;
    if (!ward_ct_equal(c.report_data + 32, rd + 32, 32))
        acc = 0;
    if (!acc) {
        char why[WARD_CHANNEL_REASON_LEN] = "";
        size_t used = 0;
        for (size_t i = 0; i < a.n_reasons && used + 2 < sizeof why; i++) {
            int w = snprintf(why + used, sizeof why - used, "%s%s", i ? "; " : "",
                             a.reasons[i]);
            if (w < 0)
                break;
            used += (size_t)w;
            if (used >= sizeof why)
                used = sizeof why - 1;
        }
        return fresh_refuse(ch, "stale or unacceptable fresh evidence (not bound to this "
                                "nonce and channel): ",
                            why[0] ? why : "report_data mismatch");
    }
    ch->peer.claims = c;
    ch->peer.appraisal = a;
    ch->peer.fresh = 1;
    return WARD_OK;
}
