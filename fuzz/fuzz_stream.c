/* libFuzzer target: the encrypted-stream decoder on untrusted input.
 *
 * Input: byte 0 seeds the split pattern, byte 1 picks the largest piece (1 << (b1 % 15) bytes),
 * the rest is the stream, fed to ward_stream_decrypt_update in pieces of 1..max bytes and
 * finished with ward_stream_decrypt_final. Every output buffer is exactly as large as
 * ward_stream_update_bound() says, so ASan catches any overrun.
 *
 * Checked on every input: no crash, no leak; the one-shot decoder reaches the same verdict as
 * the split one; a failing call releases nothing of the bad chunk (bytes beyond *out_len are
 * untouched or wiped). When decoding succeeds: the stream was canonical (its size is exactly
 * ward_stream_encrypted_size of what it decoded to) and the plaintext survives a fresh
 * encrypt/decrypt round trip.
 *
 * The recipient key is derived from a fixed ikm, so the seeds in fuzz/corpus/fuzz_stream/ stay
 * valid. They were made by this file built as a program:
 *   clang -DFUZZ_STREAM_MAKE_SEEDS -Iinclude fuzz/fuzz_stream.c <libward.a> -lcrypto -ljansson
 *   ./a.out fuzz/corpus/fuzz_stream
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ward/hpke.h"
#include "ward/stream.h"

static const uint8_t fuzz_aad[] = "task:fuzz/slot:0";
#define FUZZ_AAD_LEN (sizeof fuzz_aad - 1)

static uint8_t g_sk[32], g_pk[32];

static void keys(void)
{
    static int done;
    if (done)
        return;
    uint8_t ikm[32];
    for (size_t i = 0; i < sizeof ikm; i++)
        ikm[i] = (uint8_t)(0xF0 ^ i);
    if (ward_hpke_derive_keypair(ikm, sizeof ikm, g_sk, g_pk) != WARD_OK)
        abort();
    done = 1;
}

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_stream: invariant broken: %s\n", what);
        abort();
    }
}

/* Decrypts in pieces; returns the verdict and the plaintext (malloc'd, *pt_len bytes). */
static ward_err decode_split(const uint8_t *in, size_t len, uint8_t seed, uint8_t shape,
                             uint8_t **pt, size_t *pt_len)
{
    uint8_t *acc = malloc(len ? len : 1);
    check(acc != NULL, "malloc");
    size_t acc_len = 0;
    ward_stream *s = NULL;
    ward_err err = ward_stream_decrypt_init(g_sk, fuzz_aad, FUZZ_AAD_LEN, &s);
    check(err == WARD_OK, "decrypt_init");
    size_t max_piece = (size_t)1 << (shape % 15);
    uint32_t r = 0x9E3779B9u ^ seed;
    size_t pos = 0;
    for (;;) {
        int last = pos == len;
        size_t n = 0;
        if (!last) {
            r ^= r << 13;
            r ^= r >> 17;
            r ^= r << 5;
            n = 1 + (size_t)r % max_piece;
            if (n > len - pos)
                n = len - pos;
        }
        size_t cap = ward_stream_update_bound(s, n);
        uint8_t *out = malloc(cap ? cap : 1);
        check(out != NULL, "malloc");
        memset(out, 0xA5, cap);
        size_t w = (size_t)-1;
        err = last ? ward_stream_decrypt_final(s, out, cap, &w)
                   : ward_stream_decrypt_update(s, in + pos, n, out, cap, &w);
        check(w <= cap, "out_len within capacity");
        check(acc_len + w <= (len ? len : 1), "plaintext longer than the stream");
        if (err)
            for (size_t i = w; i < cap; i++)
                check(out[i] == 0xA5 || out[i] == 0, "failed chunk released plaintext");
        if (w)
            memcpy(acc + acc_len, out, w);
        acc_len += w;
        free(out);
        pos += n;
        if (err || last)
            break;
    }
    if (err) {
        size_t w = 1;
        uint8_t b[16];
        check(ward_stream_decrypt_final(s, b, sizeof b, &w) == WARD_ERR_STATE && w == 0,
              "dead stream stays dead");
    }
    ward_stream_free(s);
    *pt = acc;
    *pt_len = acc_len;
    return err;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    keys();
    uint8_t seed = size > 0 ? data[0] : 0;
    uint8_t shape = size > 1 ? data[1] : 0;
    const uint8_t *in = size > 2 ? data + 2 : data;
    size_t len = size > 2 ? size - 2 : 0;

    uint8_t *pt = NULL;
    size_t pt_len = 0;
    ward_err err = decode_split(in, len, seed, shape, &pt, &pt_len);

    uint8_t *pt1 = NULL;
    size_t pt1_len = 0;
    ward_err err1 = ward_stream_open(g_sk, fuzz_aad, FUZZ_AAD_LEN, in, len, &pt1, &pt1_len);
    check(err1 == err, "one-shot and split decoders agree");

    if (err == WARD_OK) {
        check(pt1_len == pt_len && memcmp(pt1, pt, pt_len) == 0, "same plaintext");
        size_t chunk = (size_t)in[8] << 24 | (size_t)in[9] << 16 | (size_t)in[10] << 8 | in[11];
        check(ward_stream_encrypted_size(pt_len, chunk, FUZZ_AAD_LEN) == len,
              "accepted stream is canonical");
        uint8_t *ct = NULL, *back = NULL;
        size_t ct_len = 0, back_len = 0;
        check(ward_stream_seal(g_pk, chunk, fuzz_aad, FUZZ_AAD_LEN, pt, pt_len, &ct, &ct_len) ==
                  WARD_OK,
              "re-encrypt");
        check(ct_len == len, "re-encrypted size");
        check(ward_stream_open(g_sk, fuzz_aad, FUZZ_AAD_LEN, ct, ct_len, &back, &back_len) ==
                  WARD_OK,
              "re-decrypt");
        check(back_len == pt_len && memcmp(back, pt, pt_len) == 0, "round trip");
        free(ct);
        free(back);
    } else {
        check(pt1 == NULL && pt1_len == 0, "one-shot failure returns nothing");
    }
    free(pt1);
    free(pt);
    return 0;
}

#ifdef FUZZ_STREAM_MAKE_SEEDS
/* Writes the seed corpus: valid streams and corruptions, each behind a 2-byte split prefix. */
static void put(const char *dir, const char *name, uint8_t seed, uint8_t shape,
                const uint8_t *b, size_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    check(f != NULL, "open seed file");
    uint8_t pre[2] = {seed, shape};
    check(fwrite(pre, 1, 2, f) == 2 && fwrite(b, 1, n, f) == n && fclose(f) == 0, "write");
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    keys();
    const char *dir = argv[1];
    uint8_t pt[3000];
    for (size_t i = 0; i < sizeof pt; i++)
        pt[i] = (uint8_t)(i * 31 + 7);
    uint8_t *ct = NULL, *empty = NULL, *whole = NULL;
    size_t len = 0, elen = 0, wlen = 0;
    check(ward_stream_seal(g_pk, 1024, fuzz_aad, FUZZ_AAD_LEN, pt, sizeof pt, &ct, &len) ==
              WARD_OK,
          "seal");
    check(ward_stream_seal(g_pk, 1024, fuzz_aad, FUZZ_AAD_LEN, NULL, 0, &empty, &elen) ==
              WARD_OK,
          "seal empty");
    check(ward_stream_seal(g_pk, 1024, fuzz_aad, FUZZ_AAD_LEN, pt, 2048, &whole, &wlen) ==
              WARD_OK,
          "seal whole");
    size_t hdr = 94 + FUZZ_AAD_LEN, sealed = 1040;
    put(dir, "valid_3000", 1, 14, ct, len);
    put(dir, "valid_3000_small_pieces", 7, 3, ct, len);
    put(dir, "valid_empty", 2, 14, empty, elen);
    put(dir, "valid_two_whole_chunks", 3, 10, whole, wlen);

    uint8_t *c = malloc(len + sealed);
    check(c != NULL, "malloc");
    memcpy(c, ct, len);
    c[hdr + sealed + 9] ^= 0x04;
    put(dir, "bad_chunk_bit", 4, 9, c, len);
    put(dir, "bad_last_chunk_missing", 5, 14, ct, hdr + 2 * sealed);
    memcpy(c, ct, len);
    c[0] = 'X';
    put(dir, "bad_magic", 6, 14, c, len);
    memcpy(c, ct, len);
    c[len] = 0;
    put(dir, "bad_appended_byte", 8, 12, c, len + 1);
    memcpy(c, ct, len);
    memcpy(c + hdr, ct + hdr + sealed, sealed);
    memcpy(c + hdr + sealed, ct + hdr, sealed);
    put(dir, "bad_reordered", 9, 11, c, len);
    put(dir, "bad_header_cut", 10, 2, ct, hdr - 3);
    memcpy(c, ct, len);
    c[14] ^= 0x01;
    put(dir, "bad_other_aad", 11, 14, c, len);
    free(c);
    free(ct);
    free(empty);
    free(whole);
    return 0;
}
#endif
