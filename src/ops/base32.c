/* Base32 (RFC 4648 section 6), for TOTP secrets: authenticator apps take the secret in base32. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ward/crypto.h"
#include "ward/err.h"
#include "ward/identity.h"

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

ward_err ward_base32_encode(const uint8_t *in, size_t len, int pad, char **out, size_t *out_len)
{
    if (out == NULL || (in == NULL && len != 0))
        return ward_err_set(WARD_ERR_INVALID_ARG, "base32: NULL argument");
    *out = NULL;
    if (len > SIZE_MAX / 2)
        return ward_err_set(WARD_ERR_OVERFLOW, "base32: input too long");
    size_t groups = (len + 4) / 5;
    size_t cap = groups * 8 + 1;
    char *s = malloc(cap);
    if (s == NULL)
        return ward_err_set(WARD_ERR_NOMEM, "base32: out of memory");
    size_t o = 0;
    uint32_t acc = 0;
    unsigned bits = 0;
    for (size_t i = 0; i < len; i++) {
        acc = (acc << 8) | in[i];
        bits += 8;
        while (bits >= 5) {
            bits -= 5;
            s[o++] = alphabet[(acc >> bits) & 31];
        }
        acc &= (1u << bits) - 1;
    }
    if (bits > 0)
        s[o++] = alphabet[(acc << (5 - bits)) & 31];
    if (pad)
        while (o % 8 != 0)
            s[o++] = '=';
    s[o] = '\0';
    acc = 0;
    *out = s;
    if (out_len)
        *out_len = o;
    return WARD_OK;
}

static int value_of(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a';
    if (c >= '2' && c <= '7')
        return c - '2' + 26;
    return -1;
}

ward_err ward_base32_decode(const char *in, size_t len, uint8_t **out, size_t *out_len)
{
    if (out == NULL || out_len == NULL || (in == NULL && len != 0))
        return ward_err_set(WARD_ERR_INVALID_ARG, "base32: NULL argument");
    *out = NULL;
    *out_len = 0;
    size_t n = len;
    while (n > 0 && in[n - 1] == '=')
        n--;
    if (n != len) {
        /* Padding, if any, must complete the last group of 8 exactly. */
        if (len % 8 != 0 || len - n >= 8)
            return ward_err_set(WARD_ERR_FORMAT, "base32: bad padding");
    }
    /* Characters in the last group: 0, 2, 4, 5, 7 or 8 are possible; 1, 3, 6 are not. */
    size_t rem = n % 8;
    if (rem == 1 || rem == 3 || rem == 6)
        return ward_err_set(WARD_ERR_FORMAT, "base32: impossible length");
    if (n != len) {
        static const size_t pads[8] = {0, 0, 6, 0, 4, 3, 0, 1};
        if (len - n != pads[rem])
            return ward_err_set(WARD_ERR_FORMAT, "base32: bad padding");
    }
    size_t cap = n / 8 * 5 + 5;
    uint8_t *b = malloc(cap);
    if (b == NULL)
        return ward_err_set(WARD_ERR_NOMEM, "base32: out of memory");
    size_t o = 0;
    uint32_t acc = 0;
    unsigned bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = value_of(in[i]);
        if (v < 0) {
            ward_wipe(b, cap);
            free(b);
            return ward_err_set(WARD_ERR_FORMAT, "base32: invalid character at %zu", i);
        }
        acc = (acc << 5) | (uint32_t)v;
        bits += 5;
        if (bits >= 8) {
            bits -= 8;
            b[o++] = (uint8_t)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    if (acc != 0) {
        ward_wipe(b, cap);
        free(b);
        return ward_err_set(WARD_ERR_FORMAT, "base32: non-zero trailing bits");
    }
    *out = b;
    *out_len = o;
    return WARD_OK;
}
