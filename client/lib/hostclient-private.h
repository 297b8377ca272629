/* Internals shared by the files of libhostclient: the transport (hostclient.c) and the
 * endpoint calls (hostclient-api.c, hostclient-events.c). Not installed. */
#pragma once

#include <curl/curl.h>

#include "hostclient.h"
#include "hd-error.h"
#include "hd-json.h"
#include "hd-macro.h"

/* Responses larger than this are refused instead of buffered. */
#define HC_MAX_RESPONSE_BYTES (64u * 1024 * 1024)
/* The longest wait the API accepts in one request (seconds). */
#define HC_MAX_WAIT_S 3600

/* A growable byte buffer, always NUL-terminated when data is non-NULL. */
typedef struct HcBuf {
        char *data;
        size_t len;
        size_t cap;
} HcBuf;

int hc_buf_append(HcBuf *b, const void *data, size_t len);
int hc_buf_printf(HcBuf *b, const char *fmt, ...) HD_PRINTF(2, 3);
/* Appends "?key=value" or "&key=value", value escaped. */
int hc_buf_add_query(HcBuf *b, const char *key, const char *value);
/* Appends "/segment", escaped. */
int hc_buf_add_segment(HcBuf *b, const char *segment);
void hc_buf_clear(HcBuf *b);
/* Hands the string on, leaving the buffer empty. */
char *hc_buf_steal(HcBuf *b);

static inline void hc_buf_clearp(HcBuf *b)
{
        hc_buf_clear(b);
}
#define _cleanup_buf_ _cleanup_(hc_buf_clearp)

/* One request and what came back. */
typedef struct HcCall {
        /* in */
        const char *method;
        const char *path;         /* escaped path and query */
        json_t *body;             /* may be NULL */
        const char *content_type; /* of body; default application/json */
        const char *if_match;     /* may be NULL */
        const char *accept;       /* default application/json */
        int wait_s;               /* server-side wait, added to the timeout */
        bool stream;              /* no overall time limit (event stream) */
        /* the write callback to use instead of buffering (events); NULL = buffer */
        curl_write_callback write_cb;
        void *write_data;
        /* a streamed request body instead of body (image uploads): read_cb fills curl's
         * buffer, seek_cb rewinds it (a retry on a fresh connection); read_size bytes,
         * or -1 for unknown (sent chunked). content_type defaults to
         * application/octet-stream. */
        curl_read_callback read_cb;
        curl_seek_callback seek_cb;
        void *read_data;
        int64_t read_size;
        /* called as bytes move (CURLOPT_XFERINFOFUNCTION); non-zero aborts */
        curl_xferinfo_callback xferinfo_cb;
        void *xferinfo_data;
        /* > 0: fail when no byte moves for this many seconds (no overall limit) */
        int stall_s;
        /* out */
        long status;
        char *etag;
        HcBuf body_out; /* the body, or an error response's body when write_cb is set */
        bool too_large;
} HcCall;

void hc_call_clear(HcCall *call);

/* Performs the call, clearing err first. Transport failures and statuses outside 2xx are
 * errors (err filled from the API's error body); call->status and body_out are set
 * whenever a response came. With write_cb set, a transfer that the callback aborted
 * returns -ECANCELED and leaves err alone; so does one that read_cb or xferinfo_cb
 * aborted, unless the server had already answered with an error (an upload refused
 * early), which is then reported. Returns the HTTP status on success. */
int hc_perform(HcClient *client, HcCall *call, HcError *err);

/* Decodes body_out into *ret (ret may be NULL). An empty body gives NULL when allow_empty;
 * want_object refuses anything but a JSON object. */
int hc_call_decode(HcCall *call, bool allow_empty, bool want_object, json_t **ret, HcError *err);

/* One JSON-object request with the common plumbing (hostclient-api.c): *ret gets the
 * decoded object and *ret_etag the ETag header, both optional. */
int hc_call_object(HcClient *client, HcCall *call, json_t **ret, char **ret_etag, HcError *err);

/* Fills err from an HTTP error response body and returns the matching -errno. */
int hc_error_from_response(long status, const char *body, size_t len, HcError *err);
int hc_errno_from_status(long status);

/* Fills err with a client-side error and returns code. */
int hc_error_setf(HcError *err, int code, const char *kind, const char *fmt, ...) HD_PRINTF(4, 5);
void hc_error_clear(HcError *err);

/* The client's curl handle, for the events stream's status checks. */
CURL *hc_client_curl(HcClient *client);

/* Checks that a header value or path holds no control characters or spaces
 * (header injection); spaces are allowed when allow_space. */
bool hc_string_is_clean(const char *s, bool allow_space);
