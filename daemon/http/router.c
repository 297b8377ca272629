#include <string.h>

#include "http-internal.h"

/* The route table. tests/api/check-routes.py compares it with api/openapi.yaml. */
const HdRoute hd_routes[] = {
        { .method = "GET", .pattern = "/v1", .fn = hd_handle_server_info },
        { .method = "GET", .pattern = "/v1/host", .fn = hd_handle_host_info },
        { .method = "GET", .pattern = "/v1/instances", .fn = hd_handle_instance_list },
        { .method = "POST", .pattern = "/v1/instances", .fn = hd_handle_instance_create },
        { .method = "GET", .pattern = "/v1/instances/{name}", .fn = hd_handle_instance_get },
        { .method = "PATCH", .pattern = "/v1/instances/{name}", .fn = hd_handle_instance_patch },
        { .method = "DELETE", .pattern = "/v1/instances/{name}", .fn = hd_handle_instance_delete },
        { .method = "POST",
          .pattern = "/v1/instances/{name}/start",
          .fn = hd_handle_instance_start },
        { .method = "POST", .pattern = "/v1/instances/{name}/stop", .fn = hd_handle_instance_stop },
        { .method = "POST",
          .pattern = "/v1/instances/{name}/restart",
          .fn = hd_handle_instance_restart },
        { .method = "POST", .pattern = "/v1/instances/{name}/kill", .fn = hd_handle_instance_kill },
        { .method = "POST",
          .pattern = "/v1/instances/{name}/pause",
          .fn = hd_handle_instance_pause },
        { .method = "POST",
          .pattern = "/v1/instances/{name}/resume",
          .fn = hd_handle_instance_resume },
        { .method = "GET", .pattern = "/v1/instances/{name}/logs", .fn = hd_handle_instance_logs },
        { .method = "POST", .pattern = "/v1/instances/{name}/exec", .fn = hd_handle_instance_exec },
        { .method = "GET",
          .pattern = "/v1/instances/{name}/stats",
          .fn = hd_handle_instance_stats },
        { .method = "GET", .pattern = "/v1/operations", .fn = hd_handle_operation_list },
        { .method = "GET", .pattern = "/v1/operations/{id}", .fn = hd_handle_operation_get },
        { .method = "DELETE", .pattern = "/v1/operations/{id}", .fn = hd_handle_operation_cancel },
        { .method = "GET", .pattern = "/v1/operations/{id}/wait", .fn = hd_handle_operation_wait },
        { .method = "GET", .pattern = "/v1/events", .fn = hd_handle_events },
        { .method = "GET", .pattern = "/v1/images", .fn = hd_handle_image_list },
        { .method = "POST",
          .pattern = "/v1/images",
          .fn = hd_handle_image_import,
          .stream = &hd_image_import_hooks },
        { .method = "POST", .pattern = "/v1/images/prune", .fn = hd_handle_image_prune },
        { .method = "POST", .pattern = "/v1/images/pull", .fn = hd_handle_image_pull },
        { .method = "POST",
          .pattern = "/v1/images/{ref}/push",
          .fn = hd_handle_image_push,
          .greedy = true },
        { .method = "GET",
          .pattern = "/v1/images/{ref}/export",
          .fn = hd_handle_image_export,
          .greedy = true },
        { .method = "GET",
          .pattern = "/v1/images/{ref}",
          .fn = hd_handle_image_get,
          .greedy = true },
        { .method = "DELETE",
          .pattern = "/v1/images/{ref}",
          .fn = hd_handle_image_delete,
          .greedy = true },
        { .method = "GET", .pattern = "/v1/networks", .fn = hd_handle_network_list },
        { .method = "POST", .pattern = "/v1/networks", .fn = hd_handle_network_create },
        { .method = "GET", .pattern = "/v1/networks/{name}", .fn = hd_handle_network_get },
        { .method = "DELETE", .pattern = "/v1/networks/{name}", .fn = hd_handle_network_delete },
        { .method = "GET", .pattern = "/v1/benchmarks", .fn = hd_handle_benchmark_list },
        { .method = "POST", .pattern = "/v1/benchmarks", .fn = hd_handle_benchmark_start },
        { .method = "GET", .pattern = "/v1/benchmarks/{id}", .fn = hd_handle_benchmark_get },
        { .method = "DELETE", .pattern = "/v1/benchmarks/{id}", .fn = hd_handle_benchmark_delete },
        { .method = "GET",
          .pattern = "/v1/benchmarks/{id}/chart.svg",
          .fn = hd_handle_benchmark_chart },
        { .method = "GET",
          .pattern = "/v1/benchmarks/{id}/compare/{other}",
          .fn = hd_handle_benchmark_compare },
        { .method = "GET", .pattern = "/metrics", .fn = hd_handle_metrics },
};
const size_t hd_routes_n = HD_ARRAY_SIZE(hd_routes);

/* Compares one pattern with a path segment by segment; {x} matches any
 * non-empty segment and is captured. */
static bool match_pattern(const char *pattern, bool greedy, const char *path,
                          char *ret_params[HD_ROUTE_MAX_PARAMS])
{
        const char *p = pattern, *s = path;
        int n = 0;
        char *caps[HD_ROUTE_MAX_PARAMS] = { 0 };

        while (*p && *s) {
                if (*p == '{') {
                        const char *pe = strchr(p, '}');
                        const char *se = strchr(s, '/');
                        size_t len = se ? (size_t)(se - s) : strlen(s);
                        if (greedy && pe && !strchr(pe + 1, '{')) {
                                /* The last parameter takes the rest, minus a
                                 * trailing slash and the pattern's literal tail
                                 * ("/export"), which the path must end with. */
                                len = strlen(s);
                                if (len > 0 && s[len - 1] == '/')
                                        len--;
                                size_t tail = strlen(pe + 1);
                                if (tail > 0) {
                                        if (len <= tail ||
                                            strncmp(s + len - tail, pe + 1, tail) != 0)
                                                goto fail;
                                        len -= tail;
                                }
                        }
                        if (!pe || len == 0 || n >= HD_ROUTE_MAX_PARAMS)
                                goto fail;
                        caps[n] = strndup(s, len);
                        if (!caps[n])
                                goto fail;
                        n++;
                        p = pe + 1;
                        s += len;
                        continue;
                }
                if (*p != *s)
                        goto fail;
                p++;
                s++;
        }
        /* A trailing slash is the same resource. */
        if (*p == '\0' && (*s == '\0' || (s[0] == '/' && s[1] == '\0'))) {
                for (int i = 0; i < n; i++)
                        ret_params[i] = caps[i];
                return true;
        }
fail:
        for (int i = 0; i < n; i++)
                free(caps[i]);
        return false;
}

HdRouteMatch hd_router_match(const char *method, const char *path, const HdRoute **ret,
                             char *ret_params[HD_ROUTE_MAX_PARAMS], char **ret_allow)
{
        char allow[128] = "";
        bool path_known = false;

        for (size_t i = 0; i < hd_routes_n; i++) {
                char *params[HD_ROUTE_MAX_PARAMS] = { 0 };
                if (!match_pattern(hd_routes[i].pattern, hd_routes[i].greedy, path, params))
                        continue;
                if (strcmp(hd_routes[i].method, method) == 0) {
                        *ret = &hd_routes[i];
                        for (int k = 0; k < HD_ROUTE_MAX_PARAMS; k++)
                                ret_params[k] = params[k];
                        return HD_ROUTE_FOUND;
                }
                for (int k = 0; k < HD_ROUTE_MAX_PARAMS; k++)
                        free(params[k]);
                path_known = true;
                if (!strstr(allow, hd_routes[i].method)) {
                        if (allow[0])
                                strncat(allow, ", ", sizeof(allow) - strlen(allow) - 1);
                        strncat(allow, hd_routes[i].method, sizeof(allow) - strlen(allow) - 1);
                }
        }
        if (!path_known)
                return HD_ROUTE_NOT_FOUND;
        if (ret_allow)
                *ret_allow = strdup(allow);
        return HD_ROUTE_METHOD_NOT_ALLOWED;
}

void hd_http_print_routes(FILE *out)
{
        for (size_t i = 0; i < hd_routes_n; i++)
                fprintf(out, "%s %s\n", hd_routes[i].method, hd_routes[i].pattern);
}
