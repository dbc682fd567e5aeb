/* Placeholder until this verb is written; replaced by its implementation. */
#include <stdio.h>
#include "cli/cli.h"
int cmd_ta_keygen(const struct cli_opts *o, int argc, char **argv)
{
    (void)o; (void)argc; (void)argv;
    fputs("ward ta keygen: not available in this build\n", stderr);
    return EXIT_FAIL;
}
int cmd_ta_sign(const struct cli_opts *o, int argc, char **argv)
{
    (void)o; (void)argc; (void)argv;
    fputs("ward ta sign: not available in this build\n", stderr);
    return EXIT_FAIL;
}
int cmd_ta_measure(const struct cli_opts *o, int argc, char **argv)
{
    (void)o; (void)argc; (void)argv;
    fputs("ward ta measure: not available in this build\n", stderr);
    return EXIT_FAIL;
}
