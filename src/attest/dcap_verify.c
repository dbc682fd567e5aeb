/* Intel DCAP verifier: one quote against loaded collateral at a time, in Intel QVL's order
 * (reference/quote-formats.md section 4), then the normalised claims. */
#include <string.h>
#include <time.h>

#include "attest/dcap_internal.h"

static ward_err check_tee(const ward_dcap_collateral *c, const ward_dcap_quote *q)
{
    if (c->tcb.is_tdx != q->is_tdx)
        return ward_err_set(WARD_ERR_VERIFY,
                            "TCB Info mismatch: the TCB Info is for %s, the quote is %s",
                            c->tcb.is_tdx ? "TDX" : "SGX", q->is_tdx ? "TDX" : "SGX");
    if (c->tcb.version < 3 && q->tee_type == WARD_DCAP_TEE_TDX)
        return ward_err_set(WARD_ERR_VERIFY,
                            "TCB Info mismatch: a v2 TCB Info cannot serve a TDX quote");
    if (c->qe.is_td != (q->tee_type == WARD_DCAP_TEE_TDX))
        return ward_err_set(WARD_ERR_VERIFY,
                            "QE identity mismatch: the identity is %s, the quote needs %s",
                            c->qe.is_td ? "TD_QE" : "QE",
                            q->tee_type == WARD_DCAP_TEE_TDX ? "TD_QE" : "QE");
    return WARD_OK;
}

static ward_err check_platform(const ward_dcap_collateral *c, const ward_dcap_pck_info *pck)
{
    if (memcmp(pck->fmspc, c->tcb.fmspc, 6) != 0) {
        char a[13], b[13];
        dcap_hex(c->tcb.fmspc, 6, a);
        dcap_hex(pck->fmspc, 6, b);
        return ward_err_set(WARD_ERR_VERIFY,
                            "TCB Info mismatch: the TCB Info is for FMSPC %s, the PCK "
                            "certificate's platform is %s", a, b);
    }
    if (memcmp(pck->pceid, c->tcb.pceid, 2) != 0) {
        char a[5], b[5];
        dcap_hex(c->tcb.pceid, 2, a);
        dcap_hex(pck->pceid, 2, b);
        return ward_err_set(WARD_ERR_VERIFY,
                            "TCB Info mismatch: the TCB Info is for PCEID %s, the PCK "
                            "certificate says %s", a, b);
    }
    return WARD_OK;
}

/* QE REPORTDATA = SHA-256(attestation key || QE auth data) || 32 zero bytes. */
static ward_err check_binding(const ward_dcap_quote *q)
{
    ward_hash_ctx *h = NULL;
    uint8_t digest[WARD_SHA256_LEN];
    ward_err err = ward_hash_new(WARD_HASH_SHA256, &h);
    if (err == WARD_OK)
        err = ward_hash_update(h, q->attest_key, 64);
    if (err == WARD_OK)
        err = ward_hash_update(h, q->qe_auth_data, q->qe_auth_len);
    if (err == WARD_OK)
        err = ward_hash_final(h, digest);
    ward_hash_free(h);
    if (err)
        return err;
    static const uint8_t zero[32];
    if (memcmp(q->qe.report_data, digest, 32) != 0)
        return ward_err_set(WARD_ERR_VERIFY,
                            "QE report data is not SHA-256 of the attestation key and QE auth "
                            "data: the attestation key is not the QE's");
    if (memcmp(q->qe.report_data + 32, zero, 32) != 0)
        return ward_err_set(WARD_ERR_VERIFY,
                            "QE report data: the 32 bytes after the key hash are not zero");
    return WARD_OK;
}

static ward_err check_quote_sig(const ward_dcap_quote *q)
{
    uint8_t raw[65];
    raw[0] = 0x04;
    memcpy(raw + 1, q->attest_key, 64);
    ward_pkey *key = NULL;
    ward_err err = ward_pkey_from_raw_public(WARD_KEY_EC_P256, raw, sizeof raw, &key);
    if (err)
        return ward_err_set(WARD_ERR_VERIFY,
                            "the attestation key is not a valid P-256 point");
    err = ward_verify(key, WARD_HASH_SHA256, WARD_SIG_RAW, q->signed_data, q->signed_len,
                      q->signature, 64);
    ward_pkey_free(key);
    if (err == WARD_ERR_VERIFY)
        return ward_err_set(WARD_ERR_VERIFY,
                            "quote signature does not verify with the attestation key");
    return err;
}

ward_err ward_dcap_verify_ex(const uint8_t *quote, size_t len, const ward_dcap_collateral *c,
                             int64_t at, ward_claims *out, ward_dcap_result *detail)
{
    ward_dcap_result res;
    memset(&res, 0, sizeof res);
    if (out != NULL)
        memset(out, 0, sizeof *out);
    if (detail != NULL)
        memset(detail, 0, sizeof *detail);
    if (out == NULL || c == NULL || (quote == NULL && len != 0))
        return ward_err_set(WARD_ERR_INVALID_ARG, "DCAP verify: NULL argument");
    if (at < 0)
        return ward_err_set(WARD_ERR_INVALID_ARG, "DCAP verify: negative time");
    if (at == 0)
        at = (int64_t)time(NULL);

    ward_dcap_quote q;
    ward_err err = ward_dcap_parse(quote, len, &q);
    if (err)
        return err;
    if ((err = check_tee(c, &q)) != WARD_OK || (err = dcap_collateral_check_time(c, at)) != WARD_OK)
        return err;
    if (q.cert_type != WARD_DCAP_CERT_PCK_CHAIN)
        return ward_err_set(WARD_ERR_UNSUPPORTED,
                            "certification data type %u: only a PCK certificate chain (type 5) "
                            "can be verified offline", (unsigned)q.cert_type);

    dcap_pck_entry *pck = NULL;
    int cached = 0;
    err = dcap_pck_get(c, q.cert_data, q.cert_len, at, &pck, &cached);
    if (err)
        return err;
    ward_claims claims;
    const dcap_module_id *mod = NULL;
    const dcap_isv_level *qe_level = NULL;
    if ((err = check_platform(c, &pck->info)) != WARD_OK)
        goto done;
    if (q.is_tdx && (err = dcap_tdx_module_match(&c->tcb, &q.td, &mod)) != WARD_OK)
        goto done;
    err = ward_verify(pck->pub, WARD_HASH_SHA256, WARD_SIG_RAW, q.qe_report,
                      WARD_DCAP_SGX_REPORT_LEN, q.qe_report_sig, 64);
    if (err == WARD_ERR_VERIFY)
        err = ward_err_set(WARD_ERR_VERIFY,
                           "QE report signature does not verify with the PCK certificate's key");
    if (err)
        goto done;
    if ((err = check_binding(&q)) != WARD_OK ||
        (err = dcap_qe_identity_match(&c->qe, &q.qe, &qe_level)) != WARD_OK ||
        (err = check_quote_sig(&q)) != WARD_OK ||
        (err = ward_dcap_quote_claims(&q, &claims)) != WARD_OK ||
        (err = dcap_tcb_evaluate(&c->tcb, &pck->info, &q, mod, qe_level, &claims, &res)) !=
            WARD_OK)
        goto done;
    res.pck = pck->info;
    res.tcb_eval_number = c->tcb.eval_number;
    res.qe_eval_number = c->qe.eval_number;
    res.quote_len = q.quote_len;
    res.trailing_len = q.trailing_len;
    res.pck_chain_cached = cached;
    *out = claims;
    if (detail != NULL)
        *detail = res;
done:
    dcap_pck_release(c, pck);
    return err;
}

ward_err ward_dcap_verify(const uint8_t *quote, size_t len, const ward_dcap_collateral *c,
                          int64_t at, ward_claims *out)
{
    return ward_dcap_verify_ex(quote, len, c, at, out, NULL);
}
