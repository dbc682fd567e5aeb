/* HPKE (RFC 9180) base mode with DHKEM(X25519, HKDF-SHA256) and HKDF-SHA256, built only on
 * Ward's primitives (HKDF, AEAD, X25519, RNG). Section numbers below are RFC 9180's.
 *
 * Every intermediate secret (DH output, shared secret, PRKs, the ephemeral secret key, the
 * labelled inputs that embed them) lives in a local buffer that is wiped on every path. */
#include <stdlib.h>
#include <string.h>

#include "ward/crypto.h"
#include "ward/hpke.h"

#define NH 32           /* HKDF-SHA256 output (Nh), also Nsecret of the KEM */
#define NN 12           /* AEAD nonce length (Nn) of every AEAD we support */
#define MAX_NK 32       /* largest AEAD key (Nk) */
#define VERSION_LABEL "HPKE-v1"
#define VERSION_LABEL_LEN 7
#define KEM_SUITE_LEN 5  /* "KEM" || I2OSP(kem_id, 2) */
#define HPKE_SUITE_LEN 10 /* "HPKE" || kem_id || kdf_id || aead_id */
#define MAX_SUITE_LEN HPKE_SUITE_LEN
#define MODE_BASE 0x00
/* Labelled inputs up to this size are built on the stack; larger ones (long info or exporter
 * context) in a heap buffer. */
#define STACK_LABELED 256

struct ward_hpke_ctx {
    ward_hpke_aead aead_id;
    int is_sender;
    ward_aead *aead; /* NULL for export-only */
    uint8_t base_nonce[NN];
    uint64_t seq;
    uint8_t exporter_secret[NH];
};

/* ---- suites and labelled KDF (section 4) --------------------------------------------------- */

typedef struct suite {
    uint8_t id[MAX_SUITE_LEN];
    size_t len;
} suite;

static void put_u16(uint8_t *p, unsigned v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static suite kem_suite(void)
{
    suite s = {.id = {'K', 'E', 'M'}, .len = KEM_SUITE_LEN};
    put_u16(s.id + 3, WARD_HPKE_KEM_X25519_SHA256);
    return s;
}

static suite hpke_suite(ward_hpke_aead aead)
{
    suite s = {.id = {'H', 'P', 'K', 'E'}, .len = HPKE_SUITE_LEN};
    put_u16(s.id + 4, WARD_HPKE_KEM_X25519_SHA256);
    put_u16(s.id + 6, WARD_HPKE_KDF_HKDF_SHA256);
    put_u16(s.id + 8, (unsigned)aead);
    return s;
}

/* Builds prefix || "HPKE-v1" || suite_id || label || data into a buffer that is either buf
 * (capacity STACK_LABELED) or a fresh heap block; *out points at it. The caller wipes and
 * frees with labeled_release. */
static ward_err labeled_build(const uint8_t *prefix, size_t prefix_len, const suite *s,
                              const char *label, const uint8_t *data, size_t data_len,
                              uint8_t buf[STACK_LABELED], uint8_t **out, size_t *out_len)
{
    size_t label_len = strlen(label);
    size_t fixed = prefix_len + VERSION_LABEL_LEN + s->len + label_len; /* all small */
    if (data_len > SIZE_MAX - fixed)
        return ward_err_set(WARD_ERR_OVERFLOW, "hpke: input too long");
    size_t total = fixed + data_len;
    uint8_t *p = buf;
    if (total > STACK_LABELED) {
        p = malloc(total);
        if (p == NULL)
            return ward_err_set(WARD_ERR_NOMEM, "hpke: out of memory");
    }
    size_t off = 0;
    if (prefix_len != 0)
        memcpy(p + off, prefix, prefix_len);
    off += prefix_len;
    memcpy(p + off, VERSION_LABEL, VERSION_LABEL_LEN);
    off += VERSION_LABEL_LEN;
    memcpy(p + off, s->id, s->len);
    off += s->len;
    memcpy(p + off, label, label_len);
    off += label_len;
    if (data_len != 0)
        memcpy(p + off, data, data_len);
    *out = p;
    *out_len = total;
    return WARD_OK;
}

static void labeled_release(uint8_t *p, size_t len, const uint8_t buf[STACK_LABELED])
{
    ward_wipe(p, len);
    if (p != buf)
        free(p);
}

/* LabeledExtract(salt, label, ikm) = Extract(salt, "HPKE-v1" || suite_id || label || ikm). */
static ward_err labeled_extract(const suite *s, const uint8_t *salt, size_t salt_len,
                                const char *label, const uint8_t *ikm, size_t ikm_len,
                                uint8_t prk[NH])
{
    uint8_t buf[STACK_LABELED];
    uint8_t *labeled = NULL;
    size_t labeled_len = 0;
    ward_err err = labeled_build(NULL, 0, s, label, ikm, ikm_len, buf, &labeled, &labeled_len);
    if (err)
        return err;
    err = ward_hkdf_extract(WARD_HASH_SHA256, salt, salt_len, labeled, labeled_len, prk);
    labeled_release(labeled, labeled_len, buf);
    if (err)
        ward_wipe(prk, NH);
    return err;
}

/* LabeledExpand(prk, label, info, L) =
 *   Expand(prk, I2OSP(L, 2) || "HPKE-v1" || suite_id || label || info, L). */
static ward_err labeled_expand(const suite *s, const uint8_t prk[NH], const char *label,
                               const uint8_t *info, size_t info_len, uint8_t *out,
                               size_t out_len)
{
    if (out_len == 0 || out_len > 255 * NH)
        return ward_err_set(WARD_ERR_INVALID_ARG,
                            "hpke: output length %zu outside 1..%d bytes", out_len, 255 * NH);
    uint8_t len_be[2];
    put_u16(len_be, (unsigned)out_len);
    uint8_t buf[STACK_LABELED];
    uint8_t *labeled = NULL;
    size_t labeled_len = 0;
    ward_err err =
        labeled_build(len_be, 2, s, label, info, info_len, buf, &labeled, &labeled_len);
    if (err)
        return err;
    err = ward_hkdf_expand(WARD_HASH_SHA256, prk, NH, labeled, labeled_len, out, out_len);
    labeled_release(labeled, labeled_len, buf);
    if (err)
        ward_wipe(out, out_len);
    return err;
}

/* ---- DHKEM(X25519, HKDF-SHA256) (section 4.1) ---------------------------------------------- */

/* DeriveKeyPair for X25519 (section 7.1.3): the expanded bytes are the secret key as is
 * (X25519 clamps when it uses the key). */
ward_err ward_hpke_derive_keypair(const uint8_t *ikm, size_t ikm_len,
                                  uint8_t sk[WARD_HPKE_SK_LEN], uint8_t pk[WARD_HPKE_PK_LEN])
{
    if (ikm == NULL || sk == NULL || pk == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "hpke: NULL argument");
    if (ikm_len < WARD_HPKE_SK_LEN)
        return ward_err_set(WARD_ERR_INVALID_ARG,
                            "hpke: key derivation needs at least %d bytes of input keying "
                            "material, got %zu",
                            WARD_HPKE_SK_LEN, ikm_len);
    suite s = kem_suite();
    uint8_t dkp_prk[NH];
    ward_err err = labeled_extract(&s, NULL, 0, "dkp_prk", ikm, ikm_len, dkp_prk);
    if (!err)
        err = labeled_expand(&s, dkp_prk, "sk", NULL, 0, sk, WARD_HPKE_SK_LEN);
    if (!err)
        err = ward_x25519_public(sk, pk);
    ward_wipe(dkp_prk, sizeof dkp_prk);
    if (err) {
        ward_wipe(sk, WARD_HPKE_SK_LEN);
        ward_wipe(pk, WARD_HPKE_PK_LEN);
    }
    return err;
}

ward_err ward_hpke_generate_keypair(uint8_t sk[WARD_HPKE_SK_LEN], uint8_t pk[WARD_HPKE_PK_LEN])
{
    if (sk == NULL || pk == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "hpke: NULL argument");
    return ward_x25519_generate(sk, pk);
}

/* ExtractAndExpand(dh, kem_context) with kem_context = enc || pkRm. */
static ward_err extract_and_expand(const uint8_t dh[WARD_X25519_LEN],
                                   const uint8_t enc[WARD_HPKE_ENC_LEN],
                                   const uint8_t pk_r[WARD_HPKE_PK_LEN], uint8_t shared[NH])
{
    suite s = kem_suite();
    uint8_t kem_context[WARD_HPKE_ENC_LEN + WARD_HPKE_PK_LEN];
    memcpy(kem_context, enc, WARD_HPKE_ENC_LEN);
    memcpy(kem_context + WARD_HPKE_ENC_LEN, pk_r, WARD_HPKE_PK_LEN);
    uint8_t eae_prk[NH];
    ward_err err = labeled_extract(&s, NULL, 0, "eae_prk", dh, WARD_X25519_LEN, eae_prk);
    if (!err)
        err = labeled_expand(&s, eae_prk, "shared_secret", kem_context, sizeof kem_context,
                             shared, NH);
    ward_wipe(eae_prk, sizeof eae_prk);
    return err;
}

/* Encap with a given ephemeral secret key. */
static ward_err encap(const uint8_t pk_r[WARD_HPKE_PK_LEN], const uint8_t sk_e[WARD_HPKE_SK_LEN],
                      uint8_t enc[WARD_HPKE_ENC_LEN], uint8_t shared[NH])
{
    uint8_t dh[WARD_X25519_LEN];
    ward_err err = ward_x25519_public(sk_e, enc);
    if (!err) {
        err = ward_x25519(sk_e, pk_r, dh);
        if (err == WARD_ERR_VERIFY)
            err = ward_err_set(WARD_ERR_VERIFY,
                               "hpke: recipient public key is a low-order point");
    }
    if (!err)
        err = extract_and_expand(dh, enc, pk_r, shared);
    ward_wipe(dh, sizeof dh);
    if (err)
        ward_wipe(shared, NH);
    return err;
}

static ward_err decap(const uint8_t enc[WARD_HPKE_ENC_LEN], const uint8_t sk_r[WARD_HPKE_SK_LEN],
                      uint8_t shared[NH])
{
    uint8_t dh[WARD_X25519_LEN], pk_r[WARD_HPKE_PK_LEN];
    ward_err err = ward_x25519(sk_r, enc, dh);
    if (err == WARD_ERR_VERIFY)
        err = ward_err_set(WARD_ERR_VERIFY,
                           "hpke: encapsulated key is a low-order point (refused)");
    if (!err)
        err = ward_x25519_public(sk_r, pk_r);
    if (!err)
        err = extract_and_expand(dh, enc, pk_r, shared);
    ward_wipe(dh, sizeof dh);
    if (err)
        ward_wipe(shared, NH);
    return err;
}

/* ---- key schedule (section 5.1) ------------------------------------------------------------ */

static ward_err aead_params(ward_hpke_aead aead, ward_aead_alg *alg, size_t *nk)
{
    switch (aead) {
    case WARD_HPKE_AES_128_GCM:
        *alg = WARD_AEAD_AES_128_GCM;
        *nk = 16;
        return WARD_OK;
    case WARD_HPKE_AES_256_GCM:
        *alg = WARD_AEAD_AES_256_GCM;
        *nk = 32;
        return WARD_OK;
    case WARD_HPKE_CHACHA20_POLY1305:
        *alg = WARD_AEAD_CHACHA20_POLY1305;
        *nk = 32;
        return WARD_OK;
    case WARD_HPKE_EXPORT_ONLY:
        *alg = WARD_AEAD_AES_256_GCM; /* unused */
        *nk = 0;
        return WARD_OK;
    }
    return ward_err_set(WARD_ERR_UNSUPPORTED, "hpke: unsupported AEAD identifier 0x%04x",
                        (unsigned)aead);
}

/* KeySchedule for mode_base (psk = psk_id = ""): builds the context from shared_secret. */
static ward_err key_schedule(ward_hpke_aead aead_id, int is_sender, const uint8_t shared[NH],
                             const uint8_t *info, size_t info_len, ward_hpke_ctx **out)
{
    ward_aead_alg alg = WARD_AEAD_AES_256_GCM;
    size_t nk = 0;
    ward_err err = aead_params(aead_id, &alg, &nk);
    if (err)
        return err;
    suite s = hpke_suite(aead_id);

    uint8_t ksc[1 + 2 * NH]; /* mode || psk_id_hash || info_hash (public values) */
    uint8_t secret[NH], key[MAX_NK];
    ksc[0] = MODE_BASE;
    err = labeled_extract(&s, NULL, 0, "psk_id_hash", NULL, 0, ksc + 1);
    if (!err)
        err = labeled_extract(&s, NULL, 0, "info_hash", info, info_len, ksc + 1 + NH);
    if (!err) /* secret = LabeledExtract(shared_secret, "secret", psk = "") */
        err = labeled_extract(&s, shared, NH, "secret", NULL, 0, secret);

    ward_hpke_ctx *ctx = NULL;
    if (!err) {
        ctx = calloc(1, sizeof *ctx);
        if (ctx == NULL)
            err = ward_err_set(WARD_ERR_NOMEM, "hpke: out of memory");
    }
    if (!err) {
        ctx->aead_id = aead_id;
        ctx->is_sender = is_sender;
        if (nk != 0) {
            err = labeled_expand(&s, secret, "key", ksc, sizeof ksc, key, nk);
            if (!err)
                err = labeled_expand(&s, secret, "base_nonce", ksc, sizeof ksc,
                                     ctx->base_nonce, NN);
            if (!err)
                err = ward_aead_new(alg, key, nk, &ctx->aead);
        }
    }
    if (!err)
        err = labeled_expand(&s, secret, "exp", ksc, sizeof ksc, ctx->exporter_secret, NH);
    ward_wipe(secret, sizeof secret);
    ward_wipe(key, sizeof key);
    if (err) {
        ward_hpke_free(ctx);
        return err;
    }
    *out = ctx;
    return WARD_OK;
}

static ward_err setup_args(ward_hpke_aead aead, const void *key, const uint8_t *info,
                           size_t info_len, const uint8_t *enc, ward_hpke_ctx **out)
{
    if (out == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "hpke: NULL output");
    *out = NULL;
    if (key == NULL || enc == NULL || (info == NULL && info_len != 0))
        return ward_err_set(WARD_ERR_INVALID_ARG, "hpke: NULL argument");
    ward_aead_alg alg = WARD_AEAD_AES_256_GCM;
    size_t nk;
    return aead_params(aead, &alg, &nk);
}

static ward_err setup_sender_with(ward_hpke_aead aead, const uint8_t pk_r[WARD_HPKE_PK_LEN],
                                  const uint8_t *info, size_t info_len,
                                  const uint8_t sk_e[WARD_HPKE_SK_LEN],
                                  uint8_t enc[WARD_HPKE_ENC_LEN], ward_hpke_ctx **out)
{
    uint8_t shared[NH];
    ward_err err = encap(pk_r, sk_e, enc, shared);
    if (!err)
        err = key_schedule(aead, 1, shared, info, info_len, out);
    ward_wipe(shared, sizeof shared);
    return err;
}

ward_err ward_hpke_setup_sender(ward_hpke_aead aead, const uint8_t pk_r[WARD_HPKE_PK_LEN],
                                const uint8_t *info, size_t info_len,
                                uint8_t enc[WARD_HPKE_ENC_LEN], ward_hpke_ctx **out)
{
    ward_err err = setup_args(aead, pk_r, info, info_len, enc, out);
    if (err)
        return err;
    uint8_t sk_e[WARD_HPKE_SK_LEN], pk_e[WARD_HPKE_PK_LEN];
    err = ward_x25519_generate(sk_e, pk_e);
    if (!err)
        err = setup_sender_with(aead, pk_r, info, info_len, sk_e, enc, out);
    ward_wipe(sk_e, sizeof sk_e);
    return err;
}

ward_err ward_hpke_setup_sender_derand(ward_hpke_aead aead, const uint8_t pk_r[WARD_HPKE_PK_LEN],
                                       const uint8_t *info, size_t info_len, const uint8_t *ikm_e,
                                       size_t ikm_e_len, uint8_t enc[WARD_HPKE_ENC_LEN],
                                       ward_hpke_ctx **out)
{
    ward_err err = setup_args(aead, pk_r, info, info_len, enc, out);
    if (err)
        return err;
    uint8_t sk_e[WARD_HPKE_SK_LEN], pk_e[WARD_HPKE_PK_LEN];
    err = ward_hpke_derive_keypair(ikm_e, ikm_e_len, sk_e, pk_e);
    if (!err)
        err = setup_sender_with(aead, pk_r, info, info_len, sk_e, enc, out);
    ward_wipe(sk_e, sizeof sk_e);
    return err;
}

ward_err ward_hpke_setup_recipient(ward_hpke_aead aead, const uint8_t sk_r[WARD_HPKE_SK_LEN],
                                   const uint8_t enc[WARD_HPKE_ENC_LEN], const uint8_t *info,
                                   size_t info_len, ward_hpke_ctx **out)
{
    ward_err err = setup_args(aead, sk_r, info, info_len, enc, out);
    if (err)
        return err;
    uint8_t shared[NH];
    err = decap(enc, sk_r, shared);
    if (!err)
        err = key_schedule(aead, 0, shared, info, info_len, out);
    ward_wipe(shared, sizeof shared);
    return err;
}

void ward_hpke_free(ward_hpke_ctx *ctx)
{
    if (ctx == NULL)
        return;
    ward_aead_free(ctx->aead);
    ward_wipe(ctx, sizeof *ctx);
    free(ctx);
}

/* ---- encryption and export (sections 5.2, 5.3) --------------------------------------------- */

/* Checks that the context can do one more AEAD operation and computes its nonce:
 * base_nonce XOR I2OSP(seq, Nn). */
static ward_err next_nonce(const ward_hpke_ctx *ctx, int sealing, uint8_t nonce[NN])
{
    if (ctx->aead == NULL)
        return ward_err_set(WARD_ERR_UNSUPPORTED,
                            "hpke: export-only context cannot seal or open messages");
    if (sealing && !ctx->is_sender)
        return ward_err_set(WARD_ERR_STATE, "hpke: a recipient context cannot seal");
    if (!sealing && ctx->is_sender)
        return ward_err_set(WARD_ERR_STATE, "hpke: a sender context cannot open");
    /* Section 5.2 allows up to 2^(8*Nn) - 1 messages; our counter is 64 bits wide and stops
     * one short of its own limit, which no context will ever reach in practice. */
    if (ctx->seq == UINT64_MAX)
        return ward_err_set(WARD_ERR_OVERFLOW, "hpke: message limit of this context reached");
    memcpy(nonce, ctx->base_nonce, NN);
    for (size_t i = 0; i < 8; i++)
        nonce[NN - 1 - i] ^= (uint8_t)(ctx->seq >> (8 * i));
    return WARD_OK;
}

ward_err ward_hpke_seal(ward_hpke_ctx *ctx, const uint8_t *aad, size_t aad_len,
                        const uint8_t *pt, size_t pt_len, uint8_t *ct)
{
    if (ctx == NULL || ct == NULL || (aad == NULL && aad_len != 0) ||
        (pt == NULL && pt_len != 0))
        return ward_err_set(WARD_ERR_INVALID_ARG, "hpke: NULL argument");
    if (pt_len > SIZE_MAX - WARD_HPKE_TAG_LEN)
        return ward_err_set(WARD_ERR_OVERFLOW, "hpke: message too long");
    uint8_t nonce[NN];
    ward_err err = next_nonce(ctx, 1, nonce);
    if (err)
        return err;
    err = ward_aead_seal(ctx->aead, nonce, NN, aad, aad_len, pt, pt_len, ct, ct + pt_len);
    if (err)
        return err;
    ctx->seq++;
    return WARD_OK;
}

ward_err ward_hpke_open(ward_hpke_ctx *ctx, const uint8_t *aad, size_t aad_len,
                        const uint8_t *ct, size_t ct_len, uint8_t *pt)
{
    if (ctx == NULL || ct == NULL || (aad == NULL && aad_len != 0))
        return ward_err_set(WARD_ERR_INVALID_ARG, "hpke: NULL argument");
    if (ct_len < WARD_HPKE_TAG_LEN)
        return ward_err_set(WARD_ERR_AUTH,
                            "hpke: ciphertext of %zu bytes is shorter than its tag", ct_len);
    size_t pt_len = ct_len - WARD_HPKE_TAG_LEN;
    if (pt == NULL && pt_len != 0)
        return ward_err_set(WARD_ERR_INVALID_ARG, "hpke: NULL argument");
    uint8_t nonce[NN];
    ward_err err = next_nonce(ctx, 0, nonce);
    if (err)
        return err;
    uint8_t empty[1];
    if (pt == NULL)
        pt = empty; /* pt_len is 0: never written */
    /* On failure ward_aead_open wipes pt; the sequence number stays as it was. */
    err = ward_aead_open(ctx->aead, nonce, NN, aad, aad_len, ct, pt_len, ct + pt_len, pt);
    if (err)
        return err;
    ctx->seq++;
    return WARD_OK;
}

ward_err ward_hpke_export(const ward_hpke_ctx *ctx, const uint8_t *exporter_context,
                          size_t ctx_len, uint8_t *out, size_t out_len)
{
    if (ctx == NULL || out == NULL || (exporter_context == NULL && ctx_len != 0))
        return ward_err_set(WARD_ERR_INVALID_ARG, "hpke: NULL argument");
    if (out_len == 0 || out_len > 255 * NH)
        return ward_err_set(WARD_ERR_INVALID_ARG,
                            "hpke: export length %zu outside 1..%d bytes", out_len, 255 * NH);
    suite s = hpke_suite(ctx->aead_id);
    return labeled_expand(&s, ctx->exporter_secret, "sec", exporter_context, ctx_len, out,
                          out_len);
}

/* ---- single-shot (section 6.1) ------------------------------------------------------------- */

ward_err ward_hpke_seal_base(ward_hpke_aead aead, const uint8_t pk_r[WARD_HPKE_PK_LEN],
                             const uint8_t *info, size_t info_len, const uint8_t *aad,
                             size_t aad_len, const uint8_t *pt, size_t pt_len,
                             uint8_t enc[WARD_HPKE_ENC_LEN], uint8_t *ct)
{
    ward_hpke_ctx *ctx = NULL;
    ward_err err = ward_hpke_setup_sender(aead, pk_r, info, info_len, enc, &ctx);
    if (!err)
        err = ward_hpke_seal(ctx, aad, aad_len, pt, pt_len, ct);
    ward_hpke_free(ctx);
    return err;
}

ward_err ward_hpke_open_base(ward_hpke_aead aead, const uint8_t sk_r[WARD_HPKE_SK_LEN],
                             const uint8_t enc[WARD_HPKE_ENC_LEN], const uint8_t *info,
                             size_t info_len, const uint8_t *aad, size_t aad_len,
                             const uint8_t *ct, size_t ct_len, uint8_t *pt)
{
    ward_hpke_ctx *ctx = NULL;
    ward_err err = ward_hpke_setup_recipient(aead, sk_r, enc, info, info_len, &ctx);
    if (!err)
        err = ward_hpke_open(ctx, aad, aad_len, ct, ct_len, pt);
    ward_hpke_free(ctx);
    return err;
}
