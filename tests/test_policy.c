/* Appraisal policy: the default policy (the software TEE never better than warning, debug
 * contraindicated), the effect of each policy field on the status and the trustworthiness
 * vector, the reasons given, freshness (nonce, age, clock skew), the software-TEE trust anchors,
 * and every malformed policy refused with its reason. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ward/claims.h"
#include "ward/crypto.h"
#include "ward/encoding.h"
#include "ward/err.h"
#include "ward/policy.h"
#include "ward/x509.h"

#define CHECK_OK(expr)                                                                        \
    do {                                                                                      \
        ward_err e_ = (expr);                                                                 \
        if (e_ != WARD_OK)                                                                    \
            fail_msg("%s failed: %s: %s", #expr, ward_err_name(e_), ward_errmsg());          \
    } while (0)

#define NOW 1700000000

static void claims_for(ward_claims *c, ward_tee_kind kind)
{
    memset(c, 0, sizeof *c);
    c->kind = kind;
    size_t w = (kind == WARD_TEE_KIND_TDX || kind == WARD_TEE_KIND_SNP) ? 48 : 32;
    memset(c->measurement, 0x11, w);
    memset(c->signer, 0x22, w);
    c->measurement_len = w;
    c->signer_len = w;
    c->product_id = 1;
    c->svn = 5;
    c->tcb_status = (kind == WARD_TEE_KIND_WARD_SW || kind == WARD_TEE_KIND_WARD_SIM)
                        ? WARD_TCB_NOT_APPLICABLE
                        : WARD_TCB_UP_TO_DATE;
    c->debug = kind == WARD_TEE_KIND_WARD_SIM;
    memset(c->tdx_rtmr, 0x33, sizeof c->tdx_rtmr);
    memset(c->snp_host_data, 0x44, sizeof c->snp_host_data);
}

static ward_policy *policy(const char *json)
{
    ward_policy *p = NULL;
    CHECK_OK(ward_policy_parse(json, strlen(json), &p));
    return p;
}

static ward_appraisal appraise(const ward_policy *p, const ward_claims *c)
{
    ward_appraisal a;
    CHECK_OK(ward_policy_appraise(p, c, NULL, 0, NOW, NOW, &a));
    /* Every non-affirming result says why. */
    if (a.status != WARD_EAR_AFFIRMING)
        assert_true(a.n_reasons > 0);
    return a;
}

static int has_reason(const ward_appraisal *a, const char *s)
{
    for (size_t i = 0; i < a->n_reasons; i++)
        if (strstr(a->reasons[i], s) != NULL)
            return 1;
    return 0;
}

#define ASSERT_REASON(a, s)                                                                   \
    do {                                                                                      \
        if (!has_reason(&(a), (s)))                                                           \
            fail_msg("no reason mentions \"%s\" (%zu reasons; first: %s)", (s),             \
                     (a).n_reasons, (a).n_reasons ? (a).reasons[0] : "");                    \
    } while (0)

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(ward_ear_status_name(WARD_EAR_AFFIRMING), "affirming");
    assert_string_equal(ward_ear_status_name(WARD_EAR_CONTRAINDICATED), "contraindicated");
    ward_ear_status s;
    CHECK_OK(ward_ear_status_parse("warning", 7, &s));
    assert_int_equal(s, WARD_EAR_WARNING);
    assert_int_equal(ward_ear_status_parse("Warning", 7, &s), WARD_ERR_FORMAT);
    assert_string_equal(ward_tv_claim_name(WARD_TV_SOURCED_DATA), "sourced-data");
    assert_null(ward_tv_claim_name(WARD_TV_COUNT));
    ward_tv_claim c;
    CHECK_OK(ward_tv_claim_parse("runtime-opaque", 14, &c));
    assert_int_equal(c, WARD_TV_RUNTIME_OPAQUE);
    /* Tier bands. */
    static const struct {
        int v;
        ward_ear_status t;
    } bands[] = {{0, WARD_EAR_NONE},      {1, WARD_EAR_NONE},     {-1, WARD_EAR_NONE},
                 {2, WARD_EAR_AFFIRMING}, {31, WARD_EAR_AFFIRMING}, {-2, WARD_EAR_AFFIRMING},
                 {32, WARD_EAR_WARNING},  {95, WARD_EAR_WARNING}, {-96, WARD_EAR_WARNING},
                 {96, WARD_EAR_CONTRAINDICATED}, {127, WARD_EAR_CONTRAINDICATED},
                 {-97, WARD_EAR_CONTRAINDICATED}, {-128, WARD_EAR_CONTRAINDICATED}};
    for (size_t i = 0; i < sizeof bands / sizeof bands[0]; i++)
        assert_int_equal(ward_tv_value_tier(bands[i].v), bands[i].t);
}

static void test_default_software_tee(void **state)
{
    (void)state;
    ward_policy *def = NULL;
    CHECK_OK(ward_policy_default(&def));
    assert_string_equal(ward_policy_id(def), WARD_POLICY_DEFAULT_ID);
    assert_true(ward_policy_allows_kind(def, WARD_TEE_KIND_WARD_SW));
    assert_false(ward_policy_allows_kind(def, WARD_TEE_KIND_WARD_SIM));
    assert_false(ward_policy_accepts(def, WARD_EAR_WARNING));
    assert_true(ward_policy_accepts(def, WARD_EAR_AFFIRMING));
    assert_false(ward_policy_accepts(def, WARD_EAR_CONTRAINDICATED));
    ward_claims c;
    claims_for(&c, WARD_TEE_KIND_WARD_SW);
    ward_appraisal a = appraise(def, &c);
    assert_int_equal(a.status, WARD_EAR_WARNING);
    assert_int_equal(a.tv.v[WARD_TV_RUNTIME_OPAQUE], WARD_TV_ISOLATED_MEMORY);
    assert_int_equal(a.tv.v[WARD_TV_STORAGE_OPAQUE], WARD_TV_SW_KEYS_ENCRYPTED_SECRETS);
    assert_int_equal(a.tv.v[WARD_TV_HARDWARE], 0);
    assert_int_equal(a.tv.v[WARD_TV_INSTANCE_IDENTITY], 2);
    ASSERT_REASON(a, "software TEE");
    assert_string_equal(a.policy_id, WARD_POLICY_DEFAULT_ID);
    /* NULL policy = default. */
    ward_appraisal b = appraise(NULL, &c);
    assert_memory_equal(&a, &b, sizeof a);
    /* Even the most permissive policy cannot make it affirming. */
    ward_policy *lax = policy(
        "{\"version\":1,\"tee\":[\"ward-sw\",\"ward-sim\"],\"debug_allowed\":true,"
        "\"accept_warning\":true,\"tcb\":{\"accept\":[\"UpToDate\",\"OutOfDate\","
        "\"SWHardeningNeeded\",\"ConfigurationNeeded\"]},"
        "\"reference\":{\"ward-sw\":{\"measurement\":["
        "\"1111111111111111111111111111111111111111111111111111111111111111\"]}}}");
    a = appraise(lax, &c);
    assert_int_equal(a.status, WARD_EAR_WARNING);
    assert_int_equal(a.tv.v[WARD_TV_EXECUTABLES], WARD_TV_APPROVED_RUNTIME);
    assert_true(ward_policy_accepts(lax, WARD_EAR_WARNING));
    /* Debug software TEE: contraindicated by default, warning when allowed. */
    c.debug = 1;
    a = appraise(def, &c);
    assert_int_equal(a.status, WARD_EAR_CONTRAINDICATED);
    assert_int_equal(a.tv.v[WARD_TV_CONFIGURATION], WARD_TV_UNSUPPORTABLE_CONFIG);
    ASSERT_REASON(a, "debug is not allowed");
    a = appraise(lax, &c);
    assert_int_equal(a.status, WARD_EAR_WARNING);
    assert_int_equal(a.tv.v[WARD_TV_CONFIGURATION], WARD_TV_UNSAFE_CONFIG);
    /* The simulation: not allowed by default; when allowed, its memory is visible anyway. */
    claims_for(&c, WARD_TEE_KIND_WARD_SIM);
    a = appraise(def, &c);
    assert_int_equal(a.status, WARD_EAR_CONTRAINDICATED);
    ASSERT_REASON(a, "not allowed by the policy");
    a = appraise(lax, &c);
    assert_int_equal(a.status, WARD_EAR_CONTRAINDICATED);
    assert_int_equal(a.tv.v[WARD_TV_RUNTIME_OPAQUE], WARD_TV_VISIBLE_MEMORY);
    ward_policy_free(lax);
    ward_policy_free(def);
}

static void test_default_hardware(void **state)
{
    (void)state;
    static const ward_tee_kind kinds[] = {WARD_TEE_KIND_SGX, WARD_TEE_KIND_TDX,
                                          WARD_TEE_KIND_SNP};
    for (size_t i = 0; i < 3; i++) {
        ward_claims c;
        claims_for(&c, kinds[i]);
        ward_appraisal a = appraise(NULL, &c);
        assert_int_equal(a.status, WARD_EAR_AFFIRMING);
        assert_int_equal(a.n_reasons, 0);
        assert_int_equal(a.tv.v[WARD_TV_INSTANCE_IDENTITY], 2);
        assert_int_equal(a.tv.v[WARD_TV_CONFIGURATION], WARD_TV_NO_CONFIG_VULNS);
        assert_int_equal(a.tv.v[WARD_TV_HARDWARE], WARD_TV_GENUINE_HARDWARE);
        assert_int_equal(a.tv.v[WARD_TV_RUNTIME_OPAQUE], WARD_TV_ENCRYPTED_MEMORY);
        assert_int_equal(a.tv.v[WARD_TV_EXECUTABLES], 0); /* no reference values */
        /* Advisories: still affirming, but configuration is 2 rather than 3. */
        snprintf(c.advisories[0], WARD_CLAIMS_ADVISORY_LEN, "INTEL-SA-00001");
        c.n_advisories = 1;
        a = appraise(NULL, &c);
        assert_int_equal(a.status, WARD_EAR_AFFIRMING);
        assert_int_equal(a.tv.v[WARD_TV_CONFIGURATION], WARD_TV_APPROVED_CONFIG);
        c.n_advisories = 0;
        /* Debug: contraindicated by default. */
        c.debug = 1;
        a = appraise(NULL, &c);
        assert_int_equal(a.status, WARD_EAR_CONTRAINDICATED);
        ASSERT_REASON(a, "debug");
    }
}

static void test_tcb_statuses(void **state)
{
    (void)state;
    static const struct {
        ward_tcb_status s;
        ward_ear_status def;
    } cases[] = {
        {WARD_TCB_UP_TO_DATE, WARD_EAR_AFFIRMING},
        {WARD_TCB_SW_HARDENING_NEEDED, WARD_EAR_WARNING},
        {WARD_TCB_CONFIGURATION_NEEDED, WARD_EAR_WARNING},
        {WARD_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED, WARD_EAR_WARNING},
        {WARD_TCB_OUT_OF_DATE, WARD_EAR_CONTRAINDICATED},
        {WARD_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED, WARD_EAR_CONTRAINDICATED},
        {WARD_TCB_REVOKED, WARD_EAR_CONTRAINDICATED},
        {WARD_TCB_UNKNOWN, WARD_EAR_CONTRAINDICATED},
        {WARD_TCB_NOT_APPLICABLE, WARD_EAR_CONTRAINDICATED},
    };
    ward_policy *strict = policy("{\"version\":1,\"tcb\":{\"accept\":[\"UpToDate\"]}}");
    ward_policy *lax = policy(
        "{\"version\":1,\"tcb\":{\"accept\":[\"UpToDate\",\"SWHardeningNeeded\"],"
        "\"warn\":[\"OutOfDate\"]}}");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ward_claims c;
        claims_for(&c, WARD_TEE_KIND_SGX);
        c.tcb_status = cases[i].s;
        snprintf(c.advisories[0], WARD_CLAIMS_ADVISORY_LEN, "INTEL-SA-00615");
        c.n_advisories = 1;
        ward_appraisal a = appraise(NULL, &c);
        if (a.status != cases[i].def)
            fail_msg("%s: %s", ward_tcb_status_name(cases[i].s), ward_ear_status_name(a.status));
        if (cases[i].def == WARD_EAR_WARNING) {
            ASSERT_REASON(a, ward_tcb_status_name(cases[i].s));
            ASSERT_REASON(a, "INTEL-SA-00615");
            assert_int_equal(a.tv.v[WARD_TV_HARDWARE], WARD_TV_UNSAFE_HARDWARE);
        }
        a = appraise(strict, &c);
        assert_int_equal(a.status, cases[i].s == WARD_TCB_UP_TO_DATE ? WARD_EAR_AFFIRMING
                                                                     : WARD_EAR_CONTRAINDICATED);
        a = appraise(lax, &c);
        ward_ear_status want = WARD_EAR_CONTRAINDICATED;
        if (cases[i].s == WARD_TCB_UP_TO_DATE || cases[i].s == WARD_TCB_SW_HARDENING_NEEDED)
            want = WARD_EAR_AFFIRMING;
        if (cases[i].s == WARD_TCB_OUT_OF_DATE)
            want = WARD_EAR_WARNING;
        if (a.status != want)
            fail_msg("lax %s: %s", ward_tcb_status_name(cases[i].s),
                     ward_ear_status_name(a.status));
    }
    ward_policy_free(strict);
    ward_policy_free(lax);
}

#define H32(b) "\"" b b b b b b b b b b b b b b b b b b b b b b b b b b b b b b b b "\""
#define H48(b)                                                                                \
    "\"" b b b b b b b b b b b b b b b b b b b b b b b b b b b b b b b b b b b b b b b b b b b \
    b b b b b "\""

static void test_reference_values(void **state)
{
    (void)state;
    ward_claims c;
    ward_appraisal a;
    /* SGX: measurement, signer, product id, min SVN. */
    ward_policy *p = policy("{\"version\":1,\"reference\":{\"sgx\":{\"measurement\":[" H32("00")
                            "," H32("11") "],\"signer\":[" H32("22") "],\"product_id\":1,"
                            "\"min_svn\":5}}}");
    claims_for(&c, WARD_TEE_KIND_SGX);
    a = appraise(p, &c);
    assert_int_equal(a.status, WARD_EAR_AFFIRMING);
    assert_int_equal(a.tv.v[WARD_TV_EXECUTABLES], WARD_TV_APPROVED_RUNTIME);
    c.measurement[0] = 0x12;
    a = appraise(p, &c);
    assert_int_equal(a.status, WARD_EAR_CONTRAINDICATED);
    assert_int_equal(a.tv.v[WARD_TV_EXECUTABLES], WARD_TV_CONTRAINDICATED_RUNTIME);
    ASSERT_REASON(a, "MRENCLAVE 1211");
    claims_for(&c, WARD_TEE_KIND_SGX);
    c.signer[31] = 0;
    a = appraise(p, &c);
    assert_int_equal(a.status, WARD_EAR_CONTRAINDICATED);
    ASSERT_REASON(a, "MRSIGNER");
    claims_for(&c, WARD_TEE_KIND_SGX);
    c.product_id = 2;
    a = appraise(p, &c);
    assert_int_equal(a.status, WARD_EAR_CONTRAINDICATED);
    ASSERT_REASON(a, "product id 2");
    claims_for(&c, WARD_TEE_KIND_SGX);
    c.svn = 4;
    a = appraise(p, &c);
    assert_int_equal(a.status, WARD_EAR_CONTRAINDICATED);
    ASSERT_REASON(a, "below the policy's minimum 5");
    c.svn = 6;
    a = appraise(p, &c);
    assert_int_equal(a.status, WARD_EAR_AFFIRMING);
    /* Several failures: each one is a reason. */
    c.svn = 0;
    c.product_id = 9;
    c.measurement[5] = 0;
    a = appraise(p, &c);
    assert_true(a.n_reasons >= 3);
    /* A measurement of the wrong length (another TEE's claims under SGX's values). */
    claims_for(&c, WARD_TEE_KIND_SGX);
    c.measurement_len = 48;
    a = appraise(p, &c);
    assert_int_equal(a.status, WARD_EAR_CONTRAINDICATED);
    ASSERT_REASON(a, "48 bytes");
    ward_policy_free(p);

    /* TDX: MRTD and RTMR0-3. */
    p = policy("{\"version\":1,\"reference\":{\"tdx\":{\"mrtd\":[" H48("11") "],\"rtmr0\":["
               H48("33") "],\"rtmr3\":[" H48("33") "," H48("00") "],\"signer\":[" H48("22")
               "],\"min_svn\":2}}}");
    claims_for(&c, WARD_TEE_KIND_TDX);
    a = appraise(p, &c);
    assert_int_equal(a.status, WARD_EAR_AFFIRMING);
    assert_int_equal(a.tv.v[WARD_TV_EXECUTABLES], WARD_TV_APPROVED_RUNTIME);
    c.tdx_rtmr[3][47] = 1;
    a = appraise(p, &c);
    assert_int_equal(a.status, WARD_EAR_CONTRAINDICATED);
    ASSERT_REASON(a, "RTMR3");
    claims_for(&c, WARD_TEE_KIND_TDX);
    c.tdx_rtmr[1][0] = 9; /* RTMR1 not in the policy: not checked */
    c.measurement[0] = 0;
    a = appraise(p, &c);
    assert_int_equal(a.status, WARD_EAR_CONTRAINDICATED);
    ASSERT_REASON(a, "MRTD");
    assert_false(has_reason(&a, "RTMR1"));
    ward_policy_free(p);

    /* SNP: MEASUREMENT, HOST_DATA, VMPL. */
    p = policy("{\"version\":1,\"reference\":{\"snp\":{\"measurement\":[" H48("11")
               "],\"host_data\":[" H32("44") "]}}}");
    claims_for(&c, WARD_TEE_KIND_SNP);
    a = appraise(p, &c);
    assert_int_equal(a.status, WARD_EAR_AFFIRMING);
    c.snp_host_data[0] = 0;
    a = appraise(p, &c);
    assert_int_equal(a.status, WARD_EAR_CONTRAINDICATED);
    assert_int_equal(a.tv.v[WARD_TV_CONFIGURATION], WARD_TV_UNSUPPORTABLE_CONFIG);
    ASSERT_REASON(a, "HOST_DATA");
    claims_for(&c, WARD_TEE_KIND_SNP);
    c.snp_vmpl = 2;
    a = appraise(p, &c);
    assert_int_equal(a.status, WARD_EAR_CONTRAINDICATED);
    ASSERT_REASON(a, "VMPL 2");
    a = appraise(NULL, &c); /* VMPL 0 is also the default policy's requirement */
    assert_int_equal(a.status, WARD_EAR_CONTRAINDICATED);
    ward_policy_free(p);
    p = policy("{\"version\":1,\"reference\":{\"snp\":{\"vmpl\":2}}}");
    a = appraise(p, &c);
    assert_int_equal(a.status, WARD_EAR_AFFIRMING);
    ward_policy_free(p);

    /* Software TEE reference values. */
    p = policy("{\"version\":1,\"reference\":{\"ward-sw\":{\"signer\":[" H32("22")
               "],\"min_svn\":6}}}");
    claims_for(&c, WARD_TEE_KIND_WARD_SW);
    a = appraise(p, &c);
    assert_int_equal(a.status, WARD_EAR_CONTRAINDICATED);
    ASSERT_REASON(a, "SVN 5");
    ward_policy_free(p);

    /* Allowed kinds. */
    p = policy("{\"version\":1,\"tee\":[\"tdx\",\"snp\"]}");
    claims_for(&c, WARD_TEE_KIND_SGX);
    a = appraise(p, &c);
    assert_int_equal(a.status, WARD_EAR_CONTRAINDICATED);
    assert_int_equal(a.tv.v[WARD_TV_HARDWARE], WARD_TV_UNRECOGNIZED_HARDWARE);
    ASSERT_REASON(a, "sgx is not allowed");
    claims_for(&c, WARD_TEE_KIND_WARD_SW);
    a = appraise(p, &c);
    assert_int_equal(a.status, WARD_EAR_CONTRAINDICATED);
    claims_for(&c, WARD_TEE_KIND_TDX);
    a = appraise(p, &c);
    assert_int_equal(a.status, WARD_EAR_AFFIRMING);
    c.kind = WARD_TEE_KIND_UNKNOWN;
    a = appraise(p, &c);
    assert_int_equal(a.status, WARD_EAR_CONTRAINDICATED);
    ASSERT_REASON(a, "unknown TEE kind");
    c.kind = (ward_tee_kind)77;
    a = appraise(p, &c);
    assert_int_equal(a.status, WARD_EAR_CONTRAINDICATED);
    ward_policy_free(p);
}

static void test_freshness(void **state)
{
    (void)state;
    ward_claims c;
    claims_for(&c, WARD_TEE_KIND_TDX);
    static const uint8_t nonce[32] = {0xde, 0xad, 0xbe, 0xef, 1, 2, 3};
    memcpy(c.report_data, nonce, sizeof nonce);
    ward_appraisal a;
    CHECK_OK(ward_policy_appraise(NULL, &c, nonce, sizeof nonce, NOW, NOW, &a));
    assert_int_equal(a.status, WARD_EAR_AFFIRMING);
    assert_int_equal(a.nonce_len, 32);
    assert_memory_equal(a.nonce, nonce, 32);
    c.report_data[31] ^= 1;
    CHECK_OK(ward_policy_appraise(NULL, &c, nonce, sizeof nonce, NOW, NOW, &a));
    assert_int_equal(a.status, WARD_EAR_CONTRAINDICATED);
    assert_int_equal(a.tv.v[WARD_TV_INSTANCE_IDENTITY], WARD_TV_UNTRUSTWORTHY_INSTANCE);
    ASSERT_REASON(a, "nonce");
    uint8_t big[65] = {0};
    assert_int_equal(ward_policy_appraise(NULL, &c, big, sizeof big, NOW, NOW, &a),
                     WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_policy_appraise(NULL, &c, NULL, 3, NOW, NOW, &a),
                     WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_policy_appraise(NULL, &c, NULL, 0, -1, NOW, &a),
                     WARD_ERR_INVALID_ARG);
    /* Age. */
    ward_policy *p = policy("{\"version\":1,\"max_age\":300}");
    assert_int_equal(ward_policy_max_age(p), 300);
    claims_for(&c, WARD_TEE_KIND_TDX);
    CHECK_OK(ward_policy_appraise(p, &c, NULL, 0, NOW - 300, NOW, &a));
    assert_int_equal(a.status, WARD_EAR_AFFIRMING);
    CHECK_OK(ward_policy_appraise(p, &c, NULL, 0, NOW - 301, NOW, &a));
    assert_int_equal(a.status, WARD_EAR_CONTRAINDICATED);
    ASSERT_REASON(a, "301 s old");
    CHECK_OK(ward_policy_appraise(p, &c, NULL, 0, 0, NOW, &a));
    assert_int_equal(a.status, WARD_EAR_CONTRAINDICATED);
    ASSERT_REASON(a, "no time");
    /* Future beyond the skew (default 60 s), with or without an age limit. */
    CHECK_OK(ward_policy_appraise(NULL, &c, NULL, 0, NOW + 60, NOW, &a));
    assert_int_equal(a.status, WARD_EAR_AFFIRMING);
    CHECK_OK(ward_policy_appraise(NULL, &c, NULL, 0, NOW + 61, NOW, &a));
    assert_int_equal(a.status, WARD_EAR_CONTRAINDICATED);
    ASSERT_REASON(a, "future");
    ward_policy_free(p);
    p = policy("{\"version\":1,\"max_clock_skew\":0}");
    CHECK_OK(ward_policy_appraise(p, &c, NULL, 0, NOW + 1, NOW, &a));
    assert_int_equal(a.status, WARD_EAR_CONTRAINDICATED);
    ward_policy_free(p);
    /* Without an age limit, old evidence is fine (a nonce gives freshness instead). */
    CHECK_OK(ward_policy_appraise(NULL, &c, NULL, 0, 1, NOW, &a));
    assert_int_equal(a.status, WARD_EAR_AFFIRMING);
}

static void test_reasons_overflow(void **state)
{
    (void)state;
    /* Many failures at once: the list is capped and says so. */
    ward_policy *p = policy("{\"version\":1,\"tee\":[\"snp\"],\"max_age\":1,"
                            "\"reference\":{\"snp\":{\"measurement\":[" H48("00") "],"
                            "\"signer\":[" H48("00") "],\"host_data\":[" H32("00") "],"
                            "\"min_svn\":9}}}");
    ward_claims c;
    claims_for(&c, WARD_TEE_KIND_SNP);
    c.debug = 1;
    c.snp_vmpl = 3;
    c.tcb_status = WARD_TCB_OUT_OF_DATE;
    ward_appraisal a;
    CHECK_OK(ward_policy_appraise(p, &c, (const uint8_t *)"abc", 3, 0, NOW, &a));
    assert_int_equal(a.status, WARD_EAR_CONTRAINDICATED);
    assert_true(a.n_reasons >= 8);
    assert_true(a.n_reasons <= WARD_APPRAISAL_MAX_REASONS);
    for (size_t i = 0; i < a.n_reasons; i++)
        assert_true(strlen(a.reasons[i]) < WARD_APPRAISAL_REASON_LEN);
    ward_policy_free(p);
}

static void test_software_tee_anchors(void **state)
{
    (void)state;
    ward_pkey *ca_key = NULL, *leaf_key = NULL;
    CHECK_OK(ward_pkey_generate(WARD_KEY_EC_P256, &ca_key));
    CHECK_OK(ward_pkey_generate(WARD_KEY_EC_P256, &leaf_key));
    ward_cert_spec ca_spec = {.common_name = "Ward enrolment CA", .not_before = NOW - 10,
                              .not_after = NOW + 1000, .is_ca = 1, .path_len = 0};
    ward_cert_spec leaf_spec = {.common_name = "platform", .not_before = NOW - 10,
                                .not_after = NOW + 1000, .path_len = -1};
    ward_cert *ca = NULL, *leaf = NULL;
    CHECK_OK(ward_cert_create(&ca_spec, ca_key, NULL, ca_key, &ca));
    CHECK_OK(ward_cert_create(&leaf_spec, leaf_key, ca, ca_key, &leaf));
    char *ca_pem = NULL, *leaf_pem = NULL;
    size_t ca_pem_len = 0, leaf_pem_len = 0;
    CHECK_OK(ward_cert_to_pem(ca, &ca_pem, &ca_pem_len));
    CHECK_OK(ward_cert_to_pem(leaf, &leaf_pem, &leaf_pem_len));
    uint8_t *der = NULL;
    size_t der_len = 0;
    CHECK_OK(ward_cert_to_der(leaf, &der, &der_len));
    uint8_t fp[32];
    CHECK_OK(ward_cert_fingerprint(leaf, fp));
    char *fp_hex = NULL;
    CHECK_OK(ward_hex_encode(fp, 32, &fp_hex, NULL));

    json_t *doc = json_pack("{s:i, s:{s:[s], s:[s]}}", "version", 1, "software_tee",
                            "pinned_certs", fp_hex, "enrolment_ca", ca_pem);
    char *text = json_dumps(doc, JSON_COMPACT);
    ward_policy *p = policy(text);
    assert_int_equal(ward_policy_sw_pinned_count(p), 1);
    assert_memory_equal(ward_policy_sw_pinned(p, 0), fp, 32);
    assert_null(ward_policy_sw_pinned(p, 1));
    assert_true(ward_policy_sw_cert_pinned(p, der, der_len));
    der[der_len - 1] ^= 1;
    assert_false(ward_policy_sw_cert_pinned(p, der, der_len));
    assert_int_equal(ward_policy_sw_ca_count(p), 1);
    size_t got_len = 0;
    const char *got = ward_policy_sw_ca_pem(p, 0, &got_len);
    assert_int_equal(got_len, ca_pem_len);
    assert_memory_equal(got, ca_pem, ca_pem_len);
    assert_int_equal(got[got_len], '\0');
    assert_null(ward_policy_sw_ca_pem(p, 1, NULL));
    /* The anchors exist for the evidence verifier; the CA verifies the leaf. */
    ward_cert *anchor = NULL;
    CHECK_OK(ward_cert_from_pem(got, got_len, &anchor));
    ward_cert_free(anchor);
    ward_policy_free(p);
    json_decref(doc);
    free(text);
    /* A leaf (not a CA) as enrolment CA is refused; so is garbage. */
    doc = json_pack("{s:i, s:{s:[s]}}", "version", 1, "software_tee", "enrolment_ca", leaf_pem);
    text = json_dumps(doc, JSON_COMPACT);
    ward_policy *bad = NULL;
    assert_int_equal(ward_policy_parse(text, strlen(text), &bad), WARD_ERR_FORMAT);
    assert_non_null(strstr(ward_errmsg(), "not a CA"));
    json_decref(doc);
    free(text);
    ward_policy *def = NULL;
    CHECK_OK(ward_policy_default(&def));
    assert_int_equal(ward_policy_sw_pinned_count(def), 0);
    assert_int_equal(ward_policy_sw_ca_count(def), 0);
    assert_false(ward_policy_sw_cert_pinned(def, der, der_len));
    ward_policy_free(def);
    free(fp_hex);
    free(der);
    free(ca_pem);
    free(leaf_pem);
    ward_cert_free(leaf);
    ward_cert_free(ca);
    ward_pkey_free(leaf_key);
    ward_pkey_free(ca_key);
}

static void test_malformed(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        ward_err err;
        const char *why;
    } cases[] = {
        {"", WARD_ERR_FORMAT, "policy"},
        {"[]", WARD_ERR_FORMAT, "must be a JSON object"},
        {"{}", WARD_ERR_FORMAT, "version"},
        {"{\"version\":2}", WARD_ERR_UNSUPPORTED, "version 2"},
        {"{\"version\":1.0}", WARD_ERR_FORMAT, "floating-point"},
        {"{\"version\":\"1\"}", WARD_ERR_FORMAT, "integer"},
        {"{\"version\":1,\"extra\":1}", WARD_ERR_FORMAT, "unknown member \"extra\""},
        {"{\"version\":1,\"version\":1}", WARD_ERR_FORMAT, NULL},
        {"{\"version\":1} x", WARD_ERR_FORMAT, NULL},
        {"{\"version\":1,\"id\":\"\"}", WARD_ERR_FORMAT, "id"},
        {"{\"version\":1,\"id\":\"a\\nb\"}", WARD_ERR_FORMAT, "control"},
        {"{\"version\":1,\"id\":7}", WARD_ERR_FORMAT, "id"},
        {"{\"version\":1,\"tee\":[]}", WARD_ERR_FORMAT, "at least one"},
        {"{\"version\":1,\"tee\":\"sgx\"}", WARD_ERR_FORMAT, "array"},
        {"{\"version\":1,\"tee\":[\"sev\"]}", WARD_ERR_FORMAT, "unknown TEE kind \"sev\""},
        {"{\"version\":1,\"tee\":[\"sgx\",\"sgx\"]}", WARD_ERR_FORMAT, "twice"},
        {"{\"version\":1,\"tee\":[\"unknown\"]}", WARD_ERR_FORMAT, "unknown TEE kind"},
        {"{\"version\":1,\"debug_allowed\":1}", WARD_ERR_FORMAT, "true or false"},
        {"{\"version\":1,\"accept_warning\":\"yes\"}", WARD_ERR_FORMAT, "true or false"},
        {"{\"version\":1,\"max_age\":-1}", WARD_ERR_FORMAT, "out of range"},
        {"{\"version\":1,\"max_age\":1.5}", WARD_ERR_FORMAT, "floating-point"},
        {"{\"version\":1,\"max_age\":1e3}", WARD_ERR_FORMAT, "floating-point"},
        {"{\"version\":1,\"max_age\":9007199254740991}", WARD_ERR_FORMAT, "out of range"},
        {"{\"version\":1,\"max_clock_skew\":3601}", WARD_ERR_FORMAT, "out of range"},
        {"{\"version\":1,\"tcb\":[]}", WARD_ERR_FORMAT, "tcb"},
        {"{\"version\":1,\"tcb\":{\"warn\":[]}}", WARD_ERR_FORMAT, "accept"},
        {"{\"version\":1,\"tcb\":{\"accept\":[\"Fine\"]}}", WARD_ERR_FORMAT,
         "unknown TCB status"},
        {"{\"version\":1,\"tcb\":{\"accept\":[\"UpToDate\",\"Revoked\"]}}", WARD_ERR_FORMAT,
         "Revoked"},
        {"{\"version\":1,\"tcb\":{\"accept\":[\"NotApplicable\"]}}", WARD_ERR_FORMAT,
         "NotApplicable"},
        {"{\"version\":1,\"tcb\":{\"accept\":[\"UpToDate\"],\"warn\":[\"UpToDate\"]}}",
         WARD_ERR_FORMAT, "twice"},
        {"{\"version\":1,\"tcb\":{\"accept\":[\"OutOfDate\"]}}", WARD_ERR_FORMAT, "UpToDate"},
        {"{\"version\":1,\"tcb\":{\"accept\":[\"UpToDate\"],\"other\":[]}}", WARD_ERR_FORMAT,
         "unknown member"},
        {"{\"version\":1,\"reference\":[]}", WARD_ERR_FORMAT, "reference"},
        {"{\"version\":1,\"reference\":{\"sev\":{}}}", WARD_ERR_FORMAT, "unknown member"},
        {"{\"version\":1,\"reference\":{\"sgx\":{\"mrtd\":[]}}}", WARD_ERR_FORMAT,
         "unknown member \"mrtd\""},
        {"{\"version\":1,\"reference\":{\"sgx\":{\"measurement\":[]}}}", WARD_ERR_FORMAT,
         "empty"},
        {"{\"version\":1,\"reference\":{\"sgx\":{\"measurement\":\"00\"}}}", WARD_ERR_FORMAT,
         "array"},
        {"{\"version\":1,\"reference\":{\"sgx\":{\"measurement\":[" H48("00") "]}}}",
         WARD_ERR_FORMAT, "expected 64 hex digits"},
        {"{\"version\":1,\"reference\":{\"tdx\":{\"mrtd\":[" H32("00") "]}}}", WARD_ERR_FORMAT,
         "expected 96 hex digits"},
        {"{\"version\":1,\"reference\":{\"snp\":{\"host_data\":[" H48("00") "]}}}",
         WARD_ERR_FORMAT, "expected 64 hex digits"},
        {"{\"version\":1,\"reference\":{\"sgx\":{\"signer\":[" H32("zz") "]}}}", WARD_ERR_FORMAT,
         "not hexadecimal"},
        {"{\"version\":1,\"reference\":{\"sgx\":{\"signer\":[" H32("00") "," H32("00") "]}}}",
         WARD_ERR_FORMAT, "duplicate"},
        {"{\"version\":1,\"reference\":{\"sgx\":{\"signer\":[7]}}}", WARD_ERR_FORMAT, "string"},
        {"{\"version\":1,\"reference\":{\"sgx\":{\"product_id\":65536}}}", WARD_ERR_FORMAT,
         "out of range"},
        {"{\"version\":1,\"reference\":{\"sgx\":{\"min_svn\":-1}}}", WARD_ERR_FORMAT,
         "out of range"},
        {"{\"version\":1,\"reference\":{\"snp\":{\"vmpl\":4}}}", WARD_ERR_FORMAT, "vmpl"},
        {"{\"version\":1,\"reference\":{\"tdx\":{\"vmpl\":0}}}", WARD_ERR_FORMAT,
         "unknown member \"vmpl\""},
        {"{\"version\":1,\"reference\":{\"tdx\":{\"product_id\":1}}}", WARD_ERR_FORMAT,
         "unknown member"},
        {"{\"version\":1,\"tee\":[\"sgx\"],\"reference\":{\"tdx\":{}}}", WARD_ERR_FORMAT,
         "does not allow"},
        {"{\"version\":1,\"software_tee\":{\"pinned_certs\":[\"00\"]}}", WARD_ERR_FORMAT,
         "expected 64 hex digits"},
        {"{\"version\":1,\"software_tee\":{\"enrolment_ca\":[]}}", WARD_ERR_FORMAT, "non-empty"},
        {"{\"version\":1,\"software_tee\":{\"enrolment_ca\":[\"-----BEGIN CERTIFICATE-----\"]}}",
         WARD_ERR_FORMAT, "enrolment_ca[0]"},
        {"{\"version\":1,\"software_tee\":{\"ca\":[]}}", WARD_ERR_FORMAT, "unknown member"},
        {"{\"version\":1,\"id\":\"a\\u0000b\"}", WARD_ERR_FORMAT, "NUL"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ward_policy *p = NULL;
        ward_err e = ward_policy_parse(cases[i].json, strlen(cases[i].json), &p);
        if (e != cases[i].err ||
            (cases[i].why != NULL && strstr(ward_errmsg(), cases[i].why) == NULL))
            fail_msg("policy %s: got %s \"%s\"", cases[i].json, ward_err_name(e),
                     e == WARD_OK ? "" : ward_errmsg());
        assert_null(p);
    }
    /* Too large. */
    size_t big = WARD_POLICY_MAX_LEN + 1;
    char *s = malloc(big);
    memset(s, ' ', big);
    ward_policy *p = NULL;
    assert_int_equal(ward_policy_parse(s, big, &p), WARD_ERR_OVERFLOW);
    free(s);
    assert_int_equal(ward_policy_parse(NULL, 1, &p), WARD_ERR_INVALID_ARG);
}

static void test_load_and_example(void **state)
{
    (void)state;
    /* The example of docs/attestation.md, verbatim in spirit. */
    const char *example =
        "{\n"
        "  \"version\": 1,\n"
        "  \"id\": \"policy://example.org/ward/prod-1\",\n"
        "  \"tee\": [\"tdx\", \"snp\", \"sgx\", \"ward-sw\"],\n"
        "  \"debug_allowed\": false,\n"
        "  \"tcb\": {\"accept\": [\"UpToDate\"], \"warn\": [\"SWHardeningNeeded\"]},\n"
        "  \"max_age\": 300,\n"
        "  \"accept_warning\": false,\n"
        "  \"reference\": {\n"
        "    \"sgx\": {\"measurement\": [" H32("ab") "], \"signer\": [" H32("cd") "],\n"
        "            \"product_id\": 1, \"min_svn\": 2},\n"
        "    \"tdx\": {\"mrtd\": [" H48("ab") "], \"rtmr0\": [" H48("00") "]},\n"
        "    \"snp\": {\"measurement\": [" H48("ab") "], \"host_data\": [" H32("00") "],\n"
        "            \"vmpl\": 0},\n"
        "    \"ward-sw\": {\"signer\": [" H32("cd") "], \"min_svn\": 1}\n"
        "  },\n"
        "  \"software_tee\": {\"pinned_certs\": [" H32("ef") "]}\n"
        "}\n";
    char *dir = tu_mkdtemp();
    char path[512];
    snprintf(path, sizeof path, "%s/policy.json", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(example, f);
    fclose(f);
    ward_policy *p = NULL;
    CHECK_OK(ward_policy_load(path, &p));
    assert_string_equal(ward_policy_id(p), "policy://example.org/ward/prod-1");
    assert_int_equal(ward_policy_max_age(p), 300);
    assert_false(ward_policy_allows_kind(p, WARD_TEE_KIND_WARD_SIM));
    assert_true(ward_policy_allows_kind(p, WARD_TEE_KIND_SNP));
    ward_claims c;
    claims_for(&c, WARD_TEE_KIND_SGX);
    memset(c.measurement, 0xab, 32);
    memset(c.signer, 0xcd, 32);
    c.svn = 2;
    ward_appraisal a;
    CHECK_OK(ward_policy_appraise(p, &c, NULL, 0, NOW - 10, NOW, &a));
    assert_int_equal(a.status, WARD_EAR_AFFIRMING);
    assert_string_equal(a.policy_id, "policy://example.org/ward/prod-1");
    ward_policy_free(p);
    snprintf(path, sizeof path, "%s/missing.json", dir);
    assert_int_equal(ward_policy_load(path, &p), WARD_ERR_NOT_FOUND);
    /* A policy without an id gets the unnamed id. */
    p = policy("{\"version\":1}");
    assert_string_equal(ward_policy_id(p), "policy://ward/unnamed");
    ward_policy_free(p);
    tu_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_default_software_tee),
        cmocka_unit_test(test_default_hardware),
        cmocka_unit_test(test_tcb_statuses),
        cmocka_unit_test(test_reference_values),
        cmocka_unit_test(test_freshness),
        cmocka_unit_test(test_reasons_overflow),
        cmocka_unit_test(test_software_tee_anchors),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_load_and_example),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
