/* Tests for daemon/drivers/container/ct-cgroup*.c against the host's real cgroups: as
 * root, on v1/hybrid hosts and on pure v2 ones. Each case that needs what a host lacks
 * (root, cgroup v2, a controller, clone3) prints "SKIP <case>[<run>]: <why>" and passes.
 *
 * The cases on the host's cgroups run twice: [host] as hd_ct_cgroup_probe() finds the
 * host, and [v2-unified] as cgroup v2 on a hybrid host's unified tree (the v2 code
 * with no controllers: device program, freezer, cgroup.kill, clone3, statistics), so
 * that a hybrid host exercises what it can of v2. On a v2 host the second run skips.
 *
 * Groups are named "test-ct-cgroup-<runner pid>-<tag>". Children wait on a pipe until
 * they are attached, and exit on its EOF, so a test that dies leaves none unattached;
 * the unchecked teardown (run by the runner even when a forked test failed) kills and
 * removes every group a test may have made. */
#include <check.h>
#include <ctype.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/bpf.h>
#include <linux/magic.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>

#include "ct-cgroup-internal.h"
#include "ct-cgroup.h"
#include "hd-util.h"

#define MiB (INT64_C(1) << 20)

/* ---- fixture ------------------------------------------------------------------------ */

/* Shared with the children (MAP_SHARED, made by the runner before any fork). */
typedef struct Shared {
        volatile uint64_t counter[4];
        volatile int forked, fork_errno;
        volatile int op_errno;
} Shared;

static Shared *shm;
static pid_t runner_pid;
static char tmpdir[64];
/* [0]: the host as probed; [1]: v2 on a hybrid host's unified tree */
static HdCtCgroupHost hosts[2];
static bool host_ready[2];
static char host_why[2][512]; /* why not ready */
static const char *const variant[2] = { "host", "v2-unified" };
static const HdCtCgroupHost *H; /* the run's */

static HdCtCgroup *cg; /* the test's group; the teardown destroys it */
static pid_t kids[16];
static size_t n_kids;

static const char *const tags[] = { "limits",  "attach",  "oom",   "pids",  "freeze", "stats",
                                    "devices", "devup",   "bpf",   "clone", "kill",   "destroy",
                                    "open",    "missing", "twice", "cpuset" };

static void group_name(char out[static 96], const char *tag)
{
        snprintf(out, 96, "test-ct-cgroup-%d-%s", (int)runner_pid, tag);
}

#define SKIP_IF(cond, ...)                                              \
        do {                                                            \
                if (cond) {                                             \
                        printf("SKIP %s[%s]: ", __func__, variant[_i]); \
                        printf(__VA_ARGS__);                            \
                        printf("\n");                                   \
                        fflush(stdout);                                 \
                        return;                                         \
                }                                                       \
        } while (0)
#define USE_HOST()                                            \
        do {                                                  \
                SKIP_IF(!host_ready[_i], "%s", host_why[_i]); \
                H = &hosts[_i];                               \
        } while (0)

static void sleep_ms(unsigned ms)
{
        struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

/* Every group any test may have made, killed and removed; no assertions. */
static void sweep(void)
{
        /* v2 first: its cgroup.kill empties the group wherever else it is */
        for (int v = 1; v >= 0; v--) {
                if (!host_ready[v])
                        continue;
                for (size_t i = 0; i < HD_ARRAY_SIZE(tags); i++) {
                        char name[96];
                        group_name(name, tags[i]);
                        HdCtCgroup *g = NULL;
                        if (hd_ct_cgroup_open(&hosts[v], name, &g, NULL) == 0) {
                                (void)hd_ct_cgroup_destroy(g, NULL);
                                hd_ct_cgroup_free(g);
                        }
                }
        }
}

static void runner_setup(void)
{
        runner_pid = getpid();
        shm = mmap(NULL, sizeof(*shm), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        ck_assert_ptr_ne(shm, MAP_FAILED);
        snprintf(tmpdir, sizeof(tmpdir), "/tmp/test-ct-cgroup-%d", (int)runner_pid);
        ck_assert(mkdir(tmpdir, 0700) == 0 || errno == EEXIST);

        if (geteuid() != 0) {
                snprintf(host_why[0], sizeof(host_why[0]), "needs root");
                snprintf(host_why[1], sizeof(host_why[1]), "needs root");
                return;
        }
        HdError *err = NULL;
        int r = hd_ct_cgroup_probe(&hosts[0], &err);
        if (r < 0) {
                snprintf(host_why[0], sizeof(host_why[0]), "probe failed: %s",
                         err && err->message ? err->message : strerror(-r));
                snprintf(host_why[1], sizeof(host_why[1]), "%s", host_why[0]);
                hd_error_free(err);
                return;
        }
        host_ready[0] = true;
        if (hosts[0].version == HD_CGROUP_V2) {
                snprintf(host_why[1], sizeof(host_why[1]),
                         "the host is cgroup v2: the [host] run covered v2");
        } else if (!hosts[0].v2_root[0]) {
                snprintf(host_why[1], sizeof(host_why[1]), "no cgroup2 hierarchy on this host");
        } else if ((r = hd_cg_v2_probe(hosts[0].v2_root, &hosts[1], &err)) < 0) {
                snprintf(host_why[1], sizeof(host_why[1]), "v2 probe of `%s` failed: %s",
                         hosts[0].v2_root, err && err->message ? err->message : strerror(-r));
                hd_error_free(err);
        } else {
                host_ready[1] = true;
        }
        sweep();
}

static void runner_teardown(void)
{
        sweep();
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
        (void)!system(cmd);
        munmap(shm, sizeof(*shm));
}

static void setup(void)
{
        memset((void *)shm, 0, sizeof(*shm));
        n_kids = 0;
        cg = NULL;
}

static void forget_kid(pid_t pid)
{
        for (size_t i = 0; i < n_kids; i++)
                if (kids[i] == pid) {
                        kids[i] = kids[--n_kids];
                        return;
                }
}

static void teardown(void)
{
        for (size_t i = 0; i < n_kids; i++) {
                kill(kids[i], SIGKILL);
                while (waitpid(kids[i], NULL, 0) < 0 && errno == EINTR)
                        ;
        }
        n_kids = 0;
        if (cg) {
                (void)hd_ct_cgroup_destroy(cg, NULL);
                hd_ct_cgroup_free(cg);
                cg = NULL;
        }
        sweep();
}

/* ---- helpers ------------------------------------------------------------------------ */

static void create(const char *tag, const HdCtCgroupLimits *lim)
{
        char name[96];
        group_name(name, tag);
        HdError *err = NULL;
        int r = hd_ct_cgroup_create(H, name, lim, &cg, &err);
        if (r < 0)
                ck_abort_msg("create `%s`: %s", name, err ? err->message : strerror(-r));
        ck_assert_ptr_null(err);
}

/* Forks a child that waits until it is attached to g (when g is not NULL), then runs
 * fn and exits with its result. */
static pid_t spawn(HdCtCgroup *g, int (*fn)(int), int arg)
{
        int go[2];
        ck_assert_int_eq(pipe2(go, O_CLOEXEC), 0);
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                close(go[1]);
                /* Check's SIGTERM handler would signal the whole process group. */
                for (int sig = 1; sig < NSIG; sig++)
                        if (sig != SIGKILL && sig != SIGSTOP)
                                signal(sig, SIG_DFL);
                sigset_t none;
                sigemptyset(&none);
                sigprocmask(SIG_SETMASK, &none, NULL);
                char c;
                if (read(go[0], &c, 1) != 1)
                        _exit(120); /* the test went away */
                close(go[0]);
                _exit(fn(arg));
        }
        close(go[0]);
        ck_assert_uint_lt(n_kids, HD_ARRAY_SIZE(kids));
        kids[n_kids++] = pid;
        int r = g ? hd_ct_cgroup_attach(g, pid) : 0;
        if (r < 0)
                close(go[1]);
        ck_assert_msg(r == 0, "attach: %s", strerror(-r));
        ck_assert_int_eq(write(go[1], "g", 1), 1);
        close(go[1]);
        return pid;
}

/* The child's wait status (bounded). */
static int reap(pid_t pid, unsigned timeout_ms)
{
        int64_t deadline = hd_monotonic_ms() + timeout_ms;
        for (;;) {
                int status;
                pid_t p = waitpid(pid, &status, WNOHANG);
                if (p == pid) {
                        forget_kid(pid);
                        return status;
                }
                ck_assert_int_ge(p, 0);
                if (hd_monotonic_ms() >= deadline)
                        ck_abort_msg("child %d did not exit", (int)pid);
                sleep_ms(5);
        }
}

static void wait_counter(int i)
{
        int64_t deadline = hd_monotonic_ms() + 20000;
        while (shm->counter[i] == 0) {
                ck_assert_msg(hd_monotonic_ms() < deadline, "child %d never ran", i);
                sleep_ms(5);
        }
}

static char proc_state(pid_t pid)
{
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
        _cleanup_free_ char *text = NULL;
        ck_assert_int_eq(hd_read_file(path, 4096, &text, NULL), 0);
        char *p = strrchr(text, ')');
        ck_assert_ptr_nonnull(p);
        return p[2];
}

static void read_text(const char *dir, const char *file, char out[static 256])
{
        _cleanup_free_ char *text = NULL;
        int r = hd_cg_read(dir, file, &text);
        ck_assert_msg(r == 0, "read %s/%s: %s", dir, file, strerror(-r));
        text[strcspn(text, "\n")] = '\0';
        snprintf(out, 256, "%s", text);
}

static void assert_file(const char *dir, const char *file, const char *expected)
{
        char got[256];
        read_text(dir, file, got);
        ck_assert_msg(strcmp(got, expected) == 0, "%s/%s: `%s`, expected `%s`", dir, file, got,
                      expected);
}

static bool is_dir(const char *path)
{
        struct stat st;
        return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* ---- child bodies --------------------------------------------------------------------- */

static int child_pause(int arg)
{
        for (;;)
                pause();
        return 0;
}

/* 0 when the child may run on CPU cpu alone (sched_getaffinity), else what is wrong. */
static int child_check_affinity(int cpu)
{
        cpu_set_t set;
        CPU_ZERO(&set);
        if (sched_getaffinity(0, sizeof(set), &set) < 0)
                return 3;
        if (CPU_COUNT(&set) != 1)
                return 1;
        return CPU_ISSET(cpu, &set) ? 0 : 2;
}

static int child_spin(int i)
{
        for (;;)
                shm->counter[i]++;
        return 0;
}

static int child_spin_ignoring_term(int i)
{
        signal(SIGTERM, SIG_IGN);
        return child_spin(i);
}

/* Touches memory until the OOM killer comes; 3 if it never does. The pages are
 * locked, so that swap (where cgroup v2 does not account it) cannot absorb them. */
static int child_hog(int arg)
{
        for (int i = 0; i < 1024; i++) {
                char *p = mmap(NULL, (size_t)MiB, PROT_READ | PROT_WRITE,
                               MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED, -1, 0);
                if (p == MAP_FAILED)
                        return 2;
                for (size_t off = 0; off < (size_t)MiB; off += 4096)
                        p[off] = 1;
        }
        return 3;
}

/* Forks (children that wait) until fork fails; reports how far it got. */
static int child_fork_loop(int arg)
{
        pid_t got[64];
        int n = 0;
        shm->fork_errno = 0;
        while (n < 64) {
                pid_t p = fork();
                if (p == 0) {
                        for (;;)
                                pause();
                }
                if (p < 0) {
                        shm->fork_errno = errno;
                        break;
                }
                got[n++] = p;
        }
        shm->forked = n;
        for (int i = 0; i < n; i++) {
                kill(got[i], SIGKILL);
                waitpid(got[i], NULL, 0);
        }
        return 0;
}

/* Device checks done inside the group: each step is a mknod or an open with the errno
 * it must give (0: success). */
typedef struct DevStep {
        const char *path; /* relative: under tmpdir */
        bool mknod;
        mode_t type; /* S_IFCHR or S_IFBLK, for mknod */
        unsigned major, minor;
        int flags; /* for open */
        int expect;
} DevStep;

static const DevStep *dev_steps;
static size_t n_dev_steps;

/* 0 when every step did what it should, else 1 + the step's index (errno in shm). */
static int child_devices(int arg)
{
        for (size_t i = 0; i < n_dev_steps; i++) {
                const DevStep *s = &dev_steps[i];
                char path[256];
                if (s->path[0] == '/')
                        snprintf(path, sizeof(path), "%s", s->path);
                else
                        snprintf(path, sizeof(path), "%s/%s", tmpdir, s->path);
                int e = 0;
                if (s->mknod) {
                        unlink(path);
                        if (mknod(path, s->type | 0600, makedev(s->major, s->minor)) < 0)
                                e = errno;
                } else {
                        int fd = open(path, s->flags | O_CLOEXEC);
                        if (fd < 0)
                                e = errno;
                        else
                                close(fd);
                }
                if (e != s->expect) {
                        shm->op_errno = e;
                        return 1 + (int)i;
                }
        }
        return 0;
}

static void run_device_steps(HdCtCgroup *g, const DevStep *steps, size_t n)
{
        dev_steps = steps;
        n_dev_steps = n;
        pid_t pid = spawn(g, child_devices, 0);
        int status = reap(pid, 20000);
        ck_assert(WIFEXITED(status));
        int code = WEXITSTATUS(status);
        if (code != 0) {
                ck_assert_int_le(code, (int)n);
                const DevStep *s = &steps[code - 1];
                ck_abort_msg("device step %d (%s %s): got `%s`, expected `%s`", code,
                             s->mknod ? "mknod" : "open", s->path, strerror(shm->op_errno),
                             strerror(s->expect));
        }
}

/* ---- tests that need no root ---------------------------------------------------------- */

START_TEST(test_default_devices)
{
        size_t n = 0;
        const HdCtDeviceRule *d = hd_ct_cgroup_default_devices(&n);
        ck_assert_uint_eq(n, 10);
        static const struct {
                char type;
                int64_t major, minor;
                const char *access;
        } want[] = { { 'c', 1, 3, "rwm" }, { 'c', 1, 5, "rwm" },    { 'c', 1, 7, "rwm" },
                     { 'c', 1, 8, "rwm" }, { 'c', 1, 9, "rwm" },    { 'c', 5, 0, "rwm" },
                     { 'c', 5, 2, "rwm" }, { 'c', 136, -1, "rwm" }, { 'c', -1, -1, "m" },
                     { 'b', -1, -1, "m" } };
        for (size_t i = 0; i < HD_ARRAY_SIZE(want); i++) {
                bool found = false;
                for (size_t j = 0; j < n; j++)
                        found |= d[j].type == want[i].type && d[j].major == want[i].major &&
                                 d[j].minor == want[i].minor &&
                                 strcmp(d[j].access, want[i].access) == 0 && d[j].allow;
                ck_assert_msg(found, "rule %c %lld:%lld %s missing", want[i].type,
                              (long long)want[i].major, (long long)want[i].minor, want[i].access);
        }
}
END_TEST

START_TEST(test_mountinfo_parse)
{
        /* A hybrid host with cpu,cpuacct combined, a bind mount of a subtree of the
         * memory hierarchy, an escaped mount point, and hierarchies hostd ignores. */
        const char *text =
                "25 1 0:23 / /sys rw - sysfs sysfs rw\n"
                "31 25 0:28 / /sys/fs/cgroup rw - tmpfs tmpfs rw,mode=755\n"
                "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw shared:9 - cgroup cgroup "
                "rw,cpu,cpuacct\n"
                "33 31 0:30 /sub /mnt/memsub rw - cgroup cgroup rw,memory\n"
                "34 31 0:30 / /sys/fs/cgroup/mem\\040ory rw - cgroup cgroup rw,memory\n"
                "35 31 0:31 / /sys/fs/cgroup/net_cls rw - cgroup cgroup rw,net_cls,net_prio\n"
                "36 31 0:32 / /sys/fs/cgroup/systemd rw - cgroup cgroup "
                "rw,xattr,name=systemd\n"
                "37 31 0:33 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw,nsdelegate\n"
                "38 31 0:33 / /elsewhere rw - cgroup2 cgroup2 rw\n"
                "garbage line\n";
        HdCgMounts m = { .n = 0 };
        ck_assert_int_eq(hd_cg_mounts_parse(text, &m), 0);
        ck_assert_uint_eq(m.n, 4);
        ck_assert_str_eq(m.m[0].path, "/sys/fs/cgroup/cpu,cpuacct");
        ck_assert_uint_eq(m.m[0].controllers, HD_CG_C_CPU | HD_CG_C_CPUACCT);
        ck_assert_str_eq(m.m[1].path, "/sys/fs/cgroup/mem ory"); /* the root's mount wins */
        ck_assert_uint_eq(m.m[1].controllers, HD_CG_C_MEMORY);
        ck_assert_str_eq(m.m[2].path, "/sys/fs/cgroup/systemd");
        ck_assert_uint_eq(m.m[2].controllers, HD_CG_C_SYSTEMD);
        ck_assert_str_eq(m.m[3].path, "/sys/fs/cgroup/unified");
        ck_assert_uint_eq(m.m[3].controllers, HD_CG_C_UNIFIED);
        hd_cg_mounts_clear(&m);

        ck_assert_int_eq(hd_cg_mounts_parse("29 23 0:26 / /sys/fs/cgroup rw,nosuid shared:4 - "
                                            "cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n",
                                            &m),
                         0);
        ck_assert_uint_eq(m.n, 1);
        ck_assert_str_eq(m.m[0].path, "/sys/fs/cgroup");
        ck_assert_uint_eq(m.m[0].controllers, HD_CG_C_UNIFIED);
        hd_cg_mounts_clear(&m);
}
END_TEST

START_TEST(test_bpf_assemble)
{
        struct bpf_insn *p = NULL;
        size_t n = 0, n_default = 0;
        const HdCtDeviceRule *d = hd_ct_cgroup_default_devices(&n_default);
        ck_assert_int_eq(hd_cg_bpf_devices_assemble(d, n_default, &p, &n), 0);
        /* 7 to load the context, then per rule its checks + 2, then the final deny */
        size_t expect = 7 + 2;
        for (size_t i = 0; i < n_default; i++)
                expect += (d[i].type != 'a') + (strcmp(d[i].access, "rwm") != 0) +
                          (d[i].major >= 0) + (d[i].minor >= 0) + 2;
        ck_assert_uint_eq(n, expect);
        ck_assert_int_eq(p[n - 1].code, BPF_JMP | BPF_EXIT);
        ck_assert_int_eq(p[n - 2].imm, 0);
        free(p);

        /* A rule matching everything ends the program: nothing after it is reachable. */
        const HdCtDeviceRule all[] = { { 'c', 1, 3, "rwm", true }, { 'a', -1, -1, "rwm", true } };
        ck_assert_int_eq(hd_cg_bpf_devices_assemble(all, 2, &p, &n), 0);
        ck_assert_uint_eq(n, 7 + 2);
        ck_assert_int_eq(p[7].imm, 1);
        free(p);

        const HdCtDeviceRule bad[] = { { 'x', 1, 3, "rwm", true } };
        ck_assert_int_eq(hd_cg_bpf_devices_assemble(bad, 1, &p, &n), -EINVAL);
}
END_TEST

START_TEST(test_invalid_arguments)
{
        HdCtCgroupHost h = { .version = HD_CGROUP_V2, .v2_root = "/nonexistent" };
        HdCtCgroup *g = NULL;
        HdError *err = NULL;
        ck_assert_int_eq(hd_ct_cgroup_create(&h, "../x", NULL, &g, &err), -EINVAL);
        ck_assert_ptr_nonnull(err);
        hd_error_free(err);
        err = NULL;
        HdCtCgroupLimits lim = { .cpu_quota_us = 50000, .cpu_period_us = 10 };
        ck_assert_int_eq(hd_ct_cgroup_create(&h, "x", &lim, &g, &err), -EINVAL);
        ck_assert_str_eq(err->field, "cpu_period_us");
        hd_error_free(err);
        err = NULL;
        HdCtCgroupLimits pin = { .cpuset = "0-" };
        ck_assert_int_eq(hd_ct_cgroup_create(&h, "x", &pin, &g, &err), -EINVAL);
        ck_assert_str_eq(err->field, "cpuset");
        hd_error_free(err);
        err = NULL;
        HdCtDeviceRule rule = { 'c', 1, 3, "rwx", true };
        HdCtCgroupLimits lim2 = { .devices = &rule, .n_devices = 1 };
        ck_assert_int_eq(hd_ct_cgroup_create(&h, "x", &lim2, &g, &err), -EINVAL);
        hd_error_free(err);
        err = NULL;
        ck_assert_int_eq(hd_ct_cgroup_open(&h, "x", &g, &err), -ENOENT);
        ck_assert_ptr_null(g);
        hd_error_free(err);
}
END_TEST

/* ---- tests on the host's cgroups ------------------------------------------------------ */

START_TEST(test_probe)
{
        USE_HOST();
        printf("[%s] cgroup v%d, v2_root `%s`, memory %d cpu %d pids %d devices %d freezer %d "
               "io %d cpuset %d clone_into_cgroup %d\n",
               variant[_i], (int)H->version, H->v2_root, H->has_memory, H->has_cpu, H->has_pids,
               H->has_devices, H->has_freezer, H->has_io, H->has_cpuset, H->has_clone_into_cgroup);
        fflush(stdout);
        HdCtCgroupHost again;
        struct statfs sfs;
        if (_i == 1) {
                /* v2 on the unified tree: what it offers, no more */
                ck_assert_int_eq(H->version, HD_CGROUP_V2);
                ck_assert_str_eq(H->v2_root, hosts[0].v2_root);
                char avail[256];
                read_text(H->v2_root, "cgroup.controllers", avail);
                ck_assert_int_eq(H->has_memory, hd_cg_has_word(avail, "memory"));
                ck_assert_int_eq(H->has_pids, hd_cg_has_word(avail, "pids"));
                ck_assert(H->has_freezer && H->has_devices);
                ck_assert_int_eq(hd_cg_v2_probe(hosts[0].v2_root, &again, NULL), 0);
                ck_assert_int_eq(memcmp(&again, H, sizeof(again)), 0);
                return;
        }

        ck_assert_int_eq(statfs("/sys/fs/cgroup", &sfs), 0);
        HdCgroupVersion expect = sfs.f_type == CGROUP2_SUPER_MAGIC ? HD_CGROUP_V2 : HD_CGROUP_V1;
        ck_assert_int_eq(H->version, expect);
        ck_assert(H->has_memory && H->has_cpu && H->has_pids && H->has_devices);
        if (H->v2_root[0]) {
                ck_assert_int_eq(statfs(H->v2_root, &sfs), 0);
                ck_assert(sfs.f_type == CGROUP2_SUPER_MAGIC);
        }
        if (expect == HD_CGROUP_V1) {
                ck_assert(!H->has_clone_into_cgroup);
                /* hostd/ in the cpuset hierarchy has cpus and mems, or no child of it
                 * could take a process */
                char parent[PATH_MAX], cpus[256], mems[256];
                bool found = false;
                _cleanup_(hd_cg_mounts_clear) HdCgMounts m = { .n = 0 };
                ck_assert_int_eq(hd_cg_mounts_read(&m), 0);
                for (size_t i = 0; i < m.n; i++) {
                        if (!(m.m[i].controllers & HD_CG_C_CPUSET))
                                continue;
                        found = true;
                        snprintf(parent, sizeof(parent), "%s/%s", m.m[i].path, HD_CG_PARENT);
                        read_text(parent, "cpuset.cpus", cpus);
                        read_text(parent, "cpuset.mems", mems);
                        ck_assert_msg(cpus[0] && mems[0], "%s: cpus `%s`, mems `%s`", parent, cpus,
                                      mems);
                }
                ck_assert_int_eq(H->has_cpuset, found);
        } else {
                ck_assert_str_eq(H->v2_root, "/sys/fs/cgroup");
                /* what the root offers of memory, cpu, pids and io is on in hostd/ */
                char avail[256], on[256], parent[PATH_MAX];
                read_text(H->v2_root, "cgroup.controllers", avail);
                snprintf(parent, sizeof(parent), "%s/%s", H->v2_root, HD_CG_PARENT);
                read_text(parent, "cgroup.subtree_control", on);
                static const char *const c[] = { "memory", "cpu", "pids", "io", "cpuset" };
                for (size_t i = 0; i < HD_ARRAY_SIZE(c); i++)
                        if (hd_cg_has_word(avail, c[i]))
                                ck_assert_msg(hd_cg_has_word(on, c[i]), "%s not enabled", c[i]);
                ck_assert_int_eq(H->has_cpuset, hd_cg_has_word(on, "cpuset"));
        }

        /* Probing again changes nothing. */
        ck_assert_int_eq(hd_ct_cgroup_probe(&again, NULL), 0);
        ck_assert_int_eq(memcmp(&again, H, sizeof(again)), 0);
}
END_TEST

START_TEST(test_create_limits)
{
        USE_HOST();
        SKIP_IF(!H->has_memory || !H->has_cpu || !H->has_pids,
                "needs the memory, cpu and pids controllers");
        HdCtCgroupLimits lim = { .memory_bytes = 64 * MiB,
                                 .cpu_quota_us = 50000,
                                 .cpu_period_us = 100000,
                                 .pids_max = 32 };
        create("limits", &lim);

        /* the same name again */
        HdCtCgroup *dup = NULL;
        HdError *err = NULL;
        char name[96];
        group_name(name, "limits");
        ck_assert_int_eq(hd_ct_cgroup_create(H, name, &lim, &dup, &err), -EEXIST);
        ck_assert_ptr_null(dup);
        ck_assert_ptr_nonnull(err);
        hd_error_free(err);
        err = NULL;
        for (size_t i = 0; i < cg->n_dirs; i++)
                ck_assert_msg(is_dir(cg->dirs[i].path), "%s", cg->dirs[i].path);

        const char *mem = hd_cg_dir(cg, HD_CG_C_MEMORY), *cpu = hd_cg_dir(cg, HD_CG_C_CPU),
                   *pids = hd_cg_dir(cg, HD_CG_C_PIDS);
        ck_assert(mem && cpu && pids);
        if (cg->version == HD_CGROUP_V1) {
                assert_file(mem, "memory.limit_in_bytes", "67108864");
                if (hd_cg_exists(mem, "memory.memsw.limit_in_bytes"))
                        assert_file(mem, "memory.memsw.limit_in_bytes", "67108864");
                assert_file(cpu, "cpu.cfs_quota_us", "50000");
                assert_file(cpu, "cpu.cfs_period_us", "100000");
                assert_file(pids, "pids.max", "32");
                const char *dev = hd_cg_dir(cg, HD_CG_C_DEVICES);
                ck_assert_ptr_nonnull(dev);
                _cleanup_free_ char *list = NULL;
                ck_assert_int_eq(hd_cg_read(dev, "devices.list", &list), 0);
                ck_assert_ptr_nonnull(strstr(list, "c 1:3 rwm\n"));
                ck_assert_ptr_nonnull(strstr(list, "c 136:* rwm\n"));
                ck_assert_ptr_nonnull(strstr(list, "c *:* m\n"));
                ck_assert_ptr_nonnull(strstr(list, "b *:* m\n"));
                ck_assert_ptr_null(strstr(list, "a *:* rwm"));
                const char *cpuset = hd_cg_dir(cg, HD_CG_C_CPUSET);
                if (cpuset) {
                        char cpus[256];
                        read_text(cpuset, "cpuset.cpus", cpus);
                        ck_assert_msg(cpus[0], "cpuset.cpus empty");
                }
        } else {
                assert_file(mem, "memory.max", "67108864");
                if (hd_cg_exists(mem, "memory.swap.max"))
                        assert_file(mem, "memory.swap.max", "0");
                assert_file(cpu, "cpu.max", "50000 100000");
                assert_file(pids, "pids.max", "32");
                _cleanup_close_ int dfd = hd_ct_cgroup_open_dirfd(cg, NULL);
                ck_assert_int_ge(dfd, 0);
                size_t n = 0;
                ck_assert_int_eq(hd_cg_bpf_devices_count(dfd, &n), 0);
                ck_assert_uint_eq(n, 1);
        }

        HdCtCgroupStats st;
        ck_assert_int_eq(hd_ct_cgroup_stats(cg, &st, NULL), 0);
        ck_assert_uint_eq(st.memory_limit_bytes, 64 * MiB);
        ck_assert_uint_eq(st.pids_limit, 32);
        ck_assert_uint_eq(st.pids_current, 0);

        /* Raise memory (memsw first on v1), lift cpu and pids limits. */
        HdCtCgroupLimits up = { .memory_bytes = 128 * MiB };
        ck_assert_int_eq(hd_ct_cgroup_update(cg, &up, NULL), 0);
        if (cg->version == HD_CGROUP_V1) {
                assert_file(mem, "memory.limit_in_bytes", "134217728");
                if (hd_cg_exists(mem, "memory.memsw.limit_in_bytes"))
                        assert_file(mem, "memory.memsw.limit_in_bytes", "134217728");
                assert_file(cpu, "cpu.cfs_quota_us", "-1");
                /* devices untouched by an update without a list */
                _cleanup_free_ char *list = NULL;
                ck_assert_int_eq(hd_cg_read(hd_cg_dir(cg, HD_CG_C_DEVICES), "devices.list", &list),
                                 0);
                ck_assert_ptr_nonnull(strstr(list, "c 1:3 rwm\n"));
        } else {
                assert_file(mem, "memory.max", "134217728");
                assert_file(cpu, "cpu.max", "max 100000");
        }
        assert_file(pids, "pids.max", "max");

        /* Lower it again, then no limit at all. */
        HdCtCgroupLimits down = { .memory_bytes = 32 * MiB, .pids_max = 5 };
        ck_assert_int_eq(hd_ct_cgroup_update(cg, &down, NULL), 0);
        ck_assert_int_eq(hd_ct_cgroup_stats(cg, &st, NULL), 0);
        ck_assert_uint_eq(st.memory_limit_bytes, 32 * MiB);
        ck_assert_uint_eq(st.pids_limit, 5);
        HdCtCgroupLimits none = { .memory_bytes = 0 };
        ck_assert_int_eq(hd_ct_cgroup_update(cg, &none, NULL), 0);
        ck_assert_int_eq(hd_ct_cgroup_stats(cg, &st, NULL), 0);
        ck_assert_uint_eq(st.memory_limit_bytes, 0);
        ck_assert_uint_eq(st.pids_limit, 0);

        HdCtCgroupLimits bad = { .cpu_quota_us = 10 };
        ck_assert_int_eq(hd_ct_cgroup_update(cg, &bad, &err), -EINVAL);
        ck_assert_ptr_nonnull(err);
        hd_error_free(err);
}
END_TEST

START_TEST(test_attach)
{
        USE_HOST();
        create("attach", NULL);
        pid_t pid = spawn(cg, child_pause, 0);

        char path[64], name[96], want[128];
        group_name(name, "attach");
        snprintf(want, sizeof(want), "/%s/%s", HD_CG_PARENT, name);
        snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
        _cleanup_free_ char *text = NULL;
        ck_assert_int_eq(hd_read_file(path, 65536, &text, NULL), 0);

        /* Every hierarchy of the group lists the child there: "ID:CONTROLLERS:PATH". */
        size_t seen = 0;
        for (size_t i = 0; i < cg->n_dirs; i++) {
                unsigned bits = cg->dirs[i].controllers;
                bool found = false;
                for (char *line = text; line && *line;) {
                        char *nl = strchr(line, '\n');
                        size_t len = nl ? (size_t)(nl - line) : strlen(line);
                        char buf[512];
                        snprintf(buf, sizeof(buf), "%.*s", (int)len, line);
                        char *c1 = strchr(buf, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
                        if (c2) {
                                *c2 = '\0';
                                const char *ctl = c1 + 1, *p = c2 + 1;
                                bool match;
                                if (bits & HD_CG_C_UNIFIED)
                                        match = ctl[0] == '\0';
                                else if (bits & HD_CG_C_SYSTEMD)
                                        match = strcmp(ctl, "name=systemd") == 0;
                                else
                                        match = ctl[0] &&
                                                ((bits & HD_CG_C_MEMORY &&
                                                  hd_str_startswith(ctl, "memory")) ||
                                                 (bits & HD_CG_C_PIDS &&
                                                  strcmp(ctl, "pids") == 0) ||
                                                 (bits & HD_CG_C_DEVICES &&
                                                  strcmp(ctl, "devices") == 0) ||
                                                 (bits & HD_CG_C_FREEZER &&
                                                  strcmp(ctl, "freezer") == 0) ||
                                                 (bits & HD_CG_C_BLKIO &&
                                                  strcmp(ctl, "blkio") == 0) ||
                                                 (bits & HD_CG_C_CPUSET &&
                                                  strcmp(ctl, "cpuset") == 0) ||
                                                 (bits & (HD_CG_C_CPU | HD_CG_C_CPUACCT) &&
                                                  hd_str_startswith(ctl, "cpu") &&
                                                  strcmp(ctl, "cpuset") != 0));
                                if (match) {
                                        ck_assert_msg(strcmp(p, want) == 0,
                                                      "%s: child in `%s`, expected `%s`",
                                                      cg->dirs[i].path, p, want);
                                        found = true;
                                }
                        }
                        line = nl ? nl + 1 : NULL;
                }
                ck_assert_msg(found, "no line in %s for %s", path, cg->dirs[i].path);
                seen++;
        }
        ck_assert_uint_eq(seen, cg->n_dirs);
        printf("[%s] attach: child in %zu hierarchies\n", variant[_i], seen);
        fflush(stdout);

        _cleanup_free_ pid_t *pids = NULL;
        size_t n = 0;
        ck_assert_int_eq(hd_ct_cgroup_pids(cg, &pids, &n, NULL), 0);
        ck_assert_uint_eq(n, 1);
        ck_assert_int_eq(pids[0], pid);

        /* A dead pid cannot be attached. */
        ck_assert_int_eq(hd_ct_cgroup_attach(cg, -1), -EINVAL);
}
END_TEST

START_TEST(test_oom)
{
        USE_HOST();
        SKIP_IF(!H->has_memory, "no memory controller");
        HdCtCgroupLimits lim = { .memory_bytes = 32 * MiB };
        create("oom", &lim);
        pid_t pid = spawn(cg, child_hog, 0);
        int status = reap(pid, 60000);
        ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
                      "hog: status %#x, expected SIGKILL", status);
        uint64_t kills = 0;
        ck_assert_int_eq(hd_ct_cgroup_oom_kills(cg, &kills, NULL), 0);
        ck_assert_uint_ge(kills, 1);
        HdCtCgroupStats st;
        ck_assert_int_eq(hd_ct_cgroup_stats(cg, &st, NULL), 0);
        ck_assert_uint_ge(st.oom_kills, 1);
        ck_assert_uint_eq(st.memory_limit_bytes, 32 * MiB);
        if (st.memory_peak_bytes) /* v2 before 5.19 has no memory.peak */
                ck_assert_uint_ge(st.memory_peak_bytes, 16 * MiB);
}
END_TEST

START_TEST(test_pids_max)
{
        USE_HOST();
        SKIP_IF(!H->has_pids, "no pids controller");
        HdCtCgroupLimits lim = { .pids_max = 8 };
        create("pids", &lim);
        pid_t pid = spawn(cg, child_fork_loop, 0);
        int status = reap(pid, 60000);
        ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        ck_assert_int_ge(shm->forked, 1);
        ck_assert_int_le(shm->forked, 7); /* 8 with the child itself */
        ck_assert_int_eq(shm->fork_errno, EAGAIN);
        HdCtCgroupStats st;
        ck_assert_int_eq(hd_ct_cgroup_stats(cg, &st, NULL), 0);
        ck_assert_uint_eq(st.pids_limit, 8);
}
END_TEST

/* resources.cpuset: cpuset.cpus as given at create (the init then runs on those CPUs
 * alone), changed by an update that names one and kept by one that does not; a CPU
 * its parent lacks fails the create and leaves nothing behind. The [v2-unified] run
 * on a hybrid host has no cpuset controller: pinning is refused there, not dropped. */
START_TEST(test_cpuset)
{
        USE_HOST();
        HdCtCgroupLimits lim = { .cpuset = "0" };
        char name[96];
        group_name(name, "cpuset");
        if (!H->has_cpuset) {
                HdCtCgroup *g = NULL;
                HdError *err = NULL;
                ck_assert_int_eq(hd_ct_cgroup_create(H, name, &lim, &g, &err), -EOPNOTSUPP);
                ck_assert_ptr_null(g);
                ck_assert_ptr_nonnull(strstr(err->message, "cpuset"));
                hd_error_free(err);
                ck_assert_int_eq(hd_ct_cgroup_open(H, name, &g, NULL), -ENOENT);
                SKIP_IF(true, "no cpuset controller (refusal checked)");
        }

        /* The parent's CPUs: the highest is the one to pin to (0 is everyone's). */
        create("cpuset", NULL);
        const char *dir = hd_cg_dir(cg, HD_CG_C_CPUSET);
        ck_assert_ptr_nonnull(dir);
        char parent[PATH_MAX], effective[256], all[256];
        snprintf(parent, sizeof(parent), "%s", dir);
        *strrchr(parent, '/') = '\0';
        bool v2 = cg->version == HD_CGROUP_V2;
        read_text(parent, v2 ? "cpuset.cpus.effective" : "cpuset.effective_cpus", effective);
        HdCpuMask mask;
        ck_assert_msg(hd_cpulist_parse(effective, &mask) == 0, "%s: `%s`", parent, effective);
        ck_assert_int_eq(hd_cpulist_format(&mask, all, sizeof(all)), 0);
        int cpu = HD_CPU_MAX - 1;
        while (!hd_cpumask_test(&mask, (unsigned)cpu))
                cpu--;
        (void)hd_ct_cgroup_destroy(cg, NULL);
        hd_ct_cgroup_free(cg);
        cg = NULL;

        char one[16];
        snprintf(one, sizeof(one), "%d", cpu);
        lim.cpuset = one;
        lim.pids_max = H->has_pids ? 64 : 0;
        create("cpuset", &lim);
        dir = hd_cg_dir(cg, HD_CG_C_CPUSET);
        assert_file(dir, "cpuset.cpus", one);
        if (!v2) {
                char mems[256];
                read_text(dir, "cpuset.mems", mems);
                ck_assert_msg(mems[0], "cpuset.mems empty");
        }
        pid_t pid = spawn(cg, child_check_affinity, cpu);
        int status = reap(pid, 20000);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "affinity: status %d", status);
        printf("[%s] cpuset: child pinned to CPU %d of `%s`\n", variant[_i], cpu, all);
        fflush(stdout);

        /* an update without a list keeps it; one with a list sets it */
        HdCtCgroupLimits other = { .pids_max = lim.pids_max };
        ck_assert_int_eq(hd_ct_cgroup_update(cg, &other, NULL), 0);
        assert_file(dir, "cpuset.cpus", one);
        other.cpuset = all;
        ck_assert_int_eq(hd_ct_cgroup_update(cg, &other, NULL), 0);
        assert_file(dir, "cpuset.cpus", all);
        HdError *err = NULL;
        other.cpuset = "1-";
        ck_assert_int_eq(hd_ct_cgroup_update(cg, &other, &err), -EINVAL);
        ck_assert_str_eq(err->field, "cpuset");
        hd_error_free(err);
        err = NULL;
        (void)hd_ct_cgroup_destroy(cg, NULL);
        hd_ct_cgroup_free(cg);
        cg = NULL;

        /* v1 refuses CPUs outside the parent's; v2 takes them and keeps the parent's
         * effective set, so only v1 can show the rollback */
        if (v2 || hd_cpumask_test(&mask, HD_CPU_MAX - 1))
                return;
        HdCtCgroupLimits outside = { .cpuset = "1023" };
        HdCtCgroup *g = NULL;
        ck_assert_int_lt(hd_ct_cgroup_create(H, name, &outside, &g, &err), 0);
        ck_assert_ptr_null(g);
        ck_assert_ptr_nonnull(strstr(err->message, "cpuset.cpus"));
        hd_error_free(err);
        ck_assert_int_eq(hd_ct_cgroup_open(H, name, &g, NULL), -ENOENT);
}
END_TEST

START_TEST(test_freeze)
{
        USE_HOST();
        SKIP_IF(!H->has_freezer, "no freezer");
        create("freeze", NULL);
        pid_t pid = spawn(cg, child_spin, 0);
        wait_counter(0);

        ck_assert_int_eq(hd_ct_cgroup_freeze(cg, true, NULL), 0);
        const char *dir = hd_cg_dir(cg, HD_CG_C_FREEZER);
        if (cg->version == HD_CGROUP_V1) {
                assert_file(dir, "freezer.state", "FROZEN");
        } else {
                assert_file(dir, "cgroup.freeze", "1");
                _cleanup_free_ char *events = NULL;
                ck_assert_int_eq(hd_cg_read(dir, "cgroup.events", &events), 0);
                ck_assert_ptr_nonnull(strstr(events, "frozen 1"));
        }
        char state = proc_state(pid);
        printf("[%s] freeze: frozen child's state is `%c`\n", variant[_i], state);
        fflush(stdout);
        ck_assert_msg(state != 'R', "frozen child is running");
        uint64_t before = shm->counter[0];
        sleep_ms(200);
        ck_assert_uint_eq(shm->counter[0], before);
        /* freezing twice is fine */
        ck_assert_int_eq(hd_ct_cgroup_freeze(cg, true, NULL), 0);

        ck_assert_int_eq(hd_ct_cgroup_freeze(cg, false, NULL), 0);
        if (cg->version == HD_CGROUP_V1) {
                assert_file(dir, "freezer.state", "THAWED");
        } else {
                _cleanup_free_ char *events = NULL;
                ck_assert_int_eq(hd_cg_read(dir, "cgroup.events", &events), 0);
                ck_assert_ptr_nonnull(strstr(events, "frozen 0"));
        }
        int64_t deadline = hd_monotonic_ms() + 10000;
        while (shm->counter[0] == before) {
                ck_assert_msg(hd_monotonic_ms() < deadline, "thawed child does not run");
                sleep_ms(5);
        }
}
END_TEST

START_TEST(test_stats)
{
        USE_HOST();
        HdCtCgroupLimits lim = { .memory_bytes = H->has_memory ? 64 * MiB : 0,
                                 .pids_max = H->has_pids ? 16 : 0,
                                 .cpu_quota_us = H->has_cpu ? 20000 : 0,
                                 .cpu_period_us = 100000 };
        create("stats", &lim);
        spawn(cg, child_spin, 0);
        wait_counter(0);
        sleep_ms(600);

        HdCtCgroupStats st;
        HdError *err = NULL;
        int r = hd_ct_cgroup_stats(cg, &st, &err);
        ck_assert_msg(r == 0, "stats: %s", err ? err->message : "");
        printf("[%s] stats: cpu %llu ns (user %llu, system %llu), throttled %llu times %llu ns, "
               "memory %llu (peak %llu, limit %llu), pids %llu/%llu, io %llu/%llu, oom %llu\n",
               variant[_i], (unsigned long long)st.cpu_usage_ns, (unsigned long long)st.cpu_user_ns,
               (unsigned long long)st.cpu_system_ns, (unsigned long long)st.cpu_throttled_periods,
               (unsigned long long)st.cpu_throttled_ns, (unsigned long long)st.memory_bytes,
               (unsigned long long)st.memory_peak_bytes, (unsigned long long)st.memory_limit_bytes,
               (unsigned long long)st.pids_current, (unsigned long long)st.pids_limit,
               (unsigned long long)st.io_read_bytes, (unsigned long long)st.io_write_bytes,
               (unsigned long long)st.oom_kills);
        fflush(stdout);
        ck_assert_uint_gt(st.cpu_usage_ns, 0);
        ck_assert_uint_gt(st.cpu_user_ns + st.cpu_system_ns, 0);
        ck_assert_uint_eq(st.oom_kills, 0);
        if (H->has_cpu) /* 20% of a cpu for a spinning child: throttled */
                ck_assert_uint_gt(st.cpu_throttled_periods, 0);
        if (H->has_memory)
                ck_assert_uint_eq(st.memory_limit_bytes, 64 * MiB);
        if (H->has_pids) {
                ck_assert_uint_eq(st.pids_current, 1);
                ck_assert_uint_eq(st.pids_limit, 16);
        }
}
END_TEST

/* The default list, from inside the group: null and zero open, mknod of anything
 * works, the nodes made open for nothing else. */
static const DevStep default_steps[] = {
        { .path = "/dev/null", .flags = O_RDWR },
        { .path = "/dev/zero", .flags = O_RDONLY },
        { .path = "mem", .mknod = true, .type = S_IFCHR, .major = 1, .minor = 1 },
        { .path = "mem", .flags = O_RDONLY, .expect = EPERM },
        { .path = "loop", .mknod = true, .type = S_IFBLK, .major = 7, .minor = 0 },
        { .path = "loop", .flags = O_RDONLY, .expect = EPERM },
        { .path = "null", .mknod = true, .type = S_IFCHR, .major = 1, .minor = 3 },
        { .path = "null", .flags = O_WRONLY },
};

/* {c *:* m, c 1:3 r}: a 1:3 node opens for reading only, zero not at all. */
static const HdCtDeviceRule read_null_rules[] = { { 'c', -1, -1, "m", true },
                                                  { 'c', 1, 3, "r", true } };
static const DevStep read_null_steps[] = {
        { .path = "null", .mknod = true, .type = S_IFCHR, .major = 1, .minor = 3 },
        { .path = "null", .flags = O_RDONLY },
        { .path = "null", .flags = O_WRONLY, .expect = EPERM },
        { .path = "null", .flags = O_RDWR, .expect = EPERM },
        { .path = "/dev/zero", .flags = O_RDONLY, .expect = EPERM },
};

/* {a rwm, c 1:5 rwm deny}: the later deny wins over the allow-all for zero. */
static const HdCtDeviceRule all_but_zero_rules[] = { { 'a', -1, -1, "rwm", true },
                                                     { 'c', 1, 5, "rwm", false } };
static const DevStep all_but_zero_steps[] = {
        { .path = "/dev/null", .flags = O_RDWR },
        { .path = "/dev/full", .flags = O_RDONLY },
        { .path = "/dev/zero", .flags = O_RDONLY, .expect = EPERM },
};

static const HdCtDeviceRule allow_all_rules[] = { { 'a', -1, -1, "rwm", true } };

START_TEST(test_devices)
{
        USE_HOST();
        SKIP_IF(!H->has_devices, "no device filter");
        create("devices", NULL);
        run_device_steps(cg, default_steps, HD_ARRAY_SIZE(default_steps));
}
END_TEST

START_TEST(test_devices_update)
{
        USE_HOST();
        SKIP_IF(!H->has_devices, "no device filter");
        create("devup", NULL);
        HdCtCgroupLimits lim = { .devices = read_null_rules,
                                 .n_devices = HD_ARRAY_SIZE(read_null_rules) };
        ck_assert_int_eq(hd_ct_cgroup_update(cg, &lim, NULL), 0);
        run_device_steps(cg, read_null_steps, HD_ARRAY_SIZE(read_null_steps));

        lim.devices = all_but_zero_rules;
        lim.n_devices = HD_ARRAY_SIZE(all_but_zero_rules);
        ck_assert_int_eq(hd_ct_cgroup_update(cg, &lim, NULL), 0);
        run_device_steps(cg, all_but_zero_steps, HD_ARRAY_SIZE(all_but_zero_steps));

        if (cg->version == HD_CGROUP_V2) {
                /* each update replaced the program */
                _cleanup_close_ int dfd = hd_ct_cgroup_open_dirfd(cg, NULL);
                size_t n = 0;
                ck_assert_int_eq(hd_cg_bpf_devices_count(dfd, &n), 0);
                ck_assert_uint_eq(n, 1);
        }
}
END_TEST

/* The eBPF program on its own, on the cgroup2 directory of the group: on a hybrid host
 * the unified tree's (v1 devices allowing everything), on v2 the group's. */
START_TEST(test_devices_bpf)
{
        USE_HOST();
        SKIP_IF(_i == 1, "the [v2-unified] runs of the other device cases load it already");
        SKIP_IF(!H->v2_root[0], "no cgroup2 hierarchy on this host");
        SKIP_IF(!hd_cg_bpf_supported(), "the kernel loads no cgroup device programs");
        HdCtCgroupLimits lim = { .devices = allow_all_rules,
                                 .n_devices = HD_ARRAY_SIZE(allow_all_rules) };
        create("bpf", &lim);
        const char *dir = hd_cg_unified_dir(cg);
        ck_assert_ptr_nonnull(dir);
        _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ck_assert_int_ge(dfd, 0);

        /* allow-all first: everything opens */
        run_device_steps(cg, all_but_zero_steps, 2);

        size_t n_default = 0;
        const HdCtDeviceRule *d = hd_ct_cgroup_default_devices(&n_default);
        HdError *err = NULL;
        int r = hd_cg_bpf_devices_apply(dfd, d, n_default, &err);
        ck_assert_msg(r == 0, "apply: %s", err ? err->message : "");
        run_device_steps(cg, default_steps, HD_ARRAY_SIZE(default_steps));

        ck_assert_int_eq(
                hd_cg_bpf_devices_apply(dfd, read_null_rules, HD_ARRAY_SIZE(read_null_rules), NULL),
                0);
        run_device_steps(cg, read_null_steps, HD_ARRAY_SIZE(read_null_steps));
        ck_assert_int_eq(hd_cg_bpf_devices_apply(dfd, all_but_zero_rules,
                                                 HD_ARRAY_SIZE(all_but_zero_rules), NULL),
                         0);
        run_device_steps(cg, all_but_zero_steps, HD_ARRAY_SIZE(all_but_zero_steps));
        size_t n = 0;
        ck_assert_int_eq(hd_cg_bpf_devices_count(dfd, &n), 0);
        ck_assert_uint_eq(n, 1);
}
END_TEST

struct test_clone_args {
        uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
        uint64_t set_tid, set_tid_size, cgroup;
};

START_TEST(test_clone_into_cgroup)
{
        USE_HOST();
        create("clone", NULL);
        HdError *err = NULL;
        int fd = hd_ct_cgroup_open_dirfd(cg, &err);
        if (H->version == HD_CGROUP_V1) {
                ck_assert_int_eq(fd, -EOPNOTSUPP);
                hd_error_free(err);
                SKIP_IF(true, "cgroup v1 host: no CLONE_INTO_CGROUP (open_dirfd is -EOPNOTSUPP)");
        }
        ck_assert_int_ge(fd, 0);
        _cleanup_close_ int dfd = fd;
        SKIP_IF(!H->has_clone_into_cgroup, "clone3 has no CLONE_INTO_CGROUP here (valgrind?)");

        char name[96], want[160];
        group_name(name, "clone");
        snprintf(want, sizeof(want), "0::/%s/%s\n", HD_CG_PARENT, name);
        struct test_clone_args args = { .flags = 0x200000000ULL /* CLONE_INTO_CGROUP */,
                                        .exit_signal = SIGCHLD,
                                        .cgroup = (uint64_t)dfd };
        long pid = syscall(SYS_clone3, &args, sizeof(args));
        if (pid == 0) {
                char *text = NULL;
                int ok = hd_read_file("/proc/self/cgroup", 65536, &text, NULL) == 0 &&
                         strstr(text, want) != NULL;
                _exit(ok ? 0 : 1);
        }
        ck_assert_int_gt(pid, 0);
        kids[n_kids++] = (pid_t)pid;
        int status = reap((pid_t)pid, 20000);
        ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}
END_TEST

static void wait_empty(void)
{
        int64_t deadline = hd_monotonic_ms() + 5000;
        for (;;) {
                _cleanup_free_ pid_t *pids = NULL;
                size_t n = 0;
                ck_assert_int_eq(hd_ct_cgroup_pids(cg, &pids, &n, NULL), 0);
                if (n == 0)
                        return;
                ck_assert_msg(hd_monotonic_ms() < deadline, "%zu processes left", n);
                sleep_ms(5);
        }
}

START_TEST(test_kill)
{
        USE_HOST();
        create("kill", NULL);
        pid_t a = spawn(cg, child_spin_ignoring_term, 0);
        pid_t b = spawn(cg, child_spin, 1);
        wait_counter(0);
        wait_counter(1);

        /* SIGTERM: b dies, a ignores it; the group is not left frozen */
        ck_assert_int_eq(hd_ct_cgroup_kill(cg, SIGTERM, NULL), 0);
        int status = reap(b, 10000);
        ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
        if (H->has_freezer) {
                const char *dir = hd_cg_dir(cg, HD_CG_C_FREEZER);
                if (cg->version == HD_CGROUP_V1)
                        assert_file(dir, "freezer.state", "THAWED");
                else
                        assert_file(dir, "cgroup.freeze", "0");
        }
        uint64_t before = shm->counter[0];
        int64_t deadline = hd_monotonic_ms() + 10000;
        while (shm->counter[0] == before) {
                ck_assert_msg(hd_monotonic_ms() < deadline, "a stopped running");
                sleep_ms(5);
        }

        /* SIGKILL on a frozen group: killed all the same */
        if (H->has_freezer)
                ck_assert_int_eq(hd_ct_cgroup_freeze(cg, true, NULL), 0);
        pid_t c = spawn(NULL, child_pause, 0); /* not in the group: must survive */
        ck_assert_int_eq(hd_ct_cgroup_kill(cg, SIGKILL, NULL), 0);
        status = reap(a, 10000);
        ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        wait_empty();
        ck_assert_int_eq(kill(c, 0), 0);

        /* an empty group is fine too */
        ck_assert_int_eq(hd_ct_cgroup_kill(cg, SIGKILL, NULL), 0);
}
END_TEST

START_TEST(test_destroy)
{
        USE_HOST();
        HdCtCgroupLimits lim = { .memory_bytes = H->has_memory ? 64 * MiB : 0,
                                 .pids_max = H->has_pids ? 16 : 0 };
        create("destroy", &lim);
        pid_t a = spawn(cg, child_spin, 0);
        pid_t b = spawn(cg, child_pause, 0);
        wait_counter(0);

        char paths[HD_CG_DIRS_MAX][PATH_MAX];
        size_t n = cg->n_dirs;
        for (size_t i = 0; i < n; i++)
                snprintf(paths[i], sizeof(paths[i]), "%s", cg->dirs[i].path);

        /* a frozen group too: SIGKILLed processes must be thawed to die */
        if (H->has_freezer)
                ck_assert_int_eq(hd_ct_cgroup_freeze(cg, true, NULL), 0);
        int64_t t0 = hd_monotonic_ms();
        HdError *err = NULL;
        int r = hd_ct_cgroup_destroy(cg, &err);
        ck_assert_msg(r == 0, "destroy: %s", err ? err->message : "");
        printf("[%s] destroy: %zu directories removed in %lld ms\n", variant[_i], n,
               (long long)(hd_monotonic_ms() - t0));
        fflush(stdout);
        for (size_t i = 0; i < n; i++)
                ck_assert_msg(access(paths[i], F_OK) < 0 && errno == ENOENT, "%s is still there",
                              paths[i]);
        int status = reap(a, 5000);
        ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        status = reap(b, 5000);
        ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

        /* again: nothing to do */
        ck_assert_int_eq(hd_ct_cgroup_destroy(cg, NULL), 0);
        char name[96];
        group_name(name, "destroy");
        HdCtCgroup *g = NULL;
        ck_assert_int_eq(hd_ct_cgroup_open(H, name, &g, NULL), -ENOENT);
}
END_TEST

START_TEST(test_destroy_twice_and_empty)
{
        USE_HOST();
        create("twice", NULL);
        ck_assert_int_eq(hd_ct_cgroup_destroy(cg, NULL), 0);
        ck_assert_int_eq(hd_ct_cgroup_destroy(cg, NULL), 0);
        for (size_t i = 0; i < cg->n_dirs; i++)
                ck_assert(!is_dir(cg->dirs[i].path));
        /* the group being gone shows in the calls that need it */
        HdCtCgroupStats st;
        HdError *err = NULL;
        ck_assert_int_eq(hd_ct_cgroup_stats(cg, &st, &err), -ENOENT);
        hd_error_free(err);
}
END_TEST

START_TEST(test_open)
{
        USE_HOST();
        char name[96];
        group_name(name, "missing");
        HdCtCgroup *g = NULL;
        HdError *err = NULL;
        ck_assert_int_eq(hd_ct_cgroup_open(H, name, &g, &err), -ENOENT);
        ck_assert_ptr_null(g);
        ck_assert_ptr_nonnull(err);
        ck_assert_int_eq(err->code, -ENOENT);
        hd_error_free(err);
        err = NULL;

        /* after a "restart": the same group, reached by name */
        HdCtCgroupLimits lim = { .pids_max = H->has_pids ? 10 : 0 };
        create("open", &lim);
        pid_t pid = spawn(cg, child_pause, 0);
        group_name(name, "open");
        _cleanup_(hd_ct_cgroup_freep) HdCtCgroup *again = NULL;
        ck_assert_int_eq(hd_ct_cgroup_open(H, name, &again, &err), 0);
        ck_assert_ptr_null(err);
        ck_assert_uint_eq(again->n_dirs, cg->n_dirs);
        _cleanup_free_ pid_t *pids = NULL;
        size_t n = 0;
        ck_assert_int_eq(hd_ct_cgroup_pids(again, &pids, &n, NULL), 0);
        ck_assert_uint_eq(n, 1);
        ck_assert_int_eq(pids[0], pid);
        HdCtCgroupStats st;
        ck_assert_int_eq(hd_ct_cgroup_stats(again, &st, NULL), 0);
        if (H->has_pids)
                ck_assert_uint_eq(st.pids_limit, 10);
        ck_assert_int_eq(hd_ct_cgroup_destroy(again, NULL), 0);
        int status = reap(pid, 5000);
        ck_assert(WIFSIGNALED(status));
}
END_TEST

static Suite *ct_cgroup_suite(void)
{
        Suite *s = suite_create("ct-cgroup");
        TCase *tc = tcase_create("offline");
        tcase_add_test(tc, test_default_devices);
        tcase_add_test(tc, test_mountinfo_parse);
        tcase_add_test(tc, test_bpf_assemble);
        tcase_add_test(tc, test_invalid_arguments);
        suite_add_tcase(s, tc);

        tc = tcase_create("host");
        tcase_add_unchecked_fixture(tc, runner_setup, runner_teardown);
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 120);
        tcase_add_loop_test(tc, test_probe, 0, 2);
        tcase_add_loop_test(tc, test_create_limits, 0, 2);
        tcase_add_loop_test(tc, test_attach, 0, 2);
        tcase_add_loop_test(tc, test_oom, 0, 2);
        tcase_add_loop_test(tc, test_pids_max, 0, 2);
        tcase_add_loop_test(tc, test_cpuset, 0, 2);
        tcase_add_loop_test(tc, test_freeze, 0, 2);
        tcase_add_loop_test(tc, test_stats, 0, 2);
        tcase_add_loop_test(tc, test_devices, 0, 2);
        tcase_add_loop_test(tc, test_devices_update, 0, 2);
        tcase_add_loop_test(tc, test_devices_bpf, 0, 2);
        tcase_add_loop_test(tc, test_clone_into_cgroup, 0, 2);
        tcase_add_loop_test(tc, test_kill, 0, 2);
        tcase_add_loop_test(tc, test_destroy, 0, 2);
        tcase_add_loop_test(tc, test_destroy_twice_and_empty, 0, 2);
        tcase_add_loop_test(tc, test_open, 0, 2);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        SRunner *sr = srunner_create(ct_cgroup_suite());
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
