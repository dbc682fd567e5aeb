/* Intel quote verification cost in units of one raw ECDSA P-256 verification.
 *
 * Figures: verify.sgx (the SGX-1 quote v3) and verify.tdx (the TDX-1 quote v4), each verified
 * with ward_dcap_verify against collateral loaded once (parsed, signature-checked) and whose PCK
 * chain cache already holds the quote's platform (the first verification fills it): the steady
 * state of a verifier that sees a platform again. Baseline: one raw OpenSSL ECDSA P-256/SHA-256
 * verification (EVP_DigestVerifyInit + EVP_DigestVerify, DER signature, key already parsed) of
 * the same quote's signed bytes, measured in the same run. Readable lines on stderr also give the
 * cold cost (WARD_DCAP_NO_PCK_CACHE: the PCK chain verified in full every time).
 *
 * Vectors: $WARD_VECTORS, else ../shared/vectors beside the source tree.
 * Usage: bench_verify_dcap [FILTER] | --list */
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ward/dcap.h"

#define REPS 5

static void die(const char *what)
{
    fprintf(stderr, "bench_verify_dcap: %s failed: %s\n", what, ward_errmsg());
    exit(1);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static char g_dir[4096];

static uint8_t *read_file(const char *rel, size_t *len)
{
    char path[8192];
    snprintf(path, sizeof path, "%s/%s", g_dir, rel);
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "bench_verify_dcap: cannot open %s (set WARD_VECTORS)\n", path);
        exit(1);
    }
    if (fseek(f, 0, SEEK_END) != 0)
        die("fseek");
    long n = ftell(f);
    if (n <= 0 || fseek(f, 0, SEEK_SET) != 0)
        die("ftell");
    uint8_t *p = malloc((size_t)n);
    if (p == NULL || fread(p, 1, (size_t)n, f) != (size_t)n)
        die("read");
    fclose(f);
    *len = (size_t)n;
    return p;
}

static ward_dcap_collateral *load(const char *prefix, int64_t at, unsigned flags)
{
    static const char *const names[] = {"tcb_info.json", "qe_identity.json",
                                        "tcb_signing_chain.pem", "root_ca_crl.der",
                                        "pck_crl.der"};
    uint8_t *f[5];
    size_t l[5];
    for (size_t i = 0; i < 5; i++) {
        char rel[256];
        snprintf(rel, sizeof rel, "%s%s", prefix, names[i]);
        f[i] = read_file(rel, &l[i]);
    }
    ward_dcap_collateral_src src = {(const char *)f[0], l[0], (const char *)f[1], l[1],
                                    (const char *)f[2], l[2], NULL, 0, f[3], l[3], f[4], l[4]};
    ward_dcap_options opt = {NULL, 0, flags};
    ward_dcap_collateral *c = NULL;
    if (ward_dcap_collateral_load(&src, &opt, at, &c) != WARD_OK)
        die("ward_dcap_collateral_load");
    for (size_t i = 0; i < 5; i++)
        free(f[i]);
    return c;
}

/* ---- baseline: one raw ECDSA P-256 verification ------------------------------------------ */

static EVP_PKEY *p256_key(const uint8_t xy[64])
{
    uint8_t pub[65];
    pub[0] = 0x04;
    memcpy(pub + 1, xy, 64);
    OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    EVP_PKEY *pkey = NULL;
    OSSL_PARAM *params = NULL;
    if (b == NULL || ctx == NULL ||
        !OSSL_PARAM_BLD_push_utf8_string(b, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) ||
        !OSSL_PARAM_BLD_push_octet_string(b, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof pub) ||
        (params = OSSL_PARAM_BLD_to_param(b)) == NULL || EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
        die("raw P-256 key import");
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(b);
    EVP_PKEY_CTX_free(ctx);
    return pkey;
}

static size_t der_sig(const uint8_t rs[64], unsigned char **der)
{
    ECDSA_SIG *sig = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(rs, 32, NULL), *s = BN_bin2bn(rs + 32, 32, NULL);
    if (sig == NULL || r == NULL || s == NULL || ECDSA_SIG_set0(sig, r, s) != 1)
        die("ECDSA_SIG");
    *der = NULL;
    int n = i2d_ECDSA_SIG(sig, der);
    ECDSA_SIG_free(sig);
    if (n <= 0)
        die("i2d_ECDSA_SIG");
    return (size_t)n;
}

/* Microseconds per raw verification of the quote's own signature, best of REPS. */
static double raw_verify_us(const uint8_t *quote, size_t len)
{
    ward_dcap_quote q;
    if (ward_dcap_parse(quote, len, &q) != WARD_OK)
        die("ward_dcap_parse");
    EVP_PKEY *pkey = p256_key(q.attest_key);
    unsigned char *sig = NULL;
    size_t sig_len = der_sig(q.signature, &sig);
    const int n = 2000;
    double best = 1e9;
    for (int rep = 0; rep < REPS; rep++) {
        double t0 = now();
        for (int i = 0; i < n; i++) {
            EVP_MD_CTX *ctx = EVP_MD_CTX_new();
            if (ctx == NULL || EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, pkey) != 1 ||
                EVP_DigestVerify(ctx, sig, sig_len, q.signed_data, q.signed_len) != 1)
                die("raw ECDSA verify");
            EVP_MD_CTX_free(ctx);
        }
        double us = (now() - t0) * 1e6 / n;
        if (us < best)
            best = us;
    }
    OPENSSL_free(sig);
    EVP_PKEY_free(pkey);
    return best;
}

/* ---- the figures ---------------------------------------------------------------------------- */

static double verify_us(const uint8_t *quote, size_t len, const ward_dcap_collateral *c,
                        int64_t at, int n)
{
    ward_claims cl;
    if (ward_dcap_verify(quote, len, c, at, &cl) != WARD_OK) /* warms the PCK cache */
        die("ward_dcap_verify");
    double best = 1e9;
    for (int rep = 0; rep < REPS; rep++) {
        double t0 = now();
        for (int i = 0; i < n; i++) {
            if (ward_dcap_verify(quote, len, c, at, &cl) != WARD_OK)
                die("ward_dcap_verify");
        }
        double us = (now() - t0) * 1e6 / n;
        if (us < best)
            best = us;
    }
    return best;
}

struct figure {
    const char *name, *quote, *prefix;
    int64_t at;
};

static const struct figure FIGURES[] = {
    {"verify.sgx", "sgx/phala_sgx_v3_quote.bin", "sgx/phala_sgx_", INT64_C(1752919277)},
    {"verify.tdx", "tdx/phala_tdx_v4_quote.bin", "tdx/phala_tdx_v4_", INT64_C(1752919234)},
};

static void run(const struct figure *f)
{
    size_t len = 0;
    uint8_t *quote = read_file(f->quote, &len);
    ward_dcap_collateral *warm = load(f->prefix, f->at, 0);
    ward_dcap_collateral *cold = load(f->prefix, f->at, WARD_DCAP_NO_PCK_CACHE);
    double base = raw_verify_us(quote, len);
    double v = verify_us(quote, len, warm, f->at, 500);
    double vc = verify_us(quote, len, cold, f->at, 100);
    double base2 = raw_verify_us(quote, len); /* the baseline again: keep the lower */
    if (base2 < base)
        base = base2;
    printf("{\"bench\": \"%s\", \"value\": %.1f, \"unit\": \"us\", \"baseline\": %.1f, "
           "\"ratio\": %.2f, \"target\": \"<= 6\"}\n",
           f->name, v, base, v / base);
    fflush(stdout);
    fprintf(stderr,
            "%-12s %8.1f us   raw ECDSA P-256 verify %6.1f us   ratio %.2f (target <= 6); "
            "PCK chain not cached: %.1f us, ratio %.2f\n",
            f->name, v, base, v / base, vc, vc / base);
    ward_dcap_collateral_free(warm);
    ward_dcap_collateral_free(cold);
    free(quote);
}

int main(int argc, char **argv)
{
    size_t n_fig = sizeof FIGURES / sizeof FIGURES[0];
    if (argc > 1 && strcmp(argv[1], "--list") == 0) {
        for (size_t i = 0; i < n_fig; i++)
            printf("%s\n", FIGURES[i].name);
        return 0;
    }
    const char *filter = argc > 1 && argv[1][0] != '\0' ? argv[1] : NULL;
    const char *dir = getenv("WARD_VECTORS");
    if (dir != NULL) {
        snprintf(g_dir, sizeof g_dir, "%s", dir);
    } else {
        /* <root>/bench/bench_verify_dcap.c -> <root>/../shared/vectors */
        snprintf(g_dir, sizeof g_dir, "%s", __FILE__);
        char *slash = strrchr(g_dir, '/');
        if (slash != NULL && (size_t)(slash - g_dir) + 22 < sizeof g_dir)
            strcpy(slash, "/../../shared/vectors");
        else
            snprintf(g_dir, sizeof g_dir, "../shared/vectors");
    }
    for (size_t i = 0; i < n_fig; i++) {
        if (filter == NULL || strstr(FIGURES[i].name, filter) != NULL)
            run(&FIGURES[i]);
    }
    return 0;
}
