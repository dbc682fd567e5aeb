/* Intel DCAP quotes v3 (SGX), v4 and v5 (TDX, or SGX in a v4/v5 envelope): structure and
 * lengths, no cryptography. Byte layouts: ../shared/reference/quote-formats.md sections 1-3.
 *
 * Every offset is a small constant plus length fields read from the quote; each length is checked
 * against what remains before it is used, in size_t (64-bit), so nothing can overflow or read
 * past the buffer. Bytes after the signature data are allowed (real quotes carry padding). */
#include <string.h>

#include "attest/dcap_internal.h"

static const uint8_t INTEL_QE_VENDOR_ID[16] = {0x93, 0x9A, 0x72, 0x33, 0xF7, 0x9C, 0x4C, 0xA9,
                                               0x94, 0x0A, 0x0D, 0xB3, 0x95, 0x7F, 0x06, 0x07};

#define ATT_KEY_ECDSA_P256 2u
#define ATT_KEY_ECDSA_P384 3u

/* v3 signature data: sig 64, key 64, QE report 384, QE report sig 64, then the QE auth data. */
#define V3_QE_REPORT_OFF 128
#define V3_QE_SIG_OFF 512
#define V3_AUTH_OFF 576
/* v4/v5: sig 64, key 64, type 2, size 4, then the QE report certification data. */
#define V4_OUTER_TYPE_OFF 128
#define V4_OUTER_FIXED 134
/* In the QE report certification data: QE report 384, its signature 64, auth data size 2. */
#define QE_CERT_FIXED 450

static void decode_sgx_report(const uint8_t *b, ward_dcap_sgx_report *r)
{
    memcpy(r->cpusvn, b, 16);
    r->miscselect = dcap_rd32(b + 16);
    memcpy(r->isvextprodid, b + 32, 16);
    memcpy(r->attributes, b + 48, 16);
    r->flags = dcap_rd64(b + 48);
    r->xfrm = dcap_rd64(b + 56);
    memcpy(r->mrenclave, b + 64, 32);
    memcpy(r->mrsigner, b + 128, 32);
    memcpy(r->configid, b + 192, 64);
    r->isvprodid = dcap_rd16(b + 256);
    r->isvsvn = dcap_rd16(b + 258);
    r->configsvn = dcap_rd16(b + 260);
    memcpy(r->isvfamilyid, b + 304, 16);
    memcpy(r->report_data, b + 320, 64);
}

static void decode_td_report(const uint8_t *b, int is_15, ward_dcap_td_report *r)
{
    memcpy(r->tee_tcb_svn, b, 16);
    memcpy(r->mrseam, b + 16, 48);
    memcpy(r->mrsignerseam, b + 64, 48);
    r->seam_attributes = dcap_rd64(b + 112);
    r->td_attributes = dcap_rd64(b + 120);
    r->xfam = dcap_rd64(b + 128);
    memcpy(r->mrtd, b + 136, 48);
    memcpy(r->mrconfigid, b + 184, 48);
    memcpy(r->mrowner, b + 232, 48);
    memcpy(r->mrownerconfig, b + 280, 48);
    for (size_t i = 0; i < 4; i++)
        memcpy(r->rtmr[i], b + 328 + 48 * i, 48);
    memcpy(r->report_data, b + 520, 64);
    r->is_15 = is_15;
    if (is_15) {
        memcpy(r->tee_tcb_svn2, b + 584, 16);
        memcpy(r->mrservicetd, b + 600, 48);
    }
}

/* The QE report, its signature, the QE auth data and the certification data, from `p` (n bytes,
 * all of which they must fill exactly). v3: in the signature data after the key; v4/v5: the
 * type-6 QE report certification data. */
static ward_err parse_qe_part(const uint8_t *p, size_t n, const char *where, ward_dcap_quote *q)
{
    if (n < QE_CERT_FIXED)
        return ward_err_set(WARD_ERR_FORMAT,
                            "%s of %zu bytes cannot hold the QE report, its signature and the "
                            "QE auth data size (%d bytes)", where, n, QE_CERT_FIXED);
    q->qe_report = p;
    q->qe_report_sig = p + WARD_DCAP_SGX_REPORT_LEN;
    size_t auth_len = dcap_rd16(p + 448);
    if (auth_len > n - QE_CERT_FIXED)
        return ward_err_set(WARD_ERR_FORMAT,
                            "QE auth data of %zu bytes overruns the %s (%zu bytes left)",
                            auth_len, where, n - QE_CERT_FIXED);
    q->qe_auth_data = p + QE_CERT_FIXED;
    q->qe_auth_len = auth_len;
    size_t off = QE_CERT_FIXED + auth_len;
    if (n - off < 6)
        return ward_err_set(WARD_ERR_FORMAT,
                            "%s ends before the certification data type and size", where);
    q->cert_type = dcap_rd16(p + off);
    size_t cert_len = dcap_rd32(p + off + 2);
    off += 6;
    if (cert_len > n - off)
        return ward_err_set(WARD_ERR_FORMAT,
                            "certification data of %zu bytes overruns the %s (%zu bytes left)",
                            cert_len, where, n - off);
    if (cert_len != n - off)
        return ward_err_set(WARD_ERR_FORMAT,
                            "%zu bytes follow the certification data inside the %s",
                            n - off - cert_len, where);
    if (q->cert_type < 1 || q->cert_type > 5)
        return ward_err_set(WARD_ERR_FORMAT, "certification data type %u is not one of 1..5",
                            (unsigned)q->cert_type);
    q->cert_data = p + off;
    q->cert_len = cert_len;
    decode_sgx_report(q->qe_report, &q->qe);
    return WARD_OK;
}

static ward_err parse_body_layout(const uint8_t *quote, size_t len, ward_dcap_quote *q,
                                  size_t *body_off)
{
    switch (q->version) {
    case 3:
        q->body_type = WARD_DCAP_BODY_SGX;
        *body_off = WARD_DCAP_HEADER_LEN;
        break;
    case 4:
        q->body_type = q->tee_type == WARD_DCAP_TEE_TDX ? WARD_DCAP_BODY_TD10 : WARD_DCAP_BODY_SGX;
        *body_off = WARD_DCAP_HEADER_LEN;
        break;
    default: { /* 5 */
        if (len < WARD_DCAP_HEADER_LEN + 6)
            return ward_err_set(WARD_ERR_TRUNCATED,
                                "quote: %zu bytes end inside the v5 body descriptor (%d bytes)",
                                len, WARD_DCAP_HEADER_LEN + 6);
        unsigned type = dcap_rd16(quote + 48);
        size_t size = dcap_rd32(quote + 50);
        size_t want = type == WARD_DCAP_BODY_SGX    ? WARD_DCAP_SGX_REPORT_LEN
                      : type == WARD_DCAP_BODY_TD10 ? WARD_DCAP_TD10_REPORT_LEN
                      : type == WARD_DCAP_BODY_TD15 ? WARD_DCAP_TD15_REPORT_LEN
                                                    : 0;
        if (want == 0)
            return ward_err_set(WARD_ERR_FORMAT, "quote: unknown v5 body type %u", type);
        if (size != want)
            return ward_err_set(WARD_ERR_FORMAT,
                                "quote: v5 body type %u must be %zu bytes, not %zu", type, want,
                                size);
        if (q->tee_type == WARD_DCAP_TEE_SGX && type != WARD_DCAP_BODY_SGX)
            return ward_err_set(WARD_ERR_FORMAT,
                                "quote: an SGX quote must carry an SGX report body, not type %u",
                                type);
        if (q->tee_type == WARD_DCAP_TEE_TDX && type == WARD_DCAP_BODY_SGX)
            return ward_err_set(WARD_ERR_FORMAT,
                                "quote: a TDX quote cannot carry an SGX report body");
        q->body_type = (uint16_t)type;
        *body_off = WARD_DCAP_HEADER_LEN + 6;
        break;
    }
    }
    q->body_len = q->body_type == WARD_DCAP_BODY_SGX    ? WARD_DCAP_SGX_REPORT_LEN
                  : q->body_type == WARD_DCAP_BODY_TD10 ? WARD_DCAP_TD10_REPORT_LEN
                                                        : WARD_DCAP_TD15_REPORT_LEN;
    return WARD_OK;
}

ward_err ward_dcap_parse(const uint8_t *quote, size_t len, ward_dcap_quote *out)
{
    if (out == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "quote: NULL output");
    memset(out, 0, sizeof *out);
    if (quote == NULL && len != 0)
        return ward_err_set(WARD_ERR_INVALID_ARG, "quote: NULL input");
    if (len < WARD_DCAP_HEADER_LEN)
        return ward_err_set(WARD_ERR_TRUNCATED,
                            "quote: %zu bytes end inside the %d-byte header", len,
                            WARD_DCAP_HEADER_LEN);
    ward_dcap_quote q;
    memset(&q, 0, sizeof q);
    q.version = dcap_rd16(quote);
    q.att_key_type = dcap_rd16(quote + 2);
    q.tee_type = dcap_rd32(quote + 4);
    q.qe_svn = dcap_rd16(quote + 8);
    q.pce_svn = dcap_rd16(quote + 10);
    memcpy(q.qe_vendor_id, quote + 12, 16);
    memcpy(q.user_data, quote + 28, 20);

    if (q.version < 3 || q.version > 5)
        return ward_err_set(WARD_ERR_UNSUPPORTED,
                            "quote: version %u is not supported (3, 4 and 5 are)",
                            (unsigned)q.version);
    if (q.att_key_type == ATT_KEY_ECDSA_P384)
        return ward_err_set(WARD_ERR_UNSUPPORTED,
                            "quote: ECDSA P-384 attestation keys (type 3) are not supported");
    if (q.att_key_type != ATT_KEY_ECDSA_P256)
        return ward_err_set(WARD_ERR_FORMAT, "quote: unknown attestation key type %u",
                            (unsigned)q.att_key_type);
    if (q.tee_type != WARD_DCAP_TEE_SGX && q.tee_type != WARD_DCAP_TEE_TDX)
        return ward_err_set(WARD_ERR_FORMAT, "quote: unknown TEE type 0x%08x",
                            (unsigned)q.tee_type);
    if (q.version == 3 && q.tee_type != WARD_DCAP_TEE_SGX)
        return ward_err_set(WARD_ERR_FORMAT,
                            "quote: a v3 quote must have TEE type 0 (SGX), not 0x%08x",
                            (unsigned)q.tee_type);
    if (memcmp(q.qe_vendor_id, INTEL_QE_VENDOR_ID, 16) != 0)
        return ward_err_set(WARD_ERR_FORMAT, "quote: the QE vendor ID is not Intel's");

    size_t body_off = 0;
    ward_err err = parse_body_layout(quote, len, &q, &body_off);
    if (err)
        return err;
    size_t body_end = body_off + q.body_len; /* at most 54 + 648 */
    if (len < body_end + 4)
        return ward_err_set(WARD_ERR_TRUNCATED,
                            "quote: %zu bytes end inside the report body and signature data "
                            "length (%zu bytes needed)", len, body_end + 4);
    q.body = quote + body_off;
    q.is_tdx = q.body_type != WARD_DCAP_BODY_SGX;
    if (q.is_tdx)
        decode_td_report(q.body, q.body_type == WARD_DCAP_BODY_TD15, &q.td);
    else
        decode_sgx_report(q.body, &q.sgx);
    q.signed_data = quote;
    q.signed_len = body_end;

    size_t sig_len = dcap_rd32(quote + body_end);
    size_t sd_off = body_end + 4;
    if (sig_len > len - sd_off)
        return ward_err_set(WARD_ERR_TRUNCATED,
                            "quote: signature data of %zu bytes declared, %zu present", sig_len,
                            len - sd_off);
    const uint8_t *sd = quote + sd_off;
    if (sig_len < 128)
        return ward_err_set(WARD_ERR_FORMAT,
                            "quote: signature data of %zu bytes cannot hold the signature and "
                            "attestation key", sig_len);
    q.signature = sd;
    q.attest_key = sd + 64;
    if (q.version == 3) {
        err = parse_qe_part(sd + V3_QE_REPORT_OFF, sig_len - V3_QE_REPORT_OFF,
                            "signature data", &q);
    } else {
        if (sig_len < V4_OUTER_FIXED)
            return ward_err_set(WARD_ERR_FORMAT,
                                "quote: signature data of %zu bytes ends before the QE report "
                                "certification data", sig_len);
        unsigned outer = dcap_rd16(sd + V4_OUTER_TYPE_OFF);
        size_t outer_len = dcap_rd32(sd + V4_OUTER_TYPE_OFF + 2);
        if (outer != WARD_DCAP_CERT_QE_REPORT)
            return ward_err_set(WARD_ERR_FORMAT,
                                "quote: certification data type %u where the QE report "
                                "certification data (type 6) must be", outer);
        if (outer_len > sig_len - V4_OUTER_FIXED)
            return ward_err_set(WARD_ERR_FORMAT,
                                "quote: QE report certification data of %zu bytes overruns "
                                "the signature data (%zu bytes left)", outer_len,
                                sig_len - V4_OUTER_FIXED);
        if (outer_len != sig_len - V4_OUTER_FIXED)
            return ward_err_set(WARD_ERR_FORMAT,
                                "quote: %zu bytes follow the QE report certification data "
                                "inside the signature data",
                                sig_len - V4_OUTER_FIXED - outer_len);
        err = parse_qe_part(sd + V4_OUTER_FIXED, outer_len, "QE report certification data",
                            &q);
    }
    if (err)
        return ward_err_wrap(err, "quote");
    q.quote_len = sd_off + sig_len;
    q.trailing_len = len - q.quote_len;
    *out = q;
    return WARD_OK;
}

ward_err ward_dcap_quote_claims(const ward_dcap_quote *q, ward_claims *out)
{
    if (q == NULL || out == NULL || q->body == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "quote claims: NULL or unparsed quote");
    memset(out, 0, sizeof *out);
    out->quote_version = q->version;
    out->tcb_status = WARD_TCB_UNKNOWN;
    if (q->is_tdx) {
        const ward_dcap_td_report *td = &q->td;
        out->kind = WARD_TEE_KIND_TDX;
        memcpy(out->measurement, td->mrtd, 48);
        out->measurement_len = 48;
        memcpy(out->signer, td->mrsignerseam, 48);
        out->signer_len = 48;
        out->product_id = 0;
        out->svn = td->tee_tcb_svn[0];
        out->debug = (td->td_attributes & WARD_DCAP_TD_ATTR_DEBUG) != 0;
        memcpy(out->report_data, td->report_data, 64);
        memcpy(out->tdx_rtmr, td->rtmr, sizeof out->tdx_rtmr);
        memcpy(out->tdx_mrconfigid, td->mrconfigid, 48);
    } else {
        const ward_dcap_sgx_report *r = &q->sgx;
        out->kind = WARD_TEE_KIND_SGX;
        memcpy(out->measurement, r->mrenclave, 32);
        out->measurement_len = 32;
        memcpy(out->signer, r->mrsigner, 32);
        out->signer_len = 32;
        out->product_id = r->isvprodid;
        out->svn = r->isvsvn;
        out->debug = (r->flags & WARD_DCAP_SGX_FLAG_DEBUG) != 0;
        memcpy(out->report_data, r->report_data, 64);
    }
    return WARD_OK;
}
