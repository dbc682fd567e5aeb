/* Intel DCAP verifier: the PCK certificate chain carried in a quote (certification data type 5)
 * and the SGX extensions of the PCK certificate (OID 1.2.840.113741.1.13.1).
 *
 * A chain is verified in full (strict PEM, exactly three certificates, the root byte-identical to
 * the trust anchor, signatures, validity at `at`, both CRLs required), then kept in the
 * collateral's cache under the SHA-256 of the certification data with the certificates' common
 * validity window. Within that window and with the same collateral (same CRLs, whose own windows
 * are checked on every verification), verifying the same bytes again can only give the same
 * answer, so a hit skips the five signature checks of the chain. */
#include <stdlib.h>
#include <string.h>

#include "attest/dcap_internal.h"

#define SGX_EXT_OID "1.2.840.113741.1.13.1"

/* DER tags. */
#define T_BOOLEAN 0x01
#define T_INTEGER 0x02
#define T_OCTET 0x04
#define T_OID 0x06
#define T_ENUM 0x0A
#define T_SEQ 0x30

/* 1.2.840.113741.1.13.1, as the OID's content bytes. */
static const uint8_t SGX_ARC[] = {0x2A, 0x86, 0x48, 0x86, 0xF8, 0x4D, 0x01, 0x0D, 0x01};

/* ---- SGX extensions ------------------------------------------------------------------------- */

/* The OID must be SGX_ARC followed by `depth` single-byte arcs (each below 128); out: them. */
static int sgx_oid(dcap_der oid, size_t depth, unsigned arcs[2])
{
    if (oid.n != sizeof SGX_ARC + depth || memcmp(oid.p, SGX_ARC, sizeof SGX_ARC) != 0)
        return -1;
    for (size_t i = 0; i < depth; i++) {
        if (oid.p[sizeof SGX_ARC + i] & 0x80)
            return -1;
        arcs[i] = oid.p[sizeof SGX_ARC + i];
    }
    return 0;
}

/* A non-negative DER INTEGER no larger than max. */
static int der_uint(dcap_der v, unsigned max, unsigned *out)
{
    if (v.n == 0 || v.n > 3 || (v.p[0] & 0x80))
        return -1; /* empty, beyond 24 bits or negative */
    if (v.n > 1 && v.p[0] == 0 && !(v.p[1] & 0x80))
        return -1; /* not minimal */
    unsigned long x = 0;
    for (size_t i = 0; i < v.n; i++)
        x = (x << 8) | v.p[i];
    if (x > max)
        return -1;
    *out = (unsigned)x;
    return 0;
}

/* One { OBJECT IDENTIFIER, value } pair of a sequence. */
static int next_pair(dcap_der *seq, dcap_der *oid, uint8_t *vtag, dcap_der *val)
{
    uint8_t tag;
    dcap_der pair;
    if (dcap_der_next(seq, &tag, &pair) || tag != T_SEQ)
        return -1;
    if (dcap_der_next(&pair, &tag, oid) || tag != T_OID)
        return -1;
    if (dcap_der_next(&pair, vtag, val) || pair.n != 0)
        return -1;
    return 0;
}

static ward_err ext_err(const char *what)
{
    return ward_err_set(WARD_ERR_FORMAT, "PCK certificate SGX extensions: %s", what);
}

static ward_err parse_tcb(dcap_der seq, ward_dcap_pck_info *out)
{
    uint32_t seen = 0;
    while (seq.n != 0) {
        dcap_der oid, val;
        uint8_t vtag;
        unsigned arcs[2];
        if (next_pair(&seq, &oid, &vtag, &val) || sgx_oid(oid, 2, arcs) || arcs[0] != 2 ||
            arcs[1] < 1 || arcs[1] > 18)
            return ext_err("malformed TCB entry");
        unsigned k = arcs[1];
        if (seen & (1u << k))
            return ext_err("a TCB entry appears twice");
        seen |= 1u << k;
        unsigned v = 0;
        if (k <= 16) {
            if (vtag != T_INTEGER || der_uint(val, 255, &v))
                return ext_err("a TCB component SVN is not an integer 0..255");
            out->comp_svn[k - 1] = (uint8_t)v;
        } else if (k == 17) {
            if (vtag != T_INTEGER || der_uint(val, 65535, &v))
                return ext_err("PCESVN is not an integer 0..65535");
            out->pcesvn = (uint16_t)v;
        } else {
            if (vtag != T_OCTET || val.n != 16)
                return ext_err("CPUSVN is not a 16-byte OCTET STRING");
            memcpy(out->cpusvn, val.p, 16);
        }
    }
    if (seen != (((1u << 19) - 1) & ~1u))
        return ext_err("the TCB lacks some of its 18 entries");
    return WARD_OK;
}

static ward_err parse_config(dcap_der seq, ward_dcap_pck_info *out)
{
    int *slot[3] = {&out->dynamic_platform, &out->cached_keys, &out->smt_enabled};
    while (seq.n != 0) {
        dcap_der oid, val;
        uint8_t vtag;
        unsigned arcs[2];
        if (next_pair(&seq, &oid, &vtag, &val) || sgx_oid(oid, 2, arcs) || arcs[0] != 7)
            return ext_err("malformed Configuration entry");
        if (arcs[1] < 1 || arcs[1] > 3)
            continue; /* a flag defined later */
        if (vtag != T_BOOLEAN || val.n != 1 || (val.p[0] != 0 && val.p[0] != 0xFF))
            return ext_err("a Configuration flag is not a DER BOOLEAN");
        if (*slot[arcs[1] - 1] != -1)
            return ext_err("a Configuration flag appears twice");
        *slot[arcs[1] - 1] = val.p[0] != 0;
    }
    return WARD_OK;
}

ward_err dcap_parse_sgx_ext(const uint8_t *der, size_t len, ward_dcap_pck_info *out)
{
    memset(out, 0, sizeof *out);
    out->dynamic_platform = out->cached_keys = out->smt_enabled = -1;
    dcap_der in = {der, len}, seq;
    uint8_t tag;
    if (der == NULL || dcap_der_next(&in, &tag, &seq) || tag != T_SEQ || in.n != 0)
        return ext_err("not one DER SEQUENCE");
    uint32_t seen = 0;
    while (seq.n != 0) {
        dcap_der oid, val;
        uint8_t vtag;
        unsigned arcs[2];
        if (next_pair(&seq, &oid, &vtag, &val))
            return ext_err("malformed entry");
        if (sgx_oid(oid, 1, arcs))
            continue; /* not an SGX extension entry of this level: ignore */
        unsigned k = arcs[0];
        if (k >= 1 && k <= 7) {
            if (seen & (1u << k))
                return ext_err("an entry appears twice");
            seen |= 1u << k;
        }
        unsigned v = 0;
        ward_err err = WARD_OK;
        switch (k) {
        case 1:
            if (vtag != T_OCTET || val.n != 16)
                return ext_err("PPID is not a 16-byte OCTET STRING");
            memcpy(out->ppid, val.p, 16);
            break;
        case 2:
            if (vtag != T_SEQ)
                return ext_err("TCB is not a SEQUENCE");
            err = parse_tcb(val, out);
            break;
        case 3:
            if (vtag != T_OCTET || val.n != 2)
                return ext_err("PCE-ID is not a 2-byte OCTET STRING");
            memcpy(out->pceid, val.p, 2);
            break;
        case 4:
            if (vtag != T_OCTET || val.n != 6)
                return ext_err("FMSPC is not a 6-byte OCTET STRING");
            memcpy(out->fmspc, val.p, 6);
            break;
        case 5:
            if (vtag != T_ENUM || der_uint(val, 255, &v))
                return ext_err("SGX Type is not a small ENUMERATED");
            out->sgx_type = (int)v;
            break;
        case 6:
            if (vtag != T_OCTET || val.n != 16)
                return ext_err("PlatformInstanceID is not a 16-byte OCTET STRING");
            memcpy(out->platform_instance_id, val.p, 16);
            out->has_platform_instance_id = 1;
            break;
        case 7:
            if (vtag != T_SEQ)
                return ext_err("Configuration is not a SEQUENCE");
            out->has_configuration = 1;
            err = parse_config(val, out);
            break;
        default:
            break; /* defined later */
        }
        if (err)
            return err;
    }
    const uint32_t required = (1u << 1) | (1u << 2) | (1u << 3) | (1u << 4) | (1u << 5);
    if ((seen & required) != required)
        return ext_err("PPID, TCB, PCE-ID, FMSPC or SGX Type is missing");
    return WARD_OK;
}

/* ---- the chain ------------------------------------------------------------------------------ */

static void entry_free(dcap_pck_entry *e)
{
    if (e == NULL)
        return;
    ward_pkey_free(e->pub);
    free(e);
}

static ward_err cn_contains(const ward_cert *cert, const char *what, const char *phrase)
{
    char *cn = NULL;
    ward_err err = ward_cert_common_name(cert, &cn);
    if (err)
        return ward_err_set(WARD_ERR_VERIFY, "PCK chain: the %s has no common name", what);
    int ok = strstr(cn, phrase) != NULL;
    if (!ok)
        ward_err_set(WARD_ERR_VERIFY, "PCK chain: the %s's common name \"%s\" lacks \"%s\"",
                     what, cn, phrase);
    free(cn);
    return ok ? WARD_OK : WARD_ERR_VERIFY;
}

/* The certificate from DER, refusing any encoding that does not re-encode to the same bytes. */
static ward_err strict_cert(const dcap_blob *b, size_t index, ward_cert **out)
{
    ward_err err = ward_cert_from_der(b->p, b->n, out);
    if (err)
        return ward_err_wrap(WARD_ERR_FORMAT, "PCK chain: certificate %zu", index + 1);
    uint8_t *der = NULL;
    size_t der_len = 0;
    err = ward_cert_to_der(*out, &der, &der_len);
    if (err == WARD_OK && (der_len != b->n || memcmp(der, b->p, der_len) != 0))
        err = ward_err_set(WARD_ERR_FORMAT,
                           "PCK chain: certificate %zu is not in canonical DER", index + 1);
    free(der);
    if (err) {
        ward_cert_free(*out);
        *out = NULL;
    }
    return err;
}

static ward_err check_issuer_is_crl_issuer(const ward_dcap_collateral *c, const ward_cert *leaf)
{
    char *issuer = NULL;
    ward_err err = ward_cert_issuer(leaf, &issuer);
    if (err)
        return ward_err_wrap(err, "PCK chain");
    if (strcmp(issuer, c->pck_crl_issuer) != 0)
        err = ward_err_set(WARD_ERR_VERIFY,
                           "PCK chain: the PCK CRL is issued by \"%s\", but the PCK certificate "
                           "by \"%s\" (the CRL of the other PCK CA?)", c->pck_crl_issuer,
                           issuer);
    free(issuer);
    return err;
}

static ward_err verify_cold(const ward_dcap_collateral *c, const uint8_t *data, size_t len,
                            int64_t at, dcap_pck_entry *e)
{
    dcap_blob blobs[4];
    size_t n = 0;
    ward_cert *cert[2] = {NULL, NULL};
    ward_err err = dcap_pem_decode((const char *)data, len, "CERTIFICATE", 1, blobs, 4, &n);
    if (err)
        return ward_err_wrap(WARD_ERR_FORMAT, "PCK chain");
    if (n != 3) {
        err = ward_err_set(WARD_ERR_FORMAT,
                           "PCK chain: %zu certificates (PCK, intermediate CA, root expected)",
                           n);
        goto done;
    }
    /* The root must be the trust anchor itself, byte for byte: then the collateral's parsed
     * copy serves (decoding a certificate costs as much as two signature checks). */
    if (blobs[2].n != c->root_der_len || memcmp(blobs[2].p, c->root_der, c->root_der_len) != 0) {
        err = ward_err_set(WARD_ERR_VERIFY,
                           "PCK chain: its root is not the trusted root (the Intel SGX Root CA)");
        goto done;
    }
    for (size_t i = 0; i < 2 && err == WARD_OK; i++)
        err = strict_cert(&blobs[i], i, &cert[i]);
    if (err)
        goto done;
    if ((err = cn_contains(cert[0], "PCK certificate", "SGX PCK Certificate")) != WARD_OK ||
        (err = cn_contains(cert[1], "intermediate", "CA")) != WARD_OK ||
        (err = check_issuer_is_crl_issuer(c, cert[0])) != WARD_OK)
        goto done;
    ward_crl *crls[2] = {c->root_crl, c->pck_crl};
    err = ward_cert_verify_chain(cert[0], &cert[1], 1, &c->root, 1, crls, 2, at,
                                 WARD_CHAIN_REQUIRE_CRLS);
    if (err) {
        ward_err_wrap(err, "PCK chain");
        goto done;
    }
    err = ward_cert_public_key(cert[0], &e->pub);
    if (err)
        goto done;
    if (ward_pkey_type(e->pub) != WARD_KEY_EC_P256) {
        err = ward_err_set(WARD_ERR_VERIFY, "PCK chain: the PCK key is not ECDSA P-256");
        goto done;
    }
    uint8_t *ext = NULL;
    size_t ext_len = 0;
    err = ward_cert_extension(cert[0], SGX_EXT_OID, &ext, &ext_len, NULL);
    if (err == WARD_ERR_NOT_FOUND) {
        err = ward_err_set(WARD_ERR_FORMAT, "PCK chain: the PCK certificate has no SGX "
                           "extensions (OID %s)", SGX_EXT_OID);
        goto done;
    }
    if (err) {
        ward_err_wrap(err, "PCK chain");
        goto done;
    }
    err = dcap_parse_sgx_ext(ext, ext_len, &e->info);
    free(ext);
    if (err)
        goto done;
    char *inter_cn = NULL;
    if (ward_cert_common_name(cert[1], &inter_cn) == WARD_OK)
        e->info.platform_ca = strstr(inter_cn, "Platform") != NULL;
    free(inter_cn);
    e->not_before = c->root_nb;
    e->not_after = c->root_na;
    for (size_t i = 0; i < 2 && err == WARD_OK; i++) {
        int64_t nb = 0, na = 0;
        err = ward_cert_validity(cert[i], &nb, &na);
        if (nb > e->not_before)
            e->not_before = nb;
        if (na < e->not_after)
            e->not_after = na;
    }
done:
    for (size_t i = 0; i < 2; i++)
        ward_cert_free(cert[i]);
    dcap_blobs_free(blobs, n);
    return err;
}

static ward_dcap_collateral *mut(const ward_dcap_collateral *c)
{
    /* The lock and the cache are the only parts a verification changes; the object itself was
     * allocated writable by the loader. */
    return (ward_dcap_collateral *)(uintptr_t)c;
}

ward_err dcap_pck_get(const ward_dcap_collateral *c, const uint8_t *cert_data, size_t len,
                      int64_t at, dcap_pck_entry **entry, int *cached)
{
    *entry = NULL;
    *cached = 0;
    uint8_t key[WARD_SHA256_LEN];
    ward_err err = ward_hash(WARD_HASH_SHA256, cert_data, len, key);
    if (err)
        return err;
    ward_dcap_collateral *m = mut(c);
    int use_cache = !(c->flags & WARD_DCAP_NO_PCK_CACHE);
    if (use_cache) {
        pthread_mutex_lock(&m->lock);
        for (size_t i = 0; i < WARD_DCAP_PCK_CACHE; i++) {
            dcap_pck_entry *e = m->cache[i];
            if (e != NULL && memcmp(e->key, key, sizeof key) == 0 && at >= e->not_before &&
                at < e->not_after) {
                e->refs++;
                pthread_mutex_unlock(&m->lock);
                *entry = e;
                *cached = 1;
                return WARD_OK;
            }
        }
        pthread_mutex_unlock(&m->lock);
    }
    dcap_pck_entry *e = calloc(1, sizeof *e);
    if (e == NULL)
        return ward_err_set(WARD_ERR_NOMEM, "PCK chain: out of memory");
    err = verify_cold(c, cert_data, len, at, e);
    if (err) {
        entry_free(e);
        return err;
    }
    memcpy(e->key, key, sizeof key);
    e->refs = 1;
    if (use_cache) {
        pthread_mutex_lock(&m->lock);
        dcap_pck_entry *old = m->cache[m->cache_next];
        m->cache[m->cache_next] = e;
        m->cache_next = (m->cache_next + 1) % WARD_DCAP_PCK_CACHE;
        e->refs++;
        if (old != NULL && --old->refs == 0)
            entry_free(old);
        pthread_mutex_unlock(&m->lock);
    }
    *entry = e;
    return WARD_OK;
}

void dcap_pck_release(const ward_dcap_collateral *c, dcap_pck_entry *e)
{
    if (e == NULL)
        return;
    ward_dcap_collateral *m = mut(c);
    pthread_mutex_lock(&m->lock);
    int last = --e->refs == 0;
    pthread_mutex_unlock(&m->lock);
    if (last)
        entry_free(e);
}

void dcap_pck_cache_clear(ward_dcap_collateral *c)
{
    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < WARD_DCAP_PCK_CACHE; i++) {
        dcap_pck_entry *e = c->cache[i];
        c->cache[i] = NULL;
        if (e != NULL && --e->refs == 0)
            entry_free(e);
    }
    pthread_mutex_unlock(&c->lock);
}
