/* `ward ta <verb>`: trusted application images. Each verb lives in its own file. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static const char help[] =
    "usage: ward ta <verb> [options]\n"
    "\n"
    "verbs:\n"
    "  keygen    make a developer signing key (ECDSA P-256)\n"
    "  sign      sign a TA image and write its manifest\n"
    "  measure   print a TA's measurement and signer, reproducibly\n"
    "  new       scaffold a TA project (CMake) that builds out of the box\n"
    "  run       start an instance of a signed TA and call it\n"
    "\n"
    "`ward ta <verb> --help` for each.\n";

static const struct {
    const char *name;
    int (*fn)(const struct cli_opts *, int, char **);
} verbs[] = {
    {"keygen", cmd_ta_keygen}, {"sign", cmd_ta_sign}, {"measure", cmd_ta_measure},
    {"new", cmd_ta_new},       {"run", cmd_ta_run},
};

int cmd_ta(const struct cli_opts *o, int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(help, argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : EXIT_OK;
    }
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
        if (strcmp(argv[1], verbs[i].name) == 0)
            return verbs[i].fn(o, argc - 1, argv + 1);
    fprintf(stderr, "ward ta: unknown verb '%s'\n\n%s", argv[1], help);
    return EXIT_USAGE;
}
