/* The benchmark's workloads (core-bench-internal.h): the instances they make and
 * drive through the core, the jobs they time, and the figures they record. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core-bench-internal.h"
#include "hd-log.h"

extern char **environ;

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
        (void)hd_bench_save(b, "running", NULL);
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
        double t0 = hd_bench_now_ms();
        int r = hd_core_instance_create(b->core, &spec, &inst, err);
        double t1 = hd_bench_now_ms();
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
        double t0 = hd_bench_now_ms();
        int r = hd_core_instance_action(b->core, name, a,
                                        a == HD_ACTION_STOP ? "{\"timeout\":30}" : "{}",
                                        a == HD_ACTION_DELETE, &op, err);
        if (r < 0)
                return r;
        r = hd_core_operation_wait(b->core, op->id, OP_TIMEOUT_MS, &final, err);
        if (r < 0)
                return r;
        if (ret_ms)
                *ret_ms = hd_bench_now_ms() - t0;
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
        double deadline = hd_bench_now_ms() + READY_TIMEOUT_MS;
        while (hd_bench_now_ms() < deadline) {
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
                if (hd_bench_cancelled(b))
                        return hd_error_set(err, -ECANCELED, "cancelled");
                usleep(10000);
        }
        return hd_error_set(err, -ETIMEDOUT, "%s was not ready after %d s", name,
                            READY_TIMEOUT_MS / 1000);
}

void hd_bench_forget(Bench *b, const char *name)
{
        for (size_t i = 0; i < b->n_made; i++)
                if (strcmp(b->made[i], name) == 0) {
                        free(b->made[i]);
                        b->made[i] = b->made[--b->n_made];
                        return;
                }
}

int hd_bench_destroy(Bench *b, const char *name, double *ret_ms, HdError **err)
{
        int r = act(b, name, HD_ACTION_DELETE, ret_ms, NULL, err);
        if (r >= 0)
                hd_bench_forget(b, name);
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
        double t0 = hd_bench_now_ms();
        int r = hd_core_instance_exec(b->core, name, &req, &res, err);
        double t = hd_bench_now_ms() - t0;
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
        double t0 = hd_bench_now_ms();
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
        *ret_ms = hd_bench_now_ms() - t0;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                return hd_error_set(err, -EIO, "the host job failed (status %d)", status);
        return 0;
}

/* ---- workloads ------------------------------------------------------------------------ */

void hd_bench_lifecycle(Bench *b)
{
        static const char *const names[] = { "create", "start_to_ready", "stop", "delete" };
        static const char *const labels[] = { "create", "start → ready", "stop", "delete" };
        Samples s[2][4] = { 0 };
        for (int k = 0; k < 2 && !hd_bench_cancelled(b); k++) {
                HdKind kind = k ? HD_KIND_VM : HD_KIND_CONTAINER;
                for (int rep = 0;
                     rep < b->req.warmup + b->req.repetitions && !hd_bench_cancelled(b); rep++) {
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
                                r = hd_bench_destroy(b, name, &t[3], &e);
                        hd_bench_step(b, 1);
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

void hd_bench_idle_start(Bench *b, Idle idle[2])
{
        for (int k = 0; k < 2; k++) {
                _cleanup_error_ HdError *e = NULL;
                HdKind kind = k ? HD_KIND_VM : HD_KIND_CONTAINER;
                if (run_one(b, kind, "idle", idle[k].name, sizeof(idle[k].name), &e) < 0)
                        snprintf(idle[k].why, sizeof(idle[k].why), "%s",
                                 e ? e->message : "did not start");
                else
                        idle[k].up = true;
                hd_bench_step(b, 1);
        }
}

void hd_bench_memory(Bench *b, Idle idle[2])
{
        Samples cost[2] = { 0 }, guest[2] = { 0 };
        /* Let the guest finish booting its services and the monitor settle. */
        for (int i = 0; i < 20 && !hd_bench_cancelled(b); i++)
                usleep(100000);
        miss(&guest[0], "%s", "a container has no guest of its own: its processes are the host's");
        for (int k = 0; k < 2; k++) {
                if (!idle[k].up) {
                        miss(&cost[k], "%s", idle[k].why);
                        miss(&guest[k], "%s", idle[k].why);
                        continue;
                }
                for (int rep = 0; rep < b->req.repetitions && !hd_bench_cancelled(b); rep++) {
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
        hd_bench_step(b, 1);
        add_figure(b, "memory", "host_cost", "host cost of one idle instance", "MiB", "lower",
                   side(cost[0].v, cost[0].n, cost[0].why), side(cost[1].v, cost[1].n, cost[1].why),
                   NULL);
        add_figure(b, "memory", "guest_view", "used, as the guest sees it", "MiB", "lower",
                   side(guest[0].v, guest[0].n, guest[0].why),
                   side(guest[1].v, guest[1].n, guest[1].why), NULL);
}

void hd_bench_image(Bench *b)
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
        hd_bench_step(b, 1);
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
        for (int k = 0; k < 3 && !hd_bench_cancelled(b); k++) {
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
                for (int rep = 0;
                     rep < b->req.warmup + b->req.repetitions && !hd_bench_cancelled(b); rep++) {
                        _cleanup_error_ HdError *e = NULL;
                        double ms;
                        int r = k < 2 ? exec_ms(b, idle[k].name, script, &ms, &e)
                                      : host_ms(host_script, &ms, &e);
                        hd_bench_step(b, 1);
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

void hd_bench_cpu(Bench *b, Idle idle[2])
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

void hd_bench_io(Bench *b, Idle idle[2])
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

void hd_bench_density(Bench *b)
{
        Samples count[2] = { 0 }, per[2] = { 0 };
        uint64_t total_kib = (uint64_t)b->core->facts.memory_mb * 1024;
        for (int k = 0; k < 2 && !hd_bench_cancelled(b); k++) {
                HdKind kind = k ? HD_KIND_VM : HD_KIND_CONTAINER;
                char names[64][64];
                int n = 0;
                char why[256] = "";
                while (n < b->req.density_max && n < 64 && !hd_bench_cancelled(b)) {
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
                        hd_bench_step(b, 1);
                }
                /* Settled: a second for the last one's boot to reach its steady state.
                 * The cost per instance is what the memory workload counts (a
                 * container's cgroup plus its monitor, a VM's qemu), summed over all of
                 * them: the host's free memory moves too much on its own to show a
                 * container's megabyte. */
                sleep(1);
                double sum = 0;
                int counted = 0;
                for (int i = 0; i < n; i++) {
                        HdStats st = { 0 };
                        _cleanup_error_ HdError *e = NULL;
                        if (hd_core_instance_stats(b->core, names[i], &st, &e) < 0 || !st.has_pss)
                                continue;
                        sum += (double)st.host_pss_bytes / 1048576.0;
                        if (kind == HD_KIND_CONTAINER)
                                sum += (double)st.memory_bytes / 1048576.0;
                        counted++;
                }
                if (n > 0) {
                        sample(&count[k], n);
                        if (counted == n)
                                sample(&per[k], sum / n);
                        else
                                miss(&per[k], "%s", "the driver reported no PSS for some of them");
                } else {
                        miss(&count[k], "none started: %s", why);
                        miss(&per[k], "none started: %s", why);
                }
                for (int i = 0; i < n; i++) {
                        _cleanup_error_ HdError *e = NULL;
                        (void)hd_bench_destroy(b, names[i], NULL, &e);
                }
                hd_bench_step(b, b->req.density_max - n);
        }
        add_figure(b, "density", "density_count", "instances that fit", "instances", "higher",
                   side(count[0].v, count[0].n, count[0].why),
                   side(count[1].v, count[1].n, count[1].why), NULL);
        add_figure(b, "density", "density_per_instance", "host memory per instance", "MiB", "lower",
                   side(per[0].v, per[0].n, per[0].why), side(per[1].v, per[1].n, per[1].why),
                   NULL);
}
