/* SEV-SNP report verification (reference a.6): AMD chains held by a verifier, a small cache of
 * verified VCEK/VLEK certificates, and the checks from report bytes to normalised claims. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "attest/snp_internal.h"
#include "ward/crypto.h"
#include "ward/snp.h"
#include "ward/x509.h"

#define MAX_CHAINS 3  /* one per known product */
#define CACHE_SLOTS 16

typedef struct snp_chain {
    ward_snp_product product;
    ward_cert *ark;
    ward_cert *ask;  /* issues VCEKs; may be NULL */
    ward_cert *asvk; /* issues VLEKs; may be NULL */
    char *ask_subject, *asvk_subject; /* RFC 2253, to match a certificate's issuer */
} snp_chain;

/* A verified VCEK/VLEK: shared between the cache and the verifications using it. */
typedef struct vek_entry {
    unsigned refs;
    uint8_t key[WARD_SHA256_LEN]; /* SHA-256 of the certificate bytes as given */
    const snp_chain *chain;
    ward_pkey *pub;
    ward_snp_vek_info info;       /* with the chain's validity window */
} vek_entry;

struct ward_snp_verifier {
    snp_chain chains[MAX_CHAINS];
    size_t n_chains;
    unsigned flags;
    int have_floor;
    ward_snp_tcb floor;
    pthread_mutex_t lock;
    vek_entry *cache[CACHE_SLOTS];
    size_t next_slot;
};

/* ---- the chains -------------------------------------------------------------------------- */

static void chain_clear(snp_chain *c)
{
    ward_cert_free(c->ark);
    ward_cert_free(c->ask);
    ward_cert_free(c->asvk);
    free(c->ask_subject);
    free(c->asvk_subject);
    memset(c, 0, sizeof *c);
}

static snp_chain *chain_for(ward_snp_verifier *v, ward_snp_product p)
{
    for (size_t i = 0; i < v->n_chains; i++) {
        if (v->chains[i].product == p)
            return &v->chains[i];
    }
    if (v->n_chains == MAX_CHAINS)
        return NULL;
    snp_chain *c = &v->chains[v->n_chains++];
    memset(c, 0, sizeof *c);
    c->product = p;
    return c;
}

enum cert_role { ROLE_ARK, ROLE_ASK, ROLE_ASVK };

/* The role and product from an AMD common name: "ARK-<P>", "SEV-<P>" or "SEV-VLEK-<P>". */
static ward_err classify(const char *cn, enum cert_role *role, ward_snp_product *p)
{
    static const struct {
        const char *prefix;
        enum cert_role role;
    } forms[] = {{"ARK-", ROLE_ARK}, {"SEV-VLEK-", ROLE_ASVK}, {"SEV-", ROLE_ASK}};
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        size_t n = strlen(forms[i].prefix);
        if (strncmp(cn, forms[i].prefix, n) != 0)
            continue;
        *role = forms[i].role;
        *p = ward_snp_priv_product_from_name(cn + n, strlen(cn + n));
        if (*p == WARD_SNP_PRODUCT_UNKNOWN)
            return ward_err_set(WARD_ERR_UNSUPPORTED, "AMD chain: \"%.64s\" is not for a known "
                                "product (Milan, Genoa, Turin)", cn);
        return WARD_OK;
    }
    return ward_err_set(WARD_ERR_FORMAT, "AMD chain: unexpected certificate \"%.64s\" (expected "
                        "ARK-, SEV- or SEV-VLEK-<product>)", cn);
}

static ward_err add_cert(ward_snp_verifier *v, ward_cert *cert)
{
    char *cn = NULL;
    ward_err err = ward_cert_common_name(cert, &cn);
    if (err)
        return ward_err_wrap(err, "AMD chain");
    enum cert_role role = ROLE_ARK;
    ward_snp_product p = WARD_SNP_PRODUCT_UNKNOWN;
    err = classify(cn, &role, &p);
    if (err) {
        free(cn);
        return err;
    }
    snp_chain *c = chain_for(v, p);
    if (c == NULL) {
        free(cn);
        return ward_err_set(WARD_ERR_LIMIT, "AMD chain: too many products");
    }
    ward_cert **slot = role == ROLE_ARK ? &c->ark : role == ROLE_ASK ? &c->ask : &c->asvk;
    if (*slot != NULL) {
        err = ward_err_set(WARD_ERR_FORMAT, "AMD chain: \"%s\" appears twice", cn);
        free(cn);
        return err;
    }
    if (role != ROLE_ARK) {
        char **subj = role == ROLE_ASK ? &c->ask_subject : &c->asvk_subject;
        err = ward_cert_subject(cert, subj);
        if (err) {
            free(cn);
            return ward_err_wrap(err, "AMD chain");
        }
    }
    free(cn);
    *slot = ward_cert_ref(cert);
    return WARD_OK;
}

static ward_err check_ark(const snp_chain *c, unsigned flags)
{
    const char *name = ward_snp_product_name(c->product);
    if (c->ark == NULL)
        return ward_err_set(WARD_ERR_FORMAT, "AMD chain: no ARK-%s for its SEV-%s certificates",
                            name, name);
    if (c->ask == NULL && c->asvk == NULL)
        return ward_err_set(WARD_ERR_FORMAT, "AMD chain: ARK-%s without an ASK or ASVK", name);
    uint8_t h[WARD_SHA256_LEN];
    ward_err err = ward_cert_spki_sha256(c->ark, h);
    if (err)
        return ward_err_wrap(err, "AMD chain");
    ward_snp_product pinned = ward_snp_priv_pinned_ark(h);
    if (pinned == c->product)
        return WARD_OK;
    if (pinned == WARD_SNP_PRODUCT_UNKNOWN && (flags & WARD_SNP_ALLOW_UNPINNED_ARK))
        return WARD_OK;
    return ward_err_set(WARD_ERR_VERIFY, "AMD chain: ARK-%s is not AMD's ARK for %s (its public "
                        "key is not the pinned one)", name, name);
}

ward_err ward_snp_verifier_new(const char *chain_pem, size_t pem_len, unsigned flags,
                               ward_snp_verifier **out)
{
    if (out == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "SNP verifier: NULL argument");
    *out = NULL;
    if (chain_pem == NULL || pem_len == 0)
        return ward_err_set(WARD_ERR_INVALID_ARG, "SNP verifier: no AMD chain");
    if ((flags & ~(unsigned)WARD_SNP_ALLOW_UNPINNED_ARK) != 0)
        return ward_err_set(WARD_ERR_INVALID_ARG, "SNP verifier: unknown flags 0x%x", flags);
    ward_cert **certs = NULL;
    size_t n = 0;
    ward_err err = ward_cert_list_from_pem(chain_pem, pem_len, &certs, &n);
    if (err)
        return ward_err_wrap(err, "SNP verifier: AMD chain");
    ward_snp_verifier *v = calloc(1, sizeof *v);
    if (v == NULL) {
        ward_cert_list_free(certs, n);
        return ward_err_set(WARD_ERR_NOMEM, "SNP verifier: out of memory");
    }
    if (pthread_mutex_init(&v->lock, NULL) != 0) {
        free(v);
        ward_cert_list_free(certs, n);
        return ward_err_set(WARD_ERR_NOMEM, "SNP verifier: cannot create a lock");
    }
    v->flags = flags;
    for (size_t i = 0; i < n && err == WARD_OK; i++)
        err = add_cert(v, certs[i]);
    ward_cert_list_free(certs, n);
    for (size_t i = 0; i < v->n_chains && err == WARD_OK; i++)
        err = check_ark(&v->chains[i], flags);
    if (err) {
        ward_snp_verifier_free(v);
        return err;
    }
    *out = v;
    return WARD_OK;
}

static void entry_release(ward_snp_verifier *v, vek_entry *e)
{
    if (e == NULL)
        return;
    pthread_mutex_lock(&v->lock);
    unsigned left = --e->refs;
    pthread_mutex_unlock(&v->lock);
    if (left == 0) {
        ward_pkey_free(e->pub);
        free(e);
    }
}

void ward_snp_verifier_free(ward_snp_verifier *v)
{
    if (v == NULL)
        return;
    for (size_t i = 0; i < CACHE_SLOTS; i++) {
        vek_entry *e = v->cache[i];
        v->cache[i] = NULL;
        entry_release(v, e);
    }
    for (size_t i = 0; i < v->n_chains; i++)
        chain_clear(&v->chains[i]);
    pthread_mutex_destroy(&v->lock);
    free(v);
}

ward_err ward_snp_verifier_set_min_tcb(ward_snp_verifier *v, const ward_snp_tcb *floor)
{
    if (v == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "SNP verifier: NULL argument");
    v->have_floor = floor != NULL;
    if (floor != NULL)
        v->floor = *floor;
    else
        memset(&v->floor, 0, sizeof v->floor);
    return WARD_OK;
}

/* ---- the VCEK/VLEK cache ----------------------------------------------------------------- */

/* A cached entry for key whose chain is valid at `at`, with a reference taken; or NULL. */
static vek_entry *cache_get(ward_snp_verifier *v, const uint8_t key[WARD_SHA256_LEN], int64_t at)
{
    vek_entry *found = NULL;
    pthread_mutex_lock(&v->lock);
    for (size_t i = 0; i < CACHE_SLOTS; i++) {
        vek_entry *e = v->cache[i];
        if (e != NULL && memcmp(e->key, key, WARD_SHA256_LEN) == 0 &&
            e->info.not_before <= at && at < e->info.not_after) {
            e->refs++;
            found = e;
            break;
        }
    }
    pthread_mutex_unlock(&v->lock);
    return found;
}

/* Stores e (which the caller keeps a reference to), replacing the oldest slot. */
static void cache_put(ward_snp_verifier *v, vek_entry *e)
{
    vek_entry *old = NULL;
    pthread_mutex_lock(&v->lock);
    for (size_t i = 0; i < CACHE_SLOTS; i++) {
        if (v->cache[i] != NULL && memcmp(v->cache[i]->key, e->key, WARD_SHA256_LEN) == 0) {
            pthread_mutex_unlock(&v->lock); /* another thread got there first */
            return;
        }
    }
    size_t slot = v->next_slot;
    v->next_slot = (slot + 1) % CACHE_SLOTS;
    old = v->cache[slot];
    v->cache[slot] = e;
    e->refs++;
    pthread_mutex_unlock(&v->lock);
    entry_release(v, old);
}

/* ---- one certificate --------------------------------------------------------------------- */

static ward_err parse_cert(const uint8_t *vek, size_t vek_len, ward_cert **out)
{
    ward_err err;
    if (vek[0] == 0x30)
        err = ward_cert_from_der(vek, vek_len, out);
    else
        err = ward_cert_from_pem((const char *)vek, vek_len, out);
    if (err)
        return ward_err_wrap(err, "SNP VCEK/VLEK certificate");
    return WARD_OK;
}

static ward_err find_chain(const ward_snp_verifier *v, const ward_cert *cert, int is_vlek,
                           const snp_chain **out)
{
    char *issuer = NULL;
    ward_err err = ward_cert_issuer(cert, &issuer);
    if (err)
        return ward_err_wrap(err, "SNP VCEK/VLEK certificate");
    for (size_t i = 0; i < v->n_chains; i++) {
        const snp_chain *c = &v->chains[i];
        const char *subj = is_vlek ? c->asvk_subject : c->ask_subject;
        if (subj != NULL && strcmp(subj, issuer) == 0) {
            free(issuer);
            *out = c;
            return WARD_OK;
        }
    }
    char have[128] = "";
    for (size_t i = 0; i < v->n_chains; i++) {
        size_t used = strlen(have);
        const char *sep = i == 0 ? "" : ", ";
        snprintf(have + used, sizeof have - used, "%s%s", sep,
                 ward_snp_product_name(v->chains[i].product));
    }
    err = ward_err_set(WARD_ERR_VERIFY, "SNP %s: issuer \"%.200s\" is not an %s of the trusted "
                       "AMD chains (%s)", is_vlek ? "VLEK" : "VCEK", issuer,
                       is_vlek ? "ASVK" : "ASK", have);
    free(issuer);
    return err;
}

/* The chain's validity window: [latest notBefore, earliest notAfter). */
static ward_err chain_window(const ward_cert *const *certs, size_t n, int64_t *nb, int64_t *na)
{
    *nb = INT64_MIN;
    *na = INT64_MAX;
    for (size_t i = 0; i < n; i++) {
        int64_t b = 0, a = 0;
        ward_err err = ward_cert_validity(certs[i], &b, &a);
        if (err)
            return ward_err_wrap(err, "SNP chain validity");
        if (b > *nb)
            *nb = b;
        if (a < *na)
            *na = a;
    }
    return WARD_OK;
}

/* Parses and verifies a VCEK/VLEK at `at`: a new entry with one reference for the caller. */
static ward_err load_vek(const ward_snp_verifier *v, const uint8_t *vek, size_t vek_len,
                         const uint8_t key[WARD_SHA256_LEN], int64_t at, vek_entry **out)
{
    ward_cert *cert = NULL;
    ward_pkey *pub = NULL;
    char *cn = NULL;
    vek_entry *e = NULL;
    ward_err err = parse_cert(vek, vek_len, &cert);
    if (err)
        return err;
    int is_vlek = 0;
    err = ward_cert_common_name(cert, &cn);
    if (err) {
        err = ward_err_wrap(err, "SNP VCEK/VLEK certificate");
        goto done;
    }
    if (strcmp(cn, "SEV-VLEK") == 0) {
        is_vlek = 1;
    } else if (strcmp(cn, "SEV-VCEK") != 0) {
        err = ward_err_set(WARD_ERR_VERIFY, "SNP certificate \"%.64s\" is neither a VCEK "
                           "(SEV-VCEK) nor a VLEK (SEV-VLEK)", cn);
        goto done;
    }
    const char *kind = is_vlek ? "VLEK" : "VCEK";
    const snp_chain *chain = NULL;
    err = find_chain(v, cert, is_vlek, &chain);
    if (err)
        goto done;
    ward_cert *inter = is_vlek ? chain->asvk : chain->ask;
    ward_cert *ark = chain->ark;
    err = ward_cert_verify_chain(cert, &inter, 1, &ark, 1, NULL, 0, at, 0);
    if (err) {
        err = ward_err_wrap(err, "SNP %s chain (%s)", kind, ward_snp_product_name(chain->product));
        goto done;
    }
    err = ward_cert_public_key(cert, &pub);
    if (err) {
        err = ward_err_wrap(err, "SNP %s", kind);
        goto done;
    }
    if (ward_pkey_type(pub) != WARD_KEY_EC_P384) {
        err = ward_err_set(WARD_ERR_VERIFY, "SNP %s key is not EC P-384", kind);
        goto done;
    }
    e = calloc(1, sizeof *e);
    if (e == NULL) {
        err = ward_err_set(WARD_ERR_NOMEM, "SNP verifier: out of memory");
        goto done;
    }
    err = ward_snp_priv_vek_decode(cert, chain->product, is_vlek, &e->info);
    if (err)
        goto done;
    const ward_cert *all[3] = {cert, inter, ark};
    err = chain_window(all, 3, &e->info.not_before, &e->info.not_after);
    if (err)
        goto done;
    memcpy(e->key, key, WARD_SHA256_LEN);
    e->chain = chain;
    e->pub = pub;
    e->refs = 1;
    pub = NULL;
    *out = e;
    e = NULL;
done:
    free(e);
    free(cn);
    ward_pkey_free(pub);
    ward_cert_free(cert);
    return err;
}

/* ---- the report -------------------------------------------------------------------------- */

static int tcb_at_least(const ward_snp_tcb *t, const ward_snp_tcb *floor, ward_snp_product p)
{
    if (p == WARD_SNP_PRODUCT_TURIN && t->fmc < floor->fmc)
        return 0;
    return t->bootloader >= floor->bootloader && t->tee >= floor->tee && t->snp >= floor->snp &&
           t->microcode >= floor->microcode;
}

static ward_err check_report(const vek_entry *e, const uint8_t *report, ward_snp_report *r)
{
    const ward_snp_vek_info *vek = &e->info;
    const char *kind = vek->is_vlek ? "VLEK" : "VCEK";
    unsigned want = vek->is_vlek ? WARD_SNP_SIGNING_KEY_VLEK : WARD_SNP_SIGNING_KEY_VCEK;
    if (r->signing_key != want)
        return ward_err_set(WARD_ERR_VERIFY, "SNP report: SIGNING_KEY %u names the %s, but the "
                            "certificate is a %s", r->signing_key,
                            r->signing_key == WARD_SNP_SIGNING_KEY_VLEK ? "VLEK" : "VCEK", kind);
    /* The product: the chain proves it; from version 3 the report's CPUID must agree. */
    if (r->version >= 3) {
        ward_snp_product cpu = ward_snp_product_from_cpuid(r->cpuid_fam_id, r->cpuid_mod_id);
        if (cpu == WARD_SNP_PRODUCT_UNKNOWN)
            return ward_err_set(WARD_ERR_VERIFY, "SNP report: CPUID family 0x%02x model 0x%02x "
                                "is not a known SNP product", r->cpuid_fam_id, r->cpuid_mod_id);
        if (cpu != vek->product)
            return ward_err_set(WARD_ERR_VERIFY, "SNP report: CPUID says %s, the %s chain %s",
                                ward_snp_product_name(cpu), kind,
                                ward_snp_product_name(vek->product));
    }
    ward_err err = ward_snp_report_set_product(r, vek->product);
    if (err)
        return err;
    err = ward_snp_priv_check_binding(r, vek);
    if (err)
        return err;

    uint8_t sig[2 * 48];
    memcpy(sig, r->signature_r, 48);
    memcpy(sig + 48, r->signature_s, 48);
    err = ward_verify(e->pub, WARD_HASH_SHA384, WARD_SIG_RAW, report, WARD_SNP_SIGNED_LEN, sig,
                      sizeof sig);
    if (err == WARD_ERR_VERIFY)
        return ward_err_set(WARD_ERR_VERIFY, "SNP report: signature does not verify with the %s",
                            kind);
    if (err)
        return ward_err_wrap(err, "SNP report signature");
    return WARD_OK;
}

static void fill_claims(const ward_snp_verifier *v, const ward_snp_report *r,
                        const ward_snp_vek_info *vek, ward_claims *c)
{
    memset(c, 0, sizeof *c);
    c->kind = WARD_TEE_KIND_SNP;
    memcpy(c->measurement, r->measurement, sizeof r->measurement);
    c->measurement_len = sizeof r->measurement;
    memcpy(c->signer, r->id_key_digest, sizeof r->id_key_digest);
    c->signer_len = sizeof r->id_key_digest;
    c->product_id = 0;
    c->svn = r->reported_tcb.snp;
    c->debug = (r->policy & WARD_SNP_POLICY_DEBUG) != 0;
    if (v->have_floor)
        c->tcb_status = tcb_at_least(&r->reported_tcb, &v->floor, vek->product)
                            ? WARD_TCB_UP_TO_DATE
                            : WARD_TCB_OUT_OF_DATE;
    else
        c->tcb_status = WARD_TCB_UNKNOWN;
    memcpy(c->report_data, r->report_data, sizeof c->report_data);
    memcpy(c->snp_host_data, r->host_data, sizeof c->snp_host_data);
    c->snp_policy = r->policy;
    memcpy(c->snp_chip_id, r->chip_id, sizeof c->snp_chip_id);
    c->snp_signed_by_vlek = vek->is_vlek;
    c->snp_vmpl = r->vmpl;
    c->quote_version = r->version;
}

ward_err ward_snp_verifier_verify(ward_snp_verifier *v, const uint8_t *report, size_t len,
                                  const uint8_t *vek, size_t vek_len, int64_t at,
                                  ward_claims *claims, ward_snp_result *detail)
{
    if (claims != NULL)
        memset(claims, 0, sizeof *claims);
    if (detail != NULL)
        memset(detail, 0, sizeof *detail);
    if (v == NULL || report == NULL || vek == NULL || claims == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "SNP verify: NULL argument");
    if (vek_len == 0)
        return ward_err_set(WARD_ERR_INVALID_ARG, "SNP verify: empty VCEK/VLEK certificate");
    if (at < 0)
        return ward_err_set(WARD_ERR_INVALID_ARG, "SNP verify: negative time");
    if (at == 0)
        at = (int64_t)time(NULL);

    ward_snp_report r;
    ward_err err = ward_snp_parse(report, len, &r);
    if (err)
        return err;

    uint8_t key[WARD_SHA256_LEN];
    err = ward_hash(WARD_HASH_SHA256, vek, vek_len, key);
    if (err)
        return err;
    vek_entry *e = cache_get(v, key, at);
    if (e == NULL) {
        err = load_vek(v, vek, vek_len, key, at, &e);
        if (err)
            return err;
        cache_put(v, e);
    }
    err = check_report(e, report, &r);
    if (err == WARD_OK) {
        fill_claims(v, &r, &e->info, claims);
        if (detail != NULL) {
            detail->report = r;
            detail->vek = e->info;
        }
    }
    entry_release(v, e);
    return err;
}

ward_err ward_snp_verify(const uint8_t *report, size_t len, const uint8_t *vek, size_t vek_len,
                         const char *chain_pem, size_t pem_len, int64_t at, ward_claims *out)
{
    if (out != NULL)
        memset(out, 0, sizeof *out);
    if (out == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "SNP verify: NULL argument");
    ward_snp_verifier *v = NULL;
    ward_err err = ward_snp_verifier_new(chain_pem, pem_len, 0, &v);
    if (err)
        return err;
    err = ward_snp_verifier_verify(v, report, len, vek, vek_len, at, out, NULL);
    ward_snp_verifier_free(v);
    return err;
}
