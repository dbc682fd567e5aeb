/* SEV-SNP certificates: AMD's VCEK/VLEK extensions (OIDs under 1.3.6.1.4.1.3704.1; AMD
 * "Versioned Chip Endorsement Key (VCEK) Certificate and KDS Interface Specification" 57230,
 * reference a.5), decoded with small strict DER readers, the binding of a certificate to a
 * report, and the pinned AMD root keys. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attest/snp_internal.h"
#include "ward/snp.h"
#include "ward/x509.h"

#define OID_AMD "1.3.6.1.4.1.3704.1."
#define OID_STRUCT_VERSION OID_AMD "1"
#define OID_PRODUCT_NAME OID_AMD "2"
#define OID_BL_SPL OID_AMD "3.1"
#define OID_TEE_SPL OID_AMD "3.2"
#define OID_SNP_SPL OID_AMD "3.3"
#define OID_UCODE_SPL OID_AMD "3.8"
#define OID_FMC_SPL OID_AMD "3.9"
#define OID_HWID OID_AMD "4"
#define OID_CSP_ID OID_AMD "5"

#define DER_INTEGER 0x02
#define DER_OCTET_STRING 0x04
#define DER_IA5STRING 0x16

/* ---- small DER readers ------------------------------------------------------------------- */

/* One whole TLV with the given tag: the content and its length. Definite lengths only, in
 * minimal form (DER), at most 0xFFFF; nothing may follow. */
static ward_err der_tlv(const uint8_t *der, size_t len, uint8_t tag, const char *what,
                        const uint8_t **content, size_t *clen)
{
    if (der == NULL || len < 2)
        return ward_err_set(WARD_ERR_TRUNCATED, "%s: %zu bytes is too short for DER", what, len);
    if (der[0] != tag)
        return ward_err_set(WARD_ERR_FORMAT, "%s: DER tag 0x%02x, expected 0x%02x", what, der[0],
                            tag);
    size_t hdr, n;
    if (der[1] < 0x80) {
        hdr = 2;
        n = der[1];
    } else if (der[1] == 0x81) {
        if (len < 3)
            return ward_err_set(WARD_ERR_TRUNCATED, "%s: DER length cut short", what);
        hdr = 3;
        n = der[2];
        if (n < 0x80)
            return ward_err_set(WARD_ERR_FORMAT, "%s: DER length not in minimal form", what);
    } else if (der[1] == 0x82) {
        if (len < 4)
            return ward_err_set(WARD_ERR_TRUNCATED, "%s: DER length cut short", what);
        hdr = 4;
        n = (size_t)der[2] << 8 | der[3];
        if (n < 0x100)
            return ward_err_set(WARD_ERR_FORMAT, "%s: DER length not in minimal form", what);
    } else {
        return ward_err_set(WARD_ERR_FORMAT, "%s: unsupported DER length form 0x%02x", what,
                            der[1]);
    }
    if (n > len - hdr)
        return ward_err_set(WARD_ERR_TRUNCATED, "%s: DER content of %zu bytes, only %zu present",
                            what, n, len - hdr);
    if (n < len - hdr)
        return ward_err_set(WARD_ERR_FORMAT, "%s: %zu bytes after the DER value", what,
                            len - hdr - n);
    *content = der + hdr;
    *clen = n;
    return WARD_OK;
}

/* A non-negative DER INTEGER of at most max_bytes significant bytes. */
static ward_err der_uint(const uint8_t *der, size_t len, const char *what, size_t max_bytes,
                         uint64_t *out)
{
    const uint8_t *c = NULL;
    size_t n = 0;
    ward_err err = der_tlv(der, len, DER_INTEGER, what, &c, &n);
    if (err)
        return err;
    if (n == 0)
        return ward_err_set(WARD_ERR_FORMAT, "%s: empty INTEGER", what);
    if (c[0] & 0x80)
        return ward_err_set(WARD_ERR_FORMAT, "%s: negative INTEGER", what);
    if (n > 1 && c[0] == 0x00 && (c[1] & 0x80) == 0)
        return ward_err_set(WARD_ERR_FORMAT, "%s: INTEGER not in minimal form", what);
    if (n > 1 && c[0] == 0x00) { /* the sign byte of a value with its top bit set */
        c++;
        n--;
    }
    if (n > max_bytes)
        return ward_err_set(WARD_ERR_FORMAT, "%s: INTEGER of %zu bytes is out of range", what,
                            n);
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = v << 8 | c[i];
    *out = v;
    return WARD_OK;
}

ward_err ward_snp_priv_der_u8(const uint8_t *der, size_t len, const char *what, uint8_t *out)
{
    uint64_t v = 0;
    ward_err err = der_uint(der, len, what, 1, &v);
    if (err)
        return err;
    *out = (uint8_t)v;
    return WARD_OK;
}

ward_err ward_snp_priv_der_small_int(const uint8_t *der, size_t len, const char *what, int *out)
{
    uint64_t v = 0;
    ward_err err = der_uint(der, len, what, 4, &v);
    if (err)
        return err;
    if (v > INT32_MAX)
        return ward_err_set(WARD_ERR_FORMAT, "%s: INTEGER %llu is out of range", what,
                            (unsigned long long)v);
    *out = (int)v;
    return WARD_OK;
}

ward_err ward_snp_priv_der_ia5(const uint8_t *der, size_t len, const char *what, char *out,
                               size_t cap)
{
    const uint8_t *c = NULL;
    size_t n = 0;
    ward_err err = der_tlv(der, len, DER_IA5STRING, what, &c, &n);
    if (err)
        return err;
    if (n == 0)
        return ward_err_set(WARD_ERR_FORMAT, "%s: empty string", what);
    if (n >= cap)
        return ward_err_set(WARD_ERR_FORMAT, "%s: string of %zu bytes is too long", what, n);
    for (size_t i = 0; i < n; i++) {
        if (c[i] < 0x20 || c[i] > 0x7E)
            return ward_err_set(WARD_ERR_FORMAT, "%s: non-printable byte 0x%02x", what, c[i]);
    }
    memcpy(out, c, n);
    out[n] = '\0';
    return WARD_OK;
}

static size_t hwid_len_for(ward_snp_product p)
{
    return p == WARD_SNP_PRODUCT_TURIN ? 8 : 64;
}

ward_err ward_snp_priv_hwid(const uint8_t *der, size_t len, ward_snp_product p, uint8_t out[64],
                            size_t *out_len)
{
    if (p == WARD_SNP_PRODUCT_UNKNOWN)
        return ward_err_set(WARD_ERR_INVALID_ARG, "VCEK hwID: unknown product");
    size_t want = hwid_len_for(p);
    const uint8_t *c = der;
    size_t n = len;
    /* Raw bytes (what KDS issues), or a DER OCTET STRING around them: told apart by length. */
    if (der != NULL && len == want + 2 && der[0] == DER_OCTET_STRING) {
        ward_err err = der_tlv(der, len, DER_OCTET_STRING, "VCEK hwID", &c, &n);
        if (err)
            return err;
    }
    if (der == NULL || n != want)
        return ward_err_set(WARD_ERR_FORMAT, "VCEK hwID: %zu bytes, expected %zu for %s (raw or "
                            "in an OCTET STRING)", len, want, ward_snp_product_name(p));
    memset(out, 0, 64);
    memcpy(out, c, n);
    *out_len = n;
    return WARD_OK;
}

/* ---- the certificate's extensions -------------------------------------------------------- */

static ward_err get_ext(const ward_cert *cert, const char *oid, const char *name, int required,
                        uint8_t **val, size_t *len)
{
    *val = NULL;
    *len = 0;
    ward_err err = ward_cert_extension(cert, oid, val, len, NULL);
    if (err == WARD_ERR_NOT_FOUND && !required) {
        ward_err_clear();
        return WARD_ERR_NOT_FOUND;
    }
    if (err == WARD_ERR_NOT_FOUND)
        return ward_err_set(WARD_ERR_FORMAT, "SNP certificate: no %s extension (%s)", name, oid);
    if (err)
        return ward_err_wrap(err, "SNP certificate %s", name);
    return WARD_OK;
}

static ward_err ext_u8(const ward_cert *cert, const char *oid, const char *name, int required,
                       int *present, uint8_t *out)
{
    uint8_t *val = NULL;
    size_t len = 0;
    *out = 0;
    *present = 0;
    ward_err err = get_ext(cert, oid, name, required, &val, &len);
    if (err == WARD_ERR_NOT_FOUND)
        return WARD_OK;
    if (err)
        return err;
    char what[64];
    snprintf(what, sizeof what, "SNP certificate %s", name);
    err = ward_snp_priv_der_u8(val, len, what, out);
    free(val);
    if (err == WARD_OK)
        *present = 1;
    return err;
}

ward_err ward_snp_priv_vek_decode(const ward_cert *cert, ward_snp_product p, int is_vlek,
                                  ward_snp_vek_info *info)
{
    if (cert == NULL || info == NULL || p == WARD_SNP_PRODUCT_UNKNOWN)
        return ward_err_set(WARD_ERR_INVALID_ARG, "SNP certificate: bad argument");
    const char *kind = is_vlek ? "VLEK" : "VCEK";
    ward_snp_vek_info v;
    memset(&v, 0, sizeof v);
    v.is_vlek = is_vlek ? 1 : 0;
    v.product = p;
    v.struct_version = -1;

    /* productName: "Milan-B0" (product, dash, stepping) or "Milan"; the product part must be
     * the chain's. */
    uint8_t *val = NULL;
    size_t len = 0;
    ward_err err = get_ext(cert, OID_PRODUCT_NAME, "productName", 1, &val, &len);
    if (err)
        return err;
    err = ward_snp_priv_der_ia5(val, len, "SNP certificate productName", v.product_name,
                                sizeof v.product_name);
    free(val);
    if (err)
        return err;
    const char *dash = strchr(v.product_name, '-');
    size_t plen = dash != NULL ? (size_t)(dash - v.product_name) : strlen(v.product_name);
    if (ward_snp_priv_product_from_name(v.product_name, plen) != p)
        return ward_err_set(WARD_ERR_VERIFY, "%s productName \"%s\" is not the chain's product %s",
                            kind, v.product_name, ward_snp_product_name(p));

    err = get_ext(cert, OID_STRUCT_VERSION, "structVersion", 0, &val, &len);
    if (err == WARD_OK) {
        err = ward_snp_priv_der_small_int(val, len, "SNP certificate structVersion",
                                          &v.struct_version);
        free(val);
    } else if (err == WARD_ERR_NOT_FOUND) {
        err = WARD_OK;
    }
    if (err)
        return err;

    int present = 0;
    err = ext_u8(cert, OID_BL_SPL, "blSPL", 1, &present, &v.tcb.bootloader);
    if (err == WARD_OK)
        err = ext_u8(cert, OID_TEE_SPL, "teeSPL", 1, &present, &v.tcb.tee);
    if (err == WARD_OK)
        err = ext_u8(cert, OID_SNP_SPL, "snpSPL", 1, &present, &v.tcb.snp);
    if (err == WARD_OK)
        err = ext_u8(cert, OID_UCODE_SPL, "ucodeSPL", 1, &present, &v.tcb.microcode);
    if (err == WARD_OK)
        err = ext_u8(cert, OID_FMC_SPL, "fmcSPL", p == WARD_SNP_PRODUCT_TURIN, &present,
                     &v.tcb.fmc);
    if (err)
        return err;
    if (present && p != WARD_SNP_PRODUCT_TURIN)
        return ward_err_set(WARD_ERR_FORMAT, "%s has an fmcSPL extension, but a %s TCB has no FMC",
                            kind, ward_snp_product_name(p));
    /* spl_4..spl_7 stand for reserved TCB bytes: when present they must be 0. */
    for (int i = 4; i <= 7; i++) {
        char oid[40], name[16];
        snprintf(oid, sizeof oid, OID_AMD "3.%d", i);
        snprintf(name, sizeof name, "spl_%d", i);
        uint8_t spl = 0;
        err = ext_u8(cert, oid, name, 0, &present, &spl);
        if (err)
            return err;
        if (spl != 0)
            return ward_err_set(WARD_ERR_UNSUPPORTED, "%s extension %s is %u; only 0 is known",
                                kind, name, spl);
    }
    /* The TCB_VERSION the certificate is issued for, in the product's byte layout (reserved
     * bytes zero), so that it compares byte for byte with REPORTED_TCB. */
    memset(v.tcb.raw, 0, sizeof v.tcb.raw);
    if (p == WARD_SNP_PRODUCT_TURIN) {
        v.tcb.raw[0] = v.tcb.fmc;
        v.tcb.raw[1] = v.tcb.bootloader;
        v.tcb.raw[2] = v.tcb.tee;
        v.tcb.raw[3] = v.tcb.snp;
    } else {
        v.tcb.raw[0] = v.tcb.bootloader;
        v.tcb.raw[1] = v.tcb.tee;
        v.tcb.raw[6] = v.tcb.snp;
    }
    v.tcb.raw[7] = v.tcb.microcode;

    err = get_ext(cert, OID_HWID, "hwID", !is_vlek, &val, &len);
    if (err == WARD_OK) {
        if (is_vlek)
            err = ward_err_set(WARD_ERR_FORMAT, "VLEK has a hwID extension (only a VCEK has)");
        else
            err = ward_snp_priv_hwid(val, len, p, v.hwid, &v.hwid_len);
        free(val);
    } else if (err == WARD_ERR_NOT_FOUND) {
        err = WARD_OK;
    }
    if (err)
        return err;

    err = get_ext(cert, OID_CSP_ID, "cspID", 0, &val, &len);
    if (err == WARD_OK) {
        err = ward_snp_priv_der_ia5(val, len, "SNP certificate cspID", v.csp_id,
                                    sizeof v.csp_id);
        free(val);
    } else if (err == WARD_ERR_NOT_FOUND) {
        err = WARD_OK;
    }
    if (err)
        return err;
    *info = v;
    return WARD_OK;
}

/* ---- binding ----------------------------------------------------------------------------- */

static void tcb_text(const ward_snp_tcb *t, ward_snp_product p, char *buf, size_t cap)
{
    if (p == WARD_SNP_PRODUCT_TURIN)
        snprintf(buf, cap, "fmc %u bl %u tee %u snp %u ucode %u", t->fmc, t->bootloader, t->tee,
                 t->snp, t->microcode);
    else
        snprintf(buf, cap, "bl %u tee %u snp %u ucode %u", t->bootloader, t->tee, t->snp,
                 t->microcode);
    size_t n = strlen(buf);
    if (n + 20 < cap) {
        snprintf(buf + n, cap - n, " (%02x%02x%02x%02x%02x%02x%02x%02x)", t->raw[0], t->raw[1],
                 t->raw[2], t->raw[3], t->raw[4], t->raw[5], t->raw[6], t->raw[7]);
    }
}

ward_err ward_snp_priv_check_binding(const ward_snp_report *r, const ward_snp_vek_info *vek)
{
    if (r == NULL || vek == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "SNP binding: NULL argument");
    if (r->product != vek->product)
        return ward_err_set(WARD_ERR_INVALID_ARG, "SNP binding: report decoded as %s, "
                            "certificate is for %s", ward_snp_product_name(r->product),
                            ward_snp_product_name(vek->product));
    const char *kind = vek->is_vlek ? "VLEK" : "VCEK";
    if (memcmp(r->reported_tcb.raw, vek->tcb.raw, sizeof vek->tcb.raw) != 0) {
        char got[96], want[96];
        tcb_text(&r->reported_tcb, vek->product, got, sizeof got);
        tcb_text(&vek->tcb, vek->product, want, sizeof want);
        return ward_err_set(WARD_ERR_VERIFY, "SNP report: REPORTED_TCB %s does not match the "
                            "%s's TCB %s", got, kind, want);
    }
    if (!vek->is_vlek) {
        size_t n = vek->hwid_len;
        if (n == 0 || n > sizeof r->chip_id)
            return ward_err_set(WARD_ERR_VERIFY, "SNP report: the VCEK has no usable hwID");
        int tail_zero = 1, all_zero = 1;
        for (size_t i = 0; i < sizeof r->chip_id; i++) {
            if (r->chip_id[i] != 0) {
                all_zero = 0;
                if (i >= n)
                    tail_zero = 0;
            }
        }
        if (memcmp(r->chip_id, vek->hwid, n) != 0 || !tail_zero)
            return ward_err_set(WARD_ERR_VERIFY, "SNP report: CHIP_ID does not match the VCEK's "
                                "hwID%s", all_zero ? " (CHIP_ID is zero: masked)" : "");
    }
    return WARD_OK;
}

/* ---- AMD's root keys --------------------------------------------------------------------- */

/* SHA-256 of each ARK's DER SubjectPublicKeyInfo (RSA-4096). Computed from
 * ../shared/vectors/snp/amd/{milan,genoa,turin}_ask_ark_asvk.pem (copied from
 * confidential-containers/trustee deps/verifier/src/snp/); the same certificates are in
 * virtee/sev src/certs/snp/builtin/ and google/go-sev-guest verify/trust/, and their DER
 * fingerprints (ARK-Milan 69d063b45344d26a..., ARK-Genoa 4c6598d19c18719c...,
 * ARK-Turin 1f084161a44bb6d9...) agree with ../shared/vectors/SOURCES-amd.md. Pinning the key,
 * not the certificate, keeps a reissued ARK with the same key valid. Public data only. */
static const struct {
    ward_snp_product product;
    uint8_t spki_sha256[32];
} ark_pins[] = {
    {WARD_SNP_PRODUCT_MILAN,
     {0x9f, 0x05, 0x6b, 0xee, 0x44, 0x37, 0x7e, 0x29, 0x30, 0x8c, 0xb5, 0xff, 0xa8, 0x95, 0xbd, 0xfb,
      0x62, 0xd1, 0x88, 0x81, 0xfa, 0x6b, 0xed, 0x8d, 0x6f, 0x07, 0x5b, 0x02, 0x04, 0x08, 0x9c, 0xb9}},
    {WARD_SNP_PRODUCT_GENOA,
     {0x42, 0x9a, 0x69, 0xc9, 0x42, 0x2a, 0xa2, 0x58, 0xee, 0x4d, 0x8d, 0xb5, 0xfc, 0xda, 0x9c, 0x64,
      0x70, 0xef, 0x15, 0xf8, 0xcd, 0x5a, 0x9c, 0xeb, 0xd6, 0xcb, 0xc7, 0xd9, 0x0b, 0x86, 0x38, 0x31}},
    {WARD_SNP_PRODUCT_TURIN,
     {0x4f, 0x12, 0x54, 0x10, 0x56, 0x3a, 0x2a, 0xb9, 0xa5, 0x03, 0x56, 0xf9, 0x24, 0x3f, 0x6f, 0xe0,
      0xb6, 0xf7, 0x3d, 0xe9, 0x86, 0x03, 0xf5, 0x3f, 0x90, 0x33, 0x9c, 0x70, 0xe9, 0xd7, 0xad, 0x08}},
};

ward_snp_product ward_snp_priv_pinned_ark(const uint8_t spki_sha256[32])
{
    if (spki_sha256 == NULL)
        return WARD_SNP_PRODUCT_UNKNOWN;
    for (size_t i = 0; i < sizeof ark_pins / sizeof ark_pins[0]; i++) {
        if (memcmp(ark_pins[i].spki_sha256, spki_sha256, 32) == 0)
            return ark_pins[i].product;
    }
    return WARD_SNP_PRODUCT_UNKNOWN;
}
