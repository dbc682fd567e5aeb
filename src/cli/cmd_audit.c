/* Placeholder until this command is written; replaced by its implementation. */
#include <stdio.h>
#include "cli/cli.h"
int cmd_audit(const struct cli_opts *o, int argc, char **argv)
{
    (void)o; (void)argc; (void)argv;
    fputs("ward audit: not available in this build\n", stderr);
    return EXIT_FAIL;
}
