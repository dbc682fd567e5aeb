/* `ward audit verify | export | prune`: the tamper-evident audit log (include/ward/audit.h). */
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "ward/audit.h"
#include "ward/crypto.h"
#include "ward/encoding.h"
#include "ward/err.h"
#include "ward/rot.h"
#include "ward/x509.h"

#define CERT_FILE "platform-cert.pem"
#define CERT_MAX ((size_t)64 << 10)

static const char audit_help[] =
    "usage: ward audit <verb> [options]\n"
    "\n"
    "The node's tamper-evident audit log (DATA_DIR/audit.db): hash-chained records with\n"
    "checkpoints signed by the platform key.\n"
    "\n"
    "verbs:\n"
    "  verify   check every record and checkpoint; name the first bad record\n"
    "  export   write the records (and checkpoints) as JSON lines for a SIEM\n"
    "  prune    remove records older than the retention (at least 183 days)\n"
    "\n"
    "`ward audit <verb> --help` for a verb.\n";

static const char verify_help[] =
    "usage: ward audit verify [--data-dir DIR] [--cert FILE] [--json]\n"
    "\n"
    "Walks the audit log and checks each record's hash, its link to the previous record, and\n"
    "the signed checkpoints, with the public key of the platform certificate (by default\n"
    "DIR/platform-cert.pem; pass a copy you trust with --cert when the data directory itself\n"
    "may have been tampered with). Detects edited, deleted, reordered and inserted records and\n"
    "names the first bad one. Records after the last signed checkpoint are protected by the\n"
    "hash chain only, and deleting them cannot be detected locally: a warning says so.\n"
    "\n"
    "options:\n"
    "  --data-dir DIR  the node data directory (default $XDG_DATA_HOME/ward or\n"
    "                  ~/.local/share/ward)\n"
    "  --cert FILE     the platform certificate (PEM) to verify with\n"
    "  --json          print the report as JSON\n"
    "\n"
    "exit status: 0 intact, 1 tampered (the first bad record is named) or unreadable,\n"
    "2 bad usage\n";

static const char export_help[] =
    "usage: ward audit export [--since TIME] [--data-dir DIR]\n"
    "\n"
    "Writes the audit records to stdout as JSON lines, oldest first, each followed by the signed\n"
    "checkpoints made at its seq, for a SIEM (formats: include/ward/audit.h). Does not verify:\n"
    "run `ward audit verify`.\n"
    "\n"
    "options:\n"
    "  --since TIME    only records at or after TIME: 2026-01-02, 2026-01-02T03:04:05Z (UTC,\n"
    "                  optional .mmm) or Unix seconds\n"
    "  --data-dir DIR  the node data directory\n"
    "\n"
    "exit status: 0 written, 1 failed, 2 bad usage\n";

static const char prune_help[] =
    "usage: ward audit prune [--older-than DAYS] [--data-dir DIR] [--json]\n"
    "\n"
    "Removes the records older than DAYS (default and minimum 183: IEEE 2952 keeps audit\n"
    "records at least six months). The log is verified first and nothing is removed if it does\n"
    "not verify; the removed range is summarised by a checkpoint signed with the platform key,\n"
    "from which verification continues. Needs the platform key (DIR/platform-key.pem) and the\n"
    "log not open elsewhere (stop wardd first).\n"
    "\n"
    "exit status: 0 done, 1 failed, 2 bad usage\n";

/* ---- helpers --------------------------------------------------------------------------------- */

__attribute__((format(printf, 2, 3))) static int usage_err(const char *help, const char *fmt,
                                                           ...)
{
    fputs("ward audit: ", stderr);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\n\n", stderr);
    fputs(help, stderr);
    return EXIT_USAGE;
}

/* Reads a whole small file into a malloc'd NUL-terminated buffer. */
static ward_err read_small(const char *path, size_t max, char **out, size_t *len)
{
    *out = NULL;
    FILE *f = fopen(path, "rbe");
    if (f == NULL)
        return ward_err_set(errno == ENOENT ? WARD_ERR_NOT_FOUND : WARD_ERR_IO,
                            "cannot open %s: %s", path, strerror(errno));
    char *buf = malloc(max + 1);
    if (buf == NULL) {
        fclose(f);
        return ward_err_set(WARD_ERR_NOMEM, "out of memory");
    }
    size_t n = fread(buf, 1, max + 1, f);
    int bad = ferror(f);
    fclose(f);
    if (bad || n > max) {
        free(buf);
        return ward_err_set(bad ? WARD_ERR_IO : WARD_ERR_LIMIT, "%s: %s", path,
                            bad ? "read error" : "too large");
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return WARD_OK;
}

/* The public key of the platform certificate at path. */
static ward_err load_cert_key(const char *path, ward_pkey **key, uint8_t key_id[WARD_SHA256_LEN])
{
    char *pem = NULL;
    size_t len = 0;
    ward_err err = read_small(path, CERT_MAX, &pem, &len);
    if (err != WARD_OK)
        return err;
    ward_cert *cert = NULL;
    err = ward_cert_from_pem(pem, len, &cert);
    free(pem);
    if (err == WARD_OK)
        err = ward_cert_public_key(cert, key);
    if (err == WARD_OK)
        err = ward_cert_spki_sha256(cert, key_id);
    ward_cert_free(cert);
    if (err != WARD_OK)
        return ward_err_wrap(err, "platform certificate %s", path);
    return WARD_OK;
}

/* Options shared by the verbs; unknown options are usage errors. */
struct opts {
    const char *dir, *cert, *since, *older;
};

static int parse(int argc, char **argv, const char *help, int allow_cert, int allow_since,
                 int allow_older, struct opts *o)
{
    memset(o, 0, sizeof *o);
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char **slot = NULL;
        if (strcmp(a, "--json") == 0)
            continue;
        if (strcmp(a, "--data-dir") == 0)
            slot = &o->dir;
        else if (allow_cert && strcmp(a, "--cert") == 0)
            slot = &o->cert;
        else if (allow_since && strcmp(a, "--since") == 0)
            slot = &o->since;
        else if (allow_older && strcmp(a, "--older-than") == 0)
            slot = &o->older;
        else
            return usage_err(help, "unknown option '%s'", a);
        if (i + 1 >= argc || argv[i + 1][0] == '\0')
            return usage_err(help, "%s needs a value", a);
        *slot = argv[++i];
    }
    return -1;
}

/* The data directory: --data-dir, else the default. *owned is what to free. */
static ward_err data_dir(const struct opts *o, const char **dir, char **owned)
{
    *owned = NULL;
    if (o->dir != NULL) {
        *dir = o->dir;
        return WARD_OK;
    }
    ward_err err = ward_rot_default_dir(owned);
    *dir = *owned;
    return err;
}

static ward_err join_path(const char *dir, const char *name, char **out)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    *out = malloc(n);
    if (*out == NULL)
        return ward_err_set(WARD_ERR_NOMEM, "out of memory");
    snprintf(*out, n, "%s/%s", dir, name);
    return WARD_OK;
}

static int is_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return n > 0;
}

static int num(const char *s, size_t n)
{
    int v = 0;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

/* Strict time parser: YYYY-MM-DD, YYYY-MM-DDTHH:MM:SS[.mmm]Z, or Unix seconds. */
static int parse_time(const char *s, int64_t *ms)
{
    size_t n = strlen(s);
    if (is_digits(s, n)) {
        if (n > 12)
            return 0;
        *ms = (int64_t)strtoll(s, NULL, 10) * 1000;
        return 1;
    }
    if (n < 10 || !is_digits(s, 4) || s[4] != '-' || !is_digits(s + 5, 2) || s[7] != '-' ||
        !is_digits(s + 8, 2))
        return 0;
    struct tm tm = {0};
    tm.tm_year = num(s, 4) - 1900;
    tm.tm_mon = num(s + 5, 2) - 1;
    tm.tm_mday = num(s + 8, 2);
    int millis = 0;
    if (n > 10) {
        if (n < 20 || s[10] != 'T' || !is_digits(s + 11, 2) || s[13] != ':' ||
            !is_digits(s + 14, 2) || s[16] != ':' || !is_digits(s + 17, 2))
            return 0;
        tm.tm_hour = num(s + 11, 2);
        tm.tm_min = num(s + 14, 2);
        tm.tm_sec = num(s + 17, 2);
        size_t p = 19;
        if (s[p] == '.') {
            if (n != 24 || !is_digits(s + 20, 3))
                return 0;
            millis = num(s + 20, 3);
            p = 23;
        }
        if (s[p] != 'Z' || p + 1 != n)
            return 0;
    }
    if (tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
        tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
        return 0;
    struct tm check = tm;
    time_t t = timegm(&tm);
    if (t == (time_t)-1 || tm.tm_mday != check.tm_mday) /* 31 February, ... */
        return 0;
    *ms = (int64_t)t * 1000 + millis;
    return 1;
}

/* ---- verify ---------------------------------------------------------------------------------- */

static int print_report(const struct cli_opts *co, const ward_audit_report *r, ward_err err,
                        const uint8_t key_id[WARD_SHA256_LEN])
{
    char *kid = NULL;
    if (ward_hex_encode(key_id, WARD_SHA256_LEN, &kid, NULL) != WARD_OK)
        kid = NULL;
    if (co->json) {
        json_t *j = json_object();
        if (j != NULL) {
            json_object_set_new(j, "intact", json_boolean(r->intact));
            json_object_set_new(j, "problem", json_string(ward_audit_problem_name(r->problem)));
            json_object_set_new(j, "bad_seq", json_integer((json_int_t)r->bad_seq));
            json_object_set_new(j, "checkpoint_seq", json_integer((json_int_t)r->checkpoint_seq));
            json_object_set_new(j, "detail", json_string(r->detail));
            json_object_set_new(j, "records", json_integer((json_int_t)r->records));
            json_object_set_new(j, "first_seq", json_integer((json_int_t)r->first_seq));
            json_object_set_new(j, "last_seq", json_integer((json_int_t)r->last_seq));
            json_object_set_new(j, "checkpoints", json_integer((json_int_t)r->checkpoints));
            json_object_set_new(j, "anchored_seq", json_integer((json_int_t)r->anchored_seq));
            json_object_set_new(j, "unanchored", json_integer((json_int_t)r->unanchored));
            json_object_set_new(j, "pruned_to", json_integer((json_int_t)r->pruned_to));
            json_object_set_new(j, "platform_key_id", kid ? json_string(kid) : json_null());
        }
        if (j == NULL || json_dumpf(j, stdout, JSON_INDENT(2)) != 0)
            fputs("{}", stdout);
        fputc('\n', stdout);
        json_decref(j);
    } else if (err == WARD_OK) {
        printf("audit log intact: %llu records", (unsigned long long)r->records);
        if (r->records != 0)
            printf(" (seq %llu..%llu)", (unsigned long long)r->first_seq,
                   (unsigned long long)r->last_seq);
        printf(", %llu checkpoints, signed up to seq %llu\n",
               (unsigned long long)r->checkpoints, (unsigned long long)r->anchored_seq);
        if (r->pruned_to != 0)
            printf("pruned: records up to seq %llu were removed under the retention policy\n",
                   (unsigned long long)r->pruned_to);
        printf("platform key: %s\n", kid != NULL ? kid : "?");
    } else {
        printf("audit log TAMPERED: first bad record: seq %llu (%s)\n%s\n",
               (unsigned long long)r->bad_seq, ward_audit_problem_name(r->problem), r->detail);
        printf("platform key: %s\n", kid != NULL ? kid : "?");
    }
    if (err == WARD_OK && r->unanchored != 0)
        fprintf(stderr,
                "ward audit: warning: records %llu..%llu (%llu) come after the last signed "
                "checkpoint: they are protected by the hash chain only, and their deletion "
                "cannot be detected (the node is running, or stopped without closing the log)\n",
                (unsigned long long)(r->last_seq - r->unanchored + 1),
                (unsigned long long)r->last_seq, (unsigned long long)r->unanchored);
    free(kid);
    return err == WARD_OK ? EXIT_OK : EXIT_FAIL;
}

static int do_verify(const struct cli_opts *co, int argc, char **argv)
{
    struct opts o;
    int rc = parse(argc, argv, verify_help, 1, 0, 0, &o);
    if (rc >= 0)
        return rc;
    const char *dir;
    char *owned = NULL, *cert_path = NULL;
    ward_pkey *key = NULL;
    uint8_t key_id[WARD_SHA256_LEN] = {0};
    ward_err err = data_dir(&o, &dir, &owned);
    if (err == WARD_OK) {
        if (o.cert != NULL)
            err = load_cert_key(o.cert, &key, key_id);
        else if ((err = join_path(dir, CERT_FILE, &cert_path)) == WARD_OK)
            err = load_cert_key(cert_path, &key, key_id);
    }
    if (err != WARD_OK) {
        cli_error("audit verify", 1);
        free(owned);
        free(cert_path);
        return EXIT_FAIL;
    }
    ward_audit_report rep;
    err = ward_audit_verify(dir, key, &rep);
    if (err != WARD_OK && err != WARD_ERR_VERIFY) {
        cli_error("audit verify", 1);
        rc = EXIT_FAIL;
    } else {
        rc = print_report(co, &rep, err, key_id);
    }
    ward_pkey_free(key);
    free(owned);
    free(cert_path);
    return rc;
}

/* ---- export ---------------------------------------------------------------------------------- */

static int do_export(int argc, char **argv)
{
    struct opts o;
    int rc = parse(argc, argv, export_help, 0, 1, 0, &o);
    if (rc >= 0)
        return rc;
    int64_t since = 0;
    if (o.since != NULL && !parse_time(o.since, &since))
        return usage_err(export_help, "--since: '%s' is not a date, a UTC time or Unix seconds",
                         o.since);
    const char *dir;
    char *owned = NULL;
    ward_err err = data_dir(&o, &dir, &owned);
    uint64_t n = 0;
    if (err == WARD_OK)
        err = ward_audit_export(dir, since, stdout, &n);
    free(owned);
    if (err != WARD_OK) {
        cli_error("audit export", 1);
        return EXIT_FAIL;
    }
    return EXIT_OK;
}

/* ---- prune ----------------------------------------------------------------------------------- */

static ward_err rot_sign_cb(void *arg, const uint8_t *msg, size_t len,
                            uint8_t sig[WARD_AUDIT_SIG_LEN])
{
    return ward_rot_sign(arg, msg, len, sig);
}

static int do_prune(const struct cli_opts *co, int argc, char **argv)
{
    struct opts o;
    int rc = parse(argc, argv, prune_help, 0, 0, 1, &o);
    if (rc >= 0)
        return rc;
    unsigned long days = WARD_AUDIT_MIN_RETENTION_DAYS;
    if (o.older != NULL) {
        char *end = NULL;
        errno = 0;
        days = strtoul(o.older, &end, 10);
        if (!is_digits(o.older, strlen(o.older)) || errno != 0 || *end != '\0' ||
            days > 100000)
            return usage_err(prune_help, "--older-than: '%s' is not a number of days", o.older);
        if (days < WARD_AUDIT_MIN_RETENTION_DAYS)
            return usage_err(prune_help,
                             "--older-than %s: audit records are kept at least 183 days",
                             o.older);
    }
    const char *dir;
    char *owned = NULL;
    ward_rot *rot = NULL;
    ward_pkey *key = NULL;
    ward_audit *log = NULL;
    uint64_t pruned = 0;
    ward_err err = data_dir(&o, &dir, &owned);
    if (err == WARD_OK)
        err = ward_rot_open(dir, 0, &rot);
    if (err == WARD_OK)
        err = ward_cert_public_key(ward_rot_platform_cert(rot), &key);
    if (err == WARD_OK) {
        ward_audit_options ao = {.sign = rot_sign_cb, .sign_arg = rot, .verify_key = key};
        err = ward_audit_open(dir, &ao, &log);
    }
    if (err == WARD_OK)
        err = ward_audit_prune(log, (uint32_t)days, &pruned);
    if (log != NULL) {
        if (err != WARD_OK) {
            char saved[512];
            snprintf(saved, sizeof saved, "%s", ward_errmsg());
            ward_audit_close(log);
            ward_err_set(err, "%s", saved);
        } else {
            err = ward_audit_close(log);
        }
    }
    ward_pkey_free(key);
    ward_rot_close(rot);
    free(owned);
    if (err != WARD_OK) {
        cli_error("audit prune", 1);
        return EXIT_FAIL;
    }
    if (co->json)
        printf("{\"pruned\": %llu, \"older_than_days\": %lu}\n", (unsigned long long)pruned, days);
    else
        printf("pruned %llu audit records older than %lu days\n", (unsigned long long)pruned,
               days);
    return EXIT_OK;
}

int cmd_audit(const struct cli_opts *o, int argc, char **argv)
{
    if (argc < 2 || argv[1][0] == '-') {
        if (argc >= 2 && cli_wants_help(argc, argv)) {
            fputs(audit_help, stdout);
            return EXIT_OK;
        }
        fputs(audit_help, stderr);
        return EXIT_USAGE;
    }
    const char *verb = argv[1];
    const char *help = strcmp(verb, "verify") == 0   ? verify_help
                       : strcmp(verb, "export") == 0 ? export_help
                       : strcmp(verb, "prune") == 0  ? prune_help
                                                     : NULL;
    if (help == NULL) {
        fprintf(stderr, "ward audit: unknown verb '%s'\n\n%s", verb, audit_help);
        return EXIT_USAGE;
    }
    if (cli_wants_help(argc - 1, argv + 1)) {
        fputs(help, stdout);
        return EXIT_OK;
    }
    if (strcmp(verb, "verify") == 0)
        return do_verify(o, argc, argv);
    if (strcmp(verb, "export") == 0)
        return do_export(argc, argv);
    return do_prune(o, argc, argv);
}
