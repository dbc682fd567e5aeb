/* X.509 client certificates (trusted CAs, keys mapped to users) and attestation results
 * (claims matched against a user's bindings) as authentication methods. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/identity_internal.h"
#include "ward/crypto.h"
#include "ward/err.h"
#include "ward/x509.h"

#define MAX_CAS 256
#define MAX_CHAIN 8

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

ward_err ward_identity_ca_remove(ward_identity *db, const uint8_t fingerprint[WARD_SHA256_LEN])
{
    if (db == NULL || fingerprint == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "identity: NULL argument");
    sqlite3_stmt *st;
    ward_err err = wid_prepare(db, "DELETE FROM cas WHERE fingerprint = ?1", &st);
    if (err)
        return err;
    wid_bind_blob(st, 1, fingerprint, WARD_SHA256_LEN);
    if ((err = wid_step_done(db, st, "remove CA")))
        return err;
    if (sqlite3_changes(db->sql) != 1)
        return ward_err_set(WARD_ERR_NOT_FOUND, "no such trusted CA");
    char hex[2 * WARD_SHA256_LEN + 1];
    wid_hex(fingerprint, WARD_SHA256_LEN, hex);
    wid_mgmt_event(db, "ca.remove", hex);
    return WARD_OK;
}

ward_err ward_identity_cas_json(ward_identity *db, json_t **out)
{
    if (db == NULL || out == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "identity: NULL argument");
    *out = NULL;
    json_t *arr = json_array();
    if (arr == NULL)
        return ward_err_set(WARD_ERR_NOMEM, "identity: out of memory");
    sqlite3_stmt *st;
    ward_err err = wid_prepare(db, "SELECT fingerprint, subject, not_after FROM cas "
                                   "ORDER BY subject, fingerprint", &st);
    if (err) {
        json_decref(arr);
        return err;
    }
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        char hex[2 * WARD_SHA256_LEN + 1] = "";
        const uint8_t *fp = sqlite3_column_blob(st, 0);
        if (fp && sqlite3_column_bytes(st, 0) == WARD_SHA256_LEN)
            wid_hex(fp, WARD_SHA256_LEN, hex);
        json_t *c = json_pack("{s:s, s:s, s:I}", "fingerprint", hex, "subject",
                              (const char *)sqlite3_column_text(st, 1), "not_after",
                              (json_int_t)sqlite3_column_int64(st, 2));
        if (c == NULL || json_array_append_new(arr, c) != 0) {
            err = ward_err_set(WARD_ERR_NOMEM, "identity: out of memory");
            break;
        }
    }
    if (!err && rc != SQLITE_DONE)
        err = wid_sql_err(db, "list CAs");
    sqlite3_finalize(st);
    if (err) {
        json_decref(arr);
        return err;
    }
    *out = arr;
    return WARD_OK;
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

ward_err ward_identity_auth_cert(ward_identity *db, const ward_cert *leaf,
                                 ward_cert *const *intermediates, size_t n_intermediates,
                                 const ward_auth_ctx *ctx, ward_principal *out)
{
    if (db == NULL || out == NULL || (intermediates == NULL && n_intermediates != 0))
        return ward_err_set(WARD_ERR_INVALID_ARG, "identity: NULL argument");
    memset(out, 0, sizeof *out);
    static const char action[] = "auth.certificate";
    ward_identity_settings s;
    ward_err err = wid_load_settings(db, &s);
    if (err)
        return err;
    char src[WID_SOURCE_MAX + 1];
    wid_source(ctx, src);
    int locked = 0;
    if ((err = wid_rate_locked(db, WID_RATE_ADDR, src, &locked)))
        return err;
    if (locked)
        return wid_deny_limited(db, action, "certificate", "", WID_RATE_ADDR, ctx);

    const char *reason = NULL;
    char why[256] = "";
    uint8_t spki[WARD_SHA256_LEN];
    char spki_hex[2 * WARD_SHA256_LEN + 1] = "";
    char name[WARD_ID_NAME_MAX + 1] = "";
    int64_t uid = -1;
    ward_cert **cas = NULL;
    size_t n_cas = 0;
    if (leaf == NULL) {
        reason = "no certificate";
    } else if (n_intermediates > MAX_CHAIN) {
        reason = "certificate chain too long";
    } else {
        if ((err = load_cas(db, &cas, &n_cas)))
            return err;
        if (n_cas == 0) {
            reason = "no trusted CA configured";
        } else if (ward_cert_verify_chain(leaf, intermediates, n_intermediates, cas, n_cas,
                                          NULL, 0, wid_now(db), WARD_CHAIN_PARTIAL_OK) !=
                   WARD_OK) {
            snprintf(why, sizeof why, "certificate chain not trusted: %s", ward_errmsg());
            ward_err_clear();
            reason = why;
        } else if ((err = ward_cert_spki_sha256(leaf, spki))) {
            free_certs(cas, n_cas);
            return err;
        }
        free_certs(cas, n_cas);
    }
    if (reason == NULL) {
        wid_hex(spki, sizeof spki, spki_hex);
        sqlite3_stmt *st;
        if ((err = wid_prepare(db, "SELECT u.id, u.name FROM user_certs c JOIN users u "
                                   "ON u.id = c.user_id WHERE c.spki_sha256 = ?1", &st)))
            return err;
        wid_bind_blob(st, 1, spki, sizeof spki);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            uid = sqlite3_column_int64(st, 0);
            wid_column_text(st, 1, name, sizeof name);
        } else if (rc == SQLITE_DONE) {
            reason = "certificate not mapped to a user";
        } else {
            err = wid_sql_err(db, "look up certificate");
        }
        sqlite3_finalize(st);
        if (err)
            return err;
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
    ward_err err = wid_load_settings(db, &s);
    if (err)
        return err;
    char src[WID_SOURCE_MAX + 1];
    wid_source(ctx, src);
    int locked = 0;
    if ((err = wid_rate_locked(db, WID_RATE_ADDR, src, &locked)))
        return err;
    if (locked)
        return wid_deny_limited(db, action, "attestation", wid_safe_name(name), WID_RATE_ADDR,
                                ctx);

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
