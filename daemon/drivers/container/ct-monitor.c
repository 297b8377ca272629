/* hostd-monitor: the per-container runtime and monitor (runc + conmon in one small
 * binary). hostd's container driver prepares a bundle (ct-bundle.h) and runs
 *
 *   hostd-monitor start <bundle>     creates the container and stays as its monitor
 *   hostd-monitor exec <bundle> …    runs a command inside the running container
 *
 * `start` forks the monitor proper, which detaches (setsid, /dev/null stdio, no
 * other fds), creates the cgroup, clones the container's init into new
 * namespaces (ct-init.c), makes a bridged container's veth pair (net-link.c)
 * before letting init go on, writes state.json once init exec'd, and reports one
 * JSON line to the start process: {"pid": N, "monitor_pid": N} or
 * {"error": "…", "step": "…"}. Then it copies the container's stdout/stderr into
 * the CRI log (ct-log.c) until init exits, writes exit.json and exits. It
 * outlives hostd, ignores terminal signals, never removes the cgroup (hostd does
 * on delete) and never touches hostd's database or sockets. */
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ct-bundle.h"
#include "ct-cgroup.h"
#include "ct-init.h"
#include "ct-log.h"
#include "ct-rootfs.h"
#include "ct-security.h"
#include "hd-json.h"
#include "hd-util.h"
#include "net-link.h"

#ifndef HD_VERSION
#define HD_VERSION "0.1.0"
#endif
#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

#define SECCOMP_MAX_BYTES (4 * 1024 * 1024)
#define SETUP_TIMEOUT_MS  60000 /* the child's mounts up to exec */
#define DRAIN_TIMEOUT_MS  2000  /* output still in the pipes once init exited */
#define QUIET_FLUSH_MS    1000  /* an unfinished line is logged (P) after this long */
#define EXIT_NOT_RUNNING  125
#define EXIT_CANNOT_EXEC  126
#define EXIT_NOT_FOUND    127

static void usage(FILE *out)
{
        fprintf(out, "usage: hostd-monitor start BUNDLE\n"
                     "       hostd-monitor exec BUNDLE [--stdin] [--env K=V]... [--cwd DIR] "
                     "[--user U] -- ARGS...\n"
                     "       hostd-monitor --version | --help\n"
                     "\n"
                     "start  creates the container described by BUNDLE/config.json and stays as\n"
                     "       its monitor; prints {\"pid\": N, \"monitor_pid\": N} or\n"
                     "       {\"error\": \"...\", \"step\": \"...\"} and exits 0 or 1\n"
                     "exec   runs ARGS in the running container with this process's stdio and\n"
                     "       exits with its status (125: not running, 126: cannot execute,\n"
                     "       127: not found)\n");
}

/* ---- small helpers ------------------------------------------------------------------ */

static int64_t remaining_ms(int64_t deadline)
{
        int64_t left = deadline - hd_monotonic_ms();
        return left < 0 ? 0 : left;
}

/* ---- the report to the start process ------------------------------------------------ */

static void report(int fd, json_t *o)
{
        if (fd < 0 || !o)
                return;
        _cleanup_free_ char *text = json_dumps(o, JSON_COMPACT);
        if (text) {
                (void)hd_write_all(fd, text, strlen(text));
                (void)hd_write_all(fd, "\n", 1);
        }
        json_decref(o);
}

static void report_error(int fd, const char *step, const char *fmt, ...) HD_PRINTF(3, 4);
static void report_error(int fd, const char *step, const char *fmt, ...)
{
        _cleanup_free_ char *msg = NULL;
        va_list ap;
        va_start(ap, fmt);
        if (vasprintf(&msg, fmt, ap) < 0)
                msg = NULL;
        va_end(ap);
        report(fd, json_pack("{s:s, s:s}", "error", msg ? msg : "out of memory", "step", step));
}

/* ---- the monitor proper: starting the container ------------------------------------- */

typedef struct Monitor {
        HdCtBundle *bundle;
        HdCtCgroupHost host;
        HdCtCgroup *cg;
        HdCtLogWriter *log;
        void *seccomp;
        size_t seccomp_len;
        int rootfs_fd; /* the overlay over id-mapped layers, until the child has it */
        uint64_t oom_base;
        pid_t pid;
        int sig_fd;
        int out_fd, err_fd; /* read ends of the container's stdout/stderr */
} Monitor;

struct hd_clone_args {
        uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid,
                set_tid_size, cgroup;
};

/* clone3 (into the cgroup when cgroup_fd >= 0), else clone: a fork-like child on
 * the same stack. *ret_in_cgroup says whether the kernel placed it already. */
static pid_t clone_init(uint64_t flags, int cgroup_fd, bool *ret_in_cgroup)
{
        struct hd_clone_args ca = { .flags = flags, .exit_signal = SIGCHLD };
        *ret_in_cgroup = false;
        if (cgroup_fd >= 0) {
                ca.flags |= CLONE_INTO_CGROUP;
                ca.cgroup = (uint64_t)cgroup_fd;
                long r = syscall(SYS_clone3, &ca, sizeof(ca));
                if (r >= 0) {
                        *ret_in_cgroup = true;
                        return (pid_t)r;
                }
                ca.flags = flags;
                ca.cgroup = 0;
        }
        long r = syscall(SYS_clone3, &ca, sizeof(ca));
        if (r >= 0 || (errno != ENOSYS && errno != E2BIG))
                return (pid_t)r;
        return (pid_t)syscall(SYS_clone, (unsigned long)flags | SIGCHLD, NULL, NULL, NULL, NULL);
}

/* Creates the group; one left by an earlier run of this container (hostd removes
 * it only on delete) is replaced when it is empty. */
static int make_cgroup(Monitor *m, HdError **err)
{
        const HdCtBundle *b = m->bundle;
        int r = hd_ct_cgroup_probe(&m->host, err);
        if (r < 0)
                return r;
        /* No CPU quota yet: it goes on once the container has exec'd (cpu_limits). The
         * pinning is there from the start, so the container never runs elsewhere. */
        HdCtCgroupLimits lim = { .memory_bytes = b->memory_bytes,
                                 .cpu_period_us = b->cpu_period_us,
                                 .pids_max = b->pids_max,
                                 .cpuset = b->cpuset };
        /* Privileged: every device, as the host's nodes are all in its /dev. */
        static const HdCtDeviceRule all_devices = { 'a', -1, -1, "rwm", true };
        if (b->privileged) {
                lim.devices = &all_devices;
                lim.n_devices = 1;
        }
        r = hd_ct_cgroup_create(&m->host, b->cgroup_name, &lim, &m->cg, err);
        if (r != -EEXIST)
                return r;
        hd_error_free(*err);
        *err = NULL;
        _cleanup_(hd_ct_cgroup_freep) HdCtCgroup *old = NULL;
        _cleanup_free_ pid_t *pids = NULL;
        size_t n = 0;
        if ((r = hd_ct_cgroup_open(&m->host, b->cgroup_name, &old, err)) < 0 ||
            (r = hd_ct_cgroup_pids(old, &pids, &n, err)) < 0)
                return r;
        if (n > 0)
                return hd_error_set(err, -EBUSY, "cgroup `%s` still has %zu processes",
                                    b->cgroup_name, n);
        if ((r = hd_ct_cgroup_destroy(old, err)) < 0)
                return r;
        return hd_ct_cgroup_create(&m->host, b->cgroup_name, &lim, &m->cg, err);
}

/* The container's CPU quota, once its init has exec'd: its setup in the child (mounts,
 * pivot_root, the seccomp load) is the runtime's work, and at a small quota it would
 * take whole periods of throttling (a 0.01-vCPU container gets 1 ms per 100 ms). */
static int cpu_limits(Monitor *m, HdError **err)
{
        const HdCtBundle *b = m->bundle;
        if (b->cpu_quota_us <= 0)
                return 0;
        HdCtCgroupLimits lim = { .memory_bytes = b->memory_bytes,
                                 .cpu_quota_us = b->cpu_quota_us,
                                 .cpu_period_us = b->cpu_period_us,
                                 .pids_max = b->pids_max };
        return hd_ct_cgroup_update(m->cg, &lim, err);
}

/* Network bridge: the container's veth pair, made while its init waits for the go
 * byte, so that its network is up before anything of the container's runs. */
static int setup_network(const HdCtBundle *b, pid_t pid, HdError **err)
{
        const HdCtNet *n = &b->net;
        char alias[128];
        snprintf(alias, sizeof(alias), "hostd:%s", b->uuid);
        HdNlVethConfig c = {
                .host_ifname = n->host_ifname,
                .alias = alias,
                .bridge = n->bridge,
                .ifname = n->ifname,
                .addr = n->address,
                .prefix = n->prefix,
                .gateway = n->gateway,
                .mtu = n->mtu,
        };
        memcpy(c.mac, n->mac, sizeof(c.mac));
        return hd_nl_veth_setup(&c, pid, err);
}

static void kill_and_reap(pid_t pid)
{
        if (pid <= 0)
                return;
        kill(pid, SIGKILL);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                ;
}

/* Everything up to a running container; on failure reports and returns < 0. */
static int start_container(Monitor *m, const char *dir, int report_fd)
{
        _cleanup_error_ HdError *err = NULL;
        int r = hd_ct_bundle_load(dir, &m->bundle, &err);
        if (r < 0) {
                report_error(report_fd, "config", "%s", err->message);
                return r;
        }
        const HdCtBundle *b = m->bundle;

        /* What an earlier run left is stale now. */
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "%s/%s", dir, HD_CT_STATE_FILE);
        unlink(path);
        snprintf(path, sizeof(path), "%s/%s", dir, HD_CT_EXIT_FILE);
        unlink(path);

        if (b->seccomp_path) {
                _cleanup_free_ char *prog = NULL;
                r = hd_read_file(b->seccomp_path, SECCOMP_MAX_BYTES, &prog, &m->seccomp_len);
                if (r >= 0 && (m->seccomp_len == 0 || m->seccomp_len % 8 != 0))
                        r = -EINVAL;
                if (r < 0) {
                        report_error(report_fd, "seccomp", "read the seccomp filter `%s`: %s",
                                     b->seccomp_path, strerror(-r));
                        return r;
                }
                m->seccomp = TAKE_PTR(prog);
        }

        if (b->userns && b->idmapped_layers) {
                HdCtFail cf = { 0 };
                if ((r = hd_ct_rootfs_idmapped(b, &m->rootfs_fd, &cf)) < 0) {
                        report_error(report_fd, cf.step, "%s: %s", cf.message, strerror(cf.err));
                        return r;
                }
        }

        if ((r = make_cgroup(m, &err)) < 0) {
                report_error(report_fd, "cgroup", "%s", err->message);
                return r;
        }
        if (hd_ct_cgroup_oom_kills(m->cg, &m->oom_base, NULL) < 0)
                m->oom_base = 0;

        int out[2] = { -1, -1 }, errp[2] = { -1, -1 }, sync[2] = { -1, -1 }, fail[2] = { -1, -1 };
        if (pipe2(out, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0 || pipe2(sync, O_CLOEXEC) < 0 ||
            pipe2(fail, O_CLOEXEC) < 0) {
                r = -errno;
                report_error(report_fd, "pipes", "pipe: %s", strerror(-r));
                return r; /* the monitor exits: what it opened goes with it */
        }
        m->out_fd = out[0];
        m->err_fd = errp[0];
        (void)fcntl(m->out_fd, F_SETFL, O_NONBLOCK);
        (void)fcntl(m->err_fd, F_SETFL, O_NONBLOCK);

        if ((r = hd_ct_log_writer_open(b->log_path, b->log_max_bytes, b->log_max_files, &m->log,
                                       &err)) < 0) {
                report_error(report_fd, "log", "%s", err->message);
                return r;
        }

        uint64_t flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC;
        if (b->network != HD_CT_NETWORK_HOST)
                flags |= CLONE_NEWNET;
        if (b->userns)
                flags |= CLONE_NEWUSER;
        /* CLONE_NEWCGROUP is left to the child, once it is in the group: a namespace
         * made at clone time would be rooted where the monitor is. */
        int cg_fd = m->host.has_clone_into_cgroup ? hd_ct_cgroup_open_dirfd(m->cg, NULL) : -1;
        /* The child finds the merged dir as its cwd (copied into its mount namespace), as
         * its root could not walk there. */
        if (m->rootfs_fd >= 0 && chdir(b->merged) < 0) {
                r = -errno;
                report_error(report_fd, "mount-overlay", "chdir `%s`: %s", b->merged, strerror(-r));
                return r;
        }
        bool in_cgroup = false;
        pid_t pid = clone_init(flags, cg_fd, &in_cgroup);
        if (pid == 0) {
                HdCtInitArgs a = {
                        .bundle = b,
                        .sync_fd = sync[0],
                        .error_fd = fail[1],
                        .stdout_fd = out[1],
                        .stderr_fd = errp[1],
                        .seccomp = m->seccomp,
                        .seccomp_len = m->seccomp_len,
                        .rootfs_fd = m->rootfs_fd,
                };
                hd_ct_init_run(&a);
        }
        int clone_errno = errno;
        if (cg_fd >= 0)
                close(cg_fd);
        /* The child holds the overlay now; it goes with the child's mount namespace. */
        if (m->rootfs_fd >= 0) {
                close(TAKE_FD(m->rootfs_fd));
                (void)!chdir("/");
        }
        close(sync[0]);
        close(fail[1]);
        close(out[1]);
        close(errp[1]);
        _cleanup_close_ int go = sync[1], child_err = fail[0];
        if (pid < 0) {
                report_error(report_fd, "clone", "clone: %s", strerror(clone_errno));
                return -clone_errno;
        }
        m->pid = pid;

        const char *step = NULL, *what = NULL;
        if (!in_cgroup && (r = hd_ct_cgroup_attach(m->cg, pid)) < 0) {
                step = "cgroup-attach";
                what = "move the container's init into its cgroup";
        } else if (b->userns && (r = hd_ct_userns_write_maps(pid, b)) < 0) {
                step = "userns-map";
                what = "write the user namespace's uid_map and gid_map";
        } else if (b->network == HD_CT_NETWORK_BRIDGE && (r = setup_network(b, pid, &err)) < 0) {
                kill_and_reap(pid);
                report_error(report_fd, "network", "%s", err->message);
                return r;
        } else if ((r = hd_write_all(go, "g", 1)) < 0) {
                step = "sync";
                what = "signal the container's init";
        }
        if (step) {
                kill_and_reap(pid);
                report_error(report_fd, step, "%s: %s", what, strerror(-r));
                return r;
        }
        close(TAKE_FD(go));

        /* EOF without a word: the child exec'd. */
        struct pollfd pfd = { .fd = child_err, .events = POLLIN };
        int64_t deadline = hd_monotonic_ms() + SETUP_TIMEOUT_MS;
        while ((r = poll(&pfd, 1, (int)remaining_ms(deadline))) < 0 && errno == EINTR)
                ;
        if (r == 0) {
                kill_and_reap(pid);
                report_error(report_fd, "init", "the container's init did not exec within %d s",
                             SETUP_TIMEOUT_MS / 1000);
                return -ETIMEDOUT;
        }
        HdCtFail cf;
        char step_buf[64];
        r = hd_ct_fail_recv(child_err, &cf, step_buf);
        if (r != 0) {
                kill_and_reap(pid);
                if (r < 0)
                        report_error(report_fd, "init", "read the child's report: %s",
                                     strerror(-r));
                else
                        report_error(report_fd, cf.step, "%s: %s", cf.message, strerror(cf.err));
                return r < 0 ? r : -cf.err;
        }

        if ((r = cpu_limits(m, &err)) < 0) {
                kill_and_reap(pid);
                report_error(report_fd, "cgroup", "%s", err->message);
                return r;
        }
        HdCtState st = { .monitor_pid = getpid(), .pid = pid, .started_at_ms = hd_now_ms() };
        if ((r = hd_ct_pid_start_time(getpid(), &st.monitor_start_time)) < 0 ||
            (r = hd_ct_pid_start_time(pid, &st.start_time)) < 0) {
                kill_and_reap(pid);
                report_error(report_fd, "state", "read /proc/%d/stat: %s", (int)pid, strerror(-r));
                return r;
        }
        if ((r = hd_ct_state_write(dir, &st, &err)) < 0) {
                kill_and_reap(pid);
                report_error(report_fd, "state", "%s", err->message);
                return r;
        }
        report(report_fd, json_pack("{s:i, s:i}", "pid", (int)pid, "monitor_pid", (int)getpid()));
        return 0;
}

/* ---- the monitor proper: watching it ------------------------------------------------ */

/* Reads what a pipe has; returns false at EOF (the fd is then closed and -1). */
static bool pump(Monitor *m, int *fd, HdCtLogStream stream, int64_t *last)
{
        char buf[16384];
        for (int i = 0; i < 16; i++) {
                ssize_t n = read(*fd, buf, sizeof(buf));
                if (n > 0) {
                        (void)hd_ct_log_writer_feed(m->log, stream, buf, (size_t)n);
                        *last = hd_monotonic_ms();
                        continue;
                }
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        return true;
                /* EOF, or an error that will not go away */
                (void)hd_ct_log_writer_flush(m->log, stream);
                close(*fd);
                *fd = -1;
                return false;
        }
        return true;
}

static bool reap(Monitor *m, int *ret_status)
{
        struct signalfd_siginfo si;
        while (read(m->sig_fd, &si, sizeof(si)) > 0)
                ;
        for (;;) {
                int status;
                pid_t p = waitpid(-1, &status, WNOHANG);
                if (p <= 0)
                        return false;
                if (p == m->pid) {
                        *ret_status = status;
                        return true;
                }
        }
}

static int watch_container(Monitor *m)
{
        int64_t last[2] = { 0, 0 };
        int status = 0;
        bool exited = false;
        while (!exited) {
                struct pollfd p[3] = {
                        { .fd = m->sig_fd, .events = POLLIN },
                        { .fd = m->out_fd, .events = POLLIN },
                        { .fd = m->err_fd, .events = POLLIN },
                };
                int timeout = -1;
                for (int s = 0; s < 2; s++)
                        if (hd_ct_log_writer_pending(m->log, (HdCtLogStream)s) > 0)
                                timeout = QUIET_FLUSH_MS;
                if (poll(p, 3, timeout) < 0 && errno != EINTR) {
                        /* Cannot happen; if it does, still wait for init and say how it
                         * ended, without its last output. */
                        while (waitpid(m->pid, &status, 0) < 0 && errno == EINTR)
                                ;
                        break;
                }
                if (p[1].revents)
                        pump(m, &m->out_fd, HD_CT_LOG_STDOUT, &last[0]);
                if (p[2].revents)
                        pump(m, &m->err_fd, HD_CT_LOG_STDERR, &last[1]);
                int64_t now = hd_monotonic_ms();
                for (int s = 0; s < 2; s++)
                        if (hd_ct_log_writer_pending(m->log, (HdCtLogStream)s) > 0 &&
                            now - last[s] >= QUIET_FLUSH_MS)
                                (void)hd_ct_log_writer_flush(m->log, (HdCtLogStream)s);
                if (p[0].revents)
                        exited = reap(m, &status);
        }

        /* Init is gone and the kernel killed the rest of its pid namespace; what they
         * wrote is still in the pipes until the last writer's fds are closed. */
        int64_t deadline = hd_monotonic_ms() + DRAIN_TIMEOUT_MS;
        while ((m->out_fd >= 0 || m->err_fd >= 0) && remaining_ms(deadline) > 0) {
                struct pollfd p[2] = { { .fd = m->out_fd, .events = POLLIN },
                                       { .fd = m->err_fd, .events = POLLIN } };
                if (poll(p, 2, (int)remaining_ms(deadline)) <= 0)
                        continue;
                if (p[0].revents)
                        pump(m, &m->out_fd, HD_CT_LOG_STDOUT, &last[0]);
                if (p[1].revents)
                        pump(m, &m->err_fd, HD_CT_LOG_STDERR, &last[1]);
        }
        (void)hd_ct_log_writer_flush(m->log, HD_CT_LOG_STDOUT);
        (void)hd_ct_log_writer_flush(m->log, HD_CT_LOG_STDERR);

        uint64_t ooms = m->oom_base;
        if (hd_ct_cgroup_oom_kills(m->cg, &ooms, NULL) < 0 || ooms < m->oom_base)
                ooms = m->oom_base;
        HdCtExit e;
        hd_ct_exit_from_wait_status(status, ooms - m->oom_base, hd_now_ms(), &e);
        _cleanup_error_ HdError *err = NULL;
        return hd_ct_exit_write(m->bundle->dir, &e, &err);
}

static void monitor_free(Monitor *m)
{
        hd_ct_log_writer_free(m->log);
        hd_ct_cgroup_free(m->cg);
        hd_ct_bundle_free(m->bundle);
        free(m->seccomp);
        if (m->out_fd >= 0)
                close(m->out_fd);
        if (m->err_fd >= 0)
                close(m->err_fd);
        if (m->sig_fd >= 0)
                close(m->sig_fd);
        if (m->rootfs_fd >= 0)
                close(m->rootfs_fd);
}

/* The detached monitor. Its only link to the start process is report_fd. */
static _Noreturn void monitor_main(const char *dir, int report_fd)
{
        (void)setsid();
        if (chdir("/") < 0)
                _exit(1);
        /* stdio becomes /dev/null, the report pipe fd 3, and nothing else stays open
         * (hostd's fds included). The pipe first moves out of 0-2, should hostd have
         * started us with any of those closed. */
        int rfd = fcntl(report_fd, F_DUPFD_CLOEXEC, 3);
        int null = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (rfd < 0 || null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0)
                _exit(1);
        if (rfd != 3 && dup3(rfd, 3, O_CLOEXEC) < 0)
                _exit(1);
        report_fd = 3;
        if (syscall(SYS_close_range, 4U, ~0U, 0U) < 0)
                _exit(1);

        /* Outlive hostd and whatever terminal it had; stop only with the container. */
        static const int ignored[] = { SIGTERM, SIGINT,  SIGHUP,  SIGQUIT, SIGPIPE,
                                       SIGTSTP, SIGTTIN, SIGTTOU, SIGUSR1, SIGUSR2 };
        for (size_t i = 0; i < HD_ARRAY_SIZE(ignored); i++)
                signal(ignored[i], SIG_IGN);
        /* Nothing in the container may open this process through /proc (its exe is
         * the monitor's binary until the child execs). */
        (void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);

        Monitor m = { .sig_fd = -1, .out_fd = -1, .err_fd = -1, .rootfs_fd = -1 };
        sigset_t chld;
        sigemptyset(&chld);
        sigaddset(&chld, SIGCHLD);
        if (sigprocmask(SIG_BLOCK, &chld, NULL) < 0 ||
            (m.sig_fd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK)) < 0) {
                report_error(report_fd, "signalfd", "signalfd: %m");
                _exit(1);
        }
        if (start_container(&m, dir, report_fd) < 0) {
                /* Nothing ran: leave no group behind either. */
                if (m.cg)
                        (void)hd_ct_cgroup_destroy(m.cg, NULL);
                monitor_free(&m);
                _exit(1);
        }
        close(report_fd);
        /* The filter is in the container now; keep the monitor small. */
        free(TAKE_PTR(m.seccomp));
        int r = watch_container(&m);
        monitor_free(&m);
        _exit(r < 0 ? 1 : 0);
}

static int cmd_start(const char *bundle)
{
        char dir[PATH_MAX];
        if (!realpath(bundle, dir)) {
                _cleanup_free_ char *msg = NULL;
                if (asprintf(&msg, "bundle `%s`: %m", bundle) < 0)
                        msg = NULL;
                _cleanup_json_ json_t *o = json_pack("{s:s, s:s}", "error",
                                                     msg ? msg : "bad bundle", "step", "bundle");
                _cleanup_free_ char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
                printf("%s\n", text ? text : "{\"error\":\"bad bundle\",\"step\":\"bundle\"}");
                return 1;
        }
        int rp[2];
        if (pipe2(rp, O_CLOEXEC) < 0) {
                printf("{\"error\":\"pipe failed\",\"step\":\"monitor\"}\n");
                return 1;
        }
        fflush(stdout);
        pid_t pid = fork();
        if (pid < 0) {
                printf("{\"error\":\"fork failed\",\"step\":\"monitor\"}\n");
                return 1;
        }
        if (pid == 0) {
                close(rp[0]);
                monitor_main(dir, rp[1]);
        }
        close(rp[1]);

        char buf[4096];
        size_t len = 0;
        for (;;) {
                ssize_t n = read(rp[0], buf + len, sizeof(buf) - 1 - len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0 || (len += (size_t)n) == sizeof(buf) - 1)
                        break;
                if (memchr(buf, '\n', len))
                        break;
        }
        close(rp[0]);
        buf[len] = '\0';
        json_error_t jerr;
        _cleanup_json_ json_t *o = len ? json_loads(buf, 0, &jerr) : NULL;
        if (!json_is_object(o)) {
                /* It died before it could say anything. */
                int status = 0;
                (void)waitpid(pid, &status, WNOHANG);
                puts("{\"error\":\"the monitor exited without a report\",\"step\":\"monitor\"}");
                return 1;
        }
        _cleanup_free_ char *text = json_dumps(o, JSON_COMPACT);
        printf("%s\n", text ? text : buf);
        if (json_object_get(o, "error")) {
                (void)waitpid(pid, NULL, 0);
                return 1;
        }
        return 0;
}

/* ---- exec --------------------------------------------------------------------------- */

typedef struct ExecOptions {
        const char *bundle;
        bool stdin_open;
        char **env; /* NULL-terminated overrides */
        size_t n_env;
        const char *cwd;
        const char *user;
        char **args;
} ExecOptions;

static volatile sig_atomic_t exec_child;

static void forward_signal(int sig)
{
        if (exec_child > 0)
                kill(exec_child, sig);
}

static _Noreturn void exec_fail(int code, const char *fmt, ...) HD_PRINTF(2, 3);
static _Noreturn void exec_fail(int code, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        fputs("hostd-monitor: ", stderr);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        va_end(ap);
        _exit(code);
}

static int parse_exec(int argc, char **argv, ExecOptions *o)
{
        static const struct option longopts[] = {
                { "stdin", no_argument, NULL, 's' },
                { "env", required_argument, NULL, 'e' },
                { "cwd", required_argument, NULL, 'c' },
                { "user", required_argument, NULL, 'u' },
                { NULL, 0, NULL, 0 },
        };
        if (argc < 3)
                return -EINVAL;
        o->bundle = argv[2];
        o->env = calloc((size_t)argc, sizeof(char *));
        if (!o->env)
                return -ENOMEM;
        optind = 3;
        int c;
        while ((c = getopt_long(argc, argv, "+", longopts, NULL)) != -1) {
                switch (c) {
                case 's':
                        o->stdin_open = true;
                        break;
                case 'e':
                        if (!strchr(optarg, '=') || optarg[0] == '=') {
                                fprintf(stderr, "hostd-monitor: --env wants KEY=VALUE\n");
                                return -EINVAL;
                        }
                        o->env[o->n_env++] = optarg;
                        break;
                case 'c':
                        if (optarg[0] != '/') {
                                fprintf(stderr, "hostd-monitor: --cwd wants an absolute path\n");
                                return -EINVAL;
                        }
                        o->cwd = optarg;
                        break;
                case 'u':
                        o->user = optarg;
                        break;
                default:
                        return -EINVAL;
                }
        }
        if (optind >= argc) {
                fprintf(stderr, "hostd-monitor: exec needs a command after --\n");
                return -EINVAL;
        }
        o->args = argv + optind;
        return 0;
}

/* The forked child, already in the container's namespaces and cgroup. */
static _Noreturn void exec_child_main(const HdCtBundle *b, const ExecOptions *o,
                                      const void *seccomp, size_t seccomp_len)
{
        HdCtFail f = { 0 };
        int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root < 0)
                exec_fail(EXIT_NOT_RUNNING, "open the container's root: %m");
        HdCtUser u;
        if (hd_ct_chdir(root, o->cwd ? o->cwd : b->cwd, &f) < 0 ||
            hd_ct_user_resolve(root, o->user ? o->user : b->user, &u, &f) < 0 ||
            hd_ct_apply_rlimits(b, &f) < 0)
                exec_fail(EXIT_CANNOT_EXEC, "%s: %s", f.message, strerror(f.err));
        close(root);
        char **env = hd_ct_env_build(b->env, o->env, u.home);
        if (!env)
                exec_fail(EXIT_CANNOT_EXEC, "out of memory");
        char prog[PATH_MAX];
        int r = hd_ct_find_program(o->args[0], env, prog, sizeof(prog));
        if (r < 0)
                exec_fail(r == -ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_EXEC, "exec `%s`: %s",
                          o->args[0],
                          r == -ENOENT ? "executable file not found in $PATH" : strerror(-r));
        if (!o->stdin_open) {
                int null = open("/dev/null", O_RDONLY | O_CLOEXEC | O_NOCTTY);
                if (null < 0 || dup2(null, 0) < 0)
                        exec_fail(EXIT_CANNOT_EXEC, "open /dev/null: %m");
                close(null);
        }
        for (int sig = 1; sig < _NSIG; sig++)
                if (sig != SIGKILL && sig != SIGSTOP)
                        signal(sig, SIG_DFL);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        if (syscall(SYS_close_range, 3U, ~0U, 0U) < 0)
                exec_fail(EXIT_CANNOT_EXEC, "close_range: %m");

        HdCtSecurity sec = {
                .uid = u.uid,
                .gid = u.gid,
                .groups = u.groups,
                .n_groups = u.n_groups,
                .caps = b->caps,
                .no_new_privs = b->no_new_privs,
                .seccomp = seccomp,
                .seccomp_len = seccomp_len,
        };
        const char *step = NULL;
        r = hd_ct_security_apply(&sec, &step);
        if (r < 0)
                exec_fail(EXIT_CANNOT_EXEC, "%s: %s", step ? step : "security", strerror(-r));
        execve(prog, o->args, env);
        exec_fail(errno == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_EXEC, "exec `%s`: %m", prog);
}

static int cmd_exec(int argc, char **argv)
{
        ExecOptions o = { 0 };
        int r = parse_exec(argc, argv, &o);
        if (r < 0) {
                free(o.env);
                usage(stderr);
                return EXIT_NOT_RUNNING;
        }
        _cleanup_free_ char **env_overrides = o.env;
        _cleanup_error_ HdError *err = NULL;
        _cleanup_(hd_ct_bundle_freep) HdCtBundle *b = NULL;
        if (hd_ct_bundle_load(o.bundle, &b, &err) < 0)
                exec_fail(EXIT_NOT_RUNNING, "%s", err->message);
        HdCtState st;
        if (hd_ct_state_read(o.bundle, &st, NULL) < 0 || !hd_ct_state_container_alive(&st))
                exec_fail(EXIT_NOT_RUNNING, "container is not running");

        _cleanup_free_ char *seccomp = NULL;
        size_t seccomp_len = 0;
        if (b->seccomp_path) {
                r = hd_read_file(b->seccomp_path, SECCOMP_MAX_BYTES, &seccomp, &seccomp_len);
                if (r < 0 || seccomp_len == 0 || seccomp_len % 8 != 0)
                        exec_fail(EXIT_NOT_RUNNING, "read the seccomp filter `%s`: %s",
                                  b->seccomp_path, strerror(r < 0 ? -r : EINVAL));
        }

        /* Join the group first (its files are the host's), then the namespaces. */
        HdCtCgroupHost host;
        _cleanup_(hd_ct_cgroup_freep) HdCtCgroup *cg = NULL;
        if (hd_ct_cgroup_probe(&host, &err) < 0 ||
            hd_ct_cgroup_open(&host, b->cgroup_name, &cg, &err) < 0)
                exec_fail(EXIT_NOT_RUNNING, "%s", err->message);
        if ((r = hd_ct_cgroup_attach(cg, getpid())) < 0)
                exec_fail(EXIT_NOT_RUNNING, "join the container's cgroup: %s", strerror(-r));

        _cleanup_close_ int pidfd = (int)syscall(SYS_pidfd_open, st.pid, 0);
        /* The pid could have been recycled between the check and pidfd_open. */
        if (pidfd < 0 || !hd_ct_state_container_alive(&st))
                exec_fail(EXIT_NOT_RUNNING, "container is not running");
        int ns = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWPID | CLONE_NEWCGROUP;
        if (b->network != HD_CT_NETWORK_HOST)
                ns |= CLONE_NEWNET;
        if (b->userns)
                ns |= CLONE_NEWUSER;
        (void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
        if (setns(pidfd, ns) < 0)
                exec_fail(EXIT_NOT_RUNNING, "join the container's namespaces: %m");

        static const int forwarded[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };
        sigset_t fw, old;
        sigemptyset(&fw);
        for (size_t i = 0; i < HD_ARRAY_SIZE(forwarded); i++)
                sigaddset(&fw, forwarded[i]);
        sigprocmask(SIG_BLOCK, &fw, &old);
        fflush(NULL);
        pid_t pid = fork();
        if (pid < 0)
                exec_fail(EXIT_NOT_RUNNING, "fork: %m");
        if (pid == 0)
                exec_child_main(b, &o, seccomp, seccomp_len);
        exec_child = pid;
        struct sigaction sa = { .sa_handler = forward_signal };
        for (size_t i = 0; i < HD_ARRAY_SIZE(forwarded); i++)
                sigaction(forwarded[i], &sa, NULL);
        sigprocmask(SIG_SETMASK, &old, NULL);

        int status;
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        exec_fail(EXIT_NOT_RUNNING, "waitpid: %m");
        if (WIFSIGNALED(status))
                return 128 + WTERMSIG(status);
        return WIFEXITED(status) ? WEXITSTATUS(status) : 255;
}

/* ---- main --------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
        if (argc >= 2 && strcmp(argv[1], "--version") == 0) {
                printf("hostd-monitor %s\n", HD_VERSION);
                return 0;
        }
        if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
                usage(stdout);
                return 0;
        }
        if (argc == 3 && strcmp(argv[1], "start") == 0)
                return cmd_start(argv[2]);
        if (argc >= 3 && strcmp(argv[1], "exec") == 0) {
                /* Ends without exit handlers: this process sits in the container's pid
                 * namespace, where a leak checker's stop-the-world (ASan builds) cannot
                 * find its threads and spins forever. */
                int code = cmd_exec(argc, argv);
                fflush(NULL);
                _exit(code);
        }
        usage(stderr);
        return 2;
}
