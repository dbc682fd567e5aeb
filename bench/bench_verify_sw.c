/* Software-TEE evidence verification cost in units of one raw ECDSA P-256 verification.
 *
 * Figure verify.sw: ward_evidence_verify of a node-level ward-sw bundle (no hardware evidence)
 * against a pinned platform certificate, in the steady state of a verifier that has seen this
 * platform before: the parsed platform certificate (its key, key id) comes from the verifier's
 * cache of parsed certificates, keyed by SHA-256 of the DER. Everything else is done on every
 * call: JSON parse, base64, hashing the certificate, strict report decode, the report's ECDSA
 * P-256 signature, the pin and the certificate's validity. Baseline: one raw OpenSSL ECDSA
 * P-256/SHA-256 verification (EVP_DigestVerifyInit + EVP_DigestVerify, DER signature, key
 * already parsed) of the same 200-byte report, measured in the same run. The readable line on
 * stderr also gives the cold cost (WARD_EVIDENCE_NO_CACHE: the certificate parsed every time)
 * and the enrolment-CA path (one more ECDSA verification, for the certificate, through
 * OpenSSL's chain builder; cached).
 *
 * Usage: bench_verify_sw [FILTER] | --list */
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ward/crypto.h"
#include "ward/encoding.h"
#include "ward/evidence.h"
#include "ward/rot.h"
#include "ward/x509.h"

#define REPS 5

static void die(const char *what)
{
    fprintf(stderr, "bench_verify_sw: %s failed: %s\n", what, ward_errmsg());
    exit(1);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double raw_verify_us(const ward_cert *cert, const uint8_t *msg, size_t len,
                            const uint8_t rs[64])
{
    uint8_t *der = NULL, *sig = NULL;
    size_t der_len = 0, sig_len = 0;
    if (ward_cert_to_der(cert, &der, &der_len) != WARD_OK ||
        ward_ecdsa_raw_to_der(rs, 64, &sig, &sig_len) != WARD_OK)
        die("baseline setup");
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)der_len);
    EVP_PKEY *pkey = x != NULL ? X509_get0_pubkey(x) : NULL;
    if (pkey == NULL)
        die("baseline key");
    const int n = 2000;
    double best = 1e9;
    for (int rep = 0; rep < REPS; rep++) {
        double t0 = now();
        for (int i = 0; i < n; i++) {
            EVP_MD_CTX *ctx = EVP_MD_CTX_new();
            if (ctx == NULL || EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, pkey) != 1 ||
                EVP_DigestVerify(ctx, sig, sig_len, msg, len) != 1)
                die("raw ECDSA verify");
            EVP_MD_CTX_free(ctx);
        }
        double us = (now() - t0) * 1e6 / n;
        if (us < best)
            best = us;
    }
    X509_free(x);
    free(der);
    free(sig);
    return best;
}

static double verify_us(const char *json, size_t len, const ward_evidence_trust *t)
{
    ward_claims c;
    if (ward_evidence_verify(json, len, t, 0, &c, NULL) != WARD_OK)
        die("ward_evidence_verify");
    const int n = 1000;
    double best = 1e9;
    for (int rep = 0; rep < REPS; rep++) {
        double t0 = now();
        for (int i = 0; i < n; i++)
            if (ward_evidence_verify(json, len, t, 0, &c, NULL) != WARD_OK)
                die("ward_evidence_verify");
        double us = (now() - t0) * 1e6 / n;
        if (us < best)
            best = us;
    }
    return best;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--list") == 0) {
        printf("verify.sw\n");
        return 0;
    }
    if (argc > 1 && argv[1][0] != '\0' && strstr("verify.sw", argv[1]) == NULL)
        return 0;
    char tmpl[] = "/tmp/ward-bench-sw-XXXXXX";
    if (mkdtemp(tmpl) == NULL)
        die("mkdtemp");
    char dir[sizeof tmpl + 8];
    snprintf(dir, sizeof dir, "%s/node", tmpl);
    ward_rot *rot = NULL;
    if (ward_rot_open(dir, 1, &rot) != WARD_OK)
        die("ward_rot_open");
    uint8_t rd[64] = {1, 2, 3}, report[WARD_REPORT_LEN], sig[WARD_REPORT_SIG_LEN];
    char *json = NULL;
    size_t json_len = 0;
    if (ward_evidence_node_report(rot, rd, report, sig) != WARD_OK ||
        ward_evidence_make_with_hw(rot, report, sizeof report, sig, NULL, &json, &json_len) !=
            WARD_OK)
        die("making the evidence");
    const ward_cert *cert = ward_rot_platform_cert(rot);
    uint8_t fp[WARD_SHA256_LEN];
    if (ward_cert_fingerprint(cert, fp) != WARD_OK)
        die("fingerprint");
    ward_evidence_trust pinned = {.pinned = (const uint8_t(*)[WARD_SHA256_LEN])fp,
                                  .n_pinned = 1};

    /* The enrolment-CA variant: the same report with a CA-issued platform certificate. */
    ward_pkey *ca_key = NULL, *node_pub = NULL;
    ward_cert *ca = NULL, *leaf = NULL;
    int64_t t = (int64_t)time(NULL);
    ward_cert_spec cs = {.common_name = "bench CA", .not_before = t - 3600,
                         .not_after = t + 86400, .is_ca = 1, .path_len = -1};
    ward_cert_spec ls = {.common_name = "bench platform", .not_before = t - 3600,
                         .not_after = t + 86400, .path_len = -1};
    if (ward_pkey_generate(WARD_KEY_EC_P256, &ca_key) != WARD_OK ||
        ward_cert_create(&cs, ca_key, NULL, ca_key, &ca) != WARD_OK ||
        ward_cert_public_key(cert, &node_pub) != WARD_OK ||
        ward_cert_create(&ls, node_pub, ca, ca_key, &leaf) != WARD_OK)
        die("CA setup");
    uint8_t *der = NULL;
    size_t der_len = 0;
    char *b64 = NULL, *old_b64 = NULL, *ca_json = NULL;
    uint8_t *old_der = NULL;
    size_t old_len = 0;
    if (ward_cert_to_der(leaf, &der, &der_len) != WARD_OK ||
        ward_base64_encode(der, der_len, &b64, NULL) != WARD_OK ||
        ward_cert_to_der(cert, &old_der, &old_len) != WARD_OK ||
        ward_base64_encode(old_der, old_len, &old_b64, NULL) != WARD_OK)
        die("CA bundle");
    const char *at = strstr(json, old_b64);
    if (at == NULL)
        die("locating the certificate");
    size_t pre = (size_t)(at - json), nb = strlen(b64), no = strlen(old_b64);
    ca_json = malloc(json_len - no + nb + 1);
    if (ca_json == NULL)
        die("malloc");
    memcpy(ca_json, json, pre);
    memcpy(ca_json + pre, b64, nb);
    strcpy(ca_json + pre + nb, at + no);
    ward_evidence_trust by_ca = {.cas = &ca, .n_cas = 1};

    double base = raw_verify_us(cert, report, sizeof report, sig);
    double v = verify_us(json, json_len, &pinned);
    ward_evidence_trust cold = pinned;
    cold.flags = WARD_EVIDENCE_NO_CACHE;
    double vcold = verify_us(json, json_len, &cold);
    double vca = verify_us(ca_json, strlen(ca_json), &by_ca);
    printf("{\"bench\": \"verify.sw\", \"value\": %.2f, \"unit\": \"us\", \"baseline\": %.2f, "
           "\"ratio\": %.3f, \"target\": \"<= 3\"}\n",
           v, base, v / base);
    fflush(stdout);
    fprintf(stderr,
            "verify.sw    %8.1f us   raw ECDSA P-256 verify %6.1f us   ratio %.2f (target <= 3; "
            "pinned, parsed certificate cached); not cached: %.1f us, ratio %.2f; enrolment-CA "
            "chain: %.1f us, ratio %.2f\n",
            v, base, v / base, vcold, vcold / base, vca, vca / base);

    free(ca_json);
    free(b64);
    free(old_b64);
    free(der);
    free(old_der);
    ward_cert_free(leaf);
    ward_cert_free(ca);
    ward_pkey_free(node_pub);
    ward_pkey_free(ca_key);
    free(json);
    ward_rot_close(rot);
    char cmd[sizeof tmpl + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpl);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_verify_sw: could not remove %s\n", tmpl);
    return 0;
}
