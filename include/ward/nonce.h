/* Freshness by challenge and response (IEEE 2952 7.2): a verifier issues a random 32-byte
 * nonce, the attester puts it in its report_data, and the verifier accepts it once, before it
 * expires. In memory, bounded, thread-safe (one mutex); wardd keeps one store for
 * POST /v1/attestation/challenge and /verify. */
#ifndef WARD_NONCE_H
#define WARD_NONCE_H

#include <stddef.h>
#include <stdint.h>

#include "ward/err.h"

#ifdef __cplusplus
extern "C" {
#endif

#define WARD_NONCE_LEN 32
#define WARD_NONCE_MAX_CAPACITY ((size_t)1 << 20)
#define WARD_NONCE_MAX_TTL_MS (INT64_C(24) * 3600 * 1000)

typedef struct ward_nonce_store ward_nonce_store;

/* A clock in milliseconds; the default is CLOCK_MONOTONIC (immune to wall-clock jumps). Tests
 * inject their own. */
typedef int64_t (*ward_nonce_clock)(void *ctx);

/* capacity: 1..WARD_NONCE_MAX_CAPACITY entries (outstanding nonces plus used ones not yet
 * expired); ttl_ms: 1..WARD_NONCE_MAX_TTL_MS. clock NULL: the default. */
ward_err ward_nonce_store_new(size_t capacity, int64_t ttl_ms, ward_nonce_clock clock,
                              void *clock_ctx, ward_nonce_store **out);
void ward_nonce_store_free(ward_nonce_store *s);

/* Issues a fresh random nonce, valid for ttl_ms from now (*expires_at in the store's clock,
 * may be NULL). Expired entries are dropped first; if the store is still full, WARD_ERR_LIMIT
 * (live nonces are never evicted to make room: that would let one client invalidate
 * another's challenge). */
ward_err ward_nonce_issue(ward_nonce_store *s, uint8_t nonce[WARD_NONCE_LEN],
                          int64_t *expires_at);

/* Accepts nonce once: WARD_OK and it is marked used. WARD_ERR_VERIFY with the reason
 * otherwise: "unknown nonce" (never issued here, or forgotten after expiry), "nonce already
 * used", "nonce expired" (at or after its expiry). A wrong length is WARD_ERR_INVALID_ARG. */
ward_err ward_nonce_consume(ward_nonce_store *s, const uint8_t *nonce, size_t len);

/* Entries held (outstanding and used-but-unexpired). */
size_t ward_nonce_store_count(ward_nonce_store *s);

#ifdef __cplusplus
}
#endif
#endif
