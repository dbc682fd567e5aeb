/* Identities and authentication (IEEE 2952 5.5.3; issue 8; docs/security.md).
 *
 * One SQLite database, DIR/identity.db in the node data directory, holds users (name, display
 * name, disabled flag, roles), their credentials (Argon2id password hashes, TOTP secrets,
 * bearer tokens stored as SHA-256, mapped certificate keys, attestation bindings), the CA
 * certificates trusted for client certificates, the roles and permissions of include/ward/rbac.h,
 * the settings (hashing cost, rate limits) and the rate-limit counters.
 *
 * Authentication methods: password (+ TOTP second factor), bearer token, X.509 client
 * certificate, attestation result. Each returns WARD_OK and fills a ward_principal, or denies:
 *   WARD_ERR_AUTH   "authentication failed" -- the same text whatever went wrong (unknown user,
 *                   wrong password, wrong/replayed/missing code, disabled user, bad token, ...),
 *                   so that a denial never says whether a user exists; for an unknown user a
 *                   dummy Argon2 verification runs so that the work done is the same.
 *   WARD_ERR_LIMIT  "too many failed authentication attempts; try again later" -- the user name
 *                   or the source address is rate-limited; no credential was checked.
 * Other codes are operational failures (I/O, memory). The detailed reason of a denial goes only
 * to the audit hook (ward_identity_set_audit_hook), never to the caller.
 *
 * A handle is one SQLite connection: use it from one thread at a time (open one per thread;
 * several processes may share the database, which runs in WAL mode). */
#ifndef WARD_IDENTITY_H
#define WARD_IDENTITY_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "ward/claims.h"
#include "ward/err.h"
#include "ward/x509.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ward_identity ward_identity;

/* ---- names ---------------------------------------------------------------------------------- */

/* User and role names: 1..64 bytes of a-z 0-9 . _ - @, starting with a letter or a digit.
 * Permission names: 1..64 bytes of a-z 0-9 _ -, in dot-separated non-empty parts
 * ("task.create"). Anything else (upper case, spaces, quotes, ';', ...) is refused. */
#define WARD_ID_NAME_MAX 64
/* Display names: at most 128 bytes of UTF-8 without control characters. */
#define WARD_ID_DISPLAY_MAX 128
/* Passwords: settings.password_min .. WARD_PASSWORD_MAX bytes (any bytes but NUL). */
#define WARD_PASSWORD_MAX 1024
/* A user has at most this many roles. */
#define WARD_PRINCIPAL_MAX_ROLES 16
/* Bearer tokens. */
#define WARD_TOKEN_BYTES 32
#define WARD_TOKEN_TEXT_LEN 43 /* base64url of 32 bytes, unpadded */
#define WARD_TOKEN_ID_LEN 16   /* lower-case hex of 8 random bytes */

int ward_id_valid_name(const char *name);
int ward_id_valid_perm_name(const char *name);

/* ---- opening -------------------------------------------------------------------------------- */

#define WARD_IDENTITY_FILE "identity.db"
#define WARD_IDENTITY_KEY_LEN 32
/* The label wardd and `ward user` give ward_rot_derive for the secrets key. */
#define WARD_IDENTITY_KEY_LABEL "ward-identity-secrets-v1"

/* Opens DIR/identity.db; with create nonzero, makes DIR (0700) and the database (0600) if
 * absent, else a missing database is WARD_ERR_NOT_FOUND. Refuses (WARD_ERR_PERMISSION) a
 * database file that is not a regular file owned by this user with no group/other access.
 * Migrates an older schema (PRAGMA user_version) in one transaction; refuses a newer one.
 *
 * secrets_key (WARD_IDENTITY_KEY_LEN bytes, or NULL): when given, TOTP secrets are stored
 * encrypted with AES-256-GCM under it (bound to the user name). The database remembers whether
 * it was created with a key (and a check value of it): opening it later with a different key,
 * or without one, or with one when it was made without, is WARD_ERR_AUTH. wardd and the CLI
 * pass ward_rot_derive(rot, WARD_IDENTITY_KEY_LABEL, NULL, 0, key, 32). */
ward_err ward_identity_open(const char *dir, int create, const uint8_t *secrets_key,
                            ward_identity **out);
void ward_identity_close(ward_identity *db);

/* The clock (Unix seconds) used for expiry, TOTP and rate limits; NULL restores time(NULL).
 * Tests inject one. */
typedef int64_t (*ward_identity_clock_fn)(void *arg);
void ward_identity_set_clock(ward_identity *db, ward_identity_clock_fn fn, void *arg);

/* ---- settings (stored in the database) ------------------------------------------------------ */

typedef struct ward_identity_settings {
    /* Argon2id cost of new password hashes (existing hashes keep theirs and are rehashed at the
     * next successful login). Default t = 3, m = 65536 KiB (64 MiB), p = 1 (RFC 9106's second
     * recommendation with one lane: the node has few cores and serves other work). Minimum
     * t = 1, m = 8 KiB * p (libargon2's floor; only for tests), p = 1..16, m <= 4 GiB. */
    uint32_t argon2_t;
    uint32_t argon2_m_kib;
    uint32_t argon2_p;
    /* Passwords shorter than this (bytes) are refused. Default 8 (NIST SP 800-63B), 1..1024. */
    uint32_t password_min;
    /* Rate limits: after user_max_failures failed attempts for one user name within
     * window_s seconds (default 5 in 900 s), or addr_max_failures for one source address
     * (default 20 in 900 s), that name or address is locked for lockout_s seconds (default 300),
     * doubling with each further lockout up to lockout_max_s (default 3600). A lockout count
     * falls back to zero once a whole window passes after a lockout ends. */
    uint32_t user_max_failures;
    uint32_t addr_max_failures;
    uint32_t window_s;
    uint32_t lockout_s;
    uint32_t lockout_max_s;
    /* Bearer tokens: default lifetime 86400 s, longest 31622400 s (366 days). */
    uint32_t token_ttl_default_s;
    uint32_t token_ttl_max_s;
    /* The issuer in otpauth:// URIs: 1..32 bytes of A-Z a-z 0-9 space . _ -; default "Ward". */
    char totp_issuer[33];
} ward_identity_settings;

void ward_identity_settings_default(ward_identity_settings *s);
ward_err ward_identity_get_settings(ward_identity *db, ward_identity_settings *out);
/* Validates every field (WARD_ERR_INVALID_ARG naming it) and stores them all. */
ward_err ward_identity_set_settings(ward_identity *db, const ward_identity_settings *s);

/* ---- the audit hook ------------------------------------------------------------------------- */

/* One event for the audit log: every authentication (success and failure), every permission
 * denial, every change to users, credentials, roles and settings. Never holds a secret: names
 * that fail validation are replaced by "(invalid)" (a mistyped password in a user-name field
 * must not reach the log). Strings are valid only during the call. */
typedef struct ward_identity_event {
    int64_t time;           /* Unix seconds from the database clock */
    const char *actor;      /* who: the authenticated or claimed user, or the configured actor
                               for management (ward_identity_set_actor); "" if none */
    const char *method;     /* "password", "token", "certificate", "attestation", or "" */
    const char *action;     /* "auth.password", "auth.token", "auth.certificate",
                               "auth.attestation", "rbac.check", "user.add", "user.passwd",
                               "user.disable", "user.enable", "user.role.add",
                               "user.role.remove", "totp.enroll", "totp.confirm",
                               "totp.remove", "token.issue", "token.revoke", "cert.map",
                               "cert.unmap", "ca.add", "ca.remove", "crl.add",
                               "crl.remove", "attest.bind",
                               "attest.unbind", "role.add", "role.delete", "role.sensitive",
                               "role.grant", "role.revoke", "perm.add", "settings.set" */
    const char *object;     /* what: target user, token id, permission, role, ...; "" if none */
    int success;            /* 1 success / allowed, 0 failure / denial */
    const char *reason;     /* a failure: why, for auditors ("wrong password", "unknown user",
                               "totp code replayed", "rate limited (address)", "not granted",
                               ...); a management event: its detail (the role or permission
                               concerned, a token's owner, a key hash); else "" */
    const char *source;     /* the caller's address as given in ward_auth_ctx; "" if none */
    const char *request_id; /* as given in ward_auth_ctx; "" if none */
} ward_identity_event;

/* Returns WARD_OK once the event is recorded. Fail closed: a hook failure turns a successful
 * authentication into that error (nobody gets in unaudited); for a denial or a management
 * event the failure is logged (ward_log, error level) and the call's own result stands. */
typedef ward_err (*ward_identity_audit_fn)(void *arg, const ward_identity_event *ev);
/* Installs the hook (NULL removes it). Every event goes through it synchronously. */
void ward_identity_set_audit_hook(ward_identity *db, ward_identity_audit_fn fn, void *arg);
/* The hook that records every event in Ward's audit log (ward/audit.h); audit is the
 * ward_audit * handle. Wiring: ward_identity_set_audit_hook(db, ward_identity_audit_to_log,
 * audit). One durable record (ward_audit_append) per event: actor (or "anonymous"),
 * auth_method (the method, or none), action, object, outcome (success; a failed rbac.check is
 * "denied", any other failed event "failure"), request_id, and details {"reason", "source"}. */
ward_err ward_identity_audit_to_log(void *audit, const ward_identity_event *ev);

/* The actor named in management events (user.add, role.grant, ...): the principal on whose
 * behalf the following calls are made. Default "local" (whoever can open the data directory).
 * NULL restores the default; an invalid name is recorded as "(invalid)". */
void ward_identity_set_actor(ward_identity *db, const char *actor);

/* ---- principals and authentication ------------------------------------------------------------ */

typedef enum ward_auth_method {
    WARD_AUTH_NONE = 0,
    WARD_AUTH_PASSWORD,
    WARD_AUTH_TOKEN,
    WARD_AUTH_CERTIFICATE,
    WARD_AUTH_ATTESTATION
} ward_auth_method;

const char *ward_auth_method_name(ward_auth_method m); /* "password", ... */

/* Who was authenticated, and how. A snapshot: ward_rbac_check reads roles and the disabled
 * flag afresh from the database. */
typedef struct ward_principal {
    char name[WARD_ID_NAME_MAX + 1];
    ward_auth_method method;
    int two_factor; /* a TOTP code was verified in this authentication */
    int strong;     /* strong authentication in IEEE 2952's sense: two factors, or an
                       attestation result from hardware (SGX, TDX, SNP; not debug) */
    int64_t auth_time;
    char token_id[WARD_TOKEN_ID_LEN + 1]; /* WARD_AUTH_TOKEN: the token's id, else "" */
    size_t n_roles;
    char roles[WARD_PRINCIPAL_MAX_ROLES][WARD_ID_NAME_MAX + 1];
} ward_principal;

/* Per-attempt context; every member may be NULL. */
typedef struct ward_auth_ctx {
    const char *source;     /* the client's address, for the per-address rate limit and the
                               audit (at most 128 bytes; longer is cut); NULL or "" = local */
    const char *totp;       /* a TOTP code (the digits), if the client sent one */
    const char *request_id; /* for the audit record */
} ward_auth_ctx;

/* Password (+ TOTP). A user with an active TOTP secret must send a valid code (missing is a
 * denial); a code is accepted for one of the time steps now-1, now, now+1 and only for a step
 * later than the last one accepted for that user (no replay). A user without TOTP
 * authenticates with the password alone (two_factor = 0). */
ward_err ward_identity_auth_password(ward_identity *db, const char *name, const char *password,
                                     size_t password_len, const ward_auth_ctx *ctx,
                                     ward_principal *out);

/* Bearer token (the text ward_identity_token_issue returned). Refused when unknown, expired,
 * revoked or its user is disabled. A valid TOTP code in ctx, if the user has TOTP, makes the
 * principal two-factor; a wrong one is a denial; none is fine (single factor). */
ward_err ward_identity_auth_token(ward_identity *db, const char *token,
                                  const ward_auth_ctx *ctx, ward_principal *out);

/* X.509 client certificate: the chain (leaf + intermediates) must verify at the clock's time
 * to one of the configured CAs (ward_identity_ca_add; a CA may be an intermediate), none of
 * its certificates may be revoked by a loaded CRL (ward_identity_crl_add), the leaf must be
 * fit for client authentication (ward_identity_cert_check), and the leaf's
 * SubjectPublicKeyInfo SHA-256 must be mapped to an enabled user (ward_identity_cert_map). Proof of possession of the key (the TLS handshake) is the
 * caller's. TOTP in ctx as for tokens. */
ward_err ward_identity_auth_cert(ward_identity *db, const ward_cert *leaf,
                                 ward_cert *const *intermediates, size_t n_intermediates,
                                 const ward_auth_ctx *ctx, ward_principal *out);

/* Attestation result: claims already verified by the attestation module (signature, policy,
 * freshness), claiming to be the user `name` (a TA or a node has a user entry too). Succeeds
 * when the user is enabled and one of its bindings (ward_identity_attest_bind) matches the
 * claims. strong = 1 for SGX, TDX, SNP without the debug attribute. */
ward_err ward_identity_auth_attestation(ward_identity *db, const ward_claims *claims,
                                        const char *name, const ward_auth_ctx *ctx,
                                        ward_principal *out);

/* ---- users ----------------------------------------------------------------------------------- */

/* Adds a user with the given roles (least privilege: none by default), atomically.
 * password NULL: no password (token, certificate or attestation only). display may be NULL.
 * WARD_ERR_EXISTS if the name is taken, WARD_ERR_NOT_FOUND for an unknown role,
 * WARD_ERR_INVALID_ARG for a bad name, display name or password length. */
ward_err ward_identity_user_add(ward_identity *db, const char *name, const char *display,
                                const char *password, size_t password_len,
                                const char *const *roles, size_t n_roles);
/* password NULL removes the password. */
ward_err ward_identity_user_set_password(ward_identity *db, const char *name,
                                         const char *password, size_t password_len);
ward_err ward_identity_user_set_disabled(ward_identity *db, const char *name, int disabled);
ward_err ward_identity_user_set_display(ward_identity *db, const char *name,
                                        const char *display);
/* 1 if the user exists, 0 if not; < 0 on error (ward_errmsg). For administration only. */
int ward_identity_user_exists(ward_identity *db, const char *name);
/* A JSON array of users: {name, display, disabled, password (bool), totp ("none", "pending",
 * "active"), roles [..], created, updated}. *out is a new reference. */
ward_err ward_identity_users_json(ward_identity *db, json_t **out);

/* ---- TOTP second factor (RFC 6238) ----------------------------------------------------------- */

typedef enum ward_totp_alg {
    WARD_TOTP_SHA1 = 1, /* RFC 6238's default; what authenticator apps implement */
    WARD_TOTP_SHA256 = 2,
    WARD_TOTP_SHA512 = 3
} ward_totp_alg;

/* HOTP (RFC 4226) value for counter: digits 6..8. */
ward_err ward_hotp(ward_totp_alg alg, const uint8_t *key, size_t key_len, uint64_t counter,
                   unsigned digits, uint32_t *code);
/* TOTP (RFC 6238): counter = floor((unix_time - t0) / period), t0 = 0; unix_time >= 0. */
ward_err ward_totp(ward_totp_alg alg, const uint8_t *key, size_t key_len, int64_t unix_time,
                   unsigned period, unsigned digits, uint32_t *code);

#define WARD_TOTP_SECRET_LEN 20 /* 160 bits, RFC 4226's recommendation for SHA-1 */
#define WARD_TOTP_DIGITS 6
#define WARD_TOTP_PERIOD 30

/* Makes a new random secret for the user (SHA-1, 6 digits, 30 s), pending until confirmed:
 * until then it is not asked for and an active secret, if any, stays in force. *secret_b32
 * (base32, unpadded) and *uri (otpauth://totp/ISSUER:NAME?secret=...) are malloc'd: show them
 * once, then ward_wipe and free them (their length is strlen). */
ward_err ward_identity_totp_enroll(ward_identity *db, const char *name, char **secret_b32,
                                   char **uri);
/* Activates the pending secret if code is valid for it now (±1 step); that step counts as used.
 * WARD_ERR_AUTH for a wrong code, WARD_ERR_STATE if nothing is pending. */
ward_err ward_identity_totp_confirm(ward_identity *db, const char *name, const char *code);
/* Removes the active and pending secrets. */
ward_err ward_identity_totp_remove(ward_identity *db, const char *name);

/* ---- base32 (RFC 4648 section 6) ------------------------------------------------------------ */

/* Upper-case alphabet; pad nonzero: '=' padding to a multiple of 8. *out malloc'd,
 * NUL-terminated. */
ward_err ward_base32_encode(const uint8_t *in, size_t len, int pad, char **out, size_t *out_len);
/* Accepts both cases, with or without correct padding; refuses anything else (spaces too),
 * impossible lengths and non-zero trailing bits. *out malloc'd (never NULL on success). */
ward_err ward_base32_decode(const char *in, size_t len, uint8_t **out, size_t *out_len);

/* ---- bearer tokens ---------------------------------------------------------------------------- */


/* Issues a token for the user valid for ttl_s seconds (0: the default setting; more than the
 * maximum setting is WARD_ERR_INVALID_ARG). *token (WARD_TOKEN_TEXT_LEN chars, malloc'd) is
 * shown once: only its SHA-256 is stored; ward_wipe and free it. id receives its public id.
 * description may be NULL (at most WARD_ID_DISPLAY_MAX bytes). */
ward_err ward_identity_token_issue(ward_identity *db, const char *name, uint32_t ttl_s,
                                   const char *description, char **token,
                                   char id[WARD_TOKEN_ID_LEN + 1], int64_t *expires);
/* Revokes a token by id (idempotent for a revoked one; WARD_ERR_NOT_FOUND if unknown). */
ward_err ward_identity_token_revoke(ward_identity *db, const char *id);
/* JSON array {id, user, description, created, expires, last_used (null if never), revoked
 * (time or null), state ("active", "expired", "revoked")}; user NULL: everyone's. */
ward_err ward_identity_tokens_json(ward_identity *db, const char *user, json_t **out);

/* ---- certificates ---------------------------------------------------------------------------- */

/* Trusts a CA (root or intermediate) for client certificates; WARD_ERR_EXISTS if present.
 * Must be a CA certificate. */
ward_err ward_identity_ca_add(ward_identity *db, const ward_cert *ca);
/* By the SHA-256 fingerprint of the whole certificate. */
ward_err ward_identity_ca_remove(ward_identity *db, const uint8_t fingerprint[WARD_SHA256_LEN]);
/* JSON array {fingerprint (hex), subject, not_after}. */
ward_err ward_identity_cas_json(ward_identity *db, json_t **out);
/* Certificate revocation lists of the trusted CAs. data: one CRL, PEM or DER. It must be
 * signed by a trusted CA (ward_identity_ca_add) whose keyUsage, if present, allows cRLSign;
 * current (thisUpdate <= now < nextUpdate; nextUpdate is required); not a delta CRL. One CRL
 * per CA is kept: a newer one (later thisUpdate) replaces it, an older or equally old one is
 * WARD_ERR_STATE (no rollback to a CRL that omits later revocations). Removing the CA removes
 * its CRL. Once a CA has a CRL, its certificates are checked against it, and when the CRL
 * expires (nextUpdate) every certificate of that CA is refused until a fresh one is loaded:
 * fail closed. A CA without a CRL is not checked for revocation. */
ward_err ward_identity_crl_add(ward_identity *db, const uint8_t *data, size_t len);
ward_err ward_identity_crl_remove(ward_identity *db,
                                  const uint8_t ca_fingerprint[WARD_SHA256_LEN]);
/* JSON array {ca_fingerprint (hex), issuer, this_update, next_update, revoked (count)}. */
ward_err ward_identity_crls_json(ward_identity *db, json_t **out);

/* Why a client certificate chain is not acceptable (ward_identity_cert_check). */
typedef enum ward_cert_problem {
    WARD_CERT_OK = 0,
    WARD_CERT_UNTRUSTED, /* no path to a trusted CA, bad signature, malformed */
    WARD_CERT_REVOKED,   /* listed in its issuer's CRL */
    WARD_CERT_EXPIRED,   /* outside its validity period (or an issuer's) */
    WARD_CERT_CRL_STALE, /* the issuer's CRL is out of date: load a fresh one */
    WARD_CERT_USAGE      /* extendedKeyUsage without clientAuth, or keyUsage without
                            digitalSignature */
} ward_cert_problem;

/* The checks of ward_identity_auth_cert before the key is looked up: usage of the leaf (if it
 * has an extendedKeyUsage it must include clientAuth; if it has a keyUsage it must include
 * digitalSignature), a chain to a trusted CA at the clock's time, and revocation against the
 * loaded CRLs. No audit event, no rate limit: for a TLS layer choosing its alert; the
 * authentication that follows is what is recorded. WARD_OK, or WARD_ERR_VERIFY with *problem
 * and the reason in ward_errmsg(). */
ward_err ward_identity_cert_check(ward_identity *db, const ward_cert *leaf,
                                  ward_cert *const *intermediates, size_t n_intermediates,
                                  ward_cert_problem *problem);

/* Authentication by a key whose possession the caller has proven (a TLS 1.3 handshake with a
 * self-signed certificate: a task participant's identity is its key, with no CA). The key
 * (SHA-256 of its SubjectPublicKeyInfo) must be mapped to an enabled user
 * (ward_identity_cert_map). Method certificate, action auth.certificate; a failure counts
 * against the address as for ward_identity_auth_cert. TOTP in ctx as for tokens. */
ward_err ward_identity_auth_cert_key(ward_identity *db,
                                     const uint8_t spki_sha256[WARD_SHA256_LEN],
                                     const ward_auth_ctx *ctx, ward_principal *out);

/* Maps a certificate's public key (SHA-256 of its DER SubjectPublicKeyInfo) to a user: a
 * re-issued certificate for the same key keeps working; a key maps to one user at most. */
ward_err ward_identity_cert_map(ward_identity *db, const char *name,
                                const uint8_t spki_sha256[WARD_SHA256_LEN]);
ward_err ward_identity_cert_unmap(ward_identity *db,
                                  const uint8_t spki_sha256[WARD_SHA256_LEN]);

/* ---- attestation bindings --------------------------------------------------------------------- */

/* What claims a user (a TA or a node) is accepted for. At least one of measurement or signer
 * is set (length nonzero); every set field must match. */
typedef struct ward_attest_binding {
    ward_tee_kind kind;        /* WARD_TEE_KIND_UNKNOWN: any */
    uint8_t measurement[48];
    size_t measurement_len;    /* 0: any (then signer is required) */
    uint8_t signer[48];
    size_t signer_len;         /* 0: any */
    uint16_t product_id;       /* compared when signer is set */
    uint16_t min_svn;          /* claims.svn must be >= this */
    int allow_debug;           /* accept debug claims (never for production) */
} ward_attest_binding;

ward_err ward_identity_attest_bind(ward_identity *db, const char *name,
                                   const ward_attest_binding *b);
/* Removes all bindings of the user. */
ward_err ward_identity_attest_unbind(ward_identity *db, const char *name);

/* ---- test hooks ------------------------------------------------------------------------------ */

typedef struct ward_identity_stats {
    uint64_t argon2_hashes;        /* passwords hashed */
    uint64_t argon2_verifications; /* verifications against a stored hash */
    uint64_t argon2_dummy;         /* dummy verifications (absent user or password) */
    uint64_t rate_limited;         /* attempts refused by a rate limit unchecked */
} ward_identity_stats;

void ward_identity_get_stats(const ward_identity *db, ward_identity_stats *out);

#ifdef __cplusplus
}
#endif
#endif
