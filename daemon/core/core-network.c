/* Networks in the core: the inventory's side of IPAM and port forwards, and the syncs
 * that bring the host's bridges, dnsmasqs and firewall to the inventory.
 *
 * Addresses and forwards are taken in the transaction that inserts their instance and
 * leave with its row, so what the inventory says is never ahead of or behind what was
 * reported. The host follows after the commit; a sync that fails is logged and retried
 * by the next one (and at every start), since the inventory is the truth. */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core-internal.h"
#include "hd-codec.h"
#include "hd-log.h"
#include "net.h"

static bool is_named(const char *network)
{
        return network && strcmp(network, "none") != 0 && strcmp(network, "host") != 0;
}

int hd_core_set_net(HdCore *c, HdNet *net, const char *reason, const HdNetwork *default_network,
                    HdError **err)
{
        c->net = net;
        free(c->net_reason);
        c->net_reason = reason ? strdup(reason) : NULL;
        hd_network_free(c->default_network);
        c->default_network = NULL;
        if (default_network) {
                c->default_network = calloc(1, sizeof(*c->default_network));
                if (!c->default_network || hd_network_copy(c->default_network, default_network) < 0)
                        return hd_error_set(err, -ENOMEM, "out of memory");
        }
        return 0;
}

bool hd_core_net_available(HdCore *c, const char **ret_reason)
{
        if (ret_reason)
                *ret_reason = c->net          ? NULL
                              : c->net_reason ? c->net_reason
                                              : "networking is not configured";
        return c->net != NULL;
}

static int unavailable(HdCore *c, const char *field, HdError **err)
{
        const char *why;
        hd_core_net_available(c, &why);
        return field ? hd_error_set_field(err, -ENODEV, field, "networks are unavailable: %s", why)
                     : hd_error_set(err, -ENODEV, "networks are unavailable: %s", why);
}

static bool is_default(HdCore *c, const char *name)
{
        return c->default_network && strcmp(c->default_network->name, name) == 0;
}

/* ---- syncs -------------------------------------------------------------------------- */

static int net_sync(HdCore *c, HdError **err)
{
        if (!c->net)
                return 0;
        HdNetwork **nets = NULL;
        size_t n_nets = 0;
        HdStoreAddress *addrs = NULL;
        size_t n_addrs = 0;
        HdStoreForward *fw = NULL;
        size_t n_fw = 0;
        char **uuids = NULL;
        int r;

        pthread_mutex_lock(&c->net_lock);
        r = hd_store_network_list(c->store, &nets, &n_nets, err);
        if (r >= 0)
                r = hd_store_address_list(c->store, &addrs, &n_addrs, err);
        if (r >= 0)
                r = hd_store_forward_list(c->store, &fw, &n_fw, err);
        if (r >= 0 && !(uuids = calloc(n_addrs + 1, sizeof(*uuids))))
                r = hd_error_set(err, -ENOMEM, "out of memory");
        if (r >= 0) {
                for (size_t i = 0; i < n_addrs; i++)
                        uuids[i] = addrs[i].instance_uuid;
                HdNetState s = {
                        .networks = nets,
                        .n_networks = n_nets,
                        .addresses = addrs,
                        .n_addresses = n_addrs,
                        .forwards = fw,
                        .n_forwards = n_fw,
                        .instance_uuids = uuids,
                        .n_instance_uuids = n_addrs,
                };
                r = hd_net_apply(c->net, &s, err);
        }
        pthread_mutex_unlock(&c->net_lock);
        free(uuids);
        hd_network_array_free(nets, n_nets);
        hd_store_addresses_free(addrs, n_addrs);
        hd_store_forwards_free(fw, n_fw);
        return r;
}

void hd_core_net_sync(HdCore *c)
{
        _cleanup_error_ HdError *e = NULL;
        if (net_sync(c, &e) < 0)
                hd_log_error("networks: %s", e && e->message ? e->message : "sync failed");
}

int hd_core_net_start(HdCore *c, HdError **err)
{
        if (!c->net) {
                if (c->default_network)
                        hd_log_warn("networks are unavailable (%s): no default network",
                                    c->net_reason ? c->net_reason : "unknown");
                return 0;
        }
        if (c->default_network) {
                _cleanup_(hd_network_freep) HdNetwork *have = NULL;
                _cleanup_error_ HdError *e = NULL;
                int r = hd_store_network_get(c->store, c->default_network->name, &have, &e);
                if (r == -ENOENT) {
                        hd_error_free(TAKE_PTR(e));
                        _cleanup_tx_ HdStoreTx *tx = NULL;
                        HdNetwork n = *c->default_network;
                        n.created_at = hd_now_ms();
                        r = hd_store_tx_begin(c->store, &tx, &e);
                        if (r >= 0)
                                r = hd_store_tx_network_insert(tx, &n, &e);
                        if (r >= 0)
                                r = hd_store_tx_commit(TAKE_PTR(tx), &e);
                        if (r >= 0)
                                hd_log_info("network %s (%s): created as the default network",
                                            n.name, n.subnet);
                }
                if (r < 0) {
                        hd_log_error("default network %s: %s", c->default_network->name,
                                     e && e->message ? e->message : "cannot be created");
                } else if (have && strcmp(have->subnet, c->default_network->subnet) != 0) {
                        hd_log_warn("default network %s keeps its subnet %s (the config asks "
                                    "for %s): delete its instances and restart to change it",
                                    have->name, have->subnet, c->default_network->subnet);
                }
        }
        /* The host may have lost everything (a reboot) or kept leftovers (a crash): the
         * sync rebuilds the one and removes the other. It does not fail the start: the
         * instances without a network still run, and the supervisor retries dnsmasq. */
        _cleanup_error_ HdError *e = NULL;
        if (net_sync(c, &e) < 0)
                hd_log_error("networks: %s", e && e->message ? e->message : "sync failed");
        (void)err;
        return 0;
}

/* ---- instances ------------------------------------------------------------------------ */

/* Whether a host port is free for a forward: something of the host's listening there
 * would be shadowed by the DNAT rule without knowing. */
static int port_free(const HdPortForward *f)
{
        int type = f->protocol == HD_PROTO_UDP ? SOCK_DGRAM : SOCK_STREAM;
        _cleanup_close_ int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        int one = 1;
        /* A port in TIME_WAIT is not in use. */
        (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        struct sockaddr_in sa = {
                .sin_family = AF_INET,
                .sin_port = htons((uint16_t)f->host_port),
                .sin_addr.s_addr = htonl(INADDR_ANY),
        };
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
                return -errno;
        return 0;
}

int hd_core_net_prepare(HdCore *c, HdInstanceSpec *spec, HdError **err)
{
        if (!spec->network) {
                const char *def = c->net && c->default_network ? c->default_network->name : "none";
                if (!(spec->network = strdup(def)))
                        return hd_error_set(err, -ENOMEM, "out of memory");
        }
        /* ports and ip need a network the request may not have named. */
        int r = hd_codec_instance_spec_check_network(spec, err);
        if (r < 0)
                return r;
        if (!is_named(spec->network))
                return 0;
        if (!c->net)
                return unavailable(c, "network", err);
        for (size_t i = 0; i < spec->n_ports; i++) {
                const HdPortForward *f = &spec->ports[i];
                r = port_free(f);
                if (r == -EADDRINUSE || r == -EACCES) {
                        char field[48];
                        snprintf(field, sizeof(field), "ports[%zu].host_port", i);
                        return hd_error_set_field(err, -EEXIST, field,
                                                  "host port %d/%s is in use on the host",
                                                  f->host_port, hd_proto_to_string(f->protocol));
                }
        }
        return 0;
}

static void random_mac(HdKind kind, char out[HD_MAC_STRING_MAX])
{
        uint8_t b[5] = { 0 };
        if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b)) {
                uint64_t t = (uint64_t)hd_monotonic_ms() ^ (uint64_t)getpid() << 20;
                memcpy(b, &t, sizeof(b));
        }
        /* VMs take QEMU's prefix (what guests and tools expect of a virtio NIC);
         * containers a locally administered one. */
        if (kind == HD_KIND_VM)
                snprintf(out, HD_MAC_STRING_MAX, "52:54:00:%02x:%02x:%02x", b[0], b[1], b[2]);
        else
                snprintf(out, HD_MAC_STRING_MAX, "02:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2],
                         b[3], b[4]);
}

int hd_core_tx_net_assign(HdCore *c, HdStoreTx *tx, HdInstance *inst, HdError **err)
{
        const HdInstanceSpec *spec = &inst->spec;
        if (!is_named(spec->network))
                return 0;
        _cleanup_(hd_network_freep) HdNetwork *net = NULL;
        _cleanup_error_ HdError *e = NULL;
        int r = hd_store_tx_network_get(tx, spec->network, &net, &e);
        if (r == -ENOENT)
                return hd_error_set_field(err, -ENOENT, "network", "network `%s` not found",
                                          spec->network);
        if (r < 0)
                return hd_error_propagate(err, &e);

        uint32_t subnet, gw;
        int prefix;
        if (hd_ipv4_cidr_parse(net->subnet, &subnet, &prefix) < 0 ||
            hd_ipv4_parse(net->gateway, &gw) < 0)
                return hd_error_set(err, -EIO, "network `%s` has a bad subnet or gateway",
                                    net->name);
        uint32_t mask = hd_ipv4_mask(prefix);
        uint32_t first = subnet + 1, last = (subnet | ~mask) - 1;
        uint32_t want = 0;
        if (spec->ip) {
                if (hd_ipv4_parse(spec->ip, &want) < 0)
                        return hd_error_set_field(err, -EINVAL, "ip", "`%s` is not an IPv4 address",
                                                  spec->ip);
                if ((want & mask) != subnet || want < first || want > last)
                        return hd_error_set_field(err, -EINVAL, "ip",
                                                  "%s is not a host address of network `%s` (%s)",
                                                  spec->ip, net->name, net->subnet);
                if (want == gw)
                        return hd_error_set_field(err, -EEXIST, "ip",
                                                  "%s is the gateway of network `%s`", spec->ip,
                                                  net->name);
        }

        char mac[HD_MAC_STRING_MAX];
        uint32_t addr = 0;
        for (int attempt = 0;; attempt++) {
                random_mac(spec->kind, mac);
                hd_error_free(TAKE_PTR(e));
                r = hd_store_tx_address_take(tx, net->name, inst->uuid, want, first, last, gw, mac,
                                             &addr, &e);
                /* A mac collision (no field) is drawn again; an address one is the user's. */
                if (r == -EEXIST && !e->field && attempt < 8)
                        continue;
                break;
        }
        if (r < 0)
                return hd_error_propagate(err, &e);

        for (size_t i = 0; i < spec->n_ports; i++) {
                r = hd_store_tx_forward_insert(tx, inst->uuid, &spec->ports[i], &e);
                if (r < 0) {
                        if (e && e->field) {
                                free(e->field);
                                if (asprintf(&e->field, "ports[%zu].host_port", i) < 0)
                                        e->field = NULL;
                        }
                        return hd_error_propagate(err, &e);
                }
        }

        HdInstanceAddress *a = calloc(1, sizeof(*a));
        if (!a)
                return hd_error_set(err, -ENOMEM, "out of memory");
        a->network = strdup(net->name);
        a->bridge = strdup(net->name);
        hd_ipv4_format(addr, a->address);
        a->prefix_len = prefix;
        snprintf(a->gateway, sizeof(a->gateway), "%s", net->gateway);
        snprintf(a->mac, sizeof(a->mac), "%s", mac);
        a->mtu = net->mtu;
        hd_instance_addresses_free(inst->addresses, inst->n_addresses);
        inst->addresses = a;
        inst->n_addresses = 1;
        if (!a->network || !a->bridge)
                return hd_error_set(err, -ENOMEM, "out of memory");
        return hd_store_tx_instance_view_refresh(tx, inst, err);
}

/* ---- the API's networks ------------------------------------------------------------- */

static void mark_default(HdCore *c, HdNetwork *n)
{
        n->is_default = is_default(c, n->name);
}

int hd_core_network_list(HdCore *c, HdNetwork ***ret, size_t *ret_n, HdError **err)
{
        int r = hd_store_network_list(c->store, ret, ret_n, err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < *ret_n; i++)
                mark_default(c, (*ret)[i]);
        return 0;
}

int hd_core_network_get(HdCore *c, const char *name, HdNetwork **ret, HdError **err)
{
        int r = hd_store_network_get(c->store, name, ret, err);
        if (r < 0)
                return r;
        mark_default(c, *ret);
        return 0;
}

static bool subnets_overlap(uint32_t a, int pa, uint32_t b, int pb)
{
        uint32_t m = hd_ipv4_mask(pa < pb ? pa : pb);
        return (a & m) == (b & m);
}

int hd_core_network_create(HdCore *c, const HdNetwork *want, HdNetwork **ret, HdError **err)
{
        if (!c->net)
                return unavailable(c, NULL, err);
        uint32_t subnet;
        int prefix;
        if (hd_ipv4_cidr_parse(want->subnet, &subnet, &prefix) < 0)
                return hd_error_set_field(err, -EINVAL, "subnet", "`%s` is not a subnet",
                                          want->subnet);
        int r = hd_net_name_check(c->net, want->name, err);
        if (r < 0)
                return r;

        HdNetwork n = *want;
        n.created_at = hd_now_ms();
        {
                _cleanup_tx_ HdStoreTx *tx = NULL;
                HdNetwork **all = NULL;
                size_t n_all = 0;
                r = hd_store_tx_begin(c->store, &tx, err);
                if (r >= 0)
                        r = hd_store_tx_network_list(tx, &all, &n_all, err);
                for (size_t i = 0; r >= 0 && i < n_all; i++) {
                        uint32_t s2;
                        int p2;
                        if (strcmp(all[i]->name, n.name) == 0)
                                r = hd_error_set_field(err, -EEXIST, "name",
                                                       "network `%s` already exists", n.name);
                        else if (hd_ipv4_cidr_parse(all[i]->subnet, &s2, &p2) == 0 &&
                                 subnets_overlap(subnet, prefix, s2, p2))
                                r = hd_error_set_field(err, -EEXIST, "subnet",
                                                       "%s overlaps network `%s` (%s)", n.subnet,
                                                       all[i]->name, all[i]->subnet);
                }
                hd_network_array_free(all, n_all);
                if (r >= 0)
                        r = hd_store_tx_network_insert(tx, &n, err);
                if (r >= 0)
                        r = hd_store_tx_commit(TAKE_PTR(tx), err);
        }
        if (r < 0)
                return r;

        _cleanup_error_ HdError *e = NULL;
        if (net_sync(c, &e) < 0) {
                /* A network whose bridge could not be made is not kept: the caller
                 * learns why and nothing half-made stays behind. */
                _cleanup_tx_ HdStoreTx *tx = NULL;
                _cleanup_error_ HdError *e2 = NULL;
                if (hd_store_tx_begin(c->store, &tx, &e2) >= 0 &&
                    hd_store_tx_network_delete(tx, n.name, &e2) >= 0)
                        (void)hd_store_tx_commit(TAKE_PTR(tx), &e2);
                hd_core_net_sync(c);
                int code = e->code;
                hd_error_propagate(err, &e);
                hd_error_wrap(err, "network `%s` could not be set up", n.name);
                return code;
        }
        hd_log_info("network %s (%s) created", n.name, n.subnet);
        return hd_core_network_get(c, n.name, ret, err);
}

int hd_core_network_delete(HdCore *c, const char *name, HdError **err)
{
        if (is_default(c, name))
                return hd_error_set_field(err, -EPERM, "name",
                                          "network `%s` is hostd's default network and cannot "
                                          "be deleted",
                                          name);
        _cleanup_tx_ HdStoreTx *tx = NULL;
        int r = hd_store_tx_begin(c->store, &tx, err);
        if (r >= 0)
                r = hd_store_tx_network_delete(tx, name, err);
        if (r >= 0)
                r = hd_store_tx_commit(TAKE_PTR(tx), err);
        if (r < 0)
                return r;
        hd_log_info("network %s deleted", name);
        hd_core_net_sync(c);
        return 0;
}
