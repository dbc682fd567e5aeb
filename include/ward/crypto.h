/* Cryptographic primitives: thin, length-checked wrappers over OpenSSL 3.0 EVP.
 * Nothing here implements a primitive; constructions (HPKE, the encrypted stream) build on these.
 * Every function returns WARD_OK or an error with ward_errmsg() set. */
#ifndef WARD_CRYPTO_H
#define WARD_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "ward/err.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- hashes, HMAC, HKDF ------------------------------------------------------------------ */

#define WARD_SHA256_LEN 32
#define WARD_SHA384_LEN 48
#define WARD_HASH_MAX_LEN 64

typedef enum ward_hash_alg { WARD_HASH_SHA256 = 1, WARD_HASH_SHA384 = 2 } ward_hash_alg;

/* Digest length of alg, 0 if alg is unknown. */
size_t ward_hash_len(ward_hash_alg alg);

/* out receives ward_hash_len(alg) bytes. */
ward_err ward_hash(ward_hash_alg alg, const void *data, size_t len, uint8_t *out);

typedef struct ward_hash_ctx ward_hash_ctx;
ward_err ward_hash_new(ward_hash_alg alg, ward_hash_ctx **out);
ward_err ward_hash_update(ward_hash_ctx *ctx, const void *data, size_t len);
/* Writes the digest; the context cannot be updated afterwards. */
ward_err ward_hash_final(ward_hash_ctx *ctx, uint8_t *out);
void ward_hash_free(ward_hash_ctx *ctx);

/* out receives ward_hash_len(alg) bytes. */
ward_err ward_hmac(ward_hash_alg alg, const uint8_t *key, size_t key_len, const void *data,
                   size_t len, uint8_t *out);

/* RFC 5869. prk receives ward_hash_len(alg) bytes. A NULL/empty salt means HashLen zeros. */
ward_err ward_hkdf_extract(ward_hash_alg alg, const uint8_t *salt, size_t salt_len,
                           const uint8_t *ikm, size_t ikm_len, uint8_t *prk);
/* out_len must be at most 255 * HashLen. */
ward_err ward_hkdf_expand(ward_hash_alg alg, const uint8_t *prk, size_t prk_len,
                          const uint8_t *info, size_t info_len, uint8_t *out, size_t out_len);
ward_err ward_hkdf(ward_hash_alg alg, const uint8_t *salt, size_t salt_len, const uint8_t *ikm,
                   size_t ikm_len, const uint8_t *info, size_t info_len, uint8_t *out,
                   size_t out_len);

/* ---- randomness, comparison, wiping ------------------------------------------------------- */

/* Cryptographically secure random bytes (OpenSSL's DRBG seeded from getrandom). */
ward_err ward_random(void *buf, size_t len);

/* 1 if the buffers are equal, 0 otherwise; time depends only on len. */
int ward_ct_equal(const void *a, const void *b, size_t len);

/* Wipes memory in a way the compiler cannot elide (OPENSSL_cleanse). NULL is allowed. */
void ward_wipe(void *p, size_t len);

/* ---- AEAD --------------------------------------------------------------------------------- */

#define WARD_AEAD_TAG_LEN 16
#define WARD_AEAD_NONCE_LEN 12

typedef enum ward_aead_alg {
    WARD_AEAD_AES_128_GCM = 1,
    WARD_AEAD_AES_256_GCM = 2,
    WARD_AEAD_CHACHA20_POLY1305 = 3
} ward_aead_alg;

/* Key length of alg in bytes, 0 if unknown. */
size_t ward_aead_key_len(ward_aead_alg alg);

/* A keyed AEAD context, reusable for many messages (each with its own nonce). Not thread-safe.
 * The key is copied into OpenSSL's context and wiped on free. */
typedef struct ward_aead ward_aead;
ward_err ward_aead_new(ward_aead_alg alg, const uint8_t *key, size_t key_len, ward_aead **out);
void ward_aead_free(ward_aead *aead);

/* Encrypts pt_len bytes to ct (same length; ct may equal pt) and writes a 16-byte tag.
 * Nonce: 12 bytes for ChaCha20-Poly1305; 1..128 bytes for AES-GCM (12 recommended; OpenSSL's
 * limit is 1024 bits). */
ward_err ward_aead_seal(ward_aead *aead, const uint8_t *nonce, size_t nonce_len,
                        const uint8_t *aad, size_t aad_len, const uint8_t *pt, size_t pt_len,
                        uint8_t *ct, uint8_t tag[WARD_AEAD_TAG_LEN]);

/* Decrypts and authenticates; returns WARD_ERR_AUTH if the tag does not match, in which case
 * the ct_len bytes at pt are wiped so that no unauthenticated plaintext is released.
 * pt may equal ct. */
ward_err ward_aead_open(ward_aead *aead, const uint8_t *nonce, size_t nonce_len,
                        const uint8_t *aad, size_t aad_len, const uint8_t *ct, size_t ct_len,
                        const uint8_t tag[WARD_AEAD_TAG_LEN], uint8_t *pt);

/* ---- X25519 (RFC 7748) on raw 32-byte keys ------------------------------------------------ */

#define WARD_X25519_LEN 32

/* pk = X25519(sk, 9). */
ward_err ward_x25519_public(const uint8_t sk[WARD_X25519_LEN], uint8_t pk[WARD_X25519_LEN]);
/* A fresh key pair from ward_random. */
ward_err ward_x25519_generate(uint8_t sk[WARD_X25519_LEN], uint8_t pk[WARD_X25519_LEN]);
/* shared = X25519(sk, peer_pk). Fails with WARD_ERR_VERIFY if the result is all zeros (peer sent
 * a low-order point), as RFC 7748 section 6.1 allows and RFC 9180 requires. */
ward_err ward_x25519(const uint8_t sk[WARD_X25519_LEN], const uint8_t peer_pk[WARD_X25519_LEN],
                     uint8_t shared[WARD_X25519_LEN]);

/* ---- asymmetric keys and signatures ------------------------------------------------------- */

typedef enum ward_key_type {
    WARD_KEY_NONE = 0,
    WARD_KEY_EC_P256,
    WARD_KEY_EC_P384,
    WARD_KEY_ED25519,
    WARD_KEY_X25519,
    WARD_KEY_RSA
} ward_key_type;

/* An opaque public or private key (wraps EVP_PKEY). Private material is wiped on free. */
typedef struct ward_pkey ward_pkey;

/* Generates a key of type (EC P-256/P-384, Ed25519, X25519; not RSA). */
ward_err ward_pkey_generate(ward_key_type type, ward_pkey **out);
/* DER SubjectPublicKeyInfo. */
ward_err ward_pkey_from_spki_der(const uint8_t *der, size_t len, ward_pkey **out);
/* PEM: "PUBLIC KEY", or a private key ("PRIVATE KEY" PKCS#8, "EC PRIVATE KEY"), unencrypted. */
ward_err ward_pkey_from_pem(const char *pem, size_t len, ward_pkey **out);
/* Raw public key: EC as an uncompressed SEC1 point (0x04||X||Y: 65 bytes for P-256, 97 for
 * P-384), Ed25519 and X25519 as 32 bytes. */
ward_err ward_pkey_from_raw_public(ward_key_type type, const uint8_t *raw, size_t len,
                                   ward_pkey **out);
/* Raw private key: EC scalar (32/48 bytes, big-endian), Ed25519/X25519 32-byte seeds. */
ward_err ward_pkey_from_raw_private(ward_key_type type, const uint8_t *raw, size_t len,
                                    ward_pkey **out);
/* RSA public key from big-endian modulus and exponent (as in JWKs and test vectors). */
ward_err ward_pkey_from_rsa_public(const uint8_t *n, size_t n_len, const uint8_t *e, size_t e_len,
                                   ward_pkey **out);
void ward_pkey_free(ward_pkey *key);

ward_key_type ward_pkey_type(const ward_pkey *key);
/* 1 if key holds private material. */
int ward_pkey_is_private(const ward_pkey *key);
/* A new handle holding only the public half. */
ward_err ward_pkey_public_only(const ward_pkey *key, ward_pkey **out);

/* Outputs allocated with malloc; the caller frees (private PEM: ward_wipe first). */
ward_err ward_pkey_spki_der(const ward_pkey *key, uint8_t **der, size_t *len);
/* SHA-256 of the DER SubjectPublicKeyInfo: the key's identity throughout Ward. */
ward_err ward_pkey_spki_sha256(const ward_pkey *key, uint8_t out[WARD_SHA256_LEN]);
ward_err ward_pkey_public_pem(const ward_pkey *key, char **pem, size_t *len);
ward_err ward_pkey_private_pem(const ward_pkey *key, char **pem, size_t *len);
/* Raw public key as ward_pkey_from_raw_public takes it; *len is in: capacity, out: length. */
ward_err ward_pkey_raw_public(const ward_pkey *key, uint8_t *out, size_t *len);

/* Signature encodings for ECDSA: DER (X9.62 SEQUENCE) or raw r||s (IEEE P1363, fixed width,
 * as in JWS ES256/ES384 and TEE quotes). Ignored for Ed25519 and RSA. */
typedef enum ward_sig_format { WARD_SIG_DER = 0, WARD_SIG_RAW = 1 } ward_sig_format;

/* Signs msg (hashed with alg; Ed25519 ignores alg: PureEdDSA). *sig is malloc'd. */
ward_err ward_sign(const ward_pkey *key, ward_hash_alg alg, ward_sig_format fmt, const void *msg,
                   size_t msg_len, uint8_t **sig, size_t *sig_len);

/* Verifies an ECDSA or Ed25519 signature: WARD_OK if valid, WARD_ERR_VERIFY if not (including
 * malformed or non-canonical encodings). */
ward_err ward_verify(const ward_pkey *key, ward_hash_alg alg, ward_sig_format fmt,
                     const void *msg, size_t msg_len, const uint8_t *sig, size_t sig_len);

/* RSA verification only (Ward never signs with RSA): PSS with MGF1 over the same hash and the
 * given salt length, and PKCS#1 v1.5. WARD_ERR_VERIFY if invalid. */
ward_err ward_verify_rsa_pss(const ward_pkey *key, ward_hash_alg alg, size_t salt_len,
                             const void *msg, size_t msg_len, const uint8_t *sig, size_t sig_len);
ward_err ward_verify_rsa_pkcs1(const ward_pkey *key, ward_hash_alg alg, const void *msg,
                               size_t msg_len, const uint8_t *sig, size_t sig_len);

/* Converts ECDSA signatures between DER and raw r||s for a curve of field size coord_len
 * (32 for P-256, 48 for P-384). Outputs malloc'd. */
ward_err ward_ecdsa_der_to_raw(const uint8_t *der, size_t der_len, size_t coord_len,
                               uint8_t **raw, size_t *raw_len);
ward_err ward_ecdsa_raw_to_der(const uint8_t *raw, size_t raw_len, uint8_t **der,
                               size_t *der_len);

#ifdef __cplusplus
}
#endif
#endif
