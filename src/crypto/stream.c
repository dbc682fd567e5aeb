/* The encrypted stream (include/ward/stream.h; byte layout in docs/formats.md, "Encrypted
 * stream"): an HPKE-wrapped random data key, then AES-256-GCM chunks in the STREAM
 * construction (nonce = 7 zero bytes || u32 BE chunk index || last-chunk flag), each with the
 * SHA-256 of the whole header as associated data.
 *
 * Speed: one keyed AEAD context per stream; whole chunks are sealed or opened straight from the
 * caller's input into the caller's output. Only a partial chunk and the one chunk held back
 * (until we know whether it is the last) are copied into the stream's own buffer. */
#include <stdlib.h>
#include <string.h>

#include "ward/crypto.h"
#include "ward/hpke.h"
#include "ward/stream.h"

#define MAGIC "WRDS"
#define MAGIC_LEN 4
#define SUITE_V1 1 /* HPKE X25519/HKDF-SHA256/AES-256-GCM wrap + AES-256-GCM STREAM */
#define HDR_FIXED 14 /* magic 4 | version 1 | suite 1 | reserved 2 | chunk_size 4 | aad_len 2 */
#define KEY_LEN 32
#define WRAPPED_LEN (KEY_LEN + WARD_HPKE_TAG_LEN)
#define HDR_TAIL (WARD_HPKE_ENC_LEN + WRAPPED_LEN)
#define HDR_MAX (HDR_FIXED + WARD_STREAM_MAX_AAD + HDR_TAIL)
#define TAG WARD_STREAM_TAG_LEN
#define MAX_CHUNKS ((uint64_t)UINT32_MAX + 1) /* chunk indices are 32 bits wide */

static const uint8_t wrap_info[] = "ward stream v1";
#define WRAP_INFO_LEN (sizeof wrap_info - 1)

enum dir { DIR_ENCRYPT = 1, DIR_DECRYPT = 2 };
enum state { ST_HEADER, ST_BODY, ST_DONE, ST_DEAD };

struct ward_stream {
    enum dir dir;
    enum state state;
    size_t chunk;     /* plaintext bytes per chunk */
    ward_aead *aead;  /* keyed with the data key */
    uint64_t counter; /* index of the next chunk to seal or open */
    uint8_t hdr_hash[WARD_SHA256_LEN];
    uint8_t *buf;     /* encrypt: held-back plaintext (chunk bytes); decrypt: held-back
                         ciphertext (chunk + TAG bytes) */
    size_t buf_len;
    size_t buf_cap;
    size_t hdr_len;   /* bytes of hdr present */
    size_t hdr_need;  /* decrypt: header length once known (HDR_FIXED until then) */
    uint8_t hdr[HDR_MAX];
    /* decrypt only */
    uint8_t sk[WARD_HPKE_SK_LEN]; /* wiped as soon as the data key is unwrapped */
    size_t expected_aad_len;
    uint8_t expected_aad[WARD_STREAM_MAX_AAD];
};

/* ---- helpers ------------------------------------------------------------------------------ */

static void put_be16(uint8_t *p, size_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put_be32(uint8_t *p, uint64_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static size_t get_be16(const uint8_t *p)
{
    return (size_t)p[0] << 8 | (size_t)p[1];
}

static size_t get_be32(const uint8_t *p)
{
    return (size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 | (size_t)p[3];
}

static int chunk_ok(size_t chunk)
{
    return chunk >= WARD_STREAM_MIN_CHUNK && chunk <= WARD_STREAM_MAX_CHUNK;
}

/* Kills the stream: every later call fails with WARD_ERR_STATE. Wipes what it holds. */
static ward_err die(ward_stream *s, ward_err err)
{
    s->state = ST_DEAD;
    ward_wipe(s->buf, s->buf_cap);
    s->buf_len = 0;
    ward_wipe(s->sk, sizeof s->sk);
    ward_aead_free(s->aead);
    s->aead = NULL;
    return err;
}

static ward_err check_live(const ward_stream *s, enum dir dir, const char *what)
{
    if (s->dir != dir)
        return ward_err_set(WARD_ERR_STATE, "stream: %s called on a %s stream", what,
                            s->dir == DIR_ENCRYPT ? "encrypting" : "decrypting");
    if (s->state == ST_DEAD)
        return ward_err_set(WARD_ERR_STATE, "stream: %s after an earlier error", what);
    if (s->state == ST_DONE)
        return ward_err_set(WARD_ERR_STATE, "stream: %s after the stream was finished", what);
    return WARD_OK;
}

static void chunk_nonce(uint64_t index, int last, uint8_t nonce[WARD_AEAD_NONCE_LEN])
{
    memset(nonce, 0, 7);
    put_be32(nonce + 7, index);
    nonce[11] = last ? 0x01 : 0x00;
}

/* Seals chunk s->counter from pt (len bytes) to out (len + TAG bytes). */
static ward_err seal_chunk(ward_stream *s, const uint8_t *pt, size_t len, int last, uint8_t *out)
{
    if (s->counter >= MAX_CHUNKS)
        return ward_err_set(WARD_ERR_OVERFLOW, "stream: more than 2^32 chunks");
    uint8_t nonce[WARD_AEAD_NONCE_LEN];
    chunk_nonce(s->counter, last, nonce);
    ward_err err = ward_aead_seal(s->aead, nonce, sizeof nonce, s->hdr_hash, sizeof s->hdr_hash,
                                  pt, len, out, out + len);
    if (err)
        return ward_err_wrap(err, "stream: chunk %llu", (unsigned long long)s->counter);
    s->counter++;
    return WARD_OK;
}

/* Opens chunk s->counter (ct_len >= TAG bytes) to out (ct_len - TAG bytes). On failure
 * ward_aead_open has wiped out. */
static ward_err open_chunk(ward_stream *s, const uint8_t *ct, size_t ct_len, int last,
                           uint8_t *out)
{
    if (s->counter >= MAX_CHUNKS)
        return ward_err_set(WARD_ERR_OVERFLOW, "stream: more than 2^32 chunks");
    uint8_t nonce[WARD_AEAD_NONCE_LEN];
    chunk_nonce(s->counter, last, nonce);
    size_t len = ct_len - TAG;
    ward_err err = ward_aead_open(s->aead, nonce, sizeof nonce, s->hdr_hash, sizeof s->hdr_hash,
                                  ct, len, ct + len, out);
    if (err == WARD_ERR_AUTH)
        return ward_err_set(WARD_ERR_AUTH,
                            "stream: chunk %llu failed authentication (altered, reordered, "
                            "duplicated, dropped or appended data)",
                            (unsigned long long)s->counter);
    if (err)
        return ward_err_wrap(err, "stream: chunk %llu", (unsigned long long)s->counter);
    s->counter++;
    return WARD_OK;
}

static ward_stream *stream_new(enum dir dir)
{
    ward_stream *s = calloc(1, sizeof *s);
    if (s != NULL)
        s->dir = dir;
    return s;
}

/* ---- encryption --------------------------------------------------------------------------- */

ward_err ward_stream_encrypt_init(const uint8_t recipient_pk[32], size_t chunk_size,
                                  const uint8_t *aad, size_t aad_len, ward_stream **out)
{
    if (out == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "stream: NULL output");
    *out = NULL;
    if (recipient_pk == NULL || (aad == NULL && aad_len != 0))
        return ward_err_set(WARD_ERR_INVALID_ARG, "stream: NULL argument");
    if (chunk_size == 0)
        chunk_size = WARD_STREAM_DEFAULT_CHUNK;
    if (!chunk_ok(chunk_size))
        return ward_err_set(WARD_ERR_INVALID_ARG,
                            "stream: chunk size %zu outside %u..%u bytes", chunk_size,
                            WARD_STREAM_MIN_CHUNK, WARD_STREAM_MAX_CHUNK);
    if (aad_len > WARD_STREAM_MAX_AAD)
        return ward_err_set(WARD_ERR_INVALID_ARG,
                            "stream: associated data of %zu bytes exceeds %u", aad_len,
                            WARD_STREAM_MAX_AAD);

    ward_stream *s = stream_new(DIR_ENCRYPT);
    if (s == NULL)
        return ward_err_set(WARD_ERR_NOMEM, "stream: out of memory");
    s->chunk = chunk_size;
    s->buf_cap = chunk_size;
    s->buf = malloc(s->buf_cap);
    if (s->buf == NULL) {
        ward_stream_free(s);
        return ward_err_set(WARD_ERR_NOMEM, "stream: out of memory");
    }

    uint8_t *h = s->hdr;
    memcpy(h, MAGIC, MAGIC_LEN);
    h[4] = WARD_STREAM_VERSION;
    h[5] = SUITE_V1;
    h[6] = 0;
    h[7] = 0;
    put_be32(h + 8, chunk_size);
    put_be16(h + 12, aad_len);
    if (aad_len != 0)
        memcpy(h + HDR_FIXED, aad, aad_len);
    size_t pre = HDR_FIXED + aad_len; /* the HPKE AAD: everything before enc */
    s->hdr_len = pre + HDR_TAIL;

    uint8_t key[KEY_LEN];
    ward_err err = ward_random(key, sizeof key);
    if (!err)
        err = ward_hpke_seal_base(WARD_HPKE_AES_256_GCM, recipient_pk, wrap_info, WRAP_INFO_LEN,
                                  h, pre, key, sizeof key, h + pre, h + pre + WARD_HPKE_ENC_LEN);
    if (!err)
        err = ward_aead_new(WARD_AEAD_AES_256_GCM, key, sizeof key, &s->aead);
    ward_wipe(key, sizeof key);
    if (!err)
        err = ward_hash(WARD_HASH_SHA256, s->hdr, s->hdr_len, s->hdr_hash);
    if (err) {
        ward_stream_free(s);
        return ward_err_wrap(err, "stream: cannot start encryption");
    }
    s->state = ST_BODY;
    *out = s;
    return WARD_OK;
}

ward_err ward_stream_header(const ward_stream *s, const uint8_t **header, size_t *header_len)
{
    if (s == NULL || header == NULL || header_len == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "stream: NULL argument");
    if (s->dir == DIR_DECRYPT && s->state == ST_HEADER)
        return ward_err_set(WARD_ERR_STATE, "stream: header not yet received");
    if (s->state == ST_DEAD)
        return ward_err_set(WARD_ERR_STATE, "stream: header of a failed stream");
    *header = s->hdr;
    *header_len = s->hdr_len;
    return WARD_OK;
}

/* a + b, or SIZE_MAX on overflow. */
static size_t sat_add(size_t a, size_t b)
{
    return a > SIZE_MAX - b ? SIZE_MAX : a + b;
}

size_t ward_stream_update_bound(const ward_stream *s, size_t in_len)
{
    if (s == NULL)
        return 0;
    size_t total = sat_add(s->buf_len, in_len);
    if (s->dir == DIR_DECRYPT) /* plaintext is never longer than the ciphertext */
        return total;
    if (total == SIZE_MAX)
        return SIZE_MAX;
    /* update + final together: every chunk, the last included (at least one). */
    size_t chunks = total == 0 ? 1 : (total - 1) / s->chunk + 1;
    if (chunks > SIZE_MAX / TAG)
        return SIZE_MAX;
    return sat_add(total, chunks * TAG);
}

ward_err ward_stream_encrypt_update(ward_stream *s, const uint8_t *in, size_t in_len,
                                    uint8_t *out, size_t out_cap, size_t *out_len)
{
    if (s == NULL || out_len == NULL || (in == NULL && in_len != 0))
        return ward_err_set(WARD_ERR_INVALID_ARG, "stream: NULL argument");
    *out_len = 0;
    ward_err err = check_live(s, DIR_ENCRYPT, "encrypt_update");
    if (err)
        return err;
    if (in_len > SIZE_MAX - s->buf_len)
        return die(s, ward_err_set(WARD_ERR_OVERFLOW, "stream: input too long"));
    size_t total = s->buf_len + in_len;
    /* Chunks this call emits: every whole chunk followed by at least one more byte. */
    size_t emit = total == 0 ? 0 : (total - 1) / s->chunk;
    size_t sealed_chunk = s->chunk + TAG;
    if (emit > SIZE_MAX / sealed_chunk)
        return die(s, ward_err_set(WARD_ERR_OVERFLOW, "stream: input too long"));
    size_t need = emit * sealed_chunk;
    if (need != 0 && out == NULL)
        return die(s, ward_err_set(WARD_ERR_INVALID_ARG, "stream: NULL output buffer"));
    if (out_cap < need)
        return die(s, ward_err_set(WARD_ERR_INVALID_ARG,
                                   "stream: output buffer of %zu bytes, %zu needed", out_cap,
                                   need));
    /* The last chunk (after these) must still have an index. */
    if ((uint64_t)emit >= MAX_CHUNKS - s->counter)
        return die(s, ward_err_set(WARD_ERR_OVERFLOW, "stream: more than 2^32 chunks"));

    size_t rem = in_len, done = 0;
    if (s->buf_len > 0) {
        size_t take = s->chunk - s->buf_len;
        if (take > rem)
            take = rem;
        if (take != 0)
            memcpy(s->buf + s->buf_len, in, take);
        s->buf_len += take;
        in += take;
        rem -= take;
        if (rem == 0)
            return WARD_OK; /* held back: it may be the last chunk */
        err = seal_chunk(s, s->buf, s->chunk, 0, out);
        if (err)
            return die(s, err);
        done += sealed_chunk;
        s->buf_len = 0;
    }
    while (rem > s->chunk) {
        err = seal_chunk(s, in, s->chunk, 0, out + done);
        if (err) {
            ward_wipe(out, done);
            return die(s, err);
        }
        done += sealed_chunk;
        in += s->chunk;
        rem -= s->chunk;
    }
    if (rem != 0)
        memcpy(s->buf, in, rem);
    s->buf_len = rem;
    *out_len = done;
    return WARD_OK;
}

ward_err ward_stream_encrypt_final(ward_stream *s, uint8_t *out, size_t out_cap,
                                   size_t *out_len)
{
    if (s == NULL || out == NULL || out_len == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "stream: NULL argument");
    *out_len = 0;
    ward_err err = check_live(s, DIR_ENCRYPT, "encrypt_final");
    if (err)
        return err;
    size_t need = s->buf_len + TAG;
    if (out_cap < need)
        return die(s, ward_err_set(WARD_ERR_INVALID_ARG,
                                   "stream: output buffer of %zu bytes, %zu needed", out_cap,
                                   need));
    err = seal_chunk(s, s->buf, s->buf_len, 1, out);
    if (err)
        return die(s, err);
    ward_wipe(s->buf, s->buf_len);
    s->buf_len = 0;
    s->state = ST_DONE;
    *out_len = need;
    return WARD_OK;
}

/* ---- decryption --------------------------------------------------------------------------- */

ward_err ward_stream_decrypt_init(const uint8_t recipient_sk[32], const uint8_t *expected_aad,
                                  size_t expected_aad_len, ward_stream **out)
{
    if (out == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "stream: NULL output");
    *out = NULL;
    if (recipient_sk == NULL || (expected_aad == NULL && expected_aad_len != 0))
        return ward_err_set(WARD_ERR_INVALID_ARG, "stream: NULL argument");
    if (expected_aad_len > WARD_STREAM_MAX_AAD)
        return ward_err_set(WARD_ERR_INVALID_ARG,
                            "stream: associated data of %zu bytes exceeds %u", expected_aad_len,
                            WARD_STREAM_MAX_AAD);
    ward_stream *s = stream_new(DIR_DECRYPT);
    if (s == NULL)
        return ward_err_set(WARD_ERR_NOMEM, "stream: out of memory");
    memcpy(s->sk, recipient_sk, sizeof s->sk);
    if (expected_aad_len != 0)
        memcpy(s->expected_aad, expected_aad, expected_aad_len);
    s->expected_aad_len = expected_aad_len;
    s->hdr_need = HDR_FIXED;
    s->state = ST_HEADER;
    *out = s;
    return WARD_OK;
}

/* Checks the fixed part of the header (HDR_FIXED bytes present) and sets hdr_need. */
static ward_err parse_fixed(ward_stream *s)
{
    const uint8_t *h = s->hdr;
    if (memcmp(h, MAGIC, MAGIC_LEN) != 0)
        return ward_err_set(WARD_ERR_FORMAT, "stream: not a Ward encrypted stream (bad magic)");
    if (h[4] != WARD_STREAM_VERSION)
        return ward_err_set(WARD_ERR_UNSUPPORTED, "stream: format version %u not supported",
                            (unsigned)h[4]);
    if (h[5] != SUITE_V1)
        return ward_err_set(WARD_ERR_UNSUPPORTED, "stream: cipher suite %u not supported",
                            (unsigned)h[5]);
    if (h[6] != 0 || h[7] != 0)
        return ward_err_set(WARD_ERR_FORMAT, "stream: reserved header bytes are not zero");
    size_t chunk = get_be32(h + 8);
    if (!chunk_ok(chunk))
        return ward_err_set(WARD_ERR_FORMAT, "stream: chunk size %zu outside %u..%u bytes",
                            chunk, WARD_STREAM_MIN_CHUNK, WARD_STREAM_MAX_CHUNK);
    size_t aad_len = get_be16(h + 12);
    if (aad_len > WARD_STREAM_MAX_AAD)
        return ward_err_set(WARD_ERR_FORMAT,
                            "stream: associated data of %zu bytes exceeds %u", aad_len,
                            WARD_STREAM_MAX_AAD);
    s->chunk = chunk;
    s->hdr_need = HDR_FIXED + aad_len + HDR_TAIL;
    return WARD_OK;
}

/* The whole header is present: check its associated data, unwrap the data key. */
static ward_err finish_header(ward_stream *s)
{
    size_t aad_len = get_be16(s->hdr + 12);
    if (aad_len != s->expected_aad_len ||
        !ward_ct_equal(s->hdr + HDR_FIXED, s->expected_aad, aad_len))
        return ward_err_set(WARD_ERR_VERIFY, "stream belongs to another task or slot "
                                             "(associated data differs)");
    size_t pre = HDR_FIXED + aad_len;
    uint8_t key[KEY_LEN];
    ward_err err = ward_hpke_open_base(WARD_HPKE_AES_256_GCM, s->sk, s->hdr + pre, wrap_info,
                                       WRAP_INFO_LEN, s->hdr, pre, s->hdr + pre + WARD_HPKE_ENC_LEN,
                                       WRAPPED_LEN, key);
    ward_wipe(s->sk, sizeof s->sk); /* not needed any more */
    if (err == WARD_ERR_AUTH || err == WARD_ERR_VERIFY)
        err = ward_err_set(WARD_ERR_AUTH, "stream: cannot unwrap the data key (wrong key or "
                                          "altered header)");
    else if (err)
        err = ward_err_wrap(err, "stream: cannot unwrap the data key");
    if (!err)
        err = ward_aead_new(WARD_AEAD_AES_256_GCM, key, sizeof key, &s->aead);
    ward_wipe(key, sizeof key);
    if (!err)
        err = ward_hash(WARD_HASH_SHA256, s->hdr, s->hdr_len, s->hdr_hash);
    if (err)
        return err;
    /* Only an authentic header makes us allocate its chunk size. */
    s->buf_cap = s->chunk + TAG;
    s->buf = malloc(s->buf_cap);
    if (s->buf == NULL) {
        s->buf_cap = 0;
        return ward_err_set(WARD_ERR_NOMEM, "stream: out of memory");
    }
    s->state = ST_BODY;
    return WARD_OK;
}

/* Consumes header bytes from *in; moves to ST_BODY once the header is complete and valid. */
static ward_err feed_header(ward_stream *s, const uint8_t **in, size_t *rem)
{
    while (s->state == ST_HEADER && *rem > 0) {
        size_t take = s->hdr_need - s->hdr_len;
        if (take > *rem)
            take = *rem;
        memcpy(s->hdr + s->hdr_len, *in, take);
        s->hdr_len += take;
        *in += take;
        *rem -= take;
        if (s->hdr_len < s->hdr_need)
            break;
        ward_err err = s->hdr_need == HDR_FIXED ? parse_fixed(s) : finish_header(s);
        if (err)
            return err;
    }
    return WARD_OK;
}

/* Byte i of the header as it will be once in[] is appended to what we have. */
static uint8_t hdr_byte(const ward_stream *s, const uint8_t *in, size_t i)
{
    return i < s->hdr_len ? s->hdr[i] : in[i - s->hdr_len];
}

/* Exactly what decrypt_update(in, in_len) will write if nothing fails: the plaintext of every
 * chunk that it completes and knows not to be the last. */
static size_t decrypt_need(const ward_stream *s, const uint8_t *in, size_t in_len)
{
    size_t chunk = s->chunk, buffered = s->buf_len, body = in_len;
    if (s->state == ST_HEADER) {
        if (s->hdr_len + in_len < HDR_FIXED)
            return 0;
        chunk = (size_t)hdr_byte(s, in, 8) << 24 | (size_t)hdr_byte(s, in, 9) << 16 |
                (size_t)hdr_byte(s, in, 10) << 8 | (size_t)hdr_byte(s, in, 11);
        size_t aad_len = (size_t)hdr_byte(s, in, 12) << 8 | (size_t)hdr_byte(s, in, 13);
        if (!chunk_ok(chunk) || aad_len > WARD_STREAM_MAX_AAD)
            return 0; /* the header will be refused */
        size_t hdr_rest = HDR_FIXED + aad_len + HDR_TAIL - s->hdr_len;
        if (in_len <= hdr_rest)
            return 0;
        body = in_len - hdr_rest;
        buffered = 0;
    }
    size_t total = buffered + body; /* <= buf_cap + in_len: cannot overflow for a real in[] */
    size_t chunks = total == 0 ? 0 : (total - 1) / (chunk + TAG);
    return chunks * chunk;
}

ward_err ward_stream_decrypt_update(ward_stream *s, const uint8_t *in, size_t in_len,
                                    uint8_t *out, size_t out_cap, size_t *out_len)
{
    if (s == NULL || out_len == NULL || (in == NULL && in_len != 0))
        return ward_err_set(WARD_ERR_INVALID_ARG, "stream: NULL argument");
    *out_len = 0;
    ward_err err = check_live(s, DIR_DECRYPT, "decrypt_update");
    if (err)
        return err;
    if (in_len > SIZE_MAX - s->buf_cap)
        return die(s, ward_err_set(WARD_ERR_OVERFLOW, "stream: input too long"));
    size_t need = decrypt_need(s, in, in_len);
    if (out_cap < need || (out == NULL && need != 0))
        return die(s, ward_err_set(WARD_ERR_INVALID_ARG,
                                   "stream: output buffer of %zu bytes, %zu needed", out_cap,
                                   need));
    size_t rem = in_len;
    err = feed_header(s, &in, &rem);
    if (err)
        return die(s, err);
    if (rem == 0)
        return WARD_OK;

    const size_t sealed_chunk = s->chunk + TAG;
    size_t done = 0;
    /* decrypt_need() said how much room the chunks below take; out_cap covers it. Checked
     * again per chunk all the same: never write past out_cap. */
    size_t room = need;
    if (s->buf_len > 0) {
        size_t take = sealed_chunk - s->buf_len;
        if (take > rem)
            take = rem;
        if (take != 0)
            memcpy(s->buf + s->buf_len, in, take);
        s->buf_len += take;
        in += take;
        rem -= take;
        if (rem == 0)
            return WARD_OK; /* held back: it may be the last chunk */
        if (room < s->chunk)
            return die(s, ward_err_set(WARD_ERR_STATE, "stream: output size miscomputed"));
        err = open_chunk(s, s->buf, sealed_chunk, 0, out);
        if (err)
            return die(s, err);
        room -= s->chunk;
        done += s->chunk;
        *out_len = done;
        s->buf_len = 0;
    }
    while (rem > sealed_chunk) {
        if (room < s->chunk)
            return die(s, ward_err_set(WARD_ERR_STATE, "stream: output size miscomputed"));
        err = open_chunk(s, in, sealed_chunk, 0, out + done);
        if (err)
            return die(s, err); /* *out_len counts only the chunks that authenticated */
        room -= s->chunk;
        done += s->chunk;
        *out_len = done;
        in += sealed_chunk;
        rem -= sealed_chunk;
    }
    memcpy(s->buf, in, rem); /* 1..sealed_chunk bytes */
    s->buf_len = rem;
    return WARD_OK;
}

ward_err ward_stream_decrypt_final(ward_stream *s, uint8_t *out, size_t out_cap,
                                   size_t *out_len)
{
    if (s == NULL || out_len == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "stream: NULL argument");
    *out_len = 0;
    ward_err err = check_live(s, DIR_DECRYPT, "decrypt_final");
    if (err)
        return err;
    if (s->state == ST_HEADER)
        return die(s, ward_err_set(WARD_ERR_TRUNCATED,
                                   "stream: input ends inside the header (%zu of %zu bytes)",
                                   s->hdr_len, s->hdr_need));
    if (s->buf_len == 0)
        return die(s, ward_err_set(WARD_ERR_TRUNCATED,
                                   "stream: input ends without its last chunk"));
    if (s->buf_len < TAG)
        return die(s, ward_err_set(WARD_ERR_TRUNCATED,
                                   "stream: input ends inside the last chunk's tag"));
    size_t need = s->buf_len - TAG;
    if ((out == NULL && need != 0) || out_cap < need)
        return die(s, ward_err_set(WARD_ERR_INVALID_ARG,
                                   "stream: output buffer of %zu bytes, %zu needed", out_cap,
                                   need));
    uint8_t empty[1];
    uint64_t index = s->counter;
    err = open_chunk(s, s->buf, s->buf_len, 1, out != NULL ? out : empty);
    if (err == WARD_ERR_AUTH && s->buf_len == s->chunk + TAG) {
        /* A whole chunk that is not marked last: is it an authentic middle chunk, i.e. was
         * the stream cut at a chunk boundary? Decrypt in place; wipe whatever comes out. */
        uint8_t nonce[WARD_AEAD_NONCE_LEN];
        chunk_nonce(index, 0, nonce);
        ward_err e2 = ward_aead_open(s->aead, nonce, sizeof nonce, s->hdr_hash,
                                     sizeof s->hdr_hash, s->buf, s->chunk, s->buf + s->chunk,
                                     s->buf);
        ward_err_clear();
        if (e2 == WARD_OK)
            err = ward_err_set(WARD_ERR_TRUNCATED,
                               "stream: input ends after chunk %llu, which is not the last "
                               "(last chunk missing)",
                               (unsigned long long)index);
        else
            err = ward_err_set(WARD_ERR_AUTH,
                               "stream: last chunk %llu failed authentication (altered, "
                               "truncated or extended stream)",
                               (unsigned long long)index);
    } else if (err == WARD_ERR_AUTH) {
        err = ward_err_set(WARD_ERR_AUTH,
                           "stream: last chunk %llu failed authentication (altered, truncated "
                           "or extended stream)",
                           (unsigned long long)index);
    }
    if (!err && need == 0 && index != 0)
        err = ward_err_set(WARD_ERR_FORMAT,
                           "stream: empty last chunk after data (not a canonical stream)");
    if (err)
        return die(s, err);
    ward_wipe(s->buf, s->buf_cap);
    s->buf_len = 0;
    s->state = ST_DONE;
    *out_len = need;
    return WARD_OK;
}

void ward_stream_free(ward_stream *s)
{
    if (s == NULL)
        return;
    ward_aead_free(s->aead);
    ward_wipe(s->buf, s->buf_cap);
    free(s->buf);
    ward_wipe(s, sizeof *s);
    free(s);
}

/* ---- one-shot ----------------------------------------------------------------------------- */

size_t ward_stream_encrypted_size(size_t pt_len, size_t chunk_size, size_t aad_len)
{
    if (chunk_size == 0)
        chunk_size = WARD_STREAM_DEFAULT_CHUNK;
    if (!chunk_ok(chunk_size) || aad_len > WARD_STREAM_MAX_AAD)
        return 0;
    size_t chunks = pt_len == 0 ? 1 : (pt_len - 1) / chunk_size + 1;
    if ((uint64_t)chunks > MAX_CHUNKS)
        return 0;
    if (chunks > SIZE_MAX / TAG)
        return 0;
    size_t hdr = HDR_FIXED + aad_len + HDR_TAIL;
    size_t tags = chunks * TAG;
    if (tags > SIZE_MAX - hdr || pt_len > SIZE_MAX - hdr - tags)
        return 0;
    return hdr + tags + pt_len;
}

ward_err ward_stream_seal(const uint8_t recipient_pk[32], size_t chunk_size, const uint8_t *aad,
                          size_t aad_len, const uint8_t *pt, size_t pt_len, uint8_t **out,
                          size_t *out_len)
{
    if (out == NULL || out_len == NULL || (pt == NULL && pt_len != 0))
        return ward_err_set(WARD_ERR_INVALID_ARG, "stream: NULL argument");
    *out = NULL;
    *out_len = 0;
    ward_stream *s = NULL;
    ward_err err = ward_stream_encrypt_init(recipient_pk, chunk_size, aad, aad_len, &s);
    if (err)
        return err;
    size_t total = ward_stream_encrypted_size(pt_len, chunk_size, aad_len);
    if (total == 0) {
        ward_stream_free(s);
        return ward_err_set(WARD_ERR_OVERFLOW, "stream: plaintext of %zu bytes is too long",
                            pt_len);
    }
    uint8_t *buf = malloc(total);
    if (buf == NULL) {
        ward_stream_free(s);
        return ward_err_set(WARD_ERR_NOMEM, "stream: out of memory");
    }
    const uint8_t *hdr = NULL;
    size_t hdr_len = 0, n1 = 0, n2 = 0;
    err = ward_stream_header(s, &hdr, &hdr_len);
    if (!err) {
        memcpy(buf, hdr, hdr_len);
        err = ward_stream_encrypt_update(s, pt, pt_len, buf + hdr_len, total - hdr_len, &n1);
    }
    if (!err)
        err = ward_stream_encrypt_final(s, buf + hdr_len + n1, total - hdr_len - n1, &n2);
    ward_stream_free(s);
    if (!err && hdr_len + n1 + n2 != total)
        err = ward_err_set(WARD_ERR_STATE, "stream: internal size mismatch");
    if (err) {
        free(buf);
        return err;
    }
    *out = buf;
    *out_len = total;
    return WARD_OK;
}

ward_err ward_stream_open(const uint8_t recipient_sk[32], const uint8_t *expected_aad,
                          size_t expected_aad_len, const uint8_t *in, size_t in_len,
                          uint8_t **pt, size_t *pt_len)
{
    if (pt == NULL || pt_len == NULL || (in == NULL && in_len != 0))
        return ward_err_set(WARD_ERR_INVALID_ARG, "stream: NULL argument");
    *pt = NULL;
    *pt_len = 0;
    ward_stream *s = NULL;
    ward_err err = ward_stream_decrypt_init(recipient_sk, expected_aad, expected_aad_len, &s);
    if (err)
        return err;
    size_t cap = in_len == 0 ? 1 : in_len; /* plaintext is shorter than the stream */
    uint8_t *buf = malloc(cap);
    if (buf == NULL) {
        ward_stream_free(s);
        return ward_err_set(WARD_ERR_NOMEM, "stream: out of memory");
    }
    size_t n1 = 0, n2 = 0;
    err = ward_stream_decrypt_update(s, in, in_len, buf, cap, &n1);
    if (!err)
        err = ward_stream_decrypt_final(s, buf + n1, cap - n1, &n2);
    ward_stream_free(s);
    if (err) {
        ward_wipe(buf, cap);
        free(buf);
        return err;
    }
    *pt = buf;
    *pt_len = n1 + n2;
    return WARD_OK;
}
