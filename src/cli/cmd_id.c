/* `ward id`: a participant's identity (docs/cli.md): the P-256 key that signs manifests and
 * authenticates to wardd by mutual TLS (its self-signed certificate), and the X25519 key
 * results are encrypted to. `show` prints the public parts other parties need. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/participant.h"
#include "ward/crypto.h"
#include "ward/encoding.h"

static const char help[] =
    "usage: ward id new NAME [--dir DIR] [--json]\n"
    "       ward id show NAME|DIR|CARD [--json]\n"
    "\n"
    "A participant identity: a P-256 signing key (it signs task manifests and is the key of\n"
    "the mutual-TLS certificate wardd authenticates you by), its self-signed certificate, and\n"
    "an X25519 key that task results are encrypted to. Your identity is the base64url SHA-256\n"
    "of the signing key's SubjectPublicKeyInfo: what wardd and manifests name you by.\n"
    "\n"
    "  new NAME    make one in $XDG_CONFIG_HOME/ward/id/NAME (else ~/.config/ward/id/NAME),\n"
    "              or in --dir DIR; never overwrites. key.pem and x25519.key are 0600 and\n"
    "              are refused later if others can read them\n"
    "  show NAME   print the identity and the public parts; with --json, the party card\n"
    "              (name, identity, key, x25519, cert) to give the other parties: they name\n"
    "              you in a manifest with it (`ward task create --input SLOT=CARD`)\n"
    "\n"
    "To use a node with RBAC, its operator enrols the certificate:\n"
    "  ward user add NAME --role data-provider --no-password --data-dir D\n"
    "  ward user cert add NAME DIR/cert.pem --data-dir D\n";

static int usage(const char *msg)
{
    fprintf(stderr, "ward id: %s\n\n%s", msg, help);
    return EXIT_USAGE;
}

static int write_new(const char *dir, const char *file, const void *data, size_t len,
                     mode_t mode)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    /* write(2), not stdio: private keys pass through here, and stdio's buffer would keep a
     * copy that nobody wipes */
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    int ok = fd >= 0;
    const unsigned char *p = data;
    for (size_t done = 0; ok && done < len;) {
        ssize_t n = write(fd, p + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        ok = n > 0;
        if (ok)
            done += (size_t)n;
    }
    ok = ok && fsync(fd) == 0;
    if (fd >= 0)
        ok &= close(fd) == 0;
    if (!ok)
        fprintf(stderr, "ward id: cannot write %s: %s\n", path, strerror(errno));
    return ok ? 0 : -1;
}

static int mkdirs(const char *dir)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", dir);
    for (char *p = buf + 1; *p != '\0'; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0700) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(buf, 0700);
}

static void print_id(const struct cli_opts *o, const cli_id *id)
{
    if (o->json) {
        char *card = NULL;
        if (cli_id_card(id, &card) == WARD_OK)
            printf("%s\n", card);
        free(card);
        return;
    }
    char x[2 * WARD_X25519_LEN + 1];
    tc_hex(id->x_pk, sizeof id->x_pk, x, sizeof x);
    printf("name:      %s\n"
           "identity:  %s\n"
           "key:       %s\n"
           "x25519:    %s\n",
           id->name, id->ident, id->spki_b64, id->has_x25519 ? x : "(none)");
    if (id->dir[0] != '\0')
        printf("directory: %s\n"
               "           %s (mutual-TLS certificate), %s and %s (private, 0600)\n",
               id->dir, ID_CERT_FILE, ID_KEY_FILE, ID_XSK_FILE);
}

static int id_new(const struct cli_opts *o, const char *name, const char *dir_opt)
{
    char *dir = NULL;
    if (dir_opt != NULL)
        dir = strdup(dir_opt);
    else if (cli_id_dir(name, &dir) != WARD_OK) {
        cli_error("id new", 1);
        return EXIT_USAGE;
    }
    if (dir == NULL)
        return EXIT_FAIL;
    struct stat st;
    if (lstat(dir, &st) == 0) {
        fprintf(stderr, "ward id: %s exists: refusing to overwrite an identity\n", dir);
        free(dir);
        return EXIT_FAIL;
    }
    int rc = EXIT_FAIL;
    ward_pkey *key = NULL;
    ward_cert *cert = NULL;
    char *key_pem = NULL, *cert_pem = NULL;
    size_t kl = 0, cl = 0;
    uint8_t sk[WARD_X25519_LEN], pk[WARD_X25519_LEN];
    char xs[2 * WARD_X25519_LEN + 2], xp[2 * WARD_X25519_LEN + 2];
    int64_t now = (int64_t)time(NULL);
    ward_cert_spec spec = {.common_name = name, .not_before = now - 300,
                           .not_after = now + (int64_t)3650 * 86400, .path_len = -1,
                           .client_auth = 1};
    ward_err err = ward_pkey_generate(WARD_KEY_EC_P256, &key);
    if (err == WARD_OK)
        err = ward_cert_create(&spec, key, NULL, key, &cert);
    if (err == WARD_OK)
        err = ward_pkey_private_pem(key, &key_pem, &kl);
    if (err == WARD_OK)
        err = ward_cert_to_pem(cert, &cert_pem, &cl);
    if (err == WARD_OK)
        err = ward_x25519_generate(sk, pk);
    if (err != WARD_OK) {
        cli_error("id new", 1);
        goto out;
    }
    tc_hex(sk, sizeof sk, xs, sizeof xs);
    tc_hex(pk, sizeof pk, xp, sizeof xp);
    strcat(xs, "\n");
    strcat(xp, "\n");
    if (mkdirs(dir) != 0) {
        fprintf(stderr, "ward id: cannot create %s: %s\n", dir, strerror(errno));
        goto out;
    }
    if (write_new(dir, ID_KEY_FILE, key_pem, kl, 0600) != 0 ||
        write_new(dir, ID_XSK_FILE, xs, strlen(xs), 0600) != 0 ||
        write_new(dir, ID_CERT_FILE, cert_pem, cl, 0644) != 0 ||
        write_new(dir, ID_XPK_FILE, xp, strlen(xp), 0644) != 0)
        goto out;
    cli_id id;
    if (cli_id_load(dir, 1, &id) != WARD_OK) {
        cli_error("id new: reading it back", 1);
        goto out;
    }
    snprintf(id.name, sizeof id.name, "%s", name);
    if (!o->json)
        printf("new identity %s\n", name);
    print_id(o, &id);
    cli_id_free(&id);
    rc = EXIT_OK;
out:
    ward_wipe(sk, sizeof sk);
    ward_wipe(xs, sizeof xs);
    if (key_pem != NULL)
        ward_wipe(key_pem, kl);
    free(key_pem);
    free(cert_pem);
    ward_cert_free(cert);
    ward_pkey_free(key);
    free(dir);
    return rc;
}

int cmd_id(const struct cli_opts *o, int argc, char **argv)
{
    if (cli_wants_help(argc, argv) || argc < 2) {
        fputs(help, argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : EXIT_OK;
    }
    const char *verb = argv[1], *dir = NULL, *pos[2] = {NULL, NULL};
    int npos = 0;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            continue;
        if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc && strcmp(verb, "new") == 0)
            dir = argv[++i];
        else if (argv[i][0] == '-' || npos >= 1)
            return usage("unexpected argument");
        else
            pos[npos++] = argv[i];
    }
    if (npos != 1)
        return usage("one NAME expected");
    if (strcmp(verb, "new") == 0)
        return id_new(o, pos[0], dir);
    if (strcmp(verb, "show") == 0) {
        cli_id id;
        if (cli_party_resolve(pos[0], &id) != WARD_OK) {
            cli_error("id show", 1);
            return EXIT_FAIL;
        }
        print_id(o, &id);
        cli_id_free(&id);
        return EXIT_OK;
    }
    return usage("unknown verb");
}
