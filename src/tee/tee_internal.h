/* Internals of the TEE module shared by tee.c (generic), sandbox.c (the process machinery) and
 * sim.c; also the test hooks used by tests/test_tee*.c. Not installed. */
#ifndef WARD_TEE_INTERNAL_H
#define WARD_TEE_INTERNAL_H

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

#include "tee/ring.h"
#include "ward/tee.h"

#define WARD_TEE_STACK_BYTES (1u << 20)   /* the TA's secret call stack */
#define WARD_TEE_RUNTIME_SLACK (2u << 20) /* heap the runtime and libc use themselves */
#define WARD_TEE_REASON_MAX 160

/* What differs between the backends that run a TA as a child process. */
typedef struct ward_tee_profile {
    const char *name;
    uint16_t platform;       /* ward_platform_kind */
    uint64_t force_attributes;
    int sandboxed;           /* host-side restrictions before exec, hardening by the runtime */
} ward_tee_profile;

extern const ward_tee_profile ward__sandbox_profile;
extern const ward_tee_profile ward__sim_profile;

typedef struct spawn_job spawn_job;

struct ward_tee {
    ward_tee_backend backend;
    const ward_tee_profile *profile;
    ward_rot *rot;
    ward_pkey *platform_pub;
    uint8_t platform_key_id[32];
    uint64_t memory_budget;
    uint32_t threads_budget;
    ward_tee_event_fn on_event; /* set before instances exist; read without the lock */
    void *event_arg;

    pthread_mutex_t mu; /* everything below */
    uint64_t memory_reserved;
    uint32_t threads_reserved;
    uint32_t n_instances; /* alive, warm ones included */
    uint32_t n_warm;
    struct ward_tee_image *images;
    struct ward_tee_instance *instances; /* handed out, alive or not yet destroyed */

    /* The worker thread: spawns every TA (so that PR_SET_PDEATHSIG, which follows the thread
     * that forked, lasts as long as the tee) and refills warm pools. */
    pthread_t worker;
    int worker_running;
    int stopping;
    pthread_cond_t work_cv;
    pthread_cond_t done_cv;
    spawn_job *jobs;
    int refill_wanted; /* acted on at the next signal of work_cv */
};

struct ward_tee_image {
    ward_tee *tee;
    int fd; /* sealed memfd */
    size_t size;
    ward_manifest *manifest;
    unsigned refs;     /* the caller's (until release) + one per instance; under tee->mu */
    int released;
    /* warm pool */
    unsigned pool_target;
    ward_tee_limits pool_limits; /* normalised */
    struct ward_tee_instance *pool;
    unsigned pool_n;
    unsigned pool_starting;
    ward_err pool_error; /* the last refill failed: why */
    char pool_msg[256];
    struct ward_tee_image *next;
};

struct ward_tee_instance {
    ward_tee *tee;
    ward_tee_image *img;
    ward_tee_limits limits; /* normalised */
    uint64_t heap_bytes;
    uint64_t mem_reserved;
    uint32_t threads_reserved;
    uint8_t id[16];

    pid_t pid;
    int pidfd;
    int pinned_cpu; /* blocking mode: the CPU the TA's call thread is kept on; switchless: the
                     * one it is kept off; -1: none */
    int have_ta_cpus;
    cpu_set_t ta_cpus; /* switchless: the CPUs the TA was started with */
    uint8_t *ring;
    size_t ring_size;
    ward_ring_hdr *hdr;
    ward_ring_msg *req;
    ward_ring_msg *resp;
    uint8_t *req_data;
    uint8_t *resp_data;

    ward_tee_ocall_fn ocall;
    void *ocall_arg;
    uint8_t *ocall_in; /* host-private copies for ocalls, allocated on the first one */
    uint8_t *ocall_out;

    int busy;
    int interrupted;       /* atomic: ward_tee_interrupt was called (from any thread) */
    int by_interrupt;      /* the process died of that interrupt's SIGKILL */
    int warm;              /* started for a warm pool */
    int refill_after_call; /* taken from a warm pool: refill once it answered its first call */
    int dead;
    int reaped;
    int clean_exit; /* exited with status 0 */
    ward_err dead_err;
    char reason[WARD_TEE_REASON_MAX];
    uint32_t protections;
    uint32_t landlock_abi;

    struct ward_tee_instance *next; /* in tee->instances or img->pool */
    struct ward_tee_instance *prev;
};

/* ---- sandbox.c: the process machinery ----------------------------------------------------- */

/* Maps the ring and starts the TA (from the tee's worker thread). */
ward_err ward__proc_spawn(ward_tee_instance *inst);
/* Waits for READY (or FAILED, or the TA's death) and records the protections. */
ward_err ward__proc_wait_ready(ward_tee_instance *inst);
/* One call, serving ocalls until the response. */
ward_err ward__proc_call(ward_tee_instance *inst, uint32_t call_id, const uint8_t *in,
                         size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len);
/* Sends destroy, waits briefly, kills, reaps, wipes and unmaps the ring, closes descriptors.
 * Returns how the instance ended. */
ward_err ward__proc_destroy(ward_tee_instance *inst);
/* 1 if the process still runs (reaps and records the reason if it died). */
int ward__proc_alive(ward_tee_instance *inst);
/* Marks the instance interrupted, kills its process and wakes the host side of the ring. Any
 * thread; only reads what spawn set up and destroy tears down. */
void ward__proc_interrupt(ward_tee_instance *inst);
/* 1 once ward__proc_interrupt ran. */
int ward__proc_interrupted(const ward_tee_instance *inst);

/* ---- tee.c: services the host implements for the TA ----------------------------------------- */

ward_err ward__tee_sys_ocall(ward_tee_instance *inst, uint32_t id, const uint8_t *in,
                             size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len);

/* ---- test hooks ------------------------------------------------------------------------------ */

/* Nonzero: instances created from now on use the fallback heap (mlock, no dump), as on a kernel
 * without memfd_secret. */
extern int ward__tee_test_no_secretmem;

/* The instance's process id (0 if none) and the protections its runtime reported. */
pid_t ward__tee_test_pid(const ward_tee_instance *inst);
uint32_t ward__tee_test_protections(const ward_tee_instance *inst);
/* Writes a raw message (any kind, any declared length) into the request slot, waits for the
 * TA's answer and returns its kind and status. */
ward_err ward__tee_test_raw(ward_tee_instance *inst, uint32_t kind, uint32_t id,
                            uint64_t declared_len, uint32_t *rkind, uint32_t *rstatus);

#endif
