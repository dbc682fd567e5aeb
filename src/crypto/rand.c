/* Randomness, constant-time comparison and wiping. */
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "ward/crypto.h"

ward_err ward_random(void *buf, size_t len)
{
    if (buf == NULL && len != 0)
        return ward_err_set(WARD_ERR_INVALID_ARG, "random: NULL buffer");
    uint8_t *p = buf;
    /* RAND_bytes takes an int; large requests go in slices. */
    while (len > 0) {
        size_t n = len > INT_MAX ? INT_MAX : len;
        if (RAND_bytes(p, (int)n) != 1)
            return ward_err_ossl(WARD_ERR_CRYPTO, "random: DRBG failed");
        p += n;
        len -= n;
    }
    return WARD_OK;
}

int ward_ct_equal(const void *a, const void *b, size_t len)
{
    if (len == 0)
        return 1;
    return CRYPTO_memcmp(a, b, len) == 0;
}

void ward_wipe(void *p, size_t len)
{
    if (p != NULL && len != 0)
        OPENSSL_cleanse(p, len);
}
