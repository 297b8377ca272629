/* Tests for net-dnsmasq.c: validation, the files it writes and dnsmasq's start-up errors
 * (with a stand-in binary, no root needed), and, as root, a real dnsmasq on a bridge in
 * a network namespace of a forked child: started, found again, told about a new host,
 * restarted when its config changes, never confused with a process that merely sits
 * in its pid file, and stopped. DNS answers are checked with a small hand-built query.
 *
 * Every dnsmasq these tests start runs from a directory under TMPDIR; the runner's
 * teardown (and each case, once its child is done) stops whatever runs there, so a
 * failed check leaves no dnsmasq behind. The namespaces and the bridge go away with
 * their last process. */
#include <check.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "hd-util.h"
#include "net-dnsmasq.h"

#define EXIT_SKIP 77
#define BRIDGE    "hdt-dns0"
#define DOMAIN    "testnet"

#define IP(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (d))

/* ---- fixture ---------------------------------------------------------------------- */

static char top[96];       /* /tmp/test-net-dnsmasq-<runner pid> */
static char dir_a[128];    /* a real dnsmasq's */
static char dir_b[128];    /* a pid file that lies */
static char dir_fake[128]; /* the stand-in binary's */

static void sweep(void)
{
        const char *dirs[] = { dir_a, dir_b, dir_fake };
        for (size_t i = 0; i < HD_ARRAY_SIZE(dirs); i++) {
                HdError *err = NULL;
                if (hd_dnsmasq_stop(dirs[i], &err) < 0)
                        fprintf(stderr, "sweep: %s\n", err->message);
                hd_error_free(err);
        }
}

static void runner_setup(void)
{
        const char *tmp = getenv("TMPDIR");
        snprintf(top, sizeof(top), "%s/test-net-dnsmasq-%d", tmp && *tmp ? tmp : "/tmp",
                 (int)getpid());
        snprintf(dir_a, sizeof(dir_a), "%s/a", top);
        snprintf(dir_b, sizeof(dir_b), "%s/b", top);
        snprintf(dir_fake, sizeof(dir_fake), "%s/fake", top);
        ck_assert(mkdir(top, 0700) == 0 || errno == EEXIST);
}

static void runner_teardown(void)
{
        sweep();
        char bin[160];
        snprintf(bin, sizeof(bin), "%s/bin/fake-dnsmasq", top);
        unlink(bin);
        snprintf(bin, sizeof(bin), "%s/bin", top);
        rmdir(bin);
        rmdir(top);
}

/* ---- helpers ---------------------------------------------------------------------- */

/* In a child: a failed check says what and where, and ends the child with status 1. */
#define CHECK(cond, ...)                                                                          \
        do {                                                                                      \
                if (!(cond)) {                                                                    \
                        fprintf(stderr, "%s:%d: check `%s` failed: ", __FILE__, __LINE__, #cond); \
                        fprintf(stderr, __VA_ARGS__);                                             \
                        fputc('\n', stderr);                                                      \
                        _exit(1);                                                                 \
                }                                                                                 \
        } while (0)

/* Runs fn in a forked child in a network namespace of its own; then stops whatever
 * dnsmasq the child left, whether or not it passed. */
static void in_netns(const char *name, void (*fn)(void))
{
        if (geteuid() != 0) {
                printf("SKIP %s: needs root\n", name);
                return;
        }
        if (access("/usr/sbin/dnsmasq", X_OK) != 0) {
                printf("SKIP %s: needs /usr/sbin/dnsmasq (dnsmasq-base)\n", name);
                return;
        }
        fflush(NULL);
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                if (unshare(CLONE_NEWNET) < 0) {
                        printf("SKIP %s: unshare(CLONE_NEWNET): %m\n", name);
                        fflush(stdout);
                        _exit(EXIT_SKIP);
                }
                fn();
                fflush(NULL);
                _exit(0);
        }
        int status;
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        sweep();
        ck_assert_msg(WIFEXITED(status), "%s: child killed by signal %d", name,
                      WIFSIGNALED(status) ? WTERMSIG(status) : 0);
        ck_assert_msg(WEXITSTATUS(status) == 0 || WEXITSTATUS(status) == EXIT_SKIP,
                      "%s: child failed (status %d)", name, WEXITSTATUS(status));
}

static HdDnsmasqHost host(const char *mac, const char *addr, const char *name)
{
        HdDnsmasqHost h = { .name = name };
        snprintf(h.mac, sizeof(h.mac), "%s", mac);
        snprintf(h.addr, sizeof(h.addr), "%s", addr);
        return h;
}

static const HdDnsmasqHost hosts3[] = {
        { "02:00:0a:4d:00:02", "10.77.0.2", "web" },
        { "02:00:0a:4d:00:03", "10.77.0.3", "db" },
        { "02:00:0a:4d:00:04", "10.77.0.4", "cache" },
};

static HdDnsmasqConfig config(const char *dir, size_t n_hosts)
{
        return (HdDnsmasqConfig){
                .dir = dir,
                .bridge = BRIDGE,
                .domain = DOMAIN,
                .subnet = IP(10, 77, 0, 0),
                .prefix = 24,
                .gateway = IP(10, 77, 0, 1),
                .mtu = 1500,
                .hosts = hosts3,
                .n_hosts = n_hosts,
        };
}

static char *read_in(const char *dir, const char *name)
{
        char path[256];
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        char *text = NULL;
        return hd_read_file(path, 1 << 20, &text, NULL) == 0 ? text : NULL;
}

/* Exited (gone, or a zombie nobody reaped yet). */
static bool process_gone(pid_t pid)
{
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
        _cleanup_free_ char *stat = NULL;
        if (hd_read_file(path, 4096, &stat, NULL) < 0)
                return true;
        const char *paren = strrchr(stat, ')');
        return paren && (paren[2] == 'Z' || paren[2] == 'X');
}

static bool wait_gone(pid_t pid, int ms)
{
        for (int waited = 0; waited < ms; waited += 20) {
                if (process_gone(pid))
                        return true;
                usleep(20 * 1000);
        }
        return process_gone(pid);
}

/* ---- a minimal DNS client --------------------------------------------------------- */

/* One A query for name to server:53. 0 with *ret_addr (host order); -ENOENT for
 * NXDOMAIN, -ENODATA for an answer without an A record, -ETIMEDOUT, -EPROTO. */
static int query_a(const char *server, const char *name, uint32_t *ret_addr)
{
        uint8_t q[512];
        size_t n = 0;
        static const uint8_t header[12] = { 0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0 };
        memcpy(q, header, sizeof(header));
        n = sizeof(header);
        for (const char *l = name; *l;) {
                const char *dot = strchrnul(l, '.');
                size_t len = (size_t)(dot - l);
                q[n++] = (uint8_t)len;
                memcpy(q + n, l, len);
                n += len;
                l = *dot ? dot + 1 : dot;
        }
        q[n++] = 0;
        static const uint8_t tail[4] = { 0, 1, 0, 1 }; /* type A, class IN */
        memcpy(q + n, tail, sizeof(tail));
        n += sizeof(tail);

        int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (s < 0)
                return -errno;
        struct timeval tv = { .tv_sec = 1 };
        setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(53) };
        inet_pton(AF_INET, server, &sa.sin_addr);
        uint8_t r[1500];
        ssize_t got = -1;
        if (sendto(s, q, n, 0, (struct sockaddr *)&sa, sizeof(sa)) == (ssize_t)n)
                got = recv(s, r, sizeof(r), 0);
        int e = errno;
        close(s);
        if (got < 0)
                return e == EAGAIN || e == EWOULDBLOCK ? -ETIMEDOUT : -e;
        if (got < 12 || r[0] != 0x12 || r[1] != 0x34 || !(r[2] & 0x80))
                return -EPROTO;
        if ((r[3] & 0x0f) == 3)
                return -ENOENT;
        if ((r[3] & 0x0f) != 0)
                return -EPROTO;
        size_t ancount = (size_t)(r[6] << 8 | r[7]);
        size_t p = n; /* the question comes back as sent */
        for (size_t i = 0; i < ancount; i++) {
                /* the owner name: labels, or ending in a compression pointer */
                while (p < (size_t)got && r[p] != 0 && (r[p] & 0xc0) != 0xc0)
                        p += 1 + r[p];
                p += p < (size_t)got && r[p] == 0 ? 1 : 2;
                if (p + 10 > (size_t)got)
                        return -EPROTO;
                unsigned type = (unsigned)(r[p] << 8 | r[p + 1]);
                size_t rdlen = (size_t)(r[p + 8] << 8 | r[p + 9]);
                p += 10;
                if (p + rdlen > (size_t)got)
                        return -EPROTO;
                if (type == 1 && rdlen == 4) {
                        *ret_addr = (uint32_t)r[p] << 24 | (uint32_t)r[p + 1] << 16 |
                                    (uint32_t)r[p + 2] << 8 | r[p + 3];
                        return 0;
                }
                p += rdlen;
        }
        return -ENODATA;
}

/* Retries for a while: dnsmasq reads its host files again some time after SIGHUP. */
static int resolve(const char *name, uint32_t *ret_addr, int ms)
{
        int64_t deadline = hd_monotonic_ms() + ms;
        int r;
        do {
                r = query_a("10.77.0.1", name, ret_addr);
                if (r == 0)
                        return 0;
                usleep(50 * 1000);
        } while (hd_monotonic_ms() < deadline);
        return r;
}

static void expect_addr(const char *name, uint32_t want)
{
        uint32_t a = 0;
        int r = resolve(name, &a, 3000);
        CHECK(r == 0, "%s: %s", name, strerror(-r));
        CHECK(a == want, "%s resolved to %08x, not %08x", name, a, want);
}

/* ---- validation and files (no root) ----------------------------------------------- */

START_TEST(rejects_bad_config)
{
        HdDnsmasqConfig good = config(dir_fake, 1);
        struct {
                const char *what;
                HdDnsmasqConfig c;
        } cases[] = {
                { "relative dir", good },
                { "dir with newline", good },
                { "bridge with newline", good },
                { "long bridge", good },
                { "bad domain", good },
                { "prefix 31", good },
                { "gateway outside", good },
                { "host bits in subnet", good },
                { "mtu", good },
        };
        cases[0].c.dir = "relative/dir";
        cases[1].c.dir = "/tmp/x\ny";
        cases[2].c.bridge = "br0\ninterface=eth0";
        cases[3].c.bridge = "a-very-long-bridge";
        cases[4].c.domain = "bad_domain";
        cases[5].c.prefix = 31;
        cases[6].c.gateway = IP(10, 78, 0, 1);
        cases[7].c.subnet = IP(10, 77, 0, 1);
        cases[8].c.mtu = 10;
        for (size_t i = 0; i < HD_ARRAY_SIZE(cases); i++) {
                HdError *err = NULL;
                ck_assert_msg(hd_dnsmasq_ensure(&cases[i].c, NULL, &err) == -EINVAL, "%s",
                              cases[i].what);
                ck_assert_ptr_nonnull(err);
                hd_error_free(err);
        }

        HdDnsmasqHost bad[] = {
                host("02:00:0a:4d:00:02", "10.77.0.2", "web,set:x"),
                host("02:00:0a:4d:00:02", "10.77.0.2", "-web"),
                host("02:00:0a:4d:00:02", "10.78.0.2", "web"),
                host("02:00:0a:4d:00:02", "10.77.0.02", "web"),
                host("02:00:0a:4d:00", "10.77.0.2", "web"),
                host("02-00-0a-4d-00-02", "10.77.0.2", "web"),
                host("02:00:0a:4d:00:0g", "10.77.0.2", "web"),
        };
        for (size_t i = 0; i < HD_ARRAY_SIZE(bad); i++) {
                HdDnsmasqConfig c = good;
                c.hosts = &bad[i];
                HdError *err = NULL;
                ck_assert_msg(hd_dnsmasq_ensure(&c, NULL, &err) == -EINVAL, "host %zu", i);
                hd_error_free(err);
        }
        /* nothing was created for any of them */
        ck_assert_int_ne(access(dir_fake, F_OK), 0);

        ck_assert_int_eq(hd_dnsmasq_running("relative"), 0);
        ck_assert_int_eq(hd_dnsmasq_running(dir_fake), 0);
        ck_assert_int_eq(hd_dnsmasq_stop(dir_fake, NULL), 0);
}
END_TEST

/* A stand-in for dnsmasq that fails the way dnsmasq does: its stderr ends up in the
 * error, and the files are all written. */
START_TEST(start_failure_and_files)
{
        char bin_dir[160], bin[192];
        snprintf(bin_dir, sizeof(bin_dir), "%s/bin", top);
        snprintf(bin, sizeof(bin), "%s/fake-dnsmasq", bin_dir);
        ck_assert(mkdir(bin_dir, 0700) == 0 || errno == EEXIST);
        static const char script[] = "#!/bin/sh\n"
                                     "echo \"dnsmasq: bad option at line 3 of $1\" >&2\n"
                                     "exit 1\n";
        ck_assert_int_eq(hd_write_file_atomic(bin, script, strlen(script), 0700), 0);

        HdDnsmasqConfig c = config(dir_fake, 2);
        c.binary = bin;
        HdError *err = NULL;
        pid_t pid = 1234;
        ck_assert_int_eq(hd_dnsmasq_ensure(&c, &pid, &err), -EIO);
        ck_assert_ptr_nonnull(err);
        ck_assert_msg(strstr(err->message, "status 1") &&
                              strstr(err->message, "bad option at line 3 of --conf-file=") &&
                              strstr(err->message, "/fake/dnsmasq.conf"),
                      "%s", err->message);
        ck_assert_ptr_null(strchr(err->message, '\n'));
        hd_error_free(err);

        struct stat st;
        ck_assert_int_eq(stat(dir_fake, &st), 0);
        ck_assert_int_eq(st.st_mode & 0777, 0700);

        _cleanup_free_ char *conf = read_in(dir_fake, "dnsmasq.conf");
        ck_assert_ptr_nonnull(conf);
        char line[256];
        const char *want[] = {
                "interface=" BRIDGE "\n",
                "bind-interfaces\n",
                "except-interface=lo\n",
                "listen-address=10.77.0.1\n",
                "dhcp-range=10.77.0.0,static,255.255.255.0,1h\n",
                "domain=" DOMAIN "\n",
                "local=/" DOMAIN "/\n",
                "no-hosts\n",
                "strict-order\n",
                "dhcp-authoritative\n",
                "dhcp-option=option:router,10.77.0.1\n",
                "dhcp-option=option:dns-server,10.77.0.1\n",
                "dhcp-option=option:mtu,1500\n",
                "user=root\n",
        };
        for (size_t i = 0; i < HD_ARRAY_SIZE(want); i++)
                ck_assert_msg(strstr(conf, want[i]), "`%s` missing:\n%s", want[i], conf);
        static const char *const files[][2] = { { "dhcp-hostsfile", "hosts.dhcp" },
                                                { "addn-hosts", "hosts.dns" },
                                                { "dhcp-leasefile", "leases" },
                                                { "pid-file", "dnsmasq.pid" },
                                                { "log-facility", "dnsmasq.log" } };
        for (size_t i = 0; i < HD_ARRAY_SIZE(files); i++) {
                snprintf(line, sizeof(line), "%s=%s/%s\n", files[i][0], dir_fake, files[i][1]);
                ck_assert_msg(strstr(conf, line), "`%s` missing:\n%s", line, conf);
        }

        _cleanup_free_ char *dhcp = read_in(dir_fake, "hosts.dhcp");
        ck_assert_ptr_nonnull(dhcp);
        ck_assert_str_eq(dhcp, "02:00:0a:4d:00:02,10.77.0.2,web\n"
                               "02:00:0a:4d:00:03,10.77.0.3,db\n");
        _cleanup_free_ char *dns = read_in(dir_fake, "hosts.dns");
        ck_assert_ptr_nonnull(dns);
        ck_assert_str_eq(dns, "10.77.0.2 web web." DOMAIN "\n"
                              "10.77.0.3 db db." DOMAIN "\n");

        /* A binary that is not there. */
        c.binary = "/nonexistent/dnsmasq";
        err = NULL;
        ck_assert_int_lt(hd_dnsmasq_ensure(&c, NULL, &err), 0);
        ck_assert_ptr_nonnull(err);
        hd_error_free(err);

        ck_assert_int_eq(hd_dnsmasq_stop(dir_fake, NULL), 0);
        ck_assert_int_ne(access(dir_fake, F_OK), 0);
}
END_TEST

/* ---- a real dnsmasq (root, private netns) ----------------------------------------- */

static void real_dnsmasq(void)
{
        CHECK(system("ip link set lo up && ip link add " BRIDGE " type bridge && "
                     "ip addr add 10.77.0.1/24 dev " BRIDGE " && ip link set " BRIDGE " up") == 0,
              "bridge setup");

        HdError *err = NULL;
        HdDnsmasqConfig c = config(dir_a, 1);
        pid_t pid = 0;
        CHECK(hd_dnsmasq_ensure(&c, &pid, &err) == 0, "ensure: %s", err ? err->message : "");
        CHECK(pid > 0, "no pid");
        CHECK(hd_dnsmasq_running(dir_a) == pid, "running() is not the started one");
        expect_addr("web", IP(10, 77, 0, 2));
        expect_addr("web." DOMAIN, IP(10, 77, 0, 2));
        uint32_t a;
        int r = query_a("10.77.0.1", "db." DOMAIN, &a);
        CHECK(r == -ENOENT, "db." DOMAIN " before it was added: %d", r);

        /* One more host: the same dnsmasq, told by SIGHUP. */
        c.n_hosts = 2;
        pid_t again = 0;
        CHECK(hd_dnsmasq_ensure(&c, &again, &err) == 0, "ensure: %s", err ? err->message : "");
        CHECK(again == pid, "restarted (%d, was %d) for a host file change", (int)again, (int)pid);
        expect_addr("db." DOMAIN, IP(10, 77, 0, 3));
        expect_addr("db", IP(10, 77, 0, 3));
        expect_addr("web." DOMAIN, IP(10, 77, 0, 2));

        /* A pid file naming someone else is not trusted: not dnsmasq at all (this
         * process), nor a dnsmasq of another directory. Stopping it signals nothing. */
        CHECK(mkdir(dir_b, 0700) == 0, "mkdir: %m");
        char pidfile[256], text[32];
        snprintf(pidfile, sizeof(pidfile), "%s/dnsmasq.pid", dir_b);
        snprintf(text, sizeof(text), "%d\n", (int)getpid());
        CHECK(hd_write_file_atomic(pidfile, text, strlen(text), 0600) == 0, "pid file");
        CHECK(hd_dnsmasq_running(dir_b) == 0, "trusted a pid file naming the test");
        snprintf(text, sizeof(text), "%d\n", (int)pid);
        CHECK(hd_write_file_atomic(pidfile, text, strlen(text), 0600) == 0, "pid file");
        CHECK(hd_dnsmasq_running(dir_b) == 0, "trusted another directory's dnsmasq");
        CHECK(hd_dnsmasq_stop(dir_b, &err) == 0, "stop: %s", err ? err->message : "");
        CHECK(access(dir_b, F_OK) != 0, "dir b still there");
        CHECK(hd_dnsmasq_running(dir_a) == pid, "stop of b hit a's dnsmasq");

        /* The config itself changes: a new dnsmasq takes over. */
        c.mtu = 1400;
        pid_t restarted = 0;
        CHECK(hd_dnsmasq_ensure(&c, &restarted, &err) == 0, "ensure: %s", err ? err->message : "");
        CHECK(restarted > 0 && restarted != pid, "not restarted for a config change");
        CHECK(wait_gone(pid, 2000), "the old dnsmasq %d still runs", (int)pid);
        _cleanup_free_ char *conf = read_in(dir_a, "dnsmasq.conf");
        CHECK(conf && strstr(conf, "option:mtu,1400\n"), "%s", conf ? conf : "(none)");
        expect_addr("db." DOMAIN, IP(10, 77, 0, 3));

        /* It died behind our back: the stale pid file is not trusted, a new one starts. */
        CHECK(kill(restarted, SIGKILL) == 0, "kill: %m");
        CHECK(wait_gone(restarted, 2000), "SIGKILL did not work");
        CHECK(hd_dnsmasq_running(dir_a) == 0, "a dead dnsmasq counts as running");
        c.n_hosts = 3;
        pid_t fresh = 0;
        CHECK(hd_dnsmasq_ensure(&c, &fresh, &err) == 0, "ensure: %s", err ? err->message : "");
        CHECK(fresh > 0 && fresh != restarted, "no new dnsmasq");
        expect_addr("cache." DOMAIN, IP(10, 77, 0, 4));

        /* A second one for the same bridge cannot start while this one runs: its
         * error comes from dnsmasq's own stderr. */
        HdDnsmasqConfig dup = config(dir_b, 1);
        r = hd_dnsmasq_ensure(&dup, NULL, &err);
        CHECK(r < 0, "a second dnsmasq on the same address started");
        CHECK(err && strstr(err->message, "dnsmasq exited with status") &&
                      strstr(err->message, "dnsmasq: "),
              "%s", err ? err->message : "(none)");
        hd_error_free(err);
        err = NULL;
        CHECK(hd_dnsmasq_stop(dir_b, &err) == 0, "stop b: %s", err ? err->message : "");

        CHECK(hd_dnsmasq_stop(dir_a, &err) == 0, "stop: %s", err ? err->message : "");
        CHECK(wait_gone(fresh, 100), "dnsmasq %d still runs after stop", (int)fresh);
        CHECK(hd_dnsmasq_running(dir_a) == 0, "running after stop");
        CHECK(access(dir_a, F_OK) != 0, "dir still there after stop");
        CHECK(query_a("10.77.0.1", "web", &a) < 0, "still answering");
        CHECK(hd_dnsmasq_stop(dir_a, &err) == 0, "second stop: %s", err ? err->message : "");
        hd_error_free(err);
}

START_TEST(real_dnsmasq_in_netns)
{
        in_netns(__func__, real_dnsmasq);
}
END_TEST

/* ---- suite ------------------------------------------------------------------------ */

static Suite *suite(void)
{
        Suite *s = suite_create("net-dnsmasq");
        TCase *t = tcase_create("dnsmasq");
        tcase_add_unchecked_fixture(t, runner_setup, runner_teardown);
        tcase_set_timeout(t, 60);
        tcase_add_test(t, rejects_bad_config);
        tcase_add_test(t, start_failure_and_files);
        tcase_add_test(t, real_dnsmasq_in_netns);
        suite_add_tcase(s, t);
        return s;
}

int main(void)
{
        SRunner *sr = srunner_create(suite());
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
