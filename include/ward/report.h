/* The TA report (DESIGN 6): a fixed little-endian binary structure signed by the platform
 * attestation key. Byte layout in docs/formats.md; it must stay stable (versioned). */
#ifndef WARD_REPORT_H
#define WARD_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "ward/crypto.h"
#include "ward/err.h"

#ifdef __cplusplus
extern "C" {
#endif

#define WARD_REPORT_VERSION 1
#define WARD_REPORT_LEN 200      /* encoded size of version 1 */
#define WARD_REPORT_SIG_LEN 64   /* ECDSA P-256 raw r||s */
#define WARD_REPORT_DATA_LEN 64

typedef enum ward_platform_kind {
    WARD_PLATFORM_SW_SANDBOX = 1, /* software TEE, sandbox backend ("ward-sw") */
    WARD_PLATFORM_SW_SIM = 2      /* in-process simulation: debug only ("ward-sim") */
} ward_platform_kind;

/* attributes */
#define WARD_ATTR_DEBUG (UINT64_C(1) << 0)

typedef struct ward_report {
    uint16_t version;
    uint16_t platform;                      /* ward_platform_kind */
    uint64_t attributes;                    /* WARD_ATTR_* */
    uint8_t measurement[32];                /* MRENCLAVE analogue */
    uint8_t signer[32];                     /* SHA-256 of the TA signing key's SPKI */
    uint16_t product_id;
    uint16_t svn;
    uint8_t instance_id[16];
    uint8_t report_data[WARD_REPORT_DATA_LEN];
    uint8_t platform_key_id[32];            /* SHA-256 of the platform key's SPKI */
} ward_report;

/* Layout (little-endian), 200 bytes:
 *   0 magic "WRPT" | 4 version u16 | 6 platform u16 | 8 attributes u64 | 16 measurement[32]
 *  48 signer[32] | 80 product_id u16 | 82 svn u16 | 84 reserved u32 (0) | 88 instance_id[16]
 * 104 report_data[64] | 168 platform_key_id[32] */
ward_err ward_report_encode(const ward_report *r, uint8_t out[WARD_REPORT_LEN]);
/* Strict: exact length, magic, known version, reserved zero, known platform. */
ward_err ward_report_decode(const uint8_t *in, size_t len, ward_report *out);

/* Name of the platform as evidence and results call it: "ward-sw", "ward-sim". */
const char *ward_platform_name(uint16_t platform);

#ifdef __cplusplus
}
#endif
#endif
