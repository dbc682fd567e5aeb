/* `ward attest` (produce evidence) and `ward verify` (verify and appraise it): include/ward/
 * evidence.h, policy.h and ear.h; docs/attestation.md "Evidence and the software TEE". */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "ward/crypto.h"
#include "ward/ear.h"
#include "ward/encoding.h"
#include "ward/err.h"
#include "ward/evidence.h"
#include "ward/policy.h"
#include "ward/rot.h"
#include "ward/x509.h"

/* Declared in cli/cli.h by the integrator; repeated here so this file stands alone. */
int cmd_attest(const struct cli_opts *o, int argc, char **argv);
int cmd_verify(const struct cli_opts *o, int argc, char **argv);

#define MAX_TRUST 16
#define MAX_COLLATERAL 8
#define PEM_MAX ((size_t)1 << 20)
#define VERIFIER_KEY_FILE "verifier-key.pem"

static const char attest_help[] =
    "usage: ward attest [--data-dir DIR] [--report-data HEX | --nonce HEX]\n"
    "                   [--provider auto|configfs|gramine|none] [--configfs-root DIR]\n"
    "                   [--gramine-root DIR] [--out FILE]\n"
    "\n"
    "Produces evidence about this node: a node-level report (no trusted application) signed by\n"
    "the node's platform key, in the evidence bundle format (docs/formats.md). The report's\n"
    "measurement is SHA-256 of the running `ward` executable, measured by itself, and its signer\n"
    "is all-zero (the mark of a node-level report). On TEE hardware (configfs-tsm in a\n"
    "confidential VM, Gramine in an SGX enclave) the bundle also carries hardware evidence that\n"
    "binds the platform key. Without it the evidence is software-TEE evidence (\"ward-sw\"):\n"
    "whoever is root on this node is trusted, and could have produced it.\n"
    "\n"
    "options:\n"
    "  --data-dir DIR       the node data directory (default $XDG_DATA_HOME/ward or\n"
    "                       ~/.local/share/ward); created with a new platform key if absent\n"
    "  --nonce HEX          a verifier's challenge, 1..64 bytes: report_data = nonce, zero-padded\n"
    "  --report-data HEX    exactly 64 bytes of report_data\n"
    "  --provider P         hardware evidence: auto (default), configfs, gramine or none\n"
    "  --configfs-root DIR  configfs-tsm report directory (default /sys/kernel/config/tsm/report)\n"
    "  --gramine-root DIR   Gramine attestation directory (default /dev/attestation)\n"
    "  --out FILE           write the bundle to FILE (default: stdout)\n"
    "\n"
    "exit status: 0 written, 1 failed, 2 bad usage\n";

static const char verify_help[] =
    "usage: ward verify EVIDENCE [--policy FILE] [--trust-cert PEM]... [--collateral PATH]...\n"
    "                   [--amd-chain PEM] [--vek FILE] [--at TIME] [--nonce HEX]\n"
    "                   [--accept-warning] [--json [--verifier-key PEM] [--data-dir DIR]]\n"
    "\n"
    "Verifies an evidence bundle (EVIDENCE, or - for stdin) and appraises it against a policy\n"
    "(default: the built-in policy, under which the software TEE is `warning` at best). Prints\n"
    "the result readably, or with --json the attestation result as an EAR JWT signed ES256 by\n"
    "the verifier key.\n"
    "\n"
    "options:\n"
    "  --policy FILE       appraisal policy (JSON; docs/attestation.md); its software-TEE\n"
    "                      anchors are used as well\n"
    "  --trust-cert PEM    a trusted platform certificate (pinned) or enrolment CA certificate;\n"
    "                      repeatable\n"
    "  --collateral PATH   Intel DCAP collateral: a directory (tcb_info.json, ...) or a\n"
    "                      collateral JSON file; repeatable\n"
    "  --amd-chain PEM     AMD ASK/ARK certificates for SEV-SNP evidence\n"
    "  --vek FILE          the VCEK/VLEK when the bundle carries none\n"
    "  --at TIME           verification time: Unix seconds or YYYY-MM-DDTHH:MM:SSZ (default now)\n"
    "  --nonce HEX         the challenge the evidence must carry in report_data\n"
    "  --accept-warning    exit 0 on a `warning` result too\n"
    "  --verifier-key PEM  EC P-256 private key that signs the EAR (default\n"
    "                      DATA_DIR/verifier-key.pem, created if absent)\n"
    "  --data-dir DIR      the data directory for the default verifier key\n"
    "  --json              print the EAR JWT\n"
    "\n"
    "exit status: 0 affirming (or warning when the policy or --accept-warning allows it),\n"
    "1 refused, contraindicated or failed, 2 bad usage\n";

/* ---- helpers --------------------------------------------------------------------------------- */

__attribute__((format(printf, 3, 4))) static int usage_err(const char *cmd, const char *help,
                                                           const char *fmt, ...)
{
    fprintf(stderr, "ward %s: ", cmd);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\n\n", stderr);
    fputs(help, stderr);
    return EXIT_USAGE;
}

static ward_err read_all(const char *path, size_t max, char **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rbe");
    if (f == NULL)
        return ward_err_set(errno == ENOENT ? WARD_ERR_NOT_FOUND : WARD_ERR_IO,
                            "cannot open %s: %s", path, strerror(errno));
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap + 1);
    ward_err err = buf == NULL ? ward_err_set(WARD_ERR_NOMEM, "out of memory") : WARD_OK;
    while (err == WARD_OK) {
        if (n == cap) {
            if (cap > max) {
                err = ward_err_set(WARD_ERR_LIMIT, "%s: larger than %zu bytes", path, max);
                break;
            }
            char *nb = realloc(buf, cap * 2 + 1);
            if (nb == NULL) {
                err = ward_err_set(WARD_ERR_NOMEM, "out of memory");
                break;
            }
            buf = nb;
            cap *= 2;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0) {
            if (ferror(f))
                err = ward_err_set(WARD_ERR_IO, "%s: read error", path);
            break;
        }
    }
    if (f != stdin)
        fclose(f);
    if (err == WARD_OK && n > max)
        err = ward_err_set(WARD_ERR_LIMIT, "%s: larger than %zu bytes", path, max);
    if (err != WARD_OK) {
        free(buf);
        return err;
    }
    buf[n] = 0;
    *out = buf;
    *len = n;
    return WARD_OK;
}

static void print_hex(FILE *f, const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%02x", b[i]);
}

static ward_err write_out(const char *path, const char *data, size_t len)
{
    if (path == NULL) {
        if (fwrite(data, 1, len, stdout) != len || fputc('\n', stdout) == EOF ||
            fflush(stdout) != 0)
            return ward_err_set(WARD_ERR_IO, "cannot write to stdout");
        return WARD_OK;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return ward_err_set(WARD_ERR_IO, "cannot create %s: %s", path, strerror(errno));
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            close(fd);
            return ward_err_set(WARD_ERR_IO, "cannot write %s", path);
        }
        off += (size_t)w;
    }
    if (write(fd, "\n", 1) != 1 || close(fd) != 0)
        return ward_err_set(WARD_ERR_IO, "cannot write %s", path);
    return WARD_OK;
}

/* ---- ward attest ----------------------------------------------------------------------------- */

int cmd_attest(const struct cli_opts *o, int argc, char **argv)
{
    (void)o;
    if (cli_wants_help(argc, argv)) {
        fputs(attest_help, stdout);
        return EXIT_OK;
    }
    const char *data_dir = NULL, *rd_hex = NULL, *nonce_hex = NULL, *out_path = NULL;
    ward_hw_provider prov = {.kind = WARD_PROVIDER_AUTO};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--json") == 0)
            continue; /* the bundle is JSON anyway */
        if (v == NULL)
            return usage_err("attest", attest_help, "unknown option or missing value: %s", a);
        if (strcmp(a, "--data-dir") == 0)
            data_dir = v;
        else if (strcmp(a, "--report-data") == 0)
            rd_hex = v;
        else if (strcmp(a, "--nonce") == 0)
            nonce_hex = v;
        else if (strcmp(a, "--out") == 0)
            out_path = v;
        else if (strcmp(a, "--configfs-root") == 0)
            prov.configfs_root = v;
        else if (strcmp(a, "--gramine-root") == 0)
            prov.gramine_root = v;
        else if (strcmp(a, "--provider") == 0) {
            if (ward_provider_kind_parse(v, &prov.kind) != WARD_OK)
                return usage_err("attest", attest_help, "%s", ward_errmsg());
        } else
            return usage_err("attest", attest_help, "unknown option: %s", a);
        i++;
    }
    if (rd_hex != NULL && nonce_hex != NULL)
        return usage_err("attest", attest_help, "--report-data and --nonce exclude each other");
    uint8_t rd[WARD_REPORT_DATA_LEN] = {0};
    if (rd_hex != NULL &&
        ward_hex_decode_fixed(rd_hex, strlen(rd_hex), rd, sizeof rd) != WARD_OK)
        return usage_err("attest", attest_help, "--report-data needs exactly 64 bytes in hex");
    if (nonce_hex != NULL) {
        uint8_t *n = NULL;
        size_t nl = 0;
        if (ward_hex_decode(nonce_hex, strlen(nonce_hex), &n, &nl) != WARD_OK || nl == 0 ||
            nl > 64) {
            free(n);
            return usage_err("attest", attest_help, "--nonce needs 1..64 bytes in hex");
        }
        ward_evidence_nonce_report_data(n, nl, rd);
        free(n);
    }
    if (rd_hex == NULL && nonce_hex == NULL)
        fputs("ward attest: note: no --nonce: this evidence proves nothing about when it was "
              "made\n", stderr);

    char *dir_alloc = NULL;
    ward_rot *rot = NULL;
    ward_err err = WARD_OK;
    if (data_dir == NULL && (err = ward_rot_default_dir(&dir_alloc)) == WARD_OK)
        data_dir = dir_alloc;
    if (err == WARD_OK)
        err = ward_rot_open(data_dir, 1, &rot);
    uint8_t report[WARD_REPORT_LEN], sig[WARD_REPORT_SIG_LEN];
    if (err == WARD_OK)
        err = ward_evidence_node_report(rot, rd, report, sig);
    ward_hw_evidence hw;
    memset(&hw, 0, sizeof hw);
    uint8_t key_id[WARD_SHA256_LEN], binding[64];
    if (err == WARD_OK) {
        ward_rot_platform_key_id(rot, key_id);
        ward_evidence_hw_binding(key_id, binding);
        err = ward_hw_collect(&prov, binding, &hw);
        if (err != WARD_OK)
            err = ward_err_wrap(err, "hardware evidence (--provider none makes software-only "
                                     "evidence)");
    }
    char *json = NULL;
    size_t json_len = 0;
    if (err == WARD_OK)
        err = ward_evidence_make_with_hw(rot, report, sizeof report, sig, &hw, &json, &json_len);
    if (err == WARD_OK)
        err = write_out(out_path, json, json_len);
    if (err == WARD_OK) {
        if (hw.kind == WARD_HW_NONE)
            fputs("ward attest: ward-sw evidence (software TEE, no hardware evidence): whoever "
                  "is root on this node is trusted and could have produced it\n", stderr);
        else
            fprintf(stderr, "ward attest: ward-sw evidence with %s hardware evidence from %s\n",
                    ward_hw_kind_name(hw.kind), hw.provider);
    }
    free(json);
    ward_hw_evidence_clear(&hw);
    ward_rot_close(rot);
    free(dir_alloc);
    if (err != WARD_OK) {
        cli_error("attest", 1);
        return EXIT_FAIL;
    }
    return EXIT_OK;
}

/* ---- ward verify ----------------------------------------------------------------------------- */

typedef struct vopts {
    const char *evidence, *policy, *amd_chain, *vek, *nonce_hex, *verifier_key, *data_dir;
    const char *trust[MAX_TRUST];
    size_t n_trust;
    const char *collateral[MAX_COLLATERAL];
    size_t n_collateral;
    int64_t at;
    int accept_warning, json;
} vopts;

typedef struct vstate {
    uint8_t (*pinned)[WARD_SHA256_LEN];
    size_t n_pinned;
    ward_cert **cas;
    size_t n_cas;
    ward_dcap_collateral *dcap[MAX_COLLATERAL];
    size_t n_dcap;
    ward_snp_verifier *snp;
    char *vek;
    size_t vek_len;
} vstate;

static void vstate_free(vstate *s)
{
    free(s->pinned);
    for (size_t i = 0; i < s->n_cas; i++)
        ward_cert_free(s->cas[i]);
    free(s->cas);
    for (size_t i = 0; i < s->n_dcap; i++)
        ward_dcap_collateral_free(s->dcap[i]);
    ward_snp_verifier_free(s->snp);
    free(s->vek);
}

static ward_err add_pin(vstate *s, const uint8_t fp[WARD_SHA256_LEN])
{
    uint8_t(*np)[WARD_SHA256_LEN] = realloc(s->pinned, (s->n_pinned + 1) * sizeof *np);
    if (np == NULL)
        return ward_err_set(WARD_ERR_NOMEM, "out of memory");
    s->pinned = np;
    memcpy(s->pinned[s->n_pinned++], fp, WARD_SHA256_LEN);
    return WARD_OK;
}

static ward_err add_ca(vstate *s, ward_cert *c)
{
    ward_cert **nc = realloc(s->cas, (s->n_cas + 1) * sizeof *nc);
    if (nc == NULL) {
        ward_cert_free(c);
        return ward_err_set(WARD_ERR_NOMEM, "out of memory");
    }
    s->cas = nc;
    s->cas[s->n_cas++] = c;
    return WARD_OK;
}

/* Every certificate of a PEM file: a CA certificate becomes an enrolment CA, any other is
 * pinned by its fingerprint. */
static ward_err load_trust_cert(vstate *s, const char *path)
{
    char *pem = NULL;
    size_t len = 0;
    ward_err err = read_all(path, PEM_MAX, &pem, &len);
    ward_cert **certs = NULL;
    size_t n = 0;
    if (err == WARD_OK)
        err = ward_cert_list_from_pem(pem, len, &certs, &n);
    for (size_t i = 0; err == WARD_OK && i < n; i++) {
        if (ward_cert_is_ca(certs[i])) {
            err = add_ca(s, ward_cert_ref(certs[i]));
        } else {
            uint8_t fp[WARD_SHA256_LEN];
            err = ward_cert_fingerprint(certs[i], fp);
            if (err == WARD_OK)
                err = add_pin(s, fp);
        }
    }
    ward_cert_list_free(certs, n);
    free(pem);
    if (err != WARD_OK)
        return ward_err_wrap(err, "--trust-cert %s", path);
    return WARD_OK;
}

static ward_err load_policy_anchors(vstate *s, const ward_policy *p)
{
    ward_err err = WARD_OK;
    for (size_t i = 0; err == WARD_OK && i < ward_policy_sw_pinned_count(p); i++)
        err = add_pin(s, ward_policy_sw_pinned(p, i));
    for (size_t i = 0; err == WARD_OK && i < ward_policy_sw_ca_count(p); i++) {
        size_t len = 0;
        const char *pem = ward_policy_sw_ca_pem(p, i, &len);
        ward_cert *c = NULL;
        err = ward_cert_from_pem(pem, len, &c);
        if (err == WARD_OK)
            err = add_ca(s, c);
    }
    return err;
}

static ward_err load_collateral(vstate *s, const char *path, int64_t at)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return ward_err_set(WARD_ERR_NOT_FOUND, "--collateral %s: %s", path, strerror(errno));
    ward_err err;
    ward_dcap_collateral *c = NULL;
    if (S_ISDIR(st.st_mode)) {
        err = ward_dcap_collateral_load_dir(path, NULL, NULL, at, &c);
    } else {
        char *text = NULL;
        size_t len = 0;
        err = read_all(path, PEM_MAX, &text, &len);
        if (err == WARD_OK)
            err = ward_dcap_collateral_load_qvl_json(text, len, NULL, at, &c);
        free(text);
    }
    if (err != WARD_OK)
        return ward_err_wrap(err, "--collateral %s", path);
    s->dcap[s->n_dcap++] = c;
    return WARD_OK;
}

static ward_err load_verifier_key(const vopts *v, ward_pkey **out)
{
    char *path_alloc = NULL, *dir_alloc = NULL, *pem = NULL;
    const char *path = v->verifier_key;
    ward_err err = WARD_OK;
    size_t len = 0;
    if (path == NULL) {
        const char *dir = v->data_dir;
        if (dir == NULL && (err = ward_rot_default_dir(&dir_alloc)) == WARD_OK)
            dir = dir_alloc;
        if (err == WARD_OK) {
            size_t n = strlen(dir) + sizeof VERIFIER_KEY_FILE + 1;
            path_alloc = malloc(n);
            if (path_alloc == NULL)
                err = ward_err_set(WARD_ERR_NOMEM, "out of memory");
            else
                snprintf(path_alloc, n, "%s/%s", dir, VERIFIER_KEY_FILE);
            path = path_alloc;
        }
        if (err == WARD_OK && access(path, F_OK) != 0) {
            /* First use: make the verifier key (0600, never replacing one). */
            ward_pkey *k = NULL;
            err = ward_pkey_generate(WARD_KEY_EC_P256, &k);
            if (err == WARD_OK)
                err = ward_pkey_private_pem(k, &pem, &len);
            ward_pkey_free(k);
            if (err == WARD_OK) {
                mkdir(dir, 0700);
                int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
                if (fd < 0 || write(fd, pem, len) != (ssize_t)len || close(fd) != 0)
                    err = ward_err_set(WARD_ERR_IO, "cannot create %s: %s", path,
                                       strerror(errno));
                else
                    fprintf(stderr, "ward verify: created the verifier key %s\n", path);
            }
            if (pem != NULL)
                ward_wipe(pem, len);
            free(pem);
            pem = NULL;
        }
    }
    if (err == WARD_OK)
        err = read_all(path, PEM_MAX, &pem, &len);
    if (err == WARD_OK)
        err = ward_pkey_from_pem(pem, len, out);
    if (err == WARD_OK && (!ward_pkey_is_private(*out) || ward_pkey_type(*out) != WARD_KEY_EC_P256)) {
        ward_pkey_free(*out);
        *out = NULL;
        err = ward_err_set(WARD_ERR_INVALID_ARG, "%s: not an EC P-256 private key", path);
    }
    if (pem != NULL)
        ward_wipe(pem, len);
    free(pem);
    free(path_alloc);
    free(dir_alloc);
    if (err != WARD_OK)
        return ward_err_wrap(err, "verifier key");
    return WARD_OK;
}

static void print_result(const ward_claims *c, const ward_evidence_result *r,
                         const ward_appraisal *ap, int accepted)
{
    printf("evidence: verified (signatures, certificate chains%s)\n",
           r->has_hw ? ", hardware evidence and its binding of the platform key" : "");
    if (!r->has_hw) {
        printf("platform: %s: SOFTWARE TEE, no hardware protection: the Linux kernel, wardd and "
               "whoever is root on the node are trusted\n",
               ward_tee_kind_name(r->ta.kind));
    } else {
        printf("platform: %s hardware (%s), TCB status %s; TA layer %s\n",
               ward_tee_kind_name(r->hw.kind), ward_hw_kind_name(r->hw_kind),
               ward_tcb_status_name(r->hw.tcb_status), ward_tee_kind_name(r->ta.kind));
    }
    printf("platform key: ");
    print_hex(stdout, r->platform_key_id, sizeof r->platform_key_id);
    printf(" (trusted by: %s)\n", ward_anchor_kind_name(r->anchor));
    printf("report: %s\n", r->node_level ? "node-level (no TA): measurement is the node "
                                           "program's own hash, self-reported"
                                         : "trusted application");
    printf("  measurement: ");
    print_hex(stdout, c->measurement, c->measurement_len);
    printf("\n  signer:      ");
    print_hex(stdout, c->signer, c->signer_len);
    printf("\n  product id %u, svn %u, debug %s\n", (unsigned)c->product_id, (unsigned)c->svn,
           c->debug ? "YES" : "no");
    printf("  report_data: ");
    print_hex(stdout, c->report_data, sizeof c->report_data);
    printf("\n");
    for (size_t i = 0; i < c->n_advisories; i++)
        printf("  advisory: %s\n", c->advisories[i]);
    printf("appraisal: %s (policy %s)\n", ward_ear_status_name(ap->status), ap->policy_id);
    for (size_t i = 0; i < ap->n_reasons; i++)
        printf("  - %s\n", ap->reasons[i]);
    printf("result: %s\n", accepted ? "ACCEPTED" : "NOT ACCEPTED");
}

static int parse_verify_args(int argc, char **argv, vopts *v)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--json") == 0) {
            v->json = 1;
            continue;
        }
        if (strcmp(a, "--accept-warning") == 0) {
            v->accept_warning = 1;
            continue;
        }
        if (a[0] != '-' || strcmp(a, "-") == 0) {
            if (v->evidence != NULL)
                return usage_err("verify", verify_help, "more than one EVIDENCE");
            v->evidence = a;
            continue;
        }
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (val == NULL)
            return usage_err("verify", verify_help, "unknown option or missing value: %s", a);
        if (strcmp(a, "--policy") == 0)
            v->policy = val;
        else if (strcmp(a, "--amd-chain") == 0)
            v->amd_chain = val;
        else if (strcmp(a, "--vek") == 0)
            v->vek = val;
        else if (strcmp(a, "--nonce") == 0)
            v->nonce_hex = val;
        else if (strcmp(a, "--verifier-key") == 0)
            v->verifier_key = val;
        else if (strcmp(a, "--data-dir") == 0)
            v->data_dir = val;
        else if (strcmp(a, "--at") == 0) {
            if (!cli_parse_time(val, &v->at) || v->at <= 0)
                return usage_err("verify", verify_help,
                                 "--at: expected Unix seconds or YYYY-MM-DDTHH:MM:SSZ");
        } else if (strcmp(a, "--trust-cert") == 0) {
            if (v->n_trust == MAX_TRUST)
                return usage_err("verify", verify_help, "at most %d --trust-cert", MAX_TRUST);
            v->trust[v->n_trust++] = val;
        } else if (strcmp(a, "--collateral") == 0) {
            if (v->n_collateral == MAX_COLLATERAL)
                return usage_err("verify", verify_help, "at most %d --collateral",
                                 MAX_COLLATERAL);
            v->collateral[v->n_collateral++] = val;
        } else
            return usage_err("verify", verify_help, "unknown option: %s", a);
        i++;
    }
    if (v->evidence == NULL)
        return usage_err("verify", verify_help, "EVIDENCE is required");
    return -1;
}

int cmd_verify(const struct cli_opts *o, int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        fputs(verify_help, stdout);
        return EXIT_OK;
    }
    vopts v;
    memset(&v, 0, sizeof v);
    int rc = parse_verify_args(argc, argv, &v);
    if (rc >= 0)
        return rc;
    if (o != NULL && o->json)
        v.json = 1;
    uint8_t *nonce = NULL;
    size_t nonce_len = 0;
    if (v.nonce_hex != NULL &&
        (ward_hex_decode(v.nonce_hex, strlen(v.nonce_hex), &nonce, &nonce_len) != WARD_OK ||
         nonce_len == 0 || nonce_len > 64)) {
        free(nonce);
        return usage_err("verify", verify_help, "--nonce needs 1..64 bytes in hex");
    }
    int64_t now = v.at != 0 ? v.at : (int64_t)time(NULL);

    vstate s;
    memset(&s, 0, sizeof s);
    ward_policy *pol = NULL;
    char *text = NULL, *pem = NULL, *jwt = NULL;
    size_t text_len = 0, pem_len = 0;
    ward_pkey *vkey = NULL;
    ward_err err = v.policy != NULL ? ward_policy_load(v.policy, &pol) : ward_policy_default(&pol);
    if (err == WARD_OK)
        err = load_policy_anchors(&s, pol);
    for (size_t i = 0; err == WARD_OK && i < v.n_trust; i++)
        err = load_trust_cert(&s, v.trust[i]);
    for (size_t i = 0; err == WARD_OK && i < v.n_collateral; i++)
        err = load_collateral(&s, v.collateral[i], now);
    if (err == WARD_OK && v.amd_chain != NULL) {
        err = read_all(v.amd_chain, PEM_MAX, &pem, &pem_len);
        if (err == WARD_OK)
            err = ward_snp_verifier_new(pem, pem_len, 0, &s.snp);
        if (err != WARD_OK)
            err = ward_err_wrap(err, "--amd-chain %s", v.amd_chain);
    }
    if (err == WARD_OK && v.vek != NULL)
        err = read_all(v.vek, PEM_MAX, &s.vek, &s.vek_len);
    if (err == WARD_OK && v.json)
        err = load_verifier_key(&v, &vkey);
    if (err != WARD_OK) {
        cli_error("verify", 1);
        rc = EXIT_FAIL;
        goto done;
    }
    err = read_all(v.evidence, WARD_EVIDENCE_MAX_LEN, &text, &text_len);
    ward_evidence_trust trust = {
        .pinned = (const uint8_t(*)[WARD_SHA256_LEN])s.pinned,
        .n_pinned = s.n_pinned,
        .cas = s.cas,
        .n_cas = s.n_cas,
        .dcap = (const ward_dcap_collateral *const *)s.dcap,
        .n_dcap = s.n_dcap,
        .snp = s.snp,
        .snp_vek = (const uint8_t *)s.vek,
        .snp_vek_len = s.vek_len,
    };
    ward_claims claims;
    ward_evidence_result res;
    if (err == WARD_OK)
        err = ward_evidence_verify(text, text_len, &trust, now, &claims, &res);
    if (err != WARD_OK) {
        fprintf(stderr, "ward verify: REFUSED: %s\n", ward_errmsg());
        rc = EXIT_FAIL;
        goto done;
    }
    ward_appraisal ap;
    err = ward_policy_appraise(pol, &claims, nonce, nonce_len, 0, now, &ap);
    if (err != WARD_OK) {
        cli_error("verify: appraisal", 1);
        rc = EXIT_FAIL;
        goto done;
    }
    int accepted = ward_policy_accepts(pol, ap.status) ||
                   (v.accept_warning && ap.status == WARD_EAR_WARNING);
    if (v.json) {
        err = ward_ear_sign(&ap, &claims, vkey, now, NULL, &jwt, NULL);
        if (err != WARD_OK) {
            cli_error("verify: signing the EAR", 1);
            rc = EXIT_FAIL;
            goto done;
        }
        printf("%s\n", jwt);
        fprintf(stderr, "ward verify: %s%s\n", ward_ear_status_name(ap.status),
                res.has_hw ? "" : " (software TEE: root on the node is trusted)");
    } else {
        print_result(&claims, &res, &ap, accepted);
    }
    rc = accepted ? EXIT_OK : EXIT_FAIL;
done:
    free(jwt);
    ward_pkey_free(vkey);
    free(text);
    free(pem);
    free(nonce);
    ward_policy_free(pol);
    vstate_free(&s);
    return rc;
}
