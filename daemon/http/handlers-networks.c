/* /v1/networks: list, create, get, delete. */
#include <string.h>

#include "hd-codec.h"
#include "http-internal.h"

void hd_handle_network_list(HdRequest *req, HdResponse *resp)
{
        _cleanup_error_ HdError *err = NULL;
        HdNetwork **items = NULL;
        size_t n = 0;
        if (hd_core_network_list(req->http->core, &items, &n, &err) < 0) {
                hd_resp_error(resp, err);
                return;
        }
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++)
                json_array_append_new(arr, hd_codec_network_to_json(items[i]));
        hd_network_array_free(items, n);
        hd_resp_json(resp, 200, json_pack("{s:o}", "networks", arr));
}

void hd_handle_network_create(HdRequest *req, HdResponse *resp)
{
        _cleanup_json_ json_t *body = NULL;
        if (hd_req_body_json(req, resp, true, &body) < 0)
                return;
        _cleanup_error_ HdError *err = NULL;
        HdNetwork want = { 0 };
        _cleanup_(hd_network_freep) HdNetwork *n = NULL;
        if (hd_codec_network_create_from_json(body, &want, &err) < 0 ||
            hd_core_network_create(req->http->core, &want, &n, &err) < 0) {
                hd_network_clear(&want);
                hd_resp_error(resp, err);
                return;
        }
        hd_network_clear(&want);
        if (asprintf(&resp->location, "/v1/networks/%s", n->name) < 0)
                resp->location = NULL;
        hd_resp_json(resp, 201, hd_codec_network_to_json(n));
}

void hd_handle_network_get(HdRequest *req, HdResponse *resp)
{
        _cleanup_error_ HdError *err = NULL;
        _cleanup_(hd_network_freep) HdNetwork *n = NULL;
        if (hd_core_network_get(req->http->core, req->params[0], &n, &err) < 0) {
                hd_resp_error(resp, err);
                return;
        }
        hd_resp_json(resp, 200, hd_codec_network_to_json(n));
}

void hd_handle_network_delete(HdRequest *req, HdResponse *resp)
{
        _cleanup_error_ HdError *err = NULL;
        _cleanup_(hd_network_freep) HdNetwork *n = NULL;
        if (hd_core_network_get(req->http->core, req->params[0], &n, &err) < 0 ||
            hd_core_network_delete(req->http->core, req->params[0], &err) < 0) {
                hd_resp_error(resp, err);
                return;
        }
        n->used_by = 0;
        hd_resp_json(resp, 200, hd_codec_network_to_json(n));
}
