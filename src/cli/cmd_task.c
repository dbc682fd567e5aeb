/* `ward task create|show|sign|upload|run|status|cancel|result` (docs/cli.md): a participant's
 * side of the reference process (DESIGN 4) against a node, one step per command. The manifest
 * travels between the parties as a file (the envelope: manifest + signatures); the node is
 * authenticated with the participant's own pin, anchors and policy (participant.h), and the
 * checks that keep data safe (evidence, binding, result signature) are task_client.c's. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "cli/cli.h"
#include "cli/participant.h"
#include "cli/task_client.h"
#include "ward/crypto.h"
#include "ward/encoding.h"
#include "ward/stream.h"
#include "ward/task.h"

#define NODE_HELP                                                                             \
    "node options: --node FILE|HOST:PORT, --data-dir DIR, --pin HEX, --trust-cert PEM...,\n"  \
    "  --policy FILE, --accept-warning (see `ward node --help`)\n"

static const char help[] =
    "usage: ward task <verb> [options]   (`ward task <verb> --help` for each)\n"
    "\n"
    "A task runs a built-in function (sql or psi) over several parties' encrypted inputs inside\n"
    "an attested TA of a node (docs/cli.md). The manifest travels between the parties as a\n"
    "file; every participant must sign it before the node accepts inputs.\n"
    "\n"
    "verbs:\n"
    "  create   write a manifest, sign it as its creator, post it to the node\n"
    "  show     print what a manifest says (what you are about to sign) and its signatures\n"
    "  sign     add your signature to a manifest file and send it to the node\n"
    "  upload   check the task's evidence, encrypt your CSV to the task key, upload it\n"
    "  run      start the computation once every input is complete\n"
    "  status   the task's state, slots, votes and TA as the node reports them\n"
    "  cancel   vote to cancel (the task is cancelled when the votes reach the quorum)\n"
    "  result   fetch the result, verify evidence, binding and signature, decrypt it\n"
    "\n"
    "Every verb takes --json (machine-readable output on stdout).\n"
    "exit status: 0 success, 1 the operation failed or was refused, 2 bad usage\n";

static const struct verb_help {
    const char *verb;
    const char *text;
} verb_help[] = {
    {"create",
     "usage: ward task create --id NAME --function sql|psi\n"
     "         (--query SQL | --query-file FILE | --key COLUMN --columns C1,C2...)\n"
     "         --input SLOT=PARTY... --recipient PARTY [--expires DUR|TIME]\n"
     "         [--cancel-quorum N] [--retention delete-on-done|keep-days:N]\n"
     "         [--max-bytes N] [--out FILE] [--no-post] [node options] [--json]\n"
     "\n"
     "Writes the task manifest (a fresh task id), signs it with identity NAME (the creator),\n"
     "writes the envelope to --out (default ./task-ID.json; never overwritten) and posts it\n"
     "to the node (not with --no-post). PARTY: a local identity name, a party card\n"
     "(`ward id show NAME --json`), or for an input owner also a certificate PEM. The\n"
     "recipient's X25519 key (from its card) is the key the result is encrypted to.\n"
     "  --expires      seconds, or N m|h|d, or an absolute time (default 24h)\n"
     "  --max-bytes    largest ciphertext per slot (default 1073741824)\n"
     "  --cancel-quorum  votes needed to cancel (default: a majority of participants)\n" NODE_HELP},
    {"show",
     "usage: ward task show FILE [--json]\n"
     "\n"
     "Prints what the manifest in FILE says, in plain words: function and query (or key and\n"
     "columns), each input slot and its owner, the recipients and their result keys, expiry,\n"
     "cancel quorum, retention, the manifest SHA-256 (what the TA's evidence binds), and each\n"
     "participant's signature: valid, missing, or INVALID (the manifest was changed after\n"
     "signing). Identities are named by your local identities when they match.\n"
     "Exit 1 if a signature held does not verify.\n"},
    {"sign",
     "usage: ward task sign FILE --id NAME [--no-post] [node options] [--json]\n"
     "\n"
     "Checks that the signatures already in FILE verify, adds identity NAME's signature\n"
     "(NAME must be a participant), writes FILE back and sends the signatures to the node\n"
     "(POST /v1/tasks/ID/signatures; the task is created there if the node lacks it).\n"
     "Read `ward task show FILE` first: your signature agrees to everything in it.\n" NODE_HELP},
    {"upload",
     "usage: ward task upload FILE SLOT CSV|- --id NAME [--chunk-size BYTES] [--no-progress]\n"
     "         [node options] [--json]\n"
     "\n"
     "As the owner of SLOT: fetches the task, checks that the node holds this manifest\n"
     "(SHA-256), verifies the task's evidence with your anchors and policy and that its\n"
     "report_data binds the manifest digest, the task key and the task signing key; only then\n"
     "reads, encrypts (to the task key, associated data ward-task-input-v1/ID/SLOT) and\n"
     "uploads the CSV piece by piece in chunks (default 8 MiB; memory stays a few chunks),\n"
     "resuming at the node's offset after a lost connection. A progress bar on a terminal.\n"
     NODE_HELP},
    {"run",
     "usage: ward task run FILE|TASK_ID --id NAME [node options] [--json]\n"
     "\n"
     "Asks the node to run the task (every slot complete). Exit 1 if the task failed; the\n"
     "reason is the TA's.\n" NODE_HELP},
    {"status",
     "usage: ward task status FILE|TASK_ID --id NAME [node options] [--json]\n"
     "\n"
     "The task as the node reports it (participants only): state and reason, signatures\n"
     "missing, each slot's upload, cancel votes, the TA instance.\n" NODE_HELP},
    {"cancel",
     "usage: ward task cancel FILE|TASK_ID --id NAME [node options] [--json]\n"
     "\n"
     "Votes to cancel (participants only; once each). The task is cancelled when the votes\n"
     "reach the manifest's quorum.\n" NODE_HELP},
    {"result",
     "usage: ward task result FILE --id NAME [--out FILE|-] [--no-progress] [node options]\n"
     "         [--json]\n"
     "\n"
     "As the recipient: fetches the result, verifies its evidence with your anchors and\n"
     "policy, that the report binds this manifest and the task keys, the result signature by\n"
     "the bound task signing key, and that the signed statement names this manifest's\n"
     "function, digest and parameters; then decrypts with your X25519 key, checks the CSV's\n"
     "SHA-256 and length against the statement and writes it to --out (0600) or stdout.\n" NODE_HELP},
};

/* ---- arguments ------------------------------------------------------------------------------ */

typedef struct targs {
    const char *verb;
    node_opts node;
    const char *id;
    int no_progress, no_post;
    const char *function, *query, *query_file, *key, *columns, *expires, *retention, *out;
    const char *inputs[WARD_TASK_MAX_SLOTS];
    size_t n_inputs;
    const char *recipients[8];
    size_t n_recipients;
    long quorum;
    uint64_t max_bytes;
    size_t chunk;
    const char *pos[4];
    int npos;
} targs;

static const char *verb_text(const char *verb)
{
    for (size_t i = 0; i < sizeof verb_help / sizeof verb_help[0]; i++)
        if (strcmp(verb_help[i].verb, verb) == 0)
            return verb_help[i].text;
    return NULL;
}

static int usage(const targs *a, const char *msg, const char *arg)
{
    fprintf(stderr, "ward task %s: %s%s%s\n\n%s", a->verb, msg, arg != NULL ? ": " : "",
            arg != NULL ? arg : "", verb_text(a->verb));
    return EXIT_USAGE;
}

static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    if (s == NULL || s[0] < '0' || s[0] > '9')
        return 0;
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v > max)
        return 0;
    *out = v;
    return 1;
}

/* Options each verb takes (space-delimited, with a space before and after). */
static const char *allowed(const char *verb)
{
    static const char node[] = " --node --data-dir --pin --trust-cert --policy --accept-warning"
                               " --id ";
    if (strcmp(verb, "create") == 0)
        return " --function --query --query-file --key --columns --input --recipient --expires"
               " --cancel-quorum --retention --max-bytes --out --no-post"
               " --node --data-dir --pin --trust-cert --policy --accept-warning --id ";
    if (strcmp(verb, "show") == 0)
        return " ";
    if (strcmp(verb, "sign") == 0)
        return " --no-post --node --data-dir --pin --trust-cert --policy --accept-warning --id ";
    if (strcmp(verb, "upload") == 0)
        return " --chunk-size --no-progress"
               " --node --data-dir --pin --trust-cert --policy --accept-warning --id ";
    if (strcmp(verb, "result") == 0)
        return " --out --no-progress"
               " --node --data-dir --pin --trust-cert --policy --accept-warning --id ";
    return node;
}

static int parse_args(targs *a, int argc, char **argv)
{
    a->max_bytes = (uint64_t)1 << 30;
    a->chunk = (size_t)8 << 20;
    const char *ok = allowed(a->verb);
    for (int i = 2; i < argc; i++) {
        const char *s = argv[i];
        if (strcmp(s, "--json") == 0)
            continue;
        if (s[0] != '-' || strcmp(s, "-") == 0) {
            if (a->npos >= 4)
                return usage(a, "too many arguments", s);
            a->pos[a->npos++] = s;
            continue;
        }
        char key[40];
        if (strlen(s) > 30)
            return usage(a, "unknown option", s);
        snprintf(key, sizeof key, " %s ", s);
        if (strstr(ok, key) == NULL)
            return usage(a, "unknown option", s);
        if (strcmp(s, "--accept-warning") == 0) {
            a->node.accept_warning = 1;
            continue;
        }
        if (strcmp(s, "--no-progress") == 0) {
            a->no_progress = 1;
            continue;
        }
        if (strcmp(s, "--no-post") == 0) {
            a->no_post = 1;
            continue;
        }
        if (i + 1 >= argc)
            return usage(a, "option needs a value", s);
        const char *v = argv[++i];
        uint64_t n = 0;
        if (strcmp(s, "--node") == 0)
            a->node.node = v;
        else if (strcmp(s, "--data-dir") == 0)
            a->node.data_dir = v;
        else if (strcmp(s, "--pin") == 0)
            a->node.pin = v;
        else if (strcmp(s, "--policy") == 0)
            a->node.policy = v;
        else if (strcmp(s, "--trust-cert") == 0) {
            if (a->node.n_trust >= 8)
                return usage(a, "at most 8 --trust-cert", NULL);
            a->node.trust[a->node.n_trust++] = v;
        } else if (strcmp(s, "--id") == 0)
            a->id = v;
        else if (strcmp(s, "--function") == 0)
            a->function = v;
        else if (strcmp(s, "--query") == 0)
            a->query = v;
        else if (strcmp(s, "--query-file") == 0)
            a->query_file = v;
        else if (strcmp(s, "--key") == 0)
            a->key = v;
        else if (strcmp(s, "--columns") == 0)
            a->columns = v;
        else if (strcmp(s, "--expires") == 0)
            a->expires = v;
        else if (strcmp(s, "--retention") == 0)
            a->retention = v;
        else if (strcmp(s, "--out") == 0)
            a->out = v;
        else if (strcmp(s, "--input") == 0) {
            if (a->n_inputs >= WARD_TASK_MAX_SLOTS)
                return usage(a, "too many --input", NULL);
            a->inputs[a->n_inputs++] = v;
        } else if (strcmp(s, "--recipient") == 0) {
            if (a->n_recipients >= 8)
                return usage(a, "too many --recipient", NULL);
            a->recipients[a->n_recipients++] = v;
        } else if (strcmp(s, "--cancel-quorum") == 0) {
            if (!parse_u64(v, WARD_TASK_MAX_PARTICIPANTS, &n) || n == 0)
                return usage(a, "--cancel-quorum: 1 .. participants", v);
            a->quorum = (long)n;
        } else if (strcmp(s, "--max-bytes") == 0) {
            if (!parse_u64(v, ((uint64_t)1 << 53) - 1, &n) || n == 0)
                return usage(a, "--max-bytes: 1 .. 2^53-1", v);
            a->max_bytes = n;
        } else if (strcmp(s, "--chunk-size") == 0) {
            if (!parse_u64(v, (uint64_t)10 << 20, &n) || n < 4096)
                return usage(a, "--chunk-size: 4096 .. 10485760", v);
            a->chunk = (size_t)n;
        }
    }
    if (a->id == NULL)
        a->id = getenv("WARD_ID");
    return EXIT_OK;
}

/* ---- helpers --------------------------------------------------------------------------------- */

static void print_json(json_t *j)
{
    char *s = j != NULL ? json_dumps(j, JSON_INDENT(2)) : NULL;
    if (s != NULL)
        printf("%s\n", s);
    free(s);
}

static int is_task_id(const char *s)
{
    if (strlen(s) != WARD_TASK_ID_HEX_LEN)
        return 0;
    for (const char *p = s; *p != '\0'; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return 0;
    return 1;
}

/* Reads an envelope file; *text keeps its bytes when text != NULL. */
static int load_envelope(const char *path, ward_task_manifest **m, char **text)
{
    char *t = NULL;
    size_t len = 0;
    if (cli_read_file(path, WARD_TASK_TEXT_MAX, &t, &len) != WARD_OK)
        return tc_fail("manifest file");
    if (ward_task_envelope_parse(t, len, m) != WARD_OK) {
        fprintf(stderr, "%s: %s: not a valid task envelope: %s\n", tc_prog, path, ward_errmsg());
        free(t);
        return -1;
    }
    if (text != NULL)
        *text = t;
    else
        free(t);
    return 0;
}

/* A task named by its envelope file or its id. */
static int task_ref(const char *arg, char id[WARD_TASK_ID_HEX_LEN + 1], ward_task_manifest **m)
{
    struct stat st;
    *m = NULL;
    if (stat(arg, &st) != 0 && is_task_id(arg)) {
        snprintf(id, WARD_TASK_ID_HEX_LEN + 1, "%s", arg);
        return 0;
    }
    if (load_envelope(arg, m, NULL) != 0)
        return -1;
    snprintf(id, WARD_TASK_ID_HEX_LEN + 1, "%s", ward_task_id(*m));
    return 0;
}

/* Local identities, to put names on keys. */
typedef struct known {
    char name[128];
    uint8_t hash[WARD_SHA256_LEN];
} known;

static size_t load_known(known *k, size_t cap)
{
    char *dir = NULL;
    if (cli_id_dir("x", &dir) != WARD_OK)
        return 0;
    char *slash = strrchr(dir, '/');
    if (slash != NULL)
        *slash = '\0';
    DIR *d = opendir(dir);
    size_t n = 0;
    struct dirent *e;
    while (d != NULL && n < cap && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || strlen(e->d_name) >= sizeof k[n].name)
            continue;
        cli_id id;
        if (cli_id_load(e->d_name, 0, &id) == WARD_OK) {
            memcpy(k[n].name, e->d_name, strlen(e->d_name) + 1);
            memcpy(k[n].hash, id.hash, sizeof id.hash);
            n++;
            cli_id_free(&id);
        }
    }
    if (d != NULL)
        closedir(d);
    free(dir);
    return n;
}

static const char *known_name(const known *k, size_t n, const uint8_t hash[32])
{
    for (size_t i = 0; i < n; i++)
        if (memcmp(k[i].hash, hash, 32) == 0)
            return k[i].name;
    return NULL;
}

static void ident_of(const uint8_t hash[32], char out[48])
{
    char *u = NULL;
    if (ward_base64url_encode(hash, 32, &u, NULL) == WARD_OK)
        snprintf(out, 48, "%s", u);
    else
        out[0] = '\0';
    free(u);
}

/* Each participant's signature in the envelope text: 1 valid, 0 missing, -1 invalid. */
typedef struct sigstate {
    uint8_t hash[32];
    char roles[160];
    int state;
} sigstate;

static ward_err spki_of_b64(const char *b64, ward_pkey **out)
{
    uint8_t *der = NULL;
    size_t dl = 0;
    ward_err err = ward_base64_decode(b64, strlen(b64), &der, &dl);
    if (err == WARD_OK)
        err = ward_pkey_from_spki_der(der, dl, out);
    free(der);
    return err;
}

static void add_role(sigstate *s, const char *role)
{
    size_t l = strlen(s->roles);
    snprintf(s->roles + l, sizeof s->roles - l, "%s%s", l > 0 ? ", " : "", role);
}

/* Fills st[participants]; returns the count, or 0 on failure. */
static size_t signature_states(const ward_task_manifest *m, const char *envelope, sigstate *st,
                               size_t cap, int *invalid)
{
    *invalid = 0;
    json_error_t je;
    json_t *env = json_loads(envelope, 0, &je);
    json_t *man = json_object_get(env, "manifest"), *sigs = json_object_get(env, "signatures");
    uint8_t msg[WARD_TASK_SIGNED_MSG_LEN];
    size_t n = ward_task_participant_count(m);
    if (env == NULL || n > cap || ward_task_signed_message(m, msg) != WARD_OK) {
        json_decref(env);
        return 0;
    }
    uint8_t creator[32];
    ward_task_creator(m, creator);
    for (size_t i = 0; i < n; i++) {
        sigstate *s = &st[i];
        memset(s, 0, sizeof *s);
        ward_task_participant_at(m, i, s->hash);
        ward_pkey *pk = NULL;
        if (memcmp(s->hash, creator, 32) == 0) {
            add_role(s, "creator");
            spki_of_b64(json_string_value(json_object_get(man, "creator")), &pk);
        }
        for (size_t k = 0; k < ward_task_slot_count(m); k++) {
            ward_task_slot_desc d;
            if (ward_task_slot_at(m, k, &d) == WARD_OK && memcmp(d.owner, s->hash, 32) == 0) {
                char r[96];
                snprintf(r, sizeof r, "owner of slot %s", d.name);
                add_role(s, r);
                if (pk == NULL)
                    ward_pkey_from_spki_der(d.owner_spki, d.owner_spki_len, &pk);
            }
        }
        for (size_t k = 0; k < ward_task_recipient_count(m); k++) {
            uint8_t h[32];
            const uint8_t *spki = NULL;
            size_t sl = 0;
            if (ward_task_recipient_at(m, k, h, &spki, &sl) == WARD_OK &&
                memcmp(h, s->hash, 32) == 0) {
                add_role(s, "recipient");
                if (pk == NULL)
                    ward_pkey_from_spki_der(spki, sl, &pk);
            }
        }
        char id[48];
        ident_of(s->hash, id);
        const char *sig = json_string_value(json_object_get(sigs, id));
        uint8_t *raw = NULL;
        size_t rl = 0;
        if (sig == NULL) {
            s->state = 0;
        } else if (pk != NULL && ward_base64url_decode(sig, strlen(sig), &raw, &rl) == WARD_OK &&
                   ward_verify(pk, WARD_HASH_SHA256, WARD_SIG_RAW, msg, sizeof msg, raw, rl) ==
                       WARD_OK) {
            s->state = 1;
        } else {
            s->state = -1;
            *invalid = 1;
        }
        free(raw);
        ward_pkey_free(pk);
    }
    json_decref(env);
    return n;
}

static void fmt_time(int64_t t, char *out, size_t cap)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (gmtime_r(&tt, &tm) == NULL || strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(out, cap, "%lld", (long long)t);
}

static int parse_expires(const char *s, int64_t *out)
{
    int64_t now = (int64_t)time(NULL);
    if (s == NULL) {
        *out = now + 86400;
        return 1;
    }
    size_t l = strlen(s);
    char unit = l > 0 ? s[l - 1] : 0;
    uint64_t mult = unit == 'm' ? 60 : unit == 'h' ? 3600 : unit == 'd' ? 86400 : 0;
    char num[32];
    uint64_t v = 0;
    if (mult != 0 && l > 1 && l < sizeof num) {
        memcpy(num, s, l - 1);
        num[l - 1] = '\0';
        if (!parse_u64(num, 3650 * 86400ull, &v) || v == 0 || v * mult > 3650 * 86400ull)
            return 0;
        *out = now + (int64_t)(v * mult);
        return 1;
    }
    if (l < 9 && parse_u64(s, 3650 * 86400ull, &v) && v > 0) { /* seconds from now */
        *out = now + (int64_t)v;
        return 1;
    }
    return cli_parse_time(s, out) && *out > now;
}

/* The node connection as identity a->id (private parts loaded into *id). */
static int connect_as(const targs *a, cli_id *id, node_conn *nc, int need_id)
{
    memset(id, 0, sizeof *id);
    if (a->id == NULL && need_id) {
        fprintf(stderr, "ward task %s: no identity: --id NAME (or $WARD_ID)\n", a->verb);
        return -1;
    }
    if (a->id != NULL && cli_id_load(a->id, 1, id) != WARD_OK)
        return tc_fail("identity");
    if (node_connect(&a->node, a->id != NULL ? id : NULL, nc) != 0) {
        cli_id_free(id);
        return -1;
    }
    return 0;
}

/* ---- show ------------------------------------------------------------------------------------ */

static int task_show(const struct cli_opts *o, targs *a)
{
    if (a->npos != 1)
        return usage(a, "one FILE expected", NULL);
    ward_task_manifest *m = NULL;
    char *text = NULL;
    if (load_envelope(a->pos[0], &m, &text) != 0)
        return EXIT_FAIL;
    known kn[64];
    size_t nk = load_known(kn, 64);
    uint8_t digest[32];
    ward_task_manifest_digest(m, digest);
    char dh[65], exp[40];
    tc_hex(digest, 32, dh, sizeof dh);
    fmt_time(ward_task_expires_at(m), exp, sizeof exp);
    sigstate st[WARD_TASK_MAX_PARTICIPANTS];
    int invalid = 0;
    size_t np = signature_states(m, text, st, WARD_TASK_MAX_PARTICIPANTS, &invalid);
    uint32_t keep = 0;
    ward_task_retention ret = ward_task_retention_of(m, &keep);
    char retention[32];
    if (ret == WARD_TASK_RETAIN_DELETE)
        snprintf(retention, sizeof retention, "delete-on-done");
    else
        snprintf(retention, sizeof retention, "keep-days:%u", (unsigned)keep);
    int is_sql = ward_task_function(m) == WARD_TASK_FN_SQL;
    if (o->json) {
        json_t *j = json_pack("{s:s, s:s, s:s, s:O, s:[], s:[], s:i, s:i, s:I, s:s, s:[], s:b}",
                              "task_id", ward_task_id(m), "manifest_sha256", dh, "function",
                              is_sql ? "sql" : "psi", "params", ward_task_params(m), "inputs",
                              "recipients", "participants", (int)np, "cancel_quorum",
                              (int)ward_task_cancel_quorum(m), "expires_at",
                              (json_int_t)ward_task_expires_at(m), "retention", retention,
                              "signatures", "signatures_valid", !invalid);
        for (size_t i = 0; j != NULL && i < ward_task_slot_count(m); i++) {
            ward_task_slot_desc d;
            char id[48];
            ward_task_slot_at(m, i, &d);
            ident_of(d.owner, id);
            const char *nm = known_name(kn, nk, d.owner);
            json_array_append_new(json_object_get(j, "inputs"),
                                  json_pack("{s:s, s:s, s:s?, s:I}", "slot", d.name, "owner", id,
                                            "owner_name", nm, "max_bytes",
                                            (json_int_t)d.max_bytes));
        }
        for (size_t i = 0; j != NULL && i < ward_task_recipient_count(m); i++) {
            uint8_t h[32], x[32];
            char id[48], xh[65];
            ward_task_recipient_at(m, i, h, NULL, NULL);
            ward_task_recipient_x25519(m, i, x);
            ident_of(h, id);
            tc_hex(x, 32, xh, sizeof xh);
            json_array_append_new(json_object_get(j, "recipients"),
                                  json_pack("{s:s, s:s?, s:s}", "identity", id, "name",
                                            known_name(kn, nk, h), "x25519", xh));
        }
        for (size_t i = 0; j != NULL && i < np; i++) {
            char id[48];
            ident_of(st[i].hash, id);
            json_array_append_new(json_object_get(j, "signatures"),
                                  json_pack("{s:s, s:s?, s:s, s:s}", "identity", id, "name",
                                            known_name(kn, nk, st[i].hash), "roles",
                                            st[i].roles, "state",
                                            st[i].state > 0   ? "valid"
                                            : st[i].state == 0 ? "missing"
                                                               : "invalid"));
        }
        print_json(j);
        json_decref(j);
    } else {
        printf("task %s\n", ward_task_id(m));
        printf("manifest SHA-256 %s\n   (the TA's evidence binds this digest; your signature "
               "agrees to all of the below)\n",
               dh);
        if (is_sql) {
            printf("function: sql (the built-in SQLite TA): each input becomes a table named "
                   "after its slot, then this one read-only query runs:\n    %s\n",
                   ward_task_sql_query(m));
        } else {
            printf("function: psi (private set intersection) on key column \"%s\", returning "
                   "columns:",
                   ward_task_psi_key(m));
            for (size_t i = 0; i < ward_task_psi_column_count(m); i++)
                printf("%s %s", i > 0 ? "," : "", ward_task_psi_column(m, i));
            printf("\n");
        }
        printf("inputs (%zu):\n", ward_task_slot_count(m));
        for (size_t i = 0; i < ward_task_slot_count(m); i++) {
            ward_task_slot_desc d;
            char id[48];
            ward_task_slot_at(m, i, &d);
            ident_of(d.owner, id);
            const char *nm = known_name(kn, nk, d.owner);
            printf("  slot %-16s owner %s%s%s%s, at most %llu bytes of ciphertext\n", d.name, id,
                   nm != NULL ? " (" : "", nm != NULL ? nm : "", nm != NULL ? ")" : "",
                   (unsigned long long)d.max_bytes);
        }
        printf("result goes only to (%zu):\n", ward_task_recipient_count(m));
        for (size_t i = 0; i < ward_task_recipient_count(m); i++) {
            uint8_t h[32], x[32];
            char id[48], xh[65];
            ward_task_recipient_at(m, i, h, NULL, NULL);
            ward_task_recipient_x25519(m, i, x);
            ident_of(h, id);
            tc_hex(x, 32, xh, sizeof xh);
            const char *nm = known_name(kn, nk, h);
            printf("  %s%s%s%s, encrypted to X25519 key %s\n", id, nm != NULL ? " (" : "",
                   nm != NULL ? nm : "", nm != NULL ? ")" : "", xh);
        }
        printf("cancel: by %u of the %zu participants\n", (unsigned)ward_task_cancel_quorum(m),
               np);
        printf("expires: %s\n", exp);
        printf("retention of input ciphertexts: %s\n", retention);
        printf("signatures:\n");
        for (size_t i = 0; i < np; i++) {
            char id[48];
            ident_of(st[i].hash, id);
            const char *nm = known_name(kn, nk, st[i].hash);
            printf("  %-9s %s%s%s%s (%s)\n",
                   st[i].state > 0 ? "valid" : st[i].state == 0 ? "missing" : "INVALID", id,
                   nm != NULL ? " " : "", nm != NULL ? nm : "", "", st[i].roles);
        }
        if (invalid)
            printf("A signature does NOT verify: the manifest was changed after it was signed, "
                   "or the signature is not theirs. Do not sign or upload.\n");
    }
    ward_task_manifest_free(m);
    free(text);
    if (np == 0) {
        fprintf(stderr, "ward task show: cannot read the signatures\n");
        return EXIT_FAIL;
    }
    return invalid ? EXIT_FAIL : EXIT_OK;
}

/* ---- create ---------------------------------------------------------------------------------- */

static json_t *make_params(const targs *a)
{
    if (strcmp(a->function, "sql") == 0) {
        if ((a->query != NULL) == (a->query_file != NULL) || a->key != NULL || a->columns != NULL)
            return NULL;
        if (a->query != NULL)
            return json_pack("{s:s}", "query", a->query);
        char *q = NULL;
        size_t ql = 0;
        if (cli_read_file(a->query_file, WARD_TASK_QUERY_MAX, &q, &ql) != WARD_OK) {
            tc_fail("--query-file");
            return NULL;
        }
        json_t *j = json_pack("{s:s%}", "query", q, ql);
        free(q);
        return j;
    }
    if (a->key == NULL || a->columns == NULL || a->query != NULL || a->query_file != NULL)
        return NULL;
    json_t *cols = json_array();
    char *dup = strdup(a->columns), *save = NULL;
    for (char *t = dup != NULL ? strtok_r(dup, ",", &save) : NULL; t != NULL && cols != NULL;
         t = strtok_r(NULL, ",", &save))
        json_array_append_new(cols, json_string(t));
    free(dup);
    return json_pack("{s:s, s:o}", "key", a->key, "columns", cols);
}

static int post_envelope(node_conn *nc, const char *who, const ward_task_manifest *m, int create,
                         json_t **out)
{
    char *env = NULL;
    size_t el = 0;
    if (ward_task_envelope_serialize(m, &env, &el) != WARD_OK)
        return tc_fail("envelope");
    char path[128];
    long status = 0;
    json_t *j = NULL;
    *out = NULL;
    if (!create) { /* signatures to a task the node has, or create it there */
        snprintf(path, sizeof path, "/v1/tasks/%s/signatures", ward_task_id(m));
        if (tc_request(nc->cl, "POST", path, env, el, &status, &j) != WARD_OK) {
            free(env);
            return tc_fail(path);
        }
        if (status == 200 && j != NULL) {
            *out = j;
            free(env);
            return 0;
        }
        const char *code = json_string_value(json_object_get(j, "error"));
        int absent = status == 404 && code != NULL && strcmp(code, "not_found") == 0;
        json_decref(j);
        if (!absent) {
            *out = tc_call(nc->cl, who, "POST", path, env, el, 200);
            free(env);
            return *out != NULL ? 0 : -1;
        }
    }
    *out = tc_call(nc->cl, who, "POST", "/v1/tasks", env, el, 201);
    free(env);
    return *out != NULL ? 0 : -1;
}

static void print_task_line(const json_t *t)
{
    const char *state = json_string_value(json_object_get(t, "state"));
    const char *reason = json_string_value(json_object_get(t, "reason"));
    size_t missing = json_array_size(json_object_get(t, "signatures_missing"));
    printf("node: task %s is %s%s%s%s", json_string_value(json_object_get(t, "task_id")),
           state != NULL ? state : "?", reason != NULL && reason[0] ? " (" : "",
           reason != NULL ? reason : "", reason != NULL && reason[0] ? ")" : "");
    if (missing > 0)
        printf("; %zu signature%s missing", missing, missing == 1 ? "" : "s");
    printf("\n");
}

static int task_create(const struct cli_opts *o, targs *a)
{
    if (a->npos != 0)
        return usage(a, "unexpected argument", a->pos[0]);
    if (a->function == NULL || (strcmp(a->function, "sql") != 0 && strcmp(a->function, "psi")))
        return usage(a, "--function sql|psi is required", NULL);
    if (a->n_inputs == 0 || a->n_recipients == 0)
        return usage(a, "at least one --input and one --recipient", NULL);
    if (a->id == NULL)
        return usage(a, "--id NAME (the creator) is required", NULL);
    int64_t expires = 0;
    if (!parse_expires(a->expires, &expires))
        return usage(a, "--expires: seconds, N m|h|d, or a future time", a->expires);
    json_t *params = make_params(a);
    if (params == NULL)
        return usage(a, "sql needs --query or --query-file; psi needs --key and --columns",
                     NULL);
    int rc = EXIT_FAIL;
    cli_id creator, parties[WARD_TASK_MAX_SLOTS + 8];
    size_t nparties = 0;
    tc_slot_spec slots[WARD_TASK_MAX_SLOTS];
    tc_recipient_spec rcpt[8];
    char slot_names[WARD_TASK_MAX_SLOTS][WARD_TASK_SLOT_NAME_MAX + 1];
    ward_task_manifest *m = NULL;
    node_conn nc;
    memset(&nc, 0, sizeof nc);
    memset(&creator, 0, sizeof creator);
    char *env = NULL;
    json_t *reply = NULL;
    if (cli_id_load(a->id, 1, &creator) != WARD_OK) {
        tc_fail("creator");
        goto out;
    }
    for (size_t i = 0; i < a->n_inputs; i++) {
        const char *eq = strchr(a->inputs[i], '=');
        size_t nl = eq != NULL ? (size_t)(eq - a->inputs[i]) : 0;
        if (nl == 0 || nl > WARD_TASK_SLOT_NAME_MAX) {
            rc = usage(a, "--input SLOT=PARTY", a->inputs[i]);
            goto out;
        }
        memcpy(slot_names[i], a->inputs[i], nl);
        slot_names[i][nl] = '\0';
        if (cli_party_resolve(eq + 1, &parties[nparties]) != WARD_OK) {
            tc_fail("--input");
            goto out;
        }
        slots[i] = (tc_slot_spec){slot_names[i], parties[nparties++].spki_b64, a->max_bytes};
    }
    for (size_t i = 0; i < a->n_recipients; i++) {
        cli_id *p = &parties[nparties];
        if (cli_party_resolve(a->recipients[i], p) != WARD_OK) {
            tc_fail("--recipient");
            goto out;
        }
        nparties++;
        if (!p->has_x25519) {
            fprintf(stderr, "ward task create: recipient %s has no X25519 key: name it by "
                            "identity or party card, not by certificate\n",
                    a->recipients[i]);
            goto out;
        }
        rcpt[i].identity = p->spki_b64;
        memcpy(rcpt[i].x25519, p->x_pk, sizeof rcpt[i].x25519);
    }
    tc_manifest_spec ms = {.creator = creator.spki_b64, .function = a->function,
                           .params = params, .slots = slots, .n_slots = a->n_inputs,
                           .recipients = rcpt, .n_recipients = a->n_recipients,
                           .expires_at = expires,
                           .retention = a->retention != NULL ? a->retention : "delete-on-done",
                           .cancel_quorum = (uint32_t)a->quorum};
    if (tc_manifest_build(&ms, &m) != WARD_OK) {
        tc_fail("the manifest is refused");
        goto out;
    }
    if (ward_task_sign(m, creator.key) != WARD_OK) {
        tc_fail("signing");
        goto out;
    }
    size_t el = 0;
    if (ward_task_envelope_serialize(m, &env, &el) != WARD_OK) {
        tc_fail("envelope");
        goto out;
    }
    char out_path[4096];
    if (a->out != NULL)
        snprintf(out_path, sizeof out_path, "%s", a->out);
    else
        snprintf(out_path, sizeof out_path, "task-%s.json", ward_task_id(m));
    struct stat st;
    if (stat(out_path, &st) == 0) {
        fprintf(stderr, "ward task create: %s exists: refusing to overwrite it\n", out_path);
        goto out;
    }
    if (cli_write_file(out_path, env, el, 0644) != WARD_OK) {
        tc_fail("writing the manifest");
        goto out;
    }
    if (!a->no_post) {
        if (node_connect(&a->node, &creator, &nc) != 0 ||
            post_envelope(&nc, creator.name, m, 1, &reply) != 0)
            goto out;
    }
    uint8_t digest[32];
    char dh[65];
    ward_task_manifest_digest(m, digest);
    tc_hex(digest, 32, dh, sizeof dh);
    if (o->json) {
        json_t *j = json_pack("{s:s, s:s, s:s, s:O?}", "task_id", ward_task_id(m),
                              "manifest_sha256", dh, "file", out_path, "node", reply);
        print_json(j);
        json_decref(j);
    } else {
        printf("task %s: manifest written to %s, signed by %s (creator)\n"
               "manifest SHA-256 %s\n",
               ward_task_id(m), out_path, creator.name, dh);
        if (reply != NULL)
            print_task_line(reply);
        printf("next: every participant reviews it (`ward task show %s`) and signs it (`ward "
               "task sign %s --id NAME`)\n",
               out_path, out_path);
    }
    rc = EXIT_OK;
out:
    json_decref(reply);
    free(env);
    ward_task_manifest_free(m);
    json_decref(params);
    for (size_t i = 0; i < nparties; i++)
        cli_id_free(&parties[i]);
    cli_id_free(&creator);
    node_conn_free(&nc);
    return rc;
}

/* ---- sign ------------------------------------------------------------------------------------ */

static int task_sign(const struct cli_opts *o, targs *a)
{
    if (a->npos != 1)
        return usage(a, "one FILE expected", NULL);
    if (a->id == NULL)
        return usage(a, "--id NAME is required", NULL);
    ward_task_manifest *m = NULL;
    char *text = NULL, *env = NULL;
    json_t *reply = NULL;
    cli_id id;
    node_conn nc;
    memset(&nc, 0, sizeof nc);
    memset(&id, 0, sizeof id);
    int rc = EXIT_FAIL;
    if (load_envelope(a->pos[0], &m, &text) != 0)
        return EXIT_FAIL;
    sigstate st[WARD_TASK_MAX_PARTICIPANTS];
    int invalid = 0;
    if (signature_states(m, text, st, WARD_TASK_MAX_PARTICIPANTS, &invalid) == 0 || invalid) {
        fprintf(stderr, "ward task sign: a signature in %s does not verify: the manifest was "
                        "changed after it was signed (see `ward task show %s`); not signing\n",
                a->pos[0], a->pos[0]);
        goto out;
    }
    if (cli_id_load(a->id, 1, &id) != WARD_OK) {
        tc_fail("identity");
        goto out;
    }
    ward_err err = ward_task_sign(m, id.key);
    int already = err == WARD_ERR_EXISTS;
    if (err != WARD_OK && !already) {
        tc_fail("signing");
        goto out;
    }
    size_t el = 0;
    if (ward_task_envelope_serialize(m, &env, &el) != WARD_OK ||
        cli_write_file(a->pos[0], env, el, 0644) != WARD_OK) {
        tc_fail("writing the manifest");
        goto out;
    }
    if (!a->no_post &&
        (node_connect(&a->node, &id, &nc) != 0 || post_envelope(&nc, id.name, m, 0, &reply) != 0))
        goto out;
    if (o->json) {
        json_t *j = json_pack("{s:s, s:s, s:b, s:O?}", "task_id", ward_task_id(m), "signer",
                              id.ident, "already_signed", already, "node", reply);
        print_json(j);
        json_decref(j);
    } else {
        printf("%s %s task %s (%s)\n", id.name, already ? "had already signed" : "signed",
               ward_task_id(m), a->pos[0]);
        if (reply != NULL)
            print_task_line(reply);
    }
    rc = EXIT_OK;
out:
    json_decref(reply);
    free(env);
    free(text);
    ward_task_manifest_free(m);
    cli_id_free(&id);
    node_conn_free(&nc);
    return rc;
}

/* ---- upload ---------------------------------------------------------------------------------- */

static json_t *get_task(node_conn *nc, const char *who, const char *id)
{
    char path[128];
    snprintf(path, sizeof path, "/v1/tasks/%s", id);
    return tc_call(nc->cl, who, "GET", path, NULL, 0, 200);
}

static const json_t *find_slot(const json_t *task, const char *slot)
{
    const json_t *slots = json_object_get(task, "slots");
    for (size_t i = 0; i < json_array_size(slots); i++) {
        const char *n = json_string_value(json_object_get(json_array_get(slots, i), "name"));
        if (n != NULL && strcmp(n, slot) == 0)
            return json_array_get(slots, i);
    }
    return NULL;
}

/* The node holds this manifest (by digest) and the evidence binds it: the task keys. */
static int fetch_and_check(node_conn *nc, const char *who, const ward_task_manifest *m,
                           json_t **task, tc_task_keys *keys)
{
    *task = get_task(nc, who, ward_task_id(m));
    if (*task == NULL)
        return -1;
    uint8_t digest[32];
    char dh[65];
    ward_task_manifest_digest(m, digest);
    tc_hex(digest, 32, dh, sizeof dh);
    const char *held = json_string_value(json_object_get(*task, "manifest_sha256"));
    if (held == NULL || strcmp(held, dh) != 0) {
        fprintf(stderr, "%s: the node holds another manifest for task %s (SHA-256 %s, yours "
                        "%s): refusing\n",
                tc_prog, ward_task_id(m), held != NULL ? held : "?", dh);
        return -1;
    }
    if (!node_has_anchors(nc)) {
        fprintf(stderr, "%s: no trust anchor for the node's platform key: cannot verify the "
                        "task's evidence (give --trust-cert PLATFORM-CERT.pem or a --policy "
                        "with anchors)\n",
                tc_prog);
        return -1;
    }
    return tc_check_evidence(json_object_get(*task, "ta"), digest, &nc->trust, keys);
}

static int task_upload(const struct cli_opts *o, targs *a)
{
    if (a->npos != 3)
        return usage(a, "FILE SLOT CSV expected", NULL);
    const char *slot = a->pos[1], *csv_path = a->pos[2];
    ward_task_manifest *m = NULL;
    json_t *task = NULL;
    tc_task_keys keys;
    memset(&keys, 0, sizeof keys);
    cli_id id;
    node_conn nc;
    memset(&nc, 0, sizeof nc);
    FILE *csv_file = NULL;
    int rc = EXIT_FAIL;
    ward_task_slot_desc sd;
    if (load_envelope(a->pos[0], &m, NULL) != 0)
        return EXIT_FAIL;
    if (ward_task_slot_find(m, slot, &sd) != WARD_OK) {
        fprintf(stderr, "ward task upload: the manifest has no slot '%s'\n", slot);
        ward_task_manifest_free(m);
        return EXIT_FAIL;
    }
    if (connect_as(a, &id, &nc, 1) != 0) {
        ward_task_manifest_free(m);
        return EXIT_FAIL;
    }
    if (fetch_and_check(&nc, id.name, m, &task, &keys) != 0)
        goto out;
    const char *state = json_string_value(json_object_get(task, "state"));
    const json_t *js = find_slot(task, slot);
    json_int_t have = json_integer_value(json_object_get(js, "bytes"));
    if (json_is_true(json_object_get(js, "complete"))) {
        fprintf(stderr, "ward task upload: slot %s is already complete (%lld bytes)\n", slot,
                (long long)have);
        goto out;
    }
    if (have > 0) {
        fprintf(stderr, "ward task upload: slot %s holds %lld bytes of an earlier upload that "
                        "was cut off; an upload resumes only within one run (each encryption "
                        "uses a fresh key), so this slot cannot be completed\n",
                slot, (long long)have);
        goto out;
    }
    FILE *in = strcmp(csv_path, "-") == 0 ? stdin : fopen(csv_path, "rb");
    if (in == NULL) {
        fprintf(stderr, "ward task upload: %s: %s\n", csv_path, strerror(errno));
        goto out;
    }
    if (in != stdin)
        csv_file = in;
    /* A regular file's size gives the progress bar its end and refuses early what the slot
     * cannot take; a pipe is only known once read. */
    uint64_t size = TC_SIZE_UNKNOWN;
    struct stat sb;
    if (fstat(fileno(in), &sb) == 0 && S_ISREG(sb.st_mode)) {
        size = (uint64_t)sb.st_size;
        char aad[WARD_TASK_AAD_MAX + 1];
        size_t al = 0, ctl = 0;
        if (size <= (uint64_t)SIZE_MAX &&
            ward_task_slot_aad(m, slot, aad, sizeof aad, &al) == WARD_OK)
            ctl = ward_stream_encrypted_size((size_t)size, 0, al);
        if (size == 0 || ctl == 0 || (uint64_t)ctl > sd.max_bytes) {
            fprintf(stderr, "ward task upload: %s: %llu bytes %s\n", csv_path,
                    (unsigned long long)size,
                    size == 0 ? "(an empty input is refused)"
                              : "do not fit the slot's max_bytes once encrypted");
            goto out;
        }
    }
    if (!o->json) {
        char tpk[17];
        tc_hex(keys.task_pk, 8, tpk, sizeof tpk);
        printf("task %s (%s): evidence verified (%s, appraised `%s` under %s);\n"
               "  its report binds this manifest, task key %s... and the task signing key\n",
               ward_task_id(m), state != NULL ? state : "?", ward_tee_kind_name(keys.claims.kind),
               ward_ear_status_name(keys.appraisal.status), keys.appraisal.policy_id, tpk);
        fflush(stdout);
    }
    char label[96];
    snprintf(label, sizeof label, "upload %.40s", slot);
    tc_upload_stats us;
    tc_source src = tc_source_file(in, size);
    if (tc_upload(nc.cl, id.name, ward_task_id(m), slot, keys.task_pk, &src, a->chunk,
                  a->no_progress ? NULL : label, &us) != 0)
        goto out;
    char shah[65];
    tc_hex(us.pt_sha256, 32, shah, sizeof shah);
    if (o->json) {
        json_t *j = json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:s, s:b}", "task_id",
                              ward_task_id(m), "slot", slot, "plaintext_bytes",
                              (json_int_t)us.pt_len, "ciphertext_bytes", (json_int_t)us.ct_len,
                              "chunks", (json_int_t)us.chunks, "resumes",
                              (json_int_t)us.resumes, "plaintext_sha256", shah, "complete", 1);
        print_json(j);
        json_decref(j);
    } else {
        printf("slot %s: %llu bytes of CSV (SHA-256 %s)\n  encrypted to the task key: %llu "
               "bytes, uploaded in %zu chunks%s; the slot is complete\n",
               slot, (unsigned long long)us.pt_len, shah, (unsigned long long)us.ct_len,
               us.chunks, us.resumes > 0 ? " (resumed)" : "");
    }
    rc = EXIT_OK;
out:
    if (csv_file != NULL)
        fclose(csv_file);
    json_decref(task);
    tc_task_keys_free(&keys);
    ward_task_manifest_free(m);
    cli_id_free(&id);
    node_conn_free(&nc);
    return rc;
}

/* ---- run, status, cancel --------------------------------------------------------------------- */

static void print_status(const json_t *t)
{
    print_task_line(t);
    char exp[40];
    fmt_time((int64_t)json_integer_value(json_object_get(t, "expires_at")), exp, sizeof exp);
    printf("  function %s; manifest SHA-256 %s; expires %s\n",
           json_string_value(json_object_get(t, "function")),
           json_string_value(json_object_get(t, "manifest_sha256")), exp);
    const json_t *slots = json_object_get(t, "slots");
    for (size_t i = 0; i < json_array_size(slots); i++) {
        const json_t *s = json_array_get(slots, i);
        printf("  slot %-16s %lld bytes in %lld chunks, %s\n",
               json_string_value(json_object_get(s, "name")),
               (long long)json_integer_value(json_object_get(s, "bytes")),
               (long long)json_integer_value(json_object_get(s, "chunks")),
               json_is_true(json_object_get(s, "deleted"))    ? "ciphertext deleted"
               : json_is_true(json_object_get(s, "complete")) ? "complete"
                                                              : "open");
    }
    printf("  cancel votes %lld of %lld\n",
           (long long)json_integer_value(json_object_get(t, "cancel_votes")),
           (long long)json_integer_value(json_object_get(t, "cancel_quorum")));
    const json_t *ta = json_object_get(t, "ta");
    if (json_is_object(ta))
        printf("  TA instance %s\n", json_is_true(json_object_get(ta, "alive"))
                                         ? "alive"
                                         : "destroyed (keys and plaintext wiped)");
}

static int task_simple(const struct cli_opts *o, targs *a)
{
    if (a->npos != 1)
        return usage(a, "FILE or TASK_ID expected", NULL);
    char tid[WARD_TASK_ID_HEX_LEN + 1];
    ward_task_manifest *m = NULL;
    if (task_ref(a->pos[0], tid, &m) != 0)
        return EXIT_FAIL;
    ward_task_manifest_free(m);
    cli_id id;
    node_conn nc;
    if (connect_as(a, &id, &nc, 1) != 0)
        return EXIT_FAIL;
    char path[128];
    json_t *j;
    int rc = EXIT_FAIL;
    if (strcmp(a->verb, "status") == 0) {
        j = get_task(&nc, id.name, tid);
    } else {
        snprintf(path, sizeof path, "/v1/tasks/%s/%s", tid, a->verb);
        j = tc_call(nc.cl, id.name, "POST", path, NULL, 0, 200);
    }
    if (j != NULL) {
        const char *state = json_string_value(json_object_get(j, "state"));
        if (o->json)
            print_json(j);
        else if (strcmp(a->verb, "status") == 0)
            print_status(j);
        else if (strcmp(a->verb, "cancel") == 0) {
            printf("%s voted to cancel task %s: %lld of %lld votes\n", id.name, tid,
                   (long long)json_integer_value(json_object_get(j, "cancel_votes")),
                   (long long)json_integer_value(json_object_get(j, "cancel_quorum")));
            print_task_line(j);
        } else
            print_task_line(j);
        rc = EXIT_OK;
        if (strcmp(a->verb, "run") == 0 && (state == NULL || strcmp(state, "done") != 0)) {
            const char *reason = json_string_value(json_object_get(j, "reason"));
            fprintf(stderr, "ward task run: the task ended %s: %s\n", state != NULL ? state : "?",
                    reason != NULL ? reason : "");
            rc = EXIT_FAIL;
        }
    }
    json_decref(j);
    cli_id_free(&id);
    node_conn_free(&nc);
    return rc;
}

/* ---- result ---------------------------------------------------------------------------------- */

static int task_result(const struct cli_opts *o, targs *a)
{
    if (a->npos != 1)
        return usage(a, "one FILE expected", NULL);
    ward_task_manifest *m = NULL;
    if (load_envelope(a->pos[0], &m, NULL) != 0)
        return EXIT_FAIL;
    cli_id id;
    node_conn nc;
    if (connect_as(a, &id, &nc, 1) != 0) {
        ward_task_manifest_free(m);
        return EXIT_FAIL;
    }
    int rc = EXIT_FAIL;
    json_t *res = NULL;
    tc_task_keys keys;
    tc_result r;
    memset(&keys, 0, sizeof keys);
    memset(&r, 0, sizeof r);
    uint8_t digest[32];
    ward_task_manifest_digest(m, digest);
    if (!node_has_anchors(&nc)) {
        fprintf(stderr, "ward task result: no trust anchor for the node's platform key: cannot "
                        "verify the result's evidence (give --trust-cert PLATFORM-CERT.pem)\n");
        goto out;
    }
    char path[128];
    snprintf(path, sizeof path, "/v1/tasks/%s/result", ward_task_id(m));
    res = tc_call(nc.cl, id.name, "GET", path, NULL, 0, 200);
    if (res == NULL)
        goto out;
    int to_stdout = a->out == NULL || strcmp(a->out, "-") == 0;
    /* to a file: streamed there (temporary name, renamed once verified); else in memory */
    if (tc_check_evidence(res, digest, &nc.trust, &keys) != 0 ||
        tc_result_open(nc.cl, id.name, res, m, &keys, id.x_sk, to_stdout ? NULL : a->out,
                       a->no_progress ? NULL : "result", &r) != 0)
        goto out;
    char ih[65], ch[65];
    tc_hex(r.inputs_digest, 32, ih, sizeof ih);
    tc_hex(r.csv_sha256, 32, ch, sizeof ch);
    if (o->json) {
        json_t *j = json_pack("{s:s, s:I, s:s, s:s, s:s, s:s, s:b}", "task_id", ward_task_id(m),
                              "bytes", (json_int_t)r.csv_len, "sha256", ch, "inputs_digest", ih,
                              "tee", ward_tee_kind_name(keys.claims.kind), "appraisal",
                              ward_ear_status_name(keys.appraisal.status), "verified", 1);
        if (j != NULL && !to_stdout)
            json_object_set_new(j, "file", json_string(a->out));
        else if (j != NULL)
            json_object_set_new(j, "csv", json_stringn((const char *)r.csv, r.csv_len));
        print_json(j);
        json_decref(j);
    } else {
        fprintf(stderr,
                "ward task result: evidence verified (%s, `%s` under %s) and binds this "
                "manifest and the task keys;\n"
                "  result signature verified with the bound task signing key; the statement "
                "names this manifest, its function and parameters\n"
                "  (inputs digest %s);\n"
                "  decrypted with %s's X25519 key: %zu bytes of CSV, SHA-256 %s matches%s%s\n",
                ward_tee_kind_name(keys.claims.kind),
                ward_ear_status_name(keys.appraisal.status), keys.appraisal.policy_id, ih,
                id.name, r.csv_len, ch, to_stdout ? "" : "; written to ",
                to_stdout ? "" : a->out);
        if (to_stdout && fwrite(r.csv, 1, r.csv_len, stdout) != r.csv_len) {
            fprintf(stderr, "ward task result: cannot write to stdout\n");
            goto out;
        }
    }
    rc = EXIT_OK;
out:
    tc_result_free(&r);
    tc_task_keys_free(&keys);
    json_decref(res);
    ward_task_manifest_free(m);
    cli_id_free(&id);
    node_conn_free(&nc);
    return rc;
}

/* ---- dispatch -------------------------------------------------------------------------------- */

int cmd_task(const struct cli_opts *o, int argc, char **argv)
{
    if (argc < 2 || ((strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0))) {
        fputs(help, argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : EXIT_OK;
    }
    targs a;
    memset(&a, 0, sizeof a);
    a.verb = argv[1];
    const char *text = verb_text(a.verb);
    if (text == NULL) {
        fprintf(stderr, "ward task: unknown verb '%s'\n\n%s", a.verb, help);
        return EXIT_USAGE;
    }
    if (cli_wants_help(argc - 1, argv + 1)) {
        fputs(text, stdout);
        return EXIT_OK;
    }
    int rc = parse_args(&a, argc, argv);
    if (rc != EXIT_OK)
        return rc;
    static char prog[48];
    snprintf(prog, sizeof prog, "ward task %s", a.verb);
    tc_prog = prog;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (strcmp(a.verb, "create") == 0)
        rc = task_create(o, &a);
    else if (strcmp(a.verb, "show") == 0)
        rc = task_show(o, &a);
    else if (strcmp(a.verb, "sign") == 0)
        rc = task_sign(o, &a);
    else if (strcmp(a.verb, "upload") == 0)
        rc = task_upload(o, &a);
    else if (strcmp(a.verb, "result") == 0)
        rc = task_result(o, &a);
    else
        rc = task_simple(o, &a);
    curl_global_cleanup();
    return rc;
}
