/* `ward node start|status|stop` (docs/cli.md): run the wardd beside this ward in the
 * background on a data directory, and look at a node as a participant sees it: is it up, its
 * tasks by state, and what its attested TLS certificate proves (and does not). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "cli/cli.h"
#include "cli/participant.h"
#include "ward/channel.h"
#include "ward/encoding.h"

static const char help[] =
    "usage: ward node start [--data-dir DIR] [--listen ADDR:PORT] [--builtin-dir DIR]\n"
    "                       [--policy FILE] [--log-level LEVEL] [--json]\n"
    "       ward node status [NODE OPTIONS] [--json]\n"
    "       ward node stop [--data-dir DIR] [--json]\n"
    "\n"
    "  start   runs the wardd next to this ward in the background on DIR (default\n"
    "          $XDG_DATA_HOME/ward, else ~/.local/share/ward; listen default 127.0.0.1:7443,\n"
    "          port 0: any free port), waits until it listens and prints its address, its TLS\n"
    "          key pin and its platform certificate (the trust anchor participants need).\n"
    "          Writes DIR/node.json (the node file), DIR/wardd.pid; logs go to DIR/wardd.log\n"
    "  status  the node's health, its tasks by state (from /metrics) and its attestation:\n"
    "          the evidence in its TLS certificate, verified with your anchors and policy\n"
    "  stop    SIGTERM to the wardd started on DIR, and waits until it has exited\n"
    "\n"
    "node options (also for `ward task`):\n"
    "  --node FILE|HOST:PORT  the node file `ward node start` wrote (address and TLS key pin),\n"
    "                         or an address (default: $WARD_NODE, else DATA_DIR/node.json)\n"
    "  --data-dir DIR         where the default node file is\n"
    "  --pin HEX              the node's TLS key (SHA-256 of its SPKI), as start printed it\n"
    "  --trust-cert PEM       a trust anchor for the node's platform key: its platform\n"
    "                         certificate (pinned) or an enrolment CA (repeatable). With one,\n"
    "                         every connection checks the attested TLS certificate\n"
    "  --policy FILE          your appraisal policy (docs/attestation.md)\n"
    "  --accept-warning       accept `warning` (a software TEE never gets better): say so\n"
    "                         knowing that the node machine's root is trusted\n";

static int usage(const char *msg)
{
    fprintf(stderr, "ward node: %s\n\n%s", msg, help);
    return EXIT_USAGE;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int path_in(char *out, size_t cap, const char *dir, const char *file)
{
    int n = snprintf(out, cap, "%s/%s", dir, file);
    return n >= 0 && (size_t)n < cap ? 0 : -1;
}

static char *data_dir_or_default(const char *d)
{
    if (d != NULL)
        return strdup(d);
    char *out = NULL;
    if (node_default_data_dir(&out) != WARD_OK) {
        cli_error("node: no data directory", 1);
        return NULL;
    }
    return out;
}

/* The pid of the wardd started on dir, if it still runs (and is a wardd). */
static pid_t running_pid(const char *dir)
{
    char path[PATH_MAX], *text = NULL, exe[PATH_MAX], link[64];
    size_t len = 0;
    if (path_in(path, sizeof path, dir, "wardd.pid") != 0 ||
        cli_read_file(path, 64, &text, &len) != WARD_OK)
        return -1;
    long pid = strtol(text, NULL, 10);
    free(text);
    if (pid <= 1 || pid > INT_MAX || kill((pid_t)pid, 0) != 0)
        return -1;
    snprintf(link, sizeof link, "/proc/%ld/exe", pid);
    ssize_t n = readlink(link, exe, sizeof exe - 1);
    if (n <= 0)
        return -1;
    exe[n] = '\0';
    const char *base = strrchr(exe, '/');
    base = base != NULL ? base + 1 : exe;
    return strncmp(base, "wardd", 5) == 0 ? (pid_t)pid : -1;
}

static int wardd_path(char *out, size_t cap)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return -1;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash == NULL)
        return -1;
    *slash = '\0';
    int k = snprintf(out, cap, "%s/wardd", exe);
    return k >= 0 && (size_t)k < cap && access(out, X_OK) == 0 ? 0 : -1;
}

static int node_start(const struct cli_opts *o, int argc, char **argv)
{
    const char *dir_opt = NULL, *listen = "127.0.0.1:7443", *builtin = NULL, *policy = NULL,
               *level = "info";
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--json") == 0)
            continue;
        if (i + 1 >= argc)
            return usage("an option lacks its value, or an unexpected argument");
        if (strcmp(a, "--data-dir") == 0)
            dir_opt = argv[++i];
        else if (strcmp(a, "--listen") == 0)
            listen = argv[++i];
        else if (strcmp(a, "--builtin-dir") == 0)
            builtin = argv[++i];
        else if (strcmp(a, "--policy") == 0)
            policy = argv[++i];
        else if (strcmp(a, "--log-level") == 0)
            level = argv[++i];
        else
            return usage("unexpected argument");
    }
    char wardd[PATH_MAX];
    if (wardd_path(wardd, sizeof wardd) != 0) {
        fprintf(stderr, "ward node start: no wardd next to this ward executable\n");
        return EXIT_FAIL;
    }
    char *dir = data_dir_or_default(dir_opt);
    if (dir == NULL)
        return EXIT_FAIL;
    char node_file[PATH_MAX], pid_file[PATH_MAX], log_file[PATH_MAX], cert_file[PATH_MAX];
    int rc = EXIT_FAIL;
    node_conn nc;
    memset(&nc, 0, sizeof nc);
    if (path_in(node_file, sizeof node_file, dir, "node.json") != 0 ||
        path_in(pid_file, sizeof pid_file, dir, "wardd.pid") != 0 ||
        path_in(log_file, sizeof log_file, dir, "wardd.log") != 0 ||
        path_in(cert_file, sizeof cert_file, dir, "platform-cert.pem") != 0) {
        fprintf(stderr, "ward node start: data directory path too long\n");
        goto out;
    }
    pid_t old = running_pid(dir);
    if (old > 0) {
        fprintf(stderr, "ward node start: a wardd (pid %ld) already runs on %s\n", (long)old,
                dir);
        goto out;
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "ward node start: cannot create %s: %s\n", dir, strerror(errno));
        goto out;
    }
    unlink(node_file);
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "ward node start: fork: %s\n", strerror(errno));
        goto out;
    }
    if (pid == 0) {
        int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
        int nul = open("/dev/null", O_WRONLY | O_CLOEXEC);
        int log = open(log_file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (setsid() < 0 || in < 0 || nul < 0 || log < 0 || dup2(in, STDIN_FILENO) < 0 ||
            dup2(nul, STDOUT_FILENO) < 0 || dup2(log, STDERR_FILENO) < 0)
            _exit(126);
        const char *args[16];
        int n = 0;
        args[n++] = wardd;
        args[n++] = "--foreground";
        args[n++] = "--data-dir";
        args[n++] = dir;
        args[n++] = "--listen";
        args[n++] = listen;
        args[n++] = "--port-file";
        args[n++] = node_file;
        args[n++] = "--log-level";
        args[n++] = level;
        if (builtin != NULL) {
            args[n++] = "--builtin-dir";
            args[n++] = builtin;
        }
        if (policy != NULL) {
            args[n++] = "--policy";
            args[n++] = policy;
        }
        args[n] = NULL;
        execv(wardd, (char *const *)args);
        _exit(127);
    }
    char pidtext[32];
    int pl = snprintf(pidtext, sizeof pidtext, "%ld\n", (long)pid);
    if (cli_write_file(pid_file, pidtext, (size_t)pl, 0600) != WARD_OK)
        cli_error("node start: pid file", 1);
    int up = 0;
    for (int i = 0; i < 600 && !up; i++) { /* 60 s: a sanitizer build starts slowly */
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            fprintf(stderr, "ward node start: wardd exited during start-up (%s %d); its log, "
                            "%s:\n",
                    WIFEXITED(st) ? "status" : "signal",
                    WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st), log_file);
            char *t = NULL;
            size_t tl = 0;
            if (cli_read_file(log_file, 1 << 20, &t, &tl) == WARD_OK)
                fputs(tl > 4000 ? t + tl - 4000 : t, stderr);
            free(t);
            unlink(pid_file);
            goto out;
        }
        struct stat sb;
        if (stat(node_file, &sb) == 0 && sb.st_size > 0)
            up = 1;
        else
            sleep_ms(100);
    }
    if (!up) {
        fprintf(stderr, "ward node start: wardd did not listen within 60 s (see %s)\n",
                log_file);
        goto out;
    }
    node_opts no = {.node = node_file};
    char *cert_pem = NULL;
    size_t cl = 0;
    ward_cert *pcert = NULL;
    uint8_t fp[WARD_SHA256_LEN] = {0};
    if (node_connect(&no, NULL, &nc) != 0)
        goto out;
    if (cli_read_file(cert_file, 1 << 20, &cert_pem, &cl) == WARD_OK &&
        ward_cert_from_pem(cert_pem, cl, &pcert) == WARD_OK)
        ward_cert_fingerprint(pcert, fp);
    ward_cert_free(pcert);
    free(cert_pem);
    char pin[2 * WARD_SHA256_LEN + 1], fph[2 * WARD_SHA256_LEN + 1];
    tc_hex(nc.pin, sizeof nc.pin, pin, sizeof pin);
    tc_hex(fp, sizeof fp, fph, sizeof fph);
    if (o->json) {
        json_t *j = json_pack("{s:s, s:s, s:i, s:s, s:s, s:s, s:s, s:s, s:I}", "address",
                              listen, "host", nc.host, "port", nc.port, "tls_spki_sha256", pin,
                              "node_file", node_file, "platform_cert", cert_file,
                              "platform_cert_sha256", fph, "log", log_file, "pid",
                              (json_int_t)pid);
        if (j != NULL)
            json_object_set_new(j, "address", json_sprintf("%s:%d", nc.host, nc.port));
        char *t = j != NULL ? json_dumps(j, JSON_INDENT(2)) : NULL;
        if (t != NULL)
            printf("%s\n", t);
        free(t);
        json_decref(j);
    } else {
        printf("wardd (pid %ld) listens on %s:%d, data in %s\n"
               "TLS key pin (SHA-256 of its SPKI): %s\n"
               "node file: %s (give it to `ward task --node`)\n"
               "platform certificate: %s\n"
               "  SHA-256 %s\n"
               "  the trust anchor participants verify the node's evidence with (--trust-cert);\n"
               "  hand it over out of band\n"
               "log: %s; stop it with `ward node stop --data-dir %s`\n",
               (long)pid, nc.host, nc.port, dir, pin, node_file, cert_file, fph, log_file, dir);
    }
    rc = EXIT_OK;
out:
    node_conn_free(&nc);
    free(dir);
    return rc;
}

static int node_stop(const struct cli_opts *o, int argc, char **argv)
{
    const char *dir_opt = NULL;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            continue;
        if (strcmp(argv[i], "--data-dir") == 0 && i + 1 < argc)
            dir_opt = argv[++i];
        else
            return usage("unexpected argument");
    }
    char *dir = data_dir_or_default(dir_opt);
    if (dir == NULL)
        return EXIT_FAIL;
    pid_t pid = running_pid(dir);
    int rc = EXIT_FAIL;
    if (pid <= 0) {
        fprintf(stderr, "ward node stop: no wardd started by `ward node start` runs on %s\n",
                dir);
        goto out;
    }
    kill(pid, SIGTERM);
    int gone = 0;
    for (int i = 0; i < 300 && !gone; i++) {
        gone = kill(pid, 0) != 0 && errno == ESRCH;
        if (!gone)
            sleep_ms(100);
    }
    if (!gone) {
        fprintf(stderr, "ward node stop: wardd (pid %ld) still runs after 30 s\n", (long)pid);
        goto out;
    }
    char path[PATH_MAX];
    if (path_in(path, sizeof path, dir, "wardd.pid") == 0)
        unlink(path);
    if (path_in(path, sizeof path, dir, "node.json") == 0)
        unlink(path);
    if (o->json)
        printf("{\"stopped\": true, \"pid\": %ld}\n", (long)pid);
    else
        printf("wardd (pid %ld) stopped\n", (long)pid);
    rc = EXIT_OK;
out:
    free(dir);
    return rc;
}

/* ---- status ---------------------------------------------------------------------------------- */

static const char *const states[] = {"created",   "approved", "collecting", "running",
                                     "done",      "failed",   "cancelled",  "expired"};

/* `wardd_tasks{state="S"} N` lines of the Prometheus text. */
static void parse_task_metrics(const char *text, long long counts[8])
{
    for (size_t i = 0; i < 8; i++) {
        char pat[64];
        snprintf(pat, sizeof pat, "wardd_tasks{state=\"%s\"} ", states[i]);
        const char *p = strstr(text, pat);
        counts[i] = p != NULL ? strtoll(p + strlen(pat), NULL, 10) : -1;
    }
}

static int node_status(const struct cli_opts *o, int argc, char **argv)
{
    node_opts no;
    memset(&no, 0, sizeof no);
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--json") == 0)
            continue;
        if (strcmp(a, "--accept-warning") == 0) {
            no.accept_warning = 1;
            continue;
        }
        if (i + 1 >= argc)
            return usage("an option lacks its value, or an unexpected argument");
        if (strcmp(a, "--node") == 0)
            no.node = argv[++i];
        else if (strcmp(a, "--data-dir") == 0)
            no.data_dir = argv[++i];
        else if (strcmp(a, "--pin") == 0)
            no.pin = argv[++i];
        else if (strcmp(a, "--policy") == 0)
            no.policy = argv[++i];
        else if (strcmp(a, "--trust-cert") == 0 && no.n_trust < 8)
            no.trust[no.n_trust++] = argv[++i];
        else
            return usage("unexpected argument");
    }
    node_conn nc;
    if (node_connect(&no, NULL, &nc) != 0)
        return EXIT_FAIL;
    int rc = EXIT_FAIL;
    cli_resp h = {0}, m = {0};
    ward_cert *peer = NULL;
    json_t *out = NULL;
    if (cli_client_request(nc.cl, "GET", "/healthz", NULL, 0, &h) != WARD_OK) {
        cli_error("node status: the node does not answer", 1);
        goto done;
    }
    int healthy = h.status == 200 && strstr(h.body, "\"ok\"") != NULL;
    long long counts[8];
    for (size_t i = 0; i < 8; i++)
        counts[i] = -1;
    if (cli_client_request(nc.cl, "GET", "/metrics", NULL, 0, &m) == WARD_OK && m.status == 200)
        parse_task_metrics(m.body, counts);
    /* The node's TLS certificate: its evidence binds the TLS key; appraised with the
     * participant's anchors and policy. */
    ward_channel_result vr;
    memset(&vr, 0, sizeof vr);
    int have_cert = cli_client_peer_cert(nc.cl, &peer) == WARD_OK;
    if (have_cert)
        (void)ward_channel_verify_cert(peer, &nc.channel, &vr);
    char pin[2 * WARD_SHA256_LEN + 1], meas[2 * 48 + 1];
    tc_hex(vr.spki_sha256, sizeof vr.spki_sha256, pin, sizeof pin);
    tc_hex(vr.claims.measurement, vr.claims.measurement_len, meas, sizeof meas);
    const char *tee = vr.has_evidence ? ward_tee_kind_name(vr.claims.kind) : "none";
    int sw = vr.has_evidence && vr.claims.kind == WARD_TEE_KIND_WARD_SW;
    const char *status = vr.appraised ? ward_ear_status_name(vr.appraisal.status) : "none";
    const char *proves =
        sw ? "the node's TLS key was made by a wardd holding the platform key your anchor names "
             "(software TEE: it protects TAs from host code, other TAs and local users, NOT "
             "from the node machine's root, who is trusted)"
           : vr.accepted ? "the node's TLS key is bound to hardware-attested evidence"
                         : "nothing beyond the TLS key pin: the evidence was not accepted";
    if (o->json) {
        out = json_pack("{s:s, s:b, s:{}, s:{s:s, s:b, s:b, s:b, s:s, s:s, s:b, s:s, s:s, s:s}}",
                        "address", "", "healthy", healthy, "tasks", "attestation",
                        "tls_spki_sha256", pin, "evidence", vr.has_evidence, "verified",
                        vr.evidence_verified, "key_bound", vr.key_bound, "tee", tee, "status",
                        status, "accepted", vr.accepted, "reason", vr.reason, "measurement",
                        meas, "proves", proves);
        if (out != NULL) {
            json_object_set_new(out, "address", json_sprintf("%s:%d", nc.host, nc.port));
            json_t *t = json_object_get(out, "tasks");
            for (size_t i = 0; i < 8; i++)
                if (counts[i] >= 0)
                    json_object_set_new(t, states[i], json_integer(counts[i]));
            char *s = json_dumps(out, JSON_INDENT(2));
            if (s != NULL)
                printf("%s\n", s);
            free(s);
        }
    } else {
        printf("node %s:%d: %s\n", nc.host, nc.port, healthy ? "healthy" : "NOT healthy");
        printf("tasks:");
        for (size_t i = 0; i < 8; i++)
            if (counts[i] >= 0)
                printf(" %s %lld%s", states[i], counts[i], i < 7 ? "," : "");
        printf("\nTLS key: %s%s\n", pin, nc.have_pin ? " (pinned)" : "");
        printf("attestation: evidence %s; %s; %s; TEE %s; appraisal %s: %s\n",
               vr.has_evidence ? "present" : "ABSENT",
               vr.evidence_verified ? "verified" : "NOT verified",
               vr.key_bound ? "binds this TLS key" : "binding NOT established", tee, status,
               vr.accepted ? "accepted" : "not accepted");
        if (vr.claims.measurement_len > 0)
            printf("  measurement %s\n", meas);
        if (!vr.accepted && vr.reason[0] != '\0')
            printf("  why: %s\n", vr.reason);
        if (!node_has_anchors(&nc))
            printf("  (no trust anchor given: pass the node's platform certificate with "
                   "--trust-cert to verify its evidence)\n");
        printf("what this proves: %s\n", proves);
    }
    rc = healthy ? EXIT_OK : EXIT_FAIL;
done:
    json_decref(out);
    ward_cert_free(peer);
    cli_resp_free(&h);
    cli_resp_free(&m);
    node_conn_free(&nc);
    return rc;
}

int cmd_node(const struct cli_opts *o, int argc, char **argv)
{
    if (cli_wants_help(argc, argv) || argc < 2) {
        fputs(help, argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : EXIT_OK;
    }
    tc_prog = "ward node";
    int rc;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (strcmp(argv[1], "start") == 0)
        rc = node_start(o, argc, argv);
    else if (strcmp(argv[1], "status") == 0)
        rc = node_status(o, argc, argv);
    else if (strcmp(argv[1], "stop") == 0)
        rc = node_stop(o, argc, argv);
    else
        rc = usage("unknown verb");
    curl_global_cleanup();
    return rc;
}
