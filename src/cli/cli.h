/* Internal to the `ward` command: one function per top-level command. */
#ifndef WARD_CLI_H
#define WARD_CLI_H

#include <stdint.h>
#include <stdio.h>

/* Exit codes scripts can trust. */
enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

struct cli_opts {
    int json; /* --json: machine-readable output on stdout */
};

int cmd_version(const struct cli_opts *o, int argc, char **argv);
int cmd_selftest(const struct cli_opts *o, int argc, char **argv);
int cmd_demo(const struct cli_opts *o, int argc, char **argv);
int cmd_ta(const struct cli_opts *o, int argc, char **argv);
int cmd_user(const struct cli_opts *o, int argc, char **argv);  /* cmd_user.c */
int cmd_token(const struct cli_opts *o, int argc, char **argv); /* cmd_user.c */
int cmd_audit(const struct cli_opts *o, int argc, char **argv); /* cmd_audit.c */
int cmd_attest(const struct cli_opts *o, int argc, char **argv); /* cmd_attest.c */
int cmd_verify(const struct cli_opts *o, int argc, char **argv); /* cmd_attest.c */
int cmd_ear(const struct cli_opts *o, int argc, char **argv);    /* cmd_ear.c */
int cmd_id(const struct cli_opts *o, int argc, char **argv);     /* cmd_id.c */
int cmd_node(const struct cli_opts *o, int argc, char **argv);   /* cmd_node.c */
int cmd_task(const struct cli_opts *o, int argc, char **argv);   /* cmd_task.c */

/* `ward ta <verb>`: argv[0] is the verb. */
int cmd_ta_keygen(const struct cli_opts *o, int argc, char **argv); /* cmd_ta_sign.c */
int cmd_ta_sign(const struct cli_opts *o, int argc, char **argv);   /* cmd_ta_sign.c */
int cmd_ta_measure(const struct cli_opts *o, int argc, char **argv);/* cmd_ta_sign.c */
int cmd_ta_new(const struct cli_opts *o, int argc, char **argv);    /* cmd_ta_new.c */
int cmd_ta_run(const struct cli_opts *o, int argc, char **argv);    /* cmd_ta_run.c */

/* Parses a time argument: Unix seconds or YYYY-MM-DDTHH:MM:SSZ (UTC). 1 if valid. */
int cli_parse_time(const char *s, int64_t *out);

/* 1 if argv holds -h or --help. */
int cli_wants_help(int argc, char **argv);
/* Prints "ward: message" to stderr, with the thread's ward_errmsg() when why is nonzero. */
void cli_error(const char *what, int why);

#endif
