/* Root of trust, software form: the platform attestation key, its self-signed certificate and
 * the sealing secret, kept in the node data directory (DESIGN 2 and 3; issue 3).
 *
 *   DIR/                    0700, owned by the user running Ward
 *   DIR/sealing-secret      0600, exactly 32 random bytes
 *   DIR/platform-key.pem    0600, ECDSA P-256 private key, unencrypted PKCS#8 PEM
 *   DIR/platform-cert.pem   0600, self-signed certificate of that key (PEM)
 *
 * Crash safety. The files are created in that order (secret, key, certificate), each written
 * to a temporary file (O_CREAT|O_EXCL, 0600) in the same directory, fsync'ed, renamed into
 * place without replacing anything (RENAME_NOREPLACE), and the directory fsync'ed. A crash
 * during the first start thus leaves a prefix of that list: nothing, the secret, or the secret
 * and the key. With create set, such a prefix is completed (the missing files were never
 * written, so nothing is lost). Any other incomplete state -- a certificate without its key,
 * a key without the secret -- means a file that existed has gone, and is refused: silently
 * making a new sealing secret or platform key would lose every sealed datum or the platform's
 * identity. Leftover temporary files of an interrupted start are removed when creating.
 *
 * Every file is opened with O_NOFOLLOW relative to the opened directory and checked through
 * fstat on that descriptor (type, owner, mode), so what is checked is what is read. The data
 * directory itself may be reached through a symbolic link; its checks apply to the directory
 * actually opened. An exclusive flock on the directory serialises creation; readers take a
 * shared one, so that they never see a half-created directory.
 *
 * Secrets: the sealing secret lives in its own page (locked and excluded from core dumps and
 * from fork children where the kernel allows); every buffer that held it or the key PEM is
 * wiped. The private key stays inside OpenSSL. No secret is ever put in an error message. */
#include "ward/rot.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ward/x509.h"

#define SECRET_FILE "sealing-secret"
#define KEY_FILE "platform-key.pem"
#define CERT_FILE "platform-cert.pem"
#define TMP_PREFIX ".ward-tmp-"
#define SECRET_LEN 32
#define ARMED 0xa5
#define SECRET_READ_MAX 1024u
#define KEY_FILE_MAX 16384u
#define CERT_FILE_MAX 65536u
#define HKDF_SALT "ward-rot-v1"
#define CERT_BACKDATE INT64_C(3600)
#define CERT_LIFETIME (INT64_C(3653) * 86400) /* ten years, leap days included */
#define PATH_MSG_MAX 4096

struct ward_rot {
    ward_pkey *key;
    ward_cert *cert;
    uint8_t key_id[WARD_SHA256_LEN];
    uint8_t *secret;   /* SECRET_LEN bytes at the start of a private mapping, then the
                        * ARMED byte (see map_secret) */
    size_t secret_map; /* its length */
};

/* The files, in creation order. */
enum { F_SECRET, F_KEY, F_CERT, F_COUNT };
static const char *const file_names[F_COUNT] = {SECRET_FILE, KEY_FILE, CERT_FILE};

/* ---- paths and checks -------------------------------------------------------------------- */

/* "dir/name" for messages (truncated if absurdly long). */
static void join(char out[PATH_MSG_MAX], const char *dir, const char *name)
{
    int n = snprintf(out, PATH_MSG_MAX, "%s/%s", dir, name);
    if (n < 0)
        out[0] = '\0';
}

static ward_err check_stat(const struct stat *st, const char *path, int is_dir)
{
    if (is_dir ? !S_ISDIR(st->st_mode) : !S_ISREG(st->st_mode))
        return ward_err_set(WARD_ERR_FORMAT, "%s is not a %s", path,
                            is_dir ? "directory" : "regular file");
    uid_t me = geteuid();
    if (st->st_uid != me)
        return ward_err_set(WARD_ERR_PERMISSION,
                            "%s is owned by uid %u, not by this user (uid %u); refusing to use it",
                            path, (unsigned)st->st_uid, (unsigned)me);
    unsigned mode = (unsigned)(st->st_mode & 07777);
    if ((mode & 077u) != 0)
        return ward_err_set(WARD_ERR_PERMISSION,
                            "%s has mode %04o, which lets group or others in; expected %04o "
                            "(chmod %o %s)", path, mode, is_dir ? 0700u : 0600u,
                            is_dir ? 0700u : 0600u, path);
    return WARD_OK;
}

/* mkdir -p with mode 0700 for every component created; *created says whether the last one
 * was made here. */
static ward_err make_dirs(const char *dir, int *created)
{
    *created = 0;
    size_t len = strlen(dir);
    if (len >= PATH_MSG_MAX)
        return ward_err_set(WARD_ERR_INVALID_ARG, "data directory path is too long (%zu bytes)",
                            len);
    char buf[PATH_MSG_MAX];
    memcpy(buf, dir, len + 1);
    while (len > 1 && buf[len - 1] == '/')
        buf[--len] = '\0';
    for (size_t i = 1; i <= len; i++) {
        if (i < len && buf[i] != '/')
            continue;
        char saved = buf[i];
        buf[i] = '\0';
        int rc = mkdir(buf, 0700);
        int e = errno;
        buf[i] = saved;
        if (rc == 0) {
            *created = i == len;
        } else if (e != EEXIST) {
            buf[i] = '\0';
            return ward_err_set(WARD_ERR_IO, "cannot create directory %s: %s", buf, strerror(e));
        }
    }
    return WARD_OK;
}

/* Best effort: makes the new directory entry of dir durable. */
static void sync_parent(const char *dir)
{
    char buf[PATH_MSG_MAX];
    size_t len = strlen(dir);
    if (len >= sizeof buf)
        return;
    memcpy(buf, dir, len + 1);
    while (len > 1 && buf[len - 1] == '/')
        buf[--len] = '\0';
    char *slash = strrchr(buf, '/');
    const char *parent = ".";
    if (slash == buf)
        parent = "/";
    else if (slash != NULL) {
        *slash = '\0';
        parent = buf;
    }
    int fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

static ward_err open_dir(const char *dir, int create, int *dfd_out)
{
    int created = 0;
    if (create) {
        ward_err err = make_dirs(dir, &created);
        if (err != WARD_OK)
            return err;
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        int e = errno;
        if (e == ENOENT)
            return ward_err_set(WARD_ERR_NOT_FOUND, "data directory %s does not exist", dir);
        return ward_err_set(e == EACCES ? WARD_ERR_PERMISSION : WARD_ERR_IO,
                            "cannot open data directory %s: %s", dir, strerror(e));
    }
    struct stat st;
    if (fstat(dfd, &st) != 0) {
        int e = errno;
        close(dfd);
        return ward_err_set(WARD_ERR_IO, "cannot stat data directory %s: %s", dir, strerror(e));
    }
    /* A directory made just now gets exactly 0700 whatever the umask; one that existed
     * before is checked, never repaired. */
    if (created && st.st_uid == geteuid() && fchmod(dfd, 0700) == 0) {
        st.st_mode = (st.st_mode & ~(mode_t)07777) | 0700;
        sync_parent(dir);
    }
    ward_err err = check_stat(&st, dir, 1);
    if (err != WARD_OK) {
        close(dfd);
        return err;
    }
    *dfd_out = dfd;
    return WARD_OK;
}

static ward_err lock_dir(int dfd, const char *dir, int exclusive)
{
    while (flock(dfd, exclusive ? LOCK_EX : LOCK_SH) != 0) {
        if (errno != EINTR)
            return ward_err_set(WARD_ERR_IO, "cannot lock data directory %s: %s", dir,
                                strerror(errno));
    }
    return WARD_OK;
}

/* 1 if name exists in dfd (whatever it is: a symlink is caught when it is read), 0 if not. */
static ward_err file_exists(int dfd, const char *dir, const char *name, int *exists)
{
    struct stat st;
    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
        *exists = 1;
        return WARD_OK;
    }
    if (errno == ENOENT) {
        *exists = 0;
        return WARD_OK;
    }
    char path[PATH_MSG_MAX];
    join(path, dir, name);
    return ward_err_set(WARD_ERR_IO, "cannot stat %s: %s", path, strerror(errno));
}

/* Removes temporary files an interrupted creation left (called under the exclusive lock). */
static void remove_stale_temps(int dfd)
{
    int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return;
    DIR *d = fdopendir(fd);
    if (d == NULL) {
        close(fd);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, TMP_PREFIX, sizeof TMP_PREFIX - 1) == 0)
            (void)unlinkat(dfd, e->d_name, 0);
    }
    closedir(d);
}

/* ---- reading and writing files ------------------------------------------------------------ */

/* The size of the buffer read_file allocates for a file of at most max bytes. */
static size_t read_cap(size_t max)
{
    return max + 2;
}

/* Reads dir/name (at most max bytes) into a malloc'd buffer of read_cap(max) bytes with a NUL
 * after the content. The buffer is wiped here on failure; the caller wipes it (read_cap(max)
 * bytes) after use when it held a secret. */
static ward_err read_file(int dfd, const char *dir, const char *name, size_t max, uint8_t **out,
                          size_t *out_len)
{
    char path[PATH_MSG_MAX];
    join(path, dir, name);
    int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        int e = errno;
        if (e == ELOOP)
            return ward_err_set(WARD_ERR_PERMISSION,
                                "%s is a symbolic link; refusing to follow it", path);
        if (e == ENOENT)
            return ward_err_set(WARD_ERR_NOT_FOUND, "%s is missing", path);
        return ward_err_set(e == EACCES ? WARD_ERR_PERMISSION : WARD_ERR_IO,
                            "cannot open %s: %s", path, strerror(e));
    }
    struct stat st;
    ward_err err = WARD_OK;
    uint8_t *buf = NULL;
    size_t len = 0;
    if (fstat(fd, &st) != 0) {
        err = ward_err_set(WARD_ERR_IO, "cannot stat %s: %s", path, strerror(errno));
        goto done;
    }
    if ((err = check_stat(&st, path, 0)) != WARD_OK)
        goto done;
    if (st.st_size < 0 || (uint64_t)st.st_size > (uint64_t)max) {
        err = ward_err_set(WARD_ERR_FORMAT, "%s is %lld bytes; at most %zu expected", path,
                           (long long)st.st_size, max);
        goto done;
    }
    buf = malloc(read_cap(max));
    if (buf == NULL) {
        err = ward_err_set(WARD_ERR_NOMEM, "reading %s: out of memory", path);
        goto done;
    }
    for (;;) {
        if (len > max) {
            err = ward_err_set(WARD_ERR_FORMAT, "%s grew while being read (more than %zu bytes)",
                               path, max);
            goto done;
        }
        ssize_t n = read(fd, buf + len, max + 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            err = ward_err_set(WARD_ERR_IO, "cannot read %s: %s", path, strerror(errno));
            goto done;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    buf[len] = 0;
done:
    close(fd);
    if (err != WARD_OK) {
        if (buf != NULL)
            ward_wipe(buf, read_cap(max));
        free(buf);
        return err;
    }
    *out = buf;
    *out_len = len;
    return WARD_OK;
}

static void free_wiped(uint8_t *buf, size_t len)
{
    if (buf != NULL) {
        ward_wipe(buf, len);
        free(buf);
    }
}

static ward_err write_all(int fd, const uint8_t *data, size_t len, const char *path)
{
    size_t off = 0;
    while (off < len) {
        ssize_t n = write(fd, data + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return ward_err_set(WARD_ERR_IO, "cannot write %s: %s", path,
                                n < 0 ? strerror(errno) : "no progress");
        off += (size_t)n;
    }
    return WARD_OK;
}

/* Puts tmp in place as name without replacing anything. */
static ward_err link_into_place(int dfd, const char *tmp, const char *name, const char *path)
{
    if (renameat2(dfd, tmp, dfd, name, RENAME_NOREPLACE) == 0)
        return WARD_OK;
    int e = errno;
    if (e == EINVAL || e == ENOSYS || e == ENOTSUP) {
        /* A file system without RENAME_NOREPLACE: link(2) never replaces either. */
        if (linkat(dfd, tmp, dfd, name, 0) == 0) {
            (void)unlinkat(dfd, tmp, 0);
            return WARD_OK;
        }
        e = errno;
    }
    if (e == EEXIST)
        return ward_err_set(WARD_ERR_EXISTS,
                            "%s appeared while it was being created (another process?)", path);
    return ward_err_set(WARD_ERR_IO, "cannot rename a temporary file to %s: %s", path,
                        strerror(e));
}

/* Writes data to dir/name atomically: temporary file (0600, O_EXCL), fsync, rename without
 * replacing, fsync of the directory. */
static ward_err write_atomic(int dfd, const char *dir, const char *name, const uint8_t *data,
                             size_t len)
{
    char path[PATH_MSG_MAX];
    join(path, dir, name);
    uint8_t rnd[8];
    ward_err err = ward_random(rnd, sizeof rnd);
    if (err != WARD_OK)
        return ward_err_wrap(err, "creating %s", path);
    char tmp[128];
    int n = snprintf(tmp, sizeof tmp, TMP_PREFIX "%s-%02x%02x%02x%02x%02x%02x%02x%02x", name,
                     rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
    if (n < 0 || (size_t)n >= sizeof tmp)
        return ward_err_set(WARD_ERR_OVERFLOW, "creating %s: temporary name too long", path);
    int fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return ward_err_set(WARD_ERR_IO, "cannot create a temporary file for %s: %s", path,
                            strerror(errno));
    /* The umask may have taken bits from 0600; set exactly 0600. */
    if (fchmod(fd, 0600) != 0)
        err = ward_err_set(WARD_ERR_IO, "cannot set the mode of %s: %s", path, strerror(errno));
    if (err == WARD_OK)
        err = write_all(fd, data, len, path);
    if (err == WARD_OK && fsync(fd) != 0)
        err = ward_err_set(WARD_ERR_IO, "cannot fsync %s: %s", path, strerror(errno));
    if (close(fd) != 0 && err == WARD_OK)
        err = ward_err_set(WARD_ERR_IO, "cannot close %s: %s", path, strerror(errno));
    if (err == WARD_OK)
        err = link_into_place(dfd, tmp, name, path);
    if (err != WARD_OK) {
        (void)unlinkat(dfd, tmp, 0);
        return err;
    }
    if (fsync(dfd) != 0)
        return ward_err_set(WARD_ERR_IO, "cannot fsync data directory %s: %s", dir,
                            strerror(errno));
    return WARD_OK;
}

/* ---- creating the files ------------------------------------------------------------------- */

static ward_err create_secret(int dfd, const char *dir)
{
    uint8_t secret[SECRET_LEN];
    ward_err err = ward_random(secret, sizeof secret);
    if (err == WARD_OK)
        err = write_atomic(dfd, dir, SECRET_FILE, secret, sizeof secret);
    ward_wipe(secret, sizeof secret);
    return err;
}

static ward_err create_key(int dfd, const char *dir)
{
    ward_pkey *key = NULL;
    char *pem = NULL;
    size_t pem_len = 0;
    ward_err err = ward_pkey_generate(WARD_KEY_EC_P256, &key);
    if (err == WARD_OK)
        err = ward_pkey_private_pem(key, &pem, &pem_len);
    if (err == WARD_OK)
        err = write_atomic(dfd, dir, KEY_FILE, (const uint8_t *)pem, pem_len);
    if (pem != NULL) {
        ward_wipe(pem, pem_len);
        free(pem);
    }
    ward_pkey_free(key);
    return err;
}

static ward_err create_cert(int dfd, const char *dir, const ward_pkey *key,
                            const uint8_t key_id[WARD_SHA256_LEN])
{
    char cn[64];
    snprintf(cn, sizeof cn, "ward platform %02x%02x%02x%02x%02x%02x%02x%02x", key_id[0],
             key_id[1], key_id[2], key_id[3], key_id[4], key_id[5], key_id[6], key_id[7]);
    int64_t now = (int64_t)time(NULL);
    ward_cert_spec spec = {
        .common_name = cn,
        .organization = "Ward",
        .not_before = now - CERT_BACKDATE,
        .not_after = now + CERT_LIFETIME,
        .is_ca = 0,
        .path_len = -1,
    };
    ward_cert *cert = NULL;
    char *pem = NULL;
    size_t pem_len = 0;
    ward_err err = ward_cert_create(&spec, key, NULL, key, &cert);
    if (err == WARD_OK)
        err = ward_cert_to_pem(cert, &pem, &pem_len);
    if (err == WARD_OK)
        err = write_atomic(dfd, dir, CERT_FILE, (const uint8_t *)pem, pem_len);
    free(pem);
    ward_cert_free(cert);
    if (err != WARD_OK)
        return ward_err_wrap(err, "creating the platform certificate");
    return WARD_OK;
}

/* ---- loading the files -------------------------------------------------------------------- */

static ward_err load_key(int dfd, const char *dir, ward_rot *rot)
{
    char path[PATH_MSG_MAX];
    join(path, dir, KEY_FILE);
    uint8_t *pem = NULL;
    size_t len = 0;
    ward_err err = read_file(dfd, dir, KEY_FILE, KEY_FILE_MAX, &pem, &len);
    if (err != WARD_OK)
        return err;
    if (len == 0)
        err = ward_err_set(WARD_ERR_FORMAT, "platform key %s is empty", path);
    else if (ward_pkey_from_pem((const char *)pem, len, &rot->key) != WARD_OK)
        err = ward_err_wrap(WARD_ERR_FORMAT, "platform key %s cannot be read", path);
    free_wiped(pem, read_cap(KEY_FILE_MAX));
    if (err != WARD_OK)
        return err;
    if (ward_pkey_type(rot->key) != WARD_KEY_EC_P256 || !ward_pkey_is_private(rot->key))
        return ward_err_set(WARD_ERR_FORMAT,
                            "platform key %s is not an ECDSA P-256 private key", path);
    err = ward_pkey_spki_sha256(rot->key, rot->key_id);
    if (err != WARD_OK)
        return ward_err_wrap(err, "platform key %s", path);
    return WARD_OK;
}

static ward_err load_cert(int dfd, const char *dir, ward_rot *rot)
{
    char path[PATH_MSG_MAX];
    join(path, dir, CERT_FILE);
    uint8_t *pem = NULL;
    size_t len = 0;
    ward_err err = read_file(dfd, dir, CERT_FILE, CERT_FILE_MAX, &pem, &len);
    if (err != WARD_OK)
        return err;
    if (len == 0)
        err = ward_err_set(WARD_ERR_FORMAT, "platform certificate %s is empty", path);
    else if (ward_cert_from_pem((const char *)pem, len, &rot->cert) != WARD_OK)
        err = ward_err_wrap(WARD_ERR_FORMAT, "platform certificate %s cannot be read", path);
    free(pem);
    if (err != WARD_OK)
        return err;
    uint8_t cert_key_id[WARD_SHA256_LEN];
    err = ward_cert_spki_sha256(rot->cert, cert_key_id);
    if (err != WARD_OK)
        return ward_err_wrap(WARD_ERR_FORMAT, "platform certificate %s", path);
    if (memcmp(cert_key_id, rot->key_id, sizeof cert_key_id) != 0)
        return ward_err_set(WARD_ERR_FORMAT,
                            "platform certificate %s is for another key than %s/%s", path, dir,
                            KEY_FILE);
    return WARD_OK;
}

static ward_err load_secret(int dfd, const char *dir, ward_rot *rot)
{
    char path[PATH_MSG_MAX];
    join(path, dir, SECRET_FILE);
    uint8_t *buf = NULL;
    size_t len = 0;
    /* Read more than needed, so that the message can say how long a wrong file is. */
    ward_err err = read_file(dfd, dir, SECRET_FILE, SECRET_READ_MAX, &buf, &len);
    if (err == WARD_ERR_FORMAT)
        return ward_err_wrap(err, "the sealing secret must be exactly %d bytes", SECRET_LEN);
    if (err != WARD_OK)
        return err;
    if (len != SECRET_LEN)
        err = ward_err_set(WARD_ERR_FORMAT,
                           "sealing secret %s is %zu bytes; it must be exactly %d", path, len,
                           SECRET_LEN);
    else {
        memcpy(rot->secret, buf, SECRET_LEN);
        rot->secret[SECRET_LEN] = ARMED;
    }
    free_wiped(buf, read_cap(SECRET_READ_MAX));
    return err;
}

/* A page for the sealing secret: locked in RAM, not in core dumps, zero in fork children,
 * each where the kernel allows (best effort: the secret is wiped on close regardless).
 * Because a fork child may see the page zeroed, the byte after the secret is set to ARMED once
 * the secret is loaded, and derivation refuses to run without it: a child never silently
 * derives keys from an all-zero secret. */
static ward_err map_secret(ward_rot *rot)
{
    long page = sysconf(_SC_PAGESIZE);
    size_t len = page > 0 ? (size_t)page : 4096u;
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return ward_err_set(WARD_ERR_NOMEM, "cannot map memory for the sealing secret: %s",
                            strerror(errno));
    (void)madvise(p, len, MADV_DONTDUMP);
#ifdef MADV_WIPEONFORK
    (void)madvise(p, len, MADV_WIPEONFORK);
#endif
    (void)mlock(p, len);
    rot->secret = p;
    rot->secret_map = len;
    return WARD_OK;
}

/* ---- the API ------------------------------------------------------------------------------ */

ward_err ward_rot_default_dir(char **out)
{
    if (out == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "data directory: NULL argument");
    *out = NULL;
    /* The XDG base directory spec ignores relative paths. */
    const char *xdg = secure_getenv("XDG_DATA_HOME");
    const char *base = NULL;
    const char *suffix = NULL;
    if (xdg != NULL && xdg[0] == '/') {
        base = xdg;
        suffix = "/ward";
    } else {
        const char *home = secure_getenv("HOME");
        if (home == NULL || home[0] != '/')
            return ward_err_set(WARD_ERR_NOT_FOUND,
                                "no data directory: neither XDG_DATA_HOME nor HOME is set to an "
                                "absolute path (pass one explicitly)");
        base = home;
        suffix = "/.local/share/ward";
    }
    size_t blen = strlen(base);
    size_t slen = strlen(suffix);
    while (blen > 1 && base[blen - 1] == '/')
        blen--;
    if (blen == 1) /* "/" */
        blen = 0;
    if (blen > PATH_MSG_MAX - slen - 1)
        return ward_err_set(WARD_ERR_OVERFLOW, "data directory path is too long");
    char *p = malloc(blen + slen + 1);
    if (p == NULL)
        return ward_err_set(WARD_ERR_NOMEM, "data directory: out of memory");
    memcpy(p, base, blen);
    memcpy(p + blen, suffix, slen + 1);
    *out = p;
    return WARD_OK;
}

/* Works out what exists and, with create, makes what an interrupted first start left out. */
static ward_err ensure_files(int dfd, const char *dir, int create)
{
    int have[F_COUNT];
    int count = 0;
    for (int i = 0; i < F_COUNT; i++) {
        ward_err err = file_exists(dfd, dir, file_names[i], &have[i]);
        if (err != WARD_OK)
            return err;
        count += have[i];
    }
    if (count == F_COUNT)
        return WARD_OK;
    int prefix = 0;
    while (prefix < F_COUNT && have[prefix])
        prefix++;
    if (count == 0 && !create)
        return ward_err_set(WARD_ERR_NOT_FOUND,
                            "data directory %s holds no platform key yet (initialise it first)",
                            dir);
    if (prefix != count) {
        /* Some file exists although one created before it does not: it was deleted. */
        int missing = prefix; /* the first absent file */
        int later = F_COUNT - 1;
        while (later > missing && !have[later])
            later--;          /* the last present one, after it */
        return ward_err_set(WARD_ERR_FORMAT,
                            "data directory %s is damaged: %s is missing but %s is present; Ward "
                            "will not replace a lost %s (restore it, or move the directory away "
                            "to start afresh with a new platform identity)",
                            dir, file_names[missing], file_names[later],
                            missing == F_SECRET ? "sealing secret" : "platform key");
    }
    if (!create)
        return ward_err_set(WARD_ERR_FORMAT,
                            "data directory %s is incomplete (%s is missing): its first "
                            "initialisation was interrupted; open it with create to finish",
                            dir, file_names[prefix]);
    ward_err err = WARD_OK;
    if (!have[F_SECRET])
        err = create_secret(dfd, dir);
    if (err == WARD_OK && !have[F_KEY])
        err = create_key(dfd, dir);
    return err;
}

ward_err ward_rot_open(const char *dir, int create, ward_rot **out)
{
    if (out == NULL || dir == NULL || dir[0] == '\0')
        return ward_err_set(WARD_ERR_INVALID_ARG, "root of trust: NULL or empty argument");
    *out = NULL;
    ward_rot *rot = calloc(1, sizeof *rot);
    if (rot == NULL)
        return ward_err_set(WARD_ERR_NOMEM, "root of trust: out of memory");
    int dfd = -1;
    ward_err err = map_secret(rot);
    if (err == WARD_OK)
        err = open_dir(dir, create, &dfd);
    if (err == WARD_OK)
        err = lock_dir(dfd, dir, create);
    if (err == WARD_OK && create)
        remove_stale_temps(dfd);
    if (err == WARD_OK)
        err = ensure_files(dfd, dir, create);
    if (err == WARD_OK)
        err = load_key(dfd, dir, rot);
    if (err == WARD_OK && create) {
        int have_cert = 0;
        err = file_exists(dfd, dir, CERT_FILE, &have_cert);
        if (err == WARD_OK && !have_cert)
            err = create_cert(dfd, dir, rot->key, rot->key_id);
    }
    if (err == WARD_OK)
        err = load_cert(dfd, dir, rot);
    if (err == WARD_OK)
        err = load_secret(dfd, dir, rot);
    if (dfd >= 0)
        close(dfd); /* releases the lock */
    if (err != WARD_OK) {
        ward_rot_close(rot);
        return err;
    }
    *out = rot;
    return WARD_OK;
}

void ward_rot_close(ward_rot *rot)
{
    if (rot == NULL)
        return;
    if (rot->secret != NULL) {
        ward_wipe(rot->secret, rot->secret_map);
        munlock(rot->secret, rot->secret_map);
        munmap(rot->secret, rot->secret_map);
    }
    ward_pkey_free(rot->key);
    ward_cert_free(rot->cert);
    ward_wipe(rot, sizeof *rot);
    free(rot);
}

const ward_cert *ward_rot_platform_cert(const ward_rot *rot)
{
    return rot == NULL ? NULL : rot->cert;
}

void ward_rot_platform_key_id(const ward_rot *rot, uint8_t out[WARD_SHA256_LEN])
{
    if (out == NULL)
        return;
    if (rot == NULL)
        memset(out, 0, WARD_SHA256_LEN);
    else
        memcpy(out, rot->key_id, WARD_SHA256_LEN);
}

ward_err ward_rot_sign(const ward_rot *rot, const void *msg, size_t len,
                       uint8_t sig[WARD_ROT_SIG_LEN])
{
    if (rot == NULL || sig == NULL || (msg == NULL && len != 0))
        return ward_err_set(WARD_ERR_INVALID_ARG, "platform sign: NULL argument");
    uint8_t *s = NULL;
    size_t s_len = 0;
    ward_err err = ward_sign(rot->key, WARD_HASH_SHA256, WARD_SIG_RAW, msg, len, &s, &s_len);
    if (err != WARD_OK)
        return ward_err_wrap(err, "platform sign");
    if (s_len != WARD_ROT_SIG_LEN) {
        free(s);
        return ward_err_set(WARD_ERR_CRYPTO, "platform sign: signature of %zu bytes, expected %d",
                            s_len, WARD_ROT_SIG_LEN);
    }
    memcpy(sig, s, WARD_ROT_SIG_LEN);
    free(s);
    return WARD_OK;
}

ward_err ward_rot_derive(const ward_rot *rot, const char *label, const uint8_t *context,
                         size_t context_len, uint8_t *out, size_t out_len)
{
    static const char what[] = "sealing key derivation";
    if (rot == NULL || label == NULL || out == NULL || (context == NULL && context_len != 0))
        return ward_err_set(WARD_ERR_INVALID_ARG, "%s: NULL argument", what);
    if (out_len == 0 || out_len > 255u * WARD_SHA256_LEN)
        return ward_err_set(WARD_ERR_INVALID_ARG, "%s: output length %zu (must be 1 .. %u)",
                            what, out_len, 255u * WARD_SHA256_LEN);
    if (rot->secret[SECRET_LEN] != ARMED)
        return ward_err_set(WARD_ERR_STATE,
                            "%s: the sealing secret is not available in this process (a fork "
                            "child of the one that opened the root of trust?)", what);
    size_t label_len = strlen(label);
    if (label_len == 0)
        return ward_err_set(WARD_ERR_INVALID_ARG, "%s: empty label", what);
    if (label_len > SIZE_MAX - 1 || context_len > SIZE_MAX - 1 - label_len)
        return ward_err_set(WARD_ERR_OVERFLOW, "%s: label and context too long", what);
    size_t info_len = label_len + 1 + context_len;
    uint8_t *info = malloc(info_len);
    if (info == NULL)
        return ward_err_set(WARD_ERR_NOMEM, "%s: out of memory", what);
    memcpy(info, label, label_len);
    info[label_len] = 0x00;
    if (context_len > 0)
        memcpy(info + label_len + 1, context, context_len);
    ward_err err = ward_hkdf(WARD_HASH_SHA256, (const uint8_t *)HKDF_SALT,
                             sizeof HKDF_SALT - 1, rot->secret, SECRET_LEN, info, info_len, out,
                             out_len);
    ward_wipe(info, info_len);
    free(info);
    if (err != WARD_OK) {
        ward_wipe(out, out_len);
        return ward_err_wrap(err, "%s", what);
    }
    return WARD_OK;
}
