/* HPKE (RFC 9180), base mode, with DHKEM(X25519, HKDF-SHA256) and HKDF-SHA256, on Ward's
 * primitives (OpenSSL 3.0 has no HPKE). AEADs: AES-128-GCM, AES-256-GCM (Ward's default),
 * ChaCha20-Poly1305, and export-only. Keys are raw 32-byte X25519 keys, as RFC 9180 serialises
 * them. */
#ifndef WARD_HPKE_H
#define WARD_HPKE_H

#include <stddef.h>
#include <stdint.h>

#include "ward/err.h"

#ifdef __cplusplus
extern "C" {
#endif

#define WARD_HPKE_KEM_X25519_SHA256 0x0020
#define WARD_HPKE_KDF_HKDF_SHA256 0x0001
#define WARD_HPKE_ENC_LEN 32  /* Nenc */
#define WARD_HPKE_PK_LEN 32   /* Npk */
#define WARD_HPKE_SK_LEN 32   /* Nsk */
#define WARD_HPKE_TAG_LEN 16  /* Nt */

/* AEAD identifiers as registered in RFC 9180 section 7.3. */
typedef enum ward_hpke_aead {
    WARD_HPKE_AES_128_GCM = 0x0001,
    WARD_HPKE_AES_256_GCM = 0x0002,
    WARD_HPKE_CHACHA20_POLY1305 = 0x0003,
    WARD_HPKE_EXPORT_ONLY = 0xFFFF
} ward_hpke_aead;

/* A sender or recipient context: key, base nonce, sequence number, exporter secret.
 * Secrets are wiped on free. Not thread-safe. */
typedef struct ward_hpke_ctx ward_hpke_ctx;

/* DeriveKeyPair (RFC 9180 7.1.3): deterministic key pair from at least 32 bytes of ikm. */
ward_err ward_hpke_derive_keypair(const uint8_t *ikm, size_t ikm_len,
                                  uint8_t sk[WARD_HPKE_SK_LEN], uint8_t pk[WARD_HPKE_PK_LEN]);
/* A fresh random key pair. */
ward_err ward_hpke_generate_keypair(uint8_t sk[WARD_HPKE_SK_LEN], uint8_t pk[WARD_HPKE_PK_LEN]);

/* SetupBaseS: encapsulates to pk_r, writes enc, returns a sender context. */
ward_err ward_hpke_setup_sender(ward_hpke_aead aead, const uint8_t pk_r[WARD_HPKE_PK_LEN],
                                const uint8_t *info, size_t info_len,
                                uint8_t enc[WARD_HPKE_ENC_LEN], ward_hpke_ctx **out);
/* As above with the ephemeral key derived from ikm_e: only for known-answer tests. */
ward_err ward_hpke_setup_sender_derand(ward_hpke_aead aead, const uint8_t pk_r[WARD_HPKE_PK_LEN],
                                       const uint8_t *info, size_t info_len, const uint8_t *ikm_e,
                                       size_t ikm_e_len, uint8_t enc[WARD_HPKE_ENC_LEN],
                                       ward_hpke_ctx **out);
/* SetupBaseR. Fails with WARD_ERR_VERIFY if enc is a low-order point. */
ward_err ward_hpke_setup_recipient(ward_hpke_aead aead, const uint8_t sk_r[WARD_HPKE_SK_LEN],
                                   const uint8_t enc[WARD_HPKE_ENC_LEN], const uint8_t *info,
                                   size_t info_len, ward_hpke_ctx **out);
void ward_hpke_free(ward_hpke_ctx *ctx);

/* Seal/Open with the context's next sequence number. ct has pt_len + WARD_HPKE_TAG_LEN bytes.
 * Open returns WARD_ERR_AUTH on a bad tag (the sequence number is not advanced, pt wiped).
 * Both fail with WARD_ERR_UNSUPPORTED on an export-only context, WARD_ERR_OVERFLOW when the
 * sequence number is exhausted. */
ward_err ward_hpke_seal(ward_hpke_ctx *ctx, const uint8_t *aad, size_t aad_len,
                        const uint8_t *pt, size_t pt_len, uint8_t *ct);
ward_err ward_hpke_open(ward_hpke_ctx *ctx, const uint8_t *aad, size_t aad_len,
                        const uint8_t *ct, size_t ct_len, uint8_t *pt);

/* Secret export (RFC 9180 5.3): out_len bytes, at most 255 * 32. */
ward_err ward_hpke_export(const ward_hpke_ctx *ctx, const uint8_t *exporter_context,
                          size_t ctx_len, uint8_t *out, size_t out_len);

/* Single-shot: encrypt one message to pk_r (ct: pt_len + 16 bytes) / decrypt it. */
ward_err ward_hpke_seal_base(ward_hpke_aead aead, const uint8_t pk_r[WARD_HPKE_PK_LEN],
                             const uint8_t *info, size_t info_len, const uint8_t *aad,
                             size_t aad_len, const uint8_t *pt, size_t pt_len,
                             uint8_t enc[WARD_HPKE_ENC_LEN], uint8_t *ct);
ward_err ward_hpke_open_base(ward_hpke_aead aead, const uint8_t sk_r[WARD_HPKE_SK_LEN],
                             const uint8_t enc[WARD_HPKE_ENC_LEN], const uint8_t *info,
                             size_t info_len, const uint8_t *aad, size_t aad_len,
                             const uint8_t *ct, size_t ct_len, uint8_t *pt);

#ifdef __cplusplus
}
#endif
#endif
