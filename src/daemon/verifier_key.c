/* The verifier key that signs EARs: DATA_DIR/verifier-key.pem, an EC P-256 private key in PEM,
 * the same file (name, format, creation rule: O_EXCL, mode 0600, never replaced) that
 * `ward verify --json` uses (src/cli/cmd_attest.c), so that the CLI and the daemon of one node
 * sign with one key. The daemon also refuses a key file that others can read. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/wardd.h"
#include "ward/crypto.h"
#include "ward/ear.h"
#include "ward/encoding.h"
#include "ward/err.h"
#include "ward/json.h"
#include "ward/log.h"

#define VERIFIER_KEY_FILE "verifier-key.pem"
#define PEM_MAX ((size_t)64 << 10)

static ward_err create_key(const char *path)
{
    ward_pkey *k = NULL;
    char *pem = NULL;
    size_t len = 0;
    ward_err err = ward_pkey_generate(WARD_KEY_EC_P256, &k);
    if (err == WARD_OK)
        err = ward_pkey_private_pem(k, &pem, &len);
    ward_pkey_free(k);
    if (err == WARD_OK) {
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0) {
            err = errno == EEXIST ? WARD_OK /* created meanwhile: use it */
                                  : ward_err_set(WARD_ERR_IO, "cannot create %s: %s", path,
                                                 strerror(errno));
        } else {
            int ok = write(fd, pem, len) == (ssize_t)len && fsync(fd) == 0;
            if (close(fd) != 0)
                ok = 0;
            if (!ok) {
                unlink(path);
                err = ward_err_set(WARD_ERR_IO, "cannot write %s", path);
            } else {
                ward_log(WARD_LOG_INFO, "wardd.verifier_key.created", "path", path,
                         (char *)NULL);
            }
        }
    }
    if (pem != NULL)
        ward_wipe(pem, len);
    free(pem);
    return err;
}

static ward_err read_key(const char *path, ward_pkey **out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return ward_err_set(WARD_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return ward_err_set(WARD_ERR_IO, "%s: not a regular file", path);
    }
    if ((st.st_mode & 077) != 0 || st.st_uid != geteuid()) {
        close(fd);
        return ward_err_set(WARD_ERR_PERMISSION,
                            "%s: mode %03o or owner unsafe (want 0600, owned by this user)", path,
                            (unsigned)(st.st_mode & 0777));
    }
    if (st.st_size <= 0 || (size_t)st.st_size > PEM_MAX) {
        close(fd);
        return ward_err_set(WARD_ERR_FORMAT, "%s: unexpected size", path);
    }
    size_t n = (size_t)st.st_size, off = 0;
    char *pem = malloc(n);
    ward_err err = pem == NULL ? ward_err_set(WARD_ERR_NOMEM, "out of memory") : WARD_OK;
    while (err == WARD_OK && off < n) {
        ssize_t r = read(fd, pem + off, n - off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            err = ward_err_set(WARD_ERR_IO, "cannot read %s", path);
        else
            off += (size_t)r;
    }
    close(fd);
    if (err == WARD_OK)
        err = ward_pkey_from_pem(pem, n, out);
    if (err == WARD_OK &&
        (!ward_pkey_is_private(*out) || ward_pkey_type(*out) != WARD_KEY_EC_P256)) {
        ward_pkey_free(*out);
        *out = NULL;
        err = ward_err_set(WARD_ERR_FORMAT, "%s: not an EC P-256 private key", path);
    }
    if (pem != NULL)
        ward_wipe(pem, n);
    free(pem);
    return err;
}

/* The public JWK with kid (RFC 7638 thumbprint), alg and use. */
static ward_err make_jwk(wardd *d)
{
    char *thumb_in = NULL, *kid = NULL;
    size_t tl = 0, kl = 0;
    uint8_t h[WARD_SHA256_LEN];
    json_t *jwk = NULL;
    ward_err err = ward_jwk_export(d->verifier_key, &thumb_in, &tl);
    if (err == WARD_OK)
        err = ward_hash(WARD_HASH_SHA256, thumb_in, tl, h);
    if (err == WARD_OK)
        err = ward_base64url_encode(h, sizeof h, &kid, &kl);
    if (err == WARD_OK && kl >= sizeof d->verifier_kid)
        err = ward_err_set(WARD_ERR_OVERFLOW, "kid too long");
    if (err == WARD_OK)
        err = ward_json_parse(thumb_in, tl, &jwk);
    if (err == WARD_OK) {
        memcpy(d->verifier_kid, kid, kl + 1);
        if (json_object_set_new(jwk, "kid", json_string(kid)) != 0 ||
            json_object_set_new(jwk, "alg", json_string("ES256")) != 0 ||
            json_object_set_new(jwk, "use", json_string("sig")) != 0 ||
            (d->verifier_jwk = json_dumps(jwk, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
            err = ward_err_set(WARD_ERR_NOMEM, "out of memory");
    }
    json_decref(jwk);
    free(thumb_in);
    free(kid);
    return err;
}

ward_err wardd_verifier_key_load(wardd *d)
{
    size_t n = strlen(d->data_dir) + sizeof VERIFIER_KEY_FILE + 1;
    char *path = malloc(n);
    if (path == NULL)
        return ward_err_set(WARD_ERR_NOMEM, "out of memory");
    snprintf(path, n, "%s/%s", d->data_dir, VERIFIER_KEY_FILE);
    ward_err err = WARD_OK;
    struct stat st;
    if (lstat(path, &st) != 0)
        err = errno == ENOENT ? create_key(path)
                              : ward_err_set(WARD_ERR_IO, "%s: %s", path, strerror(errno));
    if (err == WARD_OK)
        err = read_key(path, &d->verifier_key);
    if (err == WARD_OK)
        err = make_jwk(d);
    free(path);
    if (err != WARD_OK)
        return ward_err_wrap(err, "verifier key");
    return WARD_OK;
}

ward_err wardd_key_load_or_create(const char *path, ward_pkey **out)
{
    *out = NULL;
    ward_err err = WARD_OK;
    struct stat st;
    if (lstat(path, &st) != 0)
        err = errno == ENOENT ? create_key(path)
                              : ward_err_set(WARD_ERR_IO, "%s: %s", path, strerror(errno));
    if (err == WARD_OK)
        err = read_key(path, out);
    if (err == WARD_OK && ward_pkey_type(*out) != WARD_KEY_EC_P256) {
        ward_pkey_free(*out);
        *out = NULL;
        err = ward_err_set(WARD_ERR_FORMAT, "%s: not an EC P-256 key", path);
    }
    return err;
}
