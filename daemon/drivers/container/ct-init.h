/* The container's init: what the monitor's cloned child does between clone and
 * execve (ct-init.c), and the pieces `hostd-monitor exec` shares with it (user
 * resolution inside the container, cwd, PATH search, environment).
 *
 * Everything here runs in a forked/cloned child of a single-threaded process, or
 * in the exec helper; errors are reported as a step name + errno + message
 * (HdCtFail) and travel to the monitor over the error pipe as
 * "step\0errno\0message". */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "ct-bundle.h"
#include "hd-macro.h"

/* One failure in the child: a static step name, a positive errno, a message. */
typedef struct HdCtFail {
        const char *step;
        int err;
        char message[256];
} HdCtFail;

/* Records the failure in *f (first one wins) and returns -err. */
int hd_ct_fail(HdCtFail *f, const char *step, int err, const char *fmt, ...) HD_PRINTF(4, 5);

/* Sends a failure as "step\0errno\0message" in one write(2). */
void hd_ct_fail_send(int fd, const HdCtFail *f);
/* The monitor's side: reads the error pipe to EOF. 0: EOF without data (the child
 * exec'd); 1: *ret filled from the child's report; -errno: the pipe failed. */
int hd_ct_fail_recv(int fd, HdCtFail *ret, char step_buf[static 64]);

typedef struct HdCtInitArgs {
        const HdCtBundle *bundle;
        int sync_fd;   /* read end: one byte once the monitor set the cgroup and id maps */
        int error_fd;  /* write end, O_CLOEXEC: EOF without data means exec succeeded */
        int stdout_fd; /* write ends of the log pipes */
        int stderr_fd;
        const void *seccomp; /* struct sock_filter[], NULL for none */
        size_t seccomp_len;
        /* The overlay the monitor made over id-mapped layers (a detached mount), moved
         * onto the cwd the child starts in, the merged dir; -1: the child mounts it. */
        int rootfs_fd;
} HdCtInitArgs;

/* The cloned child's whole life: waits for the go byte (network bridge: the monitor
 * has made its veth pair by then), then (in order) user namespace ids, cgroup
 * namespace, rootfs (ct-rootfs.c), lo (network none) or /etc/hosts and
 * /etc/resolv.conf (network bridge), hostname, rlimits, user, cwd, stdio, fds,
 * security, execve. Never returns: on failure it reports
 * through error_fd and _exit(1)s. */
_Noreturn void hd_ct_init_run(const HdCtInitArgs *a);

/* ---- shared with `hostd-monitor exec` ----------------------------------------------- */

#define HD_CT_GROUPS_MAX 64

typedef struct HdCtUser {
        uid_t uid;
        gid_t gid;
        gid_t groups[HD_CT_GROUPS_MAX]; /* supplementary, from /etc/group membership */
        size_t n_groups;
        char home[256]; /* from /etc/passwd, "/" when unknown */
} HdCtUser;

/* Resolves "uid", "uid:gid", "name", "name:group", … against the container's
 * /etc/passwd and /etc/group, opened under root_fd with RESOLVE_IN_ROOT (never NSS).
 * A name that is not there is an error; numeric ids need no file. Supplementary
 * groups are added only when no group was given (as runc and Docker do). */
int hd_ct_user_resolve(int root_fd, const char *spec, HdCtUser *ret, HdCtFail *f);

/* Opens cwd under root_fd (RESOLVE_IN_ROOT) and fchdir()s to it; it must be a
 * directory inside the rootfs (step "cwd"). */
int hd_ct_chdir(int root_fd, const char *cwd, HdCtFail *f);

/* Looks name up as execvpe would, but in the current root and with the PATH of env
 * (the container's, or the usual default): a name with a '/' is used as is.
 * -ENOENT when nothing is found, -EACCES when only non-executables were. */
int hd_ct_find_program(const char *name, char *const env[], char *buf, size_t size);

/* A new NULL-terminated environment: base, then each override replacing the
 * entry with the same key or added, then HOME=home when there is no HOME. The
 * strings stay the callers'; one free() of the result releases the rest. NULL on
 * ENOMEM. */
char **hd_ct_env_build(char *const base[], char *const overrides[], const char *home);

/* setrlimit for each of the bundle's rlimits (step "rlimits"). */
int hd_ct_apply_rlimits(const HdCtBundle *b, HdCtFail *f);
