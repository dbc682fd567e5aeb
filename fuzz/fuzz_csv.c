/* libFuzzer target: the CSV reader (include/ward/csv.h) on untrusted input, and the writer.
 *
 * Input: byte 0 seeds the split pattern and the limits, the rest is the CSV, fed to
 * ward_csv_reader_feed in pieces of 1..64 bytes and finished.
 *
 * Checked on every input: no crash, no leak; the one-shot parser reaches the same verdict and
 * the same records as the split one; every field handed out is NUL-terminated, holds no NUL and
 * is valid UTF-8; every record has the header's number of fields. When parsing succeeds, the
 * records written back with the writer parse to the same records (round trip).
 * Seeds: fuzz/corpus/fuzz_csv/ (valid and invalid files of every kind test_csv covers). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ward/csv.h"

typedef struct sink {
    ward_csv_writer *w; /* the records, written back: a canonical form to compare */
    size_t columns;
} sink;

static ward_err on_record(void *arg, uint64_t index, const char *const *fields,
                          const size_t *lens, size_t n)
{
    sink *s = arg;
    if (index == 0)
        s->columns = n;
    if (n == 0 || n != s->columns)
        abort();
    for (size_t i = 0; i < n; i++) {
        if (fields[i][lens[i]] != '\0' || memchr(fields[i], '\0', lens[i]) != NULL ||
            !ward_csv_utf8_valid((const uint8_t *)fields[i], lens[i], NULL))
            abort();
    }
    return ward_csv_writer_record(s->w, fields, lens, n);
}

static ward_err parse(const uint8_t *data, size_t len, const ward_csv_limits *lim, uint8_t seed,
                      int split, sink *s)
{
    if (ward_csv_writer_new(1u << 20, &s->w) != WARD_OK)
        abort();
    if (!split)
        return ward_csv_parse(data, len, lim, on_record, s);
    ward_csv_reader *r = NULL;
    if (ward_csv_reader_new(lim, on_record, s, &r) != WARD_OK)
        abort();
    ward_err err = WARD_OK;
    uint32_t x = seed * 2654435761u + 1u;
    size_t off = 0;
    while (off < len && err == WARD_OK) {
        x = x * 1103515245u + 12345u;
        size_t n = 1 + (x >> 16) % 64;
        if (n > len - off)
            n = len - off;
        err = ward_csv_reader_feed(r, data + off, n);
        off += n;
    }
    if (err == WARD_OK)
        err = ward_csv_reader_finish(r);
    else if (ward_csv_reader_feed(r, data, 0) != WARD_ERR_STATE)
        abort(); /* dead after an error */
    ward_csv_reader_free(r);
    return err;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t seed = data[0];
    data++;
    size--;
    ward_csv_limits lim = {0};
    if (seed & 0x80) { /* small limits now and then */
        lim.max_columns = 1u + (seed & 7u);
        lim.max_field = 1u + (seed & 0x30u);
        lim.max_records = 1u + (seed & 3u);
    }
    sink a = {0}, b = {0};
    ward_err ea = parse(data, size, &lim, seed, 1, &a);
    ward_err eb = parse(data, size, &lim, seed, 0, &b);
    if (ea != eb)
        abort();
    size_t la = 0, lb = 0;
    const uint8_t *da = ward_csv_writer_data(a.w, &la);
    const uint8_t *db = ward_csv_writer_data(b.w, &lb);
    if (la != lb || (la > 0 && memcmp(da, db, la) != 0))
        abort();
    if (ea == WARD_OK) {
        /* round trip: what the writer wrote reads back to the same records */
        sink c = {0};
        if (parse(da, la, NULL, seed, 1, &c) != WARD_OK)
            abort();
        size_t lc = 0;
        const uint8_t *dc = ward_csv_writer_data(c.w, &lc);
        if (lc != la || memcmp(dc, da, la) != 0)
            abort();
        ward_csv_writer_free(c.w);
    }
    ward_csv_writer_free(a.w);
    ward_csv_writer_free(b.w);
    return 0;
}
