/* bare-mhd: the reference server for bench/api-throughput.sh.
 *
 * A libmicrohttpd server with no application logic: every request is answered
 * with a constant JSON body of a given size, with the headers hostd sends
 * (Content-Type, ETag, and Location on POST/DELETE). It shows the req/s and
 * latency libmicrohttpd itself reaches on this machine, so hostd's figures can
 * be given as a ratio to it.
 *
 *   bare-mhd PORT GET_BYTES [--post-bytes N] [--delete-bytes N] [--mode thread|pool]
 *
 *   GET    -> 200, GET_BYTES of JSON, ETag
 *   POST   -> 201, --post-bytes of JSON (default GET_BYTES), ETag, Location
 *   DELETE -> 200, --delete-bytes of JSON (default GET_BYTES), Location
 *   other  -> 405
 *
 * --mode thread (default) uses hostd's threading mode and limits:
 *   MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL |
 *   MHD_USE_ITC, connection limit 256, timeout 60 s, 64 KiB per connection.
 * --mode pool uses an epoll thread pool of nproc threads instead.
 *
 * Like hostd, the response is queued on the second call of the access handler
 * (the first only sets up per-request state), and request bodies are read and
 * dropped. Listens on 127.0.0.1 only. Stops on SIGINT/SIGTERM.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct Body {
        char *data;
        size_t len;
} Body;

static Body get_body, post_body, delete_body;
static const char setup_marker; /* *con_cls after the first call */

/* Makes a valid JSON object of exactly len bytes (len >= 16), newline-terminated
 * like hostd's: {"pad":"xxxx...x"}\n */
static int make_body(Body *b, size_t len)
{
        const char *head = "{\"pad\":\"", *tail = "\"}\n";
        size_t fixed = strlen(head) + strlen(tail);
        if (len < fixed + 1)
                len = fixed + 1;
        b->data = malloc(len + 1);
        if (!b->data)
                return -1;
        memcpy(b->data, head, strlen(head));
        memset(b->data + strlen(head), 'x', len - fixed);
        memcpy(b->data + len - strlen(tail), tail, strlen(tail));
        b->data[len] = '\0';
        b->len = len;
        return 0;
}

static enum MHD_Result access_cb(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version, const char *upload_data,
                                 size_t *upload_data_size, void **con_cls)
{
        if (*con_cls == NULL) {
                *con_cls = (void *)&setup_marker;
                return MHD_YES;
        }
        if (*upload_data_size > 0) {
                *upload_data_size = 0; /* read and drop the body */
                return MHD_YES;
        }

        const Body *b;
        unsigned status;
        const char *etag = NULL, *location = NULL;
        if (strcmp(method, MHD_HTTP_METHOD_GET) == 0) {
                b = &get_body;
                status = MHD_HTTP_OK;
                etag = "\"1\"";
        } else if (strcmp(method, MHD_HTTP_METHOD_POST) == 0) {
                b = &post_body;
                status = MHD_HTTP_CREATED;
                etag = "\"1\"";
                location = "/v1/instances/bare";
        } else if (strcmp(method, MHD_HTTP_METHOD_DELETE) == 0) {
                b = &delete_body;
                status = MHD_HTTP_OK;
                location = "/v1/operations/00000000-0000-4000-8000-000000000000";
        } else {
                static char none[] = "{}\n";
                struct MHD_Response *r =
                        MHD_create_response_from_buffer(3, none, MHD_RESPMEM_PERSISTENT);
                MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, POST, DELETE");
                enum MHD_Result ret = MHD_queue_response(conn, MHD_HTTP_METHOD_NOT_ALLOWED, r);
                MHD_destroy_response(r);
                return ret;
        }

        /* One response object per request, as hostd does (its headers differ
         * per request); the body itself is shared and never copied. */
        struct MHD_Response *r =
                MHD_create_response_from_buffer(b->len, b->data, MHD_RESPMEM_PERSISTENT);
        if (!r)
                return MHD_NO;
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
        if (etag)
                MHD_add_response_header(r, MHD_HTTP_HEADER_ETAG, etag);
        if (location)
                MHD_add_response_header(r, MHD_HTTP_HEADER_LOCATION, location);
        enum MHD_Result ret = MHD_queue_response(conn, status, r);
        MHD_destroy_response(r);
        return ret;
}

static void completed_cb(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
        *con_cls = NULL;
}

static int listen_fd(unsigned port)
{
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -1;
        int one = 1;
        (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        struct sockaddr_in sa = { .sin_family = AF_INET,
                                  .sin_port = htons((uint16_t)port),
                                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 512) < 0) {
                close(fd);
                return -1;
        }
        return fd;
}

static long parse_size(const char *s, const char *what)
{
        char *end;
        errno = 0;
        long v = strtol(s, &end, 10);
        if (errno || *end || v < 0 || v > 16 * 1024 * 1024) {
                fprintf(stderr, "bare-mhd: bad %s `%s`\n", what, s);
                exit(2);
        }
        return v;
}

static void usage(FILE *f)
{
        fprintf(f, "usage: bare-mhd PORT GET_BYTES [--post-bytes N] [--delete-bytes N] "
                   "[--mode thread|pool]\n");
}

int main(int argc, char **argv)
{
        const char *mode = "thread";
        long post_len = -1, delete_len = -1;
        const char *pos[2];
        int npos = 0;
        for (int i = 1; i < argc; i++) {
                if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
                        usage(stdout);
                        return 0;
                } else if (strcmp(argv[i], "--mode") == 0 && i + 1 < argc) {
                        mode = argv[++i];
                } else if (strcmp(argv[i], "--post-bytes") == 0 && i + 1 < argc) {
                        post_len = parse_size(argv[++i], "--post-bytes");
                } else if (strcmp(argv[i], "--delete-bytes") == 0 && i + 1 < argc) {
                        delete_len = parse_size(argv[++i], "--delete-bytes");
                } else if (argv[i][0] != '-' && npos < 2) {
                        pos[npos++] = argv[i];
                } else {
                        usage(stderr);
                        return 2;
                }
        }
        if (npos != 2 || (strcmp(mode, "thread") != 0 && strcmp(mode, "pool") != 0)) {
                usage(stderr);
                return 2;
        }
        long port = parse_size(pos[0], "port");
        long get_len = parse_size(pos[1], "GET_BYTES");
        if (port < 1 || port > 65535) {
                fprintf(stderr, "bare-mhd: bad port `%s`\n", pos[0]);
                return 2;
        }
        if (make_body(&get_body, (size_t)get_len) < 0 ||
            make_body(&post_body, (size_t)(post_len >= 0 ? post_len : get_len)) < 0 ||
            make_body(&delete_body, (size_t)(delete_len >= 0 ? delete_len : get_len)) < 0) {
                fprintf(stderr, "bare-mhd: out of memory\n");
                return 1;
        }

        int fd = listen_fd((unsigned)port);
        if (fd < 0) {
                fprintf(stderr, "bare-mhd: cannot listen on 127.0.0.1:%ld: %s\n", port,
                        strerror(errno));
                return 1;
        }

        /* Block the stop signals before MHD starts its threads, so they inherit
         * the mask and only sigwait() below sees them. */
        sigset_t stop;
        sigemptyset(&stop);
        sigaddset(&stop, SIGINT);
        sigaddset(&stop, SIGTERM);
        pthread_sigmask(SIG_BLOCK, &stop, NULL);

        struct MHD_Daemon *d;
        if (strcmp(mode, "thread") == 0) {
                d = MHD_start_daemon(
                        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                                MHD_USE_POLL | MHD_USE_ITC | MHD_USE_ERROR_LOG,
                        0, NULL, NULL, access_cb, NULL, MHD_OPTION_LISTEN_SOCKET, fd,
                        MHD_OPTION_NOTIFY_COMPLETED, completed_cb, NULL,
                        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60, MHD_OPTION_CONNECTION_LIMIT,
                        (unsigned)256, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024),
                        MHD_OPTION_END);
        } else {
                long n = sysconf(_SC_NPROCESSORS_ONLN);
                if (n < 1)
                        n = 1;
                d = MHD_start_daemon(
                        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC |
                                MHD_USE_ERROR_LOG,
                        0, NULL, NULL, access_cb, NULL, MHD_OPTION_LISTEN_SOCKET, fd,
                        MHD_OPTION_NOTIFY_COMPLETED, completed_cb, NULL,
                        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)n, MHD_OPTION_CONNECTION_TIMEOUT,
                        (unsigned)60, MHD_OPTION_CONNECTION_LIMIT, (unsigned)256,
                        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024), MHD_OPTION_END);
        }
        if (!d) {
                fprintf(stderr, "bare-mhd: MHD_start_daemon failed (mode %s)\n", mode);
                close(fd);
                return 1;
        }
        fprintf(stderr, "bare-mhd: 127.0.0.1:%ld mode %s, bodies GET %zu POST %zu DELETE %zu\n",
                port, mode, get_body.len, post_body.len, delete_body.len);

        int sig;
        sigwait(&stop, &sig);
        MHD_stop_daemon(d);
        close(fd);
        free(get_body.data);
        free(post_body.data);
        free(delete_body.data);
        return 0;
}
