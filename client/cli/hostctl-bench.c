/* hostctl: `bench run|ls|show|compare|rm`, the benchmarks API. A run is followed to its
 * end with a progress bar on stderr, and its report (Markdown, rendered by hostd) goes
 * to stdout; Ctrl-C cancels it. */
#include "hostctl.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum {
        OPT_WORKLOADS = 256,
        OPT_CONTAINER_IMAGE,
        OPT_VM_IMAGE,
        OPT_REPETITIONS,
        OPT_WARMUP,
        OPT_VCPUS,
        OPT_MEMORY,
        OPT_CPUSET,
        OPT_CPU_MIB,
        OPT_IO_MIB,
        OPT_DENSITY_MAX,
        OPT_SVG,
};

/* The envelope and sizes a run gets unless told (the API's documented defaults). */
#define HOSTCTL_BENCH_VCPUS       1
#define HOSTCTL_BENCH_MEMORY_MB   256
#define HOSTCTL_BENCH_CPU_MIB     64
#define HOSTCTL_BENCH_IO_MIB      64
#define HOSTCTL_BENCH_DENSITY_MAX 8
/* How often a run's operation is read back while it runs. */
#define HOSTCTL_BENCH_POLL_MS 500
/* Width of the progress bar on a terminal, in characters. */
#define HOSTCTL_BENCH_BAR_WIDTH 30

static const char *hostctl_bench_str(const json_t *obj, const char *key)
{
        return json_string_value(json_object_get(obj, key));
}

/* ---- Progress ------------------------------------------------------------------------ */

/* A run's progress as one line without a newline: "[#####-----]  50% (10/20)" with
 * width characters of bar, or "10 done" while total is unknown (0). done is clamped to
 * 0..total. Writes into buf and returns it. */
static const char *hostctl_bench_progress_text(char *buf, size_t size, int64_t done, int64_t total,
                                               int width)
{
        char bar[128];

        if (done < 0)
                done = 0;
        if (total <= 0) {
                snprintf(buf, size, "%" PRId64 " done", done);
                return buf;
        }
        if (done > total)
                done = total;
        if (width < 0)
                width = 0;
        if ((size_t)width >= sizeof(bar))
                width = (int)sizeof(bar) - 1;
        int fill = (int)(done * width / total);
        for (int i = 0; i < width; i++)
                bar[i] = i < fill ? '#' : '-';
        bar[width] = '\0';
        snprintf(buf, size, "[%s] %3d%% (%" PRId64 "/%" PRId64 ")", bar, (int)(done * 100 / total),
                 done, total);
        return buf;
}

typedef struct HostctlBenchProgress {
        const char *id; /* the benchmark's id */
        bool tty;       /* stderr is a terminal: one line redrawn with \r */
        int last;       /* tenth shown last (lines); -1 none */
        int64_t last_done, last_total;
        bool drawn; /* a bar is on screen, to be ended with a newline */
} HostctlBenchProgress;

static void hostctl_bench_progress_show(HostctlBenchProgress *p, const json_t *op)
{
        const json_t *pr = json_object_get(op, "progress");
        int64_t done = json_integer_value(json_object_get(pr, "done"));
        int64_t total = json_integer_value(json_object_get(pr, "total"));
        char text[256];

        if (p->drawn && done == p->last_done && total == p->last_total)
                return;
        p->last_done = done;
        p->last_total = total;
        if (p->tty) {
                fprintf(stderr, "\rbenchmark %.8s %s\033[K", p->id,
                        hostctl_bench_progress_text(text, sizeof(text), done, total,
                                                    HOSTCTL_BENCH_BAR_WIDTH));
                p->drawn = true;
        } else {
                /* Not a terminal (a log): a line at each tenth, nothing while the total
                 * is unknown. */
                if (total <= 0)
                        return;
                int tenth = (int)((done < total ? done : total) * 10 / total);
                if (tenth == p->last)
                        return;
                p->last = tenth;
                fprintf(stderr, "benchmark %s: %d%% (%" PRId64 " of %" PRId64 ")\n", p->id,
                        tenth * 10, done, total);
        }
        fflush(stderr);
}

static void hostctl_bench_progress_end(HostctlBenchProgress *p)
{
        if (p->drawn) {
                fputc('\n', stderr);
                fflush(stderr);
                p->drawn = false;
        }
}

/* ---- Ctrl-C -------------------------------------------------------------------------- */

static volatile sig_atomic_t hostctl_bench_interrupted;

/* The first Ctrl-C asks the run to be cancelled; a second one, while that request
 * hangs, ends hostctl at once. */
static void hostctl_bench_on_signal(int sig)
{
        if (hostctl_bench_interrupted) {
                signal(sig, SIG_DFL);
                raise(sig);
                return;
        }
        hostctl_bench_interrupted = 1;
}

typedef struct HostctlBenchSignals {
        struct sigaction old_int, old_term;
} HostctlBenchSignals;

static void hostctl_bench_signals_catch(HostctlBenchSignals *s)
{
        /* No SA_RESTART: the sleep between polls ends at once. */
        struct sigaction sa = { .sa_handler = hostctl_bench_on_signal };
        sigemptyset(&sa.sa_mask);
        hostctl_bench_interrupted = 0;
        sigaction(SIGINT, &sa, &s->old_int);
        sigaction(SIGTERM, &sa, &s->old_term);
}

static void hostctl_bench_signals_restore(HostctlBenchSignals *s)
{
        sigaction(SIGINT, &s->old_int, NULL);
        sigaction(SIGTERM, &s->old_term, NULL);
}

/* ---- run ----------------------------------------------------------------------------- */

/* "lifecycle,cpu" or "all" as the request's workloads array; NULL after printing a
 * usage error. The server checks the names. */
static json_t *hostctl_bench_workloads(const char *list)
{
        _cleanup_json_ json_t *arr = json_array();

        if (!arr) {
                hostctl_error("out of memory");
                return NULL;
        }
        for (const char *p = list;;) {
                size_t n = strcspn(p, ",");
                if (n == 0) {
                        hostctl_usage_error("--workloads must be names separated by commas, "
                                            "not `%s`",
                                            list);
                        return NULL;
                }
                if (json_array_append_new(arr, json_stringn(p, n)) < 0) {
                        hostctl_usage_error("--workloads must be valid UTF-8");
                        return NULL;
                }
                if (!p[n])
                        return TAKE_PTR(arr);
                p += n + 1;
        }
}

/* What the options of `bench run` set; -1 means "not given". */
typedef struct HostctlBenchRun {
        const char *workloads;
        const char *container_image;
        const char *vm_image;
        long long repetitions, warmup;
        long long vcpus, memory_mb;
        const char *cpuset;
        long long cpu_mib, io_mib, density_max;
} HostctlBenchRun;

static long long hostctl_bench_or(long long value, long long otherwise)
{
        return value >= 0 ? value : otherwise;
}

/* The BenchmarkRequest. The envelope is always sent (with its defaults); the sizes only
 * when one of them is given, then whole; repetitions and warmup only when given. */
static json_t *hostctl_bench_request(const HostctlBenchRun *o)
{
        _cleanup_json_ json_t *workloads = hostctl_bench_workloads(o->workloads);
        if (!workloads)
                return NULL;
        _cleanup_json_ json_t *envelope = json_pack(
                "{s:I, s:I}", "vcpus", (json_int_t)hostctl_bench_or(o->vcpus, HOSTCTL_BENCH_VCPUS),
                "memory_mb", (json_int_t)hostctl_bench_or(o->memory_mb, HOSTCTL_BENCH_MEMORY_MB));
        if (!envelope) {
                hostctl_error("out of memory");
                return NULL;
        }
        if (o->cpuset && json_object_set_new(envelope, "cpuset", json_string(o->cpuset)) < 0) {
                hostctl_usage_error("--cpuset must be valid UTF-8");
                return NULL;
        }
        _cleanup_json_ json_t *req =
                json_pack("{s:O, s:s, s:s, s:O}", "workloads", workloads, "container_image",
                          o->container_image, "vm_image", o->vm_image, "envelope", envelope);
        if (!req) {
                hostctl_usage_error("image references must be valid UTF-8");
                return NULL;
        }
        if ((o->repetitions >= 0 &&
             json_object_set_new(req, "repetitions", json_integer(o->repetitions)) < 0) ||
            (o->warmup >= 0 && json_object_set_new(req, "warmup", json_integer(o->warmup)) < 0) ||
            ((o->cpu_mib >= 0 || o->io_mib >= 0 || o->density_max >= 0) &&
             json_object_set_new(
                     req, "sizes",
                     json_pack("{s:I, s:I, s:I}", "cpu_mib",
                               (json_int_t)hostctl_bench_or(o->cpu_mib, HOSTCTL_BENCH_CPU_MIB),
                               "io_mib",
                               (json_int_t)hostctl_bench_or(o->io_mib, HOSTCTL_BENCH_IO_MIB),
                               "density_max",
                               (json_int_t)hostctl_bench_or(o->density_max,
                                                            HOSTCTL_BENCH_DENSITY_MAX))) < 0)) {
                hostctl_error("out of memory");
                return NULL;
        }
        return TAKE_PTR(req);
}

/* The benchmark an operation runs: its "benchmark" member. */
static const char *hostctl_bench_of_operation(const json_t *op)
{
        return hostctl_bench_str(op, "benchmark");
}

static void hostctl_bench_sleep_ms(int ms)
{
        struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
        /* A signal ends it early; the caller checks the flag. */
        nanosleep(&ts, NULL);
}

/* Ctrl-C: cancel the run's operation and say so. */
static int hostctl_bench_interrupt(Hostctl *ctl, const char *op_id, const char *id)
{
        _cleanup_json_ json_t *op = NULL;
        HcError err;

        if (hc_operation_cancel(ctl->client, op_id, &op, &err) >= 0)
                fprintf(stderr, "hostctl: benchmark %s cancelled\n", id);
        else if (err.http_status == 409)
                fprintf(stderr,
                        "hostctl: benchmark %s had already finished: "
                        "`hostctl bench show %s`\n",
                        id, id);
        else
                hostctl_api_error(&err, "cannot cancel the benchmark");
        return HOSTCTL_EXIT_INTERRUPTED;
}

/* Follows a started run to its end; *ret_op gets the final operation. Returns -1 to
 * go on, or the exit status. */
static int hostctl_bench_follow(Hostctl *ctl, json_t *op, const char *id, json_t **ret_op)
{
        _cleanup_json_ json_t *cur = json_incref(op);
        _cleanup_free_ char *op_id = strdup(hostctl_bench_str(op, "id"));
        HostctlBenchProgress p = { .id = id, .tty = isatty(STDERR_FILENO) == 1, .last = -1 };
        HcError err;

        if (!op_id)
                return hostctl_error("out of memory");
        for (;;) {
                if (hostctl_bench_interrupted) {
                        hostctl_bench_progress_end(&p);
                        return hostctl_bench_interrupt(ctl, op_id, id);
                }
                hostctl_bench_progress_show(&p, cur);
                if (hc_operation_is_final(cur))
                        break;
                hostctl_bench_sleep_ms(HOSTCTL_BENCH_POLL_MS);
                if (hostctl_bench_interrupted)
                        continue;
                json_t *next = NULL;
                if (hc_operation_get(ctl->client, op_id, &next, &err) < 0) {
                        hostctl_bench_progress_end(&p);
                        if (hostctl_bench_interrupted)
                                return hostctl_bench_interrupt(ctl, op_id, id);
                        hostctl_api_error(&err, "cannot follow the benchmark");
                        fprintf(stderr,
                                "hostctl: it may still be running: `hostctl bench show %s`\n", id);
                        return HOSTCTL_EXIT_ERROR;
                }
                json_decref(cur);
                cur = next;
        }
        hostctl_bench_progress_end(&p);
        *ret_op = TAKE_PTR(cur);
        return -1;
}

/* The report of a finished run: the Markdown, or the result with -o json. */
static int hostctl_bench_print_report(Hostctl *ctl, const char *id)
{
        HcError err;

        if (ctl->output == HOSTCTL_OUTPUT_JSON) {
                _cleanup_json_ json_t *result = NULL;
                if (hc_bench_get(ctl->client, id, &result, &err) < 0)
                        return hostctl_api_error(&err, NULL);
                hostctl_print_json(result);
                return HOSTCTL_EXIT_OK;
        }
        _cleanup_free_ char *md = NULL;
        if (hc_bench_markdown(ctl->client, id, &md, &err) < 0)
                return hostctl_api_error(&err, NULL);
        fputs(md, stdout);
        if (*md && md[strlen(md) - 1] != '\n')
                fputc('\n', stdout);
        fflush(stdout);
        return ferror(stdout) ? hostctl_error("writing the report: %s", strerror(EIO))
                              : HOSTCTL_EXIT_OK;
}

static int hostctl_bench_run(Hostctl *ctl, int argc, char **argv)
{
        static const struct option options[] = {
                { "workloads", required_argument, NULL, OPT_WORKLOADS },
                { "container-image", required_argument, NULL, OPT_CONTAINER_IMAGE },
                { "vm-image", required_argument, NULL, OPT_VM_IMAGE },
                { "repetitions", required_argument, NULL, OPT_REPETITIONS },
                { "warmup", required_argument, NULL, OPT_WARMUP },
                { "vcpus", required_argument, NULL, OPT_VCPUS },
                { "memory", required_argument, NULL, OPT_MEMORY },
                { "cpuset", required_argument, NULL, OPT_CPUSET },
                { "cpu-mib", required_argument, NULL, OPT_CPU_MIB },
                { "io-mib", required_argument, NULL, OPT_IO_MIB },
                { "density-max", required_argument, NULL, OPT_DENSITY_MAX },
                HOSTCTL_COMMON_OPTIONS,
                {},
        };
        HostctlBenchRun o = {
                .workloads = "all",
                .repetitions = -1,
                .warmup = -1,
                .vcpus = -1,
                .memory_mb = -1,
                .cpu_mib = -1,
                .io_mib = -1,
                .density_max = -1,
        };
        _cleanup_json_ json_t *req = NULL, *op = NULL, *final = NULL;
        HostctlBenchSignals sigs;
        HcError err;
        int c, r;

        /* Ranges the API documents are checked here; the rest only for being numbers. */
        while ((c = hostctl_getopt(ctl, argc, argv, options)) != -1) {
                bool ok = true;
                switch (c) {
                case OPT_WORKLOADS:
                        o.workloads = optarg;
                        break;
                case OPT_CONTAINER_IMAGE:
                        o.container_image = optarg;
                        break;
                case OPT_VM_IMAGE:
                        o.vm_image = optarg;
                        break;
                case OPT_REPETITIONS:
                        ok = hostctl_parse_int("--repetitions", optarg, 1, 50, &o.repetitions);
                        break;
                case OPT_WARMUP:
                        ok = hostctl_parse_int("--warmup", optarg, 0, 5, &o.warmup);
                        break;
                case OPT_VCPUS:
                        ok = hostctl_parse_int("--vcpus", optarg, 1, INT_MAX, &o.vcpus);
                        break;
                case OPT_MEMORY:
                        ok = hostctl_parse_int("--memory", optarg, 1, INT_MAX, &o.memory_mb);
                        break;
                case OPT_CPUSET:
                        o.cpuset = optarg;
                        break;
                case OPT_CPU_MIB:
                        ok = hostctl_parse_int("--cpu-mib", optarg, 1, INT_MAX, &o.cpu_mib);
                        break;
                case OPT_IO_MIB:
                        ok = hostctl_parse_int("--io-mib", optarg, 1, INT_MAX, &o.io_mib);
                        break;
                case OPT_DENSITY_MAX:
                        ok = hostctl_parse_int("--density-max", optarg, 1, INT_MAX, &o.density_max);
                        break;
                default:
                        return c - HOSTCTL_OPT_STOP;
                }
                if (!ok)
                        return HOSTCTL_EXIT_USAGE;
        }
        r = hostctl_positional(argc, argv, 0, 0, NULL);
        if (r >= 0)
                return r;
        if (!o.container_image || !o.vm_image)
                return hostctl_usage_error("%s: --container-image REF and --vm-image REF are "
                                           "required",
                                           argv[0]);
        req = hostctl_bench_request(&o);
        if (!req)
                return HOSTCTL_EXIT_USAGE;
        if (!hostctl_client(ctl))
                return HOSTCTL_EXIT_ERROR;

        /* Caught from before the run starts, so that Ctrl-C never leaves one behind. */
        hostctl_bench_signals_catch(&sigs);
        if (hc_bench_start(ctl->client, req, &op, &err) < 0) {
                hostctl_bench_signals_restore(&sigs);
                if (hostctl_bench_interrupted)
                        return HOSTCTL_EXIT_INTERRUPTED;
                return hostctl_api_error(&err, NULL);
        }
        const char *id = hostctl_bench_of_operation(op);
        if (!id) {
                hostctl_bench_signals_restore(&sigs);
                return hostctl_error("unexpected answer from %s: the operation names no "
                                     "benchmark",
                                     hc_client_endpoint(ctl->client));
        }
        fprintf(stderr, "benchmark %s started (operation %s)\n", id, hostctl_bench_str(op, "id"));
        r = hostctl_bench_follow(ctl, op, id, &final);
        hostctl_bench_signals_restore(&sigs);
        if (r >= 0)
                return r;

        r = hc_operation_check(final, &err);
        if (r == -ECANCELED)
                return hostctl_error("benchmark %s was cancelled", id);
        if (r < 0) {
                _cleanup_free_ char *prefix = NULL;
                if (asprintf(&prefix, "benchmark %s failed", id) < 0)
                        prefix = NULL;
                return hostctl_api_error(&err, prefix ? prefix : "benchmark failed");
        }
        return hostctl_bench_print_report(ctl, id);
}

/* ---- ls, show, rm -------------------------------------------------------------------- */

static void hostctl_print_benchmarks(const json_t *benchmarks)
{
        static const char *const headers[] = { "ID",        "STATUS",  "ACCEL",
                                               "WORKLOADS", "CREATED", "FINISHED" };
        _cleanup_(hostctl_table_freep) HostctlTable *t = hostctl_table_new(6, headers);
        size_t i;
        json_t *b;

        if (!t)
                return;
        json_array_foreach (benchmarks, i, b) {
                const json_t *w = json_object_get(json_object_get(b, "request"), "workloads");
                _cleanup_free_ char *workloads = w ? hostctl_value_string(w) : NULL;

                hostctl_table_add(t, (const char *const[]){
                                             hostctl_bench_str(b, "id"),
                                             hostctl_bench_str(b, "status"),
                                             hostctl_bench_str(b, "accel"),
                                             workloads,
                                             hostctl_bench_str(b, "created_at"),
                                             hostctl_bench_str(b, "finished_at"),
                                     });
        }
        hostctl_table_print(t, stdout);
}

static int hostctl_bench_ls(Hostctl *ctl, int argc, char **argv)
{
        _cleanup_json_ json_t *list = NULL;
        HcError err;
        int r = hostctl_only_common_options(ctl, argc, argv, 0, 0, NULL);
        if (r >= 0)
                return r;
        if (!hostctl_client(ctl))
                return HOSTCTL_EXIT_ERROR;
        if (hc_bench_list(ctl->client, &list, &err) < 0)
                return hostctl_api_error(&err, NULL);
        return hostctl_print_list(ctl, list, "benchmarks", hostctl_print_benchmarks);
}

/* Writes the chart to path ("-": standard output). */
static int hostctl_bench_write_svg(const char *path, const char *svg, size_t len)
{
        bool to_stdout = strcmp(path, "-") == 0;
        _cleanup_close_ int own = -1;
        int fd = STDOUT_FILENO;

        if (!to_stdout) {
                own = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
                if (own < 0)
                        return hostctl_error("cannot create `%s`: %s", path, strerror(errno));
                fd = own;
        } else {
                fflush(stdout);
        }
        for (size_t done = 0; done < len;) {
                ssize_t n = write(fd, svg + done, len - done);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return hostctl_error("writing `%s`: %s", path, strerror(errno));
                done += (size_t)n;
        }
        if (own >= 0 && close(TAKE_FD(own)) < 0)
                return hostctl_error("writing `%s`: %s", path, strerror(errno));
        return HOSTCTL_EXIT_OK;
}

static int hostctl_bench_show(Hostctl *ctl, int argc, char **argv)
{
        static const struct option options[] = {
                { "svg", required_argument, NULL, OPT_SVG },
                HOSTCTL_COMMON_OPTIONS,
                {},
        };
        const char *svg_path = NULL;
        HcError err;
        int c, r;

        while ((c = hostctl_getopt(ctl, argc, argv, options)) != -1) {
                if (c != OPT_SVG)
                        return c - HOSTCTL_OPT_STOP;
                svg_path = optarg;
        }
        r = hostctl_positional(argc, argv, 1, 1, "benchmark ID");
        if (r >= 0)
                return r;
        const char *id = argv[optind];
        if (!hostctl_client(ctl))
                return HOSTCTL_EXIT_ERROR;

        if (svg_path) {
                _cleanup_free_ char *svg = NULL;
                size_t len = 0;
                if (hc_bench_svg(ctl->client, id, &svg, &len, &err) < 0)
                        return hostctl_api_error(&err, NULL);
                r = hostctl_bench_write_svg(svg_path, svg, len);
                /* The chart went to stdout: it is the whole output. */
                if (r != HOSTCTL_EXIT_OK || strcmp(svg_path, "-") == 0)
                        return r;
        }
        return hostctl_bench_print_report(ctl, id);
}

static int hostctl_bench_rm(Hostctl *ctl, int argc, char **argv)
{
        _cleanup_json_ json_t *gone = NULL;
        HcError err;
        int r = hostctl_only_common_options(ctl, argc, argv, 1, 1, "benchmark ID");
        if (r >= 0)
                return r;
        if (!hostctl_client(ctl))
                return HOSTCTL_EXIT_ERROR;
        if (hc_bench_delete(ctl->client, argv[optind], &gone, &err) < 0)
                return hostctl_api_error(&err, NULL);
        if (ctl->output == HOSTCTL_OUTPUT_JSON) {
                hostctl_print_json(gone);
        } else {
                const char *id = hostctl_bench_str(gone, "id");
                printf("deleted %s\n", id ? id : argv[optind]);
        }
        return HOSTCTL_EXIT_OK;
}

/* The id of the unfinished operation that runs benchmark id, into *ret (malloc()ed);
 * NULL when there is none. For results that do not name their operation. */
static int hostctl_bench_find_operation(Hostctl *ctl, const char *id, char **ret)
{
        static const char *const statuses[] = { "running", "pending" };
        HcError err;

        *ret = NULL;
        for (size_t i = 0; i < HD_ARRAY_SIZE(statuses); i++) {
                _cleanup_json_ json_t *page = NULL;
                HcOperationListOptions o = { .status = statuses[i], .limit = 1000 };
                size_t k;
                json_t *op;

                if (hc_operation_list(ctl->client, &o, &page, &err) < 0)
                        return hostctl_api_error(&err, NULL);
                json_array_foreach (json_object_get(page, "operations"), k, op) {
                        const char *b = hostctl_bench_str(op, "benchmark");
                        const char *op_id = hostctl_bench_str(op, "id");
                        if (b && op_id && strcmp(b, id) == 0) {
                                *ret = strdup(op_id);
                                return *ret ? HOSTCTL_EXIT_OK : hostctl_error("out of memory");
                        }
                }
        }
        return HOSTCTL_EXIT_OK;
}

/* `bench cancel ID`: cancels a run through its operation. */
static int hostctl_bench_cancel(Hostctl *ctl, int argc, char **argv)
{
        _cleanup_json_ json_t *result = NULL, *op = NULL;
        _cleanup_free_ char *found = NULL;
        HcError err;
        int r = hostctl_only_common_options(ctl, argc, argv, 1, 1, "benchmark ID");
        if (r >= 0)
                return r;
        const char *id = argv[optind];
        if (!hostctl_client(ctl))
                return HOSTCTL_EXIT_ERROR;
        if (hc_bench_get(ctl->client, id, &result, &err) < 0)
                return hostctl_api_error(&err, NULL);
        const char *status = hostctl_bench_str(result, "status");
        const char *op_id = hostctl_bench_str(result, "operation_id");
        if (!status || strcmp(status, "running") != 0)
                return hostctl_error("benchmark `%s` is not running (it is %s)", id,
                                     status ? status : "in an unknown state");
        if (!op_id || !*op_id) {
                r = hostctl_bench_find_operation(ctl, id, &found);
                if (r != HOSTCTL_EXIT_OK)
                        return r;
                if (!found)
                        return hostctl_error("no unfinished operation runs benchmark `%s`", id);
                op_id = found;
        }
        if (hc_operation_cancel(ctl->client, op_id, &op, &err) < 0)
                return hostctl_api_error(&err, NULL);
        if (ctl->output == HOSTCTL_OUTPUT_JSON)
                hostctl_print_json(op);
        else
                printf("cancelling %s (operation %s)\n", id, op_id);
        return HOSTCTL_EXIT_OK;
}

/* ---- compare ------------------------------------------------------------------------- */

/* A measured value, with fewer decimals the larger it is; "-" when missing. */
static const char *hostctl_bench_number(const json_t *v, char *buf, size_t size)
{
        if (!json_is_number(v)) {
                snprintf(buf, size, "-");
                return buf;
        }
        double x = json_number_value(v);
        double a = x < 0 ? -x : x;
        snprintf(buf, size, a >= 100 ? "%.0f" : a >= 10 ? "%.1f" : a >= 1 ? "%.2f" : "%.3g", x);
        return buf;
}

/* A b/a ratio as the change from a to b: "+12.5%", "-3.0%"; "-" when missing. */
static const char *hostctl_bench_change(const json_t *v, char *buf, size_t size)
{
        if (!json_is_number(v)) {
                snprintf(buf, size, "-");
                return buf;
        }
        snprintf(buf, size, "%+.1f%%", (json_number_value(v) - 1.0) * 100.0);
        return buf;
}

static void hostctl_print_comparison(const json_t *cmp)
{
        static const char *const headers[] = { "WORKLOAD",    "FIGURE",      "UNIT",
                                               "CONTAINER A", "CONTAINER B", "CHANGE",
                                               "VM A",        "VM B",        "CHANGE" };
        const json_t *differences = json_object_get(cmp, "differences");
        size_t i;
        json_t *e;

        printf("comparable: %s\n", json_is_true(json_object_get(cmp, "comparable")) ? "yes" : "no");
        if (json_array_size(differences) > 0) {
                printf("differences:\n");
                json_array_foreach (differences, i, e) {
                        _cleanup_free_ char *a = hostctl_value_string(json_object_get(e, "a"));
                        _cleanup_free_ char *b = hostctl_value_string(json_object_get(e, "b"));
                        const char *field = hostctl_bench_str(e, "field");
                        printf("  %s: %s -> %s\n", field ? field : "?", a ? a : "-", b ? b : "-");
                }
        }
        printf("\n");

        _cleanup_(hostctl_table_freep) HostctlTable *t = hostctl_table_new(9, headers);
        if (!t)
                return;
        json_array_foreach (json_object_get(cmp, "figures"), i, e) {
                const json_t *a = json_object_get(e, "a");
                const json_t *b = json_object_get(e, "b");
                const json_t *ch = json_object_get(e, "change");
                char ca[32], cb[32], cc[32], va[32], vb[32], vc[32];

                hostctl_table_add(
                        t, (const char *const[]){
                                   hostctl_bench_str(e, "workload"),
                                   hostctl_bench_str(e, "name"),
                                   hostctl_bench_str(e, "unit"),
                                   hostctl_bench_number(json_object_get(a, "container"), ca,
                                                        sizeof(ca)),
                                   hostctl_bench_number(json_object_get(b, "container"), cb,
                                                        sizeof(cb)),
                                   hostctl_bench_change(json_object_get(ch, "container"), cc,
                                                        sizeof(cc)),
                                   hostctl_bench_number(json_object_get(a, "vm"), va, sizeof(va)),
                                   hostctl_bench_number(json_object_get(b, "vm"), vb, sizeof(vb)),
                                   hostctl_bench_change(json_object_get(ch, "vm"), vc, sizeof(vc)),
                           });
        }
        hostctl_table_print(t, stdout);
}

static int hostctl_bench_compare(Hostctl *ctl, int argc, char **argv)
{
        _cleanup_json_ json_t *cmp = NULL;
        HcError err;
        int r = hostctl_only_common_options(ctl, argc, argv, 2, 2, "benchmark ID1 and ID2");
        if (r >= 0)
                return r;
        if (!hostctl_client(ctl))
                return HOSTCTL_EXIT_ERROR;
        if (hc_bench_compare(ctl->client, argv[optind], argv[optind + 1], &cmp, &err) < 0)
                return hostctl_api_error(&err, NULL);
        if (ctl->output == HOSTCTL_OUTPUT_JSON)
                hostctl_print_json(cmp);
        else
                hostctl_print_comparison(cmp);
        return HOSTCTL_EXIT_OK;
}

/* ---- bench --------------------------------------------------------------------------- */

int hostctl_cmd_bench(Hostctl *ctl, int argc, char **argv)
{
        static const HostctlSub subs[] = {
                { "run", hostctl_bench_run },         { "ls", hostctl_bench_ls },
                { "list", hostctl_bench_ls },         { "show", hostctl_bench_show },
                { "compare", hostctl_bench_compare }, { "rm", hostctl_bench_rm },
                { "cancel", hostctl_bench_cancel },
        };
        return hostctl_dispatch(ctl, argc, argv, subs, HD_ARRAY_SIZE(subs),
                                "run, ls, show, compare, cancel, rm");
}

const HostctlCommand hostctl_bench_command = {
        "bench",
        "run --container-image REF --vm-image REF [--workloads W,W...|all]\n"
        "         [--repetitions N] [--warmup N] [--vcpus N] [--memory MB] [--cpuset LIST]\n"
        "         [--cpu-mib N] [--io-mib N] [--density-max N] |\n"
        "         ls | show ID [--svg FILE|-] | compare ID1 ID2 | cancel ID | rm ID",
        "Benchmark VMs against containers on this host, side by side: workloads\n"
        "      lifecycle, memory, image, cpu, io and density (default all), each run\n"
        "      --repetitions times (default 5) after --warmup runs (default 1), both\n"
        "      kinds in the same envelope (default 1 vCPU, 256 MB). `run` shows its\n"
        "      progress on stderr (Ctrl-C cancels it) and then prints the report as\n"
        "      Markdown; `show` prints a stored one (-o json: the result) and writes its\n"
        "      chart to FILE with --svg; `compare` says whether two runs are comparable\n"
        "      and how each figure's median changed; `cancel` stops a run; `rm` deletes\n"
        "      a finished one.",
        hostctl_cmd_bench,
};
