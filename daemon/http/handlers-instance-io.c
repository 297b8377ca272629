/* /v1/instances/{name}/logs, /exec and /stats: what a running instance gives back. */
#include <poll.h>
#include <string.h>

#include "hd-codec.h"
#include "hd-log.h"
#include "http-internal.h"

/* ---- logs --------------------------------------------------------------------------------- */

#define LOGS_IDLE_MS 200

typedef struct LogStream {
        HdCore *core;
        HdDriverLogs *logs;
        int fd; /* the client's socket, to notice a hang-up while idle */
} LogStream;

static void log_stream_free(void *cls)
{
        LogStream *s = cls;
        if (!s)
                return;
        if (s->logs)
                s->logs->close(s->logs);
        free(s);
}

static bool peer_gone(int fd)
{
        struct pollfd p = { .fd = fd, .events = POLLRDHUP };
        return fd >= 0 && poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

static ssize_t log_stream_read(void *cls, uint64_t pos, char *out, size_t max)
{
        (void)pos;
        LogStream *s = cls;
        for (;;) {
                ssize_t n = s->logs->read(s->logs, out, max);
                if (n > 0)
                        return n;
                if (n == -ENODATA)
                        return MHD_CONTENT_READER_END_OF_STREAM;
                if (n < 0)
                        return MHD_CONTENT_READER_END_WITH_ERROR;
                /* Following and nothing new: look again in a while, unless the client
                 * went away or hostd is stopping. */
                if (hd_core_is_shutting_down(s->core))
                        return MHD_CONTENT_READER_END_OF_STREAM;
                struct pollfd p = { .fd = s->fd, .events = POLLRDHUP };
                (void)poll(&p, s->fd >= 0 ? 1 : 0, LOGS_IDLE_MS);
                if (peer_gone(s->fd))
                        return MHD_CONTENT_READER_END_WITH_ERROR;
        }
}

void hd_handle_instance_logs(HdRequest *req, HdResponse *resp)
{
        HdLogOptions o = { .streams = HD_LOG_ALL };
        if (hd_req_query_int(req, resp, "tail", 0, INT64_MAX, -1, &o.tail) < 0 ||
            hd_req_query_bool(req, resp, "follow", &o.follow) < 0 ||
            hd_req_query_bool(req, resp, "timestamps", &o.timestamps) < 0)
                return;
        const char *stream = hd_req_query(req, "stream");
        if (stream && strcmp(stream, "stdout") == 0) {
                o.streams = HD_LOG_STDOUT;
        } else if (stream && strcmp(stream, "stderr") == 0) {
                o.streams = HD_LOG_STDERR;
        } else if (stream && strcmp(stream, "all") != 0) {
                hd_resp_error_status(resp, 400, "stream",
                                     "`%.64s` is not a stream: use stdout, stderr or all", stream);
                return;
        }
        LogStream *s = calloc(1, sizeof(*s));
        if (!s) {
                hd_resp_error_status(resp, 500, NULL, "out of memory");
                return;
        }
        _cleanup_error_ HdError *err = NULL;
        s->core = req->http->core;
        if (hd_core_instance_logs(s->core, req->params[0], &o, &s->logs, &err) < 0) {
                log_stream_free(s);
                hd_resp_error(resp, err);
                return;
        }
        const union MHD_ConnectionInfo *ci =
                MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        s->fd = ci ? ci->connect_fd : -1;
        if (o.follow)
                hd_req_extend_timeout(req, 0); /* a follower may sit idle for hours */
        resp->status = 200;
        resp->content_type = "text/plain; charset=utf-8";
        resp->stream_cb = log_stream_read;
        resp->stream_cls = s;
        resp->stream_free = log_stream_free;
}

/* ---- exec --------------------------------------------------------------------------------- */

void hd_handle_instance_exec(HdRequest *req, HdResponse *resp)
{
        _cleanup_json_ json_t *body = NULL;
        if (hd_req_body_json(req, resp, true, &body) < 0)
                return;
        _cleanup_error_ HdError *err = NULL;
        _cleanup_(hd_exec_request_clear) HdExecRequest r = { 0 };
        if (hd_codec_exec_request_from_json(body, &r, &err) < 0) {
                hd_resp_error(resp, err);
                return;
        }
        hd_req_extend_timeout(req, (unsigned)r.timeout_s + 60);
        _cleanup_(hd_exec_result_clear) HdExecResult res = { 0 };
        if (hd_core_instance_exec(req->http->core, req->params[0], &r, &res, &err) < 0) {
                hd_resp_error(resp, err);
                return;
        }
        hd_resp_json(resp, 200, hd_codec_exec_result_to_json(&res));
}

/* ---- stats -------------------------------------------------------------------------------- */

void hd_handle_instance_stats(HdRequest *req, HdResponse *resp)
{
        _cleanup_error_ HdError *err = NULL;
        HdStats st;
        if (hd_core_instance_stats(req->http->core, req->params[0], &st, &err) < 0) {
                hd_resp_error(resp, err);
                return;
        }
        hd_resp_json(resp, 200, hd_codec_stats_to_json(&st));
}
