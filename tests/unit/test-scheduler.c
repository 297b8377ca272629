#include <check.h>
#include <string.h>

#include "scheduler.h"

static HdSchedCapacity cap(int64_t cpus, int64_t mem, double co, double mo)
{
        HdSchedCapacity c;
        hd_sched_capacity_init(&c, cpus, mem, co, mo);
        return c;
}

START_TEST(test_capacity_applies_overcommit)
{
        HdSchedCapacity c = cap(2, 1000, 4.0, 1.5);
        ck_assert_double_eq_tol(c.vcpus, 8.0, 1e-9);
        ck_assert_int_eq(c.admit_memory_mb, 1500);
}
END_TEST

START_TEST(test_admits_within_capacity)
{
        HdSchedCapacity c = cap(2, 1000, 1.0, 1.0);
        HdSchedRequest req = { .kind = HD_KIND_VM, .vcpus = 2, .memory_mb = 1000 };
        HdPlacement p = { 0 };
        HdError *err = NULL;
        ck_assert_int_eq(hd_sched_place(&c, 0, 0, &req, &p, &err), 0);
        ck_assert_ptr_null(err);
        ck_assert_str_eq(p.host, "local");
        ck_assert_str_eq(p.driver, "vm");
        ck_assert_ptr_nonnull(strstr(p.reason, "2.00 of 2.00 vCPUs"));
        ck_assert_ptr_nonnull(strstr(p.reason, "1000 of 1000 MiB"));
        hd_placement_clear(&p);
}
END_TEST

START_TEST(test_refuses_cpu_with_numbers)
{
        HdSchedCapacity c = cap(2, 1000, 1.0, 1.0);
        HdSchedRequest req = { .kind = HD_KIND_CONTAINER, .vcpus = 0.5, .memory_mb = 16 };
        HdPlacement p = { 0 };
        HdError *err = NULL;
        ck_assert_int_eq(hd_sched_place(&c, 1.75, 0, &req, &p, &err), -ENOSPC);
        ck_assert_str_eq(err->field, "resources.vcpus");
        ck_assert_ptr_nonnull(strstr(err->message, "0.50 vCPUs requested"));
        ck_assert_ptr_nonnull(strstr(err->message, "1.75 of 2.00 allocated"));
        ck_assert_ptr_null(p.host);
        hd_error_free(err);
}
END_TEST

START_TEST(test_refuses_memory_with_numbers)
{
        HdSchedCapacity c = cap(4, 1000, 1.0, 2.0);
        HdSchedRequest req = { .kind = HD_KIND_CONTAINER, .vcpus = 1, .memory_mb = 600 };
        HdPlacement p = { 0 };
        HdError *err = NULL;
        ck_assert_int_eq(hd_sched_place(&c, 0, 1500, &req, &p, &err), -ENOSPC);
        ck_assert_str_eq(err->field, "resources.memory_mb");
        ck_assert_ptr_nonnull(strstr(err->message, "600 MiB requested"));
        ck_assert_ptr_nonnull(strstr(err->message, "1500 of 2000 MiB"));
        hd_error_free(err);
}
END_TEST

/* Fractions add up exactly: ten 0.1-vCPU containers fill one CPU, the eleventh does not fit. */
START_TEST(test_fractional_vcpus_are_exact)
{
        HdSchedCapacity c = cap(1, 100000, 1.0, 1.0);
        HdSchedRequest req = { .kind = HD_KIND_CONTAINER, .vcpus = 0.1, .memory_mb = 16 };
        double allocated = 0;
        for (int i = 0; i < 10; i++) {
                HdPlacement p = { 0 };
                ck_assert_int_eq(hd_sched_place(&c, allocated, 0, &req, &p, NULL), 0);
                hd_placement_clear(&p);
                allocated += 0.1;
        }
        HdPlacement p = { 0 };
        ck_assert_int_eq(hd_sched_place(&c, allocated, 0, &req, &p, NULL), -ENOSPC);
}
END_TEST

START_TEST(test_rejects_impossible_requests)
{
        HdSchedCapacity c = cap(1, 1000, 1.0, 1.0);
        HdPlacement p = { 0 };
        HdSchedRequest zero = { .kind = HD_KIND_VM, .vcpus = 0, .memory_mb = 16 };
        HdSchedRequest badkind = { .kind = (HdKind)7, .vcpus = 1, .memory_mb = 16 };
        ck_assert_int_eq(hd_sched_place(&c, 0, 0, &zero, &p, NULL), -EINVAL);
        ck_assert_int_eq(hd_sched_place(&c, 0, 0, &badkind, &p, NULL), -EINVAL);
}
END_TEST

START_TEST(test_host_probe_reads_proc)
{
        HdHostFacts f;
        hd_host_probe(&f);
        ck_assert_int_gt(f.cpus, 0);
        ck_assert_int_gt(f.memory_mb, 0);
        ck_assert(strcmp(f.cgroup_version, "v1") == 0 || strcmp(f.cgroup_version, "v2") == 0 ||
                  strcmp(f.cgroup_version, "hybrid") == 0);
        ck_assert(strcmp(f.accel, "kvm") == 0 || strcmp(f.accel, "tcg") == 0);
        ck_assert_int_gt(strlen(f.accel_reason), 0);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("scheduler");
        TCase *tc = tcase_create("place");
        tcase_add_test(tc, test_capacity_applies_overcommit);
        tcase_add_test(tc, test_admits_within_capacity);
        tcase_add_test(tc, test_refuses_cpu_with_numbers);
        tcase_add_test(tc, test_refuses_memory_with_numbers);
        tcase_add_test(tc, test_fractional_vcpus_are_exact);
        tcase_add_test(tc, test_rejects_impossible_requests);
        tcase_add_test(tc, test_host_probe_reads_proc);
        suite_add_tcase(s, tc);
        SRunner *sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? 1 : 0;
}
