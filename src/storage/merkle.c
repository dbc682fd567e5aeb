/* The Merkle tree of an encrypted file: arity 64 over the 32-byte leaf records (nonce, tag and
 * slot of each block), every node SHA-256(level || index || children). Kept whole in memory;
 * a commit rehashes only the nodes above written blocks. */
#include <stdlib.h>
#include <string.h>

#include "storage/storage_internal.h"
#include "ward/crypto.h"

#define MAX_LEVELS 48

void st_merkle_init(st_merkle *m)
{
    memset(m, 0, sizeof *m);
}

void st_merkle_free(st_merkle *m)
{
    for (size_t l = 0; l < MAX_LEVELS; l++) {
        free(m->hash[l]);
        free(m->dirty[l]);
    }
    memset(m, 0, sizeof *m);
}

static size_t div_up(size_t a, size_t b)
{
    return a / b + (a % b != 0);
}

ward_err st_merkle_resize(st_merkle *m, size_t n)
{
    size_t old_n0 = m->levels ? m->count[0] : 0;
    size_t cnt = div_up(n, ST_MERKLE_ARITY);
    if (cnt == 0)
        cnt = 1;
    size_t l = 0;
    for (;;) {
        if (l >= MAX_LEVELS)
            return ward_err_set(WARD_ERR_OVERFLOW, "merkle: too many levels");
        size_t old = l < m->levels ? m->count[l] : 0;
        if (cnt != old) {
            uint8_t *h = realloc(m->hash[l], cnt * 32);
            if (h == NULL)
                return ward_err_set(WARD_ERR_NOMEM, "merkle: out of memory");
            m->hash[l] = h;
            uint8_t *d = realloc(m->dirty[l], cnt);
            if (d == NULL)
                return ward_err_set(WARD_ERR_NOMEM, "merkle: out of memory");
            m->dirty[l] = d;
            if (cnt > old) {
                memset(h + old * 32, 0, (cnt - old) * 32);
                memset(d + old, 1, cnt - old);
            }
            m->count[l] = cnt;
        }
        /* The last node of every level may have gained or lost children. */
        m->dirty[l][cnt - 1] = 1;
        if (cnt == 1)
            break;
        cnt = div_up(cnt, ST_MERKLE_ARITY);
        l++;
    }
    for (size_t k = l + 1; k < m->levels; k++) {
        free(m->hash[k]);
        free(m->dirty[k]);
        m->hash[k] = m->dirty[k] = NULL;
        m->count[k] = 0;
    }
    m->levels = l + 1;
    (void)old_n0;
    return WARD_OK;
}

void st_merkle_mark(st_merkle *m, size_t leaf)
{
    size_t i = leaf / ST_MERKLE_ARITY;
    if (m->levels && i < m->count[0])
        m->dirty[0][i] = 1;
}

static ward_err node_hash(ward_hash_ctx **ctx, size_t level, size_t index, const uint8_t *data,
                          size_t len, uint8_t out[32])
{
    uint8_t pre[9];
    pre[0] = (uint8_t)level;
    st_put64(pre + 1, (uint64_t)index);
    ward_err err = ward_hash_new(WARD_HASH_SHA256, ctx);
    if (!err)
        err = ward_hash_update(*ctx, pre, sizeof pre);
    if (!err && len)
        err = ward_hash_update(*ctx, data, len);
    if (!err)
        err = ward_hash_final(*ctx, out);
    ward_hash_free(*ctx);
    *ctx = NULL;
    return err;
}

ward_err st_merkle_update(st_merkle *m, const uint8_t *leaves, size_t n, uint8_t root[32])
{
    if (m->levels == 0 || m->count[0] != (div_up(n, ST_MERKLE_ARITY) ? div_up(n, ST_MERKLE_ARITY)
                                                                      : 1))
        return ward_err_set(WARD_ERR_STATE, "merkle: tree not sized for %zu leaves", n);
    ward_hash_ctx *ctx = NULL;
    for (size_t l = 0; l < m->levels; l++) {
        size_t below = l == 0 ? n : m->count[l - 1];
        for (size_t i = 0; i < m->count[l]; i++) {
            if (!m->dirty[l][i])
                continue;
            size_t first = i * ST_MERKLE_ARITY;
            size_t k = below > first ? below - first : 0;
            if (k > ST_MERKLE_ARITY)
                k = ST_MERKLE_ARITY;
            const uint8_t *src = l == 0 ? leaves + first * ST_LEAF_LEN : m->hash[l - 1] + first * 32;
            ward_err err = node_hash(&ctx, l, i, k ? src : NULL,
                                     k * (l == 0 ? ST_LEAF_LEN : 32u), m->hash[l] + i * 32);
            if (err)
                return err;
            m->dirty[l][i] = 0;
            if (l + 1 < m->levels)
                m->dirty[l + 1][i / ST_MERKLE_ARITY] = 1;
        }
    }
    memcpy(root, m->hash[m->levels - 1], 32);
    return WARD_OK;
}

ward_err st_merkle_build(st_merkle *m, const uint8_t *leaves, size_t n, uint8_t root[32])
{
    ward_err err = st_merkle_resize(m, n);
    if (err)
        return err;
    for (size_t l = 0; l < m->levels; l++)
        memset(m->dirty[l], 1, m->count[l]);
    return st_merkle_update(m, leaves, n, root);
}
