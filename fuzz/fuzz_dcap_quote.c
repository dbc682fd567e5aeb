/* libFuzzer target: Intel DCAP quotes (v3, v4, v5). Each input is parsed, its unverified claims
 * read, and verified against real SGX and TDX collateral (loaded once from the vectors
 * directory, $WARD_VECTORS or ../shared/vectors next to the source tree) at their reference
 * times; the strict PEM splitter and the SGX extension DER reader also get the raw input.
 * Properties checked (a break traps):
 *   - a parsed quote's parts lie inside the input and its lengths add up;
 *   - verification accepts only what parses, and an accepted quote has claims of its kind;
 *   - failures set a reason and leave the claims zeroed. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attest/dcap_internal.h"
#include "ward/dcap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define T_SGX INT64_C(1752919277)
#define T_TDX INT64_C(1752919234)

static void check(int cond)
{
    if (!cond)
        __builtin_trap();
}

static ward_dcap_collateral *g_sgx, *g_tdx;
static int g_init;

static char *read_all(const char *dir, const char *name, size_t *len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    char *buf = NULL;
    if (fseek(f, 0, SEEK_END) == 0) {
        long n = ftell(f);
        if (n > 0 && fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n)) != NULL &&
            fread(buf, 1, (size_t)n, f) != (size_t)n) {
            free(buf);
            buf = NULL;
        }
        *len = n > 0 ? (size_t)n : 0;
    }
    fclose(f);
    return buf;
}

static ward_dcap_collateral *load(const char *dir, const char *sub, const char *prefix,
                                  const char *root_prefix, int64_t at)
{
    char d[4096];
    snprintf(d, sizeof d, "%s/%s", dir, sub);
    static const char *const names[] = {"tcb_info.json", "qe_identity.json",
                                        "tcb_signing_chain.pem", "root_ca_crl.der",
                                        "pck_crl.der"};
    char *f[5] = {NULL};
    size_t l[5] = {0};
    for (size_t i = 0; i < 5; i++) {
        char n[256];
        snprintf(n, sizeof n, "%s%s", i == 2 || i == 3 ? root_prefix : prefix, names[i]);
        f[i] = read_all(d, n, &l[i]);
    }
    ward_dcap_collateral *c = NULL;
    if (f[0] && f[1] && f[2] && f[3] && f[4]) {
        ward_dcap_collateral_src src = {f[0], l[0], f[1], l[1], f[2], l[2], NULL, 0,
                                        (const uint8_t *)f[3], l[3], (const uint8_t *)f[4],
                                        l[4]};
        if (ward_dcap_collateral_load(&src, NULL, at, &c) != WARD_OK)
            c = NULL;
    }
    for (size_t i = 0; i < 5; i++)
        free(f[i]);
    return c;
}

static void init(void)
{
    g_init = 1;
    const char *dir = getenv("WARD_VECTORS");
    char fallback[4096];
    if (dir == NULL) {
        /* The source file's own path: <root>/fuzz/fuzz_dcap_quote.c -> <root>/../shared/vectors */
        snprintf(fallback, sizeof fallback, "%s", __FILE__);
        char *slash = strrchr(fallback, '/');
        if (slash != NULL) {
            strcpy(slash, "/../../shared/vectors");
            dir = fallback;
        } else {
            dir = "../shared/vectors";
        }
    }
    g_sgx = load(dir, "sgx", "phala_sgx_", "phala_sgx_", T_SGX);
    g_tdx = load(dir, "tdx", "phala_tdx_v4_", "phala_tdx_v4_", T_TDX);
}

static void verify(const uint8_t *q, size_t n, const ward_dcap_collateral *c, int64_t at,
                   int parsed, const ward_dcap_quote *pq)
{
    if (c == NULL)
        return;
    ward_claims cl;
    ward_dcap_result r;
    ward_err err = ward_dcap_verify_ex(q, n, c, at, &cl, &r);
    if (err == WARD_OK) {
        check(parsed);
        check(cl.kind == (pq->is_tdx ? WARD_TEE_KIND_TDX : WARD_TEE_KIND_SGX));
        check(cl.tcb_status != WARD_TCB_UNKNOWN);
        check(r.quote_len + r.trailing_len == n);
    } else {
        check(ward_errmsg()[0] != '\0');
        check(cl.kind == WARD_TEE_KIND_UNKNOWN && cl.n_advisories == 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!g_init)
        init();
    /* Copy into an exact-size heap buffer so that any read past size is caught. */
    uint8_t *q = malloc(size == 0 ? 1 : size);
    if (q == NULL)
        return 0;
    if (size != 0)
        memcpy(q, data, size);

    ward_dcap_quote pq;
    int parsed = ward_dcap_parse(q, size, &pq) == WARD_OK;
    if (parsed) {
        const uint8_t *end = q + size;
        check(pq.quote_len + pq.trailing_len == size);
        check(pq.signed_len <= pq.quote_len && pq.body + pq.body_len <= end);
        check(pq.qe_report >= q && pq.qe_report + 448 <= end);
        check(pq.qe_auth_data + pq.qe_auth_len <= end);
        check(pq.cert_data + pq.cert_len == q + pq.quote_len);
        ward_claims cl;
        check(ward_dcap_quote_claims(&pq, &cl) == WARD_OK);
        check(cl.tcb_status == WARD_TCB_UNKNOWN);
    }
    verify(q, size, g_sgx, T_SGX, parsed, &pq);
    verify(q, size, g_tdx, T_TDX, parsed, &pq);

    /* The readers the verifier runs on parts of a quote, on the whole input. */
    dcap_blob blobs[4];
    size_t n = 0;
    if (dcap_pem_decode((const char *)q, size, "CERTIFICATE", 1, blobs, 4, &n) == WARD_OK) {
        check(n >= 1 && n <= 4);
        dcap_blobs_free(blobs, n);
    }
    ward_dcap_pck_info info;
    (void)dcap_parse_sgx_ext(q, size, &info);

    free(q);
    return 0;
}
