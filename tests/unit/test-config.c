#include <check.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"

static char path[64];

static void write_file(const char *text, mode_t mode)
{
        snprintf(path, sizeof(path), "/tmp/hd-test-config-XXXXXX");
        int fd = mkstemp(path);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
        fchmod(fd, mode);
        close(fd);
}

static int parse(HdConfig *c, HdError **err, int argc, char **argv)
{
        hd_config_init(c);
        return hd_config_parse_args(c, argc, argv, err);
}

START_TEST(test_defaults)
{
        HdConfig c;
        char *argv[] = { (char *)"hostd", NULL };
        ck_assert_int_eq(parse(&c, NULL, 1, argv), 0);
        ck_assert_str_eq(c.state_dir, "/var/lib/hostd");
        ck_assert_str_eq(c.socket_path, "/run/hostd/hostd.sock");
        ck_assert_ptr_null(c.listen);
        ck_assert_ptr_null(c.token_file);
        ck_assert_int_eq(c.log_level, HD_LOG_INFO);
        ck_assert_double_eq_tol(c.cpu_overcommit, 4.0, 1e-9);
        hd_config_clear(&c);
}
END_TEST

START_TEST(test_flags_override_file)
{
        write_file("{\"state-dir\": \"/srv/a\", \"log-level\": \"debug\", \"cpu-overcommit\": 2,"
                   " \"event-retention\": 50}",
                   0600);
        HdConfig c;
        char *argv[] = { (char *)"hostd",
                         (char *)"--state-dir",
                         (char *)"/srv/b",
                         (char *)"--config",
                         path,
                         (char *)"--listen",
                         (char *)"127.0.0.1:9",
                         NULL };
        ck_assert_int_eq(parse(&c, NULL, 7, argv), 0);
        ck_assert_str_eq(c.state_dir, "/srv/b"); /* the flag wins though it came first */
        ck_assert_int_eq(c.log_level, HD_LOG_DEBUG);
        ck_assert_double_eq_tol(c.cpu_overcommit, 2.0, 1e-9);
        ck_assert_int_eq(c.event_retention, 50);
        ck_assert_str_eq(c.listen, "127.0.0.1:9");
        hd_config_clear(&c);
        unlink(path);
}
END_TEST

START_TEST(test_file_errors_name_the_key)
{
        const char *bad[] = { "{\"bogus\": 1}",
                              "{\"cpu-overcommit\": \"x\"}",
                              "{\"event-retention\": 1.5}",
                              "{\"log-level\": \"loud\"}",
                              "[1]",
                              "{\"socket\": 1, \"socket\": 2}" };
        const char *field[] = { "bogus", "cpu-overcommit", "event-retention", "log-level", NULL,
                                NULL };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                write_file(bad[i], 0600);
                HdConfig c;
                HdError *err = NULL;
                hd_config_init(&c);
                ck_assert_int_eq(hd_config_load_file(&c, path, &err), -EINVAL);
                ck_assert_ptr_nonnull(err);
                if (field[i])
                        ck_assert_str_eq(err->field, field[i]);
                hd_error_free(err);
                hd_config_clear(&c);
                unlink(path);
        }
}
END_TEST

START_TEST(test_bad_flags)
{
        HdConfig c;
        HdError *err = NULL;
        char *a1[] = { (char *)"hostd", (char *)"--cpu-overcommit", (char *)"-1", NULL };
        ck_assert_int_eq(parse(&c, &err, 3, a1), -EINVAL);
        ck_assert_str_eq(err->field, "cpu-overcommit");
        hd_error_free(TAKE_PTR(err));
        hd_config_clear(&c);
        char *a2[] = { (char *)"hostd", (char *)"--nope", NULL };
        ck_assert_int_eq(parse(&c, &err, 2, a2), -EINVAL);
        hd_error_free(TAKE_PTR(err));
        hd_config_clear(&c);
        char *a3[] = { (char *)"hostd", (char *)"stray", NULL };
        ck_assert_int_eq(parse(&c, &err, 2, a3), -EINVAL);
        hd_error_free(TAKE_PTR(err));
        hd_config_clear(&c);
}
END_TEST

START_TEST(test_token_file_rules)
{
        char *tok = NULL;
        HdError *err = NULL;
        write_file("0123456789abcdef0123\n", 0600);
        ck_assert_int_eq(hd_config_read_token(path, &tok, NULL), 0);
        ck_assert_str_eq(tok, "0123456789abcdef0123");
        free(tok);
        chmod(path, 0644);
        ck_assert_int_eq(hd_config_read_token(path, &tok, &err), -EPERM);
        ck_assert_str_eq(err->field, "token-file");
        hd_error_free(TAKE_PTR(err));
        unlink(path);
        write_file("short\n", 0600);
        ck_assert_int_eq(hd_config_read_token(path, &tok, &err), -EINVAL);
        hd_error_free(TAKE_PTR(err));
        unlink(path);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("config");
        TCase *tc = tcase_create("config");
        tcase_add_test(tc, test_defaults);
        tcase_add_test(tc, test_flags_override_file);
        tcase_add_test(tc, test_file_errors_name_the_key);
        tcase_add_test(tc, test_bad_flags);
        tcase_add_test(tc, test_token_file_rules);
        suite_add_tcase(s, tc);
        SRunner *sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? 1 : 0;
}
