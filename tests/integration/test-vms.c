/* The VM driver through the API, as root, with real guests under libvirt's embedded QEMU
 * driver (TCG here): the tiny kernel bundle boots to its HOSTD-READY marker; lifecycle,
 * console logs and stats; exec through the guest agent; a guest that powers itself off; a
 * guest that ignores the ACPI power button; guests outliving hostd (SIGTERM and SIGKILL)
 * and a qemu that dies; qcow2 overlays that never write their image; the cloud-init seed
 * ISO; bad specs that define nothing.
 *
 * Every domain a test makes is deleted through the API in the teardown; a qemu that
 * survives anyway (a test that failed before its teardown) is killed by its command line,
 * which names the test's own state dir, and its cgroups removed. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "itest-calls.h"
#include "hd-macro.h"

static HdTestDaemon d;
static char bundle[512];

static int64_t now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- stray qemus --------------------------------------------------------------------- */

static char *read_text(const char *path, size_t *ret_len)
{
        char *text = NULL;
        size_t len = 0;
        if (hd_test_read_file(path, &text, &len) < 0)
                return NULL;
        if (ret_len)
                *ret_len = len;
        return text;
}

static bool pid_gone(long pid)
{
        char path[64];
        snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
        char *st = read_text(path, NULL);
        if (!st)
                return true;
        const char *close_paren = strrchr(st, ')');
        bool zombie = close_paren && close_paren[1] == ' ' && close_paren[2] == 'Z';
        free(st);
        return zombie;
}

/* Removes the cgroups libvirt made for a qemu it no longer manages (named qemu-embed-…). */
static void remove_cgroups(const char *cgroup_file_text)
{
        char *copy = strdup(cgroup_file_text), *save = NULL;
        for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
                if (!c2 || !strstr(c2 + 1, "qemu-embed-"))
                        continue;
                *c2 = '\0';
                const char *ctrls = c1 + 1, *path = c2 + 1;
                char *cs = strdup(*ctrls ? ctrls : "unified"), *s2 = NULL;
                for (char *c = strtok_r(cs, ",", &s2); c; c = strtok_r(NULL, ",", &s2)) {
                        if (strncmp(c, "name=", 5) == 0)
                                c += 5;
                        char dir[1024];
                        snprintf(dir, sizeof(dir), "/sys/fs/cgroup/%s%s", c, path);
                        (void)rmdir(dir);
                }
                free(cs);
        }
        free(copy);
}

/* Kills every qemu whose command line names a path under prefix; returns how many. */
static int reap_qemus(const char *prefix)
{
        int found = 0;
        DIR *proc = opendir("/proc");
        struct dirent *de;
        size_t plen = strlen(prefix);
        while (proc && (de = readdir(proc))) {
                char *end = NULL;
                long pid = strtol(de->d_name, &end, 10);
                if (pid <= 1 || *end)
                        continue;
                char path[64];
                size_t len = 0;
                snprintf(path, sizeof(path), "/proc/%ld/cmdline", pid);
                char *cmd = read_text(path, &len);
                if (!cmd)
                        continue;
                const char *base = strrchr(cmd, '/');
                bool qemu = strncmp(base ? base + 1 : cmd, "qemu-system", 11) == 0;
                bool ours = false;
                for (size_t k = 0; qemu && k + plen < len; k++)
                        if (memcmp(cmd + k, prefix, plen) == 0 && cmd[k + plen] == '/')
                                ours = true;
                free(cmd);
                if (!ours)
                        continue;
                snprintf(path, sizeof(path), "/proc/%ld/cgroup", pid);
                char *cg = read_text(path, NULL);
                fprintf(stderr, "killing stray qemu %ld (of %s)\n", pid, prefix);
                kill((pid_t)pid, SIGKILL);
                for (int k = 0; k < 200 && !pid_gone(pid); k++)
                        usleep(25000);
                if (cg)
                        remove_cgroups(cg);
                free(cg);
                found++;
        }
        if (proc)
                closedir(proc);
        return found;
}

/* ---- the daemon ---------------------------------------------------------------------- */

static void import(const char *name, const char *tar)
{
        char cmd[2048];
        snprintf(cmd, sizeof(cmd),
                 "curl -sf -o /dev/null --unix-socket '%s' -X POST -H 'Content-Type: "
                 "application/x-tar' -T '%s' "
                 "'http://localhost/v1/images?name=%s&kind=vm&format=kernel'",
                 d.socket_path, tar, name);
        ck_assert_msg(system(cmd) == 0, "importing %s as %s failed", tar, name);
}

static void setup(void)
{
        ck_assert_int_eq(hd_test_daemon_start(&d, NULL), 0);
        import("tiny", bundle);
}

static void teardown(void)
{
        if (d.pid > 0) {
                /* Through the API: libvirt destroys and undefines, and removes its cgroups. */
                itest_delete_all(&d);
                (void)hd_test_daemon_stop(&d, SIGTERM, NULL);
        }
        if (d.dir)
                reap_qemus(d.dir);
        hd_test_daemon_cleanup(&d);
}

/* ---- helpers ------------------------------------------------------------------------- */

static json_t *call(const char *method, const char *path, const char *body, int want)
{
        return itest_call(&d, method, path, body, want);
}

static const char *str(const json_t *j, const char *key)
{
        return itest_str(j, key);
}

static void create(const char *name, const char *image, const char *extra)
{
        char body[1024];
        snprintf(body, sizeof(body),
                 "{\"name\": \"%s\", \"kind\": \"vm\", \"image\": \"%s\", "
                 "\"resources\": {\"vcpus\": 1, \"memory_mb\": 256%s}}",
                 name, image, extra);
        json_decref(call("POST", "/v1/instances", body, 201));
}

static json_t *action(const char *name, const char *what, const char *body)
{
        return itest_action(&d, name, what, body, 90);
}

static json_t *get(const char *name)
{
        return itest_get(&d, name);
}

static void assert_state(const char *name, const char *state)
{
        json_t *i = get(name);
        ck_assert_msg(strcmp(str(i, "state"), state) == 0, "%s is %s, not %s", name,
                      str(i, "state"), state);
        json_decref(i);
}

static json_t *wait_state(const char *name, const char *state, int timeout_ms)
{
        return itest_wait_state(&d, name, state, timeout_ms, 100);
}

static char *logs(const char *name, const char *query)
{
        return itest_logs(&d, name, query);
}

static int count(const char *hay, const char *needle)
{
        int n = 0;
        for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
                n++;
        return n;
}

/* Waits until the console shows marker at least n times; returns the ms it took. */
static int64_t wait_console(const char *name, const char *marker, int n, int timeout_ms)
{
        int64_t t0 = now_ms();
        for (;;) {
                char *text = logs(name, "");
                int seen = count(text, marker);
                free(text);
                if (seen >= n)
                        return now_ms() - t0;
                ck_assert_msg(now_ms() - t0 < timeout_ms, "%s: %d x %s on the console after %d ms",
                              name, seen, marker, timeout_ms);
                usleep(50000);
        }
}

/* The instance's ready_at, malloc'd, or NULL while it is null. */
static char *ready_at(const char *name)
{
        json_t *i = get(name);
        json_t *ready = json_object_get(i, "ready_at");
        ck_assert_msg(ready, "%s has no ready_at member", name);
        char *at = json_is_null(ready) ? NULL : strdup(json_string_value(ready));
        json_decref(i);
        return at;
}

/* Once the console shows the marker, ready_at follows within the watcher's poll; it is
 * returned (malloc'd) and is no earlier than not_before (an API time, or NULL). */
static char *check_ready_at(const char *name, const char *not_before)
{
        for (int k = 0; k < 50; k++) {
                char *at = ready_at(name);
                if (at) {
                        ck_assert_msg(!not_before || strcmp(at, not_before) >= 0,
                                      "%s: ready_at %s is before %s", name, at, not_before);
                        return at;
                }
                usleep(100000);
        }
        ck_abort_msg("%s: ready_at still null after its console showed HOSTD-READY", name);
        return NULL;
}

static char *uuid_of(const char *name)
{
        json_t *i = get(name);
        char *u = strdup(str(i, "uuid"));
        json_decref(i);
        return u;
}

static HD_PRINTF(1, 2) bool exists(const char *fmt, ...)
{
        char path[1024];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(path, sizeof(path), fmt, ap);
        va_end(ap);
        return access(path, F_OK) == 0;
}

/* libvirt's record of the domain: its persistent definition under the embedded root. */
static bool domain_defined(const char *name)
{
        return exists("%s/libvirt/etc/qemu/hostd-%s.xml", d.dir, name);
}

/* The running domain's XML as libvirt keeps it (its status file); NULL when it runs not. */
static char *live_xml(const char *name)
{
        char path[1024];
        snprintf(path, sizeof(path), "%s/libvirt/run/qemu/hostd-%s.xml", d.dir, name);
        return read_text(path, NULL);
}

/* The source file of the first cdrom in a domain XML, malloc'd; NULL without a cdrom. */
static char *cdrom_source(const char *xml)
{
        const char *disk = xml ? strstr(xml, "device='cdrom'") : NULL;
        const char *end = disk ? strstr(disk, "</disk>") : NULL;
        const char *src = disk ? strstr(disk, "<source file='") : NULL;
        if (!end || !src || src > end)
                return NULL;
        src += strlen("<source file='");
        return strndup(src, strcspn(src, "'"));
}

static long qemu_pid(const char *name)
{
        char path[1024];
        snprintf(path, sizeof(path), "%s/libvirt/run/qemu/hostd-%s.pid", d.dir, name);
        char *text = read_text(path, NULL);
        long pid = text ? atol(text) : 0;
        free(text);
        return pid;
}

/* A copy of the tiny bundle whose cmdline has extra appended; returns its path. */
static char *make_bundle(const char *tag, const char *extra)
{
        char *dir = hd_test_mkdtemp(tag);
        ck_assert_ptr_nonnull(dir);
        char *out = NULL, cmd[4096];
        ck_assert_int_ge(asprintf(&out, "%s.tar", dir), 0);
        snprintf(cmd, sizeof(cmd),
                 "tar -xf '%s' -C '%s' && printf ' %%s' '%s' >> '%s/cmdline' && "
                 "tar --format=ustar -C '%s' -cf '%s' vmlinuz initrd cmdline",
                 bundle, dir, extra, dir, dir, out);
        ck_assert_msg(system(cmd) == 0, "repacking the bundle failed: %s", cmd);
        hd_test_rm_rf(dir);
        free(dir);
        return out;
}

/* POST /v1/instances/NAME/exec with body (stolen), which must answer want. */
static json_t *exec_in(const char *name, json_t *body, int want)
{
        char path[256];
        snprintf(path, sizeof(path), "/v1/instances/%s/exec", name);
        char *text = json_dumps(body, JSON_COMPACT);
        json_decref(body);
        json_t *r = call("POST", path, text, want);
        free(text);
        return r;
}

/* An exec's answer (consumed): the command ended by itself with code, out and err. */
static void assert_exec(json_t *r, int code, const char *out, const char *err)
{
        char *dump = json_dumps(r, JSON_COMPACT);
        ck_assert_msg(json_integer_value(json_object_get(r, "exit_code")) == code &&
                              json_is_false(json_object_get(r, "timed_out")) &&
                              json_is_false(json_object_get(r, "truncated")) &&
                              strcmp(str(r, "encoding"), "utf-8") == 0,
                      "want exit code %d: %s", code, dump);
        ck_assert_msg(strcmp(str(r, "stdout"), out) == 0, "stdout: %s", dump);
        if (err)
                ck_assert_msg(strcmp(str(r, "stderr"), err) == 0, "stderr: %s", dump);
        free(dump);
        json_decref(r);
}

/* ---- tests --------------------------------------------------------------------------- */

START_TEST(test_lifecycle_console_stats)
{
        json_t *info = call("GET", "/v1", NULL, 200);
        json_t *vm = json_object_get(json_object_get(info, "drivers"), "vm");
        ck_assert_msg(json_is_true(json_object_get(vm, "available")), "vm driver: %s",
                      json_dumps(vm, JSON_COMPACT));
        json_decref(info);

        create("v1", "tiny", "");
        char *uuid = uuid_of("v1");
        int64_t t0 = now_ms();
        ck_assert_ptr_null(ready_at("v1"));
        json_t *op = action("v1", "start", NULL);
        int64_t started = now_ms() - t0;
        assert_state("v1", "running");
        ck_assert(domain_defined("v1"));
        int64_t ready = started + wait_console("v1", "HOSTD-READY", 1, 30000);
        fprintf(stderr, "v1: start returned after %lld ms, console ready after %lld ms\n",
                (long long)started, (long long)ready);
        char *first_ready = check_ready_at("v1", str(op, "created_at"));
        json_decref(op);
        /* The kernel came from the shared cache, the console is the instance's. */
        ck_assert(exists("%s/vms/%s/console.log", d.dir, uuid));
        /* No cloud_init: no seed, no cdrom. */
        ck_assert(!exists("%s/vms/%s/seed.iso", d.dir, uuid));
        char *xml = live_xml("v1");
        ck_assert_ptr_nonnull(xml);
        ck_assert_ptr_null(strstr(xml, "device='cdrom'"));
        free(xml);

        /* Logs: tail, and a follow that ends when the guest stops (checked below). */
        char *tail = logs("v1", "?tail=1");
        ck_assert_int_le(count(tail, "\n"), 1);
        free(tail);

        json_t *st = call("GET", "/v1/instances/v1/stats", NULL, 200);
        json_t *cpu = json_object_get(st, "cpu"), *mem = json_object_get(st, "memory");
        /* The guest's own figures, then what qemu costs the host. */
        json_int_t vcpu_ns = json_integer_value(json_object_get(cpu, "usage_ns"));
        ck_assert_int_gt(vcpu_ns, 0);
        ck_assert_int_gt(json_integer_value(json_object_get(mem, "usage_bytes")), 16 << 20);
        ck_assert_int_le(json_integer_value(json_object_get(mem, "usage_bytes")), 256 << 20);
        ck_assert_int_eq(json_integer_value(json_object_get(mem, "limit_bytes")), 256 << 20);
        json_t *host = json_object_get(st, "host");
        ck_assert_msg(json_is_object(host), "%s", json_dumps(st, JSON_COMPACT));
        ck_assert_int_ge(json_integer_value(json_object_get(host, "cpu_ns")), vcpu_ns);
        ck_assert_int_gt(json_integer_value(json_object_get(host, "rss_bytes")), 16 << 20);
        ck_assert_int_ge(json_integer_value(json_object_get(host, "rss_peak_bytes")),
                         json_integer_value(json_object_get(host, "rss_bytes")));
        /* qemu's share of the pages it maps: shared libraries count in part. */
        json_int_t pss = json_integer_value(json_object_get(host, "pss_bytes"));
        ck_assert_int_gt(pss, 0);
        ck_assert_int_le(pss, json_integer_value(json_object_get(host, "rss_bytes")));
        json_decref(st);

        /* This guest runs no guest agent: exec cannot, and says why. */
        json_t *no = call("POST", "/v1/instances/v1/exec", "{\"command\": [\"true\"]}", 503);
        const char *why = str(json_object_get(no, "error"), "message");
        ck_assert_msg(strstr(why, "guest agent") && strstr(why, "not connected"), "%s", why);
        json_decref(no);

        json_decref(action("v1", "pause", NULL));
        assert_state("v1", "paused");
        long pid = qemu_pid("v1");
        ck_assert_int_gt(pid, 0);
        json_decref(action("v1", "resume", NULL));
        assert_state("v1", "running");

        /* ACPI: the guest's acpid powers it off, long before the 60 s timeout. */
        t0 = now_ms();
        json_decref(action("v1", "stop", "{\"timeout\": 60}"));
        int64_t stop_ms = now_ms() - t0;
        assert_state("v1", "stopped");
        ck_assert_msg(stop_ms < 30000, "stop took %lld ms", (long long)stop_ms);
        char *text = logs("v1", "");
        ck_assert_int_eq(count(text, "HOSTD-POWEROFF"), 1);
        free(text);
        ck_assert(pid_gone(pid));
        /* Ready was about that run. */
        ck_assert_ptr_null(ready_at("v1"));
        /* A follow of a stopped VM returns what there is. */
        free(logs("v1", "?follow=true"));

        json_decref(action("v1", "start", NULL));
        assert_state("v1", "running");
        wait_console("v1", "HOSTD-READY", 2, 30000);
        char *second_ready = check_ready_at("v1", first_ready);
        ck_assert_str_ne(second_ready, first_ready);
        /* A restart reboots the guest: ready again, later. */
        op = action("v1", "restart", "{\"timeout\": 30}");
        assert_state("v1", "running");
        wait_console("v1", "HOSTD-READY", 3, 30000);
        char *third_ready = check_ready_at("v1", str(op, "created_at"));
        json_decref(op);
        ck_assert_str_gt(third_ready, second_ready);
        free(first_ready);
        free(second_ready);
        free(third_ready);

        json_decref(action("v1", "kill", NULL));
        assert_state("v1", "stopped");
        ck_assert_int_eq(qemu_pid("v1"), 0);

        ck_assert(exists("%s/libvirt/log/qemu/hostd-v1.log", d.dir));
        json_decref(call("DELETE", "/v1/instances/v1?wait=60", NULL, 200));
        json_decref(call("GET", "/v1/instances/v1", NULL, 404));
        ck_assert(!domain_defined("v1"));
        ck_assert(!exists("%s/libvirt/log/qemu/hostd-v1.log", d.dir));
        ck_assert(!exists("%s/vms/%s", d.dir, uuid));
        free(uuid);
}
END_TEST

START_TEST(test_guest_poweroff_and_deaf_guest)
{
        /* One guest powers itself off once booted; the other stops its acpid, so the
         * power button goes unheard and stop falls back to destroy. */
        char *off = make_bundle("tiny-off", "hostd.poweroff=1");
        char *deaf = make_bundle("tiny-deaf", "hostd.cmd=a2lsbGFsbCBhY3BpZA=="); /* killall acpid */
        import("tiny-off", off);
        import("tiny-deaf", deaf);
        create("off", "tiny-off", "");
        create("deaf", "tiny-deaf", "");
        json_decref(action("off", "start", NULL));
        json_decref(action("deaf", "start", NULL));

        json_t *i = wait_state("off", "stopped", 60000);
        ck_assert_str_eq(str(i, "reason"), "poweroff");
        json_decref(i);
        char *text = logs("off", "");
        ck_assert_int_eq(count(text, "HOSTD-POWEROFF"), 1);
        free(text);
        ck_assert_int_eq(qemu_pid("off"), 0);

        wait_console("deaf", "HOSTD-CMD-EXIT", 1, 60000);
        long pid = qemu_pid("deaf");
        int64_t t0 = now_ms();
        json_decref(action("deaf", "stop", "{\"timeout\": 2}"));
        int64_t took = now_ms() - t0;
        assert_state("deaf", "stopped");
        ck_assert_msg(took >= 2000, "stop took only %lld ms", (long long)took);
        ck_assert(pid_gone(pid));
        text = logs("deaf", "");
        ck_assert_int_eq(count(text, "HOSTD-POWEROFF"), 0);
        free(text);

        unlink(off);
        unlink(deaf);
        free(off);
        free(deaf);
}
END_TEST

START_TEST(test_vms_outlive_hostd)
{
        create("keep", "tiny", "");
        json_decref(action("keep", "start", NULL));
        wait_console("keep", "HOSTD-READY", 1, 30000);
        long pid = qemu_pid("keep");
        ck_assert_int_gt(pid, 0);

        ck_assert_int_eq(hd_test_daemon_restart(&d), 0);
        assert_state("keep", "running");
        ck_assert_int_eq(qemu_pid("keep"), pid);
        ck_assert(!pid_gone(pid));

        int status = 0;
        ck_assert_int_eq(hd_test_daemon_stop(&d, SIGKILL, &status), 0);
        ck_assert(!pid_gone(pid));
        ck_assert_int_eq(hd_test_daemon_restart(&d), 0);
        assert_state("keep", "running");
        ck_assert_int_eq(qemu_pid("keep"), pid);

        /* Adopted: the new hostd drives it, and hears it. */
        json_decref(action("keep", "stop", "{\"timeout\": 60}"));
        assert_state("keep", "stopped");
        ck_assert(pid_gone(pid));
        json_decref(action("keep", "start", NULL));
        assert_state("keep", "running");

        /* Adopted while it boots: the new hostd still hears this boot's marker, and
         * only this boot's (the console holds the earlier boots' too). */
        /* (Up first: a guest still booting has no acpid to hear the stop.) */
        wait_console("keep", "HOSTD-READY", 2, 30000);
        char *text = logs("keep", "");
        int before = count(text, "HOSTD-READY");
        free(text);
        json_decref(action("keep", "stop", "{\"timeout\": 60}"));
        json_decref(action("keep", "start", NULL));
        ck_assert_int_eq(hd_test_daemon_stop(&d, SIGKILL, &status), 0);
        ck_assert_int_eq(hd_test_daemon_restart(&d), 0);
        for (int64_t t0 = now_ms();;) {
                char *at = ready_at("keep");
                text = logs("keep", "");
                int seen = count(text, "HOSTD-READY");
                free(text);
                /* ready_at set means this boot's marker is on the console. */
                ck_assert_msg(!at || seen > before, "ready_at %s with %d markers, %d before", at,
                              seen, before);
                free(at);
                if (seen > before)
                        break;
                ck_assert_msg(now_ms() - t0 < 30000, "keep: no new HOSTD-READY");
                usleep(20000);
        }
        free(check_ready_at("keep", NULL));

        /* qemu dying under the guest is a crash, reported without any action. */
        pid = qemu_pid("keep");
        ck_assert_int_gt(pid, 0);
        ck_assert_int_eq(kill((pid_t)pid, SIGKILL), 0);
        json_t *i = wait_state("keep", "error", 30000);
        ck_assert_str_eq(str(i, "reason"), "crashed");
        json_decref(i);
}
END_TEST

/* A guest that runs a guest agent (the tiny init's minimal one, hostd.agent=1) prints no
 * marker: it is ready when libvirt says its agent connected and the agent answers a
 * ping. */
START_TEST(test_guest_agent_readiness)
{
        char *agent = make_bundle("tiny-agent", "hostd.agent=1");
        import("tiny-agent", agent);
        create("agent", "tiny-agent", "");
        json_t *op = action("agent", "start", NULL);
        wait_console("agent", "HOSTD-AGENT", 1, 60000);
        char *at = check_ready_at("agent", str(op, "created_at"));
        json_decref(op);
        char *text = logs("agent", "");
        ck_assert_int_eq(count(text, "HOSTD-READY"), 0);
        free(text);
        char *xml = live_xml("agent");
        ck_assert_ptr_nonnull(strstr(xml, "org.qemu.guest_agent.0"));
        ck_assert_ptr_nonnull(strstr(xml, "state='connected'"));
        free(xml);

        /* Adopted by a new hostd before anyone asked: the ping at re-attach. */
        json_decref(action("agent", "kill", NULL));
        ck_assert_ptr_null(ready_at("agent"));
        char *uuid = uuid_of("agent"), console[1024];
        snprintf(console, sizeof(console), "%s/vms/%s/console.log", d.dir, uuid);
        json_decref(action("agent", "start", NULL));
        int status = 0;
        ck_assert_int_eq(hd_test_daemon_stop(&d, SIGKILL, &status), 0);
        /* hostd is away: the console file itself shows the agent is up. */
        for (int64_t t0 = now_ms();;) {
                char *seen_text = read_text(console, NULL);
                int seen = seen_text ? count(seen_text, "HOSTD-AGENT") : 0;
                free(seen_text);
                if (seen >= 2)
                        break;
                ck_assert_msg(now_ms() - t0 < 60000, "agent: no second HOSTD-AGENT");
                usleep(50000);
        }
        free(uuid);
        ck_assert_int_eq(hd_test_daemon_restart(&d), 0);
        char *again = check_ready_at("agent", at);
        free(again);
        free(at);
        unlink(agent);
        free(agent);
}
END_TEST

/* exec through the guest agent (the tiny init's, hostd.agent=1): outputs and exit code,
 * stdin, arguments that need quoting, env and workdir, a program not found, a timeout
 * that kills, and the refusals: a user (400), a stopped VM (409). A guest without agent
 * (503) is in test_lifecycle_console_stats. */
START_TEST(test_guest_exec)
{
        char *agent = make_bundle("tiny-exec", "hostd.agent=1");
        import("tiny-exec", agent);
        create("ex", "tiny-exec", "");
        json_t *op = action("ex", "start", NULL);
        wait_console("ex", "HOSTD-AGENT", 1, 60000);
        free(check_ready_at("ex", str(op, "created_at")));
        json_decref(op);

        int64_t t0 = now_ms();
        assert_exec(exec_in("ex",
                            json_pack("{s:[s,s,s]}", "command", "sh", "-c",
                                      "echo out; echo err >&2; exit 3"),
                            200),
                    3, "out\n", "err\n");
        fprintf(stderr, "ex: a first exec took %lld ms\n", (long long)(now_ms() - t0));
        /* stdin goes through, then is closed. */
        const char *in = "hello\nworld \"q\" 'x' | $HOME\n";
        assert_exec(exec_in("ex", json_pack("{s:[s], s:s}", "command", "cat", "stdin", in), 200), 0,
                    in, "");
        /* Arguments as they are: blanks, quotes, pipes and dollars reach the program. */
        assert_exec(exec_in("ex",
                            json_pack("{s:[s,s,s,s,s,s,s,s]}", "command", "sh", "-c",
                                      "printf '%s|' \"$@\" | tr '|' '\\n'", "sh", "a b", "c'd",
                                      "e\"f", "$HOME"),
                            200),
                    0, "a b\nc'd\ne\"f\n$HOME\n", "");
        /* env: these variables, and a PATH that finds the usual programs. */
        assert_exec(exec_in("ex",
                            json_pack("{s:[s,s,s], s:{s:s}}", "command", "sh", "-c",
                                      "echo \"$GREETING\"; ls / >/dev/null && echo found", "env",
                                      "GREETING", "hi there"),
                            200),
                    0, "hi there\nfound\n", "");
        assert_exec(
                exec_in("ex", json_pack("{s:[s], s:s}", "command", "pwd", "workdir", "/proc"), 200),
                0, "/proc\n", "");
        /* As a container answers: 126 for a workdir that is not there, 127 for a program. */
        assert_exec(
                exec_in("ex", json_pack("{s:[s], s:s}", "command", "pwd", "workdir", "/nope"), 200),
                126, "", NULL);
        assert_exec(exec_in("ex", json_pack("{s:[s]}", "command", "no-such-program"), 200), 127, "",
                    NULL);
        json_t *bad =
                exec_in("ex", json_pack("{s:[s], s:s}", "command", "id", "user", "1000"), 400);
        ck_assert_str_eq(str(json_object_get(bad, "error"), "field"), "user");
        json_decref(bad);

        /* Past its timeout the command is killed; what it wrote before comes back. */
        t0 = now_ms();
        json_t *r = exec_in("ex",
                            json_pack("{s:[s,s,s], s:i}", "command", "sh", "-c",
                                      "echo started; exec sleep 30", "timeout", 2),
                            200);
        int64_t took = now_ms() - t0;
        char *dump = json_dumps(r, JSON_COMPACT);
        ck_assert_msg(json_is_true(json_object_get(r, "timed_out")), "%s", dump);
        ck_assert_int_eq(json_integer_value(json_object_get(r, "exit_code")), 137);
        ck_assert_msg(strcmp(str(r, "stdout"), "started\n") == 0, "%s", dump);
        ck_assert_msg(took >= 2000 && took < 15000, "a 2 s timeout took %lld ms", (long long)took);
        free(dump);
        json_decref(r);
        /* The agent goes on. */
        assert_exec(exec_in("ex", json_pack("{s:[s]}", "command", "true"), 200), 0, "", "");

        json_decref(action("ex", "kill", NULL));
        json_decref(exec_in("ex", json_pack("{s:[s]}", "command", "true"), 409));
        unlink(agent);
        free(agent);
}
END_TEST

START_TEST(test_restart_policies)
{
        /* `always`: a guest that powers itself off is started again; a user's stop is
         * final. `on-failure`: a clean poweroff stays stopped, a qemu crash restarts. */
        /* Up for 3 s once ready (time for a user's stop), then off. */
        char *off = make_bundle("tiny-off3", "hostd.poweroff=1 hostd.cmd=c2xlZXAgMw==");
        import("tiny-off3", off);
        create("again", "tiny-off3", "}, \"restart_policy\": {\"name\": \"always\"");
        create("clean", "tiny-off3", "}, \"restart_policy\": {\"name\": \"on-failure\"");
        create("crashy", "tiny", "}, \"restart_policy\": {\"name\": \"on-failure\"");
        json_decref(action("again", "start", NULL));
        json_decref(action("clean", "start", NULL));
        json_decref(action("crashy", "start", NULL));

        json_t *i = wait_state("clean", "stopped", 60000);
        ck_assert_str_eq(str(i, "reason"), "poweroff");
        json_decref(i);

        /* Two boots, two poweroffs, and up again: stopped by its user in its 3 s. */
        wait_console("again", "HOSTD-POWEROFF", 2, 90000);
        wait_console("again", "HOSTD-READY", 3, 60000);
        i = wait_state("again", "running", 30000);
        json_decref(i);
        json_decref(action("again", "stop", "{\"timeout\": 30}"));
        assert_state("again", "stopped");

        wait_console("crashy", "HOSTD-READY", 1, 60000);
        long pid = qemu_pid("crashy");
        ck_assert_int_gt(pid, 0);
        ck_assert_int_eq(kill((pid_t)pid, SIGKILL), 0);
        wait_console("crashy", "HOSTD-READY", 2, 60000);
        i = wait_state("crashy", "running", 30000);
        json_decref(i);
        long pid2 = qemu_pid("crashy");
        ck_assert_int_gt(pid2, 0);
        ck_assert_int_ne(pid2, pid);

        /* Nothing restarted what its policy or its user left stopped. */
        usleep(1500000);
        assert_state("clean", "stopped");
        assert_state("again", "stopped");
        char *text = logs("clean", "");
        ck_assert_int_eq(count(text, "HOSTD-READY"), 1);
        free(text);
        unlink(off);
        free(off);
}
END_TEST

/* A domain libvirt holds without hostd's metadata is someone else's: reported in GET /v1,
 * never touched. */
START_TEST(test_foreign_domains_reported)
{
        char xml[1024], cmd[4096];
        snprintf(xml, sizeof(xml), "%s/foreign.xml", d.dir);
        FILE *f = fopen(xml, "w");
        ck_assert_ptr_nonnull(f);
        fputs("<domain type='qemu'><name>not-hostds</name><memory unit='MiB'>64</memory>"
              "<os><type arch='x86_64' machine='q35'>hvm</type></os></domain>\n",
              f);
        ck_assert_int_eq(fclose(f), 0);
        char base[1200];
        snprintf(base, sizeof(base), "virsh -q -c 'qemu:///embed?root=%s/libvirt'", d.dir);

        /* The embedded driver is one process's at a time: hostd's, or virsh's. */
        ck_assert_int_eq(hd_test_daemon_stop(&d, SIGTERM, NULL), 0);
        snprintf(cmd, sizeof(cmd), "%s define '%s' >/dev/null", base, xml);
        ck_assert_msg(system(cmd) == 0, "%s", cmd);
        ck_assert_int_eq(hd_test_daemon_restart(&d), 0);

        json_t *info = call("GET", "/v1", NULL, 200);
        json_t *foreign = json_object_get(json_object_get(json_object_get(info, "drivers"), "vm"),
                                          "foreign_domains");
        ck_assert_msg(json_is_array(foreign) && json_array_size(foreign) == 1,
                      "foreign_domains: %s", json_dumps(foreign, JSON_COMPACT));
        ck_assert_str_eq(json_string_value(json_array_get(foreign, 0)), "not-hostds");
        json_decref(info);
        /* Not an instance either. */
        json_decref(call("GET", "/v1/instances/not-hostds", NULL, 404));

        ck_assert_int_eq(hd_test_daemon_stop(&d, SIGTERM, NULL), 0);
        snprintf(cmd, sizeof(cmd), "%s undefine not-hostds >/dev/null", base);
        ck_assert_msg(system(cmd) == 0, "left alone, so still there: %s", cmd);
        ck_assert_int_eq(hd_test_daemon_restart(&d), 0);
        info = call("GET", "/v1", NULL, 200);
        foreign = json_object_get(json_object_get(json_object_get(info, "drivers"), "vm"),
                                  "foreign_domains");
        ck_assert_int_eq(json_array_size(foreign), 0);
        json_decref(info);
}
END_TEST

START_TEST(test_qcow2_overlays_leave_the_image_alone)
{
        /* A blank qcow2 image (no OS: its guests sit in the firmware, running). */
        char *dir = hd_test_mkdtemp("blank");
        char cmd[2048], img[1024];
        snprintf(img, sizeof(img), "%s/blank.qcow2", dir);
        snprintf(cmd, sizeof(cmd), "qemu-img create -q -f qcow2 '%s' 2G", img);
        ck_assert_msg(system(cmd) == 0, "%s", cmd);
        snprintf(cmd, sizeof(cmd),
                 "curl -sf -o /dev/null --unix-socket '%s' -X POST -H 'Content-Type: "
                 "application/octet-stream' -T '%s' "
                 "'http://localhost/v1/images?name=blank&kind=vm&format=qcow2'",
                 d.socket_path, img);
        ck_assert_msg(system(cmd) == 0, "importing %s failed", img);
        json_t *image = call("GET", "/v1/images/blank", NULL, 200);
        const char *digest = str(image, "digest");
        ck_assert(strncmp(digest, "sha256:", 7) == 0);

        /* Smaller than the image's disk: refused before anything is made. */
        HdCurlResult r = { 0 };
        ck_assert_int_eq(hd_test_send_json(&d, &r, "POST", "/v1/instances",
                                           "{\"name\": \"small\", \"kind\": \"vm\", "
                                           "\"image\": \"blank\", \"resources\": {\"disk_gb\": "
                                           "1}}"),
                         0);
        ck_assert_msg(r.status == 400, "%s", hd_curl_result_describe(&r));
        ck_assert_str_eq(hd_test_error_field(r.json), "resources.disk_gb");
        hd_curl_result_clear(&r);

        create("d1", "blank", ", \"disk_gb\": 3");
        create("d2", "blank", "");
        json_decref(action("d1", "start", NULL));
        json_decref(action("d2", "start", NULL));
        assert_state("d1", "running");
        assert_state("d2", "running");
        sleep(1);
        const char *names[] = { "d1", "d2" };
        char blob[1024] = "";
        for (size_t k = 0; k < HD_ARRAY_SIZE(names); k++) {
                char *uuid = uuid_of(names[k]);
                char out[1024];
                snprintf(out, sizeof(out), "%s/info-%s.json", dir, names[k]);
                snprintf(cmd, sizeof(cmd),
                         "qemu-img info -U --output=json '%s/vms/%s/disk.qcow2' > '%s'", d.dir,
                         uuid, out);
                ck_assert_msg(system(cmd) == 0, "%s", cmd);
                json_t *info = json_load_file(out, 0, NULL);
                ck_assert_ptr_nonnull(info);
                /* Both overlays sit on the one blob in the image store. */
                const char *backing = str(info, "backing-filename");
                if (k == 0)
                        snprintf(blob, sizeof(blob), "%s", backing);
                ck_assert_str_eq(backing, blob);
                ck_assert(strncmp(blob, d.dir, strlen(d.dir)) == 0);
                ck_assert(strstr(blob, digest + 7));
                ck_assert_str_eq(str(info, "backing-filename-format"), "qcow2");
                ck_assert_int_eq(json_integer_value(json_object_get(info, "virtual-size")),
                                 k == 0 ? 3LL << 30 : 2LL << 30);
                json_decref(info);
                free(uuid);
        }
        /* The image blob still has the bytes it was imported with. */
        snprintf(cmd, sizeof(cmd), "echo '%s  %s' | sha256sum -c --status", digest + 7, blob);
        ck_assert_msg(system(cmd) == 0, "the image blob changed");
        json_decref(image);
        json_decref(action("d1", "kill", NULL));
        json_decref(call("DELETE", "/v1/instances/d1?wait=60", NULL, 200));
        json_decref(call("DELETE", "/v1/instances/d2?force=true&wait=60", NULL, 200));
        ck_assert(!domain_defined("d1"));
        ck_assert(!domain_defined("d2"));
        hd_test_rm_rf(dir);
        free(dir);
}
END_TEST

#define SEED_KEY                                                                            \
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEKS1SDwRX9AnxfelTz63o37WaeVsttzTSScap0soY2U " \
        "alice@example"

START_TEST(test_cloud_init_seed)
{
        json_decref(call("POST", "/v1/instances",
                         "{\"name\": \"ci\", \"kind\": \"vm\", \"image\": \"tiny\", "
                         "\"hostname\": \"ci-host\", "
                         "\"resources\": {\"vcpus\": 1, \"memory_mb\": 256}, "
                         "\"cloud_init\": {\"user_data\": \"#cloud-config\\npackages: [htop]\\n\", "
                         "\"ssh_authorized_keys\": [\"" SEED_KEY "\"]}}",
                         201));
        char *uuid = uuid_of("ci");
        json_decref(action("ci", "start", NULL));
        assert_state("ci", "running");

        /* The seed lies beside the disk, and the running domain has it as its cdrom. */
        char iso[1024];
        snprintf(iso, sizeof(iso), "%s/vms/%s/seed.iso", d.dir, uuid);
        char *xml = live_xml("ci");
        char *src = cdrom_source(xml);
        ck_assert_msg(src && strcmp(src, iso) == 0, "cdrom source %s, want %s", src ? src : "none",
                      iso);
        ck_assert_ptr_nonnull(strstr(xml, "<readonly/>"));
        free(src);
        free(xml);

        /* ISO 9660: the volume id is in the primary volume descriptor (sector 16). */
        size_t len = 0;
        char *bytes = read_text(iso, &len);
        ck_assert_ptr_nonnull(bytes);
        ck_assert_uint_gt(len, 32768 + 72);
        ck_assert_int_eq(memcmp(bytes + 32768 + 1, "CD001", 5), 0);
        ck_assert_int_eq(memcmp(bytes + 32768 + 40, "cidata ", 7), 0);
        free(bytes);

        char *out = hd_test_mkdtemp("seed");
        char cmd[4096];
        snprintf(cmd, sizeof(cmd),
                 "xorriso -osirrox on -indev '%s' -extract / '%s/x' >/dev/null 2>&1", iso, out);
        ck_assert_msg(system(cmd) == 0, "%s", cmd);
        char path[1024];
        snprintf(path, sizeof(path), "%s/x/meta-data", out);
        char *meta = read_text(path, NULL);
        snprintf(path, sizeof(path), "%s/x/user-data", out);
        char *user = read_text(path, NULL);
        ck_assert_msg(meta && user, "the seed lacks meta-data or user-data");
        char want[256];
        snprintf(want, sizeof(want), "instance-id: '%s'\n", uuid);
        ck_assert_msg(strstr(meta, want), "meta-data: %s", meta);
        ck_assert_msg(strstr(meta, "local-hostname: 'ci-host'\n"), "meta-data: %s", meta);
        ck_assert_msg(strncmp(user, "#cloud-config\npackages: [htop]\n", 31) == 0, "user-data: %s",
                      user);
        ck_assert_msg(strstr(user, "ssh_authorized_keys:\n  - '" SEED_KEY "'\n"), "user-data: %s",
                      user);
        free(meta);
        free(user);
        hd_test_rm_rf(out);
        free(out);

        /* Delete takes the domain, the seed and the directory. */
        json_decref(call("DELETE", "/v1/instances/ci?force=true&wait=60", NULL, 200));
        ck_assert(!domain_defined("ci"));
        ck_assert(!exists("%s", iso));
        ck_assert(!exists("%s/vms/%s", d.dir, uuid));
        free(uuid);
}
END_TEST

static int count_domains(void)
{
        char path[1024];
        snprintf(path, sizeof(path), "%s/libvirt/etc/qemu", d.dir);
        DIR *dir = opendir(path);
        struct dirent *de;
        int n = 0;
        while (dir && (de = readdir(dir)))
                if (strstr(de->d_name, ".xml"))
                        n++;
        if (dir)
                closedir(dir);
        return n;
}

START_TEST(test_bad_specs_define_nothing)
{
        static const char *const bad[] = {
                "{\"name\": \"b1\", \"kind\": \"vm\", \"image\": \"tiny\", "
                "\"resources\": {\"memory_mb\": 0}}",
                "{\"name\": \"b2\", \"kind\": \"vm\", \"image\": \"nosuchimage\"}",
                "{\"name\": \"b3\", \"kind\": \"vm\"}",
                "{\"name\": \"b4\", \"kind\": \"vm\", \"image\": \"tiny\", "
                "\"resources\": {\"vcpus\": 1.5}}",
                "{\"name\": \"b5\", \"kind\": \"vm\", \"image\": \"tiny\", "
                "\"command\": [\"sh\"]}",
        };
        for (size_t k = 0; k < HD_ARRAY_SIZE(bad); k++) {
                HdCurlResult r = { 0 };
                ck_assert_int_eq(hd_test_send_json(&d, &r, "POST", "/v1/instances", bad[k]), 0);
                ck_assert_msg(r.status >= 400 && r.status < 500, "%s: %s", bad[k],
                              hd_curl_result_describe(&r));
                hd_curl_result_clear(&r);
        }
        /* cloud_init: VMs only, and keys OpenSSH would take */
        static const struct {
                const char *body, *field;
        } named[] = {
                { "{\"name\": \"b6\", \"kind\": \"container\", \"image\": \"tiny\", "
                  "\"cloud_init\": {\"user_data\": \"#cloud-config\\n\"}}",
                  "cloud_init" },
                { "{\"name\": \"b7\", \"kind\": \"vm\", \"image\": \"tiny\", "
                  "\"cloud_init\": {\"ssh_authorized_keys\": [\"ssh-ed25519 not*base64\"]}}",
                  "cloud_init.ssh_authorized_keys[0]" },
        };
        for (size_t k = 0; k < HD_ARRAY_SIZE(named); k++) {
                HdCurlResult r = { 0 };
                ck_assert_int_eq(hd_test_send_json(&d, &r, "POST", "/v1/instances", named[k].body),
                                 0);
                ck_assert_msg(r.status == 400, "%s: %s", named[k].body,
                              hd_curl_result_describe(&r));
                const char *field = hd_test_error_field(r.json);
                ck_assert_msg(field && strcmp(field, named[k].field) == 0, "%s: %s", named[k].body,
                              hd_curl_result_describe(&r));
                hd_curl_result_clear(&r);
        }
        json_t *all = NULL;
        ck_assert_int_eq(hd_test_list_instances(&d, &all), 0);
        ck_assert_int_eq(json_array_size(all), 0);
        json_decref(all);
        ck_assert_int_eq(count_domains(), 0);
        char vms[1024];
        snprintf(vms, sizeof(vms), "%s/vms", d.dir);
        DIR *dir = opendir(vms);
        struct dirent *de;
        int left = 0;
        while (dir && (de = readdir(dir)))
                if (de->d_name[0] != '.')
                        left++;
        if (dir)
                closedir(dir);
        ck_assert_int_eq(left, 0);
}
END_TEST

/* ---- main ---------------------------------------------------------------------------- */

/* Whether this hostd offers VMs; when it does not, and the embedded QEMU driver is not
 * even installed, the test is skipped rather than failed. */
static int probe_driver(void)
{
        HdTestDaemon p = { 0 };
        int rc = 0;
        if (hd_test_daemon_start(&p, NULL) < 0) {
                hd_test_daemon_cleanup(&p);
                return -1;
        }
        HdCurlResult r = { 0 };
        if (hd_test_get(&p, &r, "/v1") < 0 || !r.json) {
                rc = -1;
        } else {
                json_t *vm = json_object_get(json_object_get(r.json, "drivers"), "vm");
                if (!json_is_true(json_object_get(vm, "available"))) {
                        const char *why = json_string_value(json_object_get(vm, "reason"));
                        bool installed =
                                system("dpkg-query -W -f='${Status}' libvirt-daemon-driver-qemu "
                                       "2>/dev/null | grep -q 'ok installed'") == 0;
                        fprintf(stderr, "%s: the vm driver is unavailable: %s\n",
                                installed ? "FAIL" : "SKIP", why ? why : "?");
                        rc = installed ? -1 : 77;
                }
        }
        hd_curl_result_clear(&r);
        (void)hd_test_daemon_stop(&p, SIGTERM, NULL);
        hd_test_daemon_cleanup(&p);
        return rc;
}

int main(void)
{
        if (geteuid() != 0) {
                fprintf(stderr, "SKIP: VMs need root\n");
                return 77;
        }
        snprintf(bundle, sizeof(bundle), "%s/tiny-vm.tar", HD_TEST_IMAGES_DIR);
        if (access(bundle, R_OK) != 0) {
                fprintf(stderr, "SKIP: %s not built (packaging/images/build-tiny-vm.sh %s)\n",
                        bundle, HD_TEST_IMAGES_DIR);
                return 77;
        }
        hd_test_init();
        /* The run's root: every daemon dir (and so every qemu command line) is under it. */
        char *probe = hd_test_mkdtemp("root");
        char *root = strdup(dirname(probe));
        int rc = probe_driver();
        if (rc != 0) {
                hd_test_fini(1);
                return rc == 77 ? 77 : 1;
        }
        Suite *s = suite_create("vms");
        TCase *tc = tcase_create("vms");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 240);
        tcase_add_test(tc, test_lifecycle_console_stats);
        tcase_add_test(tc, test_guest_poweroff_and_deaf_guest);
        tcase_add_test(tc, test_vms_outlive_hostd);
        tcase_add_test(tc, test_guest_agent_readiness);
        tcase_add_test(tc, test_guest_exec);
        tcase_add_test(tc, test_restart_policies);
        tcase_add_test(tc, test_foreign_domains_reported);
        tcase_add_test(tc, test_qcow2_overlays_leave_the_image_alone);
        tcase_add_test(tc, test_cloud_init_seed);
        tcase_add_test(tc, test_bad_specs_define_nothing);
        suite_add_tcase(s, tc);
        SRunner *sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        /* Tests that failed before their teardown leave their guests running. */
        if (reap_qemus(root) > 0)
                failed = failed ? failed : 1;
        free(root);
        free(probe);
        hd_test_fini(failed);
        return failed ? 1 : 0;
}
