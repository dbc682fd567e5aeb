/* The TA's secret memory: boot (ring header, non-dumpable, the secret region) and the allocator
 * that replaces malloc and friends for the whole static executable (glibc allows this in a
 * static link when all of malloc, free, calloc, realloc, memalign, posix_memalign,
 * aligned_alloc, malloc_usable_size, valloc and pvalloc are defined; they are all in this one
 * object so that the linker never pulls glibc's malloc.o next to it). OpenSSL allocates through
 * malloc, so its keys land here too.
 *
 * The secret region is one mapping: [guard page][call stack][heap]. It comes from
 * memfd_secret(2) where the kernel has it (the pages leave the kernel's direct map: neither
 * /proc/PID/mem nor process_vm_readv can read them, and the kernel zeroes them when they are
 * freed), otherwise from an anonymous mapping locked with mlock2(MLOCK_ONFAULT) and excluded from
 * core dumps. Pages are only used when touched, so an idle instance stays small.
 *
 * The allocator: boundary tags (16-byte header: previous block's size when it is free, this
 * block's size and flags), segregated free lists (exact 16-byte classes below 1 KiB, four
 * classes per power of two above), immediate coalescing, and a wilderness ("top") carved on
 * demand. Every block is wiped when it is freed. A bad pointer to free or realloc stops the
 * process (a corrupted heap in a TA must not keep running). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ta_internal.h"

ward_ta_ctx ward__ta;

#define PAGE 4096u
#define HDR 16u
#define MINBLK 32u
#define F_INUSE 1u
#define F_PREV 2u
#define SIZE_MASK (~(uint64_t)15)
#define NBINS 256u
#define NOBOOT_HEAP (64u << 20)
#define NOBOOT_STACK (1u << 20)

typedef struct blk {
    uint64_t prev_size; /* valid when the previous block is free */
    uint64_t head;      /* size | flags */
    struct blk *fd;     /* free list links, in the payload of a free block */
    struct blk *bk;
} blk;

static uint8_t *hbase, *htop, *hend;
static blk *bins[NBINS];
static uint64_t binmap[NBINS / 64];
static size_t in_use;
static uint32_t lockw;
static int hdead; /* wiped at exit: nothing is allocated or freed any more */

/* ---- lock (futex mutex; no dependence on pthread state, usable before main) ---------------- */

static void heap_lock(void)
{
    uint32_t c = 0;
    if (__atomic_compare_exchange_n(&lockw, &c, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
        return;
    if (c != 2)
        c = __atomic_exchange_n(&lockw, 2, __ATOMIC_ACQUIRE);
    while (c != 0) {
        syscall(SYS_futex, &lockw, FUTEX_WAIT_PRIVATE, 2, NULL, NULL, 0);
        c = __atomic_exchange_n(&lockw, 2, __ATOMIC_ACQUIRE);
    }
}

static void heap_unlock(void)
{
    if (__atomic_exchange_n(&lockw, 0, __ATOMIC_RELEASE) == 2)
        syscall(SYS_futex, &lockw, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

__attribute__((noreturn)) static void heap_corrupt(void)
{
    __builtin_trap();
}

/* ---- boot -------------------------------------------------------------------------------- */

static void boot_ring(void)
{
    struct stat st;
    if (fstat(WARD_RING_FD, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < WARD_RING_HDR_SIZE ||
        (uint64_t)st.st_size > (uint64_t)WARD_RING_HDR_SIZE + 2u * ((uint64_t)WARD_RING_MAX_MESSAGE + PAGE))
        return;
    size_t size = (size_t)st.st_size;
    uint8_t *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, WARD_RING_FD, 0);
    if (m == MAP_FAILED)
        return;
    ward_ring_hdr h;
    memcpy(&h, m, sizeof h); /* one copy; never re-read */
    uint64_t slot = ward_ring_slot_size(h.max_message);
    if (h.magic != WARD_RING_MAGIC || h.version != WARD_RING_VERSION ||
        h.hdr_size != WARD_RING_HDR_SIZE || h.max_message == 0 ||
        h.max_message > WARD_RING_MAX_MESSAGE || h.slot_size != slot ||
        h.req_off != WARD_RING_HDR_SIZE || h.resp_off != h.req_off + slot ||
        h.ring_size != h.resp_off + slot || h.ring_size != size || h.heap_bytes < (64u << 10) ||
        h.heap_bytes > (UINT64_C(1) << 40) || h.heap_bytes % PAGE != 0 ||
        h.stack_bytes < (64u << 10) || h.stack_bytes > (256u << 20) || h.stack_bytes % PAGE != 0 ||
        h.threads_max == 0 || h.spin_us > 1000000u) {
        munmap(m, size);
        return;
    }
    ward__ta.have_ring = 1;
    ward__ta.ring = m;
    ward__ta.ring_size = size;
    ward__ta.hdr = (ward_ring_hdr *)(void *)m;
    ward__ta.req = (ward_ring_msg *)(void *)(m + h.req_off);
    ward__ta.resp = (ward_ring_msg *)(void *)(m + h.resp_off);
    ward__ta.req_data = m + h.req_off + sizeof(ward_ring_msg);
    ward__ta.resp_data = m + h.resp_off + sizeof(ward_ring_msg);
    ward__ta.flags = h.flags;
    ward__ta.sim = (h.flags & WARD_RING_F_SIM) != 0;
    ward__ta.max_message = h.max_message;
    ward__ta.spin_us = h.spin_us;
    ward__ta.threads_max = h.threads_max;
    ward__ta.heap_size = (size_t)h.heap_bytes;
    ward__ta.stack_size = (size_t)h.stack_bytes;
}

static uint8_t *map_plain(size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                   -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

static uint8_t *map_secret(size_t size)
{
    int fd = -1;
    errno = ENOSYS;
    if (!(ward__ta.flags & WARD_RING_F_NO_SECRETMEM))
        fd = (int)syscall(SYS_memfd_secret, (unsigned)O_CLOEXEC);
    if (fd >= 0) {
        uint8_t *p = NULL;
        if (ftruncate(fd, (off_t)size) == 0) {
            void *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
            if (m != MAP_FAILED)
                p = m;
        }
        close(fd);
        if (p == NULL) {
            ward__ta.boot_error = "the secret heap could not be mapped (memfd_secret; "
                                  "RLIMIT_MEMLOCK too low?)";
            return NULL;
        }
        ward__ta.protections |= WARD_PROT_HEAP_SECRET;
        return p;
    }
    if (errno != ENOSYS) {
        ward__ta.boot_error = "memfd_secret failed";
        return NULL;
    }
    /* Fallback: locked (as pages are touched), never in a core dump. */
    uint8_t *p = map_plain(size);
    if (p == NULL) {
        ward__ta.boot_error = "the heap could not be mapped";
        return NULL;
    }
    if (syscall(SYS_mlock2, p, size, 1 /* MLOCK_ONFAULT */) != 0) {
        munmap(p, size);
        ward__ta.boot_error = "the heap could not be locked (mlock2; RLIMIT_MEMLOCK too low?)";
        return NULL;
    }
    madvise(p, size, MADV_DONTDUMP);
    ward__ta.protections |= WARD_PROT_HEAP_MLOCK;
    return p;
}

static void boot_locked(void)
{
    if (ward__ta.booted)
        return;
    ward__ta.booted = 1;
    ward__ta.have_cpus = sched_getaffinity(0, sizeof ward__ta.cpus, &ward__ta.cpus) == 0;
    boot_ring();
    if (!ward__ta.have_ring) {
        ward__ta.heap_size = NOBOOT_HEAP;
        ward__ta.stack_size = NOBOOT_STACK;
        ward__ta.sim = 1;
    }
    /* exec reset the dumpable flag: clear it before anything secret exists. */
    if (!ward__ta.sim) {
        if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == 0 && prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 0)
            ward__ta.protections |= WARD_PROT_NONDUMPABLE;
        else
            ward__ta.boot_error = "could not make the process non-dumpable";
    }
    size_t size = PAGE + ward__ta.stack_size + ward__ta.heap_size;
    uint8_t *r = NULL;
    if (!ward__ta.sim && ward__ta.boot_error == NULL)
        r = map_secret(size);
    if (r == NULL) {
        /* sim, not started by a host, or failed (then only the failure report runs). */
        if (ward__ta.boot_error != NULL) {
            ward__ta.heap_size = 1u << 20;
            ward__ta.stack_size = 256u << 10;
            size = PAGE + ward__ta.stack_size + ward__ta.heap_size;
        }
        r = map_plain(size);
        if (r == NULL)
            heap_corrupt();
    }
    mprotect(r, PAGE, PROT_NONE); /* stack guard */
    ward__ta.region = r;
    ward__ta.region_size = size;
    ward__ta.stack = r + PAGE;
    ward__ta.heap = r + PAGE + ward__ta.stack_size;
    hbase = htop = ward__ta.heap;
    hend = hbase + ward__ta.heap_size;
}

/* ---- allocator ----------------------------------------------------------------------------- */

static inline uint64_t bsize(const blk *b)
{
    return b->head & SIZE_MASK;
}

static inline blk *at(void *p, uint64_t off)
{
    return (blk *)(void *)((uint8_t *)p + off);
}

static inline void *payload(blk *b)
{
    return (uint8_t *)b + HDR;
}

static unsigned bin_of(uint64_t s)
{
    if (s < 1024)
        return (unsigned)(s >> 4);
    unsigned e = 63u - (unsigned)__builtin_clzll(s);
    unsigned i = 64u + (e - 10u) * 4u + (unsigned)((s >> (e - 2u)) & 3u);
    return i < NBINS ? i : NBINS - 1;
}

static void bin_insert(blk *b)
{
    unsigned i = bin_of(bsize(b));
    b->bk = NULL;
    b->fd = bins[i];
    if (b->fd != NULL)
        b->fd->bk = b;
    bins[i] = b;
    binmap[i / 64] |= UINT64_C(1) << (i % 64);
}

static void bin_remove(blk *b)
{
    unsigned i = bin_of(bsize(b));
    if (b->bk != NULL)
        b->bk->fd = b->fd;
    else if (bins[i] == b)
        bins[i] = b->fd;
    else
        heap_corrupt();
    if (b->fd != NULL)
        b->fd->bk = b->bk;
    if (bins[i] == NULL)
        binmap[i / 64] &= ~(UINT64_C(1) << (i % 64));
}

static unsigned next_bin(unsigned from)
{
    for (unsigned w = from / 64; w < NBINS / 64; w++) {
        uint64_t m = binmap[w];
        if (w == from / 64)
            m &= ~UINT64_C(0) << (from % 64);
        if (m != 0)
            return w * 64 + (unsigned)__builtin_ctzll(m);
    }
    return NBINS;
}

/* Bytes of block needed for a payload of n, 0 if impossible. */
static uint64_t need_for(size_t n)
{
    if (n > ((size_t)1 << 40))
        return 0;
    uint64_t need = ((uint64_t)n + HDR + 15u) & SIZE_MASK;
    return need < MINBLK ? MINBLK : need;
}

static blk *checked(void *p)
{
    uint8_t *q = p;
    if (q < hbase + HDR || q >= htop || ((uintptr_t)(q - hbase) & 15u) != 0)
        heap_corrupt();
    blk *b = (blk *)(void *)(q - HDR);
    uint64_t s = bsize(b);
    if (!(b->head & F_INUSE) || s < MINBLK || s > (uint64_t)(htop - (uint8_t *)b))
        heap_corrupt();
    return b;
}

/* Marks free block b (already out of its list) in use with size need, splitting off the rest. */
static void take(blk *b, uint64_t need)
{
    uint64_t s = bsize(b);
    if (s - need >= MINBLK) {
        blk *r = at(b, need);
        r->head = (s - need) | F_PREV;
        at(r, s - need)->prev_size = s - need;
        bin_insert(r);
        b->head = need | F_INUSE | (b->head & F_PREV);
    } else {
        b->head |= F_INUSE;
        uint8_t *nx = (uint8_t *)b + s;
        if (nx < htop)
            at(nx, 0)->head |= F_PREV;
    }
}

static blk *alloc_locked(uint64_t need)
{
    unsigned i = bin_of(need);
    blk *b = NULL;
    if (i >= 64) {
        for (blk *c = bins[i]; c != NULL; c = c->fd)
            if (bsize(c) >= need) {
                b = c;
                break;
            }
    } else {
        b = bins[i];
    }
    if (b == NULL) {
        unsigned j = next_bin(i + 1);
        if (j < NBINS)
            b = bins[j];
    }
    if (b != NULL) {
        bin_remove(b);
        take(b, need);
        in_use += bsize(b);
        return b;
    }
    if ((uint64_t)(hend - htop) < need)
        return NULL;
    b = (blk *)(void *)htop;
    htop += need;
    b->head = need | F_INUSE | F_PREV; /* the block before the top is always in use */
    in_use += need;
    return b;
}

static void free_locked(blk *b)
{
    uint64_t s = bsize(b);
    in_use -= s;
    explicit_bzero(payload(b), s - HDR);
    if (!(b->head & F_PREV)) {
        uint64_t ps = b->prev_size;
        if (ps < MINBLK || ps > (uint64_t)((uint8_t *)b - hbase) || (ps & 15u) != 0)
            heap_corrupt();
        blk *p = (blk *)(void *)((uint8_t *)b - ps);
        if ((p->head & F_INUSE) || bsize(p) != ps)
            heap_corrupt();
        bin_remove(p);
        s += ps;
        b = p;
    }
    uint8_t *nx = (uint8_t *)b + s;
    if (nx == htop) {
        htop = (uint8_t *)b;
        explicit_bzero(b, MINBLK);
        return;
    }
    blk *n = at(nx, 0);
    if (!(n->head & F_INUSE)) {
        bin_remove(n);
        s += bsize(n);
    } else {
        n->head &= ~(uint64_t)F_PREV;
    }
    b->head = s | F_PREV;
    at(b, s)->prev_size = s;
    bin_insert(b);
}

/* Trims in-use block b to need bytes, freeing the tail if it is big enough. */
static void trim(blk *b, uint64_t need)
{
    uint64_t s = bsize(b);
    if (s - need < MINBLK)
        return;
    b->head = need | F_INUSE | (b->head & F_PREV);
    blk *r = at(b, need);
    r->head = (s - need) | F_INUSE | F_PREV;
    free_locked(r); /* subtracts the tail from in_use */
}

static void *do_malloc(size_t n)
{
    uint64_t need = need_for(n);
    if (need == 0) {
        errno = ENOMEM;
        return NULL;
    }
    heap_lock();
    boot_locked();
    blk *b = hdead ? NULL : alloc_locked(need);
    heap_unlock();
    if (b == NULL) {
        errno = ENOMEM;
        return NULL;
    }
    return payload(b);
}

static void *do_memalign(size_t align, size_t n)
{
    if (align <= HDR)
        return do_malloc(n);
    if ((align & (align - 1)) != 0 || align > ((size_t)1 << 30)) {
        errno = EINVAL;
        return NULL;
    }
    uint64_t need = need_for(n);
    if (need == 0) {
        errno = ENOMEM;
        return NULL;
    }
    heap_lock();
    boot_locked();
    blk *b = hdead ? NULL : alloc_locked(need + align + MINBLK);
    if (b == NULL) {
        heap_unlock();
        errno = ENOMEM;
        return NULL;
    }
    uint8_t *p = payload(b);
    if (((uintptr_t)p & (align - 1)) != 0) {
        uintptr_t a = ((uintptr_t)p + MINBLK + align - 1) & ~(uintptr_t)(align - 1);
        uint64_t lead = (uint64_t)(a - (uintptr_t)p);
        uint64_t s = bsize(b);
        blk *nb = (blk *)(void *)((uint8_t *)a - HDR);
        nb->head = (s - lead) | F_INUSE; /* its previous block (the lead) is about to be free */
        b->head = lead | F_INUSE | (b->head & F_PREV);
        free_locked(b); /* coalesces the lead backwards; marks nb's previous free */
        b = nb;
        p = (uint8_t *)a;
    }
    trim(b, need);
    heap_unlock();
    return p;
}

void *malloc(size_t n)
{
    return do_malloc(n);
}

void free(void *p)
{
    if (p == NULL)
        return;
    heap_lock();
    if (!hdead)
        free_locked(checked(p));
    heap_unlock();
}

void *calloc(size_t n, size_t m)
{
    size_t t;
    if (__builtin_mul_overflow(n, m, &t)) {
        errno = ENOMEM;
        return NULL;
    }
    void *p = do_malloc(t);
    if (p != NULL)
        memset(p, 0, t);
    return p;
}

void *realloc(void *p, size_t n)
{
    if (p == NULL)
        return do_malloc(n);
    if (n == 0) {
        free(p);
        return NULL;
    }
    uint64_t need = need_for(n);
    if (need == 0) {
        errno = ENOMEM;
        return NULL;
    }
    heap_lock();
    if (hdead) {
        heap_unlock();
        errno = ENOMEM;
        return NULL;
    }
    blk *b = checked(p);
    uint64_t s = bsize(b);
    if (need <= s) {
        trim(b, need);
        heap_unlock();
        return p;
    }
    uint8_t *nx = (uint8_t *)b + s;
    if (nx == htop && (uint64_t)(hend - htop) >= need - s) {
        htop = (uint8_t *)b + need;
        b->head = need | F_INUSE | (b->head & F_PREV);
        in_use += need - s;
        heap_unlock();
        return p;
    }
    if (nx < htop) {
        blk *nb = at(nx, 0);
        if (!(nb->head & F_INUSE) && s + bsize(nb) >= need) {
            uint64_t t = s + bsize(nb);
            bin_remove(nb);
            b->head = t | F_INUSE | (b->head & F_PREV);
            uint8_t *after = (uint8_t *)b + t;
            if (after < htop)
                at(after, 0)->head |= F_PREV;
            in_use += t - s;
            trim(b, need);
            heap_unlock();
            return p;
        }
    }
    heap_unlock();
    void *q = do_malloc(n);
    if (q == NULL)
        return NULL;
    memcpy(q, p, (size_t)(s - HDR));
    free(p);
    return q;
}

void *memalign(size_t align, size_t n)
{
    return do_memalign(align, n);
}

int posix_memalign(void **out, size_t align, size_t n)
{
    if (align < sizeof(void *) || (align & (align - 1)) != 0)
        return EINVAL;
    int saved = errno;
    void *p = do_memalign(align, n);
    if (p == NULL) {
        int e = errno;
        errno = saved;
        return e;
    }
    *out = p;
    return 0;
}

void *aligned_alloc(size_t align, size_t n)
{
    return do_memalign(align, n);
}

size_t malloc_usable_size(void *p)
{
    if (p == NULL)
        return 0;
    heap_lock();
    size_t n = hdead ? 0 : (size_t)(bsize(checked(p)) - HDR);
    heap_unlock();
    return n;
}

void *valloc(size_t n)
{
    return do_memalign(PAGE, n);
}

void *pvalloc(size_t n)
{
    if (n > SIZE_MAX - PAGE) {
        errno = ENOMEM;
        return NULL;
    }
    return do_memalign(PAGE, (n + PAGE - 1) & ~(size_t)(PAGE - 1));
}

void ward__ta_boot(void)
{
    heap_lock();
    boot_locked();
    heap_unlock();
}

size_t ward__ta_heap_used(void)
{
    heap_lock();
    size_t n = in_use;
    heap_unlock();
    return n;
}

void ward__ta_wipe_heap_at_exit(void)
{
    heap_lock();
    if (hbase != NULL && !hdead)
        explicit_bzero(hbase, (size_t)(htop - hbase));
    hdead = 1;
    heap_unlock();
}

void ward__ta_wipe_all(void)
{
    heap_lock(); /* kept: nothing allocates after this */
    if (hbase != NULL)
        explicit_bzero(hbase, (size_t)(htop - hbase));
    if (ward__ta.stack != NULL) {
        /* Only the stack pages that were ever touched (touching the others would allocate). */
        size_t npages = ward__ta.stack_size / PAGE;
        unsigned char vec[512];
        size_t done = 0;
        while (done < npages) {
            size_t n = npages - done < sizeof vec ? npages - done : sizeof vec;
            uint8_t *base = ward__ta.stack + done * PAGE;
            if (mincore(base, n * PAGE, vec) != 0) {
                explicit_bzero(base, n * PAGE);
            } else {
                for (size_t i = 0; i < n; i++)
                    if (vec[i] & 1u)
                        explicit_bzero(base + i * PAGE, PAGE);
            }
            done += n;
        }
    }
}
