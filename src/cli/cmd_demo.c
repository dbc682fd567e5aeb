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
#include "ward/claims.h"
#include "ward/crypto.h"
#include "ward/encoding.h"
#include "ward/evidence.h"
#include "ward/json.h"
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
    "  --rows N   rows per hospital (default 200000, 100 .. 300000); the data is generated\n"
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
    ward_evidence_trust trust;
    party a, b, analyst;
    uint8_t x_sk[WARD_X25519_LEN], x_pk[WARD_X25519_LEN]; /* the analyst's result key */
    demo_data data;
    size_t rows;
} demo;

typedef struct task_spec {
    const char *function; /* "sql" or "psi" */
    json_t *params;       /* borrowed */
    const char *params_text; /* what the statement hashes: the query, or "key LF columns" */
    const char *slot[2];
    party *owner[2];
    const demo_buf *input[2];
    size_t records[2];
} task_spec;

typedef struct task_run {
    char id[WARD_TASK_ID_HEX_LEN + 1];
    ward_task_manifest *m;
    uint8_t digest[WARD_TASK_HASH_LEN];
    uint8_t task_pk[WARD_X25519_LEN];
    uint8_t *sign_spki;
    size_t sign_spki_len;
    ward_pkey *sign_pk;
    uint8_t *csv; /* the decrypted result */
    size_t csv_len;
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

static int fail(const char *what)
{
    fprintf(stderr, "ward demo: %s: %s\n", what, ward_errmsg());
    return -1;
}

static int fail_msg(const char *what, const char *detail)
{
    fprintf(stderr, "ward demo: %s%s%s\n", what, detail != NULL ? ": " : "",
            detail != NULL ? detail : "");
    return -1;
}

static void hex_short(const uint8_t *p, size_t n, char *out, size_t cap)
{
    size_t i = 0;
    for (; i < n && 2 * i + 3 <= cap; i++)
        snprintf(out + 2 * i, 3, "%02x", p[i]);
    out[2 * i] = '\0';
}

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
    fflush(stdout);
    cli_resp r;
    if (cli_client_request(p->cl, method, path, body, len, &r) != WARD_OK) {
        fail(path);
        return NULL;
    }
    json_t *j = NULL;
    if (r.status != want) {
        fprintf(stderr, "ward demo: %s %s as %s: HTTP %ld: %.*s\n", method, path, p->name,
                r.status, (int)(r.len > 1000 ? 1000 : r.len), r.body);
    } else {
        json_error_t je;
        j = json_loadb(r.body, r.len, 0, &je);
        if (j == NULL || !json_is_object(j)) {
            fprintf(stderr, "ward demo: %s %s: reply is not a JSON object\n", method, path);
            json_decref(j);
            j = NULL;
        }
    }
    cli_resp_free(&r);
    return j;
}

static const char *jstr(json_t *j, const char *member)
{
    const char *s = json_string_value(json_object_get(j, member));
    return s != NULL ? s : "";
}

static int b64u_member(json_t *j, const char *member, uint8_t **out, size_t *len)
{
    const char *s = json_string_value(json_object_get(j, member));
    if (s == NULL)
        return fail_msg("reply lacks", member);
    if (ward_base64url_decode(s, strlen(s), out, len) != WARD_OK)
        return fail(member);
    return 0;
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
    d->trust.pinned = (const uint8_t(*)[WARD_SHA256_LEN])d->pinned;
    d->trust.n_pinned = 1;
    return 0;
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
    /* The node is pinned by its TLS key (the port file's tls_spki_sha256). The attested-TLS
     * verifier is not used here: under the default policy the software TEE's
     * channel evidence is not accepted; the task evidence is verified explicitly (step 3). */
    if (err == WARD_OK)
        err = cli_client_new(d->port, d->tls_spki, p->key, p->cert, NULL, &p->cl);
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
    ward_pkey_free(t->sign_pk);
    free(t->sign_spki);
    if (t->csv != NULL) {
        ward_wipe(t->csv, t->csv_len);
        free(t->csv);
    }
    memset(t, 0, sizeof *t);
}

static ward_task_manifest *build_manifest(demo *d, const task_spec *s, const char *id)
{
    char x[2 * WARD_X25519_LEN + 1];
    hex_short(d->x_pk, sizeof d->x_pk, x, sizeof x);
    json_t *inputs = json_array();
    for (size_t i = 0; i < 2 && inputs != NULL; i++) {
        json_t *slot = json_pack("{s:s, s:s, s:I}", "slot", s->slot[i], "owner",
                                 s->owner[i]->spki_b64, "max_bytes", SLOT_MAX_BYTES);
        if (slot == NULL || json_array_append_new(inputs, slot) != 0) {
            json_decref(inputs);
            inputs = NULL;
        }
    }
    if (inputs == NULL)
        return NULL;
    json_t *j = json_pack("{s:i, s:s, s:s, s:{s:s}, s:O, s:o, s:[{s:s, s:s}], s:I, s:s}",
                          "version", 1, "task_id", id, "creator", d->analyst.spki_b64,
                          "function", "builtin", s->function, "params", s->params, "inputs",
                          inputs, "recipients", "identity", d->analyst.spki_b64, "x25519", x,
                          "expires_at", (json_int_t)time(NULL) + 3600, "retention",
                          "delete-on-done");
    if (j == NULL)
        return NULL;
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (text == NULL)
        return NULL;
    ward_task_manifest *m = NULL;
    if (ward_task_manifest_parse(text, strlen(text), &m) != WARD_OK)
        fail("manifest");
    free(text);
    return m;
}

static int step_initiate(demo *d, const task_spec *s, task_run *t)
{
    uint8_t rid[16];
    if (ward_random(rid, sizeof rid) != WARD_OK)
        return fail("task id");
    hex_short(rid, sizeof rid, t->id, sizeof t->id);
    t->m = build_manifest(d, s, t->id);
    if (t->m == NULL)
        return fail_msg("cannot build the manifest", NULL);
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

/* A participant fetches the task and checks its evidence: the node's platform key signed a
 * report whose report_data binds this manifest and the task's two keys. */
static int check_evidence(demo *d, party *p, task_run *t, int first)
{
    char path[128];
    snprintf(path, sizeof path, "/v1/tasks/%s", t->id);
    json_t *j = call(p, "GET", path, NULL, 0, 200);
    if (j == NULL)
        return -1;
    int rc = -1;
    char *ev = NULL;
    uint8_t *spki = NULL;
    size_t spl = 0;
    uint8_t pk[WARD_X25519_LEN];
    char want[2 * WARD_TASK_HASH_LEN + 1];
    hex_short(t->digest, sizeof t->digest, want, sizeof want);
    json_t *ta = json_object_get(j, "ta");
    const char *pkhex = jstr(ta, "task_pk");
    if (strcmp(jstr(j, "manifest_sha256"), want) != 0) {
        fail_msg("the node holds another manifest", jstr(j, "manifest_sha256"));
        goto out;
    }
    if (!json_is_object(ta) || ward_hex_decode_fixed(pkhex, strlen(pkhex), pk, sizeof pk) !=
                                   WARD_OK || b64u_member(ta, "sign_pk", &spki, &spl) != 0) {
        fail_msg("the task has no TA keys", NULL);
        goto out;
    }
    ev = json_dumps(json_object_get(ta, "evidence"), JSON_COMPACT);
    if (ev == NULL) {
        fail_msg("the task has no evidence", NULL);
        goto out;
    }
    ward_claims claims;
    ward_evidence_result res;
    if (ward_evidence_verify(ev, strlen(ev), &d->trust, (int64_t)time(NULL), &claims, &res) !=
        WARD_OK) {
        fail("evidence refused");
        goto out;
    }
    /* report_data = SHA-256(manifest digest || task_pk || SHA-256(sign_pk)) || 0^32 */
    uint8_t bind[96], expect[64] = {0};
    memcpy(bind, t->digest, 32);
    memcpy(bind + 32, pk, 32);
    if (ward_hash(WARD_HASH_SHA256, spki, spl, bind + 64) != WARD_OK ||
        ward_hash(WARD_HASH_SHA256, bind, sizeof bind, expect) != WARD_OK) {
        fail("hash");
        goto out;
    }
    if (memcmp(claims.report_data, expect, sizeof expect) != 0) {
        fail_msg("the report does not bind this manifest and these keys", NULL);
        goto out;
    }
    if (first) {
        memcpy(t->task_pk, pk, sizeof pk);
        t->sign_spki = spki;
        t->sign_spki_len = spl;
        spki = NULL;
        if (ward_pkey_from_spki_der(t->sign_spki, t->sign_spki_len, &t->sign_pk) != WARD_OK) {
            fail("task signing key");
            goto out;
        }
    } else if (memcmp(pk, t->task_pk, sizeof pk) != 0 || spl != t->sign_spki_len ||
               memcmp(spki, t->sign_spki, spl) != 0) {
        fail_msg("the node showed this party other task keys", NULL);
        goto out;
    }
    char meas[17], tpk[17];
    hex_short(claims.measurement, claims.measurement_len < 8 ? claims.measurement_len : 8, meas,
              sizeof meas);
    hex_short(pk, 8, tpk, sizeof tpk);
    printf("   %-10s: evidence verified (software TEE report, signed by the pinned platform "
           "key;\n"
           "               TA measurement %s..., SVN %u, debug %s); report_data binds the\n"
           "               manifest digest, task key %s... and the task signing key\n",
           p->name, meas, (unsigned)claims.svn, claims.debug ? "on" : "off", tpk);
    rc = 0;
out:
    free(spki);
    free(ev);
    json_decref(j);
    return rc;
}

static int upload(demo *d, party *p, const task_run *t, const char *slot, const demo_buf *csv)
{
    (void)d;
    char aad[WARD_TASK_AAD_MAX + 1];
    int n = snprintf(aad, sizeof aad, "ward-task-input-v1/%s/%s", t->id, slot);
    if (n < 0 || (size_t)n >= sizeof aad)
        return fail_msg("slot name too long", slot);
    double t0 = now_s();
    uint8_t *ct = NULL;
    size_t ctl = 0;
    if (ward_stream_seal(t->task_pk, 0, (const uint8_t *)aad, (size_t)n,
                         (const uint8_t *)csv->p, csv->len, &ct, &ctl) != WARD_OK)
        return fail("encryption");
    double t1 = now_s();
    int rc = 0;
    size_t off = 0, chunks = 0;
    while (rc == 0 && off < ctl) {
        size_t len = ctl - off < UPLOAD_CHUNK ? ctl - off : UPLOAD_CHUNK;
        int final = off + len == ctl;
        char path[256];
        snprintf(path, sizeof path, "/v1/tasks/%s/inputs/%s?offset=%zu%s", t->id, slot, off,
                 final ? "&final=1" : "");
        json_t *j = call(p, "PUT", path, ct + off, len, 200);
        if (j == NULL) {
            rc = -1;
            break;
        }
        json_int_t got = json_integer_value(json_object_get(j, "offset"));
        if (got < 0 || (size_t)got != off + len ||
            (final && !json_is_true(json_object_get(j, "complete")))) {
            rc = fail_msg("the node stored something else", NULL);
        }
        json_decref(j);
        off += len;
        chunks++;
    }
    double t2 = now_s();
    free(ct);
    if (rc == 0)
        printf("   %-10s: %zu bytes of CSV -> %zu bytes encrypted to the task key (AAD \"%.*s...\")"
               " in %.2f s;\n"
               "               uploaded in %zu chunks in %.2f s\n",
               p->name, csv->len, ctl, 28, aad, t1 - t0, chunks, t2 - t1);
    return rc;
}

/* inputs digest: per slot in manifest order: u32le name length, name, u32le aad length, aad,
 * SHA-256 of the plaintext, u64le records (docs/builtins.md). */
static int inputs_digest(const task_spec *s, const task_run *t, uint8_t out[32])
{
    uint8_t buf[2 * (4 + WARD_TASK_SLOT_NAME_MAX + 4 + WARD_TASK_AAD_MAX + 32 + 8)];
    size_t len = 0;
    for (size_t i = 0; i < 2; i++) {
        char aad[WARD_TASK_AAD_MAX + 1];
        int an = snprintf(aad, sizeof aad, "ward-task-input-v1/%s/%s", t->id, s->slot[i]);
        size_t nl = strlen(s->slot[i]);
        if (an < 0 || (size_t)an >= sizeof aad || nl > WARD_TASK_SLOT_NAME_MAX)
            return -1;
        uint32_t l32 = (uint32_t)nl;
        for (int k = 0; k < 4; k++)
            buf[len++] = (uint8_t)(l32 >> (8 * k));
        memcpy(buf + len, s->slot[i], nl);
        len += nl;
        l32 = (uint32_t)an;
        for (int k = 0; k < 4; k++)
            buf[len++] = (uint8_t)(l32 >> (8 * k));
        memcpy(buf + len, aad, (size_t)an);
        len += (size_t)an;
        if (ward_hash(WARD_HASH_SHA256, s->input[i]->p, s->input[i]->len, buf + len) != WARD_OK)
            return -1;
        len += 32;
        uint64_t r = s->records[i];
        for (int k = 0; k < 8; k++)
            buf[len++] = (uint8_t)(r >> (8 * k));
    }
    return ward_hash(WARD_HASH_SHA256, buf, len, out) == WARD_OK ? 0 : -1;
}

/* The analyst fetches the result, checks the signature with the key the evidence bound,
 * decrypts it and checks it against the signed statement. */
static int fetch_result(demo *d, const task_spec *s, task_run *t)
{
    char path[128];
    snprintf(path, sizeof path, "/v1/tasks/%s/result", t->id);
    json_t *j = call(&d->analyst, "GET", path, NULL, 0, 200);
    if (j == NULL)
        return -1;
    int rc = -1;
    uint8_t *st = NULL, *sig = NULL, *enc = NULL, *spk = NULL;
    size_t stl = 0, sigl = 0, encl = 0, spl = 0;
    if (b64u_member(j, "statement", &st, &stl) != 0 ||
        b64u_member(j, "signature", &sig, &sigl) != 0 ||
        b64u_member(j, "result_enc", &enc, &encl) != 0 ||
        b64u_member(j, "sign_pk", &spk, &spl) != 0)
        goto out;
    if (spl != t->sign_spki_len || memcmp(spk, t->sign_spki, spl) != 0) {
        fail_msg("the result was signed by a key the evidence did not bind", NULL);
        goto out;
    }
    if (ward_verify(t->sign_pk, WARD_HASH_SHA256, WARD_SIG_RAW, st, stl, sig, sigl) != WARD_OK) {
        fail("result signature");
        goto out;
    }
    /* "WARD-RESULT-1" 0 | u8 len | function | digest | SHA-256(params) | inputs | SHA-256(csv)
     * | u64le length */
    size_t fl = strlen(s->function);
    size_t want = 14 + 1 + fl + 4 * 32 + 8;
    uint8_t h[32], ih[32];
    if (stl != want || memcmp(st, "WARD-RESULT-1", 14) != 0 || st[14] != fl ||
        memcmp(st + 15, s->function, fl) != 0 || memcmp(st + 15 + fl, t->digest, 32) != 0) {
        fail_msg("the statement is not about this task", NULL);
        goto out;
    }
    const uint8_t *p = st + 15 + fl + 32;
    if (ward_hash(WARD_HASH_SHA256, s->params_text, strlen(s->params_text), h) != WARD_OK ||
        memcmp(p, h, 32) != 0) {
        fail_msg("the statement names other parameters", NULL);
        goto out;
    }
    if (inputs_digest(s, t, ih) != 0 || memcmp(p + 32, ih, 32) != 0) {
        fail_msg("the statement names other inputs than the providers sent", NULL);
        goto out;
    }
    if (ward_stream_open(d->x_sk, t->digest, sizeof t->digest, enc, encl, &t->csv,
                         &t->csv_len) != WARD_OK) {
        fail("decrypting the result");
        goto out;
    }
    uint64_t n = 0;
    for (int k = 0; k < 8; k++)
        n |= (uint64_t)p[96 + k] << (8 * k);
    if (ward_hash(WARD_HASH_SHA256, t->csv, t->csv_len, h) != WARD_OK ||
        memcmp(p + 64, h, 32) != 0 || n != t->csv_len) {
        fail_msg("the decrypted result is not the one the TA signed", NULL);
        goto out;
    }
    printf("   analyst: result signature verified with the task signing key the evidence bound;\n"
           "            the statement names this manifest, the agreed %s, and exactly the two\n"
           "            inputs the hospitals sent (SHA-256 and record counts);\n"
           "            decrypted with the analyst's X25519 key: %zu bytes of CSV, hash matches\n",
           strcmp(s->function, "sql") == 0 ? "query" : "key column", t->csv_len);
    rc = 0;
out:
    free(st);
    free(sig);
    free(enc);
    free(spk);
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
        if (upload(d, s->owner[i], t, s->slot[i], s->input[i]) != 0)
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
    task_spec s = {.function = "sql", .params = params, .params_text = QUERY,
                   .slot = {"patients", "treatments"}, .owner = {&d->a, &d->b},
                   .input = {&d->data.patients, &d->data.treatments},
                   .records = {d->rows, d->rows}};
    task_run t = {0};
    int rc = params != NULL ? run_task(d, &s, &t, "Task 1: sql (join + group-by)") : -1;
    if (rc == 0) {
        printf("\n   The analyst's result (cost per region and diagnosis, patients of hospital A\n"
               "   treated at hospital B):\n\n");
        size_t n = print_csv(t.csv, t.csv_len, 11, "     ");
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
    task_spec s = {.function = "psi", .params = params, .params_text = "patient_id\npatient_id",
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
        size_t n = print_csv(t.csv, t.csv_len, 6, "     ");
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
    printf("   hospital-a, hospital-b (data providers) and analyst (recipient): P-256 keys with\n"
           "   self-signed certificates (their mutual-TLS identities); the analyst also has an\n"
           "   X25519 key the result is encrypted to\n");
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

    int rc = demo_main(&d);

    free_party(&d.a);
    free_party(&d.b);
    free_party(&d.analyst);
    demo_data_free(&d.data);
    ward_wipe(d.x_sk, sizeof d.x_sk);
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
