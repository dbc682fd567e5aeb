/* The encrypted SQLite VFS: every file SQLite opens (database, rollback journal, WAL, temp
 * files) is an encrypted file of the store. Locks are process-local no-ops (one connection per
 * database; the store belongs to one TA process); no shared memory (WAL needs
 * PRAGMA locking_mode=EXCLUSIVE). Names are store paths. */
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage/storage_internal.h"
#include "ward/crypto.h"

typedef struct wvfs {
    sqlite3_vfs base;
    ward_store *s;
    sqlite3_vfs *root;
    char name[64];
    struct wvfs *next;
} wvfs;

typedef struct wfile {
    sqlite3_file base;
    ward_efile *f;
    ward_store *s;
    int delete_on_close;
    char path[WARD_EFILE_PATH_MAX + 1];
} wfile;

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static wvfs *g_list;

static void log_err(int rc, const char *what)
{
    sqlite3_log(rc, "ward vfs: %s: %s", what, ward_errmsg());
}

static int x_close(sqlite3_file *file)
{
    wfile *w = (wfile *)file;
    int rc = SQLITE_OK;
    if (ward_efile_close(w->f) != WARD_OK) {
        rc = SQLITE_IOERR_CLOSE;
        log_err(rc, "close");
    }
    w->f = NULL;
    if (w->delete_on_close)
        (void)ward_efile_remove(w->s, w->path);
    return rc;
}

static int x_read(sqlite3_file *file, void *buf, int amt, sqlite3_int64 off)
{
    wfile *w = (wfile *)file;
    if (amt < 0 || off < 0)
        return SQLITE_IOERR_READ;
    size_t got = 0;
    if (ward_efile_read(w->f, (uint64_t)off, buf, (size_t)amt, &got) != WARD_OK) {
        log_err(SQLITE_IOERR_READ, "read");
        return SQLITE_IOERR_READ;
    }
    if (got < (size_t)amt) {
        memset((uint8_t *)buf + got, 0, (size_t)amt - got);
        return SQLITE_IOERR_SHORT_READ;
    }
    return SQLITE_OK;
}

static int x_write(sqlite3_file *file, const void *buf, int amt, sqlite3_int64 off)
{
    wfile *w = (wfile *)file;
    if (amt < 0 || off < 0)
        return SQLITE_IOERR_WRITE;
    if (ward_efile_write(w->f, (uint64_t)off, buf, (size_t)amt) != WARD_OK) {
        log_err(SQLITE_IOERR_WRITE, "write");
        return SQLITE_IOERR_WRITE;
    }
    return SQLITE_OK;
}

static int x_truncate(sqlite3_file *file, sqlite3_int64 size)
{
    wfile *w = (wfile *)file;
    if (size < 0 || ward_efile_truncate(w->f, (uint64_t)size) != WARD_OK) {
        log_err(SQLITE_IOERR_TRUNCATE, "truncate");
        return SQLITE_IOERR_TRUNCATE;
    }
    return SQLITE_OK;
}

static int x_sync(sqlite3_file *file, int flags)
{
    (void)flags;
    wfile *w = (wfile *)file;
    if (ward_efile_sync(w->f) != WARD_OK) {
        log_err(SQLITE_IOERR_FSYNC, "sync");
        return SQLITE_IOERR_FSYNC;
    }
    return SQLITE_OK;
}

static int x_file_size(sqlite3_file *file, sqlite3_int64 *size)
{
    wfile *w = (wfile *)file;
    *size = (sqlite3_int64)ward_efile_size(w->f);
    return SQLITE_OK;
}

static int x_lock(sqlite3_file *file, int level)
{
    (void)file;
    (void)level;
    return SQLITE_OK;
}

static int x_check_reserved(sqlite3_file *file, int *out)
{
    (void)file;
    *out = 0;
    return SQLITE_OK;
}

static int x_file_control(sqlite3_file *file, int op, void *arg)
{
    (void)file;
    (void)op;
    (void)arg;
    return SQLITE_NOTFOUND;
}

static int x_sector_size(sqlite3_file *file)
{
    (void)file;
    return (int)WARD_EFILE_BLOCK;
}

/* SAFE_APPEND: SQLite may then skip the second journal sync (and the header rewrite that
 * precedes it), which only guards against a crash leaving garbage past the records it had
 * written. An encrypted file cannot show that: after a crash it is exactly as at one of its
 * commits (size and blocks are committed together under the MAC'd metadata), so the tail of a
 * journal is never garbage. Not SEQUENTIAL: writes become durable only at a sync. */
static int x_device_chars(sqlite3_file *file)
{
    (void)file;
    return SQLITE_IOCAP_POWERSAFE_OVERWRITE | SQLITE_IOCAP_SAFE_APPEND;
}

static const sqlite3_io_methods g_methods = {
    .iVersion = 1,
    .xClose = x_close,
    .xRead = x_read,
    .xWrite = x_write,
    .xTruncate = x_truncate,
    .xSync = x_sync,
    .xFileSize = x_file_size,
    .xLock = x_lock,
    .xUnlock = x_lock,
    .xCheckReservedLock = x_check_reserved,
    .xFileControl = x_file_control,
    .xSectorSize = x_sector_size,
    .xDeviceCharacteristics = x_device_chars,
};

static int x_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags,
                  int *out_flags)
{
    wvfs *v = (wvfs *)vfs;
    wfile *w = (wfile *)file;
    memset(w, 0, sizeof *w);
    w->s = v->s;
    if (name == NULL) {
        uint8_t r[8];
        if (ward_random(r, sizeof r) != WARD_OK)
            return SQLITE_CANTOPEN;
        snprintf(w->path, sizeof w->path, "etilqs-%02x%02x%02x%02x%02x%02x%02x%02x", r[0], r[1],
                 r[2], r[3], r[4], r[5], r[6], r[7]);
        w->delete_on_close = 1;
    } else {
        size_t n = strlen(name);
        if (n > WARD_EFILE_PATH_MAX)
            return SQLITE_CANTOPEN;
        memcpy(w->path, name, n + 1);
        w->delete_on_close = (flags & SQLITE_OPEN_DELETEONCLOSE) != 0;
    }
    unsigned ef = 0;
    if (flags & SQLITE_OPEN_CREATE)
        ef |= WARD_EFILE_CREATE;
    if (flags & SQLITE_OPEN_EXCLUSIVE)
        ef |= WARD_EFILE_EXCL;
    if ((flags & SQLITE_OPEN_READONLY) && !(flags & SQLITE_OPEN_CREATE))
        ef |= WARD_EFILE_RDONLY;
    if (ward_efile_open(v->s, w->path, ef, &w->f) != WARD_OK) {
        log_err(SQLITE_CANTOPEN, w->path);
        return SQLITE_CANTOPEN;
    }
    w->base.pMethods = &g_methods;
    if (out_flags)
        *out_flags = flags;
    return SQLITE_OK;
}

static int x_delete(sqlite3_vfs *vfs, const char *name, int sync_dir)
{
    (void)sync_dir; /* removal always syncs the directory */
    wvfs *v = (wvfs *)vfs;
    ward_err err = ward_efile_remove(v->s, name);
    if (err == WARD_ERR_NOT_FOUND)
        return SQLITE_IOERR_DELETE_NOENT;
    return err ? SQLITE_IOERR_DELETE : SQLITE_OK;
}

static int x_access(sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
    (void)flags;
    wvfs *v = (wvfs *)vfs;
    int e = 0;
    if (ward_efile_exists(v->s, name, &e) != WARD_OK)
        e = 0;
    *out = e;
    return SQLITE_OK;
}

static int x_full_pathname(sqlite3_vfs *vfs, const char *name, int n_out, char *out)
{
    (void)vfs;
    size_t n = strlen(name);
    if (n_out <= 0 || n >= (size_t)n_out)
        return SQLITE_CANTOPEN;
    memcpy(out, name, n + 1);
    return SQLITE_OK;
}

static void *x_dlopen(sqlite3_vfs *vfs, const char *name)
{
    (void)vfs;
    (void)name;
    return NULL; /* no extensions loaded from disk */
}

static void x_dlerror(sqlite3_vfs *vfs, int n, char *msg)
{
    (void)vfs;
    if (n > 0)
        snprintf(msg, (size_t)n, "extensions are not loaded through the ward VFS");
}

static void (*x_dlsym(sqlite3_vfs *vfs, void *h, const char *sym))(void)
{
    (void)vfs;
    (void)h;
    (void)sym;
    return NULL;
}

static void x_dlclose(sqlite3_vfs *vfs, void *h)
{
    (void)vfs;
    (void)h;
}

static int x_randomness(sqlite3_vfs *vfs, int n, char *out)
{
    (void)vfs;
    if (n <= 0 || ward_random(out, (size_t)n) != WARD_OK)
        return 0;
    return n;
}

static int x_sleep(sqlite3_vfs *vfs, int us)
{
    wvfs *v = (wvfs *)vfs;
    return v->root->xSleep(v->root, us);
}

static int x_current_time(sqlite3_vfs *vfs, double *t)
{
    wvfs *v = (wvfs *)vfs;
    return v->root->xCurrentTime(v->root, t);
}

static int x_last_error(sqlite3_vfs *vfs, int n, char *msg)
{
    (void)vfs;
    if (n > 0)
        snprintf(msg, (size_t)n, "%s", ward_errmsg());
    return 0;
}

static int x_current_time64(sqlite3_vfs *vfs, sqlite3_int64 *t)
{
    wvfs *v = (wvfs *)vfs;
    if (v->root->iVersion >= 2 && v->root->xCurrentTimeInt64)
        return v->root->xCurrentTimeInt64(v->root, t);
    double d = 0;
    int rc = v->root->xCurrentTime(v->root, &d);
    *t = (sqlite3_int64)(d * 86400000.0);
    return rc;
}

ward_err ward_storage_sqlite_register(ward_store *s, const char *vfs_name)
{
    if (s == NULL || vfs_name == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "vfs: NULL argument");
    size_t n = strlen(vfs_name);
    if (n == 0 || n >= sizeof ((wvfs *)0)->name)
        return ward_err_set(WARD_ERR_INVALID_ARG, "vfs: name of %zu bytes", n);
    if (sqlite3_initialize() != SQLITE_OK)
        return ward_err_set(WARD_ERR_STATE, "vfs: sqlite3_initialize failed");
    if (sqlite3_vfs_find(vfs_name) != NULL)
        return ward_err_set(WARD_ERR_EXISTS, "vfs: %s is already registered", vfs_name);
    sqlite3_vfs *root = sqlite3_vfs_find(NULL);
    if (root == NULL)
        return ward_err_set(WARD_ERR_STATE, "vfs: no default SQLite VFS");
    wvfs *v = calloc(1, sizeof *v);
    if (v == NULL)
        return ward_err_set(WARD_ERR_NOMEM, "vfs: out of memory");
    memcpy(v->name, vfs_name, n + 1);
    v->s = s;
    v->root = root;
    v->base.iVersion = 2;
    v->base.szOsFile = (int)sizeof(wfile);
    v->base.mxPathname = (int)WARD_EFILE_PATH_MAX;
    v->base.zName = v->name;
    v->base.xOpen = x_open;
    v->base.xDelete = x_delete;
    v->base.xAccess = x_access;
    v->base.xFullPathname = x_full_pathname;
    v->base.xDlOpen = x_dlopen;
    v->base.xDlError = x_dlerror;
    v->base.xDlSym = x_dlsym;
    v->base.xDlClose = x_dlclose;
    v->base.xRandomness = x_randomness;
    v->base.xSleep = x_sleep;
    v->base.xCurrentTime = x_current_time;
    v->base.xGetLastError = x_last_error;
    v->base.xCurrentTimeInt64 = x_current_time64;
    pthread_mutex_lock(&g_lock);
    int rc = sqlite3_vfs_register(&v->base, 0);
    if (rc == SQLITE_OK) {
        v->next = g_list;
        g_list = v;
    }
    pthread_mutex_unlock(&g_lock);
    if (rc != SQLITE_OK) {
        free(v);
        return ward_err_set(WARD_ERR_STATE, "vfs: sqlite3_vfs_register failed (%d)", rc);
    }
    return WARD_OK;
}

ward_err ward_storage_sqlite_unregister(const char *vfs_name)
{
    if (vfs_name == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "vfs: NULL name");
    pthread_mutex_lock(&g_lock);
    wvfs **pp = &g_list;
    while (*pp && strcmp((*pp)->name, vfs_name) != 0)
        pp = &(*pp)->next;
    wvfs *v = *pp;
    if (v) {
        sqlite3_vfs_unregister(&v->base);
        *pp = v->next;
    }
    pthread_mutex_unlock(&g_lock);
    if (v == NULL)
        return ward_err_set(WARD_ERR_NOT_FOUND, "vfs: %s is not registered", vfs_name);
    free(v);
    return WARD_OK;
}
