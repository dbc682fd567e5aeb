/* Starting and stopping the real wardd for end-to-end tests: a temporary data dir, an ephemeral
 * loopback port read from --port-file, and the server key's pin for libcurl. */
#ifndef WARD_TESTS_WARDD_HARNESS_H
#define WARD_TESTS_WARDD_HARNESS_H

#include <curl/curl.h>
#include <jansson.h>
#include <stddef.h>
#include <sys/types.h>

#include "ward/crypto.h"
#include "ward/identity.h"
#include "ward/x509.h"

typedef struct tu_wardd {
    char *tmp;        /* temporary directory, removed by tu_wardd_stop */
    char data[4096];  /* the node data dir inside it */
    char pin[128];    /* "sha256//BASE64" of the TLS key, for CURLOPT_PINNEDPUBLICKEY */
    int port;
    pid_t pid;        /* -1 when not running */
} tu_wardd;

/* Starts $WARD_BUILD_DIR/wardd and waits (up to 60 s) for its port file. 0 on success. */
int tu_wardd_start(tu_wardd *d);
/* SIGKILL and reap, if running. */
void tu_wardd_kill(tu_wardd *d);
/* Kill, then remove the temporary directory. */
void tu_wardd_stop(tu_wardd *d);
/* SIGTERM, then waits for the exit (calling tick(arg), if not NULL, between looks) and asserts
 * it was a clean one (status 0: a sanitizer build makes a leak or a use after free non-zero). */
void tu_wardd_term(tu_wardd *d, void (*tick)(void *), void *arg);
void tu_sleep_ms(long ms);

/* The node's identity database, opened as wardd opens it (key from its root of trust). Fails
 * the test on error. */
ward_identity *tu_wardd_identity_open(const tu_wardd *d);

/* Enrols a participant in the node's identity database (DATA_DIR/identity.db, opened with the
 * secrets key from the node's root of trust, as wardd and `ward user` do): the user `name`
 * (created without a password if absent) gets `role`, and the key of the certificate in
 * cert_pem_path is mapped to it. Call it after tu_wardd_start (wardd makes the platform key
 * on its first start). Fails the test on error. */
void tu_wardd_enroll(const tu_wardd *d, const char *name, const char *cert_pem_path,
                     const char *role);

/* One HTTPS request to the daemon. */
typedef struct tu_resp {
    long status;
    char *body; /* NUL-terminated; free it */
    size_t len;
} tu_resp;

/* method path [body]: TLS 1.3 to 127.0.0.1:d->port with the server key pinned (the tests check
 * its attested certificate elsewhere: sh_wardd_attested_tls.sh). cert_path/key_path: a client
 * certificate (participant identity), or NULL. Fails the test if the transfer fails. */
tu_resp tu_wardd_request(const tu_wardd *d, const char *cert_path, const char *key_path,
                         const char *method, const char *path, const char *body, size_t len);
/* The easy handle of such a request, not yet performed and with no timeout: the body goes to r
 * (initialised here), *hdr is the header list to free after it. For a caller that drives the
 * transfer itself (a curl multi handle) or wants more options. */
CURL *tu_wardd_curl(const tu_wardd *d, const char *cert_path, const char *key_path,
                   const char *method, const char *path, const char *body, size_t len,
                   tu_resp *r, struct curl_slist **hdr);
/* The body as JSON; fails the test if it is not. New reference. */
json_t *tu_resp_json(const tu_resp *r);
/* Asserts an error reply: status and {"error": code, "message": non-empty}; frees the body. */
void tu_expect_error(tu_resp *r, long status, const char *code);

/* A task participant: a P-256 key and its self-signed client certificate (the identity wardd's
 * mutual TLS accepts), both as PEM files in the daemon's temporary directory. */
typedef struct tu_party {
    ward_pkey *key;
    unsigned char hash[32]; /* SHA-256 of the SPKI: the identity manifests and wardd use */
    char *spki_b64;         /* base64 of the DER SPKI, as a manifest names the key */
    char cert_path[4200], key_path[4200];
} tu_party;

/* Makes the key and files of name; enrols it with role unless role is NULL (tu_wardd_enroll).
 * Fails the test on any error. */
void tu_party_make(const tu_wardd *d, tu_party *p, const char *name, const char *role);
/* The same without enrolment, the certificate issued by issuer (signed with issuer_key) or,
 * issuer NULL, self-signed; the certificate itself is returned in *cert_out unless that is
 * NULL (the caller frees it). */
void tu_party_make_issued(const tu_wardd *d, tu_party *p, const char *name,
                          const ward_cert *issuer, const ward_pkey *issuer_key,
                          ward_cert **cert_out);
void tu_party_free(tu_party *p);
/* tu_wardd_request as who (NULL: no client certificate). */
tu_resp tu_party_request(const tu_wardd *d, const tu_party *who, const char *method,
                         const char *path, const char *body, size_t len);

#endif
