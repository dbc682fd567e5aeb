/* Attested TLS 1.3 (DESIGN 2 and 6; IEEE 2952 5.2.2.2, 7.2.1; docs/channel.md).
 *
 * A TEE side (the node, or a TA) holds a fresh ECDSA P-256 key pair and a self-signed X.509
 * certificate carrying attestation evidence whose report_data binds the certificate's key:
 *
 *   report_data = SHA-256(DER SubjectPublicKeyInfo of the certificate key) || 32 zero bytes
 *
 * in the TCG DICE tagged-evidence extension (OID 2.23.133.5.4.9, non-critical). Its extnValue
 * is CBOR: tag(T) [ bstr evidence, bstr claims ], claims = a serialized CBOR map
 * {"pubkey-hash": serialized [1, SHA-256(SPKI)]} (the CCC "Interoperable RA-TLS" layout).
 * T = WARD_CHANNEL_TAG_WARD for Ward's evidence bundle (JSON, evidence.h; it carries any
 * hardware quote inside, under "hw"); T = 60000 (IANA: Intel SGX/TDX ECDSA quote), where the
 * interoperable rule applies instead: REPORTDATA = SHA-256(claims) || 32 zero bytes.
 *
 * A peer verifies that evidence during the TLS handshake (an OpenSSL certificate verification
 * callback): evidence verified (ward_evidence_verify, or dcap.h for a quote), bound to this
 * very key, appraised (ward_policy_appraise) and accepted by the policy; otherwise the
 * handshake fails and the reason is readable (ward_channel_ssl_result, ward_errmsg).
 * TLS 1.3 only. One-way (the client verifies the server) or mutual. Optional freshness: the
 * client's first message is a nonce and the server answers with fresh evidence over
 * SHA-256(nonce || TLS exporter("EXPORTER-ward-attestation", "", 32) || SHA-256(server SPKI)).
 *
 * Thread safety: an identity and an SSL_CTX made here may be shared by threads (as OpenSSL
 * allows); one ward_channel is used by one thread at a time. */
#ifndef WARD_CHANNEL_H
#define WARD_CHANNEL_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "ward/claims.h"
#include "ward/err.h"
#include "ward/evidence.h"
#include "ward/policy.h"
#include "ward/rot.h"
#include "ward/x509.h"

#ifdef __cplusplus
extern "C" {
#endif

#define WARD_CHANNEL_EVIDENCE_OID "2.23.133.5.4.9"
/* CBOR tags of the extension (docs/channel.md). */
#define WARD_CHANNEL_TAG_INTEL_QUOTE UINT64_C(60000)  /* IANA: SGX/TDX ECDSA quote */
#define WARD_CHANNEL_TAG_INTEL_REPORT UINT64_C(60001) /* IANA: TDX report / SGX report type 2 */
#define WARD_CHANNEL_TAG_SGX_LEGACY UINT64_C(60002)   /* IANA: legacy SGX EREPORT */
#define WARD_CHANNEL_TAG_RATS_SNP UINT64_C(0x1a7504)  /* rats-tls, unregistered */
#define WARD_CHANNEL_TAG_RATS_SEV UINT64_C(0x1a7505)
#define WARD_CHANNEL_TAG_RATS_CSV UINT64_C(0x1a7506)
/* Ward's evidence bundle: "WARD" in ASCII. Unregistered (no registered tag exists for a JSON
 * bundle); in the first-come-first-served range of the IANA CBOR tag registry. */
#define WARD_CHANNEL_TAG_WARD UINT64_C(0x57415244)

/* Legacy raw-quote OIDs met in real certificates (recognised, reported, not trusted). */
#define WARD_CHANNEL_OID_GRAMINE_LEGACY "0.6.9.42.840.113741.1337.6"
#define WARD_CHANNEL_OID_SGXSDK_LEGACY "1.2.840.113741.1.13.1"

#define WARD_CHANNEL_EXPORTER_LABEL "EXPORTER-ward-attestation"
#define WARD_CHANNEL_FRESH_NONCE_LEN 32
#define WARD_CHANNEL_MAX_EXT ((size_t)4 << 20) /* largest extension value parsed */

/* ---- the extension's CBOR ------------------------------------------------------------------ */

/* A parsed tagged-evidence value. Pointers point into the caller's buffer. */
typedef struct ward_channel_tagged {
    uint64_t tag;
    const uint8_t *evidence;
    size_t evidence_len;
    const uint8_t *claims; /* the serialized claims map, exactly as carried */
    size_t claims_len;
    int has_pubkey_hash;
    uint64_t hash_alg;       /* IANA Named Information: 1 SHA-256, 7 SHA-384, 8 SHA-512 */
    uint8_t pubkey_hash[64];
    size_t pubkey_hash_len;
    const uint8_t *nonce;    /* optional "nonce" claim */
    size_t nonce_len;
} ward_channel_tagged;

/* Strict parse: one tag (any argument width) around a definite 2-array of definite bstrs,
 * nothing after it; claims a definite map with text keys, at most 64 entries, nesting at most
 * 8 deep, every length checked against the input; "pubkey-hash" (if present) a serialized
 * [uint, bstr of 32..64 bytes]; duplicate keys refused. WARD_ERR_FORMAT / WARD_ERR_TRUNCATED. */
ward_err ward_channel_tagged_parse(const uint8_t *in, size_t len, ward_channel_tagged *out);

/* Encodes tag [bstr evidence, bstr {"pubkey-hash": [1, spki_sha256]}]. *out malloc'd. */
ward_err ward_channel_tagged_encode(uint64_t tag, const uint8_t *evidence, size_t evidence_len,
                                    const uint8_t spki_sha256[WARD_SHA256_LEN], uint8_t **out,
                                    size_t *out_len);

/* "ward", "intel-quote", "intel-report", "sgx-legacy", "rats-snp", ...; "unknown". */
const char *ward_channel_tag_name(uint64_t tag);

/* ---- the TEE side: key, certificate, evidence ---------------------------------------------- */

/* Obtains an evidence bundle (JSON, evidence.h) over report_data. *json malloc'd. The node
 * implements it with its rot and a node-level report (ward_channel_node_evidence); a TA with
 * ward_ta_report (report + signature over these 64 bytes) and an ocall asking its host to wrap
 * them with ward_evidence_make_with_hw. */
typedef ward_err (*ward_channel_evidence_fn)(void *ctx, const uint8_t report_data[64],
                                             char **json, size_t *json_len);

/* The node's callback: ctx is a ward_channel_node_source. */
typedef struct ward_channel_node_source {
    const ward_rot *rot;
    const ward_hw_evidence *hw; /* collected once by the node (NULL: none) */
} ward_channel_node_source;
ward_err ward_channel_node_evidence(void *ctx, const uint8_t report_data[64], char **json,
                                    size_t *json_len);

typedef struct ward_channel_identity_spec {
    const char *common_name;       /* NULL: "ward-channel" */
    const char *const *dns_names;  /* subjectAltName (for libcurl's host check), may be NULL */
    size_t n_dns_names;
    int64_t lifetime;              /* seconds from now; 0: 86400 */
    ward_channel_evidence_fn evidence; /* required */
    void *evidence_ctx;                /* must outlive the identity */
} ward_channel_identity_spec;

/* A key pair, its attested certificate and the evidence source. Reference-counted. */
typedef struct ward_channel_identity ward_channel_identity;

/* Generates a P-256 key, asks spec->evidence for evidence over SHA-256(SPKI) || 0^32, and
 * issues the self-signed certificate (server and client auth) with the extension. */
ward_err ward_channel_identity_new(const ward_channel_identity_spec *spec,
                                   ward_channel_identity **out);
/* Wraps an existing key (private) and certificate (for tests and imported identities; the
 * certificate need not carry evidence). evidence may be NULL (no fresh evidence then). */
ward_err ward_channel_identity_wrap(const ward_pkey *key, const ward_cert *cert,
                                    ward_channel_evidence_fn evidence, void *evidence_ctx,
                                    ward_channel_identity **out);
ward_channel_identity *ward_channel_identity_ref(ward_channel_identity *id);
void ward_channel_identity_free(ward_channel_identity *id); /* drops a reference */
const ward_cert *ward_channel_identity_cert(const ward_channel_identity *id);
/* Evidence over report_data from the identity's source. */
ward_err ward_channel_identity_evidence(const ward_channel_identity *id,
                                        const uint8_t report_data[64], char **json,
                                        size_t *json_len);

/* ---- verifying a peer ---------------------------------------------------------------------- */

typedef struct ward_channel_verify_cfg {
    const ward_policy *policy;        /* NULL: the default policy. Borrowed. */
    const ward_evidence_trust *trust; /* anchors and collateral; NULL: none. Borrowed (the
                                       * struct is copied; what it points to must outlive the
                                       * SSL_CTX) */
    int64_t at;                       /* verification time; 0: now */
    unsigned flags;                   /* WARD_CHANNEL_* */
} ward_channel_verify_cfg;

enum {
    /* Verify the peer's evidence on every handshake (no cache of verified evidence). */
    WARD_CHANNEL_NO_CACHE = 1u << 0
};
#define WARD_CHANNEL_CACHE_SIZE 64
#define WARD_CHANNEL_CACHE_TTL 600 /* seconds an entry may live (and never past notAfter) */

#define WARD_CHANNEL_REASON_LEN 1024

/* What a verifier established about a peer. */
typedef struct ward_channel_result {
    int accepted;             /* 1: everything below held and the policy accepts */
    int has_evidence;         /* an evidence extension was found and parsed */
    uint64_t tag;             /* its CBOR tag */
    int evidence_verified;    /* signatures/chains of the evidence checked */
    int key_bound;            /* the evidence binds this certificate's key */
    int appraised;            /* appraisal below is meaningful */
    int fresh;                /* fresh evidence (nonce + channel) verified after the handshake */
    int from_cache;           /* evidence verification came from the cache */
    ward_claims claims;       /* verified claims (unverified when !evidence_verified) */
    ward_appraisal appraisal; /* against the policy (every handshake, never cached) */
    uint8_t spki_sha256[WARD_SHA256_LEN];
    uint8_t cert_sha256[WARD_SHA256_LEN];
    int64_t not_before, not_after;
    char reason[WARD_CHANNEL_REASON_LEN]; /* why not accepted; "" when accepted */
} ward_channel_result;

/* Verifies a certificate's evidence (no TLS). Returns WARD_OK when accepted; otherwise
 * WARD_ERR_VERIFY (or the parse error) with out->reason also in ward_errmsg(). *out is always
 * filled with everything that could be established (for diagnosis: a quote that cannot be
 * verified is still parsed, its binding checked and its claims appraised, marked unverified). */
ward_err ward_channel_verify_cert(const ward_cert *cert, const ward_channel_verify_cfg *cfg,
                                  ward_channel_result *out);

/* ---- OpenSSL integration ------------------------------------------------------------------- */

/* Installs the verifier into ctx: TLS 1.3 only, SSL_VERIFY_PEER (| FAIL_IF_NO_PEER_CERT), and a
 * certificate verification callback replacing the chain check by the checks above. The result
 * (accepted or not) of each handshake is attached to its SSL (ward_channel_ssl_result). For
 * libcurl, call it from CURLOPT_SSL_CTX_FUNCTION (and set CURLOPT_SSL_VERIFYHOST to 0 unless
 * the identity names the host). */
ward_err ward_channel_ssl_ctx_install(SSL_CTX *ctx, const ward_channel_verify_cfg *cfg);
/* Uses id's key and certificate in ctx (and keeps a reference for the freshness exchange). */
ward_err ward_channel_ssl_ctx_use_identity(SSL_CTX *ctx, ward_channel_identity *id);

/* A TLS 1.3-only server context with id; peer != NULL: mutual (client must present attested
 * evidence accepted by peer). For evhttp: bufferevent_openssl_socket_new(SSL_new(ctx)). */
ward_err ward_channel_ssl_ctx_server(ward_channel_identity *id,
                                     const ward_channel_verify_cfg *peer, SSL_CTX **out);
/* A TLS 1.3-only client context verifying the server with cfg; id != NULL: mutual. */
ward_err ward_channel_ssl_ctx_client(const ward_channel_verify_cfg *cfg,
                                     ward_channel_identity *id, SSL_CTX **out);

/* The result attached to ssl by the verifier (NULL if no verification happened). */
const ward_channel_result *ward_channel_ssl_result(const SSL *ssl);

/* ---- channels over a connected socket ------------------------------------------------------ */

typedef struct ward_channel_config {
    ward_channel_identity *identity;       /* server: required; client: for mutual */
    const ward_channel_verify_cfg *verify; /* client: required; server: mutual when set */
    int fresh; /* client: send a nonce and verify fresh evidence after the handshake;
                * server: expect the nonce and answer it (both sides must agree) */
} ward_channel_config;

typedef struct ward_channel_ctx ward_channel_ctx;
typedef struct ward_channel ward_channel;

ward_err ward_channel_ctx_new_server(const ward_channel_config *cfg, ward_channel_ctx **out);
ward_err ward_channel_ctx_new_client(const ward_channel_config *cfg, ward_channel_ctx **out);
void ward_channel_ctx_free(ward_channel_ctx *ctx);
SSL_CTX *ward_channel_ctx_ssl_ctx(ward_channel_ctx *ctx);

/* Handshake on a connected, blocking socket fd (not closed by this module). On failure
 * *out is NULL and ward_errmsg() says why (the verifier's reason when the peer was refused). */
ward_err ward_channel_connect(ward_channel_ctx *ctx, int fd, ward_channel **out);
ward_err ward_channel_accept(ward_channel_ctx *ctx, int fd, ward_channel **out);

/* Reads up to cap bytes (*got = 0: the peer closed). */
ward_err ward_channel_read(ward_channel *ch, void *buf, size_t cap, size_t *got);
ward_err ward_channel_read_exact(ward_channel *ch, void *buf, size_t len);
ward_err ward_channel_write(ward_channel *ch, const void *buf, size_t len);
/* Sends close_notify. */
ward_err ward_channel_shutdown(ward_channel *ch);
void ward_channel_free(ward_channel *ch);

SSL *ward_channel_ssl(ward_channel *ch);
/* The peer's attestation result: the server's (client side), the client's (server side in
 * mutual mode); NULL when the peer was not attested (server side, one-way). */
const ward_channel_result *ward_channel_peer(const ward_channel *ch);

/* RFC 8446 7.5 exporter: out = TLS-Exporter(label, context, len). context may be NULL (no
 * context) - distinct from an empty context. len 1..1024. */
ward_err ward_channel_export_key(ward_channel *ch, const char *label, const uint8_t *context,
                                 size_t context_len, uint8_t *out, size_t len);

/* ---- freshness (docs/channel.md "Freshness") ----------------------------------------------- */

/* report_data = SHA-256(nonce || exporter(WARD_CHANNEL_EXPORTER_LABEL, no context, 32) ||
 * SHA-256(server SPKI)) || 32 zero bytes; both sides compute it. */
ward_err ward_channel_fresh_report_data(ward_channel *ch,
                                        const uint8_t nonce[WARD_CHANNEL_FRESH_NONCE_LEN],
                                        uint8_t out[64]);
/* Client: sends a random nonce, receives evidence, verifies it (trust, binding to the nonce and
 * this channel, same TEE/measurement/signer as the certificate's evidence, policy). Updates
 * the peer result (fresh = 1). Done by ward_channel_connect when cfg.fresh is set. */
ward_err ward_channel_fresh_request(ward_channel *ch);
/* Server: receives the nonce and answers with evidence from the identity. Done by
 * ward_channel_accept when cfg.fresh is set. */
ward_err ward_channel_fresh_serve(ward_channel *ch);
/* The two halves of fresh_serve (tests build misbehaving servers from them). */
ward_err ward_channel_fresh_recv_nonce(ward_channel *ch,
                                       uint8_t nonce[WARD_CHANNEL_FRESH_NONCE_LEN]);
ward_err ward_channel_fresh_send_evidence(ward_channel *ch, const char *json, size_t len);

#ifdef __cplusplus
}
#endif
#endif
