/* The built-in TAs `sql` and `psi` (docs/builtins.md) as wardd uses them: the images are read
 * from --builtin-dir at start, signed there with the node-local built-in signing key
 * (DATA_DIR/builtin-signer.pem, made on first start) and registered once with the TEE; each
 * task then gets its own instance. The calls are encoded here with the ward-gen wire encoding
 * (docs/sdk.md, "Wire encoding": u32/u64 little-endian, bool one byte, string/bytes a u32le
 * length and the bytes; outputs in declaration order, nothing trailing), the same bytes the
 * generated sql_host/psi_host stubs send. Call ids: init 0, add_input 1, run 2, last_error 3,
 * destroy 4 (the IDL line order); one ocall, result_piece 0, through which run hands over the
 * encrypted result piece by piece, each piece tagged with its recipient's index in the manifest
 * (so that its size is not bounded by max_message). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/wardd.h"
#include "ward/crypto.h"
#include "ward/err.h"
#include "ward/log.h"
#include "ward/manifest.h"
#include "ward/tee.h"

#define CALL_INIT 0u
#define CALL_ADD_INPUT 1u
#define CALL_RUN 2u
#define CALL_LAST_ERROR 3u
#define CALL_DESTROY 4u
#define OCALL_RESULT_PIECE 0u
#define RESP_CAP ((size_t)1 << 20) /* the instances' max_message (1 MiB, the default) */
#define IMAGE_MAX ((size_t)256 << 20)
#define SIGNER_FILE "builtin-signer.pem"

static const char *const call_names[] = {"init", "add_input", "run", "last_error", "destroy"};

/* ---- wire encoding ------------------------------------------------------------------------ */

typedef struct wr {
    uint8_t *p;
    size_t len, cap;
    int failed;
} wr;

static void put(wr *w, const void *b, size_t n)
{
    if (w->failed)
        return;
    if (n > w->cap - w->len) {
        w->failed = 1;
        return;
    }
    if (n > 0)
        memcpy(w->p + w->len, b, n);
    w->len += n;
}

static void put_u32(wr *w, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    put(w, b, 4);
}

static void put_u64(wr *w, uint64_t v)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    put(w, b, 8);
}

static void put_bytes(wr *w, const void *b, size_t n)
{
    if (n > UINT32_MAX) {
        w->failed = 1;
        return;
    }
    put_u32(w, (uint32_t)n);
    put(w, b, n);
}

static ward_err wr_new(wr *w, size_t cap)
{
    memset(w, 0, sizeof *w);
    w->p = malloc(cap > 0 ? cap : 1);
    w->cap = cap;
    return w->p == NULL ? ward_err_set(WARD_ERR_NOMEM, "out of memory") : WARD_OK;
}

static void wr_free(wr *w)
{
    if (w->p != NULL)
        ward_wipe(w->p, w->len);
    free(w->p);
    w->p = NULL;
}

typedef struct rd {
    const uint8_t *p;
    size_t len, off;
} rd;

/* One bytes/string output (malloc'd copy, NUL-terminated for strings' sake). */
static ward_err get_bytes(rd *r, uint8_t **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    if (r->len - r->off < 4)
        return ward_err_set(WARD_ERR_TRUNCATED, "TA response ends early");
    const uint8_t *b = r->p + r->off;
    size_t n = (size_t)b[0] | (size_t)b[1] << 8 | (size_t)b[2] << 16 | (size_t)b[3] << 24;
    r->off += 4;
    if (r->len - r->off < n)
        return ward_err_set(WARD_ERR_TRUNCATED, "TA response ends early");
    uint8_t *c = malloc(n + 1);
    if (c == NULL)
        return ward_err_set(WARD_ERR_NOMEM, "out of memory");
    if (n > 0)
        memcpy(c, r->p + r->off, n);
    c[n] = 0;
    r->off += n;
    *out = c;
    *out_len = n;
    return WARD_OK;
}

static ward_err rd_end(const rd *r)
{
    return r->off == r->len ? WARD_OK
                            : ward_err_set(WARD_ERR_FORMAT, "TA response has trailing bytes");
}

/* Calls id with the request in w; the response in a malloc'd buffer. */
static ward_err call(ward_tee_instance *inst, uint32_t id, wr *w, uint8_t **resp, size_t *len)
{
    *resp = NULL;
    *len = 0;
    if (w->failed)
        return ward_err_set(WARD_ERR_OVERFLOW, "TA request too large");
    uint8_t *out = malloc(RESP_CAP);
    if (out == NULL)
        return ward_err_set(WARD_ERR_NOMEM, "out of memory");
    size_t n = 0;
    ward_err err = ward_tee_call(inst, id, w->p, w->len, out, RESP_CAP, &n);
    if (err == WARD_OK && n > RESP_CAP)
        err = ward_err_set(WARD_ERR_OVERFLOW, "TA response too large");
    if (err != WARD_OK) {
        free(out);
        return err;
    }
    *resp = out;
    *len = n;
    return WARD_OK;
}

static void resp_free(uint8_t *p, size_t n)
{
    if (p != NULL)
        ward_wipe(p, n);
    free(p);
}

void wardd_ta_init_free(wardd_ta_init *t)
{
    free(t->task_pk);
    free(t->sign_pk);
    free(t->report);
    free(t->report_sig);
    memset(t, 0, sizeof *t);
}

ward_err wardd_ta_init_call(ward_tee_instance *inst, const char *envelope, size_t envelope_len,
                            uint64_t max_input, wardd_ta_init *out)
{
    memset(out, 0, sizeof *out);
    if (envelope_len > RESP_CAP - 64 || memchr(envelope, 0, envelope_len) != NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "TA init: the envelope is too large");
    wr w;
    ward_err err = wr_new(&w, 4 + envelope_len + 8);
    if (err != WARD_OK)
        return err;
    put_bytes(&w, envelope, envelope_len);
    put_u64(&w, max_input);
    uint8_t *resp = NULL;
    size_t rl = 0;
    err = call(inst, CALL_INIT, &w, &resp, &rl);
    wr_free(&w);
    if (err != WARD_OK)
        return err;
    rd r = {resp, rl, 0};
    err = get_bytes(&r, &out->task_pk, &out->task_pk_len);
    if (err == WARD_OK)
        err = get_bytes(&r, &out->sign_pk, &out->sign_pk_len);
    if (err == WARD_OK)
        err = get_bytes(&r, &out->report, &out->report_len);
    if (err == WARD_OK)
        err = get_bytes(&r, &out->report_sig, &out->report_sig_len);
    if (err == WARD_OK)
        err = rd_end(&r);
    if (err == WARD_OK && (out->task_pk_len != 32 || out->report_len != WARD_REPORT_LEN ||
                           out->report_sig_len != WARD_REPORT_SIG_LEN || out->sign_pk_len == 0))
        err = ward_err_set(WARD_ERR_FORMAT, "TA init: unexpected output sizes");
    resp_free(resp, rl);
    if (err != WARD_OK)
        wardd_ta_init_free(out);
    return err;
}

ward_err wardd_ta_add_input(ward_tee_instance *inst, const char *slot, const uint8_t *chunk,
                            size_t len, int last)
{
    size_t tl = strlen(slot);
    if (tl > 1024 || len > RESP_CAP)
        return ward_err_set(WARD_ERR_INVALID_ARG, "TA add_input: argument too large");
    wr w;
    ward_err err = wr_new(&w, 4 + tl + 4 + len + 1);
    if (err != WARD_OK)
        return err;
    put_bytes(&w, slot, tl);
    put_bytes(&w, chunk, len);
    uint8_t b = last ? 1 : 0;
    put(&w, &b, 1);
    uint8_t *resp = NULL;
    size_t rl = 0;
    err = call(inst, CALL_ADD_INPUT, &w, &resp, &rl);
    /* The request holds only ciphertext: a plain free is enough, but wipe anyway. */
    wr_free(&w);
    if (err == WARD_OK && rl != 0)
        err = ward_err_set(WARD_ERR_FORMAT, "TA add_input: unexpected output");
    resp_free(resp, rl);
    return err;
}

void wardd_ta_result_free(wardd_ta_result *r)
{
    free(r->statement);
    free(r->result_sig);
    memset(r, 0, sizeof *r);
}

/* The only ocall: result_piece(in u32 recipient, in bytes data), id 0. What the TA sends is
 * ciphertext; the sink checks that recipient names one of the task's. */
ward_err wardd_ta_ocall(void *arg, uint32_t ocall_id, const uint8_t *in, size_t in_len,
                        uint8_t *out, size_t out_cap, size_t *out_len)
{
    (void)out;
    (void)out_cap;
    *out_len = 0;
    const wardd_ta_sink *sink = arg;
    if (ocall_id != OCALL_RESULT_PIECE)
        return WARD_ERR_NOT_FOUND;
    if (in_len < 8)
        return WARD_ERR_FORMAT;
    uint32_t recipient = (uint32_t)in[0] | (uint32_t)in[1] << 8 | (uint32_t)in[2] << 16 |
                         (uint32_t)in[3] << 24;
    size_t n = (size_t)in[4] | (size_t)in[5] << 8 | (size_t)in[6] << 16 | (size_t)in[7] << 24;
    if (n != in_len - 8)
        return WARD_ERR_FORMAT;
    if (sink == NULL || sink->write == NULL)
        return WARD_ERR_STATE;
    return sink->write(sink->arg, recipient, in + 8, n);
}

ward_err wardd_ta_run(ward_tee_instance *inst, uint64_t max_result, wardd_ta_result *out)
{
    memset(out, 0, sizeof *out);
    wr w;
    ward_err err = wr_new(&w, 8);
    if (err != WARD_OK)
        return err;
    put_u64(&w, max_result);
    uint8_t *resp = NULL;
    size_t rl = 0;
    err = call(inst, CALL_RUN, &w, &resp, &rl);
    wr_free(&w);
    if (err != WARD_OK)
        return err;
    rd r = {resp, rl, 0};
    err = get_bytes(&r, &out->statement, &out->statement_len);
    if (err == WARD_OK)
        err = get_bytes(&r, &out->result_sig, &out->result_sig_len);
    if (err == WARD_OK)
        err = rd_end(&r);
    resp_free(resp, rl);
    if (err != WARD_OK)
        wardd_ta_result_free(out);
    return err;
}

char *wardd_ta_last_error(ward_tee_instance *inst)
{
    if (inst == NULL || !ward_tee_instance_alive(inst))
        return NULL;
    wr w;
    if (wr_new(&w, 1) != WARD_OK)
        return NULL;
    uint8_t *resp = NULL;
    size_t rl = 0;
    ward_err err = call(inst, CALL_LAST_ERROR, &w, &resp, &rl);
    wr_free(&w);
    if (err != WARD_OK)
        return NULL;
    rd r = {resp, rl, 0};
    uint8_t *msg = NULL;
    size_t ml = 0;
    err = get_bytes(&r, &msg, &ml);
    if (err == WARD_OK)
        err = rd_end(&r);
    resp_free(resp, rl);
    if (err != WARD_OK || memchr(msg, 0, ml) != NULL) {
        free(msg);
        return NULL;
    }
    return (char *)msg;
}

void wardd_ta_destroy(ward_tee_instance *inst)
{
    if (inst == NULL)
        return;
    if (ward_tee_instance_alive(inst)) {
        wr w;
        if (wr_new(&w, 1) == WARD_OK) {
            uint8_t *resp = NULL;
            size_t rl = 0;
            if (call(inst, CALL_DESTROY, &w, &resp, &rl) == WARD_OK)
                resp_free(resp, rl);
            wr_free(&w);
        }
    }
    (void)ward_tee_destroy(inst);
}

/* ---- images ------------------------------------------------------------------------------- */

static ward_err read_image(const char *path, uint8_t **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return ward_err_set(WARD_ERR_NOT_FOUND, "cannot open the built-in TA %s", path);
    size_t cap = (size_t)1 << 20, n = 0;
    uint8_t *b = malloc(cap);
    ward_err err = b == NULL ? ward_err_set(WARD_ERR_NOMEM, "out of memory") : WARD_OK;
    while (err == WARD_OK) {
        if (n == cap) {
            if (cap >= IMAGE_MAX) {
                err = ward_err_set(WARD_ERR_LIMIT, "%s: larger than %zu bytes", path, IMAGE_MAX);
                break;
            }
            uint8_t *nb = realloc(b, cap * 2);
            if (nb == NULL) {
                err = ward_err_set(WARD_ERR_NOMEM, "out of memory");
                break;
            }
            b = nb;
            cap *= 2;
        }
        size_t got = fread(b + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            if (ferror(f))
                err = ward_err_set(WARD_ERR_IO, "cannot read %s", path);
            break;
        }
    }
    fclose(f);
    if (err != WARD_OK) {
        free(b);
        return err;
    }
    *out = b;
    *len = n;
    return WARD_OK;
}

static ward_err register_one(wardd *d, const ward_pkey *signer, const char *name,
                             uint16_t product_id, ward_tee_image **out)
{
    size_t pl = strlen(d->builtin_dir) + strlen(name) + 2;
    char *path = malloc(pl);
    if (path == NULL)
        return ward_err_set(WARD_ERR_NOMEM, "out of memory");
    snprintf(path, pl, "%s/%s", d->builtin_dir, name);
    uint8_t *image = NULL;
    size_t len = 0;
    ward_err err = read_image(path, &image, &len);
    char *json = NULL;
    size_t jl = 0;
    ward_ta_params p = {name, product_id, 1, 0, (uint64_t)256 << 20, 4, call_names, 5};
    if (err == WARD_OK)
        err = ward_manifest_sign(image, len, &p, signer, &json, &jl);
    if (err == WARD_OK)
        err = ward_tee_image_register(d->tee, image, len, json, jl, out);
    if (err == WARD_OK) {
        uint8_t m[WARD_SHA256_LEN];
        char hex[2 * WARD_SHA256_LEN + 1];
        ward_manifest_measurement(ward_tee_image_manifest(*out), m);
        for (size_t i = 0; i < sizeof m; i++)
            snprintf(hex + 2 * i, 3, "%02x", m[i]);
        ward_log(WARD_LOG_INFO, "wardd.builtin", "name", name, "path", path, "measurement", hex,
                 (char *)NULL);
    }
    free(json);
    free(image);
    free(path);
    return err;
}

ward_err wardd_builtins_open(wardd *d)
{
    ward_tee_config cfg = {WARD_TEE_SANDBOX, d->rot, 0, 0};
    ward_err err = ward_tee_open(&cfg, &d->tee);
    if (err != WARD_OK)
        return ward_err_wrap(err, "TEE");
    /* Without the images (a build without SQLite's static library) the node still serves
     * attestation; task creation then answers 503. */
    size_t cl = strlen(d->builtin_dir) + sizeof "/sql";
    char *check = malloc(cl);
    if (check == NULL)
        return ward_err_set(WARD_ERR_NOMEM, "out of memory");
    snprintf(check, cl, "%s/sql", d->builtin_dir);
    FILE *probe = fopen(check, "rb");
    free(check);
    if (probe == NULL) {
        ward_log(WARD_LOG_ERROR, "wardd.builtin", "error",
                 "built-in TA images not found: tasks are unavailable", "dir", d->builtin_dir,
                 (char *)NULL);
        return WARD_OK;
    }
    fclose(probe);
    size_t pl = strlen(d->data_dir) + sizeof SIGNER_FILE + 1;
    char *path = malloc(pl);
    if (path == NULL)
        return ward_err_set(WARD_ERR_NOMEM, "out of memory");
    snprintf(path, pl, "%s/%s", d->data_dir, SIGNER_FILE);
    ward_pkey *signer = NULL;
    err = wardd_key_load_or_create(path, &signer);
    free(path);
    if (err != WARD_OK)
        return ward_err_wrap(err, "built-in signing key");
    err = register_one(d, signer, "sql", 1, &d->img_sql);
    if (err == WARD_OK)
        err = register_one(d, signer, "psi", 1, &d->img_psi);
    ward_pkey_free(signer);
    return err;
}

void wardd_builtins_close(wardd *d)
{
    if (d->tee != NULL)
        ward_tee_close(d->tee); /* releases the images */
    d->tee = NULL;
    d->img_sql = d->img_psi = NULL;
}
