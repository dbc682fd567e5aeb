/* Tasks (DESIGN 4, issue 6): the task manifest every party signs, and the task lifecycle store.
 * docs/formats.md, "Task manifest", is the normative description of the format; this header
 * says what each call does. Code: src/app/task_manifest.c, src/app/task_store.c.
 *
 * ---- Parties --------------------------------------------------------------------------------
 * A party is identified by the SHA-256 of its key's DER SubjectPublicKeyInfo (ECDSA P-256), as
 * everywhere in Ward (ward_pkey_spki_sha256). The manifest names keys, never names of people:
 *   creator     the key that wrote the manifest (required member "creator");
 *   owners      the key of each input slot ("inputs"[].owner);
 *   recipients  the keys that receive the result ("recipients"[].identity); each recipient
 *               also names, signed with the rest, the X25519 public key its result is
 *               encrypted to ("recipients"[].x25519): the TA takes it from the manifest.
 * participants = creator ∪ owners ∪ recipients (derived, never written in the manifest; one key
 * that plays several roles counts once). EVERY participant must sign: the creator, every input
 * owner and every recipient. The cancel quorum counts participants; its default is a majority,
 * floor(n / 2) + 1 of the n participants.
 *
 * ---- Signed bytes -----------------------------------------------------------------------------
 * The canonical manifest is the RFC 8785 (JCS) serialisation of the manifest object, exactly the
 * bytes ward_task_manifest_canonical returns; the manifest digest (what a TA report binds) is
 * SHA-256 of those bytes. The signed message is "ward-task-manifest-v1", a zero byte, then the
 * digest (ward_task_signed_message): the label keeps a task signature from counting in any
 * other protocol. Signatures are ECDSA P-256 / SHA-256 over it, raw r||s (64 bytes),
 * base64url without padding, and travel in an envelope beside the manifest:
 *   {"manifest": {...}, "signatures": {"<base64url SHA-256(SPKI)>": "<base64url r||s>", ...}}
 *
 * ---- Lifecycle ----------------------------------------------------------------------------------
 *   created -> approved -> collecting -> running -> done
 *   and from each of created, approved, collecting, running: -> failed | cancelled | expired.
 * done, failed, cancelled and expired are final: nothing leaves them. Every transition is a row of
 * the append-only transitions table and, when the store has an audit handle, an audit record
 * (action "task.transition"). Each target state has its own guard (ward_task_transition).
 *
 * Thread safety: a manifest object is not locked (share it read-only, or copy); a store handle may
 * be used from several threads (every call holds the store's mutex). */
#ifndef WARD_TASK_H
#define WARD_TASK_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "ward/audit.h"
#include "ward/crypto.h"
#include "ward/err.h"

#ifdef __cplusplus
extern "C" {
#endif

#define WARD_TASK_VERSION 1
#define WARD_TASK_ID_LEN 16            /* bytes; 32 lower-case hex digits in the manifest */
#define WARD_TASK_ID_HEX_LEN 32
#define WARD_TASK_HASH_LEN 32          /* SHA-256 of an SPKI; manifest digest */
#define WARD_TASK_SIG_LEN 64           /* raw r||s */
#define WARD_TASK_TEXT_MAX 262144u     /* manifest or envelope text, bytes */
#define WARD_TASK_MAX_SLOTS 64
#define WARD_TASK_MAX_RECIPIENTS 64
#define WARD_TASK_MAX_PARTICIPANTS (1 + WARD_TASK_MAX_SLOTS + WARD_TASK_MAX_RECIPIENTS)
#define WARD_TASK_SLOT_NAME_MAX 64     /* [A-Za-z][A-Za-z0-9_]{0,63} */
#define WARD_TASK_QUERY_MAX 65536      /* bytes of the sql query */
#define WARD_TASK_COLUMN_MAX 128       /* bytes of a psi column name */
#define WARD_TASK_MAX_COLUMNS 256
#define WARD_TASK_KEEP_DAYS_MAX 3650
#define WARD_TASK_REASON_MAX 512       /* bytes of a transition reason */
#define WARD_TASK_SPKI_MAX 1024        /* bytes of a DER SubjectPublicKeyInfo */
#define WARD_TASK_X25519_LEN 32        /* a recipient's result key (X25519 public key) */
/* The associated data of a slot's input stream: "ward-task-input-v1/<task_id>/<slot>". */
#define WARD_TASK_AAD_PREFIX "ward-task-input-v1/"
#define WARD_TASK_AAD_MAX (sizeof WARD_TASK_AAD_PREFIX + WARD_TASK_ID_HEX_LEN + 1 + \
                           WARD_TASK_SLOT_NAME_MAX)

/* Why a task was failed when the node found it running at open (crash recovery). */
#define WARD_TASK_REASON_RESTART "node restarted during run"

typedef enum ward_task_fn {
    WARD_TASK_FN_SQL = 1,  /* {"builtin":"sql"} */
    WARD_TASK_FN_PSI = 2,  /* {"builtin":"psi"} */
    WARD_TASK_FN_TA = 3    /* {"ta_measurement": "<64 hex>"} */
} ward_task_fn;

typedef enum ward_task_retention {
    WARD_TASK_RETAIN_DELETE = 1, /* "delete-on-done": at the final state, whatever it is */
    WARD_TASK_RETAIN_KEEP_DAYS = 2 /* "keep-days:N": N days after the final state */
} ward_task_retention;

/* ======================================= Manifest ========================================== */

typedef struct ward_task_manifest ward_task_manifest;

/* Parses a bare manifest object (no signatures yet), strictly: at most WARD_TASK_TEXT_MAX bytes,
 * strict JSON, no unknown member at any level, no real number, every field's type and range,
 * every key a canonical P-256 SPKI. WARD_ERR_FORMAT with the member's path in the message
 * (e.g. "inputs[1].owner: not base64"); WARD_ERR_UNSUPPORTED for another version. */
ward_err ward_task_manifest_parse(const char *text, size_t len, ward_task_manifest **out);

/* Parses an envelope {"manifest": {...}, "signatures": {...}} (both members required, nothing
 * else): the manifest as above, and each signature's syntax (key: base64url of 32 bytes, value:
 * base64url of 64 bytes). A signature whose key is not a participant's is refused here
 * (WARD_ERR_PERMISSION, "signature by a non-party"); a duplicate signer is refused by the strict
 * JSON parse (duplicate member). Signatures are NOT verified: call ward_task_verify_signatures. */
ward_err ward_task_envelope_parse(const char *text, size_t len, ward_task_manifest **out);

void ward_task_manifest_free(ward_task_manifest *m);

/* The canonical bytes: the JCS of the manifest (borrowed; valid while m lives). */
const char *ward_task_manifest_canonical(const ward_task_manifest *m, size_t *len);
/* The message every participant signs: "ward-task-manifest-v1" || 0x00 || manifest digest. */
#define WARD_TASK_SIGNED_MSG_LEN 54
ward_err ward_task_signed_message(const ward_task_manifest *m,
                                  uint8_t out[WARD_TASK_SIGNED_MSG_LEN]);
/* SHA-256 of the canonical bytes: the value a TA report binds. */
void ward_task_manifest_digest(const ward_task_manifest *m, uint8_t out[WARD_TASK_HASH_LEN]);

/* The envelope in canonical form (JCS), with the signatures held now (malloc'd, NUL-ended). */
ward_err ward_task_envelope_serialize(const ward_task_manifest *m, char **out, size_t *len);

/* Signs with key (a P-256 private key) and adds the signature. WARD_ERR_PERMISSION if the key is
 * not a participant's; WARD_ERR_EXISTS if that participant has already signed. */
ward_err ward_task_sign(ward_task_manifest *m, const ward_pkey *key);

/* Adds one signature given by its parts (base64url strings), e.g. received separately. Checks it
 * at once: WARD_ERR_PERMISSION (non-party), WARD_ERR_EXISTS (already signed: same signature is
 * WARD_OK), WARD_ERR_VERIFY (does not verify), WARD_ERR_FORMAT (encoding). */
ward_err ward_task_add_signature(ward_task_manifest *m, const uint8_t spki_hash[WARD_TASK_HASH_LEN],
                                 const uint8_t sig[WARD_TASK_SIG_LEN]);

/* WARD_OK only when every participant has signed and each signature verifies over the canonical
 * bytes. Otherwise WARD_ERR_VERIFY naming the first bad signer ("signature of <role> <hash>
 * does not verify: the manifest was changed after signing, or the signature is not theirs") or
 * the number missing and the first missing ("missing 1 of 3 signatures; first missing: owner of
 * slot "a" <hash>"). */
ward_err ward_task_verify_signatures(const ward_task_manifest *m);

/* ---- accessors (borrowed pointers live as long as m) ---- */
const char *ward_task_id(const ward_task_manifest *m); /* 32 lower-case hex digits */
ward_task_fn ward_task_function(const ward_task_manifest *m);
const char *ward_task_ta_measurement(const ward_task_manifest *m); /* hex, or NULL (builtin) */
const json_t *ward_task_params(const ward_task_manifest *m);       /* the "params" object */
const char *ward_task_sql_query(const ward_task_manifest *m);      /* NULL unless sql */
const char *ward_task_psi_key(const ward_task_manifest *m);        /* NULL unless psi */
size_t ward_task_psi_column_count(const ward_task_manifest *m);
const char *ward_task_psi_column(const ward_task_manifest *m, size_t i); /* NULL out of range */

typedef struct ward_task_slot_desc {
    const char *name;
    uint8_t owner[WARD_TASK_HASH_LEN]; /* SHA-256 of the owner's SPKI */
    const uint8_t *owner_spki;         /* DER */
    size_t owner_spki_len;
    uint64_t max_bytes;                /* limit on the slot's stored ciphertext */
} ward_task_slot_desc;

size_t ward_task_slot_count(const ward_task_manifest *m);
ward_err ward_task_slot_at(const ward_task_manifest *m, size_t i, ward_task_slot_desc *out);
/* WARD_ERR_NOT_FOUND for an unknown slot name. */
ward_err ward_task_slot_find(const ward_task_manifest *m, const char *name, ward_task_slot_desc *out);

size_t ward_task_recipient_count(const ward_task_manifest *m);
/* hash of recipient i; spki/spki_len may be NULL. */
ward_err ward_task_recipient_at(const ward_task_manifest *m, size_t i,
                                uint8_t hash[WARD_TASK_HASH_LEN], const uint8_t **spki,
                                size_t *spki_len);
/* The X25519 public key recipient i's result is encrypted to (from the signed manifest). */
ward_err ward_task_recipient_x25519(const ward_task_manifest *m, size_t i,
                                    uint8_t out[WARD_TASK_X25519_LEN]);
/* The associated data slot's input stream must carry: WARD_TASK_AAD_PREFIX "<task_id>/<slot>"
 * (NUL-terminated in out; *len its length, may be NULL). WARD_ERR_NOT_FOUND for an unknown slot;
 * WARD_ERR_OVERFLOW if cap is too small (WARD_TASK_AAD_MAX always fits). */
ward_err ward_task_slot_aad(const ward_task_manifest *m, const char *slot, char *out, size_t cap,
                            size_t *len);
void ward_task_creator(const ward_task_manifest *m, uint8_t hash[WARD_TASK_HASH_LEN]);
size_t ward_task_participant_count(const ward_task_manifest *m);
ward_err ward_task_participant_at(const ward_task_manifest *m, size_t i,
                                  uint8_t hash[WARD_TASK_HASH_LEN]);
uint32_t ward_task_cancel_quorum(const ward_task_manifest *m); /* explicit or the default */
int64_t ward_task_expires_at(const ward_task_manifest *m);     /* Unix seconds */
ward_task_retention ward_task_retention_of(const ward_task_manifest *m, uint32_t *keep_days);
/* 1 if that participant's signature is held (not verified by this call). */
int ward_task_has_signature(const ward_task_manifest *m, const uint8_t hash[WARD_TASK_HASH_LEN]);

/* ---- authorization (who may do what, by the authenticated key's SPKI hash) ----
 * WARD_OK, or WARD_ERR_PERMISSION with the reason; WARD_ERR_NOT_FOUND for an unknown slot. */
ward_err ward_task_may_upload(const ward_task_manifest *m, const char *slot,
                              const uint8_t spki_hash[WARD_TASK_HASH_LEN]);
ward_err ward_task_may_read_result(const ward_task_manifest *m,
                                   const uint8_t spki_hash[WARD_TASK_HASH_LEN]);
ward_err ward_task_may_cancel(const ward_task_manifest *m,
                              const uint8_t spki_hash[WARD_TASK_HASH_LEN]);

/* ===================================== Lifecycle store ====================================== */

typedef enum ward_task_state {
    WARD_TASK_CREATED = 0,
    WARD_TASK_APPROVED,
    WARD_TASK_COLLECTING,
    WARD_TASK_RUNNING,
    WARD_TASK_DONE,
    WARD_TASK_FAILED,
    WARD_TASK_CANCELLED,
    WARD_TASK_EXPIRED,
    WARD_TASK_STATE__COUNT
} ward_task_state;

const char *ward_task_state_name(ward_task_state s); /* "created", ...; "?" if out of range */
int ward_task_state_is_final(ward_task_state s);
/* 1 if the lifecycle has the edge from -> to (guards aside). */
int ward_task_transition_allowed(ward_task_state from, ward_task_state to);

typedef struct ward_task_store ward_task_store;

typedef struct ward_task_store_options {
    ward_audit *audit;              /* optional: every transition, vote, deletion is recorded */
    int64_t (*now)(void *arg);      /* Unix seconds; NULL: time(NULL). Injectable for tests */
    void *clock_arg;
    int no_fsync;                   /* tests only: skip fdatasync of uploaded chunks */
} ward_task_store_options;

/* Opens (creating when absent) DIR/tasks.db (WAL, synchronous=FULL, mode 0600) and DIR/blobs/.
 * DIR must exist. Crash recovery: every task found `running` becomes `failed` with reason
 * WARD_TASK_REASON_RESTART (a recorded transition, audited, retention applied);
 * ward_task_store_recovered tells how many. One store per directory at a time (flock). */
ward_err ward_task_store_open(const char *dir, const ward_task_store_options *opts,
                              ward_task_store **out);
void ward_task_store_close(ward_task_store *s);
size_t ward_task_store_recovered(const ward_task_store *s);

/* Registers a task from an envelope (signatures may be incomplete; those present are checked
 * at once, as ward_task_add_signature does). State `created`. WARD_ERR_EXISTS for a task id the
 * store already has. actor: who asked (audit), e.g. the creator's hash in hex; NULL: "node". */
ward_err ward_task_store_create(ward_task_store *s, const char *envelope, size_t len,
                                const char *actor);
/* Merges the signatures of another envelope of the same manifest (same digest, else
 * WARD_ERR_VERIFY "a different manifest") into the stored one; each new one is checked.
 * Only in state `created`. */
ward_err ward_task_store_add_signatures(ward_task_store *s, const char *task_id,
                                        const char *envelope, size_t len, const char *actor);
/* The stored envelope, parsed (caller frees). */
ward_err ward_task_store_manifest(ward_task_store *s, const char *task_id,
                                  ward_task_manifest **out);

typedef struct ward_task_info {
    ward_task_state state;
    char reason[WARD_TASK_REASON_MAX + 1]; /* reason of the last transition ("" if none) */
    int64_t created_at, updated_at;        /* Unix seconds */
    int64_t final_at;                      /* when it became final; 0 if not final */
    int64_t expires_at;
    uint32_t cancel_votes, cancel_quorum;
    uint32_t transitions;                  /* rows in the transitions table for this task */
} ward_task_info;
ward_err ward_task_store_info(ward_task_store *s, const char *task_id, ward_task_info *out);

/* Moves a task to `to`, atomically, if the lifecycle has that edge and the guard holds:
 *   approved    every participant's signature verifies, and now < expires_at;
 *   collecting  (none);
 *   running     every slot finished (ward_task_slot_finish), and now < expires_at;
 *   done        a result stored for every recipient;
 *   failed      (none; reason required);
 *   cancelled   the cancel votes have reached the quorum (normally reached via
 *               ward_task_cancel_vote, which makes this transition itself);
 *   expired     now >= expires_at.
 * WARD_ERR_STATE for an edge the lifecycle lacks ("illegal transition done -> running"),
 * WARD_ERR_VERIFY / WARD_ERR_STATE for a failed guard, with the reason. On entering a final
 * state: open uploads are closed and, under "delete-on-done", the slots' ciphertext files are
 * deleted (see ward_task_store_sweep for "keep-days:N"). reason may be NULL except for failed. */
ward_err ward_task_transition(ward_task_store *s, const char *task_id, ward_task_state to,
                              const char *reason, const char *actor);

/* ---- input slots: resumable uploads of ciphertext ----
 * The store owns the files: DIR/blobs/<task_id>/<slot>.ct. An upload is a sequence of chunks
 * numbered 0, 1, 2, ...; each append writes the chunk at the end of the file, fdatasyncs it and
 * then commits the new progress (bytes, chunk count, SHA-256 of the bytes stored so far). After
 * a crash the file may hold a partly written chunk beyond the committed length: the next append
 * truncates it back and re-hashes the stored prefix, refusing to continue (WARD_ERR_VERIFY) if
 * it no longer matches the recorded SHA-256. A lost connection resumes at chunk `chunks`. */
typedef struct ward_task_slot_info {
    uint64_t bytes;                    /* ciphertext bytes stored so far */
    uint64_t chunks;                   /* chunks stored so far: the next index to send */
    uint8_t sha256[WARD_TASK_HASH_LEN];/* SHA-256 of the bytes stored so far */
    int complete;                      /* ward_task_slot_finish called */
    int deleted;                       /* ciphertext deleted by retention */
    char path[4096];                   /* the ciphertext file */
} ward_task_slot_info;

/* Appends chunk `index` to slot. Only in state `collecting`; only by the slot's owner
 * (WARD_ERR_PERMISSION); index == chunks expected: an index below it is WARD_ERR_EXISTS
 * ("already stored": the client skips it), above it WARD_ERR_STATE; len 1 .. 2^30; the total
 * must stay within the slot's max_bytes (WARD_ERR_LIMIT). Refused after finish. */
ward_err ward_task_slot_append(ward_task_store *s, const char *task_id, const char *slot,
                               const uint8_t uploader[WARD_TASK_HASH_LEN], uint64_t index,
                               const uint8_t *data, size_t len);
/* The same chunk given as consecutive pieces (e.g. a network buffer's segments, written
 * without first being copied together); their total is the chunk's length. */
typedef struct ward_task_piece {
    const uint8_t *data;
    size_t len;
} ward_task_piece;
ward_err ward_task_slot_append_pieces(ward_task_store *s, const char *task_id, const char *slot,
                                      const uint8_t uploader[WARD_TASK_HASH_LEN], uint64_t index,
                                      const ward_task_piece *pieces, size_t n);
/* Marks the slot's upload complete (owner only; 0 bytes refused: WARD_ERR_STATE). */
ward_err ward_task_slot_finish(ward_task_store *s, const char *task_id, const char *slot,
                               const uint8_t uploader[WARD_TASK_HASH_LEN]);
ward_err ward_task_slot_get(ward_task_store *s, const char *task_id, const char *slot,
                            ward_task_slot_info *out);

/* ---- results, one per recipient (already encrypted to that recipient by the TA) ----
 * Stored as DIR/blobs/<task_id>/result-<hex hash>.ct; only in state `running`; kept after the
 * final state (they are encrypted to their recipient; retention applies to input ciphertexts). */
ward_err ward_task_result_put(ward_task_store *s, const char *task_id,
                              const uint8_t recipient[WARD_TASK_HASH_LEN], const uint8_t *data,
                              size_t len);
typedef struct ward_task_result_info {
    uint64_t bytes;
    uint8_t sha256[WARD_TASK_HASH_LEN];
    char path[4096];
} ward_task_result_info;
/* For reader's own result: WARD_ERR_PERMISSION if reader is not a recipient; WARD_ERR_NOT_FOUND
 * if not (yet) stored. */
ward_err ward_task_result_get(ward_task_store *s, const char *task_id,
                              const uint8_t reader[WARD_TASK_HASH_LEN],
                              ward_task_result_info *out);

/* ---- cancellation by quorum ----
 * Records voter's vote (a participant: else WARD_ERR_PERMISSION, recorded as a denied audit
 * event). A second vote by the same participant counts once (WARD_OK, nothing changes). When
 * the votes reach the quorum the task moves to `cancelled` in the same transaction: *cancelled
 * is set to 1 by exactly that call, 0 otherwise. Voting on a final task: WARD_ERR_STATE. */
ward_err ward_task_cancel_vote(ward_task_store *s, const char *task_id,
                               const uint8_t voter[WARD_TASK_HASH_LEN], int *cancelled);

/* Expiry and retention sweep at the store's clock: each non-final task with expires_at <= now
 * becomes `expired`; each final "keep-days:N" task whose final_at + N days <= now has its
 * ciphertext files deleted. Counts are optional outputs. */
ward_err ward_task_store_sweep(ward_task_store *s, size_t *expired, size_t *files_deleted);

/* Tasks by state (for /metrics): counts[WARD_TASK_STATE__COUNT]. */
ward_err ward_task_store_count(ward_task_store *s, uint64_t counts[WARD_TASK_STATE__COUNT]);

#ifdef __cplusplus
}
#endif
#endif
