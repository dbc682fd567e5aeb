/* The TEE side's attested certificate (identity) and the verification of a peer certificate's
 * evidence, with the bounded cache of verified evidence (docs/channel.md). */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/x509.h>

#include "channel/channel_internal.h"
#include "crypto/pkey_internal.h"
#include "ward/channel.h"
#include "ward/crypto.h"
#include "ward/dcap.h"

struct ward_channel_identity {
    atomic_int refs;
    ward_pkey *key;
    ward_cert *cert;
    X509 *x509;
    ward_channel_evidence_fn evidence;
    void *evidence_ctx;
};

void ward_channel_reason(ward_channel_result *r, const char *fmt, ...)
{
    size_t used = strlen(r->reason);
    if (used + 3 >= sizeof r->reason)
        return;
    if (used > 0) {
        memcpy(r->reason + used, "; ", 3);
        used += 2;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->reason + used, sizeof r->reason - used, fmt, ap);
    va_end(ap);
}

/* ---- node evidence -------------------------------------------------------------------------- */

ward_err ward_channel_node_evidence(void *ctx, const uint8_t report_data[64], char **json,
                                    size_t *json_len)
{
    const ward_channel_node_source *src = ctx;
    if (src == NULL || src->rot == NULL || report_data == NULL || json == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "node evidence: NULL argument");
    uint8_t report[WARD_REPORT_LEN], sig[WARD_REPORT_SIG_LEN];
    ward_err err = ward_evidence_node_report(src->rot, report_data, report, sig);
    if (err != WARD_OK)
        return err;
    return ward_evidence_make_with_hw(src->rot, report, sizeof report, sig, src->hw, json,
                                      json_len);
}

/* ---- identity ------------------------------------------------------------------------------- */

static ward_err x509_of(const ward_cert *cert, X509 **out)
{
    uint8_t *der = NULL;
    size_t len = 0;
    ward_err err = ward_cert_to_der(cert, &der, &len);
    if (err != WARD_OK)
        return err;
    const unsigned char *p = der;
    *out = d2i_X509(NULL, &p, (long)len);
    free(der);
    if (*out == NULL)
        return ward_err_ossl(WARD_ERR_CRYPTO, "channel: certificate re-encoding");
    return WARD_OK;
}

static ward_err identity_finish(ward_pkey *key, ward_cert *cert, ward_channel_evidence_fn fn,
                                void *fn_ctx, ward_channel_identity **out)
{
    ward_channel_identity *id = calloc(1, sizeof *id);
    if (id == NULL) {
        ward_pkey_free(key);
        ward_cert_free(cert);
        return ward_err_set(WARD_ERR_NOMEM, "channel identity: out of memory");
    }
    atomic_init(&id->refs, 1);
    id->key = key;
    id->cert = cert;
    id->evidence = fn;
    id->evidence_ctx = fn_ctx;
    ward_err err = x509_of(cert, &id->x509);
    if (err != WARD_OK) {
        ward_channel_identity_free(id);
        return err;
    }
    *out = id;
    return WARD_OK;
}

ward_err ward_channel_identity_new(const ward_channel_identity_spec *spec,
                                   ward_channel_identity **out)
{
    if (out != NULL)
        *out = NULL;
    if (spec == NULL || spec->evidence == NULL || out == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "channel identity: no evidence source");
    if (spec->lifetime < 0 || spec->lifetime > INT64_C(10) * 366 * 86400)
        return ward_err_set(WARD_ERR_INVALID_ARG, "channel identity: bad lifetime");
    ward_pkey *key = NULL;
    ward_cert *cert = NULL;
    char *json = NULL;
    size_t json_len = 0;
    uint8_t *ext = NULL;
    size_t ext_len = 0;
    uint8_t spki[WARD_SHA256_LEN], rdata[64] = {0};
    ward_err err = ward_pkey_generate(WARD_KEY_EC_P256, &key);
    if (err == WARD_OK)
        err = ward_pkey_spki_sha256(key, spki);
    if (err == WARD_OK) {
        memcpy(rdata, spki, sizeof spki);
        err = spec->evidence(spec->evidence_ctx, rdata, &json, &json_len);
        if (err != WARD_OK)
            err = ward_err_wrap(err, "channel identity: evidence");
    }
    if (err == WARD_OK && (json == NULL || json_len == 0))
        err = ward_err_set(WARD_ERR_STATE, "channel identity: empty evidence");
    if (err == WARD_OK)
        err = ward_channel_tagged_encode(WARD_CHANNEL_TAG_WARD, (const uint8_t *)json, json_len,
                                         spki, &ext, &ext_len);
    if (err == WARD_OK) {
        int64_t now = (int64_t)time(NULL);
        ward_cert_ext e = {.oid = WARD_CHANNEL_EVIDENCE_OID, .value = ext, .len = ext_len,
                           .critical = 0};
        ward_cert_spec cs = {
            .common_name = spec->common_name ? spec->common_name : "ward-channel",
            .organization = "Ward",
            .not_before = now,
            .not_after = now + (spec->lifetime ? spec->lifetime : 86400),
            .is_ca = 0,
            .path_len = -1,
            .dns_names = spec->dns_names,
            .n_dns_names = spec->n_dns_names,
            .server_auth = 1,
            .client_auth = 1,
            .extensions = &e,
            .n_extensions = 1,
        };
        err = ward_cert_create(&cs, key, NULL, key, &cert);
    }
    free(json);
    free(ext);
    if (err != WARD_OK) {
        ward_pkey_free(key);
        return err;
    }
    return identity_finish(key, cert, spec->evidence, spec->evidence_ctx, out);
}

ward_err ward_channel_identity_wrap(const ward_pkey *key, const ward_cert *cert,
                                    ward_channel_evidence_fn evidence, void *evidence_ctx,
                                    ward_channel_identity **out)
{
    if (out != NULL)
        *out = NULL;
    if (key == NULL || cert == NULL || out == NULL || !ward_pkey_is_private(key))
        return ward_err_set(WARD_ERR_INVALID_ARG, "channel identity: need a private key");
    if (EVP_PKEY_up_ref(key->pkey) != 1)
        return ward_err_ossl(WARD_ERR_CRYPTO, "channel identity: key reference");
    ward_pkey *k = ward_pkey_wrap(key->pkey);
    if (k == NULL)
        return ward_err_set(WARD_ERR_NOMEM, "channel identity: out of memory");
    ward_cert *c = ward_cert_ref((ward_cert *)(uintptr_t)cert);
    if (c == NULL) {
        ward_pkey_free(k);
        return ward_err_set(WARD_ERR_NOMEM, "channel identity: out of memory");
    }
    ward_err err = identity_finish(k, c, evidence, evidence_ctx, out);
    if (err == WARD_OK && X509_check_private_key((*out)->x509, k->pkey) != 1) {
        ward_channel_identity_free(*out);
        *out = NULL;
        return ward_err_ossl(WARD_ERR_INVALID_ARG, "channel identity: key does not match");
    }
    return err;
}

ward_channel_identity *ward_channel_identity_ref(ward_channel_identity *id)
{
    if (id != NULL)
        atomic_fetch_add(&id->refs, 1);
    return id;
}

void ward_channel_identity_free(ward_channel_identity *id)
{
    if (id == NULL || atomic_fetch_sub(&id->refs, 1) != 1)
        return;
    X509_free(id->x509);
    ward_cert_free(id->cert);
    ward_pkey_free(id->key); /* wipes the private key */
    free(id);
}

const ward_cert *ward_channel_identity_cert(const ward_channel_identity *id)
{
    return id != NULL ? id->cert : NULL;
}

X509 *ward_channel_identity_x509(const ward_channel_identity *id)
{
    return id->x509;
}

EVP_PKEY *ward_channel_identity_evp(const ward_channel_identity *id)
{
    return id->key->pkey;
}

ward_err ward_channel_identity_evidence(const ward_channel_identity *id,
                                        const uint8_t report_data[64], char **json,
                                        size_t *json_len)
{
    if (id == NULL || report_data == NULL || json == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "channel identity: NULL argument");
    if (id->evidence == NULL)
        return ward_err_set(WARD_ERR_STATE, "channel identity: no evidence source");
    return id->evidence(id->evidence_ctx, report_data, json, json_len);
}

/* ---- verifying a certificate's evidence ----------------------------------------------------- */

static int64_t cfg_time(const ward_channel_verify_cfg *cfg)
{
    return cfg != NULL && cfg->at != 0 ? cfg->at : (int64_t)time(NULL);
}

/* The digest a hash-entry's algorithm names, over data. 0 if unsupported. */
static size_t named_hash(uint64_t alg, const uint8_t *data, size_t len, uint8_t out[64])
{
    if (alg == 1)
        return ward_hash(WARD_HASH_SHA256, data, len, out) == WARD_OK ? 32 : 0;
    if (alg == 7)
        return ward_hash(WARD_HASH_SHA384, data, len, out) == WARD_OK ? 48 : 0;
    return 0;
}

static const uint8_t zero32[32];

/* The interoperable binding (tag 60000): REPORTDATA = SHA-256(claims) || 0^32 and
 * pubkey-hash = H(SPKI DER). */
static void check_quote_binding(const ward_channel_tagged *t, const uint8_t *spki_der,
                                size_t spki_len, ward_channel_result *r)
{
    uint8_t h[32], d[64];
    if (ward_hash(WARD_HASH_SHA256, t->claims, t->claims_len, h) != WARD_OK) {
        ward_channel_reason(r, "hashing the claims failed");
        return;
    }
    int ok = 1;
    if (!ward_ct_equal(r->claims.report_data, h, 32) ||
        !ward_ct_equal(r->claims.report_data + 32, zero32, 32)) {
        ward_channel_reason(r, "quote REPORTDATA is not SHA-256(claims) || zeros: the "
                               "evidence does not bind these claims");
        ok = 0;
    }
    if (!t->has_pubkey_hash) {
        ward_channel_reason(r, "claims carry no pubkey-hash");
        ok = 0;
    } else {
        size_t dl = named_hash(t->hash_alg, spki_der, spki_len, d);
        if (dl == 0) {
            ward_channel_reason(r, "pubkey-hash algorithm %llu not supported",
                                (unsigned long long)t->hash_alg);
            ok = 0;
        } else if (dl != t->pubkey_hash_len || !ward_ct_equal(d, t->pubkey_hash, dl)) {
            ward_channel_reason(r, "pubkey-hash is not the hash of this certificate's key: "
                                   "evidence for another key");
            ok = 0;
        }
    }
    r->key_bound = ok;
}

/* Ward's binding (tag WARD): report_data = SHA-256(SPKI) || 0^32 (and pubkey-hash, when
 * present, the same digest). */
static void check_ward_binding(const ward_channel_tagged *t, ward_channel_result *r)
{
    int ok = 1;
    if (!ward_ct_equal(r->claims.report_data, r->spki_sha256, 32) ||
        !ward_ct_equal(r->claims.report_data + 32, zero32, 32)) {
        ward_channel_reason(r, "evidence report_data is not SHA-256 of this certificate's key: "
                               "evidence for another key");
        ok = 0;
    }
    if (t->has_pubkey_hash &&
        (t->hash_alg != 1 || t->pubkey_hash_len != 32 ||
         !ward_ct_equal(t->pubkey_hash, r->spki_sha256, 32))) {
        ward_channel_reason(r, "pubkey-hash claim does not name this certificate's key");
        ok = 0;
    }
    r->key_bound = ok;
}

static void verify_quote(const ward_channel_tagged *t, const ward_channel_verify_cfg *cfg,
                         int64_t at, ward_channel_result *r)
{
    const ward_evidence_trust *tr = cfg != NULL ? cfg->trust : NULL;
    size_t n = tr != NULL ? tr->n_dcap : 0;
    char why[512] = "";
    for (size_t i = 0; i < n; i++) {
        ward_claims c;
        if (ward_dcap_verify(t->evidence, t->evidence_len, tr->dcap[i], at, &c) == WARD_OK) {
            r->claims = c;
            r->evidence_verified = 1;
            return;
        }
        if (why[0] == '\0')
            snprintf(why, sizeof why, "%s", ward_errmsg());
    }
    /* Not verified: parse it anyway, for the binding and the claims it states. */
    ward_dcap_quote q;
    ward_err err = ward_dcap_parse(t->evidence, t->evidence_len, &q);
    if (err != WARD_OK) {
        ward_channel_reason(r, "quote does not parse: %s", ward_errmsg());
        return;
    }
    if (n == 0)
        ward_channel_reason(r, "quote not verified: no DCAP collateral given");
    else
        ward_channel_reason(r, "quote not verified: %s", why);
    if (ward_dcap_quote_claims(&q, &r->claims) != WARD_OK)
        ward_channel_reason(r, "quote claims: %s", ward_errmsg());
}

static ward_err spki_der_of(const ward_cert *cert, uint8_t **der, size_t *len)
{
    ward_pkey *k = NULL;
    ward_err err = ward_cert_public_key(cert, &k);
    if (err == WARD_OK)
        err = ward_pkey_spki_der(k, der, len);
    ward_pkey_free(k);
    return err;
}

/* The cacheable part: extension, evidence verification, binding. */
static void evidence_stage(const ward_cert *cert, const ward_channel_verify_cfg *cfg, int64_t at,
                           ward_channel_result *r)
{
    uint8_t *ext = NULL;
    size_t ext_len = 0;
    int critical = 0;
    ward_err err = ward_cert_extension(cert, WARD_CHANNEL_EVIDENCE_OID, &ext, &ext_len,
                                       &critical);
    if (err == WARD_ERR_NOT_FOUND) {
        uint8_t *leg = NULL;
        size_t leg_len = 0;
        const char *legacy = NULL;
        if (ward_cert_extension(cert, WARD_CHANNEL_OID_GRAMINE_LEGACY, &leg, &leg_len, NULL) ==
            WARD_OK)
            legacy = WARD_CHANNEL_OID_GRAMINE_LEGACY;
        else if (ward_cert_extension(cert, WARD_CHANNEL_OID_SGXSDK_LEGACY, &leg, &leg_len,
                                     NULL) == WARD_OK)
            legacy = WARD_CHANNEL_OID_SGXSDK_LEGACY;
        free(leg);
        if (legacy != NULL)
            ward_channel_reason(r, "no attestation evidence under %s (only a legacy raw quote "
                                   "under %s, not accepted)",
                                WARD_CHANNEL_EVIDENCE_OID, legacy);
        else
            ward_channel_reason(r, "certificate carries no attestation evidence (extension "
                                   "%s absent)",
                                WARD_CHANNEL_EVIDENCE_OID);
        return;
    }
    if (err != WARD_OK) {
        ward_channel_reason(r, "evidence extension: %s", ward_errmsg());
        return;
    }
    ward_channel_tagged t;
    err = ward_channel_tagged_parse(ext, ext_len, &t);
    if (err != WARD_OK) {
        ward_channel_reason(r, "evidence extension malformed: %s", ward_errmsg());
        free(ext);
        return;
    }
    r->has_evidence = 1;
    r->tag = t.tag;
    if (t.tag == WARD_CHANNEL_TAG_WARD) {
        ward_evidence_trust none;
        memset(&none, 0, sizeof none);
        const ward_evidence_trust *tr = cfg != NULL && cfg->trust != NULL ? cfg->trust : &none;
        err = ward_evidence_verify((const char *)t.evidence, t.evidence_len, tr, at, &r->claims,
                                   NULL);
        if (err != WARD_OK)
            ward_channel_reason(r, "evidence refused: %s", ward_errmsg());
        else {
            r->evidence_verified = 1;
            check_ward_binding(&t, r);
        }
    } else if (t.tag == WARD_CHANNEL_TAG_INTEL_QUOTE) {
        verify_quote(&t, cfg, at, r);
        if (r->claims.kind != WARD_TEE_KIND_UNKNOWN) {
            uint8_t *spki = NULL;
            size_t spki_len = 0;
            if (spki_der_of(cert, &spki, &spki_len) == WARD_OK)
                check_quote_binding(&t, spki, spki_len, r);
            else
                ward_channel_reason(r, "certificate key: %s", ward_errmsg());
            free(spki);
        }
    } else {
        ward_channel_reason(r, "evidence tag %llu (%s) is not supported by this verifier",
                            (unsigned long long)t.tag, ward_channel_tag_name(t.tag));
    }
    free(ext);
}

/* Everything that is checked on every handshake: validity and appraisal. */
static void final_stage(const ward_channel_verify_cfg *cfg, int64_t at, ward_channel_result *r)
{
    int valid = 1;
    if (at < r->not_before) {
        ward_channel_reason(r, "certificate not valid before %lld", (long long)r->not_before);
        valid = 0;
    } else if (at >= r->not_after) {
        ward_channel_reason(r, "certificate expired at %lld", (long long)r->not_after);
        valid = 0;
    }
    if (r->claims.kind != WARD_TEE_KIND_UNKNOWN) {
        const ward_policy *pol = cfg != NULL ? cfg->policy : NULL;
        if (ward_policy_appraise(pol, &r->claims, NULL, 0, r->not_before, at, &r->appraisal) ==
            WARD_OK) {
            r->appraised = 1;
            int acc = pol != NULL ? ward_policy_accepts(pol, r->appraisal.status)
                                  : r->appraisal.status == WARD_EAR_AFFIRMING;
            if (!acc) {
                ward_channel_reason(r, "policy %s: %s", r->appraisal.policy_id,
                                    ward_ear_status_name(r->appraisal.status));
                for (size_t i = 0; i < r->appraisal.n_reasons; i++)
                    ward_channel_reason(r, "%s", r->appraisal.reasons[i]);
            }
        } else {
            ward_channel_reason(r, "appraisal failed: %s", ward_errmsg());
        }
    }
    r->accepted = valid && r->has_evidence && r->evidence_verified && r->key_bound &&
                  r->appraised && r->reason[0] == '\0';
}

static ward_err begin(const ward_cert *cert, ward_channel_result *out)
{
    memset(out, 0, sizeof *out);
    ward_err err = ward_cert_spki_sha256(cert, out->spki_sha256);
    if (err == WARD_OK)
        err = ward_cert_fingerprint(cert, out->cert_sha256);
    if (err == WARD_OK)
        err = ward_cert_validity(cert, &out->not_before, &out->not_after);
    if (err != WARD_OK)
        ward_channel_reason(out, "certificate: %s", ward_errmsg());
    return err;
}

static ward_err finish(ward_channel_result *out)
{
    if (out->accepted) {
        ward_err_clear();
        return WARD_OK;
    }
    if (out->reason[0] == '\0')
        ward_channel_reason(out, "not accepted");
    return ward_err_set(WARD_ERR_VERIFY, "peer attestation refused: %s", out->reason);
}

ward_err ward_channel_verify_cert(const ward_cert *cert, const ward_channel_verify_cfg *cfg,
                                  ward_channel_result *out)
{
    if (cert == NULL || out == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "channel verify: NULL argument");
    if (begin(cert, out) != WARD_OK)
        return finish(out);
    int64_t at = cfg_time(cfg);
    evidence_stage(cert, cfg, at, out);
    final_stage(cfg, at, out);
    return finish(out);
}

/* ---- the verifier and its cache ------------------------------------------------------------- */

typedef struct cache_entry {
    int used;
    uint8_t cert_sha256[WARD_SHA256_LEN];
    uint64_t tag;
    ward_claims claims;
    int64_t expires; /* wall clock */
    uint64_t stamp;  /* for LRU eviction */
} cache_entry;

struct ward_channel_verifier {
    ward_channel_verify_cfg cfg;
    ward_evidence_trust trust; /* shallow copy */
    pthread_mutex_t lock;
    cache_entry cache[WARD_CHANNEL_CACHE_SIZE];
    uint64_t clock;
};

ward_err ward_channel_verifier_new(const ward_channel_verify_cfg *cfg,
                                   ward_channel_verifier **out)
{
    ward_channel_verifier *v = calloc(1, sizeof *v);
    if (v == NULL)
        return ward_err_set(WARD_ERR_NOMEM, "channel verifier: out of memory");
    if (cfg != NULL)
        v->cfg = *cfg;
    if (cfg != NULL && cfg->trust != NULL) {
        v->trust = *cfg->trust;
        v->cfg.trust = &v->trust;
    }
    pthread_mutex_init(&v->lock, NULL);
    *out = v;
    return WARD_OK;
}

void ward_channel_verifier_free(ward_channel_verifier *v)
{
    if (v == NULL)
        return;
    pthread_mutex_destroy(&v->lock);
    ward_wipe(v, sizeof *v);
    free(v);
}

const ward_channel_verify_cfg *ward_channel_verifier_cfg(const ward_channel_verifier *v)
{
    return &v->cfg;
}

ward_err ward_channel_verifier_check(ward_channel_verifier *v, const ward_cert *cert,
                                     ward_channel_result *out)
{
    if (v == NULL || cert == NULL || out == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "channel verify: NULL argument");
    if (begin(cert, out) != WARD_OK)
        return finish(out);
    int64_t at = cfg_time(&v->cfg);
    int64_t wall = (int64_t)time(NULL);
    int use_cache = !(v->cfg.flags & WARD_CHANNEL_NO_CACHE);
    int hit = 0;
    if (use_cache) {
        pthread_mutex_lock(&v->lock);
        for (size_t i = 0; i < WARD_CHANNEL_CACHE_SIZE; i++) {
            cache_entry *e = &v->cache[i];
            if (e->used && wall < e->expires &&
                memcmp(e->cert_sha256, out->cert_sha256, WARD_SHA256_LEN) == 0) {
                out->has_evidence = 1;
                out->tag = e->tag;
                out->claims = e->claims;
                out->evidence_verified = 1;
                out->key_bound = 1;
                out->from_cache = 1;
                e->stamp = ++v->clock;
                hit = 1;
                break;
            }
        }
        pthread_mutex_unlock(&v->lock);
    }
    if (!hit) {
        evidence_stage(cert, &v->cfg, at, out);
        /* Only a complete success is remembered, and only while the certificate is valid. */
        if (use_cache && out->has_evidence && out->evidence_verified && out->key_bound &&
            out->reason[0] == '\0' && at >= out->not_before && at < out->not_after) {
            int64_t exp = wall + WARD_CHANNEL_CACHE_TTL;
            int64_t left = out->not_after - at;
            if (left < WARD_CHANNEL_CACHE_TTL)
                exp = wall + left;
            pthread_mutex_lock(&v->lock);
            size_t victim = 0;
            for (size_t i = 0; i < WARD_CHANNEL_CACHE_SIZE; i++) {
                if (!v->cache[i].used || v->cache[i].expires <= wall) {
                    victim = i;
                    break;
                }
                if (v->cache[i].stamp < v->cache[victim].stamp)
                    victim = i;
            }
            cache_entry *e = &v->cache[victim];
            e->used = 1;
            memcpy(e->cert_sha256, out->cert_sha256, WARD_SHA256_LEN);
            e->tag = out->tag;
            e->claims = out->claims;
            e->expires = exp;
            e->stamp = ++v->clock;
            pthread_mutex_unlock(&v->lock);
        }
    }
    final_stage(&v->cfg, at, out);
    return finish(out);
}
