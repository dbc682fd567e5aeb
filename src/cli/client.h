/* Internal to the `ward` command: a small HTTPS client for wardd (docs/api.md) and the data
 * generator of `ward demo`.
 *
 * The client speaks TLS 1.3 with libcurl. Its SSL_CTX (CURLOPT_SSL_CTX_FUNCTION) gets the
 * participant's identity (its P-256 key and self-signed certificate: mutual TLS) and, when a
 * verifier configuration is given, Ward's attested-TLS verifier (ward_channel_ssl_ctx_install):
 * the server's certificate must carry evidence that verifies against the given trust anchors
 * and binds the certificate's key. The server key may also be pinned by its SPKI hash (the
 * `tls_spki_sha256` of wardd's port file). One connection is kept alive per client.
 *
 * When the attested-TLS verifier refuses the server, the handshake fails with libcurl's generic
 * "peer certificate was not OK"; the client keeps the verifier's own reason (the policy's
 * verdict, e.g. "policy://ward/default: warning" for a software TEE under a policy that does
 * not accept warnings) and reports it instead. */
#ifndef WARD_CLI_CLIENT_H
#define WARD_CLI_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "ward/channel.h"
#include "ward/crypto.h"
#include "ward/err.h"
#include "ward/x509.h"

typedef struct cli_client cli_client;

typedef struct cli_resp {
    long status;
    char *body; /* NUL-terminated (len excludes it) */
    size_t len;
} cli_resp;

/* host, port: wardd's address (host: an IPv4 or IPv6 address or a name; NULL: 127.0.0.1).
 * spki_sha256: the server key's SPKI hash to pin (NULL: no pin). key, cert: the participant
 * (NULL, NULL: anonymous; both borrowed, must outlive the client). verify: attested-TLS
 * verification of the server (NULL: none; borrowed, must outlive the client). At least one of
 * pin and verify is required. */
ward_err cli_client_new(const char *host, int port, const uint8_t *spki_sha256,
                        const ward_pkey *key, const ward_cert *cert,
                        const ward_channel_verify_cfg *verify, cli_client **out);
void cli_client_free(cli_client *c);

/* Progress of the transfers that follow: fn(arg, done, total) with the bytes sent (uploads) or
 * received (downloads) of the current request; total 0 when unknown. NULL turns it off. */
typedef void (*cli_progress_fn)(void *arg, uint64_t done, uint64_t total);
void cli_client_set_progress(cli_client *c, cli_progress_fn fn, void *arg);

/* The server's certificate on the connection of the last successful request (caller frees). */
ward_err cli_client_peer_cert(cli_client *c, ward_cert **out);
/* The attested-TLS verdict of the last handshake (NULL without a verifier or connection). */
const ward_channel_result *cli_client_channel_result(cli_client *c);

/* One request; body may be NULL (len 0). On WARD_OK, *out holds the status and the body
 * (free with cli_resp_free). Responses larger than 64 MiB are refused. */
ward_err cli_client_request(cli_client *c, const char *method, const char *path,
                            const void *body, size_t len, cli_resp *out);
void cli_resp_free(cli_resp *r);

/* ---- `ward demo`'s data (demo_data.c) ------------------------------------------------------ */

typedef struct demo_buf {
    char *p;
    size_t len, cap;
} demo_buf;

typedef struct demo_data {
    demo_buf patients;   /* hospital A: patient_id,age,region,diagnosis */
    demo_buf treatments; /* hospital B: patient_id,treatment,cost_cents */
    demo_buf ids_a;      /* patient_id: A's patients */
    demo_buf ids_b;      /* patient_id: the distinct patients of B's treatments */
    size_t n_ids_b;
    size_t n_common;     /* patients in both (what the psi task should find) */
} demo_data;

#define DEMO_ROWS_MIN 100u
#define DEMO_ROWS_MAX 1000000u /* the benchmark's size: both tables fit the TA's 256 MiB heap */

/* Generates rows patients and rows treatments from seed (the same seed, the same bytes). */
ward_err demo_data_generate(size_t rows, uint64_t seed, demo_data *out);
void demo_data_free(demo_data *d);

#endif
