/* Intel SGX DCAP (quote v3) and TDX (quote v4, v5) verification: every real vector of
 * ../shared/vectors/SOURCES-intel.md at its documented time with its documented result, the
 * collateral loaders, and refusals: single-bit flips across every signed region, truncation at
 * every length, expired collateral one second past its window, the reissued TCB Signing
 * certificate, a wrong root, and, with a test PKI built here around the real quote (a test root
 * in place of Intel's), revoked and expired certificates, QE identity and TCB Info mismatches,
 * signatures over the exact JSON bytes and the TCB status rules. */
#include "testutil.h"

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attest/dcap_internal.h"
#include "crypto/pkey_internal.h"
#include "ward/crypto.h"
#include "ward/dcap.h"
#include "ward/encoding.h"
#include "ward/err.h"
#include "ward/x509.h"

#define DAY INT64_C(86400)
#define YEAR (365 * DAY)

/* Reference times (SOURCES-intel.md): window end - 1 s for the phala sets, the source's time for
 * the go-tdx-guest set. */
#define T_SGX INT64_C(1752919277)   /* 2025-07-19T10:01:17Z */
#define T_TDX1 INT64_C(1752919234)  /* 2025-07-19T10:00:34Z */
#define T_TDX2 INT64_C(1759388630)  /* 2025-10-02T07:03:50Z */
#define T_TDX34 INT64_C(1774003274) /* 2026-03-20T10:41:14Z */
#define T_TDX5 INT64_C(1688173200)  /* 2023-07-01T01:00:00Z */
#define T_2053 INT64_C(2634944400)  /* 2053-07-01T01:00:00Z */

#define CHECK_OK(expr)                                                                        \
    do {                                                                                      \
        ward_err e_ = (expr);                                                                 \
        if (e_ != WARD_OK)                                                                    \
            fail_msg("%s failed: %s: %s", #expr, ward_err_name(e_), ward_errmsg());          \
    } while (0)

static void expect_err(ward_err got, ward_err want, const char *substr)
{
    if (got != want)
        fail_msg("expected %s, got %s: %s", ward_err_name(want), ward_err_name(got),
                 ward_errmsg());
    assert_true(strlen(ward_errmsg()) > 0);
    if (substr != NULL && strstr(ward_errmsg(), substr) == NULL)
        fail_msg("message \"%s\" does not mention \"%s\"", ward_errmsg(), substr);
}

/* ---- vectors and collateral ------------------------------------------------------------- */

typedef struct buf {
    uint8_t *p;
    size_t n;
} buf;

static buf rd(const char *rel)
{
    buf b;
    b.p = tu_read_file(tu_vector_path(rel), &b.n);
    return b;
}

typedef struct set {
    const char *tcb, *qe, *chain, *root_crl, *pck_crl;
    int64_t at;
} set;

static const set SGX1 = {"sgx/phala_sgx_tcb_info.json", "sgx/phala_sgx_qe_identity.json",
                         "sgx/phala_sgx_tcb_signing_chain.pem", "sgx/phala_sgx_root_ca_crl.der",
                         "sgx/phala_sgx_pck_crl.der", T_SGX};
static const set TDX1 = {"tdx/phala_tdx_v4_tcb_info.json", "tdx/phala_tdx_v4_qe_identity.json",
                         "tdx/phala_tdx_v4_tcb_signing_chain.pem",
                         "tdx/phala_tdx_v4_root_ca_crl.der", "tdx/phala_tdx_v4_pck_crl.der",
                         T_TDX1};
/* TDX-3 and TDX-4: the v5 set, with the v4 set's root CRL and signing chain. */
static const set TDX3 = {"tdx/phala_tdx_v5_tcb_info.json", "tdx/phala_tdx_v5_qe_identity.json",
                         "tdx/phala_tdx_v4_tcb_signing_chain.pem",
                         "tdx/phala_tdx_v4_root_ca_crl.der", "tdx/phala_tdx_v5_pck_crl.der",
                         T_TDX34};
static const set TDX5 = {"tdx/gtg_tdx_tcb_info_50806f000000.json",
                         "tdx/gtg_td_qe_identity_2023.json", "tdx/gtg_tcb_signing_chain_2018.pem",
                         "tdx/gtg_root_ca_crl_2023.der", "tdx/gtg_pck_platform_crl_2023.der",
                         T_TDX5};

static ward_err load_set_err(const set *s, const ward_dcap_options *opt, int64_t at,
                             ward_dcap_collateral **out)
{
    buf t = rd(s->tcb), q = rd(s->qe), ch = rd(s->chain), rc = rd(s->root_crl),
        pc = rd(s->pck_crl);
    ward_dcap_collateral_src src = {
        .tcb_info = (const char *)t.p,
        .tcb_info_len = t.n,
        .qe_identity = (const char *)q.p,
        .qe_identity_len = q.n,
        .tcb_signing_chain = (const char *)ch.p,
        .tcb_signing_chain_len = ch.n,
        .root_ca_crl = rc.p,
        .root_ca_crl_len = rc.n,
        .pck_crl = pc.p,
        .pck_crl_len = pc.n,
    };
    ward_err err = ward_dcap_collateral_load(&src, opt, at, out);
    free(t.p);
    free(q.p);
    free(ch.p);
    free(rc.p);
    free(pc.p);
    return err;
}

static ward_dcap_collateral *load_set(const set *s)
{
    ward_dcap_collateral *c = NULL;
    CHECK_OK(load_set_err(s, NULL, s->at, &c));
    return c;
}

static ward_dcap_collateral *load_qvl(const char *rel, int64_t at)
{
    buf j = rd(rel);
    ward_dcap_collateral *c = NULL;
    CHECK_OK(ward_dcap_collateral_load_qvl_json((const char *)j.p, j.n, NULL, at, &c));
    free(j.p);
    return c;
}

static void verify_file(const char *rel, const ward_dcap_collateral *c, int64_t at,
                        ward_claims *cl, ward_dcap_result *res)
{
    buf q = rd(rel);
    CHECK_OK(ward_dcap_verify_ex(q.p, q.n, c, at, cl, res));
    free(q.p);
}

static void check_hex(const uint8_t *p, size_t n, const char *hex)
{
    size_t len = 0;
    uint8_t *want = tu_unhex(hex, &len);
    assert_int_equal(len, n);
    assert_memory_equal(p, want, n);
    free(want);
}

static void check_advisories(const ward_claims *c, const char *const *want, size_t n)
{
    assert_int_equal(c->n_advisories, n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(c->advisories[i], want[i]);
}

/* ---- the trust anchor ------------------------------------------------------------------- */

static void test_root_ca(void **state)
{
    (void)state;
    size_t len = 0;
    const uint8_t *der = ward_dcap_intel_root_ca(&len);
    uint8_t h[32];
    CHECK_OK(ward_hash(WARD_HASH_SHA256, der, len, h));
    check_hex(h, 32, "44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3");
    buf f = rd("sgx/intel_sgx_root_ca.der");
    assert_int_equal(f.n, len);
    assert_memory_equal(f.p, der, len);
    free(f.p);
}

/* ---- parsing ------------------------------------------------------------------------------ */

static void test_parse_vectors(void **state)
{
    (void)state;
    static const struct {
        const char *file;
        unsigned version, body_type;
        uint32_t tee;
        size_t trailing, cert_len;
        unsigned qe_isvsvn;
    } V[] = {
        {"sgx/phala_sgx_v3_quote.bin", 3, WARD_DCAP_BODY_SGX, WARD_DCAP_TEE_SGX, 0, 3548, 10},
        {"sgx/automata_sgx_v3_debug_quote.bin", 3, WARD_DCAP_BODY_SGX, WARD_DCAP_TEE_SGX, 0,
         3548, 10},
        {"tdx/phala_tdx_v4_quote.bin", 4, WARD_DCAP_BODY_TD10, WARD_DCAP_TEE_TDX, 70, 3678, 6},
        {"tdx/phala_near_tdx_v4_quote.bin", 4, WARD_DCAP_BODY_TD10, WARD_DCAP_TEE_TDX, 70, 3678,
         0},
        {"tdx/phala_tdx_v5_quote_nomatch.bin", 5, WARD_DCAP_BODY_TD15, WARD_DCAP_TEE_TDX, 0,
         3678, 0},
        {"tdx/gtg_tdx_v5_quote.bin", 5, WARD_DCAP_BODY_TD15, WARD_DCAP_TEE_TDX, 0, 3678, 0},
        {"tdx/gtg_tdx_v4_quote_spr.bin", 4, WARD_DCAP_BODY_TD10, WARD_DCAP_TEE_TDX, 39, 3677, 0},
    };
    for (size_t i = 0; i < sizeof V / sizeof V[0]; i++) {
        buf b = rd(V[i].file);
        ward_dcap_quote q;
        CHECK_OK(ward_dcap_parse(b.p, b.n, &q));
        assert_int_equal(q.version, V[i].version);
        assert_int_equal(q.body_type, V[i].body_type);
        assert_int_equal(q.tee_type, V[i].tee);
        assert_int_equal(q.att_key_type, 2);
        assert_int_equal(q.trailing_len, V[i].trailing);
        assert_int_equal(q.quote_len + q.trailing_len, b.n);
        assert_int_equal(q.cert_type, WARD_DCAP_CERT_PCK_CHAIN);
        assert_int_equal(q.cert_len, V[i].cert_len);
        assert_int_equal(q.qe_auth_len, 32);
        for (size_t k = 0; k < 32; k++)
            assert_int_equal(q.qe_auth_data[k], k);
        if (V[i].qe_isvsvn != 0)
            assert_int_equal(q.qe.isvsvn, V[i].qe_isvsvn);
        assert_int_equal(q.qe.flags, 0x15);
        assert_int_equal(q.signed_len, V[i].version == 3 ? 432u
                                       : V[i].version == 4 ? 632u
                                                           : 54u + 648u);
        ward_claims cl;
        CHECK_OK(ward_dcap_quote_claims(&q, &cl));
        assert_int_equal(cl.tcb_status, WARD_TCB_UNKNOWN);
        assert_int_equal(cl.kind, q.is_tdx ? WARD_TEE_KIND_TDX : WARD_TEE_KIND_SGX);
        free(b.p);
    }
    /* SGX-1 header and report. */
    buf b = rd("sgx/phala_sgx_v3_quote.bin");
    ward_dcap_quote q;
    CHECK_OK(ward_dcap_parse(b.p, b.n, &q));
    assert_int_equal(q.qe_svn, 10);
    assert_int_equal(q.pce_svn, 15);
    assert_int_equal(dcap_rd32(b.p + 432), 4164);
    check_hex(q.sgx.mrenclave, 32,
              "33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb");
    check_hex(q.qe.mrsigner, 32,
              "8c4f5775d796503e96137f77c68a829a0056ac8ded70140b081b094490c57bff");
    assert_int_equal(q.qe.isvprodid, 1);
    free(b.p);
    /* TDX-4: the TD 1.5 fields. */
    b = rd("tdx/gtg_tdx_v5_quote.bin");
    CHECK_OK(ward_dcap_parse(b.p, b.n, &q));
    assert_true(q.td.is_15);
    check_hex(q.td.tee_tcb_svn2, 16, "0d010400000000000000000000000000");
    assert_int_equal(dcap_rd32(b.p + 702), 4300);
    free(b.p);
}

/* ---- every vector at its time ------------------------------------------------------------- */

static void test_sgx1(void **state)
{
    (void)state;
    static const char *const adv[] = {"INTEL-SA-00289", "INTEL-SA-00615"};
    ward_dcap_collateral *cs[3];
    cs[0] = load_set(&SGX1);
    cs[1] = load_qvl("sgx/phala_sgx_collateral.json", T_SGX);
    cs[2] = NULL;
    CHECK_OK(ward_dcap_collateral_load_dir(tu_vector_path("sgx"), "phala_sgx_", NULL, T_SGX,
                                           &cs[2]));
    for (size_t i = 0; i < 3; i++) {
        for (int round = 0; round < 2; round++) {
            ward_claims cl;
            ward_dcap_result r;
            verify_file("sgx/phala_sgx_v3_quote.bin", cs[i], T_SGX, &cl, &r);
            assert_int_equal(r.pck_chain_cached, round);
            assert_int_equal(cl.kind, WARD_TEE_KIND_SGX);
            assert_int_equal(cl.quote_version, 3);
            assert_int_equal(cl.measurement_len, 32);
            check_hex(cl.measurement, 32,
                      "33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb");
            assert_int_equal(cl.signer_len, 32);
            check_hex(cl.signer, 32,
                      "815f42f11cf64430c30bab7816ba596a1da0130c3b028b673133a66cf9a3e0e6");
            assert_int_equal(cl.product_id, 0);
            assert_int_equal(cl.svn, 0);
            assert_int_equal(cl.debug, 0);
            assert_memory_equal(cl.report_data, "Hello, world!", 13);
            for (size_t k = 13; k < 64; k++)
                assert_int_equal(cl.report_data[k], 0);
            assert_int_equal(cl.tcb_status, WARD_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED);
            assert_string_equal(ward_tcb_status_name(cl.tcb_status),
                                "ConfigurationAndSWHardeningNeeded");
            check_advisories(&cl, adv, 2);
            check_hex(r.pck.fmspc, 6, "00a067110000");
            check_hex(r.pck.pceid, 2, "0000");
            check_hex(r.pck.cpusvn, 16, "0b0b0202ff0100000000000000000000");
            check_hex(r.pck.comp_svn, 16, "0b0b0202ff0100000000000000000000");
            assert_int_equal(r.pck.pcesvn, 13);
            assert_int_equal(r.pck.sgx_type, 0);
            assert_int_equal(r.pck.platform_ca, 0);
            assert_int_equal(r.pck.has_platform_instance_id, 0);
            assert_int_equal(r.qe_status, WARD_TCB_UP_TO_DATE);
            assert_int_equal(r.sgx_level_status, WARD_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED);
            assert_int_equal(r.tcb_date, INT64_C(1710288000)); /* 2024-03-13 */
            assert_int_equal(r.tcb_eval_number, 17);
            assert_int_equal(r.qe_eval_number, 17);
            assert_int_equal(r.trailing_len, 0);
            assert_int_equal(r.advisories_truncated, 0);
        }
    }
    ward_dcap_collateral_info info;
    CHECK_OK(ward_dcap_collateral_get_info(cs[0], &info));
    assert_int_equal(info.is_tdx, 0);
    assert_int_equal(info.tcb_info_version, 3);
    assert_int_equal(info.n_tcb_levels, 11);
    assert_int_equal(info.not_before, INT64_C(1750330571)); /* 2025-06-19T10:56:11Z */
    assert_int_equal(info.not_after, T_SGX + 1);            /* 2025-07-19T10:01:18Z */
    for (size_t i = 0; i < 3; i++)
        ward_dcap_collateral_free(cs[i]);
}

static void test_sgx2_debug(void **state)
{
    (void)state;
    static const char *const adv[] = {"INTEL-SA-00289", "INTEL-SA-00615"};
    ward_dcap_collateral *c = load_set(&SGX1);
    ward_claims cl;
    ward_dcap_result r;
    verify_file("sgx/automata_sgx_v3_debug_quote.bin", c, T_SGX, &cl, &r);
    assert_int_equal(cl.debug, 1);
    check_hex(cl.measurement, 32,
              "a39d532e6ac9fe8ad9418851bbe26e1dee7408006505fce8580b511b97e704b4");
    check_hex(cl.signer, 32, "9affcfae47b848ec2caf1c49b4b283531e1cc425f93582b36806e52a43d78d1a");
    check_hex(cl.report_data, 64,
              "0000000000000000000000000000000000000000000000000000000000000003c0d8928bbe2b5cee"
              "5253a3ccff2fb0a21e4f99adb1c972f1c4796423275e0fff");
    assert_int_equal(cl.tcb_status, WARD_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED);
    check_advisories(&cl, adv, 2);
    check_hex(r.pck.fmspc, 6, "00a067110000");
    ward_dcap_collateral_free(c);
}

static void check_tdx1_claims(const ward_claims *cl, const ward_dcap_result *r)
{
    assert_int_equal(cl->kind, WARD_TEE_KIND_TDX);
    assert_int_equal(cl->quote_version, 4);
    assert_int_equal(cl->tcb_status, WARD_TCB_UP_TO_DATE);
    assert_int_equal(cl->n_advisories, 0);
    assert_int_equal(cl->debug, 0);
    assert_int_equal(cl->svn, 6);
    assert_int_equal(cl->measurement_len, 48);
    check_hex(cl->measurement, 48,
              "91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407de03ae6dc5f87f27"
              "428b2538873118b7");
    check_hex(cl->tdx_rtmr[0], 48,
              "44c0197b39157fdd7a4dcc44767f9d6b0bb3977c7a8e347b8492f827fe9d9e5c48aca29b220b80b6"
              "a540cf994b9bc9c0");
    check_hex(cl->tdx_rtmr[1], 48,
              "0084452c01668329d4bc06acdf58a7205c26743304509973949e5619bf81a6a7aea8c323c173019b"
              "3093d54e579e9378");
    check_hex(cl->tdx_rtmr[2], 48,
              "d833feef2cd945148aa38ead2c53e9b7f138190aaaebfc551dccd829fc207aa3ba80b70870d73307"
              "33642e01d48c3132");
    static const uint8_t zero48[48];
    assert_memory_equal(cl->tdx_rtmr[3], zero48, 48);
    assert_memory_equal(cl->signer, zero48, 48);
    check_hex(cl->report_data, 64,
              "9a9d48e7f6799642d3d1b34e1e5e1742d4bb02dd6ddd551862c1211d35c304f9eca3efdbb481601c"
              "163cf52493d6e44aed55d51ec39b7e518fadb92c2b523f20");
    check_hex(r->pck.fmspc, 6, "b0c06f000000");
    check_hex(r->pck.comp_svn, 16, "03030202040100050000000000000000");
    assert_int_equal(r->pck.pcesvn, 11);
    assert_int_equal(r->pck.sgx_type, 1);
    assert_int_equal(r->pck.platform_ca, 1);
    assert_int_equal(r->pck.has_platform_instance_id, 1);
    assert_int_equal(r->pck.has_configuration, 1);
    assert_int_equal(r->module_status, WARD_TCB_UP_TO_DATE);
    assert_int_equal(r->qe_status, WARD_TCB_UP_TO_DATE);
    assert_int_equal(r->trailing_len, 70);
    assert_int_equal(r->td_relaunch_advised, 0);
}

static void test_tdx1(void **state)
{
    (void)state;
    ward_dcap_collateral *cs[2] = {load_set(&TDX1),
                                   load_qvl("tdx/phala_tdx_v4_collateral.json", T_TDX1)};
    for (size_t i = 0; i < 2; i++) {
        ward_claims cl;
        ward_dcap_result r;
        verify_file("tdx/phala_tdx_v4_quote.bin", cs[i], T_TDX1, &cl, &r);
        check_tdx1_claims(&cl, &r);
        ward_dcap_collateral_info info;
        CHECK_OK(ward_dcap_collateral_get_info(cs[i], &info));
        assert_int_equal(info.is_tdx, 1);
        assert_int_equal(info.not_before, INT64_C(1750329147)); /* 2025-06-19T10:32:27Z */
        assert_int_equal(info.not_after, T_TDX1 + 1);
        ward_dcap_collateral_free(cs[i]);
    }
}

static void test_tdx2_near(void **state)
{
    (void)state;
    ward_dcap_collateral *c = load_qvl("tdx/phala_near_tdx_v4_collateral.json", T_TDX2);
    ward_claims cl;
    ward_dcap_result r;
    verify_file("tdx/phala_near_tdx_v4_quote.bin", c, T_TDX2, &cl, &r);
    assert_int_equal(cl.tcb_status, WARD_TCB_UP_TO_DATE);
    assert_int_equal(cl.svn, 6);
    check_hex(cl.measurement, 48,
              "f06dfda6dce1cf904d4e2bab1dc370634cf95cefa2ceb2de2eee127c9382698090d7a4a13e14c536"
              "ec6c9c3c8fa87077");
    check_hex(cl.tdx_rtmr[3], 48,
              "287a9242edd8c8429913ec66f44af611b820cf9b574f303a6caeddeb4c9826311aef6e518aaf4a17"
              "f55a81154592b7b3");
    check_hex(r.pck.fmspc, 6, "20a06f000000");
    check_hex(r.pck.comp_svn, 16, "0404020205ff00020000000000000000");
    assert_int_equal(r.pck.pcesvn, 13);
    assert_int_equal(r.trailing_len, 70);
    ward_dcap_collateral_info info;
    CHECK_OK(ward_dcap_collateral_get_info(c, &info));
    assert_int_equal(info.not_after, T_TDX2 + 1);
    ward_dcap_collateral_free(c);
}

static void test_tdx3_no_level(void **state)
{
    (void)state;
    ward_dcap_collateral *cs[2] = {load_set(&TDX3),
                                   load_qvl("tdx/phala_tdx_v5_collateral.json", T_TDX34)};
    for (size_t i = 0; i < 2; i++) {
        buf q = rd("tdx/phala_tdx_v5_quote_nomatch.bin");
        ward_claims cl;
        ward_dcap_result r;
        memset(&cl, 0xAA, sizeof cl);
        expect_err(ward_dcap_verify_ex(q.p, q.n, cs[i], T_TDX34, &cl, &r), WARD_ERR_VERIFY,
                   "TCB level not supported");
        /* PCK component 8 is 3, every level wants 5. */
        assert_non_null(strstr(ward_errmsg(), "[3,3,2,2,4,1,0,3,"));
        assert_int_equal(cl.kind, WARD_TEE_KIND_UNKNOWN); /* zeroed on failure */
        assert_int_equal(cl.tcb_status, WARD_TCB_UNKNOWN);
        ward_dcap_collateral_info info;
        CHECK_OK(ward_dcap_collateral_get_info(cs[i], &info));
        assert_int_equal(info.not_after, T_TDX34 + 1);
        free(q.p);
        ward_dcap_collateral_free(cs[i]);
    }
}

static void test_tdx4_v5(void **state)
{
    (void)state;
    ward_dcap_collateral *c = load_set(&TDX3);
    ward_claims cl;
    ward_dcap_result r;
    verify_file("tdx/gtg_tdx_v5_quote.bin", c, T_TDX34, &cl, &r);
    assert_int_equal(cl.tcb_status, WARD_TCB_UP_TO_DATE);
    assert_int_equal(cl.n_advisories, 0);
    assert_int_equal(cl.quote_version, 5);
    assert_int_equal(cl.svn, 11);
    check_hex(cl.measurement, 48,
              "7348651a34b2d2d3462822e3a750ec6110125f36757c78480bbfc69cc0d21fb001a1ced3ee19747d"
              "da8f750c3bc8f876");
    check_hex(cl.report_data, 64,
              "945eaacf5abc1f719d8666a942fda03d1edcb4490277396093dc5a5289ab9f1e094aed63060cd4a4"
              "933a4dd537ed1255c9c79ecb3ed82cd1b486233e31c25c3a");
    assert_int_equal(r.module_status, WARD_TCB_UP_TO_DATE);
    assert_int_equal(r.td_relaunch_advised, 0);
    check_hex(r.pck.fmspc, 6, "90c06f000000");
    ward_dcap_collateral_free(c);

    /* The alternative go-tdx-guest TCB Info (issued 2026-02-01, nextUpdate 2026-03-03T14:49:26Z)
     * gives UpToDate inside its own window. */
    set alt = TDX3;
    alt.tcb = "tdx/gtg_tdx_tcb_info_90c06f000000.json";
    const int64_t t_alt = INT64_C(1771600000); /* 2026-02-20T15:06:40Z */
    CHECK_OK(load_set_err(&alt, NULL, t_alt, &c));
    verify_file("tdx/gtg_tdx_v5_quote.bin", c, t_alt, &cl, &r);
    assert_int_equal(cl.tcb_status, WARD_TCB_UP_TO_DATE);
    ward_dcap_collateral_info info;
    CHECK_OK(ward_dcap_collateral_get_info(c, &info));
    assert_int_equal(info.not_after, INT64_C(1772549366)); /* 2026-03-03T14:49:26Z */
    assert_int_equal(info.not_before, INT64_C(1771411335)); /* 2026-02-18T10:42:15Z */
    ward_dcap_collateral_free(c);
}

static void test_tdx5_spr(void **state)
{
    (void)state;
    ward_dcap_collateral *c = load_set(&TDX5);
    buf q = rd("tdx/gtg_tdx_v4_quote_spr.bin");
    ward_claims cl;
    /* Signatures, chain and collateral pass; PCK component 1 is 3, below the 5 of both levels. */
    expect_err(ward_dcap_verify(q.p, q.n, c, T_TDX5, &cl), WARD_ERR_VERIFY,
               "TCB level not supported");
    assert_non_null(strstr(ward_errmsg(), "[3,3,2,2,2,1,0,2,"));
    /* In 2053 the collateral has long expired. */
    expect_err(ward_dcap_verify(q.p, q.n, c, T_2053, &cl), WARD_ERR_VERIFY,
               "TCB Info has expired");
    ward_dcap_collateral *late = NULL;
    expect_err(load_set_err(&TDX5, NULL, T_2053, &late), WARD_ERR_VERIFY, "expired");
    assert_null(late);
    free(q.p);
    ward_dcap_collateral_free(c);
}

/* ---- time windows ------------------------------------------------------------------------- */

static void check_window(ward_dcap_collateral *c, const set *s, const char *quote,
                         const char *expired_what)
{
    ward_dcap_collateral_info info;
    CHECK_OK(ward_dcap_collateral_get_info(c, &info));
    buf q = rd(quote);
    ward_claims cl;
    ward_err err = ward_dcap_verify(q.p, q.n, c, info.not_after - 1, &cl);
    if (err != WARD_OK && strstr(ward_errmsg(), "TCB level not supported") == NULL)
        fail_msg("%s at the window's end: %s", quote, ward_errmsg());
    /* One second past the window (its end is the first second that is out). */
    expect_err(ward_dcap_verify(q.p, q.n, c, info.not_after, &cl), WARD_ERR_VERIFY,
               "has expired");
    assert_non_null(strstr(ward_errmsg(), expired_what));
    expect_err(ward_dcap_verify(q.p, q.n, c, info.not_after + 1, &cl), WARD_ERR_VERIFY,
               "has expired");
    expect_err(ward_dcap_verify(q.p, q.n, c, info.not_before - 1, &cl), WARD_ERR_VERIFY,
               "not yet valid");
    free(q.p);
    if (s != NULL) {
        ward_dcap_collateral *late = NULL;
        expect_err(load_set_err(s, NULL, info.not_after + 1, &late), WARD_ERR_VERIFY,
                   "has expired");
        assert_null(late);
    }
}

static void test_expired_collateral(void **state)
{
    (void)state;
    ward_dcap_collateral *c = load_set(&SGX1);
    check_window(c, &SGX1, "sgx/phala_sgx_v3_quote.bin", "QE Identity");
    ward_dcap_collateral_free(c);
    c = load_set(&TDX1);
    check_window(c, &TDX1, "tdx/phala_tdx_v4_quote.bin", "PCK CRL");
    ward_dcap_collateral_free(c);
    c = load_qvl("tdx/phala_near_tdx_v4_collateral.json", T_TDX2);
    check_window(c, NULL, "tdx/phala_near_tdx_v4_quote.bin", "");
    ward_dcap_collateral_free(c);
    c = load_set(&TDX3);
    check_window(c, &TDX3, "tdx/gtg_tdx_v5_quote.bin", "");
    ward_dcap_collateral_free(c);
    /* 0 means now: every real set has expired by now (the test runs after 2026-03-20). */
    ward_dcap_collateral *now = NULL;
    expect_err(load_set_err(&SGX1, NULL, 0, &now), WARD_ERR_VERIFY, "expired");
}

/* The 2018 and the 2025 TCB Signing certificates share key and serial: each set verifies only
 * with its own chain, because the other one is outside its validity. */
static void test_reissued_signing_cert(void **state)
{
    (void)state;
    set s = SGX1;
    s.chain = "tdx/gtg_tcb_signing_chain_2018.pem";
    ward_dcap_collateral *c = NULL;
    expect_err(load_set_err(&s, NULL, T_SGX, &c), WARD_ERR_VERIFY, "certificate has expired");
    assert_non_null(strstr(ward_errmsg(), "TCB Info signing chain"));
    s = TDX5;
    s.chain = "sgx/phala_sgx_tcb_signing_chain.pem";
    expect_err(load_set_err(&s, NULL, T_TDX5, &c), WARD_ERR_VERIFY, "not yet valid");
    /* Within the overlap of both (2025-05-06 .. 2025-05-21), the same key verifies both: a set
     * loads with either chain's certificate if the rest of it were valid then. The keys are the
     * same, which the signatures show. */
    buf a = rd("sgx/phala_sgx_tcb_signing_chain.pem"), b = rd("tdx/gtg_tcb_signing_chain_2018.pem");
    ward_cert **ca = NULL, **cb = NULL;
    size_t na = 0, nb = 0;
    CHECK_OK(ward_cert_list_from_pem((const char *)a.p, a.n, &ca, &na));
    CHECK_OK(ward_cert_list_from_pem((const char *)b.p, b.n, &cb, &nb));
    uint8_t ka[32], kb[32];
    CHECK_OK(ward_cert_spki_sha256(ca[0], ka));
    CHECK_OK(ward_cert_spki_sha256(cb[0], kb));
    assert_memory_equal(ka, kb, 32);
    ward_cert_list_free(ca, na);
    ward_cert_list_free(cb, nb);
    free(a.p);
    free(b.p);
}

/* ---- mismatched collateral ---------------------------------------------------------------- */

static void test_wrong_collateral(void **state)
{
    (void)state;
    ward_dcap_collateral *sgx = load_set(&SGX1);
    ward_dcap_collateral *tdx3 = load_set(&TDX3);
    buf tq = rd("tdx/phala_tdx_v4_quote.bin"), sq = rd("sgx/phala_sgx_v3_quote.bin");
    ward_claims cl;
    /* A TDX quote against SGX collateral, and the reverse. */
    expect_err(ward_dcap_verify(tq.p, tq.n, sgx, T_SGX, &cl), WARD_ERR_VERIFY,
               "TCB Info mismatch");
    expect_err(ward_dcap_verify(sq.p, sq.n, tdx3, T_TDX34, &cl), WARD_ERR_VERIFY,
               "TCB Info mismatch");
    /* TDX-1's platform (FMSPC B0C06F000000) against the 90C06F000000 TCB Info. */
    expect_err(ward_dcap_verify(tq.p, tq.n, tdx3, T_TDX34, &cl), WARD_ERR_VERIFY, "FMSPC");
    /* TDX-1's PCK certificate is from the Platform CA; the Processor CA's CRL cannot clear it. */
    set s = TDX1;
    s.pck_crl = SGX1.pck_crl;
    ward_dcap_collateral *mixed = NULL;
    CHECK_OK(load_set_err(&s, NULL, T_TDX1, &mixed));
    expect_err(ward_dcap_verify(tq.p, tq.n, mixed, T_TDX1, &cl), WARD_ERR_VERIFY,
               "PCK CRL is issued by");
    /* An SGX TCB Info with a TD_QE identity is refused at load. */
    s = SGX1;
    s.qe = "tdx/phala_tdx_v4_qe_identity.json";
    ward_dcap_collateral *bad = NULL;
    expect_err(load_set_err(&s, NULL, T_SGX, &bad), WARD_ERR_VERIFY, "QE Identity is TD_QE");
    /* The Root CA CRL given as the PCK CRL (loads: its issuer is a CA; no PCK certificate has
     * that issuer), and the reverse (refused at load). */
    s = SGX1;
    s.pck_crl = SGX1.root_crl;
    CHECK_OK(load_set_err(&s, NULL, T_SGX, &bad));
    expect_err(ward_dcap_verify(sq.p, sq.n, bad, T_SGX, &cl), WARD_ERR_VERIFY,
               "PCK CRL is issued by");
    ward_dcap_collateral_free(bad);
    bad = NULL;
    s = SGX1;
    s.root_crl = SGX1.pck_crl;
    expect_err(load_set_err(&s, NULL, T_SGX, &bad), WARD_ERR_VERIFY,
               "not by the trusted root");
    ward_dcap_collateral_free(mixed);
    ward_dcap_collateral_free(sgx);
    ward_dcap_collateral_free(tdx3);
    free(tq.p);
    free(sq.p);
}

/* ---- bit flips ------------------------------------------------------------------------------ */

static int matches_any(const char *msg, const char *alts)
{
    if (alts == NULL)
        return 1;
    char tmp[256];
    snprintf(tmp, sizeof tmp, "%s", alts);
    for (char *save = NULL, *tok = strtok_r(tmp, "|", &save); tok != NULL;
         tok = strtok_r(NULL, "|", &save)) {
        if (strstr(msg, tok) != NULL)
            return 1;
    }
    return 0;
}

static size_t g_flips;

/* Flips bits of [off, off+len): every bit (stride 1) or one bit of every stride-th byte, and
 * requires a refusal whose message contains one of reasons ("a|b"). */
static void flip_region(uint8_t *q, size_t n, const ward_dcap_collateral *c, int64_t at,
                        size_t off, size_t len, size_t stride, const char *reasons,
                        const char *region)
{
    for (size_t i = off; i < off + len; i += stride) {
        for (unsigned bit = 0; bit < 8; bit++) {
            if (stride > 1 && bit != (unsigned)(i % 8))
                continue;
            q[i] ^= (uint8_t)(1u << bit);
            ward_claims cl;
            ward_err err = ward_dcap_verify(q, n, c, at, &cl);
            q[i] ^= (uint8_t)(1u << bit);
            g_flips++;
            if (err == WARD_OK)
                fail_msg("%s: flipping bit %u of byte %zu was accepted", region, bit, i);
            if (err != WARD_ERR_VERIFY && err != WARD_ERR_FORMAT && err != WARD_ERR_TRUNCATED &&
                err != WARD_ERR_UNSUPPORTED)
                fail_msg("%s: byte %zu bit %u: unexpected %s: %s", region, i, bit,
                         ward_err_name(err), ward_errmsg());
            if (!matches_any(ward_errmsg(), reasons))
                fail_msg("%s: byte %zu bit %u: \"%s\" is none of \"%s\"", region, i, bit,
                         ward_errmsg(), reasons);
        }
    }
}

static void flip_quote(const char *rel, const ward_dcap_collateral *c, int64_t at)
{
    buf b = rd(rel);
    ward_dcap_quote q;
    CHECK_OK(ward_dcap_parse(b.p, b.n, &q));
    ward_claims cl;
    CHECK_OK(ward_dcap_verify(b.p, b.n, c, at, &cl)); /* and caches the PCK chain */
    uint8_t *p = b.p;
    size_t body_off = (size_t)(q.body - p);
    size_t sd = q.signed_len + 4;
    size_t qe = (size_t)(q.qe_report - p);
    size_t auth = (size_t)(q.qe_auth_data - p);
    size_t cert = (size_t)(q.cert_data - p);
    const char *body_reasons = q.is_tdx ? "quote signature|TDX module mismatch" : "quote signature";
    flip_region(p, b.n, c, at, 0, body_off, 1, NULL, "header");
    flip_region(p, b.n, c, at, body_off, q.body_len, 1, body_reasons, "body");
    flip_region(p, b.n, c, at, q.signed_len, 4, 1, NULL, "signature data length");
    flip_region(p, b.n, c, at, sd, 64, 1, "quote signature", "quote signature");
    flip_region(p, b.n, c, at, sd + 64, 64, 1, "QE report data", "attestation key");
    if (q.version != 3)
        flip_region(p, b.n, c, at, sd + 128, 6, 1, NULL, "QE report certification data header");
    flip_region(p, b.n, c, at, qe, 384, 1, "QE report signature", "QE report");
    flip_region(p, b.n, c, at, qe + 384, 64, 1, "QE report signature", "QE report signature");
    flip_region(p, b.n, c, at, auth - 2, 2, 1, NULL, "QE auth data size");
    flip_region(p, b.n, c, at, auth, q.qe_auth_len, 1, "QE report data", "QE auth data");
    flip_region(p, b.n, c, at, cert - 6, 6, 1, NULL, "certification data header");
    flip_region(p, b.n, c, at, cert, q.cert_len, 13, "PCK chain", "PCK certificate chain");
    /* The root certificate at the end of the chain, every bit of a sample of it. */
    flip_region(p, b.n, c, at, cert + q.cert_len - 300, 40, 1, "PCK chain", "root certificate");
    /* Trailing bytes are not part of the quote: changing them changes nothing. */
    for (size_t i = q.quote_len; i < b.n; i++) {
        p[i] ^= 0x5A;
        CHECK_OK(ward_dcap_verify(p, b.n, c, at, &cl));
        p[i] ^= 0x5A;
    }
    free(b.p);
}

static void test_bit_flips(void **state)
{
    (void)state;
    g_flips = 0;
    ward_dcap_collateral *c = load_set(&SGX1);
    flip_quote("sgx/phala_sgx_v3_quote.bin", c, T_SGX);
    ward_dcap_collateral_free(c);
    c = load_set(&TDX1);
    flip_quote("tdx/phala_tdx_v4_quote.bin", c, T_TDX1);
    ward_dcap_collateral_free(c);
    c = load_set(&TDX3);
    flip_quote("tdx/gtg_tdx_v5_quote.bin", c, T_TDX34);
    ward_dcap_collateral_free(c);
    print_message("bit flips refused: %zu\n", g_flips);
}

/* Flips in the signed JSON of the collateral (the tcbInfo and enclaveIdentity values and the
 * signatures) are refused at load. */
static void test_collateral_bit_flips(void **state)
{
    (void)state;
    buf t = rd(SGX1.tcb), q = rd(SGX1.qe), ch = rd(SGX1.chain), rc = rd(SGX1.root_crl),
        pc = rd(SGX1.pck_crl);
    ward_dcap_collateral_src src = {
        .tcb_info = (const char *)t.p,
        .tcb_info_len = t.n,
        .qe_identity = (const char *)q.p,
        .qe_identity_len = q.n,
        .tcb_signing_chain = (const char *)ch.p,
        .tcb_signing_chain_len = ch.n,
        .root_ca_crl = rc.p,
        .root_ca_crl_len = rc.n,
        .pck_crl = pc.p,
        .pck_crl_len = pc.n,
    };
    struct {
        buf *b;
        size_t stride;
    } targets[] = {{&t, 7}, {&q, 3}, {&rc, 1}, {&pc, 1}, {&ch, 11}};
    size_t flips = 0, late = 0;
    buf quote = rd("sgx/phala_sgx_v3_quote.bin");
    for (size_t k = 0; k < sizeof targets / sizeof targets[0]; k++) {
        buf *b = targets[k].b;
        /* The signature's hex digits may change case: the same bytes (the hex decoder takes
         * both cases, as PCS writes lower case and the bodies upper case FMSPCs). */
        const char *sig = k < 2 ? strstr((const char *)b->p, "\"signature\":\"") : NULL;
        for (size_t i = 0; i < b->n; i += targets[k].stride) {
            unsigned bit = (unsigned)(i % 8);
            char ch0 = (char)b->p[i];
            if (sig != NULL && i >= (size_t)(sig - (const char *)b->p) + 13 && bit == 5 &&
                ((ch0 >= 'a' && ch0 <= 'f') || (ch0 >= 'A' && ch0 <= 'F')))
                continue;
            b->p[i] ^= (uint8_t)(1u << bit);
            ward_dcap_collateral *c = NULL;
            ward_err err = ward_dcap_collateral_load(&src, NULL, T_SGX, &c);
            flips++;
            if (err == WARD_OK) {
                /* The PCK CRL's signature is checked with the quote's PCK CA: such a
                 * collateral loads, and then fails every quote. */
                ward_claims cl;
                err = ward_dcap_verify(quote.p, quote.n, c, T_SGX, &cl);
                ward_dcap_collateral_free(c);
                if (err == WARD_OK || k != 3)
                    fail_msg("collateral file %zu: flipping bit %u of byte %zu was accepted", k,
                             bit, i);
                late++;
            } else {
                assert_null(c);
            }
            b->p[i] ^= (uint8_t)(1u << bit);
        }
    }
    print_message("collateral bit flips refused: %zu (%zu of them in the PCK CRL at "
                  "verification)\n", flips, late);
    free(quote.p);
    free(t.p);
    free(q.p);
    free(ch.p);
    free(rc.p);
    free(pc.p);
}

/* ---- truncation and trailing data --------------------------------------------------------- */

static void truncate_quote(const char *rel, const ward_dcap_collateral *c, int64_t at)
{
    buf b = rd(rel);
    ward_dcap_quote q;
    CHECK_OK(ward_dcap_parse(b.p, b.n, &q));
    size_t body_end = q.signed_len;
    for (size_t len = 0; len < q.quote_len; len++) {
        /* An exact-size copy, so that ASan sees any read past the end. */
        uint8_t *cut = malloc(len ? len : 1);
        assert_non_null(cut);
        memcpy(cut, b.p, len);
        ward_claims cl;
        const char *why = len < WARD_DCAP_HEADER_LEN ? "header"
                          : len < body_end + 4       ? (q.version == 5 && len < 54 ? "v5 body"
                                                                                   : "report body")
                                                     : "signature data";
        expect_err(ward_dcap_verify(cut, len, c, at, &cl), WARD_ERR_TRUNCATED, why);
        free(cut);
    }
    /* Cut anywhere in the trailing bytes, or exactly at the end of the quote: still valid. */
    for (size_t len = q.quote_len; len <= b.n; len++) {
        ward_claims cl;
        ward_dcap_result r;
        CHECK_OK(ward_dcap_verify_ex(b.p, len, c, at, &cl, &r));
        assert_int_equal(r.trailing_len, len - q.quote_len);
    }
    free(b.p);
}

static void test_truncation(void **state)
{
    (void)state;
    ward_dcap_collateral *c = load_set(&SGX1);
    truncate_quote("sgx/phala_sgx_v3_quote.bin", c, T_SGX);
    ward_dcap_collateral_free(c);
    c = load_set(&TDX1);
    truncate_quote("tdx/phala_tdx_v4_quote.bin", c, T_TDX1);
    ward_dcap_collateral_free(c);
    c = load_set(&TDX3);
    truncate_quote("tdx/gtg_tdx_v5_quote.bin", c, T_TDX34);
    ward_dcap_collateral_free(c);
}

static void test_trailing_data(void **state)
{
    (void)state;
    ward_dcap_collateral *c = load_set(&SGX1);
    buf b = rd("sgx/phala_sgx_v3_quote.bin");
    uint8_t *longer = malloc(b.n + 100);
    assert_non_null(longer);
    memcpy(longer, b.p, b.n);
    memset(longer + b.n, 0xEE, 100);
    ward_claims cl;
    ward_dcap_result r;
    CHECK_OK(ward_dcap_verify_ex(longer, b.n + 100, c, T_SGX, &cl, &r));
    assert_int_equal(r.trailing_len, 100);
    assert_int_equal(r.quote_len, b.n);
    /* The declared signature data length covers exactly what is there: one byte more in the
     * declaration (and the trailing bytes then taken as the certification data's) is refused. */
    longer[432] = (uint8_t)(longer[432] + 1);
    expect_err(ward_dcap_verify(longer, b.n + 100, c, T_SGX, &cl), WARD_ERR_FORMAT,
               "follow the certification data");
    free(longer);
    free(b.p);
    ward_dcap_collateral_free(c);
}

/* ---- structural refusals ------------------------------------------------------------------ */

static void test_structure(void **state)
{
    (void)state;
    ward_dcap_collateral *c = load_set(&SGX1);
    buf b = rd("sgx/phala_sgx_v3_quote.bin");
    ward_claims cl;
    struct {
        size_t off;
        uint8_t val;
        ward_err err;
        const char *why;
    } cases[] = {
        {0, 2, WARD_ERR_UNSUPPORTED, "version 2"},
        {0, 6, WARD_ERR_UNSUPPORTED, "version 6"},
        {2, 3, WARD_ERR_UNSUPPORTED, "P-384"},
        {2, 1, WARD_ERR_FORMAT, "attestation key type 1"},
        {4, 0x81, WARD_ERR_FORMAT, "v3 quote must have TEE type 0"},
        {4, 0x82, WARD_ERR_FORMAT, "unknown TEE type"},
        {12, 0x00, WARD_ERR_FORMAT, "vendor ID"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t old = b.p[cases[i].off];
        b.p[cases[i].off] = cases[i].val;
        expect_err(ward_dcap_verify(b.p, b.n, c, T_SGX, &cl), cases[i].err, cases[i].why);
        b.p[cases[i].off] = old;
    }
    /* Certification data type 4 (a PCK leaf only) cannot be verified offline. */
    ward_dcap_quote q;
    CHECK_OK(ward_dcap_parse(b.p, b.n, &q));
    size_t type_off = (size_t)(q.cert_data - b.p) - 6;
    b.p[type_off] = 4;
    expect_err(ward_dcap_verify(b.p, b.n, c, T_SGX, &cl), WARD_ERR_UNSUPPORTED, "type 4");
    b.p[type_off] = 7;
    expect_err(ward_dcap_verify(b.p, b.n, c, T_SGX, &cl), WARD_ERR_FORMAT, "1..5");
    b.p[type_off] = 5;
    /* Arguments. */
    expect_err(ward_dcap_verify(NULL, 10, c, T_SGX, &cl), WARD_ERR_INVALID_ARG, NULL);
    expect_err(ward_dcap_verify(b.p, b.n, NULL, T_SGX, &cl), WARD_ERR_INVALID_ARG, NULL);
    expect_err(ward_dcap_verify(b.p, b.n, c, T_SGX, NULL), WARD_ERR_INVALID_ARG, NULL);
    expect_err(ward_dcap_verify(b.p, b.n, c, -1, &cl), WARD_ERR_INVALID_ARG, NULL);
    free(b.p);

    /* TDX v5: body descriptor rules. */
    ward_dcap_collateral *t = load_set(&TDX3);
    b = rd("tdx/gtg_tdx_v5_quote.bin");
    b.p[48] = 1; /* an SGX body in a TDX quote */
    expect_err(ward_dcap_verify(b.p, b.n, t, T_TDX34, &cl), WARD_ERR_FORMAT, "must be 384");
    b.p[48] = 2; /* TD 1.0 with 648 bytes */
    expect_err(ward_dcap_verify(b.p, b.n, t, T_TDX34, &cl), WARD_ERR_FORMAT, "must be 584");
    b.p[48] = 9;
    expect_err(ward_dcap_verify(b.p, b.n, t, T_TDX34, &cl), WARD_ERR_FORMAT, "body type 9");
    b.p[48] = 3;
    /* The outer certification data type must be 6. */
    b.p[706 + 128] = 5;
    expect_err(ward_dcap_verify(b.p, b.n, t, T_TDX34, &cl), WARD_ERR_FORMAT, "type 6");
    free(b.p);
    ward_dcap_collateral_free(t);
    ward_dcap_collateral_free(c);
}

static void test_collateral_format(void **state)
{
    (void)state;
    buf t = rd(SGX1.tcb), q = rd(SGX1.qe), ch = rd(SGX1.chain), rc = rd(SGX1.root_crl),
        pc = rd(SGX1.pck_crl);
    ward_dcap_collateral_src src = {
        .tcb_info = (const char *)t.p,
        .tcb_info_len = t.n,
        .qe_identity = (const char *)q.p,
        .qe_identity_len = q.n,
        .tcb_signing_chain = (const char *)ch.p,
        .tcb_signing_chain_len = ch.n,
        .root_ca_crl = rc.p,
        .root_ca_crl_len = rc.n,
        .pck_crl = pc.p,
        .pck_crl_len = pc.n,
    };
    ward_dcap_collateral *c = NULL;
    /* Every truncation of each JSON body and CRL is refused (JSON or DER error). */
    for (size_t len = 0; len < t.n; len += 3) {
        src.tcb_info_len = len;
        assert_int_not_equal(ward_dcap_collateral_load(&src, NULL, T_SGX, &c), WARD_OK);
    }
    src.tcb_info_len = t.n;
    for (size_t len = 1; len < rc.n; len++) {
        src.root_ca_crl_len = len;
        assert_int_not_equal(ward_dcap_collateral_load(&src, NULL, T_SGX, &c), WARD_OK);
    }
    src.root_ca_crl_len = rc.n;
    /* A missing part. */
    src.pck_crl = NULL;
    expect_err(ward_dcap_collateral_load(&src, NULL, T_SGX, &c), WARD_ERR_INVALID_ARG,
               "PCK CRL is missing");
    src.pck_crl = pc.p;
    /* The signing chain without its root. */
    char *end = strstr((char *)ch.p, "-----END CERTIFICATE-----");
    assert_non_null(end);
    src.tcb_signing_chain_len = (size_t)(end - (char *)ch.p) + 26;
    expect_err(ward_dcap_collateral_load(&src, NULL, T_SGX, &c), WARD_ERR_FORMAT,
               "1 certificates");
    src.tcb_signing_chain_len = ch.n;
    /* The signature is over the exact bytes: the same JSON with a space added is refused. */
    size_t n2 = t.n + 1;
    char *spaced = malloc(n2);
    assert_non_null(spaced);
    memcpy(spaced, t.p, 12); /* {"tcbInfo":{ */
    assert_memory_equal(spaced, "{\"tcbInfo\":{", 12);
    spaced[12] = ' ';
    memcpy(spaced + 13, t.p + 12, t.n - 12);
    src.tcb_info = spaced;
    src.tcb_info_len = n2;
    expect_err(ward_dcap_collateral_load(&src, NULL, T_SGX, &c), WARD_ERR_VERIFY,
               "TCB Info: the signature does not verify");
    /* Whitespace outside the signed value is fine. */
    memcpy(spaced, t.p, t.n);
    spaced[t.n - 1] = ' ';
    spaced[t.n] = '}';
    CHECK_OK(ward_dcap_collateral_load(&src, NULL, T_SGX, &c));
    ward_dcap_collateral_free(c);
    c = NULL;
    free(spaced);
    src.tcb_info = (const char *)t.p;
    src.tcb_info_len = t.n;
    /* The TCB Info's and QE Identity's signatures swapped: both refused. */
    src.qe_identity = (const char *)t.p;
    src.qe_identity_len = t.n;
    expect_err(ward_dcap_collateral_load(&src, NULL, T_SGX, &c), WARD_ERR_FORMAT,
               "enclaveIdentity");

    /* QVL JSON: missing and mistyped members. */
    expect_err(ward_dcap_collateral_load_qvl_json("{}", 2, NULL, T_SGX, &c), WARD_ERR_FORMAT,
               "tcb_info");
    expect_err(ward_dcap_collateral_load_qvl_json("[1]", 3, NULL, T_SGX, &c), WARD_ERR_FORMAT,
               "not a JSON object");
    buf j = rd("sgx/phala_sgx_collateral.json");
    char *k = strstr((char *)j.p, "\"pck_crl\": \"");
    assert_non_null(k);
    k[12] = 'x'; /* not hex */
    expect_err(ward_dcap_collateral_load_qvl_json((const char *)j.p, j.n, NULL, T_SGX, &c),
               WARD_ERR_FORMAT, "not hex");
    free(j.p);
    /* A directory without the files. */
    expect_err(ward_dcap_collateral_load_dir(tu_vector_path("sgx"), "nothing_", NULL, T_SGX, &c),
               WARD_ERR_NOT_FOUND, "nothing_collateral.json");
    assert_null(c);
    free(t.p);
    free(q.p);
    free(ch.p);
    free(rc.p);
    free(pc.p);
}

/* ---- a wrong trust anchor ----------------------------------------------------------------- */

static ward_cert *mk_cert(const char *cn, const ward_pkey *key, const ward_cert *issuer,
                          const ward_pkey *issuer_key, int is_ca, int64_t nb, int64_t na,
                          const ward_cert_ext *ext, size_t n_ext)
{
    ward_cert_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.common_name = cn;
    spec.organization = "Ward test";
    spec.not_before = nb;
    spec.not_after = na;
    spec.is_ca = is_ca;
    spec.path_len = is_ca ? 1 : -1;
    spec.extensions = ext;
    spec.n_extensions = n_ext;
    ward_cert *c = NULL;
    CHECK_OK(ward_cert_create(&spec, key, issuer, issuer_key, &c));
    return c;
}

static ward_pkey *gen_p256(void)
{
    ward_pkey *k = NULL;
    CHECK_OK(ward_pkey_generate(WARD_KEY_EC_P256, &k));
    return k;
}

static void test_wrong_root(void **state)
{
    (void)state;
    ward_pkey *k = gen_p256();
    ward_cert *root = mk_cert("Test SGX Root CA", k, NULL, k, 1, T_SGX - YEAR, T_SGX + YEAR,
                              NULL, 0);
    uint8_t *der = NULL;
    size_t len = 0;
    CHECK_OK(ward_cert_to_der(root, &der, &len));
    ward_dcap_options opt = {der, len, 0};
    ward_dcap_collateral *c = NULL;
    /* Intel's collateral against another root: the Root CA CRL is not the root's. */
    expect_err(load_set_err(&SGX1, &opt, T_SGX, &c), WARD_ERR_VERIFY, "not by the trusted root");
    assert_null(c);
    free(der);
    ward_cert_free(root);
    ward_pkey_free(k);
}

/* ---- a test PKI around the real quote ------------------------------------------------------- */

static X509 *to_x509(const ward_cert *c)
{
    uint8_t *der = NULL;
    size_t len = 0;
    CHECK_OK(ward_cert_to_der(c, &der, &len));
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    assert_non_null(x);
    free(der);
    return x;
}

/* A CRL by issuer revoking the given certificates, with CRL number and AKI, as DER. */
static buf mk_crl(const ward_cert *issuer, const ward_pkey *issuer_key,
                  const ward_cert *const *revoked, size_t n, int64_t this_u, int64_t next_u)
{
    X509 *ix = to_x509(issuer);
    X509_CRL *crl = X509_CRL_new();
    assert_non_null(crl);
    assert_int_equal(X509_CRL_set_version(crl, 1), 1);
    assert_int_equal(X509_CRL_set_issuer_name(crl, X509_get_subject_name(ix)), 1);
    ASN1_TIME *t1 = ASN1_TIME_set(NULL, (time_t)this_u), *t2 = ASN1_TIME_set(NULL, (time_t)next_u);
    assert_int_equal(X509_CRL_set1_lastUpdate(crl, t1), 1);
    assert_int_equal(X509_CRL_set1_nextUpdate(crl, t2), 1);
    for (size_t i = 0; i < n; i++) {
        X509 *rx = to_x509(revoked[i]);
        X509_REVOKED *r = X509_REVOKED_new();
        assert_int_equal(X509_REVOKED_set_serialNumber(r, X509_get_serialNumber(rx)), 1);
        assert_int_equal(X509_REVOKED_set_revocationDate(r, t1), 1);
        assert_int_equal(X509_CRL_add0_revoked(crl, r), 1);
        X509_free(rx);
    }
    ASN1_INTEGER *num = ASN1_INTEGER_new();
    ASN1_INTEGER_set(num, 1);
    assert_int_equal(X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0), 1);
    ASN1_INTEGER_free(num);
    AUTHORITY_KEYID *akid = AUTHORITY_KEYID_new();
    const ASN1_OCTET_STRING *skid = X509_get0_subject_key_id(ix);
    assert_non_null(skid);
    akid->keyid = ASN1_OCTET_STRING_dup(skid);
    assert_int_equal(X509_CRL_add1_ext_i2d(crl, NID_authority_key_identifier, akid, 0, 0), 1);
    AUTHORITY_KEYID_free(akid);
    X509_CRL_sort(crl);
    assert_true(X509_CRL_sign(crl, issuer_key->pkey, EVP_sha256()) > 0);
    unsigned char *der = NULL;
    int len = i2d_X509_CRL(crl, &der);
    assert_true(len > 0);
    buf b;
    b.p = malloc((size_t)len);
    assert_non_null(b.p);
    memcpy(b.p, der, (size_t)len);
    b.n = (size_t)len;
    OPENSSL_free(der);
    ASN1_TIME_free(t1);
    ASN1_TIME_free(t2);
    X509_CRL_free(crl);
    X509_free(ix);
    return b;
}

/* What a test PKI is built around: a real quote, its TCB Info and QE Identity bodies, a time. */
typedef struct base {
    const char *quote, *tcb, *qe;
    int64_t at;
    const char *ca_cn;
} base;

static const base B_SGX = {"sgx/phala_sgx_v3_quote.bin", "sgx/phala_sgx_tcb_info.json",
                           "sgx/phala_sgx_qe_identity.json", T_SGX, "Test SGX PCK Processor CA"};
static const base B_TDX = {"tdx/gtg_tdx_v5_quote.bin", "tdx/phala_tdx_v5_tcb_info.json",
                           "tdx/phala_tdx_v5_qe_identity.json", T_TDX34,
                           "Test SGX PCK Platform CA"};

typedef struct pki {
    const base *b;
    ward_pkey *root_key, *signer_key, *ca_key, *leaf_key, *att_key;
    ward_cert *root, *signer, *ca, *leaf;
    uint8_t *root_der;
    size_t root_der_len;
    uint8_t *sgx_ext;
    size_t sgx_ext_len;
} pki;

/* The real PCK certificate's SGX extensions, so that FMSPC and TCB match the real TCB Info. */
static void real_sgx_ext(pki *k)
{
    buf b = rd(k->b->quote);
    ward_dcap_quote q;
    CHECK_OK(ward_dcap_parse(b.p, b.n, &q));
    ward_cert *leaf = NULL;
    CHECK_OK(ward_cert_from_pem((const char *)q.cert_data, q.cert_len, &leaf));
    CHECK_OK(ward_cert_extension(leaf, "1.2.840.113741.1.13.1", &k->sgx_ext, &k->sgx_ext_len,
                                 NULL));
    ward_cert_free(leaf);
    free(b.p);
}

static ward_cert *mk_leaf(pki *k, int64_t nb, int64_t na)
{
    ward_cert_ext ext = {"1.2.840.113741.1.13.1", k->sgx_ext, k->sgx_ext_len, 0};
    return mk_cert("Test SGX PCK Certificate", k->leaf_key, k->ca, k->ca_key, 0, nb, na, &ext, 1);
}

static void pki_init(pki *k, const base *b)
{
    memset(k, 0, sizeof *k);
    k->b = b;
    int64_t t = b->at;
    k->root_key = gen_p256();
    k->signer_key = gen_p256();
    k->ca_key = gen_p256();
    k->leaf_key = gen_p256();
    k->att_key = gen_p256();
    k->root = mk_cert("Test SGX Root CA", k->root_key, NULL, k->root_key, 1, t - 2 * YEAR,
                      t + 5 * YEAR, NULL, 0);
    k->signer = mk_cert("Test SGX TCB Signing", k->signer_key, k->root, k->root_key, 0,
                        t - YEAR, t + YEAR, NULL, 0);
    k->ca = mk_cert(b->ca_cn, k->ca_key, k->root, k->root_key, 1, t - YEAR, t + 2 * YEAR, NULL,
                    0);
    real_sgx_ext(k);
    k->leaf = mk_leaf(k, t - DAY, t + YEAR);
    CHECK_OK(ward_cert_to_der(k->root, &k->root_der, &k->root_der_len));
}

static void pki_free(pki *k)
{
    ward_pkey_free(k->root_key);
    ward_pkey_free(k->signer_key);
    ward_pkey_free(k->ca_key);
    ward_pkey_free(k->leaf_key);
    ward_pkey_free(k->att_key);
    ward_cert_free(k->root);
    ward_cert_free(k->signer);
    ward_cert_free(k->ca);
    ward_cert_free(k->leaf);
    free(k->root_der);
    free(k->sgx_ext);
}

static char *pem_of(const ward_cert *c)
{
    char *pem = NULL;
    size_t len = 0;
    CHECK_OK(ward_cert_to_pem(c, &pem, &len));
    return pem;
}

static void sign64(const ward_pkey *key, const void *msg, size_t len, uint8_t out[64])
{
    uint8_t *sig = NULL;
    size_t sig_len = 0;
    CHECK_OK(ward_sign(key, WARD_HASH_SHA256, WARD_SIG_RAW, msg, len, &sig, &sig_len));
    assert_int_equal(sig_len, 64);
    memcpy(out, sig, 64);
    free(sig);
}

static void put32(uint8_t *p, size_t v)
{
    for (size_t i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* The base quote re-signed by the test PKI: its header and body with up to two edits applied
 * (byte offset and value; a negative value is no edit), a fresh attestation key bound into the
 * QE report (whose ISVSVN becomes qe_svn), the QE report signed by leaf_key, the chain leaf, CA,
 * root. */
static buf mk_quote_edit2(const pki *k, const ward_cert *leaf, const ward_pkey *leaf_key,
                          uint16_t qe_svn, size_t off1, int val1, size_t off2, int val2)
{
    buf b = rd(k->b->quote);
    ward_dcap_quote q;
    CHECK_OK(ward_dcap_parse(b.p, b.n, &q));
    char *p1 = pem_of(leaf), *p2 = pem_of(k->ca), *p3 = pem_of(k->root);
    size_t l1 = strlen(p1), l2 = strlen(p2), l3 = strlen(p3);
    size_t cert_len = l1 + l2 + l3;
    size_t auth_len = q.qe_auth_len;
    size_t qe_part = 384 + 64 + 2 + auth_len + 6 + cert_len;
    size_t outer = q.version == 3 ? 0 : 6;
    size_t sig_len = 128 + outer + qe_part;
    buf o;
    o.n = q.signed_len + 4 + sig_len;
    o.p = calloc(1, o.n);
    assert_non_null(o.p);
    memcpy(o.p, b.p, q.signed_len);
    if (val1 >= 0)
        o.p[off1] = (uint8_t)val1;
    if (val2 >= 0)
        o.p[off2] = (uint8_t)val2;
    put32(o.p + q.signed_len, sig_len);
    uint8_t *sd = o.p + q.signed_len + 4;
    uint8_t raw[65];
    size_t raw_len = sizeof raw;
    CHECK_OK(ward_pkey_raw_public(k->att_key, raw, &raw_len));
    assert_int_equal(raw_len, 65);
    memcpy(sd + 64, raw + 1, 64);
    if (outer) {
        sd[128] = 6;
        put32(sd + 130, qe_part);
    }
    uint8_t *qe = sd + 128 + outer;
    memcpy(qe, q.qe_report, 384);
    qe[258] = (uint8_t)qe_svn;
    qe[259] = (uint8_t)(qe_svn >> 8);
    uint8_t *auth = qe + 450;
    auth[-2] = (uint8_t)auth_len;
    auth[-1] = (uint8_t)(auth_len >> 8);
    memcpy(auth, q.qe_auth_data, auth_len);
    uint8_t *hin = malloc(64 + auth_len);
    assert_non_null(hin);
    memcpy(hin, raw + 1, 64);
    memcpy(hin + 64, q.qe_auth_data, auth_len);
    CHECK_OK(ward_hash(WARD_HASH_SHA256, hin, 64 + auth_len, qe + 320));
    memset(qe + 352, 0, 32);
    free(hin);
    sign64(leaf_key, qe, 384, qe + 384);
    uint8_t *cd = auth + auth_len;
    cd[0] = 5;
    put32(cd + 2, cert_len);
    memcpy(cd + 6, p1, l1);
    memcpy(cd + 6 + l1, p2, l2);
    memcpy(cd + 6 + l1 + l2, p3, l3);
    sign64(k->att_key, o.p, q.signed_len, sd);
    free(p1);
    free(p2);
    free(p3);
    free(b.p);
    return o;
}

static buf mk_quote_edit(const pki *k, const ward_cert *leaf, const ward_pkey *leaf_key,
                         uint16_t qe_svn, size_t off, int val)
{
    return mk_quote_edit2(k, leaf, leaf_key, qe_svn, off, val, 0, -1);
}

static buf mk_quote(const pki *k, const ward_cert *leaf, const ward_pkey *leaf_key,
                    uint16_t qe_svn)
{
    return mk_quote_edit(k, leaf, leaf_key, qe_svn, 0, -1);
}

/* {"<member>":<body>,"signature":"<hex>"} with body signed by the test TCB Signing key. */
static char *mk_envelope(const pki *k, const char *member, const char *body)
{
    uint8_t sig[64];
    sign64(k->signer_key, body, strlen(body), sig);
    char *hex = NULL;
    CHECK_OK(ward_hex_encode(sig, 64, &hex, NULL));
    size_t cap = strlen(member) + strlen(body) + 200;
    char *out = malloc(cap);
    assert_non_null(out);
    snprintf(out, cap, "{\"%s\":%s,\"signature\":\"%s\"}", member, body, hex);
    free(hex);
    return out;
}

/* A real TCB Info / QE Identity body text, with one substitution (NULL: none). */
static char *real_body(const char *member, const char *rel, const char *from, const char *to)
{
    buf f = rd(rel);
    const char *span = NULL;
    size_t span_len = 0;
    CHECK_OK(dcap_json_member_span((const char *)f.p, f.n, member, &span, &span_len));
    size_t extra = to != NULL ? strlen(to) : 0;
    char *s = malloc(span_len + extra + 1);
    assert_non_null(s);
    memcpy(s, span, span_len);
    s[span_len] = '\0';
    if (from != NULL) {
        char *at = strstr(s, from);
        if (at == NULL)
            fail_msg("\"%s\" is not in %s", from, rel);
        size_t fl = strlen(from), tl = strlen(to);
        memmove(at + tl, at + fl, strlen(at + fl) + 1);
        memcpy(at, to, tl);
    }
    free(f.p);
    return s;
}

typedef struct synth {
    const char *tcb_from, *tcb_to; /* a substitution in the TCB Info body */
    const char *qe_from, *qe_to;   /* ... in the QE Identity body */
    const ward_cert *root_revoked[2];
    size_t n_root_revoked;
    const ward_cert *pck_revoked[2];
    size_t n_pck_revoked;
    const ward_cert *pck_crl_issuer; /* NULL: the PCK CA */
    const ward_pkey *pck_crl_key;
} synth;

static ward_err synth_load(const pki *k, const synth *s, ward_dcap_collateral **out)
{
    int64_t t = k->b->at;
    char *tb = real_body("tcbInfo", k->b->tcb, s->tcb_from, s->tcb_to);
    char *qb = real_body("enclaveIdentity", k->b->qe, s->qe_from, s->qe_to);
    char *te = mk_envelope(k, "tcbInfo", tb), *qe = mk_envelope(k, "enclaveIdentity", qb);
    char *p1 = pem_of(k->signer), *p2 = pem_of(k->root);
    size_t cl = strlen(p1) + strlen(p2) + 1;
    char *chain = malloc(cl);
    assert_non_null(chain);
    snprintf(chain, cl, "%s%s", p1, p2);
    buf rc = mk_crl(k->root, k->root_key, s->root_revoked, s->n_root_revoked, t - DAY, t + DAY);
    buf pc = mk_crl(s->pck_crl_issuer ? s->pck_crl_issuer : k->ca,
                    s->pck_crl_key ? s->pck_crl_key : k->ca_key, s->pck_revoked,
                    s->n_pck_revoked, t - DAY, t + DAY);
    ward_dcap_collateral_src src = {
        .tcb_info = te,
        .tcb_info_len = strlen(te),
        .qe_identity = qe,
        .qe_identity_len = strlen(qe),
        .tcb_signing_chain = chain,
        .tcb_signing_chain_len = strlen(chain),
        .root_ca_crl = rc.p,
        .root_ca_crl_len = rc.n,
        .pck_crl = pc.p,
        .pck_crl_len = pc.n,
    };
    ward_dcap_options opt = {k->root_der, k->root_der_len, 0};
    ward_err err = ward_dcap_collateral_load(&src, &opt, t, out);
    free(tb);
    free(qb);
    free(te);
    free(qe);
    free(p1);
    free(p2);
    free(chain);
    free(rc.p);
    free(pc.p);
    return err;
}

static ward_dcap_collateral *synth_ok(const pki *k, const synth *s)
{
    ward_dcap_collateral *c = NULL;
    CHECK_OK(synth_load(k, s, &c));
    return c;
}

static void test_synthetic_pki(void **state)
{
    (void)state;
    pki k;
    pki_init(&k, &B_SGX);
    synth s;
    memset(&s, 0, sizeof s);
    ward_claims cl;
    ward_dcap_result r;

    /* The baseline: same status as the real quote (same TCB, same collateral bodies). */
    ward_dcap_collateral *c = synth_ok(&k, &s);
    buf q = mk_quote(&k, k.leaf, k.leaf_key, 10);
    CHECK_OK(ward_dcap_verify_ex(q.p, q.n, c, T_SGX, &cl, &r));
    assert_int_equal(cl.tcb_status, WARD_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED);
    assert_int_equal(r.pck_chain_cached, 0);
    CHECK_OK(ward_dcap_verify_ex(q.p, q.n, c, T_SGX, &cl, &r));
    assert_int_equal(r.pck_chain_cached, 1);
    /* The real quote chains to Intel's root, not to this one. */
    buf real = rd("sgx/phala_sgx_v3_quote.bin");
    expect_err(ward_dcap_verify(real.p, real.n, c, T_SGX, &cl), WARD_ERR_VERIFY,
               "PCK chain: its root is not the trusted root");
    free(real.p);
    /* And the test quote against Intel's collateral. */
    ward_dcap_collateral *intel = load_set(&SGX1);
    expect_err(ward_dcap_verify(q.p, q.n, intel, T_SGX, &cl), WARD_ERR_VERIFY,
               "PCK chain: its root is not the trusted root");
    ward_dcap_collateral_free(intel);
    ward_dcap_collateral_free(c);

    /* A revoked PCK certificate. */
    s.pck_revoked[0] = k.leaf;
    s.n_pck_revoked = 1;
    c = synth_ok(&k, &s);
    expect_err(ward_dcap_verify(q.p, q.n, c, T_SGX, &cl), WARD_ERR_VERIFY, "revoked");
    assert_non_null(strstr(ward_errmsg(), "PCK chain"));
    ward_dcap_collateral_free(c);
    s.n_pck_revoked = 0;

    /* A revoked PCK CA. */
    s.root_revoked[0] = k.ca;
    s.n_root_revoked = 1;
    c = synth_ok(&k, &s);
    expect_err(ward_dcap_verify(q.p, q.n, c, T_SGX, &cl), WARD_ERR_VERIFY, "revoked");
    ward_dcap_collateral_free(c);

    /* A revoked TCB Signing certificate: the collateral does not load. */
    s.root_revoked[0] = k.signer;
    c = NULL;
    expect_err(synth_load(&k, &s, &c), WARD_ERR_VERIFY, "revoked");
    assert_non_null(strstr(ward_errmsg(), "TCB Info signing chain"));
    assert_null(c);
    s.n_root_revoked = 0;

    /* A PCK CRL from another CA (same name pattern, other key and name). */
    ward_pkey *other_key = gen_p256();
    ward_cert *other = mk_cert("Test SGX PCK Platform CA", other_key, k.root, k.root_key, 1,
                               T_SGX - YEAR, T_SGX + YEAR, NULL, 0);
    s.pck_crl_issuer = other;
    s.pck_crl_key = other_key;
    c = synth_ok(&k, &s);
    expect_err(ward_dcap_verify(q.p, q.n, c, T_SGX, &cl), WARD_ERR_VERIFY,
               "PCK CRL is issued by");
    ward_dcap_collateral_free(c);
    /* The right name, signed by another key. */
    ward_cert *impostor = mk_cert("Test SGX PCK Processor CA", other_key, k.root, k.root_key, 1,
                                  T_SGX - YEAR, T_SGX + YEAR, NULL, 0);
    s.pck_crl_issuer = impostor;
    c = synth_ok(&k, &s);
    expect_err(ward_dcap_verify(q.p, q.n, c, T_SGX, &cl), WARD_ERR_VERIFY, "CRL");
    ward_dcap_collateral_free(c);
    ward_cert_free(impostor);
    ward_cert_free(other);
    ward_pkey_free(other_key);
    s.pck_crl_issuer = NULL;
    s.pck_crl_key = NULL;
    free(q.p);

    /* An expired and a not yet valid PCK certificate. */
    c = synth_ok(&k, &s);
    ward_cert *old = mk_leaf(&k, T_SGX - 2 * YEAR, T_SGX - 1);
    q = mk_quote(&k, old, k.leaf_key, 10);
    expect_err(ward_dcap_verify(q.p, q.n, c, T_SGX, &cl), WARD_ERR_VERIFY,
               "certificate has expired");
    free(q.p);
    ward_cert_free(old);
    ward_cert *young = mk_leaf(&k, T_SGX - 10, T_SGX + YEAR);
    q = mk_quote(&k, young, k.leaf_key, 10);
    expect_err(ward_dcap_verify(q.p, q.n, c, T_SGX - 11, &cl), WARD_ERR_VERIFY,
               "certificate is not yet valid");
    /* ... which is valid a few seconds later (and then cached for its window only). */
    CHECK_OK(ward_dcap_verify(q.p, q.n, c, T_SGX, &cl));
    expect_err(ward_dcap_verify(q.p, q.n, c, T_SGX - 11, &cl), WARD_ERR_VERIFY, "not yet valid");
    free(q.p);
    ward_cert_free(young);
    /* The QE report signed by a key other than the PCK certificate's. */
    ward_pkey *stranger = gen_p256();
    q = mk_quote(&k, k.leaf, stranger, 10);
    expect_err(ward_dcap_verify(q.p, q.n, c, T_SGX, &cl), WARD_ERR_VERIFY, "QE report signature");
    free(q.p);
    ward_pkey_free(stranger);
    /* QE ISVSVN: 8 is the lowest UpToDate level, 6 OutOfDate, below 1 nothing. */
    static const char *const adv[] = {"INTEL-SA-00289", "INTEL-SA-00615"};
    q = mk_quote(&k, k.leaf, k.leaf_key, 8);
    CHECK_OK(ward_dcap_verify_ex(q.p, q.n, c, T_SGX, &cl, &r));
    assert_int_equal(cl.tcb_status, WARD_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED);
    free(q.p);
    q = mk_quote(&k, k.leaf, k.leaf_key, 7);
    CHECK_OK(ward_dcap_verify_ex(q.p, q.n, c, T_SGX, &cl, &r));
    assert_int_equal(r.qe_status, WARD_TCB_OUT_OF_DATE);
    assert_int_equal(cl.tcb_status, WARD_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED);
    check_advisories(&cl, adv, 2); /* the QE level's INTEL-SA-00615 is already there */
    free(q.p);
    q = mk_quote(&k, k.leaf, k.leaf_key, 0);
    expect_err(ward_dcap_verify(q.p, q.n, c, T_SGX, &cl), WARD_ERR_VERIFY,
               "TCB level not supported: the QE's ISVSVN 0");
    free(q.p);
    ward_dcap_collateral_free(c);

    q = mk_quote(&k, k.leaf, k.leaf_key, 10);
    /* QE Identity mismatches. */
    s.qe_from = "\"isvprodid\":1";
    s.qe_to = "\"isvprodid\":2";
    c = synth_ok(&k, &s);
    expect_err(ward_dcap_verify(q.p, q.n, c, T_SGX, &cl), WARD_ERR_VERIFY,
               "QE identity mismatch: ISVPRODID");
    ward_dcap_collateral_free(c);
    s.qe_from = "8C4F5775";
    s.qe_to = "8C4F5776";
    c = synth_ok(&k, &s);
    expect_err(ward_dcap_verify(q.p, q.n, c, T_SGX, &cl), WARD_ERR_VERIFY,
               "QE identity mismatch: MRSIGNER");
    ward_dcap_collateral_free(c);
    s.qe_from = "\"miscselect\":\"00000000\"";
    s.qe_to = "\"miscselect\":\"00000001\"";
    c = synth_ok(&k, &s);
    expect_err(ward_dcap_verify(q.p, q.n, c, T_SGX, &cl), WARD_ERR_VERIFY,
               "QE identity mismatch: MISCSELECT");
    ward_dcap_collateral_free(c);
    s.qe_from = "\"attributes\":\"11";
    s.qe_to = "\"attributes\":\"13";
    c = synth_ok(&k, &s);
    expect_err(ward_dcap_verify(q.p, q.n, c, T_SGX, &cl), WARD_ERR_VERIFY,
               "QE identity mismatch: ATTRIBUTES");
    ward_dcap_collateral_free(c);
    /* A QE level with a status that QE levels cannot have. */
    s.qe_from = "\"isvsvn\":8},\"tcbDate\":\"2024-03-13T00:00:00Z\",\"tcbStatus\":\"UpToDate\"";
    s.qe_to = "\"isvsvn\":8},\"tcbDate\":\"2024-03-13T00:00:00Z\",\"tcbStatus\":\"Fine\"";
    c = synth_ok(&k, &s);
    expect_err(ward_dcap_verify(q.p, q.n, c, T_SGX, &cl), WARD_ERR_VERIFY, "unrecognised");
    ward_dcap_collateral_free(c);
    s.qe_from = s.qe_to = NULL;

    /* TCB Info for another platform. */
    s.tcb_from = "\"fmspc\":\"00A067110000\"";
    s.tcb_to = "\"fmspc\":\"00A067110001\"";
    c = synth_ok(&k, &s);
    expect_err(ward_dcap_verify(q.p, q.n, c, T_SGX, &cl), WARD_ERR_VERIFY, "FMSPC 00a067110001");
    ward_dcap_collateral_free(c);
    s.tcb_from = "\"pceId\":\"0000\"";
    s.tcb_to = "\"pceId\":\"0100\"";
    c = synth_ok(&k, &s);
    expect_err(ward_dcap_verify(q.p, q.n, c, T_SGX, &cl), WARD_ERR_VERIFY, "PCEID");
    ward_dcap_collateral_free(c);
    /* A TCB Info that says TDX for an SGX quote (its levels then lack TDX components). */
    s.tcb_from = "\"id\":\"SGX\"";
    s.tcb_to = "\"id\":\"TDX\"";
    c = NULL;
    expect_err(synth_load(&k, &s, &c), WARD_ERR_FORMAT, "tdxModule");
    /* The matched level Revoked: verified, and reported as Revoked. */
    s.tcb_from = "\"tcbStatus\":\"ConfigurationAndSWHardeningNeeded\"";
    s.tcb_to = "\"tcbStatus\":\"Revoked\"";
    c = synth_ok(&k, &s);
    CHECK_OK(ward_dcap_verify_ex(q.p, q.n, c, T_SGX, &cl, &r));
    assert_int_equal(cl.tcb_status, WARD_TCB_REVOKED);
    ward_dcap_collateral_free(c);
    /* An unknown status on the matched level is refused; on another level it is ignored. */
    s.tcb_to = "\"tcbStatus\":\"NewStatus\"";
    c = synth_ok(&k, &s);
    expect_err(ward_dcap_verify(q.p, q.n, c, T_SGX, &cl), WARD_ERR_VERIFY, "unrecognised");
    ward_dcap_collateral_free(c);
    s.tcb_from = "\"tcbStatus\":\"SWHardeningNeeded\"";
    c = synth_ok(&k, &s);
    CHECK_OK(ward_dcap_verify(q.p, q.n, c, T_SGX, &cl));
    ward_dcap_collateral_free(c);
    s.tcb_from = s.tcb_to = NULL;
    free(q.p);
    pki_free(&k);
}

/* TDX with the test PKI around TDX-4 (v5, TD 1.5): the module identity rules, QVL's relaunch
 * check and status convergence with the module. */
static void test_synthetic_tdx(void **state)
{
    (void)state;
    pki k;
    pki_init(&k, &B_TDX);
    const int64_t t = T_TDX34;
    synth s;
    memset(&s, 0, sizeof s);
    ward_claims cl;
    ward_dcap_result r;
    ward_dcap_collateral *c = synth_ok(&k, &s);
    buf q = mk_quote(&k, k.leaf, k.leaf_key, 4);
    CHECK_OK(ward_dcap_verify_ex(q.p, q.n, c, t, &cl, &r));
    assert_int_equal(cl.tcb_status, WARD_TCB_UP_TO_DATE);
    assert_int_equal(r.pck.platform_ca, 1);
    free(q.p);
    /* TEE_TCB_SVN at body offset 0 (quote offset 54): module version 2 has no identity. */
    q = mk_quote_edit(&k, k.leaf, k.leaf_key, 4, 55, 2);
    expect_err(ward_dcap_verify(q.p, q.n, c, t, &cl), WARD_ERR_VERIFY,
               "TDX module mismatch: the TCB Info has no identity TDX_02");
    free(q.p);
    /* Module version 3: TDX_03, whose only level wants ISVSVN 3; the TD's 11 is UpToDate. */
    q = mk_quote_edit(&k, k.leaf, k.leaf_key, 4, 55, 3);
    CHECK_OK(ward_dcap_verify_ex(q.p, q.n, c, t, &cl, &r));
    assert_int_equal(r.module_status, WARD_TCB_UP_TO_DATE);
    free(q.p);
    /* Module SVN 1 under TDX_01 (levels 6, 4, 2): below every level. */
    q = mk_quote_edit(&k, k.leaf, k.leaf_key, 4, 54, 1);
    expect_err(ward_dcap_verify(q.p, q.n, c, t, &cl), WARD_ERR_VERIFY,
               "TCB level not supported: the TDX module's SVN 1");
    free(q.p);
    /* Module SVN 5 under TDX_01: OutOfDate (level 4, two advisories), which turns the UpToDate
     * TDX level OutOfDate; TEE_TCB_SVN2 (13, 1, 4) is up to date: relaunch advised. */
    q = mk_quote_edit(&k, k.leaf, k.leaf_key, 4, 54, 5);
    CHECK_OK(ward_dcap_verify_ex(q.p, q.n, c, t, &cl, &r));
    assert_int_equal(r.module_status, WARD_TCB_OUT_OF_DATE);
    assert_int_equal(r.tdx_level_status, WARD_TCB_UP_TO_DATE);
    assert_int_equal(cl.tcb_status, WARD_TCB_OUT_OF_DATE);
    assert_int_equal(r.td_relaunch_advised, 1);
    static const char *const adv[] = {"INTEL-SA-01036", "INTEL-SA-01099"};
    check_advisories(&cl, adv, 2);
    free(q.p);
    /* The same with TEE_TCB_SVN2[0] = 5 too: the module a relaunch would get is no newer. */
    q = mk_quote_edit2(&k, k.leaf, k.leaf_key, 4, 54, 5, 54 + 584, 5);
    CHECK_OK(ward_dcap_verify_ex(q.p, q.n, c, t, &cl, &r));
    assert_int_equal(cl.tcb_status, WARD_TCB_OUT_OF_DATE);
    assert_int_equal(r.td_relaunch_advised, 0);
    free(q.p);
    /* MRSIGNERSEAM (body offset 64) not Intel's: module mismatch. */
    q = mk_quote_edit(&k, k.leaf, k.leaf_key, 4, 54 + 64, 1);
    expect_err(ward_dcap_verify(q.p, q.n, c, t, &cl), WARD_ERR_VERIFY,
               "TDX module mismatch: MRSIGNERSEAM");
    free(q.p);
    /* SEAMATTRIBUTES (body offset 112) non-zero. */
    q = mk_quote_edit(&k, k.leaf, k.leaf_key, 4, 54 + 112, 1);
    expect_err(ward_dcap_verify(q.p, q.n, c, t, &cl), WARD_ERR_VERIFY,
               "TDX module mismatch: SEAMATTRIBUTES");
    free(q.p);
    /* TEE_TCB_SVN[2] (the late microcode update) 2: the second level's, OutOfDate with its
     * advisories; 1: below every TDX level. */
    q = mk_quote_edit(&k, k.leaf, k.leaf_key, 4, 56, 2);
    CHECK_OK(ward_dcap_verify_ex(q.p, q.n, c, t, &cl, &r));
    assert_int_equal(cl.tcb_status, WARD_TCB_OUT_OF_DATE);
    assert_int_equal(r.sgx_level_status, WARD_TCB_UP_TO_DATE);
    static const char *const adv2[] = {"INTEL-SA-01036", "INTEL-SA-01079", "INTEL-SA-01099",
                                       "INTEL-SA-01103", "INTEL-SA-01111"};
    check_advisories(&cl, adv2, 5);
    free(q.p);
    q = mk_quote_edit(&k, k.leaf, k.leaf_key, 4, 56, 1);
    expect_err(ward_dcap_verify(q.p, q.n, c, t, &cl), WARD_ERR_VERIFY,
               "TCB level not supported: TEE_TCB_SVN 0b0101");
    free(q.p);
    /* The TD's DEBUG bit (TDATTRIBUTES, body offset 120): verified, reported. */
    q = mk_quote_edit(&k, k.leaf, k.leaf_key, 4, 54 + 120, 1);
    CHECK_OK(ward_dcap_verify(q.p, q.n, c, t, &cl));
    assert_int_equal(cl.debug, 1);
    free(q.p);
    ward_dcap_collateral_free(c);

    /* A module level Revoked makes the TD Revoked. */
    s.tcb_from = "{\"tcb\":{\"isvsvn\":6},\"tcbDate\":\"2024-11-13T00:00:00Z\",\"tcbStatus\":"
                 "\"UpToDate\"}";
    s.tcb_to = "{\"tcb\":{\"isvsvn\":6},\"tcbDate\":\"2024-11-13T00:00:00Z\",\"tcbStatus\":"
               "\"Revoked\"}";
    c = synth_ok(&k, &s);
    q = mk_quote(&k, k.leaf, k.leaf_key, 4);
    CHECK_OK(ward_dcap_verify_ex(q.p, q.n, c, t, &cl, &r));
    assert_int_equal(r.module_status, WARD_TCB_REVOKED);
    assert_int_equal(cl.tcb_status, WARD_TCB_REVOKED);
    free(q.p);
    ward_dcap_collateral_free(c);
    /* The TD QE identity refuses the SGX QE's product ID. */
    memset(&s, 0, sizeof s);
    s.qe_from = "\"isvprodid\":2";
    s.qe_to = "\"isvprodid\":1";
    c = synth_ok(&k, &s);
    q = mk_quote(&k, k.leaf, k.leaf_key, 4);
    expect_err(ward_dcap_verify(q.p, q.n, c, t, &cl), WARD_ERR_VERIFY,
               "QE identity mismatch: ISVPRODID 2 is not 1 (TD_QE)");
    free(q.p);
    ward_dcap_collateral_free(c);
    pki_free(&k);
}

/* ---- concurrency ---------------------------------------------------------------------------- */

typedef struct thread_arg {
    const ward_dcap_collateral *c;
    const buf *q;
    int64_t at;
    int failures;
} thread_arg;

static void *verify_thread(void *p)
{
    thread_arg *a = p;
    for (int i = 0; i < 20; i++) {
        ward_claims cl;
        if (ward_dcap_verify(a->q->p, a->q->n, a->c, a->at, &cl) != WARD_OK ||
            cl.tcb_status != WARD_TCB_UP_TO_DATE)
            a->failures++;
    }
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    ward_dcap_collateral *c = load_set(&TDX1);
    buf q = rd("tdx/phala_tdx_v4_quote.bin");
    pthread_t th[4];
    thread_arg args[4];
    for (size_t i = 0; i < 4; i++) {
        args[i] = (thread_arg){c, &q, T_TDX1, 0};
        assert_int_equal(pthread_create(&th[i], NULL, verify_thread, &args[i]), 0);
    }
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(args[i].failures, 0);
    }
    free(q.p);
    ward_dcap_collateral_free(c);
}

/* ---- internal parsers ----------------------------------------------------------------------- */

static void test_helpers(void **state)
{
    (void)state;
    int64_t t = 0;
    CHECK_OK(dcap_parse_time("2025-07-19T10:01:18Z", 20, "t", &t));
    assert_int_equal(t, T_SGX + 1);
    CHECK_OK(dcap_parse_time("2024-02-29T00:00:00Z", 20, "t", &t));
    expect_err(dcap_parse_time("2023-02-29T00:00:00Z", 20, "t", &t), WARD_ERR_FORMAT, "valid");
    expect_err(dcap_parse_time("2025-07-19T10:01:18+00:00", 25, "t", &t), WARD_ERR_FORMAT, NULL);
    expect_err(dcap_parse_time("2025-07-19 10:01:18Z", 20, "t", &t), WARD_ERR_FORMAT, NULL);
    char s[32];
    dcap_format_time(T_SGX, s);
    assert_string_equal(s, "2025-07-19T10:01:17Z");

    /* DER: minimal lengths only. */
    static const uint8_t ok[] = {0x04, 0x81, 0x80};
    uint8_t big[3 + 0x80];
    memcpy(big, ok, 3);
    memset(big + 3, 0, 0x80);
    dcap_der in = {big, sizeof big}, v;
    uint8_t tag;
    assert_int_equal(dcap_der_next(&in, &tag, &v), 0);
    assert_int_equal(v.n, 0x80);
    static const uint8_t nonmin[] = {0x04, 0x81, 0x01, 0x00};
    in = (dcap_der){nonmin, sizeof nonmin};
    assert_int_equal(dcap_der_next(&in, &tag, &v), -1);
    static const uint8_t indef[] = {0x30, 0x80, 0x00, 0x00};
    in = (dcap_der){indef, sizeof indef};
    assert_int_equal(dcap_der_next(&in, &tag, &v), -1);
    static const uint8_t over[] = {0x04, 0x05, 0x00};
    in = (dcap_der){over, sizeof over};
    assert_int_equal(dcap_der_next(&in, &tag, &v), -1);

    /* The SGX extension parser against the real certificates' DER, then broken copies. */
    buf b = rd("tdx/phala_tdx_v4_quote.bin");
    ward_dcap_quote q;
    CHECK_OK(ward_dcap_parse(b.p, b.n, &q));
    ward_cert *leaf = NULL;
    CHECK_OK(ward_cert_from_pem((const char *)q.cert_data, q.cert_len, &leaf));
    uint8_t *ext = NULL;
    size_t ext_len = 0;
    CHECK_OK(ward_cert_extension(leaf, "1.2.840.113741.1.13.1", &ext, &ext_len, NULL));
    ward_dcap_pck_info info;
    CHECK_OK(dcap_parse_sgx_ext(ext, ext_len, &info));
    assert_int_equal(info.dynamic_platform, 1);
    assert_int_equal(info.cached_keys, 1);
    assert_int_equal(info.smt_enabled, 1);
    for (size_t len = 0; len < ext_len; len++)
        expect_err(dcap_parse_sgx_ext(ext, len, &info), WARD_ERR_FORMAT, "SGX extensions");
    for (size_t i = 0; i < ext_len; i++) {
        ext[i] ^= 0x80;
        ward_err err = dcap_parse_sgx_ext(ext, ext_len, &info);
        assert_true(err == WARD_OK || err == WARD_ERR_FORMAT);
        ext[i] ^= 0x80;
    }
    free(ext);
    ward_cert_free(leaf);

    /* PEM: the strict splitter against the real chain, and its refusals. */
    dcap_blob blobs[4];
    size_t n = 0;
    CHECK_OK(dcap_pem_decode((const char *)q.cert_data, q.cert_len, "CERTIFICATE", 1, blobs, 4,
                             &n));
    assert_int_equal(n, 3);
    dcap_blobs_free(blobs, n);
    expect_err(dcap_pem_decode((const char *)q.cert_data, q.cert_len, "CERTIFICATE", 0, blobs,
                               4, &n),
               WARD_ERR_FORMAT, "BEGIN");
    expect_err(dcap_pem_decode((const char *)q.cert_data, q.cert_len, "CERTIFICATE", 1, blobs,
                               2, &n),
               WARD_ERR_FORMAT, "more than 2");
    static const char junk[] = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\nx";
    expect_err(dcap_pem_decode(junk, sizeof junk - 1, "CERTIFICATE", 1, blobs, 4, &n),
               WARD_ERR_FORMAT, "BEGIN");
    static const char bits[] = "-----BEGIN CERTIFICATE-----\nAB==\n-----END CERTIFICATE-----\n";
    expect_err(dcap_pem_decode(bits, sizeof bits - 1, "CERTIFICATE", 1, blobs, 4, &n),
               WARD_ERR_FORMAT, "PEM block 1");
    static const char crlf[] = "-----BEGIN CERTIFICATE-----\r\nAA==\r\n-----END CERTIFICATE-----\r\n";
    CHECK_OK(dcap_pem_decode(crlf, sizeof crlf - 1, "CERTIFICATE", 1, blobs, 4, &n));
    assert_int_equal(n, 1);
    assert_int_equal(blobs[0].n, 1);
    dcap_blobs_free(blobs, n);
    free(b.p);

    /* JSON spans: the exact bytes, nested braces and strings with braces and escapes. */
    static const char doc[] = "{ \"a\" : \"}\\\"{\" , \"tcbInfo\" :{\"x\":[1,{\"y\":\"}\"}]} ,"
                              "\"signature\":\"00\"}";
    const char *span = NULL;
    size_t span_len = 0;
    CHECK_OK(dcap_json_member_span(doc, sizeof doc - 1, "tcbInfo", &span, &span_len));
    assert_int_equal(span_len, strlen("{\"x\":[1,{\"y\":\"}\"}]}"));
    assert_memory_equal(span, "{\"x\":[1,{\"y\":\"}\"}]}", span_len);
    expect_err(dcap_json_member_span(doc, sizeof doc - 1, "nope", &span, &span_len),
               WARD_ERR_NOT_FOUND, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_root_ca),
        cmocka_unit_test(test_helpers),
        cmocka_unit_test(test_parse_vectors),
        cmocka_unit_test(test_sgx1),
        cmocka_unit_test(test_sgx2_debug),
        cmocka_unit_test(test_tdx1),
        cmocka_unit_test(test_tdx2_near),
        cmocka_unit_test(test_tdx3_no_level),
        cmocka_unit_test(test_tdx4_v5),
        cmocka_unit_test(test_tdx5_spr),
        cmocka_unit_test(test_expired_collateral),
        cmocka_unit_test(test_reissued_signing_cert),
        cmocka_unit_test(test_wrong_collateral),
        cmocka_unit_test(test_wrong_root),
        cmocka_unit_test(test_structure),
        cmocka_unit_test(test_collateral_format),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_trailing_data),
        cmocka_unit_test(test_bit_flips),
        cmocka_unit_test(test_collateral_bit_flips),
        cmocka_unit_test(test_synthetic_pki),
        cmocka_unit_test(test_synthetic_tdx),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
