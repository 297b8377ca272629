/* Tests for hd-proc.c: PSS from smaps_rollup's text (and smaps's, one Pss: per mapping),
 * the Pss_* parts left alone, malformed lines, and this process's own PSS. */
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hd-proc.h"

/* /proc/PID/smaps_rollup of a qemu-system-x86_64 (Linux 6.1). */
static const char rollup[] =
        "55d0c5a6e000-7ffd2e5f9000 ---p 00000000 00:00 0                          [rollup]\n"
        "Rss:              281932 kB\n"
        "Pss:              268123 kB\n"
        "Pss_Dirty:        249260 kB\n"
        "Pss_Anon:         249188 kB\n"
        "Pss_File:          18863 kB\n"
        "Pss_Shmem:            72 kB\n"
        "Shared_Clean:      16760 kB\n"
        "Shared_Dirty:          0 kB\n"
        "Private_Clean:     15904 kB\n"
        "Private_Dirty:    249268 kB\n"
        "Referenced:       281932 kB\n"
        "Anonymous:        249188 kB\n"
        "LazyFree:              0 kB\n"
        "AnonHugePages:         0 kB\n"
        "ShmemPmdMapped:        0 kB\n"
        "FilePmdMapped:         0 kB\n"
        "Shared_Hugetlb:        0 kB\n"
        "Private_Hugetlb:       0 kB\n"
        "Swap:                  0 kB\n"
        "SwapPss:               0 kB\n"
        "Locked:                0 kB\n";

static int parse(const char *text, uint64_t *ret)
{
        return hd_proc_pss_parse(text, strlen(text), ret);
}

START_TEST(test_rollup)
{
        uint64_t pss = 0;
        ck_assert_int_eq(parse(rollup, &pss), 0);
        ck_assert_uint_eq(pss, UINT64_C(268123) * 1024);
        /* The last line without its newline, tabs for blanks. */
        ck_assert_int_eq(parse("Rss: 8 kB\nPss:\t\t12\tkB", &pss), 0);
        ck_assert_uint_eq(pss, 12 * 1024);
        ck_assert_int_eq(parse("Pss: 0 kB\n", &pss), 0);
        ck_assert_uint_eq(pss, 0);
}
END_TEST

START_TEST(test_smaps_sums)
{
        static const char smaps[] =
                "00400000-00452000 r-xp 00000000 08:02 173521      /usr/bin/dbus-daemon\n"
                "Size:                328 kB\n"
                "Rss:                 300 kB\n"
                "Pss:                 150 kB\n"
                "Pss_Anon:              0 kB\n"
                "00651000-00652000 r--p 00051000 08:02 173521      /usr/bin/dbus-daemon\n"
                "Size:                  4 kB\n"
                "Pss:                   4 kB\n";
        uint64_t pss = 0;
        ck_assert_int_eq(parse(smaps, &pss), 0);
        ck_assert_uint_eq(pss, 154 * 1024);
}
END_TEST

START_TEST(test_malformed)
{
        uint64_t pss = 7;
        ck_assert_int_eq(parse("", &pss), -ENODATA);
        ck_assert_int_eq(parse("Rss: 5 kB\nPss_Anon: 5 kB\n", &pss), -ENODATA);
        ck_assert_int_eq(parse(" Pss: 5 kB\n", &pss), -ENODATA); /* not at a line's start */
        static const char *const bad[] = {
                "Pss: kB\n",    "Pss: 5\n",      "Pss: 5 MB\n",
                "Pss: -5 kB\n", "Pss: 5 kB x\n", "Pss: 5x kB\n",
                "Pss: 5 kBB\n", "Pss: 1.5 kB\n", "Pss: 99999999999999999999 kB\n",
        };
        for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++)
                ck_assert_msg(parse(bad[k], &pss) == -EBADMSG, "%s", bad[k]);
        ck_assert_uint_eq(pss, 7); /* untouched on failure */
}
END_TEST

START_TEST(test_own_process)
{
        if (access("/proc/self/smaps_rollup", R_OK) != 0) {
                fprintf(stderr, "SKIP: no /proc/self/smaps_rollup (Linux < 4.14)\n");
                return;
        }
        uint64_t pss = 0;
        ck_assert_int_eq(hd_proc_pss(getpid(), &pss), 0);
        ck_assert_uint_gt(pss, 0);
        /* PSS is at most RSS. */
        FILE *f = fopen("/proc/self/status", "re");
        ck_assert_ptr_nonnull(f);
        char line[256];
        unsigned long long rss_kib = 0;
        while (fgets(line, sizeof(line), f))
                if (sscanf(line, "VmRSS: %llu kB", &rss_kib) == 1)
                        break;
        fclose(f);
        ck_assert_uint_le(pss, rss_kib * 1024 + 64 * 1024); /* RSS may move a little meanwhile */
        ck_assert_int_eq(hd_proc_pss(INT_MAX, &pss), -ENOENT);
}
END_TEST

static Suite *suite(void)
{
        Suite *s = suite_create("vm-proc");
        TCase *tc = tcase_create("pss");
        tcase_add_test(tc, test_rollup);
        tcase_add_test(tc, test_smaps_sums);
        tcase_add_test(tc, test_malformed);
        tcase_add_test(tc, test_own_process);
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
