/* Nothing is lost: the inventory survives a clean restart, and a SIGKILL in the
 * middle of concurrent creates loses none that were acknowledged. */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "hostclient.h"

static HdTestDaemon d;

static void setup(void)
{
        ck_assert_int_eq(hd_test_daemon_start(&d, NULL), 0);
}

static void teardown(void)
{
        hd_test_daemon_cleanup(&d);
}

static HcClient *client(void)
{
        HcOptions o = { .socket_path = d.socket_path };
        HcError e;
        HcClient *c = hc_client_new(&o, &e);
        ck_assert_msg(c != NULL, "client: %s", e.message);
        return c;
}

static int create(HcClient *c, const char *name, const char *label)
{
        json_t *spec = json_pack("{s:s, s:s, s:s, s:{s:s}, s:{s:f, s:i}}", "name", name, "kind",
                                 "container", "image", "busybox", "labels", "batch", label,
                                 "resources", "vcpus", 0.01, "memory_mb", 16);
        json_t *out = NULL;
        HcError e;
        int r = hc_instance_create(c, spec, &out, NULL, &e);
        json_decref(spec);
        json_decref(out);
        return r;
}

static int64_t last_seq(HcClient *c)
{
        char *text = NULL;
        ck_assert_int_ge(hc_metrics(c, &text, NULL), 0);
        const char *p = strstr(text, "\nhostd_events_last_seq ");
        ck_assert_ptr_nonnull(p);
        int64_t seq = strtoll(p + strlen("\nhostd_events_last_seq "), NULL, 10);
        free(text);
        return seq;
}

START_TEST(test_restart_keeps_inventory)
{
        HcClient *c = client();
        char name[32];
        for (int i = 0; i < 20; i++) {
                snprintf(name, sizeof(name), "keep-%02d", i);
                ck_assert_int_ge(create(c, name, "restart"), 0);
        }
        json_t *op = NULL;
        ck_assert_int_ge(hc_instance_delete(c, "keep-07", false, 10, &op, NULL), 0);
        ck_assert_str_eq(json_string_value(json_object_get(op, "status")), "success");
        json_decref(op);
        json_t *labels = json_pack("{s:s}", "tier", "db");
        ck_assert_int_ge(hc_instance_patch_labels(c, "keep-03", labels, "\"1\"", NULL, NULL, NULL),
                         0);
        json_decref(labels);

        json_t *before = NULL;
        ck_assert_int_eq(hd_test_list_instances(&d, &before), 0);
        ck_assert_uint_eq(json_array_size(before), 19);
        int64_t seq = last_seq(c);
        hc_client_free(c);

        int status = -1;
        ck_assert_int_eq(hd_test_daemon_stop(&d, SIGTERM, &status), 0);
        ck_assert_int_eq(status, 0);
        ck_assert_int_eq(access(d.socket_path, F_OK), -1); /* the socket went with it */
        ck_assert_int_eq(hd_test_sqlite_integrity(d.db_path), 0);
        ck_assert_int_eq(hd_test_daemon_restart(&d), 0);

        json_t *after = NULL;
        ck_assert_int_eq(hd_test_list_instances(&d, &after), 0);
        ck_assert_msg(json_equal(before, after), "inventory changed across a restart");

        /* Event numbering carries on; it never starts again at 1. */
        c = client();
        ck_assert_int_eq(last_seq(c), seq);
        ck_assert_int_ge(create(c, "after-restart", "restart"), 0);
        ck_assert_int_gt(last_seq(c), seq);
        hc_client_free(c);
        json_decref(before);
        json_decref(after);
}
END_TEST

/* ---- concurrent creates, interrupted ----------------------------------------------------------
 */

#define N_CREATES 50

typedef struct Creator {
        int index;
        const char *batch;
        bool acknowledged; /* got a 2xx */
} Creator;

static atomic_int acknowledged;
static atomic_bool go;

static void *creator_main(void *arg)
{
        Creator *cr = arg;
        HcOptions o = { .socket_path = d.socket_path, .timeout_s = 20 };
        HcClient *c = hc_client_new(&o, NULL);
        if (!c)
                return NULL;
        while (!atomic_load(&go))
                usleep(100);
        char name[32];
        snprintf(name, sizeof(name), "%s-%02d", cr->batch, cr->index);
        if (create(c, name, cr->batch) >= 0) {
                cr->acknowledged = true;
                atomic_fetch_add(&acknowledged, 1);
        }
        hc_client_free(c);
        return NULL;
}

/* Starts 50 creates at once, sends sig to hostd after the first few are
 * acknowledged, and checks after a restart that every acknowledged one is there. */
static void interrupted_creates(int sig, const char *batch)
{
        pthread_t threads[N_CREATES];
        Creator crs[N_CREATES];
        atomic_store(&acknowledged, 0);
        atomic_store(&go, false);
        for (int i = 0; i < N_CREATES; i++) {
                crs[i] = (Creator){ .index = i, .batch = batch };
                ck_assert_int_eq(pthread_create(&threads[i], NULL, creator_main, &crs[i]), 0);
        }
        atomic_store(&go, true);
        for (int i = 0; i < 20000 && atomic_load(&acknowledged) < 5; i++)
                usleep(100);
        int status = -1;
        ck_assert_int_eq(hd_test_daemon_stop(&d, sig, &status), 0);
        for (int i = 0; i < N_CREATES; i++)
                pthread_join(threads[i], NULL);
        int acked = atomic_load(&acknowledged);
        ck_assert_int_ge(acked, 5);
        if (sig == SIGTERM)
                ck_assert_int_eq(status, 0);
        else
                ck_assert_int_eq(status, 128 + SIGKILL);

        ck_assert_int_eq(hd_test_sqlite_integrity(d.db_path), 0);
        ck_assert_int_eq(hd_test_daemon_restart(&d), 0);

        HcClient *c = client();
        int present = 0;
        for (int i = 0; i < N_CREATES; i++) {
                char name[32];
                snprintf(name, sizeof(name), "%s-%02d", batch, i);
                json_t *inst = NULL;
                HcError e;
                int r = hc_instance_get(c, name, &inst, NULL, &e);
                if (crs[i].acknowledged)
                        ck_assert_msg(r >= 0, "%s was acknowledged but is gone after %s", name,
                                      strsignal(sig));
                if (r >= 0) {
                        present++;
                        ck_assert_str_eq(json_string_value(json_object_get(inst, "state")),
                                         "created");
                }
                json_decref(inst);
        }
        ck_assert_int_ge(present, acked);
        fprintf(stderr, "%s during %d creates: %d acknowledged, %d present after restart\n",
                strsignal(sig), N_CREATES, acked, present);
        hc_client_free(c);
        int st = -1;
        ck_assert_int_eq(hd_test_daemon_stop(&d, SIGTERM, &st), 0);
        ck_assert_int_eq(st, 0);
        ck_assert_int_eq(hd_test_sqlite_integrity(d.db_path), 0);
}

START_TEST(test_sigkill_during_concurrent_creates)
{
        interrupted_creates(SIGKILL, "kill");
}
END_TEST

START_TEST(test_sigterm_during_concurrent_creates)
{
        interrupted_creates(SIGTERM, "term");
}
END_TEST

int main(void)
{
        hd_test_init();
        Suite *s = suite_create("persistence");
        TCase *tc = tcase_create("persistence");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, test_restart_keeps_inventory);
        tcase_add_test(tc, test_sigkill_during_concurrent_creates);
        tcase_add_test(tc, test_sigterm_during_concurrent_creates);
        suite_add_tcase(s, tc);
        SRunner *sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        hd_test_fini(failed);
        return failed ? 1 : 0;
}
