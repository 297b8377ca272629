/* Links over rtnetlink (libmnl): the bridges of hostd's networks and the veth pairs
 * of its containers. No `ip` command is run.
 *
 * Links libmnl and hd_lib only: hostd and hostd-monitor both use it.
 * Errors: int < 0 (-errno, the kernel's when it said no) plus HdError naming the
 * link and the step. */
#pragma once

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "hd-error.h"

/* A link of hostd's network namespace. */
typedef struct HdNlLink {
        char name[IFNAMSIZ];
        int ifindex;
        char kind[16];   /* IFLA_INFO_KIND: "bridge", "veth", … or "" */
        char alias[128]; /* IFLA_IFALIAS or "" */
        int master;      /* ifindex of the bridge it is enslaved to, or 0 */
        bool up;         /* IFF_UP */
} HdNlLink;

/* Makes the bridge `name` exist and match: created when absent (-EEXIST, naming it,
 * when a link of that name exists and is not a bridge), then its alias, its MTU,
 * exactly one IPv4 address addr/prefix (host order; any other IPv4 address on it is
 * removed), and up. Idempotent. */
int hd_nl_bridge_ensure(const char *name, const char *alias, uint32_t addr, int prefix, int mtu,
                        HdError **err);

/* Deletes the link; 0 when there was none. */
int hd_nl_link_delete(const char *name, HdError **err);

/* One link by name: -ENODEV (no error set) when absent. */
int hd_nl_link_get(const char *name, HdNlLink *ret, HdError **err);

/* Every link of hostd's network namespace; the caller frees *ret. */
int hd_nl_link_list(HdNlLink **ret, size_t *ret_n, HdError **err);

/* A container's end of the network and its host end. */
typedef struct HdNlVethConfig {
        const char *host_ifname; /* the host end, enslaved to bridge */
        const char *alias;       /* set on the host end, e.g. "hostd:<uuid>" */
        const char *bridge;
        const char *ifname; /* the end inside the namespace, e.g. "eth0" */
        uint8_t mac[6];     /* the inside end's */
        uint32_t addr;      /* host order */
        int prefix;
        uint32_t gateway; /* the default route's next hop, host order; 0: no route */
        int mtu;
} HdNlVethConfig;

/* Makes the veth pair with its inside end in the network namespace of pid, and
 * configures both: the host end's alias, MTU, bridge and up; inside, lo up, the
 * inside end's name, MAC, MTU, address and up, and the default route. A stale host end
 * of the same name (a crashed run's) is deleted first. On failure the pair is
 * deleted again. Leaves the caller in the namespace it was in. */
int hd_nl_veth_setup(const HdNlVethConfig *c, pid_t pid, HdError **err);
