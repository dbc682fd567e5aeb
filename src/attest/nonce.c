/* The challenge store (include/ward/nonce.h): a fixed array of entries under one mutex.
 * Consuming scans the array (O(capacity)); entries are 32 random bytes that only this store
 * chooses, compared in constant time. A used nonce stays, marked used, until it expires, so
 * that a replay is refused as "already used" rather than "unknown". */
#include "ward/nonce.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ward/crypto.h"

enum { E_FREE = 0, E_LIVE = 1, E_USED = 2 };

typedef struct entry {
    uint8_t nonce[WARD_NONCE_LEN];
    int64_t expires; /* valid while now < expires */
    int state;
} entry;

struct ward_nonce_store {
    pthread_mutex_t mu;
    entry *e;
    size_t cap;
    size_t count;
    int64_t ttl_ms;
    ward_nonce_clock clock;
    void *clock_ctx;
};

static int64_t default_clock(void *ctx)
{
    (void)ctx;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + (int64_t)(ts.tv_nsec / 1000000);
}

ward_err ward_nonce_store_new(size_t capacity, int64_t ttl_ms, ward_nonce_clock clock,
                              void *clock_ctx, ward_nonce_store **out)
{
    if (out == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "nonce store: NULL output");
    *out = NULL;
    if (capacity == 0 || capacity > WARD_NONCE_MAX_CAPACITY)
        return ward_err_set(WARD_ERR_INVALID_ARG,
                            "nonce store: capacity %zu is outside 1..%zu", capacity,
                            (size_t)WARD_NONCE_MAX_CAPACITY);
    if (ttl_ms <= 0 || ttl_ms > WARD_NONCE_MAX_TTL_MS)
        return ward_err_set(WARD_ERR_INVALID_ARG,
                            "nonce store: lifetime %lld ms is outside 1..%lld ms",
                            (long long)ttl_ms, (long long)WARD_NONCE_MAX_TTL_MS);
    ward_nonce_store *s = calloc(1, sizeof *s);
    if (s == NULL)
        return ward_err_set(WARD_ERR_NOMEM, "nonce store: out of memory");
    s->e = calloc(capacity, sizeof *s->e);
    if (s->e == NULL) {
        free(s);
        return ward_err_set(WARD_ERR_NOMEM, "nonce store: out of memory for %zu entries",
                            capacity);
    }
    if (pthread_mutex_init(&s->mu, NULL) != 0) {
        free(s->e);
        free(s);
        return ward_err_set(WARD_ERR_STATE, "nonce store: cannot initialise its mutex");
    }
    s->cap = capacity;
    s->ttl_ms = ttl_ms;
    s->clock = clock != NULL ? clock : default_clock;
    s->clock_ctx = clock_ctx;
    *out = s;
    return WARD_OK;
}

void ward_nonce_store_free(ward_nonce_store *s)
{
    if (s == NULL)
        return;
    pthread_mutex_destroy(&s->mu);
    ward_wipe(s->e, s->cap * sizeof *s->e);
    free(s->e);
    free(s);
}

/* Drops expired entries; the caller holds the mutex. */
static void purge(ward_nonce_store *s, int64_t now)
{
    for (size_t i = 0; i < s->cap && s->count > 0; i++) {
        if (s->e[i].state != E_FREE && now >= s->e[i].expires) {
            memset(&s->e[i], 0, sizeof s->e[i]);
            s->count--;
        }
    }
}

ward_err ward_nonce_issue(ward_nonce_store *s, uint8_t nonce[WARD_NONCE_LEN],
                          int64_t *expires_at)
{
    if (s == NULL || nonce == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "nonce issue: NULL argument");
    uint8_t fresh[WARD_NONCE_LEN];
    ward_err err = ward_random(fresh, sizeof fresh);
    if (err != WARD_OK)
        return ward_err_wrap(err, "nonce issue");
    pthread_mutex_lock(&s->mu);
    int64_t now = s->clock(s->clock_ctx);
    if (s->count >= s->cap)
        purge(s, now);
    if (s->count >= s->cap) {
        pthread_mutex_unlock(&s->mu);
        return ward_err_set(WARD_ERR_LIMIT,
                            "nonce issue: %zu challenges are outstanding (the store's "
                            "capacity); try again when some have expired", s->cap);
    }
    size_t slot = 0;
    while (s->e[slot].state != E_FREE)
        slot++; /* count < cap: a free slot exists */
    memcpy(s->e[slot].nonce, fresh, sizeof fresh);
    s->e[slot].expires = now > INT64_MAX - s->ttl_ms ? INT64_MAX : now + s->ttl_ms;
    s->e[slot].state = E_LIVE;
    s->count++;
    if (expires_at != NULL)
        *expires_at = s->e[slot].expires;
    pthread_mutex_unlock(&s->mu);
    memcpy(nonce, fresh, sizeof fresh);
    ward_wipe(fresh, sizeof fresh);
    return WARD_OK;
}

ward_err ward_nonce_consume(ward_nonce_store *s, const uint8_t *nonce, size_t len)
{
    if (s == NULL || nonce == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "nonce: NULL argument");
    if (len != WARD_NONCE_LEN)
        return ward_err_set(WARD_ERR_INVALID_ARG, "nonce: %zu bytes, expected %d", len,
                            WARD_NONCE_LEN);
    pthread_mutex_lock(&s->mu);
    int64_t now = s->clock(s->clock_ctx);
    ward_err err = ward_err_set(WARD_ERR_VERIFY,
                                "unknown nonce: not issued by this verifier, or already "
                                "forgotten after it expired");
    for (size_t i = 0; i < s->cap; i++) {
        entry *e = &s->e[i];
        if (e->state == E_FREE || !ward_ct_equal(e->nonce, nonce, WARD_NONCE_LEN))
            continue;
        if (now >= e->expires) {
            err = ward_err_set(WARD_ERR_VERIFY, "nonce expired %lld ms ago",
                               (long long)(now - e->expires));
            memset(e, 0, sizeof *e);
            s->count--;
        } else if (e->state == E_USED) {
            err = ward_err_set(WARD_ERR_VERIFY, "nonce already used: a nonce is accepted once");
        } else {
            e->state = E_USED;
            err = WARD_OK;
            ward_err_clear();
        }
        break;
    }
    pthread_mutex_unlock(&s->mu);
    return err;
}

size_t ward_nonce_store_count(ward_nonce_store *s)
{
    if (s == NULL)
        return 0;
    pthread_mutex_lock(&s->mu);
    size_t n = s->count;
    pthread_mutex_unlock(&s->mu);
    return n;
}
