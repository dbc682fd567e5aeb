/* Verifying an AMD SEV-SNP report against one raw ECDSA P-256 verification.
 *
 * Figure verify.snp: the time of ward_snp_verifier_verify on a real report (oak-milan-v3, report
 * v3) with its AMD chain already parsed and its VCEK already verified and cached, as a
 * verification service sees the second report from a known chip: parse and check the 1184
 * bytes, find the cached VCEK (SHA-256 of the certificate bytes), check the product, the TCB
 * and CHIP_ID binding, verify the ECDSA P-384/SHA-384 signature, fill the claims. Baseline: one
 * raw OpenSSL ECDSA P-256/SHA-256 verification of a 64-byte message (EVP_DigestVerifyInit +
 * EVP_DigestVerify with a fresh EVP_MD_CTX), measured in the same run; the ratio is the cost
 * in P-256 verifications. The readable line also gives a raw ECDSA P-384/SHA-384 verification
 * over the same 672 bytes: the floor, since the report's signature is P-384 (OpenSSL 3.0 has no
 * optimised P-384 code, so that floor alone is about ten P-256 verifications).
 *
 * Vectors: $WARD_VECTORS, else ../shared/vectors next to this source tree.
 * Usage: bench_verify_snp [FILTER] | --list */
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ward/claims.h"
#include "ward/snp.h"

#define REPS 7
#define MIN_RUN_SECONDS 0.25

static const char *const figures[] = {"verify.snp"};
/* oak-milan-v3's suggested_verify_at (expected.json): 2025-02-14T21:21:54Z. */
#define AT INT64_C(1739568114)

static void die(const char *what)
{
    fprintf(stderr, "bench_verify_snp: %s failed: %s\n", what, ward_errmsg());
    exit(1);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint8_t *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "bench_verify_snp: cannot open %s (set WARD_VECTORS)\n", path);
        exit(1);
    }
    if (fseek(f, 0, SEEK_END) != 0)
        die("fseek");
    long n = ftell(f);
    if (n < 0)
        die("ftell");
    rewind(f);
    uint8_t *buf = malloc((size_t)n + 1);
    if (buf == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n)
        die("read");
    fclose(f);
    buf[n] = 0;
    *len = (size_t)n;
    return buf;
}

static void vector_path(char *out, size_t cap, const char *rel)
{
    const char *env = getenv("WARD_VECTORS");
    if (env != NULL) {
        snprintf(out, cap, "%s/%s", env, rel);
        return;
    }
    /* This file is <project>/bench/bench_verify_snp.c. */
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", __FILE__);
    char *slash = strrchr(dir, '/');
    if (slash != NULL)
        *slash = '\0';
    else
        snprintf(dir, sizeof dir, ".");
    snprintf(out, cap, "%s/../../shared/vectors/%s", dir, rel);
}

/* ---- raw OpenSSL baselines ---------------------------------------------------------------- */

typedef struct raw_ecdsa {
    EVP_PKEY *key;
    const EVP_MD *md;
    uint8_t msg[WARD_SNP_SIGNED_LEN];
    size_t msg_len;
    unsigned char sig[160];
    size_t sig_len;
} raw_ecdsa;

static void raw_setup(raw_ecdsa *r, const char *curve, const EVP_MD *md, size_t msg_len)
{
    r->key = EVP_EC_gen(curve);
    r->md = md;
    r->msg_len = msg_len;
    for (size_t i = 0; i < msg_len; i++)
        r->msg[i] = (uint8_t)(i * 7);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    r->sig_len = sizeof r->sig;
    if (r->key == NULL || ctx == NULL ||
        EVP_DigestSignInit(ctx, NULL, md, NULL, r->key) != 1 ||
        EVP_DigestSign(ctx, r->sig, &r->sig_len, r->msg, msg_len) != 1)
        die("raw ECDSA setup");
    EVP_MD_CTX_free(ctx);
}

static void raw_verify_once(const raw_ecdsa *r)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (ctx == NULL || EVP_DigestVerifyInit(ctx, NULL, r->md, NULL, r->key) != 1 ||
        EVP_DigestVerify(ctx, r->sig, r->sig_len, r->msg, r->msg_len) != 1)
        die("raw ECDSA verify");
    EVP_MD_CTX_free(ctx);
}

/* ---- timing -------------------------------------------------------------------------------- */

typedef struct snp_ctx {
    ward_snp_verifier *v;
    const uint8_t *report, *vek;
    size_t report_len, vek_len;
} snp_ctx;

static void snp_verify_once(const snp_ctx *s)
{
    ward_claims c;
    if (ward_snp_verifier_verify(s->v, s->report, s->report_len, s->vek, s->vek_len, AT, &c,
                                 NULL) != WARD_OK)
        die("ward_snp_verifier_verify");
}

/* Microseconds per call: iterations enough for MIN_RUN_SECONDS. */
static double time_us(void (*fn)(const void *), const void *arg, size_t iters)
{
    double t0 = now();
    for (size_t i = 0; i < iters; i++)
        fn(arg);
    return (now() - t0) * 1e6 / (double)iters;
}

static void call_raw(const void *p)
{
    raw_verify_once(p);
}

static void call_snp(const void *p)
{
    snp_verify_once(p);
}

static size_t calibrate(void (*fn)(const void *), const void *arg)
{
    size_t iters = 1;
    for (;;) {
        double t0 = now();
        for (size_t i = 0; i < iters; i++)
            fn(arg);
        double dt = now() - t0;
        if (dt >= MIN_RUN_SECONDS / 4 || iters > ((size_t)1 << 24))
            return (size_t)((double)iters * (MIN_RUN_SECONDS / (dt > 0 ? dt : 1e-6))) + 1;
        iters *= 2;
    }
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--list") == 0) {
        for (size_t i = 0; i < sizeof figures / sizeof figures[0]; i++)
            puts(figures[i]);
        return 0;
    }
    const char *filter = argc > 1 && argv[1][0] != '\0' ? argv[1] : NULL;
    if (filter != NULL && strstr(figures[0], filter) == NULL)
        return 0;

    char path[4400];
    size_t pem_len = 0;
    snp_ctx s;
    memset(&s, 0, sizeof s);
    vector_path(path, sizeof path, "snp/amd/milan_ask_ark_asvk.pem");
    char *pem = (char *)read_all(path, &pem_len);
    vector_path(path, sizeof path, "snp/oak-milan-v3/report.bin");
    uint8_t *report = read_all(path, &s.report_len);
    vector_path(path, sizeof path, "snp/oak-milan-v3/vcek.der");
    uint8_t *vek = read_all(path, &s.vek_len);
    s.report = report;
    s.vek = vek;
    if (ward_snp_verifier_new(pem, pem_len, 0, &s.v) != WARD_OK)
        die("ward_snp_verifier_new");
    /* The first verification parses and verifies the chain and caches the VCEK. */
    double t0 = now();
    snp_verify_once(&s);
    double cold_us = (now() - t0) * 1e6;

    raw_ecdsa p256, p384;
    raw_setup(&p256, "P-256", EVP_sha256(), 64);
    raw_setup(&p384, "P-384", EVP_sha384(), WARD_SNP_SIGNED_LEN);
    size_t it_snp = calibrate(call_snp, &s);
    size_t it_256 = calibrate(call_raw, &p256);
    size_t it_384 = calibrate(call_raw, &p384);

    double best_snp = 1e30, best_256 = 1e30, best_384 = 1e30;
    /* Interleaved, so that a noisy neighbour hurts every side alike; best of REPS. */
    for (int r = 0; r < REPS; r++) {
        double t = time_us(call_raw, &p256, it_256);
        if (t < best_256)
            best_256 = t;
        t = time_us(call_snp, &s, it_snp);
        if (t < best_snp)
            best_snp = t;
        t = time_us(call_raw, &p384, it_384);
        if (t < best_384)
            best_384 = t;
    }
    /* Issue 4 sets no SNP target. An SNP report is signed with P-384, which OpenSSL 3.0
     * verifies at ~10 P-256 verifications, so the honest bound is that floor measured in
     * this run: Ward may add at most 10% over one raw P-384 verification. */
    printf("{\"bench\": \"%s\", \"value\": %.1f, \"unit\": \"us\", \"baseline\": %.1f, "
           "\"ratio\": %.2f, \"target\": \"<= %.2f\"}\n",
           figures[0], best_snp, best_256, best_snp / best_256, 1.1 * best_384 / best_256);
    fflush(stdout);
    fprintf(stderr, "%-16s %9.1f us   raw ECDSA P-256 verify %7.1f us   ratio %.2f   "
                    "(floor: raw ECDSA P-384 verify of the 672 signed bytes %.1f us = %.2f "
                    "P-256; first, uncached verification %.0f us; best of %d)\n",
            figures[0], best_snp, best_256, best_snp / best_256, best_384, best_384 / best_256,
            cold_us, REPS);

    ward_snp_verifier_free(s.v);
    EVP_PKEY_free(p256.key);
    EVP_PKEY_free(p384.key);
    free(pem);
    free(report);
    free(vek);
    return 0;
}
