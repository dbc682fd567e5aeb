#include "testutil.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ward/encoding.h"

const char *tu_vector_path(const char *rel)
{
    static char buf[4096];
    const char *dir = getenv("WARD_VECTORS");
    if (dir == NULL)
        dir = "../shared/vectors";
    int n = snprintf(buf, sizeof buf, "%s/%s", dir, rel);
    assert_true(n > 0 && (size_t)n < sizeof buf);
    return buf;
}

uint8_t *tu_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        fail_msg("cannot open %s", path);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long sz = ftell(f);
    assert_true(sz >= 0);
    rewind(f);
    uint8_t *buf = malloc((size_t)sz + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)sz, f), (size_t)sz);
    fclose(f);
    buf[sz] = 0;
    if (len)
        *len = (size_t)sz;
    return buf;
}

json_t *tu_load_json_vector(const char *rel)
{
    json_error_t jerr;
    const char *path = tu_vector_path(rel);
    json_t *j = json_load_file(path, 0, &jerr);
    if (j == NULL)
        fail_msg("cannot load %s: %s (line %d)", path, jerr.text, jerr.line);
    return j;
}

uint8_t *tu_unhex(const char *hex, size_t *len)
{
    uint8_t *out = NULL;
    size_t n = 0;
    if (hex[0] == '\0') {
        out = malloc(1);
        assert_non_null(out);
    } else if (ward_hex_decode(hex, strlen(hex), &out, &n) != 0) {
        fail_msg("bad hex in vector: %.40s", hex);
    }
    if (len)
        *len = n;
    return out;
}

char *tu_mkdtemp(void)
{
    const char *base = getenv("TMPDIR");
    char tmpl[4096];
    snprintf(tmpl, sizeof tmpl, "%s/ward-test-XXXXXX", base ? base : "/tmp");
    char *p = mkdtemp(tmpl);
    assert_non_null(p);
    char *dup = strdup(p);
    assert_non_null(dup);
    return dup;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb; (void)flag; (void)ftw;
    return remove(path);
}

void tu_rmtree(const char *path)
{
    if (path != NULL)
        nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}
