/* Intel DCAP verifier: QE identity match, TDX module identity, TCB level selection and status
 * convergence, following Intel QVL (reference/quote-formats.md 4.7, 4.9-4.11: QuoteVerifier.cpp
 * 4.1.2.4.11-17, TcbLevelCheck.cpp, TdxModuleCheck.cpp, TDRelaunchCheck.cpp). */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "attest/dcap_internal.h"

/* ---- QE identity ---------------------------------------------------------------------------- */

ward_err dcap_qe_identity_match(const dcap_qe_identity *qe, const ward_dcap_sgx_report *r,
                                const dcap_isv_level **level)
{
    const char *id = qe->is_td ? "TD_QE" : "QE";
    if ((r->miscselect & qe->miscselect_mask) != qe->miscselect)
        return ward_err_set(WARD_ERR_VERIFY,
                            "QE identity mismatch: MISCSELECT 0x%08x under mask 0x%08x is not "
                            "0x%08x (%s)", (unsigned)r->miscselect, (unsigned)qe->miscselect_mask,
                            (unsigned)qe->miscselect, id);
    for (size_t i = 0; i < 16; i++) {
        if ((r->attributes[i] & qe->attributes_mask[i]) != qe->attributes[i])
            return ward_err_set(WARD_ERR_VERIFY,
                                "QE identity mismatch: ATTRIBUTES byte %zu is 0x%02x under mask "
                                "0x%02x, not 0x%02x (%s)", i, r->attributes[i],
                                qe->attributes_mask[i], qe->attributes[i], id);
    }
    if (memcmp(r->mrsigner, qe->mrsigner, 32) != 0) {
        char got[65], want[65];
        dcap_hex(r->mrsigner, 32, got);
        dcap_hex(qe->mrsigner, 32, want);
        return ward_err_set(WARD_ERR_VERIFY,
                            "QE identity mismatch: MRSIGNER %s is not %s's %s", got, id, want);
    }
    if (r->isvprodid != qe->isvprodid)
        return ward_err_set(WARD_ERR_VERIFY,
                            "QE identity mismatch: ISVPRODID %u is not %u (%s)",
                            (unsigned)r->isvprodid, (unsigned)qe->isvprodid, id);
    /* Levels are sorted highest ISVSVN first: the first at or below the QE's is its level. */
    for (size_t i = 0; i < qe->n_levels; i++) {
        if (qe->levels[i].isvsvn <= r->isvsvn) {
            if (qe->levels[i].status == WARD_TCB_UNKNOWN)
                return ward_err_set(WARD_ERR_VERIFY,
                                    "QE identity: the level for ISVSVN %u has an unrecognised "
                                    "TCB status", (unsigned)r->isvsvn);
            *level = &qe->levels[i];
            return WARD_OK;
        }
    }
    return ward_err_set(WARD_ERR_VERIFY,
                        "TCB level not supported: the QE's ISVSVN %u is below every %s "
                        "identity level", (unsigned)r->isvsvn, id);
}

/* ---- TDX module ----------------------------------------------------------------------------- */

static const dcap_module_id *find_module(const dcap_tcb_info *t, uint8_t version)
{
    char want[16];
    snprintf(want, sizeof want, "TDX_%02X", (unsigned)version);
    for (size_t i = 0; i < t->n_mods; i++) {
        const char *id = t->mods[i].id;
        size_t k = 0;
        while (id[k] != '\0' && want[k] != '\0' &&
               toupper((unsigned char)id[k]) == (unsigned char)want[k])
            k++;
        if (id[k] == '\0' && want[k] == '\0')
            return &t->mods[i];
    }
    return NULL;
}

ward_err dcap_tdx_module_match(const dcap_tcb_info *t, const ward_dcap_td_report *td,
                               const dcap_module_id **mod)
{
    uint8_t version = td->tee_tcb_svn[1];
    const dcap_module_id *m = &t->module;
    *mod = NULL;
    if (version > 0) {
        m = find_module(t, version);
        if (m == NULL)
            return ward_err_set(WARD_ERR_VERIFY,
                                "TDX module mismatch: the TCB Info has no identity TDX_%02X for "
                                "the TD's module (TEE_TCB_SVN[1] = %u)", (unsigned)version,
                                (unsigned)version);
    } else if (!t->has_module) {
        return ward_err_set(WARD_ERR_VERIFY, "TDX module mismatch: the TCB Info has no tdxModule");
    }
    if (memcmp(td->mrsignerseam, m->mrsigner, 48) != 0)
        return ward_err_set(WARD_ERR_VERIFY,
                            "TDX module mismatch: MRSIGNERSEAM is not the TCB Info's module "
                            "signer");
    uint8_t attrs[8];
    for (size_t i = 0; i < 8; i++)
        attrs[i] = (uint8_t)(td->seam_attributes >> (8 * i));
    for (size_t i = 0; i < 8; i++) {
        if (attrs[i] != 0 || attrs[i] != m->attributes[i])
            return ward_err_set(WARD_ERR_VERIFY,
                                "TDX module mismatch: SEAMATTRIBUTES 0x%016llx is not zero and "
                                "the TCB Info's", (unsigned long long)td->seam_attributes);
    }
    *mod = m;
    return WARD_OK;
}

/* ---- TCB levels ----------------------------------------------------------------------------- */

static ward_tcb_status converge_module(ward_tcb_status level, ward_tcb_status module)
{
    if (module == WARD_TCB_OUT_OF_DATE) {
        if (level == WARD_TCB_UP_TO_DATE || level == WARD_TCB_SW_HARDENING_NEEDED)
            return WARD_TCB_OUT_OF_DATE;
        if (level == WARD_TCB_CONFIGURATION_NEEDED ||
            level == WARD_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED)
            return WARD_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED;
    }
    if (module == WARD_TCB_REVOKED)
        return WARD_TCB_REVOKED;
    return level;
}

/* The same rules with the QE's status (QVL convergeTcbStatusWithQeTcbStatus). */
static ward_tcb_status converge_qe(ward_tcb_status level, ward_tcb_status qe)
{
    return converge_module(level, qe);
}

static int sgx_ok(const ward_dcap_pck_info *pck, const dcap_tcb_level *l)
{
    for (size_t i = 0; i < 16; i++) {
        if (pck->comp_svn[i] < l->sgx[i])
            return 0;
    }
    return pck->pcesvn >= l->pcesvn;
}

static int tdx_ok(const uint8_t svn[16], const dcap_tcb_level *l)
{
    for (size_t i = svn[1] > 0 ? 2 : 0; i < 16; i++) {
        if (svn[i] < l->tdx[i])
            return 0;
    }
    return 1;
}

static void add_advisories(ward_claims *c, ward_dcap_result *res, const dcap_advisory *adv,
                           size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int dup = 0;
        for (size_t j = 0; j < c->n_advisories && !dup; j++)
            dup = strcmp(c->advisories[j], adv[i]) == 0;
        if (dup)
            continue;
        if (c->n_advisories == WARD_CLAIMS_MAX_ADVISORIES) {
            res->advisories_truncated = 1;
            return;
        }
        memcpy(c->advisories[c->n_advisories++], adv[i], WARD_CLAIMS_ADVISORY_LEN);
    }
}

static ward_err unrecognised(const char *what)
{
    return ward_err_set(WARD_ERR_VERIFY, "the selected %s has an unrecognised TCB status", what);
}

/* QVL checkTdxModuleTcbStatus: the module's own level, for a module version above 0. */
static ward_err module_status(const ward_dcap_td_report *td, const dcap_module_id *mod,
                              const dcap_isv_level **level, ward_tcb_status *st)
{
    *level = NULL;
    if (td->tee_tcb_svn[1] == 0) {
        *st = WARD_TCB_UP_TO_DATE;
        return WARD_OK;
    }
    for (size_t i = 0; i < mod->n_levels; i++) {
        if (td->tee_tcb_svn[0] >= mod->levels[i].isvsvn) {
            if (mod->levels[i].status == WARD_TCB_UNKNOWN)
                return unrecognised("TDX module level");
            *level = &mod->levels[i];
            *st = mod->levels[i].status;
            return WARD_OK;
        }
    }
    return ward_err_set(WARD_ERR_VERIFY,
                        "TCB level not supported: the TDX module's SVN %u is below every %s "
                        "level", (unsigned)td->tee_tcb_svn[0], mod->id);
}

/* QVL checkForRelaunch (TD 1.5 bodies): 1 if relaunching the TD would bring it up to date. */
static int relaunch_advised(const dcap_tcb_info *t, const ward_dcap_td_report *td,
                            ward_tcb_status sgx_st, ward_tcb_status tdx_st,
                            ward_tcb_status module_st, ward_tcb_status qe_st)
{
    if (qe_st == WARD_TCB_OUT_OF_DATE || qe_st == WARD_TCB_REVOKED)
        return 0;
    if (sgx_st != WARD_TCB_UP_TO_DATE && sgx_st != WARD_TCB_SW_HARDENING_NEEDED &&
        sgx_st != WARD_TCB_CONFIGURATION_NEEDED &&
        sgx_st != WARD_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED)
        return 0;
    if (tdx_st != WARD_TCB_OUT_OF_DATE && tdx_st != WARD_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED)
        return 0;
    if (module_st != WARD_TCB_OUT_OF_DATE || t->n_levels == 0)
        return 0;
    const dcap_tcb_level *latest = &t->levels[0];
    const uint8_t *svn2 = td->tee_tcb_svn2;
    if (svn2[1] == 0)
        return svn2[0] >= latest->tdx[0] && svn2[2] >= latest->tdx[2];
    const dcap_module_id *m2 = find_module(t, svn2[1]);
    if (m2 == NULL || m2->n_levels == 0)
        return 0;
    return svn2[0] >= m2->levels[0].isvsvn && svn2[2] >= latest->tdx[2];
}

static void format_tcb(const ward_dcap_pck_info *pck, char *buf, size_t cap)
{
    size_t off = 0;
    for (size_t i = 0; i < 16 && off < cap; i++) {
        int k = snprintf(buf + off, cap - off, "%s%u", i ? "," : "[", (unsigned)pck->comp_svn[i]);
        if (k < 0)
            break;
        off += (size_t)k;
    }
    if (off < cap)
        snprintf(buf + off, cap - off, "], PCESVN %u", (unsigned)pck->pcesvn);
}

ward_err dcap_tcb_evaluate(const dcap_tcb_info *t, const ward_dcap_pck_info *pck,
                           const ward_dcap_quote *q, const dcap_module_id *mod,
                           const dcap_isv_level *qe_level, ward_claims *claims,
                           ward_dcap_result *res)
{
    const dcap_tcb_level *sgx_lvl = NULL, *tdx_lvl = NULL;
    const uint8_t *svn = q->is_tdx ? q->td.tee_tcb_svn : NULL;
    for (size_t i = 0; i < t->n_levels; i++) {
        const dcap_tcb_level *l = &t->levels[i];
        if (!sgx_ok(pck, l))
            continue;
        if (sgx_lvl == NULL)
            sgx_lvl = l;
        if (svn == NULL)
            break;
        if (tdx_ok(svn, l)) {
            tdx_lvl = l;
            break;
        }
    }
    if (sgx_lvl == NULL) {
        char tcb[160];
        format_tcb(pck, tcb, sizeof tcb);
        return ward_err_set(WARD_ERR_VERIFY,
                            "TCB level not supported: the PCK certificate's TCB (components %s) "
                            "is below every level of the TCB Info", tcb);
    }
    if (sgx_lvl->status == WARD_TCB_UNKNOWN)
        return unrecognised("SGX TCB level");
    res->sgx_level_status = sgx_lvl->status;
    res->qe_status = qe_level->status;
    ward_tcb_status st;
    const dcap_tcb_level *chosen = sgx_lvl;
    const dcap_isv_level *mod_level = NULL;
    if (svn == NULL) {
        st = converge_qe(sgx_lvl->status, qe_level->status);
    } else {
        if (tdx_lvl == NULL) {
            char hex[33];
            dcap_hex(svn, 16, hex);
            return ward_err_set(WARD_ERR_VERIFY,
                                "TCB level not supported: TEE_TCB_SVN %s is below every TDX "
                                "level that the platform's SGX TCB reaches", hex);
        }
        if (tdx_lvl->status == WARD_TCB_UNKNOWN)
            return unrecognised("TDX TCB level");
        chosen = tdx_lvl;
        ward_tcb_status mst = WARD_TCB_UNKNOWN;
        ward_err err = module_status(&q->td, mod, &mod_level, &mst);
        if (err)
            return err;
        res->module_status = mst;
        res->tdx_level_status = tdx_lvl->status;
        st = converge_module(tdx_lvl->status, mst);
        if (st != WARD_TCB_REVOKED) {
            if (q->td.is_15 && relaunch_advised(t, &q->td, sgx_lvl->status, st, mst,
                                                qe_level->status))
                res->td_relaunch_advised = 1;
            st = converge_qe(st, qe_level->status);
        }
    }
    claims->tcb_status = st;
    res->status = st;
    res->tcb_date = chosen->date;
    claims->n_advisories = 0;
    add_advisories(claims, res, chosen->adv, chosen->n_adv);
    if (mod_level != NULL)
        add_advisories(claims, res, mod_level->adv, mod_level->n_adv);
    add_advisories(claims, res, qe_level->adv, qe_level->n_adv);
    return WARD_OK;
}
