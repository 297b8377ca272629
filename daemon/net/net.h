/* The network manager: makes the host's bridges, dnsmasqs and nftables table match
 * what the inventory says, and keeps them so.
 *
 * The core hands it the whole desired state (every network, address and forward)
 * after each change and at start; it brings reality there and removes what is
 * hostd's but no longer wanted (bridges marked with its alias, dnsmasq directories,
 * veths of deleted instances). It never reads the store itself. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "hd-error.h"
#include "hd-spec.h"
#include "store.h"

typedef struct HdNet HdNet;

typedef struct HdNetConfig {
        const char *state_dir;     /* dnsmasq directories go in <state_dir>/networks/<name> */
        const char *nft_table;     /* hostd's own `table ip`: "hostd" unless told otherwise */
        const char *dnsmasq;       /* NULL: "dnsmasq" from PATH */
        int supervise_interval_ms; /* how often dead dnsmasqs are looked for; 0: 2000 */
} HdNetConfig;

/* Checks that hostd can manage networks here (root, netlink, nftables, dnsmasq);
 * failing, networking is unavailable and the error says why. */
int hd_net_new(const HdNetConfig *cfg, HdNet **ret, HdError **err);
/* Stops the supervisor. Bridges, dnsmasqs and rules stay: the workloads keep their
 * network while hostd is down. */
void hd_net_free(HdNet *n);
HD_DEFINE_CLEANUP(HdNet *, hd_net_free)

/* The desired state. instance_uuids lists every instance the inventory holds (any
 * state), so veths of instances it does not know are removed. */
typedef struct HdNetState {
        HdNetwork *const *networks;
        size_t n_networks;
        const HdStoreAddress *addresses;
        size_t n_addresses;
        const HdStoreForward *forwards;
        size_t n_forwards;
        char *const *instance_uuids;
        size_t n_instance_uuids;
} HdNetState;

/* Brings the host to s (see above). Safe to call from several threads. Continues past a
 * network that fails and reports the first failure. */
int hd_net_apply(HdNet *n, const HdNetState *s, HdError **err);

/* Removes everything of hostd's: every bridge marked as its own, every dnsmasq and the
 * nftables table (for tests and uninstall). */
int hd_net_teardown(HdNet *n, HdError **err);

/* -EEXIST naming `name` when the host has an interface of that name that is not a
 * bridge of this hostd's (a network's bridge carries the network's name). */
int hd_net_name_check(HdNet *n, const char *name, HdError **err);

/* The bridge alias that marks a bridge as this hostd's. */
const char *hd_net_bridge_alias(HdNet *n);
