/* Shared between ct-cgroup.c (common parts and probe), ct-cgroup-v1.c, ct-cgroup-v2.c
 * and ct-cgroup-bpf.c. Not part of the module's contract: the unit test includes it
 * to reach the hierarchy paths and the eBPF device program directly. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ct-cgroup.h"

/* hostd's groups live in "<hierarchy root>/hostd/<name>". */
#define HD_CG_PARENT "hostd"

/* How long freeze waits for the kernel to report the new state, and destroy for the
 * group to empty. */
#define HD_CG_FREEZE_TIMEOUT_MS  5000
#define HD_CG_DESTROY_TIMEOUT_MS 2000

/* What a hierarchy carries. v1 hierarchies carry one or more controllers (or the
 * named "name=systemd" one); the cgroup2 hierarchy is HD_CG_C_UNIFIED. */
enum {
        HD_CG_C_MEMORY = 1u << 0,
        HD_CG_C_CPU = 1u << 1,
        HD_CG_C_CPUACCT = 1u << 2,
        HD_CG_C_PIDS = 1u << 3,
        HD_CG_C_DEVICES = 1u << 4,
        HD_CG_C_FREEZER = 1u << 5,
        HD_CG_C_BLKIO = 1u << 6,
        HD_CG_C_CPUSET = 1u << 7,
        HD_CG_C_SYSTEMD = 1u << 8, /* name=systemd */
        HD_CG_C_UNIFIED = 1u << 9,
};

#define HD_CG_DIRS_MAX 16

/* ---- mount table (ct-cgroup-fs.c)
 * ---------------------------------------------------------------------- */

typedef struct HdCgMount {
        char *path; /* the mount point */
        unsigned controllers;
} HdCgMount;

/* The cgroup hierarchies hostd can use: each v1 hierarchy carrying one of the
 * HD_CG_C_* controllers once (the mount of its root preferred), and the first cgroup2
 * mount (controllers HD_CG_C_UNIFIED). */
typedef struct HdCgMounts {
        HdCgMount m[HD_CG_DIRS_MAX];
        size_t n;
} HdCgMounts;

/* Parses the text of a /proc/<pid>/mountinfo. */
int hd_cg_mounts_parse(const char *mountinfo, HdCgMounts *ret);
/* Same, for /proc/self/mountinfo. */
int hd_cg_mounts_read(HdCgMounts *ret);
void hd_cg_mounts_clear(HdCgMounts *m);

/* ---- the group ------------------------------------------------------------------------ */

typedef struct HdCgDir {
        char *path;  /* "<mount>/hostd/<name>" */
        char *procs; /* path + "/cgroup.procs", formatted ahead so attach need not allocate */
        unsigned controllers;
} HdCgDir;

struct HdCtCgroup {
        HdCgroupVersion version;
        char *name;
        HdCgDir dirs[HD_CG_DIRS_MAX];
        size_t n_dirs;
};

/* The directory of the hierarchy carrying controller (v2: the one directory whatever
 * the controller), or NULL. */
const char *hd_cg_dir(const HdCtCgroup *cg, unsigned controller);
/* The directory of the cgroup2 hierarchy (v2, or a hybrid host's unified tree). */
const char *hd_cg_unified_dir(const HdCtCgroup *cg);

/* ---- files (ct-cgroup-fs.c) ----------------------------------------------------------- */

/* dir + "/" + file into buf, without allocating; -ENAMETOOLONG when it does not fit. */
int hd_cg_path(char *buf, size_t size, const char *dir, const char *file);

/* Writes value to dir/file in one write(2); -errno. */
int hd_cg_write(const char *dir, const char *file, const char *value);
/* Reads dir/file (at most 1 MiB) into a malloc()ed string; -errno. */
int hd_cg_read(const char *dir, const char *file, char **ret);
bool hd_cg_exists(const char *dir, const char *file);
/* Reads a single number; "max" (and "-1") read as 0 with *ret_max set. */
int hd_cg_read_u64(const char *dir, const char *file, uint64_t *ret, bool *ret_max);
/* The value after "key " on a line of "key value" text (cpu.stat, memory.events,
 * memory.oom_control, cpuacct.stat); -ENOENT when the key is missing. */
int hd_cg_keyed(const char *text, const char *key, uint64_t *ret);
/* Reads the pids listed in dir/cgroup.procs. */
int hd_cg_read_pids(const char *dir, pid_t **ret, size_t *ret_n);

/* word appears in text as a whole space-separated word (cgroup.controllers). */
bool hd_cg_has_word(const char *text, const char *word);

/* "rwm" → BPF_DEVCG_ACC_* bits; 0 for anything else. */
unsigned hd_cg_device_access(const char *access);
void hd_cg_sleep_ms(unsigned ms);

/* ---- v1 (ct-cgroup-v1.c) -------------------------------------------------------------- */

/* A fresh cpuset group has no cpus and no mems and takes no processes: copy its
 * parent's. No-op for other hierarchies. */
int hd_cg_v1_prepare_dir(const char *path, const char *parent, unsigned controllers);
/* Applies limits; devices only when apply_devices (the rules then are lim's, or the
 * default list when lim->devices is NULL). */
int hd_cg_v1_apply(HdCtCgroup *cg, const HdCtCgroupLimits *lim, bool apply_devices, HdError **err);
int hd_cg_v1_freeze(HdCtCgroup *cg, bool frozen, HdError **err);
/* Whether the group is frozen (or freezing). */
bool hd_cg_v1_is_frozen(HdCtCgroup *cg);
int hd_cg_v1_stats(HdCtCgroup *cg, HdCtCgroupStats *ret, HdError **err);
int hd_cg_v1_oom_kills(HdCtCgroup *cg, uint64_t *ret, HdError **err);

/* ---- v2 (ct-cgroup-v2.c) -------------------------------------------------------------- */

/* The v2 half of hd_ct_cgroup_probe() (in ct-cgroup.c), for the cgroup2 mount at root.
 * The unit test also runs it on a hybrid host's unified tree, to exercise the v2 code
 * there (without controllers). */
int hd_cg_v2_probe(const char *root, HdCtCgroupHost *ret, HdError **err);
/* Enables memory, cpu, pids, io and cpuset (those listed in dir's cgroup.controllers)
 * in dir/cgroup.subtree_control; best effort, the caller reads back what took. */
void hd_cg_v2_enable_controllers(const char *dir);
/* clone3() accepts CLONE_INTO_CGROUP (probed with a harmless call that must fail with
 * EBADF, never creating a process). */
bool hd_cg_v2_has_clone_into_cgroup(void);
int hd_cg_v2_apply(HdCtCgroup *cg, const HdCtCgroupLimits *lim, bool apply_devices, HdError **err);
int hd_cg_v2_freeze(HdCtCgroup *cg, bool frozen, HdError **err);
bool hd_cg_v2_is_frozen(HdCtCgroup *cg);
int hd_cg_v2_stats(HdCtCgroup *cg, HdCtCgroupStats *ret, HdError **err);
int hd_cg_v2_oom_kills(HdCtCgroup *cg, uint64_t *ret, HdError **err);
/* Writes "1" to cgroup.kill; -ENOENT where the kernel has none (before 5.14). */
int hd_cg_v2_kill(HdCtCgroup *cg);

/* ---- eBPF device programs (ct-cgroup-bpf.c) ------------------------------------------- */

struct bpf_insn;

/* Assembles the BPF_PROG_TYPE_CGROUP_DEVICE program for rules: the last rule that
 * matches an access decides it, and an access no rule matches is denied. *ret is
 * malloc()ed. */
int hd_cg_bpf_devices_assemble(const HdCtDeviceRule *rules, size_t n, struct bpf_insn **ret,
                               size_t *ret_n);
/* Loads the program for rules; returns its fd (O_CLOEXEC) or -errno, with the
 * verifier's log in err. */
int hd_cg_bpf_devices_load(const HdCtDeviceRule *rules, size_t n, HdError **err);
/* Loads the program for rules and attaches it to the cgroup2 directory dirfd
 * (BPF_F_ALLOW_MULTI), then detaches every other device program attached there
 * directly, so an update replaces the list. The program stays with the cgroup after
 * its fd is closed. */
int hd_cg_bpf_devices_apply(int dirfd, const HdCtDeviceRule *rules, size_t n, HdError **err);
/* Number of device programs attached directly to dirfd. */
int hd_cg_bpf_devices_count(int dirfd, size_t *ret);
/* The kernel loads cgroup device programs. */
bool hd_cg_bpf_supported(void);
