/* TA manifests (DESIGN 3): what a developer signs about a TA image, and the measurement.
 *
 * measurement = SHA-256 over a fixed encoding of the image bytes and the manifest's
 * security-relevant fields (docs/formats.md, "TA measurement"); signer = SHA-256 of the signing
 * key's DER SubjectPublicKeyInfo. Both are reproducible: same inputs, same numbers, anywhere.
 * The manifest is JSON; its signature (ECDSA P-256, raw r||s, base64url) covers the RFC 8785
 * canonical form of every other member. */
#ifndef WARD_MANIFEST_H
#define WARD_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#include "ward/crypto.h"
#include "ward/err.h"

#ifdef __cplusplus
extern "C" {
#endif

#define WARD_MANIFEST_VERSION 1
#define WARD_TA_NAME_MAX 64
#define WARD_TA_MAX_CALLS 256

/* What the developer decides about a TA. */
typedef struct ward_ta_params {
    const char *name;            /* [A-Za-z0-9_-]{1,64} */
    uint16_t product_id;
    uint16_t svn;                /* security version */
    int debug;                   /* debug TAs fail every production policy */
    uint64_t heap_max;           /* bytes of secret heap the TA may use */
    uint32_t threads_max;
    const char *const *calls;    /* exported call names, in call-id order (id = index) */
    size_t n_calls;
} ward_ta_params;

/* Measurement of image under params. */
ward_err ward_ta_measure(const uint8_t *image, size_t image_len, const ward_ta_params *params,
                         uint8_t out[WARD_SHA256_LEN]);

/* Writes a signed manifest (JSON text, malloc'd) for image under params with signer_key
 * (ECDSA P-256 private key). */
ward_err ward_manifest_sign(const uint8_t *image, size_t image_len, const ward_ta_params *params,
                            const ward_pkey *signer_key, char **json, size_t *json_len);

typedef struct ward_manifest ward_manifest;

/* Parses a manifest strictly and checks its signature against the key it carries. Says what is
 * wrong (missing member, bad type, bad signature). Does not look at any image. */
ward_err ward_manifest_parse(const char *json, size_t len, ward_manifest **out);
/* Checks an image against a parsed manifest: size, SHA-256 and the recomputed measurement.
 * WARD_ERR_VERIFY naming which one differs. */
ward_err ward_manifest_check_image(const ward_manifest *m, const uint8_t *image, size_t len);
void ward_manifest_free(ward_manifest *m);

const char *ward_manifest_name(const ward_manifest *m);
void ward_manifest_measurement(const ward_manifest *m, uint8_t out[WARD_SHA256_LEN]);
void ward_manifest_signer(const ward_manifest *m, uint8_t out[WARD_SHA256_LEN]);
uint16_t ward_manifest_product_id(const ward_manifest *m);
uint16_t ward_manifest_svn(const ward_manifest *m);
int ward_manifest_debug(const ward_manifest *m);
uint64_t ward_manifest_heap_max(const ward_manifest *m);
uint32_t ward_manifest_threads_max(const ward_manifest *m);
size_t ward_manifest_n_calls(const ward_manifest *m);
/* Name of call id i, NULL if out of range. */
const char *ward_manifest_call_name(const ward_manifest *m, size_t i);
/* Call id of name; WARD_ERR_NOT_FOUND if the TA does not export it. */
ward_err ward_manifest_call_id(const ward_manifest *m, const char *name, uint32_t *id);

#ifdef __cplusplus
}
#endif
#endif
