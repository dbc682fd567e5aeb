/* Placeholder until this verb is written; replaced by its implementation. */
#include <stdio.h>
#include "cli/cli.h"
int cmd_ta_new(const struct cli_opts *o, int argc, char **argv)
{
    (void)o; (void)argc; (void)argv;
    fputs("ward ta new: not available in this build\n", stderr);
    return EXIT_FAIL;
}
