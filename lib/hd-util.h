/* Small string, time, id and file helpers with no daemon state. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hd-macro.h"

#define HD_UUID_STRING_MAX 37

/* Milliseconds since the Unix epoch (CLOCK_REALTIME). */
int64_t hd_now_ms(void);
/* Monotonic milliseconds, for deadlines. */
int64_t hd_monotonic_ms(void);

/* Formats ms-since-epoch as RFC 3339 UTC with milliseconds ("2026-11-22T10:00:00.123Z"). */
void hd_time_format(int64_t ms, char buf[static 32]);
/* Parses what hd_time_format writes; returns <0 on anything else. */
int hd_time_parse(const char *s, int64_t *ret_ms);

/* A random (version 4) UUID in its 36-character text form. */
int hd_uuid_generate(char out[static HD_UUID_STRING_MAX]);
bool hd_uuid_is_valid(const char *s);

/* DESIGN.md's name pattern: [a-z0-9]([a-z0-9-]{0,61}[a-z0-9])? */
bool hd_name_is_valid(const char *s);

bool hd_str_startswith(const char *s, const char *prefix);
/* Strict decimal parsers: the whole string, an optional leading '-', no '+', no
 * spaces, no overflow. */
int hd_parse_int64(const char *s, int64_t *ret);
int hd_parse_double(const char *s, double *ret);

/* Reads a whole (small) file into a NUL-terminated buffer; -EFBIG past max bytes. */
int hd_read_file(const char *path, size_t max, char **ret, size_t *ret_len);
/* Writes all len bytes to fd, retrying short writes and EINTR; -errno on failure. */
int hd_write_all(int fd, const void *data, size_t len);
/* Writes data to path atomically (temp file, fsync, rename, fsync of the directory). */
int hd_write_file_atomic(const char *path, const void *data, size_t len, unsigned mode);
/* mkdir -p with the given mode for each created component. */
int hd_mkdir_p(const char *path, unsigned mode);

/* Constant-time comparison of two NUL-terminated secrets. */
bool hd_secret_equal(const char *a, const char *b);

/* Standard base64 (RFC 4648, padded). encode: a malloc'd string, NULL when out of
 * memory. decode: -EINVAL for anything that is not base64 (whitespace included). */
char *hd_base64_encode(const void *data, size_t len);
int hd_base64_decode(const char *s, size_t len, char **ret, size_t *ret_len);

/* Valid UTF-8 (shortest forms, no surrogates, no U+FFFE/U+FFFF) without control
 * characters (C0 and DEL; C1 too with reject_c1), for text that goes into XML or YAML. */
bool hd_utf8_is_clean(const char *s, bool reject_c1);
/* Whether s is well-formed UTF-8; control characters (newlines, tabs) pass. */
bool hd_utf8_is_valid(const char *s);

/* A copy of len bytes, or NULL (out of memory, or len 0). */
void *hd_memdup(const void *p, size_t len);

/* IPv4 addresses as host-order integers. parse: strict dotted quad (four decimal
 * parts 0..255, no leading zeros, nothing else); -EINVAL otherwise. format: into
 * buf, always NUL-terminated. */
int hd_ipv4_parse(const char *s, uint32_t *ret);
void hd_ipv4_format(uint32_t a, char buf[static 16]);
/* "A.B.C.D/N" with N in 0..32; *ret_addr is the address as written (host bits may be
 * set: the caller decides whether that is allowed). -EINVAL otherwise. */
int hd_ipv4_cidr_parse(const char *s, uint32_t *ret_addr, int *ret_prefix);
/* The netmask of a prefix length 0..32, host order. */
static inline uint32_t hd_ipv4_mask(int prefix)
{
        return prefix <= 0 ? 0 : prefix >= 32 ? 0xffffffffu : ~((1u << (32 - prefix)) - 1);
}

/* ---- CPU lists ------------------------------------------------------------------------ */

/* CPU lists as cpuset.cpus, /sys/devices/system/cpu/online, Docker's --cpuset-cpus and
 * libvirt's <vcpu cpuset=…> write them: "0", "0-3", "0,2,4-5". */
#define HD_CPU_MAX          1024 /* CPU numbers are below this */
#define HD_CPULIST_MAX      256  /* characters of a list in an instance spec */
#define HD_CPUS_ONLINE_PATH "/sys/devices/system/cpu/online"

typedef struct HdCpuMask {
        uint64_t bits[HD_CPU_MAX / 64];
} HdCpuMask;

/* Parses a CPU list into *ret: comma-separated CPU numbers and ranges "A-B" with
 * A <= B, decimal digits only, every number below HD_CPU_MAX, no spaces, no empty
 * item; at least one CPU. -EINVAL for anything else (*ret then undefined). No length
 * limit: the API's HD_CPULIST_MAX is the codec's to check. */
int hd_cpulist_parse(const char *s, HdCpuMask *ret);
/* The canonical list of m ("0-3,8": ascending, ranges merged) into buf, always
 * NUL-terminated; "" for an empty mask. -ENOBUFS when it did not fit (buf then holds
 * a cut list). */
int hd_cpulist_format(const HdCpuMask *m, char *buf, size_t size);
static inline bool hd_cpumask_test(const HdCpuMask *m, unsigned cpu)
{
        return cpu < HD_CPU_MAX && (m->bits[cpu / 64] >> (cpu % 64)) & 1;
}
/* Whether every CPU of a is also in b. */
bool hd_cpumask_is_subset(const HdCpuMask *a, const HdCpuMask *b);
/* The CPUs online, from path (NULL: HD_CPUS_ONLINE_PATH); CPUs from HD_CPU_MAX up are
 * left out. -errno when the file cannot be read, -EINVAL when it holds no CPU list. */
int hd_cpus_online(const char *path, HdCpuMask *ret);

struct HdError;
/* The drivers' check of resources.cpuset: -EINVAL, with err naming field, when list is
 * not a CPU list or names a CPU that is not online on this host (the message then
 * gives the host's online CPUs). -errno (no field) when the online CPUs cannot be
 * read. */
int hd_cpulist_check_host(const char *list, const char *field, struct HdError **err);
