/* Leveled logging to stderr. The daemon logs; lib/, api/ and the client library
 * only ever log at debug and return errors instead. */
#pragma once

#include "hd-macro.h"

typedef enum HdLogLevel {
        HD_LOG_ERROR = 0,
        HD_LOG_WARN = 1,
        HD_LOG_INFO = 2,
        HD_LOG_DEBUG = 3,
} HdLogLevel;

void hd_log_set_level(HdLogLevel level);
HdLogLevel hd_log_get_level(void);

/* Parses "error", "warn", "info" or "debug"; returns <0 on anything else. */
int hd_log_level_from_string(const char *s, HdLogLevel *ret);
const char *hd_log_level_to_string(HdLogLevel level);

void hd_log_write(HdLogLevel level, const char *fmt, ...) HD_PRINTF(2, 3);

#define hd_log_error(...) hd_log_write(HD_LOG_ERROR, __VA_ARGS__)
#define hd_log_warn(...)  hd_log_write(HD_LOG_WARN, __VA_ARGS__)
#define hd_log_info(...)  hd_log_write(HD_LOG_INFO, __VA_ARGS__)
#define hd_log_debug(...)                                        \
        do {                                                     \
                if (hd_log_get_level() >= HD_LOG_DEBUG)          \
                        hd_log_write(HD_LOG_DEBUG, __VA_ARGS__); \
        } while (0)
