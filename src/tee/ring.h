/* The call ring between a host and one TA instance (internal; used by src/tee and src/runtime).
 *
 * One shared memory object (a memfd, sealed against shrinking and growing, mapped MAP_SHARED by
 * both sides) laid out as:
 *
 *   [0, 4096)                       header: struct ward_ring_hdr (configuration + turn word)
 *   [req_off,  req_off + slot)      request slot:  host -> TA (call, ocall return, destroy)
 *   [resp_off, resp_off + slot)     response slot: TA -> host (ready, response, ocall, failed)
 *
 * Each slot starts with a struct ward_ring_msg (kind, id, status, length) followed by up to
 * max_message payload bytes. The sides take turns: `turn` says whose message is pending
 * (WARD_RING_TURN_TA: a message waits in the request slot; WARD_RING_TURN_HOST: one waits in the
 * response slot). The writer fills its slot, then stores turn with release order and wakes the
 * other side with FUTEX_WAKE (shared, not _PRIVATE: the word is shared between processes) when
 * that side said it sleeps. A waiter spins up to its spin budget (switchless mode; pausing, and
 * yielding the CPU every 2 us in case both sides share one) before it announces that it sleeps
 * and calls FUTEX_WAIT. The sleeping flags and the turn word are
 * accessed sequentially consistently (Dekker): a waker that misses the flag is seen by the
 * waiter's re-check of turn, so no wake-up is lost.
 *
 * Neither side trusts the other: every message is copied out of shared memory (header first,
 * into locals) before it is validated and used, lengths are checked against max_message and the
 * slot, unknown kinds and ids are answered with an error and never crash the reader.
 *
 * The header's configuration is written by the host before the TA starts; the TA copies and
 * validates it once (against the size of the object it maps) and never re-reads it. */
#ifndef WARD_TEE_RING_H
#define WARD_TEE_RING_H

#include <errno.h>
#include <linux/futex.h>
#include <sched.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define WARD_RING_MAGIC 0x474e5257u /* "WRNG" */
#define WARD_RING_VERSION 1u
#define WARD_RING_HDR_SIZE 4096u
#define WARD_RING_FD 3          /* the ring's descriptor number in the TA */
#define WARD_RING_IMAGE_FD 4    /* the image's descriptor while the TA is being exec'd */
#define WARD_RING_MAX_MESSAGE (64u << 20) /* hard cap on max_message */
#define WARD_RING_YIELD_NS 2000u /* a spinning side yields the CPU this often */

/* header flags (host -> TA) */
#define WARD_RING_F_SIM 1u        /* sim backend: the runtime does not harden the process */
#define WARD_RING_F_SWITCHLESS 2u /* the TA spins before sleeping */
#define WARD_RING_F_PREFAULT 4u   /* warm-pool instance: fault in the call path before READY */
#define WARD_RING_F_NO_SECRETMEM 8u /* tests only: use the fallback heap as if memfd_secret were
                                     * missing */

/* turn values */
#define WARD_RING_TURN_INIT 0u
#define WARD_RING_TURN_TA 1u
#define WARD_RING_TURN_HOST 2u

/* message kinds: host -> TA */
#define WARD_MSG_CALL 1u       /* id = call id; payload = request */
#define WARD_MSG_OCALL_RET 2u  /* status = ward_err of the ocall; payload = its output */
#define WARD_MSG_DESTROY 3u    /* wipe and exit */
/* message kinds: TA -> host */
#define WARD_MSG_READY 16u     /* payload = struct ward_ring_ready */
#define WARD_MSG_RESPONSE 17u  /* status = ward_err of the call; payload = response */
#define WARD_MSG_OCALL 18u     /* id = ocall id (user, or WARD_SYS_OCALL_*); payload = input */
#define WARD_MSG_FAILED 19u    /* the runtime could not start; payload = reason text */

/* system ocalls, implemented by the host's TEE (never by the user's ocall function) */
#define WARD_SYS_OCALL_BASE 0xffff0000u
#define WARD_SYS_OCALL_REPORT 0xffff0001u   /* in: report_data[64]; out: report[200] || sig[64] */
#define WARD_SYS_OCALL_SEAL_KEY 0xffff0002u /* in: struct ward_ring_seal_req; out: key[32] */
#define WARD_SYS_OCALL_SELF 0xffff0003u     /* in: -; out: report[200] (report_data zero) */

/* protections the runtime reports in its ready message (what it did and what it found) */
#define WARD_PROT_NONDUMPABLE 0x01u
#define WARD_PROT_NO_TRACER 0x02u
#define WARD_PROT_HEAP_SECRET 0x04u  /* heap and call stack in memfd_secret memory */
#define WARD_PROT_HEAP_MLOCK 0x08u   /* fallback: locked, excluded from core dumps */
#define WARD_PROT_LANDLOCK 0x10u
#define WARD_PROT_SECCOMP 0x20u

typedef struct ward_ring_msg {
    uint32_t kind;
    uint32_t id;
    uint32_t status;
    uint32_t reserved;
    uint64_t len;
} ward_ring_msg;

typedef struct ward_ring_ready {
    uint32_t protections; /* WARD_PROT_* */
    uint32_t landlock_abi;
    uint64_t heap_bytes;
    uint64_t stack_bytes;
} ward_ring_ready;

typedef struct ward_ring_seal_req {
    uint32_t policy;
    uint32_t key_version;
    uint16_t svn;
    uint16_t reserved0;
    uint32_t reserved1;
} ward_ring_seal_req;

typedef struct ward_ring_hdr {
    uint32_t magic;
    uint16_t version;
    uint16_t hdr_size;
    uint32_t flags;
    uint32_t max_message;
    uint64_t ring_size;   /* bytes of the whole shared object */
    uint64_t slot_size;   /* bytes of each slot, message header included */
    uint64_t req_off;
    uint64_t resp_off;
    uint64_t heap_bytes;  /* secret heap the TA sets up */
    uint64_t stack_bytes; /* secret call stack */
    uint32_t threads_max;
    uint32_t spin_us;
    uint8_t pad0[64 - 72 % 64];
    uint32_t turn; /* futex word, own cache line */
    uint8_t pad1[60];
    uint32_t ta_sleeping;
    uint8_t pad2[60];
    uint32_t host_sleeping;
    uint8_t pad3[60];
} ward_ring_hdr;

_Static_assert(sizeof(ward_ring_msg) == 24, "ring message header layout");
_Static_assert(offsetof(ward_ring_hdr, turn) % 64 == 0, "turn on its own cache line");
_Static_assert(sizeof(ward_ring_hdr) <= WARD_RING_HDR_SIZE, "ring header fits its page");

/* Slot size for max_message: message header plus payload, rounded up to pages. */
static inline uint64_t ward_ring_slot_size(uint32_t max_message)
{
    uint64_t n = (uint64_t)sizeof(ward_ring_msg) + max_message;
    return (n + 4095u) & ~(uint64_t)4095u;
}

static inline uint32_t ward_ring_load(const uint32_t *w)
{
    return __atomic_load_n(w, __ATOMIC_SEQ_CST);
}

static inline void ward_ring_store(uint32_t *w, uint32_t v)
{
    __atomic_store_n(w, v, __ATOMIC_SEQ_CST);
}

static inline void ward_ring_pause(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield" ::: "memory");
#else
    __asm__ __volatile__("" ::: "memory");
#endif
}

static inline uint64_t ward_ring_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Hands the turn to the other side and wakes it if it sleeps. */
static inline void ward_ring_give(ward_ring_hdr *h, uint32_t turn, uint32_t *peer_sleeping)
{
    ward_ring_store(&h->turn, turn);
    if (ward_ring_load(peer_sleeping) != 0)
        syscall(SYS_futex, &h->turn, FUTEX_WAKE, 1, NULL, NULL, 0);
}

/* Waits until turn == want: spins up to spin_ns, then sleeps. timeout_ns == 0 waits without a
 * limit; otherwise returns after at most about timeout_ns. 1 if it is our turn, 0 if not (yet). */
static inline int ward_ring_wait(ward_ring_hdr *h, uint32_t want, uint32_t *my_sleeping,
                                 uint64_t spin_ns, uint64_t timeout_ns)
{
    if (ward_ring_load(&h->turn) == want)
        return 1;
    uint64_t start = 0;
    if (spin_ns != 0 || timeout_ns != 0)
        start = ward_ring_now_ns();
    if (spin_ns != 0) {
        /* Yield now and then: should both sides share a CPU, the other one gets to run (and
         * answer) instead of waiting for this spin to end. */
        uint64_t last_yield = start;
        for (unsigned i = 1;; i++) {
            ward_ring_pause();
            if (ward_ring_load(&h->turn) == want)
                return 1;
            if ((i & 31u) == 0) {
                uint64_t now = ward_ring_now_ns();
                if (now - start >= spin_ns)
                    break;
                if (now - last_yield >= WARD_RING_YIELD_NS) {
                    sched_yield();
                    last_yield = now;
                }
            }
        }
    }
    for (;;) {
        struct timespec ts, *tsp = NULL;
        if (timeout_ns != 0) {
            uint64_t now = ward_ring_now_ns(), el = now - start;
            if (el >= timeout_ns)
                return ward_ring_load(&h->turn) == want;
            uint64_t left = timeout_ns - el;
            ts.tv_sec = (time_t)(left / 1000000000u);
            ts.tv_nsec = (long)(left % 1000000000u);
            tsp = &ts;
        }
        ward_ring_store(my_sleeping, 1);
        uint32_t cur = ward_ring_load(&h->turn);
        if (cur == want) {
            ward_ring_store(my_sleeping, 0);
            return 1;
        }
        syscall(SYS_futex, &h->turn, FUTEX_WAIT, cur, tsp, NULL, 0);
        ward_ring_store(my_sleeping, 0);
        if (ward_ring_load(&h->turn) == want)
            return 1;
    }
}

#endif
