/* `ward user ...` and `ward token ...`: the identity database of a node (include/ward/identity.h,
 * include/ward/rbac.h, docs/security.md). These commands act as the local administrator: whoever
 * can open the node data directory (0700, the user running Ward) manages identities directly;
 * remote administration goes through wardd, which checks permissions.
 *
 * Secrets: passwords and TOTP codes are read from stdin (without echo on a terminal), never from
 * the command line; tokens and TOTP secrets are printed once. Every buffer that held one is
 * wiped. */
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "ward/crypto.h"
#include "ward/encoding.h"
#include "ward/err.h"
#include "ward/identity.h"
#include "ward/rbac.h"
#include "ward/rot.h"
#include "ward/x509.h"

#define MAX_POS 4
#define CERT_FILE_MAX ((size_t)64 << 10)

static const char user_help[] =
    "usage: ward user <verb> [arguments] [--data-dir DIR] [--json]\n"
    "\n"
    "Users, roles, passwords and TOTP second factors of this node (the identity database,\n"
    "DIR/identity.db). Acts as the local administrator: anyone who can open DIR can manage\n"
    "identities. Passwords and codes are read from stdin (without echo on a terminal), never\n"
    "from the command line.\n"
    "\n"
    "verbs:\n"
    "  add NAME [--role ROLE]... [--display TEXT] [--password-stdin | --no-password]\n"
    "                          add a user (no role unless given: least privilege); on a\n"
    "                          terminal the password is asked twice; from a pipe, give\n"
    "                          --password-stdin (first line) or --no-password\n"
    "  list                    list users with their roles and second factor\n"
    "  passwd NAME [--password-stdin | --no-password]\n"
    "                          set (or remove) a password\n"
    "  disable NAME | enable NAME\n"
    "                          a disabled user cannot authenticate by any method\n"
    "  role add NAME ROLE | role remove NAME ROLE\n"
    "                          give a user a role, or take it away\n"
    "  role list               roles with their permissions, sensitivity and holders\n"
    "  role perms              permissions with the roles that grant them\n"
    "  role create ROLE [--sensitive] [--description TEXT]\n"
    "  role delete ROLE        (not admin; not while a user holds it)\n"
    "  role grant ROLE PERM | role revoke ROLE PERM\n"
    "  role sensitive ROLE on|off\n"
    "                          a sensitive role's permissions need strong authentication\n"
    "                          (password + TOTP, or hardware attestation); admin always\n"
    "  totp enroll NAME        make a TOTP secret (SHA-1, 6 digits, 30 s); prints the\n"
    "                          otpauth:// URI and the base32 secret once; pending until\n"
    "  totp confirm NAME       confirmed with a current code read from stdin\n"
    "  totp remove NAME        remove the user's TOTP secret\n"
    "  cert add NAME CERT.pem  authenticate NAME by this certificate's public key\n"
    "  cert remove CERT.pem\n"
    "  ca add CA.pem | ca list | ca remove FINGERPRINT\n"
    "                          CAs trusted for client certificates\n"
    "  ca crl add CRL | ca crl list\n"
    "                          a CA's revocation list (PEM or DER; a newer one replaces it)\n"
    "  settings [options]      show or change the database's settings:\n"
    "      --argon2 T,M,P      Argon2id passes, memory (KiB), lanes (default 3,65536,1)\n"
    "      --password-min N    shortest password in bytes (default 8)\n"
    "      --user-max-failures N  --addr-max-failures N  --window DUR\n"
    "      --lockout DUR  --lockout-max DUR  --token-ttl DUR  --token-ttl-max DUR\n"
    "      --totp-issuer TEXT\n"
    "\n"
    "options:\n"
    "  --data-dir DIR   the node data directory (default: $XDG_DATA_HOME/ward, else\n"
    "                   ~/.local/share/ward)\n"
    "  --json           machine-readable output\n"
    "  DUR is a number of seconds, or with a suffix s, m, h, d (e.g. 15m, 24h, 30d).\n"
    "\n"
    "exit status: 0 done, 1 failed (the message says why), 2 bad usage\n";

static const char token_help[] =
    "usage: ward token <verb> [arguments] [--data-dir DIR] [--json]\n"
    "\n"
    "Bearer tokens: 32 random bytes (base64url) printed once; only their SHA-256 is kept.\n"
    "\n"
    "verbs:\n"
    "  issue NAME [--ttl DUR] [--description TEXT]\n"
    "                    issue a token for user NAME valid for DUR (default 24h; at most\n"
    "                    the database's token-ttl-max, 366 days by default)\n"
    "  revoke ID         revoke a token by its id (16 hex digits)\n"
    "  list [NAME]       list tokens (ids, owners, expiry, state; never the tokens)\n"
    "\n"
    "options:\n"
    "  --data-dir DIR   the node data directory (default: $XDG_DATA_HOME/ward)\n"
    "  --json           machine-readable output\n"
    "\n"
    "exit status: 0 done, 1 failed, 2 bad usage\n";

/* ---- arguments ------------------------------------------------------------------------------ */

enum {
    O_DATA_DIR = 1u << 0,
    O_ROLE = 1u << 1,
    O_DISPLAY = 1u << 2,
    O_PW_STDIN = 1u << 3,
    O_NO_PW = 1u << 4,
    O_SENSITIVE = 1u << 5,
    O_DESCRIPTION = 1u << 6,
    O_TTL = 1u << 7,
    O_SETTINGS = 1u << 8,
    O_JSON = 1u << 9,
};

struct args {
    const char *cmd; /* "user" or "token", for messages */
    const char *help;
    const char *pos[MAX_POS];
    int npos;
    const char *data_dir;
    const char *roles[WARD_PRINCIPAL_MAX_ROLES];
    size_t nroles;
    const char *display, *description, *ttl;
    int pw_stdin, no_pw, sensitive;
    /* settings */
    const char *argon2, *password_min, *user_max, *addr_max, *window, *lockout, *lockout_max,
        *token_ttl, *token_ttl_max, *issuer;
    int any_setting;
};

static int usage(const struct args *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int usage(const struct args *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "ward %s: ", a->cmd);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n(see `ward %s --help`)\n", a->cmd);
    return EXIT_USAGE;
}

/* Matches --name VALUE or --name=VALUE. 1 matched, 0 not this option, -1 value missing. */
static int opt_value(int argc, char **argv, int *i, const char *name, const char **val)
{
    const char *s = argv[*i];
    size_t n = strlen(name);
    if (strncmp(s, name, n) != 0)
        return 0;
    if (s[n] == '=') {
        *val = s + n + 1;
        return 1;
    }
    if (s[n] != '\0')
        return 0;
    if (*i + 1 >= argc)
        return -1;
    *val = argv[++*i];
    return 1;
}

/* Parses argv[first..] into a: positionals and the options in `allowed`. */
static int parse(struct args *a, int argc, char **argv, int first, unsigned allowed)
{
    static const struct {
        const char *name;
        unsigned bit;
        size_t off;
    } valued[] = {
        {"--data-dir", O_DATA_DIR, offsetof(struct args, data_dir)},
        {"--display", O_DISPLAY, offsetof(struct args, display)},
        {"--description", O_DESCRIPTION, offsetof(struct args, description)},
        {"--ttl", O_TTL, offsetof(struct args, ttl)},
        {"--argon2", O_SETTINGS, offsetof(struct args, argon2)},
        {"--password-min", O_SETTINGS, offsetof(struct args, password_min)},
        {"--user-max-failures", O_SETTINGS, offsetof(struct args, user_max)},
        {"--addr-max-failures", O_SETTINGS, offsetof(struct args, addr_max)},
        {"--window", O_SETTINGS, offsetof(struct args, window)},
        {"--lockout-max", O_SETTINGS, offsetof(struct args, lockout_max)},
        {"--lockout", O_SETTINGS, offsetof(struct args, lockout)},
        {"--token-ttl-max", O_SETTINGS, offsetof(struct args, token_ttl_max)},
        {"--token-ttl", O_SETTINGS, offsetof(struct args, token_ttl)},
        {"--totp-issuer", O_SETTINGS, offsetof(struct args, issuer)},
    };
    int only_pos = 0;
    for (int i = first; i < argc; i++) {
        const char *s = argv[i];
        if (!only_pos && strcmp(s, "--") == 0) {
            only_pos = 1;
            continue;
        }
        if (only_pos || s[0] != '-' || s[1] == '\0') {
            if (a->npos >= MAX_POS)
                return usage(a, "too many arguments");
            a->pos[a->npos++] = s;
            continue;
        }
        if (strcmp(s, "--json") == 0 && (allowed & O_JSON))
            continue; /* already in cli_opts */
        if (strcmp(s, "--password-stdin") == 0 && (allowed & O_PW_STDIN)) {
            a->pw_stdin = 1;
            continue;
        }
        if (strcmp(s, "--no-password") == 0 && (allowed & O_NO_PW)) {
            a->no_pw = 1;
            continue;
        }
        if (strcmp(s, "--sensitive") == 0 && (allowed & O_SENSITIVE)) {
            a->sensitive = 1;
            continue;
        }
        const char *v = NULL;
        int m = 0;
        if (allowed & O_ROLE) {
            m = opt_value(argc, argv, &i, "--role", &v);
            if (m > 0) {
                if (a->nroles >= WARD_PRINCIPAL_MAX_ROLES)
                    return usage(a, "at most %d roles", WARD_PRINCIPAL_MAX_ROLES);
                a->roles[a->nroles++] = v;
                continue;
            }
            if (m < 0)
                return usage(a, "--role needs a value");
        }
        for (size_t k = 0; m == 0 && k < sizeof valued / sizeof valued[0]; k++) {
            if (!(allowed & valued[k].bit))
                continue;
            m = opt_value(argc, argv, &i, valued[k].name, &v);
            if (m < 0)
                return usage(a, "%s needs a value", valued[k].name);
            if (m > 0) {
                *(const char **)(void *)((char *)a + valued[k].off) = v;
                if (valued[k].bit == O_SETTINGS)
                    a->any_setting = 1;
            }
        }
        if (m == 0)
            return usage(a, "unknown option '%s'", s);
    }
    if (a->pw_stdin && a->no_pw)
        return usage(a, "--password-stdin and --no-password exclude each other");
    return EXIT_OK;
}

/* A duration: seconds, or with a suffix s, m, h, d. */
static int parse_duration(const char *s, uint32_t *out)
{
    if (s == NULL || s[0] < '0' || s[0] > '9')
        return 0;
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || end == s)
        return 0;
    unsigned long long mul = 1;
    if (*end != '\0') {
        switch (*end) {
        case 's': mul = 1; break;
        case 'm': mul = 60; break;
        case 'h': mul = 3600; break;
        case 'd': mul = 86400; break;
        default: return 0;
        }
        if (end[1] != '\0')
            return 0;
    }
    if (v > UINT32_MAX / mul)
        return 0;
    *out = (uint32_t)(v * mul);
    return 1;
}

static int parse_u32(const char *s, uint32_t *out)
{
    if (s == NULL || s[0] < '0' || s[0] > '9')
        return 0;
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v > UINT32_MAX)
        return 0;
    *out = (uint32_t)v;
    return 1;
}

/* ---- the database --------------------------------------------------------------------------- */

static char *data_dir_of(const struct args *a)
{
    if (a->data_dir != NULL) {
        char *d = strdup(a->data_dir);
        if (d == NULL)
            cli_error("out of memory", 0);
        return d;
    }
    char *d = NULL;
    if (ward_rot_default_dir(&d) != WARD_OK) {
        cli_error("no data directory (give --data-dir)", 1);
        return NULL;
    }
    return d;
}

/* Opens the identity database of the data directory with the secrets key derived from the
 * node's root of trust (both created when create is set). */
static int open_db(const struct args *a, int create, ward_identity **db)
{
    *db = NULL;
    char *dir = data_dir_of(a);
    if (dir == NULL)
        return EXIT_FAIL;
    int rc = EXIT_FAIL;
    if (!create) {
        char path[4200];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, WARD_IDENTITY_FILE);
        if (stat(path, &st) != 0) {
            fprintf(stderr, "ward %s: no identity database in %s (add a user first)\n", a->cmd,
                    dir);
            free(dir);
            return EXIT_FAIL;
        }
    }
    ward_rot *rot = NULL;
    uint8_t key[WARD_IDENTITY_KEY_LEN];
    if (ward_rot_open(dir, create, &rot) != WARD_OK) {
        cli_error("cannot open the node's root of trust", 1);
    } else if (ward_rot_derive(rot, WARD_IDENTITY_KEY_LABEL, NULL, 0, key, sizeof key) !=
               WARD_OK) {
        cli_error("cannot derive the identity secrets key", 1);
    } else if (ward_identity_open(dir, create, key, db) != WARD_OK) {
        cli_error("cannot open the identity database", 1);
    } else {
        rc = EXIT_OK;
    }
    ward_wipe(key, sizeof key);
    ward_rot_close(rot);
    free(dir);
    return rc;
}

static int print_json(json_t *j)
{
    if (j == NULL || json_dumpf(j, stdout, JSON_INDENT(2)) != 0) {
        json_decref(j);
        cli_error("cannot write JSON", 0);
        return EXIT_FAIL;
    }
    fputc('\n', stdout);
    json_decref(j);
    return EXIT_OK;
}

/* print_json for an object holding secrets: jansson keeps its own copies of the strings and
 * frees them unwiped, so the named members are wiped before the object goes. */
static int print_json_secret(json_t *j, const char *const *members)
{
    int rc = EXIT_FAIL;
    if (j != NULL && json_dumpf(j, stdout, JSON_INDENT(2)) == 0) {
        fputc('\n', stdout);
        rc = EXIT_OK;
    } else {
        cli_error("cannot write JSON", 0);
    }
    for (size_t i = 0; j != NULL && members[i] != NULL; i++) {
        json_t *s = json_object_get(j, members[i]);
        if (json_is_string(s))
            ward_wipe((char *)json_string_value(s), json_string_length(s));
    }
    json_decref(j);
    return rc;
}

static int fail(const char *what)
{
    cli_error(what, 1);
    return EXIT_FAIL;
}

static void fmt_time(int64_t t, char out[32])
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (gmtime_r(&tt, &tm) == NULL || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(out, 32, "%lld", (long long)t);
}

/* ---- reading secrets from stdin ------------------------------------------------------------- */

static struct termios saved_tty;
static volatile sig_atomic_t tty_changed;

static void restore_tty_on_signal(int sig)
{
    if (tty_changed)
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tty);
    signal(sig, SIG_DFL);
    raise(sig);
}

/* Reads one line from stdin with read(2) (no stdio buffer keeps a copy), without echo on a
 * terminal. The line ends at '\n' or EOF; a trailing '\r' is dropped. 1 ok, 0 EOF before any
 * byte, -1 too long or an error. */
static int read_secret_line(const char *prompt, char *buf, size_t cap, size_t *len)
{
    int tty = isatty(STDIN_FILENO);
    struct sigaction sa, old[4];
    static const int sigs[4] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
    if (tty) {
        if (tcgetattr(STDIN_FILENO, &saved_tty) != 0)
            return -1;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = restore_tty_on_signal;
        for (int i = 0; i < 4; i++)
            sigaction(sigs[i], &sa, &old[i]);
        struct termios t = saved_tty;
        t.c_lflag &= ~(tcflag_t)ECHO;
        t.c_lflag |= ICANON;
        tty_changed = 1;
        if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &t) != 0) {
            tty_changed = 0;
            for (int i = 0; i < 4; i++)
                sigaction(sigs[i], &old[i], NULL);
            return -1;
        }
        fputs(prompt, stderr);
        fflush(stderr);
    }
    size_t n = 0;
    int rc = 1, got_any = 0;
    for (;;) {
        char c;
        ssize_t r = read(STDIN_FILENO, &c, 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = -1;
            break;
        }
        if (r == 0) {
            if (!got_any)
                rc = 0;
            break;
        }
        got_any = 1;
        if (c == '\n')
            break;
        if (n + 1 >= cap) {
            rc = -1; /* keep reading to the end of the line, storing nothing */
            continue;
        }
        buf[n++] = c;
        c = 0;
    }
    if (n > 0 && buf[n - 1] == '\r')
        n--;
    buf[n] = '\0';
    if (rc != 1) {
        ward_wipe(buf, cap);
        n = 0;
    }
    *len = n;
    if (tty) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tty);
        tty_changed = 0;
        for (int i = 0; i < 4; i++)
            sigaction(sigs[i], &old[i], NULL);
        fputc('\n', stderr);
    }
    return rc;
}

/* The password for a new or changed password: from stdin with --password-stdin (asked twice on
 * a terminal), interactively on a terminal by default. buf has WARD_PASSWORD_MAX + 2 bytes. */
static int get_password(const struct args *a, const char *user, char *buf, size_t cap,
                        size_t *len)
{
    int tty = isatty(STDIN_FILENO);
    if (!a->pw_stdin && !tty) {
        fprintf(stderr, "ward user: stdin is not a terminal: give --password-stdin (the first "
                        "line of stdin is the password) or --no-password\n");
        return EXIT_USAGE;
    }
    char prompt[128];
    snprintf(prompt, sizeof prompt, "Password for %s: ", user);
    int r = read_secret_line(prompt, buf, cap, len);
    if (r != 1 || *len == 0) {
        ward_wipe(buf, cap);
        fprintf(stderr, "ward user: %s\n",
                r < 0 ? "password too long (at most 1024 bytes) or unreadable" : "no password given");
        return EXIT_FAIL;
    }
    if (tty) {
        char again[WARD_PASSWORD_MAX + 2];
        size_t alen = 0;
        r = read_secret_line("Again: ", again, sizeof again, &alen);
        int same = r == 1 && alen == *len && ward_ct_equal(again, buf, alen);
        ward_wipe(again, sizeof again);
        if (!same) {
            ward_wipe(buf, cap);
            fputs("ward user: the passwords differ\n", stderr);
            return EXIT_FAIL;
        }
    }
    return EXIT_OK;
}

/* ---- ward user ... -------------------------------------------------------------------------- */

static int check_name(const struct args *a, const char *what, const char *name)
{
    if (!ward_id_valid_name(name))
        return usage(a, "invalid %s name '%s' (1..64 of a-z 0-9 . _ - @, starting with a-z 0-9)",
                     what, name);
    return EXIT_OK;
}

static int user_add(const struct cli_opts *o, struct args *a)
{
    if (a->npos != 1)
        return usage(a, "add takes one NAME");
    const char *name = a->pos[0];
    int rc = check_name(a, "user", name);
    for (size_t i = 0; !rc && i < a->nroles; i++)
        rc = check_name(a, "role", a->roles[i]);
    if (rc)
        return rc;
    char pw[WARD_PASSWORD_MAX + 2];
    size_t pw_len = 0;
    if (!a->no_pw && (rc = get_password(a, name, pw, sizeof pw, &pw_len)) != EXIT_OK)
        return rc;
    ward_identity *db = NULL;
    if ((rc = open_db(a, 1, &db)) == EXIT_OK) {
        if (ward_identity_user_add(db, name, a->display, a->no_pw ? NULL : pw, pw_len,
                                   a->roles, a->nroles) != WARD_OK) {
            rc = fail("cannot add the user");
        } else if (o->json) {
            json_t *roles = json_array();
            for (size_t i = 0; i < a->nroles; i++)
                json_array_append_new(roles, json_string(a->roles[i]));
            rc = print_json(json_pack("{s:s, s:o, s:b}", "name", name, "roles", roles,
                                      "password", !a->no_pw));
        } else {
            printf("added user %s, roles:", name);
            for (size_t i = 0; i < a->nroles; i++)
                printf(" %s", a->roles[i]);
            printf("%s\n", a->nroles ? "" : " none (give one with `ward user role add`)");
        }
    }
    ward_wipe(pw, sizeof pw);
    ward_identity_close(db);
    return rc;
}

static int user_list(const struct cli_opts *o, struct args *a)
{
    if (a->npos != 0)
        return usage(a, "list takes no argument");
    ward_identity *db = NULL;
    int rc = open_db(a, 0, &db);
    if (rc)
        return rc;
    json_t *users = NULL;
    if (ward_identity_users_json(db, &users) != WARD_OK) {
        rc = fail("cannot list users");
    } else if (o->json) {
        rc = print_json(users);
        users = NULL;
    } else {
        printf("%-24s %-8s %-7s %-8s %s\n", "NAME", "STATE", "TOTP", "PASSWORD", "ROLES");
        size_t i;
        json_t *u;
        json_array_foreach(users, i, u) {
            printf("%-24s %-8s %-7s %-8s", json_string_value(json_object_get(u, "name")),
                   json_is_true(json_object_get(u, "disabled")) ? "disabled" : "enabled",
                   json_string_value(json_object_get(u, "totp")),
                   json_is_true(json_object_get(u, "password")) ? "set" : "none");
            size_t k;
            json_t *r;
            const char *sep = " ";
            json_array_foreach(json_object_get(u, "roles"), k, r) {
                printf("%s%s", sep, json_string_value(r));
                sep = ",";
            }
            if (json_array_size(json_object_get(u, "roles")) == 0)
                printf(" -");
            putchar('\n');
        }
    }
    json_decref(users);
    ward_identity_close(db);
    return rc;
}

static int user_passwd(const struct cli_opts *o, struct args *a)
{
    (void)o;
    if (a->npos != 1)
        return usage(a, "passwd takes one NAME");
    int rc = check_name(a, "user", a->pos[0]);
    if (rc)
        return rc;
    ward_identity *db = NULL;
    if ((rc = open_db(a, 0, &db)) != EXIT_OK)
        return rc;
    /* Fail on an unknown user before asking for a password. */
    if (ward_identity_user_exists(db, a->pos[0]) != 1) {
        fprintf(stderr, "ward user: no user '%s'\n", a->pos[0]);
        ward_identity_close(db);
        return EXIT_FAIL;
    }
    char pw[WARD_PASSWORD_MAX + 2];
    size_t pw_len = 0;
    if (!a->no_pw && (rc = get_password(a, a->pos[0], pw, sizeof pw, &pw_len)) != EXIT_OK) {
        ward_identity_close(db);
        return rc;
    }
    if (ward_identity_user_set_password(db, a->pos[0], a->no_pw ? NULL : pw, pw_len) != WARD_OK)
        rc = fail("cannot set the password");
    else
        printf("%s password of %s\n", a->no_pw ? "removed the" : "changed the", a->pos[0]);
    ward_wipe(pw, sizeof pw);
    ward_identity_close(db);
    return rc;
}

static int user_disable(struct args *a, int disabled)
{
    if (a->npos != 1)
        return usage(a, "%s takes one NAME", disabled ? "disable" : "enable");
    int rc = check_name(a, "user", a->pos[0]);
    if (rc)
        return rc;
    ward_identity *db = NULL;
    if ((rc = open_db(a, 0, &db)) != EXIT_OK)
        return rc;
    if (ward_identity_user_set_disabled(db, a->pos[0], disabled) != WARD_OK)
        rc = fail(disabled ? "cannot disable the user" : "cannot enable the user");
    else
        printf("%s user %s\n", disabled ? "disabled" : "enabled", a->pos[0]);
    ward_identity_close(db);
    return rc;
}

static int print_roles(ward_identity *db, int json)
{
    json_t *roles = NULL;
    if (ward_rbac_roles_json(db, &roles) != WARD_OK)
        return fail("cannot list roles");
    if (json)
        return print_json(roles);
    size_t i;
    json_t *r;
    json_array_foreach(roles, i, r) {
        printf("%s%s (%lld user%s): %s\n", json_string_value(json_object_get(r, "name")),
               json_is_true(json_object_get(r, "sensitive")) ? " [sensitive]" : "",
               (long long)json_integer_value(json_object_get(r, "users")),
               json_integer_value(json_object_get(r, "users")) == 1 ? "" : "s",
               json_string_value(json_object_get(r, "description")));
        size_t k;
        json_t *p;
        printf("   ");
        json_array_foreach(json_object_get(r, "permissions"), k, p)
            printf(" %s", json_string_value(p));
        if (json_array_size(json_object_get(r, "permissions")) == 0)
            printf(" (no permission)");
        putchar('\n');
    }
    json_decref(roles);
    return EXIT_OK;
}

static int print_perms(ward_identity *db, int json)
{
    json_t *perms = NULL;
    if (ward_rbac_perms_json(db, &perms) != WARD_OK)
        return fail("cannot list permissions");
    if (json)
        return print_json(perms);
    size_t i;
    json_t *p;
    json_array_foreach(perms, i, p) {
        printf("%-16s %s\n   roles:", json_string_value(json_object_get(p, "name")),
               json_string_value(json_object_get(p, "description")));
        size_t k;
        json_t *r;
        json_array_foreach(json_object_get(p, "roles"), k, r)
            printf(" %s", json_string_value(r));
        if (json_array_size(json_object_get(p, "roles")) == 0)
            printf(" (none)");
        putchar('\n');
    }
    json_decref(perms);
    return EXIT_OK;
}

static int user_role(const struct cli_opts *o, struct args *a)
{
    if (a->npos < 1)
        return usage(a, "role needs a verb: add, remove, list, perms, create, delete, grant, "
                        "revoke, sensitive");
    const char *verb = a->pos[0];
    int n = a->npos - 1;
    const char *x = n > 0 ? a->pos[1] : NULL, *y = n > 1 ? a->pos[2] : NULL;
    int rc = EXIT_OK;
    int want;
    if (strcmp(verb, "list") == 0 || strcmp(verb, "perms") == 0)
        want = 0;
    else if (strcmp(verb, "create") == 0 || strcmp(verb, "delete") == 0)
        want = 1;
    else if (strcmp(verb, "add") == 0 || strcmp(verb, "remove") == 0 ||
             strcmp(verb, "grant") == 0 || strcmp(verb, "revoke") == 0 ||
             strcmp(verb, "sensitive") == 0)
        want = 2;
    else
        return usage(a, "unknown role verb '%s'", verb);
    if (n != want)
        return usage(a, "role %s takes %d argument%s", verb, want, want == 1 ? "" : "s");
    if ((a->sensitive || a->description) && strcmp(verb, "create") != 0)
        return usage(a, "--sensitive and --description go with `role create`");
    int is_user = strcmp(verb, "add") == 0 || strcmp(verb, "remove") == 0;
    if (is_user && ((rc = check_name(a, "user", x)) || (rc = check_name(a, "role", y))))
        return rc;
    if (!is_user && want >= 1 && (rc = check_name(a, "role", x)))
        return rc;
    if ((strcmp(verb, "grant") == 0 || strcmp(verb, "revoke") == 0) &&
        !ward_id_valid_perm_name(y))
        return usage(a, "invalid permission name '%s'", y);
    int on = 0;
    if (strcmp(verb, "sensitive") == 0) {
        if (strcmp(y, "on") == 0)
            on = 1;
        else if (strcmp(y, "off") != 0)
            return usage(a, "role sensitive ROLE on|off");
    }
    ward_identity *db = NULL;
    int create = strcmp(verb, "list") != 0 && strcmp(verb, "perms") != 0;
    if ((rc = open_db(a, create, &db)) != EXIT_OK)
        return rc;
    ward_err err = WARD_OK;
    if (strcmp(verb, "list") == 0) {
        rc = print_roles(db, o->json);
    } else if (strcmp(verb, "perms") == 0) {
        rc = print_perms(db, o->json);
    } else {
        const char *done = NULL;
        if (strcmp(verb, "add") == 0)
            err = ward_rbac_user_role_add(db, x, y), done = "gave role";
        else if (strcmp(verb, "remove") == 0)
            err = ward_rbac_user_role_remove(db, x, y), done = "took role";
        else if (strcmp(verb, "create") == 0)
            err = ward_rbac_role_add(db, x, a->description, a->sensitive), done = "created role";
        else if (strcmp(verb, "delete") == 0)
            err = ward_rbac_role_delete(db, x), done = "deleted role";
        else if (strcmp(verb, "grant") == 0)
            err = ward_rbac_grant(db, x, y), done = "granted";
        else if (strcmp(verb, "revoke") == 0)
            err = ward_rbac_revoke(db, x, y), done = "revoked";
        else
            err = ward_rbac_role_set_sensitive(db, x, on), done = "set sensitivity of role";
        if (err != WARD_OK) {
            char what[64];
            snprintf(what, sizeof what, "role %s failed", verb);
            rc = fail(what);
        } else if (is_user) {
            printf("%s %s %s %s\n", done, y, strcmp(verb, "add") == 0 ? "to" : "from", x);
        } else if (want == 2) {
            printf("%s %s %s %s\n", done, y, strcmp(verb, "sensitive") == 0 ? "for" : "on", x);
        } else {
            printf("%s %s\n", done, x);
        }
    }
    ward_identity_close(db);
    return rc;
}

static int user_totp(const struct cli_opts *o, struct args *a)
{
    if (a->npos != 2)
        return usage(a, "totp enroll|confirm|remove NAME");
    const char *verb = a->pos[0], *name = a->pos[1];
    if (strcmp(verb, "enroll") != 0 && strcmp(verb, "confirm") != 0 &&
        strcmp(verb, "remove") != 0)
        return usage(a, "unknown totp verb '%s'", verb);
    int rc = check_name(a, "user", name);
    if (rc)
        return rc;
    ward_identity *db = NULL;
    if ((rc = open_db(a, 0, &db)) != EXIT_OK)
        return rc;
    if (strcmp(verb, "enroll") == 0) {
        char *secret = NULL, *uri = NULL;
        if (ward_identity_totp_enroll(db, name, &secret, &uri) != WARD_OK) {
            rc = fail("cannot enroll TOTP");
        } else {
            if (o->json) {
                json_t *j = json_pack("{s:s, s:s, s:s, s:i, s:i, s:s}", "user", name, "secret",
                                      secret, "uri", uri, "digits", WARD_TOTP_DIGITS, "period",
                                      WARD_TOTP_PERIOD, "algorithm", "SHA1");
                static const char *const secrets[] = {"secret", "uri", NULL};
                rc = print_json_secret(j, secrets);
            } else {
                printf("uri: %s\nsecret: %s\n", uri, secret);
                fprintf(stderr, "Shown once: add it to an authenticator app, then run "
                                "`ward user totp confirm %s` with a current code.\n", name);
            }
            fflush(stdout);
            ward_wipe(secret, strlen(secret));
            ward_wipe(uri, strlen(uri));
        }
        free(secret);
        free(uri);
    } else if (strcmp(verb, "confirm") == 0) {
        char code[16];
        size_t len = 0;
        int r = read_secret_line("TOTP code: ", code, sizeof code, &len);
        if (r != 1 || len == 0) {
            fputs("ward user: no TOTP code given on stdin\n", stderr);
            rc = EXIT_FAIL;
        } else if (ward_identity_totp_confirm(db, name, code) != WARD_OK) {
            rc = fail("cannot confirm TOTP");
        } else {
            printf("TOTP active for %s\n", name);
        }
        ward_wipe(code, sizeof code);
    } else {
        if (ward_identity_totp_remove(db, name) != WARD_OK)
            rc = fail("cannot remove TOTP");
        else
            printf("removed TOTP of %s\n", name);
    }
    ward_identity_close(db);
    return rc;
}

static int load_cert_file(const char *path, ward_cert **out)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "ward user: cannot open %s: %s\n", path, strerror(errno));
        return EXIT_FAIL;
    }
    char *buf = malloc(CERT_FILE_MAX + 1);
    size_t n = buf ? fread(buf, 1, CERT_FILE_MAX + 1, f) : 0;
    int bad = ferror(f);
    fclose(f);
    if (buf == NULL || bad || n > CERT_FILE_MAX) {
        free(buf);
        fprintf(stderr, "ward user: cannot read %s (at most 64 KiB)\n", path);
        return EXIT_FAIL;
    }
    buf[n] = '\0';
    ward_err err = ward_cert_from_pem(buf, n, out);
    if (err != WARD_OK && ward_cert_from_der((const uint8_t *)buf, n, out) == WARD_OK)
        err = WARD_OK;
    free(buf);
    if (err != WARD_OK) {
        fprintf(stderr, "ward user: %s is not a certificate (PEM or DER)\n", path);
        return EXIT_FAIL;
    }
    return EXIT_OK;
}

/* `ca crl add FILE`, `ca crl list`. */
static int ca_crl(const struct cli_opts *o, struct args *a)
{
    const char *verb = a->npos > 1 ? a->pos[1] : "";
    ward_identity *db = NULL;
    int rc;
    if (strcmp(verb, "list") == 0 && a->npos == 2) {
        if ((rc = open_db(a, 0, &db)) != EXIT_OK)
            return rc;
        json_t *l = NULL;
        if (ward_identity_crls_json(db, &l) != WARD_OK) {
            rc = fail("cannot list CRLs");
        } else if (o->json) {
            rc = print_json(l);
            l = NULL;
        } else {
            size_t i;
            json_t *c;
            json_array_foreach(l, i, c)
                printf("%s %s next_update=%lld revoked=%lld\n",
                       json_string_value(json_object_get(c, "ca_fingerprint")),
                       json_string_value(json_object_get(c, "issuer")),
                       (long long)json_integer_value(json_object_get(c, "next_update")),
                       (long long)json_integer_value(json_object_get(c, "revoked")));
        }
        json_decref(l);
        ward_identity_close(db);
        return rc;
    }
    if (strcmp(verb, "add") != 0 || a->npos != 3)
        return usage(a, "ca crl add CRL | ca crl list");
    FILE *f = fopen(a->pos[2], "rb");
    if (f == NULL) {
        fprintf(stderr, "ward user: cannot open %s: %s\n", a->pos[2], strerror(errno));
        return EXIT_FAIL;
    }
    size_t cap = (size_t)16 << 20;
    uint8_t *buf = malloc(cap + 1);
    size_t n = buf ? fread(buf, 1, cap + 1, f) : 0;
    int bad = buf == NULL || ferror(f) || n > cap;
    fclose(f);
    if (bad) {
        free(buf);
        fprintf(stderr, "ward user: cannot read %s (at most 16 MiB)\n", a->pos[2]);
        return EXIT_FAIL;
    }
    if ((rc = open_db(a, 0, &db)) == EXIT_OK) {
        if (ward_identity_crl_add(db, buf, n) != WARD_OK)
            rc = fail("cannot load the CRL");
        else
            printf("CRL from %s loaded\n", a->pos[2]);
        ward_identity_close(db);
    }
    free(buf);
    return rc;
}

static int user_cert(const struct cli_opts *o, struct args *a, int is_ca)
{
    const char *verb = a->npos > 0 ? a->pos[0] : "";
    int rc = EXIT_OK;
    ward_identity *db = NULL;
    ward_cert *cert = NULL;
    if (is_ca && strcmp(verb, "crl") == 0)
        return ca_crl(o, a);
    if (is_ca && strcmp(verb, "list") == 0) {
        if (a->npos != 1)
            return usage(a, "ca list takes no argument");
        if ((rc = open_db(a, 0, &db)) != EXIT_OK)
            return rc;
        json_t *cas = NULL;
        if (ward_identity_cas_json(db, &cas) != WARD_OK) {
            rc = fail("cannot list CAs");
        } else if (o->json) {
            rc = print_json(cas);
            cas = NULL;
        } else {
            size_t i;
            json_t *c;
            json_array_foreach(cas, i, c)
                printf("%s %s\n", json_string_value(json_object_get(c, "fingerprint")),
                       json_string_value(json_object_get(c, "subject")));
        }
        json_decref(cas);
        ward_identity_close(db);
        return rc;
    }
    if (is_ca && strcmp(verb, "remove") == 0) {
        if (a->npos != 2)
            return usage(a, "ca remove FINGERPRINT");
        uint8_t fp[WARD_SHA256_LEN];
        if (ward_hex_decode_fixed(a->pos[1], strlen(a->pos[1]), fp, sizeof fp) != WARD_OK)
            return usage(a, "a fingerprint is 64 hex digits (see `ward user ca list`)");
        if ((rc = open_db(a, 0, &db)) != EXIT_OK)
            return rc;
        if (ward_identity_ca_remove(db, fp) != WARD_OK)
            rc = fail("cannot remove the CA");
        else
            printf("removed CA %s\n", a->pos[1]);
        ward_identity_close(db);
        return rc;
    }
    if (is_ca && strcmp(verb, "add") == 0) {
        if (a->npos != 2)
            return usage(a, "ca add CA.pem");
        if ((rc = load_cert_file(a->pos[1], &cert)) != EXIT_OK)
            return rc;
        if ((rc = open_db(a, 1, &db)) == EXIT_OK) {
            if (ward_identity_ca_add(db, cert) != WARD_OK)
                rc = fail("cannot add the CA");
            else
                printf("trusted CA from %s\n", a->pos[1]);
        }
    } else if (!is_ca && strcmp(verb, "add") == 0) {
        if (a->npos != 3)
            return usage(a, "cert add NAME CERT.pem");
        if ((rc = check_name(a, "user", a->pos[1])) || (rc = load_cert_file(a->pos[2], &cert)))
            return rc;
        uint8_t spki[WARD_SHA256_LEN];
        if (ward_cert_spki_sha256(cert, spki) != WARD_OK) {
            rc = fail("cannot read the certificate's key");
        } else if ((rc = open_db(a, 0, &db)) == EXIT_OK) {
            if (ward_identity_cert_map(db, a->pos[1], spki) != WARD_OK)
                rc = fail("cannot map the certificate");
            else
                printf("certificate key of %s mapped to %s\n", a->pos[2], a->pos[1]);
        }
    } else if (!is_ca && strcmp(verb, "remove") == 0) {
        if (a->npos != 2)
            return usage(a, "cert remove CERT.pem");
        if ((rc = load_cert_file(a->pos[1], &cert)) != EXIT_OK)
            return rc;
        uint8_t spki[WARD_SHA256_LEN];
        if (ward_cert_spki_sha256(cert, spki) != WARD_OK) {
            rc = fail("cannot read the certificate's key");
        } else if ((rc = open_db(a, 0, &db)) == EXIT_OK) {
            if (ward_identity_cert_unmap(db, spki) != WARD_OK)
                rc = fail("cannot unmap the certificate");
            else
                printf("certificate key of %s unmapped\n", a->pos[1]);
        }
    } else {
        rc = usage(a, is_ca ? "ca add|list|remove|crl" : "cert add|remove");
    }
    ward_cert_free(cert);
    ward_identity_close(db);
    return rc;
}

static int user_settings(const struct cli_opts *o, struct args *a)
{
    if (a->npos != 0)
        return usage(a, "settings takes options only");
    ward_identity *db = NULL;
    int rc = open_db(a, a->any_setting, &db);
    if (rc)
        return rc;
    ward_identity_settings s;
    if (ward_identity_get_settings(db, &s) != WARD_OK) {
        ward_identity_close(db);
        return fail("cannot read the settings");
    }
    if (a->any_setting) {
        const struct {
            const char *val, *name;
            uint32_t *field;
            int dur;
        } f[] = {
            {a->password_min, "--password-min", &s.password_min, 0},
            {a->user_max, "--user-max-failures", &s.user_max_failures, 0},
            {a->addr_max, "--addr-max-failures", &s.addr_max_failures, 0},
            {a->window, "--window", &s.window_s, 1},
            {a->lockout, "--lockout", &s.lockout_s, 1},
            {a->lockout_max, "--lockout-max", &s.lockout_max_s, 1},
            {a->token_ttl, "--token-ttl", &s.token_ttl_default_s, 1},
            {a->token_ttl_max, "--token-ttl-max", &s.token_ttl_max_s, 1},
        };
        for (size_t i = 0; i < sizeof f / sizeof f[0] && rc == EXIT_OK; i++) {
            if (f[i].val == NULL)
                continue;
            int ok = f[i].dur ? parse_duration(f[i].val, f[i].field)
                              : parse_u32(f[i].val, f[i].field);
            if (!ok)
                rc = usage(a, "%s: bad value '%s'", f[i].name, f[i].val);
        }
        if (rc == EXIT_OK && a->argon2 != NULL) {
            char t[16], m[16], p[16];
            if (sscanf(a->argon2, "%15[0-9],%15[0-9],%15[0-9]", t, m, p) != 3 ||
                !parse_u32(t, &s.argon2_t) || !parse_u32(m, &s.argon2_m_kib) ||
                !parse_u32(p, &s.argon2_p))
                rc = usage(a, "--argon2 T,M,P: passes, memory in KiB, lanes (e.g. 3,65536,1)");
        }
        if (rc == EXIT_OK && a->issuer != NULL) {
            if (strlen(a->issuer) >= sizeof s.totp_issuer)
                rc = usage(a, "--totp-issuer: at most 32 bytes");
            else
                snprintf(s.totp_issuer, sizeof s.totp_issuer, "%s", a->issuer);
        }
        if (rc == EXIT_OK && ward_identity_set_settings(db, &s) != WARD_OK)
            rc = fail("cannot change the settings");
        if (rc != EXIT_OK) {
            ward_identity_close(db);
            return rc;
        }
    }
    if (o->json) {
        rc = print_json(json_pack(
            "{s:{s:i, s:i, s:i}, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:s}", "argon2", "t",
            (int)s.argon2_t, "m_kib", (int)s.argon2_m_kib, "p", (int)s.argon2_p, "password_min",
            (int)s.password_min, "user_max_failures", (int)s.user_max_failures,
            "addr_max_failures", (int)s.addr_max_failures, "window_s", (int)s.window_s,
            "lockout_s", (int)s.lockout_s, "lockout_max_s", (int)s.lockout_max_s,
            "token_ttl_s", (int)s.token_ttl_default_s, "token_ttl_max_s",
            (int)s.token_ttl_max_s, "totp_issuer", s.totp_issuer));
    } else {
        printf("argon2: t=%u m=%u KiB p=%u\npassword_min: %u\n"
               "rate limit: %u failures per user, %u per address, in %u s; lockout %u s "
               "doubling to %u s\ntokens: default %u s, at most %u s\ntotp_issuer: %s\n",
               s.argon2_t, s.argon2_m_kib, s.argon2_p, s.password_min, s.user_max_failures,
               s.addr_max_failures, s.window_s, s.lockout_s, s.lockout_max_s,
               s.token_ttl_default_s, s.token_ttl_max_s, s.totp_issuer);
    }
    ward_identity_close(db);
    return rc;
}

/* Moves global options that precede the verb (`ward user --data-dir D list`) behind it, so
 * that argv[1] is the verb. Returns 0, or -1 if no verb follows. */
static int verb_first(int argc, char **argv)
{
    int i = 1;
    while (i < argc && argv[i][0] == '-') {
        if (strcmp(argv[i], "--data-dir") == 0)
            i += 2;
        else if (strcmp(argv[i], "--json") == 0 || strncmp(argv[i], "--data-dir=", 11) == 0)
            i += 1;
        else
            return 0; /* not a global option: leave it to the parser's message */
    }
    if (i >= argc)
        return -1;
    char *verb = argv[i];
    memmove(argv + 2, argv + 1, (size_t)(i - 1) * sizeof *argv);
    argv[1] = verb;
    return 0;
}

int cmd_user(const struct cli_opts *o, int argc, char **argv)
{
    struct args a = {.cmd = "user", .help = user_help};
    if (cli_wants_help(argc, argv)) {
        fputs(user_help, stdout);
        return EXIT_OK;
    }
    if (argc < 2 || verb_first(argc, argv) != 0) {
        fputs(user_help, stderr);
        return EXIT_USAGE;
    }
    const char *verb = argv[1];
    static const struct {
        const char *verb;
        unsigned opts;
    } verbs[] = {
        {"add", O_ROLE | O_DISPLAY | O_PW_STDIN | O_NO_PW},
        {"list", 0},
        {"passwd", O_PW_STDIN | O_NO_PW},
        {"disable", 0},
        {"enable", 0},
        {"role", O_SENSITIVE | O_DESCRIPTION},
        {"totp", 0},
        {"cert", 0},
        {"ca", 0},
        {"settings", O_SETTINGS},
    };
    unsigned opts = 0;
    int known = 0;
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
        if (strcmp(verb, verbs[i].verb) == 0) {
            opts = verbs[i].opts;
            known = 1;
        }
    if (!known)
        return usage(&a, "unknown verb '%s'", verb);
    int rc = parse(&a, argc, argv, 2, opts | O_DATA_DIR | O_JSON);
    if (rc)
        return rc;
    if (strcmp(verb, "add") == 0)
        return user_add(o, &a);
    if (strcmp(verb, "list") == 0)
        return user_list(o, &a);
    if (strcmp(verb, "passwd") == 0)
        return user_passwd(o, &a);
    if (strcmp(verb, "disable") == 0)
        return user_disable(&a, 1);
    if (strcmp(verb, "enable") == 0)
        return user_disable(&a, 0);
    if (strcmp(verb, "role") == 0)
        return user_role(o, &a);
    if (strcmp(verb, "totp") == 0)
        return user_totp(o, &a);
    if (strcmp(verb, "cert") == 0)
        return user_cert(o, &a, 0);
    if (strcmp(verb, "ca") == 0)
        return user_cert(o, &a, 1);
    return user_settings(o, &a);
}

/* ---- ward token ... ------------------------------------------------------------------------- */

static int token_issue(const struct cli_opts *o, struct args *a)
{
    if (a->npos != 1)
        return usage(a, "issue takes one NAME");
    int rc = check_name(a, "user", a->pos[0]);
    if (rc)
        return rc;
    uint32_t ttl = 0;
    if (a->ttl != NULL && (!parse_duration(a->ttl, &ttl) || ttl == 0))
        return usage(a, "--ttl: a positive duration such as 3600, 90m, 24h, 30d");
    ward_identity *db = NULL;
    if ((rc = open_db(a, 0, &db)) != EXIT_OK)
        return rc;
    char *token = NULL;
    char id[WARD_TOKEN_ID_LEN + 1];
    int64_t expires = 0;
    if (ward_identity_token_issue(db, a->pos[0], ttl, a->description, &token, id, &expires) !=
        WARD_OK) {
        rc = fail("cannot issue a token");
    } else {
        char when[32];
        fmt_time(expires, when);
        if (o->json) {
            static const char *const secrets[] = {"token", NULL};
            rc = print_json_secret(json_pack("{s:s, s:s, s:s, s:I, s:s}", "id", id, "user",
                                             a->pos[0], "expires", when, "expires_unix",
                                             (json_int_t)expires, "token", token),
                                   secrets);
        } else {
            printf("id: %s\nuser: %s\nexpires: %s\ntoken: %s\n", id, a->pos[0], when, token);
            fputs("The token is shown once and cannot be recovered; keep it secret.\n", stderr);
        }
        fflush(stdout);
        ward_wipe(token, strlen(token));
    }
    free(token);
    ward_identity_close(db);
    return rc;
}

static int token_revoke(struct args *a)
{
    if (a->npos != 1)
        return usage(a, "revoke takes one ID");
    ward_identity *db = NULL;
    int rc = open_db(a, 0, &db);
    if (rc)
        return rc;
    ward_err err = ward_identity_token_revoke(db, a->pos[0]);
    if (err == WARD_ERR_INVALID_ARG)
        rc = usage(a, "%s", ward_errmsg());
    else if (err != WARD_OK)
        rc = fail("cannot revoke the token");
    else
        printf("revoked token %s\n", a->pos[0]);
    ward_identity_close(db);
    return rc;
}

static int token_list(const struct cli_opts *o, struct args *a)
{
    if (a->npos > 1)
        return usage(a, "list takes at most a user NAME");
    int rc = a->npos ? check_name(a, "user", a->pos[0]) : EXIT_OK;
    if (rc)
        return rc;
    ward_identity *db = NULL;
    if ((rc = open_db(a, 0, &db)) != EXIT_OK)
        return rc;
    json_t *toks = NULL;
    if (ward_identity_tokens_json(db, a->npos ? a->pos[0] : NULL, &toks) != WARD_OK) {
        rc = fail("cannot list tokens");
    } else if (o->json) {
        rc = print_json(toks);
        toks = NULL;
    } else {
        printf("%-16s %-24s %-8s %-20s %s\n", "ID", "USER", "STATE", "EXPIRES", "DESCRIPTION");
        size_t i;
        json_t *t;
        json_array_foreach(toks, i, t) {
            char when[32];
            fmt_time((int64_t)json_integer_value(json_object_get(t, "expires")), when);
            printf("%-16s %-24s %-8s %-20s %s\n", json_string_value(json_object_get(t, "id")),
                   json_string_value(json_object_get(t, "user")),
                   json_string_value(json_object_get(t, "state")), when,
                   json_string_value(json_object_get(t, "description")));
        }
    }
    json_decref(toks);
    ward_identity_close(db);
    return rc;
}

int cmd_token(const struct cli_opts *o, int argc, char **argv)
{
    struct args a = {.cmd = "token", .help = token_help};
    if (cli_wants_help(argc, argv)) {
        fputs(token_help, stdout);
        return EXIT_OK;
    }
    if (argc < 2 || verb_first(argc, argv) != 0) {
        fputs(token_help, stderr);
        return EXIT_USAGE;
    }
    const char *verb = argv[1];
    unsigned opts;
    if (strcmp(verb, "issue") == 0)
        opts = O_TTL | O_DESCRIPTION;
    else if (strcmp(verb, "revoke") == 0 || strcmp(verb, "list") == 0)
        opts = 0;
    else
        return usage(&a, "unknown verb '%s'", verb);
    int rc = parse(&a, argc, argv, 2, opts | O_DATA_DIR | O_JSON);
    if (rc)
        return rc;
    if (strcmp(verb, "issue") == 0)
        return token_issue(o, &a);
    if (strcmp(verb, "revoke") == 0)
        return token_revoke(&a);
    return token_list(o, &a);
}
