/* cgroups for containers: the probe, the group's life and the dispatch to
 * ct-cgroup-v1.c and ct-cgroup-v2.c (file helpers and the mount table are in
 * ct-cgroup-fs.c). See ct-cgroup.h for the contract. */
#include "ct-cgroup-internal.h"

#include <ctype.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "hd-util.h"

/* ---- probe ---------------------------------------------------------------------------- */

#define V1_RESOURCE_CONTROLLERS                                                            \
        (HD_CG_C_MEMORY | HD_CG_C_CPU | HD_CG_C_CPUACCT | HD_CG_C_PIDS | HD_CG_C_DEVICES | \
         HD_CG_C_FREEZER | HD_CG_C_BLKIO | HD_CG_C_CPUSET)

/* mkdir "<mount>/hostd"; a cpuset parent gets its parent's cpus and mems. */
static int ensure_parent(const char *mount, unsigned controllers, HdError **err)
{
        char parent[PATH_MAX];
        int r = hd_cg_path(parent, sizeof(parent), mount, HD_CG_PARENT);
        if (r < 0)
                return hd_error_set(err, r, "cgroup mount `%s`: path too long", mount);
        if (mkdir(parent, 0755) < 0 && errno != EEXIST)
                return hd_error_set(err, -errno, "cannot create `%s`: %s", parent, strerror(errno));
        r = hd_cg_v1_prepare_dir(parent, mount, controllers);
        if (r < 0)
                return hd_error_set(err, r, "cannot set up cpuset `%s`: %s", parent, strerror(-r));
        return 0;
}

int hd_ct_cgroup_probe(HdCtCgroupHost *ret, HdError **err)
{
        _cleanup_(hd_cg_mounts_clear) HdCgMounts mounts = { .n = 0 };
        int r = hd_cg_mounts_read(&mounts);
        if (r < 0)
                return hd_error_set(err, r, "cannot read the mount table: %s", strerror(-r));

        HdCtCgroupHost h = { .version = HD_CGROUP_V1 };
        unsigned v1 = 0;
        const char *unified = NULL;
        for (size_t i = 0; i < mounts.n; i++) {
                if (mounts.m[i].controllers == HD_CG_C_UNIFIED)
                        unified = mounts.m[i].path;
                else
                        v1 |= mounts.m[i].controllers;
        }
        if (unified) {
                int n = snprintf(h.v2_root, sizeof(h.v2_root), "%s", unified);
                if (n < 0 || (size_t)n >= sizeof(h.v2_root))
                        return hd_error_set(err, -ENAMETOOLONG, "cgroup2 mount point too long");
        }

        if (v1 & V1_RESOURCE_CONTROLLERS) {
                /* v1 or hybrid: the controllers are where they are mounted; the
                 * unified tree, when there is one, is joined without controllers. */
                h.version = HD_CGROUP_V1;
                h.has_memory = v1 & HD_CG_C_MEMORY;
                h.has_cpu = v1 & HD_CG_C_CPU;
                h.has_pids = v1 & HD_CG_C_PIDS;
                h.has_devices = v1 & HD_CG_C_DEVICES;
                h.has_freezer = v1 & HD_CG_C_FREEZER;
                h.has_io = v1 & HD_CG_C_BLKIO;
                h.has_cpuset = v1 & HD_CG_C_CPUSET;
                for (size_t i = 0; i < mounts.n; i++) {
                        r = ensure_parent(mounts.m[i].path, mounts.m[i].controllers, err);
                        if (r < 0)
                                return r;
                }
                *ret = h;
                return 0;
        }
        if (!unified)
                return hd_error_set(err, -ENOENT, "no cgroup file system is mounted");
        return hd_cg_v2_probe(unified, ret, err);
}

int hd_cg_v2_probe(const char *root, HdCtCgroupHost *ret, HdError **err)
{
        HdCtCgroupHost h = { .version = HD_CGROUP_V2 };
        int n = snprintf(h.v2_root, sizeof(h.v2_root), "%s", root);
        if (n < 0 || (size_t)n >= sizeof(h.v2_root))
                return hd_error_set(err, -ENAMETOOLONG, "cgroup2 mount point too long");

        /* Enable what hostd needs down to hostd/, then see what took. */
        hd_cg_v2_enable_controllers(h.v2_root);
        int r = ensure_parent(h.v2_root, HD_CG_C_UNIFIED, err);
        if (r < 0)
                return r;
        char parent[PATH_MAX];
        r = hd_cg_path(parent, sizeof(parent), h.v2_root, HD_CG_PARENT);
        if (r < 0)
                return hd_error_set(err, r, "cgroup2 mount point too long");
        hd_cg_v2_enable_controllers(parent);
        _cleanup_free_ char *enabled = NULL;
        r = hd_cg_read(parent, "cgroup.subtree_control", &enabled);
        if (r < 0)
                return hd_error_set(err, r, "cannot read `%s/cgroup.subtree_control`: %s", parent,
                                    strerror(-r));
        h.has_memory = hd_cg_has_word(enabled, "memory");
        h.has_cpu = hd_cg_has_word(enabled, "cpu");
        h.has_pids = hd_cg_has_word(enabled, "pids");
        h.has_io = hd_cg_has_word(enabled, "io");
        h.has_cpuset = hd_cg_has_word(enabled, "cpuset");
        h.has_freezer = hd_cg_exists(parent, "cgroup.freeze");
        h.has_devices = hd_cg_bpf_supported();
        h.has_clone_into_cgroup = hd_cg_v2_has_clone_into_cgroup();
        *ret = h;
        return 0;
}

/* ---- validation ----------------------------------------------------------------------- */

/* Names become one path component: uuids, and the like. */
static bool name_is_valid(const char *name)
{
        size_t len = strlen(name);
        if (len == 0 || len > 128 || name[0] == '.' || name[0] == '-')
                return false;
        for (const char *p = name; *p; p++)
                if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' && *p != '.')
                        return false;
        return true;
}

static int validate_devices(const HdCtDeviceRule *rules, size_t n, HdError **err)
{
        if (n && !rules)
                return hd_error_set_field(err, -EINVAL, "devices", "n_devices without devices");
        for (size_t i = 0; i < n; i++) {
                const HdCtDeviceRule *d = &rules[i];
                if (d->type != 'a' && d->type != 'b' && d->type != 'c')
                        return hd_error_set_field(err, -EINVAL, "devices",
                                                  "device type must be `a`, `b` or `c`");
                if (d->major < -1 || d->major > INT32_MAX || d->minor < -1 || d->minor > INT32_MAX)
                        return hd_error_set_field(err, -EINVAL, "devices",
                                                  "device number out of range");
                if (!memchr(d->access, '\0', sizeof(d->access)) ||
                    hd_cg_device_access(d->access) == 0)
                        return hd_error_set_field(err, -EINVAL, "devices",
                                                  "device access must be letters of `rwm`");
        }
        return 0;
}

static int validate_limits(const HdCtCgroupLimits *lim, HdError **err)
{
        if (lim->memory_bytes < 0)
                return hd_error_set_field(err, -EINVAL, "memory_bytes", "must not be negative");
        if (lim->cpu_quota_us < 0 || (lim->cpu_quota_us > 0 && lim->cpu_quota_us < 1000))
                return hd_error_set_field(err, -EINVAL, "cpu_quota_us",
                                          "must be 0 or at least 1000");
        if (lim->cpu_period_us != 0 && (lim->cpu_period_us < 1000 || lim->cpu_period_us > 1000000))
                return hd_error_set_field(err, -EINVAL, "cpu_period_us",
                                          "must be between 1000 and 1000000");
        if (lim->pids_max < 0)
                return hd_error_set_field(err, -EINVAL, "pids_max", "must not be negative");
        HdCpuMask cpus;
        if (lim->cpuset && hd_cpulist_parse(lim->cpuset, &cpus) < 0)
                return hd_error_set_field(err, -EINVAL, "cpuset",
                                          "must be a CPU list (`0`, `0-3`, `0,2,4-5`)");
        return validate_devices(lim->devices, lim->n_devices, err);
}

/* Refuses limits the host cannot enforce rather than dropping them. */
static int check_supported(const HdCtCgroup *cg, const HdCtCgroupLimits *lim, bool apply_devices,
                           HdError **err)
{
        bool v2 = cg->version == HD_CGROUP_V2;
        if (lim->memory_bytes > 0 && !hd_cg_dir(cg, HD_CG_C_MEMORY))
                return hd_error_set(err, -EOPNOTSUPP, "the memory controller is not available");
        if (lim->cpu_quota_us > 0 && !hd_cg_dir(cg, HD_CG_C_CPU))
                return hd_error_set(err, -EOPNOTSUPP, "the cpu controller is not available");
        if (lim->pids_max > 0 && !hd_cg_dir(cg, HD_CG_C_PIDS))
                return hd_error_set(err, -EOPNOTSUPP, "the pids controller is not available");
        if (lim->cpuset && !hd_cg_dir(cg, HD_CG_C_CPUSET))
                return hd_error_set(err, -EOPNOTSUPP, "the cpuset controller is not available");
        if (apply_devices && !v2 && !hd_cg_dir(cg, HD_CG_C_DEVICES))
                return hd_error_set(err, -EOPNOTSUPP, "the devices controller is not available");
        return 0;
}

/* ---- the group ------------------------------------------------------------------------ */

const char *hd_cg_dir(const HdCtCgroup *cg, unsigned controller)
{
        if (cg->version == HD_CGROUP_V2) {
                if (cg->n_dirs == 0)
                        return NULL;
                /* One directory; a controller not enabled shows no files there. */
                const char *d = cg->dirs[0].path;
                switch (controller) {
                case HD_CG_C_MEMORY:
                        return hd_cg_exists(d, "memory.max") ? d : NULL;
                case HD_CG_C_CPU:
                        return hd_cg_exists(d, "cpu.max") ? d : NULL;
                case HD_CG_C_PIDS:
                        return hd_cg_exists(d, "pids.max") ? d : NULL;
                case HD_CG_C_BLKIO:
                        return hd_cg_exists(d, "io.stat") ? d : NULL;
                case HD_CG_C_FREEZER:
                        return hd_cg_exists(d, "cgroup.freeze") ? d : NULL;
                case HD_CG_C_CPUSET:
                        return hd_cg_exists(d, "cpuset.cpus") ? d : NULL;
                default:
                        return d;
                }
        }
        for (size_t i = 0; i < cg->n_dirs; i++)
                if (cg->dirs[i].controllers & controller)
                        return cg->dirs[i].path;
        return NULL;
}

const char *hd_cg_unified_dir(const HdCtCgroup *cg)
{
        for (size_t i = 0; i < cg->n_dirs; i++)
                if (cg->dirs[i].controllers & HD_CG_C_UNIFIED)
                        return cg->dirs[i].path;
        return NULL;
}

void hd_ct_cgroup_free(HdCtCgroup *cg)
{
        if (!cg)
                return;
        for (size_t i = 0; i < cg->n_dirs; i++) {
                free(cg->dirs[i].path);
                free(cg->dirs[i].procs);
        }
        free(cg->name);
        free(cg);
}

static int add_dir(HdCtCgroup *cg, const char *mount, unsigned controllers)
{
        if (cg->n_dirs == HD_CG_DIRS_MAX)
                return -E2BIG;
        HdCgDir *d = &cg->dirs[cg->n_dirs];
        if (asprintf(&d->path, "%s/" HD_CG_PARENT "/%s", mount, cg->name) < 0) {
                d->path = NULL;
                return -ENOMEM;
        }
        if (asprintf(&d->procs, "%s/cgroup.procs", d->path) < 0) {
                free(d->path);
                d->path = NULL;
                return -ENOMEM;
        }
        d->controllers = controllers;
        cg->n_dirs++;
        return 0;
}

/* The group's directories (not touching the file system). */
static int group_new(const HdCtCgroupHost *h, const char *name, HdCtCgroup **ret, HdError **err)
{
        if (!name_is_valid(name))
                return hd_error_set_field(err, -EINVAL, "name", "invalid cgroup name `%s`", name);
        if (h->version != HD_CGROUP_V1 && h->version != HD_CGROUP_V2)
                return hd_error_set(err, -EINVAL, "unknown cgroup version %d", (int)h->version);
        if (h->version == HD_CGROUP_V2 && !h->v2_root[0])
                return hd_error_set(err, -EINVAL, "cgroup v2 without a mount point");

        _cleanup_(hd_ct_cgroup_freep) HdCtCgroup *cg = calloc(1, sizeof(*cg));
        if (!cg || !(cg->name = strdup(name)))
                return hd_error_set(err, -ENOMEM, "out of memory");
        cg->version = h->version;

        int r = 0;
        if (h->version == HD_CGROUP_V2) {
                r = add_dir(cg, h->v2_root, HD_CG_C_UNIFIED);
        } else {
                _cleanup_(hd_cg_mounts_clear) HdCgMounts mounts = { .n = 0 };
                r = hd_cg_mounts_read(&mounts);
                if (r < 0)
                        return hd_error_set(err, r, "cannot read the mount table: %s",
                                            strerror(-r));
                for (size_t i = 0; i < mounts.n && r >= 0; i++)
                        if (mounts.m[i].controllers != HD_CG_C_UNIFIED)
                                r = add_dir(cg, mounts.m[i].path, mounts.m[i].controllers);
                if (r >= 0 && h->v2_root[0])
                        r = add_dir(cg, h->v2_root, HD_CG_C_UNIFIED);
        }
        if (r < 0)
                return hd_error_set(err, r, "cgroup `%s`: %s", name, strerror(-r));
        *ret = TAKE_PTR(cg);
        return 0;
}

static int apply(HdCtCgroup *cg, const HdCtCgroupLimits *lim, bool apply_devices, HdError **err)
{
        int r = check_supported(cg, lim, apply_devices, err);
        if (r < 0)
                return r;
        if (cg->version == HD_CGROUP_V2)
                return hd_cg_v2_apply(cg, lim, apply_devices, err);
        return hd_cg_v1_apply(cg, lim, apply_devices, err);
}

int hd_ct_cgroup_create(const HdCtCgroupHost *h, const char *name, const HdCtCgroupLimits *lim,
                        HdCtCgroup **ret, HdError **err)
{
        static const HdCtCgroupLimits none = { .memory_bytes = 0 };
        if (!lim)
                lim = &none;
        int r = validate_limits(lim, err);
        if (r < 0)
                return r;
        _cleanup_(hd_ct_cgroup_freep) HdCtCgroup *cg = NULL;
        r = group_new(h, name, &cg, err);
        if (r < 0)
                return r;

        bool made[HD_CG_DIRS_MAX] = { false };
        for (size_t i = 0; i < cg->n_dirs && r >= 0; i++) {
                HdCgDir *d = &cg->dirs[i];
                char parent[PATH_MAX];
                snprintf(parent, sizeof(parent), "%s", d->path);
                *strrchr(parent, '/') = '\0';
                char mount[PATH_MAX];
                snprintf(mount, sizeof(mount), "%s", parent);
                *strrchr(mount, '/') = '\0';

                r = ensure_parent(mount, d->controllers, err);
                if (r < 0)
                        break;
                if (mkdir(d->path, 0755) < 0) {
                        r = -errno;
                        if (r == -EEXIST)
                                hd_error_set(err, r, "it already exists");
                        else
                                hd_error_set(err, r, "cannot create `%s`: %s", d->path,
                                             strerror(-r));
                        break;
                }
                made[i] = true;
                r = hd_cg_v1_prepare_dir(d->path, parent, d->controllers);
                if (r < 0)
                        hd_error_set(err, r, "cannot set up cpuset `%s`: %s", d->path,
                                     strerror(-r));
        }
        if (r >= 0)
                r = apply(cg, lim, true, err);
        if (r < 0) {
                for (size_t i = cg->n_dirs; i-- > 0;)
                        if (made[i])
                                (void)rmdir(cg->dirs[i].path);
                return hd_error_wrap(err, "cgroup `%s/%s`", HD_CG_PARENT, name);
        }
        *ret = TAKE_PTR(cg);
        return 0;
}

static bool is_dir(const char *path)
{
        struct stat st;
        return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int hd_ct_cgroup_open(const HdCtCgroupHost *h, const char *name, HdCtCgroup **ret, HdError **err)
{
        _cleanup_(hd_ct_cgroup_freep) HdCtCgroup *cg = NULL;
        int r = group_new(h, name, &cg, err);
        if (r < 0)
                return r;
        /* A group half removed (hostd died in destroy) still opens, so that destroy
         * can finish the job. */
        bool any = false;
        for (size_t i = 0; i < cg->n_dirs; i++)
                any |= is_dir(cg->dirs[i].path);
        if (!any)
                return hd_error_set(err, -ENOENT, "cgroup `%s/%s` does not exist", HD_CG_PARENT,
                                    name);
        *ret = TAKE_PTR(cg);
        return 0;
}

int hd_ct_cgroup_open_dirfd(HdCtCgroup *cg, HdError **err)
{
        if (cg->version != HD_CGROUP_V2)
                return hd_error_set(err, -EOPNOTSUPP, "no cgroup directory fd on cgroup v1");
        int fd = open(cg->dirs[0].path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return hd_error_set(err, -errno, "cannot open `%s`: %s", cg->dirs[0].path,
                                    strerror(errno));
        return fd;
}

/* Async-signal-safe: no allocation, no stdio. */
int hd_ct_cgroup_attach(HdCtCgroup *cg, pid_t pid)
{
        if (pid <= 0)
                return -EINVAL;
        char buf[16];
        size_t len = 0;
        char tmp[16];
        for (unsigned long v = (unsigned long)pid; v; v /= 10)
                tmp[len++] = (char)('0' + v % 10);
        for (size_t i = 0; i < len; i++)
                buf[i] = tmp[len - 1 - i];

        for (size_t i = 0; i < cg->n_dirs; i++) {
                int fd = open(cg->dirs[i].procs, O_WRONLY | O_CLOEXEC);
                if (fd < 0)
                        return -errno;
                ssize_t n;
                do {
                        n = write(fd, buf, len);
                } while (n < 0 && errno == EINTR);
                int saved = errno;
                close(fd);
                if (n < 0)
                        return -saved;
        }
        return 0;
}

int hd_ct_cgroup_update(HdCtCgroup *cg, const HdCtCgroupLimits *lim, HdError **err)
{
        int r = validate_limits(lim, err);
        if (r < 0)
                return r;
        r = apply(cg, lim, lim->devices != NULL, err);
        if (r < 0)
                return hd_error_wrap(err, "cgroup `%s/%s`", HD_CG_PARENT, cg->name);
        return 0;
}

int hd_ct_cgroup_freeze(HdCtCgroup *cg, bool frozen, HdError **err)
{
        if (!hd_cg_dir(cg, HD_CG_C_FREEZER))
                return hd_error_set(err, -EOPNOTSUPP, "the freezer is not available");
        if (cg->version == HD_CGROUP_V2)
                return hd_cg_v2_freeze(cg, frozen, err);
        return hd_cg_v1_freeze(cg, frozen, err);
}

int hd_ct_cgroup_stats(HdCtCgroup *cg, HdCtCgroupStats *ret, HdError **err)
{
        memset(ret, 0, sizeof(*ret));
        if (cg->version == HD_CGROUP_V2)
                return hd_cg_v2_stats(cg, ret, err);
        return hd_cg_v1_stats(cg, ret, err);
}

int hd_ct_cgroup_oom_kills(HdCtCgroup *cg, uint64_t *ret, HdError **err)
{
        *ret = 0;
        if (cg->version == HD_CGROUP_V2)
                return hd_cg_v2_oom_kills(cg, ret, err);
        return hd_cg_v1_oom_kills(cg, ret, err);
}

static int compare_pids(const void *a, const void *b)
{
        pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
        return (x > y) - (x < y);
}

/* v1: every hierarchy's list, merged, so that a process attached to only some of them
 * (an attach cut short, a group half removed) is not missed. */
int hd_ct_cgroup_pids(HdCtCgroup *cg, pid_t **ret, size_t *ret_n, HdError **err)
{
        _cleanup_free_ pid_t *all = NULL;
        size_t n_all = 0;
        bool found = false;
        for (size_t i = 0; i < cg->n_dirs; i++) {
                _cleanup_free_ pid_t *pids = NULL;
                size_t n = 0;
                int r = hd_cg_read_pids(cg->dirs[i].path, &pids, &n);
                if (r == -ENOENT)
                        continue;
                if (r < 0)
                        return hd_error_set(err, r, "cannot read `%s/cgroup.procs`: %s",
                                            cg->dirs[i].path, strerror(-r));
                found = true;
                if (n == 0)
                        continue;
                pid_t *grown = realloc(all, (n_all + n) * sizeof(*all));
                if (!grown)
                        return hd_error_set(err, -ENOMEM, "out of memory");
                all = grown;
                memcpy(all + n_all, pids, n * sizeof(*pids));
                n_all += n;
        }
        if (!found)
                return hd_error_set(err, -ENOENT, "cgroup `%s/%s` does not exist", HD_CG_PARENT,
                                    cg->name);
        if (n_all > 1) {
                qsort(all, n_all, sizeof(*all), compare_pids);
                size_t u = 1;
                for (size_t i = 1; i < n_all; i++)
                        if (all[i] != all[u - 1])
                                all[u++] = all[i];
                n_all = u;
        }
        *ret = TAKE_PTR(all);
        *ret_n = n_all;
        return 0;
}

static bool is_frozen(HdCtCgroup *cg)
{
        return cg->version == HD_CGROUP_V2 ? hd_cg_v2_is_frozen(cg) : hd_cg_v1_is_frozen(cg);
}

/* Signals each process listed. Freezing first keeps a forking process from escaping
 * the signal; a group the caller froze stays frozen, except that killed processes
 * must be thawed to die. */
static int signal_each(HdCtCgroup *cg, int sig, bool use_freezer, HdError **err)
{
        bool can_freeze = hd_cg_dir(cg, HD_CG_C_FREEZER) != NULL;
        bool was_frozen = can_freeze && is_frozen(cg);
        if (use_freezer && can_freeze && !was_frozen)
                (void)hd_ct_cgroup_freeze(cg, true, NULL); /* best effort */

        _cleanup_free_ pid_t *pids = NULL;
        size_t n = 0;
        int r = hd_ct_cgroup_pids(cg, &pids, &n, err);
        for (size_t i = 0; r >= 0 && i < n; i++)
                if (kill(pids[i], sig) < 0 && errno != ESRCH)
                        r = hd_error_set(err, -errno, "cannot signal pid %d: %s", (int)pids[i],
                                         strerror(errno));

        bool thaw = (use_freezer && !was_frozen) || (was_frozen && sig == SIGKILL);
        if (can_freeze && thaw) {
                int t = hd_ct_cgroup_freeze(cg, false, r < 0 ? NULL : err);
                if (r >= 0)
                        r = t;
        }
        return r;
}

int hd_ct_cgroup_kill(HdCtCgroup *cg, int sig, HdError **err)
{
        if (sig == SIGKILL && cg->version == HD_CGROUP_V2) {
                int r = hd_cg_v2_kill(cg);
                if (r != -ENOENT) {
                        if (r < 0)
                                return hd_error_set(err, r, "cannot write `%s/cgroup.kill`: %s",
                                                    cg->dirs[0].path, strerror(-r));
                        return 0;
                }
        }
        return signal_each(cg, sig, true, err);
}

int hd_ct_cgroup_destroy(HdCtCgroup *cg, HdError **err)
{
        bool any = false;
        for (size_t i = 0; i < cg->n_dirs; i++)
                any |= is_dir(cg->dirs[i].path);
        if (!any)
                return 0;

        /* SIGKILL until the group is empty, without the freezer's own bounded wait
         * (a process stuck in the kernel would spend it all): what forks meanwhile
         * is caught by the next round. */
        int64_t deadline = hd_monotonic_ms() + HD_CG_DESTROY_TIMEOUT_MS;
        for (unsigned round = 0;; round++) {
                _cleanup_free_ pid_t *pids = NULL;
                size_t n = 0;
                if (hd_ct_cgroup_pids(cg, &pids, &n, NULL) < 0 || n == 0)
                        break;
                if (hd_monotonic_ms() >= deadline)
                        break; /* rmdir below reports what is left */
                if (round % 10 == 0 &&
                    (cg->version != HD_CGROUP_V2 || hd_cg_v2_kill(cg) == -ENOENT))
                        (void)signal_each(cg, SIGKILL, false, NULL);
                hd_cg_sleep_ms(10);
        }

        for (;;) {
                int busy = 0;
                const char *busy_path = NULL;
                for (size_t i = cg->n_dirs; i-- > 0;) {
                        if (rmdir(cg->dirs[i].path) == 0 || errno == ENOENT)
                                continue;
                        if (errno != EBUSY)
                                return hd_error_set(err, -errno, "cannot remove `%s`: %s",
                                                    cg->dirs[i].path, strerror(errno));
                        busy++;
                        busy_path = cg->dirs[i].path;
                }
                if (!busy)
                        return 0;
                if (hd_monotonic_ms() >= deadline)
                        return hd_error_set(err, -EBUSY,
                                            "cannot remove `%s`: processes are left in it",
                                            busy_path);
                hd_cg_sleep_ms(10);
        }
}

static const HdCtDeviceRule default_devices[] = {
        /* mknod of anything: opening the node is what the rules below filter */
        { .type = 'c', .major = -1, .minor = -1, .access = "m", .allow = true },
        { .type = 'b', .major = -1, .minor = -1, .access = "m", .allow = true },
        { .type = 'c', .major = 1, .minor = 3, .access = "rwm", .allow = true },    /* null */
        { .type = 'c', .major = 1, .minor = 5, .access = "rwm", .allow = true },    /* zero */
        { .type = 'c', .major = 1, .minor = 7, .access = "rwm", .allow = true },    /* full */
        { .type = 'c', .major = 1, .minor = 8, .access = "rwm", .allow = true },    /* random */
        { .type = 'c', .major = 1, .minor = 9, .access = "rwm", .allow = true },    /* urandom */
        { .type = 'c', .major = 5, .minor = 0, .access = "rwm", .allow = true },    /* tty */
        { .type = 'c', .major = 5, .minor = 2, .access = "rwm", .allow = true },    /* ptmx */
        { .type = 'c', .major = 136, .minor = -1, .access = "rwm", .allow = true }, /* pts/N */
};

const HdCtDeviceRule *hd_ct_cgroup_default_devices(size_t *ret_n)
{
        *ret_n = HD_ARRAY_SIZE(default_devices);
        return default_devices;
}
