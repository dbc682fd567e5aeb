/* Fuzzes the encrypted-file open and read paths with a fixed store key. Input: a 4-byte
 * little-endian length L, L bytes of metadata (written as NAME.wm0), the rest as the slot file
 * NAME.wd0. Must never crash; and whatever verifies must be authentic: every file that the
 * seeds were made from holds byte (x * 7 + 3) at offset x, so every byte a successful read
 * returns must be that.
 * Seeds: WARD_FUZZ_EFILE_MKSEED=DIR ./fuzz_efile -runs=0 writes them to DIR. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "storage/storage_internal.h"
#include "ward/crypto.h"
#include "ward/storage.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t SECRET[48] = {0x5e, 0xc7, 0x3e, 0x75, 1, 2, 3, 4, 5, 6, 7, 8};
static char g_dir[256];
static ward_store *g_store;

static uint8_t pat(uint64_t x)
{
    return (uint8_t)(x * 7u + 3u);
}

static void put_file(const char *name, const uint8_t *d, size_t n)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", g_dir, name);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        abort();
    if (n && write(fd, d, n) != (ssize_t)n)
        abort();
    close(fd);
}

static uint8_t *slurp(const char *name, size_t *n)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", g_dir, name);
    FILE *fp = fopen(p, "rb");
    if (fp == NULL) {
        *n = 0;
        return calloc(1, 1);
    }
    fseek(fp, 0, SEEK_END);
    long l = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    uint8_t *b = malloc((size_t)l + 1);
    *n = fread(b, 1, (size_t)l, fp);
    fclose(fp);
    return b;
}

static void make_seed(const char *out_dir, int k, uint64_t size, uint64_t shrink_to)
{
    ward_efile *f = NULL;
    (void)ward_efile_remove(g_store, "f");
    if (ward_efile_open(g_store, "f", WARD_EFILE_CREATE, &f) != WARD_OK)
        abort();
    uint8_t *b = malloc(size + 1);
    for (uint64_t x = 0; x < size; x++)
        b[x] = pat(x);
    if (ward_efile_write(f, 0, b, size) != WARD_OK)
        abort();
    free(b);
    if (shrink_to && ward_efile_truncate(f, shrink_to) != WARD_OK)
        abort();
    if (ward_efile_close(f) != WARD_OK)
        abort();
    size_t ml = 0, dl = 0, l0 = 0, l1 = 0;
    uint8_t *m0 = slurp("f.wm0", &l0), *m1 = slurp("f.wm1", &l1);
    /* the newer copy (version at offset 24) */
    uint8_t *m = (l1 >= 32 && (l0 < 32 || st_get64(m1 + 24) > st_get64(m0 + 24))) ? m1 : m0;
    ml = m == m1 ? l1 : l0;
    uint8_t *d = slurp("f.wd0", &dl);
    char p[512];
    snprintf(p, sizeof p, "%s/seed%d", out_dir, k);
    FILE *fp = fopen(p, "wb");
    uint8_t len[4];
    st_put32(len, (uint32_t)ml);
    fwrite(len, 1, 4, fp);
    fwrite(m, 1, ml, fp);
    fwrite(d, 1, dl, fp);
    fclose(fp);
    free(m0);
    free(m1);
    free(d);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *tmp = getenv("TMPDIR");
    snprintf(g_dir, sizeof g_dir, "%s/fuzz_efile.XXXXXX", tmp ? tmp : "/tmp");
    if (mkdtemp(g_dir) == NULL || st_store_from_secret(g_dir, SECRET, NULL, &g_store) != WARD_OK)
        abort();
    const char *seeds = getenv("WARD_FUZZ_EFILE_MKSEED");
    if (seeds) {
        make_seed(seeds, 0, 0, 0);
        make_seed(seeds, 1, 100, 0);
        make_seed(seeds, 2, 4096, 0);
        make_seed(seeds, 3, 3 * 4096 + 17, 0);
        make_seed(seeds, 4, 5 * 4096, 4097);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4)
        return 0;
    uint32_t ml = st_get32(data);
    if (ml > size - 4)
        return 0;
    put_file("f.wm0", data + 4, ml);
    put_file("f.wd0", data + 4 + ml, size - 4 - ml);
    char p[512];
    snprintf(p, sizeof p, "%s/f.wm1", g_dir);
    unlink(p);
    ward_efile *f = NULL;
    if (ward_efile_open(g_store, "f", WARD_EFILE_RDONLY, &f) != WARD_OK)
        return 0;
    uint64_t fs = ward_efile_size(f);
    uint8_t buf[5000];
    for (uint64_t off = 0; off < fs && off < 64 * 4096; off += 1000) {
        size_t got = 0;
        if (ward_efile_read(f, off, buf, sizeof buf, &got) != WARD_OK) {
            for (size_t i = 0; i < sizeof buf; i++)
                if (buf[i] != 0)
                    abort(); /* a failed read must release nothing */
            continue;
        }
        for (size_t i = 0; i < got; i++)
            if (buf[i] != pat(off + i))
                abort(); /* verified but not authentic */
    }
    ward_efile_close(f);
    return 0;
}
