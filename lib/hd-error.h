/* Errors that cross module boundaries: a negative errno plus a message and,
 * for validation errors, the name of the offending field. The HTTP layer alone
 * turns the errno into a status code. */
#pragma once

#include "hd-macro.h"

typedef struct HdError {
        int code;      /* negative errno */
        char *message; /* lowercase, no trailing period */
        char *field;   /* dotted path of the offending field, or NULL */
} HdError;

/* Sets *err (when err is non-NULL and *err is still NULL) and returns code, which
 * must be negative. An error already set is kept: the first failure wins. */
int hd_error_set(HdError **err, int code, const char *fmt, ...) HD_PRINTF(3, 4);

/* Same, naming the field the error is about. */
int hd_error_set_field(HdError **err, int code, const char *field, const char *fmt, ...)
        HD_PRINTF(4, 5);

/* Prefixes the message of an error already set with context ("context: message").
 * Returns the error's code, or -EINVAL when nothing was set. */
int hd_error_wrap(HdError **err, const char *fmt, ...) HD_PRINTF(2, 3);

/* Moves *src into *dst (when dst is free) and leaves *src NULL; returns the code. */
int hd_error_propagate(HdError **dst, HdError **src);

/* The API's error code for an HTTP status ("invalid_argument" for 400, …,
 * "internal" for anything unlisted): one table for daemon and client. */
const char *hd_error_code_for_status(unsigned status);

void hd_error_free(HdError *e);
HD_DEFINE_CLEANUP(HdError *, hd_error_free)
#define _cleanup_error_ _cleanup_(hd_error_freep)
