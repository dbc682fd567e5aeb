/* libFuzzer target: strict JSON parsing, RFC 8785 canonicalisation and the hex/base64/base64url
 * decoders. Properties checked (a break traps):
 *   - canonicalising the canonical output again gives the same bytes;
 *   - the canonical output parses to a value equal to the parsed input (json_equal);
 *   - a decoder that accepts an input re-encodes to exactly that input (hex: up to letter case),
 *     since decoding is canonical-only. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ward/encoding.h"
#include "ward/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond)
{
    if (!cond)
        __builtin_trap();
}

static void fuzz_json(const char *text, size_t len)
{
    json_t *v = NULL;
    if (ward_json_parse(text, len, &v) != WARD_OK) {
        check(v == NULL);
        return;
    }
    check(v != NULL);

    char *c1 = NULL;
    size_t l1 = 0;
    ward_err err = ward_jcs_serialize(v, &c1, &l1);
    /* Real numbers and out-of-range integers are refused, as a format error only. */
    check(err == WARD_OK || err == WARD_ERR_FORMAT);
    if (err == WARD_OK) {
        check(c1 != NULL && c1[l1] == '\0');

        json_t *v2 = NULL;
        check(ward_json_parse(c1, l1, &v2) == WARD_OK);
        check(json_equal(v, v2));

        char *c2 = NULL;
        size_t l2 = 0;
        check(ward_jcs_serialize(v2, &c2, &l2) == WARD_OK);
        check(l1 == l2 && memcmp(c1, c2, l1) == 0);

        /* The one-step form agrees, from the original text too. */
        char *c3 = NULL;
        size_t l3 = 0;
        check(ward_jcs_from_text(text, len, &c3, &l3) == WARD_OK);
        check(l1 == l3 && memcmp(c1, c3, l1) == 0);

        free(c3);
        free(c2);
        json_decref(v2);
    } else {
        check(c1 == NULL);
    }
    free(c1);
    json_decref(v);
}

static int lower(int c)
{
    return (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c;
}

static void fuzz_hex(const char *text, size_t len)
{
    uint8_t *raw = NULL;
    size_t raw_len = 0;
    ward_err err = ward_hex_decode(text, len, &raw, &raw_len);
    if (err == WARD_OK) {
        check(raw != NULL && raw_len * 2 == len);
        char *enc = NULL;
        size_t enc_len = 0;
        check(ward_hex_encode(raw, raw_len, &enc, &enc_len) == WARD_OK);
        check(enc_len == len);
        for (size_t i = 0; i < len; i++)
            check(enc[i] == lower((unsigned char)text[i]));
        free(enc);
    } else {
        check(raw == NULL);
    }

    /* The fixed-size decoder agrees with the allocating one. */
    if (len % 2 == 0 && len <= 1024) {
        uint8_t fixed[512];
        ward_err ferr = ward_hex_decode_fixed(text, len, fixed, len / 2);
        check((ferr == WARD_OK) == (err == WARD_OK));
        if (ferr == WARD_OK && len > 0)
            check(memcmp(fixed, raw, len / 2) == 0);
    }
    free(raw);
}

typedef ward_err (*enc_fn)(const uint8_t *, size_t, char **, size_t *);
typedef ward_err (*dec_fn)(const char *, size_t, uint8_t **, size_t *);

static void fuzz_b64(dec_fn dec, enc_fn enc, const char *text, size_t len)
{
    uint8_t *raw = NULL;
    size_t raw_len = 0;
    if (dec(text, len, &raw, &raw_len) != WARD_OK) {
        check(raw == NULL);
        return;
    }
    check(raw != NULL);
    char *out = NULL;
    size_t out_len = 0;
    check(enc(raw, raw_len, &out, &out_len) == WARD_OK);
    check(out_len == len && memcmp(out, text, len) == 0);
    free(out);
    free(raw);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Copy into an exact-size heap buffer so that any read past size is caught. */
    char *text = malloc(size == 0 ? 1 : size);
    if (text == NULL)
        return 0;
    if (size != 0)
        memcpy(text, data, size);

    fuzz_json(text, size);
    fuzz_hex(text, size);
    fuzz_b64(ward_base64_decode, ward_base64_encode, text, size);
    fuzz_b64(ward_base64url_decode, ward_base64url_encode, text, size);

    free(text);
    return 0;
}
