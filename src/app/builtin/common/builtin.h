/* The shared core of the built-in TAs `sql` and `psi` (docs/builtins.md): task keys made inside
 * the TA, a report binding them to the manifest, encrypted CSV inputs loaded into an in-memory
 * SQLite database, one read-only query, the result signed and encrypted to each recipient. */
#ifndef WARD_BUILTIN_H
#define WARD_BUILTIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ward/err.h"
#include "ward/task.h"

#define WB_MAX_TABLES 64u
#define WB_MAX_QUERY (64u * 1024u)
#define WB_DEFAULT_MAX_INPUT (1024ull * 1024u * 1024u) /* plaintext bytes per input */
/* The result leaves the TA encrypted, in pieces (one ocall each, well under max_message): its
 * size is bounded by the host's max_result, not by a message. Default when the host gives 0. */
#define WB_DEFAULT_MAX_RESULT (256ull * 1024u * 1024u) /* plaintext CSV bytes */
#define WB_PIECE (512u * 1024u) /* CSV bytes per encryption step (and ciphertext piece) */
#define WB_STATEMENT_MAGIC "WARD-RESULT-1"

/* Takes the signed task envelope (docs/formats.md "Task manifest"), checks it inside the TA
 * (strict parse, every participant's signature, the function is fn, 1 ..
 * WARD_TASK_MAX_RECIPIENTS recipients, slot names usable as table names) and keeps what the task
 * needs from it: the manifest digest, the slots and their associated data, the parameters and
 * every recipient's X25519 key. infer: type columns
 * by inference (sql) or keep every column TEXT (psi). */
ward_err wb_init(ward_task_fn fn, bool infer, const char *envelope, uint64_t max_input,
                 uint8_t **task_pk, size_t *task_pk_len, uint8_t **sign_pk, size_t *sign_pk_len,
                 uint8_t **report, size_t *report_len, uint8_t **report_sig,
                 size_t *report_sig_len);
/* One piece of the input of slot (a slot of the manifest; its table has the slot's name). */
ward_err wb_add_input(const char *slot, const uint8_t *chunk, size_t chunk_len, bool last);
/* Where the encrypted result goes: the TA's ocall result_piece (the host appends each piece to
 * recipient's result file; recipient is the index in the manifest's recipients). Each
 * recipient's pieces come in order, interleaved with the others'; a failure stops the run with
 * that error. */
typedef ward_err (*wb_sink)(uint32_t recipient, const uint8_t *data, size_t len);

/* Runs query (which must pass every check) once every slot of the manifest is loaded. The CSV
 * is encrypted to each of the manifest's recipients as it is produced (one encrypted stream per
 * recipient, each with its own data key, the manifest digest as associated data of all) and
 * handed to sink piece by piece; it may not exceed
 * max_result bytes (0: WB_DEFAULT_MAX_RESULT), else WARD_ERR_LIMIT. Then the statement, which
 * covers the whole CSV's SHA-256 and length, and its signature. params is what the statement's
 * params_sha256 covers (the query for sql). */
ward_err wb_run(const char *query, const char *params, uint64_t max_result, wb_sink sink,
                uint8_t **statement, size_t *statement_len, uint8_t **result_sig,
                size_t *result_sig_len);
/* WARD_OK when the task may run: ready, no input half loaded, an input for every slot of the
 * manifest (else WARD_ERR_STATE naming the first missing slot). */
ward_err wb_check_inputs(void);
/* The verified manifest while the task is ready (after init, before run); else NULL. */
const ward_task_manifest *wb_manifest(void);
ward_err wb_last_error(char **message);
ward_err wb_destroy(void);
/* Records the message of a failed call for last_error; returns err. */
ward_err wb_note(ward_err err);

/* The manifest's slots (= tables), in manifest order (NULL before init / out of range). */
size_t wb_table_count(void);
const char *wb_table_name(size_t i);

/* Appends "name" (double quotes doubled) to buf (capacity cap, NUL-terminated); WARD_ERR_LIMIT
 * if it does not fit. */
ward_err wb_quote_ident(char *buf, size_t cap, const char *name);

#endif
