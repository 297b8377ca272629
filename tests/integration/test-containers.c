/* The container driver through the API, as root, with the busybox image: lifecycle, exit
 * codes, logs, exec and stats, isolation and the security defaults tried from inside,
 * cgroup limits, containers outliving hostd, and nothing left behind by a delete. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "harness.h"
#include "itest-calls.h"
#include "hd-macro.h"

static HdTestDaemon d;
static char image[512];

static bool have_image(void)
{
        snprintf(image, sizeof(image), "%s/busybox.oci.tar", HD_TEST_IMAGES_DIR);
        return access(image, R_OK) == 0;
}

static void start_daemon(const char *const *args)
{
        ck_assert_int_eq(hd_test_daemon_start(&d, args), 0);
        char cmd[2048];
        snprintf(cmd, sizeof(cmd),
                 "curl -sf -o /dev/null --unix-socket '%s' -X POST -H 'Content-Type: "
                 "application/x-tar' -T '%s' "
                 "'http://localhost/v1/images?name=busybox&kind=container&format=oci-archive'",
                 d.socket_path, image);
        ck_assert_msg(system(cmd) == 0, "importing %s failed", image);
}

static void setup(void)
{
        start_daemon(NULL);
}

/* A hostd that lets containers ask for the privileged knobs. */
static void setup_privileged(void)
{
        static const char *const args[] = { "--allow-privileged", "true", NULL };
        start_daemon(args);
}

static void teardown(void)
{
        if (d.dir)
                hd_test_reap_containers(d.dir);
        hd_test_daemon_cleanup(&d);
}

/* ---- helpers ---------------------------------------------------------------------------- */

static json_t *call(const char *method, const char *path, const char *body, int want)
{
        return itest_call(&d, method, path, body, want);
}

static const char *str(const json_t *j, const char *key)
{
        return itest_str(j, key);
}

/* Creates NAME running the shell script with the given resources (JSON members, may be
 * ""). */
static void create(const char *name, const char *script, const char *resources)
{
        json_t *cmd = json_pack("[s, s, s]", "sh", "-c", script);
        char *cmd_s = json_dumps(cmd, JSON_COMPACT);
        char body[8192];
        snprintf(body, sizeof(body),
                 "{\"name\": \"%s\", \"kind\": \"container\", \"image\": \"busybox\", "
                 "\"command\": %s%s%s%s}",
                 name, cmd_s, *resources ? ", \"resources\": {" : "", resources,
                 *resources ? "}" : "");
        json_decref(call("POST", "/v1/instances", body, 201));
        free(cmd_s);
        json_decref(cmd);
}

static json_t *action(const char *name, const char *what, const char *body)
{
        return itest_action(&d, name, what, body, 60);
}

static json_t *get(const char *name)
{
        return itest_get(&d, name);
}

/* Waits up to timeout_ms for NAME to reach state; returns the instance. */
static json_t *wait_state(const char *name, const char *state, int timeout_ms)
{
        return itest_wait_state(&d, name, state, timeout_ms, 50);
}

static int64_t exit_code(const json_t *inst)
{
        return json_integer_value(json_object_get(inst, "exit_code"));
}

/* GET logs as text (NUL-terminated; caller frees). */
static char *logs(const char *name, const char *query)
{
        return itest_logs(&d, name, query);
}

static json_t *exec_in(const char *name, const char *script, int want)
{
        json_t *cmd = json_pack("{s:[s, s, s]}", "command", "sh", "-c", script);
        char *body = json_dumps(cmd, JSON_COMPACT);
        char path[256];
        snprintf(path, sizeof(path), "/v1/instances/%s/exec", name);
        json_t *res = call("POST", path, body, want);
        free(body);
        json_decref(cmd);
        return res;
}

/* The state.json of NAME's bundle (its uuid from the API). */
static json_t *bundle_state(const char *name)
{
        json_t *i = get(name);
        char path[512];
        snprintf(path, sizeof(path), "%s/containers/%s/state.json", d.dir, str(i, "uuid"));
        json_decref(i);
        return json_load_file(path, 0, NULL);
}

static bool pid_alive(long pid)
{
        return pid > 0 && kill((pid_t)pid, 0) == 0;
}

static bool cgroup_exists(const char *uuid)
{
        static const char *const roots[] = { "/sys/fs/cgroup", "/sys/fs/cgroup/memory",
                                             "/sys/fs/cgroup/pids", "/sys/fs/cgroup/unified" };
        for (size_t k = 0; k < HD_ARRAY_SIZE(roots); k++) {
                char *p = NULL;
                ck_assert_int_ge(asprintf(&p, "%s/hostd/%s", roots[k], uuid), 0);
                bool there = access(p, F_OK) == 0;
                free(p);
                if (there)
                        return true;
        }
        return false;
}

/* ---- tests ------------------------------------------------------------------------------ */

START_TEST(test_driver_reports_itself)
{
        json_t *info = call("GET", "/v1", NULL, 200);
        json_t *ct = json_object_get(json_object_get(info, "drivers"), "container");
        ck_assert_msg(json_is_true(json_object_get(ct, "available")), "container driver: %s",
                      json_dumps(ct, JSON_COMPACT));
        json_decref(info);
}
END_TEST

START_TEST(test_lifecycle_logs_exec_stats)
{
        create("life", "echo hello; echo oops >&2; exec sleep 1000", "");
        json_decref(action("life", "start", NULL));
        json_t *i = get("life");
        ck_assert_str_eq(str(i, "state"), "running");
        json_decref(i);

        /* Logs: both streams, then each alone, then with timestamps. */
        char *all = NULL;
        for (int k = 0; k < 100; k++) {
                free(all);
                all = logs("life", "");
                if (strstr(all, "oops"))
                        break;
                usleep(50000);
        }
        ck_assert_msg(strstr(all, "hello\n") && strstr(all, "oops\n"), "logs: %s", all);
        free(all);
        char *out = logs("life", "?stream=stdout");
        ck_assert_str_eq(out, "hello\n");
        free(out);
        char *ts = logs("life", "?stream=stderr&timestamps=true");
        ck_assert_msg(strlen(ts) > 31 && ts[4] == '-' && ts[10] == 'T' && strstr(ts, "Z oops\n"),
                      "timestamped: %s", ts);
        free(ts);
        json_decref(call("GET", "/v1/instances/life/logs?tail=x", NULL, 400));
        json_decref(call("GET", "/v1/instances/life/logs?stream=both", NULL, 400));

        /* Exec: output, exit code, stdin. */
        json_t *res = exec_in("life", "echo $((6 * 7)); echo err >&2; exit 5", 200);
        ck_assert_int_eq(json_integer_value(json_object_get(res, "exit_code")), 5);
        ck_assert_str_eq(str(res, "stdout"), "42\n");
        ck_assert_str_eq(str(res, "stderr"), "err\n");
        json_decref(res);
        res = call("POST", "/v1/instances/life/exec",
                   "{\"command\": [\"cat\"], \"stdin\": \"piped in\"}", 200);
        ck_assert_str_eq(str(res, "stdout"), "piped in");
        json_decref(res);
        res = call("POST", "/v1/instances/life/exec", "{\"command\": [\"no-such-tool\"]}", 200);
        ck_assert_int_eq(json_integer_value(json_object_get(res, "exit_code")), 127);
        json_decref(res);
        json_decref(call("POST", "/v1/instances/life/exec", "{\"command\": []}", 400));
        json_decref(call("POST", "/v1/instances/life/exec", "{\"cmd\": [\"true\"]}", 400));

        /* Stats from the cgroup. */
        json_t *st = call("GET", "/v1/instances/life/stats", NULL, 200);
        json_t *pids = json_object_get(st, "pids"), *mem = json_object_get(st, "memory");
        ck_assert_int_ge(json_integer_value(json_object_get(pids, "current")), 1);
        ck_assert_int_eq(json_integer_value(json_object_get(pids, "limit")), 1024);
        ck_assert_int_gt(json_integer_value(json_object_get(mem, "usage_bytes")), 0);
        ck_assert_int_eq(json_integer_value(json_object_get(mem, "limit_bytes")), 256 << 20);
        /* A container has no hypervisor: on the host side, only its monitor's share of
         * memory (a small static process, far from a qemu). */
        json_t *host = json_object_get(st, "host");
        ck_assert_msg(json_is_object(host) && json_object_size(host) == 1, "%s",
                      json_dumps(st, JSON_COMPACT));
        json_int_t pss = json_integer_value(json_object_get(host, "pss_bytes"));
        ck_assert_int_gt(pss, 0);
        ck_assert_int_lt(pss, 8 << 20);
        json_decref(st);

        /* Pause and resume through the freezer; exec is refused while paused. */
        json_decref(action("life", "pause", NULL));
        i = get("life");
        ck_assert_str_eq(str(i, "state"), "paused");
        json_decref(i);
        json_decref(exec_in("life", "true", 409));
        json_decref(action("life", "resume", NULL));

        /* Stop, start again, kill. */
        json_decref(action("life", "stop", "{\"timeout\": 5}"));
        i = get("life");
        ck_assert_str_eq(str(i, "state"), "stopped");
        json_decref(i);
        json_decref(exec_in("life", "true", 409));
        json_decref(call("GET", "/v1/instances/life/stats", NULL, 409));
        json_decref(action("life", "start", NULL));
        json_decref(action("life", "kill", "{\"signal\": \"KILL\"}"));
        i = wait_state("life", "exited", 5000);
        ck_assert_int_eq(exit_code(i), 137);
        ck_assert_str_eq(str(i, "reason"), "signal");
        char uuid[64];
        snprintf(uuid, sizeof(uuid), "%s", str(i, "uuid"));
        json_decref(i);

        json_decref(call("DELETE", "/v1/instances/life?wait=60", NULL, 200));
        char dir[512];
        snprintf(dir, sizeof(dir), "%s/containers/%s", d.dir, uuid);
        ck_assert_msg(access(dir, F_OK) != 0, "%s is still there", dir);
        ck_assert(!cgroup_exists(uuid));
}
END_TEST

START_TEST(test_exit_code_is_recorded)
{
        create("three", "exit 3", "");
        json_decref(action("three", "start", NULL));
        json_t *i = wait_state("three", "exited", 10000);
        ck_assert_int_eq(exit_code(i), 3);
        ck_assert_str_eq(str(i, "reason"), "exited");
        json_decref(i);
        /* An exited container starts again. */
        json_decref(action("three", "start", NULL));
        i = wait_state("three", "exited", 10000);
        ck_assert_int_eq(exit_code(i), 3);
        json_decref(i);
}
END_TEST

/* Every probe prints KEY=VALUE; the same script runs as the container's init (read back
 * from the logs) and through exec. */
static const char probes[] =
        "echo pid=$$\n"
        "echo procs=$(ls /proc | grep -c '^[0-9]')\n"
        "echo hostname=$(hostname)\n"
        "grep -E '^(Seccomp|NoNewPrivs|CapInh|CapPrm|CapEff|CapBnd|CapAmb):' /proc/self/status "
        "| tr -d '\\t' | sed 's/:/=/'\n"
        "mount -t tmpfs none /mnt 2>/dev/null; echo mount=$?\n"
        "unshare -m true 2>/dev/null; echo unshare=$?\n"
        "echo kcore=$(cat /proc/kcore 2>/dev/null | wc -c)\n"
        "echo keys=$(cat /proc/keys | wc -c)\n"
        "(echo x > /proc/sys/kernel/hostname) 2>/dev/null; echo sys_write=$?\n"
        "(echo 1 > /proc/sysrq-trigger) 2>/dev/null; echo sysrq_write=$?\n"
        "(echo x >> /proc/1/exe) 2>/dev/null; echo exe_write=$?\n"
        "echo devs=$(ls /dev | tr '\\n' ,)\n"
        "(mknod /tmp/mem c 1 1 && cat /tmp/mem) >/dev/null 2>&1; echo mem=$?\n"
        "echo lo=$(cat /sys/class/net/lo/operstate)\n"
        "echo ifaces=$(ls /sys/class/net | tr '\\n' ,)\n"
        "echo fds=$(ls /proc/self/fd | tr '\\n' ,)\n";

static const char *probe(const char *out, const char *key, char *buf, size_t size)
{
        char pat[64];
        snprintf(pat, sizeof(pat), "%s=", key);
        const char *at = strstr(out, pat);
        ck_assert_msg(at, "no %s in:\n%s", key, out);
        at += strlen(pat);
        size_t n = strcspn(at, "\n");
        snprintf(buf, size, "%.*s", (int)(n < size ? n : size - 1), at);
        return buf;
}

static void check_probes(const char *out, bool as_init)
{
        char b[256];
        if (as_init)
                ck_assert_str_eq(probe(out, "pid", b, sizeof(b)), "1");
        /* pid 1 and the probe's own processes: no host process is visible. */
        ck_assert_int_le(atoi(probe(out, "procs", b, sizeof(b))), 6);
        ck_assert_str_eq(probe(out, "hostname", b, sizeof(b)), "sec");
        ck_assert_str_eq(probe(out, "Seccomp", b, sizeof(b)), "2");
        ck_assert_str_eq(probe(out, "NoNewPrivs", b, sizeof(b)), "1");
        ck_assert_str_eq(probe(out, "CapInh", b, sizeof(b)), "0000000000000000");
        ck_assert_str_eq(probe(out, "CapAmb", b, sizeof(b)), "0000000000000000");
        /* Docker's 14 capabilities. */
        ck_assert_str_eq(probe(out, "CapEff", b, sizeof(b)), "00000000a80425fb");
        ck_assert_str_eq(probe(out, "CapBnd", b, sizeof(b)), "00000000a80425fb");
        ck_assert_str_ne(probe(out, "mount", b, sizeof(b)), "0");
        ck_assert_str_ne(probe(out, "unshare", b, sizeof(b)), "0");
        ck_assert_str_eq(probe(out, "kcore", b, sizeof(b)), "0");
        ck_assert_str_eq(probe(out, "keys", b, sizeof(b)), "0");
        ck_assert_str_ne(probe(out, "sys_write", b, sizeof(b)), "0");
        ck_assert_str_ne(probe(out, "sysrq_write", b, sizeof(b)), "0");
        ck_assert_str_ne(probe(out, "exe_write", b, sizeof(b)), "0");
        ck_assert_str_ne(probe(out, "mem", b, sizeof(b)), "0");
        const char *devs = probe(out, "devs", b, sizeof(b));
        ck_assert_msg(strstr(devs, "null,") && strstr(devs, "urandom,") && !strstr(devs, "sda") &&
                              !strstr(devs, "kmsg") && !strstr(devs, "mem,"),
                      "devs: %s", devs);
        ck_assert_str_eq(probe(out, "ifaces", b, sizeof(b)), "lo,");
        /* Only 0-2 reach the container (plus the fd ls has open on the directory). */
        ck_assert_msg(strcmp(probe(out, "fds", b, sizeof(b)), "0,1,2,3,") == 0, "fds: %s", b);
}

START_TEST(test_isolation_and_security_from_inside)
{
        create("sec", probes, "");
        json_decref(action("sec", "start", NULL));
        json_t *i = wait_state("sec", "exited", 10000);
        ck_assert_int_eq(exit_code(i), 0);
        json_decref(i);
        char *out = logs("sec", "");
        check_probes(out, true);
        free(out);

        /* The same through exec, in a running container. */
        char script[4096];
        snprintf(script, sizeof(script), "%s", "sleep 1000");
        json_decref(call("DELETE", "/v1/instances/sec?wait=60", NULL, 200));
        create("sec", script, "");
        json_decref(action("sec", "start", NULL));
        json_t *res = exec_in("sec", probes, 200);
        check_probes(str(res, "stdout"), false);
        json_decref(res);
}
END_TEST

/* A static probe, pid 1 of a container of its own image, tries every syscall the
 * profile refuses. */
START_TEST(test_forbidden_syscalls_fail_inside)
{
        char *work = hd_test_mkdtemp("probe");
        char cmd[2048];
        snprintf(cmd, sizeof(cmd),
                 "set -e; cd '%s'; mkdir -p root/tmp root/mnt root/proc root/dev root/sys; "
                 "cp '%s' root/probe; tar -C root --owner=0 --group=0 -cf probe.tar . && "
                 "curl -sf -o /dev/null --unix-socket '%s' -X POST -H 'Content-Type: "
                 "application/x-tar' -T probe.tar "
                 "'http://localhost/v1/images?name=probe&kind=container&format=rootfs'",
                 work, HD_TEST_PROBE_BIN, d.socket_path);
        ck_assert_msg(system(cmd) == 0, "building the probe image failed");
        json_decref(call("POST", "/v1/instances",
                         "{\"name\": \"probe\", \"kind\": \"container\", \"image\": "
                         "\"probe\", \"command\": [\"/probe\"]}",
                         201));
        json_decref(action("probe", "start", NULL));
        json_t *i = wait_state("probe", "exited", 10000);
        ck_assert_int_eq(exit_code(i), 0);
        json_decref(i);
        char *out = logs("probe", "");
        static const char *const eperm[] = {
                "mount",           "umount",
                "unshare_user",    "unshare_ns",
                "setns",           "keyctl",
                "add_key",         "bpf",
                "init_module",     "finit_module",
                "delete_module",   "kexec_load",
                "clone_newns",     "perf_event_open",
                "reboot",          "swapoff",
                "settimeofday",    "open_by_handle_at",
                "socket_vsock",    "socket_alg",
                "personality_bad", "pivot_root",
                "open_blk",
        };
        char b[64];
        for (size_t k = 0; k < HD_ARRAY_SIZE(eperm); k++)
                ck_assert_msg(strcmp(probe(out, eperm[k], b, sizeof(b)), "EPERM") == 0,
                              "%s: %s\n%s", eperm[k], b, out);
        ck_assert_str_eq(probe(out, "clone3", b, sizeof(b)), "ENOSYS");
        ck_assert_str_eq(probe(out, "mknod_blk", b, sizeof(b)), "ok");
        /* No CAP_SYS_ADMIN, as in Docker: not even its own hostname. */
        ck_assert_str_eq(probe(out, "sethostname", b, sizeof(b)), "EPERM");
        ck_assert_str_eq(probe(out, "chown", b, sizeof(b)), "ok");
        free(out);
        hd_test_rm_rf(work);
        free(work);
}
END_TEST

START_TEST(test_memory_limit_oom_kills)
{
        create("hog", "x=aaaaaaaaaaaaaaaa; while true; do x=$x$x; done", "\"memory_mb\": 32");
        json_decref(action("hog", "start", NULL));
        json_t *i = wait_state("hog", "exited", 30000);
        ck_assert_str_eq(str(i, "reason"), "oom");
        ck_assert_int_eq(exit_code(i), 137);
        json_decref(i);
}
END_TEST

START_TEST(test_pids_limit_stops_a_fork_bomb)
{
        /* The shell that forks dies when a fork fails; pid 1 waits on without forking. */
        create("bomb",
               "sh -c 'for i in $(seq 1 64); do sleep 100 & done' 2>/dev/null; exec sleep 1000",
               "\"pids_max\": 16");
        json_decref(action("bomb", "start", NULL));
        usleep(500000);
        json_t *st = call("GET", "/v1/instances/bomb/stats", NULL, 200);
        int64_t cur = json_integer_value(json_object_get(json_object_get(st, "pids"), "current"));
        ck_assert_int_le(cur, 16);
        ck_assert_int_ge(cur, 10);
        json_decref(st);
}
END_TEST

START_TEST(test_cpu_quota_holds)
{
        create("spin", "while true; do :; done", "\"vcpus\": 0.5");
        json_decref(action("spin", "start", NULL));
        json_t *a = call("GET", "/v1/instances/spin/stats", NULL, 200);
        sleep(3);
        json_t *b = call("GET", "/v1/instances/spin/stats", NULL, 200);
        double used = (double)(json_integer_value(
                                       json_object_get(json_object_get(b, "cpu"), "usage_ns")) -
                               json_integer_value(
                                       json_object_get(json_object_get(a, "cpu"), "usage_ns"))) /
                      1e9;
        /* 0.5 of a CPU for 3 s, within 15%. */
        ck_assert_msg(used > 1.5 * 0.85 && used < 1.5 * 1.15, "used %.3f s of CPU in 3 s", used);
        json_decref(a);
        json_decref(b);
}
END_TEST

/* resources.cpuset: the container's processes, its init and what exec starts, may run
 * on the CPUs named alone; CPUs the host does not have are refused at create. */
START_TEST(test_cpuset_pins_the_container)
{
        create("pinned", "exec sleep 1000", "\"cpuset\": \"0\"");
        json_t *i = get("pinned");
        ck_assert_str_eq(str(json_object_get(i, "resources"), "cpuset"), "0");
        json_decref(i);
        json_decref(action("pinned", "start", NULL));
        json_t *res =
                exec_in("pinned", "grep Cpus_allowed_list /proc/self/status /proc/1/status", 200);
        ck_assert_int_eq(json_integer_value(json_object_get(res, "exit_code")), 0);
        const char *out = str(res, "stdout");
        ck_assert_msg(strstr(out, "/proc/self/status:Cpus_allowed_list:\t0\n") &&
                              strstr(out, "/proc/1/status:Cpus_allowed_list:\t0\n"),
                      "%s", out);
        json_decref(res);

        /* a CPU this host lacks (no host here has 1024), and a list that is none */
        if (access("/sys/devices/system/cpu/cpu1023", F_OK) != 0) {
                res = call("POST", "/v1/instances",
                           "{\"name\": \"far\", \"kind\": \"container\", \"image\": "
                           "\"busybox\", \"resources\": {\"cpuset\": \"0,1023\"}}",
                           400);
                ck_assert_str_eq(hd_test_error_field(res), "resources.cpuset");
                const char *msg = json_string_value(
                        json_object_get(json_object_get(res, "error"), "message"));
                ck_assert_msg(msg && strstr(msg, "`1023`") && strstr(msg, "online: `"), "%s",
                              msg ? msg : "(none)");
                json_decref(res);
        }
        res = call("POST", "/v1/instances",
                   "{\"name\": \"bad\", \"kind\": \"container\", \"image\": \"busybox\", "
                   "\"resources\": {\"cpuset\": \"1-0\"}}",
                   400);
        ck_assert_str_eq(hd_test_error_field(res), "resources.cpuset");
        json_decref(res);
}
END_TEST

START_TEST(test_containers_outlive_a_hostd_restart)
{
        enum { N = 10 };
        long pids[N];
        char name[32];
        for (int k = 0; k < N; k++) {
                snprintf(name, sizeof(name), "keep%d", k);
                create(name, "exec sleep 1000", "\"memory_mb\": 16, \"vcpus\": 0.1");
                json_decref(action(name, "start", NULL));
                json_t *st = bundle_state(name);
                ck_assert_ptr_nonnull(st);
                pids[k] = (long)json_integer_value(json_object_get(st, "pid"));
                json_decref(st);
                ck_assert(pid_alive(pids[k]));
        }
        ck_assert_int_eq(hd_test_daemon_restart(&d), 0);
        for (int k = 0; k < N; k++) {
                snprintf(name, sizeof(name), "keep%d", k);
                json_t *i = get(name);
                ck_assert_str_eq(str(i, "state"), "running");
                json_decref(i);
                json_t *st = bundle_state(name);
                ck_assert_int_eq(json_integer_value(json_object_get(st, "pid")), pids[k]);
                json_decref(st);
                ck_assert(pid_alive(pids[k]));
                json_decref(action(name, "stop", "{\"timeout\": 2}"));
                ck_assert(!pid_alive(pids[k]));
        }
}
END_TEST

START_TEST(test_exit_while_hostd_is_down_is_recorded)
{
        create("later", "sleep 1; exit 7", "");
        json_decref(action("later", "start", NULL));
        json_t *st = bundle_state("later");
        long pid = (long)json_integer_value(json_object_get(st, "pid"));
        json_decref(st);
        int status = 0;
        ck_assert_int_eq(hd_test_daemon_stop(&d, SIGKILL, &status), 0);
        for (int k = 0; k < 100 && pid_alive(pid); k++)
                usleep(50000);
        ck_assert(!pid_alive(pid));
        ck_assert_int_eq(hd_test_daemon_restart(&d), 0);
        json_t *i = get("later");
        ck_assert_str_eq(str(i, "state"), "exited");
        ck_assert_int_eq(exit_code(i), 7);
        json_decref(i);
}
END_TEST

static int count_lines(const char *text, const char *line)
{
        int n = 0;
        for (const char *p = text; (p = strstr(p, line)); p += strlen(line))
                n++;
        return n;
}

START_TEST(test_restart_policies)
{
        /* on-failure with 2 retries: three runs in all, then it stays exited. */
        char body[512];
        snprintf(body, sizeof(body),
                 "{\"name\": \"flaky\", \"kind\": \"container\", \"image\": \"busybox\", "
                 "\"command\": [\"sh\", \"-c\", \"echo run; exit 1\"], \"restart_policy\": "
                 "{\"name\": \"on-failure\", \"max_retries\": 2}}");
        json_decref(call("POST", "/v1/instances", body, 201));
        json_decref(action("flaky", "start", NULL));
        char *out = NULL;
        for (int k = 0; k < 100; k++) {
                free(out);
                out = logs("flaky", "");
                if (count_lines(out, "run\n") >= 3)
                        break;
                usleep(50000);
        }
        usleep(1500000); /* a fourth run would have come by now */
        free(out);
        out = logs("flaky", "");
        ck_assert_msg(count_lines(out, "run\n") == 3, "runs: %s", out);
        free(out);
        json_t *i = wait_state("flaky", "exited", 5000);
        ck_assert_int_eq(exit_code(i), 1);
        json_decref(i);

        /* always, even after a clean exit; a stop ends it. */
        snprintf(body, sizeof(body),
                 "{\"name\": \"again\", \"kind\": \"container\", \"image\": \"busybox\", "
                 "\"command\": [\"sh\", \"-c\", \"echo run; sleep 0.2\"], \"restart_policy\": "
                 "{\"name\": \"always\"}}");
        json_decref(call("POST", "/v1/instances", body, 201));
        json_decref(action("again", "start", NULL));
        int runs = 0;
        for (int k = 0; k < 100 && runs < 3; k++) {
                out = logs("again", "");
                runs = count_lines(out, "run\n");
                free(out);
                usleep(50000);
        }
        ck_assert_int_ge(runs, 3);
        for (int k = 0; k < 100; k++) {
                i = get("again");
                bool running = strcmp(str(i, "state"), "running") == 0;
                json_decref(i);
                if (running)
                        break;
                usleep(20000);
        }
        json_decref(action("again", "stop", "{\"timeout\": 2}"));
        out = logs("again", "");
        runs = count_lines(out, "run\n");
        free(out);
        usleep(1500000);
        out = logs("again", "");
        ck_assert_int_eq(count_lines(out, "run\n"), runs);
        free(out);
        i = get("again");
        ck_assert_str_eq(str(i, "state"), "stopped");
        json_decref(i);
}
END_TEST

static int count_mounts_under(const char *dir)
{
        FILE *f = fopen("/proc/self/mountinfo", "re");
        char line[4096];
        int n = 0;
        while (f && fgets(line, sizeof(line), f))
                if (strstr(line, dir))
                        n++;
        if (f)
                fclose(f);
        return n;
}

START_TEST(test_delete_leaves_nothing_behind)
{
        enum { N = 50 };
        char name[32], uuids[N][64];
        long pids[N];
        for (int k = 0; k < N; k++) {
                snprintf(name, sizeof(name), "gone%d", k);
                create(name, "exec sleep 1000", "\"memory_mb\": 16, \"vcpus\": 0.1");
                json_decref(action(name, "start", NULL));
                json_t *i = get(name);
                snprintf(uuids[k], sizeof(uuids[k]), "%s", str(i, "uuid"));
                json_decref(i);
                json_t *st = bundle_state(name);
                pids[k] = (long)json_integer_value(json_object_get(st, "pid"));
                json_decref(st);
        }
        for (int k = 0; k < N; k++) {
                char path[128];
                snprintf(path, sizeof(path), "/v1/instances/gone%d?force=true&wait=60", k);
                json_decref(call("DELETE", path, NULL, 200));
        }
        for (int k = 0; k < N; k++) {
                ck_assert_msg(!pid_alive(pids[k]), "container %d (pid %ld) runs on", k, pids[k]);
                ck_assert_msg(!cgroup_exists(uuids[k]), "cgroup of %s left", uuids[k]);
        }
        char cdir[512];
        snprintf(cdir, sizeof(cdir), "%s/containers", d.dir);
        DIR *dir = opendir(cdir);
        struct dirent *de;
        int left = 0;
        while (dir && (de = readdir(dir)))
                if (strlen(de->d_name) == 36)
                        left++;
        if (dir)
                closedir(dir);
        ck_assert_int_eq(left, 0);
        ck_assert_int_eq(count_mounts_under(d.dir), 0);
}
END_TEST

/* ---- security knobs ---------------------------------------------------------------------- */

/* POSTs container NAME running script with "security": SECURITY; want is the status.
 * Returns the response body. */
static json_t *create_secured(const char *name, const char *script, const char *security, int want)
{
        json_t *cmd = json_pack("[s, s, s]", "sh", "-c", script);
        char *cmd_s = json_dumps(cmd, JSON_COMPACT);
        char body[8192];
        snprintf(body, sizeof(body),
                 "{\"name\": \"%s\", \"kind\": \"container\", \"image\": \"busybox\", "
                 "\"command\": %s, \"security\": %s}",
                 name, cmd_s, security);
        json_t *res = call("POST", "/v1/instances", body, want);
        free(cmd_s);
        json_decref(cmd);
        return res;
}

/* The knob is refused with 403 naming field. */
static void expect_forbidden(const char *security, const char *field)
{
        json_t *res = create_secured("knob", "true", security, 403);
        ck_assert_msg(strcmp(hd_test_error_field(res) ? hd_test_error_field(res) : "", field) == 0,
                      "%s: %s", security, json_dumps(res, JSON_COMPACT));
        ck_assert_msg(strstr(hd_test_error_message(res), "allow-privileged"), "%s: %s", security,
                      hd_test_error_message(res));
        json_decref(res);
}

/* The lines of /proc/self/status the checks read, as KEY=VALUE. */
static const char status_probe[] = "grep -E '^(Seccomp|NoNewPrivs|CapInh|CapPrm|CapEff|CapBnd|"
                                   "CapAmb):' /proc/self/status | tr -d '\\t' | sed 's/:/=/'";

/* exec of script in NAME: its stdout (caller frees), which must come with exit code 0. */
static char *exec_ok(const char *name, const char *script)
{
        json_t *res = exec_in(name, script, 200);
        ck_assert_msg(json_integer_value(json_object_get(res, "exit_code")) == 0, "%s: %s", script,
                      json_dumps(res, JSON_COMPACT));
        char *out = strdup(str(res, "stdout"));
        json_decref(res);
        return out;
}

/* Every capability this process may hand on (hostd inherits our bounding set), as
 * /proc/PID/status prints it. */
static void all_caps_hex(char out[17])
{
        FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
        int last = 40;
        ck_assert_ptr_nonnull(f);
        ck_assert_int_eq(fscanf(f, "%d", &last), 1);
        fclose(f);
        unsigned long long all = 0;
        for (int c = 0; c <= last; c++)
                if (prctl(PR_CAPBSET_READ, (unsigned long)c, 0, 0, 0) == 1)
                        all |= 1ULL << c;
        snprintf(out, 17, "%016llx", all);
}

START_TEST(test_privileged_knobs_need_allow_privileged)
{
        expect_forbidden("{\"privileged\": true}", "security.privileged");
        expect_forbidden("{\"cap_add\": [\"NET_ADMIN\"]}", "security.cap_add[0]");
        expect_forbidden("{\"cap_add\": [\"CAP_CHOWN\", \"sys_admin\"]}", "security.cap_add[1]");
        expect_forbidden("{\"cap_add\": [\"ALL\"]}", "security.cap_add[0]");
        expect_forbidden("{\"seccomp\": \"unconfined\"}", "security.seccomp");
        /* What takes nothing from the host needs nothing: a default capability added,
         * any dropped, the default profile named, a user namespace. */
        static const char *const fine[] = {
                "{\"cap_add\": [\"CHOWN\"]}", "{\"cap_drop\": [\"ALL\"]}",
                "{\"seccomp\": \"default\"}", "{\"userns\": true}",
                "{\"privileged\": false}",
        };
        for (size_t k = 0; k < HD_ARRAY_SIZE(fine); k++) {
                json_decref(create_secured("fine", "true", fine[k], 201));
                json_decref(call("DELETE", "/v1/instances/fine?wait=60", NULL, 200));
        }
        /* privileged with userns makes no sense, allowed or not. */
        json_t *res =
                create_secured("both", "true", "{\"privileged\": true, \"userns\": true}", 400);
        ck_assert_str_eq(hd_test_error_field(res), "security.userns");
        json_decref(res);
}
END_TEST

START_TEST(test_privileged_container)
{
        json_decref(create_secured("priv", "exec sleep 1000", "{\"privileged\": true}", 201));
        json_decref(action("priv", "start", NULL));
        char *out = exec_ok("priv", status_probe), b[64], all[17];
        all_caps_hex(all);
        ck_assert_str_eq(probe(out, "CapEff", b, sizeof(b)), all);
        ck_assert_str_eq(probe(out, "CapBnd", b, sizeof(b)), all);
        ck_assert_str_eq(probe(out, "CapInh", b, sizeof(b)), "0000000000000000");
        ck_assert_str_eq(probe(out, "CapAmb", b, sizeof(b)), "0000000000000000");
        ck_assert_str_eq(probe(out, "Seccomp", b, sizeof(b)), "0");
        ck_assert_str_eq(probe(out, "NoNewPrivs", b, sizeof(b)), "1");
        free(out);

        /* The host's devices, usable (the device cgroup allows them all). */
        static const char *const devs[] = { "kmsg", "loop0", "fuse", "net/tun" };
        for (size_t k = 0; k < HD_ARRAY_SIZE(devs); k++) {
                char host[64], script[256];
                snprintf(host, sizeof(host), "/dev/%s", devs[k]);
                struct stat st;
                if (stat(host, &st) < 0)
                        continue;
                snprintf(script, sizeof(script), "stat -c %%t:%%T %s", host);
                out = exec_ok("priv", script);
                char want[32];
                snprintf(want, sizeof(want), "%x:%x\n", major(st.st_rdev), minor(st.st_rdev));
                ck_assert_str_eq(out, want);
                free(out);
        }
        if (access("/dev/kmsg", F_OK) == 0) {
                out = exec_ok("priv", "dd if=/dev/kmsg bs=8192 count=1 2>/dev/null | wc -c");
                ck_assert_msg(atoi(out) > 0, "read %s bytes of /dev/kmsg", out);
                free(out);
        }
        /* Nothing masked or read-only; /sys read-write. */
        out = exec_ok("priv",
                      "echo timer_list=$(wc -c </proc/timer_list); "
                      "echo ro=$(awk '$5 == \"/proc/sys\" || $5 == \"/proc/sysrq-trigger\"' "
                      "/proc/self/mountinfo | wc -l); "
                      "echo sys=$(awk '$5 == \"/sys\" {print substr($6, 1, 2)}' "
                      "/proc/self/mountinfo)");
        ck_assert_int_gt(atoi(probe(out, "timer_list", b, sizeof(b))), 0);
        ck_assert_str_eq(probe(out, "ro", b, sizeof(b)), "0");
        ck_assert_str_eq(probe(out, "sys", b, sizeof(b)), "rw");
        free(out);
}
END_TEST

/* An interface of its own: a dummy where the kernel has them, a bridge otherwise. */
static const char add_link[] = "(ip link add hd0 type dummy 2>/dev/null || ip link add hd0 type "
                               "bridge) && ip link show hd0";

START_TEST(test_cap_add_and_cap_drop)
{
        json_decref(
                create_secured("netadm", "exec sleep 1000", "{\"cap_add\": [\"NET_ADMIN\"]}", 201));
        json_decref(action("netadm", "start", NULL));
        char *out = exec_ok("netadm", status_probe), b[64];
        /* Docker's 14 and CAP_NET_ADMIN (12). */
        ck_assert_str_eq(probe(out, "CapEff", b, sizeof(b)), "00000000a80435fb");
        ck_assert_str_eq(probe(out, "CapBnd", b, sizeof(b)), "00000000a80435fb");
        ck_assert_str_eq(probe(out, "Seccomp", b, sizeof(b)), "2");
        free(out);
        out = exec_ok("netadm", add_link);
        ck_assert_msg(strstr(out, "hd0"), "%s", out);
        free(out);

        /* The same without it is refused. */
        create("plain", "exec sleep 1000", "");
        json_decref(action("plain", "start", NULL));
        json_t *res = exec_in("plain", add_link, 200);
        ck_assert_int_ne(json_integer_value(json_object_get(res, "exit_code")), 0);
        json_decref(res);

        json_decref(
                create_secured("nochown", "exec sleep 1000", "{\"cap_drop\": [\"CHOWN\"]}", 201));
        json_decref(action("nochown", "start", NULL));
        out = exec_ok("nochown", status_probe);
        ck_assert_str_eq(probe(out, "CapEff", b, sizeof(b)), "00000000a80425fa");
        free(out);
        res = exec_in("nochown", "touch /tmp/f && chown 1:1 /tmp/f", 200);
        ck_assert_int_ne(json_integer_value(json_object_get(res, "exit_code")), 0);
        ck_assert_msg(strstr(str(res, "stderr"), "Operation not permitted"), "%s",
                      str(res, "stderr"));
        json_decref(res);
        /* The rest of the default set still works: CAP_MKNOD, CAP_FOWNER. */
        out = exec_ok("nochown", "mknod /tmp/null c 1 3 && chmod 600 /etc/passwd && echo ok");
        ck_assert_str_eq(out, "ok\n");
        free(out);
}
END_TEST

START_TEST(test_seccomp_unconfined)
{
        json_decref(create_secured("nofilter", "exec sleep 1000", "{\"seccomp\": \"unconfined\"}",
                                   201));
        json_decref(action("nofilter", "start", NULL));
        char *out = exec_ok("nofilter", status_probe), b[64];
        ck_assert_str_eq(probe(out, "Seccomp", b, sizeof(b)), "0");
        ck_assert_str_eq(probe(out, "CapEff", b, sizeof(b)), "00000000a80425fb");
        ck_assert_str_eq(probe(out, "NoNewPrivs", b, sizeof(b)), "1");
        free(out);
        /* No filter, but no CAP_SYS_ADMIN either: still no mount. */
        json_t *res = exec_in("nofilter", "mount -t tmpfs none /mnt", 200);
        ck_assert_int_ne(json_integer_value(json_object_get(res, "exit_code")), 0);
        json_decref(res);
}
END_TEST

static char *uuid_of(const char *name)
{
        json_t *i = get(name);
        char *u = strdup(str(i, "uuid"));
        json_decref(i);
        return u;
}

static void expect_uid_map(const char *name, unsigned base)
{
        char *out = exec_ok(name, "awk '{print $1, $2, $3}' /proc/self/uid_map /proc/self/gid_map");
        char want[128];
        snprintf(want, sizeof(want), "0 %u 65536\n0 %u 65536\n", base, base);
        ck_assert_str_eq(out, want);
        free(out);
}

START_TEST(test_userns_container)
{
        /* No allow-privileged needed: a user namespace takes nothing from the host. */
        json_decref(create_secured("uns", "exec sleep 1000", "{\"userns\": true}", 201));
        json_decref(action("uns", "start", NULL));
        char *uuid = uuid_of("uns");
        char dir[512];
        snprintf(dir, sizeof(dir), "%s/containers/%s", d.dir, uuid);

        expect_uid_map("uns", 1000000);
        /* The image's files are root's inside, though nobody chowned the shared layers. */
        char *out = exec_ok("uns", "id -u; stat -c %u:%g /bin/busybox /etc/passwd /");
        ck_assert_str_eq(out, "0\n0:0\n0:0\n0:0\n");
        free(out);
        /* What its root creates is the mapped id's on the host. */
        free(exec_ok("uns", "touch /tmp/made"));
        char path[640];
        snprintf(path, sizeof(path), "%s/upper/tmp/made", dir);
        struct stat st;
        ck_assert_int_eq(stat(path, &st), 0);
        ck_assert_uint_eq(st.st_uid, 1000000);
        ck_assert_uint_eq(st.st_gid, 1000000);
        /* Its root is not the host's: the default capabilities, but only over what its
         * namespace owns. No device node (CAP_MKNOD does not reach the host's devices),
         * no chown to an id outside the map, the host's files are nobody's. */
        out = exec_ok("uns", status_probe);
        char b[64];
        ck_assert_str_eq(probe(out, "CapEff", b, sizeof(b)), "00000000a80425fb");
        ck_assert_str_eq(probe(out, "Seccomp", b, sizeof(b)), "2");
        free(out);
        json_t *res = exec_in("uns", "mknod /tmp/null c 1 3", 200);
        ck_assert_int_ne(json_integer_value(json_object_get(res, "exit_code")), 0);
        json_decref(res);
        res = exec_in("uns", "chown 70000 /tmp/made", 200);
        ck_assert_int_ne(json_integer_value(json_object_get(res, "exit_code")), 0);
        json_decref(res);
        out = exec_ok("uns", "stat -c %u /sys/kernel /proc/sys/kernel/ostype");
        ck_assert_str_eq(out, "65534\n65534\n");
        free(out);
        /* The id-mapped layers and the overlay never show on the host. */
        ck_assert_int_eq(count_mounts_under(d.dir), 0);

        /* A second one gets the next range; the first keeps its own across a hostd restart
         * and its own restart. */
        json_decref(create_secured("uns2", "exec sleep 1000", "{\"userns\": true}", 201));
        json_decref(action("uns2", "start", NULL));
        expect_uid_map("uns2", 1000000 + 65536);
        ck_assert_int_eq(hd_test_daemon_restart(&d), 0);
        json_decref(action("uns", "restart", "{\"timeout\": 2}"));
        expect_uid_map("uns", 1000000);
        out = exec_ok("uns", "ls /tmp/made");
        ck_assert_str_eq(out, "/tmp/made\n");
        free(out);

        /* Gone with its range: a new one takes the freed range. */
        json_decref(call("DELETE", "/v1/instances/uns?force=true&wait=60", NULL, 200));
        ck_assert_msg(access(dir, F_OK) != 0, "%s is still there", dir);
        ck_assert_int_eq(count_mounts_under(uuid), 0);
        ck_assert_int_eq(count_mounts_under(d.dir), 0);
        json_decref(create_secured("uns3", "exec sleep 1000", "{\"userns\": true}", 201));
        json_decref(action("uns3", "start", NULL));
        expect_uid_map("uns3", 1000000);
        free(uuid);
}
END_TEST

int main(void)
{
        if (geteuid() != 0) {
                fprintf(stderr, "SKIP: containers need root\n");
                return 77;
        }
        if (!have_image()) {
                fprintf(stderr, "SKIP: %s/busybox.oci.tar not built (images/busybox test)\n",
                        HD_TEST_IMAGES_DIR);
                return 77;
        }
        hd_test_init();
        Suite *s = suite_create("containers");
        TCase *tc = tcase_create("containers");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 240);
        tcase_add_test(tc, test_driver_reports_itself);
        tcase_add_test(tc, test_lifecycle_logs_exec_stats);
        tcase_add_test(tc, test_exit_code_is_recorded);
        tcase_add_test(tc, test_isolation_and_security_from_inside);
        tcase_add_test(tc, test_forbidden_syscalls_fail_inside);
        tcase_add_test(tc, test_memory_limit_oom_kills);
        tcase_add_test(tc, test_pids_limit_stops_a_fork_bomb);
        tcase_add_test(tc, test_cpu_quota_holds);
        tcase_add_test(tc, test_cpuset_pins_the_container);
        tcase_add_test(tc, test_containers_outlive_a_hostd_restart);
        tcase_add_test(tc, test_exit_while_hostd_is_down_is_recorded);
        tcase_add_test(tc, test_restart_policies);
        tcase_add_test(tc, test_delete_leaves_nothing_behind);
        suite_add_tcase(s, tc);
        tc = tcase_create("security");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 240);
        tcase_add_test(tc, test_privileged_knobs_need_allow_privileged);
        tcase_add_test(tc, test_userns_container);
        suite_add_tcase(s, tc);
        tc = tcase_create("privileged");
        tcase_add_checked_fixture(tc, setup_privileged, teardown);
        tcase_set_timeout(tc, 240);
        tcase_add_test(tc, test_privileged_container);
        tcase_add_test(tc, test_cap_add_and_cap_drop);
        tcase_add_test(tc, test_seccomp_unconfined);
        suite_add_tcase(s, tc);
        SRunner *sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        hd_test_fini(failed);
        return failed ? 1 : 0;
}
