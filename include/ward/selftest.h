/* Known-answer self-test of the cryptography Ward depends on, run by `ward selftest`, by
 * `ward demo`, and by wardd before it accepts work: a broken OpenSSL build or a
 * miscompiled construction stops the node instead of producing wrong ciphertext. */
#ifndef WARD_SELFTEST_H
#define WARD_SELFTEST_H

#include "ward/err.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Called once per check with its name, WARD_OK or the failure, and the failure's message. */
typedef void (*ward_selftest_cb)(void *arg, const char *name, ward_err result,
                                 const char *message);

/* Runs every check (it does not stop at the first failure); returns WARD_OK if all passed,
 * otherwise WARD_ERR_VERIFY naming how many failed. cb may be NULL. */
ward_err ward_selftest(ward_selftest_cb cb, void *arg);

#ifdef __cplusplus
}
#endif
#endif
