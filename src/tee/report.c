/* The TA report (DESIGN 6): a fixed 200-byte little-endian structure, signed elsewhere by the
 * platform attestation key. Layout in include/ward/report.h and docs/formats.md ("TA report").
 *
 * Decoding is strict, since the bytes come from the network: exact length, magic, a known
 * version and platform, zero reserved bytes, no attribute bit Ward does not define, and a
 * simulation report always carries the debug attribute. Encoding refuses the same things, so
 * that Ward never signs a report that its own decoder would refuse. */
#include "ward/report.h"

#include <string.h>

#define OFF_MAGIC 0
#define OFF_VERSION 4
#define OFF_PLATFORM 6
#define OFF_ATTRIBUTES 8
#define OFF_MEASUREMENT 16
#define OFF_SIGNER 48
#define OFF_PRODUCT_ID 80
#define OFF_SVN 82
#define OFF_RESERVED 84
#define OFF_INSTANCE_ID 88
#define OFF_REPORT_DATA 104
#define OFF_PLATFORM_KEY_ID 168

#define KNOWN_ATTRIBUTES WARD_ATTR_DEBUG

static const uint8_t magic[4] = {'W', 'R', 'P', 'T'};

/* The layout is exactly the size the header promises. */
_Static_assert(OFF_PLATFORM_KEY_ID + 32 == WARD_REPORT_LEN, "report layout and size disagree");

static void put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v & 0xffu);
    p[1] = (uint8_t)(v >> 8);
}

static void put_u64(uint8_t *p, uint64_t v)
{
    for (size_t i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint16_t get_u16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (uint16_t)(p[1] << 8));
}

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (size_t i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static int platform_known(uint16_t platform)
{
    return platform == WARD_PLATFORM_SW_SANDBOX || platform == WARD_PLATFORM_SW_SIM;
}

/* The checks that encode and decode share; what names the caller ("encode", "decode"). */
static ward_err check_fields(uint16_t version, uint16_t platform, uint64_t attributes,
                             const char *what)
{
    if (version != WARD_REPORT_VERSION)
        return ward_err_set(WARD_ERR_UNSUPPORTED,
                            "TA report %s: version %u is not supported (this build knows %d)",
                            what, (unsigned)version, WARD_REPORT_VERSION);
    if (!platform_known(platform))
        return ward_err_set(WARD_ERR_FORMAT,
                            "TA report %s: unknown platform kind %u (known: %d ward-sw, %d "
                            "ward-sim)", what, (unsigned)platform, WARD_PLATFORM_SW_SANDBOX,
                            WARD_PLATFORM_SW_SIM);
    if ((attributes & ~(uint64_t)KNOWN_ATTRIBUTES) != 0)
        return ward_err_set(WARD_ERR_FORMAT,
                            "TA report %s: unknown attribute bits 0x%016llx (only debug, bit 0, "
                            "is defined)", what,
                            (unsigned long long)(attributes & ~(uint64_t)KNOWN_ATTRIBUTES));
    if (platform == WARD_PLATFORM_SW_SIM && (attributes & WARD_ATTR_DEBUG) == 0)
        return ward_err_set(WARD_ERR_FORMAT,
                            "TA report %s: a ward-sim report must carry the debug attribute",
                            what);
    return WARD_OK;
}

ward_err ward_report_encode(const ward_report *r, uint8_t out[WARD_REPORT_LEN])
{
    if (r == NULL || out == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "TA report encode: NULL argument");
    ward_err err = check_fields(r->version, r->platform, r->attributes, "encode");
    if (err != WARD_OK)
        return WARD_ERR_INVALID_ARG; /* the caller's struct is wrong; the message says how */
    memset(out, 0, WARD_REPORT_LEN);
    memcpy(out + OFF_MAGIC, magic, sizeof magic);
    put_u16(out + OFF_VERSION, r->version);
    put_u16(out + OFF_PLATFORM, r->platform);
    put_u64(out + OFF_ATTRIBUTES, r->attributes);
    memcpy(out + OFF_MEASUREMENT, r->measurement, sizeof r->measurement);
    memcpy(out + OFF_SIGNER, r->signer, sizeof r->signer);
    put_u16(out + OFF_PRODUCT_ID, r->product_id);
    put_u16(out + OFF_SVN, r->svn);
    /* OFF_RESERVED: four zero bytes, from the memset. */
    memcpy(out + OFF_INSTANCE_ID, r->instance_id, sizeof r->instance_id);
    memcpy(out + OFF_REPORT_DATA, r->report_data, sizeof r->report_data);
    memcpy(out + OFF_PLATFORM_KEY_ID, r->platform_key_id, sizeof r->platform_key_id);
    return WARD_OK;
}

ward_err ward_report_decode(const uint8_t *in, size_t len, ward_report *out)
{
    if (out == NULL || (in == NULL && len != 0))
        return ward_err_set(WARD_ERR_INVALID_ARG, "TA report decode: NULL argument");
    memset(out, 0, sizeof *out);
    if (len < WARD_REPORT_LEN)
        return ward_err_set(WARD_ERR_TRUNCATED,
                            "TA report decode: %zu bytes, a version %d report is exactly %d",
                            len, WARD_REPORT_VERSION, WARD_REPORT_LEN);
    if (len > WARD_REPORT_LEN)
        return ward_err_set(WARD_ERR_FORMAT,
                            "TA report decode: %zu bytes, a version %d report is exactly %d "
                            "(trailing bytes)", len, WARD_REPORT_VERSION, WARD_REPORT_LEN);
    if (memcmp(in + OFF_MAGIC, magic, sizeof magic) != 0)
        return ward_err_set(WARD_ERR_FORMAT,
                            "TA report decode: bad magic %02x %02x %02x %02x (expected \"WRPT\")",
                            in[0], in[1], in[2], in[3]);
    uint16_t version = get_u16(in + OFF_VERSION);
    uint16_t platform = get_u16(in + OFF_PLATFORM);
    uint64_t attributes = get_u64(in + OFF_ATTRIBUTES);
    ward_err err = check_fields(version, platform, attributes, "decode");
    if (err != WARD_OK)
        return err;
    uint32_t reserved = get_u32(in + OFF_RESERVED);
    if (reserved != 0)
        return ward_err_set(WARD_ERR_FORMAT,
                            "TA report decode: reserved field at offset %d is 0x%08x, must be 0",
                            OFF_RESERVED, (unsigned)reserved);

    out->version = version;
    out->platform = platform;
    out->attributes = attributes;
    memcpy(out->measurement, in + OFF_MEASUREMENT, sizeof out->measurement);
    memcpy(out->signer, in + OFF_SIGNER, sizeof out->signer);
    out->product_id = get_u16(in + OFF_PRODUCT_ID);
    out->svn = get_u16(in + OFF_SVN);
    memcpy(out->instance_id, in + OFF_INSTANCE_ID, sizeof out->instance_id);
    memcpy(out->report_data, in + OFF_REPORT_DATA, sizeof out->report_data);
    memcpy(out->platform_key_id, in + OFF_PLATFORM_KEY_ID, sizeof out->platform_key_id);
    return WARD_OK;
}

const char *ward_platform_name(uint16_t platform)
{
    switch (platform) {
    case WARD_PLATFORM_SW_SANDBOX: return "ward-sw";
    case WARD_PLATFORM_SW_SIM: return "ward-sim";
    default: return "unknown";
    }
}
