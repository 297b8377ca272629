/* cgroup v1 (and the v1 side of hybrid hosts): one directory per hierarchy, limits
 * written to each controller's own files. */
#include "ct-cgroup-internal.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "hd-util.h"

/* memory.limit_in_bytes reads back PAGE_COUNTER_MAX pages when unlimited; anything
 * this large is no limit. */
#define V1_UNLIMITED (UINT64_C(1) << 62)

static void trim(char *s)
{
        size_t len = strlen(s);
        while (len > 0 && isspace((unsigned char)s[len - 1]))
                s[--len] = '\0';
}

static int set(const char *dir, const char *file, const char *value, HdError **err)
{
        int r = hd_cg_write(dir, file, value);
        if (r < 0)
                return hd_error_set(err, r, "cannot write `%s` to `%s/%s`: %s", value, dir, file,
                                    strerror(-r));
        return 0;
}

int hd_cg_v1_prepare_dir(const char *path, const char *parent, unsigned controllers)
{
        if (!(controllers & HD_CG_C_CPUSET))
                return 0;
        static const char *const files[] = { "cpuset.cpus", "cpuset.mems" };
        for (size_t i = 0; i < HD_ARRAY_SIZE(files); i++) {
                _cleanup_free_ char *own = NULL, *inherited = NULL;
                int r = hd_cg_read(path, files[i], &own);
                if (r < 0)
                        return r;
                trim(own);
                if (own[0])
                        continue;
                r = hd_cg_read(parent, files[i], &inherited);
                if (r < 0)
                        return r;
                trim(inherited);
                if (!inherited[0])
                        continue;
                r = hd_cg_write(path, files[i], inherited);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ---- limits --------------------------------------------------------------------------- */

/* memory.memsw.limit_in_bytes may never be below memory.limit_in_bytes: lowering sets
 * memory first, raising (which memory refuses with EINVAL) sets memsw first. */
static int apply_memory(const char *dir, int64_t bytes, HdError **err)
{
        char v[32];
        if (bytes > 0)
                snprintf(v, sizeof(v), "%" PRId64, bytes);
        else
                snprintf(v, sizeof(v), "-1");
        bool memsw = hd_cg_exists(dir, "memory.memsw.limit_in_bytes");
        int r = hd_cg_write(dir, "memory.limit_in_bytes", v);
        if (r == -EINVAL && memsw) {
                r = set(dir, "memory.memsw.limit_in_bytes", v, err);
                if (r < 0)
                        return r;
                return set(dir, "memory.limit_in_bytes", v, err);
        }
        if (r < 0)
                return hd_error_set(err, r, "cannot write `%s` to `%s/memory.limit_in_bytes`: %s",
                                    v, dir, strerror(-r));
        return memsw ? set(dir, "memory.memsw.limit_in_bytes", v, err) : 0;
}

static void format_device_number(char *buf, size_t size, int64_t n)
{
        if (n < 0)
                snprintf(buf, size, "*");
        else
                snprintf(buf, size, "%" PRId64, n);
}

static int apply_device_rule(const char *dir, const HdCtDeviceRule *d, HdError **err)
{
        const char *file = d->allow ? "devices.allow" : "devices.deny";
        if (d->type == 'a') {
                /* v1's "a" switches the default and forgets the exceptions: only the
                 * whole of it can be said that way; a partial one is both c and b. */
                if (d->major < 0 && d->minor < 0 && hd_cg_device_access(d->access) == 7)
                        return set(dir, file, "a", err);
                HdCtDeviceRule c = *d, b = *d;
                c.type = 'c';
                b.type = 'b';
                int r = apply_device_rule(dir, &c, err);
                return r < 0 ? r : apply_device_rule(dir, &b, err);
        }
        char major[24], minor[24], line[80];
        format_device_number(major, sizeof(major), d->major);
        format_device_number(minor, sizeof(minor), d->minor);
        snprintf(line, sizeof(line), "%c %s:%s %s", d->type, major, minor, d->access);
        return set(dir, file, line, err);
}

int hd_cg_v1_apply(HdCtCgroup *cg, const HdCtCgroupLimits *lim, bool apply_devices, HdError **err)
{
        char v[64];
        int r;

        const char *dir = hd_cg_dir(cg, HD_CG_C_MEMORY);
        if (dir) {
                r = apply_memory(dir, lim->memory_bytes, err);
                if (r < 0)
                        return r;
        }

        dir = hd_cg_dir(cg, HD_CG_C_CPU);
        if (dir) {
                snprintf(v, sizeof(v), "%" PRId64,
                         lim->cpu_period_us ? lim->cpu_period_us : 100000);
                r = set(dir, "cpu.cfs_period_us", v, err);
                if (r < 0)
                        return r;
                if (lim->cpu_quota_us > 0)
                        snprintf(v, sizeof(v), "%" PRId64, lim->cpu_quota_us);
                else
                        snprintf(v, sizeof(v), "-1");
                r = set(dir, "cpu.cfs_quota_us", v, err);
                if (r < 0)
                        return r;
        }

        /* The group's cpus start as its parent's (hd_cg_v1_prepare_dir), mems too:
         * a pinned group narrows cpus only. */
        dir = hd_cg_dir(cg, HD_CG_C_CPUSET);
        if (dir && lim->cpuset) {
                r = set(dir, "cpuset.cpus", lim->cpuset, err);
                if (r < 0)
                        return r;
        }

        dir = hd_cg_dir(cg, HD_CG_C_PIDS);
        if (dir) {
                if (lim->pids_max > 0)
                        snprintf(v, sizeof(v), "%" PRId64, lim->pids_max);
                else
                        snprintf(v, sizeof(v), "max");
                r = set(dir, "pids.max", v, err);
                if (r < 0)
                        return r;
        }

        dir = hd_cg_dir(cg, HD_CG_C_DEVICES);
        if (apply_devices && dir) {
                const HdCtDeviceRule *rules = lim->devices;
                size_t n = lim->n_devices;
                if (!rules)
                        rules = hd_ct_cgroup_default_devices(&n);
                r = set(dir, "devices.deny", "a", err);
                for (size_t i = 0; r >= 0 && i < n; i++)
                        r = apply_device_rule(dir, &rules[i], err);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ---- freezer -------------------------------------------------------------------------- */

static int read_state(const char *dir, char state[static 16])
{
        _cleanup_free_ char *text = NULL;
        int r = hd_cg_read(dir, "freezer.state", &text);
        if (r < 0)
                return r;
        trim(text);
        snprintf(state, 16, "%s", text);
        return 0;
}

bool hd_cg_v1_is_frozen(HdCtCgroup *cg)
{
        const char *dir = hd_cg_dir(cg, HD_CG_C_FREEZER);
        char state[16];
        return dir && read_state(dir, state) == 0 && strcmp(state, "THAWED") != 0;
}

int hd_cg_v1_freeze(HdCtCgroup *cg, bool frozen, HdError **err)
{
        const char *dir = hd_cg_dir(cg, HD_CG_C_FREEZER);
        const char *want = frozen ? "FROZEN" : "THAWED";
        int64_t deadline = hd_monotonic_ms() + HD_CG_FREEZE_TIMEOUT_MS;
        for (unsigned i = 0;; i++) {
                /* A write that finds a task the freezer cannot catch yet leaves the
                 * group FREEZING; writing again retries. */
                int r;
                if (i % 16 == 0) {
                        r = set(dir, "freezer.state", want, err);
                        if (r < 0)
                                return r;
                }
                char state[16];
                r = read_state(dir, state);
                if (r < 0)
                        return hd_error_set(err, r, "cannot read `%s/freezer.state`: %s", dir,
                                            strerror(-r));
                if (strcmp(state, want) == 0)
                        return 0;
                if (hd_monotonic_ms() >= deadline) {
                        if (frozen)
                                (void)hd_cg_write(dir, "freezer.state", "THAWED");
                        return hd_error_set(err, -ETIMEDOUT, "`%s` did not become %s (it is %s)",
                                            dir, want, state);
                }
                hd_cg_sleep_ms(i < 10 ? 1 : 10);
        }
}

/* ---- statistics ----------------------------------------------------------------------- */

/* A file a controller or kernel may lack reads as nothing; other errors are errors. */
static int read_optional(const char *dir, const char *file, char **ret, HdError **err)
{
        *ret = NULL;
        if (!dir)
                return 0;
        int r = hd_cg_read(dir, file, ret);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return hd_error_set(err, r, "cannot read `%s/%s`: %s", dir, file, strerror(-r));
        return 1;
}

static int read_number(const char *dir, const char *file, uint64_t *ret, HdError **err)
{
        if (!dir || !hd_cg_exists(dir, file))
                return 0;
        bool max = false;
        int r = hd_cg_read_u64(dir, file, ret, &max);
        if (r < 0)
                return hd_error_set(err, r, "cannot read `%s/%s`: %s", dir, file, strerror(-r));
        if (max)
                *ret = 0;
        return 0;
}

int hd_cg_v1_oom_kills(HdCtCgroup *cg, uint64_t *ret, HdError **err)
{
        _cleanup_free_ char *text = NULL;
        int r = read_optional(hd_cg_dir(cg, HD_CG_C_MEMORY), "memory.oom_control", &text, err);
        if (r <= 0)
                return r;
        (void)hd_cg_keyed(text, "oom_kill", ret);
        return 0;
}

static void sum_blkio(const char *text, uint64_t *read_bytes, uint64_t *write_bytes)
{
        /* "8:0 Read 4096" per device and operation, then "Total N". */
        for (const char *line = text; line && *line;) {
                char dev[32], op[16];
                unsigned long long v;
                if (sscanf(line, "%31s %15s %llu", dev, op, &v) == 3) {
                        if (strcmp(op, "Read") == 0)
                                *read_bytes += v;
                        else if (strcmp(op, "Write") == 0)
                                *write_bytes += v;
                }
                line = strchr(line, '\n');
                if (line)
                        line++;
        }
}

int hd_cg_v1_stats(HdCtCgroup *cg, HdCtCgroupStats *s, HdError **err)
{
        if (cg->n_dirs == 0 || access(cg->dirs[0].path, F_OK) < 0)
                return hd_error_set(err, -ENOENT, "cgroup `%s/%s` does not exist", HD_CG_PARENT,
                                    cg->name);

        const char *dir = hd_cg_dir(cg, HD_CG_C_CPUACCT);
        int r = read_number(dir, "cpuacct.usage", &s->cpu_usage_ns, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *cpuacct = NULL;
        r = read_optional(dir, "cpuacct.stat", &cpuacct, err);
        if (r < 0)
                return r;
        if (r > 0) {
                /* USER_HZ ticks */
                long hz = sysconf(_SC_CLK_TCK);
                uint64_t ns_per_tick = hz > 0 ? UINT64_C(1000000000) / (uint64_t)hz : 10000000;
                uint64_t v = 0;
                if (hd_cg_keyed(cpuacct, "user", &v) == 0)
                        s->cpu_user_ns = v * ns_per_tick;
                if (hd_cg_keyed(cpuacct, "system", &v) == 0)
                        s->cpu_system_ns = v * ns_per_tick;
        }

        _cleanup_free_ char *cpu = NULL;
        r = read_optional(hd_cg_dir(cg, HD_CG_C_CPU), "cpu.stat", &cpu, err);
        if (r < 0)
                return r;
        if (r > 0) {
                (void)hd_cg_keyed(cpu, "nr_throttled", &s->cpu_throttled_periods);
                (void)hd_cg_keyed(cpu, "throttled_time", &s->cpu_throttled_ns);
        }

        dir = hd_cg_dir(cg, HD_CG_C_MEMORY);
        if ((r = read_number(dir, "memory.usage_in_bytes", &s->memory_bytes, err)) < 0 ||
            (r = read_number(dir, "memory.max_usage_in_bytes", &s->memory_peak_bytes, err)) < 0 ||
            (r = read_number(dir, "memory.limit_in_bytes", &s->memory_limit_bytes, err)) < 0)
                return r;
        if (s->memory_limit_bytes >= V1_UNLIMITED)
                s->memory_limit_bytes = 0;

        dir = hd_cg_dir(cg, HD_CG_C_PIDS);
        if ((r = read_number(dir, "pids.current", &s->pids_current, err)) < 0 ||
            (r = read_number(dir, "pids.max", &s->pids_limit, err)) < 0)
                return r;

        _cleanup_free_ char *blkio = NULL;
        r = read_optional(hd_cg_dir(cg, HD_CG_C_BLKIO), "blkio.throttle.io_service_bytes", &blkio,
                          err);
        if (r < 0)
                return r;
        if (r > 0)
                sum_blkio(blkio, &s->io_read_bytes, &s->io_write_bytes);

        return hd_cg_v1_oom_kills(cg, &s->oom_kills, err);
}
