/* Networks, IPAM and port forwards (schema v7).
 *
 * These rows change only when a network or an instance is created or deleted, so the
 * statements are prepared per call rather than cached per connection. The keys of the
 * addresses and port_forwards tables are what guarantees that nothing is handed out
 * twice: a lost race is a constraint violation, never a duplicate. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hd-json.h"
#include "store-internal.h"

typedef struct Query {
        sqlite3_stmt *st;
} Query;

static void query_done(Query *q)
{
        if (q->st)
                sqlite3_finalize(q->st);
}

static int prepare(sqlite3 *db, const char *sql, Query *q, HdError **err)
{
        if (sqlite3_prepare_v2(db, sql, -1, &q->st, NULL) != SQLITE_OK)
                return hd_store_sqlite_error(err, db, "could not prepare a network statement");
        return 0;
}

static int need_version(HdStore *s, HdError **err)
{
        if (s->version < HD_STORE_NETWORKS_SINCE)
                return hd_error_set(err, -EOPNOTSUPP,
                                    "the inventory is at schema version %d: networks need %d",
                                    s->version, HD_STORE_NETWORKS_SINCE);
        return 0;
}

/* ---- networks --------------------------------------------------------------------- */

#define NETWORK_COLUMNS                                             \
        "n.name, n.subnet, n.gateway, n.mtu, n.nat, n.created_at, " \
        "(SELECT count(*) FROM addresses AS a WHERE a.network = n.name)"

static int decode_network(sqlite3_stmt *st, void **ret, HdError **err)
{
        _cleanup_(hd_network_freep) HdNetwork *n = calloc(1, sizeof(*n));
        if (!n || hd_store_col_strdup(st, 0, &n->name) < 0 ||
            hd_store_col_strdup(st, 1, &n->subnet) < 0 ||
            hd_store_col_strdup(st, 2, &n->gateway) < 0)
                return hd_error_set(err, -ENOMEM, "out of memory");
        if (!n->name || !n->subnet || !n->gateway)
                return hd_error_set(err, -EIO, "a stored network has an empty column");
        n->mtu = sqlite3_column_int(st, 3);
        n->nat = sqlite3_column_int(st, 4) != 0;
        n->created_at = sqlite3_column_int64(st, 5);
        n->used_by = sqlite3_column_int64(st, 6);
        *ret = TAKE_PTR(n);
        return 0;
}

static void network_free_void(void *p)
{
        hd_network_free(p);
}

int hd_store_tx_network_insert(HdStoreTx *tx, const HdNetwork *n, HdError **err)
{
        sqlite3 *db = tx->store->writer.db;
        _cleanup_(query_done) Query q = { 0 };
        int r = need_version(tx->store, err);
        if (r < 0)
                return r;
        if (!n->name || !n->subnet || !n->gateway)
                return hd_error_set(err, -EINVAL, "a network needs a name, subnet and gateway");
        r = prepare(db,
                    "INSERT INTO networks (name, subnet, gateway, mtu, nat, created_at) "
                    "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    &q, err);
        if (r < 0)
                return r;
        sqlite3_bind_text(q.st, 1, n->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(q.st, 2, n->subnet, -1, SQLITE_STATIC);
        sqlite3_bind_text(q.st, 3, n->gateway, -1, SQLITE_STATIC);
        sqlite3_bind_int(q.st, 4, n->mtu);
        sqlite3_bind_int(q.st, 5, n->nat);
        sqlite3_bind_int64(q.st, 6, n->created_at);
        int rc = sqlite3_step(q.st);
        if (rc == SQLITE_CONSTRAINT_PRIMARYKEY)
                return hd_error_set_field(err, -EEXIST, "name", "network `%s` already exists",
                                          n->name);
        if (rc == SQLITE_CONSTRAINT_UNIQUE)
                return hd_error_set_field(err, -EEXIST, "subnet",
                                          "subnet %s is already another network's", n->subnet);
        if (rc != SQLITE_DONE)
                return hd_store_sqlite_error(err, db, "could not insert network `%s`", n->name);
        return 0;
}

static int network_get_db(sqlite3 *db, const char *name, HdNetwork **ret, HdError **err)
{
        _cleanup_(query_done) Query q = { 0 };
        int r = prepare(db, "SELECT " NETWORK_COLUMNS " FROM networks AS n WHERE n.name = ?1", &q,
                        err);
        if (r < 0)
                return r;
        sqlite3_bind_text(q.st, 1, name, -1, SQLITE_STATIC);
        int rc = sqlite3_step(q.st);
        if (rc == SQLITE_DONE)
                return hd_error_set(err, -ENOENT, "network `%s` not found", name);
        if (rc != SQLITE_ROW)
                return hd_store_sqlite_error(err, db, "could not read network `%s`", name);
        return decode_network(q.st, (void **)ret, err);
}

int hd_store_network_get(HdStore *s, const char *name, HdNetwork **ret, HdError **err)
{
        int r = need_version(s, err);
        if (r < 0)
                return r;
        _cleanup_lease_ HdStoreReaderLease l = hd_store_reader_acquire(s);
        return network_get_db(l.conn->db, name, ret, err);
}

int hd_store_tx_network_get(HdStoreTx *tx, const char *name, HdNetwork **ret, HdError **err)
{
        int r = need_version(tx->store, err);
        if (r < 0)
                return r;
        return network_get_db(tx->store->writer.db, name, ret, err);
}

static int network_list_db(sqlite3 *db, HdNetwork ***ret, size_t *ret_n, HdError **err)
{
        _cleanup_(query_done) Query q = { 0 };
        int r = prepare(db, "SELECT " NETWORK_COLUMNS " FROM networks AS n ORDER BY n.name", &q,
                        err);
        if (r < 0)
                return r;
        return hd_store_collect_rows(q.st, 0, decode_network, network_free_void, (void ***)ret,
                                     ret_n, NULL, err);
}

int hd_store_network_list(HdStore *s, HdNetwork ***ret, size_t *ret_n, HdError **err)
{
        if (s->version < HD_STORE_NETWORKS_SINCE) {
                *ret = NULL;
                *ret_n = 0;
                return 0;
        }
        _cleanup_lease_ HdStoreReaderLease l = hd_store_reader_acquire(s);
        return network_list_db(l.conn->db, ret, ret_n, err);
}

int hd_store_tx_network_list(HdStoreTx *tx, HdNetwork ***ret, size_t *ret_n, HdError **err)
{
        if (tx->store->version < HD_STORE_NETWORKS_SINCE) {
                *ret = NULL;
                *ret_n = 0;
                return 0;
        }
        return network_list_db(tx->store->writer.db, ret, ret_n, err);
}

int hd_store_tx_network_delete(HdStoreTx *tx, const char *name, HdError **err)
{
        sqlite3 *db = tx->store->writer.db;
        _cleanup_(hd_network_freep) HdNetwork *n = NULL;
        int r = hd_store_tx_network_get(tx, name, &n, err);
        if (r < 0)
                return r;
        if (n->used_by > 0)
                return hd_error_set(err, -EBUSY, "network `%s` is in use by %lld instance%s", name,
                                    (long long)n->used_by, n->used_by == 1 ? "" : "s");
        _cleanup_(query_done) Query q = { 0 };
        r = prepare(db, "DELETE FROM networks WHERE name = ?1", &q, err);
        if (r < 0)
                return r;
        sqlite3_bind_text(q.st, 1, name, -1, SQLITE_STATIC);
        if (sqlite3_step(q.st) != SQLITE_DONE)
                return hd_store_sqlite_error(err, db, "could not delete network `%s`", name);
        return 0;
}

/* ---- IPAM ------------------------------------------------------------------------- */

/* The instance holding an address or a forward, for the 409's message. */
static char *holder_name(sqlite3 *db, const char *sql, const char *a, int64_t b)
{
        _cleanup_(query_done) Query q = { 0 };
        if (sqlite3_prepare_v2(db, sql, -1, &q.st, NULL) != SQLITE_OK)
                return NULL;
        sqlite3_bind_text(q.st, 1, a, -1, SQLITE_STATIC);
        sqlite3_bind_int64(q.st, 2, b);
        if (sqlite3_step(q.st) != SQLITE_ROW)
                return NULL;
        const char *t = (const char *)sqlite3_column_text(q.st, 0);
        return t ? strdup(t) : NULL;
}

static int address_insert(sqlite3 *db, const char *network, const char *uuid, uint32_t a,
                          const char *mac, HdError **err)
{
        _cleanup_(query_done) Query q = { 0 };
        int r = prepare(db,
                        "INSERT INTO addresses (network, address, instance_uuid, mac) "
                        "VALUES (?1, ?2, ?3, ?4)",
                        &q, err);
        if (r < 0)
                return r;
        sqlite3_bind_text(q.st, 1, network, -1, SQLITE_STATIC);
        sqlite3_bind_int64(q.st, 2, a);
        sqlite3_bind_text(q.st, 3, uuid, -1, SQLITE_STATIC);
        sqlite3_bind_text(q.st, 4, mac, -1, SQLITE_STATIC);
        int rc = sqlite3_step(q.st);
        char dotted[16];
        hd_ipv4_format(a, dotted);
        if (rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
                _cleanup_free_ char *who = holder_name(
                        db,
                        "SELECT i.name FROM addresses AS a JOIN instances AS i "
                        "ON i.uuid = a.instance_uuid WHERE a.network = ?1 AND a.address = ?2",
                        network, a);
                return hd_error_set_field(err, -EEXIST, "ip",
                                          "address %s on network `%s` is taken by instance `%s`",
                                          dotted, network, who ? who : "?");
        }
        if (rc == SQLITE_CONSTRAINT_UNIQUE)
                return hd_error_set(err, -EEXIST, "mac %s is taken", mac);
        if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
                return hd_error_set_field(err, -ENOENT, "network", "network `%s` not found",
                                          network);
        if (rc != SQLITE_DONE)
                return hd_store_sqlite_error(err, db, "could not record address %s", dotted);
        return 0;
}

int hd_store_tx_address_take(HdStoreTx *tx, const char *network, const char *instance_uuid,
                             uint32_t want, uint32_t first, uint32_t last, uint32_t skip,
                             const char *mac, uint32_t *ret, HdError **err)
{
        sqlite3 *db = tx->store->writer.db;
        int r = need_version(tx->store, err);
        if (r < 0)
                return r;
        if (want) {
                r = address_insert(db, network, instance_uuid, want, mac, err);
                if (r == 0)
                        *ret = want;
                return r;
        }

        /* The lowest free address: walk the taken ones in order until a gap. */
        _cleanup_(query_done) Query q = { 0 };
        r = prepare(db,
                    "SELECT address FROM addresses WHERE network = ?1 AND address BETWEEN ?2 "
                    "AND ?3 ORDER BY address",
                    &q, err);
        if (r < 0)
                return r;
        sqlite3_bind_text(q.st, 1, network, -1, SQLITE_STATIC);
        sqlite3_bind_int64(q.st, 2, first);
        sqlite3_bind_int64(q.st, 3, last);
        uint64_t cand = first;
        int rc;
        while (cand <= last) {
                if (cand == skip) {
                        cand++;
                        continue;
                }
                rc = sqlite3_step(q.st);
                if (rc == SQLITE_DONE)
                        break;
                if (rc != SQLITE_ROW)
                        return hd_store_sqlite_error(err, db, "could not read addresses");
                uint64_t taken = (uint64_t)sqlite3_column_int64(q.st, 0);
                if (taken > cand)
                        break;
                cand = taken + 1;
                if (cand == skip)
                        cand++;
        }
        if (cand > last)
                return hd_error_set_field(err, -ENOSPC, "network",
                                          "network `%s` has no free address left", network);
        r = address_insert(db, network, instance_uuid, (uint32_t)cand, mac, err);
        if (r == 0)
                *ret = (uint32_t)cand;
        return r;
}

int hd_store_tx_forward_insert(HdStoreTx *tx, const char *instance_uuid, const HdPortForward *f,
                               HdError **err)
{
        sqlite3 *db = tx->store->writer.db;
        _cleanup_(query_done) Query q = { 0 };
        int r = need_version(tx->store, err);
        if (r < 0)
                return r;
        r = prepare(db,
                    "INSERT INTO port_forwards (protocol, host_port, instance_uuid, port) "
                    "VALUES (?1, ?2, ?3, ?4)",
                    &q, err);
        if (r < 0)
                return r;
        const char *proto = hd_proto_to_string(f->protocol);
        sqlite3_bind_text(q.st, 1, proto, -1, SQLITE_STATIC);
        sqlite3_bind_int(q.st, 2, f->host_port);
        sqlite3_bind_text(q.st, 3, instance_uuid, -1, SQLITE_STATIC);
        sqlite3_bind_int(q.st, 4, f->port);
        int rc = sqlite3_step(q.st);
        if (hd_store_is_unique_violation(rc)) {
                _cleanup_free_ char *who = holder_name(
                        db,
                        "SELECT i.name FROM port_forwards AS f JOIN instances AS i "
                        "ON i.uuid = f.instance_uuid WHERE f.protocol = ?1 AND f.host_port = ?2",
                        proto, f->host_port);
                return hd_error_set_field(err, -EEXIST, "ports",
                                          "host port %d/%s is already forwarded to instance `%s`",
                                          f->host_port, proto, who ? who : "?");
        }
        if (rc != SQLITE_DONE)
                return hd_store_sqlite_error(err, db, "could not record port forward %d/%s",
                                             f->host_port, proto);
        return 0;
}

/* ---- what the firewall and DHCP are rendered from ---------------------------------- */

void hd_store_addresses_free(HdStoreAddress *a, size_t n)
{
        for (size_t i = 0; a && i < n; i++) {
                free(a[i].instance_name);
                free(a[i].hostname);
                free(a[i].network);
        }
        free(a);
}

void hd_store_forwards_free(HdStoreForward *f, size_t n)
{
        for (size_t i = 0; f && i < n; i++)
                free(f[i].network);
        free(f);
}

/* Steps q to its end, growing *a by one element of size sz per row and letting fill
 * decode it. */
static int collect(sqlite3_stmt *st, size_t sz, int (*fill)(sqlite3_stmt *st, void *elem),
                   void **ret, size_t *ret_n, HdError **err)
{
        char *a = NULL;
        size_t n = 0;
        int rc;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                char *na = realloc(a, (n + 1) * sz);
                if (!na)
                        break;
                a = na;
                memset(a + n * sz, 0, sz);
                n++;
                if (fill(st, a + (n - 1) * sz) < 0) {
                        rc = SQLITE_NOMEM;
                        break;
                }
        }
        if (rc != SQLITE_DONE) {
                *ret = a;
                *ret_n = n;
                return rc == SQLITE_ROW || rc == SQLITE_NOMEM
                               ? hd_error_set(err, -ENOMEM, "out of memory")
                               : hd_store_sqlite_error(err, sqlite3_db_handle(st),
                                                       "could not read network rows");
        }
        *ret = a;
        *ret_n = n;
        return 0;
}

static int fill_address(sqlite3_stmt *st, void *elem)
{
        HdStoreAddress *a = elem;
        if (hd_store_col_uuid(st, 0, a->instance_uuid) < 0 ||
            hd_store_col_strdup(st, 1, &a->instance_name) < 0 ||
            hd_store_col_strdup(st, 2, &a->hostname) < 0 ||
            hd_store_col_strdup(st, 3, &a->network) < 0)
                return -ENOMEM;
        a->address = (uint32_t)sqlite3_column_int64(st, 4);
        const char *mac = (const char *)sqlite3_column_text(st, 5);
        snprintf(a->mac, sizeof(a->mac), "%s", mac ? mac : "");
        a->kind = hd_kind_from_string((const char *)sqlite3_column_text(st, 6));
        return 0;
}

int hd_store_address_list(HdStore *s, HdStoreAddress **ret, size_t *ret_n, HdError **err)
{
        *ret = NULL;
        *ret_n = 0;
        if (s->version < HD_STORE_NETWORKS_SINCE)
                return 0;
        _cleanup_lease_ HdStoreReaderLease l = hd_store_reader_acquire(s);
        _cleanup_(query_done) Query q = { 0 };
        int r = prepare(l.conn->db,
                        "SELECT a.instance_uuid, i.name, json_extract(i.spec, '$.hostname'), "
                        "a.network, a.address, a.mac, i.kind FROM addresses AS a "
                        "JOIN instances AS i ON i.uuid = a.instance_uuid "
                        "ORDER BY a.network, a.address",
                        &q, err);
        if (r < 0)
                return r;
        HdStoreAddress *a = NULL;
        size_t n = 0;
        r = collect(q.st, sizeof(*a), fill_address, (void **)&a, &n, err);
        if (r < 0) {
                hd_store_addresses_free(a, n);
                return r;
        }
        *ret = a;
        *ret_n = n;
        return 0;
}

static int fill_forward(sqlite3_stmt *st, void *elem)
{
        HdStoreForward *f = elem;
        if (hd_store_col_uuid(st, 0, f->instance_uuid) < 0 ||
            hd_store_col_strdup(st, 1, &f->network) < 0)
                return -ENOMEM;
        f->address = (uint32_t)sqlite3_column_int64(st, 2);
        f->f.protocol = hd_proto_from_string((const char *)sqlite3_column_text(st, 3));
        f->f.host_port = sqlite3_column_int(st, 4);
        f->f.port = sqlite3_column_int(st, 5);
        return 0;
}

int hd_store_forward_list(HdStore *s, HdStoreForward **ret, size_t *ret_n, HdError **err)
{
        *ret = NULL;
        *ret_n = 0;
        if (s->version < HD_STORE_NETWORKS_SINCE)
                return 0;
        _cleanup_lease_ HdStoreReaderLease l = hd_store_reader_acquire(s);
        _cleanup_(query_done) Query q = { 0 };
        int r = prepare(l.conn->db,
                        "SELECT f.instance_uuid, a.network, a.address, f.protocol, f.host_port, "
                        "f.port FROM port_forwards AS f "
                        "JOIN addresses AS a ON a.instance_uuid = f.instance_uuid "
                        "ORDER BY f.protocol, f.host_port",
                        &q, err);
        if (r < 0)
                return r;
        HdStoreForward *f = NULL;
        size_t n = 0;
        r = collect(q.st, sizeof(*f), fill_forward, (void **)&f, &n, err);
        if (r < 0) {
                hd_store_forwards_free(f, n);
                return r;
        }
        *ret = f;
        *ret_n = n;
        return 0;
}

/* ---- the addresses column of instance rows ------------------------------------------ */

int hd_store_decode_addresses(const char *text, HdInstanceAddress **ret, size_t *ret_n)
{
        *ret = NULL;
        *ret_n = 0;
        _cleanup_json_ json_t *j = json_loads(text, 0, NULL);
        if (!j || !json_is_array(j))
                return -EINVAL;
        size_t n = json_array_size(j);
        if (n == 0)
                return 0;
        HdInstanceAddress *a = calloc(n, sizeof(*a));
        if (!a)
                return -ENOMEM;
        for (size_t k = 0; k < n; k++) {
                json_t *row = json_array_get(j, k);
                const char *net = json_string_value(json_array_get(row, 0));
                json_int_t addr = json_integer_value(json_array_get(row, 1));
                const char *mac = json_string_value(json_array_get(row, 2));
                const char *subnet = json_string_value(json_array_get(row, 3));
                const char *gw = json_string_value(json_array_get(row, 4));
                json_int_t mtu = json_integer_value(json_array_get(row, 5));
                uint32_t sub;
                int prefix;
                if (!net || !mac || !subnet || !gw || addr <= 0 || addr > UINT32_MAX ||
                    strlen(mac) >= HD_MAC_STRING_MAX || strlen(gw) >= HD_IPV4_STRING_MAX ||
                    hd_ipv4_cidr_parse(subnet, &sub, &prefix) < 0) {
                        hd_instance_addresses_free(a, n);
                        return -EINVAL;
                }
                a[k].network = strdup(net);
                a[k].bridge = strdup(net); /* a network's bridge carries its name */
                if (!a[k].network || !a[k].bridge) {
                        hd_instance_addresses_free(a, n);
                        return -ENOMEM;
                }
                hd_ipv4_format((uint32_t)addr, a[k].address);
                a[k].prefix_len = prefix;
                snprintf(a[k].gateway, sizeof(a[k].gateway), "%s", gw);
                snprintf(a[k].mac, sizeof(a[k].mac), "%s", mac);
                a[k].mtu = (int)mtu;
        }
        *ret = a;
        *ret_n = n;
        return 0;
}
