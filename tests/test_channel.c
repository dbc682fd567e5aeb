/* Attested TLS 1.3 (include/ward/channel.h): one-way and mutual channels over socketpairs (a
 * thread per side), the attestation result readable after the handshake, freshness bound to
 * the nonce and the channel, the exporter, and every bad input refused during the handshake
 * with a readable reason: no evidence, evidence for another key, wrong measurement, a debug TA
 * under a production policy, a stale nonce, a plain CA-signed certificate, TLS 1.2, a client
 * without a certificate. Then the three real RA-TLS certificates (Gramine, rats-tls, Intel SGX
 * SDK): parsed, bound, and refused for the exact reasons. And the CBOR parser on truncations.
 *
 * What this shows honestly: the software TEE (ward-sw) is `warning` at best; the policies here
 * set accept_warning so that a ward-sw peer can be accepted at all. The RA-TLS quotes cannot be
 * fully verified: the shared collateral is for another FMSPC, which is one of the refusal
 * reasons checked.
 *
 * Modes for the shell test (tests/sh_channel_interop.sh):
 *   test_channel --serve DIR    one-way server on 127.0.0.1, ephemeral port; writes DIR/port,
 *                               DIR/platform.pem; answers each connection with an HTTP reply
 *   test_channel --extract CERT.pem OUT.json   writes the Ward evidence bundle in the cert */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "testutil.h"
#include "ward/channel.h"
#include "ward/crypto.h"
#include "ward/evidence.h"
#include "ward/policy.h"
#include "ward/report.h"
#include "ward/rot.h"
#include "ward/x509.h"

#define OK(expr)                                                                               \
    do {                                                                                       \
        ward_err e_ = (expr);                                                                  \
        if (e_ != WARD_OK)                                                                     \
            fail_msg("%s: %s (%s)", #expr, ward_err_name(e_), ward_errmsg());                  \
    } while (0)

static void contains(const char *hay, const char *needle)
{
    if (strstr(hay, needle) == NULL)
        fail_msg("expected '%s' in: %s", needle, hay);
}

/* ---- fixture -------------------------------------------------------------------------------- */

typedef struct fx {
    char *dir;
    ward_rot *rot;
    uint8_t fp[WARD_SHA256_LEN];
    ward_evidence_trust trust;
    ward_policy *pol;       /* ward-sw, accept_warning */
    ward_channel_verify_cfg vcfg;
    ward_channel_node_source node;
    ward_channel_identity *server_id, *client_id;
} fx;

static fx *F;

static ward_policy *policy(const char *json)
{
    ward_policy *p = NULL;
    OK(ward_policy_parse(json, strlen(json), &p));
    return p;
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->dir = tu_mkdtemp();
    OK(ward_rot_open(f->dir, 1, &f->rot));
    OK(ward_cert_fingerprint(ward_rot_platform_cert(f->rot), f->fp));
    f->trust.pinned = &f->fp;
    f->trust.n_pinned = 1;
    f->pol = policy("{\"version\":1,\"tee\":[\"ward-sw\"],\"accept_warning\":true}");
    f->vcfg.policy = f->pol;
    f->vcfg.trust = &f->trust;
    f->node.rot = f->rot;
    ward_channel_identity_spec s = {.common_name = "server", .evidence = ward_channel_node_evidence,
                                    .evidence_ctx = &f->node};
    OK(ward_channel_identity_new(&s, &f->server_id));
    s.common_name = "client";
    OK(ward_channel_identity_new(&s, &f->client_id));
    F = f;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    ward_channel_identity_free(f->server_id);
    ward_channel_identity_free(f->client_id);
    ward_policy_free(f->pol);
    ward_rot_close(f->rot);
    tu_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

/* ---- the two sides -------------------------------------------------------------------------- */

enum { SRV_ECHO = 0, SRV_RECORD, SRV_REPLAY };

typedef struct srv {
    ward_channel_ctx *ctx;
    int fd;
    int mode;
    ward_err err;
    char msg[2048];
    int has_peer;
    ward_channel_result peer;
    uint8_t exported[32];
    char *json; /* RECORD: the evidence sent; REPLAY: the evidence to send */
    size_t json_len;
} srv;

static void *srv_main(void *arg)
{
    srv *s = arg;
    ward_channel *ch = NULL;
    s->err = ward_channel_accept(s->ctx, s->fd, &ch);
    if (s->err != WARD_OK) {
        snprintf(s->msg, sizeof s->msg, "%s", ward_errmsg());
        return NULL;
    }
    const ward_channel_result *p = ward_channel_peer(ch);
    if (p != NULL) {
        s->has_peer = 1;
        s->peer = *p;
    }
    if (s->mode == SRV_RECORD || s->mode == SRV_REPLAY) {
        uint8_t nonce[WARD_CHANNEL_FRESH_NONCE_LEN], rd[64];
        s->err = ward_channel_fresh_recv_nonce(ch, nonce);
        if (s->err == WARD_OK && s->mode == SRV_RECORD) {
            s->err = ward_channel_fresh_report_data(ch, nonce, rd);
            if (s->err == WARD_OK)
                s->err = ward_channel_identity_evidence(F->server_id, rd, &s->json, &s->json_len);
        }
        if (s->err == WARD_OK)
            s->err = ward_channel_fresh_send_evidence(ch, s->json, s->json_len);
    }
    (void)ward_channel_export_key(ch, "EXPORTER-test", NULL, 0, s->exported, 32);
    uint8_t buf[4];
    if (s->err == WARD_OK && ward_channel_read_exact(ch, buf, 4) == WARD_OK)
        (void)ward_channel_write(ch, buf, 4);
    else if (s->err == WARD_OK)
        snprintf(s->msg, sizeof s->msg, "%s", ward_errmsg());
    (void)ward_channel_shutdown(ch);
    ward_channel_free(ch);
    return NULL;
}

typedef struct run {
    srv s;
    ward_err cerr;
    char cmsg[2048];
    ward_channel_result cpeer;
    int chas_peer;
    uint8_t exported[32];
    ward_err echo_err;
} run;

/* One connection: server ctx sctx (mode), client ctx cctx. */
static void connect_pair(ward_channel_ctx *sctx, ward_channel_ctx *cctx, int mode, run *r)
{
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    char *replay = r->s.json;
    size_t replay_len = r->s.json_len;
    memset(r, 0, sizeof *r);
    r->s.ctx = sctx;
    r->s.fd = sv[0];
    r->s.mode = mode;
    r->s.json = replay;
    r->s.json_len = replay_len;
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, srv_main, &r->s), 0);
    ward_channel *ch = NULL;
    r->cerr = ward_channel_connect(cctx, sv[1], &ch);
    if (r->cerr != WARD_OK) {
        snprintf(r->cmsg, sizeof r->cmsg, "%s", ward_errmsg());
    } else {
        const ward_channel_result *p = ward_channel_peer(ch);
        if (p != NULL) {
            r->chas_peer = 1;
            r->cpeer = *p;
        }
        OK(ward_channel_export_key(ch, "EXPORTER-test", NULL, 0, r->exported, 32));
        uint8_t buf[4] = {'p', 'i', 'n', 'g'};
        r->echo_err = ward_channel_write(ch, buf, 4);
        if (r->echo_err == WARD_OK)
            r->echo_err = ward_channel_read_exact(ch, buf, 4);
        if (r->echo_err != WARD_OK)
            snprintf(r->cmsg, sizeof r->cmsg, "%s", ward_errmsg());
        else
            assert_memory_equal(buf, "ping", 4);
        ward_channel_free(ch);
    }
    close(sv[1]);
    pthread_join(t, NULL);
    close(sv[0]);
}

static ward_channel_ctx *server_ctx(ward_channel_identity *id, const ward_channel_verify_cfg *peer,
                                    int fresh)
{
    ward_channel_config c = {.identity = id, .verify = peer, .fresh = fresh};
    ward_channel_ctx *ctx = NULL;
    OK(ward_channel_ctx_new_server(&c, &ctx));
    return ctx;
}

static ward_channel_ctx *client_ctx(const ward_channel_verify_cfg *v, ward_channel_identity *id,
                                    int fresh)
{
    ward_channel_config c = {.identity = id, .verify = v, .fresh = fresh};
    ward_channel_ctx *ctx = NULL;
    OK(ward_channel_ctx_new_client(&c, &ctx));
    return ctx;
}

/* ---- good paths ----------------------------------------------------------------------------- */

static void test_oneway(void **state)
{
    fx *f = *state;
    ward_channel_ctx *s = server_ctx(f->server_id, NULL, 0), *c = client_ctx(&f->vcfg, NULL, 0);
    run r = {0};
    connect_pair(s, c, SRV_ECHO, &r);
    if (r.cerr != WARD_OK || r.s.err != WARD_OK || r.echo_err != WARD_OK)
        fail_msg("client: %s / server: %s", r.cmsg, r.s.msg);
    assert_true(r.chas_peer);
    assert_true(r.cpeer.accepted);
    assert_int_equal(r.cpeer.tag, WARD_CHANNEL_TAG_WARD);
    assert_true(r.cpeer.key_bound);
    assert_int_equal(r.cpeer.claims.kind, WARD_TEE_KIND_WARD_SW);
    /* Never more than the platform gives: the software TEE is a warning. */
    assert_int_equal(r.cpeer.appraisal.status, WARD_EAR_WARNING);
    assert_false(r.s.has_peer); /* one-way: the server knows nothing about the client */
    uint8_t spki[32];
    OK(ward_cert_spki_sha256(ward_channel_identity_cert(f->server_id), spki));
    assert_memory_equal(r.cpeer.spki_sha256, spki, 32);
    assert_memory_equal(r.cpeer.claims.report_data, spki, 32);
    /* Exporter: same on both sides. */
    assert_memory_equal(r.exported, r.s.exported, 32);
    uint8_t first[32];
    memcpy(first, r.exported, 32);
    /* Second connection: served from the cache of verified evidence, still appraised. */
    connect_pair(s, c, SRV_ECHO, &r);
    assert_int_equal(r.cerr, WARD_OK);
    assert_true(r.cpeer.from_cache);
    assert_true(r.cpeer.accepted);
    assert_memory_not_equal(first, r.exported, 32); /* per-channel key */
    ward_channel_ctx_free(s);
    ward_channel_ctx_free(c);
}

static void test_mutual(void **state)
{
    fx *f = *state;
    ward_channel_ctx *s = server_ctx(f->server_id, &f->vcfg, 0);
    ward_channel_ctx *c = client_ctx(&f->vcfg, f->client_id, 0);
    run r = {0};
    connect_pair(s, c, SRV_ECHO, &r);
    if (r.cerr != WARD_OK || r.s.err != WARD_OK || r.echo_err != WARD_OK)
        fail_msg("client: %s / server: %s", r.cmsg, r.s.msg);
    assert_true(r.chas_peer && r.cpeer.accepted);
    assert_true(r.s.has_peer && r.s.peer.accepted);
    uint8_t spki[32];
    OK(ward_cert_spki_sha256(ward_channel_identity_cert(f->client_id), spki));
    assert_memory_equal(r.s.peer.spki_sha256, spki, 32);
    assert_memory_equal(r.exported, r.s.exported, 32);
    ward_channel_ctx_free(s);
    ward_channel_ctx_free(c);
}

static void test_fresh(void **state)
{
    fx *f = *state;
    ward_channel_ctx *s = server_ctx(f->server_id, NULL, 1), *c = client_ctx(&f->vcfg, NULL, 1);
    run r = {0};
    connect_pair(s, c, SRV_ECHO, &r);
    if (r.cerr != WARD_OK || r.s.err != WARD_OK || r.echo_err != WARD_OK)
        fail_msg("client: %s / server: %s", r.cmsg, r.s.msg);
    assert_true(r.cpeer.fresh);
    assert_true(r.cpeer.accepted);
    ward_channel_ctx_free(s);
    ward_channel_ctx_free(c);
}

/* ---- bad input ------------------------------------------------------------------------------ */

/* A client verifying a server that presents identity id: refused, with needle in the reason. */
static void expect_server_refused(ward_channel_identity *id, const ward_channel_verify_cfg *v,
                                  const char *needle)
{
    ward_channel_ctx *s = server_ctx(id, NULL, 0), *c = client_ctx(v, NULL, 0);
    run r = {0};
    connect_pair(s, c, SRV_ECHO, &r);
    assert_int_equal(r.cerr, WARD_ERR_VERIFY);
    contains(r.cmsg, "peer attestation refused");
    contains(r.cmsg, needle);
    assert_int_not_equal(r.s.err, WARD_OK); /* the server saw the handshake fail too */
    ward_channel_ctx_free(s);
    ward_channel_ctx_free(c);
}

static ward_channel_identity *plain_identity(const ward_cert *issuer, const ward_pkey *issuer_key,
                                             const ward_cert_ext *ext)
{
    ward_pkey *k = NULL;
    ward_cert *cert = NULL;
    OK(ward_pkey_generate(WARD_KEY_EC_P256, &k));
    int64_t now = (int64_t)time(NULL);
    ward_cert_spec s = {.common_name = "plain", .not_before = now - 60, .not_after = now + 3600,
                        .path_len = -1, .server_auth = 1, .client_auth = 1,
                        .extensions = ext, .n_extensions = ext != NULL};
    OK(ward_cert_create(&s, k, issuer, issuer ? issuer_key : k, &cert));
    ward_channel_identity *id = NULL;
    OK(ward_channel_identity_wrap(k, cert, NULL, NULL, &id));
    ward_pkey_free(k);
    ward_cert_free(cert);
    return id;
}

static void test_bad_no_evidence(void **state)
{
    fx *f = *state;
    ward_channel_identity *id = plain_identity(NULL, NULL, NULL);
    expect_server_refused(id, &f->vcfg, "no attestation evidence");
    ward_channel_identity_free(id);
}

static void test_bad_ca_signed(void **state)
{
    fx *f = *state;
    ward_pkey *ca_key = NULL;
    ward_cert *ca = NULL;
    OK(ward_pkey_generate(WARD_KEY_EC_P256, &ca_key));
    int64_t now = (int64_t)time(NULL);
    ward_cert_spec s = {.common_name = "Test CA", .not_before = now - 60,
                        .not_after = now + 3600, .is_ca = 1, .path_len = 0};
    OK(ward_cert_create(&s, ca_key, NULL, ca_key, &ca));
    ward_channel_identity *id = plain_identity(ca, ca_key, NULL);
    expect_server_refused(id, &f->vcfg, "no attestation evidence");
    /* Mutual: a client presenting it is refused by the server during the handshake. */
    ward_channel_ctx *sc = server_ctx(f->server_id, &f->vcfg, 0), *cc = client_ctx(&f->vcfg, id, 0);
    run r = {0};
    connect_pair(sc, cc, SRV_ECHO, &r);
    assert_int_equal(r.s.err, WARD_ERR_VERIFY);
    contains(r.s.msg, "no attestation evidence");
    /* TLS 1.3: the client's handshake ends first; it learns of the refusal on its first read. */
    assert_true(r.cerr != WARD_OK || r.echo_err != WARD_OK);
    ward_channel_ctx_free(sc);
    ward_channel_ctx_free(cc);
    ward_channel_identity_free(id);
    ward_cert_free(ca);
    ward_pkey_free(ca_key);
}

static void test_bad_other_key(void **state)
{
    fx *f = *state;
    uint8_t *ext = NULL;
    size_t len = 0;
    OK(ward_cert_extension(ward_channel_identity_cert(f->server_id), WARD_CHANNEL_EVIDENCE_OID,
                           &ext, &len, NULL));
    ward_cert_ext e = {.oid = WARD_CHANNEL_EVIDENCE_OID, .value = ext, .len = len};
    ward_channel_identity *id = plain_identity(NULL, NULL, &e);
    expect_server_refused(id, &f->vcfg, "evidence for another key");
    ward_channel_identity_free(id);
    free(ext);
}

static void test_bad_measurement(void **state)
{
    fx *f = *state;
    ward_policy *p = policy("{\"version\":1,\"tee\":[\"ward-sw\"],\"accept_warning\":true,"
                            "\"reference\":{\"ward-sw\":{\"measurement\":[\"0000000000000000"
                            "000000000000000000000000000000000000000000000000\"]}}}");
    ward_channel_verify_cfg v = {.policy = p, .trust = &f->trust};
    expect_server_refused(f->server_id, &v, "contraindicated");
    expect_server_refused(f->server_id, &v, "measurement");
    ward_policy_free(p);
}

static ward_err debug_ta_evidence(void *ctx, const uint8_t rd[64], char **json, size_t *len)
{
    fx *f = ctx;
    ward_report r;
    memset(&r, 0, sizeof r);
    r.version = WARD_REPORT_VERSION;
    r.platform = WARD_PLATFORM_SW_SANDBOX;
    r.attributes = WARD_ATTR_DEBUG;
    memset(r.measurement, 0x11, 32);
    memset(r.signer, 0x22, 32);
    r.product_id = 1;
    r.svn = 1;
    memcpy(r.report_data, rd, 64);
    ward_rot_platform_key_id(f->rot, r.platform_key_id);
    uint8_t rep[WARD_REPORT_LEN], sig[WARD_REPORT_SIG_LEN];
    ward_err err = ward_report_encode(&r, rep);
    if (err == WARD_OK)
        err = ward_rot_sign(f->rot, rep, sizeof rep, sig);
    if (err == WARD_OK)
        err = ward_evidence_make_with_hw(f->rot, rep, sizeof rep, sig, NULL, json, len);
    return err;
}

static void test_bad_debug_ta(void **state)
{
    fx *f = *state;
    ward_channel_identity_spec s = {.common_name = "debug-ta", .evidence = debug_ta_evidence,
                                    .evidence_ctx = f};
    ward_channel_identity *id = NULL;
    OK(ward_channel_identity_new(&s, &id));
    ward_policy *prod = policy("{\"version\":1,\"tee\":[\"ward-sw\"],\"accept_warning\":true,"
                               "\"debug_allowed\":false}");
    ward_channel_verify_cfg v = {.policy = prod, .trust = &f->trust};
    expect_server_refused(id, &v, "debug");
    ward_policy_free(prod);
    ward_channel_identity_free(id);
}

static void test_bad_stale_nonce(void **state)
{
    fx *f = *state;
    ward_channel_ctx *s = server_ctx(f->server_id, NULL, 0), *c = client_ctx(&f->vcfg, NULL, 1);
    run r = {0};
    connect_pair(s, c, SRV_RECORD, &r); /* an honest exchange, evidence recorded */
    if (r.cerr != WARD_OK)
        fail_msg("first channel: %s / %s", r.cmsg, r.s.msg);
    assert_true(r.cpeer.fresh);
    assert_non_null(r.s.json);
    char *old = r.s.json;
    connect_pair(s, c, SRV_REPLAY, &r); /* the same evidence replayed on a new channel */
    assert_int_equal(r.cerr, WARD_ERR_VERIFY);
    contains(r.cmsg, "stale");
    contains(r.cmsg, "nonce");
    free(old);
    ward_channel_ctx_free(s);
    ward_channel_ctx_free(c);
}

static void test_bad_tls12(void **state)
{
    fx *f = *state;
    ward_channel_ctx *s = server_ctx(f->server_id, NULL, 0);
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    srv sr;
    memset(&sr, 0, sizeof sr);
    sr.ctx = s;
    sr.fd = sv[0];
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, srv_main, &sr), 0);
    SSL_CTX *cc = SSL_CTX_new(TLS_client_method());
    assert_non_null(cc);
    assert_int_equal(SSL_CTX_set_max_proto_version(cc, TLS1_2_VERSION), 1);
    SSL_CTX_set_verify(cc, SSL_VERIFY_NONE, NULL);
    SSL *ssl = SSL_new(cc);
    SSL_set_fd(ssl, sv[1]);
    assert_int_not_equal(SSL_connect(ssl), 1);
    ERR_clear_error();
    SSL_free(ssl);
    SSL_CTX_free(cc);
    close(sv[1]);
    pthread_join(t, NULL);
    close(sv[0]);
    assert_int_equal(sr.err, WARD_ERR_VERIFY);
    contains(sr.msg, "unsupported protocol");
    /* And our own client refuses to go below 1.3 as well. */
    ward_channel_ctx *c = client_ctx(&f->vcfg, NULL, 0);
    assert_int_equal(SSL_CTX_get_min_proto_version(ward_channel_ctx_ssl_ctx(c)), TLS1_3_VERSION);
    assert_int_equal(SSL_CTX_get_max_proto_version(ward_channel_ctx_ssl_ctx(c)), TLS1_3_VERSION);
    ward_channel_ctx_free(c);
    ward_channel_ctx_free(s);
}

static void test_bad_mutual_no_client_cert(void **state)
{
    fx *f = *state;
    ward_channel_ctx *s = server_ctx(f->server_id, &f->vcfg, 0), *c = client_ctx(&f->vcfg, NULL, 0);
    run r = {0};
    connect_pair(s, c, SRV_ECHO, &r);
    assert_int_equal(r.s.err, WARD_ERR_VERIFY);
    contains(r.s.msg, "certificate");
    assert_true(r.cerr != WARD_OK || r.echo_err != WARD_OK);
    ward_channel_ctx_free(s);
    ward_channel_ctx_free(c);
}

/* ---- libcurl as a client (CURLOPT_SSL_CTX_FUNCTION) ----------------------------------------- */

static int listen_local(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, 8), 0);
    socklen_t l = sizeof a;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &l), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

static void serve_http(ward_channel_ctx *ctx, int cfd)
{
    ward_channel *ch = NULL;
    if (ward_channel_accept(ctx, cfd, &ch) != WARD_OK)
        return;
    char req[2048];
    size_t used = 0;
    while (used < sizeof req - 1) {
        size_t got = 0;
        if (ward_channel_read(ch, req + used, sizeof req - 1 - used, &got) != WARD_OK ||
            got == 0)
            break;
        used += got;
        req[used] = '\0';
        if (strstr(req, "\r\n\r\n") != NULL)
            break;
    }
    static const char resp[] = "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n"
                               "Content-Length: 16\r\nConnection: close\r\n\r\nhello from ward\n";
    (void)ward_channel_write(ch, resp, sizeof resp - 1);
    (void)ward_channel_shutdown(ch);
    ward_channel_free(ch);
}

typedef struct http_srv {
    ward_channel_ctx *ctx;
    int lfd;
} http_srv;

static void *http_once(void *arg)
{
    http_srv *h = arg;
    int cfd = accept(h->lfd, NULL, NULL);
    if (cfd >= 0) {
        serve_http(h->ctx, cfd);
        close(cfd);
    }
    return NULL;
}

static CURLcode curl_ctx_cb(CURL *curl, void *sslctx, void *arg)
{
    (void)curl;
    return ward_channel_ssl_ctx_install(sslctx, arg) == WARD_OK ? CURLE_OK
                                                                : CURLE_SSL_CERTPROBLEM;
}

static size_t curl_sink(char *p, size_t sz, size_t n, void *arg)
{
    char *out = arg;
    size_t have = strlen(out), add = sz * n;
    if (have + add < 256) {
        memcpy(out + have, p, add);
        out[have + add] = '\0';
    }
    return add;
}

static CURLcode curl_get(int port, const ward_channel_verify_cfg *v, char *body, SSL **seen)
{
    (void)seen;
    char url[64];
    snprintf(url, sizeof url, "https://127.0.0.1:%d/", port);
    CURL *c = curl_easy_init();
    assert_non_null(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_SSL_CTX_FUNCTION, curl_ctx_cb);
    curl_easy_setopt(c, CURLOPT_SSL_CTX_DATA, (void *)(uintptr_t)v);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    curl_easy_setopt(c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_3);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, curl_sink);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    CURLcode rc = curl_easy_perform(c);
    curl_easy_cleanup(c);
    return rc;
}

static void test_libcurl(void **state)
{
    fx *f = *state;
    ward_channel_ctx *s = server_ctx(f->server_id, NULL, 0);
    int port = 0;
    http_srv h = {.ctx = s, .lfd = listen_local(&port)};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, http_once, &h), 0);
    char body[256] = "";
    CURLcode rc = curl_get(port, &f->vcfg, body, NULL);
    pthread_join(t, NULL);
    if (rc != CURLE_OK)
        fail_msg("curl: %s", curl_easy_strerror(rc));
    assert_string_equal(body, "hello from ward\n");
    /* A policy that refuses the server makes curl fail in the handshake. */
    ward_policy *strict = policy("{\"version\":1,\"tee\":[\"ward-sw\"]}"); /* no warning */
    ward_channel_verify_cfg v = {.policy = strict, .trust = &f->trust};
    assert_int_equal(pthread_create(&t, NULL, http_once, &h), 0);
    body[0] = '\0';
    rc = curl_get(port, &v, body, NULL);
    pthread_join(t, NULL);
    assert_int_not_equal(rc, CURLE_OK);
    assert_string_equal(body, "");
    ward_policy_free(strict);
    close(h.lfd);
    ward_channel_ctx_free(s);
}

/* ---- the real RA-TLS certificates ----------------------------------------------------------- */

static ward_cert *load_cert(const char *rel)
{
    size_t len = 0;
    uint8_t *pem = tu_read_file(tu_vector_path(rel), &len);
    ward_cert *c = NULL;
    OK(ward_cert_from_pem((const char *)pem, len, &c));
    free(pem);
    return c;
}

typedef struct ratls_case {
    const char *file;
    const char *spki_hex;
    const char *mrenclave_hex;
    int64_t inside; /* a time inside the validity */
} ratls_case;

static const ratls_case RATLS[] = {
    {"ratls/gramine-cert.pem",
     "5a5a5b2d177433048e9d62409d1acc4ec526c06e294d09e69a36cff9369e4851",
     "0866e7ca11b9f4efe4bf39b2607f4e1299f111920d96d95719080f01b62b7585", 1752919277},
    {"ratls/rats-tls-cert.pem",
     "72c0b70c2092741a4cfda0c2465487faf132998617b0aad53118aa5d6e180006",
     "38e1b40b8c68186f359c97ecb6a89965d9d8638f2df06fbe18e84d79a266c041", 1680000000},
    {"ratls/intel-sgxsdk-cert.pem",
     "f306ed602985371e3b485102db1fcdd4f4738329ce58b2f8d1c5d2cc79752026",
     "09e218a4be9dadbf7cdc82c45497d6d4f676d3b75445fc37a376f0b65b47de6a", 1752919277},
};

static void test_ratls_vectors(void **state)
{
    (void)state;
    /* The shared SGX collateral (another platform's FMSPC): loaded at the quote's time. */
    ward_dcap_collateral *col = NULL;
    OK(ward_dcap_collateral_load_dir(tu_vector_path("sgx"), "phala_sgx_", NULL,
                                     INT64_C(1752919277), &col));
    const ward_dcap_collateral *cols[1] = {col};
    ward_evidence_trust tr = {.dcap = cols, .n_dcap = 1};
    ward_policy *prod = policy("{\"version\":1,\"tee\":[\"sgx\"],\"debug_allowed\":false}");
    ward_policy *dbg = policy("{\"version\":1,\"tee\":[\"sgx\"],\"debug_allowed\":true,"
                              "\"accept_warning\":true}");
    for (size_t i = 0; i < sizeof RATLS / sizeof RATLS[0]; i++) {
        ward_cert *c = load_cert(RATLS[i].file);
        size_t hl = 0;
        uint8_t *spki = tu_unhex(RATLS[i].spki_hex, &hl), *mr = tu_unhex(RATLS[i].mrenclave_hex, &hl);
        ward_channel_verify_cfg v = {.policy = prod, .trust = &tr, .at = RATLS[i].inside};
        ward_channel_result r;
        assert_int_equal(ward_channel_verify_cert(c, &v, &r), WARD_ERR_VERIFY);
        print_message("%s: %s\n", RATLS[i].file, r.reason);
        assert_false(r.accepted);
        assert_true(r.has_evidence);
        assert_int_equal(r.tag, WARD_CHANNEL_TAG_INTEL_QUOTE);
        assert_memory_equal(r.spki_sha256, spki, 32);
        assert_true(r.key_bound); /* pubkey-hash = SHA-256(SPKI), REPORTDATA = SHA-256(claims) */
        assert_int_equal(r.claims.kind, WARD_TEE_KIND_SGX);
        assert_memory_equal(r.claims.measurement, mr, 32);
        assert_int_equal(r.claims.debug, 1);
        assert_false(r.evidence_verified); /* the collateral is for another platform */
        contains(r.reason, "quote not verified");
        contains(r.reason, "debug");
        /* Without collateral: that is the reason named. */
        ward_channel_verify_cfg v0 = {.policy = prod, .at = RATLS[i].inside};
        assert_int_equal(ward_channel_verify_cert(c, &v0, &r), WARD_ERR_VERIFY);
        contains(r.reason, "no DCAP collateral");
        /* A debug-allowing policy still sees the binding, still refuses the unverified quote. */
        ward_channel_verify_cfg vd = {.policy = dbg, .trust = &tr, .at = RATLS[i].inside};
        assert_int_equal(ward_channel_verify_cert(c, &vd, &r), WARD_ERR_VERIFY);
        assert_true(r.key_bound);
        /* Now: rats-tls has expired. */
        ward_channel_verify_cfg vn = {.policy = prod, .trust = &tr};
        assert_int_equal(ward_channel_verify_cert(c, &vn, &r), WARD_ERR_VERIFY);
        if (i == 1)
            contains(r.reason, "certificate expired");
        else
            assert_null(strstr(r.reason, "certificate expired"));
        free(spki);
        free(mr);
        ward_cert_free(c);
    }
    ward_policy_free(prod);
    ward_policy_free(dbg);
    ward_dcap_collateral_free(col);
}

/* ---- the CBOR parser ------------------------------------------------------------------------ */

static void test_cbor(void **state)
{
    (void)state;
    uint8_t h[32], ev[300];
    memset(h, 0xab, sizeof h);
    memset(ev, 'e', sizeof ev);
    uint8_t *enc = NULL;
    size_t len = 0;
    OK(ward_channel_tagged_encode(WARD_CHANNEL_TAG_WARD, ev, sizeof ev, h, &enc, &len));
    ward_channel_tagged t;
    OK(ward_channel_tagged_parse(enc, len, &t));
    assert_int_equal(t.tag, WARD_CHANNEL_TAG_WARD);
    assert_int_equal(t.evidence_len, sizeof ev);
    assert_true(t.has_pubkey_hash);
    assert_int_equal(t.hash_alg, 1);
    assert_memory_equal(t.pubkey_hash, h, 32);
    for (size_t n = 0; n < len; n++)
        assert_int_not_equal(ward_channel_tagged_parse(enc, n, &t), WARD_OK);
    uint8_t *more = malloc(len + 1);
    memcpy(more, enc, len);
    more[len] = 0;
    assert_int_equal(ward_channel_tagged_parse(more, len + 1, &t), WARD_ERR_FORMAT);
    /* The real extensions parse, with the claims the sources describe. */
    for (size_t i = 0; i < sizeof RATLS / sizeof RATLS[0]; i++) {
        ward_cert *c = load_cert(RATLS[i].file);
        uint8_t *ext = NULL;
        size_t el = 0;
        int crit = 1;
        OK(ward_cert_extension(c, WARD_CHANNEL_EVIDENCE_OID, &ext, &el, &crit));
        assert_int_equal(crit, 0);
        OK(ward_channel_tagged_parse(ext, el, &t));
        assert_int_equal(t.tag, WARD_CHANNEL_TAG_INTEL_QUOTE);
        assert_true(t.has_pubkey_hash);
        free(ext);
        ward_cert_free(c);
    }
    free(more);
    free(enc);
}

/* ---- modes for the shell test --------------------------------------------------------------- */

static int write_file(const char *path, const void *data, size_t len)
{
    FILE *fp = fopen(path, "wb");
    if (fp == NULL)
        return -1;
    int ok = fwrite(data, 1, len, fp) == len;
    return fclose(fp) == 0 && ok ? 0 : -1;
}

static int serve_main(const char *dir)
{
    ward_rot *rot = NULL;
    char path[4096];
    snprintf(path, sizeof path, "%s/node", dir);
    if (ward_rot_open(path, 1, &rot) != WARD_OK)
        return fprintf(stderr, "rot: %s\n", ward_errmsg()), 1;
    char *pem = NULL;
    size_t pem_len = 0;
    if (ward_cert_to_pem(ward_rot_platform_cert(rot), &pem, &pem_len) != WARD_OK)
        return 1;
    snprintf(path, sizeof path, "%s/platform.pem", dir);
    if (write_file(path, pem, pem_len) != 0)
        return 1;
    free(pem);
    ward_channel_node_source node = {.rot = rot};
    const char *names[] = {"localhost"};
    ward_channel_identity_spec s = {.common_name = "ward-interop", .dns_names = names,
                                    .n_dns_names = 1, .evidence = ward_channel_node_evidence,
                                    .evidence_ctx = &node};
    ward_channel_identity *id = NULL;
    ward_channel_config cfg = {0};
    ward_channel_ctx *ctx = NULL;
    if (ward_channel_identity_new(&s, &id) != WARD_OK)
        return fprintf(stderr, "identity: %s\n", ward_errmsg()), 1;
    cfg.identity = id;
    if (ward_channel_ctx_new_server(&cfg, &ctx) != WARD_OK)
        return fprintf(stderr, "ctx: %s\n", ward_errmsg()), 1;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t l = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 16) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &l) != 0)
        return perror("listen"), 1;
    char port[16];
    int pl = snprintf(port, sizeof port, "%d\n", ntohs(a.sin_port));
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s/port.tmp", dir);
    snprintf(path, sizeof path, "%s/port", dir);
    if (write_file(tmp, port, (size_t)pl) != 0 || rename(tmp, path) != 0)
        return 1;
    signal(SIGPIPE, SIG_IGN);
    for (;;) { /* until the test kills it */
        int cfd = accept(fd, NULL, NULL);
        if (cfd < 0)
            continue;
        serve_http(ctx, cfd);
        close(cfd);
    }
}

static int extract_main(const char *cert_path, const char *out)
{
    size_t len = 0;
    FILE *fp = fopen(cert_path, "rb");
    if (fp == NULL)
        return perror(cert_path), 1;
    static char buf[1 << 20];
    len = fread(buf, 1, sizeof buf, fp);
    fclose(fp);
    ward_cert *c = NULL;
    uint8_t *ext = NULL;
    size_t el = 0;
    ward_channel_tagged t;
    if (ward_cert_from_pem(buf, len, &c) != WARD_OK ||
        ward_cert_extension(c, WARD_CHANNEL_EVIDENCE_OID, &ext, &el, NULL) != WARD_OK ||
        ward_channel_tagged_parse(ext, el, &t) != WARD_OK)
        return fprintf(stderr, "extract: %s\n", ward_errmsg()), 1;
    if (t.tag != WARD_CHANNEL_TAG_WARD)
        return fprintf(stderr, "extract: tag %llu is not Ward's\n", (unsigned long long)t.tag), 1;
    int rc = write_file(out, t.evidence, t.evidence_len) == 0 ? 0 : 1;
    free(ext);
    ward_cert_free(c);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--serve") == 0)
        return serve_main(argv[2]);
    if (argc == 4 && strcmp(argv[1], "--extract") == 0)
        return extract_main(argv[2], argv[3]);
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_oneway),
        cmocka_unit_test(test_mutual),
        cmocka_unit_test(test_fresh),
        cmocka_unit_test(test_bad_no_evidence),
        cmocka_unit_test(test_bad_ca_signed),
        cmocka_unit_test(test_bad_other_key),
        cmocka_unit_test(test_bad_measurement),
        cmocka_unit_test(test_bad_debug_ta),
        cmocka_unit_test(test_bad_stale_nonce),
        cmocka_unit_test(test_bad_tls12),
        cmocka_unit_test(test_bad_mutual_no_client_cert),
        cmocka_unit_test(test_libcurl),
        cmocka_unit_test(test_ratls_vectors),
        cmocka_unit_test(test_cbor),
    };
    int rc = cmocka_run_group_tests(tests, setup, teardown);
    curl_global_cleanup();
    return rc;
}
