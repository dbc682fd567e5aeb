/* HPKE (RFC 9180): the Appendix A known-answer vectors for DHKEM(X25519, HKDF-SHA256) with
 * HKDF-SHA256 (base mode; psk/auth modes are outside Ward and counted as skipped), plus the
 * behaviour the known answers do not cover: AES-256-GCM, failures and argument errors. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ward/crypto.h"
#include "ward/hpke.h"

/* ---- the vector file ---------------------------------------------------------------------- */

#define MAX_KV 32
#define MAX_ITEMS 16
#define VAL_MAX 1024

typedef struct kv {
    char key[40];
    char val[VAL_MAX];
} kv;

typedef struct item { /* one encryption or one export */
    kv f[6];
    size_t n;
} item;

typedef struct setup {
    kv f[MAX_KV];
    size_t n;
    item enc[MAX_ITEMS];
    size_t n_enc;
    item exp[MAX_ITEMS];
    size_t n_exp;
} setup;

typedef struct vectors {
    setup *s;
    size_t n;
} vectors;

static const char *kv_get(const kv *f, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(f[i].key, key) == 0)
            return f[i].val;
    return NULL;
}

static const char *need(const kv *f, size_t n, const char *key)
{
    const char *v = kv_get(f, n, key);
    if (v == NULL)
        fail_msg("vector lacks %s", key);
    return v;
}

static int is_hex_line(const char *line)
{
    if (*line == '\0')
        return 0;
    for (const char *p = line; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return 0;
    return 1;
}

static void append(char *dst, const char *src)
{
    size_t a = strlen(dst), b = strlen(src);
    assert_true(a + b < VAL_MAX);
    memcpy(dst + a, src, b + 1);
}

/* Format: "## suite" headings, "### <mode> Setup Information" blocks of "key: value" lines,
 * then "#### Encryptions" and "#### Exported Values" lists; long hex values continue on the
 * following lines (lines of hex only). */
static vectors load_vectors(void)
{
    size_t len = 0;
    char *text = (char *)tu_read_file(tu_vector_path("crypto/rfc9180_appendix_x25519_sha256.txt"),
                                      &len);
    vectors v = {calloc(64, sizeof(setup)), 0};
    assert_non_null(v.s);
    enum { NONE, SETUP, ENC, EXP } section = NONE;
    char *last = NULL; /* value that a hex continuation line extends */
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        size_t ll = strlen(line);
        while (ll > 0 && (line[ll - 1] == '\r' || line[ll - 1] == ' '))
            line[--ll] = '\0';
        if (strncmp(line, "### ", 4) == 0) {
            assert_true(v.n < 64);
            v.n++;
            section = SETUP;
            last = NULL;
            continue;
        }
        if (strncmp(line, "#### Encryptions", 16) == 0) {
            section = ENC;
            last = NULL;
            continue;
        }
        if (strncmp(line, "#### Exported", 13) == 0) {
            section = EXP;
            last = NULL;
            continue;
        }
        if (line[0] == '#' || strncmp(line, "~~~", 3) == 0 || section == NONE)
            continue;
        setup *s = &v.s[v.n - 1];
        char *colon = strchr(line, ':');
        if (colon == NULL) {
            if (last != NULL && is_hex_line(line))
                append(last, line);
            continue;
        }
        *colon = '\0';
        const char *val = colon + 1;
        while (*val == ' ')
            val++;
        kv *slot = NULL;
        if (section == SETUP) {
            assert_true(s->n < MAX_KV);
            slot = &s->f[s->n++];
        } else {
            item *list = section == ENC ? s->enc : s->exp;
            size_t *cnt = section == ENC ? &s->n_enc : &s->n_exp;
            const char *first = section == ENC ? "sequence number" : "exporter_context";
            if (strcmp(line, first) == 0) {
                assert_true(*cnt < MAX_ITEMS);
                (*cnt)++;
            }
            assert_true(*cnt > 0);
            item *it = &list[*cnt - 1];
            assert_true(it->n < 6);
            slot = &it->f[it->n++];
        }
        assert_true(strlen(line) < sizeof slot->key);
        strcpy(slot->key, line);
        slot->val[0] = '\0';
        append(slot->val, val);
        last = slot->val;
    }
    free(text);
    return v;
}

static void unhex_fixed(const char *hex, uint8_t *out, size_t want)
{
    size_t n = 0;
    uint8_t *b = tu_unhex(hex, &n);
    assert_int_equal(n, want);
    memcpy(out, b, n);
    free(b);
}

/* Runs one base-mode setup; returns the number of encryptions and exports checked. */
static void run_setup(const setup *s, size_t *n_enc, size_t *n_exp)
{
    ward_hpke_aead aead = (ward_hpke_aead)atoi(need(s->f, s->n, "aead_id"));
    size_t info_len = 0, ikm_e_len = 0, ikm_r_len = 0;
    uint8_t *info = tu_unhex(need(s->f, s->n, "info"), &info_len);
    uint8_t *ikm_e = tu_unhex(need(s->f, s->n, "ikmE"), &ikm_e_len);
    uint8_t *ikm_r = tu_unhex(need(s->f, s->n, "ikmR"), &ikm_r_len);
    uint8_t sk_em[32], pk_em[32], sk_rm[32], pk_rm[32], enc_want[32];
    unhex_fixed(need(s->f, s->n, "skEm"), sk_em, 32);
    unhex_fixed(need(s->f, s->n, "pkEm"), pk_em, 32);
    unhex_fixed(need(s->f, s->n, "skRm"), sk_rm, 32);
    unhex_fixed(need(s->f, s->n, "pkRm"), pk_rm, 32);
    unhex_fixed(need(s->f, s->n, "enc"), enc_want, 32);

    /* DeriveKeyPair */
    uint8_t sk[32], pk[32];
    assert_int_equal(ward_hpke_derive_keypair(ikm_e, ikm_e_len, sk, pk), WARD_OK);
    assert_memory_equal(sk, sk_em, 32);
    assert_memory_equal(pk, pk_em, 32);
    assert_int_equal(ward_hpke_derive_keypair(ikm_r, ikm_r_len, sk, pk), WARD_OK);
    assert_memory_equal(sk, sk_rm, 32);
    assert_memory_equal(pk, pk_rm, 32);

    /* SetupBaseS / SetupBaseR */
    uint8_t enc[32];
    ward_hpke_ctx *snd = NULL, *rcv = NULL;
    assert_int_equal(ward_hpke_setup_sender_derand(aead, pk_rm, info, info_len, ikm_e,
                                                   ikm_e_len, enc, &snd),
                     WARD_OK);
    assert_memory_equal(enc, enc_want, 32);
    assert_int_equal(ward_hpke_setup_recipient(aead, sk_rm, enc, info, info_len, &rcv), WARD_OK);

    /* Encryptions: the vectors skip sequence numbers; fill the gaps with messages of our own
     * that the recipient opens too, so that both sides stay in step. */
    uint64_t seq = 0;
    for (size_t i = 0; i < s->n_enc; i++) {
        const item *it = &s->enc[i];
        uint64_t want_seq = strtoull(need(it->f, it->n, "sequence number"), NULL, 10);
        assert_true(want_seq >= seq);
        for (; seq < want_seq; seq++) {
            uint8_t gap_ct[1 + 16], gap_pt[1];
            assert_int_equal(ward_hpke_seal(snd, NULL, 0, (const uint8_t *)"g", 1, gap_ct),
                             WARD_OK);
            assert_int_equal(ward_hpke_open(rcv, NULL, 0, gap_ct, sizeof gap_ct, gap_pt),
                             WARD_OK);
            assert_int_equal(gap_pt[0], 'g');
        }
        size_t pt_len, aad_len, ct_len;
        uint8_t *pt = tu_unhex(need(it->f, it->n, "pt"), &pt_len);
        uint8_t *aad = tu_unhex(need(it->f, it->n, "aad"), &aad_len);
        uint8_t *ct_want = tu_unhex(need(it->f, it->n, "ct"), &ct_len);
        assert_int_equal(ct_len, pt_len + 16);
        uint8_t *ct = malloc(ct_len);
        uint8_t *back = malloc(pt_len + 1);
        assert_non_null(ct);
        assert_non_null(back);
        assert_int_equal(ward_hpke_seal(snd, aad, aad_len, pt, pt_len, ct), WARD_OK);
        assert_memory_equal(ct, ct_want, ct_len);
        assert_int_equal(ward_hpke_open(rcv, aad, aad_len, ct_want, ct_len, back), WARD_OK);
        assert_memory_equal(back, pt, pt_len);
        seq++;
        (*n_enc)++;
        free(pt);
        free(aad);
        free(ct_want);
        free(ct);
        free(back);
    }

    /* Exports, on both sides. */
    for (size_t i = 0; i < s->n_exp; i++) {
        const item *it = &s->exp[i];
        size_t ctx_len, want_len;
        uint8_t *ectx = tu_unhex(need(it->f, it->n, "exporter_context"), &ctx_len);
        uint8_t *want = tu_unhex(need(it->f, it->n, "exported_value"), &want_len);
        size_t l = (size_t)atoi(need(it->f, it->n, "L"));
        assert_int_equal(l, want_len);
        uint8_t out[256];
        assert_true(l <= sizeof out);
        assert_int_equal(ward_hpke_export(snd, ectx, ctx_len, out, l), WARD_OK);
        assert_memory_equal(out, want, l);
        assert_int_equal(ward_hpke_export(rcv, ectx, ctx_len, out, l), WARD_OK);
        assert_memory_equal(out, want, l);
        (*n_exp)++;
        free(ectx);
        free(want);
    }

    if (aead == WARD_HPKE_EXPORT_ONLY) {
        uint8_t ct[17];
        assert_int_equal(ward_hpke_seal(snd, NULL, 0, (const uint8_t *)"x", 1, ct),
                         WARD_ERR_UNSUPPORTED);
    }
    ward_hpke_free(snd);
    ward_hpke_free(rcv);
    free(info);
    free(ikm_e);
    free(ikm_r);
}

static void test_rfc9180_vectors(void **state)
{
    (void)state;
    vectors v = load_vectors();
    size_t setups = 0, skipped = 0, n_enc = 0, n_exp = 0;
    for (size_t i = 0; i < v.n; i++) {
        const setup *s = &v.s[i];
        int mode = atoi(need(s->f, s->n, "mode"));
        int kem = atoi(need(s->f, s->n, "kem_id"));
        int kdf = atoi(need(s->f, s->n, "kdf_id"));
        int aead = atoi(need(s->f, s->n, "aead_id"));
        if (mode != 0 || kem != 0x20 || kdf != 1 ||
            (aead != 1 && aead != 3 && aead != 0xFFFF)) {
            skipped++;
            continue;
        }
        run_setup(s, &n_enc, &n_exp);
        setups++;
    }
    print_message("RFC 9180 vectors: %zu base-mode setups passed (%zu encryptions, %zu exports), "
                  "%zu psk/auth setups skipped\n",
                  setups, n_enc, n_exp, skipped);
    /* The file holds AES-128-GCM, ChaCha20-Poly1305 and export-only, each in four modes. */
    assert_int_equal(setups, 3);
    assert_int_equal(skipped, 9);
    assert_int_equal(n_enc, 12);
    assert_int_equal(n_exp, 9);
    free(v.s);
}

/* ---- behaviour ---------------------------------------------------------------------------- */

static const uint8_t info[] = "ward test info";
#define INFO_LEN (sizeof info - 1)

static void test_aes256_round_trip(void **state)
{
    (void)state;
    uint8_t sk[32], pk[32], enc[32];
    assert_int_equal(ward_hpke_generate_keypair(sk, pk), WARD_OK);
    ward_hpke_ctx *snd = NULL, *rcv = NULL;
    assert_int_equal(ward_hpke_setup_sender(WARD_HPKE_AES_256_GCM, pk, info, INFO_LEN, enc, &snd),
                     WARD_OK);
    assert_int_equal(ward_hpke_setup_recipient(WARD_HPKE_AES_256_GCM, sk, enc, info, INFO_LEN,
                                               &rcv),
                     WARD_OK);
    for (size_t len = 0; len < 300; len += 37) {
        uint8_t pt[300], ct[316], back[300];
        for (size_t i = 0; i < len; i++)
            pt[i] = (uint8_t)(i * 7 + len);
        assert_int_equal(ward_hpke_seal(snd, (const uint8_t *)"ad", 2, len ? pt : NULL, len, ct),
                         WARD_OK);
        assert_int_equal(ward_hpke_open(rcv, (const uint8_t *)"ad", 2, ct, len + 16,
                                        len ? back : NULL),
                         WARD_OK);
        assert_memory_equal(back, pt, len);
    }
    /* Both sides export the same secret. */
    uint8_t e1[64], e2[64];
    assert_int_equal(ward_hpke_export(snd, (const uint8_t *)"c", 1, e1, sizeof e1), WARD_OK);
    assert_int_equal(ward_hpke_export(rcv, (const uint8_t *)"c", 1, e2, sizeof e2), WARD_OK);
    assert_memory_equal(e1, e2, sizeof e1);
    /* The largest export RFC 9180 allows: 255 * Nh. */
    uint8_t *big = malloc(255 * 32);
    assert_non_null(big);
    assert_int_equal(ward_hpke_export(snd, NULL, 0, big, 255 * 32), WARD_OK);
    free(big);
    ward_hpke_free(snd);
    ward_hpke_free(rcv);

    /* Single-shot. */
    uint8_t ct[5 + 16], back[5];
    assert_int_equal(ward_hpke_seal_base(WARD_HPKE_AES_256_GCM, pk, info, INFO_LEN,
                                         (const uint8_t *)"aad", 3, (const uint8_t *)"hello", 5,
                                         enc, ct),
                     WARD_OK);
    assert_int_equal(ward_hpke_open_base(WARD_HPKE_AES_256_GCM, sk, enc, info, INFO_LEN,
                                         (const uint8_t *)"aad", 3, ct, sizeof ct, back),
                     WARD_OK);
    assert_memory_equal(back, "hello", 5);
    /* Fresh ephemeral key each time. */
    uint8_t enc2[32], ct2[21];
    assert_int_equal(ward_hpke_seal_base(WARD_HPKE_AES_256_GCM, pk, info, INFO_LEN, NULL, 0,
                                         (const uint8_t *)"hello", 5, enc2, ct2),
                     WARD_OK);
    assert_memory_not_equal(enc, enc2, 32);
}

static void seal_one(uint8_t sk[32], uint8_t enc[32], uint8_t ct[5 + 16])
{
    uint8_t pk[32];
    assert_int_equal(ward_hpke_generate_keypair(sk, pk), WARD_OK);
    assert_int_equal(ward_hpke_seal_base(WARD_HPKE_AES_256_GCM, pk, info, INFO_LEN,
                                         (const uint8_t *)"aad", 3, (const uint8_t *)"hello", 5,
                                         enc, ct),
                     WARD_OK);
}

static void test_auth_failures(void **state)
{
    (void)state;
    uint8_t sk[32], enc[32], ct[21], back[5];
    seal_one(sk, enc, ct);

    /* wrong key */
    uint8_t sk2[32], pk2[32];
    assert_int_equal(ward_hpke_generate_keypair(sk2, pk2), WARD_OK);
    memset(back, 0x55, sizeof back);
    assert_int_equal(ward_hpke_open_base(WARD_HPKE_AES_256_GCM, sk2, enc, info, INFO_LEN,
                                         (const uint8_t *)"aad", 3, ct, sizeof ct, back),
                     WARD_ERR_AUTH);
    static const uint8_t zero5[5];
    assert_memory_equal(back, zero5, 5); /* no unauthenticated plaintext */
    /* wrong aad, wrong info, wrong suite */
    assert_int_equal(ward_hpke_open_base(WARD_HPKE_AES_256_GCM, sk, enc, info, INFO_LEN,
                                         (const uint8_t *)"aaD", 3, ct, sizeof ct, back),
                     WARD_ERR_AUTH);
    assert_int_equal(ward_hpke_open_base(WARD_HPKE_AES_256_GCM, sk, enc, info, INFO_LEN - 1,
                                         (const uint8_t *)"aad", 3, ct, sizeof ct, back),
                     WARD_ERR_AUTH);
    assert_int_equal(ward_hpke_open_base(WARD_HPKE_CHACHA20_POLY1305, sk, enc, info, INFO_LEN,
                                         (const uint8_t *)"aad", 3, ct, sizeof ct, back),
                     WARD_ERR_AUTH);
    /* every altered byte of ct and enc */
    for (size_t i = 0; i < sizeof ct; i++) {
        ct[i] ^= 0x01;
        assert_int_equal(ward_hpke_open_base(WARD_HPKE_AES_256_GCM, sk, enc, info, INFO_LEN,
                                             (const uint8_t *)"aad", 3, ct, sizeof ct, back),
                         WARD_ERR_AUTH);
        ct[i] ^= 0x01;
    }
    for (size_t i = 0; i < sizeof enc; i++) {
        enc[i] ^= 0x80;
        /* Even where X25519 ignores the bit (the top bit of the last byte, RFC 7748), enc is
         * in the KEM context, so the key schedule changes. */
        assert_int_equal(ward_hpke_open_base(WARD_HPKE_AES_256_GCM, sk, enc, info, INFO_LEN,
                                             (const uint8_t *)"aad", 3, ct, sizeof ct, back),
                         WARD_ERR_AUTH);
        enc[i] ^= 0x80;
    }
    /* truncated ct */
    assert_int_equal(ward_hpke_open_base(WARD_HPKE_AES_256_GCM, sk, enc, info, INFO_LEN,
                                         (const uint8_t *)"aad", 3, ct, sizeof ct - 1, back),
                     WARD_ERR_AUTH);
    assert_int_equal(ward_hpke_open_base(WARD_HPKE_AES_256_GCM, sk, enc, info, INFO_LEN,
                                         (const uint8_t *)"aad", 3, ct, 15, back),
                     WARD_ERR_AUTH);
    /* and the original still opens */
    assert_int_equal(ward_hpke_open_base(WARD_HPKE_AES_256_GCM, sk, enc, info, INFO_LEN,
                                         (const uint8_t *)"aad", 3, ct, sizeof ct, back),
                     WARD_OK);
    assert_memory_equal(back, "hello", 5);
}

static void test_failed_open_keeps_sequence(void **state)
{
    (void)state;
    uint8_t sk[32], pk[32], enc[32];
    assert_int_equal(ward_hpke_generate_keypair(sk, pk), WARD_OK);
    ward_hpke_ctx *snd = NULL, *rcv = NULL;
    assert_int_equal(ward_hpke_setup_sender(WARD_HPKE_AES_256_GCM, pk, NULL, 0, enc, &snd),
                     WARD_OK);
    assert_int_equal(ward_hpke_setup_recipient(WARD_HPKE_AES_256_GCM, sk, enc, NULL, 0, &rcv),
                     WARD_OK);
    uint8_t ct0[4 + 16], ct1[4 + 16], back[4];
    assert_int_equal(ward_hpke_seal(snd, NULL, 0, (const uint8_t *)"msg0", 4, ct0), WARD_OK);
    assert_int_equal(ward_hpke_seal(snd, NULL, 0, (const uint8_t *)"msg1", 4, ct1), WARD_OK);
    /* out of order: message 1 at sequence 0 fails, and the sequence number stays 0 */
    assert_int_equal(ward_hpke_open(rcv, NULL, 0, ct1, sizeof ct1, back), WARD_ERR_AUTH);
    assert_int_equal(ward_hpke_open(rcv, NULL, 0, ct0, sizeof ct0, back), WARD_OK);
    assert_memory_equal(back, "msg0", 4);
    /* replay of message 0 at sequence 1 fails */
    assert_int_equal(ward_hpke_open(rcv, NULL, 0, ct0, sizeof ct0, back), WARD_ERR_AUTH);
    assert_int_equal(ward_hpke_open(rcv, NULL, 0, ct1, sizeof ct1, back), WARD_OK);
    assert_memory_equal(back, "msg1", 4);
    /* roles: a recipient does not seal, a sender does not open */
    assert_int_equal(ward_hpke_seal(rcv, NULL, 0, back, 4, ct0), WARD_ERR_STATE);
    assert_int_equal(ward_hpke_open(snd, NULL, 0, ct0, sizeof ct0, back), WARD_ERR_STATE);
    ward_hpke_free(snd);
    ward_hpke_free(rcv);
}

static void test_low_order_refused(void **state)
{
    (void)state;
    /* Points of small order on Curve25519 (RFC 7748 / the usual blocklist): 0, 1 and a point
     * of order 8. X25519 with any of them gives the all-zero secret. */
    static const char *const low[] = {
        "0000000000000000000000000000000000000000000000000000000000000000",
        "0100000000000000000000000000000000000000000000000000000000000000",
        "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
        "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    };
    uint8_t sk[32], pk[32];
    assert_int_equal(ward_hpke_generate_keypair(sk, pk), WARD_OK);
    for (size_t i = 0; i < sizeof low / sizeof low[0]; i++) {
        uint8_t bad[32], enc[32];
        unhex_fixed(low[i], bad, 32);
        ward_hpke_ctx *ctx = (ward_hpke_ctx *)&ctx;
        assert_int_equal(ward_hpke_setup_recipient(WARD_HPKE_AES_256_GCM, sk, bad, NULL, 0,
                                                   &ctx),
                         WARD_ERR_VERIFY);
        assert_null(ctx);
        assert_int_equal(ward_hpke_setup_sender(WARD_HPKE_AES_256_GCM, bad, NULL, 0, enc, &ctx),
                         WARD_ERR_VERIFY);
        assert_null(ctx);
    }
}

static void test_export_only(void **state)
{
    (void)state;
    uint8_t sk[32], pk[32], enc[32];
    assert_int_equal(ward_hpke_generate_keypair(sk, pk), WARD_OK);
    ward_hpke_ctx *snd = NULL, *rcv = NULL;
    assert_int_equal(ward_hpke_setup_sender(WARD_HPKE_EXPORT_ONLY, pk, NULL, 0, enc, &snd),
                     WARD_OK);
    assert_int_equal(ward_hpke_setup_recipient(WARD_HPKE_EXPORT_ONLY, sk, enc, NULL, 0, &rcv),
                     WARD_OK);
    uint8_t ct[17], pt[1];
    assert_int_equal(ward_hpke_seal(snd, NULL, 0, (const uint8_t *)"x", 1, ct),
                     WARD_ERR_UNSUPPORTED);
    memset(ct, 0, sizeof ct);
    assert_int_equal(ward_hpke_open(rcv, NULL, 0, ct, sizeof ct, pt), WARD_ERR_UNSUPPORTED);
    uint8_t e1[32], e2[32];
    assert_int_equal(ward_hpke_export(snd, (const uint8_t *)"k", 1, e1, 32), WARD_OK);
    assert_int_equal(ward_hpke_export(rcv, (const uint8_t *)"k", 1, e2, 32), WARD_OK);
    assert_memory_equal(e1, e2, 32);
    assert_int_equal(ward_hpke_seal_base(WARD_HPKE_EXPORT_ONLY, pk, NULL, 0, NULL, 0,
                                         (const uint8_t *)"x", 1, enc, ct),
                     WARD_ERR_UNSUPPORTED);
    ward_hpke_free(snd);
    ward_hpke_free(rcv);
}

static void test_argument_errors(void **state)
{
    (void)state;
    uint8_t sk[32], pk[32], enc[32], ikm[32] = {0};
    ward_hpke_ctx *ctx = NULL;
    assert_int_equal(ward_hpke_derive_keypair(ikm, 31, sk, pk), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_hpke_derive_keypair(NULL, 32, sk, pk), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_hpke_derive_keypair(ikm, 32, NULL, pk), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_hpke_derive_keypair(ikm, 32, sk, pk), WARD_OK);
    assert_int_equal(ward_hpke_generate_keypair(NULL, pk), WARD_ERR_INVALID_ARG);

    assert_int_equal(ward_hpke_setup_sender(WARD_HPKE_AES_256_GCM, pk, NULL, 0, enc, NULL),
                     WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_hpke_setup_sender(WARD_HPKE_AES_256_GCM, NULL, NULL, 0, enc, &ctx),
                     WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_hpke_setup_sender(WARD_HPKE_AES_256_GCM, pk, NULL, 3, enc, &ctx),
                     WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_hpke_setup_sender(WARD_HPKE_AES_256_GCM, pk, NULL, 0, NULL, &ctx),
                     WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_hpke_setup_sender((ward_hpke_aead)4, pk, NULL, 0, enc, &ctx),
                     WARD_ERR_UNSUPPORTED);
    assert_int_equal(ward_hpke_setup_sender_derand(WARD_HPKE_AES_256_GCM, pk, NULL, 0, ikm, 16,
                                                   enc, &ctx),
                     WARD_ERR_INVALID_ARG);
    assert_null(ctx);
    assert_int_equal(ward_hpke_setup_recipient((ward_hpke_aead)0, sk, pk, NULL, 0, &ctx),
                     WARD_ERR_UNSUPPORTED);
    assert_int_equal(ward_hpke_setup_recipient(WARD_HPKE_AES_256_GCM, NULL, pk, NULL, 0, &ctx),
                     WARD_ERR_INVALID_ARG);

    assert_int_equal(ward_hpke_setup_sender(WARD_HPKE_AES_128_GCM, pk, NULL, 0, enc, &ctx),
                     WARD_OK);
    uint8_t ct[32], out[8];
    assert_int_equal(ward_hpke_seal(NULL, NULL, 0, ct, 1, ct), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_hpke_seal(ctx, NULL, 1, ct, 1, ct), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_hpke_seal(ctx, NULL, 0, NULL, 1, ct), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_hpke_seal(ctx, NULL, 0, ct, 1, NULL), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_hpke_export(ctx, NULL, 0, out, 0), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_hpke_export(ctx, NULL, 0, out, 255 * 32 + 1), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_hpke_export(ctx, NULL, 3, out, 8), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_hpke_export(ctx, NULL, 0, NULL, 8), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_hpke_export(NULL, NULL, 0, out, 8), WARD_ERR_INVALID_ARG);
    ward_hpke_free(ctx);
    ward_hpke_free(NULL);

    /* Error messages are words, never key material. */
    assert_int_equal(ward_hpke_derive_keypair(ikm, 1, sk, pk), WARD_ERR_INVALID_ARG);
    assert_non_null(strstr(ward_errmsg(), "at least 32 bytes"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc9180_vectors),
        cmocka_unit_test(test_aes256_round_trip),
        cmocka_unit_test(test_auth_failures),
        cmocka_unit_test(test_failed_open_keeps_sequence),
        cmocka_unit_test(test_low_order_refused),
        cmocka_unit_test(test_export_only),
        cmocka_unit_test(test_argument_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
