/* What a running container gives back: its logs (the monitor's CRI log files, read and
 * followed), a command run inside it (hostd-monitor exec, with pipes), and its cgroup's
 * figures with its monitor's memory. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ct-driver-internal.h"
#include "ct-log.h"
#include "hd-proc.h"
#include "hd-util.h"

/* ---- logs ------------------------------------------------------------------------------ */

/* How long a follower waits for a starting container's first state. */
#define STARTING_GRACE_MS 60000

typedef struct CtLogs {
        HdDriverLogs base;
        CtDriver *d;
        char *dir;
        HdLogOptions o;
        HdCtLogFollower *f;
        bool line_start[2]; /* per stream: the next record starts a line */
        bool ended;         /* the container ended: one last read, then the end */
        int64_t opened_ms;
        char *buf;
        size_t len, off, cap;
} CtLogs;

static int append(CtLogs *l, const char *data, size_t n)
{
        if (l->len + n > l->cap) {
                size_t cap = (l->len + n) * 2;
                char *nb = realloc(l->buf, cap);
                if (!nb)
                        return -ENOMEM;
                l->buf = nb;
                l->cap = cap;
        }
        memcpy(l->buf + l->len, data, n);
        l->len += n;
        return 0;
}

static int on_record(HdCtLogStream stream, int64_t time_ns, bool partial, const char *text,
                     size_t len, void *userdata)
{
        CtLogs *l = userdata;
        if (!(l->o.streams & (stream == HD_CT_LOG_STDOUT ? HD_LOG_STDOUT : HD_LOG_STDERR)))
                return 0;
        int r = 0;
        if (l->o.timestamps && l->line_start[stream]) {
                char t[HD_CT_LOG_TIME_MAX];
                hd_ct_log_time_format(time_ns, t);
                r = append(l, t, strlen(t));
                if (r >= 0)
                        r = append(l, " ", 1);
        }
        if (r >= 0)
                r = append(l, text, len);
        if (r >= 0 && !partial)
                r = append(l, "\n", 1);
        l->line_start[stream] = !partial;
        return r;
}

/* The monitor is gone (or a run that was starting never came to be). */
static bool container_ended(CtLogs *l)
{
        _cleanup_error_ HdError *e = NULL;
        HdCtState st;
        if (hd_ct_state_read(l->dir, &st, &e) >= 0)
                return !hd_ct_state_monitor_alive(&st);
        /* No state yet: a start may be under way; give it the monitor's setup time. */
        return hd_monotonic_ms() - l->opened_ms > STARTING_GRACE_MS;
}

static ssize_t logs_read(HdDriverLogs *base, char *out, size_t max)
{
        CtLogs *l = (CtLogs *)base;
        for (;;) {
                if (l->off < l->len) {
                        size_t n = l->len - l->off < max ? l->len - l->off : max;
                        memcpy(out, l->buf + l->off, n);
                        l->off += n;
                        return (ssize_t)n;
                }
                l->len = l->off = 0;
                int r = hd_ct_log_follow_read(l->f, on_record, l);
                if (r < 0)
                        return r;
                if (r > 0)
                        continue;
                if (!l->o.follow || l->ended)
                        return -ENODATA;
                /* The monitor writes the last records before it exits: once it is gone,
                 * one more read drains them. */
                if (container_ended(l)) {
                        l->ended = true;
                        continue;
                }
                return 0;
        }
}

static void logs_close(HdDriverLogs *base)
{
        CtLogs *l = (CtLogs *)base;
        if (!l)
                return;
        hd_ct_log_follow_free(l->f);
        free(l->dir);
        free(l->buf);
        free(l);
}

int hd_ct_driver_logs_open(HdDriver *base, const HdInstance *inst, const HdLogOptions *o,
                           HdDriverLogs **ret, HdError **err)
{
        CtDriver *d = (CtDriver *)base;
        CtLogs *l = calloc(1, sizeof(*l));
        if (!l)
                return hd_error_set(err, -ENOMEM, "out of memory");
        l->base = (HdDriverLogs){ .read = logs_read, .close = logs_close };
        l->d = d;
        l->o = *o;
        l->line_start[0] = l->line_start[1] = true;
        l->opened_ms = hd_monotonic_ms();
        /* Following a container that is not running (or starting) has nothing to wait
         * for: what is there is all there will be. */
        if (inst->state != HD_STATE_RUNNING && inst->state != HD_STATE_PAUSED &&
            inst->state != HD_STATE_STARTING)
                l->o.follow = false;
        _cleanup_free_ char *path = NULL;
        int r = (l->dir = hd_ct_driver_bundle_dir(d, inst->uuid)) &&
                                asprintf(&path, "%s/console.log", l->dir) >= 0
                        ? 0
                        : hd_error_set(err, -ENOMEM, "out of memory");
        /* The monitor's rotation keeps console.log and up to two older files. */
        if (r >= 0)
                r = hd_ct_log_follow_open(path, 3, o->tail, &l->f, err);
        if (r < 0) {
                logs_close(&l->base);
                return r;
        }
        *ret = &l->base;
        return 0;
}

/* ---- exec ------------------------------------------------------------------------------ */

/* hostd-monitor exec's own exit codes (besides the command's). */
#define EXEC_NOT_RUNNING 125
#define EXEC_GRACE_MS    2000

typedef struct Sink {
        char *data;
        size_t len, cap;
        bool truncated;
} Sink;

static void sink_add(Sink *s, const char *data, size_t n)
{
        if (s->len + n > HD_EXEC_OUTPUT_MAX) {
                s->truncated = true;
                n = HD_EXEC_OUTPUT_MAX - s->len;
        }
        if (n == 0)
                return;
        if (s->len + n + 1 > s->cap) {
                size_t cap = (s->len + n + 1) * 2;
                if (cap > HD_EXEC_OUTPUT_MAX + 1)
                        cap = HD_EXEC_OUTPUT_MAX + 1;
                char *nb = realloc(s->data, cap);
                if (!nb) {
                        s->truncated = true;
                        return;
                }
                s->data = nb;
                s->cap = cap;
        }
        memcpy(s->data + s->len, data, n);
        s->len += n;
        s->data[s->len] = '\0';
}

static char **exec_argv(CtDriver *d, const char *dir, const HdExecRequest *req)
{
        size_t n = 4 + 2 * req->env.n + 4 + req->command.n + 2;
        char **argv = calloc(n, sizeof(char *));
        size_t k = 0;
        if (!argv)
                return NULL;
        argv[k++] = strdup(d->monitor);
        argv[k++] = strdup("exec");
        argv[k++] = strdup(dir);
        if (req->stdin_len > 0)
                argv[k++] = strdup("--stdin");
        for (size_t e = 0; e < req->env.n; e++) {
                argv[k++] = strdup("--env");
                if (asprintf(&argv[k++], "%s=%s", req->env.items[e].key, req->env.items[e].value) <
                    0)
                        argv[k - 1] = NULL;
        }
        if (req->workdir) {
                argv[k++] = strdup("--cwd");
                argv[k++] = strdup(req->workdir);
        }
        if (req->user) {
                argv[k++] = strdup("--user");
                argv[k++] = strdup(req->user);
        }
        argv[k++] = strdup("--");
        for (size_t c = 0; c < req->command.n; c++)
                argv[k++] = strdup(req->command.items[c]);
        for (size_t j = 0; j < k; j++)
                if (!argv[j]) {
                        for (size_t i = 0; i < k; i++)
                                free(argv[i]);
                        free(argv);
                        return NULL;
                }
        return argv;
}

static void strv_free(char **v)
{
        for (size_t k = 0; v && v[k]; k++)
                free(v[k]);
        free(v);
}

/* Feeds stdin and collects both outputs until the helper closes them and exits, or
 * the deadline passes (then it is told to stop, and killed after a grace period). */
static int exec_pump(pid_t pid, int in, int out, int errfd, const HdExecRequest *req,
                     HdExecResult *ret)
{
        Sink so = { 0 }, se = { 0 };
        size_t sent = 0;
        int64_t deadline = hd_monotonic_ms() + (int64_t)req->timeout_s * 1000;
        bool killed = false;
        char buf[65536];
        while (out >= 0 || errfd >= 0) {
                struct pollfd p[3] = { { .fd = out, .events = POLLIN },
                                       { .fd = errfd, .events = POLLIN },
                                       { .fd = in, .events = POLLOUT } };
                int64_t left = deadline - hd_monotonic_ms();
                if (left <= 0) {
                        if (!ret->timed_out) {
                                ret->timed_out = true;
                                kill(pid, SIGTERM); /* forwarded to the command */
                                deadline = hd_monotonic_ms() + EXEC_GRACE_MS;
                        } else if (!killed) {
                                kill(pid, SIGKILL);
                                killed = true;
                                deadline = hd_monotonic_ms() + EXEC_GRACE_MS;
                        } else {
                                break;
                        }
                        continue;
                }
                int n = poll(p, 3, (int)left);
                if (n < 0 && errno != EINTR)
                        break;
                if (n <= 0)
                        continue;
                for (int k = 0; k < 2; k++) {
                        if (!p[k].revents)
                                continue;
                        ssize_t got = read(p[k].fd, buf, sizeof(buf));
                        if (got > 0) {
                                sink_add(k == 0 ? &so : &se, buf, (size_t)got);
                        } else if (got == 0 || errno != EINTR) {
                                close(p[k].fd);
                                if (k == 0)
                                        out = -1;
                                else
                                        errfd = -1;
                        }
                }
                if (in >= 0 && (p[2].revents & (POLLOUT | POLLERR | POLLHUP))) {
                        ssize_t w = sent < req->stdin_len ? write(in, req->stdin_data + sent,
                                                                  req->stdin_len - sent)
                                                          : 0;
                        if (w > 0)
                                sent += (size_t)w;
                        if (sent >= req->stdin_len ||
                            (w < 0 && errno != EAGAIN && errno != EINTR)) {
                                close(in);
                                in = -1;
                        }
                }
        }
        if (in >= 0)
                close(in);
        if (out >= 0)
                close(out);
        if (errfd >= 0)
                close(errfd);
        int status = 0;
        if (!killed && ret->timed_out && waitpid(pid, &status, WNOHANG) == 0)
                kill(pid, SIGKILL);
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        ret->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        ret->out = so.data;
        ret->out_len = so.len;
        ret->err = se.data;
        ret->err_len = se.len;
        ret->truncated = so.truncated || se.truncated;
        return 0;
}

int hd_ct_driver_exec(HdDriver *base, const HdInstance *inst, const HdExecRequest *req,
                      HdExecResult *ret, HdError **err)
{
        CtDriver *d = (CtDriver *)base;
        *ret = (HdExecResult){ 0 };
        _cleanup_free_ char *dir = hd_ct_driver_bundle_dir(d, inst->uuid);
        if (!dir)
                return hd_error_set(err, -ENOMEM, "out of memory");
        HdCtState st;
        _cleanup_error_ HdError *e = NULL;
        if (hd_ct_state_read(dir, &st, &e) < 0 || !hd_ct_state_container_alive(&st))
                return hd_error_set(err, -EBUSY, "container `%s` is not running", inst->spec.name);
        char **argv = exec_argv(d, dir, req);
        if (!argv)
                return hd_error_set(err, -ENOMEM, "out of memory");
        int pin[2] = { -1, -1 }, pout[2] = { -1, -1 }, perr[2] = { -1, -1 };
        if (pipe2(pin, O_CLOEXEC) < 0 || pipe2(pout, O_CLOEXEC) < 0 || pipe2(perr, O_CLOEXEC) < 0) {
                int e2 = errno;
                int fds[] = { pin[0], pin[1], pout[0], pout[1], perr[0], perr[1] };
                for (size_t k = 0; k < HD_ARRAY_SIZE(fds); k++)
                        if (fds[k] >= 0)
                                close(fds[k]);
                strv_free(argv);
                return hd_error_set(err, -e2, "cannot create pipes: %s", strerror(e2));
        }
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, pin[0], 0);
        posix_spawn_file_actions_adddup2(&fa, pout[1], 1);
        posix_spawn_file_actions_adddup2(&fa, perr[1], 2);
        char *envp[] = { (char *)"PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL };
        pid_t pid;
        int r = posix_spawn(&pid, d->monitor, &fa, NULL, argv, envp);
        posix_spawn_file_actions_destroy(&fa);
        strv_free(argv);
        close(pin[0]);
        close(pout[1]);
        close(perr[1]);
        if (r != 0) {
                close(pin[1]);
                close(pout[0]);
                close(perr[0]);
                return hd_error_set(err, -r, "cannot run `%s`: %s", d->monitor, strerror(r));
        }
        /* A command that does not read its stdin must not block the pump (hostd
         * ignores SIGPIPE: a closed stdin is an EPIPE here). */
        int in = pin[1];
        if (req->stdin_len == 0) {
                close(in);
                in = -1;
        } else {
                fcntl(in, F_SETFL, O_NONBLOCK);
        }
        exec_pump(pid, in, pout[0], perr[0], req, ret);
        if (ret->exit_code == EXEC_NOT_RUNNING && !ret->timed_out) {
                /* The helper's own refusal: the container ended meanwhile. */
                hd_exec_result_clear(ret);
                return hd_error_set(err, -EBUSY, "container `%s` is not running", inst->spec.name);
        }
        return 0;
}

/* ---- stats ----------------------------------------------------------------------------- */

/* The PSS of the container's monitor (hostd-monitor, which outlives hostd): the host's
 * memory a container costs beyond its cgroup's, shared pages split among the monitors
 * that map them. False when it cannot be read. */
static bool monitor_pss(const HdCtState *st, uint64_t *ret)
{
        if (st->monitor_pid <= 0 || !hd_ct_state_monitor_alive(st))
                return false; /* its pid may be someone else's by now */
        return hd_proc_pss(st->monitor_pid, ret) >= 0;
}

int hd_ct_driver_stats(HdDriver *base, const HdInstance *inst, HdStats *ret, HdError **err)
{
        CtDriver *d = (CtDriver *)base;
        *ret = (HdStats){ .time_ms = hd_now_ms() };
        _cleanup_free_ char *dir = hd_ct_driver_bundle_dir(d, inst->uuid);
        if (!dir)
                return hd_error_set(err, -ENOMEM, "out of memory");
        HdCtState st;
        _cleanup_error_ HdError *e = NULL;
        if (hd_ct_state_read(dir, &st, &e) < 0 || !hd_ct_state_container_alive(&st))
                return hd_error_set(err, -EBUSY, "container `%s` is not running", inst->spec.name);
        _cleanup_(hd_ct_cgroup_freep) HdCtCgroup *cg = NULL;
        HdCtCgroupStats s;
        int r = hd_ct_cgroup_open(&d->cg, inst->uuid, &cg, err);
        if (r >= 0)
                r = hd_ct_cgroup_stats(cg, &s, err);
        if (r < 0)
                return hd_error_wrap(err, "container `%s`", inst->spec.name);
        ret->cpu_usage_ns = s.cpu_usage_ns;
        ret->cpu_user_ns = s.cpu_user_ns;
        ret->cpu_system_ns = s.cpu_system_ns;
        ret->cpu_throttled_periods = s.cpu_throttled_periods;
        ret->cpu_throttled_ns = s.cpu_throttled_ns;
        ret->memory_bytes = s.memory_bytes;
        ret->memory_peak_bytes = s.memory_peak_bytes;
        ret->memory_limit_bytes = s.memory_limit_bytes;
        ret->oom_kills = s.oom_kills;
        ret->pids_current = s.pids_current;
        ret->pids_limit = s.pids_limit;
        ret->io_read_bytes = s.io_read_bytes;
        ret->io_write_bytes = s.io_write_bytes;
        ret->has_pss = monitor_pss(&st, &ret->host_pss_bytes);
        return 0;
}
