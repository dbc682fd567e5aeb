/* The TOTP second factor of identities: enrolment (pending until confirmed with a code),
 * verification with a ±1 step window and replay protection, and storage of the secrets
 * (AES-256-GCM under the database's secrets key when it has one). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/identity_internal.h"
#include "ward/crypto.h"
#include "ward/err.h"

#define SECRET_MAX 64
#define AAD_LABEL "ward-identity-totp-v1"
#define BLOB_PLAIN 0
#define BLOB_SEALED 1
#define BLOB_MAX (1 + WARD_AEAD_NONCE_LEN + SECRET_MAX + WARD_AEAD_TAG_LEN)

/* AAD: label || 0 || user name: a sealed secret cannot be moved to another user. */
static size_t make_aad(const char *name, uint8_t *aad, size_t cap)
{
    size_t l = sizeof AAD_LABEL, n = strlen(name);
    if (l + n > cap)
        return 0;
    memcpy(aad, AAD_LABEL, l);
    memcpy(aad + l, name, n);
    return l + n;
}

/* blob = 0 || secret, or 1 || nonce || ciphertext || tag. */
static ward_err seal(ward_identity *db, const char *name, const uint8_t *secret, size_t len,
                     uint8_t blob[BLOB_MAX], size_t *blob_len)
{
    if (len == 0 || len > SECRET_MAX)
        return ward_err_set(WARD_ERR_INVALID_ARG, "totp: bad secret length");
    if (!db->has_key) {
        blob[0] = BLOB_PLAIN;
        memcpy(blob + 1, secret, len);
        *blob_len = 1 + len;
        return WARD_OK;
    }
    uint8_t aad[sizeof AAD_LABEL + WARD_ID_NAME_MAX];
    size_t aad_len = make_aad(name, aad, sizeof aad);
    if (aad_len == 0)
        return ward_err_set(WARD_ERR_INVALID_ARG, "totp: bad name");
    blob[0] = BLOB_SEALED;
    uint8_t *nonce = blob + 1, *ct = nonce + WARD_AEAD_NONCE_LEN, *tag = ct + len;
    ward_err err = ward_random(nonce, WARD_AEAD_NONCE_LEN);
    if (err)
        return err;
    ward_aead *aead = NULL;
    if ((err = ward_aead_new(WARD_AEAD_AES_256_GCM, db->key, WARD_IDENTITY_KEY_LEN, &aead)))
        return err;
    err = ward_aead_seal(aead, nonce, WARD_AEAD_NONCE_LEN, aad, aad_len, secret, len, ct, tag);
    ward_aead_free(aead);
    if (err)
        return err;
    *blob_len = 1 + WARD_AEAD_NONCE_LEN + len + WARD_AEAD_TAG_LEN;
    return WARD_OK;
}

static ward_err unseal(ward_identity *db, const char *name, const uint8_t *blob, size_t blob_len,
                       uint8_t secret[SECRET_MAX], size_t *len)
{
    *len = 0;
    if (blob == NULL || blob_len < 2)
        return ward_err_set(WARD_ERR_FORMAT, "totp: stored secret is malformed");
    if (blob[0] == BLOB_PLAIN) {
        if (db->has_key)
            return ward_err_set(WARD_ERR_FORMAT, "totp: unsealed secret in a keyed database");
        if (blob_len - 1 > SECRET_MAX)
            return ward_err_set(WARD_ERR_FORMAT, "totp: stored secret is malformed");
        memcpy(secret, blob + 1, blob_len - 1);
        *len = blob_len - 1;
        return WARD_OK;
    }
    if (blob[0] != BLOB_SEALED || !db->has_key ||
        blob_len <= 1 + WARD_AEAD_NONCE_LEN + WARD_AEAD_TAG_LEN || blob_len > BLOB_MAX)
        return ward_err_set(WARD_ERR_FORMAT, "totp: stored secret is malformed");
    uint8_t aad[sizeof AAD_LABEL + WARD_ID_NAME_MAX];
    size_t aad_len = make_aad(name, aad, sizeof aad);
    if (aad_len == 0)
        return ward_err_set(WARD_ERR_INVALID_ARG, "totp: bad name");
    size_t ct_len = blob_len - 1 - WARD_AEAD_NONCE_LEN - WARD_AEAD_TAG_LEN;
    const uint8_t *nonce = blob + 1, *ct = nonce + WARD_AEAD_NONCE_LEN, *tag = ct + ct_len;
    ward_aead *aead = NULL;
    ward_err err = ward_aead_new(WARD_AEAD_AES_256_GCM, db->key, WARD_IDENTITY_KEY_LEN, &aead);
    if (err)
        return err;
    err = ward_aead_open(aead, nonce, WARD_AEAD_NONCE_LEN, aad, aad_len, ct, ct_len, tag,
                         secret);
    ward_aead_free(aead);
    if (err)
        return ward_err_set(WARD_ERR_AUTH, "totp: stored secret fails authentication");
    *len = ct_len;
    return WARD_OK;
}

/* A code is exactly `digits` ASCII digits. */
static int parse_code(const char *code, unsigned digits, uint32_t *out)
{
    if (code == NULL || strnlen(code, 16) != digits)
        return 0;
    uint32_t v = 0;
    for (unsigned i = 0; i < digits; i++) {
        if (code[i] < '0' || code[i] > '9')
            return 0;
        v = v * 10 + (uint32_t)(code[i] - '0');
    }
    *out = v;
    return 1;
}

static ward_totp_alg alg_of(int64_t v)
{
    return v == 2 ? WARD_TOTP_SHA256 : v == 3 ? WARD_TOTP_SHA512 : WARD_TOTP_SHA1;
}

/* Which of the steps now-1, now, now+1 the code matches: *step the latest step after `last`
 * it matches (or -1), *stale 1 if it matches only a step already used. All three are computed
 * and compared whatever matches. */
static ward_err match_code(const uint8_t *secret, size_t len, ward_totp_alg alg,
                           unsigned digits, unsigned period, int64_t now, const char *code,
                           int64_t last, int64_t *step, int *stale)
{
    *step = -1;
    *stale = 0;
    uint32_t given = 0;
    int ok_format = parse_code(code, digits, &given);
    if (now < 0 || period == 0)
        return ward_err_set(WARD_ERR_STATE, "totp: clock before 1970");
    int64_t cur = now / (int64_t)period;
    for (int64_t s = cur - 1; s <= cur + 1; s++) {
        if (s < 0)
            continue;
        uint32_t want = 0;
        ward_err err = ward_hotp(alg, secret, len, (uint64_t)s, digits, &want);
        if (err)
            return err;
        int eq = ward_ct_equal(&want, &given, sizeof want) & ok_format;
        if (eq && s > last)
            *step = s;
        else if (eq)
            *stale = 1;
        want = 0;
    }
    given = 0;
    return WARD_OK;
}

ward_err wid_totp_active(ward_identity *db, int64_t user_id, int *active)
{
    *active = 0;
    sqlite3_stmt *st;
    ward_err err = wid_prepare(db, "SELECT totp_secret IS NOT NULL FROM users WHERE id = ?1",
                               &st);
    if (err)
        return err;
    sqlite3_bind_int64(st, 1, user_id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *active = sqlite3_column_int(st, 0);
    else if (rc != SQLITE_DONE)
        err = wid_sql_err(db, "read totp");
    sqlite3_finalize(st);
    return err;
}

/* Reads the user's active (pending = 0) or pending secret and parameters. */
static ward_err load_secret(ward_identity *db, int64_t user_id, const char *name, int pending,
                            uint8_t secret[SECRET_MAX], size_t *len, ward_totp_alg *alg,
                            unsigned *digits, unsigned *period, int64_t *last)
{
    *len = 0;
    sqlite3_stmt *st;
    ward_err err = wid_prepare(db, pending
                                       ? "SELECT totp_pending, totp_alg, totp_digits, "
                                         "totp_period, totp_last_step FROM users WHERE id = ?1"
                                       : "SELECT totp_secret, totp_alg, totp_digits, "
                                         "totp_period, totp_last_step FROM users WHERE id = ?1",
                               &st);
    if (err)
        return err;
    sqlite3_bind_int64(st, 1, user_id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) == SQLITE_BLOB) {
        const uint8_t *b = sqlite3_column_blob(st, 0);
        int blen = sqlite3_column_bytes(st, 0);
        *alg = alg_of(sqlite3_column_int64(st, 1));
        int64_t d = sqlite3_column_int64(st, 2), p = sqlite3_column_int64(st, 3);
        *digits = (d >= 6 && d <= 8) ? (unsigned)d : WARD_TOTP_DIGITS;
        *period = (p >= 1 && p <= 300) ? (unsigned)p : WARD_TOTP_PERIOD;
        *last = sqlite3_column_int64(st, 4);
        err = unseal(db, name, b, blen > 0 ? (size_t)blen : 0, secret, len);
    } else if (rc == SQLITE_ROW || rc == SQLITE_DONE) {
        err = ward_err_set(WARD_ERR_STATE, "no %s TOTP secret", pending ? "pending" : "active");
    } else {
        err = wid_sql_err(db, "read totp");
    }
    sqlite3_finalize(st);
    return err;
}

/* Marks step used unless a later or equal one already is (atomic against a concurrent use). */
static ward_err use_step(ward_identity *db, int64_t user_id, int64_t step, int *won)
{
    sqlite3_stmt *st;
    ward_err err = wid_prepare(db, "UPDATE users SET totp_last_step = ?2 "
                                   "WHERE id = ?1 AND totp_last_step < ?2", &st);
    if (err)
        return err;
    sqlite3_bind_int64(st, 1, user_id);
    sqlite3_bind_int64(st, 2, step);
    if ((err = wid_step_done(db, st, "use totp step")))
        return err;
    *won = sqlite3_changes(db->sql) == 1;
    return WARD_OK;
}

ward_err wid_totp_check(ward_identity *db, int64_t user_id, const char *name, const char *code,
                        const char **verdict)
{
    *verdict = "wrong totp code";
    uint8_t secret[SECRET_MAX];
    size_t len = 0;
    /* Initialised: gcc -O3 cannot see that load_secret sets them on success. */
    ward_totp_alg alg = WARD_TOTP_SHA1;
    unsigned digits = 0, period = 0;
    int64_t last = 0, step = -1;
    int stale = 0;
    ward_err err = load_secret(db, user_id, name, 0, secret, &len, &alg, &digits, &period, &last);
    if (err == WARD_ERR_STATE || err == WARD_ERR_FORMAT || err == WARD_ERR_AUTH) {
        /* Nothing usable to check against (removed meanwhile, or a stored secret that fails
         * authentication: moved between users, or tampered with): a denial like any other. */
        *verdict = err == WARD_ERR_STATE ? "no totp" : "unusable totp secret";
        ward_err_clear();
        return WARD_OK;
    }
    if (!err)
        err = match_code(secret, len, alg, digits, period, wid_now(db), code, last, &step,
                         &stale);
    ward_wipe(secret, sizeof secret);
    if (err)
        return err;
    if (step < 0) {
        *verdict = stale ? "totp code replayed" : "wrong totp code";
        return WARD_OK;
    }
    int won = 0;
    if ((err = use_step(db, user_id, step, &won)))
        return err;
    *verdict = won ? NULL : "totp code replayed";
    return WARD_OK;
}

/* ---- enrolment ------------------------------------------------------------------------------ */

/* Percent-encodes s (RFC 3986 unreserved characters kept) into out (cap bytes). */
static int pct(const char *s, char *out, size_t cap)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        int keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   c == '-' || c == '.' || c == '_' || c == '~';
        if (o + (keep ? 1 : 3) >= cap)
            return 0;
        if (keep) {
            out[o++] = (char)c;
        } else {
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    out[o] = '\0';
    return 1;
}

ward_err ward_identity_totp_enroll(ward_identity *db, const char *name, char **secret_b32,
                                   char **uri)
{
    if (db == NULL || secret_b32 == NULL || uri == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "identity: NULL argument");
    *secret_b32 = NULL;
    *uri = NULL;
    int64_t uid = 0;
    ward_err err = wid_user_id(db, name, &uid);
    if (err)
        return err;
    ward_identity_settings s;
    if ((err = wid_load_settings(db, &s)))
        return err;
    uint8_t secret[WARD_TOTP_SECRET_LEN];
    uint8_t blob[BLOB_MAX];
    size_t blob_len = 0;
    char *b32 = NULL, *u = NULL;
    size_t b32_len = 0;
    if ((err = ward_random(secret, sizeof secret)))
        goto out;
    if ((err = seal(db, name, secret, sizeof secret, blob, &blob_len)))
        goto out;
    if ((err = ward_base32_encode(secret, sizeof secret, 0, &b32, &b32_len)))
        goto out;
    char issuer[3 * sizeof s.totp_issuer + 1], label[3 * (WARD_ID_NAME_MAX + 1) + 1];
    if (!pct(s.totp_issuer, issuer, sizeof issuer) || !pct(name, label, sizeof label)) {
        err = ward_err_set(WARD_ERR_OVERFLOW, "totp: label too long");
        goto out;
    }
    size_t cap = 128 + 2 * strlen(issuer) + strlen(label) + b32_len;
    if ((u = malloc(cap)) == NULL) {
        err = ward_err_set(WARD_ERR_NOMEM, "identity: out of memory");
        goto out;
    }
    int n = snprintf(u, cap, "otpauth://totp/%s:%s?secret=%s&issuer=%s&algorithm=SHA1&digits=%d"
                             "&period=%d", issuer, label, b32, issuer, WARD_TOTP_DIGITS,
                     WARD_TOTP_PERIOD);
    if (n < 0 || (size_t)n >= cap) {
        err = ward_err_set(WARD_ERR_OVERFLOW, "totp: URI too long");
        goto out;
    }
    sqlite3_stmt *st;
    if ((err = wid_prepare(db, "UPDATE users SET totp_pending = ?2, updated = ?3 WHERE id = ?1",
                           &st)))
        goto out;
    sqlite3_bind_int64(st, 1, uid);
    wid_bind_blob(st, 2, blob, blob_len);
    sqlite3_bind_int64(st, 3, wid_now(db));
    if ((err = wid_step_done(db, st, "store totp")))
        goto out;
    wid_mgmt_event(db, "totp.enroll", name);
    *secret_b32 = b32;
    *uri = u;
    b32 = u = NULL;
out:
    ward_wipe(secret, sizeof secret);
    ward_wipe(blob, sizeof blob);
    if (b32) {
        ward_wipe(b32, strlen(b32));
        free(b32);
    }
    if (u) {
        ward_wipe(u, strlen(u));
        free(u);
    }
    return err;
}

ward_err ward_identity_totp_confirm(ward_identity *db, const char *name, const char *code)
{
    if (db == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "identity: NULL argument");
    int64_t uid = 0;
    ward_err err = wid_user_id(db, name, &uid);
    if (err)
        return err;
    uint8_t secret[SECRET_MAX];
    size_t len = 0;
    ward_totp_alg alg;
    unsigned digits, period;
    int64_t last, step;
    int stale;
    err = load_secret(db, uid, name, 1, secret, &len, &alg, &digits, &period, &last);
    if (err == WARD_ERR_STATE)
        return ward_err_set(WARD_ERR_STATE, "user '%s' has no pending TOTP enrolment", name);
    /* A new secret starts a new sequence of steps: compare with no step used. */
    if (!err)
        err = match_code(secret, len, WARD_TOTP_SHA1, WARD_TOTP_DIGITS, WARD_TOTP_PERIOD,
                         wid_now(db), code, -1, &step, &stale);
    ward_wipe(secret, sizeof secret);
    if (err)
        return err;
    if (step < 0) {
        wid_event(db, "totp.confirm", "", db->actor, name, 0, "wrong totp code", NULL);
        return ward_err_set(WARD_ERR_AUTH, "wrong TOTP code");
    }
    sqlite3_stmt *st;
    if ((err = wid_prepare(db, "UPDATE users SET totp_secret = totp_pending, "
                               "totp_pending = NULL, totp_alg = 1, totp_digits = ?2, "
                               "totp_period = ?3, totp_last_step = ?4, updated = ?5 "
                               "WHERE id = ?1 AND totp_pending IS NOT NULL", &st)))
        return err;
    sqlite3_bind_int64(st, 1, uid);
    sqlite3_bind_int(st, 2, WARD_TOTP_DIGITS);
    sqlite3_bind_int(st, 3, WARD_TOTP_PERIOD);
    sqlite3_bind_int64(st, 4, step);
    sqlite3_bind_int64(st, 5, wid_now(db));
    if ((err = wid_step_done(db, st, "activate totp")))
        return err;
    if (sqlite3_changes(db->sql) != 1)
        return ward_err_set(WARD_ERR_STATE, "user '%s' has no pending TOTP enrolment", name);
    wid_mgmt_event(db, "totp.confirm", name);
    return WARD_OK;
}

ward_err ward_identity_totp_remove(ward_identity *db, const char *name)
{
    if (db == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "identity: NULL argument");
    int64_t uid = 0;
    ward_err err = wid_user_id(db, name, &uid);
    if (err)
        return err;
    sqlite3_stmt *st;
    if ((err = wid_prepare(db, "UPDATE users SET totp_secret = NULL, totp_pending = NULL, "
                               "totp_last_step = -1, updated = ?2 WHERE id = ?1", &st)))
        return err;
    sqlite3_bind_int64(st, 1, uid);
    sqlite3_bind_int64(st, 2, wid_now(db));
    if ((err = wid_step_done(db, st, "remove totp")))
        return err;
    wid_mgmt_event(db, "totp.remove", name);
    return WARD_OK;
}
