/* hostd's nftables table, rendered as one nft script and applied in one transaction
 * through libnftables.
 *
 * The script first makes sure the table exists and deletes it, then declares it
 * again in full, all in the same batch: the kernel sees either the old table or the
 * new one, never a half-built one, and a first run needs no special case. */
#include "net-nft.h"

#include <nftables/libnftables.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hd-util.h"

#define TABLE_NAME_MAX  63
#define BRIDGE_NAME_MAX 15 /* IFNAMSIZ - 1 */
#define NFT_MESSAGE_MAX 1024

/* ---- names ------------------------------------------------------------------------ */

static bool is_name_char(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '-' || c == '.';
}

/* nft's scanner takes an unquoted table name that starts with a letter; anything
 * else (a quote, a brace, a newline) could change the meaning of the script. */
static bool table_name_is_valid(const char *s)
{
        if (!s || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
                return false;
        size_t n = strlen(s);
        if (n > TABLE_NAME_MAX)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!is_name_char(s[i]))
                        return false;
        return true;
}

/* Bridge names go between double quotes, which nft cannot escape: only plain
 * interface-name characters are let through. */
static bool bridge_name_is_valid(const char *s)
{
        if (!s || !*s || strlen(s) > BRIDGE_NAME_MAX)
                return false;
        for (const char *p = s; *p; p++)
                if (!is_name_char(*p))
                        return false;
        return true;
}

/* ---- rendering -------------------------------------------------------------------- */

/* The order the caller's arrays come in does not show in the script: networks by
 * bridge name, forwards by protocol and host port, so that the same inventory always
 * renders the same text. */
static int cmp_net(const void *a, const void *b, void *base)
{
        const HdNftNetwork *nets = base;
        return strcmp(nets[*(const size_t *)a].bridge, nets[*(const size_t *)b].bridge);
}

static int cmp_num(long long x, long long y)
{
        return x < y ? -1 : x > y;
}

static int cmp_fw(const void *a, const void *b, void *base)
{
        const HdNftForward *x = &((const HdNftForward *)base)[*(const size_t *)a];
        const HdNftForward *y = &((const HdNftForward *)base)[*(const size_t *)b];
        int c = cmp_num(x->protocol, y->protocol);
        if (!c)
                c = cmp_num(x->host_port, y->host_port);
        if (!c)
                c = cmp_num(x->addr, y->addr);
        if (!c)
                c = cmp_num(x->port, y->port);
        if (!c)
                c = strcmp(x->bridge, y->bridge);
        return c;
}

/* An index array 0..n-1 sorted by cmp over base; NULL when out of memory. qsort is
 * not stable, but both orders are total up to exact duplicates, which render the
 * same text either way. */
static size_t *sorted_index(size_t n, int (*cmp)(const void *, const void *, void *),
                            const void *base)
{
        size_t *idx = calloc(n ? n : 1, sizeof(*idx));
        if (!idx)
                return NULL;
        for (size_t i = 0; i < n; i++)
                idx[i] = i;
        qsort_r(idx, n, sizeof(*idx), cmp, (void *)base);
        return idx;
}

static bool inputs_are_valid(const char *table, const HdNftNetwork *nets, size_t n_nets,
                             const HdNftForward *fw, size_t n_fw)
{
        if (!table_name_is_valid(table) || (n_nets && !nets) || (n_fw && !fw))
                return false;
        for (size_t i = 0; i < n_nets; i++) {
                if (!bridge_name_is_valid(nets[i].bridge) || nets[i].prefix < 0 ||
                    nets[i].prefix > 32)
                        return false;
        }
        for (size_t i = 0; i < n_fw; i++) {
                const HdNftForward *f = &fw[i];
                if (!bridge_name_is_valid(f->bridge) || !hd_proto_to_string(f->protocol) ||
                    f->host_port < 1 || f->host_port > 65535 || f->port < 1 || f->port > 65535)
                        return false;
        }
        return true;
}

static void render_forwards(FILE *f, const HdNftForward *fw, const size_t *fw_idx, size_t n_fw)
{
        for (size_t i = 0; i < n_fw; i++) {
                const HdNftForward *x = &fw[fw_idx[i]];
                char addr[HD_IPV4_STRING_MAX];
                hd_ipv4_format(x->addr, addr);
                /* Only what is addressed to the host itself: a connection from the host
                 * to the same port elsewhere is left alone. */
                fprintf(f, "\t\tfib daddr type local %s dport %d dnat to %s:%d\n",
                        hd_proto_to_string(x->protocol), x->host_port, addr, x->port);
        }
}

/* Invalid input (a name nft could misread, a port or prefix out of range) gives
 * NULL with errno EINVAL; the manager validates first, so that is a bug there. */
char *hd_nft_render(const char *table, const HdNftNetwork *nets, size_t n_nets,
                    const HdNftForward *fw, size_t n_fw)
{
        if (!inputs_are_valid(table, nets, n_nets, fw, n_fw)) {
                errno = EINVAL;
                return NULL;
        }

        _cleanup_free_ size_t *net_idx = sorted_index(n_nets, cmp_net, nets);
        _cleanup_free_ size_t *fw_idx = sorted_index(n_fw, cmp_fw, fw);
        if (!net_idx || !fw_idx)
                return NULL;

        _cleanup_free_ char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        if (!f)
                return NULL;

        fprintf(f, "table ip %s {}\n", table);
        fprintf(f, "delete table ip %s\n", table);
        fprintf(f, "table ip %s {\n", table);

        /* Port forwards from every host address. prerouting sees what arrives from
         * outside and from the instances (hairpin); output sees the host's own
         * connections, loopback included. */
        fprintf(f, "\tchain prerouting {\n");
        fprintf(f, "\t\ttype nat hook prerouting priority dstnat; policy accept;\n");
        render_forwards(f, fw, fw_idx, n_fw);
        fprintf(f, "\t}\n");
        fprintf(f, "\tchain output {\n");
        fprintf(f, "\t\ttype nat hook output priority -100; policy accept;\n");
        render_forwards(f, fw, fw_idx, n_fw);
        fprintf(f, "\t}\n");

        fprintf(f, "\tchain postrouting {\n");
        fprintf(f, "\t\ttype nat hook postrouting priority srcnat; policy accept;\n");
        for (size_t i = 0; i < n_nets; i++) {
                const HdNftNetwork *n = &nets[net_idx[i]];
                char subnet[HD_IPV4_STRING_MAX];
                hd_ipv4_format(n->subnet & hd_ipv4_mask(n->prefix), subnet);
                if (n->nat)
                        fprintf(f, "\t\tip saddr %s/%d oifname != \"%s\" masquerade\n", subnet,
                                n->prefix, n->bridge);
                /* A forward reached on 127.0.0.1 leaves with a loopback source, which
                 * the instance could never answer: give it the bridge's address. */
                fprintf(f, "\t\tip saddr 127.0.0.0/8 oifname \"%s\" masquerade\n", n->bridge);
                /* Hairpin: an instance reaching its own network's forward through a
                 * host address would get the answer straight from the peer, not
                 * through the host's conntrack entry: make the host the source. */
                fprintf(f, "\t\tip saddr %s/%d oifname \"%s\" ct status dnat masquerade\n", subnet,
                        n->prefix, n->bridge);
        }
        fprintf(f, "\t}\n");

        /* Isolation: nothing is routed from one of our bridges to another. Policy
         * accept, so whatever else the host's own firewall decides still stands. A
         * forwarded port is the exception: it is published on every host address,
         * and the DNAT that made the flow came from our own rules above, so only the
         * published port of that one instance is reachable this way (both directions
         * of the flow carry the status). */
        fprintf(f, "\tchain forward {\n");
        fprintf(f, "\t\ttype filter hook forward priority filter; policy accept;\n");
        if (n_nets > 1)
                fprintf(f, "\t\tct status dnat accept\n");
        for (size_t i = 0; i < n_nets; i++) {
                const char *bridge = nets[net_idx[i]].bridge;
                bool any = false;
                for (size_t j = 0; j < n_nets; j++) {
                        const char *other = nets[net_idx[j]].bridge;
                        if (strcmp(other, bridge) == 0)
                                continue;
                        if (!any)
                                fprintf(f, "\t\tiifname \"%s\" oifname { ", bridge);
                        fprintf(f, "%s\"%s\"", any ? ", " : "", other);
                        any = true;
                }
                if (any)
                        fprintf(f, " } drop\n");
        }
        fprintf(f, "\t}\n");
        fprintf(f, "}\n");

        bool failed = ferror(f);
        if (fclose(f) != 0 || failed)
                return NULL;
        return TAKE_PTR(buf);
}

/* ---- applying --------------------------------------------------------------------- */

static void nft_ctx_freep(struct nft_ctx **ctx)
{
        if (*ctx)
                nft_ctx_free(*ctx);
}

/* nft's error output, cut down to one line for an error message: its "Error:" lines
 * (with their location), without the echoed script and the caret line under it. */
static void nft_message(const char *out, char *msg, size_t size)
{
        FILE *f = fmemopen(msg, size, "w");
        if (!f) {
                snprintf(msg, size, "no message from nft");
                return;
        }
        bool any = false;
        for (const char *line = out ? out : ""; *line;) {
                const char *end = strchrnul(line, '\n');
                int n = (int)(end - line);
                if (memmem(line, (size_t)n, "Error:", 6)) {
                        fprintf(f, "%s%.*s", any ? "; " : "", n, line);
                        any = true;
                }
                line = *end ? end + 1 : end;
        }
        if (!any)
                fputs(out && *out ? out : "no message from nft", f);
        fclose(f); /* a full buffer just cuts the message; fmemopen keeps it terminated */
        msg[size - 1] = '\0';
        for (char *p = msg; *p; p++)
                if ((unsigned char)*p < 0x20 || *p == 0x7f)
                        *p = ' ';
        for (size_t n = strlen(msg); n > 0 && msg[n - 1] == ' ';)
                msg[--n] = '\0';
}

int hd_nft_apply(const char *script, HdError **err)
{
        if (!script)
                return hd_error_set(err, -EINVAL, "no nft script");
        _cleanup_(nft_ctx_freep) struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
        if (!ctx)
                return hd_error_set(err, -ENOMEM, "cannot create an nftables context");
        /* Both outputs into buffers: nothing goes to hostd's stdout or stderr, and
         * nft's own words end up in the error. */
        if (nft_ctx_buffer_output(ctx) < 0 || nft_ctx_buffer_error(ctx) < 0)
                return hd_error_set(err, -ENOMEM, "cannot buffer nftables output");
        if (nft_run_cmd_from_buffer(ctx, script) == 0)
                return 0;

        char msg[NFT_MESSAGE_MAX];
        const char *out = nft_ctx_get_error_buffer(ctx);
        nft_message(out, msg, sizeof(msg));
        /* libnftables gives no errno; the kernel's refusal for lack of privilege is
         * the one worth telling apart. */
        int code = out && strstr(out, "Operation not permitted") ? -EPERM : -EIO;
        return hd_error_set(err, code, "nft: %s", msg);
}

int hd_nft_delete_table(const char *table, HdError **err)
{
        if (!table_name_is_valid(table))
                return hd_error_set(err, -EINVAL, "invalid nftables table name `%s`",
                                    table ? table : "");
        /* Declaring it first makes the delete succeed whether or not it existed, in
         * the same transaction (nft 1.0.6 has no `destroy`). */
        _cleanup_free_ char *script = NULL;
        if (asprintf(&script, "table ip %s {}\ndelete table ip %s\n", table, table) < 0)
                return hd_error_set(err, -ENOMEM, "out of memory");
        return hd_nft_apply(script, err);
}
