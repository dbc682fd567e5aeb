/* CSV reader and writer (include/ward/csv.h): RFC 4180 with strict rules, streaming, bounded. */
#include "ward/csv.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "ward/crypto.h"

enum { ST_FIELD_START, ST_UNQUOTED, ST_QUOTED, ST_QUOTE_SEEN, ST_AFTER_CR };

struct ward_csv_reader {
    ward_csv_limits lim;
    ward_csv_record_fn fn;
    void *arg;
    bool dead;
    bool finished;
    int state;
    /* UTF-8 validation */
    unsigned u8_need;       /* continuation bytes still expected */
    uint8_t u8_lo, u8_hi;   /* bounds of the next continuation byte */
    uint64_t u8_start;      /* offset of the sequence being checked */
    /* leading BOM */
    uint8_t bom[3];
    size_t bom_len;
    bool bom_done;
    /* positions */
    uint64_t offset;        /* bytes consumed */
    uint64_t line;          /* current line, 1-based */
    uint64_t record_line;   /* line where the current record started */
    uint64_t quote_line;    /* line where the current quoted field started */
    uint64_t index;         /* next record index (0 = header) */
    size_t columns;
    /* the current record: field bytes, each followed by a NUL */
    char *buf;
    size_t len, cap;
    size_t field_start;     /* offset in buf of the current field */
    size_t *starts;         /* start offset of each completed field */
    size_t *lens;
    const char **ptrs;
    size_t nf, fcap;
    bool record_open;       /* bytes of a record were consumed */
};

static const uint8_t BOM[3] = {0xEF, 0xBB, 0xBF};

static void fill_limits(const ward_csv_limits *in, ward_csv_limits *out)
{
    ward_csv_limits d = {0};
    if (in != NULL)
        d = *in;
    if (d.max_bytes == 0)
        d.max_bytes = WARD_CSV_DEFAULT_MAX_BYTES;
    if (d.max_columns == 0)
        d.max_columns = WARD_CSV_DEFAULT_MAX_COLUMNS;
    if (d.max_field == 0)
        d.max_field = WARD_CSV_DEFAULT_MAX_FIELD;
    if (d.max_record == 0)
        d.max_record = WARD_CSV_DEFAULT_MAX_RECORD;
    if (d.max_records == 0)
        d.max_records = WARD_CSV_DEFAULT_MAX_RECORDS;
    *out = d;
}

ward_err ward_csv_reader_new(const ward_csv_limits *limits, ward_csv_record_fn fn, void *arg,
                             ward_csv_reader **out)
{
    if (out == NULL || fn == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "csv: NULL argument");
    *out = NULL;
    ward_csv_reader *r = calloc(1, sizeof *r);
    if (r == NULL)
        return ward_err_set(WARD_ERR_NOMEM, "csv: out of memory");
    fill_limits(limits, &r->lim);
    if (r->lim.max_record > SIZE_MAX / 2 - r->lim.max_columns - 1 ||
        r->lim.max_columns > SIZE_MAX / (2 * sizeof(size_t) + sizeof(char *))) {
        free(r);
        return ward_err_set(WARD_ERR_INVALID_ARG, "csv: limits too large");
    }
    r->fn = fn;
    r->arg = arg;
    r->line = 1;
    r->record_line = 1;
    *out = r;
    return WARD_OK;
}

void ward_csv_reader_free(ward_csv_reader *r)
{
    if (r == NULL)
        return;
    if (r->buf != NULL) {
        ward_wipe(r->buf, r->cap);
        free(r->buf);
    }
    free(r->starts);
    free(r->lens);
    free(r->ptrs);
    ward_wipe(r, sizeof *r);
    free(r);
}

size_t ward_csv_reader_columns(const ward_csv_reader *r)
{
    return r == NULL ? 0 : r->columns;
}

uint64_t ward_csv_reader_records(const ward_csv_reader *r)
{
    return r == NULL || r->index == 0 ? 0 : r->index - 1;
}

static ward_err die(ward_csv_reader *r, ward_err err)
{
    r->dead = true;
    return err;
}

/* Grows the record buffer so that it holds need bytes; the old buffer is wiped. */
static ward_err buf_reserve(ward_csv_reader *r, size_t need)
{
    if (need <= r->cap)
        return WARD_OK;
    size_t ncap = r->cap == 0 ? 256 : r->cap;
    while (ncap < need)
        ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
    char *nb = malloc(ncap);
    if (nb == NULL)
        return ward_err_set(WARD_ERR_NOMEM, "csv: out of memory");
    if (r->buf != NULL) {
        memcpy(nb, r->buf, r->len);
        ward_wipe(r->buf, r->cap);
        free(r->buf);
    }
    r->buf = nb;
    r->cap = ncap;
    return WARD_OK;
}

static ward_err append(ward_csv_reader *r, uint8_t c)
{
    size_t flen = r->len - r->field_start;
    if (flen >= r->lim.max_field)
        return ward_err_set(WARD_ERR_LIMIT, "csv: line %llu: a field exceeds %zu bytes",
                            (unsigned long long)r->line, r->lim.max_field);
    /* record bytes = buffer minus one NUL per completed field */
    if (r->len - r->nf >= r->lim.max_record)
        return ward_err_set(WARD_ERR_LIMIT, "csv: line %llu: a record exceeds %zu bytes",
                            (unsigned long long)r->record_line, r->lim.max_record);
    ward_err err = buf_reserve(r, r->len + 2);
    if (err != WARD_OK)
        return err;
    r->buf[r->len++] = (char)c;
    return WARD_OK;
}

/* Appends n plain bytes at once, with append()'s limits: the error is the one append() would
 * have reported at the first byte over a limit. */
static ward_err append_run(ward_csv_reader *r, const uint8_t *p, size_t n)
{
    size_t flen = r->len - r->field_start, rlen = r->len - r->nf;
    size_t field_room = r->lim.max_field > flen ? r->lim.max_field - flen : 0;
    size_t record_room = r->lim.max_record > rlen ? r->lim.max_record - rlen : 0;
    if (n > field_room || n > record_room) {
        if (field_room <= record_room)
            return ward_err_set(WARD_ERR_LIMIT, "csv: line %llu: a field exceeds %zu bytes",
                                (unsigned long long)r->line, r->lim.max_field);
        return ward_err_set(WARD_ERR_LIMIT, "csv: line %llu: a record exceeds %zu bytes",
                            (unsigned long long)r->record_line, r->lim.max_record);
    }
    ward_err err = buf_reserve(r, r->len + n + 1);
    if (err != WARD_OK)
        return err;
    memcpy(r->buf + r->len, p, n);
    r->len += n;
    return WARD_OK;
}

/* The length of the run of bytes at p that are only field content in the current state: ASCII
 * without NUL, quote or LF (unquoted: nor CR or comma). Such bytes need neither the UTF-8 state
 * machine nor step(). */
static size_t plain_run(const uint8_t *p, size_t n, bool quoted)
{
    size_t i = 0;
    if (quoted) {
        /* CR is content inside quotes; LF is too, but step() counts lines */
        while (i < n && p[i] > 0 && p[i] < 0x80 && p[i] != '"' && p[i] != '\n')
            i++;
    } else {
        while (i < n && p[i] > 0 && p[i] < 0x80 && p[i] != ',' && p[i] != '"' && p[i] != '\n' &&
               p[i] != '\r')
            i++;
    }
    return i;
}

static ward_err end_field(ward_csv_reader *r)
{
    size_t limit = r->columns != 0 ? r->columns : r->lim.max_columns;
    if (r->nf >= limit) {
        if (r->columns != 0)
            return ward_err_set(WARD_ERR_FORMAT,
                                "csv: line %llu: record %llu has more than the header's %zu "
                                "fields (ragged row)",
                                (unsigned long long)r->record_line,
                                (unsigned long long)r->index, r->columns);
        return ward_err_set(WARD_ERR_LIMIT, "csv: line %llu: more than %zu columns",
                            (unsigned long long)r->record_line, r->lim.max_columns);
    }
    if (r->nf == r->fcap) {
        size_t ncap = r->fcap == 0 ? 16 : r->fcap * 2;
        if (ncap > limit)
            ncap = limit;
        size_t *s = realloc(r->starts, ncap * sizeof *s);
        if (s == NULL)
            return ward_err_set(WARD_ERR_NOMEM, "csv: out of memory");
        r->starts = s;
        size_t *l = realloc(r->lens, ncap * sizeof *l);
        if (l == NULL)
            return ward_err_set(WARD_ERR_NOMEM, "csv: out of memory");
        r->lens = l;
        const char **p = realloc(r->ptrs, ncap * sizeof *p);
        if (p == NULL)
            return ward_err_set(WARD_ERR_NOMEM, "csv: out of memory");
        r->ptrs = p;
        r->fcap = ncap;
    }
    ward_err err = buf_reserve(r, r->len + 1);
    if (err != WARD_OK)
        return err;
    r->starts[r->nf] = r->field_start;
    r->lens[r->nf] = r->len - r->field_start;
    r->nf++;
    r->buf[r->len++] = '\0';
    r->field_start = r->len;
    return WARD_OK;
}

static int ascii_lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

static bool same_name(const char *a, size_t alen, const char *b, size_t blen)
{
    if (alen != blen)
        return false;
    for (size_t i = 0; i < alen; i++)
        if (ascii_lower((unsigned char)a[i]) != ascii_lower((unsigned char)b[i]))
            return false;
    return true;
}

static ward_err end_record(ward_csv_reader *r)
{
    ward_err err = end_field(r);
    if (err != WARD_OK)
        return err;
    if (r->index == 0) {
        for (size_t i = 0; i < r->nf; i++) {
            if (r->lens[i] == 0)
                return ward_err_set(WARD_ERR_FORMAT,
                                    "csv: line %llu: header column %zu has an empty name",
                                    (unsigned long long)r->record_line, i + 1);
            for (size_t j = 0; j < i; j++)
                if (same_name(r->buf + r->starts[i], r->lens[i], r->buf + r->starts[j],
                              r->lens[j]))
                    return ward_err_set(WARD_ERR_FORMAT,
                                        "csv: line %llu: header columns %zu and %zu have the "
                                        "same name",
                                        (unsigned long long)r->record_line, j + 1, i + 1);
        }
        r->columns = r->nf;
    } else {
        if (r->nf != r->columns)
            return ward_err_set(WARD_ERR_FORMAT,
                                "csv: line %llu: record %llu has %zu fields, the header has %zu "
                                "(ragged row)",
                                (unsigned long long)r->record_line,
                                (unsigned long long)r->index, r->nf, r->columns);
        if (r->index > r->lim.max_records)
            return ward_err_set(WARD_ERR_LIMIT, "csv: more than %llu records",
                                (unsigned long long)r->lim.max_records);
    }
    for (size_t i = 0; i < r->nf; i++)
        r->ptrs[i] = r->buf + r->starts[i];
    err = r->fn(r->arg, r->index, r->ptrs, r->lens, r->nf);
    ward_wipe(r->buf, r->len);
    r->len = 0;
    r->field_start = 0;
    r->nf = 0;
    r->record_open = false;
    r->index++;
    r->record_line = r->line;
    return err;
}

/* One byte of CSV syntax (already known to be valid UTF-8 and not NUL). */
static ward_err step(ward_csv_reader *r, uint8_t c)
{
    ward_err err = WARD_OK;
    r->record_open = true;
    switch (r->state) {
    case ST_FIELD_START:
    case ST_UNQUOTED:
        if (c == ',') {
            err = end_field(r);
            r->state = ST_FIELD_START;
        } else if (c == '\n') {
            err = end_record(r);
            r->state = ST_FIELD_START;
        } else if (c == '\r') {
            r->state = ST_AFTER_CR;
        } else if (c == '"') {
            if (r->state == ST_UNQUOTED)
                return ward_err_set(WARD_ERR_FORMAT,
                                    "csv: line %llu: a quote inside an unquoted field",
                                    (unsigned long long)r->line);
            r->quote_line = r->line;
            r->state = ST_QUOTED;
        } else {
            err = append(r, c);
            r->state = ST_UNQUOTED;
        }
        break;
    case ST_QUOTED:
        if (c == '"')
            r->state = ST_QUOTE_SEEN;
        else
            err = append(r, c);
        break;
    case ST_QUOTE_SEEN:
        if (c == '"') {
            err = append(r, c);
            r->state = ST_QUOTED;
        } else if (c == ',') {
            err = end_field(r);
            r->state = ST_FIELD_START;
        } else if (c == '\n') {
            err = end_record(r);
            r->state = ST_FIELD_START;
        } else if (c == '\r') {
            r->state = ST_AFTER_CR;
        } else {
            return ward_err_set(WARD_ERR_FORMAT,
                                "csv: line %llu: a character after a closing quote (a quote in "
                                "a quoted field is written \"\")",
                                (unsigned long long)r->line);
        }
        break;
    case ST_AFTER_CR:
        if (c != '\n')
            return ward_err_set(WARD_ERR_FORMAT,
                                "csv: line %llu: a carriage return not followed by a line feed "
                                "outside quotes",
                                (unsigned long long)r->line);
        err = end_record(r);
        r->state = ST_FIELD_START;
        break;
    default:
        return ward_err_set(WARD_ERR_STATE, "csv: bad state");
    }
    if (c == '\n') {
        r->line++;
        if (!r->record_open)
            r->record_line = r->line;
    }
    return err;
}

/* Checks byte c at offset off; 0 if bad. */
static bool utf8_step(ward_csv_reader *r, uint8_t c, uint64_t off)
{
    if (r->u8_need > 0) {
        if (c < r->u8_lo || c > r->u8_hi)
            return false;
        r->u8_lo = 0x80;
        r->u8_hi = 0xBF;
        r->u8_need--;
        return true;
    }
    r->u8_start = off;
    if (c == 0)
        return false;
    if (c < 0x80)
        return true;
    r->u8_lo = 0x80;
    r->u8_hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
        r->u8_need = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
        r->u8_need = 2;
        if (c == 0xE0)
            r->u8_lo = 0xA0; /* no overlong */
        else if (c == 0xED)
            r->u8_hi = 0x9F; /* no surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        r->u8_need = 3;
        if (c == 0xF0)
            r->u8_lo = 0x90;
        else if (c == 0xF4)
            r->u8_hi = 0x8F; /* not beyond U+10FFFF */
    } else {
        return false;
    }
    return true;
}

static ward_err bad_utf8(ward_csv_reader *r, uint8_t c)
{
    if (c == 0 && r->u8_need == 0)
        return ward_err_set(WARD_ERR_FORMAT, "csv: byte offset %llu: a NUL byte",
                            (unsigned long long)r->u8_start);
    return ward_err_set(WARD_ERR_FORMAT, "csv: byte offset %llu (line %llu): invalid UTF-8",
                        (unsigned long long)r->u8_start, (unsigned long long)r->line);
}

ward_err ward_csv_reader_feed(ward_csv_reader *r, const uint8_t *data, size_t len)
{
    if (r == NULL || (data == NULL && len != 0))
        return ward_err_set(WARD_ERR_INVALID_ARG, "csv: NULL argument");
    if (r->dead || r->finished)
        return ward_err_set(WARD_ERR_STATE, "csv: the reader has already failed or finished");
    if (len > r->lim.max_bytes - r->offset)
        return die(r, ward_err_set(WARD_ERR_LIMIT, "csv: the input exceeds %llu bytes",
                                   (unsigned long long)r->lim.max_bytes));
    for (size_t i = 0; i < len; i++) {
        /* the common case, a run of plain ASCII inside a field, in one go */
        if (r->bom_done && r->u8_need == 0 &&
            (r->state == ST_FIELD_START || r->state == ST_UNQUOTED || r->state == ST_QUOTED)) {
            bool quoted = r->state == ST_QUOTED;
            size_t run = plain_run(data + i, len - i, quoted);
            if (run > 0) {
                ward_err err = append_run(r, data + i, run);
                if (err != WARD_OK)
                    return die(r, err);
                r->offset += run;
                r->record_open = true;
                if (!quoted)
                    r->state = ST_UNQUOTED;
                i += run - 1;
                continue;
            }
        }
        uint8_t c = data[i];
        uint64_t off = r->offset++;
        if (!utf8_step(r, c, off))
            return die(r, bad_utf8(r, c));
        if (!r->bom_done) {
            if (c == BOM[r->bom_len]) {
                r->bom[r->bom_len++] = c;
                if (r->bom_len == 3) {
                    r->bom_done = true;
                    r->bom_len = 0;
                }
                continue;
            }
            r->bom_done = true;
            for (size_t k = 0; k < r->bom_len; k++) {
                ward_err e = step(r, r->bom[k]);
                if (e != WARD_OK)
                    return die(r, e);
            }
            r->bom_len = 0;
        }
        ward_err err = step(r, c);
        if (err != WARD_OK)
            return die(r, err);
    }
    return WARD_OK;
}

ward_err ward_csv_reader_finish(ward_csv_reader *r)
{
    if (r == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "csv: NULL argument");
    if (r->dead || r->finished)
        return ward_err_set(WARD_ERR_STATE, "csv: the reader has already failed or finished");
    r->finished = true;
    if (r->u8_need > 0)
        return die(r, ward_err_set(WARD_ERR_FORMAT,
                                   "csv: byte offset %llu: invalid UTF-8 (truncated sequence)",
                                   (unsigned long long)r->u8_start));
    /* a partial BOM here is also a truncated sequence, caught above */
    ward_err err = WARD_OK;
    switch (r->state) {
    case ST_QUOTED:
        return die(r, ward_err_set(WARD_ERR_FORMAT,
                                   "csv: line %llu: a quoted field is not closed",
                                   (unsigned long long)r->quote_line));
    case ST_AFTER_CR:
        return die(r, ward_err_set(WARD_ERR_FORMAT,
                                   "csv: line %llu: a carriage return not followed by a line "
                                   "feed outside quotes",
                                   (unsigned long long)r->line));
    default:
        if (r->record_open)
            err = end_record(r);
    }
    if (err != WARD_OK)
        return die(r, err);
    if (r->index == 0)
        return die(r, ward_err_set(WARD_ERR_FORMAT, "csv: empty input (no header row)"));
    return WARD_OK;
}

ward_err ward_csv_parse(const uint8_t *data, size_t len, const ward_csv_limits *limits,
                        ward_csv_record_fn fn, void *arg)
{
    ward_csv_reader *r = NULL;
    ward_err err = ward_csv_reader_new(limits, fn, arg, &r);
    if (err == WARD_OK)
        err = ward_csv_reader_feed(r, data, len);
    if (err == WARD_OK)
        err = ward_csv_reader_finish(r);
    ward_csv_reader_free(r);
    return err;
}

int ward_csv_utf8_valid(const uint8_t *data, size_t len, size_t *bad_offset)
{
    ward_csv_reader r;
    memset(&r, 0, sizeof r);
    for (size_t i = 0; i < len; i++) {
        if (!utf8_step(&r, data[i], i)) {
            if (bad_offset != NULL)
                *bad_offset = (size_t)r.u8_start;
            return 0;
        }
    }
    if (r.u8_need > 0) {
        if (bad_offset != NULL)
            *bad_offset = (size_t)r.u8_start;
        return 0;
    }
    return 1;
}

/* ---- writer ---------------------------------------------------------------------------------- */

struct ward_csv_writer {
    uint8_t *buf;
    size_t len, cap, max;
    size_t columns;
};

ward_err ward_csv_writer_new(size_t max_bytes, ward_csv_writer **out)
{
    if (out == NULL || max_bytes == 0)
        return ward_err_set(WARD_ERR_INVALID_ARG, "csv writer: bad argument");
    *out = calloc(1, sizeof **out);
    if (*out == NULL)
        return ward_err_set(WARD_ERR_NOMEM, "csv writer: out of memory");
    (*out)->max = max_bytes;
    return WARD_OK;
}

static ward_err w_put(ward_csv_writer *w, const void *p, size_t n)
{
    if (n > w->max - w->len)
        return ward_err_set(WARD_ERR_LIMIT, "csv writer: the output exceeds %zu bytes", w->max);
    if (w->len + n > w->cap) {
        size_t ncap = w->cap == 0 ? 1024 : w->cap;
        while (ncap < w->len + n)
            ncap = ncap > SIZE_MAX / 2 ? w->len + n : ncap * 2;
        if (ncap > w->max)
            ncap = w->max;
        uint8_t *nb = malloc(ncap);
        if (nb == NULL)
            return ward_err_set(WARD_ERR_NOMEM, "csv writer: out of memory");
        if (w->buf != NULL) {
            memcpy(nb, w->buf, w->len);
            ward_wipe(w->buf, w->cap);
            free(w->buf);
        }
        w->buf = nb;
        w->cap = ncap;
    }
    memcpy(w->buf + w->len, p, n);
    w->len += n;
    return WARD_OK;
}

ward_err ward_csv_writer_record(ward_csv_writer *w, const char *const *fields,
                                const size_t *lens, size_t n_fields)
{
    if (w == NULL || fields == NULL || lens == NULL || n_fields == 0)
        return ward_err_set(WARD_ERR_INVALID_ARG, "csv writer: bad argument");
    if (w->columns != 0 && n_fields != w->columns)
        return ward_err_set(WARD_ERR_INVALID_ARG,
                            "csv writer: a record of %zu fields after records of %zu", n_fields,
                            w->columns);
    for (size_t i = 0; i < n_fields; i++) {
        size_t bad = 0;
        if (fields[i] != NULL &&
            !ward_csv_utf8_valid((const uint8_t *)fields[i], lens[i], &bad))
            return ward_err_set(WARD_ERR_FORMAT,
                                "csv writer: field %zu: invalid UTF-8 or NUL at byte %zu", i + 1,
                                bad);
    }
    size_t start = w->len;
    ward_err err = WARD_OK;
    for (size_t i = 0; i < n_fields && err == WARD_OK; i++) {
        if (i > 0)
            err = w_put(w, ",", 1);
        if (err != WARD_OK || fields[i] == NULL)
            continue;
        const char *f = fields[i];
        bool quote = lens[i] == 0 || memchr(f, ',', lens[i]) != NULL ||
                     memchr(f, '"', lens[i]) != NULL || memchr(f, '\r', lens[i]) != NULL ||
                     memchr(f, '\n', lens[i]) != NULL ||
                     /* a leading BOM would be skipped by a reader: keep it inside quotes */
                     (lens[i] >= 3 && memcmp(f, BOM, 3) == 0);
        if (!quote) {
            err = w_put(w, f, lens[i]);
            continue;
        }
        err = w_put(w, "\"", 1);
        size_t run = 0;
        for (size_t k = 0; k < lens[i] && err == WARD_OK; k++) {
            if (f[k] == '"') {
                err = w_put(w, f + run, k + 1 - run); /* through the quote */
                if (err == WARD_OK)
                    err = w_put(w, "\"", 1);
                run = k + 1;
            }
        }
        if (err == WARD_OK)
            err = w_put(w, f + run, lens[i] - run);
        if (err == WARD_OK)
            err = w_put(w, "\"", 1);
    }
    if (err == WARD_OK)
        err = w_put(w, "\r\n", 2);
    if (err != WARD_OK) {
        if (w->buf != NULL)
            ward_wipe(w->buf + start, w->len - start);
        w->len = start;
        return err;
    }
    w->columns = n_fields;
    return WARD_OK;
}

const uint8_t *ward_csv_writer_data(const ward_csv_writer *w, size_t *len)
{
    if (w == NULL) {
        if (len != NULL)
            *len = 0;
        return NULL;
    }
    if (len != NULL)
        *len = w->len;
    return w->buf;
}

void ward_csv_writer_free(ward_csv_writer *w)
{
    if (w == NULL)
        return;
    if (w->buf != NULL) {
        ward_wipe(w->buf, w->cap);
        free(w->buf);
    }
    free(w);
}
