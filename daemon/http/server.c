/* libmicrohttpd glue: request lifecycle, limits, auth, and turning HdResponse
 * into an MHD response. Handlers never see MHD objects beyond HdRequest. */
#include <arpa/inet.h>
#include <grp.h>
#include <netdb.h>
#include <stdarg.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>

#include "hd-codec.h"
#include "hd-log.h"
#include "http-internal.h"

/* ---- errors and responses ------------------------------------------------------------------- */

unsigned hd_http_status_for_errno(int code)
{
        switch (code) {
        case -EINVAL:
        case -EDOM:
        case -ERANGE:
        case -EBADMSG:
                return 400;
        case -EACCES:
                return 401;
        case -EPERM:
                return 403;
        case -ENOENT:
                return 404;
        case -EEXIST:
        case -EBUSY:
                return 409;
        case -ESTALE:
                return 412;
        case -EMSGSIZE:
        case -E2BIG:
        case -EFBIG:
                return 413;
        case -EAGAIN:
                return 429;
        case -EOPNOTSUPP:
                return 501;
        case -ECONNREFUSED:
        case -EHOSTUNREACH:
        case -ETIMEDOUT:
                return 502; /* an upstream (a registry) failed */
        case -ENODEV:
                return 503;
        case -ENOSPC:
                return 507;
        default:
                return 500;
        }
}

void hd_resp_json(HdResponse *resp, unsigned status, json_t *body)
{
        json_decref(resp->json);
        free(resp->text);
        resp->text = NULL;
        resp->status = status;
        resp->json = body;
}

void hd_resp_text(HdResponse *resp, unsigned status, char *text, size_t len)
{
        json_decref(resp->json);
        resp->json = NULL;
        free(resp->text);
        resp->status = status;
        resp->text = text;
        resp->text_len = len;
}

void hd_resp_error_status(HdResponse *resp, unsigned status, const char *field, const char *fmt,
                          ...)
{
        _cleanup_free_ char *msg = NULL;
        va_list ap;
        va_start(ap, fmt);
        if (vasprintf(&msg, fmt, ap) < 0)
                msg = NULL;
        va_end(ap);
        hd_resp_json(resp, status,
                     hd_codec_error_to_json(hd_error_code_for_status(status), msg ? msg : "error",
                                            field));
}

void hd_resp_error(HdResponse *resp, const HdError *err)
{
        int code = err ? err->code : -EIO;
        unsigned status = hd_http_status_for_errno(code);
        const char *msg = err && err->message ? err->message : "internal error";
        if (status >= 500 && status != 501 && status != 503 && status != 507)
                hd_log_error("request failed: %s", msg);
        hd_resp_json(resp, status,
                     hd_codec_error_to_json(hd_error_code_for_status(status), msg,
                                            err ? err->field : NULL));
}

/* ---- request helpers ------------------------------------------------------------------------ */

const char *hd_req_query(HdRequest *req, const char *key)
{
        return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, key);
}

int hd_req_query_int(HdRequest *req, HdResponse *resp, const char *key, int64_t min, int64_t max,
                     int64_t def, int64_t *ret)
{
        const char *v = hd_req_query(req, key);
        if (!v) {
                *ret = def;
                return 0;
        }
        int64_t n;
        if (hd_parse_int64(v, &n) < 0 || n < min || n > max) {
                hd_resp_error_status(resp, 400, key,
                                     "`%s` must be an integer between %lld and %lld", key,
                                     (long long)min, (long long)max);
                return -EINVAL;
        }
        *ret = n;
        return 0;
}

int hd_req_query_bool(HdRequest *req, HdResponse *resp, const char *key, bool *ret)
{
        const char *v = hd_req_query(req, key);
        *ret = false;
        if (!v)
                return 0;
        if (strcmp(v, "true") == 0 || strcmp(v, "1") == 0 || v[0] == '\0') {
                *ret = true;
                return 0;
        }
        if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0)
                return 0;
        hd_resp_error_status(resp, 400, key, "`%s` must be true or false", key);
        return -EINVAL;
}

int hd_req_body_json(HdRequest *req, HdResponse *resp, bool required, json_t **ret)
{
        *ret = NULL;
        if (!req->has_body || req->body_len == 0) {
                if (!required)
                        return 0;
                hd_resp_error_status(resp, 400, NULL, "a JSON object body is required");
                return -EINVAL;
        }
        _cleanup_error_ HdError *err = NULL;
        int r = hd_codec_parse_object(req->body, req->body_len, ret, &err);
        if (r < 0) {
                hd_resp_error(resp, err);
                return r;
        }
        return 0;
}

void hd_req_extend_timeout(HdRequest *req, unsigned seconds)
{
        MHD_set_connection_option(req->conn, MHD_CONNECTION_OPTION_TIMEOUT, seconds);
}

/* ---- the access handler --------------------------------------------------------------------- */

static int64_t now_ns(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void request_free(HdRequest *req)
{
        if (!req)
                return;
        free(req->body);
        for (int i = 0; i < HD_ROUTE_MAX_PARAMS; i++)
                free(req->params[i]);
        free(req);
}

static void response_clear(HdResponse *resp)
{
        if (resp->has_fd)
                close(resp->fd);
        json_decref(resp->json);
        free(resp->text);
        free(resp->etag);
        free(resp->location);
        free(resp->allow);
        if (resp->stream_free && resp->stream_cls)
                resp->stream_free(resp->stream_cls);
}

static enum MHD_Result queue(HdRequest *req, HdResponse *resp)
{
        struct MHD_Response *r;
        const char *ctype = resp->content_type ? resp->content_type : "application/json";

        if (resp->has_fd) {
                r = MHD_create_response_from_fd64(resp->fd_size, resp->fd);
                if (!r)
                        close(resp->fd);
                resp->has_fd = false; /* MHD owns it now */
        } else if (resp->stream_cb) {
                r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, resp->stream_cb,
                                                      resp->stream_cls, resp->stream_free);
                resp->stream_cls = NULL; /* MHD owns it now */
        } else {
                char *text;
                size_t len;
                if (resp->json) {
                        text = json_dumps(resp->json, JSON_COMPACT);
                        if (!text)
                                return MHD_NO;
                        len = strlen(text);
                        /* A trailing newline keeps curl output readable. */
                        char *nl = realloc(text, len + 2);
                        if (!nl) {
                                free(text);
                                return MHD_NO;
                        }
                        text = nl;
                        text[len++] = '\n';
                        text[len] = '\0';
                } else {
                        text = TAKE_PTR(resp->text);
                        len = resp->text_len;
                        if (!text)
                                text = strdup("");
                }
                r = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
                if (!r) {
                        free(text);
                        return MHD_NO;
                }
        }
        if (!r)
                return MHD_NO;
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
        if (resp->etag)
                MHD_add_response_header(r, MHD_HTTP_HEADER_ETAG, resp->etag);
        if (resp->location)
                MHD_add_response_header(r, MHD_HTTP_HEADER_LOCATION, resp->location);
        if (resp->allow)
                MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, resp->allow);
        req->status = resp->status;
        enum MHD_Result ret = MHD_queue_response(req->conn, resp->status, r);
        MHD_destroy_response(r);
        return ret;
}

static bool content_type_is_json(const char *ct, bool patch)
{
        if (!ct)
                return false;
        size_t n = strcspn(ct, "; ");
        if (n == strlen("application/json") && strncasecmp(ct, "application/json", n) == 0)
                return true;
        return patch && n == strlen("application/merge-patch+json") &&
               strncasecmp(ct, "application/merge-patch+json", n) == 0;
}

static bool authorized(HdRequest *req)
{
        if (!req->tcp)
                return true; /* the socket's file mode is the gate */
        const char *h = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND,
                                                    MHD_HTTP_HEADER_AUTHORIZATION);
        if (!h || strncasecmp(h, "Bearer ", 7) != 0)
                return false;
        return hd_secret_equal(h + 7, req->http->token);
}

/* Checks made on the first call, before any body is read: auth, size, type and
 * route. Returns false with resp filled when the request is refused. */
static bool content_type_in(const char *ct, const char *const *allowed)
{
        if (!ct)
                return false;
        size_t n = strcspn(ct, "; ");
        for (const char *const *a = allowed; *a; a++)
                if (strlen(*a) == n && strncasecmp(ct, *a, n) == 0)
                        return true;
        return false;
}

/* Checks made on the first call, before any body is read: auth, route, size and
 * type. Returns false with resp filled when the request is refused. */
static bool precheck(HdRequest *req, HdResponse *resp)
{
        if (!authorized(req)) {
                hd_resp_error_status(resp, 401, NULL,
                                     "missing or wrong bearer token (Authorization: Bearer ...)");
                return false;
        }

        char *allow = NULL;
        HdRouteMatch m = hd_router_match(req->method, req->path, &req->route, req->params, &allow);
        if (m == HD_ROUTE_NOT_FOUND) {
                hd_resp_error_status(resp, 404, NULL, "no such route: %s", req->path);
                return false;
        }
        if (m == HD_ROUTE_METHOD_NOT_ALLOWED) {
                resp->allow = allow;
                hd_resp_error_status(resp, 405, NULL, "%s is not allowed on %s (allowed: %s)",
                                     req->method, req->path, allow ? allow : "");
                return false;
        }
        const HdStreamHooks *stream = req->route->stream;

        const char *cl = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND,
                                                     MHD_HTTP_HEADER_CONTENT_LENGTH);
        const char *te = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND,
                                                     MHD_HTTP_HEADER_TRANSFER_ENCODING);
        int64_t len = 0;
        if (cl && (hd_parse_int64(cl, &len) < 0 || len < 0))
                len = 0;
        req->has_body = len > 0 || (te != NULL);
        /* Streamed uploads have their own limit, enforced as bytes arrive. */
        if (!stream && len > HD_MAX_BODY_BYTES) {
                hd_resp_error_status(resp, 413, NULL,
                                     "request body of %lld bytes is over the %d-byte limit",
                                     (long long)len, HD_MAX_BODY_BYTES);
                return false;
        }

        if (req->has_body) {
                const char *ct = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND,
                                                             MHD_HTTP_HEADER_CONTENT_TYPE);
                bool ok = stream ? content_type_in(ct, stream->content_types)
                                 : content_type_is_json(ct, strcmp(req->method, "PATCH") == 0);
                if (!ok) {
                        hd_resp_error_status(resp, 415, NULL,
                                             stream ? "uploads must be application/octet-stream "
                                                      "(or x-tar, gzip, zstd), not `%s`"
                                                    : "request bodies must be application/json, "
                                                      "not `%s`",
                                             ct ? ct : "(none)");
                        return false;
                }
        }
        if (stream && stream->begin(req, resp) < 0)
                return false;
        return true;
}

static enum MHD_Result access_cb(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version, const char *upload_data,
                                 size_t *upload_data_size, void **con_cls)
{
        HdHttp *h = cls;
        HdRequest *req = *con_cls;

        if (!req) {
                req = calloc(1, sizeof(*req));
                if (!req)
                        return MHD_NO;
                req->http = h;
                req->conn = conn;
                req->method = method;
                req->path = url;
                req->start_ns = now_ns();
                const union MHD_ConnectionInfo *ci =
                        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_DAEMON);
                req->tcp = ci && ci->daemon == h->tcp_daemon && h->tcp_daemon;
                *con_cls = req;
                atomic_fetch_add(&h->inflight, 1);

                HdResponse resp = { 0 };
                if (!precheck(req, &resp)) {
                        /* Refused before reading the body: answer now, and MHD
                         * closes the connection instead of reading the rest. */
                        enum MHD_Result r = queue(req, &resp);
                        response_clear(&resp);
                        return r;
                }
                response_clear(&resp);
                req->first_call_done = true;
                return MHD_YES;
        }

        if (*upload_data_size > 0) {
                size_t n = *upload_data_size;
                *upload_data_size = 0;
                if (req->body_too_large || req->status)
                        return MHD_YES;
                if (req->route->stream) {
                        /* After a failure the rest is read and dropped, so the
                         * error can still be answered on this connection. */
                        if (!req->stream_failed &&
                            req->route->stream->chunk(req, upload_data, n) < 0)
                                req->stream_failed = true;
                        return MHD_YES;
                }
                if (req->body_len + n > HD_MAX_BODY_BYTES) {
                        req->body_too_large = true;
                        free(req->body);
                        req->body = NULL;
                        req->body_len = req->body_cap = 0;
                        return MHD_YES;
                }
                if (req->body_len + n + 1 > req->body_cap) {
                        size_t cap = req->body_cap ? req->body_cap : 1024;
                        while (cap < req->body_len + n + 1)
                                cap *= 2;
                        char *nb = realloc(req->body, cap);
                        if (!nb)
                                return MHD_NO;
                        req->body = nb;
                        req->body_cap = cap;
                }
                memcpy(req->body + req->body_len, upload_data, n);
                req->body_len += n;
                req->body[req->body_len] = '\0';
                return MHD_YES;
        }

        if (req->status)
                return MHD_YES; /* already answered */

        HdResponse resp = { .status = 500 };
        if (req->body_too_large)
                hd_resp_error_status(&resp, 413, NULL, "request body is over the %d-byte limit",
                                     HD_MAX_BODY_BYTES);
        else if (!req->route->stream && req->has_body && req->body_len == 0 && req->body == NULL)
                req->has_body = false;
        if (!req->body_too_large)
                req->route->fn(req, &resp);
        enum MHD_Result r = queue(req, &resp);
        response_clear(&resp);
        return r;
}

static void completed_cb(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
        HdHttp *h = cls;
        HdRequest *req = *con_cls;
        if (!req)
                return;
        hd_metrics_observe(h->metrics, req->method, req->status ? req->status : 499,
                           now_ns() - req->start_ns);
        if (req->stream_state && req->route && req->route->stream)
                req->route->stream->abort(req); /* the client went away mid-upload */
        request_free(req);
        *con_cls = NULL;
        atomic_fetch_sub(&h->inflight, 1);
}

static void mhd_logger(void *cls, const char *fmt, va_list ap)
{
        char line[512];
        vsnprintf(line, sizeof(line), fmt, ap);
        line[strcspn(line, "\n")] = '\0';
        hd_log_debug("libmicrohttpd: %s", line);
}

/* ---- listeners ------------------------------------------------------------------------------ */

static int unix_listen(const char *path, const char *group, HdError **err)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        if (strlen(path) >= sizeof(sa.sun_path))
                return hd_error_set(err, -ENAMETOOLONG, "socket path `%s` is too long", path);
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);

        _cleanup_free_ char *dir = strdup(path);
        if (!dir)
                return hd_error_set(err, -ENOMEM, "out of memory");
        char *slash = strrchr(dir, '/');
        if (slash && slash != dir) {
                *slash = '\0';
                int r = hd_mkdir_p(dir, 0755);
                if (r < 0)
                        return hd_error_set(err, r, "cannot create `%s`: %s", dir, strerror(-r));
        }

        _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return hd_error_set(err, -errno, "socket: %s", strerror(errno));
        /* The state-dir lock is held, so a socket file left here is stale. */
        (void)unlink(path);
        mode_t old = umask(0117);
        int r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
        umask(old);
        if (r < 0)
                return hd_error_set(err, -errno, "cannot bind `%s`: %s", path, strerror(errno));
        if (chmod(path, 0660) < 0)
                return hd_error_set(err, -errno, "chmod `%s`: %s", path, strerror(errno));
        struct group *g = group ? getgrnam(group) : NULL;
        if (g && chown(path, 0, g->gr_gid) < 0)
                hd_log_warn("cannot give `%s` to group %s: %s", path, group, strerror(errno));
        if (listen(fd, 128) < 0)
                return hd_error_set(err, -errno, "listen `%s`: %s", path, strerror(errno));
        return TAKE_FD(fd);
}

/* Splits "HOST:PORT" ("[::1]:8080" for IPv6) and binds it. */
static int tcp_listen(const char *listen_addr, bool tls, HdError **err)
{
        _cleanup_free_ char *copy = strdup(listen_addr);
        if (!copy)
                return hd_error_set(err, -ENOMEM, "out of memory");
        char *host = copy, *port = strrchr(copy, ':');
        if (!port || port == copy)
                return hd_error_set_field(err, -EINVAL, "listen", "`%s` is not HOST:PORT",
                                          listen_addr);
        *port++ = '\0';
        if (host[0] == '[') {
                host++;
                char *end = strchr(host, ']');
                if (!end)
                        return hd_error_set_field(err, -EINVAL, "listen", "`%s` is not [HOST]:PORT",
                                                  listen_addr);
                *end = '\0';
        }

        struct addrinfo hints = { .ai_family = AF_UNSPEC,
                                  .ai_socktype = SOCK_STREAM,
                                  .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE };
        struct addrinfo *ai = NULL;
        int gr = getaddrinfo(host, port, &hints, &ai);
        if (gr != 0)
                return hd_error_set_field(err, -EINVAL, "listen",
                                          "`%s`: %s (use a numeric address and port)", listen_addr,
                                          gai_strerror(gr));

        /* Plain TCP carries the bearer token in clear: only loopback, until TLS. */
        bool loopback =
                (ai->ai_family == AF_INET &&
                 (ntohl(((struct sockaddr_in *)ai->ai_addr)->sin_addr.s_addr) >> 24) == 127) ||
                (ai->ai_family == AF_INET6 &&
                 IN6_IS_ADDR_LOOPBACK(&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr));
        if (!loopback && !tls) {
                freeaddrinfo(ai);
                return hd_error_set_field(err, -EINVAL, "listen",
                                          "refusing plain TCP on non-loopback address `%s` "
                                          "(give --tls-cert and --tls-key): "
                                          "tokens would cross the network in clear",
                                          listen_addr);
        }

        _cleanup_close_ int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int one = 1;
        int r = fd < 0 ? -errno : 0;
        if (r >= 0)
                (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (r >= 0 && bind(fd, ai->ai_addr, ai->ai_addrlen) < 0)
                r = -errno;
        if (r >= 0 && listen(fd, 512) < 0)
                r = -errno;
        freeaddrinfo(ai);
        if (r < 0)
                return hd_error_set_field(err, r, "listen", "cannot listen on `%s`: %s",
                                          listen_addr, strerror(-r));
        return TAKE_FD(fd);
}

static struct MHD_Daemon *start_daemon(HdHttp *h, int fd, bool tcp)
{
        unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                         MHD_USE_POLL | MHD_USE_ITC | MHD_USE_ERROR_LOG;
        if (tcp && h->cfg.tls_cert_pem)
                return MHD_start_daemon(
                        flags | MHD_USE_TLS, 0, NULL, NULL, access_cb, h,
                        MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, h, MHD_OPTION_LISTEN_SOCKET, fd,
                        MHD_OPTION_HTTPS_MEM_CERT, h->cfg.tls_cert_pem, MHD_OPTION_HTTPS_MEM_KEY,
                        h->cfg.tls_key_pem, MHD_OPTION_NOTIFY_COMPLETED, completed_cb, h,
                        MHD_OPTION_CONNECTION_TIMEOUT, h->cfg.connection_timeout_s,
                        MHD_OPTION_CONNECTION_LIMIT, h->cfg.connection_limit,
                        MHD_OPTION_CONNECTION_MEMORY_LIMIT, h->cfg.connection_memory,
                        MHD_OPTION_PER_IP_CONNECTION_LIMIT, h->cfg.connection_limit,
                        MHD_OPTION_END);
        /* The logger goes first so that MHD never writes to stderr on its own. */
        return MHD_start_daemon(flags, 0, NULL, NULL, access_cb, h, MHD_OPTION_EXTERNAL_LOGGER,
                                mhd_logger, h, MHD_OPTION_LISTEN_SOCKET, fd,
                                MHD_OPTION_NOTIFY_COMPLETED, completed_cb, h,
                                MHD_OPTION_CONNECTION_TIMEOUT, h->cfg.connection_timeout_s,
                                MHD_OPTION_CONNECTION_LIMIT, h->cfg.connection_limit,
                                MHD_OPTION_CONNECTION_MEMORY_LIMIT, h->cfg.connection_memory,
                                MHD_OPTION_PER_IP_CONNECTION_LIMIT,
                                tcp ? h->cfg.connection_limit : 0, MHD_OPTION_END);
}

int hd_http_start(const HdHttpConfig *cfg, HdCore *core, HdHttp **ret, HdError **err)
{
        if (cfg->tls_cert_pem && !MHD_is_feature_supported(MHD_FEATURE_TLS))
                return hd_error_set_field(err, -EOPNOTSUPP, "tls-cert",
                                          "this libmicrohttpd was built without TLS support");
        if (cfg->listen && (!cfg->token || !cfg->token[0]))
                return hd_error_set_field(err, -EINVAL, "token-file",
                                          "refusing to listen on TCP `%s` without a token file",
                                          cfg->listen);

        HdHttp *h = calloc(1, sizeof(*h));
        if (!h)
                return hd_error_set(err, -ENOMEM, "out of memory");
        h->core = core;
        h->cfg = *cfg;
        if (!h->cfg.connection_limit)
                h->cfg.connection_limit = 256;
        if (!h->cfg.connection_timeout_s)
                h->cfg.connection_timeout_s = 60;
        if (!h->cfg.connection_memory)
                h->cfg.connection_memory = 64 * 1024;
        h->token = cfg->token ? strdup(cfg->token) : NULL;
        int r = hd_metrics_new(&h->metrics);
        if (r < 0) {
                hd_http_stop(h);
                return hd_error_set(err, r, "out of memory");
        }

        /* TCP first: a refused address must not leave a socket file behind. */
        _cleanup_close_ int tcp_fd = -1;
        if (cfg->listen) {
                tcp_fd = tcp_listen(cfg->listen, cfg->tls_cert_pem != NULL, err);
                if (tcp_fd < 0) {
                        hd_http_stop(h);
                        return tcp_fd;
                }
        }
        if (cfg->socket_path) {
                int fd = unix_listen(cfg->socket_path, cfg->socket_group, err);
                if (fd < 0) {
                        hd_http_stop(h);
                        return fd;
                }
                h->socket_path = strdup(cfg->socket_path);
                h->unix_daemon = start_daemon(h, fd, false);
                if (!h->unix_daemon) {
                        close(fd);
                        hd_http_stop(h);
                        return hd_error_set(err, -EIO, "libmicrohttpd failed to start on `%s`",
                                            cfg->socket_path);
                }
                hd_log_info("listening on unix:%s", cfg->socket_path);
        }
        if (cfg->listen) {
                h->tcp_daemon = start_daemon(h, tcp_fd, true);
                if (!h->tcp_daemon) {
                        hd_http_stop(h);
                        return hd_error_set(
                                err, -EIO, "libmicrohttpd failed to start on `%s`%s", cfg->listen,
                                cfg->tls_cert_pem ? " (is the TLS certificate or key invalid?)"
                                                  : "");
                }
                TAKE_FD(tcp_fd); /* MHD owns it now */
                hd_log_info("listening on %s://%s (bearer token required)",
                            cfg->tls_cert_pem ? "https" : "http", cfg->listen);
        }
        *ret = h;
        return 0;
}

void hd_http_quiesce(HdHttp *h)
{
        if (!h)
                return;
        struct MHD_Daemon *ds[] = { h->unix_daemon, h->tcp_daemon };
        for (size_t i = 0; i < HD_ARRAY_SIZE(ds); i++) {
                if (!ds[i])
                        continue;
                MHD_socket fd = MHD_quiesce_daemon(ds[i]);
                if (fd != MHD_INVALID_SOCKET)
                        close(fd);
        }
        if (h->socket_path) {
                (void)unlink(h->socket_path);
                free(h->socket_path);
                h->socket_path = NULL;
        }
}

void hd_http_drain(HdHttp *h, int64_t timeout_ms)
{
        if (!h)
                return;
        int64_t deadline = hd_monotonic_ms() + timeout_ms;
        while (atomic_load(&h->inflight) > 0 && hd_monotonic_ms() < deadline) {
                struct timespec ts = { .tv_nsec = 10 * 1000 * 1000 };
                nanosleep(&ts, NULL);
        }
        int left = atomic_load(&h->inflight);
        if (left > 0)
                hd_log_warn("%d requests still in flight after %lld ms; closing them", left,
                            (long long)timeout_ms);
}

void hd_http_stop(HdHttp *h)
{
        if (!h)
                return;
        if (h->unix_daemon)
                MHD_stop_daemon(h->unix_daemon);
        if (h->tcp_daemon)
                MHD_stop_daemon(h->tcp_daemon);
        if (h->socket_path)
                (void)unlink(h->socket_path);
        hd_metrics_free(h->metrics);
        free(h->token);
        free(h->socket_path);
        free(h);
}
