/* Networks through the API, as root, with real bridges, veths, dnsmasq and nftables:
 * containers (and a VM under TCG) on one network reach each other, two networks do
 * not, port forwards answer on the host's loopback, a hostd restart keeps every
 * address and forward, and deleting everything leaves nothing of ours on the host.
 *
 * Every address used is in a network this test creates; the daemon's default network
 * is the test's own (a name and subnet of its choosing), and its own nftables table. */
#include <arpa/inet.h>
#include <check.h>
#include <dirent.h>
#include <libgen.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"
#include "hd-macro.h"
#include "itest-calls.h"

static HdTestDaemon d;
static char image[512];
static char vm_bundle[512];
static char net0[16], net1[16], table[32];
static const char *subnet0 = "10.213.71.0/24", *subnet1 = "10.213.72.0/24";

static json_t *call(const char *method, const char *path, const char *body, int want)
{
        return itest_call(&d, method, path, body, want);
}

static const char *str(const json_t *j, const char *key)
{
        return itest_str(j, key);
}

static void import(const char *query, const char *file)
{
        char cmd[2048];
        snprintf(cmd, sizeof(cmd),
                 "curl -sf -o /dev/null --unix-socket '%s' -X POST -H 'Content-Type: "
                 "application/x-tar' -T '%s' 'http://localhost/v1/images?%s'",
                 d.socket_path, file, query);
        ck_assert_msg(system(cmd) == 0, "importing %s failed", file);
}

static void start_daemon(bool with_default)
{
        const char *args[] = { "--default-network",
                               with_default ? net0 : "none",
                               "--default-network-subnet",
                               subnet0,
                               "--nft-table",
                               table,
                               NULL };
        ck_assert_int_eq(hd_test_daemon_start(&d, args), 0);
        import("name=busybox&kind=container&format=oci-archive", image);
        if (vm_bundle[0])
                import("name=tiny&kind=vm&format=kernel", vm_bundle);
}

static void setup(void)
{
        start_daemon(true);
}

static bool link_exists(const char *name)
{
        char path[128];
        snprintf(path, sizeof(path), "/sys/class/net/%s", name);
        return access(path, F_OK) == 0;
}

/* Alive and not a zombie: the harness adopts orphans (a subreaper), so a dnsmasq that
 * exited stays a zombie of the test until reaped. */
static bool pid_running(long pid)
{
        char path[64], *stat = NULL;
        snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
        if (hd_test_read_file(path, &stat, NULL) < 0)
                return false;
        const char *p = strrchr(stat, ')');
        bool running = p && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
        free(stat);
        return running;
}

static long dnsmasq_pid(const char *network)
{
        char path[1024];
        snprintf(path, sizeof(path), "%s/networks/%s/dnsmasq.pid", d.dir, network);
        char *text = NULL;
        if (hd_test_read_file(path, &text, NULL) < 0)
                return 0;
        long pid = atol(text);
        free(text);
        return pid > 0 && pid_running(pid) ? pid : 0;
}

static bool table_exists(void)
{
        char cmd[256];
        snprintf(cmd, sizeof(cmd), "nft list table ip %s >/dev/null 2>&1", table);
        return system(cmd) == 0;
}

/* Removes what a test's hostd leaves by design (the default network outlives hostd, as
 * networks do): its bridges, dnsmasqs and table. */
static void remove_host_leftovers(void)
{
        const char *names[] = { net0, net1 };
        for (size_t i = 0; i < HD_ARRAY_SIZE(names); i++) {
                long pid = d.dir ? dnsmasq_pid(names[i]) : 0;
                if (pid > 0)
                        kill((pid_t)pid, SIGKILL);
                if (link_exists(names[i])) {
                        char cmd[128];
                        snprintf(cmd, sizeof(cmd), "ip link del '%s' 2>/dev/null", names[i]);
                        (void)!system(cmd);
                }
        }
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "nft delete table ip %s 2>/dev/null", table);
        (void)!system(cmd);
        snprintf(cmd, sizeof(cmd),
                 "ip link del hdvstray0 2>/dev/null; ip link del tq%s 2>/dev/null", net0 + 2);
        (void)!system(cmd);
}

/* Kills every dnsmasq and qemu whose command line names root (this run's daemons'): a
 * test that fails skips its teardown, and both outlive hostd by design. */
static int reap_strays(const char *root)
{
        int found = 0;
        DIR *proc = opendir("/proc");
        struct dirent *de;
        while (proc && (de = readdir(proc))) {
                long pid = atol(de->d_name);
                if (pid <= 0)
                        continue;
                char path[64], *cmd = NULL;
                size_t len = 0;
                snprintf(path, sizeof(path), "/proc/%ld/cmdline", pid);
                if (hd_test_read_file(path, &cmd, &len) < 0)
                        continue;
                const char *base = strrchr(cmd, '/');
                bool ours = strcmp(base ? base + 1 : cmd, "dnsmasq") == 0 ||
                            strncmp(base ? base + 1 : cmd, "qemu-system", 11) == 0;
                bool named = false;
                for (size_t at = strlen(cmd) + 1; ours && at < len; at += strlen(cmd + at) + 1)
                        named = named || strstr(cmd + at, root) != NULL;
                ours = ours && named;
                free(cmd);
                if (ours) {
                        kill((pid_t)pid, SIGKILL);
                        found++;
                }
        }
        if (proc)
                closedir(proc);
        return found;
}

static void teardown(void)
{
        if (d.pid > 0) {
                itest_delete_all(&d);
        }
        if (d.dir)
                hd_test_reap_containers(d.dir);
        remove_host_leftovers();
        hd_test_daemon_cleanup(&d);
}

/* ---- helpers -------------------------------------------------------------------------- */

/* Creates a running busybox container running script; extra: more JSON members. */
static json_t *run_ct(const char *name, const char *script, const char *extra)
{
        json_t *cmd = json_pack("[s, s, s]", "sh", "-c", script);
        char *cmd_s = json_dumps(cmd, JSON_COMPACT);
        char body[4096], path[256];
        snprintf(body, sizeof(body),
                 "{\"name\": \"%s\", \"kind\": \"container\", \"image\": \"busybox\", "
                 "\"command\": %s%s%s}",
                 name, cmd_s, *extra ? ", " : "", extra);
        json_decref(call("POST", "/v1/instances", body, 201));
        free(cmd_s);
        json_decref(cmd);
        json_decref(itest_action(&d, name, "start", NULL, 60));
        snprintf(path, sizeof(path), "/v1/instances/%s", name);
        return call("GET", path, NULL, 200);
}

static const char *address_of(const json_t *inst)
{
        json_t *a = json_array_get(json_object_get(inst, "addresses"), 0);
        return a ? str(a, "address") : "";
}

/* Runs script in NAME; returns the result (stdout, exit_code). */
static json_t *exec_in(const char *name, const char *script)
{
        json_t *cmd = json_pack("{s:[s, s, s], s:i}", "command", "sh", "-c", script, "timeout", 30);
        char *body = json_dumps(cmd, JSON_COMPACT);
        char path[256];
        snprintf(path, sizeof(path), "/v1/instances/%s/exec", name);
        json_t *res = call("POST", path, body, 200);
        free(body);
        json_decref(cmd);
        return res;
}

static int exec_code(const char *name, const char *script, char *out, size_t out_size)
{
        json_t *res = exec_in(name, script);
        if (out)
                snprintf(out, out_size, "%s", str(res, "stdout"));
        int code = (int)json_integer_value(json_object_get(res, "exit_code"));
        json_decref(res);
        return code;
}

/* Connects to 127.0.0.1:port and reads what the other side sends within timeout_ms. */
static int read_from_port(int port, char *buf, size_t size, int timeout_ms)
{
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        buf[0] = '\0';
        if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                int e = errno;
                if (fd >= 0)
                        close(fd);
                return -e;
        }
        size_t len = 0;
        struct pollfd p = { .fd = fd, .events = POLLIN };
        while (len + 1 < size && poll(&p, 1, timeout_ms) > 0) {
                ssize_t n = read(fd, buf + len, size - 1 - len);
                if (n <= 0)
                        break;
                len += (size_t)n;
        }
        buf[len] = '\0';
        close(fd);
        return (int)len;
}

/* Retries read_from_port until it gets want or timeout_ms passes (a listener inside an
 * instance takes a moment to come up, and busybox nc serves one client at a time). */
static bool port_says(int port, const char *want, int timeout_ms)
{
        char buf[256];
        for (int waited = 0; waited < timeout_ms; waited += 200) {
                if (read_from_port(port, buf, sizeof(buf), 2000) > 0 && strstr(buf, want))
                        return true;
                usleep(200000);
        }
        return false;
}

/* A server in a container: answers every TCP connection on port with word. */
static const char *serve(int port, const char *word)
{
        static char script[256];
        snprintf(script, sizeof(script), "while true; do echo %s | nc -l -p %d; done", word, port);
        return script;
}

/* ---- tests ---------------------------------------------------------------------------- */

START_TEST(test_networks_api)
{
        json_t *list = call("GET", "/v1/networks", NULL, 200);
        json_t *nets = json_object_get(list, "networks");
        ck_assert_int_eq(json_array_size(nets), 1);
        json_t *def = json_array_get(nets, 0);
        ck_assert_str_eq(str(def, "name"), net0);
        ck_assert_str_eq(str(def, "subnet"), subnet0);
        ck_assert(json_is_true(json_object_get(def, "default")));
        json_decref(list);
        ck_assert(link_exists(net0));
        ck_assert_int_gt(dnsmasq_pid(net0), 0);
        /* NAT to the uplink: the network's traffic leaving the host is masqueraded. */
        char cmd[256];
        snprintf(cmd, sizeof(cmd),
                 "nft list table ip %s | grep -q 'ip saddr 10.213.71.0/24 oifname != \"%s\" "
                 "masquerade'",
                 table, net0);
        ck_assert_msg(system(cmd) == 0, "no masquerade rule: %s", cmd);

        char body[512];
        snprintf(body, sizeof(body), "{\"name\": \"%s\", \"subnet\": \"%s\"}", net1, subnet1);
        json_t *n = call("POST", "/v1/networks", body, 201);
        ck_assert_str_eq(str(n, "gateway"), "10.213.72.1");
        json_decref(n);
        ck_assert(link_exists(net1));
        ck_assert_int_gt(dnsmasq_pid(net1), 0);

        /* Conflicts and bad input: each names its field. */
        json_t *e = call("POST", "/v1/networks", body, 409);
        ck_assert_str_eq(str(json_object_get(e, "error"), "field"), "name");
        json_decref(e);
        e = call("POST", "/v1/networks", "{\"name\": \"tnx\", \"subnet\": \"10.213.72.128/25\"}",
                 409);
        ck_assert_str_eq(str(json_object_get(e, "error"), "field"), "subnet");
        json_decref(e);
        e = call("POST", "/v1/networks", "{\"name\": \"lo\", \"subnet\": \"10.213.99.0/24\"}", 409);
        ck_assert_str_eq(str(json_object_get(e, "error"), "field"), "name");
        json_decref(e);
        e = call("POST", "/v1/networks", "{\"name\": \"tny\", \"subnet\": \"10.213.99.1/24\"}",
                 400);
        ck_assert_str_eq(str(json_object_get(e, "error"), "field"), "subnet");
        json_decref(e);
        char path[128];
        snprintf(path, sizeof(path), "/v1/networks/%s", net0);
        e = call("DELETE", path, NULL, 403);
        json_decref(e);
        json_decref(call("GET", "/v1/networks/nope", NULL, 404));

        /* In use: 409 until its instance goes. */
        char extra[256];
        snprintf(extra, sizeof(extra), "\"network\": \"%s\"", net1);
        json_decref(run_ct("user", "exec sleep 1000", extra));
        snprintf(path, sizeof(path), "/v1/networks/%s", net1);
        json_decref(call("DELETE", path, NULL, 409));
        json_decref(call("DELETE", "/v1/instances/user?force=true&wait=60", NULL, 200));
        json_decref(call("DELETE", path, NULL, 200));
        ck_assert(!link_exists(net1));
        ck_assert_int_eq(dnsmasq_pid(net1), 0);
}
END_TEST

START_TEST(test_containers_reach_each_other_not_across)
{
        json_t *a = run_ct("a", serve(7000, "from-a"), "");
        const char *ip_a = address_of(a);
        ck_assert_msg(strncmp(ip_a, "10.213.71.", 10) == 0, "a's address: %s", ip_a);
        char extra[256];
        snprintf(extra, sizeof(extra), "\"ip\": \"10.213.71.50\"");
        json_t *b = run_ct("b", "exec sleep 1000", extra);
        ck_assert_str_eq(address_of(b), "10.213.71.50");
        /* A taken address is the user's conflict. */
        json_t *e = call("POST", "/v1/instances",
                         "{\"name\": \"c\", \"kind\": \"container\", \"image\": \"busybox\", "
                         "\"ip\": \"10.213.71.50\"}",
                         409);
        ck_assert_str_eq(str(json_object_get(e, "error"), "field"), "ip");
        json_decref(e);

        char out[512], script[512];
        /* TCP from b to a, by address and by name (the network's dnsmasq). */
        snprintf(script, sizeof(script), "nc -w 5 %s 7000 </dev/null", ip_a);
        int code = 1;
        for (int i = 0; i < 25 && code != 0; i++) {
                code = exec_code("b", script, out, sizeof(out));
                if (code != 0 || !strstr(out, "from-a"))
                        usleep(200000);
        }
        ck_assert_msg(strstr(out, "from-a"), "b -> a: %d `%s`", code, out);
        ck_assert_int_eq(exec_code("b", "ping -c 1 -W 3 a", out, sizeof(out)), 0);
        ck_assert_int_eq(exec_code("b", "cat /etc/resolv.conf; ip -4 -o addr show eth0; ip route",
                                   out, sizeof(out)),
                         0);
        ck_assert_msg(strstr(out, "nameserver 10.213.71.1") && strstr(out, "10.213.71.50/24") &&
                              strstr(out, "default via 10.213.71.1"),
                      "b's network: %s", out);
        ck_assert_int_eq(exec_code("b", "cat /etc/hosts", out, sizeof(out)), 0);
        ck_assert_msg(strstr(out, "10.213.71.50"), "b's hosts: %s", out);

        /* A container on another network reaches neither. */
        char body[512];
        snprintf(body, sizeof(body), "{\"name\": \"%s\", \"subnet\": \"%s\"}", net1, subnet1);
        json_decref(call("POST", "/v1/networks", body, 201));
        snprintf(extra, sizeof(extra), "\"network\": \"%s\"", net1);
        json_t *x = run_ct("x", "exec sleep 1000", extra);
        ck_assert_msg(strncmp(address_of(x), "10.213.72.", 10) == 0, "x: %s", address_of(x));
        snprintf(script, sizeof(script), "nc -w 2 %s 7000 </dev/null", ip_a);
        exec_code("x", script, out, sizeof(out));
        ck_assert_msg(!strstr(out, "from-a"), "x reached a across networks: %s", out);
        snprintf(script, sizeof(script), "ping -c 1 -W 2 %s", ip_a);
        ck_assert_int_ne(exec_code("x", script, NULL, 0), 0);
        /* …but its own gateway, yes. */
        ck_assert_int_eq(exec_code("x", "ping -c 1 -W 3 10.213.72.1", NULL, 0), 0);
        json_decref(a);
        json_decref(b);
        json_decref(x);
}
END_TEST

START_TEST(test_port_forwards_and_restart)
{
        int port = hd_test_free_port();
        char extra[256];
        snprintf(extra, sizeof(extra),
                 "\"ports\": [{\"host_port\": %d, \"port\": 8080, \"protocol\": \"tcp\"}]", port);
        json_t *w = run_ct("web", serve(8080, "hello-forward"), extra);
        char ip[32];
        snprintf(ip, sizeof(ip), "%s", address_of(w));
        json_decref(w);
        ck_assert_msg(port_says(port, "hello-forward", 10000), "no answer on 127.0.0.1:%d", port);

        /* The same host port again, and one the host itself listens on: 409s. */
        json_t *e = call("POST", "/v1/instances",
                         (snprintf(extra, sizeof(extra),
                                   "{\"name\": \"dup\", \"kind\": \"container\", \"image\": "
                                   "\"busybox\", \"ports\": [{\"host_port\": %d, \"port\": 1}]}",
                                   port),
                          extra),
                         409);
        ck_assert_str_eq(str(json_object_get(e, "error"), "field"), "ports[0].host_port");
        json_decref(e);
        int busy = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in sa = { .sin_family = AF_INET };
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ck_assert_int_eq(bind(busy, (struct sockaddr *)&sa, sizeof(sa)), 0);
        ck_assert_int_eq(listen(busy, 1), 0);
        socklen_t sl = sizeof(sa);
        getsockname(busy, (struct sockaddr *)&sa, &sl);
        char body[512];
        snprintf(body, sizeof(body),
                 "{\"name\": \"dup2\", \"kind\": \"container\", \"image\": \"busybox\", "
                 "\"ports\": [{\"host_port\": %d, \"port\": 1}]}",
                 ntohs(sa.sin_port));
        e = call("POST", "/v1/instances", body, 409);
        ck_assert_str_eq(str(json_object_get(e, "error"), "field"), "ports[0].host_port");
        json_decref(e);
        close(busy);

        /* SIGKILL and restart: the address, the forward and the DNS stay. */
        long dns = dnsmasq_pid(net0);
        ck_assert_int_eq(hd_test_daemon_stop(&d, SIGKILL, NULL), 0);
        ck_assert_msg(port_says(port, "hello-forward", 5000), "forward gone while hostd is down");
        ck_assert_int_eq(hd_test_daemon_restart(&d), 0);
        json_t *again = itest_get(&d, "web");
        ck_assert_str_eq(address_of(again), ip);
        ck_assert_str_eq(str(again, "state"), "running");
        json_decref(again);
        ck_assert_int_eq(dnsmasq_pid(net0), dns);
        ck_assert_msg(port_says(port, "hello-forward", 10000), "forward gone after restart");

        /* A dnsmasq that dies is started again by hostd's supervisor. */
        kill((pid_t)dns, SIGKILL);
        long next = 0;
        for (int i = 0; i < 100 && ((next = dnsmasq_pid(net0)) == 0 || next == dns); i++)
                usleep(100000);
        ck_assert_msg(next > 0 && next != dns, "dnsmasq not restarted (%ld)", next);

        /* The stored state was rebuilt at start even when the host lost it: the table
         * deleted behind hostd's back comes back with the next start. */
        char cmd[512];
        snprintf(cmd, sizeof(cmd), "nft delete table ip %s", table);
        ck_assert_int_eq(system(cmd), 0);
        /* Leftovers of ours the inventory does not know (a deleted instance's veth on our
         * bridge, a deleted network's bridge) go at the next start. */
        char stray_br[16];
        snprintf(stray_br, sizeof(stray_br), "tq%s", net0 + 2);
        snprintf(cmd, sizeof(cmd),
                 "ip link add hdvstray0 type veth peer name hdvstray1 && "
                 "ip link set hdvstray0 master %s alias hostd:00000000-0000-4000-8000-00000000dead "
                 "&& "
                 "ip link add %s type bridge && ip link set %s alias hostd-network:%s",
                 net0, stray_br, stray_br, table);
        ck_assert_int_eq(system(cmd), 0);
        ck_assert_int_eq(hd_test_daemon_restart(&d), 0);
        ck_assert(table_exists());
        ck_assert(!link_exists("hdvstray0"));
        ck_assert(!link_exists(stray_br));
        ck_assert_msg(port_says(port, "hello-forward", 10000), "forward not rebuilt at start");
}
END_TEST

/* A copy of the tiny VM bundle whose cmdline has extra appended; returns its path. */
static char *vm_bundle_with(const char *tag, const char *extra)
{
        char *dir = hd_test_mkdtemp(tag);
        ck_assert_ptr_nonnull(dir);
        char *out = NULL, cmd[4096];
        ck_assert_int_ge(asprintf(&out, "%s.tar", dir), 0);
        snprintf(cmd, sizeof(cmd),
                 "tar -xf '%s' -C '%s' && printf ' %%s' '%s' >> '%s/cmdline' && "
                 "tar --format=ustar -C '%s' -cf '%s' vmlinuz initrd cmdline",
                 vm_bundle, dir, extra, dir, dir, out);
        ck_assert_msg(system(cmd) == 0, "repacking the bundle failed: %s", cmd);
        hd_test_rm_rf(dir);
        free(dir);
        return out;
}

/* A VM (the tiny image under TCG) and a container on one network: ping and TCP both
 * ways, and a port forward from the host's loopback to the VM. */
START_TEST(test_container_and_vm)
{
        if (!vm_bundle[0]) {
                fprintf(stderr, "SKIP: no tiny VM bundle\n");
                return;
        }
        /* The guest serves "vm-hello" on 8080 (hostd.cmd: base64 of the shell line). */
        char *b = vm_bundle_with("tiny-net",
                                 "hostd.cmd=bmMgLWxsIC1wIDgwODAgLWUgZWNobyB2bS1oZWxsbyAm");
        import("name=tiny-net&kind=vm&format=kernel", b);
        free(b);
        int port = hd_test_free_port();
        char body[1024];
        snprintf(body, sizeof(body),
                 "{\"name\": \"vm\", \"kind\": \"vm\", \"image\": \"tiny-net\", "
                 "\"resources\": {\"vcpus\": 1, \"memory_mb\": 256}, "
                 "\"ports\": [{\"host_port\": %d, \"port\": 8080}]}",
                 port);
        json_decref(call("POST", "/v1/instances", body, 201));
        json_decref(itest_action(&d, "vm", "start", NULL, 120));
        json_t *vm = NULL;
        for (int i = 0; i < 600; i++) {
                vm = itest_get(&d, "vm");
                if (json_is_string(json_object_get(vm, "ready_at")))
                        break;
                json_decref(vm);
                vm = NULL;
                usleep(100000);
        }
        ck_assert_msg(vm, "the VM never became ready");
        char vm_ip[32];
        snprintf(vm_ip, sizeof(vm_ip), "%s", address_of(vm));
        ck_assert_msg(strncmp(vm_ip, "10.213.71.", 10) == 0, "vm: %s", vm_ip);
        json_decref(vm);

        json_t *c = run_ct("ct", serve(7001, "from-ct"), "");
        char ct_ip[32], script[256], out[512];
        snprintf(ct_ip, sizeof(ct_ip), "%s", address_of(c));
        json_decref(c);
        snprintf(script, sizeof(script), "ping -c 1 -W 5 %s", vm_ip);
        ck_assert_int_eq(exec_code("ct", script, out, sizeof(out)), 0);
        snprintf(script, sizeof(script), "nc -w 5 %s 8080 </dev/null", vm_ip);
        int code = 1;
        for (int i = 0; i < 25 && !strstr(out, "vm-hello"); i++) {
                code = exec_code("ct", script, out, sizeof(out));
                if (!strstr(out, "vm-hello"))
                        usleep(200000);
        }
        ck_assert_msg(strstr(out, "vm-hello"), "ct -> vm: %d `%s`", code, out);
        ck_assert_msg(port_says(port, "vm-hello", 10000), "no VM answer on 127.0.0.1:%d", port);
        /* The guest's DHCP-less address is IPAM's: the network's dnsmasq knows its name. */
        ck_assert_int_eq(exec_code("ct", "nslookup vm 2>&1", out, sizeof(out)), 0);
        ck_assert_msg(strstr(out, vm_ip), "vm by name: %s", out);

        /* hostd restarted: the guest keeps its address and forward, and reaches the
         * container. */
        ck_assert_int_eq(hd_test_daemon_restart(&d), 0);
        ck_assert_msg(port_says(port, "vm-hello", 10000), "VM forward gone after restart");
        json_t *v2 = itest_get(&d, "vm");
        ck_assert_str_eq(address_of(v2), vm_ip);
        char tap[16] = "hdt";
        const char *uuid = str(v2, "uuid");
        for (size_t i = 0, k = 3; uuid[i] && k < 14; i++)
                if (uuid[i] != '-')
                        tap[k++] = uuid[i], tap[k] = '\0';
        json_decref(v2);
        ck_assert_msg(link_exists(tap), "no tap %s", tap);
        snprintf(script, sizeof(script), "ping -c 1 -W 5 %s", vm_ip);
        ck_assert_int_eq(exec_code("ct", script, out, sizeof(out)), 0);
        (void)ct_ip;

        /* Deleted: its tap and its forward go. */
        json_decref(call("DELETE", "/v1/instances/vm?force=true&wait=60", NULL, 200));
        ck_assert(!link_exists(tap));
        char buf[64];
        ck_assert_int_lt(read_from_port(port, buf, sizeof(buf), 1000), 1);
}
END_TEST

/* A hostd with no default network: everything made through the API goes again. */
START_TEST(test_delete_leaves_nothing)
{
        remove_host_leftovers();
        hd_test_daemon_cleanup(&d);
        start_daemon(false);
        char body[512];
        snprintf(body, sizeof(body), "{\"name\": \"%s\", \"subnet\": \"%s\"}", net1, subnet1);
        json_decref(call("POST", "/v1/networks", body, 201));
        int port = hd_test_free_port();
        char extra[256];
        snprintf(extra, sizeof(extra),
                 "\"network\": \"%s\", \"ports\": [{\"host_port\": %d, \"port\": 80}]", net1, port);
        json_t *c = run_ct("gone", "exec sleep 1000", extra);
        json_t *inst = itest_get(&d, "gone");
        char veth[16];
        snprintf(veth, sizeof(veth), "hdv");
        const char *uuid = str(inst, "uuid");
        for (size_t i = 0, k = 3; uuid[i] && k < 14; i++)
                if (uuid[i] != '-')
                        veth[k++] = uuid[i], veth[k] = '\0';
        ck_assert_msg(link_exists(veth), "no veth %s", veth);
        ck_assert(table_exists());
        long dns = dnsmasq_pid(net1);
        ck_assert_int_gt(dns, 0);

        json_decref(call("DELETE", "/v1/instances/gone?force=true&wait=60", NULL, 200));
        ck_assert(!link_exists(veth));
        char path[128];
        snprintf(path, sizeof(path), "/v1/networks/%s", net1);
        json_decref(call("DELETE", path, NULL, 200));
        ck_assert(!link_exists(net1));
        ck_assert(!pid_running(dns));
        ck_assert(!table_exists());
        json_decref(c);
        json_decref(inst);
}
END_TEST

int main(void)
{
        if (geteuid() != 0) {
                fprintf(stderr, "SKIP: networks need root\n");
                return 77;
        }
        snprintf(image, sizeof(image), "%s/busybox.oci.tar", HD_TEST_IMAGES_DIR);
        if (access(image, R_OK) != 0) {
                fprintf(stderr, "SKIP: %s not built\n", image);
                return 77;
        }
        if (system("command -v dnsmasq >/dev/null && command -v nft >/dev/null") != 0) {
                fprintf(stderr, "SKIP: dnsmasq or nft missing (packaging/install-deps.sh)\n");
                return 77;
        }
        snprintf(vm_bundle, sizeof(vm_bundle), "%s/tiny-vm.tar", HD_TEST_IMAGES_DIR);
        if (access(vm_bundle, R_OK) != 0)
                vm_bundle[0] = '\0';
        long id = (long)getpid() % 100000;
        snprintf(net0, sizeof(net0), "tn%ld", id);
        snprintf(net1, sizeof(net1), "tm%ld", id);
        snprintf(table, sizeof(table), "hdtest_net_%ld", id);
        hd_test_init();
        char *probe = hd_test_mkdtemp("root");
        char *root = strdup(dirname(probe));
        Suite *s = suite_create("network");
        TCase *tc = tcase_create("network");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 240);
        tcase_add_test(tc, test_networks_api);
        tcase_add_test(tc, test_containers_reach_each_other_not_across);
        tcase_add_test(tc, test_port_forwards_and_restart);
        tcase_add_test(tc, test_delete_leaves_nothing);
        tcase_add_test(tc, test_container_and_vm);
        suite_add_tcase(s, tc);
        SRunner *sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        /* Tests that failed skipped their teardown. */
        if (reap_strays(root) > 0)
                /* libvirt's cgroups of a killed qemu: empty now, so rmdir takes them. */
                (void)!system(
                        "for d in /sys/fs/cgroup/*/machine/qemu-embed-*-hostd-vm.libvirt-qemu; do "
                        "[ -d \"$d\" ] && find \"$d\" -depth -type d -exec rmdir {} + "
                        "2>/dev/null; done; true");
        remove_host_leftovers();
        free(root);
        free(probe);
        hd_test_fini(failed);
        return failed ? 1 : 0;
}
