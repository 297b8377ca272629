/* Tests for net-nft.c: the rendered script compared byte for byte with the golden
 * files in tests/data/nft/ (HD_UPDATE_GOLDEN=1 rewrites them; read the diff before
 * keeping it), and, as root, the script applied for real.
 *
 * Every case that touches nftables or interfaces runs in a forked child that first
 * moves into a network namespace of its own (unshare(CLONE_NEWNET)), so the host's
 * rules and links are never touched and everything made there goes away with the
 * child. Children report failures on stderr and through their exit status; Check's
 * assertions stay in the test process. Without root, or where unshare is refused,
 * those cases print SKIP and pass. */
#include <check.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <nftables/libnftables.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <arpa/inet.h>

#include "hd-util.h"
#include "net-nft.h"

#define GOLDEN_DIR HD_TEST_DATA_DIR "/nft"
#define TABLE      "hostd-test"
#define EXIT_SKIP  77

#define IP(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (d))

/* ---- helpers ---------------------------------------------------------------------- */

static void check_golden(const char *name, const char *text)
{
        _cleanup_free_ char *path = NULL;
        ck_assert_int_ge(asprintf(&path, "%s/%s", GOLDEN_DIR, name), 0);
        if (getenv("HD_UPDATE_GOLDEN")) {
                ck_assert_int_eq(hd_mkdir_p(GOLDEN_DIR, 0755), 0);
                ck_assert_int_eq(hd_write_file_atomic(path, text, strlen(text), 0644), 0);
                return;
        }
        _cleanup_free_ char *want = NULL;
        ck_assert_msg(hd_read_file(path, 1 << 20, &want, NULL) == 0, "cannot read %s", path);
        ck_assert_msg(strcmp(want, text) == 0, "%s differs; got:\n%s", name, text);
}

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

/* Runs fn in a forked child in a network namespace of its own, with lo up. */
static void in_netns(const char *name, void (*fn)(void))
{
        if (geteuid() != 0) {
                printf("SKIP %s: needs root\n", name);
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
                CHECK(system("ip link set lo up") == 0, "cannot bring lo up");
                fn();
                fflush(NULL);
                _exit(0);
        }
        int status;
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert_msg(WIFEXITED(status), "%s: child killed by signal %d", name,
                      WIFSIGNALED(status) ? WTERMSIG(status) : 0);
        ck_assert_msg(WEXITSTATUS(status) == 0 || WEXITSTATUS(status) == EXIT_SKIP,
                      "%s: child failed (status %d)", name, WEXITSTATUS(status));
}

static int sh(const char *fmt, ...) HD_PRINTF(1, 2);
static int sh(const char *fmt, ...)
{
        char cmd[512];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(cmd, sizeof(cmd), fmt, ap);
        va_end(ap);
        int status = system(cmd);
        if (status != 0)
                fprintf(stderr, "`%s` failed (status %d)\n", cmd, status);
        return status;
}

static void write_sysctl(const char *path, const char *value)
{
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        CHECK(fd >= 0, "cannot open %s: %m", path);
        CHECK(write(fd, value, strlen(value)) == (ssize_t)strlen(value), "cannot write %s: %m",
              path);
        close(fd);
}

/* `nft list table ip T` through libnftables; NULL when the table is not there. */
static char *list_table(const char *table)
{
        struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
        CHECK(ctx, "nft_ctx_new");
        nft_ctx_buffer_output(ctx);
        nft_ctx_buffer_error(ctx);
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "list table ip %s", table);
        char *out = NULL;
        if (nft_run_cmd_from_buffer(ctx, cmd) == 0)
                out = strdup(nft_ctx_get_output_buffer(ctx));
        nft_ctx_free(ctx);
        return out;
}

static void apply_ok(const char *script)
{
        HdError *err = NULL;
        int r = hd_nft_apply(script, &err);
        CHECK(r == 0, "apply: %d %s\n%s", r, err ? err->message : "", script);
        hd_error_free(err);
}

/* ---- the inventory used throughout ------------------------------------------------ */

static const HdNftNetwork two_nets[] = {
        { .bridge = "hd-web", .subnet = IP(10, 88, 0, 0), .prefix = 24, .nat = true },
        { .bridge = "hd-db", .subnet = IP(10, 89, 0, 0), .prefix = 16, .nat = false },
};

static const HdNftForward three_fw[] = {
        { HD_PROTO_TCP, 8080, IP(10, 88, 0, 2), 80, "hd-web" },
        { HD_PROTO_UDP, 5353, IP(10, 89, 0, 5), 53, "hd-db" },
        { HD_PROTO_TCP, 2222, IP(10, 88, 0, 3), 22, "hd-web" },
};

/* ---- rendering -------------------------------------------------------------------- */

START_TEST(render_empty)
{
        _cleanup_free_ char *s = hd_nft_render(TABLE, NULL, 0, NULL, 0);
        ck_assert_ptr_nonnull(s);
        check_golden("empty.nft", s);
}
END_TEST

START_TEST(render_two_networks)
{
        _cleanup_free_ char *s = hd_nft_render(TABLE, two_nets, 2, three_fw, 3);
        ck_assert_ptr_nonnull(s);
        check_golden("two-networks.nft", s);
}
END_TEST

/* The same inventory in another order renders the same text. */
START_TEST(render_order_independent)
{
        HdNftNetwork nets[] = { two_nets[1], two_nets[0] };
        HdNftForward fw[] = { three_fw[2], three_fw[1], three_fw[0] };
        _cleanup_free_ char *a = hd_nft_render(TABLE, two_nets, 2, three_fw, 3);
        _cleanup_free_ char *b = hd_nft_render(TABLE, nets, 2, fw, 3);
        ck_assert_ptr_nonnull(a);
        ck_assert_ptr_nonnull(b);
        ck_assert_str_eq(a, b);
}
END_TEST

/* Host bits in a subnet do not show; a network alone gets no isolation rule. */
START_TEST(render_one_network)
{
        HdNftNetwork net = { .bridge = "br0", .subnet = IP(10, 1, 2, 3), .prefix = 8, .nat = true };
        _cleanup_free_ char *s = hd_nft_render(TABLE, &net, 1, NULL, 0);
        ck_assert_ptr_nonnull(s);
        ck_assert_ptr_nonnull(strstr(s, "ip saddr 10.0.0.0/8 oifname != \"br0\" masquerade\n"));
        ck_assert_ptr_null(strstr(s, "drop"));
        ck_assert_ptr_null(strstr(s, "ct status dnat accept"));
}
END_TEST

START_TEST(render_rejects_bad_input)
{
        HdNftNetwork net = { .bridge = "br0", .subnet = IP(10, 1, 0, 0), .prefix = 16 };
        HdNftForward fw = { HD_PROTO_TCP, 80, IP(10, 1, 0, 2), 80, "br0" };
        static const char *const bad_tables[] = {
                "", "9abc", "a b", "t\"", "t;flush ruleset", "t\n"
        };
        for (size_t i = 0; i < HD_ARRAY_SIZE(bad_tables); i++) {
                errno = 0;
                ck_assert_ptr_null(hd_nft_render(bad_tables[i], &net, 1, &fw, 1));
                ck_assert_int_eq(errno, EINVAL);
        }
        ck_assert_ptr_null(hd_nft_render(NULL, NULL, 0, NULL, 0));

        HdNftNetwork n2 = net;
        n2.bridge = "br\"0";
        ck_assert_ptr_null(hd_nft_render(TABLE, &n2, 1, NULL, 0));
        n2.bridge = "a-bridge-name-too-long";
        ck_assert_ptr_null(hd_nft_render(TABLE, &n2, 1, NULL, 0));
        n2 = net;
        n2.prefix = 33;
        ck_assert_ptr_null(hd_nft_render(TABLE, &n2, 1, NULL, 0));

        HdNftForward f2 = fw;
        f2.host_port = 0;
        ck_assert_ptr_null(hd_nft_render(TABLE, &net, 1, &f2, 1));
        f2 = fw;
        f2.port = 65536;
        ck_assert_ptr_null(hd_nft_render(TABLE, &net, 1, &f2, 1));
        f2 = fw;
        f2.protocol = HD_PROTO_INVALID;
        ck_assert_ptr_null(hd_nft_render(TABLE, &net, 1, &f2, 1));
        f2 = fw;
        f2.bridge = NULL;
        ck_assert_ptr_null(hd_nft_render(TABLE, &net, 1, &f2, 1));
}
END_TEST

START_TEST(delete_rejects_bad_name)
{
        HdError *err = NULL;
        ck_assert_int_eq(hd_nft_delete_table("x\"; flush ruleset", &err), -EINVAL);
        ck_assert_ptr_nonnull(err);
        hd_error_free(err);
}
END_TEST

/* ---- applying (root, private netns) ----------------------------------------------- */

static void apply_list_replace_delete(void)
{
        /* A table of someone else's, which nothing of ours may touch. */
        apply_ok("table ip other {\n\tchain c {\n\t\ttype filter hook input priority 0;\n\t}\n}\n");

        _cleanup_free_ char *script = hd_nft_render(TABLE, two_nets, 2, three_fw, 3);
        CHECK(script, "render");
        apply_ok(script);
        _cleanup_free_ char *list = list_table(TABLE);
        CHECK(list, "no table after apply");
        static const char *const want[] = {
                "fib daddr type local tcp dport 8080 dnat to 10.88.0.2:80",
                "fib daddr type local udp dport 5353 dnat to 10.89.0.5:53",
                "fib daddr type local tcp dport 2222 dnat to 10.88.0.3:22",
                "ip saddr 10.88.0.0/24 oifname != \"hd-web\" masquerade",
                "ip saddr 127.0.0.0/8 oifname \"hd-db\" masquerade",
                "ip saddr 127.0.0.0/8 oifname \"hd-web\" masquerade",
                "ip saddr 10.89.0.0/16 oifname \"hd-db\" ct status dnat masquerade",
                "iifname \"hd-web\" oifname \"hd-db\" drop",
                "iifname \"hd-db\" oifname \"hd-web\" drop",
                "ct status dnat accept",
                "type nat hook output priority -100; policy accept;",
        };
        for (size_t i = 0; i < HD_ARRAY_SIZE(want); i++)
                CHECK(strstr(list, want[i]), "`%s` missing from:\n%s", want[i], list);
        /* the network without NAT is not masqueraded on its way out */
        CHECK(!strstr(list, "ip saddr 10.89.0.0/16 oifname != \"hd-db\" masquerade"), "%s", list);

        /* Again, with the same script: the table is replaced, not added to. */
        apply_ok(script);
        _cleanup_free_ char *again = list_table(TABLE);
        CHECK(again && strcmp(again, list) == 0, "second apply changed the table:\n%s",
              again ? again : "(none)");

        /* A smaller inventory replaces the bigger one entirely. */
        _cleanup_free_ char *small = hd_nft_render(TABLE, two_nets, 1, three_fw, 1);
        CHECK(small, "render");
        apply_ok(small);
        _cleanup_free_ char *after = list_table(TABLE);
        CHECK(after && strstr(after, "tcp dport 8080") && !strstr(after, "dport 5353") &&
                      !strstr(after, "hd-db"),
              "not replaced:\n%s", after ? after : "(none)");

        HdError *err = NULL;
        CHECK(hd_nft_delete_table(TABLE, &err) == 0, "delete: %s", err ? err->message : "");
        _cleanup_free_ char *gone = list_table(TABLE);
        CHECK(!gone, "table still there:\n%s", gone);
        CHECK(hd_nft_delete_table(TABLE, &err) == 0, "delete of a missing table: %s",
              err ? err->message : "");
        hd_error_free(err);

        _cleanup_free_ char *other = list_table("other");
        CHECK(other, "someone else's table went away");
}

START_TEST(apply_in_netns)
{
        in_netns(__func__, apply_list_replace_delete);
}
END_TEST

static void bad_script(void)
{
        HdError *err = NULL;
        int r = hd_nft_apply("table ip " TABLE " {\n\tchain c {\n\t\tip saddr {\n\t}\n}\n", &err);
        CHECK(r < 0, "bad script applied");
        CHECK(err && err->message, "no error");
        CHECK(strstr(err->message, "nft: ") == err->message, "%s", err->message);
        CHECK(strstr(err->message, "Error: syntax error"), "not nft's message: %s", err->message);
        CHECK(!strchr(err->message, '\n'), "multi-line message: %s", err->message);
        hd_error_free(err);
        err = NULL;

        /* A failing part leaves the table as it was: one transaction. */
        apply_ok("table ip " TABLE
                 " {\n\tchain c {\n\t\ttype filter hook input priority 0;\n\t}\n}\n");
        _cleanup_free_ char *before = list_table(TABLE);
        CHECK(before, "no table");
        r = hd_nft_apply("table ip " TABLE " {}\ndelete table ip " TABLE "\n"
                         "table ip " TABLE
                         " {\n\tchain d {\n\t\ttype nat hook nowhere priority 0;\n\t}\n}\n",
                         &err);
        CHECK(r < 0, "bad hook applied");
        CHECK(err && strstr(err->message, "Error"), "%s", err ? err->message : "(none)");
        hd_error_free(err);
        _cleanup_free_ char *after = list_table(TABLE);
        CHECK(after && strcmp(before, after) == 0, "half-applied:\n%s", after ? after : "(none)");
}

START_TEST(apply_bad_script)
{
        in_netns(__func__, bad_script);
}
END_TEST

/* ---- traffic (root, private netns) ------------------------------------------------ */

#define HOST_PORT 18080
#define INST_PORT 8080

static int pipe_read(int fd)
{
        char c;
        return read(fd, &c, 1) == 1 ? c : -1;
}

static void pipe_write(int fd, char c)
{
        CHECK(write(fd, &c, 1) == 1, "pipe write: %m");
}

/* An "instance": a process in a network namespace of its own whose end of a veth
 * pair (moved in by the caller) gets addr/24 and a default route through gw; with
 * serve, it answers "hello" to every TCP connection on INST_PORT. Returns its pid
 * once it is ready. It dies with the caller. */
static pid_t spawn_instance(const char *veth, const char *addr, const char *gw, bool serve)
{
        int up[2], down[2];
        CHECK(pipe2(up, O_CLOEXEC) == 0 && pipe2(down, O_CLOEXEC) == 0, "pipe: %m");
        pid_t parent = getpid();
        pid_t pid = fork();
        CHECK(pid >= 0, "fork: %m");
        if (pid == 0) {
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                if (getppid() != parent)
                        _exit(1);
                CHECK(unshare(CLONE_NEWNET) == 0, "unshare: %m");
                pipe_write(up[1], 'u');
                CHECK(pipe_read(down[0]) == 'c', "no veth");
                CHECK(sh("ip link set lo up && ip addr add %s/24 dev %s && ip link set %s up && "
                         "ip route add default via %s",
                         addr, veth, veth, gw) == 0,
                      "instance setup");
                int s = -1;
                if (serve) {
                        s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
                        int one = 1;
                        setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
                        struct sockaddr_in sa = { .sin_family = AF_INET,
                                                  .sin_port = htons(INST_PORT) };
                        CHECK(bind(s, (struct sockaddr *)&sa, sizeof(sa)) == 0, "bind: %m");
                        CHECK(listen(s, 16) == 0, "listen: %m");
                }
                pipe_write(up[1], 'l');
                for (;;) {
                        if (s < 0) {
                                pause();
                                continue;
                        }
                        int c = accept4(s, NULL, NULL, SOCK_CLOEXEC);
                        if (c < 0)
                                continue;
                        (void)!write(c, "hello\n", 6);
                        close(c);
                }
        }
        close(up[1]);
        close(down[0]);
        CHECK(pipe_read(up[0]) == 'u', "instance did not start");
        CHECK(sh("ip link set %s netns %d", veth, (int)pid) == 0, "move veth");
        pipe_write(down[1], 'c');
        CHECK(pipe_read(up[0]) == 'l', "instance not ready");
        close(up[0]);
        close(down[1]);
        return pid;
}

/* Connects to addr:port and reads the greeting: 0 when "hello" came back, else -errno
 * (-ETIMEDOUT when nothing answered within timeout_ms). */
static int try_hello(const char *addr, int port, int timeout_ms)
{
        int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (s < 0)
                return -errno;
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
        inet_pton(AF_INET, addr, &sa.sin_addr);
        int r = 0;
        if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS) {
                r = -errno;
                goto out;
        }
        struct pollfd p = { .fd = s, .events = POLLIN };
        int n = poll(&p, 1, timeout_ms);
        if (n <= 0) {
                r = n == 0 ? -ETIMEDOUT : -errno;
                goto out;
        }
        char buf[16] = "";
        ssize_t got = read(s, buf, sizeof(buf) - 1);
        if (got < 0) {
                r = -errno;
                goto out;
        }
        r = strncmp(buf, "hello", 5) == 0 ? 0 : -EPROTO;
out:
        close(s);
        return r;
}

/* try_hello from inside the network namespace of pid. */
static int try_hello_from(pid_t pid, const char *addr, int port, int timeout_ms)
{
        pid_t c = fork();
        CHECK(c >= 0, "fork: %m");
        if (c == 0) {
                char ns[64];
                snprintf(ns, sizeof(ns), "/proc/%d/ns/net", (int)pid);
                int fd = open(ns, O_RDONLY | O_CLOEXEC);
                CHECK(fd >= 0 && setns(fd, CLONE_NEWNET) == 0, "setns: %m");
                int r = try_hello(addr, port, timeout_ms);
                _exit(r == 0 ? 0 : r == -ETIMEDOUT ? 2 : 3);
        }
        int status;
        CHECK(waitpid(c, &status, 0) == c && WIFEXITED(status), "client died");
        return WEXITSTATUS(status) == 0 ? 0 : WEXITSTATUS(status) == 2 ? -ETIMEDOUT : -EIO;
}

static void forward_traffic(void)
{
        /* Two networks: hdt-a (10.99.0.0/24) with a listening instance, hdt-b
         * (10.98.0.0/24) with a client instance. */
        CHECK(sh("ip link add hdt-a type bridge && ip addr add 10.99.0.1/24 dev hdt-a && "
                 "ip link set hdt-a up && ip link add hdt-a0 type veth peer name hdt-a1 && "
                 "ip link set hdt-a0 master hdt-a up && "
                 "ip link set hdt-a0 type bridge_slave hairpin on") == 0,
              "bridge a");
        CHECK(sh("ip link add hdt-b type bridge && ip addr add 10.98.0.1/24 dev hdt-b && "
                 "ip link set hdt-b up && ip link add hdt-b0 type veth peer name hdt-b1 && "
                 "ip link set hdt-b0 master hdt-b up") == 0,
              "bridge b");
        /* What the manager does: loopback sources may leave through the bridge (and
         * are masqueraded there), the host routes between its interfaces, and the
         * instance's port is in hairpin mode: with br_netfilter loaded (Docker hosts,
         * and this one), a DNATed frame back to its own sender is bridged, not routed,
         * and goes out the port it came in on. */
        write_sysctl("/proc/sys/net/ipv4/conf/hdt-a/route_localnet", "1");
        write_sysctl("/proc/sys/net/ipv4/ip_forward", "1");
        pid_t server = spawn_instance("hdt-a1", "10.99.0.2", "10.99.0.1", true);
        pid_t client = spawn_instance("hdt-b1", "10.98.0.2", "10.98.0.1", false);

        /* The instance is reachable, but nothing is forwarded yet. */
        CHECK(try_hello("10.99.0.2", INST_PORT, 3000) == 0, "instance not reachable");
        CHECK(try_hello("127.0.0.1", HOST_PORT, 3000) == -ECONNREFUSED, "forwarded already");
        CHECK(try_hello_from(client, "10.99.0.2", INST_PORT, 3000) == 0,
              "no routing between the networks to begin with");

        HdNftNetwork nets[] = {
                { .bridge = "hdt-a", .subnet = IP(10, 99, 0, 0), .prefix = 24, .nat = true },
                { .bridge = "hdt-b", .subnet = IP(10, 98, 0, 0), .prefix = 24, .nat = true },
        };
        HdNftForward fw = { HD_PROTO_TCP, HOST_PORT, IP(10, 99, 0, 2), INST_PORT, "hdt-a" };
        _cleanup_free_ char *script = hd_nft_render(TABLE, nets, 2, &fw, 1);
        CHECK(script, "render");
        apply_ok(script);

        int r = try_hello("127.0.0.1", HOST_PORT, 3000);
        CHECK(r == 0, "127.0.0.1:%d not forwarded: %s", HOST_PORT, strerror(-r));
        r = try_hello("10.99.0.1", HOST_PORT, 3000);
        CHECK(r == 0, "10.99.0.1:%d not forwarded: %s", HOST_PORT, strerror(-r));
        /* hairpin: the instance reaches its own forward through the host */
        r = try_hello_from(server, "10.99.0.1", HOST_PORT, 3000);
        CHECK(r == 0, "hairpin: %s", strerror(-r));
        /* isolation: the other network reaches the instance only through the forward */
        r = try_hello_from(client, "10.99.0.2", INST_PORT, 1000);
        CHECK(r == -ETIMEDOUT, "not isolated: %s", r ? strerror(-r) : "connected");
        r = try_hello_from(client, "10.98.0.1", HOST_PORT, 3000);
        CHECK(r == 0, "forward from another network: %s", strerror(-r));

        HdError *err = NULL;
        CHECK(hd_nft_delete_table(TABLE, &err) == 0, "delete: %s", err ? err->message : "");
        CHECK(try_hello("127.0.0.1", HOST_PORT, 3000) == -ECONNREFUSED, "still forwarded");

        kill(server, SIGKILL);
        kill(client, SIGKILL);
        waitpid(server, NULL, 0);
        waitpid(client, NULL, 0);
}

START_TEST(forward_carries_traffic)
{
        if (access("/usr/sbin/ip", X_OK) != 0 && access("/sbin/ip", X_OK) != 0 &&
            access("/usr/bin/ip", X_OK) != 0) {
                printf("SKIP %s: needs ip (iproute2)\n", __func__);
                return;
        }
        in_netns(__func__, forward_traffic);
}
END_TEST

/* ---- suite ------------------------------------------------------------------------ */

static Suite *suite(void)
{
        Suite *s = suite_create("net-nft");
        TCase *t = tcase_create("render");
        tcase_add_test(t, render_empty);
        tcase_add_test(t, render_two_networks);
        tcase_add_test(t, render_order_independent);
        tcase_add_test(t, render_one_network);
        tcase_add_test(t, render_rejects_bad_input);
        tcase_add_test(t, delete_rejects_bad_name);
        suite_add_tcase(s, t);

        t = tcase_create("netns");
        tcase_set_timeout(t, 60);
        tcase_add_test(t, apply_in_netns);
        tcase_add_test(t, apply_bad_script);
        tcase_add_test(t, forward_carries_traffic);
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
