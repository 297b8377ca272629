/* GET /metrics: Prometheus text exposition, version 0.0.4. */
#include <dirent.h>
#include <stdatomic.h>
#include <string.h>

#include "hd-util.h"
#include "http-internal.h"

#ifndef HD_VERSION
#define HD_VERSION "0.1.0"
#endif

static const char *const methods[] = { "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OTHER" };
#define N_METHODS HD_ARRAY_SIZE(methods)
#define N_CODES   600

static const double buckets[] = { 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                  0.05,   0.1,   0.25,   0.5,   1,    2.5 };
#define N_BUCKETS HD_ARRAY_SIZE(buckets)

struct HdMetrics {
        atomic_uint_fast64_t requests[N_METHODS][N_CODES];
        atomic_uint_fast64_t bucket[N_BUCKETS + 1]; /* the last is +Inf */
        atomic_uint_fast64_t sum_ns;
};

int hd_metrics_new(HdMetrics **ret)
{
        HdMetrics *m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;
        *ret = m;
        return 0;
}

void hd_metrics_free(HdMetrics *m)
{
        free(m);
}

static size_t method_index(const char *method)
{
        for (size_t i = 0; i + 1 < N_METHODS; i++)
                if (method && strcmp(method, methods[i]) == 0)
                        return i;
        return N_METHODS - 1;
}

void hd_metrics_observe(HdMetrics *m, const char *method, unsigned status, int64_t duration_ns)
{
        if (!m)
                return;
        if (status >= N_CODES)
                status = 0;
        atomic_fetch_add_explicit(&m->requests[method_index(method)][status], 1,
                                  memory_order_relaxed);
        double s = (double)duration_ns / 1e9;
        size_t b = 0;
        while (b < N_BUCKETS && s > buckets[b])
                b++;
        atomic_fetch_add_explicit(&m->bucket[b], 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&m->sum_ns, (uint_fast64_t)(duration_ns > 0 ? duration_ns : 0),
                                  memory_order_relaxed);
}

/* A growable text buffer; stays NULL after an allocation failure. */
typedef struct Text {
        FILE *f;
        char *buf;
        size_t len;
} Text;

static long resident_bytes(void)
{
        _cleanup_fclose_ FILE *f = fopen("/proc/self/statm", "re");
        long pages = 0, rss = 0;
        if (!f || fscanf(f, "%ld %ld", &pages, &rss) != 2)
                return 0;
        return rss * sysconf(_SC_PAGESIZE);
}

static long open_fds(void)
{
        DIR *d = opendir("/proc/self/fd");
        long n = 0;
        if (!d)
                return 0;
        for (struct dirent *e; (e = readdir(d));)
                if (e->d_name[0] != '.')
                        n++;
        closedir(d);
        return n - 1; /* the directory stream itself */
}

void hd_handle_metrics(HdRequest *req, HdResponse *resp)
{
        HdMetrics *m = req->http->metrics;
        HdCore *c = req->http->core;
        Text t = { 0 };
        t.f = open_memstream(&t.buf, &t.len);
        if (!t.f) {
                hd_resp_error_status(resp, 500, NULL, "out of memory");
                return;
        }
        FILE *f = t.f;

        fprintf(f, "# HELP hostd_build_info hostd version.\n# TYPE hostd_build_info gauge\n");
        fprintf(f, "hostd_build_info{version=\"%s\"} 1\n", HD_VERSION);

        fprintf(f, "# HELP hostd_http_requests_total HTTP requests answered.\n"
                   "# TYPE hostd_http_requests_total counter\n");
        for (size_t i = 0; i < N_METHODS; i++)
                for (unsigned code = 0; code < N_CODES; code++) {
                        uint_fast64_t n =
                                atomic_load_explicit(&m->requests[i][code], memory_order_relaxed);
                        if (n)
                                fprintf(f,
                                        "hostd_http_requests_total{method=\"%s\",code=\"%u\"} "
                                        "%llu\n",
                                        methods[i], code, (unsigned long long)n);
                }

        fprintf(f, "# HELP hostd_http_request_duration_seconds Time to answer a request.\n"
                   "# TYPE hostd_http_request_duration_seconds histogram\n");
        uint_fast64_t cum = 0;
        for (size_t b = 0; b <= N_BUCKETS; b++) {
                cum += atomic_load_explicit(&m->bucket[b], memory_order_relaxed);
                if (b < N_BUCKETS)
                        fprintf(f, "hostd_http_request_duration_seconds_bucket{le=\"%g\"} %llu\n",
                                buckets[b], (unsigned long long)cum);
                else
                        fprintf(f, "hostd_http_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
                                (unsigned long long)cum);
        }
        fprintf(f, "hostd_http_request_duration_seconds_sum %.6f\n",
                (double)atomic_load(&m->sum_ns) / 1e9);
        fprintf(f, "hostd_http_request_duration_seconds_count %llu\n", (unsigned long long)cum);

        _cleanup_error_ HdError *err = NULL;
        HdHostUsage u;
        if (hd_core_host_usage(c, &u, &err) == 0) {
                fprintf(f, "# HELP hostd_instances Instances in the inventory.\n"
                           "# TYPE hostd_instances gauge\n");
                for (int k = 0; k < HD_KIND__COUNT; k++)
                        for (int s = 0; s < HD_STATE__COUNT; s++)
                                fprintf(f, "hostd_instances{kind=\"%s\",state=\"%s\"} %lld\n",
                                        hd_kind_to_string((HdKind)k),
                                        hd_state_to_string((HdState)s), (long long)u.counts[k][s]);
                fprintf(f,
                        "# HELP hostd_capacity_vcpus vCPUs admissible (CPUs x overcommit).\n"
                        "# TYPE hostd_capacity_vcpus gauge\nhostd_capacity_vcpus %g\n"
                        "# HELP hostd_capacity_memory_bytes Memory admissible.\n"
                        "# TYPE hostd_capacity_memory_bytes gauge\n"
                        "hostd_capacity_memory_bytes %lld\n"
                        "# HELP hostd_allocated_vcpus vCPUs allocated to instances.\n"
                        "# TYPE hostd_allocated_vcpus gauge\nhostd_allocated_vcpus %g\n"
                        "# HELP hostd_allocated_memory_bytes Memory allocated to instances.\n"
                        "# TYPE hostd_allocated_memory_bytes gauge\n"
                        "hostd_allocated_memory_bytes %lld\n",
                        u.capacity.vcpus, (long long)u.capacity.admit_memory_mb * 1048576LL,
                        u.allocated_vcpus, (long long)u.allocated_memory_mb * 1048576LL);
        }
        uint64_t totals[HD_ACTION__COUNT][HD_OP__COUNT];
        hd_core_operation_totals(c, totals);
        fprintf(f, "# HELP hostd_operations_total Operations finished since hostd started.\n"
                   "# TYPE hostd_operations_total counter\n");
        for (int a = 0; a < HD_ACTION__COUNT; a++)
                for (int st = 0; st < HD_OP__COUNT; st++)
                        if (hd_op_status_is_final((HdOpStatus)st))
                                fprintf(f,
                                        "hostd_operations_total{action=\"%s\",status=\"%s\"} "
                                        "%llu\n",
                                        hd_action_to_string((HdAction)a),
                                        hd_op_status_to_string((HdOpStatus)st),
                                        (unsigned long long)totals[a][st]);
        for (int k = 0; k < HD_KIND__COUNT; k++) {
                HdDriverStatus st;
                hd_core_driver_status(c, (HdKind)k, &st);
                if (k == 0)
                        fprintf(f, "# HELP hostd_driver_available Whether a kind's driver is "
                                   "available.\n# TYPE hostd_driver_available gauge\n");
                fprintf(f, "hostd_driver_available{kind=\"%s\"} %d\n", hd_kind_to_string((HdKind)k),
                        st.available ? 1 : 0);
        }
        fprintf(f,
                "# HELP hostd_events_last_seq Sequence number of the newest event.\n"
                "# TYPE hostd_events_last_seq gauge\nhostd_events_last_seq %lld\n",
                (long long)hd_core_event_last_seq(c));
        fprintf(f,
                "# HELP process_resident_memory_bytes Resident memory size in bytes.\n"
                "# TYPE process_resident_memory_bytes gauge\n"
                "process_resident_memory_bytes %ld\n"
                "# HELP process_open_fds Number of open file descriptors.\n"
                "# TYPE process_open_fds gauge\nprocess_open_fds %ld\n",
                resident_bytes(), open_fds());
        fclose(f);

        resp->status = 200;
        resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
        resp->text = t.buf;
        resp->text_len = t.len;
}
