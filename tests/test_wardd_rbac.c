/* End-to-end test of wardd's role-based access control (docs/api.md "Authentication"): the real
 * wardd on 127.0.0.1, clients with self-signed participant certificates and with a certificate
 * issued by a CA the node trusts. Each endpoint needs a named permission on top of the task
 * manifest's rights; every denial is a 403 with an audit record carrying the request id. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "testutil.h"
#include "wardd_harness.h"
#include "wardd_tasks_util.h"
#include "ward/audit.h"
#include "ward/crypto.h"
#include "ward/encoding.h"
#include "ward/identity.h"
#include "ward/rbac.h"
#include "ward/rot.h"
#include "ward/task.h"
#include "ward/x509.h"

typedef tu_party ident;

static tu_wardd W;
static ident g_provider, g_recipient, g_stranger, g_ca_user;
static ward_pkey *g_ca_key;
static ward_cert *g_ca;
static ward_cert *g_ca_user_cert;

static tu_resp http_as(const ident *who, const char *method, const char *path, const char *body)
{
    return tu_party_request(&W, who, method, path, body, body ? strlen(body) : 0);
}

/* Asserts a 403 and returns its request id (malloc'd). */
static char *expect_forbidden(tu_resp *r, const char *perm)
{
    if (r->status != 403)
        fprintf(stderr, "expected 403, got %ld: %s\n", r->status, r->body);
    assert_int_equal(r->status, 403);
    json_t *j = tu_resp_json(r);
    assert_string_equal(json_string_value(json_object_get(j, "error")), "forbidden");
    assert_non_null(strstr(json_string_value(json_object_get(j, "message")), perm));
    char *id = strdup(json_string_value(json_object_get(j, "request_id")));
    json_decref(j);
    free(r->body);
    return id;
}

/* The audit log's records as JSON lines (wardd keeps writing beside the reader). */
static char *export_audit(void)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/audit.jsonl", W.tmp);
    FILE *f = fopen(path, "w+");
    assert_non_null(f);
    assert_int_equal(ward_audit_export(W.data, 0, f, NULL), WARD_OK);
    fclose(f);
    size_t len = 0;
    char *text = (char *)tu_read_file(path, &len);
    assert_non_null(text);
    char *t = realloc(text, len + 1);
    assert_non_null(t);
    t[len] = 0;
    return t;
}

/* 1 if a record has this request id, action, outcome and (if not NULL) object. */
static int has_record(const char *log, const char *rid, const char *action, const char *outcome,
                      const char *object)
{
    char *copy = strdup(log), *save = NULL;
    int found = 0;
    for (char *line = strtok_r(copy, "\n", &save); line && !found;
         line = strtok_r(NULL, "\n", &save)) {
        json_error_t je;
        json_t *j = json_loads(line, 0, &je);
        const char *s;
        found = j != NULL && (s = json_string_value(json_object_get(j, "request_id"))) &&
                strcmp(s, rid) == 0 &&
                (s = json_string_value(json_object_get(j, "action"))) && strcmp(s, action) == 0 &&
                (s = json_string_value(json_object_get(j, "outcome"))) &&
                strcmp(s, outcome) == 0 &&
                (object == NULL || ((s = json_string_value(json_object_get(j, "object"))) &&
                                    strcmp(s, object) == 0));
        json_decref(j);
    }
    free(copy);
    return found;
}

/* A sql task: creator and slot owner `owner`, recipient `recipient`, signed by owner. */
static char *envelope(const ident *owner, const ident *recipient, char id[33])
{
    uint8_t x[32], sk[32];
    tu_task_new_id(id);
    assert_int_equal(ward_x25519_generate(sk, x), WARD_OK);
    const tu_slot slots[] = {{"a", owner->key, 1 << 16}};
    const tu_manifest_spec spec = {.id = id, .creator = owner->key, .fn = "sql",
                                   .params = json_pack("{s:s}", "query", "SELECT * FROM a"),
                                   .slots = slots, .n_slots = 1, .recipient = recipient->key,
                                   .x25519 = x, .expires_at = (int64_t)time(NULL) + 3600};
    ward_task_manifest *m = tu_manifest_make(&spec);
    const ward_pkey *const signer[] = {owner->key};
    tu_manifest_sign(m, signer, 1);
    char *env = tu_envelope(m);
    ward_task_manifest_free(m);
    ward_wipe(sk, sizeof sk);
    return env;
}

/* ---- tests ------------------------------------------------------------------------------------ */

static int setup(void **state)
{
    (void)state;
    if (tu_wardd_start(&W) != 0)
        return -1;
    tu_party_make_issued(&W, &g_provider, "provider", NULL, NULL, NULL);
    tu_party_make_issued(&W, &g_recipient, "recipient", NULL, NULL, NULL);
    tu_party_make_issued(&W, &g_stranger, "stranger", NULL, NULL, NULL);
    tu_wardd_enroll(&W, "provider", g_provider.cert_path, "data-provider");
    /* The manifest names it as the recipient, but its role lacks result.read. */
    tu_wardd_enroll(&W, "recipient", g_recipient.cert_path, "data-provider");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tu_party_free(&g_provider);
    tu_party_free(&g_recipient);
    tu_party_free(&g_stranger);
    tu_party_free(&g_ca_user);
    ward_cert_free(g_ca_user_cert);
    ward_cert_free(g_ca);
    ward_pkey_free(g_ca_key);
    tu_wardd_stop(&W);
    return 0;
}

static void test_unenrolled_participant(void **state)
{
    (void)state;
    char id[33];
    char *env = envelope(&g_stranger, &g_provider, id);
    tu_resp r = http_as(&g_stranger, "POST", "/v1/tasks", env);
    free(env);
    char *rid = expect_forbidden(&r, "task.create");
    char *log = export_audit();
    assert_true(has_record(log, rid, "auth.certificate", "failure", NULL));
    assert_true(has_record(log, rid, "rbac.check", "denied", "task.create"));
    free(log);
    free(rid);
    /* It can still use the public endpoints. */
    r = http_as(&g_stranger, "GET", "/healthz", NULL);
    assert_int_equal(r.status, 200);
    free(r.body);
}

static void test_enrolled_provider(void **state)
{
    (void)state;
    char id[33];
    char *env = envelope(&g_provider, &g_recipient, id);
    tu_resp r = http_as(&g_provider, "POST", "/v1/tasks", env);
    free(env);
    if (r.status != 201)
        fprintf(stderr, "create: %ld %s\n", r.status, r.body);
    assert_int_equal(r.status, 201);
    free(r.body);
    char path[128];
    snprintf(path, sizeof path, "/v1/tasks/%s", id);
    r = http_as(&g_recipient, "GET", path, NULL);
    assert_int_equal(r.status, 200);
    free(r.body);

    /* The manifest makes `recipient` the recipient, the role does not grant result.read. */
    snprintf(path, sizeof path, "/v1/tasks/%s/result", id);
    r = http_as(&g_recipient, "GET", path, NULL);
    char *rid = expect_forbidden(&r, "result.read");
    char *log = export_audit();
    assert_true(has_record(log, rid, "auth.certificate", "success", NULL));
    assert_true(has_record(log, rid, "rbac.check", "denied", "result.read"));
    free(log);
    free(rid);
    /* With the role, the request reaches the task service, which has no result yet. */
    tu_wardd_enroll(&W, "recipient", g_recipient.cert_path, "result-consumer");
    r = http_as(&g_recipient, "GET", path, NULL);
    tu_expect_error(&r, 404, "not_found");
    /* The provider is not the recipient: the role and the manifest both refuse it. */
    r = http_as(&g_provider, "GET", path, NULL);
    free(expect_forbidden(&r, "result.read"));
}

static void test_metrics_needs_node_monitor(void **state)
{
    (void)state;
    tu_resp r = http_as(&g_provider, "GET", "/metrics", NULL);
    char *rid = expect_forbidden(&r, "node.monitor");
    char *log = export_audit();
    assert_true(has_record(log, rid, "rbac.check", "denied", "node.monitor"));
    free(log);
    free(rid);
    r = http_as(NULL, "GET", "/metrics", NULL);
    tu_expect_error(&r, 401, "unauthenticated");
}

/* ---- a certificate issued by a trusted CA, then revoked ---------------------------------------- */

static uint8_t *crl_revoking(const ward_cert *revoked, size_t *len)
{
    uint8_t *der = NULL;
    size_t dl = 0;
    assert_int_equal(ward_cert_to_der(g_ca, &der, &dl), WARD_OK);
    const unsigned char *p = der;
    X509 *ca = d2i_X509(NULL, &p, (long)dl);
    free(der);
    assert_int_equal(ward_cert_to_der(revoked, &der, &dl), WARD_OK);
    p = der;
    X509 *leaf = d2i_X509(NULL, &p, (long)dl);
    free(der);
    char *pem = NULL;
    size_t pl = 0;
    assert_int_equal(ward_pkey_private_pem(g_ca_key, &pem, &pl), WARD_OK);
    BIO *b = BIO_new_mem_buf(pem, (int)pl);
    EVP_PKEY *key = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
    BIO_free(b);
    ward_wipe(pem, pl);
    free(pem);
    assert_true(ca != NULL && leaf != NULL && key != NULL);
    X509_CRL *crl = X509_CRL_new();
    ASN1_TIME *tu = ASN1_TIME_set(NULL, time(NULL) - 60);
    ASN1_TIME *nu = ASN1_TIME_set(NULL, time(NULL) + 86400);
    X509_REVOKED *rev = X509_REVOKED_new();
    assert_int_equal(X509_CRL_set_version(crl, X509_CRL_VERSION_2), 1);
    assert_int_equal(X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca)), 1);
    assert_int_equal(X509_CRL_set1_lastUpdate(crl, tu), 1);
    assert_int_equal(X509_CRL_set1_nextUpdate(crl, nu), 1);
    assert_int_equal(X509_REVOKED_set_serialNumber(rev, X509_get_serialNumber(leaf)), 1);
    assert_int_equal(X509_REVOKED_set_revocationDate(rev, tu), 1);
    assert_int_equal(X509_CRL_add0_revoked(crl, rev), 1);
    assert_true(X509_CRL_sign(crl, key, EVP_sha256()) > 0);
    unsigned char *out = NULL;
    int n = i2d_X509_CRL(crl, &out);
    assert_true(n > 0);
    uint8_t *copy = malloc((size_t)n);
    memcpy(copy, out, (size_t)n);
    *len = (size_t)n;
    OPENSSL_free(out);
    ASN1_TIME_free(tu);
    ASN1_TIME_free(nu);
    X509_CRL_free(crl);
    EVP_PKEY_free(key);
    X509_free(ca);
    X509_free(leaf);
    return copy;
}

static void test_ca_issued_then_revoked(void **state)
{
    (void)state;
    assert_int_equal(ward_pkey_generate(WARD_KEY_EC_P256, &g_ca_key), WARD_OK);
    int64_t now = (int64_t)time(NULL);
    ward_cert_spec cs = {.common_name = "Ward Test Operators CA", .not_before = now - 60,
                         .not_after = now + 86400, .is_ca = 1, .path_len = -1};
    assert_int_equal(ward_cert_create(&cs, g_ca_key, NULL, g_ca_key, &g_ca), WARD_OK);
    tu_party_make_issued(&W, &g_ca_user, "auditor-1", g_ca, g_ca_key, &g_ca_user_cert);
    /* Enrolled, its CA trusted: an auditor reads the metrics. */
    tu_wardd_enroll(&W, "auditor-1", g_ca_user.cert_path, "auditor");
    ward_identity *db = tu_wardd_identity_open(&W);
    assert_int_equal(ward_identity_ca_add(db, g_ca), WARD_OK);
    tu_resp r = http_as(&g_ca_user, "GET", "/metrics", NULL);
    assert_int_equal(r.status, 200);
    free(r.body);

    size_t len = 0;
    uint8_t *crl = crl_revoking(g_ca_user_cert, &len);
    assert_int_equal(ward_identity_crl_add(db, crl, len), WARD_OK);
    free(crl);
    ward_identity_close(db);

    /* Revoked: the TLS handshake is refused with the certificate_revoked alert. */
    char err[CURL_ERROR_SIZE] = "";
    tu_resp rr;
    struct curl_slist *hdr = NULL;
    CURL *c = tu_wardd_curl(&W, g_ca_user.cert_path, g_ca_user.key_path, "GET", "/healthz", NULL,
                            0, &rr, &hdr);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, err);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    CURLcode rc = curl_easy_perform(c);
    curl_easy_cleanup(c);
    curl_slist_free_all(hdr);
    free(rr.body);
    if (rc == CURLE_OK || strstr(err, "revoked") == NULL)
        fail_msg("a revoked certificate: curl %d \"%s\"", (int)rc, err);
    char *log = export_audit();
    assert_non_null(strstr(log, "certificate revoked"));
    free(log);
    /* The node keeps serving. */
    r = http_as(NULL, "GET", "/healthz", NULL);
    assert_int_equal(r.status, 200);
    free(r.body);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unenrolled_participant),
        cmocka_unit_test(test_enrolled_provider),
        cmocka_unit_test(test_metrics_needs_node_monitor),
        cmocka_unit_test(test_ca_issued_then_revoked),
    };
    int rc = cmocka_run_group_tests(tests, setup, teardown);
    curl_global_cleanup();
    return rc;
}
