/* The software TEE's speed and memory (issue 3), against baselines measured in the same run,
 * sampled alternately with the figure (one baseline run, one measured run, ...) so that the
 * machine's noise hits both alike.
 *
 * Figures (medians):
 *   tee.create           create (registered image) to first completed call; baseline:
 *                        fork + exec + wait of a static no-op program. Target: ratio <= 2.0.
 *   tee.create.warm      the same with a warm pool of one (refill not timed). Target: < 100 us
 *                        (absolute); baseline as above, for scale.
 *   tee.call.blocking    empty call round trip, blocking ring; baseline: one-byte ping-pong round
 *                        trip over a unix socketpair between two processes. Target: ratio <= 1.0.
 *   tee.call.switchless  the same with the switchless (spinning) ring. Target: ratio <= 0.25.
 *   tee.idle_rss         resident KiB of an idle instance (after one call) beyond its image
 *                        (every mapping but the image's memfd). Baseline: the 2048 KiB budget.
 *
 * Needs the test TA (tests/ta/ta_test) and the no-op program (tests/ta/noop): WARD_BENCH_TA /
 * WARD_BENCH_NOOP compile definitions, else $WARD_TEST_TA / $WARD_TEST_NOOP, else
 * ../tests/ta/ relative to this program. Usage: bench_tee [FILTER] | --list */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../tests/ta/ta_test.h"
#include "ward/crypto.h"
#include "ward/manifest.h"
#include "ward/rot.h"
#include "ward/tee.h"

/* internal hook (src/tee/tee_internal.h) */
pid_t ward__tee_test_pid(const ward_tee_instance *inst);

#define CREATE_RUNS 41
#define CALL_RUNS 20000
#define CALL_BLOCK 500
#define WARMUP 500

static const char *const figures[] = {"tee.create", "tee.create.warm", "tee.call.blocking",
                                      "tee.call.switchless", "tee.idle_rss"};

static const char *const call_names[TA_N_CALLS] = {
    "echo", "report", "seal", "unseal", "forbidden", "open_file", "exec_mem", "crash", "hang",
    "spin", "alloc", "ocall", "secret_addr", "bad_ring", "bad_response", "self", "threads",
    "heap_used", "exit",
};

static void die(const char *what)
{
    fprintf(stderr, "bench_tee: %s failed: %s\n", what, ward_errmsg());
    exit(1);
}

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec * 1e-3;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_double);
    return v[n / 2];
}

static void emit(const char *name, double value, const char *unit, double baseline,
                 const char *target, const char *what)
{
    double ratio = baseline > 0 ? value / baseline : 0;
    printf("{\"bench\": \"%s\", \"value\": %.3f, \"unit\": \"%s\", \"baseline\": %.3f, "
           "\"ratio\": %.4f, \"target\": \"%s\"}\n",
           name, value, unit, baseline, ratio, target);
    fflush(stdout);
    fprintf(stderr, "%-20s %10.2f %-3s  baseline %10.2f %-3s (%s)  ratio %.3f  target %s\n", name,
            value, unit, baseline, unit, what, ratio, target);
}

/* ---- paths ----------------------------------------------------------------------------------- */

static const char *locate(const char *compiled, const char *env, const char *rel, char *buf,
                          size_t cap)
{
    if (compiled != NULL && compiled[0] != '\0' && access(compiled, X_OK) == 0)
        return compiled;
    const char *e = getenv(env);
    if (e != NULL)
        return e;
    ssize_t n = readlink("/proc/self/exe", buf, cap - 64);
    if (n <= 0)
        return NULL;
    buf[n] = '\0';
    char *slash = strrchr(buf, '/');
    if (slash == NULL)
        return NULL;
    snprintf(slash + 1, cap - (size_t)(slash + 1 - buf), "../tests/ta/%s", rel);
    return access(buf, X_OK) == 0 ? buf : NULL;
}

#ifndef WARD_BENCH_TA
#define WARD_BENCH_TA ""
#endif
#ifndef WARD_BENCH_NOOP
#define WARD_BENCH_NOOP ""
#endif

/* ---- baselines ------------------------------------------------------------------------------- */

static double fork_exec_wait_once(const char *noop)
{
    char *const argv[] = {(char *)(uintptr_t)"noop", NULL};
    char *const envp[] = {NULL};
    double t0 = now_us();
    pid_t p = fork();
    if (p < 0)
        die("fork");
    if (p == 0) {
        execve(noop, argv, envp);
        _exit(127);
    }
    int st = 0;
    if (waitpid(p, &st, 0) != p || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        die("the no-op program");
    return now_us() - t0;
}

/* A process that echoes bytes on a socketpair. */
typedef struct pinger {
    int fd;
    pid_t pid;
} pinger;

static void pinger_start(pinger *pg)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        die("socketpair");
    pid_t p = fork();
    if (p < 0)
        die("fork");
    if (p == 0) {
        close(sv[0]);
        char c;
        while (read(sv[1], &c, 1) == 1)
            if (write(sv[1], &c, 1) != 1)
                break;
        _exit(0);
    }
    close(sv[1]);
    pg->fd = sv[0];
    pg->pid = p;
}

static double pinger_rtt(pinger *pg)
{
    char c = 'x';
    double t0 = now_us();
    if (write(pg->fd, &c, 1) != 1 || read(pg->fd, &c, 1) != 1)
        die("socketpair ping-pong");
    return now_us() - t0;
}

static void pinger_stop(pinger *pg)
{
    close(pg->fd);
    waitpid(pg->pid, NULL, 0);
}

/* ---- the TEE --------------------------------------------------------------------------------- */

typedef struct env {
    char dir[64];
    ward_rot *rot;
    ward_tee *tee;
    ward_tee_image *img;
} env;

static uint8_t *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "bench_tee: cannot open %s: %s\n", path, strerror(errno));
        exit(1);
    }
    size_t cap = 1u << 20, n = 0;
    uint8_t *buf = malloc(cap);
    for (;;) {
        if (buf == NULL)
            die("malloc");
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0)
            break;
        if (n == cap) {
            cap *= 2;
            buf = realloc(buf, cap);
        }
    }
    fclose(f);
    *len = n;
    return buf;
}

static void env_open(env *e, const char *ta)
{
    snprintf(e->dir, sizeof e->dir, "/tmp/ward-bench-tee-XXXXXX");
    if (mkdtemp(e->dir) == NULL)
        die("mkdtemp");
    char rotdir[128];
    snprintf(rotdir, sizeof rotdir, "%s/rot", e->dir);
    if (ward_rot_open(rotdir, 1, &e->rot) != WARD_OK)
        die("rot open");
    ward_pkey *dev = NULL;
    if (ward_pkey_generate(WARD_KEY_EC_P256, &dev) != WARD_OK)
        die("key");
    size_t ilen = 0;
    uint8_t *image = read_all(ta, &ilen);
    ward_ta_params p = {"ta_test", 1, 1, 0, 16u << 20, 4, call_names, TA_N_CALLS};
    char *json = NULL;
    size_t jlen = 0;
    if (ward_manifest_sign(image, ilen, &p, dev, &json, &jlen) != WARD_OK)
        die("sign");
    ward_tee_config cfg = {WARD_TEE_SANDBOX, e->rot, 0, 0};
    if (ward_tee_open(&cfg, &e->tee) != WARD_OK)
        die("tee open");
    if (ward_tee_image_register(e->tee, image, ilen, json, jlen, &e->img) != WARD_OK)
        die("register");
    free(json);
    free(image);
    ward_pkey_free(dev);
}

static void env_close(env *e)
{
    ward_tee_close(e->tee);
    ward_rot_close(e->rot);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", e->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_tee: could not remove %s\n", e->dir);
}

static void echo(ward_tee_instance *inst)
{
    uint8_t out[8];
    size_t n = 0;
    if (ward_tee_call(inst, TA_ECHO, NULL, 0, out, sizeof out, &n) != WARD_OK)
        die("call");
}

/* Medians of create-to-first-call and of the baseline, sampled alternately so that the
 * machine's noise hits both alike. */
static double create_first_call(env *e, const ward_tee_limits *lim, int warm, const char *noop,
                                double *baseline)
{
    double v[CREATE_RUNS], b[CREATE_RUNS];
    for (size_t i = 0; i < CREATE_RUNS; i++) {
        if (warm) {
            ward_tee_stats st;
            for (int k = 0; k < 5000; k++) {
                if (ward_tee_stats_get(e->tee, &st) != WARD_OK)
                    die("stats");
                if (st.warm >= 1)
                    break;
                usleep(1000);
            }
        }
        b[i] = fork_exec_wait_once(noop);
        double t0 = now_us();
        ward_tee_instance *inst = NULL;
        if (ward_tee_create(e->tee, e->img, lim, NULL, NULL, &inst) != WARD_OK)
            die("create");
        echo(inst);
        v[i] = now_us() - t0;
        if (ward_tee_destroy(inst) != WARD_OK)
            die("destroy");
    }
    *baseline = median(b, CREATE_RUNS);
    return median(v, CREATE_RUNS);
}

/* Medians of an empty call and of the socketpair round trip, in alternating blocks. */
static double call_rtt(env *e, int switchless, double *baseline)
{
    ward_tee_limits lim = {0};
    lim.switchless = switchless;
    ward_tee_instance *inst = NULL;
    if (ward_tee_create(e->tee, e->img, &lim, NULL, NULL, &inst) != WARD_OK)
        die("create");
    pinger pg;
    pinger_start(&pg);
    static double v[CALL_RUNS], b[CALL_RUNS];
    for (size_t i = 0; i < WARMUP; i++) {
        echo(inst);
        pinger_rtt(&pg);
    }
    for (size_t blk = 0; blk < CALL_RUNS; blk += CALL_BLOCK) {
        size_t end = blk + CALL_BLOCK < CALL_RUNS ? blk + CALL_BLOCK : CALL_RUNS;
        for (size_t i = blk; i < end; i++)
            b[i] = pinger_rtt(&pg);
        for (size_t i = blk; i < end; i++) {
            double t0 = now_us();
            echo(inst);
            v[i] = now_us() - t0;
        }
    }
    pinger_stop(&pg);
    if (ward_tee_destroy(inst) != WARD_OK)
        die("destroy");
    *baseline = median(b, CALL_RUNS);
    return median(v, CALL_RUNS);
}

/* Rss of every mapping of pid except the image memfd's, in KiB. */
static double idle_rss_kib(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/smaps", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        die("reading smaps");
    char line[512];
    int image = 0;
    unsigned long total = 0;
    while (fgets(line, sizeof line, f) != NULL) {
        unsigned long kb;
        if (strchr(line, '-') != NULL && line[0] != ' ' && strstr(line, " kB") == NULL) {
            image = strstr(line, "ward-ta:") != NULL;
            continue;
        }
        if (sscanf(line, "Rss: %lu kB", &kb) == 1 && !image)
            total += kb;
    }
    fclose(f);
    return (double)total;
}

static double idle_rss(env *e)
{
    ward_tee_instance *inst = NULL;
    if (ward_tee_create(e->tee, e->img, NULL, NULL, NULL, &inst) != WARD_OK)
        die("create");
    echo(inst);
    usleep(200000);
    double kib = idle_rss_kib(ward__tee_test_pid(inst));
    if (ward_tee_destroy(inst) != WARD_OK)
        die("destroy");
    return kib;
}

static int wanted(const char *name, const char *filter)
{
    return filter == NULL || strstr(name, filter) != NULL;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--list") == 0) {
        for (size_t i = 0; i < sizeof figures / sizeof figures[0]; i++)
            puts(figures[i]);
        return 0;
    }
    const char *filter = argc > 1 ? argv[1] : NULL;
    char tabuf[4096], noopbuf[4096];
    const char *ta = locate(WARD_BENCH_TA, "WARD_TEST_TA", "ta_test", tabuf, sizeof tabuf);
    const char *noop = locate(WARD_BENCH_NOOP, "WARD_TEST_NOOP", "noop", noopbuf, sizeof noopbuf);
    if (ta == NULL || noop == NULL) {
        fprintf(stderr, "bench_tee: the test TA or the no-op program is missing (build "
                        "ward_test_ta and ward_noop, or set WARD_TEST_TA / WARD_TEST_NOOP)\n");
        return 1;
    }
    env e;
    env_open(&e, ta);
    double v, base;
    if (wanted("tee.create", filter)) {
        v = create_first_call(&e, NULL, 0, noop, &base);
        emit("tee.create", v, "us", base, "<= 2.0", "fork+exec+wait of a static no-op");
    }
    if (wanted("tee.create.warm", filter)) {
        ward_tee_limits lim = {0};
        if (ward_tee_warm_pool(e.tee, e.img, 1, &lim) != WARD_OK)
            die("warm pool");
        v = create_first_call(&e, &lim, 1, noop, &base);
        emit("tee.create.warm", v, "us", base, "< 100", "fork+exec+wait of a static no-op");
        ward_tee_warm_pool(e.tee, e.img, 0, &lim);
    }
    if (wanted("tee.call.blocking", filter)) {
        v = call_rtt(&e, 0, &base);
        emit("tee.call.blocking", v, "us", base, "<= 1.0", "socketpair ping-pong");
    }
    if (wanted("tee.call.switchless", filter)) {
        v = call_rtt(&e, 1, &base);
        emit("tee.call.switchless", v, "us", base, "<= 0.25", "socketpair ping-pong");
    }
    if (wanted("tee.idle_rss", filter))
        emit("tee.idle_rss", idle_rss(&e), "KiB", 2048, "<= 2048", "the budget");
    env_close(&e);
    return 0;
}
