/* The encrypted stream: round trips at every interesting size and input split, and every kind
 * of bad input, each asserting its error code and that no plaintext of a bad chunk came out. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ward/crypto.h"
#include "ward/hpke.h"
#include "ward/stream.h"

#define CS 1024u /* chunk size of the bad-input fixtures */
#define SEALED (CS + 16u)
static const uint8_t AAD[] = "task:0f1e2d/slot:alice";
#define AAD_LEN (sizeof AAD - 1)
#define HDR_LEN (94u + AAD_LEN)

static uint8_t g_sk[32], g_pk[32];

static uint64_t rng_state = 0x9e3779b97f4a7c15u;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static int setup_keys(void **state)
{
    (void)state;
    uint8_t ikm[32];
    memset(ikm, 0x42, sizeof ikm);
    return ward_hpke_derive_keypair(ikm, sizeof ikm, g_sk, g_pk) == WARD_OK ? 0 : -1;
}

static uint8_t *random_bytes(size_t n)
{
    uint8_t *p = malloc(n ? n : 1);
    assert_non_null(p);
    assert_int_equal(ward_random(p, n), WARD_OK);
    return p;
}

/* Piece sizes for feeding: max_piece 0 means everything at once. */
static size_t next_piece(size_t left, size_t max_piece)
{
    if (max_piece == 0)
        return left;
    size_t n = 1 + (size_t)(rnd() % max_piece);
    return n < left ? n : left;
}

/* Encrypts with the streaming API, feeding pieces of up to max_piece bytes; every output
 * buffer is exactly ward_stream_update_bound() long (so that ASan sees any overrun). */
static uint8_t *encrypt_stream(const uint8_t *pt, size_t len, size_t chunk, const uint8_t *aad,
                               size_t aad_len, size_t max_piece, size_t *out_len)
{
    ward_stream *s = NULL;
    assert_int_equal(ward_stream_encrypt_init(g_pk, chunk, aad, aad_len, &s), WARD_OK);
    size_t total = ward_stream_encrypted_size(len, chunk, aad_len);
    assert_true(total > 0);
    uint8_t *out = malloc(total);
    assert_non_null(out);
    const uint8_t *hdr;
    size_t hdr_len, pos = 0, off = 0;
    assert_int_equal(ward_stream_header(s, &hdr, &hdr_len), WARD_OK);
    assert_int_equal(hdr_len, 94 + aad_len);
    memcpy(out, hdr, hdr_len);
    off = hdr_len;
    while (pos < len) {
        size_t n = next_piece(len - pos, max_piece);
        size_t cap = ward_stream_update_bound(s, n);
        uint8_t *tmp = malloc(cap ? cap : 1);
        assert_non_null(tmp);
        size_t w = 0;
        assert_int_equal(ward_stream_encrypt_update(s, pt + pos, n, tmp, cap, &w), WARD_OK);
        assert_true(w <= cap && off + w <= total);
        memcpy(out + off, tmp, w);
        free(tmp);
        off += w;
        pos += n;
    }
    size_t cap = ward_stream_update_bound(s, 0);
    uint8_t *tmp = malloc(cap);
    assert_non_null(tmp);
    size_t w = 0;
    assert_int_equal(ward_stream_encrypt_final(s, tmp, cap, &w), WARD_OK);
    assert_true(off + w <= total);
    memcpy(out + off, tmp, w);
    free(tmp);
    off += w;
    assert_int_equal(off, total);
    ward_stream_free(s);
    *out_len = off;
    return out;
}

typedef struct dec_result {
    ward_err err;        /* of the first failing call, or WARD_OK */
    uint8_t *pt;         /* everything emitted */
    size_t pt_len;
    int leaked;          /* a failing call left non-wiped bytes beyond *out_len */
} dec_result;

/* Decrypts with the streaming API in pieces of up to max_piece bytes (0: one call). Output
 * buffers are prefilled with 0xAA: after a failing call, everything past *out_len must be
 * untouched (0xAA) or wiped (0). */
static dec_result decrypt_stream(const uint8_t *sk, const uint8_t *aad, size_t aad_len,
                                 const uint8_t *ct, size_t len, size_t max_piece)
{
    dec_result r = {WARD_OK, malloc(len + 1), 0, 0};
    assert_non_null(r.pt);
    ward_stream *s = NULL;
    assert_int_equal(ward_stream_decrypt_init(sk, aad, aad_len, &s), WARD_OK);
    size_t pos = 0;
    int final_done = 0;
    while (!r.err && !final_done) {
        int is_final = pos == len;
        size_t n = is_final ? 0 : next_piece(len - pos, max_piece);
        size_t cap = ward_stream_update_bound(s, n);
        uint8_t *tmp = malloc(cap ? cap : 1);
        assert_non_null(tmp);
        memset(tmp, 0xAA, cap);
        size_t w = (size_t)-1;
        r.err = is_final ? ward_stream_decrypt_final(s, tmp, cap, &w)
                         : ward_stream_decrypt_update(s, ct + pos, n, tmp, cap, &w);
        assert_true(w <= cap);
        if (r.err) {
            assert_true(strlen(ward_errmsg()) > 0);
            for (size_t i = w; i < cap; i++)
                if (tmp[i] != 0xAA && tmp[i] != 0)
                    r.leaked = 1;
        }
        memcpy(r.pt + r.pt_len, tmp, w);
        r.pt_len += w;
        free(tmp);
        pos += n;
        final_done = is_final;
    }
    if (r.err) {
        /* A dead stream refuses everything. */
        size_t w = 0;
        uint8_t b[SEALED];
        assert_int_equal(ward_stream_decrypt_update(s, ct, 1, b, sizeof b, &w), WARD_ERR_STATE);
        assert_int_equal(ward_stream_decrypt_final(s, b, sizeof b, &w), WARD_ERR_STATE);
        assert_int_equal(w, 0);
    }
    ward_stream_free(s);
    return r;
}

/* ---- round trips -------------------------------------------------------------------------- */

static void round_trip(size_t len, size_t chunk, size_t enc_piece, size_t dec_piece)
{
    uint8_t *pt = random_bytes(len);
    size_t ct_len = 0;
    uint8_t *ct = encrypt_stream(pt, len, chunk, AAD, AAD_LEN, enc_piece, &ct_len);
    dec_result r = decrypt_stream(g_sk, AAD, AAD_LEN, ct, ct_len, dec_piece);
    if (r.err)
        fail_msg("len %zu chunk %zu: %s", len, chunk, ward_errmsg());
    assert_int_equal(r.pt_len, len);
    assert_memory_equal(r.pt, pt, len);
    /* and the one-shot API agrees */
    uint8_t *back = NULL;
    size_t back_len = 0;
    assert_int_equal(ward_stream_open(g_sk, AAD, AAD_LEN, ct, ct_len, &back, &back_len), WARD_OK);
    assert_int_equal(back_len, len);
    assert_memory_equal(back, pt, len);
    free(back);
    free(r.pt);
    free(ct);
    free(pt);
}

static void test_round_trip_sizes(void **state)
{
    (void)state;
    static const size_t chunks[] = {WARD_STREAM_MIN_CHUNK, 1500, 4096};
    for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
        size_t cs = chunks[c];
        const size_t sizes[] = {0, 1, cs - 1, cs, cs + 1, 2 * cs, 3 * cs, 3 * cs + 17};
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            round_trip(sizes[i], cs, 0, 0);           /* one call each */
            round_trip(sizes[i], cs, 1, 1);           /* one byte at a time */
            round_trip(sizes[i], cs, 700, 333);       /* random pieces */
            round_trip(sizes[i], cs, cs + 16, cs + 16); /* around the chunk boundaries */
        }
    }
}

static void test_round_trip_random(void **state)
{
    (void)state;
    for (int i = 0; i < 40; i++) {
        size_t cs = WARD_STREAM_MIN_CHUNK + (size_t)(rnd() % 5000);
        size_t len = (size_t)(rnd() % 40000);
        size_t ep = (size_t)(rnd() % 9000), dp = (size_t)(rnd() % 9000);
        round_trip(len, cs, ep, dp);
    }
}

static void test_round_trip_default_chunk(void **state)
{
    (void)state;
    round_trip(0, 0, 0, 0);
    round_trip(WARD_STREAM_DEFAULT_CHUNK, 0, 0, 0);
    round_trip(3 * WARD_STREAM_DEFAULT_CHUNK + 5, 0, 100000, 70000);
    round_trip(2 * WARD_STREAM_DEFAULT_CHUNK, 0, 1 << 20, 1 << 20);
    /* the largest chunk size */
    round_trip(WARD_STREAM_MAX_CHUNK + 3, WARD_STREAM_MAX_CHUNK, 0, 1 << 20);
}

/* A caller that knows the plaintext size gives exactly that much room, across all calls. */
static void test_exact_output_buffer(void **state)
{
    (void)state;
    for (int i = 0; i < 20; i++) {
        size_t cs = WARD_STREAM_MIN_CHUNK + (size_t)(rnd() % 3000);
        size_t len = (size_t)(rnd() % 5) * cs + (i & 1 ? 0 : (size_t)(rnd() % cs));
        uint8_t *pt = random_bytes(len);
        uint8_t *ct = NULL;
        size_t ct_len = 0;
        assert_int_equal(ward_stream_seal(g_pk, cs, AAD, AAD_LEN, pt, len, &ct, &ct_len),
                         WARD_OK);
        uint8_t *back = malloc(len ? len : 1);
        assert_non_null(back);
        ward_stream *s = NULL;
        assert_int_equal(ward_stream_decrypt_init(g_sk, AAD, AAD_LEN, &s), WARD_OK);
        size_t pos = 0, off = 0, w = 0;
        size_t piece = 1 + (size_t)(rnd() % (2 * cs));
        while (pos < ct_len) {
            size_t n = ct_len - pos < piece ? ct_len - pos : piece;
            if (ward_stream_decrypt_update(s, ct + pos, n, back + off, len - off, &w))
                fail_msg("update: %s", ward_errmsg());
            off += w;
            pos += n;
        }
        assert_int_equal(ward_stream_decrypt_final(s, back + off, len - off, &w), WARD_OK);
        assert_int_equal(off + w, len);
        assert_memory_equal(back, pt, len);
        ward_stream_free(s);
        free(back);
        free(ct);
        free(pt);
    }
}

static void test_header_layout(void **state)
{
    (void)state;
    uint8_t *ct = NULL;
    size_t len = 0;
    assert_int_equal(ward_stream_seal(g_pk, 4096, AAD, AAD_LEN, (const uint8_t *)"abc", 3, &ct,
                                      &len),
                     WARD_OK);
    assert_int_equal(len, ward_stream_encrypted_size(3, 4096, AAD_LEN));
    assert_int_equal(len, HDR_LEN + 3 + 16);
    assert_memory_equal(ct, "WRDS", 4);
    assert_int_equal(ct[4], 1); /* version */
    assert_int_equal(ct[5], 1); /* suite */
    assert_int_equal(ct[6], 0);
    assert_int_equal(ct[7], 0);
    assert_int_equal(ct[8] << 24 | ct[9] << 16 | ct[10] << 8 | ct[11], 4096);
    assert_int_equal(ct[12] << 8 | ct[13], AAD_LEN);
    assert_memory_equal(ct + 14, AAD, AAD_LEN);
    /* the empty plaintext is one empty last chunk */
    free(ct);
    assert_int_equal(ward_stream_seal(g_pk, 0, NULL, 0, NULL, 0, &ct, &len), WARD_OK);
    assert_int_equal(len, 94 + 16);
    assert_int_equal(ct[8] << 24 | ct[9] << 16 | ct[10] << 8 | ct[11],
                     WARD_STREAM_DEFAULT_CHUNK);
    uint8_t *pt = NULL;
    size_t pt_len = 1;
    assert_int_equal(ward_stream_open(g_sk, NULL, 0, ct, len, &pt, &pt_len), WARD_OK);
    assert_int_equal(pt_len, 0);
    free(pt);
    free(ct);
    /* sizes */
    assert_int_equal(ward_stream_encrypted_size(0, 1024, 0), 94 + 16);
    assert_int_equal(ward_stream_encrypted_size(1024, 1024, 0), 94 + 1024 + 16);
    assert_int_equal(ward_stream_encrypted_size(1025, 1024, 0), 94 + 1025 + 32);
    assert_int_equal(ward_stream_encrypted_size(1, 1023, 0), 0);
    assert_int_equal(ward_stream_encrypted_size(1, 1024, WARD_STREAM_MAX_AAD + 1), 0);
    assert_int_equal(ward_stream_encrypted_size((size_t)-1, 1024, 0), 0);
}

/* ---- the bad-input fixture ---------------------------------------------------------------- */

/* 4 chunks of CS plaintext bytes: 0, 1, 2 whole, 3 (the last) with 100 bytes. */
#define FIX_PT (3 * CS + 100)
#define FIX_LEN (HDR_LEN + 3 * SEALED + 100 + 16)
static uint8_t *fix_pt;
static uint8_t *fix_ct;

static int setup_fixture(void **state)
{
    (void)state;
    fix_pt = random_bytes(FIX_PT);
    size_t len = 0;
    if (ward_stream_seal(g_pk, CS, AAD, AAD_LEN, fix_pt, FIX_PT, &fix_ct, &len) != WARD_OK ||
        len != FIX_LEN)
        return -1;
    return 0;
}

static int teardown_fixture(void **state)
{
    (void)state;
    free(fix_pt);
    free(fix_ct);
    return 0;
}

static int setup_group(void **state)
{
    return setup_keys(state) || setup_fixture(state);
}

static size_t chunk_off(size_t i)
{
    return HDR_LEN + i * SEALED;
}

static uint8_t *copy_fixture(void)
{
    uint8_t *c = malloc(FIX_LEN + 2 * SEALED);
    assert_non_null(c);
    memcpy(c, fix_ct, FIX_LEN);
    return c;
}

/* Decrypts buf both in one call and in pieces; both must fail with want, having emitted
 * exactly the first good_chunks chunks' plaintext (and nothing of the bad one). */
static void expect_failure(const uint8_t *sk, const uint8_t *aad, size_t aad_len,
                           const uint8_t *buf, size_t len, ward_err want, size_t good_chunks)
{
    static const size_t pieces[] = {0, 1, 7, 600, SEALED, SEALED + 1};
    for (size_t p = 0; p < sizeof pieces / sizeof pieces[0]; p++) {
        dec_result r = decrypt_stream(sk, aad, aad_len, buf, len, pieces[p]);
        if (r.err != want)
            fail_msg("pieces %zu: got %s (%s), want %s", pieces[p], ward_err_name(r.err),
                     ward_errmsg(), ward_err_name(want));
        assert_false(r.leaked);
        assert_int_equal(r.pt_len, good_chunks * CS);
        assert_memory_equal(r.pt, fix_pt, r.pt_len);
        free(r.pt);
    }
    /* one-shot too */
    uint8_t *pt = (uint8_t *)&pt;
    size_t pt_len = 1;
    assert_int_equal(ward_stream_open(sk, aad, aad_len, buf, len, &pt, &pt_len), want);
    assert_null(pt);
    assert_int_equal(pt_len, 0);
}

static void expect_default(const uint8_t *buf, size_t len, ward_err want, size_t good_chunks)
{
    expect_failure(g_sk, AAD, AAD_LEN, buf, len, want, good_chunks);
}

static void test_fixture_ok(void **state)
{
    (void)state;
    dec_result r = decrypt_stream(g_sk, AAD, AAD_LEN, fix_ct, FIX_LEN, 0);
    assert_int_equal(r.err, WARD_OK);
    assert_int_equal(r.pt_len, FIX_PT);
    assert_memory_equal(r.pt, fix_pt, FIX_PT);
    free(r.pt);
}

/* header */
static void test_bad_header_enc_bit(void **state)
{
    (void)state;
    uint8_t *c = copy_fixture();
    c[HDR_LEN - 80 + 5] ^= 0x04; /* inside enc */
    expect_default(c, FIX_LEN, WARD_ERR_AUTH, 0);
    free(c);
}

static void test_bad_header_wrapped_key_bit(void **state)
{
    (void)state;
    uint8_t *c = copy_fixture();
    c[HDR_LEN - 20] ^= 0x01; /* inside the wrapped data key */
    expect_default(c, FIX_LEN, WARD_ERR_AUTH, 0);
    free(c);
}

static void test_bad_header_chunk_size_bit(void **state)
{
    (void)state;
    uint8_t *c = copy_fixture();
    c[11] ^= 0x01; /* 1024 -> 1025: in range, but the header is authenticated */
    expect_default(c, FIX_LEN, WARD_ERR_AUTH, 0);
    free(c);
}

static void test_bad_header_aad_bit(void **state)
{
    (void)state;
    uint8_t *c = copy_fixture();
    c[14 + 3] ^= 0x20; /* the header now names another task */
    expect_default(c, FIX_LEN, WARD_ERR_VERIFY, 0);
    free(c);
}

static void test_bad_header_reserved(void **state)
{
    (void)state;
    uint8_t *c = copy_fixture();
    c[7] = 1;
    expect_default(c, FIX_LEN, WARD_ERR_FORMAT, 0);
    free(c);
}

static void test_bad_magic(void **state)
{
    (void)state;
    uint8_t *c = copy_fixture();
    c[0] = 'X';
    expect_default(c, FIX_LEN, WARD_ERR_FORMAT, 0);
    free(c);
}

static void test_bad_version(void **state)
{
    (void)state;
    uint8_t *c = copy_fixture();
    c[4] = 2;
    expect_default(c, FIX_LEN, WARD_ERR_UNSUPPORTED, 0);
    free(c);
}

static void test_bad_suite(void **state)
{
    (void)state;
    uint8_t *c = copy_fixture();
    c[5] = 0;
    expect_default(c, FIX_LEN, WARD_ERR_UNSUPPORTED, 0);
    free(c);
}

static void set_chunk_size(uint8_t *c, uint32_t v)
{
    c[8] = (uint8_t)(v >> 24);
    c[9] = (uint8_t)(v >> 16);
    c[10] = (uint8_t)(v >> 8);
    c[11] = (uint8_t)v;
}

static void test_bad_chunk_size_range(void **state)
{
    (void)state;
    static const uint32_t bad[] = {0, 1, WARD_STREAM_MIN_CHUNK - 1, WARD_STREAM_MAX_CHUNK + 1,
                                   0xFFFFFFFFu};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t *c = copy_fixture();
        set_chunk_size(c, bad[i]);
        expect_default(c, FIX_LEN, WARD_ERR_FORMAT, 0);
        free(c);
    }
}

static void test_bad_aad_len(void **state)
{
    (void)state;
    uint8_t *c = copy_fixture();
    c[12] = 0x04; /* 0x04xx > 1024 */
    c[13] = 0x01;
    expect_default(c, FIX_LEN, WARD_ERR_FORMAT, 0);
    free(c);
}

/* chunks */
static void test_bad_chunk_bit(void **state)
{
    (void)state;
    for (size_t i = 0; i < 4; i++) {
        uint8_t *c = copy_fixture();
        c[chunk_off(i) + 50] ^= 0x10;
        expect_default(c, FIX_LEN, WARD_ERR_AUTH, i);
        free(c);
    }
}

static void test_bad_tag_bit(void **state)
{
    (void)state;
    static const size_t tag_at[] = {HDR_LEN + SEALED - 1, HDR_LEN + 2 * SEALED - 16,
                                    HDR_LEN + 3 * SEALED - 8, FIX_LEN - 1};
    for (size_t i = 0; i < 4; i++) {
        uint8_t *c = copy_fixture();
        c[tag_at[i]] ^= 0x80;
        expect_default(c, FIX_LEN, WARD_ERR_AUTH, i);
        free(c);
    }
}

/* truncation */
static void test_truncated_last_chunk_missing(void **state)
{
    (void)state;
    /* cut after chunk 2: chunk 2 authenticates only as a middle chunk */
    expect_default(fix_ct, chunk_off(3), WARD_ERR_TRUNCATED, 2);
    /* and after chunk 0 */
    expect_default(fix_ct, chunk_off(1), WARD_ERR_TRUNCATED, 0);
}

static void test_truncated_inside_last_chunk(void **state)
{
    (void)state;
    expect_default(fix_ct, FIX_LEN - 1, WARD_ERR_AUTH, 3);
    expect_default(fix_ct, chunk_off(3) + 16, WARD_ERR_AUTH, 3);
    /* fewer bytes than a tag */
    expect_default(fix_ct, chunk_off(3) + 15, WARD_ERR_TRUNCATED, 3);
    expect_default(fix_ct, chunk_off(3) + 1, WARD_ERR_TRUNCATED, 3);
}

static void test_truncated_inside_middle_chunk(void **state)
{
    (void)state;
    expect_default(fix_ct, chunk_off(1) + 500, WARD_ERR_AUTH, 1);
}

static void test_truncated_inside_header(void **state)
{
    (void)state;
    expect_default(fix_ct, 0, WARD_ERR_TRUNCATED, 0);
    expect_default(fix_ct, 5, WARD_ERR_TRUNCATED, 0);
    expect_default(fix_ct, 14, WARD_ERR_TRUNCATED, 0);
    expect_default(fix_ct, HDR_LEN - 1, WARD_ERR_TRUNCATED, 0);
    /* the header and no chunk at all */
    expect_default(fix_ct, HDR_LEN, WARD_ERR_TRUNCATED, 0);
}

/* moved chunks */
static void test_reordered_chunks(void **state)
{
    (void)state;
    uint8_t *c = copy_fixture();
    memcpy(c + chunk_off(0), fix_ct + chunk_off(1), SEALED);
    memcpy(c + chunk_off(1), fix_ct + chunk_off(0), SEALED);
    expect_default(c, FIX_LEN, WARD_ERR_AUTH, 0);
    free(c);
}

static void test_duplicated_chunk(void **state)
{
    (void)state;
    uint8_t *c = malloc(FIX_LEN + SEALED);
    assert_non_null(c);
    memcpy(c, fix_ct, chunk_off(2));
    memcpy(c + chunk_off(2), fix_ct + chunk_off(1), SEALED); /* chunk 1 again */
    memcpy(c + chunk_off(3), fix_ct + chunk_off(2), FIX_LEN - chunk_off(2));
    expect_default(c, FIX_LEN + SEALED, WARD_ERR_AUTH, 2);
    free(c);
}

static void test_dropped_middle_chunk(void **state)
{
    (void)state;
    uint8_t *c = malloc(FIX_LEN);
    assert_non_null(c);
    memcpy(c, fix_ct, chunk_off(1));
    memcpy(c + chunk_off(1), fix_ct + chunk_off(2), FIX_LEN - chunk_off(2));
    expect_default(c, FIX_LEN - SEALED, WARD_ERR_AUTH, 1);
    free(c);
}

static void test_appended_bytes(void **state)
{
    (void)state;
    uint8_t *c = copy_fixture();
    c[FIX_LEN] = 0;
    expect_default(c, FIX_LEN + 1, WARD_ERR_AUTH, 3);
    /* a whole extra chunk (a copy of chunk 1) after the last */
    memcpy(c + FIX_LEN, fix_ct + chunk_off(1), SEALED);
    expect_default(c, FIX_LEN + SEALED, WARD_ERR_AUTH, 3);
    free(c);

    /* the same when the last chunk is whole: it now fails as a middle chunk */
    uint8_t *ct = NULL;
    size_t len = 0;
    assert_int_equal(ward_stream_seal(g_pk, CS, AAD, AAD_LEN, fix_pt, 2 * CS, &ct, &len),
                     WARD_OK);
    uint8_t *d = malloc(len + 5);
    assert_non_null(d);
    memcpy(d, ct, len);
    memset(d + len, 0x11, 5);
    expect_default(d, len + 5, WARD_ERR_AUTH, 1);
    /* and a stream cut at a chunk boundary after its whole last chunk is fine */
    dec_result r = decrypt_stream(g_sk, AAD, AAD_LEN, d, len, 0);
    assert_int_equal(r.err, WARD_OK);
    assert_int_equal(r.pt_len, 2 * CS);
    free(r.pt);
    free(d);
    free(ct);
}

/* keys and associated data */
static void test_other_slot_or_task(void **state)
{
    (void)state;
    static const uint8_t other_slot[] = "task:0f1e2d/slot:bob";
    static const uint8_t other_task[] = "task:0f1e2e/slot:alice";
    expect_failure(g_sk, other_slot, sizeof other_slot - 1, fix_ct, FIX_LEN, WARD_ERR_VERIFY, 0);
    expect_failure(g_sk, other_task, sizeof other_task - 1, fix_ct, FIX_LEN, WARD_ERR_VERIFY, 0);
    expect_failure(g_sk, NULL, 0, fix_ct, FIX_LEN, WARD_ERR_VERIFY, 0);
    assert_non_null(strstr(ward_errmsg(), "another task or slot"));
}

static void test_wrong_recipient_key(void **state)
{
    (void)state;
    uint8_t sk[32], pk[32];
    assert_int_equal(ward_hpke_generate_keypair(sk, pk), WARD_OK);
    expect_failure(sk, AAD, AAD_LEN, fix_ct, FIX_LEN, WARD_ERR_AUTH, 0);
    assert_non_null(strstr(ward_errmsg(), "wrong key or altered header"));
}

/* API misuse */
static void test_calls_after_error_and_final(void **state)
{
    (void)state;
    uint8_t out[4 * SEALED];
    size_t w = 0;
    /* decrypt: dead after an error (decrypt_stream checks update and final) */
    uint8_t *c = copy_fixture();
    c[0] = 'X';
    dec_result r = decrypt_stream(g_sk, AAD, AAD_LEN, c, FIX_LEN, 0);
    assert_int_equal(r.err, WARD_ERR_FORMAT);
    free(r.pt);
    free(c);

    /* decrypt: finished */
    ward_stream *s = NULL;
    uint8_t *big = malloc(FIX_LEN);
    assert_non_null(big);
    assert_int_equal(ward_stream_decrypt_init(g_sk, AAD, AAD_LEN, &s), WARD_OK);
    assert_int_equal(ward_stream_decrypt_update(s, fix_ct, FIX_LEN, big, FIX_LEN, &w), WARD_OK);
    assert_int_equal(ward_stream_decrypt_final(s, out, sizeof out, &w), WARD_OK);
    assert_int_equal(ward_stream_decrypt_final(s, out, sizeof out, &w), WARD_ERR_STATE);
    assert_int_equal(ward_stream_decrypt_update(s, fix_ct, 1, out, sizeof out, &w),
                     WARD_ERR_STATE);
    /* wrong direction */
    assert_int_equal(ward_stream_encrypt_update(s, out, 1, out, sizeof out, &w), WARD_ERR_STATE);
    ward_stream_free(s);
    free(big);

    /* encrypt: finished, dead, wrong direction */
    assert_int_equal(ward_stream_encrypt_init(g_pk, CS, NULL, 0, &s), WARD_OK);
    assert_int_equal(ward_stream_encrypt_update(s, fix_pt, 10, out, sizeof out, &w), WARD_OK);
    assert_int_equal(ward_stream_decrypt_update(s, out, 1, out, sizeof out, &w), WARD_ERR_STATE);
    assert_int_equal(ward_stream_encrypt_final(s, out, sizeof out, &w), WARD_OK);
    assert_int_equal(w, 26);
    assert_int_equal(ward_stream_encrypt_update(s, fix_pt, 1, out, sizeof out, &w),
                     WARD_ERR_STATE);
    assert_int_equal(ward_stream_encrypt_final(s, out, sizeof out, &w), WARD_ERR_STATE);
    ward_stream_free(s);

    assert_int_equal(ward_stream_encrypt_init(g_pk, CS, NULL, 0, &s), WARD_OK);
    assert_int_equal(ward_stream_encrypt_update(s, fix_pt, 3 * CS, out, 10, &w),
                     WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_stream_encrypt_update(s, fix_pt, 1, out, sizeof out, &w),
                     WARD_ERR_STATE);
    assert_int_equal(ward_stream_encrypt_final(s, out, sizeof out, &w), WARD_ERR_STATE);
    const uint8_t *h;
    size_t hl;
    assert_int_equal(ward_stream_header(s, &h, &hl), WARD_ERR_STATE);
    ward_stream_free(s);

    /* a decrypting stream has no header before it has read one */
    assert_int_equal(ward_stream_decrypt_init(g_sk, AAD, AAD_LEN, &s), WARD_OK);
    assert_int_equal(ward_stream_header(s, &h, &hl), WARD_ERR_STATE);
    assert_int_equal(ward_stream_decrypt_update(s, fix_ct, HDR_LEN, out, sizeof out, &w),
                     WARD_OK);
    assert_int_equal(w, 0);
    assert_int_equal(ward_stream_header(s, &h, &hl), WARD_OK);
    assert_int_equal(hl, HDR_LEN);
    assert_memory_equal(h, fix_ct, HDR_LEN);
    ward_stream_free(s);
}

static void test_output_too_small(void **state)
{
    (void)state;
    enum { CANARY = 64 };
    size_t w = 12345;
    /* encrypt update: 3 whole chunks + 1 byte need 3 sealed chunks */
    ward_stream *s = NULL;
    uint8_t *out = malloc(3 * SEALED + CANARY);
    assert_non_null(out);
    memset(out, 0xC3, 3 * SEALED + CANARY);
    assert_int_equal(ward_stream_encrypt_init(g_pk, CS, NULL, 0, &s), WARD_OK);
    assert_int_equal(ward_stream_encrypt_update(s, fix_pt, 3 * CS + 1, out, 3 * SEALED - 1, &w),
                     WARD_ERR_INVALID_ARG);
    assert_int_equal(w, 0);
    for (size_t i = 3 * SEALED - 1; i < 3 * SEALED + CANARY; i++)
        assert_int_equal(out[i], 0xC3);
    ward_stream_free(s);
    /* encrypt final */
    assert_int_equal(ward_stream_encrypt_init(g_pk, CS, NULL, 0, &s), WARD_OK);
    assert_int_equal(ward_stream_encrypt_update(s, fix_pt, 100, out, 0, &w), WARD_OK);
    memset(out, 0xC3, 3 * SEALED + CANARY);
    assert_int_equal(ward_stream_encrypt_final(s, out, 115, &w), WARD_ERR_INVALID_ARG);
    for (size_t i = 115; i < 3 * SEALED + CANARY; i++)
        assert_int_equal(out[i], 0xC3);
    ward_stream_free(s);

    /* decrypt update */
    assert_int_equal(ward_stream_decrypt_init(g_sk, AAD, AAD_LEN, &s), WARD_OK);
    memset(out, 0xC3, 3 * SEALED + CANARY);
    size_t in = HDR_LEN + 2 * SEALED + 1;
    assert_true(ward_stream_update_bound(s, in) >= 2 * CS);
    assert_int_equal(ward_stream_decrypt_update(s, fix_ct, in, out, 2 * CS - 1, &w),
                     WARD_ERR_INVALID_ARG);
    for (size_t i = 2 * CS - 1; i < 3 * SEALED + CANARY; i++)
        assert_int_equal(out[i], 0xC3);
    ward_stream_free(s);
    /* exactly enough is enough, also when the header arrives in the same call */
    assert_int_equal(ward_stream_decrypt_init(g_sk, AAD, AAD_LEN, &s), WARD_OK);
    assert_int_equal(ward_stream_decrypt_update(s, fix_ct, 20, out, 0, &w), WARD_OK);
    assert_int_equal(ward_stream_decrypt_update(s, fix_ct + 20, in - 20, out, 2 * CS, &w),
                     WARD_OK);
    assert_int_equal(w, 2 * CS);
    ward_stream_free(s);

    /* decrypt final: the last chunk has 100 bytes */
    assert_int_equal(ward_stream_decrypt_init(g_sk, AAD, AAD_LEN, &s), WARD_OK);
    uint8_t *big = malloc(FIX_LEN);
    assert_non_null(big);
    assert_int_equal(ward_stream_decrypt_update(s, fix_ct, FIX_LEN, big, FIX_LEN, &w), WARD_OK);
    assert_int_equal(w, 3 * CS);
    memset(out, 0xC3, 3 * SEALED + CANARY);
    assert_int_equal(ward_stream_decrypt_final(s, out, 99, &w), WARD_ERR_INVALID_ARG);
    for (size_t i = 99; i < 3 * SEALED + CANARY; i++)
        assert_int_equal(out[i], 0xC3);
    ward_stream_free(s);
    free(big);
    free(out);
}

static void test_argument_errors(void **state)
{
    (void)state;
    ward_stream *s = NULL;
    uint8_t b[64];
    size_t w;
    memset(b, 7, sizeof b);
    assert_int_equal(ward_stream_encrypt_init(g_pk, WARD_STREAM_MIN_CHUNK - 1, NULL, 0, &s),
                     WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_stream_encrypt_init(g_pk, WARD_STREAM_MAX_CHUNK + 1, NULL, 0, &s),
                     WARD_ERR_INVALID_ARG);
    uint8_t *aad = calloc(1, WARD_STREAM_MAX_AAD + 1);
    assert_non_null(aad);
    assert_int_equal(ward_stream_encrypt_init(g_pk, 0, aad, WARD_STREAM_MAX_AAD + 1, &s),
                     WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_stream_decrypt_init(g_sk, aad, WARD_STREAM_MAX_AAD + 1, &s),
                     WARD_ERR_INVALID_ARG);
    /* the largest associated data works */
    uint8_t *ct = NULL, *pt = NULL;
    size_t len = 0, pt_len = 0;
    assert_int_equal(ward_stream_seal(g_pk, 0, aad, WARD_STREAM_MAX_AAD, b, 10, &ct, &len),
                     WARD_OK);
    assert_int_equal(ward_stream_open(g_sk, aad, WARD_STREAM_MAX_AAD, ct, len, &pt, &pt_len),
                     WARD_OK);
    assert_int_equal(pt_len, 10);
    free(ct);
    free(pt);
    free(aad);
    assert_int_equal(ward_stream_encrypt_init(NULL, 0, NULL, 0, &s), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_stream_encrypt_init(g_pk, 0, NULL, 5, &s), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_stream_encrypt_init(g_pk, 0, NULL, 0, NULL), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_stream_decrypt_init(NULL, NULL, 0, &s), WARD_ERR_INVALID_ARG);
    assert_null(s);
    assert_int_equal(ward_stream_encrypt_update(NULL, b, 1, b, sizeof b, &w),
                     WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_stream_decrypt_update(NULL, b, 1, b, sizeof b, &w),
                     WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_stream_seal(g_pk, 0, NULL, 0, NULL, 3, &ct, &len),
                     WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_stream_update_bound(NULL, 5), 0);
    ward_stream_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_sizes),
        cmocka_unit_test(test_round_trip_random),
        cmocka_unit_test(test_round_trip_default_chunk),
        cmocka_unit_test(test_exact_output_buffer),
        cmocka_unit_test(test_header_layout),
        cmocka_unit_test(test_fixture_ok),
        cmocka_unit_test(test_bad_header_enc_bit),
        cmocka_unit_test(test_bad_header_wrapped_key_bit),
        cmocka_unit_test(test_bad_header_chunk_size_bit),
        cmocka_unit_test(test_bad_header_aad_bit),
        cmocka_unit_test(test_bad_header_reserved),
        cmocka_unit_test(test_bad_magic),
        cmocka_unit_test(test_bad_version),
        cmocka_unit_test(test_bad_suite),
        cmocka_unit_test(test_bad_chunk_size_range),
        cmocka_unit_test(test_bad_aad_len),
        cmocka_unit_test(test_bad_chunk_bit),
        cmocka_unit_test(test_bad_tag_bit),
        cmocka_unit_test(test_truncated_last_chunk_missing),
        cmocka_unit_test(test_truncated_inside_last_chunk),
        cmocka_unit_test(test_truncated_inside_middle_chunk),
        cmocka_unit_test(test_truncated_inside_header),
        cmocka_unit_test(test_reordered_chunks),
        cmocka_unit_test(test_duplicated_chunk),
        cmocka_unit_test(test_dropped_middle_chunk),
        cmocka_unit_test(test_appended_bytes),
        cmocka_unit_test(test_other_slot_or_task),
        cmocka_unit_test(test_wrong_recipient_key),
        cmocka_unit_test(test_calls_after_error_and_final),
        cmocka_unit_test(test_output_too_small),
        cmocka_unit_test(test_argument_errors),
    };
    return cmocka_run_group_tests(tests, setup_group, teardown_fixture);
}
