/* libhostclient: following GET /v1/events, a chunked NDJSON stream that never ends by
 * itself. curl hands us arbitrary slices of it; we split them into lines. */
#include "hostclient-private.h"

#include <ctype.h>
#include <string.h>

/* A line longer than this is not an event: stop instead of buffering forever. */
#define HC_MAX_EVENT_LINE (1024 * 1024)

typedef struct HcEventStream {
        HcClient *client;
        HcCall *call;
        HcEventCallback cb;
        void *userdata;
        HcError *err;
        HcBuf line;    /* the incomplete last line */
        long status;   /* 0 until the first body bytes */
        bool stopped;  /* the callback asked to stop */
        int cb_result; /* and what it returned */
        int error;     /* a malformed stream */
} HcEventStream;

/* Decodes one line and hands it to the callback. Returns 0 to go on, 1 to stop. */
static int hc_events_dispatch(HcEventStream *s, const char *p, size_t len)
{
        json_error_t e;

        while (len > 0 && isspace((unsigned char)p[len - 1]))
                len--;
        while (len > 0 && isspace((unsigned char)*p))
                p++, len--;
        if (len == 0)
                return 0; /* keep-alive blank line */

        _cleanup_json_ json_t *ev = json_loadb(p, len, 0, &e);
        if (!json_is_object(ev)) {
                s->error = hc_error_setf(
                        s->err, -EBADMSG, "protocol", "invalid event in stream from %s: %s",
                        hc_client_endpoint(s->client), ev ? "not a JSON object" : e.text);
                return 1;
        }
        int r = s->cb(ev, s->userdata);
        if (r != 0) {
                s->stopped = true;
                s->cb_result = r;
                return 1;
        }
        return 0;
}

static size_t hc_events_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
        HcEventStream *s = userdata;
        size_t n = size * nmemb;
        size_t start = 0;

        if (s->status == 0)
                curl_easy_getinfo(hc_client_curl(s->client), CURLINFO_RESPONSE_CODE, &s->status);
        if (s->status < 200 || s->status >= 300) {
                /* An error answer: keep its body for hc_perform() to decode. */
                if (s->call->body_out.len + n > HC_MAX_EVENT_LINE)
                        return n;
                return hc_buf_append(&s->call->body_out, ptr, n) < 0 ? 0 : n;
        }

        if (hc_buf_append(&s->line, ptr, n) < 0) {
                s->error = hc_error_setf(s->err, -ENOMEM, "transport", "out of memory");
                return 0;
        }
        for (;;) {
                char *nl = memchr(s->line.data + start, '\n', s->line.len - start);
                if (!nl)
                        break;
                size_t len = (size_t)(nl - (s->line.data + start));
                if (hc_events_dispatch(s, s->line.data + start, len) != 0)
                        return 0;
                start += len + 1;
        }
        memmove(s->line.data, s->line.data + start, s->line.len - start + 1);
        s->line.len -= start;
        if (s->line.len > HC_MAX_EVENT_LINE) {
                s->error = hc_error_setf(s->err, -EMSGSIZE, "protocol",
                                         "event from %s is longer than %d bytes",
                                         hc_client_endpoint(s->client), HC_MAX_EVENT_LINE);
                return 0;
        }
        return n;
}

static void hc_event_stream_clear(HcEventStream *s)
{
        hc_buf_clear(&s->line);
}

static int hc_events_result(HcEventStream *s)
{
        if (s->stopped) {
                if (s->cb_result > 0)
                        return 0;
                return hc_error_setf(s->err, s->cb_result, "cancelled",
                                     "stopped by the event callback");
        }
        return s->error;
}

int hc_events_follow(HcClient *c, int64_t since, const char *type_prefix, HcEventCallback cb,
                     void *userdata, HcError *err)
{
        _cleanup_buf_ HcBuf path = { 0 };
        _cleanup_(hc_call_clear) HcCall call = { 0 };
        _cleanup_(hc_event_stream_clear) HcEventStream s = {
                .client = c,
                .call = &call,
                .cb = cb,
                .userdata = userdata,
                .err = err,
        };
        int r;

        hc_error_clear(err);
        if (!c || !cb)
                return hc_error_setf(err, -EINVAL, "invalid_argument",
                                     "a client and a callback are required");
        r = hc_buf_printf(&path, "/v1/events");
        if (r >= 0 && since >= 0) {
                char v[24];
                snprintf(v, sizeof(v), "%lld", (long long)since);
                r = hc_buf_add_query(&path, "since", v);
        }
        if (r >= 0 && type_prefix && *type_prefix)
                r = hc_buf_add_query(&path, "type", type_prefix);
        if (r < 0)
                return hc_error_setf(err, -ENOMEM, "transport", "out of memory");

        call = (HcCall){
                .method = "GET",
                .path = path.data,
                .accept = "application/x-ndjson",
                .stream = true,
                .write_cb = hc_events_write,
                .write_data = &s,
        };
        r = hc_perform(c, &call, err);
        if (s.stopped || s.error)
                return hc_events_result(&s);
        if (r < 0)
                return r;

        /* The server ended the stream: a last line without its newline is still an event. */
        if (s.line.len > 0) {
                hc_events_dispatch(&s, s.line.data, s.line.len);
                if (s.stopped || s.error)
                        return hc_events_result(&s);
        }
        return hc_error_setf(err, -ECONNRESET, "stream_ended", "event stream from %s ended",
                             hc_client_endpoint(c));
}
