/* Intel DCAP verifier: small strict readers shared by its files (DER, PEM, PCS times, raw JSON
 * member spans, little-endian fields). Every read is bounded by the length it was given. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "attest/dcap_internal.h"
#include "ward/encoding.h"

uint16_t dcap_rd16(const uint8_t *p)
{
    return (uint16_t)((unsigned)p[0] | ((unsigned)p[1] << 8));
}

uint32_t dcap_rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

uint64_t dcap_rd64(const uint8_t *p)
{
    return (uint64_t)dcap_rd32(p) | ((uint64_t)dcap_rd32(p + 4) << 32);
}

void dcap_hex(const uint8_t *p, size_t n, char *buf)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        buf[2 * i] = digits[p[i] >> 4];
        buf[2 * i + 1] = digits[p[i] & 0x0f];
    }
    buf[2 * n] = '\0';
}

/* ---- DER ------------------------------------------------------------------------------------ */

int dcap_der_next(dcap_der *in, uint8_t *tag, dcap_der *val)
{
    if (in == NULL || in->n < 2)
        return -1;
    uint8_t t = in->p[0];
    if ((t & 0x1f) == 0x1f)
        return -1; /* high tag number form: nothing here uses it */
    uint8_t l0 = in->p[1];
    size_t hdr = 2, len = 0;
    if (l0 < 0x80) {
        len = l0;
    } else {
        size_t k = (size_t)(l0 & 0x7f);
        if (k == 0 || k > 4 || in->n - 2 < k)
            return -1; /* indefinite, oversized or cut */
        if (in->p[2] == 0)
            return -1; /* leading zero: not minimal */
        for (size_t i = 0; i < k; i++)
            len = (len << 8) | in->p[2 + i];
        if (len < 0x80)
            return -1; /* should have been the short form */
        hdr = 2 + k;
    }
    if (len > in->n - hdr)
        return -1;
    *tag = t;
    val->p = in->p + hdr;
    val->n = len;
    in->p += hdr + len;
    in->n -= hdr + len;
    return 0;
}

/* ---- times ---------------------------------------------------------------------------------- */

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int digits(const char *s, size_t n, int64_t *out)
{
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

ward_err dcap_parse_time(const char *s, size_t len, const char *what, int64_t *out)
{
    /* 0123456789012345678 9 */
    /* YYYY-MM-DDTHH:MM:SSZ  */
    int64_t y, mo, d, h, mi, se;
    if (s == NULL || len != 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
        s[16] != ':' || s[19] != 'Z' || digits(s, 4, &y) || digits(s + 5, 2, &mo) ||
        digits(s + 8, 2, &d) || digits(s + 11, 2, &h) || digits(s + 14, 2, &mi) ||
        digits(s + 17, 2, &se))
        return ward_err_set(WARD_ERR_FORMAT, "%s: not a time of the form YYYY-MM-DDTHH:MM:SSZ",
                            what);
    static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
        (mo == 2 && d == 29 && !leap) || h > 23 || mi > 59 || se > 59)
        return ward_err_set(WARD_ERR_FORMAT, "%s: %.20s is not a valid time", what, s);
    *out = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
    return WARD_OK;
}

void dcap_format_time(int64_t t, char buf[32])
{
    struct tm tm;
    time_t tt = (time_t)t;
    if (gmtime_r(&tt, &tm) == NULL || strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        strcpy(buf, "(unrepresentable time)");
}

/* ---- PEM ------------------------------------------------------------------------------------ */

/* Length of the line ending at pos (LF or CRLF), 0 if there is none there. */
static size_t eol_at(const char *s, size_t len, size_t pos)
{
    if (pos < len && s[pos] == '\n')
        return 1;
    if (pos + 1 < len && s[pos] == '\r' && s[pos + 1] == '\n')
        return 2;
    return 0;
}

static int is_b64(char ch)
{
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
           ch == '+' || ch == '/' || ch == '=';
}

/* Matches "-----<word> <label>-----" at *pos, then an end of line or the end of the text. */
static int match_boundary(const char *s, size_t len, size_t *pos, const char *word,
                          const char *label, int need_eol)
{
    size_t wl = strlen(word), ll = strlen(label);
    size_t need = 5 + wl + 1 + ll + 5;
    size_t p = *pos;
    if (len - p < need)
        return 0;
    if (memcmp(s + p, "-----", 5) != 0 || memcmp(s + p + 5, word, wl) != 0 ||
        s[p + 5 + wl] != ' ' || memcmp(s + p + 6 + wl, label, ll) != 0 ||
        memcmp(s + p + 6 + wl + ll, "-----", 5) != 0)
        return 0;
    p += need;
    size_t e = eol_at(s, len, p);
    if (e == 0 && need_eol)
        return 0;
    *pos = p + e;
    return 1;
}

void dcap_blobs_free(dcap_blob *b, size_t n)
{
    if (b == NULL)
        return;
    for (size_t i = 0; i < n; i++) {
        free(b[i].p);
        b[i].p = NULL;
        b[i].n = 0;
    }
}

ward_err dcap_pem_decode(const char *text, size_t len, const char *label, int allow_nul,
                         dcap_blob *out, size_t max, size_t *n)
{
    *n = 0;
    if (text == NULL || len == 0)
        return ward_err_set(WARD_ERR_FORMAT, "PEM: empty input");
    size_t pos = 0, count = 0;
    char *b64 = malloc(len);
    if (b64 == NULL)
        return ward_err_set(WARD_ERR_NOMEM, "PEM: out of memory");
    ward_err err = WARD_OK;
    for (;;) {
        size_t e = 0;
        while ((e = eol_at(text, len, pos)) != 0)
            pos += e;
        if (pos == len)
            break;
        if (allow_nul && pos == len - 1 && text[pos] == '\0') {
            pos++;
            break;
        }
        if (!match_boundary(text, len, &pos, "BEGIN", label, 1)) {
            err = ward_err_set(WARD_ERR_FORMAT,
                               "PEM: expected \"-----BEGIN %s-----\" at byte %zu", label, pos);
            break;
        }
        size_t b64_len = 0;
        for (;;) {
            if (pos < len && text[pos] == '-') {
                if (!match_boundary(text, len, &pos, "END", label, 0))
                    err = ward_err_set(WARD_ERR_FORMAT,
                                       "PEM: malformed END line at byte %zu", pos);
                break;
            }
            size_t start = pos;
            while (pos < len && is_b64(text[pos]))
                pos++;
            size_t line = pos - start;
            e = eol_at(text, len, pos);
            if (line == 0 || line > DCAP_MAX_PEM_LINE || e == 0) {
                err = ward_err_set(WARD_ERR_FORMAT, "PEM: malformed base64 line at byte %zu",
                                   start);
                break;
            }
            memcpy(b64 + b64_len, text + start, line);
            b64_len += line;
            pos += e;
        }
        if (err)
            break;
        if (count == max) {
            err = ward_err_set(WARD_ERR_FORMAT, "PEM: more than %zu %s blocks", max, label);
            break;
        }
        uint8_t *der = NULL;
        size_t der_len = 0;
        err = ward_base64_decode(b64, b64_len, &der, &der_len);
        if (err) {
            ward_err_wrap(WARD_ERR_FORMAT, "PEM block %zu", count + 1);
            err = WARD_ERR_FORMAT;
            break;
        }
        out[count].p = der;
        out[count].n = der_len;
        count++;
    }
    free(b64);
    if (err == WARD_OK && count == 0)
        err = ward_err_set(WARD_ERR_FORMAT, "PEM: no %s block", label);
    if (err) {
        dcap_blobs_free(out, count);
        return err;
    }
    *n = count;
    return WARD_OK;
}

/* ---- raw JSON spans ------------------------------------------------------------------------- */

static size_t skip_ws(const char *s, size_t n, size_t i)
{
    while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
        i++;
    return i;
}

/* At an opening quote: past the closing one. */
static int skip_string(const char *s, size_t n, size_t *i)
{
    size_t p = *i + 1;
    while (p < n) {
        if (s[p] == '\\') {
            p += 2;
            continue;
        }
        if (s[p] == '"') {
            *i = p + 1;
            return 0;
        }
        p++;
    }
    return -1;
}

static int skip_value(const char *s, size_t n, size_t *i)
{
    size_t p = *i;
    if (p >= n)
        return -1;
    if (s[p] == '"')
        return skip_string(s, n, i);
    if (s[p] == '{' || s[p] == '[') {
        size_t depth = 0;
        while (p < n) {
            char ch = s[p];
            if (ch == '"') {
                if (skip_string(s, n, &p))
                    return -1;
                continue;
            }
            if (ch == '{' || ch == '[') {
                depth++;
            } else if (ch == '}' || ch == ']') {
                if (depth == 0)
                    return -1;
                if (--depth == 0) {
                    *i = p + 1;
                    return 0;
                }
            }
            p++;
        }
        return -1;
    }
    while (p < n && s[p] != ',' && s[p] != '}' && s[p] != ']' && s[p] != ' ' && s[p] != '\t' &&
           s[p] != '\n' && s[p] != '\r')
        p++;
    if (p == *i)
        return -1;
    *i = p;
    return 0;
}

ward_err dcap_json_member_span(const char *text, size_t len, const char *key,
                               const char **span, size_t *span_len)
{
    size_t klen = strlen(key);
    size_t i = skip_ws(text, len, 0);
    if (i >= len || text[i] != '{')
        return ward_err_set(WARD_ERR_FORMAT, "JSON: not an object");
    i++;
    for (;;) {
        i = skip_ws(text, len, i);
        if (i < len && text[i] == '}')
            break;
        if (i >= len || text[i] != '"')
            return ward_err_set(WARD_ERR_FORMAT, "JSON: expected a member name");
        size_t kstart = i + 1;
        if (skip_string(text, len, &i))
            return ward_err_set(WARD_ERR_FORMAT, "JSON: unterminated member name");
        size_t kend = i - 1;
        if (memchr(text + kstart, '\\', kend - kstart) != NULL)
            return ward_err_set(WARD_ERR_FORMAT,
                                "JSON: escaped top-level member names are not accepted");
        i = skip_ws(text, len, i);
        if (i >= len || text[i] != ':')
            return ward_err_set(WARD_ERR_FORMAT, "JSON: expected ':'");
        i = skip_ws(text, len, i + 1);
        size_t vstart = i;
        if (skip_value(text, len, &i))
            return ward_err_set(WARD_ERR_FORMAT, "JSON: malformed member value");
        if (kend - kstart == klen && memcmp(text + kstart, key, klen) == 0) {
            *span = text + vstart;
            *span_len = i - vstart;
            return WARD_OK;
        }
        i = skip_ws(text, len, i);
        if (i < len && text[i] == ',') {
            i++;
            continue;
        }
        if (i < len && text[i] == '}')
            break;
        return ward_err_set(WARD_ERR_FORMAT, "JSON: expected ',' or '}'");
    }
    return ward_err_set(WARD_ERR_NOT_FOUND, "JSON: no member \"%s\"", key);
}
