/* The container driver's vtable: start, stop, kill, pause, resume, remove and observe
 * over bundles run by hostd-monitor, and the watcher thread that turns a monitor's exit
 * (its pidfd becoming readable) into an `exited` report with the real exit code. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ct-driver-internal.h"
#include "ct-security.h"
#include "hd-log.h"
#include "hd-util.h"

#define KILL_GRACE_MS 5000 /* after SIGKILL, how long the group may take to go */

static CtDriver *ct(HdDriver *d)
{
        return (CtDriver *)d;
}

char *hd_ct_driver_bundle_dir(CtDriver *d, const char *uuid)
{
        char *p = NULL;
        return asprintf(&p, "%s/%s", d->root, uuid) < 0 ? NULL : p;
}

static int pidfd_open_checked(pid_t pid, uint64_t start_time)
{
        int fd = (int)syscall(SYS_pidfd_open, pid, 0);
        if (fd < 0)
                return -errno;
        /* Opened first, checked second: the fd then holds the process we checked, never
         * a newcomer that got a recycled pid. */
        if (!hd_ct_pid_alive(pid, start_time)) {
                close(fd);
                return -ESRCH;
        }
        return fd;
}

/* Waits for a pidfd to become readable (the process ended); false on timeout. */
static bool pidfd_wait(int fd, int timeout_ms)
{
        int64_t deadline = hd_monotonic_ms() + timeout_ms;
        for (;;) {
                int64_t left = deadline - hd_monotonic_ms();
                struct pollfd p = { .fd = fd, .events = POLLIN };
                int n = poll(&p, 1, left < 0 ? 0 : (int)left);
                if (n > 0)
                        return true;
                if (n == 0 || (n < 0 && errno != EINTR))
                        return false;
        }
}

/* ---- the watcher ------------------------------------------------------------------ */

static void result_from_exit(const HdCtExit *e, HdDriverResult *ret)
{
        ret->state = HD_STATE_EXITED;
        ret->has_exit_code = true;
        ret->exit_code = e->exit_code;
        snprintf(ret->reason, sizeof(ret->reason), "%s", hd_ct_exit_reason_to_string(e->reason));
}

/* What a bundle whose monitor is gone says about its container's end. */
static void result_after_monitor(CtDriver *d, const char *uuid, HdDriverResult *ret)
{
        _cleanup_free_ char *dir = hd_ct_driver_bundle_dir(d, uuid);
        _cleanup_error_ HdError *err = NULL;
        HdCtExit e;
        if (dir && hd_ct_exit_read(dir, &e, &err) >= 0) {
                result_from_exit(&e, ret);
                return;
        }
        /* A monitor that died without recording the exit (killed by hand): the
         * container's pid namespace died with its init, and nothing tells the code. */
        ret->state = HD_STATE_EXITED;
        ret->has_exit_code = false;
        snprintf(ret->reason, sizeof(ret->reason), "monitor-lost");
}

static void watch_free(CtWatch *w)
{
        if (!w)
                return;
        if (w->pidfd >= 0)
                close(w->pidfd);
        free(w);
}

/* Unlinks the watch of uuid (or of key, when uuid is NULL) from the list; the caller
 * frees it. Caller holds d->lock. */
static CtWatch *watch_take(CtDriver *d, const char *uuid, uint64_t key)
{
        for (CtWatch **p = &d->watches; *p; p = &(*p)->next) {
                CtWatch *w = *p;
                if (uuid ? strcmp(w->uuid, uuid) == 0 : w->key == key) {
                        *p = w->next;
                        epoll_ctl(d->epfd, EPOLL_CTL_DEL, w->pidfd, NULL);
                        return w;
                }
        }
        return NULL;
}

static CtWatch *watch_find(CtDriver *d, const char *uuid)
{
        for (CtWatch *w = d->watches; w; w = w->next)
                if (strcmp(w->uuid, uuid) == 0)
                        return w;
        return NULL;
}

/* Starts following the monitor of state s (replacing any older watch of uuid). */
static int watch_add(CtDriver *d, const char *uuid, const HdCtState *s, bool busy)
{
        int fd = pidfd_open_checked(s->monitor_pid, s->monitor_start_time);
        if (fd < 0)
                return fd;
        CtWatch *w = calloc(1, sizeof(*w));
        if (!w) {
                close(fd);
                return -ENOMEM;
        }
        snprintf(w->uuid, sizeof(w->uuid), "%s", uuid);
        w->pidfd = fd;
        w->busy = busy;
        pthread_mutex_lock(&d->lock);
        watch_free(watch_take(d, uuid, 0));
        w->key = ++d->next_key;
        struct epoll_event ev = { .events = EPOLLIN, .data.u64 = w->key };
        int r = epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
        if (r >= 0) {
                w->next = d->watches;
                d->watches = w;
        }
        pthread_mutex_unlock(&d->lock);
        if (r < 0)
                watch_free(w);
        return r;
}

/* Marks uuid's watch busy (or not); returns whether one was there. */
static bool watch_set_busy(CtDriver *d, const char *uuid, bool busy)
{
        pthread_mutex_lock(&d->lock);
        CtWatch *w = watch_find(d, uuid);
        if (w)
                w->busy = busy;
        pthread_mutex_unlock(&d->lock);
        return w != NULL;
}

static void watch_drop(CtDriver *d, const char *uuid)
{
        pthread_mutex_lock(&d->lock);
        CtWatch *w = watch_take(d, uuid, 0);
        pthread_mutex_unlock(&d->lock);
        watch_free(w);
}

static void *watcher_main(void *arg)
{
        CtDriver *d = arg;
        for (;;) {
                struct epoll_event evs[16];
                int n = epoll_wait(d->epfd, evs, HD_ARRAY_SIZE(evs), -1);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        hd_log_error("container watcher: epoll_wait: %m");
                        return NULL;
                }
                for (int k = 0; k < n; k++) {
                        if (evs[k].data.u64 == 0)
                                return NULL; /* the wake fd: shutting down */
                        pthread_mutex_lock(&d->lock);
                        CtWatch *w = watch_take(d, NULL, evs[k].data.u64);
                        pthread_mutex_unlock(&d->lock);
                        if (!w)
                                continue;
                        if (!w->busy) {
                                HdDriverResult res = { 0 };
                                result_after_monitor(d, w->uuid, &res);
                                hd_log_info("container %s exited (%s, code %d)", w->uuid,
                                            res.reason, res.exit_code);
                                d->sink.state_changed(d->sink.core, w->uuid, &res);
                        }
                        watch_free(w);
                }
        }
}

/* ---- init ---------------------------------------------------------------------------- */

static char *find_monitor(const char *configured)
{
        if (configured)
                return access(configured, X_OK) == 0 ? strdup(configured) : NULL;
        char exe[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        if (n <= 0)
                return NULL;
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (!slash)
                return NULL;
        *slash = '\0';
        static const char *const candidates[] = { "hostd-monitor",
                                                  "../libexec/hostd/hostd-monitor" };
        for (size_t k = 0; k < HD_ARRAY_SIZE(candidates); k++) {
                char *p = NULL;
                if (asprintf(&p, "%s/%s", exe, candidates[k]) < 0)
                        return NULL;
                if (access(p, X_OK) == 0)
                        return p;
                free(p);
        }
        return NULL;
}

static int ct_init(HdDriver *base, const HdDriverSink *sink, HdError **err)
{
        CtDriver *d = ct(base);
        d->sink = *sink;
        if (!d->images)
                return hd_error_set(err, -ENODEV, "the image store is not open");
        if (geteuid() != 0)
                return hd_error_set(err, -EPERM, "containers need hostd to run as root");
        if (!(d->monitor = find_monitor(d->monitor)))
                return hd_error_set(err, -ENOENT,
                                    "hostd-monitor not found beside hostd or in "
                                    "../libexec/hostd");
        int r = hd_ct_cgroup_probe(&d->cg, err);
        if (r < 0)
                return hd_error_wrap(err, "cgroups");
        if ((r = hd_mkdir_p(d->root, 0700)) < 0)
                return hd_error_set(err, r, "cannot create `%s`: %s", d->root, strerror(-r));

        /* The seccomp profile is compiled once per hostd start; every monitor loads the
         * same BPF from this file. */
        _cleanup_free_ void *prog = NULL;
        size_t len = 0;
        if ((r = hd_ct_seccomp_build(&prog, &len, err)) < 0)
                return hd_error_wrap(err, "seccomp");
        if (asprintf(&d->seccomp_path, "%s/seccomp.bpf", d->root) < 0)
                return hd_error_set(err, -ENOMEM, "out of memory");
        if ((r = hd_write_file_atomic(d->seccomp_path, prog, len, 0600)) < 0)
                return hd_error_set(err, r, "cannot write `%s`: %s", d->seccomp_path, strerror(-r));

        if ((d->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
            (d->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
                return hd_error_set(err, -errno, "cannot set up the watcher: %m");
        struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 0 };
        if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, d->wake_fd, &ev) < 0)
                return hd_error_set(err, -errno, "cannot set up the watcher: %m");
        if ((r = pthread_create(&d->thread, NULL, watcher_main, d)) != 0)
                return hd_error_set(err, -r, "cannot start the watcher thread");
        d->thread_started = true;
        snprintf(d->detail, sizeof(d->detail), "cgroup v%d, seccomp filter of %zu instructions",
                 (int)d->cg.version, len / 8);
        hd_log_info("container driver: %s, monitor %s", d->detail, d->monitor);
        return 0;
}

static void ct_shutdown(HdDriver *base)
{
        CtDriver *d = ct(base);
        if (d->thread_started) {
                uint64_t one = 1;
                (void)!write(d->wake_fd, &one, sizeof(one));
                pthread_join(d->thread, NULL);
                d->thread_started = false;
        }
        /* The containers go on running: the next hostd re-attaches. */
        pthread_mutex_lock(&d->lock);
        while (d->watches) {
                CtWatch *w = d->watches;
                d->watches = w->next;
                watch_free(w);
        }
        pthread_mutex_unlock(&d->lock);
}

/* ---- security knobs --------------------------------------------------------------- */

#define PRIVILEGED_HINT "start hostd with allow-privileged to allow it"

static int cap_list(const HdStrv *v, const char *field, uint64_t *ret, bool *ret_all, HdError **err)
{
        size_t bad = 0;
        if (hd_ct_caps_from_names(v->items, v->n, ret, ret_all, &bad) < 0) {
                char f[64];
                snprintf(f, sizeof(f), "%s[%zu]", field, bad);
                return hd_error_set_field(err, -EINVAL, f, "`%s` is not a capability",
                                          v->items[bad]);
        }
        return 0;
}

int hd_ct_driver_security(CtDriver *d, const HdSecurity *sec, CtSecurityPlan *ret, HdError **err)
{
        *ret = (CtSecurityPlan){ .seccomp = true,
                                 .privileged = sec->privileged,
                                 .userns = sec->userns };
        /* Docker refuses --privileged with a remapped user namespace and Incus's
         * security.privileged means "no id mapping": root in a privileged container is
         * the host's root, which no user namespace can give. */
        if (sec->privileged && sec->userns)
                return hd_error_set_field(err, -EINVAL, "security.userns",
                                          "`privileged` and `userns` cannot go together: a "
                                          "privileged container runs as the host's root, "
                                          "outside any user namespace");
        if (sec->privileged && !d->allow_privileged)
                return hd_error_set_field(
                        err, -EPERM, "security.privileged",
                        "`privileged` hands the container the host: " PRIVILEGED_HINT);

        HdCtCapsTweak t = { .privileged = sec->privileged };
        int r = cap_list(&sec->cap_add, "security.cap_add", &t.add, &t.add_all, err);
        if (r < 0 ||
            (r = cap_list(&sec->cap_drop, "security.cap_drop", &t.drop, &t.drop_all, err)) < 0)
                return r;
        uint64_t defaults = hd_ct_caps_default();
        for (size_t i = 0; i < sec->cap_add.n; i++) {
                const char *name = sec->cap_add.items[i];
                bool all = strcmp(name, "ALL") == 0;
                uint64_t bit = all ? 0 : 1ULL << hd_ct_cap_from_name(name);
                char field[64];
                snprintf(field, sizeof(field), "security.cap_add[%zu]", i);
                if ((all || !(bit & defaults)) && !d->allow_privileged)
                        return hd_error_set_field(
                                err, -EPERM, field,
                                "`%s` is beyond the default capabilities: " PRIVILEGED_HINT, name);
                if (!all && !(bit & d->caps_all))
                        return hd_error_set_field(err, -EINVAL, field,
                                                  "`%s` is not available on this host: hostd "
                                                  "itself does not hold it",
                                                  name);
        }

        if (sec->seccomp && strcmp(sec->seccomp, "unconfined") == 0) {
                if (!d->allow_privileged)
                        return hd_error_set_field(
                                err, -EPERM, "security.seccomp",
                                "seccomp `unconfined` lifts the syscall filter: " PRIVILEGED_HINT);
                ret->seccomp = false;
        } else if (sec->seccomp && strcmp(sec->seccomp, "default") != 0)
                return hd_error_set_field(err, -EINVAL, "security.seccomp",
                                          "`%s` is not a seccomp profile: use `default` or "
                                          "`unconfined`",
                                          sec->seccomp);
        if (sec->privileged)
                ret->seccomp = false;
        ret->caps = hd_ct_caps_tweak(defaults, d->caps_all, &t);
        return 0;
}

static int ct_validate(HdDriver *base, const HdInstanceSpec *spec, HdError **err)
{
        CtDriver *d = ct(base);
        if (!spec->image || !*spec->image)
                return hd_error_set_field(err, -EINVAL, "image", "a container needs an image");
        /* `none`, or a network's name: the core checks that the network exists and gives
         * the instance an address on it, which start wires up (a veth pair on its bridge).
         * The host's network namespace is the host's network: a privileged knob. */
        if (spec->network && strcmp(spec->network, "host") == 0 && !d->allow_privileged)
                return hd_error_set_field(err, -EPERM, "network",
                                          "network `host` is privileged: " PRIVILEGED_HINT);
        /* Pinning is refused at create, not found out at start: CPUs the host does not
         * have online, or a host whose cgroups cannot pin. */
        if (spec->resources.cpuset) {
                int r = hd_cpulist_check_host(spec->resources.cpuset, "resources.cpuset", err);
                if (r < 0)
                        return r;
                if (!d->cg.has_cpuset)
                        return hd_error_set_field(err, -EOPNOTSUPP, "resources.cpuset",
                                                  "resources.cpuset needs the cgroup cpuset "
                                                  "controller, which this host does not offer");
        }
        CtSecurityPlan plan;
        return hd_ct_driver_security(d, &spec->security, &plan, err);
}

/* ---- actions ------------------------------------------------------------------------- */

/* The running container's state, or -ESRCH when it is not running. */
static int running_state(CtDriver *d, const char *uuid, HdCtState *ret)
{
        _cleanup_free_ char *dir = hd_ct_driver_bundle_dir(d, uuid);
        _cleanup_error_ HdError *e = NULL;
        if (!dir)
                return -ENOMEM;
        if (hd_ct_state_read(dir, ret, &e) < 0)
                return -ESRCH;
        _cleanup_error_ HdError *e2 = NULL;
        HdCtExit x;
        if (hd_ct_exit_read(dir, &x, &e2) >= 0 || !hd_ct_state_monitor_alive(ret))
                return -ESRCH;
        return 0;
}

static int ct_start(HdDriver *base, const HdInstance *inst, const HdActionArgs *args,
                    HdDriverOp *op, HdDriverResult *ret, HdError **err)
{
        (void)args, (void)op;
        CtDriver *d = ct(base);
        HdCtState st;
        if (running_state(d, inst->uuid, &st) >= 0) {
                ret->state = HD_STATE_RUNNING;
                return 0;
        }
        _cleanup_free_ char *dir = hd_ct_driver_bundle_dir(d, inst->uuid);
        if (!dir)
                return hd_error_set(err, -ENOMEM, "out of memory");
        int r = hd_mkdir_p(dir, 0700);
        if (r < 0)
                return hd_error_set(err, r, "cannot create `%s`: %s", dir, strerror(-r));
        /* A previous run's files go; its upper dir stays (the container's changes live
         * until it is deleted, as with docker start). */
        const char *stale[] = { HD_CT_STATE_FILE, HD_CT_EXIT_FILE };
        for (size_t k = 0; k < HD_ARRAY_SIZE(stale); k++) {
                _cleanup_free_ char *p = NULL;
                if (asprintf(&p, "%s/%s", dir, stale[k]) >= 0)
                        (void)unlink(p);
        }
        /* A cgroup left by the previous run would make the new one's creation fail. */
        _cleanup_(hd_ct_cgroup_freep) HdCtCgroup *old = NULL;
        _cleanup_error_ HdError *cgerr = NULL;
        if (hd_ct_cgroup_open(&d->cg, inst->uuid, &old, &cgerr) >= 0 &&
            hd_ct_cgroup_destroy(old, err) < 0)
                return hd_error_wrap(err, "removing the previous run's cgroup");

        if ((r = hd_ct_driver_write_config(d, inst, dir, err)) < 0)
                return r;
        if ((r = hd_ct_driver_spawn(d, dir, &st, err)) < 0)
                return r;
        hd_log_info("container %s started: pid %d, monitor %d", inst->spec.name, (int)st.pid,
                    (int)st.monitor_pid);
        r = watch_add(d, inst->uuid, &st, false);
        if (r == -ESRCH) {
                /* Gone already (/bin/true): its exit is this start's outcome. */
                result_after_monitor(d, inst->uuid, ret);
                return 0;
        }
        if (r < 0)
                hd_log_warn("container %s: cannot watch its monitor: %s", inst->spec.name,
                            strerror(-r));
        ret->state = HD_STATE_RUNNING;
        return 0;
}

/* Signals the container's init and, with wait_ms, waits for its monitor to record the
 * exit. The watch is busy meanwhile, so the exit is this action's outcome. */
static int signal_and_wait(CtDriver *d, const HdInstance *inst, int sig, int wait_ms,
                           bool *ret_exited, HdDriverResult *ret, HdError **err)
{
        *ret_exited = false;
        HdCtState st;
        if (running_state(d, inst->uuid, &st) < 0) {
                result_after_monitor(d, inst->uuid, ret);
                *ret_exited = true;
                return 0;
        }
        _cleanup_close_ int mon = pidfd_open_checked(st.monitor_pid, st.monitor_start_time);
        _cleanup_close_ int init = pidfd_open_checked(st.pid, st.start_time);
        if (mon < 0 || init < 0) {
                result_after_monitor(d, inst->uuid, ret);
                *ret_exited = true;
                return 0;
        }
        bool watched = watch_set_busy(d, inst->uuid, true);
        if (syscall(SYS_pidfd_send_signal, init, sig, NULL, 0) < 0 && errno != ESRCH) {
                int e = errno;
                if (watched)
                        watch_set_busy(d, inst->uuid, false);
                return hd_error_set(err, -e, "cannot signal container `%s`: %s", inst->spec.name,
                                    strerror(e));
        }
        if (wait_ms > 0 && pidfd_wait(mon, wait_ms)) {
                result_after_monitor(d, inst->uuid, ret);
                *ret_exited = true;
                watch_drop(d, inst->uuid);
                return 0;
        }
        if (watched)
                watch_set_busy(d, inst->uuid, false);
        return 0;
}

static int ct_stop(HdDriver *base, const HdInstance *inst, const HdActionArgs *args, HdDriverOp *op,
                   HdDriverResult *ret, HdError **err)
{
        (void)op;
        CtDriver *d = ct(base);
        bool exited = false;
        int timeout_ms = (args && args->timeout_s >= 0 ? args->timeout_s : 10) * 1000;
        int r = signal_and_wait(d, inst, SIGTERM, timeout_ms, &exited, ret, err);
        if (r >= 0 && !exited)
                r = signal_and_wait(d, inst, SIGKILL, KILL_GRACE_MS, &exited, ret, err);
        if (r < 0)
                return r;
        if (!exited)
                return hd_error_set(err, -ETIMEDOUT, "container `%s` did not stop",
                                    inst->spec.name);
        /* Stopped on request: the exit code stays on record, the state says why. */
        ret->state = HD_STATE_STOPPED;
        return 0;
}

static int ct_kill(HdDriver *base, const HdInstance *inst, const HdActionArgs *args, HdDriverOp *op,
                   HdDriverResult *ret, HdError **err)
{
        (void)op;
        CtDriver *d = ct(base);
        int sig = args && args->signal > 0 ? args->signal : SIGKILL;
        bool exited = false;
        /* A signal that ends the container ends it quickly; one it handles does not,
         * and the container goes on running. */
        int r = signal_and_wait(d, inst, sig, sig == SIGKILL ? KILL_GRACE_MS : 500, &exited, ret,
                                err);
        if (r < 0)
                return r;
        if (!exited) {
                ret->state = inst->state == HD_STATE_PAUSED ? HD_STATE_PAUSED : HD_STATE_RUNNING;
                ret->has_exit_code = false;
        }
        return 0;
}

static int ct_restart(HdDriver *base, const HdInstance *inst, const HdActionArgs *args,
                      HdDriverOp *op, HdDriverResult *ret, HdError **err)
{
        int r = ct_stop(base, inst, args, op, ret, err);
        if (r < 0)
                return r;
        return ct_start(base, inst, args, op, ret, err);
}

static int freeze(CtDriver *d, const HdInstance *inst, bool frozen, HdDriverResult *ret,
                  HdError **err)
{
        HdCtState st;
        if (running_state(d, inst->uuid, &st) < 0)
                return hd_error_set(err, -EBUSY, "container `%s` is not running", inst->spec.name);
        _cleanup_(hd_ct_cgroup_freep) HdCtCgroup *cg = NULL;
        int r = hd_ct_cgroup_open(&d->cg, inst->uuid, &cg, err);
        if (r >= 0)
                r = hd_ct_cgroup_freeze(cg, frozen, err);
        if (r < 0)
                return hd_error_wrap(err, "container `%s`", inst->spec.name);
        ret->state = frozen ? HD_STATE_PAUSED : HD_STATE_RUNNING;
        return 0;
}

static int ct_pause(HdDriver *base, const HdInstance *inst, const HdActionArgs *args,
                    HdDriverOp *op, HdDriverResult *ret, HdError **err)
{
        (void)args, (void)op;
        return freeze(ct(base), inst, true, ret, err);
}

static int ct_resume(HdDriver *base, const HdInstance *inst, const HdActionArgs *args,
                     HdDriverOp *op, HdDriverResult *ret, HdError **err)
{
        (void)args, (void)op;
        return freeze(ct(base), inst, false, ret, err);
}

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
        (void)st, (void)flag, (void)ftw;
        return remove(p) < 0 && errno != ENOENT ? -1 : 0;
}

static int ct_remove(HdDriver *base, const HdInstance *inst, const HdActionArgs *args,
                     HdDriverOp *op, HdDriverResult *ret, HdError **err)
{
        (void)args, (void)op;
        CtDriver *d = ct(base);
        bool exited = false;
        HdCtState st;
        if (running_state(d, inst->uuid, &st) >= 0) {
                /* A frozen group does not die of SIGKILL until it thaws. */
                _cleanup_(hd_ct_cgroup_freep) HdCtCgroup *fcg = NULL;
                if (hd_ct_cgroup_open(&d->cg, inst->uuid, &fcg, NULL) >= 0)
                        (void)hd_ct_cgroup_freeze(fcg, false, NULL);
                int r = signal_and_wait(d, inst, SIGKILL, KILL_GRACE_MS, &exited, ret, err);
                if (r < 0)
                        return r;
        }
        watch_drop(d, inst->uuid);
        _cleanup_(hd_ct_cgroup_freep) HdCtCgroup *cg = NULL;
        _cleanup_error_ HdError *cgerr = NULL;
        int r = hd_ct_cgroup_open(&d->cg, inst->uuid, &cg, &cgerr);
        if (r >= 0 && (r = hd_ct_cgroup_destroy(cg, err)) < 0)
                return hd_error_wrap(err, "container `%s`", inst->spec.name);
        _cleanup_free_ char *dir = hd_ct_driver_bundle_dir(d, inst->uuid);
        if (!dir)
                return hd_error_set(err, -ENOMEM, "out of memory");
        if (nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS) < 0 && errno != ENOENT)
                return hd_error_set(err, -errno, "cannot remove `%s`: %m", dir);
        ret->state = HD_STATE_STOPPED;
        return 0;
}

/* At hostd's start: the container as it really is, re-attached when it runs. */
static int ct_observe(HdDriver *base, const HdInstance *inst, HdDriverResult *ret, HdError **err)
{
        (void)err;
        CtDriver *d = ct(base);
        HdCtState st;
        _cleanup_free_ char *dir = hd_ct_driver_bundle_dir(d, inst->uuid);
        _cleanup_error_ HdError *e = NULL;
        if (!dir)
                return hd_error_set(err, -ENOMEM, "out of memory");
        if (hd_ct_state_read(dir, &st, &e) < 0) {
                /* Never started (or removed): whatever the inventory says of a stopped
                 * container holds. */
                ret->state = HD_STATE_STOPPED;
                return 0;
        }
        if (running_state(d, inst->uuid, &st) < 0) {
                result_after_monitor(d, inst->uuid, ret);
                return 0;
        }
        int r = watch_add(d, inst->uuid, &st, false);
        if (r == -ESRCH) {
                result_after_monitor(d, inst->uuid, ret);
                return 0;
        }
        ret->state = inst->state == HD_STATE_PAUSED ? HD_STATE_PAUSED : HD_STATE_RUNNING;
        return 0;
}

static void ct_facts(HdDriver *base, HdDriverFacts *ret)
{
        ret->detail = ct(base)->detail;
}

/* ---- the driver ---------------------------------------------------------------------- */

HdDriver *hd_ct_driver_new(const HdCtDriverConfig *cfg)
{
        CtDriver *d = calloc(1, sizeof(*d));
        if (!d)
                return NULL;
        d->base = (HdDriver){
                .kind = HD_KIND_CONTAINER,
                .name = "container",
                .init = ct_init,
                .shutdown = ct_shutdown,
                .validate = ct_validate,
                .start = ct_start,
                .stop = ct_stop,
                .restart = ct_restart,
                .kill = ct_kill,
                .pause = ct_pause,
                .resume = ct_resume,
                .remove = ct_remove,
                .observe = ct_observe,
                .logs_open = hd_ct_driver_logs_open,
                .exec = hd_ct_driver_exec,
                .stats = hd_ct_driver_stats,
                .facts = ct_facts,
        };
        d->epfd = d->wake_fd = -1;
        d->images = cfg->images;
        d->allow_privileged = cfg->allow_privileged;
        d->caps_all = hd_ct_caps_all();
        pthread_mutex_init(&d->lock, NULL);
        pthread_mutex_init(&d->idmap_lock, NULL);
        if (!(d->state_dir = strdup(cfg->state_dir)) ||
            asprintf(&d->root, "%s/containers", cfg->state_dir) < 0 ||
            (cfg->monitor_path && !(d->monitor = strdup(cfg->monitor_path)))) {
                d->root = NULL;
                hd_ct_driver_free(&d->base);
                return NULL;
        }
        return &d->base;
}

void hd_ct_driver_free(HdDriver *base)
{
        if (!base)
                return;
        CtDriver *d = ct(base);
        ct_shutdown(base);
        if (d->epfd >= 0)
                close(d->epfd);
        if (d->wake_fd >= 0)
                close(d->wake_fd);
        pthread_mutex_destroy(&d->lock);
        pthread_mutex_destroy(&d->idmap_lock);
        free(d->state_dir);
        free(d->root);
        free(d->monitor);
        free(d->seccomp_path);
        free(d);
}
