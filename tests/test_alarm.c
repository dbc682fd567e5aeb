/* Alarms: the rules (with an injected clock and an injected statvfs: no sleeping), the alarm's
 * audit record and counters, and delivery to syslog and to a webhook served by a tiny HTTP
 * server on 127.0.0.1 written here (500 first, then 200: the retry). */
#include "testutil.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "ward/alarm.h"
#include "ward/audit.h"
#include "ward/crypto.h"

/* ---- injected clock and file system ------------------------------------------------------- */

static int64_t t_now = 1000000;
static struct statvfs fake_vfs;

static int64_t clock_now(void *arg)
{
    (void)arg;
    return t_now;
}

static int fake_statvfs(void *arg, const char *path, struct statvfs *out)
{
    (void)arg;
    (void)path;
    *out = fake_vfs;
    return 0;
}

static const ward_alarm_hooks hooks = {.now_ms = clock_now, .statvfs = fake_statvfs};

static ward_alarms *make(const char *config, ward_audit *audit)
{
    ward_alarms *a = NULL;
    ward_err err = ward_alarms_new(config, config ? strlen(config) : 0, audit, &hooks, &a);
    if (err != WARD_OK)
        fail_msg("ward_alarms_new: %s", ward_errmsg());
    return a;
}

/* ---- the rules --------------------------------------------------------------------------- */

static void test_auth_failures_raise_exactly_one_alarm(void **state)
{
    (void)state;
    ward_alarms *a = make("{\"auth_failures\": {\"threshold\": 5, \"window_s\": 60}}", NULL);
    uint64_t base = ward_alarm_count(WARD_ALARM_AUTH_FAILURES);
    for (int i = 0; i < 4; i++) {
        t_now += 1000;
        assert_int_equal(ward_alarms_auth_failure(a, "alice", "10.0.0.1"), WARD_OK);
    }
    assert_int_equal(ward_alarm_count(WARD_ALARM_AUTH_FAILURES), base);
    t_now += 1000;
    assert_int_equal(ward_alarms_auth_failure(a, "alice", "10.0.0.1"), WARD_OK);
    /* actor and address both crossed the threshold: one alarm */
    assert_int_equal(ward_alarm_count(WARD_ALARM_AUTH_FAILURES), base + 1);
    /* the attack goes on within the window: still one */
    for (int i = 0; i < 12; i++) {
        t_now += 100;
        ward_alarms_auth_failure(a, "alice", "10.0.0.1");
    }
    assert_int_equal(ward_alarm_count(WARD_ALARM_AUTH_FAILURES), base + 1);
    /* a window later it is still going on: a second alarm */
    t_now += 61000;
    for (int i = 0; i < 5; i++)
        ward_alarms_auth_failure(a, "alice", "10.0.0.1");
    assert_int_equal(ward_alarm_count(WARD_ALARM_AUTH_FAILURES), base + 2);
    ward_alarms_free(a);
}

static void test_auth_failures_window_slides(void **state)
{
    (void)state;
    ward_alarms *a = make("{\"auth_failures\": {\"threshold\": 3, \"window_s\": 10, "
                          "\"per\": [\"actor\"]}}", NULL);
    uint64_t base = ward_alarm_count(WARD_ALARM_AUTH_FAILURES);
    /* three failures, but never three within 10 s */
    for (int i = 0; i < 10; i++) {
        t_now += 6000;
        ward_alarms_auth_failure(a, "bob", "10.0.0.2");
    }
    assert_int_equal(ward_alarm_count(WARD_ALARM_AUTH_FAILURES), base);
    /* per actor only: many actors from one address raise nothing */
    for (int i = 0; i < 20; i++) {
        char actor[16];
        snprintf(actor, sizeof actor, "user%d", i);
        ward_alarms_auth_failure(a, actor, "10.0.0.3");
    }
    assert_int_equal(ward_alarm_count(WARD_ALARM_AUTH_FAILURES), base);
    ward_alarms_free(a);

    /* per address: spraying many actors from one address is caught */
    a = make("{\"auth_failures\": {\"threshold\": 3, \"window_s\": 10, \"per\": [\"address\"]}}",
             NULL);
    for (int i = 0; i < 3; i++) {
        char actor[16];
        snprintf(actor, sizeof actor, "user%d", i);
        ward_alarms_auth_failure(a, actor, "10.0.0.3");
    }
    assert_int_equal(ward_alarm_count(WARD_ALARM_AUTH_FAILURES), base + 1);
    /* disabled */
    ward_alarms_free(a);
    a = make("{\"auth_failures\": {\"enabled\": false, \"threshold\": 1}}", NULL);
    ward_alarms_auth_failure(a, "x", "y");
    assert_int_equal(ward_alarm_count(WARD_ALARM_AUTH_FAILURES), base + 1);
    ward_alarms_free(a);
}

static void test_many_keys_bounded(void **state)
{
    (void)state;
    ward_alarms *a = make("{\"auth_failures\": {\"threshold\": 2, \"window_s\": 5}}", NULL);
    uint64_t base = ward_alarm_count(WARD_ALARM_AUTH_FAILURES);
    /* more distinct keys than the table holds: old ones are evicted, nothing breaks */
    for (int i = 0; i < 5000; i++) {
        char actor[24];
        snprintf(actor, sizeof actor, "spray%d", i);
        t_now += 1;
        assert_int_equal(ward_alarms_auth_failure(a, actor, NULL), WARD_OK);
    }
    assert_int_equal(ward_alarm_count(WARD_ALARM_AUTH_FAILURES), base);
    ward_alarms_auth_failure(a, "spray4999", NULL);
    assert_int_equal(ward_alarm_count(WARD_ALARM_AUTH_FAILURES), base + 1);
    ward_alarms_free(a);
}

static void test_other_rules(void **state)
{
    (void)state;
    ward_alarms *a = make(NULL, NULL); /* defaults */
    uint64_t att = ward_alarm_count(WARD_ALARM_ATTESTATION_FAILURE);
    uint64_t kil = ward_alarm_count(WARD_ALARM_TA_KILLED);
    uint64_t aud = ward_alarm_count(WARD_ALARM_AUDIT_VERIFY_FAILED);
    assert_int_equal(ward_alarms_attestation_failure(a, "node-7", "measurement mismatch"),
                     WARD_OK);
    assert_int_equal(ward_alarm_count(WARD_ALARM_ATTESTATION_FAILURE), att + 1);
    ward_alarms_attestation_failure(a, "node-7", "again"); /* quiet for the window */
    assert_int_equal(ward_alarm_count(WARD_ALARM_ATTESTATION_FAILURE), att + 1);
    ward_alarms_attestation_failure(a, "node-8", "other subject");
    assert_int_equal(ward_alarm_count(WARD_ALARM_ATTESTATION_FAILURE), att + 2);
    assert_int_equal(ward_alarms_ta_killed(a, "sql-ta", "seccomp: openat"), WARD_OK);
    assert_int_equal(ward_alarm_count(WARD_ALARM_TA_KILLED), kil + 1);
    ward_audit_report rep;
    memset(&rep, 0, sizeof rep);
    rep.problem = WARD_AUDIT_EDITED;
    rep.bad_seq = 23;
    snprintf(rep.detail, sizeof rep.detail, "record 23 was edited");
    assert_int_equal(ward_alarms_audit_verify_failed(a, &rep), WARD_OK);
    assert_int_equal(ward_alarm_count(WARD_ALARM_AUDIT_VERIFY_FAILED), aud + 1);
    assert_int_not_equal(ward_alarms_audit_verify_failed(a, NULL), WARD_OK);
    assert_int_not_equal(ward_alarms_auth_failure(NULL, "a", "b"), WARD_OK);
    ward_alarms_free(a);
}

static void set_vfs(unsigned long blocks, unsigned long bfree, unsigned long files,
                    unsigned long ffree)
{
    memset(&fake_vfs, 0, sizeof fake_vfs);
    fake_vfs.f_bsize = fake_vfs.f_frsize = 4096;
    fake_vfs.f_blocks = blocks;
    fake_vfs.f_bfree = bfree;
    fake_vfs.f_bavail = bfree;
    fake_vfs.f_files = files;
    fake_vfs.f_ffree = ffree;
    fake_vfs.f_favail = ffree;
}

static void test_disk_nearly_full(void **state)
{
    (void)state;
    ward_alarms *a = make("{\"disk\": {\"threshold_percent\": 90}}", NULL);
    uint64_t base = ward_alarm_count(WARD_ALARM_DISK_NEARLY_FULL);
    set_vfs(1000, 500, 1000, 900);
    assert_int_equal(ward_alarms_check_disk(a, "/data"), WARD_OK);
    assert_int_equal(ward_alarm_count(WARD_ALARM_DISK_NEARLY_FULL), base);
    set_vfs(1000, 50, 1000, 900); /* 95 % */
    assert_int_equal(ward_alarms_check_disk(a, "/data"), WARD_OK);
    assert_int_equal(ward_alarm_count(WARD_ALARM_DISK_NEARLY_FULL), base + 1);
    set_vfs(1000, 40, 1000, 900); /* still full: no repeat */
    ward_alarms_check_disk(a, "/data");
    assert_int_equal(ward_alarm_count(WARD_ALARM_DISK_NEARLY_FULL), base + 1);
    set_vfs(1000, 500, 1000, 900); /* freed: re-armed */
    ward_alarms_check_disk(a, "/data");
    set_vfs(1000, 500, 1000, 20); /* inodes 98 % */
    ward_alarms_check_disk(a, "/data");
    assert_int_equal(ward_alarm_count(WARD_ALARM_DISK_NEARLY_FULL), base + 2);
    set_vfs(0, 0, 0, 0); /* nonsense numbers: nothing */
    assert_int_equal(ward_alarms_check_disk(a, "/data"), WARD_OK);
    /* Root-reserved blocks count as used, as df does: 10 % free but 0 % available. */
    ward_alarms_free(a);
    a = make("{\"disk\": {\"threshold_percent\": 95}}", NULL);
    set_vfs(1000, 100, 0, 0);
    fake_vfs.f_bavail = 0;
    ward_alarms_check_disk(a, "/data");
    assert_int_equal(ward_alarm_count(WARD_ALARM_DISK_NEARLY_FULL), base + 3);
    ward_alarms_free(a);
    /* the real statvfs on a real directory works */
    a = NULL;
    static const char cfg100[] = "{\"disk\": {\"threshold_percent\": 100}}";
    assert_int_equal(ward_alarms_new(cfg100, strlen(cfg100), NULL, NULL, &a), WARD_OK);
    assert_int_equal(ward_alarms_check_disk(a, "/"), WARD_OK);
    assert_int_not_equal(ward_alarms_check_disk(a, "/nonexistent/dir"), WARD_OK);
    ward_alarms_free(a);
}

/* ---- the alarm's audit record -------------------------------------------------------------- */

static ward_err sign_with(void *arg, const uint8_t *msg, size_t len, uint8_t sig[64])
{
    uint8_t *s = NULL;
    size_t n = 0;
    ward_err err = ward_sign(arg, WARD_HASH_SHA256, WARD_SIG_RAW, msg, len, &s, &n);
    if (err == WARD_OK && n == 64)
        memcpy(sig, s, 64);
    free(s);
    return err;
}

static void test_alarm_is_audited(void **state)
{
    (void)state;
    ward_pkey *key = NULL;
    assert_int_equal(ward_pkey_generate(WARD_KEY_EC_P256, &key), WARD_OK);
    char *dir = tu_mkdtemp();
    ward_audit_options o = {.sign = sign_with, .sign_arg = key, .verify_key = key};
    ward_audit *log = NULL;
    assert_int_equal(ward_audit_open(dir, &o, &log), WARD_OK);
    ward_alarms *a = make("{\"ta_killed\": {\"threshold\": 1, \"window_s\": 60}}", log);
    assert_int_equal(ward_alarms_ta_killed(a, "psi-ta", "memory limit"), WARD_OK);
    ward_alarms_free(a);
    assert_int_equal(ward_audit_close(log), WARD_OK);
    FILE *f = tmpfile();
    assert_non_null(f);
    uint64_t n = 0;
    assert_int_equal(ward_audit_export(dir, 0, f, &n), WARD_OK);
    assert_int_equal(n, 1);
    rewind(f);
    char line[4096];
    assert_non_null(fgets(line, sizeof line, f));
    fclose(f);
    json_t *j = json_loads(line, 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "action")), "alarm.raised");
    assert_string_equal(json_string_value(json_object_get(j, "object")), WARD_ALARM_TA_KILLED);
    json_t *d = json_object_get(j, "details");
    assert_string_equal(json_string_value(json_object_get(d, "subject")), "ta:psi-ta");
    assert_string_equal(json_string_value(json_object_get(d, "reason")), "memory limit");
    assert_string_equal(json_string_value(json_object_get(d, "severity")), "error");
    json_decref(j);
    ward_audit_report rep;
    assert_int_equal(ward_audit_verify(dir, key, &rep), WARD_OK);
    ward_pkey_free(key);
    tu_rmtree(dir);
    free(dir);
}

/* ---- a tiny HTTP server for the webhook ------------------------------------------------------ */

struct srv {
    int fd, port;
    const int *codes; /* status per request; the last one repeats */
    size_t ncodes;
    int nreq;
    int post_ok, json_ok;
    char body[4096];
    pthread_t th;
};

static void *srv_main(void *arg)
{
    struct srv *s = arg;
    for (;;) {
        int c = accept(s->fd, NULL, NULL);
        if (c < 0)
            break;
        struct timeval tv = {.tv_sec = 5};
        setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        char req[8192];
        size_t len = 0;
        char *end = NULL;
        while (len < sizeof req - 1 && (end = strstr(req, "\r\n\r\n")) == NULL) {
            ssize_t r = recv(c, req + len, sizeof req - 1 - len, 0);
            if (r <= 0)
                break;
            len += (size_t)r;
            req[len] = '\0';
        }
        size_t want = 0;
        if (end != NULL) {
            const char *cl = strcasestr(req, "\r\nContent-Length:");
            if (cl != NULL)
                want = (size_t)strtoul(cl + 17, NULL, 10);
            size_t have = len - (size_t)(end + 4 - req);
            while (have < want && len < sizeof req - 1) {
                ssize_t r = recv(c, req + len, sizeof req - 1 - len, 0);
                if (r <= 0)
                    break;
                len += (size_t)r;
                have += (size_t)r;
                req[len] = '\0';
            }
            s->post_ok = strncmp(req, "POST /hook HTTP/1.1\r\n", 21) == 0;
            s->json_ok = strcasestr(req, "\r\nContent-Type: application/json\r\n") != NULL;
            snprintf(s->body, sizeof s->body, "%s", end + 4);
        }
        int code = s->codes[(size_t)s->nreq < s->ncodes ? (size_t)s->nreq : s->ncodes - 1];
        s->nreq++;
        char resp[128];
        int n = snprintf(resp, sizeof resp,
                         "HTTP/1.1 %d X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
                         code);
        ssize_t w = send(c, resp, (size_t)n, MSG_NOSIGNAL);
        (void)w;
        close(c);
    }
    return NULL;
}

static void srv_start(struct srv *s, const int *codes, size_t ncodes)
{
    memset(s, 0, sizeof *s);
    s->codes = codes;
    s->ncodes = ncodes;
    s->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(s->fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(s->fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(s->fd, 8), 0);
    socklen_t sl = sizeof sa;
    assert_int_equal(getsockname(s->fd, (struct sockaddr *)&sa, &sl), 0);
    s->port = ntohs(sa.sin_port);
    assert_int_equal(pthread_create(&s->th, NULL, srv_main, s), 0);
}

static void srv_stop(struct srv *s)
{
    shutdown(s->fd, SHUT_RDWR); /* wakes accept() */
    pthread_join(s->th, NULL);
    close(s->fd);
}

static ward_alarms *webhook_alarms(const struct srv *s, int attempts)
{
    char cfg[512];
    snprintf(cfg, sizeof cfg,
             "{\"attestation_failures\": {\"threshold\": 1, \"window_s\": 1},"
             " \"sinks\": [{\"type\": \"webhook\", \"url\": \"http://127.0.0.1:%d/hook\","
             " \"timeout_ms\": 5000, \"max_attempts\": %d, \"backoff_ms\": 1,"
             " \"max_backoff_ms\": 2}]}",
             s->port, attempts);
    return make(cfg, NULL);
}

static void test_webhook_retry_succeeds(void **state)
{
    (void)state;
    static const int codes[] = {500, 200};
    struct srv s;
    srv_start(&s, codes, 2);
    ward_alarms *a = webhook_alarms(&s, 5);
    uint64_t ok = ward_alarm_count(WARD_ALARM_DELIVERED);
    uint64_t bad = ward_alarm_count(WARD_ALARM_DELIVERY_FAILED);
    t_now += 5000;
    assert_int_equal(ward_alarms_attestation_failure(a, "node-1", "bad quote"), WARD_OK);
    assert_int_equal(ward_alarms_drain(a, 30000), WARD_OK);
    ward_alarms_free(a);
    srv_stop(&s);
    assert_int_equal(s.nreq, 2);
    assert_true(s.post_ok);
    assert_true(s.json_ok);
    assert_int_equal(ward_alarm_count(WARD_ALARM_DELIVERED), ok + 1);
    assert_int_equal(ward_alarm_count(WARD_ALARM_DELIVERY_FAILED), bad);
    json_t *j = json_loads(s.body, 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "alarm")),
                        WARD_ALARM_ATTESTATION_FAILURE);
    assert_string_equal(json_string_value(json_object_get(j, "subject")), "subject:node-1");
    assert_string_equal(json_string_value(json_object_get(j, "reason")), "bad quote");
    assert_non_null(json_string_value(json_object_get(j, "time")));
    json_decref(j);
}

static void test_webhook_gives_up(void **state)
{
    (void)state;
    static const int always_500[] = {500};
    struct srv s;
    srv_start(&s, always_500, 1);
    ward_alarms *a = webhook_alarms(&s, 3);
    uint64_t bad = ward_alarm_count(WARD_ALARM_DELIVERY_FAILED);
    t_now += 5000;
    ward_alarms_attestation_failure(a, "node-2", "x");
    assert_int_equal(ward_alarms_drain(a, 30000), WARD_OK);
    ward_alarms_free(a);
    srv_stop(&s);
    assert_int_equal(s.nreq, 3); /* bounded */
    assert_int_equal(ward_alarm_count(WARD_ALARM_DELIVERY_FAILED), bad + 1);

    /* 400 is the receiver refusing the alarm: not retried */
    static const int refuse[] = {400};
    srv_start(&s, refuse, 1);
    a = webhook_alarms(&s, 5);
    t_now += 5000;
    ward_alarms_attestation_failure(a, "node-3", "x");
    assert_int_equal(ward_alarms_drain(a, 30000), WARD_OK);
    ward_alarms_free(a);
    srv_stop(&s);
    assert_int_equal(s.nreq, 1);
    assert_int_equal(ward_alarm_count(WARD_ALARM_DELIVERY_FAILED), bad + 2);
}

static void test_free_with_pending(void **state)
{
    (void)state;
    /* A receiver that refuses connections: freeing does not wait out the back-off. */
    struct srv s;
    static const int codes[] = {500};
    srv_start(&s, codes, 1);
    int port = s.port;
    srv_stop(&s); /* the port is closed now */
    char cfg[256];
    snprintf(cfg, sizeof cfg,
             "{\"sinks\": [{\"type\": \"webhook\", \"url\": \"http://127.0.0.1:%d/\","
             " \"max_attempts\": 100, \"backoff_ms\": 3600000}], \"queue_max\": 2}", port);
    ward_alarms *a = make(cfg, NULL);
    uint64_t dropped = ward_alarm_count(WARD_ALARM_DROPPED);
    for (int i = 0; i < 4; i++) {
        char ta[16];
        snprintf(ta, sizeof ta, "ta%d", i);
        ward_alarms_ta_killed(a, ta, "x");
    }
    assert_int_equal(ward_alarms_drain(a, 1), WARD_ERR_TIMEOUT);
    ward_alarms_free(a); /* must return promptly */
    assert_true(ward_alarm_count(WARD_ALARM_DROPPED) >= dropped + 2);
}

static void test_syslog_sink(void **state)
{
    (void)state;
    ward_alarms *a = make("{\"ta_killed\": {\"threshold\": 1, \"window_s\": 1},"
                          " \"sinks\": [{\"type\": \"syslog\", \"ident\": \"ward-test\","
                          " \"facility\": \"local0\"}]}", NULL);
    uint64_t ok = ward_alarm_count(WARD_ALARM_DELIVERED);
    t_now += 5000;
    assert_int_equal(ward_alarms_ta_killed(a, "t", "seccomp"), WARD_OK);
    assert_int_equal(ward_alarms_drain(a, 10000), WARD_OK);
    assert_int_equal(ward_alarm_count(WARD_ALARM_DELIVERED), ok + 1);
    ward_alarms_free(a);
}

static void count_cb(void *arg, const char *name, uint64_t value)
{
    (void)value;
    if (strcmp(name, WARD_ALARM_AUTH_FAILURES) == 0)
        (*(int *)arg)++;
}

static void test_metrics_registry(void **state)
{
    (void)state;
    assert_int_equal(ward_alarm_count("no.such.counter"), 0);
    assert_int_equal(ward_alarm_count(NULL), 0);
    int seen = 0;
    ward_alarm_metrics_foreach(count_cb, &seen);
    assert_int_equal(seen, 1);
}

/* ---- bad configurations ----------------------------------------------------------------------- */

static void test_bad_config(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "not json",
        "[]",
        "{\"auth_failure\": {}}", /* typo */
        "{\"auth_failures\": {\"threshold\": 0}}",
        "{\"auth_failures\": {\"threshold\": 10001}}",
        "{\"auth_failures\": {\"threshold\": \"5\"}}",
        "{\"auth_failures\": {\"threshold\": 5.5}}",
        "{\"auth_failures\": {\"window_s\": -1}}",
        "{\"auth_failures\": {\"per\": []}}",
        "{\"auth_failures\": {\"per\": [\"user\"]}}",
        "{\"auth_failures\": {\"enabled\": 1}}",
        "{\"auth_failures\": {\"thresold\": 5}}",
        "{\"auth_failures\": 5}",
        "{\"disk\": {\"threshold_percent\": 101}}",
        "{\"disk\": {\"threshold_percent\": 0}}",
        "{\"queue_max\": 0}",
        "{\"sinks\": {}}",
        "{\"sinks\": [{\"type\": \"email\"}]}",
        "{\"sinks\": [{}]}",
        "{\"sinks\": [{\"type\": \"webhook\"}]}",
        "{\"sinks\": [{\"type\": \"webhook\", \"url\": \"ftp://x/\"}]}",
        "{\"sinks\": [{\"type\": \"webhook\", \"url\": \"file:///etc/passwd\"}]}",
        "{\"sinks\": [{\"type\": \"webhook\", \"url\": \"http://x/\", \"max_attempts\": 0}]}",
        "{\"sinks\": [{\"type\": \"webhook\", \"url\": \"http://x/\", \"headers\": {}}]}",
        "{\"sinks\": [{\"type\": \"syslog\", \"facility\": \"kern\"}]}",
        "{\"sinks\": [{\"type\": \"syslog\", \"ident\": \"\"}]}",
        "{\"sinks\": [{\"type\": \"syslog\"}, {\"type\": \"syslog\"}]}",
        "{\"sinks\": [1,2,3,4,5,6,7,8,9]}",
        "{\"a\": 1, \"a\": 2}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ward_alarms *a = NULL;
        ward_err err = ward_alarms_new(bad[i], strlen(bad[i]), NULL, NULL, &a);
        if (err == WARD_OK)
            fail_msg("bad config accepted: %s", bad[i]);
        assert_null(a);
        assert_true(strlen(ward_errmsg()) > 0);
    }
    ward_alarms *a = NULL;
    assert_int_not_equal(ward_alarms_new(NULL, 0, NULL, NULL, NULL), WARD_OK);
    assert_int_equal(ward_alarms_new("{}", 2, NULL, NULL, &a), WARD_OK);
    ward_alarms_free(a);
    ward_alarms_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_auth_failures_raise_exactly_one_alarm),
        cmocka_unit_test(test_auth_failures_window_slides),
        cmocka_unit_test(test_many_keys_bounded),
        cmocka_unit_test(test_other_rules),
        cmocka_unit_test(test_disk_nearly_full),
        cmocka_unit_test(test_alarm_is_audited),
        cmocka_unit_test(test_webhook_retry_succeeds),
        cmocka_unit_test(test_webhook_gives_up),
        cmocka_unit_test(test_free_with_pending),
        cmocka_unit_test(test_syslog_sink),
        cmocka_unit_test(test_metrics_registry),
        cmocka_unit_test(test_bad_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
