/* Azure confidential VMs: the paravisor's (HCL) attestation report, which carries the SNP
 * report and the runtime data whose hash the SNP report's REPORT_DATA holds. Layout as in the
 * trustee az-snp-vtpm vector (../shared/vectors/SOURCES-amd.md, trustee-genoa-v3-azure):
 *   0x000  "HCLA", u32 version, u32 report size, u32 request type, u32 status, 12 reserved
 *   0x020  the SNP ATTESTATION_REPORT (1184 bytes)
 *   0x4C0  u32 data size (= 20 + variable size), u32 version, u32 report type (2: SNP),
 *          u32 hash type (1 SHA-256, 2 SHA-384, 3 SHA-512), u32 variable-data size
 *   0x4D4  the runtime data (JSON)
 * then padding up to the buffer's size. Integers little-endian. */
#include <string.h>

#include "ward/crypto.h"
#include "ward/snp.h"

enum {
    HCL_HEADER_LEN = 0x20,
    HCL_RUNTIME_HEADER = HCL_HEADER_LEN + WARD_SNP_REPORT_LEN, /* 0x4C0 */
    HCL_RUNTIME_HEADER_LEN = 20,
    HCL_RUNTIME_DATA = HCL_RUNTIME_HEADER + HCL_RUNTIME_HEADER_LEN, /* 0x4D4 */
    HCL_REPORT_TYPE_SNP = 2
};

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

ward_err ward_snp_hcl_parse(const uint8_t *hcl, size_t len, ward_snp_hcl *out)
{
    if (out != NULL)
        memset(out, 0, sizeof *out);
    if (hcl == NULL || out == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "HCL report: NULL argument");
    if (len < HCL_RUNTIME_DATA)
        return ward_err_set(WARD_ERR_TRUNCATED, "HCL report: %zu bytes, at least %d needed", len,
                            HCL_RUNTIME_DATA);
    if (memcmp(hcl, "HCLA", 4) != 0)
        return ward_err_set(WARD_ERR_FORMAT, "HCL report: no \"HCLA\" signature");
    uint32_t version = rd32(hcl + 4);
    if (version < 1 || version > 2)
        return ward_err_set(WARD_ERR_UNSUPPORTED, "HCL report: header version %u is not "
                            "supported (1 and 2 are)", version);
    uint32_t report_size = rd32(hcl + 8);
    uint32_t status = rd32(hcl + 16);
    if (status != 0)
        return ward_err_set(WARD_ERR_FORMAT, "HCL report: request status %u (not success)",
                            status);
    const uint8_t *rh = hcl + HCL_RUNTIME_HEADER;
    uint32_t data_size = rd32(rh);
    uint32_t report_type = rd32(rh + 8);
    uint32_t hash_type = rd32(rh + 12);
    uint32_t var_size = rd32(rh + 16);
    if (report_type != HCL_REPORT_TYPE_SNP)
        return ward_err_set(WARD_ERR_UNSUPPORTED, "HCL report: report type %u is not SNP (2)",
                            report_type);
    if ((uint64_t)data_size != (uint64_t)var_size + HCL_RUNTIME_HEADER_LEN)
        return ward_err_set(WARD_ERR_FORMAT, "HCL report: runtime data size %u does not match "
                            "its header and variable data (%u + %d)", data_size, var_size,
                            HCL_RUNTIME_HEADER_LEN);
    uint64_t end = (uint64_t)HCL_RUNTIME_DATA + var_size;
    if (report_size < end)
        return ward_err_set(WARD_ERR_FORMAT, "HCL report: report size %u is smaller than its "
                            "contents (%llu)", report_size, (unsigned long long)end);
    if ((uint64_t)report_size > (uint64_t)len)
        return ward_err_set(WARD_ERR_TRUNCATED, "HCL report: report size %u, only %zu bytes "
                            "present", report_size, len);
    out->report = hcl + HCL_HEADER_LEN;
    out->runtime_data = hcl + HCL_RUNTIME_DATA;
    out->runtime_data_len = var_size;
    out->version = version;
    out->hash_type = hash_type;
    return WARD_OK;
}

ward_err ward_snp_hcl_check_binding(const ward_snp_hcl *hcl, const uint8_t report_data[64])
{
    if (hcl == NULL || report_data == NULL || hcl->runtime_data == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "HCL binding: NULL argument");
    ward_hash_alg alg;
    switch (hcl->hash_type) {
    case 1: alg = WARD_HASH_SHA256; break;
    case 2: alg = WARD_HASH_SHA384; break;
    case 3:
        return ward_err_set(WARD_ERR_UNSUPPORTED, "HCL binding: SHA-512 is not supported");
    default:
        return ward_err_set(WARD_ERR_UNSUPPORTED, "HCL binding: unknown hash type %u",
                            hcl->hash_type);
    }
    uint8_t h[WARD_HASH_MAX_LEN];
    size_t n = ward_hash_len(alg);
    ward_err err = ward_hash(alg, hcl->runtime_data, hcl->runtime_data_len, h);
    if (err)
        return err;
    int tail_zero = 1;
    for (size_t i = n; i < 64; i++)
        tail_zero &= report_data[i] == 0;
    if (!ward_ct_equal(h, report_data, n) || !tail_zero)
        return ward_err_set(WARD_ERR_VERIFY, "HCL binding: REPORT_DATA is not the %s of the "
                            "runtime data followed by zeros",
                            alg == WARD_HASH_SHA256 ? "SHA-256" : "SHA-384");
    return WARD_OK;
}
