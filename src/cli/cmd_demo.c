/* `ward demo`: the main job (DESIGN 4), for real, on this machine. It starts a node (wardd) on
 * loopback with a temporary data directory, makes three identities (two hospitals, one
 * analyst), generates two hospitals' data, and runs a join-and-aggregate `sql` task and a `psi`
 * task through the seven steps of the reference process: signed manifest, evidence checked by
 * each provider, inputs encrypted to the task key and uploaded in chunks, decryption and
 * computation inside the TA, a signed and encrypted result the analyst verifies and decrypts,
 * and the TA destroyed. wardd is stopped and the directory removed on every path. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "cli/task_client.h"
#include "ward/claims.h"
#include "ward/crypto.h"
#include "ward/encoding.h"
#include "ward/evidence.h"
#include "ward/identity.h"
#include "ward/json.h"
#include "ward/policy.h"
#include "ward/rbac.h"
#include "ward/rot.h"
#include "ward/selftest.h"
#include "ward/stream.h"
#include "ward/task.h"
#include "ward/x509.h"

static const char help[] =
    "usage: ward demo [--rows N]\n"
    "\n"
    "Runs Ward's main job on this machine, for real: starts a node (wardd) on 127.0.0.1 with a\n"
    "temporary data directory, makes three identities (hospital-a and hospital-b, data\n"
    "providers; an analyst, the recipient), generates realistic data (patients at hospital A,\n"
    "treatments at hospital B), and runs two tasks through the seven steps of the reference\n"
    "process: a join-and-aggregate `sql` task and a `psi` task (the patients both hospitals\n"
    "have). Each step is printed with its time; evidence and result signatures are verified.\n"
    "The node is stopped and its directory removed at the end.\n"
    "\n"
    "  --rows N   rows per hospital (default 200000, 100 .. 1000000); the data is generated\n"
    "             from a fixed seed, so the same N gives the same result\n";

#define DEFAULT_ROWS 200000u
#define SEED 0x57415244444d4f31u /* "WARDDMO1" */
#define UPLOAD_CHUNK ((size_t)2 << 20)
#define SLOT_MAX_BYTES ((json_int_t)1 << 26)

/* ---- signals: stop the node, then let the normal path clean up -------------------------- */

static volatile sig_atomic_t g_signal;
static volatile pid_t g_child = -1;

static void on_signal(int sig)
{
    g_signal = sig;
    pid_t p = g_child;
    if (p > 0)
        kill(p, SIGTERM);
}

/* ---- state ---------------------------------------------------------------------------------- */

typedef struct party {
    const char *name;
    ward_pkey *key;
    ward_cert *cert;
    char *spki_b64; /* base64 DER SPKI: how the manifest names the party */
    cli_client *cl;
} party;

typedef struct demo {
    char tmp[512];
    char data_dir[PATH_MAX];
    int have_tmp;
    pid_t pid;
    int port;
    uint8_t tls_spki[WARD_SHA256_LEN];
    uint8_t pinned[1][WARD_SHA256_LEN]; /* the node's platform certificate */
    ward_policy *policy;                /* the software TEE's `warning`, accepted explicitly */
    tc_trust trust;
    ward_channel_verify_cfg channel;    /* attested TLS: the same anchors and policy */
    party a, b, analyst;
    uint8_t x_sk[WARD_X25519_LEN], x_pk[WARD_X25519_LEN]; /* the analyst's result key */
    demo_data data;
    size_t rows;
} demo;

typedef struct task_spec {
    const char *function; /* "sql" or "psi" */
    json_t *params;       /* borrowed */
    const char *slot[2];
    party *owner[2];
    const demo_buf *input[2];
    size_t records[2];
} task_spec;

typedef struct task_run {
    char id[WARD_TASK_ID_HEX_LEN + 1];
    ward_task_manifest *m;
    uint8_t digest[WARD_TASK_HASH_LEN];
    tc_task_keys keys; /* what the first provider's evidence check bound */
    tc_result result;  /* the decrypted result */
    uint8_t sent_sha256[2][32]; /* each input's SHA-256 as its upload read it */
} task_run;

/* ---- small helpers -------------------------------------------------------------------------- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double g_step_t0;

static void step(const char *title)
{
    printf("\n%s\n", title);
    fflush(stdout);
    g_step_t0 = now_s();
}

static void step_done(void)
{
    printf("   (%.2f s)\n", now_s() - g_step_t0);
    fflush(stdout);
}

#define fail tc_fail
#define fail_msg tc_fail_msg
#define hex_short tc_hex

static int interrupted(void)
{
    if (g_signal != 0) {
        fprintf(stderr, "ward demo: interrupted (signal %d)\n", (int)g_signal);
        return 1;
    }
    return 0;
}

/* A JSON reply with the expected status; prints wardd's error otherwise. */
static json_t *call(party *p, const char *method, const char *path, const void *body, size_t len,
                    long want)
{
    if (interrupted())
        return NULL;
    return tc_call(p->cl, p->name, method, path, body, len, want);
}

static const char *jstr(json_t *j, const char *member)
{
    const char *s = json_string_value(json_object_get(j, member));
    return s != NULL ? s : "";
}

/* ---- the node -------------------------------------------------------------------------------- */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

static int read_file(const char *path, char **out, size_t *len, size_t max)
{
    *out = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return -1;
    char *buf = malloc(max + 1);
    size_t n = buf != NULL ? fread(buf, 1, max + 1, f) : 0;
    int bad = buf == NULL || ferror(f) || n > max;
    fclose(f);
    if (bad) {
        free(buf);
        return -1;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return 0;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Reads the port file: 1 when it holds the port and the TLS key hash. */
static int read_port_file(demo *d, const char *path)
{
    char *text = NULL;
    size_t len = 0;
    if (read_file(path, &text, &len, 4096) != 0)
        return 0;
    json_error_t je;
    json_t *j = json_loadb(text, len, 0, &je);
    free(text);
    const char *spki = json_string_value(json_object_get(j, "tls_spki_sha256"));
    json_int_t port = json_integer_value(json_object_get(j, "port"));
    int ok = spki != NULL && port > 0 && port < 65536 &&
             ward_hex_decode_fixed(spki, strlen(spki), d->tls_spki, sizeof d->tls_spki) ==
                 WARD_OK;
    if (ok)
        d->port = (int)port;
    json_decref(j);
    return ok;
}

static int start_node(demo *d)
{
    char exe[PATH_MAX], wardd[PATH_MAX], port_file[PATH_MAX], log_file[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0 || (size_t)n >= sizeof exe - 1)
        return fail_msg("cannot find the ward executable", "/proc/self/exe");
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash == NULL)
        return fail_msg("cannot find the ward executable's directory", exe);
    *slash = '\0';
    if ((size_t)snprintf(wardd, sizeof wardd, "%s/wardd", exe) >= sizeof wardd ||
        access(wardd, X_OK) != 0)
        return fail_msg("wardd is not next to ward", wardd);

    const char *tmpdir = getenv("TMPDIR");
    if (tmpdir == NULL || tmpdir[0] != '/' || strlen(tmpdir) > 256)
        tmpdir = "/tmp";
    snprintf(d->tmp, sizeof d->tmp, "%s/ward-demo-XXXXXX", tmpdir);
    if (mkdtemp(d->tmp) == NULL)
        return fail_msg("cannot create a temporary directory", strerror(errno));
    d->have_tmp = 1;
    snprintf(d->data_dir, sizeof d->data_dir, "%s/node", d->tmp);
    snprintf(port_file, sizeof port_file, "%s/port.json", d->tmp);
    snprintf(log_file, sizeof log_file, "%s/wardd.log", d->tmp);

    fflush(NULL);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0)
        return fail_msg("fork", strerror(errno));
    if (pid == 0) {
        /* wardd goes with us, even if we are killed outright */
        if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != parent)
            _exit(126);
        int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
        int log = open(log_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (null < 0 || log < 0 || dup2(null, STDOUT_FILENO) < 0 || dup2(log, STDERR_FILENO) < 0)
            _exit(126);
        execl(wardd, wardd, "--foreground", "--data-dir", d->data_dir, "--listen",
              "127.0.0.1:0", "--port-file", port_file, "--log-level", "warn", (char *)NULL);
        _exit(127);
    }
    d->pid = pid;
    g_child = pid;
    for (int i = 0; i < 600; i++) { /* 60 s: a sanitizer build starts slowly */
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            d->pid = -1;
            g_child = -1;
            char *logtext = NULL;
            size_t ll = 0;
            fprintf(stderr, "ward demo: wardd exited during start-up (status %d)\n", st);
            if (read_file(log_file, &logtext, &ll, 65536) == 0)
                fputs(logtext, stderr);
            free(logtext);
            return -1;
        }
        if (interrupted())
            return -1;
        if (read_port_file(d, port_file))
            return 0;
        sleep_ms(100);
    }
    return fail_msg("wardd did not write its port file in 60 s", NULL);
}

/* SIGTERM and wait (SIGKILL after 30 s); returns wardd's exit status (-1: none or abnormal). */
static int stop_node(demo *d)
{
    int code = -1;
    if (d->pid > 0) {
        kill(d->pid, SIGTERM);
        int st = 0;
        pid_t w = 0;
        for (int i = 0; i < 300 && w == 0; i++) {
            w = waitpid(d->pid, &st, WNOHANG);
            if (w == 0)
                sleep_ms(100);
        }
        if (w == 0) {
            kill(d->pid, SIGKILL);
            w = waitpid(d->pid, &st, 0);
        }
        if (w == d->pid && WIFEXITED(st))
            code = WEXITSTATUS(st);
        d->pid = -1;
        g_child = -1;
    }
    if (d->have_tmp) {
        nftw(d->tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        d->have_tmp = 0;
    }
    return code;
}

/* The node's platform certificate, pinned: the demo started this node itself. */
static int pin_platform(demo *d)
{
    char path[PATH_MAX + 32], *pem = NULL;
    size_t len = 0;
    snprintf(path, sizeof path, "%s/platform-cert.pem", d->data_dir);
    if (read_file(path, &pem, &len, 65536) != 0)
        return fail_msg("cannot read the node's platform certificate", path);
    ward_cert *cert = NULL;
    ward_err err = ward_cert_from_pem(pem, len, &cert);
    free(pem);
    if (err == WARD_OK)
        err = ward_cert_fingerprint(cert, d->pinned[0]);
    ward_cert_free(cert);
    if (err != WARD_OK)
        return fail("platform certificate");
    d->trust.anchors.pinned = (const uint8_t(*)[WARD_SHA256_LEN])d->pinned;
    d->trust.anchors.n_pinned = 1;
    /* The software TEE appraises as `warning` at best; the demo says so and accepts it. */
    static const char pol[] = "{\"version\":1,\"id\":\"policy://ward/demo\","
                              "\"accept_warning\":true}";
    if (ward_policy_parse(pol, sizeof pol - 1, &d->policy) != WARD_OK)
        return fail("policy");
    d->trust.policy = d->policy;
    d->channel.policy = d->policy;
    d->channel.trust = &d->trust.anchors;
    return 0;
}

/* Enrols a party in the node's identity database (the RBAC of issue 8: every /v1/tasks call
 * needs the caller's certificate key mapped to a user holding the permission), as
 * `ward user add NAME --role ROLE --no-password` and `ward user cert add` would. */
static int enrol(demo *d, party *const *parties, const char *const *roles, size_t n)
{
    ward_rot *rot = NULL;
    ward_identity *db = NULL;
    uint8_t key[WARD_IDENTITY_KEY_LEN];
    ward_err err = ward_rot_open(d->data_dir, 0, &rot);
    if (err == WARD_OK)
        err = ward_rot_derive(rot, WARD_IDENTITY_KEY_LABEL, NULL, 0, key, sizeof key);
    if (err == WARD_OK)
        err = ward_identity_open(d->data_dir, 1, key, &db);
    ward_wipe(key, sizeof key);
    /* The analyst creates the tasks it receives the result of: the default result-consumer
     * role holds task.create for that (docs/security.md). */
    for (size_t i = 0; err == WARD_OK && i < n; i++) {
        uint8_t spki[WARD_SHA256_LEN];
        const char *role = roles[i];
        err = ward_identity_user_add(db, parties[i]->name, NULL, NULL, 0, &role, 1);
        if (err == WARD_OK)
            err = ward_pkey_spki_sha256(parties[i]->key, spki);
        if (err == WARD_OK)
            err = ward_identity_cert_map(db, parties[i]->name, spki);
    }
    ward_identity_close(db);
    ward_rot_close(rot);
    return err == WARD_OK ? 0 : fail("enrolling the parties in the node's identity database");
}

/* ---- identities ------------------------------------------------------------------------------ */

static int make_party(demo *d, party *p, const char *name)
{
    p->name = name;
    int64_t now = (int64_t)time(NULL);
    ward_cert_spec spec = {.common_name = name, .not_before = now - 60,
                           .not_after = now + 86400, .path_len = -1, .client_auth = 1};
    uint8_t *der = NULL;
    size_t dl = 0;
    ward_err err = ward_pkey_generate(WARD_KEY_EC_P256, &p->key);
    if (err == WARD_OK)
        err = ward_cert_create(&spec, p->key, NULL, p->key, &p->cert);
    if (err == WARD_OK)
        err = ward_pkey_spki_der(p->key, &der, &dl);
    if (err == WARD_OK)
        err = ward_base64_encode(der, dl, &p->spki_b64, NULL);
    free(der);
    /* The node is pinned by its TLS key (the port file's tls_spki_sha256) and its certificate's
     * evidence is checked in every handshake (attested TLS) with the demo's anchors and policy;
     * the task evidence is verified on its own (step 3). */
    if (err == WARD_OK)
        err = cli_client_new("127.0.0.1", d->port, d->tls_spki, p->key, p->cert, &d->channel,
                             &p->cl);
    if (err != WARD_OK)
        return fail(name);
    return 0;
}

static void free_party(party *p)
{
    cli_client_free(p->cl);
    ward_cert_free(p->cert);
    ward_pkey_free(p->key);
    free(p->spki_b64);
    memset(p, 0, sizeof *p);
}

/* ---- one task through the seven steps ------------------------------------------------------- */

static void task_run_free(task_run *t)
{
    ward_task_manifest_free(t->m);
    tc_task_keys_free(&t->keys);
    tc_result_free(&t->result);
    memset(t, 0, sizeof *t);
}

static int step_initiate(demo *d, const task_spec *s, task_run *t)
{
    tc_slot_spec slots[2];
    for (size_t i = 0; i < 2; i++)
        slots[i] = (tc_slot_spec){s->slot[i], s->owner[i]->spki_b64, SLOT_MAX_BYTES};
    tc_recipient_spec rcpt = {.identity = d->analyst.spki_b64};
    memcpy(rcpt.x25519, d->x_pk, sizeof rcpt.x25519);
    tc_manifest_spec ms = {.creator = d->analyst.spki_b64, .function = s->function,
                           .params = s->params, .slots = slots, .n_slots = 2,
                           .recipients = &rcpt, .n_recipients = 1,
                           .expires_at = (int64_t)time(NULL) + 3600,
                           .retention = "delete-on-done"};
    if (tc_manifest_build(&ms, &t->m) != WARD_OK)
        return fail("cannot build the manifest");
    snprintf(t->id, sizeof t->id, "%s", ward_task_id(t->m));
    ward_task_manifest_digest(t->m, t->digest);
    party *signers[3] = {&d->analyst, s->owner[0], s->owner[1]};
    for (size_t i = 0; i < 3; i++)
        if (ward_task_sign(t->m, signers[i]->key) != WARD_OK)
            return fail("signing the manifest");
    char dh[17];
    hex_short(t->digest, 8, dh, sizeof dh);
    fflush(stdout);
    printf("   analyst writes the manifest: function %s, slots %s (owner %s)\n"
           "   and %s (owner %s), result to the analyst's X25519 key, expiry in 1 h;\n   manifest SHA-256 %s...\n"
           "   analyst, %s and %s each sign it (RFC 8785 canonical JSON, ECDSA P-256)\n",
           s->function, s->slot[0], s->owner[0]->name, s->slot[1], s->owner[1]->name, dh,
           s->owner[0]->name, s->owner[1]->name);
    char *env = NULL;
    size_t el = 0;
    if (ward_task_envelope_serialize(t->m, &env, &el) != WARD_OK)
        return fail("envelope");
    json_t *j = call(&d->analyst, "POST", "/v1/tasks", env, el, 201);
    free(env);
    if (j == NULL)
        return -1;
    int ok = strcmp(jstr(j, "state"), "approved") == 0;
    if (ok)
        printf("   POST /v1/tasks: task %s approved; the node started a TA instance for it\n",
               t->id);
    else
        fprintf(stderr, "ward demo: task not approved: %s (%s)\n", jstr(j, "state"),
                jstr(j, "reason"));
    json_decref(j);
    return ok ? 0 : -1;
}

/* A participant fetches the task and checks its evidence with its own anchors and policy: the
 * node's platform key signed a report whose report_data binds this manifest and the task's
 * two keys. */
static int check_evidence(demo *d, party *p, task_run *t, int first)
{
    char path[128];
    snprintf(path, sizeof path, "/v1/tasks/%s", t->id);
    json_t *j = call(p, "GET", path, NULL, 0, 200);
    if (j == NULL)
        return -1;
    int rc = -1;
    char want[2 * WARD_TASK_HASH_LEN + 1];
    hex_short(t->digest, sizeof t->digest, want, sizeof want);
    tc_task_keys k;
    if (strcmp(jstr(j, "manifest_sha256"), want) != 0) {
        fail_msg("the node holds another manifest", jstr(j, "manifest_sha256"));
        goto out;
    }
    if (tc_check_evidence(json_object_get(j, "ta"), t->digest, &d->trust, &k) != 0)
        goto out;
    if (first) {
        t->keys = k;
    } else {
        int same = tc_task_keys_equal(&k, &t->keys);
        tc_task_keys_free(&k);
        if (!same) {
            fail_msg("the node showed this party other task keys", NULL);
            goto out;
        }
    }
    const ward_claims *c = &t->keys.claims;
    char meas[17], tpk[17];
    hex_short(c->measurement, c->measurement_len < 8 ? c->measurement_len : 8, meas,
              sizeof meas);
    hex_short(t->keys.task_pk, 8, tpk, sizeof tpk);
    printf("   %-10s: evidence verified (software TEE report, signed by the pinned platform "
           "key;\n"
           "               TA measurement %s..., SVN %u, debug %s; appraised `%s`, accepted\n"
           "               explicitly); report_data binds the manifest digest, task key\n"
           "               %s... and the task signing key\n",
           p->name, meas, (unsigned)c->svn, c->debug ? "on" : "off",
           ward_ear_status_name(t->keys.appraisal.status), tpk);
    rc = 0;
out:
    json_decref(j);
    return rc;
}

static int upload(demo *d, party *p, task_run *t, size_t i, const char *slot,
                  const demo_buf *csv)
{
    (void)d;
    tc_upload_stats st;
    tc_mem_source ms;
    tc_source src = tc_source_mem(&ms, csv->p, csv->len);
    if (tc_upload(p->cl, p->name, t->id, slot, t->keys.task_pk, &src, UPLOAD_CHUNK, NULL,
                  &st) != 0)
        return -1;
    memcpy(t->sent_sha256[i], st.pt_sha256, 32);
    printf("   %-10s: %zu bytes of CSV -> %llu bytes encrypted to the task key (AAD "
           "\"ward-task-input-v1/...\")\n"
           "               and uploaded in %zu chunks in %.2f s (encryption %.2f s of it,\n"
           "               overlapped with the transfer)\n",
           p->name, csv->len, (unsigned long long)st.ct_len, st.chunks, st.send_s, st.seal_s);
    return 0;
}

/* The analyst fetches the result, checks the signature with the key the evidence bound,
 * decrypts it and checks it against the signed statement, which must also name exactly the
 * inputs the hospitals sent. */
static int fetch_result(demo *d, const task_spec *s, task_run *t)
{
    char path[128];
    snprintf(path, sizeof path, "/v1/tasks/%s/result", t->id);
    json_t *j = call(&d->analyst, "GET", path, NULL, 0, 200);
    if (j == NULL)
        return -1;
    int rc = -1;
    uint8_t ih[32];
    uint64_t records[2] = {s->records[0], s->records[1]};
    if (tc_result_open(d->analyst.cl, d->analyst.name, j, t->m, &t->keys, d->x_sk, NULL, NULL,
                       &t->result) != 0)
        goto out;
    if (tc_inputs_digest(t->m, (const uint8_t(*)[32])t->sent_sha256, records, ih) != WARD_OK ||
        memcmp(ih, t->result.inputs_digest, 32) != 0) {
        fail_msg("the statement names other inputs than the providers sent", NULL);
        goto out;
    }
    printf("   analyst: result signature verified with the task signing key the evidence bound;\n"
           "            the statement names this manifest, the agreed %s, and exactly the two\n"
           "            inputs the hospitals sent (SHA-256 and record counts);\n"
           "            decrypted with the analyst's X25519 key: %zu bytes of CSV, hash matches\n",
           strcmp(s->function, "sql") == 0 ? "query" : "key column", t->result.csv_len);
    rc = 0;
out:
    json_decref(j);
    return rc;
}

static int check_destroyed(demo *d, party *p, const task_run *t)
{
    (void)d;
    char path[128];
    snprintf(path, sizeof path, "/v1/tasks/%s", t->id);
    json_t *j = call(p, "GET", path, NULL, 0, 200);
    if (j == NULL)
        return -1;
    json_t *slots = json_object_get(j, "slots");
    int deleted = json_array_size(slots) == 2;
    for (size_t i = 0; i < json_array_size(slots); i++)
        deleted &= json_is_true(json_object_get(json_array_get(slots, i), "deleted"));
    int alive = json_is_true(json_object_get(json_object_get(j, "ta"), "alive"));
    int ok = strcmp(jstr(j, "state"), "done") == 0 && !alive && deleted;
    if (ok)
        printf("   task %s: state done;\n   TA instance destroyed (its keys and plaintext wiped);\n"
               "   both input ciphertexts deleted (retention delete-on-done); every step is in\n"
               "   the node's audit log\n",
               t->id);
    else
        fprintf(stderr, "ward demo: after the run: state %s, TA alive %d, inputs deleted %d\n",
                jstr(j, "state"), alive, deleted);
    json_decref(j);
    return ok ? 0 : -1;
}

static int run_task(demo *d, const task_spec *s, task_run *t, const char *label)
{
    printf("\n=== %s ===\n", label);
    step("2. Initiate the task");
    if (step_initiate(d, s, t) != 0)
        return -1;
    step_done();

    step("3. Get keys and tools (each data provider checks the task's evidence)");
    if (check_evidence(d, s->owner[0], t, 1) != 0 || check_evidence(d, s->owner[1], t, 0) != 0)
        return -1;
    step_done();

    step("4. Prepare data (each provider encrypts its file to the task key and uploads it)");
    for (size_t i = 0; i < 2; i++)
        if (upload(d, s->owner[i], t, i, s->slot[i], s->input[i]) != 0)
            return -1;
    printf("   the node holds ciphertext only\n");
    step_done();

    step("5. Decrypt (inside the TA only) and 6. Compute");
    char path[128];
    snprintf(path, sizeof path, "/v1/tasks/%s/run", t->id);
    json_t *j = call(&d->analyst, "POST", path, NULL, 0, 200);
    if (j == NULL)
        return -1;
    int done = strcmp(jstr(j, "state"), "done") == 0;
    if (!done)
        fprintf(stderr, "ward demo: run: %s (%s)\n", jstr(j, "state"), jstr(j, "reason"));
    json_decref(j);
    if (!done)
        return -1;
    printf("   POST .../run: wardd streamed both ciphertexts into the TA, which decrypted them,\n"
           "   loaded them as tables, ran the agreed %s, signed the result with its task key\n"
           "   and encrypted it to the analyst\n",
           strcmp(s->function, "sql") == 0 ? "query" : "intersection");
    if (fetch_result(d, s, t) != 0)
        return -1;
    step_done();
    return 0;
}

/* ---- the two tasks -------------------------------------------------------------------------- */

static const char QUERY[] =
    "SELECT p.region AS region, p.diagnosis AS diagnosis, "
    "COUNT(DISTINCT p.patient_id) AS patients, COUNT(*) AS treatments, "
    "printf('%.2f', AVG(t.cost_cents) / 100.0) AS avg_cost "
    "FROM patients AS p JOIN treatments AS t ON t.patient_id = p.patient_id "
    "GROUP BY p.region, p.diagnosis ORDER BY p.region, p.diagnosis";

/* Prints up to max lines of a CRLF CSV (the header first); returns the number of records. */
static size_t print_csv(const uint8_t *csv, size_t len, size_t max, const char *indent)
{
    size_t lines = 0, start = 0;
    for (size_t i = 0; i < len; i++) {
        if (csv[i] != '\n')
            continue;
        size_t end = i > start && csv[i - 1] == '\r' ? i - 1 : i;
        if (lines < max)
            printf("%s%.*s\n", indent, (int)(end - start), (const char *)csv + start);
        lines++;
        start = i + 1;
    }
    if (start < len)
        lines++;
    if (lines > max)
        printf("%s...\n", indent);
    return lines > 0 ? lines - 1 : 0;
}

static int sql_task(demo *d)
{
    json_t *params = json_pack("{s:s}", "query", QUERY);
    task_spec s = {.function = "sql", .params = params,
                   .slot = {"patients", "treatments"}, .owner = {&d->a, &d->b},
                   .input = {&d->data.patients, &d->data.treatments},
                   .records = {d->rows, d->rows}};
    task_run t = {0};
    int rc = params != NULL ? run_task(d, &s, &t, "Task 1: sql (join + group-by)") : -1;
    if (rc == 0) {
        printf("\n   The analyst's result (cost per region and diagnosis, patients of hospital A\n"
               "   treated at hospital B):\n\n");
        size_t n = print_csv(t.result.csv, t.result.csv_len, 11, "     ");
        printf("\n   sql result: %zu rows\n", n);
        step("7. Destroy");
        rc = check_destroyed(d, &d->a, &t);
        if (rc == 0)
            step_done();
    }
    task_run_free(&t);
    json_decref(params);
    return rc;
}

static int psi_task(demo *d)
{
    json_t *params = json_pack("{s:s, s:[s]}", "key", "patient_id", "columns", "patient_id");
    task_spec s = {.function = "psi", .params = params,
                   .slot = {"ids_a", "ids_b"}, .owner = {&d->a, &d->b},
                   .input = {&d->data.ids_a, &d->data.ids_b},
                   .records = {d->rows, d->data.n_ids_b}};
    task_run t = {0};
    int rc = params != NULL ? run_task(d, &s, &t,
                                       "Task 2: psi (the patients both hospitals have)")
                            : -1;
    if (rc == 0) {
        printf("\n   The analyst's result (only ids in both sets; neither hospital sees the "
               "other's list):\n\n");
        size_t n = print_csv(t.result.csv, t.result.csv_len, 6, "     ");
        printf("\n   psi result: %zu common patient ids (of %zu at A and %zu at B)\n", n, d->rows,
               d->data.n_ids_b);
        if (n != d->data.n_common) {
            fprintf(stderr, "ward demo: psi found %zu, the generator made %zu\n", n,
                    d->data.n_common);
            rc = -1;
        }
    }
    if (rc == 0) {
        step("7. Destroy");
        rc = check_destroyed(d, &d->b, &t);
        if (rc == 0)
            step_done();
    }
    task_run_free(&t);
    json_decref(params);
    return rc;
}

/* ---- the command ----------------------------------------------------------------------------- */

static void on_check(void *arg, const char *name, ward_err result, const char *message)
{
    (void)arg;
    if (result != WARD_OK)
        printf("    %-12s FAILED: %s\n", name, message);
}

static int parse_rows(const char *s, size_t *out)
{
    if (s == NULL || s[0] < '0' || s[0] > '9')
        return 0;
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < DEMO_ROWS_MIN || v > DEMO_ROWS_MAX)
        return 0;
    *out = (size_t)v;
    return 1;
}

static int demo_main(demo *d)
{
    double t_all = now_s();
    step("0. Cryptographic self-test (known answers from the RFCs)");
    if (ward_selftest(on_check, NULL) != WARD_OK)
        return fail_msg("self-test failed: refusing to go on", NULL);
    printf("   all checks passed\n");
    step_done();

    step("1. Create the TEE (start a node on this machine)");
    if (start_node(d) != 0 || pin_platform(d) != 0)
        return -1;
    char fp[17], tls[17];
    hex_short(d->pinned[0], 8, fp, sizeof fp);
    hex_short(d->tls_spki, 8, tls, sizeof tls);
    printf("   wardd listens on 127.0.0.1:%d (attested TLS 1.3, key %s...), data in a fresh\n"
           "   temporary directory; platform certificate SHA-256 %s...\n"
           "   Trust anchor: this demo started the node itself, so it pins the node's platform\n"
           "   certificate read from the node's data directory. A real data provider gets that\n"
           "   anchor out of band (or an enrolment CA), never from the node it is checking.\n",
           d->port, tls, fp);
    step_done();

    step("   Identities and data");
    if (ward_x25519_generate(d->x_sk, d->x_pk) != WARD_OK)
        return fail("X25519 key");
    if (make_party(d, &d->a, "hospital-a") != 0 || make_party(d, &d->b, "hospital-b") != 0 ||
        make_party(d, &d->analyst, "analyst") != 0)
        return -1;
    party *const who[3] = {&d->a, &d->b, &d->analyst};
    static const char *const roles[3] = {"data-provider", "data-provider", "result-consumer"};
    if (enrol(d, who, roles, 3) != 0)
        return -1;
    printf("   hospital-a, hospital-b (data providers) and analyst (recipient): P-256 keys with\n"
           "   self-signed certificates (their mutual-TLS identities); the analyst also has an\n"
           "   X25519 key the result is encrypted to; each is enrolled in the node's identity\n"
           "   database (hospitals: data-provider, analyst: result-consumer)\n");
    if (demo_data_generate(d->rows, SEED, &d->data) != WARD_OK)
        return fail("generating data");
    printf("   hospital-a: %zu patients (patient_id, age, region, diagnosis), %zu bytes\n"
           "   hospital-b: %zu treatments (patient_id, treatment, cost_cents), %zu bytes\n",
           d->rows, d->data.patients.len, d->rows, d->data.treatments.len);
    step_done();

    if (sql_task(d) != 0 || interrupted() || psi_task(d) != 0)
        return -1;
    printf("\nAll seven steps done for both tasks in %.1f s.\n", now_s() - t_all);
    return 0;
}

int cmd_demo(const struct cli_opts *o, int argc, char **argv)
{
    (void)o;
    if (cli_wants_help(argc, argv)) {
        fputs(help, stdout);
        return EXIT_OK;
    }
    size_t rows = DEFAULT_ROWS;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--rows") == 0 && i + 1 < argc) {
            if (!parse_rows(argv[++i], &rows)) {
                fprintf(stderr, "ward demo: --rows must be %u .. %u\n", DEMO_ROWS_MIN,
                        DEMO_ROWS_MAX);
                return EXIT_USAGE;
            }
        } else {
            fprintf(stderr, "ward demo: unexpected argument '%s'\n\n%s", argv[i], help);
            return EXIT_USAGE;
        }
    }

    printf("Ward demo (version %s): the reference process (DESIGN 4), for real, on this "
           "machine\n",
           WARD_VERSION);
    printf("Trust: software TEE (ward-sw). It protects trusted applications from host code,\n"
           "other TAs and local users, NOT from this machine's root.\n");

    static demo d; /* static: the signal handler only reads g_child */
    memset(&d, 0, sizeof d);
    d.pid = -1;
    d.rows = rows;
    struct sigaction sa, old_int, old_term, old_hup;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    g_signal = 0;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    sigaction(SIGHUP, &sa, &old_hup);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    tc_prog = "ward demo";

    int rc = demo_main(&d);

    free_party(&d.a);
    free_party(&d.b);
    free_party(&d.analyst);
    demo_data_free(&d.data);
    ward_wipe(d.x_sk, sizeof d.x_sk);
    ward_policy_free(d.policy);
    d.policy = NULL;
    int had_node = d.pid > 0;
    int node_rc = stop_node(&d);
    curl_global_cleanup();
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    sigaction(SIGHUP, &old_hup, NULL);
    if (had_node) {
        if (node_rc == 0)
            printf("\nNode stopped (SIGTERM, exit 0); temporary directory removed.\n");
        else
            fprintf(stderr, "ward demo: wardd did not stop cleanly (exit %d)\n", node_rc);
    }
    if (rc == 0 && had_node && node_rc == 0) {
        printf("Trust: software TEE (ward-sw): TAs protected from host code and local users,\n"
               "       not from this machine's root.\n");
        return EXIT_OK;
    }
    return EXIT_FAIL;
}
