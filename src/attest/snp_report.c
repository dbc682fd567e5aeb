/* SEV-SNP ATTESTATION_REPORT: the byte layout (SNP firmware ABI 56860, table
 * "ATTESTATION_REPORT"; ../shared/reference/snp-and-interfaces.md a.1-a.4), parsed field by field
 * with every reserved range checked. */
#include <string.h>

#include "attest/snp_internal.h"
#include "ward/snp.h"

/* Offsets (all integers little-endian). */
enum {
    OFF_VERSION = 0x000,
    OFF_GUEST_SVN = 0x004,
    OFF_POLICY = 0x008,
    OFF_FAMILY_ID = 0x010,
    OFF_IMAGE_ID = 0x020,
    OFF_VMPL = 0x030,
    OFF_SIG_ALGO = 0x034,
    OFF_CURRENT_TCB = 0x038,
    OFF_PLATFORM_INFO = 0x040,
    OFF_SIGNER_INFO = 0x048,
    OFF_RESERVED_04C = 0x04C,
    OFF_REPORT_DATA = 0x050,
    OFF_MEASUREMENT = 0x090,
    OFF_HOST_DATA = 0x0C0,
    OFF_ID_KEY_DIGEST = 0x0E0,
    OFF_AUTHOR_KEY_DIGEST = 0x110,
    OFF_REPORT_ID = 0x140,
    OFF_REPORT_ID_MA = 0x160,
    OFF_REPORTED_TCB = 0x180,
    OFF_CPUID = 0x188, /* family, model, stepping: version >= 3 */
    OFF_RESERVED_18B = 0x18B,
    OFF_CHIP_ID = 0x1A0,
    OFF_COMMITTED_TCB = 0x1E0,
    OFF_CURRENT_VERSION = 0x1E8, /* build, minor, major, reserved */
    OFF_COMMITTED_VERSION = 0x1EC,
    OFF_LAUNCH_TCB = 0x1F0,
    OFF_LAUNCH_MIT = 0x1F8, /* version >= 5 */
    OFF_CURRENT_MIT = 0x200,
    OFF_RESERVED_208 = 0x208,
    OFF_SIG_R = 0x2A0,
    OFF_SIG_S = 0x2E8,
    OFF_SIG_RESERVED = 0x330,
    SIG_FIELD_LEN = 72,
    SIG_COORD_LEN = 48
};

_Static_assert(OFF_SIG_R == WARD_SNP_SIGNED_LEN, "the signature follows the signed bytes");
_Static_assert(OFF_SIG_S == OFF_SIG_R + SIG_FIELD_LEN, "S follows R");
_Static_assert(OFF_SIG_RESERVED == OFF_SIG_S + SIG_FIELD_LEN, "reserved follows S");

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p)
{
    return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

/* Index of the first non-zero byte in [from, to), or -1. */
static long first_nonzero(const uint8_t *r, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++) {
        if (r[i] != 0)
            return (long)i;
    }
    return -1;
}

static ward_err check_zero(const uint8_t *r, size_t from, size_t to, const char *what)
{
    long at = first_nonzero(r, from, to);
    if (at >= 0)
        return ward_err_set(WARD_ERR_FORMAT,
                            "SNP report: reserved %s (0x%03zX..0x%03zX) is not zero at 0x%03lX",
                            what, from, to - 1, (unsigned long)at);
    return WARD_OK;
}

const char *ward_snp_product_name(ward_snp_product p)
{
    switch (p) {
    case WARD_SNP_PRODUCT_MILAN: return "Milan";
    case WARD_SNP_PRODUCT_GENOA: return "Genoa";
    case WARD_SNP_PRODUCT_TURIN: return "Turin";
    case WARD_SNP_PRODUCT_UNKNOWN: break;
    }
    return "unknown";
}

ward_snp_product ward_snp_priv_product_from_name(const char *name, size_t len)
{
    static const ward_snp_product all[] = {WARD_SNP_PRODUCT_MILAN, WARD_SNP_PRODUCT_GENOA,
                                           WARD_SNP_PRODUCT_TURIN};
    if (name == NULL)
        return WARD_SNP_PRODUCT_UNKNOWN;
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        const char *n = ward_snp_product_name(all[i]);
        if (strlen(n) == len && memcmp(n, name, len) == 0)
            return all[i];
    }
    return WARD_SNP_PRODUCT_UNKNOWN;
}

ward_snp_product ward_snp_product_from_cpuid(uint8_t family, uint8_t model)
{
    if (family == 0x19) {
        if (model <= 0x0F)
            return WARD_SNP_PRODUCT_MILAN;
        if ((model >= 0x10 && model <= 0x1F) || (model >= 0xA0 && model <= 0xAF))
            return WARD_SNP_PRODUCT_GENOA;
    } else if (family == 0x1A) {
        if (model <= 0x11)
            return WARD_SNP_PRODUCT_TURIN;
    }
    return WARD_SNP_PRODUCT_UNKNOWN;
}

ward_err ward_snp_tcb_decode(const uint8_t raw[8], ward_snp_product p, ward_snp_tcb *out)
{
    if (raw == NULL || out == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "SNP TCB: NULL argument");
    ward_snp_tcb t;
    memset(&t, 0, sizeof t);
    memcpy(t.raw, raw, sizeof t.raw);
    switch (p) {
    case WARD_SNP_PRODUCT_MILAN:
    case WARD_SNP_PRODUCT_GENOA:
        t.bootloader = raw[0];
        t.tee = raw[1];
        t.snp = raw[6];
        t.microcode = raw[7];
        break;
    case WARD_SNP_PRODUCT_TURIN:
        t.fmc = raw[0];
        t.bootloader = raw[1];
        t.tee = raw[2];
        t.snp = raw[3];
        t.microcode = raw[7];
        break;
    case WARD_SNP_PRODUCT_UNKNOWN:
    default:
        return ward_err_set(WARD_ERR_INVALID_ARG, "SNP TCB: no layout for product %d", (int)p);
    }
    *out = t;
    return WARD_OK;
}

ward_err ward_snp_report_set_product(ward_snp_report *r, ward_snp_product p)
{
    if (r == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "SNP report: NULL argument");
    ward_snp_tcb *tcbs[] = {&r->current_tcb, &r->reported_tcb, &r->committed_tcb,
                            &r->launch_tcb};
    /* Decode into copies first so that r is unchanged on failure. */
    ward_snp_tcb out[4];
    for (size_t i = 0; i < 4; i++) {
        uint8_t raw[8];
        memcpy(raw, tcbs[i]->raw, sizeof raw);
        ward_err err = ward_snp_tcb_decode(raw, p, &out[i]);
        if (err)
            return err;
    }
    for (size_t i = 0; i < 4; i++)
        *tcbs[i] = out[i];
    r->product = p;
    return WARD_OK;
}

static void be_from_le(uint8_t out[SIG_COORD_LEN], const uint8_t *le)
{
    for (size_t i = 0; i < SIG_COORD_LEN; i++)
        out[i] = le[SIG_COORD_LEN - 1 - i];
}

static ward_err check_structure(const uint8_t *r, uint32_t version)
{
    ward_err err = check_zero(r, OFF_RESERVED_04C, OFF_REPORT_DATA, "field after SIGNER_INFO");
    if (err == WARD_OK)
        err = check_zero(r, version >= 3 ? OFF_RESERVED_18B : OFF_CPUID, OFF_CHIP_ID,
                         version >= 3 ? "field after CPUID" : "field after REPORTED_TCB (v2)");
    if (err == WARD_OK)
        err = check_zero(r, OFF_CURRENT_VERSION + 3, OFF_CURRENT_VERSION + 4,
                         "byte after CURRENT_VERSION");
    if (err == WARD_OK)
        err = check_zero(r, OFF_COMMITTED_VERSION + 3, OFF_COMMITTED_VERSION + 4,
                         "byte after COMMITTED_VERSION");
    if (err == WARD_OK)
        err = check_zero(r, version >= 5 ? OFF_RESERVED_208 : OFF_LAUNCH_MIT, OFF_SIG_R,
                         version >= 5 ? "field after CURRENT_MIT_VECTOR"
                                      : "field after LAUNCH_TCB (before v5)");
    if (err == WARD_OK)
        err = check_zero(r, OFF_SIG_R + SIG_COORD_LEN, OFF_SIG_S, "top of SIGNATURE.R");
    if (err == WARD_OK)
        err = check_zero(r, OFF_SIG_S + SIG_COORD_LEN, OFF_SIG_RESERVED, "top of SIGNATURE.S");
    if (err == WARD_OK)
        err = check_zero(r, OFF_SIG_RESERVED, WARD_SNP_REPORT_LEN, "signature area");
    return err;
}

ward_err ward_snp_parse(const uint8_t *report, size_t len, ward_snp_report *out)
{
    if (out != NULL)
        memset(out, 0, sizeof *out);
    if (report == NULL || out == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "SNP report: NULL argument");
    if (len < WARD_SNP_REPORT_LEN)
        return ward_err_set(WARD_ERR_TRUNCATED, "SNP report: %zu bytes, expected %d", len,
                            WARD_SNP_REPORT_LEN);
    if (len > WARD_SNP_REPORT_LEN)
        return ward_err_set(WARD_ERR_FORMAT, "SNP report: %zu bytes, expected %d (trailing data)",
                            len, WARD_SNP_REPORT_LEN);
    const uint8_t *r = report;
    ward_snp_report p;
    memset(&p, 0, sizeof p);

    p.version = rd32(r + OFF_VERSION);
    if (p.version < 2 || p.version > 5)
        return ward_err_set(WARD_ERR_UNSUPPORTED, "SNP report: version %u is not supported "
                            "(2 to 5 are)", p.version);
    p.signature_algo = rd32(r + OFF_SIG_ALGO);
    if (p.signature_algo != 1)
        return ward_err_set(WARD_ERR_UNSUPPORTED, "SNP report: signature algorithm %u is not "
                            "supported (1 = ECDSA P-384 with SHA-384 is)", p.signature_algo);
    ward_err err = check_structure(r, p.version);
    if (err)
        return err;

    p.guest_svn = rd32(r + OFF_GUEST_SVN);
    p.policy = rd64(r + OFF_POLICY);
    if ((p.policy & WARD_SNP_POLICY_RESERVED_1) == 0)
        return ward_err_set(WARD_ERR_FORMAT, "SNP report: POLICY 0x%llx has bit 17 clear (it must "
                            "be set)", (unsigned long long)p.policy);
    if ((p.policy & ~WARD_SNP_POLICY_KNOWN_MASK) != 0)
        return ward_err_set(WARD_ERR_UNSUPPORTED, "SNP report: POLICY 0x%llx sets unknown bits "
                            "0x%llx", (unsigned long long)p.policy,
                            (unsigned long long)(p.policy & ~WARD_SNP_POLICY_KNOWN_MASK));
    memcpy(p.family_id, r + OFF_FAMILY_ID, sizeof p.family_id);
    memcpy(p.image_id, r + OFF_IMAGE_ID, sizeof p.image_id);
    p.vmpl = rd32(r + OFF_VMPL);
    if (p.vmpl > 3)
        return ward_err_set(WARD_ERR_FORMAT, "SNP report: VMPL %u is out of range (0..3)", p.vmpl);
    memcpy(p.current_tcb.raw, r + OFF_CURRENT_TCB, 8);
    p.platform_info = rd64(r + OFF_PLATFORM_INFO);

    p.signer_info = rd32(r + OFF_SIGNER_INFO);
    if ((p.signer_info & ~UINT32_C(0x1F)) != 0)
        return ward_err_set(WARD_ERR_FORMAT, "SNP report: signer info 0x%x sets reserved bits "
                            "5..31", p.signer_info);
    p.author_key_en = (int)(p.signer_info & 1u);
    p.mask_chip_key = (int)((p.signer_info >> 1) & 1u);
    p.signing_key = (unsigned)((p.signer_info >> 2) & 7u);
    if (p.signing_key == WARD_SNP_SIGNING_KEY_NONE)
        return ward_err_set(WARD_ERR_FORMAT, "SNP report: SIGNING_KEY 7 (none): the report is not "
                            "signed");
    if (p.signing_key != WARD_SNP_SIGNING_KEY_VCEK && p.signing_key != WARD_SNP_SIGNING_KEY_VLEK)
        return ward_err_set(WARD_ERR_FORMAT, "SNP report: SIGNING_KEY %u is reserved "
                            "(0 = VCEK, 1 = VLEK)", p.signing_key);

    memcpy(p.report_data, r + OFF_REPORT_DATA, sizeof p.report_data);
    memcpy(p.measurement, r + OFF_MEASUREMENT, sizeof p.measurement);
    memcpy(p.host_data, r + OFF_HOST_DATA, sizeof p.host_data);
    memcpy(p.id_key_digest, r + OFF_ID_KEY_DIGEST, sizeof p.id_key_digest);
    memcpy(p.author_key_digest, r + OFF_AUTHOR_KEY_DIGEST, sizeof p.author_key_digest);
    memcpy(p.report_id, r + OFF_REPORT_ID, sizeof p.report_id);
    memcpy(p.report_id_ma, r + OFF_REPORT_ID_MA, sizeof p.report_id_ma);
    memcpy(p.reported_tcb.raw, r + OFF_REPORTED_TCB, 8);
    if (p.version >= 3) {
        p.cpuid_fam_id = r[OFF_CPUID];
        p.cpuid_mod_id = r[OFF_CPUID + 1];
        p.cpuid_step = r[OFF_CPUID + 2];
    }
    memcpy(p.chip_id, r + OFF_CHIP_ID, sizeof p.chip_id);
    memcpy(p.committed_tcb.raw, r + OFF_COMMITTED_TCB, 8);
    p.current_build = r[OFF_CURRENT_VERSION];
    p.current_minor = r[OFF_CURRENT_VERSION + 1];
    p.current_major = r[OFF_CURRENT_VERSION + 2];
    p.committed_build = r[OFF_COMMITTED_VERSION];
    p.committed_minor = r[OFF_COMMITTED_VERSION + 1];
    p.committed_major = r[OFF_COMMITTED_VERSION + 2];
    memcpy(p.launch_tcb.raw, r + OFF_LAUNCH_TCB, 8);
    if (p.version >= 5) {
        p.launch_mit_vector = rd64(r + OFF_LAUNCH_MIT);
        p.current_mit_vector = rd64(r + OFF_CURRENT_MIT);
    }
    be_from_le(p.signature_r, r + OFF_SIG_R);
    be_from_le(p.signature_s, r + OFF_SIG_S);

    ward_snp_product product = WARD_SNP_PRODUCT_UNKNOWN;
    if (p.version >= 3)
        product = ward_snp_product_from_cpuid(p.cpuid_fam_id, p.cpuid_mod_id);
    /* Version 2 carries no CPUID and comes from Milan/Genoa firmware: decode with their layout
     * (identical for both) and leave the product unknown. A version >= 3 report with an unknown
     * CPUID is parsed the same way; verification refuses it. */
    err = ward_snp_report_set_product(&p, product != WARD_SNP_PRODUCT_UNKNOWN
                                              ? product
                                              : WARD_SNP_PRODUCT_MILAN);
    if (err)
        return err;
    p.product = product;
    *out = p;
    return WARD_OK;
}
