/* Unit tests of the store's schema migrations: a fresh database lands on the
 * latest version, a v1 database (written by the v1 code path and by raw SQL)
 * upgrades to v2 with its labels backfilled, and a database newer than this
 * build is refused. */
#include <check.h>
#include <errno.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>

#include "hd-codec.h"
#include "store-internal.h"
#include "store.h"

#define T0 1700000000000LL

static char *tmpdir;
static char *dbpath;
static HdStore *store;

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        return remove(path);
}

static void setup(void)
{
        char tmpl[] = "/tmp/hd-test-migrations-XXXXXX";
        ck_assert_ptr_nonnull(mkdtemp(tmpl));
        tmpdir = strdup(tmpl);
        ck_assert_int_ge(asprintf(&dbpath, "%s/hostd.db", tmpdir), 0);
}

static void teardown(void)
{
        hd_store_close(store);
        store = NULL;
        nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
        free(dbpath);
        free(tmpdir);
        dbpath = tmpdir = NULL;
}

#define ck_assert_ok(expr, err)                                               \
        do {                                                                  \
                int _r = (expr);                                              \
                ck_assert_msg(_r >= 0, "%s failed: %d %s", #expr, _r,         \
                              (err) && (err)->message ? (err)->message : ""); \
        } while (0)

static void open_at(int version)
{
        _cleanup_error_ HdError *err = NULL;
        hd_store_close(store);
        store = NULL;
        if (version == 0)
                ck_assert_ok(hd_store_open(dbpath, 100, &store, &err), err);
        else
                ck_assert_ok(hd_store_open_version(dbpath, version, &store, &err), err);
}

static int64_t query_int(const char *sql)
{
        _cleanup_error_ HdError *err = NULL;
        int64_t v = -1;
        ck_assert_ok(hd_store_debug_query_int64(store, sql, &v, &err), err);
        return v;
}

static int schema_version(void)
{
        _cleanup_error_ HdError *err = NULL;
        int v = -1;
        ck_assert_ok(hd_store_schema_version(store, &v, &err), err);
        return v;
}

static bool has_object(const char *name)
{
        char sql[256];
        snprintf(sql, sizeof(sql), "SELECT count(*) FROM sqlite_master WHERE name = '%s'", name);
        return query_int(sql) == 1;
}

/* Instance n: tier=web for even n, db for odd; zone=z<n%3>; n%4==0 has no labels. */
static HdInstance *make_instance(int n)
{
        HdInstance *i = calloc(1, sizeof(*i));
        char name[32], zone[8];
        ck_assert_ptr_nonnull(i);
        snprintf(name, sizeof(name), "inst-%02d", n);
        snprintf(zone, sizeof(zone), "z%d", n % 3);
        ck_assert_int_eq(hd_uuid_generate(i->uuid), 0);
        i->spec.name = strdup(name);
        i->spec.kind = n % 2 ? HD_KIND_VM : HD_KIND_CONTAINER;
        i->spec.image = strdup("busybox");
        i->spec.hostname = strdup(name);
        i->spec.resources = (HdResources){ .vcpus = 1, .memory_mb = 128 };
        if (i->spec.kind == HD_KIND_CONTAINER) {
                hd_strv_push(&i->spec.command, "sleep");
                hd_strv_push(&i->spec.command, "1000");
                i->spec.resources.pids_max = 64;
        }
        if (n % 4 != 0) {
                hd_kvlist_set(&i->spec.labels, "tier", n % 2 ? "db" : "web");
                hd_kvlist_set(&i->spec.labels, "zone", zone);
        }
        i->state = n % 3 ? HD_STATE_STOPPED : HD_STATE_RUNNING;
        i->created_at = T0 + n;
        i->updated_at = T0 + n;
        i->placement.host = strdup("local");
        return i;
}

static char *spec_text(const HdInstanceSpec *s)
{
        _cleanup_json_ json_t *j = hd_codec_instance_spec_to_json(s);
        ck_assert_ptr_nonnull(j);
        return json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
}

/* The text as an SQL string literal body: single quotes doubled. */
static char *sql_quote(const char *s)
{
        char *out = malloc(strlen(s) * 2 + 1), *p = out;
        ck_assert_ptr_nonnull(out);
        for (; *s; s++) {
                if (*s == '\'')
                        *p++ = '\'';
                *p++ = *s;
        }
        *p = '\0';
        return out;
}

static void assert_instance_eq(const HdInstance *a, const HdInstance *b)
{
        _cleanup_free_ char *sa = spec_text(&a->spec), *sb = spec_text(&b->spec);
        ck_assert_str_eq(sa, sb);
        ck_assert_str_eq(a->uuid, b->uuid);
        ck_assert_int_eq(a->state, b->state);
        ck_assert_int_eq(a->created_at, b->created_at);
        ck_assert_int_eq(a->updated_at, b->updated_at);
        ck_assert_int_eq(a->has_exit_code, b->has_exit_code);
        ck_assert_int_eq(a->provisioned, b->provisioned);
        if (a->placement.host || b->placement.host)
                ck_assert_str_eq(a->placement.host, b->placement.host);
}

static size_t list_count(HdKind kind, const HdKV *labels, size_t n_labels)
{
        _cleanup_error_ HdError *err = NULL;
        HdInstanceFilter f = { .kind = kind,
                               .state = HD_STATE_INVALID,
                               .labels = labels,
                               .n_labels = n_labels,
                               .limit = 1000 };
        HdInstance **list = NULL;
        size_t n = 0;
        bool more = true;
        ck_assert_ok(hd_store_instance_list(store, &f, &list, &n, &more, &err), err);
        ck_assert(!more);
        hd_instance_array_free(list, n);
        return n;
}

/* ---- tests ---------------------------------------------------------------------- */

START_TEST(test_fresh_is_latest)
{
        ck_assert_int_eq(hd_store_schema_latest(), 8);
        open_at(0);
        ck_assert_int_eq(schema_version(), hd_store_schema_latest());
        ck_assert_int_eq(query_int("PRAGMA user_version"), hd_store_schema_latest());
        ck_assert(has_object("instances"));
        ck_assert(has_object("operations"));
        ck_assert(has_object("events"));
        ck_assert(has_object("instance_labels"));
        ck_assert(has_object("instance_labels_key_value"));
        ck_assert(has_object("operations_status"));
        ck_assert(has_object("instances_kind_state"));
        ck_assert(has_object("networks"));
        ck_assert(has_object("addresses"));
        ck_assert(has_object("port_forwards"));
        ck_assert(has_object("benchmarks"));
        ck_assert_int_eq(query_int("SELECT count(*) FROM pragma_journal_mode "
                                   "WHERE journal_mode = 'wal'"),
                         1);

        /* Opening again changes nothing. */
        open_at(0);
        ck_assert_int_eq(schema_version(), hd_store_schema_latest());
}
END_TEST

#define N_INST 12

START_TEST(test_v1_to_v2)
{
        _cleanup_error_ HdError *err = NULL;
        HdInstance *inst[N_INST + 1];
        HdStoreTx *tx = NULL;
        HdKV web[] = { { "tier", "web" } };
        HdKV db_z1[] = { { "tier", "db" }, { "zone", "z1" } };
        size_t n_labels = 0, n_web = 0, n_db_z1 = 0;

        open_at(1);
        ck_assert_int_eq(schema_version(), 1);
        ck_assert_int_eq(query_int("PRAGMA user_version"), 1);
        ck_assert(has_object("instances"));
        ck_assert(!has_object("instance_labels"));
        ck_assert(!has_object("operations_status"));

        /* The store's own write path at v1. */
        ck_assert_ok(hd_store_tx_begin(store, &tx, &err), err);
        for (int n = 0; n < N_INST; n++) {
                inst[n] = make_instance(n);
                ck_assert_ok(hd_store_tx_instance_insert(tx, inst[n], &err), err);
                n_labels += inst[n]->spec.labels.n;
                n_web += n % 4 != 0 && n % 2 == 0;
                n_db_z1 += n % 4 != 0 && n % 2 == 1 && n % 3 == 1;
        }
        HdOperation op = { .action = HD_ACTION_START,
                           .status = HD_OP_RUNNING,
                           .created_at = T0,
                           .updated_at = T0 };
        hd_uuid_generate(op.id);
        memcpy(op.instance_uuid, inst[0]->uuid, sizeof(op.instance_uuid));
        ck_assert_ok(hd_store_tx_operation_insert(tx, &op, &err), err);
        HdEvent ev = { .time = T0, .type = (char *)"instance.created" };
        ck_assert_ok(hd_store_tx_event_append(tx, &ev, &err), err);
        ck_assert_ok(hd_store_tx_commit(tx, &err), err);

        /* And a row as v1 code would have written it by hand. */
        inst[N_INST] = make_instance(N_INST + 1);
        hd_kvlist_set(&inst[N_INST]->spec.labels, "raw", "it's");
        {
                _cleanup_free_ char *text = spec_text(&inst[N_INST]->spec);
                _cleanup_free_ char *spec = sql_quote(text);
                _cleanup_free_ char *sql = NULL;
                ck_assert_int_ge(
                        asprintf(&sql,
                                 "INSERT INTO instances (uuid, name, kind, state, revision, spec, "
                                 "labels, vcpus, memory_mb, provisioned, placement_host, "
                                 "created_at, updated_at) VALUES ('%s', '%s', 'vm', 'stopped', 1, "
                                 "'%s', json_extract('%s', '$.labels'), 1, 128, 0, 'local', %lld, "
                                 "%lld)",
                                 inst[N_INST]->uuid, inst[N_INST]->spec.name, spec, spec,
                                 T0 + N_INST + 1, T0 + N_INST + 1),
                        0);
                ck_assert_ok(hd_store_debug_exec(store, sql, &err), err);
                n_labels += inst[N_INST]->spec.labels.n;
                n_db_z1++; /* 13: db, z1 */
        }

        /* v1 filters through the JSON copy of the labels. */
        ck_assert_int_eq(list_count(HD_KIND_INVALID, web, 1), n_web);
        ck_assert_int_eq(list_count(HD_KIND_INVALID, db_z1, 2), n_db_z1);
        ck_assert_int_eq(list_count(HD_KIND_INVALID, NULL, 0), N_INST + 1);

        /* Upgrade, through v2 (label index) and v3 (rendered views). */
        open_at(0);
        ck_assert_int_eq(schema_version(), hd_store_schema_latest());
        ck_assert_int_eq(query_int("PRAGMA user_version"), hd_store_schema_latest());
        ck_assert(has_object("instance_labels"));
        ck_assert(has_object("instance_labels_key_value"));
        ck_assert(has_object("operations_status"));
        ck_assert(has_object("instances_kind_state"));
        ck_assert_int_eq(query_int("SELECT count(*) FROM instance_labels"), n_labels);
        ck_assert_int_eq(query_int("SELECT count(*) FROM instance_labels WHERE key = 'raw' "
                                   "AND value = 'it''s'"),
                         1);
        ck_assert_int_eq(list_count(HD_KIND_INVALID, web, 1), n_web);
        ck_assert_int_eq(list_count(HD_KIND_INVALID, db_z1, 2), n_db_z1);
        ck_assert_int_eq(list_count(HD_KIND_VM, db_z1, 2), n_db_z1);
        ck_assert_int_eq(list_count(HD_KIND_CONTAINER, db_z1, 2), 0);

        /* Every row got its view at open, and it is the codec's rendering. */
        ck_assert_int_eq(query_int("SELECT count(*) FROM instances WHERE view IS NULL"), 0);
        for (int n = 0; n <= N_INST; n++) {
                HdInstance *got = NULL;
                ck_assert_ok(hd_store_instance_get(store, inst[n]->uuid, &got, &err), err);
                assert_instance_eq(got, inst[n]);
                ck_assert_int_eq(got->revision, 1);
                HdInstanceView *v = NULL;
                ck_assert_ok(hd_store_instance_get_view(store, inst[n]->uuid, &v, &err), err);
                json_t *rendered = hd_codec_instance_to_json(got);
                json_t *stored = json_loads(v->json, 0, NULL);
                ck_assert(json_equal(rendered, stored));
                ck_assert_int_eq(v->revision, 1);
                json_decref(rendered);
                json_decref(stored);
                hd_instance_view_free(v);
                hd_instance_free(got);
        }
        HdOperation *gop = NULL;
        ck_assert_ok(hd_store_operation_get(store, op.id, &gop, &err), err);
        ck_assert_int_eq(gop->status, HD_OP_RUNNING);
        hd_operation_free(gop);
        int64_t last = 0;
        ck_assert_ok(hd_store_event_last_seq(store, &last, &err), err);
        ck_assert_int_eq(last, 1);
        ck_assert_ok(hd_store_integrity_check(store, &err), err);
        ck_assert_int_eq(query_int("SELECT count(*) FROM pragma_foreign_key_check"), 0);

        /* v2 writes keep the label index in step. */
        hd_kvlist_clear(&inst[1]->spec.labels);
        hd_kvlist_set(&inst[1]->spec.labels, "tier", "web");
        ck_assert_ok(hd_store_tx_begin(store, &tx, &err), err);
        ck_assert_ok(hd_store_tx_instance_update(tx, inst[1], 1, &err), err);
        ck_assert_ok(hd_store_tx_instance_delete(tx, inst[2]->uuid, &err), err);
        ck_assert_ok(hd_store_tx_commit(tx, &err), err);
        ck_assert_int_eq(list_count(HD_KIND_INVALID, web, 1), n_web); /* +1 -1 */
        ck_assert_int_eq(query_int("SELECT count(*) FROM instance_labels"), n_labels - 1 - 2);
        /* ...and the stored view follows the write, at the new revision. */
        HdInstanceView *v1 = NULL;
        ck_assert_ok(hd_store_instance_get_view(store, inst[1]->uuid, &v1, &err), err);
        ck_assert_int_eq(v1->revision, 2);
        ck_assert_ptr_nonnull(strstr(v1->json, "\"revision\":2"));
        ck_assert_ptr_nonnull(strstr(v1->json, "\"labels\":{\"tier\":\"web\"}"));
        hd_instance_view_free(v1);

        /* A view of another format is rendered again at the next open. */
        ck_assert_ok(hd_store_debug_exec(store,
                                         "UPDATE instances SET view = 'stale', "
                                         "view_format = 0",
                                         &err),
                     err);
        open_at(0);
        ck_assert_int_eq(query_int("SELECT count(*) FROM instances WHERE view = 'stale'"), 0);

        for (int n = 0; n <= N_INST; n++)
                hd_instance_free(inst[n]);
}
END_TEST

/* ready_at: not kept before v6 (and nothing fails for its absence), kept from v6 on,
 * in the row and in the rendered view. */
static HdInstance *get_instance(const char *name)
{
        _cleanup_error_ HdError *err = NULL;
        HdInstance *i = NULL;
        ck_assert_ok(hd_store_instance_get(store, name, &i, &err), err);
        return i;
}

static void update_instance(HdInstance *i)
{
        _cleanup_error_ HdError *err = NULL;
        HdStoreTx *tx = NULL;
        ck_assert_ok(hd_store_tx_begin(store, &tx, &err), err);
        ck_assert_ok(hd_store_tx_instance_update(tx, i, i->revision, &err), err);
        ck_assert_ok(hd_store_tx_commit(tx, &err), err);
}

static bool view_has(const char *name, const char *text)
{
        _cleanup_error_ HdError *err = NULL;
        HdInstanceView *v = NULL;
        ck_assert_ok(hd_store_instance_get_view(store, name, &v, &err), err);
        bool has = strstr(v->json, text) != NULL;
        hd_instance_view_free(v);
        return has;
}

static uint32_t ip(const char *s)
{
        uint32_t a = 0;
        ck_assert_int_eq(hd_ipv4_parse(s, &a), 0);
        return a;
}

/* Networks, addresses and forwards arrive at v7: an instance of v6 comes through with
 * no address, then IPAM hands out each address once, names who holds a taken one, and
 * an instance's delete takes its address and forwards with it. */
START_TEST(test_v6_to_v7_networks)
{
        _cleanup_error_ HdError *err = NULL;
        HdStoreTx *tx = NULL;
        open_at(6);
        _cleanup_(hd_instance_freep) HdInstance *a = make_instance(0);
        _cleanup_(hd_instance_freep) HdInstance *b = make_instance(1);
        _cleanup_(hd_instance_freep) HdInstance *c = make_instance(2);
        ck_assert_ok(hd_store_tx_begin(store, &tx, &err), err);
        ck_assert_ok(hd_store_tx_instance_insert(tx, a, &err), err);
        ck_assert_ok(hd_store_tx_commit(tx, &err), err);

        open_at(0);
        ck_assert_int_eq(schema_version(), hd_store_schema_latest());
        {
                _cleanup_(hd_instance_freep) HdInstance *got = get_instance("inst-00");
                ck_assert_uint_eq(got->n_addresses, 0);
        }
        HdNetwork n = { .name = (char *)"net0",
                        .subnet = (char *)"10.9.0.0/29",
                        .gateway = (char *)"10.9.0.1",
                        .mtu = 1400,
                        .nat = true,
                        .created_at = T0 };
        uint32_t got_ip = 0;
        ck_assert_ok(hd_store_tx_begin(store, &tx, &err), err);
        ck_assert_ok(hd_store_tx_network_insert(tx, &n, &err), err);
        ck_assert_ok(hd_store_tx_instance_insert(tx, b, &err), err);
        ck_assert_ok(hd_store_tx_instance_insert(tx, c, &err), err);
        /* The lowest free host address, the gateway skipped. */
        ck_assert_ok(hd_store_tx_address_take(tx, "net0", a->uuid, 0, ip("10.9.0.1"),
                                              ip("10.9.0.6"), ip("10.9.0.1"), "02:00:00:00:00:01",
                                              &got_ip, &err),
                     err);
        ck_assert_uint_eq(got_ip, ip("10.9.0.2"));
        ck_assert_ok(hd_store_tx_address_take(tx, "net0", b->uuid, ip("10.9.0.5"), ip("10.9.0.1"),
                                              ip("10.9.0.6"), ip("10.9.0.1"), "02:00:00:00:00:02",
                                              &got_ip, &err),
                     err);
        /* Taken: named, with its holder; the same mac: no field (draw another). */
        ck_assert_int_eq(hd_store_tx_address_take(tx, "net0", c->uuid, ip("10.9.0.5"),
                                                  ip("10.9.0.1"), ip("10.9.0.6"), ip("10.9.0.1"),
                                                  "02:00:00:00:00:03", &got_ip, &err),
                         -EEXIST);
        ck_assert_str_eq(err->field, "ip");
        ck_assert_ptr_nonnull(strstr(err->message, "inst-01"));
        hd_error_free(TAKE_PTR(err));
        ck_assert_int_eq(hd_store_tx_address_take(tx, "net0", c->uuid, 0, ip("10.9.0.1"),
                                                  ip("10.9.0.6"), ip("10.9.0.1"),
                                                  "02:00:00:00:00:02", &got_ip, &err),
                         -EEXIST);
        ck_assert_ptr_null(err->field);
        hd_error_free(TAKE_PTR(err));
        ck_assert_ok(hd_store_tx_address_take(tx, "net0", c->uuid, 0, ip("10.9.0.1"),
                                              ip("10.9.0.6"), ip("10.9.0.1"), "02:00:00:00:00:03",
                                              &got_ip, &err),
                     err);
        ck_assert_uint_eq(got_ip, ip("10.9.0.3"));
        HdPortForward f = { .host_port = 8080, .port = 80, .protocol = HD_PROTO_TCP };
        ck_assert_ok(hd_store_tx_forward_insert(tx, b->uuid, &f, &err), err);
        ck_assert_int_eq(hd_store_tx_forward_insert(tx, c->uuid, &f, &err), -EEXIST);
        ck_assert_ptr_nonnull(strstr(err->message, "inst-01"));
        hd_error_free(TAKE_PTR(err));
        f.protocol = HD_PROTO_UDP;
        ck_assert_ok(hd_store_tx_forward_insert(tx, c->uuid, &f, &err), err);
        ck_assert_ok(hd_store_tx_commit(tx, &err), err);

        {
                _cleanup_(hd_instance_freep) HdInstance *got = get_instance("inst-01");
                ck_assert_uint_eq(got->n_addresses, 1);
                ck_assert_str_eq(got->addresses[0].network, "net0");
                ck_assert_str_eq(got->addresses[0].address, "10.9.0.5");
                ck_assert_int_eq(got->addresses[0].prefix_len, 29);
                ck_assert_str_eq(got->addresses[0].gateway, "10.9.0.1");
                ck_assert_str_eq(got->addresses[0].mac, "02:00:00:00:00:02");
                ck_assert_int_eq(got->addresses[0].mtu, 1400);
        }
        HdStoreForward *fw = NULL;
        size_t n_fw = 0;
        ck_assert_ok(hd_store_forward_list(store, &fw, &n_fw, &err), err);
        ck_assert_uint_eq(n_fw, 2);
        ck_assert_uint_eq(fw[0].address, ip("10.9.0.5"));
        ck_assert_int_eq(fw[1].f.protocol, HD_PROTO_UDP);
        hd_store_forwards_free(fw, n_fw);

        /* In use: the network stays; the instance's delete frees its address and port. */
        ck_assert_ok(hd_store_tx_begin(store, &tx, &err), err);
        ck_assert_int_eq(hd_store_tx_network_delete(tx, "net0", &err), -EBUSY);
        hd_error_free(TAKE_PTR(err));
        ck_assert_ok(hd_store_tx_instance_delete(tx, b->uuid, &err), err);
        ck_assert_ok(hd_store_tx_commit(tx, &err), err);
        ck_assert_int_eq(query_int("SELECT count(*) FROM addresses"), 2);
        ck_assert_int_eq(query_int("SELECT count(*) FROM port_forwards"), 1);
        ck_assert_ok(hd_store_tx_begin(store, &tx, &err), err);
        ck_assert_ok(hd_store_tx_instance_delete(tx, a->uuid, &err), err);
        ck_assert_ok(hd_store_tx_instance_delete(tx, c->uuid, &err), err);
        ck_assert_ok(hd_store_tx_network_delete(tx, "net0", &err), err);
        ck_assert_ok(hd_store_tx_commit(tx, &err), err);
        ck_assert_int_eq(query_int("SELECT count(*) FROM port_forwards"), 0);
}
END_TEST

START_TEST(test_v5_to_v6_ready_at)
{
        _cleanup_error_ HdError *err = NULL;
        HdStoreTx *tx = NULL;
        const int64_t ready = T0 + 4242;

        open_at(5);
        _cleanup_(hd_instance_freep) HdInstance *a = make_instance(0);
        a->ready_at = ready;
        ck_assert_ok(hd_store_tx_begin(store, &tx, &err), err);
        ck_assert_ok(hd_store_tx_instance_insert(tx, a, &err), err);
        ck_assert_ok(hd_store_tx_commit(tx, &err), err);
        {
                _cleanup_(hd_instance_freep) HdInstance *got = get_instance("inst-00");
                ck_assert_int_eq(got->ready_at, 0);
                got->ready_at = ready;
                update_instance(got);
        }
        _cleanup_(hd_instance_freep) HdInstance *b = get_instance("inst-00");
        ck_assert_int_eq(b->ready_at, 0);
        ck_assert_int_eq(b->revision, 2);
        ck_assert(view_has("inst-00", "\"ready_at\":null"));

        open_at(6);
        ck_assert_int_eq(schema_version(), 6);
        _cleanup_(hd_instance_freep) HdInstance *c = get_instance("inst-00");
        assert_instance_eq(b, c);
        ck_assert_int_eq(c->ready_at, 0);
        c->ready_at = ready;
        update_instance(c);
        _cleanup_(hd_instance_freep) HdInstance *d = get_instance(c->uuid);
        ck_assert_int_eq(d->ready_at, ready);
        ck_assert(view_has("inst-00", "\"ready_at\":\"2023-11-14T22:13:24.242Z\""));
        ck_assert_int_eq(query_int("SELECT ready_at FROM instances"), ready);

        /* Cleared again, it is NULL in the row. */
        d->ready_at = 0;
        update_instance(d);
        ck_assert_int_eq(query_int("SELECT count(*) FROM instances WHERE ready_at IS NULL"), 1);
        ck_assert(view_has("inst-00", "\"ready_at\":null"));
}
END_TEST

START_TEST(test_open_version)
{
        _cleanup_error_ HdError *err = NULL;
        HdStore *s = NULL;

        open_at(1);
        open_at(1);
        ck_assert_int_eq(schema_version(), 1);
        open_at(2);
        ck_assert_int_eq(schema_version(), 2);
        /* Never downgraded. */
        open_at(1);
        ck_assert_int_eq(schema_version(), 2);
        open_at(3);
        ck_assert_int_eq(schema_version(), 3);

        ck_assert_int_eq(hd_store_open_version(dbpath, 0, &s, &err), -EINVAL);
        hd_error_free(TAKE_PTR(err));
        ck_assert_int_eq(hd_store_open_version(dbpath, hd_store_schema_latest() + 1, &s, &err),
                         -EINVAL);
        hd_error_free(TAKE_PTR(err));
        ck_assert_ptr_null(s);
}
END_TEST

START_TEST(test_newer_refused)
{
        _cleanup_error_ HdError *err = NULL;
        char sql[64], want[128];
        HdStore *s = NULL;
        int newer = hd_store_schema_latest() + 1;

        open_at(0);
        snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", newer);
        ck_assert_ok(hd_store_debug_exec(store, sql, &err), err);
        hd_store_close(store);
        store = NULL;

        snprintf(want, sizeof(want), "database schema version %d is newer than this hostd (%d)",
                 newer, hd_store_schema_latest());
        ck_assert_int_eq(hd_store_open(dbpath, 100, &s, &err), -EPROTO);
        ck_assert_ptr_null(s);
        ck_assert_msg(strstr(err->message, want), "message: %s", err->message);
        hd_error_free(TAKE_PTR(err));

        ck_assert_int_eq(hd_store_open_version(dbpath, 1, &s, &err), -EPROTO);
        ck_assert_ptr_null(s);
        ck_assert_msg(strstr(err->message, want), "message: %s", err->message);
}
END_TEST

static Suite *migrations_suite(void)
{
        Suite *s = suite_create("migrations");
        TCase *tc = tcase_create("migrations");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, test_fresh_is_latest);
        tcase_add_test(tc, test_v1_to_v2);
        tcase_add_test(tc, test_v5_to_v6_ready_at);
        tcase_add_test(tc, test_v6_to_v7_networks);
        tcase_add_test(tc, test_open_version);
        tcase_add_test(tc, test_newer_refused);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        SRunner *sr = srunner_create(migrations_suite());
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
