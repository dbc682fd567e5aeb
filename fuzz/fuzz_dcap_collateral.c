/* libFuzzer target: Intel DCAP collateral. Each input goes, by its content, to:
 *   - the TCB Info and QE Identity body parsers (directly, as if its signature had verified);
 *   - for a JSON object: the raw member span finder ("tcbInfo", "enclaveIdentity"), whose span
 *     must lie inside the input and parse to the same value jansson sees, then the body parsers
 *     on that span, and for dcap-qvl's QuoteCollateralV3 the parsers on its strings and the
 *     full loader;
 *   - for DER (0x30...): the CRL reader, as the PCK CRL of otherwise real collateral;
 *   - the PCS time reader and the strict PEM splitter.
 * Real SGX collateral is loaded from $WARD_VECTORS (or ../shared/vectors beside the tree). */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attest/dcap_internal.h"
#include "ward/dcap.h"
#include "ward/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define T_SGX INT64_C(1752919277)

static void check(int cond)
{
    if (!cond)
        __builtin_trap();
}

static char *g_part[5];
static size_t g_len[5];
static int g_init;

static void init(void)
{
    g_init = 1;
    const char *dir = getenv("WARD_VECTORS");
    char fallback[4096];
    if (dir == NULL) {
        snprintf(fallback, sizeof fallback, "%s", __FILE__);
        char *slash = strrchr(fallback, '/');
        if (slash == NULL)
            return;
        strcpy(slash, "/../../shared/vectors");
        dir = fallback;
    }
    static const char *const names[] = {"tcb_info.json", "qe_identity.json",
                                        "tcb_signing_chain.pem", "root_ca_crl.der",
                                        "pck_crl.der"};
    for (size_t i = 0; i < 5; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/sgx/phala_sgx_%s", dir, names[i]);
        FILE *f = fopen(path, "rb");
        if (f == NULL)
            continue;
        if (fseek(f, 0, SEEK_END) == 0) {
            long n = ftell(f);
            if (n > 0 && fseek(f, 0, SEEK_SET) == 0 && (g_part[i] = malloc((size_t)n)) != NULL) {
                if (fread(g_part[i], 1, (size_t)n, f) == (size_t)n) {
                    g_len[i] = (size_t)n;
                } else {
                    free(g_part[i]);
                    g_part[i] = NULL;
                }
            }
        }
        fclose(f);
    }
}

static void parse_bodies(const char *text, size_t len)
{
    dcap_tcb_info t;
    if (dcap_tcb_info_parse(text, len, &t) == WARD_OK) {
        check(t.n_levels > 0);
        for (size_t i = 1; i < t.n_levels; i++) /* sorted highest first */
            check(memcmp(t.levels[i - 1].sgx, t.levels[i].sgx, 16) >= 0);
        check(!t.is_tdx || t.has_module);
        dcap_tcb_info_free(&t);
    }
    dcap_qe_identity q;
    if (dcap_qe_identity_parse(text, len, &q) == WARD_OK) {
        check(q.n_levels > 0);
        for (size_t i = 1; i < q.n_levels; i++)
            check(q.levels[i - 1].isvsvn >= q.levels[i].isvsvn);
        dcap_qe_identity_free(&q);
    }
}

static void span_of(const char *text, size_t len, json_t *o, const char *member)
{
    const char *span = NULL;
    size_t span_len = 0;
    ward_err err = dcap_json_member_span(text, len, member, &span, &span_len);
    if (err == WARD_ERR_NOT_FOUND)
        check(json_object_get(o, member) == NULL);
    if (err) /* or FORMAT: an escaped top-level member name, which is refused */
        return;
    check(span >= text && span + span_len <= text + len);
    json_t *v = NULL;
    check(ward_json_parse(span, span_len, &v) == WARD_OK);
    check(json_equal(v, json_object_get(o, member)));
    json_decref(v);
    parse_bodies(span, span_len);
}

static void json_paths(const char *text, size_t len)
{
    json_t *o = NULL;
    if (ward_json_parse(text, len, &o) != WARD_OK)
        return;
    if (json_is_object(o)) {
        span_of(text, len, o, "tcbInfo");
        span_of(text, len, o, "enclaveIdentity");
        const json_t *ti = json_object_get(o, "tcb_info"), *qi = json_object_get(o, "qe_identity");
        if (json_is_string(ti))
            parse_bodies(json_string_value(ti), json_string_length(ti));
        if (json_is_string(qi))
            parse_bodies(json_string_value(qi), json_string_length(qi));
        ward_dcap_collateral *c = NULL;
        if (ward_dcap_collateral_load_qvl_json(text, len, NULL, T_SGX, &c) == WARD_OK)
            ward_dcap_collateral_free(c);
        else
            check(c == NULL && ward_errmsg()[0] != '\0');
    }
    json_decref(o);
}

static void crl_path(const uint8_t *der, size_t len)
{
    if (g_part[0] == NULL || g_part[1] == NULL || g_part[2] == NULL || g_part[3] == NULL)
        return;
    ward_dcap_collateral_src src = {g_part[0], g_len[0], g_part[1], g_len[1], g_part[2],
                                    g_len[2], NULL, 0, (const uint8_t *)g_part[3], g_len[3],
                                    der, len};
    ward_dcap_collateral *c = NULL;
    if (ward_dcap_collateral_load(&src, NULL, T_SGX, &c) == WARD_OK)
        ward_dcap_collateral_free(c);
    else
        check(c == NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!g_init)
        init();
    char *text = malloc(size == 0 ? 1 : size);
    if (text == NULL)
        return 0;
    if (size != 0)
        memcpy(text, data, size);

    parse_bodies(text, size);
    json_paths(text, size);
    if (size > 0 && data[0] == 0x30)
        crl_path((const uint8_t *)text, size);
    int64_t t = 0;
    (void)dcap_parse_time(text, size, "fuzz", &t);
    dcap_blob blobs[3];
    size_t n = 0;
    if (dcap_pem_decode(text, size, "CERTIFICATE", 1, blobs, 3, &n) == WARD_OK)
        dcap_blobs_free(blobs, n);
    if (dcap_pem_decode(text, size, "X509 CRL", 1, blobs, 1, &n) == WARD_OK)
        dcap_blobs_free(blobs, n);

    free(text);
    return 0;
}
