/* Benchmark runs: the seeds' VM-vs-container table, measured through hostd itself on
 * this host with the user's images, in one equalized envelope.
 *
 * A run is a job on an operation worker. It drives instances through the core's own
 * calls (create, actions and their operations, exec, stats), so what it times is what
 * a user of the API gets. Every instance it makes carries the label
 * hostd-benchmark=<id> and is deleted at the end, also when the run fails or is
 * cancelled, and at the next start when hostd died during the run. A figure that
 * cannot be measured is recorded as missing with the reason, never as a number. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>

#include "core-bench-internal.h"
#include "hd-log.h"

#ifndef HD_VERSION
#define HD_VERSION "0.1.0"
#endif

static void bench_free(void *ud)
{
        Bench *b = ud;
        if (!b)
                return;
        hd_bench_request_clear(&b->req);
        json_decref(b->result);
        for (size_t i = 0; i < b->n_made; i++)
                free(b->made[i]);
        free(b->made);
        free(b);
}

bool hd_bench_cancelled(Bench *b)
{
        return b->op && b->op->cancel_requested && atomic_load(b->op->cancel_requested);
}

void hd_bench_step(Bench *b, int64_t n)
{
        b->done += n;
        if (b->done > b->total)
                b->total = b->done;
        if (b->op && b->op->progress)
                b->op->progress(b->op, b->done, b->total);
}

double hd_bench_now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int hd_bench_save(Bench *b, const char *status, const char *error)
{
        json_object_set_new(b->result, "status", json_string(status));
        json_object_set_new(b->result, "error", error ? json_string(error) : json_null());
        bool final = strcmp(status, "running") != 0;
        int64_t fin = final ? hd_now_ms() : 0;
        char when[32];
        if (final) {
                hd_time_format(fin, when);
                json_object_set_new(b->result, "finished_at", json_string(when));
        }
        _cleanup_free_ char *text = json_dumps(b->result, JSON_COMPACT);
        if (!text)
                return -ENOMEM;
        HdStoreBenchmark row = { .status = (char *)status,
                                 .created_at = b->created_at,
                                 .finished_at = fin,
                                 .result = text };
        memcpy(row.id, b->id, sizeof(row.id));
        _cleanup_error_ HdError *e = NULL;
        int r = hd_store_benchmark_put(b->core->store, &row, &e);
        if (r < 0)
                hd_log_error("benchmark %s: %s", b->id, e ? e->message : "cannot be stored");
        return r;
}

/* ---- the manifest ----------------------------------------------------------------------- */

static json_t *manifest(Bench *b)
{
        HdCore *c = b->core;
        char model[256] = "unknown";
        _cleanup_free_ char *cpuinfo = NULL;
        size_t len;
        if (hd_read_file("/proc/cpuinfo", 1 << 20, &cpuinfo, &len) >= 0) {
                const char *p = strstr(cpuinfo, "model name");
                p = p ? strchr(p, ':') : NULL;
                if (p) {
                        p++;
                        while (*p == ' ' || *p == '\t')
                                p++;
                        size_t n = strcspn(p, "\n");
                        snprintf(model, sizeof(model), "%.*s", (int)(n < 255 ? n : 255), p);
                }
        }
        struct utsname u;
        const char *kernel = uname(&u) == 0 ? u.release : "unknown";
        HdDriverStatus vm;
        hd_core_driver_status(c, HD_KIND_VM, &vm);
        json_t *images = json_object();
        for (int k = 0; k < 2; k++) {
                const char *ref = k ? b->req.vm_image : b->req.container_image;
                _cleanup_(hd_image_freep) HdImage *img = NULL;
                _cleanup_error_ HdError *e = NULL;
                (void)hd_core_image_get(c, ref, &img, &e);
                json_object_set_new(
                        images, k ? "vm" : "container",
                        json_pack("{s:s, s:s?}", "ref", ref, "digest", img ? img->digest : NULL));
        }
        char started[32];
        hd_time_format(hd_now_ms(), started);
        json_t *env = json_object_get(json_object_get(b->result, "request"), "envelope");
        return json_pack("{s:{s:s, s:I, s:I, s:s, s:s}, s:s, s:s, s:{s:s, s:s, s:s}, s:o, s:O, "
                         "s:s}",
                         "host", "cpu_model", model, "cpus", (json_int_t)c->facts.cpus, "memory_mb",
                         (json_int_t)c->facts.memory_mb, "kernel", kernel, "cgroup",
                         c->facts.cgroup_version, "accel",
                         vm.facts.accel ? vm.facts.accel : c->facts.accel, "accel_reason",
                         vm.facts.accel_reason ? vm.facts.accel_reason : c->facts.accel_reason,
                         "versions", "hostd", HD_VERSION, "qemu",
                         vm.facts.hypervisor_version ? vm.facts.hypervisor_version : "unknown",
                         "libvirt", vm.facts.libvirt_version ? vm.facts.libvirt_version : "unknown",
                         "images", images, "envelope", env, "started_at", started);
}

/* ---- the job ------------------------------------------------------------------------------ */

static void cleanup_instances(Bench *b)
{
        while (b->n_made > 0) {
                char *name = strdup(b->made[b->n_made - 1]);
                _cleanup_error_ HdError *e = NULL;
                if (!name || hd_bench_destroy(b, name, NULL, &e) < 0) {
                        hd_log_warn("benchmark %s: deleting %s failed: %s", b->id,
                                    name ? name : "?", e ? e->message : "out of memory");
                        /* Not forgotten by destroy: drop it here so the loop ends; the
                         * next start's reconciliation deletes it by its label. */
                        if (b->n_made > 0)
                                hd_bench_forget(b, b->made[b->n_made - 1]);
                }
                free(name);
        }
}

static int bench_run(void *ud, HdDriverOp *op, HdError **err)
{
        Bench *b = ud;
        b->op = op;
        if (op && op->op_id)
                json_object_set_new(b->result, "operation_id", json_string(op->op_id));
        unsigned w = b->req.workloads;
        int reps = b->req.warmup + b->req.repetitions;
        b->total = ((w & (1u << HD_BENCH_LIFECYCLE)) ? 2 * reps : 0) + 2 /* idle */ + 1 +
                   ((w & (1u << HD_BENCH_IMAGE)) ? 1 : 0) +
                   ((w & (1u << HD_BENCH_CPU)) ? 3 * reps : 0) +
                   ((w & (1u << HD_BENCH_IO)) ? 6 * reps : 0) +
                   ((w & (1u << HD_BENCH_DENSITY)) ? 2 * b->req.density_max : 0);
        json_object_set_new(b->result, "manifest", manifest(b));
        (void)hd_bench_save(b, "running", NULL);
        hd_bench_step(b, 0);

        if ((w & (1u << HD_BENCH_IMAGE)) && !hd_bench_cancelled(b))
                hd_bench_image(b);
        if ((w & (1u << HD_BENCH_LIFECYCLE)) && !hd_bench_cancelled(b))
                hd_bench_lifecycle(b);
        if ((w & ((1u << HD_BENCH_MEMORY) | (1u << HD_BENCH_CPU) | (1u << HD_BENCH_IO))) &&
            !hd_bench_cancelled(b)) {
                Idle idle[2] = { 0 };
                hd_bench_idle_start(b, idle);
                if ((w & (1u << HD_BENCH_MEMORY)) && !hd_bench_cancelled(b))
                        hd_bench_memory(b, idle);
                if ((w & (1u << HD_BENCH_CPU)) && !hd_bench_cancelled(b))
                        hd_bench_cpu(b, idle);
                if ((w & (1u << HD_BENCH_IO)) && !hd_bench_cancelled(b))
                        hd_bench_io(b, idle);
                cleanup_instances(b);
        }
        if ((w & (1u << HD_BENCH_DENSITY)) && !hd_bench_cancelled(b))
                hd_bench_density(b);

        cleanup_instances(b);
        /* QEMU's version is known once a guest has run (libvirt probes it then). */
        HdDriverStatus vm;
        hd_core_driver_status(b->core, HD_KIND_VM, &vm);
        json_t *versions = json_object_get(json_object_get(b->result, "manifest"), "versions");
        if (vm.facts.hypervisor_version && versions)
                json_object_set_new(versions, "qemu", json_string(vm.facts.hypervisor_version));
        if (hd_bench_cancelled(b)) {
                (void)hd_bench_save(b, "cancelled", "cancelled");
                return hd_error_set(err, -ECANCELED, "benchmark %s cancelled", b->id);
        }
        hd_bench_step(b, b->total - b->done);
        (void)hd_bench_save(b, "success", NULL);
        hd_log_info("benchmark %s finished", b->id);
        return 0;
}

/* ---- API --------------------------------------------------------------------------------- */

int hd_core_benchmark_start(HdCore *c, const HdBenchRequest *req, HdOperation **ret, HdError **err)
{
        for (int k = 0; k < HD_KIND__COUNT; k++)
                if (!c->available[k])
                        return hd_error_set(err, -ENODEV,
                                            "a benchmark needs both drivers: the %s driver is "
                                            "unavailable (%s)",
                                            hd_kind_to_string((HdKind)k),
                                            c->reason[k] ? c->reason[k] : "unknown");
        /* The run waits on its instances' operations: another worker must run them. */
        if (c->cfg.op_workers < 2)
                return hd_error_set(err, -ENODEV,
                                    "a benchmark needs at least 2 operation workers (has %d)",
                                    c->cfg.op_workers);
        if (req->cpuset) {
                int r = hd_cpulist_check_host(req->cpuset, "envelope.cpuset", err);
                if (r < 0)
                        return r;
        }
        for (int k = 0; k < 2; k++) {
                const char *ref = k ? req->vm_image : req->container_image;
                const char *field = k ? "vm_image" : "container_image";
                _cleanup_(hd_image_freep) HdImage *img = NULL;
                _cleanup_error_ HdError *e = NULL;
                int r = hd_core_image_get(c, ref, &img, &e);
                if (r == -ENOENT)
                        return hd_error_set_field(err, -ENOENT, field, "image `%s` not found", ref);
                if (r < 0)
                        return hd_error_propagate(err, &e);
                if (img->kind != (k ? HD_KIND_VM : HD_KIND_CONTAINER))
                        return hd_error_set_field(err, -EINVAL, field, "image `%s` is a %s image",
                                                  ref, hd_kind_to_string(img->kind));
        }

        Bench *b = calloc(1, sizeof(*b));
        if (!b)
                return hd_error_set(err, -ENOMEM, "out of memory");
        b->core = c;
        b->req = *req;
        b->req.container_image = strdup(req->container_image);
        b->req.vm_image = strdup(req->vm_image);
        b->req.cpuset = req->cpuset ? strdup(req->cpuset) : NULL;
        int r = hd_uuid_generate(b->id);
        memcpy(b->short_id, b->id, 8);
        b->created_at = hd_now_ms();
        char when[32];
        hd_time_format(b->created_at, when);
        json_t *request = hd_codec_bench_request_to_json(&b->req);
        b->result = json_pack("{s:s, s:s, s:n, s:s, s:s, s:n, s:o, s:{}, s:[]}", "id", b->id,
                              "status", "running", "error", "operation_id", "", "created_at", when,
                              "finished_at", "request", request, "manifest", "figures");
        if (r < 0 || !b->req.container_image || !b->req.vm_image || !b->result ||
            (req->cpuset && !b->req.cpuset)) {
                bench_free(b);
                return hd_error_set(err, -ENOMEM, "out of memory");
        }
        HdCoreJob job = { .run = bench_run, .free = bench_free, .ud = b };
        _cleanup_free_ char *args = json_dumps(request, JSON_COMPACT);
        char id[HD_UUID_STRING_MAX];
        memcpy(id, b->id, sizeof(id));
        /* The row first: the run is listed from the moment it is accepted. */
        (void)hd_bench_save(b, "running", NULL);
        r = hd_core_job_submit(c, HD_ACTION_BENCHMARK, id, args, &job, ret, err);
        if (r < 0) {
                _cleanup_error_ HdError *e = NULL;
                (void)hd_store_benchmark_delete(c->store, id, &e);
                return r;
        }
        return 0;
}

int hd_core_benchmark_reconcile(HdCore *c)
{
        HdStoreBenchmark **rows = NULL;
        size_t n = 0;
        _cleanup_error_ HdError *e = NULL;
        if (hd_store_benchmark_list(c->store, &rows, &n, &e) < 0) {
                hd_log_warn("benchmarks: %s", e ? e->message : "cannot be listed");
                return 0;
        }
        for (size_t i = 0; i < n; i++) {
                HdStoreBenchmark *row = rows[i];
                if (strcmp(row->status, "running") != 0)
                        continue;
                /* A run does not survive its hostd: record why, and delete what it made. */
                json_t *j = json_loads(row->result, 0, NULL);
                if (j) {
                        json_object_set_new(j, "status", json_string("failure"));
                        json_object_set_new(
                                j, "error",
                                json_string("interrupted: hostd stopped during the run"));
                        free(row->result);
                        row->result = json_dumps(j, JSON_COMPACT);
                        json_decref(j);
                }
                free(row->status);
                row->status = strdup("failure");
                row->finished_at = hd_now_ms();
                _cleanup_error_ HdError *pe = NULL;
                if (row->status && row->result)
                        (void)hd_store_benchmark_put(c->store, row, &pe);
                HdKV label = { .key = (char *)BENCH_LABEL, .value = row->id };
                HdInstanceFilter f = { .kind = HD_KIND_INVALID,
                                       .state = HD_STATE_INVALID,
                                       .labels = &label,
                                       .n_labels = 1,
                                       .limit = 1000 };
                HdInstance **insts = NULL;
                size_t ni = 0;
                bool more = false;
                _cleanup_error_ HdError *le = NULL;
                if (hd_store_instance_list(c->store, &f, &insts, &ni, &more, &le) >= 0) {
                        for (size_t k = 0; k < ni; k++) {
                                _cleanup_(hd_operation_freep) HdOperation *op = NULL;
                                _cleanup_error_ HdError *de = NULL;
                                hd_log_info("benchmark %s was interrupted: deleting %s", row->id,
                                            insts[k]->spec.name);
                                (void)hd_core_instance_action(c, insts[k]->uuid, HD_ACTION_DELETE,
                                                              "{}", true, &op, &de);
                        }
                        hd_instance_array_free(insts, ni);
                }
        }
        hd_store_benchmark_array_free(rows, n);
        return 0;
}

int hd_core_benchmark_get(HdCore *c, const char *id, HdStoreBenchmark **ret, HdError **err)
{
        return hd_store_benchmark_get(c->store, id, ret, err);
}

int hd_core_benchmark_list(HdCore *c, HdStoreBenchmark ***ret, size_t *ret_n, HdError **err)
{
        return hd_store_benchmark_list(c->store, ret, ret_n, err);
}

int hd_core_benchmark_delete(HdCore *c, const char *id, HdError **err)
{
        _cleanup_(hd_store_benchmark_freep) HdStoreBenchmark *row = NULL;
        int r = hd_store_benchmark_get(c->store, id, &row, err);
        if (r < 0)
                return r;
        if (strcmp(row->status, "running") == 0)
                return hd_error_set(err, -EBUSY,
                                    "benchmark `%s` is running: cancel its operation first", id);
        return hd_store_benchmark_delete(c->store, id, err);
}
