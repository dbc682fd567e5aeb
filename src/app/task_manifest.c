/* The task manifest (DESIGN 4): strict parsing, canonical bytes, digest, signatures of every
 * participant, accessors and the authorization helpers. docs/formats.md "Task manifest". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/task_internal.h"
#include "ward/crypto.h"
#include "ward/encoding.h"
#include "ward/err.h"
#include "ward/json.h"
#include "ward/task.h"

#define ROLE_CREATOR 1u
#define ROLE_OWNER 2u
#define ROLE_RECIPIENT 4u
#define MAX_SAFE_INT 9007199254740991LL /* 2^53 - 1 */

struct party {
    uint8_t hash[WARD_TASK_HASH_LEN];
    uint8_t *der;
    size_t der_len;
    ward_pkey *key;
    unsigned roles;
    int has_sig;
    uint8_t sig[WARD_TASK_SIG_LEN];
};

struct tslot {
    char name[WARD_TASK_SLOT_NAME_MAX + 1];
    size_t party;
    uint64_t max_bytes;
};

struct ward_task_manifest {
    json_t *root; /* the manifest object */
    char *jcs;
    size_t jcs_len;
    uint8_t digest[WARD_TASK_HASH_LEN];
    char id[WARD_TASK_ID_HEX_LEN + 1];
    ward_task_fn fn;
    char measurement[65];
    const json_t *params;
    const char *query;
    const char *psi_key;
    const json_t *psi_columns;
    struct tslot slots[WARD_TASK_MAX_SLOTS];
    size_t n_slots;
    size_t recipients[WARD_TASK_MAX_RECIPIENTS];
    uint8_t recipient_x25519[WARD_TASK_MAX_RECIPIENTS][WARD_TASK_X25519_LEN];
    size_t n_recipients;
    size_t creator;
    struct party parties[WARD_TASK_MAX_PARTICIPANTS];
    size_t n_parties;
    uint32_t quorum;
    int64_t expires_at;
    ward_task_retention retention;
    uint32_t keep_days;
};

/* ---- shared helpers ------------------------------------------------------------------------ */

void wtask_hex(const uint8_t *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15u];
    }
    out[2 * n] = '\0';
}

static int is_lower_hex(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return 0;
    }
    return 1;
}

int wtask_id_valid(const char *s)
{
    if (s == NULL)
        return 0;
    size_t len = strnlen(s, WARD_TASK_ID_HEX_LEN + 1);
    return len == WARD_TASK_ID_HEX_LEN && is_lower_hex(s, len);
}

int wtask_slot_name_valid(const char *name, size_t len)
{
    if (name == NULL || len == 0 || len > WARD_TASK_SLOT_NAME_MAX)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        int alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
        int ok = alpha || (i > 0 && ((c >= '0' && c <= '9') || c == '_'));
        if (!ok)
            return 0;
    }
    return 1;
}

long wtask_party_index(const ward_task_manifest *m, const uint8_t hash[WARD_TASK_HASH_LEN])
{
    if (m == NULL || hash == NULL)
        return -1;
    for (size_t i = 0; i < m->n_parties; i++)
        if (memcmp(m->parties[i].hash, hash, WARD_TASK_HASH_LEN) == 0)
            return (long)i;
    return -1;
}

/* ---- typed field readers --------------------------------------------------------------------- */

static ward_err bad(const char *path, const char *why)
{
    return ward_err_set(WARD_ERR_FORMAT, "task manifest: %s: %s", path, why);
}

static ward_err get_int(const json_t *v, const char *path, long long min, long long max,
                        long long *out)
{
    if (v == NULL)
        return bad(path, "missing");
    if (json_is_real(v))
        return bad(path, "a real number is not allowed (integers only)");
    if (!json_is_integer(v))
        return bad(path, "must be an integer");
    json_int_t n = json_integer_value(v);
    if (n < min || n > max)
        return ward_err_set(WARD_ERR_FORMAT, "task manifest: %s: %lld is out of range %lld .. %lld",
                            path, (long long)n, min, max);
    *out = (long long)n;
    return WARD_OK;
}

static ward_err get_str(const json_t *v, const char *path, size_t max, const char **out,
                        size_t *len)
{
    if (v == NULL)
        return bad(path, "missing");
    if (json_is_real(v))
        return bad(path, "must be a string, not a real number");
    if (!json_is_string(v))
        return bad(path, "must be a string");
    size_t n = json_string_length(v);
    const char *s = json_string_value(v);
    if (n == 0)
        return bad(path, "must not be empty");
    if (n > max)
        return ward_err_set(WARD_ERR_FORMAT, "task manifest: %s: longer than %zu bytes", path,
                            max);
    if (memchr(s, '\0', n) != NULL)
        return bad(path, "contains a NUL character");
    *out = s;
    if (len != NULL)
        *len = n;
    return WARD_OK;
}

/* Refuses any member not in allowed (NULL-terminated list). */
static ward_err only_members(const json_t *obj, const char *path, const char *const *allowed)
{
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)obj, key, val) {
        (void)val;
        int known = 0;
        for (size_t i = 0; allowed[i] != NULL; i++)
            if (strcmp(key, allowed[i]) == 0)
                known = 1;
        if (!known)
            return ward_err_set(WARD_ERR_FORMAT, "task manifest: %s: unknown member \"%.64s\"",
                                path, key);
    }
    return WARD_OK;
}

/* A base64 DER SPKI of a P-256 key, in canonical DER, added to (or found among) the parties. */
static ward_err add_party(ward_task_manifest *m, const json_t *v, const char *path,
                          unsigned role, size_t *index)
{
    const char *s = NULL;
    size_t n = 0;
    ward_err err = get_str(v, path, (WARD_TASK_SPKI_MAX / 3 + 1) * 4, &s, &n);
    if (err != WARD_OK)
        return err;
    uint8_t *der = NULL;
    size_t der_len = 0;
    if (ward_base64_decode(s, n, &der, &der_len) != WARD_OK)
        return bad(path, "not base64 (standard alphabet, padded)");
    ward_pkey *key = NULL;
    uint8_t *canon = NULL;
    size_t canon_len = 0;
    uint8_t hash[WARD_TASK_HASH_LEN];
    if (der_len > WARD_TASK_SPKI_MAX) {
        err = bad(path, "key too long");
    } else if (ward_pkey_from_spki_der(der, der_len, &key) != WARD_OK) {
        err = bad(path, "not a DER SubjectPublicKeyInfo");
    } else if (ward_pkey_type(key) != WARD_KEY_EC_P256) {
        err = bad(path, "not an ECDSA P-256 key");
    } else if (ward_pkey_spki_der(key, &canon, &canon_len) != WARD_OK) {
        err = bad(path, "cannot re-encode the key");
    } else if (canon_len != der_len || memcmp(canon, der, der_len) != 0) {
        err = bad(path, "not canonical DER (named curve, uncompressed point)");
    } else if (ward_hash(WARD_HASH_SHA256, der, der_len, hash) != WARD_OK) {
        err = ward_err_set(WARD_ERR_CRYPTO, "task manifest: hashing a key failed");
    }
    free(canon);
    if (err != WARD_OK) {
        free(der);
        ward_pkey_free(key);
        return err;
    }
    long found = wtask_party_index(m, hash);
    if (found >= 0) {
        free(der);
        ward_pkey_free(key);
        m->parties[found].roles |= role;
        *index = (size_t)found;
        return WARD_OK;
    }
    if (m->n_parties >= WARD_TASK_MAX_PARTICIPANTS) {
        free(der);
        ward_pkey_free(key);
        return bad(path, "too many participants");
    }
    struct party *p = &m->parties[m->n_parties];
    memcpy(p->hash, hash, sizeof hash);
    p->der = der;
    p->der_len = der_len;
    p->key = key;
    p->roles = role;
    *index = m->n_parties++;
    return WARD_OK;
}

static ward_err parse_function(ward_task_manifest *m, const json_t *fn)
{
    if (fn == NULL)
        return bad("function", "missing");
    if (!json_is_object(fn))
        return bad("function", "must be an object");
    static const char *const allowed[] = {"builtin", "ta_measurement", NULL};
    ward_err err = only_members(fn, "function", allowed);
    if (err != WARD_OK)
        return err;
    if (json_object_size(fn) != 1)
        return bad("function", "must have exactly one of \"builtin\" and \"ta_measurement\"");
    const json_t *b = json_object_get(fn, "builtin");
    const char *s = NULL;
    size_t n = 0;
    if (b != NULL) {
        if ((err = get_str(b, "function.builtin", 16, &s, &n)) != WARD_OK)
            return err;
        if (n == 3 && memcmp(s, "sql", 3) == 0)
            m->fn = WARD_TASK_FN_SQL;
        else if (n == 3 && memcmp(s, "psi", 3) == 0)
            m->fn = WARD_TASK_FN_PSI;
        else
            return ward_err_set(WARD_ERR_UNSUPPORTED,
                                "task manifest: function.builtin: unknown built-in \"%.16s\" "
                                "(sql or psi)", s);
        return WARD_OK;
    }
    if ((err = get_str(json_object_get(fn, "ta_measurement"), "function.ta_measurement", 64, &s,
                       &n)) != WARD_OK)
        return err;
    if (n != 64 || !is_lower_hex(s, n))
        return bad("function.ta_measurement", "must be 64 lower-case hex digits");
    memcpy(m->measurement, s, 64);
    m->measurement[64] = '\0';
    m->fn = WARD_TASK_FN_TA;
    return WARD_OK;
}

static ward_err parse_params(ward_task_manifest *m, const json_t *p)
{
    if (p == NULL)
        return bad("params", "missing");
    if (!json_is_object(p))
        return bad("params", "must be an object");
    m->params = p;
    ward_err err;
    if (m->fn == WARD_TASK_FN_SQL) {
        static const char *const allowed[] = {"query", NULL};
        if ((err = only_members(p, "params", allowed)) != WARD_OK)
            return err;
        return get_str(json_object_get(p, "query"), "params.query", WARD_TASK_QUERY_MAX,
                       &m->query, NULL);
    }
    if (m->fn == WARD_TASK_FN_PSI) {
        static const char *const allowed[] = {"key", "columns", NULL};
        if ((err = only_members(p, "params", allowed)) != WARD_OK)
            return err;
        if ((err = get_str(json_object_get(p, "key"), "params.key", WARD_TASK_COLUMN_MAX,
                           &m->psi_key, NULL)) != WARD_OK)
            return err;
        const json_t *cols = json_object_get(p, "columns");
        if (cols == NULL)
            return bad("params.columns", "missing");
        if (!json_is_array(cols))
            return bad("params.columns", "must be an array of strings");
        size_t nc = json_array_size(cols);
        if (nc == 0 || nc > WARD_TASK_MAX_COLUMNS)
            return bad("params.columns", "must hold 1 .. 256 column names");
        for (size_t i = 0; i < nc; i++) {
            char path[48];
            snprintf(path, sizeof path, "params.columns[%zu]", i);
            const char *c = NULL;
            if ((err = get_str(json_array_get(cols, i), path, WARD_TASK_COLUMN_MAX, &c, NULL)) !=
                WARD_OK)
                return err;
            for (size_t j = 0; j < i; j++)
                if (strcmp(c, json_string_value(json_array_get(cols, j))) == 0)
                    return bad(path, "duplicate column");
        }
        m->psi_columns = cols;
        return WARD_OK;
    }
    return WARD_OK; /* a TA's own parameters: any object (no real numbers: checked by JCS) */
}

static ward_err parse_inputs(ward_task_manifest *m, const json_t *in)
{
    if (in == NULL)
        return bad("inputs", "missing");
    if (!json_is_array(in))
        return bad("inputs", "must be an array");
    size_t n = json_array_size(in);
    if (n == 0 || n > WARD_TASK_MAX_SLOTS)
        return bad("inputs", "must hold 1 .. 64 slots");
    if (m->fn == WARD_TASK_FN_PSI && n < 2)
        return bad("inputs", "psi needs at least two inputs");
    static const char *const allowed[] = {"slot", "owner", "max_bytes", NULL};
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_array_get(in, i);
        char path[64];
        snprintf(path, sizeof path, "inputs[%zu]", i);
        if (!json_is_object(e))
            return bad(path, "must be an object");
        ward_err err = only_members(e, path, allowed);
        if (err != WARD_OK)
            return err;
        struct tslot *sl = &m->slots[i];
        const char *name = NULL;
        size_t nlen = 0;
        snprintf(path, sizeof path, "inputs[%zu].slot", i);
        if ((err = get_str(json_object_get(e, "slot"), path, WARD_TASK_SLOT_NAME_MAX, &name,
                           &nlen)) != WARD_OK)
            return err;
        if (!wtask_slot_name_valid(name, nlen))
            return bad(path, "must match [A-Za-z][A-Za-z0-9_]{0,63}");
        for (size_t j = 0; j < i; j++)
            if (strcmp(m->slots[j].name, name) == 0)
                return bad(path, "duplicate slot name");
        memcpy(sl->name, name, nlen);
        sl->name[nlen] = '\0';
        snprintf(path, sizeof path, "inputs[%zu].owner", i);
        if ((err = add_party(m, json_object_get(e, "owner"), path, ROLE_OWNER, &sl->party)) !=
            WARD_OK)
            return err;
        long long mb = 0;
        snprintf(path, sizeof path, "inputs[%zu].max_bytes", i);
        if ((err = get_int(json_object_get(e, "max_bytes"), path, 1, MAX_SAFE_INT, &mb)) !=
            WARD_OK)
            return err;
        sl->max_bytes = (uint64_t)mb;
        m->n_slots = i + 1;
    }
    return WARD_OK;
}

static ward_err parse_recipients(ward_task_manifest *m, const json_t *r)
{
    if (r == NULL)
        return bad("recipients", "missing");
    if (!json_is_array(r))
        return bad("recipients", "must be an array");
    size_t n = json_array_size(r);
    if (n == 0 || n > WARD_TASK_MAX_RECIPIENTS)
        return bad("recipients", "must hold 1 .. 64 recipients");
    static const char *const allowed[] = {"identity", "x25519", NULL};
    for (size_t i = 0; i < n; i++) {
        char path[48];
        const json_t *e = json_array_get(r, i);
        snprintf(path, sizeof path, "recipients[%zu]", i);
        if (!json_is_object(e))
            return bad(path, "must be an object {\"identity\": ..., \"x25519\": ...}");
        ward_err err = only_members(e, path, allowed);
        if (err != WARD_OK)
            return err;
        size_t idx;
        snprintf(path, sizeof path, "recipients[%zu].identity", i);
        if ((err = add_party(m, json_object_get(e, "identity"), path, ROLE_RECIPIENT, &idx)) !=
            WARD_OK)
            return err;
        for (size_t j = 0; j < i; j++)
            if (m->recipients[j] == idx)
                return bad(path, "duplicate recipient");
        snprintf(path, sizeof path, "recipients[%zu].x25519", i);
        const char *x = NULL;
        size_t xl = 0;
        if ((err = get_str(json_object_get(e, "x25519"), path, 2 * WARD_TASK_X25519_LEN, &x,
                           &xl)) != WARD_OK)
            return err;
        if (xl != 2 * WARD_TASK_X25519_LEN || !is_lower_hex(x, xl))
            return bad(path, "must be 64 lower-case hex digits (a 32-byte X25519 public key)");
        uint8_t *k = m->recipient_x25519[i];
        uint8_t any = 0;
        for (size_t b = 0; b < WARD_TASK_X25519_LEN; b++) {
            char hi = x[2 * b], lo = x[2 * b + 1];
            unsigned h = hi <= '9' ? (unsigned)(hi - '0') : (unsigned)(hi - 'a' + 10);
            unsigned l = lo <= '9' ? (unsigned)(lo - '0') : (unsigned)(lo - 'a' + 10);
            k[b] = (uint8_t)(h << 4 | l);
            any |= k[b];
        }
        if (any == 0)
            return bad(path, "the all-zero key is not a public key");
        m->recipients[i] = idx;
        m->n_recipients = i + 1;
    }
    return WARD_OK;
}

static ward_err parse_retention(ward_task_manifest *m, const json_t *v)
{
    const char *s = NULL;
    size_t n = 0;
    ward_err err = get_str(v, "retention", 32, &s, &n);
    if (err != WARD_OK)
        return err;
    if (n == 14 && memcmp(s, "delete-on-done", 14) == 0) {
        m->retention = WARD_TASK_RETAIN_DELETE;
        return WARD_OK;
    }
    static const char prefix[] = "keep-days:";
    const size_t pl = sizeof prefix - 1;
    if (n > pl && n <= pl + 4 && memcmp(s, prefix, pl) == 0 && s[pl] != '0') {
        uint32_t days = 0;
        for (size_t i = pl; i < n; i++) {
            if (s[i] < '0' || s[i] > '9')
                return bad("retention", "must be \"delete-on-done\" or \"keep-days:N\"");
            days = days * 10u + (uint32_t)(s[i] - '0');
        }
        if (days >= 1 && days <= WARD_TASK_KEEP_DAYS_MAX) {
            m->retention = WARD_TASK_RETAIN_KEEP_DAYS;
            m->keep_days = days;
            return WARD_OK;
        }
    }
    return bad("retention",
               "must be \"delete-on-done\" or \"keep-days:N\" with N in 1 .. 3650, no leading zero");
}

static ward_err parse_manifest_obj(ward_task_manifest *m, json_t *root)
{
    if (!json_is_object(root))
        return ward_err_set(WARD_ERR_FORMAT, "task manifest: not a JSON object");
    static const char *const allowed[] = {"version",    "task_id",       "creator",
                                          "function",   "params",        "inputs",
                                          "recipients", "cancel_quorum", "expires_at",
                                          "retention",  NULL};
    ward_err err = only_members(root, "manifest", allowed);
    if (err != WARD_OK)
        return err;
    for (size_t i = 0; allowed[i] != NULL; i++)
        if (strcmp(allowed[i], "cancel_quorum") != 0 && json_object_get(root, allowed[i]) == NULL)
            return bad(allowed[i], "missing");
    long long v = 0;
    if ((err = get_int(json_object_get(root, "version"), "version", 0, MAX_SAFE_INT, &v)) !=
        WARD_OK)
        return err;
    if (v != WARD_TASK_VERSION)
        return ward_err_set(WARD_ERR_UNSUPPORTED, "task manifest: version %lld (only 1)", v);
    const char *id = NULL;
    size_t idlen = 0;
    if ((err = get_str(json_object_get(root, "task_id"), "task_id", 64, &id, &idlen)) != WARD_OK)
        return err;
    if (idlen != WARD_TASK_ID_HEX_LEN || !is_lower_hex(id, idlen))
        return bad("task_id", "must be 32 lower-case hex digits (16 random bytes)");
    memcpy(m->id, id, idlen);
    m->id[idlen] = '\0';
    if ((err = add_party(m, json_object_get(root, "creator"), "creator", ROLE_CREATOR,
                         &m->creator)) != WARD_OK)
        return err;
    if ((err = parse_function(m, json_object_get(root, "function"))) != WARD_OK)
        return err;
    if ((err = parse_params(m, json_object_get(root, "params"))) != WARD_OK)
        return err;
    if ((err = parse_inputs(m, json_object_get(root, "inputs"))) != WARD_OK)
        return err;
    if ((err = parse_recipients(m, json_object_get(root, "recipients"))) != WARD_OK)
        return err;
    const json_t *q = json_object_get(root, "cancel_quorum");
    if (q != NULL) {
        long long qv = 0;
        char range[64];
        snprintf(range, sizeof range, "cancel_quorum");
        if ((err = get_int(q, range, 1, (long long)m->n_parties, &qv)) != WARD_OK)
            return ward_err_wrap(err, "the quorum counts the %zu participants", m->n_parties);
        m->quorum = (uint32_t)qv;
    } else {
        m->quorum = (uint32_t)(m->n_parties / 2 + 1);
    }
    long long exp = 0;
    if ((err = get_int(json_object_get(root, "expires_at"), "expires_at", 1, MAX_SAFE_INT,
                       &exp)) != WARD_OK)
        return err;
    m->expires_at = (int64_t)exp;
    if ((err = parse_retention(m, json_object_get(root, "retention"))) != WARD_OK)
        return err;
    if ((err = ward_jcs_serialize(root, &m->jcs, &m->jcs_len)) != WARD_OK)
        return ward_err_wrap(err, "task manifest");
    if (ward_hash(WARD_HASH_SHA256, m->jcs, m->jcs_len, m->digest) != WARD_OK)
        return ward_err_set(WARD_ERR_CRYPTO, "task manifest: hashing failed");
    return WARD_OK;
}

static ward_err new_manifest(json_t *root, ward_task_manifest **out)
{
    ward_task_manifest *m = calloc(1, sizeof *m);
    if (m == NULL) {
        json_decref(root);
        return ward_err_set(WARD_ERR_NOMEM, "task manifest: out of memory");
    }
    m->root = root;
    ward_err err = parse_manifest_obj(m, root);
    if (err != WARD_OK) {
        ward_task_manifest_free(m);
        return err;
    }
    *out = m;
    return WARD_OK;
}

ward_err ward_task_manifest_parse(const char *text, size_t len, ward_task_manifest **out)
{
    if (out == NULL || (text == NULL && len != 0))
        return ward_err_set(WARD_ERR_INVALID_ARG, "task manifest: NULL argument");
    *out = NULL;
    if (len > WARD_TASK_TEXT_MAX)
        return ward_err_set(WARD_ERR_LIMIT, "task manifest: longer than %u bytes",
                            WARD_TASK_TEXT_MAX);
    json_t *root = NULL;
    ward_err err = ward_json_parse(text, len, &root);
    if (err != WARD_OK)
        return ward_err_wrap(err, "task manifest");
    return new_manifest(root, out);
}

static ward_err parse_signatures(ward_task_manifest *m, const json_t *sigs)
{
    if (sigs == NULL)
        return bad("signatures", "missing");
    if (!json_is_object(sigs))
        return bad("signatures", "must be an object");
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)sigs, key, val) {
        uint8_t *h = NULL, *sig = NULL;
        size_t hl = 0, sl = 0;
        size_t klen = strnlen(key, 64);
        if (ward_base64url_decode(key, klen, &h, &hl) != WARD_OK || hl != WARD_TASK_HASH_LEN) {
            free(h);
            return ward_err_set(WARD_ERR_FORMAT,
                                "task envelope: signatures: member \"%.64s\" is not base64url of "
                                "a 32-byte SHA-256 of an SPKI", key);
        }
        long idx = wtask_party_index(m, h);
        char hex[2 * WARD_TASK_HASH_LEN + 1];
        wtask_hex(h, WARD_TASK_HASH_LEN, hex);
        free(h);
        if (idx < 0)
            return ward_err_set(WARD_ERR_PERMISSION,
                                "task envelope: signature by a non-party (key %s is neither the "
                                "creator, an input owner nor a recipient)", hex);
        if (!json_is_string(val) ||
            ward_base64url_decode(json_string_value(val), json_string_length(val), &sig, &sl) !=
                WARD_OK ||
            sl != WARD_TASK_SIG_LEN) {
            free(sig);
            return ward_err_set(WARD_ERR_FORMAT,
                                "task envelope: signatures[%s]: not base64url of a 64-byte raw "
                                "r||s signature", hex);
        }
        struct party *p = &m->parties[idx];
        if (p->has_sig) { /* the strict parser refuses duplicate members; belt and braces */
            free(sig);
            return ward_err_set(WARD_ERR_FORMAT, "task envelope: duplicate signer %s", hex);
        }
        memcpy(p->sig, sig, WARD_TASK_SIG_LEN);
        p->has_sig = 1;
        free(sig);
    }
    return WARD_OK;
}

ward_err ward_task_envelope_parse(const char *text, size_t len, ward_task_manifest **out)
{
    if (out == NULL || (text == NULL && len != 0))
        return ward_err_set(WARD_ERR_INVALID_ARG, "task envelope: NULL argument");
    *out = NULL;
    if (len > WARD_TASK_TEXT_MAX)
        return ward_err_set(WARD_ERR_LIMIT, "task envelope: longer than %u bytes",
                            WARD_TASK_TEXT_MAX);
    json_t *env = NULL;
    ward_err err = ward_json_parse(text, len, &env);
    if (err != WARD_OK)
        return ward_err_wrap(err, "task envelope");
    if (!json_is_object(env)) {
        json_decref(env);
        return ward_err_set(WARD_ERR_FORMAT, "task envelope: not a JSON object");
    }
    static const char *const allowed[] = {"manifest", "signatures", NULL};
    if ((err = only_members(env, "envelope", allowed)) != WARD_OK) {
        json_decref(env);
        return err;
    }
    json_t *man = json_object_get(env, "manifest");
    if (man == NULL) {
        json_decref(env);
        return bad("envelope.manifest", "missing");
    }
    ward_task_manifest *m = NULL;
    if ((err = new_manifest(json_incref(man), &m)) != WARD_OK) {
        json_decref(env);
        return err;
    }
    err = parse_signatures(m, json_object_get(env, "signatures"));
    json_decref(env);
    if (err != WARD_OK) {
        ward_task_manifest_free(m);
        return err;
    }
    *out = m;
    return WARD_OK;
}

void ward_task_manifest_free(ward_task_manifest *m)
{
    if (m == NULL)
        return;
    for (size_t i = 0; i < m->n_parties; i++) {
        free(m->parties[i].der);
        ward_pkey_free(m->parties[i].key);
    }
    free(m->jcs);
    json_decref(m->root);
    free(m);
}

const char *ward_task_manifest_canonical(const ward_task_manifest *m, size_t *len)
{
    if (len != NULL)
        *len = m != NULL ? m->jcs_len : 0;
    return m != NULL ? m->jcs : NULL;
}

void ward_task_manifest_digest(const ward_task_manifest *m, uint8_t out[WARD_TASK_HASH_LEN])
{
    if (m != NULL && out != NULL)
        memcpy(out, m->digest, WARD_TASK_HASH_LEN);
}

ward_err ward_task_envelope_serialize(const ward_task_manifest *m, char **out, size_t *len)
{
    if (m == NULL || out == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "task envelope: NULL argument");
    *out = NULL;
    json_t *env = json_object();
    json_t *sigs = json_object();
    ward_err err = WARD_OK;
    if (env == NULL || sigs == NULL ||
        json_object_set(env, "manifest", m->root) != 0) {
        err = ward_err_set(WARD_ERR_NOMEM, "task envelope: out of memory");
        goto done;
    }
    for (size_t i = 0; i < m->n_parties && err == WARD_OK; i++) {
        const struct party *p = &m->parties[i];
        if (!p->has_sig)
            continue;
        char *k = NULL, *v = NULL;
        if (ward_base64url_encode(p->hash, WARD_TASK_HASH_LEN, &k, NULL) != WARD_OK ||
            ward_base64url_encode(p->sig, WARD_TASK_SIG_LEN, &v, NULL) != WARD_OK ||
            json_object_set_new(sigs, k, json_string(v)) != 0)
            err = ward_err_set(WARD_ERR_NOMEM, "task envelope: out of memory");
        free(k);
        free(v);
    }
    if (err == WARD_OK) {
        if (json_object_set(env, "signatures", sigs) != 0)
            err = ward_err_set(WARD_ERR_NOMEM, "task envelope: out of memory");
        else
            err = ward_jcs_serialize(env, out, len);
    }
done:
    json_decref(sigs);
    json_decref(env);
    return err;
}

static void describe(const ward_task_manifest *m, size_t idx, char *buf, size_t cap)
{
    const struct party *p = &m->parties[idx];
    char hex[2 * WARD_TASK_HASH_LEN + 1];
    wtask_hex(p->hash, WARD_TASK_HASH_LEN, hex);
    if (p->roles & ROLE_OWNER) {
        for (size_t i = 0; i < m->n_slots; i++)
            if (m->slots[i].party == idx) {
                snprintf(buf, cap, "owner of slot \"%s\" %s", m->slots[i].name, hex);
                return;
            }
    }
    snprintf(buf, cap, "%s %s", (p->roles & ROLE_RECIPIENT) ? "recipient" : "creator", hex);
}

/* What a participant signs: a label naming this protocol, then the manifest digest. The label
 * keeps a task signature from being valid for any other protocol that signs JSON (or a digest)
 * with the same participant key. */
#define SIGNED_LABEL "ward-task-manifest-v1"
#define SIGNED_LEN (sizeof SIGNED_LABEL + WARD_SHA256_LEN) /* label, its NUL, digest */

_Static_assert(SIGNED_LEN == WARD_TASK_SIGNED_MSG_LEN, "signed message length");

ward_err ward_task_signed_message(const ward_task_manifest *m,
                                  uint8_t out[WARD_TASK_SIGNED_MSG_LEN])
{
    if (m == NULL || out == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "task signed message: NULL argument");
    memcpy(out, SIGNED_LABEL, sizeof SIGNED_LABEL);
    return ward_hash(WARD_HASH_SHA256, m->jcs, m->jcs_len, out + sizeof SIGNED_LABEL);
}

static ward_err signed_message(const ward_task_manifest *m, uint8_t out[SIGNED_LEN])
{
    return ward_task_signed_message(m, out);
}

static ward_err verify_one(const ward_task_manifest *m, size_t idx, const uint8_t *sig)
{
    uint8_t msg[SIGNED_LEN];
    ward_err err = signed_message(m, msg);
    if (err != WARD_OK)
        return err;
    err = ward_verify(m->parties[idx].key, WARD_HASH_SHA256, WARD_SIG_RAW, msg, sizeof msg, sig,
                      WARD_TASK_SIG_LEN);
    if (err == WARD_OK)
        return WARD_OK;
    char who[160];
    describe(m, idx, who, sizeof who);
    return ward_err_set(WARD_ERR_VERIFY,
                        "task manifest %s: signature of %s does not verify: the manifest was "
                        "changed after signing, or the signature is not theirs", m->id, who);
}

ward_err ward_task_sign(ward_task_manifest *m, const ward_pkey *key)
{
    if (m == NULL || key == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "task sign: NULL argument");
    if (!ward_pkey_is_private(key) || ward_pkey_type(key) != WARD_KEY_EC_P256)
        return ward_err_set(WARD_ERR_INVALID_ARG, "task sign: need a P-256 private key");
    uint8_t hash[WARD_TASK_HASH_LEN];
    ward_err err = ward_pkey_spki_sha256(key, hash);
    if (err != WARD_OK)
        return err;
    long idx = wtask_party_index(m, hash);
    char hex[2 * WARD_TASK_HASH_LEN + 1];
    wtask_hex(hash, WARD_TASK_HASH_LEN, hex);
    if (idx < 0)
        return ward_err_set(WARD_ERR_PERMISSION,
                            "task sign: key %s is not a participant of task %s", hex, m->id);
    if (m->parties[idx].has_sig)
        return ward_err_set(WARD_ERR_EXISTS, "task sign: %s has already signed task %s", hex,
                            m->id);
    uint8_t *sig = NULL;
    size_t sl = 0;
    uint8_t msg[SIGNED_LEN];
    if ((err = signed_message(m, msg)) != WARD_OK ||
        (err = ward_sign(key, WARD_HASH_SHA256, WARD_SIG_RAW, msg, sizeof msg, &sig, &sl)) !=
            WARD_OK)
        return err;
    if (sl != WARD_TASK_SIG_LEN) {
        free(sig);
        return ward_err_set(WARD_ERR_CRYPTO, "task sign: unexpected signature length %zu", sl);
    }
    memcpy(m->parties[idx].sig, sig, WARD_TASK_SIG_LEN);
    m->parties[idx].has_sig = 1;
    free(sig);
    return WARD_OK;
}

ward_err ward_task_add_signature(ward_task_manifest *m, const uint8_t spki_hash[WARD_TASK_HASH_LEN],
                                 const uint8_t sig[WARD_TASK_SIG_LEN])
{
    if (m == NULL || spki_hash == NULL || sig == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "task signature: NULL argument");
    long idx = wtask_party_index(m, spki_hash);
    char hex[2 * WARD_TASK_HASH_LEN + 1];
    wtask_hex(spki_hash, WARD_TASK_HASH_LEN, hex);
    if (idx < 0)
        return ward_err_set(WARD_ERR_PERMISSION, "task %s: signature by a non-party %s", m->id,
                            hex);
    struct party *p = &m->parties[idx];
    if (p->has_sig) {
        if (memcmp(p->sig, sig, WARD_TASK_SIG_LEN) == 0)
            return WARD_OK;
        return ward_err_set(WARD_ERR_EXISTS, "task %s: %s has already signed", m->id, hex);
    }
    ward_err err = verify_one(m, (size_t)idx, sig);
    if (err != WARD_OK)
        return err;
    memcpy(p->sig, sig, WARD_TASK_SIG_LEN);
    p->has_sig = 1;
    return WARD_OK;
}

ward_err ward_task_verify_signatures(const ward_task_manifest *m)
{
    if (m == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "task verify: NULL argument");
    size_t missing = 0;
    long first_missing = -1;
    for (size_t i = 0; i < m->n_parties; i++) {
        if (!m->parties[i].has_sig) {
            if (first_missing < 0)
                first_missing = (long)i;
            missing++;
            continue;
        }
        ward_err err = verify_one(m, i, m->parties[i].sig);
        if (err != WARD_OK)
            return err;
    }
    if (missing > 0) {
        char who[160];
        describe(m, (size_t)first_missing, who, sizeof who);
        return ward_err_set(WARD_ERR_VERIFY,
                            "task manifest %s: missing %zu of %zu signatures; first missing: %s",
                            m->id, missing, m->n_parties, who);
    }
    return WARD_OK;
}

/* ---- accessors ----------------------------------------------------------------------------- */

const char *ward_task_id(const ward_task_manifest *m) { return m != NULL ? m->id : NULL; }
ward_task_fn ward_task_function(const ward_task_manifest *m) { return m->fn; }
const char *ward_task_ta_measurement(const ward_task_manifest *m)
{
    return m != NULL && m->fn == WARD_TASK_FN_TA ? m->measurement : NULL;
}
const json_t *ward_task_params(const ward_task_manifest *m) { return m != NULL ? m->params : NULL; }
const char *ward_task_sql_query(const ward_task_manifest *m) { return m != NULL ? m->query : NULL; }
const char *ward_task_psi_key(const ward_task_manifest *m) { return m != NULL ? m->psi_key : NULL; }
size_t ward_task_psi_column_count(const ward_task_manifest *m)
{
    return m != NULL && m->psi_columns != NULL ? json_array_size(m->psi_columns) : 0;
}
const char *ward_task_psi_column(const ward_task_manifest *m, size_t i)
{
    if (i >= ward_task_psi_column_count(m))
        return NULL;
    return json_string_value(json_array_get(m->psi_columns, i));
}

size_t ward_task_slot_count(const ward_task_manifest *m) { return m != NULL ? m->n_slots : 0; }

ward_err ward_task_slot_at(const ward_task_manifest *m, size_t i, ward_task_slot_desc *out)
{
    if (m == NULL || out == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "task slot: NULL argument");
    if (i >= m->n_slots)
        return ward_err_set(WARD_ERR_NOT_FOUND, "task %s has no slot %zu", m->id, i);
    const struct tslot *s = &m->slots[i];
    const struct party *p = &m->parties[s->party];
    out->name = s->name;
    memcpy(out->owner, p->hash, WARD_TASK_HASH_LEN);
    out->owner_spki = p->der;
    out->owner_spki_len = p->der_len;
    out->max_bytes = s->max_bytes;
    return WARD_OK;
}

ward_err ward_task_slot_find(const ward_task_manifest *m, const char *name, ward_task_slot_desc *out)
{
    if (m == NULL || name == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "task slot: NULL argument");
    for (size_t i = 0; i < m->n_slots; i++)
        if (strcmp(m->slots[i].name, name) == 0) {
            ward_task_slot_desc tmp;
            return ward_task_slot_at(m, i, out != NULL ? out : &tmp);
        }
    return ward_err_set(WARD_ERR_NOT_FOUND, "task %s has no slot \"%.64s\"", m->id, name);
}

size_t ward_task_recipient_count(const ward_task_manifest *m)
{
    return m != NULL ? m->n_recipients : 0;
}

ward_err ward_task_recipient_at(const ward_task_manifest *m, size_t i,
                                uint8_t hash[WARD_TASK_HASH_LEN], const uint8_t **spki,
                                size_t *spki_len)
{
    if (m == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "task recipient: NULL argument");
    if (i >= m->n_recipients)
        return ward_err_set(WARD_ERR_NOT_FOUND, "task %s has no recipient %zu", m->id, i);
    const struct party *p = &m->parties[m->recipients[i]];
    if (hash != NULL)
        memcpy(hash, p->hash, WARD_TASK_HASH_LEN);
    if (spki != NULL)
        *spki = p->der;
    if (spki_len != NULL)
        *spki_len = p->der_len;
    return WARD_OK;
}

ward_err ward_task_recipient_x25519(const ward_task_manifest *m, size_t i,
                                    uint8_t out[WARD_TASK_X25519_LEN])
{
    if (m == NULL || out == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "task recipient: NULL argument");
    if (i >= m->n_recipients)
        return ward_err_set(WARD_ERR_NOT_FOUND, "task %s has no recipient %zu", m->id, i);
    memcpy(out, m->recipient_x25519[i], WARD_TASK_X25519_LEN);
    return WARD_OK;
}

ward_err ward_task_slot_aad(const ward_task_manifest *m, const char *slot, char *out, size_t cap,
                            size_t *len)
{
    if (m == NULL || slot == NULL || out == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "task slot aad: NULL argument");
    ward_err err = ward_task_slot_find(m, slot, NULL);
    if (err != WARD_OK)
        return err;
    int n = snprintf(out, cap, WARD_TASK_AAD_PREFIX "%s/%s", m->id, slot);
    if (n < 0 || (size_t)n >= cap)
        return ward_err_set(WARD_ERR_OVERFLOW, "task slot aad: buffer too small");
    if (len != NULL)
        *len = (size_t)n;
    return WARD_OK;
}

void ward_task_creator(const ward_task_manifest *m, uint8_t hash[WARD_TASK_HASH_LEN])
{
    if (m != NULL && hash != NULL)
        memcpy(hash, m->parties[m->creator].hash, WARD_TASK_HASH_LEN);
}

size_t ward_task_participant_count(const ward_task_manifest *m)
{
    return m != NULL ? m->n_parties : 0;
}

ward_err ward_task_participant_at(const ward_task_manifest *m, size_t i,
                                  uint8_t hash[WARD_TASK_HASH_LEN])
{
    if (m == NULL || hash == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "task participant: NULL argument");
    if (i >= m->n_parties)
        return ward_err_set(WARD_ERR_NOT_FOUND, "task %s has no participant %zu", m->id, i);
    memcpy(hash, m->parties[i].hash, WARD_TASK_HASH_LEN);
    return WARD_OK;
}

uint32_t ward_task_cancel_quorum(const ward_task_manifest *m) { return m != NULL ? m->quorum : 0; }
int64_t ward_task_expires_at(const ward_task_manifest *m) { return m != NULL ? m->expires_at : 0; }

ward_task_retention ward_task_retention_of(const ward_task_manifest *m, uint32_t *keep_days)
{
    if (keep_days != NULL)
        *keep_days = m->keep_days;
    return m->retention;
}

int ward_task_has_signature(const ward_task_manifest *m, const uint8_t hash[WARD_TASK_HASH_LEN])
{
    long idx = wtask_party_index(m, hash);
    return idx >= 0 && m->parties[idx].has_sig;
}

/* ---- authorization ---------------------------------------------------------------------------- */

ward_err ward_task_may_upload(const ward_task_manifest *m, const char *slot,
                              const uint8_t spki_hash[WARD_TASK_HASH_LEN])
{
    if (m == NULL || slot == NULL || spki_hash == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "task upload: NULL argument");
    ward_task_slot_desc d;
    ward_err err = ward_task_slot_find(m, slot, &d);
    if (err != WARD_OK)
        return err;
    if (!ward_ct_equal(d.owner, spki_hash, WARD_TASK_HASH_LEN)) {
        char hex[2 * WARD_TASK_HASH_LEN + 1];
        wtask_hex(spki_hash, WARD_TASK_HASH_LEN, hex);
        return ward_err_set(WARD_ERR_PERMISSION,
                            "task %s: %s is not the owner of slot \"%s\": upload refused", m->id,
                            hex, d.name);
    }
    return WARD_OK;
}

ward_err ward_task_may_read_result(const ward_task_manifest *m,
                                   const uint8_t spki_hash[WARD_TASK_HASH_LEN])
{
    if (m == NULL || spki_hash == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "task result: NULL argument");
    for (size_t i = 0; i < m->n_recipients; i++)
        if (ward_ct_equal(m->parties[m->recipients[i]].hash, spki_hash, WARD_TASK_HASH_LEN))
            return WARD_OK;
    char hex[2 * WARD_TASK_HASH_LEN + 1];
    wtask_hex(spki_hash, WARD_TASK_HASH_LEN, hex);
    return ward_err_set(WARD_ERR_PERMISSION,
                        "task %s: %s is not a recipient: result refused", m->id, hex);
}

ward_err ward_task_may_cancel(const ward_task_manifest *m,
                              const uint8_t spki_hash[WARD_TASK_HASH_LEN])
{
    if (m == NULL || spki_hash == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "task cancel: NULL argument");
    if (wtask_party_index(m, spki_hash) >= 0)
        return WARD_OK;
    char hex[2 * WARD_TASK_HASH_LEN + 1];
    wtask_hex(spki_hash, WARD_TASK_HASH_LEN, hex);
    return ward_err_set(WARD_ERR_PERMISSION,
                        "task %s: %s is not a participant: cancel refused", m->id, hex);
}

/* ---- internal (task_internal.h) ------------------------------------------------------------ */

ward_err wtask_verify_present(const ward_task_manifest *m)
{
    for (size_t i = 0; i < m->n_parties; i++)
        if (m->parties[i].has_sig) {
            ward_err err = verify_one(m, i, m->parties[i].sig);
            if (err != WARD_OK)
                return err;
        }
    return WARD_OK;
}

ward_err wtask_merge_signatures(ward_task_manifest *dst, const ward_task_manifest *src,
                                size_t *added)
{
    size_t n = 0;
    if (memcmp(dst->digest, src->digest, WARD_TASK_HASH_LEN) != 0)
        return ward_err_set(WARD_ERR_VERIFY,
                            "task %s: the envelope holds a different manifest (digest differs): "
                            "signatures not merged", dst->id);
    for (size_t i = 0; i < src->n_parties; i++) {
        const struct party *p = &src->parties[i];
        if (!p->has_sig || ward_task_has_signature(dst, p->hash))
            continue;
        ward_err err = ward_task_add_signature(dst, p->hash, p->sig);
        if (err != WARD_OK)
            return err;
        n++;
    }
    if (added != NULL)
        *added = n;
    return WARD_OK;
}
