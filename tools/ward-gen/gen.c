/* ward-gen's code writer. For every call and ocall it writes four small functions, each used on
 * the side that needs it:
 *   wg__enc_in_F / wg__dec_out_F   the caller's side (host for calls, TA for ocalls)
 *   wg__dec_in_F / wg__enc_out_F   the callee's side (TA for calls, host for ocalls)
 * plus the typed stub that callers use, the serving function that unmarshals, calls the
 * developer's function and marshals its outputs, and a dispatcher per side. Every generated
 * identifier of its own contains "__", which IDL names cannot, so nothing collides. */
#include "ward-gen/gen.h"

#include <ctype.h>
#include <stdarg.h>
#include <string.h>

#define LINE_MAX_OUT 8192 /* longest generated line before wrapping */
#define WRAP_AT 100         /* generated lines are wrapped at ", " to this width */

typedef struct gen {
    FILE *fp;
    int err;
    const char *px;            /* prefix, e.g. "hello" */
    char PX[IDL_NAME_MAX + 1]; /* upper case */
    char line[LINE_MAX_OUT];   /* the line being written */
    size_t n;
} gen;

static void put(gen *g, const char *s, size_t n)
{
    if (!g->err && fwrite(s, 1, n, g->fp) != n)
        g->err = 1;
}

/* Writes the buffered line, wrapped at ", " (outside string literals) so that no generated line
 * is wider than WRAP_AT where it can be helped; continuations align after the first '('. */
static void flush_line(gen *g)
{
    const char *s = g->line;
    size_t n = g->n;
    g->n = 0;
    if (n <= WRAP_AT) {
        put(g, s, n);
        put(g, "\n", 1);
        return;
    }
    size_t indent = 0;
    int in_str = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"' && (i == 0 || s[i - 1] != '\\'))
            in_str = !in_str;
        if (!in_str && s[i] == '(') {
            indent = i + 1;
            break;
        }
    }
    if (indent == 0 || indent > WRAP_AT / 2) {
        while (indent < n && s[indent] == ' ')
            indent++;
        indent += 8;
    }
    size_t start = 0, col = 0, last_break = 0;
    in_str = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"' && (i == 0 || s[i - 1] != '\\'))
            in_str = !in_str;
        if (!in_str && s[i] == ',' && i + 1 < n && s[i + 1] == ' ') {
            /* a break opportunity after ", " */
            if (col + (i + 1 - start) > WRAP_AT && last_break > start) {
                put(g, s + start, last_break - start);
                put(g, "\n", 1);
                for (size_t k = 0; k < indent; k++)
                    put(g, " ", 1);
                col = indent;
                start = last_break + 1; /* skip the space */
            }
            last_break = i + 1;
        }
    }
    if (col + (n - start) > WRAP_AT && last_break > start) {
        put(g, s + start, last_break - start);
        put(g, "\n", 1);
        for (size_t k = 0; k < indent; k++)
            put(g, " ", 1);
        start = last_break + 1;
    }
    put(g, s + start, n - start);
    put(g, "\n", 1);
}

__attribute__((format(printf, 2, 3))) static void o(gen *g, const char *fmt, ...)
{
    if (g->fp == NULL || g->err)
        return;
    char buf[LINE_MAX_OUT];
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (len < 0 || (size_t)len >= sizeof buf) {
        g->err = 1;
        return;
    }
    for (size_t i = 0; i < (size_t)len; i++) {
        if (buf[i] == '\n') {
            flush_line(g);
        } else if (g->n + 1 >= sizeof g->line) {
            g->err = 1;
            return;
        } else {
            g->line[g->n++] = buf[i];
        }
    }
}

/* Verbatim text (the wire runtime), not wrapped. */
static void o_raw(gen *g, const char *text)
{
    if (g->fp == NULL)
        return;
    if (g->n > 0)
        flush_line(g);
    put(g, text, strlen(text));
}

static void upper(char *dst, const char *src, size_t cap)
{
    size_t i = 0;
    for (; src[i] != '\0' && i + 1 < cap; i++)
        dst[i] = (char)toupper((unsigned char)src[i]);
    dst[i] = '\0';
}

/* ---- parameter lists --------------------------------------------------------------------- */

/* The value form of a parameter (how an input is passed, and how encoders take any value). */
static void value_param(gen *g, const idl_param *p)
{
    switch (p->type) {
    case IDL_U32: o(g, "uint32_t %s", p->name); break;
    case IDL_U64: o(g, "uint64_t %s", p->name); break;
    case IDL_I64: o(g, "int64_t %s", p->name); break;
    case IDL_BOOL: o(g, "bool %s", p->name); break;
    case IDL_STRING: o(g, "const char *%s", p->name); break;
    case IDL_BYTES: o(g, "const uint8_t *%s, size_t %s_len", p->name, p->name); break;
    }
}

/* The pointer form: how an output is returned (owned, malloc'd for string and bytes). */
static void out_param(gen *g, const idl_param *p)
{
    switch (p->type) {
    case IDL_U32: o(g, "uint32_t *%s", p->name); break;
    case IDL_U64: o(g, "uint64_t *%s", p->name); break;
    case IDL_I64: o(g, "int64_t *%s", p->name); break;
    case IDL_BOOL: o(g, "bool *%s", p->name); break;
    case IDL_STRING: o(g, "char **%s", p->name); break;
    case IDL_BYTES: o(g, "uint8_t **%s, size_t *%s_len", p->name, p->name); break;
    }
}

/* The decoded form of an input on the callee's side: strings copied, bytes viewed. */
static void in_view_param(gen *g, const idl_param *p)
{
    if (p->type == IDL_BYTES)
        o(g, "const uint8_t **%s, size_t *%s_len", p->name, p->name);
    else
        out_param(g, p);
}

/* The developer-facing list: parameters in declaration order, inputs by value, outputs by
 * pointer. first: whether nothing precedes it (no leading comma). */
static void api_params(gen *g, const idl_func *f, int first)
{
    for (size_t i = 0; i < f->n_params; i++) {
        if (!first || i > 0)
            o(g, ", ");
        if (f->params[i].dir == IDL_IN)
            value_param(g, &f->params[i]);
        else
            out_param(g, &f->params[i]);
    }
    if (first && f->n_params == 0)
        o(g, "void");
}

static size_t count_dir(const idl_func *f, idl_dir dir)
{
    size_t n = 0;
    for (size_t i = 0; i < f->n_params; i++)
        n += f->params[i].dir == dir;
    return n;
}

/* Encoded size of f's parameters in direction dir if all are fixed-width, else 0 with
 * *variable set. */
static size_t fixed_size(const idl_func *f, idl_dir dir, int *variable)
{
    size_t total = 0;
    *variable = 0;
    for (size_t i = 0; i < f->n_params; i++) {
        if (f->params[i].dir != dir)
            continue;
        size_t s;
        if (idl_type_fixed(f->params[i].type, &s))
            total += s;
        else
            *variable = 1;
    }
    return *variable ? 0 : total;
}

static const char *get_fn(idl_type t)
{
    switch (t) {
    case IDL_U32: return "wg__get_u32";
    case IDL_U64: return "wg__get_u64";
    case IDL_I64: return "wg__get_i64";
    case IDL_BOOL: return "wg__get_bool";
    case IDL_STRING: return "wg__get_str_dup";
    case IDL_BYTES: return "wg__get_bytes";
    }
    return "?";
}

static const char *put_fn(idl_type t)
{
    switch (t) {
    case IDL_U32: return "wg__put_u32";
    case IDL_U64: return "wg__put_u64";
    case IDL_I64: return "wg__put_i64";
    case IDL_BOOL: return "wg__put_bool";
    case IDL_STRING: return "wg__put_str";
    case IDL_BYTES: return "wg__put_bytes";
    }
    return "?";
}

/* The C name developers see for f: prefix_F for calls, prefix_ocall_F for ocalls. */
static void fn_name(gen *g, const idl_func *f, int is_ocall)
{
    o(g, "%s_%s%s", g->px, is_ocall ? "ocall_" : "", f->name);
}

/* ---- encoders and decoders --------------------------------------------------------------- */

static void emit_encoder(gen *g, const idl_func *f, idl_dir dir, int is_ocall)
{
    const char *d = dir == IDL_IN ? "in" : "out";
    o(g, "static ward_err wg__enc_%s_%s(wg__wr *wg__w", d, f->name);
    for (size_t i = 0; i < f->n_params; i++)
        if (f->params[i].dir == dir) {
            o(g, ", ");
            value_param(g, &f->params[i]);
        }
    o(g, ")\n{\n");
    if (count_dir(f, dir) == 0) {
        o(g, "    (void)wg__w;\n    return WARD_OK;\n}\n\n");
        return;
    }
    o(g, "    ward_err wg__e;\n");
    for (size_t i = 0; i < f->n_params; i++) {
        const idl_param *p = &f->params[i];
        if (p->dir != dir)
            continue;
        o(g, "    wg__e = %s(wg__w, %s", put_fn(p->type), p->name);
        if (p->type == IDL_BYTES)
            o(g, ", %s_len", p->name);
        o(g, ", \"");
        fn_name(g, f, is_ocall);
        o(g, ": %s '%s'\");\n", dir == IDL_IN ? "request" : "response", p->name);
        o(g, "    if (wg__e != WARD_OK)\n        return wg__e;\n");
    }
    o(g, "    return WARD_OK;\n}\n\n");
}

/* view_bytes: bytes are returned as views into the message (callee's side, where the message
 * outlives the call) instead of copies (caller's side). On failure everything the decoder
 * allocated is freed and every output reset. */
static void emit_decoder(gen *g, const idl_func *f, idl_dir dir, int is_ocall, int view_bytes)
{
    const char *d = dir == IDL_IN ? "in" : "out";
    o(g, "static ward_err wg__dec_%s_%s(const uint8_t *wg__m, size_t wg__n", d, f->name);
    for (size_t i = 0; i < f->n_params; i++)
        if (f->params[i].dir == dir) {
            o(g, ", ");
            if (view_bytes)
                in_view_param(g, &f->params[i]);
            else
                out_param(g, &f->params[i]);
        }
    o(g, ")\n{\n    wg__rd wg__r = {wg__m, wg__n, 0};\n    ward_err wg__e;\n");
    for (size_t i = 0; i < f->n_params; i++) {
        const idl_param *p = &f->params[i];
        if (p->dir != dir)
            continue;
        const char *fn = get_fn(p->type);
        if (p->type == IDL_BYTES && !view_bytes)
            fn = "wg__get_bytes_dup";
        o(g, "    wg__e = %s(&wg__r, %s", fn, p->name);
        if (p->type == IDL_BYTES)
            o(g, ", %s_len", p->name);
        o(g, ", \"");
        fn_name(g, f, is_ocall);
        o(g, ": %s '%s'\");\n", dir == IDL_IN ? "request" : "response", p->name);
        o(g, "    if (wg__e != WARD_OK)\n        goto wg__fail;\n");
    }
    o(g, "    wg__e = wg__end(&wg__r, \"");
    fn_name(g, f, is_ocall);
    o(g, ": %s\");\n", dir == IDL_IN ? "request" : "response");
    o(g, "    if (wg__e != WARD_OK)\n        goto wg__fail;\n    return WARD_OK;\nwg__fail:\n");
    for (size_t i = 0; i < f->n_params; i++) {
        const idl_param *p = &f->params[i];
        if (p->dir != dir)
            continue;
        switch (p->type) {
        case IDL_STRING:
            o(g, "    wg__free_str(*%s);\n    *%s = NULL;\n", p->name, p->name);
            break;
        case IDL_BYTES:
            if (!view_bytes)
                o(g, "    wg__free_bytes(*%s, *%s_len);\n", p->name, p->name);
            o(g, "    *%s = NULL;\n    *%s_len = 0;\n", p->name, p->name);
            break;
        case IDL_BOOL:
            o(g, "    *%s = false;\n", p->name);
            break;
        default:
            o(g, "    *%s = 0;\n", p->name);
            break;
        }
    }
    o(g, "    return wg__e;\n}\n\n");
}

/* ---- the caller's stub ------------------------------------------------------------------- */

static void emit_caller(gen *g, const idl_func *f, int is_ocall)
{
    /* host: prefix_F(ward_tee_instance *, ...); TA: prefix_ocall_F(...) */
    o(g, "ward_err ");
    fn_name(g, f, is_ocall);
    o(g, "(");
    if (!is_ocall) {
        o(g, "ward_tee_instance *wg__inst");
        api_params(g, f, 0);
    } else {
        api_params(g, f, 1);
    }
    o(g, ")\n{\n");

    /* outputs: refuse NULL, then reset */
    size_t n_out = count_dir(f, IDL_OUT);
    if (n_out > 0) {
        o(g, "    if (");
        size_t k = 0;
        for (size_t i = 0; i < f->n_params; i++) {
            const idl_param *p = &f->params[i];
            if (p->dir != IDL_OUT)
                continue;
            o(g, "%s%s == NULL", k == 0 ? "" : k % 3 == 0 ? " ||\n        " : " || ", p->name);
            k++;
            if (p->type == IDL_BYTES) {
                o(g, "%s%s_len == NULL", k % 3 == 0 ? " ||\n        " : " || ", p->name);
                k++;
            }
        }
        o(g, ")\n        return WG__FAIL(WARD_ERR_INVALID_ARG, \"");
        fn_name(g, f, is_ocall);
        o(g, ": an output pointer is NULL\");\n");
        for (size_t i = 0; i < f->n_params; i++) {
            const idl_param *p = &f->params[i];
            if (p->dir != IDL_OUT)
                continue;
            switch (p->type) {
            case IDL_STRING: o(g, "    *%s = NULL;\n", p->name); break;
            case IDL_BYTES: o(g, "    *%s = NULL;\n    *%s_len = 0;\n", p->name, p->name); break;
            case IDL_BOOL: o(g, "    *%s = false;\n", p->name); break;
            default: o(g, "    *%s = 0;\n", p->name); break;
            }
        }
    }
    if (!is_ocall) {
        o(g, "    if (wg__inst == NULL)\n        return WG__FAIL(WARD_ERR_INVALID_ARG, \"");
        fn_name(g, f, is_ocall);
        o(g, ": no instance\");\n");
    }

    /* the request: size it, then write it */
    o(g, "    wg__wr wg__w = {NULL, SIZE_MAX, 0};\n    ward_err wg__e = wg__enc_in_%s(&wg__w",
      f->name);
    for (size_t i = 0; i < f->n_params; i++)
        if (f->params[i].dir == IDL_IN) {
            o(g, ", %s", f->params[i].name);
            if (f->params[i].type == IDL_BYTES)
                o(g, ", %s_len", f->params[i].name);
        }
    o(g, ");\n    if (wg__e != WARD_OK)\n        return wg__e;\n");
    o(g, "    size_t wg__req_len = wg__w.len;\n"
         "    uint8_t *wg__req = calloc(1, wg__req_len > 0 ? wg__req_len : 1);\n"
         "    if (wg__req == NULL)\n"
         "        return WG__FAIL(WARD_ERR_NOMEM, \"");
    fn_name(g, f, is_ocall);
    o(g, ": out of memory\");\n");
    o(g, "    wg__w.p = wg__req;\n    wg__w.cap = wg__req_len;\n    wg__w.len = 0;\n"
         "    wg__e = wg__enc_in_%s(&wg__w",
      f->name);
    for (size_t i = 0; i < f->n_params; i++)
        if (f->params[i].dir == IDL_IN) {
            o(g, ", %s", f->params[i].name);
            if (f->params[i].type == IDL_BYTES)
                o(g, ", %s_len", f->params[i].name);
        }
    o(g, ");\n");

    /* the response buffer: exact for fixed-width outputs, else the largest response */
    int variable;
    size_t fixed = fixed_size(f, IDL_OUT, &variable);
    if (variable) {
        o(g, "    size_t wg__resp_cap = WARD_GEN_MAX_RESPONSE;\n"
             "    uint8_t *wg__resp = NULL;\n"
             "    if (wg__e == WARD_OK) {\n"
             "        wg__resp = malloc(wg__resp_cap);\n"
             "        if (wg__resp == NULL)\n"
             "            wg__e = WG__FAIL(WARD_ERR_NOMEM, \"");
        fn_name(g, f, is_ocall);
        o(g, ": out of memory\");\n    }\n");
    } else {
        o(g, "    uint8_t wg__resp[%zu];\n    size_t wg__resp_cap = %zu;\n",
          fixed > 0 ? fixed : (size_t)1, fixed);
    }
    o(g, "    size_t wg__resp_len = 0;\n    if (wg__e == WARD_OK)\n");
    if (!is_ocall)
        o(g, "        wg__e = WARDGEN_TEE_CALL(wg__inst, %s_CALL_", g->PX);
    else
        o(g, "        wg__e = WARDGEN_TA_OCALL(%s_OCALL_", g->PX);
    char FN[IDL_NAME_MAX + 1];
    upper(FN, f->name, sizeof FN);
    o(g, "%s, wg__req, wg__req_len, wg__resp,\n"
         "                                 wg__resp_cap, &wg__resp_len);\n", FN);
    o(g, "    wg__wipe(wg__req, wg__req_len);\n    free(wg__req);\n");
    o(g, "    if (wg__e == WARD_OK && wg__resp_len > wg__resp_cap)\n"
         "        wg__e = WG__FAIL(WARD_ERR_OVERFLOW, \"");
    fn_name(g, f, is_ocall);
    o(g, ": response of %%zu bytes exceeds its %%zu-byte buffer\",\n"
         "                         wg__resp_len, wg__resp_cap);\n");
    o(g, "    if (wg__e == WARD_OK)\n        wg__e = wg__dec_out_%s(wg__resp, wg__resp_len",
      f->name);
    for (size_t i = 0; i < f->n_params; i++)
        if (f->params[i].dir == IDL_OUT) {
            o(g, ", %s", f->params[i].name);
            if (f->params[i].type == IDL_BYTES)
                o(g, ", %s_len", f->params[i].name);
        }
    o(g, ");\n");
    o(g, "    if (wg__resp_len > wg__resp_cap)\n        wg__resp_len = wg__resp_cap;\n");
    if (variable)
        o(g, "    wg__wipe(wg__resp, wg__resp_len);\n    free(wg__resp);\n");
    else
        o(g, "    wg__wipe(wg__resp, wg__resp_len);\n");
    o(g, "    return wg__e;\n}\n\n");
}

/* ---- the callee's side ------------------------------------------------------------------- */

static void emit_serve(gen *g, const idl_func *f, int is_ocall)
{
    o(g, "static ward_err wg__serve_%s(%sconst uint8_t *wg__in, size_t wg__in_len, "
         "uint8_t *wg__out,\n"
         "                              size_t wg__out_cap, size_t *wg__out_len)\n{\n",
      f->name, is_ocall ? "void *wg__arg, " : "");
    for (size_t i = 0; i < f->n_params; i++) {
        const idl_param *p = &f->params[i];
        switch (p->type) {
        case IDL_U32: o(g, "    uint32_t %s = 0;\n", p->name); break;
        case IDL_U64: o(g, "    uint64_t %s = 0;\n", p->name); break;
        case IDL_I64: o(g, "    int64_t %s = 0;\n", p->name); break;
        case IDL_BOOL: o(g, "    bool %s = false;\n", p->name); break;
        case IDL_STRING: o(g, "    char *%s = NULL;\n", p->name); break;
        case IDL_BYTES:
            o(g, "    %suint8_t *%s = NULL;\n    size_t %s_len = 0;\n",
              p->dir == IDL_IN ? "const " : "", p->name, p->name);
            break;
        }
    }
    o(g, "    ward_err wg__e = wg__dec_in_%s(wg__in, wg__in_len", f->name);
    for (size_t i = 0; i < f->n_params; i++)
        if (f->params[i].dir == IDL_IN) {
            o(g, ", &%s", f->params[i].name);
            if (f->params[i].type == IDL_BYTES)
                o(g, ", &%s_len", f->params[i].name);
        }
    o(g, ");\n    if (wg__e == WARD_OK)\n        wg__e = ");
    fn_name(g, f, is_ocall);
    o(g, "(%s", is_ocall ? "wg__arg" : "");
    for (size_t i = 0; i < f->n_params; i++) {
        const idl_param *p = &f->params[i];
        if (i > 0 || is_ocall)
            o(g, ", ");
        if (p->dir == IDL_IN) {
            o(g, "%s", p->name);
            if (p->type == IDL_BYTES)
                o(g, ", %s_len", p->name);
        } else {
            o(g, "&%s", p->name);
            if (p->type == IDL_BYTES)
                o(g, ", &%s_len", p->name);
        }
    }
    o(g, ");\n");
    /* outputs the developer's function must have set */
    for (size_t i = 0; i < f->n_params; i++) {
        const idl_param *p = &f->params[i];
        if (p->dir != IDL_OUT)
            continue;
        if (p->type == IDL_STRING)
            o(g, "    if (wg__e == WARD_OK && %s == NULL)\n", p->name);
        else if (p->type == IDL_BYTES)
            o(g, "    if (wg__e == WARD_OK && %s == NULL && %s_len > 0)\n", p->name, p->name);
        else
            continue;
        o(g, "        wg__e = WG__FAIL(WARD_ERR_STATE, \"");
        fn_name(g, f, is_ocall);
        o(g, " returned no '%s'\");\n", p->name);
    }
    o(g, "    wg__wr wg__w = {wg__out, wg__out_cap, 0};\n"
         "    if (wg__e == WARD_OK)\n        wg__e = wg__enc_out_%s(&wg__w", f->name);
    for (size_t i = 0; i < f->n_params; i++)
        if (f->params[i].dir == IDL_OUT) {
            o(g, ", %s", f->params[i].name);
            if (f->params[i].type == IDL_BYTES)
                o(g, ", %s_len", f->params[i].name);
        }
    o(g, ");\n    if (wg__e == WARD_OK)\n        *wg__out_len = wg__w.len;\n"
         "    else if (wg__out != NULL)\n        wg__wipe(wg__out, wg__w.len);\n");
    for (size_t i = 0; i < f->n_params; i++) {
        const idl_param *p = &f->params[i];
        if (p->type == IDL_STRING)
            o(g, "    wg__free_str(%s);\n", p->name);
        else if (p->type == IDL_BYTES && p->dir == IDL_OUT)
            o(g, "    wg__free_bytes(%s, %s_len);\n", p->name, p->name);
    }
    o(g, "    return wg__e;\n}\n\n");
}

static void emit_dispatch(gen *g, const idl_func *v, size_t n, int is_ocall)
{
    if (is_ocall)
        o(g, "ward_err %s_ocall_dispatch(void *arg, uint32_t ocall_id, const uint8_t *in, "
             "size_t in_len,\n"
             "                              uint8_t *out, size_t out_cap, size_t *out_len)\n{\n",
          g->px);
    else
        o(g, "ward_err %s_dispatch(uint32_t call_id, const uint8_t *in, size_t in_len, "
             "uint8_t *out,\n"
             "                       size_t out_cap, size_t *out_len)\n{\n",
          g->px);
    const char *id = is_ocall ? "ocall_id" : "call_id";
    o(g, "    if (out_len == NULL || (in == NULL && in_len > 0) || (out == NULL && out_cap > 0))\n"
         "        return WG__FAIL(WARD_ERR_INVALID_ARG, \"%s_%sdispatch: bad arguments\");\n"
         "    *out_len = 0;\n",
      g->px, is_ocall ? "ocall_" : "");
    if (n == 0) {
        o(g, "    (void)arg;\n    (void)out;\n    (void)out_cap;\n");
    } else {
        o(g, "    switch (%s) {\n", id);
        for (size_t i = 0; i < n; i++) {
            char FN[IDL_NAME_MAX + 1];
            upper(FN, v[i].name, sizeof FN);
            o(g, "    case %s_%sCALL_%s:\n        return wg__serve_%s(%sin, in_len, out, "
                 "out_cap, out_len);\n",
              g->PX, is_ocall ? "O" : "", FN, v[i].name, is_ocall ? "arg, " : "");
        }
        o(g, "    default:\n        break;\n    }\n");
    }
    o(g, "    return WG__FAIL(WARD_ERR_NOT_FOUND, \"%s: unknown %s id %%u\", (unsigned)%s);\n}\n",
      g->px, is_ocall ? "ocall" : "call", id);
}

/* ---- headers ----------------------------------------------------------------------------- */

static void idl_line(gen *g, const idl_func *f, int is_ocall)
{
    o(g, "%s %s(", is_ocall ? "ocall" : "call", f->name);
    for (size_t i = 0; i < f->n_params; i++)
        o(g, "%s%s %s %s", i ? ", " : "", f->params[i].dir == IDL_IN ? "in" : "out",
          idl_type_name(f->params[i].type), f->params[i].name);
    o(g, ");");
}

static void banner(gen *g, const char *source, const char *what)
{
    o(g, "/* Generated by ward-gen from %s: %s. Do not edit; change the IDL and rebuild.\n"
         " * Wire encoding and ownership rules: docs/sdk.md. */\n",
      source, what);
}

static void id_macros(gen *g, const idl_file *f)
{
    for (size_t i = 0; i < f->n_calls; i++) {
        char FN[IDL_NAME_MAX + 1];
        upper(FN, f->calls[i].name, sizeof FN);
        o(g, "#define %s_CALL_%s %zuu\n", g->PX, FN, i);
    }
    o(g, "#define %s_N_CALLS %zuu\n", g->PX, f->n_calls);
    for (size_t i = 0; i < f->n_ocalls; i++) {
        char FN[IDL_NAME_MAX + 1];
        upper(FN, f->ocalls[i].name, sizeof FN);
        o(g, "#define %s_OCALL_%s %zuu\n", g->PX, FN, i);
    }
    o(g, "#define %s_N_OCALLS %zuu\n\n", g->PX, f->n_ocalls);
}

static void header_open(gen *g, const char *source, const char *side, const char *include)
{
    banner(g, source, side);
    o(g, "#ifndef %s_%s_H_GENERATED\n#define %s_%s_H_GENERATED\n\n", g->PX,
      strcmp(side, "host side") == 0 ? "HOST" : "TA", g->PX,
      strcmp(side, "host side") == 0 ? "HOST" : "TA");
    o(g, "#include <stdbool.h>\n#include <stddef.h>\n#include <stdint.h>\n\n#include <%s>\n\n",
      include);
    o(g, "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n");
}

static void header_close(gen *g)
{
    o(g, "\n#ifdef __cplusplus\n}\n#endif\n#endif\n");
}

static void write_host_h(gen *g, const idl_file *f, const char *source)
{
    header_open(g, source, "host side", "ward/tee.h");
    id_macros(g, f);
    o(g, "/* Calls into the TA. Each marshals its inputs, calls ward_tee_call and unmarshals the\n"
         " * outputs, checking every length. Outputs of type string and bytes are malloc'd:\n"
         " * free() them. On failure every output is NULL or 0 and ward_errmsg() says why. */\n");
    for (size_t i = 0; i < f->n_calls; i++) {
        o(g, "/* ");
        idl_line(g, &f->calls[i], 0);
        o(g, " */\nward_err %s_%s(ward_tee_instance *inst", g->px, f->calls[i].name);
        api_params(g, &f->calls[i], 0);
        o(g, ");\n");
    }
    o(g, "\n/* Ocalls: you implement these. arg is the ocall_arg given to ward_tee_create. Inputs\n"
         " * are valid for the duration of the call; set string and bytes outputs to malloc'd\n"
         " * memory, which the dispatcher frees (a string output must not be left NULL). */\n");
    for (size_t i = 0; i < f->n_ocalls; i++) {
        o(g, "/* ");
        idl_line(g, &f->ocalls[i], 1);
        o(g, " */\nward_err %s_ocall_%s(void *arg", g->px, f->ocalls[i].name);
        api_params(g, &f->ocalls[i], 0);
        o(g, ");\n");
    }
    o(g, "\n/* Pass as ward_tee_create's ocall function: unmarshals an ocall, calls the function\n"
         " * above and marshals its outputs. */\n"
         "ward_err %s_ocall_dispatch(void *arg, uint32_t ocall_id, const uint8_t *in, "
         "size_t in_len,\n"
         "                              uint8_t *out, size_t out_cap, size_t *out_len);\n",
      g->px);
    header_close(g);
}

static void write_ta_h(gen *g, const idl_file *f, const char *source)
{
    header_open(g, source, "TA side", "ward/ta.h");
    id_macros(g, f);
    o(g, "/* Calls: you implement these in the TA. Inputs are valid for the duration of the call;\n"
         " * set string and bytes outputs to malloc'd memory, which the dispatch wipes and frees\n"
         " * (a string output must not be left NULL). Whatever you return goes back to the host. */\n");
    for (size_t i = 0; i < f->n_calls; i++) {
        o(g, "/* ");
        idl_line(g, &f->calls[i], 0);
        o(g, " */\nward_err %s_%s(", g->px, f->calls[i].name);
        api_params(g, &f->calls[i], 1);
        o(g, ");\n");
    }
    o(g, "\n/* Ocalls to the host. Outputs of type string and bytes are malloc'd: free() them. On\n"
         " * failure every output is NULL or 0. */\n");
    for (size_t i = 0; i < f->n_ocalls; i++) {
        o(g, "/* ");
        idl_line(g, &f->ocalls[i], 1);
        o(g, " */\nward_err %s_ocall_%s(", g->px, f->ocalls[i].name);
        api_params(g, &f->ocalls[i], 1);
        o(g, ");\n");
    }
    o(g, "\n/* The ward_ta_dispatch_fn for this interface: `return ward_ta_run(%s_dispatch);` */\n"
         "ward_err %s_dispatch(uint32_t call_id, const uint8_t *in, size_t in_len, uint8_t *out,\n"
         "                       size_t out_cap, size_t *out_len);\n",
      g->px, g->px);
    header_close(g);
}

static void source_open(gen *g, const char *source, const char *side, const char *header,
                        const char *runtime, int set_error)
{
    banner(g, source, side);
    o(g, "#include \"%s\"\n\n", header);
    o(g, "#ifndef WG__SET_ERROR\n#define WG__SET_ERROR %d\n#endif\n\n", set_error);
    o_raw(g, runtime);
    o(g, "\n");
}

static void write_host_c(gen *g, const idl_file *f, const char *source, const char *runtime)
{
    char header[IDL_NAME_MAX + 16];
    snprintf(header, sizeof header, "%s_host.h", g->px);
    source_open(g, source, "host side", header, runtime, 1);
    o(g, "/* The TEE call; tests may substitute their own. */\n"
         "#ifndef WARDGEN_TEE_CALL\n#define WARDGEN_TEE_CALL ward_tee_call\n#endif\n\n");
    for (size_t i = 0; i < f->n_calls; i++) {
        emit_encoder(g, &f->calls[i], IDL_IN, 0);
        emit_decoder(g, &f->calls[i], IDL_OUT, 0, 0);
        emit_caller(g, &f->calls[i], 0);
    }
    for (size_t i = 0; i < f->n_ocalls; i++) {
        emit_decoder(g, &f->ocalls[i], IDL_IN, 1, 1);
        emit_encoder(g, &f->ocalls[i], IDL_OUT, 1);
        emit_serve(g, &f->ocalls[i], 1);
    }
    emit_dispatch(g, f->ocalls, f->n_ocalls, 1);
}

static void write_ta_c(gen *g, const idl_file *f, const char *source, const char *runtime)
{
    char header[IDL_NAME_MAX + 16];
    snprintf(header, sizeof header, "%s_ta.h", g->px);
    source_open(g, source, "TA side", header, runtime, 0);
    o(g, "/* The ocall into the host; tests may substitute their own. */\n"
         "#ifndef WARDGEN_TA_OCALL\n#define WARDGEN_TA_OCALL ward_ta_ocall\n#endif\n\n");
    for (size_t i = 0; i < f->n_calls; i++) {
        emit_decoder(g, &f->calls[i], IDL_IN, 0, 1);
        emit_encoder(g, &f->calls[i], IDL_OUT, 0);
        emit_serve(g, &f->calls[i], 0);
    }
    for (size_t i = 0; i < f->n_ocalls; i++) {
        emit_encoder(g, &f->ocalls[i], IDL_IN, 1);
        emit_decoder(g, &f->ocalls[i], IDL_OUT, 1, 0);
        emit_caller(g, &f->ocalls[i], 1);
    }
    emit_dispatch(g, f->calls, f->n_calls, 0);
}

int gen_write(const idl_file *f, const char *prefix, const char *source, const char *runtime,
              const gen_out *out)
{
    gen g = {.px = prefix};
    upper(g.PX, prefix, sizeof g.PX);
    FILE *files[4] = {out->host_h, out->host_c, out->ta_h, out->ta_c};
    for (int i = 0; i < 4; i++) {
        g.fp = files[i];
        if (g.fp == NULL)
            continue;
        switch (i) {
        case 0: write_host_h(&g, f, source); break;
        case 1: write_host_c(&g, f, source, runtime); break;
        case 2: write_ta_h(&g, f, source); break;
        default: write_ta_c(&g, f, source, runtime); break;
        }
        if (g.n > 0)
            flush_line(&g);
        if (fflush(g.fp) != 0 || ferror(g.fp))
            g.err = 1;
    }
    return g.err ? -1 : 0;
}
