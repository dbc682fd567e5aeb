/* X25519 (RFC 7748) on raw 32-byte keys, through EVP. */
#include <openssl/evp.h>

#include "ward/crypto.h"

static ward_err load(int priv, const uint8_t k[WARD_X25519_LEN], EVP_PKEY **out)
{
    *out = priv ? EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, k, WARD_X25519_LEN)
                : EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, k, WARD_X25519_LEN);
    if (*out == NULL)
        return ward_err_ossl(WARD_ERR_CRYPTO, "x25519: cannot load %s key",
                             priv ? "private" : "public");
    return WARD_OK;
}

ward_err ward_x25519_public(const uint8_t sk[WARD_X25519_LEN], uint8_t pk[WARD_X25519_LEN])
{
    if (sk == NULL || pk == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "x25519: NULL argument");
    EVP_PKEY *key = NULL;
    ward_err err = load(1, sk, &key);
    if (err)
        return err;
    size_t len = WARD_X25519_LEN;
    if (EVP_PKEY_get_raw_public_key(key, pk, &len) != 1 || len != WARD_X25519_LEN)
        err = ward_err_ossl(WARD_ERR_CRYPTO, "x25519: cannot compute public key");
    EVP_PKEY_free(key);
    return err;
}

ward_err ward_x25519_generate(uint8_t sk[WARD_X25519_LEN], uint8_t pk[WARD_X25519_LEN])
{
    if (sk == NULL || pk == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "x25519: NULL argument");
    ward_err err = ward_random(sk, WARD_X25519_LEN);
    if (!err)
        err = ward_x25519_public(sk, pk);
    if (err)
        ward_wipe(sk, WARD_X25519_LEN);
    return err;
}

ward_err ward_x25519(const uint8_t sk[WARD_X25519_LEN], const uint8_t peer_pk[WARD_X25519_LEN],
                     uint8_t shared[WARD_X25519_LEN])
{
    if (sk == NULL || peer_pk == NULL || shared == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "x25519: NULL argument");
    EVP_PKEY *priv = NULL, *peer = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    ward_err err = load(1, sk, &priv);
    if (!err)
        err = load(0, peer_pk, &peer);
    if (!err) {
        ctx = EVP_PKEY_CTX_new_from_pkey(NULL, priv, NULL);
        size_t len = WARD_X25519_LEN;
        if (ctx == NULL || EVP_PKEY_derive_init(ctx) != 1)
            err = ward_err_ossl(WARD_ERR_CRYPTO, "x25519: derive setup failed");
        else if (EVP_PKEY_derive_set_peer(ctx, peer) != 1)
            err = ward_err_ossl(WARD_ERR_VERIFY, "x25519: peer key rejected");
        /* OpenSSL fails the derivation when the result is all zeros (a low-order peer point). */
        else if (EVP_PKEY_derive(ctx, shared, &len) != 1 || len != WARD_X25519_LEN)
            err = ward_err_ossl(WARD_ERR_VERIFY,
                                "x25519: shared secret is zero (low-order peer public key)");
    }
    /* Belt and braces: never hand out an all-zero secret whatever the library did. */
    if (!err) {
        static const uint8_t zero[WARD_X25519_LEN];
        if (ward_ct_equal(shared, zero, WARD_X25519_LEN))
            err = ward_err_set(WARD_ERR_VERIFY,
                               "x25519: shared secret is zero (low-order peer public key)");
    }
    if (err)
        ward_wipe(shared, WARD_X25519_LEN);
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(priv);
    EVP_PKEY_free(peer);
    return err;
}
