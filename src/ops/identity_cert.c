/* X.509 client certificates (trusted CAs, keys mapped to users) and attestation results
 * (claims matched against a user's bindings) as authentication methods. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ops/identity_internal.h"
#include "ward/crypto.h"
#include "ward/err.h"
#include "ward/x509.h"

#define MAX_CAS 256
#define MAX_CHAIN 8
#define MAX_CRL_BYTES ((size_t)16 << 20)

/* ---- trusted CAs ---------------------------------------------------------------------------- */

ward_err ward_identity_ca_add(ward_identity *db, const ward_cert *ca)
{
    if (db == NULL || ca == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "identity: NULL argument");
    if (!ward_cert_is_ca(ca))
        return ward_err_set(WARD_ERR_INVALID_ARG, "not a CA certificate (basicConstraints)");
    uint8_t fp[WARD_SHA256_LEN];
    uint8_t *der = NULL;
    size_t der_len = 0;
    char *subject = NULL;
    int64_t nb = 0, na = 0;
    ward_err err;
    if ((err = ward_cert_fingerprint(ca, fp)) || (err = ward_cert_to_der(ca, &der, &der_len)) ||
        (err = ward_cert_subject(ca, &subject)) || (err = ward_cert_validity(ca, &nb, &na)))
        goto out;
    sqlite3_stmt *st;
    if ((err = wid_prepare(db, "INSERT INTO cas(fingerprint, subject, not_after, der, created) "
                               "VALUES (?1, ?2, ?3, ?4, ?5)", &st)))
        goto out;
    wid_bind_blob(st, 1, fp, sizeof fp);
    wid_bind_text(st, 2, subject);
    sqlite3_bind_int64(st, 3, na);
    wid_bind_blob(st, 4, der, der_len);
    sqlite3_bind_int64(st, 5, wid_now(db));
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
        err = ward_err_set(WARD_ERR_EXISTS, "this CA is already trusted");
        goto out;
    }
    if (rc != SQLITE_DONE) {
        err = wid_sql_err(db, "add CA");
        goto out;
    }
    char hex[2 * WARD_SHA256_LEN + 1];
    wid_hex(fp, sizeof fp, hex);
    wid_mgmt_event(db, "ca.add", hex);
out:
    free(der);
    free(subject);
    return err;
}

/* Deletes the one row a fingerprint names and records the management event. */
static ward_err remove_by_fingerprint(ward_identity *db, const char *sql,
                                      const uint8_t fp[WARD_SHA256_LEN], const char *what,
                                      const char *not_found, const char *event)
{
    sqlite3_stmt *st;
    ward_err err = wid_prepare(db, sql, &st);
    if (err)
        return err;
    wid_bind_blob(st, 1, fp, WARD_SHA256_LEN);
    if ((err = wid_step_done(db, st, what)))
        return err;
    if (sqlite3_changes(db->sql) != 1)
        return ward_err_set(WARD_ERR_NOT_FOUND, "%s", not_found);
    char hex[2 * WARD_SHA256_LEN + 1];
    wid_hex(fp, WARD_SHA256_LEN, hex);
    wid_mgmt_event(db, event, hex);
    return WARD_OK;
}

/* A fingerprint column as hex ("" if the stored value is not a SHA-256). */
static void column_fp_hex(sqlite3_stmt *st, int col, char hex[2 * WARD_SHA256_LEN + 1])
{
    hex[0] = 0;
    const uint8_t *fp = sqlite3_column_blob(st, col);
    if (fp && sqlite3_column_bytes(st, col) == WARD_SHA256_LEN)
        wid_hex(fp, WARD_SHA256_LEN, hex);
}

ward_err ward_identity_ca_remove(ward_identity *db, const uint8_t fingerprint[WARD_SHA256_LEN])
{
    if (db == NULL || fingerprint == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "identity: NULL argument");
    return remove_by_fingerprint(db, "DELETE FROM cas WHERE fingerprint = ?1", fingerprint,
                                 "remove CA", "no such trusted CA", "ca.remove");
}

static json_t *ca_row(ward_identity *db, sqlite3_stmt *st, void *arg, ward_err *err)
{
    (void)db;
    (void)arg;
    (void)err;
    char hex[2 * WARD_SHA256_LEN + 1];
    column_fp_hex(st, 0, hex);
    const char *subject = (const char *)sqlite3_column_text(st, 1);
    return json_pack("{s:s, s:s, s:I}", "fingerprint", hex, "subject", subject ? subject : "",
                     "not_after", (json_int_t)sqlite3_column_int64(st, 2));
}

ward_err ward_identity_cas_json(ward_identity *db, json_t **out)
{
    if (db == NULL || out == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "identity: NULL argument");
    return wid_rows_json(db, "SELECT fingerprint, subject, not_after FROM cas "
                             "ORDER BY subject, fingerprint",
                         NULL, "list CAs", ca_row, NULL, out);
}

/* ---- certificate keys mapped to users ------------------------------------------------------- */

ward_err ward_identity_cert_map(ward_identity *db, const char *name,
                                const uint8_t spki_sha256[WARD_SHA256_LEN])
{
    if (db == NULL || spki_sha256 == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "identity: NULL argument");
    int64_t uid = 0;
    ward_err err = wid_user_id(db, name, &uid);
    if (err)
        return err;
    sqlite3_stmt *st;
    if ((err = wid_prepare(db, "INSERT INTO user_certs(spki_sha256, user_id, created) "
                               "VALUES (?1, ?2, ?3)", &st)))
        return err;
    wid_bind_blob(st, 1, spki_sha256, WARD_SHA256_LEN);
    sqlite3_bind_int64(st, 2, uid);
    sqlite3_bind_int64(st, 3, wid_now(db));
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc == SQLITE_CONSTRAINT_PRIMARYKEY)
        return ward_err_set(WARD_ERR_EXISTS, "this certificate key is already mapped to a user");
    if (rc != SQLITE_DONE)
        return wid_sql_err(db, "map certificate");
    char hex[2 * WARD_SHA256_LEN + 1];
    wid_hex(spki_sha256, WARD_SHA256_LEN, hex);
    wid_event(db, "cert.map", "", db->actor, name, 1, hex, NULL);
    return WARD_OK;
}

ward_err ward_identity_cert_unmap(ward_identity *db, const uint8_t spki_sha256[WARD_SHA256_LEN])
{
    if (db == NULL || spki_sha256 == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "identity: NULL argument");
    sqlite3_stmt *st;
    ward_err err = wid_prepare(db, "DELETE FROM user_certs WHERE spki_sha256 = ?1", &st);
    if (err)
        return err;
    wid_bind_blob(st, 1, spki_sha256, WARD_SHA256_LEN);
    if ((err = wid_step_done(db, st, "unmap certificate")))
        return err;
    if (sqlite3_changes(db->sql) != 1)
        return ward_err_set(WARD_ERR_NOT_FOUND, "this certificate key is not mapped");
    char hex[2 * WARD_SHA256_LEN + 1];
    wid_hex(spki_sha256, WARD_SHA256_LEN, hex);
    wid_mgmt_event(db, "cert.unmap", hex);
    return WARD_OK;
}

static void free_certs(ward_cert **c, size_t n)
{
    for (size_t i = 0; i < n; i++)
        ward_cert_free(c[i]);
    free(c);
}

/* Every trusted CA, parsed. */
static ward_err load_cas(ward_identity *db, ward_cert ***out, size_t *n)
{
    *out = NULL;
    *n = 0;
    ward_cert **cas = calloc(MAX_CAS, sizeof *cas);
    if (cas == NULL)
        return ward_err_set(WARD_ERR_NOMEM, "identity: out of memory");
    sqlite3_stmt *st;
    ward_err err = wid_prepare(db, "SELECT der FROM cas ORDER BY fingerprint", &st);
    if (err) {
        free(cas);
        return err;
    }
    size_t k = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && k < MAX_CAS) {
        const uint8_t *der = sqlite3_column_blob(st, 0);
        int len = sqlite3_column_bytes(st, 0);
        if (der == NULL || len <= 0 || ward_cert_from_der(der, (size_t)len, &cas[k]) != WARD_OK) {
            ward_err_clear();
            continue; /* an unreadable row trusts nothing */
        }
        k++;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        err = wid_sql_err(db, "read CAs");
    sqlite3_finalize(st);
    if (err) {
        free_certs(cas, k);
        return err;
    }
    *out = cas;
    *n = k;
    return WARD_OK;
}

/* Every loaded CRL, parsed. */
static ward_err load_crls(ward_identity *db, ward_crl ***out, size_t *n)
{
    *out = NULL;
    *n = 0;
    ward_crl **crls = calloc(MAX_CAS, sizeof *crls);
    if (crls == NULL)
        return ward_err_set(WARD_ERR_NOMEM, "identity: out of memory");
    sqlite3_stmt *st;
    ward_err err = wid_prepare(db, "SELECT der FROM crls ORDER BY ca_fingerprint", &st);
    if (err) {
        free(crls);
        return err;
    }
    size_t k = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && k < MAX_CAS) {
        const uint8_t *der = sqlite3_column_blob(st, 0);
        int len = sqlite3_column_bytes(st, 0);
        if (der == NULL || len <= 0 || ward_crl_from_der(der, (size_t)len, &crls[k]) != WARD_OK) {
            /* An unreadable CRL must not silently stop revocation checking. */
            err = ward_err_set(WARD_ERR_FORMAT, "identity database: a stored CRL is unreadable");
            break;
        }
        k++;
    }
    if (!err && rc != SQLITE_ROW && rc != SQLITE_DONE)
        err = wid_sql_err(db, "read CRLs");
    sqlite3_finalize(st);
    if (err) {
        for (size_t i = 0; i < k; i++)
            ward_crl_free(crls[i]);
        free(crls);
        return err;
    }
    *out = crls;
    *n = k;
    return WARD_OK;
}

static void free_crls(ward_crl **c, size_t n)
{
    for (size_t i = 0; i < n; i++)
        ward_crl_free(c[i]);
    free(c);
}

static X509 *to_x509(const ward_cert *c)
{
    uint8_t *der = NULL;
    size_t len = 0;
    if (ward_cert_to_der(c, &der, &len) != WARD_OK || len > (size_t)LONG_MAX) {
        free(der);
        return NULL;
    }
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    free(der);
    return x;
}

/* NULL if the leaf may authenticate a TLS client, else why not. */
static const char *usage_problem(const ward_cert *leaf)
{
    X509 *x = to_x509(leaf);
    if (x == NULL) {
        ERR_clear_error();
        return "certificate unreadable";
    }
    uint32_t flags = X509_get_extension_flags(x);
    const char *why = NULL;
    if (flags & EXFLAG_INVALID)
        why = "certificate has malformed extensions";
    else if ((flags & EXFLAG_XKUSAGE) && !(X509_get_extended_key_usage(x) & XKU_SSL_CLIENT))
        why = "certificate not for client authentication (extendedKeyUsage lacks clientAuth)";
    else if ((flags & EXFLAG_KUSAGE) && !(X509_get_key_usage(x) & KU_DIGITAL_SIGNATURE))
        why = "certificate key not for signing (keyUsage lacks digitalSignature)";
    X509_free(x);
    ERR_clear_error();
    return why;
}

static ward_cert_problem classify(const char *msg)
{
    static const struct {
        int code;
        ward_cert_problem p;
    } map[] = {
        {X509_V_ERR_CERT_REVOKED, WARD_CERT_REVOKED},
        {X509_V_ERR_CERT_HAS_EXPIRED, WARD_CERT_EXPIRED},
        {X509_V_ERR_CERT_NOT_YET_VALID, WARD_CERT_EXPIRED},
        {X509_V_ERR_CRL_HAS_EXPIRED, WARD_CERT_CRL_STALE},
        {X509_V_ERR_CRL_NOT_YET_VALID, WARD_CERT_CRL_STALE},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        const char *s = X509_verify_cert_error_string(map[i].code);
        if (s != NULL && strstr(msg, s) != NULL)
            return map[i].p;
    }
    return WARD_CERT_UNTRUSTED;
}

/* Usage, chain, revocation. why (cap bytes) receives the reason when *problem != OK; the
 * return value is an operational error only. */
static ward_err chain_check(ward_identity *db, const ward_cert *leaf,
                            ward_cert *const *intermediates, size_t n_intermediates,
                            ward_cert_problem *problem, char *why, size_t cap)
{
    *problem = WARD_CERT_UNTRUSTED;
    const char *u = usage_problem(leaf);
    if (u != NULL) {
        *problem = WARD_CERT_USAGE;
        snprintf(why, cap, "%s", u);
        return WARD_OK;
    }
    ward_cert **cas = NULL;
    size_t n_cas = 0;
    ward_crl **crls = NULL;
    size_t n_crls = 0;
    ward_err err = load_cas(db, &cas, &n_cas);
    if (!err && (err = load_crls(db, &crls, &n_crls)) != WARD_OK)
        free_certs(cas, n_cas);
    if (err)
        return err;
    if (n_cas == 0) {
        snprintf(why, cap, "no trusted CA configured");
    } else if (ward_cert_verify_chain(leaf, intermediates, n_intermediates, cas, n_cas, crls,
                                      n_crls, wid_now(db), WARD_CHAIN_PARTIAL_OK) != WARD_OK) {
        const char *msg = ward_errmsg();
        *problem = classify(msg);
        snprintf(why, cap, "certificate chain not trusted%s: %s",
                 *problem == WARD_CERT_REVOKED     ? " (certificate revoked)"
                 : *problem == WARD_CERT_EXPIRED   ? " (expired or not yet valid)"
                 : *problem == WARD_CERT_CRL_STALE ? " (CRL out of date: load a fresh one)"
                                                   : "",
                 msg);
        ward_err_clear();
    } else {
        *problem = WARD_CERT_OK;
    }
    free_certs(cas, n_cas);
    free_crls(crls, n_crls);
    return WARD_OK;
}

ward_err ward_identity_cert_check(ward_identity *db, const ward_cert *leaf,
                                  ward_cert *const *intermediates, size_t n_intermediates,
                                  ward_cert_problem *problem)
{
    if (problem != NULL)
        *problem = WARD_CERT_UNTRUSTED;
    if (db == NULL || leaf == NULL || problem == NULL ||
        (intermediates == NULL && n_intermediates != 0))
        return ward_err_set(WARD_ERR_INVALID_ARG, "identity: NULL argument");
    if (n_intermediates > MAX_CHAIN)
        return ward_err_set(WARD_ERR_VERIFY, "certificate chain too long");
    char why[512] = "";
    ward_err err = chain_check(db, leaf, intermediates, n_intermediates, problem, why,
                               sizeof why);
    if (err)
        return err;
    if (*problem != WARD_CERT_OK)
        return ward_err_set(WARD_ERR_VERIFY, "%s", why);
    return WARD_OK;
}

/* The user a key is mapped to: *uid -1 and name "" when none. */
static ward_err mapped_user(ward_identity *db, const uint8_t spki[WARD_SHA256_LEN],
                            int64_t *uid, char name[WARD_ID_NAME_MAX + 1])
{
    *uid = -1;
    name[0] = '\0';
    sqlite3_stmt *st;
    ward_err err = wid_prepare(db, "SELECT u.id, u.name FROM user_certs c JOIN users u "
                                   "ON u.id = c.user_id WHERE c.spki_sha256 = ?1", &st);
    if (err)
        return err;
    wid_bind_blob(st, 1, spki, WARD_SHA256_LEN);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *uid = sqlite3_column_int64(st, 0);
        wid_column_text(st, 1, name, WARD_ID_NAME_MAX + 1);
    } else if (rc != SQLITE_DONE) {
        err = wid_sql_err(db, "look up certificate");
    }
    sqlite3_finalize(st);
    return err;
}

ward_err ward_identity_auth_cert(ward_identity *db, const ward_cert *leaf,
                                 ward_cert *const *intermediates, size_t n_intermediates,
                                 const ward_auth_ctx *ctx, ward_principal *out)
{
    if (db == NULL || out == NULL || (intermediates == NULL && n_intermediates != 0))
        return ward_err_set(WARD_ERR_INVALID_ARG, "identity: NULL argument");
    memset(out, 0, sizeof *out);
    static const char action[] = "auth.certificate";
    ward_identity_settings s;
    char src[WID_SOURCE_MAX + 1];
    ward_err err = wid_auth_begin(db, ctx, action, "certificate", "", &s, src);
    if (err)
        return err;

    const char *reason = NULL;
    char why[512] = "";
    uint8_t spki[WARD_SHA256_LEN];
    char spki_hex[2 * WARD_SHA256_LEN + 1] = "";
    char name[WARD_ID_NAME_MAX + 1] = "";
    int64_t uid = -1;
    if (leaf == NULL) {
        reason = "no certificate";
    } else if (n_intermediates > MAX_CHAIN) {
        reason = "certificate chain too long";
    } else {
        ward_cert_problem problem = WARD_CERT_UNTRUSTED;
        if ((err = chain_check(db, leaf, intermediates, n_intermediates, &problem, why,
                               sizeof why)))
            return err;
        if (problem != WARD_CERT_OK)
            reason = why;
        else if ((err = ward_cert_spki_sha256(leaf, spki)))
            return err;
    }
    if (reason == NULL) {
        wid_hex(spki, sizeof spki, spki_hex);
        if ((err = mapped_user(db, spki, &uid, name)))
            return err;
        if (uid < 0)
            reason = "certificate not mapped to a user";
    }
    wid_auth a = {
        .action = action,
        .method = WARD_AUTH_CERTIFICATE,
        .name = name[0] ? name : NULL,
        .user_id = uid,
        .fail_reason = reason,
        .object = spki_hex,
        .settings = &s,
    };
    return wid_auth_finish(db, &a, ctx, out);
}

ward_err ward_identity_auth_cert_key(ward_identity *db,
                                     const uint8_t spki_sha256[WARD_SHA256_LEN],
                                     const ward_auth_ctx *ctx, ward_principal *out)
{
    if (db == NULL || out == NULL || spki_sha256 == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "identity: NULL argument");
    memset(out, 0, sizeof *out);
    static const char action[] = "auth.certificate";
    ward_identity_settings s;
    char src[WID_SOURCE_MAX + 1];
    ward_err err = wid_auth_begin(db, ctx, action, "certificate", "", &s, src);
    if (err)
        return err;
    char spki_hex[2 * WARD_SHA256_LEN + 1];
    wid_hex(spki_sha256, WARD_SHA256_LEN, spki_hex);
    char name[WARD_ID_NAME_MAX + 1];
    int64_t uid = -1;
    if ((err = mapped_user(db, spki_sha256, &uid, name)))
        return err;
    wid_auth a = {
        .action = action,
        .method = WARD_AUTH_CERTIFICATE,
        .name = name[0] ? name : NULL,
        .user_id = uid,
        .fail_reason = uid < 0 ? "certificate key not mapped to a user" : NULL,
        .object = spki_hex,
        .settings = &s,
    };
    return wid_auth_finish(db, &a, ctx, out);
}

/* ---- CRLs ----------------------------------------------------------------------------------- */

static int64_t asn1_unix(const ASN1_TIME *t)
{
    if (t == NULL)
        return -1;
    ASN1_TIME *epoch = ASN1_TIME_set(NULL, 0);
    int days = 0, secs = 0;
    int ok = epoch != NULL && ASN1_TIME_diff(&days, &secs, epoch, t) == 1;
    ASN1_TIME_free(epoch);
    return ok ? (int64_t)days * 86400 + secs : -1;
}

static X509_CRL *parse_crl(const uint8_t *data, size_t len)
{
    if (len > MAX_CRL_BYTES || len > (size_t)INT_MAX)
        return NULL;
    static const char pem_tag[] = "-----BEGIN";
    const uint8_t *p = data;
    size_t n = len;
    while (n > 0 && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')) {
        p++;
        n--;
    }
    X509_CRL *crl = NULL;
    if (n >= sizeof pem_tag - 1 && memcmp(p, pem_tag, sizeof pem_tag - 1) == 0) {
        BIO *b = BIO_new_mem_buf(data, (int)len);
        crl = b != NULL ? PEM_read_bio_X509_CRL(b, NULL, NULL, NULL) : NULL;
        BIO_free(b);
    } else {
        const unsigned char *q = data;
        crl = d2i_X509_CRL(NULL, &q, (long)len);
        if (crl != NULL && q != data + len) {
            X509_CRL_free(crl);
            crl = NULL;
        }
    }
    ERR_clear_error();
    return crl;
}

/* The trusted CA that signed crl: its fingerprint; WARD_ERR_NOT_FOUND if none. */
static ward_err crl_issuer(ward_identity *db, X509_CRL *crl, uint8_t fp[WARD_SHA256_LEN],
                           int *can_sign_crls)
{
    sqlite3_stmt *st;
    ward_err err = wid_prepare(db, "SELECT fingerprint, der FROM cas ORDER BY fingerprint", &st);
    if (err)
        return err;
    int found = 0, rc = SQLITE_DONE;
    while (!found && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const uint8_t *f = sqlite3_column_blob(st, 0);
        const unsigned char *der = sqlite3_column_blob(st, 1);
        int dl = sqlite3_column_bytes(st, 1);
        if (f == NULL || sqlite3_column_bytes(st, 0) != WARD_SHA256_LEN || der == NULL || dl <= 0)
            continue;
        X509 *ca = d2i_X509(NULL, &der, dl);
        if (ca == NULL)
            continue;
        if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(ca)) == 0 &&
            X509_CRL_verify(crl, X509_get0_pubkey(ca)) == 1) {
            found = 1;
            memcpy(fp, f, WARD_SHA256_LEN);
            *can_sign_crls = !(X509_get_extension_flags(ca) & EXFLAG_KUSAGE) ||
                             (X509_get_key_usage(ca) & KU_CRL_SIGN) != 0;
        }
        X509_free(ca);
    }
    if (!found && rc != SQLITE_DONE)
        err = wid_sql_err(db, "read CAs");
    sqlite3_finalize(st);
    ERR_clear_error();
    if (!err && !found)
        err = ward_err_set(WARD_ERR_NOT_FOUND,
                           "the CRL is not signed by a trusted CA (`ward user ca add` it first)");
    return err;
}

ward_err ward_identity_crl_add(ward_identity *db, const uint8_t *data, size_t len)
{
    if (db == NULL || data == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "identity: NULL argument");
    X509_CRL *crl = parse_crl(data, len);
    if (crl == NULL)
        return ward_err_set(WARD_ERR_FORMAT, "not a CRL (PEM or DER, at most %zu bytes)",
                            MAX_CRL_BYTES);
    ward_err err = WARD_OK;
    unsigned char *der = NULL;
    char *issuer = NULL;
    BIO *bio = NULL;
    int64_t tu = asn1_unix(X509_CRL_get0_lastUpdate(crl));
    int64_t nu = asn1_unix(X509_CRL_get0_nextUpdate(crl));
    int64_t now = wid_now(db);
    if (X509_CRL_get_ext_by_NID(crl, NID_delta_crl, -1) >= 0) {
        err = ward_err_set(WARD_ERR_UNSUPPORTED, "delta CRLs are not supported: load a full CRL");
        goto out;
    }
    if (tu < 0 || nu < 0 || nu <= tu) {
        err = ward_err_set(WARD_ERR_FORMAT, "the CRL needs thisUpdate before nextUpdate");
        goto out;
    }
    if (tu > now || nu <= now) {
        err = ward_err_set(WARD_ERR_STATE, "the CRL is not current (thisUpdate %lld, "
                                           "nextUpdate %lld, now %lld)",
                           (long long)tu, (long long)nu, (long long)now);
        goto out;
    }
    uint8_t fp[WARD_SHA256_LEN];
    int can_sign = 0;
    if ((err = crl_issuer(db, crl, fp, &can_sign)))
        goto out;
    if (!can_sign) {
        err = ward_err_set(WARD_ERR_PERMISSION,
                           "the CRL's issuer may not sign CRLs (keyUsage lacks cRLSign)");
        goto out;
    }
    int der_len = i2d_X509_CRL(crl, &der);
    bio = BIO_new(BIO_s_mem());
    char *text = NULL;
    long tl = 0;
    if (der_len <= 0 || bio == NULL ||
        X509_NAME_print_ex(bio, X509_CRL_get_issuer(crl), 0, XN_FLAG_RFC2253) < 0 ||
        (tl = BIO_get_mem_data(bio, &text)) < 0 || (issuer = malloc((size_t)tl + 1)) == NULL) {
        err = ward_err_set(WARD_ERR_NOMEM, "identity: cannot encode the CRL");
        goto out;
    }
    memcpy(issuer, text, (size_t)tl);
    issuer[tl] = '\0';
    STACK_OF(X509_REVOKED) *rev = X509_CRL_get_REVOKED(crl);
    int n_revoked = rev != NULL ? sk_X509_REVOKED_num(rev) : 0;
    sqlite3_stmt *st;
    if ((err = wid_prepare(db, "INSERT INTO crls(ca_fingerprint, issuer, this_update, "
                               "next_update, revoked, der, created) "
                               "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) "
                               "ON CONFLICT(ca_fingerprint) DO UPDATE SET "
                               "issuer = excluded.issuer, this_update = excluded.this_update, "
                               "next_update = excluded.next_update, revoked = excluded.revoked, "
                               "der = excluded.der, created = excluded.created "
                               "WHERE excluded.this_update > crls.this_update",
                           &st)))
        goto out;
    wid_bind_blob(st, 1, fp, sizeof fp);
    wid_bind_text(st, 2, issuer);
    sqlite3_bind_int64(st, 3, tu);
    sqlite3_bind_int64(st, 4, nu);
    sqlite3_bind_int(st, 5, n_revoked);
    wid_bind_blob(st, 6, der, (size_t)der_len);
    sqlite3_bind_int64(st, 7, now);
    if ((err = wid_step_done(db, st, "add CRL")))
        goto out;
    if (sqlite3_changes(db->sql) != 1) {
        err = ward_err_set(WARD_ERR_STATE,
                           "a CRL of this CA at least as recent is already loaded");
        goto out;
    }
    char hex[2 * WARD_SHA256_LEN + 1];
    wid_hex(fp, sizeof fp, hex);
    wid_mgmt_event(db, "crl.add", hex);
out:
    OPENSSL_free(der);
    free(issuer);
    BIO_free(bio);
    X509_CRL_free(crl);
    ERR_clear_error();
    return err;
}

ward_err ward_identity_crl_remove(ward_identity *db,
                                  const uint8_t ca_fingerprint[WARD_SHA256_LEN])
{
    if (db == NULL || ca_fingerprint == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "identity: NULL argument");
    return remove_by_fingerprint(db, "DELETE FROM crls WHERE ca_fingerprint = ?1",
                                 ca_fingerprint, "remove CRL", "no CRL loaded for this CA",
                                 "crl.remove");
}

static json_t *crl_row(ward_identity *db, sqlite3_stmt *st, void *arg, ward_err *err)
{
    (void)db;
    (void)arg;
    (void)err;
    char hex[2 * WARD_SHA256_LEN + 1];
    column_fp_hex(st, 0, hex);
    const char *iss = (const char *)sqlite3_column_text(st, 1);
    return json_pack("{s:s, s:s, s:I, s:I, s:I}", "ca_fingerprint", hex, "issuer",
                     iss ? iss : "", "this_update", (json_int_t)sqlite3_column_int64(st, 2),
                     "next_update", (json_int_t)sqlite3_column_int64(st, 3), "revoked",
                     (json_int_t)sqlite3_column_int64(st, 4));
}

ward_err ward_identity_crls_json(ward_identity *db, json_t **out)
{
    if (db == NULL || out == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "identity: NULL argument");
    return wid_rows_json(db, "SELECT ca_fingerprint, issuer, this_update, next_update, "
                             "revoked FROM crls ORDER BY issuer, ca_fingerprint",
                         NULL, "list CRLs", crl_row, NULL, out);
}

/* ---- attestation ---------------------------------------------------------------------------- */

ward_err ward_identity_attest_bind(ward_identity *db, const char *name,
                                   const ward_attest_binding *b)
{
    if (db == NULL || b == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "identity: NULL argument");
    if (b->measurement_len > sizeof b->measurement || b->signer_len > sizeof b->signer)
        return ward_err_set(WARD_ERR_INVALID_ARG, "attestation binding: bad length");
    if (b->measurement_len == 0 && b->signer_len == 0)
        return ward_err_set(WARD_ERR_INVALID_ARG,
                            "attestation binding: a measurement or a signer is required");
    if ((int)b->kind < WARD_TEE_KIND_UNKNOWN || (int)b->kind > WARD_TEE_KIND_SNP)
        return ward_err_set(WARD_ERR_INVALID_ARG, "attestation binding: unknown TEE kind");
    int64_t uid = 0;
    ward_err err = wid_user_id(db, name, &uid);
    if (err)
        return err;
    sqlite3_stmt *st;
    if ((err = wid_prepare(db, "INSERT INTO attest_bindings(user_id, kind, measurement, signer, "
                               "product_id, min_svn, allow_debug, created) "
                               "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)", &st)))
        return err;
    sqlite3_bind_int64(st, 1, uid);
    sqlite3_bind_int(st, 2, (int)b->kind);
    wid_bind_blob(st, 3, b->measurement, b->measurement_len);
    wid_bind_blob(st, 4, b->signer, b->signer_len);
    sqlite3_bind_int(st, 5, b->product_id);
    sqlite3_bind_int(st, 6, b->min_svn);
    sqlite3_bind_int(st, 7, b->allow_debug ? 1 : 0);
    sqlite3_bind_int64(st, 8, wid_now(db));
    if ((err = wid_step_done(db, st, "bind attestation")))
        return err;
    wid_mgmt_event(db, "attest.bind", name);
    return WARD_OK;
}

ward_err ward_identity_attest_unbind(ward_identity *db, const char *name)
{
    if (db == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "identity: NULL argument");
    int64_t uid = 0;
    ward_err err = wid_user_id(db, name, &uid);
    if (err)
        return err;
    sqlite3_stmt *st;
    if ((err = wid_prepare(db, "DELETE FROM attest_bindings WHERE user_id = ?1", &st)))
        return err;
    sqlite3_bind_int64(st, 1, uid);
    if ((err = wid_step_done(db, st, "unbind attestation")))
        return err;
    wid_mgmt_event(db, "attest.unbind", name);
    return WARD_OK;
}

static int blob_eq(sqlite3_stmt *st, int col, const uint8_t *v, size_t v_len)
{
    const uint8_t *b = sqlite3_column_blob(st, col);
    int len = sqlite3_column_bytes(st, col);
    if (len <= 0)
        return -1; /* not set: any value */
    return (size_t)len == v_len && b != NULL && ward_ct_equal(b, v, v_len);
}

static int is_hardware(ward_tee_kind k)
{
    return k == WARD_TEE_KIND_SGX || k == WARD_TEE_KIND_TDX || k == WARD_TEE_KIND_SNP;
}

ward_err ward_identity_auth_attestation(ward_identity *db, const ward_claims *claims,
                                        const char *name, const ward_auth_ctx *ctx,
                                        ward_principal *out)
{
    if (db == NULL || out == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "identity: NULL argument");
    memset(out, 0, sizeof *out);
    static const char action[] = "auth.attestation";
    ward_identity_settings s;
    char src[WID_SOURCE_MAX + 1];
    ward_err err = wid_auth_begin(db, ctx, action, "attestation", wid_safe_name(name), &s, src);
    if (err)
        return err;

    const char *reason = NULL;
    int64_t uid = -1;
    if (claims == NULL || claims->measurement_len > sizeof claims->measurement ||
        claims->signer_len > sizeof claims->signer) {
        reason = "malformed claims";
    } else if (!ward_id_valid_name(name)) {
        reason = "invalid user name";
    } else if ((err = wid_user_id(db, name, &uid)) == WARD_ERR_NOT_FOUND) {
        ward_err_clear();
        err = WARD_OK;
        uid = -1;
        reason = "unknown user";
    } else if (err) {
        return err;
    }
    if (reason == NULL) {
        sqlite3_stmt *st;
        if ((err = wid_prepare(db, "SELECT kind, measurement, signer, product_id, min_svn, "
                                   "allow_debug FROM attest_bindings WHERE user_id = ?1", &st)))
            return err;
        sqlite3_bind_int64(st, 1, uid);
        int matched = 0, any = 0, rc;
        while (!matched && (rc = sqlite3_step(st)) == SQLITE_ROW) {
            any = 1;
            int kind = sqlite3_column_int(st, 0);
            int m = blob_eq(st, 1, claims->measurement, claims->measurement_len);
            int sg = blob_eq(st, 2, claims->signer, claims->signer_len);
            int ok = (kind == WARD_TEE_KIND_UNKNOWN || kind == (int)claims->kind) && m != 0 &&
                     sg != 0 && !(m < 0 && sg < 0);
            if (ok && sg > 0)
                ok = sqlite3_column_int(st, 3) == (int)claims->product_id;
            if (ok)
                ok = (int)claims->svn >= sqlite3_column_int(st, 4);
            if (ok && claims->debug)
                ok = sqlite3_column_int(st, 5) != 0;
            matched = ok;
        }
        if (!matched && rc != SQLITE_ROW && rc != SQLITE_DONE)
            err = wid_sql_err(db, "read attestation bindings");
        sqlite3_finalize(st);
        if (err)
            return err;
        if (!matched)
            reason = any ? "claims match no attestation binding" : "no attestation binding";
    }
    wid_auth a = {
        .action = action,
        .method = WARD_AUTH_ATTESTATION,
        .name = name,
        .user_id = uid,
        .fail_reason = reason,
        .strong_first = claims != NULL && is_hardware(claims->kind) && !claims->debug,
        .object = claims ? ward_tee_kind_name(claims->kind) : "",
        .settings = &s,
    };
    return wid_auth_finish(db, &a, ctx, out);
}
