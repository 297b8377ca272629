/* libhostclient: a small C client for the hostd REST API (v1).
 *
 * Every call returns an int: >= 0 on success, a negative errno-style code on failure.
 * On failure the optional HcError is filled with what went wrong: the HTTP status and
 * the API's error code, message and field, or the transport (curl) error. On success
 * the HcError is cleared. Decoded response bodies are handed back through json_t **ret
 * (when ret is non-NULL); the caller owns them and releases them with json_decref().
 * On failure *ret is set to NULL.
 *
 * Threads: an HcClient holds one connection (kept alive between requests) and must be
 * used by one thread at a time. Different clients may be used from different threads
 * concurrently. The library never logs and never exits.
 *
 * Errors: transport failures give -ECONNREFUSED (or the socket's errno, e.g. -ENOENT),
 * -ETIMEDOUT or -EIO; HTTP errors map to -EINVAL (400), -EACCES (401/403),
 * -ENOENT (404), -EOPNOTSUPP (405/501), -EBUSY (409), -ESTALE (412), -E2BIG (413),
 * -EPROTO (415), -EAGAIN (429), -EHOSTDOWN (503), -ENOSPC (507) and -EIO (others);
 * a response that is not the expected JSON gives -EBADMSG. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#ifdef __cplusplus
extern "C" {
#endif

#define HC_DEFAULT_SOCKET "/run/hostd/hostd.sock"

typedef struct HcClient HcClient;

typedef struct HcError {
        int http_status;   /* 0 when no HTTP response was received */
        char code[64];     /* the API's error code ("not_found", …), or a client-side
                            * code ("connect_failed", "timeout", "transport", "protocol",
                            * "invalid_argument", "cancelled", "io" for a local file) */
        char message[512]; /* human readable, lowercase, no trailing period */
        char field[128];   /* dotted path of the offending field, or "" */
        int curl_code;     /* CURLcode of a transport failure, or 0 */
} HcError;

typedef struct HcOptions {
        /* Where hostd listens. url ("http://host:port", "https://…") wins when set;
         * otherwise socket_path; otherwise HC_DEFAULT_SOCKET. */
        const char *socket_path;
        const char *url;
        /* Sent as "Authorization: Bearer <token>" when non-NULL and non-empty. */
        const char *token;
        /* Limit for a whole ordinary request, in seconds: 0 means 30, negative means
         * none. Calls that wait on the server (wait_s, timeout_s arguments) get that
         * time added; hc_events_follow() has no overall limit. */
        int timeout_s;
        /* PEM file of the CA that signed hostd's TLS certificate, for https://
         * URLs whose certificate the system's store does not vouch for. */
        const char *ca_file;
} HcOptions;

/* Filters and paging for hc_instance_list(); every field is optional (NULL/0). */
typedef struct HcListOptions {
        const char *kind;          /* "container" | "vm" */
        const char *state;         /* "running", … */
        const char *const *labels; /* "key=value" strings, all must match */
        size_t n_labels;
        int limit;         /* page size 1..1000; 0 = server default */
        const char *after; /* cursor from the previous page's "next" */
} HcListOptions;

/* Filters and paging for hc_operation_list(); every field is optional (NULL/0). */
typedef struct HcOperationListOptions {
        const char *status;   /* "pending", "running", "success", "failure", "cancelled" */
        const char *instance; /* name or UUID */
        int limit;
        const char *after;
} HcOperationListOptions;

/* What hc_image_import() uploads, and as what. */
typedef struct HcImageImport {
        const char *name;   /* required, e.g. "library/busybox" */
        const char *tag;    /* NULL or "" = "latest" (the server's default) */
        const char *kind;   /* "container" | "vm" */
        const char *format; /* container: "rootfs", "oci-archive", "docker-archive";
                             * vm: "qcow2", "raw", "kernel" */
        const char *path;   /* the image file; when NULL, fd is read instead */
        int fd;             /* read from its current offset to the end; not closed */
} HcImageImport;

/* Progress of hc_image_import() (bytes of the file sent so far), hc_image_pull() and
 * hc_image_push() (bytes transferred by hostd) of total (-1 when the size is not known). Return 0
 * to go on; anything else aborts the upload, and the import then fails with that value when it is
 * negative, -ECANCELED otherwise. */
typedef int (*HcProgressCallback)(int64_t done, int64_t total, void *userdata);

/* Callback of hc_events_follow(): return 0 to go on, > 0 to stop (the follow call then
 * returns 0), < 0 to stop with that error. The event is borrowed: json_incref() it to
 * keep it past the call. */
typedef int (*HcEventCallback)(json_t *event, void *userdata);

/* ---- Client ------------------------------------------------------------------------ */

/* Fills opts from HOSTD_SOCKET, HOSTD_URL, HOSTD_TOKEN (the token value itself) and
 * HOSTD_CACERT;
 * variables that are unset or empty leave their field as it is. The strings point into
 * the environment. Returns the number of variables used. */
int hc_options_from_env(HcOptions *opts);

/* Creates a client; nothing is connected until the first request. opts may be NULL
 * (default socket, no token). Returns NULL and fills err on bad options (a URL that is
 * not http(s)://, a token with control characters) or when curl cannot be set up. The
 * option strings are copied. */
HcClient *hc_client_new(const HcOptions *opts, HcError *err);

/* Closes the connection and frees the client; NULL is fine. */
void hc_client_free(HcClient *client);

/* What the client talks to, as error messages name it: the socket path or the base URL. */
const char *hc_client_endpoint(const HcClient *client);

/* ---- Low level ----------------------------------------------------------------------- */

/* Sends one request. path_and_query starts with '/' and must already be escaped (see
 * hc_escape()). body (borrowed, may be NULL) is sent as application/json. A 2xx answer
 * with a JSON body is decoded into *ret (NULL when the body is empty); a 4xx/5xx answer
 * is an error, decoded from {"error": {…}} into err. *ret_status gets the HTTP status
 * whenever a response arrived (0 otherwise). Returns the HTTP status on success. */
int hc_request(HcClient *client, const char *method, const char *path_and_query, json_t *body,
               long *ret_status, json_t **ret, HcError *err);

/* Percent-escapes s for use as one path segment or query value (everything but
 * A-Z a-z 0-9 - . _ ~). Returns a malloc()ed string, or NULL on allocation failure. */
char *hc_escape(const char *s);

/* ---- Server -------------------------------------------------------------------------- */

/* GET /v1: ServerInfo. */
int hc_server_info(HcClient *client, json_t **ret, HcError *err);

/* GET /v1/host: HostInfo (capacity and allocation). */
int hc_host_info(HcClient *client, json_t **ret, HcError *err);

/* GET /metrics: the Prometheus text, malloc()ed into *ret_text. */
int hc_metrics(HcClient *client, char **ret_text, HcError *err);

/* ---- Instances ----------------------------------------------------------------------- */

/* GET /v1/instances: one page, {"instances": […], "next": cursor|null}. opts may be NULL. */
int hc_instance_list(HcClient *client, const HcListOptions *opts, json_t **ret, HcError *err);

/* POST /v1/instances with an InstanceSpec (borrowed). *ret gets the Instance and
 * *ret_etag (optional, malloc()ed) its ETag. */
int hc_instance_create(HcClient *client, json_t *spec, json_t **ret, char **ret_etag, HcError *err);

/* GET /v1/instances/{name}: name or UUID. *ret_etag (optional) gets the ETag, quotes
 * included, ready to pass as if_match. */
int hc_instance_get(HcClient *client, const char *name, json_t **ret, char **ret_etag,
                    HcError *err);

/* PATCH /v1/instances/{name} with a JSON merge patch (borrowed). if_match (optional)
 * makes the change conditional: a concurrent change gives -ESTALE (412). */
int hc_instance_patch(HcClient *client, const char *name, json_t *patch, const char *if_match,
                      json_t **ret, char **ret_etag, HcError *err);

/* Same, with the patch {"labels": labels}: a value null removes that label. */
int hc_instance_patch_labels(HcClient *client, const char *name, json_t *labels,
                             const char *if_match, json_t **ret, char **ret_etag, HcError *err);

/* DELETE /v1/instances/{name}: *ret gets the Operation. force stops it first; wait_s > 0
 * waits up to that long (max 3600) on the server for the operation to finish. */
int hc_instance_delete(HcClient *client, const char *name, bool force, int wait_s, json_t **ret,
                       HcError *err);

/* POST /v1/instances/{name}/{action}: action is one of start, stop, restart, kill, pause,
 * resume. args (borrowed, may be NULL) is the optional body: {"timeout": s} for stop and
 * restart, {"signal": "TERM"|n} for kill. wait_s as for hc_instance_delete(). *ret gets
 * the Operation; an operation that finished with status "failure" is still a success
 * of this call — see hc_operation_check(). */
int hc_instance_action(HcClient *client, const char *name, const char *action, json_t *args,
                       int wait_s, json_t **ret, HcError *err);

/* ---- Instance I/O: logs, exec, stats ------------------------------------------------- */

/* What hc_instance_logs() asks for; opts NULL means { .tail = -1 }. */
typedef struct HcLogsOptions {
        int64_t tail;       /* only the last N lines (0: none, handy with follow); -1: all */
        bool follow;        /* go on streaming until the instance's process ends */
        bool timestamps;    /* each line starts with an RFC 3339 UTC time (ns) and a space */
        const char *stream; /* "stdout", "stderr" or "all"; NULL or "" = all */
} HcLogsOptions;

/* Callback of hc_instance_logs(): data is a slice of the log as it arrived (len > 0, not
 * NUL-terminated, lines may be split across calls), borrowed for the call. Return 0 to
 * go on, > 0 to stop (the logs call then returns 0), < 0 to stop with that error. */
typedef int (*HcLogsCallback)(const char *data, size_t len, void *userdata);

/* GET /v1/instances/{name}/logs: the container's output (text/plain, stdout and stderr
 * interleaved in time order unless opts->stream picks one), handed to cb in chunks as
 * it arrives; never held whole. Without follow the call returns 0 once the server has
 * sent everything, and fails when nothing arrives for a minute. With follow it has no
 * time limit at all (like hc_events_follow()): it returns 0 when the instance's process
 * ends and the server ends the response, or when cb asks to stop. Errors: 400 naming
 * `tail`, `follow`, `timestamps` or `stream`, 404, 501 (the driver cannot), 503; a
 * stream cut short is a transport error (-EIO). */
int hc_instance_logs(HcClient *client, const char *name, const HcLogsOptions *opts,
                     HcLogsCallback cb, void *userdata, HcError *err);

/* What hc_instance_exec() runs. */
typedef struct HcExecRequest {
        const char *const *command; /* the program and its arguments: 1..256 strings */
        size_t n_command;
        const char *const *env; /* "KEY=VALUE" strings to add; may be NULL */
        size_t n_env;
        const char *workdir;    /* absolute directory; NULL = the instance's */
        const char *user;       /* "uid[:gid]" or "name[:group]"; NULL = the instance's */
        const void *stdin_data; /* fed to the command's stdin; NULL = none (empty) */
        size_t stdin_len;
        int timeout_s; /* 1..3600; 0 = the server's default (60) */
} HcExecRequest;

/* POST /v1/instances/{name}/exec: runs a command in the running instance and waits for
 * it (the client's time limit is extended by the command's timeout). stdin is sent as
 * a JSON string when it is valid UTF-8 without NUL bytes, base64 otherwise. *ret gets
 * the ExecResult: {"exit_code", "stdout", "stderr", "encoding", "truncated",
 * "timed_out"}; read the outputs with hc_exec_output(). A command that fails or times
 * out (exit_code 137, timed_out true) is still a success of this call. Errors: 400
 * naming the field, 404, 409 (the instance is not running), 413 (stdin too large for
 * a request body), 501, 503. */
int hc_instance_exec(HcClient *client, const char *name, const HcExecRequest *req, json_t **ret,
                     HcError *err);

/* One output of an ExecResult, which is "stdout" or "stderr", decoded from base64 when
 * the result's "encoding" says so. *ret gets a malloc()ed copy, NUL-terminated for
 * convenience (the output itself may hold NUL bytes), *ret_len its length (optional).
 * Returns 0, -EINVAL for another which, -EBADMSG when the member is missing or not valid
 * base64 or the encoding is unknown, -ENOMEM. */
int hc_exec_output(const json_t *result, const char *which, char **ret, size_t *ret_len);

/* GET /v1/instances/{name}/stats: *ret gets the InstanceStats ({"time", "cpu": {…},
 * "memory": {…}, "pids": {…}, "io": {…}}). Errors: 404, 409 (not running), 501, 503. */
int hc_instance_stats(HcClient *client, const char *name, json_t **ret, HcError *err);

/* ---- Operations ---------------------------------------------------------------------- */

/* GET /v1/operations: one page, newest first. opts may be NULL. */
int hc_operation_list(HcClient *client, const HcOperationListOptions *opts, json_t **ret,
                      HcError *err);

/* GET /v1/operations/{id}. */
int hc_operation_get(HcClient *client, const char *id, json_t **ret, HcError *err);

/* Waits up to timeout_s seconds (0: just fetch it) for the operation to reach a final
 * status, using GET /v1/operations/{id}/wait, and returns it as it is then: a wait that
 * expires is not an error — check "status" or hc_operation_is_final(). */
int hc_operation_wait(HcClient *client, const char *id, int timeout_s, json_t **ret, HcError *err);

/* DELETE /v1/operations/{id}: cancels; -EBUSY (409) when it is already final. */
int hc_operation_cancel(HcClient *client, const char *id, json_t **ret, HcError *err);

/* True when the Operation's status is success, failure or cancelled. */
bool hc_operation_is_final(const json_t *operation);

/* Turns an Operation's outcome into an error: 0 for "success", -EIO for "failure"
 * (err gets the operation's error code and message), -ECANCELED for "cancelled",
 * -EINPROGRESS while it is not final. */
int hc_operation_check(const json_t *operation, HcError *err);

/* ---- Images ------------------------------------------------------------------------- */

/* GET /v1/images: {"images": […]}, ordered by name and tag. kind ("container" | "vm")
 * filters; NULL or "" lists every kind. */
int hc_image_list(HcClient *client, const char *kind, json_t **ret, HcError *err);

/* GET /v1/images/{ref}: ref is "name", "name:tag" or "sha256:<hex>". Names may hold
 * '/' ("library/busybox:1.36"): each segment is escaped, the slashes are kept. */
int hc_image_get(HcClient *client, const char *ref, json_t **ret, HcError *err);

/* POST /v1/images: uploads the file as the request body (application/octet-stream),
 * streamed from disk in small reads with its size announced in Content-Length; it is
 * never held in memory. A file or fd that is not a regular file is sent chunked, its
 * size unknown. progress (optional) is called with userdata as bytes go out. *ret
 * gets the new Image. An import has no overall time limit: it fails when nothing moves
 * for 10 minutes (the server verifies and unpacks after the last byte), never when the
 * client's timeout_s is negative. Besides the HTTP errors (400 naming "name", "tag",
 * "kind", "format" or "body"; 409 name:tag taken; 413 over the upload limit; 415),
 * a file that cannot be read gives its -errno and one that shrinks while it is sent
 * -EIO. */
int hc_image_import(HcClient *client, const HcImageImport *import, HcProgressCallback progress,
                    void *userdata, json_t **ret, HcError *err);

/* DELETE /v1/images/{ref}: *ret gets the deleted Image. -EBUSY (409) while instances use
 * it (the message gives the count). */
int hc_image_delete(HcClient *client, const char *ref, json_t **ret, HcError *err);

/* POST /v1/images/prune: removes layers and blobs no image uses; *ret gets
 * {"layers_removed": n, "blobs_removed": n, "bytes_freed": n}. */
int hc_image_prune(HcClient *client, json_t **ret, HcError *err);

/* POST /v1/images/pull: hostd fetches ref (HOST[:PORT]/REPO[:TAG|@sha256:…]) from an
 * OCI registry, as an operation that this call follows to its end. tls_verify false
 * accepts unverified certificates and plain http. name/tag (optional) name the local
 * image. progress (optional) gets the operation's bytes done of total (-1: not known yet)
 * about four times a second; returning non-zero cancels the pull. *ret gets the Image
 * once pulled. A refused request fails with its HTTP error (400 naming the field, 409
 * name:tag taken); a transfer that fails gives -EIO with the operation's error code
 * ("forbidden", "not_found", "bad_gateway", "invalid_argument") and message. */
typedef struct HcImagePull {
        const char *ref;
        const char *name;
        const char *tag;
        bool tls_verify;
        const char *username;
        const char *password;
} HcImagePull;
int hc_image_pull(HcClient *client, const HcImagePull *pull, HcProgressCallback progress,
                  void *userdata, json_t **ret, HcError *err);

/* POST /v1/images/{image}/push: hostd sends the container image to ref
 * (HOST[:PORT]/REPO[:TAG]; the tag defaults to the image's), as an operation followed
 * like a pull's. The manifest is sent as stored, so the image keeps its digest. *ret
 * gets the final operation. */
typedef struct HcImagePush {
        const char *ref;
        bool tls_verify;
        const char *username;
        const char *password;
} HcImagePush;
int hc_image_push(HcClient *client, const char *image, const HcImagePush *push,
                  HcProgressCallback progress, void *userdata, json_t **ret, HcError *err);

/* GET /v1/images/{ref}/export: writes the image to fd as it arrives (an OCI archive for
 * containers, the disk or kernel file for VMs), never holding it whole. *ret_bytes
 * (optional) gets how many bytes were written. */
int hc_image_export(HcClient *client, const char *ref, int fd, int64_t *ret_bytes, HcError *err);

/* ---- Networks ------------------------------------------------------------------------ */

/* GET /v1/networks: {"networks": […]}, ordered by name. Each Network has name, bridge,
 * subnet, gateway, mtu, nat, default, created_at and used_by. */
int hc_network_list(HcClient *client, json_t **ret, HcError *err);

/* GET /v1/networks/{name}. */
int hc_network_get(HcClient *client, const char *name, json_t **ret, HcError *err);

/* What hc_network_create() asks for. Fields left zero take the server's defaults. */
typedef struct HcNetworkCreate {
        const char *name;    /* required: 1..15 of [a-z0-9-] */
        const char *subnet;  /* required: IPv4 CIDR, host bits zero, e.g. "10.89.0.0/24" */
        const char *gateway; /* NULL: the subnet's first address */
        int mtu;             /* 0: the server's default (1500) */
        bool no_nat;         /* true: do not masquerade (NAT is on by default) */
} HcNetworkCreate;

/* POST /v1/networks: *ret gets the new Network. Errors: 400 naming the field, 409 (name
 * taken, subnet overlapping another network's, an interface with that name), 503
 * (networking unavailable on the host). */
int hc_network_create(HcClient *client, const HcNetworkCreate *req, json_t **ret, HcError *err);

/* DELETE /v1/networks/{name}: *ret gets the deleted Network (NULL if the server sent no
 * body). -EACCES (403) for the default network, -EBUSY (409) while instances use it. */
int hc_network_delete(HcClient *client, const char *name, json_t **ret, HcError *err);

/* Parses a Docker-style port forward, "HOST_PORT:PORT" or "HOST_PORT:PORT/tcp|udp"
 * (ports 1..65535), into *ret (optional): {"host_port": n, "port": n, "protocol": p}, an
 * entry of an InstanceSpec's "ports". No request is made. -EINVAL, err naming the
 * problem, for anything else: a bind address ("IP:HOST_PORT:PORT"), ranges, a missing
 * host port or another protocol are not supported. */
int hc_port_forward_parse(const char *s, json_t **ret, HcError *err);

/* ---- Benchmarks ---------------------------------------------------------------------- */

/* POST /v1/benchmarks: starts a side-by-side VM vs container benchmark run. request
 * (borrowed) is a BenchmarkRequest: {"container_image", "vm_image" (both required),
 * "workloads": a subset of ["lifecycle", "memory", "image", "cpu", "io", "density"] or
 * ["all"] (the default), "repetitions" (1..50, default 5), "warmup" (0..5, default 1),
 * "envelope": {"vcpus", "memory_mb", "cpuset"}, "sizes": {"cpu_mib", "io_mib",
 * "density_max"}}; absent members take the server's defaults. *ret_operation gets the
 * Operation (action "benchmark"): its "benchmark" member is the run's id, its progress
 * counts the measurements done of total. Follow it with hc_operation_get() or
 * hc_operation_wait(), cancel it with hc_operation_cancel(). Errors: 400 naming the
 * field, 404 naming `container_image` or `vm_image` (no such image), 503 (a driver is
 * unavailable); an answer without an operation id gives -EBADMSG. */
int hc_bench_start(HcClient *client, const json_t *request, json_t **ret_operation, HcError *err);

/* GET /v1/benchmarks: {"benchmarks": [{"id", "status", "created_at", "finished_at",
 * "request", "accel"}, …]}, newest first. */
int hc_bench_list(HcClient *client, json_t **ret, HcError *err);

/* GET /v1/benchmarks/{id}: the BenchmarkResult ({"id", "status", "error", "request",
 * "manifest", "figures": […], …}); "status" is "running" until the run ends. */
int hc_bench_get(HcClient *client, const char *id, json_t **ret, HcError *err);

/* GET /v1/benchmarks/{id}?format=markdown: the result as a Markdown report (the VM vs
 * container table, every figure, the manifest), malloc()ed into *ret_text. An answer
 * of another media type than text/markdown gives -EBADMSG. */
int hc_bench_markdown(HcClient *client, const char *id, char **ret_text, HcError *err);

/* GET /v1/benchmarks/{id}/chart.svg: the result as an SVG bar chart, malloc()ed and
 * NUL-terminated into *ret_text, its length in bytes into *ret_len (optional). An
 * answer of another media type than image/svg+xml gives -EBADMSG. */
int hc_bench_svg(HcClient *client, const char *id, char **ret_text, size_t *ret_len, HcError *err);

/* GET /v1/benchmarks/{id1}/compare/{id2}: the BenchmarkComparison, {"comparable": bool,
 * "differences": [{"field", "a", "b"}], "figures": [{"workload", "name", "unit", "a":
 * {"container", "vm"}, "b": {…}, "change": {"container", "vm"}}]} with id1 as a and
 * id2 as b; change is b/a of the p50s. Runs are comparable when their manifests match
 * except for started_at. */
int hc_bench_compare(HcClient *client, const char *id1, const char *id2, json_t **ret,
                     HcError *err);

/* DELETE /v1/benchmarks/{id}: *ret gets the deleted run's summary (as listed by
 * hc_bench_list()). -EBUSY (409) while it runs: cancel its operation first. */
int hc_bench_delete(HcClient *client, const char *id, json_t **ret, HcError *err);

/* ---- Events -------------------------------------------------------------------------- */

/* GET /v1/events: follows the event stream, calling cb for each event (one NDJSON line)
 * until cb asks to stop or the stream fails. since >= 0 replays retained events with a
 * larger seq first; since < 0 starts with live events. type_prefix (optional) filters
 * by type ("instance."). Returns 0 when cb stopped the stream, cb's negative value when
 * it returned one, and an error (-ECONNRESET) when the server ended the stream. */
int hc_events_follow(HcClient *client, int64_t since, const char *type_prefix, HcEventCallback cb,
                     void *userdata, HcError *err);

#ifdef __cplusplus
}
#endif
