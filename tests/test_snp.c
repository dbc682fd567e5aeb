/* AMD SEV-SNP: every vector of ../shared/vectors/snp (expected.json) parsed field by field and
 * verified at its documented time, with the documented claims; and refusals, each with its
 * error code and reason: single-bit flips through the signed bytes and the signature, wrong
 * roots (another generation's chain, an unpinned ARK), expired and not-yet-valid chains,
 * truncation, a VCEK of another chip (TCB and CHIP_ID), VCEK/VLEK confusion, CPUID/product
 * mismatch, the crafted negative VCEKs, malformed fields, the Azure HCL report and its
 * runtime-data binding, the small DER readers, the TCB floor, the certificate cache (and its
 * validity window) and concurrent use. */
#include "testutil.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "attest/snp_internal.h"
#include "ward/claims.h"
#include "ward/crypto.h"
#include "ward/err.h"
#include "ward/snp.h"
#include "ward/x509.h"

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
                 got == WARD_OK ? "(success)" : ward_errmsg());
    assert_true(strlen(ward_errmsg()) > 0);
    if (substr != NULL && strstr(ward_errmsg(), substr) == NULL)
        fail_msg("message \"%s\" does not mention \"%s\"", ward_errmsg(), substr);
}

/* ---- vectors ------------------------------------------------------------------------------ */

typedef struct vec {
    const char *name;
    json_t *j;            /* borrowed from the expected.json root */
    uint8_t *report;      /* 1184 bytes */
    size_t report_len;
    uint8_t *vek;         /* DER or PEM, as stored */
    size_t vek_len;
    char *chain;          /* PEM */
    size_t chain_len;
    int64_t at;           /* suggested_verify_at */
    int64_t window[2];    /* validity_window */
} vec;

#define MAX_VECS 16
static json_t *g_expected;
static vec g_vecs[MAX_VECS];
static size_t g_nvecs;
static char *g_chain_all; /* the three products' PEMs concatenated */
static size_t g_chain_all_len;

static int64_t parse_time(const char *s)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    int y, mo, d, h, mi, se;
    if (sscanf(s, "%d-%d-%dT%d:%d:%d", &y, &mo, &d, &h, &mi, &se) != 6)
        fail_msg("bad time %s", s);
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = se;
    /* "Z" or "+00:00" only. */
    assert_true(strchr(s, 'Z') != NULL || strstr(s, "+00:00") != NULL);
    return (int64_t)timegm(&tm);
}

static uint8_t *read_vec(const char *dir, const char *file, size_t *len)
{
    char rel[256];
    snprintf(rel, sizeof rel, "snp/%s/%s", dir, file);
    return tu_read_file(tu_vector_path(rel), len);
}

static const vec *find_vec(const char *name)
{
    for (size_t i = 0; i < g_nvecs; i++) {
        if (strcmp(g_vecs[i].name, name) == 0)
            return &g_vecs[i];
    }
    fail_msg("no vector %s", name);
    return NULL;
}

static char *read_chain(const char *product, size_t *len)
{
    char rel[128];
    snprintf(rel, sizeof rel, "snp/amd/%s_ask_ark_asvk.pem", product);
    return (char *)tu_read_file(tu_vector_path(rel), len);
}

static int setup(void **state)
{
    (void)state;
    g_expected = tu_load_json_vector("snp/expected.json");
    json_t *vectors = json_object_get(g_expected, "vectors");
    assert_true(json_is_object(vectors));
    const char *name;
    json_t *v;
    json_object_foreach(vectors, name, v) {
        assert_true(g_nvecs < MAX_VECS);
        vec *x = &g_vecs[g_nvecs++];
        x->name = name;
        x->j = v;
        x->report = read_vec(name, "report.bin", &x->report_len);
        const char *vek_file = json_string_value(json_object_get(json_object_get(v, "vek"), "file"));
        assert_non_null(vek_file);
        x->vek = read_vec(name, vek_file, &x->vek_len);
        const char *chain = json_string_value(json_object_get(json_object_get(v, "source"),
                                                              "chain"));
        assert_non_null(chain);
        /* "amd/milan_ask_ark_asvk.pem (3rd cert ...)": the file name is the first word. */
        char rel[128];
        assert_int_equal(sscanf(chain, "%100s", rel), 1);
        char path[160];
        snprintf(path, sizeof path, "snp/%s", rel);
        x->chain = (char *)tu_read_file(tu_vector_path(path), &x->chain_len);
        x->at = parse_time(json_string_value(json_object_get(v, "suggested_verify_at")));
        json_t *w = json_object_get(json_object_get(v, "results"), "validity_window");
        x->window[0] = parse_time(json_string_value(json_array_get(w, 0)));
        x->window[1] = parse_time(json_string_value(json_array_get(w, 1)));
    }
    assert_int_equal(g_nvecs, 8);
    const char *products[] = {"milan", "genoa", "turin"};
    size_t total = 0;
    char *parts[3];
    size_t lens[3];
    for (size_t i = 0; i < 3; i++) {
        parts[i] = read_chain(products[i], &lens[i]);
        total += lens[i];
    }
    g_chain_all = malloc(total + 1);
    assert_non_null(g_chain_all);
    for (size_t i = 0; i < 3; i++) {
        memcpy(g_chain_all + g_chain_all_len, parts[i], lens[i]);
        g_chain_all_len += lens[i];
        free(parts[i]);
    }
    g_chain_all[g_chain_all_len] = '\0';
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (size_t i = 0; i < g_nvecs; i++) {
        free(g_vecs[i].report);
        free(g_vecs[i].vek);
        free(g_vecs[i].chain);
    }
    free(g_chain_all);
    json_decref(g_expected);
    return 0;
}

static ward_snp_verifier *new_verifier(const char *pem, size_t len)
{
    ward_snp_verifier *v = NULL;
    CHECK_OK(ward_snp_verifier_new(pem, len, 0, &v));
    assert_non_null(v);
    return v;
}

static uint8_t *dup_bytes(const uint8_t *p, size_t n)
{
    uint8_t *d = malloc(n ? n : 1);
    assert_non_null(d);
    memcpy(d, p, n);
    return d;
}

/* ---- expected.json comparisons ---------------------------------------------------------- */

static void expect_hex(const char *what, const uint8_t *got, size_t n, json_t *hex)
{
    const char *s = json_string_value(hex);
    if (s == NULL)
        fail_msg("%s: missing in expected.json", what);
    size_t len = 0;
    uint8_t *want = tu_unhex(s, &len);
    if (len != n || memcmp(want, got, n) != 0)
        fail_msg("%s differs from expected.json", what);
    free(want);
}

static void expect_int(const char *what, uint64_t got, json_t *j)
{
    uint64_t want = 0;
    if (json_is_integer(j))
        want = (uint64_t)json_integer_value(j);
    else if (json_is_string(j))
        want = strtoull(json_string_value(j), NULL, 0);
    else if (json_is_boolean(j))
        want = json_is_true(j) ? 1 : 0;
    else
        fail_msg("%s: missing in expected.json", what);
    if (got != want)
        fail_msg("%s: got %llu, expected %llu", what, (unsigned long long)got,
                 (unsigned long long)want);
}

static void expect_tcb(const char *what, const ward_snp_tcb *t, json_t *j)
{
    assert_non_null(j);
    char w[96];
    snprintf(w, sizeof w, "%s.hex", what);
    expect_hex(w, t->raw, 8, json_object_get(j, "hex"));
    static const char *const names[] = {"fmc", "bootloader", "tee", "snp", "microcode"};
    const uint8_t vals[] = {t->fmc, t->bootloader, t->tee, t->snp, t->microcode};
    for (size_t i = 0; i < 5; i++) {
        json_t *c = json_object_get(j, names[i]);
        if (c == NULL)
            continue; /* virtee-milan-v2 gives only the hex */
        snprintf(w, sizeof w, "%s.%s", what, names[i]);
        expect_int(w, vals[i], c);
    }
}

static void expect_version_text(const char *what, uint8_t major, uint8_t minor, uint8_t build,
                                json_t *j)
{
    char got[32];
    snprintf(got, sizeof got, "%u.%u.%u", major, minor, build);
    const char *want = json_string_value(j);
    if (want == NULL || strcmp(got, want) != 0)
        fail_msg("%s: got %s, expected %s", what, got, want ? want : "(none)");
}

static void expect_le_sig(const char *what, const uint8_t be[48], json_t *j)
{
    size_t n = 0;
    uint8_t *le = tu_unhex(json_string_value(j), &n);
    assert_int_equal(n, 72);
    for (size_t i = 0; i < 48; i++) {
        if (le[i] != be[47 - i])
            fail_msg("%s differs at %zu", what, i);
    }
    for (size_t i = 48; i < 72; i++)
        assert_int_equal(le[i], 0);
    free(le);
}

/* verified: r comes from a verification, whose product is the chain's (also for v2). */
static void check_report_fields(int verified, const ward_snp_report *r, json_t *f)
{
    expect_int("version", r->version, json_object_get(f, "version"));
    if (json_object_get(f, "guest_svn"))
        expect_int("guest_svn", r->guest_svn, json_object_get(f, "guest_svn"));
    expect_int("policy", r->policy, json_object_get(f, "policy"));
    json_t *pd = json_object_get(f, "policy_decoded");
    expect_int("policy.smt", (r->policy & WARD_SNP_POLICY_SMT) != 0, json_object_get(pd, "smt"));
    expect_int("policy.reserved17", (r->policy & WARD_SNP_POLICY_RESERVED_1) != 0,
               json_object_get(pd, "reserved17_must_be_1"));
    expect_int("policy.migrate_ma", (r->policy & WARD_SNP_POLICY_MIGRATE_MA) != 0,
               json_object_get(pd, "migrate_ma"));
    expect_int("policy.debug", (r->policy & WARD_SNP_POLICY_DEBUG) != 0,
               json_object_get(pd, "debug"));
    expect_int("policy.single_socket", (r->policy & WARD_SNP_POLICY_SINGLE_SOCKET) != 0,
               json_object_get(pd, "single_socket"));
    if (json_object_get(pd, "abi_minor")) {
        expect_int("abi_minor", r->policy & 0xFF, json_object_get(pd, "abi_minor"));
        expect_int("abi_major", (r->policy >> 8) & 0xFF, json_object_get(pd, "abi_major"));
    }
    expect_hex("family_id", r->family_id, 16, json_object_get(f, "family_id"));
    expect_hex("image_id", r->image_id, 16, json_object_get(f, "image_id"));
    if (json_object_get(f, "vmpl"))
        expect_int("vmpl", r->vmpl, json_object_get(f, "vmpl"));
    if (json_object_get(f, "signature_algo"))
        expect_int("signature_algo", r->signature_algo, json_object_get(f, "signature_algo"));
    expect_tcb("current_tcb", &r->current_tcb, json_object_get(f, "current_tcb"));
    expect_int("platform_info", r->platform_info, json_object_get(f, "platform_info"));
    json_t *si = json_object_get(f, "signer_info");
    expect_int("signer_info", r->signer_info, json_object_get(si, "raw"));
    if (json_object_get(si, "author_key_en")) {
        expect_int("author_key_en", (uint64_t)r->author_key_en,
                   json_object_get(si, "author_key_en"));
        expect_int("mask_chip_key", (uint64_t)r->mask_chip_key,
                   json_object_get(si, "mask_chip_key"));
    }
    const char *sk = json_string_value(json_object_get(si, "signing_key"));
    assert_non_null(sk);
    assert_int_equal(r->signing_key, strcmp(sk, "VLEK") == 0 ? WARD_SNP_SIGNING_KEY_VLEK
                                                             : WARD_SNP_SIGNING_KEY_VCEK);
    expect_hex("report_data", r->report_data, 64, json_object_get(f, "report_data"));
    expect_hex("measurement", r->measurement, 48, json_object_get(f, "measurement"));
    expect_hex("host_data", r->host_data, 32, json_object_get(f, "host_data"));
    expect_hex("id_key_digest", r->id_key_digest, 48, json_object_get(f, "id_key_digest"));
    expect_hex("author_key_digest", r->author_key_digest, 48,
               json_object_get(f, "author_key_digest"));
    expect_hex("report_id", r->report_id, 32, json_object_get(f, "report_id"));
    expect_hex("report_id_ma", r->report_id_ma, 32, json_object_get(f, "report_id_ma"));
    expect_tcb("reported_tcb", &r->reported_tcb, json_object_get(f, "reported_tcb"));
    json_t *cpuid = json_object_get(f, "cpuid_fam_mod_step");
    const char *gen = json_string_value(json_object_get(f, "generation"));
    assert_non_null(gen);
    if (json_is_null(cpuid)) {
        assert_int_equal(r->version, 2);
        assert_int_equal(r->cpuid_fam_id | r->cpuid_mod_id | r->cpuid_step, 0);
        if (!verified)
            assert_int_equal(r->product, WARD_SNP_PRODUCT_UNKNOWN);
        else
            assert_int_not_equal(r->product, WARD_SNP_PRODUCT_UNKNOWN);
    } else {
        const uint8_t c[3] = {r->cpuid_fam_id, r->cpuid_mod_id, r->cpuid_step};
        expect_hex("cpuid", c, 3, cpuid);
        assert_string_equal(ward_snp_product_name(r->product), gen);
    }
    expect_hex("chip_id", r->chip_id, 64, json_object_get(f, "chip_id"));
    expect_tcb("committed_tcb", &r->committed_tcb, json_object_get(f, "committed_tcb"));
    expect_version_text("current_version", r->current_major, r->current_minor, r->current_build,
                        json_object_get(f, "current_version"));
    expect_version_text("committed_version", r->committed_major, r->committed_minor,
                        r->committed_build, json_object_get(f, "committed_version"));
    expect_tcb("launch_tcb", &r->launch_tcb, json_object_get(f, "launch_tcb"));
    json_t *lm = json_object_get(f, "launch_mit_vector");
    if (lm != NULL) {
        uint8_t b[8];
        for (size_t i = 0; i < 8; i++)
            b[i] = (uint8_t)(r->launch_mit_vector >> (8 * i));
        expect_hex("launch_mit_vector", b, 8, lm);
        for (size_t i = 0; i < 8; i++)
            b[i] = (uint8_t)(r->current_mit_vector >> (8 * i));
        expect_hex("current_mit_vector", b, 8, json_object_get(f, "current_mit_vector"));
    } else {
        assert_true(r->version < 5);
        assert_true(r->launch_mit_vector == 0 && r->current_mit_vector == 0);
    }
    expect_le_sig("signature_r", r->signature_r, json_object_get(f, "signature_r_le"));
    expect_le_sig("signature_s", r->signature_s, json_object_get(f, "signature_s_le"));
    assert_true(json_is_true(json_object_get(f, "sig_reserved_zero")));
}

/* ---- every vector: parse -------------------------------------------------------------------- */

static void test_parse_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < g_nvecs; i++) {
        const vec *x = &g_vecs[i];
        ward_snp_report r;
        CHECK_OK(ward_snp_parse(x->report, x->report_len, &r));
        check_report_fields(0, &r, json_object_get(x->j, "fields"));
    }
}

/* ---- every vector: verify at its time, claims as documented -------------------------------- */

static void check_vek_info(const vec *x, const ward_snp_vek_info *vi)
{
    json_t *vek = json_object_get(x->j, "vek");
    json_t *ext = json_object_get(vek, "extensions");
    const char *subject = json_string_value(json_object_get(vek, "subject_cn"));
    assert_int_equal(vi->is_vlek, strcmp(subject, "SEV-VLEK") == 0);
    assert_string_equal(vi->product_name,
                        json_string_value(json_object_get(ext, "product_name")));
    expect_int("struct_version", (uint64_t)vi->struct_version,
               json_object_get(ext, "struct_version"));
    expect_int("vek.bootloader", vi->tcb.bootloader, json_object_get(ext, "bootloader"));
    expect_int("vek.tee", vi->tcb.tee, json_object_get(ext, "tee"));
    expect_int("vek.snp", vi->tcb.snp, json_object_get(ext, "snp"));
    expect_int("vek.microcode", vi->tcb.microcode, json_object_get(ext, "microcode"));
    if (json_object_get(ext, "fmc"))
        expect_int("vek.fmc", vi->tcb.fmc, json_object_get(ext, "fmc"));
    json_t *hwid = json_object_get(ext, "hwid");
    if (hwid != NULL) {
        size_t n = strlen(json_string_value(hwid)) / 2;
        assert_int_equal(vi->hwid_len, n);
        expect_hex("hwid", vi->hwid, n, hwid);
    } else {
        assert_int_equal(vi->hwid_len, 0);
    }
    json_t *csp = json_object_get(ext, "csp_id");
    if (csp != NULL)
        assert_string_equal(vi->csp_id, json_string_value(csp));
    else
        assert_string_equal(vi->csp_id, "");
    const char *issuer = json_string_value(json_object_get(vek, "issuer_cn"));
    const char *pname = ward_snp_product_name(vi->product);
    assert_non_null(strstr(issuer, pname));
    assert_int_equal(vi->not_before, x->window[0]);
    assert_int_equal(vi->not_after, x->window[1]);
}

static void check_claims(const vec *x, const ward_claims *c, const ward_snp_result *d)
{
    json_t *f = json_object_get(x->j, "fields");
    assert_int_equal(c->kind, WARD_TEE_KIND_SNP);
    assert_int_equal(c->measurement_len, 48);
    expect_hex("claims.measurement", c->measurement, 48, json_object_get(f, "measurement"));
    assert_int_equal(c->signer_len, 48);
    expect_hex("claims.signer", c->signer, 48, json_object_get(f, "id_key_digest"));
    assert_int_equal(c->product_id, 0);
    assert_int_equal(c->svn, d->report.reported_tcb.snp);
    assert_int_equal(c->svn, d->vek.tcb.snp);
    expect_int("claims.debug", (uint64_t)c->debug,
               json_object_get(json_object_get(f, "policy_decoded"), "debug"));
    assert_int_equal(c->tcb_status, WARD_TCB_UNKNOWN); /* no floor given */
    expect_hex("claims.report_data", c->report_data, 64, json_object_get(f, "report_data"));
    expect_hex("claims.host_data", c->snp_host_data, 32, json_object_get(f, "host_data"));
    expect_int("claims.policy", c->snp_policy, json_object_get(f, "policy"));
    expect_hex("claims.chip_id", c->snp_chip_id, 64, json_object_get(f, "chip_id"));
    const char *sk = json_string_value(json_object_get(json_object_get(f, "signer_info"),
                                                       "signing_key"));
    assert_int_equal(c->snp_signed_by_vlek, strcmp(sk, "VLEK") == 0);
    json_t *vmpl = json_object_get(f, "vmpl");
    if (vmpl != NULL)
        expect_int("claims.vmpl", c->snp_vmpl, vmpl);
    else
        assert_int_equal(c->snp_vmpl, 0);
    expect_int("claims.quote_version", c->quote_version, json_object_get(f, "version"));
    assert_int_equal(c->n_advisories, 0);
    /* The detail: the report with TCBs decoded per the verified product, and the VEK. */
    check_report_fields(1, &d->report, f);
    check_vek_info(x, &d->vek);
    const char *gen = json_string_value(json_object_get(f, "generation"));
    if (strstr(gen, "v2") == NULL)
        assert_string_equal(ward_snp_product_name(d->vek.product), gen);
    assert_int_equal(d->report.product, d->vek.product);
}

static void test_verify_vectors(void **state)
{
    (void)state;
    ward_snp_verifier *all = new_verifier(g_chain_all, g_chain_all_len);
    for (size_t i = 0; i < g_nvecs; i++) {
        const vec *x = &g_vecs[i];
        const char *want = json_string_value(json_object_get(x->j, "expected_result"));
        assert_string_equal(want, "valid");
        /* The product's own chain, as expected.json names it. */
        ward_snp_verifier *v = new_verifier(x->chain, x->chain_len);
        ward_claims c;
        ward_snp_result d;
        ward_err err = ward_snp_verifier_verify(v, x->report, x->report_len, x->vek, x->vek_len,
                                                x->at, &c, &d);
        if (err)
            fail_msg("%s: %s", x->name, ward_errmsg());
        check_claims(x, &c, &d);
        /* Again from the cache, at the window's first second and its last. */
        CHECK_OK(ward_snp_verifier_verify(v, x->report, x->report_len, x->vek, x->vek_len,
                                          x->window[0], &c, &d));
        check_claims(x, &c, &d);
        CHECK_OK(ward_snp_verifier_verify(v, x->report, x->report_len, x->vek, x->vek_len,
                                          x->window[1] - 1, &c, &d));
        ward_snp_verifier_free(v);
        /* One verifier holding all three products' chains. */
        CHECK_OK(ward_snp_verifier_verify(all, x->report, x->report_len, x->vek, x->vek_len,
                                          x->at, &c, &d));
        check_claims(x, &c, &d);
        /* The one-call form, and no detail. */
        ward_claims c2;
        CHECK_OK(ward_snp_verify(x->report, x->report_len, x->vek, x->vek_len, x->chain,
                                 x->chain_len, x->at, &c2));
        assert_memory_equal(&c, &c2, sizeof c);
        CHECK_OK(ward_snp_verifier_verify(all, x->report, x->report_len, x->vek, x->vek_len,
                                          x->at, &c2, NULL));
        assert_memory_equal(&c, &c2, sizeof c);
    }
    ward_snp_verifier_free(all);
}

/* The policy notes of SOURCES-amd.md: what a policy sees. */
static void test_policy_facts(void **state)
{
    (void)state;
    ward_claims c;
    ward_snp_result d;
    const vec *dbg = find_vec("gsg-milan-v2");
    CHECK_OK(ward_snp_verify(dbg->report, dbg->report_len, dbg->vek, dbg->vek_len, dbg->chain,
                             dbg->chain_len, dbg->at, &c));
    assert_int_equal(c.debug, 1); /* the real debug guest: a production policy refuses it */
    assert_true((c.snp_policy & WARD_SNP_POLICY_DEBUG) != 0);
    assert_true((c.snp_policy & WARD_SNP_POLICY_SMT) != 0);
    assert_true((c.snp_policy & WARD_SNP_POLICY_MIGRATE_MA) == 0);
    for (size_t i = 0; i < g_nvecs; i++) {
        if (strcmp(g_vecs[i].name, "gsg-milan-v2") == 0)
            continue;
        CHECK_OK(ward_snp_verify(g_vecs[i].report, g_vecs[i].report_len, g_vecs[i].vek,
                                 g_vecs[i].vek_len, g_vecs[i].chain, g_vecs[i].chain_len,
                                 g_vecs[i].at, &c));
        assert_int_equal(c.debug, 0);
    }
    const vec *aws = find_vec("trustee-milan-vlek-v3-aws");
    ward_snp_verifier *v = new_verifier(aws->chain, aws->chain_len);
    CHECK_OK(ward_snp_verifier_verify(v, aws->report, aws->report_len, aws->vek, aws->vek_len,
                                      aws->at, &c, &d));
    assert_int_equal(c.snp_vmpl, 1); /* a policy requiring VMPL 0 refuses it */
    assert_int_equal(c.snp_signed_by_vlek, 1);
    assert_string_equal(d.vek.csp_id, "CN=cc-us-east-2.amazonaws.com");
    /* VLEK reports carry no CHIP_ID. */
    uint8_t zero[64] = {0};
    assert_memory_equal(c.snp_chip_id, zero, 64);
    ward_snp_verifier_free(v);
    /* Turin's PLATFORM_INFO bit 6 is kept, not refused. */
    const vec *turin = find_vec("oak-turin-v5");
    v = new_verifier(turin->chain, turin->chain_len);
    CHECK_OK(ward_snp_verifier_verify(v, turin->report, turin->report_len, turin->vek,
                                      turin->vek_len, turin->at, &c, &d));
    assert_true((d.report.platform_info & (UINT64_C(1) << 6)) != 0);
    assert_int_equal(d.report.reported_tcb.fmc, 0);
    assert_int_equal(d.report.reported_tcb.bootloader, 1);
    assert_int_equal(d.report.reported_tcb.snp, 2);
    assert_int_equal(d.report.reported_tcb.microcode, 71);
    assert_int_equal(d.vek.hwid_len, 8);
    ward_snp_verifier_free(v);
    /* The ID-block guest: CURRENT_TCB is not REPORTED_TCB; the VCEK matches the latter. */
    const vec *idb = find_vec("trustee-milan-v2-idblock");
    v = new_verifier(idb->chain, idb->chain_len);
    CHECK_OK(ward_snp_verifier_verify(v, idb->report, idb->report_len, idb->vek, idb->vek_len,
                                      idb->at, &c, &d));
    assert_int_equal(d.report.current_tcb.microcode, 206);
    assert_int_equal(d.report.reported_tcb.microcode, 115);
    assert_int_equal(d.report.guest_svn, 4);
    ward_snp_verifier_free(v);
}

/* ---- report_data bindings ------------------------------------------------------------------ */

static void test_report_data_bindings(void **state)
{
    (void)state;
    static const char *const oak[] = {"oak-genoa-v5", "oak-turin-v5", "oak-milan-v3"};
    for (size_t i = 0; i < 3; i++) {
        const vec *x = find_vec(oak[i]);
        ward_claims c;
        CHECK_OK(ward_snp_verify(x->report, x->report_len, x->vek, x->vek_len, x->chain,
                                 x->chain_len, x->at, &c));
        size_t n = 0;
        uint8_t *key = read_vec(oak[i], "eca_public_key.cbor", &n);
        uint8_t h[32];
        CHECK_OK(ward_hash(WARD_HASH_SHA256, key, n, h));
        assert_memory_equal(c.report_data, h, 32);
        uint8_t zero[32] = {0};
        assert_memory_equal(c.report_data + 32, zero, 32);
        free(key);
    }
}

static void test_azure_hcl(void **state)
{
    (void)state;
    const vec *x = find_vec("trustee-genoa-v3-azure");
    size_t n = 0, rt_len = 0;
    uint8_t *hcl = read_vec(x->name, "hcl_report.bin", &n);
    uint8_t *rt = read_vec(x->name, "runtime_data.json", &rt_len);
    ward_snp_hcl h;
    CHECK_OK(ward_snp_hcl_parse(hcl, n, &h));
    assert_int_equal(h.version, 2);
    assert_int_equal(h.hash_type, 1);
    assert_memory_equal(h.report, x->report, WARD_SNP_REPORT_LEN);
    assert_int_equal(h.runtime_data_len, rt_len);
    assert_memory_equal(h.runtime_data, rt, rt_len);
    /* The SNP part verifies, and its REPORT_DATA binds the runtime data (the HCL key). */
    ward_claims c;
    CHECK_OK(ward_snp_verify(h.report, WARD_SNP_REPORT_LEN, x->vek, x->vek_len, x->chain,
                             x->chain_len, x->at, &c));
    CHECK_OK(ward_snp_hcl_check_binding(&h, c.report_data));
    assert_non_null(strstr((const char *)rt, "HCLAkPub"));

    /* The runtime data is not signed: changing it breaks the binding. */
    uint8_t *bad = dup_bytes(hcl, n);
    bad[0x4D4 + 10] ^= 1;
    ward_snp_hcl hb;
    CHECK_OK(ward_snp_hcl_parse(bad, n, &hb));
    expect_err(ward_snp_hcl_check_binding(&hb, c.report_data), WARD_ERR_VERIFY,
               "not the SHA-256 of the runtime data");
    /* Another report's REPORT_DATA does not bind it. */
    const vec *o = find_vec("oak-genoa-v5");
    ward_snp_report orr;
    CHECK_OK(ward_snp_parse(o->report, o->report_len, &orr));
    expect_err(ward_snp_hcl_check_binding(&h, orr.report_data), WARD_ERR_VERIFY, "REPORT_DATA");
    /* A non-zero byte after the hash. */
    uint8_t rd[64];
    memcpy(rd, c.report_data, 64);
    rd[40] = 1;
    expect_err(ward_snp_hcl_check_binding(&h, rd), WARD_ERR_VERIFY, "followed by zeros");
    /* Hash types. */
    hb = h;
    hb.hash_type = 3;
    expect_err(ward_snp_hcl_check_binding(&hb, c.report_data), WARD_ERR_UNSUPPORTED, "SHA-512");
    hb.hash_type = 9;
    expect_err(ward_snp_hcl_check_binding(&hb, c.report_data), WARD_ERR_UNSUPPORTED,
               "unknown hash type");
    hb.hash_type = 2;
    expect_err(ward_snp_hcl_check_binding(&hb, c.report_data), WARD_ERR_VERIFY, "SHA-384");

    /* Malformed HCL reports. */
    expect_err(ward_snp_hcl_parse(hcl, 0x4D3, &hb), WARD_ERR_TRUNCATED, "at least");
    expect_err(ward_snp_hcl_parse(hcl, 0x900, &hb), WARD_ERR_TRUNCATED, "report size");
    expect_err(ward_snp_hcl_parse(NULL, n, &hb), WARD_ERR_INVALID_ARG, NULL);
    memcpy(bad, hcl, n);
    bad[0] = 'X';
    expect_err(ward_snp_hcl_parse(bad, n, &hb), WARD_ERR_FORMAT, "HCLA");
    memcpy(bad, hcl, n);
    bad[4] = 7;
    expect_err(ward_snp_hcl_parse(bad, n, &hb), WARD_ERR_UNSUPPORTED, "header version");
    memcpy(bad, hcl, n);
    bad[0x10] = 1;
    expect_err(ward_snp_hcl_parse(bad, n, &hb), WARD_ERR_FORMAT, "status");
    memcpy(bad, hcl, n);
    bad[0x4C8] = 4; /* TDX */
    expect_err(ward_snp_hcl_parse(bad, n, &hb), WARD_ERR_UNSUPPORTED, "not SNP");
    memcpy(bad, hcl, n);
    bad[0x4C0] ^= 1; /* data size */
    expect_err(ward_snp_hcl_parse(bad, n, &hb), WARD_ERR_FORMAT, "does not match");
    memcpy(bad, hcl, n);
    bad[0x4D0] = 0xFF; bad[0x4D1] = 0xFF; bad[0x4D2] = 0xFF; bad[0x4D3] = 0xFF; /* var size */
    bad[0x4C0] = 0x13; bad[0x4C1] = 0; bad[0x4C2] = 0; bad[0x4C3] = 0; /* = 0xFFFFFFFF + 20 */
    expect_err(ward_snp_hcl_parse(bad, n, &hb), WARD_ERR_FORMAT, NULL);
    memcpy(bad, hcl, n);
    bad[0x08] = 0x10; bad[0x09] = 0; /* report size too small for the runtime data */
    expect_err(ward_snp_hcl_parse(bad, n, &hb), WARD_ERR_FORMAT, "smaller than its contents");
    free(bad);
    free(hcl);
    free(rt);
}

/* ---- single-bit flips --------------------------------------------------------------------- */

static int in(size_t off, size_t from, size_t to)
{
    return off >= from && off < to;
}

/* Flips bit `bit` of byte `off` and asserts refusal: a structural refusal from the parser
 * (same code and message as ward_snp_parse), or WARD_ERR_VERIFY naming the check that caught
 * it: the TCB binding, the CHIP_ID binding, the CPUID product, the key kind, or the signature. */
static void flip_and_check(ward_snp_verifier *v, const vec *x, size_t off, unsigned bit,
                           int is_vlek)
{
    uint8_t *r = dup_bytes(x->report, x->report_len);
    r[off] ^= (uint8_t)(1u << bit);
    ward_snp_report pr;
    ward_err perr = ward_snp_parse(r, x->report_len, &pr);
    char pmsg[512];
    snprintf(pmsg, sizeof pmsg, "%s", ward_errmsg());
    ward_claims c;
    ward_err err = ward_snp_verifier_verify(v, r, x->report_len, x->vek, x->vek_len, x->at, &c,
                                            NULL);
    if (err == WARD_OK)
        fail_msg("%s: flipping bit %u of byte 0x%03zx was accepted", x->name, bit, off);
    if (perr != WARD_OK) {
        if (err != perr || strcmp(pmsg, ward_errmsg()) != 0)
            fail_msg("%s 0x%03zx.%u: parse said %s \"%s\", verify %s \"%s\"", x->name, off, bit,
                     ward_err_name(perr), pmsg, ward_err_name(err), ward_errmsg());
        assert_non_null(strstr(pmsg, "SNP report: "));
        assert_true(err == WARD_ERR_FORMAT || err == WARD_ERR_UNSUPPORTED);
    } else {
        const char *want = "signature does not verify";
        if (in(off, 0x180, 0x188))
            want = "REPORTED_TCB";
        else if (in(off, 0x1A0, 0x1E0) && !is_vlek)
            want = "CHIP_ID does not match";
        else if (in(off, 0x188, 0x18B) || (off == 0 && pr.version == 3))
            want = "CPUID";
        else if (off == 0x48 && bit == 2)
            want = "SIGNING_KEY";
        if (err != WARD_ERR_VERIFY || strstr(ward_errmsg(), want) == NULL)
            fail_msg("%s 0x%03zx.%u: expected verify \"%s\", got %s \"%s\"", x->name, off, bit,
                     want, ward_err_name(err), ward_errmsg());
        /* Claims are not released on failure. */
        uint8_t zero[sizeof c];
        memset(zero, 0, sizeof zero);
        assert_memory_equal(&c, zero, sizeof c);
    }
    free(r);
}

static void test_bitflips_signed_region(void **state)
{
    (void)state;
    ward_snp_verifier *v = new_verifier(g_chain_all, g_chain_all_len);
    for (size_t i = 0; i < g_nvecs; i++) {
        const vec *x = &g_vecs[i];
        int is_vlek = x->vek_len > 0 && strstr(x->name, "vlek") != NULL;
        /* One vector through every byte; the others with a stride of 5 (a different bit each
         * time), plus the byte before the signature. */
        size_t stride = i == 0 ? 1 : 5;
        for (size_t off = 0; off < WARD_SNP_SIGNED_LEN; off += stride)
            flip_and_check(v, x, off, (unsigned)((off / stride + i) % 8), is_vlek);
        flip_and_check(v, x, WARD_SNP_SIGNED_LEN - 1, 7, is_vlek);
    }
    ward_snp_verifier_free(v);
}

static void test_signature_flips(void **state)
{
    (void)state;
    const vec *x = find_vec("oak-milan-v3");
    ward_snp_verifier *v = new_verifier(x->chain, x->chain_len);
    static const struct {
        size_t off;
        ward_err err;
        const char *why;
    } cases[] = {
        {0x2A0, WARD_ERR_VERIFY, "signature does not verify"},       /* R, least significant */
        {0x2A0 + 47, WARD_ERR_VERIFY, "signature does not verify"},  /* R, most significant */
        {0x2E8, WARD_ERR_VERIFY, "signature does not verify"},       /* S */
        {0x2E8 + 20, WARD_ERR_VERIFY, "signature does not verify"},
        {0x2E8 + 47, WARD_ERR_VERIFY, "signature does not verify"},
        {0x2A0 + 48, WARD_ERR_FORMAT, "top of SIGNATURE.R"},
        {0x2A0 + 71, WARD_ERR_FORMAT, "top of SIGNATURE.R"},
        {0x2E8 + 48, WARD_ERR_FORMAT, "top of SIGNATURE.S"},
        {0x330, WARD_ERR_FORMAT, "signature area"},
        {0x49F, WARD_ERR_FORMAT, "signature area"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        for (unsigned bit = 0; bit < 8; bit += 7) {
            uint8_t *r = dup_bytes(x->report, x->report_len);
            r[cases[i].off] ^= (uint8_t)(1u << bit);
            ward_claims c;
            expect_err(ward_snp_verifier_verify(v, r, x->report_len, x->vek, x->vek_len, x->at,
                                                &c, NULL),
                       cases[i].err, cases[i].why);
            free(r);
        }
    }
    /* R and S swapped; S replaced by n - S is not tried: OpenSSL refuses out-of-range values
     * and the malleable form verifies by design of ECDSA, which no report check relies on. */
    uint8_t *r = dup_bytes(x->report, x->report_len);
    memcpy(r + 0x2A0, x->report + 0x2E8, 72);
    memcpy(r + 0x2E8, x->report + 0x2A0, 72);
    ward_claims c;
    expect_err(ward_snp_verifier_verify(v, r, x->report_len, x->vek, x->vek_len, x->at, &c, NULL),
               WARD_ERR_VERIFY, "signature does not verify");
    /* A zero signature (what an unsigned report carries). */
    memset(r + 0x2A0, 0, 144);
    expect_err(ward_snp_verifier_verify(v, r, x->report_len, x->vek, x->vek_len, x->at, &c, NULL),
               WARD_ERR_VERIFY, "signature does not verify");
    free(r);
    ward_snp_verifier_free(v);
}

/* ---- roots, times, truncation ----------------------------------------------------------- */

static void test_wrong_root(void **state)
{
    (void)state;
    size_t lens[3];
    char *chains[3] = {read_chain("milan", &lens[0]), read_chain("genoa", &lens[1]),
                       read_chain("turin", &lens[2])};
    /* Every vector against the other two generations' chains. */
    for (size_t i = 0; i < g_nvecs; i++) {
        const vec *x = &g_vecs[i];
        for (size_t k = 0; k < 3; k++) {
            if (lens[k] == x->chain_len && memcmp(chains[k], x->chain, lens[k]) == 0)
                continue;
            ward_claims c;
            ward_err err = ward_snp_verify(x->report, x->report_len, x->vek, x->vek_len,
                                           chains[k], lens[k], x->at, &c);
            expect_err(err, WARD_ERR_VERIFY, "not an AS");
            assert_non_null(strstr(ward_errmsg(), "of the trusted AMD chains"));
        }
    }
    /* A chain whose ASK is right but whose ARK is another generation's: refused at once. */
    ward_cert **m = NULL, **g = NULL;
    size_t nm = 0, ng = 0;
    CHECK_OK(ward_cert_list_from_pem(chains[0], lens[0], &m, &nm));
    CHECK_OK(ward_cert_list_from_pem(chains[1], lens[1], &g, &ng));
    assert_int_equal(nm, 3);
    char *p1 = NULL, *p2 = NULL;
    size_t l1 = 0, l2 = 0;
    CHECK_OK(ward_cert_to_pem(m[0], &p1, &l1)); /* SEV-Milan */
    CHECK_OK(ward_cert_to_pem(g[1], &p2, &l2)); /* ARK-Genoa */
    char *mixed = malloc(l1 + l2 + 1);
    assert_non_null(mixed);
    memcpy(mixed, p1, l1);
    memcpy(mixed + l1, p2, l2);
    ward_snp_verifier *v = NULL;
    expect_err(ward_snp_verifier_new(mixed, l1 + l2, 0, &v), WARD_ERR_FORMAT, "no ARK-Milan");
    assert_null(v);
    free(mixed);
    free(p1);
    free(p2);

    /* An ARK that is not AMD's: a made-up "ARK-Milan" with the real Milan ASK. */
    ward_pkey *k = NULL;
    CHECK_OK(ward_pkey_generate(WARD_KEY_EC_P384, &k));
    ward_cert_spec s;
    memset(&s, 0, sizeof s);
    s.common_name = "ARK-Milan";
    s.not_before = 1600000000;
    s.not_after = 2500000000;
    s.is_ca = 1;
    s.path_len = -1;
    ward_cert *fake = NULL;
    CHECK_OK(ward_cert_create(&s, k, NULL, k, &fake));
    CHECK_OK(ward_cert_to_pem(m[0], &p1, &l1));
    CHECK_OK(ward_cert_to_pem(fake, &p2, &l2));
    mixed = malloc(l1 + l2 + 1);
    assert_non_null(mixed);
    memcpy(mixed, p1, l1);
    memcpy(mixed + l1, p2, l2);
    expect_err(ward_snp_verifier_new(mixed, l1 + l2, 0, &v), WARD_ERR_VERIFY,
               "is not AMD's ARK for Milan");
    /* Unpinned ARKs may be allowed; the chain then fails on the ASK's signature. */
    CHECK_OK(ward_snp_verifier_new(mixed, l1 + l2, WARD_SNP_ALLOW_UNPINNED_ARK, &v));
    const vec *x = find_vec("oak-milan-v3");
    ward_claims c;
    expect_err(ward_snp_verifier_verify(v, x->report, x->report_len, x->vek, x->vek_len, x->at,
                                        &c, NULL),
               WARD_ERR_VERIFY, "certificate chain");
    ward_snp_verifier_free(v);
    /* The real chains are accepted with the flag too (their ARKs are pinned anyway). */
    CHECK_OK(ward_snp_verifier_new(chains[0], lens[0], WARD_SNP_ALLOW_UNPINNED_ARK, &v));
    CHECK_OK(ward_snp_verifier_verify(v, x->report, x->report_len, x->vek, x->vek_len, x->at, &c,
                                      NULL));
    ward_snp_verifier_free(v);
    free(mixed);
    free(p1);
    free(p2);
    ward_cert_free(fake);
    ward_pkey_free(k);
    ward_cert_list_free(m, nm);
    ward_cert_list_free(g, ng);
    for (size_t i = 0; i < 3; i++)
        free(chains[i]);
}

static void test_chain_pem_refusals(void **state)
{
    (void)state;
    ward_snp_verifier *v = NULL;
    const vec *x = find_vec("oak-milan-v3");
    expect_err(ward_snp_verifier_new(NULL, 10, 0, &v), WARD_ERR_INVALID_ARG, NULL);
    expect_err(ward_snp_verifier_new("", 0, 0, &v), WARD_ERR_INVALID_ARG, "no AMD chain");
    expect_err(ward_snp_verifier_new("junk", 4, 0, &v), WARD_ERR_FORMAT, NULL);
    expect_err(ward_snp_verifier_new(x->chain, x->chain_len, 0x80, &v), WARD_ERR_INVALID_ARG,
               "unknown flags");
    expect_err(ward_snp_verifier_new(x->chain, x->chain_len, 0, NULL), WARD_ERR_INVALID_ARG,
               NULL);
    /* The same chain twice. */
    char *twice = malloc(2 * x->chain_len);
    assert_non_null(twice);
    memcpy(twice, x->chain, x->chain_len);
    memcpy(twice + x->chain_len, x->chain, x->chain_len);
    expect_err(ward_snp_verifier_new(twice, 2 * x->chain_len, 0, &v), WARD_ERR_FORMAT,
               "appears twice");
    free(twice);
    /* A VCEK is not a chain certificate; nor is anything else. */
    ward_cert *vcek = NULL;
    CHECK_OK(ward_cert_from_der(x->vek, x->vek_len, &vcek));
    char *pem = NULL;
    size_t pl = 0;
    CHECK_OK(ward_cert_to_pem(vcek, &pem, &pl));
    char *plus = malloc(x->chain_len + pl);
    assert_non_null(plus);
    memcpy(plus, x->chain, x->chain_len);
    memcpy(plus + x->chain_len, pem, pl);
    expect_err(ward_snp_verifier_new(plus, x->chain_len + pl, 0, &v), WARD_ERR_UNSUPPORTED,
               "not for a known product");
    free(plus);
    free(pem);
    ward_cert_free(vcek);
    ward_pkey *k = NULL;
    CHECK_OK(ward_pkey_generate(WARD_KEY_EC_P256, &k));
    ward_cert_spec s;
    memset(&s, 0, sizeof s);
    s.common_name = "Some CA";
    s.not_before = 1600000000;
    s.not_after = 2500000000;
    s.is_ca = 1;
    s.path_len = -1;
    ward_cert *other = NULL;
    CHECK_OK(ward_cert_create(&s, k, NULL, k, &other));
    CHECK_OK(ward_cert_to_pem(other, &pem, &pl));
    expect_err(ward_snp_verifier_new(pem, pl, 0, &v), WARD_ERR_FORMAT, "unexpected certificate");
    free(pem);
    ward_cert_free(other);
    /* An ARK alone. */
    ward_cert **m = NULL;
    size_t nm = 0;
    CHECK_OK(ward_cert_list_from_pem(x->chain, x->chain_len, &m, &nm));
    CHECK_OK(ward_cert_to_pem(m[1], &pem, &pl));
    expect_err(ward_snp_verifier_new(pem, pl, 0, &v), WARD_ERR_FORMAT, "without an ASK");
    free(pem);
    /* KDS's cert_chain form (ASK, ARK: no ASVK) verifies VCEKs; a VLEK then has no issuer. */
    char *p0 = NULL, *p1 = NULL;
    size_t l0 = 0, l1 = 0;
    CHECK_OK(ward_cert_to_pem(m[0], &p0, &l0));
    CHECK_OK(ward_cert_to_pem(m[1], &p1, &l1));
    char *kds = malloc(l0 + l1);
    assert_non_null(kds);
    memcpy(kds, p0, l0);
    memcpy(kds + l0, p1, l1);
    CHECK_OK(ward_snp_verifier_new(kds, l0 + l1, 0, &v));
    ward_claims c;
    CHECK_OK(ward_snp_verifier_verify(v, x->report, x->report_len, x->vek, x->vek_len, x->at, &c,
                                      NULL));
    const vec *aws = find_vec("trustee-milan-vlek-v3-aws");
    expect_err(ward_snp_verifier_verify(v, aws->report, aws->report_len, aws->vek, aws->vek_len,
                                        aws->at, &c, NULL),
               WARD_ERR_VERIFY, "is not an ASVK of the trusted AMD chains");
    ward_snp_verifier_free(v);
    free(kds);
    free(p0);
    free(p1);
    ward_cert_list_free(m, nm);
    ward_pkey_free(k);
}

static void test_times(void **state)
{
    (void)state;
    const vec *aws = find_vec("trustee-milan-vlek-v3-aws");
    ward_snp_verifier *v = new_verifier(aws->chain, aws->chain_len);
    ward_claims c;
    /* The VLEK expired on 2025-12-10T22:14:21Z: valid up to the second before. */
    int64_t na = parse_time("2025-12-10T22:14:21Z");
    assert_int_equal(aws->window[1], na);
    /* Cold cache first. */
    expect_err(ward_snp_verifier_verify(v, aws->report, aws->report_len, aws->vek, aws->vek_len,
                                        na, &c, NULL),
               WARD_ERR_VERIFY, "certificate has expired");
    CHECK_OK(ward_snp_verifier_verify(v, aws->report, aws->report_len, aws->vek, aws->vek_len,
                                      na - 1, &c, NULL));
    /* Now cached: the cache honours the same window. */
    expect_err(ward_snp_verifier_verify(v, aws->report, aws->report_len, aws->vek, aws->vek_len,
                                        na, &c, NULL),
               WARD_ERR_VERIFY, "certificate has expired");
    expect_err(ward_snp_verifier_verify(v, aws->report, aws->report_len, aws->vek, aws->vek_len,
                                        na + 86400 * 365, &c, NULL),
               WARD_ERR_VERIFY, "certificate has expired");
    /* Now (0): the VLEK has expired for good. */
    expect_err(ward_snp_verifier_verify(v, aws->report, aws->report_len, aws->vek, aws->vek_len,
                                        0, &c, NULL),
               WARD_ERR_VERIFY, "certificate has expired");
    /* Before the window. */
    int64_t nb = parse_time("2024-12-10T22:14:21Z");
    assert_int_equal(aws->window[0], nb);
    expect_err(ward_snp_verifier_verify(v, aws->report, aws->report_len, aws->vek, aws->vek_len,
                                        nb - 1, &c, NULL),
               WARD_ERR_VERIFY, "not yet valid");
    CHECK_OK(ward_snp_verifier_verify(v, aws->report, aws->report_len, aws->vek, aws->vek_len,
                                      nb, &c, NULL));
    expect_err(ward_snp_verifier_verify(v, aws->report, aws->report_len, aws->vek, aws->vek_len,
                                        -5, &c, NULL),
               WARD_ERR_INVALID_ARG, "negative time");
    ward_snp_verifier_free(v);

    /* Every vector: one second before its window and at its end. */
    for (size_t i = 0; i < g_nvecs; i++) {
        const vec *x = &g_vecs[i];
        v = new_verifier(x->chain, x->chain_len);
        expect_err(ward_snp_verifier_verify(v, x->report, x->report_len, x->vek, x->vek_len,
                                            x->window[0] - 1, &c, NULL),
                   WARD_ERR_VERIFY, "not yet valid");
        CHECK_OK(ward_snp_verifier_verify(v, x->report, x->report_len, x->vek, x->vek_len, x->at,
                                          &c, NULL));
        expect_err(ward_snp_verifier_verify(v, x->report, x->report_len, x->vek, x->vek_len,
                                            x->window[1], &c, NULL),
                   WARD_ERR_VERIFY, "certificate has expired");
        expect_err(ward_snp_verifier_verify(v, x->report, x->report_len, x->vek, x->vek_len,
                                            x->window[0] - 1, &c, NULL),
                   WARD_ERR_VERIFY, "not yet valid");
        ward_snp_verifier_free(v);
    }
}

static void test_truncated(void **state)
{
    (void)state;
    const vec *x = find_vec("oak-genoa-v5");
    ward_snp_verifier *v = new_verifier(x->chain, x->chain_len);
    static const size_t lens[] = {0, 1, 4, 0x50, 0x29F, 0x2A0, 0x2E8, 0x330, 0x49F};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        /* An exact-size copy, so that a read past it is caught. */
        uint8_t *r = dup_bytes(x->report, lens[i]);
        ward_snp_report pr;
        expect_err(ward_snp_parse(r, lens[i], &pr), WARD_ERR_TRUNCATED, "expected 1184");
        ward_claims c;
        expect_err(ward_snp_verifier_verify(v, r, lens[i], x->vek, x->vek_len, x->at, &c, NULL),
                   WARD_ERR_TRUNCATED, "expected 1184");
        free(r);
    }
    uint8_t *longer = malloc(x->report_len + 1);
    assert_non_null(longer);
    memcpy(longer, x->report, x->report_len);
    longer[x->report_len] = 0;
    ward_snp_report pr;
    expect_err(ward_snp_parse(longer, x->report_len + 1, &pr), WARD_ERR_FORMAT, "trailing data");
    free(longer);
    /* Truncated certificates. */
    static const size_t clens[] = {1, 2, 100, 1000};
    for (size_t i = 0; i < sizeof clens / sizeof clens[0]; i++) {
        uint8_t *cert = dup_bytes(x->vek, clens[i]);
        ward_claims c;
        ward_err err = ward_snp_verifier_verify(v, x->report, x->report_len, cert, clens[i],
                                                x->at, &c, NULL);
        expect_err(err, err, "certificate");
        assert_true(err == WARD_ERR_FORMAT || err == WARD_ERR_TRUNCATED);
        free(cert);
    }
    ward_snp_verifier_free(v);
}

/* ---- the certificate belongs to another chip, or is of the wrong kind -------------------- */

static void test_other_chip(void **state)
{
    (void)state;
    ward_snp_verifier *v = new_verifier(g_chain_all, g_chain_all_len);
    ward_claims c;
    /* Another Milan chip's VCEK with a different TCB. */
    const vec *gsg = find_vec("gsg-milan-v2");
    const vec *vir = find_vec("virtee-milan-v2");
    expect_err(ward_snp_verifier_verify(v, gsg->report, gsg->report_len, vir->vek, vir->vek_len,
                                        vir->at, &c, NULL),
               WARD_ERR_VERIFY, "REPORTED_TCB bl 2 tee 0 snp 5 ucode 68");
    assert_non_null(strstr(ward_errmsg(), "does not match the VCEK's TCB bl 3 tee 0 snp 8 ucode 115"));
    /* Same TCB (bl3/tee0/snp8/ucode115), other chip: CHIP_ID catches it. */
    const vec *idb = find_vec("trustee-milan-v2-idblock");
    expect_err(ward_snp_verifier_verify(v, idb->report, idb->report_len, vir->vek, vir->vek_len,
                                        vir->at, &c, NULL),
               WARD_ERR_VERIFY, "CHIP_ID does not match the VCEK's hwID");
    /* Genoa: Azure's report with Oak's Genoa VCEK. */
    const vec *az = find_vec("trustee-genoa-v3-azure");
    const vec *og = find_vec("oak-genoa-v5");
    expect_err(ward_snp_verifier_verify(v, az->report, az->report_len, og->vek, og->vek_len,
                                        og->at, &c, NULL),
               WARD_ERR_VERIFY, "REPORTED_TCB");
    /* A Milan report with a Genoa VCEK: CPUID says Milan, the chain Genoa. */
    const vec *om = find_vec("oak-milan-v3");
    expect_err(ward_snp_verifier_verify(v, om->report, om->report_len, og->vek, og->vek_len,
                                        og->at, &c, NULL),
               WARD_ERR_VERIFY, "CPUID says Milan, the VCEK chain Genoa");
    /* A v2 (no CPUID) Milan report with the Turin VCEK: the Turin layout and hwID refuse it. */
    const vec *tu = find_vec("oak-turin-v5");
    expect_err(ward_snp_verifier_verify(v, vir->report, vir->report_len, tu->vek, tu->vek_len,
                                        tu->at, &c, NULL),
               WARD_ERR_VERIFY, "REPORTED_TCB fmc 3 bl 0 tee 0 snp 0 ucode 115");
    /* The VLEK report with a VCEK, and a VCEK report with the VLEK. */
    const vec *aws = find_vec("trustee-milan-vlek-v3-aws");
    expect_err(ward_snp_verifier_verify(v, aws->report, aws->report_len, om->vek, om->vek_len,
                                        om->at, &c, NULL),
               WARD_ERR_VERIFY, "SIGNING_KEY 1 names the VLEK, but the certificate is a VCEK");
    expect_err(ward_snp_verifier_verify(v, om->report, om->report_len, aws->vek, aws->vek_len,
                                        om->at, &c, NULL),
               WARD_ERR_VERIFY, "SIGNING_KEY 0 names the VCEK, but the certificate is a VLEK");
    /* A report's own CPUID changed to another product, or to an unknown one. */
    uint8_t *r = dup_bytes(om->report, om->report_len);
    r[0x189] = 0x11; /* Genoa model */
    expect_err(ward_snp_verifier_verify(v, r, om->report_len, om->vek, om->vek_len, om->at, &c,
                                        NULL),
               WARD_ERR_VERIFY, "CPUID says Genoa, the VCEK chain Milan");
    r[0x188] = 0x17;
    expect_err(ward_snp_verifier_verify(v, r, om->report_len, om->vek, om->vek_len, om->at, &c,
                                        NULL),
               WARD_ERR_VERIFY, "CPUID family 0x17 model 0x11 is not a known SNP product");
    free(r);
    /* The VCEK's key, used as a certificate of the wrong kind: a chain certificate. */
    size_t n = 0;
    char *pem = read_chain("milan", &n);
    expect_err(ward_snp_verifier_verify(v, om->report, om->report_len, (const uint8_t *)pem, n,
                                        om->at, &c, NULL),
               WARD_ERR_VERIFY, "neither a VCEK");
    free(pem);
    ward_snp_verifier_free(v);
}

static void test_negative_vceks(void **state)
{
    (void)state;
    static const char *const files[] = {"trustee-vcek-invalid-legacy.der",
                                        "trustee-vcek-invalid-new.der"};
    const vec *idb = find_vec("trustee-milan-v2-idblock");
    ward_snp_verifier *v = new_verifier(idb->chain, idb->chain_len);
    int64_t at = parse_time("2023-06-01T00:00:00Z"); /* inside their validity */
    for (size_t i = 0; i < 2; i++) {
        size_t n = 0;
        uint8_t *der = read_vec("negative", files[i], &n);
        ward_claims c;
        expect_err(ward_snp_verifier_verify(v, idb->report, idb->report_len, der, n, at, &c,
                                            NULL),
                   WARD_ERR_VERIFY, "certificate signature failure");
        assert_non_null(strstr(ward_errmsg(), "SNP VCEK chain (Milan)"));
        /* Both hwID encodings decode to 00..3F. */
        ward_cert *cert = NULL;
        CHECK_OK(ward_cert_from_der(der, n, &cert));
        ward_snp_vek_info vi;
        CHECK_OK(ward_snp_priv_vek_decode(cert, WARD_SNP_PRODUCT_MILAN, 0, &vi));
        assert_int_equal(vi.hwid_len, 64);
        for (size_t b = 0; b < 64; b++)
            assert_int_equal(vi.hwid[b], b);
        assert_string_equal(vi.product_name, "Milan-B0");
        /* Decoded as another product, its productName refuses it. */
        expect_err(ward_snp_priv_vek_decode(cert, WARD_SNP_PRODUCT_GENOA, 0, &vi),
                   WARD_ERR_VERIFY, "is not the chain's product Genoa");
        ward_cert_free(cert);
        free(der);
    }
    ward_snp_verifier_free(v);
}

/* ---- the parser's own refusals ---------------------------------------------------------- */

static void put32(uint8_t *p, uint32_t v)
{
    for (size_t i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void expect_parse(const uint8_t *base, size_t off, uint8_t value, ward_err want,
                         const char *why)
{
    uint8_t *r = dup_bytes(base, WARD_SNP_REPORT_LEN);
    r[off] = value;
    ward_snp_report pr;
    memset(&pr, 0xA5, sizeof pr);
    ward_err err = ward_snp_parse(r, WARD_SNP_REPORT_LEN, &pr);
    expect_err(err, want, why);
    /* Nothing is released on failure. */
    uint8_t zero[sizeof pr];
    memset(zero, 0, sizeof zero);
    assert_memory_equal(&pr, zero, sizeof pr);
    free(r);
}

static void test_parse_refusals(void **state)
{
    (void)state;
    const uint8_t *v2 = find_vec("virtee-milan-v2")->report;
    const uint8_t *v3 = find_vec("oak-milan-v3")->report;
    const uint8_t *v5 = find_vec("oak-turin-v5")->report;
    expect_parse(v3, 0x000, 1, WARD_ERR_UNSUPPORTED, "version 1 is not supported");
    expect_parse(v3, 0x000, 6, WARD_ERR_UNSUPPORTED, "version 6 is not supported");
    expect_parse(v3, 0x003, 1, WARD_ERR_UNSUPPORTED, "is not supported");
    expect_parse(v3, 0x034, 2, WARD_ERR_UNSUPPORTED, "signature algorithm 2");
    expect_parse(v3, 0x00A, 0x01, WARD_ERR_FORMAT, "bit 17 clear");
    expect_parse(v3, 0x00B, 0x04, WARD_ERR_UNSUPPORTED, "unknown bits 0x4000000");
    expect_parse(v3, 0x00F, 0x80, WARD_ERR_UNSUPPORTED, "unknown bits");
    expect_parse(v3, 0x030, 4, WARD_ERR_FORMAT, "VMPL 4");
    expect_parse(v3, 0x033, 1, WARD_ERR_FORMAT, "VMPL");
    expect_parse(v3, 0x048, 7 << 2, WARD_ERR_FORMAT, "SIGNING_KEY 7 (none)");
    expect_parse(v3, 0x048, 2 << 2, WARD_ERR_FORMAT, "SIGNING_KEY 2 is reserved");
    expect_parse(v3, 0x048, 0x20, WARD_ERR_FORMAT, "reserved bits 5..31");
    expect_parse(v3, 0x04B, 0x80, WARD_ERR_FORMAT, "reserved bits 5..31");
    expect_parse(v3, 0x04C, 1, WARD_ERR_FORMAT, "reserved field after SIGNER_INFO");
    expect_parse(v2, 0x188, 0x19, WARD_ERR_FORMAT, "field after REPORTED_TCB (v2)");
    expect_parse(v3, 0x18B, 1, WARD_ERR_FORMAT, "field after CPUID");
    expect_parse(v3, 0x19F, 1, WARD_ERR_FORMAT, "field after CPUID");
    expect_parse(v3, 0x1EB, 1, WARD_ERR_FORMAT, "byte after CURRENT_VERSION");
    expect_parse(v3, 0x1EF, 1, WARD_ERR_FORMAT, "byte after COMMITTED_VERSION");
    expect_parse(v3, 0x1F8, 1, WARD_ERR_FORMAT, "field after LAUNCH_TCB (before v5)");
    expect_parse(v5, 0x208, 1, WARD_ERR_FORMAT, "field after CURRENT_MIT_VECTOR");
    expect_parse(v5, 0x29F, 1, WARD_ERR_FORMAT, "at 0x29F");
    expect_parse(v3, 0x2A0 + 48, 1, WARD_ERR_FORMAT, "top of SIGNATURE.R");
    expect_parse(v3, 0x2E8 + 71, 1, WARD_ERR_FORMAT, "top of SIGNATURE.S");
    expect_parse(v3, 0x400, 1, WARD_ERR_FORMAT, "signature area");

    /* Accepted: unknown PLATFORM_INFO bits, version 4 (read like 3), all four policy bits a
     * policy judges, and v5 mitigation vectors. */
    uint8_t *r = dup_bytes(v3, WARD_SNP_REPORT_LEN);
    ward_snp_report pr;
    r[0x047] = 0x80;
    CHECK_OK(ward_snp_parse(r, WARD_SNP_REPORT_LEN, &pr));
    assert_true(pr.platform_info == (UINT64_C(0x80) << 56 | 0x25));
    put32(r, 4);
    CHECK_OK(ward_snp_parse(r, WARD_SNP_REPORT_LEN, &pr));
    assert_int_equal(pr.version, 4);
    assert_int_equal(pr.product, WARD_SNP_PRODUCT_MILAN);
    r[0x00A] = 0x03 | 0x04 | 0x08 | 0x10; /* SMT, reserved, MIGRATE_MA, DEBUG, SINGLE_SOCKET */
    r[0x00B] = 0x03;                      /* bits 24, 25 */
    CHECK_OK(ward_snp_parse(r, WARD_SNP_REPORT_LEN, &pr));
    assert_true((pr.policy & WARD_SNP_POLICY_MIGRATE_MA) && (pr.policy & WARD_SNP_POLICY_DEBUG));
    /* v3 with an unknown CPUID parses (product unknown); verification refuses it. */
    r[0x188] = 0x17;
    CHECK_OK(ward_snp_parse(r, WARD_SNP_REPORT_LEN, &pr));
    assert_int_equal(pr.product, WARD_SNP_PRODUCT_UNKNOWN);
    free(r);

    expect_err(ward_snp_parse(NULL, 1184, &pr), WARD_ERR_INVALID_ARG, NULL);
    expect_err(ward_snp_parse(v3, 1184, NULL), WARD_ERR_INVALID_ARG, NULL);
}

/* ---- TCB layouts, products, DER readers -------------------------------------------------- */

static void test_tcb_and_products(void **state)
{
    (void)state;
    const uint8_t raw[8] = {0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x47};
    ward_snp_tcb t;
    CHECK_OK(ward_snp_tcb_decode(raw, WARD_SNP_PRODUCT_TURIN, &t));
    assert_true(t.fmc == 0 && t.bootloader == 1 && t.tee == 0 && t.snp == 2 && t.microcode == 71);
    assert_memory_equal(t.raw, raw, 8);
    /* A legacy reading of the same bytes is wrong in exactly the documented way. */
    CHECK_OK(ward_snp_tcb_decode(raw, WARD_SNP_PRODUCT_MILAN, &t));
    assert_true(t.fmc == 0 && t.bootloader == 0 && t.tee == 1 && t.snp == 0 && t.microcode == 71);
    CHECK_OK(ward_snp_tcb_decode(raw, WARD_SNP_PRODUCT_GENOA, &t));
    assert_int_equal(t.tee, 1);
    expect_err(ward_snp_tcb_decode(raw, WARD_SNP_PRODUCT_UNKNOWN, &t), WARD_ERR_INVALID_ARG,
               "no layout");
    expect_err(ward_snp_tcb_decode(raw, (ward_snp_product)42, &t), WARD_ERR_INVALID_ARG, NULL);
    expect_err(ward_snp_tcb_decode(NULL, WARD_SNP_PRODUCT_MILAN, &t), WARD_ERR_INVALID_ARG, NULL);

    static const struct {
        uint8_t fam, mod;
        ward_snp_product p;
    } cpu[] = {
        {0x19, 0x00, WARD_SNP_PRODUCT_MILAN}, {0x19, 0x01, WARD_SNP_PRODUCT_MILAN},
        {0x19, 0x0F, WARD_SNP_PRODUCT_MILAN}, {0x19, 0x10, WARD_SNP_PRODUCT_GENOA},
        {0x19, 0x11, WARD_SNP_PRODUCT_GENOA}, {0x19, 0x1F, WARD_SNP_PRODUCT_GENOA},
        {0x19, 0xA0, WARD_SNP_PRODUCT_GENOA}, {0x19, 0xAF, WARD_SNP_PRODUCT_GENOA},
        {0x19, 0x20, WARD_SNP_PRODUCT_UNKNOWN}, {0x19, 0xB0, WARD_SNP_PRODUCT_UNKNOWN},
        {0x1A, 0x00, WARD_SNP_PRODUCT_TURIN}, {0x1A, 0x02, WARD_SNP_PRODUCT_TURIN},
        {0x1A, 0x11, WARD_SNP_PRODUCT_TURIN}, {0x1A, 0x12, WARD_SNP_PRODUCT_UNKNOWN},
        {0x1A, 0x50, WARD_SNP_PRODUCT_UNKNOWN}, /* Venice: no chain yet */
        {0x17, 0x31, WARD_SNP_PRODUCT_UNKNOWN}, {0x00, 0x00, WARD_SNP_PRODUCT_UNKNOWN},
    };
    for (size_t i = 0; i < sizeof cpu / sizeof cpu[0]; i++)
        assert_int_equal(ward_snp_product_from_cpuid(cpu[i].fam, cpu[i].mod), cpu[i].p);
    assert_string_equal(ward_snp_product_name(WARD_SNP_PRODUCT_GENOA), "Genoa");
    assert_string_equal(ward_snp_product_name((ward_snp_product)9), "unknown");
    assert_int_equal(ward_snp_priv_product_from_name("Turin", 5), WARD_SNP_PRODUCT_TURIN);
    assert_int_equal(ward_snp_priv_product_from_name("Turin", 4), WARD_SNP_PRODUCT_UNKNOWN);
    assert_int_equal(ward_snp_priv_product_from_name("milan", 5), WARD_SNP_PRODUCT_UNKNOWN);
    assert_int_equal(ward_snp_priv_product_from_name(NULL, 0), WARD_SNP_PRODUCT_UNKNOWN);

    /* set_product re-decodes every TCB and leaves the report alone on failure. */
    ward_snp_report r;
    CHECK_OK(ward_snp_parse(find_vec("oak-turin-v5")->report, WARD_SNP_REPORT_LEN, &r));
    assert_int_equal(r.reported_tcb.snp, 2);
    ward_snp_report copy = r;
    expect_err(ward_snp_report_set_product(&r, WARD_SNP_PRODUCT_UNKNOWN), WARD_ERR_INVALID_ARG,
               NULL);
    assert_memory_equal(&r, &copy, sizeof r);
    CHECK_OK(ward_snp_report_set_product(&r, WARD_SNP_PRODUCT_MILAN));
    assert_int_equal(r.reported_tcb.tee, 1);
    assert_int_equal(r.launch_tcb.tee, 1);
    assert_int_equal(r.product, WARD_SNP_PRODUCT_MILAN);
}

static void expect_u8(const char *hex, ward_err want, uint8_t value, const char *why)
{
    size_t n = 0;
    uint8_t *der = tu_unhex(hex, &n);
    uint8_t *exact = dup_bytes(der, n);
    uint8_t got = 0xEE;
    ward_err err = ward_snp_priv_der_u8(n ? exact : NULL, n, "test INTEGER", &got);
    if (want == WARD_OK) {
        CHECK_OK(err);
        assert_int_equal(got, value);
    } else {
        expect_err(err, want, why);
    }
    free(exact);
    free(der);
}

static void test_der_readers(void **state)
{
    (void)state;
    expect_u8("020100", WARD_OK, 0, NULL);
    expect_u8("020144", WARD_OK, 68, NULL);
    expect_u8("02017f", WARD_OK, 127, NULL);
    expect_u8("020200db", WARD_OK, 219, NULL); /* leading zero: the Milan ucodeSPL quirk */
    expect_u8("020200ff", WARD_OK, 255, NULL);
    expect_u8("0201db", WARD_ERR_FORMAT, 0, "negative");
    expect_u8("02020044", WARD_ERR_FORMAT, 0, "minimal form");
    expect_u8("02020100", WARD_ERR_FORMAT, 0, "out of range");
    expect_u8("0203010000", WARD_ERR_FORMAT, 0, "out of range");
    expect_u8("0203000100", WARD_ERR_FORMAT, 0, "minimal form");
    expect_u8("0200", WARD_ERR_FORMAT, 0, "empty INTEGER");
    expect_u8("020201", WARD_ERR_TRUNCATED, 0, "only 1 present");
    expect_u8("02", WARD_ERR_TRUNCATED, 0, "too short");
    expect_u8("", WARD_ERR_TRUNCATED, 0, "too short");
    expect_u8("02010000", WARD_ERR_FORMAT, 0, "after the DER value");
    expect_u8("040100", WARD_ERR_FORMAT, 0, "tag 0x04");
    expect_u8("02810100", WARD_ERR_FORMAT, 0, "minimal form");
    expect_u8("0281", WARD_ERR_TRUNCATED, 0, "cut short");
    expect_u8("028200", WARD_ERR_TRUNCATED, 0, "cut short");
    expect_u8("0282000100", WARD_ERR_FORMAT, 0, "minimal form");
    expect_u8("028301000000", WARD_ERR_FORMAT, 0, "length form 0x83");
    expect_u8("0280", WARD_ERR_FORMAT, 0, "length form 0x80"); /* indefinite */

    int iv = -1;
    size_t n = 0;
    uint8_t *d = tu_unhex("0204010203ff", &n);
    CHECK_OK(ward_snp_priv_der_small_int(d, n, "int", &iv));
    assert_int_equal(iv, 0x010203ff);
    free(d);
    d = tu_unhex("020500ffffffff", &n);
    expect_err(ward_snp_priv_der_small_int(d, n, "int", &iv), WARD_ERR_FORMAT, "out of range");
    free(d);
    d = tu_unhex("020480000000", &n);
    expect_err(ward_snp_priv_der_small_int(d, n, "int", &iv), WARD_ERR_FORMAT, "negative");
    free(d);

    char s[16];
    d = tu_unhex("16084d696c616e2d4230", &n);
    CHECK_OK(ward_snp_priv_der_ia5(d, n, "name", s, sizeof s));
    assert_string_equal(s, "Milan-B0");
    expect_err(ward_snp_priv_der_ia5(d, n, "name", s, 8), WARD_ERR_FORMAT, "too long");
    CHECK_OK(ward_snp_priv_der_ia5(d, n, "name", s, 9));
    free(d);
    d = tu_unhex("1603410a42", &n);
    expect_err(ward_snp_priv_der_ia5(d, n, "name", s, sizeof s), WARD_ERR_FORMAT,
               "non-printable");
    free(d);
    d = tu_unhex("1600", &n);
    expect_err(ward_snp_priv_der_ia5(d, n, "name", s, sizeof s), WARD_ERR_FORMAT, "empty");
    free(d);
    d = tu_unhex("0c0141", &n); /* UTF8String */
    expect_err(ward_snp_priv_der_ia5(d, n, "name", s, sizeof s), WARD_ERR_FORMAT, "tag 0x0c");
    free(d);

    /* hwID: raw or wrapped, and the product's length. */
    uint8_t raw[66], out[64];
    size_t out_len = 0;
    for (size_t i = 0; i < 64; i++)
        raw[2 + i] = (uint8_t)(0xC0 + i);
    raw[0] = 0x04;
    raw[1] = 0x40;
    CHECK_OK(ward_snp_priv_hwid(raw + 2, 64, WARD_SNP_PRODUCT_MILAN, out, &out_len));
    assert_int_equal(out_len, 64);
    assert_memory_equal(out, raw + 2, 64);
    CHECK_OK(ward_snp_priv_hwid(raw, 66, WARD_SNP_PRODUCT_GENOA, out, &out_len));
    assert_int_equal(out_len, 64);
    assert_memory_equal(out, raw + 2, 64);
    expect_err(ward_snp_priv_hwid(raw + 2, 64, WARD_SNP_PRODUCT_TURIN, out, &out_len),
               WARD_ERR_FORMAT, "expected 8 for Turin");
    expect_err(ward_snp_priv_hwid(raw + 2, 63, WARD_SNP_PRODUCT_MILAN, out, &out_len),
               WARD_ERR_FORMAT, "expected 64 for Milan");
    expect_err(ward_snp_priv_hwid(raw, 65, WARD_SNP_PRODUCT_MILAN, out, &out_len),
               WARD_ERR_FORMAT, NULL);
    expect_err(ward_snp_priv_hwid(NULL, 0, WARD_SNP_PRODUCT_MILAN, out, &out_len),
               WARD_ERR_FORMAT, NULL);
    uint8_t t10[10] = {0x04, 0x08, 1, 2, 3, 4, 5, 6, 7, 8};
    CHECK_OK(ward_snp_priv_hwid(t10, 10, WARD_SNP_PRODUCT_TURIN, out, &out_len));
    assert_int_equal(out_len, 8);
    assert_int_equal(out[7], 8);
    assert_int_equal(out[8], 0);
    CHECK_OK(ward_snp_priv_hwid(t10 + 2, 8, WARD_SNP_PRODUCT_TURIN, out, &out_len));
    t10[1] = 0x09; /* a wrapper whose length disagrees */
    expect_err(ward_snp_priv_hwid(t10, 10, WARD_SNP_PRODUCT_TURIN, out, &out_len),
               WARD_ERR_TRUNCATED, NULL);
    expect_err(ward_snp_priv_hwid(t10, 10, WARD_SNP_PRODUCT_UNKNOWN, out, &out_len),
               WARD_ERR_INVALID_ARG, NULL);

    /* The pins: the three ARKs and nothing else. */
    uint8_t h[32] = {0};
    assert_int_equal(ward_snp_priv_pinned_ark(h), WARD_SNP_PRODUCT_UNKNOWN);
    assert_int_equal(ward_snp_priv_pinned_ark(NULL), WARD_SNP_PRODUCT_UNKNOWN);
    static const char *const products[] = {"milan", "genoa", "turin"};
    for (size_t i = 0; i < 3; i++) {
        size_t pl = 0;
        char *pem = read_chain(products[i], &pl);
        ward_cert **certs = NULL;
        size_t nc = 0;
        CHECK_OK(ward_cert_list_from_pem(pem, pl, &certs, &nc));
        for (size_t k = 0; k < nc; k++) {
            CHECK_OK(ward_cert_spki_sha256(certs[k], h));
            assert_int_equal(ward_snp_priv_pinned_ark(h),
                             k == 1 ? (ward_snp_product)(WARD_SNP_PRODUCT_MILAN + i)
                                    : WARD_SNP_PRODUCT_UNKNOWN);
        }
        ward_cert_list_free(certs, nc);
        free(pem);
    }
}

/* The binding check on its own, with certificate values made to differ one at a time. */
static void test_binding(void **state)
{
    (void)state;
    ward_snp_report r;
    const vec *x = find_vec("oak-turin-v5");
    CHECK_OK(ward_snp_parse(x->report, x->report_len, &r));
    ward_cert *cert = NULL;
    CHECK_OK(ward_cert_from_der(x->vek, x->vek_len, &cert));
    ward_snp_vek_info vi;
    CHECK_OK(ward_snp_priv_vek_decode(cert, WARD_SNP_PRODUCT_TURIN, 0, &vi));
    ward_cert_free(cert);
    CHECK_OK(ward_snp_priv_check_binding(&r, &vi));
    ward_snp_vek_info b = vi;
    b.tcb.raw[0] = 1; /* FMC */
    expect_err(ward_snp_priv_check_binding(&r, &b), WARD_ERR_VERIFY, "(0101000200000047)");
    b = vi;
    b.tcb.raw[5] = 1; /* a reserved byte */
    expect_err(ward_snp_priv_check_binding(&r, &b), WARD_ERR_VERIFY, "REPORTED_TCB");
    b = vi;
    b.hwid[7] ^= 1;
    expect_err(ward_snp_priv_check_binding(&r, &b), WARD_ERR_VERIFY, "CHIP_ID");
    b = vi;
    b.hwid_len = 0;
    expect_err(ward_snp_priv_check_binding(&r, &b), WARD_ERR_VERIFY, "no usable hwID");
    ward_snp_report rr = r;
    rr.chip_id[63] = 1; /* past Turin's 8 bytes */
    expect_err(ward_snp_priv_check_binding(&rr, &vi), WARD_ERR_VERIFY, "CHIP_ID");
    memset(rr.chip_id, 0, 64);
    expect_err(ward_snp_priv_check_binding(&rr, &vi), WARD_ERR_VERIFY, "masked");
    b = vi;
    b.is_vlek = 1; /* a VLEK binds no CHIP_ID */
    CHECK_OK(ward_snp_priv_check_binding(&rr, &b));
    rr = r;
    rr.product = WARD_SNP_PRODUCT_MILAN;
    expect_err(ward_snp_priv_check_binding(&rr, &vi), WARD_ERR_INVALID_ARG, "decoded as Milan");
    expect_err(ward_snp_priv_check_binding(NULL, &vi), WARD_ERR_INVALID_ARG, NULL);
}

/* ---- the TCB floor ------------------------------------------------------------------------- */

static void test_min_tcb(void **state)
{
    (void)state;
    const vec *x = find_vec("oak-turin-v5"); /* fmc 0 bl 1 tee 0 snp 2 ucode 71 */
    ward_snp_verifier *v = new_verifier(x->chain, x->chain_len);
    ward_claims c;
    ward_snp_tcb floor;
    memset(&floor, 0, sizeof floor);
    floor.bootloader = 1;
    floor.snp = 2;
    floor.microcode = 71;
    CHECK_OK(ward_snp_verifier_set_min_tcb(v, &floor));
    CHECK_OK(ward_snp_verifier_verify(v, x->report, x->report_len, x->vek, x->vek_len, x->at, &c,
                                      NULL));
    assert_int_equal(c.tcb_status, WARD_TCB_UP_TO_DATE);
    floor.microcode = 72;
    CHECK_OK(ward_snp_verifier_set_min_tcb(v, &floor));
    CHECK_OK(ward_snp_verifier_verify(v, x->report, x->report_len, x->vek, x->vek_len, x->at, &c,
                                      NULL));
    assert_int_equal(c.tcb_status, WARD_TCB_OUT_OF_DATE);
    floor.microcode = 0;
    floor.fmc = 1; /* Turin compares the FMC too */
    CHECK_OK(ward_snp_verifier_set_min_tcb(v, &floor));
    CHECK_OK(ward_snp_verifier_verify(v, x->report, x->report_len, x->vek, x->vek_len, x->at, &c,
                                      NULL));
    assert_int_equal(c.tcb_status, WARD_TCB_OUT_OF_DATE);
    CHECK_OK(ward_snp_verifier_set_min_tcb(v, NULL));
    CHECK_OK(ward_snp_verifier_verify(v, x->report, x->report_len, x->vek, x->vek_len, x->at, &c,
                                      NULL));
    assert_int_equal(c.tcb_status, WARD_TCB_UNKNOWN);
    ward_snp_verifier_free(v);
    /* Milan ignores the FMC (its TCB has none). */
    const vec *m = find_vec("oak-milan-v3"); /* bl 4 tee 0 snp 24 ucode 219 */
    v = new_verifier(m->chain, m->chain_len);
    memset(&floor, 0, sizeof floor);
    floor.fmc = 9;
    floor.snp = 24;
    CHECK_OK(ward_snp_verifier_set_min_tcb(v, &floor));
    CHECK_OK(ward_snp_verifier_verify(v, m->report, m->report_len, m->vek, m->vek_len, m->at, &c,
                                      NULL));
    assert_int_equal(c.tcb_status, WARD_TCB_UP_TO_DATE);
    floor.snp = 25;
    CHECK_OK(ward_snp_verifier_set_min_tcb(v, &floor));
    CHECK_OK(ward_snp_verifier_verify(v, m->report, m->report_len, m->vek, m->vek_len, m->at, &c,
                                      NULL));
    assert_int_equal(c.tcb_status, WARD_TCB_OUT_OF_DATE);
    expect_err(ward_snp_verifier_set_min_tcb(NULL, &floor), WARD_ERR_INVALID_ARG, NULL);
    ward_snp_verifier_free(v);
}

/* ---- the cache and concurrent use ---------------------------------------------------------- */

static void test_cache_eviction(void **state)
{
    (void)state;
    /* The same VCEK in 40 byte-different PEM forms (trailing newlines): 40 cache keys, more than
     * the cache holds, so entries are evicted while others are in use. */
    const vec *x = find_vec("trustee-genoa-v3-azure"); /* its VCEK is PEM */
    ward_snp_verifier *v = new_verifier(g_chain_all, g_chain_all_len);
    uint8_t *buf = malloc(x->vek_len + 64);
    assert_non_null(buf);
    for (int round = 0; round < 2; round++) {
        for (size_t k = 0; k < 40; k++) {
            memcpy(buf, x->vek, x->vek_len);
            memset(buf + x->vek_len, '\n', k);
            ward_claims c;
            CHECK_OK(ward_snp_verifier_verify(v, x->report, x->report_len, buf, x->vek_len + k,
                                              x->at, &c, NULL));
            /* Another vector in between. */
            const vec *o = &g_vecs[k % g_nvecs];
            CHECK_OK(ward_snp_verifier_verify(v, o->report, o->report_len, o->vek, o->vek_len,
                                              o->at, &c, NULL));
        }
    }
    free(buf);
    ward_snp_verifier_free(v);
}

typedef struct thread_arg {
    ward_snp_verifier *v;
    size_t start;
    int failures;
} thread_arg;

static void *worker(void *p)
{
    thread_arg *a = p;
    for (size_t k = 0; k < 24; k++) {
        const vec *x = &g_vecs[(a->start + k) % g_nvecs];
        ward_claims c;
        if (ward_snp_verifier_verify(a->v, x->report, x->report_len, x->vek, x->vek_len, x->at,
                                     &c, NULL) != WARD_OK)
            a->failures++;
        /* A refusal too: expired. */
        if (ward_snp_verifier_verify(a->v, x->report, x->report_len, x->vek, x->vek_len,
                                     x->window[1], &c, NULL) != WARD_ERR_VERIFY)
            a->failures++;
    }
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    ward_snp_verifier *v = new_verifier(g_chain_all, g_chain_all_len);
    pthread_t th[4];
    thread_arg args[4];
    for (size_t i = 0; i < 4; i++) {
        args[i].v = v;
        args[i].start = i * 3;
        args[i].failures = 0;
        assert_int_equal(pthread_create(&th[i], NULL, worker, &args[i]), 0);
    }
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(args[i].failures, 0);
    }
    ward_snp_verifier_free(v);
}

static void test_null_args(void **state)
{
    (void)state;
    const vec *x = find_vec("oak-milan-v3");
    ward_snp_verifier *v = new_verifier(x->chain, x->chain_len);
    ward_claims c;
    expect_err(ward_snp_verifier_verify(NULL, x->report, x->report_len, x->vek, x->vek_len, x->at,
                                        &c, NULL),
               WARD_ERR_INVALID_ARG, NULL);
    expect_err(ward_snp_verifier_verify(v, NULL, x->report_len, x->vek, x->vek_len, x->at, &c,
                                        NULL),
               WARD_ERR_INVALID_ARG, NULL);
    expect_err(ward_snp_verifier_verify(v, x->report, x->report_len, NULL, x->vek_len, x->at, &c,
                                        NULL),
               WARD_ERR_INVALID_ARG, NULL);
    expect_err(ward_snp_verifier_verify(v, x->report, x->report_len, x->vek, 0, x->at, &c, NULL),
               WARD_ERR_INVALID_ARG, "empty");
    expect_err(ward_snp_verifier_verify(v, x->report, x->report_len, x->vek, x->vek_len, x->at,
                                        NULL, NULL),
               WARD_ERR_INVALID_ARG, NULL);
    expect_err(ward_snp_verify(x->report, x->report_len, x->vek, x->vek_len, x->chain,
                               x->chain_len, x->at, NULL),
               WARD_ERR_INVALID_ARG, NULL);
    expect_err(ward_snp_verify(x->report, x->report_len, x->vek, x->vek_len, NULL, 0, x->at, &c),
               WARD_ERR_INVALID_ARG, NULL);
    ward_snp_verifier_free(v);
    ward_snp_verifier_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_vectors),
        cmocka_unit_test(test_verify_vectors),
        cmocka_unit_test(test_policy_facts),
        cmocka_unit_test(test_report_data_bindings),
        cmocka_unit_test(test_azure_hcl),
        cmocka_unit_test(test_bitflips_signed_region),
        cmocka_unit_test(test_signature_flips),
        cmocka_unit_test(test_wrong_root),
        cmocka_unit_test(test_chain_pem_refusals),
        cmocka_unit_test(test_times),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_other_chip),
        cmocka_unit_test(test_negative_vceks),
        cmocka_unit_test(test_parse_refusals),
        cmocka_unit_test(test_tcb_and_products),
        cmocka_unit_test(test_der_readers),
        cmocka_unit_test(test_binding),
        cmocka_unit_test(test_min_tcb),
        cmocka_unit_test(test_cache_eviction),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_null_args),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
