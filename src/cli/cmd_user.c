/* Placeholder until this command is written; replaced by its implementation. */
#include <stdio.h>
#include "cli/cli.h"
int cmd_user(const struct cli_opts *o, int argc, char **argv)
{
    (void)o; (void)argc; (void)argv;
    fputs("ward user: not available in this build\n", stderr);
    return EXIT_FAIL;
}
int cmd_token(const struct cli_opts *o, int argc, char **argv)
{
    (void)o; (void)argc; (void)argv;
    fputs("ward token: not available in this build\n", stderr);
    return EXIT_FAIL;
}
