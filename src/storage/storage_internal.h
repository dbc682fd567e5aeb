/* Internal helpers shared by the storage module (not installed). */
#ifndef WARD_STORAGE_INTERNAL_H
#define WARD_STORAGE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "ward/storage.h"

static inline void st_put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static inline void st_put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static inline void st_put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static inline uint16_t st_get16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}
static inline uint32_t st_get32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}
static inline uint64_t st_get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

/* io.c: full reads and writes with EINTR handling; errors set with the file's name. */
ward_err st_pwrite_all(int fd, const void *buf, size_t len, uint64_t off, const char *what);
/* Reads up to len bytes; *got < len only at end of file. */
ward_err st_pread_all(int fd, void *buf, size_t len, uint64_t off, size_t *got,
                      const char *what);
/* The same into the buffers of iov (which it changes); *got < their total only at end of file. */
ward_err st_preadv_all(int fd, struct iovec *iov, int cnt, uint64_t off, size_t *got,
                       const char *what);
ward_err st_fdatasync(int fd, const char *what);
ward_err st_fsync_dir(const char *dir);
/* Joins dir "/" name [suffix] into out (capacity cap). */
ward_err st_join(char *out, size_t cap, const char *dir, const char *name, const char *suffix);
/* Reads a whole small file (at most max bytes) into a malloc'd buffer. */
ward_err st_read_file(const char *path, size_t max, uint8_t **out, size_t *len);
/* temp file + fsync + rename + fsync of the directory. */
ward_err st_write_atomic(const char *dir, const char *name, const uint8_t *data, size_t len);

/* store.c, for efile.c and vfs.c */
const uint8_t *st_store_key(const ward_store *s); /* 32 bytes */
const uint8_t *st_store_id(const ward_store *s);  /* 16 bytes */
const char *st_store_dir(const ward_store *s);
ward_counters *st_store_counters(const ward_store *s);
ward_err st_check_path(const char *path);

/* merkle.c: an arity-64 hash tree over fixed-size leaf records, kept whole in memory. */
#define ST_LEAF_LEN 32u
#define ST_MERKLE_ARITY 64u
typedef struct st_merkle {
    size_t levels;       /* number of hash levels above the leaves (>= 1) */
    size_t count[48];    /* nodes per level */
    uint8_t *hash[48];   /* count[l] * 32 bytes */
    uint8_t *dirty[48];  /* count[l] flags */
} st_merkle;
void st_merkle_init(st_merkle *m);
void st_merkle_free(st_merkle *m);
/* Resizes to n leaves: nodes whose children changed in number are marked dirty. */
ward_err st_merkle_resize(st_merkle *m, size_t n);
void st_merkle_mark(st_merkle *m, size_t leaf);
/* Recomputes dirty nodes from leaves (n records of ST_LEAF_LEN bytes); root gets 32 bytes. */
ward_err st_merkle_update(st_merkle *m, const uint8_t *leaves, size_t n, uint8_t root[32]);
/* Rebuilds everything (used at open). */
ward_err st_merkle_build(st_merkle *m, const uint8_t *leaves, size_t n, uint8_t root[32]);



/* efile.c, for vfs.c. A volatile file: fresh random keys, one slot file NAME.wv (created
 * empty), never committed (sync writes nothing durable) and removed on close; integrity is
 * still checked on every read. Nothing of it survives a crash (the keys and leaves are only in
 * memory), which is what a SQLite journal needs on a store whose files commit atomically. */
ward_err st_efile_open_volatile(ward_store *s, const char *path, ward_efile **out);
/* Nonzero if a (non-volatile) file has writes or a truncation not committed yet. */
int st_efile_pending(const ward_efile *f);
/* Closes f without committing: the file stays as at its last commit. */
ward_err st_efile_close_discard(ward_efile *f);

/* store.c: a store object over a given secret (store key 32 || store id 16), no key file:
 * for the fuzzer and tests of the file format. */
ward_err st_store_from_secret(const char *dir, const uint8_t secret[48], ward_counters *counters,
                              ward_store **out);
#endif
