/* Attested TLS 1.3 (channel.h) against plain TLS 1.3, measured in the same run.
 *
 * tls.handshake.oneway: a one-way attested handshake (ward_channel_connect/accept over a
 *   socketpair, server thread) INCLUDING the full verification of the server's evidence on
 *   every handshake (WARD_CHANNEL_NO_CACHE: JSON bundle parse, TA report signature, pinned
 *   platform certificate, key binding, appraisal). Baseline: a plain TLS 1.3 handshake with an
 *   ECDSA P-256 self-signed certificate that the client verifies against it as trust anchor.
 *   Both sides send no session tickets. Target <= 1.5.
 * tls.handshake.mutual: the same with client certificates on both sides. Target <= 2.0.
 * tls.bulk: throughput of 64 MiB server -> client in 16 KiB writes over the attested channel
 *   vs the plain connection (same cipher suite negotiated). Target >= 0.9.
 * The readable lines also give the handshake with the cache of verified evidence (the steady
 * state of a client reconnecting to the same server).
 *
 * Usage: bench_channel [FILTER] | --list */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "ward/channel.h"
#include "ward/crypto.h"
#include "ward/policy.h"
#include "ward/rot.h"
#include "ward/x509.h"

#define HS_N 200
#define REPS 5
#define BULK_BYTES ((size_t)64 << 20)
#define CHUNK 16384

static void die(const char *what)
{
    fprintf(stderr, "bench_channel: %s failed: %s\n", what, ward_errmsg());
    exit(1);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void emit(const char *name, double value, const char *unit, double baseline,
                 const char *target, const char *what)
{
    double ratio = baseline > 0 ? value / baseline : 0;
    printf("{\"bench\": \"%s\", \"value\": %.3f, \"unit\": \"%s\", \"baseline\": %.3f, "
           "\"ratio\": %.4f, \"target\": \"%s\"}\n",
           name, value, unit, baseline, ratio, target);
    fflush(stdout);
    fprintf(stderr, "%-22s %10.2f %-4s baseline %10.2f %-4s (%s)  ratio %.3f  target %s\n", name,
            value, unit, baseline, unit, what, ratio, target);
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_d);
    return v[n / 2];
}

/* ---- the two kinds of connection ------------------------------------------------------------ */

typedef struct plain {
    SSL_CTX *srv, *cli;
} plain;

typedef struct attested {
    ward_channel_ctx *srv, *cli;
} attested;

typedef struct job {
    int kind; /* 0 plain, 1 attested */
    plain *p;
    attested *a;
    int fd;
    size_t bulk; /* bytes to send after the handshake (0: one byte) */
} job;

static uint8_t payload[CHUNK];

static void *server(void *arg)
{
    job *j = arg;
    if (j->kind == 0) {
        SSL *s = SSL_new(j->p->srv);
        SSL_set_fd(s, j->fd);
        if (SSL_accept(s) != 1)
            return (void *)1;
        size_t left = j->bulk ? j->bulk : 1, n = 0;
        while (left > 0) {
            size_t w = left < CHUNK ? left : CHUNK;
            if (SSL_write_ex(s, payload, w, &n) != 1)
                break;
            left -= n;
        }
        SSL_shutdown(s);
        SSL_free(s);
    } else {
        ward_channel *ch = NULL;
        if (ward_channel_accept(j->a->srv, j->fd, &ch) != WARD_OK)
            return (void *)1;
        size_t left = j->bulk ? j->bulk : 1;
        while (left > 0) {
            size_t w = left < CHUNK ? left : CHUNK;
            if (ward_channel_write(ch, payload, w) != WARD_OK)
                break;
            left -= w;
        }
        (void)ward_channel_shutdown(ch);
        ward_channel_free(ch);
    }
    return NULL;
}

/* One connection; returns the seconds the client spent receiving bulk (0 if none). */
static double one(int kind, plain *p, attested *a, size_t bulk)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        die("socketpair");
    job j = {.kind = kind, .p = p, .a = a, .fd = sv[0], .bulk = bulk};
    pthread_t t;
    if (pthread_create(&t, NULL, server, &j) != 0)
        die("thread");
    static uint8_t buf[CHUNK * 4];
    size_t want = bulk ? bulk : 1, got = 0;
    double t0 = 0;
    if (kind == 0) {
        SSL *s = SSL_new(p->cli);
        SSL_set_fd(s, sv[1]);
        if (SSL_connect(s) != 1)
            die("plain connect");
        t0 = now();
        while (got < want) {
            size_t n = 0;
            if (SSL_read_ex(s, buf, sizeof buf, &n) != 1)
                die("plain read");
            got += n;
        }
        SSL_free(s);
    } else {
        ward_channel *ch = NULL;
        if (ward_channel_connect(a->cli, sv[1], &ch) != WARD_OK)
            die("attested connect");
        t0 = now();
        while (got < want) {
            size_t n = 0;
            if (ward_channel_read(ch, buf, sizeof buf, &n) != WARD_OK || n == 0)
                die("attested read");
            got += n;
        }
        ward_channel_free(ch);
    }
    double dt = now() - t0;
    close(sv[1]);
    void *rc = NULL;
    pthread_join(t, &rc);
    close(sv[0]);
    if (rc != NULL)
        die("server side");
    return dt;
}

static double hs_once_us(int kind, plain *p, attested *a)
{
    double t0 = now();
    for (int i = 0; i < HS_N; i++)
        (void)one(kind, p, a, 0);
    return (now() - t0) / HS_N * 1e6;
}

/* Interleaved repetitions (baseline, attested, cached, ...) so that load on the shared
 * machine affects both alike; medians. */
static void handshakes(plain *p, attested *a, attested *ac, double *base, double *att,
                       double *hit)
{
    double b[REPS], x[REPS], h[REPS];
    for (int r = 0; r < REPS; r++) {
        b[r] = hs_once_us(0, p, NULL);
        x[r] = hs_once_us(1, NULL, a);
        h[r] = hs_once_us(1, NULL, ac);
    }
    *base = median(b, REPS);
    *att = median(x, REPS);
    *hit = median(h, REPS);
}

static void bulk(plain *p, attested *a, double *base, double *att)
{
    double b[REPS], x[REPS];
    for (int r = 0; r < REPS; r++) {
        b[r] = (double)BULK_BYTES / one(0, p, NULL, BULK_BYTES) / 1e6;
        x[r] = (double)BULK_BYTES / one(1, NULL, a, BULK_BYTES) / 1e6;
    }
    *base = median(b, REPS);
    *att = median(x, REPS);
}

/* ---- setup ---------------------------------------------------------------------------------- */

static void plain_setup(plain *p, int mutual, X509 *cert, EVP_PKEY *key)
{
    p->srv = SSL_CTX_new(TLS_server_method());
    p->cli = SSL_CTX_new(TLS_client_method());
    if (p->srv == NULL || p->cli == NULL)
        die("SSL_CTX_new");
    SSL_CTX *both[2] = {p->srv, p->cli};
    for (int i = 0; i < 2; i++) {
        SSL_CTX_set_min_proto_version(both[i], TLS1_3_VERSION);
        SSL_CTX_set_max_proto_version(both[i], TLS1_3_VERSION);
        SSL_CTX_set_session_cache_mode(both[i], SSL_SESS_CACHE_OFF);
        X509_STORE_add_cert(SSL_CTX_get_cert_store(both[i]), cert);
    }
    SSL_CTX_set_num_tickets(p->srv, 0);
    SSL_CTX_use_certificate(p->srv, cert);
    SSL_CTX_use_PrivateKey(p->srv, key);
    SSL_CTX_set_verify(p->cli, SSL_VERIFY_PEER, NULL);
    if (mutual) {
        SSL_CTX_use_certificate(p->cli, cert);
        SSL_CTX_use_PrivateKey(p->cli, key);
        SSL_CTX_set_verify(p->srv, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    }
}

static void plain_free(plain *p)
{
    SSL_CTX_free(p->srv);
    SSL_CTX_free(p->cli);
}

int main(int argc, char **argv)
{
    static const char *const figures[] = {"tls.handshake.oneway", "tls.handshake.mutual",
                                          "tls.bulk"};
    if (argc > 1 && strcmp(argv[1], "--list") == 0) {
        for (size_t i = 0; i < 3; i++)
            puts(figures[i]);
        return 0;
    }
    const char *filter = argc > 1 ? argv[1] : "";
    signal(SIGPIPE, SIG_IGN);
    char dir[] = "/tmp/ward-bench-channel-XXXXXX";
    if (mkdtemp(dir) == NULL)
        die("mkdtemp");
    ward_rot *rot = NULL;
    if (ward_rot_open(dir, 1, &rot) != WARD_OK)
        die("rot");
    uint8_t fp[WARD_SHA256_LEN];
    if (ward_cert_fingerprint(ward_rot_platform_cert(rot), fp) != WARD_OK)
        die("fingerprint");
    ward_evidence_trust trust = {.pinned = &fp, .n_pinned = 1};
    static const char pj[] = "{\"version\":1,\"tee\":[\"ward-sw\"],\"accept_warning\":true}";
    ward_policy *pol = NULL;
    if (ward_policy_parse(pj, strlen(pj), &pol) != WARD_OK)
        die("policy");
    ward_channel_verify_cfg nocache = {.policy = pol, .trust = &trust,
                                       .flags = WARD_CHANNEL_NO_CACHE};
    ward_channel_verify_cfg cached = {.policy = pol, .trust = &trust};
    ward_channel_node_source node = {.rot = rot};
    ward_channel_identity_spec spec = {.evidence = ward_channel_node_evidence,
                                       .evidence_ctx = &node};
    ward_channel_identity *sid = NULL, *cid = NULL;
    if (ward_channel_identity_new(&spec, &sid) != WARD_OK ||
        ward_channel_identity_new(&spec, &cid) != WARD_OK)
        die("identity");

    /* The plain baseline: an ECDSA P-256 self-signed certificate. */
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *cert = X509_new();
    if (key == NULL || cert == NULL)
        die("baseline key");
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), -60);
    X509_gmtime_adj(X509_getm_notAfter(cert), 86400);
    X509_set_pubkey(cert, key);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(cert), "CN", MBSTRING_ASC,
                               (const unsigned char *)"plain", -1, -1, 0);
    X509_set_issuer_name(cert, X509_get_subject_name(cert));
    if (X509_sign(cert, key, EVP_sha256()) <= 0)
        die("baseline cert");

    for (int mutual = 0; mutual < 2; mutual++) {
        const char *name = figures[mutual];
        if (!strstr(name, filter))
            continue;
        plain p;
        plain_setup(&p, mutual, cert, key);
        ward_channel_config sc = {.identity = sid, .verify = mutual ? &nocache : NULL};
        ward_channel_config cc = {.identity = mutual ? cid : NULL, .verify = &nocache};
        ward_channel_config scc = {.identity = sid, .verify = mutual ? &cached : NULL};
        ward_channel_config ccc = {.identity = mutual ? cid : NULL, .verify = &cached};
        attested a, ac;
        if (ward_channel_ctx_new_server(&sc, &a.srv) != WARD_OK ||
            ward_channel_ctx_new_client(&cc, &a.cli) != WARD_OK ||
            ward_channel_ctx_new_server(&scc, &ac.srv) != WARD_OK ||
            ward_channel_ctx_new_client(&ccc, &ac.cli) != WARD_OK)
            die("channel ctx");
        (void)one(0, &p, NULL, 0); /* warm up */
        (void)one(1, NULL, &a, 0);
        (void)one(1, NULL, &ac, 0);
        double base = 0, att = 0, hit = 0;
        handshakes(&p, &a, &ac, &base, &att, &hit);
        char what[160];
        snprintf(what, sizeof what, "plain TLS 1.3 P-256; with evidence cache %.1f us = %.3fx",
                 hit, hit / base);
        emit(name, att, "us", base, mutual ? "<= 2.0" : "<= 1.5", what);
        ward_channel_ctx_free(a.srv);
        ward_channel_ctx_free(a.cli);
        ward_channel_ctx_free(ac.srv);
        ward_channel_ctx_free(ac.cli);
        plain_free(&p);
    }
    if (strstr("tls.bulk", filter)) {
        plain p;
        plain_setup(&p, 0, cert, key);
        ward_channel_config sc = {.identity = sid};
        ward_channel_config cc = {.verify = &cached};
        attested a;
        if (ward_channel_ctx_new_server(&sc, &a.srv) != WARD_OK ||
            ward_channel_ctx_new_client(&cc, &a.cli) != WARD_OK)
            die("channel ctx");
        double base = 0, att = 0;
        bulk(&p, &a, &base, &att);
        emit("tls.bulk", att, "MB/s", base, ">= 0.9", "plain TLS 1.3, 64 MiB, 16 KiB writes");
        ward_channel_ctx_free(a.srv);
        ward_channel_ctx_free(a.cli);
        plain_free(&p);
    }
    X509_free(cert);
    EVP_PKEY_free(key);
    ward_channel_identity_free(sid);
    ward_channel_identity_free(cid);
    ward_policy_free(pol);
    ward_rot_close(rot);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_channel: could not remove %s\n", dir);
    return 0;
}
