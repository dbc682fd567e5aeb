/* The built-in TAs `sql` and `psi` (docs/builtins.md), started for real in the sandbox: images
 * from <build>/builtin/, signed at test time with a fresh developer key, on a root of trust in a
 * temporary directory. Inputs are encrypted to the task key the TA made; results are decrypted,
 * their signature verified with the key the report binds. No timing assertions. */
#include "testutil.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "psi_host.h"
#include "sql_host.h"
#include "ward/crypto.h"
#include "ward/encoding.h"
#include "ward/hpke.h"
#include "ward/manifest.h"
#include "ward/report.h"
#include "ward/rot.h"
#include "ward/stream.h"
#include "ward/task.h"
#include "ward/tee.h"

#define TR 3 /* recipients a test task may have */

static const char *const call_names[] = {"init", "add_input", "run", "last_error", "destroy"};

static struct {
    char *dir;
    ward_rot *rot;
    ward_pkey *dev;
    ward_pkey *party, *other, *third; /* task participants (P-256 identities) */
    ward_tee *tee;
    ward_tee_image *sql, *psi;
} F;

static ward_tee_image *reg_image(const char *name)
{
    const char *bd = getenv("WARD_BUILD_DIR");
    char path[4096];
    if (bd == NULL) {
        char exe[4000];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        assert_true(n > 0);
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        assert_non_null(slash);
        *slash = '\0';
        snprintf(path, sizeof path, "%s/../builtin/%s", exe, name);
    } else {
        snprintf(path, sizeof path, "%s/builtin/%s", bd, name);
    }
    if (access(path, R_OK) != 0)
        fail_msg("the built-in TA %s is missing: src/app/builtin must be part of the build",
                 path);
    size_t len = 0;
    uint8_t *image = tu_read_file(path, &len);
    ward_ta_params p = {name, 1, 1, 0, 256u << 20, 4, call_names, 5};
    char *json = NULL;
    size_t jlen = 0;
    assert_int_equal(ward_manifest_sign(image, len, &p, F.dev, &json, &jlen), WARD_OK);
    ward_tee_image *img = NULL;
    if (ward_tee_image_register(F.tee, image, len, json, jlen, &img) != WARD_OK)
        fail_msg("register %s: %s", name, ward_errmsg());
    free(json);
    free(image);
    return img;
}

static int group_setup(void **state)
{
    (void)state;
    F.dir = tu_mkdtemp();
    char rotdir[4200];
    snprintf(rotdir, sizeof rotdir, "%s/rot", F.dir);
    assert_int_equal(ward_rot_open(rotdir, 1, &F.rot), WARD_OK);
    assert_int_equal(ward_pkey_generate(WARD_KEY_EC_P256, &F.dev), WARD_OK);
    assert_int_equal(ward_pkey_generate(WARD_KEY_EC_P256, &F.party), WARD_OK);
    assert_int_equal(ward_pkey_generate(WARD_KEY_EC_P256, &F.other), WARD_OK);
    assert_int_equal(ward_pkey_generate(WARD_KEY_EC_P256, &F.third), WARD_OK);
    ward_tee_config cfg = {WARD_TEE_SANDBOX, F.rot, 0, 0};
    if (ward_tee_open(&cfg, &F.tee) != WARD_OK)
        fail_msg("tee open: %s", ward_errmsg());
    F.sql = reg_image("sql");
    F.psi = reg_image("psi");
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    ward_tee_close(F.tee);
    ward_rot_close(F.rot);
    ward_pkey_free(F.dev);
    ward_pkey_free(F.party);
    ward_pkey_free(F.other);
    ward_pkey_free(F.third);
    tu_rmtree(F.dir);
    free(F.dir);
    return 0;
}

/* ---- a task ------------------------------------------------------------------------------------ */

typedef struct task {
    bool psi;
    ward_tee_instance *inst;
    char id[WARD_TASK_ID_HEX_LEN + 1];
    uint8_t digest[32];
    uint8_t task_pk[32];
    /* the recipients' result key pairs (the public halves are signed); recipient i is
     * F.party, F.other, F.third for i = 0, 1, 2 */
    size_t n_rcpt;
    uint8_t rsk[TR][32], rpk[TR][32];
    char *params; /* what the statement's params hash covers */
    ward_pkey *sign_pk;
    /* the encrypted result per recipient as the TA hands it over (ocall result_piece) */
    uint8_t *enc[TR];
    size_t enc_len[TR], enc_cap[TR], hdr_len[TR], pieces, piece_max;
    bool bad_recipient; /* a piece named a recipient the manifest does not have */
    uint64_t max_result;
    bool refuse; /* the host refuses every piece */
} task;

/* The host's side of ocall result_piece: appends (ciphertext) to the buffer of the recipient
 * the piece is for. */
static ward_err take_piece(void *arg, uint32_t recipient, const uint8_t *data, size_t len)
{
    task *t = arg;
    if (t->refuse)
        return WARD_ERR_IO;
    if (recipient >= t->n_rcpt) {
        t->bad_recipient = true;
        return WARD_ERR_INVALID_ARG;
    }
    size_t r = recipient;
    if (len > t->enc_cap[r] - t->enc_len[r]) {
        size_t cap = t->enc_cap[r] ? t->enc_cap[r] : 4096;
        while (cap - t->enc_len[r] < len)
            cap *= 2;
        uint8_t *nb = realloc(t->enc[r], cap);
        if (nb == NULL)
            return WARD_ERR_NOMEM;
        t->enc[r] = nb;
        t->enc_cap[r] = cap;
    }
    if (t->enc_len[r] == 0)
        t->hdr_len[r] = len; /* each stream's first piece is its header */
    memcpy(t->enc[r] + t->enc_len[r], data, len);
    t->enc_len[r] += len;
    t->pieces++;
    if (len > t->piece_max)
        t->piece_max = len;
    return WARD_OK;
}

ward_err sql_ocall_result_piece(void *arg, uint32_t recipient, const uint8_t *data,
                                size_t data_len)
{
    return take_piece(arg, recipient, data, data_len);
}

ward_err psi_ocall_result_piece(void *arg, uint32_t recipient, const uint8_t *data,
                                size_t data_len)
{
    return take_piece(arg, recipient, data, data_len);
}

static char *spki_b64(const ward_pkey *k)
{
    uint8_t *der = NULL;
    size_t n = 0;
    char *b64 = NULL;
    assert_int_equal(ward_pkey_spki_der(k, &der, &n), WARD_OK);
    assert_int_equal(ward_base64_encode(der, n, &b64, NULL), WARD_OK);
    free(der);
    return b64;
}

static void hex32(const uint8_t *b, char out[65])
{
    for (size_t i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
}

/* The manifest of a task: creator and first recipient F.party; slots[] owned by F.party (the
 * last one by F.other when other_owner); t->n_rcpt recipients (F.party, F.other, F.third) with
 * the X25519 keys t->rpk[]; params (stolen). */
static json_t *manifest_json(task *t, const char *fn, json_t *params, const char *const *slots,
                             size_t n, bool other_owner)
{
    char *p = spki_b64(F.party), *o = spki_b64(F.other);
    json_t *rc = json_array();
    const ward_pkey *who[TR] = {F.party, F.other, F.third};
    for (size_t i = 0; i < t->n_rcpt; i++) {
        char x[65];
        hex32(t->rpk[i], x);
        char *id = spki_b64(who[i]);
        json_array_append_new(rc, json_pack("{s:s, s:s}", "identity", id, "x25519", x));
        free(id);
    }
    json_t *in = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(in, json_pack("{s:s, s:s, s:I}", "slot", slots[i], "owner",
                                            other_owner && i + 1 == n ? o : p, "max_bytes",
                                            (json_int_t)(64 << 20)));
    json_t *j = json_pack("{s:i, s:s, s:s, s:{s:s}, s:o, s:o, s:o, s:I, s:s}", "version", 1,
                          "task_id", t->id, "creator", p, "function", "builtin", fn, "params",
                          params, "inputs", in, "recipients", rc, "expires_at",
                          (json_int_t)4000000000LL, "retention", "delete-on-done");
    assert_non_null(j);
    free(p);
    free(o);
    return j;
}

/* Signs the manifest by every participant (all but F.other when !sign_other) and returns the
 * envelope text; t->digest is the manifest digest. */
static char *seal_envelope(task *t, const json_t *j, bool sign_other)
{
    char *text = json_dumps(j, JSON_COMPACT);
    assert_non_null(text);
    ward_task_manifest *m = NULL;
    if (ward_task_manifest_parse(text, strlen(text), &m) != WARD_OK)
        fail_msg("manifest: %s", ward_errmsg());
    free(text);
    assert_int_equal(ward_task_sign(m, F.party), WARD_OK);
    uint8_t h[32];
    assert_int_equal(ward_pkey_spki_sha256(F.other, h), WARD_OK);
    if (sign_other && ward_task_has_signature(m, h) == 0 &&
        ward_task_sign(m, F.other) != WARD_ERR_PERMISSION)
        assert_true(ward_task_has_signature(m, h));
    assert_int_equal(ward_pkey_spki_sha256(F.third, h), WARD_OK);
    if (ward_task_has_signature(m, h) == 0 && ward_task_sign(m, F.third) != WARD_ERR_PERMISSION)
        assert_true(ward_task_has_signature(m, h));
    ward_task_manifest_digest(m, t->digest);
    char *env = NULL;
    assert_int_equal(ward_task_envelope_serialize(m, &env, NULL), WARD_OK);
    ward_task_manifest_free(m);
    return env;
}

static void new_task(task *t, bool psi)
{
    memset(t, 0, sizeof *t);
    t->psi = psi;
    uint8_t rid[16];
    assert_int_equal(ward_random(rid, sizeof rid), WARD_OK);
    for (size_t i = 0; i < sizeof rid; i++)
        snprintf(t->id + 2 * i, 3, "%02x", rid[i]);
    t->n_rcpt = 1;
    for (size_t i = 0; i < TR; i++)
        assert_int_equal(ward_hpke_generate_keypair(t->rsk[i], t->rpk[i]), WARD_OK);
    if (ward_tee_create(F.tee, psi ? F.psi : F.sql, NULL,
                        psi ? psi_ocall_dispatch : sql_ocall_dispatch, t, &t->inst) != WARD_OK)
        fail_msg("create: %s", ward_errmsg());
}

static char *last_error(task *t)
{
    char *m = NULL;
    ward_err e = t->psi ? psi_last_error(t->inst, &m) : sql_last_error(t->inst, &m);
    assert_int_equal(e, WARD_OK);
    return m;
}

static ward_err init_call(task *t, const char *env, uint64_t max_input, uint8_t **pk,
                          size_t *pkl, uint8_t **spk, size_t *spkl, uint8_t **rep, size_t *repl,
                          uint8_t **sig, size_t *sigl)
{
    return t->psi ? psi_init(t->inst, env, max_input, pk, pkl, spk, spkl, rep, repl, sig, sigl)
                  : sql_init(t->inst, env, max_input, pk, pkl, spk, spkl, rep, repl, sig, sigl);
}

/* init with env; checks the outputs and the report binding. */
static void init_ok(task *t, const char *env, uint64_t max_input)
{
    uint8_t *pk = NULL, *spk = NULL, *rep = NULL, *sig = NULL;
    size_t pkl = 0, spkl = 0, repl = 0, sigl = 0;
    ward_err e = init_call(t, env, max_input, &pk, &pkl, &spk, &spkl, &rep, &repl, &sig, &sigl);
    if (e != WARD_OK)
        fail_msg("init: %s (%s)", ward_err_name(e), last_error(t));
    assert_int_equal(pkl, 32);
    assert_int_equal(repl, WARD_REPORT_LEN);
    assert_int_equal(sigl, WARD_REPORT_SIG_LEN);
    memcpy(t->task_pk, pk, 32);
    /* the report is the platform's, and binds the manifest (digest computed inside the TA)
     * and both task keys */
    ward_report r;
    assert_int_equal(ward_tee_report_verify(F.tee, rep, repl, sig, &r), WARD_OK);
    assert_int_equal(ward_pkey_from_spki_der(spk, spkl, &t->sign_pk), WARD_OK);
    assert_int_equal(ward_pkey_type(t->sign_pk), WARD_KEY_EC_P256);
    uint8_t bind[96], expect[64] = {0};
    memcpy(bind, t->digest, 32);
    memcpy(bind + 32, pk, 32);
    assert_int_equal(ward_hash(WARD_HASH_SHA256, spk, spkl, bind + 64), WARD_OK);
    assert_int_equal(ward_hash(WARD_HASH_SHA256, bind, sizeof bind, expect), WARD_OK);
    assert_memory_equal(r.report_data, expect, 64);
    /* a second init is refused */
    uint8_t *x1 = NULL, *x2 = NULL, *x3 = NULL, *x4 = NULL;
    size_t l1, l2, l3, l4;
    e = init_call(t, env, 0, &x1, &l1, &x2, &l2, &x3, &l3, &x4, &l4);
    assert_int_equal(e, WARD_ERR_STATE);
    free(pk);
    free(spk);
    free(rep);
    free(sig);
}

/* A task whose manifest runs query (sql) over slots, with nr recipients. */
static void start_sql_r(task *t, size_t nr, const char *query, const char *const *slots,
                        size_t n, uint64_t max_input)
{
    new_task(t, false);
    t->n_rcpt = nr;
    json_t *j = manifest_json(t, "sql", json_pack("{s:s}", "query", query), slots, n, false);
    t->params = strdup(query);
    char *env = seal_envelope(t, j, true);
    json_decref(j);
    init_ok(t, env, max_input);
    free(env);
}

static void start_sql(task *t, const char *query, const char *const *slots, size_t n,
                      uint64_t max_input)
{
    start_sql_r(t, 1, query, slots, n, max_input);
}

/* A psi task with nr recipients: key, columns (a ',' list) over slots. */
static void start_psi_r(task *t, size_t nr, const char *key, const char *const *cols,
                        size_t ncols, const char *const *slots, size_t n)
{
    new_task(t, true);
    t->n_rcpt = nr;
    json_t *ca = json_array();
    size_t plen = strlen(key) + 2;
    for (size_t i = 0; i < ncols; i++) {
        json_array_append_new(ca, json_string(cols[i]));
        plen += strlen(cols[i]) + 1;
    }
    t->params = malloc(plen);
    size_t off = (size_t)snprintf(t->params, plen, "%s\n", key);
    for (size_t i = 0; i < ncols; i++)
        off += (size_t)snprintf(t->params + off, plen - off, "%s%s", i ? "," : "", cols[i]);
    json_t *j = manifest_json(t, "psi", json_pack("{s:s, s:o}", "key", key, "columns", ca), slots,
                              n, false);
    char *env = seal_envelope(t, j, true);
    json_decref(j);
    init_ok(t, env, 0);
    free(env);
}

static void start_psi(task *t, const char *key, const char *const *cols, size_t ncols,
                      const char *const *slots, size_t n)
{
    start_psi_r(t, 1, key, cols, ncols, slots, n);
}

static void finish(task *t)
{
    assert_true(ward_tee_instance_alive(t->inst));
    assert_int_equal(t->psi ? psi_destroy(t->inst) : sql_destroy(t->inst), WARD_OK);
    ward_tee_destroy(t->inst);
    ward_pkey_free(t->sign_pk);
    free(t->params);
    for (size_t i = 0; i < TR; i++)
        free(t->enc[i]);
}

static uint8_t *encrypt(const uint8_t pk[32], const char *aad, const void *csv, size_t len,
                        size_t *out_len)
{
    uint8_t *ct = NULL;
    assert_int_equal(ward_stream_seal(pk, WARD_STREAM_MIN_CHUNK, (const uint8_t *)aad,
                                      strlen(aad), csv, len, &ct, out_len),
                     WARD_OK);
    return ct;
}

/* Sends ciphertext in pieces of 700 bytes; returns the first error. */
static ward_err send_ct(task *t, const char *slot, const uint8_t *ct, size_t len)
{
    size_t off = 0;
    do {
        size_t n = len - off < 700 ? len - off : 700;
        bool last = off + n == len;
        ward_err e = t->psi ? psi_add_input(t->inst, slot, ct + off, n, last)
                            : sql_add_input(t->inst, slot, ct + off, n, last);
        if (e != WARD_OK)
            return e;
        off += n;
    } while (off < len);
    return WARD_OK;
}

static void slot_aad(const task *t, const char *slot, char *out, size_t cap)
{
    snprintf(out, cap, "ward-task-input-v1/%s/%s", t->id, slot);
}

/* Encrypts csv to the task key with the associated data of slot aad_slot, sends it as slot. */
static ward_err add_as(task *t, const char *slot, const char *aad_slot, const void *csv,
                       size_t len)
{
    char aad[160];
    slot_aad(t, aad_slot, aad, sizeof aad);
    size_t ctl = 0;
    uint8_t *ct = encrypt(t->task_pk, aad, csv, len, &ctl);
    ward_err e = send_ct(t, slot, ct, ctl);
    free(ct);
    return e;
}

static ward_err add(task *t, const char *slot, const void *csv, size_t len)
{
    return add_as(t, slot, slot, csv, len);
}

static void add_ok(task *t, const char *slot, const char *csv)
{
    ward_err e = add(t, slot, csv, strlen(csv));
    if (e != WARD_OK) {
        char *m = last_error(t);
        fail_msg("add_input %s: %s (%s)", slot, ward_err_name(e), m);
    }
}

static void expect_refused(task *t, ward_err e, ward_err code, const char *word)
{
    char *m = last_error(t);
    print_message("    refused (%s): %s\n", ward_err_name(e), m);
    if (e != code)
        fail_msg("expected %s, got %s: %s", ward_err_name(code), ward_err_name(e), m);
    if (strstr(m, word) == NULL)
        fail_msg("the message lacks '%s': %s", word, m);
    free(m);
    assert_true(ward_tee_instance_alive(t->inst));
}

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* The pieces for recipient r never open with another recipient's key j: neither r's whole
 * stream, nor r's chunks behind j's own header (each stream has its own data key). */
static void other_keys_refused(task *t, size_t r)
{
    const uint8_t *enc = t->enc[r];
    size_t enc_len = t->enc_len[r];
    for (size_t j = 0; j < t->n_rcpt; j++) {
        if (j == r)
            continue;
        uint8_t *pt = NULL;
        size_t ptl = 0;
        assert_int_not_equal(ward_stream_open(t->rsk[j], t->digest, 32, enc, enc_len, &pt, &ptl),
                             WARD_OK);
        assert_null(pt);
        size_t hj = t->hdr_len[j], hr = t->hdr_len[r];
        assert_true(hj > 0 && hr > 0 && hr <= enc_len);
        size_t ml = hj + (enc_len - hr);
        uint8_t *mix = malloc(ml);
        assert_non_null(mix);
        memcpy(mix, t->enc[j], hj);
        memcpy(mix + hj, enc + hr, enc_len - hr);
        assert_int_not_equal(ward_stream_open(t->rsk[j], t->digest, 32, mix, ml, &pt, &ptl),
                             WARD_OK);
        assert_null(pt);
        free(mix);
    }
}

/* Decrypts recipient r's result with its key and verifies the statement; returns the CSV. */
static char *open_result(task *t, const char *function, size_t r, const uint8_t *st,
                         size_t st_len, const uint8_t *sig, size_t sig_len)
{
    const uint8_t *enc = t->enc[r];
    size_t enc_len = t->enc_len[r];
    assert_int_equal(ward_verify(t->sign_pk, WARD_HASH_SHA256, WARD_SIG_RAW, st, st_len, sig,
                                 sig_len),
                     WARD_OK);
    uint8_t *pt = NULL;
    size_t ptl = 0;
    /* only the key the manifest names opens it */
    uint8_t sk2[32], pk2[32];
    assert_int_equal(ward_hpke_generate_keypair(sk2, pk2), WARD_OK);
    assert_int_not_equal(ward_stream_open(sk2, t->digest, 32, enc, enc_len, &pt, &ptl), WARD_OK);
    other_keys_refused(t, r);
    assert_int_equal(ward_stream_open(t->rsk[r], t->digest, 32, enc, enc_len, &pt, &ptl),
                     WARD_OK);
    /* the statement: magic, function, manifest, params, inputs, result hash and length */
    size_t fl = strlen(function);
    assert_int_equal(st_len, 14 + 1 + fl + 4 * 32 + 8);
    assert_memory_equal(st, "WARD-RESULT-1", 14);
    assert_int_equal(st[14], fl);
    assert_memory_equal(st + 15, function, fl);
    const uint8_t *p = st + 15 + fl;
    assert_memory_equal(p, t->digest, 32);
    uint8_t h[32];
    assert_int_equal(ward_hash(WARD_HASH_SHA256, t->params, strlen(t->params), h), WARD_OK);
    assert_memory_equal(p + 32, h, 32);
    assert_int_equal(ward_hash(WARD_HASH_SHA256, ptl ? pt : (const uint8_t *)"", ptl, h),
                     WARD_OK);
    assert_memory_equal(p + 96, h, 32);
    uint8_t lb[8];
    put_u64(lb, ptl);
    assert_memory_equal(p + 128, lb, 8);
    /* a flipped statement bit fails verification */
    uint8_t *bad = malloc(st_len);
    memcpy(bad, st, st_len);
    bad[st_len - 9] ^= 1;
    assert_int_equal(ward_verify(t->sign_pk, WARD_HASH_SHA256, WARD_SIG_RAW, bad, st_len, sig,
                                 sig_len),
                     WARD_ERR_VERIFY);
    free(bad);
    char *csv = malloc(ptl + 1);
    memcpy(csv, pt, ptl);
    csv[ptl] = '\0';
    free(pt);
    return csv;
}

static ward_err run_task(task *t, char **csv)
{
    uint8_t *st = NULL, *sig = NULL;
    size_t sl = 0, gl = 0;
    t->pieces = t->piece_max = 0;
    for (size_t i = 0; i < TR; i++)
        t->enc_len[i] = t->hdr_len[i] = 0;
    ward_err e = t->psi ? psi_run(t->inst, t->max_result, &st, &sl, &sig, &gl)
                        : sql_run(t->inst, t->max_result, &st, &sl, &sig, &gl);
    assert_false(t->bad_recipient);
    if (e == WARD_OK) {
        /* one stream per recipient and none beyond them */
        for (size_t i = 0; i < TR; i++)
            assert_true(i < t->n_rcpt ? t->enc_len[i] > 0 : t->enc_len[i] == 0);
    }
    if (e == WARD_OK && csv != NULL) {
        /* every recipient's stream decrypts to the one CSV the one statement covers */
        *csv = open_result(t, t->psi ? "psi" : "sql", 0, st, sl, sig, gl);
        for (size_t i = 1; i < t->n_rcpt; i++) {
            char *other = open_result(t, t->psi ? "psi" : "sql", i, st, sl, sig, gl);
            assert_string_equal(other, *csv);
            free(other);
        }
    }
    free(st);
    free(sig);
    return e;
}

/* ---- tests ----------------------------------------------------------------------------------- */

static char *make_sales(size_t rows)
{
    size_t cap = 64 + rows * 40;
    char *s = malloc(cap);
    size_t len = (size_t)snprintf(s, cap, "sale_id,region_id,amount,note\r\n");
    for (size_t i = 0; i < rows; i++)
        len += (size_t)snprintf(s + len, cap - len, "%zu,%zu,%zu,\"n, \"\"%zu\"\"\"\r\n", i,
                                i % 3 + 1, i % 7 + 1, i);
    return s;
}

static void test_sql_join_group_by(void **state)
{
    (void)state;
    task t;
    /* amount is typed INTEGER (SUM is an integer), code stays TEXT (leading zeros kept), an
     * empty TEXT value is '' (quoted), NULLs come out empty */
    const char *q = "SELECT r.name, SUM(s.amount) AS total, COUNT(*) AS n, NULLIF(r.code,'') "
                    "AS code FROM sales s JOIN regions r ON r.id = s.region_id "
                    "WHERE s.amount > 0 GROUP BY r.name ORDER BY r.name;";
    static const char *const slots[] = {"sales", "regions"};
    start_sql(&t, q, slots, 2, 0);
    char *sales = make_sales(300); /* several 1 KiB chunks */
    add_ok(&t, "sales", sales);
    add_ok(&t, "regions", "id,name,code\n1,North,007\n2,South,010\n3,\"East, far\",\n");
    /* expected sums: amount = i%7+1 for region i%3+1 */
    long sum[4] = {0}, cnt[4] = {0};
    for (size_t i = 0; i < 300; i++) {
        sum[i % 3 + 1] += (long)(i % 7 + 1);
        cnt[i % 3 + 1]++;
    }
    char expect[512];
    snprintf(expect, sizeof expect,
             "name,total,n,code\r\n\"East, far\",%ld,%ld,\r\nNorth,%ld,%ld,007\r\n"
             "South,%ld,%ld,010\r\n",
             sum[3], cnt[3], sum[1], cnt[1], sum[2], cnt[2]);
    char *csv = NULL;
    ward_err e = run_task(&t, &csv);
    if (e != WARD_OK) {
        char *m = last_error(&t);
        fail_msg("run: %s", m);
    }
    assert_string_equal(csv, expect);
    /* one result per task: the plaintext is gone */
    assert_int_equal(run_task(&t, NULL), WARD_ERR_STATE);
    assert_int_equal(add(&t, "sales", "a\n1\n", 4), WARD_ERR_STATE);
    free(csv);
    free(sales);
    finish(&t);
}

/* What SQLite does inside the sandbox's seccomp filter: randomness, the clock, big sorts and
 * temporary b-trees in memory, json, recursive CTEs. Being killed would show as WARD_ERR_DEAD. */
static void test_sql_sandbox_syscalls(void **state)
{
    (void)state;
    task t;
    const char *q =
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 50000), "
        "s AS (SELECT DISTINCT note FROM sales ORDER BY note DESC) "
        "SELECT (SELECT count(*) FROM s) AS a, typeof(random()) AS b, length(date('now')) AS c,"
        " length(randomblob(8)) AS d, (SELECT count(*) FROM (SELECT x FROM c ORDER BY "
        "random())) AS e, json_array(1, 'x') AS f, hex(x'00ff') AS g, x'0aff' AS h";
    static const char *const slots[] = {"sales"};
    start_sql(&t, q, slots, 1, 0);
    char *sales = make_sales(20000);
    add_ok(&t, "sales", sales);
    char *csv = NULL;
    ward_err e = run_task(&t, &csv);
    if (e != WARD_OK)
        fail_msg("run: %s: %s", ward_err_name(e),
                 e == WARD_ERR_DEAD ? ward_errmsg() : last_error(&t));
    assert_string_equal(csv, "a,b,c,d,e,f,g,h\r\n20000,integer,10,8,50000,\"[1,\"\"x\"\"]\","
                             "00FF,0aff\r\n");
    free(csv);
    free(sales);
    finish(&t);
}

/* The query is the signed manifest's: each bad one is its own task, refused at run. */
static void test_sql_bad_queries(void **state)
{
    (void)state;
    static const struct {
        const char *q;
        ward_err code;
        const char *word;
    } bad[] = {
        {"INSERT INTO t VALUES(3,'z')", WARD_ERR_PERMISSION, "SELECT or WITH"},
        {"UPDATE t SET a = 0", WARD_ERR_PERMISSION, "SELECT or WITH"},
        {"DELETE FROM t", WARD_ERR_PERMISSION, "SELECT or WITH"},
        {"CREATE TABLE u(x)", WARD_ERR_PERMISSION, "SELECT or WITH"},
        {"DROP TABLE t", WARD_ERR_PERMISSION, "SELECT or WITH"},
        {"ATTACH DATABASE '/tmp/x.db' AS x", WARD_ERR_PERMISSION, "SELECT or WITH"},
        {"DETACH x", WARD_ERR_PERMISSION, "SELECT or WITH"},
        {"PRAGMA writable_schema = ON", WARD_ERR_PERMISSION, "SELECT or WITH"},
        {"VACUUM INTO '/tmp/x.db'", WARD_ERR_PERMISSION, "SELECT or WITH"},
        {"WITH x AS (SELECT 1) INSERT INTO t SELECT 1, 'z' FROM x", WARD_ERR_PERMISSION,
         "not authorized"},
        {"WITH x AS (SELECT 1) DELETE FROM t", WARD_ERR_PERMISSION, "not authorized"},
        {"SELECT load_extension('/tmp/evil.so')", WARD_ERR_PERMISSION, "not authorized"},
        {"SELECT * FROM pragma_writable_schema", WARD_ERR_PERMISSION, "not authorized"},
        {"SELECT * FROM pragma_table_info('t')", WARD_ERR_PERMISSION, "not authorized"},
        {"SELECT * FROM pragma_function_list", WARD_ERR_PERMISSION, "not authorized"},
        {"SELECT 1; DROP TABLE t", WARD_ERR_PERMISSION, "only one statement"},
        {"SELECT 1; SELECT 2", WARD_ERR_PERMISSION, "only one statement"},
        {"EXPLAIN SELECT 1", WARD_ERR_PERMISSION, "SELECT or WITH"},
        {"SELECT * FROM nosuch", WARD_ERR_FORMAT, "no such table"},
        {"SELECT * FROM ward_stage", WARD_ERR_FORMAT, "no such table"},
        {"SELECT fts3_tokenizer('simple')", WARD_ERR_PERMISSION, "not authorized"},
        {"SELECT", WARD_ERR_FORMAT, "refused"},
    };
    static const char *const slots[] = {"t"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        print_message("  %s\n", bad[i].q);
        task t;
        start_sql(&t, bad[i].q, slots, 1, 0);
        add_ok(&t, "t", "a,b\n1,x\n2,y\n");
        expect_refused(&t, run_task(&t, NULL), bad[i].code, bad[i].word);
        finish(&t);
    }
    task t;
    start_sql(&t, "SELECT a, b, typeof(a) AS ta FROM t ORDER BY a", slots, 1, 0);
    add_ok(&t, "t", "a,b\n1,x\n2,y\n");
    char *csv = NULL;
    assert_int_equal(run_task(&t, &csv), WARD_OK);
    assert_string_equal(csv, "a,b,ta\r\n1,x,integer\r\n2,y,integer\r\n");
    free(csv);
    finish(&t);
}

static void test_sql_bad_inputs(void **state)
{
    (void)state;
    task t;
    static const char *const slots[] = {"x", "y"};
    start_sql(&t, "SELECT name FROM sqlite_schema ORDER BY name", slots, 2, 4096);
    ward_err e = add(&t, "x", "a,b\n1,2\n3\n", 10);
    expect_refused(&t, e, WARD_ERR_FORMAT, "line 3");
    e = add(&t, "x", "a,b\n1,\xC3\x28\n", 10);
    expect_refused(&t, e, WARD_ERR_FORMAT, "byte offset 6");
    e = add(&t, "x", "", 0);
    expect_refused(&t, e, WARD_ERR_FORMAT, "empty input");
    char big[5000];
    memset(big, 'x', sizeof big);
    memcpy(big, "h\n", 2);
    e = add(&t, "x", big, sizeof big);
    expect_refused(&t, e, WARD_ERR_LIMIT, "exceeds 4096");
    e = add(&t, "x", "x,X\n1,2\n", 8);
    expect_refused(&t, e, WARD_ERR_FORMAT, "same name");
    /* a tampered chunk */
    const char *csv = "a,b\n1,2\n";
    char aad[160];
    slot_aad(&t, "x", aad, sizeof aad);
    size_t ctl = 0;
    uint8_t *ct = encrypt(t.task_pk, aad, csv, strlen(csv), &ctl);
    ct[ctl - 5] ^= 0x01;
    e = send_ct(&t, "x", ct, ctl);
    expect_refused(&t, e, WARD_ERR_AUTH, "input x refused");
    free(ct);
    /* a ciphertext made for another slot (its header carries y's associated data) */
    e = add_as(&t, "x", "y", csv, strlen(csv));
    assert_int_not_equal(e, WARD_OK);
    expect_refused(&t, e, e, "input x refused");
    /* ... or for the same slot of another task */
    ct = encrypt(t.task_pk, "ward-task-input-v1/00000000000000000000000000000000/x", csv,
                 strlen(csv), &ctl);
    e = send_ct(&t, "x", ct, ctl);
    assert_int_not_equal(e, WARD_OK);
    expect_refused(&t, e, e, "input x refused");
    free(ct);
    /* a ciphertext for another task key */
    uint8_t sk2[32], pk2[32];
    assert_int_equal(ward_hpke_generate_keypair(sk2, pk2), WARD_OK);
    ct = encrypt(pk2, aad, csv, strlen(csv), &ctl);
    e = send_ct(&t, "x", ct, ctl);
    assert_int_not_equal(e, WARD_OK);
    expect_refused(&t, e, e, "input x refused");
    free(ct);
    /* a truncated stream (last chunk missing) */
    ct = encrypt(t.task_pk, aad, csv, strlen(csv), &ctl);
    e = send_ct(&t, "x", ct, ctl - 20);
    assert_int_not_equal(e, WARD_OK);
    expect_refused(&t, e, e, "input x refused");
    free(ct);
    /* a slot the manifest does not have: refused, whatever its associated data */
    e = add(&t, "z", csv, strlen(csv));
    expect_refused(&t, e, WARD_ERR_NOT_FOUND, "not in the manifest");
    e = add(&t, "sqlite_master", csv, strlen(csv));
    expect_refused(&t, e, WARD_ERR_NOT_FOUND, "not in the manifest");
    /* no input yet: run refused */
    expect_refused(&t, run_task(&t, NULL), WARD_ERR_STATE, "no input loaded for slot x");
    /* nothing was kept of the refused inputs; a good one still loads, once */
    add_ok(&t, "x", csv);
    e = add(&t, "x", csv, strlen(csv));
    expect_refused(&t, e, WARD_ERR_EXISTS, "already loaded");
    /* every slot of the manifest is needed: the host cannot leave one out */
    expect_refused(&t, run_task(&t, NULL), WARD_ERR_STATE, "no input loaded for slot y");
    add_ok(&t, "y", csv);
    char *out = NULL;
    assert_int_equal(run_task(&t, &out), WARD_OK);
    assert_string_equal(out, "name\r\nx\r\ny\r\n");
    free(out);
    finish(&t);
}

static void test_psi_three_inputs(void **state)
{
    (void)state;
    static const char *const slots[] = {"a", "b", "c"};
    static const char A[] = "email,name,age\nann@x,Ann,30\nbob@x,Bob,41\ncid@x,Cid,22\n"
                            ",Nobody,1\ndan@x,Dan,50\n";
    static const char B[] = "id,email\n1,dan@x\n2,ann@x\n3,eve@x\n4,\n5,bob@x\n";
    static const char C[] = "email\nbob@x\nann@x\nzed@x\n\nANN@x\n";
    /* bad parameters (signed as they are): unknown column, quote games */
    static const char *const bad1[] = {"name", "nosuch"};
    static const char *const bad2[] = {"name\" FROM a; DROP TABLE a; --"};
    task t;
    start_psi(&t, "email", bad1, 2, slots, 3);
    add_ok(&t, "a", A);
    add_ok(&t, "b", B);
    add_ok(&t, "c", C);
    expect_refused(&t, run_task(&t, NULL), WARD_ERR_FORMAT, "no such column");
    finish(&t);
    start_psi(&t, "email", bad2, 1, slots, 3);
    add_ok(&t, "a", A);
    add_ok(&t, "b", B);
    add_ok(&t, "c", C);
    expect_refused(&t, run_task(&t, NULL), WARD_ERR_FORMAT, "no such column");
    finish(&t);

    static const char *const cols[] = {"name", "age"};
    start_psi(&t, "email", cols, 2, slots, 3);
    /* the load order does not matter: the first input is the manifest's first slot */
    add_ok(&t, "c", C);
    add_ok(&t, "b", B);
    /* every input is needed */
    expect_refused(&t, run_task(&t, NULL), WARD_ERR_STATE, "no input loaded for slot a");
    add_ok(&t, "a", A);
    char *csv = NULL;
    ward_err e = run_task(&t, &csv);
    if (e != WARD_OK)
        fail_msg("psi run: %s", last_error(&t));
    assert_string_equal(csv, "name,age\r\nAnn,30\r\nBob,41\r\n");
    free(csv);
    finish(&t);
}

/* init checks the signed envelope INSIDE the TA: a missing or altered signature, another
 * function, or a slot that cannot be a table is refused; nothing about the
 * task (query, slots, associated data, the recipient's key) comes from the host. */
static void test_envelope_checked_inside(void **state)
{
    (void)state;
    static const char *const slots[] = {"a", "b"};
    uint8_t *pk = NULL, *spk = NULL, *rep = NULL, *sig = NULL;
    size_t pkl = 0, spkl = 0, repl = 0, sigl = 0;
    task t;
    new_task(&t, false);
    /* b is owned by F.other, who has not signed */
    json_t *j = manifest_json(&t, "sql", json_pack("{s:s}", "query", "SELECT * FROM a"), slots,
                              2, true);
    char *env = seal_envelope(&t, j, false);
    ward_err e = init_call(&t, env, 0, &pk, &pkl, &spk, &spkl, &rep, &repl, &sig, &sigl);
    expect_refused(&t, e, WARD_ERR_VERIFY, "missing 1 of 2 signatures");
    free(env);
    /* every signature present, then the manifest altered (the query): no longer verifies */
    env = seal_envelope(&t, j, true);
    json_t *ej = NULL;
    json_error_t jerr;
    ej = json_loads(env, 0, &jerr);
    assert_non_null(ej);
    json_object_set_new(json_object_get(json_object_get(ej, "manifest"), "params"), "query",
                        json_string("SELECT * FROM b"));
    char *altered = json_dumps(ej, JSON_COMPACT);
    e = init_call(&t, altered, 0, &pk, &pkl, &spk, &spkl, &rep, &repl, &sig, &sigl);
    expect_refused(&t, e, WARD_ERR_VERIFY, "does not verify");
    free(altered);
    /* the recipient's key swapped for the operator's: refused the same way */
    uint8_t osk[32], opk[32];
    char ox[65];
    assert_int_equal(ward_hpke_generate_keypair(osk, opk), WARD_OK);
    hex32(opk, ox);
    json_decref(ej);
    ej = json_loads(env, 0, &jerr);
    json_t *r0 = json_array_get(json_object_get(json_object_get(ej, "manifest"), "recipients"), 0);
    json_object_set_new(r0, "x25519", json_string(ox));
    altered = json_dumps(ej, JSON_COMPACT);
    e = init_call(&t, altered, 0, &pk, &pkl, &spk, &spkl, &rep, &repl, &sig, &sigl);
    expect_refused(&t, e, WARD_ERR_VERIFY, "does not verify");
    free(altered);
    json_decref(ej);
    /* a signature altered */
    ej = json_loads(env, 0, &jerr);
    json_t *sigs = json_object_get(ej, "signatures");
    const char *k0 = NULL;
    json_t *v0 = NULL;
    json_object_foreach(sigs, k0, v0) {
        char *sv = strdup(json_string_value(v0));
        sv[3] = sv[3] == 'A' ? 'B' : 'A';
        json_object_set_new(sigs, k0, json_string(sv));
        free(sv);
        break;
    }
    altered = json_dumps(ej, JSON_COMPACT);
    e = init_call(&t, altered, 0, &pk, &pkl, &spk, &spkl, &rep, &repl, &sig, &sigl);
    expect_refused(&t, e, WARD_ERR_VERIFY, "does not verify");
    free(altered);
    json_decref(ej);
    /* not an envelope */
    e = init_call(&t, "{\"manifest\":1}", 0, &pk, &pkl, &spk, &spkl, &rep, &repl, &sig, &sigl);
    expect_refused(&t, e, WARD_ERR_FORMAT, "init");
    e = init_call(&t, "", 0, &pk, &pkl, &spk, &spkl, &rep, &repl, &sig, &sigl);
    expect_refused(&t, e, WARD_ERR_INVALID_ARG, "envelope");
    json_decref(j);
    free(env);
    /* a psi manifest given to the sql TA */
    j = manifest_json(&t, "psi", json_pack("{s:s, s:[s]}", "key", "k", "columns", "k"), slots, 2,
                      false);
    env = seal_envelope(&t, j, true);
    e = init_call(&t, env, 0, &pk, &pkl, &spk, &spkl, &rep, &repl, &sig, &sigl);
    expect_refused(&t, e, WARD_ERR_PERMISSION, "function is psi");
    json_decref(j);
    free(env);
    /* a slot whose name cannot be a table */
    static const char *const bad_slots[] = {"a", "sqlite_x"};
    j = manifest_json(&t, "sql", json_pack("{s:s}", "query", "SELECT 1"), bad_slots, 2, false);
    env = seal_envelope(&t, j, true);
    e = init_call(&t, env, 0, &pk, &pkl, &spk, &spkl, &rep, &repl, &sig, &sigl);
    expect_refused(&t, e, WARD_ERR_INVALID_ARG, "cannot name a table");
    json_decref(j);
    free(env);
    /* after all these refusals the instance still takes a good envelope; the result opens
     * only with the manifest's recipient key (open_result tries another key first) */
    j = manifest_json(&t, "sql", json_pack("{s:s}", "query", "SELECT count(*) AS n FROM a, b"),
                      slots, 2, true);
    env = seal_envelope(&t, j, true);
    t.params = strdup("SELECT count(*) AS n FROM a, b");
    init_ok(&t, env, 0);
    json_decref(j);
    free(env);
    e = add(&t, "c", "k\n1\n", 4);
    expect_refused(&t, e, WARD_ERR_NOT_FOUND, "not in the manifest");
    add_ok(&t, "a", "k\n1\n2\n");
    add_ok(&t, "b", "k\n1\n2\n3\n");
    char *csv = NULL;
    assert_int_equal(run_task(&t, &csv), WARD_OK);
    assert_string_equal(csv, "n\r\n6\r\n");
    free(csv);
    finish(&t);
}

/* A result far larger than one ring message leaves the TA in pieces, each well under
 * max_message (1 MiB), and decrypts to exactly the CSV the statement signs. */
static void test_sql_large_result(void **state)
{
    (void)state;
    task t;
    const char *q = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
                    "WHERE x < 80000) SELECT c.x, printf('%040d', c.x * 7) AS pad, a.k FROM "
                    "c, a ORDER BY c.x";
    static const char *const slots[] = {"a"};
    start_sql(&t, q, slots, 1, 0);
    add_ok(&t, "a", "k\nz\n");
    char *csv = NULL;
    ward_err e = run_task(&t, &csv);
    if (e != WARD_OK) {
        char *m = last_error(&t);
        fail_msg("run: %s", m);
    }
    size_t n = strlen(csv);
    assert_true(n > 3u * 1024u * 1024u);
    assert_true(t.pieces > 3);
    assert_true(t.piece_max < 1024u * 1024u - 64u);
    char first[128], last[128];
    snprintf(first, sizeof first, "x,pad,k\r\n1,%040d,z\r\n", 7);
    assert_memory_equal(csv, first, strlen(first));
    snprintf(last, sizeof last, "80000,%040d,z\r\n", 560000);
    assert_string_equal(csv + n - strlen(last), last);
    free(csv);
    finish(&t);
}

/* Above the host's max_result the run fails with LIMIT and says so; a host that refuses a piece
 * fails the run too (with the host's error). Neither releases a statement. */
static void test_sql_result_limits(void **state)
{
    (void)state;
    task t;
    const char *q = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
                    "WHERE x < 5000) SELECT x FROM c, a";
    static const char *const slots[] = {"a"};
    start_sql(&t, q, slots, 1, 0);
    add_ok(&t, "a", "k\n1\n");
    t.max_result = 10000;
    expect_refused(&t, run_task(&t, NULL), WARD_ERR_LIMIT, "larger than the 10000 bytes");
    finish(&t);

    start_sql(&t, q, slots, 1, 0);
    add_ok(&t, "a", "k\n1\n");
    t.refuse = true;
    expect_refused(&t, run_task(&t, NULL), WARD_ERR_IO, "did not take a piece");
    finish(&t);
}

/* Several recipients: the one CSV is encrypted once per recipient (own data key, own header),
 * each stream opens only with its recipient's key, and the one statement covers them all
 * (run_task opens every stream and compares it with the first). */
static void test_multi_recipients(void **state)
{
    (void)state;
    static const char *const slots[] = {"a", "b"};
    task t;
    /* two recipients (F.party, F.other), sql */
    start_sql_r(&t, 2, "SELECT a.k, b.v FROM a JOIN b ON a.k = b.k ORDER BY a.k", slots, 2, 0);
    add_ok(&t, "a", "k\n1\n2\n3\n");
    add_ok(&t, "b", "k,v\n2,two\n3,three\n4,four\n");
    char *csv = NULL;
    ward_err e = run_task(&t, &csv);
    if (e != WARD_OK)
        fail_msg("run: %s", last_error(&t));
    assert_string_equal(csv, "k,v\r\n2,two\r\n3,three\r\n");
    free(csv);
    finish(&t);

    /* three recipients (F.third is a recipient only), psi */
    static const char *const cols[] = {"name"};
    start_psi_r(&t, 3, "email", cols, 1, slots, 2);
    add_ok(&t, "a", "email,name\nann@x,Ann\nbob@x,Bob\n");
    add_ok(&t, "b", "email\nbob@x\n");
    e = run_task(&t, &csv);
    if (e != WARD_OK)
        fail_msg("psi run: %s", last_error(&t));
    assert_string_equal(csv, "name\r\nBob\r\n");
    free(csv);
    finish(&t);

    /* three recipients and a result of several pieces: the streams interleave, each whole */
    const char *q = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
                    "WHERE x < 30000) SELECT c.x, printf('%040d', c.x) AS pad FROM c, a";
    start_sql_r(&t, 3, q, slots, 1, 0);
    add_ok(&t, "a", "k\nz\n");
    e = run_task(&t, &csv);
    if (e != WARD_OK)
        fail_msg("run: %s", last_error(&t));
    assert_true(strlen(csv) > 1024u * 1024u);
    assert_true(t.pieces > 3 * 3);
    free(csv);
    finish(&t);

    /* max_result bounds the CSV, not the sum of the recipients' ciphertexts */
    start_sql_r(&t, 3, q, slots, 1, 0);
    add_ok(&t, "a", "k\nz\n");
    t.max_result = 10000;
    expect_refused(&t, run_task(&t, NULL), WARD_ERR_LIMIT, "larger than the 10000 bytes");
    finish(&t);
    start_sql_r(&t, 2, "SELECT k FROM a", slots, 1, 0);
    add_ok(&t, "a", "k\n1\n2\n");
    t.max_result = 64;
    assert_int_equal(run_task(&t, &csv), WARD_OK);
    assert_string_equal(csv, "k\r\n1\r\n2\r\n");
    free(csv);
    finish(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sql_join_group_by),
        cmocka_unit_test(test_sql_sandbox_syscalls),
        cmocka_unit_test(test_sql_bad_queries),
        cmocka_unit_test(test_sql_bad_inputs),
        cmocka_unit_test(test_psi_three_inputs),
        cmocka_unit_test(test_envelope_checked_inside),
        cmocka_unit_test(test_sql_large_result),
        cmocka_unit_test(test_sql_result_limits),
        cmocka_unit_test(test_multi_recipients),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
