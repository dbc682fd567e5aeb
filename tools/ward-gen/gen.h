/* ward-gen's code writer: from a parsed IDL file to the host-side and TA-side C sources. */
#ifndef WARD_GEN_GEN_H
#define WARD_GEN_GEN_H

#include <stdio.h>

#include "ward-gen/idl.h"

typedef struct gen_out {
    FILE *host_h, *host_c, *ta_h, *ta_c; /* any may be NULL: that file is not written */
} gen_out;

/* Writes the four files for f; prefix is the C prefix of every generated name (the TA name
 * unless overridden), source names the IDL in the generated comments, runtime is the text of
 * wire_rt.h. Returns 0, or -1 if a write failed. */
int gen_write(const idl_file *f, const char *prefix, const char *source, const char *runtime,
              const gen_out *out);

#endif
