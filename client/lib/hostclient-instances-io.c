/* libhostclient: what goes in and out of a running instance — its log stream
 * (GET …/logs, text/plain handed to a callback chunk by chunk), one-shot commands
 * (POST …/exec, JSON with base64 for bytes that are not UTF-8) and resource usage
 * (GET …/stats). */
#include "hostclient-private.h"
#include "hd-util.h"

#include <stdarg.h>
#include <string.h>

/* A log read without follow fails when nothing arrives for this long; with follow a
 * quiet container is normal, so there is no limit at all (as for the event stream). */
#define HC_LOGS_STALL_S 60
/* At most this much of an error answer to a log request is kept for its message. */
#define HC_LOGS_MAX_ERROR_BODY (64 * 1024)
/* The server's default exec timeout, which the request's time limit must cover. */
#define HC_EXEC_DEFAULT_TIMEOUT_S 60

static int hc_io_oom(HcError *err)
{
        return hc_error_setf(err, -ENOMEM, "transport", "out of memory");
}

/* A client-side argument error that names the request field it is about. */
static int hc_io_invalid(HcError *err, const char *field, const char *fmt, ...) HD_PRINTF(3, 4);

static int hc_io_invalid(HcError *err, const char *field, const char *fmt, ...)
{
        if (!err)
                return -EINVAL;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof(err->message), fmt, ap);
        va_end(ap);
        snprintf(err->code, sizeof(err->code), "invalid_argument");
        snprintf(err->field, sizeof(err->field), "%s", field ? field : "");
        return -EINVAL;
}

/* "/v1/instances/<escaped name>/<sub>", the name escaped as one segment like the other
 * hc_instance_* calls do. */
static int hc_instance_io_path(HcBuf *b, const char *name, const char *sub, HcError *err)
{
        if (!name || !*name)
                return hc_error_setf(err, -EINVAL, "invalid_argument",
                                     "instance name must not be empty");
        if (hc_buf_printf(b, "/v1/instances") < 0 || hc_buf_add_segment(b, name) < 0 ||
            hc_buf_add_segment(b, sub) < 0)
                return hc_io_oom(err);
        return 0;
}

/* ---- Logs ---------------------------------------------------------------------------- */

typedef struct HcLogStream {
        HcClient *client;
        HcCall *call;
        HcLogsCallback cb;
        void *userdata;
        long status;   /* 0 until the first body bytes */
        bool stopped;  /* the callback asked to stop */
        int cb_result; /* and what it returned */
} HcLogStream;

static size_t hc_logs_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
        HcLogStream *s = userdata;
        size_t n = size * nmemb;

        if (s->status == 0)
                curl_easy_getinfo(hc_client_curl(s->client), CURLINFO_RESPONSE_CODE, &s->status);
        if (s->status < 200 || s->status >= 300) {
                /* An error answer: keep (the start of) its body for hc_perform(). */
                if (s->call->body_out.len + n > HC_LOGS_MAX_ERROR_BODY)
                        return n;
                return hc_buf_append(&s->call->body_out, ptr, n) < 0 ? 0 : n;
        }
        if (n == 0)
                return n; /* the callback only ever sees data */
        int r = s->cb(ptr, n, s->userdata);
        if (r != 0) {
                s->stopped = true;
                s->cb_result = r;
                return 0; /* curl stops with CURLE_WRITE_ERROR */
        }
        return n;
}

static int hc_logs_query(HcBuf *path, const HcLogsOptions *o)
{
        int r = 0;

        if (o->tail >= 0) {
                char v[24];
                snprintf(v, sizeof(v), "%lld", (long long)o->tail);
                r = hc_buf_add_query(path, "tail", v);
        }
        if (r >= 0 && o->follow)
                r = hc_buf_add_query(path, "follow", "true");
        if (r >= 0 && o->timestamps)
                r = hc_buf_add_query(path, "timestamps", "true");
        if (r >= 0 && o->stream && *o->stream)
                r = hc_buf_add_query(path, "stream", o->stream);
        return r;
}

int hc_instance_logs(HcClient *c, const char *name, const HcLogsOptions *opts, HcLogsCallback cb,
                     void *userdata, HcError *err)
{
        static const HcLogsOptions all = { .tail = -1 };
        _cleanup_buf_ HcBuf path = { 0 };
        _cleanup_(hc_call_clear) HcCall call = { 0 };
        HcLogStream s = { .client = c, .call = &call, .cb = cb, .userdata = userdata };
        int r;

        hc_error_clear(err);
        if (!c || !cb)
                return hc_error_setf(err, -EINVAL, "invalid_argument",
                                     "a client and a callback are required");
        if (!opts)
                opts = &all;
        r = hc_instance_io_path(&path, name, "logs", err);
        if (r < 0)
                return r;
        if (hc_logs_query(&path, opts) < 0)
                return hc_io_oom(err);

        call = (HcCall){
                .method = "GET",
                .path = path.data,
                .accept = "text/plain",
                .write_cb = hc_logs_write,
                .write_data = &s,
        };
        /* follow: no limit at all, a container may be quiet for hours; otherwise the
         * whole log may still take long to send, so only a stall is an error. */
        if (opts->follow)
                call.stream = true;
        else
                call.stall_s = HC_LOGS_STALL_S;

        r = hc_perform(c, &call, err);
        if (s.stopped) {
                if (s.cb_result > 0)
                        return 0;
                return hc_error_setf(err, s.cb_result, "cancelled", "stopped by the logs callback");
        }
        return r < 0 ? r : 0;
}

/* ---- Exec ---------------------------------------------------------------------------- */

/* Sets obj[key] to a new value, failing on NULL (e.g. a string that is not UTF-8). */
static int hc_set(json_t *obj, const char *key, json_t *value)
{
        return value ? json_object_set_new(obj, key, value) : -1;
}

static int hc_exec_command(json_t *body, const HcExecRequest *req, HcError *err)
{
        json_t *argv = json_array();

        if (hc_set(body, "command", argv) < 0)
                return hc_io_oom(err);
        for (size_t i = 0; i < req->n_command; i++) {
                if (!req->command[i])
                        return hc_io_invalid(err, "command", "command[%zu] is NULL", i);
                if (json_array_append_new(argv, json_string(req->command[i])) < 0)
                        return hc_io_invalid(err, "command",
                                             "command argument `%s` is not valid UTF-8",
                                             req->command[i]);
        }
        return 0;
}

static int hc_exec_env(json_t *body, const HcExecRequest *req, HcError *err)
{
        json_t *env;

        if (req->n_env == 0)
                return 0;
        if (!req->env)
                return hc_io_invalid(err, "env", "n_env is %zu but env is NULL", req->n_env);
        env = json_object();
        if (hc_set(body, "env", env) < 0)
                return hc_io_oom(err);
        for (size_t i = 0; i < req->n_env; i++) {
                const char *kv = req->env[i];
                const char *eq = kv ? strchr(kv, '=') : NULL;
                if (!eq || eq == kv)
                        return hc_io_invalid(err, "env", "environment entry `%s` is not KEY=VALUE",
                                             kv ? kv : "(null)");
                _cleanup_free_ char *key = strndup(kv, (size_t)(eq - kv));
                if (!key)
                        return hc_io_oom(err);
                if (hc_set(env, key, json_string(eq + 1)) < 0)
                        return hc_io_invalid(err, "env",
                                             "environment entry `%s` is not valid UTF-8", kv);
        }
        return 0;
}

/* stdin goes as a JSON string when it can (readable requests); NUL bytes and anything
 * that is not UTF-8 go as base64. */
static int hc_exec_stdin(json_t *body, const HcExecRequest *req, HcError *err)
{
        json_t *text = NULL;

        if (!req->stdin_data) {
                if (req->stdin_len > 0)
                        return hc_io_invalid(err, "stdin",
                                             "stdin_len is %zu but stdin_data is NULL",
                                             req->stdin_len);
                return 0;
        }
        if (!memchr(req->stdin_data, '\0', req->stdin_len))
                text = json_stringn(req->stdin_data, req->stdin_len);
        if (text)
                return hc_set(body, "stdin", text) < 0 ? hc_io_oom(err) : 0;

        _cleanup_free_ char *b64 = hd_base64_encode(req->stdin_data, req->stdin_len);
        if (!b64 || hc_set(body, "stdin", json_string(b64)) < 0 ||
            hc_set(body, "stdin_encoding", json_string("base64")) < 0)
                return hc_io_oom(err);
        return 0;
}

static int hc_exec_body(const HcExecRequest *req, json_t **ret, HcError *err)
{
        _cleanup_json_ json_t *body = json_object();
        int r;

        if (!body)
                return hc_io_oom(err);
        if (!req->command || req->n_command == 0)
                return hc_io_invalid(err, "command", "command must not be empty");
        r = hc_exec_command(body, req, err);
        if (r >= 0)
                r = hc_exec_env(body, req, err);
        if (r >= 0 && req->workdir && *req->workdir &&
            hc_set(body, "workdir", json_string(req->workdir)) < 0)
                r = hc_io_invalid(err, "workdir", "workdir `%s` is not valid UTF-8", req->workdir);
        if (r >= 0 && req->user && *req->user && hc_set(body, "user", json_string(req->user)) < 0)
                r = hc_io_invalid(err, "user", "user `%s` is not valid UTF-8", req->user);
        if (r >= 0)
                r = hc_exec_stdin(body, req, err);
        /* Out of range goes to the server as it is: it names the field. */
        if (r >= 0 && req->timeout_s != 0 &&
            hc_set(body, "timeout", json_integer(req->timeout_s)) < 0)
                r = hc_io_oom(err);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(body);
        return 0;
}

/* Like hc_call_decode(), but a "utf-8" output may hold NUL bytes (\u0000), which
 * jansson refuses unless told. */
static int hc_exec_decode(HcCall *call, json_t **ret, HcError *err)
{
        json_error_t e;

        if (!ret)
                return 0;
        json_t *j = json_loadb(call->body_out.data ? call->body_out.data : "", call->body_out.len,
                               JSON_ALLOW_NUL, &e);
        if (!json_is_object(j)) {
                json_decref(j);
                return hc_error_setf(err, -EBADMSG, "protocol",
                                     "exec answer is not a JSON object (HTTP %ld): %s",
                                     call->status, j ? "not an object" : e.text);
        }
        *ret = j;
        return 0;
}

int hc_instance_exec(HcClient *c, const char *name, const HcExecRequest *req, json_t **ret,
                     HcError *err)
{
        _cleanup_buf_ HcBuf path = { 0 };
        _cleanup_json_ json_t *body = NULL;
        int r;

        if (ret)
                *ret = NULL;
        hc_error_clear(err);
        if (!c || !req)
                return hc_error_setf(err, -EINVAL, "invalid_argument",
                                     "a client and an exec request are required");
        r = hc_instance_io_path(&path, name, "exec", err);
        if (r >= 0)
                r = hc_exec_body(req, &body, err);
        if (r < 0)
                return r;

        int wait_s = req->timeout_s > 0 ? req->timeout_s : HC_EXEC_DEFAULT_TIMEOUT_S;
        _cleanup_(hc_call_clear) HcCall call = {
                .method = "POST",
                .path = path.data,
                .body = body,
                /* The server answers when the command ends or is killed. */
                .wait_s = wait_s > HC_MAX_WAIT_S ? HC_MAX_WAIT_S : wait_s,
        };
        r = hc_perform(c, &call, err);
        if (r < 0)
                return r;
        return hc_exec_decode(&call, ret, err);
}

int hc_exec_output(const json_t *result, const char *which, char **ret, size_t *ret_len)
{
        const json_t *v;
        const char *enc;
        char *out = NULL;
        size_t len = 0;

        if (!ret)
                return -EINVAL;
        *ret = NULL;
        if (ret_len)
                *ret_len = 0;
        if (!which || (strcmp(which, "stdout") != 0 && strcmp(which, "stderr") != 0))
                return -EINVAL;
        v = json_object_get(result, which);
        if (!json_is_string(v))
                return -EBADMSG;
        enc = json_string_value(json_object_get(result, "encoding"));
        if (!enc || strcmp(enc, "utf-8") == 0) {
                len = json_string_length(v);
                out = malloc(len + 1);
                if (!out)
                        return -ENOMEM;
                memcpy(out, json_string_value(v), len);
                out[len] = '\0';
        } else if (strcmp(enc, "base64") == 0) {
                int r = hd_base64_decode(json_string_value(v), json_string_length(v), &out, &len);
                if (r < 0)
                        return r == -EINVAL ? -EBADMSG : r;
        } else {
                return -EBADMSG;
        }
        *ret = out;
        if (ret_len)
                *ret_len = len;
        return 0;
}

/* ---- Stats --------------------------------------------------------------------------- */

int hc_instance_stats(HcClient *c, const char *name, json_t **ret, HcError *err)
{
        _cleanup_buf_ HcBuf path = { 0 };
        int r;

        if (ret)
                *ret = NULL;
        hc_error_clear(err);
        r = hc_instance_io_path(&path, name, "stats", err);
        if (r < 0)
                return r;
        _cleanup_(hc_call_clear) HcCall call = { .method = "GET", .path = path.data };
        return hc_call_object(c, &call, ret, NULL, err);
}
