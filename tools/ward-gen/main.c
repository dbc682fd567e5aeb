/* ward-gen: writes a TA's marshalling code from its interface description (docs/sdk.md).
 *
 *   ward-gen [-o DIR] [--name PREFIX] [--host|--ta] FILE.idl
 *   ward-gen --check FILE.idl      parse only
 *   ward-gen --calls FILE.idl      print the call names in call-id order
 *
 * Writes DIR/PREFIX_host.{h,c} and DIR/PREFIX_ta.{h,c}; PREFIX is the IDL's TA name unless
 * --name overrides it. Each file is written to a temporary name and renamed into place, so that
 * a failed or interrupted run never leaves a half-written source for the build to compile.
 * Malformed IDL is reported as "FILE:LINE: message" with exit status 1; bad usage exits 2. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ward-gen/gen.h"
#include "ward-gen/idl.h"
#include "wire_rt_text.h" /* wire_rt_text: tools/ward-gen/wire_rt.h as a string (build step) */

#ifndef WARD_VERSION
#define WARD_VERSION "0"
#endif

static const char usage[] =
    "usage: ward-gen [-o DIR] [--name PREFIX] [--host|--ta] FILE.idl\n"
    "       ward-gen --check FILE.idl\n"
    "       ward-gen --calls FILE.idl\n"
    "\n"
    "Writes the marshalling code of a Ward TA from its interface description:\n"
    "PREFIX_host.h/.c (typed calls for the host, ocall dispatcher) and PREFIX_ta.h/.c (the\n"
    "TA's dispatch, typed ocalls). PREFIX is the IDL's TA name unless --name sets it.\n"
    "\n"
    "options:\n"
    "  -o, --out-dir DIR  where to write (default: .)\n"
    "  --name PREFIX      C prefix and file name prefix instead of the TA name\n"
    "  --host, --ta       write only that side\n"
    "  --check            parse and validate only\n"
    "  --calls            print the call names, one a line, in call-id order\n"
    "  --version          print the version\n"
    "\n"
    "The language and the wire encoding: docs/sdk.md.\n";

typedef struct outfile {
    char *path;
    char *tmp;
    FILE *fp;
} outfile;

static char *join(const char *dir, const char *prefix, const char *suffix)
{
    size_t n = strlen(dir) + 1 + strlen(prefix) + strlen(suffix) + 1;
    char *p = malloc(n);
    if (p != NULL)
        snprintf(p, n, "%s/%s%s", dir, prefix, suffix);
    return p;
}

static int open_out(outfile *f, const char *dir, const char *prefix, const char *suffix)
{
    f->path = join(dir, prefix, suffix);
    if (f->path != NULL) {
        size_t n = strlen(f->path) + sizeof ".tmpXXXXXX";
        f->tmp = malloc(n);
        if (f->tmp != NULL)
            snprintf(f->tmp, n, "%s.tmpXXXXXX", f->path);
    }
    if (f->path == NULL || f->tmp == NULL) {
        fputs("ward-gen: out of memory\n", stderr);
        return -1;
    }
    int fd = mkstemp(f->tmp);
    if (fd < 0) {
        fprintf(stderr, "ward-gen: cannot create %s: %s\n", f->tmp, strerror(errno));
        free(f->tmp);
        f->tmp = NULL;
        return -1;
    }
    /* mkstemp makes 0600; generated sources are ordinary files: 0666 less the umask */
    mode_t mask = umask(0);
    umask(mask);
    if (fchmod(fd, 0666 & ~mask) != 0 || (f->fp = fdopen(fd, "w")) == NULL) {
        fprintf(stderr, "ward-gen: cannot open %s: %s\n", f->tmp, strerror(errno));
        close(fd);
        unlink(f->tmp);
        free(f->tmp);
        f->tmp = NULL;
        return -1;
    }
    return 0;
}

/* commit: rename into place; otherwise remove the temporary file. */
static int close_out(outfile *f, int commit)
{
    int rc = 0;
    if (f->fp != NULL && fclose(f->fp) != 0) {
        fprintf(stderr, "ward-gen: cannot write %s: %s\n", f->path, strerror(errno));
        rc = -1;
    }
    f->fp = NULL;
    if (f->tmp != NULL) {
        if (commit && rc == 0) {
            if (rename(f->tmp, f->path) != 0) {
                fprintf(stderr, "ward-gen: cannot rename to %s: %s\n", f->path,
                        strerror(errno));
                rc = -1;
            }
        }
        if (!commit || rc != 0)
            unlink(f->tmp);
    }
    free(f->tmp);
    free(f->path);
    f->tmp = f->path = NULL;
    return rc;
}

/* The IDL's file name without directories, with anything unusual in a C comment replaced. */
static void source_name(const char *path, char *out, size_t cap)
{
    const char *base = strrchr(path, '/');
    base = base != NULL ? base + 1 : path;
    size_t i = 0;
    for (; base[i] != '\0' && i + 1 < cap; i++) {
        char c = base[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '.' || c == '_' || c == '-';
        out[i] = ok ? c : '?';
    }
    out[i] = '\0';
}

int main(int argc, char **argv)
{
    const char *dir = ".", *name = NULL, *input = NULL;
    int host = 1, ta = 1, check = 0, calls = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if ((strcmp(a, "-o") == 0 || strcmp(a, "--out-dir") == 0) && i + 1 < argc) {
            dir = argv[++i];
        } else if (strcmp(a, "--name") == 0 && i + 1 < argc) {
            name = argv[++i];
        } else if (strcmp(a, "--host") == 0) {
            ta = 0;
        } else if (strcmp(a, "--ta") == 0) {
            host = 0;
        } else if (strcmp(a, "--check") == 0) {
            check = 1;
        } else if (strcmp(a, "--calls") == 0) {
            calls = 1;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(usage, stdout);
            return 0;
        } else if (strcmp(a, "--version") == 0) {
            printf("ward-gen %s (wire encoding 1)\n", WARD_VERSION);
            return 0;
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "ward-gen: unknown or incomplete option '%s'\n\n%s", a, usage);
            return 2;
        } else if (input == NULL) {
            input = a;
        } else {
            fprintf(stderr, "ward-gen: more than one input file\n\n%s", usage);
            return 2;
        }
    }
    if (input == NULL) {
        fputs(usage, stderr);
        return 2;
    }
    if (!host && !ta) {
        fputs("ward-gen: --host and --ta together write nothing; give neither for both\n",
              stderr);
        return 2;
    }
    if (name != NULL) {
        const char *why = idl_ta_name_problem(name);
        if (why != NULL) {
            fprintf(stderr, "ward-gen: --name '%s' %s\n", name, why);
            return 2;
        }
    }

    idl_file f;
    idl_error err;
    if (idl_parse_file(input, &f, &err) != 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    if (check || calls) {
        if (calls)
            for (size_t i = 0; i < f.n_calls; i++)
                printf("%s\n", f.calls[i].name);
        idl_free(&f);
        return fflush(stdout) == 0 ? 0 : 1;
    }
    const char *prefix = name != NULL ? name : f.ta;
    char source[256];
    source_name(input, source, sizeof source);

    outfile files[4] = {{0}};
    static const char *const suffix[4] = {"_host.h", "_host.c", "_ta.h", "_ta.c"};
    int want[4] = {host, host, ta, ta};
    int rc = 0;
    for (int i = 0; i < 4 && rc == 0; i++)
        if (want[i])
            rc = open_out(&files[i], dir, prefix, suffix[i]);
    if (rc == 0) {
        gen_out out = {files[0].fp, files[1].fp, files[2].fp, files[3].fp};
        if (gen_write(&f, prefix, source, wire_rt_text, &out) != 0) {
            fprintf(stderr, "ward-gen: writing to %s failed: %s\n", dir, strerror(errno));
            rc = -1;
        }
    }
    for (int i = 0; i < 4; i++)
        if (close_out(&files[i], rc == 0) != 0)
            rc = -1;
    idl_free(&f);
    return rc == 0 ? 0 : 1;
}
