/* `ward selftest`: the known-answer tests, one line per check. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "ward/selftest.h"

static const char help[] =
    "usage: ward selftest [--json]\n"
    "\n"
    "Runs known-answer tests of SHA-256, HMAC, HKDF, AES-256-GCM, X25519, HPKE (RFC 9180),\n"
    "ECDSA P-256 and Ed25519 (pairwise), the encrypted stream format and RFC 8785 JSON.\n"
    "Exit status 0 when every check passes, 1 otherwise.\n";

static void print_line(void *arg, const char *name, ward_err result, const char *message)
{
    (void)arg;
    if (result == WARD_OK)
        printf("  ok    %s\n", name);
    else
        printf("  FAIL  %s: %s\n", name, message);
}

static void add_json(void *arg, const char *name, ward_err result, const char *message)
{
    json_array_append_new((json_t *)arg,
                          json_pack("{s:s, s:b, s:s}", "check", name, "ok", result == WARD_OK,
                                    "message", message));
}

int cmd_selftest(const struct cli_opts *o, int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        fputs(help, stdout);
        return EXIT_OK;
    }
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") != 0) {
            fprintf(stderr, "ward selftest: unexpected argument '%s'\n\n%s", argv[i], help);
            return EXIT_USAGE;
        }
    }
    if (o->json) {
        json_t *arr = json_array();
        ward_err err = ward_selftest(add_json, arr);
        json_t *doc = json_pack("{s:b, s:o}", "ok", err == WARD_OK, "checks", arr);
        if (doc != NULL)
            json_dumpf(doc, stdout, JSON_INDENT(2));
        fputc('\n', stdout);
        json_decref(doc);
        return err ? EXIT_FAIL : EXIT_OK;
    }
    printf("self-test:\n");
    ward_err err = ward_selftest(print_line, NULL);
    if (err) {
        cli_error("self-test failed", 1);
        return EXIT_FAIL;
    }
    printf("self-test: all checks passed\n");
    return EXIT_OK;
}
