/* Integration tests: how hostd guards its API. TCP only with a private token file on a
 * loopback address, bearer tokens on TCP, a 0660 Unix socket without tokens, one daemon per
 * state dir, and a clean exit on SIGTERM. */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "harness.h"
#include "hd-json.h"

#define TOKEN       "s3cret-token-0123456789abcdef"
#define RUN_TIMEOUT 10000

static HdTestDaemon d;
static char *tmp;        /* per-test scratch dir: token files, state dirs of refused daemons */
static char *token_file; /* tmp/token, mode 0600, holding TOKEN */
static char *fresh_state, *fresh_sock; /* fresh_args' paths */

static void result_clearp(HdCurlResult *r)
{
        hd_curl_result_clear(r);
}
#define _cleanup_result_ _cleanup_(result_clearp)

static char *path_in(const char *dir, const char *name)
{
        char *p = NULL;

        ck_assert_int_ge(asprintf(&p, "%s/%s", dir, name), 0);
        return p;
}

static char *write_token(const char *name, const char *content, mode_t mode)
{
        char *p = path_in(tmp, name);

        ck_assert_int_eq(hd_test_write_file(p, content, strlen(content), mode), 0);
        return p;
}

static void setup(void)
{
        tmp = hd_test_mkdtemp("auth");
        ck_assert_ptr_nonnull(tmp);
        token_file = write_token("token", TOKEN "\n", 0600);
}

static void teardown(void)
{
        hd_test_daemon_cleanup(&d);
        hd_test_rm_rf(tmp);
        free(tmp);
        free(token_file);
        free(fresh_state);
        free(fresh_sock);
        tmp = token_file = fresh_state = fresh_sock = NULL;
}

/* Runs a hostd that must refuse to start: non-zero exit within RUN_TIMEOUT, and its output
 * contains every string in must_say (case-sensitive). */
static void refuses_to_start(const char *const *args, const char *const *must_say)
{
        _cleanup_free_ char *out = NULL;
        int status = -1, r;

        r = hd_test_run_hostd(args, RUN_TIMEOUT, &status, &out);
        ck_assert_msg(r != -ETIMEDOUT, "hostd did not refuse: still running after %d ms\n%s",
                      RUN_TIMEOUT, out ? out : "");
        ck_assert_int_eq(r, 0);
        ck_assert_msg(status != 0, "hostd exited 0 but should have refused:\n%s", out ? out : "");
        for (size_t i = 0; must_say && must_say[i]; i++)
                ck_assert_msg(out && strstr(out, must_say[i]),
                              "hostd's refusal does not mention `%s`:\n%s", must_say[i],
                              out ? out : "");
}

/* The args of a hostd on a fresh state dir under tmp, followed by extra (up to 6). */
static void fresh_args(const char *argv[16], const char *const *extra)
{
        size_t n = 0;

        free(fresh_state);
        free(fresh_sock);
        fresh_state = path_in(tmp, "state");
        fresh_sock = path_in(tmp, "state.sock");
        argv[n++] = "--state-dir";
        argv[n++] = fresh_state;
        argv[n++] = "--socket";
        argv[n++] = fresh_sock;
        for (size_t i = 0; extra && extra[i] && n < 15; i++)
                argv[n++] = extra[i];
        argv[n] = NULL;
}

static char *listen_arg(const char *host)
{
        char *a = NULL;
        int port = hd_test_free_port();

        ck_assert_int_gt(port, 0);
        ck_assert_int_ge(asprintf(&a, "%s:%d", host, port), 0);
        return a;
}

/* ---- refusals at start ------------------------------------------------------------ */

START_TEST(test_listen_needs_token_file)
{
        _cleanup_free_ char *listen = listen_arg("127.0.0.1");
        const char *extra[] = { "--listen", listen, NULL };
        const char *must[] = { "token-file", NULL };
        const char *argv[16];

        fresh_args(argv, extra);
        refuses_to_start(argv, must);
}
END_TEST

START_TEST(test_token_file_readable_by_others)
{
        _cleanup_free_ char *listen = listen_arg("127.0.0.1");
        _cleanup_free_ char *f644 = write_token("token-644", TOKEN "\n", 0644);
        _cleanup_free_ char *f604 = write_token("token-604", TOKEN "\n", 0604);
        const char *argv[16];

        {
                const char *extra[] = { "--listen", listen, "--token-file", f644, NULL };
                const char *must[] = { f644, NULL };

                fresh_args(argv, extra);
                refuses_to_start(argv, must);
        }
        {
                const char *extra[] = { "--listen", listen, "--token-file", f604, NULL };
                const char *must[] = { f604, NULL };

                fresh_args(argv, extra);
                refuses_to_start(argv, must);
        }
}
END_TEST

START_TEST(test_token_too_short_or_missing)
{
        _cleanup_free_ char *listen = listen_arg("127.0.0.1");
        _cleanup_free_ char *short_file = write_token("token-short", "abc123\n", 0600);
        _cleanup_free_ char *missing = path_in(tmp, "no-such-token");
        const char *argv[16];

        {
                const char *extra[] = { "--listen", listen, "--token-file", short_file, NULL };
                const char *must[] = { short_file, NULL };

                fresh_args(argv, extra);
                refuses_to_start(argv, must);
        }
        {
                const char *extra[] = { "--listen", listen, "--token-file", missing, NULL };
                const char *must[] = { missing, NULL };

                fresh_args(argv, extra);
                refuses_to_start(argv, must);
        }
}
END_TEST

START_TEST(test_non_loopback_refused)
{
        static const char *const hosts[] = { "0.0.0.0", "192.0.2.1" };
        const char *argv[16];

        for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
                _cleanup_free_ char *listen = listen_arg(hosts[i]);
                const char *extra[] = { "--listen", listen, "--token-file", token_file, NULL };
                const char *must[] = { listen, NULL };

                fresh_args(argv, extra);
                refuses_to_start(argv, must);
        }
}
END_TEST

/* ---- a daemon with a TCP listener ------------------------------------------------- */

static char *start_with_tcp(void)
{
        char *url = NULL;

        /* The port was free a moment ago; another process may take it in between. */
        for (int attempt = 0; attempt < 3; attempt++) {
                _cleanup_free_ char *listen = listen_arg("127.0.0.1");
                const char *args[] = { "--listen", listen, "--token-file", token_file, NULL };

                if (hd_test_daemon_start(&d, args) == 0) {
                        ck_assert_int_ge(asprintf(&url, "http://%s", listen), 0);
                        return url;
                }
                hd_test_daemon_cleanup(&d);
        }
        ck_abort_msg("hostd with --listen did not start");
        return NULL;
}

static void tcp_expect_at(const char *where, const char *base, const char *token,
                          const char *method, const char *path, const char *body,
                          const char *const *headers, int status)
{
        _cleanup_result_ HdCurlResult res = { 0 };
        _cleanup_free_ char *url = NULL;

        ck_assert_int_ge(asprintf(&url, "%s%s", base, path), 0);
        ck_assert_int_eq(hd_test_curl_url(&res, url, token, method,
                                          body ? "application/json" : NULL, body,
                                          body ? strlen(body) : 0, headers),
                         0);
        ck_assert_msg(res.status == status, "%s: %s %s: expected %d, got %s", where, method, url,
                      status, hd_curl_result_describe(&res));
        if (status == 401) {
                const char *code = hd_test_error_code(res.json);

                ck_assert_msg(code && strcmp(code, "unauthorized") == 0,
                              "%s: 401 without code unauthorized: %s", where,
                              hd_curl_result_describe(&res));
        }
}
#define WHERE_(line) __FILE__ ":" #line
#define WHERE(line)  WHERE_(line)
#define tcp_expect(base, token, method, path, body, headers, status) \
        tcp_expect_at(WHERE(__LINE__), base, token, method, path, body, headers, status)

START_TEST(test_bearer_token)
{
        _cleanup_free_ char *base = start_with_tcp();
        static const char *const basic[] = { "Authorization: Basic dXNlcjpwYXNz", NULL };
        static const char *const no_scheme[] = { "Authorization: " TOKEN, NULL };
        static const char *const empty[] = { "Authorization: Bearer ", NULL };
        static const char spec[] = "{\"name\":\"sneaky\",\"kind\":\"container\","
                                   "\"image\":\"busybox\"}";
        _cleanup_result_ HdCurlResult res = { 0 };
        _cleanup_free_ char *url = NULL;
        _cleanup_json_ json_t *list = NULL;

        /* no Authorization, a wrong one, almost-right ones */
        tcp_expect(base, NULL, "GET", "/v1", NULL, NULL, 401);
        tcp_expect(base, "wrong-token-0123456789abcdef", "GET", "/v1", NULL, NULL, 401);
        tcp_expect(base, TOKEN "x", "GET", "/v1", NULL, NULL, 401);
        tcp_expect(base, "s3cret-token-0123456789abcde", "GET", "/v1", NULL, NULL, 401);
        tcp_expect(base, NULL, "GET", "/v1", NULL, basic, 401);
        tcp_expect(base, NULL, "GET", "/v1", NULL, no_scheme, 401);
        tcp_expect(base, NULL, "GET", "/v1", NULL, empty, 401);
        /* every route is guarded, unknown ones and writes included */
        tcp_expect(base, NULL, "GET", "/v1/instances", NULL, NULL, 401);
        tcp_expect(base, NULL, "GET", "/metrics", NULL, NULL, 401);
        tcp_expect(base, NULL, "GET", "/v1/nope", NULL, NULL, 401);
        tcp_expect(base, NULL, "POST", "/v1/instances", spec, NULL, 401);
        tcp_expect(base, "wrong-token-0123456789abcdef", "POST", "/v1/instances", spec, NULL, 401);
        ck_assert_int_eq(hd_test_list_instances(&d, &list), 0);
        ck_assert_msg(json_array_size(list) == 0, "an unauthorized POST created an instance");

        /* the right token */
        ck_assert_int_ge(asprintf(&url, "%s/v1", base), 0);
        ck_assert_int_eq(hd_test_curl_url(&res, url, TOKEN, "GET", NULL, NULL, 0, NULL), 0);
        ck_assert_msg(res.status == 200, "GET /v1 with the token: %s",
                      hd_curl_result_describe(&res));
        ck_assert_str_eq(json_string_value(json_object_get(res.json, "auth")), "token");
        tcp_expect(base, TOKEN, "GET", "/v1/instances", NULL, NULL, 200);
        tcp_expect(base, TOKEN, "GET", "/metrics", NULL, NULL, 200);
        tcp_expect(base, TOKEN, "POST", "/v1/instances", spec, NULL, 201);
        tcp_expect(base, TOKEN, "GET", "/v1/instances/sneaky", NULL, NULL, 200);
}
END_TEST

START_TEST(test_unix_socket_without_token)
{
        _cleanup_free_ char *base = start_with_tcp();
        _cleanup_result_ HdCurlResult res = { 0 };
        struct stat st;

        /* the same request is refused on TCP and served on the socket */
        tcp_expect(base, NULL, "GET", "/v1", NULL, NULL, 401);
        ck_assert_int_eq(hd_test_get(&d, &res, "/v1"), 0);
        ck_assert_msg(res.status == 200, "GET /v1 over the socket: %s",
                      hd_curl_result_describe(&res));
        ck_assert_str_eq(json_string_value(json_object_get(res.json, "auth")), "unix");
        hd_curl_result_clear(&res);
        ck_assert_int_eq(hd_test_send_json(&d, &res, "POST", "/v1/instances",
                                           "{\"name\":\"via-socket\",\"kind\":\"container\","
                                           "\"image\":\"busybox\"}"),
                         0);
        ck_assert_msg(res.status == 201, "POST over the socket: %s", hd_curl_result_describe(&res));

        ck_assert_int_eq(stat(d.socket_path, &st), 0);
        ck_assert_msg(S_ISSOCK(st.st_mode), "%s is not a socket", d.socket_path);
        ck_assert_msg((st.st_mode & 07777) == 0660, "socket mode %04o, expected 0660",
                      (unsigned)(st.st_mode & 07777));
}
END_TEST

/* Also without --listen: the socket alone, mode 0660. */
START_TEST(test_socket_mode_default)
{
        struct stat st;

        ck_assert_int_eq(hd_test_daemon_start(&d, NULL), 0);
        ck_assert_int_eq(stat(d.socket_path, &st), 0);
        ck_assert_msg(S_ISSOCK(st.st_mode), "%s is not a socket", d.socket_path);
        ck_assert_msg((st.st_mode & 07777) == 0660, "socket mode %04o, expected 0660",
                      (unsigned)(st.st_mode & 07777));
}
END_TEST

/* ---- one daemon per state dir ----------------------------------------------------- */

static void assert_first_serves(const char *when)
{
        _cleanup_result_ HdCurlResult res = { 0 };
        int status = -1;

        ck_assert_msg(hd_test_daemon_alive(&d, &status), "%s: the first hostd exited (%d)", when,
                      status);
        ck_assert_int_eq(hd_test_get(&d, &res, "/v1/instances/keep-1"), 0);
        ck_assert_msg(res.status == 200, "%s: the first hostd no longer serves: %s", when,
                      hd_curl_result_describe(&res));
}

START_TEST(test_second_daemon_refused)
{
        _cleanup_free_ char *other_sock = path_in(tmp, "other.sock");
        _cleanup_result_ HdCurlResult res = { 0 };
        const char *same[] = { "--state-dir", NULL, "--socket", NULL, NULL };
        const char *other[] = { "--state-dir", NULL, "--socket", NULL, NULL };
        _cleanup_free_ char *out = NULL;
        int status = -1;

        ck_assert_int_eq(hd_test_daemon_start(&d, NULL), 0);
        ck_assert_int_eq(hd_test_send_json(&d, &res, "POST", "/v1/instances",
                                           "{\"name\":\"keep-1\",\"kind\":\"container\","
                                           "\"image\":\"busybox\"}"),
                         0);
        ck_assert_msg(res.status == 201, "create: %s", hd_curl_result_describe(&res));

        /* Same state dir and same socket: the worst case, it must not steal the socket. */
        same[1] = d.dir;
        same[3] = d.socket_path;
        ck_assert_int_eq(hd_test_run_hostd(same, RUN_TIMEOUT, &status, &out), 0);
        ck_assert_msg(status != 0, "a second hostd on the same state dir started:\n%s", out);
        ck_assert_msg(strstr(out, "lock") || strstr(out, "another hostd"),
                      "the refusal does not mention the lock:\n%s", out);
        ck_assert_msg(strstr(out, d.dir), "the refusal does not name the state dir:\n%s", out);
        assert_first_serves("after a second hostd on the same socket");
        free(out);
        out = NULL;

        /* Same state dir, another socket. */
        other[1] = d.dir;
        other[3] = other_sock;
        ck_assert_int_eq(hd_test_run_hostd(other, RUN_TIMEOUT, &status, &out), 0);
        ck_assert_msg(status != 0, "a second hostd on the same state dir started:\n%s", out);
        ck_assert_msg(strstr(out, "lock") || strstr(out, "another hostd"),
                      "the refusal does not mention the lock:\n%s", out);
        assert_first_serves("after a second hostd on another socket");
}
END_TEST

/* ---- stopping --------------------------------------------------------------------- */

START_TEST(test_sigterm_clean_exit)
{
        _cleanup_result_ HdCurlResult res = { 0 };
        _cleanup_free_ char *base = start_with_tcp();
        _cleanup_free_ char *url = NULL;
        struct stat st;
        int status = -1;

        ck_assert_int_eq(hd_test_import_vm_image(&d, "debian-cloud"), 0);
        ck_assert_int_eq(hd_test_send_json(&d, &res, "POST", "/v1/instances",
                                           "{\"name\":\"persist-1\",\"kind\":\"vm\","
                                           "\"image\":\"debian-cloud\"}"),
                         0);
        ck_assert_msg(res.status == 201, "create: %s", hd_curl_result_describe(&res));
        hd_curl_result_clear(&res);

        ck_assert_int_eq(hd_test_daemon_stop(&d, SIGTERM, &status), 0);
        ck_assert_msg(status == 0, "hostd exited with status %d on SIGTERM", status);
        ck_assert_msg(stat(d.socket_path, &st) < 0 && errno == ENOENT,
                      "the socket %s is still there after SIGTERM", d.socket_path);
        ck_assert_int_eq(hd_test_sqlite_integrity(d.db_path), 0);
        /* the TCP listener is gone too */
        ck_assert_int_ge(asprintf(&url, "%s/v1", base), 0);
        ck_assert_int_eq(hd_test_curl_url(&res, url, TOKEN, "GET", NULL, NULL, 0, NULL), -EIO);
        hd_curl_result_clear(&res);

        /* The lock went with it: a restart on the same state dir works and keeps the data. */
        ck_assert_int_eq(hd_test_daemon_restart(&d), 0);
        ck_assert_int_eq(hd_test_get(&d, &res, "/v1/instances/persist-1"), 0);
        ck_assert_msg(res.status == 200, "after restart: %s", hd_curl_result_describe(&res));
        ck_assert_str_eq(json_string_value(json_object_get(res.json, "state")), "created");
}
END_TEST

/* SIGKILL leaves the socket file and the lock file behind; the next hostd copes with both. */
START_TEST(test_restart_after_sigkill)
{
        _cleanup_result_ HdCurlResult res = { 0 };
        int status = -1;

        ck_assert_int_eq(hd_test_daemon_start(&d, NULL), 0);
        ck_assert_int_eq(hd_test_send_json(&d, &res, "POST", "/v1/instances",
                                           "{\"name\":\"survivor\",\"kind\":\"container\","
                                           "\"image\":\"busybox\",\"labels\":{\"a\":\"b\"}}"),
                         0);
        ck_assert_msg(res.status == 201, "create: %s", hd_curl_result_describe(&res));
        hd_curl_result_clear(&res);

        ck_assert_int_eq(hd_test_daemon_stop(&d, SIGKILL, &status), 0);
        ck_assert_int_eq(status, 128 + SIGKILL);
        ck_assert_int_eq(hd_test_sqlite_integrity(d.db_path), 0);
        ck_assert_int_eq(hd_test_daemon_restart(&d), 0);
        ck_assert_int_eq(hd_test_get(&d, &res, "/v1/instances/survivor"), 0);
        ck_assert_msg(res.status == 200, "after SIGKILL + restart: %s",
                      hd_curl_result_describe(&res));
        ck_assert_str_eq(
                json_string_value(json_object_get(json_object_get(res.json, "labels"), "a")), "b");
}
END_TEST

/* ---- main ------------------------------------------------------------------------- */

static Suite *auth_suite(void)
{
        Suite *s = suite_create("auth");
        TCase *tc = tcase_create("auth");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_listen_needs_token_file);
        tcase_add_test(tc, test_token_file_readable_by_others);
        tcase_add_test(tc, test_token_too_short_or_missing);
        tcase_add_test(tc, test_non_loopback_refused);
        tcase_add_test(tc, test_bearer_token);
        tcase_add_test(tc, test_unix_socket_without_token);
        tcase_add_test(tc, test_socket_mode_default);
        tcase_add_test(tc, test_second_daemon_refused);
        tcase_add_test(tc, test_sigterm_clean_exit);
        tcase_add_test(tc, test_restart_after_sigkill);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        SRunner *sr;
        int failed;

        if (hd_test_init() < 0)
                return EXIT_FAILURE;
        sr = srunner_create(auth_suite());
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        hd_test_fini(failed);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
