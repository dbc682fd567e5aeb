/* Trusted storage for TAs (IEEE 2952 5.2.1.2, 7.5 e/g; DESIGN 3, issue 7):
 *  - sealing: a buffer encrypted and authenticated under a sealing key, in a versioned blob that
 *    names the key's policy, SVN and key version (so that the caller can ask the platform for the
 *    right key, and rotate);
 *  - monotonic counters: persistent, crash-safe, authenticated (rollback protection);
 *  - a store: a directory of encrypted files (4 KiB AES-256-GCM blocks, a Merkle tree of their
 *    tags bound to the file's name, size and version, copy-on-write commits), with a store key
 *    that is sealed in the directory and destroyed first when the store is deleted;
 *  - an encrypted SQLite VFS over the store.
 * Formats: docs/formats.md ("Sealed blob", "Encrypted file"); design notes: docs/storage.md.
 * Every function returns WARD_OK or an error with ward_errmsg() saying why. Objects are not
 * thread-safe (one thread at a time per store, per file), except counters (internally locked). */
#ifndef WARD_STORAGE_H
#define WARD_STORAGE_H

#include <stddef.h>
#include <stdint.h>

#include "ward/err.h"
#include "ward/ta.h"

#ifdef __cplusplus
extern "C" {
#endif

#define WARD_STORAGE_KEY_LEN 32

/* ---- sealing ------------------------------------------------------------------------------ */

/* What a sealed blob says about the key that sealed it (cleartext, authenticated). */
typedef struct ward_seal_meta {
    ward_seal_policy policy; /* WARD_SEAL_MEASUREMENT or WARD_SEAL_SIGNER */
    uint16_t svn;            /* the SVN the key was derived for */
    uint32_t key_version;    /* the key version, for rotation */
} ward_seal_meta;

#define WARD_SEAL_OVERHEAD 50u /* header + tag bytes a blob adds to the plaintext */
#define WARD_SEAL_MAX_PT ((size_t)1 << 30)

/* Seals pt under key (a 32-byte key from ward_ta_seal_key(meta->policy, meta->svn,
 * meta->key_version), or any 32-byte key) with AES-256-GCM and a random nonce; aad (may be
 * empty) is authenticated but not stored. *blob is malloc'd (free with free()). */
ward_err ward_seal(const uint8_t key[WARD_STORAGE_KEY_LEN], const ward_seal_meta *meta,
                   const uint8_t *aad, size_t aad_len, const uint8_t *pt, size_t pt_len,
                   uint8_t **blob, size_t *blob_len);

/* Reads the (not yet authenticated) metadata of a blob, to choose the key to unseal with. */
ward_err ward_seal_inspect(const uint8_t *blob, size_t blob_len, ward_seal_meta *meta);

/* Authenticates and decrypts. WARD_ERR_AUTH (nothing returned) if the key, the aad or any bit
 * of the blob differs; WARD_ERR_FORMAT / WARD_ERR_TRUNCATED / WARD_ERR_UNSUPPORTED for a
 * malformed blob. *pt is malloc'd: ward_wipe it and free it. meta (may be NULL) receives the
 * blob's metadata. */
ward_err ward_unseal(const uint8_t key[WARD_STORAGE_KEY_LEN], const uint8_t *aad,
                     size_t aad_len, const uint8_t *blob, size_t blob_len, uint8_t **pt,
                     size_t *pt_len, ward_seal_meta *meta);

/* ---- monotonic counters ------------------------------------------------------------------- */

/* A set of named 64-bit monotonic counters kept in dir (two alternating files, each written
 * and fdatasync'd whole, authenticated with HMAC-SHA256 under key; the node derives key with
 * ward_rot_derive(rot, "ward-storage-counters", ...)). A counter only moves forward; a missing
 * counter reads as 0. Thread-safe. */
typedef struct ward_counters ward_counters;

#define WARD_COUNTER_NAME_MAX 128

ward_err ward_counters_open(const char *dir, const uint8_t key[WARD_STORAGE_KEY_LEN],
                            ward_counters **out);
void ward_counters_close(ward_counters *c);
ward_err ward_counters_get(ward_counters *c, const char *name, uint64_t *value);
/* Raises counter name to value and persists it (durable when this returns). WARD_ERR_STATE if
 * value is below the current value; a value equal to the current one is a no-op. */
ward_err ward_counters_advance(ward_counters *c, const char *name, uint64_t value);
/* Adds 1 and persists; *value (may be NULL) receives the new value. */
ward_err ward_counters_increment(ward_counters *c, const char *name, uint64_t *value);

/* ---- the store and its encrypted files ---------------------------------------------------- */

typedef struct ward_store ward_store;
typedef struct ward_efile ward_efile;

#define WARD_EFILE_BLOCK 4096u
#define WARD_EFILE_PATH_MAX 200u /* bytes of a name within the store */
#define WARD_EFILE_MAX_SIZE ((uint64_t)1 << 40)

/* Opens the store in dir (created 0700 with a fresh random store key when create is nonzero and
 * it has none). The store key is kept in dir/store.key sealed (ward_seal) under key with meta;
 * a store sealed under another key (another TA) fails with WARD_ERR_AUTH. counters (may be NULL:
 * no rollback protection) must outlive the store; every file's version is then bound to a
 * counter. */
ward_err ward_store_open(const char *dir, const uint8_t key[WARD_STORAGE_KEY_LEN],
                         const ward_seal_meta *meta, int create, ward_counters *counters,
                         ward_store **out);
/* Wipes the store key. Files still open must be closed first. */
void ward_store_close(ward_store *s);
/* Re-seals the store key under a new key (rotation), atomically. */
ward_err ward_store_rekey(ward_store *s, const uint8_t new_key[WARD_STORAGE_KEY_LEN],
                          const ward_seal_meta *new_meta);
/* Crypto-shredding: destroys the sealed store key first (overwritten, fsync'd, unlinked, the
 * directory fsync'd) and the key in memory, then unlinks every file and the directory, and
 * closes s (even on failure). Files must be closed. See docs/storage.md for what overwriting
 * can and cannot do on SSDs. */
ward_err ward_store_destroy(ward_store *s);

/* Flags for ward_efile_open. */
#define WARD_EFILE_CREATE 0x1u   /* create if absent */
#define WARD_EFILE_EXCL 0x2u     /* with CREATE: fail with WARD_ERR_EXISTS if present */
#define WARD_EFILE_TRUNCATE 0x4u /* truncate to 0 on open */
#define WARD_EFILE_RDONLY 0x8u   /* refuse writes */

/* path: 1..WARD_EFILE_PATH_MAX bytes of [A-Za-z0-9._-], not starting with '.'. Opening
 * verifies the header MAC (key, name), the Merkle tree of the block tags and, with counters,
 * that the version is not older than the file's counter (WARD_ERR_VERIFY "rollback: ..."). */
ward_err ward_efile_open(ward_store *s, const char *path, unsigned flags, ward_efile **out);

/* Reads up to len bytes at off; *got < len only at end of file. Every block is checked against
 * the Merkle tree and authenticated; on a bad block the call fails with WARD_ERR_AUTH (or
 * WARD_ERR_TRUNCATED for a missing block) naming the block and the reason, *got is 0 and the
 * whole of buf (len bytes) is wiped: nothing from the bad block, nor around it, is returned. */
ward_err ward_efile_read(ward_efile *f, uint64_t off, void *buf, size_t len, size_t *got);
/* Writes len bytes at off (extending the file with zeros if off is past the end). */
ward_err ward_efile_write(ward_efile *f, uint64_t off, const void *buf, size_t len);
ward_err ward_efile_append(ward_efile *f, const void *buf, size_t len);
ward_err ward_efile_truncate(ward_efile *f, uint64_t size);
/* Commits: every write before it is durable and verifiable after a crash when this returns;
 * a crash before it leaves the file as at the previous commit. */
ward_err ward_efile_sync(ward_efile *f);
uint64_t ward_efile_size(const ward_efile *f);
/* The committed version (one more on every commit; bound to the file's counter). */
uint64_t ward_efile_version(const ward_efile *f);
/* Commits pending writes (like ward_efile_sync), then wipes the keys, tree and buffers.
 * f is freed even when the commit fails (the error is returned). NULL is allowed. */
ward_err ward_efile_close(ward_efile *f);

/* Removes a file (its data and metadata). WARD_ERR_NOT_FOUND if absent. */
ward_err ward_efile_remove(ward_store *s, const char *path);
/* *exists = 1 if path names a file of the store. */
ward_err ward_efile_exists(ward_store *s, const char *path, int *exists);

/* ---- encrypted SQLite VFS ----------------------------------------------------------------- */

/* Registers a SQLite VFS named vfs_name (not the default) whose files are encrypted files of
 * store s: sqlite3_open_v2(name, &db, flags, vfs_name) keeps the database and its rollback
 * journal (or WAL, with PRAGMA locking_mode=EXCLUSIVE: the VFS has no shared memory) there.
 * Database names are store paths. s must outlive every connection and the registration. One
 * connection per database file. */
ward_err ward_storage_sqlite_register(ward_store *s, const char *vfs_name);
/* Unregisters and frees it (no connection may be open on it). */
ward_err ward_storage_sqlite_unregister(const char *vfs_name);

#ifdef __cplusplus
}
#endif
#endif
