/* Thread accounting for TA code. ward_add_ta links with -Wl,--wrap=pthread_create, so every
 * pthread_create in the TA comes here: counting the main thread (which runs the call loop), a
 * thread beyond the instance's limit is refused with EAGAIN, as the kernel would refuse it at RLIMIT_NPROC. The
 * count drops when a thread ends (a thread-specific value's destructor runs on return and on
 * pthread_exit). RLIMIT_NPROC itself is per user, not per process, so it cannot express a
 * per-instance limit; a TA that issues raw clone(2) calls bypasses this count (the seccomp
 * filter still allows only threads, never processes). */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdlib.h>

#include "ta_internal.h"

uint32_t ward__ta_threads = 1; /* the main thread */

int __real_pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *),
                          void *arg);
int __wrap_pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *),
                          void *arg);

/* Owned by the creating thread, which waits on `ready` until the new thread has taken fn and
 * arg and left the call thread's CPU: so when pthread_create returns, the thread already runs
 * with every CPU (the seccomp filter only lets a thread set its own affinity, so the creator
 * cannot do it for the new one). */
typedef struct tramp {
    void *(*fn)(void *);
    void *arg;
    int reset_cpus;
    sem_t ready;
} tramp;

static pthread_key_t key;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;

static void thread_gone(void *v)
{
    (void)v;
    __atomic_sub_fetch(&ward__ta_threads, 1, __ATOMIC_SEQ_CST);
}

static void make_key(void)
{
    if (pthread_key_create(&key, thread_gone) != 0)
        abort();
}

static void *trampoline(void *v)
{
    tramp *t = v;
    void *(*fn)(void *) = t->fn;
    void *arg = t->arg;
    pthread_setspecific(key, &ward__ta_threads);
    /* The host keeps the call thread on its caller's CPU during blocking calls; a thread the
     * TA starts must not inherit that. */
    if (t->reset_cpus)
        sched_setaffinity(0, sizeof ward__ta.cpus, &ward__ta.cpus);
    sem_post(&t->ready); /* t belongs to the creator from here on */
    return fn(arg);
}

int __wrap_pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *),
                          void *arg)
{
    ward__ta_boot();
    uint32_t limit = ward__ta.threads_max != 0 ? ward__ta.threads_max : 1;
    if (__atomic_add_fetch(&ward__ta_threads, 1, __ATOMIC_SEQ_CST) > limit) {
        __atomic_sub_fetch(&ward__ta_threads, 1, __ATOMIC_SEQ_CST);
        return EAGAIN;
    }
    pthread_once(&key_once, make_key);
    tramp *tr = malloc(sizeof *tr);
    if (tr == NULL) {
        __atomic_sub_fetch(&ward__ta_threads, 1, __ATOMIC_SEQ_CST);
        return EAGAIN;
    }
    tr->fn = fn;
    tr->arg = arg;
    tr->reset_cpus = ward__ta.have_cpus;
    if (sem_init(&tr->ready, 0, 0) != 0) {
        free(tr);
        __atomic_sub_fetch(&ward__ta_threads, 1, __ATOMIC_SEQ_CST);
        return EAGAIN;
    }
    if (attr != NULL && tr->reset_cpus) {
        /* an explicit affinity in attr wins (glibc reports all CPUs when none was set) */
        cpu_set_t a;
        if (pthread_attr_getaffinity_np(attr, sizeof a, &a) == 0 && CPU_COUNT(&a) < CPU_SETSIZE)
            tr->reset_cpus = 0;
    }
    int r = __real_pthread_create(t, attr, trampoline, tr);
    if (r != 0)
        __atomic_sub_fetch(&ward__ta_threads, 1, __ATOMIC_SEQ_CST);
    else
        while (sem_wait(&tr->ready) != 0 && errno == EINTR)
            ;
    sem_destroy(&tr->ready);
    free(tr);
    return r;
}
