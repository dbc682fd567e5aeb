/* ward_tee_interrupt (include/ward/tee.h): one thread kills an instance another thread is
 * calling into. The TA (tests/ta/ta_test.c) spins or sleeps forever, or waits in an ocall, and
 * the instance's call timeout is ~49 days: only the interrupt can end the call, so a broken
 * interrupt hangs the test until CTest's limit instead of passing late. No timing assertions.
 * Both backends (sandbox, sim) run TAs as processes, so both are exercised. */
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ta/ta_test.h"
#include "tee/tee_internal.h"
#include "ward/crypto.h"
#include "ward/manifest.h"
#include "ward/rot.h"
#include "ward/ta.h"
#include "ward/tee.h"

#define WAIT_LIMIT 1000000 /* a bound on polling loops (each yields), not a timing */

static const char *const call_names[TA_N_CALLS] = {
    "echo",   "report",    "seal",      "unseal",      "forbidden",    "open_file",
    "exec_mem", "crash",   "hang",      "spin",        "alloc",        "ocall",
    "secret_addr", "bad_ring", "bad_response", "self",  "threads",     "heap_used",   "exit",
};

typedef struct fixture {
    char *dir;
    ward_rot *rot;
    ward_pkey *dev;
    uint8_t *image;
    size_t image_len;
    ward_tee *tee[2]; /* sandbox, sim */
    ward_tee_image *img[2];
} fixture;

static fixture F;

/* the destroy events seen by the hook */
static int g_destroyed;
static ward_err g_destroy_result;
static char g_destroy_msg[256];

static void on_event(void *arg, const ward_tee_event *ev)
{
    (void)arg;
    if (ev->kind != WARD_TEE_EVENT_DESTROYED)
        return;
    g_destroyed++;
    g_destroy_result = ev->result;
    snprintf(g_destroy_msg, sizeof g_destroy_msg, "%s", ev->message);
}

static const char *ta_path(void)
{
    static char buf[4096];
    const char *env = getenv("WARD_TEST_TA");
    if (env != NULL)
        return env;
    ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 32);
    assert_true(n > 0);
    buf[n] = '\0';
    char *slash = strrchr(buf, '/');
    assert_non_null(slash);
    strcpy(slash + 1, "ta/ta_test");
    return buf;
}

static int group_setup(void **state)
{
    (void)state;
    F.dir = tu_mkdtemp();
    char rotdir[4200];
    snprintf(rotdir, sizeof rotdir, "%s/rot", F.dir);
    assert_int_equal(ward_rot_open(rotdir, 1, &F.rot), WARD_OK);
    assert_int_equal(ward_pkey_generate(WARD_KEY_EC_P256, &F.dev), WARD_OK);
    if (access(ta_path(), R_OK) != 0)
        fail_msg("the test TA is missing (%s): tests/ta must be part of the build", ta_path());
    F.image = tu_read_file(ta_path(), &F.image_len);
    ward_ta_params p = {"ta_test", 7, 2, 0, 16u << 20, 4, call_names, TA_N_CALLS};
    char *json = NULL;
    size_t len = 0;
    assert_int_equal(ward_manifest_sign(F.image, F.image_len, &p, F.dev, &json, &len), WARD_OK);
    const ward_tee_backend kinds[2] = {WARD_TEE_SANDBOX, WARD_TEE_SIM};
    for (int b = 0; b < 2; b++) {
        ward_tee_config cfg = {kinds[b], F.rot, 0, 0};
        if (ward_tee_open(&cfg, &F.tee[b]) != WARD_OK)
            fail_msg("tee open: %s", ward_errmsg());
        if (ward_tee_image_register(F.tee[b], F.image, F.image_len, json, len, &F.img[b]) !=
            WARD_OK)
            fail_msg("register: %s", ward_errmsg());
        ward_tee_set_event_hook(F.tee[b], on_event, NULL);
    }
    free(json);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    for (int b = 0; b < 2; b++)
        ward_tee_close(F.tee[b]);
    ward_rot_close(F.rot);
    ward_pkey_free(F.dev);
    free(F.image);
    tu_rmtree(F.dir);
    free(F.dir);
    return 0;
}

static unsigned count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    assert_non_null(d);
    unsigned n = 0;
    while (readdir(d) != NULL)
        n++;
    closedir(d);
    return n;
}

/* An instance whose calls only an interrupt can end. */
static ward_tee_instance *create(int b, ward_tee_ocall_fn ocall, void *arg)
{
    ward_tee_limits lim = {0};
    lim.call_timeout_ms = UINT32_MAX;
    ward_tee_instance *inst = NULL;
    if (ward_tee_create(F.tee[b], F.img[b], &lim, ocall, arg, &inst) != WARD_OK)
        fail_msg("create: %s", ward_errmsg());
    return inst;
}

static void echo_ok(ward_tee_instance *inst)
{
    uint8_t out[8];
    size_t n = 0;
    if (ward_tee_call(inst, TA_ECHO, (const uint8_t *)"ping", 4, out, sizeof out, &n) != WARD_OK)
        fail_msg("echo: %s", ward_errmsg());
    assert_int_equal(n, 4);
}

/* A call on its own thread. */
typedef struct caller {
    ward_tee_instance *inst;
    uint32_t id;
    uint8_t in[8];
    size_t in_len;
    ward_err result;
    char msg[256];
    int returned; /* atomic */
    pthread_t th;
} caller;

static void *caller_main(void *arg)
{
    caller *c = arg;
    uint8_t out[64];
    size_t n = 0;
    c->result = ward_tee_call(c->inst, c->id, c->in, c->in_len, out, sizeof out, &n);
    snprintf(c->msg, sizeof c->msg, "%s", ward_errmsg());
    __atomic_store_n(&c->returned, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

static void caller_start(caller *c, ward_tee_instance *inst, uint32_t id, uint64_t arg)
{
    memset(c, 0, sizeof *c);
    c->inst = inst;
    c->id = id;
    for (int i = 0; i < 8; i++)
        c->in[i] = (uint8_t)(arg >> (8 * i));
    c->in_len = 8;
    assert_int_equal(pthread_create(&c->th, NULL, caller_main, c), 0);
}

/* Waits until the call is with the TA and the calling thread sleeps on the ring: the interrupt
 * must then wake it, not find it before it started. */
static void wait_in_ta(ward_tee_instance *inst)
{
    for (int i = 0; i < WAIT_LIMIT; i++) {
        if (__atomic_load_n(&inst->busy, __ATOMIC_SEQ_CST) &&
            ward_ring_load(&inst->hdr->turn) == WARD_RING_TURN_TA &&
            ward_ring_load(&inst->hdr->host_sleeping) != 0)
            return;
        sched_yield();
    }
    fail_msg("the call never reached the TA");
}

/* The call returned the interrupted error; the process is gone; destroy works and says how. */
static void expect_interrupted(caller *c, ward_tee_instance *inst)
{
    assert_int_equal(pthread_join(c->th, NULL), 0);
    assert_true(__atomic_load_n(&c->returned, __ATOMIC_SEQ_CST));
    print_message("    call: %s: %s\n", ward_err_name(c->result), c->msg);
    assert_int_equal(c->result, WARD_ERR_DEAD);
    assert_non_null(strstr(c->msg, "interrupted"));
    assert_false(ward_tee_instance_alive(inst));
    pid_t pid = ward__tee_test_pid(inst);
    assert_int_equal(waitpid(pid, NULL, WNOHANG), -1); /* reaped by the calling thread */
    assert_int_equal(errno, ECHILD);
    /* later calls fail the same way, without reaching anything */
    uint8_t out[8];
    size_t n = 0;
    assert_int_equal(ward_tee_call(inst, TA_ECHO, (const uint8_t *)"x", 1, out, sizeof out, &n),
                     WARD_ERR_DEAD);
    assert_non_null(strstr(ward_errmsg(), "interrupted"));
    /* twice is harmless */
    assert_int_equal(ward_tee_interrupt(inst), WARD_OK);
    int before = g_destroyed;
    assert_int_equal(ward_tee_destroy(inst), WARD_OK);
    assert_int_equal(g_destroyed, before + 1);
    assert_int_equal(g_destroy_result, WARD_OK); /* not a TA failure: no ta.killed alarm */
    assert_non_null(strstr(g_destroy_msg, "interrupted"));
}

/* The TA computes forever (busy loop; then a sleeping loop); another thread interrupts. */
static void test_interrupt_computing(void **state)
{
    (void)state;
    for (int b = 0; b < 2; b++) {
        unsigned fds = count_fds();
        const uint32_t calls[2] = {TA_SPIN, TA_HANG};
        for (int k = 0; k < 2; k++) {
            ward_tee_instance *inst = create(b, NULL, NULL);
            echo_ok(inst);
            caller c;
            caller_start(&c, inst, calls[k], UINT64_MAX);
            wait_in_ta(inst);
            assert_false(__atomic_load_n(&c.returned, __ATOMIC_SEQ_CST));
            assert_int_equal(ward_tee_interrupt(inst), WARD_OK);
            expect_interrupted(&c, inst);
        }
        assert_int_equal(count_fds(), fds);
    }
    ward_tee_stats st;
    assert_int_equal(ward_tee_stats_get(F.tee[0], &st), WARD_OK);
    assert_int_equal(st.instances, 0);
    assert_int_equal(st.memory_reserved, 0);
}

/* The calling thread is inside the host's ocall function when another thread interrupts: the
 * ocall's answer goes nowhere and the call returns interrupted. */
typedef struct ocall_gate {
    sem_t entered;
    sem_t go_on;
} ocall_gate;

static ward_err gated_ocall(void *arg, uint32_t id, const uint8_t *in, size_t in_len,
                            uint8_t *out, size_t cap, size_t *out_len)
{
    (void)id;
    (void)in;
    (void)in_len;
    (void)out;
    (void)cap;
    ocall_gate *g = arg;
    *out_len = 0;
    sem_post(&g->entered);
    while (sem_wait(&g->go_on) != 0 && errno == EINTR)
        ;
    return WARD_OK;
}

static void test_interrupt_in_ocall(void **state)
{
    (void)state;
    for (int b = 0; b < 2; b++) {
        ocall_gate g;
        assert_int_equal(sem_init(&g.entered, 0, 0), 0);
        assert_int_equal(sem_init(&g.go_on, 0, 0), 0);
        ward_tee_instance *inst = create(b, gated_ocall, &g);
        caller c;
        caller_start(&c, inst, TA_OCALL, 0);
        while (sem_wait(&g.entered) != 0 && errno == EINTR)
            ;
        assert_int_equal(ward_tee_interrupt(inst), WARD_OK);
        sem_post(&g.go_on);
        expect_interrupted(&c, inst);
        sem_destroy(&g.entered);
        sem_destroy(&g.go_on);
    }
}

/* Idle instances: interrupted before any call, and twice in a row; destroy still works. */
static void test_interrupt_idle(void **state)
{
    (void)state;
    for (int b = 0; b < 2; b++) {
        ward_tee_instance *inst = create(b, NULL, NULL);
        echo_ok(inst);
        assert_int_equal(ward_tee_interrupt(inst), WARD_OK);
        assert_int_equal(ward_tee_interrupt(inst), WARD_OK);
        assert_false(ward_tee_instance_alive(inst));
        caller c;
        caller_start(&c, inst, TA_ECHO, 0);
        expect_interrupted(&c, inst);

        /* never called: destroy reaps it at once */
        inst = create(b, NULL, NULL);
        assert_int_equal(ward_tee_interrupt(inst), WARD_OK);
        assert_int_equal(ward_tee_destroy(inst), WARD_OK);
        assert_non_null(strstr(g_destroy_msg, "interrupted"));
    }
    assert_int_equal(ward_tee_interrupt(NULL), WARD_ERR_INVALID_ARG);
}

/* A TA that died of something else first keeps its own story: destroy reports the crash. */
static void test_interrupt_after_death(void **state)
{
    (void)state;
    ward_tee_instance *inst = create(0, NULL, NULL);
    uint8_t out[8];
    size_t n = 0;
    assert_int_equal(ward_tee_call(inst, TA_CRASH, NULL, 0, out, sizeof out, &n), WARD_ERR_DEAD);
    assert_non_null(strstr(ward_errmsg(), "SIGSEGV"));
    assert_int_equal(ward_tee_interrupt(inst), WARD_OK);
    assert_int_equal(ward_tee_destroy(inst), WARD_ERR_DEAD);
    assert_non_null(strstr(ward_errmsg(), "SIGSEGV"));
    assert_int_equal(g_destroy_result, WARD_ERR_DEAD);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_interrupt_computing),
        cmocka_unit_test(test_interrupt_in_ocall),
        cmocka_unit_test(test_interrupt_idle),
        cmocka_unit_test(test_interrupt_after_death),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
