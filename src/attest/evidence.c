/* The evidence bundle (include/ward/evidence.h; docs/formats.md "Evidence bundle"): making it
 * on the attester, parsing it strictly and verifying both layers on the verifier. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ward/encoding.h"
#include "ward/evidence.h"
#include "ward/json.h"

#define PROVIDER_MAX 31

const char *ward_anchor_kind_name(ward_anchor_kind kind)
{
    switch (kind) {
    case WARD_ANCHOR_PINNED: return "pinned";
    case WARD_ANCHOR_CA: return "ca";
    case WARD_ANCHOR_HARDWARE: return "hardware";
    case WARD_ANCHOR_NONE: break;
    }
    return "none";
}

/* ---- nonces in report_data ------------------------------------------------------------------- */

ward_err ward_evidence_nonce_report_data(const uint8_t *nonce, size_t len, uint8_t out[64])
{
    if (nonce == NULL || out == NULL || len == 0 || len > 64)
        return ward_err_set(WARD_ERR_INVALID_ARG, "nonce: %zu bytes, expected 1..64", len);
    memset(out, 0, 64);
    memcpy(out, nonce, len);
    return WARD_OK;
}

ward_err ward_evidence_check_nonce(const ward_claims *claims, const uint8_t *nonce, size_t len)
{
    uint8_t want[64];
    if (claims == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "nonce check: NULL claims");
    ward_err err = ward_evidence_nonce_report_data(nonce, len, want);
    if (err != WARD_OK)
        return err;
    if (!ward_ct_equal(want, claims->report_data, sizeof want))
        return ward_err_set(WARD_ERR_VERIFY,
                            "report_data does not carry the expected nonce (stale or replayed "
                            "evidence, or evidence for another challenge)");
    return WARD_OK;
}

/* ---- the node-level report ------------------------------------------------------------------- */

ward_err ward_evidence_self_measurement(uint8_t out[WARD_SHA256_LEN])
{
    int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ward_err_set(WARD_ERR_IO, "cannot open /proc/self/exe: %s", strerror(errno));
    ward_hash_ctx *h = NULL;
    ward_err err = ward_hash_new(WARD_HASH_SHA256, &h);
    uint8_t *buf = err == WARD_OK ? malloc(65536) : NULL;
    if (err == WARD_OK && buf == NULL)
        err = ward_err_set(WARD_ERR_NOMEM, "out of memory");
    while (err == WARD_OK) {
        ssize_t n = read(fd, buf, 65536);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            err = ward_err_set(WARD_ERR_IO, "cannot read /proc/self/exe: %s", strerror(errno));
            break;
        }
        if (n == 0)
            break;
        err = ward_hash_update(h, buf, (size_t)n);
    }
    if (err == WARD_OK)
        err = ward_hash_final(h, out);
    free(buf);
    ward_hash_free(h);
    close(fd);
    return err;
}

ward_err ward_evidence_node_report(const ward_rot *rot, const uint8_t report_data[64],
                                   uint8_t report[WARD_REPORT_LEN],
                                   uint8_t sig[WARD_REPORT_SIG_LEN])
{
    if (rot == NULL || report_data == NULL || report == NULL || sig == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "node report: NULL argument");
    ward_report r;
    memset(&r, 0, sizeof r);
    r.version = WARD_REPORT_VERSION;
    r.platform = WARD_PLATFORM_SW_SANDBOX;
    ward_err err = ward_evidence_self_measurement(r.measurement);
    if (err == WARD_OK)
        err = ward_random(r.instance_id, sizeof r.instance_id);
    if (err != WARD_OK)
        return ward_err_wrap(err, "node report");
    memcpy(r.report_data, report_data, sizeof r.report_data);
    ward_rot_platform_key_id(rot, r.platform_key_id);
    err = ward_report_encode(&r, report);
    if (err == WARD_OK)
        err = ward_rot_sign(rot, report, WARD_REPORT_LEN, sig);
    return err;
}

/* ---- making ---------------------------------------------------------------------------------- */

static ward_err set_b64(json_t *obj, const char *key, const uint8_t *data, size_t len, int url)
{
    char *s = NULL;
    ward_err err = url ? ward_base64url_encode(data, len, &s, NULL)
                       : ward_base64_encode(data, len, &s, NULL);
    if (err != WARD_OK)
        return err;
    int rc = json_object_set_new(obj, key, json_string(s));
    free(s);
    if (rc != 0)
        return ward_err_set(WARD_ERR_NOMEM, "evidence: out of memory");
    return WARD_OK;
}

static ward_err hw_to_json(const ward_hw_evidence *hw, json_t **out)
{
    *out = NULL;
    if (hw == NULL || hw->kind == WARD_HW_NONE) {
        *out = json_null();
        return WARD_OK;
    }
    if (hw->evidence == NULL || hw->evidence_len == 0 || hw->evidence_len > WARD_HW_EVIDENCE_MAX ||
        hw->aux_len > WARD_HW_AUX_MAX || (hw->aux_len > 0 && hw->aux == NULL))
        return ward_err_set(WARD_ERR_INVALID_ARG, "hardware evidence: bad or oversized buffers");
    json_t *o = json_object();
    if (o == NULL)
        return ward_err_set(WARD_ERR_NOMEM, "evidence: out of memory");
    const char *member = "quote";
    if (hw->kind == WARD_HW_SNP)
        member = "report";
    else if (hw->kind == WARD_HW_ARM_CCA)
        member = "token";
    else if (hw->kind != WARD_HW_TDX && hw->kind != WARD_HW_SGX) {
        json_decref(o);
        return ward_err_set(WARD_ERR_INVALID_ARG, "hardware evidence: unknown kind %d",
                            (int)hw->kind);
    }
    ward_err err = WARD_OK;
    if (json_object_set_new(o, "kind", json_string(ward_hw_kind_name(hw->kind))) != 0)
        err = ward_err_set(WARD_ERR_NOMEM, "evidence: out of memory");
    if (err == WARD_OK)
        err = set_b64(o, member, hw->evidence, hw->evidence_len, 0);
    if (err == WARD_OK && hw->aux_len > 0) {
        if (hw->kind != WARD_HW_SNP)
            err = ward_err_set(WARD_ERR_INVALID_ARG,
                               "hardware evidence: an auxblob only goes with snp");
        else
            err = set_b64(o, "auxblob", hw->aux, hw->aux_len, 0);
    }
    size_t plen = strnlen(hw->provider, sizeof hw->provider);
    if (err == WARD_OK && plen > 0 && plen < sizeof hw->provider &&
        json_object_set_new(o, "provider", json_stringn(hw->provider, plen)) != 0)
        err = ward_err_set(WARD_ERR_NOMEM, "evidence: out of memory");
    if (err != WARD_OK) {
        json_decref(o);
        return err;
    }
    *out = o;
    return WARD_OK;
}

ward_err ward_evidence_make_with_hw(const ward_rot *rot, const uint8_t *report,
                                    size_t report_len, const uint8_t sig[WARD_REPORT_SIG_LEN],
                                    const ward_hw_evidence *hw, char **json, size_t *json_len)
{
    if (json != NULL)
        *json = NULL;
    if (json_len != NULL)
        *json_len = 0;
    if (rot == NULL || report == NULL || sig == NULL || json == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "evidence: NULL argument");
    const ward_cert *cert = ward_rot_platform_cert(rot);
    ward_report r;
    ward_err err = ward_sw_verify_report(cert, report, report_len, sig, WARD_REPORT_SIG_LEN, &r,
                                         NULL);
    if (err != WARD_OK)
        return ward_err_wrap(err, "evidence: the report and signature do not fit this platform");
    uint8_t *der = NULL;
    size_t der_len = 0;
    err = ward_cert_to_der(cert, &der, &der_len);
    if (err != WARD_OK)
        return err;
    json_t *root = json_object(), *chain = json_array(), *hwj = NULL;
    if (root == NULL || chain == NULL)
        err = ward_err_set(WARD_ERR_NOMEM, "evidence: out of memory");
    if (err == WARD_OK)
        err = hw_to_json(hw, &hwj);
    if (err == WARD_OK &&
        (json_object_set_new(root, "version", json_integer(WARD_EVIDENCE_VERSION)) != 0 ||
         json_object_set_new(root, "tee", json_string(ward_platform_name(r.platform))) != 0))
        err = ward_err_set(WARD_ERR_NOMEM, "evidence: out of memory");
    if (err == WARD_OK)
        err = set_b64(root, "report", report, report_len, 1);
    if (err == WARD_OK)
        err = set_b64(root, "signature", sig, WARD_REPORT_SIG_LEN, 1);
    if (err == WARD_OK) {
        char *s = NULL;
        err = ward_base64_encode(der, der_len, &s, NULL);
        if (err == WARD_OK && json_array_append_new(chain, json_string(s)) != 0)
            err = ward_err_set(WARD_ERR_NOMEM, "evidence: out of memory");
        free(s);
    }
    if (err == WARD_OK) {
        int rc = json_object_set(root, "platform_cert_chain", chain);
        rc |= json_object_set(root, "hw", hwj);
        if (rc != 0)
            err = ward_err_set(WARD_ERR_NOMEM, "evidence: out of memory");
    }
    char *text = NULL;
    if (err == WARD_OK) {
        text = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (text == NULL)
            err = ward_err_set(WARD_ERR_NOMEM, "evidence: cannot serialise");
    }
    json_decref(hwj);
    json_decref(chain);
    json_decref(root);
    free(der);
    if (err != WARD_OK)
        return err;
    size_t n = strlen(text);
    if (n > WARD_EVIDENCE_MAX_LEN) {
        free(text);
        return ward_err_set(WARD_ERR_LIMIT, "evidence: %zu bytes exceeds the limit %zu", n,
                            WARD_EVIDENCE_MAX_LEN);
    }
    *json = text;
    if (json_len != NULL)
        *json_len = n;
    return WARD_OK;
}

ward_err ward_evidence_make(const ward_rot *rot, const uint8_t *report, size_t report_len,
                            const uint8_t sig[WARD_REPORT_SIG_LEN],
                            const ward_hw_provider *hw_provider, char **json, size_t *json_len)
{
    if (json != NULL)
        *json = NULL;
    if (rot == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "evidence: NULL platform");
    uint8_t key_id[WARD_SHA256_LEN], binding[64];
    ward_rot_platform_key_id(rot, key_id);
    ward_evidence_hw_binding(key_id, binding);
    ward_hw_evidence hw;
    ward_err err = ward_hw_collect(hw_provider, binding, &hw);
    if (err != WARD_OK)
        return ward_err_wrap(err, "collecting hardware evidence");
    err = ward_evidence_make_with_hw(rot, report, report_len, sig, &hw, json, json_len);
    ward_hw_evidence_clear(&hw);
    return err;
}

/* ---- parsing --------------------------------------------------------------------------------- */

typedef struct bundle {
    uint8_t *report;
    size_t report_len;
    uint8_t *sig;
    size_t sig_len;
    int sim;
    uint8_t *der0; /* the platform certificate, parsed through the cache */
    size_t der0_len;
    ward_cert *chain[WARD_EVIDENCE_MAX_CHAIN]; /* [0] set by the verifier, [1..] parsed here */
    size_t n_chain;
    ward_hw_evidence hw;
} bundle;

static void bundle_free(bundle *b)
{
    free(b->report);
    free(b->sig);
    free(b->der0);
    for (size_t i = 0; i < b->n_chain; i++)
        if (b->chain[i] != NULL)
            ward_cert_free(b->chain[i]);
    ward_hw_evidence_clear(&b->hw);
    memset(b, 0, sizeof *b);
}

/* Only the named members, each at most once (jansson's strict parse refuses duplicates). */
static ward_err check_members(const json_t *obj, const char *what, const char *const *allowed,
                              size_t n)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v) {
        (void)v;
        int ok = 0;
        for (size_t i = 0; i < n && !ok; i++)
            ok = strcmp(key, allowed[i]) == 0;
        if (!ok)
            return ward_err_set(WARD_ERR_FORMAT, "evidence: unknown member \"%.40s\" in %s",
                                key, what);
    }
    return WARD_OK;
}

static ward_err get_b64(const json_t *obj, const char *key, const char *what, int url,
                        size_t max, uint8_t **out, size_t *out_len)
{
    json_t *v = json_object_get(obj, key);
    if (v == NULL)
        return ward_err_set(WARD_ERR_FORMAT, "evidence: %s has no \"%s\"", what, key);
    if (!json_is_string(v))
        return ward_err_set(WARD_ERR_FORMAT, "evidence: %s \"%s\" is not a string", what, key);
    size_t slen = json_string_length(v);
    if (slen == 0)
        return ward_err_set(WARD_ERR_FORMAT, "evidence: %s \"%s\" is empty", what, key);
    if (slen / 4 * 3 > max + 3)
        return ward_err_set(WARD_ERR_LIMIT, "evidence: %s \"%s\" exceeds %zu bytes", what, key,
                            max);
    ward_err err = url ? ward_base64url_decode(json_string_value(v), slen, out, out_len)
                       : ward_base64_decode(json_string_value(v), slen, out, out_len);
    if (err != WARD_OK)
        return ward_err_wrap(WARD_ERR_FORMAT, "evidence: %s \"%s\"", what, key);
    if (*out_len > max || *out_len == 0) {
        free(*out);
        *out = NULL;
        return ward_err_set(*out_len == 0 ? WARD_ERR_FORMAT : WARD_ERR_LIMIT,
                            "evidence: %s \"%s\" has %zu bytes (1..%zu allowed)", what, key,
                            *out_len, max);
    }
    return WARD_OK;
}

static ward_err parse_hw(const json_t *hw, ward_hw_evidence *out)
{
    if (json_is_null(hw))
        return WARD_OK;
    if (!json_is_object(hw))
        return ward_err_set(WARD_ERR_FORMAT, "evidence: \"hw\" is neither null nor an object");
    json_t *k = json_object_get(hw, "kind");
    if (!json_is_string(k))
        return ward_err_set(WARD_ERR_FORMAT, "evidence: \"hw\" has no string \"kind\"");
    const char *kind = json_string_value(k);
    const char *member;
    if (strcmp(kind, "tdx") == 0) {
        out->kind = WARD_HW_TDX;
        member = "quote";
    } else if (strcmp(kind, "sgx") == 0) {
        out->kind = WARD_HW_SGX;
        member = "quote";
    } else if (strcmp(kind, "snp") == 0) {
        out->kind = WARD_HW_SNP;
        member = "report";
    } else if (strcmp(kind, "arm-cca") == 0) {
        out->kind = WARD_HW_ARM_CCA;
        member = "token";
    } else {
        return ward_err_set(WARD_ERR_UNSUPPORTED,
                            "evidence: unknown hardware kind \"%.20s\" (tdx, sgx, snp, arm-cca)",
                            kind);
    }
    const char *allowed[] = {"kind", member, "provider", "auxblob"};
    ward_err err = check_members(hw, "\"hw\"", allowed, out->kind == WARD_HW_SNP ? 4 : 3);
    if (err == WARD_OK)
        err = get_b64(hw, member, "\"hw\"", 0, WARD_HW_EVIDENCE_MAX, &out->evidence,
                      &out->evidence_len);
    if (err == WARD_OK && json_object_get(hw, "auxblob") != NULL)
        err = get_b64(hw, "auxblob", "\"hw\"", 0, WARD_HW_AUX_MAX, &out->aux, &out->aux_len);
    json_t *p = json_object_get(hw, "provider");
    if (err == WARD_OK && p != NULL) {
        if (!json_is_string(p) || json_string_length(p) == 0 ||
            json_string_length(p) > PROVIDER_MAX)
            err = ward_err_set(WARD_ERR_FORMAT,
                               "evidence: \"hw\" \"provider\" is not a string of 1..%d bytes",
                               PROVIDER_MAX);
        else
            memcpy(out->provider, json_string_value(p), json_string_length(p));
    }
    return err;
}

static ward_err parse_bundle(const char *text, size_t len, bundle *b)
{
    memset(b, 0, sizeof *b);
    if (text == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "evidence: NULL text");
    if (len > WARD_EVIDENCE_MAX_LEN)
        return ward_err_set(WARD_ERR_LIMIT, "evidence: %zu bytes exceeds the limit %zu", len,
                            WARD_EVIDENCE_MAX_LEN);
    json_t *root = NULL;
    ward_err err = ward_json_parse(text, len, &root);
    if (err != WARD_OK)
        return ward_err_wrap(WARD_ERR_FORMAT, "evidence");
    static const char *const top[] = {"version", "tee", "report", "signature",
                                      "platform_cert_chain", "hw"};
    if (!json_is_object(root))
        err = ward_err_set(WARD_ERR_FORMAT, "evidence: not a JSON object");
    if (err == WARD_OK)
        err = check_members(root, "the bundle", top, sizeof top / sizeof top[0]);
    json_t *v = json_object_get(root, "version");
    if (err == WARD_OK && !json_is_integer(v))
        err = ward_err_set(WARD_ERR_FORMAT, "evidence: \"version\" missing or not an integer");
    if (err == WARD_OK && json_integer_value(v) != WARD_EVIDENCE_VERSION)
        err = ward_err_set(WARD_ERR_UNSUPPORTED, "evidence: version %lld (this build reads %d)",
                           (long long)json_integer_value(v), WARD_EVIDENCE_VERSION);
    json_t *tee = json_object_get(root, "tee");
    if (err == WARD_OK && !json_is_string(tee))
        err = ward_err_set(WARD_ERR_FORMAT, "evidence: \"tee\" missing or not a string");
    if (err == WARD_OK) {
        if (strcmp(json_string_value(tee), "ward-sw") == 0 && json_string_length(tee) == 7)
            b->sim = 0;
        else if (strcmp(json_string_value(tee), "ward-sim") == 0 && json_string_length(tee) == 8)
            b->sim = 1;
        else
            err = ward_err_set(WARD_ERR_UNSUPPORTED,
                               "evidence: \"tee\" is \"%.20s\" (ward-sw or ward-sim)",
                               json_string_value(tee));
    }
    if (err == WARD_OK)
        err = get_b64(root, "report", "the bundle", 1, WARD_REPORT_LEN, &b->report,
                      &b->report_len);
    if (err == WARD_OK)
        err = get_b64(root, "signature", "the bundle", 1, WARD_REPORT_SIG_LEN, &b->sig,
                      &b->sig_len);
    json_t *chain = json_object_get(root, "platform_cert_chain");
    if (err == WARD_OK && !json_is_array(chain))
        err = ward_err_set(WARD_ERR_FORMAT,
                           "evidence: \"platform_cert_chain\" missing or not an array");
    if (err == WARD_OK && (json_array_size(chain) == 0 ||
                           json_array_size(chain) > WARD_EVIDENCE_MAX_CHAIN))
        err = ward_err_set(WARD_ERR_FORMAT,
                           "evidence: \"platform_cert_chain\" has %zu certificates (1..%d)",
                           json_array_size(chain), WARD_EVIDENCE_MAX_CHAIN);
    for (size_t i = 0; err == WARD_OK && i < json_array_size(chain); i++) {
        json_t *c = json_array_get(chain, i);
        json_t *wrap = json_object();
        if (wrap == NULL || json_object_set(wrap, "c", c) != 0) {
            json_decref(wrap);
            err = ward_err_set(WARD_ERR_NOMEM, "evidence: out of memory");
            break;
        }
        char what[48];
        snprintf(what, sizeof what, "platform_cert_chain[%zu]", i);
        uint8_t *der = NULL;
        size_t der_len = 0;
        err = get_b64(wrap, "c", what, 0, WARD_EVIDENCE_MAX_CERT, &der, &der_len);
        json_decref(wrap);
        if (err == WARD_OK && i == 0) {
            b->der0 = der;
            b->der0_len = der_len;
            b->n_chain = 1;
            continue;
        }
        if (err == WARD_OK) {
            err = ward_cert_from_der(der, der_len, &b->chain[i]);
            if (err != WARD_OK)
                err = ward_err_wrap(WARD_ERR_FORMAT, "evidence: %s", what);
            else
                b->n_chain = i + 1;
        }
        free(der);
    }
    json_t *hw = json_object_get(root, "hw");
    if (err == WARD_OK && hw == NULL)
        err = ward_err_set(WARD_ERR_FORMAT, "evidence: \"hw\" missing (null when there is none)");
    if (err == WARD_OK)
        err = parse_hw(hw, &b->hw);
    json_decref(root);
    if (err != WARD_OK)
        bundle_free(b);
    return err;
}

/* ---- the cache of parsed platform certificates ------------------------------------------- */

/* Parsing a certificate (OpenSSL decodes its key eagerly) and encoding its SPKI cost several
 * ECDSA verifications; a verifier sees the same few platforms again and again. An entry holds
 * facts about the certificate bytes only (parsed form, key, key id, validity), never a verdict.
 * Entries are reference-counted so that eviction never frees one in use. */
typedef struct cert_entry {
    size_t refs; /* under g_mu */
    uint8_t fp[WARD_SHA256_LEN];
    ward_cert *cert;
    ward_pkey *key;
    uint8_t key_id[WARD_SHA256_LEN];
} cert_entry;

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static cert_entry *g_cache[WARD_EVIDENCE_CERT_CACHE];
static size_t g_next;

static void entry_free(cert_entry *e)
{
    ward_pkey_free(e->key);
    ward_cert_free(e->cert);
    free(e);
}

static void entry_release(cert_entry *e)
{
    if (e == NULL)
        return;
    pthread_mutex_lock(&g_mu);
    int last = --e->refs == 0;
    pthread_mutex_unlock(&g_mu);
    if (last)
        entry_free(e);
}

static ward_err entry_parse(const uint8_t *der, size_t len, const uint8_t fp[WARD_SHA256_LEN],
                           cert_entry **out)
{
    cert_entry *e = calloc(1, sizeof *e);
    if (e == NULL)
        return ward_err_set(WARD_ERR_NOMEM, "evidence: out of memory");
    memcpy(e->fp, fp, WARD_SHA256_LEN);
    e->refs = 1;
    ward_err err = ward_cert_from_der(der, len, &e->cert);
    if (err != WARD_OK)
        err = ward_err_wrap(WARD_ERR_FORMAT, "evidence: platform_cert_chain[0]");
    if (err == WARD_OK)
        err = ward_cert_public_key(e->cert, &e->key);
    if (err == WARD_OK && ward_pkey_type(e->key) != WARD_KEY_EC_P256)
        err = ward_err_set(WARD_ERR_VERIFY, "platform certificate: the key is not ECDSA P-256");
    if (err == WARD_OK)
        err = ward_pkey_spki_sha256(e->key, e->key_id);
    if (err != WARD_OK) {
        entry_free(e);
        return err;
    }
    *out = e;
    return WARD_OK;
}

/* A referenced entry for the certificate der (release with entry_release). */
static ward_err entry_get(const uint8_t *der, size_t len, int use_cache, cert_entry **out)
{
    uint8_t fp[WARD_SHA256_LEN];
    ward_err err = ward_hash(WARD_HASH_SHA256, der, len, fp);
    if (err != WARD_OK)
        return err;
    if (use_cache) {
        pthread_mutex_lock(&g_mu);
        for (size_t i = 0; i < WARD_EVIDENCE_CERT_CACHE; i++) {
            if (g_cache[i] != NULL && memcmp(g_cache[i]->fp, fp, sizeof fp) == 0) {
                g_cache[i]->refs++;
                *out = g_cache[i];
                pthread_mutex_unlock(&g_mu);
                return WARD_OK;
            }
        }
        pthread_mutex_unlock(&g_mu);
    }
    cert_entry *e = NULL;
    err = entry_parse(der, len, fp, &e);
    if (err != WARD_OK || !use_cache) {
        *out = e;
        return err;
    }
    cert_entry *old = NULL;
    pthread_mutex_lock(&g_mu);
    e->refs++; /* the cache's reference */
    old = g_cache[g_next];
    g_cache[g_next] = e;
    g_next = (g_next + 1) % WARD_EVIDENCE_CERT_CACHE;
    int free_old = old != NULL && --old->refs == 0;
    pthread_mutex_unlock(&g_mu);
    if (free_old)
        entry_free(old);
    *out = e;
    return WARD_OK;
}

/* ---- hardware verification ------------------------------------------------------------------- */

static ward_tee_kind hw_tee_kind(ward_hw_kind k)
{
    switch (k) {
    case WARD_HW_TDX: return WARD_TEE_KIND_TDX;
    case WARD_HW_SGX: return WARD_TEE_KIND_SGX;
    case WARD_HW_SNP: return WARD_TEE_KIND_SNP;
    case WARD_HW_ARM_CCA:
    case WARD_HW_NONE: break;
    }
    return WARD_TEE_KIND_UNKNOWN;
}

static ward_err verify_dcap(const ward_evidence_trust *t, const ward_hw_evidence *hw,
                            int64_t at, ward_claims *out)
{
    int want_tdx = hw->kind == WARD_HW_TDX;
    ward_err err = ward_err_set(WARD_ERR_VERIFY,
                                "no %s collateral was given to verify the %s quote with",
                                want_tdx ? "TDX" : "SGX", want_tdx ? "TDX" : "SGX");
    for (size_t i = 0; i < t->n_dcap; i++) {
        ward_dcap_collateral_info info;
        if (t->dcap[i] == NULL || ward_dcap_collateral_get_info(t->dcap[i], &info) != WARD_OK ||
            info.is_tdx != want_tdx)
            continue;
        err = ward_dcap_verify(hw->evidence, hw->evidence_len, t->dcap[i], at, out);
        if (err == WARD_OK)
            return WARD_OK;
    }
    if (err != WARD_OK && err != WARD_ERR_VERIFY && err != WARD_ERR_FORMAT &&
        err != WARD_ERR_TRUNCATED && err != WARD_ERR_UNSUPPORTED)
        err = WARD_ERR_VERIFY;
    return err;
}

/* The VCEK or VLEK from a SEV certificate table (auxblob): 24-byte entries {GUID, u32 offset,
 * u32 length} up to an all-zero entry, offsets from the start of the table. The GUIDs are
 * matched in both the RFC 4122 byte order and the little-endian (Microsoft GUID) order,
 * since hosts differ; the certificate is verified against AMD's chain anyway. */
static const uint8_t *snp_find_cert(const uint8_t *t, size_t len, int want_vlek,
                                    size_t *cert_len, ward_err *err)
{
    static const uint8_t vcek[16] = {0x63, 0xda, 0x75, 0x8d, 0xe6, 0x64, 0x45, 0x64,
                                     0xad, 0xc5, 0xf4, 0xb9, 0x3b, 0xe8, 0xac, 0xcd};
    static const uint8_t vlek[16] = {0xa8, 0x07, 0x4b, 0xc2, 0xa2, 0x5a, 0x48, 0x3e,
                                     0xaa, 0xe6, 0x39, 0xc0, 0x45, 0xa0, 0xb8, 0xa1};
    const uint8_t *g = want_vlek ? vlek : vcek;
    uint8_t g_le[16];
    memcpy(g_le, g, 16);
    /* little-endian first three fields */
    g_le[0] = g[3], g_le[1] = g[2], g_le[2] = g[1], g_le[3] = g[0];
    g_le[4] = g[5], g_le[5] = g[4], g_le[6] = g[7], g_le[7] = g[6];
    static const uint8_t zero[24] = {0};
    *err = WARD_OK;
    for (size_t off = 0;; off += 24) {
        if (off > len || len - off < 24) {
            *err = ward_err_set(WARD_ERR_FORMAT,
                                "SNP certificate table: no terminating zero entry");
            return NULL;
        }
        const uint8_t *e = t + off;
        if (memcmp(e, zero, 24) == 0)
            return NULL;
        uint32_t o = (uint32_t)e[16] | (uint32_t)e[17] << 8 | (uint32_t)e[18] << 16 |
                     (uint32_t)e[19] << 24;
        uint32_t l = (uint32_t)e[20] | (uint32_t)e[21] << 8 | (uint32_t)e[22] << 16 |
                     (uint32_t)e[23] << 24;
        if (o > len || l > len - o || l == 0) {
            *err = ward_err_set(WARD_ERR_FORMAT,
                                "SNP certificate table: entry at %zu points outside the table",
                                off);
            return NULL;
        }
        if (memcmp(e, g, 16) == 0 || memcmp(e, g_le, 16) == 0) {
            *cert_len = l;
            return t + o;
        }
    }
}

static ward_err verify_snp(const ward_evidence_trust *t, const ward_hw_evidence *hw,
                           int64_t at, ward_claims *out)
{
    ward_snp_report r;
    ward_err err = ward_snp_parse(hw->evidence, hw->evidence_len, &r);
    if (err != WARD_OK)
        return ward_err_wrap(err, "SNP report");
    const uint8_t *vek = NULL;
    size_t vek_len = 0;
    if (hw->aux != NULL) {
        vek = snp_find_cert(hw->aux, hw->aux_len, r.signing_key == WARD_SNP_SIGNING_KEY_VLEK,
                            &vek_len, &err);
        if (err != WARD_OK)
            return err;
    }
    if (vek == NULL) {
        vek = t->snp_vek;
        vek_len = t->snp_vek_len;
    }
    if (vek == NULL || vek_len == 0)
        return ward_err_set(WARD_ERR_VERIFY,
                            "no %s certificate: the bundle's auxblob has none and none was given",
                            r.signing_key == WARD_SNP_SIGNING_KEY_VLEK ? "VLEK" : "VCEK");
    if (t->snp == NULL)
        return ward_err_set(WARD_ERR_VERIFY,
                            "no AMD certificate chain was given to verify the SNP report with");
    return ward_snp_verifier_verify(t->snp, hw->evidence, hw->evidence_len, vek, vek_len, at,
                                    out, NULL);
}

static ward_err verify_hw(const ward_evidence_trust *t, const ward_hw_evidence *hw, int64_t at,
                          ward_claims *out)
{
    ward_err err;
    if (t != NULL && t->hw_verify != NULL) {
        err = t->hw_verify(t->hw_verify_ctx, hw->kind, hw->evidence, hw->evidence_len, hw->aux,
                           hw->aux_len, at, out);
    } else if (t == NULL) {
        err = ward_err_set(WARD_ERR_VERIFY, "no trust material for %s evidence",
                           ward_hw_kind_name(hw->kind));
    } else if (hw->kind == WARD_HW_TDX || hw->kind == WARD_HW_SGX) {
        err = verify_dcap(t, hw, at, out);
    } else if (hw->kind == WARD_HW_SNP) {
        err = verify_snp(t, hw, at, out);
    } else {
        err = ward_err_set(WARD_ERR_UNSUPPORTED,
                           "%s evidence cannot be verified by this build",
                           ward_hw_kind_name(hw->kind));
    }
    if (err != WARD_OK)
        return ward_err_wrap(err, "%s hardware evidence", ward_hw_kind_name(hw->kind));
    ward_tee_kind want = hw_tee_kind(hw->kind);
    if (want != WARD_TEE_KIND_UNKNOWN && out->kind != want)
        return ward_err_set(WARD_ERR_VERIFY, "hardware evidence says \"%s\" but is %s",
                            ward_hw_kind_name(hw->kind), ward_tee_kind_name(out->kind));
    return WARD_OK;
}

/* ---- verifying ------------------------------------------------------------------------------- */

static void merge(const ward_claims *ta, const ward_claims *hw, ward_claims *out)
{
    *out = *hw; /* kind, TCB status, advisories, TEE extras, quote version */
    memset(out->measurement, 0, sizeof out->measurement);
    memcpy(out->measurement, ta->measurement, ta->measurement_len);
    out->measurement_len = ta->measurement_len;
    memset(out->signer, 0, sizeof out->signer);
    memcpy(out->signer, ta->signer, ta->signer_len);
    out->signer_len = ta->signer_len;
    out->product_id = ta->product_id;
    out->svn = ta->svn;
    out->debug = ta->debug || hw->debug;
    memcpy(out->report_data, ta->report_data, sizeof out->report_data);
}

static int all_zero(const uint8_t *p, size_t n)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= p[i];
    return acc == 0;
}

ward_err ward_evidence_verify(const char *json, size_t len, const ward_evidence_trust *trust,
                              int64_t at, ward_claims *out, ward_evidence_result *detail)
{
    if (out != NULL)
        memset(out, 0, sizeof *out);
    if (detail != NULL)
        memset(detail, 0, sizeof *detail);
    if (out == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "evidence: NULL claims output");
    if (at == 0)
        at = (int64_t)time(NULL);
    bundle b;
    ward_err err = parse_bundle(json, len, &b);
    if (err != WARD_OK)
        return err;
    ward_evidence_result *res = calloc(1, sizeof *res);
    if (res == NULL) {
        bundle_free(&b);
        return ward_err_set(WARD_ERR_NOMEM, "evidence: out of memory");
    }
    cert_entry *pc = NULL;
    err = entry_get(b.der0, b.der0_len, trust == NULL || !(trust->flags & WARD_EVIDENCE_NO_CACHE),
                    &pc);
    if (err == WARD_OK) {
        b.chain[0] = ward_cert_ref(pc->cert);
        memcpy(res->platform_cert_sha256, pc->fp, WARD_SHA256_LEN);
        err = ward_sw_verify_report_key(pc->key, pc->key_id, b.report, b.report_len, b.sig,
                                        b.sig_len, &res->report, &res->ta);
    }
    entry_release(pc);
    if (err == WARD_OK && (res->report.platform == WARD_PLATFORM_SW_SIM) != b.sim)
        err = ward_err_set(WARD_ERR_VERIFY, "evidence: \"tee\" is %s but the report is %s",
                           b.sim ? "ward-sim" : "ward-sw",
                           ward_platform_name(res->report.platform));
    if (err == WARD_OK) {
        memcpy(res->platform_key_id, res->report.platform_key_id, WARD_SHA256_LEN);
        res->node_level = all_zero(res->report.signer, sizeof res->report.signer);
        int has_anchor = trust != NULL && (trust->n_pinned > 0 || trust->n_cas > 0);
        if (has_anchor)
            err = ward_sw_check_anchor(trust, b.chain, b.n_chain, at, &res->anchor);
        else if (b.hw.kind == WARD_HW_NONE)
            err = ward_err_set(WARD_ERR_VERIFY,
                               "no trust anchor for the software TEE: pin the platform "
                               "certificate or name an enrolment CA");
        else
            res->anchor = WARD_ANCHOR_HARDWARE;
    }
    if (err == WARD_OK && b.hw.kind != WARD_HW_NONE) {
        res->has_hw = 1;
        res->hw_kind = b.hw.kind;
        err = verify_hw(trust, &b.hw, at, &res->hw);
        if (err == WARD_OK) {
            uint8_t want[64];
            ward_evidence_hw_binding(res->platform_key_id, want);
            if (!ward_ct_equal(want, res->hw.report_data, sizeof want))
                err = ward_err_set(WARD_ERR_VERIFY,
                                   "hardware report_data does not bind the platform key: "
                                   "expected SHA-256(platform key SPKI) %02x%02x%02x%02x... "
                                   "followed by 32 zero bytes, the %s evidence has "
                                   "%02x%02x%02x%02x...", want[0], want[1], want[2], want[3],
                                   ward_hw_kind_name(b.hw.kind), res->hw.report_data[0],
                                   res->hw.report_data[1], res->hw.report_data[2],
                                   res->hw.report_data[3]);
        }
    }
    if (err == WARD_OK) {
        if (res->has_hw)
            merge(&res->ta, &res->hw, out);
        else
            *out = res->ta;
        if (detail != NULL)
            *detail = *res;
    }
    ward_wipe(res, sizeof *res);
    free(res);
    bundle_free(&b);
    if (err != WARD_OK)
        memset(out, 0, sizeof *out);
    return err;
}
