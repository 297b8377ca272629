/* cgroups for containers, on a pure v2 hierarchy or on v1/hybrid hosts.
 *
 * libc only (no jansson, no SQLite): hostd and the per-container monitor both link
 * it. Paths are relative names under hostd's own subtree, "hostd/<uuid>"; the
 * module finds the mount points itself from /proc/self/mountinfo.
 *
 * Errors: int < 0 (-errno) plus HdError naming the file and the problem. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "hd-error.h"

typedef enum HdCgroupVersion {
        HD_CGROUP_V1 = 1, /* v1 controllers (a hybrid host's empty v2 tree is joined too) */
        HD_CGROUP_V2 = 2, /* unified hierarchy mounted at /sys/fs/cgroup */
} HdCgroupVersion;

typedef struct HdCtCgroupHost {
        HdCgroupVersion version;
        bool has_memory, has_cpu, has_pids, has_devices, has_freezer, has_io;
        bool has_cpuset;            /* CPU pinning (v1 cpuset; v2 the cpuset controller) */
        bool has_clone_into_cgroup; /* v2 and clone3 accepts CLONE_INTO_CGROUP */
        char v2_root[256];          /* cgroup2 mount point (hybrid: the unified tree), "" if none */
} HdCtCgroupHost;

/* Probes the host: which version, which controllers are usable for hostd. On v2 it
 * enables the controllers hostd needs (memory, cpu, pids, io, cpuset) in the
 * subtree_control files down to "hostd/". Creates the "hostd/" parent in every
 * hierarchy it finds (v1: memory, cpu, cpuacct, pids, devices, freezer, blkio,
 * cpuset, name=systemd, and a hybrid host's unified tree); a v1 cpuset parent gets
 * its parent's cpus and mems. Idempotent. */
int hd_ct_cgroup_probe(HdCtCgroupHost *ret, HdError **err);

/* One device rule; type 'c', 'b' or 'a'; major/minor -1 for any; access "rwm". In a
 * list the last rule that matches an access decides it; what none matches is denied
 * (v1: "a" is denied first, then each rule written in order). */
typedef struct HdCtDeviceRule {
        char type;
        int64_t major, minor;
        char access[4];
        bool allow;
} HdCtDeviceRule;

typedef struct HdCtCgroupLimits {
        int64_t memory_bytes;  /* 0: no limit; swap is limited to the same figure */
        int64_t cpu_quota_us;  /* 0: no limit; per cpu_period_us */
        int64_t cpu_period_us; /* 100000 when 0 */
        int64_t pids_max;      /* 0: no limit */
        /* CPUs the group may run on, a CPU list ("0-1,4", hd_cpulist_parse's form):
         * cpuset.cpus. NULL: left as it is (at create: all of hostd/'s). The CPUs
         * must be in hostd/'s own set, or the kernel refuses them (-EINVAL). */
        const char *cpuset;
        /* Device allow-list; everything not allowed is denied. NULL and 0: the
         * default container list of hd_ct_cgroup_default_devices(). */
        const HdCtDeviceRule *devices;
        size_t n_devices;
} HdCtCgroupLimits;

/* null, zero, full, random, urandom, tty, ptmx, pts/N, and mknod of any c/b
 * (as Docker allows, since the device access itself is what is filtered). */
const HdCtDeviceRule *hd_ct_cgroup_default_devices(size_t *ret_n);

typedef struct HdCtCgroup HdCtCgroup;

/* Creates "hostd/<name>" in every hierarchy in use and applies the limits (lim NULL:
 * none, and the default devices). An existing group of that name is an error
 * (-EEXIST); a limit the host cannot enforce (its controller is missing) is
 * -EOPNOTSUPP; -EINVAL for a bad name or limit (err->field names it). On failure
 * nothing is left behind. */
int hd_ct_cgroup_create(const HdCtCgroupHost *h, const char *name, const HdCtCgroupLimits *lim,
                        HdCtCgroup **ret, HdError **err);
/* Opens an existing group (after a hostd restart). -ENOENT when it is gone from every
 * hierarchy; one half removed opens, so that destroy can finish. */
int hd_ct_cgroup_open(const HdCtCgroupHost *h, const char *name, HdCtCgroup **ret, HdError **err);
void hd_ct_cgroup_free(HdCtCgroup *cg);
HD_DEFINE_CLEANUP(HdCtCgroup *, hd_ct_cgroup_free)

/* v2: an O_DIRECTORY|O_CLOEXEC fd of the group, for clone3(CLONE_INTO_CGROUP);
 * the caller owns it. -EOPNOTSUPP on v1. */
int hd_ct_cgroup_open_dirfd(HdCtCgroup *cg, HdError **err);
/* Moves a process into the group in every hierarchy. Async-signal-safe once the
 * group is created (no allocation): the monitor calls it between clone and the
 * child's go signal. 0 or -errno (no HdError: nothing may be allocated). */
int hd_ct_cgroup_attach(HdCtCgroup *cg, pid_t pid);
/* Live update of the limits (PATCH): memory, cpu and pids are all set as given (0 lifts
 * the limit); the CPU list only when lim->cpuset is non-NULL; the device list only when
 * lim->devices is non-NULL (v2: the new program replaces the old one once attached). */
int hd_ct_cgroup_update(HdCtCgroup *cg, const HdCtCgroupLimits *lim, HdError **err);

/* The freezer: v2 cgroup.freeze (waits for "frozen 1" in cgroup.events), v1 freezer.state
 * (waits for it to read back). The wait is bounded (5 s): -ETIMEDOUT, and a freeze
 * that did not finish is undone. -EOPNOTSUPP without a freezer. */
int hd_ct_cgroup_freeze(HdCtCgroup *cg, bool frozen, HdError **err);

typedef struct HdCtCgroupStats {
        uint64_t cpu_usage_ns, cpu_user_ns, cpu_system_ns;
        uint64_t cpu_throttled_periods, cpu_throttled_ns;
        uint64_t memory_bytes, memory_peak_bytes, memory_limit_bytes; /* limit 0: none */
        uint64_t pids_current, pids_limit;                            /* limit 0: none */
        uint64_t io_read_bytes, io_write_bytes;
        uint64_t oom_kills;
} HdCtCgroupStats;
/* What the kernel counts for the group; a figure this host does not keep reads 0.
 * -ENOENT when the group is gone. */
int hd_ct_cgroup_stats(HdCtCgroup *cg, HdCtCgroupStats *ret, HdError **err);

/* Count of OOM kills in the group so far (v2 memory.events oom_kill, v1
 * memory.oom_control oom_kill). */
int hd_ct_cgroup_oom_kills(HdCtCgroup *cg, uint64_t *ret, HdError **err);

/* The pids in the group (v1: every hierarchy's cgroup.procs, merged), sorted.
 * *ret is malloc()ed (NULL when the group is empty): free() it. -ENOENT when the
 * group is gone. */
int hd_ct_cgroup_pids(HdCtCgroup *cg, pid_t **ret, size_t *ret_n, HdError **err);

/* Signals every process in the group (v2 cgroup.kill for SIGKILL where present;
 * otherwise freeze, signal each pid, thaw). A group the caller froze stays frozen,
 * except after SIGKILL, which needs the processes thawed to die. */
int hd_ct_cgroup_kill(HdCtCgroup *cg, int sig, HdError **err);

/* Removes the group from every hierarchy, killing what is left first and waiting
 * (bounded, ~2 s) for it to empty. Idempotent: a group already gone is success. */
int hd_ct_cgroup_destroy(HdCtCgroup *cg, HdError **err);
