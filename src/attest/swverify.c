/* The software-TEE verifier (DESIGN 3; docs/attestation.md "Evidence and the software TEE"):
 * the TA report's signature by the platform key, and the platform certificate's anchor (pinned
 * or an enrolment CA). It says nothing about hardware: claims are ward-sw / ward-sim with TCB
 * status NotApplicable. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ward/encoding.h"
#include "ward/evidence.h"

ward_err ward_sw_verify_report_key(const ward_pkey *key, const uint8_t key_id[WARD_SHA256_LEN],
                                   const uint8_t *report, size_t report_len, const uint8_t *sig,
                                   size_t sig_len, ward_report *out_report, ward_claims *claims)
{
    if (claims != NULL)
        memset(claims, 0, sizeof *claims);
    if (out_report != NULL)
        memset(out_report, 0, sizeof *out_report);
    if (key == NULL || key_id == NULL || report == NULL || sig == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "TA report: NULL argument");
    if (ward_pkey_type(key) != WARD_KEY_EC_P256)
        return ward_err_set(WARD_ERR_VERIFY, "platform certificate: the key is not ECDSA P-256");
    if (sig_len != WARD_REPORT_SIG_LEN)
        return ward_err_set(WARD_ERR_FORMAT, "TA report signature: %zu bytes, expected %d "
                            "(ECDSA P-256 raw r||s)", sig_len, WARD_REPORT_SIG_LEN);
    ward_report r;
    ward_err err = ward_report_decode(report, report_len, &r);
    if (err != WARD_OK)
        return err;
    if (!ward_ct_equal(key_id, r.platform_key_id, WARD_SHA256_LEN))
        return ward_err_set(WARD_ERR_VERIFY,
                            "TA report names another platform key (platform_key_id "
                            "%02x%02x%02x%02x..., the certificate's key is "
                            "%02x%02x%02x%02x...)", r.platform_key_id[0], r.platform_key_id[1],
                            r.platform_key_id[2], r.platform_key_id[3], key_id[0], key_id[1],
                            key_id[2], key_id[3]);
    if (ward_verify(key, WARD_HASH_SHA256, WARD_SIG_RAW, report, report_len, sig, sig_len) !=
        WARD_OK)
        return ward_err_set(WARD_ERR_VERIFY,
                            "TA report signature does not verify with the platform key");
    if (out_report != NULL)
        *out_report = r;
    if (claims != NULL) {
        claims->kind = r.platform == WARD_PLATFORM_SW_SIM ? WARD_TEE_KIND_WARD_SIM
                                                          : WARD_TEE_KIND_WARD_SW;
        memcpy(claims->measurement, r.measurement, sizeof r.measurement);
        claims->measurement_len = sizeof r.measurement;
        memcpy(claims->signer, r.signer, sizeof r.signer);
        claims->signer_len = sizeof r.signer;
        claims->product_id = r.product_id;
        claims->svn = r.svn;
        claims->debug = (r.attributes & WARD_ATTR_DEBUG) != 0;
        claims->tcb_status = WARD_TCB_NOT_APPLICABLE;
        memcpy(claims->report_data, r.report_data, sizeof r.report_data);
        claims->quote_version = r.version;
    }
    return WARD_OK;
}

ward_err ward_sw_verify_report(const ward_cert *platform_cert, const uint8_t *report,
                               size_t report_len, const uint8_t *sig, size_t sig_len,
                               ward_report *out_report, ward_claims *claims)
{
    if (claims != NULL)
        memset(claims, 0, sizeof *claims);
    if (out_report != NULL)
        memset(out_report, 0, sizeof *out_report);
    if (platform_cert == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "TA report: NULL certificate");
    ward_pkey *key = NULL;
    ward_err err = ward_cert_public_key(platform_cert, &key);
    if (err != WARD_OK)
        return ward_err_wrap(err, "platform certificate");
    uint8_t key_id[WARD_SHA256_LEN];
    err = ward_pkey_spki_sha256(key, key_id);
    if (err == WARD_OK)
        err = ward_sw_verify_report_key(key, key_id, report, report_len, sig, sig_len,
                                        out_report, claims);
    ward_pkey_free(key);
    return err;
}

static void hex8(const uint8_t *b, char out[17])
{
    static const char d[] = "0123456789abcdef";
    for (size_t i = 0; i < 8; i++) {
        out[2 * i] = d[b[i] >> 4];
        out[2 * i + 1] = d[b[i] & 15];
    }
    out[16] = 0;
}

ward_err ward_sw_check_anchor(const ward_evidence_trust *trust, ward_cert *const *chain,
                              size_t n, int64_t at, ward_anchor_kind *out)
{
    if (out != NULL)
        *out = WARD_ANCHOR_NONE;
    if (chain == NULL || n == 0 || chain[0] == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "platform certificate chain: empty");
    if (trust == NULL || (trust->n_pinned == 0 && trust->n_cas == 0))
        return ward_err_set(WARD_ERR_NOT_FOUND,
                            "no trust anchor for the software TEE: pin the platform "
                            "certificate or name an enrolment CA");
    if (at == 0)
        at = (int64_t)time(NULL);
    uint8_t fp[WARD_SHA256_LEN];
    ward_err err = ward_cert_fingerprint(chain[0], fp);
    if (err != WARD_OK)
        return err;
    char fph[17];
    hex8(fp, fph);
    if (trust->n_pinned > 0 && trust->pinned == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "trust: pinned count without fingerprints");
    for (size_t i = 0; i < trust->n_pinned; i++) {
        if (!ward_ct_equal(trust->pinned[i], fp, sizeof fp))
            continue;
        int64_t nb = 0, na = 0;
        err = ward_cert_validity(chain[0], &nb, &na);
        if (err != WARD_OK)
            return err;
        if (at < nb || at >= na)
            return ward_err_set(WARD_ERR_VERIFY,
                                "pinned platform certificate %s... is not valid at %lld "
                                "(valid from %lld to %lld)", fph, (long long)at, (long long)nb,
                                (long long)na);
        if (out != NULL)
            *out = WARD_ANCHOR_PINNED;
        return WARD_OK;
    }
    if (trust->n_cas == 0)
        return ward_err_set(WARD_ERR_VERIFY,
                            "platform certificate %s... is not pinned (and no enrolment CA is "
                            "trusted)", fph);
    if (trust->cas == NULL || (trust->n_crls > 0 && trust->crls == NULL))
        return ward_err_set(WARD_ERR_INVALID_ARG, "trust: CA or CRL count without the list");
    err = ward_cert_verify_chain(chain[0], chain + 1, n - 1, trust->cas, trust->n_cas,
                                 trust->crls, trust->n_crls, at, WARD_CHAIN_PARTIAL_OK);
    if (err != WARD_OK)
        return ward_err_wrap(WARD_ERR_VERIFY,
                             "platform certificate %s... is not pinned and does not chain to a "
                             "trusted enrolment CA", fph);
    if (out != NULL)
        *out = WARD_ANCHOR_CA;
    return WARD_OK;
}
