/* libward-ta: ward_ta_run (hardening, then the call loop), ocalls, reports, self, sealing keys.
 *
 * Hardening sequence (sandbox backend; the sim backend does none of it), before any secret can
 * arrive (secrets come in calls, and calls only after READY):
 *   0. the host starts the TA with every signal blocked: unblock them.
 *   1. boot (first malloc, before main): map the ring (fd 3) and copy its header once;
 *      PR_SET_DUMPABLE 0 (exec reset it); map the secret region (memfd_secret, else mlock2 +
 *      MADV_DONTDUMP): heap and call stack.
 *   2. refuse to start if a tracer is attached (TracerPid in /proc/self/status, the only file
 *      the host's Landlock layer lets the TA read, and read before the TA's own layer).
 *   3. close every descriptor (the ring stays mapped; the secret memfd was closed at boot).
 *   4. OpenSSL (when linked) initialised without reading any configuration file (its DRBG
 *      seeds itself from getrandom on first use).
 *   5. Landlock: a ruleset handling every right of the detected ABI with no rules.
 *   6. seccomp allow-list (default: kill the process), synchronised over all threads.
 *   7. the call loop starts on the secret stack (swapcontext) and says READY (with what was
 *      done); when the instance is to end it switches back to the ordinary stack, wipes the
 *      heap and the touched part of the call stack, and exits.
 * Any failure before READY sends FAILED with a reason and exits: TA code never runs unprotected.
 * ward_ta_run must be main's first statement: Landlock restricts the calling thread, so a thread
 * started earlier would keep only the host's layer (seccomp is synchronised over all threads). */
#include <errno.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "ta_internal.h"
#include "ward/report.h"
#include "ward/ta.h"

/* Weak: only used when the TA links OpenSSL anyway. */
#pragma weak OPENSSL_init_crypto

static ward_ta_dispatch_fn g_dispatch;
static uint8_t *g_in, *g_out;
static int g_exit_status;
static ucontext_t g_main_ctx, g_loop_ctx;
static _Thread_local int t_in_call;

__attribute__((noreturn)) static void end_process(int status)
{
    ward__ta_wipe_all();
    syscall(SYS_exit_group, status);
    __builtin_unreachable();
}

static void send_msg(uint32_t kind, uint32_t id, uint32_t status, const void *data, size_t len)
{
    ward_ring_msg m = {kind, id, status, 0, len};
    if (len != 0)
        memcpy(ward__ta.resp_data, data, len);
    memcpy(ward__ta.resp, &m, sizeof m);
    ward_ring_give(ward__ta.hdr, WARD_RING_TURN_HOST, &ward__ta.hdr->host_sleeping);
}

/* Waits for the host's next message and copies its header out of shared memory. */
static void wait_msg(ward_ring_msg *m)
{
    uint64_t spin = (ward__ta.flags & WARD_RING_F_SWITCHLESS) ? (uint64_t)ward__ta.spin_us * 1000u
                                                                : 0;
    ward_ring_wait(ward__ta.hdr, WARD_RING_TURN_TA, &ward__ta.hdr->ta_sleeping, spin, 0);
    memcpy(m, ward__ta.req, sizeof *m);
}

__attribute__((noreturn)) static void fail(const char *why)
{
    size_t n = strlen(why);
    if (ward__ta.have_ring) {
        if (n > ward__ta.max_message)
            n = ward__ta.max_message;
        send_msg(WARD_MSG_FAILED, 0, WARD_ERR_STATE, why, n);
    } else {
        static const char pre[] = "ward TA: ";
        if (write(2, pre, sizeof pre - 1) >= 0 && write(2, why, n) >= 0 && write(2, "\n", 1) >= 0) {
        }
    }
    end_process(1);
}

/* From the call loop (possibly deep in TA code, in an ocall): back to ward_ta_run's frame on
 * the ordinary stack, which wipes the secret call stack and ends the process. */
__attribute__((noreturn)) static void request_exit(int status)
{
    g_exit_status = status;
    setcontext(&g_main_ctx);
    end_process(status); /* not reached */
}

/* Faults in the pages every call uses (the top of the secret stack, the message buffers) before
 * READY: a secret page costs a direct-map change and a TLB flush on every CPU when first
 * touched, which for a warm-pool instance belongs in start-up, not in the first call. A cold
 * instance skips it (its first call would pay the same). */
__attribute__((noinline)) static void prefault(void)
{
    volatile uint8_t stack[16 << 10];
    for (size_t i = 0; i < sizeof stack; i += 4096)
        stack[i] = 0;
    ((volatile uint8_t *)g_in)[0] = 0;
    ((volatile uint8_t *)g_out)[0] = 0;
}

static void call_loop(void)
{
    if (ward__ta.flags & WARD_RING_F_PREFAULT)
        prefault();
    ward_ring_ready rd = {ward__ta.protections, ward__ta.landlock_abi, ward__ta.heap_size,
                          ward__ta.stack_size};
    send_msg(WARD_MSG_READY, 0, 0, &rd, sizeof rd);
    const size_t cap = ward__ta.max_message;
    for (;;) {
        ward_ring_msg m;
        wait_msg(&m);
        if (m.kind == WARD_MSG_DESTROY)
            request_exit(0);
        if (m.kind != WARD_MSG_CALL) {
            send_msg(WARD_MSG_RESPONSE, m.id, WARD_ERR_FORMAT, NULL, 0);
            continue;
        }
        if (m.len > cap) {
            send_msg(WARD_MSG_RESPONSE, m.id, WARD_ERR_FORMAT, NULL, 0);
            continue;
        }
        size_t in_len = (size_t)m.len;
        memcpy(g_in, ward__ta.req_data, in_len);
        size_t out_len = 0;
        t_in_call = 1;
        ward_err st = g_dispatch(m.id, g_in, in_len, g_out, cap, &out_len);
        t_in_call = 0;
        if (out_len > cap) {
            st = WARD_ERR_OVERFLOW;
            out_len = 0;
        }
        send_msg(WARD_MSG_RESPONSE, m.id, (uint32_t)st, g_out, out_len);
        explicit_bzero(g_in, in_len);
        explicit_bzero(g_out, out_len);
    }
}

/* OpenSSL (when the TA links it) must never read a configuration file: the host's file would
 * configure the TA's crypto (and, once sandboxed, opening it would be fatal). Its random
 * generator is left to seed itself on first use, from getrandom (allowed by the filter): seeding
 * it here would cost every start about a millisecond. */
static void crypto_init(void)
{
    if (OPENSSL_init_crypto != NULL &&
        OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG | OPENSSL_INIT_NO_ATEXIT, NULL) != 1)
        fail("OpenSSL could not be initialised");
}

int ward_ta_run(ward_ta_dispatch_fn dispatch)
{
    /* The host starts the TA with every signal blocked. */
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    ward__ta_boot();
    if (!ward__ta.have_ring)
        fail("this is a Ward trusted application: start it with `ward ta run` or the TEE API");
    if (dispatch == NULL)
        fail("no dispatch function");
    if (ward__ta.boot_error != NULL)
        fail(ward__ta.boot_error);
    g_dispatch = dispatch;
    /* TA code that calls exit() still leaves a wiped heap behind. */
    if (atexit(ward__ta_wipe_heap_at_exit) != 0)
        fail("atexit failed");

    if (!ward__ta.sim) {
        const char *e = ward__ta_check_tracer();
        if (e != NULL)
            fail(e);
        ward__ta.protections |= WARD_PROT_NO_TRACER;
    }
    /* Nothing inherited stays open; the ring remains mapped. The sim backend keeps 0-2 so that
     * a developer sees the TA's output. */
    syscall(SYS_close_range, ward__ta.sim ? 3u : 0u, ~0u, 0u);

    crypto_init();
    g_in = malloc(ward__ta.max_message);
    g_out = malloc(ward__ta.max_message);
    if (g_in == NULL || g_out == NULL)
        fail("the heap is too small for the message buffers");

    if (!ward__ta.sim) {
        const char *e = ward__ta_landlock(&ward__ta.landlock_abi);
        if (e != NULL)
            fail(e);
        ward__ta.protections |= WARD_PROT_LANDLOCK;
        e = ward__ta_seccomp();
        if (e != NULL)
            fail(e);
        ward__ta.protections |= WARD_PROT_SECCOMP;
    }

    /* The call loop runs on the secret stack: a context switch on this thread, not a new
     * thread (which would cost a wake-up on another CPU at every start). */
    if (getcontext(&g_loop_ctx) != 0)
        fail("getcontext failed");
    g_loop_ctx.uc_stack.ss_sp = ward__ta.stack;
    g_loop_ctx.uc_stack.ss_size = ward__ta.stack_size;
    g_loop_ctx.uc_link = &g_main_ctx;
    makecontext(&g_loop_ctx, call_loop, 0);
    if (swapcontext(&g_main_ctx, &g_loop_ctx) != 0)
        fail("swapcontext failed");
    end_process(g_exit_status);
}

/* ---- calls from TA code --------------------------------------------------------------------- */

static ward_err ocall_raw(uint32_t id, const uint8_t *in, size_t in_len, uint8_t *out,
                         size_t out_cap, size_t *out_len)
{
    if (!ward__ta.have_ring || !t_in_call)
        return WARD_ERR_STATE; /* only from the call thread, during a call */
    if (in_len > ward__ta.max_message)
        return WARD_ERR_OVERFLOW;
    if ((in_len != 0 && in == NULL) || (out_cap != 0 && out == NULL) || out_len == NULL)
        return WARD_ERR_INVALID_ARG;
    *out_len = 0;
    send_msg(WARD_MSG_OCALL, id, 0, in, in_len);
    ward_ring_msg m;
    wait_msg(&m);
    if (m.kind == WARD_MSG_DESTROY)
        request_exit(0);
    if (m.kind != WARD_MSG_OCALL_RET || m.len > ward__ta.max_message ||
        m.status >= (uint32_t)WARD_ERR__COUNT)
        return WARD_ERR_FORMAT;
    if (m.len > out_cap)
        return WARD_ERR_OVERFLOW;
    size_t n = (size_t)m.len;
    if (n != 0) {
        memcpy(out, ward__ta.req_data, n);
        explicit_bzero(ward__ta.req_data, n); /* e.g. a sealing key: do not leave it shared */
    }
    *out_len = n;
    return (ward_err)m.status;
}

ward_err ward_ta_ocall(uint32_t ocall_id, const uint8_t *in, size_t in_len, uint8_t *out,
                       size_t out_cap, size_t *out_len)
{
    if (ocall_id >= WARD_SYS_OCALL_BASE)
        return WARD_ERR_INVALID_ARG;
    return ocall_raw(ocall_id, in, in_len, out, out_cap, out_len);
}

ward_err ward_ta_report(const uint8_t report_data[WARD_REPORT_DATA_LEN],
                        uint8_t report[WARD_REPORT_LEN], uint8_t sig[WARD_REPORT_SIG_LEN])
{
    if (report_data == NULL || report == NULL || sig == NULL)
        return WARD_ERR_INVALID_ARG;
    uint8_t buf[WARD_REPORT_LEN + WARD_REPORT_SIG_LEN];
    size_t n = 0;
    ward_err e = ocall_raw(WARD_SYS_OCALL_REPORT, report_data, WARD_REPORT_DATA_LEN, buf,
                           sizeof buf, &n);
    if (e != WARD_OK)
        return e;
    if (n != sizeof buf)
        return WARD_ERR_FORMAT;
    memcpy(report, buf, WARD_REPORT_LEN);
    memcpy(sig, buf + WARD_REPORT_LEN, WARD_REPORT_SIG_LEN);
    return WARD_OK;
}

ward_err ward_ta_self(ward_report *self)
{
    if (self == NULL)
        return WARD_ERR_INVALID_ARG;
    uint8_t buf[WARD_REPORT_LEN];
    size_t n = 0;
    ward_err e = ocall_raw(WARD_SYS_OCALL_SELF, NULL, 0, buf, sizeof buf, &n);
    if (e != WARD_OK)
        return e;
    if (n != sizeof buf)
        return WARD_ERR_FORMAT;
    return ward_report_decode(buf, n, self);
}

ward_err ward_ta_seal_key(ward_seal_policy policy, uint16_t svn, uint32_t key_version,
                          uint8_t key[32])
{
    if (key == NULL || (policy != WARD_SEAL_MEASUREMENT && policy != WARD_SEAL_SIGNER))
        return WARD_ERR_INVALID_ARG;
    ward_ring_seal_req rq = {(uint32_t)policy, key_version, svn, 0, 0};
    uint8_t buf[32];
    size_t n = 0;
    ward_err e = ocall_raw(WARD_SYS_OCALL_SEAL_KEY, (const uint8_t *)&rq, sizeof rq, buf,
                           sizeof buf, &n);
    if (e == WARD_OK && n != sizeof buf)
        e = WARD_ERR_FORMAT;
    if (e == WARD_OK)
        memcpy(key, buf, sizeof buf);
    explicit_bzero(buf, sizeof buf);
    return e;
}
