/* Integration test harness: a real hostd on a temp state dir, driven by the real curl.
 * See harness.h for the contracts. */
#include "harness.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hd-json.h"
#include "hd-macro.h"

#ifndef HOSTD_BIN
#error "HOSTD_BIN must be defined to the hostd binary's path"
#endif
#ifndef HD_CURL_BIN
#define HD_CURL_BIN "curl"
#endif
#ifndef HD_SQLITE3_BIN
#define HD_SQLITE3_BIN "sqlite3"
#endif

#define READY_TIMEOUT_MS 10000
#define STOP_TIMEOUT_MS  10000
#define CURL_MAX_TIME    "60"

extern char **environ;

static char *root_dir;   /* hd_test_init's dir, or NULL: temp paths go under /tmp */
static bool quiet;       /* while polling for readiness: curl's connection errors are expected */
static pid_t root_owner; /* the process that made it; only it removes it */

HD_PRINTF(1, 2) static void say(const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        fputs("harness: ", stderr);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        va_end(ap);
}

static int64_t now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
        struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

static void free_strv(char **v)
{
        if (!v)
                return;
        for (char **p = v; *p; p++)
                free(*p);
        free(v);
}

static char **copy_strv(const char *const *v)
{
        size_t n = 0;
        char **copy;

        while (v && v[n])
                n++;
        copy = calloc(n + 1, sizeof(char *));
        if (!copy)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                copy[i] = strdup(v[i]);
                if (!copy[i]) {
                        free_strv(copy);
                        return NULL;
                }
        }
        return copy;
}

/* Converts a wait status to the shell's convention: exit code, or 128 + signal. */
static int exit_code_of(int status)
{
        if (WIFEXITED(status))
                return WEXITSTATUS(status);
        if (WIFSIGNALED(status))
                return 128 + WTERMSIG(status);
        return 255;
}

/* Reaps pid, waiting at most timeout_ms (< 0: forever). -ETIMEDOUT leaves it running. */
static int wait_child(pid_t pid, int timeout_ms, int *ret_status)
{
        int64_t deadline = now_ms() + timeout_ms;

        for (;;) {
                int status = 0;
                pid_t r = waitpid(pid, &status, timeout_ms < 0 ? 0 : WNOHANG);

                if (r == pid) {
                        *ret_status = status;
                        return 0;
                }
                if (r < 0 && errno != EINTR)
                        return -errno;
                if (r == 0) {
                        if (now_ms() >= deadline)
                                return -ETIMEDOUT;
                        sleep_ms(2);
                }
        }
}

/* Spawns argv[0] (searched in PATH when it has no '/') with stdin from /dev/null and stdout
 * and stderr to the given files (NULL: /dev/null; same path: both to one file). */
static int spawn(char *const argv[], const char *out_path, const char *err_path, bool append,
                 pid_t *ret_pid)
{
        posix_spawn_file_actions_t fa;
        posix_spawnattr_t attr;
        sigset_t none, defaults;
        int flags = O_WRONLY | O_CREAT |
                    (append ? O_APPEND : O_TRUNC); /* no O_CLOEXEC: for the child */
        int r;

        posix_spawn_file_actions_init(&fa);
        posix_spawnattr_init(&attr);
        sigemptyset(&none);
        sigemptyset(&defaults);
        sigaddset(&defaults, SIGTERM);
        sigaddset(&defaults, SIGINT);
        sigaddset(&defaults, SIGHUP);
        sigaddset(&defaults, SIGCHLD);
        posix_spawnattr_setsigmask(&attr, &none);
        posix_spawnattr_setsigdefault(&attr, &defaults);
        posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_addopen(&fa, 1, out_path ? out_path : "/dev/null", flags, 0644);
        if (err_path && out_path && strcmp(err_path, out_path) == 0)
                posix_spawn_file_actions_adddup2(&fa, 1, 2);
        else
                posix_spawn_file_actions_addopen(&fa, 2, err_path ? err_path : "/dev/null", flags,
                                                 0644);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
        /* Check's and ctest's descriptors have no business in hostd or curl. */
        posix_spawn_file_actions_addclosefrom_np(&fa, 3);
#endif
        if (strchr(argv[0], '/'))
                r = posix_spawn(ret_pid, argv[0], &fa, &attr, argv, environ);
        else
                r = posix_spawnp(ret_pid, argv[0], &fa, &attr, argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        posix_spawnattr_destroy(&attr);
        if (r != 0) {
                say("cannot spawn %s: %s", argv[0], strerror(r));
                return -r;
        }
        return 0;
}

/* A new empty temp file under the root (or /tmp); caller unlinks and frees. */
static char *temp_file(const char *prefix)
{
        char *path = NULL;
        int fd;

        if (asprintf(&path, "%s/%s-XXXXXX", root_dir ? root_dir : "/tmp", prefix) < 0)
                return NULL;
        fd = mkostemp(path, O_CLOEXEC);
        if (fd < 0) {
                say("mkostemp %s: %m", path);
                free(path);
                return NULL;
        }
        close(fd);
        return path;
}

static void unlink_free(char **path)
{
        if (*path) {
                unlink(*path);
                free(*path);
                *path = NULL;
        }
}

/* ---- files and dirs --------------------------------------------------------------- */

int hd_test_read_file(const char *path, char **ret, size_t *ret_len)
{
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        char *buf = NULL;
        size_t len = 0, cap = 0;

        if (!f)
                return -errno;
        for (;;) {
                size_t n;

                if (cap - len < 65536) {
                        char *nbuf = realloc(buf, cap + 65536 + 1);

                        if (!nbuf) {
                                free(buf);
                                return -ENOMEM;
                        }
                        buf = nbuf;
                        cap += 65536;
                }
                n = fread(buf + len, 1, cap - len, f);
                len += n;
                if (n == 0) {
                        if (ferror(f)) {
                                free(buf);
                                return -EIO;
                        }
                        break;
                }
        }
        if (!buf) {
                buf = malloc(1);
                if (!buf)
                        return -ENOMEM;
        }
        buf[len] = '\0';
        *ret = buf;
        if (ret_len)
                *ret_len = len;
        return 0;
}

int hd_test_write_file(const char *path, const void *data, size_t len, mode_t mode)
{
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
        const char *p = data;

        if (fd < 0)
                return -errno;
        while (len > 0) {
                ssize_t n = write(fd, p, len);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += n;
                len -= (size_t)n;
        }
        if (fchmod(fd, mode) < 0)
                return -errno;
        return 0;
}

static int rm_one(const char *path, HD_UNUSED const struct stat *st, HD_UNUSED int flag,
                  HD_UNUSED struct FTW *ftw)
{
        if (remove(path) < 0 && errno != ENOENT)
                say("cannot remove %s: %m", path);
        return 0;
}

int hd_test_rm_rf(const char *path)
{
        if (!path)
                return 0;
        if (nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS) < 0 && errno != ENOENT)
                return -errno;
        return 0;
}

char *hd_test_mkdtemp(const char *prefix)
{
        char *path = NULL;

        if (asprintf(&path, "%s/%s-XXXXXX", root_dir ? root_dir : "/tmp", prefix) < 0)
                return NULL;
        if (!mkdtemp(path)) {
                say("mkdtemp %s: %m", path);
                free(path);
                return NULL;
        }
        return path;
}

int hd_test_free_port(void)
{
        _cleanup_close_ int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = 0 };
        socklen_t len = sizeof(sa);

        if (fd < 0)
                return -errno;
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
                return -errno;
        if (getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
                return -errno;
        return ntohs(sa.sin_port);
}

/* ---- test run --------------------------------------------------------------------- */

int hd_test_init(void)
{
        char tmpl[] = "/tmp/hd-itest-XXXXXX";

        if (root_dir)
                return 0;
        if (!mkdtemp(tmpl)) {
                say("mkdtemp %s: %m", tmpl);
                return -errno;
        }
        root_dir = strdup(tmpl);
        if (!root_dir)
                return -ENOMEM;
        root_owner = getpid();
        return 0;
}

static void print_file(const char *title, const char *path)
{
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        int r;

        fprintf(stderr, "==== %s: %s ====\n", title, path);
        r = hd_test_read_file(path, &text, &len);
        if (r < 0) {
                fprintf(stderr, "(cannot read it: %s)\n", strerror(-r));
                return;
        }
        fwrite(text, 1, len, stderr);
        if (len > 0 && text[len - 1] != '\n')
                fputc('\n', stderr);
        fprintf(stderr, "==== end of %s ====\n", path);
}

/* Field 22 of /proc/PID/stat, or 0. */
static unsigned long long proc_start_time(long pid)
{
        char path[64], buf[1024];
        snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
        FILE *f = fopen(path, "re");
        size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
        if (f)
                fclose(f);
        buf[n] = '\0';
        char *p = strrchr(buf, ')');
        unsigned long long v = 0;
        for (int field = 2; p && *p && field < 22; p++)
                if (*p == ' ')
                        field++;
        if (p && sscanf(p, "%llu", &v) != 1)
                v = 0;
        return v;
}

/* Kills the process state.json names under key (pid, start time), if it is still that
 * process: one the test's hostd started for it. */
static void kill_recorded(json_t *st, const char *pid_key, const char *time_key)
{
        long pid = (long)json_integer_value(json_object_get(st, pid_key));
        unsigned long long t =
                (unsigned long long)json_integer_value(json_object_get(st, time_key));
        if (pid > 1 && t && proc_start_time(pid) == t)
                kill((pid_t)pid, SIGKILL);
}

int hd_test_reap_containers(const char *state_dir)
{
        _cleanup_free_ char *cdir = NULL;
        if (asprintf(&cdir, "%s/containers", state_dir) < 0)
                return -ENOMEM;
        DIR *dir = opendir(cdir);
        struct dirent *de;
        int n = 0;
        while (dir && (de = readdir(dir))) {
                if (de->d_name[0] == '.' || strlen(de->d_name) != 36)
                        continue;
                _cleanup_free_ char *state = NULL;
                if (asprintf(&state, "%s/%s/state.json", cdir, de->d_name) < 0)
                        break;
                json_t *st = json_load_file(state, 0, NULL);
                if (st) {
                        kill_recorded(st, "monitor_pid", "monitor_start_time");
                        kill_recorded(st, "pid", "start_time");
                        json_decref(st);
                        n++;
                }
                /* The group of every hierarchy, once its processes are gone. */
                static const char *const roots[] = {
                        "/sys/fs/cgroup",         "/sys/fs/cgroup/unified", "/sys/fs/cgroup/cpu",
                        "/sys/fs/cgroup/cpuacct", "/sys/fs/cgroup/cpuset",  "/sys/fs/cgroup/memory",
                        "/sys/fs/cgroup/devices", "/sys/fs/cgroup/freezer", "/sys/fs/cgroup/blkio",
                        "/sys/fs/cgroup/pids",    "/sys/fs/cgroup/systemd",
                };
                for (size_t k = 0; k < sizeof(roots) / sizeof(roots[0]); k++) {
                        _cleanup_free_ char *cg = NULL;
                        if (asprintf(&cg, "%s/hostd/%s", roots[k], de->d_name) < 0)
                                break;
                        for (int tries = 0; tries < 50 && rmdir(cg) < 0 && errno == EBUSY; tries++)
                                usleep(20000);
                }
        }
        if (dir)
                closedir(dir);
        return n;
}

void hd_test_fini(int failed)
{
        if (!root_dir || getpid() != root_owner)
                return;
        /* Containers outlive hostd by design: what a failed test left running goes
         * here, before its state dir does. */
        DIR *rd = opendir(root_dir);
        struct dirent *rde;
        while (rd && (rde = readdir(rd))) {
                _cleanup_free_ char *sub = NULL;
                if (rde->d_name[0] != '.' && asprintf(&sub, "%s/%s", root_dir, rde->d_name) >= 0 &&
                    hd_test_reap_containers(sub) > 0)
                        say("killed containers left running in %s", sub);
        }
        if (rd)
                closedir(rd);
        if (failed) {
                DIR *dir = opendir(root_dir);
                struct dirent *de;

                while (dir && (de = readdir(dir))) {
                        _cleanup_free_ char *log = NULL;

                        if (de->d_name[0] == '.')
                                continue;
                        if (asprintf(&log, "%s/%s/hostd.log", root_dir, de->d_name) < 0)
                                break;
                        if (access(log, R_OK) == 0)
                                print_file("hostd log left by a failed test", log);
                }
                if (dir)
                        closedir(dir);
        }
        if (getenv("HD_TEST_KEEP"))
                say("keeping %s (HD_TEST_KEEP)", root_dir);
        else
                hd_test_rm_rf(root_dir);
        free(root_dir);
        root_dir = NULL;
}

/* ---- the daemon ------------------------------------------------------------------- */

static int daemon_spawn(HdTestDaemon *d)
{
        size_t n = 0;
        char **argv;
        int r;

        while (d->args && d->args[n])
                n++;
        argv = calloc(n + 12, sizeof(char *));
        if (!argv)
                return -ENOMEM;
        /* No default network and a table of this daemon's own unless the test says
         * otherwise (later flags win): test daemons run side by side, and must never
         * take over the host's hostd0 or each other's rules. */
        char table[32];
        snprintf(table, sizeof(table), "hdt%ld_%s", (long)getpid(),
                 strrchr(d->dir, '-') ? strrchr(d->dir, '-') + 1 : "x");
        for (char *p = table; *p; p++)
                if (!isalnum((unsigned char)*p) && *p != '_')
                        *p = '_';
        argv[0] = (char *)HOSTD_BIN;
        argv[1] = (char *)"--state-dir";
        argv[2] = d->dir;
        argv[3] = (char *)"--socket";
        argv[4] = d->socket_path;
        argv[5] = (char *)"--log-level";
        argv[6] = (char *)"debug";
        argv[7] = (char *)"--default-network";
        argv[8] = (char *)"none";
        argv[9] = (char *)"--nft-table";
        argv[10] = table;
        for (size_t i = 0; i < n; i++)
                argv[11 + i] = d->args[i];
        r = spawn(argv, d->log_path, d->log_path, true, &d->pid);
        free(argv);
        if (r < 0)
                d->pid = 0;
        return r;
}

bool hd_test_daemon_alive(HdTestDaemon *d, int *ret_exit_status)
{
        int status = 0;
        pid_t r;

        if (d->pid <= 0)
                return false;
        r = waitpid(d->pid, &status, WNOHANG);
        if (r == 0)
                return true;
        if (r == d->pid) {
                d->pid = 0;
                if (ret_exit_status)
                        *ret_exit_status = exit_code_of(status);
        }
        return false;
}

int hd_test_daemon_wait_ready(HdTestDaemon *d, int timeout_ms)
{
        int64_t deadline = now_ms() + timeout_ms;
        int last = 0, r;

        for (;;) {
                int status = 0;
                struct stat st;

                if (!hd_test_daemon_alive(d, &status)) {
                        say("hostd exited with status %d before it was ready", status);
                        return -ECHILD;
                }
                if (stat(d->socket_path, &st) == 0) {
                        HdCurlResult res = { 0 };

                        quiet = true;
                        r = hd_test_get(d, &res, "/v1");
                        quiet = false;
                        if (r == 0 && res.status == 200) {
                                hd_curl_result_clear(&res);
                                return 0;
                        }
                        last = res.status;
                        hd_curl_result_clear(&res);
                }
                if (now_ms() >= deadline) {
                        say("hostd not ready after %d ms (last GET /v1: %d)", timeout_ms, last);
                        return -ETIMEDOUT;
                }
                sleep_ms(20);
        }
}

void hd_test_daemon_print_log(const HdTestDaemon *d)
{
        if (d && d->log_path)
                print_file("hostd log", d->log_path);
}

int hd_test_daemon_start(HdTestDaemon *d, const char *const *extra_args)
{
        int r;

        if (d->pid > 0 || d->dir) {
                say("hd_test_daemon_start on a daemon that was not cleaned up");
                return -EBUSY;
        }
        d->dir = hd_test_mkdtemp("hostd");
        if (!d->dir)
                return -EIO;
        if (asprintf(&d->socket_path, "%s/hostd.sock", d->dir) < 0 ||
            asprintf(&d->log_path, "%s/hostd.log", d->dir) < 0 ||
            asprintf(&d->db_path, "%s/hostd.db", d->dir) < 0)
                return -ENOMEM;
        d->args = copy_strv(extra_args);
        if (!d->args)
                return -ENOMEM;
        r = daemon_spawn(d);
        if (r < 0)
                return r;
        r = hd_test_daemon_wait_ready(d, READY_TIMEOUT_MS);
        if (r < 0)
                hd_test_daemon_print_log(d);
        return r;
}

int hd_test_daemon_stop(HdTestDaemon *d, int sig, int *ret_exit_status)
{
        int status = 0, r;

        if (d->pid <= 0)
                return -ESRCH;
        if (kill(d->pid, sig) < 0)
                return -errno;
        r = wait_child(d->pid, STOP_TIMEOUT_MS, &status);
        if (r == -ETIMEDOUT) {
                say("hostd (pid %d) still running %d ms after signal %d: SIGKILL", (int)d->pid,
                    STOP_TIMEOUT_MS, sig);
                kill(d->pid, SIGKILL);
                wait_child(d->pid, -1, &status);
                d->pid = 0;
                hd_test_daemon_print_log(d);
                return -ETIMEDOUT;
        }
        if (r < 0)
                return r;
        d->pid = 0;
        if (ret_exit_status)
                *ret_exit_status = exit_code_of(status);
        return 0;
}

int hd_test_daemon_restart(HdTestDaemon *d)
{
        int r;

        if (!d->dir)
                return -EINVAL;
        if (d->pid > 0) {
                int status = -1;

                r = hd_test_daemon_stop(d, SIGTERM, &status);
                if (r < 0)
                        return r;
                if (status != 0) {
                        say("hostd exited with status %d on SIGTERM", status);
                        hd_test_daemon_print_log(d);
                        return -EPROTO;
                }
        }
        r = daemon_spawn(d);
        if (r < 0)
                return r;
        r = hd_test_daemon_wait_ready(d, READY_TIMEOUT_MS);
        if (r < 0)
                hd_test_daemon_print_log(d);
        return r;
}

void hd_test_daemon_cleanup(HdTestDaemon *d)
{
        if (!d)
                return;
        if (d->pid > 0) {
                int status;

                kill(d->pid, SIGKILL);
                wait_child(d->pid, -1, &status);
                d->pid = 0;
        }
        if (getenv("HD_TEST_SHOW_LOG"))
                hd_test_daemon_print_log(d);
        if (d->dir) {
                if (getenv("HD_TEST_KEEP"))
                        say("keeping %s (HD_TEST_KEEP)", d->dir);
                else
                        hd_test_rm_rf(d->dir);
        }
        free(d->dir);
        free(d->socket_path);
        free(d->log_path);
        free(d->db_path);
        free_strv(d->args);
        memset(d, 0, sizeof(*d));
}

int hd_test_run_hostd(const char *const *args, int timeout_ms, int *ret_exit_status,
                      char **ret_output)
{
        _cleanup_(unlink_free) char *out = temp_file("hostd-out");
        size_t n = 0;
        char **argv;
        pid_t pid;
        int status = 0, r;

        if (!out)
                return -EIO;
        while (args && args[n])
                n++;
        argv = calloc(n + 6, sizeof(char *));
        if (!argv)
                return -ENOMEM;
        /* As for hd_test_daemon_start: no default network, a table of its own (the
         * given args come later and win). */
        char table[32];
        snprintf(table, sizeof(table), "hdtrun%ld", (long)getpid());
        argv[0] = (char *)HOSTD_BIN;
        argv[1] = (char *)"--default-network";
        argv[2] = (char *)"none";
        argv[3] = (char *)"--nft-table";
        argv[4] = table;
        for (size_t i = 0; i < n; i++)
                argv[5 + i] = (char *)args[i];
        r = spawn(argv, out, out, false, &pid);
        free(argv);
        if (r < 0)
                return r;
        r = wait_child(pid, timeout_ms, &status);
        if (r == -ETIMEDOUT) {
                kill(pid, SIGKILL);
                wait_child(pid, -1, &status);
        }
        if (ret_output && hd_test_read_file(out, ret_output, NULL) < 0)
                *ret_output = NULL;
        if (r < 0)
                return r;
        if (ret_exit_status)
                *ret_exit_status = exit_code_of(status);
        return 0;
}

/* ---- requests --------------------------------------------------------------------- */

void hd_curl_result_clear(HdCurlResult *r)
{
        if (!r)
                return;
        free(r->headers);
        free(r->body);
        json_decref(r->json);
        memset(r, 0, sizeof(*r));
}

/* Keeps the last header block of a -D file (after any "100 Continue" blocks). */
static char *last_header_block(char *raw)
{
        char *last = raw, *p = raw;

        while ((p = strstr(p, "\nHTTP/"))) {
                p++;
                last = p;
        }
        return strdup(last);
}

char *hd_curl_result_header(const HdCurlResult *r, const char *name)
{
        size_t nlen = strlen(name);
        const char *line;

        if (!r || !r->headers)
                return NULL;
        for (line = r->headers; line && *line;
             line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
                const char *v, *end;

                if (strncasecmp(line, name, nlen) != 0 || line[nlen] != ':')
                        continue;
                v = line + nlen + 1;
                while (*v == ' ' || *v == '\t')
                        v++;
                end = v + strcspn(v, "\r\n");
                while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
                        end--;
                return strndup(v, (size_t)(end - v));
        }
        return NULL;
}

const char *hd_curl_result_describe(const HdCurlResult *r)
{
        static char buf[2048];

        snprintf(buf, sizeof(buf), "HTTP %d (curl exit %d): %.*s", r->status, r->curl_exit,
                 (int)(r->body_len < 1500 ? r->body_len : 1500), r->body ? r->body : "");
        return buf;
}

static int curl_run(HdCurlResult *ret, const char *socket_path, const char *url,
                    const char *bearer_token, const char *method, const char *content_type,
                    const char *body, size_t body_len, const char *const *extra_headers)
{
        _cleanup_(unlink_free) char *hdr_file = temp_file("curl-headers");
        _cleanup_(unlink_free) char *body_file = temp_file("curl-body");
        _cleanup_(unlink_free) char *out_file = temp_file("curl-out");
        _cleanup_(unlink_free) char *err_file = temp_file("curl-err");
        _cleanup_(unlink_free) char *data_file = NULL;
        _cleanup_free_ char *data_arg = NULL, *ct_header = NULL, *auth_header = NULL;
        _cleanup_free_ char *raw_headers = NULL, *out = NULL, *ctype = NULL;
        const char *argv[64];
        size_t n = 0;
        int64_t t0;
        pid_t pid;
        int status = 0, r;

        memset(ret, 0, sizeof(*ret));
        if (!hdr_file || !body_file || !out_file || !err_file)
                return -EIO;

        argv[n++] = HD_CURL_BIN;
        argv[n++] = "-q"; /* no ~/.curlrc */
        argv[n++] = "-s";
        argv[n++] = "-S";
        argv[n++] = "--path-as-is";
        argv[n++] = "-g";
        argv[n++] = "--noproxy";
        argv[n++] = "*";
        argv[n++] = "--max-time";
        argv[n++] = CURL_MAX_TIME;
        if (socket_path) {
                argv[n++] = "--unix-socket";
                argv[n++] = socket_path;
        }
        argv[n++] = "-D";
        argv[n++] = hdr_file;
        argv[n++] = "-o";
        argv[n++] = body_file;
        argv[n++] = "-w";
        argv[n++] = "%{http_code}";
        argv[n++] = "-X";
        argv[n++] = method;
        if (content_type) {
                if (asprintf(&ct_header, "Content-Type: %s", content_type) < 0)
                        return -ENOMEM;
                argv[n++] = "-H";
                argv[n++] = ct_header;
        } else {
                argv[n++] = "-H";
                argv[n++] = "Content-Type:"; /* removes curl's form-urlencoded default */
        }
        if (body) {
                data_file = temp_file("curl-data");
                if (!data_file)
                        return -EIO;
                r = hd_test_write_file(data_file, body, body_len, 0600);
                if (r < 0)
                        return r;
                if (asprintf(&data_arg, "@%s", data_file) < 0)
                        return -ENOMEM;
                argv[n++] = "--data-binary";
                argv[n++] = data_arg;
        }
        if (bearer_token) {
                if (asprintf(&auth_header, "Authorization: Bearer %s", bearer_token) < 0)
                        return -ENOMEM;
                argv[n++] = "-H";
                argv[n++] = auth_header;
        }
        for (size_t i = 0; extra_headers && extra_headers[i]; i++) {
                if (n + 4 >= HD_ARRAY_SIZE(argv))
                        return -E2BIG;
                argv[n++] = "-H";
                argv[n++] = extra_headers[i];
        }
        argv[n++] = url;
        argv[n] = NULL;

        t0 = now_ms();
        r = spawn((char *const *)argv, out_file, err_file, false, &pid);
        if (r < 0)
                return r;
        r = wait_child(pid, -1, &status);
        if (r < 0)
                return r;
        ret->curl_exit = exit_code_of(status);

        if (hd_test_read_file(out_file, &out, NULL) == 0)
                ret->status = atoi(out);
        if (hd_test_read_file(hdr_file, &raw_headers, NULL) == 0)
                ret->headers = last_header_block(raw_headers);
        if (hd_test_read_file(body_file, &ret->body, &ret->body_len) < 0) {
                ret->body = strdup("");
                ret->body_len = 0;
        }
        if (getenv("HD_TEST_TRACE"))
                say("%s %s -> %d (%lld ms)", method, url, ret->status, (long long)(now_ms() - t0));
        if (ret->curl_exit != 0 && !quiet) {
                _cleanup_free_ char *err = NULL;

                if (hd_test_read_file(err_file, &err, NULL) == 0 && err[0])
                        say("curl %s %s exited %d: %s", method, url, ret->curl_exit, err);
        }
        ctype = hd_curl_result_header(ret, "Content-Type");
        if (ret->body_len > 0 && ((ctype && strstr(ctype, "application/json")) ||
                                  ret->body[0] == '{' || ret->body[0] == '['))
                ret->json = json_loadb(ret->body, ret->body_len, 0, NULL);
        return ret->status > 0 ? 0 : -EIO;
}

int hd_test_curl(HdTestDaemon *d, HdCurlResult *ret, const char *method, const char *path,
                 const char *content_type, const char *body, size_t body_len,
                 const char *const *extra_headers)
{
        _cleanup_free_ char *url = NULL;

        if (asprintf(&url, "http://localhost%s", path) < 0)
                return -ENOMEM;
        return curl_run(ret, d->socket_path, url, NULL, method, content_type, body, body_len,
                        extra_headers);
}

int hd_test_curl_url(HdCurlResult *ret, const char *url, const char *bearer_token,
                     const char *method, const char *content_type, const char *body,
                     size_t body_len, const char *const *extra_headers)
{
        return curl_run(ret, NULL, url, bearer_token, method, content_type, body, body_len,
                        extra_headers);
}

int hd_test_get(HdTestDaemon *d, HdCurlResult *ret, const char *path)
{
        return hd_test_curl(d, ret, "GET", path, NULL, NULL, 0, NULL);
}

int hd_test_send_json(HdTestDaemon *d, HdCurlResult *ret, const char *method, const char *path,
                      const char *json_text)
{
        return hd_test_curl(d, ret, method, path, "application/json", json_text, strlen(json_text),
                            NULL);
}

/* ---- API helpers ------------------------------------------------------------------ */

static const char *error_member(const json_t *body, const char *key)
{
        json_t *err = json_object_get(body, "error");

        return json_string_value(json_object_get(err, key));
}

const char *hd_test_error_code(const json_t *body)
{
        return error_member(body, "code");
}

const char *hd_test_error_field(const json_t *body)
{
        return error_member(body, "field");
}

const char *hd_test_error_message(const json_t *body)
{
        return error_member(body, "message");
}

/* Percent-encodes everything but RFC 3986's unreserved characters. */
static char *url_encode(const char *s)
{
        char *out = malloc(strlen(s) * 3 + 1), *p = out;

        if (!out)
                return NULL;
        for (; *s; s++) {
                unsigned char c = (unsigned char)*s;

                if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~')
                        *p++ = (char)c;
                else
                        p += sprintf(p, "%%%02X", c);
        }
        *p = '\0';
        return out;
}

int hd_test_list_instances(HdTestDaemon *d, json_t **ret)
{
        _cleanup_json_ json_t *all = json_array();
        _cleanup_free_ char *after = NULL;

        if (!all)
                return -ENOMEM;
        for (int page = 0; page < 10000; page++) {
                _cleanup_free_ char *path = NULL, *enc = NULL;
                HdCurlResult res = { 0 };
                json_t *items, *next;
                int r;

                if (after) {
                        enc = url_encode(after);
                        if (!enc || asprintf(&path, "/v1/instances?limit=1000&after=%s", enc) < 0)
                                return -ENOMEM;
                } else if (asprintf(&path, "/v1/instances?limit=1000") < 0) {
                        return -ENOMEM;
                }
                r = hd_test_get(d, &res, path);
                items = json_object_get(res.json, "instances");
                next = json_object_get(res.json, "next");
                if (r < 0 || res.status != 200 || !json_is_array(items) ||
                    !(json_is_null(next) || json_is_string(next))) {
                        say("GET %s: %s", path, hd_curl_result_describe(&res));
                        hd_curl_result_clear(&res);
                        return -EIO;
                }
                json_array_extend(all, items);
                free(after);
                after = json_is_string(next) ? strdup(json_string_value(next)) : NULL;
                hd_curl_result_clear(&res);
                if (!after) {
                        *ret = TAKE_PTR(all);
                        return 0;
                }
        }
        say("GET /v1/instances: more than 10000 pages");
        return -ELOOP;
}

int hd_test_sqlite_integrity(const char *db_path)
{
        _cleanup_(unlink_free) char *out = temp_file("sqlite-out");
        _cleanup_free_ char *text = NULL;
        const char *argv[] = { HD_SQLITE3_BIN, "-batch", db_path, "PRAGMA integrity_check;", NULL };
        pid_t pid;
        int status = 0, r;

        if (!out)
                return -EIO;
        r = spawn((char *const *)argv, out, out, false, &pid);
        if (r < 0)
                return r;
        r = wait_child(pid, 60000, &status);
        if (r < 0) {
                kill(pid, SIGKILL);
                wait_child(pid, -1, &status);
                return r;
        }
        r = hd_test_read_file(out, &text, NULL);
        if (r < 0)
                return r;
        if (exit_code_of(status) != 0 || strcmp(text, "ok\n") != 0) {
                say("integrity_check of %s (sqlite3 exit %d): %s", db_path, exit_code_of(status),
                    text);
                return -EIO;
        }
        return 0;
}

int hd_test_import_vm_image(HdTestDaemon *d, const char *name)
{
        static const char zeros[64 << 10];
        _cleanup_free_ char *path = NULL;
        if (asprintf(&path, "/v1/images?name=%s&kind=vm&format=raw", name) < 0)
                return -ENOMEM;
        HdCurlResult r = { 0 };
        int rc = hd_test_curl(d, &r, "POST", path, "application/octet-stream", zeros, sizeof(zeros),
                              NULL);
        if (rc >= 0 && r.status != 201) {
                say("importing VM image %s: %s", name, hd_curl_result_describe(&r));
                rc = -EIO;
        }
        hd_curl_result_clear(&r);
        return rc;
}
