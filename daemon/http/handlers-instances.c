/* /v1/instances and the per-instance actions. */
#include <string.h>

#include "hd-codec.h"
#include "http-internal.h"

static void set_etag(HdResponse *resp, const HdInstance *i)
{
        free(resp->etag);
        if (asprintf(&resp->etag, "\"%lld\"", (long long)i->revision) < 0)
                resp->etag = NULL;
}

/* ---- list ----------------------------------------------------------------------------------- */

typedef struct LabelFilters {
        HdKV items[16];
        size_t n;
        bool bad;
        char bad_value[300];
} LabelFilters;

static enum MHD_Result collect_label(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
        LabelFilters *lf = cls;
        if (strcmp(key, "label") != 0)
                return MHD_YES;
        const char *eq = value ? strchr(value, '=') : NULL;
        if (!eq || lf->n >= HD_ARRAY_SIZE(lf->items)) {
                lf->bad = true;
                snprintf(lf->bad_value, sizeof(lf->bad_value), "%s", value ? value : "");
                return MHD_NO;
        }
        lf->items[lf->n].key = strndup(value, (size_t)(eq - value));
        lf->items[lf->n].value = strdup(eq + 1);
        lf->n++;
        return MHD_YES;
}

/* {"instances": [views...], "next": cursor}: the stored views are spliced in
 * as they are, never parsed again. */
static void respond_views(HdResponse *resp, HdInstanceView **items, size_t n, bool more)
{
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        if (!f) {
                hd_resp_error_status(resp, 500, NULL, "out of memory");
                return;
        }
        fputs("{\"instances\":[", f);
        for (size_t i = 0; i < n; i++) {
                if (i)
                        fputc(',', f);
                fputs(items[i]->json, f);
        }
        fputs("],\"next\":", f);
        if (more && n > 0) {
                /* Names are [a-z0-9-]: a JSON string needs no escaping. */
                fprintf(f, "\"%s\"", items[n - 1]->name);
        } else
                fputs("null", f);
        fputs("}\n", f);
        if (fclose(f) != 0) {
                free(buf);
                hd_resp_error_status(resp, 500, NULL, "out of memory");
                return;
        }
        hd_resp_text(resp, 200, buf, len);
}

void hd_handle_instance_list(HdRequest *req, HdResponse *resp)
{
        HdInstanceFilter f = { .kind = HD_KIND_INVALID, .state = HD_STATE_INVALID };
        const char *kind = hd_req_query(req, "kind");
        const char *state = hd_req_query(req, "state");
        if (kind && (f.kind = hd_kind_from_string(kind)) == HD_KIND_INVALID) {
                hd_resp_error_status(resp, 400, "kind", "unknown kind `%s`", kind);
                return;
        }
        if (state && (f.state = hd_state_from_string(state)) == HD_STATE_INVALID) {
                hd_resp_error_status(resp, 400, "state", "unknown state `%s`", state);
                return;
        }
        int64_t limit;
        if (hd_req_query_int(req, resp, "limit", 1, 1000, 100, &limit) < 0)
                return;
        f.limit = (size_t)limit;
        f.after = hd_req_query(req, "after");

        LabelFilters lf = { 0 };
        MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, collect_label, &lf);
        for (size_t i = 0; i < lf.n && !lf.bad; i++)
                if (!lf.items[i].key || !lf.items[i].value ||
                    !hd_codec_label_key_is_valid(lf.items[i].key)) {
                        lf.bad = true;
                        snprintf(lf.bad_value, sizeof(lf.bad_value), "%s",
                                 lf.items[i].key ? lf.items[i].key : "");
                }
        if (lf.bad) {
                hd_resp_error_status(resp, 400, "label",
                                     "label filter `%s` must be KEY=VALUE with a valid key "
                                     "(at most 16 filters)",
                                     lf.bad_value);
        } else {
                f.labels = lf.items;
                f.n_labels = lf.n;

                HdInstanceView **items = NULL;
                size_t n = 0;
                bool more = false;
                _cleanup_error_ HdError *err = NULL;
                if (hd_core_instance_list_views(req->http->core, &f, &items, &n, &more, &err) < 0)
                        hd_resp_error(resp, err);
                else
                        respond_views(resp, items, n, more);
                hd_instance_view_array_free(items, n);
        }
        for (size_t i = 0; i < lf.n; i++) {
                free(lf.items[i].key);
                free(lf.items[i].value);
        }
}

/* ---- create, get, patch --------------------------------------------------------------------- */

void hd_handle_instance_create(HdRequest *req, HdResponse *resp)
{
        _cleanup_json_ json_t *body = NULL;
        if (hd_req_body_json(req, resp, true, &body) < 0)
                return;

        _cleanup_error_ HdError *err = NULL;
        HdInstanceSpec spec = { 0 };
        _cleanup_(hd_instance_freep) HdInstance *inst = NULL;
        if (hd_codec_instance_spec_from_json(body, &spec, &err) < 0 ||
            hd_core_instance_create(req->http->core, &spec, &inst, &err) < 0) {
                hd_instance_spec_clear(&spec);
                hd_resp_error(resp, err);
                return;
        }
        hd_instance_spec_clear(&spec);
        set_etag(resp, inst);
        if (asprintf(&resp->location, "/v1/instances/%s", inst->spec.name) < 0)
                resp->location = NULL;
        hd_resp_json(resp, 201, hd_codec_instance_to_json(inst));
}

void hd_handle_instance_get(HdRequest *req, HdResponse *resp)
{
        _cleanup_error_ HdError *err = NULL;
        _cleanup_(hd_instance_view_freep) HdInstanceView *v = NULL;
        if (hd_core_instance_get_view(req->http->core, req->params[0], &v, &err) < 0) {
                hd_resp_error(resp, err);
                return;
        }
        if (asprintf(&resp->etag, "\"%lld\"", (long long)v->revision) < 0)
                resp->etag = NULL;
        size_t len = strlen(v->json);
        char *text = realloc(TAKE_PTR(v->json), len + 2);
        if (!text) {
                hd_resp_error_status(resp, 500, NULL, "out of memory");
                return;
        }
        text[len] = '\n';
        text[len + 1] = '\0';
        hd_resp_text(resp, 200, text, len + 1);
}

/* If-Match: "*" or a quoted revision; anything else can never match. */
static int parse_if_match(HdRequest *req, HdResponse *resp, int64_t *ret)
{
        const char *h =
                MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_MATCH);
        *ret = -1;
        if (!h || strcmp(h, "*") == 0)
                return 0;
        size_t n = strlen(h);
        const char *s = h;
        if (n >= 2 && h[0] == '"' && h[n - 1] == '"') {
                _cleanup_free_ char *inner = strndup(h + 1, n - 2);
                int64_t v;
                if (inner && hd_parse_int64(inner, &v) == 0 && v >= 0) {
                        *ret = v;
                        return 0;
                }
        }
        hd_resp_error_status(resp, 412, "If-Match", "If-Match `%s` does not match any revision", s);
        return -ESTALE;
}

void hd_handle_instance_patch(HdRequest *req, HdResponse *resp)
{
        int64_t if_match;
        if (parse_if_match(req, resp, &if_match) < 0)
                return;
        _cleanup_json_ json_t *body = NULL;
        if (hd_req_body_json(req, resp, true, &body) < 0)
                return;

        _cleanup_error_ HdError *err = NULL;
        HdInstancePatch patch = { 0 };
        _cleanup_(hd_instance_freep) HdInstance *inst = NULL;
        if (hd_codec_instance_patch_from_json(body, &patch, &err) < 0 ||
            hd_core_instance_patch(req->http->core, req->params[0], &patch, if_match, &inst, &err) <
                    0) {
                hd_instance_patch_clear(&patch);
                hd_resp_error(resp, err);
                return;
        }
        hd_instance_patch_clear(&patch);
        set_etag(resp, inst);
        hd_resp_json(resp, 200, hd_codec_instance_to_json(inst));
}

/* ---- actions -------------------------------------------------------------------------------- */

static void action(HdRequest *req, HdResponse *resp, HdAction a)
{
        int64_t wait_s;
        if (hd_req_query_int(req, resp, "wait", 0, 3600, 0, &wait_s) < 0)
                return;
        bool force = false;
        if (a == HD_ACTION_DELETE && hd_req_query_bool(req, resp, "force", &force) < 0)
                return;
        _cleanup_json_ json_t *body = NULL;
        if (hd_req_body_json(req, resp, false, &body) < 0)
                return;

        _cleanup_error_ HdError *err = NULL;
        _cleanup_free_ char *args = NULL;
        _cleanup_(hd_operation_freep) HdOperation *op = NULL;
        if (hd_codec_action_args_from_json(a, body, &args, &err) < 0 ||
            hd_core_instance_action(req->http->core, req->params[0], a, args, force, &op, &err) <
                    0) {
                hd_resp_error(resp, err);
                return;
        }
        hd_resp_operation(req, resp, op, wait_s);
}

void hd_handle_instance_delete(HdRequest *req, HdResponse *resp)
{
        action(req, resp, HD_ACTION_DELETE);
}
void hd_handle_instance_start(HdRequest *req, HdResponse *resp)
{
        action(req, resp, HD_ACTION_START);
}
void hd_handle_instance_stop(HdRequest *req, HdResponse *resp)
{
        action(req, resp, HD_ACTION_STOP);
}
void hd_handle_instance_restart(HdRequest *req, HdResponse *resp)
{
        action(req, resp, HD_ACTION_RESTART);
}
void hd_handle_instance_kill(HdRequest *req, HdResponse *resp)
{
        action(req, resp, HD_ACTION_KILL);
}
void hd_handle_instance_pause(HdRequest *req, HdResponse *resp)
{
        action(req, resp, HD_ACTION_PAUSE);
}
void hd_handle_instance_resume(HdRequest *req, HdResponse *resp)
{
        action(req, resp, HD_ACTION_RESUME);
}
