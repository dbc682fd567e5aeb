/* Internal to `ward`: a participant's identity on disk (`ward id`), the public "party card"
 * other parties write into a manifest, and the connection to a node with the participant's
 * own way of authenticating it (`ward node`, `ward task`). docs/cli.md. */
#ifndef WARD_CLI_PARTICIPANT_H
#define WARD_CLI_PARTICIPANT_H

#include <stddef.h>
#include <stdint.h>

#include "cli/client.h"
#include "cli/task_client.h"
#include "ward/crypto.h"
#include "ward/policy.h"
#include "ward/x509.h"

/* ---- identities: DIR/key.pem (0600), cert.pem, x25519.key (0600), x25519.pub ----------- */

#define ID_KEY_FILE "key.pem"
#define ID_CERT_FILE "cert.pem"
#define ID_XSK_FILE "x25519.key"
#define ID_XPK_FILE "x25519.pub"

typedef struct cli_id {
    char name[128];
    char dir[4096];
    ward_pkey *key;  /* NULL when only the public parts were loaded */
    ward_cert *cert;
    char *spki_b64;  /* base64 DER SPKI: how a manifest names the key */
    uint8_t hash[WARD_SHA256_LEN]; /* SHA-256(SPKI): the identity */
    char ident[48];  /* base64url of hash: how wardd names the identity */
    int has_x25519;
    uint8_t x_pk[WARD_X25519_LEN];
    uint8_t x_sk[WARD_X25519_LEN]; /* only with the private parts */
} cli_id;

/* The directory of identity NAME: $XDG_CONFIG_HOME/ward/id/NAME (else ~/.config/...); a NAME
 * with a '/' is a directory itself. malloc'd. */
ward_err cli_id_dir(const char *name, char **out);
/* Loads an identity; with private nonzero its private key and X25519 secret too, refusing
 * files that others may read or that are not ours. */
ward_err cli_id_load(const char *name, int private, cli_id *out);
void cli_id_free(cli_id *id);

/* A party named on the command line: a local identity NAME, a party card (the JSON `ward id
 * show --json` prints), or a certificate PEM (no X25519 key: not usable as a recipient). */
ward_err cli_party_resolve(const char *arg, cli_id *out);
/* The party card JSON of id (malloc'd): {"name","identity","key","x25519","cert"}. */
ward_err cli_id_card(const cli_id *id, char **out);

/* ---- the node and how this participant authenticates it -------------------------------- */

typedef struct node_opts {
    const char *node;      /* node file (wardd's port file) or HOST:PORT */
    const char *data_dir;  /* for the default node file DATA_DIR/node.json */
    const char *pin;       /* hex SHA-256 of the node's TLS SPKI */
    const char *policy;    /* appraisal policy file */
    const char *trust[8];  /* platform certificates (pinned) or enrolment CAs */
    size_t n_trust;
    int accept_warning;
} node_opts;

typedef struct node_conn {
    char host[256];
    int port;
    int have_pin;
    uint8_t pin[WARD_SHA256_LEN];
    char node_file[4096]; /* "" when given as HOST:PORT */
    ward_policy *policy;  /* the participant's, with accept_warning applied */
    uint8_t (*pinned)[WARD_SHA256_LEN];
    ward_cert **cas;
    tc_trust trust;       /* anchors + policy, for the task evidence */
    ward_channel_verify_cfg channel;
    cli_client *cl;
} node_conn;

/* Resolves the node, loads the trust configuration and connects as id (NULL: anonymously).
 * The node must be authenticated: pinned (node file or --pin) and/or verified by attested TLS
 * (a trust anchor). Prints why not and returns -1. */
int node_connect(const node_opts *o, const cli_id *id, node_conn *out);
/* 1 if the participant gave anchors for the node's platform key (needed for task evidence). */
int node_has_anchors(const node_conn *n);
void node_conn_free(node_conn *n);
/* The default data directory ($XDG_DATA_HOME/ward, else ~/.local/share/ward), malloc'd. */
ward_err node_default_data_dir(char **out);

/* ---- files ------------------------------------------------------------------------------- */

/* Reads a whole file ("-": stdin) of at most max bytes; NUL-terminated. */
ward_err cli_read_file(const char *path, size_t max, char **out, size_t *len);
/* Writes a file atomically (temp + rename) with mode. */
ward_err cli_write_file(const char *path, const void *data, size_t len, unsigned mode);

#endif
