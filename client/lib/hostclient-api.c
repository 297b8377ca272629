/* libhostclient: one call per API v1 endpoint, on top of hc_perform(). */
#include "hostclient-private.h"

#include <string.h>

#include "hd-util.h"

int hc_call_object(HcClient *c, HcCall *call, json_t **ret, char **ret_etag, HcError *err)
{
        int r;

        if (ret)
                *ret = NULL;
        if (ret_etag)
                *ret_etag = NULL;
        if (!c)
                return hc_error_setf(err, -EINVAL, "invalid_argument", "no client");
        r = hc_perform(c, call, err);
        if (r < 0)
                return r;
        r = hc_call_decode(call, false, true, ret, err);
        if (r < 0)
                return r;
        if (ret_etag)
                *ret_etag = TAKE_PTR(call->etag);
        return 0;
}

static int hc_oom(HcError *err)
{
        return hc_error_setf(err, -ENOMEM, "transport", "out of memory");
}

static int hc_check_arg(const char *value, const char *what, HcError *err)
{
        if (!value || !*value)
                return hc_error_setf(err, -EINVAL, "invalid_argument", "%s must not be empty",
                                     what);
        return 0;
}

/* "/v1/<collection>/<escaped id>[/<escaped sub>]" */
static int hc_resource_path(HcBuf *b, const char *collection, const char *id, const char *sub,
                            HcError *err)
{
        if (hc_buf_printf(b, "/v1/%s", collection) < 0 || hc_buf_add_segment(b, id) < 0 ||
            (sub && hc_buf_add_segment(b, sub) < 0))
                return hc_oom(err);
        return 0;
}

static int hc_add_query_int(HcBuf *b, const char *key, long long value)
{
        char s[24];
        snprintf(s, sizeof(s), "%lld", value);
        return hc_buf_add_query(b, key, s);
}

static int hc_add_query_opt(HcBuf *b, const char *key, const char *value)
{
        return value && *value ? hc_buf_add_query(b, key, value) : 0;
}

static int hc_clamp_wait(int wait_s)
{
        return wait_s < 0 ? 0 : wait_s > HC_MAX_WAIT_S ? HC_MAX_WAIT_S : wait_s;
}

/* ---- Server -------------------------------------------------------------------------- */

int hc_server_info(HcClient *c, json_t **ret, HcError *err)
{
        _cleanup_(hc_call_clear) HcCall call = { .method = "GET", .path = "/v1" };
        return hc_call_object(c, &call, ret, NULL, err);
}

int hc_host_info(HcClient *c, json_t **ret, HcError *err)
{
        _cleanup_(hc_call_clear) HcCall call = { .method = "GET", .path = "/v1/host" };
        return hc_call_object(c, &call, ret, NULL, err);
}

int hc_metrics(HcClient *c, char **ret_text, HcError *err)
{
        _cleanup_(hc_call_clear) HcCall call = {
                .method = "GET",
                .path = "/metrics",
                .accept = "text/plain",
        };
        int r;

        if (ret_text)
                *ret_text = NULL;
        if (!c)
                return hc_error_setf(err, -EINVAL, "invalid_argument", "no client");
        r = hc_perform(c, &call, err);
        if (r < 0)
                return r;
        if (ret_text) {
                *ret_text = call.body_out.data ? hc_buf_steal(&call.body_out) : strdup("");
                if (!*ret_text)
                        return hc_oom(err);
        }
        return 0;
}

/* ---- Instances ----------------------------------------------------------------------- */

int hc_instance_list(HcClient *c, const HcListOptions *opts, json_t **ret, HcError *err)
{
        _cleanup_buf_ HcBuf path = { 0 };
        int r = hc_buf_printf(&path, "/v1/instances");

        if (r >= 0 && opts) {
                r = hc_add_query_opt(&path, "kind", opts->kind);
                if (r >= 0)
                        r = hc_add_query_opt(&path, "state", opts->state);
                for (size_t i = 0; r >= 0 && i < opts->n_labels; i++)
                        if (opts->labels && opts->labels[i])
                                r = hc_buf_add_query(&path, "label", opts->labels[i]);
                if (r >= 0 && opts->limit > 0)
                        r = hc_add_query_int(&path, "limit", opts->limit);
                if (r >= 0)
                        r = hc_add_query_opt(&path, "after", opts->after);
        }
        if (r < 0) {
                if (ret)
                        *ret = NULL;
                return hc_oom(err);
        }
        _cleanup_(hc_call_clear) HcCall call = { .method = "GET", .path = path.data };
        return hc_call_object(c, &call, ret, NULL, err);
}

int hc_instance_create(HcClient *c, json_t *spec, json_t **ret, char **ret_etag, HcError *err)
{
        _cleanup_(hc_call_clear) HcCall call = {
                .method = "POST",
                .path = "/v1/instances",
                .body = spec,
        };
        if (!json_is_object(spec)) {
                if (ret)
                        *ret = NULL;
                if (ret_etag)
                        *ret_etag = NULL;
                return hc_error_setf(err, -EINVAL, "invalid_argument",
                                     "instance spec must be a JSON object");
        }
        return hc_call_object(c, &call, ret, ret_etag, err);
}

int hc_instance_get(HcClient *c, const char *name, json_t **ret, char **ret_etag, HcError *err)
{
        _cleanup_buf_ HcBuf path = { 0 };
        int r;

        if (ret)
                *ret = NULL;
        if (ret_etag)
                *ret_etag = NULL;
        r = hc_check_arg(name, "instance name", err);
        if (r >= 0)
                r = hc_resource_path(&path, "instances", name, NULL, err);
        if (r < 0)
                return r;
        _cleanup_(hc_call_clear) HcCall call = { .method = "GET", .path = path.data };
        return hc_call_object(c, &call, ret, ret_etag, err);
}

int hc_instance_patch(HcClient *c, const char *name, json_t *patch, const char *if_match,
                      json_t **ret, char **ret_etag, HcError *err)
{
        _cleanup_buf_ HcBuf path = { 0 };
        int r;

        if (ret)
                *ret = NULL;
        if (ret_etag)
                *ret_etag = NULL;
        r = hc_check_arg(name, "instance name", err);
        if (r >= 0 && !json_is_object(patch))
                r = hc_error_setf(err, -EINVAL, "invalid_argument", "patch must be a JSON object");
        if (r >= 0)
                r = hc_resource_path(&path, "instances", name, NULL, err);
        if (r < 0)
                return r;
        _cleanup_(hc_call_clear) HcCall call = {
                .method = "PATCH",
                .path = path.data,
                .body = patch,
                .content_type = "application/merge-patch+json",
                .if_match = if_match && *if_match ? if_match : NULL,
        };
        return hc_call_object(c, &call, ret, ret_etag, err);
}

int hc_instance_patch_labels(HcClient *c, const char *name, json_t *labels, const char *if_match,
                             json_t **ret, char **ret_etag, HcError *err)
{
        _cleanup_json_ json_t *patch = NULL;

        if (!json_is_object(labels)) {
                if (ret)
                        *ret = NULL;
                if (ret_etag)
                        *ret_etag = NULL;
                return hc_error_setf(err, -EINVAL, "invalid_argument",
                                     "labels must be a JSON object");
        }
        patch = json_pack("{s:O}", "labels", labels);
        if (!patch)
                return hc_oom(err);
        return hc_instance_patch(c, name, patch, if_match, ret, ret_etag, err);
}

int hc_instance_delete(HcClient *c, const char *name, bool force, int wait_s, json_t **ret,
                       HcError *err)
{
        _cleanup_buf_ HcBuf path = { 0 };
        int r;

        if (ret)
                *ret = NULL;
        wait_s = hc_clamp_wait(wait_s);
        r = hc_check_arg(name, "instance name", err);
        if (r >= 0)
                r = hc_resource_path(&path, "instances", name, NULL, err);
        if (r < 0)
                return r;
        if ((force && hc_buf_add_query(&path, "force", "true") < 0) ||
            (wait_s > 0 && hc_add_query_int(&path, "wait", wait_s) < 0))
                return hc_oom(err);
        _cleanup_(hc_call_clear) HcCall call = {
                .method = "DELETE",
                .path = path.data,
                .wait_s = wait_s,
        };
        return hc_call_object(c, &call, ret, NULL, err);
}

int hc_instance_action(HcClient *c, const char *name, const char *action, json_t *args, int wait_s,
                       json_t **ret, HcError *err)
{
        _cleanup_buf_ HcBuf path = { 0 };
        int r;

        if (ret)
                *ret = NULL;
        wait_s = hc_clamp_wait(wait_s);
        r = hc_check_arg(name, "instance name", err);
        if (r >= 0)
                r = hc_check_arg(action, "action", err);
        if (r >= 0 && args && !json_is_object(args))
                r = hc_error_setf(err, -EINVAL, "invalid_argument",
                                  "action arguments must be a JSON object");
        if (r >= 0)
                r = hc_resource_path(&path, "instances", name, action, err);
        if (r < 0)
                return r;
        if (wait_s > 0 && hc_add_query_int(&path, "wait", wait_s) < 0)
                return hc_oom(err);
        _cleanup_(hc_call_clear) HcCall call = {
                .method = "POST",
                .path = path.data,
                .body = args,
                .wait_s = wait_s,
        };
        return hc_call_object(c, &call, ret, NULL, err);
}

/* ---- Operations ---------------------------------------------------------------------- */

int hc_operation_list(HcClient *c, const HcOperationListOptions *opts, json_t **ret, HcError *err)
{
        _cleanup_buf_ HcBuf path = { 0 };
        int r = hc_buf_printf(&path, "/v1/operations");

        if (r >= 0 && opts) {
                r = hc_add_query_opt(&path, "status", opts->status);
                if (r >= 0)
                        r = hc_add_query_opt(&path, "instance", opts->instance);
                if (r >= 0 && opts->limit > 0)
                        r = hc_add_query_int(&path, "limit", opts->limit);
                if (r >= 0)
                        r = hc_add_query_opt(&path, "after", opts->after);
        }
        if (r < 0) {
                if (ret)
                        *ret = NULL;
                return hc_oom(err);
        }
        _cleanup_(hc_call_clear) HcCall call = { .method = "GET", .path = path.data };
        return hc_call_object(c, &call, ret, NULL, err);
}

static int hc_operation_request(HcClient *c, const char *method, const char *id, const char *sub,
                                int wait_s, json_t **ret, HcError *err)
{
        _cleanup_buf_ HcBuf path = { 0 };
        int r;

        if (ret)
                *ret = NULL;
        r = hc_check_arg(id, "operation id", err);
        if (r >= 0)
                r = hc_resource_path(&path, "operations", id, sub, err);
        if (r < 0)
                return r;
        if (sub && hc_add_query_int(&path, "timeout", wait_s) < 0)
                return hc_oom(err);
        _cleanup_(hc_call_clear) HcCall call = {
                .method = method,
                .path = path.data,
                .wait_s = wait_s,
        };
        return hc_call_object(c, &call, ret, NULL, err);
}

int hc_operation_get(HcClient *c, const char *id, json_t **ret, HcError *err)
{
        return hc_operation_request(c, "GET", id, NULL, 0, ret, err);
}

int hc_operation_cancel(HcClient *c, const char *id, json_t **ret, HcError *err)
{
        return hc_operation_request(c, "DELETE", id, NULL, 0, ret, err);
}

int hc_operation_wait(HcClient *c, const char *id, int timeout_s, json_t **ret, HcError *err)
{
        int64_t deadline = hd_monotonic_ms() + (int64_t)(timeout_s > 0 ? timeout_s : 0) * 1000;

        if (timeout_s <= 0)
                return hc_operation_get(c, id, ret, err);
        for (;;) {
                _cleanup_json_ json_t *op = NULL;
                int64_t left_ms = deadline - hd_monotonic_ms();
                int chunk = (int)((left_ms + 999) / 1000);
                int r;

                if (chunk < 1)
                        chunk = 1;
                if (chunk > HC_MAX_WAIT_S)
                        chunk = HC_MAX_WAIT_S;
                r = hc_operation_request(c, "GET", id, "wait", chunk, &op, err);
                if (r < 0)
                        return r;
                /* One request covers any wait the server accepts; longer ones go on in
                 * chunks of the maximum. */
                if (chunk < HC_MAX_WAIT_S || hc_operation_is_final(op) ||
                    hd_monotonic_ms() >= deadline) {
                        if (ret)
                                *ret = TAKE_PTR(op);
                        return 0;
                }
        }
}

static const char *hc_operation_status(const json_t *op)
{
        return json_string_value(json_object_get(op, "status"));
}

bool hc_operation_is_final(const json_t *op)
{
        const char *s = hc_operation_status(op);
        return s && (strcmp(s, "success") == 0 || strcmp(s, "failure") == 0 ||
                     strcmp(s, "cancelled") == 0);
}

int hc_operation_check(const json_t *op, HcError *err)
{
        const char *s = hc_operation_status(op);

        hc_error_clear(err);
        if (!s)
                return hc_error_setf(err, -EBADMSG, "protocol", "operation has no status");
        if (strcmp(s, "success") == 0)
                return 0;
        if (strcmp(s, "cancelled") == 0)
                return hc_error_setf(err, -ECANCELED, "cancelled", "operation was cancelled");
        if (strcmp(s, "failure") == 0) {
                const json_t *e = json_object_get(op, "error");
                const char *code = json_string_value(json_object_get(e, "code"));
                const char *msg = json_string_value(json_object_get(e, "message"));
                return hc_error_setf(err, -EIO, code ? code : "operation_failed", "%s",
                                     msg ? msg : "operation failed");
        }
        return hc_error_setf(err, -EINPROGRESS, "in_progress", "operation is still %s", s);
}
