/* `ward`: the command line. `ward <command> [options]`; `--help` everywhere. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "ward/err.h"
#include "ward/log.h"

static const char usage[] =
    "usage: ward [--json] <command> [options]\n"
    "\n"
    "Ward runs computations over several parties' data inside an attested trusted execution\n"
    "environment (IEEE Std 2952-2023).\n"
    "\n"
    "commands:\n"
    "  attest     produce evidence (this node's platform report, hardware evidence if any)\n"
    "  demo       run the main job on this machine and explain each step\n"
    "  ear        check an attestation result (EAR JWT) with the verifier's key\n"
    "  id         participant identities: new, show\n"
    "  node       run and inspect a node: start, status, stop\n"
    "  selftest   run the cryptographic known-answer self-test\n"
    "  ta         trusted applications: keygen, sign, measure, new, run\n"
    "  task       tasks on a node: create, show, sign, upload, run, status, cancel, result\n"
    "  user       users, roles, passwords and TOTP second factors\n"
    "  token      bearer tokens: issue, revoke\n"
    "  audit      the tamper-evident audit log: verify, export, prune\n"
    "  verify     verify evidence against a policy; print the result or the EAR JWT\n"
    "  version    print the version, the crypto library and the platform's trust model\n"
    "\n"
    "options:\n"
    "  --json     machine-readable output on stdout (one JSON document)\n"
    "  --version  same as `ward version`\n"
    "  -h, --help this text; `ward <command> --help` for a command\n"
    "\n"
    "environment: WARD_LOG_LEVEL=debug|info|warn|error|off, WARD_LOG_FORMAT=kv|json\n"
    "exit status: 0 success, 1 the operation failed, 2 bad usage\n";

static const struct {
    const char *name;
    int (*fn)(const struct cli_opts *, int, char **);
} commands[] = {
    {"attest", cmd_attest},
    {"demo", cmd_demo},
    {"ear", cmd_ear},
    {"id", cmd_id},
    {"node", cmd_node},
    {"selftest", cmd_selftest},
    {"ta", cmd_ta},
    {"task", cmd_task},
    {"user", cmd_user},
    {"token", cmd_token},
    {"audit", cmd_audit},
    {"verify", cmd_verify},
    {"version", cmd_version},
};

int cli_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            break;
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            return 1;
    }
    return 0;
}

void cli_error(const char *what, int why)
{
    if (why)
        fprintf(stderr, "ward: %s: %s\n", what, ward_errmsg());
    else
        fprintf(stderr, "ward: %s\n", what);
}

int main(int argc, char **argv)
{
    ward_log_from_env();
    struct cli_opts opts = {0};
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            opts.json = 1;
        } else if (strcmp(argv[i], "--version") == 0) {
            return cmd_version(&opts, 1, (char *[]){"version", NULL});
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            fputs(usage, stdout);
            return EXIT_OK;
        } else {
            fprintf(stderr, "ward: unknown option '%s'\n\n%s", argv[i], usage);
            return EXIT_USAGE;
        }
    }
    if (i >= argc) {
        fputs(usage, stderr);
        return EXIT_USAGE;
    }
    for (size_t c = 0; c < sizeof commands / sizeof commands[0]; c++) {
        if (strcmp(argv[i], commands[c].name) == 0) {
            /* Command-level --json is accepted too: `ward selftest --json`. */
            for (int k = i + 1; k < argc; k++)
                if (strcmp(argv[k], "--json") == 0)
                    opts.json = 1;
            return commands[c].fn(&opts, argc - i, argv + i);
        }
    }
    fprintf(stderr, "ward: unknown command '%s'\n\n%s", argv[i], usage);
    return EXIT_USAGE;
}
