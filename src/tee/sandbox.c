/* The sandbox backend's host side: a TA runs as a child process started from its sealed image
 * memfd, restricted before exec by the host and hardened again by its own runtime; host and TA
 * talk through the shared-memory call ring (ring.h). The sim backend (sim.c) uses the same
 * machinery without any restriction.
 *
 * Start (on the tee's worker thread, see tee.c):
 *   clone(CLONE_VM | CLONE_VFORK | CLONE_PIDFD) -- the child runs on its own small stack in the
 *   host's memory until it execs, using raw system calls only (no allocation, no interceptor),
 *   like posix_spawn; the host keeps a pidfd. The child:
 *     keeps every signal blocked (the runtime unblocks them) and resets the standard signals'
 *     dispositions; setsid (own session and process group);
 *     PR_SET_PDEATHSIG SIGKILL (the worker thread lives as long as the tee) and checks that its
 *     parent is still there; ring -> fd 3, image -> fd 4 (close-on-exec), every other
 *     descriptor closed (close_range);
 *   sandbox only:
 *     rlimits: RLIMIT_CORE 0, RLIMIT_AS (image + secret region + ring + headroom),
 *     RLIMIT_MEMLOCK (the secret region), RLIMIT_NOFILE 16, RLIMIT_MSGQUEUE 0;
 *     no capabilities after exec (SECBIT_NOROOT, locked, so that root gains none by exec; no
 *     ambient or inheritable capabilities) -- except CAP_IPC_LOCK when the host may not raise
 *     RLIMIT_MEMLOCK to the secret region's size but holds CAP_IPC_LOCK (then RLIMIT_AS bounds
 *     the TA's locked memory); PR_SET_NO_NEW_PRIVS;
 *     RLIMIT_NPROC is per user, not per instance: threads are counted by the runtime instead;
 *     the host's Landlock layer: every right of the kernel's ABI handled, one rule letting the TA
 *     read files under its own /proc/PID (for its tracer check), nothing else;
 *     the host's seccomp layer: the TA's allow-list plus what static startup and the runtime's
 *     own set-up need (execveat with AT_EMPTY_PATH, memfd_secret, mlock2, landlock_*, seccomp,
 *     openat under Landlock, ...); anything else fails with EPERM.
 *     These layers hold whatever the image does: a TA that skips its own hardening still cannot
 *     open a file (the node's keys), create a socket, start a process or signal another one.
 *   then execveat(4, "", {name, NULL}, {NULL}, AT_EMPTY_PATH).
 *
 * Waiting: the host sleeps on the ring's futex in slices of at most 20 ms and checks the pidfd
 * between slices, so a dead TA is noticed; past call_timeout_ms the TA is killed and reaped.
 *
 * Interrupt (ward_tee_interrupt, from any thread while another one calls): a flag, SIGKILL
 * through the pidfd, and a FUTEX_WAKE on the turn word. The pidfd names this very process: once
 * the calling thread (or destroy) has reaped it, the signal fails with ESRCH and cannot reach a
 * process that reused the pid. The wake ends the caller's sleep; the caller sees the flag, reaps
 * the TA and returns. A wake that comes just before the caller goes to sleep is lost, which
 * costs at most one slice. Reaping, the ring and the descriptors stay the calling thread's and
 * destroy's, as before. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tee/sandbox_bpf.h"
#include "tee/sandbox_landlock.h"
#include "tee/tee_internal.h"
#include "ward/crypto.h"
#include "ward/log.h"

#define CHILD_STACK (64u << 10)
#define SLICE_NS (20u * 1000u * 1000u)
#define AS_HEADROOM (48u << 20)
#define DESTROY_GRACE_MS 2000
#define STARTUP_TIMEOUT_MS 10000u /* at least, whatever the call timeout */
#define MAX_PROTOCOL_ERRORS 16

const ward_tee_profile ward__sandbox_profile = {"sandbox", WARD_PLATFORM_SW_SANDBOX, 0, 1};

int ward__tee_test_no_secretmem;

/* Everything the child needs, prepared by the parent (the child must not allocate). */
typedef struct child_args {
    int ring_fd;
    int image_fd;
    int sandboxed;
    pid_t parent;
    int ll_abi;
    ward_ll_attr ll_attr;
    size_t ll_size;
    struct rlimit64 lim_as, lim_memlock;
    ward_bpf *filter;
    char *argv[2];
    char *envp[1];
    /* written by the child when it fails */
    const char *fail_step;
    int fail_errno;
} child_args;

struct k_sigaction {
    void *handler;
    unsigned long flags;
    void *restorer;
    uint64_t mask;
};

#define CHILD_FAIL(a, step)                                                                    \
    do {                                                                                       \
        (a)->fail_step = (step);                                                               \
        (a)->fail_errno = errno;                                                               \
        syscall(SYS_exit_group, 127);                                                          \
    } while (0)

static int child_setrlimit(int res, const struct rlimit64 *l)
{
    return (int)syscall(SYS_prlimit64, 0, res, l, NULL);
}

/* Runs in the child, in the parent's memory, until execveat: raw system calls only. */
__attribute__((no_sanitize("address", "undefined"))) __attribute__((noinline)) static int
child_main(void *p)
{
    child_args *a = p;
    /* Every signal stays blocked until the runtime unblocks it (so no handler of the host can
     * run here before exec, and exec resets handled signals); only ignored dispositions would
     * survive exec, so the standard signals go back to their defaults. */
    struct k_sigaction dfl = {SIG_DFL, 0, NULL, 0};
    for (int s = 1; s < 32; s++)
        if (s != SIGKILL && s != SIGSTOP)
            syscall(SYS_rt_sigaction, s, &dfl, NULL, sizeof(uint64_t));
    if (syscall(SYS_setsid) < 0)
        CHILD_FAIL(a, "setsid");
    if (syscall(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0)
        CHILD_FAIL(a, "PR_SET_PDEATHSIG");
    if ((pid_t)syscall(SYS_getppid) != a->parent)
        CHILD_FAIL(a, "parent gone");

    int r = (int)syscall(SYS_fcntl, a->ring_fd, F_DUPFD_CLOEXEC, 5);
    int i = (int)syscall(SYS_fcntl, a->image_fd, F_DUPFD_CLOEXEC, 5);
    if (r < 0 || i < 0)
        CHILD_FAIL(a, "dup");
    if (syscall(SYS_dup3, r, WARD_RING_FD, 0) < 0 ||
        syscall(SYS_dup3, i, WARD_RING_IMAGE_FD, O_CLOEXEC) < 0)
        CHILD_FAIL(a, "dup3");
    if (syscall(SYS_close_range, 5u, ~0u, 0u) != 0)
        CHILD_FAIL(a, "close_range");

    if (a->sandboxed) {
        if (syscall(SYS_close_range, 0u, 2u, 0u) != 0)
            CHILD_FAIL(a, "close_range");
        struct rlimit64 zero = {0, 0}, nofile = {16, 16};
        if (child_setrlimit(RLIMIT_CORE, &zero) != 0 ||
            child_setrlimit(RLIMIT_MSGQUEUE, &zero) != 0 ||
            child_setrlimit(RLIMIT_NOFILE, &nofile) != 0 ||
            child_setrlimit(RLIMIT_AS, &a->lim_as) != 0)
            CHILD_FAIL(a, "setrlimit");
        /* The secret region is locked memory. When the host may not raise RLIMIT_MEMLOCK that
         * far (no CAP_SYS_RESOURCE) but holds CAP_IPC_LOCK, the TA keeps CAP_IPC_LOCK (and
         * nothing else): its locked memory is then bounded by RLIMIT_AS instead. */
        struct __user_cap_header_struct ch = {_LINUX_CAPABILITY_VERSION_3, 0};
        struct __user_cap_data_struct cd[2];
        if (syscall(SYS_capget, &ch, cd) != 0)
            CHILD_FAIL(a, "capget");
        int keep_ipc_lock = 0;
        if (child_setrlimit(RLIMIT_MEMLOCK, &a->lim_memlock) != 0) {
            if (!(cd[0].effective & (1u << CAP_IPC_LOCK)))
                CHILD_FAIL(a, "RLIMIT_MEMLOCK is below the instance's secret memory (raise the "
                              "node's memlock limit or give it CAP_IPC_LOCK)");
            keep_ipc_lock = 1;
        }

        /* No other capability survives exec: with SECBIT_NOROOT (locked) root gains none by
         * exec (no_new_privs already ignores file capabilities); no ambient and no inheritable
         * capabilities. A host that may not set securebits is not root (or lacks CAP_SETPCAP):
         * then exec grants nothing anyway, unless it runs as root, which is refused. */
        if (syscall(SYS_prctl, PR_SET_SECUREBITS,
                    SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP |
                        SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_KEEP_CAPS_LOCKED,
                    0, 0, 0) != 0 &&
            (syscall(SYS_geteuid) == 0 || syscall(SYS_getuid) == 0))
            CHILD_FAIL(a, "securebits (a root host needs CAP_SETPCAP)");
        syscall(SYS_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
        cd[0].inheritable = keep_ipc_lock ? (1u << CAP_IPC_LOCK) : 0;
        cd[1].inheritable = 0;
        if (syscall(SYS_capset, &ch, cd) != 0)
            CHILD_FAIL(a, "capset");
        if (keep_ipc_lock &&
            syscall(SYS_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_IPC_LOCK, 0, 0) != 0)
            CHILD_FAIL(a, "keeping CAP_IPC_LOCK");

        if (syscall(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
            CHILD_FAIL(a, "PR_SET_NO_NEW_PRIVS");

        int rs = (int)syscall(SYS_landlock_create_ruleset, &a->ll_attr, a->ll_size, 0u);
        if (rs < 0)
            CHILD_FAIL(a, "landlock_create_ruleset");
        int self = (int)syscall(SYS_openat, AT_FDCWD, "/proc/self", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (self < 0)
            CHILD_FAIL(a, "open /proc/self");
        ward_ll_path_beneath pb = {WARD_LL_FS_READ_FILE, self};
        if (syscall(SYS_landlock_add_rule, rs, WARD_LL_RULE_PATH_BENEATH, &pb, 0u) != 0)
            CHILD_FAIL(a, "landlock_add_rule");
        if (syscall(SYS_landlock_restrict_self, rs, 0u) != 0)
            CHILD_FAIL(a, "landlock_restrict_self");
        syscall(SYS_close, self);
        syscall(SYS_close, rs);

        ward_bpf_set_pid(a->filter, (uint32_t)syscall(SYS_getpid));
        struct sock_fprog prog = {(unsigned short)a->filter->n, a->filter->ins};
        if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0u, &prog) != 0)
            CHILD_FAIL(a, "seccomp");
    }

    syscall(SYS_execveat, WARD_RING_IMAGE_FD, "", a->argv, a->envp, AT_EMPTY_PATH);
    CHILD_FAIL(a, "execveat");
    return 127;
}

/* The host's seccomp layer: the TA's rules plus start-up. */
static void host_filter(ward_bpf *b)
{
    ward_bpf_begin(b, SECCOMP_RET_ERRNO | EPERM);
    ward_bpf_ta_rules(b);
    ward_bpf_allow_eq(b, SYS_execveat, 4, AT_EMPTY_PATH);
    static const long extra[] = {
        SYS_arch_prctl, SYS_set_tid_address, SYS_prctl,   SYS_memfd_secret, SYS_ftruncate,
        SYS_fstat,      SYS_newfstatat,      SYS_mlock,   SYS_mlock2,       SYS_munlock,
        SYS_landlock_create_ruleset, SYS_landlock_add_rule, SYS_landlock_restrict_self,
        SYS_seccomp,    SYS_openat,          SYS_read,    SYS_pread64,      SYS_lseek,
        SYS_close_range, SYS_fcntl,          SYS_uname,   SYS_getuid,       SYS_geteuid,
        SYS_getgid,     SYS_getegid,
#ifdef SYS_open
        SYS_open,
#endif
    };
    for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++)
        ward_bpf_allow(b, extra[i]);
    ward_bpf_end(b, SECCOMP_RET_ERRNO | EPERM);
}

/* ---- death ----------------------------------------------------------------------------------- */

int ward__proc_interrupted(const ward_tee_instance *inst)
{
    return __atomic_load_n(&inst->interrupted, __ATOMIC_SEQ_CST);
}

static void describe_exit(ward_tee_instance *inst, const siginfo_t *si)
{
    if (si->si_code == CLD_KILLED && si->si_status == SIGKILL && ward__proc_interrupted(inst)) {
        /* ours: the host ended it on purpose, the sandbox did not */
        inst->by_interrupt = 1;
        snprintf(inst->reason, sizeof inst->reason, "the instance was interrupted");
    } else if (si->si_code == CLD_EXITED) {
        snprintf(inst->reason, sizeof inst->reason, "the instance exited with status %d",
                 si->si_status);
    } else if (si->si_status == SIGSYS) {
        snprintf(inst->reason, sizeof inst->reason,
                 "the instance was killed by seccomp (forbidden system call)");
    } else {
        const char *name = sigabbrev_np(si->si_status);
        snprintf(inst->reason, sizeof inst->reason, "the instance was killed by signal SIG%s%s",
                 name != NULL ? name : "?", si->si_code == CLD_DUMPED ? " (core dumped)" : "");
    }
}

/* Reaps the child (blocking when wait is nonzero) and records how it ended. 1 if reaped. */
static int reap(ward_tee_instance *inst, int wait)
{
    if (inst->reaped)
        return 1;
    if (inst->pidfd < 0)
        return 0;
    siginfo_t si;
    memset(&si, 0, sizeof si);
    for (;;) {
        int r = waitid((idtype_t)P_PIDFD, (id_t)inst->pidfd, &si, WEXITED | (wait ? 0 : WNOHANG));
        if (r == 0)
            break;
        if (errno == EINTR)
            continue;
        /* ECHILD: someone else reaped it (SIGCHLD ignored by the application?) */
        inst->reaped = 1;
        if (!inst->dead) {
            inst->dead = 1;
            snprintf(inst->reason, sizeof inst->reason, "the instance ended (status unknown)");
        }
        return 1;
    }
    if (si.si_pid == 0)
        return 0; /* still running */
    inst->reaped = 1;
    inst->clean_exit = si.si_code == CLD_EXITED && si.si_status == 0;
    if (!inst->dead) {
        inst->dead = 1;
        describe_exit(inst, &si);
    }
    return 1;
}

static void kill_now(ward_tee_instance *inst)
{
    if (inst->pidfd >= 0 && !inst->reaped) {
        pidfd_send_signal(inst->pidfd, SIGKILL, NULL, 0);
        if (!inst->tee->profile->sandboxed && inst->pid > 0)
            kill(-inst->pid, SIGKILL); /* sim: whatever the TA forked */
    }
}

int ward__proc_alive(ward_tee_instance *inst)
{
    if (inst->dead)
        return 0;
    struct pollfd p = {inst->pidfd, POLLIN, 0};
    if (poll(&p, 1, 0) > 0) {
        reap(inst, 1);
        return 0;
    }
    return 1;
}

static ward_err dead_error(const ward_tee_instance *inst)
{
    return ward_err_set(inst->dead_err != WARD_OK ? inst->dead_err : WARD_ERR_DEAD, "%s",
                        inst->reason);
}

void ward__proc_interrupt(ward_tee_instance *inst)
{
    __atomic_store_n(&inst->interrupted, 1, __ATOMIC_SEQ_CST);
    if (inst->pidfd >= 0)
        (void)pidfd_send_signal(inst->pidfd, SIGKILL, NULL, 0);
    if (inst->hdr != NULL)
        syscall(SYS_futex, &inst->hdr->turn, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

/* The calling thread's side of an interrupt: the TA is dying of SIGKILL (sent again, and to a
 * sim TA's group, in case it was not yet); reap it and say how it ended. */
static ward_err interrupted_end(ward_tee_instance *inst)
{
    kill_now(inst);
    reap(inst, 1);
    return dead_error(inst);
}

/* Kills, reaps and marks the instance dead with err and a reason. */
static ward_err finish(ward_tee_instance *inst, ward_err err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static ward_err finish(ward_tee_instance *inst, ward_err err, const char *fmt, ...)
{
    if (!inst->dead) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(inst->reason, sizeof inst->reason, fmt, ap);
        va_end(ap);
        inst->dead = 1;
        inst->dead_err = err;
    }
    kill_now(inst);
    reap(inst, 1);
    return dead_error(inst);
}

/* ---- spawn ----------------------------------------------------------------------------------- */

static ward_err make_ring(ward_tee_instance *inst, int *fd_out)
{
    const ward_tee_limits *l = &inst->limits;
    uint64_t slot = ward_ring_slot_size(l->max_message);
    size_t size = (size_t)(WARD_RING_HDR_SIZE + 2 * slot);
    int fd = memfd_create("ward-ring", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0)
        return ward_err_set(WARD_ERR_IO, "memfd_create (ring): %s", strerror(errno));
    if (ftruncate(fd, (off_t)size) != 0 ||
        fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) {
        int e = errno;
        close(fd);
        return ward_err_set(WARD_ERR_IO, "ring: %s", strerror(e));
    }
    void *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED) {
        int e = errno;
        close(fd);
        return ward_err_set(WARD_ERR_NOMEM, "ring mmap: %s", strerror(e));
    }
    inst->ring = m;
    inst->ring_size = size;
    inst->hdr = m;
    ward_ring_hdr *h = inst->hdr;
    h->magic = WARD_RING_MAGIC;
    h->version = WARD_RING_VERSION;
    h->hdr_size = WARD_RING_HDR_SIZE;
    h->flags = (l->switchless ? WARD_RING_F_SWITCHLESS : 0) |
               (inst->tee->profile->sandboxed ? 0 : WARD_RING_F_SIM) |
               (inst->warm ? WARD_RING_F_PREFAULT : 0) |
               (ward__tee_test_no_secretmem ? WARD_RING_F_NO_SECRETMEM : 0);
    h->max_message = l->max_message;
    h->ring_size = size;
    h->slot_size = slot;
    h->req_off = WARD_RING_HDR_SIZE;
    h->resp_off = WARD_RING_HDR_SIZE + slot;
    h->heap_bytes = inst->heap_bytes;
    h->stack_bytes = WARD_TEE_STACK_BYTES;
    h->threads_max = l->threads;
    h->spin_us = l->spin_us;
    h->turn = WARD_RING_TURN_INIT;
    inst->req = (ward_ring_msg *)(void *)(inst->ring + h->req_off);
    inst->resp = (ward_ring_msg *)(void *)(inst->ring + h->resp_off);
    inst->req_data = inst->ring + h->req_off + sizeof(ward_ring_msg);
    inst->resp_data = inst->ring + h->resp_off + sizeof(ward_ring_msg);
    /* fault in the first page of each slot now rather than in the first call */
    ((volatile uint8_t *)inst->req)[0] = 0;
    ((volatile uint8_t *)inst->resp)[0] = 0;
    *fd_out = fd;
    return WARD_OK;
}

ward_err ward__proc_spawn(ward_tee_instance *inst)
{
    int ring_fd = -1;
    ward_err e = make_ring(inst, &ring_fd);
    if (e != WARD_OK)
        return e;

    const int sandboxed = inst->tee->profile->sandboxed;
    child_args *a = calloc(1, sizeof *a);
    ward_bpf *filter = sandboxed ? calloc(1, sizeof *filter) : NULL;
    void *stack = mmap(NULL, CHILD_STACK, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (a == NULL || (sandboxed && filter == NULL) || stack == MAP_FAILED) {
        e = ward_err_set(WARD_ERR_NOMEM, "out of memory starting an instance");
        goto out;
    }
    a->ring_fd = ring_fd;
    a->image_fd = inst->img->fd;
    a->sandboxed = sandboxed;
    a->parent = getpid();
    a->argv[0] = (char *)(uintptr_t)ward_manifest_name(inst->img->manifest);
    a->argv[1] = NULL;
    a->envp[0] = NULL;
    if (sandboxed) {
        a->ll_abi = ward_ll_abi();
        if (a->ll_abi <= 0) {
            e = ward_err_set(WARD_ERR_UNSUPPORTED,
                             "Landlock is not available: the sandbox cannot deny file access");
            goto out;
        }
        a->ll_attr = ward_ll_attr_for(a->ll_abi, &a->ll_size);
        uint64_t secret = 4096u + WARD_TEE_STACK_BYTES + inst->heap_bytes;
        uint64_t as = inst->img->size + secret + inst->ring_size + AS_HEADROOM;
        a->lim_as.rlim_cur = a->lim_as.rlim_max = as;
        a->lim_memlock.rlim_cur = a->lim_memlock.rlim_max = secret + (1u << 20);
        host_filter(filter);
        if (filter->overflow) {
            e = ward_err_set(WARD_ERR_STATE, "seccomp program too long");
            goto out;
        }
        a->filter = filter;
    }

    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int pidfd = -1;
    pid_t pid = clone(child_main, (uint8_t *)stack + CHILD_STACK,
                      CLONE_VM | CLONE_VFORK | CLONE_PIDFD | SIGCHLD, a, &pidfd);
    int clone_errno = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (pid < 0) {
        e = ward_err_set(WARD_ERR_IO, "clone: %s", strerror(clone_errno));
        goto out;
    }
    inst->pid = pid;
    inst->pidfd = pidfd;
    if (a->fail_step != NULL) {
        reap(inst, 1);
        inst->dead = 1;
        snprintf(inst->reason, sizeof inst->reason, "the instance could not start: %s: %s",
                 a->fail_step, strerror(a->fail_errno));
        e = ward_err_set(WARD_ERR_IO, "%s", inst->reason);
        goto out;
    }
    e = WARD_OK;
out:
    if (stack != MAP_FAILED)
        munmap(stack, CHILD_STACK);
    if (filter != NULL) {
        ward_wipe(filter, sizeof *filter);
        free(filter);
    }
    free(a);
    close(ring_fd);
    return e;
}

/* ---- waiting and messages ------------------------------------------------------------------ */

/* One wait of at most about slice_ns for the host's turn (after spinning spin_ns). Unlike
 * ward_ring_wait, a wake-up without the turn ends it, so that an interrupt is seen at once. */
static int host_wait(ward_tee_instance *inst, uint64_t spin_ns, uint64_t slice_ns)
{
    ward_ring_hdr *h = inst->hdr;
    if (spin_ns != 0 &&
        ward_ring_wait(h, WARD_RING_TURN_HOST, &h->host_sleeping, spin_ns, spin_ns))
        return 1;
    struct timespec ts = {(time_t)(slice_ns / 1000000000u), (long)(slice_ns % 1000000000u)};
    ward_ring_store(&h->host_sleeping, 1);
    uint32_t cur = ward_ring_load(&h->turn);
    if (cur != WARD_RING_TURN_HOST && !ward__proc_interrupted(inst))
        syscall(SYS_futex, &h->turn, FUTEX_WAIT, cur, &ts, NULL, 0);
    ward_ring_store(&h->host_sleeping, 0);
    return ward_ring_load(&h->turn) == WARD_RING_TURN_HOST;
}

/* Waits for the TA's turn to end. OK, or DEAD / TIMEOUT with the instance killed and reaped
 * (DEAD "interrupted" after ward_tee_interrupt). */
static ward_err wait_host_turn_ms(ward_tee_instance *inst, uint32_t timeout_ms)
{
    uint64_t spin = inst->limits.switchless ? (uint64_t)inst->limits.spin_us * 1000u : 0;
    uint64_t start = ward_ring_now_ns();
    uint64_t limit = (uint64_t)timeout_ms * 1000000u;
    for (;;) {
        uint64_t el = ward_ring_now_ns() - start;
        uint64_t slice = SLICE_NS;
        if (el < limit && limit - el < slice)
            slice = limit - el;
        if (slice == 0)
            slice = 1;
        if (host_wait(inst, spin, slice))
            return WARD_OK;
        spin = 0;
        if (ward__proc_interrupted(inst))
            return interrupted_end(inst);
        if (!ward__proc_alive(inst))
            return dead_error(inst);
        if (ward_ring_now_ns() - start >= limit)
            return finish(inst, WARD_ERR_TIMEOUT,
                          "the instance did not answer within %u ms: it was killed", timeout_ms);
    }
}

static ward_err wait_host_turn(ward_tee_instance *inst)
{
    return wait_host_turn_ms(inst, inst->limits.call_timeout_ms);
}

static void give_ta(ward_tee_instance *inst, uint32_t kind, uint32_t id, uint32_t status,
                    const uint8_t *data, size_t len)
{
    if (len != 0)
        memcpy(inst->req_data, data, len);
    ward_ring_msg m = {kind, id, status, 0, len};
    memcpy(inst->req, &m, sizeof m);
    ward_ring_give(inst->hdr, WARD_RING_TURN_TA, &inst->hdr->ta_sleeping);
}

ward_err ward__proc_wait_ready(ward_tee_instance *inst)
{
    uint32_t t = inst->limits.call_timeout_ms;
    ward_err e = wait_host_turn_ms(inst, t > STARTUP_TIMEOUT_MS ? t : STARTUP_TIMEOUT_MS);
    if (e != WARD_OK)
        return ward_err_wrap(e, "starting %s", ward_manifest_name(inst->img->manifest));
    ward_ring_msg m;
    memcpy(&m, inst->resp, sizeof m);
    if (m.kind == WARD_MSG_FAILED) {
        char why[128];
        size_t n = m.len < sizeof why - 1 ? (size_t)m.len : sizeof why - 1;
        if (n > inst->limits.max_message)
            n = 0;
        memcpy(why, inst->resp_data, n);
        why[n] = '\0';
        for (size_t i = 0; i < n; i++)
            if (why[i] < 0x20 || why[i] > 0x7e)
                why[i] = '?';
        return finish(inst, WARD_ERR_DEAD, "the instance refused to start: %s", why);
    }
    if (m.kind != WARD_MSG_READY || m.len != sizeof(ward_ring_ready))
        return finish(inst, WARD_ERR_DEAD, "the instance sent no ready message (kind %u)",
                      m.kind);
    ward_ring_ready rd;
    memcpy(&rd, inst->resp_data, sizeof rd);
    inst->protections = rd.protections;
    inst->landlock_abi = rd.landlock_abi;
    if (inst->tee->profile->sandboxed &&
        (rd.protections & (WARD_PROT_SECCOMP | WARD_PROT_LANDLOCK | WARD_PROT_NONDUMPABLE)) !=
            (WARD_PROT_SECCOMP | WARD_PROT_LANDLOCK | WARD_PROT_NONDUMPABLE))
        return finish(inst, WARD_ERR_DEAD, "the instance did not harden itself (0x%x)",
                      rd.protections);
    if (ward_log_get_level() <= WARD_LOG_DEBUG) {
        char abi[16];
        snprintf(abi, sizeof abi, "%u", rd.landlock_abi);
        ward_log(WARD_LOG_DEBUG, "tee.instance.ready", "ta", ward_manifest_name(inst->img->manifest),
                 "backend", inst->tee->profile->name, "heap",
                 (rd.protections & WARD_PROT_HEAP_SECRET) ? "memfd_secret"
                 : (rd.protections & WARD_PROT_HEAP_MLOCK) ? "mlock"
                                                           : "plain",
                 "landlock_abi", abi, (char *)NULL);
    }
    return WARD_OK;
}

/* Answers one ocall (the TA waits for OCALL_RET). */
static void serve_ocall(ward_tee_instance *inst, const ward_ring_msg *m)
{
    const size_t cap = inst->limits.max_message;
    if (m->len > cap) {
        give_ta(inst, WARD_MSG_OCALL_RET, m->id, WARD_ERR_FORMAT, NULL, 0);
        return;
    }
    if (inst->ocall_in == NULL) {
        inst->ocall_in = malloc(cap);
        inst->ocall_out = malloc(cap);
        if (inst->ocall_in == NULL || inst->ocall_out == NULL) {
            free(inst->ocall_in);
            free(inst->ocall_out);
            inst->ocall_in = inst->ocall_out = NULL;
            give_ta(inst, WARD_MSG_OCALL_RET, m->id, WARD_ERR_NOMEM, NULL, 0);
            return;
        }
    }
    size_t in_len = (size_t)m->len, out_len = 0;
    memcpy(inst->ocall_in, inst->resp_data, in_len);
    ward_err st;
    if (m->id >= WARD_SYS_OCALL_BASE)
        st = ward__tee_sys_ocall(inst, m->id, inst->ocall_in, in_len, inst->ocall_out, cap,
                                 &out_len);
    else if (inst->ocall == NULL)
        st = WARD_ERR_NOT_FOUND;
    else
        st = inst->ocall(inst->ocall_arg, m->id, inst->ocall_in, in_len, inst->ocall_out, cap,
                         &out_len);
    if ((unsigned)st >= (unsigned)WARD_ERR__COUNT)
        st = WARD_ERR_STATE;
    if (out_len > cap) {
        st = WARD_ERR_OVERFLOW;
        out_len = 0;
    }
    give_ta(inst, WARD_MSG_OCALL_RET, m->id, (uint32_t)st, inst->ocall_out, out_len);
    /* the output may be a sealing key: keep no copy */
    ward_wipe(inst->ocall_in, in_len);
    ward_wipe(inst->ocall_out, out_len);
}

/* A blocking call is a synchronous hand-over, like an enclave call that runs on the caller's
 * core: the TA's call thread is kept on the CPU of the thread that calls it, so that the wake-up
 * does not have to reach another (possibly halted) CPU. Switchless mode needs the opposite: both
 * sides spin, and two spinners on one CPU hand over only when one of them yields (every
 * WARD_RING_YIELD_NS): measured at about 10 us a round trip, against 0.2 us on two CPUs. The
 * scheduler may well put them together (a futex wake-up tends to place the TA on the waker's
 * CPU) and leaves two busy tasks where they are, so there the call thread is kept on every CPU
 * it was started with but the caller's. Either way the affinity is set only when the caller's CPU
 * changes; threads the TA starts get every CPU back (the runtime sees to it). */
static void follow_caller(ward_tee_instance *inst)
{
    int cpu = sched_getcpu();
    if (cpu < 0 || cpu == inst->pinned_cpu || cpu >= CPU_SETSIZE)
        return;
    cpu_set_t set;
    if (inst->limits.switchless) {
        if (!inst->have_ta_cpus) {
            if (sched_getaffinity(inst->pid, sizeof inst->ta_cpus, &inst->ta_cpus) != 0)
                return;
            inst->have_ta_cpus = 1;
        }
        set = inst->ta_cpus;
        CPU_CLR((size_t)cpu, &set);
        if (CPU_COUNT(&set) == 0) /* no other CPU: the spinners yield to each other */
            set = inst->ta_cpus;
    } else {
        CPU_ZERO(&set);
        CPU_SET((size_t)cpu, &set);
    }
    if (sched_setaffinity(inst->pid, sizeof set, &set) == 0)
        inst->pinned_cpu = cpu;
}

ward_err ward__proc_call(ward_tee_instance *inst, uint32_t call_id, const uint8_t *in,
                         size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
    if (inst->dead)
        return dead_error(inst);
    if (ward__proc_interrupted(inst))
        return interrupted_end(inst);
    follow_caller(inst);
    give_ta(inst, WARD_MSG_CALL, call_id, 0, in, in_len);
    unsigned errors = 0;
    for (;;) {
        ward_err e = wait_host_turn(inst);
        if (e != WARD_OK)
            return e;
        ward_ring_msg m;
        memcpy(&m, inst->resp, sizeof m); /* copied once, then validated */
        if (m.kind == WARD_MSG_OCALL) {
            serve_ocall(inst, &m);
            continue;
        }
        if (m.kind != WARD_MSG_RESPONSE) {
            /* Unknown or out-of-place message: answer with an error, keep serving. */
            if (++errors > MAX_PROTOCOL_ERRORS)
                return finish(inst, WARD_ERR_DEAD,
                              "the instance kept sending malformed messages: it was killed");
            give_ta(inst, WARD_MSG_OCALL_RET, m.id, WARD_ERR_FORMAT, NULL, 0);
            continue;
        }
        if (m.id != call_id)
            return ward_err_set(WARD_ERR_FORMAT, "the instance answered call %u instead of %u",
                                m.id, call_id);
        if (m.len > inst->limits.max_message)
            return ward_err_set(WARD_ERR_FORMAT,
                                "the instance sent a response of %llu bytes (max_message %u)",
                                (unsigned long long)m.len, inst->limits.max_message);
        if (m.status >= (uint32_t)WARD_ERR__COUNT)
            return ward_err_set(WARD_ERR_FORMAT, "the instance sent an unknown status %u",
                                m.status);
        size_t n = (size_t)m.len;
        if (n > out_cap) {
            *out_len = n;
            return ward_err_set(WARD_ERR_OVERFLOW,
                                "response of %zu bytes does not fit the %zu-byte buffer", n,
                                out_cap);
        }
        if (n != 0)
            memcpy(out, inst->resp_data, n);
        *out_len = n;
        if (m.status != WARD_OK)
            return ward_err_set((ward_err)m.status, "the TA returned %s",
                                ward_err_name((ward_err)m.status));
        return WARD_OK;
    }
}

static void wipe_ring(ward_tee_instance *inst)
{
    /* Only the pages that were ever used (touching the others would allocate them). */
    size_t npages = inst->ring_size / 4096u;
    unsigned char vec[256];
    for (size_t done = 0; done < npages;) {
        size_t n = npages - done < sizeof vec ? npages - done : sizeof vec;
        uint8_t *base = inst->ring + done * 4096u;
        if (mincore(base, n * 4096u, vec) != 0) {
            ward_wipe(base, n * 4096u);
        } else {
            for (size_t i = 0; i < n; i++)
                if (vec[i] & 1u)
                    ward_wipe(base + i * 4096u, 4096u);
        }
        done += n;
    }
}

ward_err ward__proc_destroy(ward_tee_instance *inst)
{
    ward_err result = WARD_OK;
    if (inst->pidfd >= 0) {
        const int interrupted = ward__proc_interrupted(inst);
        if (!inst->dead && !interrupted && !__atomic_load_n(&inst->busy, __ATOMIC_SEQ_CST) &&
            ward_ring_load(&inst->hdr->turn) == WARD_RING_TURN_HOST) {
            give_ta(inst, WARD_MSG_DESTROY, 0, 0, NULL, 0);
            struct pollfd p = {inst->pidfd, POLLIN, 0};
            int r;
            do
                r = poll(&p, 1, DESTROY_GRACE_MS);
            while (r < 0 && errno == EINTR);
        }
        int was_dead = inst->dead;
        /* sim: whatever the TA forked goes too (the group id cannot be reused before the TA,
         * at worst a zombie now, is reaped) */
        if (!inst->tee->profile->sandboxed && inst->pid > 0 && !inst->reaped)
            kill(-inst->pid, SIGKILL);
        if (interrupted) { /* its SIGKILL is on its way: no grace, no "did not exit" */
            kill_now(inst);
            reap(inst, 1);
        }
        if (!reap(inst, 0)) {
            kill_now(inst);
            reap(inst, 1);
            if (!was_dead)
                snprintf(inst->reason, sizeof inst->reason,
                         "the instance did not exit when destroyed: it was killed");
            result = WARD_ERR_DEAD;
        } else if (inst->by_interrupt) {
            result = WARD_OK; /* ended as the host asked, like a destroy */
        } else if (was_dead || !inst->clean_exit) {
            result = inst->dead_err != WARD_OK ? inst->dead_err : WARD_ERR_DEAD;
        }
        if (result != WARD_OK)
            ward_err_set(result, "%s", inst->reason);
        close(inst->pidfd);
        inst->pidfd = -1;
    }
    if (inst->ring != NULL) {
        wipe_ring(inst);
        munmap(inst->ring, inst->ring_size);
        inst->ring = NULL;
    }
    if (inst->ocall_in != NULL) {
        ward_wipe(inst->ocall_in, inst->limits.max_message);
        ward_wipe(inst->ocall_out, inst->limits.max_message);
        free(inst->ocall_in);
        free(inst->ocall_out);
        inst->ocall_in = inst->ocall_out = NULL;
    }
    return result;
}

/* ---- test hooks ------------------------------------------------------------------------------ */

pid_t ward__tee_test_pid(const ward_tee_instance *inst)
{
    return inst->pid;
}

uint32_t ward__tee_test_protections(const ward_tee_instance *inst)
{
    return inst->protections;
}

ward_err ward__tee_test_raw(ward_tee_instance *inst, uint32_t kind, uint32_t id,
                            uint64_t declared_len, uint32_t *rkind, uint32_t *rstatus)
{
    if (inst->dead)
        return dead_error(inst);
    ward_ring_msg m = {kind, id, 0, 0, declared_len};
    memcpy(inst->req, &m, sizeof m);
    ward_ring_give(inst->hdr, WARD_RING_TURN_TA, &inst->hdr->ta_sleeping);
    ward_err e = wait_host_turn(inst);
    if (e != WARD_OK)
        return e;
    ward_ring_msg r;
    memcpy(&r, inst->resp, sizeof r);
    *rkind = r.kind;
    *rstatus = r.status;
    return WARD_OK;
}
