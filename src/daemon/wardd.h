/* wardd internals: the daemon's state, shared by its few files (main, server, tls, metrics,
 * routes). Not a public interface. docs/api.md documents what clients see. */
#ifndef WARDD_H
#define WARDD_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/ssl.h>

#include "ward/alarm.h"
#include "ward/audit.h"
#include "ward/crypto.h"
#include "ward/identity.h"
#include "ward/nonce.h"
#include "ward/policy.h"
#include "ward/rot.h"
#include "ward/task.h"
#include "ward/tee.h"

struct event_base;
struct evhttp;
struct evhttp_request;
struct event;
struct ward_tee_event;

/* ---- limits ---------------------------------------------------------------------------------- */

/* Largest request body the HTTP layer reads at all (above it: 413 from the HTTP layer). The
 * verify route needs room for a 4 MiB evidence bundle embedded as a JSON string (escaping) plus
 * an inline policy. */
#define WARDD_MAX_BODY ((size_t)10 << 20)
/* Bodies of the routes that take no real input (challenge, healthz, ...). */
#define WARDD_SMALL_BODY ((size_t)4096)
#define WARDD_MAX_HEADERS ((size_t)16 << 10)
#define WARDD_TIMEOUT_S 30
#define WARDD_NONCE_CAPACITY ((size_t)65536)
#define WARDD_NONCE_TTL_S_DEFAULT 300
#define WARDD_REQUEST_ID_LEN 24 /* hex characters */

/* ---- metrics --------------------------------------------------------------------------------- */

typedef enum wardd_route {
    WARDD_ROUTE_HEALTHZ = 0,
    WARDD_ROUTE_METRICS,
    WARDD_ROUTE_CHALLENGE,
    WARDD_ROUTE_VERIFY,
    WARDD_ROUTE_VERIFIER_KEY,
    WARDD_ROUTE_TASKS, /* everything under /v1/tasks */
    WARDD_ROUTE_OTHER, /* unknown paths: one label, so that clients cannot grow the registry */
    WARDD_ROUTE_COUNT
} wardd_route;

typedef enum wardd_verdict {
    WARDD_VERDICT_AFFIRMING = 0,
    WARDD_VERDICT_WARNING,
    WARDD_VERDICT_CONTRAINDICATED,
    WARDD_VERDICT_REFUSED, /* evidence or nonce refused before appraisal (HTTP 422) */
    WARDD_VERDICT_COUNT
} wardd_verdict;

#define WARDD_LATENCY_BUCKETS 12
#define WARDD_MAX_STATUSES 16 /* distinct HTTP statuses counted per route */

typedef struct wardd_route_metrics {
    int status[WARDD_MAX_STATUSES];
    uint64_t count[WARDD_MAX_STATUSES];
    size_t n_status;
    uint64_t bucket[WARDD_LATENCY_BUCKETS]; /* non-cumulative; rendered cumulative */
    uint64_t n;
    double sum; /* seconds */
    uint64_t bytes_in, bytes_out; /* request and response bodies */
} wardd_route_metrics;

typedef struct wardd_metrics {
    int64_t start_time; /* Unix seconds */
    wardd_route_metrics route[WARDD_ROUTE_COUNT];
    uint64_t verdict[WARDD_VERDICT_COUNT];
    /* Filled just before rendering (wardd_route_prom): tasks by state, live TA instances. */
    int have_tasks;
    uint64_t tasks[WARD_TASK_STATE__COUNT];
    uint32_t ta_instances;
} wardd_metrics;

const char *wardd_route_label(wardd_route r);
void wardd_metrics_init(wardd_metrics *m);
void wardd_metrics_request(wardd_metrics *m, wardd_route r, int status, double seconds,
                           uint64_t bytes_in, uint64_t bytes_out);
void wardd_metrics_verdict(wardd_metrics *m, wardd_verdict v);
/* The Prometheus text exposition (version 0.0.4); *out malloc'd. */
int wardd_metrics_render(const wardd_metrics *m, char **out, size_t *len);

/* ---- the daemon ------------------------------------------------------------------------------ */

typedef struct wardd {
    const char *data_dir;
    struct event_base *base;
    struct evhttp *http;
    SSL_CTX *ssl;
    struct event *sig_term, *sig_int;
    ward_rot *rot;
    ward_policy *policy;      /* --policy, or the default policy */
    ward_pkey *verifier_key;  /* EC P-256 private: signs EARs */
    char *verifier_jwk;       /* GET /v1/attestation/verifier-key body */
    char verifier_kid[64];    /* RFC 7638 thumbprint, base64url */
    uint8_t platform_cert_fp[WARD_SHA256_LEN]; /* pinned: the node trusts its own platform key */
    ward_nonce_store *nonces;
    int64_t nonce_ttl_s;
    ward_audit *audit;
    ward_alarms *alarms;
    ward_identity *identity;  /* DATA_DIR/identity.db: users, roles, client certificates */
    wardd_metrics metrics;
    /* periodic checks (monitor.c) */
    struct event *monitor;
    uint32_t monitor_interval_s;
    ward_pkey *audit_pub;        /* the platform key's public half: verifies the audit log */
    ward_audit_cursor audit_cursor;
    uint64_t audit_alarmed_seq;  /* bad_seq of the failure already alarmed (0: none) */
    char tls_spki_hex[2 * WARD_SHA256_LEN + 1];
    /* tasks (tasks.c, ta.c) */
    const char *builtin_dir;
    ward_task_store *tasks;
    ward_tee *tee;
    ward_tee_image *img_sql, *img_psi;
    uint64_t max_result;       /* bytes of result CSV a task may produce (--max-result) */
    struct wardd_task_rt **rt; /* TA instances (and their public outputs), one per task; only
                                * the loop thread touches it (a run's worker: tasks.c) */
    size_t n_rt, cap_rt;
} wardd;

/* One request in flight. */
typedef struct wardd_req {
    struct evhttp_request *req;
    wardd_route route;
    char id[WARDD_REQUEST_ID_LEN + 1];
    char peer[64];
    const char *method;
    int64_t start_ns;
    uint64_t in_bytes; /* the request body's length as received */
    const char *allow;                    /* Allow header of a 405 (tasks routes) */
    int has_client;                       /* a client certificate was presented */
    uint8_t client[WARD_SHA256_LEN];      /* its SHA-256(SPKI): the caller's identity */
    char client_hex[2 * WARD_SHA256_LEN + 1];
} wardd_req;

/* tls.c: the ONE place the server's SSL_CTX is made (replaced by attested TLS later). */
SSL_CTX *wardd_tls_server_ctx(wardd *d);
/* The SHA-256 of the client certificate's SPKI on req's connection: 0, or -1 if none. */
int wardd_tls_client_id(struct evhttp_request *req, uint8_t out[WARD_SHA256_LEN]);
/* The client certificate on req's connection, which the handshake accepted: 1 if it is
 * self-signed (a participant key: nothing to fill), 0 if a CA issued it (*leaf and the
 * intermediates the client sent: *chain, *n; free with ward_cert_free and
 * ward_cert_list_free), -1 if there is none or it cannot be read. */
int wardd_tls_client_cert(struct evhttp_request *req, ward_cert **leaf, ward_cert ***chain,
                          size_t *n);

/* server.c */
int wardd_server_start(wardd *d, const char *listen, const char *port_file);
void wardd_server_stop(wardd *d);
void wardd_reply_json(wardd *d, wardd_req *r, int status, json_t *body); /* steals body */
void wardd_reply_text(wardd *d, wardd_req *r, int status, const char *ctype, const char *text,
                      size_t len);
void wardd_reply_error(wardd *d, wardd_req *r, int status, const char *code, const char *fmt,
                       ...) __attribute__((format(printf, 5, 6)));
/* The request body, NUL-terminated in a malloc'd copy; replies 413 itself and returns NULL
 * when it is larger than max (and 500 on allocation failure). */
char *wardd_body(wardd *d, wardd_req *r, size_t max, size_t *len);
/* The request body where libevent received it (no copy; valid until the reply is sent): a
 * large body is written straight from its segments. Replies 413 and returns NULL as above. */
struct evbuffer;
struct evbuffer *wardd_body_buffer(wardd *d, wardd_req *r, size_t max, size_t *len);

/* authz.c: the identity database and the permission every endpoint needs. */
ward_err wardd_identity_open(wardd *d);
void wardd_identity_close(wardd *d);
/* The permission method + path needs: 1 and *perm (NULL: a public endpoint), or 0 when the
 * path and method name no endpoint (the handlers answer 404 or 405 themselves). */
int wardd_route_permission(const char *method, const char *path, const char **perm);
/* Authenticates the caller (client certificate) and checks perm: 0 to go on, or -1 once it has
 * replied 401, 403, 429, 500 or 503 (a denial is also an audit record). */
int wardd_authorize(wardd *d, wardd_req *r, const char *perm);

/* monitor.c: periodic checks (disk, the audit chain) and TA lifecycle events. */
int wardd_monitor_start(wardd *d);

/* config_audit.c: what the node was started with (options; files named by them are recorded
 * by SHA-256). Records node.start with it, and config.change when it differs from the
 * previous start's. */
typedef struct wardd_start_config {
    const char *listen, *policy, *alarm_config, *builtin_dir;
    int64_t nonce_ttl_s;
    uint32_t monitor_interval_s;
    uint64_t max_result;
} wardd_start_config;
void wardd_audit_start_config(wardd *d, const wardd_start_config *c);
void wardd_monitor_stop(wardd *d);
/* The TEE's event hook: audit record, and the ta.killed alarm for an instance that ended
 * abnormally. arg is the wardd. */
void wardd_tee_event(void *arg, const struct ward_tee_event *ev);

/* routes.c */
void wardd_route_healthz(wardd *d, wardd_req *r);
void wardd_route_prom(wardd *d, wardd_req *r);
void wardd_route_challenge(wardd *d, wardd_req *r);
void wardd_route_verify(wardd *d, wardd_req *r);
void wardd_route_verifier_key(wardd *d, wardd_req *r);

/* verifier_key.c: DATA_DIR/verifier-key.pem (the file `ward verify --json` uses), created 0600
 * on first use; fills d->verifier_key, verifier_jwk, verifier_kid. */
ward_err wardd_verifier_key_load(wardd *d);
/* A P-256 private key in a PEM file (created 0600 with O_EXCL when absent; refused if others
 * can read it). */
ward_err wardd_key_load_or_create(const char *path, ward_pkey **out);

/* ta.c: the built-in TAs (sql, psi) and their calls (the ward-gen wire encoding, docs/sdk.md). */
ward_err wardd_builtins_open(wardd *d);
void wardd_builtins_close(wardd *d);
typedef struct wardd_ta_init {
    uint8_t *task_pk, *sign_pk, *report, *report_sig;
    size_t task_pk_len, sign_pk_len, report_len, report_sig_len;
} wardd_ta_init;
void wardd_ta_init_free(wardd_ta_init *t);
/* init takes the signed task envelope: the TA checks it and takes everything from it. */
ward_err wardd_ta_init_call(ward_tee_instance *inst, const char *envelope, size_t envelope_len,
                            uint64_t max_input, wardd_ta_init *out);
/* One piece of slot's ciphertext (the TA derives the associated data from the manifest). */
ward_err wardd_ta_add_input(ward_tee_instance *inst, const char *slot, const uint8_t *chunk,
                            size_t len, int last);
typedef struct wardd_ta_result {
    uint8_t *statement, *result_sig;
    size_t statement_len, result_sig_len;
} wardd_ta_result;
void wardd_ta_result_free(wardd_ta_result *r);
/* Where an instance's ocall result_piece goes: the ciphertext of its result for recipient (the
 * index in the manifest's recipients, as the TA says: write must check it), each recipient's in
 * order. Give wardd_ta_ocall and a sink (which must outlive the instance) to ward_tee_create;
 * write NULL refuses every piece (WARD_ERR_STATE). */
typedef struct wardd_ta_sink {
    ward_err (*write)(void *arg, uint32_t recipient, const uint8_t *data, size_t len);
    void *arg;
} wardd_ta_sink;
ward_err wardd_ta_ocall(void *arg, uint32_t ocall_id, const uint8_t *in, size_t in_len,
                        uint8_t *out, size_t out_cap, size_t *out_len);
/* The query (or psi's parameters) and the recipients' keys come from the signed manifest. The
 * encrypted result (one stream per recipient) goes to the instance's sink during the call;
 * max_result bounds its CSV. */
ward_err wardd_ta_run(ward_tee_instance *inst, uint64_t max_result, wardd_ta_result *out);
/* The TA's last error as "code: message" (malloc'd; NULL when it cannot be had). */
char *wardd_ta_last_error(ward_tee_instance *inst);
void wardd_ta_destroy(ward_tee_instance *inst);

/* results.c: a task's encrypted result as a file beside its metadata, and its data route. */
#define WARDD_RESULT_PIECE_MAX ((size_t)8 << 20) /* bytes per GET .../result/data */
#define WARDD_MAX_RESULT_DEFAULT ((uint64_t)256 << 20) /* CSV bytes, --max-result */
typedef struct wardd_result_file {
    int fd;
    int over;      /* a piece would have passed max */
    int io_errno;  /* a write failed */
    int committed; /* renamed into place */
    uint64_t bytes, max;
    ward_hash_ctx *hash;
    uint8_t sha256[WARD_SHA256_LEN]; /* of the ciphertext, once committed */
    char path[4096], tmp[4104];
} wardd_result_file;
/* Starts DATA_DIR/blobs/<task_id>/result-<recipient_hex>.data (as a .tmp until commit); at
 * most max_bytes of ciphertext. */
ward_err wardd_result_open(const wardd *d, const char *task_id, const char *recipient_hex,
                           uint64_t max_bytes, wardd_result_file *rf);
/* Appends one piece of ciphertext (arg: the wardd_result_file); refused past max. */
ward_err wardd_result_write(void *arg, const uint8_t *data, size_t len);
/* fsync, close, rename into place. On failure the file is gone. */
ward_err wardd_result_commit(wardd_result_file *rf);
/* Removes the file (temporary or committed) and frees. */
void wardd_result_abort(wardd_result_file *rf);
/* Frees, keeping a committed file. */
void wardd_result_close(wardd_result_file *rf);
/* The data file of the metadata file ct_path ("....ct" -> "....data"): 0, or -1. */
int wardd_result_data_path(const char *ct_path, char *out, size_t cap);
/* 1 if both paths name the same existing file. */
int wardd_result_same_file(const char *a, const char *b);
/* GET /v1/tasks/{id}/result/data?offset=N[&length=M] (the caller checked method and client). */
void wardd_result_data(wardd *d, wardd_req *r, const char *id);
/* A query-string number: decimal, 1..19 digits, no leading zero (so one value has one form).
 * 0, or -1 if malformed. */
int wardd_parse_dec(const char *v, uint64_t *out);

/* tasks.c */
void wardd_route_tasks(wardd *d, wardd_req *r, const char *path);
/* Stops every run in progress (each task then fails: "the node stopped during the run") and
 * waits for its worker thread; call it before the HTTP server goes, which frees the requests
 * the runs would answer. */
void wardd_tasks_stop_runs(wardd *d);
void wardd_tasks_close(wardd *d);
/* Arms the periodic expiry sweep on d->base (every 5 s; WARDD_TASK_SWEEP_MS overrides, for
 * tests). Idempotent; call once the event base exists. */
void wardd_tasks_start(wardd *d);
uint32_t wardd_tasks_live(const wardd *d); /* TA instances alive */

#endif
