/* Integration test harness: runs the real hostd on a temporary state dir and talks to it
 * with the real curl binary, over the Unix socket or TCP.
 *
 * Typical use with Check (the default CK_FORK=yes runs each test in a child process):
 *
 *     int main(void)
 *     {
 *             hd_test_init();                  // temp root for every daemon's dir
 *             ...srunner_run_all...
 *             hd_test_fini(failed);            // prints leftover logs if failed, removes root
 *     }
 *     static HdTestDaemon d;
 *     static void setup(void) { ck_assert_int_eq(hd_test_daemon_start(&d, NULL), 0); }
 *     static void teardown(void) { hd_test_daemon_cleanup(&d); }
 *
 * A failed assertion in a forked test _exit()s without running the teardown; Check then
 * kills the test's process group, which holds the hostd it spawned, and hd_test_fini()
 * prints the logs of the daemons whose dirs were left behind before removing them.
 *
 * Every function returns >= 0 on success and -errno on failure, and reports why on stderr.
 * Only processes the harness started are ever signalled, by PID. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <jansson.h>

/* A hostd started by the harness. Zero-initialise before the first start. */
typedef struct HdTestDaemon {
        char *dir;         /* the state dir (mkdtemp); hostd.log, hostd.sock, hostd.db live here */
        char *socket_path; /* DIR/hostd.sock */
        char *log_path;    /* DIR/hostd.log: hostd's stdout and stderr, appended across restarts */
        char *db_path;     /* DIR/hostd.db */
        char **args;       /* copy of extra_args, NULL-terminated; reused by restart */
        pid_t pid;         /* > 0 while the harness has a running hostd */
} HdTestDaemon;

/* One curl run. Clear with hd_curl_result_clear() (safe on a zeroed or cleared struct). */
typedef struct HdCurlResult {
        int status;      /* HTTP status of the last response; 0 when none came */
        int curl_exit;   /* curl's exit status (non-zero e.g. when the server closed early) */
        char *headers;   /* the last response's raw header block, NUL-terminated */
        char *body;      /* the response body, NUL-terminated (may hold NULs before body_len) */
        size_t body_len; /* body length in bytes */
        json_t *json;    /* the body parsed as JSON when it is JSON, else NULL */
} HdCurlResult;

/* ---- test run ------------------------------------------------------------------- */

/* Creates the run's root temp dir (/tmp/hd-itest-XXXXXX) under which every later daemon dir
 * and temp file is made. Optional: without it they go straight under /tmp. */
int hd_test_init(void);
/* In the process that called hd_test_init() only: when failed is non-zero prints the logs of
 * the daemons whose dirs are still there (tests that failed before their teardown), then
 * removes the root recursively unless HD_TEST_KEEP is set in the environment. */
void hd_test_fini(int failed);

/* A new temp dir under the root (or /tmp), mode 0700. Caller frees; removed by hd_test_fini or
 * hd_test_rm_rf. */
char *hd_test_mkdtemp(const char *prefix);
/* Removes a file tree, not following symlinks. */
int hd_test_rm_rf(const char *path);
/* Writes a whole file with the given mode (created or truncated, then chmod'ed). */
int hd_test_write_file(const char *path, const void *data, size_t len, mode_t mode);
/* Reads a whole file; caller frees *ret (NUL-terminated). */
int hd_test_read_file(const char *path, char **ret, size_t *ret_len);
/* A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then closed). */
int hd_test_free_port(void);

/* Kills the container monitors and inits a hostd on state_dir recorded (each checked by
 * pid and start time) and removes their cgroups; returns how many it found. Teardowns
 * call it because containers outlive hostd; hd_test_fini does it for every daemon dir. */
int hd_test_reap_containers(const char *state_dir);

/* Imports a small raw disk (64 KiB of zeros) as the VM image `name`, so that VM
 * instances naming it can be created (the VM driver checks the image at create). It
 * never boots. 0 on 201. */
int hd_test_import_vm_image(HdTestDaemon *d, const char *name);

/* ---- the daemon ----------------------------------------------------------------- */

/* Makes a temp state dir, spawns HOSTD_BIN --state-dir DIR --socket DIR/hostd.sock
 * --log-level debug followed by extra_args (NULL-terminated, may be NULL), with stdout and
 * stderr appended to DIR/hostd.log, and waits up to 10 s until GET /v1 answers 200 over the
 * socket. On failure prints the log and returns -errno; *d must still be cleaned up. */
int hd_test_daemon_start(HdTestDaemon *d, const char *const *extra_args);
/* Stops hostd with SIGTERM if it runs (failing if it does not exit with status 0), then starts
 * it again on the same state dir with the same arguments. */
int hd_test_daemon_restart(HdTestDaemon *d);
/* Sends sig (SIGTERM, SIGKILL, ...) to the hostd and reaps it, waiting up to 10 s (then
 * SIGKILL and -ETIMEDOUT). *ret_exit_status (optional) gets the exit status, or 128 + the
 * signal number when a signal ended it. -ESRCH when it was not running. */
int hd_test_daemon_stop(HdTestDaemon *d, int sig, int *ret_exit_status);
/* Whether the hostd is still running (it has not exited; reaps it when it has). When it has
 * exited, *ret_exit_status (optional) gets its status as for hd_test_daemon_stop. */
bool hd_test_daemon_alive(HdTestDaemon *d, int *ret_exit_status);
/* Polls GET /v1 over the socket until 200, the process exits or timeout_ms passes. */
int hd_test_daemon_wait_ready(HdTestDaemon *d, int timeout_ms);
/* Copies the daemon's log to stderr, with a banner. */
void hd_test_daemon_print_log(const HdTestDaemon *d);
/* SIGKILLs the hostd if still running (by PID), reaps it, removes the state dir (unless
 * HD_TEST_KEEP is set; prints the log first when HD_TEST_SHOW_LOG is set) and frees *d,
 * leaving it zeroed. Safe to call twice and on a zeroed struct. */
void hd_test_daemon_cleanup(HdTestDaemon *d);

/* Runs HOSTD_BIN with args (NULL-terminated, argv[0] excluded; after --default-network none
 * and a table of its own, which args may override) to completion, for daemons expected to
 * refuse to start. Output (stdout + stderr) goes to *ret_output (optional,
 * caller frees). If it is still running after timeout_ms it is SIGKILLed: -ETIMEDOUT. */
int hd_test_run_hostd(const char *const *args, int timeout_ms, int *ret_exit_status,
                      char **ret_output);

/* ---- requests ------------------------------------------------------------------- */

/* Runs `curl -s -S --unix-socket SOCK -D HDRS -o BODY -w %{http_code} -X METHOD` on
 * http://localhost<path>. content_type NULL sends no Content-Type header at all (curl's
 * default one is removed). body NULL sends no body; otherwise body_len bytes go through
 * --data-binary @file (with Content-Length, or chunked when extra_headers asks for it).
 * extra_headers: NULL-terminated "Name: value" strings, may be NULL. Returns 0 when an HTTP
 * response came back (even if curl then reported an error), -EIO when none did. *ret is
 * overwritten; clear it with hd_curl_result_clear. */
int hd_test_curl(HdTestDaemon *d, HdCurlResult *ret, const char *method, const char *path,
                 const char *content_type, const char *body, size_t body_len,
                 const char *const *extra_headers);
/* The same against a full URL (TCP). bearer_token non-NULL adds
 * `Authorization: Bearer <token>`. */
int hd_test_curl_url(HdCurlResult *ret, const char *url, const char *bearer_token,
                     const char *method, const char *content_type, const char *body,
                     size_t body_len, const char *const *extra_headers);
/* GET/DELETE-style shorthand: no body, no extra headers. */
int hd_test_get(HdTestDaemon *d, HdCurlResult *ret, const char *path);
/* POST/PATCH a NUL-terminated JSON text as application/json. */
int hd_test_send_json(HdTestDaemon *d, HdCurlResult *ret, const char *method, const char *path,
                      const char *json_text);

void hd_curl_result_clear(HdCurlResult *r);
/* The value of the first header called name (case-insensitive) in the last response,
 * trimmed; NULL when absent. Caller frees. */
char *hd_curl_result_header(const HdCurlResult *r, const char *name);
/* A one-line description ("409 {...body...}") for assertion messages; valid until the next
 * call in this process. */
const char *hd_curl_result_describe(const HdCurlResult *r);

/* ---- API helpers ---------------------------------------------------------------- */

/* error.code / error.field / error.message of an error body; NULL when absent. */
const char *hd_test_error_code(const json_t *body);
const char *hd_test_error_field(const json_t *body);
const char *hd_test_error_message(const json_t *body);

/* Every instance, following `next` through all pages of GET /v1/instances; *ret is a new JSON
 * array in the daemon's order. Compare two snapshots with json_equal() for "unchanged" checks. */
int hd_test_list_instances(HdTestDaemon *d, json_t **ret);

/* Runs `sqlite3 DB 'PRAGMA integrity_check;'`; 0 when it prints exactly "ok", -EIO (and the
 * output on stderr) otherwise. */
int hd_test_sqlite_integrity(const char *db_path);
