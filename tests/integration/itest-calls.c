#include "itest-calls.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

json_t *itest_call(HdTestDaemon *d, const char *method, const char *path, const char *body,
                   int want)
{
        HdCurlResult r = { 0 };
        int rc = body ? hd_test_send_json(d, &r, method, path, body)
                      : hd_test_curl(d, &r, method, path, NULL, NULL, 0, NULL);
        ck_assert_int_eq(rc, 0);
        ck_assert_msg(r.status == want, "%s %s: want %d, got %s", method, path, want,
                      hd_curl_result_describe(&r));
        json_t *j = json_incref(r.json);
        hd_curl_result_clear(&r);
        return j;
}

const char *itest_str(const json_t *j, const char *key)
{
        const char *s = json_string_value(json_object_get(j, key));
        return s ? s : "";
}

json_t *itest_action(HdTestDaemon *d, const char *name, const char *what, const char *body,
                     int wait_s)
{
        char path[256];
        snprintf(path, sizeof(path), "/v1/instances/%s/%s?wait=%d", name, what, wait_s);
        json_t *op = itest_call(d, "POST", path, body ? body : "{}", 200);
        ck_assert_msg(strcmp(itest_str(op, "status"), "success") == 0, "%s %s: %s", what, name,
                      json_dumps(op, JSON_COMPACT));
        return op;
}

json_t *itest_get(HdTestDaemon *d, const char *name)
{
        char path[256];
        snprintf(path, sizeof(path), "/v1/instances/%s", name);
        return itest_call(d, "GET", path, NULL, 200);
}

static long long now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

json_t *itest_wait_state(HdTestDaemon *d, const char *name, const char *state, int timeout_ms,
                         int poll_ms)
{
        for (long long t0 = now_ms();;) {
                json_t *i = itest_get(d, name);
                if (strcmp(itest_str(i, "state"), state) == 0)
                        return i;
                ck_assert_msg(now_ms() - t0 < timeout_ms, "%s is %s, not %s after %d ms", name,
                              itest_str(i, "state"), state, timeout_ms);
                json_decref(i);
                usleep((useconds_t)poll_ms * 1000);
        }
}

char *itest_logs(HdTestDaemon *d, const char *name, const char *query)
{
        char path[256];
        snprintf(path, sizeof(path), "/v1/instances/%s/logs%s", name, query);
        HdCurlResult r = { 0 };
        ck_assert_int_eq(hd_test_get(d, &r, path), 0);
        ck_assert_msg(r.status == 200, "logs: %s", hd_curl_result_describe(&r));
        char *text = strdup(r.body ? r.body : "");
        hd_curl_result_clear(&r);
        return text;
}

void itest_delete_all(HdTestDaemon *d)
{
        json_t *all = NULL;
        if (hd_test_list_instances(d, &all) < 0)
                return;
        size_t k;
        json_t *inst;
        json_array_foreach (all, k, inst) {
                char path[256];
                snprintf(path, sizeof(path), "/v1/instances/%s?force=true&wait=60",
                         json_string_value(json_object_get(inst, "name")));
                HdCurlResult r = { 0 };
                (void)hd_test_curl(d, &r, "DELETE", path, NULL, NULL, 0, NULL);
                hd_curl_result_clear(&r);
        }
        json_decref(all);
}
