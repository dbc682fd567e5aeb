/* See wardd_harness.h. */
#include "wardd_harness.h"

#include <curl/curl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"
#include "ward/crypto.h"
#include "ward/encoding.h"
#include "ward/identity.h"
#include "ward/rbac.h"
#include "ward/rot.h"
#include "ward/x509.h"

void tu_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

void tu_wardd_kill(tu_wardd *d)
{
    if (d->pid > 0) {
        kill(d->pid, SIGKILL);
        waitpid(d->pid, NULL, 0);
        d->pid = -1;
    }
}

int tu_wardd_start(tu_wardd *d)
{
    d->pid = -1;
    const char *bd = getenv("WARD_BUILD_DIR");
    if (bd == NULL) {
        fprintf(stderr, "WARD_BUILD_DIR is not set\n");
        return -1;
    }
    char bin[4096], port_file[4096];
    snprintf(bin, sizeof bin, "%s/wardd", bd);
    d->tmp = tu_mkdtemp();
    snprintf(d->data, sizeof d->data, "%s/data", d->tmp);
    snprintf(port_file, sizeof port_file, "%s/port.json", d->tmp);
    d->pid = fork();
    if (d->pid < 0)
        return -1;
    if (d->pid == 0) {
        if (freopen("/dev/null", "w", stdout) == NULL)
            _exit(126);
        execl(bin, bin, "--foreground", "--data-dir", d->data, "--listen", "127.0.0.1:0",
              "--port-file", port_file, "--log-level", "warn", (char *)NULL);
        _exit(127);
    }
    /* Up to 60 s: the self-test and a sanitizer build are slow to start. */
    for (int i = 0; i < 600; i++) {
        int st;
        if (waitpid(d->pid, &st, WNOHANG) == d->pid) {
            fprintf(stderr, "wardd exited during start-up (status %d)\n", st);
            d->pid = -1;
            return -1;
        }
        FILE *f = fopen(port_file, "r");
        if (f != NULL) {
            char line[1024] = {0};
            size_t n = fread(line, 1, sizeof line - 1, f);
            fclose(f);
            json_error_t je;
            json_t *j = json_loadb(line, n, 0, &je);
            const char *spki = json_string_value(json_object_get(j, "tls_spki_sha256"));
            json_int_t port = json_integer_value(json_object_get(j, "port"));
            uint8_t h[32];
            char *b64 = NULL;
            size_t bl = 0;
            int ok = spki != NULL && port > 0 && port < 65536 &&
                     ward_hex_decode_fixed(spki, strlen(spki), h, sizeof h) == WARD_OK &&
                     ward_base64_encode(h, sizeof h, &b64, &bl) == WARD_OK;
            if (ok) {
                snprintf(d->pin, sizeof d->pin, "sha256//%s", b64);
                d->port = (int)port;
            }
            free(b64);
            json_decref(j);
            if (ok)
                return 0;
        }
        tu_sleep_ms(100);
    }
    fprintf(stderr, "wardd did not write its port file\n");
    tu_wardd_kill(d);
    return -1;
}

void tu_wardd_term(tu_wardd *d, void (*tick)(void *), void *arg)
{
    assert_true(d->pid > 0);
    assert_int_equal(kill(d->pid, SIGTERM), 0);
    int st = 0;
    pid_t w = 0;
    /* A bound on the wait for its exit (a sanitizer build is slow to stop), not a timing. */
    for (int i = 0; i < 3000 && w == 0; i++) {
        if (tick != NULL)
            tick(arg);
        w = waitpid(d->pid, &st, WNOHANG);
        if (w == 0)
            tu_sleep_ms(50);
    }
    assert_int_equal(w, d->pid);
    d->pid = -1;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        fprintf(stderr, "wardd: status %d\n", st);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

void tu_wardd_stop(tu_wardd *d)
{
    tu_wardd_kill(d);
    if (d->tmp != NULL) {
        tu_rmtree(d->tmp);
        free(d->tmp);
        d->tmp = NULL;
    }
}

ward_identity *tu_wardd_identity_open(const tu_wardd *d)
{
    ward_rot *rot = NULL;
    if (ward_rot_open(d->data, 0, &rot) != WARD_OK)
        fail_msg("root of trust: %s", ward_errmsg());
    uint8_t key[WARD_IDENTITY_KEY_LEN];
    assert_int_equal(ward_rot_derive(rot, WARD_IDENTITY_KEY_LABEL, NULL, 0, key, sizeof key),
                     WARD_OK);
    ward_rot_close(rot);
    ward_identity *db = NULL;
    ward_err err = ward_identity_open(d->data, 1, key, &db);
    ward_wipe(key, sizeof key);
    if (err != WARD_OK)
        fail_msg("identity database: %s", ward_errmsg());
    return db;
}

void tu_wardd_enroll(const tu_wardd *d, const char *name, const char *cert_pem_path,
                     const char *role)
{
    ward_identity *db = tu_wardd_identity_open(d);
    ward_err err = ward_identity_user_add(db, name, NULL, NULL, 0, &role, 1);
    if (err == WARD_ERR_EXISTS)
        err = ward_rbac_user_role_add(db, name, role);
    if (err != WARD_OK)
        fail_msg("enrol %s as %s: %s", name, role, ward_errmsg());
    size_t len = 0;
    uint8_t *pem = tu_read_file(cert_pem_path, &len);
    assert_non_null(pem);
    ward_cert *cert = NULL;
    uint8_t spki[WARD_SHA256_LEN];
    assert_int_equal(ward_cert_from_pem((const char *)pem, len, &cert), WARD_OK);
    assert_int_equal(ward_cert_spki_sha256(cert, spki), WARD_OK);
    ward_cert_free(cert);
    free(pem);
    err = ward_identity_cert_map(db, name, spki);
    if (err != WARD_OK && err != WARD_ERR_EXISTS)
        fail_msg("enrol %s: map certificate: %s", name, ward_errmsg());
    ward_identity_close(db);
}

static size_t on_data(char *p, size_t sz, size_t n, void *arg)
{
    tu_resp *r = arg;
    size_t add = sz * n;
    char *nb = realloc(r->body, r->len + add + 1);
    if (nb == NULL)
        return 0;
    memcpy(nb + r->len, p, add);
    r->body = nb;
    r->len += add;
    r->body[r->len] = 0;
    return add;
}

CURL *tu_wardd_curl(const tu_wardd *d, const char *cert_path, const char *key_path,
                   const char *method, const char *path, const char *body, size_t len,
                   tu_resp *r, struct curl_slist **hdr)
{
    r->status = 0;
    r->len = 0;
    r->body = calloc(1, 1);
    assert_non_null(r->body);
    char url[256];
    snprintf(url, sizeof url, "https://127.0.0.1:%d%s", d->port, path);
    CURL *c = curl_easy_init();
    assert_non_null(c);
    *hdr = curl_slist_append(NULL, "Content-Type: application/json");
    assert_non_null(*hdr);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    /* No CA signs the node's certificate: its key is pinned from the port file instead. */
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    curl_easy_setopt(c, CURLOPT_PINNEDPUBLICKEY, d->pin);
    curl_easy_setopt(c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_3);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, *hdr);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    if (cert_path != NULL) {
        curl_easy_setopt(c, CURLOPT_SSLCERTTYPE, "PEM");
        curl_easy_setopt(c, CURLOPT_SSLCERT, cert_path);
        curl_easy_setopt(c, CURLOPT_SSLKEY, key_path);
    }
    if (body != NULL) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    }
    return c;
}

tu_resp tu_wardd_request(const tu_wardd *d, const char *cert_path, const char *key_path,
                         const char *method, const char *path, const char *body, size_t len)
{
    tu_resp r;
    struct curl_slist *h = NULL;
    CURL *c = tu_wardd_curl(d, cert_path, key_path, method, path, body, len, &r, &h);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 120L);
    CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK)
        fprintf(stderr, "curl %s %s: %s\n", method, path, curl_easy_strerror(rc));
    assert_int_equal(rc, CURLE_OK);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return r;
}

json_t *tu_resp_json(const tu_resp *r)
{
    json_error_t je;
    json_t *j = json_loadb(r->body, r->len, 0, &je);
    if (j == NULL)
        fprintf(stderr, "not JSON: %s\n", r->body);
    assert_non_null(j);
    return j;
}

void tu_expect_error(tu_resp *r, long status, const char *code)
{
    if (r->status != status)
        fprintf(stderr, "expected %ld, got %ld: %s\n", status, r->status, r->body);
    assert_int_equal(r->status, status);
    json_t *j = tu_resp_json(r);
    assert_string_equal(json_string_value(json_object_get(j, "error")), code);
    const char *m = json_string_value(json_object_get(j, "message"));
    assert_non_null(m);
    assert_true(strlen(m) > 0);
    json_decref(j);
    free(r->body);
}

static void write_file(const char *path, const char *text, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

void tu_party_make_issued(const tu_wardd *d, tu_party *p, const char *name,
                          const ward_cert *issuer, const ward_pkey *issuer_key,
                          ward_cert **cert_out)
{
    memset(p, 0, sizeof *p);
    assert_int_equal(ward_pkey_generate(WARD_KEY_EC_P256, &p->key), WARD_OK);
    assert_int_equal(ward_pkey_spki_sha256(p->key, p->hash), WARD_OK);
    int64_t now = (int64_t)time(NULL);
    ward_cert_spec spec = {.common_name = name, .not_before = now - 60, .not_after = now + 86400,
                           .path_len = -1, .client_auth = 1};
    ward_cert *cert = NULL;
    assert_int_equal(ward_cert_create(&spec, p->key, issuer, issuer ? issuer_key : p->key, &cert),
                     WARD_OK);
    char *pem = NULL;
    size_t len = 0;
    assert_int_equal(ward_cert_to_pem(cert, &pem, &len), WARD_OK);
    snprintf(p->cert_path, sizeof p->cert_path, "%s/%s.crt", d->tmp, name);
    write_file(p->cert_path, pem, len);
    free(pem);
    if (cert_out != NULL)
        *cert_out = cert;
    else
        ward_cert_free(cert);
    assert_int_equal(ward_pkey_private_pem(p->key, &pem, &len), WARD_OK);
    snprintf(p->key_path, sizeof p->key_path, "%s/%s.key", d->tmp, name);
    write_file(p->key_path, pem, len);
    ward_wipe(pem, len);
    free(pem);
    uint8_t *der = NULL;
    assert_int_equal(ward_pkey_spki_der(p->key, &der, &len), WARD_OK);
    assert_int_equal(ward_base64_encode(der, len, &p->spki_b64, NULL), WARD_OK);
    free(der);
}

void tu_party_make(const tu_wardd *d, tu_party *p, const char *name, const char *role)
{
    tu_party_make_issued(d, p, name, NULL, NULL, NULL);
    if (role != NULL)
        tu_wardd_enroll(d, name, p->cert_path, role);
}

void tu_party_free(tu_party *p)
{
    ward_pkey_free(p->key);
    free(p->spki_b64);
    memset(p, 0, sizeof *p);
}

tu_resp tu_party_request(const tu_wardd *d, const tu_party *who, const char *method,
                         const char *path, const char *body, size_t len)
{
    return tu_wardd_request(d, who ? who->cert_path : NULL, who ? who->key_path : NULL, method,
                            path, body, len);
}
