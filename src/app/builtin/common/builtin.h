/* The shared core of the built-in TAs `sql` and `psi` (docs/builtins.md): task keys made inside
 * the TA, a report binding them to the manifest, encrypted CSV inputs loaded into an in-memory
 * SQLite database, one read-only query, the result signed and encrypted to a recipient. */
#ifndef WARD_BUILTIN_H
#define WARD_BUILTIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ward/err.h"

#define WB_MAX_TABLES 64u
#define WB_MAX_QUERY (64u * 1024u)
#define WB_DEFAULT_MAX_INPUT (1024ull * 1024u * 1024u) /* plaintext bytes per input */
/* The result travels in one call response (max_message, 1 MiB by default): the CSV is capped so
 * that the encrypted result fits with room to spare. */
#define WB_MAX_RESULT (960u * 1024u)
#define WB_STATEMENT_MAGIC "WARD-RESULT-1"

/* infer: type columns by inference (sql) or keep every column TEXT (psi). */
ward_err wb_init(const char *function, bool infer, const uint8_t *manifest_digest,
                 size_t manifest_digest_len, uint64_t max_input, uint8_t **task_pk,
                 size_t *task_pk_len, uint8_t **sign_pk, size_t *sign_pk_len, uint8_t **report,
                 size_t *report_len, uint8_t **report_sig, size_t *report_sig_len);
ward_err wb_add_input(const char *table, const uint8_t *aad, size_t aad_len,
                      const uint8_t *chunk, size_t chunk_len, bool last);
/* Runs query (which must pass every check) and produces the outputs; params is what the
 * statement's params_sha256 covers (the query for sql). */
ward_err wb_run(const char *query, const char *params, const uint8_t *recipient_pk,
                size_t recipient_pk_len, uint8_t **result_enc, size_t *result_enc_len,
                uint8_t **statement, size_t *statement_len, uint8_t **result_sig,
                size_t *result_sig_len);
ward_err wb_last_error(char **message);
ward_err wb_destroy(void);
/* Records the message of a failed call for last_error; returns err. */
ward_err wb_note(ward_err err);

/* Loaded inputs, in the order they were completed. */
size_t wb_table_count(void);
const char *wb_table_name(size_t i);

/* Appends "name" (double quotes doubled) to buf (capacity cap, NUL-terminated); WARD_ERR_LIMIT
 * if it does not fit. */
ward_err wb_quote_ident(char *buf, size_t cap, const char *name);

#endif
