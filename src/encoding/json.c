/* Strict JSON parsing through jansson, and the RFC 8785 JSON Canonicalization Scheme.
 *
 * Parsing: one value (any type at the top level), whitespace allowed around it and nothing else
 * after it, UTF-8 only, duplicate member names refused, "\u0000" kept inside strings (so string
 * values are length-counted), nesting at most WARD_JSON_MAX_DEPTH containers. Jansson refuses a
 * NUL in a member name whatever the flags, so member names never contain one.
 *
 * Canonicalisation (RFC 8785 section 3.2): no whitespace; members sorted by the UTF-16 code
 * units of their names; strings escaped as ECMAScript's JSON.stringify does; literals as they
 * are. Ward documents hold integers only: a real number is refused, and so is an integer outside
 * +-(2^53 - 1), which an IEEE 754 double (RFC 8785's number model) cannot hold exactly. */
#include "ward/json.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JCS_MAX_SAFE_INT ((json_int_t)9007199254740991LL) /* 2^53 - 1 */
/* Longest piece of input-derived text (a path, jansson's message) put in an error message. */
#define MSG_SNIPPET_MAX 160

/* Copies at most MSG_SNIPPET_MAX bytes of src into dst (size > MSG_SNIPPET_MAX + 3) for an
 * error message: bytes outside printable ASCII become '?', and "..." marks a truncation. */
static void snippet(char *dst, size_t dstsz, const char *src, size_t srclen)
{
    size_t n = srclen < MSG_SNIPPET_MAX ? srclen : MSG_SNIPPET_MAX;
    if (n > dstsz - 4)
        n = dstsz - 4;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)src[i];
        dst[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    if (n < srclen) {
        memcpy(dst + n, "...", 4);
    } else {
        dst[n] = '\0';
    }
}

/* ---- parsing ---- */

/* Counts the nesting of arrays and objects outside strings. Exact for any text jansson accepts;
 * run first so that deep input never reaches jansson's recursive parser. */
static ward_err depth_prescan(const char *text, size_t len)
{
    size_t depth = 0;
    int in_string = 0, escaped = 0;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (in_string) {
            if (escaped)
                escaped = 0;
            else if (c == '\\')
                escaped = 1;
            else if (c == '"')
                in_string = 0;
        } else if (c == '"') {
            in_string = 1;
        } else if (c == '[' || c == '{') {
            if (++depth > WARD_JSON_MAX_DEPTH)
                return ward_err_set(WARD_ERR_FORMAT,
                                    "JSON: nesting deeper than %d levels at byte offset %zu",
                                    WARD_JSON_MAX_DEPTH, i);
        } else if ((c == ']' || c == '}') && depth > 0) {
            depth--;
        }
    }
    return WARD_OK;
}

ward_err ward_json_parse(const char *text, size_t len, json_t **out)
{
    if (out == NULL || (text == NULL && len != 0))
        return ward_err_set(WARD_ERR_INVALID_ARG, "JSON: NULL argument");
    *out = NULL;
    if (len == 0)
        return ward_err_set(WARD_ERR_FORMAT, "JSON: empty input");
    ward_err err = depth_prescan(text, len);
    if (err != WARD_OK)
        return err;

    /* No JSON_DISABLE_EOF_CHECK: anything but whitespace after the value is an error. */
    json_error_t jerr;
    memset(&jerr, 0, sizeof jerr);
    json_t *v = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | JSON_ALLOW_NUL,
                           &jerr);
    if (v == NULL) {
        if (json_error_code(&jerr) == json_error_out_of_memory)
            return ward_err_set(WARD_ERR_NOMEM, "JSON: out of memory while parsing");
        char why[MSG_SNIPPET_MAX + 4];
        size_t why_len = strnlen(jerr.text, sizeof jerr.text - 1);
        if (why_len == 0)
            snprintf(why, sizeof why, "not valid JSON");
        else
            snippet(why, sizeof why, jerr.text, why_len);
        return ward_err_set(WARD_ERR_FORMAT, "JSON: %s (line %d, column %d, byte offset %d)", why,
                            jerr.line, jerr.column, jerr.position);
    }
    *out = v;
    return WARD_OK;
}

/* ---- growable buffer ---- */

struct buf {
    char *p;
    size_t len, cap;
};

static ward_err buf_reserve(struct buf *b, size_t extra)
{
    if (extra <= b->cap - b->len)
        return WARD_OK;
    if (extra > SIZE_MAX - b->len)
        return ward_err_set(WARD_ERR_OVERFLOW, "JCS: output size overflows");
    size_t need = b->len + extra;
    size_t cap = b->cap < 64 ? 64 : b->cap;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    char *p = realloc(b->p, cap);
    if (p == NULL)
        return ward_err_set(WARD_ERR_NOMEM, "JCS: out of memory for %zu bytes of output", cap);
    b->p = p;
    b->cap = cap;
    return WARD_OK;
}

static ward_err buf_put(struct buf *b, const void *data, size_t n)
{
    ward_err err = buf_reserve(b, n);
    if (err != WARD_OK)
        return err;
    if (n != 0)
        memcpy(b->p + b->len, data, n);
    b->len += n;
    return WARD_OK;
}

static ward_err buf_putc(struct buf *b, char c)
{
    return buf_put(b, &c, 1);
}

/* ---- UTF-8 ---- */

/* Decodes one well-formed UTF-8 sequence at s[*i] (RFC 3629: no overlong forms, no surrogates,
 * nothing above U+10FFFF). Advances *i and returns 0, or returns -1 leaving *i alone. */
static int utf8_next(const unsigned char *s, size_t len, size_t *i, uint32_t *cp)
{
    size_t p = *i;
    uint32_t c = s[p];
    size_t n;
    uint32_t min;
    if (c < 0x80) {
        *cp = c;
        *i = p + 1;
        return 0;
    } else if (c >= 0xc2 && c <= 0xdf) {
        n = 1, min = 0x80, c &= 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 2, min = 0x800, c &= 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 3, min = 0x10000, c &= 0x07;
    } else {
        return -1;
    }
    if (n > len - p - 1)
        return -1;
    for (size_t k = 1; k <= n; k++) {
        uint32_t cc = s[p + k];
        if ((cc & 0xc0) != 0x80)
            return -1;
        c = (c << 6) | (cc & 0x3f);
    }
    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
        return -1;
    *cp = c;
    *i = p + n + 1;
    return 0;
}

/* ---- canonicalisation ---- */

struct jcs {
    struct buf out;
    struct buf path; /* JSON pointer (RFC 6901) of the value being written, for messages */
};

/* The current path, made safe for an error message, in a caller buffer. */
static const char *path_desc(const struct jcs *j, char *dst, size_t dstsz)
{
    if (j->path.len == 0)
        return "the top level";
    snippet(dst, dstsz, j->path.p, j->path.len);
    return dst;
}

/* Appends "/" and the member name, escaped as RFC 6901 says (~ as ~0, / as ~1), to the path. */
static ward_err path_push_key(struct jcs *j, const char *key, size_t keylen)
{
    ward_err err = buf_putc(&j->path, '/');
    for (size_t i = 0; err == WARD_OK && i < keylen; i++) {
        if (key[i] == '~')
            err = buf_put(&j->path, "~0", 2);
        else if (key[i] == '/')
            err = buf_put(&j->path, "~1", 2);
        else
            err = buf_putc(&j->path, key[i]);
    }
    return err;
}

static ward_err path_push_index(struct jcs *j, size_t index)
{
    char tmp[32];
    int n = snprintf(tmp, sizeof tmp, "/%zu", index);
    if (n < 0 || (size_t)n >= sizeof tmp)
        return ward_err_set(WARD_ERR_OVERFLOW, "JCS: array index does not fit");
    return buf_put(&j->path, tmp, (size_t)n);
}

static ward_err write_string(struct jcs *j, const char *s, size_t len, const char *what)
{
    static const char hexd[] = "0123456789abcdef";
    const unsigned char *u = (const unsigned char *)s;
    ward_err err = buf_putc(&j->out, '"');
    size_t i = 0;
    while (err == WARD_OK && i < len) {
        /* Copy the longest run that needs no escape. */
        size_t start = i;
        while (i < len) {
            unsigned char c = u[i];
            if (c < 0x20 || c == '"' || c == '\\')
                break;
            if (c < 0x80) {
                i++;
            } else {
                uint32_t cp;
                if (utf8_next(u, len, &i, &cp) != 0) {
                    char p[MSG_SNIPPET_MAX + 4];
                    return ward_err_set(WARD_ERR_FORMAT,
                                        "JCS: invalid UTF-8 in %s at byte %zu (at %s)", what, i,
                                        path_desc(j, p, sizeof p));
                }
            }
        }
        err = buf_put(&j->out, s + start, i - start);
        if (err != WARD_OK || i == len)
            break;
        unsigned char c = u[i++];
        char esc[6] = {'\\', 0, 0, 0, 0, 0};
        size_t n = 2;
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\b': esc[1] = 'b'; break;
        case '\t': esc[1] = 't'; break;
        case '\n': esc[1] = 'n'; break;
        case '\f': esc[1] = 'f'; break;
        case '\r': esc[1] = 'r'; break;
        default:
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hexd[c >> 4];
            esc[5] = hexd[c & 0x0f];
            n = 6;
            break;
        }
        err = buf_put(&j->out, esc, n);
    }
    if (err == WARD_OK)
        err = buf_putc(&j->out, '"');
    return err;
}

struct member {
    const char *key;
    size_t keylen;
    const uint16_t *u16;
    size_t u16len;
    json_t *value;
};

/* UTF-16 code units of a valid UTF-8 name into dst (room for len units: never more are
 * needed); returns the count, or SIZE_MAX for invalid UTF-8. */
static size_t to_utf16(const char *s, size_t len, uint16_t *dst)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, n = 0;
    while (i < len) {
        uint32_t cp;
        if (utf8_next(u, len, &i, &cp) != 0)
            return SIZE_MAX;
        if (cp < 0x10000) {
            dst[n++] = (uint16_t)cp;
        } else {
            cp -= 0x10000;
            dst[n++] = (uint16_t)(0xd800 | (cp >> 10));
            dst[n++] = (uint16_t)(0xdc00 | (cp & 0x3ff));
        }
    }
    return n;
}

static int member_cmp(const void *pa, const void *pb)
{
    const struct member *a = pa, *b = pb;
    size_t n = a->u16len < b->u16len ? a->u16len : b->u16len;
    for (size_t i = 0; i < n; i++) {
        if (a->u16[i] != b->u16[i])
            return a->u16[i] < b->u16[i] ? -1 : 1;
    }
    if (a->u16len != b->u16len)
        return a->u16len < b->u16len ? -1 : 1;
    return 0;
}

static ward_err write_value(struct jcs *j, const json_t *v, size_t depth);

static ward_err write_array(struct jcs *j, const json_t *v, size_t depth)
{
    ward_err err = buf_putc(&j->out, '[');
    size_t n = json_array_size(v);
    for (size_t i = 0; err == WARD_OK && i < n; i++) {
        if (i != 0)
            err = buf_putc(&j->out, ',');
        size_t mark = j->path.len;
        if (err == WARD_OK)
            err = path_push_index(j, i);
        if (err == WARD_OK)
            err = write_value(j, json_array_get(v, i), depth);
        if (err == WARD_OK)
            j->path.len = mark;
    }
    if (err == WARD_OK)
        err = buf_putc(&j->out, ']');
    return err;
}

static ward_err write_object(struct jcs *j, const json_t *v, size_t depth)
{
    size_t n = json_object_size(v);
    if (n == 0)
        return buf_put(&j->out, "{}", 2);
    if (n > SIZE_MAX / sizeof(struct member))
        return ward_err_set(WARD_ERR_OVERFLOW, "JCS: object with %zu members is too large", n);
    struct member *m = calloc(n, sizeof *m);
    if (m == NULL)
        return ward_err_set(WARD_ERR_NOMEM, "JCS: out of memory sorting %zu members", n);

    /* One array holds every name's UTF-16 code units: at most one per UTF-8 byte. */
    size_t total = 0, count = 0;
    const char *key;
    size_t keylen;
    json_t *val;
    ward_err err = WARD_OK;
    json_object_keylen_foreach((json_t *)v, key, keylen, val) {
        if (count == n || keylen > SIZE_MAX - total) {
            err = ward_err_set(WARD_ERR_OVERFLOW, "JCS: object member names are too large");
            break;
        }
        m[count].key = key;
        m[count].keylen = keylen;
        m[count].value = val;
        total += keylen;
        count++;
    }
    uint16_t *units = NULL;
    if (err == WARD_OK && count != n)
        err = ward_err_set(WARD_ERR_STATE, "JCS: object changed size while being read");
    if (err == WARD_OK && total > SIZE_MAX / sizeof(uint16_t))
        err = ward_err_set(WARD_ERR_OVERFLOW, "JCS: object member names are too large");
    if (err == WARD_OK) {
        units = malloc(total == 0 ? 1 : total * sizeof(uint16_t));
        if (units == NULL)
            err = ward_err_set(WARD_ERR_NOMEM, "JCS: out of memory sorting %zu members", n);
    }
    size_t used = 0;
    for (size_t i = 0; err == WARD_OK && i < n; i++) {
        size_t k = to_utf16(m[i].key, m[i].keylen, units + used);
        if (k == SIZE_MAX) {
            size_t mark = j->path.len;
            err = path_push_key(j, m[i].key, m[i].keylen);
            if (err == WARD_OK) {
                char p[MSG_SNIPPET_MAX + 4];
                err = ward_err_set(WARD_ERR_FORMAT, "JCS: invalid UTF-8 in member name (at %s)",
                                   path_desc(j, p, sizeof p));
            }
            j->path.len = mark;
            break;
        }
        m[i].u16 = units + used;
        m[i].u16len = k;
        used += k;
    }
    if (err == WARD_OK)
        qsort(m, n, sizeof *m, member_cmp);

    if (err == WARD_OK)
        err = buf_putc(&j->out, '{');
    for (size_t i = 0; err == WARD_OK && i < n; i++) {
        if (i != 0)
            err = buf_putc(&j->out, ',');
        if (err == WARD_OK)
            err = write_string(j, m[i].key, m[i].keylen, "member name");
        if (err == WARD_OK)
            err = buf_putc(&j->out, ':');
        size_t mark = j->path.len;
        if (err == WARD_OK)
            err = path_push_key(j, m[i].key, m[i].keylen);
        if (err == WARD_OK)
            err = write_value(j, m[i].value, depth);
        if (err == WARD_OK)
            j->path.len = mark;
    }
    if (err == WARD_OK)
        err = buf_putc(&j->out, '}');
    free(units);
    free(m);
    return err;
}

/* depth: how many arrays and objects enclose v. */
static ward_err write_value(struct jcs *j, const json_t *v, size_t depth)
{
    char p[MSG_SNIPPET_MAX + 4];
    if (v == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "JCS: NULL value (at %s)",
                            path_desc(j, p, sizeof p));
    switch (json_typeof(v)) {
    case JSON_NULL:
        return buf_put(&j->out, "null", 4);
    case JSON_TRUE:
        return buf_put(&j->out, "true", 4);
    case JSON_FALSE:
        return buf_put(&j->out, "false", 5);
    case JSON_INTEGER: {
        json_int_t n = json_integer_value(v);
        if (n > JCS_MAX_SAFE_INT || n < -JCS_MAX_SAFE_INT)
            return ward_err_set(WARD_ERR_FORMAT,
                                "JCS: integer outside +-(2^53 - 1) is not allowed (found at %s)",
                                path_desc(j, p, sizeof p));
        char tmp[32];
        int len = snprintf(tmp, sizeof tmp, "%" JSON_INTEGER_FORMAT, n);
        if (len < 0 || (size_t)len >= sizeof tmp)
            return ward_err_set(WARD_ERR_FORMAT, "JCS: cannot format an integer (at %s)",
                                path_desc(j, p, sizeof p));
        return buf_put(&j->out, tmp, (size_t)len);
    }
    case JSON_REAL:
        return ward_err_set(WARD_ERR_FORMAT,
                            "JCS: floating-point numbers are not allowed (found at %s)",
                            path_desc(j, p, sizeof p));
    case JSON_STRING:
        return write_string(j, json_string_value(v), json_string_length(v), "string");
    case JSON_ARRAY:
    case JSON_OBJECT:
        if (depth >= WARD_JSON_MAX_DEPTH)
            return ward_err_set(WARD_ERR_FORMAT, "JCS: nesting deeper than %d levels (at %s)",
                                WARD_JSON_MAX_DEPTH, path_desc(j, p, sizeof p));
        return json_is_array(v) ? write_array(j, v, depth + 1) : write_object(j, v, depth + 1);
    }
    return ward_err_set(WARD_ERR_FORMAT, "JCS: unknown JSON value type (at %s)",
                        path_desc(j, p, sizeof p));
}

ward_err ward_jcs_serialize(const json_t *value, char **out, size_t *out_len)
{
    if (out == NULL || value == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "JCS: NULL argument");
    *out = NULL;
    if (out_len != NULL)
        *out_len = 0;
    struct jcs j = {{NULL, 0, 0}, {NULL, 0, 0}};
    ward_err err = write_value(&j, value, 0);
    if (err == WARD_OK)
        err = buf_putc(&j.out, '\0');
    free(j.path.p);
    if (err != WARD_OK) {
        free(j.out.p);
        return err;
    }
    *out = j.out.p;
    if (out_len != NULL)
        *out_len = j.out.len - 1;
    return WARD_OK;
}

ward_err ward_jcs_from_text(const char *text, size_t len, char **out, size_t *out_len)
{
    if (out == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "JCS: NULL argument");
    *out = NULL;
    if (out_len != NULL)
        *out_len = 0;
    json_t *v = NULL;
    ward_err err = ward_json_parse(text, len, &v);
    if (err != WARD_OK)
        return err;
    err = ward_jcs_serialize(v, out, out_len);
    json_decref(v);
    return err;
}
