/* ct-start: how long hostd takes to run a short-lived container, end to end, for
 * bench/containers.sh.
 *
 *   ct-start SOCKET N [--poll-us 0] [--exit-timeout-ms 2000] [--vcpus 0.1] [--each]
 *            [--prefix cts] [--image busybox] [--network NAME]
 *
 * N times in sequence, over one libhostclient connection to SOCKET:
 *   create  POST /v1/instances {"kind":"container","command":["/bin/true"],
 *           "resources":{"vcpus":0.1 (--vcpus),"memory_mb":32}, ...}, plus
 *           "network":NAME with --network (else the member is absent: hostd's default
 *           network, `none` when it runs with --default-network none)
 *   start   POST /v1/instances/NAME/start?wait=30 (the operation must succeed)
 *   exit    GET /v1/instances/NAME until "state" is "exited" (exit_code must be 0),
 *           back to back, or with --poll-us microseconds of sleep between GETs
 * and the time from just before the create to the GET that saw "exited" is the
 * run's time. Then DELETE ?force=true&wait=30, not timed.
 *
 * A run whose instance is still not `exited` --exit-timeout-ms after its start
 * returned is a lost exit (hostd missed it): named on stderr, counted in `lost`,
 * deleted, and kept out of the figures.
 *
 * Prints (--each adds one "run" line per run first):
 *   RESULT runs=MEASURED lost=L p50_ms= p95_ms= min_ms= max_ms=   the whole run
 *   PHASE name=create|start|exit p50_ms= p95_ms= min_ms= max_ms=
 *   POLLS p50= max=                                     GETs per run, the last included
 * Percentiles are nearest-rank over the measured runs (p95 of 200 = the 190th
 * smallest), no interpolation. Any failed request stops it with exit status 1.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hostclient.h>

enum { PH_TOTAL, PH_CREATE, PH_START, PH_EXIT, PH_COUNT };
static const char *const phase_names[PH_COUNT] = { "total", "create", "start", "exit" };

static double now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
        double x = *(const double *)a, y = *(const double *)b;
        return (x > y) - (x < y);
}

/* Nearest-rank percentile of n sorted values: the ceil(p/100 * n)-th smallest, in
 * integers so that p95 of 200 is exactly the 190th. */
static double pct(const double *sorted, long n, long p)
{
        long rank = (p * n + 99) / 100;
        if (rank < 1)
                rank = 1;
        if (rank > n)
                rank = n;
        return sorted[rank - 1];
}

static void fail(const char *what, const char *name, int r, const HcError *err)
{
        fprintf(stderr, "ct-start: %s %s: %s (%d): HTTP %d %s: %s\n", what, name, strerror(-r), r,
                err->http_status, err->code, err->message);
}

static void sleep_us(long us)
{
        struct timespec ts = { .tv_sec = us / 1000000, .tv_nsec = (us % 1000000) * 1000 };
        nanosleep(&ts, NULL);
}

/* One run; fills t[PH_*] in ms and *ret_polls. Returns 0; 1 when the instance was still
 * not exited exit_timeout_ms after its start returned (a lost exit); -1 after printing
 * why on a failed request or a wrong state or exit code. */
static int one_run(HcClient *c, const char *name, const char *image, const char *network,
                   double vcpus, long poll_us, long exit_timeout_ms, double t[PH_COUNT],
                   long *ret_polls)
{
        HcError err = { 0 };
        json_t *res = NULL;
        int r;

        json_t *spec = json_pack("{s:s, s:s, s:s, s:[s], s:{s:f, s:i}}", "name", name, "kind",
                                 "container", "image", image, "command", "/bin/true", "resources",
                                 "vcpus", vcpus, "memory_mb", 32);
        if (!spec)
                return -1;
        if (network && json_object_set_new(spec, "network", json_string(network)) < 0) {
                json_decref(spec);
                return -1;
        }

        double t0 = now_ms();
        r = hc_instance_create(c, spec, NULL, NULL, &err);
        double t1 = now_ms();
        json_decref(spec);
        if (r < 0) {
                fail("create", name, r, &err);
                return -1;
        }

        r = hc_instance_action(c, name, "start", NULL, 30, &res, &err);
        double t2 = now_ms();
        if (r >= 0)
                r = hc_operation_check(res, &err);
        json_decref(res);
        if (r < 0) {
                fail("start", name, r, &err);
                return -1;
        }

        long polls = 0;
        double t3;
        for (;;) {
                r = hc_instance_get(c, name, &res, NULL, &err);
                t3 = now_ms();
                polls++;
                if (r < 0) {
                        fail("get", name, r, &err);
                        return -1;
                }
                const char *state = json_string_value(json_object_get(res, "state"));
                if (state && strcmp(state, "exited") == 0) {
                        json_t *code = json_object_get(res, "exit_code");
                        if (!json_is_integer(code) || json_integer_value(code) != 0) {
                                fprintf(stderr, "ct-start: %s exited, exit_code %lld\n", name,
                                        json_is_integer(code) ? json_integer_value(code) : -1LL);
                                json_decref(res);
                                return -1;
                        }
                        json_decref(res);
                        break;
                }
                if (!state || (strcmp(state, "running") != 0 && strcmp(state, "created") != 0 &&
                               strcmp(state, "starting") != 0)) {
                        fprintf(stderr, "ct-start: %s is in state `%s`, not running or exited\n",
                                name, state ? state : "(none)");
                        json_decref(res);
                        return -1;
                }
                if (t3 - t2 > (double)exit_timeout_ms) {
                        /* Not an error of ours: hostd did not see this exit (a lost exit).
                         * Counted and reported apart, kept out of the percentiles. */
                        char *dump = json_dumps(res, JSON_COMPACT);
                        fprintf(stderr,
                                "ct-start: %s: lost exit: still `%s` %.0f ms after its start "
                                "returned (%ld GETs): %s\n",
                                name, state, t3 - t2, polls, dump ? dump : "?");
                        free(dump);
                        json_decref(res);
                        return 1;
                }
                json_decref(res);
                if (poll_us > 0)
                        sleep_us(poll_us);
        }

        t[PH_TOTAL] = t3 - t0;
        t[PH_CREATE] = t1 - t0;
        t[PH_START] = t2 - t1;
        t[PH_EXIT] = t3 - t2;
        *ret_polls = polls;
        return 0;
}

static int remove_instance(HcClient *c, const char *name)
{
        HcError err = { 0 };
        json_t *res = NULL;
        int r = hc_instance_delete(c, name, true, 30, &res, &err);
        if (r >= 0)
                r = hc_operation_check(res, &err);
        json_decref(res);
        if (r < 0 && r != -ENOENT) {
                fail("delete", name, r, &err);
                return -1;
        }
        return 0;
}

static void usage(void)
{
        fprintf(stderr, "usage: ct-start SOCKET N [--poll-us 0] [--exit-timeout-ms 2000] "
                        "[--vcpus 0.1] [--each] [--prefix cts] [--image busybox] "
                        "[--network NAME]\n");
        exit(2);
}

int main(int argc, char **argv)
{
        const char *prefix = "cts", *image = "busybox", *network = NULL;
        long poll_us = 0, exit_timeout_ms = 2000;
        double vcpus = 0.1;
        bool each = false;

        if (argc < 3)
                usage();
        const char *sock = argv[1];
        char *end;
        long n = strtol(argv[2], &end, 10);
        if (*end != '\0' || n < 1 || n > 1000000)
                usage();
        for (int i = 3; i < argc; i++) {
                if (strcmp(argv[i], "--each") == 0)
                        each = true;
                else if (strcmp(argv[i], "--poll-us") == 0 && i + 1 < argc)
                        poll_us = strtol(argv[++i], NULL, 10);
                else if (strcmp(argv[i], "--exit-timeout-ms") == 0 && i + 1 < argc)
                        exit_timeout_ms = strtol(argv[++i], NULL, 10);
                else if (strcmp(argv[i], "--vcpus") == 0 && i + 1 < argc)
                        vcpus = strtod(argv[++i], NULL);
                else if (strcmp(argv[i], "--prefix") == 0 && i + 1 < argc)
                        prefix = argv[++i];
                else if (strcmp(argv[i], "--image") == 0 && i + 1 < argc)
                        image = argv[++i];
                else if (strcmp(argv[i], "--network") == 0 && i + 1 < argc)
                        network = argv[++i];
                else
                        usage();
        }
        /* "As fast as reasonable": at most 1 ms between GETs. */
        if (poll_us < 0 || poll_us > 1000 || exit_timeout_ms < 1 || !(vcpus > 0))
                usage();
        setvbuf(stdout, NULL, _IOLBF, 0);

        HcError err = { 0 };
        HcOptions opts = { .socket_path = sock };
        HcClient *c = hc_client_new(&opts, &err);
        if (!c) {
                fprintf(stderr, "ct-start: %s\n", err.message);
                return 1;
        }

        double *t[PH_COUNT];
        for (int p = 0; p < PH_COUNT; p++) {
                t[p] = calloc((size_t)n, sizeof(double));
                if (!t[p])
                        return 1;
        }
        double *polls = calloc((size_t)n, sizeof(double));
        if (!polls)
                return 1;

        int status = 0;
        long k = 0, lost = 0; /* runs measured, runs whose exit hostd never reported */
        for (long i = 0; i < n; i++) {
                char name[64];
                double run[PH_COUNT];
                long np = 0;
                snprintf(name, sizeof(name), "%s-%ld", prefix, i);
                int r = one_run(c, name, image, network, vcpus, poll_us, exit_timeout_ms, run, &np);
                /* The delete is not timed, and runs after a failure too. */
                if (remove_instance(c, name) < 0 || r < 0) {
                        status = 1;
                        break;
                }
                if (r > 0) {
                        lost++;
                        continue;
                }
                for (int p = 0; p < PH_COUNT; p++)
                        t[p][k] = run[p];
                polls[k++] = (double)np;
                if (each)
                        printf("run %ld total_ms=%.3f create_ms=%.3f start_ms=%.3f exit_ms=%.3f "
                               "polls=%ld\n",
                               i, run[PH_TOTAL], run[PH_CREATE], run[PH_START], run[PH_EXIT], np);
        }
        hc_client_free(c);
        if (k < 1)
                return 1;

        for (int p = 0; p < PH_COUNT; p++) {
                qsort(t[p], (size_t)k, sizeof(double), cmp_double);
                if (p == PH_TOTAL)
                        printf("RESULT runs=%ld lost=%ld", k, lost);
                else
                        printf("PHASE name=%s", phase_names[p]);
                printf(" p50_ms=%.3f p95_ms=%.3f min_ms=%.3f max_ms=%.3f\n", pct(t[p], k, 50),
                       pct(t[p], k, 95), t[p][0], t[p][k - 1]);
                free(t[p]);
        }
        qsort(polls, (size_t)k, sizeof(double), cmp_double);
        printf("POLLS p50=%.0f max=%.0f\n", pct(polls, k, 50), polls[k - 1]);
        free(polls);
        return status;
}
