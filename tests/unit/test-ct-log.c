/* Tests for ct-log.c: CRI records, partial lines, rotation, tail across rotated
 * files, and a follower across rotations and truncation. */
#include <check.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "ct-log.h"
#include "hd-util.h"

/* ---- helpers ------------------------------------------------------------------------ */

typedef struct Rec {
        HdCtLogStream stream;
        int64_t t;
        bool partial;
        char *text;
        size_t len;
} Rec;

typedef struct Recs {
        Rec *v;
        size_t n;
        int stop_after; /* > 0: the callback fails after this many */
} Recs;

static int collect(HdCtLogStream stream, int64_t t, bool partial, const char *text, size_t len,
                   void *userdata)
{
        Recs *rs = userdata;
        if (rs->stop_after > 0 && rs->n == (size_t)rs->stop_after)
                return -ECANCELED;
        rs->v = realloc(rs->v, (rs->n + 1) * sizeof(Rec));
        ck_assert_ptr_nonnull(rs->v);
        Rec *r = &rs->v[rs->n++];
        r->stream = stream;
        r->t = t;
        r->partial = partial;
        r->text = strndup(text, len);
        r->len = len;
        return 0;
}

static void recs_clear(Recs *rs)
{
        for (size_t i = 0; i < rs->n; i++)
                free(rs->v[i].text);
        free(rs->v);
        *rs = (Recs){ 0 };
}

static char *tmpdir;
static char logpath[512];

static void setup(void)
{
        tmpdir = strdup("/tmp/test-ct-log.XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(tmpdir));
        snprintf(logpath, sizeof(logpath), "%s/console.log", tmpdir);
}

static void teardown(void)
{
        char cmd[600];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
        ck_assert_int_eq(system(cmd), 0);
        free(tmpdir);
}

static char *slurp(const char *path)
{
        char *text = NULL;
        ck_assert_int_eq(hd_read_file(path, 1 << 24, &text, NULL), 0);
        return text;
}

static off_t file_size(const char *path)
{
        struct stat st;
        if (stat(path, &st) < 0)
                return -1;
        return st.st_size;
}

static HdCtLogWriter *writer(int64_t max_bytes, unsigned max_files)
{
        HdCtLogWriter *w = NULL;
        _cleanup_error_ HdError *err = NULL;
        ck_assert_int_eq(hd_ct_log_writer_open(logpath, max_bytes, max_files, &w, &err), 0);
        return w;
}

static int tail(int64_t n, unsigned max_files, Recs *rs)
{
        _cleanup_error_ HdError *err = NULL;
        int r = hd_ct_log_tail(logpath, max_files, n, collect, rs, &err);
        ck_assert_msg(r >= 0 || err || r == -ECANCELED, "tail: %d", r);
        return r;
}

/* ---- time and records --------------------------------------------------------------- */

START_TEST(test_time)
{
        char buf[HD_CT_LOG_TIME_MAX];
        int64_t ns = 1795348800123456789LL;
        hd_ct_log_time_format(ns, buf);
        ck_assert_str_eq(buf, "2026-11-22T12:00:00.123456789Z");
        int64_t back;
        ck_assert_int_eq(hd_ct_log_time_parse(buf, strlen(buf), &back), 0);
        ck_assert_int_eq(back, ns);
        hd_ct_log_time_format(1795348800000000000LL, buf);
        ck_assert_str_eq(buf, "2026-11-22T12:00:00.000000000Z");

        const char *ok[] = { "2026-11-22T12:00:00Z", "2026-11-22T12:00:00.5Z" };
        ck_assert_int_eq(hd_ct_log_time_parse(ok[0], strlen(ok[0]), &back), 0);
        ck_assert_int_eq(back, 1795348800000000000LL);
        ck_assert_int_eq(hd_ct_log_time_parse(ok[1], strlen(ok[1]), &back), 0);
        ck_assert_int_eq(back, 1795348800500000000LL);
        const char *bad[] = { "",
                              "2026-11-22 12:00:00Z",
                              "2026-11-22T12:00:00",
                              "2026-11-22T12:00:00.Z",
                              "2026-13-22T12:00:00Z",
                              "2026-11-22T12:00:00.1234567890Z",
                              "2026-11-22T12:00:00+01:00",
                              "x026-11-22T12:00:00Z" };
        for (size_t i = 0; i < HD_ARRAY_SIZE(bad); i++)
                ck_assert_msg(hd_ct_log_time_parse(bad[i], strlen(bad[i]), &back) < 0, "%s",
                              bad[i]);
}
END_TEST

START_TEST(test_parse_record)
{
        HdCtLogStream s;
        int64_t t;
        bool p;
        const char *text;
        size_t len;
        const char *l1 = "2026-11-22T12:00:00.000000001Z stderr P a b ";
        ck_assert_int_eq(hd_ct_log_parse_record(l1, strlen(l1), &s, &t, &p, &text, &len), 0);
        ck_assert_int_eq(s, HD_CT_LOG_STDERR);
        ck_assert(p);
        ck_assert_int_eq(t, 1795348800000000001LL);
        ck_assert_uint_eq(len, 4);
        ck_assert(memcmp(text, "a b ", 4) == 0);
        const char *l2 = "2026-11-22T12:00:00Z stdout F";
        ck_assert_int_eq(hd_ct_log_parse_record(l2, strlen(l2), &s, &t, &p, &text, &len), 0);
        ck_assert_uint_eq(len, 0);
        ck_assert(!p);
        const char *bad[] = { "",
                              "garbage",
                              "2026-11-22T12:00:00Z stdin F x",
                              "2026-11-22T12:00:00Z stdout X x",
                              "2026-11-22T12:00:00Z stdout Fx",
                              "2026-11-22T12:00:00Z stdout",
                              "20261122T120000Z stdout F x" };
        for (size_t i = 0; i < HD_ARRAY_SIZE(bad); i++)
                ck_assert_msg(
                        hd_ct_log_parse_record(bad[i], strlen(bad[i]), &s, &t, &p, &text, &len) < 0,
                        "%s", bad[i]);
}
END_TEST

START_TEST(test_records)
{
        HdCtLogWriter *w = writer(0, 1);
        ck_assert_int_eq(hd_ct_log_writer_feed(w, HD_CT_LOG_STDOUT, "hello\nwor", 9), 1);
        ck_assert_uint_eq(hd_ct_log_writer_pending(w, HD_CT_LOG_STDOUT), 3);
        ck_assert_int_eq(hd_ct_log_writer_feed(w, HD_CT_LOG_STDERR, "oops\n", 5), 1);
        ck_assert_int_eq(hd_ct_log_writer_feed(w, HD_CT_LOG_STDOUT, "ld\n\nlast", 8), 2);
        ck_assert_int_eq(hd_ct_log_writer_flush(w, HD_CT_LOG_STDOUT), 1);
        ck_assert_int_eq(hd_ct_log_writer_flush(w, HD_CT_LOG_STDOUT), 0);
        ck_assert_uint_eq(hd_ct_log_writer_pending(w, HD_CT_LOG_STDOUT), 0);
        hd_ct_log_writer_free(w);

        /* The file itself: the CRI format, byte for byte apart from the times. */
        _cleanup_free_ char *text = slurp(logpath);
        const char *want[] = { " stdout F hello\n", " stderr F oops\n", " stdout F world\n",
                               " stdout F \n", " stdout P last\n" };
        char *line = text;
        for (size_t i = 0; i < HD_ARRAY_SIZE(want); i++) {
                ck_assert_int_eq(line[4], '-');
                ck_assert_int_eq(line[29], 'Z');
                ck_assert_msg(strncmp(line + 30, want[i], strlen(want[i])) == 0, "line %zu: %s", i,
                              line);
                line = strchr(line, '\n') + 1;
        }
        ck_assert_int_eq(*line, '\0');

        Recs rs = { 0 };
        ck_assert_int_eq(tail(-1, 1, &rs), 5);
        ck_assert_str_eq(rs.v[0].text, "hello");
        ck_assert_int_eq(rs.v[1].stream, HD_CT_LOG_STDERR);
        ck_assert_str_eq(rs.v[2].text, "world");
        ck_assert_uint_eq(rs.v[3].len, 0);
        ck_assert(rs.v[4].partial);
        ck_assert_str_eq(rs.v[4].text, "last");
        int64_t now = (hd_now_ms() + 1) * 1000000;
        ck_assert(rs.v[0].t <= rs.v[4].t && rs.v[4].t <= now && rs.v[0].t > now - 60000000000LL);
        recs_clear(&rs);

        /* A callback that stops the walk gets its value back. */
        rs.stop_after = 2;
        ck_assert_int_eq(tail(-1, 1, &rs), -ECANCELED);
        ck_assert_uint_eq(rs.n, 2);
        recs_clear(&rs);
}
END_TEST

START_TEST(test_long_lines)
{
        HdCtLogWriter *w = writer(0, 1);
        size_t n = 2 * HD_CT_LOG_LINE_MAX + 100;
        char *big = malloc(n + 1);
        for (size_t i = 0; i < n; i++)
                big[i] = (char)('a' + i % 26);
        big[n] = '\n';
        /* Fed in odd pieces, as a pipe may deliver it. */
        size_t fed = 0, step = 7000;
        int records = 0;
        while (fed < n + 1) {
                size_t k = n + 1 - fed < step ? n + 1 - fed : step;
                int r = hd_ct_log_writer_feed(w, HD_CT_LOG_STDOUT, big + fed, k);
                ck_assert_int_ge(r, 0);
                records += r;
                fed += k;
        }
        ck_assert_int_eq(records, 3);
        /* Exactly HD_CT_LOG_LINE_MAX bytes and its newline: one F record. */
        ck_assert_int_eq(hd_ct_log_writer_feed(w, HD_CT_LOG_STDERR, big, HD_CT_LOG_LINE_MAX), 0);
        ck_assert_int_eq(hd_ct_log_writer_feed(w, HD_CT_LOG_STDERR, "\n", 1), 1);
        hd_ct_log_writer_free(w);

        Recs rs = { 0 };
        ck_assert_int_eq(tail(-1, 1, &rs), 4);
        ck_assert(rs.v[0].partial && rs.v[1].partial && !rs.v[2].partial);
        ck_assert_uint_eq(rs.v[0].len, HD_CT_LOG_LINE_MAX);
        ck_assert_uint_eq(rs.v[1].len, HD_CT_LOG_LINE_MAX);
        ck_assert_uint_eq(rs.v[2].len, 100);
        /* Joined, the pieces are the line. */
        char *joined = malloc(n);
        memcpy(joined, rs.v[0].text, HD_CT_LOG_LINE_MAX);
        memcpy(joined + HD_CT_LOG_LINE_MAX, rs.v[1].text, HD_CT_LOG_LINE_MAX);
        memcpy(joined + 2 * HD_CT_LOG_LINE_MAX, rs.v[2].text, 100);
        ck_assert(memcmp(joined, big, n) == 0);
        ck_assert(!rs.v[3].partial);
        ck_assert_uint_eq(rs.v[3].len, HD_CT_LOG_LINE_MAX);
        ck_assert_int_eq(rs.v[3].stream, HD_CT_LOG_STDERR);
        recs_clear(&rs);
        free(joined);
        free(big);
}
END_TEST

/* ---- rotation and tail -------------------------------------------------------------- */

static void write_numbered(HdCtLogWriter *w, int from, int to)
{
        for (int i = from; i < to; i++) {
                char line[32];
                int n = snprintf(line, sizeof(line), "line %04d\n", i);
                ck_assert_int_eq(hd_ct_log_writer_feed(w, HD_CT_LOG_STDOUT, line, (size_t)n), 1);
        }
}

/* Each record: 30 (time) + 10 (" stdout F ") + 9 ("line 0000") + 1 = 50 bytes. */
#define REC 50

START_TEST(test_rotation)
{
        HdCtLogWriter *w = writer(4 * REC, 3);
        write_numbered(w, 0, 4);
        ck_assert_int_eq(file_size(logpath), 4 * REC);
        char p1[600], p2[600], p3[600];
        snprintf(p1, sizeof(p1), "%s.1", logpath);
        snprintf(p2, sizeof(p2), "%s.2", logpath);
        snprintf(p3, sizeof(p3), "%s.3", logpath);
        ck_assert_int_eq(file_size(p1), -1);
        write_numbered(w, 4, 5); /* would pass max_bytes: rotates first */
        ck_assert_int_eq(file_size(logpath), REC);
        ck_assert_int_eq(file_size(p1), 4 * REC);
        write_numbered(w, 5, 17);
        /* 17 lines in files of 4: .2 has 8-11, .1 12-15, current 16; 0-7 dropped. */
        ck_assert_int_eq(file_size(logpath), REC);
        ck_assert_int_eq(file_size(p1), 4 * REC);
        ck_assert_int_eq(file_size(p2), 4 * REC);
        ck_assert_int_eq(file_size(p3), -1);
        _cleanup_free_ char *t2 = slurp(p2);
        ck_assert(strstr(t2, "line 0008\n") && strstr(t2, "line 0011\n") && !strstr(t2, "0007"));
        hd_ct_log_writer_free(w);

        /* Reopening appends (the monitor restarted on the same log). */
        w = writer(4 * REC, 3);
        write_numbered(w, 17, 18);
        ck_assert_int_eq(file_size(logpath), 2 * REC);
        hd_ct_log_writer_free(w);

        /* max_files 1: the full file is started afresh. */
        w = writer(2 * REC, 1);
        write_numbered(w, 18, 19);
        ck_assert_int_eq(file_size(logpath), REC);
        hd_ct_log_writer_free(w);
}
END_TEST

START_TEST(test_tail_across_files)
{
        HdCtLogWriter *w = writer(4 * REC, 3);
        write_numbered(w, 0, 10); /* .2: 0-3, .1: 4-7, current: 8-9 */
        hd_ct_log_writer_free(w);

        Recs rs = { 0 };
        ck_assert_int_eq(tail(-1, 3, &rs), 10);
        for (int i = 0; i < 10; i++) {
                char want[16];
                snprintf(want, sizeof(want), "line %04d", i);
                ck_assert_str_eq(rs.v[i].text, want);
        }
        recs_clear(&rs);

        int64_t ns[] = { 0, 1, 2, 3, 5, 6, 9, 10, 11, 100 };
        for (size_t k = 0; k < HD_ARRAY_SIZE(ns); k++) {
                int64_t n = ns[k];
                int64_t want_n = n > 10 ? 10 : n;
                ck_assert_int_eq(tail(n, 3, &rs), want_n);
                for (int64_t i = 0; i < want_n; i++) {
                        char want[16];
                        snprintf(want, sizeof(want), "line %04d", (int)(10 - want_n + i));
                        ck_assert_str_eq(rs.v[i].text, want);
                }
                recs_clear(&rs);
        }

        /* Only the files it is told about. */
        ck_assert_int_eq(tail(-1, 2, &rs), 6);
        ck_assert_str_eq(rs.v[0].text, "line 0004");
        recs_clear(&rs);

        /* A torn last line (the writer mid-write) and junk lines are not reported. */
        int fd = open(logpath, O_WRONLY | O_APPEND);
        ck_assert_int_ge(fd, 0);
        const char junk[] = "not a record\n2026-11-22T12:00:00Z stdout F torn";
        ck_assert_int_eq(write(fd, junk, strlen(junk)), (ssize_t)strlen(junk));
        close(fd);
        ck_assert_int_eq(tail(2, 3, &rs), 1); /* the junk line counts as a line */
        ck_assert_str_eq(rs.v[0].text, "line 0009");
        recs_clear(&rs);

        /* No log yet: nothing, no error. */
        unlink(logpath);
        char p[600];
        for (int i = 1; i <= 2; i++) {
                snprintf(p, sizeof(p), "%s.%d", logpath, i);
                unlink(p);
        }
        ck_assert_int_eq(tail(-1, 3, &rs), 0);
}
END_TEST

/* ---- follow ------------------------------------------------------------------------- */

static int follow(HdCtLogFollower *f, Recs *rs)
{
        int total = 0, r;
        while ((r = hd_ct_log_follow_read(f, collect, rs)) > 0)
                total += r;
        ck_assert_int_eq(r, 0);
        return total;
}

static void assert_lines(Recs *rs, int from, int to)
{
        ck_assert_uint_eq(rs->n, (size_t)(to - from));
        for (int i = from; i < to; i++) {
                char want[32];
                snprintf(want, sizeof(want), "line %04d", i);
                ck_assert_str_eq(rs->v[i - from].text, want);
        }
}

START_TEST(test_follow)
{
        HdCtLogWriter *w = writer(4 * REC, 3);
        write_numbered(w, 0, 6); /* .1: 0-3, current: 4-5 */

        HdCtLogFollower *f = NULL;
        _cleanup_error_ HdError *err = NULL;
        ck_assert_int_eq(hd_ct_log_follow_open(logpath, 3, 3, &f, &err), 0);
        Recs rs = { 0 };
        ck_assert_int_eq(follow(f, &rs), 3); /* the tail part: 3-5 */
        assert_lines(&rs, 3, 6);
        recs_clear(&rs);
        ck_assert_int_eq(follow(f, &rs), 0);

        write_numbered(w, 6, 7);
        ck_assert_int_eq(follow(f, &rs), 1);
        assert_lines(&rs, 6, 7);
        recs_clear(&rs);

        /* One rotation between two reads: 7 lands in the old file, 8-9 in the new. */
        write_numbered(w, 7, 10);
        ck_assert_int_eq(follow(f, &rs), 3);
        assert_lines(&rs, 7, 10);
        recs_clear(&rs);

        /* Two rotations between reads (10-11 old, 12-15 then .1, 16 current). */
        write_numbered(w, 10, 17);
        ck_assert_int_eq(follow(f, &rs), 7);
        assert_lines(&rs, 10, 17);
        recs_clear(&rs);

        /* A torn line is delivered once complete. */
        int fd = open(logpath, O_WRONLY | O_APPEND);
        const char torn[] = "2026-11-22T12:00:00.000000000Z stderr F pie";
        ck_assert_int_eq(write(fd, torn, strlen(torn)), (ssize_t)strlen(torn));
        ck_assert_int_eq(follow(f, &rs), 0);
        ck_assert_int_eq(write(fd, "ce\n", 3), 3);
        ck_assert_int_eq(follow(f, &rs), 1);
        ck_assert_str_eq(rs.v[0].text, "piece");
        recs_clear(&rs);

        /* Truncated under it (copytruncate): starts over. */
        ck_assert_int_eq(ftruncate(fd, 0), 0);
        close(fd);
        hd_ct_log_writer_free(w);
        w = writer(4 * REC, 3);
        write_numbered(w, 17, 18);
        ck_assert_int_eq(follow(f, &rs), 1);
        assert_lines(&rs, 17, 18);
        recs_clear(&rs);
        hd_ct_log_follow_free(f);
        hd_ct_log_writer_free(w);
}
END_TEST

START_TEST(test_follow_from_nothing)
{
        /* Following a log before the monitor created it, and n_lines 0: only new lines. */
        HdCtLogFollower *f = NULL;
        _cleanup_error_ HdError *err = NULL;
        ck_assert_int_eq(hd_ct_log_follow_open(logpath, 2, 0, &f, &err), 0);
        Recs rs = { 0 };
        ck_assert_int_eq(follow(f, &rs), 0);
        HdCtLogWriter *w = writer(4 * REC, 2);
        write_numbered(w, 0, 2);
        ck_assert_int_eq(follow(f, &rs), 2);
        assert_lines(&rs, 0, 2);
        recs_clear(&rs);
        hd_ct_log_follow_free(f);

        ck_assert_int_eq(hd_ct_log_follow_open(logpath, 2, 0, &f, &err), 0);
        ck_assert_int_eq(follow(f, &rs), 0);
        /* Rotates twice with max_files 2: the file holding 0-3 is dropped while the
         * follower still reads it, and 4-7 come from the file rotated after it. */
        write_numbered(w, 2, 9);
        ck_assert_int_eq(follow(f, &rs), 7);
        assert_lines(&rs, 2, 9);
        recs_clear(&rs);
        hd_ct_log_follow_free(f);
        hd_ct_log_writer_free(w);

        /* Everything (n_lines < 0) */
        ck_assert_int_eq(hd_ct_log_follow_open(logpath, 2, -1, &f, &err), 0);
        ck_assert_int_eq(follow(f, &rs), 5);
        assert_lines(&rs, 4, 9);
        recs_clear(&rs);
        hd_ct_log_follow_free(f);
}
END_TEST

static Suite *suite(void)
{
        Suite *s = suite_create("ct-log");
        TCase *tc = tcase_create("log");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_time);
        tcase_add_test(tc, test_parse_record);
        tcase_add_test(tc, test_records);
        tcase_add_test(tc, test_long_lines);
        tcase_add_test(tc, test_rotation);
        tcase_add_test(tc, test_tail_across_files);
        tcase_add_test(tc, test_follow);
        tcase_add_test(tc, test_follow_from_nothing);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        SRunner *sr = srunner_create(suite());
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
