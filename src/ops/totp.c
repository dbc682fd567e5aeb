/* HOTP (RFC 4226) and TOTP (RFC 6238).
 *
 * RFC 6238's default and what every authenticator app implements is HMAC-SHA-1. Ward's crypto
 * wrappers (ward/crypto.h) offer HMAC over SHA-256 and SHA-384 only, on purpose: SHA-1 has no
 * place in Ward's own constructions. HMAC-SHA-1 stays sound as a PRF (HMAC does not rely on
 * collision resistance), so TOTP keeps it for compatibility, through OpenSSL's EVP_Q_mac in this
 * file only; SHA-512 (also in RFC 6238) goes the same way, SHA-256 through ward_hmac. */
#include <openssl/evp.h>
#include <stdint.h>
#include <string.h>

#include "ward/crypto.h"
#include "ward/err.h"
#include "ward/identity.h"

#define MAC_MAX 64

static ward_err totp_hmac(ward_totp_alg alg, const uint8_t *key, size_t key_len,
                          const uint8_t msg[8], uint8_t out[MAC_MAX], size_t *out_len)
{
    if (alg == WARD_TOTP_SHA256) {
        *out_len = WARD_SHA256_LEN;
        return ward_hmac(WARD_HASH_SHA256, key, key_len, msg, 8, out);
    }
    const char *md = alg == WARD_TOTP_SHA1 ? "SHA1" : alg == WARD_TOTP_SHA512 ? "SHA512" : NULL;
    if (md == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "totp: unknown algorithm %d", (int)alg);
    size_t len = 0;
    /* EVP_Q_mac wants a non-NULL key pointer even for an empty key. */
    static const uint8_t empty[1];
    if (EVP_Q_mac(NULL, "HMAC", NULL, md, NULL, key_len ? key : empty, key_len, msg, 8, out,
                  MAC_MAX, &len) == NULL)
        return ward_err_ossl(WARD_ERR_CRYPTO, "totp: HMAC-%s failed", md);
    *out_len = len;
    return WARD_OK;
}

ward_err ward_hotp(ward_totp_alg alg, const uint8_t *key, size_t key_len, uint64_t counter,
                   unsigned digits, uint32_t *code)
{
    if (code == NULL || (key == NULL && key_len != 0))
        return ward_err_set(WARD_ERR_INVALID_ARG, "hotp: NULL argument");
    *code = 0;
    if (digits < 6 || digits > 8)
        return ward_err_set(WARD_ERR_INVALID_ARG, "hotp: %u digits (6..8 allowed)", digits);
    uint8_t msg[8];
    for (int i = 7; i >= 0; i--) {
        msg[i] = (uint8_t)(counter & 0xff);
        counter >>= 8;
    }
    uint8_t mac[MAC_MAX];
    size_t mac_len = 0;
    ward_err err = totp_hmac(alg, key, key_len, msg, mac, &mac_len);
    if (err)
        return err;
    if (mac_len < 20) {
        ward_wipe(mac, sizeof mac);
        return ward_err_set(WARD_ERR_CRYPTO, "hotp: short MAC");
    }
    /* Dynamic truncation (RFC 4226 5.3). */
    size_t off = mac[mac_len - 1] & 0x0f;
    uint32_t bin = ((uint32_t)(mac[off] & 0x7f) << 24) | ((uint32_t)mac[off + 1] << 16) |
                   ((uint32_t)mac[off + 2] << 8) | (uint32_t)mac[off + 3];
    uint32_t mod = 1;
    for (unsigned i = 0; i < digits; i++)
        mod *= 10;
    *code = bin % mod;
    ward_wipe(mac, sizeof mac);
    return WARD_OK;
}

ward_err ward_totp(ward_totp_alg alg, const uint8_t *key, size_t key_len, int64_t unix_time,
                   unsigned period, unsigned digits, uint32_t *code)
{
    if (code == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "totp: NULL argument");
    *code = 0;
    if (unix_time < 0 || period == 0)
        return ward_err_set(WARD_ERR_INVALID_ARG, "totp: negative time or zero period");
    return ward_hotp(alg, key, key_len, (uint64_t)unix_time / period, digits, code);
}
