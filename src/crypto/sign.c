/* Signatures: ECDSA (P-256/P-384, DER or raw r||s) and Ed25519 signing and verification,
 * RSA-PSS and RSA PKCS#1 v1.5 verification, and ECDSA signature format conversion.
 *
 * Verification is strict and fails closed: a DER ECDSA signature must be canonical DER (it is
 * parsed, re-encoded and compared byte for byte before OpenSSL sees it), a raw signature must
 * be exactly 2 * coord_len bytes, an Ed25519 signature exactly 64 bytes, and RSA-PSS uses
 * MGF1 with the message hash and the caller's exact salt length. Any failure to verify,
 * malformed input included, is WARD_ERR_VERIFY. */
#include <limits.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/pkey_internal.h"
#include "ward/crypto.h"

#define ED25519_SIG_LEN 64
/* Largest field element we convert (P-521 would be 66; Ward uses 32 and 48). */
#define EC_MAX_COORD 66
/* Upper bound of a DER ECDSA-Sig-Value for EC_MAX_COORD: SEQUENCE of two INTEGERs of
 * coord_len + 1 bytes, each with tag and up to 2 length bytes. */
#define ECDSA_DER_MAX (4 + 2 * (4 + EC_MAX_COORD + 1))

static const uint8_t empty_msg[1];

static const char *md_name(ward_hash_alg alg)
{
    switch (alg) {
    case WARD_HASH_SHA256: return "SHA256";
    case WARD_HASH_SHA384: return "SHA384";
    }
    return NULL;
}

static size_t ec_coord_len(ward_key_type t)
{
    switch (t) {
    case WARD_KEY_EC_P256: return 32;
    case WARD_KEY_EC_P384: return 48;
    default: return 0;
    }
}

/* ---- ECDSA signature encodings ---------------------------------------------------------- */

/* Parses a DER ECDSA-Sig-Value that must be canonical, fill len bytes exactly and hold two
 * non-negative integers. */
static ward_err ecdsa_sig_parse(const uint8_t *der, size_t len, ECDSA_SIG **out)
{
    if (len > ECDSA_DER_MAX)
        return ward_err_set(WARD_ERR_FORMAT, "ECDSA signature: %zu bytes is too long for DER",
                            len);
    const unsigned char *p = der;
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)len);
    if (sig == NULL)
        return ward_err_ossl(WARD_ERR_FORMAT, "ECDSA signature: not a DER SEQUENCE of two "
                             "INTEGERs");
    ward_err rc = WARD_OK;
    const BIGNUM *r = NULL;
    const BIGNUM *s = NULL;
    ECDSA_SIG_get0(sig, &r, &s);
    unsigned char *re = NULL;
    int re_len = 0;
    if (p != der + len) {
        rc = ward_err_set(WARD_ERR_FORMAT, "ECDSA signature: trailing bytes after the DER");
    } else if (r == NULL || s == NULL || BN_is_negative(r) || BN_is_negative(s)) {
        rc = ward_err_set(WARD_ERR_FORMAT, "ECDSA signature: negative r or s");
    } else if ((re_len = i2d_ECDSA_SIG(sig, &re)) <= 0) {
        rc = ward_err_ossl(WARD_ERR_FORMAT, "ECDSA signature: cannot re-encode");
    } else if ((size_t)re_len != len || memcmp(re, der, len) != 0) {
        rc = ward_err_set(WARD_ERR_FORMAT, "ECDSA signature: not canonical DER");
    }
    OPENSSL_free(re);
    if (rc != WARD_OK) {
        ECDSA_SIG_free(sig);
        ERR_clear_error();
        return rc;
    }
    *out = sig;
    return WARD_OK;
}

/* Writes r||s, each left-padded to coord_len, into raw (2 * coord_len bytes). */
static ward_err ecdsa_sig_to_raw(const ECDSA_SIG *sig, size_t coord_len, uint8_t *raw)
{
    const BIGNUM *r = NULL;
    const BIGNUM *s = NULL;
    ECDSA_SIG_get0(sig, &r, &s);
    /* BN_bn2binpad fails if the value needs more than coord_len bytes. */
    if (BN_bn2binpad(r, raw, (int)coord_len) != (int)coord_len ||
        BN_bn2binpad(s, raw + coord_len, (int)coord_len) != (int)coord_len) {
        ERR_clear_error();
        return ward_err_set(WARD_ERR_FORMAT,
                            "ECDSA signature: r or s does not fit in %zu bytes", coord_len);
    }
    return WARD_OK;
}

/* DER-encodes the raw r||s in raw (raw_len even, each half at most EC_MAX_COORD bytes). */
static ward_err ecdsa_raw_encode(const uint8_t *raw, size_t raw_len, unsigned char **der,
                                 int *der_len)
{
    size_t half = raw_len / 2;
    BIGNUM *r = BN_bin2bn(raw, (int)half, NULL);
    BIGNUM *s = BN_bin2bn(raw + half, (int)half, NULL);
    ECDSA_SIG *sig = ECDSA_SIG_new();
    if (r == NULL || s == NULL || sig == NULL || ECDSA_SIG_set0(sig, r, s) != 1) {
        BN_free(r);
        BN_free(s);
        ECDSA_SIG_free(sig);
        return ward_err_ossl(WARD_ERR_NOMEM, "ECDSA signature: out of memory");
    }
    *der = NULL;
    *der_len = i2d_ECDSA_SIG(sig, der);
    ECDSA_SIG_free(sig); /* frees r and s */
    if (*der_len <= 0) {
        *der = NULL;
        return ward_err_ossl(WARD_ERR_CRYPTO, "ECDSA signature: cannot encode DER");
    }
    return WARD_OK;
}

ward_err ward_ecdsa_der_to_raw(const uint8_t *der, size_t der_len, size_t coord_len,
                               uint8_t **raw, size_t *raw_len)
{
    if (der == NULL || der_len == 0 || raw == NULL || raw_len == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "ECDSA DER to raw: NULL or empty argument");
    *raw = NULL;
    *raw_len = 0;
    if (coord_len == 0 || coord_len > EC_MAX_COORD)
        return ward_err_set(WARD_ERR_INVALID_ARG, "ECDSA DER to raw: bad coordinate length %zu",
                            coord_len);
    ECDSA_SIG *sig = NULL;
    ward_err rc = ecdsa_sig_parse(der, der_len, &sig);
    if (rc != WARD_OK)
        return rc;
    uint8_t *buf = malloc(2 * coord_len);
    if (buf == NULL) {
        ECDSA_SIG_free(sig);
        return ward_err_set(WARD_ERR_NOMEM, "ECDSA DER to raw: out of memory");
    }
    rc = ecdsa_sig_to_raw(sig, coord_len, buf);
    ECDSA_SIG_free(sig);
    if (rc != WARD_OK) {
        free(buf);
        return rc;
    }
    *raw = buf;
    *raw_len = 2 * coord_len;
    return WARD_OK;
}

ward_err ward_ecdsa_raw_to_der(const uint8_t *raw, size_t raw_len, uint8_t **der,
                               size_t *der_len)
{
    if (raw == NULL || raw_len == 0 || der == NULL || der_len == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "ECDSA raw to DER: NULL or empty argument");
    *der = NULL;
    *der_len = 0;
    if (raw_len % 2 != 0 || raw_len > 2 * EC_MAX_COORD)
        return ward_err_set(WARD_ERR_FORMAT,
                            "ECDSA raw to DER: %zu bytes is not r||s of equal halves up to %d "
                            "bytes each", raw_len, EC_MAX_COORD);
    unsigned char *enc = NULL;
    int enc_len = 0;
    ward_err rc = ecdsa_raw_encode(raw, raw_len, &enc, &enc_len);
    if (rc != WARD_OK)
        return rc;
    uint8_t *buf = malloc((size_t)enc_len);
    if (buf == NULL) {
        OPENSSL_free(enc);
        return ward_err_set(WARD_ERR_NOMEM, "ECDSA raw to DER: out of memory");
    }
    memcpy(buf, enc, (size_t)enc_len);
    OPENSSL_free(enc);
    *der = buf;
    *der_len = (size_t)enc_len;
    return WARD_OK;
}

/* ---- signing ------------------------------------------------------------------------------ */

ward_err ward_sign(const ward_pkey *key, ward_hash_alg alg, ward_sig_format fmt, const void *msg,
                   size_t msg_len, uint8_t **sig, size_t *sig_len)
{
    static const char what[] = "sign";
    if (key == NULL || key->pkey == NULL || sig == NULL || sig_len == NULL ||
        (msg == NULL && msg_len > 0))
        return ward_err_set(WARD_ERR_INVALID_ARG, "%s: NULL argument", what);
    *sig = NULL;
    *sig_len = 0;
    if (msg == NULL)
        msg = empty_msg;

    ward_key_type t = ward_pkey_type(key);
    const char *md = NULL;
    size_t coord_len = ec_coord_len(t);
    if (t == WARD_KEY_EC_P256 || t == WARD_KEY_EC_P384) {
        md = md_name(alg);
        if (md == NULL)
            return ward_err_set(WARD_ERR_INVALID_ARG, "%s: unknown hash algorithm %d", what,
                                (int)alg);
        if (fmt != WARD_SIG_DER && fmt != WARD_SIG_RAW)
            return ward_err_set(WARD_ERR_INVALID_ARG, "%s: unknown signature format %d", what,
                                (int)fmt);
    } else if (t == WARD_KEY_RSA) {
        return ward_err_set(WARD_ERR_UNSUPPORTED, "%s: Ward does not sign with RSA", what);
    } else if (t != WARD_KEY_ED25519) {
        return ward_err_set(WARD_ERR_INVALID_ARG, "%s: key type cannot sign (X25519 or unknown)",
                            what);
    }
    if (!ward_pkey_is_private(key))
        return ward_err_set(WARD_ERR_INVALID_ARG, "%s: the key has no private half", what);

    EVP_MD_CTX *mctx = EVP_MD_CTX_new();
    if (mctx == NULL)
        return ward_err_ossl(WARD_ERR_NOMEM, "%s: out of memory", what);
    ward_err rc = WARD_OK;
    uint8_t *buf = NULL;
    size_t len = 0;
    if (EVP_DigestSignInit_ex(mctx, NULL, md, NULL, NULL, key->pkey, NULL) != 1) {
        rc = ward_err_ossl(WARD_ERR_CRYPTO, "%s: cannot initialise signing", what);
        goto done;
    }
    if (EVP_DigestSign(mctx, NULL, &len, msg, msg_len) != 1 || len == 0) {
        rc = ward_err_ossl(WARD_ERR_CRYPTO, "%s: cannot size the signature", what);
        goto done;
    }
    buf = malloc(len);
    if (buf == NULL) {
        rc = ward_err_set(WARD_ERR_NOMEM, "%s: out of memory", what);
        goto done;
    }
    if (EVP_DigestSign(mctx, buf, &len, msg, msg_len) != 1) {
        rc = ward_err_ossl(WARD_ERR_CRYPTO, "%s: signing failed", what);
        goto done;
    }
    if (coord_len > 0 && fmt == WARD_SIG_RAW) {
        uint8_t *raw = NULL;
        size_t raw_len = 0;
        rc = ward_ecdsa_der_to_raw(buf, len, coord_len, &raw, &raw_len);
        if (rc != WARD_OK)
            goto done;
        free(buf);
        buf = raw;
        len = raw_len;
    }
    *sig = buf;
    *sig_len = len;
    buf = NULL;
done:
    free(buf);
    EVP_MD_CTX_free(mctx);
    return rc;
}

/* ---- verification ------------------------------------------------------------------------- */

/* Runs EVP_DigestVerify with an optional RSA padding setup. OK, VERIFY, or an error from the
 * setup. */
typedef struct rsa_opts {
    int padding;         /* 0: not RSA */
    const char *mgf1_md; /* PSS only */
    int salt_len;        /* PSS only */
} rsa_opts;

static ward_err digest_verify(EVP_PKEY *pkey, const char *md, const rsa_opts *rsa,
                              const void *msg, size_t msg_len, const uint8_t *sig,
                              size_t sig_len, const char *what)
{
    EVP_MD_CTX *mctx = EVP_MD_CTX_new();
    if (mctx == NULL)
        return ward_err_ossl(WARD_ERR_NOMEM, "%s: out of memory", what);
    ward_err rc = WARD_OK;
    EVP_PKEY_CTX *pctx = NULL; /* owned by mctx */
    if (EVP_DigestVerifyInit_ex(mctx, &pctx, md, NULL, NULL, pkey, NULL) != 1) {
        rc = ward_err_ossl(WARD_ERR_CRYPTO, "%s: cannot initialise verification", what);
        goto done;
    }
    if (rsa != NULL && rsa->padding != 0) {
        if (EVP_PKEY_CTX_set_rsa_padding(pctx, rsa->padding) != 1 ||
            (rsa->padding == RSA_PKCS1_PSS_PADDING &&
             (EVP_PKEY_CTX_set_rsa_mgf1_md_name(pctx, rsa->mgf1_md, NULL) != 1 ||
              EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, rsa->salt_len) != 1))) {
            rc = ward_err_ossl(WARD_ERR_CRYPTO, "%s: cannot set the RSA padding parameters",
                               what);
            goto done;
        }
    }
    if (EVP_DigestVerify(mctx, sig, sig_len, msg, msg_len) != 1)
        rc = ward_err_ossl(WARD_ERR_VERIFY, "%s: signature does not verify", what);
done:
    EVP_MD_CTX_free(mctx);
    return rc;
}

ward_err ward_verify(const ward_pkey *key, ward_hash_alg alg, ward_sig_format fmt,
                     const void *msg, size_t msg_len, const uint8_t *sig, size_t sig_len)
{
    static const char what[] = "verify";
    if (key == NULL || key->pkey == NULL || sig == NULL || sig_len == 0 ||
        (msg == NULL && msg_len > 0))
        return ward_err_set(WARD_ERR_INVALID_ARG, "%s: NULL or empty argument", what);
    if (msg == NULL)
        msg = empty_msg;
    ward_key_type t = ward_pkey_type(key);

    if (t == WARD_KEY_ED25519) {
        if (sig_len != ED25519_SIG_LEN)
            return ward_err_set(WARD_ERR_VERIFY,
                                "verify Ed25519: signature is %zu bytes, not %d", sig_len,
                                ED25519_SIG_LEN);
        return digest_verify(key->pkey, NULL, NULL, msg, msg_len, sig, sig_len,
                             "verify Ed25519");
    }
    if (t == WARD_KEY_RSA)
        return ward_err_set(WARD_ERR_INVALID_ARG,
                            "%s: RSA keys verify with ward_verify_rsa_pss/_pkcs1", what);
    size_t coord_len = ec_coord_len(t);
    if (coord_len == 0)
        return ward_err_set(WARD_ERR_INVALID_ARG, "%s: key type cannot verify (X25519 or "
                            "unknown)", what);
    const char *md = md_name(alg);
    if (md == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "%s: unknown hash algorithm %d", what,
                            (int)alg);

    if (fmt == WARD_SIG_RAW) {
        if (sig_len != 2 * coord_len)
            return ward_err_set(WARD_ERR_VERIFY,
                                "verify ECDSA: raw signature is %zu bytes, not %zu", sig_len,
                                2 * coord_len);
        unsigned char *der = NULL;
        int der_len = 0;
        ward_err rc = ecdsa_raw_encode(sig, sig_len, &der, &der_len);
        if (rc != WARD_OK)
            return rc;
        rc = digest_verify(key->pkey, md, NULL, msg, msg_len, der, (size_t)der_len,
                           "verify ECDSA");
        OPENSSL_free(der);
        return rc;
    }
    if (fmt != WARD_SIG_DER)
        return ward_err_set(WARD_ERR_INVALID_ARG, "%s: unknown signature format %d", what,
                            (int)fmt);
    ECDSA_SIG *parsed = NULL;
    ward_err rc = ecdsa_sig_parse(sig, sig_len, &parsed);
    if (rc != WARD_OK)
        return ward_err_wrap(WARD_ERR_VERIFY, "verify ECDSA");
    /* Also refuse values wider than the curve before OpenSSL sees them. */
    const BIGNUM *r = NULL;
    const BIGNUM *s = NULL;
    ECDSA_SIG_get0(parsed, &r, &s);
    int too_wide = (size_t)BN_num_bytes(r) > coord_len || (size_t)BN_num_bytes(s) > coord_len;
    ECDSA_SIG_free(parsed);
    if (too_wide)
        return ward_err_set(WARD_ERR_VERIFY, "verify ECDSA: r or s wider than the curve order");
    return digest_verify(key->pkey, md, NULL, msg, msg_len, sig, sig_len, "verify ECDSA");
}

static ward_err rsa_verify(const ward_pkey *key, ward_hash_alg alg, const rsa_opts *opts,
                           const void *msg, size_t msg_len, const uint8_t *sig, size_t sig_len,
                           const char *what)
{
    if (key == NULL || key->pkey == NULL || sig == NULL || sig_len == 0 ||
        (msg == NULL && msg_len > 0))
        return ward_err_set(WARD_ERR_INVALID_ARG, "%s: NULL or empty argument", what);
    if (msg == NULL)
        msg = empty_msg;
    if (ward_pkey_type(key) != WARD_KEY_RSA)
        return ward_err_set(WARD_ERR_INVALID_ARG, "%s: not an RSA key", what);
    const char *md = md_name(alg);
    if (md == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "%s: unknown hash algorithm %d", what,
                            (int)alg);
    int size = EVP_PKEY_get_size(key->pkey);
    if (size <= 0)
        return ward_err_ossl(WARD_ERR_CRYPTO, "%s: cannot read the modulus size", what);
    if (sig_len != (size_t)size)
        return ward_err_set(WARD_ERR_VERIFY, "%s: signature is %zu bytes, modulus is %d", what,
                            sig_len, size);
    rsa_opts o = *opts;
    if (o.padding == RSA_PKCS1_PSS_PADDING)
        o.mgf1_md = md;
    return digest_verify(key->pkey, md, &o, msg, msg_len, sig, sig_len, what);
}

ward_err ward_verify_rsa_pss(const ward_pkey *key, ward_hash_alg alg, size_t salt_len,
                             const void *msg, size_t msg_len, const uint8_t *sig, size_t sig_len)
{
    /* Negative values are OpenSSL's special salt modes (auto, digest, max); only an explicit
     * length reaches OpenSSL. A salt longer than the modulus simply fails to verify. */
    if (salt_len > INT_MAX)
        return ward_err_set(WARD_ERR_OVERFLOW, "verify RSA-PSS: salt length %zu too large",
                            salt_len);
    rsa_opts o = {RSA_PKCS1_PSS_PADDING, NULL, (int)salt_len};
    return rsa_verify(key, alg, &o, msg, msg_len, sig, sig_len, "verify RSA-PSS");
}

ward_err ward_verify_rsa_pkcs1(const ward_pkey *key, ward_hash_alg alg, const void *msg,
                               size_t msg_len, const uint8_t *sig, size_t sig_len)
{
    rsa_opts o = {RSA_PKCS1_PADDING, NULL, 0};
    return rsa_verify(key, alg, &o, msg, msg_len, sig, sig_len, "verify RSA PKCS#1 v1.5");
}
