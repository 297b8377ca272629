/* Links over rtnetlink with libmnl: hostd's bridges and its containers' veth pairs.
 * See net-link.h.
 *
 * Changes go out as batches: several requests in one sendmsg, each with NLM_F_ACK, the
 * kernel handling them in order and answering each; the first failure is reported
 * with the link and the step it was for. */
#include "net-link.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hd-macro.h"
#include "hd-util.h"

/* Requests are a few hundred bytes; a dump's datagrams are as large as the buffer the
 * reader offers, up to this. */
#define REQ_BUF_SIZE   8192
#define SMALL_REQ_SIZE 256 /* a get or a dump request */
#define RECV_BUF_SIZE  32768
#define BATCH_MAX      8
#define ADDRS_MAX      64

#ifndef RTEXT_FILTER_SKIP_STATS
#define RTEXT_FILTER_SKIP_STATS (1 << 3)
#endif

/* ---- the socket --------------------------------------------------------------------- */

typedef struct Nl {
        struct mnl_socket *sock;
        uint32_t portid;
        uint32_t seq;
} Nl;

static void nl_close(Nl *nl)
{
        if (nl->sock)
                mnl_socket_close(nl->sock);
        nl->sock = NULL;
}

/* Binds a socket made by the caller (in whatever network namespace it was made). */
static int nl_bind(Nl *nl)
{
        int one = 1;
        /* The kernel's own reason in errors (extack), and no copy of the request in them. */
        (void)mnl_socket_setsockopt(nl->sock, NETLINK_EXT_ACK, &one, sizeof(one));
        (void)mnl_socket_setsockopt(nl->sock, NETLINK_CAP_ACK, &one, sizeof(one));
        if (mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
                int r = -errno;
                nl_close(nl);
                return r;
        }
        nl->portid = mnl_socket_get_portid(nl->sock);
        nl->seq = (uint32_t)time(NULL);
        return 0;
}

static int nl_open(Nl *nl)
{
        nl->sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
        if (!nl->sock)
                return -errno;
        return nl_bind(nl);
}

/* A socket of the network namespace ns_fd: made while this thread is in it (a socket
 * stays in the namespace it was made in), then back to the thread's own. */
static int nl_open_in(Nl *nl, int ns_fd, bool *ret_stranded)
{
        *ret_stranded = false;
        _cleanup_close_ int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        if (self < 0)
                return -errno;
        if (setns(ns_fd, CLONE_NEWNET) < 0)
                return -errno;
        nl->sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
        int r = nl->sock ? 0 : -errno;
        if (setns(self, CLONE_NEWNET) < 0) {
                *ret_stranded = true;
                r = -errno;
                nl_close(nl);
                return r;
        }
        return r < 0 ? r : nl_bind(nl);
}

/* A request: header, then the family header of hdr_len bytes, zeroed (the caller fills
 * it in through mnl_nlmsg_get_payload). */
static struct nlmsghdr *put_request(Nl *nl, void *buf, uint16_t type, uint16_t flags,
                                    size_t hdr_len)
{
        struct nlmsghdr *h = mnl_nlmsg_put_header(buf);
        h->nlmsg_type = type;
        h->nlmsg_flags = NLM_F_REQUEST | flags;
        h->nlmsg_seq = ++nl->seq;
        mnl_nlmsg_put_extra_header(h, hdr_len);
        return h;
}

/* Sends one request and hands each answer to cb until the ACK (or NLMSG_DONE of a
 * dump). -errno: the kernel's answer, or the socket's. */
static int nl_request(Nl *nl, struct nlmsghdr *h, mnl_cb_t cb, void *data)
{
        if (mnl_socket_sendto(nl->sock, h, h->nlmsg_len) < 0)
                return -errno;
        _cleanup_free_ char *buf = malloc(RECV_BUF_SIZE);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t n = mnl_socket_recvfrom(nl->sock, buf, RECV_BUF_SIZE);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                int r = mnl_cb_run(buf, (size_t)n, h->nlmsg_seq, nl->portid, cb, data);
                if (r < 0)
                        return errno > 0 ? -errno : -EIO;
                if (r == MNL_CB_STOP)
                        return 0;
        }
}

/* ---- batches ------------------------------------------------------------------------ */

typedef struct Batch {
        _Alignas(struct nlmsghdr) char buf[REQ_BUF_SIZE];
        size_t len;            /* of the messages finished */
        struct nlmsghdr *open; /* the one being built */
        unsigned n;
        uint32_t first_seq;
        const char *link[BATCH_MAX];
        const char *step[BATCH_MAX];
        int tolerated[BATCH_MAX]; /* an errno that counts as done, or 0 */
        /* after batch_run: */
        bool done[BATCH_MAX]; /* the kernel said yes (or a tolerated no) */
        unsigned failed;      /* index of the first failure */
        char reason[160];     /* the kernel's extack message, or "" */
} Batch;

static void batch_finish(Batch *b)
{
        if (b->open)
                b->len += MNL_ALIGN(b->open->nlmsg_len);
        b->open = NULL;
}

/* Starts the next request of the batch; link and step name it in errors. */
static struct nlmsghdr *batch_add(Nl *nl, Batch *b, uint16_t type, uint16_t flags, size_t hdr_len,
                                  const char *link, const char *step, int tolerated)
{
        batch_finish(b);
        /* The callers put a handful of short requests: each is far below 1 KiB. */
        if (b->n == BATCH_MAX || b->len + 1024 > sizeof(b->buf))
                abort();
        struct nlmsghdr *h = put_request(nl, b->buf + b->len, type, flags | NLM_F_ACK, hdr_len);
        if (b->n == 0)
                b->first_seq = h->nlmsg_seq;
        b->link[b->n] = link;
        b->step[b->n] = step;
        b->tolerated[b->n] = tolerated;
        b->n++;
        b->open = h;
        return h;
}

static int extack_cb(const struct nlattr *a, void *data)
{
        if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG &&
            mnl_attr_validate(a, MNL_TYPE_NUL_STRING) >= 0)
                *(const char **)data = mnl_attr_get_str(a);
        return MNL_CB_OK;
}

static void extack_message(const struct nlmsghdr *h, char *buf, size_t size)
{
        const struct nlmsgerr *e = mnl_nlmsg_get_payload(h);
        const char *msg = NULL;
        if (!(h->nlmsg_flags & NLM_F_ACK_TLVS))
                return;
        size_t off = sizeof(*e);
        if (!(h->nlmsg_flags & NLM_F_CAPPED))
                off += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
        if (mnl_nlmsg_get_payload_len(h) <= off)
                return;
        (void)mnl_attr_parse(h, (unsigned)off, extack_cb, &msg);
        if (msg)
                snprintf(buf, size, "%s", msg);
}

/* Sends the batch and reads one ACK per request. Returns the first failure (other than
 * a tolerated one) as -errno, with b->failed and b->reason saying which and why. */
static int batch_run(Nl *nl, Batch *b)
{
        batch_finish(b);
        b->reason[0] = '\0';
        if (mnl_socket_sendto(nl->sock, b->buf, b->len) < 0) {
                b->failed = 0;
                return -errno;
        }
        _Alignas(struct nlmsghdr) char buf[REQ_BUF_SIZE];
        unsigned acked = 0;
        int first = 0;
        while (acked < b->n) {
                ssize_t n = mnl_socket_recvfrom(nl->sock, buf, sizeof(buf));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        if (!first) {
                                b->failed = acked;
                                first = -errno;
                        }
                        return first;
                }
                int len = (int)n;
                for (const struct nlmsghdr *h = (const void *)buf; mnl_nlmsg_ok(h, len);
                     h = mnl_nlmsg_next(h, &len)) {
                        uint32_t i = h->nlmsg_seq - b->first_seq;
                        if (h->nlmsg_type != NLMSG_ERROR || h->nlmsg_pid != nl->portid || i >= b->n)
                                continue;
                        acked++;
                        const struct nlmsgerr *e = mnl_nlmsg_get_payload(h);
                        b->done[i] = e->error == 0 || -e->error == b->tolerated[i];
                        if (b->done[i] || first)
                                continue;
                        first = e->error;
                        b->failed = i;
                        extack_message(h, b->reason, sizeof(b->reason));
                }
        }
        return first;
}

static int batch_error(const Batch *b, int r, HdError **err)
{
        unsigned i = b->failed < b->n ? b->failed : 0;
        return hd_error_set(err, r, "link `%s`: %s: %s%s%s%s", b->link[i], b->step[i], strerror(-r),
                            b->reason[0] ? " (" : "", b->reason, b->reason[0] ? ")" : "");
}

/* ---- reading links ------------------------------------------------------------------ */

static void copy_attr_str(char *dst, size_t size, const struct nlattr *a)
{
        if (!a) {
                dst[0] = '\0';
                return;
        }
        const char *s = mnl_attr_get_payload(a);
        size_t len = strnlen(s, mnl_attr_get_payload_len(a));
        snprintf(dst, size, "%.*s", (int)len, s);
}

static int table_cb(const struct nlattr *a, void *data, unsigned max)
{
        const struct nlattr **tb = data;
        unsigned type = mnl_attr_get_type(a);
        if (type <= max)
                tb[type] = a;
        return MNL_CB_OK;
}

static int link_attr_cb(const struct nlattr *a, void *data)
{
        return table_cb(a, data, IFLA_MAX);
}

static int info_attr_cb(const struct nlattr *a, void *data)
{
        return table_cb(a, data, IFLA_INFO_MAX);
}

static void link_from_msg(const struct nlmsghdr *h, HdNlLink *l)
{
        const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(h);
        const struct nlattr *tb[IFLA_MAX + 1] = { 0 };
        (void)mnl_attr_parse(h, sizeof(*ifi), link_attr_cb, tb);
        *l = (HdNlLink){ .ifindex = ifi->ifi_index, .up = (ifi->ifi_flags & IFF_UP) != 0 };
        copy_attr_str(l->name, sizeof(l->name), tb[IFLA_IFNAME]);
        copy_attr_str(l->alias, sizeof(l->alias), tb[IFLA_IFALIAS]);
        if (tb[IFLA_MASTER] && mnl_attr_validate(tb[IFLA_MASTER], MNL_TYPE_U32) >= 0)
                l->master = (int)mnl_attr_get_u32(tb[IFLA_MASTER]);
        if (tb[IFLA_LINKINFO]) {
                const struct nlattr *info[IFLA_INFO_MAX + 1] = { 0 };
                (void)mnl_attr_parse_nested(tb[IFLA_LINKINFO], info_attr_cb, info);
                copy_attr_str(l->kind, sizeof(l->kind), info[IFLA_INFO_KIND]);
        }
}

typedef struct LinkCollect {
        HdNlLink *links;
        size_t n, cap;
        bool oom;
} LinkCollect;

static int link_collect_cb(const struct nlmsghdr *h, void *data)
{
        LinkCollect *c = data;
        if (h->nlmsg_type != RTM_NEWLINK || mnl_nlmsg_get_payload_len(h) < sizeof(struct ifinfomsg))
                return MNL_CB_OK;
        if (c->n == c->cap) {
                size_t cap = c->cap ? 2 * c->cap : 16;
                HdNlLink *grown = realloc(c->links, cap * sizeof(*grown));
                if (!grown) {
                        c->oom = true;
                        return MNL_CB_OK;
                }
                c->links = grown;
                c->cap = cap;
        }
        link_from_msg(h, &c->links[c->n++]);
        return MNL_CB_OK;
}

static bool valid_ifname(const char *s)
{
        size_t n = s ? strlen(s) : 0;
        if (n == 0 || n >= IFNAMSIZ || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
                return false;
        for (const char *p = s; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                      (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.'))
                        return false;
        return true;
}

/* One link by name on an open socket: -ENODEV when absent. */
static int get_link(Nl *nl, const char *name, HdNlLink *ret)
{
        _Alignas(struct nlmsghdr) char buf[SMALL_REQ_SIZE] = { 0 }; /* attribute padding too */
        struct nlmsghdr *h = put_request(nl, buf, RTM_GETLINK, NLM_F_ACK, sizeof(struct ifinfomsg));
        struct ifinfomsg *ifi = mnl_nlmsg_get_payload(h);
        ifi->ifi_family = AF_UNSPEC;
        mnl_attr_put_strz(h, IFLA_IFNAME, name);
        mnl_attr_put_u32(h, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
        _cleanup_free_ HdNlLink *links = NULL;
        LinkCollect c = { 0 };
        int r = nl_request(nl, h, link_collect_cb, &c);
        links = c.links;
        if (r < 0)
                return r;
        if (c.oom)
                return -ENOMEM;
        if (c.n == 0)
                return -ENODEV;
        *ret = links[0];
        return 0;
}

int hd_nl_link_get(const char *name, HdNlLink *ret, HdError **err)
{
        if (!valid_ifname(name))
                return hd_error_set(err, -EINVAL, "`%s` is not a link name", name ? name : "");
        _cleanup_(nl_close) Nl nl = { 0 };
        int r = nl_open(&nl);
        if (r < 0)
                return hd_error_set(err, r, "open an rtnetlink socket: %s", strerror(-r));
        r = get_link(&nl, name, ret);
        if (r < 0 && r != -ENODEV)
                return hd_error_set(err, r, "link `%s`: read: %s", name, strerror(-r));
        return r;
}

int hd_nl_link_list(HdNlLink **ret, size_t *ret_n, HdError **err)
{
        /* A dump that the kernel says was interrupted by a change is taken again. */
        for (int attempt = 0;; attempt++) {
                _cleanup_(nl_close) Nl nl = { 0 };
                int r = nl_open(&nl);
                if (r < 0)
                        return hd_error_set(err, r, "open an rtnetlink socket: %s", strerror(-r));
                _Alignas(struct nlmsghdr) char buf[SMALL_REQ_SIZE] = {
                        0
                }; /* attribute padding too */
                struct nlmsghdr *h =
                        put_request(&nl, buf, RTM_GETLINK, NLM_F_DUMP, sizeof(struct ifinfomsg));
                struct ifinfomsg *ifi = mnl_nlmsg_get_payload(h);
                ifi->ifi_family = AF_UNSPEC;
                mnl_attr_put_u32(h, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
                LinkCollect c = { 0 };
                r = nl_request(&nl, h, link_collect_cb, &c);
                if (r >= 0 && c.oom)
                        r = -ENOMEM;
                if (r >= 0) {
                        *ret = c.links;
                        *ret_n = c.n;
                        return 0;
                }
                free(c.links);
                if (r != -EINTR || attempt == 3)
                        return hd_error_set(err, r, "list the links: %s", strerror(-r));
        }
}

/* ---- writing links ------------------------------------------------------------------ */

static void put_dellink(Nl *nl, Batch *b, const char *name, const char *step)
{
        struct nlmsghdr *h =
                batch_add(nl, b, RTM_DELLINK, 0, sizeof(struct ifinfomsg), name, step, ENODEV);
        struct ifinfomsg *ifi = mnl_nlmsg_get_payload(h);
        ifi->ifi_family = AF_UNSPEC;
        mnl_attr_put_strz(h, IFLA_IFNAME, name);
}

/* Sets up (and, when given, MTU and alias) on a link named by index, or by name when
 * index is 0. */
static void put_setlink(Nl *nl, Batch *b, int index, const char *name, int mtu, const char *alias,
                        bool up, const char *step)
{
        struct nlmsghdr *h =
                batch_add(nl, b, RTM_SETLINK, 0, sizeof(struct ifinfomsg), name, step, 0);
        struct ifinfomsg *ifi = mnl_nlmsg_get_payload(h);
        ifi->ifi_family = AF_UNSPEC;
        ifi->ifi_index = index;
        if (up) {
                ifi->ifi_flags = IFF_UP;
                ifi->ifi_change = IFF_UP;
        }
        if (index == 0)
                mnl_attr_put_strz(h, IFLA_IFNAME, name);
        if (mtu > 0)
                mnl_attr_put_u32(h, IFLA_MTU, (uint32_t)mtu);
        if (alias)
                mnl_attr_put(h, IFLA_IFALIAS, strlen(alias), alias);
}

static void put_addr(Nl *nl, Batch *b, uint16_t type, uint16_t flags, int index, const char *name,
                     uint32_t addr, int prefix, const char *step, int tolerated)
{
        struct nlmsghdr *h =
                batch_add(nl, b, type, flags, sizeof(struct ifaddrmsg), name, step, tolerated);
        struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(h);
        ifa->ifa_family = AF_INET;
        ifa->ifa_prefixlen = (unsigned char)prefix;
        ifa->ifa_scope = RT_SCOPE_UNIVERSE;
        ifa->ifa_index = (unsigned)index;
        uint32_t be = htonl(addr);
        mnl_attr_put(h, IFA_LOCAL, sizeof(be), &be);
        mnl_attr_put(h, IFA_ADDRESS, sizeof(be), &be);
        if (type == RTM_NEWADDR && prefix <= 30) {
                uint32_t brd = htonl(addr | ~hd_ipv4_mask(prefix));
                mnl_attr_put(h, IFA_BROADCAST, sizeof(brd), &brd);
        }
}

int hd_nl_link_delete(const char *name, HdError **err)
{
        if (!valid_ifname(name))
                return hd_error_set(err, -EINVAL, "`%s` is not a link name", name ? name : "");
        _cleanup_(nl_close) Nl nl = { 0 };
        int r = nl_open(&nl);
        if (r < 0)
                return hd_error_set(err, r, "open an rtnetlink socket: %s", strerror(-r));
        Batch *b = calloc(1, sizeof(*b));
        if (!b)
                return hd_error_set(err, -ENOMEM, "out of memory");
        put_dellink(&nl, b, name, "delete");
        r = batch_run(&nl, b);
        if (r < 0)
                batch_error(b, r, err);
        free(b);
        return r;
}

/* ---- bridges ------------------------------------------------------------------------ */

typedef struct AddrCollect {
        int index;
        struct {
                uint32_t addr;
                int prefix;
                bool secondary;
        } a[ADDRS_MAX];
        size_t n;
} AddrCollect;

static int addr_attr_cb(const struct nlattr *a, void *data)
{
        return table_cb(a, data, IFA_MAX);
}

static int addr_collect_cb(const struct nlmsghdr *h, void *data)
{
        AddrCollect *c = data;
        const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(h);
        if (h->nlmsg_type != RTM_NEWADDR || mnl_nlmsg_get_payload_len(h) < sizeof(*ifa) ||
            ifa->ifa_family != AF_INET || (int)ifa->ifa_index != c->index || c->n == ADDRS_MAX)
                return MNL_CB_OK;
        const struct nlattr *tb[IFA_MAX + 1] = { 0 };
        (void)mnl_attr_parse(h, sizeof(*ifa), addr_attr_cb, tb);
        const struct nlattr *local = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
        if (!local || mnl_attr_get_payload_len(local) != 4)
                return MNL_CB_OK;
        uint32_t be;
        memcpy(&be, mnl_attr_get_payload(local), 4);
        c->a[c->n].addr = ntohl(be);
        c->a[c->n].prefix = ifa->ifa_prefixlen;
        c->a[c->n].secondary = (ifa->ifa_flags & IFA_F_SECONDARY) != 0;
        c->n++;
        return MNL_CB_OK;
}

static int bridge_create(Nl *nl, Batch *b, const char *name, int mtu, HdError **err)
{
        struct nlmsghdr *h = batch_add(nl, b, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL,
                                       sizeof(struct ifinfomsg), name, "create the bridge", 0);
        struct ifinfomsg *ifi = mnl_nlmsg_get_payload(h);
        ifi->ifi_family = AF_UNSPEC;
        mnl_attr_put_strz(h, IFLA_IFNAME, name);
        mnl_attr_put_u32(h, IFLA_MTU, (uint32_t)mtu);
        struct nlattr *info = mnl_attr_nest_start(h, IFLA_LINKINFO);
        mnl_attr_put_strz(h, IFLA_INFO_KIND, "bridge");
        mnl_attr_nest_end(h, info);
        int r = batch_run(nl, b);
        return r < 0 ? batch_error(b, r, err) : 0;
}

int hd_nl_bridge_ensure(const char *name, const char *alias, uint32_t addr, int prefix, int mtu,
                        HdError **err)
{
        if (!valid_ifname(name))
                return hd_error_set(err, -EINVAL, "`%s` is not a link name", name ? name : "");
        if (prefix < 1 || prefix > 32 || mtu < 68 || mtu > 65535 ||
            (alias && strlen(alias) >= sizeof(((HdNlLink *)0)->alias)))
                return hd_error_set(err, -EINVAL, "bridge `%s`: bad prefix, MTU or alias", name);
        _cleanup_(nl_close) Nl nl = { 0 };
        int r = nl_open(&nl);
        if (r < 0)
                return hd_error_set(err, r, "open an rtnetlink socket: %s", strerror(-r));
        _cleanup_free_ Batch *b = calloc(1, sizeof(*b));
        if (!b)
                return hd_error_set(err, -ENOMEM, "out of memory");

        HdNlLink l;
        r = get_link(&nl, name, &l);
        if (r == -ENODEV) {
                if ((r = bridge_create(&nl, b, name, mtu, err)) < 0)
                        return r;
                r = get_link(&nl, name, &l);
        }
        if (r < 0)
                return hd_error_set(err, r, "link `%s`: read: %s", name, strerror(-r));
        if (strcmp(l.kind, "bridge") != 0)
                return hd_error_set(err, -EEXIST, "link `%s` exists and is not a bridge (%s)", name,
                                    l.kind[0] ? l.kind : "no kind");

        /* What addresses it has now: the set is made exactly {addr/prefix}. */
        AddrCollect *have = calloc(1, sizeof(*have));
        if (!have)
                return hd_error_set(err, -ENOMEM, "out of memory");
        have->index = l.ifindex;
        _Alignas(struct nlmsghdr) char buf[SMALL_REQ_SIZE] = { 0 }; /* attribute padding too */
        struct nlmsghdr *h =
                put_request(&nl, buf, RTM_GETADDR, NLM_F_DUMP, sizeof(struct ifaddrmsg));
        struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(h);
        ifa->ifa_family = AF_INET;
        r = nl_request(&nl, h, addr_collect_cb, have);
        if (r < 0) {
                free(have);
                return hd_error_set(err, r, "link `%s`: read its addresses: %s", name,
                                    strerror(-r));
        }

        memset(b, 0, sizeof(*b));
        put_setlink(&nl, b, l.ifindex, name, mtu, alias, true, "set alias, MTU and up");
        bool present = false;
        /* Secondaries first: deleting a primary takes its secondaries with it. */
        for (int pass = 0; pass < 2; pass++)
                for (size_t i = 0; i < have->n; i++) {
                        if (have->a[i].secondary != (pass == 0))
                                continue;
                        if (have->a[i].addr == addr && have->a[i].prefix == prefix) {
                                present = true;
                                continue;
                        }
                        if (b->n == BATCH_MAX - 1) /* a bridge with that many: rare; next call */
                                continue;
                        put_addr(&nl, b, RTM_DELADDR, 0, l.ifindex, name, have->a[i].addr,
                                 have->a[i].prefix, "remove an old address", EADDRNOTAVAIL);
                }
        free(have);
        if (!present)
                put_addr(&nl, b, RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE, l.ifindex, name, addr,
                         prefix, "add its address", 0);
        r = batch_run(&nl, b);
        return r < 0 ? batch_error(b, r, err) : 0;
}

/* ---- veth pairs --------------------------------------------------------------------- */

static void put_veth_create(Nl *nl, Batch *b, const HdNlVethConfig *c, int master, int ns_fd)
{
        struct nlmsghdr *h =
                batch_add(nl, b, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, sizeof(struct ifinfomsg),
                          c->host_ifname, "create the veth pair", 0);
        struct ifinfomsg *ifi = mnl_nlmsg_get_payload(h);
        ifi->ifi_family = AF_UNSPEC;
        ifi->ifi_flags = IFF_UP;
        ifi->ifi_change = IFF_UP;
        mnl_attr_put_strz(h, IFLA_IFNAME, c->host_ifname);
        mnl_attr_put_u32(h, IFLA_MTU, (uint32_t)c->mtu);
        mnl_attr_put_u32(h, IFLA_MASTER, (uint32_t)master);
        struct nlattr *info = mnl_attr_nest_start(h, IFLA_LINKINFO);
        mnl_attr_put_strz(h, IFLA_INFO_KIND, "veth");
        struct nlattr *data = mnl_attr_nest_start(h, IFLA_INFO_DATA);
        struct nlattr *peer = mnl_attr_nest_start(h, VETH_INFO_PEER);
        /* The peer's own ifinfomsg comes first in its attribute, then its attributes. */
        struct ifinfomsg *pifi = mnl_nlmsg_put_extra_header(h, sizeof(*pifi));
        pifi->ifi_family = AF_UNSPEC;
        mnl_attr_put_strz(h, IFLA_IFNAME, c->ifname);
        mnl_attr_put(h, IFLA_ADDRESS, sizeof(c->mac), c->mac);
        mnl_attr_put_u32(h, IFLA_MTU, (uint32_t)c->mtu);
        mnl_attr_put_u32(h, IFLA_NET_NS_FD, (uint32_t)ns_fd);
        mnl_attr_nest_end(h, peer);
        mnl_attr_nest_end(h, data);
        mnl_attr_nest_end(h, info);
}

/* Inside the namespace: lo and the inside end up, its address, the default route. */
static int veth_inside(const HdNlVethConfig *c, int ns_fd, Batch *b, HdError **err)
{
        _cleanup_(nl_close) Nl nl = { 0 };
        bool stranded = false;
        int r = nl_open_in(&nl, ns_fd, &stranded);
        if (r < 0)
                return hd_error_set(err, r, "link `%s`: %s: %s", c->ifname,
                                    stranded ? "return to the caller's network namespace"
                                             : "open a socket in the container's namespace",
                                    strerror(-r));
        HdNlLink in;
        if ((r = get_link(&nl, c->ifname, &in)) < 0)
                return hd_error_set(err, r, "link `%s`: find it in the container's namespace: %s",
                                    c->ifname, strerror(-r));
        memset(b, 0, sizeof(*b));
        put_setlink(&nl, b, 0, "lo", 0, NULL, true, "bring lo up");
        put_setlink(&nl, b, in.ifindex, c->ifname, 0, NULL, true, "bring it up");
        put_addr(&nl, b, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, in.ifindex, c->ifname, c->addr,
                 c->prefix, "add its address", 0);
        if (c->gateway) {
                struct nlmsghdr *h =
                        batch_add(&nl, b, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL,
                                  sizeof(struct rtmsg), c->ifname, "add the default route", 0);
                struct rtmsg *rtm = mnl_nlmsg_get_payload(h);
                rtm->rtm_family = AF_INET;
                rtm->rtm_table = RT_TABLE_MAIN;
                rtm->rtm_protocol = RTPROT_BOOT;
                rtm->rtm_scope = RT_SCOPE_UNIVERSE;
                rtm->rtm_type = RTN_UNICAST;
                uint32_t gw = htonl(c->gateway);
                mnl_attr_put(h, RTA_GATEWAY, sizeof(gw), &gw);
                mnl_attr_put_u32(h, RTA_OIF, (uint32_t)in.ifindex);
        }
        r = batch_run(&nl, b);
        return r < 0 ? batch_error(b, r, err) : 0;
}

/* Hairpin on the host end's bridge port: a packet that the host's NAT sends back to
 * the port it came from (an instance reaching its own port forward through a host
 * address) is bridged back rather than dropped. AF_BRIDGE requests name a link by
 * index only, hence the lookup. */
static int host_end_hairpin(Nl *nl, Batch *b, const HdNlVethConfig *c, HdError **err)
{
        HdNlLink host;
        int r = get_link(nl, c->host_ifname, &host);
        if (r < 0)
                return hd_error_set(err, r, "link `%s`: find it: %s", c->host_ifname, strerror(-r));
        memset(b, 0, sizeof(*b));
        struct nlmsghdr *h = batch_add(nl, b, RTM_SETLINK, 0, sizeof(struct ifinfomsg),
                                       c->host_ifname, "turn hairpin on", 0);
        struct ifinfomsg *ifi = mnl_nlmsg_get_payload(h);
        ifi->ifi_family = AF_BRIDGE;
        ifi->ifi_index = host.ifindex;
        struct nlattr *proto = mnl_attr_nest_start(h, IFLA_PROTINFO | NLA_F_NESTED);
        mnl_attr_put_u8(h, IFLA_BRPORT_MODE, 1);
        mnl_attr_nest_end(h, proto);
        r = batch_run(nl, b);
        return r < 0 ? batch_error(b, r, err) : 0;
}

/* Deletes the pair a failed setup made: either end takes the other with it. */
static void veth_undo(Nl *nl, Batch *b, const char *host_ifname)
{
        memset(b, 0, sizeof(*b));
        put_dellink(nl, b, host_ifname, "delete");
        (void)batch_run(nl, b);
}

int hd_nl_veth_setup(const HdNlVethConfig *c, pid_t pid, HdError **err)
{
        if (!valid_ifname(c->host_ifname) || !valid_ifname(c->ifname) || !valid_ifname(c->bridge))
                return hd_error_set(err, -EINVAL, "veth `%s`: bad link names",
                                    c->host_ifname ? c->host_ifname : "");
        if (c->prefix < 1 || c->prefix > 32 || c->mtu < 68 || c->mtu > 65535 || c->addr == 0 ||
            (c->alias && strlen(c->alias) >= sizeof(((HdNlLink *)0)->alias)) || pid <= 0)
                return hd_error_set(err, -EINVAL, "veth `%s`: bad address, MTU, alias or pid",
                                    c->host_ifname);

        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
        _cleanup_close_ int ns_fd = open(path, O_RDONLY | O_CLOEXEC);
        if (ns_fd < 0) {
                int e = errno;
                return hd_error_set(err, -e, "link `%s`: open `%s`: %s", c->host_ifname, path,
                                    strerror(e));
        }
        _cleanup_(nl_close) Nl nl = { 0 };
        int r = nl_open(&nl);
        if (r < 0)
                return hd_error_set(err, r, "open an rtnetlink socket: %s", strerror(-r));
        HdNlLink br;
        if ((r = get_link(&nl, c->bridge, &br)) < 0)
                return hd_error_set(err, r, "bridge `%s`: %s", c->bridge,
                                    r == -ENODEV ? "does not exist" : strerror(-r));
        if (strcmp(br.kind, "bridge") != 0)
                return hd_error_set(err, -EINVAL, "link `%s` is not a bridge", c->bridge);

        _cleanup_free_ Batch *b = calloc(1, sizeof(*b));
        if (!b)
                return hd_error_set(err, -ENOMEM, "out of memory");
        /* One round trip: a crashed run's host end goes, the pair is made with the inside
         * end already named, addressed (MAC), sized and in the container's namespace, and
         * the host end on the bridge and up. The alias is no attribute of a new link's
         * (the kernel reads it only when changing one), hence its own request. */
        put_dellink(&nl, b, c->host_ifname, "delete a stale host end");
        put_veth_create(&nl, b, c, br.ifindex, ns_fd);
        if (c->alias && c->alias[0])
                put_setlink(&nl, b, 0, c->host_ifname, 0, c->alias, false, "set its alias");
        r = batch_run(&nl, b);
        if (r < 0) {
                batch_error(b, r, err);
                if (b->done[1])
                        veth_undo(&nl, b, c->host_ifname);
                return r;
        }
        if ((r = host_end_hairpin(&nl, b, c, err)) < 0 || (r = veth_inside(c, ns_fd, b, err)) < 0)
                veth_undo(&nl, b, c->host_ifname);
        return r;
}
