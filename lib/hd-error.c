#include "hd-error.h"

#include <stdarg.h>
#include <string.h>

static int error_setv(HdError **err, int code, const char *field, const char *fmt, va_list ap)
        HD_PRINTF(4, 0);

static int error_setv(HdError **err, int code, const char *field, const char *fmt, va_list ap)
{
        if (code >= 0)
                code = -EINVAL;
        if (!err || *err)
                return code;

        HdError *e = calloc(1, sizeof(*e));
        if (!e)
                return code;
        e->code = code;
        if (vasprintf(&e->message, fmt, ap) < 0)
                e->message = NULL;
        e->field = field ? strdup(field) : NULL;
        *err = e;
        return code;
}

int hd_error_set(HdError **err, int code, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        int r = error_setv(err, code, NULL, fmt, ap);
        va_end(ap);
        return r;
}

int hd_error_set_field(HdError **err, int code, const char *field, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        int r = error_setv(err, code, field, fmt, ap);
        va_end(ap);
        return r;
}

int hd_error_wrap(HdError **err, const char *fmt, ...)
{
        if (!err || !*err)
                return -EINVAL;

        _cleanup_free_ char *prefix = NULL;
        va_list ap;
        va_start(ap, fmt);
        int r = vasprintf(&prefix, fmt, ap);
        va_end(ap);
        if (r < 0)
                return (*err)->code;

        char *joined = NULL;
        if (asprintf(&joined, "%s: %s", prefix, (*err)->message ? (*err)->message : "") >= 0) {
                free((*err)->message);
                (*err)->message = joined;
        }
        return (*err)->code;
}

int hd_error_propagate(HdError **dst, HdError **src)
{
        if (!src || !*src)
                return 0;
        int code = (*src)->code;
        if (dst && !*dst)
                *dst = TAKE_PTR(*src);
        else {
                hd_error_free(*src);
                *src = NULL;
        }
        return code;
}

void hd_error_free(HdError *e)
{
        if (!e)
                return;
        free(e->message);
        free(e->field);
        free(e);
}

const char *hd_error_code_for_status(unsigned status)
{
        switch (status) {
        case 400:
                return "invalid_argument";
        case 401:
                return "unauthorized";
        case 403:
                return "forbidden";
        case 404:
                return "not_found";
        case 405:
                return "method_not_allowed";
        case 409:
                return "conflict";
        case 412:
                return "precondition_failed";
        case 413:
                return "payload_too_large";
        case 415:
                return "unsupported_media_type";
        case 429:
                return "too_many_requests";
        case 501:
                return "not_implemented";
        case 502:
                return "bad_gateway";
        case 503:
                return "unavailable";
        case 507:
                return "insufficient_capacity";
        default:
                return "internal";
        }
}
