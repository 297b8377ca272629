/* Fuzzes the router with arbitrary methods and paths: it must never crash,
 * leak, or hand a handler a parameter that is empty or spans segments. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static const char *const methods[] = { "GET", "POST", "PATCH", "DELETE", "PUT", "HEAD" };
        if (size == 0)
                return 0;
        const char *method = methods[data[0] % HD_ARRAY_SIZE(methods)];
        char *path = strndup((const char *)data + 1, size - 1);
        if (!path)
                return 0;

        const HdRoute *route = NULL;
        char *params[HD_ROUTE_MAX_PARAMS] = { 0 };
        char *allow = NULL;
        HdRouteMatch m = hd_router_match(method, path, &route, params, &allow);
        if (m == HD_ROUTE_FOUND) {
                if (!route || strcmp(route->method, method) != 0)
                        abort();
                /* Only a greedy route's last parameter may span segments. */
                for (int i = 0; i < HD_ROUTE_MAX_PARAMS; i++)
                        if (params[i] &&
                            (params[i][0] == '\0' || (!route->greedy && strchr(params[i], '/'))))
                                abort();
        } else if (m == HD_ROUTE_METHOD_NOT_ALLOWED) {
                if (!allow || !allow[0] || strstr(allow, method))
                        abort();
        }
        for (int i = 0; i < HD_ROUTE_MAX_PARAMS; i++)
                free(params[i]);
        free(allow);
        free(path);
        return 0;
}
