/* `ward ta new NAME [--dir DIR] [--ward-build DIR]`: scaffolds a TA project that builds out of
 * the box: CMakeLists.txt, NAME.idl, NAME.c (the example TA: greet, add, report, seal/unseal and
 * an ocall, so that `ward ta run` can demonstrate it), README.md.
 *
 * The project finds Ward either through WARD_BUILD_DIR, a Ward build tree (its ward-sdk.cmake
 * names libward-ta, the headers, ward-gen and the CMake helpers), or, when that is empty, an
 * installed Ward (WardTA.cmake and WardGen.cmake under <prefix>/lib/cmake/ward, ward-gen on the
 * PATH). `ward ta new` fills WARD_BUILD_DIR with the build tree this `ward` was built in, if it
 * runs from one, so that on a fresh checkout
 *     ward ta new hello && cmake -S hello -B hello/build && cmake --build hello/build
 * just works. Nothing existing is ever overwritten: the directory must not exist. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "ward-gen/idl.h"
#include "ward/err.h"

static const char help[] =
    "usage: ward ta new NAME [--dir DIR] [--ward-build DIR]\n"
    "\n"
    "Creates a TA project in DIR (default: ./NAME, which must not exist): CMakeLists.txt,\n"
    "NAME.idl (its interface), NAME.c (the TA: greet, add, report, seal/unseal, an ocall) and\n"
    "README.md (how to build, sign and run it). NAME is a C identifier: a letter, then letters,\n"
    "digits and '_', at most 64 characters.\n"
    "\n"
    "options:\n"
    "  --dir DIR         where to create the project (must not exist)\n"
    "  --ward-build DIR  the Ward build tree the project builds against (default: the one this\n"
    "                    `ward` was built in, if any; otherwise an installed Ward)\n"
    "\n"
    "exit status: 0 created, 1 failed, 2 bad usage (invalid name, existing directory)\n";

/* ---- the templates: @NAME@ is the TA name, @WARD_BUILD_DIR@ the build tree ---------------- */

static const char tpl_cmake[] =
    "# @NAME@: a Ward trusted application (TA). Scaffolded by `ward ta new`; yours to edit.\n"
    "cmake_minimum_required(VERSION 3.25)\n"
    "project(@NAME@ LANGUAGES C)\n"
    "set(CMAKE_C_STANDARD 17)\n"
    "set(CMAKE_C_STANDARD_REQUIRED ON)\n"
    "set(CMAKE_C_EXTENSIONS OFF)\n"
    "if(NOT CMAKE_BUILD_TYPE)\n"
    "  set(CMAKE_BUILD_TYPE RelWithDebInfo CACHE STRING \"Build type\" FORCE)\n"
    "endif()\n"
    "\n"
    "# Where Ward is. WARD_BUILD_DIR: a Ward build tree (`ward ta new` filled in the one it ran\n"
    "# from, if any); empty: an installed Ward, found under CMAKE_PREFIX_PATH or the system\n"
    "# prefixes (WardTA.cmake and WardGen.cmake in <prefix>/lib/cmake/ward, ward-gen on the PATH).\n"
    "set(WARD_BUILD_DIR \"@WARD_BUILD_DIR@\" CACHE PATH \"A Ward build tree (empty: an installed Ward)\")\n"
    "if(WARD_BUILD_DIR)\n"
    "  if(NOT EXISTS \"${WARD_BUILD_DIR}/ward-sdk.cmake\")\n"
    "    message(FATAL_ERROR \"${WARD_BUILD_DIR} is not a built Ward build tree (no ward-sdk.cmake): \"\n"
    "                        \"build Ward there, or set WARD_BUILD_DIR, or empty it to use an installed Ward\")\n"
    "  endif()\n"
    "  include(\"${WARD_BUILD_DIR}/ward-sdk.cmake\")\n"
    "else()\n"
    "  find_path(WARD_CMAKE_DIR WardGen.cmake\n"
    "            PATH_SUFFIXES lib/cmake/ward lib/${CMAKE_LIBRARY_ARCHITECTURE}/cmake/ward lib64/cmake/ward\n"
    "            DOC \"Where an installed Ward keeps WardTA.cmake and WardGen.cmake\")\n"
    "  if(NOT WARD_CMAKE_DIR)\n"
    "    message(FATAL_ERROR \"Ward not found: set WARD_BUILD_DIR to a Ward build tree, or install Ward \"\n"
    "                        \"(or point CMAKE_PREFIX_PATH at it)\")\n"
    "  endif()\n"
    "  include(\"${WARD_CMAKE_DIR}/WardTA.cmake\")\n"
    "  include(\"${WARD_CMAKE_DIR}/WardGen.cmake\")\n"
    "endif()\n"
    "\n"
    "# The marshalling code, generated from the interface description at build time.\n"
    "ward_generate(IDL @NAME@.idl OUT_TA @NAME@_ta_sources INCLUDE_DIR @NAME@_gen_dir)\n"
    "# The TA image: a static-PIE executable linked with libward-ta (build/@NAME@).\n"
    "ward_add_ta(TARGET @NAME@ SOURCES @NAME@.c ${@NAME@_ta_sources}\n"
    "            INCLUDE_DIRECTORIES ${@NAME@_gen_dir})\n"
    "target_compile_options(@NAME@ PRIVATE -Wall -Wextra -Wshadow -Wconversion -Wsign-conversion\n"
    "                       -Wvla -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes\n"
    "                       -fstack-protector-strong)\n";

static const char tpl_idl[] =
    "# The interface of the @NAME@ TA (docs/sdk.md in Ward: the language and the wire encoding).\n"
    "# Call ids follow the order of the `call` lines: `ward ta sign --calls-from @NAME@.idl`\n"
    "# writes the same order into the manifest. Keep each declaration on one line.\n"
    "ta @NAME@;\n"
    "\n"
    "call greet(in string name, out string greeting);\n"
    "call add(in u64 a, in u64 b, out u64 sum);\n"
    "call report(in bytes nonce, out bytes report, out bytes sig);\n"
    "call seal(in bytes data, out bytes blob);\n"
    "call unseal(in bytes blob, out bytes data);\n"
    "\n"
    "ocall log_line(in string line);\n";

static const char tpl_c[] =
    "/* The @NAME@ TA: the functions declared in @NAME@.idl. ward-gen writes the marshalling\n"
    " * (@NAME@_ta.h/.c in the build tree); this file holds only what the TA does.\n"
    " *\n"
    " *   greet   a greeting, with an ocall that logs a line on the host\n"
    " *   add     a + b, refusing overflow\n"
    " *   report  a report signed by the platform over report_data = nonce zero-padded to 64 bytes\n"
    " *   seal    AES-256-GCM under this TA's sealing key (measurement policy, key version 1):\n"
    " *           blob = version (1) || nonce (12, random) || ciphertext || tag (16)\n"
    " *   unseal  the reverse; only this exact TA on the same platform can do it\n"
    " *\n"
    " * String and bytes outputs are malloc'd here; the generated dispatch wipes and frees them. */\n"
    "#include <stdint.h>\n"
    "#include <stdio.h>\n"
    "#include <stdlib.h>\n"
    "#include <string.h>\n"
    "\n"
    "#include <ward/crypto.h>\n"
    "#include <ward/ta.h>\n"
    "\n"
    "#include \"@NAME@_ta.h\"\n"
    "\n"
    "#define SEAL_VERSION 1u\n"
    "#define SEAL_KEY_VERSION 1u\n"
    "#define SEAL_OVERHEAD (1u + WARD_AEAD_NONCE_LEN + WARD_AEAD_TAG_LEN)\n"
    "#define NAME_MAX_LEN 256u\n"
    "\n"
    "ward_err @NAME@_greet(const char *name, char **greeting)\n"
    "{\n"
    "    size_t n = strlen(name);\n"
    "    if (n > NAME_MAX_LEN)\n"
    "        return WARD_ERR_INVALID_ARG;\n"
    "    ward_err err = @NAME@_ocall_log_line(\"greet: a greeting was asked for\");\n"
    "    if (err != WARD_OK)\n"
    "        return err;\n"
    "    size_t cap = n + sizeof \"Hello, !\";\n"
    "    char *g = malloc(cap);\n"
    "    if (g == NULL)\n"
    "        return WARD_ERR_NOMEM;\n"
    "    snprintf(g, cap, \"Hello, %s!\", name);\n"
    "    *greeting = g;\n"
    "    return WARD_OK;\n"
    "}\n"
    "\n"
    "ward_err @NAME@_add(uint64_t a, uint64_t b, uint64_t *sum)\n"
    "{\n"
    "    if (a > UINT64_MAX - b)\n"
    "        return WARD_ERR_OVERFLOW;\n"
    "    *sum = a + b;\n"
    "    return WARD_OK;\n"
    "}\n"
    "\n"
    "ward_err @NAME@_report(const uint8_t *nonce, size_t nonce_len, uint8_t **report,\n"
    "                      size_t *report_len, uint8_t **sig, size_t *sig_len)\n"
    "{\n"
    "    if (nonce_len > WARD_REPORT_DATA_LEN)\n"
    "        return WARD_ERR_INVALID_ARG;\n"
    "    uint8_t report_data[WARD_REPORT_DATA_LEN] = {0};\n"
    "    if (nonce_len > 0)\n"
    "        memcpy(report_data, nonce, nonce_len);\n"
    "    uint8_t *r = malloc(WARD_REPORT_LEN);\n"
    "    uint8_t *s = malloc(WARD_REPORT_SIG_LEN);\n"
    "    ward_err err = (r == NULL || s == NULL) ? WARD_ERR_NOMEM : ward_ta_report(report_data, r, s);\n"
    "    if (err != WARD_OK) {\n"
    "        free(r);\n"
    "        free(s);\n"
    "        return err;\n"
    "    }\n"
    "    *report = r;\n"
    "    *report_len = WARD_REPORT_LEN;\n"
    "    *sig = s;\n"
    "    *sig_len = WARD_REPORT_SIG_LEN;\n"
    "    return WARD_OK;\n"
    "}\n"
    "\n"
    "/* This TA's sealing context: the key is bound to its measurement and never leaves the TA. */\n"
    "static ward_err seal_context(ward_aead **out)\n"
    "{\n"
    "    ward_report self;\n"
    "    ward_err err = ward_ta_self(&self);\n"
    "    if (err != WARD_OK)\n"
    "        return err;\n"
    "    uint8_t key[32];\n"
    "    err = ward_ta_seal_key(WARD_SEAL_MEASUREMENT, self.svn, SEAL_KEY_VERSION, key);\n"
    "    if (err == WARD_OK)\n"
    "        err = ward_aead_new(WARD_AEAD_AES_256_GCM, key, sizeof key, out);\n"
    "    ward_wipe(key, sizeof key);\n"
    "    return err;\n"
    "}\n"
    "\n"
    "ward_err @NAME@_seal(const uint8_t *data, size_t data_len, uint8_t **blob, size_t *blob_len)\n"
    "{\n"
    "    if (data_len > SIZE_MAX - SEAL_OVERHEAD)\n"
    "        return WARD_ERR_OVERFLOW;\n"
    "    size_t total = data_len + SEAL_OVERHEAD;\n"
    "    uint8_t *b = malloc(total);\n"
    "    if (b == NULL)\n"
    "        return WARD_ERR_NOMEM;\n"
    "    ward_aead *aead = NULL;\n"
    "    ward_err err = seal_context(&aead);\n"
    "    b[0] = (uint8_t)SEAL_VERSION;\n"
    "    uint8_t *nonce = b + 1, *ct = b + 1 + WARD_AEAD_NONCE_LEN, *tag = ct + data_len;\n"
    "    if (err == WARD_OK)\n"
    "        err = ward_random(nonce, WARD_AEAD_NONCE_LEN);\n"
    "    if (err == WARD_OK) /* the version byte is authenticated as associated data */\n"
    "        err = ward_aead_seal(aead, nonce, WARD_AEAD_NONCE_LEN, b, 1, data, data_len, ct, tag);\n"
    "    ward_aead_free(aead);\n"
    "    if (err != WARD_OK) {\n"
    "        ward_wipe(b, total);\n"
    "        free(b);\n"
    "        return err;\n"
    "    }\n"
    "    *blob = b;\n"
    "    *blob_len = total;\n"
    "    return WARD_OK;\n"
    "}\n"
    "\n"
    "ward_err @NAME@_unseal(const uint8_t *blob, size_t blob_len, uint8_t **data, size_t *data_len)\n"
    "{\n"
    "    if (blob_len < SEAL_OVERHEAD)\n"
    "        return WARD_ERR_FORMAT;\n"
    "    if (blob[0] != SEAL_VERSION)\n"
    "        return WARD_ERR_UNSUPPORTED;\n"
    "    size_t ct_len = blob_len - SEAL_OVERHEAD;\n"
    "    const uint8_t *nonce = blob + 1, *ct = blob + 1 + WARD_AEAD_NONCE_LEN, *tag = ct + ct_len;\n"
    "    uint8_t *pt = malloc(ct_len > 0 ? ct_len : 1);\n"
    "    if (pt == NULL)\n"
    "        return WARD_ERR_NOMEM;\n"
    "    ward_aead *aead = NULL;\n"
    "    ward_err err = seal_context(&aead);\n"
    "    if (err == WARD_OK)\n"
    "        err = ward_aead_open(aead, nonce, WARD_AEAD_NONCE_LEN, blob, 1, ct, ct_len, tag, pt);\n"
    "    ward_aead_free(aead);\n"
    "    if (err != WARD_OK) {\n"
    "        ward_wipe(pt, ct_len);\n"
    "        free(pt);\n"
    "        return err;\n"
    "    }\n"
    "    *data = pt;\n"
    "    *data_len = ct_len;\n"
    "    return WARD_OK;\n"
    "}\n"
    "\n"
    "int main(void)\n"
    "{\n"
    "    return ward_ta_run(@NAME@_dispatch);\n"
    "}\n";

static const char tpl_readme[] =
    "# @NAME@: a Ward trusted application\n"
    "\n"
    "Scaffolded by `ward ta new`. A TA is one static-PIE executable linked with `libward-ta`,\n"
    "plus a manifest signed with your developer key. Its interface is `@NAME@.idl`; `ward-gen`\n"
    "turns that into the marshalling code at build time (`build/ward-gen/@NAME@/`): the TA's\n"
    "dispatch (`@NAME@_ta.h/.c`) and typed stubs for host programs (`@NAME@_host.h/.c`).\n"
    "\n"
    "| file | what |\n"
    "|---|---|\n"
    "| `@NAME@.idl` | the calls and ocalls, one declaration a line; call ids follow the order of the `call` lines |\n"
    "| `@NAME@.c` | the TA: one function per call (`@NAME@_greet`, ...) and `main`, which runs `ward_ta_run(@NAME@_dispatch)` |\n"
    "| `CMakeLists.txt` | `ward_generate()` and `ward_add_ta()`; `WARD_BUILD_DIR` says which Ward to build against |\n"
    "\n"
    "## Build\n"
    "\n"
    "    cmake -S . -B build && cmake --build build\n"
    "\n"
    "`WARD_BUILD_DIR` (a Ward build tree) was filled in by `ward ta new` when it ran from one;\n"
    "set it with `-DWARD_BUILD_DIR=...`, or to empty to use an installed Ward (found through\n"
    "`CMAKE_PREFIX_PATH`; `pkg-config --libs ward-ta` gives the link line for other build systems).\n"
    "\n"
    "## Sign\n"
    "\n"
    "    ward ta keygen --out dev-key.pem                # once; keep it private\n"
    "    ward ta sign --key dev-key.pem --image build/@NAME@ --calls-from @NAME@.idl \\\n"
    "                 --out build/@NAME@.manifest.json\n"
    "    ward ta measure --image build/@NAME@ --manifest build/@NAME@.manifest.json\n"
    "\n"
    "The measurement depends on the image and the manifest's settings (product id, SVN, debug,\n"
    "limits, calls), not on the key: the same build gives the same measurement anywhere.\n"
    "\n"
    "## Run\n"
    "\n"
    "    ward ta run --image build/@NAME@ --manifest build/@NAME@.manifest.json\n"
    "    ward ta run --image build/@NAME@ --manifest build/@NAME@.manifest.json \\\n"
    "                --idl @NAME@.idl --call add a=2 b=40\n"
    "\n"
    "The first starts an instance, gets a report over a fresh nonce and verifies it, seals a\n"
    "value, destroys the instance, starts a new one and unseals the value. The second calls one\n"
    "function with typed arguments (`name=value` or in order; bytes in hex) and prints its outputs.\n"
    "\n"
    "## Change the interface\n"
    "\n"
    "Edit `@NAME@.idl`, rebuild: the build regenerates the marshalling code and the compiler tells\n"
    "you which functions to add or change in `@NAME@.c`. Sign again (`--calls-from` keeps the\n"
    "manifest's call list in step with the IDL).\n"
    "\n"
    "A host program calls the TA through `@NAME@_host.h`: `@NAME@_add(instance, 2, 40, &sum)`\n"
    "marshals, calls `ward_tee_call` and checks every length of the answer; pass\n"
    "`@NAME@_ocall_dispatch` to `ward_tee_create` and implement `@NAME@_ocall_log_line`.\n";

/* ---- writing ----------------------------------------------------------------------------- */

typedef struct subst {
    const char *name;
    const char *build_dir;
} subst;

/* tpl with @NAME@ and @WARD_BUILD_DIR@ replaced; malloc'd. */
static char *expand(const char *tpl, const subst *s)
{
    static const char k_name[] = "@NAME@", k_dir[] = "@WARD_BUILD_DIR@";
    size_t name_len = strlen(s->name), dir_len = strlen(s->build_dir);
    size_t cap = 1;
    for (const char *p = tpl; *p != '\0';) {
        size_t add = 1, skip = 1;
        if (strncmp(p, k_name, sizeof k_name - 1) == 0) {
            add = name_len;
            skip = sizeof k_name - 1;
        } else if (strncmp(p, k_dir, sizeof k_dir - 1) == 0) {
            add = dir_len;
            skip = sizeof k_dir - 1;
        }
        if (add > SIZE_MAX - cap)
            return NULL;
        cap += add;
        p += skip;
    }
    char *out = malloc(cap);
    if (out == NULL)
        return NULL;
    size_t o = 0;
    for (const char *p = tpl; *p != '\0';) {
        if (strncmp(p, k_name, sizeof k_name - 1) == 0) {
            memcpy(out + o, s->name, name_len);
            o += name_len;
            p += sizeof k_name - 1;
        } else if (strncmp(p, k_dir, sizeof k_dir - 1) == 0) {
            memcpy(out + o, s->build_dir, dir_len);
            o += dir_len;
            p += sizeof k_dir - 1;
        } else {
            out[o++] = *p++;
        }
    }
    out[o] = '\0';
    return out;
}

static ward_err write_new_file(const char *dir, const char *file, const char *text)
{
    char path[PATH_MAX];
    int n = snprintf(path, sizeof path, "%s/%s", dir, file);
    if (n < 0 || (size_t)n >= sizeof path)
        return ward_err_set(WARD_ERR_OVERFLOW, "path too long: %s/%s", dir, file);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
    if (fd < 0)
        return ward_err_set(WARD_ERR_IO, "cannot create %s: %s", path, strerror(errno));
    size_t len = strlen(text), off = 0;
    while (off < len) {
        ssize_t w = write(fd, text + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int e = errno;
            close(fd);
            return ward_err_set(WARD_ERR_IO, "cannot write %s: %s", path, strerror(e));
        }
        off += (size_t)w;
    }
    if (close(fd) != 0)
        return ward_err_set(WARD_ERR_IO, "cannot write %s: %s", path, strerror(errno));
    return WARD_OK;
}

/* 1 if path can go into a quoted CMake string as it is. */
static int cmake_safe_path(const char *p)
{
    for (; *p != '\0'; p++) {
        unsigned char c = (unsigned char)*p;
        if (c < 0x20 || c == 0x7f || c == '"' || c == '\\' || c == '$' || c == ';' || c == '@')
            return 0;
    }
    return 1;
}

/* The Ward build tree this `ward` runs from: the nearest of its executable's ancestors (up to
 * four levels) that holds ward-sdk.cmake. Empty when there is none (an installed Ward). */
static void detect_build_dir(char *out, size_t cap)
{
    out[0] = '\0';
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return;
    exe[n] = '\0';
    for (int level = 0; level < 4; level++) {
        char *slash = strrchr(exe, '/');
        if (slash == NULL || slash == exe)
            return;
        *slash = '\0';
        char probe[PATH_MAX + 32];
        snprintf(probe, sizeof probe, "%s/ward-sdk.cmake", exe);
        if (access(probe, R_OK) == 0) {
            if (strlen(exe) < cap)
                snprintf(out, cap, "%s", exe);
            return;
        }
    }
}

int cmd_ta_new(const struct cli_opts *o, int argc, char **argv)
{
    (void)o;
    if (cli_wants_help(argc, argv)) {
        fputs(help, stdout);
        return EXIT_OK;
    }
    const char *name = NULL, *dir = NULL, *ward_build = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--dir") == 0 || strcmp(a, "--ward-build") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "ward ta new: %s needs a directory\n\n%s", a, help);
                return EXIT_USAGE;
            }
            if (strcmp(a, "--dir") == 0)
                dir = argv[++i];
            else
                ward_build = argv[++i];
        } else if (strcmp(a, "--json") == 0) {
            continue; /* nothing to report beyond the exit status */
        } else if (a[0] == '-') {
            fprintf(stderr, "ward ta new: unknown option '%s'\n\n%s", a, help);
            return EXIT_USAGE;
        } else if (name == NULL) {
            name = a;
        } else {
            fprintf(stderr, "ward ta new: unexpected argument '%s'\n\n%s", a, help);
            return EXIT_USAGE;
        }
    }
    if (name == NULL) {
        fprintf(stderr, "ward ta new: NAME is required\n\n%s", help);
        return EXIT_USAGE;
    }
    const char *why = idl_ta_name_problem(name);
    if (why != NULL) {
        fprintf(stderr, "ward ta new: invalid TA name '%s': it %s\n", name, why);
        return EXIT_USAGE;
    }
    if (dir == NULL)
        dir = name;
    if (dir[0] == '\0') {
        fputs("ward ta new: --dir is empty\n", stderr);
        return EXIT_USAGE;
    }
    struct stat st;
    if (lstat(dir, &st) == 0) {
        fprintf(stderr, "ward ta new: %s already exists; choose another --dir\n", dir);
        return EXIT_USAGE;
    }

    char build[PATH_MAX];
    if (ward_build != NULL) {
        char *real = realpath(ward_build, NULL);
        char probe[PATH_MAX + 32];
        if (real == NULL) {
            fprintf(stderr, "ward ta new: --ward-build %s: %s\n", ward_build, strerror(errno));
            return EXIT_FAIL;
        }
        snprintf(probe, sizeof probe, "%s/ward-sdk.cmake", real);
        if (access(probe, R_OK) != 0 || strlen(real) >= sizeof build) {
            fprintf(stderr, "ward ta new: %s is not a built Ward build tree (no ward-sdk.cmake)\n",
                    real);
            free(real);
            return EXIT_FAIL;
        }
        snprintf(build, sizeof build, "%s", real);
        free(real);
    } else {
        detect_build_dir(build, sizeof build);
    }
    if (!cmake_safe_path(build)) {
        fprintf(stderr, "ward ta new: the Ward build tree's path %s holds a character CMake "
                        "would misread (\" \\ $ ; @ or a control character)\n", build);
        return EXIT_FAIL;
    }

    if (mkdir(dir, 0777) != 0) {
        fprintf(stderr, "ward ta new: cannot create %s: %s\n", dir, strerror(errno));
        return errno == EEXIST ? EXIT_USAGE : EXIT_FAIL;
    }
    subst s = {name, build};
    char fname[2][IDL_NAME_MAX + 8];
    snprintf(fname[0], sizeof fname[0], "%s.idl", name);
    snprintf(fname[1], sizeof fname[1], "%s.c", name);
    const struct {
        const char *file;
        const char *tpl;
    } files[] = {
        {"CMakeLists.txt", tpl_cmake},
        {fname[0], tpl_idl},
        {fname[1], tpl_c},
        {"README.md", tpl_readme},
    };
    size_t done = 0;
    ward_err err = WARD_OK;
    for (; done < sizeof files / sizeof files[0]; done++) {
        char *text = expand(files[done].tpl, &s);
        if (text == NULL) {
            err = ward_err_set(WARD_ERR_NOMEM, "out of memory");
            break;
        }
        err = write_new_file(dir, files[done].file, text);
        free(text);
        if (err != WARD_OK)
            break;
    }
    if (err != WARD_OK) {
        cli_error("ta new", 1);
        /* remove what this run created, and only that */
        for (size_t i = 0; i <= done && i < sizeof files / sizeof files[0]; i++) {
            char path[PATH_MAX];
            if (snprintf(path, sizeof path, "%s/%s", dir, files[i].file) < (int)sizeof path)
                unlink(path);
        }
        rmdir(dir);
        return EXIT_FAIL;
    }

    printf("created %s/: CMakeLists.txt, %s.idl, %s.c, README.md\n", dir, name, name);
    if (build[0] != '\0')
        printf("it builds against the Ward build tree %s\n", build);
    else
        printf("it builds against an installed Ward (set -DWARD_BUILD_DIR=... for a build tree)\n");
    printf("next:\n"
           "  cmake -S %s -B %s/build && cmake --build %s/build\n"
           "  ward ta keygen --out %s/dev-key.pem\n"
           "  ward ta sign --key %s/dev-key.pem --image %s/build/%s --calls-from %s/%s.idl \\\n"
           "               --out %s/build/%s.manifest.json\n"
           "  ward ta run --image %s/build/%s --manifest %s/build/%s.manifest.json\n",
           dir, dir, dir, dir, dir, dir, name, dir, name, dir, name, dir, name, dir, name);
    return EXIT_OK;
}
