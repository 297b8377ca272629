/* The container's init from clone to execve, and the helpers `hostd-monitor exec`
 * shares with it. See ct-init.h. */
#include "ct-init.h"

#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ct-rootfs.h"
#include "ct-security.h"
#include "hd-util.h"

#define ID_FILE_MAX  (1024 * 1024)
#define ID_LINE_MAX  4096
#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* ---- failures ----------------------------------------------------------------------- */

int hd_ct_fail(HdCtFail *f, const char *step, int err, const char *fmt, ...)
{
        if (err <= 0)
                err = EIO;
        if (!f->step) {
                f->step = step;
                f->err = err;
                va_list ap;
                va_start(ap, fmt);
                vsnprintf(f->message, sizeof(f->message), fmt, ap);
                va_end(ap);
        }
        return -err;
}

void hd_ct_fail_send(int fd, const HdCtFail *f)
{
        char buf[64 + 16 + sizeof(f->message)];
        int n = snprintf(buf, sizeof(buf), "%s%c%d%c%s", f->step ? f->step : "init", '\0', f->err,
                         '\0', f->message);
        if (n < 0)
                return;
        if ((size_t)n >= sizeof(buf))
                n = (int)sizeof(buf) - 1;
        ssize_t w;
        do
                w = write(fd, buf, (size_t)n);
        while (w < 0 && errno == EINTR);
}

int hd_ct_fail_recv(int fd, HdCtFail *ret, char step_buf[static 64])
{
        char buf[64 + 16 + sizeof(ret->message)];
        size_t len = 0;
        for (;;) {
                ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        break;
                len += (size_t)n;
                if (len == sizeof(buf) - 1)
                        break;
        }
        if (len == 0)
                return 0;
        buf[len] = '\0';
        /* step \0 errno \0 message */
        const char *step = buf;
        size_t sl = strnlen(step, len);
        const char *num = sl < len ? step + sl + 1 : "";
        size_t nl = sl < len ? strnlen(num, len - sl - 1) : 0;
        const char *msg = sl + 1 + nl < len ? num + nl + 1 : "";
        snprintf(step_buf, 64, "%.63s", step);
        *ret = (HdCtFail){ .step = step_buf, .err = atoi(num) };
        snprintf(ret->message, sizeof(ret->message), "%s", msg);
        if (ret->err <= 0)
                ret->err = EIO;
        return 1;
}

/* ---- /etc/passwd and /etc/group ----------------------------------------------------- */

/* Reads a small regular file under the root into a NUL-terminated buffer. -ENOENT
 * when absent; a FIFO or device is refused rather than read. */
static int read_in_root(int root_fd, const char *path, char **ret)
{
        int fd = hd_ct_open_in_root(root_fd, path, O_RDONLY | O_NONBLOCK | O_NOCTTY);
        if (fd < 0)
                return fd;
        struct stat st;
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > ID_FILE_MAX) {
                close(fd);
                return -EINVAL;
        }
        char *buf = malloc((size_t)st.st_size + 1);
        if (!buf) {
                close(fd);
                return -ENOMEM;
        }
        size_t len = 0;
        while (len < (size_t)st.st_size) {
                ssize_t n = read(fd, buf + len, (size_t)st.st_size - len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                len += (size_t)n;
        }
        close(fd);
        buf[len] = '\0';
        *ret = buf;
        return 0;
}

static bool parse_id(const char *s, size_t len, uint32_t *ret)
{
        if (len == 0 || len > 10)
                return false;
        uint64_t v = 0;
        for (size_t i = 0; i < len; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return false;
                v = v * 10 + (uint64_t)(s[i] - '0');
        }
        if (v >= UINT32_MAX) /* (uid_t)-1 means "unchanged" to the kernel */
                return false;
        *ret = (uint32_t)v;
        return true;
}

/* Splits one line into at most n ':' fields (pointers into line, NUL-terminated). */
static size_t split_fields(char *line, char **fields, size_t n)
{
        size_t k = 0;
        fields[k++] = line;
        for (char *p = line; *p && k < n; p++)
                if (*p == ':') {
                        *p = '\0';
                        fields[k++] = p + 1;
                }
        return k;
}

/* Calls fn for each line of text that is not too long, not a comment and has at
 * least min_fields fields; stops when fn returns true. */
static bool for_each_entry(char *text, size_t min_fields, size_t max_fields,
                           bool (*fn)(char **fields, size_t n, void *ud), void *ud)
{
        char *line = text;
        while (line && *line) {
                char *nl = strchr(line, '\n');
                if (nl)
                        *nl = '\0';
                char *fields[8];
                if (strlen(line) < ID_LINE_MAX && line[0] != '#' && line[0] != '\0') {
                        size_t n = split_fields(line, fields, max_fields);
                        if (n >= min_fields && fn(fields, n, ud))
                                return true;
                }
                line = nl ? nl + 1 : NULL;
        }
        return false;
}

typedef struct PwQuery {
        const char *name; /* match by name, or */
        uint32_t uid;     /* by uid when name is NULL */
        bool found;
        char user[256];
        uint32_t found_uid, found_gid;
        char home[256];
} PwQuery;

static bool pw_match(char **fl, size_t n, void *ud)
{
        PwQuery *q = ud;
        uint32_t uid, gid;
        if (!parse_id(fl[2], strlen(fl[2]), &uid) || !parse_id(fl[3], strlen(fl[3]), &gid))
                return false;
        if (q->name ? strcmp(fl[0], q->name) != 0 : uid != q->uid)
                return false;
        q->found = true;
        snprintf(q->user, sizeof(q->user), "%s", fl[0]);
        q->found_uid = uid;
        q->found_gid = gid;
        snprintf(q->home, sizeof(q->home), "%s", n > 5 && fl[5][0] == '/' ? fl[5] : "/");
        return true;
}

typedef struct GrQuery {
        const char *name; /* the group named so (resolution of "user:group") */
        bool found;
        uint32_t gid;
        const char *member; /* or every group listing this user */
        HdCtUser *u;
} GrQuery;

static bool gr_match(char **fl, size_t n, void *ud)
{
        GrQuery *q = ud;
        uint32_t gid;
        if (!parse_id(fl[2], strlen(fl[2]), &gid))
                return false;
        if (q->name) {
                if (strcmp(fl[0], q->name) != 0)
                        return false;
                q->found = true;
                q->gid = gid;
                return true;
        }
        if (n < 4)
                return false;
        for (char *m = fl[3]; m && *m;) {
                char *comma = strchr(m, ',');
                size_t len = comma ? (size_t)(comma - m) : strlen(m);
                if (len == strlen(q->member) && strncmp(m, q->member, len) == 0) {
                        bool dup = false;
                        for (size_t i = 0; i < q->u->n_groups; i++)
                                dup |= q->u->groups[i] == gid;
                        if (!dup && q->u->n_groups < HD_CT_GROUPS_MAX)
                                q->u->groups[q->u->n_groups++] = gid;
                        break;
                }
                m = comma ? comma + 1 : NULL;
        }
        return false;
}

int hd_ct_user_resolve(int root_fd, const char *spec, HdCtUser *ret, HdCtFail *f)
{
        char user[256], group[256] = "";
        const char *colon = strchr(spec, ':');
        size_t ulen = colon ? (size_t)(colon - spec) : strlen(spec);
        if (ulen == 0 || ulen >= sizeof(user) ||
            (colon && (colon[1] == '\0' || strlen(colon + 1) >= sizeof(group))))
                return hd_ct_fail(f, "user", EINVAL, "bad user `%s`", spec);
        memcpy(user, spec, ulen);
        user[ulen] = '\0';
        if (colon)
                snprintf(group, sizeof(group), "%s", colon + 1);

        *ret = (HdCtUser){ .home = "/" };
        _cleanup_free_ char *passwd = NULL;
        int r = read_in_root(root_fd, "/etc/passwd", &passwd);
        if (r < 0 && r != -ENOENT)
                return hd_ct_fail(f, "user", -r, "read /etc/passwd");

        uint32_t id;
        PwQuery pq = { 0 };
        if (parse_id(user, ulen, &id)) {
                pq.uid = id;
                ret->uid = id;
        } else
                pq.name = user;
        if (passwd)
                for_each_entry(passwd, 4, 7, pw_match, &pq);
        if (!pq.found && pq.name)
                return hd_ct_fail(f, "user", ENOENT, "user `%s` not found in /etc/passwd", user);
        if (pq.found) {
                ret->uid = pq.found_uid;
                ret->gid = pq.found_gid;
                snprintf(ret->home, sizeof(ret->home), "%s", pq.home);
        }

        _cleanup_free_ char *groups = NULL;
        if (group[0] && parse_id(group, strlen(group), &id)) {
                ret->gid = id;
                return 0;
        }
        if (!group[0] && !pq.found)
                return 0;
        r = read_in_root(root_fd, "/etc/group", &groups);
        if (r < 0 && (r != -ENOENT || group[0]))
                return hd_ct_fail(f, "user", -r, "read /etc/group");
        if (group[0]) {
                GrQuery gq = { .name = group };
                for_each_entry(groups, 3, 4, gr_match, &gq);
                if (!gq.found)
                        return hd_ct_fail(f, "user", ENOENT, "group `%s` not found in /etc/group",
                                          group);
                ret->gid = gq.gid;
                return 0;
        }
        if (groups) {
                GrQuery gq = { .member = pq.user, .u = ret };
                for_each_entry(groups, 4, 4, gr_match, &gq);
        }
        return 0;
}

/* ---- cwd, PATH, env, rlimits -------------------------------------------------------- */

int hd_ct_chdir(int root_fd, const char *cwd, HdCtFail *f)
{
        int fd = hd_ct_open_in_root(root_fd, cwd, O_PATH | O_DIRECTORY);
        if (fd < 0)
                return hd_ct_fail(f, "cwd", -fd, "working directory `%s`", cwd);
        int r = fchdir(fd);
        int e = errno;
        close(fd);
        if (r < 0)
                return hd_ct_fail(f, "cwd", e, "working directory `%s`", cwd);
        return 0;
}

static bool is_program(const char *path)
{
        struct stat st;
        return stat(path, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111);
}

int hd_ct_find_program(const char *name, char *const env[], char *buf, size_t size)
{
        if (!name[0])
                return -ENOENT;
        if (strchr(name, '/')) {
                if ((size_t)snprintf(buf, size, "%s", name) >= size)
                        return -ENAMETOOLONG;
                return 0;
        }
        const char *path = DEFAULT_PATH;
        for (size_t i = 0; env && env[i]; i++)
                if (strncmp(env[i], "PATH=", 5) == 0)
                        path = env[i] + 5;
        int r = -ENOENT;
        for (const char *p = path;; p++) {
                const char *end = strchrnul(p, ':');
                int dl = (int)(end - p);
                /* An empty entry is the current directory, as execvp has it. */
                if ((size_t)snprintf(buf, size, "%.*s%s%s", dl, p, dl ? "/" : "", name) < size) {
                        if (is_program(buf))
                                return 0;
                        if (access(buf, F_OK) == 0)
                                r = -EACCES;
                }
                if (!*end)
                        break;
                p = end;
        }
        return r;
}

static size_t key_len(const char *kv)
{
        const char *eq = strchr(kv, '=');
        return eq ? (size_t)(eq - kv) : strlen(kv);
}

char **hd_ct_env_build(char *const base[], char *const overrides[], const char *home)
{
        size_t n = 0, m = 0;
        while (base && base[n])
                n++;
        while (overrides && overrides[m])
                m++;
        /* One block: the pointers, then room for "HOME=…", so one free() does. */
        size_t slots = n + m + 2, home_len = home ? strlen("HOME=") + strlen(home) + 1 : 0;
        char **env = malloc(slots * sizeof(char *) + home_len);
        if (!env)
                return NULL;
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
                env[k++] = base[i];
        for (size_t j = 0; j < m; j++) {
                size_t kl = key_len(overrides[j]);
                size_t i = 0;
                for (; i < k; i++)
                        if (key_len(env[i]) == kl && strncmp(env[i], overrides[j], kl) == 0)
                                break;
                env[i] = overrides[j];
                if (i == k)
                        k++;
        }
        bool has_home = false;
        for (size_t i = 0; i < k; i++)
                has_home |= strncmp(env[i], "HOME=", 5) == 0;
        if (!has_home && home) {
                char *h = (char *)(env + slots);
                snprintf(h, home_len, "HOME=%s", home);
                env[k++] = h;
        }
        env[k] = NULL;
        return env;
}

int hd_ct_apply_rlimits(const HdCtBundle *b, HdCtFail *f)
{
        for (size_t i = 0; i < b->n_rlimits; i++) {
                struct rlimit rl = { .rlim_cur = b->rlimits[i].soft,
                                     .rlim_max = b->rlimits[i].hard };
                if (setrlimit(b->rlimits[i].resource, &rl) < 0)
                        return hd_ct_fail(f, "rlimits", errno, "setrlimit %d",
                                          b->rlimits[i].resource);
        }
        return 0;
}

/* ---- the init ----------------------------------------------------------------------- */

static int lo_up(HdCtFail *f)
{
        int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (s < 0)
                return hd_ct_fail(f, "network-lo", errno, "socket");
        struct ifreq ifr = { 0 };
        snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
        int r = ioctl(s, SIOCGIFFLAGS, &ifr);
        if (r >= 0) {
                ifr.ifr_flags |= IFF_UP;
                r = ioctl(s, SIOCSIFFLAGS, &ifr);
        }
        int e = errno;
        close(s);
        if (r < 0)
                return hd_ct_fail(f, "network-lo", e, "bring lo up");
        return 0;
}

/* Network bridge: the container's /etc/hosts and /etc/resolv.conf, written into its
 * root once that is "/" (so a container in a user namespace owns them as its root).
 * Each replaces what the image has: a new file renamed over the old, so that a symlink
 * there is replaced, never followed, and /etc itself is resolved inside the root. */
static int put_etc_file(int etc, const char *name, const char *text, HdCtFail *f)
{
        char tmp[64];
        snprintf(tmp, sizeof(tmp), ".%s.hostd-new", name);
        (void)unlinkat(etc, tmp, 0); /* an interrupted earlier start's */
        int fd = openat(etc, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0)
                return hd_ct_fail(f, "network-files", errno, "create /etc/%s", name);
        int r = hd_write_all(fd, text, strlen(text));
        if (r >= 0 && fchmod(fd, 0644) < 0) /* whatever the umask */
                r = -errno;
        close(fd);
        if (r >= 0 && renameat(etc, tmp, etc, name) < 0)
                r = -errno;
        if (r < 0) {
                (void)unlinkat(etc, tmp, 0);
                return hd_ct_fail(f, "network-files", -r, "write /etc/%s", name);
        }
        return 0;
}

static int write_net_files(const HdCtBundle *b, HdCtFail *f)
{
        if (!b->net.hosts && !b->net.resolv_conf)
                return 0;
        _cleanup_close_ int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root < 0)
                return hd_ct_fail(f, "network-files", errno, "open /");
        int etc = hd_ct_open_in_root(root, "/etc", O_PATH | O_DIRECTORY);
        if (etc == -ENOENT) {
                if (mkdirat(root, "etc", 0755) < 0 && errno != EEXIST)
                        return hd_ct_fail(f, "network-files", errno, "create /etc");
                (void)fchmodat(root, "etc", 0755, 0);
                etc = hd_ct_open_in_root(root, "/etc", O_PATH | O_DIRECTORY);
        }
        if (etc < 0)
                return hd_ct_fail(f, "network-files", -etc, "open /etc");
        _cleanup_close_ int etc_fd = etc;
        int r = 0;
        if (b->net.hosts && (r = put_etc_file(etc_fd, "hosts", b->net.hosts, f)) < 0)
                return r;
        if (b->net.resolv_conf &&
            (r = put_etc_file(etc_fd, "resolv.conf", b->net.resolv_conf, f)) < 0)
                return r;
        return 0;
}

static int setup_stdio(const HdCtInitArgs *a, HdCtFail *f)
{
        /* The container's own /dev/null: nothing of the host's stays open. */
        int null = open("/dev/null", O_RDWR | O_CLOEXEC | O_NOCTTY);
        if (null < 0)
                return hd_ct_fail(f, "stdio", errno, "open /dev/null");
        int r = dup2(null, 0) < 0 || dup2(a->stdout_fd, 1) < 0 || dup2(a->stderr_fd, 2) < 0;
        int e = errno;
        close(null);
        if (r)
                return hd_ct_fail(f, "stdio", e, "set up stdin, stdout and stderr");
        return 0;
}

/* Signal dispositions the monitor set for itself: an ignored signal stays ignored
 * across execve, and a blocked one stays blocked. */
static void reset_signals(void)
{
        for (int sig = 1; sig < _NSIG; sig++)
                if (sig != SIGKILL && sig != SIGSTOP)
                        signal(sig, SIG_DFL);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
}

/* The error pipe goes to fd 3 (close-on-exec); everything above it is closed. */
static int close_fds(int *error_fd, HdCtFail *f)
{
        if (*error_fd != 3) {
                if (dup3(*error_fd, 3, O_CLOEXEC) < 0)
                        return hd_ct_fail(f, "close-fds", errno, "move the error pipe");
                *error_fd = 3;
        }
        if (syscall(SYS_close_range, 4U, ~0U, 0U) < 0)
                return hd_ct_fail(f, "close-fds", errno, "close_range");
        return 0;
}

static _Noreturn void die(int error_fd, const HdCtFail *f)
{
        hd_ct_fail_send(error_fd, f);
        _exit(1);
}

static int init_steps(const HdCtInitArgs *a, int *error_fd, HdCtFail *f)
{
        const HdCtBundle *b = a->bundle;
        char c;
        ssize_t n;
        do
                n = read(a->sync_fd, &c, 1);
        while (n < 0 && errno == EINTR);
        if (n != 1)
                _exit(1); /* the monitor gave up on us; it reports why */
        close(a->sync_fd);

        /* In a new user namespace we start as the overflow id with all capabilities
         * in it; become its root so files we create have an owner. */
        if (b->userns && (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0))
                return hd_ct_fail(f, "userns", errno, "become root in the user namespace");
        /* Now that the monitor put us in the container's cgroup: it becomes our root. */
        if (unshare(CLONE_NEWCGROUP) < 0)
                return hd_ct_fail(f, "cgroupns", errno, "unshare the cgroup namespace");

        int r = hd_ct_rootfs_setup(b, a->rootfs_fd, f);
        if (r < 0)
                return r;
        /* Network bridge: the monitor brought lo up with the rest over netlink. */
        if (b->network == HD_CT_NETWORK_NONE && (r = lo_up(f)) < 0)
                return r;
        if (b->network == HD_CT_NETWORK_BRIDGE && (r = write_net_files(b, f)) < 0)
                return r;
        if (sethostname(b->hostname, strlen(b->hostname)) < 0)
                return hd_ct_fail(f, "hostname", errno, "sethostname `%s`", b->hostname);
        if ((r = hd_ct_apply_rlimits(b, f)) < 0)
                return r;

        _cleanup_close_ int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root < 0)
                return hd_ct_fail(f, "user", errno, "open /");
        HdCtUser u;
        if ((r = hd_ct_user_resolve(root, b->user, &u, f)) < 0)
                return r;
        if ((r = hd_ct_chdir(root, b->cwd, f)) < 0)
                return r;
        char **env = hd_ct_env_build(b->env, NULL, u.home);
        if (!env)
                return hd_ct_fail(f, "env", ENOMEM, "environment");
        char prog[PATH_MAX];
        r = hd_ct_find_program(b->args[0], env, prog, sizeof(prog));
        if (r < 0)
                return hd_ct_fail(f, "exec", -r, "executable file `%s` not found in $PATH",
                                  b->args[0]);

        if ((r = setup_stdio(a, f)) < 0)
                return r;
        reset_signals();
        if ((r = close_fds(error_fd, f)) < 0)
                return r;

        HdCtSecurity sec = {
                .uid = u.uid,
                .gid = u.gid,
                .groups = u.groups,
                .n_groups = u.n_groups,
                .caps = b->caps,
                .no_new_privs = b->no_new_privs,
                .seccomp = a->seccomp,
                .seccomp_len = a->seccomp_len,
        };
        const char *step = NULL;
        r = hd_ct_security_apply(&sec, &step);
        if (r < 0)
                return hd_ct_fail(f, step ? step : "security", -r, "apply the security settings");

        execve(prog, b->args, env);
        return hd_ct_fail(f, "exec", errno, "exec `%s`", prog);
}

_Noreturn void hd_ct_init_run(const HdCtInitArgs *a)
{
        HdCtFail f = { 0 };
        int error_fd = a->error_fd;
        init_steps(a, &error_fd, &f);
        die(error_fd, &f);
}
