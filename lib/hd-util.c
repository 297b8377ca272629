#include "hd-util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>

#include "hd-error.h"

int64_t hd_now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t hd_monotonic_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void hd_time_format(int64_t ms, char buf[static 32])
{
        if (ms < 0)
                ms = 0; /* no instant before the epoch is ever recorded */
        time_t sec = (time_t)(ms / 1000);
        struct tm tm;
        gmtime_r(&sec, &tm);
        char date[24];
        strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(buf, 32, "%s.%03dZ", date, (int)(ms % 1000));
}

int hd_time_parse(const char *s, int64_t *ret_ms)
{
        struct tm tm = { 0 };
        int msec = 0;
        /* strptime skips spaces and accepts 02-30; insist on the exact form. */
        if (!s || !isdigit((unsigned char)s[0]))
                return -EINVAL;
        const char *rest = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
        if (!rest)
                return -EINVAL;
        if (*rest == '.') {
                if (!isdigit((unsigned char)rest[1]) || !isdigit((unsigned char)rest[2]) ||
                    !isdigit((unsigned char)rest[3]))
                        return -EINVAL;
                msec = (rest[1] - '0') * 100 + (rest[2] - '0') * 10 + (rest[3] - '0');
                rest += 4;
        }
        if (strcmp(rest, "Z") != 0)
                return -EINVAL;
        time_t sec = timegm(&tm);
        if (sec == (time_t)-1)
                return -EINVAL;
        char again[32], given[20];
        hd_time_format((int64_t)sec * 1000, again);
        snprintf(given, sizeof(given), "%.19s", s);
        if (strncmp(again, given, 19) != 0)
                return -EINVAL;
        *ret_ms = (int64_t)sec * 1000 + msec;
        return 0;
}

int hd_uuid_generate(char out[static HD_UUID_STRING_MAX])
{
        uint8_t b[16];
        size_t got = 0;
        while (got < sizeof(b)) {
                ssize_t n = getrandom(b + got, sizeof(b) - got, 0);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                got += (size_t)n;
        }
        b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
        b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
        snprintf(out, HD_UUID_STRING_MAX,
                 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                 b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
                 b[15]);
        return 0;
}

bool hd_uuid_is_valid(const char *s)
{
        if (!s || strlen(s) != 36)
                return false;
        for (int i = 0; i < 36; i++) {
                if (i == 8 || i == 13 || i == 18 || i == 23) {
                        if (s[i] != '-')
                                return false;
                } else if (!isxdigit((unsigned char)s[i]))
                        return false;
        }
        return true;
}

static bool is_name_char(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

bool hd_name_is_valid(const char *s)
{
        if (!s)
                return false;
        size_t n = strlen(s);
        if (n == 0 || n > 63)
                return false;
        if (!is_name_char(s[0]) || !is_name_char(s[n - 1]))
                return false;
        for (size_t i = 1; i + 1 < n; i++)
                if (!is_name_char(s[i]) && s[i] != '-')
                        return false;
        return true;
}

bool hd_str_startswith(const char *s, const char *prefix)
{
        return s && prefix && strncmp(s, prefix, strlen(prefix)) == 0;
}

int hd_parse_int64(const char *s, int64_t *ret)
{
        if (!s || !(isdigit((unsigned char)s[0]) || (s[0] == '-' && isdigit((unsigned char)s[1]))))
                return -EINVAL;
        char *end = NULL;
        errno = 0;
        long long v = strtoll(s, &end, 10);
        if (errno == ERANGE)
                return -ERANGE;
        if (errno || !end || *end)
                return -EINVAL;
        *ret = v;
        return 0;
}

int hd_parse_double(const char *s, double *ret)
{
        if (!s || !(isdigit((unsigned char)s[0]) || s[0] == '.' ||
                    (s[0] == '-' && (isdigit((unsigned char)s[1]) || s[1] == '.'))))
                return -EINVAL;
        char *end = NULL;
        errno = 0;
        double v = strtod(s, &end);
        if (errno == ERANGE)
                return -ERANGE;
        if (errno || !end || *end || !isfinite(v))
                return -EINVAL;
        *ret = v;
        return 0;
}

int hd_read_file(const char *path, size_t max, char **ret, size_t *ret_len)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;

        size_t cap = 4096, len = 0;
        _cleanup_free_ char *buf = malloc(cap + 1);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                if (len == cap) {
                        if (cap >= max) {
                                /* Exactly max bytes is fine; one more is not. */
                                char extra;
                                ssize_t n = read(fd, &extra, 1);
                                if (n < 0 && errno != EINTR)
                                        return -errno;
                                if (n == 0)
                                        break;
                                if (n > 0)
                                        return -EFBIG;
                                continue;
                        }
                        cap = cap * 2 > max ? max : cap * 2;
                        char *nb = realloc(buf, cap + 1);
                        if (!nb)
                                return -ENOMEM;
                        buf = nb;
                }
                ssize_t n = read(fd, buf + len, cap - len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                len += (size_t)n;
                if (len > max)
                        return -EFBIG;
        }
        buf[len] = '\0';
        if (ret_len)
                *ret_len = len;
        *ret = TAKE_PTR(buf);
        return 0;
}

int hd_write_all(int fd, const void *data, size_t len)
{
        const char *p = data;
        while (len > 0) {
                ssize_t n = write(fd, p, len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += n;
                len -= (size_t)n;
        }
        return 0;
}

int hd_write_file_atomic(const char *path, const void *data, size_t len, unsigned mode)
{
        _cleanup_free_ char *tmp = NULL;
        if (asprintf(&tmp, "%s.tmp.%d", path, (int)getpid()) < 0)
                return -ENOMEM;

        _cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
        if (fd < 0)
                return -errno;
        int r = hd_write_all(fd, data, len);
        if (r >= 0 && fsync(fd) < 0)
                r = -errno;
        if (r >= 0 && rename(tmp, path) < 0)
                r = -errno;
        if (r < 0) {
                unlink(tmp);
                return r;
        }

        _cleanup_free_ char *dir = strdup(path);
        if (!dir)
                return -ENOMEM;
        _cleanup_close_ int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0)
                (void)fsync(dfd);
        return 0;
}

int hd_mkdir_p(const char *path, unsigned mode)
{
        _cleanup_free_ char *copy = strdup(path);
        if (!copy)
                return -ENOMEM;
        for (char *p = copy + 1; *p; p++) {
                if (*p != '/')
                        continue;
                *p = '\0';
                if (mkdir(copy, mode) < 0 && errno != EEXIST)
                        return -errno;
                *p = '/';
        }
        if (mkdir(copy, mode) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

bool hd_secret_equal(const char *a, const char *b)
{
        size_t la = strlen(a), lb = strlen(b);
        unsigned char diff = (unsigned char)(la != lb);
        for (size_t i = 0; i < la; i++)
                diff |= (unsigned char)(a[i] ^ b[i % (lb ? lb : 1)]);
        return diff == 0 && lb > 0;
}

/* ---- base64 ------------------------------------------------------------------- */

static const char b64_alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *hd_base64_encode(const void *data, size_t len)
{
        const unsigned char *p = data;
        char *out = malloc((len + 2) / 3 * 4 + 1);
        if (!out)
                return NULL;
        size_t o = 0;
        for (size_t i = 0; i < len; i += 3) {
                uint32_t v = (uint32_t)p[i] << 16;
                if (i + 1 < len)
                        v |= (uint32_t)p[i + 1] << 8;
                if (i + 2 < len)
                        v |= p[i + 2];
                out[o++] = b64_alphabet[(v >> 18) & 63];
                out[o++] = b64_alphabet[(v >> 12) & 63];
                out[o++] = i + 1 < len ? b64_alphabet[(v >> 6) & 63] : '=';
                out[o++] = i + 2 < len ? b64_alphabet[v & 63] : '=';
        }
        out[o] = '\0';
        return out;
}

static int b64_value(char c)
{
        const char *at = c ? strchr(b64_alphabet, c) : NULL;
        return at ? (int)(at - b64_alphabet) : -1;
}

int hd_base64_decode(const char *s, size_t len, char **ret, size_t *ret_len)
{
        if (len % 4 != 0)
                return -EINVAL;
        char *out = malloc(len / 4 * 3 + 1);
        if (!out)
                return -ENOMEM;
        size_t o = 0;
        for (size_t i = 0; i < len; i += 4) {
                bool last = i + 4 == len;
                int pad = last ? (s[i + 3] == '=') + (s[i + 2] == '=') : 0;
                if (pad == 1 && s[i + 2] == '=') {
                        free(out);
                        return -EINVAL; /* "x=y=" */
                }
                uint32_t v = 0;
                for (int k = 0; k < 4; k++) {
                        int d = k >= 4 - pad ? 0 : b64_value(s[i + k]);
                        if (d < 0) {
                                free(out);
                                return -EINVAL;
                        }
                        v = v << 6 | (uint32_t)d;
                }
                out[o++] = (char)(v >> 16);
                if (pad < 2)
                        out[o++] = (char)(v >> 8);
                if (pad < 1)
                        out[o++] = (char)v;
        }
        out[o] = '\0';
        *ret = out;
        *ret_len = o;
        return 0;
}

/* ---- text ------------------------------------------------------------------- */

/* Well-formed UTF-8 (shortest forms, no surrogates, nothing past U+10FFFF); with clean
 * also no control characters and no U+FFFE/U+FFFF, and with reject_c1 no C1 controls. */
static bool utf8_scan(const char *s, bool clean, bool reject_c1)
{
        const unsigned char *p = (const unsigned char *)s;
        while (*p) {
                uint32_t c = *p;
                int extra;
                if (clean && (c < 0x20 || c == 0x7f))
                        return false;
                if (c < 0x80)
                        extra = 0;
                else if (c >= 0xc2 && c <= 0xdf)
                        extra = 1, c &= 0x1f;
                else if (c >= 0xe0 && c <= 0xef)
                        extra = 2, c &= 0x0f;
                else if (c >= 0xf0 && c <= 0xf4)
                        extra = 3, c &= 0x07;
                else
                        return false;
                p++;
                for (int i = 0; i < extra; i++, p++) {
                        if ((*p & 0xc0) != 0x80)
                                return false;
                        c = (c << 6) | (*p & 0x3f);
                }
                if ((extra == 2 && c < 0x800) || (extra == 3 && (c < 0x10000 || c > 0x10ffff)))
                        return false;
                if ((reject_c1 && c >= 0x80 && c <= 0x9f) || (c >= 0xd800 && c <= 0xdfff) ||
                    (clean && (c == 0xfffe || c == 0xffff)))
                        return false;
        }
        return true;
}

bool hd_utf8_is_clean(const char *s, bool reject_c1)
{
        return utf8_scan(s, true, reject_c1);
}

bool hd_utf8_is_valid(const char *s)
{
        return utf8_scan(s, false, false);
}

void *hd_memdup(const void *p, size_t len)
{
        if (len == 0)
                return NULL;
        void *q = malloc(len);
        if (q)
                memcpy(q, p, len);
        return q;
}

int hd_ipv4_parse(const char *s, uint32_t *ret)
{
        uint32_t a = 0;
        if (!s)
                return -EINVAL;
        for (int part = 0; part < 4; part++) {
                if (part > 0 && *s++ != '.')
                        return -EINVAL;
                if (!isdigit((unsigned char)*s))
                        return -EINVAL;
                unsigned v = 0;
                int digits = 0;
                const char *start = s;
                while (isdigit((unsigned char)*s) && digits < 4) {
                        v = v * 10 + (unsigned)(*s++ - '0');
                        digits++;
                }
                if (digits > 3 || v > 255 || (digits > 1 && *start == '0'))
                        return -EINVAL;
                a = (a << 8) | v;
        }
        if (*s)
                return -EINVAL;
        *ret = a;
        return 0;
}

void hd_ipv4_format(uint32_t a, char buf[static 16])
{
        snprintf(buf, 16, "%u.%u.%u.%u", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff);
}

int hd_ipv4_cidr_parse(const char *s, uint32_t *ret_addr, int *ret_prefix)
{
        if (!s)
                return -EINVAL;
        const char *slash = strchr(s, '/');
        if (!slash || slash - s > 15 || !slash[1] || strlen(slash + 1) > 2)
                return -EINVAL;
        char addr[16];
        memcpy(addr, s, (size_t)(slash - s));
        addr[slash - s] = '\0';
        int prefix = 0;
        for (const char *p = slash + 1; *p; p++) {
                if (!isdigit((unsigned char)*p))
                        return -EINVAL;
                prefix = prefix * 10 + (*p - '0');
        }
        if (prefix > 32 || (slash[1] == '0' && slash[2]))
                return -EINVAL;
        uint32_t a;
        if (hd_ipv4_parse(addr, &a) < 0)
                return -EINVAL;
        *ret_addr = a;
        *ret_prefix = prefix;
        return 0;
}

/* ---- CPU lists ------------------------------------------------------------------------ */

/* Room for any list of CPUs below HD_CPU_MAX: at most "1023," per CPU. */
#define CPULIST_TEXT_MAX (HD_CPU_MAX * 5)

/* Decimal digits at *p (leading zeros allowed, as the kernel takes them); advances *p.
 * Numbers past any CPU count are refused before they can overflow. */
static bool cpulist_number(const char **p, unsigned long *ret)
{
        const char *q = *p;
        unsigned long v = 0;
        if (!isdigit((unsigned char)*q))
                return false;
        for (; isdigit((unsigned char)*q); q++) {
                v = v * 10 + (unsigned long)(*q - '0');
                if (v > 100000000UL)
                        return false;
        }
        *p = q;
        *ret = v;
        return true;
}

/* clamp: CPUs from HD_CPU_MAX up are dropped rather than refused (the host's list on
 * a machine larger than any spec can name). */
static int cpulist_parse(const char *s, HdCpuMask *ret, bool clamp)
{
        bool any = false;
        *ret = (HdCpuMask){ { 0 } };
        if (!s)
                return -EINVAL;
        const char *p = s;
        for (;;) {
                unsigned long a, b;
                if (!cpulist_number(&p, &a))
                        return -EINVAL;
                b = a;
                if (*p == '-') {
                        p++;
                        if (!cpulist_number(&p, &b) || b < a)
                                return -EINVAL;
                }
                if (b >= HD_CPU_MAX && !clamp)
                        return -EINVAL;
                for (unsigned long c = a; c <= b && c < HD_CPU_MAX; c++) {
                        ret->bits[c / 64] |= UINT64_C(1) << (c % 64);
                        any = true;
                }
                if (!*p)
                        break;
                if (*p++ != ',')
                        return -EINVAL;
        }
        return any ? 0 : -EINVAL;
}

int hd_cpulist_parse(const char *s, HdCpuMask *ret)
{
        return cpulist_parse(s, ret, false);
}

int hd_cpulist_format(const HdCpuMask *m, char *buf, size_t size)
{
        size_t len = 0;
        bool first = true;
        if (size == 0)
                return -ENOBUFS;
        buf[0] = '\0';
        for (unsigned c = 0; c < HD_CPU_MAX; c++) {
                if (!hd_cpumask_test(m, c))
                        continue;
                unsigned e = c;
                while (e + 1 < HD_CPU_MAX && hd_cpumask_test(m, e + 1))
                        e++;
                int n = e == c ? snprintf(buf + len, size - len, "%s%u", first ? "" : ",", c)
                               : snprintf(buf + len, size - len, "%s%u-%u", first ? "" : ",", c, e);
                if (n < 0 || (size_t)n >= size - len)
                        return -ENOBUFS;
                len += (size_t)n;
                first = false;
                c = e;
        }
        return 0;
}

bool hd_cpumask_is_subset(const HdCpuMask *a, const HdCpuMask *b)
{
        for (size_t i = 0; i < HD_ARRAY_SIZE(a->bits); i++)
                if (a->bits[i] & ~b->bits[i])
                        return false;
        return true;
}

int hd_cpus_online(const char *path, HdCpuMask *ret)
{
        char *text = NULL;
        size_t len = 0;
        int r = hd_read_file(path ? path : HD_CPUS_ONLINE_PATH, 64 * 1024, &text, &len);
        if (r < 0)
                return r;
        while (len > 0 && isspace((unsigned char)text[len - 1]))
                text[--len] = '\0';
        r = cpulist_parse(text, ret, true);
        free(text);
        return r;
}

int hd_cpulist_check_host(const char *list, const char *field, HdError **err)
{
        HdCpuMask want, online, missing;
        /* The list is not quoted back: it may not be text at all. */
        if (hd_cpulist_parse(list, &want) < 0)
                return hd_error_set_field(err, -EINVAL, field,
                                          "%s must be a CPU list of numbers below %d and ranges, "
                                          "like `0`, `0-3` or `0,2,4-5`",
                                          field, HD_CPU_MAX);
        int r = hd_cpus_online(NULL, &online);
        if (r < 0)
                return hd_error_set(err, r, "cannot read the online CPUs from `%s`: %s",
                                    HD_CPUS_ONLINE_PATH, strerror(-r));
        if (hd_cpumask_is_subset(&want, &online))
                return 0;
        for (size_t i = 0; i < HD_ARRAY_SIZE(missing.bits); i++)
                missing.bits[i] = want.bits[i] & ~online.bits[i];
        char have[CPULIST_TEXT_MAX], lacking[CPULIST_TEXT_MAX];
        (void)hd_cpulist_format(&online, have, sizeof(have));
        (void)hd_cpulist_format(&missing, lacking, sizeof(lacking));
        return hd_error_set_field(
                err, -EINVAL, field,
                "%s names CPUs this host does not have online: `%s` (online: `%s`)", field, lacking,
                have);
}
