/* Internal to the audit log (src/ops/audit*.c): the record and checkpoint encodings, the
 * schema, and the verifier shared by ward_audit_verify and the writer (open, prune). */
#ifndef WARD_AUDIT_INTERNAL_H
#define WARD_AUDIT_INTERNAL_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "ward/audit.h"
#include "ward/crypto.h"
#include "ward/err.h"

#define AUDIT_FORMAT 1
#define AUDIT_LOG_ID_LEN 16
#define AUDIT_HASH_LEN WARD_SHA256_LEN
#define AUDIT_REC_MAGIC "WAUDREC1"
#define AUDIT_CKPT_MAGIC "WAUDCKPT"
#define AUDIT_RANGE_MAGIC "WAUDRNG1"
#define AUDIT_MAGIC_LEN 8
#define AUDIT_CKPT_VERSION 1u
#define AUDIT_CKPT_MSG_LEN (8 + 4 + 1 + AUDIT_LOG_ID_LEN + 8 + 8 + 32 + 32 + 8)

enum { AUDIT_CKPT_PERIODIC = 1, AUDIT_CKPT_CLOSE = 2, AUDIT_CKPT_ANCHOR = 3,
       AUDIT_CKPT_REQUEST = 4 };

/* The string fields in hash order. */
enum { AF_ACTOR, AF_AUTH, AF_ACTION, AF_OBJECT, AF_REQUEST, AF_DETAILS, AF_COUNT };

/* Largest encoding of a valid record. */
#define AUDIT_ENC_MAX                                                                        \
    (AUDIT_MAGIC_LEN + 8 + 8 + 1 + 4 * AF_COUNT + 5 * WARD_AUDIT_FIELD_MAX +                 \
     WARD_AUDIT_DETAILS_MAX + AUDIT_HASH_LEN)

typedef struct audit_fields {
    uint64_t seq;
    int64_t time_ms;
    unsigned outcome;
    const char *s[AF_COUNT];
    size_t len[AF_COUNT];
    const uint8_t *prev_hash; /* AUDIT_HASH_LEN bytes */
} audit_fields;

/* Limit of field i in bytes. */
size_t audit_field_max(int i);
/* Hashes f as documented in audit.h; WARD_ERR_OVERFLOW if a field is longer than its limit. */
ward_err audit_record_hash(const audit_fields *f, uint8_t out[AUDIT_HASH_LEN]);

typedef struct audit_ckpt {
    int64_t id;
    int kind;
    uint64_t first_seq, seq;
    uint8_t hash[AUDIT_HASH_LEN];
    uint8_t range_digest[AUDIT_HASH_LEN];
    int64_t time_ms;
    uint8_t sig[WARD_AUDIT_SIG_LEN];
} audit_ckpt;

/* The signed message of c under log_id. */
void audit_ckpt_message(const audit_ckpt *c, const uint8_t log_id[AUDIT_LOG_ID_LEN],
                        uint8_t msg[AUDIT_CKPT_MSG_LEN]);
/* SHA-256("WAUDRNG1" || hashes). */
ward_err audit_range_digest(const uint8_t *hashes, size_t n, uint8_t out[AUDIT_HASH_LEN]);

/* Names. */
const char *audit_kind_name(int kind);
/* "success" -> 0 ...; -1 if unknown (len bytes, not NUL-terminated). */
int audit_outcome_parse(const char *s, size_t len);

/* Schema: creates the tables when absent (in the caller's transaction). */
extern const char audit_schema_sql[];
/* Refuses any schema object other than Ward's tables and their automatic indexes (a trigger
 * or view planted in the file). */
ward_err audit_check_schema(sqlite3 *db);
/* Hardening for a connection to a file that may have been edited by an attacker. */
ward_err audit_harden(sqlite3 *db);
/* Reads the log id; WARD_ERR_NOT_FOUND if absent, WARD_ERR_FORMAT if malformed. */
ward_err audit_read_log_id(sqlite3 *db, uint8_t out[AUDIT_LOG_ID_LEN]);
/* Wraps a SQLite failure. */
ward_err audit_sql_err(sqlite3 *db, const char *what);
/* Reads a checkpoint row (columns id, kind, first_seq, seq, hash, range_digest, time_ms, sig
 * from column 0); WARD_ERR_FORMAT if a column has the wrong type or length. */
ward_err audit_ckpt_from_row(sqlite3_stmt *st, audit_ckpt *c);
#define AUDIT_CKPT_COLS "id, kind, first_seq, seq, hash, range_digest, time_ms, sig"

/* Verifies the whole log on db; fills rep. WARD_OK intact, WARD_ERR_VERIFY not, other: could
 * not read. */
ward_err audit_verify_db(sqlite3 *db, const ward_pkey *key, ward_audit_report *rep);

/* Checks c's signature with key; WARD_OK or WARD_ERR_VERIFY. */
ward_err audit_ckpt_check_sig(const audit_ckpt *c, const uint8_t log_id[AUDIT_LOG_ID_LEN],
                              const ward_pkey *key);

/* "dir/name" into a malloc'd string. */
ward_err audit_path(const char *dir, const char *name, char **out);

/* Formats ms since the epoch as "YYYY-MM-DDTHH:MM:SS.mmmZ". */
#define AUDIT_TIME_LEN 80
void audit_format_time(int64_t ms, char out[AUDIT_TIME_LEN]);

#endif
