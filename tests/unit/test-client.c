/* libhostclient against a fake HTTP server: a thread that accepts on a Unix socket (or
 * loopback TCP) in a temporary directory, records each request and answers with canned
 * responses. Checks request building (method, path, query escaping, headers, body) and
 * the decoding of responses, API errors, transport errors and the event stream. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "hostclient.h"

/* ---- The fake server ----------------------------------------------------------------- */

#define FAKE_MAX      16
#define FAKE_MAX_PART 8

typedef struct FakeResponse {
        char *parts[FAKE_MAX_PART]; /* written one after another, 20 ms apart */
        bool close_after;           /* close the connection after answering */
        bool hold;                  /* keep it open until the client closes it */
        bool no_answer;             /* never answer (timeouts) */
} FakeResponse;

typedef struct FakeRequest {
        char method[16];
        char target[2048];
        char headers[8192]; /* the raw header lines */
        char *body;
        size_t body_len;
} FakeRequest;

typedef struct FakeServer {
        int listen_fd;
        char dir[64];
        char path[96];
        int port; /* TCP when > 0 */
        pthread_t thread;
        pthread_mutex_t lock;
        FakeResponse responses[FAKE_MAX];
        size_t n_responses, next_response;
        FakeRequest requests[FAKE_MAX];
        size_t n_requests;
        int accepts;
        volatile bool stop;
} FakeServer;

static void sleep_ms(int ms)
{
        struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
        nanosleep(&ts, NULL);
}

/* Waits for fd to be readable, giving up when the server stops. */
static bool fake_wait_readable(FakeServer *s, int fd)
{
        while (!s->stop) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                if (poll(&p, 1, 50) > 0)
                        return true;
        }
        return false;
}

static ssize_t fake_read(FakeServer *s, int fd, char *buf, size_t n)
{
        if (!fake_wait_readable(s, fd))
                return -1;
        return read(fd, buf, n);
}

static void fake_write_all(int fd, const char *p, size_t n)
{
        while (n > 0) {
                ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
                if (w <= 0)
                        return;
                p += w;
                n -= (size_t)w;
        }
}

static void fake_drain_until_eof(FakeServer *s, int fd)
{
        char buf[4096];
        while (fake_read(s, fd, buf, sizeof(buf)) > 0)
                ;
}

static size_t fake_content_length(const char *headers)
{
        for (const char *p = headers; p && *p; p = strstr(p, "\r\n"), p = p ? p + 2 : NULL)
                if (strncasecmp(p, "content-length:", 15) == 0)
                        return strtoul(p + 15, NULL, 10);
        return 0;
}

/* Serves one connection: returns when the client closes it or a response says so. */
static void fake_serve(FakeServer *s, int fd)
{
        char buf[65536];
        size_t len = 0;

        for (;;) {
                char *end;
                buf[len] = '\0';
                while (!(end = strstr(buf, "\r\n\r\n"))) {
                        ssize_t n = fake_read(s, fd, buf + len, sizeof(buf) - 1 - len);
                        if (n <= 0)
                                return;
                        len += (size_t)n;
                        buf[len] = '\0';
                }

                FakeRequest req = { 0 };
                size_t head_len = (size_t)(end - buf) + 4;
                char *line_end = strstr(buf, "\r\n");
                *line_end = '\0';
                sscanf(buf, "%15s %2047s", req.method, req.target);
                snprintf(req.headers, sizeof(req.headers), "%.*s", (int)(end + 2 - (line_end + 2)),
                         line_end + 2);
                /* The body goes straight into its own buffer: uploads are MiBs. */
                req.body_len = fake_content_length(req.headers);
                req.body = malloc(req.body_len + 1);
                if (!req.body)
                        return;
                size_t have = len - head_len < req.body_len ? len - head_len : req.body_len;
                memcpy(req.body, buf + head_len, have);
                memmove(buf, buf + head_len + have, len - head_len - have);
                len -= head_len + have;
                while (have < req.body_len) {
                        ssize_t n = fake_read(s, fd, req.body + have, req.body_len - have);
                        if (n <= 0) {
                                free(req.body);
                                return;
                        }
                        have += (size_t)n;
                }
                req.body[req.body_len] = '\0';

                FakeResponse *resp = NULL;
                pthread_mutex_lock(&s->lock);
                if (s->n_requests < FAKE_MAX)
                        s->requests[s->n_requests++] = req;
                else
                        free(req.body);
                if (s->next_response < s->n_responses)
                        resp = &s->responses[s->next_response++];
                pthread_mutex_unlock(&s->lock);

                if (!resp) {
                        static const char none[] = "HTTP/1.1 599 No Canned Response\r\n"
                                                   "Content-Length: 0\r\n\r\n";
                        fake_write_all(fd, none, sizeof(none) - 1);
                        continue;
                }
                if (resp->no_answer) {
                        fake_drain_until_eof(s, fd);
                        return;
                }
                for (size_t i = 0; i < FAKE_MAX_PART && resp->parts[i]; i++) {
                        if (i > 0)
                                sleep_ms(20);
                        fake_write_all(fd, resp->parts[i], strlen(resp->parts[i]));
                }
                if (resp->hold)
                        fake_drain_until_eof(s, fd);
                if (resp->hold || resp->close_after)
                        return;
        }
}

static void *fake_thread(void *userdata)
{
        FakeServer *s = userdata;
        while (fake_wait_readable(s, s->listen_fd)) {
                int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
                if (fd < 0)
                        continue;
                pthread_mutex_lock(&s->lock);
                s->accepts++;
                pthread_mutex_unlock(&s->lock);
                fake_serve(s, fd);
                close(fd);
        }
        return NULL;
}

static FakeServer *fake_start(bool tcp)
{
        FakeServer *s = calloc(1, sizeof(*s));
        ck_assert_ptr_nonnull(s);
        pthread_mutex_init(&s->lock, NULL);
        snprintf(s->dir, sizeof(s->dir), "/tmp/test-client-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(s->dir));
        if (tcp) {
                struct sockaddr_in a = { .sin_family = AF_INET,
                                         .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
                socklen_t alen = sizeof(a);
                s->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
                ck_assert_int_ge(s->listen_fd, 0);
                ck_assert_int_eq(bind(s->listen_fd, (struct sockaddr *)&a, sizeof(a)), 0);
                ck_assert_int_eq(getsockname(s->listen_fd, (struct sockaddr *)&a, &alen), 0);
                s->port = ntohs(a.sin_port);
        } else {
                struct sockaddr_un a = { .sun_family = AF_UNIX };
                snprintf(s->path, sizeof(s->path), "%s/hostd.sock", s->dir);
                snprintf(a.sun_path, sizeof(a.sun_path), "%s", s->path);
                s->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
                ck_assert_int_ge(s->listen_fd, 0);
                ck_assert_int_eq(bind(s->listen_fd, (struct sockaddr *)&a, sizeof(a)), 0);
        }
        ck_assert_int_eq(listen(s->listen_fd, 8), 0);
        ck_assert_int_eq(pthread_create(&s->thread, NULL, fake_thread, s), 0);
        return s;
}

static void fake_stop(FakeServer *s)
{
        if (!s)
                return;
        s->stop = true;
        pthread_join(s->thread, NULL);
        close(s->listen_fd);
        if (s->path[0])
                unlink(s->path);
        rmdir(s->dir);
        for (size_t i = 0; i < s->n_responses; i++)
                for (size_t j = 0; j < FAKE_MAX_PART; j++)
                        free(s->responses[i].parts[j]);
        for (size_t i = 0; i < s->n_requests; i++)
                free(s->requests[i].body);
        pthread_mutex_destroy(&s->lock);
        free(s);
}

static FakeResponse *fake_push_raw(FakeServer *s, const char *first_part)
{
        pthread_mutex_lock(&s->lock);
        ck_assert_uint_lt(s->n_responses, FAKE_MAX);
        FakeResponse *r = &s->responses[s->n_responses++];
        if (first_part)
                r->parts[0] = strdup(first_part);
        pthread_mutex_unlock(&s->lock);
        return r;
}

/* A complete response with a Content-Length; extra_headers are "Name: value\r\n" lines. */
static FakeResponse *fake_push(FakeServer *s, int status, const char *extra_headers,
                               const char *body)
{
        char *text = NULL;
        ck_assert_int_ge(asprintf(&text,
                                  "HTTP/1.1 %d Canned\r\nContent-Type: application/json\r\n"
                                  "%sContent-Length: %zu\r\n\r\n%s",
                                  status, extra_headers ? extra_headers : "", strlen(body), body),
                         0);
        FakeResponse *r = fake_push_raw(s, NULL);
        r->parts[0] = text;
        return r;
}

static FakeRequest *fake_request(FakeServer *s, size_t i)
{
        pthread_mutex_lock(&s->lock);
        FakeRequest *r = i < s->n_requests ? &s->requests[i] : NULL;
        pthread_mutex_unlock(&s->lock);
        ck_assert_msg(r, "request %zu was not received", i);
        return r;
}

static int fake_accepts(FakeServer *s)
{
        pthread_mutex_lock(&s->lock);
        int n = s->accepts;
        pthread_mutex_unlock(&s->lock);
        return n;
}

/* The value of a request header (case-insensitive name), or NULL; static storage. */
static const char *fake_header(const FakeRequest *r, const char *name)
{
        static char value[1024];
        size_t n = strlen(name);
        for (const char *p = r->headers; p && *p; p = strstr(p, "\r\n"), p = p ? p + 2 : NULL) {
                if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
                        const char *v = p + n + 1;
                        while (*v == ' ')
                                v++;
                        const char *e = strstr(v, "\r\n");
                        snprintf(value, sizeof(value), "%.*s", (int)(e ? e - v : (long)strlen(v)),
                                 v);
                        return value;
                }
        }
        return NULL;
}

/* ---- Fixture ------------------------------------------------------------------------- */

static FakeServer *srv;
static HcClient *cli;

static void setup(void)
{
        HcError err;
        srv = fake_start(false);
        cli = hc_client_new(&(HcOptions){ .socket_path = srv->path, .timeout_s = 5 }, &err);
        ck_assert_msg(cli, "hc_client_new: %s", err.message);
}

static void teardown(void)
{
        hc_client_free(cli);
        cli = NULL;
        fake_stop(srv);
        srv = NULL;
}

static const char op_json[] = "{\"id\": \"op-1\", \"action\": \"start\", \"status\": \"success\","
                              " \"instance\": {\"uuid\": \"u-1\", \"name\": \"web-1\"}}";

/* ---- Requests ------------------------------------------------------------------------ */

START_TEST(test_server_info)
{
        json_t *info = NULL;
        HcError err;

        fake_push(srv, 200, NULL, "{\"name\": \"hostd\", \"version\": \"0.1.0\"}");
        ck_assert_int_eq(hc_server_info(cli, &info, &err), 0);
        ck_assert_str_eq(json_string_value(json_object_get(info, "name")), "hostd");
        ck_assert_int_eq(err.http_status, 0);
        ck_assert_str_eq(err.code, "");
        json_decref(info);

        FakeRequest *r = fake_request(srv, 0);
        ck_assert_str_eq(r->method, "GET");
        ck_assert_str_eq(r->target, "/v1");
        ck_assert_str_eq(fake_header(r, "Accept"), "application/json");
        ck_assert_ptr_null(fake_header(r, "Authorization"));
        ck_assert_ptr_null(fake_header(r, "Content-Type"));
        ck_assert_ptr_nonnull(fake_header(r, "User-Agent"));
        ck_assert_uint_eq(r->body_len, 0);
        ck_assert_str_eq(hc_client_endpoint(cli), srv->path);
}
END_TEST

START_TEST(test_bearer_token)
{
        HcError err;
        HcClient *c = hc_client_new(
                &(HcOptions){ .socket_path = srv->path, .token = "s3cr3t-token" }, &err);
        ck_assert_ptr_nonnull(c);
        fake_push(srv, 200, NULL, "{}");
        ck_assert_int_eq(hc_host_info(c, NULL, &err), 0);
        hc_client_free(c);
        FakeRequest *r = fake_request(srv, 0);
        ck_assert_str_eq(r->target, "/v1/host");
        ck_assert_str_eq(fake_header(r, "Authorization"), "Bearer s3cr3t-token");

        /* A token that would inject a header is refused. */
        ck_assert_ptr_null(hc_client_new(&(HcOptions){ .token = "a\r\nX-Evil: 1" }, &err));
        ck_assert_str_eq(err.code, "invalid_argument");
        ck_assert_ptr_null(hc_client_new(&(HcOptions){ .url = "ftp://example.com" }, &err));
        ck_assert_str_eq(err.code, "invalid_argument");
}
END_TEST

START_TEST(test_tcp_url)
{
        FakeServer *tcp = fake_start(true);
        char url[64];
        HcError err;
        json_t *host = NULL;

        snprintf(url, sizeof(url), "http://127.0.0.1:%d/", tcp->port);
        HcClient *c = hc_client_new(&(HcOptions){ .url = url, .token = "tok" }, &err);
        ck_assert_ptr_nonnull(c);
        url[strlen(url) - 1] = '\0';
        ck_assert_str_eq(hc_client_endpoint(c), url);
        fake_push(tcp, 200, NULL, "{\"cpus\": 2}");
        ck_assert_int_eq(hc_host_info(c, &host, &err), 0);
        ck_assert_int_eq(json_integer_value(json_object_get(host, "cpus")), 2);
        json_decref(host);
        hc_client_free(c);

        FakeRequest *r = fake_request(tcp, 0);
        ck_assert_str_eq(r->target, "/v1/host");
        ck_assert_str_eq(fake_header(r, "Authorization"), "Bearer tok");
        fake_stop(tcp);
}
END_TEST

START_TEST(test_list_query_escaping)
{
        const char *labels[] = { "tier=web", "a b=c&d/\xc3\xa9" };
        HcListOptions opts = {
                .kind = "container",
                .state = "running",
                .labels = labels,
                .n_labels = 2,
                .limit = 5,
                .after = "abc/+=",
        };
        json_t *page = NULL;
        HcError err;

        fake_push(srv, 200, NULL, "{\"instances\": [], \"next\": null}");
        fake_push(srv, 200, NULL, "{\"instances\": [], \"next\": null}");
        ck_assert_int_eq(hc_instance_list(cli, &opts, &page, &err), 0);
        ck_assert(json_is_array(json_object_get(page, "instances")));
        json_decref(page);
        ck_assert_int_eq(hc_instance_list(cli, NULL, NULL, &err), 0);

        ck_assert_str_eq(fake_request(srv, 0)->target,
                         "/v1/instances?kind=container&state=running&label=tier%3Dweb"
                         "&label=a%20b%3Dc%26d%2F%C3%A9&limit=5&after=abc%2F%2B%3D");
        ck_assert_str_eq(fake_request(srv, 1)->target, "/v1/instances");
}
END_TEST

START_TEST(test_get_escapes_name_and_returns_etag)
{
        json_t *in = NULL;
        char *etag = NULL;
        HcError err;

        fake_push(srv, 200, "etag: \"7\"\r\n", "{\"name\": \"web-1\", \"revision\": 7}");
        ck_assert_int_eq(hc_instance_get(cli, "web 1/..", &in, &etag, &err), 0);
        ck_assert_str_eq(etag, "\"7\"");
        ck_assert_int_eq(json_integer_value(json_object_get(in, "revision")), 7);
        json_decref(in);
        free(etag);
        ck_assert_str_eq(fake_request(srv, 0)->target, "/v1/instances/web%201%2F..");

        ck_assert_int_eq(hc_instance_get(cli, "", &in, NULL, &err), -EINVAL);
        ck_assert_ptr_null(in);
}
END_TEST

START_TEST(test_create_sends_spec)
{
        json_error_t je;
        json_t *spec = json_loads("{\"name\": \"web-1\", \"kind\": \"container\", \"image\": "
                                  "\"busybox\", \"command\": [\"sh\", \"-c\", \"echo \\\"hi\\\"\"],"
                                  " \"resources\": {\"vcpus\": 1.5}}",
                                  0, &je);
        json_t *in = NULL;
        char *etag = NULL;
        HcError err;

        ck_assert_ptr_nonnull(spec);
        fake_push(srv, 201, "Location: /v1/instances/web-1\r\nETag: \"1\"\r\n",
                  "{\"name\": \"web-1\", \"state\": \"created\"}");
        ck_assert_int_eq(hc_instance_create(cli, spec, &in, &etag, &err), 0);
        ck_assert_str_eq(json_string_value(json_object_get(in, "state")), "created");
        ck_assert_str_eq(etag, "\"1\"");

        FakeRequest *r = fake_request(srv, 0);
        ck_assert_str_eq(r->method, "POST");
        ck_assert_str_eq(r->target, "/v1/instances");
        ck_assert_str_eq(fake_header(r, "Content-Type"), "application/json");
        ck_assert_ptr_null(fake_header(r, "Expect"));
        json_t *sent = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &je);
        ck_assert_msg(sent, "body is not JSON: %s", r->body);
        ck_assert(json_equal(sent, spec));
        json_decref(sent);
        json_decref(spec);
        json_decref(in);
        free(etag);

        ck_assert_int_eq(hc_instance_create(cli, NULL, &in, NULL, &err), -EINVAL);
}
END_TEST

START_TEST(test_patch_labels_if_match)
{
        json_t *labels = json_pack("{s:s,s:n}", "tier", "web", "old");
        json_t *in = NULL;
        char *etag = NULL;
        json_error_t je;
        HcError err;

        fake_push(srv, 200, "ETag: \"4\"\r\n", "{\"labels\": {\"tier\": \"web\"}}");
        ck_assert_int_eq(hc_instance_patch_labels(cli, "web-1", labels, "\"3\"", &in, &etag, &err),
                         0);
        ck_assert_str_eq(etag, "\"4\"");
        json_decref(in);
        free(etag);

        FakeRequest *r = fake_request(srv, 0);
        ck_assert_str_eq(r->method, "PATCH");
        ck_assert_str_eq(r->target, "/v1/instances/web-1");
        ck_assert_str_eq(fake_header(r, "Content-Type"), "application/merge-patch+json");
        ck_assert_str_eq(fake_header(r, "If-Match"), "\"3\"");
        json_t *sent = json_loadb(r->body, r->body_len, 0, &je);
        json_t *want = json_pack("{s:O}", "labels", labels);
        ck_assert(json_equal(sent, want));
        json_decref(sent);
        json_decref(want);

        /* A concurrent change: 412. */
        fake_push(
                srv, 412, NULL,
                "{\"error\": {\"code\": \"precondition_failed\", \"message\": \"etag mismatch\"}}");
        ck_assert_int_eq(hc_instance_patch_labels(cli, "web-1", labels, "\"3\"", &in, &etag, &err),
                         -ESTALE);
        ck_assert_ptr_null(in);
        ck_assert_ptr_null(etag);
        ck_assert_int_eq(err.http_status, 412);
        ck_assert_str_eq(err.code, "precondition_failed");
        ck_assert_str_eq(err.message, "etag mismatch");
        ck_assert_str_eq(err.field, "");

        /* No If-Match when none is given. */
        fake_push(srv, 200, NULL, "{}");
        ck_assert_int_eq(hc_instance_patch_labels(cli, "web-1", labels, NULL, NULL, NULL, &err), 0);
        ck_assert_ptr_null(fake_header(fake_request(srv, 2), "If-Match"));
        json_decref(labels);
}
END_TEST

START_TEST(test_delete_and_actions)
{
        json_t *op = NULL;
        json_t *args = json_pack("{s:s}", "signal", "TERM");
        json_error_t je;
        HcError err;

        for (int i = 0; i < 5; i++)
                fake_push(srv, i == 0 ? 200 : 202, "Location: /v1/operations/op-1\r\n", op_json);

        ck_assert_int_eq(hc_instance_delete(cli, "web-1", true, 30, &op, &err), 0);
        ck_assert_str_eq(json_string_value(json_object_get(op, "id")), "op-1");
        json_decref(op);
        ck_assert_int_eq(hc_instance_delete(cli, "web-1", false, 0, NULL, &err), 0);
        ck_assert_int_eq(hc_instance_action(cli, "web-1", "kill", args, 5, &op, &err), 0);
        json_decref(op);
        ck_assert_int_eq(hc_instance_action(cli, "web-1", "start", NULL, 0, NULL, &err), 0);
        ck_assert_int_eq(hc_instance_action(cli, "web-1", "stop", NULL, 99999, NULL, &err), 0);

        FakeRequest *r = fake_request(srv, 0);
        ck_assert_str_eq(r->method, "DELETE");
        ck_assert_str_eq(r->target, "/v1/instances/web-1?force=true&wait=30");
        ck_assert_uint_eq(r->body_len, 0);
        ck_assert_str_eq(fake_request(srv, 1)->target, "/v1/instances/web-1");

        r = fake_request(srv, 2);
        ck_assert_str_eq(r->method, "POST");
        ck_assert_str_eq(r->target, "/v1/instances/web-1/kill?wait=5");
        ck_assert_str_eq(fake_header(r, "Content-Type"), "application/json");
        json_t *sent = json_loadb(r->body, r->body_len, 0, &je);
        ck_assert(json_equal(sent, args));
        json_decref(sent);

        /* No arguments: an empty body, and not curl's form content type. */
        r = fake_request(srv, 3);
        ck_assert_str_eq(r->method, "POST");
        ck_assert_str_eq(r->target, "/v1/instances/web-1/start");
        ck_assert_str_eq(fake_header(r, "Content-Length"), "0");
        ck_assert_ptr_null(fake_header(r, "Content-Type"));
        ck_assert_str_eq(fake_request(srv, 4)->target, "/v1/instances/web-1/stop?wait=3600");
        json_decref(args);
}
END_TEST

START_TEST(test_operations)
{
        json_t *op = NULL;
        HcError err;
        HcOperationListOptions opts = { .status = "running", .instance = "web 1", .limit = 2 };

        fake_push(srv, 200, NULL, "{\"operations\": [], \"next\": null}");
        fake_push(srv, 200, NULL, op_json);
        fake_push(srv, 200, NULL, op_json);
        fake_push(srv, 200, NULL, op_json);
        fake_push(srv, 409, NULL,
                  "{\"error\": {\"code\": \"conflict\", \"message\": \"operation is final\"}}");

        ck_assert_int_eq(hc_operation_list(cli, &opts, NULL, &err), 0);
        ck_assert_int_eq(hc_operation_get(cli, "op-1", NULL, &err), 0);
        ck_assert_int_eq(hc_operation_wait(cli, "op-1", 5, &op, &err), 0);
        ck_assert(hc_operation_is_final(op));
        json_decref(op);
        ck_assert_int_eq(hc_operation_wait(cli, "op-1", 0, NULL, &err), 0);
        ck_assert_int_eq(hc_operation_cancel(cli, "op-1", &op, &err), -EBUSY);
        ck_assert_ptr_null(op);
        ck_assert_int_eq(err.http_status, 409);
        ck_assert_str_eq(err.code, "conflict");

        ck_assert_str_eq(fake_request(srv, 0)->target,
                         "/v1/operations?status=running&instance=web%201&limit=2");
        ck_assert_str_eq(fake_request(srv, 1)->target, "/v1/operations/op-1");
        ck_assert_str_eq(fake_request(srv, 2)->target, "/v1/operations/op-1/wait?timeout=5");
        ck_assert_str_eq(fake_request(srv, 3)->target, "/v1/operations/op-1");
        ck_assert_str_eq(fake_request(srv, 4)->method, "DELETE");
        ck_assert_str_eq(fake_request(srv, 4)->target, "/v1/operations/op-1");
}
END_TEST

START_TEST(test_operation_check)
{
        HcError err;
        json_t *ok = json_pack("{s:s}", "status", "success");
        json_t *failed = json_pack("{s:s,s:{s:s,s:s}}", "status", "failure", "error", "code",
                                   "internal", "message", "exec failed: `sh` not found");
        json_t *cancelled = json_pack("{s:s}", "status", "cancelled");
        json_t *running = json_pack("{s:s}", "status", "running");

        ck_assert_int_eq(hc_operation_check(ok, &err), 0);
        ck_assert_int_eq(hc_operation_check(failed, &err), -EIO);
        ck_assert_str_eq(err.code, "internal");
        ck_assert_str_eq(err.message, "exec failed: `sh` not found");
        ck_assert_int_eq(hc_operation_check(cancelled, &err), -ECANCELED);
        ck_assert_int_eq(hc_operation_check(running, &err), -EINPROGRESS);
        ck_assert(hc_operation_is_final(failed));
        ck_assert(!hc_operation_is_final(running));
        ck_assert(!hc_operation_is_final(NULL));
        json_decref(ok);
        json_decref(failed);
        json_decref(cancelled);
        json_decref(running);
}
END_TEST

/* ---- Errors -------------------------------------------------------------------------- */

START_TEST(test_api_errors)
{
        json_t *in = (json_t *)1;
        json_t *spec = json_pack("{s:s}", "name", "x");
        HcError err;

        fake_push(srv, 400, NULL,
                  "{\"error\": {\"code\": \"invalid_argument\", \"message\": "
                  "\"resources.memory_mb must be \\u2265 16\", \"field\": "
                  "\"resources.memory_mb\"}}");
        ck_assert_int_eq(hc_instance_create(cli, spec, &in, NULL, &err), -EINVAL);
        ck_assert_ptr_null(in);
        ck_assert_int_eq(err.http_status, 400);
        ck_assert_int_eq(err.curl_code, 0);
        ck_assert_str_eq(err.code, "invalid_argument");
        ck_assert_str_eq(err.message, "resources.memory_mb must be \xe2\x89\xa5 16");
        ck_assert_str_eq(err.field, "resources.memory_mb");

        /* Not the API's error shape: the status names it, the body's start is shown. */
        fake_push_raw(srv, "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\n"
                           "Content-Length: 5\r\n\r\nnope\n");
        ck_assert_int_eq(hc_instance_get(cli, "x", &in, NULL, &err), -ENOENT);
        ck_assert_str_eq(err.code, "not_found");
        ck_assert_str_eq(err.message, "server answered HTTP 404: nope");
        ck_assert_str_eq(err.field, "");

        fake_push(srv, 503, NULL,
                  "{\"error\": {\"code\": \"unavailable\", \"message\": \"vm driver "
                  "unavailable: no libvirt\"}}");
        ck_assert_int_eq(hc_instance_action(cli, "x", "start", NULL, 0, &in, &err), -EHOSTDOWN);
        ck_assert_str_eq(err.message, "vm driver unavailable: no libvirt");
        fake_push(srv, 507, NULL, "{\"error\": {\"code\": \"insufficient_capacity\"}}");
        ck_assert_int_eq(hc_instance_create(cli, spec, NULL, NULL, &err), -ENOSPC);
        ck_assert_str_eq(err.code, "insufficient_capacity");
        ck_assert_str_eq(err.message, "server answered HTTP 507");

        /* Malformed success bodies. */
        fake_push(srv, 200, NULL, "{\"truncated\": ");
        ck_assert_int_eq(hc_server_info(cli, &in, &err), -EBADMSG);
        ck_assert_str_eq(err.code, "protocol");
        fake_push(srv, 200, NULL, "[1, 2]");
        ck_assert_int_eq(hc_server_info(cli, &in, &err), -EBADMSG);
        fake_push(srv, 200, NULL, "");
        ck_assert_int_eq(hc_server_info(cli, &in, &err), -EBADMSG);
        ck_assert_ptr_null(in);
        json_decref(spec);
}
END_TEST

START_TEST(test_connect_error)
{
        char path[256];
        HcError err;
        snprintf(path, sizeof(path), "%s/missing.sock", srv->dir);
        HcClient *c = hc_client_new(&(HcOptions){ .socket_path = path }, &err);
        ck_assert_ptr_nonnull(c);

        ck_assert_int_eq(hc_server_info(c, NULL, &err), -ENOENT);
        ck_assert_int_eq(err.http_status, 0);
        ck_assert_int_eq(err.curl_code, 7); /* CURLE_COULDNT_CONNECT */
        ck_assert_str_eq(err.code, "connect_failed");
        char want[512];
        snprintf(want, sizeof(want), "cannot connect to %s: No such file or directory", path);
        ck_assert_str_eq(err.message, want);
        hc_client_free(c);
}
END_TEST

START_TEST(test_timeout)
{
        HcError err;
        HcClient *c = hc_client_new(&(HcOptions){ .socket_path = srv->path, .timeout_s = 1 }, &err);
        FakeResponse *r = fake_push_raw(srv, NULL);
        r->no_answer = true;
        ck_assert_int_eq(hc_server_info(c, NULL, &err), -ETIMEDOUT);
        ck_assert_str_eq(err.code, "timeout");
        ck_assert_int_eq(err.curl_code, 28); /* CURLE_OPERATION_TIMEDOUT */
        hc_client_free(c);
}
END_TEST

START_TEST(test_keep_alive)
{
        HcError err;
        fake_push(srv, 200, NULL, "{}");
        fake_push(srv, 200, "Connection: close\r\n", "{}")->close_after = true;
        fake_push(srv, 200, NULL, "{}");
        ck_assert_int_eq(hc_server_info(cli, NULL, &err), 0);
        ck_assert_int_eq(hc_server_info(cli, NULL, &err), 0);
        ck_assert_int_eq(fake_accepts(srv), 1); /* the second request reused the connection */
        ck_assert_int_eq(hc_server_info(cli, NULL, &err), 0);
        ck_assert_int_eq(fake_accepts(srv), 2); /* the server closed it: a new one */
}
END_TEST

/* ---- Low level, metrics, helpers ----------------------------------------------------- */

START_TEST(test_request_low_level)
{
        json_t *body = json_pack("{s:i}", "x", 1);
        json_t *ret = NULL;
        long status = -1;
        HcError err;

        fake_push(srv, 200, NULL, "[true]");
        ck_assert_int_eq(hc_request(cli, "PUT", "/v1/things?q=a%20b", body, &status, &ret, &err),
                         200);
        ck_assert_int_eq(status, 200);
        ck_assert(json_is_array(ret));
        json_decref(ret);
        FakeRequest *r = fake_request(srv, 0);
        ck_assert_str_eq(r->method, "PUT");
        ck_assert_str_eq(r->target, "/v1/things?q=a%20b");
        ck_assert_str_eq(r->body, "{\"x\":1}");

        fake_push_raw(srv, "HTTP/1.1 204 No Content\r\n\r\n");
        ck_assert_int_eq(hc_request(cli, "DELETE", "/v1/x", NULL, &status, &ret, &err), 204);
        ck_assert_ptr_null(ret);

        fake_push(srv, 409, NULL, "{\"error\": {\"code\": \"conflict\", \"message\": \"busy\"}}");
        ck_assert_int_eq(hc_request(cli, "GET", "/v1/x", NULL, &status, &ret, &err), -EBUSY);
        ck_assert_int_eq(status, 409);

        ck_assert_int_eq(hc_request(cli, "GET", "v1", NULL, &status, NULL, &err), -EINVAL);
        ck_assert_int_eq(hc_request(cli, "GET", "/v1 x", NULL, NULL, NULL, &err), -EINVAL);
        ck_assert_int_eq(hc_request(cli, "get", "/v1", NULL, NULL, NULL, &err), -EINVAL);
        ck_assert_int_eq(hc_request(cli, "GET", "/v1\r\nX: y", NULL, NULL, NULL, &err), -EINVAL);
        json_decref(body);
}
END_TEST

START_TEST(test_metrics)
{
        static const char text[] = "# TYPE hostd_events_last_seq gauge\nhostd_events_last_seq 3\n";
        char *got = NULL;
        char *resp = NULL;
        HcError err;

        ck_assert_int_ge(asprintf(&resp,
                                  "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n"
                                  "Content-Length: %zu\r\n\r\n%s",
                                  strlen(text), text),
                         0);
        fake_push_raw(srv, resp);
        free(resp);
        ck_assert_int_eq(hc_metrics(cli, &got, &err), 0);
        ck_assert_str_eq(got, text);
        free(got);
        ck_assert_str_eq(fake_request(srv, 0)->target, "/metrics");
        ck_assert_str_eq(fake_header(fake_request(srv, 0), "Accept"), "text/plain");
}
END_TEST

START_TEST(test_escape_and_env)
{
        char *e = hc_escape("a b/\xc3\xa9~._-?&=%");
        ck_assert_str_eq(e, "a%20b%2F%C3%A9~._-%3F%26%3D%25");
        free(e);
        e = hc_escape("");
        ck_assert_str_eq(e, "");
        free(e);

        HcOptions o = { .socket_path = "/keep" };
        unsetenv("HOSTD_SOCKET");
        setenv("HOSTD_URL", "http://h:1", 1);
        setenv("HOSTD_TOKEN", "tkn", 1);
        ck_assert_int_eq(hc_options_from_env(&o), 2);
        ck_assert_str_eq(o.socket_path, "/keep");
        ck_assert_str_eq(o.url, "http://h:1");
        ck_assert_str_eq(o.token, "tkn");
        setenv("HOSTD_SOCKET", "/s", 1);
        setenv("HOSTD_URL", "", 1);
        ck_assert_int_eq(hc_options_from_env(&o), 2);
        ck_assert_str_eq(o.socket_path, "/s");
        unsetenv("HOSTD_SOCKET");
        unsetenv("HOSTD_URL");
        unsetenv("HOSTD_TOKEN");
}
END_TEST

/* ---- Images -------------------------------------------------------------------------- */

static const char image_json[] =
        "{\"name\": \"library/busybox\", \"tag\": \"1.36\", \"ref\": \"library/busybox:1.36\","
        " \"digest\": \"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\","
        " \"kind\": \"container\", \"format\": \"rootfs\", \"size\": 1032410,"
        " \"created_at\": \"2026-11-22T10:00:00.123Z\", \"config\": {\"cmd\": [\"sh\"]},"
        " \"layers\": []}";

START_TEST(test_image_requests)
{
        json_t *ret = NULL;
        HcError err;

        fake_push(srv, 200, NULL, "{\"images\": []}");
        fake_push(srv, 200, NULL, "{\"images\": []}");
        fake_push(srv, 200, NULL, image_json);
        fake_push(srv, 200, NULL, image_json);
        fake_push(srv, 200, NULL, image_json);
        fake_push(srv, 200, NULL, image_json);
        fake_push(srv, 200, NULL,
                  "{\"layers_removed\": 2, \"blobs_removed\": 3, \"bytes_freed\": 4096}");

        ck_assert_int_eq(hc_image_list(cli, "vm", &ret, &err), 0);
        ck_assert(json_is_array(json_object_get(ret, "images")));
        json_decref(ret);
        ck_assert_int_eq(hc_image_list(cli, NULL, NULL, &err), 0);
        ck_assert_int_eq(hc_image_get(cli, "library/busybox:1.36", &ret, &err), 0);
        ck_assert_str_eq(json_string_value(json_object_get(ret, "ref")), "library/busybox:1.36");
        json_decref(ret);
        ck_assert_int_eq(hc_image_get(cli, "my reg/a&b?/..", NULL, &err), 0);
        ck_assert_int_eq(hc_image_get(cli, "sha256:0123abcd", NULL, &err), 0);
        ck_assert_int_eq(hc_image_delete(cli, "busybox", &ret, &err), 0);
        ck_assert_str_eq(json_string_value(json_object_get(ret, "name")), "library/busybox");
        json_decref(ret);
        ck_assert_int_eq(hc_image_prune(cli, &ret, &err), 0);
        ck_assert_int_eq(json_integer_value(json_object_get(ret, "bytes_freed")), 4096);
        json_decref(ret);

        ck_assert_str_eq(fake_request(srv, 0)->method, "GET");
        ck_assert_str_eq(fake_request(srv, 0)->target, "/v1/images?kind=vm");
        ck_assert_str_eq(fake_request(srv, 1)->target, "/v1/images");
        /* Each segment escaped on its own, the slashes kept; ':' may stay raw. */
        ck_assert_str_eq(fake_request(srv, 2)->target, "/v1/images/library/busybox:1.36");
        ck_assert_str_eq(fake_request(srv, 3)->target, "/v1/images/my%20reg/a%26b%3F/%2E%2E");
        ck_assert_str_eq(fake_request(srv, 4)->target, "/v1/images/sha256:0123abcd");
        FakeRequest *r = fake_request(srv, 5);
        ck_assert_str_eq(r->method, "DELETE");
        ck_assert_str_eq(r->target, "/v1/images/busybox");
        r = fake_request(srv, 6);
        ck_assert_str_eq(r->method, "POST");
        ck_assert_str_eq(r->target, "/v1/images/prune");
        ck_assert_uint_eq(r->body_len, 0);
        ck_assert_ptr_null(fake_header(r, "Content-Type"));

        /* Refused before any request. */
        ck_assert_int_eq(hc_image_get(cli, "", &ret, &err), -EINVAL);
        ck_assert_ptr_null(ret);
        ck_assert_int_eq(hc_image_get(cli, "a//b", &ret, &err), -EINVAL);
        ck_assert_int_eq(hc_image_delete(cli, "/abs", &ret, &err), -EINVAL);
        ck_assert_int_eq(hc_image_get(cli, NULL, &ret, &err), -EINVAL);
        ck_assert_str_eq(err.code, "invalid_argument");
        ck_assert_uint_eq(srv->n_requests, 7);
}
END_TEST

START_TEST(test_image_errors)
{
        json_t *ret = (json_t *)1;
        HcError err;

        fake_push(srv, 404, NULL,
                  "{\"error\": {\"code\": \"not_found\", \"message\": \"image `nope:latest` "
                  "not found\"}}");
        fake_push(srv, 409, NULL,
                  "{\"error\": {\"code\": \"conflict\", \"message\": \"image `busybox:latest` "
                  "is used by 2 instances\"}}");
        fake_push(srv, 400, NULL,
                  "{\"error\": {\"code\": \"invalid_argument\", \"message\": \"kind must be "
                  "container or vm\", \"field\": \"kind\"}}");

        ck_assert_int_eq(hc_image_get(cli, "nope", &ret, &err), -ENOENT);
        ck_assert_ptr_null(ret);
        ck_assert_int_eq(err.http_status, 404);
        ck_assert_str_eq(err.message, "image `nope:latest` not found");
        ck_assert_int_eq(hc_image_delete(cli, "busybox", &ret, &err), -EBUSY);
        ck_assert_str_eq(err.code, "conflict");
        ck_assert_str_eq(err.message, "image `busybox:latest` is used by 2 instances");
        ck_assert_int_eq(hc_image_list(cli, "bogus", &ret, &err), -EINVAL);
        ck_assert_str_eq(err.field, "kind");
        ck_assert_str_eq(fake_request(srv, 2)->target, "/v1/images?kind=bogus");
}
END_TEST

/* A file of n pseudo-random bytes in the server's directory; *ret_data gets them. */
static char *make_image_file(size_t n, char **ret_data)
{
        char *path = NULL;
        char *data = malloc(n);
        uint32_t x = 2463534242u;

        ck_assert_ptr_nonnull(data);
        for (size_t i = 0; i < n; i++) {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                data[i] = (char)(x >> 24);
        }
        ck_assert_int_ge(asprintf(&path, "%s/image.tar", srv->dir), 0);
        FILE *f = fopen(path, "we");
        ck_assert_ptr_nonnull(f);
        ck_assert_uint_eq(fwrite(data, 1, n, f), n);
        ck_assert_int_eq(fclose(f), 0);
        *ret_data = data;
        return path;
}

typedef struct Progress {
        int calls;
        int64_t last_done;
        int64_t total;
        bool monotonic;
        int stop_result; /* returned from the first call when non-zero */
} Progress;

static int on_progress(int64_t done, int64_t total, void *userdata)
{
        Progress *p = userdata;
        if (done < p->last_done)
                p->monotonic = false;
        p->calls++;
        p->last_done = done;
        p->total = total;
        return p->stop_result;
}

START_TEST(test_image_import_streams_file)
{
        const size_t size = 3 * 1024 * 1024 + 12345;
        char *data = NULL;
        char *path = make_image_file(size, &data);
        Progress prog = { .monotonic = true };
        json_t *img = NULL;
        HcError err;
        char want_len[32];

        fake_push(srv, 201, "Location: /v1/images/library/busybox:1.36\r\n", image_json);
        fake_push(srv, 201, NULL, image_json);
        HcImageImport imp = {
                .name = "library/busybox",
                .tag = "1.36",
                .kind = "container",
                .format = "rootfs",
                .path = path,
        };
        ck_assert_int_eq(hc_image_import(cli, &imp, on_progress, &prog, &img, &err), 0);
        ck_assert_str_eq(json_string_value(json_object_get(img, "format")), "rootfs");
        json_decref(img);
        ck_assert_int_gt(prog.calls, 0);
        ck_assert(prog.monotonic);
        ck_assert_int_eq(prog.last_done, (int64_t)size);
        ck_assert_int_eq(prog.total, (int64_t)size);

        FakeRequest *r = fake_request(srv, 0);
        ck_assert_str_eq(r->method, "POST");
        ck_assert_str_eq(r->target,
                         "/v1/images?name=library%2Fbusybox&tag=1.36&kind=container&format=rootfs");
        ck_assert_str_eq(fake_header(r, "Content-Type"), "application/octet-stream");
        snprintf(want_len, sizeof(want_len), "%zu", size);
        ck_assert_str_eq(fake_header(r, "Content-Length"), want_len);
        ck_assert_ptr_null(fake_header(r, "Transfer-Encoding"));
        ck_assert_ptr_null(fake_header(r, "Expect"));
        ck_assert_uint_eq(r->body_len, size);
        ck_assert(memcmp(r->body, data, size) == 0);

        /* From an fd, from its current offset; no tag, no progress callback. */
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(lseek(fd, 1000, SEEK_SET), 1000);
        imp = (HcImageImport){ .name = "disk", .kind = "vm", .format = "raw", .fd = fd };
        ck_assert_int_eq(hc_image_import(cli, &imp, NULL, NULL, NULL, &err), 0);
        close(fd);
        r = fake_request(srv, 1);
        ck_assert_str_eq(r->target, "/v1/images?name=disk&kind=vm&format=raw");
        ck_assert_uint_eq(r->body_len, size - 1000);
        ck_assert(memcmp(r->body, data + 1000, size - 1000) == 0);

        unlink(path);
        free(path);
        free(data);
}
END_TEST

START_TEST(test_image_import_errors)
{
        char *data = NULL;
        char *path = make_image_file(64 * 1024, &data);
        char missing[256];
        Progress prog = { .stop_result = -42 };
        json_t *img = (json_t *)1;
        HcError err;
        HcImageImport imp = {
                .name = "busybox",
                .kind = "container",
                .format = "oci-archive",
                .path = path,
        };

        fake_push(srv, 400, NULL,
                  "{\"error\": {\"code\": \"invalid_argument\", \"message\": \"body is not an "
                  "OCI image layout\", \"field\": \"body\"}}");
        fake_push(srv, 409, NULL,
                  "{\"error\": {\"code\": \"conflict\", \"message\": \"image `busybox:latest` "
                  "already exists\"}}");
        fake_push(srv, 413, NULL,
                  "{\"error\": {\"code\": \"payload_too_large\", \"message\": \"upload exceeds "
                  "1024 bytes\"}}");
        fake_push(srv, 415, NULL,
                  "{\"error\": {\"code\": \"unsupported_media_type\", \"message\": \"no\"}}");
        fake_push(srv, 201, NULL, image_json);

        ck_assert_int_eq(hc_image_import(cli, &imp, NULL, NULL, &img, &err), -EINVAL);
        ck_assert_ptr_null(img);
        ck_assert_int_eq(err.http_status, 400);
        ck_assert_str_eq(err.field, "body");
        ck_assert_int_eq(hc_image_import(cli, &imp, NULL, NULL, &img, &err), -EBUSY);
        ck_assert_int_eq(hc_image_import(cli, &imp, NULL, NULL, &img, &err), -E2BIG);
        ck_assert_str_eq(err.code, "payload_too_large");
        ck_assert_int_eq(hc_image_import(cli, &imp, NULL, NULL, &img, &err), -EPROTO);

        /* The progress callback stops the upload: its negative value, or -ECANCELED. */
        ck_assert_int_eq(hc_image_import(cli, &imp, on_progress, &prog, &img, &err), -42);
        ck_assert_int_eq(prog.calls, 1);
        ck_assert_str_eq(err.code, "cancelled");
        prog = (Progress){ .stop_result = 1 };
        ck_assert_int_eq(hc_image_import(cli, &imp, on_progress, &prog, &img, &err), -ECANCELED);
        /* The client goes on working after an aborted upload. */
        ck_assert_int_eq(hc_image_import(cli, &imp, NULL, NULL, &img, &err), 0);
        json_decref(img);
        ck_assert_uint_eq(srv->n_requests, 5);
        ck_assert_uint_eq(fake_request(srv, 4)->body_len, 64 * 1024);

        /* Local failures: no request at all. */
        snprintf(missing, sizeof(missing), "%s/missing.tar", srv->dir);
        imp.path = missing;
        ck_assert_int_eq(hc_image_import(cli, &imp, NULL, NULL, &img, &err), -ENOENT);
        ck_assert_str_eq(err.code, "io");
        ck_assert_int_eq(err.http_status, 0);
        imp.path = srv->dir;
        ck_assert_int_eq(hc_image_import(cli, &imp, NULL, NULL, &img, &err), -EISDIR);
        imp.path = path;
        imp.format = NULL;
        ck_assert_int_eq(hc_image_import(cli, &imp, NULL, NULL, &img, &err), -EINVAL);
        ck_assert_str_eq(err.code, "invalid_argument");
        ck_assert_int_eq(hc_image_import(cli, NULL, NULL, NULL, &img, &err), -EINVAL);
        ck_assert_uint_eq(srv->n_requests, 5);

        unlink(path);
        free(path);
        free(data);
}
END_TEST

/* ---- Events -------------------------------------------------------------------------- */

typedef struct Seen {
        int64_t seqs[16];
        size_t n;
        int stop_at; /* return stop_result when this seq arrives */
        int stop_result;
} Seen;

static int on_event(json_t *event, void *userdata)
{
        Seen *s = userdata;
        int64_t seq = json_integer_value(json_object_get(event, "seq"));
        if (s->n < 16)
                s->seqs[s->n++] = seq;
        return seq == s->stop_at ? s->stop_result : 0;
}

static const char events_head[] = "HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\n"
                                  "Transfer-Encoding: chunked\r\n\r\n";

/* One HTTP chunk holding data. */
static char *chunk(const char *data)
{
        char *c = NULL;
        ck_assert_int_ge(asprintf(&c, "%zx\r\n%s\r\n", strlen(data), data), 0);
        return c;
}

/* Three events split across chunks at awkward places, with a blank keep-alive line. */
static FakeResponse *push_event_stream(bool end)
{
        FakeResponse *r = fake_push_raw(srv, events_head);
        r->parts[1] = chunk("{\"seq\": 1, \"type\": \"a.b\"}\n{\"se");
        r->parts[2] = chunk("q\": 2, \"type\": \"a.c\"}\r\n\n");
        r->parts[3] = chunk("{\"seq\": 3, \"type\": \"x\"}");
        if (end)
                r->parts[4] = strdup("0\r\n\r\n");
        else
                r->hold = true;
        return r;
}

START_TEST(test_events_stream_ends)
{
        Seen seen = { .stop_at = -1 };
        HcError err;

        /* The last event has no newline before the server ends the stream. */
        push_event_stream(true);
        ck_assert_int_eq(hc_events_follow(cli, 0, "instance.", on_event, &seen, &err), -ECONNRESET);
        ck_assert_str_eq(err.code, "stream_ended");
        ck_assert_uint_eq(seen.n, 3);
        ck_assert_int_eq(seen.seqs[0], 1);
        ck_assert_int_eq(seen.seqs[1], 2);
        ck_assert_int_eq(seen.seqs[2], 3);

        FakeRequest *r = fake_request(srv, 0);
        ck_assert_str_eq(r->target, "/v1/events?since=0&type=instance.");
        ck_assert_str_eq(fake_header(r, "Accept"), "application/x-ndjson");
}
END_TEST

START_TEST(test_events_callback_stops)
{
        Seen seen = { .stop_at = 2, .stop_result = 1 };
        HcError err;

        push_event_stream(false);
        ck_assert_int_eq(hc_events_follow(cli, -1, NULL, on_event, &seen, &err), 0);
        ck_assert_uint_eq(seen.n, 2);
        ck_assert_str_eq(err.code, "");
        ck_assert_str_eq(fake_request(srv, 0)->target, "/v1/events");

        /* A negative result is handed back as the error. */
        seen = (Seen){ .stop_at = 1, .stop_result = -42 };
        push_event_stream(false);
        ck_assert_int_eq(hc_events_follow(cli, 5, NULL, on_event, &seen, &err), -42);
        ck_assert_uint_eq(seen.n, 1);
        ck_assert_str_eq(fake_request(srv, 1)->target, "/v1/events?since=5");

        /* The client goes on working after an aborted stream. */
        fake_push(srv, 200, NULL, "{}");
        ck_assert_int_eq(hc_server_info(cli, NULL, &err), 0);
}
END_TEST

START_TEST(test_events_errors)
{
        Seen seen = { .stop_at = -1 };
        HcError err;

        fake_push(srv, 400, NULL,
                  "{\"error\": {\"code\": \"invalid_argument\", \"message\": \"since must be an "
                  "integer\", \"field\": \"since\"}}");
        ck_assert_int_eq(hc_events_follow(cli, 0, NULL, on_event, &seen, &err), -EINVAL);
        ck_assert_int_eq(err.http_status, 400);
        ck_assert_str_eq(err.field, "since");
        ck_assert_str_eq(err.message, "since must be an integer");

        FakeResponse *r = fake_push_raw(srv, events_head);
        r->parts[1] = chunk("{\"seq\": 1}\nnot json at all\n");
        r->hold = true;
        ck_assert_int_eq(hc_events_follow(cli, 0, NULL, on_event, &seen, &err), -EBADMSG);
        ck_assert_str_eq(err.code, "protocol");
        ck_assert_uint_eq(seen.n, 1);
}
END_TEST

/* ---- Instance I/O: logs, exec, stats ------------------------------------------------- */

typedef struct LogSink {
        char data[4096];
        size_t len;
        int calls;
        int stop_at; /* return stop_result on this call (1-based); 0 = never */
        int stop_result;
} LogSink;

static int on_logs(const char *data, size_t len, void *userdata)
{
        LogSink *l = userdata;
        ck_assert_uint_gt(len, 0);
        ck_assert_uint_lt(l->len + len, sizeof(l->data));
        memcpy(l->data + l->len, data, len);
        l->len += len;
        l->data[l->len] = '\0';
        return ++l->calls == l->stop_at ? l->stop_result : 0;
}

static const char logs_head[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n"
                                "Transfer-Encoding: chunked\r\n\r\n";

START_TEST(test_logs_stream_in_chunks)
{
        LogSink sink = { 0 };
        HcError err;

        /* Lines split across chunks that arrive 20 ms apart: each reaches the callback as
         * it comes, bytes as they are. */
        FakeResponse *r = fake_push_raw(srv, logs_head);
        r->parts[1] = chunk("2026-11-22T12:00:00.123456789Z hello\n2026-11-22T12:00:00.2");
        r->parts[2] = chunk("00000000Z wor");
        r->parts[3] = chunk("ld \xc3\xa9\n");
        r->parts[4] = strdup("0\r\n\r\n");
        HcLogsOptions opts = { .tail = 10, .timestamps = true, .stream = "stderr" };
        ck_assert_int_eq(hc_instance_logs(cli, "web 1", &opts, on_logs, &sink, &err), 0);
        ck_assert_str_eq(sink.data, "2026-11-22T12:00:00.123456789Z hello\n"
                                    "2026-11-22T12:00:00.200000000Z world \xc3\xa9\n");
        ck_assert_int_ge(sink.calls, 3);
        ck_assert_str_eq(err.code, "");

        FakeRequest *req = fake_request(srv, 0);
        ck_assert_str_eq(req->method, "GET");
        ck_assert_str_eq(req->target,
                         "/v1/instances/web%201/logs?tail=10&timestamps=true&stream=stderr");
        ck_assert_str_eq(fake_header(req, "Accept"), "text/plain");

        /* No options: no query; an empty log is fine. tail=0 is sent, follow too. */
        fake_push_raw(srv, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                           "Content-Length: 0\r\n\r\n");
        sink = (LogSink){ 0 };
        ck_assert_int_eq(hc_instance_logs(cli, "web-1", NULL, on_logs, &sink, &err), 0);
        ck_assert_int_eq(sink.calls, 0);
        ck_assert_str_eq(fake_request(srv, 1)->target, "/v1/instances/web-1/logs");

        r = fake_push_raw(srv, logs_head);
        r->parts[1] = chunk("last line\n");
        r->parts[2] = strdup("0\r\n\r\n");
        opts = (HcLogsOptions){ .tail = 0, .follow = true, .stream = "all" };
        ck_assert_int_eq(hc_instance_logs(cli, "web-1", &opts, on_logs, &sink, &err), 0);
        ck_assert_str_eq(sink.data, "last line\n");
        ck_assert_str_eq(fake_request(srv, 2)->target,
                         "/v1/instances/web-1/logs?tail=0&follow=true&stream=all");
}
END_TEST

START_TEST(test_logs_follow_callback_stops)
{
        LogSink sink = { .stop_at = 2, .stop_result = 1 };
        HcLogsOptions follow = { .tail = -1, .follow = true };
        HcError err;

        /* The server holds the stream open: only the callback ends the call, so the
         * chunks cannot have been buffered up to the end first. */
        FakeResponse *r = fake_push_raw(srv, logs_head);
        r->parts[1] = chunk("one\n");
        r->parts[2] = chunk("two\n");
        r->parts[3] = chunk("three\n");
        r->hold = true;
        ck_assert_int_eq(hc_instance_logs(cli, "web-1", &follow, on_logs, &sink, &err), 0);
        ck_assert_int_eq(sink.calls, 2);
        ck_assert_str_eq(sink.data, "one\ntwo\n");
        ck_assert_str_eq(err.code, "");
        ck_assert_str_eq(fake_request(srv, 0)->target, "/v1/instances/web-1/logs?follow=true");

        /* A negative result is handed back as the error. */
        sink = (LogSink){ .stop_at = 1, .stop_result = -EPIPE };
        r = fake_push_raw(srv, logs_head);
        r->parts[1] = chunk("one\n");
        r->hold = true;
        ck_assert_int_eq(hc_instance_logs(cli, "web-1", &follow, on_logs, &sink, &err), -EPIPE);
        ck_assert_str_eq(err.code, "cancelled");

        /* The client goes on working after an aborted stream. */
        fake_push(srv, 200, NULL, "{}");
        ck_assert_int_eq(hc_server_info(cli, NULL, &err), 0);
}
END_TEST

START_TEST(test_logs_errors)
{
        LogSink sink = { 0 };
        HcError err;

        fake_push(srv, 400, NULL,
                  "{\"error\": {\"code\": \"invalid_argument\", \"message\": \"tail must be an "
                  "integer >= 0\", \"field\": \"tail\"}}");
        fake_push(srv, 404, NULL,
                  "{\"error\": {\"code\": \"not_found\", \"message\": \"instance `nope` not "
                  "found\"}}");
        fake_push(srv, 501, NULL,
                  "{\"error\": {\"code\": \"not_implemented\", \"message\": \"the vm driver "
                  "cannot read logs\"}}");
        fake_push(srv, 503, NULL,
                  "{\"error\": {\"code\": \"unavailable\", \"message\": \"container driver "
                  "unavailable\"}}");

        ck_assert_int_eq(hc_instance_logs(cli, "web-1", NULL, on_logs, &sink, &err), -EINVAL);
        ck_assert_int_eq(err.http_status, 400);
        ck_assert_str_eq(err.field, "tail");
        ck_assert_str_eq(err.message, "tail must be an integer >= 0");
        ck_assert_int_eq(hc_instance_logs(cli, "nope", NULL, on_logs, &sink, &err), -ENOENT);
        ck_assert_str_eq(err.code, "not_found");
        ck_assert_int_eq(hc_instance_logs(cli, "vm-1", NULL, on_logs, &sink, &err), -EOPNOTSUPP);
        ck_assert_str_eq(err.message, "the vm driver cannot read logs");
        ck_assert_int_eq(hc_instance_logs(cli, "web-1", NULL, on_logs, &sink, &err), -EHOSTDOWN);
        ck_assert_int_eq(sink.calls, 0); /* error bodies never reach the callback */

        /* A chunked stream cut off in the middle is a transport error, not an end. */
        FakeResponse *r = fake_push_raw(srv, logs_head);
        r->parts[1] = chunk("partial\n");
        r->close_after = true;
        ck_assert_int_eq(hc_instance_logs(cli, "web-1", NULL, on_logs, &sink, &err), -EIO);
        ck_assert_str_eq(err.code, "transport");
        ck_assert_str_eq(sink.data, "partial\n");

        /* Bad arguments never reach the server. */
        ck_assert_int_eq(hc_instance_logs(cli, "", NULL, on_logs, &sink, &err), -EINVAL);
        ck_assert_int_eq(hc_instance_logs(cli, "web-1", NULL, NULL, NULL, &err), -EINVAL);
        ck_assert_str_eq(err.code, "invalid_argument");
        pthread_mutex_lock(&srv->lock);
        ck_assert_uint_eq(srv->n_requests, 5);
        pthread_mutex_unlock(&srv->lock);
}
END_TEST

/* The request body as JSON. */
static json_t *request_json(size_t i)
{
        json_error_t e;
        FakeRequest *r = fake_request(srv, i);
        json_t *j = json_loadb(r->body, r->body_len, 0, &e);
        ck_assert_msg(j, "request %zu: invalid JSON: %s", i, e.text);
        return j;
}

START_TEST(test_exec_utf8)
{
        static const char *const command[] = { "sh", "-c", "echo hi; echo oops >&2" };
        static const char *const env[] = { "A=1", "B=x=y" };
        json_t *res = NULL;
        char *out = NULL;
        size_t len = 0;
        HcError err;

        fake_push(srv, 200, NULL,
                  "{\"exit_code\": 3, \"stdout\": \"hi\\n\", \"stderr\": \"oops \\u00e9\\n\", "
                  "\"encoding\": \"utf-8\", \"truncated\": false, \"timed_out\": false}");
        HcExecRequest req = {
                .command = command,
                .n_command = 3,
                .env = env,
                .n_env = 2,
                .workdir = "/srv",
                .user = "1000:1000",
                .stdin_data = "hello \xc3\xa9\n",
                .stdin_len = 9,
                .timeout_s = 5,
        };
        ck_assert_int_eq(hc_instance_exec(cli, "web 1", &req, &res, &err), 0);
        ck_assert_int_eq(json_integer_value(json_object_get(res, "exit_code")), 3);
        ck_assert_int_eq(hc_exec_output(res, "stdout", &out, &len), 0);
        ck_assert_uint_eq(len, 3);
        ck_assert_str_eq(out, "hi\n");
        free(out);
        ck_assert_int_eq(hc_exec_output(res, "stderr", &out, NULL), 0);
        ck_assert_str_eq(out, "oops \xc3\xa9\n");
        free(out);
        json_decref(res);

        FakeRequest *r = fake_request(srv, 0);
        ck_assert_str_eq(r->method, "POST");
        ck_assert_str_eq(r->target, "/v1/instances/web%201/exec");
        ck_assert_str_eq(fake_header(r, "Content-Type"), "application/json");
        json_t *body = request_json(0);
        json_t *want =
                json_pack("{s:[s,s,s], s:{s:s,s:s}, s:s, s:s, s:s, s:i}", "command", "sh", "-c",
                          "echo hi; echo oops >&2", "env", "A", "1", "B", "x=y", "workdir", "/srv",
                          "user", "1000:1000", "stdin", "hello \xc3\xa9\n", "timeout", 5);
        ck_assert_msg(json_equal(body, want), "unexpected exec body: %s", r->body);
        json_decref(body);
        json_decref(want);

        /* Only the command is required: nothing else is sent. */
        fake_push(srv, 200, NULL,
                  "{\"exit_code\": 0, \"stdout\": \"\", \"stderr\": \"\", \"encoding\": "
                  "\"utf-8\", \"truncated\": false, \"timed_out\": false}");
        req = (HcExecRequest){ .command = command, .n_command = 1 };
        ck_assert_int_eq(hc_instance_exec(cli, "web-1", &req, &res, &err), 0);
        ck_assert_int_eq(hc_exec_output(res, "stdout", &out, &len), 0);
        ck_assert_uint_eq(len, 0);
        ck_assert_str_eq(out, "");
        free(out);
        json_decref(res);
        ck_assert_str_eq(fake_request(srv, 1)->body, "{\"command\":[\"sh\"]}");
}
END_TEST

START_TEST(test_exec_base64)
{
        static const char *const command[] = { "cat" };
        /* NUL, bytes that are not UTF-8, and an encoding that uses '+' and '/'. */
        static const unsigned char input[] = { 0x00, 0xff, 0x80, 'a', 'b', 'c', '\n', 0xc3, 0x28 };
        json_t *res = NULL;
        char *out = NULL;
        size_t len = 0;
        HcError err;

        fake_push(srv, 200, NULL,
                  "{\"exit_code\": 0, \"stdout\": \"AP+AYWJjCsMo\", \"stderr\": \"ZXJy/w==\", "
                  "\"encoding\": \"base64\", \"truncated\": true, \"timed_out\": false}");
        HcExecRequest req = {
                .command = command,
                .n_command = 1,
                .stdin_data = input,
                .stdin_len = sizeof(input),
        };
        ck_assert_int_eq(hc_instance_exec(cli, "web-1", &req, &res, &err), 0);
        json_t *body = request_json(0);
        ck_assert_str_eq(json_string_value(json_object_get(body, "stdin")), "AP+AYWJjCsMo");
        ck_assert_str_eq(json_string_value(json_object_get(body, "stdin_encoding")), "base64");
        json_decref(body);

        /* The round trip: what cat gave back is the bytes sent. */
        ck_assert_int_eq(hc_exec_output(res, "stdout", &out, &len), 0);
        ck_assert_uint_eq(len, sizeof(input));
        ck_assert_mem_eq(out, input, sizeof(input));
        ck_assert_int_eq(out[len], '\0');
        free(out);
        ck_assert_int_eq(hc_exec_output(res, "stderr", &out, &len), 0);
        ck_assert_uint_eq(len, 4);
        ck_assert_mem_eq(out, "err\xff", 4);
        free(out);
        ck_assert(json_is_true(json_object_get(res, "truncated")));
        json_decref(res);

        /* Valid UTF-8 with a NUL byte goes as base64 too. */
        fake_push(srv, 200, NULL,
                  "{\"exit_code\": 137, \"stdout\": \"x\\u0000y\", \"stderr\": \"\", "
                  "\"encoding\": \"utf-8\", \"truncated\": false, \"timed_out\": true}");
        req.stdin_data = "a\0b";
        req.stdin_len = 3;
        ck_assert_int_eq(hc_instance_exec(cli, "web-1", &req, &res, &err), 0);
        ck_assert(json_is_true(json_object_get(res, "timed_out")));
        /* NUL is valid UTF-8: a "utf-8" answer may carry it as \u0000. */
        ck_assert_int_eq(hc_exec_output(res, "stdout", &out, &len), 0);
        ck_assert_uint_eq(len, 3);
        ck_assert_mem_eq(out, "x\0y", 3);
        free(out);
        json_decref(res);
        body = request_json(1);
        ck_assert_str_eq(json_string_value(json_object_get(body, "stdin")), "YQBi");
        ck_assert_str_eq(json_string_value(json_object_get(body, "stdin_encoding")), "base64");
        json_decref(body);
}
END_TEST

START_TEST(test_exec_output_decoding)
{
        /* RFC 4648's test vectors, padded and not. */
        static const char *const vectors[][2] = {
                { "", "" },
                { "Zg==", "f" },
                { "Zm8=", "fo" },
                { "Zm9v", "foo" },
                { "Zm9vYg==", "foob" },
                { "Zm9vYmE=", "fooba" },
                { "Zm9vYmFy", "foobar" },
        };
        /* hostd always pads: unpadded input is refused too. */
        static const char *const invalid[] = { "Zm9v!", "Z",      "Zm9vY",    "Zg=",   "Z===",
                                               "Zm=v",  "Zm9v\n", "Zg==Zg==", "Zm9vYg" };
        char *out = NULL;
        size_t len = 0;

        for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
                json_t *res = json_pack("{s:s, s:s, s:s}", "stdout", vectors[i][0], "stderr", "",
                                        "encoding", "base64");
                ck_assert_int_eq(hc_exec_output(res, "stdout", &out, &len), 0);
                ck_assert_uint_eq(len, strlen(vectors[i][1]));
                ck_assert_str_eq(out, vectors[i][1]);
                free(out);
                json_decref(res);
        }
        for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
                json_t *res = json_pack("{s:s, s:s}", "stdout", invalid[i], "encoding", "base64");
                ck_assert_msg(hc_exec_output(res, "stdout", &out, &len) == -EBADMSG, "`%s` decoded",
                              invalid[i]);
                ck_assert_ptr_null(out);
                json_decref(res);
        }

        /* A utf-8 string may hold NUL (\u0000): its length says how long it is. */
        json_t *res =
                json_loads("{\"stdout\": \"a\\u0000b\", \"stderr\": 5}", JSON_ALLOW_NUL, NULL);
        ck_assert_int_eq(hc_exec_output(res, "stdout", &out, &len), 0); /* encoding absent */
        ck_assert_uint_eq(len, 3);
        ck_assert_mem_eq(out, "a\0b", 3);
        free(out);
        ck_assert_int_eq(hc_exec_output(res, "stderr", &out, &len), -EBADMSG);
        ck_assert_int_eq(hc_exec_output(res, "stdin", &out, &len), -EINVAL);
        ck_assert_int_eq(hc_exec_output(res, NULL, &out, &len), -EINVAL);
        ck_assert_int_eq(hc_exec_output(NULL, "stdout", &out, &len), -EBADMSG);
        json_object_set_new(res, "encoding", json_string("rot13"));
        ck_assert_int_eq(hc_exec_output(res, "stdout", &out, &len), -EBADMSG);
        json_decref(res);
}
END_TEST

START_TEST(test_exec_errors)
{
        static const char *const command[] = { "true" };
        static const char *const bad_env[] = { "=x" };
        json_t *res = (json_t *)1;
        HcError err;

        fake_push(srv, 409, NULL,
                  "{\"error\": {\"code\": \"conflict\", \"message\": \"instance `web-1` is not "
                  "running\"}}");
        fake_push(srv, 400, NULL,
                  "{\"error\": {\"code\": \"invalid_argument\", \"message\": \"timeout must be "
                  "between 1 and 3600\", \"field\": \"timeout\"}}");
        HcExecRequest req = { .command = command, .n_command = 1 };
        ck_assert_int_eq(hc_instance_exec(cli, "web-1", &req, &res, &err), -EBUSY);
        ck_assert_ptr_null(res);
        ck_assert_int_eq(err.http_status, 409);
        ck_assert_str_eq(err.code, "conflict");
        req.timeout_s = 7200;
        ck_assert_int_eq(hc_instance_exec(cli, "web-1", &req, &res, &err), -EINVAL);
        ck_assert_str_eq(err.field, "timeout");
        ck_assert_str_eq(fake_request(srv, 1)->body, "{\"command\":[\"true\"],\"timeout\":7200}");

        /* Caught before a request: no command, an env entry that is not KEY=VALUE, an
         * argument that is not UTF-8, no name. */
        req = (HcExecRequest){ .command = command, .n_command = 0 };
        ck_assert_int_eq(hc_instance_exec(cli, "web-1", &req, &res, &err), -EINVAL);
        ck_assert_str_eq(err.field, "command");
        req = (HcExecRequest){ .command = command, .n_command = 1, .env = bad_env, .n_env = 1 };
        ck_assert_int_eq(hc_instance_exec(cli, "web-1", &req, &res, &err), -EINVAL);
        ck_assert_str_eq(err.field, "env");
        static const char *const not_utf8[] = { "echo", "\xff" };
        req = (HcExecRequest){ .command = not_utf8, .n_command = 2 };
        ck_assert_int_eq(hc_instance_exec(cli, "web-1", &req, &res, &err), -EINVAL);
        ck_assert_str_eq(err.code, "invalid_argument");
        req = (HcExecRequest){ .command = command, .n_command = 1 };
        ck_assert_int_eq(hc_instance_exec(cli, NULL, &req, &res, &err), -EINVAL);
        ck_assert_int_eq(hc_instance_exec(cli, "web-1", NULL, &res, &err), -EINVAL);
        pthread_mutex_lock(&srv->lock);
        ck_assert_uint_eq(srv->n_requests, 2);
        pthread_mutex_unlock(&srv->lock);
}
END_TEST

START_TEST(test_instance_stats)
{
        static const char stats[] =
                "{\"time\": \"2026-11-22T12:00:00.123Z\", \"cpu\": {\"usage_ns\": 1500000000, "
                "\"user_ns\": 1000000000, \"system_ns\": 500000000, \"throttled_periods\": 0, "
                "\"throttled_ns\": 0}, \"memory\": {\"usage_bytes\": 28311552, \"peak_bytes\": "
                "31457280, \"limit_bytes\": 268435456, \"oom_kills\": 0}, \"pids\": {\"current\": "
                "3, \"limit\": 1024}, \"io\": {\"read_bytes\": 4096, \"write_bytes\": 0}}";
        json_t *res = NULL;
        HcError err;

        fake_push(srv, 200, NULL, stats);
        fake_push(srv, 409, NULL,
                  "{\"error\": {\"code\": \"conflict\", \"message\": \"instance `web-2` is not "
                  "running\"}}");
        fake_push(
                srv, 404, NULL,
                "{\"error\": {\"code\": \"not_found\", \"message\": \"instance `x` not found\"}}");
        fake_push(srv, 200, NULL, "[]");

        ck_assert_int_eq(hc_instance_stats(cli, "web/1", &res, &err), 0);
        ck_assert_int_eq(
                json_integer_value(json_object_get(json_object_get(res, "memory"), "limit_bytes")),
                268435456);
        json_decref(res);
        FakeRequest *r = fake_request(srv, 0);
        ck_assert_str_eq(r->method, "GET");
        ck_assert_str_eq(r->target, "/v1/instances/web%2F1/stats");

        ck_assert_int_eq(hc_instance_stats(cli, "web-2", &res, &err), -EBUSY);
        ck_assert_ptr_null(res);
        ck_assert_str_eq(err.message, "instance `web-2` is not running");
        ck_assert_int_eq(hc_instance_stats(cli, "x", &res, &err), -ENOENT);
        ck_assert_int_eq(hc_instance_stats(cli, "web-1", &res, &err), -EBADMSG);
        ck_assert_int_eq(hc_instance_stats(cli, "", &res, &err), -EINVAL);
}
END_TEST

/* ---- Networks ------------------------------------------------------------------------ */

static const char network_json[] =
        "{\"name\": \"lab\", \"bridge\": \"lab\", \"subnet\": \"10.89.0.0/24\", \"gateway\": "
        "\"10.89.0.1\", \"mtu\": 1500, \"nat\": true, \"default\": false, \"created_at\": "
        "\"2026-11-22T10:00:00.123Z\", \"used_by\": 0}";

START_TEST(test_network_requests)
{
        json_t *ret = NULL;
        HcError err;

        fake_push(srv, 200, NULL, "{\"networks\": []}");
        fake_push(srv, 200, NULL, network_json);
        fake_push(srv, 200, NULL, network_json);
        fake_push(srv, 201, "Location: /v1/networks/lab\r\n", network_json);
        fake_push(srv, 201, NULL, network_json);
        fake_push(srv, 200, NULL, network_json);
        fake_push_raw(srv, "HTTP/1.1 204 No Content\r\n\r\n");

        ck_assert_int_eq(hc_network_list(cli, &ret, &err), 0);
        ck_assert(json_is_array(json_object_get(ret, "networks")));
        json_decref(ret);
        ck_assert_int_eq(hc_network_get(cli, "lab", &ret, &err), 0);
        ck_assert_str_eq(json_string_value(json_object_get(ret, "subnet")), "10.89.0.0/24");
        json_decref(ret);
        ck_assert_int_eq(hc_network_get(cli, "a b/..", NULL, &err), 0);

        /* Only the fields set are sent: the server owns the defaults. */
        HcNetworkCreate minimal = { .name = "lab", .subnet = "10.89.0.0/24" };
        ck_assert_int_eq(hc_network_create(cli, &minimal, &ret, &err), 0);
        ck_assert_str_eq(json_string_value(json_object_get(ret, "gateway")), "10.89.0.1");
        json_decref(ret);
        HcNetworkCreate full = { .name = "iso",
                                 .subnet = "172.20.0.0/16",
                                 .gateway = "172.20.255.254",
                                 .mtu = 9000,
                                 .no_nat = true };
        ck_assert_int_eq(hc_network_create(cli, &full, NULL, &err), 0);

        ck_assert_int_eq(hc_network_delete(cli, "lab", &ret, &err), 0);
        ck_assert_str_eq(json_string_value(json_object_get(ret, "name")), "lab");
        json_decref(ret);
        ret = (json_t *)1;
        ck_assert_int_eq(hc_network_delete(cli, "lab", &ret, &err), 0);
        ck_assert_ptr_null(ret);

        FakeRequest *r = fake_request(srv, 0);
        ck_assert_str_eq(r->method, "GET");
        ck_assert_str_eq(r->target, "/v1/networks");
        ck_assert_str_eq(fake_request(srv, 1)->target, "/v1/networks/lab");
        ck_assert_str_eq(fake_request(srv, 2)->target, "/v1/networks/a%20b%2F..");
        r = fake_request(srv, 3);
        ck_assert_str_eq(r->method, "POST");
        ck_assert_str_eq(r->target, "/v1/networks");
        ck_assert_str_eq(fake_header(r, "Content-Type"), "application/json");
        json_t *body = json_loadb(r->body, r->body_len, 0, NULL);
        ck_assert_ptr_nonnull(body);
        json_t *want = json_pack("{s:s, s:s}", "name", "lab", "subnet", "10.89.0.0/24");
        ck_assert(json_equal(body, want));
        json_decref(body);
        json_decref(want);
        r = fake_request(srv, 4);
        body = json_loadb(r->body, r->body_len, 0, NULL);
        want = json_pack("{s:s, s:s, s:s, s:i, s:b}", "name", "iso", "subnet", "172.20.0.0/16",
                         "gateway", "172.20.255.254", "mtu", 9000, "nat", 0);
        ck_assert(json_equal(body, want));
        json_decref(body);
        json_decref(want);
        ck_assert_str_eq(fake_request(srv, 5)->method, "DELETE");
        ck_assert_str_eq(fake_request(srv, 5)->target, "/v1/networks/lab");
        ck_assert_str_eq(fake_request(srv, 6)->method, "DELETE");

        /* Refused before any request. */
        ret = (json_t *)1;
        ck_assert_int_eq(hc_network_get(cli, "", &ret, &err), -EINVAL);
        ck_assert_ptr_null(ret);
        ck_assert_str_eq(err.code, "invalid_argument");
        ck_assert_int_eq(hc_network_get(cli, NULL, &ret, &err), -EINVAL);
        ck_assert_int_eq(hc_network_delete(cli, "", &ret, &err), -EINVAL);
        ck_assert_int_eq(hc_network_create(cli, NULL, &ret, &err), -EINVAL);
        ck_assert_int_eq(
                hc_network_create(cli, &(HcNetworkCreate){ .subnet = "10.0.0.0/8" }, &ret, &err),
                -EINVAL);
        ck_assert_int_eq(hc_network_create(cli, &(HcNetworkCreate){ .name = "x" }, &ret, &err),
                         -EINVAL);
        ck_assert_msg(strstr(err.message, "subnet"), "%s", err.message);
        ck_assert_int_eq(
                hc_network_create(
                        cli, &(HcNetworkCreate){ .name = "x", .subnet = "10.0.0.0/8", .mtu = -1 },
                        &ret, &err),
                -EINVAL);
        ck_assert_int_eq(hc_network_create(
                                 cli, &(HcNetworkCreate){ .name = "x\xff", .subnet = "10.0.0.0/8" },
                                 &ret, &err),
                         -EINVAL);
        ck_assert_int_eq(hc_network_delete(NULL, "lab", &ret, &err), -EINVAL);
        ck_assert_uint_eq(srv->n_requests, 7);
}
END_TEST

START_TEST(test_network_errors)
{
        json_t *ret = (json_t *)1;
        HcError err;

        fake_push(srv, 403, NULL,
                  "{\"error\": {\"code\": \"forbidden\", \"message\": \"`hostd0` is the default "
                  "network and cannot be deleted\"}}");
        fake_push(srv, 409, NULL,
                  "{\"error\": {\"code\": \"conflict\", \"message\": \"network `lab` is used by "
                  "2 instances\"}}");
        fake_push(srv, 400, NULL,
                  "{\"error\": {\"code\": \"invalid_argument\", \"message\": \"`10.89.0.1/24` "
                  "has host bits set: use `10.89.0.0/24`\", \"field\": \"subnet\"}}");
        fake_push(srv, 503, NULL,
                  "{\"error\": {\"code\": \"unavailable\", \"message\": \"networking is "
                  "unavailable: nftables missing\"}}");
        fake_push(srv, 404, NULL,
                  "{\"error\": {\"code\": \"not_found\", \"message\": \"network `x` not "
                  "found\"}}");

        ck_assert_int_eq(hc_network_delete(cli, "hostd0", &ret, &err), -EACCES);
        ck_assert_ptr_null(ret);
        ck_assert_int_eq(err.http_status, 403);
        ck_assert_str_eq(err.code, "forbidden");
        ck_assert_int_eq(hc_network_delete(cli, "lab", &ret, &err), -EBUSY);
        ck_assert_str_eq(err.message, "network `lab` is used by 2 instances");
        HcNetworkCreate req = { .name = "lab", .subnet = "10.89.0.1/24" };
        ck_assert_int_eq(hc_network_create(cli, &req, &ret, &err), -EINVAL);
        ck_assert_ptr_null(ret);
        ck_assert_str_eq(err.field, "subnet");
        ck_assert_int_eq(hc_network_list(cli, &ret, &err), -EHOSTDOWN);
        ck_assert_str_eq(err.code, "unavailable");
        ck_assert_int_eq(hc_network_get(cli, "x", &ret, &err), -ENOENT);
        ck_assert_int_eq(err.http_status, 404);
}
END_TEST

/* ---- Benchmarks ---------------------------------------------------------------------- */

static const char bench_op_json[] =
        "{\"id\": \"op-7\", \"action\": \"benchmark\", \"benchmark\": \"b-1\", \"status\": "
        "\"pending\", \"args\": {}, \"error\": null, \"progress\": {\"done\": 0, \"total\": 60}}";

/* A 200 answer with a body that is not JSON. */
static void fake_push_text(FakeServer *s, const char *content_type, const char *body)
{
        char *text = NULL;
        ck_assert_int_ge(asprintf(&text,
                                  "HTTP/1.1 200 OK\r\nContent-Type: %s\r\n"
                                  "Content-Length: %zu\r\n\r\n%s",
                                  content_type, strlen(body), body),
                         0);
        fake_push_raw(s, text);
        free(text);
}

START_TEST(test_bench_requests)
{
        json_t *ret = NULL;
        HcError err;
        json_t *req =
                json_pack("{s:[s,s], s:s, s:s, s:i, s:i, s:{s:i, s:i, s:s}, s:{s:i}}", "workloads",
                          "lifecycle", "cpu", "container_image", "busybox", "vm_image", "tiny",
                          "repetitions", 3, "warmup", 0, "envelope", "vcpus", 1, "memory_mb", 256,
                          "cpuset", "0", "sizes", "cpu_mib", 16);

        fake_push(srv, 202, "Location: /v1/operations/op-7\r\n", bench_op_json);
        fake_push(srv, 200, NULL,
                  "{\"benchmarks\": [{\"id\": \"b-1\", \"status\": \"running\", \"accel\": "
                  "\"kvm\"}]}");
        fake_push(srv, 200, NULL, "{\"id\": \"b-1\", \"status\": \"success\", \"figures\": []}");
        fake_push(srv, 200, NULL, "{\"comparable\": true, \"differences\": [], \"figures\": []}");
        fake_push(srv, 200, NULL, "{\"id\": \"b-1\", \"status\": \"success\"}");
        fake_push(srv, 200, NULL, "{\"id\": \"a b/..\"}");

        ck_assert_int_eq(hc_bench_start(cli, req, &ret, &err), 0);
        ck_assert_str_eq(json_string_value(json_object_get(ret, "id")), "op-7");
        ck_assert_str_eq(json_string_value(json_object_get(ret, "action")), "benchmark");
        ck_assert_str_eq(json_string_value(json_object_get(ret, "benchmark")), "b-1");
        json_decref(ret);
        ck_assert_int_eq(hc_bench_list(cli, &ret, &err), 0);
        ck_assert_uint_eq(json_array_size(json_object_get(ret, "benchmarks")), 1);
        json_decref(ret);
        ck_assert_int_eq(hc_bench_get(cli, "b-1", &ret, &err), 0);
        ck_assert_str_eq(json_string_value(json_object_get(ret, "status")), "success");
        json_decref(ret);
        ck_assert_int_eq(hc_bench_compare(cli, "b-1", "b-2", &ret, &err), 0);
        ck_assert(json_is_true(json_object_get(ret, "comparable")));
        json_decref(ret);
        ck_assert_int_eq(hc_bench_delete(cli, "b-1", &ret, &err), 0);
        ck_assert_str_eq(json_string_value(json_object_get(ret, "id")), "b-1");
        json_decref(ret);
        ck_assert_int_eq(hc_bench_get(cli, "a b/..", NULL, &err), 0);

        FakeRequest *r = fake_request(srv, 0);
        ck_assert_str_eq(r->method, "POST");
        ck_assert_str_eq(r->target, "/v1/benchmarks");
        ck_assert_str_eq(fake_header(r, "Content-Type"), "application/json");
        json_t *sent = json_loadb(r->body, r->body_len, 0, NULL);
        ck_assert_ptr_nonnull(sent);
        ck_assert(json_equal(sent, req));
        json_decref(sent);
        r = fake_request(srv, 1);
        ck_assert_str_eq(r->method, "GET");
        ck_assert_str_eq(r->target, "/v1/benchmarks");
        ck_assert_str_eq(fake_request(srv, 2)->target, "/v1/benchmarks/b-1");
        ck_assert_str_eq(fake_request(srv, 3)->method, "GET");
        ck_assert_str_eq(fake_request(srv, 3)->target, "/v1/benchmarks/b-1/compare/b-2");
        ck_assert_str_eq(fake_request(srv, 4)->method, "DELETE");
        ck_assert_str_eq(fake_request(srv, 4)->target, "/v1/benchmarks/b-1");
        ck_assert_str_eq(fake_request(srv, 5)->target, "/v1/benchmarks/a%20b%2F..");
        json_decref(req);
}
END_TEST

START_TEST(test_bench_rendered)
{
        static const char md[] = "# Benchmark b-1\n\n| | VM | container |\n|---|---|---|\n";
        static const char svg[] = "<svg xmlns=\"http://www.w3.org/2000/svg\"><rect/></svg>\n";
        char *text = NULL;
        size_t len = 0;
        HcError err;

        fake_push_text(srv, "text/markdown; charset=utf-8", md);
        fake_push_text(srv, "image/svg+xml", svg);
        fake_push_text(srv, "text/markdown", "");
        /* A server that ignored ?format=markdown: its JSON is not taken for the report. */
        fake_push(srv, 200, NULL, "{\"id\": \"b-1\"}");
        fake_push(srv, 404, NULL,
                  "{\"error\": {\"code\": \"not_found\", \"message\": \"benchmark `b-9` not "
                  "found\"}}");
        fake_push_text(srv, "text/html", "<html></html>");

        ck_assert_int_eq(hc_bench_markdown(cli, "b-1", &text, &err), 0);
        ck_assert_str_eq(text, md);
        free(text);
        ck_assert_int_eq(hc_bench_svg(cli, "b-1", &text, &len, &err), 0);
        ck_assert_str_eq(text, svg);
        ck_assert_uint_eq(len, strlen(svg));
        free(text);
        ck_assert_int_eq(hc_bench_markdown(cli, "b-1", &text, &err), 0);
        ck_assert_str_eq(text, "");
        free(text);

        text = (char *)1;
        ck_assert_int_eq(hc_bench_markdown(cli, "b-1", &text, &err), -EBADMSG);
        ck_assert_ptr_null(text);
        ck_assert_str_eq(err.code, "protocol");
        ck_assert_msg(strstr(err.message, "JSON instead of text/markdown"), "%s", err.message);
        text = (char *)1;
        len = 99;
        ck_assert_int_eq(hc_bench_svg(cli, "b-9", &text, &len, &err), -ENOENT);
        ck_assert_ptr_null(text);
        ck_assert_uint_eq(len, 0);
        ck_assert_int_eq(err.http_status, 404);
        ck_assert_str_eq(err.message, "benchmark `b-9` not found");
        ck_assert_int_eq(hc_bench_svg(cli, "b-1", &text, NULL, &err), -EBADMSG);
        ck_assert_ptr_null(text);

        FakeRequest *r = fake_request(srv, 0);
        ck_assert_str_eq(r->method, "GET");
        ck_assert_str_eq(r->target, "/v1/benchmarks/b-1?format=markdown");
        ck_assert_str_eq(fake_header(r, "Accept"), "text/markdown");
        r = fake_request(srv, 1);
        ck_assert_str_eq(r->target, "/v1/benchmarks/b-1/chart.svg");
        ck_assert_str_eq(fake_header(r, "Accept"), "image/svg+xml");
        ck_assert_str_eq(fake_request(srv, 4)->target, "/v1/benchmarks/b-9/chart.svg");
}
END_TEST

START_TEST(test_bench_errors)
{
        json_t *ret = (json_t *)1;
        json_t *req = json_pack("{s:[s], s:s, s:s}", "workloads", "all", "container_image", "nope",
                                "vm_image", "tiny");
        HcError err;

        fake_push(srv, 400, NULL,
                  "{\"error\": {\"code\": \"invalid_argument\", \"message\": \"repetitions must "
                  "be between 1 and 50\", \"field\": \"repetitions\"}}");
        fake_push(srv, 404, NULL,
                  "{\"error\": {\"code\": \"not_found\", \"message\": \"image `nope` not "
                  "found\", \"field\": \"container_image\"}}");
        fake_push(srv, 503, NULL,
                  "{\"error\": {\"code\": \"unavailable\", \"message\": \"vm driver "
                  "unavailable: no libvirt\"}}");
        /* A 2xx that is not an operation. */
        fake_push(srv, 202, NULL, "{\"status\": \"pending\"}");
        fake_push(srv, 409, NULL,
                  "{\"error\": {\"code\": \"conflict\", \"message\": \"benchmark `b-1` is "
                  "running\"}}");
        fake_push(srv, 404, NULL,
                  "{\"error\": {\"code\": \"not_found\", \"message\": \"benchmark `b-2` not "
                  "found\"}}");

        ck_assert_int_eq(hc_bench_start(cli, req, &ret, &err), -EINVAL);
        ck_assert_ptr_null(ret);
        ck_assert_int_eq(err.http_status, 400);
        ck_assert_str_eq(err.field, "repetitions");
        ck_assert_int_eq(hc_bench_start(cli, req, &ret, &err), -ENOENT);
        ck_assert_str_eq(err.code, "not_found");
        ck_assert_str_eq(err.field, "container_image");
        ck_assert_int_eq(hc_bench_start(cli, req, &ret, &err), -EHOSTDOWN);
        ck_assert_str_eq(err.code, "unavailable");
        ck_assert_int_eq(hc_bench_start(cli, req, &ret, &err), -EBADMSG);
        ck_assert_ptr_null(ret);
        ck_assert_str_eq(err.code, "protocol");
        ck_assert_int_eq(hc_bench_delete(cli, "b-1", &ret, &err), -EBUSY);
        ck_assert_ptr_null(ret);
        ck_assert_str_eq(err.message, "benchmark `b-1` is running");
        ck_assert_int_eq(hc_bench_compare(cli, "b-1", "b-2", &ret, &err), -ENOENT);
        ck_assert_ptr_null(ret);
        ck_assert_str_eq(fake_request(srv, 5)->target, "/v1/benchmarks/b-1/compare/b-2");

        /* Refused before any request. */
        char *text = (char *)1;
        json_t *arr = json_array();
        ck_assert_int_eq(hc_bench_start(cli, NULL, &ret, &err), -EINVAL);
        ck_assert_str_eq(err.code, "invalid_argument");
        ck_assert_int_eq(hc_bench_start(cli, arr, &ret, &err), -EINVAL);
        ck_assert_int_eq(hc_bench_start(NULL, req, &ret, &err), -EINVAL);
        ck_assert_int_eq(hc_bench_get(cli, "", &ret, &err), -EINVAL);
        ck_assert_int_eq(hc_bench_get(cli, NULL, &ret, &err), -EINVAL);
        ck_assert_int_eq(hc_bench_delete(cli, "", &ret, &err), -EINVAL);
        ck_assert_int_eq(hc_bench_compare(cli, "b-1", NULL, &ret, &err), -EINVAL);
        ck_assert_int_eq(hc_bench_compare(cli, "b-1", "", &ret, &err), -EINVAL);
        ck_assert_int_eq(hc_bench_compare(cli, "", "b-2", &ret, &err), -EINVAL);
        ck_assert_ptr_null(ret);
        ck_assert_int_eq(hc_bench_markdown(cli, "", &text, &err), -EINVAL);
        ck_assert_ptr_null(text);
        ck_assert_int_eq(hc_bench_svg(NULL, "b-1", &text, NULL, &err), -EINVAL);
        ck_assert_uint_eq(srv->n_requests, 6);
        json_decref(arr);
        json_decref(req);
}
END_TEST

/* ---- Port forwards (no server) -------------------------------------------------------- */

static void port_ok(const char *s, int host_port, int port, const char *proto)
{
        json_t *p = NULL;
        HcError err;
        ck_assert_msg(hc_port_forward_parse(s, &p, &err) == 0, "%s: %s", s, err.message);
        ck_assert_str_eq(err.code, "");
        ck_assert_int_eq(json_integer_value(json_object_get(p, "host_port")), host_port);
        ck_assert_int_eq(json_integer_value(json_object_get(p, "port")), port);
        ck_assert_str_eq(json_string_value(json_object_get(p, "protocol")), proto);
        ck_assert_uint_eq(json_object_size(p), 3);
        json_decref(p);
        ck_assert_int_eq(hc_port_forward_parse(s, NULL, NULL), 0);
}

static void port_bad(const char *s, const char *msg)
{
        json_t *p = (json_t *)1;
        HcError err;
        ck_assert_int_eq(hc_port_forward_parse(s, &p, &err), -EINVAL);
        ck_assert_ptr_null(p);
        ck_assert_str_eq(err.code, "invalid_argument");
        ck_assert_int_eq(err.http_status, 0);
        ck_assert_msg(strstr(err.message, msg), "%s: `%s` lacks `%s`", s ? s : "NULL", err.message,
                      msg);
        ck_assert_int_eq(hc_port_forward_parse(s, NULL, NULL), -EINVAL);
}

START_TEST(test_port_forward_parse)
{
        port_ok("8080:80", 8080, 80, "tcp");
        port_ok("8080:80/tcp", 8080, 80, "tcp");
        port_ok("53:53/udp", 53, 53, "udp");
        port_ok("1:65535", 1, 65535, "tcp");
        port_ok("65535:1/udp", 65535, 1, "udp");
        port_ok("08080:080", 8080, 80, "tcp");

        port_bad(NULL, "must not be empty");
        port_bad("", "must not be empty");
        port_bad("80", "not a port forward");
        port_bad("80/tcp", "not a port forward");
        port_bad("127.0.0.1:8080:80", "not a port forward");
        port_bad("::80", "not a port forward");
        port_bad(":80", "host port must be a number");
        port_bad("8080:", "instance's port must be a number");
        port_bad("8080:/tcp", "instance's port must be a number");
        port_bad("0:80", "host port must be a number from 1 to 65535");
        port_bad("65536:80", "host port");
        port_bad("100000:80", "host port");
        port_bad("8080:0", "instance's port");
        port_bad("8080:65536", "instance's port");
        port_bad("-1:80", "host port");
        port_bad("+80:80", "host port");
        port_bad(" 80:80", "host port");
        port_bad("80:80 ", "instance's port");
        port_bad("8000-8010:8000-8010", "host port");
        port_bad("8080:80/sctp", "protocol must be tcp or udp, not `sctp`");
        port_bad("8080:80/TCP", "protocol must be tcp or udp");
        port_bad("8080:80/", "protocol must be tcp or udp");
        port_bad("8080:80/tcp/udp", "protocol must be tcp or udp");
        port_bad("a:b", "host port");
}
END_TEST

static Suite *client_suite(void)
{
        Suite *s = suite_create("client");
        TCase *tc = tcase_create("requests");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 30);
        tcase_add_test(tc, test_server_info);
        tcase_add_test(tc, test_bearer_token);
        tcase_add_test(tc, test_tcp_url);
        tcase_add_test(tc, test_list_query_escaping);
        tcase_add_test(tc, test_get_escapes_name_and_returns_etag);
        tcase_add_test(tc, test_create_sends_spec);
        tcase_add_test(tc, test_patch_labels_if_match);
        tcase_add_test(tc, test_delete_and_actions);
        tcase_add_test(tc, test_operations);
        tcase_add_test(tc, test_operation_check);
        tcase_add_test(tc, test_api_errors);
        tcase_add_test(tc, test_connect_error);
        tcase_add_test(tc, test_timeout);
        tcase_add_test(tc, test_keep_alive);
        tcase_add_test(tc, test_request_low_level);
        tcase_add_test(tc, test_metrics);
        tcase_add_test(tc, test_escape_and_env);
        tcase_add_test(tc, test_image_requests);
        tcase_add_test(tc, test_image_errors);
        tcase_add_test(tc, test_image_import_streams_file);
        tcase_add_test(tc, test_image_import_errors);
        tcase_add_test(tc, test_events_stream_ends);
        tcase_add_test(tc, test_events_callback_stops);
        tcase_add_test(tc, test_events_errors);
        tcase_add_test(tc, test_logs_stream_in_chunks);
        tcase_add_test(tc, test_logs_follow_callback_stops);
        tcase_add_test(tc, test_logs_errors);
        tcase_add_test(tc, test_exec_utf8);
        tcase_add_test(tc, test_exec_base64);
        tcase_add_test(tc, test_exec_output_decoding);
        tcase_add_test(tc, test_exec_errors);
        tcase_add_test(tc, test_instance_stats);
        tcase_add_test(tc, test_network_requests);
        tcase_add_test(tc, test_network_errors);
        tcase_add_test(tc, test_bench_requests);
        tcase_add_test(tc, test_bench_rendered);
        tcase_add_test(tc, test_bench_errors);
        suite_add_tcase(s, tc);

        tc = tcase_create("pure");
        tcase_add_test(tc, test_port_forward_parse);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        SRunner *sr = srunner_create(client_suite());
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
