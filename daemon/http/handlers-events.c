/* GET /v1/events: chunked NDJSON that replays from ?since and then follows. */
#include <poll.h>
#include <string.h>

#include "hd-codec.h"
#include "http-internal.h"

typedef struct EventStream {
        HdCore *core;
        int fd; /* the client's socket, to notice a hang-up while idle */
        int64_t cursor;
        char *prefix;
        char *buf;
        size_t len;
        size_t off;
} EventStream;

static void stream_free(void *cls)
{
        EventStream *s = cls;
        if (!s)
                return;
        free(s->prefix);
        free(s->buf);
        free(s);
}

static bool peer_gone(int fd)
{
        struct pollfd p = { .fd = fd, .events = POLLRDHUP };
        return fd >= 0 && poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

/* Serialises the next batch of events into s->buf; returns how many. */
static int fill(EventStream *s)
{
        HdEvent **evs = NULL;
        size_t n = 0;
        if (hd_core_events_since(s->core, s->cursor, 256, &evs, &n, NULL) < 0)
                return -EIO;

        size_t cap = 0;
        int kept = 0;
        s->len = s->off = 0;
        for (size_t i = 0; i < n; i++) {
                s->cursor = evs[i]->seq;
                if (s->prefix && !hd_str_startswith(evs[i]->type, s->prefix))
                        continue;
                _cleanup_json_ json_t *j = hd_codec_event_to_json(evs[i]);
                _cleanup_free_ char *line = json_dumps(j, JSON_COMPACT);
                if (!line)
                        continue;
                size_t l = strlen(line);
                if (s->len + l + 1 > cap) {
                        cap = (s->len + l + 1) * 2;
                        char *nb = realloc(s->buf, cap);
                        if (!nb)
                                break;
                        s->buf = nb;
                }
                memcpy(s->buf + s->len, line, l);
                s->len += l;
                s->buf[s->len++] = '\n';
                kept++;
        }
        hd_event_array_free(evs, n);
        return kept;
}

static ssize_t stream_read(void *cls, uint64_t pos, char *out, size_t max)
{
        EventStream *s = cls;
        for (;;) {
                if (s->off < s->len) {
                        size_t n = s->len - s->off;
                        if (n > max)
                                n = max;
                        memcpy(out, s->buf + s->off, n);
                        s->off += n;
                        return (ssize_t)n;
                }
                int r = fill(s);
                if (r < 0)
                        return MHD_CONTENT_READER_END_WITH_ERROR;
                if (r > 0)
                        continue;
                /* Nothing new: wait, but look up now and then to notice a client
                 * that went away or a daemon that is stopping. */
                r = hd_core_events_wait(s->core, s->cursor, 1000);
                if (r == -ECANCELED)
                        return MHD_CONTENT_READER_END_OF_STREAM;
                if (peer_gone(s->fd))
                        return MHD_CONTENT_READER_END_WITH_ERROR;
        }
}

void hd_handle_events(HdRequest *req, HdResponse *resp)
{
        HdCore *c = req->http->core;
        int64_t since;
        if (hd_req_query_int(req, resp, "since", 0, INT64_MAX, -1, &since) < 0)
                return;
        EventStream *s = calloc(1, sizeof(*s));
        if (!s) {
                hd_resp_error_status(resp, 500, NULL, "out of memory");
                return;
        }
        s->core = c;
        s->cursor = since >= 0 ? since : hd_core_event_last_seq(c);
        const char *type = hd_req_query(req, "type");
        s->prefix = type ? strdup(type) : NULL;
        const union MHD_ConnectionInfo *ci =
                MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        s->fd = ci ? ci->connect_fd : -1;

        hd_req_extend_timeout(req, 0); /* a follower may sit idle for hours */
        resp->status = 200;
        resp->content_type = "application/x-ndjson";
        resp->stream_cb = stream_read;
        resp->stream_cls = s;
        resp->stream_free = stream_free;
}
