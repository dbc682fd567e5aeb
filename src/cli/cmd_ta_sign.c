/* `ward ta keygen | sign | measure`: developer keys, signed TA manifests, and reproducible
 * measurements (DESIGN 3; formats in docs/formats.md, "TA measurement" and "TA manifest"). */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "ward/crypto.h"
#include "ward/encoding.h"
#include "ward/err.h"
#include "ward/manifest.h"

#define KEY_FILE_MAX ((size_t)16 << 10)
#define IMAGE_MAX ((size_t)1 << 30)
#define MANIFEST_FILE_MAX ((size_t)256 << 10)
#define IDL_FILE_MAX ((size_t)1 << 20)
#define DEFAULT_HEAP_MAX ((uint64_t)64 << 20)
#define DEFAULT_THREADS_MAX 1u

static const char keygen_help[] =
    "usage: ward ta keygen --out KEY.pem [--json]\n"
    "\n"
    "Makes a developer key for signing TAs: ECDSA P-256, unencrypted PKCS#8 PEM, written with\n"
    "mode 0600. Refuses to overwrite an existing file. Prints the signer: the SHA-256 of the\n"
    "key's DER SubjectPublicKeyInfo, which is what a verifier's policy names. Keep the key\n"
    "private: whoever holds it can sign TAs that unseal this signer's data.\n"
    "\n"
    "exit status: 0 written, 1 failed, 2 bad usage\n";

static const char sign_help[] =
    "usage: ward ta sign --key KEY.pem --image IMAGE (--calls a,b,c | --calls-from FILE.idl)\n"
    "                    --out MANIFEST.json [options]\n"
    "\n"
    "Signs a TA image: writes its manifest (JSON; docs/formats.md, \"TA manifest\") holding the\n"
    "measurement of the image under the settings below, signed with KEY (ECDSA P-256).\n"
    "The measurement does not depend on the key or the name: the same image and settings give\n"
    "the same measurement on any machine. An existing MANIFEST.json is replaced atomically.\n"
    "\n"
    "options:\n"
    "  --name NAME         TA name, 1..64 of A-Z a-z 0-9 _ - (default: the image's file name\n"
    "                      without its extension)\n"
    "  --product-id N      0..65535 (default 0)\n"
    "  --svn N             security version number, 0..65535 (default 0)\n"
    "  --debug             a debug TA: it fails every production policy\n"
    "  --heap-max SIZE     secret heap limit, 1M..64G; a number of bytes or with a suffix\n"
    "                      K, M, G (powers of 1024) (default 64M)\n"
    "  --threads-max N     1..256 (default 1)\n"
    "  --calls a,b,c       the exported calls in call-id order (the first is id 0)\n"
    "  --calls-from FILE   the calls of an interface description: each line that starts with\n"
    "                      the word `call` (after optional blanks) declares one call,\n"
    "                      `call NAME(...)`; NAME is taken in file order, the rest ignored\n"
    "  --json              print the result as JSON\n"
    "\n"
    "exit status: 0 written, 1 failed, 2 bad usage\n";

static const char measure_help[] =
    "usage: ward ta measure --image IMAGE --manifest MANIFEST.json [--json]\n"
    "\n"
    "Checks the manifest's signature, recomputes the measurement of IMAGE under the manifest's\n"
    "settings, and prints it with the signer (SHA-256 of the signing key), both in hex.\n"
    "The image must match the manifest: same size, same SHA-256, same measurement.\n"
    "\n"
    "exit status: 0 the image matches its manifest, 1 it does not or the manifest is invalid\n"
    "(the message says what differs), 2 bad usage\n";

/* ---- small helpers ------------------------------------------------------------------------ */

static int usage(const char *verb, const char *help, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prints "ward ta VERB: message" and the verb's help to stderr; returns EXIT_USAGE. */
static int usage(const char *verb, const char *help, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "ward ta %s: ", verb);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n\n%s", help);
    return EXIT_USAGE;
}

/* Matches argv[*i] against --name VALUE or --name=VALUE. Returns 1 (matched, *val set and *i
 * advanced past a separate value), 0 (not this option), -1 (matched but no value). */
static int opt_value(int argc, char **argv, int *i, const char *name, const char **val)
{
    const char *a = argv[*i];
    size_t n = strlen(name);
    if (strncmp(a, name, n) != 0)
        return 0;
    if (a[n] == '=') {
        *val = a + n + 1;
        return 1;
    }
    if (a[n] != '\0')
        return 0;
    if (*i + 1 >= argc)
        return -1;
    *val = argv[++*i];
    return 1;
}

/* Decimal without sign, at most max. */
static int parse_uint(const char *s, uint64_t max, uint64_t *out)
{
    if (s == NULL || s[0] == '\0')
        return 0;
    uint64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return 0;
        uint64_t d = (uint64_t)(*p - '0');
        if (v > (max - d) / 10)
            return 0;
        v = v * 10 + d;
    }
    *out = v;
    return 1;
}

/* A byte count: decimal, optionally followed by K, M or G (powers of 1024; "KiB", "MiB",
 * "GiB" also accepted). */
static int parse_size(const char *s, uint64_t *out)
{
    if (s == NULL)
        return 0;
    size_t len = strlen(s);
    size_t digits = 0;
    while (digits < len && s[digits] >= '0' && s[digits] <= '9')
        digits++;
    if (digits == 0 || digits > 20)
        return 0;
    const char *suf = s + digits;
    unsigned shift = 0;
    if (suf[0] != '\0') {
        switch (suf[0]) {
        case 'k': case 'K': shift = 10; break;
        case 'm': case 'M': shift = 20; break;
        case 'g': case 'G': shift = 30; break;
        default: return 0;
        }
        if (strcmp(suf + 1, "") != 0 && strcmp(suf + 1, "iB") != 0)
            return 0;
    }
    char num[21];
    memcpy(num, s, digits);
    num[digits] = '\0';
    uint64_t v = 0;
    if (!parse_uint(num, UINT64_MAX >> shift, &v))
        return 0;
    *out = v << shift;
    return 1;
}

static void hex32(const uint8_t in[WARD_SHA256_LEN], char out[2 * WARD_SHA256_LEN + 1])
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < WARD_SHA256_LEN; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 0x0f];
    }
    out[2 * WARD_SHA256_LEN] = '\0';
}

/* Reads a whole regular file of at most max bytes (malloc'd, NUL-terminated). On failure sets
 * the error message. st receives the file's status when not NULL. */
static ward_err read_whole(const char *path, size_t max, uint8_t **out, size_t *out_len,
                           struct stat *st_out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return ward_err_set(errno == ENOENT ? WARD_ERR_NOT_FOUND : WARD_ERR_IO,
                            "cannot open %s: %s", path, strerror(errno));
    struct stat st;
    ward_err err = WARD_OK;
    uint8_t *buf = NULL;
    size_t len = 0;
    if (fstat(fd, &st) != 0) {
        err = ward_err_set(WARD_ERR_IO, "cannot stat %s: %s", path, strerror(errno));
    } else if (!S_ISREG(st.st_mode)) {
        err = ward_err_set(WARD_ERR_INVALID_ARG, "%s is not a regular file", path);
    } else if (st.st_size < 0 || (uint64_t)st.st_size > (uint64_t)max) {
        err = ward_err_set(WARD_ERR_LIMIT, "%s is %lld bytes; at most %zu accepted", path,
                           (long long)st.st_size, max);
    } else {
        size_t cap = (size_t)st.st_size + 1;
        buf = malloc(cap + 1);
        if (buf == NULL)
            err = ward_err_set(WARD_ERR_NOMEM, "reading %s: out of memory", path);
        while (err == WARD_OK) {
            if (len == cap) {
                err = ward_err_set(WARD_ERR_IO, "%s changed while being read", path);
                break;
            }
            ssize_t n = read(fd, buf + len, cap - len);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                err = ward_err_set(WARD_ERR_IO, "cannot read %s: %s", path, strerror(errno));
            else if (n == 0)
                break;
            else
                len += (size_t)n;
        }
        if (err != WARD_OK && buf != NULL) {
            ward_wipe(buf, cap + 1);
            free(buf);
            buf = NULL;
        }
    }
    close(fd);
    if (err != WARD_OK)
        return err;
    buf[len] = 0;
    *out = buf;
    *out_len = len;
    if (st_out != NULL)
        *st_out = st;
    return WARD_OK;
}

/* Writes data to path through a temporary file in the same directory (O_EXCL, mode), fsync
 * and rename: readers see the old file or the new one, never a part. With replace == 0 an
 * existing path is never replaced (WARD_ERR_EXISTS). */
static ward_err write_file(const char *path, const void *data, size_t len, mode_t mode,
                           int replace)
{
    char *dcopy = strdup(path);
    if (dcopy == NULL)
        return ward_err_set(WARD_ERR_NOMEM, "out of memory");
    const char *dir = dirname(dcopy);
    uint8_t rnd[6];
    ward_err err = ward_random(rnd, sizeof rnd);
    char *tmp = NULL;
    if (err == WARD_OK) {
        size_t tlen = strlen(dir) + 40;
        tmp = malloc(tlen);
        if (tmp == NULL)
            err = ward_err_set(WARD_ERR_NOMEM, "out of memory");
        else
            snprintf(tmp, tlen, "%s/.ward-tmp-%02x%02x%02x%02x%02x%02x", dir, rnd[0], rnd[1],
                     rnd[2], rnd[3], rnd[4], rnd[5]);
    }
    int fd = -1;
    if (err == WARD_OK) {
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
        if (fd < 0)
            err = ward_err_set(WARD_ERR_IO, "cannot create a file in %s: %s", dir,
                               strerror(errno));
    }
    if (err == WARD_OK && fchmod(fd, mode) != 0)
        err = ward_err_set(WARD_ERR_IO, "cannot set the mode of %s: %s", path, strerror(errno));
    for (size_t off = 0; err == WARD_OK && off < len;) {
        ssize_t n = write(fd, (const uint8_t *)data + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            err = ward_err_set(WARD_ERR_IO, "cannot write %s: %s", path,
                               n < 0 ? strerror(errno) : "no progress");
        else
            off += (size_t)n;
    }
    if (err == WARD_OK && fsync(fd) != 0)
        err = ward_err_set(WARD_ERR_IO, "cannot fsync %s: %s", path, strerror(errno));
    if (fd >= 0 && close(fd) != 0 && err == WARD_OK)
        err = ward_err_set(WARD_ERR_IO, "cannot close %s: %s", path, strerror(errno));
    if (err == WARD_OK) {
        int rc;
        if (replace) {
            rc = rename(tmp, path);
        } else {
            rc = renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE);
            if (rc != 0 && (errno == EINVAL || errno == ENOSYS || errno == ENOTSUP)) {
                rc = link(tmp, path); /* never replaces either */
                if (rc == 0)
                    (void)unlink(tmp);
            }
        }
        if (rc != 0)
            err = errno == EEXIST
                      ? ward_err_set(WARD_ERR_EXISTS, "%s already exists; refusing to overwrite it",
                                     path)
                      : ward_err_set(WARD_ERR_IO, "cannot write %s: %s", path, strerror(errno));
    }
    if (err != WARD_OK && fd >= 0)
        (void)unlink(tmp);
    if (err == WARD_OK) {
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            (void)fsync(dfd);
            close(dfd);
        }
    }
    free(tmp);
    free(dcopy);
    return err;
}

static int print_json(json_t *j)
{
    if (j == NULL || json_dumpf(j, stdout, JSON_INDENT(2)) != 0) {
        json_decref(j);
        cli_error("cannot write JSON", 0);
        return EXIT_FAIL;
    }
    json_decref(j);
    fputc('\n', stdout);
    return EXIT_OK;
}

/* ---- keygen ------------------------------------------------------------------------------- */

int cmd_ta_keygen(const struct cli_opts *o, int argc, char **argv)
{
    static const char verb[] = "keygen";
    if (cli_wants_help(argc, argv)) {
        fputs(keygen_help, stdout);
        return EXIT_OK;
    }
    const char *out = NULL;
    for (int i = 1; i < argc; i++) {
        const char *v = "";
        int m;
        if (strcmp(argv[i], "--json") == 0)
            continue;
        if ((m = opt_value(argc, argv, &i, "--out", &v)) != 0) {
            if (m < 0 || v[0] == '\0')
                return usage(verb, keygen_help, "%s needs a file name", "--out");
            out = v;
            continue;
        }
        return usage(verb, keygen_help, "unexpected argument '%s'", argv[i]);
    }
    if (out == NULL)
        return usage(verb, keygen_help, "%s is required", "--out KEY.pem");

    ward_pkey *key = NULL;
    char *pem = NULL;
    size_t pem_len = 0;
    uint8_t signer[WARD_SHA256_LEN];
    ward_err err = ward_pkey_generate(WARD_KEY_EC_P256, &key);
    if (err == WARD_OK)
        err = ward_pkey_spki_sha256(key, signer);
    if (err == WARD_OK)
        err = ward_pkey_private_pem(key, &pem, &pem_len);
    if (err == WARD_OK)
        err = write_file(out, pem, pem_len, 0600, 0);
    if (pem != NULL) {
        ward_wipe(pem, pem_len);
        free(pem);
    }
    ward_pkey_free(key);
    if (err != WARD_OK) {
        cli_error("cannot make a signing key", 1);
        return EXIT_FAIL;
    }
    char hex[2 * WARD_SHA256_LEN + 1];
    hex32(signer, hex);
    if (o->json)
        return print_json(json_pack("{s:s, s:s, s:s}", "key", out, "type", "ecdsa-p256",
                                    "signer", hex));
    printf("wrote %s (ECDSA P-256, mode 0600)\nsigner: %s\n", out, hex);
    return EXIT_OK;
}

/* ---- sign --------------------------------------------------------------------------------- */

struct call_list {
    char *names[WARD_TA_MAX_CALLS];
    size_t n;
};

static void call_list_free(struct call_list *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->names[i]);
    c->n = 0;
}

static ward_err call_list_add(struct call_list *c, const char *name, size_t len)
{
    if (c->n >= WARD_TA_MAX_CALLS)
        return ward_err_set(WARD_ERR_LIMIT, "more than %d calls", WARD_TA_MAX_CALLS);
    char *s = strndup(name, len);
    if (s == NULL)
        return ward_err_set(WARD_ERR_NOMEM, "out of memory");
    c->names[c->n++] = s;
    return WARD_OK;
}

/* --calls a,b,c: every name nonempty (the library checks the rest). */
static ward_err calls_from_list(const char *list, struct call_list *c)
{
    const char *p = list;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);
        if (len == 0)
            return ward_err_set(WARD_ERR_INVALID_ARG, "--calls: empty call name in \"%s\"", list);
        ward_err err = call_list_add(c, p, len);
        if (err != WARD_OK)
            return ward_err_wrap(err, "--calls");
        if (comma == NULL)
            return WARD_OK;
        p = comma + 1;
    }
}

static int is_blank(char ch)
{
    return ch == ' ' || ch == '\t';
}

static int is_ident(char ch)
{
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
           ch == '_';
}

/* --calls-from FILE: the name after `call` on every line that starts with that word. */
static ward_err calls_from_idl(const char *path, struct call_list *c)
{
    uint8_t *text = NULL;
    size_t len = 0;
    ward_err err = read_whole(path, IDL_FILE_MAX, &text, &len, NULL);
    if (err != WARD_OK)
        return err;
    const char *s = (const char *)text;
    size_t line = 0;
    for (size_t pos = 0; pos < len && err == WARD_OK;) {
        line++;
        size_t end = pos;
        while (end < len && s[end] != '\n')
            end++;
        size_t p = pos;
        while (p < end && is_blank(s[p]))
            p++;
        if (end - p > 4 && memcmp(s + p, "call", 4) == 0 && is_blank(s[p + 4])) {
            p += 4;
            while (p < end && is_blank(s[p]))
                p++;
            size_t name = p;
            while (p < end && is_ident(s[p]))
                p++;
            if (p == name)
                err = ward_err_set(WARD_ERR_FORMAT, "%s:%zu: `call` without a name", path, line);
            else if ((err = call_list_add(c, s + name, p - name)) != WARD_OK)
                err = ward_err_wrap(err, "%s:%zu", path, line);
        }
        pos = end + 1;
    }
    free(text);
    if (err == WARD_OK && c->n == 0)
        err = ward_err_set(WARD_ERR_FORMAT, "%s declares no call (no line `call NAME(...)`)",
                           path);
    return err;
}

static ward_err load_signing_key(const char *path, ward_pkey **key)
{
    uint8_t *pem = NULL;
    size_t len = 0;
    struct stat st;
    ward_err err = read_whole(path, KEY_FILE_MAX, &pem, &len, &st);
    if (err != WARD_OK)
        return err;
    if ((st.st_mode & 077) != 0)
        fprintf(stderr, "ward: warning: %s has mode %04o: group or others can read the signing "
                "key (chmod 600 %s)\n", path, (unsigned)(st.st_mode & 07777), path);
    err = len == 0 ? ward_err_set(WARD_ERR_FORMAT, "%s is empty", path)
                   : ward_pkey_from_pem((const char *)pem, len, key);
    ward_wipe(pem, len);
    free(pem);
    if (err != WARD_OK)
        return ward_err_wrap(err, "signing key %s", path);
    if (ward_pkey_type(*key) != WARD_KEY_EC_P256 || !ward_pkey_is_private(*key)) {
        ward_pkey_free(*key);
        *key = NULL;
        return ward_err_set(WARD_ERR_INVALID_ARG,
                            "signing key %s is not an ECDSA P-256 private key (make one with "
                            "`ward ta keygen`)", path);
    }
    return WARD_OK;
}

/* The image's file name without directory and extension, if it is a valid TA name. */
static char *default_name(const char *image)
{
    const char *base = strrchr(image, '/');
    base = base != NULL ? base + 1 : image;
    size_t len = strlen(base);
    const char *dot = strrchr(base, '.');
    if (dot != NULL && dot != base)
        len = (size_t)(dot - base);
    if (len == 0 || len > WARD_TA_NAME_MAX)
        return NULL;
    for (size_t i = 0; i < len; i++)
        if (!is_ident(base[i]) && base[i] != '-')
            return NULL;
    return strndup(base, len);
}

struct sign_args {
    const char *key, *image, *out, *name, *calls, *calls_from;
    uint64_t product_id, svn, heap_max, threads_max;
    int debug;
};

/* Returns -1 when the arguments are fine, else the exit code (usage already printed). */
static int sign_parse(int argc, char **argv, struct sign_args *a)
{
    static const char verb[] = "sign";
    a->heap_max = DEFAULT_HEAP_MAX;
    a->threads_max = DEFAULT_THREADS_MAX;
    for (int i = 1; i < argc; i++) {
        const char *v = "";
        int m = 0;
        if (strcmp(argv[i], "--json") == 0)
            continue;
        if (strcmp(argv[i], "--debug") == 0) {
            a->debug = 1;
            continue;
        }
        static const char *const str_opts[] = {"--key", "--image", "--out", "--name",
                                               "--calls", "--calls-from"};
        const char **str_dst[] = {&a->key, &a->image, &a->out, &a->name, &a->calls,
                                  &a->calls_from};
        int done = 0;
        for (size_t k = 0; k < sizeof str_opts / sizeof str_opts[0] && !done; k++) {
            if ((m = opt_value(argc, argv, &i, str_opts[k], &v)) == 0)
                continue;
            if (m < 0 || v[0] == '\0')
                return usage(verb, sign_help, "%s needs a value", str_opts[k]);
            *str_dst[k] = v;
            done = 1;
        }
        if (done)
            continue;
        static const char *const num_opts[] = {"--product-id", "--svn", "--threads-max"};
        uint64_t *num_dst[] = {&a->product_id, &a->svn, &a->threads_max};
        static const uint64_t num_max[] = {UINT16_MAX, UINT16_MAX, 256};
        for (size_t k = 0; k < sizeof num_opts / sizeof num_opts[0] && !done; k++) {
            if ((m = opt_value(argc, argv, &i, num_opts[k], &v)) == 0)
                continue;
            if (m < 0 || !parse_uint(v, num_max[k], num_dst[k]) ||
                (num_dst[k] == &a->threads_max && *num_dst[k] == 0)) {
                fprintf(stderr, "ward ta sign: %s takes a number from %d to %llu\n\n%s",
                        num_opts[k], num_dst[k] == &a->threads_max ? 1 : 0,
                        (unsigned long long)num_max[k], sign_help);
                return EXIT_USAGE;
            }
            done = 1;
        }
        if (done)
            continue;
        if ((m = opt_value(argc, argv, &i, "--heap-max", &v)) != 0) {
            if (m < 0 || !parse_size(v, &a->heap_max) || a->heap_max < ((uint64_t)1 << 20) ||
                a->heap_max > ((uint64_t)64 << 30))
                return usage(verb, sign_help,
                             "--heap-max takes a size from 1M to 64G (got '%s')",
                             m < 0 ? "" : v);
            continue;
        }
        return usage(verb, sign_help, "unexpected argument '%s'", argv[i]);
    }
    if (a->key == NULL)
        return usage(verb, sign_help, "%s is required", "--key KEY.pem");
    if (a->image == NULL)
        return usage(verb, sign_help, "%s is required", "--image IMAGE");
    if (a->out == NULL)
        return usage(verb, sign_help, "%s is required", "--out MANIFEST.json");
    if ((a->calls == NULL) == (a->calls_from == NULL))
        return usage(verb, sign_help, "%s", "give exactly one of --calls and --calls-from");
    /* The manifest replaces --out: never let that be the key or the image. */
    struct stat so, sk;
    if (stat(a->out, &so) == 0) {
        if (stat(a->key, &sk) == 0 && so.st_dev == sk.st_dev && so.st_ino == sk.st_ino)
            return usage(verb, sign_help, "--out %s is the signing key", a->out);
        if (stat(a->image, &sk) == 0 && so.st_dev == sk.st_dev && so.st_ino == sk.st_ino)
            return usage(verb, sign_help, "--out %s is the image", a->out);
    }
    return -1;
}

int cmd_ta_sign(const struct cli_opts *o, int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        fputs(sign_help, stdout);
        return EXIT_OK;
    }
    struct sign_args a;
    memset(&a, 0, sizeof a);
    int rc = sign_parse(argc, argv, &a);
    if (rc >= 0)
        return rc;

    struct call_list calls = {0};
    ward_pkey *key = NULL;
    uint8_t *image = NULL;
    size_t image_len = 0;
    char *name = NULL;
    char *json = NULL;
    size_t json_len = 0;
    ward_manifest *m = NULL;
    rc = EXIT_FAIL;

    if (a.name != NULL) {
        name = strdup(a.name);
    } else if ((name = default_name(a.image)) == NULL) {
        rc = usage("sign", sign_help,
                   "the image's file name '%s' is not a TA name: give --name", a.image);
        goto done;
    }
    if (name == NULL) {
        cli_error("out of memory", 0);
        goto done;
    }
    ward_err err = a.calls != NULL ? calls_from_list(a.calls, &calls)
                                   : calls_from_idl(a.calls_from, &calls);
    if (err != WARD_OK) {
        if (err == WARD_ERR_INVALID_ARG) {
            fprintf(stderr, "ward ta sign: %s\n\n%s", ward_errmsg(), sign_help);
            rc = EXIT_USAGE;
        } else {
            cli_error("cannot read the calls", 1);
        }
        goto done;
    }
    if ((err = load_signing_key(a.key, &key)) != WARD_OK) {
        cli_error("cannot load the signing key", 1);
        goto done;
    }
    if ((err = read_whole(a.image, IMAGE_MAX, &image, &image_len, NULL)) != WARD_OK) {
        cli_error("cannot read the image", 1);
        goto done;
    }
    ward_ta_params p = {
        .name = name,
        .product_id = (uint16_t)a.product_id,
        .svn = (uint16_t)a.svn,
        .debug = a.debug,
        .heap_max = a.heap_max,
        .threads_max = (uint32_t)a.threads_max,
        .calls = (const char *const *)calls.names,
        .n_calls = calls.n,
    };
    if ((err = ward_manifest_sign(image, image_len, &p, key, &json, &json_len)) != WARD_OK) {
        cli_error("cannot sign the image", 1);
        goto done;
    }
    /* Read back what was made, as every consumer will. */
    if ((err = ward_manifest_parse(json, json_len, &m)) != WARD_OK ||
        (err = ward_manifest_check_image(m, image, image_len)) != WARD_OK) {
        cli_error("the new manifest does not verify (a bug)", 1);
        goto done;
    }
    if ((err = write_file(a.out, json, json_len, 0644, 1)) != WARD_OK) {
        cli_error("cannot write the manifest", 1);
        goto done;
    }
    uint8_t meas[WARD_SHA256_LEN], signer[WARD_SHA256_LEN];
    char meas_hex[2 * WARD_SHA256_LEN + 1], signer_hex[2 * WARD_SHA256_LEN + 1];
    ward_manifest_measurement(m, meas);
    ward_manifest_signer(m, signer);
    hex32(meas, meas_hex);
    hex32(signer, signer_hex);
    if (o->json) {
        rc = print_json(json_pack("{s:s, s:s, s:s, s:s}", "manifest", a.out, "name", name,
                                  "measurement", meas_hex, "signer", signer_hex));
    } else {
        printf("wrote %s for TA %s (%zu calls%s)\nmeasurement: %s\nsigner: %s\n", a.out, name,
               calls.n, a.debug ? ", DEBUG" : "", meas_hex, signer_hex);
        rc = EXIT_OK;
    }

done:
    ward_manifest_free(m);
    free(json);
    free(image);
    ward_pkey_free(key);
    free(name);
    call_list_free(&calls);
    return rc;
}

/* ---- measure ------------------------------------------------------------------------------ */

int cmd_ta_measure(const struct cli_opts *o, int argc, char **argv)
{
    static const char verb[] = "measure";
    if (cli_wants_help(argc, argv)) {
        fputs(measure_help, stdout);
        return EXIT_OK;
    }
    const char *image_path = NULL;
    const char *manifest_path = NULL;
    for (int i = 1; i < argc; i++) {
        const char *v = "";
        int m;
        if (strcmp(argv[i], "--json") == 0)
            continue;
        if ((m = opt_value(argc, argv, &i, "--image", &v)) != 0) {
            if (m < 0 || v[0] == '\0')
                return usage(verb, measure_help, "%s needs a file name", "--image");
            image_path = v;
            continue;
        }
        if ((m = opt_value(argc, argv, &i, "--manifest", &v)) != 0) {
            if (m < 0 || v[0] == '\0')
                return usage(verb, measure_help, "%s needs a file name", "--manifest");
            manifest_path = v;
            continue;
        }
        return usage(verb, measure_help, "unexpected argument '%s'", argv[i]);
    }
    if (image_path == NULL)
        return usage(verb, measure_help, "%s is required", "--image IMAGE");
    if (manifest_path == NULL)
        return usage(verb, measure_help, "%s is required", "--manifest MANIFEST.json");

    uint8_t *text = NULL;
    size_t text_len = 0;
    uint8_t *image = NULL;
    size_t image_len = 0;
    ward_manifest *m = NULL;
    int rc = EXIT_FAIL;
    ward_err err = read_whole(manifest_path, MANIFEST_FILE_MAX, &text, &text_len, NULL);
    if (err != WARD_OK) {
        cli_error("cannot read the manifest", 1);
        goto done;
    }
    if ((err = ward_manifest_parse((const char *)text, text_len, &m)) != WARD_OK) {
        fprintf(stderr, "ward: %s is not a valid TA manifest: %s\n", manifest_path,
                ward_errmsg());
        goto done;
    }
    if ((err = read_whole(image_path, IMAGE_MAX, &image, &image_len, NULL)) != WARD_OK) {
        cli_error("cannot read the image", 1);
        goto done;
    }

    /* The measurement of this image under the manifest's settings. */
    size_t n_calls = ward_manifest_n_calls(m);
    const char *calls[WARD_TA_MAX_CALLS];
    for (size_t i = 0; i < n_calls && i < WARD_TA_MAX_CALLS; i++)
        calls[i] = ward_manifest_call_name(m, i);
    ward_ta_params p = {
        .name = ward_manifest_name(m),
        .product_id = ward_manifest_product_id(m),
        .svn = ward_manifest_svn(m),
        .debug = ward_manifest_debug(m),
        .heap_max = ward_manifest_heap_max(m),
        .threads_max = ward_manifest_threads_max(m),
        .calls = calls,
        .n_calls = n_calls,
    };
    uint8_t meas[WARD_SHA256_LEN], signer[WARD_SHA256_LEN], claimed[WARD_SHA256_LEN];
    if ((err = ward_ta_measure(image, image_len, &p, meas)) != WARD_OK) {
        cli_error("cannot measure the image", 1);
        goto done;
    }
    ward_manifest_signer(m, signer);
    ward_manifest_measurement(m, claimed);
    char meas_hex[2 * WARD_SHA256_LEN + 1], signer_hex[2 * WARD_SHA256_LEN + 1];
    char claimed_hex[2 * WARD_SHA256_LEN + 1];
    hex32(meas, meas_hex);
    hex32(signer, signer_hex);
    hex32(claimed, claimed_hex);

    ward_err check = ward_manifest_check_image(m, image, image_len);
    char why[600];
    snprintf(why, sizeof why, "%s", check == WARD_OK ? "" : ward_errmsg());
    if (o->json) {
        json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:i, s:i, s:b, s:I, s:i, s:b}", "name",
                              p.name, "measurement", meas_hex, "manifest_measurement",
                              claimed_hex, "signer", signer_hex, "product_id",
                              (int)p.product_id, "svn", (int)p.svn, "debug", p.debug,
                              "heap_max", (json_int_t)p.heap_max, "threads_max",
                              (int)p.threads_max, "match", check == WARD_OK);
        if (j != NULL && check != WARD_OK)
            json_object_set_new(j, "error", json_string(why));
        rc = print_json(j);
        if (rc == EXIT_OK && check != WARD_OK)
            rc = EXIT_FAIL;
    } else {
        printf("name: %s\nmeasurement: %s\nsigner: %s\nproduct_id: %u\nsvn: %u\ndebug: %s\n",
               p.name, meas_hex, signer_hex, (unsigned)p.product_id, (unsigned)p.svn,
               p.debug ? "yes" : "no");
        rc = check == WARD_OK ? EXIT_OK : EXIT_FAIL;
    }
    if (check != WARD_OK)
        fprintf(stderr, "ward: %s does not match %s: %s\n", image_path, manifest_path, why);

done:
    ward_manifest_free(m);
    free(image);
    free(text);
    return rc;
}
