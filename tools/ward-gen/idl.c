/* The IDL parser (docs/sdk.md, "The interface description language"). Line-oriented: every
 * declaration is one line that starts with its keyword at column 1, so that `ward ta sign
 * --calls-from` (which reads the lines starting with "call " in order) and this parser always
 * agree on the call ids. Everything is validated: characters, lengths, names, counts, reserved
 * identifiers and every name the generated C would declare. */
#include "ward-gen/idl.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- errors ------------------------------------------------------------------------------ */

typedef struct pctx {
    const char *fname;
    unsigned line;
    idl_error *err;
} pctx;

__attribute__((format(printf, 2, 3))) static int fail(pctx *p, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (p->line > 0)
        snprintf(p->err->msg, sizeof p->err->msg, "%s:%u: %s", p->fname, p->line, msg);
    else
        snprintf(p->err->msg, sizeof p->err->msg, "%s: %s", p->fname, msg);
    return -1;
}

/* ---- names ------------------------------------------------------------------------------- */

/* C keywords (C17 and C23) and every identifier the generated code uses itself: a parameter
 * with one of these names would not compile or would change what the code means. */
static const char *const reserved_params[] = {
    "auto", "break", "case", "char", "const", "continue", "default", "do", "double", "else",
    "enum", "extern", "float", "for", "goto", "if", "inline", "int", "long", "register",
    "restrict", "return", "short", "signed", "sizeof", "static", "struct", "switch", "typedef",
    "union", "unsigned", "void", "volatile", "while", "alignas", "alignof", "bool", "constexpr",
    "false", "nullptr", "static_assert", "thread_local", "true", "typeof", "typeof_unqual",
    "asm", "fortran",
    /* what the generated code and its headers name */
    "NULL", "EOF", "errno", "assert", "offsetof", "free", "malloc", "calloc", "realloc",
    "memcpy", "memset", "memchr", "memcmp", "strlen", "abort", "inst", "arg",
    "SIZE_MAX", "UINT8_MAX", "UINT16_MAX", "UINT32_MAX", "UINT64_MAX", "INT64_MAX",
    "INT64_MIN", "UINT32_C", "UINT64_C", "INT64_C", "unreachable", "noreturn", "complex",
    "imaginary",
};

/* Why a parameter name is reserved, or NULL. */
static const char *param_reserved(const char *name)
{
    for (size_t i = 0; i < sizeof reserved_params / sizeof reserved_params[0]; i++)
        if (strcmp(name, reserved_params[i]) == 0)
            return "is reserved (a C keyword or a name the generated code uses)";
    size_t n = strlen(name);
    if (n >= 2 && strcmp(name + n - 2, "_t") == 0)
        return "is reserved (names ending in _t are type names)";
    if (strncasecmp(name, "ward_", 5) == 0)
        return "is reserved (the prefix ward_ belongs to Ward)";
    int lower = 0;
    for (size_t i = 0; i < n; i++)
        lower |= islower((unsigned char)name[i]) != 0;
    if (!lower)
        return "needs a lower-case letter (upper-case names are left to macros)";
    return NULL;
}

/* [A-Za-z][A-Za-z0-9_]*, no "__", not ending in '_'. Returns a reason or NULL. */
const char *idl_name_problem(const char *s)
{
    size_t n = strlen(s);
    if (n == 0)
        return "is empty";
    if (n > IDL_NAME_MAX)
        return "is longer than 64 characters";
    if (!isalpha((unsigned char)s[0]) || ((unsigned char)s[0] & 0x80))
        return "must start with a letter";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x80 || !(isalnum(c) || c == '_'))
            return "may hold only letters, digits and '_'";
        if (c == '_' && i + 1 < n && s[i + 1] == '_')
            return "must not contain \"__\" (reserved for generated code)";
    }
    if (s[n - 1] == '_')
        return "must not end with '_'";
    return NULL;
}

const char *idl_ta_name_problem(const char *s)
{
    const char *why = idl_name_problem(s);
    if (why != NULL)
        return why;
    if (strcasecmp(s, "ward") == 0 || strncasecmp(s, "ward_", 5) == 0)
        return "is reserved (it would clash with Ward's own symbols)";
    return NULL;
}

/* ---- types ------------------------------------------------------------------------------- */

static const struct {
    const char *name;
    idl_type type;
    size_t fixed; /* encoded size, 0 for variable */
} types[] = {
    {"u32", IDL_U32, 4},   {"u64", IDL_U64, 8},   {"i64", IDL_I64, 8},
    {"bool", IDL_BOOL, 1}, {"string", IDL_STRING, 0}, {"bytes", IDL_BYTES, 0},
};

const char *idl_type_name(idl_type t)
{
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (types[i].type == t)
            return types[i].name;
    return "?";
}

int idl_type_fixed(idl_type t, size_t *size)
{
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (types[i].type == t) {
            if (size != NULL)
                *size = types[i].fixed;
            return types[i].fixed != 0;
        }
    if (size != NULL)
        *size = 0;
    return 0;
}

static int type_from_name(const char *s, idl_type *out)
{
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (strcmp(s, types[i].name) == 0) {
            *out = types[i].type;
            return 1;
        }
    return 0;
}

/* ---- the lexer (one line) ---------------------------------------------------------------- */

enum tok { TK_END, TK_IDENT, TK_LPAREN, TK_RPAREN, TK_COMMA, TK_SEMI };

typedef struct lexer {
    const char *s; /* the line, without its newline */
    size_t n;
    size_t i;
    char text[IDL_NAME_MAX + 1]; /* the last identifier */
    size_t tok_start;
} lexer;

static const char *tok_desc(enum tok t)
{
    switch (t) {
    case TK_END: return "end of line";
    case TK_IDENT: return "a name";
    case TK_LPAREN: return "'('";
    case TK_RPAREN: return "')'";
    case TK_COMMA: return "','";
    case TK_SEMI: return "';'";
    }
    return "?";
}

static int is_ident_char(unsigned char c)
{
    return c < 0x80 && (isalnum(c) || c == '_');
}

/* Next token; -1 on a lexical error (message set). A comment ends the line. */
static int lex_next(pctx *p, lexer *lx, enum tok *out)
{
    while (lx->i < lx->n && (lx->s[lx->i] == ' ' || lx->s[lx->i] == '\t'))
        lx->i++;
    lx->tok_start = lx->i;
    if (lx->i >= lx->n || lx->s[lx->i] == '#' ||
        (lx->s[lx->i] == '/' && lx->i + 1 < lx->n && lx->s[lx->i + 1] == '/')) {
        lx->i = lx->n;
        *out = TK_END;
        return 0;
    }
    unsigned char c = (unsigned char)lx->s[lx->i];
    switch (c) {
    case '(': lx->i++; *out = TK_LPAREN; return 0;
    case ')': lx->i++; *out = TK_RPAREN; return 0;
    case ',': lx->i++; *out = TK_COMMA; return 0;
    case ';': lx->i++; *out = TK_SEMI; return 0;
    default: break;
    }
    if (!is_ident_char(c)) {
        if (c >= 0x21 && c < 0x7f)
            return fail(p, "unexpected character '%c'", c);
        return fail(p, "unexpected byte 0x%02x outside a comment", c);
    }
    size_t start = lx->i;
    while (lx->i < lx->n && is_ident_char((unsigned char)lx->s[lx->i]))
        lx->i++;
    size_t len = lx->i - start;
    if (len > IDL_NAME_MAX)
        return fail(p, "name '%.20s...' is longer than %d characters", lx->s + start,
                    IDL_NAME_MAX);
    memcpy(lx->text, lx->s + start, len);
    lx->text[len] = '\0';
    *out = TK_IDENT;
    return 0;
}

static int expect(pctx *p, lexer *lx, enum tok want, const char *context)
{
    enum tok t = TK_END;
    if (lex_next(p, lx, &t) != 0)
        return -1;
    if (t != want)
        return fail(p, "expected %s %s, found %s", tok_desc(want), context,
                    t == TK_IDENT ? lx->text : tok_desc(t));
    return 0;
}

/* ---- declarations ------------------------------------------------------------------------ */

typedef struct growing {
    idl_func *v;
    size_t n, cap;
} growing;

static idl_func *grow(growing *g)
{
    if (g->n == g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 8;
        idl_func *v = realloc(g->v, cap * sizeof *v);
        if (v == NULL)
            return NULL;
        g->v = v;
        g->cap = cap;
    }
    idl_func *f = &g->v[g->n++];
    memset(f, 0, sizeof *f);
    return f;
}

/* The declaration's keyword is followed by exactly one space and the name; for call and ocall
 * the name is followed directly by '('. This keeps "call NAME(" literal for `ward ta sign`. */
static int check_layout(pctx *p, const lexer *lx, size_t kw_len, const char *kw, char after)
{
    if (lx->n <= kw_len || lx->s[kw_len] != ' ' || lx->n <= kw_len + 1 ||
        !is_ident_char((unsigned char)lx->s[kw_len + 1]))
        return fail(p, "write '%s NAME%c' with exactly one space after '%s'", kw, after, kw);
    size_t i = kw_len + 1;
    while (i < lx->n && is_ident_char((unsigned char)lx->s[i]))
        i++;
    if (i >= lx->n || lx->s[i] != after)
        return fail(p, "write '%s NAME%c' with no space before '%c'", kw, after, after);
    return 0;
}

static int parse_params(pctx *p, lexer *lx, idl_func *f)
{
    enum tok t = TK_END;
    if (lex_next(p, lx, &t) != 0)
        return -1;
    if (t == TK_RPAREN)
        return 0;
    for (;;) {
        if (t != TK_IDENT)
            return fail(p, "expected 'in' or 'out', found %s", tok_desc(t));
        idl_dir dir;
        if (strcmp(lx->text, "in") == 0)
            dir = IDL_IN;
        else if (strcmp(lx->text, "out") == 0)
            dir = IDL_OUT;
        else
            return fail(p, "expected 'in' or 'out' before parameter, found '%s'", lx->text);
        if (lex_next(p, lx, &t) != 0)
            return -1;
        if (t != TK_IDENT)
            return fail(p, "expected a type after '%s', found %s", dir == IDL_IN ? "in" : "out",
                        tok_desc(t));
        idl_type type;
        if (!type_from_name(lx->text, &type))
            return fail(p, "unknown type '%s' (types: u32 u64 i64 bool string bytes)", lx->text);
        if (lex_next(p, lx, &t) != 0)
            return -1;
        if (t != TK_IDENT)
            return fail(p, "expected a parameter name after '%s', found %s",
                        idl_type_name(type), tok_desc(t));
        const char *why = idl_name_problem(lx->text);
        if (why != NULL)
            return fail(p, "parameter name '%s' %s", lx->text, why);
        why = param_reserved(lx->text);
        if (why != NULL)
            return fail(p, "parameter name '%s' %s", lx->text, why);
        if (f->n_params >= IDL_MAX_PARAMS)
            return fail(p, "'%s' has more than %d parameters", f->name, IDL_MAX_PARAMS);
        idl_param *pa = &f->params[f->n_params++];
        pa->dir = dir;
        pa->type = type;
        memcpy(pa->name, lx->text, strlen(lx->text) + 1);

        if (lex_next(p, lx, &t) != 0)
            return -1;
        if (t == TK_RPAREN)
            return 0;
        if (t != TK_COMMA)
            return fail(p, "expected ',' or ')' after parameter '%s', found %s", pa->name,
                        t == TK_IDENT ? lx->text : tok_desc(t));
        if (lex_next(p, lx, &t) != 0)
            return -1;
    }
}

/* Names of the C parameters a function gets: each parameter's own, and NAME_len for bytes. */
static int check_param_names(pctx *p, const idl_func *f, const char *ta)
{
    size_t ta_len = strlen(ta);
    for (size_t i = 0; i < f->n_params; i++) {
        const idl_param *a = &f->params[i];
        if (strncmp(a->name, ta, ta_len) == 0 && a->name[ta_len] == '_')
            return fail(p, "parameter name '%s' starts with the TA's prefix '%s_'", a->name, ta);
        for (size_t j = 0; j < f->n_params; j++) {
            const idl_param *b = &f->params[j];
            if (j > i && strcmp(a->name, b->name) == 0)
                return fail(p, "'%s' has two parameters named '%s'", f->name, a->name);
            if (b->type == IDL_BYTES) {
                size_t bl = strlen(b->name);
                if (strncmp(a->name, b->name, bl) == 0 && strcmp(a->name + bl, "_len") == 0)
                    return fail(p, "parameter name '%s' clashes with the length of bytes '%s'",
                                a->name, b->name);
            }
        }
    }
    return 0;
}

static int name_taken(const growing *g, const char *name)
{
    for (size_t i = 0; i < g->n; i++)
        if (strcasecmp(g->v[i].name, name) == 0)
            return 1;
    return 0;
}

static int parse_func(pctx *p, lexer *lx, const char *kw, growing *own, growing *other,
                      size_t max, const char *ta)
{
    if (check_layout(p, lx, strlen(kw), kw, '(') != 0)
        return -1;
    if (expect(p, lx, TK_IDENT, "after the keyword") != 0)
        return -1;
    char name[IDL_NAME_MAX + 1];
    memcpy(name, lx->text, sizeof name);
    const char *why = idl_name_problem(name);
    if (why != NULL)
        return fail(p, "%s name '%s' %s", kw, name, why);
    if (strcasecmp(name, "dispatch") == 0 ||
        (strcmp(kw, "call") == 0 && strncasecmp(name, "ocall_", 6) == 0))
        return fail(p, "%s name '%s' is reserved for generated code", kw, name);
    if (name_taken(own, name) || name_taken(other, name))
        return fail(p, "'%s' is declared twice (names are compared ignoring case)", name);
    if (own->n >= max)
        return fail(p, "more than %zu %ss", max, kw);
    if (expect(p, lx, TK_LPAREN, "after the name") != 0)
        return -1;
    idl_func *f = grow(own);
    if (f == NULL)
        return fail(p, "out of memory");
    memcpy(f->name, name, sizeof f->name);
    f->line = p->line;
    if (parse_params(p, lx, f) != 0 || check_param_names(p, f, ta) != 0) {
        own->n--;
        return -1;
    }
    if (expect(p, lx, TK_SEMI, "after ')'") != 0 || expect(p, lx, TK_END, "after ';'") != 0) {
        own->n--;
        return -1;
    }
    return 0;
}

/* ---- the file ---------------------------------------------------------------------------- */

int idl_parse(const char *text, size_t len, const char *fname, idl_file *out, idl_error *err)
{
    pctx p = {.fname = fname != NULL ? fname : "<idl>", .line = 0, .err = err};
    growing calls = {0}, ocalls = {0};
    int have_ta = 0;
    memset(out, 0, sizeof *out);
    err->msg[0] = '\0';
    if (text == NULL && len > 0)
        return fail(&p, "no input");
    if (len > IDL_MAX_FILE)
        return fail(&p, "file larger than %u bytes", IDL_MAX_FILE);

    size_t pos = 0;
    while (pos < len) {
        if (p.line == UINT32_MAX)
            return fail(&p, "too many lines");
        p.line++;
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t line_len = (nl != NULL ? (size_t)(nl - (text + pos)) : len - pos);
        lexer lx = {.s = text + pos, .n = line_len, .i = 0};
        pos += line_len + (nl != NULL ? 1 : 0);

        if (line_len > IDL_MAX_LINE) {
            fail(&p, "line longer than %d bytes", IDL_MAX_LINE);
            goto bad;
        }
        /* Control characters are refused everywhere, even in comments: a stray CR or NUL would
         * make two readers of this file see different lines. */
        for (size_t i = 0; i < line_len; i++) {
            unsigned char c = (unsigned char)lx.s[i];
            if (c == '\r') {
                fail(&p, "carriage return: use LF line endings");
                goto bad;
            }
            if ((c < 0x20 && c != '\t') || c == 0x7f) {
                fail(&p, "control character 0x%02x", c);
                goto bad;
            }
        }
        enum tok t = TK_END;
        if (lex_next(&p, &lx, &t) != 0)
            goto bad;
        if (t == TK_END)
            continue;
        if (lx.tok_start != 0) {
            fail(&p, "a declaration starts at the beginning of its line");
            goto bad;
        }
        if (t != TK_IDENT) {
            fail(&p, "expected 'ta', 'call' or 'ocall', found %s", tok_desc(t));
            goto bad;
        }
        if (strcmp(lx.text, "ta") == 0) {
            if (have_ta) {
                fail(&p, "a second 'ta' declaration");
                goto bad;
            }
            if (check_layout(&p, &lx, 2, "ta", ';') != 0 ||
                expect(&p, &lx, TK_IDENT, "after 'ta'") != 0)
                goto bad;
            const char *why = idl_ta_name_problem(lx.text);
            if (why != NULL) {
                fail(&p, "TA name '%s' %s", lx.text, why);
                goto bad;
            }
            memcpy(out->ta, lx.text, sizeof out->ta);
            if (expect(&p, &lx, TK_SEMI, "after the TA name") != 0 ||
                expect(&p, &lx, TK_END, "after ';'") != 0)
                goto bad;
            have_ta = 1;
        } else if (strcmp(lx.text, "call") == 0 || strcmp(lx.text, "ocall") == 0) {
            if (!have_ta) {
                fail(&p, "the file must begin with 'ta NAME;'");
                goto bad;
            }
            int is_call = lx.text[0] == 'c';
            if (parse_func(&p, &lx, is_call ? "call" : "ocall", is_call ? &calls : &ocalls,
                           is_call ? &ocalls : &calls,
                           is_call ? IDL_MAX_CALLS : IDL_MAX_OCALLS, out->ta) != 0)
                goto bad;
        } else {
            fail(&p, "unknown declaration '%s' (expected 'ta', 'call' or 'ocall')", lx.text);
            goto bad;
        }
    }
    p.line = 0;
    if (!have_ta) {
        fail(&p, "no 'ta NAME;' declaration");
        goto bad;
    }
    if (calls.n == 0) {
        fail(&p, "declares no call");
        goto bad;
    }
    out->calls = calls.v;
    out->n_calls = calls.n;
    out->ocalls = ocalls.v;
    out->n_ocalls = ocalls.n;
    return 0;
bad:
    free(calls.v);
    free(ocalls.v);
    memset(out, 0, sizeof *out);
    return -1;
}

int idl_parse_file(const char *path, idl_file *out, idl_error *err)
{
    pctx p = {.fname = path, .line = 0, .err = err};
    memset(out, 0, sizeof *out);
    FILE *fp = fopen(path, "rb");
    if (fp == NULL)
        return fail(&p, "cannot open: %s", strerror(errno));
    char *buf = malloc(IDL_MAX_FILE + 1);
    if (buf == NULL) {
        fclose(fp);
        return fail(&p, "out of memory");
    }
    size_t n = fread(buf, 1, IDL_MAX_FILE + 1, fp);
    int rerr = ferror(fp);
    fclose(fp);
    int rc;
    if (rerr)
        rc = fail(&p, "read error");
    else if (n > IDL_MAX_FILE)
        rc = fail(&p, "file larger than %u bytes", IDL_MAX_FILE);
    else
        rc = idl_parse(buf, n, path, out, err);
    free(buf);
    return rc;
}

void idl_free(idl_file *f)
{
    if (f == NULL)
        return;
    free(f->calls);
    free(f->ocalls);
    memset(f, 0, sizeof *f);
}

static const idl_func *find(const idl_func *v, size_t n, const char *name, uint32_t *id)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i].name, name) == 0) {
            if (id != NULL)
                *id = (uint32_t)i;
            return &v[i];
        }
    return NULL;
}

const idl_func *idl_find_call(const idl_file *f, const char *name, uint32_t *id)
{
    return find(f->calls, f->n_calls, name, id);
}

const idl_func *idl_find_ocall(const idl_file *f, const char *name, uint32_t *id)
{
    return find(f->ocalls, f->n_ocalls, name, id);
}
