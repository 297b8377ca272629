/* One dnsmasq per network: DHCP with a static lease for each instance (IPAM's
 * addresses, never a pool), and DNS for the network's instance names, forwarding the
 * rest to the host's resolvers. It runs daemonized and outlives hostd, like a
 * container's monitor; hostd finds it again by its pid file, checked against
 * /proc/PID/cmdline so a recycled pid is never signalled.
 *
 * Links hd_lib only. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "hd-error.h"
#include "hd-spec.h"

typedef struct HdDnsmasqHost {
        char mac[HD_MAC_STRING_MAX];
        char addr[HD_IPV4_STRING_MAX];
        const char *name; /* the instance's name (DNS and the DHCP host name) */
} HdDnsmasqHost;

typedef struct HdDnsmasqConfig {
        const char *dir;    /* its own directory (created 0700): config, pid, hosts, leases, log */
        const char *binary; /* NULL: "dnsmasq" from PATH */
        const char *bridge;
        const char *domain; /* the network's name: instances resolve as NAME and NAME.DOMAIN */
        uint32_t subnet;    /* host order */
        int prefix;
        uint32_t gateway; /* where it listens (DNS 53, DHCP 67), host order */
        int mtu;          /* handed out as the interface MTU option */
        const HdDnsmasqHost *hosts;
        size_t n_hosts;
} HdDnsmasqConfig;

/* Writes dir's files and makes a dnsmasq of ours run from dir: one already running
 * (verified) is told to read its host files again (SIGHUP); otherwise one is started,
 * and this returns once its pid file names a live dnsmasq. */
int hd_dnsmasq_ensure(const HdDnsmasqConfig *c, pid_t *ret_pid, HdError **err);

/* The verified pid of the dnsmasq running from dir: > 0, or 0 when none runs. */
pid_t hd_dnsmasq_running(const char *dir);

/* Stops the dnsmasq running from dir (SIGTERM, SIGKILL after 2 s) and removes dir.
 * 0 when none ran. */
int hd_dnsmasq_stop(const char *dir, HdError **err);
