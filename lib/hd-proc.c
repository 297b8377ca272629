/* A host process's PSS from /proc/PID/smaps_rollup: what it costs the host in memory,
 * with shared pages (qemu's libraries, a monitor's) split among their users, where RSS
 * counts them whole in each. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hd-util.h"
#include "hd-proc.h"

/* smaps_rollup is a dozen lines; smaps, one block per mapping, is never read whole. */
#define ROLLUP_MAX (64 * 1024)

/* One "Pss:" line's value: blanks, digits, blanks, "kB". */
static int line_kib(const char *v, const char *end, uint64_t *ret)
{
        while (v < end && (*v == ' ' || *v == '\t'))
                v++;
        uint64_t kib = 0;
        const char *digits = v;
        for (; v < end && *v >= '0' && *v <= '9'; v++) {
                if (kib > (UINT64_MAX / 1024 - 9) / 10)
                        return -EBADMSG;
                kib = kib * 10 + (uint64_t)(*v - '0');
        }
        if (v == digits)
                return -EBADMSG;
        while (v < end && (*v == ' ' || *v == '\t'))
                v++;
        if (end - v != 2 || memcmp(v, "kB", 2) != 0)
                return -EBADMSG;
        *ret = kib;
        return 0;
}

int hd_proc_pss_parse(const char *text, size_t len, uint64_t *ret)
{
        static const char key[] = "Pss:";
        const size_t klen = sizeof(key) - 1;
        const char *p = text, *end = text + len;
        uint64_t total = 0;
        bool seen = false;
        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t)(end - p));
                const char *eol = nl ? nl : end;
                /* Only "Pss:" itself: Pss_Anon:, Pss_File:, Pss_Shmem: and Pss_Dirty: are
                 * parts of it. */
                if ((size_t)(eol - p) >= klen && memcmp(p, key, klen) == 0) {
                        uint64_t kib = 0;
                        int r = line_kib(p + klen, eol, &kib);
                        if (r < 0)
                                return r;
                        if (total > UINT64_MAX / 1024 - kib)
                                return -EBADMSG;
                        total += kib;
                        seen = true;
                }
                p = eol + 1;
        }
        if (!seen)
                return -ENODATA;
        *ret = total * 1024;
        return 0;
}

int hd_proc_pss(pid_t pid, uint64_t *ret)
{
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        int r = hd_read_file(path, ROLLUP_MAX, &text, &len);
        if (r < 0)
                return r;
        return hd_proc_pss_parse(text, len, ret);
}
