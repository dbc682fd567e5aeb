/* libFuzzer target: the IDL parser (developer input read by ward-gen and `ward ta run`) and the
 * wire decoders that generated code uses on messages crossing the host/TA boundary.
 * Input: IDL text, a NUL byte, then a message. If the IDL parses, the message is decoded as the
 * in-parameters of every call; a decode that succeeds must re-encode to exactly the message. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ward-gen/idl.h"
#include "ward-gen/wire_rt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Decodes msg as f's in-parameters and re-encodes them; traps if the round trip differs. */
static void round_trip(const idl_func *f, const uint8_t *msg, size_t len)
{
    wg__rd r = {.p = msg, .len = len, .off = 0};
    uint8_t *out = malloc(len + 1);
    if (out == NULL)
        return;
    wg__wr w = {.p = out, .cap = len + 1, .len = 0};
    ward_err e = WARD_OK;
    for (size_t i = 0; i < f->n_params && e == WARD_OK; i++) {
        if (f->params[i].dir != IDL_IN)
            continue;
        switch (f->params[i].type) {
        case IDL_U32: {
            uint32_t v;
            e = wg__get_u32(&r, &v, "u32");
            if (!e) e = wg__put_u32(&w, v, "u32");
            break;
        }
        case IDL_U64: {
            uint64_t v;
            e = wg__get_u64(&r, &v, "u64");
            if (!e) e = wg__put_u64(&w, v, "u64");
            break;
        }
        case IDL_I64: {
            int64_t v;
            e = wg__get_i64(&r, &v, "i64");
            if (!e) e = wg__put_i64(&w, v, "i64");
            break;
        }
        case IDL_BOOL: {
            bool v;
            e = wg__get_bool(&r, &v, "bool");
            if (!e) e = wg__put_bool(&w, v, "bool");
            break;
        }
        case IDL_STRING: {
            char *s = NULL;
            e = wg__get_str_dup(&r, &s, "string");
            if (!e) e = wg__put_str(&w, s, "string");
            wg__free_str(s);
            break;
        }
        case IDL_BYTES: {
            uint8_t *b = NULL;
            size_t n = 0;
            e = wg__get_bytes_dup(&r, &b, &n, "bytes");
            if (!e) e = wg__put_bytes(&w, b, n, "bytes");
            wg__free_bytes(b, n);
            break;
        }
        }
    }
    if (e == WARD_OK && wg__end(&r, "message") == WARD_OK &&
        (w.len != len || memcmp(out, msg, len) != 0))
        __builtin_trap();
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    size_t text_len = nul ? (size_t)(nul - data) : size;
    idl_file f;
    idl_error err;
    if (idl_parse((const char *)data, text_len, "fuzz.idl", &f, &err) != 0)
        return 0;
    const uint8_t *msg = nul ? nul + 1 : data + size;
    size_t msg_len = nul ? size - text_len - 1 : 0;
    for (size_t i = 0; i < f.n_calls; i++) {
        uint32_t id = 0;
        if (idl_find_call(&f, f.calls[i].name, &id) != &f.calls[i] || id != i)
            __builtin_trap();
        round_trip(&f.calls[i], msg, msg_len);
    }
    idl_free(&f);
    return 0;
}
