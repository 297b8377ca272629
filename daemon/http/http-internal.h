/* Private to daemon/http: the only place that includes microhttpd.h. */
#pragma once

#include <microhttpd.h>
#include <stdatomic.h>

#include "core.h"
#include "img-store.h"
#include "hd-json.h"
#include "server.h"

#define HD_ROUTE_MAX_PARAMS 2

typedef struct HdMetrics HdMetrics;

struct HdHttp {
        HdCore *core;
        HdHttpConfig cfg;
        char *token;
        char *socket_path;
        struct MHD_Daemon *unix_daemon;
        struct MHD_Daemon *tcp_daemon;
        atomic_int inflight;
        HdMetrics *metrics;
};

typedef struct HdRequest {
        HdHttp *http;
        struct MHD_Connection *conn;
        const char *method;
        const char *path;
        bool tcp;
        int64_t start_ns;
        unsigned status;
        /* body */
        char *body;
        size_t body_len;
        size_t body_cap;
        bool body_too_large;
        bool has_body;
        bool first_call_done;
        /* routing */
        const struct HdRoute *route;
        char *params[HD_ROUTE_MAX_PARAMS];
        /* streamed bodies: the handler's state, freed by its abort hook */
        void *stream_state;
        bool stream_failed;
} HdRequest;

typedef struct HdResponse {
        unsigned status;
        json_t *json; /* owned */
        char *text;   /* owned, alternative to json */
        size_t text_len;
        const char *content_type;
        char *etag;
        char *location;
        char *allow;
        /* a body read from a file descriptor (owned; MHD closes it) */
        bool has_fd;
        int fd;
        uint64_t fd_size;
        /* streaming responses */
        MHD_ContentReaderCallback stream_cb;
        void *stream_cls;
        MHD_ContentReaderFreeCallback stream_free;
} HdResponse;

typedef void (*HdHandlerFn)(HdRequest *req, HdResponse *resp);

/* A route whose request body is streamed to the handler instead of buffered
 * (image uploads): begin runs before any body byte is read and may refuse the
 * request, chunk gets each piece, and fn answers once the body is complete. */
typedef struct HdStreamHooks {
        int (*begin)(HdRequest *req, HdResponse *resp);
        /* < 0 stops the upload; the state keeps the error for fn to answer. */
        int (*chunk)(HdRequest *req, const char *data, size_t len);
        void (*abort)(HdRequest *req);
        /* Content types accepted for the body (NULL-terminated). */
        const char *const *content_types;
} HdStreamHooks;

typedef struct HdRoute {
        const char *method;
        const char *pattern;
        HdHandlerFn fn;
        /* The last {param} takes the rest of the path, slashes included (image
         * refs such as library/busybox:1.36). */
        bool greedy;
        const HdStreamHooks *stream;
} HdRoute;

typedef enum HdRouteMatch {
        HD_ROUTE_FOUND,
        HD_ROUTE_NOT_FOUND,
        HD_ROUTE_METHOD_NOT_ALLOWED,
} HdRouteMatch;

extern const HdRoute hd_routes[];
extern const size_t hd_routes_n;

/* Matches method+path. On FOUND, ret_params get malloc'd copies of the {name}/{id}
 * segments. On METHOD_NOT_ALLOWED, *ret_allow lists the allowed methods. */
HdRouteMatch hd_router_match(const char *method, const char *path, const HdRoute **ret,
                             char *ret_params[HD_ROUTE_MAX_PARAMS], char **ret_allow);

/* ---- response helpers ---- */
void hd_resp_json(HdResponse *resp, unsigned status, json_t *body);
/* A body already serialized as JSON; takes ownership of text. */
void hd_resp_text(HdResponse *resp, unsigned status, char *text, size_t len);
/* Maps err->code to a status and API error code; also sets field when present. */
void hd_resp_error(HdResponse *resp, const HdError *err);
/* Answers an operation with Location: 202 while it runs, 200 once final; wait_s > 0
 * first waits up to that long for it to end. */
void hd_resp_operation(HdRequest *req, HdResponse *resp, HdOperation *op, int64_t wait_s);
void hd_resp_error_status(HdResponse *resp, unsigned status, const char *field, const char *fmt,
                          ...) HD_PRINTF(4, 5);
unsigned hd_http_status_for_errno(int code);

/* ---- request helpers ---- */
const char *hd_req_query(HdRequest *req, const char *key);
/* Parses an optional integer query parameter in [min, max]; 400 names it. */
int hd_req_query_int(HdRequest *req, HdResponse *resp, const char *key, int64_t min, int64_t max,
                     int64_t def, int64_t *ret);
int hd_req_query_bool(HdRequest *req, HdResponse *resp, const char *key, bool *ret);
/* Parses the body as a JSON object (NULL when there is none); 400 on failure. */
int hd_req_body_json(HdRequest *req, HdResponse *resp, bool required, json_t **ret);
/* Lets a long wait or a stream outlive the idle connection timeout. */
void hd_req_extend_timeout(HdRequest *req, unsigned seconds);

/* ---- handlers ---- */
void hd_handle_server_info(HdRequest *req, HdResponse *resp);
void hd_handle_host_info(HdRequest *req, HdResponse *resp);
void hd_handle_instance_list(HdRequest *req, HdResponse *resp);
void hd_handle_instance_create(HdRequest *req, HdResponse *resp);
void hd_handle_instance_get(HdRequest *req, HdResponse *resp);
void hd_handle_instance_patch(HdRequest *req, HdResponse *resp);
void hd_handle_instance_delete(HdRequest *req, HdResponse *resp);
void hd_handle_instance_start(HdRequest *req, HdResponse *resp);
void hd_handle_instance_stop(HdRequest *req, HdResponse *resp);
void hd_handle_instance_restart(HdRequest *req, HdResponse *resp);
void hd_handle_instance_kill(HdRequest *req, HdResponse *resp);
void hd_handle_instance_pause(HdRequest *req, HdResponse *resp);
void hd_handle_instance_resume(HdRequest *req, HdResponse *resp);
void hd_handle_operation_list(HdRequest *req, HdResponse *resp);
void hd_handle_operation_get(HdRequest *req, HdResponse *resp);
void hd_handle_operation_wait(HdRequest *req, HdResponse *resp);
void hd_handle_operation_cancel(HdRequest *req, HdResponse *resp);
void hd_handle_events(HdRequest *req, HdResponse *resp);
void hd_handle_metrics(HdRequest *req, HdResponse *resp);
void hd_handle_instance_logs(HdRequest *req, HdResponse *resp);
void hd_handle_instance_exec(HdRequest *req, HdResponse *resp);
void hd_handle_instance_stats(HdRequest *req, HdResponse *resp);
void hd_handle_image_list(HdRequest *req, HdResponse *resp);
void hd_handle_image_import(HdRequest *req, HdResponse *resp);
void hd_handle_image_get(HdRequest *req, HdResponse *resp);
void hd_handle_image_delete(HdRequest *req, HdResponse *resp);
void hd_handle_image_prune(HdRequest *req, HdResponse *resp);
void hd_handle_image_export(HdRequest *req, HdResponse *resp);
void hd_handle_image_pull(HdRequest *req, HdResponse *resp);
void hd_handle_image_push(HdRequest *req, HdResponse *resp);
void hd_handle_benchmark_start(HdRequest *req, HdResponse *resp);
void hd_handle_benchmark_list(HdRequest *req, HdResponse *resp);
void hd_handle_benchmark_get(HdRequest *req, HdResponse *resp);
void hd_handle_benchmark_chart(HdRequest *req, HdResponse *resp);
void hd_handle_benchmark_compare(HdRequest *req, HdResponse *resp);
void hd_handle_benchmark_delete(HdRequest *req, HdResponse *resp);
void hd_handle_network_list(HdRequest *req, HdResponse *resp);
void hd_handle_network_create(HdRequest *req, HdResponse *resp);
void hd_handle_network_get(HdRequest *req, HdResponse *resp);
void hd_handle_network_delete(HdRequest *req, HdResponse *resp);
extern const HdStreamHooks hd_image_import_hooks;

/* ---- metrics (metrics.c) ---- */
int hd_metrics_new(HdMetrics **ret);
void hd_metrics_free(HdMetrics *m);
void hd_metrics_observe(HdMetrics *m, const char *method, unsigned status, int64_t duration_ns);
