/* /v1/benchmarks: start a VM-vs-container run (an operation), list, get (JSON or
 * Markdown), its chart, compare two, delete. */
#include <string.h>

#include "bench-render.h"
#include "hd-codec.h"
#include "http-internal.h"

void hd_handle_benchmark_start(HdRequest *req, HdResponse *resp)
{
        int64_t wait_s;
        if (hd_req_query_int(req, resp, "wait", 0, 3600, 0, &wait_s) < 0)
                return;
        _cleanup_json_ json_t *body = NULL;
        if (hd_req_body_json(req, resp, true, &body) < 0)
                return;
        _cleanup_error_ HdError *err = NULL;
        HdBenchRequest r = { 0 };
        _cleanup_(hd_operation_freep) HdOperation *op = NULL;
        if (hd_codec_bench_request_from_json(body, &r, &err) < 0 ||
            hd_core_benchmark_start(req->http->core, &r, &op, &err) < 0) {
                hd_bench_request_clear(&r);
                hd_resp_error(resp, err);
                return;
        }
        hd_bench_request_clear(&r);
        hd_resp_operation(req, resp, op, wait_s);
}

static json_t *load(HdRequest *req, HdResponse *resp, const char *id)
{
        _cleanup_error_ HdError *err = NULL;
        _cleanup_(hd_store_benchmark_freep) HdStoreBenchmark *row = NULL;
        if (hd_core_benchmark_get(req->http->core, id, &row, &err) < 0) {
                hd_resp_error(resp, err);
                return NULL;
        }
        json_t *j = json_loads(row->result, 0, NULL);
        if (!j)
                hd_resp_error_status(resp, 500, NULL, "benchmark `%s` is stored damaged", id);
        return j;
}

void hd_handle_benchmark_list(HdRequest *req, HdResponse *resp)
{
        _cleanup_error_ HdError *err = NULL;
        HdStoreBenchmark **rows = NULL;
        size_t n = 0;
        if (hd_core_benchmark_list(req->http->core, &rows, &n, &err) < 0) {
                hd_resp_error(resp, err);
                return;
        }
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++) {
                _cleanup_json_ json_t *j = json_loads(rows[i]->result, 0, NULL);
                json_t *m = json_object_get(j, "manifest");
                json_array_append_new(arr,
                                      json_pack("{s:s, s:s, s:O?, s:O?, s:O?, s:O?}", "id",
                                                rows[i]->id, "status", rows[i]->status,
                                                "created_at", json_object_get(j, "created_at"),
                                                "finished_at", json_object_get(j, "finished_at"),
                                                "request", json_object_get(j, "request"), "accel",
                                                json_object_get(m, "accel")));
        }
        hd_store_benchmark_array_free(rows, n);
        hd_resp_json(resp, 200, json_pack("{s:o}", "benchmarks", arr));
}

void hd_handle_benchmark_get(HdRequest *req, HdResponse *resp)
{
        const char *format = hd_req_query(req, "format");
        if (format && strcmp(format, "json") != 0 && strcmp(format, "markdown") != 0) {
                hd_resp_error_status(resp, 400, "format", "format must be json or markdown");
                return;
        }
        json_t *j = load(req, resp, req->params[0]);
        if (!j)
                return;
        if (format && strcmp(format, "markdown") == 0) {
                char *md = hd_bench_markdown(j);
                json_decref(j);
                if (!md) {
                        hd_resp_error_status(resp, 500, NULL, "out of memory");
                        return;
                }
                hd_resp_text(resp, 200, md, strlen(md));
                resp->content_type = "text/markdown; charset=utf-8";
                return;
        }
        hd_resp_json(resp, 200, j);
}

void hd_handle_benchmark_chart(HdRequest *req, HdResponse *resp)
{
        _cleanup_json_ json_t *j = load(req, resp, req->params[0]);
        if (!j)
                return;
        char *svg = hd_bench_svg(j);
        if (!svg) {
                hd_resp_error_status(resp, 500, NULL, "out of memory");
                return;
        }
        hd_resp_text(resp, 200, svg, strlen(svg));
        resp->content_type = "image/svg+xml";
}

void hd_handle_benchmark_compare(HdRequest *req, HdResponse *resp)
{
        _cleanup_json_ json_t *a = load(req, resp, req->params[0]);
        if (!a)
                return;
        _cleanup_json_ json_t *b = load(req, resp, req->params[1]);
        if (!b)
                return;
        json_t *cmp = hd_bench_compare(a, b);
        if (!cmp) {
                hd_resp_error_status(resp, 500, NULL, "out of memory");
                return;
        }
        hd_resp_json(resp, 200, cmp);
}

void hd_handle_benchmark_delete(HdRequest *req, HdResponse *resp)
{
        _cleanup_json_ json_t *j = load(req, resp, req->params[0]);
        if (!j)
                return;
        _cleanup_error_ HdError *err = NULL;
        if (hd_core_benchmark_delete(req->http->core, req->params[0], &err) < 0) {
                hd_resp_error(resp, err);
                return;
        }
        hd_resp_json(resp, 200,
                     json_pack("{s:O, s:O, s:O?}", "id", json_object_get(j, "id"), "status",
                               json_object_get(j, "status"), "created_at",
                               json_object_get(j, "created_at")));
}
