/* `ward version`: what this build is and what the platform it runs on protects against. */
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

/* Until hardware evidence providers exist (the attestation issue), Ward only runs as the
 * software TEE; this text is what every report from it must make plain. */
static const char trust_model[] =
    "software TEE (ward-sw): trusted are the Linux kernel, the node daemon and its platform key;\n"
    "it protects each trusted application from untrusted host code, other TAs and other local\n"
    "users, but NOT from the machine's root. Verifiers treat its evidence as 'warning'.";

static const char help[] =
    "usage: ward version [--json]\n"
    "\n"
    "Prints Ward's version, the OpenSSL it runs on, and the trust model of this platform.\n";

static int unexpected(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") != 0) {
            fprintf(stderr, "ward version: unexpected argument '%s'\n\n%s", argv[i], help);
            return 1;
        }
    }
    return 0;
}

int cmd_version(const struct cli_opts *o, int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        fputs(help, stdout);
        return EXIT_OK;
    }
    if (unexpected(argc, argv))
        return EXIT_USAGE;
    const char *ossl = OpenSSL_version(OPENSSL_VERSION);
    if (o->json) {
        json_t *j = json_pack("{s:s, s:s, s:s, s:s}", "version", WARD_VERSION, "openssl", ossl,
                              "tee", "ward-sw", "trust_model", trust_model);
        if (j == NULL || json_dumpf(j, stdout, JSON_INDENT(2)) != 0) {
            json_decref(j);
            cli_error("cannot write JSON", 0);
            return EXIT_FAIL;
        }
        json_decref(j);
        fputc('\n', stdout);
        return EXIT_OK;
    }
    printf("ward %s\n%s\ntee: %s\n", WARD_VERSION, ossl, trust_model);
    return EXIT_OK;
}
