/* Helpers for the end-to-end task tests of wardd (test_wardd_*.c): manifests and their
 * envelopes, posting a task, uploading encrypted inputs, reading a task, running it, and
 * fetching and checking its result. Every helper fails the test on what it asserts. */
#ifndef WARD_TESTS_WARDD_TASKS_UTIL_H
#define WARD_TESTS_WARDD_TASKS_UTIL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "wardd_harness.h"
#include "ward/crypto.h"
#include "ward/task.h"

/* Lower-case hex of n bytes into out (2n + 1 characters with the NUL). */
void tu_hex(const uint8_t *b, size_t n, char *out);
/* A fresh random task id. */
void tu_task_new_id(char id[WARD_TASK_ID_HEX_LEN + 1]);
/* The base64 of k's DER SPKI, as a manifest names a key (malloc'd). */
char *tu_spki_b64(const ward_pkey *k);
/* The base64url member of j, decoded (malloc'd); fails the test if it is missing or bad. */
uint8_t *tu_b64u_member(json_t *j, const char *member, size_t *len);

/* One input slot of a manifest. */
typedef struct tu_slot {
    const char *name;
    const ward_pkey *owner;
    json_int_t max_bytes;
} tu_slot;

/* A manifest of version 1 with one recipient and retention delete-on-done. */
typedef struct tu_manifest_spec {
    const char *id;
    const ward_pkey *creator;
    const char *fn;      /* the built-in function */
    json_t *params;      /* stolen by tu_manifest_json */
    const tu_slot *slots;
    size_t n_slots;
    const ward_pkey *recipient;
    const uint8_t *x25519; /* the recipient's 32-byte result key */
    int64_t expires_at;
} tu_manifest_spec;

/* The manifest as JSON (new reference). */
json_t *tu_manifest_json(const tu_manifest_spec *s);
/* j serialised and parsed (j is not stolen). */
ward_task_manifest *tu_manifest_parse(json_t *j);
/* tu_manifest_json, then tu_manifest_parse. */
ward_task_manifest *tu_manifest_make(const tu_manifest_spec *s);
/* Signs m with each key; every one must succeed. */
void tu_manifest_sign(ward_task_manifest *m, const ward_pkey *const *keys, size_t n);
/* The signed envelope of m (malloc'd). */
char *tu_envelope(const ward_task_manifest *m);

/* POST /v1/tasks as who: 201 and `approved` (else fails with the state and reason); the TA's
 * task key into task_pk unless that is NULL. */
void tu_task_post_approved(const tu_wardd *d, const tu_party *who, const char *env,
                           uint8_t task_pk[32]);

/* GET path as who (NULL: no certificate): 200, the body as JSON (new reference). */
json_t *tu_get_json(const tu_wardd *d, const tu_party *who, const char *path);
/* GET /v1/tasks/{id} as who. */
json_t *tu_task_get(const tu_wardd *d, const tu_party *who, const char *id);
/* POST /v1/tasks/{id}/run as who: 200, the task view it answers (new reference). */
json_t *tu_task_run(const tu_wardd *d, const tu_party *who, const char *id);
/* tu_task_run, and the task must be done (else fails with its state and reason). */
void tu_task_run_done(const tu_wardd *d, const tu_party *who, const char *id);
/* GET /healthz: 200. */
void tu_healthz(const tu_wardd *d);

/* csv sealed to task_pk with the associated data of (id, slot), in chunks of chunk bytes
 * (0: the stream's default). The ciphertext (malloc'd) and its length in ct_len. */
uint8_t *tu_input_seal(const uint8_t task_pk[32], const char *id, const char *slot, size_t chunk,
                       const char *csv, size_t csv_len, size_t *ct_len);
/* PUT /v1/tasks/{id}/inputs/{slot}?offset=offset[&final=1] as who with len bytes of data. */
tu_resp tu_input_put(const tu_wardd *d, const tu_party *who, const char *id, const char *slot,
                     size_t offset, int final, const uint8_t *data, size_t len);
/* Uploads ct from offset 0 in PUTs of at most piece bytes (0: one PUT), the last final: each
 * 200 with the offset after it, the last complete. */
void tu_input_upload(const tu_wardd *d, const tu_party *who, const char *id, const char *slot,
                     const uint8_t *ct, size_t len, size_t piece);

/* A task's result as its recipient fetches it: the metadata's statement, signature and
 * signing key, and the ciphertext. */
typedef struct tu_result {
    uint8_t *statement, *signature, *sign_pk, *enc;
    size_t statement_len, signature_len, sign_pk_len, enc_len;
} tu_result;

/* GET /v1/tasks/{id}/result as who (200; statement, signature, sign_pk, result_bytes > 0), then
 * the whole ciphertext in one GET .../result/data?offset=0 (200, result_bytes long). */
void tu_result_fetch(const tu_wardd *d, const tu_party *who, const char *id, tu_result *r);
void tu_result_free(tu_result *r);
/* The result's sign_pk is the DER SPKI sign_pk (the key the task showed) and its signature over
 * the statement verifies with it; the ciphertext opens with sk and the manifest digest (and not
 * with another key); the statement names fn, digest, params and the plaintext
 * (tu_statement_check). The plaintext (malloc'd, NUL-terminated) and its length in pt_len. */
char *tu_result_open(const tu_result *r, const uint8_t *sign_pk, size_t sign_pk_len,
                     const uint8_t digest[32], const char *fn, const char *params,
                     const uint8_t sk[32], size_t *pt_len);
/* "WARD-RESULT-1" 0 | u8 len | fn | digest | SHA-256(params) | inputs | SHA-256(pt) | u64 LE
 * len(pt). params NULL: that hash is not checked. */
void tu_statement_check(const uint8_t *st, size_t stl, const char *fn, const uint8_t digest[32],
                        const char *params, const uint8_t *pt, size_t ptl);

#endif
