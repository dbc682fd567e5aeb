/* The TEE interface (IEEE 2952 5.1.3): create, measure, call (with ocalls), destroy, resources.
 * Nothing here is specific to processes: the sandbox backend runs a TA as a hardened process,
 * a later KVM backend will run it in its own virtual machine behind the same calls. */
#ifndef WARD_TEE_H
#define WARD_TEE_H

#include <stddef.h>
#include <stdint.h>

#include "ward/err.h"
#include "ward/manifest.h"
#include "ward/report.h"
#include "ward/rot.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ward_tee_backend {
    WARD_TEE_SANDBOX = 1, /* the default: DESIGN 3 */
    WARD_TEE_SIM = 2      /* debugging only: no isolation; reports carry the debug attribute */
} ward_tee_backend;

typedef struct ward_tee ward_tee;                   /* one platform: a backend and its keys */
typedef struct ward_tee_image ward_tee_image;       /* a registered (verified, sealed) image */
typedef struct ward_tee_instance ward_tee_instance; /* a running TA */

typedef struct ward_tee_config {
    ward_tee_backend backend;
    ward_rot *rot;           /* borrowed: signs reports, derives sealing keys */
    uint64_t memory_budget;  /* TA memory the node may commit in all; 0: half the RAM */
    uint32_t threads_budget; /* TA threads in all; 0: 256 */
} ward_tee_config;

ward_err ward_tee_open(const ward_tee_config *cfg, ward_tee **out);
/* Destroys every instance still alive, releases images. */
void ward_tee_close(ward_tee *tee);
ward_tee_backend ward_tee_backend_kind(const ward_tee *tee);

/* Registers an image with its signed manifest: checks the signature, the image hash and the
 * measurement, and keeps the image in sealed memory so that instances start without re-reading
 * or re-hashing it. A mismatch is refused with a message naming it. */
ward_err ward_tee_image_register(ward_tee *tee, const uint8_t *image, size_t image_len,
                                 const char *manifest_json, size_t manifest_len,
                                 ward_tee_image **out);
ward_err ward_tee_image_register_files(ward_tee *tee, const char *image_path,
                                       const char *manifest_path, ward_tee_image **out);
const ward_manifest *ward_tee_image_manifest(const ward_tee_image *img);
/* Images are released with the tee, or earlier when no instance uses them. */
void ward_tee_image_release(ward_tee_image *img);

typedef struct ward_tee_limits {
    uint64_t memory_bytes;    /* 0: the manifest's heap_max */
    uint32_t threads;         /* 0: the manifest's threads_max */
    uint32_t call_timeout_ms; /* 0: 30000 */
    uint32_t max_message;     /* largest request/response/ocall payload; 0: 1 MiB */
    int switchless;           /* spin before sleeping on the call ring */
    uint32_t spin_us;         /* switchless spin budget; 0: 100 */
} ward_tee_limits;

/* An ocall from the TA to its host: the host function named by ocall_id. Its return value
 * travels back to the TA as the ocall's result. out_cap is the TA's max_message. */
typedef ward_err (*ward_tee_ocall_fn)(void *arg, uint32_t ocall_id, const uint8_t *in,
                                      size_t in_len, uint8_t *out, size_t out_cap,
                                      size_t *out_len);

/* Starts an instance of img (from the warm pool when one is ready). limits may be NULL. */
ward_err ward_tee_create(ward_tee *tee, ward_tee_image *img, const ward_tee_limits *limits,
                         ward_tee_ocall_fn ocall, void *ocall_arg, ward_tee_instance **out);

/* Calls the TA's call_id with in; writes its response to out. Returns the TA's own result, or
 * WARD_ERR_DEAD (the instance died: the message says how, e.g. killed by the sandbox for a
 * forbidden system call, or "the instance was interrupted" after ward_tee_interrupt),
 * WARD_ERR_TIMEOUT (the instance was killed), WARD_ERR_OVERFLOW (message larger than
 * max_message or out_cap). One call at a time per instance. */
ward_err ward_tee_call(ward_tee_instance *inst, uint32_t call_id, const uint8_t *in,
                       size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len);

/* Kills the instance's process at once, from any thread, and makes a ward_tee_call in progress
 * on another thread (computing, or serving an ocall) return WARD_ERR_DEAD with the message
 * "the instance was interrupted" as soon as it next waits for the TA; every later call fails
 * the same way. The TA gets no chance to wipe anything: its memory goes with its process. On an
 * idle instance, or twice, it is harmless. It must not race ward_tee_destroy of the same
 * instance (the owner destroys it, as ever, once the call has returned); destroy then returns
 * WARD_OK and its event says "the instance was interrupted" (the host's own decision, not a TA
 * failure), unless the TA had died of something else before. */
ward_err ward_tee_interrupt(ward_tee_instance *inst);

/* Asks the TA to wipe its secrets and exit, then kills it if it does not, reaps it, and wipes
 * and unmaps the ring. Always frees inst. Returns how the instance ended. */
ward_err ward_tee_destroy(ward_tee_instance *inst);

void ward_tee_instance_id(const ward_tee_instance *inst, uint8_t out[16]);
/* 1 while the instance can take calls. */
int ward_tee_instance_alive(ward_tee_instance *inst);

typedef struct ward_tee_stats {
    uint32_t instances;       /* alive */
    uint64_t memory_reserved; /* bytes committed to instances, against memory_budget */
    uint32_t threads_reserved;
    uint32_t warm;            /* ready instances waiting in warm pools */
} ward_tee_stats;
ward_err ward_tee_stats_get(ward_tee *tee, ward_tee_stats *out);

/* Keeps n ready instances of img with limits (which must then match at create) so that create
 * takes one instead of starting one. n = 0 empties the pool. */
ward_err ward_tee_warm_pool(ward_tee *tee, ward_tee_image *img, unsigned n,
                            const ward_tee_limits *limits);

/* Events the node must be able to audit (IEEE 2952 5.5.4): every TA created or destroyed,
 * every sealing key released to a TA and every report signed for one. */
typedef enum ward_tee_event_kind {
    WARD_TEE_EVENT_CREATED = 1,   /* an instance started; result: WARD_OK or why it could not */
    WARD_TEE_EVENT_DESTROYED,     /* result: how it ended (WARD_OK, or WARD_ERR_DEAD: killed by
                                     the sandbox, crashed, ... as ward_tee_destroy returns it;
                                     WARD_OK with a message after ward_tee_interrupt) */
    WARD_TEE_EVENT_KEY_RELEASED,  /* a sealing key was derived for the instance (or refused) */
    WARD_TEE_EVENT_REPORT         /* a report was signed for the instance (or refused) */
} ward_tee_event_kind;

typedef struct ward_tee_event {
    ward_tee_event_kind kind;
    const char *ta_name;         /* from the verified manifest */
    const uint8_t *measurement;  /* 32 bytes */
    const uint8_t *instance_id;  /* 16 bytes; NULL when creation failed before one existed */
    ward_err result;
    const char *message;         /* why, when result != WARD_OK; otherwise "" or a note (an
                                    interrupted instance). Never secret. */
} ward_tee_event;

/* Called synchronously on the thread that caused the event. It must not call back into the
 * tee. Its own failures do not change the operation's result or ward_errmsg(). */
typedef void (*ward_tee_event_fn)(void *arg, const ward_tee_event *ev);

/* Installs the hook (NULL to remove). Set it before creating instances. */
void ward_tee_set_event_hook(ward_tee *tee, ward_tee_event_fn fn, void *arg);

/* Verifies a report's signature with the platform certificate of tee's rot (for tests and the
 * node; remote verifiers use the attestation module). */
ward_err ward_tee_report_verify(const ward_tee *tee, const uint8_t *report, size_t report_len,
                                const uint8_t sig[WARD_REPORT_SIG_LEN], ward_report *out);

#ifdef __cplusplus
}
#endif
#endif
