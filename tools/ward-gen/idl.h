/* The Ward interface description language (IDL): a TA's calls and ocalls with typed parameters.
 * Parsed by ward-gen (which writes the marshalling code) and by `ward ta run` (which marshals
 * typed arguments at run time), so that both read a file the same way. The language and the
 * wire encoding are documented in docs/sdk.md.
 *
 * This parser depends on nothing but the C library: errors come back as "file:line: message"
 * in the caller's idl_error, never through ward_errmsg(). */
#ifndef WARD_GEN_IDL_H
#define WARD_GEN_IDL_H

#include <stddef.h>
#include <stdint.h>

#define IDL_NAME_MAX 64        /* identifiers: [A-Za-z][A-Za-z0-9_]*, at most this long */
#define IDL_MAX_CALLS 256      /* WARD_TA_MAX_CALLS */
#define IDL_MAX_OCALLS 256
#define IDL_MAX_PARAMS 32      /* per call or ocall */
#define IDL_MAX_LINE 4096      /* bytes per line, newline excluded */
#define IDL_MAX_FILE (1u << 20)

typedef enum idl_type {
    IDL_U32 = 1,
    IDL_U64,
    IDL_I64,
    IDL_BOOL,
    IDL_STRING,
    IDL_BYTES
} idl_type;

typedef enum idl_dir { IDL_IN = 1, IDL_OUT = 2 } idl_dir;

typedef struct idl_param {
    idl_dir dir;
    idl_type type;
    char name[IDL_NAME_MAX + 1];
} idl_param;

typedef struct idl_func {
    char name[IDL_NAME_MAX + 1];
    unsigned line;             /* where it was declared */
    size_t n_params;
    idl_param params[IDL_MAX_PARAMS];
} idl_func;

typedef struct idl_file {
    char ta[IDL_NAME_MAX + 1];
    size_t n_calls;            /* call id = index */
    size_t n_ocalls;           /* ocall id = index */
    idl_func *calls;
    idl_func *ocalls;
} idl_file;

typedef struct idl_error {
    char msg[512];             /* "file:line: message" */
} idl_error;

/* Parses len bytes of IDL text; fname only names the input in messages. Returns 0 and fills
 * *out (release with idl_free), or -1 with err->msg set and *out left empty. */
int idl_parse(const char *text, size_t len, const char *fname, idl_file *out, idl_error *err);
/* Reads and parses a file (at most IDL_MAX_FILE bytes). */
int idl_parse_file(const char *path, idl_file *out, idl_error *err);
void idl_free(idl_file *f);

/* Why name is not a valid IDL name ([A-Za-z][A-Za-z0-9_]*, at most 64 characters, no "__",
 * not ending in '_'), or NULL if it is. The TA name is also not "ward" nor "ward_...". */
const char *idl_name_problem(const char *name);
const char *idl_ta_name_problem(const char *name);

/* "u32", "string", ...; "?" for an unknown value. */
const char *idl_type_name(idl_type t);
/* 1 for the fixed-width types (u32, u64, i64, bool), and their encoded size in *size. */
int idl_type_fixed(idl_type t, size_t *size);
/* The call or ocall named name, or NULL; *id receives its index. */
const idl_func *idl_find_call(const idl_file *f, const char *name, uint32_t *id);
const idl_func *idl_find_ocall(const idl_file *f, const char *name, uint32_t *id);

#endif
