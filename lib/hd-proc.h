/* What a host process costs in memory, from /proc: its proportional set size (PSS),
 * each page it maps counted as its share among the processes that map it. The VM
 * driver reads qemu's, the container driver its monitors'. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The sum of the `Pss:` lines (in kB) of /proc/PID/smaps_rollup's text (or smaps's, one
 * per mapping), in bytes. -ENODATA when there is none, -EBADMSG when one is not a number
 * of kB. */
int hd_proc_pss_parse(const char *text, size_t len, uint64_t *ret);
/* pid's PSS, from /proc/PID/smaps_rollup (Linux 4.14+). -errno when it cannot be read
 * (-ENOENT: no such process), or the parser's error. */
int hd_proc_pss(pid_t pid, uint64_t *ret);
