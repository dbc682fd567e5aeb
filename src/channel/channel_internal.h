/* Shared between the channel modules (cert.c, tls.c). */
#ifndef WARD_CHANNEL_INTERNAL_H
#define WARD_CHANNEL_INTERNAL_H

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "ward/channel.h"

/* The identity's OpenSSL objects (owned by the identity). */
X509 *ward_channel_identity_x509(const ward_channel_identity *id);
EVP_PKEY *ward_channel_identity_evp(const ward_channel_identity *id);

/* A verifier: the configuration (copied) and the cache of verified evidence. */
typedef struct ward_channel_verifier ward_channel_verifier;
ward_err ward_channel_verifier_new(const ward_channel_verify_cfg *cfg,
                                   ward_channel_verifier **out);
void ward_channel_verifier_free(ward_channel_verifier *v);
const ward_channel_verify_cfg *ward_channel_verifier_cfg(const ward_channel_verifier *v);
/* ward_channel_verify_cert through the verifier's cache. */
ward_err ward_channel_verifier_check(ward_channel_verifier *v, const ward_cert *cert,
                                     ward_channel_result *out);
/* Appends "; what" to the result's reason. */
void ward_channel_reason(ward_channel_result *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
