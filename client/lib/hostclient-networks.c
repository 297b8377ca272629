/* libhostclient: the networks API (/v1/networks) and the parser of Docker-style port
 * forwards ("8080:80/tcp") that clients turn into an instance spec's ports. */
#include "hostclient-private.h"

#include <string.h>

static int hc_network_oom(HcError *err)
{
        return hc_error_setf(err, -ENOMEM, "transport", "out of memory");
}

/* "/v1/networks/<escaped name>". */
static int hc_network_path(HcBuf *b, const char *name, HcError *err)
{
        if (!name || !*name)
                return hc_error_setf(err, -EINVAL, "invalid_argument",
                                     "network name must not be empty");
        if (hc_buf_printf(b, "/v1/networks") < 0 || hc_buf_add_segment(b, name) < 0)
                return hc_network_oom(err);
        return 0;
}

static int hc_network_request(HcClient *c, const char *method, const char *name, json_t **ret,
                              HcError *err)
{
        _cleanup_buf_ HcBuf path = { 0 };
        int r;

        if (ret)
                *ret = NULL;
        r = hc_network_path(&path, name, err);
        if (r < 0)
                return r;
        _cleanup_(hc_call_clear) HcCall call = { .method = method, .path = path.data };
        return hc_call_object(c, &call, ret, NULL, err);
}

/* ---- List, get, create, delete ------------------------------------------------------- */

int hc_network_list(HcClient *c, json_t **ret, HcError *err)
{
        _cleanup_(hc_call_clear) HcCall call = { .method = "GET", .path = "/v1/networks" };
        return hc_call_object(c, &call, ret, NULL, err);
}

int hc_network_get(HcClient *c, const char *name, json_t **ret, HcError *err)
{
        return hc_network_request(c, "GET", name, ret, err);
}

int hc_network_create(HcClient *c, const HcNetworkCreate *req, json_t **ret, HcError *err)
{
        _cleanup_json_ json_t *body = NULL;

        if (ret)
                *ret = NULL;
        if (!req || !req->name || !*req->name)
                return hc_error_setf(err, -EINVAL, "invalid_argument",
                                     "network name must not be empty");
        if (!req->subnet || !*req->subnet)
                return hc_error_setf(err, -EINVAL, "invalid_argument",
                                     "network subnet must not be empty");
        if (req->mtu < 0)
                return hc_error_setf(err, -EINVAL, "invalid_argument",
                                     "network mtu must not be negative");
        /* Only what the caller set: the server owns the defaults. */
        body = json_pack("{s:s, s:s}", "name", req->name, "subnet", req->subnet);
        if (!body)
                return hc_error_setf(err, -EINVAL, "invalid_argument",
                                     "network name and subnet must be valid UTF-8");
        if (req->gateway && *req->gateway &&
            json_object_set_new(body, "gateway", json_string(req->gateway)) < 0)
                return hc_error_setf(err, -EINVAL, "invalid_argument",
                                     "network gateway must be valid UTF-8");
        if ((req->mtu > 0 && json_object_set_new(body, "mtu", json_integer(req->mtu)) < 0) ||
            (req->no_nat && json_object_set_new(body, "nat", json_false()) < 0))
                return hc_network_oom(err);

        _cleanup_(hc_call_clear)
                HcCall call = { .method = "POST", .path = "/v1/networks", .body = body };
        return hc_call_object(c, &call, ret, NULL, err);
}

int hc_network_delete(HcClient *c, const char *name, json_t **ret, HcError *err)
{
        _cleanup_buf_ HcBuf path = { 0 };
        int r;

        if (ret)
                *ret = NULL;
        if (!c)
                return hc_error_setf(err, -EINVAL, "invalid_argument", "no client");
        r = hc_network_path(&path, name, err);
        if (r < 0)
                return r;
        /* The API answers with the deleted network; an empty 204 is taken as well. */
        _cleanup_(hc_call_clear) HcCall call = { .method = "DELETE", .path = path.data };
        r = hc_perform(c, &call, err);
        if (r < 0)
                return r;
        return hc_call_decode(&call, true, true, ret, err);
}

/* ---- Port forwards ------------------------------------------------------------------- */

/* A port number: 1..5 decimal digits, 1..65535. -1 for anything else. */
static long hc_port_number(const char *s, size_t len)
{
        long v = 0;

        if (len == 0 || len > 5)
                return -1;
        for (size_t i = 0; i < len; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return -1;
                v = v * 10 + (s[i] - '0');
        }
        return v >= 1 && v <= 65535 ? v : -1;
}

int hc_port_forward_parse(const char *s, json_t **ret, HcError *err)
{
        const char *colon, *slash, *proto = "tcp";
        long host_port, port;

        if (ret)
                *ret = NULL;
        hc_error_clear(err);
        if (!s || !*s)
                return hc_error_setf(
                        err, -EINVAL, "invalid_argument",
                        "port forward must not be empty: use HOST_PORT:PORT[/tcp|udp]");
        colon = strchr(s, ':');
        if (!colon || strchr(colon + 1, ':'))
                return hc_error_setf(err, -EINVAL, "invalid_argument",
                                     "`%s` is not a port forward: use HOST_PORT:PORT[/tcp|udp] "
                                     "(hostd forwards from every host address)",
                                     s);
        slash = strchr(colon + 1, '/');
        if (slash) {
                proto = slash + 1;
                if (strcmp(proto, "tcp") != 0 && strcmp(proto, "udp") != 0)
                        return hc_error_setf(err, -EINVAL, "invalid_argument",
                                             "`%s`: protocol must be tcp or udp, not `%s`", s,
                                             proto);
        }
        host_port = hc_port_number(s, (size_t)(colon - s));
        if (host_port < 0)
                return hc_error_setf(err, -EINVAL, "invalid_argument",
                                     "`%s`: the host port must be a number from 1 to 65535", s);
        port = hc_port_number(colon + 1, slash ? (size_t)(slash - colon - 1) : strlen(colon + 1));
        if (port < 0)
                return hc_error_setf(err, -EINVAL, "invalid_argument",
                                     "`%s`: the instance's port must be a number from 1 to 65535",
                                     s);
        if (!ret)
                return 0;
        *ret = json_pack("{s:i, s:i, s:s}", "host_port", (int)host_port, "port", (int)port,
                         "protocol", proto);
        return *ret ? 0 : hc_network_oom(err);
}
