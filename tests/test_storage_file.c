/* Encrypted files: random operations against a plain model, reopen, and every kind of bad
 * input (flipped bit, swapped blocks, a block of another file, a stale block, truncation,
 * rollback, another key, a renamed file), each failing with its reason and nothing returned. */
#include "testutil.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ward/crypto.h"
#include "ward/storage.h"

#define SLOT 4160u
#define BS 4096u

static const uint8_t KA[32] = {0xA1, 1, 2, 3};
static const uint8_t KB[32] = {0xB2, 1, 2, 3};
static const uint8_t KC[32] = {0xC3, 9, 9, 9};
static const ward_seal_meta META = {WARD_SEAL_MEASUREMENT, 1, 1};

static uint64_t rs = 0x1234567887654321u;
static uint64_t rnd(void)
{
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return rs;
}

typedef struct fx {
    char *dir, sdir[512], cdir[512];
    ward_counters *c;
    ward_store *s;
} fx;

static void fx_open(fx *x, const uint8_t *key, int counters)
{
    x->dir = tu_mkdtemp();
    snprintf(x->sdir, sizeof x->sdir, "%s/store", x->dir);
    snprintf(x->cdir, sizeof x->cdir, "%s", x->dir);
    x->c = NULL;
    if (counters)
        assert_int_equal(ward_counters_open(x->cdir, KC, &x->c), WARD_OK);
    assert_int_equal(ward_store_open(x->sdir, key, &META, 1, x->c, &x->s), WARD_OK);
}

static void fx_close(fx *x)
{
    ward_store_close(x->s);
    ward_counters_close(x->c);
    tu_rmtree(x->dir);
    free(x->dir);
}

static void fill(uint8_t *p, size_t n, uint64_t seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)((seed + i) * 2654435761u >> 13);
}

static void test_model(void **state)
{
    (void)state;
    fx x;
    fx_open(&x, KA, 1);
    size_t cap = 300000;
    uint8_t *model = calloc(1, cap), *buf = malloc(cap), *got = malloc(cap);
    size_t msize = 0;
    ward_efile *f = NULL;
    assert_int_equal(ward_efile_open(x.s, "m.dat", WARD_EFILE_CREATE, &f), WARD_OK);
    for (int op = 0; op < 400; op++) {
        uint64_t r = rnd() % 100;
        if (r < 45) {
            size_t off = (size_t)(rnd() % 250000), n = (size_t)(rnd() % 20000);
            if (rnd() % 3 == 0) {
                off = off / BS * BS;
                n = (n / BS + 1) * BS;
            }
            fill(buf, n, rnd());
            assert_int_equal(ward_efile_write(f, off, buf, n), WARD_OK);
            memcpy(model + off, buf, n);
            if (off + n > msize)
                msize = off + n;
        } else if (r < 75) {
            size_t off = (size_t)(rnd() % 260000), n = (size_t)(rnd() % 30000), g = 0;
            assert_int_equal(ward_efile_read(f, off, got, n, &g), WARD_OK);
            size_t want = off >= msize ? 0 : (msize - off < n ? msize - off : n);
            assert_int_equal(g, want);
            if (want)
                assert_memory_equal(got, model + off, want);
        } else if (r < 83) {
            size_t ns = (size_t)(rnd() % 270000);
            assert_int_equal(ward_efile_truncate(f, ns), WARD_OK);
            if (ns < msize)
                memset(model + ns, 0, msize - ns);
            msize = ns;
        } else if (r < 88) {
            size_t n = (size_t)(rnd() % 5000);
            if (msize + n < cap) {
                fill(buf, n, rnd());
                assert_int_equal(ward_efile_append(f, buf, n), WARD_OK);
                memcpy(model + msize, buf, n);
                msize += n;
            }
        } else if (r < 94) {
            assert_int_equal(ward_efile_sync(f), WARD_OK);
        } else {
            assert_int_equal(ward_efile_close(f), WARD_OK);
            assert_int_equal(ward_efile_open(x.s, "m.dat", 0, &f), WARD_OK);
        }
        assert_int_equal(ward_efile_size(f), msize);
    }
    assert_int_equal(ward_efile_close(f), WARD_OK);
    assert_int_equal(ward_efile_open(x.s, "m.dat", WARD_EFILE_RDONLY, &f), WARD_OK);
    size_t g = 0;
    assert_int_equal(ward_efile_read(f, 0, got, cap, &g), WARD_OK);
    assert_int_equal(g, msize);
    assert_memory_equal(got, model, msize);
    assert_int_equal(ward_efile_write(f, 0, "x", 1), WARD_ERR_PERMISSION);
    assert_int_equal(ward_efile_close(f), WARD_OK);
    free(model);
    free(buf);
    free(got);
    fx_close(&x);
}

/* A file of nb blocks of a known pattern, committed. */
static void make_file(ward_store *s, const char *name, size_t nb, uint64_t seed)
{
    ward_efile *f = NULL;
    uint8_t *b = malloc(nb * BS);
    fill(b, nb * BS, seed);
    (void)ward_efile_remove(s, name); /* fresh: every block in slot file 0 */
    assert_int_equal(ward_efile_open(s, name, WARD_EFILE_CREATE | WARD_EFILE_EXCL, &f),
                     WARD_OK);
    assert_int_equal(ward_efile_write(f, 0, b, nb * BS), WARD_OK);
    assert_int_equal(ward_efile_close(f), WARD_OK);
    free(b);
}

static void raw_path(char *out, size_t cap, const fx *x, const char *name, const char *suffix)
{
    snprintf(out, cap, "%s/%s%s", x->sdir, name, suffix);
}

static void raw_rw(const char *path, uint64_t off, uint8_t *buf, size_t n, int write)
{
    int fd = open(path, write ? O_WRONLY : O_RDONLY);
    assert_true(fd >= 0);
    ssize_t r = write ? pwrite(fd, buf, n, (off_t)off) : pread(fd, buf, n, (off_t)off);
    assert_int_equal((size_t)r, n);
    close(fd);
}

static void copy_file(const char *from, const char *to)
{
    size_t n = 0;
    uint8_t *b = tu_read_file(from, &n);
    FILE *fp = fopen(to, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(b, 1, n, fp), n);
    fclose(fp);
    free(b);
}

/* Reads block i of name: expects err and a message containing needle, and a wiped buffer. */
static void expect_block(ward_store *s, const char *name, size_t i, ward_err want,
                         const char *needle)
{
    ward_efile *f = NULL;
    assert_int_equal(ward_efile_open(s, name, WARD_EFILE_RDONLY, &f), WARD_OK);
    uint8_t buf[3 * BS];
    size_t g = 7;
    memset(buf, 0xEE, sizeof buf);
    uint64_t off = i ? (uint64_t)(i - 1) * BS : 0;
    ward_err err = ward_efile_read(f, off, buf, sizeof buf, &g);
    if (err != want)
        fail_msg("block %zu: got %d (%s), want %d", i, err, ward_errmsg(), want);
    if (want) {
        assert_int_equal(g, 0);
        for (size_t k = 0; k < sizeof buf; k++)
            assert_int_equal(buf[k], 0);
        if (strstr(ward_errmsg(), needle) == NULL)
            fail_msg("message '%s' lacks '%s'", ward_errmsg(), needle);
    }
    assert_int_equal(ward_efile_close(f), WARD_OK);
}

static void expect_open(ward_store *s, const char *name, ward_err want, const char *needle)
{
    ward_efile *f = NULL;
    ward_err err = ward_efile_open(s, name, WARD_EFILE_RDONLY, &f);
    if (err != want)
        fail_msg("open %s: got %d (%s), want %d", name, err, ward_errmsg(), want);
    assert_null(f);
    if (strstr(ward_errmsg(), needle) == NULL)
        fail_msg("message '%s' lacks '%s'", ward_errmsg(), needle);
}

static void test_bad_blocks(void **state)
{
    (void)state;
    fx x;
    fx_open(&x, KA, 0);
    char p[1024], q[1024];
    uint8_t slot[SLOT], other[SLOT];
    /* a flipped bit in any block, ciphertext or trailer */
    make_file(x.s, "a", 8, 1);
    raw_path(p, sizeof p, &x, "a", ".wd0");
    for (size_t i = 0; i < 8; i++) {
        uint64_t at = i * SLOT + rnd() % BS;
        raw_rw(p, at, slot, 1, 0);
        slot[0] ^= (uint8_t)(1u << (rnd() % 8));
        raw_rw(p, at, slot, 1, 1);
        expect_block(x.s, "a", i, WARD_ERR_AUTH, "is modified");
        make_file(x.s, "a", 8, 1);
    }
    expect_block(x.s, "a", 3, WARD_OK, NULL);
    raw_rw(p, 3 * SLOT + BS + 40, slot, 1, 0); /* the tag in the trailer */
    slot[0] ^= 4;
    raw_rw(p, 3 * SLOT + BS + 40, slot, 1, 1);
    expect_block(x.s, "a", 3, WARD_ERR_AUTH, "does not match the Merkle tree");
    /* a swapped pair of blocks */
    make_file(x.s, "a", 8, 1);
    raw_rw(p, 2 * SLOT, slot, SLOT, 0);
    raw_rw(p, 5 * SLOT, other, SLOT, 0);
    raw_rw(p, 2 * SLOT, other, SLOT, 1);
    raw_rw(p, 5 * SLOT, slot, SLOT, 1);
    expect_block(x.s, "a", 2, WARD_ERR_AUTH, "holds block 5 (blocks swapped or moved)");
    expect_block(x.s, "a", 5, WARD_ERR_AUTH, "holds block 2");
    expect_block(x.s, "a", 7, WARD_OK, NULL);
    /* a block from another file */
    make_file(x.s, "a", 8, 1);
    make_file(x.s, "b", 8, 1);
    raw_path(q, sizeof q, &x, "b", ".wd0");
    raw_rw(q, 4 * SLOT, slot, SLOT, 0);
    raw_rw(p, 4 * SLOT, slot, SLOT, 1);
    expect_block(x.s, "a", 4, WARD_ERR_AUTH, "belongs to another file");
    /* a stale copy of a block (an older version of the same block, same place) */
    make_file(x.s, "a", 8, 1);
    raw_rw(p, 6 * SLOT, slot, SLOT, 0);
    ward_efile *f = NULL;
    assert_int_equal(ward_efile_open(x.s, "a", 0, &f), WARD_OK);
    assert_int_equal(ward_efile_write(f, 6 * BS, "new", 3), WARD_OK);
    assert_int_equal(ward_efile_close(f), WARD_OK); /* block 6 now in slot file 1 */
    raw_path(q, sizeof q, &x, "a", ".wd1");
    raw_rw(q, 6 * SLOT, slot, SLOT, 1);
    expect_block(x.s, "a", 6, WARD_ERR_AUTH, "does not match the Merkle tree");
    /* a truncated data file: the missing blocks fail, the others still read */
    make_file(x.s, "a", 8, 1);
    assert_int_equal(truncate(p, 5 * SLOT + 100), 0);
    expect_block(x.s, "a", 6, WARD_ERR_TRUNCATED, "missing");
    expect_block(x.s, "a", 5, WARD_ERR_TRUNCATED, "block 5 is missing");
    expect_block(x.s, "a", 2, WARD_OK, NULL);
    /* truncated metadata: both copies */
    make_file(x.s, "a", 8, 1);
    for (int c = 0; c < 2; c++) {
        raw_path(q, sizeof q, &x, "a", c ? ".wm1" : ".wm0");
        struct stat sb;
        if (stat(q, &sb) == 0)
            assert_int_equal(truncate(q, sb.st_size - 33), 0);
    }
    expect_open(x.s, "a", WARD_ERR_TRUNCATED, "truncated");
    /* a modified leaf table or header */
    make_file(x.s, "a", 8, 1);
    for (int c = 0; c < 2; c++) {
        raw_path(q, sizeof q, &x, "a", c ? ".wm1" : ".wm0");
        struct stat sb;
        if (stat(q, &sb) == 0) {
            raw_rw(q, (uint64_t)sb.st_size - 40, slot, 1, 0);
            slot[0] ^= 1;
            raw_rw(q, (uint64_t)sb.st_size - 40, slot, 1, 1);
        }
    }
    expect_open(x.s, "a", WARD_ERR_AUTH, "Merkle root");
    make_file(x.s, "a", 8, 1);
    for (int c = 0; c < 2; c++) {
        raw_path(q, sizeof q, &x, "a", c ? ".wm1" : ".wm0");
        raw_rw(q, 33, slot, 1, 0);
        slot[0] ^= 0x10; /* the size field */
        raw_rw(q, 33, slot, 1, 1);
    }
    expect_open(x.s, "a", WARD_ERR_FORMAT, "malformed");
    /* a renamed file (bound to its name) */
    make_file(x.s, "a", 8, 1);
    const char *sfx[4] = {".wd0", ".wd1", ".wm0", ".wm1"};
    for (int k = 0; k < 4; k++) {
        raw_path(p, sizeof p, &x, "a", sfx[k]);
        raw_path(q, sizeof q, &x, "c", sfx[k]);
        copy_file(p, q);
    }
    expect_open(x.s, "c", WARD_ERR_AUTH, "bound to the name 'a'");
    fx_close(&x);
}

/* Large reads (several chunks, shared with the read-ahead helper thread): the content is right,
 * and a bad block anywhere in the range fails the whole read, names the lowest bad block and
 * returns nothing (the whole buffer wiped), on the same open file read after read. */
static void test_large_read(void **state)
{
    (void)state;
    fx x;
    fx_open(&x, KA, 0);
    enum { NB = 300 };
    char p[1024];
    uint8_t *want = malloc((size_t)NB * BS), *buf = malloc((size_t)NB * BS + 100);
    assert_non_null(want);
    assert_non_null(buf);
    fill(want, (size_t)NB * BS, 7);
    make_file(x.s, "big", NB, 7);
    raw_path(p, sizeof p, &x, "big", ".wd0");
    ward_efile *f = NULL;
    size_t g = 0;
    assert_int_equal(ward_efile_open(x.s, "big", WARD_EFILE_RDONLY, &f), WARD_OK);
    for (int k = 0; k < 3; k++) {
        memset(buf, 0xEE, (size_t)NB * BS + 100);
        assert_int_equal(ward_efile_read(f, 0, buf, (size_t)NB * BS + 100, &g), WARD_OK);
        assert_int_equal(g, (size_t)NB * BS);
        assert_memory_equal(buf, want, (size_t)NB * BS);
        assert_int_equal(ward_efile_read(f, 100, buf, (size_t)(NB - 1) * BS, &g), WARD_OK);
        assert_int_equal(g, (size_t)(NB - 1) * BS);
        assert_memory_equal(buf, want + 100, g);
    }
    assert_int_equal(ward_efile_close(f), WARD_OK);
    /* one bad block, at the start, in the middle, at the end; then two (the lower is named) */
    static const size_t bad[][2] = {{0, 0}, {17, 17}, {150, 150}, {299, 299}, {250, 40}};
    for (size_t t = 0; t < sizeof bad / sizeof *bad; t++) {
        uint8_t b = 0;
        for (size_t j = 0; j < 2; j++) {
            if (j == 1 && bad[t][1] == bad[t][0])
                break;
            uint64_t at = bad[t][j] * SLOT + 1000;
            raw_rw(p, at, &b, 1, 0);
            b ^= 0x20;
            raw_rw(p, at, &b, 1, 1);
        }
        size_t lowest = bad[t][0] < bad[t][1] ? bad[t][0] : bad[t][1];
        char needle[64];
        snprintf(needle, sizeof needle, "block %zu is modified", lowest);
        assert_int_equal(ward_efile_open(x.s, "big", WARD_EFILE_RDONLY, &f), WARD_OK);
        for (int k = 0; k < 2; k++) {
            memset(buf, 0xEE, (size_t)NB * BS);
            g = 7;
            ward_err err = ward_efile_read(f, 0, buf, (size_t)NB * BS, &g);
            if (err != WARD_ERR_AUTH || strstr(ward_errmsg(), needle) == NULL)
                fail_msg("bad block %zu: got %d (%s)", lowest, err, ward_errmsg());
            assert_int_equal(g, 0);
            for (size_t i = 0; i < (size_t)NB * BS; i++)
                if (buf[i] != 0)
                    fail_msg("byte %zu returned after a bad block", i);
        }
        /* a range that avoids the bad blocks still reads */
        if (lowest >= 100) {
            assert_int_equal(ward_efile_read(f, 0, buf, 100 * BS, &g), WARD_OK);
            assert_memory_equal(buf, want, 100 * BS);
        }
        assert_int_equal(ward_efile_close(f), WARD_OK);
        make_file(x.s, "big", NB, 7);
    }
    /* a truncated data file under a large read */
    assert_int_equal(truncate(p, 200 * SLOT + 10), 0);
    assert_int_equal(ward_efile_open(x.s, "big", WARD_EFILE_RDONLY, &f), WARD_OK);
    memset(buf, 0xEE, (size_t)NB * BS);
    assert_int_equal(ward_efile_read(f, 0, buf, (size_t)NB * BS, &g), WARD_ERR_TRUNCATED);
    assert_non_null(strstr(ward_errmsg(), "missing"));
    assert_int_equal(g, 0);
    for (size_t i = 0; i < (size_t)NB * BS; i++)
        if (buf[i] != 0)
            fail_msg("byte %zu returned from a truncated file", i);
    assert_int_equal(ward_efile_close(f), WARD_OK);
    free(want);
    free(buf);
    fx_close(&x);
}

/* Large writes (shared with the helper thread) over blocks in either slot file, aligned and
 * not, read back before and after a commit and after reopening. */
static void test_large_writes(void **state)
{
    (void)state;
    fx x;
    fx_open(&x, KA, 1);
    enum { NB = 300 };
    size_t n = (size_t)NB * BS;
    uint8_t *model = malloc(n), *src = malloc(n), *buf = malloc(n);
    assert_non_null(model);
    assert_non_null(src);
    assert_non_null(buf);
    ward_efile *f = NULL;
    size_t g = 0;
    assert_int_equal(ward_efile_open(x.s, "w", WARD_EFILE_CREATE, &f), WARD_OK);
    static const struct {
        size_t off, len;
        int sync;
    } op[] = {
        {0, NB * BS, 1},               /* all in slot file 0 */
        {0, NB * BS, 1},               /* all moved to slot file 1 */
        {3 * BS, 5 * BS, 1},           /* a few back in 0: later runs are mixed */
        {100 * BS, 200 * BS, 0},       /* not committed before the next one */
        {50 * BS + 77, 180 * BS, 1},   /* unaligned: partial, whole blocks, partial */
        {BS, 250 * BS + 1, 0},         /* left for close to commit */
    };
    for (size_t k = 0; k < sizeof op / sizeof *op; k++) {
        fill(src, op[k].len, 1000 + k);
        memcpy(model + op[k].off, src, op[k].len);
        assert_int_equal(ward_efile_write(f, op[k].off, src, op[k].len), WARD_OK);
        assert_int_equal(ward_efile_read(f, 0, buf, n, &g), WARD_OK);
        assert_int_equal(g, n);
        assert_memory_equal(buf, model, n);
        if (op[k].sync)
            assert_int_equal(ward_efile_sync(f), WARD_OK);
    }
    assert_int_equal(ward_efile_close(f), WARD_OK);
    assert_int_equal(ward_efile_open(x.s, "w", WARD_EFILE_RDONLY, &f), WARD_OK);
    memset(buf, 0, n);
    assert_int_equal(ward_efile_read(f, 0, buf, n, &g), WARD_OK);
    assert_int_equal(g, n);
    assert_memory_equal(buf, model, n);
    assert_int_equal(ward_efile_close(f), WARD_OK);
    free(model);
    free(src);
    free(buf);
    fx_close(&x);
}

static void test_other_ta(void **state)
{
    (void)state;
    fx x, y;
    fx_open(&x, KA, 0);
    fx_open(&y, KB, 0);
    make_file(x.s, "secret", 3, 5);
    /* the whole store under another TA's key */
    ward_store *s = NULL;
    assert_int_equal(ward_store_open(x.sdir, KB, &META, 0, NULL, &s), WARD_ERR_AUTH);
    assert_null(s);
    /* one file copied into another TA's store */
    const char *sfx[4] = {".wd0", ".wd1", ".wm0", ".wm1"};
    char p[1024], q[1024];
    for (int k = 0; k < 4; k++) {
        snprintf(p, sizeof p, "%s/secret%s", x.sdir, sfx[k]);
        snprintf(q, sizeof q, "%s/secret%s", y.sdir, sfx[k]);
        copy_file(p, q);
    }
    expect_open(y.s, "secret", WARD_ERR_AUTH, "another key");
    fx_close(&x);
    fx_close(&y);
}

static void test_rollback(void **state)
{
    (void)state;
    fx x;
    fx_open(&x, KA, 1);
    make_file(x.s, "db", 4, 1);
    const char *sfx[4] = {".wd0", ".wd1", ".wm0", ".wm1"};
    char p[1024], q[1024];
    for (int k = 0; k < 4; k++) {
        raw_path(p, sizeof p, &x, "db", sfx[k]);
        snprintf(q, sizeof q, "%s/old%s", x.dir, sfx[k]);
        copy_file(p, q);
    }
    ward_efile *f = NULL;
    assert_int_equal(ward_efile_open(x.s, "db", 0, &f), WARD_OK);
    uint64_t v_old = ward_efile_version(f);
    assert_int_equal(ward_efile_write(f, 10, "newer", 5), WARD_OK);
    assert_int_equal(ward_efile_sync(f), WARD_OK);
    assert_int_equal(ward_efile_write(f, 5000, "newest", 6), WARD_OK);
    assert_int_equal(ward_efile_close(f), WARD_OK);
    for (int k = 0; k < 4; k++) {
        raw_path(p, sizeof p, &x, "db", sfx[k]);
        snprintf(q, sizeof q, "%s/old%s", x.dir, sfx[k]);
        copy_file(q, p);
    }
    char want[128];
    snprintf(want, sizeof want, "rollback: file version %llu is older than the counter %llu",
             (unsigned long long)v_old, (unsigned long long)v_old + 3);
    expect_open(x.s, "db", WARD_ERR_VERIFY, want);
    /* a deleted file is noticed too */
    assert_int_equal(ward_efile_remove(x.s, "db"), WARD_OK);
    expect_open(x.s, "db", WARD_ERR_NOT_FOUND, "deleted?");
    /* and re-creating it starts past the counter */
    make_file(x.s, "db", 1, 1);
    assert_int_equal(ward_efile_open(x.s, "db", 0, &f), WARD_OK);
    assert_true(ward_efile_version(f) > v_old + 3);
    assert_int_equal(ward_efile_close(f), WARD_OK);
    fx_close(&x);
}

/* grep the raw directory for a plaintext string */
static int dir_contains(const char *dir, const char *needle)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "grep -rqa -- '%s' '%s'", needle, dir);
    return system(cmd) == 0;
}

static void test_no_plaintext_and_erase(void **state)
{
    (void)state;
    fx x;
    fx_open(&x, KA, 0);
    const char *secret = "TOP-SECRET-PLAINTEXT-MARKER";
    ward_efile *f = NULL;
    assert_int_equal(ward_efile_open(x.s, "p", WARD_EFILE_CREATE, &f), WARD_OK);
    for (int i = 0; i < 50; i++)
        assert_int_equal(ward_efile_write(f, (uint64_t)i * 1000, secret, strlen(secret)),
                         WARD_OK);
    assert_int_equal(ward_efile_close(f), WARD_OK);
    assert_false(dir_contains(x.sdir, secret));
    /* key rotation: the store reopens under the new key only */
    assert_int_equal(ward_store_rekey(x.s, KB, &META), WARD_OK);
    ward_store_close(x.s);
    assert_int_equal(ward_store_open(x.sdir, KA, &META, 0, NULL, &x.s), WARD_ERR_AUTH);
    assert_int_equal(ward_store_open(x.sdir, KB, &META, 0, NULL, &x.s), WARD_OK);
    /* crypto-shredding: the store and its directory are gone */
    assert_int_equal(ward_store_destroy(x.s), WARD_OK);
    x.s = NULL;
    struct stat sb;
    assert_int_not_equal(stat(x.sdir, &sb), 0);
    fx_close(&x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_model),
        cmocka_unit_test(test_bad_blocks),
        cmocka_unit_test(test_large_read),
        cmocka_unit_test(test_large_writes),
        cmocka_unit_test(test_other_ta),
        cmocka_unit_test(test_rollback),
        cmocka_unit_test(test_no_plaintext_and_erase),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
