/* The evidence bundle (include/ward/evidence.h): make -> verify round trips for the software
 * TEE (pinned and enrolment-CA anchors), every refusal the verifier owes (wrong anchor, flipped
 * signature or report, a report for another key, a broken chain, each malformed member), the
 * hardware providers against emulated configfs-tsm and Gramine directories holding REAL
 * vectors, and the layered binding check.
 *
 * About the hardware binding, honestly: every real vector in ../shared/vectors was made on
 * someone else's machine, so its report_data cannot bind our platform key. With those vectors
 * the tests show the negative path end to end: the quote or report verifies against Intel's or
 * AMD's roots and is then refused with "does not bind the platform key" (and only for that
 * reason). The positive layered path can only be exercised with a constructed software
 * fixture: a stand-in hardware verifier (trust.hw_verify) over a made-up blob. That checks the
 * binding, the layering and the merged claims, not any hardware signature. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"
#include "ward/crypto.h"
#include "ward/dcap.h"
#include "ward/encoding.h"
#include "ward/evidence.h"
#include "ward/json.h"
#include "ward/report.h"
#include "ward/rot.h"
#include "ward/snp.h"
#include "ward/x509.h"

#define T_SGX INT64_C(1752919277)  /* 2025-07-19T10:01:17Z, SOURCES-intel.md SGX-1 */
#define T_TDX1 INT64_C(1752919234) /* 2025-07-19T10:00:34Z, SOURCES-intel.md TDX-1 */
#define T_GSG INT64_C(1666572928)  /* 2022-10-24T00:55:28Z, snp/expected.json gsg-milan-v2 */

#define OK(expr)                                                                               \
    do {                                                                                       \
        ward_err e_ = (expr);                                                                  \
        if (e_ != WARD_OK)                                                                     \
            fail_msg("%s: %s (%s)", #expr, ward_err_name(e_), ward_errmsg());                  \
    } while (0)

/* Expects err and a message containing needle. */
static void expect(ward_err got, ward_err want, const char *needle)
{
    if (got != want || (needle != NULL && strstr(ward_errmsg(), needle) == NULL))
        fail_msg("expected %s containing '%s', got %s: %s", ward_err_name(want),
                 needle ? needle : "", ward_err_name(got), ward_errmsg());
}

typedef struct fx {
    char *dir;
    ward_rot *rot, *rot2;
    uint8_t fp[WARD_SHA256_LEN], fp2[WARD_SHA256_LEN];
    uint8_t key_id[WARD_SHA256_LEN];
    uint8_t report[WARD_REPORT_LEN], sig[WARD_REPORT_SIG_LEN];
    uint8_t rd[64];
    char *json;
    size_t json_len;
} fx;

static char *sub(const char *dir, const char *name)
{
    char *p = malloc(strlen(dir) + strlen(name) + 2);
    assert_non_null(p);
    sprintf(p, "%s/%s", dir, name);
    return p;
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->dir = tu_mkdtemp();
    char *a = sub(f->dir, "node"), *b = sub(f->dir, "other");
    OK(ward_rot_open(a, 1, &f->rot));
    OK(ward_rot_open(b, 1, &f->rot2));
    free(a);
    free(b);
    OK(ward_cert_fingerprint(ward_rot_platform_cert(f->rot), f->fp));
    OK(ward_cert_fingerprint(ward_rot_platform_cert(f->rot2), f->fp2));
    ward_rot_platform_key_id(f->rot, f->key_id);
    for (size_t i = 0; i < 64; i++)
        f->rd[i] = (uint8_t)(0x5a ^ i);
    OK(ward_evidence_node_report(f->rot, f->rd, f->report, f->sig));
    ward_hw_provider none = {.kind = WARD_PROVIDER_NONE};
    OK(ward_evidence_make(f->rot, f->report, sizeof f->report, f->sig, &none, &f->json,
                          &f->json_len));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    ward_rot_close(f->rot);
    ward_rot_close(f->rot2);
    tu_rmtree(f->dir);
    free(f->dir);
    free(f->json);
    free(f);
    return 0;
}

static ward_evidence_trust pinned(const uint8_t (*fp)[WARD_SHA256_LEN])
{
    ward_evidence_trust t = {.pinned = fp, .n_pinned = 1};
    return t;
}

/* ---- round trips --------------------------------------------------------------------------- */

static void test_roundtrip_pinned(void **state)
{
    fx *f = *state;
    ward_evidence_trust t = pinned(&f->fp);
    ward_claims c;
    ward_evidence_result r;
    OK(ward_evidence_verify(f->json, f->json_len, &t, 0, &c, &r));
    assert_int_equal(c.kind, WARD_TEE_KIND_WARD_SW);
    assert_string_equal(ward_tee_kind_name(c.kind), "ward-sw");
    assert_int_equal(c.tcb_status, WARD_TCB_NOT_APPLICABLE);
    assert_int_equal(c.debug, 0);
    assert_int_equal(c.measurement_len, 32);
    uint8_t self[32];
    OK(ward_evidence_self_measurement(self));
    assert_memory_equal(c.measurement, self, 32);
    uint8_t zero[32] = {0};
    assert_int_equal(c.signer_len, 32);
    assert_memory_equal(c.signer, zero, 32);
    assert_memory_equal(c.report_data, f->rd, 64);
    assert_int_equal(c.quote_version, WARD_REPORT_VERSION);
    assert_int_equal(r.anchor, WARD_ANCHOR_PINNED);
    assert_int_equal(r.has_hw, 0);
    assert_int_equal(r.node_level, 1);
    assert_memory_equal(r.platform_key_id, f->key_id, 32);
    assert_memory_equal(r.platform_cert_sha256, f->fp, 32);
    /* Never more than the platform gives: no hardware claims at all. */
    assert_int_equal(c.n_advisories, 0);
    /* The same without the cache of parsed certificates. */
    ward_claims c2;
    t.flags = WARD_EVIDENCE_NO_CACHE;
    OK(ward_evidence_verify(f->json, f->json_len, &t, 0, &c2, NULL));
    assert_memory_equal(&c, &c2, sizeof c);

    /* The bundle is what docs/formats.md says. */
    json_t *j = NULL;
    OK(ward_json_parse(f->json, f->json_len, &j));
    assert_int_equal(json_integer_value(json_object_get(j, "version")), 1);
    assert_string_equal(json_string_value(json_object_get(j, "tee")), "ward-sw");
    assert_true(json_is_null(json_object_get(j, "hw")));
    assert_int_equal(json_array_size(json_object_get(j, "platform_cert_chain")), 1);
    json_decref(j);
}

static void test_roundtrip_ta_sim(void **state)
{
    fx *f = *state;
    ward_report r;
    memset(&r, 0, sizeof r);
    r.version = WARD_REPORT_VERSION;
    r.platform = WARD_PLATFORM_SW_SIM;
    r.attributes = WARD_ATTR_DEBUG;
    memset(r.measurement, 0x11, 32);
    memset(r.signer, 0x22, 32);
    r.product_id = 7;
    r.svn = 3;
    memset(r.report_data, 0x33, 64);
    memcpy(r.platform_key_id, f->key_id, 32);
    uint8_t rep[WARD_REPORT_LEN], sig[WARD_REPORT_SIG_LEN];
    OK(ward_report_encode(&r, rep));
    OK(ward_rot_sign(f->rot, rep, sizeof rep, sig));
    char *json = NULL;
    OK(ward_evidence_make_with_hw(f->rot, rep, sizeof rep, sig, NULL, &json, NULL));
    ward_evidence_trust t = pinned(&f->fp);
    ward_claims c;
    ward_evidence_result d;
    OK(ward_evidence_verify(json, strlen(json), &t, 0, &c, &d));
    assert_int_equal(c.kind, WARD_TEE_KIND_WARD_SIM);
    assert_int_equal(c.debug, 1);
    assert_int_equal(c.product_id, 7);
    assert_int_equal(c.svn, 3);
    assert_int_equal(d.node_level, 0);
    assert_memory_equal(c.signer, r.signer, 32);
    assert_non_null(strstr(json, "\"tee\":\"ward-sim\""));
    free(json);

    /* make refuses a report for another key, and a signature that does not fit. */
    ward_rot_platform_key_id(f->rot2, r.platform_key_id);
    OK(ward_report_encode(&r, rep));
    OK(ward_rot_sign(f->rot2, rep, sizeof rep, sig));
    expect(ward_evidence_make_with_hw(f->rot, rep, sizeof rep, sig, NULL, &json, NULL),
           WARD_ERR_VERIFY, "another platform key");
    assert_null(json);
    sig[5] ^= 1;
    expect(ward_evidence_make_with_hw(f->rot2, rep, sizeof rep, sig, NULL, &json, NULL),
           WARD_ERR_VERIFY, "signature");
}

/* ---- software-TEE refusals ----------------------------------------------------------------- */

static void test_wrong_anchor(void **state)
{
    fx *f = *state;
    ward_claims c;
    ward_evidence_trust t = pinned(&f->fp2);
    expect(ward_evidence_verify(f->json, f->json_len, &t, 0, &c, NULL), WARD_ERR_VERIFY,
           "not pinned");
    uint8_t zero[sizeof c];
    memset(zero, 0, sizeof zero);
    assert_memory_equal(&c, zero, sizeof c);
    /* No anchor at all. */
    expect(ward_evidence_verify(f->json, f->json_len, NULL, 0, &c, NULL), WARD_ERR_VERIFY,
           "no trust anchor");
    ward_evidence_trust empty = {0};
    expect(ward_evidence_verify(f->json, f->json_len, &empty, 0, &c, NULL), WARD_ERR_VERIFY,
           "no trust anchor");
    /* Pinned, but verified at a time outside the certificate's validity. */
    t = pinned(&f->fp);
    expect(ward_evidence_verify(f->json, f->json_len, &t, 1000000000, &c, NULL),
           WARD_ERR_VERIFY, "not valid at");
    /* A CA that did not issue it. */
    ward_pkey *k = NULL;
    ward_cert *ca = NULL;
    ward_cert_spec spec = {.common_name = "other CA", .not_before = 0,
                           .not_after = INT64_C(4102444800), .is_ca = 1, .path_len = -1};
    OK(ward_pkey_generate(WARD_KEY_EC_P256, &k));
    OK(ward_cert_create(&spec, k, NULL, k, &ca));
    ward_evidence_trust tc = {.cas = &ca, .n_cas = 1};
    expect(ward_evidence_verify(f->json, f->json_len, &tc, 0, &c, NULL), WARD_ERR_VERIFY,
           "does not chain to a trusted enrolment CA");
    ward_cert_free(ca);
    ward_pkey_free(k);
}

/* Replaces member key of the bundle's top level with the base64url of data. */
static char *with_b64(const char *json, const char *key, const uint8_t *data, size_t len)
{
    json_t *j = NULL;
    OK(ward_json_parse(json, strlen(json), &j));
    char *s = NULL;
    OK(ward_base64url_encode(data, len, &s, NULL));
    json_object_set_new(j, key, json_string(s));
    free(s);
    char *out = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(j);
    assert_non_null(out);
    return out;
}

static void test_flipped(void **state)
{
    fx *f = *state;
    ward_evidence_trust t = pinned(&f->fp);
    ward_claims c;
    /* Every bit of the signature, and one bit in each report field. */
    for (size_t bit = 0; bit < WARD_REPORT_SIG_LEN * 8; bit += 13) {
        uint8_t s[WARD_REPORT_SIG_LEN];
        memcpy(s, f->sig, sizeof s);
        s[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        char *j = with_b64(f->json, "signature", s, sizeof s);
        expect(ward_evidence_verify(j, strlen(j), &t, 0, &c, NULL), WARD_ERR_VERIFY,
               "signature does not verify");
        free(j);
    }
    static const size_t offs[] = {16, 48, 80, 82, 88, 104, 167};
    for (size_t i = 0; i < sizeof offs / sizeof offs[0]; i++) {
        uint8_t r[WARD_REPORT_LEN];
        memcpy(r, f->report, sizeof r);
        r[offs[i]] ^= 0x01;
        char *j = with_b64(f->json, "report", r, sizeof r);
        expect(ward_evidence_verify(j, strlen(j), &t, 0, &c, NULL), WARD_ERR_VERIFY,
               "signature does not verify");
        free(j);
    }
    /* platform_key_id changed: refused as another key (before the signature). */
    uint8_t r[WARD_REPORT_LEN];
    memcpy(r, f->report, sizeof r);
    r[170] ^= 0x80;
    char *j = with_b64(f->json, "report", r, sizeof r);
    expect(ward_evidence_verify(j, strlen(j), &t, 0, &c, NULL), WARD_ERR_VERIFY,
           "another platform key");
    free(j);
    /* Reserved bytes are strict even under a valid-looking bundle. */
    memcpy(r, f->report, sizeof r);
    r[84] = 1;
    j = with_b64(f->json, "report", r, sizeof r);
    expect(ward_evidence_verify(j, strlen(j), &t, 0, &c, NULL), WARD_ERR_FORMAT, NULL);
    free(j);
}

/* A report signed by another node's key, presented with our certificate, and the reverse. */
static void test_other_key(void **state)
{
    fx *f = *state;
    ward_claims c;
    uint8_t rep2[WARD_REPORT_LEN], sig2[WARD_REPORT_SIG_LEN];
    OK(ward_evidence_node_report(f->rot2, f->rd, rep2, sig2));
    /* other node's report and signature, our certificate (pinned): the report names its key */
    char *j1 = with_b64(f->json, "report", rep2, sizeof rep2);
    char *j2 = with_b64(j1, "signature", sig2, sizeof sig2);
    ward_evidence_trust t = pinned(&f->fp);
    expect(ward_evidence_verify(j2, strlen(j2), &t, 0, &c, NULL), WARD_ERR_VERIFY,
           "another platform key");
    free(j1);
    free(j2);
    /* A report naming our key but signed by the other node's key. */
    ward_report r;
    OK(ward_report_decode(f->report, sizeof f->report, &r));
    r.svn = 9;
    uint8_t rep[WARD_REPORT_LEN], sig[WARD_REPORT_SIG_LEN];
    OK(ward_report_encode(&r, rep));
    OK(ward_rot_sign(f->rot2, rep, sizeof rep, sig));
    j1 = with_b64(f->json, "report", rep, sizeof rep);
    j2 = with_b64(j1, "signature", sig, sizeof sig);
    expect(ward_evidence_verify(j2, strlen(j2), &t, 0, &c, NULL), WARD_ERR_VERIFY,
           "signature does not verify");
    free(j1);
    free(j2);
}

/* ---- enrolment CA ------------------------------------------------------------------------- */

static char *with_chain(const char *json, ward_cert *const *certs, size_t n)
{
    json_t *j = NULL;
    OK(ward_json_parse(json, strlen(json), &j));
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        uint8_t *der = NULL;
        size_t len = 0;
        char *s = NULL;
        OK(ward_cert_to_der(certs[i], &der, &len));
        OK(ward_base64_encode(der, len, &s, NULL));
        json_array_append_new(arr, json_string(s));
        free(s);
        free(der);
    }
    json_object_set_new(j, "platform_cert_chain", arr);
    char *out = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(j);
    return out;
}

static void test_enrolment_ca(void **state)
{
    fx *f = *state;
    int64_t now = (int64_t)time(NULL);
    ward_pkey *root_k = NULL, *int_k = NULL, *node_pub = NULL;
    ward_cert *root = NULL, *inter = NULL, *leaf = NULL, *leaf_direct = NULL;
    OK(ward_pkey_generate(WARD_KEY_EC_P256, &root_k));
    OK(ward_pkey_generate(WARD_KEY_EC_P256, &int_k));
    OK(ward_cert_public_key(ward_rot_platform_cert(f->rot), &node_pub));
    ward_cert_spec rs = {.common_name = "Ward enrolment root", .not_before = now - 3600,
                         .not_after = now + 86400 * 30, .is_ca = 1, .path_len = -1};
    OK(ward_cert_create(&rs, root_k, NULL, root_k, &root));
    ward_cert_spec is = rs;
    is.common_name = "Ward enrolment intermediate";
    OK(ward_cert_create(&is, int_k, root, root_k, &inter));
    ward_cert_spec ls = {.common_name = "ward platform (enrolled)", .not_before = now - 3600,
                         .not_after = now + 86400, .is_ca = 0, .path_len = -1};
    OK(ward_cert_create(&ls, node_pub, inter, int_k, &leaf));
    OK(ward_cert_create(&ls, node_pub, root, root_k, &leaf_direct));

    ward_claims c;
    ward_evidence_result r;
    ward_evidence_trust t = {.cas = &root, .n_cas = 1};
    /* leaf issued by the root directly */
    char *j = with_chain(f->json, &leaf_direct, 1);
    OK(ward_evidence_verify(j, strlen(j), &t, 0, &c, &r));
    assert_int_equal(r.anchor, WARD_ANCHOR_CA);
    assert_int_equal(c.kind, WARD_TEE_KIND_WARD_SW);
    free(j);
    /* leaf -> intermediate -> root */
    ward_cert *chain[2] = {leaf, inter};
    j = with_chain(f->json, chain, 2);
    OK(ward_evidence_verify(j, strlen(j), &t, 0, &c, &r));
    assert_int_equal(r.anchor, WARD_ANCHOR_CA);
    /* expired at a later time */
    expect(ward_evidence_verify(j, strlen(j), &t, now + 86400 * 2, &c, NULL), WARD_ERR_VERIFY,
           "enrolment CA");
    free(j);
    /* chain broken: the intermediate left out */
    j = with_chain(f->json, &leaf, 1);
    expect(ward_evidence_verify(j, strlen(j), &t, 0, &c, NULL), WARD_ERR_VERIFY,
           "does not chain to a trusted enrolment CA");
    free(j);
    /* chain broken: the wrong intermediate (the root in its place) */
    ward_cert *bad[2] = {leaf, root};
    j = with_chain(f->json, bad, 2);
    expect(ward_evidence_verify(j, strlen(j), &t, 0, &c, NULL), WARD_ERR_VERIFY,
           "enrolment CA");
    free(j);
    /* a leaf for another key under the right CA: the report's key id no longer matches */
    ward_pkey *other = NULL;
    ward_cert *leaf_other = NULL;
    OK(ward_cert_public_key(ward_rot_platform_cert(f->rot2), &other));
    OK(ward_cert_create(&ls, other, root, root_k, &leaf_other));
    j = with_chain(f->json, &leaf_other, 1);
    expect(ward_evidence_verify(j, strlen(j), &t, 0, &c, NULL), WARD_ERR_VERIFY,
           "another platform key");
    free(j);
    /* revoked by the CA's CRL */
    char *serial = NULL;
    OK(ward_cert_serial_hex(leaf_direct, &serial));
    ward_crl *crl = NULL;
    const char *serials[1] = {serial};
    OK(ward_crl_create(root, root_k, serials, 1, now - 60, now + 86400, &crl));
    ward_evidence_trust tr = {.cas = &root, .n_cas = 1, .crls = &crl, .n_crls = 1};
    j = with_chain(f->json, &leaf_direct, 1);
    expect(ward_evidence_verify(j, strlen(j), &tr, 0, &c, NULL), WARD_ERR_VERIFY,
           "enrolment CA");
    free(j);
    ward_crl_free(crl);
    free(serial);
    ward_cert_free(leaf_other);
    ward_pkey_free(other);
    ward_cert_free(leaf);
    ward_cert_free(leaf_direct);
    ward_cert_free(inter);
    ward_cert_free(root);
    ward_pkey_free(node_pub);
    ward_pkey_free(int_k);
    ward_pkey_free(root_k);
}

/* ---- malformed members ---------------------------------------------------------------------- */

typedef struct mut {
    const char *what;
    const char *key;     /* top-level member, or "hw.X" */
    const char *value;   /* JSON text; NULL: delete the member */
    ward_err want;
    const char *needle;
} mut;

static char *mutate(const char *json, const mut *m)
{
    json_t *j = NULL;
    OK(ward_json_parse(json, strlen(json), &j));
    json_t *target = j;
    const char *key = m->key;
    if (strncmp(key, "hw.", 3) == 0) {
        target = json_object_get(j, "hw");
        key += 3;
    }
    if (m->value == NULL) {
        json_object_del(target, key);
    } else {
        json_error_t e;
        json_t *v = json_loads(m->value, JSON_DECODE_ANY, &e);
        assert_non_null(v);
        json_object_set_new(target, key, v);
    }
    char *out = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(j);
    return out;
}

static void test_malformed(void **state)
{
    fx *f = *state;
    ward_evidence_trust t = pinned(&f->fp);
    ward_claims c;
    /* a valid bundle with a (fake) tdx hw member, for the hw.* mutations */
    ward_hw_evidence hw = {.kind = WARD_HW_TDX, .evidence = (uint8_t *)"QUOTE",
                           .evidence_len = 5};
    char *hwjson = NULL;
    OK(ward_evidence_make_with_hw(f->rot, f->report, sizeof f->report, f->sig, &hw, &hwjson,
                                  NULL));
    static const mut muts[] = {
        {"no version", "version", NULL, WARD_ERR_FORMAT, "\"version\""},
        {"version string", "version", "\"1\"", WARD_ERR_FORMAT, "\"version\""},
        {"version 2", "version", "2", WARD_ERR_UNSUPPORTED, "version 2"},
        {"version real", "version", "1.0", WARD_ERR_FORMAT, NULL},
        {"no tee", "tee", NULL, WARD_ERR_FORMAT, "\"tee\""},
        {"tee number", "tee", "1", WARD_ERR_FORMAT, "\"tee\""},
        {"tee sgx", "tee", "\"sgx\"", WARD_ERR_UNSUPPORTED, "\"tee\""},
        {"tee mismatch", "tee", "\"ward-sim\"", WARD_ERR_VERIFY, "\"tee\" is ward-sim"},
        {"no report", "report", NULL, WARD_ERR_FORMAT, "\"report\""},
        {"report number", "report", "5", WARD_ERR_FORMAT, "\"report\""},
        {"report empty", "report", "\"\"", WARD_ERR_FORMAT, "\"report\""},
        {"report padded b64", "report", "\"AAAA==\"", WARD_ERR_FORMAT, "\"report\""},
        {"report short", "report", "\"V1JQVAEA\"", WARD_ERR_TRUNCATED, NULL},
        {"report long", "report", "\"" "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB"
                                  "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB"
                                  "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB"
                                  "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB"
                                  "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB"
                                  "\"", WARD_ERR_LIMIT, "\"report\""},
        {"no signature", "signature", NULL, WARD_ERR_FORMAT, "\"signature\""},
        {"signature short", "signature", "\"AAAA\"", WARD_ERR_FORMAT, "ECDSA P-256"},
        {"signature bad b64", "signature", "\"!!!!\"", WARD_ERR_FORMAT, "\"signature\""},
        {"no chain", "platform_cert_chain", NULL, WARD_ERR_FORMAT, "platform_cert_chain"},
        {"chain object", "platform_cert_chain", "{}", WARD_ERR_FORMAT, "platform_cert_chain"},
        {"chain empty", "platform_cert_chain", "[]", WARD_ERR_FORMAT, "0 certificates"},
        {"chain too long", "platform_cert_chain",
         "[\"MA==\",\"MA==\",\"MA==\",\"MA==\",\"MA==\",\"MA==\",\"MA==\",\"MA==\",\"MA==\"]",
         WARD_ERR_FORMAT, "9 certificates"},
        {"chain number", "platform_cert_chain", "[1]", WARD_ERR_FORMAT, "platform_cert_chain[0]"},
        {"chain not DER", "platform_cert_chain", "[\"AAECAw==\"]", WARD_ERR_FORMAT,
         "platform_cert_chain[0]"},
        {"chain b64url", "platform_cert_chain", "[\"_-8\"]", WARD_ERR_FORMAT,
         "platform_cert_chain[0]"},
        {"no hw", "hw", NULL, WARD_ERR_FORMAT, "\"hw\" missing"},
        {"hw string", "hw", "\"tdx\"", WARD_ERR_FORMAT, "\"hw\""},
        {"hw array", "hw", "[]", WARD_ERR_FORMAT, "\"hw\""},
        {"hw no kind", "hw", "{\"quote\":\"AAAA\"}", WARD_ERR_FORMAT, "\"kind\""},
        {"hw unknown kind", "hw", "{\"kind\":\"tpm\",\"quote\":\"AAAA\"}",
         WARD_ERR_UNSUPPORTED, "tpm"},
        {"hw tdx without quote", "hw", "{\"kind\":\"tdx\",\"report\":\"AAAA\"}",
         WARD_ERR_FORMAT, "report"},
        {"hw tdx with auxblob", "hw", "{\"kind\":\"tdx\",\"quote\":\"AAAA\",\"auxblob\":\"AAAA\"}",
         WARD_ERR_FORMAT, "auxblob"},
        {"hw snp without report", "hw", "{\"kind\":\"snp\",\"quote\":\"AAAA\"}",
         WARD_ERR_FORMAT, NULL},
        {"hw quote not b64", "hw.quote", "\"A\"", WARD_ERR_FORMAT, "quote"},
        {"hw quote empty", "hw.quote", "\"\"", WARD_ERR_FORMAT, "quote"},
        {"hw provider long", "hw.provider", "\"0123456789012345678901234567890123\"",
         WARD_ERR_FORMAT, "provider"},
        {"hw extra", "hw.extra", "1", WARD_ERR_FORMAT, "extra"},
        {"extra member", "extra", "null", WARD_ERR_FORMAT, "unknown member \"extra\""},
    };
    for (size_t i = 0; i < sizeof muts / sizeof muts[0]; i++) {
        const mut *m = &muts[i];
        int on_hw = strncmp(m->key, "hw.", 3) == 0;
        char *j = mutate(on_hw ? hwjson : f->json, m);
        ward_err e = ward_evidence_verify(j, strlen(j), &t, 0, &c, NULL);
        if (e != m->want || (m->needle != NULL && strstr(ward_errmsg(), m->needle) == NULL))
            fail_msg("%s: expected %s ('%s'), got %s: %s", m->what, ward_err_name(m->want),
                     m->needle ? m->needle : "", ward_err_name(e), ward_errmsg());
        free(j);
    }
    /* Text-level faults: not an object, trailing data, duplicate key, truncation, NUL. */
    static const char *const texts[] = {"[]", "null", "", "{", "{\"version\":1,\"version\":1}"};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        assert_int_equal(ward_evidence_verify(texts[i], strlen(texts[i]), &t, 0, &c, NULL),
                         WARD_ERR_FORMAT);
    char *trail = malloc(f->json_len + 3);
    memcpy(trail, f->json, f->json_len);
    memcpy(trail + f->json_len, " x", 3);
    assert_int_equal(ward_evidence_verify(trail, f->json_len + 2, &t, 0, &c, NULL),
                     WARD_ERR_FORMAT);
    for (size_t n = 0; n < f->json_len; n += 37)
        assert_int_not_equal(ward_evidence_verify(f->json, n, &t, 0, &c, NULL), WARD_OK);
    free(trail);
    free(hwjson);
    expect(ward_evidence_verify(NULL, 0, &t, 0, &c, NULL), WARD_ERR_INVALID_ARG, NULL);
    expect(ward_evidence_verify(f->json, WARD_EVIDENCE_MAX_LEN + 1, &t, 0, &c, NULL),
           WARD_ERR_LIMIT, NULL);
}

/* ---- configfs-tsm emulation ----------------------------------------------------------------- */

typedef struct kemu {
    const char *provider;     /* what `provider` says */
    const char *outblob_path; /* vector to serve as outblob */
    const uint8_t *aux;       /* auxblob content, or NULL (attribute hidden) */
    size_t aux_len;
    int race_attempts;        /* attempts on which a concurrent writer also writes */
    int attempts;
    int created, removed;
    uint8_t inblob[64];
    char entry[512];
} kemu;

static void put_file(const char *dir, const char *name, const void *data, size_t len)
{
    char *p = sub(dir, name);
    FILE *fp = fopen(p, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, len, fp), len);
    fclose(fp);
    free(p);
}

static uint64_t get_gen(const char *dir)
{
    char *p = sub(dir, "generation");
    size_t len = 0;
    uint8_t *b = tu_read_file(p, &len);
    uint64_t g = strtoull((char *)b, NULL, 10);
    free(b);
    free(p);
    return g;
}

static void put_gen(const char *dir, uint64_t g)
{
    char t[32];
    int n = snprintf(t, sizeof t, "%llu\n", (unsigned long long)g);
    put_file(dir, "generation", t, (size_t)n);
}

/* The kernel's part: attributes appear on mkdir, a write bumps generation, the outblob is
 * "generated" (here: a real vector placed in advance), attributes go with rmdir. */
static int kernel(void *ctx, const char *dir, ward_provider_stage stage)
{
    kemu *k = ctx;
    if (stage == WARD_PROVIDER_STAGE_CREATED) {
        k->created++;
        snprintf(k->entry, sizeof k->entry, "%s", dir);
        put_file(dir, "provider", k->provider, strlen(k->provider));
        put_file(dir, "inblob", "", 0);
        put_gen(dir, 0);
        size_t n = 0;
        uint8_t *v = tu_read_file(k->outblob_path, &n);
        put_file(dir, "outblob", v, n);
        free(v);
        if (k->aux != NULL)
            put_file(dir, "auxblob", k->aux, k->aux_len);
    } else if (stage == WARD_PROVIDER_STAGE_WRITTEN) {
        k->attempts++;
        char *p = sub(dir, "inblob");
        size_t n = 0;
        uint8_t *b = tu_read_file(p, &n);
        assert_int_equal(n, 64);
        memcpy(k->inblob, b, 64);
        free(b);
        free(p);
        uint64_t g = get_gen(dir) + 1;
        if (k->attempts <= k->race_attempts)
            g++; /* another writer got in between */
        put_gen(dir, g);
    } else if (stage == WARD_PROVIDER_STAGE_REMOVING) {
        k->removed++;
        static const char *const names[] = {"provider", "inblob", "outblob", "auxblob",
                                            "generation"};
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
            char *p = sub(dir, names[i]);
            unlink(p);
            free(p);
        }
    }
    return 0;
}

static int dir_is_empty(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "test -z \"$(ls -A '%s')\"", dir);
    return system(cmd) == 0;
}

static ward_dcap_collateral *tdx_collateral(void)
{
    size_t n = 0;
    uint8_t *t = tu_read_file(tu_vector_path("tdx/phala_tdx_v4_collateral.json"), &n);
    ward_dcap_collateral *c = NULL;
    OK(ward_dcap_collateral_load_qvl_json((char *)t, n, NULL, T_TDX1, &c));
    free(t);
    return c;
}

static void test_configfs_tdx(void **state)
{
    fx *f = *state;
    char *root = sub(f->dir, "tsm-report");
    assert_int_equal(mkdir(root, 0700), 0);
    char vec[4096];
    snprintf(vec, sizeof vec, "%s", tu_vector_path("tdx/phala_tdx_v4_quote.bin"));
    kemu k = {.provider = "tdx_guest\n", .outblob_path = vec};
    ward_hw_provider p = {.kind = WARD_PROVIDER_CONFIGFS, .configfs_root = root,
                          .test_hook = kernel, .test_ctx = &k};
    char *json = NULL;
    OK(ward_evidence_make(f->rot, f->report, sizeof f->report, f->sig, &p, &json, NULL));
    assert_int_equal(k.created, 1);
    assert_int_equal(k.attempts, 1);
    assert_int_equal(k.removed, 1);
    assert_true(dir_is_empty(root)); /* the entry was removed */
    /* inblob got the binding of our platform key */
    uint8_t want[64];
    ward_evidence_hw_binding(f->key_id, want);
    assert_memory_equal(k.inblob, want, 64);
    /* the bundle carries the real quote, unchanged */
    json_t *j = NULL;
    OK(ward_json_parse(json, strlen(json), &j));
    json_t *hw = json_object_get(j, "hw");
    assert_string_equal(json_string_value(json_object_get(hw, "kind")), "tdx");
    assert_string_equal(json_string_value(json_object_get(hw, "provider")),
                        "configfs-tsm/tdx_guest");
    uint8_t *q = NULL;
    size_t qn = 0, vn = 0;
    OK(ward_base64_decode(json_string_value(json_object_get(hw, "quote")),
                          json_string_length(json_object_get(hw, "quote")), &q, &qn));
    uint8_t *v = tu_read_file(vec, &vn);
    assert_int_equal(qn, vn);
    assert_memory_equal(q, v, vn);
    free(q);
    free(v);
    json_decref(j);

    /* Verification: the real quote verifies against Intel's root with its collateral, and is
     * then refused because its report_data (made elsewhere) does not bind our key. */
    ward_dcap_collateral *col = tdx_collateral();
    /* No software anchor: the hardware is the anchor (our platform certificate was made today,
     * so it is not valid at the vector's time, which a pinned anchor would check). */
    ward_evidence_trust th = {.dcap = (const ward_dcap_collateral *const *)&col, .n_dcap = 1};
    ward_claims c;
    expect(ward_evidence_verify(json, strlen(json), &th, T_TDX1, &c, NULL), WARD_ERR_VERIFY,
           "does not bind the platform key");
    assert_non_null(strstr(ward_errmsg(), "9a9d48e7")); /* the quote's REPORTDATA */
    /* With a pinned anchor as well, the anchor is checked at the same time `at`. */
    ward_evidence_trust t = th;
    t.pinned = &f->fp;
    t.n_pinned = 1;
    expect(ward_evidence_verify(json, strlen(json), &t, T_TDX1, &c, NULL), WARD_ERR_VERIFY,
           "not valid at");
    /* Outside the collateral's window the quote itself fails first. */
    expect(ward_evidence_verify(json, strlen(json), &th, T_TDX1 + 86400 * 30, &c, NULL),
           WARD_ERR_VERIFY, "tdx hardware evidence");
    /* No collateral: refused, never downgraded to software-only. */
    ward_evidence_trust tn = {0};
    expect(ward_evidence_verify(json, strlen(json), &tn, T_TDX1, &c, NULL), WARD_ERR_VERIFY,
           "no TDX collateral");
    ward_dcap_collateral_free(col);
    free(json);
    free(root);
}

static void test_configfs_generation(void **state)
{
    fx *f = *state;
    char *root = sub(f->dir, "tsm-gen");
    assert_int_equal(mkdir(root, 0700), 0);
    char vec[4096];
    snprintf(vec, sizeof vec, "%s", tu_vector_path("tdx/phala_tdx_v4_quote.bin"));
    uint8_t rd[64] = {1};
    ward_hw_evidence hw;

    /* A writer races on every attempt: refused, entry removed. */
    kemu k = {.provider = "tdx_guest", .outblob_path = vec, .race_attempts = 100};
    ward_hw_provider p = {.kind = WARD_PROVIDER_CONFIGFS, .configfs_root = root,
                          .test_hook = kernel, .test_ctx = &k};
    expect(ward_hw_collect(&p, rd, &hw), WARD_ERR_STATE, "concurrent writer");
    assert_non_null(strstr(ward_errmsg(), "3 attempts"));
    assert_int_equal(k.attempts, 3);
    assert_int_equal(hw.kind, WARD_HW_NONE);
    assert_null(hw.evidence);
    assert_int_equal(k.removed, 1);
    assert_true(dir_is_empty(root));

    /* One attempt allowed, one race: refused after one. */
    kemu k1 = {.provider = "tdx_guest", .outblob_path = vec, .race_attempts = 1};
    p.test_ctx = &k1;
    p.max_attempts = 1;
    expect(ward_hw_collect(&p, rd, &hw), WARD_ERR_STATE, "generation went from 0 to 2");

    /* A race on the first attempt only: the retry succeeds. */
    kemu k2 = {.provider = "tdx_guest", .outblob_path = vec, .race_attempts = 1};
    p.test_ctx = &k2;
    p.max_attempts = 0;
    OK(ward_hw_collect(&p, rd, &hw));
    assert_int_equal(k2.attempts, 2);
    assert_int_equal(hw.kind, WARD_HW_TDX);
    assert_memory_equal(k2.inblob, rd, 64);
    ward_hw_evidence_clear(&hw);

    /* An unknown provider, an empty outblob, a garbage generation. */
    kemu k3 = {.provider = "pkvm_guest", .outblob_path = vec};
    p.test_ctx = &k3;
    expect(ward_hw_collect(&p, rd, &hw), WARD_ERR_UNSUPPORTED, "pkvm_guest");
    assert_true(dir_is_empty(root));
    char *empty = sub(f->dir, "empty.bin");
    put_file(f->dir, "empty.bin", "", 0);
    kemu k4 = {.provider = "tdx_guest", .outblob_path = empty};
    p.test_ctx = &k4;
    expect(ward_hw_collect(&p, rd, &hw), WARD_ERR_FORMAT, "empty");
    free(empty);

    /* Absent configfs: forced is an error, auto falls through to none. */
    char *missing = sub(f->dir, "no-such-dir");
    ward_hw_provider pm = {.kind = WARD_PROVIDER_CONFIGFS, .configfs_root = missing};
    expect(ward_hw_collect(&pm, rd, &hw), WARD_ERR_NOT_FOUND, "no TEE report provider");
    ward_hw_provider pa = {.kind = WARD_PROVIDER_AUTO, .configfs_root = missing,
                           .gramine_root = missing};
    OK(ward_hw_collect(&pa, rd, &hw));
    assert_int_equal(hw.kind, WARD_HW_NONE);
    free(missing);
    free(root);
}

/* SEV-SNP through configfs: outblob = a real report, auxblob = a certificate table holding its
 * real VCEK. The report verifies against AMD's Milan chain; the binding is refused. */
static void test_configfs_snp(void **state)
{
    fx *f = *state;
    char *root = sub(f->dir, "tsm-snp");
    assert_int_equal(mkdir(root, 0700), 0);
    size_t vl = 0;
    uint8_t *vcek = tu_read_file(tu_vector_path("snp/gsg-milan-v2/vcek.der"), &vl);
    /* table: VCEK entry, zero entry, then the certificate */
    size_t tl = 48 + vl;
    uint8_t *table = calloc(1, tl);
    static const uint8_t vcek_guid[16] = {0x63, 0xda, 0x75, 0x8d, 0xe6, 0x64, 0x45, 0x64,
                                          0xad, 0xc5, 0xf4, 0xb9, 0x3b, 0xe8, 0xac, 0xcd};
    memcpy(table, vcek_guid, 16);
    table[16] = 48;
    table[20] = (uint8_t)(vl & 0xff);
    table[21] = (uint8_t)(vl >> 8);
    memcpy(table + 48, vcek, vl);
    char vec[4096];
    snprintf(vec, sizeof vec, "%s", tu_vector_path("snp/gsg-milan-v2/report.bin"));
    kemu k = {.provider = "sev_guest", .outblob_path = vec, .aux = table, .aux_len = tl};
    ward_hw_provider p = {.kind = WARD_PROVIDER_CONFIGFS, .configfs_root = root,
                          .test_hook = kernel, .test_ctx = &k};
    char *json = NULL;
    OK(ward_evidence_make(f->rot, f->report, sizeof f->report, f->sig, &p, &json, NULL));
    assert_non_null(strstr(json, "\"kind\":\"snp\""));
    assert_non_null(strstr(json, "\"auxblob\""));

    size_t cl = 0;
    uint8_t *chain = tu_read_file(tu_vector_path("snp/amd/milan_ask_ark_asvk.pem"), &cl);
    ward_snp_verifier *v = NULL;
    OK(ward_snp_verifier_new((char *)chain, cl, 0, &v));
    ward_evidence_trust t = {.snp = v};
    ward_claims c;
    expect(ward_evidence_verify(json, strlen(json), &t, T_GSG, &c, NULL), WARD_ERR_VERIFY,
           "does not bind the platform key");
    assert_non_null(strstr(ward_errmsg(), "01020304")); /* the report's REPORT_DATA */
    /* Without the auxblob (no VCEK in the bundle) and no VCEK from the caller: refused for
     * that reason. */
    json_t *j = NULL;
    OK(ward_json_parse(json, strlen(json), &j));
    json_object_del(json_object_get(j, "hw"), "auxblob");
    char *noaux = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    expect(ward_evidence_verify(noaux, strlen(noaux), &t, T_GSG, &c, NULL), WARD_ERR_VERIFY,
           "no VCEK certificate");
    /* ... and with the VCEK given by the caller instead: back to the binding refusal. */
    t.snp_vek = vcek;
    t.snp_vek_len = vl;
    expect(ward_evidence_verify(noaux, strlen(noaux), &t, T_GSG, &c, NULL), WARD_ERR_VERIFY,
           "does not bind the platform key");
    /* No AMD chain. */
    ward_evidence_trust tn = {0};
    expect(ward_evidence_verify(json, strlen(json), &tn, T_GSG, &c, NULL), WARD_ERR_VERIFY,
           "AMD certificate chain");
    free(noaux);
    ward_snp_verifier_free(v);
    free(chain);
    free(json);
    free(table);
    free(vcek);
    free(root);
}

/* ---- Gramine emulation ---------------------------------------------------------------------- */

static void test_gramine(void **state)
{
    fx *f = *state;
    char *root = sub(f->dir, "attestation");
    assert_int_equal(mkdir(root, 0700), 0);
    put_file(root, "attestation_type", "dcap", 4);
    put_file(root, "user_report_data", "", 0);
    size_t qn = 0;
    uint8_t *q = tu_read_file(tu_vector_path("sgx/phala_sgx_v3_quote.bin"), &qn);
    put_file(root, "quote", q, qn);
    ward_hw_provider p = {.kind = WARD_PROVIDER_GRAMINE, .gramine_root = root};
    char *json = NULL;
    OK(ward_evidence_make(f->rot, f->report, sizeof f->report, f->sig, &p, &json, NULL));
    assert_non_null(strstr(json, "\"kind\":\"sgx\""));
    assert_non_null(strstr(json, "\"provider\":\"gramine\""));
    /* user_report_data holds the binding */
    char *urd = sub(root, "user_report_data");
    size_t un = 0;
    uint8_t *u = tu_read_file(urd, &un);
    uint8_t want[64];
    ward_evidence_hw_binding(f->key_id, want);
    assert_int_equal(un, 64);
    assert_memory_equal(u, want, 64);
    free(u);
    free(urd);

    size_t cn = 0;
    uint8_t *ct = tu_read_file(tu_vector_path("sgx/phala_sgx_collateral.json"), &cn);
    ward_dcap_collateral *col = NULL;
    OK(ward_dcap_collateral_load_qvl_json((char *)ct, cn, NULL, T_SGX, &col));
    ward_dcap_collateral *tdx = tdx_collateral();
    /* both collaterals given: the SGX one is picked for the SGX quote */
    const ward_dcap_collateral *cols[2] = {tdx, col};
    ward_evidence_trust t = {.dcap = cols, .n_dcap = 2};
    ward_claims c;
    expect(ward_evidence_verify(json, strlen(json), &t, T_SGX, &c, NULL), WARD_ERR_VERIFY,
           "does not bind the platform key");
    /* A quote relabelled tdx: the TDX collateral does not fit it. */
    char *re = strstr(json, "\"kind\":\"sgx\"");
    memcpy(re + 8, "tdx", 3);
    expect(ward_evidence_verify(json, strlen(json), &t, T_SGX, &c, NULL), WARD_ERR_VERIFY,
           "tdx hardware evidence");
    ward_dcap_collateral_free(col);
    ward_dcap_collateral_free(tdx);
    free(ct);
    free(json);

    /* attestation_type none: no remote evidence */
    put_file(root, "attestation_type", "none\n", 5);
    ward_hw_evidence hw;
    uint8_t rd[64] = {0};
    expect(ward_hw_collect(&p, rd, &hw), WARD_ERR_UNSUPPORTED, "attestation type 'none'");
    /* auto picks Gramine when there is no configfs */
    put_file(root, "attestation_type", "dcap\n", 5);
    char *missing = sub(f->dir, "no-configfs");
    ward_hw_provider pa = {.kind = WARD_PROVIDER_AUTO, .configfs_root = missing,
                           .gramine_root = root};
    OK(ward_hw_collect(&pa, rd, &hw));
    assert_int_equal(hw.kind, WARD_HW_SGX);
    assert_int_equal(hw.evidence_len, qn);
    ward_hw_evidence_clear(&hw);
    /* user_report_data missing: an error, never a created file */
    char *urd2 = sub(root, "user_report_data");
    unlink(urd2);
    expect(ward_hw_collect(&p, rd, &hw), WARD_ERR_NOT_FOUND, "user_report_data");
    assert_int_not_equal(access(urd2, F_OK), 0);
    free(urd2);
    free(missing);
    free(q);
    free(root);
}

/* ---- the layered path with a constructed fixture ------------------------------------------- */

/* A stand-in "hardware verifier": evidence = "FAKEHW" || report_data[64]. It is a software
 * fixture, nothing more: it shows the binding check, the layering and the merged claims. */
static ward_err fake_hw(void *ctx, ward_hw_kind kind, const uint8_t *ev, size_t len,
                        const uint8_t *aux, size_t aux_len, int64_t at, ward_claims *out)
{
    (void)ctx;
    (void)aux;
    (void)aux_len;
    (void)at;
    if (kind != WARD_HW_TDX || len != 70 || memcmp(ev, "FAKEHW", 6) != 0)
        return ward_err_set(WARD_ERR_VERIFY, "fake hardware: not mine");
    memset(out, 0, sizeof *out);
    out->kind = WARD_TEE_KIND_TDX;
    memset(out->measurement, 0xaa, 48);
    out->measurement_len = 48;
    out->signer_len = 48;
    out->tcb_status = WARD_TCB_UP_TO_DATE;
    memset(out->tdx_rtmr[1], 0xbb, 48);
    out->debug = *(const int *)ctx;
    out->quote_version = 4;
    memcpy(out->report_data, ev + 6, 64);
    return WARD_OK;
}

static void test_layered_fixture(void **state)
{
    fx *f = *state;
    uint8_t blob[70];
    memcpy(blob, "FAKEHW", 6);
    ward_evidence_hw_binding(f->key_id, blob + 6);
    ward_hw_evidence hw = {.kind = WARD_HW_TDX, .evidence = blob, .evidence_len = sizeof blob};
    char *json = NULL;
    OK(ward_evidence_make_with_hw(f->rot, f->report, sizeof f->report, f->sig, &hw, &json,
                                  NULL));
    int hw_debug = 0;
    ward_evidence_trust t = {.hw_verify = fake_hw, .hw_verify_ctx = &hw_debug};
    ward_claims c;
    ward_evidence_result r;
    OK(ward_evidence_verify(json, strlen(json), &t, 0, &c, &r));
    assert_int_equal(r.anchor, WARD_ANCHOR_HARDWARE);
    assert_int_equal(r.has_hw, 1);
    assert_int_equal(r.hw_kind, WARD_HW_TDX);
    /* merged: hardware kind and TCB, the TA's identity and report_data */
    assert_int_equal(c.kind, WARD_TEE_KIND_TDX);
    assert_int_equal(c.tcb_status, WARD_TCB_UP_TO_DATE);
    assert_int_equal(c.measurement_len, 32);
    assert_memory_equal(c.measurement, r.ta.measurement, 32);
    assert_memory_equal(c.report_data, f->rd, 64);
    assert_int_equal(c.tdx_rtmr[1][0], 0xbb);
    assert_int_equal(c.debug, 0);
    /* both layers kept apart in the detail */
    assert_int_equal(r.ta.kind, WARD_TEE_KIND_WARD_SW);
    assert_int_equal(r.hw.measurement_len, 48);
    assert_int_equal(r.hw.measurement[0], 0xaa);
    /* a debug hardware layer makes the result debug */
    hw_debug = 1;
    OK(ward_evidence_verify(json, strlen(json), &t, 0, &c, &r));
    assert_int_equal(c.debug, 1);
    hw_debug = 0;
    /* with a software anchor too, both must hold */
    t.pinned = &f->fp2;
    t.n_pinned = 1;
    expect(ward_evidence_verify(json, strlen(json), &t, 0, &c, NULL), WARD_ERR_VERIFY,
           "not pinned");
    t.pinned = &f->fp;
    OK(ward_evidence_verify(json, strlen(json), &t, 0, &c, &r));
    assert_int_equal(r.anchor, WARD_ANCHOR_PINNED);
    free(json);

    /* the binding: another key's id, a nonzero upper half, each refused */
    uint8_t other[32];
    ward_rot_platform_key_id(f->rot2, other);
    ward_evidence_hw_binding(other, blob + 6);
    OK(ward_evidence_make_with_hw(f->rot, f->report, sizeof f->report, f->sig, &hw, &json,
                                  NULL));
    t.n_pinned = 0;
    expect(ward_evidence_verify(json, strlen(json), &t, 0, &c, NULL), WARD_ERR_VERIFY,
           "does not bind the platform key");
    free(json);
    ward_evidence_hw_binding(f->key_id, blob + 6);
    blob[6 + 63] = 1;
    OK(ward_evidence_make_with_hw(f->rot, f->report, sizeof f->report, f->sig, &hw, &json,
                                  NULL));
    expect(ward_evidence_verify(json, strlen(json), &t, 0, &c, NULL), WARD_ERR_VERIFY,
           "does not bind the platform key");
    free(json);
    /* a hardware kind the stand-in refuses, and arm-cca without a verifier */
    ward_hw_evidence cca = {.kind = WARD_HW_ARM_CCA, .evidence = blob, .evidence_len = 70};
    OK(ward_evidence_make_with_hw(f->rot, f->report, sizeof f->report, f->sig, &cca, &json,
                                  NULL));
    expect(ward_evidence_verify(json, strlen(json), &t, 0, &c, NULL), WARD_ERR_VERIFY,
           "not mine");
    ward_evidence_trust plain = pinned(&f->fp);
    expect(ward_evidence_verify(json, strlen(json), &plain, 0, &c, NULL),
           WARD_ERR_UNSUPPORTED, "arm-cca");
    free(json);
}

/* ---- nonces in report_data ------------------------------------------------------------------ */

static void test_nonce_report_data(void **state)
{
    fx *f = *state;
    uint8_t n[32], rd[64], rep[WARD_REPORT_LEN], sig[WARD_REPORT_SIG_LEN];
    OK(ward_random(n, sizeof n));
    OK(ward_evidence_nonce_report_data(n, sizeof n, rd));
    OK(ward_evidence_node_report(f->rot, rd, rep, sig));
    char *json = NULL;
    OK(ward_evidence_make_with_hw(f->rot, rep, sizeof rep, sig, NULL, &json, NULL));
    ward_evidence_trust t = pinned(&f->fp);
    ward_claims c;
    OK(ward_evidence_verify(json, strlen(json), &t, 0, &c, NULL));
    OK(ward_evidence_check_nonce(&c, n, sizeof n));
    n[31] ^= 1;
    expect(ward_evidence_check_nonce(&c, n, sizeof n), WARD_ERR_VERIFY, "expected nonce");
    expect(ward_evidence_check_nonce(&c, n, 31), WARD_ERR_VERIFY, "expected nonce");
    expect(ward_evidence_nonce_report_data(n, 0, rd), WARD_ERR_INVALID_ARG, NULL);
    expect(ward_evidence_nonce_report_data(n, 65, rd), WARD_ERR_INVALID_ARG, NULL);
    free(json);
    ward_provider_kind k;
    OK(ward_provider_kind_parse("gramine", &k));
    assert_int_equal(k, WARD_PROVIDER_GRAMINE);
    expect(ward_provider_kind_parse("tpm", &k), WARD_ERR_INVALID_ARG, "tpm");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_roundtrip_pinned, setup, teardown),
        cmocka_unit_test_setup_teardown(test_roundtrip_ta_sim, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_anchor, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flipped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_enrolment_ca, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_configfs_tdx, setup, teardown),
        cmocka_unit_test_setup_teardown(test_configfs_generation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_configfs_snp, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gramine, setup, teardown),
        cmocka_unit_test_setup_teardown(test_layered_fixture, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nonce_report_data, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
