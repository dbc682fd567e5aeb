/* Hex, base64 (RFC 4648 section 4) and base64url (section 5, unpadded, as in JOSE). */
#ifndef WARD_ENCODING_H
#define WARD_ENCODING_H

#include <stddef.h>
#include <stdint.h>

#include "ward/err.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Encoders write a NUL-terminated string into a malloc'd buffer (*out) and its length without
 * the NUL (*out_len, may be NULL). Decoders write to a malloc'd buffer (*out, *out_len), refuse
 * any character outside the alphabet, whitespace included, and non-canonical trailing bits. */

/* Lower-case hex. Decoding accepts both cases and needs an even length. */
ward_err ward_hex_encode(const uint8_t *in, size_t len, char **out, size_t *out_len);
ward_err ward_hex_decode(const char *in, size_t len, uint8_t **out, size_t *out_len);
/* Decodes exactly out_len bytes into a caller buffer (for fixed-size fields). */
ward_err ward_hex_decode_fixed(const char *in, size_t len, uint8_t *out, size_t out_len);

/* Standard alphabet with '=' padding; decoding requires correct padding. */
ward_err ward_base64_encode(const uint8_t *in, size_t len, char **out, size_t *out_len);
ward_err ward_base64_decode(const char *in, size_t len, uint8_t **out, size_t *out_len);

/* URL-safe alphabet without padding; decoding refuses '='. */
ward_err ward_base64url_encode(const uint8_t *in, size_t len, char **out, size_t *out_len);
ward_err ward_base64url_decode(const char *in, size_t len, uint8_t **out, size_t *out_len);

#ifdef __cplusplus
}
#endif
#endif
