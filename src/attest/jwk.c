/* JSON Web Keys (RFC 7517/7518): public EC P-256/P-384 and RSA keys, strictly. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attest/policy_internal.h"
#include "ward/ear.h"
#include "ward/encoding.h"
#include "ward/json.h"

static ward_err jwk_str(const json_t *jwk, const char *name, int required, const char **s,
                        size_t *len)
{
    const json_t *v = json_object_get(jwk, name);
    *s = NULL;
    *len = 0;
    if (v == NULL) {
        if (required)
            return ward_err_set(WARD_ERR_FORMAT, "jwk: \"%s\" is required", name);
        return WARD_OK;
    }
    if (!json_is_string(v))
        return ward_err_set(WARD_ERR_FORMAT, "jwk: \"%s\" must be a string", name);
    *s = json_string_value(v);
    *len = json_string_length(v);
    if (memchr(*s, '\0', *len) != NULL)
        return ward_err_set(WARD_ERR_FORMAT, "jwk: \"%s\" contains NUL", name);
    return WARD_OK;
}

static int str_is(const char *s, size_t len, const char *lit)
{
    return s != NULL && strlen(lit) == len && memcmp(s, lit, len) == 0;
}

static ward_err b64_member(const json_t *jwk, const char *name, uint8_t **out, size_t *out_len)
{
    const char *s = NULL;
    size_t len = 0;
    ward_err e = jwk_str(jwk, name, 1, &s, &len);
    if (e != WARD_OK)
        return e;
    if (len == 0)
        return ward_err_set(WARD_ERR_FORMAT, "jwk: \"%s\" is empty", name);
    if (ward_base64url_decode(s, len, out, out_len) != WARD_OK)
        return ward_err_set(WARD_ERR_FORMAT, "jwk: \"%s\" is not unpadded base64url", name);
    return WARD_OK;
}

static ward_err jwk_ec(const json_t *jwk, ward_pkey **out)
{
    const char *crv = NULL, *alg = NULL;
    size_t crv_len = 0, alg_len = 0;
    ward_err e = jwk_str(jwk, "crv", 1, &crv, &crv_len);
    if (e != WARD_OK)
        return e;
    if ((e = jwk_str(jwk, "alg", 0, &alg, &alg_len)) != WARD_OK)
        return e;
    ward_key_type type;
    size_t coord;
    const char *want_alg;
    if (str_is(crv, crv_len, "P-256")) {
        type = WARD_KEY_EC_P256, coord = 32, want_alg = "ES256";
    } else if (str_is(crv, crv_len, "P-384")) {
        type = WARD_KEY_EC_P384, coord = 48, want_alg = "ES384";
    } else {
        char shown[32];
        ward_policy_printable(crv, crv_len, shown, sizeof shown);
        return ward_err_set(WARD_ERR_UNSUPPORTED, "jwk: curve \"%s\" (P-256 or P-384 only)",
                            shown);
    }
    if (alg != NULL && !str_is(alg, alg_len, want_alg))
        return ward_err_set(WARD_ERR_FORMAT, "jwk: \"alg\" does not match curve %s (%s)",
                            coord == 32 ? "P-256" : "P-384", want_alg);
    uint8_t *x = NULL, *y = NULL;
    size_t x_len = 0, y_len = 0;
    if ((e = b64_member(jwk, "x", &x, &x_len)) != WARD_OK)
        return e;
    if ((e = b64_member(jwk, "y", &y, &y_len)) != WARD_OK) {
        free(x);
        return e;
    }
    if (x_len != coord || y_len != coord) {
        free(x);
        free(y);
        return ward_err_set(WARD_ERR_FORMAT, "jwk: x and y must be %zu bytes each (got %zu, %zu)",
                            coord, x_len, y_len);
    }
    uint8_t raw[97];
    raw[0] = 0x04;
    memcpy(raw + 1, x, coord);
    memcpy(raw + 1 + coord, y, coord);
    free(x);
    free(y);
    e = ward_pkey_from_raw_public(type, raw, 1 + 2 * coord, out);
    if (e != WARD_OK)
        return ward_err_wrap(WARD_ERR_FORMAT, "jwk: the point is not on the curve");
    return WARD_OK;
}

static ward_err jwk_rsa(const json_t *jwk, ward_pkey **out)
{
    uint8_t *n = NULL, *e_ = NULL;
    size_t n_len = 0, e_len = 0;
    ward_err e = b64_member(jwk, "n", &n, &n_len);
    if (e != WARD_OK)
        return e;
    if ((e = b64_member(jwk, "e", &e_, &e_len)) != WARD_OK) {
        free(n);
        return e;
    }
    e = ward_pkey_from_rsa_public(n, n_len, e_, e_len, out);
    free(n);
    free(e_);
    if (e != WARD_OK)
        return ward_err_wrap(e, "jwk: RSA key");
    return WARD_OK;
}

ward_err ward_jwk_from_json(const json_t *jwk, ward_pkey **out)
{
    static const char *const allowed[] = {"kty", "crv", "x",       "y",   "n",   "e",
                                          "alg", "use", "key_ops", "kid", NULL};
    static const char *const private_members[] = {"d", "p", "q", "dp", "dq", "qi", "oth", "k",
                                                  NULL};
    if (jwk == NULL || out == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "jwk: NULL argument");
    *out = NULL;
    if (!json_is_object(jwk))
        return ward_err_set(WARD_ERR_FORMAT, "jwk: must be a JSON object");
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)jwk, key, v) {
        for (size_t i = 0; private_members[i] != NULL; i++)
            if (strcmp(key, private_members[i]) == 0)
                return ward_err_set(WARD_ERR_FORMAT,
                                    "jwk: private or symmetric key material (\"%s\") refused",
                                    private_members[i]);
        int ok = 0;
        for (size_t i = 0; allowed[i] != NULL; i++)
            if (strcmp(key, allowed[i]) == 0)
                ok = 1;
        if (!ok) {
            char shown[40];
            ward_policy_printable(key, strlen(key), shown, sizeof shown);
            return ward_err_set(WARD_ERR_FORMAT, "jwk: unknown member \"%s\"", shown);
        }
    }
    const char *kty = NULL;
    size_t kty_len = 0;
    ward_err e = jwk_str(jwk, "kty", 1, &kty, &kty_len);
    if (e != WARD_OK)
        return e;
    const char *use = NULL;
    size_t use_len = 0;
    if ((e = jwk_str(jwk, "use", 0, &use, &use_len)) != WARD_OK)
        return e;
    if (use != NULL && !str_is(use, use_len, "sig"))
        return ward_err_set(WARD_ERR_FORMAT, "jwk: \"use\" must be \"sig\" for a verifier key");
    const json_t *ops = json_object_get(jwk, "key_ops");
    if (ops != NULL && !json_is_array(ops))
        return ward_err_set(WARD_ERR_FORMAT, "jwk: \"key_ops\" must be an array");
    const char *kid = NULL;
    size_t kid_len = 0;
    if ((e = jwk_str(jwk, "kid", 0, &kid, &kid_len)) != WARD_OK)
        return e;
    if (str_is(kty, kty_len, "EC")) {
        if (json_object_get(jwk, "n") != NULL || json_object_get(jwk, "e") != NULL)
            return ward_err_set(WARD_ERR_FORMAT, "jwk: RSA members in an EC key");
        return jwk_ec(jwk, out);
    }
    if (str_is(kty, kty_len, "RSA")) {
        if (json_object_get(jwk, "crv") != NULL || json_object_get(jwk, "x") != NULL ||
            json_object_get(jwk, "y") != NULL)
            return ward_err_set(WARD_ERR_FORMAT, "jwk: EC members in an RSA key");
        return jwk_rsa(jwk, out);
    }
    char shown[16];
    ward_policy_printable(kty, kty_len, shown, sizeof shown);
    return ward_err_set(WARD_ERR_UNSUPPORTED, "jwk: key type \"%s\" (EC or RSA only)", shown);
}

ward_err ward_jwk_parse(const char *json, size_t len, ward_pkey **out)
{
    if (out == NULL || (json == NULL && len != 0))
        return ward_err_set(WARD_ERR_INVALID_ARG, "jwk: NULL argument");
    *out = NULL;
    if (len > WARD_EAR_MAX_LEN)
        return ward_err_set(WARD_ERR_OVERFLOW, "jwk: %zu bytes is too large", len);
    json_t *root = NULL;
    if (ward_json_parse(json == NULL ? "" : json, len, &root) != WARD_OK)
        return ward_err_wrap(WARD_ERR_FORMAT, "jwk");
    ward_err e = ward_jwk_from_json(root, out);
    json_decref(root);
    return e;
}

ward_err ward_jwk_export(const ward_pkey *key, char **json, size_t *json_len)
{
    if (key == NULL || json == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "jwk: NULL argument");
    *json = NULL;
    ward_key_type t = ward_pkey_type(key);
    size_t coord;
    const char *crv;
    if (t == WARD_KEY_EC_P256)
        coord = 32, crv = "P-256";
    else if (t == WARD_KEY_EC_P384)
        coord = 48, crv = "P-384";
    else
        return ward_err_set(WARD_ERR_UNSUPPORTED, "jwk: export is for EC P-256/P-384 keys");
    uint8_t raw[97];
    size_t raw_len = sizeof raw;
    ward_err e = ward_pkey_raw_public(key, raw, &raw_len);
    if (e != WARD_OK)
        return e;
    if (raw_len != 1 + 2 * coord || raw[0] != 0x04)
        return ward_err_set(WARD_ERR_CRYPTO, "jwk: unexpected public point encoding");
    char *x = NULL, *y = NULL;
    if ((e = ward_base64url_encode(raw + 1, coord, &x, NULL)) != WARD_OK)
        return e;
    if ((e = ward_base64url_encode(raw + 1 + coord, coord, &y, NULL)) != WARD_OK) {
        free(x);
        return e;
    }
    size_t cap = strlen(x) + strlen(y) + 64;
    char *buf = malloc(cap);
    if (buf == NULL) {
        free(x);
        free(y);
        return ward_err_set(WARD_ERR_NOMEM, "jwk: out of memory");
    }
    int n = snprintf(buf, cap, "{\"crv\":\"%s\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}", crv, x,
                     y);
    free(x);
    free(y);
    if (n < 0 || (size_t)n >= cap) {
        free(buf);
        return ward_err_set(WARD_ERR_OVERFLOW, "jwk: export buffer");
    }
    *json = buf;
    if (json_len != NULL)
        *json_len = (size_t)n;
    return WARD_OK;
}
