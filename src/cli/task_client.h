/* Internal to `ward`: what a participant does with a task on wardd (docs/api.md "Tasks",
 * docs/cli.md), shared by `ward task ...` and `ward demo` so that both run the same checks:
 * write a manifest, call the API and report its errors, check the task's evidence and what its
 * report binds, encrypt and upload an input in resumable chunks, and verify and decrypt a
 * result. Messages go to stderr prefixed with tc_prog. */
#ifndef WARD_CLI_TASK_CLIENT_H
#define WARD_CLI_TASK_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "cli/client.h"
#include "ward/claims.h"
#include "ward/evidence.h"
#include "ward/policy.h"
#include "ward/task.h"

/* The prefix of every message ("ward demo", "ward task upload"). */
extern const char *tc_prog;

/* The last error answered by wardd (or status 0 and code "transport"/"reply" for a failure
 * before or after the HTTP exchange): for `--json` error output. */
typedef struct tc_error {
    long status;
    char code[32];
    char message[512];
} tc_error;
extern tc_error tc_last_error;

/* Prints "PROG: what: ward_errmsg()" (or detail) to stderr; returns -1. */
int tc_fail(const char *what);
int tc_fail_msg(const char *what, const char *detail);

/* Lower-case hex of p[0..n) into out (NUL-ended; truncated to what fits). */
void tc_hex(const uint8_t *p, size_t n, char *out, size_t cap);

/* One request. WARD_OK when an HTTP reply came: *status, and *json the parsed body when it is
 * a JSON object (else NULL). A transport failure is returned (message in ward_errmsg()). */
ward_err tc_request(cli_client *c, const char *method, const char *path, const void *body,
                    size_t len, long *status, json_t **json);
/* A request that must answer `want` with a JSON object: returns it, or NULL after printing
 * "PROG: METHOD PATH[ as WHO]: HTTP 403 forbidden: MESSAGE" (wardd's code and message). */
json_t *tc_call(cli_client *c, const char *who, const char *method, const char *path,
                const void *body, size_t len, long want);

/* ---- manifests ------------------------------------------------------------------------------ */

typedef struct tc_slot_spec {
    const char *name;
    const char *owner; /* base64 DER SPKI, as the manifest names keys */
    uint64_t max_bytes;
} tc_slot_spec;

typedef struct tc_recipient_spec {
    const char *identity; /* base64 DER SPKI */
    uint8_t x25519[WARD_TASK_X25519_LEN];
} tc_recipient_spec;

typedef struct tc_manifest_spec {
    const char *task_id;  /* NULL: 16 random bytes */
    const char *creator;  /* base64 DER SPKI */
    const char *function; /* "sql" or "psi" */
    const json_t *params; /* {"query"} or {"key","columns"} */
    const tc_slot_spec *slots;
    size_t n_slots;
    const tc_recipient_spec *recipients;
    size_t n_recipients;
    int64_t expires_at;
    const char *retention; /* "delete-on-done" or "keep-days:N" */
    uint32_t cancel_quorum; /* 0: the default (a majority) */
} tc_manifest_spec;

/* Builds and strictly parses the manifest (the parser's message names a bad member). */
ward_err tc_manifest_build(const tc_manifest_spec *s, ward_task_manifest **out);

/* What the result statement hashes as params: the query (sql), "key LF col1,col2" (psi).
 * malloc'd, NUL-ended. */
ward_err tc_params_text(const ward_task_manifest *m, char **out);

/* ---- the task's evidence --------------------------------------------------------------------- */

/* How a participant appraises the node: its anchors for the platform key and its policy
 * (NULL: the default policy, which never accepts the software TEE's `warning`). */
typedef struct tc_trust {
    ward_evidence_trust anchors;
    const ward_policy *policy;
} tc_trust;

/* What a verified evidence bound: the task's keys. */
typedef struct tc_task_keys {
    uint8_t task_pk[WARD_X25519_LEN];
    uint8_t *sign_spki;
    size_t sign_spki_len;
    ward_pkey *sign_pk;
    ward_claims claims;
    ward_appraisal appraisal;
} tc_task_keys;
void tc_task_keys_free(tc_task_keys *k);

/* obj: a task's "ta" member or a result reply (both carry task_pk, sign_pk and evidence).
 * Verifies the evidence against trust's anchors, appraises it with trust's policy (must be
 * accepted), and checks report_data = SHA-256(digest || task_pk || SHA-256(sign_pk)) || 0^32.
 * 0 with *out filled, or -1 after printing why. */
int tc_check_evidence(const json_t *obj, const uint8_t digest[WARD_TASK_HASH_LEN],
                      const tc_trust *trust, tc_task_keys *out);
/* 1 if both name the same task keys. */
int tc_task_keys_equal(const tc_task_keys *a, const tc_task_keys *b);

/* ---- inputs ---------------------------------------------------------------------------------- */

/* Where an input's plaintext comes from, read piece by piece: read(arg, buf, cap, &got) puts
 * up to cap bytes in buf, got 0 at the end; 0, or -1 with a reason in err (the upload prints
 * it). size: the plaintext length when known beforehand (for the progress bar), else
 * TC_SIZE_UNKNOWN. */
#define TC_SIZE_UNKNOWN UINT64_MAX
typedef struct tc_source {
    int (*read)(void *arg, uint8_t *buf, size_t cap, size_t *got, char *err, size_t err_cap);
    void *arg;
    uint64_t size;
} tc_source;

/* A buffer in memory (p must outlive the upload). */
typedef struct tc_mem_source {
    const uint8_t *p;
    size_t len, off;
} tc_mem_source;
tc_source tc_source_mem(tc_mem_source *m, const void *p, size_t len);
/* A stream (a file or stdin); size as for tc_source. */
tc_source tc_source_file(FILE *f, uint64_t size);

typedef struct tc_upload_stats {
    uint64_t pt_len, ct_len;
    uint8_t pt_sha256[32]; /* of the plaintext read, computed as it was encrypted */
    size_t chunks;  /* PUT requests that stored bytes */
    size_t resumes; /* times the upload went on at the node's offset */
    double seal_s;  /* reading, hashing and encrypting (overlapped with the sending) */
    double send_s;  /* the whole upload, wall time */
} tc_upload_stats;

/* Reads src, encrypts it to task_pk with the slot's associated data and uploads the stream
 * from offset 0 in PUTs of `chunk` ciphertext bytes, as it is produced: a second thread reads,
 * hashes and encrypts the next chunk while this one is sent, so memory stays a few chunks
 * whatever the input's size. A lost connection or reply is retried (a few times, backing
 * off); a 409 offset_mismatch resumes at the node's offset, which must lie within the chunk
 * being sent (the earlier ones are gone). bar_label: a progress bar on stderr with this label
 * (NULL: none). 0, or -1 after printing why. */
int tc_upload(cli_client *c, const char *who, const char *task_id, const char *slot,
              const uint8_t task_pk[WARD_X25519_LEN], const tc_source *src, size_t chunk,
              const char *bar_label, tc_upload_stats *st);

/* Internal helpers shared by task_client.c and task_upload.c. */
void tc_report_http(const char *who, const char *method, const char *path, long status,
                    const json_t *j, int not_json);
double tc_now_s(void);
void tc_sleep_ms(long ms);

/* ---- results --------------------------------------------------------------------------------- */

typedef struct tc_result {
    uint8_t *csv; /* the plaintext when kept in memory (wiped by tc_result_free), else NULL */
    size_t csv_len;
    uint8_t inputs_digest[WARD_TASK_HASH_LEN]; /* from the signed statement */
    uint8_t csv_sha256[WARD_TASK_HASH_LEN];
} tc_result;
void tc_result_free(tc_result *r);

/* res: the reply of GET .../result (the metadata); bound: the keys its evidence bound
 * (tc_check_evidence). Checks that sign_pk is the bound one, the signature over the statement,
 * that the statement names this manifest's function, digest and params; then fetches the
 * ciphertext (result_bytes) with GET .../result/data piece by piece (a progress bar labelled
 * bar_label, NULL: none), decrypts it as it comes with x_sk and the digest as associated data,
 * and checks the whole CSV's SHA-256 and length against the statement. out_path NULL: the CSV
 * is kept in memory (out->csv); else it goes to a temporary file beside out_path (0600),
 * renamed to out_path only once every check passed (removed otherwise). 0, or -1 after
 * printing why. */
int tc_result_open(cli_client *c, const char *who, const json_t *res,
                   const ward_task_manifest *m, const tc_task_keys *bound,
                   const uint8_t x_sk[WARD_X25519_LEN], const char *out_path,
                   const char *bar_label, tc_result *out);

/* The statement's inputs digest from each slot's plaintext SHA-256 and record count, in the
 * manifest's slot order (docs/builtins.md). */
ward_err tc_inputs_digest(const ward_task_manifest *m, const uint8_t (*sha256)[32],
                          const uint64_t *records, uint8_t out[32]);

/* ---- a progress bar on stderr (only when stderr is a terminal) ------------------------------- */

typedef struct tc_bar {
    int on;
    const char *label;
    uint64_t total; /* 0: unknown (a pipe) */
    uint64_t done;
    double t0, last;
} tc_bar;
void tc_bar_start(tc_bar *b, const char *label, uint64_t total);
void tc_bar_update(tc_bar *b, uint64_t done);
void tc_bar_end(tc_bar *b);

#endif
