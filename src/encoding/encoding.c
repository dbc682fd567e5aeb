/* Hex, base64 and base64url (RFC 4648), canonical only.
 *
 * The character <-> value mappings are branch-free and table-free, so that encoding or decoding
 * key material does not leak it through data-dependent branches or cache lines. Only the
 * validity of the input decides branches: a valid input takes none of the error paths. */
#include "ward/encoding.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- constant-time helpers (x, lo, hi are small non-negative values) ---- */

/* All ones if lo <= x <= hi, else 0. */
static uint32_t ct_range(uint32_t x, uint32_t lo, uint32_t hi)
{
    /* (x - lo) and (hi - x) both have their top bit clear iff x is in range. */
    uint32_t out = ((x - lo) | (hi - x)) >> 31;
    return out - 1u;
}

/* All ones if x == y, else 0. */
static uint32_t ct_eq(uint32_t x, uint32_t y)
{
    uint32_t d = x ^ y;
    /* d - 1 has its top bit set only when d == 0 (d is small). */
    return 0u - ((d - 1u) >> 31);
}

/* Marker for "not in the alphabet": any value above 0xff. */
#define CT_INVALID 0x100u

static char hex_char(uint32_t nibble)
{
    /* '0' + n for n < 10, 'a' + n - 10 otherwise. */
    uint32_t c = nibble + '0' + (ct_range(nibble, 10, 15) & (uint32_t)('a' - '0' - 10));
    return (char)c;
}

static uint32_t hex_value(uint32_t c)
{
    uint32_t m_dig = ct_range(c, '0', '9');
    uint32_t m_low = ct_range(c, 'a', 'f');
    uint32_t m_up = ct_range(c, 'A', 'F');
    uint32_t v = (m_dig & (c - '0')) | (m_low & (c - 'a' + 10)) | (m_up & (c - 'A' + 10));
    return v | (~(m_dig | m_low | m_up) & CT_INVALID);
}

/* 6-bit value to character; c62/c63 are the alphabet's last two characters. */
static char b64_char(uint32_t x, uint32_t c62, uint32_t c63)
{
    uint32_t c = (ct_range(x, 0, 25) & (x + 'A')) | (ct_range(x, 26, 51) & (x - 26 + 'a')) |
                 (ct_range(x, 52, 61) & (x - 52 + '0')) | (ct_eq(x, 62) & c62) |
                 (ct_eq(x, 63) & c63);
    return (char)c;
}

static uint32_t b64_value(uint32_t c, uint32_t c62, uint32_t c63)
{
    uint32_t m_up = ct_range(c, 'A', 'Z');
    uint32_t m_low = ct_range(c, 'a', 'z');
    uint32_t m_dig = ct_range(c, '0', '9');
    uint32_t m_62 = ct_eq(c, c62);
    uint32_t m_63 = ct_eq(c, c63);
    uint32_t v = (m_up & (c - 'A')) | (m_low & (c - 'a' + 26)) | (m_dig & (c - '0' + 52)) |
                 (m_62 & 62u) | (m_63 & 63u);
    return v | (~(m_up | m_low | m_dig | m_62 | m_63) & CT_INVALID);
}

/* A malloc'd buffer of n bytes, never NULL on success even for n == 0. */
static void *alloc_out(size_t n)
{
    return malloc(n == 0 ? 1 : n);
}

/* ---- hex ---- */

ward_err ward_hex_encode(const uint8_t *in, size_t len, char **out, size_t *out_len)
{
    if (out == NULL || (in == NULL && len != 0))
        return ward_err_set(WARD_ERR_INVALID_ARG, "hex: NULL argument");
    *out = NULL;
    if (len > (SIZE_MAX - 1) / 2)
        return ward_err_set(WARD_ERR_OVERFLOW, "hex: input of %zu bytes is too long to encode",
                            len);
    size_t n = len * 2;
    char *s = malloc(n + 1);
    if (s == NULL)
        return ward_err_set(WARD_ERR_NOMEM, "hex: out of memory for %zu characters", n);
    for (size_t i = 0; i < len; i++) {
        s[2 * i] = hex_char((uint32_t)in[i] >> 4);
        s[2 * i + 1] = hex_char((uint32_t)in[i] & 0x0fu);
    }
    s[n] = '\0';
    *out = s;
    if (out_len != NULL)
        *out_len = n;
    return WARD_OK;
}

static ward_err hex_bad_char(const char *in, size_t at)
{
    return ward_err_set(WARD_ERR_FORMAT, "hex: invalid character 0x%02x at offset %zu",
                        (unsigned)(uint8_t)in[at], at);
}

/* Refuses an odd length, after any bad character (a stray newline says more than "odd"). */
static ward_err hex_check_length(const char *in, size_t len)
{
    if (len % 2 == 0)
        return WARD_OK;
    for (size_t i = 0; i < len; i++)
        if (hex_value((uint8_t)in[i]) > 0xffu)
            return hex_bad_char(in, i);
    return ward_err_set(WARD_ERR_FORMAT, "hex: odd length %zu", len);
}

/* Decodes len characters (len even, checked by the caller) into out (len / 2 bytes). */
static ward_err hex_decode_into(const char *in, size_t len, uint8_t *out)
{
    for (size_t i = 0; i < len; i += 2) {
        uint32_t hi = hex_value((uint8_t)in[i]);
        uint32_t lo = hex_value((uint8_t)in[i + 1]);
        if ((hi | lo) > 0xffu)
            return hex_bad_char(in, hi > 0xffu ? i : i + 1);
        out[i / 2] = (uint8_t)((hi << 4) | lo);
    }
    return WARD_OK;
}

ward_err ward_hex_decode(const char *in, size_t len, uint8_t **out, size_t *out_len)
{
    if (out == NULL || out_len == NULL || (in == NULL && len != 0))
        return ward_err_set(WARD_ERR_INVALID_ARG, "hex: NULL argument");
    *out = NULL;
    *out_len = 0;
    ward_err err = hex_check_length(in, len);
    if (err != WARD_OK)
        return err;
    uint8_t *buf = alloc_out(len / 2);
    if (buf == NULL)
        return ward_err_set(WARD_ERR_NOMEM, "hex: out of memory for %zu bytes", len / 2);
    err = hex_decode_into(in, len, buf);
    if (err != WARD_OK) {
        explicit_bzero(buf, len / 2);
        free(buf);
        return err;
    }
    *out = buf;
    *out_len = len / 2;
    return WARD_OK;
}

ward_err ward_hex_decode_fixed(const char *in, size_t len, uint8_t *out, size_t out_len)
{
    if ((out == NULL && out_len != 0) || (in == NULL && len != 0))
        return ward_err_set(WARD_ERR_INVALID_ARG, "hex: NULL argument");
    ward_err err = hex_check_length(in, len);
    if (err != WARD_OK)
        return err;
    if (len / 2 != out_len)
        return ward_err_set(WARD_ERR_FORMAT, "hex: %zu characters encode %zu bytes, expected %zu",
                            len, len / 2, out_len);
    /* Check every character before writing, so that a failure leaves out untouched. */
    for (size_t i = 0; i < len; i++)
        if (hex_value((uint8_t)in[i]) > 0xffu)
            return hex_bad_char(in, i);
    return hex_decode_into(in, len, out);
}

/* ---- base64 / base64url ---- */

struct b64_alphabet {
    const char *name;
    uint32_t c62, c63;
    int pad;
};

static const struct b64_alphabet B64_STD = {"base64", '+', '/', 1};
static const struct b64_alphabet B64_URL = {"base64url", '-', '_', 0};

static ward_err b64_encode(const struct b64_alphabet *a, const uint8_t *in, size_t len,
                           char **out, size_t *out_len)
{
    if (out == NULL || (in == NULL && len != 0))
        return ward_err_set(WARD_ERR_INVALID_ARG, "%s: NULL argument", a->name);
    *out = NULL;
    size_t full = len / 3, rem = len % 3;
    size_t groups = full + (rem != 0 ? 1u : 0u);
    /* groups * 4 + 1 must not overflow. */
    if (groups > (SIZE_MAX - 1) / 4)
        return ward_err_set(WARD_ERR_OVERFLOW, "%s: input of %zu bytes is too long to encode",
                            a->name, len);
    size_t n = a->pad ? groups * 4 : full * 4 + (rem == 0 ? 0 : rem + 1);
    char *s = malloc(n + 1);
    if (s == NULL)
        return ward_err_set(WARD_ERR_NOMEM, "%s: out of memory for %zu characters", a->name, n);
    size_t o = 0;
    for (size_t i = 0; i < full; i++) {
        uint32_t v = ((uint32_t)in[3 * i] << 16) | ((uint32_t)in[3 * i + 1] << 8) |
                     (uint32_t)in[3 * i + 2];
        s[o++] = b64_char((v >> 18) & 63u, a->c62, a->c63);
        s[o++] = b64_char((v >> 12) & 63u, a->c62, a->c63);
        s[o++] = b64_char((v >> 6) & 63u, a->c62, a->c63);
        s[o++] = b64_char(v & 63u, a->c62, a->c63);
    }
    if (rem != 0) {
        uint32_t v = (uint32_t)in[3 * full] << 16;
        if (rem == 2)
            v |= (uint32_t)in[3 * full + 1] << 8;
        s[o++] = b64_char((v >> 18) & 63u, a->c62, a->c63);
        s[o++] = b64_char((v >> 12) & 63u, a->c62, a->c63);
        if (rem == 2)
            s[o++] = b64_char((v >> 6) & 63u, a->c62, a->c63);
        if (a->pad) {
            if (rem == 1)
                s[o++] = '=';
            s[o++] = '=';
        }
    }
    s[o] = '\0';
    *out = s;
    if (out_len != NULL)
        *out_len = o;
    return WARD_OK;
}

static ward_err b64_decode(const struct b64_alphabet *a, const char *in, size_t len,
                           uint8_t **out, size_t *out_len)
{
    if (out == NULL || out_len == NULL || (in == NULL && len != 0))
        return ward_err_set(WARD_ERR_INVALID_ARG, "%s: NULL argument", a->name);
    *out = NULL;
    *out_len = 0;

    /* Characters outside the alphabet first: a stray newline says more than a bad length. */
    for (size_t k = 0; k < len; k++) {
        if (b64_value((uint8_t)in[k], a->c62, a->c63) > 63u && in[k] != '=')
            return ward_err_set(WARD_ERR_FORMAT, "%s: invalid character 0x%02x at offset %zu",
                                a->name, (unsigned)(uint8_t)in[k], k);
    }

    /* Number of data characters, after checking the length and the padding. */
    size_t nchars = len;
    if (a->pad) {
        if (len % 4 != 0)
            return ward_err_set(WARD_ERR_FORMAT, "%s: length %zu is not a multiple of 4",
                                a->name, len);
        if (len >= 1 && in[len - 1] == '=') {
            nchars--;
            if (len >= 2 && in[len - 2] == '=')
                nchars--;
        }
    } else if (len % 4 == 1) {
        return ward_err_set(WARD_ERR_FORMAT, "%s: length %zu is impossible (remainder 1 mod 4)",
                            a->name, len);
    }
    /* Every character before the padding must be in the alphabet ('=' included: refused). */
    size_t rem = nchars % 4; /* 0, 2 or 3 here */
    size_t n = (nchars / 4) * 3 + (rem == 0 ? 0 : rem - 1);

    uint8_t *buf = alloc_out(n);
    if (buf == NULL)
        return ward_err_set(WARD_ERR_NOMEM, "%s: out of memory for %zu bytes", a->name, n);

    size_t o = 0, i = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (i = 0; i < nchars; i++) {
        uint32_t v = b64_value((uint8_t)in[i], a->c62, a->c63);
        if (v > 63u) {
            /* Only '=' is left to find here. */
            ward_err err = a->pad ? ward_err_set(WARD_ERR_FORMAT,
                                                 "%s: padding '=' at offset %zu is not at the end",
                                                 a->name, i)
                                  : ward_err_set(WARD_ERR_FORMAT,
                                                 "%s: padding '=' (offset %zu) is not allowed",
                                                 a->name, i);
            explicit_bzero(buf, n);
            free(buf);
            return err;
        }
        acc = (acc << 6) | v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            buf[o++] = (uint8_t)(acc >> bits);
            acc &= (1u << bits) - 1u;
        }
    }
    /* rem 2 leaves 4 bits, rem 3 leaves 2: canonical encodings have them all zero. */
    if (acc != 0) {
        explicit_bzero(buf, n);
        free(buf);
        return ward_err_set(WARD_ERR_FORMAT,
                            "%s: non-zero trailing bits in the last character (offset %zu)",
                            a->name, nchars - 1);
    }
    *out = buf;
    *out_len = o;
    return WARD_OK;
}

ward_err ward_base64_encode(const uint8_t *in, size_t len, char **out, size_t *out_len)
{
    return b64_encode(&B64_STD, in, len, out, out_len);
}

ward_err ward_base64_decode(const char *in, size_t len, uint8_t **out, size_t *out_len)
{
    return b64_decode(&B64_STD, in, len, out, out_len);
}

ward_err ward_base64url_encode(const uint8_t *in, size_t len, char **out, size_t *out_len)
{
    return b64_encode(&B64_URL, in, len, out, out_len);
}

ward_err ward_base64url_decode(const char *in, size_t len, uint8_t **out, size_t *out_len)
{
    return b64_decode(&B64_URL, in, len, out, out_len);
}
