/* Tests for lib/: hd-util.c (uuids, names, times, number parsing, files) and
 * hd-error.c (set, wrap, propagate). */
#include <check.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "hd-error.h"
#include "hd-util.h"

/* ---- uuid ------------------------------------------------------------------- */

START_TEST(test_uuid)
{
        char a[HD_UUID_STRING_MAX], b[HD_UUID_STRING_MAX];
        ck_assert_int_eq(hd_uuid_generate(a), 0);
        ck_assert_int_eq(hd_uuid_generate(b), 0);
        ck_assert_uint_eq(strlen(a), 36);
        ck_assert(hd_uuid_is_valid(a));
        ck_assert(hd_uuid_is_valid(b));
        ck_assert_str_ne(a, b);
        /* version 4, RFC 4122 variant */
        ck_assert_int_eq(a[14], '4');
        ck_assert(strchr("89ab", a[19]));
        for (int i = 0; i < 36; i++)
                ck_assert(a[i] == '-' || (a[i] >= '0' && a[i] <= '9') ||
                          (a[i] >= 'a' && a[i] <= 'f'));

        ck_assert(hd_uuid_is_valid("0b5dbbd4-5b6e-4f3c-9d2a-1c2b3a4d5e6f"));
        ck_assert(hd_uuid_is_valid("0B5DBBD4-5B6E-4F3C-9D2A-1C2B3A4D5E6F"));
        ck_assert(!hd_uuid_is_valid(NULL));
        ck_assert(!hd_uuid_is_valid(""));
        ck_assert(!hd_uuid_is_valid("0b5dbbd4-5b6e-4f3c-9d2a-1c2b3a4d5e6"));
        ck_assert(!hd_uuid_is_valid("0b5dbbd4-5b6e-4f3c-9d2a-1c2b3a4d5e6f0"));
        ck_assert(!hd_uuid_is_valid("0b5dbbd405b6e-4f3c-9d2a-1c2b3a4d5e6f"));
        ck_assert(!hd_uuid_is_valid("0b5dbbd4-5b6e-4f3c-9d2a-1c2b3a4d5e6g"));
        ck_assert(!hd_uuid_is_valid("0b5dbbd45b6e4f3c9d2a1c2b3a4d5e6f"));
}
END_TEST

/* ---- names ------------------------------------------------------------------ */

START_TEST(test_name_is_valid)
{
        static const char *const ok[] = { "a", "0", "web-1", "a-b-c", "a--b", "9z" };
        static const char *const bad[] = { "",    "-a",  "a-", "-",   "Web", "web_1",
                                           "a.b", "a b", "é",  "a\n", "A",   "a/b" };
        for (size_t i = 0; i < HD_ARRAY_SIZE(ok); i++)
                ck_assert_msg(hd_name_is_valid(ok[i]), "%s", ok[i]);
        for (size_t i = 0; i < HD_ARRAY_SIZE(bad); i++)
                ck_assert_msg(!hd_name_is_valid(bad[i]), "%s", bad[i]);
        ck_assert(!hd_name_is_valid(NULL));

        char n[65];
        memset(n, 'a', 64);
        n[64] = '\0';
        ck_assert(!hd_name_is_valid(n));
        n[63] = '\0';
        ck_assert(hd_name_is_valid(n));
        n[62] = '-';
        ck_assert(!hd_name_is_valid(n));
}
END_TEST

START_TEST(test_startswith)
{
        ck_assert(hd_str_startswith("instance.state", "instance."));
        ck_assert(hd_str_startswith("abc", ""));
        ck_assert(hd_str_startswith("abc", "abc"));
        ck_assert(!hd_str_startswith("ab", "abc"));
        ck_assert(!hd_str_startswith(NULL, "a"));
        ck_assert(!hd_str_startswith("a", NULL));
}
END_TEST

/* ---- times ------------------------------------------------------------------ */

START_TEST(test_time_format_parse)
{
        char buf[32];
        hd_time_format(0, buf);
        ck_assert_str_eq(buf, "1970-01-01T00:00:00.000Z");
        hd_time_format(1795341600123, buf);
        ck_assert_str_eq(buf, "2026-11-22T10:00:00.123Z");
        hd_time_format(951782400999, buf); /* a leap day */
        ck_assert_str_eq(buf, "2000-02-29T00:00:00.999Z");

        int64_t ms = -1;
        ck_assert_int_eq(hd_time_parse("2026-11-22T10:00:00.123Z", &ms), 0);
        ck_assert_int_eq(ms, 1795341600123);
        ck_assert_int_eq(hd_time_parse("2026-11-22T10:00:00Z", &ms), 0);
        ck_assert_int_eq(ms, 1795341600000);

        /* round trip over a spread of values */
        static const int64_t samples[] = { 0,
                                           1,
                                           999,
                                           1000,
                                           86399999,
                                           1795341600123,
                                           4102444799999 /* 2099-12-31T23:59:59.999Z */ };
        for (size_t i = 0; i < HD_ARRAY_SIZE(samples); i++) {
                hd_time_format(samples[i], buf);
                ck_assert_int_eq(hd_time_parse(buf, &ms), 0);
                ck_assert_int_eq(ms, samples[i]);
        }
        int64_t now = hd_now_ms();
        hd_time_format(now, buf);
        ck_assert_int_eq(hd_time_parse(buf, &ms), 0);
        ck_assert_int_eq(ms, now);

        static const char *const bad[] = {
                "",
                "2026-11-22",
                "2026-11-22T10:00:00.123",
                "2026-11-22T10:00:00.123Zx",
                "2026-11-22T10:00:00.12Z",
                "2026-11-22T10:00:00.1234Z",
                "2026-11-22T10:00:00+01:00",
                "2026-11-22 10:00:00Z",
                "yesterday",
        };
        for (size_t i = 0; i < HD_ARRAY_SIZE(bad); i++) {
                ms = 77;
                ck_assert_msg(hd_time_parse(bad[i], &ms) < 0, "accepted `%s`", bad[i]);
                ck_assert_int_eq(ms, 77);
        }
        ck_assert_int_lt(hd_time_parse(NULL, &ms), 0);
}
END_TEST

START_TEST(test_clocks)
{
        int64_t a = hd_monotonic_ms(), b = hd_monotonic_ms();
        ck_assert_int_ge(b, a);
        ck_assert_int_gt(a, 0);
        /* after 2020-01-01 */
        ck_assert_int_gt(hd_now_ms(), 1577836800000);
}
END_TEST

/* ---- number parsing -------------------------------------------------------- */

START_TEST(test_parse_int64)
{
        int64_t v = 0;
        ck_assert_int_eq(hd_parse_int64("42", &v), 0);
        ck_assert_int_eq(v, 42);
        ck_assert_int_eq(hd_parse_int64("0", &v), 0);
        ck_assert_int_eq(v, 0);
        ck_assert_int_eq(hd_parse_int64("-7", &v), 0);
        ck_assert_int_eq(v, -7);
        ck_assert_int_eq(hd_parse_int64("9223372036854775807", &v), 0);
        ck_assert_int_eq(v, INT64_MAX);
        ck_assert_int_eq(hd_parse_int64("-9223372036854775808", &v), 0);
        ck_assert_int_eq(v, INT64_MIN);

        v = 5;
        ck_assert_int_eq(hd_parse_int64("9223372036854775808", &v), -ERANGE);
        ck_assert_int_eq(hd_parse_int64("-9223372036854775809", &v), -ERANGE);
        static const char *const bad[] = { "", " 1", "1 ", "abc", "1a", "0x10", "1.0", "--1" };
        for (size_t i = 0; i < HD_ARRAY_SIZE(bad); i++)
                ck_assert_msg(hd_parse_int64(bad[i], &v) == -EINVAL, "accepted `%s`", bad[i]);
        ck_assert_int_eq(hd_parse_int64(NULL, &v), -EINVAL);
        ck_assert_int_eq(v, 5);
}
END_TEST

START_TEST(test_parse_double)
{
        double d = 0;
        ck_assert_int_eq(hd_parse_double("1.5", &d), 0);
        ck_assert_double_eq(d, 1.5);
        ck_assert_int_eq(hd_parse_double("4", &d), 0);
        ck_assert_double_eq(d, 4.0);
        ck_assert_int_eq(hd_parse_double("-0.25", &d), 0);
        ck_assert_double_eq(d, -0.25);
        ck_assert_int_eq(hd_parse_double("1e3", &d), 0);
        ck_assert_double_eq(d, 1000.0);

        d = 9;
        ck_assert_int_eq(hd_parse_double("1e999", &d), -ERANGE);
        static const char *const bad[] = { "", " 1", "1 ", "x", "1.5x", "nan", "inf", "-inf" };
        for (size_t i = 0; i < HD_ARRAY_SIZE(bad); i++)
                ck_assert_msg(hd_parse_double(bad[i], &d) == -EINVAL, "accepted `%s`", bad[i]);
        ck_assert_int_eq(hd_parse_double(NULL, &d), -EINVAL);
        ck_assert_double_eq(d, 9);
}
END_TEST

/* ---- secrets and files ----------------------------------------------------- */

START_TEST(test_secret_equal)
{
        ck_assert(hd_secret_equal("token", "token"));
        ck_assert(!hd_secret_equal("token", "tokem"));
        ck_assert(!hd_secret_equal("token", "token2"));
        ck_assert(!hd_secret_equal("token2", "token"));
        ck_assert(!hd_secret_equal("", "x"));
        ck_assert(!hd_secret_equal("x", ""));
        ck_assert(!hd_secret_equal("", "")); /* an empty secret never matches */
}
END_TEST

START_TEST(test_files)
{
        char dir[] = "/tmp/hd-test-lib-XXXXXX";
        ck_assert_ptr_nonnull(mkdtemp(dir));

        _cleanup_free_ char *deep = NULL;
        ck_assert_int_ge(asprintf(&deep, "%s/a/b/c", dir), 0);
        ck_assert_int_eq(hd_mkdir_p(deep, 0700), 0);
        ck_assert_int_eq(hd_mkdir_p(deep, 0700), 0); /* already there */
        struct stat st;
        ck_assert_int_eq(stat(deep, &st), 0);
        ck_assert(S_ISDIR(st.st_mode));

        _cleanup_free_ char *path = NULL;
        ck_assert_int_ge(asprintf(&path, "%s/file", deep), 0);
        ck_assert_int_eq(hd_write_file_atomic(path, "hello\n", 6, 0600), 0);
        ck_assert_int_eq(stat(path, &st), 0);
        ck_assert_int_eq(st.st_mode & 0777, 0600);

        _cleanup_free_ char *data = NULL;
        size_t len = 0;
        ck_assert_int_eq(hd_read_file(path, 1024, &data, &len), 0);
        ck_assert_uint_eq(len, 6);
        ck_assert_str_eq(data, "hello\n");

        /* replaced whole */
        ck_assert_int_eq(hd_write_file_atomic(path, "x", 1, 0600), 0);
        free(data);
        data = NULL;
        ck_assert_int_eq(hd_read_file(path, 1024, &data, NULL), 0);
        ck_assert_str_eq(data, "x");

        /* larger than max */
        _cleanup_free_ char *big = malloc(10000);
        memset(big, 'b', 10000);
        ck_assert_int_eq(hd_write_file_atomic(path, big, 10000, 0600), 0);
        char *none = NULL;
        ck_assert_int_eq(hd_read_file(path, 9999, &none, NULL), -EFBIG);
        ck_assert_ptr_null(none);
        free(data);
        data = NULL;
        ck_assert_int_eq(hd_read_file(path, 10001, &data, &len), 0);
        ck_assert_uint_eq(len, 10000);

        _cleanup_free_ char *missing = NULL;
        ck_assert_int_ge(asprintf(&missing, "%s/missing", dir), 0);
        ck_assert_int_eq(hd_read_file(missing, 10, &none, NULL), -ENOENT);

        /* no temp file left behind */
        _cleanup_free_ char *cmd = NULL;
        ck_assert_int_ge(asprintf(&cmd, "test $(ls -A %s | wc -l) -eq 1 && rm -rf %s", deep, dir),
                         0);
        ck_assert_int_eq(system(cmd), 0);
}
END_TEST

/* "-EFBIG past max bytes": a file of exactly max bytes is not past it. */
START_TEST(test_read_file_exact_max)
{
        char path[] = "/tmp/hd-test-lib-max-XXXXXX";
        int fd = mkstemp(path);
        ck_assert_int_ge(fd, 0);
        close(fd);
        char buf[10000];
        memset(buf, 'b', sizeof(buf));
        ck_assert_int_eq(hd_write_file_atomic(path, buf, sizeof(buf), 0600), 0);
        _cleanup_free_ char *data = NULL;
        size_t len = 0;
        int r = hd_read_file(path, sizeof(buf), &data, &len);
        unlink(path);
        ck_assert_int_eq(r, 0);
        ck_assert_uint_eq(len, sizeof(buf));
}
END_TEST

/* ---- errors ------------------------------------------------------------------ */

START_TEST(test_error_set)
{
        _cleanup_error_ HdError *err = NULL;
        ck_assert_int_eq(hd_error_set(&err, -ENOENT, "no instance `%s`", "web"), -ENOENT);
        ck_assert_ptr_nonnull(err);
        ck_assert_int_eq(err->code, -ENOENT);
        ck_assert_str_eq(err->message, "no instance `web`");
        ck_assert_ptr_null(err->field);

        /* the first failure wins; the code is still returned */
        ck_assert_int_eq(hd_error_set(&err, -EIO, "later"), -EIO);
        ck_assert_int_eq(err->code, -ENOENT);
        ck_assert_str_eq(err->message, "no instance `web`");

        /* a non-negative code becomes -EINVAL */
        _cleanup_error_ HdError *e2 = NULL;
        ck_assert_int_eq(hd_error_set(&e2, 0, "zero"), -EINVAL);
        ck_assert_int_eq(e2->code, -EINVAL);
        _cleanup_error_ HdError *e3 = NULL;
        ck_assert_int_eq(hd_error_set(&e3, EPERM, "positive"), -EINVAL);

        /* a NULL err only returns the code */
        ck_assert_int_eq(hd_error_set(NULL, -EEXIST, "x"), -EEXIST);
        ck_assert_int_eq(hd_error_set_field(NULL, -EINVAL, "f", "x"), -EINVAL);
}
END_TEST

/* RFC 4648's vectors, binary data, and what is not base64. */
START_TEST(test_utf8_is_clean)
{
        ck_assert(hd_utf8_is_clean("plain text", true));
        ck_assert(hd_utf8_is_clean("h\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", true));
        ck_assert(!hd_utf8_is_clean("tab\there", false));
        ck_assert(!hd_utf8_is_clean("del\x7f", false));
        ck_assert(!hd_utf8_is_clean("\xc0\xaf", false));     /* overlong */
        ck_assert(!hd_utf8_is_clean("\xed\xa0\x80", false)); /* surrogate */
        ck_assert(!hd_utf8_is_clean("\xe2\x82", false));     /* cut short */
        ck_assert(!hd_utf8_is_clean("\xef\xbf\xbf", false)); /* U+FFFF */
        ck_assert(hd_utf8_is_clean("\xc2\x85", false));      /* C1 NEL */
        ck_assert(!hd_utf8_is_clean("\xc2\x85", true));
}
END_TEST

START_TEST(test_base64)
{
        static const char *const plain[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
        static const char *const coded[] = { "",         "Zg==",     "Zm8=",    "Zm9v",
                                             "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy" };
        for (size_t k = 0; k < 7; k++) {
                char *e = hd_base64_encode(plain[k], strlen(plain[k]));
                ck_assert_str_eq(e, coded[k]);
                free(e);
                char *d = NULL;
                size_t n = 0;
                ck_assert_int_eq(hd_base64_decode(coded[k], strlen(coded[k]), &d, &n), 0);
                ck_assert_uint_eq(n, strlen(plain[k]));
                ck_assert_int_eq(memcmp(d, plain[k], n), 0);
                free(d);
        }
        unsigned char bin[256];
        for (int k = 0; k < 256; k++)
                bin[k] = (unsigned char)k;
        char *e = hd_base64_encode(bin, sizeof(bin));
        char *d = NULL;
        size_t n = 0;
        ck_assert_int_eq(hd_base64_decode(e, strlen(e), &d, &n), 0);
        ck_assert_uint_eq(n, sizeof(bin));
        ck_assert_int_eq(memcmp(d, bin, n), 0);
        free(e);
        free(d);
        static const char *const bad[] = { "Zg=", "Zg", "Z===", "Zm9v\n", "Zm 9", "Zg=a", "Z=g=" };
        for (size_t k = 0; k < 7; k++)
                ck_assert_msg(hd_base64_decode(bad[k], strlen(bad[k]), &d, &n) == -EINVAL, "%s",
                              bad[k]);
}
END_TEST

START_TEST(test_error_set_field)
{
        _cleanup_error_ HdError *err = NULL;
        ck_assert_int_eq(
                hd_error_set_field(&err, -EINVAL, "resources.memory_mb", "must be at least %d", 16),
                -EINVAL);
        ck_assert_str_eq(err->field, "resources.memory_mb");
        ck_assert_str_eq(err->message, "must be at least 16");

        _cleanup_error_ HdError *e2 = NULL;
        ck_assert_int_eq(hd_error_set_field(&e2, -EINVAL, NULL, "no field"), -EINVAL);
        ck_assert_ptr_null(e2->field);
}
END_TEST

START_TEST(test_error_wrap)
{
        _cleanup_error_ HdError *err = NULL;
        ck_assert_int_eq(hd_error_wrap(&err, "context"), -EINVAL); /* nothing set */
        ck_assert_ptr_null(err);
        ck_assert_int_eq(hd_error_wrap(NULL, "context"), -EINVAL);

        hd_error_set_field(&err, -EEXIST, "name", "name `web` is taken");
        ck_assert_int_eq(hd_error_wrap(&err, "creating `%s`", "web"), -EEXIST);
        ck_assert_str_eq(err->message, "creating `web`: name `web` is taken");
        ck_assert_int_eq(hd_error_wrap(&err, "request"), -EEXIST);
        ck_assert_str_eq(err->message, "request: creating `web`: name `web` is taken");
        ck_assert_str_eq(err->field, "name"); /* kept */
        ck_assert_int_eq(err->code, -EEXIST);
}
END_TEST

START_TEST(test_error_propagate)
{
        _cleanup_error_ HdError *dst = NULL, *src = NULL;
        ck_assert_int_eq(hd_error_propagate(&dst, &src), 0); /* nothing to move */
        ck_assert_ptr_null(dst);
        ck_assert_int_eq(hd_error_propagate(&dst, NULL), 0);

        hd_error_set(&src, -EIO, "disk");
        HdError *moved = src;
        ck_assert_int_eq(hd_error_propagate(&dst, &src), -EIO);
        ck_assert_ptr_null(src);
        ck_assert_ptr_eq(dst, moved);

        /* dst already set: it is kept, src is freed */
        hd_error_set(&src, -ENOSPC, "full");
        ck_assert_int_eq(hd_error_propagate(&dst, &src), -ENOSPC);
        ck_assert_ptr_null(src);
        ck_assert_str_eq(dst->message, "disk");

        /* no destination: freed */
        hd_error_set(&src, -EBUSY, "busy");
        ck_assert_int_eq(hd_error_propagate(NULL, &src), -EBUSY);
        ck_assert_ptr_null(src);

        hd_error_free(NULL);
}
END_TEST

/* ---- CPU lists ---------------------------------------------------------------- */

static void check_cpulist(const char *in, const char *canonical)
{
        HdCpuMask m;
        char out[64];
        ck_assert_msg(hd_cpulist_parse(in, &m) == 0, "`%s` refused", in);
        ck_assert_int_eq(hd_cpulist_format(&m, out, sizeof(out)), 0);
        ck_assert_str_eq(out, canonical);
}

START_TEST(test_cpulist)
{
        check_cpulist("0", "0");
        check_cpulist("0-3", "0-3");
        check_cpulist("0,2,4-5", "0,2,4-5");
        check_cpulist("3-3", "3");
        check_cpulist("0,1", "0-1");
        check_cpulist("5,0-2,1", "0-2,5"); /* any order, overlaps merge */
        check_cpulist("007", "7");
        check_cpulist("1023", "1023");
        check_cpulist("63-64,127-128", "63-64,127-128");

        static const char *const bad[] = { "",
                                           "-1",
                                           "1-",
                                           "-",
                                           "3-1",
                                           "0,",
                                           ",0",
                                           "0,,1",
                                           " 0",
                                           "0 ",
                                           "0-1-2",
                                           "1024",
                                           "0-1024",
                                           "a",
                                           "0x1",
                                           "+1",
                                           "1.5",
                                           "0\n",
                                           "99999999999999999999" };
        HdCpuMask m;
        for (size_t k = 0; k < HD_ARRAY_SIZE(bad); k++)
                ck_assert_msg(hd_cpulist_parse(bad[k], &m) == -EINVAL, "`%s` accepted", bad[k]);
        ck_assert_int_eq(hd_cpulist_parse(NULL, &m), -EINVAL);

        /* all of them, and a buffer too small */
        char all[8], big[8192];
        ck_assert_int_eq(hd_cpulist_parse("0-1023", &m), 0);
        ck_assert(hd_cpumask_test(&m, 0) && hd_cpumask_test(&m, 1023));
        ck_assert(!hd_cpumask_test(&m, 1024));
        ck_assert_int_eq(hd_cpulist_format(&m, all, sizeof(all)), 0);
        ck_assert_str_eq(all, "0-1023");
        for (unsigned c = 0; c < HD_CPU_MAX; c++)
                m.bits[c / 64] &= ~(c % 2 ? UINT64_C(1) << (c % 64) : 0);
        ck_assert_int_eq(hd_cpulist_format(&m, all, sizeof(all)), -ENOBUFS);
        ck_assert_uint_lt(strlen(all), sizeof(all));
        ck_assert_int_eq(hd_cpulist_format(&m, big, sizeof(big)), 0);
        ck_assert(hd_str_startswith(big, "0,2,4,"));
        HdCpuMask none = { { 0 } };
        ck_assert_int_eq(hd_cpulist_format(&none, all, sizeof(all)), 0);
        ck_assert_str_eq(all, "");

        HdCpuMask a, b;
        ck_assert_int_eq(hd_cpulist_parse("1,3", &a), 0);
        ck_assert_int_eq(hd_cpulist_parse("0-3", &b), 0);
        ck_assert(hd_cpumask_is_subset(&a, &b));
        ck_assert(!hd_cpumask_is_subset(&b, &a));
}
END_TEST

START_TEST(test_cpus_online)
{
        char path[] = "/tmp/test-lib-online-XXXXXX";
        int fd = mkstemp(path);
        ck_assert_int_ge(fd, 0);
        /* the kernel's file ends in a newline; a host past HD_CPU_MAX is cut there */
        static const char text[] = "0-3,1000-2047\n";
        ck_assert_int_eq(hd_write_all(fd, text, strlen(text)), 0);
        close(fd);
        HdCpuMask m;
        char out[64];
        ck_assert_int_eq(hd_cpus_online(path, &m), 0);
        ck_assert_int_eq(hd_cpulist_format(&m, out, sizeof(out)), 0);
        ck_assert_str_eq(out, "0-3,1000-1023");
        fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(hd_write_all(fd, "garbage\n", 8), 0);
        close(fd);
        ck_assert_int_eq(hd_cpus_online(path, &m), -EINVAL);
        unlink(path);
        ck_assert_int_eq(hd_cpus_online(path, &m), -ENOENT);

        /* this host's own: at least one CPU, and each online one passes the check */
        ck_assert_int_eq(hd_cpus_online(NULL, &m), 0);
        ck_assert_int_eq(hd_cpulist_format(&m, out, sizeof(out)), 0);
        ck_assert_str_ne(out, "");
        unsigned first = 0;
        while (!hd_cpumask_test(&m, first))
                first++;
        char one[8];
        snprintf(one, sizeof(one), "%u", first);
        ck_assert_int_eq(hd_cpulist_check_host(one, "resources.cpuset", NULL), 0);

        _cleanup_error_ HdError *err = NULL;
        ck_assert_int_eq(hd_cpulist_check_host("0-2,x", "resources.cpuset", &err), -EINVAL);
        ck_assert_str_eq(err->field, "resources.cpuset");
        if (hd_cpumask_test(&m, 1023))
                return; /* a host with every CPU a list can name */
        _cleanup_error_ HdError *e2 = NULL;
        ck_assert_int_eq(hd_cpulist_check_host("1023", "resources.cpuset", &e2), -EINVAL);
        ck_assert_str_eq(e2->field, "resources.cpuset");
        ck_assert_ptr_nonnull(strstr(e2->message, "`1023`"));
        char online[80];
        snprintf(online, sizeof(online), "(online: `%s`)", out);
        ck_assert_msg(strstr(e2->message, online), "%s", e2->message);
}
END_TEST

static Suite *lib_suite(void)
{
        Suite *s = suite_create("lib");

        TCase *tc = tcase_create("util");
        tcase_add_test(tc, test_uuid);
        tcase_add_test(tc, test_name_is_valid);
        tcase_add_test(tc, test_startswith);
        tcase_add_test(tc, test_time_format_parse);
        tcase_add_test(tc, test_clocks);
        tcase_add_test(tc, test_parse_int64);
        tcase_add_test(tc, test_parse_double);
        tcase_add_test(tc, test_secret_equal);
        tcase_add_test(tc, test_files);
        tcase_add_test(tc, test_read_file_exact_max);
        tcase_add_test(tc, test_cpulist);
        tcase_add_test(tc, test_cpus_online);
        suite_add_tcase(s, tc);

        tc = tcase_create("error");
        tcase_add_test(tc, test_error_set);
        tcase_add_test(tc, test_error_set_field);
        tcase_add_test(tc, test_error_wrap);
        tcase_add_test(tc, test_error_propagate);
        tcase_add_test(tc, test_base64);
        tcase_add_test(tc, test_utf8_is_clean);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        SRunner *sr = srunner_create(lib_suite());
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
