/* The network manager (net.h): bridges over netlink, one dnsmasq per network, and
 * hostd's nftables table, brought to the inventory's state on every change and kept
 * there by a supervisor thread that restarts a dnsmasq that died. */
#include "net.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hd-log.h"
#include "hd-util.h"
#include "net-dnsmasq.h"
#include "net-link.h"
#include "net-nft.h"

#define ALIAS_PREFIX "hostd-network:"

/* What the supervisor needs to start a network's dnsmasq again. */
typedef struct NetRun {
        char *name;
        char *dir;
        uint32_t subnet, gateway;
        int prefix, mtu;
        HdDnsmasqHost *hosts;
        char **host_names; /* owned copies behind hosts[].name */
        size_t n_hosts;
        char *hosts_key; /* the hosts as text, to skip a SIGHUP when nothing changed */
} NetRun;

struct HdNet {
        char *state_dir;
        char *table;
        char *dnsmasq;
        char alias[128];
        int interval_ms;

        pthread_mutex_t lock;
        NetRun *runs;
        size_t n_runs;
        char *last_script; /* the nft script last applied, NULL: unknown */

        pthread_t supervisor;
        bool supervising;
        pthread_mutex_t stop_lock;
        pthread_cond_t stop_cond;
        bool stopping;
};

static void net_run_clear(NetRun *r)
{
        free(r->name);
        free(r->dir);
        free(r->hosts);
        for (size_t i = 0; i < r->n_hosts; i++)
                free(r->host_names[i]);
        free(r->host_names);
        free(r->hosts_key);
        *r = (NetRun){ 0 };
}

static void runs_free(NetRun *runs, size_t n)
{
        for (size_t i = 0; i < n; i++)
                net_run_clear(&runs[i]);
        free(runs);
}

const char *hd_net_bridge_alias(HdNet *n)
{
        return n->alias;
}

static int sysctl_write(const char *path, const char *value)
{
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        return hd_write_all(fd, value, strlen(value));
}

static HdDnsmasqConfig run_config(HdNet *n, const NetRun *r)
{
        return (HdDnsmasqConfig){
                .dir = r->dir,
                .binary = n->dnsmasq,
                .bridge = r->name,
                .domain = r->name,
                .subnet = r->subnet,
                .prefix = r->prefix,
                .gateway = r->gateway,
                .mtu = r->mtu,
                .hosts = r->hosts,
                .n_hosts = r->n_hosts,
        };
}

/* ---- the supervisor ---------------------------------------------------------------- */

static void *supervise(void *arg)
{
        HdNet *n = arg;
        for (;;) {
                pthread_mutex_lock(&n->stop_lock);
                if (!n->stopping) {
                        struct timespec ts;
                        clock_gettime(CLOCK_REALTIME, &ts);
                        int64_t ns = ts.tv_nsec + (int64_t)n->interval_ms * 1000000;
                        ts.tv_sec += ns / 1000000000;
                        ts.tv_nsec = ns % 1000000000;
                        (void)pthread_cond_timedwait(&n->stop_cond, &n->stop_lock, &ts);
                }
                bool stop = n->stopping;
                pthread_mutex_unlock(&n->stop_lock);
                if (stop)
                        return NULL;

                pthread_mutex_lock(&n->lock);
                for (size_t i = 0; i < n->n_runs; i++) {
                        NetRun *r = &n->runs[i];
                        if (hd_dnsmasq_running(r->dir) > 0)
                                continue;
                        hd_log_warn("network %s: its dnsmasq is gone; starting it again", r->name);
                        _cleanup_error_ HdError *e = NULL;
                        HdDnsmasqConfig dc = run_config(n, r);
                        pid_t pid;
                        if (hd_dnsmasq_ensure(&dc, &pid, &e) < 0)
                                hd_log_error("network %s: %s", r->name,
                                             e && e->message ? e->message : "dnsmasq failed");
                }
                pthread_mutex_unlock(&n->lock);
        }
}

int hd_net_new(const HdNetConfig *cfg, HdNet **ret, HdError **err)
{
        if (geteuid() != 0)
                return hd_error_set(err, -EPERM, "networks need hostd to run as root");
        const char *table = cfg->nft_table && *cfg->nft_table ? cfg->nft_table : "hostd";
        for (const char *p = table; *p; p++)
                if (!(isalnum((unsigned char)*p) || *p == '_') || p - table >= 32)
                        return hd_error_set_field(err, -EINVAL, "nft-table",
                                                  "`%s` is not a usable nftables table name",
                                                  table);

        /* Without a bridge module or netlink there is nothing to build on. */
        HdNlLink lo;
        _cleanup_error_ HdError *e = NULL;
        int r = hd_nl_link_get("lo", &lo, &e);
        if (r < 0)
                return hd_error_set(err, r, "rtnetlink is not usable: %s",
                                    e && e->message ? e->message : strerror(-r));

        _cleanup_free_ HdNet *n = calloc(1, sizeof(*n));
        if (!n)
                return hd_error_set(err, -ENOMEM, "out of memory");
        n->state_dir = strdup(cfg->state_dir);
        n->table = strdup(table);
        n->dnsmasq = cfg->dnsmasq ? strdup(cfg->dnsmasq) : NULL;
        n->interval_ms = cfg->supervise_interval_ms > 0 ? cfg->supervise_interval_ms : 2000;
        snprintf(n->alias, sizeof(n->alias), ALIAS_PREFIX "%s", table);
        if (!n->state_dir || !n->table || (cfg->dnsmasq && !n->dnsmasq)) {
                free(n->state_dir);
                free(n->table);
                free(n->dnsmasq);
                return hd_error_set(err, -ENOMEM, "out of memory");
        }
        pthread_mutex_init(&n->lock, NULL);
        pthread_mutex_init(&n->stop_lock, NULL);
        pthread_cond_init(&n->stop_cond, NULL);
        if (pthread_create(&n->supervisor, NULL, supervise, n) == 0)
                n->supervising = true;
        else
                hd_log_warn("networks: no supervisor thread; a dnsmasq that dies stays dead");
        *ret = TAKE_PTR(n);
        return 0;
}

void hd_net_free(HdNet *n)
{
        if (!n)
                return;
        if (n->supervising) {
                pthread_mutex_lock(&n->stop_lock);
                n->stopping = true;
                pthread_cond_broadcast(&n->stop_cond);
                pthread_mutex_unlock(&n->stop_lock);
                pthread_join(n->supervisor, NULL);
        }
        runs_free(n->runs, n->n_runs);
        free(n->last_script);
        free(n->state_dir);
        free(n->table);
        free(n->dnsmasq);
        pthread_mutex_destroy(&n->lock);
        pthread_mutex_destroy(&n->stop_lock);
        pthread_cond_destroy(&n->stop_cond);
        free(n);
}

/* ---- apply -------------------------------------------------------------------------- */

static void keep_first(HdError **first, HdError **e)
{
        if (!*first && *e)
                *first = TAKE_PTR(*e);
}

/* A network's run: its dnsmasq's inputs from the desired state. */
static int build_run(HdNet *n, const HdNetwork *net, const HdNetState *s, NetRun *r)
{
        *r = (NetRun){ 0 };
        uint32_t gw;
        if (hd_ipv4_cidr_parse(net->subnet, &r->subnet, &r->prefix) < 0 ||
            hd_ipv4_parse(net->gateway, &gw) < 0)
                return -EINVAL;
        r->gateway = gw;
        r->mtu = net->mtu;
        r->name = strdup(net->name);
        if (!r->name || asprintf(&r->dir, "%s/networks/%s", n->state_dir, net->name) < 0) {
                r->dir = NULL;
                return -ENOMEM;
        }
        size_t count = 0;
        for (size_t i = 0; i < s->n_addresses; i++)
                if (strcmp(s->addresses[i].network, net->name) == 0)
                        count++;
        r->hosts = calloc(count ? count : 1, sizeof(*r->hosts));
        r->host_names = calloc(count ? count : 1, sizeof(*r->host_names));
        char *key = NULL;
        size_t key_len = 0;
        FILE *f = open_memstream(&key, &key_len);
        if (!r->hosts || !r->host_names || !f) {
                if (f)
                        fclose(f);
                free(key);
                return -ENOMEM;
        }
        for (size_t i = 0; i < s->n_addresses; i++) {
                const HdStoreAddress *a = &s->addresses[i];
                if (strcmp(a->network, net->name) != 0)
                        continue;
                HdDnsmasqHost *h = &r->hosts[r->n_hosts];
                snprintf(h->mac, sizeof(h->mac), "%s", a->mac);
                hd_ipv4_format(a->address, h->addr);
                r->host_names[r->n_hosts] = strdup(a->instance_name ? a->instance_name : "");
                if (!r->host_names[r->n_hosts])
                        break;
                h->name = r->host_names[r->n_hosts];
                r->n_hosts++;
                fprintf(f, "%s,%s,%s\n", h->mac, h->addr, h->name);
        }
        fprintf(f, "%u/%d/%u/%d", r->subnet, r->prefix, r->gateway, r->mtu);
        fclose(f);
        r->hosts_key = key;
        return r->n_hosts == count ? 0 : -ENOMEM;
}

static const NetRun *find_run(const NetRun *runs, size_t n, const char *name)
{
        for (size_t i = 0; i < n; i++)
                if (strcmp(runs[i].name, name) == 0)
                        return &runs[i];
        return NULL;
}

static int apply_firewall(HdNet *n, const HdNetState *s, HdError **err)
{
        _cleanup_free_ HdNftNetwork *nets = calloc(s->n_networks + 1, sizeof(*nets));
        _cleanup_free_ HdNftForward *fw = calloc(s->n_forwards + 1, sizeof(*fw));
        if (!nets || !fw)
                return hd_error_set(err, -ENOMEM, "out of memory");
        size_t nn = 0, nf = 0;
        for (size_t i = 0; i < s->n_networks; i++) {
                const HdNetwork *net = s->networks[i];
                HdNftNetwork *x = &nets[nn];
                if (hd_ipv4_cidr_parse(net->subnet, &x->subnet, &x->prefix) < 0)
                        continue;
                x->bridge = net->name;
                x->nat = net->nat;
                nn++;
        }
        for (size_t i = 0; i < s->n_forwards; i++) {
                const HdStoreForward *f = &s->forwards[i];
                fw[nf++] = (HdNftForward){
                        .protocol = f->f.protocol,
                        .host_port = f->f.host_port,
                        .addr = f->address,
                        .port = f->f.port,
                        .bridge = f->network,
                };
        }
        if (nn == 0 && nf == 0) {
                int r = hd_nft_delete_table(n->table, err);
                if (r >= 0) {
                        free(n->last_script);
                        n->last_script = NULL;
                }
                return r;
        }
        _cleanup_free_ char *script = hd_nft_render(n->table, nets, nn, fw, nf);
        if (!script)
                return hd_error_set(err, -ENOMEM, "out of memory");
        if (n->last_script && strcmp(n->last_script, script) == 0)
                return 0;
        int r = hd_nft_apply(script, err);
        if (r < 0) {
                free(n->last_script);
                n->last_script = NULL;
                return hd_error_wrap(err, "nftables table `%s`", n->table);
        }
        free(n->last_script);
        n->last_script = TAKE_PTR(script);
        return 0;
}

static bool uuid_known(const HdNetState *s, const char *uuid)
{
        for (size_t i = 0; i < s->n_instance_uuids; i++)
                if (strcmp(s->instance_uuids[i], uuid) == 0)
                        return true;
        return false;
}

static bool network_wanted(const HdNetState *s, const char *name)
{
        for (size_t i = 0; i < s->n_networks; i++)
                if (strcmp(s->networks[i]->name, name) == 0)
                        return true;
        return false;
}

/* Removes what is hostd's and no longer wanted: marked bridges of deleted networks,
 * veths on our bridges of instances the inventory does not hold, dnsmasq directories
 * of deleted networks. */
static void remove_leftovers(HdNet *n, const HdNetState *s, HdError **first)
{
        _cleanup_free_ HdNlLink *links = NULL;
        size_t n_links = 0;
        _cleanup_error_ HdError *e = NULL;
        if (hd_nl_link_list(&links, &n_links, &e) < 0) {
                keep_first(first, &e);
                return;
        }
        for (size_t i = 0; i < n_links; i++) {
                const HdNlLink *l = &links[i];
                bool ours_bridge =
                        strcmp(l->kind, "bridge") == 0 && strcmp(l->alias, n->alias) == 0;
                if (ours_bridge && !network_wanted(s, l->name)) {
                        hd_log_info("network %s: removing its bridge (no such network)", l->name);
                        if (hd_nl_link_delete(l->name, &e) < 0)
                                keep_first(first, &e);
                        hd_error_free(TAKE_PTR(e));
                        continue;
                }
                if (strcmp(l->kind, "veth") != 0 || !hd_str_startswith(l->alias, "hostd:") ||
                    l->master == 0)
                        continue;
                const HdNlLink *master = NULL;
                for (size_t k = 0; k < n_links; k++)
                        if (links[k].ifindex == l->master)
                                master = &links[k];
                if (!master || strcmp(master->alias, n->alias) != 0)
                        continue; /* another hostd's, or not on a bridge of ours */
                if (uuid_known(s, l->alias + strlen("hostd:")))
                        continue;
                hd_log_info("removing veth %s of a deleted instance", l->name);
                if (hd_nl_link_delete(l->name, &e) < 0)
                        keep_first(first, &e);
                hd_error_free(TAKE_PTR(e));
        }

        _cleanup_free_ char *dir = NULL;
        if (asprintf(&dir, "%s/networks", n->state_dir) < 0)
                return;
        DIR *d = opendir(dir);
        if (!d)
                return;
        struct dirent *de;
        while ((de = readdir(d))) {
                if (de->d_name[0] == '.' || network_wanted(s, de->d_name))
                        continue;
                _cleanup_free_ char *sub = NULL;
                if (asprintf(&sub, "%s/%s", dir, de->d_name) < 0)
                        continue;
                hd_log_info("network %s: stopping its dnsmasq (no such network)", de->d_name);
                if (hd_dnsmasq_stop(sub, &e) < 0)
                        keep_first(first, &e);
                hd_error_free(TAKE_PTR(e));
        }
        closedir(d);
}

int hd_net_apply(HdNet *n, const HdNetState *s, HdError **err)
{
        _cleanup_error_ HdError *first = NULL, *e = NULL;
        NetRun *runs = calloc(s->n_networks + 1, sizeof(*runs));
        size_t n_runs = 0;
        if (!runs)
                return hd_error_set(err, -ENOMEM, "out of memory");

        pthread_mutex_lock(&n->lock);
        if (s->n_networks > 0) {
                /* Routing between the bridges and the uplink, as every bridge manager
                 * does; port forwards from other hosts need it too. */
                int r = sysctl_write("/proc/sys/net/ipv4/ip_forward", "1");
                if (r < 0)
                        hd_log_warn("networks: cannot turn on ip_forward: %s", strerror(-r));
        }
        for (size_t i = 0; i < s->n_networks; i++) {
                const HdNetwork *net = s->networks[i];
                NetRun *run = &runs[n_runs];
                int r = build_run(n, net, s, run);
                if (r < 0) {
                        net_run_clear(run);
                        hd_error_set(&e, r, "network %s: bad subnet or gateway", net->name);
                        keep_first(&first, &e);
                        continue;
                }
                n_runs++;
                r = hd_nl_bridge_ensure(net->name, n->alias, run->gateway, run->prefix, net->mtu,
                                        &e);
                if (r < 0) {
                        hd_error_wrap(&e, "network %s", net->name);
                        keep_first(&first, &e);
                        continue;
                }
                /* A forward from the host's loopback reaches the bridge with a 127/8
                 * source, which the kernel drops on a bridge unless told otherwise;
                 * the table's masquerade then rewrites it. */
                _cleanup_free_ char *path = NULL;
                if (asprintf(&path, "/proc/sys/net/ipv4/conf/%s/route_localnet", net->name) >= 0 &&
                    (r = sysctl_write(path, "1")) < 0)
                        hd_log_warn("network %s: cannot set route_localnet: %s", net->name,
                                    strerror(-r));

                const NetRun *old = find_run(n->runs, n->n_runs, net->name);
                if (old && strcmp(old->hosts_key, run->hosts_key) == 0 &&
                    hd_dnsmasq_running(run->dir) > 0)
                        continue;
                HdDnsmasqConfig dc = run_config(n, run);
                pid_t pid;
                if (hd_dnsmasq_ensure(&dc, &pid, &e) < 0) {
                        hd_error_wrap(&e, "network %s", net->name);
                        keep_first(&first, &e);
                }
        }
        if (apply_firewall(n, s, &e) < 0)
                keep_first(&first, &e);
        remove_leftovers(n, s, &first);

        runs_free(n->runs, n->n_runs);
        n->runs = runs;
        n->n_runs = n_runs;
        pthread_mutex_unlock(&n->lock);

        if (first) {
                int code = first->code;
                hd_error_propagate(err, &first);
                return code < 0 ? code : -EIO;
        }
        return 0;
}

int hd_net_teardown(HdNet *n, HdError **err)
{
        HdNetState none = { 0 };
        int r = hd_net_apply(n, &none, err);
        return r;
}

int hd_net_name_check(HdNet *n, const char *name, HdError **err)
{
        HdNlLink l;
        _cleanup_error_ HdError *e = NULL;
        int r = hd_nl_link_get(name, &l, &e);
        if (r == -ENODEV)
                return 0;
        if (r < 0)
                return hd_error_propagate(err, &e);
        if (strcmp(l.kind, "bridge") == 0 && strcmp(l.alias, n->alias) == 0)
                return 0; /* a leftover of ours: the sync takes it over */
        return hd_error_set_field(err, -EEXIST, "name",
                                  "the host already has an interface named `%s`", name);
}
