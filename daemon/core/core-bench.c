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
#include <fcntl.h>
#include <math.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core-internal.h"
#include "hd-codec.h"
#include "hd-json.h"
#include "hd-log.h"

#ifndef HD_VERSION
#define HD_VERSION "0.1.0"
#endif

#define BENCH_LABEL      "hostd-benchmark"
#define READY_TIMEOUT_MS (300 * 1000)
#define OP_TIMEOUT_MS    (300 * 1000)

extern char **environ;

typedef struct Bench {
        HdCore *core;
        HdBenchRequest req;
        char id[HD_UUID_STRING_MAX];
        char short_id[9];
        int64_t created_at;
        json_t *result; /* the stored JSON, figures appended as they come */
        HdDriverOp *op;
        int64_t done, total;
        /* every instance made, for the cleanup */
        char **made;
        size_t n_made;
        int seq;
} Bench;

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

static bool cancelled(Bench *b)
{
        return b->op && b->op->cancel_requested && atomic_load(b->op->cancel_requested);
}

static void step(Bench *b, int64_t n)
{
        b->done += n;
        if (b->done > b->total)
                b->total = b->done;
        if (b->op && b->op->progress)
                b->op->progress(b->op, b->done, b->total);
}

static double now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int save(Bench *b, const char *status, const char *error)
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

/* ---- figures ------------------------------------------------------------------------- */

static int cmp_double(const void *x, const void *y)
{
        double a = *(const double *)x, c = *(const double *)y;
        return (a > c) - (a < c);
}

/* Nearest rank: p95 of 20 is the 19th smallest. */
static double pct(const double *sorted, size_t n, int p)
{
        size_t rank = ((size_t)p * n + 99) / 100;
        if (rank < 1)
                rank = 1;
        if (rank > n)
                rank = n;
        return sorted[rank - 1];
}

static double round3(double v)
{
        return round(v * 1000.0) / 1000.0;
}

/* A side's figure from samples, or missing with why. */
static json_t *side(double *v, size_t n, const char *why)
{
        if (n == 0)
                return json_pack("{s:s}", "missing", why && *why ? why : "not measured");
        qsort(v, n, sizeof(*v), cmp_double);
        return json_pack("{s:f, s:f, s:f, s:f, s:i}", "p50", round3(pct(v, n, 50)), "p95",
                         round3(pct(v, n, 95)), "min", round3(v[0]), "max", round3(v[n - 1]), "n",
                         (int)n);
}

static double side_p50(const json_t *s)
{
        json_t *p = json_object_get(s, "p50");
        return p ? json_number_value(p) : NAN;
}

static void add_figure(Bench *b, const char *workload, const char *name, const char *label,
                       const char *unit, const char *better, json_t *ct, json_t *vm, json_t *host)
{
        double c = side_p50(ct), v = side_p50(vm), h = host ? side_p50(host) : NAN;
        if (host && !isnan(h) && h > 0) {
                if (!isnan(c))
                        json_object_set_new(ct, "vs_host", json_real(round3(c / h)));
                if (!isnan(v))
                        json_object_set_new(vm, "vs_host", json_real(round3(v / h)));
        }
        json_t *f = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o}", "workload", workload, "name",
                              name, "label", label, "unit", unit, "better", better, "container", ct,
                              "vm", vm);
        if (host)
                json_object_set_new(f, "host", host);
        json_object_set_new(f, "ratio",
                            !isnan(c) && !isnan(v) && c > 0 ? json_real(round3(v / c))
                                                            : json_null());
        json_array_append_new(json_object_get(b->result, "figures"), f);
        (void)save(b, "running", NULL);
}

/* Samples of one figure for one kind. */
typedef struct Samples {
        double v[64];
        size_t n;
        char why[256];
} Samples;

static void sample(Samples *s, double v)
{
        if (s->n < HD_ARRAY_SIZE(s->v))
                s->v[s->n++] = v;
}

static void miss(Samples *s, const char *fmt, const char *detail) HD_PRINTF(2, 0);
static void miss(Samples *s, const char *fmt, const char *detail)
{
        if (s->why[0])
                return;
        /* fmt is always a literal with one %s: the callers' wording around a message. */
        const char *at = strstr(fmt, "%s");
        if (!at)
                snprintf(s->why, sizeof(s->why), "%s", fmt);
        else
                snprintf(s->why, sizeof(s->why), "%.*s%s%s", (int)(at - fmt), fmt,
                         detail ? detail : "", at + 2);
}

/* ---- instances ------------------------------------------------------------------------ */

static const char *kind_tag(HdKind k)
{
        return k == HD_KIND_VM ? "vm" : "ct";
}

/* Creates an instance of the envelope; its name goes on the cleanup list first. */
static int make(Bench *b, HdKind kind, const char *what, char *name, size_t name_size,
                double *ret_ms, HdError **err)
{
        snprintf(name, name_size, "hb-%s-%s-%s-%d", b->short_id, kind_tag(kind), what, b->seq++);
        char **nm = realloc(b->made, (b->n_made + 1) * sizeof(*nm));
        if (!nm || !(nm[b->n_made] = strdup(name))) {
                if (nm)
                        b->made = nm;
                return hd_error_set(err, -ENOMEM, "out of memory");
        }
        b->made = nm;
        b->n_made++;

        HdInstanceSpec spec = {
                .name = name,
                .kind = kind,
                .image = kind == HD_KIND_VM ? b->req.vm_image : b->req.container_image,
                .resources = { .vcpus = b->req.vcpus,
                               .memory_mb = b->req.memory_mb,
                               .cpuset = b->req.cpuset },
        };
        if (kind == HD_KIND_CONTAINER) {
                spec.resources.pids_max = HD_DEFAULT_PIDS_MAX;
                /* Idle until told to stop, and quick to stop: the trap ends the wait. */
                hd_strv_push(&spec.command, "sh");
                hd_strv_push(&spec.command, "-c");
                hd_strv_push(&spec.command, "trap 'exit 0' TERM; sleep 2147483647 & wait");
        }
        hd_kvlist_set(&spec.labels, BENCH_LABEL, b->id);
        _cleanup_(hd_instance_freep) HdInstance *inst = NULL;
        double t0 = now_ms();
        int r = hd_core_instance_create(b->core, &spec, &inst, err);
        double t1 = now_ms();
        hd_strv_clear(&spec.command);
        hd_kvlist_clear(&spec.labels);
        if (ret_ms)
                *ret_ms = t1 - t0;
        return r;
}

/* Runs action a on name and waits for its operation; its created_at in *ret_op_ms. */
static int act(Bench *b, const char *name, HdAction a, double *ret_ms, int64_t *ret_op_ms,
               HdError **err)
{
        _cleanup_(hd_operation_freep) HdOperation *op = NULL, *final = NULL;
        double t0 = now_ms();
        int r = hd_core_instance_action(b->core, name, a,
                                        a == HD_ACTION_STOP ? "{\"timeout\":30}" : "{}",
                                        a == HD_ACTION_DELETE, &op, err);
        if (r < 0)
                return r;
        r = hd_core_operation_wait(b->core, op->id, OP_TIMEOUT_MS, &final, err);
        if (r < 0)
                return r;
        if (ret_ms)
                *ret_ms = now_ms() - t0;
        if (ret_op_ms)
                *ret_op_ms = op->created_at;
        if (final->status != HD_OP_SUCCESS)
                return hd_error_set(err, -EIO, "%s of %s: %s", hd_action_to_string(a), name,
                                    final->error_message ? final->error_message
                                                         : hd_op_status_to_string(final->status));
        return 0;
}

/* Waits until name says it is ready; the ms from start_op_ms to ready_at. */
static int wait_ready(Bench *b, const char *name, int64_t start_op_ms, double *ret_ms,
                      HdError **err)
{
        double deadline = now_ms() + READY_TIMEOUT_MS;
        while (now_ms() < deadline) {
                _cleanup_(hd_instance_freep) HdInstance *i = NULL;
                int r = hd_core_instance_get(b->core, name, &i, err);
                if (r < 0)
                        return r;
                if (i->ready_at > 0) {
                        *ret_ms = (double)(i->ready_at - start_op_ms);
                        return 0;
                }
                if (i->state != HD_STATE_RUNNING && i->state != HD_STATE_STARTING)
                        return hd_error_set(err, -EIO, "%s is %s, not running", name,
                                            hd_state_to_string(i->state));
                if (cancelled(b))
                        return hd_error_set(err, -ECANCELED, "cancelled");
                usleep(10000);
        }
        return hd_error_set(err, -ETIMEDOUT, "%s was not ready after %d s", name,
                            READY_TIMEOUT_MS / 1000);
}

static void forget_made(Bench *b, const char *name)
{
        for (size_t i = 0; i < b->n_made; i++)
                if (strcmp(b->made[i], name) == 0) {
                        free(b->made[i]);
                        b->made[i] = b->made[--b->n_made];
                        return;
                }
}

static int destroy(Bench *b, const char *name, double *ret_ms, HdError **err)
{
        int r = act(b, name, HD_ACTION_DELETE, ret_ms, NULL, err);
        if (r >= 0)
                forget_made(b, name);
        return r;
}

/* Makes a running, ready instance. */
static int run_one(Bench *b, HdKind kind, const char *what, char *name, size_t name_size,
                   HdError **err)
{
        int64_t op_ms;
        double ms;
        int r = make(b, kind, what, name, name_size, NULL, err);
        if (r >= 0)
                r = act(b, name, HD_ACTION_START, NULL, &op_ms, err);
        if (r >= 0)
                r = wait_ready(b, name, op_ms, &ms, err);
        return r;
}

/* Runs script in name with sh -c; the wall ms of the exec. */
static int exec_ms(Bench *b, const char *name, const char *script, double *ret_ms, HdError **err)
{
        HdExecRequest req = { .timeout_s = 600 };
        hd_strv_push(&req.command, "sh");
        hd_strv_push(&req.command, "-c");
        hd_strv_push(&req.command, script);
        HdExecResult res = { 0 };
        double t0 = now_ms();
        int r = hd_core_instance_exec(b->core, name, &req, &res, err);
        double t = now_ms() - t0;
        hd_exec_request_clear(&req);
        if (r >= 0 && (res.timed_out || res.exit_code != 0))
                r = hd_error_set(err, -EIO, "`%s` in %s: %s (exit %d) %.*s", script, name,
                                 res.timed_out ? "timed out" : "failed", res.exit_code,
                                 (int)(res.err_len > 200 ? 200 : res.err_len),
                                 res.err ? res.err : "");
        hd_exec_result_clear(&res);
        *ret_ms = t;
        return r;
}

/* Runs script on the host with the same busybox the images carry; the wall ms. */
static int host_ms(const char *script, double *ret_ms, HdError **err)
{
        char *argv[] = { (char *)"busybox", (char *)"sh", (char *)"-c", (char *)script, NULL };
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
        posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
        pid_t pid;
        double t0 = now_ms();
        int r = posix_spawnp(&pid, "busybox", &fa, NULL, argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        if (r != 0)
                return hd_error_set(err, -r,
                                    "no busybox on the host to run the same job (apt-get install "
                                    "busybox-static): %s",
                                    strerror(r));
        int status = 0;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        *ret_ms = now_ms() - t0;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                return hd_error_set(err, -EIO, "the host job failed (status %d)", status);
        return 0;
}

/* ---- workloads ------------------------------------------------------------------------ */

static void workload_lifecycle(Bench *b)
{
        static const char *const names[] = { "create", "start_to_ready", "stop", "delete" };
        static const char *const labels[] = { "create", "start → ready", "stop", "delete" };
        Samples s[2][4] = { 0 };
        for (int k = 0; k < 2 && !cancelled(b); k++) {
                HdKind kind = k ? HD_KIND_VM : HD_KIND_CONTAINER;
                for (int rep = 0; rep < b->req.warmup + b->req.repetitions && !cancelled(b);
                     rep++) {
                        bool keep = rep >= b->req.warmup;
                        char name[64];
                        double t[4];
                        int64_t op_ms = 0;
                        _cleanup_error_ HdError *e = NULL;
                        int r = make(b, kind, "life", name, sizeof(name), &t[0], &e);
                        if (r >= 0)
                                r = act(b, name, HD_ACTION_START, NULL, &op_ms, &e);
                        if (r >= 0)
                                r = wait_ready(b, name, op_ms, &t[1], &e);
                        if (r >= 0)
                                r = act(b, name, HD_ACTION_STOP, &t[2], NULL, &e);
                        if (r >= 0)
                                r = destroy(b, name, &t[3], &e);
                        step(b, 1);
                        if (r < 0) {
                                for (int f = 0; f < 4; f++)
                                        miss(&s[k][f], "%s", e ? e->message : "failed");
                                break;
                        }
                        for (int f = 0; keep && f < 4; f++)
                                sample(&s[k][f], t[f]);
                }
        }
        for (int f = 0; f < 4; f++)
                add_figure(b, "lifecycle", names[f], labels[f], "ms", "lower",
                           side(s[0][f].v, s[0][f].n, s[0][f].why),
                           side(s[1][f].v, s[1][f].n, s[1][f].why), NULL);
}

static uint64_t mem_available_kib(void)
{
        _cleanup_free_ char *text = NULL;
        size_t len;
        if (hd_read_file("/proc/meminfo", 1 << 16, &text, &len) < 0)
                return 0;
        const char *p = strstr(text, "MemAvailable:");
        return p ? strtoull(p + 13, NULL, 10) : 0;
}

/* The guest's own view of its used memory: MemTotal - MemAvailable from its
 * /proc/meminfo. */
static int guest_used_mib(Bench *b, const char *name, double *ret, HdError **err)
{
        HdExecRequest req = { .timeout_s = 60 };
        hd_strv_push(&req.command, "cat");
        hd_strv_push(&req.command, "/proc/meminfo");
        HdExecResult res = { 0 };
        int r = hd_core_instance_exec(b->core, name, &req, &res, err);
        hd_exec_request_clear(&req);
        if (r >= 0) {
                const char *t = res.out ? strstr(res.out, "MemTotal:") : NULL;
                const char *a = res.out ? strstr(res.out, "MemAvailable:") : NULL;
                if (!t || !a)
                        r = hd_error_set(err, -EIO,
                                         "the guest's /proc/meminfo has no "
                                         "MemTotal or MemAvailable");
                else
                        *ret = (double)(strtoull(t + 9, NULL, 10) - strtoull(a + 13, NULL, 10)) /
                               1024.0;
        }
        hd_exec_result_clear(&res);
        return r;
}

/* One idle instance of each kind serves the memory, cpu and io workloads. */
typedef struct Idle {
        char name[64];
        bool up;
        char why[256];
} Idle;

static void idle_start(Bench *b, Idle idle[2])
{
        for (int k = 0; k < 2; k++) {
                _cleanup_error_ HdError *e = NULL;
                HdKind kind = k ? HD_KIND_VM : HD_KIND_CONTAINER;
                if (run_one(b, kind, "idle", idle[k].name, sizeof(idle[k].name), &e) < 0)
                        snprintf(idle[k].why, sizeof(idle[k].why), "%s",
                                 e ? e->message : "did not start");
                else
                        idle[k].up = true;
                step(b, 1);
        }
}

static void workload_memory(Bench *b, Idle idle[2])
{
        Samples cost[2] = { 0 }, guest[2] = { 0 };
        /* Let the guest finish booting its services and the monitor settle. */
        for (int i = 0; i < 20 && !cancelled(b); i++)
                usleep(100000);
        miss(&guest[0], "%s", "a container has no guest of its own: its processes are the host's");
        for (int k = 0; k < 2; k++) {
                if (!idle[k].up) {
                        miss(&cost[k], "%s", idle[k].why);
                        miss(&guest[k], "%s", idle[k].why);
                        continue;
                }
                for (int rep = 0; rep < b->req.repetitions && !cancelled(b); rep++) {
                        HdStats st = { 0 };
                        _cleanup_error_ HdError *e = NULL;
                        if (hd_core_instance_stats(b->core, idle[k].name, &st, &e) < 0) {
                                miss(&cost[k], "%s", e ? e->message : "no stats");
                                break;
                        }
                        if (!st.has_pss) {
                                miss(&cost[k], "%s", "the driver reports no PSS for it");
                                break;
                        }
                        double mib = (double)st.host_pss_bytes / 1048576.0;
                        if (k == 0)
                                mib += (double)st.memory_bytes / 1048576.0;
                        sample(&cost[k], mib);
                        if (k == 1) {
                                double g = 0;
                                hd_error_free(TAKE_PTR(e));
                                if (guest_used_mib(b, idle[k].name, &g, &e) < 0)
                                        miss(&guest[k], "the guest could not be asked: %s",
                                             e ? e->message : "exec failed");
                                else
                                        sample(&guest[k], g);
                        }
                        usleep(200000);
                }
        }
        step(b, 1);
        add_figure(b, "memory", "host_cost", "host cost of one idle instance", "MiB", "lower",
                   side(cost[0].v, cost[0].n, cost[0].why), side(cost[1].v, cost[1].n, cost[1].why),
                   NULL);
        add_figure(b, "memory", "guest_view", "used, as the guest sees it", "MiB", "lower",
                   side(guest[0].v, guest[0].n, guest[0].why),
                   side(guest[1].v, guest[1].n, guest[1].why), NULL);
}

static void workload_image(Bench *b)
{
        HdImage **all = NULL;
        size_t n_all = 0;
        _cleanup_error_ HdError *le = NULL;
        (void)hd_core_image_list(b->core, HD_KIND_INVALID, &all, &n_all, &le);
        Samples tot[2] = { 0 }, uniq[2] = { 0 }, shared[2] = { 0 };
        for (int k = 0; k < 2; k++) {
                const char *ref = k ? b->req.vm_image : b->req.container_image;
                _cleanup_(hd_image_freep) HdImage *img = NULL;
                _cleanup_error_ HdError *e = NULL;
                if (hd_core_image_get(b->core, ref, &img, &e) < 0) {
                        miss(&tot[k], "%s", e ? e->message : "no such image");
                        miss(&uniq[k], "%s", e ? e->message : "no such image");
                        miss(&shared[k], "%s", e ? e->message : "no such image");
                        continue;
                }
                /* A layer is shared when an image of another digest uses it too. */
                double sh = 0;
                for (size_t l = 0; l < img->n_layers; l++) {
                        bool other = false;
                        for (size_t i = 0; i < n_all && !other; i++) {
                                if (strcmp(all[i]->digest, img->digest) == 0)
                                        continue;
                                for (size_t m = 0; m < all[i]->n_layers && !other; m++)
                                        other = strcmp(all[i]->layers[m].digest,
                                                       img->layers[l].digest) == 0;
                        }
                        if (other)
                                sh += (double)img->layers[l].size;
                }
                sample(&tot[k], (double)img->size / 1048576.0);
                sample(&shared[k], sh / 1048576.0);
                sample(&uniq[k], ((double)img->size - sh) / 1048576.0);
        }
        hd_image_array_free(all, n_all);
        step(b, 1);
        add_figure(b, "image", "image_total", "image size on disk", "MiB", "lower",
                   side(tot[0].v, tot[0].n, tot[0].why), side(tot[1].v, tot[1].n, tot[1].why),
                   NULL);
        add_figure(b, "image", "image_unique", "bytes only this image uses", "MiB", "lower",
                   side(uniq[0].v, uniq[0].n, uniq[0].why), side(uniq[1].v, uniq[1].n, uniq[1].why),
                   NULL);
        add_figure(b, "image", "image_shared", "bytes shared with other images", "MiB", "lower",
                   side(shared[0].v, shared[0].n, shared[0].why),
                   side(shared[1].v, shared[1].n, shared[1].why), NULL);
}

/* The same job inside each kind and on the host (host_script: the host's form of it),
 * each time less the cost of running `true` the same way: the exec path's own latency
 * is not the job's. */
static void timed_job(Bench *b, Idle idle[2], const char *script, const char *host_script,
                      Samples out[3], double (*convert)(Bench *b, double ms))
{
        for (int k = 0; k < 3 && !cancelled(b); k++) {
                if (k < 2 && !idle[k].up) {
                        miss(&out[k], "%s", idle[k].why);
                        continue;
                }
                double base[3];
                size_t nb = 0;
                for (int i = 0; i < 3; i++) {
                        _cleanup_error_ HdError *e = NULL;
                        double ms;
                        int r = k < 2 ? exec_ms(b, idle[k].name, "true", &ms, &e)
                                      : host_ms("true", &ms, &e);
                        if (r < 0) {
                                miss(&out[k], "%s", e ? e->message : "exec failed");
                                break;
                        }
                        base[nb++] = ms;
                }
                if (nb < 3)
                        continue;
                qsort(base, nb, sizeof(*base), cmp_double);
                for (int rep = 0; rep < b->req.warmup + b->req.repetitions && !cancelled(b);
                     rep++) {
                        _cleanup_error_ HdError *e = NULL;
                        double ms;
                        int r = k < 2 ? exec_ms(b, idle[k].name, script, &ms, &e)
                                      : host_ms(host_script, &ms, &e);
                        step(b, 1);
                        if (r < 0) {
                                miss(&out[k], "%s", e ? e->message : "exec failed");
                                break;
                        }
                        if (rep >= b->req.warmup)
                                sample(&out[k], convert(b, fmax(ms - base[1], 0.001)));
                }
        }
}

static double to_seconds(Bench *b, double ms)
{
        (void)b;
        return ms / 1000.0;
}

static double to_mib_s(Bench *b, double ms)
{
        return (double)b->req.io_mib / (ms / 1000.0);
}

static void workload_cpu(Bench *b, Idle idle[2])
{
        char script[256];
        snprintf(script, sizeof(script),
                 "dd if=/dev/zero bs=1048576 count=%d 2>/dev/null | md5sum >/dev/null",
                 b->req.cpu_mib);
        Samples s[3] = { 0 };
        timed_job(b, idle, script, script, s, to_seconds);
        char label[64];
        snprintf(label, sizeof(label), "md5sum of %d MiB", b->req.cpu_mib);
        add_figure(b, "cpu", "cpu_job", label, "s", "lower", side(s[0].v, s[0].n, s[0].why),
                   side(s[1].v, s[1].n, s[1].why), side(s[2].v, s[2].n, s[2].why));
}

static void workload_io(Bench *b, Idle idle[2])
{
        /* Inside each kind the file is in its /tmp: the container's writable layer, the
         * guest's own filesystem; on the host, hostd's state dir's filesystem. */
        _cleanup_free_ char *host_dir = NULL;
        if (asprintf(&host_dir, "%s/bench-io-%s",
                     b->core->cfg.state_dir ? b->core->cfg.state_dir : "/var/tmp", b->short_id) < 0)
                host_dir = NULL;
        char w[2][512], r[2][512];
        const char *dirs[2] = { "/tmp", host_dir ? host_dir : "/var/tmp" };
        for (int i = 0; i < 2; i++) {
                snprintf(w[i], sizeof(w[i]),
                         "mkdir -p %s && dd if=/dev/zero of=%s/hd-bench-io bs=1048576 count=%d "
                         "conv=fsync 2>/dev/null",
                         dirs[i], dirs[i], b->req.io_mib);
                snprintf(r[i], sizeof(r[i]),
                         "dd if=%s/hd-bench-io of=/dev/null bs=1048576 2>/dev/null", dirs[i]);
        }
        Samples sw[3] = { 0 }, sr[3] = { 0 };
        timed_job(b, idle, w[0], w[1], sw, to_mib_s);
        timed_job(b, idle, r[0], r[1], sr, to_mib_s);
        char label[64];
        snprintf(label, sizeof(label), "sequential write of %d MiB (fsync)", b->req.io_mib);
        add_figure(b, "io", "io_write", label, "MiB/s", "higher", side(sw[0].v, sw[0].n, sw[0].why),
                   side(sw[1].v, sw[1].n, sw[1].why), side(sw[2].v, sw[2].n, sw[2].why));
        snprintf(label, sizeof(label), "sequential read of %d MiB (page cache warm)",
                 b->req.io_mib);
        add_figure(b, "io", "io_read", label, "MiB/s", "higher", side(sr[0].v, sr[0].n, sr[0].why),
                   side(sr[1].v, sr[1].n, sr[1].why), side(sr[2].v, sr[2].n, sr[2].why));
        if (host_dir) {
                char cmd[600];
                snprintf(cmd, sizeof(cmd), "rm -rf %s", host_dir);
                double ms;
                _cleanup_error_ HdError *e = NULL;
                (void)host_ms(cmd, &ms, &e);
        }
}

static void workload_density(Bench *b)
{
        Samples count[2] = { 0 }, per[2] = { 0 };
        uint64_t total_kib = (uint64_t)b->core->facts.memory_mb * 1024;
        for (int k = 0; k < 2 && !cancelled(b); k++) {
                HdKind kind = k ? HD_KIND_VM : HD_KIND_CONTAINER;
                uint64_t before = mem_available_kib();
                char names[64][64];
                int n = 0;
                char why[256] = "";
                while (n < b->req.density_max && n < 64 && !cancelled(b)) {
                        /* The host's memory budget: stop while a tenth of the host and
                         * one more envelope are still free. */
                        uint64_t avail = mem_available_kib();
                        if (avail < total_kib / 10 + (uint64_t)b->req.memory_mb * 1024) {
                                snprintf(why, sizeof(why), "the host's memory budget");
                                break;
                        }
                        _cleanup_error_ HdError *e = NULL;
                        if (run_one(b, kind, "dense", names[n], sizeof(names[n]), &e) < 0) {
                                snprintf(why, sizeof(why), "%s", e ? e->message : "failed");
                                break;
                        }
                        n++;
                        step(b, 1);
                }
                /* Settled: a second for the last one's boot to reach its steady state. */
                sleep(1);
                uint64_t after = mem_available_kib();
                if (n > 0) {
                        sample(&count[k], n);
                        sample(&per[k], before > after ? (double)(before - after) / 1024.0 / n : 0);
                } else {
                        miss(&count[k], "none started: %s", why);
                        miss(&per[k], "none started: %s", why);
                }
                for (int i = 0; i < n; i++) {
                        _cleanup_error_ HdError *e = NULL;
                        (void)destroy(b, names[i], NULL, &e);
                }
                step(b, b->req.density_max - n);
        }
        add_figure(b, "density", "density_count", "instances that fit", "instances", "higher",
                   side(count[0].v, count[0].n, count[0].why),
                   side(count[1].v, count[1].n, count[1].why), NULL);
        add_figure(b, "density", "density_per_instance", "host memory per instance", "MiB", "lower",
                   side(per[0].v, per[0].n, per[0].why), side(per[1].v, per[1].n, per[1].why),
                   NULL);
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
                if (!name || destroy(b, name, NULL, &e) < 0) {
                        hd_log_warn("benchmark %s: deleting %s failed: %s", b->id,
                                    name ? name : "?", e ? e->message : "out of memory");
                        /* Not forgotten by destroy: drop it here so the loop ends; the
                         * next start's reconciliation deletes it by its label. */
                        if (b->n_made > 0)
                                forget_made(b, b->made[b->n_made - 1]);
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
        (void)save(b, "running", NULL);
        step(b, 0);

        if ((w & (1u << HD_BENCH_IMAGE)) && !cancelled(b))
                workload_image(b);
        if ((w & (1u << HD_BENCH_LIFECYCLE)) && !cancelled(b))
                workload_lifecycle(b);
        if ((w & ((1u << HD_BENCH_MEMORY) | (1u << HD_BENCH_CPU) | (1u << HD_BENCH_IO))) &&
            !cancelled(b)) {
                Idle idle[2] = { 0 };
                idle_start(b, idle);
                if ((w & (1u << HD_BENCH_MEMORY)) && !cancelled(b))
                        workload_memory(b, idle);
                if ((w & (1u << HD_BENCH_CPU)) && !cancelled(b))
                        workload_cpu(b, idle);
                if ((w & (1u << HD_BENCH_IO)) && !cancelled(b))
                        workload_io(b, idle);
                cleanup_instances(b);
        }
        if ((w & (1u << HD_BENCH_DENSITY)) && !cancelled(b))
                workload_density(b);

        cleanup_instances(b);
        /* QEMU's version is known once a guest has run (libvirt probes it then). */
        HdDriverStatus vm;
        hd_core_driver_status(b->core, HD_KIND_VM, &vm);
        json_t *versions = json_object_get(json_object_get(b->result, "manifest"), "versions");
        if (vm.facts.hypervisor_version && versions)
                json_object_set_new(versions, "qemu", json_string(vm.facts.hypervisor_version));
        if (cancelled(b)) {
                (void)save(b, "cancelled", "cancelled");
                return hd_error_set(err, -ECANCELED, "benchmark %s cancelled", b->id);
        }
        step(b, b->total - b->done);
        (void)save(b, "success", NULL);
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
        (void)save(b, "running", NULL);
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
