/* A tiny builder for seccomp BPF allow-lists (internal; used by the sandbox host before exec and by
 * the TA runtime). No allocation: programs live in a fixed array (the host builds its program
 * before vfork; the child only patches its own pid in). Every rule block ends in a return, so the
 * accumulator holds the system call number whenever the next rule is tested. Linux on x86_64
 * and aarch64. */
#ifndef WARD_TEE_SANDBOX_BPF_H
#define WARD_TEE_SANDBOX_BPF_H

#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/syscall.h>

#if defined(__x86_64__)
#define WARD_BPF_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define WARD_BPF_ARCH AUDIT_ARCH_AARCH64
#else
#error "the Ward sandbox supports Linux on x86_64 and aarch64"
#endif

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "argument offsets assume a little-endian machine"
#endif

#define WARD_BPF_MAX 512u
#define WARD_BPF_MAX_RULES 128u
#define WARD_BPF_NR_OFF ((uint32_t)offsetof(struct seccomp_data, nr))
#define WARD_BPF_ARCH_OFF ((uint32_t)offsetof(struct seccomp_data, arch))
#define WARD_BPF_ARG_LO(i) ((uint32_t)(offsetof(struct seccomp_data, args) + 8u * (i)))
#define WARD_BPF_ARG_HI(i) (WARD_BPF_ARG_LO(i) + 4u)

enum { WARD_BPF_R_RET, WARD_BPF_R_MASK, WARD_BPF_R_EQ, WARD_BPF_R_SELF };

typedef struct ward_bpf_rule {
    uint32_t nr;
    uint32_t kind;
    uint32_t arg;
    uint32_t k;      /* action (RET), mask (MASK), value (EQ) */
    uint32_t set;    /* MASK: allowed when the bits are set (1) or clear (0) */
} ward_bpf_rule;

/* Rules are collected first, then emitted by ward_bpf_end as a binary search over the sorted
 * call numbers: the kernel emulates a new filter for every system call number when it is
 * attached (to cache constant answers), so a linear list of n rules costs n times more to
 * attach than a tree's path of about 2 log2(n). */
typedef struct ward_bpf {
    ward_bpf_rule rules[WARD_BPF_MAX_RULES];
    unsigned n_rules;
    struct sock_filter ins[WARD_BPF_MAX];
    unsigned n;
    int overflow;
    uint32_t deny; /* action of a failed argument check */
    uint32_t dflt; /* action for calls without a rule */
    unsigned pid_slot[4]; /* instructions that compare with the process's own pid */
    unsigned n_pid_slots;
} ward_bpf;

static inline void ward_bpf_ins(ward_bpf *b, uint16_t code, uint32_t k, uint8_t jt, uint8_t jf)
{
    if (b->n >= WARD_BPF_MAX) {
        b->overflow = 1;
        return;
    }
    b->ins[b->n].code = code;
    b->ins[b->n].jt = jt;
    b->ins[b->n].jf = jf;
    b->ins[b->n].k = k;
    b->n++;
}

static inline void ward_bpf_begin(ward_bpf *b, uint32_t deny)
{
    b->n = 0;
    b->n_rules = 0;
    b->overflow = 0;
    b->deny = deny;
    b->n_pid_slots = 0;
}

static inline void ward_bpf_rule_add(ward_bpf *b, long nr, uint32_t kind, unsigned arg,
                                     uint32_t k, uint32_t set)
{
    if (b->n_rules >= WARD_BPF_MAX_RULES) {
        b->overflow = 1;
        return;
    }
    ward_bpf_rule r = {(uint32_t)nr, kind, arg, k, set};
    b->rules[b->n_rules++] = r;
}

/* nr -> action */
static inline void ward_bpf_ret(ward_bpf *b, long nr, uint32_t action)
{
    ward_bpf_rule_add(b, nr, WARD_BPF_R_RET, 0, action, 0);
}

static inline void ward_bpf_allow(ward_bpf *b, long nr)
{
    ward_bpf_ret(b, nr, SECCOMP_RET_ALLOW);
}

/* nr is allowed when (low 32 bits of args[arg]) & mask == 0 (or != 0 when set is nonzero). */
static inline void ward_bpf_allow_mask(ward_bpf *b, long nr, unsigned arg, uint32_t mask, int set)
{
    ward_bpf_rule_add(b, nr, WARD_BPF_R_MASK, arg, mask, set ? 1u : 0u);
}

/* nr is allowed when args[arg] == value (all 64 bits; value < 2^32). */
static inline void ward_bpf_allow_eq(ward_bpf *b, long nr, unsigned arg, uint32_t value)
{
    ward_bpf_rule_add(b, nr, WARD_BPF_R_EQ, arg, value, 0);
}

/* nr is allowed when args[arg] is the process's own pid (filled in by ward_bpf_set_pid, which
 * must be called before the program is used). */
static inline void ward_bpf_allow_self(ward_bpf *b, long nr, unsigned arg)
{
    ward_bpf_rule_add(b, nr, WARD_BPF_R_SELF, arg, 0, 0);
}

/* No allocation and no library call: usable in a vfork()ed child. */
static inline void ward_bpf_set_pid(ward_bpf *b, uint32_t pid)
{
    for (unsigned i = 0; i < b->n_pid_slots; i++)
        b->ins[b->pid_slot[i]].k = pid;
}

/* One rule: "if nr == rule's, its block" (every block ends in a return). */
static inline void ward_bpf_emit_rule(ward_bpf *b, const ward_bpf_rule *r)
{
    switch (r->kind) {
    case WARD_BPF_R_RET:
        ward_bpf_ins(b, BPF_JMP | BPF_JEQ | BPF_K, r->nr, 0, 1);
        ward_bpf_ins(b, BPF_RET | BPF_K, r->k, 0, 0);
        break;
    case WARD_BPF_R_MASK:
        ward_bpf_ins(b, BPF_JMP | BPF_JEQ | BPF_K, r->nr, 0, 4);
        ward_bpf_ins(b, BPF_LD | BPF_W | BPF_ABS, WARD_BPF_ARG_LO(r->arg), 0, 0);
        if (r->set)
            ward_bpf_ins(b, BPF_JMP | BPF_JSET | BPF_K, r->k, 1, 0);
        else
            ward_bpf_ins(b, BPF_JMP | BPF_JSET | BPF_K, r->k, 0, 1);
        ward_bpf_ins(b, BPF_RET | BPF_K, b->deny, 0, 0);
        ward_bpf_ins(b, BPF_RET | BPF_K, SECCOMP_RET_ALLOW, 0, 0);
        break;
    default: /* EQ, SELF */
        ward_bpf_ins(b, BPF_JMP | BPF_JEQ | BPF_K, r->nr, 0, 6);
        ward_bpf_ins(b, BPF_LD | BPF_W | BPF_ABS, WARD_BPF_ARG_LO(r->arg), 0, 0);
        if (r->kind == WARD_BPF_R_SELF) {
            if (b->n_pid_slots < sizeof b->pid_slot / sizeof b->pid_slot[0])
                b->pid_slot[b->n_pid_slots++] = b->n;
            else
                b->overflow = 1;
        }
        ward_bpf_ins(b, BPF_JMP | BPF_JEQ | BPF_K, r->k, 0, 2);
        ward_bpf_ins(b, BPF_LD | BPF_W | BPF_ABS, WARD_BPF_ARG_HI(r->arg), 0, 0);
        ward_bpf_ins(b, BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 0);
        ward_bpf_ins(b, BPF_RET | BPF_K, b->deny, 0, 0);
        ward_bpf_ins(b, BPF_RET | BPF_K, SECCOMP_RET_ALLOW, 0, 0);
        break;
    }
}

/* Rules [lo, hi) (sorted), the call number in the accumulator. */
static inline void ward_bpf_emit_tree(ward_bpf *b, unsigned lo, unsigned hi, int depth)
{
    if (hi - lo <= 4 || depth > 16) {
        for (unsigned i = lo; i < hi; i++)
            ward_bpf_emit_rule(b, &b->rules[i]);
        ward_bpf_ins(b, BPF_RET | BPF_K, b->dflt, 0, 0);
        return;
    }
    unsigned mid = lo + (hi - lo) / 2;
    /* nr >= rules[mid] ? (next: jump to the right half) : (skip it: the left half) */
    ward_bpf_ins(b, BPF_JMP | BPF_JGE | BPF_K, b->rules[mid].nr, 0, 1);
    unsigned ja = b->n;
    ward_bpf_ins(b, BPF_JMP | BPF_JA, 0, 0, 0);
    ward_bpf_emit_tree(b, lo, mid, depth + 1);
    if (ja < WARD_BPF_MAX)
        b->ins[ja].k = b->n - ja - 1;
    ward_bpf_emit_tree(b, mid, hi, depth + 1);
}

/* Emits the program: a foreign architecture (or an x32 call) is killed, then the rules. The
 * first rule given for a call number wins. */
static inline void ward_bpf_end(ward_bpf *b, uint32_t default_action)
{
    b->dflt = default_action;
    /* stable insertion sort by call number, dropping later duplicates */
    unsigned n = 0;
    for (unsigned i = 0; i < b->n_rules; i++) {
        ward_bpf_rule r = b->rules[i];
        unsigned j = n;
        int dup = 0;
        for (unsigned k = 0; k < n; k++)
            if (b->rules[k].nr == r.nr)
                dup = 1;
        if (dup)
            continue;
        while (j > 0 && b->rules[j - 1].nr > r.nr) {
            b->rules[j] = b->rules[j - 1];
            j--;
        }
        b->rules[j] = r;
        n++;
    }
    b->n_rules = n;
    b->n = 0;
    b->n_pid_slots = 0;
    ward_bpf_ins(b, BPF_LD | BPF_W | BPF_ABS, WARD_BPF_ARCH_OFF, 0, 0);
    ward_bpf_ins(b, BPF_JMP | BPF_JEQ | BPF_K, WARD_BPF_ARCH, 1, 0);
    ward_bpf_ins(b, BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS, 0, 0);
    ward_bpf_ins(b, BPF_LD | BPF_W | BPF_ABS, WARD_BPF_NR_OFF, 0, 0);
#if defined(__x86_64__)
    ward_bpf_ins(b, BPF_JMP | BPF_JGE | BPF_K, 0x40000000u, 0, 1);
    ward_bpf_ins(b, BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS, 0, 0);
#endif
    ward_bpf_emit_tree(b, 0, n, 0);
}

/* The system calls a hardened TA may make once it runs: memory (never executable), threads
 * (never processes), futexes, time, randomness, signals to itself, exit. */
static inline void ward_bpf_ta_rules(ward_bpf *b)
{
    static const long allow[] = {
        SYS_futex,         SYS_munmap,          SYS_madvise,      SYS_mremap,
        SYS_brk,           SYS_mincore,         SYS_exit,         SYS_exit_group,
        SYS_rt_sigprocmask, SYS_rt_sigaction,   SYS_rt_sigreturn, SYS_sigaltstack,
        SYS_getpid,        SYS_gettid,          SYS_getppid,      SYS_clock_gettime,
        SYS_clock_getres,  SYS_gettimeofday,    SYS_clock_nanosleep, SYS_nanosleep,
        SYS_sched_yield,   SYS_sched_getaffinity, SYS_getrandom,  SYS_restart_syscall,
        SYS_set_robust_list, SYS_close,
#ifdef SYS_rseq
        SYS_rseq,
#endif
#ifdef SYS_time
        SYS_time,
#endif
#ifdef SYS_futex_waitv
        SYS_futex_waitv,
#endif
    };
    for (size_t i = 0; i < sizeof allow / sizeof allow[0]; i++)
        ward_bpf_allow(b, allow[i]);
    /* No executable memory: PROT_EXEC (4) refused on new mappings and protection changes. */
    ward_bpf_allow_mask(b, SYS_mmap, 2, 0x4u, 0);
    ward_bpf_allow_mask(b, SYS_mprotect, 2, 0x4u, 0);
    /* Threads only: clone must carry CLONE_THREAD (0x10000); clone3 (whose flags live in
     * memory that seccomp cannot read) says ENOSYS, and glibc falls back to clone. */
    ward_bpf_allow_mask(b, SYS_clone, 0, 0x10000u, 1);
#ifdef SYS_clone3
    ward_bpf_ret(b, SYS_clone3, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA));
#endif
    /* Signals only to itself (raise, abort, pthread_kill). */
    ward_bpf_allow_self(b, SYS_tgkill, 0);
    ward_bpf_allow_self(b, SYS_kill, 0);
    /* Its own threads' CPU affinity (threads a TA starts leave the call thread's CPU). */
    ward_bpf_allow_eq(b, SYS_sched_setaffinity, 0, 0);
    /* Reading its own limits (glibc asks for RLIMIT_STACK): pid 0, no new limit. */
    ward_bpf_allow_eq(b, SYS_prlimit64, 2, 0);
}

#endif
