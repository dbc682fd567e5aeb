/* Known-answer tests. The expected values are from the published specifications named at each
 * check; the full vector suites live in tests/, these are the quick power-on subset. */
#include "ward/selftest.h"

#include <stdlib.h>
#include <string.h>

#include "ward/crypto.h"
#include "ward/encoding.h"
#include "ward/hpke.h"
#include "ward/json.h"
#include "ward/stream.h"

/* Hex to a caller buffer of exactly n bytes; the constants below are well-formed. */
static ward_err unhex(const char *hex, uint8_t *out, size_t n)
{
    return ward_hex_decode_fixed(hex, strlen(hex), out, n);
}

static ward_err expect(const uint8_t *got, const char *want_hex, size_t n, const char *what)
{
    uint8_t want[128];
    if (n > sizeof want)
        return ward_err_set(WARD_ERR_INVALID_ARG, "%s: expected value too long", what);
    ward_err err = unhex(want_hex, want, n);
    if (err)
        return err;
    if (!ward_ct_equal(got, want, n))
        return ward_err_set(WARD_ERR_VERIFY, "%s: output differs from the known answer", what);
    return WARD_OK;
}

/* FIPS 180-4 example "abc". */
static ward_err kat_sha256(void)
{
    uint8_t d[WARD_SHA256_LEN];
    ward_err err = ward_hash(WARD_HASH_SHA256, "abc", 3, d);
    return err ? err
               : expect(d, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
                        sizeof d, "SHA-256");
}

/* RFC 4231 test case 2. */
static ward_err kat_hmac(void)
{
    static const char msg[] = "what do ya want for nothing?";
    uint8_t d[WARD_SHA256_LEN];
    ward_err err = ward_hmac(WARD_HASH_SHA256, (const uint8_t *)"Jefe", 4, msg, strlen(msg), d);
    return err ? err
               : expect(d, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
                        sizeof d, "HMAC-SHA-256");
}

/* RFC 5869 A.1. */
static ward_err kat_hkdf(void)
{
    uint8_t ikm[22], salt[13], info[10], okm[42];
    memset(ikm, 0x0b, sizeof ikm);
    for (size_t i = 0; i < sizeof salt; i++)
        salt[i] = (uint8_t)i;
    for (size_t i = 0; i < sizeof info; i++)
        info[i] = (uint8_t)(0xf0 + i);
    ward_err err = ward_hkdf(WARD_HASH_SHA256, salt, sizeof salt, ikm, sizeof ikm, info,
                             sizeof info, okm, sizeof okm);
    return err ? err
               : expect(okm,
                        "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
                        "34007208d5b887185865",
                        sizeof okm, "HKDF-SHA-256");
}

/* The GCM specification (McGrew and Viega), test case 14: AES-256, zero key, IV and block.
 * Also checks that a flipped tag bit is refused and the output wiped. */
static ward_err kat_aes_gcm(void)
{
    uint8_t key[32] = {0}, iv[12] = {0}, pt[16] = {0}, ct[16], tag[16], back[16];
    ward_aead *a = NULL;
    ward_err err = ward_aead_new(WARD_AEAD_AES_256_GCM, key, sizeof key, &a);
    if (!err)
        err = ward_aead_seal(a, iv, sizeof iv, NULL, 0, pt, sizeof pt, ct, tag);
    if (!err)
        err = expect(ct, "cea7403d4d606b6e074ec5d3baf39d18", 16, "AES-256-GCM ciphertext");
    if (!err)
        err = expect(tag, "d0d1c8a799996bf0265b98b5d48ab919", 16, "AES-256-GCM tag");
    if (!err) {
        tag[0] ^= 1;
        memset(back, 0xaa, sizeof back);
        if (ward_aead_open(a, iv, sizeof iv, NULL, 0, ct, sizeof ct, tag, back) != WARD_ERR_AUTH)
            err = ward_err_set(WARD_ERR_VERIFY, "AES-256-GCM: altered tag accepted");
        else if (back[0] != 0 || memcmp(back, back + 1, sizeof back - 1) != 0)
            err = ward_err_set(WARD_ERR_VERIFY, "AES-256-GCM: plaintext released on failure");
    }
    ward_aead_free(a);
    return err;
}

/* RFC 7748 section 6.1. */
static ward_err kat_x25519(void)
{
    uint8_t a_sk[32], b_pk[32], a_pk[32], shared[32];
    ward_err err = unhex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
                         a_sk, 32);
    if (!err)
        err = unhex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f", b_pk,
                    32);
    if (!err)
        err = ward_x25519_public(a_sk, a_pk);
    if (!err)
        err = expect(a_pk, "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a", 32,
                     "X25519 public key");
    if (!err)
        err = ward_x25519(a_sk, b_pk, shared);
    if (!err)
        err = expect(shared,
                     "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742", 32,
                     "X25519 shared secret");
    ward_wipe(a_sk, sizeof a_sk);
    ward_wipe(shared, sizeof shared);
    return err;
}

/* RFC 9180 A.1.1 (base mode, AES-128-GCM), sequence number 0, and the recipient side. */
static ward_err kat_hpke(void)
{
    uint8_t ikm_e[32], ikm_r[32], sk_r[32], pk_r[32], enc[32], ct[45], pt[29];
    static const char info[] = "Ode on a Grecian Urn";
    static const char aad[] = "Count-0";
    static const char msg[] = "Beauty is truth, truth beauty";
    ward_hpke_ctx *s = NULL, *r = NULL;
    ward_err err = unhex("7268600d403fce431561aef583ee1613527cff655c1343f29812e66706df3234",
                         ikm_e, 32);
    if (!err)
        err = unhex("6db9df30aa07dd42ee5e8181afdb977e538f5e1fec8a06223f33f7013e525037", ikm_r,
                    32);
    if (!err)
        err = ward_hpke_derive_keypair(ikm_r, 32, sk_r, pk_r);
    if (!err)
        err = expect(pk_r, "3948cfe0ad1ddb695d780e59077195da6c56506b027329794ab02bca80815c4d",
                     32, "HPKE DeriveKeyPair");
    if (!err)
        err = ward_hpke_setup_sender_derand(WARD_HPKE_AES_128_GCM, pk_r, (const uint8_t *)info,
                                            strlen(info), ikm_e, 32, enc, &s);
    if (!err)
        err = expect(enc, "37fda3567bdbd628e88668c3c8d7e97d1d1253b6d4ea6d44c150f741f1bf4431",
                     32, "HPKE enc");
    if (!err)
        err = ward_hpke_seal(s, (const uint8_t *)aad, strlen(aad), (const uint8_t *)msg,
                             strlen(msg), ct);
    if (!err)
        err = expect(ct,
                     "f938558b5d72f1a23810b4be2ab4f84331acc02fc97babc53a52ae8218a355a9"
                     "6d8770ac83d07bea87e13c512a",
                     sizeof ct, "HPKE ciphertext");
    if (!err)
        err = ward_hpke_setup_recipient(WARD_HPKE_AES_128_GCM, sk_r, enc, (const uint8_t *)info,
                                        strlen(info), &r);
    if (!err)
        err = ward_hpke_open(r, (const uint8_t *)aad, strlen(aad), ct, sizeof ct, pt);
    if (!err && memcmp(pt, msg, sizeof pt) != 0)
        err = ward_err_set(WARD_ERR_VERIFY, "HPKE: recipient decrypted something else");
    ward_hpke_free(s);
    ward_hpke_free(r);
    ward_wipe(sk_r, sizeof sk_r);
    return err;
}

/* Pairwise consistency: sign and verify with fresh keys; a changed message must fail. */
static ward_err pct_sign(ward_key_type type, const char *what)
{
    ward_pkey *key = NULL;
    uint8_t *sig = NULL;
    size_t sig_len = 0;
    static const char msg[] = "ward self-test";
    ward_err err = ward_pkey_generate(type, &key);
    if (!err)
        err = ward_sign(key, WARD_HASH_SHA256, WARD_SIG_RAW, msg, sizeof msg, &sig, &sig_len);
    if (!err)
        err = ward_verify(key, WARD_HASH_SHA256, WARD_SIG_RAW, msg, sizeof msg, sig, sig_len);
    if (!err && ward_verify(key, WARD_HASH_SHA256, WARD_SIG_RAW, msg, sizeof msg - 1, sig,
                            sig_len) != WARD_ERR_VERIFY)
        err = ward_err_set(WARD_ERR_VERIFY, "%s: signature over another message accepted", what);
    free(sig);
    ward_pkey_free(key);
    return err;
}

static ward_err pct_p256(void) { return pct_sign(WARD_KEY_EC_P256, "ECDSA P-256"); }
static ward_err pct_ed25519(void) { return pct_sign(WARD_KEY_ED25519, "Ed25519"); }

/* Round trip through the stream format, then one flipped ciphertext bit must be refused. */
static ward_err rt_stream(void)
{
    uint8_t sk[32], pk[32], pt[3000];
    uint8_t *ct = NULL, *back = NULL;
    size_t ct_len = 0, back_len = 0;
    static const uint8_t aad[] = "task=selftest slot=0";
    for (size_t i = 0; i < sizeof pt; i++)
        pt[i] = (uint8_t)(i * 7);
    ward_err err = ward_hpke_generate_keypair(sk, pk);
    if (!err)
        err = ward_stream_seal(pk, WARD_STREAM_MIN_CHUNK, aad, sizeof aad, pt, sizeof pt, &ct,
                               &ct_len);
    if (!err)
        err = ward_stream_open(sk, aad, sizeof aad, ct, ct_len, &back, &back_len);
    if (!err && (back_len != sizeof pt || memcmp(back, pt, sizeof pt) != 0))
        err = ward_err_set(WARD_ERR_VERIFY, "stream: round trip changed the data");
    free(back);
    back = NULL;
    if (!err) {
        ct[ct_len - 20] ^= 0x10;
        if (ward_stream_open(sk, aad, sizeof aad, ct, ct_len, &back, &back_len) == WARD_OK)
            err = ward_err_set(WARD_ERR_VERIFY, "stream: altered ciphertext accepted");
        free(back);
    }
    free(ct);
    ward_wipe(sk, sizeof sk);
    return err;
}

/* RFC 8785: members sorted, no whitespace, non-ASCII kept literal; floats refused. */
static ward_err kat_jcs(void)
{
    static const char in[] = "{ \"b\": 1, \"a\": [true, null, \"\\u20ac\\n\"] }";
    static const char want[] = "{\"a\":[true,null,\"\xe2\x82\xac\\n\"],\"b\":1}";
    char *out = NULL;
    size_t len = 0;
    ward_err err = ward_jcs_from_text(in, strlen(in), &out, &len);
    if (!err && (len != strlen(want) || memcmp(out, want, len) != 0))
        err = ward_err_set(WARD_ERR_VERIFY, "JCS: canonical form differs from RFC 8785");
    free(out);
    out = NULL;
    if (!err && ward_jcs_from_text("[1.5]", 5, &out, &len) != WARD_ERR_FORMAT)
        err = ward_err_set(WARD_ERR_VERIFY, "JCS: floating-point number accepted");
    free(out);
    return err;
}

static const struct {
    const char *name;
    ward_err (*fn)(void);
} checks[] = {
    {"sha256", kat_sha256},       {"hmac-sha256", kat_hmac},   {"hkdf-sha256", kat_hkdf},
    {"aes-256-gcm", kat_aes_gcm}, {"x25519", kat_x25519},      {"hpke", kat_hpke},
    {"ecdsa-p256", pct_p256},     {"ed25519", pct_ed25519},    {"stream", rt_stream},
    {"jcs", kat_jcs},
};

ward_err ward_selftest(ward_selftest_cb cb, void *arg)
{
    size_t failed = 0;
    for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++) {
        ward_err_clear();
        ward_err err = checks[i].fn();
        if (err)
            failed++;
        if (cb)
            cb(arg, checks[i].name, err, err ? ward_errmsg() : "");
    }
    if (failed)
        return ward_err_set(WARD_ERR_VERIFY, "self-test: %zu of %zu checks failed", failed,
                            sizeof checks / sizeof checks[0]);
    return WARD_OK;
}
