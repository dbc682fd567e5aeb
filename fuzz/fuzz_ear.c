/* libFuzzer target: EAR JWTs (untrusted tokens from the network) and JWKs. The first byte picks
 * the key: the Veraison test key, or a JWK parsed from the input itself (the header-jwk rule).
 * A token that verifies must have a consistent result; nothing may crash or leak. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ward/ear.h"
#include "ward/encoding.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char veraison_jwk[] =
    "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"usWxHK2PmfnHKwXPS54m0kTcGJ90UiglWiGahtagnv8\","
    "\"y\":\"IBOL-C3BttVivg-lSreASjpkttcsz-1rb7btKLv8EX4\"}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static ward_pkey *key;
    if (key == NULL && ward_jwk_parse(veraison_jwk, sizeof veraison_jwk - 1, &key) != WARD_OK)
        __builtin_trap();
    /* The input as a JWK. */
    ward_pkey *k2 = NULL;
    if (ward_jwk_parse((const char *)data, size, &k2) == WARD_OK) {
        char *js = NULL;
        size_t js_len = 0;
        if (ward_jwk_export(k2, &js, &js_len) == WARD_OK) {
            ward_pkey *k3 = NULL;
            if (ward_jwk_parse(js, js_len, &k3) != WARD_OK)
                __builtin_trap(); /* an exported JWK must parse again */
            ward_pkey_free(k3);
            free(js);
        }
        ward_pkey_free(k2);
    }
    /* The input as a claims-set: signed here, so that the payload checks are reached. */
    static ward_pkey *signer;
    if (signer == NULL && ward_pkey_generate(WARD_KEY_EC_P256, &signer) != WARD_OK)
        __builtin_trap();
    if (size > 0 && data[0] == '{' && size < 8192) {
        char *p64 = NULL;
        size_t p64_len = 0;
        static const char h64[] = "eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9"; /* the fixed header */
        if (ward_base64url_encode(data, size, &p64, &p64_len) != WARD_OK)
            __builtin_trap();
        size_t n = sizeof h64 + p64_len + 1 + 90;
        char *tok = malloc(n);
        if (tok == NULL)
            __builtin_trap();
        memcpy(tok, h64, sizeof h64 - 1);
        tok[sizeof h64 - 1] = '.';
        memcpy(tok + sizeof h64, p64, p64_len);
        size_t signing_len = sizeof h64 + p64_len;
        uint8_t *sig = NULL;
        size_t sig_len = 0;
        char *s64 = NULL;
        size_t s64_len = 0;
        if (ward_sign(signer, WARD_HASH_SHA256, WARD_SIG_RAW, tok, signing_len, &sig,
                      &sig_len) != WARD_OK ||
            ward_base64url_encode(sig, sig_len, &s64, &s64_len) != WARD_OK || s64_len != 86)
            __builtin_trap();
        tok[signing_len] = '.';
        memcpy(tok + signing_len + 1, s64, s64_len);
        ward_ear_result r;
        if (ward_ear_verify(tok, signing_len + 1 + s64_len, signer, 1700000000, &r) == WARD_OK) {
            if (r.n_submods == 0 || r.payload == NULL)
                __builtin_trap();
            ward_ear_result_free(&r);
        }
        free(s64);
        free(sig);
        free(tok);
        free(p64);
    }
    /* The input as a token, at the vectors' time and at the Trustee vector's. */
    static const int64_t times[2] = {1666091373, 1752059139};
    for (size_t t = 0; t < 2; t++) {
        ward_ear_result r;
        ward_err e = ward_ear_verify((const char *)data, size, key, times[t], &r);
        if (e != WARD_OK) {
            if (r.payload != NULL || r.n_submods != 0)
                __builtin_trap(); /* a failure leaves nothing behind */
            continue;
        }
        if (r.n_submods == 0 || r.n_submods > WARD_EAR_MAX_SUBMODS || r.payload == NULL)
            __builtin_trap();
        ward_ear_status worst = WARD_EAR_NONE;
        for (size_t i = 0; i < r.n_submods; i++)
            if ((int)r.submods[i].status > (int)worst)
                worst = r.submods[i].status;
        if (worst != r.status)
            __builtin_trap();
        ward_ear_result_free(&r);
    }
    return 0;
}
