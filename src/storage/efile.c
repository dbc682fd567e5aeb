/* Encrypted files (docs/formats.md "Encrypted file"; docs/storage.md).
 *
 * On disk, a file NAME of the store is four files: NAME.wm0 / NAME.wm1, two alternating copies of
 * the metadata (header, leaf table, MAC), and NAME.wd0 / NAME.wd1, two slot files. Block i lives
 * at offset i * SLOT in one of the slot files; its leaf (nonce, tag, slot) is in the metadata.
 * A block written since the last commit goes to the slot that the last commit does not use
 * (copy-on-write), and a commit writes the metadata into the older copy, so a crash at any
 * point leaves the last commit whole. Nonces are (epoch, write counter): the epoch is raised and
 * committed before the first write of each session, so a nonce is never used twice under a
 * file's key, even for writes a crash lost. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "storage/storage_internal.h"
#include "ward/crypto.h"

#define BS WARD_EFILE_BLOCK
#define TRAILER 64u
#define SLOT (BS + TRAILER)
#define META_MAGIC "WEFM"
#define META_VERSION 1u
#define META_FIXED 58u
#define META_HDR_MAX (META_FIXED + WARD_EFILE_PATH_MAX + 32u)
#define MAX_BLOCKS (WARD_EFILE_MAX_SIZE / BS)
#define STAGE 64u /* slots per batched read or write */
#define PAR_MIN 64u   /* whole blocks in one read or write from which a second thread helps */
#define PAR_CHUNK 16u /* blocks the two threads take at a time */
#define PAR_WCHUNK 64u /* the same for writes: fewer, larger writes to the slot file */
#define PAR_RUN_MAX 4096u /* blocks of one write shared at a time */

/* leaf record: nonce 12, tag 16, flags 1, zero 3 */
#define LF_SLOT 0x01u
#define LF_ZERO 0x02u
/* per-block state in memory */
#define BS_CSLOT 0x01u /* slot of the committed copy */
#define BS_HAVE 0x02u  /* the last commit has a copy of this block on disk */
#define BS_DIRTY 0x04u /* changed since the last commit */

/* A helper thread for large reads: it and the caller take chunks of a run of whole blocks
 * until none is left, each with its own keyed AES-GCM context and trailer buffer. Created on
 * the first large read; both only read the file's state, which cannot change during a read.
 * A job is posted, then claimed by the helper or, if the helper has not claimed it by the time
 * the caller ran out of chunks (it was not scheduled), taken back: the caller never waits for
 * a helper that is not running. Between jobs the helper spins a little before it sleeps, so
 * that back-to-back reads do not pay a wake-up each. */
enum { W_IDLE, W_POSTED, W_RUNNING, W_DONE };
#define W_SPIN_NS 100000L

typedef struct efile_worker {
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    atomic_int state, sleeping, quit;
    pid_t pid; /* the process that created it (not used after a fork) */
    struct ward_efile *f;
    ward_aead *aead;
    uint8_t *stage; /* STAGE * SLOT */
    size_t first, count;
    uint8_t *out;
    /* a write job: blocks first.. from in, sealed with counters ctr0.. into slot file slot */
    int seal;
    size_t chunk; /* blocks taken at a time */
    const uint8_t *in;
    unsigned slot;
    uint64_t ctr0;
    atomic_size_t next; /* the next chunk to take, relative to first */
    ward_err err;       /* the worker's first error, at chunk err_at */
    size_t err_at;
    char msg[512];
} efile_worker;

struct ward_efile {
    ward_store *s;
    char path[WARD_EFILE_PATH_MAX + 1];
    char disk[2][4096]; /* NAME.wd0, NAME.wd1 */
    char meta[2][4096]; /* NAME.wm0, NAME.wm1 */
    int fd[2];
    int meta_present[2];
    unsigned flags;
    int broken;
    int changed;
    int data_dirty[2];
    uint8_t file_id[16];
    uint8_t mac_key[32];
    ward_aead *aead;
    uint64_t size;
    uint64_t version;
    uint32_t epoch;
    int epoch_ready;
    uint64_t wctr;
    uint8_t *leaves;   /* nblocks * ST_LEAF_LEN */
    uint8_t *bstate;   /* nblocks */
    size_t nblocks, cap;
    size_t committed_nblocks;
    st_merkle tree;
    size_t tree_n;
    int tree_valid;
    /* one-block plaintext cache (partial writes, small reads) */
    size_t pb_idx;
    int pb_valid, pb_dirty;
    uint8_t pb[BS];
    uint8_t *stage; /* STAGE * SLOT: ciphertext only, never plaintext */
    uint8_t tmp[BS];
    efile_worker *worker;
    int worker_failed;
    int volatile_; /* never committed: see st_efile_open_volatile */
};

static void worker_free(efile_worker *w);

/* ---- keys, names ------------------------------------------------------------------------- */

/* The block cipher context (*aead) and, when mac_key is not NULL, the metadata MAC key. */
static ward_err derive(const ward_efile *f, ward_aead **aead, uint8_t *mac_key)
{
    static const char label[] = "ward-efile-v1";
    uint8_t info[sizeof label - 1 + 16], k[64];
    memcpy(info, label, sizeof label - 1);
    memcpy(info + sizeof label - 1, f->file_id, 16);
    ward_err err = ward_hkdf(WARD_HASH_SHA256, st_store_id(f->s), 16, st_store_key(f->s), 32, info,
                             sizeof info, k, sizeof k);
    if (!err) {
        err = ward_aead_new(WARD_AEAD_AES_256_GCM, k, 32, aead);
        if (mac_key)
            memcpy(mac_key, k + 32, 32);
    }
    ward_wipe(k, sizeof k);
    return err;
}

static ward_err derive_keys(ward_efile *f)
{
    ward_aead_free(f->aead);
    f->aead = NULL;
    return derive(f, &f->aead, f->mac_key);
}

static ward_err counter_name(const ward_store *s, const char *path, char out[80])
{
    uint8_t h[32];
    ward_hash_ctx *c = NULL;
    ward_err err = ward_hash_new(WARD_HASH_SHA256, &c);
    if (!err)
        err = ward_hash_update(c, st_store_id(s), 16);
    if (!err)
        err = ward_hash_update(c, path, strlen(path));
    if (!err)
        err = ward_hash_final(c, h);
    ward_hash_free(c);
    if (err)
        return err;
    memcpy(out, "efile:", 6);
    for (size_t i = 0; i < 32; i++)
        snprintf(out + 6 + 2 * i, 3, "%02x", h[i]);
    return WARD_OK;
}

static ward_err names(const ward_store *s, const char *path, char disk[2][4096],
                      char meta[2][4096])
{
    static const char *ds[2] = {".wd0", ".wd1"}, *ms[2] = {".wm0", ".wm1"};
    for (int i = 0; i < 2; i++) {
        ward_err err = st_join(disk[i], 4096, st_store_dir(s), path, ds[i]);
        if (!err)
            err = st_join(meta[i], 4096, st_store_dir(s), path, ms[i]);
        if (err)
            return err;
    }
    return WARD_OK;
}

/* ---- block arrays ------------------------------------------------------------------------ */

static ward_err set_nblocks(ward_efile *f, size_t n)
{
    if (n > MAX_BLOCKS)
        return ward_err_set(WARD_ERR_OVERFLOW, "efile: more than %llu blocks",
                            (unsigned long long)MAX_BLOCKS);
    if (n > f->cap) {
        size_t nc = f->cap ? f->cap : 64;
        while (nc < n)
            nc *= 2;
        uint8_t *l = realloc(f->leaves, nc * ST_LEAF_LEN);
        if (l == NULL)
            return ward_err_set(WARD_ERR_NOMEM, "efile: out of memory");
        f->leaves = l;
        uint8_t *b = realloc(f->bstate, nc);
        if (b == NULL)
            return ward_err_set(WARD_ERR_NOMEM, "efile: out of memory");
        f->bstate = b;
        f->cap = nc;
    }
    for (size_t i = f->nblocks; i < n; i++) {
        memset(f->leaves + i * ST_LEAF_LEN, 0, ST_LEAF_LEN);
        f->leaves[i * ST_LEAF_LEN + 28] = LF_ZERO;
        /* a block regrown after a truncation keeps knowing where its committed copy is, so
         * that it is not overwritten before the truncation is committed */
        uint8_t keep = i < f->committed_nblocks ? (uint8_t)(f->bstate[i] & (BS_HAVE | BS_CSLOT))
                                                : 0;
        f->bstate[i] = (uint8_t)(keep | BS_DIRTY);
    }
    f->nblocks = n;
    return WARD_OK;
}

static size_t blocks_for(uint64_t size)
{
    return (size_t)(size / BS + (size % BS != 0));
}

/* ---- metadata ---------------------------------------------------------------------------- */

static size_t meta_hdr_len(size_t path_len)
{
    return META_FIXED + path_len + 32;
}

static ward_err meta_mac(const ward_efile *f, const uint8_t *hdr, size_t len, uint8_t out[32])
{
    return ward_hmac(WARD_HASH_SHA256, f->mac_key, sizeof f->mac_key, hdr, len, out);
}

/* Writes the current state as version f->version + 1 into the older copy; then binds the
 * counter. Does not touch per-block state. */
static ward_err write_meta(ward_efile *f, const uint8_t root[32])
{
    size_t pl = strlen(f->path), hl = meta_hdr_len(pl);
    size_t ll = f->nblocks * ST_LEAF_LEN, total = hl + ll + 32;
    uint8_t *b = malloc(total);
    if (b == NULL)
        return ward_err_set(WARD_ERR_NOMEM, "efile: out of memory");
    uint64_t v = f->version + 1;
    memcpy(b, META_MAGIC, 4);
    st_put16(b + 4, META_VERSION);
    st_put16(b + 6, 0);
    memcpy(b + 8, f->file_id, 16);
    st_put64(b + 24, v);
    st_put64(b + 32, f->size);
    st_put64(b + 40, (uint64_t)f->nblocks);
    st_put32(b + 48, f->epoch);
    st_put32(b + 52, 0);
    st_put16(b + 56, (uint16_t)pl);
    memcpy(b + META_FIXED, f->path, pl);
    memcpy(b + META_FIXED + pl, root, 32);
    if (ll)
        memcpy(b + hl, f->leaves, ll);
    ward_err err = meta_mac(f, b, hl, b + hl + ll);
    unsigned c = (unsigned)(v & 1u);
    if (!err && !f->meta_present[c]) {
        /* a new copy appears whole (temp, fsync, rename, directory fsync) */
        char name[WARD_EFILE_PATH_MAX + 8];
        snprintf(name, sizeof name, "%s.wm%u", f->path, c);
        err = st_write_atomic(st_store_dir(f->s), name, b, total);
        if (!err)
            f->meta_present[c] = 1;
    } else if (!err) {
        int fd = open(f->meta[c], O_WRONLY | O_CLOEXEC);
        if (fd < 0)
            err = ward_err_set(WARD_ERR_IO, "cannot open %s: %s", f->meta[c], strerror(errno));
        else {
            err = st_pwrite_all(fd, b, total, 0, f->meta[c]);
            if (!err && ftruncate(fd, (off_t)total) != 0)
                err = ward_err_set(WARD_ERR_IO, "%s: truncate failed: %s", f->meta[c],
                                   strerror(errno));
            if (!err)
                err = st_fdatasync(fd, f->meta[c]);
            close(fd);
        }
    }
    free(b);
    if (err)
        return err;
    f->version = v;
    ward_counters *ctr = st_store_counters(f->s);
    if (ctr) {
        char cn[80];
        err = counter_name(f->s, f->path, cn);
        if (!err)
            err = ward_counters_advance(ctr, cn, v);
    }
    return err;
}

/* Commits the in-memory state (the plaintext cache must have been flushed). */
static ward_err commit(ward_efile *f)
{
    ward_err err = WARD_OK;
    if (f->volatile_)
        return WARD_OK;
    for (int i = 0; i < 2 && !err; i++)
        if (f->data_dirty[i]) {
            err = st_fdatasync(f->fd[i], f->disk[i]);
            if (!err)
                f->data_dirty[i] = 0;
        }
    if (err)
        return err;
    if (!f->tree_valid || f->tree_n != f->nblocks) {
        err = st_merkle_resize(&f->tree, f->nblocks);
        if (err)
            return err;
        f->tree_n = f->nblocks;
        f->tree_valid = 1;
    }
    for (size_t i = 0; i < f->nblocks; i++)
        if (f->bstate[i] & BS_DIRTY)
            st_merkle_mark(&f->tree, i);
    uint8_t root[32];
    err = st_merkle_update(&f->tree, f->leaves, f->nblocks, root);
    if (!err)
        err = write_meta(f, root);
    if (err)
        return err;
    for (size_t i = 0; i < f->nblocks; i++) {
        uint8_t fl = f->leaves[i * ST_LEAF_LEN + 28];
        f->bstate[i] = (uint8_t)((fl & LF_ZERO) ? 0 : (BS_HAVE | (fl & LF_SLOT)));
    }
    if (f->nblocks < f->committed_nblocks) {
        for (int i = 0; i < 2; i++)
            if (f->fd[i] >= 0 && ftruncate(f->fd[i], (off_t)((uint64_t)f->nblocks * SLOT)) != 0)
                return ward_err_set(WARD_ERR_IO, "%s: truncate failed: %s", f->disk[i],
                                    strerror(errno));
    }
    f->committed_nblocks = f->nblocks;
    f->changed = 0;
    return WARD_OK;
}

static ward_err ensure_epoch(ward_efile *f)
{
    if (f->epoch_ready)
        return WARD_OK;
    if (f->epoch == UINT32_MAX)
        return ward_err_set(WARD_ERR_LIMIT, "efile %s: nonce epochs exhausted", f->path);
    f->epoch++;
    ward_err err = commit(f);
    if (err) {
        f->broken = 1;
        return err;
    }
    f->epoch_ready = 1;
    f->wctr = 0;
    return WARD_OK;
}

/* ---- blocks ------------------------------------------------------------------------------ */

static void block_aad(const ward_efile *f, size_t i, uint8_t aad[24])
{
    memcpy(aad, f->file_id, 16);
    st_put64(aad + 16, (uint64_t)i);
}

/* Encrypts plaintext block i into out (SLOT bytes) for slot, updating its leaf. */
static ward_err seal_at(ward_efile *f, ward_aead *aead, size_t i, const uint8_t *pt,
                        unsigned slot, uint8_t *out, uint64_t ctr)
{
    uint8_t nonce[12], aad[24], tag[16];
    st_put32(nonce, f->epoch);
    st_put64(nonce + 4, ctr);
    block_aad(f, i, aad);
    ward_err err = ward_aead_seal(aead, nonce, 12, aad, 24, pt, BS, out, tag);
    if (err)
        return err;
    uint8_t *t = out + BS;
    memcpy(t, f->file_id, 16);
    st_put64(t + 16, (uint64_t)i);
    memcpy(t + 24, nonce, 12);
    memcpy(t + 36, tag, 16);
    memset(t + 52, 0, TRAILER - 52);
    uint8_t *l = f->leaves + i * ST_LEAF_LEN;
    memcpy(l, nonce, 12);
    memcpy(l + 12, tag, 16);
    l[28] = (uint8_t)slot;
    l[29] = l[30] = l[31] = 0;
    f->bstate[i] |= BS_DIRTY;
    return WARD_OK;
}

static ward_err seal_block(ward_efile *f, size_t i, const uint8_t *pt, unsigned slot,
                           uint8_t *out)
{
    if (f->wctr == UINT64_MAX)
        return ward_err_set(WARD_ERR_LIMIT, "efile: write counter exhausted");
    return seal_at(f, f->aead, i, pt, slot, out, f->wctr++);
}

static unsigned write_slot(const ward_efile *f, size_t i)
{
    uint8_t st = f->bstate[i];
    return (st & BS_HAVE) ? 1u - (st & BS_CSLOT) : 0u;
}

/* Checks a slot read from disk (ciphertext ct, trailer t) against leaf i and decrypts it into
 * pt (BS bytes; may be ct itself). */
static ward_err open_block(const ward_efile *f, ward_aead *aead, size_t i, const uint8_t *ct,
                           const uint8_t *t, uint8_t *pt)
{
    const uint8_t *l = f->leaves + i * ST_LEAF_LEN;
    if (memcmp(t, f->file_id, 16) != 0)
        return ward_err_set(WARD_ERR_AUTH, "efile %s: block %zu belongs to another file", f->path,
                            i);
    uint64_t idx = st_get64(t + 16);
    if (idx != (uint64_t)i)
        return ward_err_set(WARD_ERR_AUTH,
                            "efile %s: block %zu holds block %llu (blocks swapped or moved)",
                            f->path, i, (unsigned long long)idx);
    if (!ward_ct_equal(t + 24, l, 28))
        return ward_err_set(WARD_ERR_AUTH,
                            "efile %s: block %zu does not match the Merkle tree (a stale copy "
                            "or modified)", f->path, i);
    uint8_t aad[24];
    block_aad(f, i, aad);
    ward_err err = ward_aead_open(aead, l, 12, aad, 24, ct, BS, l + 12, pt);
    if (err)
        return ward_err_set(WARD_ERR_AUTH,
                            "efile %s: block %zu is modified (authentication tag does not "
                            "verify)", f->path, i);
    return WARD_OK;
}

/* Reads the slots of blocks i .. i+count-1 (count <= STAGE, all in the slot file of block i):
 * the ciphertexts straight into ct (count * BS bytes: the caller's buffer, decrypted in place
 * afterwards, so the page cache is copied once), the trailers into tr (count * TRAILER). */
static ward_err read_slots(const ward_efile *f, size_t i, size_t count, uint8_t *ct, uint8_t *tr)
{
    unsigned slot = f->leaves[i * ST_LEAF_LEN + 28] & LF_SLOT;
    size_t want = count * SLOT, got = 0;
    if (f->fd[slot] < 0)
        return ward_err_set(WARD_ERR_TRUNCATED, "efile %s: block %zu is missing (no data file)",
                            f->path, i);
    struct iovec iov[2 * STAGE];
    for (size_t r = 0; r < count; r++) {
        iov[2 * r].iov_base = ct + r * BS;
        iov[2 * r].iov_len = BS;
        iov[2 * r + 1].iov_base = tr + r * TRAILER;
        iov[2 * r + 1].iov_len = TRAILER;
    }
    ward_err err = st_preadv_all(f->fd[slot], iov, (int)(2 * count), (uint64_t)i * SLOT, &got,
                                 f->disk[slot]);
    if (err)
        return err;
    if (got < want)
        return ward_err_set(WARD_ERR_TRUNCATED,
                            "efile %s: block %zu is missing (data file truncated)", f->path,
                            i + got / SLOT);
    return WARD_OK;
}

/* Plaintext of block i into pt. */
static ward_err load_block(ward_efile *f, size_t i, uint8_t *pt)
{
    if (f->pb_valid && f->pb_idx == i) {
        memcpy(pt, f->pb, BS);
        return WARD_OK;
    }
    if (f->leaves[i * ST_LEAF_LEN + 28] & LF_ZERO) {
        memset(pt, 0, BS);
        return WARD_OK;
    }
    ward_err err = read_slots(f, i, 1, pt, f->stage);
    if (!err)
        err = open_block(f, f->aead, i, pt, f->stage, pt);
    if (err)
        ward_wipe(pt, BS);
    return err;
}

/* Staged writes: consecutive blocks of the same slot file go out in one pwrite. */
typedef struct stager {
    size_t first, count;
    unsigned slot;
} stager;

static ward_err stage_flush(ward_efile *f, stager *st)
{
    if (st->count == 0)
        return WARD_OK;
    ward_err err = st_pwrite_all(f->fd[st->slot], f->stage, st->count * SLOT,
                                 (uint64_t)st->first * SLOT, f->disk[st->slot]);
    if (err)
        f->broken = 1;
    else
        f->data_dirty[st->slot] = 1;
    st->count = 0;
    return err;
}

static ward_err stage_block(ward_efile *f, stager *st, size_t i, const uint8_t *pt)
{
    unsigned slot = write_slot(f, i);
    if (f->fd[slot] < 0)
        return ward_err_set(WARD_ERR_IO, "efile %s: data file missing", f->path);
    if (st->count && (st->slot != slot || st->first + st->count != i || st->count == STAGE)) {
        ward_err err = stage_flush(f, st);
        if (err)
            return err;
    }
    if (st->count == 0) {
        st->first = i;
        st->slot = slot;
    }
    ward_err err = seal_block(f, i, pt, slot, f->stage + st->count * SLOT);
    if (err) {
        f->broken = 1;
        return err;
    }
    st->count++;
    return WARD_OK;
}

static ward_err pb_flush(ward_efile *f)
{
    if (!f->pb_valid || !f->pb_dirty)
        return WARD_OK;
    stager st = {0, 0, 0};
    ward_err err = stage_block(f, &st, f->pb_idx, f->pb);
    if (!err)
        err = stage_flush(f, &st);
    if (!err)
        f->pb_dirty = 0;
    return err;
}

static void pb_drop(ward_efile *f)
{
    ward_wipe(f->pb, BS);
    f->pb_valid = f->pb_dirty = 0;
}

static ward_err pb_load(ward_efile *f, size_t i)
{
    if (f->pb_valid && f->pb_idx == i)
        return WARD_OK;
    ward_err err = pb_flush(f);
    if (err)
        return err;
    pb_drop(f);
    err = load_block(f, i, f->pb);
    if (err)
        return err;
    f->pb_idx = i;
    f->pb_valid = 1;
    return WARD_OK;
}

/* ---- open / close ------------------------------------------------------------------------ */

static ward_err reason(ward_err err, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s", ward_errmsg());
    return err;
}

/* Loads and verifies one metadata copy into f (on success f holds its state). */
static ward_err load_meta(ward_efile *f, const char *mpath, uint64_t *claimed)
{
    int fd = open(mpath, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? ward_err_set(WARD_ERR_NOT_FOUND, "%s absent", mpath)
                               : ward_err_set(WARD_ERR_IO, "cannot open %s: %s", mpath,
                                              strerror(errno));
    uint8_t h[META_HDR_MAX];
    size_t got = 0;
    struct stat sb;
    ward_err err = st_pread_all(fd, h, sizeof h, 0, &got, mpath);
    if (!err && fstat(fd, &sb) != 0)
        err = ward_err_set(WARD_ERR_IO, "%s: stat failed", mpath);
    if (err)
        goto out;
    if (got < META_FIXED) {
        err = ward_err_set(WARD_ERR_TRUNCATED, "efile %s: metadata truncated (%zu bytes)",
                           f->path, got);
        goto out;
    }
    if (memcmp(h, META_MAGIC, 4) != 0) {
        err = ward_err_set(WARD_ERR_FORMAT, "efile %s: not an encrypted file (bad magic)",
                           f->path);
        goto out;
    }
    if (st_get16(h + 4) != META_VERSION) {
        err = ward_err_set(WARD_ERR_UNSUPPORTED, "efile %s: format version %u unsupported",
                           f->path, st_get16(h + 4));
        goto out;
    }
    *claimed = st_get64(h + 24);
    size_t pl = st_get16(h + 56);
    uint64_t size = st_get64(h + 32), nb = st_get64(h + 40);
    if (st_get16(h + 6) != 0 || st_get32(h + 52) != 0 || pl == 0 || pl > WARD_EFILE_PATH_MAX ||
        size > WARD_EFILE_MAX_SIZE || nb != (uint64_t)blocks_for(size)) {
        err = ward_err_set(WARD_ERR_FORMAT, "efile %s: malformed header", f->path);
        goto out;
    }
    size_t hl = meta_hdr_len(pl), ll = (size_t)nb * ST_LEAF_LEN;
    if ((uint64_t)sb.st_size != (uint64_t)(hl + ll + 32)) {
        err = ward_err_set((uint64_t)sb.st_size < (uint64_t)(hl + ll + 32) ? WARD_ERR_TRUNCATED
                                                                        : WARD_ERR_FORMAT,
                           "efile %s: metadata is %lld bytes, its header says %zu (truncated or "
                           "extended)", f->path, (long long)sb.st_size, hl + ll + 32);
        goto out;
    }
    if (pl != strlen(f->path) || memcmp(h + META_FIXED, f->path, pl) != 0) {
        err = ward_err_set(WARD_ERR_AUTH, "efile %s: the file is bound to the name '%.*s' "
                                          "(renamed or moved)", f->path, (int)pl,
                           (const char *)(h + META_FIXED));
        goto out;
    }
    memcpy(f->file_id, h + 8, 16);
    err = derive_keys(f);
    if (err)
        goto out;
    uint8_t mac[32], want[32];
    err = st_pread_all(fd, mac, 32, hl + ll, &got, mpath);
    if (!err && got != 32)
        err = ward_err_set(WARD_ERR_TRUNCATED, "efile %s: metadata truncated", f->path);
    if (!err)
        err = meta_mac(f, h, hl, want);
    if (err)
        goto out;
    if (!ward_ct_equal(mac, want, 32)) {
        err = ward_err_set(WARD_ERR_AUTH,
                           "efile %s: header MAC does not verify: written under another key "
                           "(another TA or store) or modified", f->path);
        goto out;
    }
    f->nblocks = 0;
    err = set_nblocks(f, (size_t)nb);
    if (!err && ll)
        err = st_pread_all(fd, f->leaves, ll, hl, &got, mpath);
    if (!err && got != ll && ll)
        err = ward_err_set(WARD_ERR_TRUNCATED, "efile %s: leaf table truncated", f->path);
    if (err)
        goto out;
    uint8_t root[32];
    err = st_merkle_build(&f->tree, f->leaves, f->nblocks, root);
    if (err)
        goto out;
    if (!ward_ct_equal(root, h + META_FIXED + pl, 32)) {
        err = ward_err_set(WARD_ERR_AUTH,
                           "efile %s: leaf table does not match the Merkle root (modified)",
                           f->path);
        goto out;
    }
    for (size_t i = 0; i < f->nblocks; i++) {
        const uint8_t *l = f->leaves + i * ST_LEAF_LEN;
        if ((l[28] & ~(LF_SLOT | LF_ZERO)) || l[29] || l[30] || l[31]) {
            err = ward_err_set(WARD_ERR_FORMAT, "efile %s: bad leaf %zu", f->path, i);
            goto out;
        }
        f->bstate[i] = (uint8_t)((l[28] & LF_ZERO) ? 0 : (BS_HAVE | (l[28] & LF_SLOT)));
    }
    f->tree_n = f->nblocks;
    f->tree_valid = 1;
    f->committed_nblocks = f->nblocks;
    f->size = size;
    f->version = *claimed;
    f->epoch = st_get32(h + 48);
out:
    close(fd);
    return err;
}

static void efile_free(ward_efile *f)
{
    for (int i = 0; i < 2; i++)
        if (f->fd[i] >= 0)
            close(f->fd[i]);
    worker_free(f->worker);
    ward_aead_free(f->aead);
    st_merkle_free(&f->tree);
    if (f->leaves)
        ward_wipe(f->leaves, f->cap * ST_LEAF_LEN);
    free(f->leaves);
    free(f->bstate);
    free(f->stage); /* ciphertext only: nothing to wipe */
    ward_wipe(f, sizeof *f);
    free(f);
}

/* The version a metadata copy claims (unauthenticated; only orders the attempts). */
static int peek_version(const char *mpath, uint64_t *v)
{
    int fd = open(mpath, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    uint8_t h[32];
    size_t got = 0;
    ward_err err = st_pread_all(fd, h, sizeof h, 0, &got, mpath);
    close(fd);
    *v = (!err && got == sizeof h) ? st_get64(h + 24) : 0;
    return 1;
}

static ward_err open_existing(ward_efile *f, uint64_t counter)
{
    /* Newest claim first; the other copy is the previous commit (used after a torn commit). */
    uint64_t v[2] = {0, 0};
    for (int c = 0; c < 2; c++)
        f->meta_present[c] = peek_version(f->meta[c], &v[c]);
    int order[2] = {0, 1};
    if (!f->meta_present[0] || (f->meta_present[1] && v[1] > v[0])) {
        order[0] = 1;
        order[1] = 0;
    }
    ward_err first = WARD_OK;
    char why[512] = "";
    int ok = 0;
    for (int k = 0; k < 2 && !ok; k++) {
        int c = order[k];
        if (!f->meta_present[c])
            continue;
        uint64_t claimed = 0;
        ward_err e = load_meta(f, f->meta[c], &claimed);
        if (e == WARD_OK)
            ok = 1;
        else if (!first)
            first = reason(e, why, sizeof why);
    }
    if (!ok)
        return ward_err_set(first ? first : WARD_ERR_NOT_FOUND, "%s", why);
    if (f->version < counter)
        return ward_err_set(WARD_ERR_VERIFY,
                            "efile %s: rollback: file version %llu is older than the counter "
                            "%llu", f->path, (unsigned long long)f->version,
                            (unsigned long long)counter);
    if (f->version > counter && st_store_counters(f->s) && !(f->flags & WARD_EFILE_RDONLY)) {
        /* a crash between a commit and its counter update: bind the counter now */
        char cn[80];
        ward_err e = counter_name(f->s, f->path, cn);
        if (!e)
            e = ward_counters_advance(st_store_counters(f->s), cn, f->version);
        if (e)
            return e;
    }
    return WARD_OK;
}

ward_err ward_efile_open(ward_store *s, const char *path, unsigned flags, ward_efile **out)
{
    if (s == NULL || out == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "efile: NULL argument");
    *out = NULL;
    ward_err err = st_check_path(path);
    if (err)
        return err;
    if (flags & ~(WARD_EFILE_CREATE | WARD_EFILE_EXCL | WARD_EFILE_TRUNCATE | WARD_EFILE_RDONLY))
        return ward_err_set(WARD_ERR_INVALID_ARG, "efile: unknown flags 0x%x", flags);
    if ((flags & WARD_EFILE_RDONLY) && (flags & (WARD_EFILE_CREATE | WARD_EFILE_TRUNCATE)))
        return ward_err_set(WARD_ERR_INVALID_ARG, "efile: read-only with create or truncate");
    ward_efile *f = calloc(1, sizeof *f);
    if (f == NULL)
        return ward_err_set(WARD_ERR_NOMEM, "efile: out of memory");
    f->fd[0] = f->fd[1] = -1;
    f->s = s;
    f->flags = flags;
    memcpy(f->path, path, strlen(path) + 1);
    st_merkle_init(&f->tree);
    f->stage = malloc(STAGE * SLOT);
    if (f->stage == NULL) {
        efile_free(f);
        return ward_err_set(WARD_ERR_NOMEM, "efile: out of memory");
    }
    uint64_t counter = 0;
    char cn[80];
    err = names(s, path, f->disk, f->meta);
    if (!err && st_store_counters(s)) {
        err = counter_name(s, path, cn);
        if (!err)
            err = ward_counters_get(st_store_counters(s), cn, &counter);
    }
    int exists = 0;
    if (!err) {
        for (int c = 0; c < 2; c++)
            exists |= access(f->meta[c], F_OK) == 0;
        if (exists && (flags & WARD_EFILE_CREATE) && (flags & WARD_EFILE_EXCL))
            err = ward_err_set(WARD_ERR_EXISTS, "efile %s exists", path);
        else if (!exists && !(flags & WARD_EFILE_CREATE))
            err = counter ? ward_err_set(WARD_ERR_NOT_FOUND,
                                         "efile %s does not exist, but its counter says version "
                                         "%llu was written (deleted?)", path,
                                         (unsigned long long)counter)
                          : ward_err_set(WARD_ERR_NOT_FOUND, "efile %s does not exist", path);
    }
    int ro = (flags & WARD_EFILE_RDONLY) != 0;
    if (!err) {
        for (int i = 0; i < 2; i++) {
            f->fd[i] = open(f->disk[i], (ro ? O_RDONLY : O_RDWR | O_CREAT) | O_CLOEXEC, 0600);
            if (f->fd[i] < 0 && !(ro && errno == ENOENT)) {
                err = ward_err_set(WARD_ERR_IO, "cannot open %s: %s", f->disk[i],
                                   strerror(errno));
                break;
            }
        }
    }
    if (!err && exists) {
        err = open_existing(f, counter);
    } else if (!err) {
        /* a new file: its version starts past any counter a deleted namesake left */
        err = ward_random(f->file_id, 16);
        if (!err)
            err = derive_keys(f);
        f->version = counter;
        f->epoch = 1;
        if (!err)
            err = commit(f);
        f->epoch_ready = 1;
    }
    if (!err && (flags & WARD_EFILE_TRUNCATE) && f->size)
        err = ward_efile_truncate(f, 0);
    if (err) {
        efile_free(f);
        return err;
    }
    *out = f;
    return WARD_OK;
}

ward_err ward_efile_close(ward_efile *f)
{
    if (f == NULL)
        return WARD_OK;
    ward_err err = WARD_OK;
    if (f->volatile_) {
        /* its blocks are useless without the keys and leaves that die with f */
        (void)unlink(f->disk[0]);
    } else if (!f->broken && !(f->flags & WARD_EFILE_RDONLY)) {
        err = ward_efile_sync(f);
    }
    efile_free(f);
    return err;
}

ward_err st_efile_open_volatile(ward_store *s, const char *path, ward_efile **out)
{
    if (s == NULL || out == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "efile: NULL argument");
    *out = NULL;
    ward_err err = st_check_path(path);
    if (err)
        return err;
    ward_efile *f = calloc(1, sizeof *f);
    if (f == NULL)
        return ward_err_set(WARD_ERR_NOMEM, "efile: out of memory");
    f->fd[0] = f->fd[1] = -1;
    f->s = s;
    f->volatile_ = 1;
    memcpy(f->path, path, strlen(path) + 1);
    st_merkle_init(&f->tree);
    f->stage = malloc(STAGE * SLOT);
    if (f->stage == NULL)
        err = ward_err_set(WARD_ERR_NOMEM, "efile: out of memory");
    /* one slot file, NAME.wv: never committed, every block stays in slot 0 */
    if (!err)
        err = st_join(f->disk[0], sizeof f->disk[0], st_store_dir(s), path, ".wv");
    if (!err) {
        f->fd[0] = open(f->disk[0], O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (f->fd[0] < 0)
            err = ward_err_set(WARD_ERR_IO, "cannot create %s: %s", f->disk[0],
                               strerror(errno));
    }
    /* fresh keys per open: nonces (epoch 1, counter) never repeat under them */
    if (!err)
        err = ward_random(f->file_id, 16);
    if (!err)
        err = derive_keys(f);
    if (err) {
        if (f->fd[0] >= 0)
            (void)unlink(f->disk[0]);
        efile_free(f);
        return err;
    }
    f->epoch = 1;
    f->epoch_ready = 1;
    *out = f;
    return WARD_OK;
}

int st_efile_pending(const ward_efile *f)
{
    return f != NULL && !f->volatile_ && (f->changed || (f->pb_valid && f->pb_dirty));
}

ward_err st_efile_close_discard(ward_efile *f)
{
    if (f == NULL)
        return WARD_OK;
    f->broken = 1; /* close then leaves the file as at its last commit */
    return ward_efile_close(f);
}

/* ---- I/O --------------------------------------------------------------------------------- */

static ward_err check_live(const ward_efile *f, int write)
{
    if (f == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "efile: NULL file");
    if (f->broken)
        return ward_err_set(WARD_ERR_STATE, "efile %s: an earlier write failed; reopen it",
                            f->path);
    if (write && (f->flags & WARD_EFILE_RDONLY))
        return ward_err_set(WARD_ERR_PERMISSION, "efile %s is open read-only", f->path);
    return WARD_OK;
}

/* Whole blocks first .. first+count-1 into out (count * BS bytes), with the given cipher
 * context and staging buffer: runs of blocks in the same slot file are read at once. Only reads
 * the file's state (safe in the worker while the caller does another range). */
static ward_err read_blocks(const ward_efile *f, ward_aead *aead, uint8_t *stage, size_t first,
                            size_t count, uint8_t *out)
{
    size_t j = 0;
    while (j < count) {
        size_t i = first + j;
        uint8_t fl = f->leaves[i * ST_LEAF_LEN + 28];
        if (f->pb_valid && f->pb_idx == i) {
            memcpy(out + j * BS, f->pb, BS);
            j++;
            continue;
        }
        if (fl & LF_ZERO) {
            memset(out + j * BS, 0, BS);
            j++;
            continue;
        }
        size_t run = 1;
        while (run < STAGE && j + run < count) {
            uint8_t g = f->leaves[(i + run) * ST_LEAF_LEN + 28];
            if ((g & LF_ZERO) || (g & LF_SLOT) != (fl & LF_SLOT) ||
                (f->pb_valid && f->pb_idx == i + run))
                break;
            run++;
        }
        uint8_t *o = out + j * BS;
        ward_err err = read_slots(f, i, run, o, stage);
        for (size_t r = 0; r < run && !err; r++)
            err = open_block(f, aead, i + r, o + r * BS, stage + r * TRAILER, o + r * BS);
        if (err)
            return err;
        j += run;
    }
    return WARD_OK;
}

/* Seals blocks c..c+k-1 of a write job into stage and writes them to their slot file. */
static ward_err seal_chunk(efile_worker *w, ward_aead *aead, uint8_t *stage, size_t c, size_t k)
{
    ward_efile *f = w->f;
    for (size_t r = 0; r < k; r++) {
        ward_err err = seal_at(f, aead, w->first + c + r, w->in + (c + r) * BS, w->slot,
                               stage + r * SLOT, w->ctr0 + c + r);
        if (err)
            return err;
    }
    return st_pwrite_all(f->fd[w->slot], stage, k * SLOT, (uint64_t)(w->first + c) * SLOT,
                         f->disk[w->slot]);
}

/* Takes chunks of the current job until none is left; on an error stops both threads and
 * reports the failing chunk in *at. */
static ward_err take_chunks(efile_worker *w, ward_aead *aead, uint8_t *stage, size_t *at)
{
    for (;;) {
        size_t c = atomic_fetch_add(&w->next, w->chunk);
        if (c >= w->count)
            return WARD_OK;
        size_t k = w->count - c < w->chunk ? w->count - c : w->chunk;
        ward_err err = w->seal ? seal_chunk(w, aead, stage, c, k)
                               : read_blocks(w->f, aead, stage, w->first + c, k, w->out + c * BS);
        if (err) {
            atomic_store(&w->next, w->count);
            *at = c;
            return err;
        }
    }
}

static long elapsed_ns(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long)(t.tv_sec - t0->tv_sec) * 1000000000L + (t.tv_nsec - t0->tv_nsec);
}

/* Waits for a posted job (spinning first), claims it; 0 when told to quit. */
static int worker_claim(efile_worker *w)
{
    for (;;) {
        struct timespec t0;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (unsigned k = 0; !atomic_load(&w->quit); k++) {
            int st = W_POSTED;
            if (atomic_load(&w->state) == W_POSTED &&
                atomic_compare_exchange_strong(&w->state, &st, W_RUNNING))
                return 1;
            if ((k & 255u) == 255u && elapsed_ns(&t0) > W_SPIN_NS)
                break;
        }
        pthread_mutex_lock(&w->mu);
        atomic_store(&w->sleeping, 1);
        while (atomic_load(&w->state) != W_POSTED && !atomic_load(&w->quit))
            pthread_cond_wait(&w->cv, &w->mu);
        atomic_store(&w->sleeping, 0);
        pthread_mutex_unlock(&w->mu);
        if (atomic_load(&w->quit))
            return 0;
    }
}

static void *worker_main(void *arg)
{
    efile_worker *w = arg;
    while (worker_claim(w)) {
        size_t at = 0;
        ward_err err = take_chunks(w, w->aead, w->stage, &at);
        w->err = err;
        w->err_at = at;
        if (err)
            snprintf(w->msg, sizeof w->msg, "%s", ward_errmsg());
        atomic_store(&w->state, W_DONE);
    }
    return NULL;
}

static void worker_wake(efile_worker *w)
{
    if (atomic_load(&w->sleeping)) {
        pthread_mutex_lock(&w->mu);
        pthread_cond_broadcast(&w->cv);
        pthread_mutex_unlock(&w->mu);
    }
}

static void worker_free(efile_worker *w)
{
    if (w == NULL)
        return;
    if (w->pid == getpid()) {
        atomic_store(&w->quit, 1);
        pthread_mutex_lock(&w->mu);
        pthread_cond_broadcast(&w->cv);
        pthread_mutex_unlock(&w->mu);
        pthread_join(w->th, NULL);
        pthread_cond_destroy(&w->cv);
        pthread_mutex_destroy(&w->mu);
    } /* after a fork the thread does not exist in this process: only the memory is freed */
    ward_aead_free(w->aead);
    free(w->stage);
    ward_wipe(w, sizeof *w);
    free(w);
}

/* The helper thread of f, started on first use; NULL when there is none (one CPU, no memory,
 * no thread, or a forked child of the process that started it). */
static efile_worker *worker_get(ward_efile *f)
{
    if (f->worker)
        return f->worker->pid == getpid() ? f->worker : NULL;
    if (f->worker_failed)
        return NULL;
    f->worker_failed = 1;
    if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
        return NULL;
    efile_worker *w = calloc(1, sizeof *w);
    if (w == NULL)
        return NULL;
    w->f = f;
    w->pid = getpid();
    w->stage = malloc(STAGE * SLOT);
    if (w->stage == NULL || derive(f, &w->aead, NULL) != WARD_OK) {
        ward_aead_free(w->aead);
        free(w->stage);
        free(w);
        return NULL;
    }
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    if (pthread_create(&w->th, NULL, worker_main, w) != 0) {
        pthread_cond_destroy(&w->cv);
        pthread_mutex_destroy(&w->mu);
        ward_aead_free(w->aead);
        free(w->stage);
        free(w);
        return NULL;
    }
    f->worker = w;
    f->worker_failed = 0;
    return w;
}

/* count whole blocks from first into out: a large span is shared with the helper thread, both
 * taking chunks of PAR_CHUNK blocks. Of two errors, the one at the lower chunk is reported.
 * Returns only once the helper is done with out. */
/* Runs the job set up in w on both threads; returns once the helper is done with it. */
static ward_err run_job(ward_efile *f, efile_worker *w)
{
    atomic_store(&w->next, 0);
    w->err = WARD_OK;
    atomic_store(&w->state, W_POSTED);
    worker_wake(w);
    size_t at = 0;
    ward_err err = take_chunks(w, f->aead, f->stage, &at);
    int st = W_POSTED;
    if (atomic_compare_exchange_strong(&w->state, &st, W_IDLE))
        return err; /* never claimed: the helper will not touch out */
    for (unsigned k = 0; atomic_load(&w->state) != W_DONE; k++)
        if (k > 1000)
            sched_yield();
    atomic_store(&w->state, W_IDLE);
    ward_err werr = w->err;
    size_t wat = w->err_at;
    if (werr && (!err || wat < at))
        return ward_err_set(werr, "%s", w->msg);
    return err;
}

static ward_err read_span(ward_efile *f, size_t first, size_t count, uint8_t *out)
{
    efile_worker *w = count >= PAR_MIN ? worker_get(f) : NULL;
    if (w == NULL)
        return read_blocks(f, f->aead, f->stage, first, count, out);
    w->seal = 0;
    w->chunk = PAR_CHUNK;
    w->first = first;
    w->count = count;
    w->out = out;
    return run_job(f, w);
}

/* count (>= PAR_MIN) whole blocks from first, all written to slot file slot, sealed and
 * written by both threads; 0 blocks done (*done 0) when there is no helper. */
static ward_err write_span(ward_efile *f, size_t first, size_t count, const uint8_t *in,
                           unsigned slot, int *done)
{
    *done = 0;
    efile_worker *w = worker_get(f);
    if (w == NULL)
        return WARD_OK;
    if (f->wctr > UINT64_MAX - count)
        return ward_err_set(WARD_ERR_LIMIT, "efile: write counter exhausted");
    w->seal = 1;
    w->chunk = PAR_WCHUNK;
    w->first = first;
    w->count = count;
    w->in = in;
    w->slot = slot;
    w->ctr0 = f->wctr;
    f->wctr += count; /* spent even on failure: a nonce is never reused */
    *done = 1;
    ward_err err = run_job(f, w);
    if (!err)
        f->data_dirty[slot] = 1;
    return err;
}

ward_err ward_efile_read(ward_efile *f, uint64_t off, void *buf, size_t len, size_t *got)
{
    ward_err err = check_live(f, 0);
    if (err)
        return err;
    if ((buf == NULL && len) || got == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "efile: NULL argument");
    *got = 0;
    if (off >= f->size || len == 0)
        return WARD_OK;
    uint64_t avail = f->size - off;
    size_t n = avail < (uint64_t)len ? (size_t)avail : len;
    uint8_t *out = buf;
    size_t done = 0;
    while (done < n) {
        uint64_t pos = off + done;
        size_t i = (size_t)(pos / BS), bo = (size_t)(pos % BS);
        size_t k = BS - bo < n - done ? BS - bo : n - done;
        if (bo != 0 || k != BS) {
            err = load_block(f, i, f->tmp);
            if (!err)
                memcpy(out + done, f->tmp + bo, k);
            ward_wipe(f->tmp, BS);
            if (err)
                break;
            done += k;
            continue;
        }
        size_t whole = (n - done) / BS;
        err = read_span(f, i, whole, out + done);
        if (err)
            break;
        done += whole * BS;
    }
    if (err) {
        ward_wipe(buf, len); /* nothing from a bad block, nor around it */
        return err;
    }
    *got = n;
    return WARD_OK;
}

ward_err ward_efile_write(ward_efile *f, uint64_t off, const void *buf, size_t len)
{
    ward_err err = check_live(f, 1);
    if (err)
        return err;
    if (buf == NULL && len)
        return ward_err_set(WARD_ERR_INVALID_ARG, "efile: NULL buffer");
    if (off > WARD_EFILE_MAX_SIZE || len > WARD_EFILE_MAX_SIZE - off)
        return ward_err_set(WARD_ERR_OVERFLOW, "efile %s: a file holds at most %llu bytes",
                            f->path, (unsigned long long)WARD_EFILE_MAX_SIZE);
    if (len == 0)
        return WARD_OK;
    err = ensure_epoch(f);
    if (err)
        return err;
    uint64_t end = off + len;
    if (blocks_for(end) > f->nblocks) {
        err = set_nblocks(f, blocks_for(end));
        if (err)
            return err;
    }
    f->changed = 1;
    const uint8_t *in = buf;
    size_t done = 0;
    stager st = {0, 0, 0};
    while (done < len && !err) {
        uint64_t pos = off + done;
        size_t i = (size_t)(pos / BS), bo = (size_t)(pos % BS);
        size_t k = BS - bo < len - done ? BS - bo : len - done;
        size_t run = 0, whole = (len - done) / BS;
        if (k == BS && whole >= PAR_MIN && worker_get(f) != NULL) {
            unsigned slot = write_slot(f, i);
            while (run < whole && run < PAR_RUN_MAX && write_slot(f, i + run) == slot)
                run++;
            if (run >= PAR_MIN && f->fd[slot] >= 0) {
                int par = 0;
                err = stage_flush(f, &st);
                if (!err && f->pb_valid && f->pb_idx >= i && f->pb_idx < i + run)
                    pb_drop(f);
                if (!err)
                    err = write_span(f, i, run, in + done, slot, &par);
                if (par || err) {
                    done += run * BS;
                    continue;
                }
            }
        }
        if (k == BS) {
            if (f->pb_valid && f->pb_idx == i)
                pb_drop(f);
            err = stage_block(f, &st, i, in + done);
        } else {
            err = stage_flush(f, &st);
            if (!err)
                err = pb_load(f, i);
            if (!err) {
                memcpy(f->pb + bo, in + done, k);
                f->pb_dirty = 1;
                f->bstate[i] |= BS_DIRTY;
            }
        }
        done += k;
    }
    if (!err)
        err = stage_flush(f, &st);
    if (err) {
        f->broken = 1;
        return err;
    }
    if (end > f->size)
        f->size = end;
    return WARD_OK;
}

ward_err ward_efile_append(ward_efile *f, const void *buf, size_t len)
{
    ward_err err = check_live(f, 1);
    if (err)
        return err;
    return ward_efile_write(f, f->size, buf, len);
}

ward_err ward_efile_truncate(ward_efile *f, uint64_t size)
{
    ward_err err = check_live(f, 1);
    if (err)
        return err;
    if (size > WARD_EFILE_MAX_SIZE)
        return ward_err_set(WARD_ERR_OVERFLOW, "efile %s: size too large", f->path);
    if (size == f->size)
        return WARD_OK;
    err = ensure_epoch(f);
    if (err)
        return err;
    f->changed = 1;
    size_t nb = blocks_for(size);
    if (size < f->size) {
        if (f->pb_valid && f->pb_idx >= nb)
            pb_drop(f);
        if (size % BS) {
            /* keep the invariant: bytes past the end of the last block are zero */
            err = pb_load(f, nb - 1);
            if (err)
                return err;
            memset(f->pb + size % BS, 0, BS - size % BS);
            f->pb_dirty = 1;
            f->bstate[nb - 1] |= BS_DIRTY;
        }
        f->nblocks = nb;
    } else {
        err = set_nblocks(f, nb);
        if (err)
            return err;
    }
    f->size = size;
    return WARD_OK;
}

ward_err ward_efile_sync(ward_efile *f)
{
    ward_err err = check_live(f, 0);
    if (err || (f->flags & WARD_EFILE_RDONLY) || f->volatile_)
        return err;
    err = pb_flush(f);
    if (!err && f->changed)
        err = commit(f);
    if (err)
        f->broken = 1;
    return err;
}

uint64_t ward_efile_size(const ward_efile *f)
{
    return f ? f->size : 0;
}

uint64_t ward_efile_version(const ward_efile *f)
{
    return f ? f->version : 0;
}

ward_err ward_efile_exists(ward_store *s, const char *path, int *exists)
{
    if (s == NULL || exists == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "efile: NULL argument");
    ward_err err = st_check_path(path);
    char d[2][4096], m[2][4096];
    if (!err)
        err = names(s, path, d, m);
    if (err)
        return err;
    *exists = access(m[0], F_OK) == 0 || access(m[1], F_OK) == 0;
    return WARD_OK;
}

ward_err ward_efile_remove(ward_store *s, const char *path)
{
    if (s == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "efile: NULL argument");
    ward_err err = st_check_path(path);
    char d[2][4096], m[2][4096];
    if (!err)
        err = names(s, path, d, m);
    if (err)
        return err;
    /* Metadata first (without it the blocks are unreadable), the older copy first and
     * durably, so that a crash in between leaves the newest version or nothing. */
    uint64_t v[2] = {0, 0};
    int present[2];
    for (int i = 0; i < 2; i++)
        present[i] = peek_version(m[i], &v[i]);
    if (!present[0] && !present[1])
        return ward_err_set(WARD_ERR_NOT_FOUND, "efile %s does not exist", path);
    int older = (present[0] && present[1]) ? (v[0] < v[1] ? 0 : 1) : (present[0] ? 0 : 1);
    int order[2] = {older, 1 - older};
    for (int k = 0; k < 2; k++) {
        int i = order[k];
        if (!present[i])
            continue;
        if (unlink(m[i]) != 0 && errno != ENOENT)
            return ward_err_set(WARD_ERR_IO, "cannot remove %s: %s", m[i], strerror(errno));
        if (k == 0 && present[1 - i] && (err = st_fsync_dir(st_store_dir(s))) != WARD_OK)
            return err;
    }
    for (int i = 0; i < 2; i++)
        if (unlink(d[i]) != 0 && errno != ENOENT)
            return ward_err_set(WARD_ERR_IO, "cannot remove %s: %s", d[i], strerror(errno));
    return st_fsync_dir(st_store_dir(s));
}
