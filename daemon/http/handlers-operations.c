/* /v1/operations */
#include <string.h>

#include "hd-codec.h"
#include "http-internal.h"

void hd_handle_operation_list(HdRequest *req, HdResponse *resp)
{
        HdOperationFilter f = { .status = HD_OP_INVALID };
        const char *status = hd_req_query(req, "status");
        if (status && (f.status = hd_op_status_from_string(status)) == HD_OP_INVALID) {
                hd_resp_error_status(resp, 400, "status", "unknown operation status `%s`", status);
                return;
        }
        int64_t limit;
        if (hd_req_query_int(req, resp, "limit", 1, 1000, 100, &limit) < 0)
                return;
        f.limit = (size_t)limit;
        f.after = hd_req_query(req, "after");

        _cleanup_error_ HdError *err = NULL;
        _cleanup_(hd_instance_freep) HdInstance *inst = NULL;
        const char *instance = hd_req_query(req, "instance");
        if (instance) {
                if (hd_core_instance_get(req->http->core, instance, &inst, &err) < 0) {
                        hd_resp_error(resp, err);
                        return;
                }
                f.instance_uuid = inst->uuid;
        }

        HdOperation **items = NULL;
        size_t n = 0;
        bool more = false;
        if (hd_core_operation_list(req->http->core, &f, &items, &n, &more, &err) < 0) {
                hd_resp_error(resp, err);
                return;
        }
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++)
                json_array_append_new(arr, hd_codec_operation_to_json(items[i]));
        json_t *next = more && n > 0 ? json_string(items[n - 1]->id) : json_null();
        hd_operation_array_free(items, n);
        hd_resp_json(resp, 200, json_pack("{s:o, s:o}", "operations", arr, "next", next));
}

void hd_handle_operation_get(HdRequest *req, HdResponse *resp)
{
        _cleanup_error_ HdError *err = NULL;
        _cleanup_(hd_operation_freep) HdOperation *op = NULL;
        if (hd_core_operation_get(req->http->core, req->params[0], &op, &err) < 0) {
                hd_resp_error(resp, err);
                return;
        }
        hd_resp_json(resp, 200, hd_codec_operation_to_json(op));
}

void hd_handle_operation_wait(HdRequest *req, HdResponse *resp)
{
        int64_t timeout_s;
        if (hd_req_query_int(req, resp, "timeout", 0, 3600, 30, &timeout_s) < 0)
                return;
        hd_req_extend_timeout(req, (unsigned)timeout_s + 60);
        _cleanup_error_ HdError *err = NULL;
        _cleanup_(hd_operation_freep) HdOperation *op = NULL;
        if (hd_core_operation_wait(req->http->core, req->params[0], timeout_s * 1000, &op, &err) <
            0) {
                hd_resp_error(resp, err);
                return;
        }
        hd_resp_json(resp, 200, hd_codec_operation_to_json(op));
}

void hd_handle_operation_cancel(HdRequest *req, HdResponse *resp)
{
        _cleanup_error_ HdError *err = NULL;
        _cleanup_(hd_operation_freep) HdOperation *op = NULL;
        if (hd_core_operation_cancel(req->http->core, req->params[0], &op, &err) < 0) {
                hd_resp_error(resp, err);
                return;
        }
        hd_resp_json(resp, 200, hd_codec_operation_to_json(op));
}

/* Answers an operation: 202 while it runs, 200 once final (with ?wait). */
void hd_resp_operation(HdRequest *req, HdResponse *resp, HdOperation *op, int64_t wait_s)
{
        _cleanup_(hd_operation_freep) HdOperation *done = NULL;
        if (wait_s > 0) {
                _cleanup_error_ HdError *err = NULL;
                hd_req_extend_timeout(req, (unsigned)wait_s + 60);
                if (hd_core_operation_wait(req->http->core, op->id, wait_s * 1000, &done, &err) >=
                    0)
                        op = done;
        }
        if (asprintf(&resp->location, "/v1/operations/%s", op->id) < 0)
                resp->location = NULL;
        hd_resp_json(resp, hd_op_status_is_final(op->status) ? 200 : 202,
                     hd_codec_operation_to_json(op));
}
