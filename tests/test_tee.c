/* The software TEE (DESIGN 3, issue 3): real sandboxed instances of tests/ta/ta_test.c, signed
 * at test time with a fresh developer key, on a root of trust in a temporary directory.
 * No timing assertions: the machine is noisy. */
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ta/ta_test.h"
#include "tee/tee_internal.h"
#include "ward/audit.h"
#include "ward/crypto.h"
#include "ward/encoding.h"
#include "ward/json.h"
#include "ward/manifest.h"
#include "ward/report.h"
#include "ward/rot.h"
#include "ward/ta.h"
#include "ward/tee.h"
#include "ward/x509.h"

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
    ward_tee *tee;
    ward_tee_image *img; /* svn 2, the default TA */
} fixture;

static fixture F;

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

static ward_ta_params params(const char *name, uint16_t svn, int debug)
{
    ward_ta_params p = {name, 7, svn, debug, 16u << 20, 4, call_names, TA_N_CALLS};
    return p;
}

static char *sign(const ward_ta_params *p, size_t *len)
{
    char *json = NULL;
    assert_int_equal(ward_manifest_sign(F.image, F.image_len, p, F.dev, &json, len), WARD_OK);
    return json;
}

static ward_tee_image *reg(ward_tee *tee, const ward_ta_params *p)
{
    size_t len = 0;
    char *json = sign(p, &len);
    ward_tee_image *img = NULL;
    ward_err e = ward_tee_image_register(tee, F.image, F.image_len, json, len, &img);
    if (e != WARD_OK)
        fail_msg("register: %s", ward_errmsg());
    free(json);
    return img;
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
    ward_tee_config cfg = {WARD_TEE_SANDBOX, F.rot, 0, 0};
    if (ward_tee_open(&cfg, &F.tee) != WARD_OK)
        fail_msg("tee open: %s", ward_errmsg());
    ward_ta_params p = params("ta_test", 2, 0);
    F.img = reg(F.tee, &p);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    ward_tee_close(F.tee);
    ward_rot_close(F.rot);
    ward_pkey_free(F.dev);
    free(F.image);
    tu_rmtree(F.dir);
    free(F.dir);
    return 0;
}

static ward_tee_instance *create(ward_tee_image *img, const ward_tee_limits *lim)
{
    ward_tee_instance *inst = NULL;
    ward_err e = ward_tee_create(F.tee, img, lim, NULL, NULL, &inst);
    if (e != WARD_OK)
        fail_msg("create: %s", ward_errmsg());
    return inst;
}

static ward_err call(ward_tee_instance *inst, uint32_t id, const void *in, size_t in_len,
                     uint8_t *out, size_t cap, size_t *out_len)
{
    return ward_tee_call(inst, id, in, in_len, out, cap, out_len);
}

static void echo_ok(ward_tee_instance *inst)
{
    uint8_t out[64];
    size_t n = 0;
    ward_err e = call(inst, TA_ECHO, "ping", 4, out, sizeof out, &n);
    if (e != WARD_OK)
        fail_msg("echo: %s", ward_errmsg());
    assert_int_equal(n, 4);
    assert_memory_equal(out, "ping", 4);
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

/* ---- images ---------------------------------------------------------------------------------- */

/* Re-signs a manifest after setting member key to value (a string), with the developer key. */
static char *resign_with(const char *json, size_t len, const char *key, const char *value,
                         size_t *out_len)
{
    json_error_t jerr;
    json_t *o = json_loadb(json, len, 0, &jerr);
    assert_non_null(o);
    assert_int_equal(json_object_set_new(o, key, json_string(value)), 0);
    assert_int_equal(json_object_del(o, "signature"), 0);
    char *canon = NULL;
    size_t clen = 0;
    assert_int_equal(ward_jcs_serialize(o, &canon, &clen), WARD_OK);
    uint8_t *sig = NULL;
    size_t slen = 0;
    assert_int_equal(ward_sign(F.dev, WARD_HASH_SHA256, WARD_SIG_RAW, canon, clen, &sig, &slen),
                     WARD_OK);
    char *b64 = NULL;
    assert_int_equal(ward_base64url_encode(sig, slen, &b64, NULL), WARD_OK);
    assert_int_equal(json_object_set_new(o, "signature", json_string(b64)), 0);
    char *text = json_dumps(o, JSON_COMPACT);
    assert_non_null(text);
    *out_len = strlen(text);
    json_decref(o);
    free(canon);
    free(sig);
    free(b64);
    return text;
}

static void expect_refused(const uint8_t *image, size_t ilen, const char *json, size_t jlen,
                           const char *word)
{
    ward_tee_image *img = NULL;
    ward_err e = ward_tee_image_register(F.tee, image, ilen, json, jlen, &img);
    assert_int_not_equal(e, WARD_OK);
    assert_null(img);
    print_message("    refused (%s): %s\n", ward_err_name(e), ward_errmsg());
    if (strstr(ward_errmsg(), word) == NULL)
        fail_msg("the message does not name the mismatch (%s): %s", word, ward_errmsg());
}

static void test_register_refusals(void **state)
{
    (void)state;
    ward_ta_params p = params("ta_test", 2, 0);
    size_t len = 0;
    char *json = sign(&p, &len);

    /* tampered image: one byte in the middle */
    uint8_t *bad = malloc(F.image_len);
    assert_non_null(bad);
    memcpy(bad, F.image, F.image_len);
    bad[F.image_len / 2] ^= 1;
    expect_refused(bad, F.image_len, json, len, "sha256");
    /* image of another size */
    expect_refused(F.image, F.image_len - 1, json, len, "size");

    /* tampered manifest: the SVN raised after signing */
    char *t = strdup(json);
    assert_non_null(t);
    char *svn = strstr(t, "\"svn\": 2");
    assert_non_null(svn);
    svn[strlen("\"svn\": ")] = '9';
    expect_refused(F.image, F.image_len, t, len, "signature");
    free(t);

    /* wrong signature: another manifest's signature */
    ward_ta_params p2 = params("other", 2, 0);
    size_t len2 = 0;
    char *json2 = sign(&p2, &len2);
    json_error_t jerr;
    json_t *a = json_loadb(json, len, 0, &jerr), *b = json_loadb(json2, len2, 0, &jerr);
    assert_non_null(a);
    assert_non_null(b);
    json_object_set(a, "signature", json_object_get(b, "signature"));
    char *swapped = json_dumps(a, JSON_COMPACT);
    assert_non_null(swapped);
    expect_refused(F.image, F.image_len, swapped, strlen(swapped), "signature");
    free(swapped);
    json_decref(a);
    json_decref(b);
    free(json2);

    /* a validly signed manifest whose measurement does not match the image */
    size_t mlen = 0;
    char *mm = resign_with(json, len, "measurement",
                           "00000000000000000000000000000000000000000000000000000000000000aa",
                           &mlen);
    expect_refused(F.image, F.image_len, mm, mlen, "measurement");
    free(mm);

    /* not a TA at all, validly signed */
    uint8_t junk[4096];
    memset(junk, 0x41, sizeof junk);
    char *jj = NULL;
    size_t jlen = 0;
    assert_int_equal(ward_manifest_sign(junk, sizeof junk, &p, F.dev, &jj, &jlen), WARD_OK);
    expect_refused(junk, sizeof junk, jj, jlen, "ELF");
    free(jj);

    free(bad);

    /* from files; the image outlives its release while an instance uses it */
    char ipath[4200], mpath[4200];
    snprintf(ipath, sizeof ipath, "%s/ta.img", F.dir);
    snprintf(mpath, sizeof mpath, "%s/ta.manifest.json", F.dir);
    FILE *f = fopen(ipath, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(F.image, 1, F.image_len, f), F.image_len);
    fclose(f);
    f = fopen(mpath, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(json, 1, len, f), len);
    fclose(f);
    ward_tee_image *img = NULL;
    assert_int_equal(ward_tee_image_register_files(F.tee, ipath, mpath, &img), WARD_OK);
    assert_string_equal(ward_manifest_name(ward_tee_image_manifest(img)), "ta_test");
    ward_tee_instance *inst = create(img, NULL);
    ward_tee_image_release(img);
    echo_ok(inst);
    assert_int_equal(ward_tee_destroy(inst), WARD_OK);
    assert_int_equal(ward_tee_image_register_files(F.tee, "/nonexistent/ta", mpath, &img),
                     WARD_ERR_NOT_FOUND);
    free(json);
}

/* ---- calls ----------------------------------------------------------------------------------- */

static void test_echo_modes(void **state)
{
    (void)state;
    for (int sw = 0; sw <= 1; sw++) {
        ward_tee_limits lim = {0};
        lim.switchless = sw;
        ward_tee_instance *inst = create(F.img, &lim);
        assert_true(ward_tee_instance_alive(inst));
        for (int i = 0; i < 50; i++)
            echo_ok(inst);
        /* empty call, and the largest message */
        size_t n = 99;
        assert_int_equal(call(inst, TA_ECHO, NULL, 0, NULL, 0, &n), WARD_OK);
        assert_int_equal(n, 0);
        size_t big = 1u << 20;
        uint8_t *in = malloc(big), *out = malloc(big);
        assert_non_null(in);
        assert_non_null(out);
        for (size_t i = 0; i < big; i++)
            in[i] = (uint8_t)(i * 7);
        assert_int_equal(call(inst, TA_ECHO, in, big, out, big, &n), WARD_OK);
        assert_int_equal(n, big);
        assert_memory_equal(in, out, big);
        /* too large for the ring, too large for the caller's buffer */
        assert_int_equal(call(inst, TA_ECHO, in, big + 1, out, big, &n), WARD_ERR_OVERFLOW);
        assert_int_equal(call(inst, TA_ECHO, in, 100, out, 10, &n), WARD_ERR_OVERFLOW);
        echo_ok(inst);
        /* a call the TA does not export */
        assert_int_equal(call(inst, TA_N_CALLS, NULL, 0, out, big, &n), WARD_ERR_NOT_FOUND);
        free(in);
        free(out);
        assert_int_equal(ward_tee_destroy(inst), WARD_OK);
    }
}

static ward_err host_ocall(void *arg, uint32_t id, const uint8_t *in, size_t in_len,
                           uint8_t *out, size_t cap, size_t *out_len)
{
    int *count = arg;
    (*count)++;
    if (id != TA_HOST_OCALL_ID)
        return WARD_ERR_NOT_FOUND;
    if (in_len + 5 > cap)
        return WARD_ERR_OVERFLOW;
    memcpy(out, "host:", 5);
    memcpy(out + 5, in, in_len);
    *out_len = in_len + 5;
    return WARD_OK;
}

static void test_ocall(void **state)
{
    (void)state;
    int count = 0;
    ward_tee_instance *inst = NULL;
    assert_int_equal(ward_tee_create(F.tee, F.img, NULL, host_ocall, &count, &inst), WARD_OK);
    uint8_t out[64];
    size_t n = 0;
    assert_int_equal(call(inst, TA_OCALL, "hello", 5, out, sizeof out, &n), WARD_OK);
    assert_int_equal(n, 10);
    assert_memory_equal(out, "host:hello", 10);
    assert_int_equal(count, 1);
    /* the host function's error travels back to the TA and out of the call */
    uint8_t big[100];
    memset(big, 'x', sizeof big);
    assert_int_equal(call(inst, TA_OCALL, big, sizeof big, out, sizeof out, &n),
                     WARD_ERR_OVERFLOW);
    echo_ok(inst);
    assert_int_equal(ward_tee_destroy(inst), WARD_OK);

    /* no host function: not found */
    inst = create(F.img, NULL);
    assert_int_equal(call(inst, TA_OCALL, "x", 1, out, sizeof out, &n), WARD_ERR_NOT_FOUND);
    echo_ok(inst);
    assert_int_equal(ward_tee_destroy(inst), WARD_OK);
}

/* ---- reports and keys ------------------------------------------------------------------------ */

static void get_report(ward_tee_instance *inst, const uint8_t data[64], uint8_t *rep,
                       uint8_t *sig)
{
    uint8_t out[WARD_REPORT_LEN + WARD_REPORT_SIG_LEN];
    size_t n = 0;
    ward_err e = call(inst, TA_REPORT, data, 64, out, sizeof out, &n);
    if (e != WARD_OK)
        fail_msg("report: %s", ward_errmsg());
    assert_int_equal(n, sizeof out);
    memcpy(rep, out, WARD_REPORT_LEN);
    memcpy(sig, out + WARD_REPORT_LEN, WARD_REPORT_SIG_LEN);
}

static void test_report(void **state)
{
    (void)state;
    ward_tee_instance *inst = create(F.img, NULL);
    uint8_t data[64], rep[WARD_REPORT_LEN], sig[WARD_REPORT_SIG_LEN];
    for (int i = 0; i < 64; i++)
        data[i] = (uint8_t)(0xc0 + i);
    get_report(inst, data, rep, sig);
    ward_report r;
    if (ward_tee_report_verify(F.tee, rep, sizeof rep, sig, &r) != WARD_OK)
        fail_msg("verify: %s", ward_errmsg());
    const ward_manifest *m = ward_tee_image_manifest(F.img);
    uint8_t meas[32], signer[32], id[16], kid[32];
    ward_manifest_measurement(m, meas);
    ward_manifest_signer(m, signer);
    ward_tee_instance_id(inst, id);
    ward_rot_platform_key_id(F.rot, kid);
    assert_int_equal(r.platform, WARD_PLATFORM_SW_SANDBOX);
    assert_int_equal(r.attributes & WARD_ATTR_DEBUG, 0);
    assert_memory_equal(r.measurement, meas, 32);
    assert_memory_equal(r.signer, signer, 32);
    assert_int_equal(r.product_id, 7);
    assert_int_equal(r.svn, 2);
    assert_memory_equal(r.instance_id, id, 16);
    assert_memory_equal(r.report_data, data, 64);
    assert_memory_equal(r.platform_key_id, kid, 32);

    /* a changed byte or a changed signature does not verify */
    rep[120] ^= 1;
    assert_int_equal(ward_tee_report_verify(F.tee, rep, sizeof rep, sig, NULL), WARD_ERR_VERIFY);
    rep[120] ^= 1;
    sig[3] ^= 1;
    assert_int_not_equal(ward_tee_report_verify(F.tee, rep, sizeof rep, sig, NULL), WARD_OK);

    /* its identity, as the TA sees it, is the manifest's */
    uint8_t self[WARD_REPORT_LEN];
    size_t n = 0;
    assert_int_equal(call(inst, TA_SELF, NULL, 0, self, sizeof self, &n), WARD_OK);
    ward_report s;
    assert_int_equal(ward_report_decode(self, n, &s), WARD_OK);
    assert_memory_equal(s.measurement, meas, 32);
    assert_int_equal(s.svn, 2);
    assert_memory_equal(s.instance_id, id, 16);
    assert_int_equal(ward_tee_destroy(inst), WARD_OK);
}

static size_t seal_hdr(uint8_t *buf, ward_seal_policy pol, uint16_t svn, uint32_t kv)
{
    buf[0] = (uint8_t)pol;
    buf[1] = (uint8_t)svn;
    buf[2] = (uint8_t)(svn >> 8);
    buf[3] = (uint8_t)kv;
    buf[4] = (uint8_t)(kv >> 8);
    buf[5] = (uint8_t)(kv >> 16);
    buf[6] = (uint8_t)(kv >> 24);
    return TA_SEAL_HDR;
}

static ward_err seal(ward_tee_instance *inst, ward_seal_policy pol, uint16_t svn,
                     const char *msg, uint8_t *blob, size_t *blob_len)
{
    uint8_t in[256];
    size_t n = seal_hdr(in, pol, svn, 1);
    memcpy(in + n, msg, strlen(msg));
    return call(inst, TA_SEAL, in, n + strlen(msg), blob, 256, blob_len);
}

static ward_err unseal(ward_tee_instance *inst, ward_seal_policy pol, uint16_t svn,
                       const uint8_t *blob, size_t blob_len, char *out)
{
    uint8_t in[300];
    size_t n = seal_hdr(in, pol, svn, 1);
    memcpy(in + n, blob, blob_len);
    size_t olen = 0;
    ward_err e = call(inst, TA_UNSEAL, in, n + blob_len, (uint8_t *)out, 255, &olen);
    out[e == WARD_OK ? olen : 0] = '\0';
    return e;
}

static void test_seal(void **state)
{
    (void)state;
    const char *secret = "the TA's own secret";
    uint8_t blob[256];
    size_t blen = 0;
    char out[256];

    /* same TA, two instances: same key */
    ward_tee_instance *a = create(F.img, NULL);
    assert_int_equal(seal(a, WARD_SEAL_MEASUREMENT, 2, secret, blob, &blen), WARD_OK);
    assert_int_equal(ward_tee_destroy(a), WARD_OK);
    ward_tee_instance *b = create(F.img, NULL);
    assert_int_equal(unseal(b, WARD_SEAL_MEASUREMENT, 2, blob, blen, out), WARD_OK);
    assert_string_equal(out, secret);
    assert_int_equal(ward_tee_destroy(b), WARD_OK);

    /* TA B (another measurement: another heap limit, same signer) cannot unseal it */
    ward_ta_params pb = params("ta_test", 2, 0);
    pb.heap_max = 8u << 20;
    ward_tee_image *img_b = reg(F.tee, &pb);
    uint8_t ma[32], mb[32];
    ward_manifest_measurement(ward_tee_image_manifest(F.img), ma);
    ward_manifest_measurement(ward_tee_image_manifest(img_b), mb);
    assert_memory_not_equal(ma, mb, 32);
    ward_tee_instance *c = create(img_b, NULL);
    assert_int_equal(unseal(c, WARD_SEAL_MEASUREMENT, 2, blob, blen, out), WARD_ERR_AUTH);
    assert_int_equal(ward_tee_destroy(c), WARD_OK);
    ward_tee_image_release(img_b);

    /* signer policy: svn 1 and svn 2 of the same signer and product */
    ward_ta_params p1 = params("ta_test", 1, 0);
    ward_tee_image *img1 = reg(F.tee, &p1);
    ward_tee_instance *old = create(img1, NULL);
    ward_tee_instance *cur = create(F.img, NULL); /* svn 2 */
    uint8_t blob1[256], blob2[256];
    size_t blen1 = 0, blen2 = 0;
    assert_int_equal(seal(old, WARD_SEAL_SIGNER, 1, secret, blob1, &blen1), WARD_OK);
    /* the newer TA derives the older key and unseals */
    assert_int_equal(unseal(cur, WARD_SEAL_SIGNER, 1, blob1, blen1, out), WARD_OK);
    assert_string_equal(out, secret);
    /* the newer TA seals at its own SVN: the older one cannot derive that key */
    assert_int_equal(seal(cur, WARD_SEAL_SIGNER, 2, secret, blob2, &blen2), WARD_OK);
    assert_int_equal(unseal(old, WARD_SEAL_SIGNER, 2, blob2, blen2, out), WARD_ERR_PERMISSION);
    print_message("    lower SVN refused: %s\n", ward_errmsg());
    /* and the keys of the two SVNs differ */
    assert_int_equal(unseal(cur, WARD_SEAL_SIGNER, 1, blob2, blen2, out), WARD_ERR_AUTH);
    /* measurement keys of the two differ too */
    assert_int_equal(seal(old, WARD_SEAL_MEASUREMENT, 1, secret, blob1, &blen1), WARD_OK);
    assert_int_equal(unseal(cur, WARD_SEAL_MEASUREMENT, 1, blob1, blen1, out), WARD_ERR_AUTH);
    assert_int_equal(ward_tee_destroy(old), WARD_OK);
    assert_int_equal(ward_tee_destroy(cur), WARD_OK);
    ward_tee_image_release(img1);
}

/* ---- faults ---------------------------------------------------------------------------------- */

static void expect_dead(uint32_t id, const char *word)
{
    ward_tee_instance *inst = create(F.img, NULL);
    uint8_t out[16];
    size_t n = 0;
    ward_err e = call(inst, id, NULL, 0, out, sizeof out, &n);
    print_message("    call %u: %s: %s\n", id, ward_err_name(e), ward_errmsg());
    assert_int_equal(e, WARD_ERR_DEAD);
    if (strstr(ward_errmsg(), word) == NULL)
        fail_msg("expected \"%s\" in: %s", word, ward_errmsg());
    assert_false(ward_tee_instance_alive(inst));
    /* further calls say it is dead */
    assert_int_equal(call(inst, TA_ECHO, "x", 1, out, sizeof out, &n), WARD_ERR_DEAD);
    assert_int_equal(ward_tee_destroy(inst), WARD_ERR_DEAD);
}

static void test_forbidden_syscalls(void **state)
{
    (void)state;
    ward_tee_instance *other = create(F.img, NULL);
    expect_dead(TA_FORBIDDEN, "seccomp");
    expect_dead(TA_OPEN_FILE, "seccomp");
    expect_dead(TA_EXEC_MEM, "seccomp");
    /* the host and another instance are fine */
    echo_ok(other);
    assert_int_equal(ward_tee_destroy(other), WARD_OK);
}

static void test_crash(void **state)
{
    (void)state;
    expect_dead(TA_CRASH, "SIGSEGV");
    expect_dead(TA_EXIT, "exited with status 3");
}

static void test_hang_timeout(void **state)
{
    (void)state;
    ward_tee_limits lim = {0};
    lim.call_timeout_ms = 300;
    ward_tee_instance *inst = create(F.img, &lim);
    echo_ok(inst);
    uint8_t out[8];
    size_t n = 0;
    ward_err e = call(inst, TA_HANG, NULL, 0, out, sizeof out, &n);
    print_message("    hang: %s: %s\n", ward_err_name(e), ward_errmsg());
    assert_int_equal(e, WARD_ERR_TIMEOUT);
    assert_false(ward_tee_instance_alive(inst));
    pid_t pid = ward__tee_test_pid(inst);
    /* reaped: no such process any more (the pid is not ours to wait for) */
    assert_int_equal(waitpid(pid, NULL, WNOHANG), -1);
    assert_int_equal(errno, ECHILD);
    assert_int_equal(ward_tee_destroy(inst), WARD_ERR_TIMEOUT);
}

static uint64_t u64le(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static void test_memory_exhaustion(void **state)
{
    (void)state;
    ward_tee_limits lim = {0};
    lim.memory_bytes = 8u << 20;
    ward_tee_instance *inst = create(F.img, &lim);
    uint8_t out[8];
    size_t n = 0;
    ward_err e = call(inst, TA_ALLOC, NULL, 0, out, sizeof out, &n);
    assert_int_equal(e, WARD_ERR_NOMEM);
    assert_int_equal(n, 8);
    uint64_t mib = u64le(out);
    print_message("    allocated %llu MiB before the heap said no (limit 8 MiB + runtime "
                  "buffers)\n",
                  (unsigned long long)mib);
    assert_true(mib >= 7 && mib <= 8 + 2 + 2 + 1);
    /* the instance survives a full heap */
    echo_ok(inst);
    assert_int_equal(ward_tee_destroy(inst), WARD_OK);
}

static void test_threads_limit(void **state)
{
    (void)state;
    ward_tee_limits lim = {0};
    lim.threads = 3; /* the call thread and two more */
    ward_tee_instance *inst = create(F.img, &lim);
    uint8_t in[8] = {10}, out[8];
    size_t n = 0;
    assert_int_equal(call(inst, TA_THREADS, in, 8, out, sizeof out, &n), WARD_OK);
    assert_int_equal(u64le(out), 2);
    echo_ok(inst);
    /* blocking calls keep the call thread on the caller's CPU; the TA's own threads keep every
     * CPU the process had */
    pid_t pid = ward__tee_test_pid(inst);
    char path[512], line[256], mine[256] = "";
    snprintf(path, sizeof path, "/proc/self/status");
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    while (fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, "Cpus_allowed_list:", 18) == 0)
            snprintf(mine, sizeof mine, "%s", line + 18);
    fclose(f);
    DIR *d = NULL;
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    d = opendir(path);
    assert_non_null(d);
    struct dirent *de;
    int others = 0;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "/proc/%d/task/%s/status", (int)pid, de->d_name);
        f = fopen(path, "r");
        assert_non_null(f);
        while (fgets(line, sizeof line, f) != NULL)
            if (strncmp(line, "Cpus_allowed_list:", 18) == 0 && atoi(de->d_name) != pid) {
                assert_string_equal(line + 18, mine);
                others++;
            }
        fclose(f);
    }
    closedir(d);
    assert_int_equal(others, 2);
    assert_int_equal(ward_tee_destroy(inst), WARD_OK);
}

static void test_no_leaks(void **state)
{
    (void)state;
    unsigned before = count_fds();
    for (int i = 0; i < 3; i++) {
        ward_tee_instance *a = create(F.img, NULL);
        echo_ok(a);
        assert_int_equal(ward_tee_destroy(a), WARD_OK);
        ward_tee_instance *b = create(F.img, NULL);
        uint8_t out[8];
        size_t n = 0;
        assert_int_equal(call(b, TA_CRASH, NULL, 0, out, sizeof out, &n), WARD_ERR_DEAD);
        assert_int_equal(ward_tee_destroy(b), WARD_ERR_DEAD);
    }
    assert_int_equal(count_fds(), before);
    ward_tee_stats st;
    assert_int_equal(ward_tee_stats_get(F.tee, &st), WARD_OK);
    assert_int_equal(st.instances, 0);
    assert_int_equal(st.memory_reserved, 0);
    assert_int_equal(st.threads_reserved, 0);
}

/* ---- the ring under attack ------------------------------------------------------------------- */

static void test_ring_malformed_from_ta(void **state)
{
    (void)state;
    ward_tee_instance *inst = create(F.img, NULL);
    uint32_t v[4];
    size_t n = 0;
    assert_int_equal(call(inst, TA_BAD_RING, NULL, 0, (uint8_t *)v, sizeof v, &n), WARD_OK);
    assert_int_equal(n, sizeof v);
    /* an ocall longer than the slot, and an unknown kind: each answered with an error */
    assert_int_equal(v[0], WARD_MSG_OCALL_RET);
    assert_int_equal(v[1], WARD_ERR_FORMAT);
    assert_int_equal(v[2], WARD_MSG_OCALL_RET);
    assert_int_equal(v[3], WARD_ERR_FORMAT);
    echo_ok(inst);
    /* a response longer than max_message: the call fails, the host goes on */
    uint8_t out[16];
    ward_err e = call(inst, TA_BAD_RESPONSE, NULL, 0, out, sizeof out, &n);
    print_message("    bad response: %s: %s\n", ward_err_name(e), ward_errmsg());
    assert_int_equal(e, WARD_ERR_FORMAT);
    ward_tee_destroy(inst);
    ward_tee_instance *other = create(F.img, NULL);
    echo_ok(other);
    assert_int_equal(ward_tee_destroy(other), WARD_OK);
}

/* A max_message that is not a whole number of pages: the TA maps its heap in pages, so the
 * limit is rounded up instead of leaving an instance that cannot start. */
static void test_odd_max_message(void **state)
{
    (void)state;
    ward_tee_limits lim = {0};
    lim.max_message = 5000;
    ward_tee_instance *inst = create(F.img, &lim);
    echo_ok(inst);
    assert_int_equal(ward_tee_destroy(inst), WARD_OK);
}

static void test_ring_malformed_from_host(void **state)
{
    (void)state;
    ward_tee_instance *inst = create(F.img, NULL);
    uint32_t kind = 0, status = 0;
    /* unknown kind */
    assert_int_equal(ward__tee_test_raw(inst, 77, 0, 0, &kind, &status), WARD_OK);
    assert_int_equal(kind, WARD_MSG_RESPONSE);
    assert_int_equal(status, WARD_ERR_FORMAT);
    /* a call whose length exceeds the slot */
    assert_int_equal(ward__tee_test_raw(inst, WARD_MSG_CALL, 0, UINT64_MAX, &kind, &status),
                     WARD_OK);
    assert_int_equal(kind, WARD_MSG_RESPONSE);
    assert_int_equal(status, WARD_ERR_FORMAT);
    assert_int_equal(ward__tee_test_raw(inst, WARD_MSG_CALL, 0, (1u << 20) + 1, &kind, &status),
                     WARD_OK);
    assert_int_equal(status, WARD_ERR_FORMAT);
    /* an ocall return nobody asked for */
    assert_int_equal(ward__tee_test_raw(inst, WARD_MSG_OCALL_RET, 0, 5, &kind, &status), WARD_OK);
    assert_int_equal(status, WARD_ERR_FORMAT);
    /* an unknown call id (the host's API refuses it; sent raw, the TA says not found) */
    assert_int_equal(ward__tee_test_raw(inst, WARD_MSG_CALL, 999, 0, &kind, &status), WARD_OK);
    assert_int_equal(status, WARD_ERR_NOT_FOUND);
    echo_ok(inst);
    assert_int_equal(ward_tee_destroy(inst), WARD_OK);
}

/* ---- isolation from other processes ---------------------------------------------------------- */

/* In a child: drop every capability (a same-user process without privilege) and run f. */
static int as_unprivileged(int (*f)(pid_t, uint64_t), pid_t pid, uint64_t addr)
{
    pid_t c = fork();
    assert_true(c >= 0);
    if (c == 0) {
        struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
        struct __user_cap_data_struct d[2];
        memset(d, 0, sizeof d);
        if (syscall(SYS_capset, &h, d) != 0)
            _exit(99);
        _exit(f(pid, addr));
    }
    int st = 0;
    assert_int_equal(waitpid(c, &st, 0), c);
    assert_true(WIFEXITED(st));
    return WEXITSTATUS(st);
}

/* 0: refused as expected; 1: it worked */
static int try_ptrace(pid_t pid, uint64_t unused)
{
    (void)unused;
    if (ptrace(PTRACE_ATTACH, pid, NULL, NULL) == 0) {
        ptrace(PTRACE_DETACH, pid, NULL, NULL);
        return 1;
    }
    if (errno != EPERM)
        return 2;
    if (ptrace(PTRACE_SEIZE, pid, NULL, NULL) == 0) {
        ptrace(PTRACE_DETACH, pid, NULL, NULL);
        return 1;
    }
    return errno == EPERM ? 0 : 2;
}

/* In a child with the test's privileges; a tracer that exits detaches its tracees. */
static int as_privileged(int (*f)(pid_t, uint64_t), pid_t pid, uint64_t addr)
{
    pid_t c = fork();
    assert_true(c >= 0);
    if (c == 0)
        _exit(f(pid, addr));
    int st = 0;
    assert_int_equal(waitpid(c, &st, 0), c);
    assert_true(WIFEXITED(st));
    return WEXITSTATUS(st);
}

static int try_seize(pid_t pid, uint64_t unused)
{
    (void)unused;
    return ptrace(PTRACE_SEIZE, pid, NULL, NULL) == 0;
}

/* 0: could not read; 1: read the pattern */
static int try_proc_mem(pid_t pid, uint64_t addr)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/mem", (int)pid);
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return 0;
    uint8_t buf[64];
    ssize_t n = pread(fd, buf, sizeof buf, (off_t)addr);
    close(fd);
    return n == (ssize_t)sizeof buf && buf[0] == TA_PATTERN && buf[63] == TA_PATTERN;
}

static int try_vm_readv(pid_t pid, uint64_t addr)
{
    uint8_t buf[64];
    struct iovec l = {buf, sizeof buf}, r = {(void *)(uintptr_t)addr, sizeof buf};
    ssize_t n = process_vm_readv(pid, &l, 1, &r, 1, 0);
    return n == (ssize_t)sizeof buf && buf[0] == TA_PATTERN;
}

static void isolation(int fallback)
{
    ward__tee_test_no_secretmem = fallback;
    ward_tee_instance *inst = create(F.img, NULL);
    ward__tee_test_no_secretmem = 0;
    pid_t pid = ward__tee_test_pid(inst);
    uint8_t out[24];
    size_t n = 0;
    assert_int_equal(call(inst, TA_SECRET_ADDR, NULL, 0, out, sizeof out, &n), WARD_OK);
    uint64_t secret = u64le(out), global = u64le(out + 8), prot = u64le(out + 16);
    assert_int_equal(prot, ward__tee_test_protections(inst));
    int memfd_secret = (prot & WARD_PROT_HEAP_SECRET) != 0;

    /* what the kernel says about the process: no capabilities (but CAP_IPC_LOCK when the host
     * could not raise RLIMIT_MEMLOCK), no_new_privs, two seccomp layers, not dumpable */
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    int seen = 0;
    while (fgets(line, sizeof line, f) != NULL) {
        unsigned long long v;
        if (sscanf(line, "CapEff: %llx", &v) == 1 || sscanf(line, "CapPrm: %llx", &v) == 1 ||
            sscanf(line, "CapInh: %llx", &v) == 1) {
            assert_int_equal(v & ~(1ull << 14), 0);
            seen++;
        }
        if (sscanf(line, "NoNewPrivs: %llu", &v) == 1) {
            assert_int_equal(v, 1);
            seen++;
        }
        if (sscanf(line, "Seccomp_filters: %llu", &v) == 1) {
            assert_int_equal(v, 2);
            seen++;
        }
        if (sscanf(line, "TracerPid: %llu", &v) == 1) {
            assert_int_equal(v, 0);
            seen++;
        }
    }
    fclose(f);
    assert_int_equal(seen, 6);
    print_message("    instance protections: 0x%llx (%s heap)\n", (unsigned long long)prot,
                  memfd_secret ? "memfd_secret" : "mlock fallback");

    /* a same-user process without privileges: no ptrace, no /proc/PID/mem, no
     * process_vm_readv, because the instance is not dumpable */
    assert_int_equal(as_unprivileged(try_ptrace, pid, 0), 0);
    assert_int_equal(as_unprivileged(try_proc_mem, pid, global), 0);
    assert_int_equal(as_unprivileged(try_vm_readv, pid, global), 0);
    print_message("    same user, no CAP_SYS_PTRACE: ptrace, /proc/PID/mem and process_vm_readv "
                  "refused (guaranteed: the instance is not dumpable)\n");

    /* a privileged process (root here): what the platform does and does not guarantee */
    if (geteuid() == 0) {
        int attach = as_privileged(try_seize, pid, 0);
        int g = try_proc_mem(pid, global);
        print_message("    root: ptrace attach %s; ordinary memory (TA globals) via "
                      "/proc/PID/mem %s -- not protected against root, as DESIGN 2 says\n",
                      attach == 1 ? "works" : "refused", g ? "readable" : "unreadable");
        if (memfd_secret) {
            assert_int_equal(try_proc_mem(pid, secret), 0);
            assert_int_equal(try_vm_readv(pid, secret), 0);
            print_message("    root: the secret heap is not directly readable via /proc/PID/mem "
                          "or process_vm_readv (memfd_secret); root can still ptrace the TA and "
                          "make it copy the heap out: not protected against root\n");
        } else {
            int r = try_proc_mem(pid, secret);
            print_message("    root: the fallback heap (mlock, no core dump) is %s via "
                          "/proc/PID/mem: without memfd_secret the platform does not protect "
                          "the heap from root\n",
                          r ? "readable" : "unreadable");
        }
    } else {
        print_message("    SKIP privileged reads: not running as root\n");
    }
    echo_ok(inst); /* still fine after all that */
    assert_int_equal(ward_tee_destroy(inst), WARD_OK);
}

static void test_isolation(void **state)
{
    (void)state;
    isolation(0);
}

/* The same on the fallback heap (as on a kernel without memfd_secret). */
static void test_isolation_fallback_heap(void **state)
{
    (void)state;
    isolation(1);
    /* the fallback heap works: sealing uses OpenSSL's allocations */
    ward__tee_test_no_secretmem = 1;
    ward_tee_instance *inst = create(F.img, NULL);
    ward__tee_test_no_secretmem = 0;
    assert_true(ward__tee_test_protections(inst) & WARD_PROT_HEAP_MLOCK);
    uint8_t blob[256];
    size_t blen = 0;
    char out[256];
    assert_int_equal(seal(inst, WARD_SEAL_MEASUREMENT, 2, "fallback", blob, &blen), WARD_OK);
    assert_int_equal(unseal(inst, WARD_SEAL_MEASUREMENT, 2, blob, blen, out), WARD_OK);
    assert_string_equal(out, "fallback");
    assert_int_equal(ward_tee_destroy(inst), WARD_OK);
}

/* ---- budgets, warm pool, sim ----------------------------------------------------------------- */

static void test_budget(void **state)
{
    (void)state;
    ward_tee_config cfg = {WARD_TEE_SANDBOX, F.rot, 40u << 20, 5};
    ward_tee *tee = NULL;
    assert_int_equal(ward_tee_open(&cfg, &tee), WARD_OK);
    ward_ta_params p = params("ta_test", 2, 0);
    ward_tee_image *img = reg(tee, &p);
    ward_tee_limits lim = {0};
    lim.memory_bytes = 16u << 20; /* + buffers, stack and ring: about 21 MiB each */
    lim.threads = 2;
    ward_tee_instance *a = NULL, *b = NULL;
    assert_int_equal(ward_tee_create(tee, img, &lim, NULL, NULL, &a), WARD_OK);
    assert_int_equal(ward_tee_create(tee, img, &lim, NULL, NULL, &b), WARD_ERR_LIMIT);
    print_message("    %s\n", ward_errmsg());
    assert_null(b);
    /* threads: 2 + 4 > 5 */
    ward_tee_limits small = {0};
    small.memory_bytes = 1u << 20;
    small.threads = 4;
    assert_int_equal(ward_tee_create(tee, img, &small, NULL, NULL, &b), WARD_ERR_LIMIT);
    print_message("    %s\n", ward_errmsg());
    /* limits beyond the manifest's */
    ward_tee_limits huge = {0};
    huge.memory_bytes = 1u << 30;
    assert_int_equal(ward_tee_create(tee, img, &huge, NULL, NULL, &b), WARD_ERR_LIMIT);
    ward_tee_stats st;
    assert_int_equal(ward_tee_stats_get(tee, &st), WARD_OK);
    assert_int_equal(st.instances, 1);
    assert_int_equal(st.threads_reserved, 2);
    assert_true(st.memory_reserved > (16u << 20) && st.memory_reserved <= (40u << 20));
    assert_int_equal(ward_tee_destroy(a), WARD_OK);
    /* released budget is usable again */
    assert_int_equal(ward_tee_create(tee, img, &lim, NULL, NULL, &b), WARD_OK);
    ward_tee_close(tee); /* destroys b */
}

static void test_warm_pool(void **state)
{
    (void)state;
    ward_tee_limits lim = {0};
    lim.switchless = 1;
    if (ward_tee_warm_pool(F.tee, F.img, 2, &lim) != WARD_OK)
        fail_msg("warm pool: %s", ward_errmsg());
    ward_tee_stats st;
    assert_int_equal(ward_tee_stats_get(F.tee, &st), WARD_OK);
    assert_int_equal(st.warm, 2);
    ward_tee_instance *a = create(F.img, &lim);
    echo_ok(a);
    /* the pool refills in the background */
    for (int i = 0; i < 500; i++) {
        assert_int_equal(ward_tee_stats_get(F.tee, &st), WARD_OK);
        if (st.warm == 2)
            break;
        usleep(10000);
    }
    assert_int_equal(st.warm, 2);
    /* other limits: a cold start */
    ward_tee_instance *b = create(F.img, NULL);
    echo_ok(b);
    assert_int_equal(ward_tee_destroy(a), WARD_OK);
    assert_int_equal(ward_tee_destroy(b), WARD_OK);
    assert_int_equal(ward_tee_warm_pool(F.tee, F.img, 0, &lim), WARD_OK);
    assert_int_equal(ward_tee_stats_get(F.tee, &st), WARD_OK);
    assert_int_equal(st.warm, 0);
    assert_int_equal(st.memory_reserved, 0);
}

static ward_err rot_sign_cb(void *arg, const uint8_t *msg, size_t len, uint8_t sig[64])
{
    return ward_rot_sign(arg, msg, len, sig);
}

/* Every TA create and destroy, key release and report reaches the audit log (IEEE 2952 5.5.4),
 * including how an instance killed by the sandbox ended. */
static void test_events_audited(void **state)
{
    (void)state;
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/audit", F.dir);
    assert_int_equal(mkdir(dir, 0700), 0);
    ward_pkey *pub = NULL;
    assert_int_equal(ward_cert_public_key(ward_rot_platform_cert(F.rot), &pub), WARD_OK);
    ward_audit_options o = {.sign = rot_sign_cb, .sign_arg = F.rot, .verify_key = pub};
    ward_audit *log = NULL;
    assert_int_equal(ward_audit_open(dir, &o, &log), WARD_OK);
    ward_tee_set_event_hook(F.tee, ward_audit_tee_event, log);

    ward_tee_instance *inst = create(F.img, NULL);
    uint8_t data[64] = {1}, rep[WARD_REPORT_LEN], sig[WARD_REPORT_SIG_LEN], blob[256];
    size_t blen = 0;
    get_report(inst, data, rep, sig);
    assert_int_equal(seal(inst, WARD_SEAL_MEASUREMENT, 2, "audited", blob, &blen), WARD_OK);
    assert_int_equal(ward_tee_destroy(inst), WARD_OK);
    ward_tee_instance *doomed = create(F.img, NULL);
    uint8_t out[64];
    size_t n = 0;
    assert_int_equal(call(doomed, TA_FORBIDDEN, NULL, 0, out, sizeof out, &n), WARD_ERR_DEAD);
    /* destroy reports how it ended; the caller's error message survives the hook */
    assert_int_equal(ward_tee_destroy(doomed), WARD_ERR_DEAD);
    assert_non_null(strstr(ward_errmsg(), "seccomp"));

    ward_tee_set_event_hook(F.tee, NULL, NULL);
    assert_int_equal(ward_audit_close(log), WARD_OK);
    ward_pkey_free(pub);

    char path[4300];
    snprintf(path, sizeof path, "%s/export.jsonl", F.dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    uint64_t count = 0;
    assert_int_equal(ward_audit_export(dir, 0, f, &count), WARD_OK);
    fclose(f);
    size_t len = 0;
    char *text = (char *)tu_read_file(path, &len);
    static const char *const want[] = {"\"ta.create\"", "\"ta.report\"", "\"key.release\"",
                                       "\"ta.destroy\""};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (strstr(text, want[i]) == NULL)
            fail_msg("audit log lacks %s:\n%s", want[i], text);
    assert_non_null(strstr(text, "killed by seccomp"));
    assert_true(count >= 6);
    free(text);
}

static void test_sim(void **state)
{
    (void)state;
    ward_tee_config cfg = {WARD_TEE_SIM, F.rot, 0, 0};
    ward_tee *tee = NULL;
    assert_int_equal(ward_tee_open(&cfg, &tee), WARD_OK);
    assert_int_equal(ward_tee_backend_kind(tee), WARD_TEE_SIM);
    ward_ta_params p = params("ta_test", 2, 0);
    ward_tee_image *img = reg(tee, &p);
    ward_tee_instance *inst = NULL;
    if (ward_tee_create(tee, img, NULL, NULL, NULL, &inst) != WARD_OK)
        fail_msg("sim create: %s", ward_errmsg());
    echo_ok(inst);
    uint8_t data[64] = {1}, rep[WARD_REPORT_LEN], sig[WARD_REPORT_SIG_LEN];
    get_report(inst, data, rep, sig);
    ward_report r;
    assert_int_equal(ward_tee_report_verify(tee, rep, sizeof rep, sig, &r), WARD_OK);
    assert_int_equal(r.platform, WARD_PLATFORM_SW_SIM);
    assert_true(r.attributes & WARD_ATTR_DEBUG);
    /* no sandbox: nothing hardened */
    assert_int_equal(ward__tee_test_protections(inst) &
                         (WARD_PROT_SECCOMP | WARD_PROT_LANDLOCK | WARD_PROT_HEAP_SECRET),
                     0);
    /* a sim key is not the sandbox's key for the same TA */
    const char *secret = "sim";
    uint8_t blob[256];
    size_t blen = 0;
    char out[256];
    assert_int_equal(seal(inst, WARD_SEAL_MEASUREMENT, 2, secret, blob, &blen), WARD_OK);
    ward_tee_instance *sb = create(F.img, NULL);
    assert_int_equal(unseal(sb, WARD_SEAL_MEASUREMENT, 2, blob, blen, out), WARD_ERR_AUTH);
    assert_int_equal(ward_tee_destroy(sb), WARD_OK);
    assert_int_equal(ward_tee_destroy(inst), WARD_OK);
    ward_tee_close(tee);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_register_refusals),
        cmocka_unit_test(test_echo_modes),
        cmocka_unit_test(test_ocall),
        cmocka_unit_test(test_report),
        cmocka_unit_test(test_seal),
        cmocka_unit_test(test_forbidden_syscalls),
        cmocka_unit_test(test_crash),
        cmocka_unit_test(test_hang_timeout),
        cmocka_unit_test(test_memory_exhaustion),
        cmocka_unit_test(test_threads_limit),
        cmocka_unit_test(test_no_leaks),
        cmocka_unit_test(test_ring_malformed_from_ta),
        cmocka_unit_test(test_ring_malformed_from_host),
        cmocka_unit_test(test_odd_max_message),
        cmocka_unit_test(test_isolation),
        cmocka_unit_test(test_isolation_fallback_heap),
        cmocka_unit_test(test_budget),
        cmocka_unit_test(test_warm_pool),
        cmocka_unit_test(test_sim),
        cmocka_unit_test(test_events_audited),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
