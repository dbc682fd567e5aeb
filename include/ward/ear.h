/* EAT Attestation Results (EAR, draft-ietf-rats-ear) as JWTs signed ES256, and JWKs.
 * docs/attestation.md "Policy and results" documents the payload layout.
 *
 * Key rule: a key carried in the JOSE header ("jwk") is NEVER trusted on its own. Verification
 * always needs the caller's key; a header "jwk" is accepted only if it is the same public key,
 * and refused otherwise. */
#ifndef WARD_EAR_H
#define WARD_EAR_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "ward/claims.h"
#include "ward/crypto.h"
#include "ward/err.h"
#include "ward/policy.h"

#ifdef __cplusplus
extern "C" {
#endif

/* eat_profile written by default (the one the Veraison vectors use). */
#define WARD_EAR_PROFILE "tag:github.com,2023:veraison/ear"
/* The submodule Ward writes its appraisal under, and the extension key of its claims. */
#define WARD_EAR_SUBMOD "ward"
#define WARD_EAR_CLAIMS_KEY "ear.ward.claims"
#define WARD_EAR_DEVELOPER "https://ward.invalid/"

#define WARD_EAR_MAX_LEN (64u * 1024u) /* largest compact JWS accepted */
#define WARD_EAR_MAX_SUBMODS 16
#define WARD_EAR_NAME_MAX 63  /* bytes in a submodule name */
#define WARD_EAR_TEXT_MAX 255 /* bytes in profile, verifier-id strings, policy id, kid */

/* ---- signing --------------------------------------------------------------------------------- */

typedef struct ward_ear_sign_opts {
    const char *kid;     /* JOSE "kid", NULL for none */
    const char *submod;  /* submodule name, NULL for WARD_EAR_SUBMOD */
    const char *build;   /* ear.verifier-id build, NULL for "ward <version>" */
    int64_t exp;         /* "exp" claim, 0 for none (must be > iat) */
} ward_ear_sign_opts;

/* Builds and signs an EAR: header {"alg":"ES256","typ":"JWT"[,"kid"]}, payload as documented
 * (eat_profile = profile or WARD_EAR_PROFILE if NULL, iat, ear.verifier-id, eat_nonce when the
 * appraisal's nonce is 8..64 bytes, submods {submod: {ear.status, ear.trustworthiness-vector,
 * ear.appraisal-policy-id, ear.ward.claims}}). verifier_key: EC P-256 private key. The payload
 * is serialised with RFC 8785 (JCS). *jwt is malloc'd, NUL-terminated; *jwt_len may be NULL. */
ward_err ward_ear_sign(const ward_appraisal *appraisal, const ward_claims *claims,
                       const ward_pkey *verifier_key, int64_t iat, const char *profile,
                       char **jwt, size_t *jwt_len);
ward_err ward_ear_sign_ex(const ward_appraisal *appraisal, const ward_claims *claims,
                          const ward_pkey *verifier_key, int64_t iat, const char *profile,
                          const ward_ear_sign_opts *opts, char **jwt, size_t *jwt_len);

/* ---- verification ---------------------------------------------------------------------------- */

typedef struct ward_ear_submod {
    char name[WARD_EAR_NAME_MAX + 1];
    ward_ear_status status;
    int has_tv;                /* 1 if ear.trustworthiness-vector was present */
    ward_trust_vector tv;      /* absent claims are 0 */
    char policy_id[WARD_EAR_TEXT_MAX + 1]; /* "" if absent */
    int has_claims;            /* 1 if Ward's claims extension was present (then parsed) */
    ward_claims claims;
    uint8_t nonce[WARD_NONCE_MAX_LEN]; /* the "nonce" of Ward's claims extension */
    size_t nonce_len;
} ward_ear_submod;

typedef struct ward_ear_result {
    char profile[WARD_EAR_TEXT_MAX + 1];
    int64_t iat;
    int has_exp, has_nbf;
    int64_t exp, nbf;
    char developer[WARD_EAR_TEXT_MAX + 1]; /* ear.verifier-id */
    char build[WARD_EAR_TEXT_MAX + 1];
    char kid[WARD_EAR_TEXT_MAX + 1];       /* "" if the header had none */
    int header_jwk;                        /* 1 if the header carried a jwk (equal to the key) */
    ward_ear_status status;                /* the worst ear.status over the submods */
    size_t n_submods;
    ward_ear_submod submods[WARD_EAR_MAX_SUBMODS];
    json_t *payload; /* the whole claims-set (a reference the result owns), for extensions */
} ward_ear_result;

/* Verifies a compact JWS EAR with the caller's key (EC P-256 with ES256, or P-384 with ES384;
 * never HMAC, never "none"), then checks the claims-set:
 *  - exactly three base64url (unpadded, canonical) parts, none empty, nothing after them;
 *  - header: a JSON object, "alg" equal to the key's algorithm, "typ" absent or "JWT", no
 *    "crit", a "jwk" only if equal to the key;
 *  - payload: a JSON object with eat_profile (string), iat (integer), ear.verifier-id
 *    {developer, build} (strings), submods (non-empty object) whose members each have a valid
 *    ear.status, an optional trustworthiness vector of the eight known claims (integers in
 *    -128..127), an optional appraisal policy id, and Ward's claims extension if present;
 *  - time: now < exp if exp is present, now >= nbf if nbf is present, iat <= now + 60.
 * On success *out is filled (release with ward_ear_result_free); on failure *out holds nothing
 * to free and the error says which check failed (WARD_ERR_FORMAT, WARD_ERR_UNSUPPORTED for an
 * algorithm, WARD_ERR_VERIFY for a bad signature, key mismatch or time). */
ward_err ward_ear_verify(const char *jwt, size_t len, const ward_pkey *verifier_pub, int64_t now,
                         ward_ear_result *out);
/* The same with the key given as JWK JSON text. */
ward_err ward_ear_verify_jwk(const char *jwt, size_t len, const char *jwk_json, size_t jwk_len,
                             int64_t now, ward_ear_result *out);
void ward_ear_result_free(ward_ear_result *r);

/* ---- JWK (RFC 7517/7518) ------------------------------------------------------------------- */

/* Parses a public JWK: kty "EC" with crv "P-256" or "P-384" and x, y (base64url, exact coordinate
 * length, point on the curve), or kty "RSA" with n, e. "alg", "use", "kid", "key_ops" are
 * allowed; a private member ("d", "p", ...) is refused so that secrets never travel this way. */
ward_err ward_jwk_parse(const char *json, size_t len, ward_pkey **out);
ward_err ward_jwk_from_json(const json_t *jwk, ward_pkey **out);
/* Public JWK of an EC P-256/P-384 key: {"crv","kty","x","y"} in RFC 8785 order (the RFC 7638
 * thumbprint input). *json malloc'd, NUL-terminated. */
ward_err ward_jwk_export(const ward_pkey *key, char **json, size_t *json_len);

#ifdef __cplusplus
}
#endif
#endif
