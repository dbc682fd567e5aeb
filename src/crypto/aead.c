/* AES-GCM and ChaCha20-Poly1305 through EVP, with a keyed context reused across messages so that
 * the key schedule is computed once (the encrypted stream seals thousands of chunks per key). */
#include <limits.h>
#include <openssl/evp.h>
#include <stdlib.h>

#include "ward/crypto.h"

struct ward_aead {
    EVP_CIPHER_CTX *ctx;
    ward_aead_alg alg;
    size_t nonce_len; /* the IV length the context is currently set up for */
};

/* Per-message plaintext limits: GCM (NIST SP 800-38D) 2^39-256 bits; ChaCha20-Poly1305
 * (RFC 8439 2.8) 2^38-64 bytes. */
#define GCM_MAX_PT ((((uint64_t)1) << 36) - 32)
#define CHACHA_MAX_PT ((((uint64_t)1) << 38) - 64)
/* EVP takes int lengths; larger buffers go through in slices. */
#define SLICE ((size_t)1 << 30)

size_t ward_aead_key_len(ward_aead_alg alg)
{
    switch (alg) {
    case WARD_AEAD_AES_128_GCM: return 16;
    case WARD_AEAD_AES_256_GCM: return 32;
    case WARD_AEAD_CHACHA20_POLY1305: return 32;
    }
    return 0;
}

static const char *cipher_name(ward_aead_alg alg)
{
    switch (alg) {
    case WARD_AEAD_AES_128_GCM: return "AES-128-GCM";
    case WARD_AEAD_AES_256_GCM: return "AES-256-GCM";
    case WARD_AEAD_CHACHA20_POLY1305: return "ChaCha20-Poly1305";
    }
    return NULL;
}

ward_err ward_aead_new(ward_aead_alg alg, const uint8_t *key, size_t key_len, ward_aead **out)
{
    if (out == NULL || key == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "aead: NULL argument");
    *out = NULL;
    const char *name = cipher_name(alg);
    if (name == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "aead: unknown algorithm %d", (int)alg);
    if (key_len != ward_aead_key_len(alg))
        return ward_err_set(WARD_ERR_INVALID_ARG, "aead: %s needs a %zu-byte key, got %zu", name,
                            ward_aead_key_len(alg), key_len);

    ward_aead *a = calloc(1, sizeof *a);
    if (a == NULL)
        return ward_err_set(WARD_ERR_NOMEM, "aead: out of memory");
    a->alg = alg;
    a->nonce_len = WARD_AEAD_NONCE_LEN;
    EVP_CIPHER *cipher = EVP_CIPHER_fetch(NULL, name, NULL);
    a->ctx = EVP_CIPHER_CTX_new();
    if (cipher == NULL || a->ctx == NULL ||
        EVP_CipherInit_ex2(a->ctx, cipher, key, NULL, 1, NULL) != 1) {
        EVP_CIPHER_free(cipher);
        ward_aead_free(a);
        return ward_err_ossl(WARD_ERR_CRYPTO, "aead: %s setup failed", name);
    }
    EVP_CIPHER_free(cipher);
    *out = a;
    return WARD_OK;
}

void ward_aead_free(ward_aead *a)
{
    if (a == NULL)
        return;
    EVP_CIPHER_CTX_free(a->ctx); /* cleanses the key schedule */
    free(a);
}

static ward_err check_args(ward_aead *a, const uint8_t *nonce, size_t nonce_len,
                           const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t len,
                           const uint8_t *out, const uint8_t *tag)
{
    if (a == NULL || nonce == NULL || tag == NULL || (aad == NULL && aad_len != 0) ||
        ((in == NULL || out == NULL) && len != 0))
        return ward_err_set(WARD_ERR_INVALID_ARG, "aead: NULL argument");
    if (a->alg == WARD_AEAD_CHACHA20_POLY1305) {
        if (nonce_len != WARD_AEAD_NONCE_LEN)
            return ward_err_set(WARD_ERR_INVALID_ARG,
                                "aead: ChaCha20-Poly1305 needs a 12-byte nonce, got %zu",
                                nonce_len);
        if ((uint64_t)len > CHACHA_MAX_PT)
            return ward_err_set(WARD_ERR_OVERFLOW, "aead: message too long for one nonce");
    } else {
        if (nonce_len == 0 || nonce_len > 128)
            return ward_err_set(WARD_ERR_INVALID_ARG,
                                "aead: AES-GCM nonce of %zu bytes (1..128 allowed)", nonce_len);
        if ((uint64_t)len > GCM_MAX_PT)
            return ward_err_set(WARD_ERR_OVERFLOW, "aead: message too long for one nonce");
    }
    if (aad_len > INT_MAX)
        return ward_err_set(WARD_ERR_OVERFLOW, "aead: associated data too long");
    return WARD_OK;
}

static ward_err start(ward_aead *a, int enc, const uint8_t *nonce, size_t nonce_len,
                      const uint8_t *aad, size_t aad_len)
{
    if (nonce_len != a->nonce_len) {
        if (EVP_CIPHER_CTX_ctrl(a->ctx, EVP_CTRL_AEAD_SET_IVLEN, (int)nonce_len, NULL) != 1)
            return ward_err_ossl(WARD_ERR_CRYPTO, "aead: cannot set nonce length %zu",
                                 nonce_len);
        a->nonce_len = nonce_len;
    }
    if (EVP_CipherInit_ex2(a->ctx, NULL, NULL, nonce, enc, NULL) != 1)
        return ward_err_ossl(WARD_ERR_CRYPTO, "aead: cannot set nonce");
    int outl = 0;
    if (aad_len != 0 && EVP_CipherUpdate(a->ctx, NULL, &outl, aad, (int)aad_len) != 1)
        return ward_err_ossl(WARD_ERR_CRYPTO, "aead: associated data rejected");
    return WARD_OK;
}

static ward_err run(ward_aead *a, const uint8_t *in, size_t len, uint8_t *out)
{
    size_t done = 0;
    while (done < len) {
        size_t n = len - done > SLICE ? SLICE : len - done;
        int outl = 0;
        if (EVP_CipherUpdate(a->ctx, out + done, &outl, in + done, (int)n) != 1 ||
            (size_t)outl != n)
            return ward_err_ossl(WARD_ERR_CRYPTO, "aead: cipher update failed");
        done += n;
    }
    return WARD_OK;
}

ward_err ward_aead_seal(ward_aead *a, const uint8_t *nonce, size_t nonce_len, const uint8_t *aad,
                        size_t aad_len, const uint8_t *pt, size_t pt_len, uint8_t *ct,
                        uint8_t tag[WARD_AEAD_TAG_LEN])
{
    ward_err err = check_args(a, nonce, nonce_len, aad, aad_len, pt, pt_len, ct, tag);
    if (!err)
        err = start(a, 1, nonce, nonce_len, aad, aad_len);
    if (!err)
        err = run(a, pt, pt_len, ct);
    if (err)
        return err;
    int outl = 0;
    if (EVP_CipherFinal_ex(a->ctx, ct + pt_len, &outl) != 1 ||
        EVP_CIPHER_CTX_ctrl(a->ctx, EVP_CTRL_AEAD_GET_TAG, WARD_AEAD_TAG_LEN, tag) != 1)
        return ward_err_ossl(WARD_ERR_CRYPTO, "aead: seal failed");
    return WARD_OK;
}

ward_err ward_aead_open(ward_aead *a, const uint8_t *nonce, size_t nonce_len, const uint8_t *aad,
                        size_t aad_len, const uint8_t *ct, size_t ct_len,
                        const uint8_t tag[WARD_AEAD_TAG_LEN], uint8_t *pt)
{
    ward_err err = check_args(a, nonce, nonce_len, aad, aad_len, ct, ct_len, pt, tag);
    if (!err)
        err = start(a, 0, nonce, nonce_len, aad, aad_len);
    if (!err)
        err = run(a, ct, ct_len, pt);
    if (!err && EVP_CIPHER_CTX_ctrl(a->ctx, EVP_CTRL_AEAD_SET_TAG, WARD_AEAD_TAG_LEN,
                                    (void *)tag) != 1)
        err = ward_err_ossl(WARD_ERR_CRYPTO, "aead: cannot set tag");
    int outl = 0;
    if (!err && EVP_CipherFinal_ex(a->ctx, pt + ct_len, &outl) != 1)
        err = ward_err_set(WARD_ERR_AUTH, "aead: authentication failed (wrong key, nonce, "
                                          "associated data, or altered ciphertext)");
    if (err && pt != NULL)
        ward_wipe(pt, ct_len); /* never release unauthenticated plaintext */
    return err;
}
