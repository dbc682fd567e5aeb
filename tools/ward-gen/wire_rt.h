/* ward-gen wire runtime, version 1 (docs/sdk.md, "Wire encoding").
 *
 * ward-gen copies this text verbatim into every generated .c file, so that generated code needs
 * nothing but the C library and Ward's headers; `ward ta run` and the tests include this file
 * directly, so that all of them encode and decode with the same code.
 *
 * A message is the parameters of one direction in declaration order: u32, u64 and i64 as
 * little-endian fixed-width integers, bool as one byte 0 or 1, string and bytes as a u32le
 * length and that many bytes; strings are UTF-8 without NUL. Readers check every length against
 * what is left, refuse trailing bytes, bools other than 0/1, and strings with NUL or bad UTF-8.
 *
 * WG__SET_ERROR (default 1) says whether failures record a message with ward_err_set (host
 * code, linked with libward) or only return the code (TA code, which links libward-ta only). */
#ifndef WG__WIRE_RT
#define WG__WIRE_RT 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <ward/err.h>

#ifndef WG__SET_ERROR
#define WG__SET_ERROR 1
#endif

/* WG__FAIL(code, fmt, ...) evaluates to code (a constant), so that compilers see every
 * failure path return nonzero. */
#if WG__SET_ERROR
#define WG__FAIL(code, ...) (ward_err_set((code), __VA_ARGS__), (code))
#else
__attribute__((format(printf, 2, 3), unused)) static ward_err wg__quiet(ward_err e,
                                                                        const char *fmt, ...)
{
    (void)fmt;
    return e;
}
#define WG__FAIL(code, ...) wg__quiet((code), __VA_ARGS__)
#endif

#define WG__UNUSED __attribute__((unused))

/* Largest response a caller accepts for a call or ocall whose outputs have no fixed size. */
#ifndef WARD_GEN_MAX_RESPONSE
#define WARD_GEN_MAX_RESPONSE (1u << 20)
#endif

/* A memset the compiler cannot drop: buffers that held arguments are wiped before free. */
static void *(*const volatile wg__memset_v)(void *, int, size_t) = memset;

WG__UNUSED static void wg__wipe(void *p, size_t n)
{
    if (p != NULL && n > 0)
        wg__memset_v(p, 0, n);
}

WG__UNUSED static void wg__free_str(char *s)
{
    if (s != NULL) {
        wg__wipe(s, strlen(s));
        free(s);
    }
}

WG__UNUSED static void wg__free_bytes(uint8_t *p, size_t n)
{
    if (p != NULL) {
        wg__wipe(p, n);
        free(p);
    }
}

/* 1 if s[0..n) is well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing past
 * U+10FFFF) without NUL. */
WG__UNUSED static int wg__utf8_ok(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        if (c == 0)
            return 0;
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t k;
        uint8_t lo = 0x80, hi = 0xBF;
        if (c >= 0xC2 && c <= 0xDF) {
            k = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            k = 2;
            if (c == 0xE0)
                lo = 0xA0;
            else if (c == 0xED)
                hi = 0x9F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            k = 3;
            if (c == 0xF0)
                lo = 0x90;
            else if (c == 0xF4)
                hi = 0x8F;
        } else {
            return 0;
        }
        if (n - i - 1 < k)
            return 0;
        if (s[i + 1] < lo || s[i + 1] > hi)
            return 0;
        for (size_t j = 2; j <= k; j++)
            if ((s[i + j] & 0xC0) != 0x80)
                return 0;
        i += k + 1;
    }
    return 1;
}

/* ---- reading ----------------------------------------------------------------------------- */

typedef struct wg__rd {
    const uint8_t *p;
    size_t len;
    size_t off; /* always <= len */
} wg__rd;

WG__UNUSED static ward_err wg__need(wg__rd *r, size_t n, const char *what)
{
    if (r->off > r->len || r->len - r->off < n)
        return WG__FAIL(WARD_ERR_TRUNCATED, "%s: message ends early (%zu bytes left, %zu needed)",
                        what, r->off <= r->len ? r->len - r->off : (size_t)0, n);
    return WARD_OK;
}

WG__UNUSED static ward_err wg__get_u32(wg__rd *r, uint32_t *v, const char *what)
{
    *v = 0;
    ward_err e = wg__need(r, 4, what);
    if (e != WARD_OK)
        return e;
    const uint8_t *b = r->p + r->off;
    *v = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
    r->off += 4;
    return WARD_OK;
}

WG__UNUSED static ward_err wg__get_u64(wg__rd *r, uint64_t *v, const char *what)
{
    *v = 0;
    ward_err e = wg__need(r, 8, what);
    if (e != WARD_OK)
        return e;
    const uint8_t *b = r->p + r->off;
    uint64_t x = 0;
    for (unsigned i = 0; i < 8; i++)
        x |= (uint64_t)b[i] << (8 * i);
    *v = x;
    r->off += 8;
    return WARD_OK;
}

WG__UNUSED static ward_err wg__get_i64(wg__rd *r, int64_t *v, const char *what)
{
    uint64_t u = 0;
    *v = 0;
    ward_err e = wg__get_u64(r, &u, what);
    if (e != WARD_OK)
        return e;
    /* two's complement without implementation-defined conversion */
    *v = u <= (uint64_t)INT64_MAX ? (int64_t)u : -(int64_t)(~u) - 1;
    return WARD_OK;
}

WG__UNUSED static ward_err wg__get_bool(wg__rd *r, bool *v, const char *what)
{
    *v = false;
    ward_err e = wg__need(r, 1, what);
    if (e != WARD_OK)
        return e;
    uint8_t b = r->p[r->off];
    if (b > 1)
        return WG__FAIL(WARD_ERR_FORMAT, "%s: bool byte is 0x%02x, not 0 or 1", what, b);
    *v = b == 1;
    r->off += 1;
    return WARD_OK;
}

/* A view of a length-prefixed byte string inside the message. */
WG__UNUSED static ward_err wg__get_bytes(wg__rd *r, const uint8_t **p, size_t *n,
                                         const char *what)
{
    uint32_t len = 0;
    *p = NULL;
    *n = 0;
    ward_err e = wg__get_u32(r, &len, what);
    if (e != WARD_OK)
        return e;
    if ((size_t)len > r->len - r->off)
        return WG__FAIL(WARD_ERR_FORMAT, "%s: length %u exceeds the %zu bytes left in the message",
                        what, len, r->len - r->off);
    *p = r->p + r->off;
    *n = len;
    r->off += len;
    return WARD_OK;
}

/* A view of a string: no NUL inside, well-formed UTF-8. */
WG__UNUSED static ward_err wg__get_str(wg__rd *r, const uint8_t **p, size_t *n,
                                       const char *what)
{
    ward_err e = wg__get_bytes(r, p, n, what);
    if (e != WARD_OK)
        return e;
    if (*n > 0 && memchr(*p, 0, *n) != NULL)
        return WG__FAIL(WARD_ERR_FORMAT, "%s: string holds a NUL byte", what);
    if (!wg__utf8_ok(*p, *n))
        return WG__FAIL(WARD_ERR_FORMAT, "%s: string is not valid UTF-8", what);
    return WARD_OK;
}

/* A malloc'd copy; for strings (nul != 0) NUL-terminated. Never NULL on success, even empty. */
WG__UNUSED static ward_err wg__dup(const uint8_t *p, size_t n, int nul, void **out,
                                   const char *what)
{
    if (n > SIZE_MAX - 1)
        return WG__FAIL(WARD_ERR_OVERFLOW, "%s: too long", what);
    uint8_t *c = malloc(n + 1);
    if (c == NULL)
        return WG__FAIL(WARD_ERR_NOMEM, "%s: out of memory", what);
    if (n > 0)
        memcpy(c, p, n);
    if (nul)
        c[n] = 0;
    *out = c;
    return WARD_OK;
}

WG__UNUSED static ward_err wg__get_str_dup(wg__rd *r, char **out, const char *what)
{
    const uint8_t *p = NULL;
    size_t n = 0;
    ward_err e = wg__get_str(r, &p, &n, what);
    if (e != WARD_OK)
        return e;
    void *c = NULL;
    e = wg__dup(p, n, 1, &c, what);
    if (e == WARD_OK)
        *out = c;
    return e;
}

WG__UNUSED static ward_err wg__get_bytes_dup(wg__rd *r, uint8_t **out, size_t *out_len,
                                             const char *what)
{
    const uint8_t *p = NULL;
    size_t n = 0;
    ward_err e = wg__get_bytes(r, &p, &n, what);
    if (e != WARD_OK)
        return e;
    void *c = NULL;
    e = wg__dup(p, n, 0, &c, what);
    if (e == WARD_OK) {
        *out = c;
        *out_len = n;
    }
    return e;
}

WG__UNUSED static ward_err wg__end(const wg__rd *r, const char *what)
{
    if (r->off != r->len)
        return WG__FAIL(WARD_ERR_FORMAT, "%s: %zu trailing bytes after the last parameter",
                        what, r->off < r->len ? r->len - r->off : (size_t)0);
    return WARD_OK;
}

/* ---- writing ----------------------------------------------------------------------------- */

/* With p == NULL a writer only counts (len, checked for overflow): encoders run once to size
 * the message, then again to write it. */
typedef struct wg__wr {
    uint8_t *p;
    size_t cap;
    size_t len;
} wg__wr;

WG__UNUSED static ward_err wg__room(wg__wr *w, size_t n, const char *what)
{
    if (w->len > w->cap || w->cap - w->len < n)
        return WG__FAIL(WARD_ERR_OVERFLOW, "%s: message larger than its %zu-byte limit", what,
                        w->cap);
    return WARD_OK;
}

WG__UNUSED static ward_err wg__put_raw(wg__wr *w, const void *p, size_t n, const char *what)
{
    ward_err e = wg__room(w, n, what);
    if (e != WARD_OK)
        return e;
    if (w->p != NULL && n > 0)
        memcpy(w->p + w->len, p, n);
    w->len += n;
    return WARD_OK;
}

WG__UNUSED static ward_err wg__put_u32(wg__wr *w, uint32_t v, const char *what)
{
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    return wg__put_raw(w, b, sizeof b, what);
}

WG__UNUSED static ward_err wg__put_u64(wg__wr *w, uint64_t v, const char *what)
{
    uint8_t b[8];
    for (unsigned i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    return wg__put_raw(w, b, sizeof b, what);
}

WG__UNUSED static ward_err wg__put_i64(wg__wr *w, int64_t v, const char *what)
{
    /* conversion to unsigned is defined: modulo 2^64 */
    return wg__put_u64(w, (uint64_t)v, what);
}

WG__UNUSED static ward_err wg__put_bool(wg__wr *w, bool v, const char *what)
{
    uint8_t b = v ? 1 : 0;
    return wg__put_raw(w, &b, 1, what);
}

WG__UNUSED static ward_err wg__put_bytes(wg__wr *w, const uint8_t *p, size_t n,
                                         const char *what)
{
    if (p == NULL && n > 0)
        return WG__FAIL(WARD_ERR_INVALID_ARG, "%s: NULL with length %zu", what, n);
    if (n > UINT32_MAX)
        return WG__FAIL(WARD_ERR_OVERFLOW, "%s: %zu bytes is more than a u32 length", what, n);
    ward_err e = wg__room(w, n, what);
    if (e != WARD_OK)
        return e;
    if (w->cap - w->len - n < 4)
        return WG__FAIL(WARD_ERR_OVERFLOW, "%s: message larger than its %zu-byte limit", what,
                        w->cap);
    e = wg__put_u32(w, (uint32_t)n, what);
    if (e != WARD_OK)
        return e;
    return wg__put_raw(w, p, n, what);
}

WG__UNUSED static ward_err wg__put_str(wg__wr *w, const char *s, const char *what)
{
    if (s == NULL)
        return WG__FAIL(WARD_ERR_INVALID_ARG, "%s: NULL string", what);
    size_t n = strlen(s);
    if (!wg__utf8_ok((const uint8_t *)s, n))
        return WG__FAIL(WARD_ERR_INVALID_ARG, "%s: string is not valid UTF-8", what);
    return wg__put_bytes(w, (const uint8_t *)s, n, what);
}

#endif /* WG__WIRE_RT */
