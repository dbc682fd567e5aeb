/* Thread-local error state. */
#include "ward/err.h"

#include <openssl/err.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define ERRMSG_MAX 512

static _Thread_local char errmsg[ERRMSG_MAX];

static const char *const names[WARD_ERR__COUNT] = {
    [WARD_OK] = "ok",
    [WARD_ERR_INVALID_ARG] = "invalid_argument",
    [WARD_ERR_NOMEM] = "out_of_memory",
    [WARD_ERR_OVERFLOW] = "overflow",
    [WARD_ERR_FORMAT] = "format",
    [WARD_ERR_UNSUPPORTED] = "unsupported",
    [WARD_ERR_CRYPTO] = "crypto",
    [WARD_ERR_AUTH] = "auth",
    [WARD_ERR_VERIFY] = "verify",
    [WARD_ERR_TRUNCATED] = "truncated",
    [WARD_ERR_STATE] = "state",
    [WARD_ERR_IO] = "io",
    [WARD_ERR_NOT_FOUND] = "not_found",
    [WARD_ERR_PERMISSION] = "permission",
    [WARD_ERR_EXISTS] = "exists",
    [WARD_ERR_TIMEOUT] = "timeout",
    [WARD_ERR_DEAD] = "dead",
    [WARD_ERR_LIMIT] = "limit",
};

const char *ward_errmsg(void)
{
    return errmsg;
}

const char *ward_err_name(ward_err err)
{
    if ((unsigned)err >= WARD_ERR__COUNT)
        return "unknown";
    return names[err];
}

void ward_err_clear(void)
{
    errmsg[0] = '\0';
}

ward_err ward_err_set(ward_err err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errmsg, sizeof errmsg, fmt, ap);
    va_end(ap);
    return err;
}

ward_err ward_err_ossl(ward_err err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(errmsg, sizeof errmsg, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    size_t used = (size_t)n < sizeof errmsg ? (size_t)n : sizeof errmsg - 1;

    /* The earliest queued error is usually the root cause; later ones are context. */
    unsigned long code = ERR_peek_error();
    if (code != 0 && used + 3 < sizeof errmsg) {
        char reason[256];
        ERR_error_string_n(code, reason, sizeof reason);
        snprintf(errmsg + used, sizeof errmsg - used, " (%s)", reason);
    }
    ERR_clear_error();
    return err;
}

ward_err ward_err_wrap(ward_err err, const char *fmt, ...)
{
    char prev[ERRMSG_MAX];
    memcpy(prev, errmsg, sizeof prev);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(errmsg, sizeof errmsg, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < sizeof errmsg && prev[0] != '\0')
        snprintf(errmsg + n, sizeof errmsg - (size_t)n, ": %s", prev);
    return err;
}
