/* wardd, the Ward node daemon (DESIGN 5; docs/api.md): options, start-up (self-test, root of
 * trust, policy, verifier key, audit log, alarms, identity database, periodic checks), the
 * event loop and a clean shutdown. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>

#include "daemon/wardd.h"
#include "ward/alarm.h"
#include "ward/audit.h"
#include "ward/err.h"
#include "ward/log.h"
#include "ward/nonce.h"
#include "ward/policy.h"
#include "ward/rot.h"
#include "ward/selftest.h"
#include "ward/tee.h"
#include "ward/x509.h"

#ifndef WARD_VERSION
#define WARD_VERSION "0"
#endif

static const char help[] =
    "usage: wardd [--data-dir DIR] [--listen ADDR:PORT] [--port-file FILE] [--policy FILE]\n"
    "             [--nonce-ttl SECONDS] [--log-format kv|json] [--log-level LEVEL]\n"
    "             [--builtin-dir DIR] [--alarm-config FILE] [--monitor-interval SECONDS]\n"
    "             [--max-result BYTES] [--foreground]\n"
    "\n"
    "The Ward node daemon: HTTP/1.1 + JSON over TLS 1.3 (docs/api.md). It runs the cryptographic\n"
    "self-test first and refuses to start if it fails.\n"
    "\n"
    "options:\n"
    "  --data-dir DIR       node data directory (default $XDG_DATA_HOME/ward or\n"
    "                       ~/.local/share/ward); created with a platform key if absent\n"
    "  --listen ADDR:PORT   address to listen on (default 127.0.0.1:7443; port 0: any free\n"
    "                       port; IPv6 as [ADDR]:PORT)\n"
    "  --port-file FILE     write {\"address\",\"port\",\"tls_spki_sha256\"} as one JSON line to\n"
    "                       FILE once listening (the same line is printed on stdout)\n"
    "  --policy FILE        appraisal policy for /v1/attestation/verify (default: the built-in\n"
    "                       policy, under which the software TEE is `warning` at best)\n"
    "  --nonce-ttl SECONDS  lifetime of an attestation challenge (default 300)\n"
    "  --builtin-dir DIR    where the built-in TA images sql and psi are (default: builtin/\n"
    "                       beside the wardd executable); signed at start with the node-local\n"
    "                       built-in signing key DATA_DIR/builtin-signer.pem\n"
    "  --alarm-config FILE  alarm rules and sinks, JSON (include/ward/alarm.h): thresholds of\n"
    "                       authentication failures, disk use (default 90 %%), ...\n"
    "  --monitor-interval SECONDS\n"
    "                       how often the disk and the audit chain are checked (default 60)\n"
    "  --max-result BYTES   largest result CSV a task may produce (default 268435456, 256 MiB;\n"
    "                       1024..1099511627776); a larger one fails the task with a clear reason\n"
    "  --log-format FMT     kv (default) or json; logs go to stderr\n"
    "  --log-level LEVEL    debug, info (default), warn, error or off\n"
    "  --foreground         stay in the foreground (default: detach once listening)\n"
    "  --help               this text\n"
    "\n"
    "SIGTERM or SIGINT stop it cleanly (exit status 0). Exit status 1: start-up failed.\n";

typedef struct opts {
    const char *data_dir, *listen, *port_file, *policy, *builtin_dir, *alarm_config;
    int64_t nonce_ttl_s;
    uint32_t monitor_interval_s;
    uint64_t max_result;
    int foreground;
} opts;

static int parse_opts(int argc, char **argv, opts *o)
{
    enum {
        O_DATA = 1, O_LISTEN, O_PORTFILE, O_POLICY, O_TTL, O_LFMT, O_LLVL, O_FG, O_HELP, O_BUILTIN,
        O_ALARMS, O_MONITOR, O_MAXRES
    };
    static const struct option lo[] = {
        {"data-dir", required_argument, NULL, O_DATA},
        {"listen", required_argument, NULL, O_LISTEN},
        {"port-file", required_argument, NULL, O_PORTFILE},
        {"policy", required_argument, NULL, O_POLICY},
        {"nonce-ttl", required_argument, NULL, O_TTL},
        {"log-format", required_argument, NULL, O_LFMT},
        {"log-level", required_argument, NULL, O_LLVL},
        {"foreground", no_argument, NULL, O_FG},
        {"builtin-dir", required_argument, NULL, O_BUILTIN},
        {"alarm-config", required_argument, NULL, O_ALARMS},
        {"monitor-interval", required_argument, NULL, O_MONITOR},
        {"max-result", required_argument, NULL, O_MAXRES},
        {"help", no_argument, NULL, O_HELP},
        {NULL, 0, NULL, 0},
    };
    o->listen = "127.0.0.1:7443";
    o->nonce_ttl_s = WARDD_NONCE_TTL_S_DEFAULT;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        switch (c) {
        case O_DATA: o->data_dir = optarg; break;
        case O_LISTEN: o->listen = optarg; break;
        case O_PORTFILE: o->port_file = optarg; break;
        case O_POLICY: o->policy = optarg; break;
        case O_FG: o->foreground = 1; break;
        case O_BUILTIN: o->builtin_dir = optarg; break;
        case O_ALARMS: o->alarm_config = optarg; break;
        case O_MONITOR: {
            char *end = NULL;
            errno = 0;
            long long v = strtoll(optarg, &end, 10);
            if (errno != 0 || end == optarg || *end != 0 || v < 1 || v > 86400) {
                fprintf(stderr, "wardd: --monitor-interval wants 1..86400 seconds\n");
                return 2;
            }
            o->monitor_interval_s = (uint32_t)v;
            break;
        }
        case O_MAXRES: {
            char *end = NULL;
            errno = 0;
            unsigned long long v = strtoull(optarg, &end, 10);
            if (errno != 0 || end == optarg || *end != 0 || optarg[0] == '-' || v < 1024 ||
                v > (1ull << 40)) {
                fprintf(stderr, "wardd: --max-result wants 1024..1099511627776 bytes\n");
                return 2;
            }
            o->max_result = (uint64_t)v;
            break;
        }
        case O_TTL: {
            char *end = NULL;
            errno = 0;
            long long v = strtoll(optarg, &end, 10);
            if (errno != 0 || end == optarg || *end != 0 || v < 1 ||
                v > WARD_NONCE_MAX_TTL_MS / 1000) {
                fprintf(stderr, "wardd: --nonce-ttl wants 1..%lld seconds\n",
                        (long long)(WARD_NONCE_MAX_TTL_MS / 1000));
                return 2;
            }
            o->nonce_ttl_s = (int64_t)v;
            break;
        }
        case O_LFMT:
            if (strcmp(optarg, "kv") == 0)
                ward_log_set_format(WARD_LOG_KV);
            else if (strcmp(optarg, "json") == 0)
                ward_log_set_format(WARD_LOG_JSON);
            else {
                fprintf(stderr, "wardd: --log-format wants kv or json\n");
                return 2;
            }
            break;
        case O_LLVL: {
            int l = ward_log_level_parse(optarg);
            if (l < 0) {
                fprintf(stderr, "wardd: --log-level wants debug, info, warn, error or off\n");
                return 2;
            }
            ward_log_set_level((ward_log_level)l);
            break;
        }
        case O_HELP:
        case 'h': fputs(help, stdout); return 0;
        default:
            fprintf(stderr, "wardd: unknown option or missing value: %s\n\n%s",
                    argv[optind - 1], help);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "wardd: unexpected argument: %s\n\n%s", argv[optind], help);
        return 2;
    }
    return -1;
}

/* Detaches: the parent waits until the child says it is listening (one byte on a pipe) and
 * exits 0, or 1 if the child failed first. Done before any thread exists. Returns the write
 * end of the pipe in the child (-1 when not detaching), or -2 in a failed fork. */
static int detach(void)
{
    int p[2];
    if (pipe(p) != 0)
        return -2;
    pid_t pid = fork();
    if (pid < 0)
        return -2;
    if (pid > 0) {
        close(p[1]);
        char b = 0;
        ssize_t n;
        do
            n = read(p[0], &b, 1);
        while (n < 0 && errno == EINTR);
        _exit(n == 1 && b == 1 ? 0 : 1);
    }
    close(p[0]);
    if (setsid() < 0)
        return -2;
    return p[1];
}

static void ready(int fd)
{
    if (fd < 0)
        return;
    char b = 1;
    if (write(fd, &b, 1) != 1) {
        /* The parent is gone; nothing to tell. */
    }
    close(fd);
}

static ward_err audit_sign(void *arg, const uint8_t *msg, size_t len,
                           uint8_t sig[WARD_AUDIT_SIG_LEN])
{
    return ward_rot_sign(arg, msg, len, sig);
}

static void audit_event(wardd *d, const char *action)
{
    if (d->audit == NULL)
        return;
    ward_audit_record rec = {.actor = "node", .auth_method = "system", .action = action,
                             .object = "wardd", .outcome = WARD_AUDIT_SUCCESS,
                             .request_id = "", .details = NULL};
    if (ward_audit_append(d->audit, &rec, NULL) != WARD_OK)
        ward_log(WARD_LOG_ERROR, "audit.append", "error", ward_errmsg(), (char *)NULL);
}

static void selftest_cb(void *arg, const char *name, ward_err result, const char *message)
{
    (void)arg;
    if (result != WARD_OK)
        ward_log(WARD_LOG_ERROR, "selftest.failed", "check", name, "error", message,
                 (char *)NULL);
}

/* A configuration file of at most 1 MiB, NUL-terminated in a malloc'd copy. */
static int read_small_file(const char *path, char **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        ward_err_set(WARD_ERR_IO, "%s: %s", path, strerror(errno));
        return -1;
    }
    size_t cap = (size_t)1 << 20;
    char *b = malloc(cap + 1);
    size_t n = b != NULL ? fread(b, 1, cap + 1, f) : 0;
    int bad = b == NULL || ferror(f) || n > cap;
    fclose(f);
    if (bad) {
        free(b);
        ward_err_set(WARD_ERR_IO, "%s: unreadable or larger than 1 MiB", path);
        return -1;
    }
    b[n] = 0;
    *out = b;
    *len = n;
    return 0;
}

static int fail(const char *what)
{
    ward_log(WARD_LOG_ERROR, "wardd.start_failed", "step", what, "error", ward_errmsg(),
             (char *)NULL);
    return 1;
}

/* <directory of the running executable>/builtin (malloc'd), or NULL. */
static char *default_builtin_dir(void)
{
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return NULL;
    exe[n] = 0;
    char *slash = strrchr(exe, '/');
    if (slash == NULL)
        return NULL;
    *slash = 0;
    size_t l = strlen(exe) + sizeof "/builtin";
    char *dir = malloc(l);
    if (dir != NULL)
        snprintf(dir, l, "%s/builtin", exe);
    return dir;
}

static int start(wardd *d, const opts *o, char **dir_alloc, char **builtin_alloc)
{
    if (ward_selftest(selftest_cb, NULL) != WARD_OK)
        return fail("self-test (refusing to start)");
    d->data_dir = o->data_dir;
    if (d->data_dir == NULL) {
        if (ward_rot_default_dir(dir_alloc) != WARD_OK)
            return fail("data directory");
        d->data_dir = *dir_alloc;
    }
    if (ward_rot_open(d->data_dir, 1, &d->rot) != WARD_OK)
        return fail("root of trust");
    if (ward_cert_fingerprint(ward_rot_platform_cert(d->rot), d->platform_cert_fp) != WARD_OK)
        return fail("platform certificate");
    if ((o->policy != NULL ? ward_policy_load(o->policy, &d->policy)
                           : ward_policy_default(&d->policy)) != WARD_OK)
        return fail("policy");
    if (wardd_verifier_key_load(d) != WARD_OK)
        return fail("verifier key");
    d->nonce_ttl_s = o->nonce_ttl_s;
    if (ward_nonce_store_new(WARDD_NONCE_CAPACITY, o->nonce_ttl_s * 1000, NULL, NULL,
                             &d->nonces) != WARD_OK)
        return fail("nonce store");
    ward_pkey *pub = NULL;
    if (ward_cert_public_key(ward_rot_platform_cert(d->rot), &pub) != WARD_OK)
        return fail("platform key");
    ward_audit_options ao = {.sign = audit_sign, .sign_arg = d->rot, .verify_key = pub};
    ward_err err = ward_audit_open(d->data_dir, &ao, &d->audit);
    ward_pkey_free(pub);
    if (err != WARD_OK)
        return fail("audit log");
    char *acfg = NULL;
    size_t acfg_len = 0;
    if (o->alarm_config != NULL && read_small_file(o->alarm_config, &acfg, &acfg_len) != 0)
        return fail("alarm configuration (unreadable file)");
    err = ward_alarms_new(acfg, acfg_len, d->audit, NULL, &d->alarms);
    free(acfg);
    if (err != WARD_OK)
        return fail("alarms");
    if (wardd_identity_open(d) != WARD_OK)
        return fail("identity database");
    ward_task_store_options to = {.audit = d->audit};
    if (ward_task_store_open(d->data_dir, &to, &d->tasks) != WARD_OK)
        return fail("task store");
    d->builtin_dir = o->builtin_dir;
    d->max_result = o->max_result != 0 ? o->max_result : WARDD_MAX_RESULT_DEFAULT;
    if (d->builtin_dir == NULL) {
        *builtin_alloc = default_builtin_dir();
        if (*builtin_alloc == NULL)
            return fail("built-in TA directory");
        d->builtin_dir = *builtin_alloc;
    }
    if (wardd_builtins_open(d) != WARD_OK)
        return fail("built-in TAs");
    /* Before any instance exists: every TA lifecycle event is audited, abnormal ends alarm. */
    ward_tee_set_event_hook(d->tee, wardd_tee_event, d);
    d->base = event_base_new();
    if (d->base == NULL)
        return fail("event loop");
    /* The expiry sweep runs from start-up: a restarted node expires what is due without a
     * request about it. */
    wardd_tasks_start(d);
    d->monitor_interval_s = o->monitor_interval_s;
    if (wardd_monitor_start(d) != 0)
        return fail("periodic checks");
    if (wardd_server_start(d, o->listen, o->port_file) != 0)
        return fail("server");
    return 0;
}

static void stop(wardd *d)
{
    /* runs first: their workers are joined and their requests answered while the HTTP server
     * still holds them */
    wardd_tasks_stop_runs(d);
    wardd_server_stop(d);
    wardd_monitor_stop(d);
    wardd_tasks_close(d);
    wardd_builtins_close(d);
    ward_task_store_close(d->tasks);
    d->tasks = NULL;
    if (d->base != NULL)
        event_base_free(d->base);
    wardd_identity_close(d);
    if (d->audit != NULL)
        audit_event(d, "node.stop");
    ward_alarms_free(d->alarms);
    if (d->audit != NULL && ward_audit_close(d->audit) != WARD_OK)
        ward_log(WARD_LOG_ERROR, "audit.close", "error", ward_errmsg(), (char *)NULL);
    ward_nonce_store_free(d->nonces);
    ward_pkey_free(d->verifier_key);
    free(d->verifier_jwk);
    ward_policy_free(d->policy);
    ward_rot_close(d->rot);
    libevent_global_shutdown();
}

int main(int argc, char **argv)
{
    ward_log_from_env();
    opts o;
    memset(&o, 0, sizeof o);
    int rc = parse_opts(argc, argv, &o);
    if (rc >= 0)
        return rc;
    int ready_fd = -1;
    if (!o.foreground) {
        ready_fd = detach();
        if (ready_fd == -2) {
            fprintf(stderr, "wardd: cannot detach: %s\n", strerror(errno));
            return 1;
        }
    }
    signal(SIGPIPE, SIG_IGN);
    umask(077);

    static wardd d; /* static: the metrics registry is large-ish */
    memset(&d, 0, sizeof d);
    wardd_metrics_init(&d.metrics);
    char *dir_alloc = NULL, *builtin_alloc = NULL;
    rc = start(&d, &o, &dir_alloc, &builtin_alloc);
    if (rc == 0) {
        wardd_start_config sc = {.listen = o.listen, .policy = o.policy,
                                 .alarm_config = o.alarm_config, .builtin_dir = d.builtin_dir,
                                 .nonce_ttl_s = d.nonce_ttl_s,
                                 .monitor_interval_s = d.monitor_interval_s,
                                 .max_result = d.max_result};
        wardd_audit_start_config(&d, &sc);
        ward_log(WARD_LOG_INFO, "wardd.started", "version", WARD_VERSION, "data_dir",
                 d.data_dir, (char *)NULL);
        if (ready_fd >= 0) {
            if (!freopen("/dev/null", "r", stdin) || !freopen("/dev/null", "w", stdout)) {
                /* Best effort: stdin/stdout are not used after start-up. */
            }
        }
        ready(ready_fd);
        ready_fd = -1;
        if (event_base_dispatch(d.base) < 0) {
            ward_log(WARD_LOG_ERROR, "wardd.loop", "error", "event loop failed", (char *)NULL);
            rc = 1;
        }
    }
    if (ready_fd >= 0)
        close(ready_fd);
    stop(&d);
    if (rc == 0)
        ward_log(WARD_LOG_INFO, "wardd.stopped", (char *)NULL);
    free(dir_alloc);
    free(builtin_alloc);
    return rc;
}
