/* EAR JWTs: every vector of ../shared/vectors/ear with its documented outcome (Veraison and
 * Trustee tokens accepted with their key, the header-jwk rule, alg none / HS256 / leading dot /
 * empty claims / trailing part refused with their reasons); sign -> verify round trips for every
 * TEE kind; tampered header, payload and signature; wrong key; exp, nbf and iat; every mandatory
 * claim missing in turn; Ward's claims extension malformed; the JWK parser and exporter. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ward/claims.h"
#include "ward/crypto.h"
#include "ward/ear.h"
#include "ward/encoding.h"
#include "ward/err.h"
#include "ward/json.h"
#include "ward/policy.h"

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

#define VERAISON_IAT 1666091373
#define TRUSTEE_IAT 1752059139
#define TRUSTEE_EXP 1752059439

/* A vector file without its final line break. */
static char *load_jwt(const char *name, size_t *len)
{
    char rel[128];
    snprintf(rel, sizeof rel, "ear/%s", name);
    char *s = (char *)tu_read_file(tu_vector_path(rel), len);
    while (*len > 0 && (s[*len - 1] == '\n' || s[*len - 1] == '\r'))
        s[--*len] = '\0';
    return s;
}

static ward_pkey *veraison_key(void)
{
    size_t len;
    char *jwk = (char *)tu_read_file(tu_vector_path("ear/verifier_pub.jwk.json"), &len);
    ward_pkey *k = NULL;
    CHECK_OK(ward_jwk_parse(jwk, len, &k));
    free(jwk);
    return k;
}

/* The jwk of a token's JOSE header, as JSON text (malloc'd). */
static char *header_jwk(const char *jwt)
{
    const char *dot = strchr(jwt, '.');
    assert_non_null(dot);
    uint8_t *raw = NULL;
    size_t raw_len = 0;
    CHECK_OK(ward_base64url_decode(jwt, (size_t)(dot - jwt), &raw, &raw_len));
    json_t *h = NULL;
    CHECK_OK(ward_json_parse((const char *)raw, raw_len, &h));
    free(raw);
    json_t *jwk = json_object_get(h, "jwk");
    assert_non_null(jwk);
    char *s = json_dumps(jwk, JSON_COMPACT);
    json_decref(h);
    return s;
}

/* ---- vectors -------------------------------------------------------------------------------- */

static void test_vector_veraison_extns(void **state)
{
    (void)state;
    size_t len;
    char *jwt = load_jwt("ear_ok_veraison_extns.jwt", &len);
    ward_pkey *k = veraison_key();
    ward_ear_result r;
    CHECK_OK(ward_ear_verify(jwt, len, k, VERAISON_IAT, &r));
    assert_string_equal(r.profile, "tag:github.com,2023:veraison/ear");
    assert_int_equal(r.iat, VERAISON_IAT);
    assert_string_equal(r.developer, "Acme Inc.");
    assert_string_equal(r.build, "rrtrap-v1.0.0");
    assert_int_equal(r.n_submods, 1);
    assert_string_equal(r.submods[0].name, "test");
    assert_int_equal(r.submods[0].status, WARD_EAR_AFFIRMING);
    assert_int_equal(r.status, WARD_EAR_AFFIRMING);
    assert_string_equal(r.submods[0].policy_id, "policy://test/01234");
    assert_false(r.submods[0].has_tv);
    assert_false(r.submods[0].has_claims);
    assert_false(r.header_jwk);
    /* The Veraison extensions stay reachable through the payload. */
    json_t *ka = json_object_get(
        json_object_get(json_object_get(json_object_get(r.payload, "submods"), "test"),
                        "ear.veraison.key-attestation"),
        "akpub");
    assert_string_equal(json_string_value(ka), "YWtwdWIK");
    ward_ear_result_free(&r);
    /* Also valid today: no exp. And through the JWK entry point. */
    size_t jl;
    char *jwk = (char *)tu_read_file(tu_vector_path("ear/verifier_pub.jwk.json"), &jl);
    CHECK_OK(ward_ear_verify_jwk(jwt, len, jwk, jl, 1900000000, &r));
    ward_ear_result_free(&r);
    free(jwk);
    ward_pkey_free(k);
    free(jwt);
}

static void check_full_tv(const ward_ear_result *r)
{
    assert_int_equal(r->n_submods, 1);
    const ward_ear_submod *s = &r->submods[0];
    assert_true(s->has_tv);
    static const int8_t want[WARD_TV_COUNT] = {2, 2, 3, 2, 2, 2, 2, 2};
    assert_memory_equal(s->tv.v, want, sizeof want);
    assert_int_equal(ward_tv_status(&s->tv), WARD_EAR_AFFIRMING);
    assert_string_equal(s->policy_id, "https://veraison.example/policy/1/60a0068d");
    assert_string_equal(json_string_value(json_object_get(r->payload, "ear.raw-evidence")),
                        "3q2-7w");
}

static void test_vector_trustvector(void **state)
{
    (void)state;
    size_t len;
    char *jwt = load_jwt("ear_ok_trustvector.jwt", &len);
    ward_pkey *k = veraison_key();
    ward_ear_result r;
    CHECK_OK(ward_ear_verify(jwt, len, k, VERAISON_IAT, &r));
    check_full_tv(&r);
    assert_false(r.header_jwk);
    ward_ear_result_free(&r);
    ward_pkey_free(k);
    free(jwt);
}

static void test_vector_trustvector_jwk_in_header(void **state)
{
    (void)state;
    size_t len;
    char *jwt = load_jwt("ear_ok_trustvector_jwk_in_header.jwt", &len);
    ward_pkey *k = veraison_key();
    ward_ear_result r;
    CHECK_OK(ward_ear_verify(jwt, len, k, VERAISON_IAT, &r));
    check_full_tv(&r);
    assert_true(r.header_jwk);
    ward_ear_result_free(&r);
    /* The header key alone is not trusted: with any other key the token is refused. */
    ward_pkey *other = NULL;
    CHECK_OK(ward_pkey_generate(WARD_KEY_EC_P256, &other));
    expect_err(ward_ear_verify(jwt, len, other, VERAISON_IAT, &r), WARD_ERR_VERIFY,
               "never trusted on its own");
    ward_pkey_free(other);
    ward_pkey_free(k);
    free(jwt);
}

static void test_vector_trustee(void **state)
{
    (void)state;
    size_t len;
    char *jwt = load_jwt("ear_ok_trustee_cca_realm_jwk_in_header.jwt", &len);
    /* The relying party knows Trustee's key (here: the one its header carries). */
    char *jwk = header_jwk(jwt);
    ward_ear_result r;
    CHECK_OK(ward_ear_verify_jwk(jwt, len, jwk, strlen(jwk), TRUSTEE_IAT, &r));
    assert_string_equal(r.profile, "tag:github.com,2024:confidential-containers/Trustee");
    assert_int_equal(r.iat, TRUSTEE_IAT);
    assert_true(r.has_exp);
    assert_int_equal(r.exp, TRUSTEE_EXP);
    assert_true(r.header_jwk);
    assert_int_equal(r.n_submods, 1);
    assert_string_equal(r.submods[0].name, "cpu0");
    assert_int_equal(r.submods[0].status, WARD_EAR_AFFIRMING);
    assert_true(r.submods[0].has_tv);
    assert_int_equal(r.submods[0].tv.v[WARD_TV_CONFIGURATION], 3);
    assert_int_equal(r.submods[0].tv.v[WARD_TV_EXECUTABLES], 3);
    assert_int_equal(r.submods[0].tv.v[WARD_TV_HARDWARE], 2);
    assert_int_equal(r.submods[0].tv.v[WARD_TV_INSTANCE_IDENTITY], 0);
    assert_string_equal(r.submods[0].policy_id, "default");
    json_t *ae = json_object_get(
        json_object_get(json_object_get(r.payload, "submods"), "cpu0"),
        "ear.veraison.annotated-evidence");
    assert_non_null(json_object_get(ae, "report_data"));
    ward_ear_result_free(&r);
    /* Expired at exp (and after); valid one second before. */
    CHECK_OK(ward_ear_verify_jwk(jwt, len, jwk, strlen(jwk), TRUSTEE_EXP - 1, &r));
    ward_ear_result_free(&r);
    expect_err(ward_ear_verify_jwk(jwt, len, jwk, strlen(jwk), TRUSTEE_EXP, &r), WARD_ERR_VERIFY, "expired");
    /* Issued in the future relative to the verification time. */
    expect_err(ward_ear_verify_jwk(jwt, len, jwk, strlen(jwk), TRUSTEE_IAT - 3600, &r), WARD_ERR_VERIFY,
               "future");
    /* With Veraison's key (the wrong one), the header key does not rescue it. */
    ward_pkey *k = veraison_key();
    expect_err(ward_ear_verify(jwt, len, k, TRUSTEE_IAT, &r), WARD_ERR_VERIFY,
               "header's jwk is not the trusted");
    ward_pkey_free(k);
    free(jwk);
    free(jwt);
}

static void test_vector_bad(void **state)
{
    (void)state;
    static const struct {
        const char *file;
        ward_err err;
        const char *why;
    } cases[] = {
        {"ear_bad_alg_none.jwt", WARD_ERR_UNSUPPORTED, "alg \"none\""},
        {"ear_bad_hs256_alg.jwt", WARD_ERR_UNSUPPORTED, "HMAC"},
        {"ear_bad_format_leading_dot.jwt", WARD_ERR_FORMAT, "starts with '.'"},
        {"ear_bad_empty_claims.jwt", WARD_ERR_FORMAT, "empty claims-set"},
        {"ear_bad_trailing_rubbish.jwt", WARD_ERR_FORMAT, "trailing data"},
    };
    ward_pkey *k = veraison_key();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t len;
        char *jwt = load_jwt(cases[i].file, &len);
        ward_ear_result r;
        ward_err e = ward_ear_verify(jwt, len, k, VERAISON_IAT, &r);
        if (e != cases[i].err || strstr(ward_errmsg(), cases[i].why) == NULL)
            fail_msg("%s: got %s \"%s\"", cases[i].file, ward_err_name(e), ward_errmsg());
        assert_null(r.payload);
        free(jwt);
    }
    /* The empty-claims token really is validly signed: the refusal is about the claims. */
    size_t len;
    char *jwt = load_jwt("ear_bad_empty_claims.jwt", &len);
    const char *dot2 = strrchr(jwt, '.');
    uint8_t *sig = NULL;
    size_t sig_len = 0;
    CHECK_OK(ward_base64url_decode(dot2 + 1, strlen(dot2 + 1), &sig, &sig_len));
    CHECK_OK(ward_verify(k, WARD_HASH_SHA256, WARD_SIG_RAW, jwt, (size_t)(dot2 - jwt), sig,
                         sig_len));
    free(sig);
    free(jwt);
    ward_pkey_free(k);
}

/* ---- helpers for made tokens ---------------------------------------------------------------- */

static char *b64(const char *s)
{
    char *out = NULL;
    CHECK_OK(ward_base64url_encode((const uint8_t *)s, strlen(s), &out, NULL));
    return out;
}

/* Signs header.payload (JSON texts) with key as ES256: a token the library did not make. */
static char *make_jws(const ward_pkey *key, const char *header, const char *payload)
{
    char *h = b64(header), *p = b64(payload);
    size_t n = strlen(h) + strlen(p) + 2 + 100;
    char *buf = malloc(n);
    assert_non_null(buf);
    snprintf(buf, n, "%s.%s", h, p);
    uint8_t *sig = NULL;
    size_t sig_len = 0;
    CHECK_OK(ward_sign(key, WARD_HASH_SHA256, WARD_SIG_RAW, buf, strlen(buf), &sig, &sig_len));
    char *s = NULL;
    CHECK_OK(ward_base64url_encode(sig, sig_len, &s, NULL));
    strcat(buf, ".");
    strcat(buf, s);
    free(s);
    free(sig);
    free(h);
    free(p);
    return buf;
}

#define HDR "{\"alg\":\"ES256\",\"typ\":\"JWT\"}"
#define VID "\"ear.verifier-id\":{\"developer\":\"d\",\"build\":\"b\"}"
#define PROF "\"eat_profile\":\"tag:github.com,2023:veraison/ear\""
#define SUBS "\"submods\":{\"s\":{\"ear.status\":\"affirming\"}}"

static void expect_payload(const ward_pkey *k, const char *hdr, const char *payload,
                           ward_err want, const char *why)
{
    char *jwt = make_jws(k, hdr, payload);
    ward_ear_result r;
    ward_err e = ward_ear_verify(jwt, strlen(jwt), k, 1000, &r);
    if (e != want || (why != NULL && strstr(ward_errmsg(), why) == NULL))
        fail_msg("payload %s: got %s \"%s\", want %s \"%s\"", payload, ward_err_name(e),
                 e == WARD_OK ? "" : ward_errmsg(), ward_err_name(want), why ? why : "");
    if (e == WARD_OK)
        ward_ear_result_free(&r);
    free(jwt);
}

static void test_mandatory_claims(void **state)
{
    (void)state;
    ward_pkey *k = NULL;
    CHECK_OK(ward_pkey_generate(WARD_KEY_EC_P256, &k));
    /* The minimal valid set. */
    expect_payload(k, HDR, "{" PROF ",\"iat\":1," VID "," SUBS "}", WARD_OK, NULL);
    expect_payload(k, HDR, "{\"iat\":1," VID "," SUBS "}", WARD_ERR_FORMAT, "eat_profile");
    expect_payload(k, HDR, "{" PROF "," VID "," SUBS "}", WARD_ERR_FORMAT, "\"iat\"");
    expect_payload(k, HDR, "{" PROF ",\"iat\":1," SUBS "}", WARD_ERR_FORMAT, "verifier-id");
    expect_payload(k, HDR, "{" PROF ",\"iat\":1," VID "}", WARD_ERR_FORMAT, "submods");
    expect_payload(k, HDR, "{" PROF ",\"iat\":1," VID ",\"submods\":{}}", WARD_ERR_FORMAT,
                   "non-empty");
    expect_payload(k, HDR, "{" PROF ",\"iat\":1," VID ",\"submods\":{\"s\":{}}}",
                   WARD_ERR_FORMAT, "ear.status");
    expect_payload(k, HDR,
                   "{" PROF ",\"iat\":1," VID ",\"submods\":{\"s\":{\"ear.status\":\"ok\"}}}",
                   WARD_ERR_FORMAT, "ear.status must be");
    expect_payload(k, HDR, "{" PROF ",\"iat\":1.5," VID "," SUBS "}", WARD_ERR_FORMAT,
                   "floating-point");
    expect_payload(k, HDR, "{" PROF ",\"iat\":-1," VID "," SUBS "}", WARD_ERR_FORMAT,
                   "non-negative");
    expect_payload(k, HDR, "{" PROF ",\"iat\":\"1\"," VID "," SUBS "}", WARD_ERR_FORMAT,
                   "integer");
    expect_payload(k, HDR, "{\"eat_profile\":\"\",\"iat\":1," VID "," SUBS "}", WARD_ERR_FORMAT,
                   "eat_profile");
    expect_payload(k, HDR,
                   "{" PROF ",\"iat\":1,\"ear.verifier-id\":{\"developer\":\"d\"}," SUBS "}",
                   WARD_ERR_FORMAT, "build");
    expect_payload(k, HDR, "{" PROF ",\"iat\":1,\"ear.verifier-id\":\"x\"," SUBS "}",
                   WARD_ERR_FORMAT, "verifier-id");
    expect_payload(k, HDR, "[1]", WARD_ERR_FORMAT, "not a JSON object");
    expect_payload(k, HDR, "{" PROF ",\"iat\":1," VID "," SUBS ",\"iat\":2}", WARD_ERR_FORMAT,
                   "not valid JSON");
    /* Trustworthiness vectors. */
    expect_payload(k, HDR,
                   "{" PROF ",\"iat\":1," VID ",\"submods\":{\"s\":{\"ear.status\":\"warning\","
                   "\"ear.trustworthiness-vector\":{\"magic\":2}}}}",
                   WARD_ERR_FORMAT, "unknown trustworthiness claim");
    expect_payload(k, HDR,
                   "{" PROF ",\"iat\":1," VID ",\"submods\":{\"s\":{\"ear.status\":\"warning\","
                   "\"ear.trustworthiness-vector\":{\"hardware\":128}}}}",
                   WARD_ERR_FORMAT, "-128..127");
    expect_payload(k, HDR,
                   "{" PROF ",\"iat\":1," VID ",\"submods\":{\"s\":{\"ear.status\":\"warning\","
                   "\"ear.trustworthiness-vector\":{\"hardware\":-128}}}}",
                   WARD_OK, NULL);
    /* Time claims. */
    expect_payload(k, HDR, "{" PROF ",\"iat\":1,\"exp\":1000," VID "," SUBS "}", WARD_ERR_VERIFY,
                   "expired");
    expect_payload(k, HDR, "{" PROF ",\"iat\":1,\"exp\":1001," VID "," SUBS "}", WARD_OK, NULL);
    expect_payload(k, HDR, "{" PROF ",\"iat\":1,\"nbf\":1001," VID "," SUBS "}", WARD_ERR_VERIFY,
                   "not yet valid");
    expect_payload(k, HDR, "{" PROF ",\"iat\":1061," VID "," SUBS "}", WARD_ERR_VERIFY,
                   "future");
    expect_payload(k, HDR, "{" PROF ",\"iat\":1060," VID "," SUBS "}", WARD_OK, NULL);
    /* Too many submodules. */
    char big[4096];
    size_t o = (size_t)snprintf(big, sizeof big, "{" PROF ",\"iat\":1," VID ",\"submods\":{");
    for (int i = 0; i < WARD_EAR_MAX_SUBMODS + 1; i++)
        o += (size_t)snprintf(big + o, sizeof big - o, "%s\"m%d\":{\"ear.status\":\"none\"}",
                              i ? "," : "", i);
    snprintf(big + o, sizeof big - o, "}}");
    expect_payload(k, HDR, big, WARD_ERR_FORMAT, "more than");
    /* Overall status is the worst submodule's. */
    char *jwt = make_jws(k, HDR,
                         "{" PROF ",\"iat\":1," VID ",\"submods\":{\"a\":{\"ear.status\":"
                         "\"affirming\"},\"b\":{\"ear.status\":\"contraindicated\"}}}");
    ward_ear_result r;
    CHECK_OK(ward_ear_verify(jwt, strlen(jwt), k, 1000, &r));
    assert_int_equal(r.status, WARD_EAR_CONTRAINDICATED);
    assert_int_equal(r.n_submods, 2);
    ward_ear_result_free(&r);
    free(jwt);
    ward_pkey_free(k);
}

static void test_headers(void **state)
{
    (void)state;
    ward_pkey *k = NULL;
    CHECK_OK(ward_pkey_generate(WARD_KEY_EC_P256, &k));
    const char *ok = "{" PROF ",\"iat\":1," VID "," SUBS "}";
    expect_payload(k, "{\"alg\":\"ES256\"}", ok, WARD_OK, NULL);
    expect_payload(k, "{\"typ\":\"JWT\"}", ok, WARD_ERR_FORMAT, "no \"alg\"");
    expect_payload(k, "{\"alg\":\"ES384\"}", ok, WARD_ERR_UNSUPPORTED, "does not match");
    expect_payload(k, "{\"alg\":\"RS256\"}", ok, WARD_ERR_UNSUPPORTED, "does not match");
    expect_payload(k, "{\"alg\":\"HS512\"}", ok, WARD_ERR_UNSUPPORTED, "HMAC");
    expect_payload(k, "{\"alg\":\"none\"}", ok, WARD_ERR_UNSUPPORTED, "none");
    expect_payload(k, "{\"alg\":\"ES256\",\"typ\":\"JOSE\"}", ok, WARD_ERR_FORMAT, "typ");
    expect_payload(k, "{\"alg\":\"ES256\",\"crit\":[\"b64\"],\"b64\":false}", ok,
                   WARD_ERR_UNSUPPORTED, "crit");
    expect_payload(k, "{\"alg\":\"ES256\",\"kid\":7}", ok, WARD_ERR_FORMAT, "kid");
    expect_payload(k, "[\"ES256\"]", ok, WARD_ERR_FORMAT, "header is not a JSON object");
    /* The header jwk equal to the key: accepted; another key: refused; garbage: refused. */
    char *jwk = NULL;
    CHECK_OK(ward_jwk_export(k, &jwk, NULL));
    char hdr[512];
    snprintf(hdr, sizeof hdr, "{\"alg\":\"ES256\",\"jwk\":%s}", jwk);
    expect_payload(k, hdr, ok, WARD_OK, NULL);
    ward_pkey *k2 = NULL;
    CHECK_OK(ward_pkey_generate(WARD_KEY_EC_P256, &k2));
    char *jwk2 = NULL;
    CHECK_OK(ward_jwk_export(k2, &jwk2, NULL));
    snprintf(hdr, sizeof hdr, "{\"alg\":\"ES256\",\"jwk\":%s}", jwk2);
    expect_payload(k, hdr, ok, WARD_ERR_VERIFY, "never trusted on its own");
    expect_payload(k, "{\"alg\":\"ES256\",\"jwk\":{\"kty\":\"oct\",\"k\":\"AAAA\"}}", ok,
                   WARD_ERR_FORMAT, "jwk");
    free(jwk);
    free(jwk2);
    ward_pkey_free(k2);
    ward_pkey_free(k);
}

/* ---- sign -> verify ------------------------------------------------------------------------- */

static void fill_claims(ward_claims *c, ward_tee_kind kind)
{
    memset(c, 0, sizeof *c);
    c->kind = kind;
    size_t w = (kind == WARD_TEE_KIND_TDX || kind == WARD_TEE_KIND_SNP) ? 48 : 32;
    for (size_t i = 0; i < w; i++) {
        c->measurement[i] = (uint8_t)(i + 1);
        c->signer[i] = (uint8_t)(0xa0 + i);
    }
    c->measurement_len = w;
    c->signer_len = w;
    c->product_id = 7;
    c->svn = 3;
    c->tcb_status = (kind == WARD_TEE_KIND_WARD_SW || kind == WARD_TEE_KIND_WARD_SIM)
                        ? WARD_TCB_NOT_APPLICABLE
                        : WARD_TCB_SW_HARDENING_NEEDED;
    if (kind == WARD_TEE_KIND_SGX) {
        snprintf(c->advisories[0], WARD_CLAIMS_ADVISORY_LEN, "INTEL-SA-00615");
        snprintf(c->advisories[1], WARD_CLAIMS_ADVISORY_LEN, "INTEL-SA-00657");
        c->n_advisories = 2;
    }
    for (size_t i = 0; i < 64; i++)
        c->report_data[i] = (uint8_t)(0x40 + i);
    if (kind == WARD_TEE_KIND_TDX) {
        for (size_t r = 0; r < 4; r++)
            memset(c->tdx_rtmr[r], (int)(0x11 * (r + 1)), 48);
        memset(c->tdx_mrconfigid, 0x5c, 48);
    }
    if (kind == WARD_TEE_KIND_SNP) {
        memset(c->snp_host_data, 0x77, 32);
        c->snp_policy = 0x30000ull | (1ull << 63);
        memset(c->snp_chip_id, 0xc1, 64);
        c->snp_signed_by_vlek = 1;
        c->snp_vmpl = 0;
    }
    c->quote_version = kind == WARD_TEE_KIND_SNP ? 3 : 4;
}

static void test_round_trip(void **state)
{
    (void)state;
    ward_pkey *k = NULL, *pub = NULL;
    CHECK_OK(ward_pkey_generate(WARD_KEY_EC_P256, &k));
    CHECK_OK(ward_pkey_public_only(k, &pub));
    static const ward_tee_kind kinds[] = {WARD_TEE_KIND_WARD_SW, WARD_TEE_KIND_WARD_SIM,
                                          WARD_TEE_KIND_SGX, WARD_TEE_KIND_TDX,
                                          WARD_TEE_KIND_SNP};
    static const uint8_t nonce[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        ward_claims c;
        fill_claims(&c, kinds[i]);
        memcpy(c.report_data, nonce, sizeof nonce);
        ward_appraisal a;
        CHECK_OK(ward_policy_appraise(NULL, &c, nonce, sizeof nonce, 1700000000, 1700000010, &a));
        char *jwt = NULL;
        size_t jwt_len = 0;
        CHECK_OK(ward_ear_sign(&a, &c, k, 1700000010, NULL, &jwt, &jwt_len));
        assert_int_equal(strlen(jwt), jwt_len);
        /* The header is exactly the fixed one. */
        char *h = b64(HDR);
        assert_int_equal(strncmp(jwt, h, strlen(h)), 0);
        assert_int_equal(jwt[strlen(h)], '.');
        free(h);
        ward_ear_result r;
        CHECK_OK(ward_ear_verify(jwt, jwt_len, pub, 1700000010, &r));
        assert_string_equal(r.profile, WARD_EAR_PROFILE);
        assert_string_equal(r.developer, WARD_EAR_DEVELOPER);
        assert_int_equal(r.iat, 1700000010);
        assert_false(r.has_exp);
        assert_int_equal(r.n_submods, 1);
        const ward_ear_submod *s = &r.submods[0];
        assert_string_equal(s->name, WARD_EAR_SUBMOD);
        assert_int_equal(s->status, a.status);
        assert_int_equal(r.status, a.status);
        assert_true(s->has_tv);
        assert_memory_equal(s->tv.v, a.tv.v, sizeof a.tv.v);
        assert_string_equal(s->policy_id, WARD_POLICY_DEFAULT_ID);
        assert_true(s->has_claims);
        assert_memory_equal(&s->claims, &c, sizeof c);
        assert_int_equal(s->nonce_len, sizeof nonce);
        assert_memory_equal(s->nonce, nonce, sizeof nonce);
        /* eat_nonce is the base64url nonce. */
        const char *en = json_string_value(json_object_get(r.payload, "eat_nonce"));
        assert_string_equal(en, "AQIDBAUGBwgJCgsMDQ4PEA");
        /* The software TEE never affirming; SGX here has SWHardeningNeeded: warning. */
        if (kinds[i] == WARD_TEE_KIND_WARD_SW)
            assert_int_equal(s->status, WARD_EAR_WARNING);
        if (kinds[i] == WARD_TEE_KIND_WARD_SIM)
            assert_int_equal(s->status, WARD_EAR_CONTRAINDICATED);
        ward_ear_result_free(&r);
        free(jwt);
    }
    ward_pkey_free(pub);
    ward_pkey_free(k);
}

static void test_sign_options(void **state)
{
    (void)state;
    ward_pkey *k = NULL;
    CHECK_OK(ward_pkey_generate(WARD_KEY_EC_P256, &k));
    ward_claims c;
    fill_claims(&c, WARD_TEE_KIND_SGX);
    c.tcb_status = WARD_TCB_UP_TO_DATE;
    ward_appraisal a;
    CHECK_OK(ward_policy_appraise(NULL, &c, NULL, 0, 0, 100, &a));
    assert_int_equal(a.status, WARD_EAR_AFFIRMING);
    ward_ear_sign_opts o = {.kid = "verifier-1", .submod = "cpu0", .build = "test 1",
                            .exp = 400};
    char *jwt = NULL;
    CHECK_OK(ward_ear_sign_ex(&a, &c, k, 100, "tag:example.com,2025:ward", &o, &jwt, NULL));
    ward_ear_result r;
    CHECK_OK(ward_ear_verify(jwt, strlen(jwt), k, 399, &r));
    assert_string_equal(r.kid, "verifier-1");
    assert_string_equal(r.submods[0].name, "cpu0");
    assert_string_equal(r.build, "test 1");
    assert_string_equal(r.profile, "tag:example.com,2025:ward");
    assert_true(r.has_exp);
    assert_int_equal(r.exp, 400);
    assert_null(json_object_get(r.payload, "eat_nonce"));
    assert_int_equal(r.submods[0].nonce_len, 0);
    ward_ear_result_free(&r);
    expect_err(ward_ear_verify(jwt, strlen(jwt), k, 400, &r), WARD_ERR_VERIFY, "expired");
    free(jwt);
    /* Bad arguments. */
    ward_pkey *pub = NULL, *p384 = NULL;
    CHECK_OK(ward_pkey_public_only(k, &pub));
    CHECK_OK(ward_pkey_generate(WARD_KEY_EC_P384, &p384));
    expect_err(ward_ear_sign(&a, &c, pub, 1, NULL, &jwt, NULL), WARD_ERR_INVALID_ARG, "private");
    expect_err(ward_ear_sign(&a, &c, p384, 1, NULL, &jwt, NULL), WARD_ERR_INVALID_ARG, "P-256");
    ward_ear_sign_opts bad = {.exp = 1};
    expect_err(ward_ear_sign_ex(&a, &c, k, 1, NULL, &bad, &jwt, NULL), WARD_ERR_INVALID_ARG,
               "exp");
    ward_ear_sign_opts badkid = {.kid = "a\nb"};
    expect_err(ward_ear_sign_ex(&a, &c, k, 1, NULL, &badkid, &jwt, NULL), WARD_ERR_INVALID_ARG,
               "kid");
    expect_err(ward_ear_sign(&a, &c, k, 1, "", &jwt, NULL), WARD_ERR_INVALID_ARG, "profile");
    ward_claims cb = c;
    cb.measurement_len = 49;
    expect_err(ward_ear_sign(&a, &cb, k, 1, NULL, &jwt, NULL), WARD_ERR_INVALID_ARG, "lengths");
    assert_null(jwt);
    ward_pkey_free(pub);
    ward_pkey_free(p384);
    ward_pkey_free(k);
}

/* Rebuilds a token with one part replaced. */
static char *replace_part(const char *jwt, int part, const char *with)
{
    const char *d1 = strchr(jwt, '.'), *d2 = strrchr(jwt, '.');
    size_t n = strlen(jwt) + strlen(with) + 4;
    char *out = malloc(n);
    assert_non_null(out);
    if (part == 0)
        snprintf(out, n, "%s%s", with, d1);
    else if (part == 1)
        snprintf(out, n, "%.*s.%s%s", (int)(d1 - jwt), jwt, with, d2);
    else
        snprintf(out, n, "%.*s.%s", (int)(d2 - jwt), jwt, with);
    return out;
}

static void test_tampering(void **state)
{
    (void)state;
    ward_pkey *k = NULL, *other = NULL;
    CHECK_OK(ward_pkey_generate(WARD_KEY_EC_P256, &k));
    CHECK_OK(ward_pkey_generate(WARD_KEY_EC_P256, &other));
    ward_claims c;
    fill_claims(&c, WARD_TEE_KIND_WARD_SW);
    ward_appraisal a;
    CHECK_OK(ward_policy_appraise(NULL, &c, NULL, 0, 0, 100, &a));
    char *jwt = NULL;
    size_t len = 0;
    CHECK_OK(ward_ear_sign(&a, &c, k, 100, NULL, &jwt, &len));
    ward_ear_result r;
    CHECK_OK(ward_ear_verify(jwt, len, k, 100, &r));
    ward_ear_result_free(&r);
    /* Wrong key. */
    expect_err(ward_ear_verify(jwt, len, other, 100, &r), WARD_ERR_VERIFY, "does not verify");
    /* A different (well-formed) header. */
    char *h = b64("{\"alg\":\"ES256\",\"typ\":\"JWT\",\"kid\":\"x\"}");
    char *t = replace_part(jwt, 0, h);
    expect_err(ward_ear_verify(t, strlen(t), k, 100, &r), WARD_ERR_VERIFY, "does not verify");
    free(t);
    free(h);
    /* A payload that upgrades the status to affirming. */
    const char *d1 = strchr(jwt, '.'), *d2 = strrchr(jwt, '.');
    uint8_t *raw = NULL;
    size_t raw_len = 0;
    CHECK_OK(ward_base64url_decode(d1 + 1, (size_t)(d2 - d1 - 1), &raw, &raw_len));
    char *ptxt = calloc(1, raw_len + 16);
    memcpy(ptxt, raw, raw_len);
    free(raw);
    char *w = strstr(ptxt, "\"warning\"");
    assert_non_null(w);
    memmove(w + 11, w + 9, strlen(w + 9) + 1);
    memcpy(w, "\"affirming\"", 11);
    char *p = b64(ptxt);
    t = replace_part(jwt, 1, p);
    expect_err(ward_ear_verify(t, strlen(t), k, 100, &r), WARD_ERR_VERIFY, "does not verify");
    free(t);
    free(p);
    free(ptxt);
    /* Every single-character change anywhere in the token is refused. */
    char *m = strdup(jwt);
    for (size_t i = 0; i < len; i++) {
        char orig = m[i];
        m[i] = orig == 'A' ? 'B' : 'A';
        if (orig == '.')
            m[i] = 'A';
        ward_err e = ward_ear_verify(m, len, k, 100, &r);
        if (e == WARD_OK)
            fail_msg("change at %zu accepted", i);
        m[i] = orig;
    }
    free(m);
    /* Signature: flipped bits, truncated, padded, too long, empty. */
    const char *sig = strrchr(jwt, '.') + 1;
    char s2[200];
    snprintf(s2, sizeof s2, "%s", sig);
    s2[10] = s2[10] == 'x' ? 'y' : 'x';
    t = replace_part(jwt, 2, s2);
    expect_err(ward_ear_verify(t, strlen(t), k, 100, &r), WARD_ERR_VERIFY, "does not verify");
    free(t);
    snprintf(s2, sizeof s2, "%.84s", sig);
    t = replace_part(jwt, 2, s2);
    expect_err(ward_ear_verify(t, strlen(t), k, 100, &r), WARD_ERR_FORMAT, "63 bytes");
    free(t);
    snprintf(s2, sizeof s2, "%s==", sig);
    t = replace_part(jwt, 2, s2);
    expect_err(ward_ear_verify(t, strlen(t), k, 100, &r), WARD_ERR_FORMAT, "base64url");
    free(t);
    snprintf(s2, sizeof s2, "%sAAAA", sig);
    t = replace_part(jwt, 2, s2);
    expect_err(ward_ear_verify(t, strlen(t), k, 100, &r), WARD_ERR_FORMAT, "67 bytes");
    free(t);
    t = replace_part(jwt, 2, "");
    expect_err(ward_ear_verify(t, strlen(t), k, 100, &r), WARD_ERR_FORMAT, "empty signature");
    free(t);
    /* Structure. */
    expect_err(ward_ear_verify(jwt, len - 87, k, 100, &r), WARD_ERR_FORMAT, "2 part");
    expect_err(ward_ear_verify("", 0, k, 100, &r), WARD_ERR_FORMAT, "empty token");
    expect_err(ward_ear_verify("a..b", 4, k, 100, &r), WARD_ERR_FORMAT, "empty payload");
    expect_err(ward_ear_verify("a.b.c.d.e", 9, k, 100, &r), WARD_ERR_FORMAT, "more than four");
    char *nl = malloc(len + 2);
    memcpy(nl, jwt, len);
    nl[len] = '\n';
    expect_err(ward_ear_verify(nl, len + 1, k, 100, &r), WARD_ERR_FORMAT, "base64url");
    free(nl);
    /* An RSA key is not a verifier key here. */
    uint8_t n[256];
    memset(n, 0xc5, sizeof n);
    static const uint8_t e65537[3] = {1, 0, 1};
    ward_pkey *rsa = NULL;
    CHECK_OK(ward_pkey_from_rsa_public(n, sizeof n, e65537, 3, &rsa));
    expect_err(ward_ear_verify(jwt, len, rsa, 100, &r), WARD_ERR_UNSUPPORTED, "P-256");
    ward_pkey_free(rsa);
    free(jwt);
    ward_pkey_free(other);
    ward_pkey_free(k);
}

static void test_claims_extension_malformed(void **state)
{
    (void)state;
    ward_pkey *k = NULL;
    CHECK_OK(ward_pkey_generate(WARD_KEY_EC_P256, &k));
    static const char *const bad[] = {
        "{\"tee\":\"sgx\"}",
        "{\"tee\":\"mystery\",\"measurement\":\"\",\"signer\":\"\",\"product_id\":0,\"svn\":0,"
        "\"debug\":false,\"tcb_status\":\"UpToDate\",\"advisories\":[],\"report_data\":\"00\","
        "\"quote_version\":1}",
        "{\"tee\":\"ward-sw\",\"measurement\":\"0g\",\"signer\":\"\",\"product_id\":0,\"svn\":0,"
        "\"debug\":false,\"tcb_status\":\"NotApplicable\",\"advisories\":[],\"report_data\":"
        "\"00\",\"quote_version\":1}",
        "{\"tee\":\"ward-sw\",\"measurement\":\"\",\"signer\":\"\",\"product_id\":70000,"
        "\"svn\":0,\"debug\":false,\"tcb_status\":\"NotApplicable\",\"advisories\":[],"
        "\"report_data\":\"00\",\"quote_version\":1}",
        "{\"tee\":\"ward-sw\",\"extra\":1}",
        "[]",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char payload[1024];
        snprintf(payload, sizeof payload,
                 "{" PROF ",\"iat\":1," VID ",\"submods\":{\"s\":{\"ear.status\":\"warning\","
                 "\"ear.ward.claims\":%s}}}",
                 bad[i]);
        expect_payload(k, HDR, payload, WARD_ERR_FORMAT, "ear");
    }
    ward_pkey_free(k);
}

/* ---- JWK ------------------------------------------------------------------------------------ */

static void expect_jwk(const char *json, ward_err want, const char *why)
{
    ward_pkey *k = NULL;
    ward_err e = ward_jwk_parse(json, strlen(json), &k);
    if (e != want || (want != WARD_OK && why != NULL && strstr(ward_errmsg(), why) == NULL))
        fail_msg("jwk %s: got %s \"%s\"", json, ward_err_name(e),
                 e == WARD_OK ? "" : ward_errmsg());
    ward_pkey_free(k);
}

static void test_jwk(void **state)
{
    (void)state;
    ward_pkey *k = veraison_key();
    assert_int_equal(ward_pkey_type(k), WARD_KEY_EC_P256);
    assert_false(ward_pkey_is_private(k));
    char *js = NULL;
    size_t js_len = 0;
    CHECK_OK(ward_jwk_export(k, &js, &js_len));
    assert_string_equal(js, "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"usWxHK2PmfnHKwXPS54m0kTcGJ9"
                            "0UiglWiGahtagnv8\",\"y\":\"IBOL-C3BttVivg-lSreASjpkttcsz-1rb7btKLv8EX4"
                            "\"}");
    free(js);
    ward_pkey_free(k);
    /* P-384 round trip. */
    ward_pkey *k384 = NULL, *back = NULL;
    CHECK_OK(ward_pkey_generate(WARD_KEY_EC_P384, &k384));
    CHECK_OK(ward_jwk_export(k384, &js, &js_len));
    CHECK_OK(ward_jwk_parse(js, js_len, &back));
    assert_int_equal(ward_pkey_type(back), WARD_KEY_EC_P384);
    uint8_t h1[32], h2[32];
    CHECK_OK(ward_pkey_spki_sha256(k384, h1));
    CHECK_OK(ward_pkey_spki_sha256(back, h2));
    assert_memory_equal(h1, h2, 32);
    free(js);
    ward_pkey_free(back);
    ward_pkey_free(k384);

#define X "\"x\":\"usWxHK2PmfnHKwXPS54m0kTcGJ90UiglWiGahtagnv8\""
#define Y "\"y\":\"IBOL-C3BttVivg-lSreASjpkttcsz-1rb7btKLv8EX4\""
    expect_jwk("{\"kty\":\"EC\",\"crv\":\"P-256\"," X "," Y ",\"alg\":\"ES256\",\"use\":\"sig\","
               "\"kid\":\"k\",\"key_ops\":[\"verify\"]}",
               WARD_OK, NULL);
    expect_jwk("{\"kty\":\"EC\",\"crv\":\"P-256\"," X "," Y ",\"d\":\"AAAA\"}", WARD_ERR_FORMAT,
               "private");
    expect_jwk("{\"kty\":\"oct\",\"k\":\"AAAA\"}", WARD_ERR_FORMAT, "symmetric");
    expect_jwk("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"AAAA\"}", WARD_ERR_UNSUPPORTED,
               "key type");
    expect_jwk("{\"kty\":\"EC\",\"crv\":\"P-521\"," X "," Y "}", WARD_ERR_UNSUPPORTED, "curve");
    expect_jwk("{\"kty\":\"EC\",\"crv\":\"P-256\"," X "}", WARD_ERR_FORMAT, "\"y\" is required");
    expect_jwk("{\"kty\":\"EC\",\"crv\":\"P-256\"," X ",\"y\":\"IBOL\"}", WARD_ERR_FORMAT,
               "32 bytes");
    expect_jwk("{\"kty\":\"EC\",\"crv\":\"P-256\"," X
               ",\"y\":\"IBOL-C3BttVivg-lSreASjpkttcsz-1rb7btKLv8EX5\"}",
               WARD_ERR_FORMAT, NULL);
    expect_jwk("{\"kty\":\"EC\",\"crv\":\"P-256\"," X
               ",\"y\":\"IBOL-C3BttVivg-lSreASjpkttcsz-1rb7btKLv8EX4=\"}",
               WARD_ERR_FORMAT, "base64url");
    expect_jwk("{\"kty\":\"EC\",\"crv\":\"P-256\"," X "," Y ",\"alg\":\"ES384\"}",
               WARD_ERR_FORMAT, "alg");
    expect_jwk("{\"kty\":\"EC\",\"crv\":\"P-256\"," X "," Y ",\"use\":\"enc\"}", WARD_ERR_FORMAT,
               "use");
    expect_jwk("{\"kty\":\"EC\",\"crv\":\"P-256\"," X "," Y ",\"x5u\":\"http://x\"}",
               WARD_ERR_FORMAT, "unknown member");
    expect_jwk("{\"kty\":\"EC\",\"crv\":\"P-256\"," X "," Y ",\"n\":\"AQAB\"}", WARD_ERR_FORMAT,
               "RSA members");
    expect_jwk("{\"crv\":\"P-256\"," X "," Y "}", WARD_ERR_FORMAT, "kty");
    expect_jwk("[]", WARD_ERR_FORMAT, "object");
    expect_jwk("{\"kty\":\"EC\",\"kty\":\"EC\"}", WARD_ERR_FORMAT, NULL);
    /* The point must be on the curve: x with y of another point. */
    expect_jwk("{\"kty\":\"EC\",\"crv\":\"P-256\"," X
               ",\"y\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}",
               WARD_ERR_FORMAT, NULL);
#undef X
#undef Y
    /* The Trustee tee-pubkey (RSA, 1024 bits) has the right shape but is too small. */
    json_t *rsa = json_pack("{s:s, s:s, s:s, s:s}", "kty", "RSA", "alg", "RSA-OAEP-256", "e",
                            "AQAB", "n",
                            "yNNu7hnWZVmcVGLj4jmAlq_bXsD9XgSutw1HbTm9pZMy_mI325ba8RGtg6_Txe1V0dU_"
                            "T6z0Fpq4p4BAE_wyZDlBpn1UFL9CZGOk6FmGcV-RXGuL9r4chs4ZujJJ_0VECB3Ed4eA"
                            "8YBcWrVHmmvMV6hx-jYdrxgNXkGhNjGBrsE");
    ward_pkey *rk = NULL;
    expect_err(ward_jwk_from_json(rsa, &rk), WARD_ERR_UNSUPPORTED, "1024 bits");
    json_decref(rsa);
    /* A 2048-bit RSA JWK parses. */
    uint8_t n[256];
    memset(n, 0xc5, sizeof n);
    char *n64 = NULL;
    CHECK_OK(ward_base64url_encode(n, sizeof n, &n64, NULL));
    rsa = json_pack("{s:s, s:s, s:s}", "kty", "RSA", "e", "AQAB", "n", n64);
    CHECK_OK(ward_jwk_from_json(rsa, &rk));
    assert_int_equal(ward_pkey_type(rk), WARD_KEY_RSA);
    ward_pkey_free(rk);
    json_decref(rsa);
    free(n64);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vector_veraison_extns),
        cmocka_unit_test(test_vector_trustvector),
        cmocka_unit_test(test_vector_trustvector_jwk_in_header),
        cmocka_unit_test(test_vector_trustee),
        cmocka_unit_test(test_vector_bad),
        cmocka_unit_test(test_mandatory_claims),
        cmocka_unit_test(test_headers),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_sign_options),
        cmocka_unit_test(test_tampering),
        cmocka_unit_test(test_claims_extension_malformed),
        cmocka_unit_test(test_jwk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
