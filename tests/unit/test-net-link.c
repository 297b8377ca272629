/* Tests for net-link.c: bridges and veth pairs over rtnetlink. Needs root; the whole
 * run is in a network namespace of its own (unshared in main), so nothing touches the
 * host's links and everything made goes with the namespace. Each container is a forked
 * child that unshares its own network namespace and, when told to, describes what it
 * sees there (ioctl and /proc/self/net, nothing of net-link.c's but the link kind).
 * Exits 77 (skip) when not root or when namespaces cannot be made. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hd-util.h"
#include "net-link.h"

#define BRIDGE "hdtbr0"

static uint32_t ip(const char *s)
{
        uint32_t a = 0;
        ck_assert_int_eq(hd_ipv4_parse(s, &a), 0);
        return a;
}

/* ---- a container: a child in a network namespace of its own -------------------------- */

typedef struct Kid {
        pid_t pid;
        int go;     /* write end: one byte asks for the description, EOF ends it */
        int report; /* read end */
} Kid;

static void ifr_text(int s, unsigned long req, const char *name, struct ifreq *ifr, bool *ok)
{
        memset(ifr, 0, sizeof(*ifr));
        snprintf(ifr->ifr_name, sizeof(ifr->ifr_name), "%s", name);
        *ok = ioctl(s, req, ifr) == 0;
}

static const char *sin_text(const struct sockaddr *sa, char buf[static 16])
{
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        hd_ipv4_format(ntohl(in->sin_addr.s_addr), buf);
        return buf;
}

/* "lo=up eth0=up kind=veth mac=… mtu=… addr=…/… brd=… gw=…", or "eth0=absent". */
static void describe(const char *ifname, char *out, size_t size)
{
        int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        struct ifreq ifr;
        bool ok;
        char a[16], m[16], bb[16];
        size_t n = 0;
        ifr_text(s, SIOCGIFFLAGS, "lo", &ifr, &ok);
        n += (size_t)snprintf(out + n, size - n, "lo=%s",
                              ok && (ifr.ifr_flags & IFF_UP) ? "up" : "down");
        ifr_text(s, SIOCGIFFLAGS, ifname, &ifr, &ok);
        if (!ok) {
                snprintf(out + n, size - n, " %s=absent", ifname);
                close(s);
                return;
        }
        n += (size_t)snprintf(out + n, size - n, " %s=%s", ifname,
                              ifr.ifr_flags & IFF_UP ? "up" : "down");
        HdNlLink l;
        if (hd_nl_link_get(ifname, &l, NULL) == 0)
                n += (size_t)snprintf(out + n, size - n, " kind=%s", l.kind);
        ifr_text(s, SIOCGIFHWADDR, ifname, &ifr, &ok);
        const unsigned char *hw = (const unsigned char *)ifr.ifr_hwaddr.sa_data;
        n += (size_t)snprintf(out + n, size - n, " mac=%02x:%02x:%02x:%02x:%02x:%02x", hw[0], hw[1],
                              hw[2], hw[3], hw[4], hw[5]);
        ifr_text(s, SIOCGIFMTU, ifname, &ifr, &ok);
        n += (size_t)snprintf(out + n, size - n, " mtu=%d", ifr.ifr_mtu);
        ifr_text(s, SIOCGIFADDR, ifname, &ifr, &ok);
        sin_text(&ifr.ifr_addr, a);
        ifr_text(s, SIOCGIFNETMASK, ifname, &ifr, &ok);
        sin_text(&ifr.ifr_netmask, m);
        uint32_t mask = 0;
        hd_ipv4_parse(m, &mask);
        ifr_text(s, SIOCGIFBRDADDR, ifname, &ifr, &ok);
        sin_text(&ifr.ifr_broadaddr, bb);
        n += (size_t)snprintf(out + n, size - n, " addr=%s/%d brd=%s", a, __builtin_popcount(mask),
                              bb);
        close(s);

        /* The default route, from this process's own namespace's table. */
        FILE *f = fopen("/proc/self/net/route", "re");
        char line[256], iface[32] = "", gw[16] = "none";
        while (f && fgets(line, sizeof(line), f)) {
                unsigned dst, g;
                if (sscanf(line, "%31s %x %x", iface, &dst, &g) == 3 && dst == 0) {
                        struct in_addr in = { .s_addr = g };
                        inet_ntop(AF_INET, &in, gw, sizeof(gw));
                        break;
                }
        }
        if (f)
                fclose(f);
        snprintf(out + n, size - n, " gw=%s", gw);
}

static Kid kid_start(const char *ifname)
{
        int ready[2], go[2], rep[2];
        ck_assert(pipe2(ready, O_CLOEXEC) == 0 && pipe2(go, O_CLOEXEC) == 0 &&
                  pipe2(rep, O_CLOEXEC) == 0);
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                /* Only its own pipe ends stay open: another child's would keep that
                 * one's go pipe from ever reaching EOF. */
                int rfd = fcntl(ready[1], F_DUPFD_CLOEXEC, 1000);
                int gfd = fcntl(go[0], F_DUPFD_CLOEXEC, 1000);
                int pfd = fcntl(rep[1], F_DUPFD_CLOEXEC, 1000);
                if (rfd < 0 || gfd < 0 || pfd < 0 || close_range(3, 999, 0) < 0)
                        _exit(2);
                if (unshare(CLONE_NEWNET) < 0)
                        _exit(2);
                (void)!write(rfd, "r", 1);
                char c;
                while (read(gfd, &c, 1) == 1) {
                        char buf[512];
                        describe(ifname, buf, sizeof(buf));
                        (void)!write(pfd, buf, strlen(buf) + 1);
                }
                _exit(0);
        }
        close(ready[1]);
        close(go[0]);
        close(rep[1]);
        char c;
        ck_assert_int_eq(read(ready[0], &c, 1), 1);
        close(ready[0]);
        return (Kid){ .pid = pid, .go = go[1], .report = rep[0] };
}

/* What the child sees now. */
static char *kid_look(Kid *k)
{
        static char buf[512];
        ck_assert_int_eq(write(k->go, "g", 1), 1);
        ssize_t n = read(k->report, buf, sizeof(buf) - 1);
        ck_assert_int_gt(n, 0);
        buf[n] = '\0';
        return buf;
}

static void kid_stop(Kid *k)
{
        close(k->go);
        close(k->report);
        ck_assert_int_eq(waitpid(k->pid, NULL, 0), k->pid);
}

static HdNlVethConfig veth_config(const char *host, const char *ifname)
{
        return (HdNlVethConfig){ .host_ifname = host,
                                 .alias = "hostd:test",
                                 .bridge = BRIDGE,
                                 .ifname = ifname,
                                 .mac = { 0x02, 0x42, 0x0a, 0x4d, 0x00, 0x05 },
                                 .addr = ip("10.77.0.5"),
                                 .prefix = 24,
                                 .gateway = ip("10.77.0.1"),
                                 .mtu = 1400 };
}

static void ensure_bridge(void)
{
        _cleanup_error_ HdError *err = NULL;
        int r = hd_nl_bridge_ensure(BRIDGE, "hostd:net:test", ip("10.77.0.1"), 24, 1400, &err);
        ck_assert_msg(r == 0, "%s", err ? err->message : "?");
}

static int if_mtu(const char *name)
{
        int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        struct ifreq ifr;
        bool ok;
        ifr_text(s, SIOCGIFMTU, name, &ifr, &ok);
        close(s);
        return ok ? ifr.ifr_mtu : -1;
}

/* The IPv4 addresses of a link of this namespace, space-separated. */
static void if_addrs(const char *name, char *out, size_t size)
{
        /* SIOCGIFCONF: the primary address of each link (and label), enough here. */
        int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        struct ifreq reqs[32];
        struct ifconf ifc = { .ifc_len = sizeof(reqs), .ifc_req = reqs };
        ck_assert_int_eq(ioctl(s, SIOCGIFCONF, &ifc), 0);
        size_t n = 0;
        out[0] = '\0';
        for (size_t i = 0; i < ifc.ifc_len / sizeof(struct ifreq); i++) {
                if (strcmp(reqs[i].ifr_name, name) != 0)
                        continue;
                char a[16];
                n += (size_t)snprintf(out + n, size - n, "%s%s", n ? " " : "",
                                      sin_text(&reqs[i].ifr_addr, a));
        }
        close(s);
}

/* ---- tests -------------------------------------------------------------------------- */

START_TEST(test_bridge_ensure)
{
        _cleanup_error_ HdError *err = NULL;
        ensure_bridge();
        HdNlLink l;
        ck_assert_int_eq(hd_nl_link_get(BRIDGE, &l, &err), 0);
        ck_assert_str_eq(l.name, BRIDGE);
        ck_assert_str_eq(l.kind, "bridge");
        ck_assert_str_eq(l.alias, "hostd:net:test");
        ck_assert(l.up);
        ck_assert_int_eq(l.master, 0);
        ck_assert_int_gt(l.ifindex, 0);
        ck_assert_int_eq(if_mtu(BRIDGE), 1400);
        char addrs[256];
        if_addrs(BRIDGE, addrs, sizeof(addrs));
        ck_assert_str_eq(addrs, "10.77.0.1");

        /* Again: nothing changes, the same link. */
        ensure_bridge();
        HdNlLink again;
        ck_assert_int_eq(hd_nl_link_get(BRIDGE, &again, &err), 0);
        ck_assert_int_eq(again.ifindex, l.ifindex);
        if_addrs(BRIDGE, addrs, sizeof(addrs));
        ck_assert_str_eq(addrs, "10.77.0.1");

        /* Another address, MTU and alias: the old address goes. */
        ck_assert_int_eq(
                hd_nl_bridge_ensure(BRIDGE, "hostd:net:other", ip("10.78.1.1"), 16, 1300, &err), 0);
        ck_assert_int_eq(hd_nl_link_get(BRIDGE, &again, &err), 0);
        ck_assert_int_eq(again.ifindex, l.ifindex);
        ck_assert_str_eq(again.alias, "hostd:net:other");
        ck_assert_int_eq(if_mtu(BRIDGE), 1300);
        if_addrs(BRIDGE, addrs, sizeof(addrs));
        ck_assert_str_eq(addrs, "10.78.1.1");
        /* The same address with another prefix is another address too. */
        ck_assert_int_eq(
                hd_nl_bridge_ensure(BRIDGE, "hostd:net:other", ip("10.78.1.1"), 24, 1300, &err), 0);
        int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        struct ifreq ifr;
        bool ok;
        ifr_text(s, SIOCGIFNETMASK, BRIDGE, &ifr, &ok);
        close(s);
        char m[16];
        ck_assert(ok);
        ck_assert_str_eq(sin_text(&ifr.ifr_netmask, m), "255.255.255.0");
        if_addrs(BRIDGE, addrs, sizeof(addrs));
        ck_assert_str_eq(addrs, "10.78.1.1");

        /* A link of that name that is no bridge. */
        ck_assert_int_eq(hd_nl_bridge_ensure("lo", NULL, ip("10.79.0.1"), 24, 1500, &err), -EEXIST);
        ck_assert(strstr(err->message, "`lo`") && strstr(err->message, "not a bridge"));
        hd_error_free(err);
        err = NULL;
        ck_assert_int_eq(hd_nl_bridge_ensure("bad/name", NULL, ip("10.79.0.1"), 24, 1500, &err),
                         -EINVAL);

        ck_assert_int_eq(hd_nl_link_delete(BRIDGE, NULL), 0);
        ck_assert_int_eq(hd_nl_link_get(BRIDGE, &l, NULL), -ENODEV);
        ck_assert_int_eq(hd_nl_link_delete(BRIDGE, NULL), 0);
}
END_TEST

START_TEST(test_veth_setup)
{
        _cleanup_error_ HdError *err = NULL;
        ensure_bridge();
        HdNlLink br;
        ck_assert_int_eq(hd_nl_link_get(BRIDGE, &br, NULL), 0);

        Kid k = kid_start("eth0");
        ck_assert_str_eq(kid_look(&k), "lo=down eth0=absent");
        HdNlVethConfig c = veth_config("hdvtest0", "eth0");
        int r = hd_nl_veth_setup(&c, k.pid, &err);
        ck_assert_msg(r == 0, "%s", err ? err->message : "?");
        ck_assert_str_eq(kid_look(&k), "lo=up eth0=up kind=veth mac=02:42:0a:4d:00:05 mtu=1400 "
                                       "addr=10.77.0.5/24 brd=10.77.0.255 gw=10.77.0.1");

        /* The host end: on the bridge, up, with its alias and MTU. */
        HdNlLink h;
        ck_assert_int_eq(hd_nl_link_get("hdvtest0", &h, &err), 0);
        ck_assert_str_eq(h.kind, "veth");
        ck_assert_int_eq(h.master, br.ifindex);
        ck_assert_str_eq(h.alias, "hostd:test");
        ck_assert(h.up);
        ck_assert_int_eq(if_mtu("hdvtest0"), 1400);
        /* Its inside end is not here. */
        ck_assert_int_eq(hd_nl_link_get("eth0", &h, NULL), -ENODEV);

        /* In the list: lo, the bridge, the host end. */
        _cleanup_free_ HdNlLink *links = NULL;
        size_t n = 0;
        ck_assert_int_eq(hd_nl_link_list(&links, &n, &err), 0);
        int seen = 0;
        for (size_t i = 0; i < n; i++) {
                if (strcmp(links[i].name, "lo") == 0)
                        seen |= 1;
                if (strcmp(links[i].name, BRIDGE) == 0 && strcmp(links[i].kind, "bridge") == 0)
                        seen |= 2;
                if (strcmp(links[i].name, "hdvtest0") == 0 && links[i].master == br.ifindex &&
                    strcmp(links[i].alias, "hostd:test") == 0)
                        seen |= 4;
        }
        ck_assert_int_eq(seen, 7);

        /* Deleting the host end takes the inside end with it. */
        ck_assert_int_eq(hd_nl_link_delete("hdvtest0", &err), 0);
        ck_assert_int_eq(hd_nl_link_get("hdvtest0", &h, NULL), -ENODEV);
        ck_assert_str_eq(kid_look(&k), "lo=up eth0=absent");
        ck_assert_int_eq(hd_nl_link_delete("hdvtest0", &err), 0);
        kid_stop(&k);
}
END_TEST

START_TEST(test_veth_stale_host_end)
{
        _cleanup_error_ HdError *err = NULL;
        ensure_bridge();
        Kid a = kid_start("eth0"), b = kid_start("eth0");
        HdNlVethConfig c = veth_config("hdvstale", "eth0");
        ck_assert_int_eq(hd_nl_veth_setup(&c, a.pid, &err), 0);
        /* A second run under the same host name: the first pair is a crashed run's. */
        c.addr = ip("10.77.0.6");
        int r = hd_nl_veth_setup(&c, b.pid, &err);
        ck_assert_msg(r == 0, "%s", err ? err->message : "?");
        ck_assert_str_eq(kid_look(&a), "lo=up eth0=absent");
        ck_assert(strstr(kid_look(&b), "eth0=up kind=veth") &&
                  strstr(kid_look(&b), "addr=10.77.0.6/24"));
        ck_assert_int_eq(hd_nl_link_delete("hdvstale", &err), 0);
        kid_stop(&a);
        kid_stop(&b);
}
END_TEST

START_TEST(test_veth_failures)
{
        _cleanup_error_ HdError *err = NULL;
        HdNlLink h;
        ensure_bridge();
        Kid k = kid_start("eth0");

        /* No such bridge: nothing is made. */
        HdNlVethConfig c = veth_config("hdvfail", "eth0");
        c.bridge = "hdtnobr";
        ck_assert_int_eq(hd_nl_veth_setup(&c, k.pid, &err), -ENODEV);
        ck_assert_msg(strstr(err->message, "`hdtnobr`"), "%s", err->message);
        ck_assert_int_eq(hd_nl_link_get("hdvfail", &h, NULL), -ENODEV);
        hd_error_free(TAKE_PTR(err));

        /* The inside name is taken there: the pair cannot be made. */
        c = veth_config("hdvfail", "lo");
        ck_assert_int_eq(hd_nl_veth_setup(&c, k.pid, &err), -EEXIST);
        ck_assert_msg(strstr(err->message, "`hdvfail`") && strstr(err->message, "create"), "%s",
                      err->message);
        ck_assert_int_eq(hd_nl_link_get("hdvfail", &h, NULL), -ENODEV);
        hd_error_free(TAKE_PTR(err));

        /* A gateway off the subnet: the route fails inside, and the pair goes again. */
        c = veth_config("hdvfail", "eth0");
        c.gateway = ip("192.0.2.1");
        int r = hd_nl_veth_setup(&c, k.pid, &err);
        ck_assert_int_lt(r, 0);
        ck_assert_msg(strstr(err->message, "`eth0`") && strstr(err->message, "default route"), "%s",
                      err->message);
        ck_assert_int_eq(hd_nl_link_get("hdvfail", &h, NULL), -ENODEV);
        ck_assert(strstr(kid_look(&k), "eth0=absent"));
        hd_error_free(TAKE_PTR(err));

        /* A pid that is gone. */
        c = veth_config("hdvfail", "eth0");
        ck_assert_int_eq(hd_nl_veth_setup(&c, 0x3ffffff0, &err), -ENOENT);
        hd_error_free(TAKE_PTR(err));
        c.host_ifname = "much-too-long-name";
        ck_assert_int_eq(hd_nl_veth_setup(&c, k.pid, &err), -EINVAL);
        kid_stop(&k);
}
END_TEST

static int cmp_double(const void *a, const void *b)
{
        double x = *(const double *)a, y = *(const double *)b;
        return x < y ? -1 : x > y;
}

/* The time a container's start spends here (the goal is 3 ms at the median); printed,
 * and held to a bound loose enough for a loaded test machine. The namespaces are all
 * made first and go last: a namespace's teardown holds the kernel's rtnl lock for a
 * while, and what is timed here is the setup alone. */
START_TEST(test_veth_setup_time)
{
        ensure_bridge();
        enum { RUNS = 15 };
        double ms[RUNS];
        Kid k[RUNS];
        for (int i = 0; i < RUNS; i++)
                k[i] = kid_start("eth0");
        for (int i = 0; i < RUNS; i++) {
                _cleanup_error_ HdError *err = NULL;
                char name[IFNAMSIZ];
                snprintf(name, sizeof(name), "hdvtime%d", i);
                HdNlVethConfig c = veth_config(name, "eth0");
                c.addr += (uint32_t)i;
                struct timespec t0, t1;
                clock_gettime(CLOCK_MONOTONIC, &t0);
                int r = hd_nl_veth_setup(&c, k[i].pid, &err);
                clock_gettime(CLOCK_MONOTONIC, &t1);
                ck_assert_msg(r == 0, "%s", err ? err->message : "?");
                ms[i] = (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
                        (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
        }
        for (int i = 0; i < RUNS; i++)
                kid_stop(&k[i]); /* its namespace goes, and the pair with it */
        qsort(ms, RUNS, sizeof(double), cmp_double);
        printf("veth setup: p50 %.2f ms, min %.2f ms, max %.2f ms (%d runs)\n", ms[RUNS / 2], ms[0],
               ms[RUNS - 1], RUNS);
        ck_assert_msg(ms[RUNS / 2] < 50, "p50 %.2f ms", ms[RUNS / 2]);
}
END_TEST

static Suite *suite(void)
{
        Suite *s = suite_create("net-link");
        TCase *tc = tcase_create("net-link");
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_bridge_ensure);
        tcase_add_test(tc, test_veth_setup);
        tcase_add_test(tc, test_veth_stale_host_end);
        tcase_add_test(tc, test_veth_failures);
        tcase_add_test(tc, test_veth_setup_time);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        if (geteuid() != 0) {
                printf("SKIP: needs root\n");
                return 77;
        }
        /* Everything below happens in a network namespace of this test's own. */
        if (unshare(CLONE_NEWNET) < 0) {
                printf("SKIP: unshare(CLONE_NEWNET): %s\n", strerror(errno));
                return 77;
        }
        SRunner *sr = srunner_create(suite());
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
