/* Bearer tokens: 32 random bytes shown once as base64url; only their SHA-256 is stored, with an
 * owner, an expiry, a revocation time and the time of last use. */
#include <stdlib.h>
#include <string.h>

#include "ops/identity_internal.h"
#include "ward/crypto.h"
#include "ward/encoding.h"
#include "ward/err.h"

ward_err ward_identity_token_issue(ward_identity *db, const char *name, uint32_t ttl_s,
                                   const char *description, char **token,
                                   char id[WARD_TOKEN_ID_LEN + 1], int64_t *expires)
{
    if (db == NULL || token == NULL || id == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "identity: NULL argument");
    *token = NULL;
    id[0] = '\0';
    if (!wid_valid_display(description))
        return ward_err_set(WARD_ERR_INVALID_ARG,
                            "invalid token description (at most %d bytes of UTF-8, no control "
                            "characters)", WARD_ID_DISPLAY_MAX);
    int64_t uid = 0;
    ward_err err = wid_user_id(db, name, &uid);
    if (err)
        return err;
    ward_identity_settings s;
    if ((err = wid_load_settings(db, &s)))
        return err;
    if (ttl_s == 0)
        ttl_s = s.token_ttl_default_s;
    if (ttl_s > s.token_ttl_max_s)
        return ward_err_set(WARD_ERR_INVALID_ARG, "token lifetime %u s exceeds the maximum %u s",
                            ttl_s, s.token_ttl_max_s);
    uint8_t raw[WARD_TOKEN_BYTES], hash[WARD_SHA256_LEN], idb[WARD_TOKEN_ID_LEN / 2];
    char idhex[WARD_TOKEN_ID_LEN + 1];
    char *text = NULL;
    if ((err = ward_random(raw, sizeof raw)) || (err = ward_random(idb, sizeof idb)) ||
        (err = ward_hash(WARD_HASH_SHA256, raw, sizeof raw, hash)) ||
        (err = ward_base64url_encode(raw, sizeof raw, &text, NULL)))
        goto out;
    wid_hex(idb, sizeof idb, idhex);
    int64_t now = wid_now(db), exp = now + (int64_t)ttl_s;
    sqlite3_stmt *st;
    if ((err = wid_prepare(db, "INSERT INTO tokens(id, user_id, hash, description, created, "
                               "expires) VALUES (?1, ?2, ?3, ?4, ?5, ?6)", &st)))
        goto out;
    wid_bind_text(st, 1, idhex);
    sqlite3_bind_int64(st, 2, uid);
    wid_bind_blob(st, 3, hash, sizeof hash);
    wid_bind_text(st, 4, description ? description : "");
    sqlite3_bind_int64(st, 5, now);
    sqlite3_bind_int64(st, 6, exp);
    if ((err = wid_step_done(db, st, "store token")))
        goto out;
    wid_event(db, "token.issue", "", db->actor, idhex, 1, name, NULL);
    memcpy(id, idhex, sizeof idhex);
    if (expires)
        *expires = exp;
    *token = text;
    text = NULL;
out:
    ward_wipe(raw, sizeof raw);
    ward_wipe(hash, sizeof hash);
    if (text) {
        ward_wipe(text, strlen(text));
        free(text);
    }
    return err;
}

static int valid_token_id(const char *id)
{
    if (id == NULL || strnlen(id, WARD_TOKEN_ID_LEN + 1) != WARD_TOKEN_ID_LEN)
        return 0;
    for (size_t i = 0; i < WARD_TOKEN_ID_LEN; i++)
        if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
            return 0;
    return 1;
}

ward_err ward_identity_token_revoke(ward_identity *db, const char *id)
{
    if (db == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "identity: NULL argument");
    if (!valid_token_id(id))
        return ward_err_set(WARD_ERR_INVALID_ARG, "invalid token id (%d lower-case hex digits)",
                            WARD_TOKEN_ID_LEN);
    sqlite3_stmt *st;
    ward_err err = wid_prepare(db, "UPDATE tokens SET revoked = coalesce(revoked, ?2) "
                                   "WHERE id = ?1", &st);
    if (err)
        return err;
    wid_bind_text(st, 1, id);
    sqlite3_bind_int64(st, 2, wid_now(db));
    if ((err = wid_step_done(db, st, "revoke token")))
        return err;
    if (sqlite3_changes(db->sql) != 1)
        return ward_err_set(WARD_ERR_NOT_FOUND, "no token '%s'", id);
    wid_mgmt_event(db, "token.revoke", id);
    return WARD_OK;
}

static json_t *token_row(ward_identity *db, sqlite3_stmt *st, void *arg, ward_err *err)
{
    (void)db;
    (void)err;
    int64_t now = *(const int64_t *)arg;
    int revoked = sqlite3_column_type(st, 6) != SQLITE_NULL;
    int64_t exp = sqlite3_column_int64(st, 4);
    return json_pack("{s:s, s:s, s:s, s:I, s:I, s:o, s:o, s:s}", "id",
                     (const char *)sqlite3_column_text(st, 0), "user",
                     (const char *)sqlite3_column_text(st, 1), "description",
                     (const char *)sqlite3_column_text(st, 2), "created",
                     (json_int_t)sqlite3_column_int64(st, 3), "expires", (json_int_t)exp,
                     "last_used",
                     sqlite3_column_type(st, 5) == SQLITE_NULL
                         ? json_null()
                         : json_integer((json_int_t)sqlite3_column_int64(st, 5)),
                     "revoked",
                     revoked ? json_integer((json_int_t)sqlite3_column_int64(st, 6)) : json_null(),
                     "state", revoked ? "revoked" : now >= exp ? "expired" : "active");
}

ward_err ward_identity_tokens_json(ward_identity *db, const char *user, json_t **out)
{
    if (db == NULL || out == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "identity: NULL argument");
    *out = NULL;
    if (user != NULL && !ward_id_valid_name(user))
        return ward_err_set(WARD_ERR_INVALID_ARG, "invalid user name");
    int64_t now = wid_now(db);
    return wid_rows_json(db, "SELECT t.id, u.name, t.description, t.created, t.expires, "
                             "t.last_used, t.revoked FROM tokens t JOIN users u "
                             "ON u.id = t.user_id WHERE ?1 IS NULL OR u.name = ?1 "
                             "ORDER BY t.created, t.id",
                         user, "list tokens", token_row, &now, out);
}

ward_err ward_identity_auth_token(ward_identity *db, const char *token,
                                  const ward_auth_ctx *ctx, ward_principal *out)
{
    if (db == NULL || out == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "identity: NULL argument");
    memset(out, 0, sizeof *out);
    static const char action[] = "auth.token";
    ward_identity_settings s;
    char src[WID_SOURCE_MAX + 1];
    ward_err err = wid_auth_begin(db, ctx, action, "token", "", &s, src);
    if (err)
        return err;

    const char *reason = NULL;
    uint8_t *raw = NULL;
    size_t raw_len = 0;
    uint8_t hash[WARD_SHA256_LEN];
    memset(hash, 0, sizeof hash);
    if (token == NULL || strnlen(token, WARD_TOKEN_TEXT_LEN + 1) != WARD_TOKEN_TEXT_LEN ||
        ward_base64url_decode(token, WARD_TOKEN_TEXT_LEN, &raw, &raw_len) != WARD_OK ||
        raw_len != WARD_TOKEN_BYTES) {
        ward_err_clear();
        reason = "malformed token";
    } else if ((err = ward_hash(WARD_HASH_SHA256, raw, raw_len, hash))) {
        goto out;
    }
    char id[WARD_TOKEN_ID_LEN + 1] = "", name[WARD_ID_NAME_MAX + 1] = "";
    int64_t uid = -1;
    if (reason == NULL) {
        sqlite3_stmt *st;
        if ((err = wid_prepare(db, "SELECT t.id, t.user_id, t.hash, t.expires, t.revoked, "
                                   "u.name FROM tokens t JOIN users u ON u.id = t.user_id "
                                   "WHERE t.hash = ?1", &st)))
            goto out;
        wid_bind_blob(st, 1, hash, sizeof hash);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            const void *h = sqlite3_column_blob(st, 2);
            if (h == NULL || sqlite3_column_bytes(st, 2) != WARD_SHA256_LEN ||
                !ward_ct_equal(h, hash, WARD_SHA256_LEN)) {
                reason = "unknown token";
            } else {
                wid_column_text(st, 0, id, sizeof id);
                wid_column_text(st, 5, name, sizeof name);
                uid = sqlite3_column_int64(st, 1);
                if (sqlite3_column_type(st, 4) != SQLITE_NULL)
                    reason = "token revoked";
                else if (wid_now(db) >= sqlite3_column_int64(st, 3))
                    reason = "token expired";
            }
        } else if (rc == SQLITE_DONE) {
            reason = "unknown token";
        } else {
            err = wid_sql_err(db, "look up token");
        }
        sqlite3_finalize(st);
        if (err)
            goto out;
    }
    wid_auth a = {
        .action = action,
        .method = WARD_AUTH_TOKEN,
        .name = name[0] ? name : NULL,
        .user_id = uid,
        .fail_reason = reason,
        .object = id,
        .token_id = id,
        .settings = &s,
    };
    err = wid_auth_finish(db, &a, ctx, out);
    if (!err) {
        sqlite3_stmt *st;
        if (wid_prepare(db, "UPDATE tokens SET last_used = ?2 WHERE id = ?1", &st) == WARD_OK) {
            wid_bind_text(st, 1, id);
            sqlite3_bind_int64(st, 2, out->auth_time);
            if (wid_step_done(db, st, "token last use") != WARD_OK)
                ward_err_clear();
        }
    }
out:
    if (raw) {
        ward_wipe(raw, raw_len);
        free(raw);
    }
    ward_wipe(hash, sizeof hash);
    return err;
}
