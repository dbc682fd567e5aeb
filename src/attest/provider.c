/* Hardware evidence providers (include/ward/evidence.h, ward_hw_collect): configfs-tsm for
 * confidential VMs (TDX, SEV-SNP, Arm CCA guests; Linux >= 6.7) and Gramine's /dev/attestation
 * pseudo-files for SGX enclaves. Every path is a parameter so that tests can point the
 * providers at a prepared directory; the test hook lets them play the kernel's part.
 *
 * configfs-tsm sequence (docs: Documentation/ABI/testing/configfs-tsm-report): a private entry
 * is made with mkdir; `generation` counts the writes to the entry, so reading it before our
 * inblob write and after our outblob read, and requiring exactly one write in between, proves
 * that the outblob we read was generated for our inblob. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ward/crypto.h"
#include "ward/encoding.h"
#include "ward/evidence.h"

#define DEFAULT_CONFIGFS "/sys/kernel/config/tsm/report"
#define DEFAULT_GRAMINE "/dev/attestation"
#define DEFAULT_ATTEMPTS 3u
#define MAX_ATTEMPTS 16u
#define TEXT_MAX 64u

const char *ward_hw_kind_name(ward_hw_kind kind)
{
    switch (kind) {
    case WARD_HW_TDX: return "tdx";
    case WARD_HW_SGX: return "sgx";
    case WARD_HW_SNP: return "snp";
    case WARD_HW_ARM_CCA: return "arm-cca";
    case WARD_HW_NONE: break;
    }
    return "none";
}

void ward_hw_evidence_clear(ward_hw_evidence *hw)
{
    if (hw == NULL)
        return;
    free(hw->evidence);
    free(hw->aux);
    memset(hw, 0, sizeof *hw);
}

ward_err ward_provider_kind_parse(const char *name, ward_provider_kind *out)
{
    static const struct {
        const char *name;
        ward_provider_kind kind;
    } names[] = {{"auto", WARD_PROVIDER_AUTO},
                 {"none", WARD_PROVIDER_NONE},
                 {"configfs", WARD_PROVIDER_CONFIGFS},
                 {"gramine", WARD_PROVIDER_GRAMINE}};
    if (name == NULL || out == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "provider: NULL argument");
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(name, names[i].name) == 0) {
            *out = names[i].kind;
            return WARD_OK;
        }
    }
    return ward_err_set(WARD_ERR_INVALID_ARG,
                        "unknown evidence provider '%s' (auto, configfs, gramine, none)", name);
}

void ward_evidence_hw_binding(const uint8_t key_id[WARD_SHA256_LEN], uint8_t out[64])
{
    memcpy(out, key_id, WARD_SHA256_LEN);
    memset(out + WARD_SHA256_LEN, 0, 64 - WARD_SHA256_LEN);
}

/* ---- small file helpers ---------------------------------------------------------------------- */

static ward_err join(char *out, size_t cap, const char *dir, const char *name)
{
    int n = snprintf(out, cap, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= cap)
        return ward_err_set(WARD_ERR_OVERFLOW, "path too long: %s/%s", dir, name);
    return WARD_OK;
}

/* Reads a whole attribute (configfs attributes are read until EOF: the kernel may hand them out
 * in pieces) of at most max bytes into a malloc'd buffer (NUL-terminated for convenience).
 * WARD_ERR_NOT_FOUND if the file does not exist. */
static ward_err read_attr(const char *path, size_t max, uint8_t **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return ward_err_set(errno == ENOENT ? WARD_ERR_NOT_FOUND : WARD_ERR_IO,
                            "cannot open %s: %s", path, strerror(errno));
    size_t cap = 4096, len = 0;
    uint8_t *buf = malloc(cap + 1);
    if (buf == NULL) {
        close(fd);
        return ward_err_set(WARD_ERR_NOMEM, "out of memory reading %s", path);
    }
    for (;;) {
        if (len == cap) {
            if (cap > max) {
                free(buf);
                close(fd);
                return ward_err_set(WARD_ERR_LIMIT, "%s is larger than %zu bytes", path, max);
            }
            size_t ncap = cap * 2 > max + 1 ? max + 1 : cap * 2;
            uint8_t *nb = realloc(buf, ncap + 1);
            if (nb == NULL) {
                free(buf);
                close(fd);
                return ward_err_set(WARD_ERR_NOMEM, "out of memory reading %s", path);
            }
            buf = nb;
            cap = ncap;
        }
        ssize_t n = read(fd, buf + len, cap - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            free(buf);
            close(fd);
            return ward_err_set(WARD_ERR_IO, "cannot read %s: %s", path, strerror(e));
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    if (len > max) {
        free(buf);
        return ward_err_set(WARD_ERR_LIMIT, "%s is larger than %zu bytes", path, max);
    }
    buf[len] = 0;
    *out = buf;
    *out_len = len;
    return WARD_OK;
}

/* Writes exactly len bytes to an existing attribute (never creates it). */
static ward_err write_attr(const char *path, const uint8_t *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return ward_err_set(errno == ENOENT ? WARD_ERR_NOT_FOUND : WARD_ERR_IO,
                            "cannot open %s for writing: %s", path, strerror(errno));
    size_t off = 0;
    while (off < len) {
        ssize_t n = write(fd, data + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int e = n < 0 ? errno : EIO;
            close(fd);
            return ward_err_set(WARD_ERR_IO, "cannot write %s: %s", path, strerror(e));
        }
        off += (size_t)n;
    }
    if (close(fd) != 0)
        return ward_err_set(WARD_ERR_IO, "cannot write %s: %s", path, strerror(errno));
    return WARD_OK;
}

/* A short text attribute, trailing newline removed, into buf (cap >= 2). */
static ward_err read_text(const char *path, char *buf, size_t cap)
{
    uint8_t *data = NULL;
    size_t len = 0;
    ward_err err = read_attr(path, TEXT_MAX, &data, &len);
    if (err != WARD_OK)
        return err;
    while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == ' '))
        len--;
    if (len == 0 || len >= cap || memchr(data, 0, len) != NULL) {
        free(data);
        return ward_err_set(WARD_ERR_FORMAT, "%s: unexpected content", path);
    }
    memcpy(buf, data, len);
    buf[len] = 0;
    free(data);
    return WARD_OK;
}

static ward_err read_u64(const char *path, uint64_t *out)
{
    char t[32];
    ward_err err = read_text(path, t, sizeof t);
    if (err != WARD_OK)
        return err;
    uint64_t v = 0;
    for (const char *c = t; *c != 0; c++) {
        if (*c < '0' || *c > '9' || v > (UINT64_MAX - 9) / 10)
            return ward_err_set(WARD_ERR_FORMAT, "%s: not a decimal counter: '%s'", path, t);
        v = v * 10 + (uint64_t)(*c - '0');
    }
    *out = v;
    return WARD_OK;
}

static ward_err hook(const ward_hw_provider *p, const char *dir, ward_provider_stage stage)
{
    if (p->test_hook != NULL && p->test_hook(p->test_ctx, dir, stage) != 0)
        return ward_err_set(WARD_ERR_IO, "provider test hook failed at stage %d", (int)stage);
    return WARD_OK;
}

/* ---- configfs-tsm ---------------------------------------------------------------------------- */

/* One attempt in an existing entry: generation, inblob, outblob, auxblob, generation. Returns
 * WARD_ERR_STATE when another write happened meanwhile. */
static ward_err configfs_attempt(const ward_hw_provider *p, const char *entry,
                                 const uint8_t report_data[64], ward_hw_evidence *out)
{
    char path[PATH_MAX];
    uint64_t g0 = 0, g1 = 0;
    ward_err err = join(path, sizeof path, entry, "generation");
    if (err == WARD_OK)
        err = read_u64(path, &g0);
    if (err == WARD_OK)
        err = join(path, sizeof path, entry, "inblob");
    if (err == WARD_OK)
        err = write_attr(path, report_data, 64);
    if (err == WARD_OK)
        err = hook(p, entry, WARD_PROVIDER_STAGE_WRITTEN);
    if (err == WARD_OK)
        err = join(path, sizeof path, entry, "outblob");
    if (err == WARD_OK)
        err = read_attr(path, WARD_HW_EVIDENCE_MAX, &out->evidence, &out->evidence_len);
    if (err == WARD_OK && out->evidence_len == 0)
        err = ward_err_set(WARD_ERR_FORMAT, "%s is empty", path);
    if (err == WARD_OK)
        err = join(path, sizeof path, entry, "auxblob");
    if (err == WARD_OK) {
        err = read_attr(path, WARD_HW_AUX_MAX, &out->aux, &out->aux_len);
        if (err == WARD_ERR_NOT_FOUND) { /* hidden when the provider has none (TDX) */
            err = WARD_OK;
            ward_err_clear();
        }
        if (err == WARD_OK && out->aux_len == 0) {
            free(out->aux);
            out->aux = NULL;
        }
    }
    if (err == WARD_OK)
        err = join(path, sizeof path, entry, "generation");
    if (err == WARD_OK)
        err = read_u64(path, &g1);
    if (err == WARD_OK && (g0 == UINT64_MAX || g1 != g0 + 1))
        err = ward_err_set(WARD_ERR_STATE,
                           "configfs-tsm: generation went from %" PRIu64 " to %" PRIu64
                           " around our single write: a concurrent writer changed the request",
                           g0, g1);
    if (err != WARD_OK) {
        free(out->evidence);
        free(out->aux);
        out->evidence = out->aux = NULL;
        out->evidence_len = out->aux_len = 0;
    }
    return err;
}

static ward_err configfs_kind(const char *entry, ward_hw_evidence *out)
{
    char path[PATH_MAX], name[TEXT_MAX];
    ward_err err = join(path, sizeof path, entry, "provider");
    if (err == WARD_OK)
        err = read_text(path, name, sizeof name);
    if (err != WARD_OK)
        return ward_err_wrap(err, "configfs-tsm: which provider");
    static const struct {
        const char *name, *label;
        ward_hw_kind kind;
    } known[] = {{"tdx_guest", "configfs-tsm/tdx_guest", WARD_HW_TDX},
                 {"sev_guest", "configfs-tsm/sev_guest", WARD_HW_SNP},
                 {"arm_cca_guest", "configfs-tsm/arm_cca_guest", WARD_HW_ARM_CCA}};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        if (strcmp(name, known[i].name) == 0) {
            out->kind = known[i].kind;
            _Static_assert(sizeof "configfs-tsm/arm_cca_guest" <= sizeof out->provider,
                           "provider label fits");
            memcpy(out->provider, known[i].label, strlen(known[i].label) + 1);
            return WARD_OK;
        }
    }
    return ward_err_set(WARD_ERR_UNSUPPORTED, "configfs-tsm provider '%s' is not supported",
                        name);
}

/* *absent = 1 (and WARD_OK) when there is no usable configfs-tsm here. */
static ward_err configfs_collect(const ward_hw_provider *p, const uint8_t report_data[64],
                                 ward_hw_evidence *out, int *absent)
{
    const char *root = p->configfs_root != NULL ? p->configfs_root : DEFAULT_CONFIGFS;
    *absent = 0;
    uint8_t rnd[8];
    ward_err err = ward_random(rnd, sizeof rnd);
    if (err != WARD_OK)
        return err;
    char name[64], entry[PATH_MAX];
    snprintf(name, sizeof name, "ward-%ld-%02x%02x%02x%02x%02x%02x%02x%02x", (long)getpid(),
             rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
    err = join(entry, sizeof entry, root, name);
    if (err != WARD_OK)
        return err;
    if (mkdir(entry, 0700) != 0) {
        int e = errno;
        if (e == ENOENT || e == ENXIO || e == ENOTDIR) {
            *absent = 1;
            return ward_err_set(WARD_ERR_NOT_FOUND,
                                "configfs-tsm: %s: %s (no TEE report provider here)", root,
                                strerror(e));
        }
        return ward_err_set(WARD_ERR_IO, "configfs-tsm: cannot create a report entry in %s: %s",
                            root, strerror(e));
    }
    err = hook(p, entry, WARD_PROVIDER_STAGE_CREATED);
    if (err == WARD_OK)
        err = configfs_kind(entry, out);
    unsigned attempts = p->max_attempts == 0 ? DEFAULT_ATTEMPTS : p->max_attempts;
    if (attempts > MAX_ATTEMPTS)
        attempts = MAX_ATTEMPTS;
    for (unsigned i = 0; err == WARD_OK && i < attempts; i++) {
        err = configfs_attempt(p, entry, report_data, out);
        if (err != WARD_ERR_STATE)
            break;
        if (i + 1 < attempts)
            err = WARD_OK;
        else
            err = ward_err_wrap(err, "gave up after %u attempts", attempts);
    }
    ward_err herr = hook(p, entry, WARD_PROVIDER_STAGE_REMOVING);
    int rm_failed = rmdir(entry) != 0;
    int rm_errno = errno;
    if (err == WARD_OK && herr != WARD_OK)
        err = herr;
    if (err == WARD_OK && rm_failed)
        err = ward_err_set(WARD_ERR_IO, "configfs-tsm: cannot remove %s: %s", entry,
                           strerror(rm_errno));
    if (err != WARD_OK) {
        ward_hw_evidence_clear(out);
        return err;
    }
    return WARD_OK;
}

/* ---- Gramine --------------------------------------------------------------------------------- */

static ward_err gramine_collect(const ward_hw_provider *p, const uint8_t report_data[64],
                                ward_hw_evidence *out, int *absent)
{
    const char *root = p->gramine_root != NULL ? p->gramine_root : DEFAULT_GRAMINE;
    char path[PATH_MAX], type[TEXT_MAX];
    *absent = 0;
    ward_err err = join(path, sizeof path, root, "quote");
    if (err != WARD_OK)
        return err;
    struct stat st;
    if (stat(path, &st) != 0) {
        *absent = errno == ENOENT || errno == ENOTDIR;
        return ward_err_set(*absent ? WARD_ERR_NOT_FOUND : WARD_ERR_IO,
                            "Gramine: %s: %s (not inside a Gramine SGX enclave)", path,
                            strerror(errno));
    }
    err = join(path, sizeof path, root, "attestation_type");
    if (err != WARD_OK)
        return err;
    err = read_text(path, type, sizeof type);
    if (err == WARD_OK && strcmp(type, "dcap") != 0)
        return ward_err_set(WARD_ERR_UNSUPPORTED,
                            "Gramine: attestation type '%s' (only dcap gives remote evidence)",
                            type);
    if (err == WARD_ERR_NOT_FOUND) {
        err = WARD_OK;
        ward_err_clear();
    }
    if (err == WARD_OK)
        err = join(path, sizeof path, root, "user_report_data");
    if (err == WARD_OK)
        err = write_attr(path, report_data, 64);
    if (err == WARD_OK)
        err = hook(p, root, WARD_PROVIDER_STAGE_WRITTEN);
    if (err == WARD_OK)
        err = join(path, sizeof path, root, "quote");
    if (err == WARD_OK)
        err = read_attr(path, WARD_HW_EVIDENCE_MAX, &out->evidence, &out->evidence_len);
    if (err == WARD_OK && out->evidence_len == 0)
        err = ward_err_set(WARD_ERR_FORMAT, "Gramine: %s is empty", path);
    if (err != WARD_OK) {
        ward_hw_evidence_clear(out);
        return ward_err_wrap(err, "Gramine");
    }
    out->kind = WARD_HW_SGX;
    snprintf(out->provider, sizeof out->provider, "gramine");
    return WARD_OK;
}

ward_err ward_hw_collect(const ward_hw_provider *p, const uint8_t report_data[64],
                         ward_hw_evidence *out)
{
    if (out == NULL || report_data == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "hardware evidence: NULL argument");
    memset(out, 0, sizeof *out);
    ward_hw_provider def = {.kind = WARD_PROVIDER_AUTO};
    if (p == NULL)
        p = &def;
    int absent = 0;
    ward_err err;
    switch (p->kind) {
    case WARD_PROVIDER_NONE:
        return WARD_OK;
    case WARD_PROVIDER_CONFIGFS:
        return configfs_collect(p, report_data, out, &absent);
    case WARD_PROVIDER_GRAMINE:
        return gramine_collect(p, report_data, out, &absent);
    case WARD_PROVIDER_AUTO:
        err = configfs_collect(p, report_data, out, &absent);
        if (!absent)
            return err;
        err = gramine_collect(p, report_data, out, &absent);
        if (!absent)
            return err;
        ward_err_clear();
        return WARD_OK; /* no TEE hardware interface: software TEE only */
    }
    return ward_err_set(WARD_ERR_INVALID_ARG, "hardware evidence: unknown provider kind %d",
                        (int)p->kind);
}
