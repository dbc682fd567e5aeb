/* CSV (RFC 4180) for the built-in functions (docs/builtins.md): a streaming reader that refuses
 * anything ambiguous with the line or byte offset where it is wrong, and a writer.
 *
 * Reader rules: fields separated by ',', records by CRLF or LF (a CR elsewhere outside quotes is
 * refused); a field may be quoted with '"', a '"' inside a quoted field is written '""'; a quote
 * inside an unquoted field, or anything but ',' or a line end after a closing quote, is refused.
 * The first record is the header: at least one column, every name non-empty and unique (ASCII
 * case-insensitive, as SQL compares identifiers). Every record has the header's number of fields
 * (a ragged record is refused with its line number). The whole input must be UTF-8 (RFC 3629: no
 * overlong forms, surrogates or code points beyond U+10FFFF) without NUL bytes (refused with the
 * byte offset). One leading UTF-8 BOM is skipped. A final line end is optional. Empty input (no
 * bytes, or only a BOM) is refused; a header without records is a valid, empty table.
 * Limits (WARD_ERR_LIMIT): total bytes, columns, bytes per field, bytes per record, records.
 *
 * Error messages give positions only, never the data. */
#ifndef WARD_CSV_H
#define WARD_CSV_H

#include <stddef.h>
#include <stdint.h>

#include "ward/err.h"

#ifdef __cplusplus
extern "C" {
#endif

#define WARD_CSV_DEFAULT_MAX_BYTES (1024ull * 1024u * 1024u) /* 1 GiB */
#define WARD_CSV_DEFAULT_MAX_COLUMNS 1000u
#define WARD_CSV_DEFAULT_MAX_FIELD (1024u * 1024u)   /* 1 MiB */
#define WARD_CSV_DEFAULT_MAX_RECORD (4u * 1024u * 1024u)
#define WARD_CSV_DEFAULT_MAX_RECORDS 100000000ull

typedef struct ward_csv_limits {
    uint64_t max_bytes;   /* 0: default */
    size_t max_columns;   /* 0: default */
    size_t max_field;     /* 0: default */
    size_t max_record;    /* sum of a record's field bytes; 0: default */
    uint64_t max_records; /* data records, header excluded; 0: default */
} ward_csv_limits;

/* Called once per record: index 0 is the header, then 1, 2, ... fields[i] points to lens[i]
 * bytes followed by a NUL (the bytes hold no NUL). Valid only during the call. A non-OK return
 * stops the reader with that error. */
typedef ward_err (*ward_csv_record_fn)(void *arg, uint64_t index, const char *const *fields,
                                       const size_t *lens, size_t n_fields);

typedef struct ward_csv_reader ward_csv_reader;

/* limits may be NULL (all defaults). */
ward_err ward_csv_reader_new(const ward_csv_limits *limits, ward_csv_record_fn fn, void *arg,
                             ward_csv_reader **out);
/* Feeds the next len bytes (split anywhere). After an error the reader is dead (WARD_ERR_STATE). */
ward_err ward_csv_reader_feed(ward_csv_reader *r, const uint8_t *data, size_t len);
/* Ends the input: emits the last record, refuses an empty input or an unterminated quote. */
ward_err ward_csv_reader_finish(ward_csv_reader *r);
/* Number of columns (0 before the header), and of data records emitted so far. */
size_t ward_csv_reader_columns(const ward_csv_reader *r);
uint64_t ward_csv_reader_records(const ward_csv_reader *r);
/* Wipes the buffers (they held plaintext). NULL allowed. */
void ward_csv_reader_free(ward_csv_reader *r);

/* One-shot: new + feed + finish + free. */
ward_err ward_csv_parse(const uint8_t *data, size_t len, const ward_csv_limits *limits,
                        ward_csv_record_fn fn, void *arg);

/* 1 if data is well-formed UTF-8 without NUL; else 0 and *bad_offset (may be NULL) is the offset
 * of the first byte of the bad sequence. */
int ward_csv_utf8_valid(const uint8_t *data, size_t len, size_t *bad_offset);

/* ---- writer ---------------------------------------------------------------------------------
 * Records end with CRLF. A field is quoted when it is empty or holds ',', '"', CR or LF; a NULL
 * field (SQL NULL) is written as nothing, unquoted, so that it differs from the empty string; a
 * field starting with U+FEFF is quoted too (a reader skips a leading BOM).
 * Fields must be UTF-8 without NUL (WARD_ERR_FORMAT); every record must have the first record's
 * number of fields (WARD_ERR_INVALID_ARG); the output may not exceed max_bytes (WARD_ERR_LIMIT). */
typedef struct ward_csv_writer ward_csv_writer;

ward_err ward_csv_writer_new(size_t max_bytes, ward_csv_writer **out);
ward_err ward_csv_writer_record(ward_csv_writer *w, const char *const *fields,
                                const size_t *lens, size_t n_fields);
/* The bytes so far (valid until the next call on w). */
const uint8_t *ward_csv_writer_data(const ward_csv_writer *w, size_t *len);
/* Wipes and frees. NULL allowed. */
void ward_csv_writer_free(ward_csv_writer *w);

#ifdef __cplusplus
}
#endif
#endif
