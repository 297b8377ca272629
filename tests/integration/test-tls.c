/* TCP with TLS: hostd serves https with the given certificate, still demands
 * the token, refuses plain HTTP on that port, and may then listen beyond
 * loopback. Certificates are made for the test with the openssl CLI. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "hostclient.h"

static HdTestDaemon d;
static char *dir;
static char cert[512], key[512], tok[512];
static const char *token = "tls-test-token-0123456789abcdef";

static void setup(void)
{
        dir = hd_test_mkdtemp("tls");
        ck_assert_ptr_nonnull(dir);
        snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
        snprintf(key, sizeof(key), "%s/key.pem", dir);
        snprintf(tok, sizeof(tok), "%s/token", dir);
        char cmd[2048];
        snprintf(cmd, sizeof(cmd),
                 "openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=localhost "
                 "-addext subjectAltName=IP:127.0.0.1,DNS:localhost -days 1 "
                 "-keyout '%s' -out '%s' >/dev/null 2>&1 && chmod 600 '%s'",
                 key, cert, key);
        ck_assert_int_eq(system(cmd), 0);
        ck_assert_int_eq(hd_test_write_file(tok, token, strlen(token), 0600), 0);
}

static void teardown(void)
{
        hd_test_daemon_cleanup(&d);
        hd_test_rm_rf(dir);
        free(dir);
        dir = NULL;
}

/* curl's HTTP status (0 when no HTTP answer came) for url with the CA. */
static int curl_status(const char *url, bool with_token)
{
        char cmd[2048];
        snprintf(cmd, sizeof(cmd),
                 "curl -s -o /dev/null -w '%%{http_code}' --max-time 5 --cacert '%s' %s%s%s '%s'",
                 cert, with_token ? "-H 'Authorization: Bearer " : "", with_token ? token : "",
                 with_token ? "'" : "", url);
        FILE *p = popen(cmd, "r");
        ck_assert_ptr_nonnull(p);
        int status = 0;
        if (fscanf(p, "%d", &status) != 1)
                status = 0;
        pclose(p);
        return status;
}

static void start(const char *host, int port)
{
        char listen[64];
        snprintf(listen, sizeof(listen), "%s:%d", host, port);
        const char *args[] = { "--listen",  listen,       "--token-file",
                               tok,         "--tls-cert", cert,
                               "--tls-key", key,          NULL };
        ck_assert_int_eq(hd_test_daemon_start(&d, args), 0);
}

START_TEST(test_https_with_token)
{
        int port = hd_test_free_port();
        start("127.0.0.1", port);
        char url[128];
        snprintf(url, sizeof(url), "https://127.0.0.1:%d/v1", port);
        ck_assert_int_eq(curl_status(url, true), 200);
        ck_assert_int_eq(curl_status(url, false), 401);
        /* Plain HTTP on the TLS port gets no HTTP answer at all. */
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1", port);
        ck_assert_int_eq(curl_status(url, true), 0);

        /* libhostclient over https, trusting the test CA. */
        snprintf(url, sizeof(url), "https://127.0.0.1:%d", port);
        HcOptions o = { .url = url, .token = token, .ca_file = cert };
        HcClient *c = hc_client_new(&o, NULL);
        ck_assert_ptr_nonnull(c);
        json_t *info = NULL;
        ck_assert_int_ge(hc_server_info(c, &info, NULL), 0);
        ck_assert_str_eq(json_string_value(json_object_get(info, "auth")), "token");
        json_decref(info);
        hc_client_free(c);
        /* Without the CA the certificate is not trusted. */
        HcOptions untrusted = { .url = url, .token = token };
        c = hc_client_new(&untrusted, NULL);
        HcError e;
        ck_assert_int_lt(hc_server_info(c, NULL, &e), 0);
        ck_assert_int_eq(e.http_status, 0);
        hc_client_free(c);
}
END_TEST

/* With TLS the address may be any: here all interfaces, reached over loopback. */
START_TEST(test_tls_allows_non_loopback)
{
        int port = hd_test_free_port();
        start("0.0.0.0", port);
        char url[128];
        snprintf(url, sizeof(url), "https://127.0.0.1:%d/v1/host", port);
        ck_assert_int_eq(curl_status(url, true), 200);
}
END_TEST

static void refused(const char *const *args, const char *needle)
{
        int status = -1;
        char *out = NULL;
        ck_assert_int_eq(hd_test_run_hostd(args, 10000, &status, &out), 0);
        ck_assert_int_ne(status, 0);
        ck_assert_msg(out && strstr(out, needle), "expected `%s` in: %s", needle, out);
        free(out);
}

START_TEST(test_tls_misconfigurations_refused)
{
        char state[600], sock[600], listen[64];
        snprintf(state, sizeof(state), "%s/state", dir);
        snprintf(sock, sizeof(sock), "%s/s.sock", dir);
        snprintf(listen, sizeof(listen), "127.0.0.1:%d", hd_test_free_port());

        const char *no_key[] = { "--state-dir",  state, "--socket",   sock, "--listen", listen,
                                 "--token-file", tok,   "--tls-cert", cert, NULL };
        refused(no_key, "tls-key");
        const char *no_listen[] = { "--state-dir", state,       "--socket", sock, "--tls-cert",
                                    cert,          "--tls-key", key,        NULL };
        refused(no_listen, "--listen");
        const char *no_token[] = { "--state-dir", state, "--socket",  sock, "--listen", listen,
                                   "--tls-cert",  cert,  "--tls-key", key,  NULL };
        refused(no_token, "token");
        chmod(key, 0644);
        const char *open_key[] = { "--state-dir", state,  "--socket",     sock,
                                   "--listen",    listen, "--token-file", tok,
                                   "--tls-cert",  cert,   "--tls-key",    key,
                                   NULL };
        refused(open_key, "readable by others");
        chmod(key, 0600);
        /* A key that is not a key: libmicrohttpd refuses to start, and so does hostd. */
        const char *bad_key[] = { "--state-dir", state,  "--socket",     sock,
                                  "--listen",    listen, "--token-file", tok,
                                  "--tls-cert",  cert,   "--tls-key",    tok,
                                  NULL };
        refused(bad_key, "TLS");
        ck_assert_int_eq(access(sock, F_OK), -1); /* no socket file left behind */
}
END_TEST

int main(void)
{
        hd_test_init();
        Suite *s = suite_create("tls");
        TCase *tc = tcase_create("tls");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_https_with_token);
        tcase_add_test(tc, test_tls_allows_non_loopback);
        tcase_add_test(tc, test_tls_misconfigurations_refused);
        suite_add_tcase(s, tc);
        SRunner *sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        hd_test_fini(failed);
        return failed ? 1 : 0;
}
