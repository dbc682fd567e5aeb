/* The store: a directory of encrypted files under a random store key, which is kept sealed in
 * the directory (store.key) and destroyed first when the store is deleted (crypto-shredding). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "storage/storage_internal.h"
#include "ward/crypto.h"

#define KEY_FILE "store.key"
#define KEY_AAD "ward-store-key-v1"
#define SECRET_LEN 48u /* store key 32, store id 16 */

struct ward_store {
    char *dir;
    uint8_t secret[SECRET_LEN];
    ward_counters *counters;
};

const uint8_t *st_store_key(const ward_store *s)
{
    return s->secret;
}
const uint8_t *st_store_id(const ward_store *s)
{
    return s->secret + 32;
}
const char *st_store_dir(const ward_store *s)
{
    return s->dir;
}
ward_counters *st_store_counters(const ward_store *s)
{
    return s->counters;
}

ward_err st_check_path(const char *path)
{
    if (path == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "store: NULL path");
    size_t n = strlen(path);
    if (n == 0 || n > WARD_EFILE_PATH_MAX)
        return ward_err_set(WARD_ERR_INVALID_ARG, "store: a name has 1 to %u bytes, not %zu",
                            WARD_EFILE_PATH_MAX, n);
    if (path[0] == '.')
        return ward_err_set(WARD_ERR_INVALID_ARG, "store: a name may not start with '.'");
    for (size_t i = 0; i < n; i++) {
        char ch = path[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '_' || ch == '-'))
            return ward_err_set(WARD_ERR_INVALID_ARG,
                                "store: name has a character outside [A-Za-z0-9._-]");
    }
    if (strcmp(path, KEY_FILE) == 0 || strncmp(path, "store.key.", 10) == 0)
        return ward_err_set(WARD_ERR_INVALID_ARG, "store: the name %s is reserved", path);
    return WARD_OK;
}

static ward_err write_key_file(ward_store *s, const uint8_t key[32], const ward_seal_meta *meta)
{
    uint8_t *blob = NULL;
    size_t len = 0;
    ward_err err = ward_seal(key, meta, (const uint8_t *)KEY_AAD, sizeof KEY_AAD - 1, s->secret,
                             SECRET_LEN, &blob, &len);
    if (err)
        return err;
    err = st_write_atomic(s->dir, KEY_FILE, blob, len);
    free(blob);
    return err;
}

ward_err ward_store_open(const char *dir, const uint8_t key[WARD_STORAGE_KEY_LEN],
                         const ward_seal_meta *meta, int create, ward_counters *counters,
                         ward_store **out)
{
    if (dir == NULL || key == NULL || meta == NULL || out == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "store: NULL argument");
    *out = NULL;
    if (create && mkdir(dir, 0700) != 0 && errno != EEXIST)
        return ward_err_set(WARD_ERR_IO, "store: cannot create %s: %s", dir, strerror(errno));
    ward_store *s = calloc(1, sizeof *s);
    if (s == NULL || (s->dir = strdup(dir)) == NULL) {
        free(s);
        return ward_err_set(WARD_ERR_NOMEM, "store: out of memory");
    }
    s->counters = counters;
    char path[4096];
    uint8_t *blob = NULL, *pt = NULL;
    size_t len = 0, pt_len = 0;
    ward_err err = st_join(path, sizeof path, dir, KEY_FILE, NULL);
    if (!err)
        err = st_read_file(path, 4096, &blob, &len);
    if (err == WARD_ERR_NOT_FOUND && create) {
        err = ward_random(s->secret, SECRET_LEN);
        if (!err)
            err = write_key_file(s, key, meta);
    } else if (err == WARD_ERR_NOT_FOUND) {
        err = ward_err_set(WARD_ERR_NOT_FOUND, "store: %s has no store key (not a store)", dir);
    } else if (!err) {
        err = ward_unseal(key, (const uint8_t *)KEY_AAD, sizeof KEY_AAD - 1, blob, len, &pt,
                          &pt_len, NULL);
        if (err)
            err = ward_err_wrap(err, "store %s: the store key does not unseal", dir);
        else if (pt_len != SECRET_LEN)
            err = ward_err_set(WARD_ERR_FORMAT, "store: store key of %zu bytes", pt_len);
        else
            memcpy(s->secret, pt, SECRET_LEN);
        if (pt) {
            ward_wipe(pt, pt_len);
            free(pt);
        }
    }
    free(blob);
    if (err) {
        ward_store_close(s);
        return err;
    }
    *out = s;
    return WARD_OK;
}

void ward_store_close(ward_store *s)
{
    if (s == NULL)
        return;
    ward_wipe(s->secret, sizeof s->secret);
    free(s->dir);
    free(s);
}

ward_err ward_store_rekey(ward_store *s, const uint8_t new_key[WARD_STORAGE_KEY_LEN],
                          const ward_seal_meta *new_meta)
{
    if (s == NULL || new_key == NULL || new_meta == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "store: NULL argument");
    return write_key_file(s, new_key, new_meta);
}

/* Overwrites a file with random bytes (same length), fsyncs and unlinks it. */
static ward_err shred_file(const char *path)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? WARD_OK
                               : ward_err_set(WARD_ERR_IO, "cannot open %s: %s", path,
                                              strerror(errno));
    struct stat st;
    ward_err err = WARD_OK;
    if (fstat(fd, &st) == 0 && st.st_size > 0 && st.st_size <= 65536) {
        uint8_t junk[65536];
        size_t n = (size_t)st.st_size;
        err = ward_random(junk, n);
        if (!err)
            err = st_pwrite_all(fd, junk, n, 0, path);
        if (!err)
            err = st_fdatasync(fd, path);
    }
    close(fd);
    if (!err && unlink(path) != 0)
        err = ward_err_set(WARD_ERR_IO, "cannot unlink %s: %s", path, strerror(errno));
    return err;
}

ward_err ward_store_destroy(ward_store *s)
{
    if (s == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "store: NULL argument");
    char path[4096];
    /* 1. the key: on disk (overwritten, synced, unlinked, directory synced) and in memory. */
    ward_err err = st_join(path, sizeof path, s->dir, KEY_FILE, NULL);
    if (!err)
        err = shred_file(path);
    ward_wipe(s->secret, sizeof s->secret);
    if (!err)
        err = st_fsync_dir(s->dir);
    /* 2. the blocks: now unreadable ciphertext, unlinked. */
    if (!err) {
        DIR *d = opendir(s->dir);
        if (d == NULL)
            err = ward_err_set(WARD_ERR_IO, "cannot list %s: %s", s->dir, strerror(errno));
        struct dirent *de;
        while (!err && (de = readdir(d)) != NULL) {
            if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                continue;
            err = st_join(path, sizeof path, s->dir, de->d_name, NULL);
            if (!err && unlink(path) != 0)
                err = ward_err_set(WARD_ERR_IO, "cannot unlink %s: %s", path, strerror(errno));
        }
        if (d)
            closedir(d);
    }
    if (!err && rmdir(s->dir) != 0)
        err = ward_err_set(WARD_ERR_IO, "cannot remove %s: %s", s->dir, strerror(errno));
    ward_store_close(s);
    return err;
}

ward_err st_store_from_secret(const char *dir, const uint8_t secret[48], ward_counters *counters,
                              ward_store **out)
{
    if (dir == NULL || secret == NULL || out == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "store: NULL argument");
    ward_store *s = calloc(1, sizeof *s);
    if (s == NULL || (s->dir = strdup(dir)) == NULL) {
        free(s);
        return ward_err_set(WARD_ERR_NOMEM, "store: out of memory");
    }
    memcpy(s->secret, secret, SECRET_LEN);
    s->counters = counters;
    *out = s;
    return WARD_OK;
}
