/* `ward ta run`: registers a signed TA image, starts an instance and either calls one function
 * with typed arguments (--idl FILE --call NAME ARG...) or runs the standard demonstration:
 * a report over a fresh nonce, verified with the platform key and checked against the
 * manifest; a value sealed, the instance destroyed, a new instance started, the value unsealed;
 * a tampered blob refused. Every step prints what it shows; the exit status is 0 only if every
 * step succeeded.
 *
 * Arguments and results are marshalled with the same IDL parser and wire runtime as ward-gen's
 * generated code (tools/ward-gen/idl.c, wire_rt.h), interpreted at run time. */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "ward-gen/idl.h"
#include "ward/crypto.h"
#include "ward/encoding.h"
#include "ward/err.h"
#include "ward/manifest.h"
#include "ward/report.h"
#include "ward/rot.h"
#include "ward/tee.h"

#define WG__SET_ERROR 1
#include "ward-gen/wire_rt.h"

#define RESPONSE_CAP ((size_t)1 << 20) /* the default max_message of an instance */
#define ARG_FILE_MAX ((size_t)1 << 20)
#define DEMO_NONCE_LEN 32u

static const char help[] =
    "usage: ward ta run --image IMAGE --manifest MANIFEST.json [options]\n"
    "       ward ta run --image IMAGE --manifest MANIFEST.json --idl FILE.idl --call NAME [ARG...]\n"
    "\n"
    "Registers a signed TA image (signature, image hash and measurement are checked before it\n"
    "runs) and starts an instance of it.\n"
    "\n"
    "Without --call: the standard demonstration, for a TA that exports report, seal and unseal\n"
    "as the example does (docs/sdk.md): a report over a fresh nonce, verified with the platform\n"
    "key and checked against the manifest; a value sealed, the instance destroyed, a new\n"
    "instance started and the value unsealed; a tampered blob refused.\n"
    "\n"
    "With --call: calls NAME with ARGs typed by the interface description and prints the\n"
    "outputs. An ARG is name=value or a value in parameter order: integers in decimal (or 0x\n"
    "hex), bools true/false, strings as they are, bytes as hex, hex:HEX, str:TEXT or @FILE.\n"
    "Outputs: bytes in hex, strings with control characters escaped. Ocalls the TA makes are\n"
    "printed to stderr (an ocall with outputs is answered 'unsupported').\n"
    "\n"
    "options:\n"
    "  --image IMAGE        the TA image (static-PIE executable)\n"
    "  --manifest FILE      its signed manifest (`ward ta sign`)\n"
    "  --data-dir DIR       the node's data directory: platform key, sealing secret\n"
    "                       (default: $XDG_DATA_HOME/ward; created on first use)\n"
    "  --backend NAME       sandbox (default) or sim (debugging only: reports say debug)\n"
    "  --idl FILE           the TA's interface description (needed by --call); checked\n"
    "                       against the manifest's calls\n"
    "  --call NAME [ARG...] call NAME; everything after NAME is an argument\n"
    "  --json               one JSON document on stdout\n"
    "\n"
    "exit status: 0 every step succeeded, 1 a step failed, 2 bad usage\n";

typedef struct run_ctx {
    int json;
    const idl_file *idl; /* NULL without --idl */
    unsigned ocalls;
} run_ctx;

/* ---- printing ---------------------------------------------------------------------------- */

static void print_hex(FILE *fp, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fprintf(fp, "%02x", p[i]);
}

static char *hex_str(const uint8_t *p, size_t n)
{
    char *s = NULL;
    if (ward_hex_encode(p, n, &s, NULL) != WARD_OK)
        return NULL;
    return s;
}

/* A string the TA sent, printed so that it cannot drive the terminal: control characters,
 * backslash and quote escaped (it is valid UTF-8: the wire runtime checked). */
static void print_escaped(FILE *fp, const uint8_t *s, size_t n)
{
    fputc('"', fp);
    for (size_t i = 0; i < n; i++) {
        uint8_t c = s[i];
        if (c == '"' || c == '\\')
            fprintf(fp, "\\%c", c);
        else if (c < 0x20 || c == 0x7f)
            fprintf(fp, "\\x%02x", c);
        else
            fputc(c, fp);
    }
    fputc('"', fp);
}

/* JSON has exact integers up to 2^53 - 1 for most readers: beyond that, a decimal string. */
static json_t *json_u64(uint64_t v)
{
    if (v <= (UINT64_C(1) << 53) - 1)
        return json_integer((json_int_t)v);
    char buf[32];
    snprintf(buf, sizeof buf, "%" PRIu64, v);
    return json_string(buf);
}

static json_t *json_i64(int64_t v)
{
    int64_t lim = (INT64_C(1) << 53) - 1;
    if (v >= -lim && v <= lim)
        return json_integer((json_int_t)v);
    char buf[32];
    snprintf(buf, sizeof buf, "%" PRId64, v);
    return json_string(buf);
}

/* ---- values from the command line -------------------------------------------------------- */

static int parse_u64(const char *s, uint64_t *out)
{
    if (s[0] == '\0' || s[0] == '-' || s[0] == '+' || s[0] == ' ')
        return -1;
    int base = 10;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
        if (s[0] == '\0' || s[0] == '-' || s[0] == '+' || s[0] == ' ')
            return -1;
    }
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, base);
    if (errno != 0 || end == s || *end != '\0')
        return -1;
    *out = (uint64_t)v;
    return 0;
}

static int parse_i64(const char *s, int64_t *out)
{
    if (s[0] == '\0' || s[0] == '+' || s[0] == ' ')
        return -1;
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0')
        return -1;
    *out = (int64_t)v;
    return 0;
}

static ward_err read_arg_file(const char *path, uint8_t **out, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    if (fp == NULL)
        return ward_err_set(WARD_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    uint8_t *buf = malloc(ARG_FILE_MAX + 1);
    if (buf == NULL) {
        fclose(fp);
        return ward_err_set(WARD_ERR_NOMEM, "out of memory");
    }
    size_t n = fread(buf, 1, ARG_FILE_MAX + 1, fp);
    int bad = ferror(fp);
    fclose(fp);
    if (bad || n > ARG_FILE_MAX) {
        free(buf);
        return ward_err_set(bad ? WARD_ERR_IO : WARD_ERR_LIMIT, "%s: %s", path,
                            bad ? "read error" : "larger than 1 MiB");
    }
    *out = buf;
    *len = n;
    return WARD_OK;
}

/* Encodes one argument of type t into w. Usage errors return WARD_ERR_INVALID_ARG. */
static ward_err encode_arg(wg__wr *w, const idl_param *p, const char *val)
{
    switch (p->type) {
    case IDL_U32:
    case IDL_U64: {
        uint64_t v;
        if (parse_u64(val, &v) != 0 || (p->type == IDL_U32 && v > UINT32_MAX))
            return ward_err_set(WARD_ERR_INVALID_ARG, "%s: '%s' is not a %s", p->name, val,
                                idl_type_name(p->type));
        return p->type == IDL_U32 ? wg__put_u32(w, (uint32_t)v, p->name)
                                  : wg__put_u64(w, v, p->name);
    }
    case IDL_I64: {
        int64_t v;
        if (parse_i64(val, &v) != 0)
            return ward_err_set(WARD_ERR_INVALID_ARG, "%s: '%s' is not an i64", p->name, val);
        return wg__put_i64(w, v, p->name);
    }
    case IDL_BOOL:
        if (strcmp(val, "true") == 0 || strcmp(val, "1") == 0)
            return wg__put_bool(w, true, p->name);
        if (strcmp(val, "false") == 0 || strcmp(val, "0") == 0)
            return wg__put_bool(w, false, p->name);
        return ward_err_set(WARD_ERR_INVALID_ARG, "%s: '%s' is not true or false", p->name, val);
    case IDL_STRING:
        return wg__put_str(w, val, p->name);
    case IDL_BYTES: {
        uint8_t *b = NULL;
        size_t n = 0;
        ward_err err;
        if (strncmp(val, "str:", 4) == 0) {
            return wg__put_bytes(w, (const uint8_t *)val + 4, strlen(val + 4), p->name);
        } else if (val[0] == '@') {
            err = read_arg_file(val + 1, &b, &n);
            if (err != WARD_OK)
                return ward_err_wrap(WARD_ERR_INVALID_ARG, "%s", p->name);
        } else {
            const char *hex = strncmp(val, "hex:", 4) == 0 ? val + 4 : val;
            if (ward_hex_decode(hex, strlen(hex), &b, &n) != WARD_OK)
                return ward_err_set(WARD_ERR_INVALID_ARG,
                                    "%s: '%s' is not hex (or hex:HEX, str:TEXT, @FILE)", p->name,
                                    val);
        }
        err = wg__put_bytes(w, b, n, p->name);
        free(b);
        return err;
    }
    }
    return ward_err_set(WARD_ERR_INVALID_ARG, "%s: unknown type", p->name);
}

/* The request of call f from args (name=value or positional). */
static ward_err build_request(const idl_func *f, char **args, int n_args, uint8_t **req,
                              size_t *req_len)
{
    const char *vals[IDL_MAX_PARAMS] = {0};
    unsigned char used[256];
    if (n_args > 256)
        return ward_err_set(WARD_ERR_INVALID_ARG, "too many arguments");
    memset(used, 0, sizeof used);
    /* named first */
    for (int a = 0; a < n_args; a++) {
        const char *eq = strchr(args[a], '=');
        if (eq == NULL)
            continue;
        for (size_t i = 0; i < f->n_params; i++) {
            const idl_param *p = &f->params[i];
            if (strlen(p->name) == (size_t)(eq - args[a]) &&
                strncmp(args[a], p->name, (size_t)(eq - args[a])) == 0) {
                if (p->dir != IDL_IN)
                    return ward_err_set(WARD_ERR_INVALID_ARG, "'%s' is an output of %s",
                                        p->name, f->name);
                if (vals[i] != NULL)
                    return ward_err_set(WARD_ERR_INVALID_ARG, "'%s' given twice", p->name);
                vals[i] = eq + 1;
                used[a] = 1;
                break;
            }
        }
    }
    /* then positional, in parameter order */
    size_t next = 0;
    for (int a = 0; a < n_args; a++) {
        if (used[a])
            continue;
        while (next < f->n_params && (f->params[next].dir != IDL_IN || vals[next] != NULL))
            next++;
        if (next >= f->n_params)
            return ward_err_set(WARD_ERR_INVALID_ARG, "too many arguments for %s (at '%s')",
                                f->name, args[a]);
        vals[next++] = args[a];
    }
    for (size_t i = 0; i < f->n_params; i++)
        if (f->params[i].dir == IDL_IN && vals[i] == NULL)
            return ward_err_set(WARD_ERR_INVALID_ARG, "missing argument '%s' (%s) for %s",
                                f->params[i].name, idl_type_name(f->params[i].type), f->name);

    wg__wr w = {NULL, SIZE_MAX, 0};
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1) {
            size_t len = w.len;
            uint8_t *buf = calloc(1, len > 0 ? len : 1);
            if (buf == NULL)
                return ward_err_set(WARD_ERR_NOMEM, "out of memory");
            w = (wg__wr){buf, len, 0};
        }
        for (size_t i = 0; i < f->n_params; i++) {
            if (f->params[i].dir != IDL_IN)
                continue;
            ward_err err = encode_arg(&w, &f->params[i], vals[i]);
            if (err != WARD_OK) {
                free(w.p);
                return err == WARD_ERR_OVERFLOW ? err : WARD_ERR_INVALID_ARG;
            }
        }
    }
    *req = w.p;
    *req_len = w.len;
    return WARD_OK;
}

/* Decodes params of direction dir from m and prints them (text) or adds them to obj (JSON).
 * Everything is checked: lengths, trailing bytes, bools, UTF-8. */
static ward_err decode_params(const idl_func *f, idl_dir dir, const uint8_t *m, size_t n,
                              FILE *fp, json_t *obj)
{
    wg__rd r = {m, n, 0};
    /* decode fully first, print after: nothing from a malformed message is shown */
    for (int pass = 0; pass < 2; pass++) {
        r.off = 0;
        for (size_t i = 0; i < f->n_params; i++) {
            const idl_param *p = &f->params[i];
            if (p->dir != dir)
                continue;
            ward_err err = WARD_OK;
            json_t *jv = NULL;
            if (pass == 1 && fp != NULL)
                fprintf(fp, "  %s = ", p->name);
            switch (p->type) {
            case IDL_U32: {
                uint32_t v = 0;
                if ((err = wg__get_u32(&r, &v, p->name)) == WARD_OK && pass == 1) {
                    if (fp != NULL)
                        fprintf(fp, "%" PRIu32, v);
                    jv = json_integer(v);
                }
                break;
            }
            case IDL_U64: {
                uint64_t v = 0;
                if ((err = wg__get_u64(&r, &v, p->name)) == WARD_OK && pass == 1) {
                    if (fp != NULL)
                        fprintf(fp, "%" PRIu64, v);
                    jv = json_u64(v);
                }
                break;
            }
            case IDL_I64: {
                int64_t v = 0;
                if ((err = wg__get_i64(&r, &v, p->name)) == WARD_OK && pass == 1) {
                    if (fp != NULL)
                        fprintf(fp, "%" PRId64, v);
                    jv = json_i64(v);
                }
                break;
            }
            case IDL_BOOL: {
                bool v = false;
                if ((err = wg__get_bool(&r, &v, p->name)) == WARD_OK && pass == 1) {
                    if (fp != NULL)
                        fputs(v ? "true" : "false", fp);
                    jv = json_boolean(v);
                }
                break;
            }
            case IDL_STRING: {
                const uint8_t *s = NULL;
                size_t sn = 0;
                if ((err = wg__get_str(&r, &s, &sn, p->name)) == WARD_OK && pass == 1) {
                    if (fp != NULL)
                        print_escaped(fp, s, sn);
                    jv = json_stringn((const char *)s, sn);
                }
                break;
            }
            case IDL_BYTES: {
                const uint8_t *b = NULL;
                size_t bn = 0;
                if ((err = wg__get_bytes(&r, &b, &bn, p->name)) == WARD_OK && pass == 1) {
                    if (fp != NULL) {
                        print_hex(fp, b, bn);
                        fprintf(fp, " (%zu bytes)", bn);
                    }
                    char *h = hex_str(b, bn);
                    jv = h != NULL ? json_string(h) : NULL;
                    free(h);
                }
                break;
            }
            }
            if (err != WARD_OK)
                return err;
            if (pass == 1 && fp != NULL)
                fputc('\n', fp);
            if (jv != NULL && obj != NULL)
                json_object_set_new(obj, p->name, jv);
            else
                json_decref(jv);
        }
        ward_err err = wg__end(&r, f->name);
        if (err != WARD_OK)
            return err;
    }
    return WARD_OK;
}

/* ---- ocalls from the TA ------------------------------------------------------------------ */

static ward_err on_ocall(void *arg, uint32_t ocall_id, const uint8_t *in, size_t in_len,
                         uint8_t *out, size_t out_cap, size_t *out_len)
{
    (void)out;
    (void)out_cap;
    run_ctx *ctx = arg;
    ctx->ocalls++;
    *out_len = 0;
    const idl_func *f = NULL;
    if (ctx->idl != NULL && ocall_id < ctx->idl->n_ocalls)
        f = &ctx->idl->ocalls[ocall_id];
    if (f == NULL) {
        fprintf(stderr, "ocall #%" PRIu32 " (%zu bytes): not in the interface description\n",
                ocall_id, in_len);
        return ward_err_set(WARD_ERR_NOT_FOUND, "unknown ocall %" PRIu32, ocall_id);
    }
    /* decode into a buffer first so that a malformed ocall prints nothing */
    ward_err err = decode_params(f, IDL_IN, in, in_len, NULL, NULL);
    if (err != WARD_OK) {
        fprintf(stderr, "ocall %s: malformed input refused: %s\n", f->name, ward_errmsg());
        return err;
    }
    fprintf(stderr, "ocall %s:\n", f->name);
    decode_params(f, IDL_IN, in, in_len, stderr, NULL);
    for (size_t i = 0; i < f->n_params; i++)
        if (f->params[i].dir == IDL_OUT) {
            fprintf(stderr, "  (ward ta run cannot answer an ocall with outputs)\n");
            return ward_err_set(WARD_ERR_UNSUPPORTED, "ocall %s has outputs", f->name);
        }
    return WARD_OK;
}

/* ---- the calls the demonstration makes (the example's signatures) ------------------------ */

/* Calls id with one bytes input and n_out bytes outputs; outputs point into resp. */
static ward_err call_bytes(ward_tee_instance *inst, uint32_t id, const char *what,
                           const uint8_t *in, size_t in_len, uint8_t *resp, size_t n_out,
                           const uint8_t **outs, size_t *out_lens)
{
    wg__wr w = {NULL, SIZE_MAX, 0};
    ward_err err = wg__put_bytes(&w, in, in_len, what);
    if (err != WARD_OK)
        return err;
    uint8_t *req = calloc(1, w.len);
    if (req == NULL)
        return ward_err_set(WARD_ERR_NOMEM, "out of memory");
    w = (wg__wr){req, w.len, 0};
    err = wg__put_bytes(&w, in, in_len, what);
    size_t resp_len = 0;
    if (err == WARD_OK)
        err = ward_tee_call(inst, id, req, w.len, resp, RESPONSE_CAP, &resp_len);
    free(req);
    if (err != WARD_OK)
        return ward_err_wrap(err, "%s", what);
    if (resp_len > RESPONSE_CAP)
        return ward_err_set(WARD_ERR_OVERFLOW, "%s: response larger than its buffer", what);
    wg__rd r = {resp, resp_len, 0};
    for (size_t i = 0; i < n_out && err == WARD_OK; i++)
        err = wg__get_bytes(&r, &outs[i], &out_lens[i], what);
    if (err == WARD_OK)
        err = wg__end(&r, what);
    return err;
}

/* The IDL, if given, must declare name with exactly this signature. */
static int demo_signature_ok(const idl_file *idl, const char *name, size_t n_in, size_t n_out)
{
    if (idl == NULL)
        return 1;
    const idl_func *f = idl_find_call(idl, name, NULL);
    if (f == NULL || f->n_params != n_in + n_out)
        return 0;
    for (size_t i = 0; i < f->n_params; i++)
        if (f->params[i].type != IDL_BYTES || f->params[i].dir != (i < n_in ? IDL_IN : IDL_OUT))
            return 0;
    return 1;
}

typedef struct demo_state {
    ward_tee *tee;
    ward_tee_image *img;
    run_ctx *ctx;
    json_t *doc;
    FILE *txt; /* stdout in text mode, NULL with --json */
} demo_state;

static void say(demo_state *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(demo_state *d, const char *fmt, ...)
{
    if (d->txt == NULL)
        return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(d->txt, fmt, ap);
    va_end(ap);
}

static void say_id(demo_state *d, const char *label, ward_tee_instance *inst)
{
    uint8_t id[16];
    ward_tee_instance_id(inst, id);
    say(d, "%s", label);
    if (d->txt != NULL) {
        print_hex(d->txt, id, sizeof id);
        fputc('\n', d->txt);
    }
}

static ward_err run_demo(demo_state *d)
{
    const ward_manifest *m = ward_tee_image_manifest(d->img);
    uint32_t id_report, id_seal, id_unseal;
    if (ward_manifest_call_id(m, "report", &id_report) != WARD_OK ||
        ward_manifest_call_id(m, "seal", &id_seal) != WARD_OK ||
        ward_manifest_call_id(m, "unseal", &id_unseal) != WARD_OK)
        return ward_err_set(WARD_ERR_NOT_FOUND,
                            "the TA does not export report, seal and unseal: nothing to "
                            "demonstrate (use --idl FILE --call NAME to call it)");
    if (!demo_signature_ok(d->ctx->idl, "report", 1, 2) ||
        !demo_signature_ok(d->ctx->idl, "seal", 1, 1) ||
        !demo_signature_ok(d->ctx->idl, "unseal", 1, 1))
        return ward_err_set(WARD_ERR_UNSUPPORTED,
                            "report, seal or unseal does not have the example's signature "
                            "(docs/sdk.md); use --call");

    uint8_t *resp = malloc(RESPONSE_CAP);
    if (resp == NULL)
        return ward_err_set(WARD_ERR_NOMEM, "out of memory");
    ward_tee_instance *inst = NULL;
    uint8_t *blob = NULL;
    size_t blob_len = 0;
    ward_err err;

    /* 1. an instance */
    err = ward_tee_create(d->tee, d->img, NULL, on_ocall, d->ctx, &inst);
    if (err != WARD_OK) {
        ward_err_wrap(err, "starting an instance");
        goto out;
    }
    say_id(d, "instance 1 started      id ", inst);

    /* 2. a report over a fresh nonce, verified and checked against the manifest */
    uint8_t nonce[DEMO_NONCE_LEN];
    if ((err = ward_random(nonce, sizeof nonce)) != WARD_OK)
        goto out;
    const uint8_t *outs[2];
    size_t lens[2];
    err = call_bytes(inst, id_report, "report", nonce, sizeof nonce, resp, 2, outs, lens);
    if (err != WARD_OK)
        goto out;
    if (lens[1] != WARD_REPORT_SIG_LEN) {
        err = ward_err_set(WARD_ERR_FORMAT, "report: signature of %zu bytes", lens[1]);
        goto out;
    }
    ward_report r;
    err = ward_tee_report_verify(d->tee, outs[0], lens[0], outs[1], &r);
    if (err != WARD_OK) {
        ward_err_wrap(err, "the report's signature");
        goto out;
    }
    uint8_t want_rd[WARD_REPORT_DATA_LEN] = {0};
    memcpy(want_rd, nonce, sizeof nonce);
    uint8_t meas[WARD_SHA256_LEN], signer[WARD_SHA256_LEN], inst_id[16];
    ward_manifest_measurement(m, meas);
    ward_manifest_signer(m, signer);
    ward_tee_instance_id(inst, inst_id);
    if (memcmp(r.report_data, want_rd, sizeof want_rd) != 0) {
        err = ward_err_set(WARD_ERR_VERIFY, "the report does not carry the fresh nonce");
        goto out;
    }
    if (memcmp(r.measurement, meas, sizeof meas) != 0 ||
        memcmp(r.signer, signer, sizeof signer) != 0 ||
        r.product_id != ward_manifest_product_id(m) || r.svn != ward_manifest_svn(m)) {
        err = ward_err_set(WARD_ERR_VERIFY, "the report's identity differs from the manifest");
        goto out;
    }
    if (memcmp(r.instance_id, inst_id, sizeof inst_id) != 0) {
        err = ward_err_set(WARD_ERR_VERIFY, "the report names another instance");
        goto out;
    }
    int debug = (r.attributes & WARD_ATTR_DEBUG) != 0;
    const char *platform = ward_platform_name(r.platform);
    say(d, "report                  verified with the platform key (%s)\n", platform);
    if (d->txt != NULL) {
        fputs("  measurement           ", d->txt);
        print_hex(d->txt, r.measurement, sizeof r.measurement);
        fputs("  (= the manifest's)\n  signer                ", d->txt);
        print_hex(d->txt, r.signer, sizeof r.signer);
        fputs("  (= the manifest's)\n", d->txt);
    }
    say(d, "  product id, svn       %u, %u\n", r.product_id, r.svn);
    say(d, "  debug                 %s\n", debug ? "yes (fails every production policy)" : "no");
    say(d, "  report_data           the fresh %u-byte nonce, zero-padded: bound to this "
           "request\n", DEMO_NONCE_LEN);
    if (r.platform == WARD_PLATFORM_SW_SANDBOX)
        say(d, "  platform              software TEE: protects the TA from other processes "
               "and users, not from the machine's root\n");
    if (d->doc != NULL) {
        char *hm = hex_str(r.measurement, 32), *hs = hex_str(r.signer, 32);
        char *hi = hex_str(inst_id, 16), *hn = hex_str(nonce, sizeof nonce);
        json_object_set_new(d->doc, "report",
                            json_pack("{s:b, s:s, s:s?, s:s?, s:i, s:i, s:b, s:s?, s:s?}",
                                      "verified", 1, "platform", platform, "measurement", hm,
                                      "signer", hs, "product_id", (int)r.product_id, "svn",
                                      (int)r.svn, "debug", debug, "instance_id", hi, "nonce",
                                      hn));
        free(hm);
        free(hs);
        free(hi);
        free(hn);
    }

    /* 3. seal a value */
    char secret[96];
    uint8_t rnd[16];
    if ((err = ward_random(rnd, sizeof rnd)) != WARD_OK)
        goto out;
    int sn = snprintf(secret, sizeof secret, "sealed by ward ta run: ");
    for (size_t i = 0; i < sizeof rnd && sn > 0 && (size_t)sn + 3 < sizeof secret; i++)
        sn += snprintf(secret + sn, sizeof secret - (size_t)sn, "%02x", rnd[i]);
    size_t secret_len = strlen(secret);
    err = call_bytes(inst, id_seal, "seal", (const uint8_t *)secret, secret_len, resp, 1, outs,
                     lens);
    if (err != WARD_OK)
        goto out;
    blob = malloc(lens[0] > 0 ? lens[0] : 1);
    if (blob == NULL) {
        err = ward_err_set(WARD_ERR_NOMEM, "out of memory");
        goto out;
    }
    memcpy(blob, outs[0], lens[0]);
    blob_len = lens[0];
    say(d, "sealed                  %zu bytes -> a blob of %zu bytes\n", secret_len, blob_len);

    /* 4. a new instance unseals it */
    err = ward_tee_destroy(inst);
    inst = NULL;
    if (err != WARD_OK) {
        ward_err_wrap(err, "destroying instance 1");
        goto out;
    }
    say(d, "instance 1 destroyed\n");
    err = ward_tee_create(d->tee, d->img, NULL, on_ocall, d->ctx, &inst);
    if (err != WARD_OK) {
        ward_err_wrap(err, "starting a second instance");
        goto out;
    }
    say_id(d, "instance 2 started      id ", inst);
    err = call_bytes(inst, id_unseal, "unseal", blob, blob_len, resp, 1, outs, lens);
    if (err != WARD_OK)
        goto out;
    if (lens[0] != secret_len || memcmp(outs[0], secret, secret_len) != 0) {
        err = ward_err_set(WARD_ERR_VERIFY, "the unsealed value differs from the sealed one");
        goto out;
    }
    say(d, "unsealed                by the new instance: %zu bytes, identical to what was "
           "sealed\n", lens[0]);

    /* 5. a tampered blob is refused */
    blob[blob_len - 1] ^= 1;
    ward_err terr = call_bytes(inst, id_unseal, "unseal", blob, blob_len, resp, 1, outs, lens);
    if (terr == WARD_OK) {
        err = ward_err_set(WARD_ERR_VERIFY, "a tampered blob was unsealed");
        goto out;
    }
    say(d, "tampered blob           one flipped bit: refused (%s)\n", ward_err_name(terr));
    if (d->doc != NULL)
        json_object_set_new(d->doc, "seal",
                            json_pack("{s:i, s:i, s:b, s:b}", "sealed_bytes", (int)secret_len,
                                      "blob_bytes", (int)blob_len, "unsealed_by_new_instance",
                                      1, "tampered_refused", 1));
    err = ward_tee_destroy(inst);
    inst = NULL;
    if (err != WARD_OK) {
        ward_err_wrap(err, "destroying instance 2");
        goto out;
    }
    say(d, "instance 2 destroyed\n");
out:
    if (inst != NULL)
        ward_tee_destroy(inst);
    free(blob);
    free(resp);
    return err;
}

/* ---- one call ---------------------------------------------------------------------------- */

static ward_err run_call(ward_tee *tee, ward_tee_image *img, run_ctx *ctx, const char *name,
                         char **args, int n_args, json_t *doc, int *usage_err)
{
    uint32_t id;
    const idl_func *f = idl_find_call(ctx->idl, name, &id);
    if (f == NULL) {
        *usage_err = 1;
        return ward_err_set(WARD_ERR_NOT_FOUND, "the interface has no call '%s'", name);
    }
    uint8_t *req = NULL;
    size_t req_len = 0;
    ward_err err = build_request(f, args, n_args, &req, &req_len);
    if (err != WARD_OK) {
        *usage_err = err == WARD_ERR_INVALID_ARG;
        return err;
    }
    uint8_t *resp = malloc(RESPONSE_CAP);
    ward_tee_instance *inst = NULL;
    if (resp == NULL) {
        free(req);
        return ward_err_set(WARD_ERR_NOMEM, "out of memory");
    }
    err = ward_tee_create(tee, img, NULL, on_ocall, ctx, &inst);
    if (err != WARD_OK)
        ward_err_wrap(err, "starting an instance");
    size_t resp_len = 0;
    if (err == WARD_OK) {
        err = ward_tee_call(inst, id, req, req_len, resp, RESPONSE_CAP, &resp_len);
        if (err != WARD_OK)
            ward_err_wrap(err, "call %s", name);
        else if (resp_len > RESPONSE_CAP)
            err = ward_err_set(WARD_ERR_OVERFLOW, "call %s: response larger than its buffer",
                               name);
    }
    if (err == WARD_OK) {
        /* checked completely before anything is printed */
        err = decode_params(f, IDL_OUT, resp, resp_len, NULL, NULL);
        if (err != WARD_OK) {
            ward_err_wrap(err, "the response of %s", name);
        } else if (doc != NULL) {
            json_t *outs = json_object();
            decode_params(f, IDL_OUT, resp, resp_len, NULL, outs);
            json_object_set_new(doc, "outputs", outs);
        } else {
            printf("call %s: ok\n", name);
            decode_params(f, IDL_OUT, resp, resp_len, stdout, NULL);
        }
    }
    if (inst != NULL) {
        ward_err derr = ward_tee_destroy(inst);
        if (err == WARD_OK && derr != WARD_OK)
            err = ward_err_wrap(derr, "destroying the instance");
    }
    free(req);
    free(resp);
    return err;
}

/* ---- the command ------------------------------------------------------------------------- */

/* Every call of the IDL must be the manifest's call of the same id. */
static ward_err check_idl_manifest(const idl_file *idl, const ward_manifest *m, const char *path)
{
    if (idl->n_calls != ward_manifest_n_calls(m))
        return ward_err_set(WARD_ERR_VERIFY,
                            "%s declares %zu calls, the manifest %zu: sign the image again "
                            "with --calls-from %s",
                            path, idl->n_calls, ward_manifest_n_calls(m), path);
    for (size_t i = 0; i < idl->n_calls; i++) {
        const char *mn = ward_manifest_call_name(m, i);
        if (mn == NULL || strcmp(mn, idl->calls[i].name) != 0)
            return ward_err_set(WARD_ERR_VERIFY,
                                "call id %zu is '%s' in %s but '%s' in the manifest", i,
                                idl->calls[i].name, path, mn != NULL ? mn : "(none)");
    }
    return WARD_OK;
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("ward ta run: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n\n%s", help);
    return EXIT_USAGE;
}

int cmd_ta_run(const struct cli_opts *o, int argc, char **argv)
{
    const char *image = NULL, *manifest = NULL, *data_dir = NULL, *backend_name = "sandbox";
    const char *idl_path = NULL, *call = NULL;
    char **call_args = NULL;
    int n_call_args = 0;
    int json = o->json;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--json") == 0) {
            json = 1;
            continue;
        }
        if (call == NULL && (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)) {
            fputs(help, stdout);
            return EXIT_OK;
        }
        static const char *const opts[] = {"--image", "--manifest", "--data-dir", "--backend",
                                           "--idl", "--call"};
        const char **dst[] = {&image, &manifest, &data_dir, &backend_name, &idl_path, &call};
        size_t k = 0;
        for (; k < sizeof opts / sizeof opts[0]; k++)
            if (strcmp(a, opts[k]) == 0)
                break;
        if (k == sizeof opts / sizeof opts[0])
            return usage_error("unexpected argument '%s'", a);
        if (i + 1 >= argc)
            return usage_error("%s needs a value", a);
        *dst[k] = argv[++i];
        if (k == 5) { /* --call NAME: the rest are its arguments */
            call_args = argv + i + 1;
            n_call_args = argc - i - 1;
            break;
        }
    }
    /* --json among the call's arguments is the option (main.c treats it so too) */
    char **args = NULL;
    int n_args = 0;
    if (n_call_args > 0) {
        args = calloc((size_t)n_call_args, sizeof *args);
        if (args == NULL) {
            cli_error("out of memory", 0);
            return EXIT_FAIL;
        }
        for (int i = 0; i < n_call_args; i++) {
            if (strcmp(call_args[i], "--json") == 0)
                json = 1;
            else
                args[n_args++] = call_args[i];
        }
    }
    int rc = EXIT_FAIL;
    ward_tee_backend backend;
    if (strcmp(backend_name, "sandbox") == 0)
        backend = WARD_TEE_SANDBOX;
    else if (strcmp(backend_name, "sim") == 0)
        backend = WARD_TEE_SIM;
    else {
        free(args);
        return usage_error("unknown backend '%s' (sandbox or sim)", backend_name);
    }
    if (image == NULL || manifest == NULL) {
        free(args);
        return usage_error("%s", "--image and --manifest are required");
    }
    if (call != NULL && idl_path == NULL) {
        free(args);
        return usage_error("%s", "--call needs --idl FILE (the types of the arguments)");
    }

    idl_file idl;
    memset(&idl, 0, sizeof idl);
    run_ctx ctx = {.json = json, .idl = NULL};
    if (idl_path != NULL) {
        idl_error ierr;
        if (idl_parse_file(idl_path, &idl, &ierr) != 0) {
            fprintf(stderr, "ward: %s\n", ierr.msg);
            free(args);
            return EXIT_FAIL;
        }
        ctx.idl = &idl;
    }

    char *dir_alloc = NULL;
    ward_rot *rot = NULL;
    ward_tee *tee = NULL;
    ward_tee_image *img = NULL;
    json_t *doc = json ? json_object() : NULL;
    ward_err err = WARD_OK;
    int usage_err = 0;
    if (data_dir == NULL) {
        err = ward_rot_default_dir(&dir_alloc);
        data_dir = dir_alloc;
    }
    if (err == WARD_OK && (err = ward_rot_open(data_dir, 1, &rot)) != WARD_OK)
        ward_err_wrap(err, "the node data directory %s", data_dir);
    if (err == WARD_OK) {
        ward_tee_config cfg = {.backend = backend, .rot = rot};
        err = ward_tee_open(&cfg, &tee);
    }
    if (err == WARD_OK) {
        err = ward_tee_image_register_files(tee, image, manifest, &img);
        if (err != WARD_OK)
            ward_err_wrap(err, "registering %s", image);
    }
    const ward_manifest *m = err == WARD_OK ? ward_tee_image_manifest(img) : NULL;
    if (err == WARD_OK && ctx.idl != NULL)
        err = check_idl_manifest(ctx.idl, m, idl_path);
    if (err == WARD_OK) {
        uint8_t meas[WARD_SHA256_LEN];
        ward_manifest_measurement(m, meas);
        if (doc != NULL) {
            char *hm = hex_str(meas, sizeof meas);
            json_object_set_new(doc, "ta", json_string(ward_manifest_name(m)));
            json_object_set_new(doc, "backend", json_string(backend_name));
            json_object_set_new(doc, "measurement", hm != NULL ? json_string(hm) : json_null());
            free(hm);
        } else {
            printf("image registered        %s (%s): signature, image hash and measurement "
                   "checked\n", ward_manifest_name(m), image);
            printf("  measurement           ");
            print_hex(stdout, meas, sizeof meas);
            printf("\n  backend               %s\n", backend_name);
        }
    }
    if (err == WARD_OK && call != NULL) {
        if (doc != NULL)
            json_object_set_new(doc, "call", json_string(call));
        err = run_call(tee, img, &ctx, call, args, n_args, doc, &usage_err);
    } else if (err == WARD_OK) {
        demo_state d = {tee, img, &ctx, doc, doc != NULL ? NULL : stdout};
        err = run_demo(&d);
        if (err == WARD_OK && doc == NULL)
            printf("all steps succeeded\n");
    }
    if (err == WARD_OK)
        rc = EXIT_OK;
    else if (usage_err)
        rc = EXIT_USAGE;
    if (doc != NULL) {
        json_object_set_new(doc, "ok", json_boolean(err == WARD_OK));
        if (err != WARD_OK)
            json_object_set_new(doc, "error", json_pack("{s:s, s:s}", "code", ward_err_name(err),
                                                       "message", ward_errmsg()));
        json_dumpf(doc, stdout, JSON_INDENT(2));
        fputc('\n', stdout);
        json_decref(doc);
    }
    if (err != WARD_OK)
        cli_error(call != NULL ? "ta run --call" : "ta run", 1);
    /* the tee destroys what is left and releases the image */
    if (tee != NULL)
        ward_tee_close(tee);
    if (rot != NULL)
        ward_rot_close(rot);
    free(dir_alloc);
    idl_free(&idl);
    free(args);
    return rc;
}
