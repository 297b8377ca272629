#include <check.h>
#include <string.h>

#include "http-internal.h"

static void free_params(char *p[HD_ROUTE_MAX_PARAMS])
{
        for (int i = 0; i < HD_ROUTE_MAX_PARAMS; i++) {
                free(p[i]);
                p[i] = NULL;
        }
}

START_TEST(test_static_and_param_routes)
{
        const HdRoute *r = NULL;
        char *p[HD_ROUTE_MAX_PARAMS] = { 0 };
        ck_assert_int_eq(hd_router_match("GET", "/v1", &r, p, NULL), HD_ROUTE_FOUND);
        ck_assert_str_eq(r->pattern, "/v1");
        ck_assert_int_eq(hd_router_match("GET", "/v1/instances/web-1", &r, p, NULL),
                         HD_ROUTE_FOUND);
        ck_assert_str_eq(r->pattern, "/v1/instances/{name}");
        ck_assert_str_eq(p[0], "web-1");
        free_params(p);
        ck_assert_int_eq(hd_router_match("POST", "/v1/instances/db/stop", &r, p, NULL),
                         HD_ROUTE_FOUND);
        ck_assert_ptr_eq(r->fn, hd_handle_instance_stop);
        ck_assert_str_eq(p[0], "db");
        free_params(p);
        ck_assert_int_eq(hd_router_match("GET", "/v1/operations/abc/wait", &r, p, NULL),
                         HD_ROUTE_FOUND);
        ck_assert_ptr_eq(r->fn, hd_handle_operation_wait);
        ck_assert_str_eq(p[0], "abc");
        free_params(p);
}
END_TEST

/* Image refs carry slashes: the last parameter of those routes takes the rest. */
START_TEST(test_greedy_image_ref)
{
        const HdRoute *r = NULL;
        char *p[HD_ROUTE_MAX_PARAMS] = { 0 };
        ck_assert_int_eq(hd_router_match("GET", "/v1/images/library/busybox:1.36", &r, p, NULL),
                         HD_ROUTE_FOUND);
        ck_assert_ptr_eq(r->fn, hd_handle_image_get);
        ck_assert_str_eq(p[0], "library/busybox:1.36");
        free_params(p);
        ck_assert_int_eq(hd_router_match("DELETE", "/v1/images/busybox/", &r, p, NULL),
                         HD_ROUTE_FOUND);
        ck_assert_str_eq(p[0], "busybox");
        free_params(p);
        ck_assert_int_eq(
                hd_router_match("GET", "/v1/images/library/busybox:1.36/export", &r, p, NULL),
                HD_ROUTE_FOUND);
        ck_assert_ptr_eq(r->fn, hd_handle_image_export);
        ck_assert_str_eq(p[0], "library/busybox:1.36");
        free_params(p);
        ck_assert_int_eq(hd_router_match("GET", "/v1/images/busybox/export/", &r, p, NULL),
                         HD_ROUTE_FOUND);
        ck_assert_ptr_eq(r->fn, hd_handle_image_export);
        ck_assert_str_eq(p[0], "busybox");
        free_params(p);
        /* "/export" alone is no ref */
        ck_assert_int_eq(hd_router_match("GET", "/v1/images/export", &r, p, NULL), HD_ROUTE_FOUND);
        ck_assert_ptr_eq(r->fn, hd_handle_image_get);
        ck_assert_str_eq(p[0], "export");
        free_params(p);
        /* the static route wins over the greedy one */
        ck_assert_int_eq(hd_router_match("POST", "/v1/images/prune", &r, p, NULL), HD_ROUTE_FOUND);
        ck_assert_ptr_eq(r->fn, hd_handle_image_prune);
        ck_assert_ptr_null(p[0]);
        char *allow = NULL;
        ck_assert_int_eq(hd_router_match("PUT", "/v1/images/a/b", &r, p, &allow),
                         HD_ROUTE_METHOD_NOT_ALLOWED);
        ck_assert_str_eq(allow, "GET, DELETE");
        free(allow);
        /* ordinary parameters still stop at a slash */
        ck_assert_int_eq(hd_router_match("GET", "/v1/instances/a/b", &r, p, NULL),
                         HD_ROUTE_NOT_FOUND);
}
END_TEST

START_TEST(test_trailing_slash_is_same_resource)
{
        const HdRoute *r = NULL;
        char *p[HD_ROUTE_MAX_PARAMS] = { 0 };
        ck_assert_int_eq(hd_router_match("GET", "/v1/instances/", &r, p, NULL), HD_ROUTE_FOUND);
        ck_assert_ptr_eq(r->fn, hd_handle_instance_list);
}
END_TEST

START_TEST(test_not_found)
{
        const HdRoute *r = NULL;
        char *p[HD_ROUTE_MAX_PARAMS] = { 0 };
        const char *paths[] = {
                "/",         "/v2", "/v1/instances/a/b/c", "/v1/instances//start", "/v1/instancesx",
                "/metricsx", ""
        };
        for (size_t i = 0; i < HD_ARRAY_SIZE(paths); i++) {
                ck_assert_msg(hd_router_match("GET", paths[i], &r, p, NULL) == HD_ROUTE_NOT_FOUND,
                              "%s should not match", paths[i]);
                ck_assert_ptr_null(p[0]);
        }
}
END_TEST

START_TEST(test_method_not_allowed_lists_allow)
{
        const HdRoute *r = NULL;
        char *p[HD_ROUTE_MAX_PARAMS] = { 0 };
        char *allow = NULL;
        ck_assert_int_eq(hd_router_match("PUT", "/v1/instances", &r, p, &allow),
                         HD_ROUTE_METHOD_NOT_ALLOWED);
        ck_assert_str_eq(allow, "GET, POST");
        free(allow);
        ck_assert_int_eq(hd_router_match("POST", "/v1/instances/x", &r, p, &allow),
                         HD_ROUTE_METHOD_NOT_ALLOWED);
        ck_assert_str_eq(allow, "GET, PATCH, DELETE");
        free(allow);
        ck_assert_int_eq(hd_router_match("GET", "/v1/instances/x/start", &r, p, &allow),
                         HD_ROUTE_METHOD_NOT_ALLOWED);
        ck_assert_str_eq(allow, "POST");
        free(allow);
        ck_assert_ptr_null(p[0]);
}
END_TEST

START_TEST(test_every_route_matches_itself)
{
        for (size_t i = 0; i < hd_routes_n; i++) {
                char path[256];
                const char *src = hd_routes[i].pattern;
                size_t o = 0;
                while (*src && o + 8 < sizeof(path)) {
                        if (*src == '{') {
                                o += (size_t)snprintf(path + o, sizeof(path) - o, "p%zu", i);
                                src = strchr(src, '}') + 1;
                        } else
                                path[o++] = *src++;
                }
                path[o] = '\0';
                const HdRoute *r = NULL;
                char *p[HD_ROUTE_MAX_PARAMS] = { 0 };
                ck_assert_int_eq(hd_router_match(hd_routes[i].method, path, &r, p, NULL),
                                 HD_ROUTE_FOUND);
                ck_assert_ptr_eq(r, &hd_routes[i]);
                free_params(p);
        }
}
END_TEST

int main(void)
{
        Suite *s = suite_create("router");
        TCase *tc = tcase_create("match");
        tcase_add_test(tc, test_static_and_param_routes);
        tcase_add_test(tc, test_trailing_slash_is_same_resource);
        tcase_add_test(tc, test_greedy_image_ref);
        tcase_add_test(tc, test_not_found);
        tcase_add_test(tc, test_method_not_allowed_lists_allow);
        tcase_add_test(tc, test_every_route_matches_itself);
        suite_add_tcase(s, tc);
        SRunner *sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? 1 : 0;
}
