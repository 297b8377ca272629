/* libhostclient: the benchmarks API (/v1/benchmarks). A run is an operation like an
 * instance action; its stored result is JSON, or rendered by the server as Markdown
 * (?format=markdown) and as an SVG chart (…/chart.svg), both handed back as text. */
#include "hostclient-private.h"

#include <string.h>
#include <strings.h>

static int hc_bench_oom(HcError *err)
{
        return hc_error_setf(err, -ENOMEM, "transport", "out of memory");
}

/* "/v1/benchmarks/<escaped id>[/<sub>][/<escaped other>]": sub is a literal segment. */
static int hc_bench_path(HcBuf *b, const char *id, const char *sub, const char *other, HcError *err)
{
        if (!id || !*id)
                return hc_error_setf(err, -EINVAL, "invalid_argument",
                                     "benchmark id must not be empty");
        if (other && !*other)
                return hc_error_setf(err, -EINVAL, "invalid_argument",
                                     "benchmark id to compare with must not be empty");
        if (hc_buf_printf(b, "/v1/benchmarks") < 0 || hc_buf_add_segment(b, id) < 0 ||
            (sub && hc_buf_printf(b, "/%s", sub) < 0) ||
            (other && hc_buf_add_segment(b, other) < 0))
                return hc_bench_oom(err);
        return 0;
}

static int hc_bench_object(HcClient *c, const char *method, const char *id, const char *sub,
                           const char *other, json_t **ret, HcError *err)
{
        _cleanup_buf_ HcBuf path = { 0 };
        int r;

        if (ret)
                *ret = NULL;
        r = hc_bench_path(&path, id, sub, other, err);
        if (r < 0)
                return r;
        _cleanup_(hc_call_clear) HcCall call = { .method = method, .path = path.data };
        return hc_call_object(c, &call, ret, NULL, err);
}

/* Whether the answer's Content-Type is the media type asked for. A missing header is
 * taken on trust; another type (the JSON result from a server that ignored ?format)
 * is not. */
static bool hc_bench_type_is(HcClient *c, const char *want)
{
        const char *type = NULL;
        size_t n = strlen(want);

        if (curl_easy_getinfo(hc_client_curl(c), CURLINFO_CONTENT_TYPE, &type) != CURLE_OK || !type)
                return true;
        return strncasecmp(type, want, n) == 0 &&
               (type[n] == '\0' || type[n] == ';' || type[n] == ' ');
}

/* GET of a rendered result: the body as it is, NUL-terminated, into *ret_text. */
static int hc_bench_text(HcClient *c, const char *path, const char *accept, char **ret_text,
                         size_t *ret_len, HcError *err)
{
        _cleanup_(hc_call_clear) HcCall call = { .method = "GET", .path = path, .accept = accept };
        int r;

        if (!c)
                return hc_error_setf(err, -EINVAL, "invalid_argument", "no client");
        r = hc_perform(c, &call, err);
        if (r < 0)
                return r;
        if (!hc_bench_type_is(c, accept))
                return hc_error_setf(err, -EBADMSG, "protocol", "%s answered %s instead of %s",
                                     hc_client_endpoint(c),
                                     call.body_out.len > 0 && call.body_out.data[0] == '{'
                                             ? "JSON"
                                             : "another media type",
                                     accept);
        if (ret_len)
                *ret_len = call.body_out.len;
        if (ret_text) {
                *ret_text = call.body_out.data ? hc_buf_steal(&call.body_out) : strdup("");
                if (!*ret_text)
                        return hc_bench_oom(err);
        }
        return 0;
}

/* ---- Runs ---------------------------------------------------------------------------- */

int hc_bench_start(HcClient *c, const json_t *request, json_t **ret_operation, HcError *err)
{
        _cleanup_json_ json_t *op = NULL;
        int r;

        if (ret_operation)
                *ret_operation = NULL;
        if (!json_is_object(request))
                return hc_error_setf(err, -EINVAL, "invalid_argument",
                                     "benchmark request must be a JSON object");
        /* The body is only serialised: casting away const is safe. */
        _cleanup_(hc_call_clear) HcCall call = {
                .method = "POST",
                .path = "/v1/benchmarks",
                .body = (json_t *)request,
        };
        r = hc_call_object(c, &call, &op, NULL, err);
        if (r < 0)
                return r;
        if (!json_is_string(json_object_get(op, "id")))
                return hc_error_setf(err, -EBADMSG, "protocol",
                                     "benchmark answer from %s is not an operation",
                                     hc_client_endpoint(c));
        if (ret_operation)
                *ret_operation = TAKE_PTR(op);
        return 0;
}

int hc_bench_list(HcClient *c, json_t **ret, HcError *err)
{
        _cleanup_(hc_call_clear) HcCall call = { .method = "GET", .path = "/v1/benchmarks" };
        return hc_call_object(c, &call, ret, NULL, err);
}

int hc_bench_get(HcClient *c, const char *id, json_t **ret, HcError *err)
{
        return hc_bench_object(c, "GET", id, NULL, NULL, ret, err);
}

int hc_bench_delete(HcClient *c, const char *id, json_t **ret, HcError *err)
{
        return hc_bench_object(c, "DELETE", id, NULL, NULL, ret, err);
}

int hc_bench_compare(HcClient *c, const char *id1, const char *id2, json_t **ret, HcError *err)
{
        return hc_bench_object(c, "GET", id1, "compare", id2 ? id2 : "", ret, err);
}

/* ---- Rendered results ---------------------------------------------------------------- */

int hc_bench_markdown(HcClient *c, const char *id, char **ret_text, HcError *err)
{
        _cleanup_buf_ HcBuf path = { 0 };
        int r;

        if (ret_text)
                *ret_text = NULL;
        r = hc_bench_path(&path, id, NULL, NULL, err);
        if (r < 0)
                return r;
        if (hc_buf_add_query(&path, "format", "markdown") < 0)
                return hc_bench_oom(err);
        return hc_bench_text(c, path.data, "text/markdown", ret_text, NULL, err);
}

int hc_bench_svg(HcClient *c, const char *id, char **ret_text, size_t *ret_len, HcError *err)
{
        _cleanup_buf_ HcBuf path = { 0 };
        int r;

        if (ret_text)
                *ret_text = NULL;
        if (ret_len)
                *ret_len = 0;
        r = hc_bench_path(&path, id, "chart.svg", NULL, err);
        if (r < 0)
                return r;
        return hc_bench_text(c, path.data, "image/svg+xml", ret_text, ret_len, err);
}
