/* Sealed blobs: AES-256-GCM under a sealing key, header naming the key (docs/formats.md). */
#include <stdlib.h>
#include <string.h>

#include "storage/storage_internal.h"
#include "ward/crypto.h"

#define SEAL_MAGIC "WSLB"
#define SEAL_VERSION 1u
#define SEAL_HDR 34u /* magic 4, version 2, policy 1, reserved 1, svn 2, key_version 4,
                        nonce 12, length 8 */

_Static_assert(SEAL_HDR + WARD_AEAD_TAG_LEN == WARD_SEAL_OVERHEAD, "overhead");

static ward_err check_meta(const ward_seal_meta *meta)
{
    if (meta->policy != WARD_SEAL_MEASUREMENT && meta->policy != WARD_SEAL_SIGNER)
        return ward_err_set(WARD_ERR_INVALID_ARG, "seal: unknown policy %d", (int)meta->policy);
    return WARD_OK;
}

/* Builds GCM's associated data: header || caller aad. */
static ward_err make_aad(const uint8_t *hdr, const uint8_t *aad, size_t aad_len, uint8_t **out,
                         size_t *out_len)
{
    if (aad_len > SIZE_MAX - SEAL_HDR)
        return ward_err_set(WARD_ERR_OVERFLOW, "seal: associated data too long");
    uint8_t *a = malloc(SEAL_HDR + aad_len);
    if (a == NULL)
        return ward_err_set(WARD_ERR_NOMEM, "seal: out of memory");
    memcpy(a, hdr, SEAL_HDR);
    if (aad_len)
        memcpy(a + SEAL_HDR, aad, aad_len);
    *out = a;
    *out_len = SEAL_HDR + aad_len;
    return WARD_OK;
}

ward_err ward_seal(const uint8_t key[WARD_STORAGE_KEY_LEN], const ward_seal_meta *meta,
                   const uint8_t *aad, size_t aad_len, const uint8_t *pt, size_t pt_len,
                   uint8_t **blob, size_t *blob_len)
{
    if (key == NULL || meta == NULL || blob == NULL || blob_len == NULL ||
        (aad == NULL && aad_len) || (pt == NULL && pt_len))
        return ward_err_set(WARD_ERR_INVALID_ARG, "seal: NULL argument");
    *blob = NULL;
    *blob_len = 0;
    ward_err err = check_meta(meta);
    if (err)
        return err;
    if (pt_len > WARD_SEAL_MAX_PT)
        return ward_err_set(WARD_ERR_OVERFLOW, "seal: %zu bytes exceed the limit", pt_len);
    size_t total = pt_len + WARD_SEAL_OVERHEAD;
    uint8_t *b = malloc(total);
    if (b == NULL)
        return ward_err_set(WARD_ERR_NOMEM, "seal: out of memory");
    memcpy(b, SEAL_MAGIC, 4);
    st_put16(b + 4, SEAL_VERSION);
    b[6] = (uint8_t)meta->policy;
    b[7] = 0;
    st_put16(b + 8, meta->svn);
    st_put32(b + 10, meta->key_version);
    err = ward_random(b + 14, WARD_AEAD_NONCE_LEN);
    st_put64(b + 26, (uint64_t)pt_len);
    uint8_t *a = NULL;
    size_t a_len = 0;
    ward_aead *g = NULL;
    if (!err)
        err = make_aad(b, aad, aad_len, &a, &a_len);
    if (!err)
        err = ward_aead_new(WARD_AEAD_AES_256_GCM, key, WARD_STORAGE_KEY_LEN, &g);
    if (!err) {
        static const uint8_t none[1];
        err = ward_aead_seal(g, b + 14, WARD_AEAD_NONCE_LEN, a, a_len, pt_len ? pt : none, pt_len,
                             b + SEAL_HDR, b + SEAL_HDR + pt_len);
    }
    ward_aead_free(g);
    free(a);
    if (err) {
        ward_wipe(b, total);
        free(b);
        return err;
    }
    *blob = b;
    *blob_len = total;
    return WARD_OK;
}

static ward_err parse(const uint8_t *b, size_t len, ward_seal_meta *meta, size_t *pt_len)
{
    if (b == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "unseal: NULL blob");
    if (len < 6)
        return ward_err_set(WARD_ERR_TRUNCATED, "unseal: blob of %zu bytes is too short", len);
    if (memcmp(b, SEAL_MAGIC, 4) != 0)
        return ward_err_set(WARD_ERR_FORMAT, "unseal: not a sealed blob (bad magic)");
    uint16_t v = st_get16(b + 4);
    if (v != SEAL_VERSION)
        return ward_err_set(WARD_ERR_UNSUPPORTED, "unseal: sealed blob version %u (this build "
                                                  "reads version %u)", v, SEAL_VERSION);
    if (len < WARD_SEAL_OVERHEAD)
        return ward_err_set(WARD_ERR_TRUNCATED, "unseal: blob of %zu bytes is too short", len);
    if (b[6] != WARD_SEAL_MEASUREMENT && b[6] != WARD_SEAL_SIGNER)
        return ward_err_set(WARD_ERR_FORMAT, "unseal: unknown policy %u", b[6]);
    if (b[7] != 0)
        return ward_err_set(WARD_ERR_FORMAT, "unseal: reserved byte is not zero");
    uint64_t n = st_get64(b + 26);
    if (n > WARD_SEAL_MAX_PT || n != (uint64_t)(len - WARD_SEAL_OVERHEAD))
        return ward_err_set(len - WARD_SEAL_OVERHEAD < n ? WARD_ERR_TRUNCATED : WARD_ERR_FORMAT,
                            "unseal: blob says %llu bytes of ciphertext, has %zu",
                            (unsigned long long)n, len - WARD_SEAL_OVERHEAD);
    meta->policy = (ward_seal_policy)b[6];
    meta->svn = st_get16(b + 8);
    meta->key_version = st_get32(b + 10);
    *pt_len = (size_t)n;
    return WARD_OK;
}

ward_err ward_seal_inspect(const uint8_t *blob, size_t blob_len, ward_seal_meta *meta)
{
    size_t n;
    if (meta == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "unseal: NULL argument");
    return parse(blob, blob_len, meta, &n);
}

ward_err ward_unseal(const uint8_t key[WARD_STORAGE_KEY_LEN], const uint8_t *aad,
                     size_t aad_len, const uint8_t *blob, size_t blob_len, uint8_t **pt,
                     size_t *pt_len, ward_seal_meta *meta)
{
    if (key == NULL || pt == NULL || pt_len == NULL || (aad == NULL && aad_len))
        return ward_err_set(WARD_ERR_INVALID_ARG, "unseal: NULL argument");
    *pt = NULL;
    *pt_len = 0;
    ward_seal_meta m;
    size_t n = 0;
    ward_err err = parse(blob, blob_len, &m, &n);
    if (err)
        return err;
    uint8_t *out = malloc(n ? n : 1);
    if (out == NULL)
        return ward_err_set(WARD_ERR_NOMEM, "unseal: out of memory");
    uint8_t *a = NULL;
    size_t a_len = 0;
    ward_aead *g = NULL;
    err = make_aad(blob, aad, aad_len, &a, &a_len);
    if (!err)
        err = ward_aead_new(WARD_AEAD_AES_256_GCM, key, WARD_STORAGE_KEY_LEN, &g);
    if (!err) {
        err = ward_aead_open(g, blob + 14, WARD_AEAD_NONCE_LEN, a, a_len, blob + SEAL_HDR, n,
                             blob + SEAL_HDR + n, out);
        if (err == WARD_ERR_AUTH)
            err = ward_err_set(WARD_ERR_AUTH,
                               "unseal: authentication failed: sealed under another key (another "
                               "TA, policy, SVN or key version), with other associated data, or "
                               "modified");
    }
    ward_aead_free(g);
    free(a);
    if (err) {
        ward_wipe(out, n);
        free(out);
        return err;
    }
    *pt = out;
    *pt_len = n;
    if (meta)
        *meta = m;
    return WARD_OK;
}
