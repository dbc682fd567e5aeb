/* The encrypted SQLite VFS: every file SQLite opens is an encrypted file of the store. Locks
 * are process-local no-ops (one connection per database; the store belongs to one TA process);
 * no shared memory (WAL needs PRAGMA locking_mode=EXCLUSIVE). Names are store paths.
 *
 * Databases and WAL files are durable encrypted files, committed at SQLite's syncs. Rollback
 * journals (and super-journals, temp files) are volatile: a database file commits atomically,
 * so after a crash it is exactly as at one of SQLite's syncs, a consistent state, and a journal
 * has nothing to repair (docs/storage.md, "SQLite journals"). A journal is kept in memory (up
 * to JMEM_MAX bytes, then in a volatile encrypted file) for as long as SQLite has not deleted
 * it, across its xClose, so that SQLite can still roll back from it within the process. */
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage/storage_internal.h"
#include "ward/crypto.h"

#define JMEM_MAX ((size_t)8 << 20) /* journal bytes kept in memory before a volatile file */
#define JNAME_SUFFIX "-journal"

/* A journal: its content outlives SQLite's xClose until xDelete (or the database's close). */
typedef struct wjournal {
    char path[WARD_EFILE_PATH_MAX + 1];
    uint8_t *mem; /* plaintext while small (wiped when freed) */
    size_t len, cap;
    ward_efile *f; /* volatile file once it outgrew memory */
    int open, deleted;
    struct wjournal *next;
} wjournal;

typedef struct wvfs {
    sqlite3_vfs base;
    ward_store *s;
    sqlite3_vfs *root;
    char name[64];
    pthread_mutex_t mu; /* journals */
    wjournal *journals;
    struct wvfs *next;
} wvfs;

enum { K_DURABLE, K_VOLATILE, K_JOURNAL };

typedef struct wfile {
    sqlite3_file base;
    ward_efile *f;
    wjournal *j;
    wvfs *v;
    int kind;
    int delete_on_close;
    char path[WARD_EFILE_PATH_MAX + 1];
} wfile;

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static wvfs *g_list;

static void log_err(int rc, const char *what)
{
    sqlite3_log(rc, "ward vfs: %s: %s", what, ward_errmsg());
}

/* ---- journals ------------------------------------------------------------------------------ */

static void j_free(wjournal *j)
{
    if (j == NULL)
        return;
    (void)ward_efile_close(j->f);
    if (j->mem)
        ward_wipe(j->mem, j->cap);
    free(j->mem);
    ward_wipe(j, sizeof *j);
    free(j);
}

/* Caller holds v->mu. */
static wjournal *j_find(wvfs *v, const char *path)
{
    for (wjournal *j = v->journals; j; j = j->next)
        if (strcmp(j->path, path) == 0)
            return j;
    return NULL;
}

/* Caller holds v->mu. */
static void j_unlink(wvfs *v, wjournal *j)
{
    for (wjournal **pp = &v->journals; *pp; pp = &(*pp)->next)
        if (*pp == j) {
            *pp = j->next;
            return;
        }
}

static ward_err j_read(wjournal *j, uint64_t off, uint8_t *buf, size_t amt, size_t *got)
{
    if (j->f)
        return ward_efile_read(j->f, off, buf, amt, got);
    *got = 0;
    if (off < j->len) {
        size_t n = j->len - (size_t)off < amt ? j->len - (size_t)off : amt;
        memcpy(buf, j->mem + off, n);
        *got = n;
    }
    return WARD_OK;
}

/* Moves the journal into a volatile encrypted file. */
static ward_err j_spill(wvfs *v, wjournal *j)
{
    ward_efile *f = NULL;
    ward_err err = st_efile_open_volatile(v->s, j->path, &f);
    if (!err && j->len)
        err = ward_efile_write(f, 0, j->mem, j->len);
    if (err) {
        (void)ward_efile_close(f);
        return err;
    }
    j->f = f;
    ward_wipe(j->mem, j->cap);
    free(j->mem);
    j->mem = NULL;
    j->len = j->cap = 0;
    return WARD_OK;
}

static ward_err j_write(wvfs *v, wjournal *j, uint64_t off, const uint8_t *buf, size_t amt)
{
    if (j->f == NULL && (off > JMEM_MAX || amt > JMEM_MAX - off)) {
        ward_err err = j_spill(v, j);
        if (err)
            return err;
    }
    if (j->f)
        return ward_efile_write(j->f, off, buf, amt);
    size_t end = (size_t)off + amt;
    if (end > j->cap) {
        size_t nc = j->cap ? j->cap : 65536;
        while (nc < end)
            nc *= 2;
        uint8_t *m = malloc(nc); /* not realloc: the old copy must be wiped */
        if (m == NULL)
            return ward_err_set(WARD_ERR_NOMEM, "vfs: out of memory");
        if (j->len)
            memcpy(m, j->mem, j->len);
        if (j->mem)
            ward_wipe(j->mem, j->cap);
        free(j->mem);
        j->mem = m;
        j->cap = nc;
    }
    if ((size_t)off > j->len)
        memset(j->mem + j->len, 0, (size_t)off - j->len);
    memcpy(j->mem + off, buf, amt);
    if (end > j->len)
        j->len = end;
    return WARD_OK;
}

static ward_err j_truncate(wvfs *v, wjournal *j, uint64_t size)
{
    if (j->f)
        return ward_efile_truncate(j->f, size);
    if (size > j->len) {
        static const uint8_t zero = 0;
        return j_write(v, j, size - 1, &zero, 1);
    }
    ward_wipe(j->mem + size, j->len - (size_t)size);
    j->len = (size_t)size;
    return WARD_OK;
}

static uint64_t j_size(const wjournal *j)
{
    return j->f ? ward_efile_size(j->f) : j->len;
}

/* A journal SQLite would play back: it starts with the journal magic. */
static int j_hot(wjournal *j)
{
    static const uint8_t magic[8] = {0xd9, 0xd5, 0x05, 0xf9, 0x20, 0xa1, 0x63, 0xd7};
    uint8_t h[8];
    size_t got = 0;
    return j_read(j, 0, h, sizeof h, &got) == WARD_OK && got == sizeof h &&
           memcmp(h, magic, sizeof h) == 0;
}

/* ---- I/O methods --------------------------------------------------------------------------- */

/* A database closed with writes SQLite never synced (it could not roll back after an error):
 * with its journal still hot they are not a consistent state, so they are dropped; the file
 * stays as at its last sync, which is what playing the journal back would give. Otherwise
 * (synchronous=OFF) they are committed. The database's parked journal goes with it. */
static int close_db(wfile *w)
{
    char jp[WARD_EFILE_PATH_MAX + sizeof JNAME_SUFFIX];
    snprintf(jp, sizeof jp, "%s%s", w->path, JNAME_SUFFIX);
    pthread_mutex_lock(&w->v->mu);
    wjournal *j = j_find(w->v, jp);
    int hot = j && st_efile_pending(w->f) && j_hot(j);
    if (j && !j->open)
        j_unlink(w->v, j);
    else
        j = NULL;
    pthread_mutex_unlock(&w->v->mu);
    j_free(j);
    ward_err err = hot ? st_efile_close_discard(w->f) : ward_efile_close(w->f);
    return err ? SQLITE_IOERR_CLOSE : SQLITE_OK;
}

static int x_close(sqlite3_file *file)
{
    wfile *w = (wfile *)file;
    int rc = SQLITE_OK;
    if (w->kind == K_JOURNAL) {
        pthread_mutex_lock(&w->v->mu);
        w->j->open = 0;
        wjournal *gone = w->j->deleted ? w->j : NULL;
        if (gone)
            j_unlink(w->v, gone);
        pthread_mutex_unlock(&w->v->mu);
        j_free(gone);
    } else if (w->kind == K_DURABLE) {
        rc = close_db(w);
        if (rc)
            log_err(rc, "close");
        if (w->delete_on_close)
            (void)ward_efile_remove(w->v->s, w->path);
    } else {
        (void)ward_efile_close(w->f); /* volatile: nothing to commit, its file is removed */
    }
    w->f = NULL;
    w->j = NULL;
    return rc;
}

static int x_read(sqlite3_file *file, void *buf, int amt, sqlite3_int64 off)
{
    wfile *w = (wfile *)file;
    if (amt < 0 || off < 0)
        return SQLITE_IOERR_READ;
    size_t got = 0;
    ward_err err = w->j ? j_read(w->j, (uint64_t)off, buf, (size_t)amt, &got)
                        : ward_efile_read(w->f, (uint64_t)off, buf, (size_t)amt, &got);
    if (err != WARD_OK) {
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
    ward_err err = w->j ? j_write(w->v, w->j, (uint64_t)off, buf, (size_t)amt)
                        : ward_efile_write(w->f, (uint64_t)off, buf, (size_t)amt);
    if (err != WARD_OK) {
        log_err(SQLITE_IOERR_WRITE, "write");
        return SQLITE_IOERR_WRITE;
    }
    return SQLITE_OK;
}

static int x_truncate(sqlite3_file *file, sqlite3_int64 size)
{
    wfile *w = (wfile *)file;
    if (size < 0 || (w->j ? j_truncate(w->v, w->j, (uint64_t)size)
                          : ward_efile_truncate(w->f, (uint64_t)size)) != WARD_OK) {
        log_err(SQLITE_IOERR_TRUNCATE, "truncate");
        return SQLITE_IOERR_TRUNCATE;
    }
    return SQLITE_OK;
}

static int x_sync(sqlite3_file *file, int flags)
{
    (void)flags;
    wfile *w = (wfile *)file;
    if (w->kind != K_DURABLE)
        return SQLITE_OK; /* volatile: see the top of this file */
    if (ward_efile_sync(w->f) != WARD_OK) {
        log_err(SQLITE_IOERR_FSYNC, "sync");
        return SQLITE_IOERR_FSYNC;
    }
    return SQLITE_OK;
}

static int x_file_size(sqlite3_file *file, sqlite3_int64 *size)
{
    wfile *w = (wfile *)file;
    *size = (sqlite3_int64)(w->j ? j_size(w->j) : ward_efile_size(w->f));
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

/* Databases and WAL files are durable; journals and temporary files are volatile. */
static int file_kind(const char *name, int flags)
{
    if (name == NULL)
        return K_VOLATILE;
    if (flags & (SQLITE_OPEN_MAIN_JOURNAL | SQLITE_OPEN_SUPER_JOURNAL))
        return K_JOURNAL;
    if (flags & (SQLITE_OPEN_TEMP_DB | SQLITE_OPEN_TRANSIENT_DB | SQLITE_OPEN_TEMP_JOURNAL |
                 SQLITE_OPEN_SUBJOURNAL))
        return K_VOLATILE;
    return K_DURABLE;
}

/* The journal named path, parked or new; NULL if it is open already. */
static wjournal *j_attach(wvfs *v, const char *path)
{
    pthread_mutex_lock(&v->mu);
    wjournal *j = j_find(v, path);
    if (j && j->open) {
        j = NULL;
    } else if (j == NULL && (j = calloc(1, sizeof *j)) != NULL) {
        memcpy(j->path, path, strlen(path) + 1);
        j->next = v->journals;
        v->journals = j;
    }
    if (j)
        j->open = 1;
    pthread_mutex_unlock(&v->mu);
    return j;
}

static int x_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags,
                  int *out_flags)
{
    wvfs *v = (wvfs *)vfs;
    wfile *w = (wfile *)file;
    memset(w, 0, sizeof *w);
    w->v = v;
    w->kind = file_kind(name, flags);
    if (name == NULL) {
        uint8_t r[8];
        if (ward_random(r, sizeof r) != WARD_OK)
            return SQLITE_CANTOPEN;
        snprintf(w->path, sizeof w->path, "etilqs-%02x%02x%02x%02x%02x%02x%02x%02x", r[0], r[1],
                 r[2], r[3], r[4], r[5], r[6], r[7]);
    } else {
        size_t n = strlen(name);
        if (n > WARD_EFILE_PATH_MAX)
            return SQLITE_CANTOPEN;
        memcpy(w->path, name, n + 1);
        w->delete_on_close = (flags & SQLITE_OPEN_DELETEONCLOSE) != 0;
    }
    ward_err err = WARD_OK;
    if (w->kind == K_JOURNAL) {
        err = st_check_path(w->path);
        if (!err && (w->j = j_attach(v, w->path)) == NULL)
            err = ward_err_set(WARD_ERR_STATE, "vfs: journal %s is open already", w->path);
    } else if (w->kind == K_VOLATILE) {
        err = st_efile_open_volatile(v->s, w->path, &w->f);
    } else {
        unsigned ef = 0;
        if (flags & SQLITE_OPEN_CREATE)
            ef |= WARD_EFILE_CREATE;
        if (flags & SQLITE_OPEN_EXCLUSIVE)
            ef |= WARD_EFILE_EXCL;
        if ((flags & SQLITE_OPEN_READONLY) && !(flags & SQLITE_OPEN_CREATE))
            ef |= WARD_EFILE_RDONLY;
        err = ward_efile_open(v->s, w->path, ef, &w->f);
    }
    if (err != WARD_OK) {
        log_err(SQLITE_CANTOPEN, w->path);
        return SQLITE_CANTOPEN;
    }
    w->base.pMethods = &g_methods;
    if (out_flags)
        *out_flags = flags;
    return SQLITE_OK;
}

/* A journal is deleted from memory; a durable file of that name (a journal an older version
 * left, or anything else) from the store. */
static int x_delete(sqlite3_vfs *vfs, const char *name, int sync_dir)
{
    (void)sync_dir; /* removal always syncs the directory */
    wvfs *v = (wvfs *)vfs;
    pthread_mutex_lock(&v->mu);
    wjournal *j = j_find(v, name);
    int had = j != NULL;
    if (j && j->open) {
        j->deleted = 1; /* freed when closed */
        j = NULL;
    } else if (j) {
        j_unlink(v, j);
    }
    pthread_mutex_unlock(&v->mu);
    j_free(j);
    int e = 0;
    if (ward_efile_exists(v->s, name, &e) == WARD_OK && e) {
        if (ward_efile_remove(v->s, name) != WARD_OK)
            return SQLITE_IOERR_DELETE;
        had = 1;
    }
    return had ? SQLITE_OK : SQLITE_IOERR_DELETE_NOENT;
}

static int x_access(sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
    (void)flags;
    wvfs *v = (wvfs *)vfs;
    pthread_mutex_lock(&v->mu);
    wjournal *j = j_find(v, name);
    int e = j != NULL && !j->deleted;
    pthread_mutex_unlock(&v->mu);
    if (!e && ward_efile_exists(v->s, name, &e) != WARD_OK)
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
    pthread_mutex_init(&v->mu, NULL);
    pthread_mutex_lock(&g_lock);
    int rc = sqlite3_vfs_register(&v->base, 0);
    if (rc == SQLITE_OK) {
        v->next = g_list;
        g_list = v;
    }
    pthread_mutex_unlock(&g_lock);
    if (rc != SQLITE_OK) {
        pthread_mutex_destroy(&v->mu);
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
    while (v->journals) { /* parked journals no database claimed */
        wjournal *j = v->journals;
        v->journals = j->next;
        j_free(j);
    }
    pthread_mutex_destroy(&v->mu);
    free(v);
    return WARD_OK;
}
