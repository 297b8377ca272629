#include "hd-log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

static atomic_int log_level = HD_LOG_INFO;

static const char *const level_names[] = {
        [HD_LOG_ERROR] = "error",
        [HD_LOG_WARN] = "warn",
        [HD_LOG_INFO] = "info",
        [HD_LOG_DEBUG] = "debug",
};

void hd_log_set_level(HdLogLevel level)
{
        atomic_store(&log_level, (int)level);
}

HdLogLevel hd_log_get_level(void)
{
        return (HdLogLevel)atomic_load(&log_level);
}

int hd_log_level_from_string(const char *s, HdLogLevel *ret)
{
        for (size_t i = 0; i < HD_ARRAY_SIZE(level_names); i++)
                if (s && strcmp(s, level_names[i]) == 0) {
                        *ret = (HdLogLevel)i;
                        return 0;
                }
        return -EINVAL;
}

const char *hd_log_level_to_string(HdLogLevel level)
{
        if ((unsigned)level >= HD_ARRAY_SIZE(level_names))
                return "unknown";
        return level_names[level];
}

void hd_log_write(HdLogLevel level, const char *fmt, ...)
{
        if ((int)level > atomic_load(&log_level))
                return;

        int saved = errno;
        struct timespec ts;
        struct tm tm;
        char stamp[32];
        clock_gettime(CLOCK_REALTIME, &ts);
        gmtime_r(&ts.tv_sec, &tm);
        strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);

        /* One fprintf per line so concurrent threads never interleave inside a line. */
        char line[2048];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(line, sizeof(line), fmt, ap);
        va_end(ap);
        fprintf(stderr, "%s.%03ldZ %-5s %s\n", stamp, ts.tv_nsec / 1000000,
                hd_log_level_to_string(level), line);
        errno = saved;
}
