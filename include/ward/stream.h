/* The encrypted stream format (DESIGN section 4, step 4; docs/formats.md has the byte layout).
 *
 * A random 32-byte data key is wrapped with HPKE base mode (X25519, HKDF-SHA256, AES-256-GCM)
 * to the recipient's X25519 public key; the plaintext is cut into chunks of chunk_size bytes
 * (64 KiB by default), each sealed with AES-256-GCM under the data key in the STREAM
 * construction: nonce = 7 zero bytes || 32-bit big-endian chunk counter || last-chunk flag.
 * The header (with the caller's associated data: task id and slot) is the HPKE AAD, and its
 * SHA-256 is every chunk's AAD, so that a chunk cannot move to another stream, position or
 * header. Reordered, dropped, duplicated, truncated, extended or altered data, a wrong key or
 * a header for other associated data are all refused, and no plaintext of a bad chunk is
 * released.
 *
 * Streaming API: constant memory (about two chunks) for any size. One-shot API for buffers. */
#ifndef WARD_STREAM_H
#define WARD_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "ward/err.h"

#ifdef __cplusplus
extern "C" {
#endif

#define WARD_STREAM_VERSION 1
#define WARD_STREAM_DEFAULT_CHUNK (64u * 1024u)
#define WARD_STREAM_MIN_CHUNK 1024u
#define WARD_STREAM_MAX_CHUNK (16u * 1024u * 1024u)
#define WARD_STREAM_MAX_AAD 1024u
#define WARD_STREAM_TAG_LEN 16u

typedef struct ward_stream ward_stream;

/* ---- encryption ---------------------------------------------------------------------------- */

/* Starts a stream to recipient_pk. chunk_size 0 means the default; otherwise a value in
 * [WARD_STREAM_MIN_CHUNK, WARD_STREAM_MAX_CHUNK]. aad (at most WARD_STREAM_MAX_AAD bytes) is
 * carried in the header in clear and authenticated. */
ward_err ward_stream_encrypt_init(const uint8_t recipient_pk[32], size_t chunk_size,
                                  const uint8_t *aad, size_t aad_len, ward_stream **out);

/* The header to write before any chunk. Valid while the stream lives. */
ward_err ward_stream_header(const ward_stream *s, const uint8_t **header, size_t *header_len);

/* Upper bound of what one update/final call can write for in_len more input bytes. */
size_t ward_stream_update_bound(const ward_stream *s, size_t in_len);

/* Encrypts: consumes in_len bytes, writes whole sealed chunks to out (capacity out_cap, at
 * least ward_stream_update_bound(s, in_len)), sets *out_len. Holds back up to one chunk until
 * it knows whether it is the last. */
ward_err ward_stream_encrypt_update(ward_stream *s, const uint8_t *in, size_t in_len,
                                    uint8_t *out, size_t out_cap, size_t *out_len);
/* Seals the last chunk (possibly empty) and ends the stream. */
ward_err ward_stream_encrypt_final(ward_stream *s, uint8_t *out, size_t out_cap,
                                   size_t *out_len);

/* ---- decryption ---------------------------------------------------------------------------- */

/* Starts decrypting with the recipient's X25519 secret key. expected_aad is what the header
 * must carry (task id and slot): a header with any other associated data is refused. */
ward_err ward_stream_decrypt_init(const uint8_t recipient_sk[32], const uint8_t *expected_aad,
                                  size_t expected_aad_len, ward_stream **out);

/* Feeds stream bytes (header first, then chunks, split anywhere). Writes the plaintext of every
 * chunk known not to be the last; out_cap must be at least ward_stream_update_bound(s, in_len).
 * On any error the stream is dead: every later call fails with WARD_ERR_STATE. */
ward_err ward_stream_decrypt_update(ward_stream *s, const uint8_t *in, size_t in_len,
                                    uint8_t *out, size_t out_cap, size_t *out_len);
/* Authenticates the last chunk and writes its plaintext. Fails with WARD_ERR_TRUNCATED or
 * WARD_ERR_AUTH if the stream did not end with a valid last chunk. Only after final returns
 * WARD_OK is the whole plaintext authentic. */
ward_err ward_stream_decrypt_final(ward_stream *s, uint8_t *out, size_t out_cap,
                                   size_t *out_len);

/* Wipes keys and buffers. NULL allowed. */
void ward_stream_free(ward_stream *s);

/* ---- one-shot ------------------------------------------------------------------------------- */

/* Size of the whole encrypted stream for pt_len bytes, or 0 on overflow or bad chunk size. */
size_t ward_stream_encrypted_size(size_t pt_len, size_t chunk_size, size_t aad_len);

/* *out malloc'd. */
ward_err ward_stream_seal(const uint8_t recipient_pk[32], size_t chunk_size, const uint8_t *aad,
                          size_t aad_len, const uint8_t *pt, size_t pt_len, uint8_t **out,
                          size_t *out_len);
ward_err ward_stream_open(const uint8_t recipient_sk[32], const uint8_t *expected_aad,
                          size_t expected_aad_len, const uint8_t *in, size_t in_len,
                          uint8_t **pt, size_t *pt_len);

#ifdef __cplusplus
}
#endif
#endif
