/* libhostclient: the client object, the HTTP transport (one reused curl easy handle per
 * client) and the mapping of responses and transport failures to HcError. */
#include "hostclient-private.h"

#include <ctype.h>
#include <pthread.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>
#include <sys/un.h>

#define HC_DEFAULT_TIMEOUT_S 30
#define HC_CONNECT_TIMEOUT_S 10
#define HC_USER_AGENT        "libhostclient/0.1"

struct HcClient {
        CURL *curl;
        char *socket_path; /* NULL when talking TCP */
        char *base_url;    /* "http://localhost" over the socket */
        char *endpoint;    /* the socket path or the URL, for messages */
        char *auth_header; /* "Authorization: Bearer …" or NULL */
        char *ca_file;     /* CURLOPT_CAINFO, or NULL */
        int timeout_s;
        char errbuf[CURL_ERROR_SIZE];
};

HD_DEFINE_CLEANUP(HcClient *, hc_client_free)
HD_DEFINE_CLEANUP(struct curl_slist *, curl_slist_free_all)

/* ---- Buffers ------------------------------------------------------------------------- */

static int hc_buf_reserve(HcBuf *b, size_t extra)
{
        if (extra > SIZE_MAX / 2 - b->len)
                return -ENOMEM;
        size_t need = b->len + extra + 1;
        if (need <= b->cap)
                return 0;
        size_t cap = b->cap ? b->cap : 256;
        while (cap < need)
                cap *= 2;
        char *p = realloc(b->data, cap);
        if (!p)
                return -ENOMEM;
        b->data = p;
        b->cap = cap;
        return 0;
}

int hc_buf_append(HcBuf *b, const void *data, size_t len)
{
        int r = hc_buf_reserve(b, len);
        if (r < 0)
                return r;
        if (len > 0)
                memcpy(b->data + b->len, data, len);
        b->len += len;
        b->data[b->len] = '\0';
        return 0;
}

int hc_buf_printf(HcBuf *b, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(NULL, 0, fmt, ap);
        va_end(ap);
        if (n < 0)
                return -EINVAL;
        int r = hc_buf_reserve(b, (size_t)n);
        if (r < 0)
                return r;
        va_start(ap, fmt);
        vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
        va_end(ap);
        b->len += (size_t)n;
        return 0;
}

/* RFC 3986 unreserved characters pass; everything else is %XX (as curl_easy_escape). */
static int hc_buf_append_escaped(HcBuf *b, const char *s)
{
        static const char hex[] = "0123456789ABCDEF";
        for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
                int r;
                if (isalnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~') {
                        r = hc_buf_append(b, p, 1);
                } else {
                        char e[3] = { '%', hex[*p >> 4], hex[*p & 0xf] };
                        r = hc_buf_append(b, e, sizeof(e));
                }
                if (r < 0)
                        return r;
        }
        return 0;
}

int hc_buf_add_query(HcBuf *b, const char *key, const char *value)
{
        bool first = !b->data || !strchr(b->data, '?');
        int r = hc_buf_printf(b, "%c%s=", first ? '?' : '&', key);
        if (r < 0)
                return r;
        return hc_buf_append_escaped(b, value);
}

int hc_buf_add_segment(HcBuf *b, const char *segment)
{
        int r = hc_buf_append(b, "/", 1);
        if (r < 0)
                return r;
        return hc_buf_append_escaped(b, segment);
}

void hc_buf_clear(HcBuf *b)
{
        free(b->data);
        *b = (HcBuf){ 0 };
}

char *hc_buf_steal(HcBuf *b)
{
        char *s = b->data;
        *b = (HcBuf){ 0 };
        return s;
}

char *hc_escape(const char *s)
{
        HcBuf b = { 0 };
        if (!s || hc_buf_append(&b, "", 0) < 0 || hc_buf_append_escaped(&b, s) < 0) {
                hc_buf_clear(&b);
                return NULL;
        }
        return hc_buf_steal(&b);
}

bool hc_string_is_clean(const char *s, bool allow_space)
{
        for (const unsigned char *p = (const unsigned char *)s; *p; p++)
                if (*p < 0x20 || *p == 0x7f || (*p == ' ' && !allow_space))
                        return false;
        return true;
}

/* ---- Errors -------------------------------------------------------------------------- */

void hc_error_clear(HcError *err)
{
        if (err)
                *err = (HcError){ 0 };
}

int hc_error_setf(HcError *err, int code, const char *kind, const char *fmt, ...)
{
        if (!err)
                return code;
        snprintf(err->code, sizeof(err->code), "%s", kind);
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof(err->message), fmt, ap);
        va_end(ap);
        err->field[0] = '\0';
        return code;
}

int hc_errno_from_status(long status)
{
        switch (status) {
        case 400:
                return -EINVAL;
        case 401:
        case 403:
                return -EACCES;
        case 404:
                return -ENOENT;
        case 405:
        case 501:
                return -EOPNOTSUPP;
        case 409:
                return -EBUSY;
        case 412:
                return -ESTALE;
        case 413:
                return -E2BIG;
        case 415:
                return -EPROTO;
        case 429:
                return -EAGAIN;
        case 503:
                return -EHOSTDOWN;
        case 507:
                return -ENOSPC;
        default:
                return -EIO;
        }
}

/* The API's code for a status, for error responses that carry no JSON body. */

static void hc_copy_string_member(const json_t *obj, const char *key, char *dst, size_t size)
{
        const char *s = json_string_value(json_object_get(obj, key));
        if (s)
                snprintf(dst, size, "%s", s);
}

int hc_error_from_response(long status, const char *body, size_t len, HcError *err)
{
        int code = hc_errno_from_status(status);
        if (!err)
                return code;
        *err = (HcError){ .http_status = (int)status };

        _cleanup_json_ json_t *j = len > 0 ? json_loadb(body, len, 0, NULL) : NULL;
        json_t *e = json_object_get(j, "error");
        if (json_is_object(e)) {
                hc_copy_string_member(e, "code", err->code, sizeof(err->code));
                hc_copy_string_member(e, "message", err->message, sizeof(err->message));
                hc_copy_string_member(e, "field", err->field, sizeof(err->field));
        }
        if (!err->code[0])
                snprintf(err->code, sizeof(err->code), "%s",
                         hd_error_code_for_status((unsigned)status));
        if (!err->message[0]) {
                /* Not the API's error shape (a proxy, a crash): show the start of it. */
                int n = 0;
                while ((size_t)n < len && n < 200 && body[n] != '\n' && body[n] != '\r')
                        n++;
                if (!j && n > 0)
                        snprintf(err->message, sizeof(err->message),
                                 "server answered HTTP %ld: %.*s", status, n, body);
                else
                        snprintf(err->message, sizeof(err->message), "server answered HTTP %ld",
                                 status);
        }
        return code;
}

static int hc_error_from_curl(HcClient *c, CURLcode res, HcError *err)
{
        long os_errno = 0;
        char buf[256];
        const char *detail = c->errbuf[0] ? c->errbuf : curl_easy_strerror(res);
        int code;

        curl_easy_getinfo(c->curl, CURLINFO_OS_ERRNO, &os_errno);
        switch (res) {
        case CURLE_COULDNT_CONNECT:
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_RESOLVE_PROXY:
                /* curl's own text names "localhost port 80" for a Unix socket; the
                 * errno ("No such file or directory", "Permission denied") says more. */
                if (os_errno > 0)
                        detail = strerror_r((int)os_errno, buf, sizeof(buf));
                code = os_errno > 0 ? -(int)os_errno : -ECONNREFUSED;
                hc_error_setf(err, code, "connect_failed", "cannot connect to %s: %s", c->endpoint,
                              detail);
                break;
        case CURLE_OPERATION_TIMEDOUT:
                code = hc_error_setf(err, -ETIMEDOUT, "timeout", "request to %s timed out: %s",
                                     c->endpoint, detail);
                break;
        case CURLE_OUT_OF_MEMORY:
                code = hc_error_setf(err, -ENOMEM, "transport", "out of memory");
                break;
        default:
                code = hc_error_setf(err, -EIO, "transport", "request to %s failed: %s",
                                     c->endpoint, detail);
                break;
        }
        if (err)
                err->curl_code = (int)res;
        return code;
}

/* ---- Client -------------------------------------------------------------------------- */

static CURLcode hc_global_init_result = CURLE_OK;

static void hc_global_init(void)
{
        hc_global_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static int hc_env(const char *name, const char **field)
{
        const char *v = getenv(name);
        if (!v || !*v)
                return 0;
        *field = v;
        return 1;
}

int hc_options_from_env(HcOptions *opts)
{
        if (!opts)
                return -EINVAL;
        return hc_env("HOSTD_SOCKET", &opts->socket_path) + hc_env("HOSTD_URL", &opts->url) +
               hc_env("HOSTD_TOKEN", &opts->token) + hc_env("HOSTD_CACERT", &opts->ca_file);
}

HcClient *hc_client_new(const HcOptions *opts, HcError *err)
{
        static pthread_once_t once = PTHREAD_ONCE_INIT;
        const HcOptions none = { 0 };
        _cleanup_(hc_client_freep) HcClient *c = NULL;

        hc_error_clear(err);
        if (!opts)
                opts = &none;
        pthread_once(&once, hc_global_init);
        if (hc_global_init_result != CURLE_OK) {
                hc_error_setf(err, -EIO, "transport", "cannot initialize libcurl: %s",
                              curl_easy_strerror(hc_global_init_result));
                return NULL;
        }

        c = calloc(1, sizeof(*c));
        if (!c)
                goto oom;
        c->timeout_s = opts->timeout_s;

        if (opts->url && *opts->url) {
                if ((strncasecmp(opts->url, "http://", 7) != 0 &&
                     strncasecmp(opts->url, "https://", 8) != 0) ||
                    !hc_string_is_clean(opts->url, false)) {
                        hc_error_setf(err, -EINVAL, "invalid_argument",
                                      "invalid URL `%s`: expected http://HOST:PORT or https://…",
                                      opts->url);
                        return NULL;
                }
                c->base_url = strdup(opts->url);
                if (!c->base_url)
                        goto oom;
                size_t len = strlen(c->base_url);
                while (len > 0 && c->base_url[len - 1] == '/')
                        c->base_url[--len] = '\0';
                c->endpoint = strdup(c->base_url);
        } else {
                const char *path = opts->socket_path && *opts->socket_path ? opts->socket_path
                                                                           : HC_DEFAULT_SOCKET;
                if (strlen(path) >= sizeof(((struct sockaddr_un *)NULL)->sun_path)) {
                        hc_error_setf(err, -ENAMETOOLONG, "invalid_argument",
                                      "socket path `%s` is too long", path);
                        return NULL;
                }
                c->socket_path = strdup(path);
                c->base_url = strdup("http://localhost");
                c->endpoint = strdup(path);
                if (!c->socket_path)
                        goto oom;
        }
        if (!c->base_url || !c->endpoint)
                goto oom;

        if (opts->token && *opts->token) {
                if (!hc_string_is_clean(opts->token, false)) {
                        hc_error_setf(err, -EINVAL, "invalid_argument",
                                      "token contains spaces or control characters");
                        return NULL;
                }
                if (asprintf(&c->auth_header, "Authorization: Bearer %s", opts->token) < 0) {
                        c->auth_header = NULL;
                        goto oom;
                }
        }

        if (opts->ca_file && *opts->ca_file && !(c->ca_file = strdup(opts->ca_file)))
                goto oom;

        c->curl = curl_easy_init();
        if (!c->curl) {
                hc_error_setf(err, -ENOMEM, "transport", "cannot create a curl handle");
                return NULL;
        }
        return TAKE_PTR(c);

oom:
        hc_error_setf(err, -ENOMEM, "transport", "out of memory");
        return NULL;
}

void hc_client_free(HcClient *c)
{
        if (!c)
                return;
        if (c->curl)
                curl_easy_cleanup(c->curl);
        free(c->socket_path);
        free(c->base_url);
        free(c->endpoint);
        if (c->auth_header) {
                explicit_bzero(c->auth_header, strlen(c->auth_header));
                free(c->auth_header);
        }
        free(c->ca_file);
        free(c);
}

const char *hc_client_endpoint(const HcClient *c)
{
        return c ? c->endpoint : NULL;
}

CURL *hc_client_curl(HcClient *c)
{
        return c->curl;
}

/* ---- Requests ------------------------------------------------------------------------ */

void hc_call_clear(HcCall *call)
{
        free(call->etag);
        call->etag = NULL;
        hc_buf_clear(&call->body_out);
}

static size_t hc_write_buffer(char *ptr, size_t size, size_t nmemb, void *userdata)
{
        HcCall *call = userdata;
        size_t n = size * nmemb;
        if (call->body_out.len + n > HC_MAX_RESPONSE_BYTES) {
                call->too_large = true;
                return 0;
        }
        if (hc_buf_append(&call->body_out, ptr, n) < 0)
                return 0;
        return n;
}

/* Keeps the ETag of the last response (a "HTTP/…" status line starts a new one). */
static size_t hc_write_header(char *ptr, size_t size, size_t nmemb, void *userdata)
{
        HcCall *call = userdata;
        size_t n = size * nmemb;

        if (n >= 5 && strncmp(ptr, "HTTP/", 5) == 0) {
                free(call->etag);
                call->etag = NULL;
        } else if (n > 5 && strncasecmp(ptr, "etag:", 5) == 0) {
                const char *v = ptr + 5;
                size_t len = n - 5;
                while (len > 0 && (*v == ' ' || *v == '\t'))
                        v++, len--;
                while (len > 0 && isspace((unsigned char)v[len - 1]))
                        len--;
                free(call->etag);
                call->etag = strndup(v, len);
        }
        return n;
}

static bool hc_method_is_valid(const char *m)
{
        if (!m || !*m)
                return false;
        for (; *m; m++)
                if (*m < 'A' || *m > 'Z')
                        return false;
        return true;
}

static int hc_add_header_line(struct curl_slist **list, const char *line)
{
        struct curl_slist *l = curl_slist_append(*list, line);
        if (!l)
                return -ENOMEM;
        *list = l;
        return 0;
}

/* "Name: value"; an empty value ("Name:") makes curl drop a header it would add. */
static int hc_add_header(struct curl_slist **list, const char *name, const char *value)
{
        _cleanup_free_ char *h = NULL;
        if (asprintf(&h, "%s:%s%s", name, *value ? " " : "", value) < 0) {
                h = NULL;
                return -ENOMEM;
        }
        return hc_add_header_line(list, h);
}

static long hc_call_timeout_s(const HcClient *c, const HcCall *call)
{
        if (call->stream || call->stall_s > 0 || c->timeout_s < 0)
                return 0;
        long t = c->timeout_s > 0 ? c->timeout_s : HC_DEFAULT_TIMEOUT_S;
        return t + (call->wait_s > 0 ? call->wait_s : 0);
}

int hc_perform(HcClient *c, HcCall *call, HcError *err)
{
        _cleanup_(curl_slist_free_allp) struct curl_slist *headers = NULL;
        _cleanup_free_ char *url = NULL;
        _cleanup_free_ char *body = NULL;
        CURL *curl = c->curl;
        int r = 0;

        hc_error_clear(err);
        call->status = 0;
        call->too_large = false;
        hc_call_clear(call);

        if (!hc_method_is_valid(call->method))
                return hc_error_setf(err, -EINVAL, "invalid_argument", "invalid method `%s`",
                                     call->method ? call->method : "");
        if (!call->path || call->path[0] != '/' || !hc_string_is_clean(call->path, false))
                return hc_error_setf(err, -EINVAL, "invalid_argument", "invalid request path `%s`",
                                     call->path ? call->path : "");
        if (call->if_match && !hc_string_is_clean(call->if_match, true))
                return hc_error_setf(err, -EINVAL, "invalid_argument",
                                     "If-Match value contains control characters");
        if (asprintf(&url, "%s%s", c->base_url, call->path) < 0) {
                url = NULL;
                return hc_error_setf(err, -ENOMEM, "transport", "out of memory");
        }
        if (call->body) {
                body = json_dumps(call->body, JSON_COMPACT);
                if (!body)
                        return hc_error_setf(err, -EINVAL, "invalid_argument",
                                             "request body cannot be encoded as JSON");
        }

        r = hc_add_header(&headers, "Accept", call->accept ? call->accept : "application/json");
        if (r >= 0 && body)
                r = hc_add_header(&headers, "Content-Type",
                                  call->content_type ? call->content_type : "application/json");
        else if (r >= 0 && call->read_cb)
                r = hc_add_header(&headers, "Content-Type",
                                  call->content_type ? call->content_type
                                                     : "application/octet-stream");
        else if (r >= 0 && strcmp(call->method, "POST") == 0)
                r = hc_add_header(&headers, "Content-Type", ""); /* not curl's form default */
        if (r >= 0 && (body || call->read_cb))
                r = hc_add_header(&headers, "Expect", ""); /* no 100-continue round trip */
        if (r >= 0 && call->read_cb && call->read_size < 0)
                r = hc_add_header(&headers, "Transfer-Encoding", "chunked");
        if (r >= 0 && call->if_match)
                r = hc_add_header(&headers, "If-Match", call->if_match);
        if (r >= 0 && c->auth_header)
                r = hc_add_header_line(&headers, c->auth_header);
        if (r < 0)
                return hc_error_setf(err, r, "transport", "out of memory");

        /* reset keeps the connection cache: the next request reuses the connection. */
        curl_easy_reset(curl);
        c->errbuf[0] = '\0';
        curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, c->errbuf);
        curl_easy_setopt(curl, CURLOPT_URL, url);
        if (c->socket_path)
                curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, c->socket_path);
        if (c->ca_file)
                curl_easy_setopt(curl, CURLOPT_CAINFO, c->ca_file);
#if LIBCURL_VERSION_NUM >= 0x075500
        curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
        curl_easy_setopt(curl, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
        curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, (long)HC_CONNECT_TIMEOUT_S);
        curl_easy_setopt(curl, CURLOPT_TIMEOUT, hc_call_timeout_s(c, call));
        curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
        curl_easy_setopt(curl, CURLOPT_USERAGENT, HC_USER_AGENT);
        curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, hc_write_header);
        curl_easy_setopt(curl, CURLOPT_HEADERDATA, call);
        if (call->write_cb) {
                curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, call->write_cb);
                curl_easy_setopt(curl, CURLOPT_WRITEDATA, call->write_data);
        } else {
                curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, hc_write_buffer);
                curl_easy_setopt(curl, CURLOPT_WRITEDATA, call);
        }

        if (call->stall_s > 0 && c->timeout_s >= 0) {
                curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
                curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, (long)call->stall_s);
        }
        if (call->xferinfo_cb) {
                curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, call->xferinfo_cb);
                curl_easy_setopt(curl, CURLOPT_XFERINFODATA, call->xferinfo_data);
                curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
        }

        if (call->read_cb) {
                /* POST with a read callback: Content-Length when the size is known,
                 * chunked otherwise; never the whole body in memory. */
                curl_easy_setopt(curl, CURLOPT_POST, 1L);
                curl_easy_setopt(curl, CURLOPT_READFUNCTION, call->read_cb);
                curl_easy_setopt(curl, CURLOPT_READDATA, call->read_data);
                if (call->seek_cb) {
                        curl_easy_setopt(curl, CURLOPT_SEEKFUNCTION, call->seek_cb);
                        curl_easy_setopt(curl, CURLOPT_SEEKDATA, call->read_data);
                }
                curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                                 (curl_off_t)(call->read_size >= 0 ? call->read_size : -1));
                if (strcmp(call->method, "POST") != 0)
                        curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, call->method);
        } else if (strcmp(call->method, "GET") == 0 && !body) {
                curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
        } else if (strcmp(call->method, "HEAD") == 0 && !body) {
                curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
        } else if (strcmp(call->method, "POST") == 0 || body) {
                curl_easy_setopt(curl, CURLOPT_POST, 1L);
                curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body ? body : "");
                curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)(body ? strlen(body) : 0));
                if (strcmp(call->method, "POST") != 0)
                        curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, call->method);
        } else {
                curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, call->method);
        }

        CURLcode res = curl_easy_perform(curl);
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &call->status);
        /* The handle must not keep pointers into this frame past the call. */
        curl_easy_setopt(curl, CURLOPT_HTTPHEADER, NULL);
        if (call->read_cb) {
                curl_easy_setopt(curl, CURLOPT_READDATA, NULL);
                curl_easy_setopt(curl, CURLOPT_SEEKDATA, NULL);
        }
        if (call->xferinfo_cb) {
                curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 1L);
                curl_easy_setopt(curl, CURLOPT_XFERINFODATA, NULL);
        }
        curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, NULL);

        if (res != CURLE_OK) {
                if (call->too_large)
                        return hc_error_setf(err, -EFBIG, "protocol",
                                             "response from %s is larger than %u bytes",
                                             c->endpoint, HC_MAX_RESPONSE_BYTES);
                if (call->write_cb && res == CURLE_WRITE_ERROR)
                        return -ECANCELED;
                /* An upload the server refused before reading all of it (413, 409): its
                 * answer says more than the broken pipe. */
                if (call->read_cb && call->status >= 400)
                        return hc_error_from_response(call->status, call->body_out.data,
                                                      call->body_out.len, err);
                if ((call->read_cb || call->xferinfo_cb) && res == CURLE_ABORTED_BY_CALLBACK)
                        return -ECANCELED;
                return hc_error_from_curl(c, res, err);
        }
        if (call->status < 200 || call->status >= 300)
                return hc_error_from_response(call->status, call->body_out.data, call->body_out.len,
                                              err);
        return (int)call->status;
}

int hc_call_decode(HcCall *call, bool allow_empty, bool want_object, json_t **ret, HcError *err)
{
        json_error_t e;
        json_t *j;

        if (!ret)
                return 0;
        *ret = NULL;
        if (call->body_out.len == 0) {
                if (allow_empty)
                        return 0;
                return hc_error_setf(err, -EBADMSG, "protocol", "empty response body (HTTP %ld)",
                                     call->status);
        }
        j = json_loadb(call->body_out.data, call->body_out.len, 0, &e);
        if (!j)
                return hc_error_setf(err, -EBADMSG, "protocol",
                                     "invalid JSON in response (HTTP %ld): %s", call->status,
                                     e.text);
        if (want_object && !json_is_object(j)) {
                json_decref(j);
                return hc_error_setf(err, -EBADMSG, "protocol",
                                     "response is not a JSON object (HTTP %ld)", call->status);
        }
        *ret = j;
        return 0;
}

int hc_request(HcClient *c, const char *method, const char *path_and_query, json_t *body,
               long *ret_status, json_t **ret, HcError *err)
{
        _cleanup_(hc_call_clear) HcCall call = {
                .method = method,
                .path = path_and_query,
                .body = body,
        };
        int r;

        if (ret)
                *ret = NULL;
        if (ret_status)
                *ret_status = 0;
        if (!c)
                return hc_error_setf(err, -EINVAL, "invalid_argument", "no client");
        r = hc_perform(c, &call, err);
        if (ret_status)
                *ret_status = call.status;
        if (r < 0)
                return r;
        r = hc_call_decode(&call, true, false, ret, err);
        if (r < 0)
                return r;
        return (int)call.status;
}
