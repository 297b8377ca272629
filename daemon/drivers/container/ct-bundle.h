/* The container bundle: the directory hostd prepares for one container and the
 * files it shares with that container's monitor (hostd-monitor).
 *
 *   <bundle>/config.json   written by hostd: what to run and how (HdCtBundle)
 *   <bundle>/state.json    written by the monitor once the container's init has
 *                          exec'd (HdCtState): who to watch, liveness = pid + start time
 *   <bundle>/exit.json     written by the monitor when the container's init exited
 *                          (HdCtExit)
 *   <bundle>/idmap.json    written by hostd once, for a user-namespaced container: its
 *                          host id range, for the bundle's whole life
 *
 * state.json and exit.json are written atomically (temp file, fsync, rename), so a
 * reader sees the whole old file, the whole new one, or none (-ENOENT).
 *
 * Links jansson and hd_lib only: hostd and the monitor both use it.
 * Errors: int < 0 (-errno) plus HdError; the message names the file and the field. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "hd-error.h"

#define HD_CT_CONFIG_FILE "config.json"
#define HD_CT_STATE_FILE  "state.json"
#define HD_CT_EXIT_FILE   "exit.json"

typedef struct HdCtRlimit {
        int resource; /* RLIMIT_* */
        uint64_t soft, hard;
} HdCtRlimit;

/* One line of uid_map/gid_map: container id, host id, count. */
typedef struct HdCtIdMap {
        uint32_t inside, outside, count;
} HdCtIdMap;

typedef enum HdCtNetwork {
        HD_CT_NETWORK_NONE = 0,   /* a new net namespace with only lo, up */
        HD_CT_NETWORK_HOST = 1,   /* the host's net namespace */
        HD_CT_NETWORK_BRIDGE = 2, /* a new net namespace wired to a bridge (HdCtNet) */
} HdCtNetwork;

#define HD_CT_IFNAME_MAX   16          /* IFNAMSIZ: 15 characters and the NUL */
#define HD_CT_NET_TEXT_MAX (64 * 1024) /* hosts, resolv_conf */

/* Network "bridge" (config.json's "net"): a veth pair made by the monitor, its host end
 * on the bridge, its inside end with the address, the MAC, the MTU and a default route
 * via the gateway; and the container's /etc/hosts and /etc/resolv.conf, written by its
 * init. */
typedef struct HdCtNet {
        char bridge[HD_CT_IFNAME_MAX];
        char host_ifname[HD_CT_IFNAME_MAX]; /* hd_ct_veth_name's */
        char ifname[HD_CT_IFNAME_MAX];      /* the inside end: "eth0" unless said */
        uint8_t mac[6];
        uint32_t address;  /* host order; neither the subnet's first nor its last */
        int prefix;        /* 1..30 */
        uint32_t gateway;  /* host order; in the subnet, not address */
        int mtu;           /* 576..9000; 1500 unless said */
        char *hosts;       /* the text of /etc/hosts; NULL: the image's file stays */
        char *resolv_conf; /* the text of /etc/resolv.conf; NULL: likewise */
} HdCtNet;

/* The host end's name of a container's veth pair: "hdv" and the first 11 hex digits of
 * its uuid, dashes dropped, lower case: the same for hostd and its monitors, so that a
 * link left behind can be told apart and deleted. -EINVAL when uuid has fewer than 11
 * hex digits before anything that is neither one nor a dash. */
int hd_ct_veth_name(const char *uuid, char out[static HD_CT_IFNAME_MAX]);

typedef struct HdCtBundle {
        char *dir; /* the bundle directory, absolute, as given to hd_ct_bundle_load */
        char *uuid;
        char *name;

        /* rootfs: overlayfs of lower[0] (top) … lower[n-1] (base) + upper/work, at merged */
        char **lower; /* NULL-terminated */
        size_t n_lower;
        char *upper, *work, *merged;

        /* process */
        char **args; /* NULL-terminated, n_args >= 1 */
        size_t n_args;
        char **env; /* NULL-terminated "K=V" */
        size_t n_env;
        char *cwd;  /* absolute, inside the rootfs */
        char *user; /* "uid[:gid]" or "name[:group]", resolved inside the container */
        HdCtRlimit *rlimits;
        size_t n_rlimits;

        char *hostname;

        bool userns; /* uid_map/gid_map are set (each at least one line) */
        HdCtIdMap *uid_map, *gid_map;
        size_t n_uid_map, n_gid_map;
        /* The lower layers are the host's, shared: the monitor id-maps them (a mount of
         * each through the container's maps) and mounts the overlay itself, so that
         * the image looks owned by the container's ids without a copy or a chown. */
        bool idmapped_layers;

        HdCtNetwork network;
        HdCtNet net; /* network bridge only */

        /* cgroup: "hostd/<cgroup_name>"; 0 = no limit */
        char *cgroup_name;
        int64_t memory_bytes, cpu_quota_us, cpu_period_us, pids_max;
        char *cpuset; /* CPUs to pin to, a CPU list ("0-1"); NULL: not pinned */

        /* security */
        uint64_t caps; /* bounding set as 1ULL << CAP_x */
        bool no_new_privs;
        char *seccomp_path; /* NULL: no filter */
        /* Docker's --privileged, beyond caps and seccomp (which the file says on their
         * own): no masked or read-only paths, /sys read-write, every device allowed by
         * the cgroup and the host's device nodes in /dev. Never with userns. */
        bool privileged;

        /* log: CRI format, rotated at log_max_bytes into log_max_files files in all */
        char *log_path;
        int64_t log_max_bytes; /* 0: never rotate */
        unsigned log_max_files;

        int stop_signal;
} HdCtBundle;

/* Reads and validates <dir>/config.json (types, ranges, absolute paths, known
 * capability and rlimit names, link names and addresses; unknown keys are rejected).
 * On success *ret is a new bundle the caller frees with hd_ct_bundle_free. */
int hd_ct_bundle_load(const char *dir, HdCtBundle **ret, HdError **err);
/* The same from a JSON text already in memory (tests, fuzzing); dir is recorded as
 * the bundle directory. */
int hd_ct_bundle_parse(const char *dir, const char *json, size_t len, HdCtBundle **ret,
                       HdError **err);
void hd_ct_bundle_free(HdCtBundle *b);
HD_DEFINE_CLEANUP(HdCtBundle *, hd_ct_bundle_free)

/* "CAP_CHOWN" → 0 (CAP_CHOWN); -EINVAL for an unknown name. And back (NULL if unknown). */
int hd_ct_cap_from_name(const char *name);
const char *hd_ct_cap_to_name(int cap);
/* "RLIMIT_NOFILE" → RLIMIT_NOFILE; -EINVAL for an unknown name. */
int hd_ct_rlimit_from_name(const char *name);
/* The mask (1ULL << CAP_x) of names[0..n), each "CAP_CHOWN" or "ALL"; "ALL" sets
 * *ret_all rather than bits. -EINVAL for an unknown name, with *ret_bad its index. */
int hd_ct_caps_from_names(char *const *names, size_t n, uint64_t *ret, bool *ret_all,
                          size_t *ret_bad);

/* ---- <bundle>/idmap: a user-namespaced container's host ids ------------------------- */

/* Each such container gets HD_CT_IDMAP_SIZE host ids of its own, from HD_CT_IDMAP_BASE
 * up in steps of that size, kept in its bundle for its whole life (its upper dir is
 * owned by them). */
#define HD_CT_IDMAP_FILE "idmap.json"
#define HD_CT_IDMAP_BASE 1000000u
#define HD_CT_IDMAP_SIZE 65536u

/* Reads <dir>/idmap.json: -ENOENT when the container has no range yet, -EINVAL when the
 * file does not hold one. No HdError: a caller scanning bundles skips what it cannot
 * read. */
int hd_ct_idmap_read(const char *dir, uint32_t *ret_base);
/* Writes <dir>/idmap.json atomically. */
int hd_ct_idmap_write(const char *dir, uint32_t base, HdError **err);
/* The lowest range base from HD_CT_IDMAP_BASE up (in steps of HD_CT_IDMAP_SIZE, the last
 * id below 4294967295) that overlaps none of the ranges starting at used[0..n), in any
 * order; -ENOSPC when there is none, -ENOMEM. */
int hd_ct_idmap_pick(const uint32_t *used, size_t n, uint32_t *ret);

/* ---- liveness ----------------------------------------------------------------------- */

/* Field 22 of /proc/<pid>/stat (start time in clock ticks since boot). -ENOENT (or
 * -ESRCH) when there is no such process. */
int hd_ct_pid_start_time(pid_t pid, uint64_t *ret);
/* True when pid exists and started at start_time (not a recycled pid). */
bool hd_ct_pid_alive(pid_t pid, uint64_t start_time);

/* ---- state.json --------------------------------------------------------------------- */

typedef struct HdCtState {
        pid_t monitor_pid;
        uint64_t monitor_start_time;
        pid_t pid; /* the container's init, in hostd's pid namespace */
        uint64_t start_time;
        int64_t started_at_ms; /* ms since the epoch; RFC 3339 UTC in the file */
} HdCtState;

/* Writes <dir>/state.json atomically. */
int hd_ct_state_write(const char *dir, const HdCtState *s, HdError **err);
/* Reads <dir>/state.json; -ENOENT (with err set) when the file is absent. */
int hd_ct_state_read(const char *dir, HdCtState *ret, HdError **err);
/* The container's init and its monitor, each per pid + start time. */
bool hd_ct_state_container_alive(const HdCtState *s);
bool hd_ct_state_monitor_alive(const HdCtState *s);

/* ---- exit.json ---------------------------------------------------------------------- */

typedef enum HdCtExitReason {
        HD_CT_EXIT_EXITED = 0, /* init called exit(); exit_code is its status */
        HD_CT_EXIT_SIGNAL = 1, /* killed by a signal; exit_code = 128 + signal */
        HD_CT_EXIT_OOM = 2,    /* killed (SIGKILL) while the group's oom_kills went up */
} HdCtExitReason;

typedef struct HdCtExit {
        int exit_code;
        int signal; /* 0 if none */
        HdCtExitReason reason;
        int64_t finished_at_ms;
        uint64_t oom_kills; /* during this run */
} HdCtExit;

/* "exited", "signal", "oom"; and back (-EINVAL for anything else). */
const char *hd_ct_exit_reason_to_string(HdCtExitReason r);
int hd_ct_exit_reason_from_string(const char *s, HdCtExitReason *ret);

/* Fills *ret from a waitpid() status and the OOM kills counted during the run:
 * Docker's conventions (128 + signal; "oom" for a SIGKILL with oom_kills > 0). */
void hd_ct_exit_from_wait_status(int wstatus, uint64_t oom_kills, int64_t finished_at_ms,
                                 HdCtExit *ret);

/* Writes <dir>/exit.json atomically. */
int hd_ct_exit_write(const char *dir, const HdCtExit *e, HdError **err);
/* Reads <dir>/exit.json; -ENOENT (with err set) when the file is absent. */
int hd_ct_exit_read(const char *dir, HdCtExit *ret, HdError **err);
