/* A task's encrypted result as a file (docs/api.md "Tasks"): the TA hands its ciphertext over
 * piece by piece during run (ocall result_piece, ta.c); it is appended here to
 * DATA_DIR/blobs/<task>/result-<recipient>.data.tmp, renamed beside the result's metadata
 * (result-<recipient>.ct, the task store's) once the run ended well, and served in bounded
 * pieces by GET /v1/tasks/{id}/result/data?offset=N. Only ciphertext is ever written: the
 * recipient alone holds the key, and checks every byte (AEAD chunks, the signed statement's
 * SHA-256 and length) before it uses any. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sys/queue.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "daemon/wardd.h"
#include "ward/crypto.h"
#include "ward/err.h"
#include "ward/stream.h"

ward_err wardd_result_open(const wardd *d, const char *task_id, const char *recipient_hex,
                           uint64_t max_bytes, wardd_result_file *rf)
{
    memset(rf, 0, sizeof *rf);
    rf->fd = -1;
    rf->max = max_bytes;
    char dir[sizeof rf->path];
    int n = snprintf(dir, sizeof dir, "%s/blobs", d->data_dir);
    if (n < 0 || (size_t)n >= sizeof dir)
        return ward_err_set(WARD_ERR_OVERFLOW, "result file: data directory path too long");
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return ward_err_set(WARD_ERR_IO, "result file: mkdir %s: %s", dir, strerror(errno));
    n = snprintf(dir + n, sizeof dir - (size_t)n, "/%s", task_id);
    if (n < 0 || strlen(dir) + 80 >= sizeof dir)
        return ward_err_set(WARD_ERR_OVERFLOW, "result file: path too long");
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return ward_err_set(WARD_ERR_IO, "result file: mkdir %s: %s", dir, strerror(errno));
    snprintf(rf->path, sizeof rf->path, "%s/result-%s.data", dir, recipient_hex);
    snprintf(rf->tmp, sizeof rf->tmp, "%s.tmp", rf->path);
    ward_err err = ward_hash_new(WARD_HASH_SHA256, &rf->hash);
    if (err != WARD_OK)
        return err;
    rf->fd = open(rf->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (rf->fd < 0) {
        err = ward_err_set(WARD_ERR_IO, "result file: open %s: %s", rf->tmp, strerror(errno));
        ward_hash_free(rf->hash);
        rf->hash = NULL;
        return err;
    }
    return WARD_OK;
}

ward_err wardd_result_write(void *arg, const uint8_t *data, size_t len)
{
    wardd_result_file *rf = arg;
    if (rf == NULL || rf->fd < 0)
        return WARD_ERR_STATE;
    if ((uint64_t)len > rf->max - rf->bytes) {
        rf->over = 1;
        return WARD_ERR_LIMIT;
    }
    if (ward_hash_update(rf->hash, data, len) != WARD_OK)
        return WARD_ERR_CRYPTO;
    while (len > 0) {
        ssize_t w = write(rf->fd, data, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            rf->io_errno = w < 0 ? errno : EIO;
            return WARD_ERR_IO;
        }
        data += (size_t)w;
        len -= (size_t)w;
        rf->bytes += (uint64_t)w;
    }
    return WARD_OK;
}

ward_err wardd_result_commit(wardd_result_file *rf)
{
    ward_err err = WARD_OK;
    if (rf->fd < 0)
        return ward_err_set(WARD_ERR_STATE, "result file: not open");
    if (rf->bytes == 0)
        err = ward_err_set(WARD_ERR_STATE, "result file: the TA sent no ciphertext");
    else if (ward_hash_final(rf->hash, rf->sha256) != WARD_OK)
        err = ward_err_set(WARD_ERR_CRYPTO, "result file: SHA-256 failed");
    else if (fsync(rf->fd) != 0)
        err = ward_err_set(WARD_ERR_IO, "result file: fsync: %s", strerror(errno));
    if (close(rf->fd) != 0 && err == WARD_OK)
        err = ward_err_set(WARD_ERR_IO, "result file: close: %s", strerror(errno));
    rf->fd = -1;
    if (err == WARD_OK && rename(rf->tmp, rf->path) != 0)
        err = ward_err_set(WARD_ERR_IO, "result file: rename %s: %s", rf->tmp, strerror(errno));
    if (err != WARD_OK)
        unlink(rf->tmp);
    else
        rf->committed = 1;
    return err;
}

void wardd_result_abort(wardd_result_file *rf)
{
    if (rf->fd >= 0) {
        close(rf->fd);
        rf->fd = -1;
    }
    if (rf->tmp[0] != 0)
        unlink(rf->tmp);
    if (rf->committed && rf->path[0] != 0)
        unlink(rf->path);
    rf->committed = 0;
    ward_hash_free(rf->hash);
    rf->hash = NULL;
}

void wardd_result_close(wardd_result_file *rf)
{
    if (rf->fd >= 0) {
        close(rf->fd);
        rf->fd = -1;
    }
    ward_hash_free(rf->hash);
    rf->hash = NULL;
}

int wardd_result_data_path(const char *ct_path, char *out, size_t cap)
{
    size_t n = strlen(ct_path);
    if (n < 3 || strcmp(ct_path + n - 3, ".ct") != 0 || n - 3 + sizeof ".data" > cap)
        return -1;
    memcpy(out, ct_path, n - 3);
    memcpy(out + n - 3, ".data", sizeof ".data");
    return 0;
}

int wardd_result_same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

/* ---- GET /v1/tasks/{id}/result/data?offset=N[&length=M] ---------------------------------- */

int wardd_parse_dec(const char *v, uint64_t *out)
{
    size_t n = strlen(v);
    uint64_t x = 0;
    if (n == 0 || n > 19 || (n > 1 && v[0] == '0'))
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            return -1;
        x = x * 10 + (uint64_t)(v[i] - '0');
    }
    *out = x;
    return 0;
}

static int data_query(wardd *d, wardd_req *r, uint64_t *offset, uint64_t *length)
{
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(r->req);
    const char *q = uri != NULL ? evhttp_uri_get_query(uri) : NULL;
    struct evkeyvalq kv;
    TAILQ_INIT(&kv);
    int rc = q == NULL || evhttp_parse_query_str(q, &kv) != 0 ? -1 : 0;
    int have_off = 0;
    *length = WARDD_RESULT_PIECE_MAX;
    for (struct evkeyval *e = kv.tqh_first; e != NULL && rc == 0; e = e->next.tqe_next) {
        if (strcmp(e->key, "offset") == 0 && !have_off) {
            rc = wardd_parse_dec(e->value, offset);
            have_off = 1;
        } else if (strcmp(e->key, "length") == 0) {
            rc = wardd_parse_dec(e->value, length);
            if (rc == 0 && (*length == 0 || *length > WARDD_RESULT_PIECE_MAX))
                rc = -1;
        } else {
            rc = -1;
        }
    }
    evhttp_clear_headers(&kv);
    if (rc != 0 || !have_off) {
        wardd_reply_error(d, r, 400, "bad_request",
                          "query: offset=N (decimal, required) and length=1..%zu only",
                          WARDD_RESULT_PIECE_MAX);
        return -1;
    }
    return 0;
}

void wardd_result_data(wardd *d, wardd_req *r, const char *id)
{
    uint64_t offset = 0, length = 0;
    if (data_query(d, r, &offset, &length) != 0)
        return;
    ward_task_result_info ri;
    ward_err e = ward_task_result_get(d->tasks, id, r->client, &ri);
    if (e == WARD_ERR_PERMISSION) {
        wardd_reply_error(d, r, 403, "forbidden", "result: %s", ward_errmsg());
        return;
    }
    if (e == WARD_ERR_NOT_FOUND) {
        wardd_reply_error(d, r, 404, "not_found", "result: %s", ward_errmsg());
        return;
    }
    if (e != WARD_OK) {
        wardd_reply_error(d, r, 500, "internal", "result: %s", ward_errmsg());
        return;
    }
    char path[sizeof ri.path + 8];
    int fd = -1;
    if (wardd_result_data_path(ri.path, path, sizeof path) == 0)
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || st.st_size <= 0) {
        if (fd >= 0)
            close(fd);
        wardd_reply_error(d, r, 404, "not_found", "this result has no ciphertext file");
        return;
    }
    uint64_t total = (uint64_t)st.st_size;
    if (offset >= total) {
        close(fd);
        wardd_reply_error(d, r, 400, "bad_offset",
                          "offset %llu is at or past the end of the %llu-byte result",
                          (unsigned long long)offset, (unsigned long long)total);
        return;
    }
    size_t n = (size_t)(total - offset < length ? total - offset : length);
    uint8_t *buf = malloc(n);
    size_t got = 0;
    while (buf != NULL && got < n) {
        ssize_t k = pread(fd, buf + got, n - got, (off_t)(offset + got));
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        got += (size_t)k;
    }
    close(fd);
    if (buf == NULL || got != n) {
        free(buf);
        wardd_reply_error(d, r, 500, "internal", "cannot read the stored result");
        return;
    }
    wardd_reply_text(d, r, 200, "application/octet-stream", (const char *)buf, n);
    free(buf);
}
