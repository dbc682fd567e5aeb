/* A small HTTPS client for wardd: libcurl, TLS 1.3, the participant's certificate installed in
 * the SSL_CTX, the server verified by Ward's attested-TLS verifier and/or pinned by its key. */
#include "cli/client.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <openssl/ssl.h>

#include "ward/encoding.h"

#define RESP_MAX ((size_t)64 << 20)

struct cli_client {
    CURL *curl;
    char host[256]; /* as it goes in a URL: an IPv6 address in brackets */
    int port;
    char pin[96]; /* "sha256//BASE64" or "" */
    ward_channel_identity *id;
    const ward_channel_verify_cfg *verify;
    ward_err ctx_err; /* the last SSL_CTX set-up failure */
    char ctx_msg[256];
    cli_progress_fn progress;
    void *progress_arg;
    /* What the last handshake established (kept by the info callback: libcurl frees the SSL
     * of a failed handshake before we could ask it). */
    int have_verdict;
    ward_channel_result verdict;
    uint8_t *peer_der;
    size_t peer_der_len;
};

/* ---- the handshake's outcome ---------------------------------------------------------------- */

static pthread_once_t ex_once = PTHREAD_ONCE_INIT;
static int ex_client = -1; /* SSL_CTX: cli_client * (borrowed) */

static void ex_init(void)
{
    ex_client = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

static void on_ssl_info(const SSL *ssl, int where, int ret)
{
    (void)ret;
    if (!(where & (SSL_CB_WRITE_ALERT | SSL_CB_HANDSHAKE_DONE)) || ex_client < 0)
        return;
    cli_client *c = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ex_client);
    if (c == NULL)
        return;
    const ward_channel_result *r = ward_channel_ssl_result(ssl);
    if (r != NULL) {
        c->verdict = *r;
        c->have_verdict = 1;
    }
    if (where & SSL_CB_HANDSHAKE_DONE) {
        X509 *peer = SSL_get0_peer_certificate(ssl);
        unsigned char *der = NULL;
        int n = peer != NULL ? i2d_X509(peer, &der) : -1;
        if (n > 0) {
            uint8_t *copy = malloc((size_t)n);
            if (copy != NULL) {
                memcpy(copy, der, (size_t)n);
                free(c->peer_der);
                c->peer_der = copy;
                c->peer_der_len = (size_t)n;
            }
        }
        OPENSSL_free(der);
    }
}

static CURLcode on_ssl_ctx(CURL *curl, void *sslctx, void *arg)
{
    (void)curl;
    cli_client *c = arg;
    ward_err err = WARD_OK;
    pthread_once(&ex_once, ex_init);
    if (ex_client < 0 || SSL_CTX_set_ex_data(sslctx, ex_client, c) != 1)
        err = ward_err_set(WARD_ERR_CRYPTO, "client: SSL_CTX ex_data");
    else
        SSL_CTX_set_info_callback(sslctx, on_ssl_info);
    if (c->id != NULL)
        err = ward_channel_ssl_ctx_use_identity(sslctx, c->id);
    if (err == WARD_OK && c->verify != NULL)
        err = ward_channel_ssl_ctx_install(sslctx, c->verify);
    if (err == WARD_OK && SSL_CTX_set_min_proto_version(sslctx, TLS1_3_VERSION) != 1)
        err = ward_err_set(WARD_ERR_CRYPTO, "client: cannot restrict to TLS 1.3");
    if (err != WARD_OK) {
        c->ctx_err = err;
        snprintf(c->ctx_msg, sizeof c->ctx_msg, "%s", ward_errmsg());
        return CURLE_SSL_CERTPROBLEM;
    }
    return CURLE_OK;
}

static int on_xfer(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                   curl_off_t ulnow)
{
    cli_client *c = arg;
    if (c->progress == NULL)
        return 0;
    if (ultotal > 0)
        c->progress(c->progress_arg, (uint64_t)ulnow, (uint64_t)ultotal);
    else if (dlnow > 0)
        c->progress(c->progress_arg, (uint64_t)dlnow, dltotal > 0 ? (uint64_t)dltotal : 0);
    return 0;
}

void cli_client_set_progress(cli_client *c, cli_progress_fn fn, void *arg)
{
    if (c == NULL)
        return;
    c->progress = fn;
    c->progress_arg = arg;
    curl_easy_setopt(c->curl, CURLOPT_NOPROGRESS, fn != NULL ? 0L : 1L);
}

ward_err cli_client_peer_cert(cli_client *c, ward_cert **out)
{
    if (c == NULL || out == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "client: NULL argument");
    if (c->peer_der == NULL)
        return ward_err_set(WARD_ERR_NOT_FOUND, "client: no server certificate seen yet");
    return ward_cert_from_der(c->peer_der, c->peer_der_len, out);
}

const ward_channel_result *cli_client_channel_result(cli_client *c)
{
    return c != NULL && c->have_verdict ? &c->verdict : NULL;
}

ward_err cli_client_new(const char *host, int port, const uint8_t *spki_sha256,
                        const ward_pkey *key, const ward_cert *cert,
                        const ward_channel_verify_cfg *verify, cli_client **out)
{
    if (out == NULL || port <= 0 || port > 65535 || (key == NULL) != (cert == NULL) ||
        (spki_sha256 == NULL && verify == NULL))
        return ward_err_set(WARD_ERR_INVALID_ARG, "client: bad arguments (the server must be "
                                                  "verified or pinned)");
    *out = NULL;
    cli_client *c = calloc(1, sizeof *c);
    if (c == NULL)
        return ward_err_set(WARD_ERR_NOMEM, "client: out of memory");
    c->port = port;
    c->verify = verify;
    ward_err err = WARD_OK;
    if (host == NULL)
        host = "127.0.0.1";
    int v6 = strchr(host, ':') != NULL;
    size_t hl = strlen(host);
    if (hl == 0 || hl + 3 > sizeof c->host || strpbrk(host, "/?#@[] \t\r\n") != NULL)
        err = ward_err_set(WARD_ERR_INVALID_ARG, "client: bad host '%s'", host);
    else
        snprintf(c->host, sizeof c->host, v6 ? "[%s]" : "%s", host);
    if (err == WARD_OK && spki_sha256 != NULL) {
        char *b64 = NULL;
        size_t bl = 0;
        err = ward_base64_encode(spki_sha256, WARD_SHA256_LEN, &b64, &bl);
        if (err == WARD_OK) {
            int n = snprintf(c->pin, sizeof c->pin, "sha256//%s", b64);
            if (n < 0 || (size_t)n >= sizeof c->pin)
                err = ward_err_set(WARD_ERR_OVERFLOW, "client: pin too long");
        }
        free(b64);
    }
    if (err == WARD_OK && key != NULL)
        err = ward_channel_identity_wrap(key, cert, NULL, NULL, &c->id);
    if (err == WARD_OK && (c->curl = curl_easy_init()) == NULL)
        err = ward_err_set(WARD_ERR_NOMEM, "client: curl_easy_init failed");
    if (err != WARD_OK) {
        cli_client_free(c);
        return err;
    }
    CURL *h = c->curl;
    int bad = 0;
    bad |= curl_easy_setopt(h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_3) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_SSL_CTX_FUNCTION, on_ssl_ctx) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_SSL_CTX_DATA, c) != CURLE_OK;
    /* The verifier (when set) replaces the chain check; the name is an address. */
    bad |= curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, verify != NULL ? 1L : 0L) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L) != CURLE_OK;
    if (c->pin[0] != '\0')
        bad |= curl_easy_setopt(h, CURLOPT_PINNEDPUBLICKEY, c->pin) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_TIMEOUT, 300L) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https") != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_xfer) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_XFERINFODATA, c) != CURLE_OK;
    if (bad) {
        cli_client_free(c);
        return ward_err_set(WARD_ERR_CRYPTO, "client: libcurl refused an option");
    }
    *out = c;
    return WARD_OK;
}

void cli_client_free(cli_client *c)
{
    if (c == NULL)
        return;
    if (c->curl != NULL)
        curl_easy_cleanup(c->curl);
    ward_channel_identity_free(c->id);
    free(c->peer_der);
    free(c);
}

typedef struct sink {
    cli_resp *r;
    size_t cap;
    int too_large;
} sink;

static size_t on_data(char *p, size_t sz, size_t n, void *arg)
{
    sink *s = arg;
    cli_resp *r = s->r;
    if (n != 0 && sz > SIZE_MAX / n)
        return 0;
    size_t add = sz * n;
    if (add > RESP_MAX - r->len) {
        s->too_large = 1;
        return 0;
    }
    if (r->len + add + 1 > s->cap) {
        size_t cap = s->cap != 0 ? s->cap : 4096;
        while (cap < r->len + add + 1)
            cap *= 2;
        char *nb = realloc(r->body, cap);
        if (nb == NULL)
            return 0;
        r->body = nb;
        s->cap = cap;
    }
    memcpy(r->body + r->len, p, add);
    r->len += add;
    r->body[r->len] = '\0';
    return add;
}

ward_err cli_client_request(cli_client *c, const char *method, const char *path,
                            const void *body, size_t len, cli_resp *out)
{
    if (c == NULL || method == NULL || path == NULL || out == NULL || path[0] != '/' ||
        (body == NULL && len != 0) || len > (size_t)INT64_MAX)
        return ward_err_set(WARD_ERR_INVALID_ARG, "client: bad request arguments");
    memset(out, 0, sizeof *out);
    char url[512];
    int n = snprintf(url, sizeof url, "https://%s:%d%s", c->host, c->port, path);
    if (n < 0 || (size_t)n >= sizeof url)
        return ward_err_set(WARD_ERR_OVERFLOW, "client: path too long");
    sink s = {out, 0, 0};
    CURL *h = c->curl;
    struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
    if (hdr == NULL)
        return ward_err_set(WARD_ERR_NOMEM, "client: out of memory");
    c->ctx_err = WARD_OK;
    c->have_verdict = 0; /* a verdict belongs to the handshake of this request, if any */
    int bad = 0;
    bad |= curl_easy_setopt(h, CURLOPT_URL, url) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_WRITEDATA, &s) != CURLE_OK;
    if (body != NULL || strcmp(method, "GET") != 0) {
        bad |= curl_easy_setopt(h, CURLOPT_POSTFIELDS, body != NULL ? body : "") != CURLE_OK;
        bad |= curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len) != CURLE_OK;
    } else {
        bad |= curl_easy_setopt(h, CURLOPT_HTTPGET, 1L) != CURLE_OK;
        bad |= curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method) != CURLE_OK;
    }
    ward_err err = WARD_OK;
    if (bad) {
        err = ward_err_set(WARD_ERR_CRYPTO, "client: libcurl refused an option");
    } else {
        CURLcode rc = curl_easy_perform(h);
        if (rc != CURLE_OK) {
            if (s.too_large)
                err = ward_err_set(WARD_ERR_LIMIT, "client: %s %s: response over %zu bytes",
                                   method, path, RESP_MAX);
            else if (c->ctx_err != WARD_OK)
                err = ward_err_set(c->ctx_err, "client: TLS set-up: %s", c->ctx_msg);
            else if (c->have_verdict && !c->verdict.accepted)
                err = ward_err_set(WARD_ERR_VERIFY, "the node's attested TLS certificate was "
                                                    "refused: %s", c->verdict.reason);
            else
                err = ward_err_set(WARD_ERR_IO, "client: %s %s: %s", method, path,
                                   curl_easy_strerror(rc));
        } else if (curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status) != CURLE_OK) {
            err = ward_err_set(WARD_ERR_IO, "client: no status");
        } else if (out->body == NULL && (out->body = calloc(1, 1)) == NULL) {
            err = ward_err_set(WARD_ERR_NOMEM, "client: out of memory");
        }
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, NULL);
    curl_slist_free_all(hdr);
    if (err != WARD_OK)
        cli_resp_free(out);
    return err;
}

void cli_resp_free(cli_resp *r)
{
    if (r == NULL)
        return;
    free(r->body);
    r->body = NULL;
    r->len = 0;
}
