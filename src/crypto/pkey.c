/* Key handles: EC P-256/P-384, Ed25519, X25519 (generate, import, export) and RSA public keys
 * (import only; Ward verifies RSA but never signs with it). Everything goes through the
 * OpenSSL 3.0 provider APIs (EVP_PKEY_fromdata, d2i_PUBKEY, PEM); no low-level key types.
 *
 * Accepted keys are deliberately narrow:
 *   - EC keys must use a named curve (P-256 or P-384), never explicit parameters, and public
 *     points must be uncompressed, so that the DER SubjectPublicKeyInfo -- whose SHA-256 is a
 *     key's identity throughout Ward -- has exactly one encoding per key;
 *   - DER input must be canonical: it is re-encoded and compared byte for byte;
 *   - RSA keys are public, 2048..16384 bits, with an odd exponent >= 3. */
#include <limits.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/pkey_internal.h"
#include "ward/crypto.h"

#define EC_MAX_COORD 48
#define EC_MAX_POINT (1 + 2 * EC_MAX_COORD)
#define RAW_25519_LEN 32
#define RSA_MIN_BITS 2048
#define RSA_MAX_BITS 16384

ward_pkey *ward_pkey_wrap(EVP_PKEY *pkey)
{
    if (pkey == NULL)
        return NULL;
    ward_pkey *k = malloc(sizeof *k);
    if (k == NULL) {
        EVP_PKEY_free(pkey);
        return NULL;
    }
    k->pkey = pkey;
    return k;
}

void ward_pkey_free(ward_pkey *key)
{
    if (key == NULL)
        return;
    /* OpenSSL's key managers clear private scalars and seeds when the key is freed. */
    EVP_PKEY_free(key->pkey);
    free(key);
}

/* Wraps pkey into *out; pkey is consumed either way. */
static ward_err wrap_out(EVP_PKEY *pkey, ward_pkey **out, const char *what)
{
    ward_pkey *k = ward_pkey_wrap(pkey);
    if (k == NULL)
        return ward_err_set(WARD_ERR_NOMEM, "%s: out of memory for the key handle", what);
    *out = k;
    return WARD_OK;
}

/* ---- type detection ----------------------------------------------------------------------- */

static ward_key_type ec_curve_type(const EVP_PKEY *pkey)
{
    char name[64];
    size_t name_len = 0;
    if (EVP_PKEY_get_group_name(pkey, name, sizeof name, &name_len) != 1)
        return WARD_KEY_NONE;
    int nid = OBJ_txt2nid(name);
    if (nid == NID_undef)
        nid = EC_curve_nist2nid(name);
    if (nid == NID_X9_62_prime256v1)
        return WARD_KEY_EC_P256;
    if (nid == NID_secp384r1)
        return WARD_KEY_EC_P384;
    return WARD_KEY_NONE;
}

static ward_key_type type_of(const EVP_PKEY *pkey)
{
    if (pkey == NULL)
        return WARD_KEY_NONE;
    ward_key_type t = WARD_KEY_NONE;
    ERR_set_mark();
    if (EVP_PKEY_is_a(pkey, "EC"))
        t = ec_curve_type(pkey);
    else if (EVP_PKEY_is_a(pkey, "ED25519"))
        t = WARD_KEY_ED25519;
    else if (EVP_PKEY_is_a(pkey, "X25519"))
        t = WARD_KEY_X25519;
    else if (EVP_PKEY_is_a(pkey, "RSA"))
        t = WARD_KEY_RSA;
    ERR_pop_to_mark();
    return t;
}

ward_key_type ward_pkey_type(const ward_pkey *key)
{
    return key == NULL ? WARD_KEY_NONE : type_of(key->pkey);
}

static const char *type_name(ward_key_type t)
{
    switch (t) {
    case WARD_KEY_EC_P256: return "EC P-256";
    case WARD_KEY_EC_P384: return "EC P-384";
    case WARD_KEY_ED25519: return "Ed25519";
    case WARD_KEY_X25519: return "X25519";
    case WARD_KEY_RSA: return "RSA";
    case WARD_KEY_NONE: break;
    }
    return "unknown";
}

/* OpenSSL's group name and byte length of a field element, for the EC types. */
static const char *ec_group_name(ward_key_type t, size_t *coord_len)
{
    switch (t) {
    case WARD_KEY_EC_P256: *coord_len = 32; return "P-256";
    case WARD_KEY_EC_P384: *coord_len = 48; return "P-384";
    default: break;
    }
    *coord_len = 0;
    return NULL;
}

static int has_private(const EVP_PKEY *pkey, ward_key_type t)
{
    int ret = 0;
    ERR_set_mark();
    switch (t) {
    case WARD_KEY_EC_P256:
    case WARD_KEY_EC_P384: {
        BIGNUM *d = NULL;
        ret = EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_PRIV_KEY, &d) == 1 && d != NULL;
        BN_clear_free(d);
        break;
    }
    case WARD_KEY_ED25519:
    case WARD_KEY_X25519: {
        size_t n = 0;
        ret = EVP_PKEY_get_raw_private_key(pkey, NULL, &n) == 1 && n > 0;
        break;
    }
    case WARD_KEY_RSA: {
        BIGNUM *d = NULL;
        ret = EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_D, &d) == 1 && d != NULL;
        BN_clear_free(d);
        break;
    }
    case WARD_KEY_NONE: break;
    }
    ERR_pop_to_mark();
    return ret;
}

int ward_pkey_is_private(const ward_pkey *key)
{
    if (key == NULL || key->pkey == NULL)
        return 0;
    return has_private(key->pkey, type_of(key->pkey));
}

/* The policy every imported key passes: a supported type, named curves with uncompressed
 * points, sane RSA sizes, no RSA private keys, consistent EC key pairs. */
static ward_err check_key(EVP_PKEY *pkey, const char *what)
{
    ward_key_type t = type_of(pkey);
    if (t == WARD_KEY_NONE) {
        const char *name = EVP_PKEY_get0_type_name(pkey);
        return ward_err_set(WARD_ERR_UNSUPPORTED,
                            "%s: unsupported key type or curve (%s); Ward takes EC P-256/P-384, "
                            "Ed25519, X25519 and RSA", what, name != NULL ? name : "?");
    }
    if (t == WARD_KEY_EC_P256 || t == WARD_KEY_EC_P384) {
        char enc[32];
        size_t n = 0;
        ERR_set_mark();
        int ok = EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_EC_ENCODING, enc,
                                                sizeof enc, &n) == 1 &&
                 strcmp(enc, OSSL_PKEY_EC_ENCODING_GROUP) == 0;
        ERR_pop_to_mark();
        if (!ok)
            return ward_err_set(WARD_ERR_UNSUPPORTED,
                                "%s: EC key with explicit curve parameters (only named curves)",
                                what);
        ERR_set_mark();
        ok = EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
                                            enc, sizeof enc, &n) == 1 &&
             strcmp(enc, OSSL_PKEY_EC_POINT_CONVERSION_FORMAT_UNCOMPRESSED) == 0;
        ERR_pop_to_mark();
        if (!ok)
            return ward_err_set(WARD_ERR_UNSUPPORTED,
                                "%s: EC public point is not in uncompressed form", what);
        EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
        if (ctx == NULL)
            return ward_err_ossl(WARD_ERR_NOMEM, "%s: cannot create a key check context", what);
        int pub_ok = EVP_PKEY_public_check(ctx);
        int pair_ok = pub_ok == 1 && (!has_private(pkey, t) || EVP_PKEY_pairwise_check(ctx) == 1);
        EVP_PKEY_CTX_free(ctx);
        if (pub_ok != 1)
            return ward_err_ossl(WARD_ERR_FORMAT, "%s: EC public key is not a valid point", what);
        if (!pair_ok)
            return ward_err_ossl(WARD_ERR_FORMAT,
                                 "%s: EC private key does not match its public key", what);
    } else if (t == WARD_KEY_RSA) {
        if (has_private(pkey, t))
            return ward_err_set(WARD_ERR_UNSUPPORTED,
                                "%s: RSA private keys are not supported (Ward only verifies RSA)",
                                what);
        int bits = EVP_PKEY_get_bits(pkey);
        if (bits < RSA_MIN_BITS || bits > RSA_MAX_BITS)
            return ward_err_set(WARD_ERR_UNSUPPORTED,
                                "%s: RSA modulus of %d bits (need %d..%d)", what, bits,
                                RSA_MIN_BITS, RSA_MAX_BITS);
        BIGNUM *e = NULL;
        BIGNUM *n = NULL;
        ERR_set_mark();
        int ok = EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &e) == 1 &&
                 EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &n) == 1 && e != NULL &&
                 n != NULL && BN_is_odd(e) && !BN_is_one(e) && !BN_is_negative(e) &&
                 BN_is_odd(n) && BN_cmp(e, n) < 0;
        ERR_pop_to_mark();
        BN_free(e);
        BN_free(n);
        if (!ok)
            return ward_err_set(WARD_ERR_FORMAT,
                                "%s: RSA public key has an even modulus or a bad exponent", what);
    }
    return WARD_OK;
}

/* Checks pkey, then wraps it into *out; pkey is consumed either way. */
static ward_err checked_out(EVP_PKEY *pkey, ward_pkey **out, const char *what)
{
    ward_err rc = check_key(pkey, what);
    if (rc != WARD_OK) {
        EVP_PKEY_free(pkey);
        return rc;
    }
    return wrap_out(pkey, out, what);
}

/* ---- generation --------------------------------------------------------------------------- */

ward_err ward_pkey_generate(ward_key_type type, ward_pkey **out)
{
    if (out == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "generate key: NULL output");
    *out = NULL;
    EVP_PKEY *pkey = NULL;
    size_t coord_len = 0;
    switch (type) {
    case WARD_KEY_EC_P256:
    case WARD_KEY_EC_P384:
        pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", ec_group_name(type, &coord_len));
        break;
    case WARD_KEY_ED25519:
        pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
        break;
    case WARD_KEY_X25519:
        pkey = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
        break;
    case WARD_KEY_RSA:
        return ward_err_set(WARD_ERR_UNSUPPORTED,
                            "generate key: RSA keys are not generated (Ward only verifies RSA)");
    default:
        return ward_err_set(WARD_ERR_INVALID_ARG, "generate key: unknown key type %d",
                            (int)type);
    }
    if (pkey == NULL)
        return ward_err_ossl(WARD_ERR_CRYPTO, "generate key: %s key generation failed",
                             type_name(type));
    return wrap_out(pkey, out, "generate key");
}

/* ---- import ------------------------------------------------------------------------------- */

/* Parses a DER SubjectPublicKeyInfo that must fill exactly len bytes, checks it against the
 * key policy, then checks that it is canonical. The policy comes first so that, say, explicit
 * curve parameters are reported as such rather than as an encoding difference. */
static ward_err parse_spki(const uint8_t *der, size_t len, EVP_PKEY **out, const char *what)
{
    if (len > LONG_MAX || len > INT_MAX)
        return ward_err_set(WARD_ERR_OVERFLOW, "%s: SubjectPublicKeyInfo too long (%zu bytes)",
                            what, len);
    const unsigned char *p = der;
    EVP_PKEY *pkey = d2i_PUBKEY(NULL, &p, (long)len);
    if (pkey == NULL)
        return ward_err_ossl(WARD_ERR_FORMAT, "%s: cannot parse DER SubjectPublicKeyInfo", what);
    if (p != der + len) {
        EVP_PKEY_free(pkey);
        return ward_err_set(WARD_ERR_FORMAT,
                            "%s: trailing bytes after the SubjectPublicKeyInfo", what);
    }
    ward_err rc = check_key(pkey, what);
    if (rc != WARD_OK) {
        EVP_PKEY_free(pkey);
        return rc;
    }
    /* Re-encode and compare: BER variants of the same key would give it several identities. */
    unsigned char *re = NULL;
    int re_len = i2d_PUBKEY(pkey, &re);
    int same = re_len > 0 && (size_t)re_len == len && memcmp(re, der, len) == 0;
    OPENSSL_free(re);
    if (re_len <= 0) {
        EVP_PKEY_free(pkey);
        return ward_err_ossl(WARD_ERR_FORMAT, "%s: cannot re-encode the public key", what);
    }
    if (!same) {
        EVP_PKEY_free(pkey);
        return ward_err_set(WARD_ERR_FORMAT,
                            "%s: SubjectPublicKeyInfo is not canonical DER", what);
    }
    *out = pkey;
    return WARD_OK;
}

ward_err ward_pkey_from_spki_der(const uint8_t *der, size_t len, ward_pkey **out)
{
    static const char what[] = "SubjectPublicKeyInfo import";
    if (out == NULL || der == NULL || len == 0)
        return ward_err_set(WARD_ERR_INVALID_ARG, "%s: NULL or empty argument", what);
    *out = NULL;
    EVP_PKEY *pkey = NULL;
    ward_err rc = parse_spki(der, len, &pkey, what);
    if (rc != WARD_OK)
        return rc;
    return wrap_out(pkey, out, what);
}

/* Private key DER: PKCS#8 PrivateKeyInfo or SEC1 ECPrivateKey. */
static ward_err parse_private_der(const unsigned char *der, long len, int sec1, EVP_PKEY **out)
{
    const unsigned char *p = der;
    EVP_PKEY *pkey = sec1 ? d2i_PrivateKey_ex(EVP_PKEY_EC, NULL, &p, len, NULL, NULL)
                          : d2i_AutoPrivateKey_ex(NULL, &p, len, NULL, NULL);
    if (pkey == NULL)
        return ward_err_ossl(WARD_ERR_FORMAT, "PEM import: cannot parse the %s private key",
                             sec1 ? "SEC1 EC" : "PKCS#8");
    if (p != der + len) {
        EVP_PKEY_free(pkey);
        return ward_err_set(WARD_ERR_FORMAT, "PEM import: trailing bytes after the private key");
    }
    *out = pkey;
    return WARD_OK;
}

ward_err ward_pkey_from_pem(const char *pem, size_t len, ward_pkey **out)
{
    static const char what[] = "PEM import";
    if (out == NULL || pem == NULL || len == 0)
        return ward_err_set(WARD_ERR_INVALID_ARG, "%s: NULL or empty argument", what);
    *out = NULL;
    if (len > INT_MAX)
        return ward_err_set(WARD_ERR_OVERFLOW, "%s: input too long (%zu bytes)", what, len);
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    if (bio == NULL)
        return ward_err_ossl(WARD_ERR_NOMEM, "%s: cannot create a memory BIO", what);

    char *name = NULL;
    char *header = NULL;
    unsigned char *data = NULL;
    long data_len = 0;
    ward_err rc = WARD_OK;
    EVP_PKEY *pkey = NULL;
    if (PEM_read_bio(bio, &name, &header, &data, &data_len) != 1) {
        rc = ward_err_ossl(WARD_ERR_FORMAT, "%s: no PEM block found", what);
        goto done;
    }
    if (header != NULL && header[0] != '\0') {
        rc = ward_err_set(WARD_ERR_UNSUPPORTED,
                          "%s: PEM headers (legacy encryption) are not supported", what);
        goto done;
    }
    if (data_len <= 0) {
        rc = ward_err_set(WARD_ERR_FORMAT, "%s: empty PEM block", what);
        goto done;
    }
    int is_public = strcmp(name, PEM_STRING_PUBLIC) == 0;
    if (is_public) {
        rc = parse_spki(data, (size_t)data_len, &pkey, what); /* checks the policy itself */
    } else if (strcmp(name, PEM_STRING_PKCS8INF) == 0) {
        rc = parse_private_der(data, data_len, 0, &pkey);
    } else if (strcmp(name, PEM_STRING_ECPRIVATEKEY) == 0) {
        rc = parse_private_der(data, data_len, 1, &pkey);
    } else if (strcmp(name, PEM_STRING_PKCS8) == 0) {
        rc = ward_err_set(WARD_ERR_UNSUPPORTED, "%s: encrypted private keys are not supported",
                          what);
    } else {
        rc = ward_err_set(WARD_ERR_UNSUPPORTED, "%s: unsupported PEM type \"%.40s\"", what, name);
    }
    if (rc == WARD_OK) {
        rc = is_public ? wrap_out(pkey, out, what) : checked_out(pkey, out, what);
        pkey = NULL;
    }

done:
    EVP_PKEY_free(pkey);
    if (data != NULL && data_len > 0)
        OPENSSL_cleanse(data, (size_t)data_len);
    OPENSSL_free(data);
    OPENSSL_free(name);
    OPENSSL_free(header);
    BIO_free(bio);
    return rc;
}

/* An EVP_PKEY from an OSSL_PARAM_BLD; selection is EVP_PKEY_PUBLIC_KEY or EVP_PKEY_KEYPAIR. */
static ward_err from_params(const char *alg, OSSL_PARAM_BLD *bld, int selection, EVP_PKEY **out,
                            const char *what)
{
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    if (params == NULL)
        return ward_err_ossl(WARD_ERR_NOMEM, "%s: cannot build key parameters", what);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, alg, NULL);
    ward_err rc = WARD_OK;
    *out = NULL;
    if (ctx == NULL) {
        rc = ward_err_ossl(WARD_ERR_CRYPTO, "%s: %s unavailable", what, alg);
    } else if (EVP_PKEY_fromdata_init(ctx) != 1) {
        rc = ward_err_ossl(WARD_ERR_CRYPTO, "%s: cannot initialise key import", what);
    } else if (EVP_PKEY_fromdata(ctx, out, selection, params) != 1) {
        *out = NULL;
        rc = ward_err_ossl(WARD_ERR_FORMAT, "%s: the key is not valid", what);
    }
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params); /* clears private material */
    return rc;
}

static ward_err ec_from_point(ward_key_type type, const uint8_t *point, size_t point_len,
                              const BIGNUM *priv, EVP_PKEY **out, const char *what)
{
    size_t coord_len = 0;
    const char *group = ec_group_name(type, &coord_len);
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    if (bld == NULL)
        return ward_err_ossl(WARD_ERR_NOMEM, "%s: out of memory", what);
    ward_err rc;
    if (OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) != 1 ||
        OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, point_len) != 1 ||
        (priv != NULL && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, priv) != 1))
        rc = ward_err_ossl(WARD_ERR_NOMEM, "%s: cannot build key parameters", what);
    else
        rc = from_params("EC", bld, priv != NULL ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, out,
                         what);
    OSSL_PARAM_BLD_free(bld);
    return rc;
}

ward_err ward_pkey_from_raw_public(ward_key_type type, const uint8_t *raw, size_t len,
                                   ward_pkey **out)
{
    static const char what[] = "raw public key import";
    if (out == NULL || raw == NULL || len == 0)
        return ward_err_set(WARD_ERR_INVALID_ARG, "%s: NULL or empty argument", what);
    *out = NULL;
    EVP_PKEY *pkey = NULL;
    switch (type) {
    case WARD_KEY_EC_P256:
    case WARD_KEY_EC_P384: {
        size_t coord_len = 0;
        (void)ec_group_name(type, &coord_len);
        if (len != 1 + 2 * coord_len || raw[0] != 0x04)
            return ward_err_set(WARD_ERR_FORMAT,
                                "%s: %s public key must be an uncompressed point of %zu bytes "
                                "(0x04||X||Y), got %zu bytes", what, type_name(type),
                                1 + 2 * coord_len, len);
        ward_err rc = ec_from_point(type, raw, len, NULL, &pkey, what);
        if (rc != WARD_OK)
            return rc;
        break;
    }
    case WARD_KEY_ED25519:
    case WARD_KEY_X25519:
        if (len != RAW_25519_LEN)
            return ward_err_set(WARD_ERR_FORMAT, "%s: %s public key must be %d bytes, got %zu",
                                what, type_name(type), RAW_25519_LEN, len);
        pkey = EVP_PKEY_new_raw_public_key_ex(NULL, type == WARD_KEY_ED25519 ? "ED25519" :
                                              "X25519", NULL, raw, len);
        if (pkey == NULL)
            return ward_err_ossl(WARD_ERR_FORMAT, "%s: %s public key rejected", what,
                                 type_name(type));
        break;
    case WARD_KEY_RSA:
        return ward_err_set(WARD_ERR_INVALID_ARG,
                            "%s: RSA has no raw form; use ward_pkey_from_rsa_public", what);
    default:
        return ward_err_set(WARD_ERR_INVALID_ARG, "%s: unknown key type %d", what, (int)type);
    }
    return checked_out(pkey, out, what);
}

/* d*G for the EC scalar in priv, as an uncompressed point in point (1 + 2*coord_len bytes).
 * Uses the EC_GROUP/EC_POINT arithmetic API, which OpenSSL 3.0 keeps (only EC_KEY is
 * deprecated); the scalar is range-checked first. */
static ward_err ec_public_from_private(ward_key_type type, const BIGNUM *priv, uint8_t *point,
                                       size_t point_len, const char *what)
{
    int nid = type == WARD_KEY_EC_P256 ? NID_X9_62_prime256v1 : NID_secp384r1;
    EC_GROUP *group = EC_GROUP_new_by_curve_name_ex(NULL, NULL, nid);
    EC_POINT *pub = NULL;
    BN_CTX *bnctx = NULL;
    ward_err rc = WARD_OK;
    if (group == NULL || (pub = EC_POINT_new(group)) == NULL ||
        (bnctx = BN_CTX_secure_new()) == NULL) {
        rc = ward_err_ossl(WARD_ERR_NOMEM, "%s: cannot set up the curve", what);
        goto done;
    }
    const BIGNUM *order = EC_GROUP_get0_order(group);
    if (order == NULL || BN_is_zero(priv) || BN_is_negative(priv) || BN_cmp(priv, order) >= 0) {
        rc = ward_err_set(WARD_ERR_FORMAT, "%s: %s private scalar is out of range [1, n-1]",
                          what, type_name(type));
        goto done;
    }
    if (EC_POINT_mul(group, pub, priv, NULL, NULL, bnctx) != 1) {
        rc = ward_err_ossl(WARD_ERR_CRYPTO, "%s: cannot derive the public point", what);
        goto done;
    }
    if (EC_POINT_point2oct(group, pub, POINT_CONVERSION_UNCOMPRESSED, point, point_len, bnctx) !=
        point_len)
        rc = ward_err_ossl(WARD_ERR_CRYPTO, "%s: cannot encode the public point", what);
done:
    BN_CTX_free(bnctx);
    EC_POINT_free(pub);
    EC_GROUP_free(group);
    return rc;
}

ward_err ward_pkey_from_raw_private(ward_key_type type, const uint8_t *raw, size_t len,
                                    ward_pkey **out)
{
    static const char what[] = "raw private key import";
    if (out == NULL || raw == NULL || len == 0)
        return ward_err_set(WARD_ERR_INVALID_ARG, "%s: NULL or empty argument", what);
    *out = NULL;
    EVP_PKEY *pkey = NULL;
    switch (type) {
    case WARD_KEY_EC_P256:
    case WARD_KEY_EC_P384: {
        size_t coord_len = 0;
        (void)ec_group_name(type, &coord_len);
        if (len != coord_len)
            return ward_err_set(WARD_ERR_FORMAT, "%s: %s private scalar must be %zu bytes, got %zu",
                                what, type_name(type), coord_len, len);
        BIGNUM *d = BN_secure_new();
        if (d == NULL)
            return ward_err_ossl(WARD_ERR_NOMEM, "%s: out of memory", what);
        BN_set_flags(d, BN_FLG_CONSTTIME);
        uint8_t point[EC_MAX_POINT];
        size_t point_len = 1 + 2 * coord_len;
        ward_err rc = WARD_OK;
        if (BN_bin2bn(raw, (int)len, d) == NULL) /* len <= 48 */
            rc = ward_err_ossl(WARD_ERR_NOMEM, "%s: out of memory", what);
        if (rc == WARD_OK)
            rc = ec_public_from_private(type, d, point, point_len, what);
        if (rc == WARD_OK)
            rc = ec_from_point(type, point, point_len, d, &pkey, what);
        BN_clear_free(d);
        if (rc != WARD_OK)
            return rc;
        break;
    }
    case WARD_KEY_ED25519:
    case WARD_KEY_X25519:
        if (len != RAW_25519_LEN)
            return ward_err_set(WARD_ERR_FORMAT, "%s: %s private key must be %d bytes, got %zu",
                                what, type_name(type), RAW_25519_LEN, len);
        /* OpenSSL derives and stores the public key. */
        pkey = EVP_PKEY_new_raw_private_key_ex(NULL, type == WARD_KEY_ED25519 ? "ED25519" :
                                               "X25519", NULL, raw, len);
        if (pkey == NULL)
            return ward_err_ossl(WARD_ERR_FORMAT, "%s: %s private key rejected", what,
                                 type_name(type));
        break;
    case WARD_KEY_RSA:
        return ward_err_set(WARD_ERR_UNSUPPORTED,
                            "%s: RSA private keys are not supported (Ward only verifies RSA)",
                            what);
    default:
        return ward_err_set(WARD_ERR_INVALID_ARG, "%s: unknown key type %d", what, (int)type);
    }
    return checked_out(pkey, out, what);
}

ward_err ward_pkey_from_rsa_public(const uint8_t *n, size_t n_len, const uint8_t *e, size_t e_len,
                                   ward_pkey **out)
{
    static const char what[] = "RSA public key import";
    if (out == NULL || n == NULL || e == NULL || n_len == 0 || e_len == 0)
        return ward_err_set(WARD_ERR_INVALID_ARG, "%s: NULL or empty argument", what);
    *out = NULL;
    /* Leading zero bytes (as in DER integers) are allowed; the check below bounds the value. */
    if (n_len > RSA_MAX_BITS / 8 + 1 || e_len > RSA_MAX_BITS / 8 + 1 || n_len > INT_MAX ||
        e_len > INT_MAX)
        return ward_err_set(WARD_ERR_OVERFLOW, "%s: modulus or exponent too long", what);
    BIGNUM *bn_n = BN_bin2bn(n, (int)n_len, NULL);
    BIGNUM *bn_e = BN_bin2bn(e, (int)e_len, NULL);
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    EVP_PKEY *pkey = NULL;
    ward_err rc;
    if (bn_n == NULL || bn_e == NULL || bld == NULL ||
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) != 1 ||
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e) != 1)
        rc = ward_err_ossl(WARD_ERR_NOMEM, "%s: cannot build key parameters", what);
    else
        rc = from_params("RSA", bld, EVP_PKEY_PUBLIC_KEY, &pkey, what);
    OSSL_PARAM_BLD_free(bld);
    BN_free(bn_n);
    BN_free(bn_e);
    if (rc != WARD_OK)
        return rc;
    return checked_out(pkey, out, what);
}

/* ---- export ------------------------------------------------------------------------------- */

static ward_err spki_encode(const EVP_PKEY *pkey, uint8_t **der, size_t *len, const char *what)
{
    unsigned char *buf = NULL;
    int n = i2d_PUBKEY(pkey, &buf);
    if (n <= 0)
        return ward_err_ossl(WARD_ERR_CRYPTO, "%s: cannot encode the SubjectPublicKeyInfo", what);
    uint8_t *copy = malloc((size_t)n);
    if (copy == NULL) {
        OPENSSL_free(buf);
        return ward_err_set(WARD_ERR_NOMEM, "%s: out of memory", what);
    }
    memcpy(copy, buf, (size_t)n);
    OPENSSL_free(buf);
    *der = copy;
    *len = (size_t)n;
    return WARD_OK;
}

ward_err ward_pkey_spki_der(const ward_pkey *key, uint8_t **der, size_t *len)
{
    if (key == NULL || key->pkey == NULL || der == NULL || len == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "SubjectPublicKeyInfo export: NULL argument");
    *der = NULL;
    *len = 0;
    return spki_encode(key->pkey, der, len, "SubjectPublicKeyInfo export");
}

ward_err ward_pkey_spki_sha256(const ward_pkey *key, uint8_t out[WARD_SHA256_LEN])
{
    static const char what[] = "key identity";
    if (key == NULL || key->pkey == NULL || out == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "%s: NULL argument", what);
    uint8_t *der = NULL;
    size_t len = 0;
    ward_err rc = spki_encode(key->pkey, &der, &len, what);
    if (rc != WARD_OK)
        return rc;
    unsigned int md_len = 0;
    int ok = EVP_Digest(der, len, out, &md_len, EVP_sha256(), NULL) == 1 &&
             md_len == WARD_SHA256_LEN;
    free(der);
    if (!ok)
        return ward_err_ossl(WARD_ERR_CRYPTO, "%s: SHA-256 failed", what);
    return WARD_OK;
}

ward_err ward_pkey_public_only(const ward_pkey *key, ward_pkey **out)
{
    static const char what[] = "public key copy";
    if (key == NULL || key->pkey == NULL || out == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "%s: NULL argument", what);
    *out = NULL;
    unsigned char *buf = NULL;
    int n = i2d_PUBKEY(key->pkey, &buf);
    if (n <= 0)
        return ward_err_ossl(WARD_ERR_CRYPTO, "%s: cannot encode the public key", what);
    const unsigned char *p = buf;
    EVP_PKEY *pub = d2i_PUBKEY(NULL, &p, n);
    OPENSSL_free(buf);
    if (pub == NULL)
        return ward_err_ossl(WARD_ERR_CRYPTO, "%s: cannot decode the public key", what);
    return wrap_out(pub, out, what);
}

/* Copies a memory BIO's contents into a malloc'd NUL-terminated string. */
static ward_err bio_to_string(BIO *bio, char **pem, size_t *len, const char *what)
{
    BUF_MEM *mem = NULL;
    if (BIO_get_mem_ptr(bio, &mem) != 1 || mem == NULL || mem->length == 0)
        return ward_err_ossl(WARD_ERR_CRYPTO, "%s: PEM encoding is empty", what);
    if (mem->length > SIZE_MAX - 1)
        return ward_err_set(WARD_ERR_OVERFLOW, "%s: PEM too long", what);
    char *s = malloc(mem->length + 1);
    if (s == NULL)
        return ward_err_set(WARD_ERR_NOMEM, "%s: out of memory", what);
    memcpy(s, mem->data, mem->length);
    s[mem->length] = '\0';
    *pem = s;
    if (len != NULL)
        *len = mem->length;
    return WARD_OK;
}

ward_err ward_pkey_public_pem(const ward_pkey *key, char **pem, size_t *len)
{
    static const char what[] = "public PEM export";
    if (key == NULL || key->pkey == NULL || pem == NULL || len == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "%s: NULL argument", what);
    *pem = NULL;
    *len = 0;
    BIO *bio = BIO_new(BIO_s_mem());
    if (bio == NULL)
        return ward_err_ossl(WARD_ERR_NOMEM, "%s: cannot create a memory BIO", what);
    ward_err rc;
    if (PEM_write_bio_PUBKEY(bio, key->pkey) != 1)
        rc = ward_err_ossl(WARD_ERR_CRYPTO, "%s: cannot write the PEM", what);
    else
        rc = bio_to_string(bio, pem, len, what);
    BIO_free(bio);
    return rc;
}

ward_err ward_pkey_private_pem(const ward_pkey *key, char **pem, size_t *len)
{
    static const char what[] = "private PEM export";
    if (key == NULL || key->pkey == NULL || pem == NULL || len == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "%s: NULL argument", what);
    *pem = NULL;
    *len = 0;
    if (!ward_pkey_is_private(key))
        return ward_err_set(WARD_ERR_INVALID_ARG, "%s: the key has no private half", what);
    /* A secure-memory BIO: its buffer is cleared when it grows and when it is freed. */
    BIO *bio = BIO_new(BIO_s_secmem());
    if (bio == NULL)
        return ward_err_ossl(WARD_ERR_NOMEM, "%s: cannot create a memory BIO", what);
    ward_err rc;
    /* Unencrypted PKCS#8 ("PRIVATE KEY"). */
    if (PEM_write_bio_PrivateKey(bio, key->pkey, NULL, NULL, 0, NULL, NULL) != 1)
        rc = ward_err_ossl(WARD_ERR_CRYPTO, "%s: cannot write the PEM", what);
    else
        rc = bio_to_string(bio, pem, len, what);
    BIO_free(bio);
    return rc;
}

ward_err ward_pkey_raw_public(const ward_pkey *key, uint8_t *out, size_t *len)
{
    static const char what[] = "raw public key export";
    if (key == NULL || key->pkey == NULL || out == NULL || len == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "%s: NULL argument", what);
    ward_key_type t = type_of(key->pkey);
    size_t need = 0;
    size_t coord_len = 0;
    switch (t) {
    case WARD_KEY_EC_P256:
    case WARD_KEY_EC_P384:
        (void)ec_group_name(t, &coord_len);
        need = 1 + 2 * coord_len;
        break;
    case WARD_KEY_ED25519:
    case WARD_KEY_X25519:
        need = RAW_25519_LEN;
        break;
    default:
        return ward_err_set(WARD_ERR_INVALID_ARG, "%s: %s keys have no raw public form", what,
                            type_name(t));
    }
    if (*len < need) {
        size_t cap = *len;
        *len = need;
        return ward_err_set(WARD_ERR_OVERFLOW, "%s: buffer of %zu bytes, need %zu", what, cap,
                            need);
    }
    if (t == WARD_KEY_ED25519 || t == WARD_KEY_X25519) {
        size_t n = need;
        if (EVP_PKEY_get_raw_public_key(key->pkey, out, &n) != 1 || n != need)
            return ward_err_ossl(WARD_ERR_CRYPTO, "%s: cannot read the public key", what);
        *len = need;
        return WARD_OK;
    }
    /* Build 0x04||X||Y from the coordinates so that the form never depends on how the key
     * was imported. */
    BIGNUM *x = NULL;
    BIGNUM *y = NULL;
    ward_err rc = WARD_OK;
    if (EVP_PKEY_get_bn_param(key->pkey, OSSL_PKEY_PARAM_EC_PUB_X, &x) != 1 ||
        EVP_PKEY_get_bn_param(key->pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &y) != 1) {
        rc = ward_err_ossl(WARD_ERR_CRYPTO, "%s: cannot read the EC public point", what);
    } else {
        out[0] = 0x04;
        if (BN_bn2binpad(x, out + 1, (int)coord_len) != (int)coord_len ||
            BN_bn2binpad(y, out + 1 + coord_len, (int)coord_len) != (int)coord_len)
            rc = ward_err_ossl(WARD_ERR_CRYPTO, "%s: EC coordinate does not fit", what);
        else
            *len = need;
    }
    BN_free(x);
    BN_free(y);
    return rc;
}
