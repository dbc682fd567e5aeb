/* The example TA (docs/sdk.md): the functions declared in hello.idl. ward-gen writes the
 * marshalling (hello_ta.h/.c); this file holds only what the TA does.
 *
 *   greet   a greeting, with an ocall that logs a line on the host
 *   add     a + b, refusing overflow
 *   report  a report signed by the platform over report_data = nonce zero-padded to 64 bytes
 *   seal    AES-256-GCM under this TA's sealing key (measurement policy, key version 1):
 *           blob = version (1) || nonce (12, random) || ciphertext || tag (16), and the version
 *           byte is authenticated as associated data
 *   unseal  the reverse; only this exact TA (same measurement) on the same platform can do it */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ward/crypto.h>
#include <ward/ta.h>

#include "hello_ta.h"

#define SEAL_VERSION 1u
#define SEAL_KEY_VERSION 1u
#define SEAL_OVERHEAD (1u + WARD_AEAD_NONCE_LEN + WARD_AEAD_TAG_LEN)
#define NAME_MAX_LEN 256u

ward_err hello_greet(const char *name, char **greeting)
{
    size_t n = strlen(name);
    if (n > NAME_MAX_LEN)
        return WARD_ERR_INVALID_ARG;
    /* an ocall: the host logs it (names are not secret here) */
    ward_err err = hello_ocall_log_line("greet: a greeting was asked for");
    if (err != WARD_OK)
        return err;
    size_t cap = n + sizeof "Hello, !";
    char *g = malloc(cap);
    if (g == NULL)
        return WARD_ERR_NOMEM;
    snprintf(g, cap, "Hello, %s!", name);
    *greeting = g;
    return WARD_OK;
}

ward_err hello_add(uint64_t a, uint64_t b, uint64_t *sum)
{
    if (a > UINT64_MAX - b)
        return WARD_ERR_OVERFLOW;
    *sum = a + b;
    return WARD_OK;
}

ward_err hello_report(const uint8_t *nonce, size_t nonce_len, uint8_t **report,
                      size_t *report_len, uint8_t **sig, size_t *sig_len)
{
    if (nonce_len > WARD_REPORT_DATA_LEN)
        return WARD_ERR_INVALID_ARG;
    uint8_t report_data[WARD_REPORT_DATA_LEN] = {0};
    if (nonce_len > 0)
        memcpy(report_data, nonce, nonce_len);
    uint8_t *r = malloc(WARD_REPORT_LEN);
    uint8_t *s = malloc(WARD_REPORT_SIG_LEN);
    if (r == NULL || s == NULL) {
        free(r);
        free(s);
        return WARD_ERR_NOMEM;
    }
    ward_err err = ward_ta_report(report_data, r, s);
    if (err != WARD_OK) {
        free(r);
        free(s);
        return err;
    }
    *report = r;
    *report_len = WARD_REPORT_LEN;
    *sig = s;
    *sig_len = WARD_REPORT_SIG_LEN;
    return WARD_OK;
}

/* This TA's sealing context: the key is bound to its measurement and never leaves the TA. */
static ward_err seal_context(ward_aead **out)
{
    ward_report self;
    ward_err err = ward_ta_self(&self);
    if (err != WARD_OK)
        return err;
    uint8_t key[32];
    err = ward_ta_seal_key(WARD_SEAL_MEASUREMENT, self.svn, SEAL_KEY_VERSION, key);
    if (err == WARD_OK)
        err = ward_aead_new(WARD_AEAD_AES_256_GCM, key, sizeof key, out);
    ward_wipe(key, sizeof key);
    return err;
}

ward_err hello_seal(const uint8_t *data, size_t data_len, uint8_t **blob, size_t *blob_len)
{
    if (data_len > SIZE_MAX - SEAL_OVERHEAD)
        return WARD_ERR_OVERFLOW;
    size_t total = data_len + SEAL_OVERHEAD;
    uint8_t *b = malloc(total);
    if (b == NULL)
        return WARD_ERR_NOMEM;
    ward_aead *aead = NULL;
    ward_err err = seal_context(&aead);
    b[0] = (uint8_t)SEAL_VERSION;
    uint8_t *nonce = b + 1, *ct = b + 1 + WARD_AEAD_NONCE_LEN, *tag = ct + data_len;
    if (err == WARD_OK)
        err = ward_random(nonce, WARD_AEAD_NONCE_LEN);
    if (err == WARD_OK)
        err = ward_aead_seal(aead, nonce, WARD_AEAD_NONCE_LEN, b, 1, data, data_len, ct, tag);
    ward_aead_free(aead);
    if (err != WARD_OK) {
        ward_wipe(b, total);
        free(b);
        return err;
    }
    *blob = b;
    *blob_len = total;
    return WARD_OK;
}

ward_err hello_unseal(const uint8_t *blob, size_t blob_len, uint8_t **data, size_t *data_len)
{
    if (blob_len < SEAL_OVERHEAD)
        return WARD_ERR_FORMAT;
    if (blob[0] != SEAL_VERSION)
        return WARD_ERR_UNSUPPORTED;
    size_t ct_len = blob_len - SEAL_OVERHEAD;
    const uint8_t *nonce = blob + 1, *ct = blob + 1 + WARD_AEAD_NONCE_LEN, *tag = ct + ct_len;
    uint8_t *pt = malloc(ct_len > 0 ? ct_len : 1);
    if (pt == NULL)
        return WARD_ERR_NOMEM;
    ward_aead *aead = NULL;
    ward_err err = seal_context(&aead);
    if (err == WARD_OK)
        err = ward_aead_open(aead, nonce, WARD_AEAD_NONCE_LEN, blob, 1, ct, ct_len, tag, pt);
    ward_aead_free(aead);
    if (err != WARD_OK) {
        ward_wipe(pt, ct_len);
        free(pt);
        return err;
    }
    *data = pt;
    *data_len = ct_len;
    return WARD_OK;
}

int main(void)
{
    return ward_ta_run(hello_dispatch);
}
