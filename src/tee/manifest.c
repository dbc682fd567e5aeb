/* TA manifests and measurements (DESIGN 3). Formats in docs/formats.md, "TA measurement" and
 * "TA manifest".
 *
 * measurement = SHA-256( "WARD-TA-MEASUREMENT-v1" || 0x00 || u64le image_len || image
 *                        || u16le product_id || u16le svn || u64le attributes (bit 0 = debug)
 *                        || u64le heap_max || u32le threads_max || u32le n_calls
 *                        || for each call: u16le name_len || name )
 * signer      = SHA-256( DER SubjectPublicKeyInfo of the signing key )
 *
 * The manifest is one JSON object with exactly the members below, every one required; its
 * "signature" is ECDSA P-256 / SHA-256, raw r||s, base64url, over the RFC 8785 canonical form
 * of the object without "signature". The parser checks shape and values first (so that a
 * message names the bad member), then the signature. */
#include "ward/manifest.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ward/encoding.h"
#include "ward/json.h"
#include "ward/report.h"

#define MEASURE_DOMAIN "WARD-TA-MEASUREMENT-v1"
#define MIB (UINT64_C(1) << 20)
#define HEAP_MIN MIB
#define HEAP_MAX (UINT64_C(64) << 30)
#define THREADS_MAX 256u
#define CALL_NAME_MAX 64
/* Largest integer RFC 8785 (IEEE 754 doubles) represents exactly: bounds image_size. */
#define JSON_SAFE_MAX UINT64_C(9007199254740991)
/* Largest manifest text we parse: 256 calls of 64 characters fit many times over. */
#define MANIFEST_TEXT_MAX (256u * 1024u)
/* Longest base64 signer_key accepted (a P-256 SPKI is 91 bytes, 124 characters). */
#define SIGNER_KEY_B64_MAX 1024u
#define SIG_LEN 64
#define HASH_CHUNK ((size_t)1 << 20)

struct ward_manifest {
    char name[WARD_TA_NAME_MAX + 1];
    uint64_t image_size;
    uint8_t image_sha256[WARD_SHA256_LEN];
    uint16_t product_id;
    uint16_t svn;
    int debug;
    uint64_t heap_max;
    uint32_t threads_max;
    size_t n_calls;
    char **calls;
    uint8_t measurement[WARD_SHA256_LEN];
    uint8_t signer[WARD_SHA256_LEN];
};

/* The members of a version 1 manifest, all required. */
static const char *const members[] = {
    "version", "name",    "image_size",  "image_sha256", "product_id",
    "svn",     "debug",   "heap_max",    "threads_max",  "calls",
    "measurement", "signer_key", "signature",
};

/* ---- small helpers ------------------------------------------------------------------------ */

static void hex32(const uint8_t in[WARD_SHA256_LEN], char out[2 * WARD_SHA256_LEN + 1])
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < WARD_SHA256_LEN; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 0x0f];
    }
    out[2 * WARD_SHA256_LEN] = '\0';
}

/* Copies at most 64 bytes of untrusted text into dst (80 bytes) for an error message: bytes
 * outside printable ASCII become '?', quotes and backslashes too, "..." marks a cut. */
#define SNIP_MAX 64
static void snip(char dst[SNIP_MAX + 4], const char *src, size_t len)
{
    size_t n = len < SNIP_MAX ? len : SNIP_MAX;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)src[i];
        dst[i] = (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') ? (char)c : '?';
    }
    if (n < len)
        memcpy(dst + n, "...", 4);
    else
        dst[n] = '\0';
}

static void put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v & 0xffu);
    p[1] = (uint8_t)(v >> 8);
}

static void put_u32(uint8_t *p, uint32_t v)
{
    for (size_t i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put_u64(uint8_t *p, uint64_t v)
{
    for (size_t i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static int name_ok(const char *s, size_t len)
{
    if (len == 0 || len > WARD_TA_NAME_MAX)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

/* A C identifier: [A-Za-z_][A-Za-z0-9_]*, 1..CALL_NAME_MAX characters. */
static int call_name_ok(const char *s, size_t len)
{
    if (len == 0 || len > CALL_NAME_MAX)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        int alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
        if (!alpha && !(i > 0 && c >= '0' && c <= '9'))
            return 0;
    }
    return 1;
}

/* Checks what ward_ta_params holds; err is the code to fail with (INVALID_ARG for a caller's
 * params, FORMAT for a parsed manifest). The name is checked only when need_name. */
static ward_err check_params(const ward_ta_params *p, int need_name, ward_err err,
                             const char *what)
{
    char s[SNIP_MAX + 4];
    if (need_name) {
        if (p->name == NULL)
            return ward_err_set(err, "%s: no TA name", what);
        size_t len = strnlen(p->name, WARD_TA_NAME_MAX + 1);
        if (!name_ok(p->name, len)) {
            snip(s, p->name, len);
            return ward_err_set(err,
                                "%s: TA name \"%s\" is not 1..%d characters of A-Z a-z 0-9 _ -",
                                what, s, WARD_TA_NAME_MAX);
        }
    }
    if (p->heap_max < HEAP_MIN || p->heap_max > HEAP_MAX)
        return ward_err_set(err, "%s: heap_max %llu is out of range (1 MiB .. 64 GiB)", what,
                            (unsigned long long)p->heap_max);
    if (p->threads_max < 1 || p->threads_max > THREADS_MAX)
        return ward_err_set(err, "%s: threads_max %u is out of range (1 .. %u)", what,
                            (unsigned)p->threads_max, THREADS_MAX);
    if (p->n_calls < 1 || p->n_calls > WARD_TA_MAX_CALLS)
        return ward_err_set(err, "%s: %zu calls; a TA exports 1 .. %d", what, p->n_calls,
                            WARD_TA_MAX_CALLS);
    if (p->calls == NULL)
        return ward_err_set(err, "%s: NULL call list", what);
    for (size_t i = 0; i < p->n_calls; i++) {
        if (p->calls[i] == NULL)
            return ward_err_set(err, "%s: call %zu has no name", what, i);
        size_t len = strnlen(p->calls[i], CALL_NAME_MAX + 1);
        if (!call_name_ok(p->calls[i], len)) {
            snip(s, p->calls[i], len);
            return ward_err_set(err,
                                "%s: call %zu name \"%s\" is not a C identifier of 1..%d "
                                "characters", what, i, s, CALL_NAME_MAX);
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(p->calls[i], p->calls[j]) == 0)
                return ward_err_set(err, "%s: call name \"%s\" appears twice (ids %zu and %zu)",
                                    what, p->calls[i], j, i);
        }
    }
    return WARD_OK;
}

/* ---- measurement ---------------------------------------------------------------------------- */

/* Feeds the fields after the image bytes. Call names were checked: each fits a u16. */
static ward_err measure_tail(ward_hash_ctx *h, const ward_ta_params *p)
{
    uint8_t buf[2 + 2 + 8 + 8 + 4 + 4];
    put_u16(buf, p->product_id);
    put_u16(buf + 2, p->svn);
    put_u64(buf + 4, p->debug ? WARD_ATTR_DEBUG : 0);
    put_u64(buf + 12, p->heap_max);
    put_u32(buf + 20, p->threads_max);
    put_u32(buf + 24, (uint32_t)p->n_calls);
    ward_err err = ward_hash_update(h, buf, sizeof buf);
    for (size_t i = 0; err == WARD_OK && i < p->n_calls; i++) {
        size_t len = strlen(p->calls[i]);
        uint8_t lenbuf[2];
        put_u16(lenbuf, (uint16_t)len);
        err = ward_hash_update(h, lenbuf, sizeof lenbuf);
        if (err == WARD_OK)
            err = ward_hash_update(h, p->calls[i], len);
    }
    return err;
}

/* One pass over the image: its SHA-256 (when sha is not NULL) and its measurement under p. */
static ward_err digest_image(const uint8_t *image, size_t len, const ward_ta_params *p,
                             uint8_t sha[WARD_SHA256_LEN], uint8_t meas[WARD_SHA256_LEN])
{
    ward_hash_ctx *hm = NULL;
    ward_hash_ctx *hs = NULL;
    ward_err err = ward_hash_new(WARD_HASH_SHA256, &hm);
    if (err == WARD_OK && sha != NULL)
        err = ward_hash_new(WARD_HASH_SHA256, &hs);
    if (err == WARD_OK) {
        uint8_t head[sizeof MEASURE_DOMAIN + 8]; /* domain, its NUL (the 0x00), u64le length */
        memcpy(head, MEASURE_DOMAIN, sizeof MEASURE_DOMAIN);
        put_u64(head + sizeof MEASURE_DOMAIN, (uint64_t)len);
        err = ward_hash_update(hm, head, sizeof head);
    }
    for (size_t off = 0; err == WARD_OK && off < len;) {
        size_t n = len - off < HASH_CHUNK ? len - off : HASH_CHUNK;
        err = ward_hash_update(hm, image + off, n);
        if (err == WARD_OK && hs != NULL)
            err = ward_hash_update(hs, image + off, n);
        off += n;
    }
    if (err == WARD_OK)
        err = measure_tail(hm, p);
    if (err == WARD_OK)
        err = ward_hash_final(hm, meas);
    if (err == WARD_OK && hs != NULL)
        err = ward_hash_final(hs, sha);
    ward_hash_free(hm);
    ward_hash_free(hs);
    if (err != WARD_OK)
        return ward_err_wrap(err, "TA measurement");
    return WARD_OK;
}

static ward_err check_image_arg(const uint8_t *image, size_t len, const char *what)
{
    if (image == NULL || len == 0)
        return ward_err_set(WARD_ERR_INVALID_ARG, "%s: no image (NULL or empty)", what);
    if ((uint64_t)len > JSON_SAFE_MAX)
        return ward_err_set(WARD_ERR_OVERFLOW, "%s: image of %zu bytes is too large", what, len);
    return WARD_OK;
}

ward_err ward_ta_measure(const uint8_t *image, size_t image_len, const ward_ta_params *params,
                         uint8_t out[WARD_SHA256_LEN])
{
    static const char what[] = "TA measurement";
    if (params == NULL || out == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "%s: NULL argument", what);
    ward_err err = check_image_arg(image, image_len, what);
    if (err == WARD_OK)
        err = check_params(params, 0, WARD_ERR_INVALID_ARG, what);
    if (err != WARD_OK)
        return err;
    return digest_image(image, image_len, params, NULL, out);
}

/* ---- signing ---------------------------------------------------------------------------------- */

/* Sets obj[key] = value (stolen, also on failure). */
static ward_err set_member(json_t *obj, const char *key, json_t *value)
{
    if (value == NULL || json_object_set_new(obj, key, value) != 0)
        return ward_err_set(WARD_ERR_NOMEM, "TA manifest: out of memory building \"%s\"", key);
    return WARD_OK;
}

/* The signature over the canonical form of obj (which must not hold "signature"), base64url. */
static ward_err sign_object(const json_t *obj, const ward_pkey *key, char **sig_b64)
{
    char *canon = NULL;
    size_t canon_len = 0;
    uint8_t *sig = NULL;
    size_t sig_len = 0;
    ward_err err = ward_jcs_serialize(obj, &canon, &canon_len);
    if (err == WARD_OK)
        err = ward_sign(key, WARD_HASH_SHA256, WARD_SIG_RAW, canon, canon_len, &sig, &sig_len);
    if (err == WARD_OK && sig_len != SIG_LEN)
        err = ward_err_set(WARD_ERR_CRYPTO, "TA manifest: signature of %zu bytes, expected %d",
                           sig_len, SIG_LEN);
    if (err == WARD_OK)
        err = ward_base64url_encode(sig, sig_len, sig_b64, NULL);
    free(canon);
    free(sig);
    return err;
}

ward_err ward_manifest_sign(const uint8_t *image, size_t image_len, const ward_ta_params *params,
                            const ward_pkey *signer_key, char **json, size_t *json_len)
{
    static const char what[] = "TA manifest signing";
    if (params == NULL || signer_key == NULL || json == NULL || json_len == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "%s: NULL argument", what);
    *json = NULL;
    *json_len = 0;
    ward_err err = check_image_arg(image, image_len, what);
    if (err == WARD_OK)
        err = check_params(params, 1, WARD_ERR_INVALID_ARG, what);
    if (err != WARD_OK)
        return err;
    if (ward_pkey_type(signer_key) != WARD_KEY_EC_P256 || !ward_pkey_is_private(signer_key))
        return ward_err_set(WARD_ERR_INVALID_ARG,
                            "%s: the signing key must be an ECDSA P-256 private key", what);

    uint8_t sha[WARD_SHA256_LEN];
    uint8_t meas[WARD_SHA256_LEN];
    char sha_hex[2 * WARD_SHA256_LEN + 1];
    char meas_hex[2 * WARD_SHA256_LEN + 1];
    uint8_t *spki = NULL;
    size_t spki_len = 0;
    char *spki_b64 = NULL;
    char *sig_b64 = NULL;
    json_t *obj = NULL;
    json_t *calls = NULL;

    err = digest_image(image, image_len, params, sha, meas);
    if (err != WARD_OK)
        goto done;
    hex32(sha, sha_hex);
    hex32(meas, meas_hex);
    err = ward_pkey_spki_der(signer_key, &spki, &spki_len);
    if (err == WARD_OK)
        err = ward_base64_encode(spki, spki_len, &spki_b64, NULL);
    if (err != WARD_OK)
        goto done;

    obj = json_object();
    calls = json_array();
    if (obj == NULL || calls == NULL) {
        json_decref(calls);
        err = ward_err_set(WARD_ERR_NOMEM, "%s: out of memory", what);
        goto done;
    }
    for (size_t i = 0; i < params->n_calls; i++) {
        if (json_array_append_new(calls, json_string(params->calls[i])) != 0) {
            json_decref(calls);
            err = ward_err_set(WARD_ERR_NOMEM, "%s: out of memory", what);
            goto done;
        }
    }
    err = set_member(obj, "calls", calls);
    if (err == WARD_OK)
        err = set_member(obj, "version", json_integer(WARD_MANIFEST_VERSION));
    if (err == WARD_OK)
        err = set_member(obj, "name", json_string(params->name));
    if (err == WARD_OK)
        err = set_member(obj, "image_size", json_integer((json_int_t)image_len));
    if (err == WARD_OK)
        err = set_member(obj, "image_sha256", json_string(sha_hex));
    if (err == WARD_OK)
        err = set_member(obj, "product_id", json_integer(params->product_id));
    if (err == WARD_OK)
        err = set_member(obj, "svn", json_integer(params->svn));
    if (err == WARD_OK)
        err = set_member(obj, "debug", json_boolean(params->debug != 0));
    if (err == WARD_OK)
        err = set_member(obj, "heap_max", json_integer((json_int_t)params->heap_max));
    if (err == WARD_OK)
        err = set_member(obj, "threads_max", json_integer((json_int_t)params->threads_max));
    if (err == WARD_OK)
        err = set_member(obj, "measurement", json_string(meas_hex));
    if (err == WARD_OK)
        err = set_member(obj, "signer_key", json_string(spki_b64));
    if (err == WARD_OK)
        err = sign_object(obj, signer_key, &sig_b64);
    if (err == WARD_OK)
        err = set_member(obj, "signature", json_string(sig_b64));
    if (err != WARD_OK)
        goto done;

    /* Members sorted, two-space indent, a final newline: the same inputs give the same text
     * but for the (randomised) signature. */
    char *text = json_dumps(obj, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
    if (text == NULL) {
        err = ward_err_set(WARD_ERR_NOMEM, "%s: cannot write the JSON", what);
        goto done;
    }
    size_t n = strlen(text);
    char *withnl = realloc(text, n + 2);
    if (withnl == NULL) {
        free(text);
        err = ward_err_set(WARD_ERR_NOMEM, "%s: out of memory", what);
        goto done;
    }
    withnl[n] = '\n';
    withnl[n + 1] = '\0';
    *json = withnl;
    *json_len = n + 1;

done:
    json_decref(obj);
    free(spki);
    free(spki_b64);
    free(sig_b64);
    return err;
}

/* ---- parsing ---------------------------------------------------------------------------------- */

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a real number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "unknown";
}

/* obj[key], which must exist (checked before) and be of type want ("a string", ...). */
static ward_err member_of_type(const json_t *obj, const char *key, json_type want,
                               const char *want_name, const json_t **out)
{
    const json_t *v = json_object_get(obj, key);
    if (v == NULL)
        return ward_err_set(WARD_ERR_FORMAT, "TA manifest: missing member \"%s\"", key);
    int ok = json_typeof(v) == want ||
             (want == JSON_TRUE && json_typeof(v) == JSON_FALSE);
    if (!ok) {
        if (json_is_real(v))
            return ward_err_set(WARD_ERR_FORMAT,
                                "TA manifest: member \"%s\" is a real number; manifests hold "
                                "only integers, strings, booleans and arrays", key);
        return ward_err_set(WARD_ERR_FORMAT, "TA manifest: member \"%s\" must be %s, not %s",
                            key, want_name, type_name(v));
    }
    *out = v;
    return WARD_OK;
}

static ward_err get_uint(const json_t *obj, const char *key, uint64_t min, uint64_t max,
                         uint64_t *out)
{
    const json_t *v = NULL;
    ward_err err = member_of_type(obj, key, JSON_INTEGER, "an integer", &v);
    if (err != WARD_OK)
        return err;
    json_int_t i = json_integer_value(v);
    if (i < 0 || (uint64_t)i < min || (uint64_t)i > max)
        return ward_err_set(WARD_ERR_FORMAT,
                            "TA manifest: member \"%s\" is %lld, outside %llu .. %llu", key,
                            (long long)i, (unsigned long long)min, (unsigned long long)max);
    *out = (uint64_t)i;
    return WARD_OK;
}

static ward_err get_string(const json_t *obj, const char *key, const char **s, size_t *len)
{
    const json_t *v = NULL;
    ward_err err = member_of_type(obj, key, JSON_STRING, "a string", &v);
    if (err != WARD_OK)
        return err;
    *s = json_string_value(v);
    *len = json_string_length(v);
    return WARD_OK;
}

/* A SHA-256 value as 64 lower-case hex digits. */
static ward_err get_hex32(const json_t *obj, const char *key, uint8_t out[WARD_SHA256_LEN])
{
    const char *s = NULL;
    size_t len = 0;
    ward_err err = get_string(obj, key, &s, &len);
    if (err != WARD_OK)
        return err;
    int ok = len == 2 * WARD_SHA256_LEN;
    for (size_t i = 0; ok && i < len; i++)
        ok = (s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f');
    if (!ok || ward_hex_decode_fixed(s, len, out, WARD_SHA256_LEN) != WARD_OK)
        return ward_err_set(WARD_ERR_FORMAT,
                            "TA manifest: member \"%s\" must be 64 lower-case hex digits (a "
                            "SHA-256 value)", key);
    return WARD_OK;
}

static ward_err get_calls(const json_t *obj, char ***calls_out, size_t *n_out)
{
    const json_t *arr = NULL;
    ward_err err = member_of_type(obj, "calls", JSON_ARRAY, "an array of strings", &arr);
    if (err != WARD_OK)
        return err;
    size_t n = json_array_size(arr);
    if (n < 1 || n > WARD_TA_MAX_CALLS)
        return ward_err_set(WARD_ERR_FORMAT,
                            "TA manifest: \"calls\" has %zu entries; a TA exports 1 .. %d", n,
                            WARD_TA_MAX_CALLS);
    char **calls = calloc(n, sizeof *calls);
    if (calls == NULL)
        return ward_err_set(WARD_ERR_NOMEM, "TA manifest: out of memory");
    for (size_t i = 0; i < n && err == WARD_OK; i++) {
        const json_t *v = json_array_get(arr, i);
        if (!json_is_string(v)) {
            err = ward_err_set(WARD_ERR_FORMAT,
                               "TA manifest: \"calls\"[%zu] must be a string, not %s", i,
                               type_name(v));
            break;
        }
        const char *s = json_string_value(v);
        size_t len = json_string_length(v);
        if (!call_name_ok(s, len)) {
            char sn[SNIP_MAX + 4];
            snip(sn, s, len);
            err = ward_err_set(WARD_ERR_FORMAT,
                               "TA manifest: \"calls\"[%zu] \"%s\" is not a C identifier of "
                               "1..%d characters", i, sn, CALL_NAME_MAX);
            break;
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(calls[j], s) == 0) {
                err = ward_err_set(WARD_ERR_FORMAT,
                                   "TA manifest: call name \"%s\" appears twice (ids %zu and "
                                   "%zu)", s, j, i);
                break;
            }
        }
        if (err != WARD_OK)
            break;
        calls[i] = strdup(s);
        if (calls[i] == NULL)
            err = ward_err_set(WARD_ERR_NOMEM, "TA manifest: out of memory");
    }
    if (err != WARD_OK) {
        for (size_t i = 0; i < n; i++)
            free(calls[i]);
        free(calls);
        return err;
    }
    *calls_out = calls;
    *n_out = n;
    return WARD_OK;
}

/* The signer key (P-256 SPKI, base64) and its identity. */
static ward_err get_signer_key(const json_t *obj, ward_pkey **key, uint8_t signer[WARD_SHA256_LEN])
{
    const char *s = NULL;
    size_t len = 0;
    ward_err err = get_string(obj, "signer_key", &s, &len);
    if (err != WARD_OK)
        return err;
    if (len == 0 || len > SIGNER_KEY_B64_MAX)
        return ward_err_set(WARD_ERR_FORMAT,
                            "TA manifest: \"signer_key\" is %zu characters; expected the base64 "
                            "of a P-256 SubjectPublicKeyInfo", len);
    uint8_t *der = NULL;
    size_t der_len = 0;
    err = ward_base64_decode(s, len, &der, &der_len);
    if (err != WARD_OK)
        return ward_err_wrap(WARD_ERR_FORMAT, "TA manifest: \"signer_key\" is not base64");
    err = ward_pkey_from_spki_der(der, der_len, key);
    if (err != WARD_OK) {
        free(der);
        return ward_err_wrap(WARD_ERR_FORMAT, "TA manifest: \"signer_key\"");
    }
    if (ward_pkey_type(*key) != WARD_KEY_EC_P256) {
        free(der);
        ward_pkey_free(*key);
        *key = NULL;
        return ward_err_set(WARD_ERR_FORMAT,
                            "TA manifest: \"signer_key\" is not an ECDSA P-256 key");
    }
    err = ward_hash(WARD_HASH_SHA256, der, der_len, signer);
    free(der);
    if (err != WARD_OK) {
        ward_pkey_free(*key);
        *key = NULL;
    }
    return err;
}

static ward_err get_signature(const json_t *obj, uint8_t sig[SIG_LEN])
{
    const char *s = NULL;
    size_t len = 0;
    ward_err err = get_string(obj, "signature", &s, &len);
    if (err != WARD_OK)
        return err;
    uint8_t *raw = NULL;
    size_t raw_len = 0;
    /* 64 bytes are 86 base64url characters; refuse anything longer before decoding. */
    if (len != 86 || ward_base64url_decode(s, len, &raw, &raw_len) != WARD_OK ||
        raw_len != SIG_LEN) {
        free(raw);
        return ward_err_set(WARD_ERR_FORMAT,
                            "TA manifest: \"signature\" must be the base64url (unpadded) of a "
                            "64-byte ECDSA P-256 r||s signature");
    }
    memcpy(sig, raw, SIG_LEN);
    free(raw);
    return WARD_OK;
}

static ward_err verify_signature(const json_t *obj, const ward_pkey *key,
                                 const uint8_t sig[SIG_LEN])
{
    json_t *unsigned_obj = json_copy((json_t *)obj); /* shallow: the members are shared */
    if (unsigned_obj == NULL)
        return ward_err_set(WARD_ERR_NOMEM, "TA manifest: out of memory");
    char *canon = NULL;
    size_t canon_len = 0;
    ward_err err = json_object_del(unsigned_obj, "signature") == 0
                       ? ward_jcs_serialize(unsigned_obj, &canon, &canon_len)
                       : ward_err_set(WARD_ERR_FORMAT, "TA manifest: no \"signature\"");
    json_decref(unsigned_obj);
    if (err != WARD_OK)
        return ward_err_wrap(err, "TA manifest");
    err = ward_verify(key, WARD_HASH_SHA256, WARD_SIG_RAW, canon, canon_len, sig, SIG_LEN);
    free(canon);
    if (err == WARD_ERR_VERIFY)
        return ward_err_set(WARD_ERR_VERIFY,
                            "TA manifest: the signature does not verify with the manifest's "
                            "signer_key (the manifest was altered, or signed by another key)");
    if (err != WARD_OK)
        return ward_err_wrap(err, "TA manifest: signature check");
    return WARD_OK;
}

/* Every member known, every known member present: unknown ones first, so that a typo in a
 * member's name is reported as what it is. */
static ward_err check_member_names(const json_t *obj)
{
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)obj, key, v) {
        int known = 0;
        for (size_t i = 0; i < sizeof members / sizeof members[0] && !known; i++)
            known = strcmp(key, members[i]) == 0;
        if (!known) {
            char s[SNIP_MAX + 4];
            snip(s, key, strlen(key));
            return ward_err_set(WARD_ERR_FORMAT, "TA manifest: unknown member \"%s\"", s);
        }
    }
    for (size_t i = 0; i < sizeof members / sizeof members[0]; i++) {
        if (json_object_get(obj, members[i]) == NULL)
            return ward_err_set(WARD_ERR_FORMAT, "TA manifest: missing member \"%s\"",
                                members[i]);
    }
    return WARD_OK;
}

/* Shape and values of every member but the key and signature. */
static ward_err parse_fields(const json_t *obj, ward_manifest *m)
{
    uint64_t v = 0;
    ward_err err = get_uint(obj, "version", 0, UINT16_MAX, &v);
    if (err != WARD_OK)
        return err;
    if (v != WARD_MANIFEST_VERSION)
        return ward_err_set(WARD_ERR_UNSUPPORTED,
                            "TA manifest: version %llu is not supported (this build knows %d)",
                            (unsigned long long)v, WARD_MANIFEST_VERSION);
    const char *s = NULL;
    size_t len = 0;
    if ((err = get_string(obj, "name", &s, &len)) != WARD_OK)
        return err;
    if (!name_ok(s, len)) {
        char sn[SNIP_MAX + 4];
        snip(sn, s, len);
        return ward_err_set(WARD_ERR_FORMAT,
                            "TA manifest: \"name\" \"%s\" is not 1..%d characters of A-Z a-z 0-9 "
                            "_ -", sn, WARD_TA_NAME_MAX);
    }
    memcpy(m->name, s, len);
    m->name[len] = '\0';
    if ((err = get_uint(obj, "image_size", 1, JSON_SAFE_MAX, &m->image_size)) != WARD_OK ||
        (err = get_hex32(obj, "image_sha256", m->image_sha256)) != WARD_OK)
        return err;
    if ((err = get_uint(obj, "product_id", 0, UINT16_MAX, &v)) != WARD_OK)
        return err;
    m->product_id = (uint16_t)v;
    if ((err = get_uint(obj, "svn", 0, UINT16_MAX, &v)) != WARD_OK)
        return err;
    m->svn = (uint16_t)v;
    const json_t *b = NULL;
    if ((err = member_of_type(obj, "debug", JSON_TRUE, "a boolean", &b)) != WARD_OK)
        return err;
    m->debug = json_is_true(b);
    if ((err = get_uint(obj, "heap_max", HEAP_MIN, HEAP_MAX, &m->heap_max)) != WARD_OK)
        return err;
    if ((err = get_uint(obj, "threads_max", 1, THREADS_MAX, &v)) != WARD_OK)
        return err;
    m->threads_max = (uint32_t)v;
    if ((err = get_calls(obj, &m->calls, &m->n_calls)) != WARD_OK)
        return err;
    return get_hex32(obj, "measurement", m->measurement);
}

ward_err ward_manifest_parse(const char *json, size_t len, ward_manifest **out)
{
    if (out == NULL || json == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "TA manifest: NULL argument");
    *out = NULL;
    if (len > MANIFEST_TEXT_MAX)
        return ward_err_set(WARD_ERR_FORMAT, "TA manifest: %zu bytes; at most %u", len,
                            MANIFEST_TEXT_MAX);
    json_t *obj = NULL;
    ward_err err = ward_json_parse(json, len, &obj);
    if (err != WARD_OK)
        return ward_err_wrap(err, "TA manifest");
    ward_manifest *m = NULL;
    ward_pkey *key = NULL;
    uint8_t sig[SIG_LEN];
    if (!json_is_object(obj)) {
        err = ward_err_set(WARD_ERR_FORMAT, "TA manifest: not a JSON object");
        goto done;
    }
    if ((err = check_member_names(obj)) != WARD_OK)
        goto done;
    m = calloc(1, sizeof *m);
    if (m == NULL) {
        err = ward_err_set(WARD_ERR_NOMEM, "TA manifest: out of memory");
        goto done;
    }
    if ((err = parse_fields(obj, m)) != WARD_OK ||
        (err = get_signer_key(obj, &key, m->signer)) != WARD_OK ||
        (err = get_signature(obj, sig)) != WARD_OK ||
        (err = verify_signature(obj, key, sig)) != WARD_OK)
        goto done;
    *out = m;
    m = NULL;

done:
    ward_manifest_free(m);
    ward_pkey_free(key);
    json_decref(obj);
    return err;
}

static void params_of(const ward_manifest *m, ward_ta_params *p)
{
    memset(p, 0, sizeof *p);
    p->name = m->name;
    p->product_id = m->product_id;
    p->svn = m->svn;
    p->debug = m->debug;
    p->heap_max = m->heap_max;
    p->threads_max = m->threads_max;
    p->calls = (const char *const *)m->calls;
    p->n_calls = m->n_calls;
}

ward_err ward_manifest_check_image(const ward_manifest *m, const uint8_t *image, size_t len)
{
    if (m == NULL || (image == NULL && len != 0))
        return ward_err_set(WARD_ERR_INVALID_ARG, "TA image check: NULL argument");
    if ((uint64_t)len != m->image_size)
        return ward_err_set(WARD_ERR_VERIFY,
                            "image size differs: the manifest says %llu bytes, the image has %zu",
                            (unsigned long long)m->image_size, len);
    ward_ta_params p;
    params_of(m, &p);
    uint8_t sha[WARD_SHA256_LEN];
    uint8_t meas[WARD_SHA256_LEN];
    ward_err err = digest_image(image, len, &p, sha, meas);
    if (err != WARD_OK)
        return err;
    char want[2 * WARD_SHA256_LEN + 1];
    char got[2 * WARD_SHA256_LEN + 1];
    if (memcmp(sha, m->image_sha256, sizeof sha) != 0) {
        hex32(m->image_sha256, want);
        hex32(sha, got);
        return ward_err_set(WARD_ERR_VERIFY,
                            "image hash differs from the manifest's image_sha256: manifest says "
                            "%s, image gives %s", want, got);
    }
    if (memcmp(meas, m->measurement, sizeof meas) != 0) {
        hex32(m->measurement, want);
        hex32(meas, got);
        return ward_err_set(WARD_ERR_VERIFY, "measurement differs: manifest says %s, image gives %s",
                            want, got);
    }
    return WARD_OK;
}

void ward_manifest_free(ward_manifest *m)
{
    if (m == NULL)
        return;
    if (m->calls != NULL) {
        for (size_t i = 0; i < m->n_calls; i++)
            free(m->calls[i]);
        free(m->calls);
    }
    free(m);
}

const char *ward_manifest_name(const ward_manifest *m)
{
    return m == NULL ? NULL : m->name;
}

void ward_manifest_measurement(const ward_manifest *m, uint8_t out[WARD_SHA256_LEN])
{
    if (m == NULL)
        memset(out, 0, WARD_SHA256_LEN);
    else
        memcpy(out, m->measurement, WARD_SHA256_LEN);
}

void ward_manifest_signer(const ward_manifest *m, uint8_t out[WARD_SHA256_LEN])
{
    if (m == NULL)
        memset(out, 0, WARD_SHA256_LEN);
    else
        memcpy(out, m->signer, WARD_SHA256_LEN);
}

uint16_t ward_manifest_product_id(const ward_manifest *m)
{
    return m == NULL ? 0 : m->product_id;
}

uint16_t ward_manifest_svn(const ward_manifest *m)
{
    return m == NULL ? 0 : m->svn;
}

int ward_manifest_debug(const ward_manifest *m)
{
    /* No manifest: report the least trusted answer. */
    return m == NULL ? 1 : m->debug;
}

uint64_t ward_manifest_heap_max(const ward_manifest *m)
{
    return m == NULL ? 0 : m->heap_max;
}

uint32_t ward_manifest_threads_max(const ward_manifest *m)
{
    return m == NULL ? 0 : m->threads_max;
}

size_t ward_manifest_n_calls(const ward_manifest *m)
{
    return m == NULL ? 0 : m->n_calls;
}

const char *ward_manifest_call_name(const ward_manifest *m, size_t i)
{
    if (m == NULL || i >= m->n_calls)
        return NULL;
    return m->calls[i];
}

ward_err ward_manifest_call_id(const ward_manifest *m, const char *name, uint32_t *id)
{
    if (m == NULL || name == NULL || id == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "TA call lookup: NULL argument");
    for (size_t i = 0; i < m->n_calls; i++) {
        if (strcmp(m->calls[i], name) == 0) {
            *id = (uint32_t)i;
            return WARD_OK;
        }
    }
    char s[SNIP_MAX + 4];
    snip(s, name, strnlen(name, SNIP_MAX + 1));
    return ward_err_set(WARD_ERR_NOT_FOUND, "TA \"%s\" exports no call \"%s\"", m->name, s);
}
