/* SHA-2, HMAC and HKDF (RFC 5869) through EVP. */
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <stdlib.h>

#include "ward/crypto.h"

struct ward_hash_ctx {
    EVP_MD_CTX *md;
    ward_hash_alg alg;
    int finished;
};

size_t ward_hash_len(ward_hash_alg alg)
{
    switch (alg) {
    case WARD_HASH_SHA256: return WARD_SHA256_LEN;
    case WARD_HASH_SHA384: return WARD_SHA384_LEN;
    }
    return 0;
}

static const char *md_name(ward_hash_alg alg)
{
    switch (alg) {
    case WARD_HASH_SHA256: return "SHA256";
    case WARD_HASH_SHA384: return "SHA384";
    }
    return NULL;
}

/* The EVP_MD objects are fetched once per call; fetching is cheap next to hashing and keeps the
 * code free of global state. */
static ward_err fetch_md(ward_hash_alg alg, EVP_MD **out)
{
    const char *name = md_name(alg);
    if (name == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "hash: unknown algorithm %d", (int)alg);
    *out = EVP_MD_fetch(NULL, name, NULL);
    if (*out == NULL)
        return ward_err_ossl(WARD_ERR_CRYPTO, "hash: %s unavailable", name);
    return WARD_OK;
}

ward_err ward_hash_new(ward_hash_alg alg, ward_hash_ctx **out)
{
    if (out == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "hash: NULL output");
    *out = NULL;
    EVP_MD *md = NULL;
    ward_err err = fetch_md(alg, &md);
    if (err)
        return err;
    ward_hash_ctx *ctx = calloc(1, sizeof *ctx);
    if (ctx == NULL) {
        EVP_MD_free(md);
        return ward_err_set(WARD_ERR_NOMEM, "hash: out of memory");
    }
    ctx->alg = alg;
    ctx->md = EVP_MD_CTX_new();
    if (ctx->md == NULL || EVP_DigestInit_ex(ctx->md, md, NULL) != 1) {
        EVP_MD_free(md);
        ward_hash_free(ctx);
        return ward_err_ossl(WARD_ERR_CRYPTO, "hash: init failed");
    }
    EVP_MD_free(md);
    *out = ctx;
    return WARD_OK;
}

ward_err ward_hash_update(ward_hash_ctx *ctx, const void *data, size_t len)
{
    if (ctx == NULL || (data == NULL && len != 0))
        return ward_err_set(WARD_ERR_INVALID_ARG, "hash: NULL argument");
    if (ctx->finished)
        return ward_err_set(WARD_ERR_STATE, "hash: update after final");
    if (len != 0 && EVP_DigestUpdate(ctx->md, data, len) != 1)
        return ward_err_ossl(WARD_ERR_CRYPTO, "hash: update failed");
    return WARD_OK;
}

ward_err ward_hash_final(ward_hash_ctx *ctx, uint8_t *out)
{
    if (ctx == NULL || out == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "hash: NULL argument");
    if (ctx->finished)
        return ward_err_set(WARD_ERR_STATE, "hash: final called twice");
    ctx->finished = 1;
    if (EVP_DigestFinal_ex(ctx->md, out, NULL) != 1)
        return ward_err_ossl(WARD_ERR_CRYPTO, "hash: final failed");
    return WARD_OK;
}

void ward_hash_free(ward_hash_ctx *ctx)
{
    if (ctx == NULL)
        return;
    EVP_MD_CTX_free(ctx->md);
    free(ctx);
}

ward_err ward_hash(ward_hash_alg alg, const void *data, size_t len, uint8_t *out)
{
    if ((data == NULL && len != 0) || out == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "hash: NULL argument");
    EVP_MD *md = NULL;
    ward_err err = fetch_md(alg, &md);
    if (err)
        return err;
    int ok = EVP_Digest(data, len, out, NULL, md, NULL);
    EVP_MD_free(md);
    if (ok != 1)
        return ward_err_ossl(WARD_ERR_CRYPTO, "hash: digest failed");
    return WARD_OK;
}

ward_err ward_hmac(ward_hash_alg alg, const uint8_t *key, size_t key_len, const void *data,
                   size_t len, uint8_t *out)
{
    if ((key == NULL && key_len != 0) || (data == NULL && len != 0) || out == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "hmac: NULL argument");
    const char *name = md_name(alg);
    if (name == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "hmac: unknown hash %d", (int)alg);
    /* EVP_Q_mac wants a non-NULL key pointer even for an empty key. */
    static const uint8_t empty[1];
    size_t out_len = 0;
    if (EVP_Q_mac(NULL, "HMAC", NULL, name, NULL, key_len ? key : empty, key_len, data, len, out,
                  ward_hash_len(alg), &out_len) == NULL)
        return ward_err_ossl(WARD_ERR_CRYPTO, "hmac: failed");
    return WARD_OK;
}

/* One HKDF call through the EVP_KDF interface; mode selects extract-only, expand-only or both. */
static ward_err hkdf_run(ward_hash_alg alg, int mode, const uint8_t *salt, size_t salt_len,
                         const uint8_t *key, size_t key_len, const uint8_t *info, size_t info_len,
                         uint8_t *out, size_t out_len)
{
    const char *name = md_name(alg);
    if (name == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "hkdf: unknown hash %d", (int)alg);
    if ((salt == NULL && salt_len != 0) || (key == NULL && key_len != 0) ||
        (info == NULL && info_len != 0) || out == NULL || out_len == 0)
        return ward_err_set(WARD_ERR_INVALID_ARG, "hkdf: NULL argument or empty output");

    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    EVP_KDF_CTX *kctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    EVP_KDF_free(kdf);
    if (kctx == NULL)
        return ward_err_ossl(WARD_ERR_CRYPTO, "hkdf: unavailable");

    /* OpenSSL rejects a zero-length key; RFC 5869 allows empty IKM (Wycheproof tests it), and
     * HMAC with an empty key equals HMAC with one zero byte... only for extract's salt, not
     * for IKM. Pass a valid pointer with length 0 where OpenSSL accepts it. */
    static uint8_t empty[1];
    OSSL_PARAM params[6];
    size_t i = 0;
    params[i++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)name, 0);
    params[i++] = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
    params[i++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
                                                    key_len ? (void *)key : empty, key_len);
    if (salt_len != 0)
        params[i++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt,
                                                        salt_len);
    if (info_len != 0)
        params[i++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info,
                                                        info_len);
    params[i] = OSSL_PARAM_construct_end();

    ward_err err = WARD_OK;
    if (EVP_KDF_derive(kctx, out, out_len, params) != 1)
        err = ward_err_ossl(WARD_ERR_CRYPTO, "hkdf: derive failed");
    EVP_KDF_CTX_free(kctx);
    return err;
}

ward_err ward_hkdf_extract(ward_hash_alg alg, const uint8_t *salt, size_t salt_len,
                           const uint8_t *ikm, size_t ikm_len, uint8_t *prk)
{
    return hkdf_run(alg, EVP_KDF_HKDF_MODE_EXTRACT_ONLY, salt, salt_len, ikm, ikm_len, NULL, 0,
                    prk, ward_hash_len(alg));
}

ward_err ward_hkdf_expand(ward_hash_alg alg, const uint8_t *prk, size_t prk_len,
                          const uint8_t *info, size_t info_len, uint8_t *out, size_t out_len)
{
    size_t hl = ward_hash_len(alg);
    if (hl == 0)
        return ward_err_set(WARD_ERR_INVALID_ARG, "hkdf: unknown hash %d", (int)alg);
    if (out_len > 255 * hl)
        return ward_err_set(WARD_ERR_OVERFLOW, "hkdf: output of %zu bytes exceeds 255*HashLen",
                            out_len);
    if (prk_len < hl)
        return ward_err_set(WARD_ERR_INVALID_ARG, "hkdf: PRK shorter than HashLen");
    return hkdf_run(alg, EVP_KDF_HKDF_MODE_EXPAND_ONLY, NULL, 0, prk, prk_len, info, info_len,
                    out, out_len);
}

ward_err ward_hkdf(ward_hash_alg alg, const uint8_t *salt, size_t salt_len, const uint8_t *ikm,
                   size_t ikm_len, const uint8_t *info, size_t info_len, uint8_t *out,
                   size_t out_len)
{
    size_t hl = ward_hash_len(alg);
    if (hl == 0)
        return ward_err_set(WARD_ERR_INVALID_ARG, "hkdf: unknown hash %d", (int)alg);
    if (out_len > 255 * hl)
        return ward_err_set(WARD_ERR_OVERFLOW, "hkdf: output of %zu bytes exceeds 255*HashLen",
                            out_len);
    uint8_t prk[WARD_HASH_MAX_LEN];
    ward_err err = ward_hkdf_extract(alg, salt, salt_len, ikm, ikm_len, prk);
    if (!err)
        err = ward_hkdf_expand(alg, prk, hl, info, info_len, out, out_len);
    ward_wipe(prk, sizeof prk);
    return err;
}
