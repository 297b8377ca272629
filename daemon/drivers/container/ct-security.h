/* The container's last steps before exec: identity, capabilities, no_new_privs
 * and the seccomp filter (DESIGN.md §4).
 *
 * Two halves. hd_ct_seccomp_build runs once in hostd (libseccomp) and yields the
 * BPF program for every architecture the host can run; the driver stores it in a
 * file that each monitor reads, so no start compiles the profile again.
 * hd_ct_security_apply runs in the container's init after pivot_root and links
 * only libc. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "hd-error.h"

/* Compiles the default profile. *ret_prog is a malloc'd array of struct
 * sock_filter (ret_len bytes, a multiple of 8). */
int hd_ct_seccomp_build(void **ret_prog, size_t *ret_len, HdError **err);

/* Docker's 14 capabilities as a bit mask (1ULL << CAP_x). */
uint64_t hd_ct_caps_default(void);

/* Every capability this host can hand a container: 0 … /proc/sys/kernel/cap_last_cap,
 * less those the calling process's bounding set lacks (a hostd started without, say,
 * CAP_SYS_RESOURCE cannot give it: the monitor's capset would fail). */
uint64_t hd_ct_caps_all(void);

/* What a spec asks of the default set: cap_add, cap_drop (bit masks of the named
 * capabilities, "ALL" as the flag beside them) and privileged. */
typedef struct HdCtCapsTweak {
        bool privileged;
        uint64_t add, drop;
        bool add_all, drop_all;
} HdCtCapsTweak;

/* The effective set, by Docker's rules (moby's TweakCapabilities): the base is all when
 * privileged or cap_add holds ALL, else defaults; cap_drop takes from the base (ALL:
 * everything); then cap_add's named ones go on (so a capability both added and dropped
 * is in, as in Docker). Unlike Docker, privileged honours cap_drop. Never more than all. */
uint64_t hd_ct_caps_tweak(uint64_t defaults, uint64_t all, const HdCtCapsTweak *t);

typedef struct HdCtSecurity {
        uid_t uid;
        gid_t gid;
        const gid_t *groups; /* supplementary groups; may be NULL with n_groups 0 */
        size_t n_groups;
        uint64_t caps;       /* bounding set; also effective+permitted when uid is 0 */
        bool no_new_privs;   /* always true unless privileged */
        const void *seccomp; /* struct sock_filter[]; NULL: no filter (privileged) */
        size_t seccomp_len;  /* bytes */
} HdCtSecurity;

/* In the container's init, in this order: drop the bounding set to caps,
 * setgroups, setresgid, setresuid, capset (effective+permitted = caps for uid 0,
 * empty otherwise; inheritable empty), clear the ambient set, PR_SET_NO_NEW_PRIVS,
 * and load the seccomp filter last. Does not allocate; returns -errno and writes
 * nothing (the caller reports which step failed through ret_step, a static
 * string: "capbset", "setgroups", "setresgid", "setresuid", "capset", "ambient",
 * "no_new_privs" or "seccomp"; NULL on success; ret_step may be NULL).
 *
 * For uid 0, caps must lie within the current permitted set (else EPERM at
 * "capset"). seccomp_len must be whole instructions (else EINVAL at "seccomp").
 * Without no_new_privs the kernel loads a filter only for a holder of
 * CAP_SYS_ADMIN (EACCES at "seccomp"). Capabilities already out of the bounding
 * set are skipped, so applying again can only narrow. */
int hd_ct_security_apply(const HdCtSecurity *s, const char **ret_step);
