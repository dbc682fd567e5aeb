/* End-to-end test of the real wardd binary ($WARD_BUILD_DIR/wardd): started on 127.0.0.1 with
 * an ephemeral port and a temporary data directory, spoken to with libcurl over TLS 1.3 (the
 * server's self-signed certificate is pinned by the SPKI hash wardd writes to its port file),
 * stopped with SIGTERM (exit status 0: under the sanitizer build that also means no leak). The
 * daemon is killed and the directory removed on every path. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "testutil.h"
#include "wardd_harness.h"
#include "ward/crypto.h"
#include "ward/ear.h"
#include "ward/encoding.h"
#include "ward/evidence.h"
#include "ward/json.h"
#include "ward/nonce.h"
#include "ward/rot.h"
#include "ward/x509.h"

static tu_wardd W;

static int start_daemon(void **state)
{
    (void)state;
    return tu_wardd_start(&W);
}

static int stop_daemon(void **state)
{
    (void)state;
    tu_wardd_stop(&W);
    return 0;
}

/* ---- HTTP ----------------------------------------------------------------------------------- */

typedef tu_resp resp;

static resp http(const char *method, const char *path, const char *body, size_t len)
{
    return tu_wardd_request(&W, NULL, NULL, method, path, body, len);
}


/* POST /v1/attestation/challenge -> 32-byte nonce (hex in out). */
static void challenge(char out[2 * WARD_NONCE_LEN + 1], uint8_t nonce[WARD_NONCE_LEN])
{
    resp r = http("POST", "/v1/attestation/challenge", NULL, 0);
    assert_int_equal(r.status, 200);
    json_t *j = tu_resp_json(&r);
    const char *n = json_string_value(json_object_get(j, "nonce"));
    assert_non_null(n);
    assert_int_equal(strlen(n), 2 * WARD_NONCE_LEN);
    assert_int_equal(ward_hex_decode_fixed(n, strlen(n), nonce, WARD_NONCE_LEN), WARD_OK);
    json_int_t exp = json_integer_value(json_object_get(j, "expires_at"));
    assert_true(exp > (json_int_t)time(NULL));
    memcpy(out, n, 2 * WARD_NONCE_LEN + 1);
    json_decref(j);
    free(r.body);
}

/* Evidence over nonce, made in-process with the node's own platform key. */
static json_t *make_evidence(const uint8_t nonce[WARD_NONCE_LEN])
{
    ward_rot *rot = NULL;
    assert_int_equal(ward_rot_open(W.data, 0, &rot), WARD_OK);
    uint8_t rd[64], report[WARD_REPORT_LEN], sig[WARD_REPORT_SIG_LEN];
    assert_int_equal(ward_evidence_nonce_report_data(nonce, WARD_NONCE_LEN, rd), WARD_OK);
    assert_int_equal(ward_evidence_node_report(rot, rd, report, sig), WARD_OK);
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(
        ward_evidence_make_with_hw(rot, report, sizeof report, sig, NULL, &text, &len), WARD_OK);
    ward_rot_close(rot);
    json_error_t je;
    json_t *ev = json_loadb(text, len, 0, &je);
    assert_non_null(ev);
    free(text);
    return ev;
}

static resp verify(json_t *evidence, const char *nonce_hex)
{
    json_t *req = json_object();
    json_object_set(req, "evidence", evidence);
    if (nonce_hex != NULL)
        json_object_set_new(req, "nonce", json_string(nonce_hex));
    char *body = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    resp r = http("POST", "/v1/attestation/verify", body, strlen(body));
    free(body);
    return r;
}

/* ---- tests ---------------------------------------------------------------------------------- */

static void test_healthz(void **state)
{
    (void)state;
    resp r = http("GET", "/healthz", NULL, 0);
    assert_int_equal(r.status, 200);
    json_t *j = tu_resp_json(&r);
    assert_string_equal(json_string_value(json_object_get(j, "status")), "ok");
    json_decref(j);
    free(r.body);
}

static void test_errors(void **state)
{
    (void)state;
    resp r = http("GET", "/nope", NULL, 0);
    tu_expect_error(&r, 404, "not_found");
    r = http("GET", "/v1/attestation/verify/", NULL, 0);
    tu_expect_error(&r, 404, "not_found");
    r = http("GET", "/v1/attestation/verify", NULL, 0);
    tu_expect_error(&r, 405, "method_not_allowed");
    r = http("DELETE", "/healthz", NULL, 0);
    tu_expect_error(&r, 405, "method_not_allowed");
    r = http("POST", "/v1/attestation/verify", "{\"evidence\": ", 13);
    tu_expect_error(&r, 400, "bad_json");
    r = http("POST", "/v1/attestation/verify", "[1,2]", 5);
    tu_expect_error(&r, 400, "bad_request");
    r = http("POST", "/v1/attestation/verify", "{\"evidence\":{},\"extra\":1}", 25);
    tu_expect_error(&r, 400, "bad_request");
    r = http("POST", "/v1/attestation/verify", "{\"nonce\":\"00\"}", 14);
    tu_expect_error(&r, 400, "bad_request");
    r = http("POST", "/v1/attestation/verify", "{\"evidence\":{},\"nonce\":\"zz\"}", 28);
    tu_expect_error(&r, 400, "bad_request");
    r = http("POST", "/v1/attestation/verify", "{\"evidence\":{},\"policy\":{\"bogus\":1}}", 36);
    tu_expect_error(&r, 400, "bad_policy");
    r = http("POST", "/v1/attestation/challenge", "not json", 8);
    tu_expect_error(&r, 400, "bad_json");
    /* Invalid UTF-8 inside a JSON string. */
    r = http("POST", "/v1/attestation/verify", "{\"evidence\":\"\xff\"}", 17);
    tu_expect_error(&r, 400, "bad_json");
}

static void test_too_large(void **state)
{
    (void)state;
    /* Above a small route's own limit: our JSON 413. */
    size_t n = 64 * 1024;
    char *big = malloc(n);
    memset(big, ' ', n);
    resp r = http("POST", "/v1/attestation/challenge", big, n);
    tu_expect_error(&r, 413, "too_large");
    free(big);
    /* Above the HTTP layer's limit: 413 (its body is libevent's; only the status is checked). */
    n = (size_t)11 << 20;
    big = malloc(n);
    memset(big, ' ', n);
    r = http("POST", "/v1/attestation/verify", big, n);
    assert_int_equal(r.status, 413);
    free(r.body);
    free(big);
    /* The daemon still serves. */
    test_healthz(state);
}

static void test_attestation(void **state)
{
    (void)state;
    char nhex[2 * WARD_NONCE_LEN + 1];
    uint8_t nonce[WARD_NONCE_LEN];
    challenge(nhex, nonce);
    json_t *ev = make_evidence(nonce);

    resp r = verify(ev, nhex);
    if (r.status != 200)
        fprintf(stderr, "verify: %ld %s\n", r.status, r.body);
    assert_int_equal(r.status, 200);
    json_t *j = tu_resp_json(&r);
    assert_string_equal(json_string_value(json_object_get(j, "status")), "warning");
    assert_true(json_is_array(json_object_get(j, "reasons")));
    assert_true(json_array_size(json_object_get(j, "reasons")) > 0);
    const char *jwt = json_string_value(json_object_get(j, "ear"));
    assert_non_null(jwt);

    resp k = http("GET", "/v1/attestation/verifier-key", NULL, 0);
    assert_int_equal(k.status, 200);
    ward_ear_result er;
    ward_err err = ward_ear_verify_jwk(jwt, strlen(jwt), k.body, k.len, (int64_t)time(NULL), &er);
    if (err != WARD_OK)
        fprintf(stderr, "ward_ear_verify_jwk: %s\n", ward_errmsg());
    assert_int_equal(err, WARD_OK);
    assert_int_equal(er.status, WARD_EAR_WARNING);
    assert_true(er.n_submods >= 1);
    assert_int_equal(er.submods[0].nonce_len, WARD_NONCE_LEN);
    assert_memory_equal(er.submods[0].nonce, nonce, WARD_NONCE_LEN);
    ward_ear_result_free(&er);
    /* The same EAR fails with another key. */
    ward_pkey *other = NULL;
    assert_int_equal(ward_pkey_generate(WARD_KEY_EC_P256, &other), WARD_OK);
    assert_int_not_equal(ward_ear_verify(jwt, strlen(jwt), other, (int64_t)time(NULL), &er),
                         WARD_OK);
    ward_pkey_free(other);
    free(k.body);
    json_decref(j);
    free(r.body);

    /* The same nonce again: refused. */
    r = verify(ev, nhex);
    tu_expect_error(&r, 422, "nonce_refused");
    json_decref(ev);

    /* A nonce this node never issued: refused. */
    uint8_t fake[WARD_NONCE_LEN];
    char fhex[2 * WARD_NONCE_LEN + 1];
    assert_int_equal(ward_random(fake, sizeof fake), WARD_OK);
    for (size_t i = 0; i < sizeof fake; i++)
        snprintf(fhex + 2 * i, 3, "%02x", fake[i]);
    ev = make_evidence(fake);
    r = verify(ev, fhex);
    tu_expect_error(&r, 422, "nonce_refused");
    json_decref(ev);

    /* Tampered evidence (a changed signature byte): refused with the reason. */
    challenge(nhex, nonce);
    ev = make_evidence(nonce);
    const char *sig = json_string_value(json_object_get(ev, "signature"));
    assert_non_null(sig);
    char *bad = strdup(sig);
    bad[10] = bad[10] == 'A' ? 'B' : 'A';
    json_object_set_new(ev, "signature", json_string(bad));
    free(bad);
    r = verify(ev, nhex);
    assert_int_equal(r.status, 422);
    j = tu_resp_json(&r);
    assert_string_equal(json_string_value(json_object_get(j, "error")), "evidence_refused");
    const char *msg = json_string_value(json_object_get(j, "message"));
    assert_non_null(msg);
    assert_non_null(strstr(msg, "evidence refused: "));
    json_decref(j);
    free(r.body);
    json_decref(ev);

    /* Evidence as a string and no nonce: verified (freshness is then the caller's problem). */
    challenge(nhex, nonce);
    ev = make_evidence(nonce);
    char *evs = json_dumps(ev, JSON_COMPACT);
    json_t *s = json_string(evs);
    r = verify(s, NULL);
    assert_int_equal(r.status, 200);
    free(r.body);
    json_decref(s);
    free(evs);
    json_decref(ev);
}

static void write_pem(const char *path, const char *text, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

/* A self-signed client certificate and its key in the temporary directory. */
static void make_client(const char *name, char *cert_path, char *key_path, size_t cap)
{
    ward_pkey *key = NULL;
    assert_int_equal(ward_pkey_generate(WARD_KEY_EC_P256, &key), WARD_OK);
    int64_t now = (int64_t)time(NULL);
    ward_cert_spec spec = {.common_name = name, .not_before = now - 60, .not_after = now + 86400,
                           .path_len = -1, .client_auth = 1};
    ward_cert *cert = NULL;
    assert_int_equal(ward_cert_create(&spec, key, NULL, key, &cert), WARD_OK);
    char *pem = NULL;
    size_t len = 0;
    assert_int_equal(ward_cert_to_pem(cert, &pem, &len), WARD_OK);
    snprintf(cert_path, cap, "%s/%s.crt", W.tmp, name);
    write_pem(cert_path, pem, len);
    free(pem);
    ward_cert_free(cert);
    assert_int_equal(ward_pkey_private_pem(key, &pem, &len), WARD_OK);
    snprintf(key_path, cap, "%s/%s.key", W.tmp, name);
    write_pem(key_path, pem, len);
    ward_wipe(pem, len);
    free(pem);
    ward_pkey_free(key);
}

/* /metrics needs node.monitor: 401 without a certificate, 200 for an enrolled auditor. Every
 * line is a comment (# HELP / # TYPE) or `name{labels} value` with a numeric value. */
static void test_metrics(void **state)
{
    (void)state;
    resp r = http("GET", "/metrics", NULL, 0);
    tu_expect_error(&r, 401, "unauthenticated");
    char crt[4200], key[4200];
    make_client("monitor", crt, key, sizeof crt);
    tu_wardd_enroll(&W, "monitor", crt, "auditor");
    r = tu_wardd_request(&W, crt, key, "GET", "/metrics", NULL, 0);
    assert_int_equal(r.status, 200);
    int saw_req = 0, saw_inf = 0, saw_start = 0, saw_warning = 0, saw_in = 0, saw_out = 0;
    char *save = NULL;
    for (char *line = strtok_r(r.body, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#') {
            assert_true(strncmp(line, "# HELP ", 7) == 0 || strncmp(line, "# TYPE ", 7) == 0);
            continue;
        }
        char *sp = strrchr(line, ' ');
        assert_non_null(sp);
        char *end = NULL;
        double v = strtod(sp + 1, &end);
        assert_true(end != sp + 1 && *end == 0);
        assert_true(v >= 0);
        *sp = 0;
        size_t nl = strcspn(line, "{");
        assert_true(nl > 0);
        for (size_t i = 0; i < nl; i++)
            assert_true(line[i] == '_' || line[i] == ':' || (line[i] >= 'a' && line[i] <= 'z') ||
                        (line[i] >= 'A' && line[i] <= 'Z') || (line[i] >= '0' && line[i] <= '9'));
        if (line[nl] == '{')
            assert_int_equal(line[strlen(line) - 1], '}');
        else
            assert_int_equal(line[nl], 0);
        if (strncmp(line, "wardd_http_requests_total{", 26) == 0)
            saw_req = 1;
        if (strstr(line, "_bucket{") != NULL && strstr(line, "le=\"+Inf\"") != NULL)
            saw_inf = 1;
        if (strcmp(line, "process_start_time_seconds") == 0 && v > 1e9)
            saw_start = 1;
        if (strcmp(line, "wardd_attestation_verifications_total{result=\"warning\"}") == 0 &&
            v >= 1)
            saw_warning = 1;
        /* the evidence posted to /verify earlier, and its verdict */
        if (strcmp(line, "wardd_http_request_bytes_total{route=\"/v1/attestation/verify\"}") == 0 &&
            v >= 100)
            saw_in = 1;
        if (strcmp(line, "wardd_http_response_bytes_total{route=\"/v1/attestation/verify\"}") ==
                0 &&
            v >= 100)
            saw_out = 1;
    }
    assert_true(saw_req && saw_inf && saw_start && saw_warning && saw_in && saw_out);
    free(r.body);
}

static void test_sigterm(void **state)
{
    (void)state;
    assert_true(W.pid > 0);
    assert_int_equal(kill(W.pid, SIGTERM), 0);
    int st = 0;
    pid_t w = 0;
    for (int i = 0; i < 600 && w == 0; i++) {
        w = waitpid(W.pid, &st, WNOHANG);
        if (w == 0)
            tu_sleep_ms(100);
    }
    assert_int_equal(w, W.pid);
    W.pid = -1;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        fprintf(stderr, "wardd: status %d (exited %d, code %d)\n", st, WIFEXITED(st),
                WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_healthz),     cmocka_unit_test(test_errors),
        cmocka_unit_test(test_too_large),   cmocka_unit_test(test_attestation),
        cmocka_unit_test(test_metrics),     cmocka_unit_test(test_sigterm),
    };
    int rc = cmocka_run_group_tests(tests, start_daemon, stop_daemon);
    curl_global_cleanup();
    return rc;
}
