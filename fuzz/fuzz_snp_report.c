/* libFuzzer target: the SEV-SNP parsers. Every input is tried as
 *   - an ATTESTATION_REPORT (ward_snp_parse), and when one parses, verified against the real
 *     VCEK/VLEKs and AMD chains of ../shared/vectors/snp (when they can be found: $WARD_VECTORS,
 *     or ../shared/vectors from the source tree) so that the product, binding and signature
 *     checks run on mutated reports;
 *   - an Azure HCL report (ward_snp_hcl_parse and the runtime-data binding);
 *   - a certificate (DER), whose AMD extensions are decoded for every product and key kind;
 *   - the payload of one AMD extension (the small DER readers).
 * Properties checked (a break traps): errors are the documented codes; a parsed report is
 * exactly 1184 bytes and its fields read back from the bytes; pointers into an HCL report stay
 * inside the input; a report's binding to a certificate made from its own values holds; a
 * mutated report never verifies unless it is byte-identical to a real one. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attest/snp_internal.h"
#include "ward/claims.h"
#include "ward/snp.h"
#include "ward/x509.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static void check(int cond)
{
    if (!cond)
        __builtin_trap();
}

/* ---- the real vectors, when present ------------------------------------------------------ */

static const char *const vector_dirs[] = {
    "gsg-milan-v2", "virtee-milan-v2", "trustee-milan-v2-idblock", "trustee-milan-vlek-v3-aws",
    "trustee-genoa-v3-azure", "oak-genoa-v5", "oak-turin-v5", "oak-milan-v3"};
static const char *const vek_files[] = {"vcek.der", "vcek.der", "vcek.der", "vlek.der",
                                        "vcek.pem", "vcek.der", "vcek.der", "vcek.der"};
/* Each vector's suggested_verify_at (expected.json), as Unix time. */
static const int64_t vector_at[] = {1666572928, 1683141823, 1677175106, 1736460861,
                                    1740277308, 1757179301, 1755363886, 1739568114};
#define NVEC (sizeof vector_dirs / sizeof vector_dirs[0])

static ward_snp_verifier *g_verifier;
static uint8_t *g_vek[NVEC];
static size_t g_vek_len[NVEC];
static uint8_t *g_report[NVEC];

static uint8_t *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    uint8_t *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n == cap) {
            size_t ncap = cap ? 2 * cap : 4096;
            uint8_t *nb = realloc(buf, ncap + 1);
            if (nb == NULL) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
            cap = ncap;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    fclose(f);
    buf[n] = 0;
    *len = n;
    return buf;
}

static const char *vectors_root(void)
{
    static char root[4096];
    const char *env = getenv("WARD_VECTORS");
    if (env != NULL) {
        snprintf(root, sizeof root, "%s", env);
        return root;
    }
    /* This file is <project>/fuzz/fuzz_snp_report.c; the vectors are ../shared/vectors. */
    snprintf(root, sizeof root, "%s", __FILE__);
    char *slash = strrchr(root, '/');
    if (slash == NULL)
        return NULL;
    *slash = '\0';
    size_t used = strlen(root);
    snprintf(root + used, sizeof root - used, "/../../shared/vectors");
    return root;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *root = vectors_root();
    if (root == NULL)
        return 0;
    char path[4200];
    static const char *const chains[] = {"milan", "genoa", "turin"};
    char *pem = NULL;
    size_t pem_len = 0;
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/snp/amd/%s_ask_ark_asvk.pem", root, chains[i]);
        size_t n = 0;
        uint8_t *part = read_all(path, &n);
        if (part == NULL) {
            free(pem);
            return 0;
        }
        char *grown = realloc(pem, pem_len + n + 1);
        if (grown == NULL) {
            free(part);
            free(pem);
            return 0;
        }
        pem = grown;
        memcpy(pem + pem_len, part, n);
        pem_len += n;
        pem[pem_len] = '\0';
        free(part);
    }
    if (ward_snp_verifier_new(pem, pem_len, 0, &g_verifier) != WARD_OK)
        g_verifier = NULL;
    free(pem);
    for (size_t i = 0; i < NVEC && g_verifier != NULL; i++) {
        snprintf(path, sizeof path, "%s/snp/%s/%s", root, vector_dirs[i], vek_files[i]);
        g_vek[i] = read_all(path, &g_vek_len[i]);
        snprintf(path, sizeof path, "%s/snp/%s/report.bin", root, vector_dirs[i]);
        size_t n = 0;
        g_report[i] = read_all(path, &n);
        if (g_vek[i] == NULL || g_report[i] == NULL || n != WARD_SNP_REPORT_LEN) {
            fprintf(stderr, "fuzz_snp_report: cannot read vector %s\n", vector_dirs[i]);
            abort();
        }
    }
    if (g_verifier == NULL)
        fprintf(stderr, "fuzz_snp_report: no vectors under %s: verification not fuzzed\n", root);
    return 0;
}

/* ---- the report -------------------------------------------------------------------------- */

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void fuzz_verify(const uint8_t *buf, size_t size)
{
    if (g_verifier == NULL)
        return;
    for (size_t i = 0; i < NVEC; i++) {
        ward_claims c;
        ward_err err = ward_snp_verifier_verify(g_verifier, buf, size, g_vek[i], g_vek_len[i],
                                                vector_at[i], &c, NULL);
        if (err == WARD_OK) {
            /* Only the real report verifies with its certificate. */
            check(memcmp(buf, g_report[i], WARD_SNP_REPORT_LEN) == 0);
            check(c.kind == WARD_TEE_KIND_SNP);
        } else {
            check(err == WARD_ERR_VERIFY || err == WARD_ERR_FORMAT ||
                  err == WARD_ERR_UNSUPPORTED || err == WARD_ERR_TRUNCATED);
            check(c.kind == WARD_TEE_KIND_UNKNOWN);
        }
    }
}

static void fuzz_report(const uint8_t *buf, size_t size)
{
    ward_snp_report r;
    ward_err err = ward_snp_parse(buf, size, &r);
    if (err != WARD_OK) {
        check(err == WARD_ERR_TRUNCATED || err == WARD_ERR_FORMAT || err == WARD_ERR_UNSUPPORTED);
        check(size != WARD_SNP_REPORT_LEN || err != WARD_ERR_TRUNCATED);
        return;
    }
    check(size == WARD_SNP_REPORT_LEN);
    check(r.version >= 2 && r.version <= 5);
    check(r.version == rd32(buf));
    check(r.vmpl <= 3);
    check(r.signing_key == WARD_SNP_SIGNING_KEY_VCEK || r.signing_key == WARD_SNP_SIGNING_KEY_VLEK);
    check(memcmp(r.measurement, buf + 0x90, 48) == 0);
    check(memcmp(r.reported_tcb.raw, buf + 0x180, 8) == 0);
    check(memcmp(r.chip_id, buf + 0x1A0, 64) == 0);
    for (size_t i = 0; i < 48; i++)
        check(r.signature_r[i] == buf[0x2A0 + 47 - i] && r.signature_s[i] == buf[0x2E8 + 47 - i]);

    /* Decoding with each product, and a certificate made from the report's own values: the
     * binding holds, and breaks when one byte of the TCB differs. */
    static const ward_snp_product products[] = {WARD_SNP_PRODUCT_MILAN, WARD_SNP_PRODUCT_GENOA,
                                                WARD_SNP_PRODUCT_TURIN};
    for (size_t k = 0; k < 3; k++) {
        ward_snp_report rp = r;
        check(ward_snp_report_set_product(&rp, products[k]) == WARD_OK);
        check(memcmp(rp.reported_tcb.raw, r.reported_tcb.raw, 8) == 0);
        ward_snp_vek_info vi;
        memset(&vi, 0, sizeof vi);
        vi.product = products[k];
        vi.is_vlek = r.signing_key == WARD_SNP_SIGNING_KEY_VLEK;
        memcpy(vi.tcb.raw, r.reported_tcb.raw, 8);
        vi.hwid_len = products[k] == WARD_SNP_PRODUCT_TURIN ? 8 : 64;
        memcpy(vi.hwid, r.chip_id, vi.hwid_len);
        int tail_zero = 1;
        for (size_t i = vi.hwid_len; i < 64; i++)
            tail_zero &= r.chip_id[i] == 0;
        ward_err b = ward_snp_priv_check_binding(&rp, &vi);
        check(b == ((vi.is_vlek || tail_zero) ? WARD_OK : WARD_ERR_VERIFY));
        vi.tcb.raw[k * 3 % 8] ^= 1;
        check(ward_snp_priv_check_binding(&rp, &vi) == WARD_ERR_VERIFY);
    }
    fuzz_verify(buf, size);
}

/* ---- the HCL report ---------------------------------------------------------------------- */

static void fuzz_hcl(const uint8_t *buf, size_t size)
{
    ward_snp_hcl h;
    ward_err err = ward_snp_hcl_parse(buf, size, &h);
    if (err != WARD_OK) {
        check(err == WARD_ERR_TRUNCATED || err == WARD_ERR_FORMAT || err == WARD_ERR_UNSUPPORTED);
        return;
    }
    check(h.report == buf + 0x20);
    check(h.runtime_data == buf + 0x4D4);
    check(h.runtime_data_len <= size - 0x4D4);
    ward_snp_report r;
    if (ward_snp_parse(h.report, WARD_SNP_REPORT_LEN, &r) == WARD_OK) {
        err = ward_snp_hcl_check_binding(&h, r.report_data);
        check(err == WARD_OK || err == WARD_ERR_VERIFY || err == WARD_ERR_UNSUPPORTED);
    }
}

/* ---- certificates and extension payloads ------------------------------------------------- */

static void fuzz_cert(const uint8_t *buf, size_t size)
{
    ward_cert *cert = NULL;
    if (ward_cert_from_der(buf, size, &cert) != WARD_OK)
        return;
    static const ward_snp_product products[] = {WARD_SNP_PRODUCT_MILAN, WARD_SNP_PRODUCT_GENOA,
                                                WARD_SNP_PRODUCT_TURIN};
    for (size_t k = 0; k < 3; k++) {
        for (int vlek = 0; vlek < 2; vlek++) {
            ward_snp_vek_info vi;
            ward_err err = ward_snp_priv_vek_decode(cert, products[k], vlek, &vi);
            if (err == WARD_OK) {
                check(vi.product == products[k] && vi.is_vlek == vlek);
                check(vi.hwid_len <= 64);
                check(vlek ? vi.hwid_len == 0
                           : vi.hwid_len == (products[k] == WARD_SNP_PRODUCT_TURIN ? 8u : 64u));
                check(memchr(vi.product_name, 0, sizeof vi.product_name) != NULL);
                check(memchr(vi.csp_id, 0, sizeof vi.csp_id) != NULL);
            } else {
                check(err == WARD_ERR_FORMAT || err == WARD_ERR_TRUNCATED ||
                      err == WARD_ERR_VERIFY || err == WARD_ERR_UNSUPPORTED);
            }
        }
    }
    ward_cert_free(cert);
}

static void fuzz_der(const uint8_t *buf, size_t size)
{
    uint8_t u8 = 0;
    int iv = 0;
    char s[32];
    uint8_t hw[64];
    size_t hl = 0;
    ward_err e = ward_snp_priv_der_u8(buf, size, "fuzz", &u8);
    check(e == WARD_OK || e == WARD_ERR_FORMAT || e == WARD_ERR_TRUNCATED);
    if (e == WARD_OK)
        check(size >= 3 && size <= 4 && buf[0] == 0x02);
    e = ward_snp_priv_der_small_int(buf, size, "fuzz", &iv);
    check(e == WARD_OK || e == WARD_ERR_FORMAT || e == WARD_ERR_TRUNCATED);
    if (e == WARD_OK)
        check(iv >= 0);
    e = ward_snp_priv_der_ia5(buf, size, "fuzz", s, sizeof s);
    check(e == WARD_OK || e == WARD_ERR_FORMAT || e == WARD_ERR_TRUNCATED);
    if (e == WARD_OK)
        check(strlen(s) + 2 <= size && strlen(s) < sizeof s);
    e = ward_snp_priv_hwid(buf, size, WARD_SNP_PRODUCT_GENOA, hw, &hl);
    check(e != WARD_OK || hl == 64);
    e = ward_snp_priv_hwid(buf, size, WARD_SNP_PRODUCT_TURIN, hw, &hl);
    check(e != WARD_OK || hl == 8);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* An exact-size heap copy, so that any read past size is caught. */
    uint8_t *buf = malloc(size == 0 ? 1 : size);
    if (buf == NULL)
        return 0;
    if (size != 0)
        memcpy(buf, data, size);
    fuzz_report(buf, size);
    fuzz_hcl(buf, size);
    fuzz_cert(buf, size);
    fuzz_der(buf, size);
    free(buf);
    return 0;
}
