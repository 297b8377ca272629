/* The VM driver through the API, as root, with real guests under libvirt's embedded QEMU
 * driver (TCG here): the tiny kernel bundle boots to its HOSTD-READY marker; lifecycle,
 * console logs and stats; a guest that powers itself off; a guest that ignores the ACPI
 * power button; guests outliving hostd (SIGTERM and SIGKILL) and a qemu that dies; qcow2
 * overlays that never write their image; bad specs that define nothing.
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
                json_t *all = NULL;
                if (hd_test_list_instances(&d, &all) >= 0) {
                        size_t k;
                        json_t *inst;
                        json_array_foreach (all, k, inst) {
                                char path[256];
                                snprintf(path, sizeof(path), "/v1/instances/%s?force=true&wait=60",
                                         json_string_value(json_object_get(inst, "name")));
                                HdCurlResult r = { 0 };
                                (void)hd_test_curl(&d, &r, "DELETE", path, NULL, NULL, 0, NULL);
                                hd_curl_result_clear(&r);
                        }
                        json_decref(all);
                }
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

/* When the API has ready_at, the driver's readiness report must land in it. */
static void check_ready_at(const char *name)
{
        for (int k = 0; k < 50; k++) {
                json_t *i = get(name);
                json_t *ready = json_object_get(i, "ready_at");
                bool absent = !ready, set = ready && !json_is_null(ready);
                json_decref(i);
                if (absent || set)
                        return;
                usleep(100000);
        }
        ck_abort_msg("%s: ready_at still null after its console showed HOSTD-READY", name);
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
        json_decref(action("v1", "start", NULL));
        int64_t started = now_ms() - t0;
        assert_state("v1", "running");
        ck_assert(domain_defined("v1"));
        int64_t ready = started + wait_console("v1", "HOSTD-READY", 1, 30000);
        fprintf(stderr, "v1: start returned after %lld ms, console ready after %lld ms\n",
                (long long)started, (long long)ready);
        check_ready_at("v1");
        /* The kernel came from the shared cache, the console is the instance's. */
        ck_assert(exists("%s/vms/%s/console.log", d.dir, uuid));

        /* Logs: tail, and a follow that ends when the guest stops (checked below). */
        char *tail = logs("v1", "?tail=1");
        ck_assert_int_le(count(tail, "\n"), 1);
        free(tail);

        json_t *st = call("GET", "/v1/instances/v1/stats", NULL, 200);
        json_t *cpu = json_object_get(st, "cpu"), *mem = json_object_get(st, "memory");
        ck_assert_int_gt(json_integer_value(json_object_get(cpu, "usage_ns")), 0);
        ck_assert_int_gt(json_integer_value(json_object_get(mem, "usage_bytes")), 16 << 20);
        ck_assert_int_eq(json_integer_value(json_object_get(mem, "limit_bytes")), 256 << 20);
        json_decref(st);

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
        /* A follow of a stopped VM returns what there is. */
        free(logs("v1", "?follow=true"));

        json_decref(action("v1", "start", NULL));
        assert_state("v1", "running");
        wait_console("v1", "HOSTD-READY", 2, 30000);
        json_decref(action("v1", "restart", "{\"timeout\": 30}"));
        assert_state("v1", "running");
        wait_console("v1", "HOSTD-READY", 3, 30000);

        json_decref(action("v1", "kill", NULL));
        assert_state("v1", "stopped");
        ck_assert_int_eq(qemu_pid("v1"), 0);

        json_decref(call("DELETE", "/v1/instances/v1?wait=60", NULL, 200));
        json_decref(call("GET", "/v1/instances/v1", NULL, 404));
        ck_assert(!domain_defined("v1"));
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

        /* qemu dying under the guest is a crash, reported without any action. */
        pid = qemu_pid("keep");
        ck_assert_int_gt(pid, 0);
        ck_assert_int_eq(kill((pid_t)pid, SIGKILL), 0);
        json_t *i = wait_state("keep", "error", 30000);
        ck_assert_str_eq(str(i, "reason"), "crashed");
        json_decref(i);
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
        tcase_add_test(tc, test_qcow2_overlays_leave_the_image_alone);
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
