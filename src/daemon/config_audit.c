/* The node's configuration in the audit log (issue 8: every configuration change is logged).
 *
 * wardd's configuration is what it was started with: its options and the files they name (the
 * appraisal policy, the alarm rules) plus the built-in TA images; nothing changes it while it
 * runs. So each start records the whole configuration (action node.start, details = the
 * configuration, files by SHA-256), and a start whose configuration differs from the previous
 * start's also records config.change with both digests: a reviewer finds every change by that
 * action alone. The previous digest is kept in DATA_DIR/config.sha256; if that file is lost,
 * the node.start records still carry every configuration. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/wardd.h"
#include "ward/crypto.h"
#include "ward/encoding.h"
#include "ward/json.h"
#include "ward/log.h"

#ifndef WARD_VERSION
#define WARD_VERSION "0"
#endif

#define CONFIG_DIGEST_FILE "config.sha256"
#define CONFIG_FILE_MAX (16u << 20)

/* "sha256:<hex>" of a file's contents, or "unreadable" (the start fails later in that case). */
static json_t *file_digest(const char *path)
{
    if (path == NULL)
        return json_null();
    FILE *f = fopen(path, "rb");
    ward_hash_ctx *h = NULL;
    json_t *out = NULL;
    if (f != NULL && ward_hash_new(WARD_HASH_SHA256, &h) == WARD_OK) {
        unsigned char buf[65536];
        size_t n, total = 0;
        int ok = 1;
        while (ok && (n = fread(buf, 1, sizeof buf, f)) > 0) {
            total += n;
            ok = total <= CONFIG_FILE_MAX && ward_hash_update(h, buf, n) == WARD_OK;
        }
        uint8_t d[WARD_SHA256_LEN];
        if (ok && !ferror(f) && ward_hash_final(h, d) == WARD_OK) {
            char hex[2 * WARD_SHA256_LEN + 1];
            for (size_t i = 0; i < sizeof d; i++)
                snprintf(hex + 2 * i, 3, "%02x", d[i]);
            out = json_pack("{s:s, s:s}", "path", path, "sha256", hex);
        }
    }
    ward_hash_free(h);
    if (f != NULL)
        fclose(f);
    return out != NULL ? out : json_pack("{s:s, s:s}", "path", path, "sha256", "unreadable");
}

static void append(wardd *d, const char *action, const char *details)
{
    ward_audit_record rec = {.actor = "node", .auth_method = "system", .action = action,
                             .object = "wardd", .outcome = WARD_AUDIT_SUCCESS,
                             .request_id = "", .details = details};
    if (ward_audit_append(d->audit, &rec, NULL) != WARD_OK)
        ward_log(WARD_LOG_ERROR, "audit.append", "error", ward_errmsg(), (char *)NULL);
}

/* The previous start's digest (hex) into prev, or "" if none is recorded. */
static void read_previous(const char *path, char prev[2 * WARD_SHA256_LEN + 1])
{
    prev[0] = 0;
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return;
    char line[2 * WARD_SHA256_LEN + 2];
    if (fgets(line, sizeof line, f) != NULL && strlen(line) >= 2 * WARD_SHA256_LEN) {
        memcpy(prev, line, 2 * WARD_SHA256_LEN);
        prev[2 * WARD_SHA256_LEN] = 0;
    }
    fclose(f);
}

static void write_current(const char *dir, const char *path, const char *hex)
{
    char tmp[4200];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s/.%s.tmp", dir, CONFIG_DIGEST_FILE) >= sizeof tmp)
        return;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return;
    char line[2 * WARD_SHA256_LEN + 2];
    int n = snprintf(line, sizeof line, "%s\n", hex);
    int ok = write(fd, line, (size_t)n) == n && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        ward_log(WARD_LOG_WARN, "wardd.config", "error", strerror(errno), (char *)NULL);
        (void)unlink(tmp);
    }
}

void wardd_audit_start_config(wardd *d, const wardd_start_config *c)
{
    if (d->audit == NULL)
        return;
    json_t *cfg = json_pack("{s:s, s:s, s:o, s:o, s:s, s:I, s:I, s:I}", "version", WARD_VERSION,
                            "listen", c->listen != NULL ? c->listen : "127.0.0.1:7443",
                            "policy", c->policy != NULL ? file_digest(c->policy)
                                                        : json_string("builtin"),
                            "alarm_config", file_digest(c->alarm_config), "builtin_dir",
                            c->builtin_dir != NULL ? c->builtin_dir : "",
                            "nonce_ttl_s", (json_int_t)c->nonce_ttl_s, "monitor_interval_s",
                            (json_int_t)c->monitor_interval_s, "max_result",
                            (json_int_t)c->max_result);
    char *jcs = NULL;
    size_t len = 0;
    if (cfg == NULL || ward_jcs_serialize(cfg, &jcs, &len) != WARD_OK) {
        json_decref(cfg);
        append(d, "node.start", NULL);
        return;
    }
    json_decref(cfg);
    uint8_t dg[WARD_SHA256_LEN];
    char hex[2 * WARD_SHA256_LEN + 1] = "";
    if (ward_hash(WARD_HASH_SHA256, jcs, len, dg) == WARD_OK)
        for (size_t i = 0; i < sizeof dg; i++)
            snprintf(hex + 2 * i, 3, "%02x", dg[i]);
    append(d, "node.start", jcs);
    free(jcs);
    char path[4200], prev[2 * WARD_SHA256_LEN + 1];
    if (hex[0] == 0 || (size_t)snprintf(path, sizeof path, "%s/%s", d->data_dir,
                                        CONFIG_DIGEST_FILE) >= sizeof path)
        return;
    read_previous(path, prev);
    if (strcmp(prev, hex) == 0)
        return;
    char details[256];
    snprintf(details, sizeof details, "{\"previous_sha256\":\"%s\",\"sha256\":\"%s\"}",
             prev[0] != 0 ? prev : "none", hex);
    append(d, "config.change", details);
    write_current(d->data_dir, path, hex);
}
