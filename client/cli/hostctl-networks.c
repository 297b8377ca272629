/* hostctl: `network ls|create|show|rm`, the networks API. */
#include "hostctl.h"

#include <string.h>

enum {
        OPT_SUBNET = 256,
        OPT_GATEWAY,
        OPT_MTU,
        OPT_NO_NAT,
};

/* ---- Output -------------------------------------------------------------------------- */

static const char *hostctl_network_str(const json_t *obj, const char *key)
{
        return json_string_value(json_object_get(obj, key));
}

void hostctl_print_networks(const json_t *networks)
{
        static const char *const headers[] = { "NAME", "SUBNET",  "GATEWAY",
                                               "NAT",  "DEFAULT", "USED_BY" };
        _cleanup_(hostctl_table_freep) HostctlTable *t = hostctl_table_new(6, headers);
        size_t i;
        json_t *n;

        if (!t)
                return;
        json_array_foreach (networks, i, n) {
                const json_t *nat = json_object_get(n, "nat");
                const json_t *def = json_object_get(n, "default");
                const json_t *used = json_object_get(n, "used_by");
                _cleanup_free_ char *nat_s = nat ? hostctl_value_string(nat) : NULL;
                _cleanup_free_ char *def_s = def ? hostctl_value_string(def) : NULL;
                _cleanup_free_ char *used_s = used ? hostctl_value_string(used) : NULL;

                hostctl_table_add(t, (const char *const[]){
                                             hostctl_network_str(n, "name"),
                                             hostctl_network_str(n, "subnet"),
                                             hostctl_network_str(n, "gateway"),
                                             nat_s,
                                             def_s,
                                             used_s,
                                     });
        }
        hostctl_table_print(t, stdout);
}

/* ---- ls, show, rm -------------------------------------------------------------------- */

static int hostctl_network_ls(Hostctl *ctl, int argc, char **argv)
{
        _cleanup_json_ json_t *list = NULL;
        HcError err;
        int r = hostctl_only_common_options(ctl, argc, argv, 0, 0, NULL);
        if (r >= 0)
                return r;
        if (!hostctl_client(ctl))
                return HOSTCTL_EXIT_ERROR;
        if (hc_network_list(ctl->client, &list, &err) < 0)
                return hostctl_api_error(&err, NULL);
        return hostctl_print_list(ctl, list, "networks", hostctl_print_networks);
}

static int hostctl_network_show(Hostctl *ctl, int argc, char **argv)
{
        _cleanup_json_ json_t *net = NULL;
        HcError err;
        int r = hostctl_only_common_options(ctl, argc, argv, 1, 1, "network NAME");
        if (r >= 0)
                return r;
        if (!hostctl_client(ctl))
                return HOSTCTL_EXIT_ERROR;
        if (hc_network_get(ctl->client, argv[optind], &net, &err) < 0)
                return hostctl_api_error(&err, NULL);
        return hostctl_print_object(ctl, net);
}

static int hostctl_network_rm(Hostctl *ctl, int argc, char **argv)
{
        _cleanup_json_ json_t *net = NULL;
        HcError err;
        int r = hostctl_only_common_options(ctl, argc, argv, 1, 1, "network NAME");
        if (r >= 0)
                return r;
        if (!hostctl_client(ctl))
                return HOSTCTL_EXIT_ERROR;
        if (hc_network_delete(ctl->client, argv[optind], &net, &err) < 0)
                return hostctl_api_error(&err, NULL);
        if (ctl->output == HOSTCTL_OUTPUT_JSON && net) {
                hostctl_print_json(net);
        } else {
                const char *name = hostctl_network_str(net, "name");
                printf("deleted %s\n", name ? name : argv[optind]);
        }
        return HOSTCTL_EXIT_OK;
}

/* ---- create -------------------------------------------------------------------------- */

static int hostctl_network_create(Hostctl *ctl, int argc, char **argv)
{
        static const struct option options[] = {
                { "subnet", required_argument, NULL, OPT_SUBNET },
                { "gateway", required_argument, NULL, OPT_GATEWAY },
                { "mtu", required_argument, NULL, OPT_MTU },
                { "no-nat", no_argument, NULL, OPT_NO_NAT },
                HOSTCTL_COMMON_OPTIONS,
                {},
        };
        _cleanup_json_ json_t *net = NULL;
        HcNetworkCreate req = { 0 };
        long long mtu;
        HcError err;
        int c, r;

        while ((c = hostctl_getopt(ctl, argc, argv, options)) != -1) {
                switch (c) {
                case OPT_SUBNET:
                        req.subnet = optarg;
                        break;
                case OPT_GATEWAY:
                        req.gateway = optarg;
                        break;
                case OPT_MTU:
                        /* The server checks the range; here only that it is a number. */
                        if (!hostctl_parse_int("--mtu", optarg, 1, 65535, &mtu))
                                return HOSTCTL_EXIT_USAGE;
                        req.mtu = (int)mtu;
                        break;
                case OPT_NO_NAT:
                        req.no_nat = true;
                        break;
                default:
                        return c - HOSTCTL_OPT_STOP;
                }
        }
        r = hostctl_positional(argc, argv, 1, 1, "network NAME");
        if (r >= 0)
                return r;
        if (!req.subnet)
                return hostctl_usage_error("%s: --subnet CIDR is required", argv[0]);
        req.name = argv[optind];
        if (!hostctl_client(ctl))
                return HOSTCTL_EXIT_ERROR;
        if (hc_network_create(ctl->client, &req, &net, &err) < 0)
                return hostctl_api_error(&err, NULL);
        return hostctl_print_object(ctl, net);
}

/* ---- network ------------------------------------------------------------------------- */

int hostctl_cmd_network(Hostctl *ctl, int argc, char **argv)
{
        static const HostctlSub subs[] = {
                { "ls", hostctl_network_ls },         { "list", hostctl_network_ls },
                { "create", hostctl_network_create }, { "show", hostctl_network_show },
                { "rm", hostctl_network_rm },
        };
        return hostctl_dispatch(ctl, argc, argv, subs, HD_ARRAY_SIZE(subs), "ls, create, show, rm");
}
