/* Error codes and the thread-local message that says why, in words. */
#ifndef WARD_ERR_H
#define WARD_ERR_H

#ifdef __cplusplus
extern "C" {
#endif

/* 0 is success; every fallible Ward function returns one of these and, on failure, sets a
 * thread-local message readable with ward_errmsg(). */
typedef enum ward_err {
    WARD_OK = 0,
    WARD_ERR_INVALID_ARG,  /* caller passed something unusable (NULL, bad length, bad option) */
    WARD_ERR_NOMEM,        /* allocation failed */
    WARD_ERR_OVERFLOW,     /* a size computation would overflow or exceeds a limit */
    WARD_ERR_FORMAT,       /* input is malformed (encoding, JSON, DER, stream header, ...) */
    WARD_ERR_UNSUPPORTED,  /* well-formed but a version, algorithm or feature we do not do */
    WARD_ERR_CRYPTO,       /* the crypto library failed for a reason other than a bad input */
    WARD_ERR_AUTH,         /* authentication failed: AEAD tag, MAC, decryption */
    WARD_ERR_VERIFY,       /* a signature, certificate chain or policy check failed */
    WARD_ERR_TRUNCATED,    /* input ended early */
    WARD_ERR_STATE,        /* call out of order, or object already failed */
    WARD_ERR_IO,           /* read/write/open failed */
    WARD_ERR_NOT_FOUND,    /* a named thing does not exist */
    WARD_ERR_PERMISSION,   /* denied by permissions or policy */
    WARD_ERR_EXISTS,       /* already exists */
    WARD_ERR_TIMEOUT,      /* an operation did not finish in its time limit */
    WARD_ERR_DEAD,         /* a TEE instance died (crashed, killed by the sandbox, destroyed) */
    WARD_ERR_LIMIT,        /* a resource limit or budget would be exceeded */
    WARD_ERR__COUNT
} ward_err;

/* The message of the last failure on this thread ("" if none). Valid until the next Ward call
 * on this thread. Never contains secret material. */
const char *ward_errmsg(void);

/* Stable short name of a code, e.g. "auth". */
const char *ward_err_name(ward_err err);

/* Records err with a printf-style message on this thread and returns err, so that a failure
 * path reads `return ward_err_set(WARD_ERR_FORMAT, "bad header: %s", why);`. */
ward_err ward_err_set(ward_err err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Like ward_err_set, and appends the reason from OpenSSL's error queue (which it clears). */
ward_err ward_err_ossl(ward_err err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prefixes the current message with context: "context: previous message". Returns err. */
ward_err ward_err_wrap(ward_err err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

void ward_err_clear(void);

#ifdef __cplusplus
}
#endif
#endif
