/* One dnsmasq per network, run from its own directory.
 *
 * Everything dnsmasq needs is in that directory: the config (so that the command line
 * is only `--conf-file=DIR/dnsmasq.conf`, which is also how a running one is
 * recognised), the host files, the pid file, the leases and the log. dnsmasq
 * daemonizes itself and outlives hostd; every signal goes through a pidfd opened
 * before the pid is checked against /proc/PID/cmdline, so a recycled pid is never
 * signalled (see Proc for kernels without pidfds). */
#include "net-dnsmasq.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "hd-util.h"

#define CONF_FILE       "dnsmasq.conf"
#define HOSTS_DHCP_FILE "hosts.dhcp"
#define HOSTS_DNS_FILE  "hosts.dns"
#define PID_FILE        "dnsmasq.pid"
#define LEASE_FILE      "leases"
#define LOG_FILE        "dnsmasq.log"
#define DEFAULT_PATH    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

#define CONF_MAX      (64 * 1024)
#define CMDLINE_MAX   (8 * 1024)
#define STDERR_MAX    2048
#define START_EXIT_MS 10000 /* dnsmasq's foreground part exits once the daemon runs */
#define START_PID_MS  5000  /* …and the daemon writes its pid file around then */
#define STOP_TERM_MS  2000
#define STOP_KILL_MS  2000
#define LEASE_TIME    "1h"

/* ---- validation ------------------------------------------------------------------- */

/* Everything below goes into dnsmasq's config and host files, one value per line and
 * comma-separated in places: only characters that cannot end or split a value. */

static bool is_alnum(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool dir_is_valid(const char *s)
{
        if (!s || s[0] != '/' || strlen(s) > PATH_MAX - 64)
                return false;
        for (const char *p = s; *p; p++)
                if (!is_alnum(*p) && !strchr("/._-+@", *p))
                        return false;
        return true;
}

static bool bridge_is_valid(const char *s)
{
        if (!s || !*s || strlen(s) > 15)
                return false;
        for (const char *p = s; *p; p++)
                if (!is_alnum(*p) && !strchr("._-", *p))
                        return false;
        return true;
}

/* One DNS label: letters, digits, inner hyphens, 63 at most. */
static bool label_is_valid(const char *s, size_t n)
{
        if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
                return false;
        for (size_t i = 0; i < n; i++)
                if (!is_alnum(s[i]) && s[i] != '-')
                        return false;
        return true;
}

static bool domain_is_valid(const char *s)
{
        if (!s || !*s || strlen(s) > 253)
                return false;
        for (;;) {
                const char *dot = strchrnul(s, '.');
                if (!label_is_valid(s, (size_t)(dot - s)))
                        return false;
                if (!*dot)
                        return true;
                s = dot + 1;
        }
}

static bool mac_is_valid(const char *s)
{
        if (strnlen(s, HD_MAC_STRING_MAX) != HD_MAC_STRING_MAX - 1)
                return false;
        for (int i = 0; i < HD_MAC_STRING_MAX - 1; i++) {
                bool hex = (s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
                           (s[i] >= 'A' && s[i] <= 'F');
                if (i % 3 == 2 ? s[i] != ':' : !hex)
                        return false;
        }
        return true;
}

static int config_validate(const HdDnsmasqConfig *c, HdError **err)
{
        if (!c)
                return hd_error_set(err, -EINVAL, "no dnsmasq configuration");
        if (!dir_is_valid(c->dir))
                return hd_error_set(err, -EINVAL, "invalid dnsmasq directory `%s`",
                                    c->dir ? c->dir : "");
        if (!bridge_is_valid(c->bridge))
                return hd_error_set(err, -EINVAL, "invalid bridge name `%s`",
                                    c->bridge ? c->bridge : "");
        if (!domain_is_valid(c->domain))
                return hd_error_set(err, -EINVAL, "invalid domain `%s`",
                                    c->domain ? c->domain : "");
        if (c->prefix < 1 || c->prefix > 30)
                return hd_error_set(err, -EINVAL, "invalid prefix length %d", c->prefix);
        uint32_t mask = hd_ipv4_mask(c->prefix);
        if ((c->subnet & ~mask) || (c->gateway & mask) != c->subnet)
                return hd_error_set(err, -EINVAL, "gateway outside the subnet");
        if (c->mtu < 68 || c->mtu > 65535)
                return hd_error_set(err, -EINVAL, "invalid mtu %d", c->mtu);
        if (c->n_hosts && !c->hosts)
                return hd_error_set(err, -EINVAL, "no hosts");
        for (size_t i = 0; i < c->n_hosts; i++) {
                const HdDnsmasqHost *h = &c->hosts[i];
                uint32_t a;
                if (!mac_is_valid(h->mac))
                        return hd_error_set(err, -EINVAL, "invalid mac address `%.*s`",
                                            HD_MAC_STRING_MAX - 1, h->mac);
                if (hd_ipv4_parse(h->addr, &a) < 0 || (a & mask) != c->subnet)
                        return hd_error_set(err, -EINVAL, "address `%.*s` is not in the subnet",
                                            HD_IPV4_STRING_MAX - 1, h->addr);
                if (!h->name || !label_is_valid(h->name, strlen(h->name)))
                        return hd_error_set(err, -EINVAL, "invalid host name `%s`",
                                            h->name ? h->name : "");
        }
        return 0;
}

/* ---- files ------------------------------------------------------------------------ */

static char *path_in(const char *dir, const char *name)
{
        char *p = NULL;
        return asprintf(&p, "%s/%s", dir, name) < 0 ? NULL : p;
}

/* Text built with a memstream; NULL when out of memory. */
typedef struct Text {
        FILE *f;
        char *buf;
        size_t len;
} Text;

static char *text_end(Text *t)
{
        bool failed = ferror(t->f);
        if (fclose(t->f) != 0 || failed) {
                free(t->buf);
                return NULL;
        }
        return t->buf;
}

static char *render_conf(const HdDnsmasqConfig *c)
{
        _cleanup_free_ char *hosts_dhcp = path_in(c->dir, HOSTS_DHCP_FILE);
        _cleanup_free_ char *hosts_dns = path_in(c->dir, HOSTS_DNS_FILE);
        _cleanup_free_ char *leases = path_in(c->dir, LEASE_FILE);
        _cleanup_free_ char *pid = path_in(c->dir, PID_FILE);
        _cleanup_free_ char *log = path_in(c->dir, LOG_FILE);
        if (!hosts_dhcp || !hosts_dns || !leases || !pid || !log)
                return NULL;
        char subnet[HD_IPV4_STRING_MAX], mask[HD_IPV4_STRING_MAX], gw[HD_IPV4_STRING_MAX];
        hd_ipv4_format(c->subnet, subnet);
        hd_ipv4_format(hd_ipv4_mask(c->prefix), mask);
        hd_ipv4_format(c->gateway, gw);

        Text t = { 0 };
        t.f = open_memstream(&t.buf, &t.len);
        if (!t.f)
                return NULL;
        FILE *f = t.f;
        fprintf(f, "# hostd's dnsmasq for network %s: written by hostd, do not edit.\n", c->domain);
        /* Only on the bridge, only at the gateway: never on the host's other
         * interfaces, and no clash with a resolver of the host's on loopback. */
        fprintf(f, "interface=%s\n", c->bridge);
        fprintf(f, "bind-interfaces\n");
        fprintf(f, "except-interface=lo\n");
        fprintf(f, "listen-address=%s\n", gw);
        /* DNS: the instances' names from hosts.dns, both NAME and NAME.DOMAIN written
         * out there (so no expand-hosts); the domain is answered here alone, plain
         * names never leave the host, and the rest goes to the host's resolvers
         * (/etc/resolv.conf) in their order. The host's /etc/hosts is not served. */
        fprintf(f, "no-hosts\n");
        fprintf(f, "addn-hosts=%s\n", hosts_dns);
        fprintf(f, "domain=%s\n", c->domain);
        fprintf(f, "local=/%s/\n", c->domain);
        fprintf(f, "domain-needed\n");
        fprintf(f, "strict-order\n");
        /* DHCP: a lease for each of IPAM's addresses and no pool ("static"), so that
         * what a VM gets is what the inventory says. */
        fprintf(f, "dhcp-range=%s,static,%s,%s\n", subnet, mask, LEASE_TIME);
        fprintf(f, "dhcp-hostsfile=%s\n", hosts_dhcp);
        fprintf(f, "dhcp-authoritative\n");
        fprintf(f, "dhcp-leasefile=%s\n", leases);
        fprintf(f, "dhcp-option=option:router,%s\n", gw);
        fprintf(f, "dhcp-option=option:dns-server,%s\n", gw);
        fprintf(f, "dhcp-option=option:mtu,%d\n", c->mtu);
        fprintf(f, "pid-file=%s\n", pid);
        fprintf(f, "log-facility=%s\n", log);
        /* Its files live in hostd's 0700 state directory, out of reach of the
         * unprivileged user dnsmasq would otherwise switch to (it re-reads the host
         * files and writes the leases after dropping privileges). */
        fprintf(f, "user=root\n");
        return text_end(&t);
}

static char *render_hosts_dhcp(const HdDnsmasqConfig *c)
{
        Text t = { 0 };
        t.f = open_memstream(&t.buf, &t.len);
        if (!t.f)
                return NULL;
        for (size_t i = 0; i < c->n_hosts; i++)
                fprintf(t.f, "%s,%s,%s\n", c->hosts[i].mac, c->hosts[i].addr, c->hosts[i].name);
        return text_end(&t);
}

static char *render_hosts_dns(const HdDnsmasqConfig *c)
{
        Text t = { 0 };
        t.f = open_memstream(&t.buf, &t.len);
        if (!t.f)
                return NULL;
        for (size_t i = 0; i < c->n_hosts; i++)
                fprintf(t.f, "%s %s %s.%s\n", c->hosts[i].addr, c->hosts[i].name, c->hosts[i].name,
                        c->domain);
        return text_end(&t);
}

static int write_in(const char *dir, const char *name, const char *text, HdError **err)
{
        _cleanup_free_ char *path = path_in(dir, name);
        if (!path)
                return hd_error_set(err, -ENOMEM, "out of memory");
        int r = hd_write_file_atomic(path, text, strlen(text), 0600);
        if (r < 0)
                return hd_error_set(err, r, "cannot write `%s`: %s", path, strerror(-r));
        return 0;
}

/* Removes what dnsmasq and hostd left in dir (files only: nothing else goes there),
 * then dir itself. 0 when it was already gone. */
static int remove_dir(const char *dir, HdError **err)
{
        DIR *d = opendir(dir);
        if (!d) {
                if (errno == ENOENT)
                        return 0;
                return hd_error_set(err, -errno, "cannot open `%s`: %m", dir);
        }
        int r = 0;
        struct dirent *de;
        while ((de = readdir(d))) {
                if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
                        continue;
                if (unlinkat(dirfd(d), de->d_name, 0) < 0 && errno != ENOENT && r == 0)
                        r = hd_error_set(err, -errno, "cannot remove `%s/%s`: %m", dir, de->d_name);
        }
        closedir(d);
        if (r < 0)
                return r;
        if (rmdir(dir) < 0 && errno != ENOENT)
                return hd_error_set(err, -errno, "cannot remove `%s`: %m", dir);
        return 0;
}

/* ---- finding a running one -------------------------------------------------------- */

/* Whether /proc/PID/cmdline is exactly what we start: `…dnsmasq` then
 * `--conf-file=DIR/dnsmasq.conf`, nothing else. */
static bool cmdline_is_ours(pid_t pid, const char *dir)
{
        char proc[64];
        snprintf(proc, sizeof(proc), "/proc/%d/cmdline", (int)pid);
        _cleanup_free_ char *cmd = NULL;
        size_t len = 0;
        if (hd_read_file(proc, CMDLINE_MAX, &cmd, &len) < 0 || len == 0 || cmd[len - 1] != '\0')
                return false;
        const char *argv0 = cmd;
        size_t n0 = strlen(argv0);
        if (n0 + 1 >= len)
                return false;
        const char *argv1 = cmd + n0 + 1;
        if (n0 + 1 + strlen(argv1) + 1 != len)
                return false;
        static const char base[] = "dnsmasq";
        if (n0 < sizeof(base) - 1 || strcmp(argv0 + n0 - (sizeof(base) - 1), base) != 0)
                return false;
        _cleanup_free_ char *want = NULL;
        if (asprintf(&want, "--conf-file=%s/%s", dir, CONF_FILE) < 0)
                return false;
        return strcmp(argv1, want) == 0;
}

/* A dnsmasq of ours, found through its pid file. The pidfd is opened before the pid
 * is checked, so it still names the checked process when it is signalled. Where there
 * is no pidfd_open (kernels before 5.3, valgrind), the bare pid is checked again right
 * before each signal instead. */
typedef struct Proc {
        const char *dir;
        pid_t pid;
        int pidfd; /* -1: none */
} Proc;

static atomic_bool no_pidfd;

static void proc_close(Proc *p)
{
        if (p->pidfd >= 0)
                close(p->pidfd);
        p->pidfd = -1;
}

/* 0 with *ret filled (proc_close it), -ESRCH when no dnsmasq of dir runs. */
static int proc_open(const char *dir, Proc *ret)
{
        _cleanup_free_ char *path = path_in(dir, PID_FILE);
        if (!path)
                return -ENOMEM;
        _cleanup_free_ char *text = NULL;
        int r = hd_read_file(path, 64, &text, NULL);
        if (r < 0)
                return r == -ENOENT ? -ESRCH : r;
        text[strcspn(text, "\n")] = '\0';
        int64_t v;
        if (hd_parse_int64(text, &v) < 0 || v <= 1 || v > INT_MAX)
                return -ESRCH;
        Proc p = { .dir = dir, .pid = (pid_t)v, .pidfd = -1 };
        if (!atomic_load(&no_pidfd)) {
                p.pidfd = pidfd_open(p.pid, 0);
                if (p.pidfd < 0 && errno != ENOSYS)
                        return -ESRCH;
                if (p.pidfd < 0)
                        atomic_store(&no_pidfd, true); /* and valgrind warns only once */
        }
        if (!cmdline_is_ours(p.pid, dir)) {
                proc_close(&p);
                return -ESRCH;
        }
        *ret = p;
        return 0;
}

/* 0, or -ESRCH when it is gone, or -errno. */
static int proc_signal(const Proc *p, int sig)
{
        if (p->pidfd >= 0)
                return pidfd_send_signal(p->pidfd, sig, NULL, 0) < 0 ? -errno : 0;
        if (!cmdline_is_ours(p->pid, p->dir))
                return -ESRCH;
        return kill(p->pid, sig) < 0 ? -errno : 0;
}

/* Exited: no such process, or a zombie. Not "cmdline no longer ours": an exiting
 * process drops its memory (and so its cmdline) before it closes its sockets, and a
 * successor must find the address free. */
static bool proc_gone(const Proc *p)
{
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/stat", (int)p->pid);
        _cleanup_free_ char *stat = NULL;
        if (hd_read_file(path, 4096, &stat, NULL) < 0)
                return true;
        const char *paren = strrchr(stat, ')');
        return paren && paren[1] == ' ' && (paren[2] == 'Z' || paren[2] == 'X');
}

/* Whether it exits within ms: the pidfd turns readable, or /proc says so. */
static bool proc_wait_exit(const Proc *p, int ms)
{
        int64_t deadline = hd_monotonic_ms() + ms;
        for (;;) {
                int64_t left = deadline - hd_monotonic_ms();
                if (p->pidfd >= 0) {
                        struct pollfd pfd = { .fd = p->pidfd, .events = POLLIN };
                        int n = poll(&pfd, 1, left > 0 ? (int)left : 0);
                        if (n > 0)
                                return true;
                        if (n < 0 && errno == EINTR)
                                continue;
                        return false;
                }
                if (proc_gone(p))
                        return true;
                if (left <= 0)
                        return false;
                usleep(20 * 1000);
        }
}

/* SIGTERM, then SIGKILL after STOP_TERM_MS. */
static int proc_terminate(const Proc *p, HdError **err)
{
        int r = proc_signal(p, SIGTERM);
        if (r == -ESRCH)
                return 0;
        if (r < 0)
                return hd_error_set(err, r, "cannot signal dnsmasq %d: %s", (int)p->pid,
                                    strerror(-r));
        if (proc_wait_exit(p, STOP_TERM_MS))
                return 0;
        r = proc_signal(p, SIGKILL);
        if (r < 0 && r != -ESRCH)
                return hd_error_set(err, r, "cannot kill dnsmasq %d: %s", (int)p->pid,
                                    strerror(-r));
        if (!proc_wait_exit(p, STOP_KILL_MS))
                return hd_error_set(err, -ETIMEDOUT, "dnsmasq %d does not exit", (int)p->pid);
        return 0;
}

pid_t hd_dnsmasq_running(const char *dir)
{
        if (!dir_is_valid(dir))
                return 0;
        _cleanup_(proc_close) Proc p = { .pidfd = -1 };
        return proc_open(dir, &p) == 0 ? p.pid : 0;
}

/* ---- starting --------------------------------------------------------------------- */

/* The binary to run: c->binary when it is a path, else found on hostd's PATH and
 * then in the usual directories (dnsmasq is in /usr/sbin, which a PATH may lack). */
static char *find_binary(const char *binary)
{
        const char *name = binary ? binary : "dnsmasq";
        if (strchr(name, '/'))
                return strdup(name);
        const char *env = getenv("PATH");
        _cleanup_free_ char *path = NULL;
        if (asprintf(&path, "%s:%s", env ? env : "", DEFAULT_PATH) < 0)
                return NULL;
        char *save = NULL;
        for (char *d = strtok_r(path, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
                if (d[0] != '/')
                        continue; /* a relative PATH entry depends on hostd's cwd */
                char *p = NULL;
                if (asprintf(&p, "%s/%s", d, name) < 0)
                        return NULL;
                if (access(p, X_OK) == 0)
                        return p;
                free(p);
        }
        return NULL;
}

/* Reads what is in the pipe now into out (STDERR_MAX + 1), without blocking. */
static void drain(int fd, char *out, size_t *len)
{
        for (;;) {
                char buf[512];
                ssize_t n = read(fd, buf, sizeof(buf));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return;
                size_t keep = STDERR_MAX - *len < (size_t)n ? STDERR_MAX - *len : (size_t)n;
                memcpy(out + *len, buf, keep);
                *len += keep;
                out[*len] = '\0';
        }
}

/* The output on one line, for an error message (dnsmasq starts its errors with a
 * newline). */
static void squash(char *s)
{
        for (char *p = s; *p; p++)
                if ((unsigned char)*p < 0x20 || *p == 0x7f)
                        *p = ' ';
        size_t lead = strspn(s, " ");
        memmove(s, s + lead, strlen(s + lead) + 1);
        for (size_t n = strlen(s); n > 0 && s[n - 1] == ' ';)
                s[--n] = '\0';
}

/* Runs dnsmasq's foreground part to its exit: it daemonizes, and reports through its
 * exit status (and stderr) whether the daemon came up. */
static int spawn_dnsmasq(const char *binary, const char *dir, HdError **err)
{
        _cleanup_free_ char *exe = find_binary(binary);
        if (!exe)
                return hd_error_set(err, -ENOENT, "cannot find `%s` (apt-get install dnsmasq-base)",
                                    binary ? binary : "dnsmasq");
        _cleanup_free_ char *arg = NULL;
        if (asprintf(&arg, "--conf-file=%s/%s", dir, CONF_FILE) < 0)
                return hd_error_set(err, -ENOMEM, "out of memory");

        int fds[2];
        if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0)
                return hd_error_set(err, -errno, "cannot create a pipe: %m");
        _cleanup_close_ int rd = fds[0];
        _cleanup_close_ int wr = fds[1];

        /* A clean start: std streams on /dev/null but stderr (its start-up errors),
         * no other fd of hostd's, its own session (it outlives hostd), no blocked or
         * ignored signals, a fixed environment. */
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
        posix_spawn_file_actions_adddup2(&fa, wr, 2);
        posix_spawn_file_actions_addclosefrom_np(&fa, 3);
        posix_spawnattr_t attr;
        posix_spawnattr_init(&attr);
        sigset_t none, all;
        sigemptyset(&none);
        sigfillset(&all);
        posix_spawnattr_setsigmask(&attr, &none);
        posix_spawnattr_setsigdefault(&attr, &all);
        posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK |
                                                POSIX_SPAWN_SETSIGDEF);
        char *argv[] = { exe, arg, NULL };
        char *envp[] = { (char *)"PATH=" DEFAULT_PATH, (char *)"LC_ALL=C", NULL };
        pid_t pid;
        int r = posix_spawn(&pid, exe, &fa, &attr, argv, envp);
        posix_spawnattr_destroy(&attr);
        posix_spawn_file_actions_destroy(&fa);
        if (r != 0)
                return hd_error_set(err, -r, "cannot run `%s`: %s", exe, strerror(r));
        close(TAKE_FD(wr));

        /* Its stderr is read while it runs, so that it never blocks on a full pipe; the
         * daemon it leaves behind may still hold the pipe, so the exit, not EOF, is
         * what ends the wait. */
        char out[STDERR_MAX + 1] = "";
        size_t len = 0;
        int status = 0;
        int64_t deadline = hd_monotonic_ms() + START_EXIT_MS;
        for (;;) {
                pid_t w = waitpid(pid, &status, WNOHANG);
                if (w == pid)
                        break;
                if (w < 0 && errno != EINTR)
                        return hd_error_set(err, -errno, "cannot wait for dnsmasq: %m");
                if (hd_monotonic_ms() >= deadline) {
                        kill(pid, SIGKILL);
                        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                                ;
                        return hd_error_set(err, -ETIMEDOUT, "dnsmasq did not start in %d s",
                                            START_EXIT_MS / 1000);
                }
                struct pollfd p = { .fd = rd, .events = POLLIN };
                if (poll(&p, 1, 20) > 0 && (p.revents & POLLIN))
                        drain(rd, out, &len);
        }
        drain(rd, out, &len);
        squash(out);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
                return 0;
        if (WIFEXITED(status))
                return hd_error_set(err, -EIO, "dnsmasq exited with status %d: %s",
                                    WEXITSTATUS(status), out[0] ? out : "no message");
        return hd_error_set(err, -EIO, "dnsmasq killed by signal %d: %s", WTERMSIG(status),
                            out[0] ? out : "no message");
}

static int start(const HdDnsmasqConfig *c, pid_t *ret_pid, HdError **err)
{
        /* A stale pid file (a dnsmasq that was killed) must not be read as the new
         * one's before that one has written it. */
        _cleanup_free_ char *pid_path = path_in(c->dir, PID_FILE);
        if (!pid_path)
                return hd_error_set(err, -ENOMEM, "out of memory");
        if (unlink(pid_path) < 0 && errno != ENOENT)
                return hd_error_set(err, -errno, "cannot remove `%s`: %m", pid_path);

        int r = spawn_dnsmasq(c->binary, c->dir, err);
        if (r < 0)
                return r;
        int64_t deadline = hd_monotonic_ms() + START_PID_MS;
        for (;;) {
                pid_t pid = hd_dnsmasq_running(c->dir);
                if (pid > 0) {
                        *ret_pid = pid;
                        return 0;
                }
                if (hd_monotonic_ms() >= deadline)
                        return hd_error_set(err, -EIO,
                                            "dnsmasq started but `%s` names no dnsmasq of ours",
                                            pid_path);
                usleep(20 * 1000);
        }
}

/* ---- the calls -------------------------------------------------------------------- */

int hd_dnsmasq_ensure(const HdDnsmasqConfig *c, pid_t *ret_pid, HdError **err)
{
        int r = config_validate(c, err);
        if (r < 0)
                return r;
        r = hd_mkdir_p(c->dir, 0700);
        if (r < 0)
                return hd_error_set(err, r, "cannot create `%s`: %s", c->dir, strerror(-r));

        _cleanup_free_ char *conf = render_conf(c);
        _cleanup_free_ char *hosts_dhcp = render_hosts_dhcp(c);
        _cleanup_free_ char *hosts_dns = render_hosts_dns(c);
        if (!conf || !hosts_dhcp || !hosts_dns)
                return hd_error_set(err, -ENOMEM, "out of memory");

        /* The host files first: whichever dnsmasq runs next reads the new ones. */
        r = write_in(c->dir, HOSTS_DHCP_FILE, hosts_dhcp, err);
        if (r >= 0)
                r = write_in(c->dir, HOSTS_DNS_FILE, hosts_dns, err);
        if (r < 0)
                return r;

        _cleanup_(proc_close) Proc p = { .pidfd = -1 };
        r = proc_open(c->dir, &p);
        if (r < 0 && r != -ESRCH)
                return hd_error_set(err, r, "cannot check the dnsmasq of `%s`: %s", c->dir,
                                    strerror(-r));
        if (r == 0) {
                const Proc *running = &p;
                _cleanup_free_ char *conf_path = path_in(c->dir, CONF_FILE);
                _cleanup_free_ char *old = NULL;
                if (!conf_path)
                        return hd_error_set(err, -ENOMEM, "out of memory");
                bool same = hd_read_file(conf_path, CONF_MAX, &old, NULL) == 0 &&
                            strcmp(old, conf) == 0;
                if (same) {
                        /* SIGHUP: dnsmasq reads dhcp-hostsfile and addn-hosts again. */
                        r = proc_signal(running, SIGHUP);
                        if (r == 0) {
                                if (ret_pid)
                                        *ret_pid = running->pid;
                                return 0;
                        }
                        if (r != -ESRCH)
                                return hd_error_set(err, r, "cannot signal dnsmasq %d: %s",
                                                    (int)running->pid, strerror(-r));
                        /* it has just gone: a new one starts below */
                } else {
                        /* Bridge, addresses or options changed: SIGHUP does not
                         * re-read the config itself, so a new one takes over. */
                        r = proc_terminate(running, err);
                        if (r < 0)
                                return r;
                }
        }

        r = write_in(c->dir, CONF_FILE, conf, err);
        if (r < 0)
                return r;
        pid_t started = 0;
        r = start(c, &started, err);
        if (r < 0)
                return r;
        if (ret_pid)
                *ret_pid = started;
        return 0;
}

int hd_dnsmasq_stop(const char *dir, HdError **err)
{
        if (!dir_is_valid(dir))
                return hd_error_set(err, -EINVAL, "invalid dnsmasq directory `%s`", dir ? dir : "");
        _cleanup_(proc_close) Proc p = { .pidfd = -1 };
        int r = proc_open(dir, &p);
        if (r < 0 && r != -ESRCH)
                return hd_error_set(err, r, "cannot check the dnsmasq of `%s`: %s", dir,
                                    strerror(-r));
        if (r == 0) {
                r = proc_terminate(&p, err);
                if (r < 0)
                        return r;
        }
        return remove_dir(dir, err);
}
