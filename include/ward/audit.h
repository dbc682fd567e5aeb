/* The tamper-evident audit log (IEEE 2952 5.5.4; issue 8): append-only, hash-chained records in
 * SQLite, with checkpoints signed by the platform key, group commit, verification, export as
 * JSON lines for a SIEM, and retention-respecting pruning that keeps the chain verifiable.
 *
 * ---- Storage -----------------------------------------------------------------------------
 * One SQLite database, DIR/audit.db (mode 0600; WAL journal, synchronous=FULL; every statement
 * prepared), in the node data directory DIR. A writer holds an exclusive flock on DIR/audit.lock
 * for as long as it is open: one writer per log; any number of readers (verify, export) may run
 * beside it. Tables: audit_meta (format version, 16-byte random log id), audit_records (one row
 * per record), audit_checkpoints (signed checkpoints and the prune anchor).
 *
 * ---- Records -----------------------------------------------------------------------------
 * Fields: seq (1, 2, 3, ... without gaps), time (UTC, milliseconds since the Unix epoch),
 * actor, authentication method, action, object, outcome (success / failure / denied), request
 * id, details (a small JSON object, stored in RFC 8785 canonical form), prev_hash, hash.
 *
 *   hash = SHA-256( "WAUDREC1"                        8 bytes: magic and format version 1
 *                   seq                               u64, big-endian
 *                   time_ms                           i64, big-endian two's complement
 *                   outcome                           u8: 0 success, 1 failure, 2 denied
 *                   len(actor)       || actor         each: u32 big-endian byte length, then
 *                   len(auth_method) || auth_method         the UTF-8 bytes (no terminator)
 *                   len(action)      || action
 *                   len(object)      || object
 *                   len(request_id)  || request_id
 *                   len(details)     || details
 *                   prev_hash )                       32 bytes
 *
 * prev_hash of record 1 is 32 zero bytes; of record n > 1 it is the hash of record n - 1 (after
 * pruning, the first remaining record's prev_hash is the hash held by the prune anchor).
 *
 * NEVER PASS A SECRET OR PLAINTEXT DATA in any field: no password, token, TOTP code, key,
 * sealed datum or user data. Records are readable by auditors and exported to SIEMs. Log what
 * happened to what (ids, names, digests, counts), never the data itself. The module cannot tell
 * a secret from a name and does not try to.
 *
 * ---- Checkpoints ---------------------------------------------------------------------------
 * A checkpoint covers the records first_seq .. seq that follow the previous checkpoint. It is
 * written every checkpoint_interval records (default 1000), on ward_audit_checkpoint(), at
 * close, and (kind "anchor") when pruning. The signed message (117 bytes) is
 *
 *   "WAUDCKPT"              8 bytes: magic; nothing else the platform key signs starts so (TA
 *                           reports have their own magic), so a checkpoint can never be taken
 *                           for a report, nor a report for a checkpoint
 *   version                 u32 big-endian, 1
 *   kind                    u8: 1 periodic, 2 close, 3 prune anchor, 4 on request
 *   log_id                  16 bytes (audit_meta; binds the checkpoint to this log)
 *   first_seq, seq          u64 big-endian each
 *   hash                    32 bytes: the hash of record seq
 *   range_digest            32 bytes: SHA-256("WAUDRNG1" || hash(first_seq) || ... || hash(seq));
 *                           32 zero bytes for an anchor
 *   time_ms                 i64 big-endian: when the checkpoint was made
 *
 * signed by the platform key: 64-byte raw r||s ECDSA P-256 / SHA-256 (or Ed25519), i.e. what
 * ward_rot_sign (include/ward/rot.h) produces; the node passes ward_rot_sign as the sign
 * callback and the platform certificate's public key as the verification key. The covered
 * records' hashes are stored beside the checkpoint, so each covered record is authenticated on
 * its own and verification names exactly the first altered record.
 *
 * ---- What verification detects, and what it cannot ------------------------------------------
 * Detected, with the first bad seq named (an attacker who can write audit.db but does not hold
 * the platform key):
 *   - any edited field of a record (its hash no longer matches; or, if the attacker recomputed
 *     the hash and the chain after it, the hash differs from the one a signed checkpoint holds);
 *   - a deleted record (a gap in seq; or, renumbered, a record found at the wrong seq; or,
 *     renumbered and rechained, hashes that differ from the signed ones);
 *   - reordered or inserted records (likewise);
 *   - a deleted, altered, forged, duplicated or foreign (other log id) checkpoint: a checkpoint
 *     whose signature fails, or records that no checkpoint covers between two checkpoints;
 *   - records deleted at the end of the log when a checkpoint covering them remains;
 *   - records deleted at the start without a signed prune anchor.
 * NOT detectable from the database alone:
 *   - the records after the last checkpoint (the "unanchored tail", reported as such with its
 *     seq range) are protected by the hash chain only: an attacker can delete them (truncate the
 *     tail), or alter them and recompute the chain, and no local check can tell. A clean
 *     shutdown leaves no tail (close writes a checkpoint); a tail means a running writer, a crash,
 *     or an attacker;
 *   - truncation back to a checkpoint boundary together with the later checkpoints, and
 *     replacing the whole database by an older copy of itself (rollback): the database then
 *     looks like a shorter valid log. Only a copy kept elsewhere detects it: export the signed
 *     checkpoints to a SIEM (ward_audit_export emits them) and compare the latest seq;
 *   - anything done by a holder of the platform private key, who can sign a forged history.
 *
 * ---- Durability ----------------------------------------------------------------------------
 * Appends are queued and written by one writer thread in group commits: one transaction per
 * batch, committed as soon as batch_records (default 256) records are pending, or the oldest
 * pending record has waited max_delay_ms (default 5 ms), or a synchronous append, flush,
 * checkpoint or close asks for it; a commit takes everything pending, up to 8192 records.
 * "Durable" means the transaction holding the record has committed with synchronous=FULL in
 * WAL mode: the WAL was fsync'ed, so the record survives a process crash and a power loss (on
 * storage that honours fsync).
 *   - ward_audit_append returns WARD_OK only once the record is durable.
 *   - ward_audit_append_async returns once the record is queued (its seq and time fixed); it is
 *     durable within about max_delay_ms plus one commit, and certainly after a later
 *     ward_audit_flush or ward_audit_close returns WARD_OK. A crash before that loses it.
 * A failed commit (disk full, I/O error) puts the log in a failed state: the records not yet
 * durable are dropped and every later call fails with the same error. Callers must treat that as
 * fatal for the operations they were auditing (fail closed: do not carry on unaudited).
 *
 * Thread safety: a ward_audit handle may be used from any number of threads at once (except
 * ward_audit_close). The sign callback is called from the writer thread and from the thread
 * that calls ward_audit_checkpoint, ward_audit_prune or ward_audit_close, never concurrently. */
#ifndef WARD_AUDIT_H
#define WARD_AUDIT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ward/crypto.h"
#include "ward/err.h"

#ifdef __cplusplus
extern "C" {
#endif

#define WARD_AUDIT_DB_FILE "audit.db"
#define WARD_AUDIT_LOCK_FILE "audit.lock"
#define WARD_AUDIT_DEFAULT_CHECKPOINT_INTERVAL 1000u
#define WARD_AUDIT_DEFAULT_BATCH 256u
#define WARD_AUDIT_DEFAULT_DELAY_MS 5u
#define WARD_AUDIT_DEFAULT_QUEUE_MAX 65536u
/* Retention: records are kept at least this long (IEEE 2952 5.5.4: six months). */
#define WARD_AUDIT_MIN_RETENTION_DAYS 183u
/* Field limits in bytes: actor, auth_method, action, object, request_id; details. */
#define WARD_AUDIT_FIELD_MAX 1024u
#define WARD_AUDIT_DETAILS_MAX 4096u
#define WARD_AUDIT_SIG_LEN 64u

typedef enum ward_audit_outcome {
    WARD_AUDIT_SUCCESS = 0,
    WARD_AUDIT_FAILURE = 1,
    WARD_AUDIT_DENIED = 2
} ward_audit_outcome;

/* One event. Strings are UTF-8 without NUL bytes, at most WARD_AUDIT_FIELD_MAX bytes; actor
 * and action are required and non-empty; NULL auth_method means "none", NULL object and
 * request_id mean "". details is NULL (stored as {}) or the text of a JSON object of at most
 * WARD_AUDIT_DETAILS_MAX bytes, holding strings, integers, booleans, null, arrays and objects
 * (no floating-point numbers); it is stored in canonical form (RFC 8785). Never a secret. */
typedef struct ward_audit_record {
    const char *actor;       /* who: user name, "ta:<measurement>", "node", ... */
    const char *auth_method; /* how they authenticated: "password+totp", "cert", "token", ... */
    const char *action;      /* what: "auth.login", "task.create", "key.release", ... */
    const char *object;      /* on what: task id, user name, path, ... */
    ward_audit_outcome outcome;
    const char *request_id;  /* correlates with the daemon's request log */
    const char *details;     /* small JSON object, or NULL */
} ward_audit_record;

/* Signs len bytes (a checkpoint message, see above) with the platform key: 64 bytes, raw r||s
 * ECDSA P-256 with SHA-256 (ward_rot_sign) or Ed25519. Must be safe to call from another
 * thread than the one that opened the log. */
typedef ward_err (*ward_audit_sign_fn)(void *arg, const uint8_t *msg, size_t len,
                                       uint8_t sig[WARD_AUDIT_SIG_LEN]);

typedef struct ward_audit_options {
    ward_audit_sign_fn sign;        /* required */
    void *sign_arg;
    const ward_pkey *verify_key;    /* required: the public key matching sign (copied) */
    uint32_t checkpoint_interval;   /* records per periodic checkpoint; 0: 1000 */
    uint32_t batch_records;         /* pending records that start a commit at once; 0: 256 */
    uint32_t max_delay_ms;          /* longest wait of an async record before a commit; 0: 5 */
    uint32_t queue_max;             /* async appends block while this many wait; 0: 65536 */
    /* The clock for record and checkpoint times (UTC milliseconds); NULL: CLOCK_REALTIME.
     * For tests (retention, pruning). Called from several threads at once. */
    int64_t (*now_ms)(void *arg);
    void *clock_arg;
} ward_audit_options;

typedef struct ward_audit ward_audit;

/* Opens (creating when absent) DIR/audit.db for appending; DIR must exist. Checks the last
 * checkpoint's signature with opts->verify_key (a wrong key is refused) and the hash chain of
 * the records after it (the unanchored tail); refuses with WARD_ERR_VERIFY, and leaves the file
 * untouched, if they do not verify: continuing would sign over tampered records. Recovery: run
 * `ward audit verify`, move audit.db aside as evidence, start a new log. WARD_ERR_STATE if
 * another writer holds the log. */
ward_err ward_audit_open(const char *dir, const ward_audit_options *opts, ward_audit **out);

/* Appends rec and returns once it is durable; *seq (may be NULL) receives its sequence number. */
ward_err ward_audit_append(ward_audit *log, const ward_audit_record *rec, uint64_t *seq);
/* Queues rec and returns; see "Durability". Blocks while queue_max records are pending. */
ward_err ward_audit_append_async(ward_audit *log, const ward_audit_record *rec, uint64_t *seq);
/* Returns once every record queued before the call is durable. */
ward_err ward_audit_flush(ward_audit *log);
/* Flushes, then writes a signed checkpoint over the records since the last one (if any). */
ward_err ward_audit_checkpoint(ward_audit *log);
/* Highest seq known durable (0 if none). */
uint64_t ward_audit_durable_seq(ward_audit *log);
/* Highest seq assigned so far (0 if none). */
uint64_t ward_audit_last_seq(ward_audit *log);

/* Removes the records older than older_than_days (at least WARD_AUDIT_MIN_RETENTION_DAYS, else
 * WARD_ERR_INVALID_ARG): the records 1 .. S, where S + 1 is the first record at or after the
 * cutoff (records whose clock went backwards are kept). Before deleting anything it
 * checkpoints, verifies the whole log (WARD_ERR_VERIFY, nothing deleted, if it does not
 * verify: pruning must never launder tampering) and then, in one transaction, deletes the
 * records and the checkpoints up to S and stores a signed anchor (kind 3) holding S and the hash
 * of record S, from which verification continues. Appends an "audit.pruned" record. *pruned
 * (may be NULL) receives the number of records removed. */
ward_err ward_audit_prune(ward_audit *log, uint32_t older_than_days, uint64_t *pruned);

/* Flushes, writes a close checkpoint over the records since the last one, stops the writer
 * thread and frees log, even when it returns an error (which then says what was lost). */
ward_err ward_audit_close(ward_audit *log);

/* ---- verification --------------------------------------------------------------------------- */

typedef enum ward_audit_problem {
    WARD_AUDIT_OK = 0,
    WARD_AUDIT_EDITED,          /* a record's contents do not match its hash */
    WARD_AUDIT_MOVED,           /* a record sits at another seq than the one it was written at
                                   (reordered, or records inserted/deleted and renumbered) */
    WARD_AUDIT_MISSING,         /* a gap in seq: records deleted */
    WARD_AUDIT_BROKEN_LINK,     /* prev_hash is not the previous record's hash */
    WARD_AUDIT_NOT_SIGNED,      /* the record's hash differs from the one its signed
                                   checkpoint holds: altered or inserted, chain recomputed */
    WARD_AUDIT_BAD_SIGNATURE,   /* a checkpoint's signature does not verify */
    WARD_AUDIT_BAD_CHECKPOINT,  /* a checkpoint is malformed, of another log, overlapping, or
                                   missing (records between two checkpoints uncovered) */
    WARD_AUDIT_TRUNCATED,       /* a checkpoint covers records that are gone */
    WARD_AUDIT_MALFORMED        /* unreadable record or metadata */
} ward_audit_problem;

typedef struct ward_audit_report {
    int intact;                 /* 1 if no problem was found */
    ward_audit_problem problem; /* the first problem met, walking in seq order */
    uint64_t bad_seq;           /* the first record whose authenticity is not established */
    uint64_t checkpoint_seq;    /* for checkpoint problems: the checkpoint's seq, else 0 */
    char detail[320];           /* what is wrong, in words */
    uint64_t first_seq;         /* first record present (0 if none) */
    uint64_t last_seq;          /* last record present (0 if none) */
    uint64_t records;           /* records walked */
    uint64_t checkpoints;       /* checkpoints present, the anchor included */
    uint64_t anchored_seq;      /* last record covered by a valid signed checkpoint (0: none) */
    uint64_t unanchored;        /* records after anchored_seq: protected by the chain only */
    uint64_t pruned_to;         /* seq of the prune anchor (0: never pruned) */
} ward_audit_report;

/* Walks DIR/audit.db (read-only; safe while a writer runs: it sees the last committed state)
 * checking every record against its hash, its predecessor and its signed checkpoint, and every
 * checkpoint against pubkey. WARD_OK if intact (report->unanchored may still be nonzero: see
 * above), WARD_ERR_VERIFY if not (report says where and what), another error if the database
 * cannot be read (WARD_ERR_NOT_FOUND if there is none). */
ward_err ward_audit_verify(const char *dir, const ward_pkey *pubkey, ward_audit_report *report);

/* Incremental verification, for a node that checks its own log periodically: a cursor names
 * the last record a previous walk established under a signed checkpoint (seq 0: none yet) and
 * its hash. ward_audit_verify_from checks that record is still there unchanged, then walks
 * only the records and checkpoints after it (the unanchored tail is walked again each time),
 * and on success moves the cursor to the last record now covered by a signed checkpoint. When
 * the record is gone or changed, or a prune anchor lies beyond it, it walks the whole log.
 * Records before the cursor are not re-read: an edit there is found by the next full
 * ward_audit_verify (the node runs one at start), not by this call. Returns as
 * ward_audit_verify; report covers the records walked. */
typedef struct ward_audit_cursor {
    uint64_t seq;
    uint8_t hash[WARD_SHA256_LEN];
} ward_audit_cursor;
ward_err ward_audit_verify_from(const char *dir, const ward_pkey *pubkey,
                                ward_audit_cursor *cursor, ward_audit_report *report);

/* ---- export --------------------------------------------------------------------------------- */

/* Writes the records with time >= since_ms (0: all) to out as JSON lines, each followed by the
 * checkpoints made at its seq (anchors come first):
 *   {"type":"record","seq":N,"time":"2026-01-02T03:04:05.678Z","time_ms":N,"actor":S,
 *    "auth_method":S,"action":S,"object":S,"outcome":"success|failure|denied",
 *    "request_id":S,"details":{...},"prev_hash":HEX,"hash":HEX}
 *   {"type":"checkpoint","kind":"periodic|close|anchor|request","log_id":HEX,"first_seq":N,
 *    "seq":N,"hash":HEX,"range_digest":HEX,"time":S,"time_ms":N,"signature":HEX}
 * A SIEM can check the records' chain and the checkpoints' signatures from these lines alone.
 * Export does not verify: run ward_audit_verify. *count (may be NULL): records written. */
ward_err ward_audit_export(const char *dir, int64_t since_ms, FILE *out, uint64_t *count);

const char *ward_audit_outcome_name(ward_audit_outcome outcome); /* "success", ... */

/* A ward_tee_event_fn (include/ward/tee.h) writing TA lifecycle events to the audit log arg
 * (a ward_audit *): ta.create, ta.destroy, key.release and ta.report, actor "node", object
 * "<ta name>/<instance id hex>", details {measurement, result, reason} (reason: why it failed,
 * or a note on a success such as "the instance was interrupted"). Install it with
 * ward_tee_set_event_hook(tee, ward_audit_tee_event, log). Queued asynchronously: a TA call
 * never waits for the disk; see "Durability". */
struct ward_tee_event;
void ward_audit_tee_event(void *log, const struct ward_tee_event *ev);
const char *ward_audit_problem_name(ward_audit_problem problem); /* "edited", ... */

#ifdef __cplusplus
}
#endif
#endif
