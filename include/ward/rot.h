/* Root of trust (software): the node's platform attestation key (ECDSA P-256), its self-signed
 * certificate, and a 32-byte sealing secret, kept in the node data directory. The private key and
 * the sealing secret never leave this module: callers get signatures, public keys and derived
 * keys. On TEE hardware the same interface will be backed by a TPM or the hardware's key
 * derivation; DESIGN 2 and 3. */
#ifndef WARD_ROT_H
#define WARD_ROT_H

#include <stddef.h>
#include <stdint.h>

#include "ward/crypto.h"
#include "ward/err.h"
#include "ward/x509.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ward_rot ward_rot;

/* $XDG_DATA_HOME/ward, else $HOME/.local/share/ward. *out malloc'd. */
ward_err ward_rot_default_dir(char **out);

/* Opens the data directory dir, creating it (0700) and the key, certificate and sealing secret
 * (0600, written atomically: temp file, fsync, rename, fsync of the directory) when create is
 * nonzero and they are absent. Refuses with WARD_ERR_PERMISSION, naming the file and its mode,
 * if the directory or a file is group/other accessible or owned by another user, and with
 * WARD_ERR_FORMAT if a file is corrupt (wrong length, unparsable key, certificate not matching
 * the key). */
ward_err ward_rot_open(const char *dir, int create, ward_rot **out);
void ward_rot_close(ward_rot *rot); /* wipes the secrets */

/* The platform certificate (borrowed; valid while rot is open). */
const ward_cert *ward_rot_platform_cert(const ward_rot *rot);
/* SHA-256 of the platform key's DER SubjectPublicKeyInfo. */
void ward_rot_platform_key_id(const ward_rot *rot, uint8_t out[WARD_SHA256_LEN]);

/* Signs msg with the platform key: ECDSA P-256, SHA-256, raw r||s. Only Ward's own structures
 * that begin with their own magic (TA reports, audit checkpoints) are passed here. */
#define WARD_ROT_SIG_LEN 64
ward_err ward_rot_sign(const ward_rot *rot, const void *msg, size_t len,
                       uint8_t sig[WARD_ROT_SIG_LEN]);

/* Derives key material from the sealing secret: HKDF-SHA256(salt = "ward-rot-v1",
 * ikm = sealing secret, info = label || 0x00 || context). Distinct labels give independent keys. */
ward_err ward_rot_derive(const ward_rot *rot, const char *label, const uint8_t *context,
                         size_t context_len, uint8_t *out, size_t out_len);

#ifdef __cplusplus
}
#endif
#endif
