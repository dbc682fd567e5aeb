/* Shared between the crypto modules (pkey, sign, x509): the layout of the opaque key handle. */
#ifndef WARD_CRYPTO_PKEY_INTERNAL_H
#define WARD_CRYPTO_PKEY_INTERNAL_H

#include <openssl/evp.h>

#include "ward/crypto.h"

struct ward_pkey {
    EVP_PKEY *pkey;
};

/* Takes ownership of pkey (on failure too: it is freed). NULL on allocation failure. */
ward_pkey *ward_pkey_wrap(EVP_PKEY *pkey);

#endif
