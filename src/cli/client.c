/* A small HTTPS client for wardd: libcurl, TLS 1.3, the participant's certificate installed in
 * the SSL_CTX, the server verified by Ward's attested-TLS verifier and/or pinned by its key. */
#include "cli/client.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <openssl/ssl.h>

#include "ward/encoding.h"

#define RESP_MAX ((size_t)64 << 20)

struct cli_client {
    CURL *curl;
    int port;
    char pin[96]; /* "sha256//BASE64" or "" */
    ward_channel_identity *id;
    const ward_channel_verify_cfg *verify;
    ward_err ctx_err; /* the last SSL_CTX set-up failure */
    char ctx_msg[256];
};

static CURLcode on_ssl_ctx(CURL *curl, void *sslctx, void *arg)
{
    (void)curl;
    cli_client *c = arg;
    ward_err err = WARD_OK;
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

ward_err cli_client_new(int port, const uint8_t *spki_sha256, const ward_pkey *key,
                        const ward_cert *cert, const ward_channel_verify_cfg *verify,
                        cli_client **out)
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
    if (spki_sha256 != NULL) {
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
    int n = snprintf(url, sizeof url, "https://127.0.0.1:%d%s", c->port, path);
    if (n < 0 || (size_t)n >= sizeof url)
        return ward_err_set(WARD_ERR_OVERFLOW, "client: path too long");
    sink s = {out, 0, 0};
    CURL *h = c->curl;
    struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
    if (hdr == NULL)
        return ward_err_set(WARD_ERR_NOMEM, "client: out of memory");
    c->ctx_err = WARD_OK;
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
