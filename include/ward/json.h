/* JSON through jansson, and RFC 8785 JSON Canonicalization Scheme (JCS).
 * Ward's signed documents (task manifests, ...) hold only strings, integers, booleans, null,
 * arrays and objects: floating-point numbers are refused with a clear error, and so are
 * integers outside the IEEE 754 exactly-representable range (|n| > 2^53 - 1), which RFC 8785
 * could not serialise faithfully. */
#ifndef WARD_JSON_H
#define WARD_JSON_H

#include <jansson.h>
#include <stddef.h>

#include "ward/err.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Parses text (not NUL-terminated; len bytes) strictly: one value, UTF-8 only, duplicate
 * object keys refused, nesting at most WARD_JSON_MAX_DEPTH. *out is a new reference. */
#define WARD_JSON_MAX_DEPTH 64
ward_err ward_json_parse(const char *text, size_t len, json_t **out);

/* RFC 8785 canonical form of value: *out malloc'd, NUL-terminated, *out_len without the NUL.
 * Object members sorted by their UTF-16 code units, strings escaped as ECMAScript does,
 * no whitespace. WARD_ERR_FORMAT for a real number or an out-of-range integer. */
ward_err ward_jcs_serialize(const json_t *value, char **out, size_t *out_len);

/* Parse then canonicalise, in one step. */
ward_err ward_jcs_from_text(const char *text, size_t len, char **out, size_t *out_len);

#ifdef __cplusplus
}
#endif
#endif
