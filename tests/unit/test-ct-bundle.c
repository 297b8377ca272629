/* Tests for ct-bundle.c: config.json parsing and validation, state.json and
 * exit.json round trips, liveness from /proc/PID/stat. */
#include <check.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "ct-bundle.h"
#include "hd-util.h"

static const char full_config[] =
        "{\"uuid\": \"0b5dbbd4-5b6e-4f3c-9d2a-1c2b3a4d5e6f\", \"name\": \"web\","
        " \"rootfs\": {\"lower\": [\"/l/top\", \"/l/base\"], \"upper\": \"/b/upper\","
        "   \"work\": \"/b/work\", \"merged\": \"/b/rootfs\"},"
        " \"process\": {\"args\": [\"/bin/sh\", \"-c\", \"echo hi\"],"
        "   \"env\": [\"PATH=/bin\", \"K=V=W\"], \"cwd\": \"/tmp\", \"user\": \"nobody:nogroup\","
        "   \"rlimits\": [{\"type\": \"RLIMIT_NOFILE\", \"soft\": 1024, \"hard\": 4096},"
        "                 {\"type\": \"RLIMIT_CORE\", \"soft\": -1, \"hard\": -1}]},"
        " \"hostname\": \"webhost\","
        " \"userns\": {\"uid_map\": [[0, 100000, 65536]], \"gid_map\": [[0, 100000, 65536], "
        "[65536, 5, 1]], \"idmapped_layers\": true},"
        " \"network\": \"host\","
        " \"cgroup\": {\"name\": \"0b5dbbd4-5b6e-4f3c-9d2a-1c2b3a4d5e6f\", \"memory_bytes\": "
        "67108864,"
        "   \"cpu_quota_us\": 50000, \"cpu_period_us\": 100000, \"pids_max\": 100},"
        " \"security\": {\"caps\": [\"CAP_CHOWN\", \"CAP_KILL\"], \"no_new_privs\": false,"
        "   \"seccomp\": \"/b/seccomp.bpf\"},"
        " \"log\": {\"path\": \"/b/console.log\", \"max_bytes\": 1000, \"max_files\": 3},"
        " \"stop_signal\": 2}";

static const char min_config[] =
        "{\"uuid\": \"u\", \"name\": \"n\","
        " \"rootfs\": {\"lower\": [\"/l\"], \"upper\": \"/u\", \"work\": \"/w\", \"merged\": "
        "\"/m\"},"
        " \"process\": {\"args\": [\"sh\"]},"
        " \"cgroup\": {\"name\": \"n\"},"
        " \"security\": {\"caps\": []},"
        " \"log\": {\"path\": \"/b/console.log\"}}";

START_TEST(test_parse_full)
{
        _cleanup_(hd_ct_bundle_freep) HdCtBundle *b = NULL;
        _cleanup_error_ HdError *err = NULL;
        ck_assert_int_eq(hd_ct_bundle_parse("/b", full_config, strlen(full_config), &b, &err), 0);
        ck_assert_ptr_null(err);
        ck_assert_str_eq(b->dir, "/b");
        ck_assert_str_eq(b->name, "web");
        ck_assert_uint_eq(b->n_lower, 2);
        ck_assert_str_eq(b->lower[0], "/l/top");
        ck_assert_str_eq(b->lower[1], "/l/base");
        ck_assert_ptr_null(b->lower[2]);
        ck_assert_str_eq(b->merged, "/b/rootfs");
        ck_assert_uint_eq(b->n_args, 3);
        ck_assert_str_eq(b->args[2], "echo hi");
        ck_assert_ptr_null(b->args[3]);
        ck_assert_uint_eq(b->n_env, 2);
        ck_assert_str_eq(b->env[1], "K=V=W");
        ck_assert_str_eq(b->cwd, "/tmp");
        ck_assert_str_eq(b->user, "nobody:nogroup");
        ck_assert_uint_eq(b->n_rlimits, 2);
        ck_assert_int_eq(b->rlimits[0].resource, RLIMIT_NOFILE);
        ck_assert_uint_eq(b->rlimits[0].soft, 1024);
        ck_assert_uint_eq(b->rlimits[0].hard, 4096);
        ck_assert(b->rlimits[1].soft == RLIM_INFINITY && b->rlimits[1].hard == RLIM_INFINITY);
        ck_assert_str_eq(b->hostname, "webhost");
        ck_assert(b->userns);
        ck_assert_uint_eq(b->n_uid_map, 1);
        ck_assert_uint_eq(b->uid_map[0].outside, 100000);
        ck_assert_uint_eq(b->n_gid_map, 2);
        ck_assert_uint_eq(b->gid_map[1].inside, 65536);
        ck_assert_uint_eq(b->gid_map[1].count, 1);
        ck_assert(b->idmapped_layers);
        ck_assert(!b->privileged);
        ck_assert_int_eq(b->network, HD_CT_NETWORK_HOST);
        ck_assert_int_eq(b->memory_bytes, 67108864);
        ck_assert_int_eq(b->cpu_quota_us, 50000);
        ck_assert_int_eq(b->pids_max, 100);
        ck_assert(b->caps == ((1ULL << CAP_CHOWN) | (1ULL << CAP_KILL)));
        ck_assert(!b->no_new_privs);
        ck_assert_str_eq(b->seccomp_path, "/b/seccomp.bpf");
        ck_assert_str_eq(b->log_path, "/b/console.log");
        ck_assert_int_eq(b->log_max_bytes, 1000);
        ck_assert_uint_eq(b->log_max_files, 3);
        ck_assert_int_eq(b->stop_signal, SIGINT);
}
END_TEST

START_TEST(test_parse_defaults)
{
        _cleanup_(hd_ct_bundle_freep) HdCtBundle *b = NULL;
        _cleanup_error_ HdError *err = NULL;
        ck_assert_int_eq(hd_ct_bundle_parse("/b", min_config, strlen(min_config), &b, &err), 0);
        ck_assert_str_eq(b->cwd, "/");
        ck_assert_str_eq(b->user, "0:0");
        ck_assert_uint_eq(b->n_env, 0);
        ck_assert_ptr_null(b->env[0]);
        ck_assert_str_eq(b->hostname, "n");
        ck_assert(!b->userns);
        ck_assert(!b->idmapped_layers);
        ck_assert(!b->privileged);
        ck_assert_int_eq(b->network, HD_CT_NETWORK_NONE);
        ck_assert(b->caps == 0);
        ck_assert(b->no_new_privs);
        ck_assert_ptr_null(b->seccomp_path);
        ck_assert_int_eq(b->log_max_bytes, 0);
        ck_assert_uint_eq(b->log_max_files, 1);
        ck_assert_int_eq(b->stop_signal, SIGTERM);
}
END_TEST

/* Replaces the first occurrence of from in base with to and expects a failure naming
 * field. */
static void expect_bad_in(const char *base, const char *from, const char *to, const char *field)
{
        const char *at = strstr(base, from);
        ck_assert_msg(at, "%s not in the config", from);
        char buf[4096];
        snprintf(buf, sizeof(buf), "%.*s%s%s", (int)(at - base), base, to, at + strlen(from));
        HdCtBundle *b = NULL;
        _cleanup_error_ HdError *err = NULL;
        int r = hd_ct_bundle_parse("/b", buf, strlen(buf), &b, &err);
        ck_assert_msg(r == -EINVAL, "%s → %s: %d", from, to, r);
        ck_assert_ptr_null(b);
        ck_assert_ptr_nonnull(err);
        if (field)
                ck_assert_msg(err->field && strcmp(err->field, field) == 0, "%s: field %s (%s)", to,
                              err->field ? err->field : "(none)", err->message);
        ck_assert(err->message && strstr(err->message, "config.json"));
}

static void expect_bad(const char *from, const char *to, const char *field)
{
        expect_bad_in(min_config, from, to, field);
}

START_TEST(test_parse_errors)
{
        expect_bad("{\"uuid\"", "[{\"uuid\"", NULL); /* not JSON */
        expect_bad("\"uuid\": \"u\", ", "", "uuid");
        expect_bad("\"uuid\": \"u\"", "\"uuid\": 7", "uuid");
        expect_bad("\"name\": \"n\",", "\"name\": \"n\", \"name\": \"m\",", NULL); /* dup */
        expect_bad("\"name\": \"n\",", "\"name\": \"n\", \"nmae\": 1,", "nmae");
        expect_bad("[\"/l\"]", "[]", "rootfs.lower");
        expect_bad("[\"/l\"]", "[\"l\"]", "rootfs.lower[0]");
        expect_bad("[\"/l\"]", "\"/l\"", "rootfs.lower");
        expect_bad("\"upper\": \"/u\"", "\"upper\": \"u\"", "rootfs.upper");
        expect_bad("\"upper\": \"/u\", ", "", "rootfs.upper");
        expect_bad("\"merged\": \"/m\"", "\"merged\": \"/m\", \"extra\": 1", "rootfs.extra");
        expect_bad("[\"sh\"]", "[]", "process.args");
        expect_bad("[\"sh\"]", "[\"sh\", 1]", "process.args[1]");
        expect_bad("[\"sh\"]", "[\"s\\u0000h\"]", NULL); /* jansson refuses NUL */
        expect_bad("[\"sh\"]}", "[\"sh\"], \"env\": [\"NOEQUALS\"]}", "process.env[0]");
        expect_bad("[\"sh\"]}", "[\"sh\"], \"cwd\": \"tmp\"}", "process.cwd");
        expect_bad("[\"sh\"]}", "[\"sh\"], \"user\": \"\"}", "process.user");
        expect_bad("[\"sh\"]}",
                   "[\"sh\"], \"rlimits\": [{\"type\": \"RLIMIT_X\", \"soft\": 1, "
                   "\"hard\": 1}]}",
                   "process.rlimits[0].type");
        expect_bad("[\"sh\"]}",
                   "[\"sh\"], \"rlimits\": [{\"type\": \"RLIMIT_NOFILE\", "
                   "\"soft\": 2, \"hard\": 1}]}",
                   "process.rlimits[0]");
        expect_bad("\"caps\": []", "\"caps\": [\"CAP_NOPE\"]", "security.caps[0]");
        expect_bad("\"caps\": []", "\"caps\": [], \"seccomp\": \"rel.bpf\"", "security.seccomp");
        expect_bad("\"caps\": []", "\"caps\": [], \"no_new_privs\": 1", "security.no_new_privs");
        expect_bad("\"caps\": []", "\"caps\": [], \"privileged\": \"yes\"", "security.privileged");
        expect_bad("\"uuid\": \"u\",",
                   "\"uuid\": \"u\", \"userns\": {\"uid_map\": [[0, 1, 1]], \"gid_map\": [[0, "
                   "1, 1]], \"idmapped_layers\": 1},",
                   "userns.idmapped_layers");
        expect_bad("{\"name\": \"n\"}", "{\"name\": \"../x\"}", "cgroup.name");
        expect_bad("{\"name\": \"n\"}", "{\"name\": \"n\", \"pids_max\": -1}", "cgroup.pids_max");
        expect_bad("\"log\": {\"path\": \"/b/console.log\"}",
                   "\"log\": {\"path\": \"/b/console.log\", \"max_files\": 0}", "log.max_files");
        expect_bad("\"uuid\": \"u\",", "\"uuid\": \"u\", \"network\": \"br0\",", "network");
        /* A bridge needs to know which and how. */
        expect_bad("\"uuid\": \"u\",", "\"uuid\": \"u\", \"network\": \"bridge\",", "net");
        expect_bad("\"uuid\": \"u\",", "\"uuid\": \"u\", \"stop_signal\": 99,", "stop_signal");
        expect_bad("\"uuid\": \"u\",", "\"uuid\": \"u\", \"userns\": {\"uid_map\": []},",
                   "userns.uid_map");
        expect_bad("\"uuid\": \"u\",",
                   "\"uuid\": \"u\", \"userns\": {\"uid_map\": [[0, 1, 0]], \"gid_map\": [[0, "
                   "1, 1]]},",
                   "userns.uid_map[0]");
        expect_bad("\"uuid\": \"u\",",
                   "\"uuid\": \"u\", \"userns\": {\"uid_map\": [[0, 1, 1]], \"gid_map\": [[0, "
                   "-1, 1]]},",
                   "userns.gid_map[0]");
        expect_bad("\"uuid\": \"u\",",
                   "\"uuid\": \"u\", \"hostname\": "
                   "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",",
                   "hostname");
}
END_TEST

/* cgroup.cpuset: a CPU list, written to cpuset.cpus as it is; absent: no pinning. */
START_TEST(test_parse_cpuset)
{
        static const char *const good[] = { "0", "0-1", "0,2,4-5", "5,0-2", "1023" };
        for (size_t k = 0; k < HD_ARRAY_SIZE(good); k++) {
                char to[64], buf[4096];
                snprintf(to, sizeof(to), "{\"name\": \"n\", \"cpuset\": \"%s\"}", good[k]);
                const char *at = strstr(min_config, "{\"name\": \"n\"}");
                ck_assert_ptr_nonnull(at);
                snprintf(buf, sizeof(buf), "%.*s%s%s", (int)(at - min_config), min_config, to,
                         at + strlen("{\"name\": \"n\"}"));
                _cleanup_(hd_ct_bundle_freep) HdCtBundle *b = NULL;
                _cleanup_error_ HdError *err = NULL;
                ck_assert_msg(hd_ct_bundle_parse("/b", buf, strlen(buf), &b, &err) == 0, "%s: %s",
                              good[k], err ? err->message : "?");
                ck_assert_str_eq(b->cpuset, good[k]);
        }

        _cleanup_(hd_ct_bundle_freep) HdCtBundle *none = NULL;
        ck_assert_int_eq(hd_ct_bundle_parse("/b", min_config, strlen(min_config), &none, NULL), 0);
        ck_assert_ptr_null(none->cpuset);

        expect_bad("{\"name\": \"n\"}", "{\"name\": \"n\", \"cpuset\": 0}", "cgroup.cpuset");
        static const char *const bad[] = { "", "3-1", "1024", "0,", "0 ", " 0", "a", "0-1\\n" };
        for (size_t k = 0; k < HD_ARRAY_SIZE(bad); k++) {
                char to[64];
                snprintf(to, sizeof(to), "{\"name\": \"n\", \"cpuset\": \"%s\"}", bad[k]);
                expect_bad("{\"name\": \"n\"}", to, "cgroup.cpuset");
        }
}
END_TEST

/* min_config with network bridge and every field of net. */
static const char net_config[] =
        "{\"uuid\": \"u\", \"name\": \"n\","
        " \"rootfs\": {\"lower\": [\"/l\"], \"upper\": \"/u\", \"work\": \"/w\", \"merged\": "
        "\"/m\"},"
        " \"process\": {\"args\": [\"sh\"]},"
        " \"network\": \"bridge\","
        " \"net\": {\"bridge\": \"hostd0\", \"host_ifname\": \"hdv0b5dbbd45b6\", \"ifname\": "
        "\"eth1\","
        "   \"mac\": \"02:42:AC:11:00:02\", \"address\": \"10.88.0.2\", \"prefix\": 24,"
        "   \"gateway\": \"10.88.0.1\", \"mtu\": 1450,"
        "   \"hosts\": \"127.0.0.1\\tlocalhost\\n10.88.0.2\\tn\\n\","
        "   \"resolv_conf\": \"nameserver 10.88.0.1\\nsearch default\\n\"},"
        " \"cgroup\": {\"name\": \"n\"},"
        " \"security\": {\"caps\": []},"
        " \"log\": {\"path\": \"/b/console.log\"}}";

START_TEST(test_parse_net)
{
        _cleanup_(hd_ct_bundle_freep) HdCtBundle *b = NULL;
        _cleanup_error_ HdError *err = NULL;
        int r = hd_ct_bundle_parse("/b", net_config, strlen(net_config), &b, &err);
        ck_assert_msg(r == 0, "%s", err ? err->message : "?");
        ck_assert_int_eq(b->network, HD_CT_NETWORK_BRIDGE);
        const HdCtNet *n = &b->net;
        ck_assert_str_eq(n->bridge, "hostd0");
        ck_assert_str_eq(n->host_ifname, "hdv0b5dbbd45b6");
        ck_assert_str_eq(n->ifname, "eth1");
        static const uint8_t mac[6] = { 0x02, 0x42, 0xac, 0x11, 0x00, 0x02 };
        ck_assert_mem_eq(n->mac, mac, 6);
        ck_assert_uint_eq(n->address, 0x0a580002);
        ck_assert_int_eq(n->prefix, 24);
        ck_assert_uint_eq(n->gateway, 0x0a580001);
        ck_assert_int_eq(n->mtu, 1450);
        ck_assert_str_eq(n->hosts, "127.0.0.1\tlocalhost\n10.88.0.2\tn\n");
        ck_assert_str_eq(n->resolv_conf, "nameserver 10.88.0.1\nsearch default\n");

        /* ifname, mtu, hosts and resolv_conf may be left out. */
        char buf[4096];
        snprintf(buf, sizeof(buf),
                 "{\"network\": \"bridge\", \"net\": {\"bridge\": \"b\", \"host_ifname\": \"h\","
                 " \"mac\": \"02:00:00:00:00:01\", \"address\": \"192.168.1.2\", \"prefix\": 30,"
                 " \"gateway\": \"192.168.1.1\"}, %s",
                 min_config + 1);
        _cleanup_(hd_ct_bundle_freep) HdCtBundle *d = NULL;
        r = hd_ct_bundle_parse("/b", buf, strlen(buf), &d, &err);
        ck_assert_msg(r == 0, "%s", err ? err->message : "?");
        ck_assert_str_eq(d->net.ifname, "eth0");
        ck_assert_int_eq(d->net.mtu, 1500);
        ck_assert_ptr_null(d->net.hosts);
        ck_assert_ptr_null(d->net.resolv_conf);

        /* Network none (or host) leaves net empty. */
        _cleanup_(hd_ct_bundle_freep) HdCtBundle *m = NULL;
        ck_assert_int_eq(hd_ct_bundle_parse("/b", min_config, strlen(min_config), &m, &err), 0);
        ck_assert_str_eq(m->net.bridge, "");
        ck_assert_ptr_null(m->net.hosts);
}
END_TEST

START_TEST(test_parse_net_errors)
{
        const char *const net = net_config;
        expect_bad_in(net, "\"network\": \"bridge\",", "", "net"); /* net without bridge */
        expect_bad_in(net, "\"network\": \"bridge\",", "\"network\": \"host\",", "net");
        expect_bad_in(net, "\"mtu\": 1450", "\"mtu\": 1450, \"vlan\": 3", "net.vlan");
        expect_bad_in(net, "\"bridge\": \"hostd0\", ", "", "net.bridge");
        expect_bad_in(net, "\"hostd0\"", "\"host/0\"", "net.bridge");
        expect_bad_in(net, "\"hostd0\"", "\"\"", "net.bridge");
        expect_bad_in(net, "\"hostd0\"", "7", "net.bridge");
        expect_bad_in(net, "\"hdv0b5dbbd45b6\"", "\"hdv0b5dbbd45b6xy\"", "net.host_ifname");
        expect_bad_in(net, "\"host_ifname\": \"hdv0b5dbbd45b6\", ", "", "net.host_ifname");
        expect_bad_in(net, "\"eth1\"", "\"eth 1\"", "net.ifname");
        expect_bad_in(net, "\"eth1\"", "\"..\"", "net.ifname");
        expect_bad_in(net, "\"02:42:AC:11:00:02\"", "\"02:42:ac:11:00\"", "net.mac");
        expect_bad_in(net, "\"02:42:AC:11:00:02\"", "\"02-42-ac-11-00-02\"", "net.mac");
        expect_bad_in(net, "\"02:42:AC:11:00:02\"", "\"02:42:ac:11:00:0g\"", "net.mac");
        expect_bad_in(net, "\"02:42:AC:11:00:02\"", "\"01:00:5e:00:00:01\"", "net.mac");
        expect_bad_in(net, "\"02:42:AC:11:00:02\"", "\"00:00:00:00:00:00\"", "net.mac");
        expect_bad_in(net, "\"mac\": \"02:42:AC:11:00:02\", ", "", "net.mac");
        expect_bad_in(net, "\"address\": \"10.88.0.2\"", "\"address\": \"10.88.0.256\"",
                      "net.address");
        expect_bad_in(net, "\"address\": \"10.88.0.2\"", "\"address\": \"10.88.00.2\"",
                      "net.address");
        expect_bad_in(net, "\"address\": \"10.88.0.2\"", "\"address\": \"10.88.0.0\"",
                      "net.address");
        expect_bad_in(net, "\"address\": \"10.88.0.2\"", "\"address\": \"10.88.0.255\"",
                      "net.address");
        expect_bad_in(net, "\"address\": \"10.88.0.2\", ", "", "net.address");
        expect_bad_in(net, "\"prefix\": 24", "\"prefix\": 0", "net.prefix");
        expect_bad_in(net, "\"prefix\": 24", "\"prefix\": 31", "net.prefix");
        expect_bad_in(net, "\"prefix\": 24", "\"prefix\": \"24\"", "net.prefix");
        expect_bad_in(net, "\"gateway\": \"10.88.0.1\"", "\"gateway\": \"10.89.0.1\"",
                      "net.gateway");
        expect_bad_in(net, "\"gateway\": \"10.88.0.1\"", "\"gateway\": \"10.88.0.2\"",
                      "net.gateway");
        expect_bad_in(net, "\"gateway\": \"10.88.0.1\"", "\"gateway\": \"x\"", "net.gateway");
        expect_bad_in(net, "\"gateway\": \"10.88.0.1\", ", "", "net.gateway");
        expect_bad_in(net, "\"mtu\": 1450", "\"mtu\": 575", "net.mtu");
        expect_bad_in(net, "\"mtu\": 1450", "\"mtu\": 9001", "net.mtu");
        expect_bad_in(net, "\"hosts\": \"127.0.0.1\\tlocalhost\\n10.88.0.2\\tn\\n\"",
                      "\"hosts\": 1", "net.hosts");
        expect_bad_in(net, "\"resolv_conf\": \"nameserver 10.88.0.1\\nsearch default\\n\"",
                      "\"resolv_conf\": []", "net.resolv_conf");
        expect_bad("{\"uuid\"", "{\"network\": \"bridge\", \"net\": [], \"uuid\"", "net");

        /* Texts: 64 KiB at most. */
        size_t big = HD_CT_NET_TEXT_MAX + 1;
        char *text = malloc(strlen(net_config) + big + 64);
        const char *at = strstr(net_config, "\"resolv_conf\": \"");
        int k = snprintf(text, strlen(net_config) + 64, "%.*s\"resolv_conf\": \"",
                         (int)(at - net_config), net_config);
        memset(text + k, 'x', big);
        strcpy(text + k + big, strchr(at + strlen("\"resolv_conf\": \""), '"'));
        HdCtBundle *b = NULL;
        _cleanup_error_ HdError *err = NULL;
        ck_assert_int_eq(hd_ct_bundle_parse("/b", text, strlen(text), &b, &err), -EINVAL);
        ck_assert_str_eq(err->field, "net.resolv_conf");
        free(text);
}
END_TEST

START_TEST(test_veth_name)
{
        char name[HD_CT_IFNAME_MAX];
        ck_assert_int_eq(hd_ct_veth_name("0B5DBBD4-5b6e-4f3c-9d2a-1c2b3a4d5e6f", name), 0);
        ck_assert_str_eq(name, "hdv0b5dbbd45b6");
        ck_assert_uint_eq(strlen(name), 14);
        ck_assert_int_eq(hd_ct_veth_name("0b5dbbd4-5b6e", name), 0);
        ck_assert_str_eq(name, "hdv0b5dbbd45b6");
        ck_assert_int_eq(hd_ct_veth_name("0b5dbbd4-5b", name), -EINVAL);
        ck_assert_int_eq(hd_ct_veth_name("0b5dbbd4-zzzz-4f3c", name), -EINVAL);
        ck_assert_int_eq(hd_ct_veth_name("", name), -EINVAL);
        ck_assert_int_eq(hd_ct_veth_name(NULL, name), -EINVAL);
}
END_TEST

START_TEST(test_names)
{
        ck_assert_int_eq(hd_ct_cap_from_name("CAP_CHOWN"), CAP_CHOWN);
        ck_assert_int_eq(hd_ct_cap_from_name("CAP_AUDIT_WRITE"), CAP_AUDIT_WRITE);
        ck_assert_int_eq(hd_ct_cap_from_name("CAP_CHECKPOINT_RESTORE"), 40);
        ck_assert_int_lt(hd_ct_cap_from_name("chown"), 0);
        ck_assert_int_lt(hd_ct_cap_from_name(NULL), 0);
        for (int c = 0; c <= 40; c++)
                ck_assert_int_eq(hd_ct_cap_from_name(hd_ct_cap_to_name(c)), c);
        ck_assert_ptr_null(hd_ct_cap_to_name(41));
        ck_assert_int_eq(hd_ct_rlimit_from_name("RLIMIT_NPROC"), RLIMIT_NPROC);
        ck_assert_int_lt(hd_ct_rlimit_from_name("NOFILE"), 0);
}
END_TEST

START_TEST(test_privileged_and_userns)
{
        /* min_config, privileged, then the same with a user namespace: refused. */
        char buf[2048];
        const char *at = strstr(min_config, "\"caps\": []");
        snprintf(buf, sizeof(buf), "%.*s\"caps\": [\"CAP_SYS_ADMIN\"], \"privileged\": true%s",
                 (int)(at - min_config), min_config, at + strlen("\"caps\": []"));
        _cleanup_(hd_ct_bundle_freep) HdCtBundle *b = NULL;
        _cleanup_error_ HdError *err = NULL;
        ck_assert_int_eq(hd_ct_bundle_parse("/b", buf, strlen(buf), &b, &err), 0);
        ck_assert(b->privileged);
        ck_assert(b->caps == 1ULL << CAP_SYS_ADMIN);

        char both[2200];
        snprintf(both, sizeof(both),
                 "{\"userns\": {\"uid_map\": [[0, 1000000, 65536]], \"gid_map\": [[0, 1000000, "
                 "65536]]}, %s",
                 buf + 1);
        HdCtBundle *b2 = NULL;
        ck_assert_int_eq(hd_ct_bundle_parse("/b", both, strlen(both), &b2, &err), -EINVAL);
        ck_assert_ptr_null(b2);
        ck_assert_str_eq(err->field, "security.privileged");
        ck_assert(strstr(err->message, "userns"));
}
END_TEST

START_TEST(test_caps_from_names)
{
        char *names[] = { "CAP_CHOWN", "ALL", "CAP_NET_ADMIN", "CAP_NOPE" };
        uint64_t mask = 1;
        bool all = true;
        size_t bad = 99;
        ck_assert_int_eq(hd_ct_caps_from_names(names, 0, &mask, &all, &bad), 0);
        ck_assert(mask == 0 && !all);
        ck_assert_int_eq(hd_ct_caps_from_names(names, 1, &mask, &all, &bad), 0);
        ck_assert(mask == 1ULL << CAP_CHOWN && !all);
        ck_assert_int_eq(hd_ct_caps_from_names(names, 3, &mask, &all, &bad), 0);
        ck_assert(mask == ((1ULL << CAP_CHOWN) | (1ULL << CAP_NET_ADMIN)) && all);
        ck_assert_int_eq(hd_ct_caps_from_names(names, 4, &mask, &all, &bad), -EINVAL);
        ck_assert_uint_eq(bad, 3);
        char *lower[] = { "net_admin" }; /* the codec's job: here only the canonical form */
        ck_assert_int_eq(hd_ct_caps_from_names(lower, 1, &mask, &all, &bad), -EINVAL);
        ck_assert_uint_eq(bad, 0);
}
END_TEST

START_TEST(test_idmap_pick)
{
        uint32_t got = 0;
        ck_assert_int_eq(hd_ct_idmap_pick(NULL, 0, &got), 0);
        ck_assert_uint_eq(got, HD_CT_IDMAP_BASE);
        /* The lowest free slot, whatever the order the bundles came in. */
        uint32_t used[] = { HD_CT_IDMAP_BASE + 2 * HD_CT_IDMAP_SIZE, HD_CT_IDMAP_BASE };
        ck_assert_int_eq(hd_ct_idmap_pick(used, 2, &got), 0);
        ck_assert_uint_eq(got, HD_CT_IDMAP_BASE + HD_CT_IDMAP_SIZE);
        /* A range off the grid (a hand-edited file) blocks both slots it overlaps. */
        uint32_t odd[] = { HD_CT_IDMAP_BASE + 100 };
        ck_assert_int_eq(hd_ct_idmap_pick(odd, 1, &got), 0);
        ck_assert_uint_eq(got, HD_CT_IDMAP_BASE + 2 * HD_CT_IDMAP_SIZE);
        /* Every slot taken: none left, and the last one ends below 4294967295. */
        size_t n = (UINT32_MAX - HD_CT_IDMAP_BASE) / HD_CT_IDMAP_SIZE + 1;
        uint32_t *all = calloc(n, sizeof(uint32_t));
        size_t k = 0;
        for (uint64_t c = HD_CT_IDMAP_BASE; c + HD_CT_IDMAP_SIZE <= UINT32_MAX;
             c += HD_CT_IDMAP_SIZE)
                all[k++] = (uint32_t)c;
        ck_assert((uint64_t)all[k - 1] + HD_CT_IDMAP_SIZE <= UINT32_MAX);
        ck_assert((uint64_t)all[k - 1] + 2 * HD_CT_IDMAP_SIZE > UINT32_MAX);
        ck_assert_int_eq(hd_ct_idmap_pick(all, k - 1, &got), 0);
        ck_assert_uint_eq(got, all[k - 1]);
        ck_assert_int_eq(hd_ct_idmap_pick(all, k, &got), -ENOSPC);
        free(all);
}
END_TEST

static char *make_tmpdir(void)
{
        char *d = strdup("/tmp/test-ct-bundle.XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(d));
        return d;
}

static void rm_tmpdir(const char *d)
{
        char cmd[512];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d);
        ck_assert_int_eq(system(cmd), 0);
}

static void write_text(const char *dir, const char *name, const char *text)
{
        char path[512];
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        ck_assert_int_eq(hd_write_file_atomic(path, text, strlen(text), 0644), 0);
}

START_TEST(test_idmap_file)
{
        _cleanup_free_ char *d = make_tmpdir();
        _cleanup_error_ HdError *err = NULL;
        uint32_t base = 0;
        ck_assert_int_eq(hd_ct_idmap_read(d, &base), -ENOENT);
        ck_assert_int_eq(hd_ct_idmap_write(d, 1065536, &err), 0);
        ck_assert_int_eq(hd_ct_idmap_read(d, &base), 0);
        ck_assert_uint_eq(base, 1065536);
        write_text(d, HD_CT_IDMAP_FILE, "{\"base\": 1065536, \"size\": 10}");
        ck_assert_int_eq(hd_ct_idmap_read(d, &base), -EINVAL);
        write_text(d, HD_CT_IDMAP_FILE, "{\"base\": 4294967000, \"size\": 65536}");
        ck_assert_int_eq(hd_ct_idmap_read(d, &base), -EINVAL);
        write_text(d, HD_CT_IDMAP_FILE, "nonsense");
        ck_assert_int_eq(hd_ct_idmap_read(d, &base), -EINVAL);
        rm_tmpdir(d);
}
END_TEST

START_TEST(test_load)
{
        _cleanup_free_ char *d = make_tmpdir();
        _cleanup_error_ HdError *err = NULL;
        HdCtBundle *b = NULL;
        ck_assert_int_eq(hd_ct_bundle_load(d, &b, &err), -ENOENT);
        ck_assert(strstr(err->message, "config.json"));
        write_text(d, "config.json", full_config);
        hd_error_free(err);
        err = NULL;
        ck_assert_int_eq(hd_ct_bundle_load(d, &b, &err), 0);
        ck_assert_str_eq(b->dir, d);
        ck_assert_str_eq(b->uuid, "0b5dbbd4-5b6e-4f3c-9d2a-1c2b3a4d5e6f");
        hd_ct_bundle_free(b);
        rm_tmpdir(d);
}
END_TEST

START_TEST(test_state_round_trip)
{
        _cleanup_free_ char *d = make_tmpdir();
        _cleanup_error_ HdError *err = NULL;
        HdCtState s = { 0 }, back = { 0 };
        ck_assert_int_eq(hd_ct_state_read(d, &back, &err), -ENOENT);
        hd_error_free(err);
        err = NULL;

        s.monitor_pid = getpid();
        ck_assert_int_eq(hd_ct_pid_start_time(getpid(), &s.monitor_start_time), 0);
        s.pid = getppid();
        ck_assert_int_eq(hd_ct_pid_start_time(getppid(), &s.start_time), 0);
        s.started_at_ms = 1795348800123; /* 2026-11-22T12:00:00.123Z */
        ck_assert_int_eq(hd_ct_state_write(d, &s, &err), 0);
        ck_assert_int_eq(hd_ct_state_read(d, &back, &err), 0);
        ck_assert_int_eq(back.monitor_pid, s.monitor_pid);
        ck_assert_uint_eq(back.monitor_start_time, s.monitor_start_time);
        ck_assert_int_eq(back.pid, s.pid);
        ck_assert_uint_eq(back.start_time, s.start_time);
        ck_assert_int_eq(back.started_at_ms, s.started_at_ms);
        ck_assert(hd_ct_state_monitor_alive(&back));
        ck_assert(hd_ct_state_container_alive(&back));

        /* The file on disk: one JSON line with the documented keys. */
        char path[512];
        _cleanup_free_ char *text = NULL;
        snprintf(path, sizeof(path), "%s/state.json", d);
        ck_assert_int_eq(hd_read_file(path, 4096, &text, NULL), 0);
        ck_assert(strstr(text, "\"started_at\":\"2026-11-22T12:00:00.123Z\""));
        ck_assert(strstr(text, "\"monitor_pid\":"));
        ck_assert(text[strlen(text) - 1] == '\n');

        /* A recycled pid (other start time) is not alive. */
        back.start_time++;
        ck_assert(!hd_ct_state_container_alive(&back));

        write_text(d, "state.json", "{\"monitor_pid\": 1}");
        ck_assert_int_eq(hd_ct_state_read(d, &back, &err), -EINVAL);
        ck_assert_ptr_nonnull(err);
        rm_tmpdir(d);
}
END_TEST

START_TEST(test_exit_round_trip)
{
        _cleanup_free_ char *d = make_tmpdir();
        _cleanup_error_ HdError *err = NULL;
        HdCtExit e, back;
        ck_assert_int_eq(hd_ct_exit_read(d, &back, &err), -ENOENT);
        hd_error_free(err);
        err = NULL;

        hd_ct_exit_from_wait_status(3 << 8, 0, 1795348800000, &e); /* exit(3) */
        ck_assert_int_eq(e.exit_code, 3);
        ck_assert_int_eq(e.signal, 0);
        ck_assert_int_eq(e.reason, HD_CT_EXIT_EXITED);
        hd_ct_exit_from_wait_status(SIGKILL, 0, 0, &e);
        ck_assert_int_eq(e.exit_code, 137);
        ck_assert_int_eq(e.signal, SIGKILL);
        ck_assert_int_eq(e.reason, HD_CT_EXIT_SIGNAL);
        hd_ct_exit_from_wait_status(SIGTERM, 2, 0, &e);
        ck_assert_int_eq(e.reason, HD_CT_EXIT_SIGNAL); /* OOM kills only SIGKILL */
        hd_ct_exit_from_wait_status(SIGKILL, 1, 1795348800456, &e);
        ck_assert_int_eq(e.reason, HD_CT_EXIT_OOM);

        ck_assert_int_eq(hd_ct_exit_write(d, &e, &err), 0);
        ck_assert_int_eq(hd_ct_exit_read(d, &back, &err), 0);
        ck_assert_int_eq(back.exit_code, 137);
        ck_assert_int_eq(back.signal, 9);
        ck_assert_int_eq(back.reason, HD_CT_EXIT_OOM);
        ck_assert_int_eq(back.finished_at_ms, 1795348800456);
        ck_assert_uint_eq(back.oom_kills, 1);

        HdCtExitReason r;
        ck_assert_int_eq(hd_ct_exit_reason_from_string("signal", &r), 0);
        ck_assert_int_eq(r, HD_CT_EXIT_SIGNAL);
        ck_assert_int_lt(hd_ct_exit_reason_from_string("killed", &r), 0);
        ck_assert_str_eq(hd_ct_exit_reason_to_string(HD_CT_EXIT_OOM), "oom");

        write_text(d, "exit.json",
                   "{\"exit_code\": 1, \"signal\": 0, \"reason\": \"nope\", \"finished_at\": "
                   "\"2026-11-22T12:00:00.000Z\", \"oom_kills\": 0}");
        ck_assert_int_eq(hd_ct_exit_read(d, &back, &err), -EINVAL);
        ck_assert_str_eq(err->field, "reason");
        rm_tmpdir(d);
}
END_TEST

START_TEST(test_liveness)
{
        uint64_t st;
        ck_assert_int_eq(hd_ct_pid_start_time(getpid(), &st), 0);
        ck_assert(hd_ct_pid_alive(getpid(), st));
        ck_assert(!hd_ct_pid_alive(getpid(), st + 1));
        ck_assert(!hd_ct_pid_alive(0, 0));
        ck_assert(!hd_ct_pid_alive(-1, 0));

        /* A zombie is not alive; a reaped child does not exist. */
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0)
                _exit(0);
        uint64_t cst = 0;
        int r = hd_ct_pid_start_time(pid, &cst);
        ck_assert(r == 0 || r == -ESRCH);
        siginfo_t si;
        ck_assert_int_eq(waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT), 0);
        ck_assert_int_eq(hd_ct_pid_start_time(pid, &cst), 0);
        ck_assert(!hd_ct_pid_alive(pid, cst));
        ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
        ck_assert_int_eq(hd_ct_pid_start_time(pid, &cst), -ESRCH);
}
END_TEST

static Suite *suite(void)
{
        Suite *s = suite_create("ct-bundle");
        TCase *tc = tcase_create("bundle");
        tcase_add_test(tc, test_parse_full);
        tcase_add_test(tc, test_parse_defaults);
        tcase_add_test(tc, test_parse_errors);
        tcase_add_test(tc, test_parse_cpuset);
        tcase_add_test(tc, test_parse_net);
        tcase_add_test(tc, test_parse_net_errors);
        tcase_add_test(tc, test_veth_name);
        tcase_add_test(tc, test_names);
        tcase_add_test(tc, test_privileged_and_userns);
        tcase_add_test(tc, test_caps_from_names);
        tcase_add_test(tc, test_idmap_pick);
        tcase_add_test(tc, test_idmap_file);
        tcase_add_test(tc, test_load);
        tcase_add_test(tc, test_state_round_trip);
        tcase_add_test(tc, test_exit_round_trip);
        tcase_add_test(tc, test_liveness);
        suite_add_tcase(s, tc);
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
