/* The codec's networking half: an instance spec's network, ip and ports, and the
 * body of POST /v1/networks. Same rules and error order as hd-codec.c: unknown
 * fields, then types, then required fields, then values; every error names the
 * field ("ports[2].port"). */
#include "hd-codec.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hd-codec-internal.h"
#include "hd-util.h"

#define NETWORK_PREFIX_MIN 8
#define NETWORK_PREFIX_MAX 29 /* room for the gateway and at least a few instances */
#define NETWORK_MTU_MIN    576
#define NETWORK_MTU_MAX    9000

/* ---- network names ------------------------------------------------------------- */

/* Words that mean something else where a network is named: the spec's modes
 * (`none`, `host`) and what a CLI or a later API may use for "the default one" or
 * "every one". None may become a network's name. */
static const char *const reserved_names[] = { "none", "host", "default", "all" };

static bool is_reserved(const char *name)
{
        for (size_t i = 0; i < HD_ARRAY_SIZE(reserved_names); i++)
                if (strcmp(name, reserved_names[i]) == 0)
                        return true;
        return false;
}

/* [a-z0-9]([a-z0-9-]*[a-z0-9])?, at most HD_NETWORK_NAME_MAX characters. */
static bool network_name_has_form(const char *s)
{
        size_t n = strlen(s);
        if (n == 0 || n > HD_NETWORK_NAME_MAX || s[0] == '-' || s[n - 1] == '-')
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
                        return false;
        return true;
}

bool hd_codec_network_name_is_valid(const char *name)
{
        return name && network_name_has_form(name) && !is_reserved(name);
}

/* v (a JSON string) must be a network's name; reported on field. */
static int check_network_name(const json_t *v, const char *field, HdError **err)
{
        const char *s = json_string_value(v);
        size_t len = json_string_length(v);

        if (len == 0)
                return hd_codec_fail(err, field, "must not be empty");
        if (len > HD_NETWORK_NAME_MAX)
                return hd_codec_fail(err, field,
                                     "must be at most %d characters (it also names the network's "
                                     "bridge interface)",
                                     HD_NETWORK_NAME_MAX);
        if (strlen(s) != len || !network_name_has_form(s))
                return hd_codec_fail(err, field,
                                     "`%.*s` is not a valid network name: use lowercase letters, "
                                     "digits and `-`, starting and ending with a letter or digit",
                                     HD_CODEC_Q(s));
        if (is_reserved(s))
                return hd_codec_fail(err, field,
                                     "`%s` is reserved and cannot name a network: `none`, `host`, "
                                     "`default` and `all` are",
                                     s);
        return 0;
}

/* ---- instance spec: network, ip, ports -------------------------------------------- */

static const char *const port_fields[] = { "host_port", "port", "protocol", NULL };

static bool is_mode(const char *network)
{
        return network && (strcmp(network, "none") == 0 || strcmp(network, "host") == 0);
}

int hd_codec_ports_check_unknown(const json_t *ports, HdError **err)
{
        size_t i;
        json_t *p;
        json_array_foreach (ports, i, p) {
                char prefix[32];
                snprintf(prefix, sizeof(prefix), "ports[%zu]", i);
                int r = json_is_object(p) ? hd_codec_check_unknown(p, prefix, port_fields, err) : 0;
                if (r < 0)
                        return r;
        }
        return 0;
}

int hd_codec_ports_check_types(const json_t *ports, HdError **err)
{
        size_t i;
        json_t *p;
        json_array_foreach (ports, i, p) {
                char f[48];
                int r;
                snprintf(f, sizeof(f), "ports[%zu]", i);
                if ((r = hd_codec_check_type(p, JT_OBJECT, f, err)) < 0)
                        return r;
                static const struct {
                        const char *name;
                        JType type;
                } members[] = {
                        { "host_port", JT_INTEGER },
                        { "port", JT_INTEGER },
                        { "protocol", JT_STRING },
                };
                for (size_t k = 0; k < HD_ARRAY_SIZE(members); k++) {
                        snprintf(f, sizeof(f), "ports[%zu].%s", i, members[k].name);
                        r = hd_codec_check_type(json_object_get(p, members[k].name),
                                                members[k].type, f, err);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

int hd_codec_ports_check_required(const json_t *ports, HdError **err)
{
        size_t i;
        json_t *p;
        json_array_foreach (ports, i, p) {
                static const char *const required[] = { "host_port", "port" };
                for (size_t k = 0; k < HD_ARRAY_SIZE(required); k++) {
                        if (json_object_get(p, required[k]))
                                continue;
                        char f[48];
                        snprintf(f, sizeof(f), "ports[%zu].%s", i, required[k]);
                        return hd_codec_fail(err, f, "is required");
                }
        }
        return 0;
}

static int parse_network(const json_t *v, HdKind kind, char **ret, HdError **err)
{
        const char *n = json_string_value(v);
        bool clean = strlen(n) == json_string_length(v);

        if (clean && strcmp(n, "host") == 0 && kind == HD_KIND_VM)
                return hd_codec_fail(err, "network",
                                     "`host` is not supported for kind `vm`: use a network's name "
                                     "or `none`");
        if (!clean || !is_mode(n)) {
                int r = check_network_name(v, "network", err);
                if (r < 0)
                        return r;
        }
        /* Kept as given, `none` included: NULL means "the default network". */
        if (!(*ret = strdup(n)))
                return hd_error_set(err, -ENOMEM, "out of memory");
        return 0;
}

static int parse_ip(const json_t *v, const char *network, char **ret, HdError **err)
{
        const char *s = json_string_value(v);
        uint32_t a;
        char buf[HD_IPV4_STRING_MAX];

        if (strlen(s) != json_string_length(v) || hd_ipv4_parse(s, &a) < 0)
                return hd_codec_fail(err, "ip",
                                     "`%.*s` is not an IPv4 address: use the dotted form, e.g. "
                                     "`10.88.0.10`",
                                     HD_CODEC_Q(s));
        if (is_mode(network))
                return hd_codec_fail(err, "ip",
                                     "needs a network to be on: not possible with network `%s`",
                                     network);
        hd_ipv4_format(a, buf);
        if (!(*ret = strdup(buf)))
                return hd_error_set(err, -ENOMEM, "out of memory");
        return 0;
}

static int parse_port(const json_t *p, size_t i, HdPortForward *ret, HdError **err)
{
        const json_t *proto = json_object_get(p, "protocol");
        char f[48];
        int r;

        snprintf(f, sizeof(f), "ports[%zu].host_port", i);
        r = hd_codec_check_int_range(json_object_get(p, "host_port"), 1, 65535, f, "", err);
        if (r < 0)
                return r;
        snprintf(f, sizeof(f), "ports[%zu].port", i);
        r = hd_codec_check_int_range(json_object_get(p, "port"), 1, 65535, f, "", err);
        if (r < 0)
                return r;

        ret->host_port = (int)json_integer_value(json_object_get(p, "host_port"));
        ret->port = (int)json_integer_value(json_object_get(p, "port"));
        ret->protocol = HD_PROTO_TCP;
        if (proto) {
                const char *s = json_string_value(proto);
                ret->protocol = strlen(s) == json_string_length(proto) ? hd_proto_from_string(s)
                                                                       : HD_PROTO_INVALID;
                if (ret->protocol == HD_PROTO_INVALID) {
                        snprintf(f, sizeof(f), "ports[%zu].protocol", i);
                        return hd_codec_fail(err, f, "`%.*s` is not a protocol: use `tcp` or `udp`",
                                             HD_CODEC_Q(s));
                }
        }
        return 0;
}

static int parse_ports(const json_t *a, const char *network, HdPortForward **ret, size_t *ret_n,
                       HdError **err)
{
        size_t n = json_array_size(a);

        if (n > HD_PORTS_MAX)
                return hd_codec_fail(err, "ports", "must have at most %d entries", HD_PORTS_MAX);
        if (n == 0)
                return 0;
        if (is_mode(network))
                return hd_codec_fail(err, "ports",
                                     "needs a network to forward to: not possible with network "
                                     "`%s`",
                                     network);

        _cleanup_free_ HdPortForward *p = calloc(n, sizeof(*p));
        if (!p)
                return hd_error_set(err, -ENOMEM, "out of memory");
        for (size_t i = 0; i < n; i++) {
                int r = parse_port(json_array_get(a, i), i, &p[i], err);
                if (r < 0)
                        return r;
                /* One host port and protocol can lead to one place only. */
                for (size_t k = 0; k < i; k++)
                        if (p[k].host_port == p[i].host_port && p[k].protocol == p[i].protocol) {
                                char f[48];
                                snprintf(f, sizeof(f), "ports[%zu].host_port", i);
                                return hd_codec_fail(err, f,
                                                     "host port %d/%s is already forwarded by "
                                                     "`ports[%zu]`",
                                                     p[i].host_port,
                                                     hd_proto_to_string(p[i].protocol), k);
                        }
        }
        *ret = TAKE_PTR(p);
        *ret_n = n;
        return 0;
}

int hd_codec_parse_spec_network(const json_t *j, HdInstanceSpec *s, HdError **err)
{
        const json_t *v;
        int r;

        if ((v = json_object_get(j, "network")) &&
            (r = parse_network(v, s->kind, &s->network, err)) < 0)
                return r;
        if ((v = json_object_get(j, "ip")) && (r = parse_ip(v, s->network, &s->ip, err)) < 0)
                return r;
        if ((v = json_object_get(j, "ports")) &&
            (r = parse_ports(v, s->network, &s->ports, &s->n_ports, err)) < 0)
                return r;
        return 0;
}

int hd_codec_instance_spec_check_network(const HdInstanceSpec *s, HdError **err)
{
        if (!is_mode(s->network))
                return 0;
        if (s->ip)
                return hd_codec_fail(err, "ip",
                                     "needs a network to be on: not possible with network `%s`",
                                     s->network);
        if (s->n_ports > 0)
                return hd_codec_fail(err, "ports",
                                     "needs a network to forward to: not possible with network "
                                     "`%s`",
                                     s->network);
        return 0;
}

/* ---- POST /v1/networks ---------------------------------------------------------------- */

static bool cidr_overlap(uint32_t a, int pa, uint32_t b, int pb)
{
        uint32_t m = hd_ipv4_mask(pa < pb ? pa : pb);
        return (a & m) == (b & m);
}

/* Ranges a bridge's subnet cannot sit in: the host would route them elsewhere (or
 * nowhere) whatever the bridge says. */
static const struct {
        uint32_t net;
        int prefix;
        const char *cidr, *what;
} unusable[] = {
        { 0x00000000u, 8, "0.0.0.0/8", "this-network" },
        { 0x7f000000u, 8, "127.0.0.0/8", "loopback" },
        { 0xa9fe0000u, 16, "169.254.0.0/16", "link-local" },
        { 0xe0000000u, 3, "224.0.0.0/3", "multicast and reserved" },
};

/* Canonical "A.B.C.D/N", host bits zero, into *ret_subnet; network and prefix out. */
static int parse_subnet(const json_t *v, char **ret_subnet, uint32_t *ret_net, int *ret_prefix,
                        HdError **err)
{
        const char *s = json_string_value(v);
        uint32_t a;
        int prefix;
        char net[HD_IPV4_STRING_MAX];

        if (strlen(s) != json_string_length(v) || hd_ipv4_cidr_parse(s, &a, &prefix) < 0)
                return hd_codec_fail(err, "subnet",
                                     "`%.*s` is not an IPv4 subnet in CIDR form, e.g. "
                                     "`10.88.0.0/24`",
                                     HD_CODEC_Q(s));
        if (prefix < NETWORK_PREFIX_MIN || prefix > NETWORK_PREFIX_MAX)
                return hd_codec_fail(err, "subnet",
                                     "`%s` has prefix length %d: use %d to %d (the network needs "
                                     "room for its gateway and instances)",
                                     s, prefix, NETWORK_PREFIX_MIN, NETWORK_PREFIX_MAX);
        hd_ipv4_format(a & hd_ipv4_mask(prefix), net);
        if ((a & ~hd_ipv4_mask(prefix)) != 0)
                return hd_codec_fail(err, "subnet", "`%s` has host bits set: use `%s/%d`", s, net,
                                     prefix);
        for (size_t i = 0; i < HD_ARRAY_SIZE(unusable); i++)
                if (cidr_overlap(a, prefix, unusable[i].net, unusable[i].prefix))
                        return hd_codec_fail(err, "subnet",
                                             "`%s` overlaps %s (%s): use a private range such as "
                                             "10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16",
                                             s, unusable[i].cidr, unusable[i].what);
        if (asprintf(ret_subnet, "%s/%d", net, prefix) < 0) {
                *ret_subnet = NULL;
                return hd_error_set(err, -ENOMEM, "out of memory");
        }
        *ret_net = a;
        *ret_prefix = prefix;
        return 0;
}

/* The gateway: as given (inside the subnet, neither its network nor its broadcast
 * address), or the first usable address when v is NULL. */
static int parse_gateway(const json_t *v, uint32_t net, int prefix, const char *subnet, char **ret,
                         HdError **err)
{
        uint32_t bcast = net | ~hd_ipv4_mask(prefix);
        uint32_t gw = net + 1;
        char buf[HD_IPV4_STRING_MAX];

        if (v) {
                const char *s = json_string_value(v);
                if (strlen(s) != json_string_length(v) || hd_ipv4_parse(s, &gw) < 0)
                        return hd_codec_fail(err, "gateway",
                                             "`%.*s` is not an IPv4 address: use the dotted form, "
                                             "e.g. `10.88.0.1`",
                                             HD_CODEC_Q(s));
                if ((gw & hd_ipv4_mask(prefix)) != net)
                        return hd_codec_fail(err, "gateway", "`%s` is not inside subnet `%s`", s,
                                             subnet);
                if (gw == net || gw == bcast)
                        return hd_codec_fail(err, "gateway",
                                             "`%s` is the %s address of subnet `%s`: use an "
                                             "address between them",
                                             s, gw == net ? "network" : "broadcast", subnet);
        }
        hd_ipv4_format(gw, buf);
        if (!(*ret = strdup(buf)))
                return hd_error_set(err, -ENOMEM, "out of memory");
        return 0;
}

int hd_codec_network_create_from_json(const json_t *j, HdNetwork *ret, HdError **err)
{
        static const char *const fields[] = { "name", "subnet", "gateway", "mtu", "nat", NULL };
        static const struct {
                const char *name;
                JType type;
        } types[] = {
                { "name", JT_STRING }, { "subnet", JT_STRING }, { "gateway", JT_STRING },
                { "mtu", JT_INTEGER }, { "nat", JT_BOOLEAN },
        };
        _cleanup_(hd_network_clear) HdNetwork n = { .mtu = HD_NETWORK_MTU_DEFAULT, .nat = true };
        const json_t *v;
        uint32_t net = 0;
        int prefix = 0, r;

        *ret = (HdNetwork){ 0 };
        if (!json_is_object(j))
                return hd_error_set(err, -EINVAL, "request body must be a JSON object");

        /* 1. unknown fields, 2. types, 3. required */
        r = hd_codec_check_unknown(j, NULL, fields, err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < HD_ARRAY_SIZE(types); i++)
                if ((r = hd_codec_check_type(json_object_get(j, types[i].name), types[i].type,
                                             types[i].name, err)) < 0)
                        return r;
        static const char *const required[] = { "name", "subnet" };
        for (size_t i = 0; i < HD_ARRAY_SIZE(required); i++)
                if (!json_object_get(j, required[i]))
                        return hd_codec_fail(err, required[i], "is required");

        /* 4. values */
        v = json_object_get(j, "name");
        if ((r = check_network_name(v, "name", err)) < 0)
                return r;
        if (!(n.name = strdup(json_string_value(v))))
                return hd_error_set(err, -ENOMEM, "out of memory");
        r = parse_subnet(json_object_get(j, "subnet"), &n.subnet, &net, &prefix, err);
        if (r < 0)
                return r;
        r = parse_gateway(json_object_get(j, "gateway"), net, prefix, n.subnet, &n.gateway, err);
        if (r < 0)
                return r;
        if ((v = json_object_get(j, "mtu"))) {
                r = hd_codec_check_int_range(v, NETWORK_MTU_MIN, NETWORK_MTU_MAX, "mtu", "", err);
                if (r < 0)
                        return r;
                n.mtu = (int)json_integer_value(v);
        }
        if ((v = json_object_get(j, "nat")))
                n.nat = json_is_true(v);

        *ret = n;
        n = (HdNetwork){ 0 };
        return 0;
}
