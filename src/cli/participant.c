/* Participant identities on disk, party cards, and the authenticated connection to a node. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "cli/participant.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "ward/encoding.h"
#include "ward/rot.h"

#define PEM_MAX ((size_t)1 << 20)

/* ---- files ----------------------------------------------------------------------------------- */

ward_err cli_read_file(const char *path, size_t max, char **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    int is_stdin = strcmp(path, "-") == 0;
    FILE *f = is_stdin ? stdin : fopen(path, "rb");
    if (f == NULL)
        return ward_err_set(errno == ENOENT ? WARD_ERR_NOT_FOUND : WARD_ERR_IO, "%s: %s", path,
                            strerror(errno));
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap + 1);
    ward_err err = buf == NULL ? ward_err_set(WARD_ERR_NOMEM, "out of memory") : WARD_OK;
    while (err == WARD_OK) {
        if (n == cap) {
            if (cap > max) {
                err = ward_err_set(WARD_ERR_LIMIT, "%s: larger than %zu bytes", path, max);
                break;
            }
            size_t nc = cap * 2;
            char *nb = realloc(buf, nc + 1);
            if (nb == NULL) {
                err = ward_err_set(WARD_ERR_NOMEM, "out of memory");
                break;
            }
            buf = nb;
            cap = nc;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            if (ferror(f))
                err = ward_err_set(WARD_ERR_IO, "%s: read error", path);
            break;
        }
    }
    if (!is_stdin)
        fclose(f);
    if (err == WARD_OK && n > max)
        err = ward_err_set(WARD_ERR_LIMIT, "%s: larger than %zu bytes", path, max);
    if (err != WARD_OK) {
        if (buf != NULL)
            ward_wipe(buf, n);
        free(buf);
        return err;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return WARD_OK;
}

ward_err cli_write_file(const char *path, const void *data, size_t len, unsigned mode)
{
    char tmp[4200];
    int k = snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    if (k < 0 || (size_t)k >= sizeof tmp)
        return ward_err_set(WARD_ERR_OVERFLOW, "%s: path too long", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, (mode_t)mode);
    if (fd < 0)
        return ward_err_set(WARD_ERR_IO, "%s: %s", tmp, strerror(errno));
    const uint8_t *p = data;
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, p + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    int bad = off != len || fsync(fd) != 0;
    if (close(fd) != 0)
        bad = 1;
    if (bad || rename(tmp, path) != 0) {
        ward_err e = ward_err_set(WARD_ERR_IO, "%s: %s", path, strerror(errno));
        unlink(tmp);
        return e;
    }
    return WARD_OK;
}

/* ---- identities ------------------------------------------------------------------------------ */

ward_err cli_id_dir(const char *name, char **out)
{
    *out = NULL;
    if (name == NULL || name[0] == '\0')
        return ward_err_set(WARD_ERR_INVALID_ARG, "no identity given (--id NAME)");
    if (strchr(name, '/') != NULL) {
        *out = strdup(name);
        return *out != NULL ? WARD_OK : ward_err_set(WARD_ERR_NOMEM, "out of memory");
    }
    for (const char *p = name; *p != '\0'; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_' || *p == '.') ||
            name[0] == '.' || p - name >= 64)
            return ward_err_set(WARD_ERR_INVALID_ARG,
                                "identity name '%s': use 1..64 of [A-Za-z0-9._-], not starting "
                                "with '.'",
                                name);
    const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
    char buf[4096];
    int n;
    if (xdg != NULL && xdg[0] == '/')
        n = snprintf(buf, sizeof buf, "%s/ward/id/%s", xdg, name);
    else if (home != NULL && home[0] == '/')
        n = snprintf(buf, sizeof buf, "%s/.config/ward/id/%s", home, name);
    else
        return ward_err_set(WARD_ERR_NOT_FOUND, "neither XDG_CONFIG_HOME nor HOME is set: "
                                                "give the identity as a directory");
    if (n < 0 || (size_t)n >= sizeof buf)
        return ward_err_set(WARD_ERR_OVERFLOW, "identity path too long");
    *out = strdup(buf);
    return *out != NULL ? WARD_OK : ward_err_set(WARD_ERR_NOMEM, "out of memory");
}

/* A secret file must be ours and unreadable by others. */
static ward_err check_secret_file(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return ward_err_set(errno == ENOENT ? WARD_ERR_NOT_FOUND : WARD_ERR_IO, "%s: %s", path,
                            strerror(errno));
    if (st.st_uid != geteuid())
        return ward_err_set(WARD_ERR_PERMISSION, "%s belongs to another user: refusing it", path);
    if ((st.st_mode & 077) != 0)
        return ward_err_set(WARD_ERR_PERMISSION,
                            "%s has mode %03o: others may read it; refusing it (chmod 600)", path,
                            (unsigned)(st.st_mode & 0777));
    return WARD_OK;
}

static ward_err read_in(const char *dir, const char *file, int secret, char **out, size_t *len)
{
    char path[4200];
    int n = snprintf(path, sizeof path, "%s/%s", dir, file);
    if (n < 0 || (size_t)n >= sizeof path)
        return ward_err_set(WARD_ERR_OVERFLOW, "path too long");
    if (secret) {
        ward_err err = check_secret_file(path);
        if (err != WARD_OK)
            return err;
    }
    return cli_read_file(path, PEM_MAX, out, len);
}

static ward_err x25519_from_text(const char *text, size_t len, uint8_t out[WARD_X25519_LEN])
{
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
        len--;
    return ward_hex_decode_fixed(text, len, out, WARD_X25519_LEN);
}

/* Fills the derived names of id from id->cert. */
static ward_err id_from_cert(cli_id *id)
{
    ward_pkey *pub = NULL;
    uint8_t *der = NULL;
    size_t dl = 0;
    char *u = NULL;
    ward_err err = ward_cert_public_key(id->cert, &pub);
    if (err == WARD_OK)
        err = ward_pkey_spki_der(pub, &der, &dl);
    if (err == WARD_OK)
        err = ward_hash(WARD_HASH_SHA256, der, dl, id->hash);
    if (err == WARD_OK)
        err = ward_base64_encode(der, dl, &id->spki_b64, NULL);
    if (err == WARD_OK)
        err = ward_base64url_encode(id->hash, sizeof id->hash, &u, NULL);
    if (err == WARD_OK)
        snprintf(id->ident, sizeof id->ident, "%s", u);
    free(u);
    free(der);
    ward_pkey_free(pub);
    return err;
}

ward_err cli_id_load(const char *name, int private, cli_id *out)
{
    memset(out, 0, sizeof *out);
    char *dir = NULL, *text = NULL;
    size_t len = 0;
    ward_err err = cli_id_dir(name, &dir);
    if (err != WARD_OK)
        return err;
    snprintf(out->dir, sizeof out->dir, "%s", dir);
    const char *base = strrchr(dir, '/');
    snprintf(out->name, sizeof out->name, "%s", base != NULL && base[1] != '\0' ? base + 1 : dir);
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        err = ward_err_set(WARD_ERR_NOT_FOUND, "no identity '%s' (%s); make one with `ward id "
                                               "new %s`",
                           name, dir, name);
        goto out;
    }
    err = read_in(dir, ID_CERT_FILE, 0, &text, &len);
    if (err == WARD_OK)
        err = ward_cert_from_pem(text, len, &out->cert);
    free(text);
    text = NULL;
    if (err == WARD_OK)
        err = id_from_cert(out);
    if (err == WARD_OK && (err = read_in(dir, ID_XPK_FILE, 0, &text, &len)) == WARD_OK)
        err = x25519_from_text(text, len, out->x_pk);
    free(text);
    text = NULL;
    if (err == WARD_OK)
        out->has_x25519 = 1;
    if (err == WARD_OK && private) {
        err = read_in(dir, ID_KEY_FILE, 1, &text, &len);
        if (err == WARD_OK)
            err = ward_pkey_from_pem(text, len, &out->key);
        if (text != NULL)
            ward_wipe(text, len);
        free(text);
        text = NULL;
        uint8_t h[WARD_SHA256_LEN];
        if (err == WARD_OK && (err = ward_pkey_spki_sha256(out->key, h)) == WARD_OK &&
            memcmp(h, out->hash, sizeof h) != 0)
            err = ward_err_set(WARD_ERR_FORMAT, "%s: the key does not match the certificate",
                               dir);
        if (err == WARD_OK && (err = read_in(dir, ID_XSK_FILE, 1, &text, &len)) == WARD_OK) {
            uint8_t pk[WARD_X25519_LEN];
            err = x25519_from_text(text, len, out->x_sk);
            if (err == WARD_OK && (err = ward_x25519_public(out->x_sk, pk)) == WARD_OK &&
                memcmp(pk, out->x_pk, sizeof pk) != 0)
                err = ward_err_set(WARD_ERR_FORMAT, "%s: the X25519 key pair does not match",
                                   dir);
        }
        if (text != NULL)
            ward_wipe(text, len);
        free(text);
        text = NULL;
    }
out:
    if (err != WARD_OK) {
        err = ward_err_wrap(err, "identity %s", name);
        cli_id_free(out);
    }
    free(dir);
    return err;
}

void cli_id_free(cli_id *id)
{
    if (id == NULL)
        return;
    ward_pkey_free(id->key);
    ward_cert_free(id->cert);
    free(id->spki_b64);
    ward_wipe(id->x_sk, sizeof id->x_sk);
    memset(id, 0, sizeof *id);
}

ward_err cli_id_card(const cli_id *id, char **out)
{
    *out = NULL;
    char *pem = NULL;
    char x[2 * WARD_X25519_LEN + 1];
    tc_hex(id->x_pk, sizeof id->x_pk, x, sizeof x);
    ward_err err = ward_cert_to_pem(id->cert, &pem, NULL);
    if (err != WARD_OK)
        return err;
    json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s}", "name", id->name, "identity", id->ident,
                          "key", id->spki_b64, "x25519", id->has_x25519 ? x : "", "cert", pem);
    free(pem);
    *out = j != NULL ? json_dumps(j, JSON_INDENT(2)) : NULL;
    json_decref(j);
    return *out != NULL ? WARD_OK : ward_err_set(WARD_ERR_NOMEM, "out of memory");
}

ward_err cli_party_resolve(const char *arg, cli_id *out)
{
    memset(out, 0, sizeof *out);
    struct stat st;
    if (stat(arg, &st) != 0 || !S_ISREG(st.st_mode))
        return cli_id_load(arg, 0, out);
    char *text = NULL;
    size_t len = 0;
    ward_err err = cli_read_file(arg, PEM_MAX, &text, &len);
    if (err != WARD_OK)
        return err;
    const char *base = strrchr(arg, '/');
    snprintf(out->name, sizeof out->name, "%s", base != NULL ? base + 1 : arg);
    json_error_t je;
    json_t *j = len > 0 && text[0] == '{' ? json_loadb(text, len, JSON_REJECT_DUPLICATES, &je)
                                          : NULL;
    if (j != NULL) { /* a party card */
        const char *pem = json_string_value(json_object_get(j, "cert"));
        const char *x = json_string_value(json_object_get(j, "x25519"));
        const char *nm = json_string_value(json_object_get(j, "name"));
        if (pem == NULL)
            err = ward_err_set(WARD_ERR_FORMAT, "%s: a party card needs \"cert\"", arg);
        else
            err = ward_cert_from_pem(pem, strlen(pem), &out->cert);
        if (err == WARD_OK && x != NULL && x[0] != '\0') {
            err = x25519_from_text(x, strlen(x), out->x_pk);
            out->has_x25519 = err == WARD_OK;
        }
        if (nm != NULL)
            snprintf(out->name, sizeof out->name, "%s", nm);
        json_decref(j);
    } else {
        err = ward_cert_from_pem(text, len, &out->cert);
    }
    free(text);
    if (err == WARD_OK)
        err = id_from_cert(out);
    if (err != WARD_OK) {
        err = ward_err_wrap(err, "party %s", arg);
        cli_id_free(out);
    }
    return err;
}

/* ---- the node -------------------------------------------------------------------------------- */

ward_err node_default_data_dir(char **out)
{
    return ward_rot_default_dir(out);
}

static int parse_hostport(const char *s, char *host, size_t cap, int *port)
{
    const char *colon;
    size_t hl;
    if (s[0] == '[') {
        const char *end = strchr(s, ']');
        if (end == NULL || end[1] != ':')
            return 0;
        hl = (size_t)(end - s - 1);
        if (hl == 0 || hl >= cap)
            return 0;
        memcpy(host, s + 1, hl);
        colon = end + 1;
    } else {
        colon = strrchr(s, ':');
        if (colon == NULL)
            return 0;
        hl = (size_t)(colon - s);
        if (hl == 0 || hl >= cap)
            return 0;
        memcpy(host, s, hl);
    }
    host[hl] = '\0';
    char *end = NULL;
    errno = 0;
    long p = strtol(colon + 1, &end, 10);
    if (errno != 0 || end == colon + 1 || *end != '\0' || p <= 0 || p > 65535)
        return 0;
    *port = (int)p;
    return 1;
}

static ward_err load_node_file(const char *path, node_conn *n)
{
    char *text = NULL;
    size_t len = 0;
    ward_err err = cli_read_file(path, 65536, &text, &len);
    if (err != WARD_OK)
        return err;
    json_error_t je;
    json_t *j = json_loadb(text, len, 0, &je);
    free(text);
    const char *addr = json_string_value(json_object_get(j, "address"));
    const char *spki = json_string_value(json_object_get(j, "tls_spki_sha256"));
    if (addr == NULL || spki == NULL || !parse_hostport(addr, n->host, sizeof n->host, &n->port) ||
        ward_hex_decode_fixed(spki, strlen(spki), n->pin, sizeof n->pin) != WARD_OK)
        err = ward_err_set(WARD_ERR_FORMAT, "%s: not a node file (wardd's port file, written "
                                            "by `ward node start`)",
                           path);
    else
        n->have_pin = 1;
    json_decref(j);
    /* wardd listening on every address names the wildcard: reach it on loopback */
    if (err == WARD_OK && strcmp(n->host, "0.0.0.0") == 0)
        snprintf(n->host, sizeof n->host, "127.0.0.1");
    if (err == WARD_OK && strcmp(n->host, "::") == 0)
        snprintf(n->host, sizeof n->host, "::1");
    return err;
}

static ward_err add_cert_anchor(node_conn *n, size_t *np, size_t *nc, ward_cert *c)
{
    if (ward_cert_is_ca(c)) {
        ward_cert **nb = realloc(n->cas, (*nc + 1) * sizeof *nb);
        if (nb == NULL)
            return ward_err_set(WARD_ERR_NOMEM, "out of memory");
        n->cas = nb;
        n->cas[(*nc)++] = ward_cert_ref(c);
        return WARD_OK;
    }
    uint8_t(*nb)[WARD_SHA256_LEN] = realloc(n->pinned, (*np + 1) * sizeof *nb);
    if (nb == NULL)
        return ward_err_set(WARD_ERR_NOMEM, "out of memory");
    n->pinned = nb;
    return ward_cert_fingerprint(c, n->pinned[(*np)++]);
}

static ward_err load_trust(const node_opts *o, node_conn *n)
{
    size_t np = 0, nc = 0;
    ward_err err = WARD_OK;
    char *text = NULL;
    size_t len = 0;
    /* The policy, with --accept-warning written into it (a choice the participant makes). */
    if (o->policy != NULL || o->accept_warning) {
        json_t *j = NULL;
        if (o->policy != NULL) {
            err = cli_read_file(o->policy, WARD_POLICY_MAX_LEN, &text, &len);
            json_error_t je;
            if (err == WARD_OK && (j = json_loadb(text, len, 0, &je)) == NULL)
                err = ward_err_set(WARD_ERR_FORMAT, "--policy %s: %s (line %d)", o->policy,
                                   je.text, je.line);
            free(text);
            text = NULL;
        } else {
            j = json_pack("{s:i, s:s}", "version", 1, "id", "policy://ward/cli-accept-warning");
        }
        if (err == WARD_OK && o->accept_warning)
            json_object_set_new(j, "accept_warning", json_true());
        char *pt = err == WARD_OK && j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
        if (err == WARD_OK && pt == NULL)
            err = ward_err_set(WARD_ERR_NOMEM, "out of memory");
        if (err == WARD_OK)
            err = ward_policy_parse(pt, strlen(pt), &n->policy);
        if (err != WARD_OK && o->policy != NULL)
            err = ward_err_wrap(err, "--policy %s", o->policy);
        free(pt);
        json_decref(j);
    }
    for (size_t i = 0; err == WARD_OK && n->policy != NULL &&
                       i < ward_policy_sw_pinned_count(n->policy);
         i++) {
        uint8_t(*nb)[WARD_SHA256_LEN] = realloc(n->pinned, (np + 1) * sizeof *nb);
        if (nb == NULL)
            err = ward_err_set(WARD_ERR_NOMEM, "out of memory");
        else
            memcpy((n->pinned = nb)[np++], ward_policy_sw_pinned(n->policy, i), WARD_SHA256_LEN);
    }
    for (size_t i = 0; err == WARD_OK && n->policy != NULL &&
                       i < ward_policy_sw_ca_count(n->policy);
         i++) {
        size_t pl = 0;
        const char *pem = ward_policy_sw_ca_pem(n->policy, i, &pl);
        ward_cert *c = NULL;
        err = ward_cert_from_pem(pem, pl, &c);
        if (err == WARD_OK)
            err = add_cert_anchor(n, &np, &nc, c);
        ward_cert_free(c);
    }
    for (size_t i = 0; err == WARD_OK && i < o->n_trust; i++) {
        ward_cert **certs = NULL;
        size_t k = 0;
        err = cli_read_file(o->trust[i], PEM_MAX, &text, &len);
        if (err == WARD_OK)
            err = ward_cert_list_from_pem(text, len, &certs, &k);
        for (size_t c = 0; err == WARD_OK && c < k; c++)
            err = add_cert_anchor(n, &np, &nc, certs[c]);
        ward_cert_list_free(certs, k);
        free(text);
        text = NULL;
        if (err != WARD_OK)
            err = ward_err_wrap(err, "--trust-cert %s", o->trust[i]);
    }
    n->trust.anchors.pinned = (const uint8_t(*)[WARD_SHA256_LEN])n->pinned;
    n->trust.anchors.n_pinned = np;
    n->trust.anchors.cas = n->cas;
    n->trust.anchors.n_cas = nc;
    n->trust.policy = n->policy;
    n->channel.policy = n->policy;
    n->channel.trust = &n->trust.anchors;
    return err;
}

int node_has_anchors(const node_conn *n)
{
    return n->trust.anchors.n_pinned + n->trust.anchors.n_cas > 0;
}

int node_connect(const node_opts *o, const cli_id *id, node_conn *out)
{
    memset(out, 0, sizeof *out);
    const char *node = o->node != NULL ? o->node : getenv("WARD_NODE");
    char *dd = NULL;
    ward_err err = WARD_OK;
    struct stat st;
    if (node == NULL) {
        if (o->data_dir == NULL && (err = node_default_data_dir(&dd)) != WARD_OK)
            return tc_fail("no node given (--node)");
        snprintf(out->node_file, sizeof out->node_file, "%s/node.json",
                 o->data_dir != NULL ? o->data_dir : dd);
        free(dd);
        err = load_node_file(out->node_file, out);
        if (err == WARD_ERR_NOT_FOUND)
            err = ward_err_set(err, "no node file %s: is the node started (`ward node start`)? "
                                    "or name it with --node FILE|HOST:PORT",
                               out->node_file);
    } else if (stat(node, &st) == 0) {
        snprintf(out->node_file, sizeof out->node_file, "%s", node);
        err = load_node_file(node, out);
    } else if (!parse_hostport(node, out->host, sizeof out->host, &out->port)) {
        err = ward_err_set(WARD_ERR_INVALID_ARG, "--node %s: neither a node file nor HOST:PORT",
                           node);
    }
    if (err == WARD_OK && o->pin != NULL) {
        if (ward_hex_decode_fixed(o->pin, strlen(o->pin), out->pin, sizeof out->pin) != WARD_OK)
            err = ward_err_set(WARD_ERR_INVALID_ARG, "--pin: 64 hex digits (the node's "
                                                     "tls_spki_sha256)");
        out->have_pin = 1;
    }
    if (err == WARD_OK)
        err = load_trust(o, out);
    if (err == WARD_OK && !out->have_pin && !node_has_anchors(out))
        err = ward_err_set(WARD_ERR_INVALID_ARG,
                           "cannot authenticate the node %s:%d: give its TLS key pin (a node "
                           "file from `ward node start`, or --pin) or a trust anchor for its "
                           "platform key (--trust-cert) to verify its attested TLS certificate",
                           out->host, out->port);
    if (err == WARD_OK)
        err = cli_client_new(out->host, out->port, out->have_pin ? out->pin : NULL,
                             id != NULL ? id->key : NULL, id != NULL ? id->cert : NULL,
                             node_has_anchors(out) ? &out->channel : NULL, &out->cl);
    if (err != WARD_OK) {
        tc_fail("node");
        node_conn_free(out);
        return -1;
    }
    return 0;
}

void node_conn_free(node_conn *n)
{
    if (n == NULL)
        return;
    cli_client_free(n->cl);
    ward_policy_free(n->policy);
    free(n->pinned);
    for (size_t i = 0; i < n->trust.anchors.n_cas; i++)
        ward_cert_free(n->cas[i]);
    free(n->cas);
    memset(n, 0, sizeof *n);
}
