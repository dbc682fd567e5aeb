/* The test TA: raw dispatch by call id (typed marshalling is ward-gen's job; the TEE tests need
 * calls that misbehave on purpose). Call ids are in ta_test.h. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <time.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "runtime/ta_internal.h"
#include "ta_test.h"
#include "ward/crypto.h"
#include "ward/report.h"
#include "ward/ta.h"

static uint8_t g_public_pattern[4096];

static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* in: policy u8 | svn u16 | key_version u32 (little-endian) */
static ward_err seal_params(const uint8_t *in, size_t in_len, ward_seal_policy *pol,
                            uint16_t *svn, uint32_t *kv)
{
    if (in_len < TA_SEAL_HDR)
        return WARD_ERR_FORMAT;
    *pol = (ward_seal_policy)in[0];
    *svn = (uint16_t)(in[1] | (in[2] << 8));
    *kv = (uint32_t)in[3] | ((uint32_t)in[4] << 8) | ((uint32_t)in[5] << 16) |
          ((uint32_t)in[6] << 24);
    return WARD_OK;
}

static ward_err do_seal(const uint8_t *in, size_t in_len, uint8_t *out, size_t cap,
                        size_t *out_len, int open)
{
    ward_seal_policy pol;
    uint16_t svn;
    uint32_t kv;
    ward_err e = seal_params(in, in_len, &pol, &svn, &kv);
    if (e != WARD_OK)
        return e;
    const uint8_t *body = in + TA_SEAL_HDR;
    size_t blen = in_len - TA_SEAL_HDR;
    uint8_t key[32];
    e = ward_ta_seal_key(pol, svn, kv, key);
    if (e != WARD_OK)
        return e;
    ward_aead *a = NULL;
    e = ward_aead_new(WARD_AEAD_AES_256_GCM, key, sizeof key, &a);
    ward_wipe(key, sizeof key);
    if (e != WARD_OK)
        return e;
    if (!open) {
        if (cap < blen + 28) {
            ward_aead_free(a);
            return WARD_ERR_OVERFLOW;
        }
        e = ward_random(out, 12);
        if (e == WARD_OK)
            e = ward_aead_seal(a, out, 12, NULL, 0, body, blen, out + 12, out + 12 + blen);
        *out_len = blen + 28;
    } else {
        if (blen < 28 || cap < blen - 28) {
            ward_aead_free(a);
            return WARD_ERR_FORMAT;
        }
        e = ward_aead_open(a, body, 12, NULL, 0, body + 12, blen - 28, body + blen - 16, out);
        *out_len = e == WARD_OK ? blen - 28 : 0;
    }
    ward_aead_free(a);
    return e;
}

static void *idle_thread(void *arg)
{
    (void)arg;
    for (;;) {
        struct timespec ts = {10, 0};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

/* Writes a raw message to the host, waits for the answer, returns its kind and status. */
static void raw_to_host(uint32_t kind, uint32_t id, uint64_t len, uint32_t *rkind,
                        uint32_t *rstatus)
{
    ward_ring_msg m = {kind, id, 0, 0, len};
    memcpy(ward__ta.resp, &m, sizeof m);
    ward_ring_give(ward__ta.hdr, WARD_RING_TURN_HOST, &ward__ta.hdr->host_sleeping);
    ward_ring_wait(ward__ta.hdr, WARD_RING_TURN_TA, &ward__ta.hdr->ta_sleeping, 0, 0);
    ward_ring_msg r;
    memcpy(&r, ward__ta.req, sizeof r);
    *rkind = r.kind;
    *rstatus = r.status;
}

static ward_err dispatch(uint32_t id, const uint8_t *in, size_t in_len, uint8_t *out,
                         size_t cap, size_t *out_len)
{
    switch (id) {
    case TA_ECHO:
        if (in_len > cap)
            return WARD_ERR_OVERFLOW;
        memcpy(out, in, in_len);
        *out_len = in_len;
        return WARD_OK;
    case TA_REPORT: {
        if (in_len != WARD_REPORT_DATA_LEN || cap < WARD_REPORT_LEN + WARD_REPORT_SIG_LEN)
            return WARD_ERR_INVALID_ARG;
        ward_err e = ward_ta_report(in, out, out + WARD_REPORT_LEN);
        if (e == WARD_OK)
            *out_len = WARD_REPORT_LEN + WARD_REPORT_SIG_LEN;
        return e;
    }
    case TA_SEAL:
        return do_seal(in, in_len, out, cap, out_len, 0);
    case TA_UNSEAL:
        return do_seal(in, in_len, out, cap, out_len, 1);
    case TA_FORBIDDEN: {
        int s = socket(AF_INET, SOCK_STREAM, 0); /* killed here */
        return s < 0 ? WARD_ERR_PERMISSION : WARD_ERR_STATE;
    }
    case TA_OPEN_FILE: {
        int fd = open("/etc/hostname", O_RDONLY); /* killed here */
        return fd < 0 ? WARD_ERR_PERMISSION : WARD_ERR_STATE;
    }
    case TA_EXEC_MEM: {
        void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0); /* killed here */
        return p == MAP_FAILED ? WARD_ERR_PERMISSION : WARD_ERR_STATE;
    }
    case TA_CRASH: {
        volatile int *p = (volatile int *)(uintptr_t)(in_len + 8);
        *p = 1;
        return WARD_ERR_STATE;
    }
    case TA_HANG:
        for (;;) {
            struct timespec ts = {1, 0};
            nanosleep(&ts, NULL);
        }
    case TA_SPIN: {
        uint64_t ms = in_len >= 8 ? get_u64(in) : 10;
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        do {
            clock_gettime(CLOCK_MONOTONIC, &b);
        } while ((uint64_t)(b.tv_sec - a.tv_sec) * 1000u +
                     (uint64_t)((b.tv_nsec - a.tv_nsec) / 1000000) < ms);
        return WARD_OK;
    }
    case TA_ALLOC: {
        /* Allocates 1 MiB blocks until malloc says no; frees them; returns the count. */
        void **list = NULL;
        size_t n = 0, capn = 0;
        for (;;) {
            void *p = malloc(1u << 20);
            if (p == NULL)
                break;
            memset(p, 0xa5, 1u << 20);
            if (n == capn) {
                size_t nc = capn ? capn * 2 : 64;
                void **nl = realloc(list, nc * sizeof *nl);
                if (nl == NULL) {
                    free(p);
                    break;
                }
                list = nl;
                capn = nc;
            }
            list[n++] = p;
        }
        for (size_t i = 0; i < n; i++)
            free(list[i]);
        free(list);
        if (cap < 8)
            return WARD_ERR_OVERFLOW;
        put_u64(out, n);
        *out_len = 8;
        return WARD_ERR_NOMEM; /* the limit was reached, cleanly */
    }
    case TA_OCALL:
        return ward_ta_ocall(TA_HOST_OCALL_ID, in, in_len, out, cap, out_len);
    case TA_SECRET_ADDR: {
        /* A heap (secret) buffer and a global (ordinary memory), both holding the pattern. */
        static uint8_t *secret;
        if (secret == NULL)
            secret = malloc(4096);
        if (secret == NULL || cap < 24)
            return WARD_ERR_NOMEM;
        memset(secret, TA_PATTERN, 4096);
        memset(g_public_pattern, TA_PATTERN, sizeof g_public_pattern);
        put_u64(out, (uint64_t)(uintptr_t)secret);
        put_u64(out + 8, (uint64_t)(uintptr_t)g_public_pattern);
        put_u64(out + 16, ward__ta.protections);
        *out_len = 24;
        return WARD_OK;
    }
    case TA_BAD_RING: {
        /* Misbehaves on the ring: an ocall longer than the slot, then an unknown kind. The host
         * must answer both with an error and keep going. */
        uint32_t k1, s1, k2, s2;
        raw_to_host(WARD_MSG_OCALL, 1, (uint64_t)ward__ta.max_message + 1, &k1, &s1);
        raw_to_host(99, 0, 0, &k2, &s2);
        if (cap < 16)
            return WARD_ERR_OVERFLOW;
        uint32_t v[4] = {k1, s1, k2, s2};
        memcpy(out, v, sizeof v);
        *out_len = sizeof v;
        return WARD_OK;
    }
    case TA_BAD_RESPONSE: {
        /* A response longer than max_message, written straight into the ring. */
        ward_ring_msg m = {WARD_MSG_RESPONSE, id, 0, 0, UINT64_C(1) << 40};
        memcpy(ward__ta.resp, &m, sizeof m);
        ward_ring_give(ward__ta.hdr, WARD_RING_TURN_HOST, &ward__ta.hdr->host_sleeping);
        ward_ring_wait(ward__ta.hdr, WARD_RING_TURN_TA, &ward__ta.hdr->ta_sleeping, 0, 0);
        /* The host rejected it and moved on; used as the last call: the next message is the
         * host's destroy. */
        ward_ring_msg r;
        memcpy(&r, ward__ta.req, sizeof r);
        if (r.kind == WARD_MSG_DESTROY)
            syscall(SYS_exit_group, 0);
        return WARD_ERR_STATE;
    }
    case TA_SELF: {
        ward_report r;
        ward_err e = ward_ta_self(&r);
        if (e != WARD_OK)
            return e;
        if (cap < WARD_REPORT_LEN)
            return WARD_ERR_OVERFLOW;
        e = ward_report_encode(&r, out);
        if (e == WARD_OK)
            *out_len = WARD_REPORT_LEN;
        return e;
    }
    case TA_THREADS: {
        uint64_t want = in_len >= 8 ? get_u64(in) : 1;
        uint64_t ok = 0;
        for (uint64_t i = 0; i < want; i++) {
            pthread_t t;
            if (pthread_create(&t, NULL, idle_thread, NULL) != 0)
                break;
            pthread_detach(t);
            ok++;
        }
        if (cap < 8)
            return WARD_ERR_OVERFLOW;
        put_u64(out, ok);
        *out_len = 8;
        return WARD_OK;
    }
    case TA_HEAP_USED:
        if (cap < 8)
            return WARD_ERR_OVERFLOW;
        put_u64(out, ward__ta_heap_used());
        *out_len = 8;
        return WARD_OK;
    case TA_EXIT:
        exit(3);
    default:
        return WARD_ERR_NOT_FOUND;
    }
}

int main(void)
{
    return ward_ta_run(dispatch);
}
