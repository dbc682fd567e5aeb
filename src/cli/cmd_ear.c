/* `ward ear verify`: a relying party checks an EAR (EAT Attestation Result) JWT it was given,
 * with the verifier's key that it trusts (include/ward/ear.h). */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "ward/crypto.h"
#include "ward/ear.h"
#include "ward/err.h"

/* Also declared in cli/cli.h once the command is registered. */
int cmd_ear(const struct cli_opts *o, int argc, char **argv);

#define EAR_FILE_MAX ((size_t)WARD_EAR_MAX_LEN + 2)
#define KEY_FILE_MAX ((size_t)16 << 10)

static const char ear_help[] =
    "usage: ward ear verify JWT_FILE --key KEY [--at TIME] [--accept-warning] [--json]\n"
    "\n"
    "Checks an EAT Attestation Result (a JWT signed ES256, or ES384 with a P-384 key) made by\n"
    "`ward verify`, wardd, Veraison or Trustee: the signature with KEY, the algorithm (never\n"
    "none or HMAC), the compact form (exactly three parts), the mandatory claims (eat_profile,\n"
    "iat, ear.verifier-id, submods with ear.status) and exp/nbf. A key carried in the token's\n"
    "header is never trusted on its own: it is accepted only when it equals KEY.\n"
    "\n"
    "options:\n"
    "  --key KEY         the verifier's public key: PEM (PUBLIC KEY) or a JWK JSON file\n"
    "  --at TIME         check exp/nbf at TIME (Unix seconds or YYYY-MM-DDTHH:MM:SSZ) instead\n"
    "                    of now\n"
    "  --accept-warning  exit 0 for a valid result whose status is warning\n"
    "  --json            print {valid, status, submods, claims} as JSON\n"
    "\n"
    "exit status: 0 valid and affirming (or warning with --accept-warning), 1 invalid or not\n"
    "acceptable, 2 bad usage\n";

static int read_file(const char *path, size_t max, char **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        ward_err_set(WARD_ERR_IO, "cannot open %s: %s", path, strerror(errno));
        return 0;
    }
    char *buf = malloc(max + 2);
    if (buf == NULL) {
        fclose(f);
        ward_err_set(WARD_ERR_NOMEM, "out of memory");
        return 0;
    }
    size_t n = fread(buf, 1, max + 1, f);
    int bad = ferror(f);
    fclose(f);
    if (bad || n > max) {
        free(buf);
        ward_err_set(bad ? WARD_ERR_IO : WARD_ERR_OVERFLOW, "%s: %s", path,
                     bad ? "read error" : "file too large");
        return 0;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return 1;
}

static ward_pkey *load_key(const char *path)
{
    char *text = NULL;
    size_t len = 0;
    if (!read_file(path, KEY_FILE_MAX, &text, &len))
        return NULL;
    size_t i = 0;
    while (i < len && (text[i] == ' ' || text[i] == '\n' || text[i] == '\r' || text[i] == '\t'))
        i++;
    ward_pkey *key = NULL;
    ward_err e;
    if (i < len && text[i] == '{') {
        e = ward_jwk_parse(text, len, &key);
    } else {
        ward_pkey *any = NULL;
        e = ward_pkey_from_pem(text, len, &any);
        if (e == WARD_OK) {
            e = ward_pkey_public_only(any, &key);
            ward_pkey_free(any);
        }
    }
    ward_wipe(text, len);
    free(text);
    if (e != WARD_OK) {
        ward_err_wrap(e, "%s", path);
        return NULL;
    }
    return key;
}

static void print_tv(FILE *out, const ward_trust_vector *tv)
{
    for (size_t i = 0; i < WARD_TV_COUNT; i++)
        if (tv->v[i] != 0)
            fprintf(out, "      %-18s %d (%s)\n", ward_tv_claim_name((ward_tv_claim)i), tv->v[i],
                    ward_ear_status_name(ward_tv_value_tier(tv->v[i])));
}

static void print_human(const ward_ear_result *r)
{
    printf("EAR signature and claims: valid\n");
    printf("status:        %s\n", ward_ear_status_name(r->status));
    printf("profile:       %s\n", r->profile);
    printf("verifier:      %s (%s)\n", r->developer, r->build);
    printf("issued at:     %" PRId64 "\n", r->iat);
    if (r->has_exp)
        printf("expires:       %" PRId64 "\n", r->exp);
    if (r->header_jwk)
        printf("header jwk:    present, equal to the given key\n");
    for (size_t i = 0; i < r->n_submods; i++) {
        const ward_ear_submod *s = &r->submods[i];
        printf("submodule %s: %s\n", s->name, ward_ear_status_name(s->status));
        if (s->policy_id[0] != '\0')
            printf("    policy: %s\n", s->policy_id);
        if (s->has_tv) {
            printf("    trustworthiness vector:\n");
            print_tv(stdout, &s->tv);
        }
        if (s->has_claims) {
            const ward_claims *c = &s->claims;
            printf("    tee %s, svn %u, product id %u, debug %s, TCB %s\n",
                   ward_tee_kind_name(c->kind), (unsigned)c->svn, (unsigned)c->product_id,
                   c->debug ? "yes" : "no", ward_tcb_status_name(c->tcb_status));
        }
    }
}

static int print_json(const ward_ear_result *r, int valid, int accepted, const char *error)
{
    json_t *o = json_object();
    if (o == NULL)
        return 0;
    json_object_set_new(o, "valid", json_boolean(valid));
    json_object_set_new(o, "accepted", json_boolean(accepted));
    if (!valid) {
        json_object_set_new(o, "error", json_string(error));
    } else {
        json_object_set_new(o, "status", json_string(ward_ear_status_name(r->status)));
        json_object_set_new(o, "header_jwk", json_boolean(r->header_jwk));
        if (r->payload != NULL)
            json_object_set(o, "claims", r->payload);
    }
    char *s = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);
    json_decref(o);
    if (s == NULL)
        return 0;
    puts(s);
    free(s);
    return 1;
}

int cmd_ear(const struct cli_opts *o, int argc, char **argv)
{
    if (argc < 2 || cli_wants_help(argc, argv)) {
        fputs(ear_help, argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : EXIT_OK;
    }
    if (strcmp(argv[1], "verify") != 0) {
        fprintf(stderr, "ward ear: unknown verb '%s'\n\n%s", argv[1], ear_help);
        return EXIT_USAGE;
    }
    const char *jwt_path = NULL, *key_path = NULL, *at = NULL;
    int accept_warning = 0;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            continue;
        } else if (strcmp(argv[i], "--key") == 0 && i + 1 < argc) {
            key_path = argv[++i];
        } else if (strcmp(argv[i], "--at") == 0 && i + 1 < argc) {
            at = argv[++i];
        } else if (strcmp(argv[i], "--accept-warning") == 0) {
            accept_warning = 1;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            fprintf(stderr, "ward ear verify: unknown or incomplete option '%s'\n\n%s", argv[i],
                    ear_help);
            return EXIT_USAGE;
        } else if (jwt_path == NULL) {
            jwt_path = argv[i];
        } else {
            fprintf(stderr, "ward ear verify: one JWT file only\n\n%s", ear_help);
            return EXIT_USAGE;
        }
    }
    if (jwt_path == NULL || key_path == NULL) {
        fprintf(stderr, "ward ear verify: JWT_FILE and --key are required\n\n%s", ear_help);
        return EXIT_USAGE;
    }
    int64_t now = (int64_t)time(NULL);
    if (at != NULL && !cli_parse_time(at, &now)) {
        fprintf(stderr, "ward ear verify: bad --at time '%s'\n", at);
        return EXIT_USAGE;
    }
    ward_pkey *key = load_key(key_path);
    if (key == NULL) {
        cli_error("cannot load the verifier key", 1);
        return EXIT_FAIL;
    }
    char *jwt = NULL;
    size_t len = 0;
    if (!read_file(jwt_path, EAR_FILE_MAX, &jwt, &len)) {
        ward_pkey_free(key);
        cli_error("cannot read the token", 1);
        return EXIT_FAIL;
    }
    /* One final line break is a file convention, not part of the token. */
    if (len > 0 && jwt[len - 1] == '\n')
        len--;
    if (len > 0 && jwt[len - 1] == '\r')
        len--;
    ward_ear_result r;
    ward_err e = ward_ear_verify(jwt, len, key, now, &r);
    free(jwt);
    ward_pkey_free(key);
    if (e != WARD_OK) {
        if (o->json) {
            char msg[512];
            snprintf(msg, sizeof msg, "%s: %s", ward_err_name(e), ward_errmsg());
            print_json(NULL, 0, 0, msg);
        }
        cli_error("EAR refused", 1);
        return EXIT_FAIL;
    }
    int accepted = r.status == WARD_EAR_AFFIRMING ||
                   (accept_warning && r.status == WARD_EAR_WARNING);
    if (o->json)
        print_json(&r, 1, accepted, NULL);
    else
        print_human(&r);
    if (!accepted)
        fprintf(stderr, "ward: the result is valid but its status is %s\n",
                ward_ear_status_name(r.status));
    ward_ear_result_free(&r);
    return accepted ? EXIT_OK : EXIT_FAIL;
}
