/* Benchmarks through the API, as root, with real containers and a real VM (TCG here):
 * a short run fills every row for both kinds and its figures are sane under TCG, the
 * outputs say TCG, bad requests name their field, and a cancelled run leaves no
 * instance behind. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "hd-util.h"
#include "itest-calls.h"

static HdTestDaemon d;
static char ct_image[512], vm_bundle[512];

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

/* The tiny bundle with its guest agent on (the VM side's exec goes through it). */
static void import_vm_with_agent(void)
{
        char *dir = hd_test_mkdtemp("tiny-agent");
        ck_assert_ptr_nonnull(dir);
        char cmd[4096], out[600];
        snprintf(out, sizeof(out), "%s.tar", dir);
        snprintf(cmd, sizeof(cmd),
                 "tar -xf '%s' -C '%s' && printf ' hostd.agent=1' >> '%s/cmdline' && "
                 "tar --format=ustar -C '%s' -cf '%s' vmlinuz initrd cmdline",
                 vm_bundle, dir, dir, dir, out);
        ck_assert_msg(system(cmd) == 0, "repacking failed: %s", cmd);
        import("name=tiny-agent&kind=vm&format=kernel", out);
        hd_test_rm_rf(dir);
        free(dir);
}

static void setup(void)
{
        ck_assert_int_eq(hd_test_daemon_start(&d, NULL), 0);
        import("name=busybox&kind=container&format=oci-archive", ct_image);
        import_vm_with_agent();
}

static void teardown(void)
{
        if (d.pid > 0)
                itest_delete_all(&d);
        if (d.dir)
                hd_test_reap_containers(d.dir);
        hd_test_daemon_cleanup(&d);
}

static size_t instance_count(void)
{
        json_t *all = NULL;
        ck_assert_int_ge(hd_test_list_instances(&d, &all), 0);
        size_t n = json_array_size(all);
        json_decref(all);
        return n;
}

static const json_t *figure(const json_t *result, const char *name)
{
        size_t i;
        json_t *f;
        json_array_foreach (json_object_get(result, "figures"), i, f)
                if (strcmp(str(f, "name"), name) == 0)
                        return f;
        ck_abort_msg("no figure %s", name);
        return NULL;
}

static double p50(const json_t *f, const char *kind)
{
        json_t *s = json_object_get(f, kind);
        json_t *v = json_object_get(s, "p50");
        ck_assert_msg(json_is_number(v), "%s %s: %s", str(f, "name"), kind,
                      json_dumps(s, JSON_COMPACT));
        return json_number_value(v);
}

START_TEST(test_short_run_fills_every_row)
{
        json_t *op = call("POST", "/v1/benchmarks",
                          "{\"workloads\": [\"all\"], \"container_image\": \"busybox\", "
                          "\"vm_image\": \"tiny-agent\", \"repetitions\": 1, \"warmup\": 0, "
                          "\"envelope\": {\"vcpus\": 1, \"memory_mb\": 256}, "
                          "\"sizes\": {\"cpu_mib\": 8, \"io_mib\": 8, \"density_max\": 2}}",
                          202);
        char id[64], path[256];
        snprintf(id, sizeof(id), "%s", str(op, "benchmark"));
        ck_assert_int_eq(strlen(id), 36);
        snprintf(path, sizeof(path), "/v1/operations/%s/wait?timeout=600", str(op, "id"));
        json_decref(op);
        json_t *done = call("GET", path, NULL, 200);
        ck_assert_msg(strcmp(str(done, "status"), "success") == 0, "run: %s",
                      json_dumps(done, JSON_COMPACT));
        json_decref(done);
        /* Every instance it made is gone. */
        ck_assert_uint_eq(instance_count(), 0);

        snprintf(path, sizeof(path), "/v1/benchmarks/%s", id);
        json_t *res = call("GET", path, NULL, 200);
        ck_assert_str_eq(str(res, "status"), "success");
        json_t *m = json_object_get(res, "manifest");
        ck_assert_str_eq(str(json_object_get(m, "versions"), "hostd"), "0.1.0");
        ck_assert_int_gt(json_integer_value(json_object_get(json_object_get(m, "host"), "cpus")),
                         0);
        const char *accel = str(m, "accel");
        ck_assert(strcmp(accel, "tcg") == 0 || strcmp(accel, "kvm") == 0);
        ck_assert(hd_str_startswith(
                str(json_object_get(json_object_get(m, "images"), "container"), "digest"),
                "sha256:"));

        /* Every row, both kinds: guest_view has no container side by design. */
        size_t i;
        json_t *f;
        json_array_foreach (json_object_get(res, "figures"), i, f) {
                bool ct_none = strcmp(str(f, "name"), "guest_view") == 0;
                if (!ct_none)
                        (void)p50(f, "container");
                else
                        ck_assert_ptr_nonnull(
                                json_object_get(json_object_get(f, "container"), "missing"));
                (void)p50(f, "vm");
        }
        ck_assert_uint_ge(json_array_size(json_object_get(res, "figures")), 14);

        /* Sane under TCG too. */
        ck_assert_msg(p50(figure(res, "start_to_ready"), "container") * 5 <
                              p50(figure(res, "start_to_ready"), "vm"),
                      "container start not well under VM boot");
        ck_assert(p50(figure(res, "host_cost"), "vm") > p50(figure(res, "host_cost"), "container"));
        ck_assert(p50(figure(res, "cpu_job"), "container") > 0);
        ck_assert(json_is_number(
                json_object_get(json_object_get(figure(res, "cpu_job"), "host"), "p50")));
        json_t *img = call("GET", "/v1/images/busybox", NULL, 200);
        double want = (double)json_integer_value(json_object_get(img, "size")) / 1048576.0;
        json_decref(img);
        ck_assert_msg(fabs(p50(figure(res, "image_total"), "container") - want) < 0.001,
                      "image bytes %f vs the store's %f",
                      p50(figure(res, "image_total"), "container"), want);
        ck_assert(p50(figure(res, "density_count"), "container") >= 1);

        /* Markdown and chart say TCG when it was. */
        char url[512];
        snprintf(url, sizeof(url), "/v1/benchmarks/%s?format=markdown", id);
        HdCurlResult r = { 0 };
        ck_assert_int_eq(hd_test_curl(&d, &r, "GET", url, NULL, NULL, 0, NULL), 0);
        ck_assert_int_eq(r.status, 200);
        ck_assert_ptr_nonnull(strstr(r.body, "| start time"));
        if (strcmp(accel, "tcg") == 0)
                ck_assert_ptr_nonnull(strstr(r.body, "TCG"));
        hd_curl_result_clear(&r);
        snprintf(url, sizeof(url), "/v1/benchmarks/%s/chart.svg", id);
        ck_assert_int_eq(hd_test_curl(&d, &r, "GET", url, NULL, NULL, 0, NULL), 0);
        ck_assert_int_eq(r.status, 200);
        ck_assert_ptr_nonnull(strstr(r.body, "<svg"));
        if (strcmp(accel, "tcg") == 0)
                ck_assert_ptr_nonnull(strstr(r.body, "TCG"));
        hd_curl_result_clear(&r);

        /* A run compares with itself; list, then delete. */
        snprintf(url, sizeof(url), "/v1/benchmarks/%s/compare/%s", id, id);
        json_t *cmp = call("GET", url, NULL, 200);
        ck_assert(json_is_true(json_object_get(cmp, "comparable")));
        json_decref(cmp);
        json_t *list = call("GET", "/v1/benchmarks", NULL, 200);
        ck_assert_uint_eq(json_array_size(json_object_get(list, "benchmarks")), 1);
        json_decref(list);
        json_decref(call("DELETE", path, NULL, 200));
        json_decref(call("GET", path, NULL, 404));
        json_decref(res);
}
END_TEST

START_TEST(test_bad_requests_name_the_field)
{
        static const struct {
                const char *body;
                int status;
                const char *field;
        } cases[] = {
                { "{\"workloads\": [\"nope\"], \"container_image\": \"busybox\", \"vm_image\": "
                  "\"tiny-agent\"}",
                  400, "workloads[0]" },
                { "{\"repetitions\": 0, \"container_image\": \"busybox\", \"vm_image\": "
                  "\"tiny-agent\"}",
                  400, "repetitions" },
                { "{\"container_image\": \"busybox\"}", 400, "vm_image" },
                { "{\"container_image\": \"busybox\", \"vm_image\": \"nope\"}", 404, "vm_image" },
                { "{\"container_image\": \"tiny-agent\", \"vm_image\": \"tiny-agent\"}", 400,
                  "container_image" },
                { "{\"container_image\": \"busybox\", \"vm_image\": \"tiny-agent\", "
                  "\"envelope\": {\"memory_mb\": 1}}",
                  400, "envelope.memory_mb" },
                { "{\"container_image\": \"busybox\", \"vm_image\": \"tiny-agent\", "
                  "\"extra\": 1}",
                  400, "extra" },
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                json_t *e = call("POST", "/v1/benchmarks", cases[i].body, cases[i].status);
                ck_assert_str_eq(str(json_object_get(e, "error"), "field"), cases[i].field);
                json_decref(e);
        }
        json_t *list = call("GET", "/v1/benchmarks", NULL, 200);
        ck_assert_uint_eq(json_array_size(json_object_get(list, "benchmarks")), 0);
        json_decref(list);
        json_decref(call("GET", "/v1/benchmarks/4b3c1a70-0000-4000-8000-000000000000", NULL, 404));
}
END_TEST

START_TEST(test_cancel_leaves_nothing)
{
        json_t *op = call("POST", "/v1/benchmarks",
                          "{\"workloads\": [\"lifecycle\"], \"container_image\": \"busybox\", "
                          "\"vm_image\": \"tiny-agent\", \"repetitions\": 5, \"warmup\": 0}",
                          202);
        char op_id[64], id[64], path[256];
        snprintf(op_id, sizeof(op_id), "%s", str(op, "id"));
        snprintf(id, sizeof(id), "%s", str(op, "benchmark"));
        json_decref(op);
        /* Mid-way: once its first VM exists. */
        bool vm_seen = false;
        for (int i = 0; i < 600 && !vm_seen; i++) {
                json_t *all = NULL;
                ck_assert_int_ge(hd_test_list_instances(&d, &all), 0);
                size_t k;
                json_t *inst;
                json_array_foreach (all, k, inst)
                        vm_seen = vm_seen || strcmp(str(inst, "kind"), "vm") == 0;
                json_decref(all);
                usleep(100000);
        }
        ck_assert_msg(vm_seen, "the run never made a VM");
        snprintf(path, sizeof(path), "/v1/operations/%s", op_id);
        json_decref(call("DELETE", path, NULL, 200));
        snprintf(path, sizeof(path), "/v1/operations/%s/wait?timeout=300", op_id);
        json_t *final = call("GET", path, NULL, 200);
        ck_assert_str_eq(str(final, "status"), "cancelled");
        json_decref(final);
        ck_assert_uint_eq(instance_count(), 0);
        snprintf(path, sizeof(path), "/v1/benchmarks/%s", id);
        json_t *res = call("GET", path, NULL, 200);
        ck_assert_str_eq(str(res, "status"), "cancelled");
        json_decref(res);
}
END_TEST

int main(void)
{
        if (geteuid() != 0) {
                fprintf(stderr, "SKIP: benchmarks need root\n");
                return 77;
        }
        snprintf(ct_image, sizeof(ct_image), "%s/busybox.oci.tar", HD_TEST_IMAGES_DIR);
        snprintf(vm_bundle, sizeof(vm_bundle), "%s/tiny-vm.tar", HD_TEST_IMAGES_DIR);
        if (access(ct_image, R_OK) != 0 || access(vm_bundle, R_OK) != 0) {
                fprintf(stderr, "SKIP: the busybox image or the tiny VM is not built\n");
                return 77;
        }
        hd_test_init();
        Suite *s = suite_create("bench");
        TCase *tc = tcase_create("bench");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 900);
        tcase_add_test(tc, test_bad_requests_name_the_field);
        tcase_add_test(tc, test_short_run_fills_every_row);
        tcase_add_test(tc, test_cancel_leaves_nothing);
        suite_add_tcase(s, tc);
        SRunner *sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        hd_test_fini(failed);
        return failed ? 1 : 0;
}
