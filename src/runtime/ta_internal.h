/* libward-ta internals shared by the runtime's files. */
#ifndef WARD_RUNTIME_TA_INTERNAL_H
#define WARD_RUNTIME_TA_INTERNAL_H

#include <sched.h>
#include <stddef.h>
#include <stdint.h>

#include "tee/ring.h"

/* What the runtime knows about its instance: copied from the ring header once, at boot. */
typedef struct ward_ta_ctx {
    int booted;
    int have_ring;          /* started by a Ward host (fd 3 is a valid ring) */
    int sim;                /* sim backend: no hardening */
    const char *boot_error; /* static text; the runtime refuses to become ready */
    uint8_t *ring;
    size_t ring_size;
    ward_ring_hdr *hdr;
    ward_ring_msg *req;
    ward_ring_msg *resp;
    uint8_t *req_data;
    uint8_t *resp_data;
    uint32_t flags;
    uint32_t max_message;
    uint32_t spin_us;
    uint32_t threads_max;
    /* the secret region: [guard page][call stack][heap] */
    uint8_t *region;
    size_t region_size;
    uint8_t *stack;
    size_t stack_size;
    uint8_t *heap;
    size_t heap_size;
    uint32_t protections; /* WARD_PROT_* */
    uint32_t landlock_abi;
    int have_cpus;
    cpu_set_t cpus; /* the CPUs the process may use, before the host pins the call thread */
} ward_ta_ctx;

extern ward_ta_ctx ward__ta;

/* Sets the process up (ring, non-dumpable, secret region) once; malloc calls it on first use. */
void ward__ta_boot(void);
/* Takes the heap lock for good and wipes every byte the heap and the call stack have used. */
void ward__ta_wipe_all(void);
/* For exit() from TA code (an atexit handler, which may run on the call stack): wipes the heap
 * only, then lets malloc fail and free do nothing for the remaining exit handlers. */
void ward__ta_wipe_heap_at_exit(void);
/* Bytes of heap in use (for tests and diagnostics). */
size_t ward__ta_heap_used(void);

/* Hardening steps (ta_harden.c). Each returns NULL or a static reason. */
const char *ward__ta_check_tracer(void);
const char *ward__ta_landlock(uint32_t *abi);
const char *ward__ta_seccomp(void);

/* Live threads created by TA code (ta_thread.c). */
extern uint32_t ward__ta_threads;

#endif
