/* File I/O helpers for the storage module: whole reads and writes, durable renames. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "storage/storage_internal.h"
#include "ward/crypto.h"

ward_err st_pwrite_all(int fd, const void *buf, size_t len, uint64_t off, const char *what)
{
    const uint8_t *p = buf;
    if (off > (uint64_t)INT64_MAX - len)
        return ward_err_set(WARD_ERR_OVERFLOW, "%s: write offset overflows", what);
    while (len > 0) {
        ssize_t n = pwrite(fd, p, len, (off_t)off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return ward_err_set(WARD_ERR_IO, "%s: write failed: %s", what, strerror(errno));
        }
        if (n == 0)
            return ward_err_set(WARD_ERR_IO, "%s: write made no progress", what);
        p += (size_t)n;
        len -= (size_t)n;
        off += (uint64_t)n;
    }
    return WARD_OK;
}

ward_err st_pread_all(int fd, void *buf, size_t len, uint64_t off, size_t *got,
                      const char *what)
{
    uint8_t *p = buf;
    size_t done = 0;
    if (off > (uint64_t)INT64_MAX - len)
        return ward_err_set(WARD_ERR_OVERFLOW, "%s: read offset overflows", what);
    while (done < len) {
        ssize_t n = pread(fd, p + done, len - done, (off_t)(off + done));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return ward_err_set(WARD_ERR_IO, "%s: read failed: %s", what, strerror(errno));
        }
        if (n == 0)
            break;
        done += (size_t)n;
    }
    *got = done;
    return WARD_OK;
}

ward_err st_preadv_all(int fd, struct iovec *iov, int cnt, uint64_t off, size_t *got,
                       const char *what)
{
    size_t done = 0, len = 0;
    for (int k = 0; k < cnt; k++)
        len += iov[k].iov_len;
    if (off > (uint64_t)INT64_MAX - len)
        return ward_err_set(WARD_ERR_OVERFLOW, "%s: read offset overflows", what);
    while (cnt > 0) {
        ssize_t n = preadv(fd, iov, cnt, (off_t)(off + done));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return ward_err_set(WARD_ERR_IO, "%s: read failed: %s", what, strerror(errno));
        }
        if (n == 0)
            break;
        done += (size_t)n;
        size_t left = (size_t)n;
        while (cnt > 0 && left >= iov->iov_len) {
            left -= iov->iov_len;
            iov++;
            cnt--;
        }
        if (cnt > 0) {
            iov->iov_base = (uint8_t *)iov->iov_base + left;
            iov->iov_len -= left;
        }
    }
    *got = done;
    return WARD_OK;
}

ward_err st_fdatasync(int fd, const char *what)
{
    while (fdatasync(fd) != 0) {
        if (errno != EINTR)
            return ward_err_set(WARD_ERR_IO, "%s: fdatasync failed: %s", what, strerror(errno));
    }
    return WARD_OK;
}

ward_err st_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return ward_err_set(WARD_ERR_IO, "cannot open directory %s: %s", dir, strerror(errno));
    int rc;
    while ((rc = fsync(fd)) != 0 && errno == EINTR)
        ;
    int e = errno;
    close(fd);
    if (rc != 0)
        return ward_err_set(WARD_ERR_IO, "fsync of directory %s failed: %s", dir, strerror(e));
    return WARD_OK;
}

ward_err st_join(char *out, size_t cap, const char *dir, const char *name, const char *suffix)
{
    int n = snprintf(out, cap, "%s/%s%s", dir, name, suffix ? suffix : "");
    if (n < 0 || (size_t)n >= cap)
        return ward_err_set(WARD_ERR_OVERFLOW, "path too long: %s/%s", dir, name);
    return WARD_OK;
}

ward_err st_read_file(const char *path, size_t max, uint8_t **out, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return ward_err_set(WARD_ERR_NOT_FOUND, "%s does not exist", path);
        return ward_err_set(WARD_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size < 0 || (uint64_t)st.st_size > max) {
        close(fd);
        return ward_err_set(WARD_ERR_FORMAT, "%s: unexpected size", path);
    }
    size_t n = (size_t)st.st_size, got = 0;
    uint8_t *buf = malloc(n ? n : 1);
    if (buf == NULL) {
        close(fd);
        return ward_err_set(WARD_ERR_NOMEM, "out of memory");
    }
    ward_err err = st_pread_all(fd, buf, n, 0, &got, path);
    close(fd);
    if (err) {
        free(buf);
        return err;
    }
    *out = buf;
    *len = got;
    return WARD_OK;
}

ward_err st_write_atomic(const char *dir, const char *name, const uint8_t *data, size_t len)
{
    char tmp[4096], dst[4096];
    ward_err err = st_join(tmp, sizeof tmp, dir, name, ".tmp");
    if (!err)
        err = st_join(dst, sizeof dst, dir, name, NULL);
    if (err)
        return err;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return ward_err_set(WARD_ERR_IO, "cannot create %s: %s", tmp, strerror(errno));
    err = st_pwrite_all(fd, data, len, 0, tmp);
    if (!err) {
        while (fsync(fd) != 0) {
            if (errno != EINTR) {
                err = ward_err_set(WARD_ERR_IO, "fsync of %s failed: %s", tmp, strerror(errno));
                break;
            }
        }
    }
    close(fd);
    if (!err && rename(tmp, dst) != 0)
        err = ward_err_set(WARD_ERR_IO, "cannot rename %s: %s", tmp, strerror(errno));
    if (err) {
        unlink(tmp);
        return err;
    }
    return st_fsync_dir(dir);
}
