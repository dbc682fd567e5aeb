/* Encrypted-stream throughput against raw AES-256-GCM.
 *
 * Figures: stream.encrypt and stream.decrypt, 256 MiB through the streaming API in 1 MiB
 * update calls (default 64 KiB chunks), as a provider and the TA would use it. Baseline: one
 * EVP_EncryptUpdate / EVP_DecryptUpdate AES-256-GCM call over the same buffer (raw OpenSSL,
 * one nonce, no chunking): the ceiling of what the machine's AES-GCM can do. Every run is
 * repeated and the best (shortest) time of each kept.
 *
 * Usage: bench_stream [FILTER] | --list */
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ward/crypto.h"
#include "ward/hpke.h"
#include "ward/stream.h"

#define MIB ((size_t)1 << 20)
#define DATA_LEN (256 * MIB)
#define UPDATE_LEN MIB
#define REPS 9

static void die(const char *what)
{
    fprintf(stderr, "bench_stream: %s failed: %s\n", what, ward_errmsg());
    exit(1);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint8_t *alloc_touched(size_t n)
{
    uint8_t *p = malloc(n);
    if (p == NULL)
        die("malloc");
    memset(p, 0x5A, n); /* fault the pages in before timing */
    return p;
}

/* ---- baseline: one raw EVP AES-256-GCM call --------------------------------------------- */

static const uint8_t base_key[32] = {1, 2, 3, 4, 5, 6, 7, 8};
static const uint8_t base_iv[12] = {9, 9, 9};

static double raw_gcm(int enc, const uint8_t *in, uint8_t *out, uint8_t tag[16])
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (ctx == NULL)
        die("EVP_CIPHER_CTX_new");
    int outl = 0, ok = 1;
    double t0 = now();
    ok &= EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, base_key, base_iv, enc);
    ok &= EVP_CipherUpdate(ctx, out, &outl, in, (int)DATA_LEN);
    if (!enc)
        ok &= EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, 16, tag);
    int fl = 0;
    ok &= EVP_CipherFinal_ex(ctx, out + outl, &fl);
    if (enc)
        ok &= EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, tag);
    double t = now() - t0;
    EVP_CIPHER_CTX_free(ctx);
    if (!ok || (size_t)outl != DATA_LEN)
        die(enc ? "raw AES-256-GCM encrypt" : "raw AES-256-GCM decrypt");
    return t;
}

/* ---- the stream -------------------------------------------------------------------------- */

static uint8_t g_sk[32], g_pk[32];
static const uint8_t aad[] = "task:bench/slot:0";
#define AAD_LEN (sizeof aad - 1)

/* Encrypts pt into ct (capacity ct_cap); returns the time, sets *ct_len. */
static double stream_encrypt(const uint8_t *pt, uint8_t *ct, size_t ct_cap, size_t *ct_len)
{
    double t0 = now();
    ward_stream *s = NULL;
    if (ward_stream_encrypt_init(g_pk, 0, aad, AAD_LEN, &s))
        die("encrypt_init");
    const uint8_t *hdr;
    size_t hdr_len, off = 0, w = 0;
    if (ward_stream_header(s, &hdr, &hdr_len))
        die("header");
    memcpy(ct, hdr, hdr_len);
    off = hdr_len;
    for (size_t pos = 0; pos < DATA_LEN; pos += UPDATE_LEN) {
        if (ward_stream_encrypt_update(s, pt + pos, UPDATE_LEN, ct + off, ct_cap - off, &w))
            die("encrypt_update");
        off += w;
    }
    if (ward_stream_encrypt_final(s, ct + off, ct_cap - off, &w))
        die("encrypt_final");
    off += w;
    ward_stream_free(s);
    double t = now() - t0;
    *ct_len = off;
    return t;
}

static double stream_decrypt(const uint8_t *ct, size_t ct_len, uint8_t *pt, size_t pt_cap)
{
    double t0 = now();
    ward_stream *s = NULL;
    if (ward_stream_decrypt_init(g_sk, aad, AAD_LEN, &s))
        die("decrypt_init");
    size_t off = 0, w = 0;
    for (size_t pos = 0; pos < ct_len; pos += UPDATE_LEN) {
        size_t n = ct_len - pos < UPDATE_LEN ? ct_len - pos : UPDATE_LEN;
        if (ward_stream_decrypt_update(s, ct + pos, n, pt + off, pt_cap - off, &w))
            die("decrypt_update");
        off += w;
    }
    if (ward_stream_decrypt_final(s, pt + off, pt_cap - off, &w))
        die("decrypt_final");
    off += w;
    ward_stream_free(s);
    double t = now() - t0;
    if (off != DATA_LEN)
        die("decrypted length");
    return t;
}

/* ---- figures ----------------------------------------------------------------------------- */

static const char *const figures[] = {"stream.encrypt", "stream.decrypt"};

static int wanted(const char *filter, const char *name)
{
    return filter == NULL || strstr(name, filter) != NULL;
}

static void report(const char *name, double best, double base)
{
    double mib = (double)DATA_LEN / (double)MIB;
    double v = mib / best, b = mib / base;
    printf("{\"bench\": \"%s\", \"value\": %.1f, \"unit\": \"MiB/s\", \"baseline\": %.1f, "
           "\"ratio\": %.3f, \"target\": \">= 0.9\"}\n",
           name, v, b, v / b);
    fflush(stdout);
    fprintf(stderr, "%-16s %9.1f MiB/s   raw EVP AES-256-GCM %9.1f MiB/s   ratio %.3f "
                    "(best of %d, %zu MiB, 1 MiB updates, 64 KiB chunks)\n",
            name, v, b, v / b, REPS, DATA_LEN / MIB);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--list") == 0) {
        for (size_t i = 0; i < sizeof figures / sizeof figures[0]; i++)
            puts(figures[i]);
        return 0;
    }
    const char *filter = argc > 1 && argv[1][0] != '\0' ? argv[1] : NULL;
    int do_enc = wanted(filter, figures[0]), do_dec = wanted(filter, figures[1]);
    if (!do_enc && !do_dec)
        return 0;

    uint8_t ikm[32] = {0x11};
    if (ward_hpke_derive_keypair(ikm, sizeof ikm, g_sk, g_pk))
        die("derive_keypair");
    size_t ct_cap = ward_stream_encrypted_size(DATA_LEN, 0, AAD_LEN);
    if (ct_cap == 0)
        die("encrypted_size");
    uint8_t *pt = alloc_touched(DATA_LEN);
    uint8_t *ct = alloc_touched(ct_cap);
    uint8_t *back = alloc_touched(DATA_LEN);
    uint8_t *raw = alloc_touched(DATA_LEN);
    if (ward_random(pt, 4 * MIB))
        die("random");
    for (size_t i = 4 * MIB; i < DATA_LEN; i += 4 * MIB)
        memcpy(pt + i, pt, 4 * MIB);

    double best_enc = 1e9, best_dec = 1e9, best_raw_enc = 1e9, best_raw_dec = 1e9;
    size_t ct_len = 0;
    uint8_t tag[16];
    /* Interleave the runs so that a noisy neighbour hurts both sides alike. */
    for (int r = 0; r < REPS; r++) {
        double t = raw_gcm(1, pt, raw, tag);
        if (t < best_raw_enc)
            best_raw_enc = t;
        t = stream_encrypt(pt, ct, ct_cap, &ct_len);
        if (t < best_enc)
            best_enc = t;
        if (do_dec) {
            t = raw_gcm(0, raw, back, tag);
            if (t < best_raw_dec)
                best_raw_dec = t;
            t = stream_decrypt(ct, ct_len, back, DATA_LEN);
            if (t < best_dec)
                best_dec = t;
        }
    }
    if (memcmp(back, pt, DATA_LEN) != 0)
        die("round trip");
    if (do_enc)
        report(figures[0], best_enc, best_raw_enc);
    if (do_dec)
        report(figures[1], best_dec, best_raw_dec);
    free(pt);
    free(ct);
    free(back);
    free(raw);
    return 0;
}
