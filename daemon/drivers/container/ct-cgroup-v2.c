/* cgroup v2: one directory, "hostd/<name>" under the unified mount, with the
 * controllers enabled in hostd/'s cgroup.subtree_control by the probe, and the device
 * allow-list as an eBPF program (ct-cgroup-bpf.c). */
#include "ct-cgroup-internal.h"

#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "hd-util.h"

static int set(const char *dir, const char *file, const char *value, HdError **err)
{
        int r = hd_cg_write(dir, file, value);
        if (r < 0)
                return hd_error_set(err, r, "cannot write `%s` to `%s/%s`: %s", value, dir, file,
                                    strerror(-r));
        return 0;
}

/* ---- probe ---------------------------------------------------------------------------- */

void hd_cg_v2_enable_controllers(const char *dir)
{
        /* cpuset is for pinning: a group that writes no cpuset.cpus keeps its parent's
         * CPUs and memory nodes. */
        static const char *const wanted[] = { "memory", "cpu", "pids", "io", "cpuset" };
        _cleanup_free_ char *available = NULL;
        if (hd_cg_read(dir, "cgroup.controllers", &available) < 0)
                return;
        char all[64] = "";
        for (size_t i = 0; i < HD_ARRAY_SIZE(wanted); i++) {
                if (!hd_cg_has_word(available, wanted[i]))
                        continue;
                size_t len = strlen(all);
                snprintf(all + len, sizeof(all) - len, "%s+%s", len ? " " : "", wanted[i]);
        }
        if (!all[0] || hd_cg_write(dir, "cgroup.subtree_control", all) == 0)
                return;
        /* One refused must not keep the others off. */
        for (size_t i = 0; i < HD_ARRAY_SIZE(wanted); i++) {
                char one[16];
                snprintf(one, sizeof(one), "+%s", wanted[i]);
                if (hd_cg_has_word(available, wanted[i]))
                        (void)hd_cg_write(dir, "cgroup.subtree_control", one);
        }
}

/* struct clone_args of <linux/sched.h> up to CLONE_ARGS_SIZE_VER2, spelled out so that
 * no kernel header has to agree with glibc's <sched.h>. */
struct hd_clone_args {
        uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
        uint64_t set_tid, set_tid_size, cgroup;
};
#define HD_CLONE_INTO_CGROUP 0x200000000ULL

bool hd_cg_v2_has_clone_into_cgroup(void)
{
#ifdef SYS_clone3
        /* "/" is no cgroup: a kernel that knows the flag refuses the fd with EBADF
         * before any process exists; one that does not says EINVAL, and ENOSYS where
         * there is no clone3 (or a seccomp filter or valgrind hides it). */
        _cleanup_close_ int fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return false;
        struct hd_clone_args args = {
                .flags = HD_CLONE_INTO_CGROUP,
                .exit_signal = SIGCHLD,
                .cgroup = (uint64_t)fd,
        };
        long pid = syscall(SYS_clone3, &args, sizeof(args));
        if (pid == 0)
                _exit(0); /* cannot happen; never run on in a copy of the caller */
        if (pid > 0) {
                while (waitpid((pid_t)pid, NULL, 0) < 0 && errno == EINTR)
                        ;
                return true;
        }
        return errno == EBADF;
#else
        return false;
#endif
}

/* ---- limits --------------------------------------------------------------------------- */

int hd_cg_v2_apply(HdCtCgroup *cg, const HdCtCgroupLimits *lim, bool apply_devices, HdError **err)
{
        const char *dir = cg->dirs[0].path;
        char v[64];
        int r;

        if (hd_cg_dir(cg, HD_CG_C_MEMORY)) {
                if (lim->memory_bytes > 0)
                        snprintf(v, sizeof(v), "%" PRId64, lim->memory_bytes);
                else
                        snprintf(v, sizeof(v), "max");
                r = set(dir, "memory.max", v, err);
                if (r < 0)
                        return r;
                /* memory.swap.max is swap on top of memory.max: none, so that the
                 * total is the memory figure (where swap is accounted at all). */
                if (hd_cg_exists(dir, "memory.swap.max")) {
                        r = set(dir, "memory.swap.max", lim->memory_bytes > 0 ? "0" : "max", err);
                        if (r < 0)
                                return r;
                }
        }

        if (hd_cg_dir(cg, HD_CG_C_CPU)) {
                int64_t period = lim->cpu_period_us ? lim->cpu_period_us : 100000;
                if (lim->cpu_quota_us > 0)
                        snprintf(v, sizeof(v), "%" PRId64 " %" PRId64, lim->cpu_quota_us, period);
                else
                        snprintf(v, sizeof(v), "max %" PRId64, period);
                r = set(dir, "cpu.max", v, err);
                if (r < 0)
                        return r;
        }

        /* Only when asked: an empty cpuset.cpus is the parent's CPUs. */
        if (lim->cpuset && hd_cg_dir(cg, HD_CG_C_CPUSET)) {
                r = set(dir, "cpuset.cpus", lim->cpuset, err);
                if (r < 0)
                        return r;
        }

        if (hd_cg_dir(cg, HD_CG_C_PIDS)) {
                if (lim->pids_max > 0)
                        snprintf(v, sizeof(v), "%" PRId64, lim->pids_max);
                else
                        snprintf(v, sizeof(v), "max");
                r = set(dir, "pids.max", v, err);
                if (r < 0)
                        return r;
        }

        if (apply_devices) {
                const HdCtDeviceRule *rules = lim->devices;
                size_t n = lim->n_devices;
                if (!rules)
                        rules = hd_ct_cgroup_default_devices(&n);
                _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (dfd < 0)
                        return hd_error_set(err, -errno, "cannot open `%s`: %s", dir,
                                            strerror(errno));
                r = hd_cg_bpf_devices_apply(dfd, rules, n, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ---- freezer -------------------------------------------------------------------------- */

/* What was asked for (cgroup.freeze), not whether the kernel is done. */
bool hd_cg_v2_is_frozen(HdCtCgroup *cg)
{
        uint64_t v = 0;
        return hd_cg_read_u64(cg->dirs[0].path, "cgroup.freeze", &v, NULL) == 0 && v == 1;
}

int hd_cg_v2_freeze(HdCtCgroup *cg, bool frozen, HdError **err)
{
        const char *dir = cg->dirs[0].path;
        int r = set(dir, "cgroup.freeze", frozen ? "1" : "0", err);
        if (r < 0)
                return r;
        int64_t deadline = hd_monotonic_ms() + HD_CG_FREEZE_TIMEOUT_MS;
        for (unsigned i = 0;; i++) {
                _cleanup_free_ char *events = NULL;
                uint64_t state = 2;
                r = hd_cg_read(dir, "cgroup.events", &events);
                if (r < 0)
                        return hd_error_set(err, r, "cannot read `%s/cgroup.events`: %s", dir,
                                            strerror(-r));
                (void)hd_cg_keyed(events, "frozen", &state);
                if (state == (frozen ? 1 : 0))
                        return 0;
                if (hd_monotonic_ms() >= deadline) {
                        if (frozen)
                                (void)hd_cg_write(dir, "cgroup.freeze", "0");
                        return hd_error_set(err, -ETIMEDOUT, "`%s` did not become %s", dir,
                                            frozen ? "frozen" : "thawed");
                }
                hd_cg_sleep_ms(i < 10 ? 1 : 10);
        }
}

int hd_cg_v2_kill(HdCtCgroup *cg)
{
        if (!hd_cg_exists(cg->dirs[0].path, "cgroup.kill"))
                return -ENOENT;
        return hd_cg_write(cg->dirs[0].path, "cgroup.kill", "1");
}

/* ---- statistics ----------------------------------------------------------------------- */

static int read_optional(const char *dir, const char *file, char **ret, HdError **err)
{
        *ret = NULL;
        int r = hd_cg_read(dir, file, ret);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return hd_error_set(err, r, "cannot read `%s/%s`: %s", dir, file, strerror(-r));
        return 1;
}

static int read_number(const char *dir, const char *file, uint64_t *ret, HdError **err)
{
        if (!hd_cg_exists(dir, file))
                return 0;
        bool max = false;
        int r = hd_cg_read_u64(dir, file, ret, &max);
        if (r < 0)
                return hd_error_set(err, r, "cannot read `%s/%s`: %s", dir, file, strerror(-r));
        if (max)
                *ret = 0;
        return 0;
}

int hd_cg_v2_oom_kills(HdCtCgroup *cg, uint64_t *ret, HdError **err)
{
        _cleanup_free_ char *text = NULL;
        int r = read_optional(cg->dirs[0].path, "memory.events", &text, err);
        if (r <= 0)
                return r;
        (void)hd_cg_keyed(text, "oom_kill", ret);
        return 0;
}

/* "8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0" per device. */
static void sum_io(const char *text, uint64_t *read_bytes, uint64_t *write_bytes)
{
        for (const char *p = text; *p;) {
                size_t len = strcspn(p, " \n");
                unsigned long long v;
                if (len > 7 && strncmp(p, "rbytes=", 7) == 0 && sscanf(p + 7, "%llu", &v) == 1)
                        *read_bytes += v;
                else if (len > 7 && strncmp(p, "wbytes=", 7) == 0 && sscanf(p + 7, "%llu", &v) == 1)
                        *write_bytes += v;
                p += len;
                if (*p)
                        p++;
        }
}

int hd_cg_v2_stats(HdCtCgroup *cg, HdCtCgroupStats *s, HdError **err)
{
        const char *dir = cg->dirs[0].path;
        if (access(dir, F_OK) < 0)
                return hd_error_set(err, -ENOENT, "cgroup `%s/%s` does not exist", HD_CG_PARENT,
                                    cg->name);

        _cleanup_free_ char *cpu = NULL;
        int r = read_optional(dir, "cpu.stat", &cpu, err);
        if (r < 0)
                return r;
        if (r > 0) {
                uint64_t v;
                if (hd_cg_keyed(cpu, "usage_usec", &v) == 0)
                        s->cpu_usage_ns = v * 1000;
                if (hd_cg_keyed(cpu, "user_usec", &v) == 0)
                        s->cpu_user_ns = v * 1000;
                if (hd_cg_keyed(cpu, "system_usec", &v) == 0)
                        s->cpu_system_ns = v * 1000;
                if (hd_cg_keyed(cpu, "throttled_usec", &v) == 0)
                        s->cpu_throttled_ns = v * 1000;
                (void)hd_cg_keyed(cpu, "nr_throttled", &s->cpu_throttled_periods);
        }

        if ((r = read_number(dir, "memory.current", &s->memory_bytes, err)) < 0 ||
            (r = read_number(dir, "memory.peak", &s->memory_peak_bytes, err)) < 0 ||
            (r = read_number(dir, "memory.max", &s->memory_limit_bytes, err)) < 0 ||
            (r = read_number(dir, "pids.current", &s->pids_current, err)) < 0 ||
            (r = read_number(dir, "pids.max", &s->pids_limit, err)) < 0)
                return r;

        _cleanup_free_ char *io = NULL;
        r = read_optional(dir, "io.stat", &io, err);
        if (r < 0)
                return r;
        if (r > 0)
                sum_io(io, &s->io_read_bytes, &s->io_write_bytes);

        return hd_cg_v2_oom_kills(cg, &s->oom_kills, err);
}
