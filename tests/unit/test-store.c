/* Unit tests of daemon/store: CRUD, compare-and-swap, lists and filters,
 * operations, events and retention, transactions, concurrency, persistence. */
#include <check.h>
#include <ctype.h>
#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "hd-codec.h"
#include "store-internal.h"
#include "store.h"

#define T0 1700000000000LL

static char *tmpdir;
static char *dbpath;
static HdStore *store;

/* ---- fixture --------------------------------------------------------------------- */

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        return remove(path);
}

static void open_store(int64_t retention)
{
        _cleanup_error_ HdError *err = NULL;
        int r = hd_store_open(dbpath, retention, &store, &err);
        ck_assert_msg(r == 0, "open: %s", err ? err->message : "?");
}

static void setup(void)
{
        char tmpl[] = "/tmp/hd-test-store-XXXXXX";
        ck_assert_ptr_nonnull(mkdtemp(tmpl));
        tmpdir = strdup(tmpl);
        ck_assert_int_ge(asprintf(&dbpath, "%s/hostd.db", tmpdir), 0);
        open_store(10);
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

static void reopen_store(int64_t retention)
{
        hd_store_close(store);
        store = NULL;
        open_store(retention);
}

/* ---- helpers ------------------------------------------------------------------- */

#define ck_assert_ok(expr, err)                                               \
        do {                                                                  \
                int _r = (expr);                                              \
                ck_assert_msg(_r >= 0, "%s failed: %d %s", #expr, _r,         \
                              (err) && (err)->message ? (err)->message : ""); \
        } while (0)

static void assert_error(HdError **err, int code, const char *substring)
{
        ck_assert_ptr_nonnull(*err);
        ck_assert_int_eq((*err)->code, code);
        ck_assert_msg(strstr((*err)->message, substring), "message `%s` lacks `%s`",
                      (*err)->message, substring);
        hd_error_free(*err);
        *err = NULL;
}

static HdInstance *make_instance(const char *name, HdKind kind, HdState state)
{
        HdInstance *i = calloc(1, sizeof(*i));
        ck_assert_ptr_nonnull(i);
        ck_assert_int_eq(hd_uuid_generate(i->uuid), 0);
        i->spec.name = strdup(name);
        i->spec.kind = kind;
        i->spec.image = strdup("busybox:1.36");
        i->spec.hostname = strdup(name);
        if (kind == HD_KIND_CONTAINER) {
                hd_strv_push(&i->spec.command, "sh");
                hd_strv_push(&i->spec.command, "-c");
                hd_strv_push(&i->spec.command, "echo 'hi' \"there\"");
                hd_kvlist_set(&i->spec.env, "PATH", "/bin:/usr/bin");
                hd_kvlist_set(&i->spec.env, "GREETING", "hello world");
                i->spec.workdir = strdup("/srv");
                i->spec.user = strdup("1000:1000");
                i->spec.resources =
                        (HdResources){ .vcpus = 1.5, .memory_mb = 256, .pids_max = 512 };
        } else {
                i->spec.resources = (HdResources){ .vcpus = 2, .memory_mb = 1024, .disk_gb = 10 };
        }
        hd_kvlist_set(&i->spec.labels, "tier", "web");
        hd_kvlist_set(&i->spec.labels, "app.kubernetes.io/name", "ünïcode 'quoted'");
        i->spec.restart_policy = HD_RESTART_ON_FAILURE;
        i->spec.restart_max_retries = 3;
        i->spec.autostart = true;
        i->state = state;
        i->revision = 1;
        i->created_at = T0;
        i->updated_at = T0 + 5;
        i->has_exit_code = true;
        i->exit_code = 137;
        i->reason = strdup("oom");
        i->error = strdup("it ran out of memory");
        i->provisioned = true;
        i->placement.host = strdup("local");
        i->placement.driver = strdup(hd_kind_to_string(kind));
        i->placement.reason = strdup("admitted: 1.5 of 8.0 vCPUs");
        return i;
}

static char *spec_text(const HdInstanceSpec *s)
{
        _cleanup_json_ json_t *j = hd_codec_instance_spec_to_json(s);
        ck_assert_ptr_nonnull(j);
        return json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
}

static void assert_str_eq_null(const char *a, const char *b)
{
        if (!a || !b)
                ck_assert_ptr_eq(a, b);
        else
                ck_assert_str_eq(a, b);
}

/* Every field but the revision (which the store owns). */
static void assert_instance_eq(const HdInstance *a, const HdInstance *b)
{
        _cleanup_free_ char *sa = spec_text(&a->spec), *sb = spec_text(&b->spec);
        ck_assert_str_eq(sa, sb);
        ck_assert_str_eq(a->uuid, b->uuid);
        ck_assert_str_eq(a->spec.name, b->spec.name);
        ck_assert_int_eq(a->spec.kind, b->spec.kind);
        ck_assert_int_eq(a->spec.labels.n, b->spec.labels.n);
        for (size_t k = 0; k < a->spec.labels.n; k++) {
                ck_assert_str_eq(a->spec.labels.items[k].key, b->spec.labels.items[k].key);
                ck_assert_str_eq(a->spec.labels.items[k].value, b->spec.labels.items[k].value);
        }
        ck_assert_int_eq(a->state, b->state);
        ck_assert_int_eq(a->created_at, b->created_at);
        ck_assert_int_eq(a->updated_at, b->updated_at);
        ck_assert_int_eq(a->has_exit_code, b->has_exit_code);
        if (a->has_exit_code)
                ck_assert_int_eq(a->exit_code, b->exit_code);
        assert_str_eq_null(a->reason, b->reason);
        assert_str_eq_null(a->error, b->error);
        ck_assert_int_eq(a->provisioned, b->provisioned);
        assert_str_eq_null(a->placement.host, b->placement.host);
        assert_str_eq_null(a->placement.driver, b->placement.driver);
        assert_str_eq_null(a->placement.reason, b->placement.reason);
}

static void insert_instance(const HdInstance *i)
{
        _cleanup_error_ HdError *err = NULL;
        HdStoreTx *tx = NULL;
        ck_assert_ok(hd_store_tx_begin(store, &tx, &err), err);
        ck_assert_ok(hd_store_tx_instance_insert(tx, i, &err), err);
        ck_assert_ok(hd_store_tx_commit(tx, &err), err);
}

static int64_t query_int(const char *sql)
{
        _cleanup_error_ HdError *err = NULL;
        int64_t v = -1;
        ck_assert_ok(hd_store_debug_query_int64(store, sql, &v, &err), err);
        return v;
}

/* ---- instances ----------------------------------------------------------------- */

START_TEST(test_crud_roundtrip)
{
        _cleanup_error_ HdError *err = NULL;
        _cleanup_(hd_instance_freep) HdInstance *ct =
                make_instance("web-1", HD_KIND_CONTAINER, HD_STATE_RUNNING);
        _cleanup_(hd_instance_freep) HdInstance *vm =
                make_instance("vm-1", HD_KIND_VM, HD_STATE_STOPPED);
        HdInstance *got = NULL;
        HdStoreTx *tx = NULL;

        ck_assert_ok(hd_store_tx_begin(store, &tx, &err), err);
        ck_assert_ok(hd_store_tx_instance_insert(tx, ct, &err), err);
        ck_assert_ok(hd_store_tx_instance_insert(tx, vm, &err), err);
        /* The transaction sees its own writes. */
        ck_assert_ok(hd_store_tx_instance_get(tx, "web-1", &got, &err), err);
        assert_instance_eq(got, ct);
        hd_instance_free(got);
        double vcpus = 0;
        int64_t mem = 0;
        ck_assert_ok(hd_store_tx_allocated(tx, &vcpus, &mem, &err), err);
        ck_assert_double_eq_tol(vcpus, 3.5, 1e-9);
        ck_assert_int_eq(mem, 1280);
        ck_assert_ok(hd_store_tx_commit(tx, &err), err);

        /* By name and by uuid, from a reader. */
        ck_assert_ok(hd_store_instance_get(store, "web-1", &got, &err), err);
        assert_instance_eq(got, ct);
        ck_assert_int_eq(got->revision, 1);
        ck_assert_int_eq(got->spec.command.n, 3);
        ck_assert_str_eq(got->spec.command.items[2], "echo 'hi' \"there\"");
        ck_assert_str_eq(hd_kvlist_get(&got->spec.env, "GREETING"), "hello world");
        ck_assert_str_eq(got->spec.workdir, "/srv");
        ck_assert_str_eq(got->spec.user, "1000:1000");
        ck_assert_int_eq(got->spec.resources.pids_max, 512);
        ck_assert_int_eq(got->spec.restart_policy, HD_RESTART_ON_FAILURE);
        ck_assert_int_eq(got->spec.restart_max_retries, 3);
        ck_assert(got->spec.autostart);
        hd_instance_free(got);

        ck_assert_ok(hd_store_instance_get(store, vm->uuid, &got, &err), err);
        assert_instance_eq(got, vm);
        ck_assert_int_eq(got->spec.resources.disk_gb, 10);
        hd_instance_free(got);
        char upper[HD_UUID_STRING_MAX];
        for (size_t k = 0; k < sizeof(upper); k++)
                upper[k] = (char)toupper((unsigned char)vm->uuid[k]);
        ck_assert_ok(hd_store_instance_get(store, upper, &got, &err), err);
        ck_assert_str_eq(got->uuid, vm->uuid);
        hd_instance_free(got);

        ck_assert_ok(hd_store_allocated(store, &vcpus, &mem, &err), err);
        ck_assert_double_eq_tol(vcpus, 3.5, 1e-9);
        ck_assert_int_eq(mem, 1280);

        int64_t counts[HD_KIND__COUNT][HD_STATE__COUNT];
        ck_assert_ok(hd_store_instance_counts(store, counts, &err), err);
        ck_assert_int_eq(counts[HD_KIND_CONTAINER][HD_STATE_RUNNING], 1);
        ck_assert_int_eq(counts[HD_KIND_VM][HD_STATE_STOPPED], 1);
        ck_assert_int_eq(counts[HD_KIND_VM][HD_STATE_RUNNING], 0);

        /* The label index follows the spec. */
        ck_assert_int_eq(query_int("SELECT count(*) FROM instance_labels"), 4);

        /* A minimal instance: NULLs stay NULL. */
        _cleanup_(hd_instance_freep) HdInstance *bare =
                make_instance("bare", HD_KIND_CONTAINER, HD_STATE_CREATED);
        bare->has_exit_code = false;
        bare->exit_code = 0;
        free(bare->reason);
        free(bare->error);
        bare->reason = bare->error = NULL;
        bare->provisioned = false;
        hd_placement_clear(&bare->placement);
        hd_kvlist_clear(&bare->spec.labels);
        insert_instance(bare);
        ck_assert_ok(hd_store_instance_get(store, "bare", &got, &err), err);
        assert_instance_eq(got, bare);
        ck_assert(!got->has_exit_code);
        ck_assert_ptr_null(got->reason);
        ck_assert_ptr_null(got->placement.host);
        hd_instance_free(got);
}
END_TEST

START_TEST(test_duplicate)
{
        _cleanup_error_ HdError *err = NULL;
        _cleanup_(hd_instance_freep) HdInstance *a =
                make_instance("web-1", HD_KIND_CONTAINER, HD_STATE_CREATED);
        _cleanup_(hd_instance_freep) HdInstance *b =
                make_instance("web-1", HD_KIND_VM, HD_STATE_CREATED);
        _cleanup_(hd_instance_freep) HdInstance *c =
                make_instance("web-2", HD_KIND_VM, HD_STATE_CREATED);
        _cleanup_(hd_instance_freep) HdInstance *d =
                make_instance("web-3", HD_KIND_VM, HD_STATE_CREATED);
        HdStoreTx *tx = NULL;

        insert_instance(a);
        memcpy(c->uuid, a->uuid, sizeof(c->uuid));

        ck_assert_ok(hd_store_tx_begin(store, &tx, &err), err);
        ck_assert_int_eq(hd_store_tx_instance_insert(tx, b, &err), -EEXIST);
        assert_error(&err, -EEXIST, "instance `web-1` already exists");
        ck_assert_int_eq(hd_store_tx_instance_insert(tx, c, &err), -EEXIST);
        assert_error(&err, -EEXIST, "instance `web-2` already exists");
        /* A failed statement does not spoil the transaction. */
        ck_assert_ok(hd_store_tx_instance_insert(tx, d, &err), err);
        ck_assert_ok(hd_store_tx_commit(tx, &err), err);

        ck_assert_int_eq(query_int("SELECT count(*) FROM instances"), 2);
        HdInstance *got = NULL;
        ck_assert_ok(hd_store_instance_get(store, "web-1", &got, &err), err);
        assert_instance_eq(got, a);
        hd_instance_free(got);
}
END_TEST

START_TEST(test_update_cas)
{
        _cleanup_error_ HdError *err = NULL;
        _cleanup_(hd_instance_freep) HdInstance *a =
                make_instance("web-1", HD_KIND_CONTAINER, HD_STATE_CREATED);
        _cleanup_(hd_instance_freep) HdInstance *other =
                make_instance("web-2", HD_KIND_CONTAINER, HD_STATE_CREATED);
        HdInstance *got = NULL;
        HdStoreTx *tx = NULL;

        insert_instance(a);
        insert_instance(other);

        a->state = HD_STATE_EXITED;
        a->exit_code = 2;
        free(a->reason);
        a->reason = strdup("signal");
        a->updated_at = T0 + 100;
        a->spec.resources.memory_mb = 512;
        hd_kvlist_remove(&a->spec.labels, "tier");
        hd_kvlist_set(&a->spec.labels, "env", "prod");
        hd_kvlist_set(&a->spec.labels, "team", "infra");
        a->revision = 99; /* not read */

        ck_assert_ok(hd_store_tx_begin(store, &tx, &err), err);
        ck_assert_ok(hd_store_tx_instance_update(tx, a, 1, &err), err);
        ck_assert_ok(hd_store_tx_commit(tx, &err), err);

        ck_assert_ok(hd_store_instance_get(store, "web-1", &got, &err), err);
        ck_assert_int_eq(got->revision, 2);
        assert_instance_eq(got, a);
        ck_assert_int_eq(got->created_at, T0); /* never rewritten */
        hd_instance_free(got);
        ck_assert_int_eq(query_int("SELECT count(*) FROM instance_labels WHERE instance_uuid = "
                                   "(SELECT uuid FROM instances WHERE name = 'web-1')"),
                         3);
        ck_assert_int_eq(query_int("SELECT count(*) FROM instance_labels WHERE key = 'tier'"), 1);

        /* Stale revision: refused, nothing changes. */
        _cleanup_(hd_instance_freep) HdInstance *stale =
                make_instance("web-1", HD_KIND_CONTAINER, HD_STATE_RUNNING);
        memcpy(stale->uuid, a->uuid, sizeof(a->uuid));
        ck_assert_ok(hd_store_tx_begin(store, &tx, &err), err);
        ck_assert_int_eq(hd_store_tx_instance_update(tx, stale, 1, &err), -ESTALE);
        assert_error(&err, -ESTALE, "`web-1`");
        ck_assert_ok(hd_store_tx_commit(tx, &err), err);
        ck_assert_ok(hd_store_instance_get(store, a->uuid, &got, &err), err);
        ck_assert_int_eq(got->revision, 2);
        assert_instance_eq(got, a);
        hd_instance_free(got);

        /* Renaming onto a taken name. */
        free(stale->spec.name);
        stale->spec.name = strdup("web-2");
        ck_assert_ok(hd_store_tx_begin(store, &tx, &err), err);
        ck_assert_int_eq(hd_store_tx_instance_update(tx, stale, 2, &err), -EEXIST);
        assert_error(&err, -EEXIST, "instance `web-2` already exists");
        hd_store_tx_rollback(tx);

        /* Gone. */
        _cleanup_(hd_instance_freep) HdInstance *ghost =
                make_instance("ghost", HD_KIND_CONTAINER, HD_STATE_RUNNING);
        ck_assert_ok(hd_store_tx_begin(store, &tx, &err), err);
        ck_assert_int_eq(hd_store_tx_instance_update(tx, ghost, 1, &err), -ENOENT);
        assert_error(&err, -ENOENT, "instance `ghost` not found");
        hd_store_tx_rollback(tx);
}
END_TEST

START_TEST(test_delete)
{
        _cleanup_error_ HdError *err = NULL;
        _cleanup_(hd_instance_freep) HdInstance *a =
                make_instance("web-1", HD_KIND_CONTAINER, HD_STATE_STOPPED);
        HdInstance *got = NULL;
        HdStoreTx *tx = NULL;

        insert_instance(a);
        ck_assert_ok(hd_store_tx_begin(store, &tx, &err), err);
        ck_assert_ok(hd_store_tx_instance_delete(tx, a->uuid, &err), err);
        ck_assert_int_eq(hd_store_tx_instance_get(tx, "web-1", &got, &err), -ENOENT);
        assert_error(&err, -ENOENT, "instance `web-1` not found");
        ck_assert_ok(hd_store_tx_commit(tx, &err), err);

        ck_assert_int_eq(hd_store_instance_get(store, a->uuid, &got, &err), -ENOENT);
        assert_error(&err, -ENOENT, a->uuid);
        ck_assert_int_eq(query_int("SELECT count(*) FROM instance_labels"), 0);

        ck_assert_ok(hd_store_tx_begin(store, &tx, &err), err);
        ck_assert_int_eq(hd_store_tx_instance_delete(tx, a->uuid, &err), -ENOENT);
        assert_error(&err, -ENOENT, a->uuid);
        hd_store_tx_rollback(tx);

        /* The name is free again. */
        insert_instance(a);
}
END_TEST

START_TEST(test_get_unknown)
{
        _cleanup_error_ HdError *err = NULL;
        _cleanup_(hd_instance_freep) HdInstance *a =
                make_instance("web-1", HD_KIND_CONTAINER, HD_STATE_CREATED);
        char other[HD_UUID_STRING_MAX];
        HdInstance *got = NULL;

        insert_instance(a);
        hd_uuid_generate(other);
        ck_assert_int_eq(hd_store_instance_get(store, other, &got, &err), -ENOENT);
        assert_error(&err, -ENOENT, other);
        ck_assert_int_eq(hd_store_instance_get(store, "nope", &got, &err), -ENOENT);
        assert_error(&err, -ENOENT, "instance `nope` not found");
        ck_assert_int_eq(hd_store_instance_get(store, "", &got, &err), -ENOENT);
        hd_error_free(TAKE_PTR(err));
        ck_assert_ptr_null(got);
}
END_TEST

START_TEST(test_corrupt_spec)
{
        _cleanup_error_ HdError *err = NULL;
        _cleanup_(hd_instance_freep) HdInstance *a =
                make_instance("broken-1", HD_KIND_CONTAINER, HD_STATE_CREATED);
        HdInstance *got = NULL;
        HdInstance **list = NULL;
        size_t n = 0;
        bool more = false;

        insert_instance(a);
        ck_assert_ok(hd_store_debug_exec(
                             store, "UPDATE instances SET spec = '{\"name\":\"broken-1\"}'", &err),
                     err);
        ck_assert_int_eq(hd_store_instance_get(store, "broken-1", &got, &err), -EIO);
        assert_error(&err, -EIO, "instance `broken-1`");

        HdInstanceFilter f = { .kind = HD_KIND_INVALID, .state = HD_STATE_INVALID, .limit = 10 };
        ck_assert_int_eq(hd_store_instance_list(store, &f, &list, &n, &more, &err), -EIO);
        assert_error(&err, -EIO, "instance `broken-1`");

        ck_assert_ok(hd_store_debug_exec(store, "UPDATE instances SET spec = 'not json'", &err),
                     err);
        ck_assert_int_eq(hd_store_instance_get(store, "broken-1", &got, &err), -EIO);
        assert_error(&err, -EIO, "instance `broken-1`");
}
END_TEST

/* ---- lists ----------------------------------------------------------------------- */

/* 250 instances, inserted out of order. i%5==0 are VMs; i%3==0 running, else
 * stopped; tier=web for even i, db for odd; zone=a/b/c by i%3; x=1, y=2, z=3 on all. */
#define N_LIST 250

static void fill_list(void)
{
        _cleanup_error_ HdError *err = NULL;
        HdStoreTx *tx = NULL;

        ck_assert_ok(hd_store_tx_begin(store, &tx, &err), err);
        for (int k = 0; k < N_LIST; k++) {
                int i = (k * 97) % N_LIST; /* 97 is coprime with 250: a permutation */
                char name[32];
                snprintf(name, sizeof(name), "inst-%03d", i);
                HdInstance *in = make_instance(name, i % 5 == 0 ? HD_KIND_VM : HD_KIND_CONTAINER,
                                               i % 3 == 0 ? HD_STATE_RUNNING : HD_STATE_STOPPED);
                hd_kvlist_clear(&in->spec.labels);
                hd_kvlist_set(&in->spec.labels, "tier", i % 2 == 0 ? "web" : "db");
                hd_kvlist_set(&in->spec.labels, "zone", (const char *[]){ "a", "b", "c" }[i % 3]);
                hd_kvlist_set(&in->spec.labels, "x", "1");
                hd_kvlist_set(&in->spec.labels, "y", "2");
                hd_kvlist_set(&in->spec.labels, "z", "3");
                int r = hd_store_tx_instance_insert(tx, in, &err);
                hd_instance_free(in);
                ck_assert_ok(r, err);
        }
        ck_assert_ok(hd_store_tx_commit(tx, &err), err);
}

/* Pages through a filter; returns the total and checks order and paging. */
static size_t count_pages(HdInstanceFilter f, size_t limit, bool (*want)(int i))
{
        _cleanup_error_ HdError *err = NULL;
        char last[64] = "";
        size_t total = 0;
        bool more = true;

        f.limit = limit;
        while (more) {
                HdInstance **list = NULL;
                size_t n = 0;
                f.after = total ? last : NULL;
                ck_assert_ok(hd_store_instance_list(store, &f, &list, &n, &more, &err), err);
                ck_assert_int_le(n, limit);
                if (more)
                        ck_assert_int_eq(n, limit);
                for (size_t k = 0; k < n; k++) {
                        const char *name = list[k]->spec.name;
                        ck_assert_msg(strcmp(name, last) > 0, "`%s` after `%s`", name, last);
                        int i = atoi(name + 5);
                        ck_assert_msg(want(i), "`%s` should not match", name);
                        snprintf(last, sizeof(last), "%s", name);
                        total++;
                }
                hd_instance_array_free(list, n);
        }
        return total;
}

static bool all(int i)
{
        return true;
}
static bool is_vm(int i)
{
        return i % 5 == 0;
}
static bool is_running(int i)
{
        return i % 3 == 0;
}
static bool is_web(int i)
{
        return i % 2 == 0;
}
static bool is_web_zone_a(int i)
{
        return i % 6 == 0;
}
static bool is_vm_running_web(int i)
{
        return i % 30 == 0;
}
static bool is_zone_b(int i)
{
        return i % 3 == 1;
}
static bool none(int i)
{
        return false;
}

static size_t expected(bool (*want)(int i))
{
        size_t n = 0;
        for (int i = 0; i < N_LIST; i++)
                n += want(i);
        return n;
}

START_TEST(test_list_pagination)
{
        _cleanup_error_ HdError *err = NULL;
        HdInstanceFilter f = { .kind = HD_KIND_INVALID, .state = HD_STATE_INVALID, .limit = 100 };
        bool seen[N_LIST] = { false };
        char after[64] = "";
        size_t sizes[3] = { 100, 100, 50 };
        bool mores[3] = { true, true, false };

        fill_list();
        for (int page = 0; page < 3; page++) {
                HdInstance **list = NULL;
                size_t n = 0;
                bool more = !mores[page];
                f.after = page ? after : NULL;
                ck_assert_ok(hd_store_instance_list(store, &f, &list, &n, &more, &err), err);
                ck_assert_int_eq(n, sizes[page]);
                ck_assert_int_eq(more, mores[page]);
                for (size_t k = 0; k < n; k++) {
                        int i = atoi(list[k]->spec.name + 5);
                        ck_assert(!seen[i]);
                        seen[i] = true;
                        ck_assert_int_eq(i, page * 100 + (int)k); /* ordered by name */
                }
                snprintf(after, sizeof(after), "%s", list[n - 1]->spec.name);
                hd_instance_array_free(list, n);
        }
        for (int i = 0; i < N_LIST; i++)
                ck_assert(seen[i]);

        /* Exactly one page's worth: no "more". */
        HdInstance **list = NULL;
        size_t n = 0;
        bool more = true;
        f.after = NULL;
        f.limit = N_LIST;
        ck_assert_ok(hd_store_instance_list(store, &f, &list, &n, &more, &err), err);
        ck_assert_int_eq(n, N_LIST);
        ck_assert(!more);
        hd_instance_array_free(list, n);

        /* Past the end. */
        f.after = "zzz";
        ck_assert_ok(hd_store_instance_list(store, &f, &list, &n, &more, &err), err);
        ck_assert_int_eq(n, 0);
        ck_assert(!more);
        hd_instance_array_free(list, n);

        f.limit = 0;
        ck_assert_int_eq(hd_store_instance_list(store, &f, &list, &n, &more, &err), -EINVAL);
        assert_error(&err, -EINVAL, "limit");

        ck_assert_int_eq(count_pages((HdInstanceFilter){ .kind = HD_KIND_INVALID,
                                                         .state = HD_STATE_INVALID },
                                     7, all),
                         N_LIST);
}
END_TEST

START_TEST(test_list_filters)
{
        HdKV web[] = { { "tier", "web" } };
        HdKV web_a[] = { { "tier", "web" }, { "zone", "a" } };
        HdKV five[] = { { "x", "1" }, { "zone", "b" }, { "y", "2" }, { "z", "3" }, { "x", "1" } };
        HdKV nomatch[] = { { "tier", "web" }, { "zone", "nowhere" } };
        HdKV missing[] = { { "nokey", "1" } };
        const HdKind ANYK = HD_KIND_INVALID;
        const HdState ANYS = HD_STATE_INVALID;

        fill_list();
        ck_assert_int_eq(
                count_pages((HdInstanceFilter){ .kind = HD_KIND_VM, .state = ANYS }, 100, is_vm),
                expected(is_vm));
        ck_assert_int_eq(count_pages((HdInstanceFilter){ .kind = ANYK, .state = HD_STATE_RUNNING },
                                     30, is_running),
                         expected(is_running));
        ck_assert_int_eq(count_pages((HdInstanceFilter){ .kind = ANYK,
                                                         .state = ANYS,
                                                         .labels = web,
                                                         .n_labels = 1 },
                                     100, is_web),
                         125);
        ck_assert_int_eq(count_pages((HdInstanceFilter){ .kind = ANYK,
                                                         .state = ANYS,
                                                         .labels = web_a,
                                                         .n_labels = 2 },
                                     10, is_web_zone_a),
                         expected(is_web_zone_a));
        ck_assert_int_eq(count_pages((HdInstanceFilter){ .kind = HD_KIND_VM,
                                                         .state = HD_STATE_RUNNING,
                                                         .labels = web,
                                                         .n_labels = 1 },
                                     3, is_vm_running_web),
                         expected(is_vm_running_web));
        /* More pairs than the statement cache holds. */
        ck_assert_int_eq(count_pages((HdInstanceFilter){ .kind = ANYK,
                                                         .state = ANYS,
                                                         .labels = five,
                                                         .n_labels = 5 },
                                     100, is_zone_b),
                         expected(is_zone_b));
        ck_assert_int_eq(count_pages((HdInstanceFilter){ .kind = ANYK,
                                                         .state = ANYS,
                                                         .labels = nomatch,
                                                         .n_labels = 2 },
                                     100, none),
                         0);
        ck_assert_int_eq(count_pages((HdInstanceFilter){ .kind = ANYK,
                                                         .state = ANYS,
                                                         .labels = missing,
                                                         .n_labels = 1 },
                                     100, none),
                         0);
        ck_assert_int_eq(count_pages((HdInstanceFilter){ .kind = ANYK, .state = HD_STATE_DELETING },
                                     100, none),
                         0);
}
END_TEST

/* ---- operations ------------------------------------------------------------------ */

static HdOperation *make_op(HdAction action, const char *instance_uuid, const char *name, int64_t t)
{
        HdOperation *o = calloc(1, sizeof(*o));
        ck_assert_ptr_nonnull(o);
        ck_assert_int_eq(hd_uuid_generate(o->id), 0);
        o->action = action;
        snprintf(o->instance_uuid, sizeof(o->instance_uuid), "%s", instance_uuid);
        o->instance_name = strdup(name);
        o->status = HD_OP_PENDING;
        o->args_json = strdup("{\"timeout\":10}");
        o->created_at = o->updated_at = t;
        return o;
}

static void assert_op_eq(const HdOperation *a, const HdOperation *b)
{
        ck_assert_str_eq(a->id, b->id);
        ck_assert_int_eq(a->action, b->action);
        ck_assert_str_eq(a->instance_uuid, b->instance_uuid);
        assert_str_eq_null(a->instance_name, b->instance_name);
        ck_assert_int_eq(a->status, b->status);
        assert_str_eq_null(a->args_json, b->args_json);
        assert_str_eq_null(a->error_code, b->error_code);
        assert_str_eq_null(a->error_message, b->error_message);
        ck_assert_int_eq(a->progress_done, b->progress_done);
        ck_assert_int_eq(a->progress_total, b->progress_total);
        ck_assert_int_eq(a->created_at, b->created_at);
        ck_assert_int_eq(a->updated_at, b->updated_at);
        ck_assert_int_eq(a->finished_at, b->finished_at);
}

START_TEST(test_operations)
{
        _cleanup_error_ HdError *err = NULL;
        char u1[HD_UUID_STRING_MAX], u2[HD_UUID_STRING_MAX];
        HdOperation *ops[5];
        HdOperation *got = NULL, **list = NULL;
        HdStoreTx *tx = NULL;
        size_t n = 0;
        bool more = false;

        hd_uuid_generate(u1);
        hd_uuid_generate(u2);
        ck_assert_ok(hd_store_tx_begin(store, &tx, &err), err);
        for (int k = 0; k < 5; k++) {
                ops[k] = make_op(k == 4 ? HD_ACTION_DELETE : HD_ACTION_START, k % 2 ? u2 : u1,
                                 k % 2 ? "b" : "a", T0 + k);
                ck_assert_ok(hd_store_tx_operation_insert(tx, ops[k], &err), err);
        }
        ck_assert_int_eq(hd_store_tx_operation_insert(tx, ops[0], &err), -EEXIST);
        assert_error(&err, -EEXIST, ops[0]->id);
        ck_assert_ok(hd_store_tx_commit(tx, &err), err);

        /* 1: running with progress; 2: failed and finished. */
        ops[1]->status = HD_OP_RUNNING;
        ops[1]->progress_done = 3;
        ops[1]->progress_total = 7;
        ops[1]->updated_at = T0 + 50;
        ops[2]->status = HD_OP_FAILURE;
        ops[2]->error_code = strdup("conflict");
        ops[2]->error_message = strdup("instance `a` is running");
        ops[2]->updated_at = ops[2]->finished_at = T0 + 60;
        ops[3]->status = HD_OP_SUCCESS;
        ops[3]->finished_at = ops[3]->updated_at = T0 + 70;
        ck_assert_ok(hd_store_tx_begin(store, &tx, &err), err);
        ck_assert_ok(hd_store_tx_operation_update(tx, ops[1], &err), err);
        ck_assert_ok(hd_store_tx_operation_update(tx, ops[2], &err), err);
        ck_assert_ok(hd_store_tx_operation_update(tx, ops[3], &err), err);
        _cleanup_(hd_operation_freep) HdOperation *ghost = make_op(HD_ACTION_STOP, u1, "a", T0);
        ck_assert_int_eq(hd_store_tx_operation_update(tx, ghost, &err), -ENOENT);
        assert_error(&err, -ENOENT, "operation `");
        ck_assert_ok(hd_store_tx_commit(tx, &err), err);

        for (int k = 0; k < 5; k++) {
                ck_assert_ok(hd_store_operation_get(store, ops[k]->id, &got, &err), err);
                assert_op_eq(got, ops[k]);
                hd_operation_free(got);
        }
        ck_assert_int_eq(hd_store_operation_get(store, ghost->id, &got, &err), -ENOENT);
        _cleanup_free_ char *want = NULL;
        ck_assert_int_ge(asprintf(&want, "operation `%s` not found", ghost->id), 0);
        assert_error(&err, -ENOENT, want);

        /* Newest first, paged by id. */
        HdOperationFilter f = { .status = HD_OP_INVALID, .limit = 2 };
        int expect_order[5] = { 4, 3, 2, 1, 0 };
        int seen = 0;
        do {
                ck_assert_ok(hd_store_operation_list(store, &f, &list, &n, &more, &err), err);
                for (size_t k = 0; k < n; k++)
                        assert_op_eq(list[k], ops[expect_order[seen++]]);
                f.after = n ? ops[expect_order[seen - 1]]->id : NULL;
                hd_operation_array_free(list, n);
        } while (more);
        ck_assert_int_eq(seen, 5);

        f = (HdOperationFilter){ .status = HD_OP_PENDING, .limit = 10 };
        ck_assert_ok(hd_store_operation_list(store, &f, &list, &n, &more, &err), err);
        ck_assert_int_eq(n, 2);
        ck_assert(!more);
        assert_op_eq(list[0], ops[4]);
        assert_op_eq(list[1], ops[0]);
        hd_operation_array_free(list, n);

        f = (HdOperationFilter){ .status = HD_OP_INVALID, .instance_uuid = u2, .limit = 1 };
        ck_assert_ok(hd_store_operation_list(store, &f, &list, &n, &more, &err), err);
        ck_assert_int_eq(n, 1);
        ck_assert(more);
        assert_op_eq(list[0], ops[3]);
        hd_operation_array_free(list, n);

        f.after = "00000000-0000-4000-8000-000000000000";
        ck_assert_int_eq(hd_store_operation_list(store, &f, &list, &n, &more, &err), -EINVAL);
        assert_error(&err, -EINVAL, "cursor");

        /* Unfinished: pending and running, oldest first. */
        ck_assert_ok(hd_store_operation_list_unfinished(store, &list, &n, &err), err);
        ck_assert_int_eq(n, 3);
        assert_op_eq(list[0], ops[0]);
        assert_op_eq(list[1], ops[1]);
        assert_op_eq(list[2], ops[4]);
        hd_operation_array_free(list, n);

        for (int k = 0; k < 5; k++)
                hd_operation_free(ops[k]);
}
END_TEST

/* ---- events ---------------------------------------------------------------------- */

static void append_events(int count, const char *instance_uuid)
{
        _cleanup_error_ HdError *err = NULL;
        HdStoreTx *tx = NULL;
        for (int k = 0; k < count; k++) {
                HdEvent e = { .time = T0 + k, .type = (char *)"instance.state" };
                snprintf(e.instance_uuid, sizeof(e.instance_uuid), "%s", instance_uuid);
                e.instance_name = (char *)"web-1";
                e.data_json = (char *)"{\"from\":\"created\",\"to\":\"starting\"}";
                int64_t before = 0;
                ck_assert_ok(hd_store_event_last_seq(store, &before, &err), err);
                ck_assert_ok(hd_store_tx_begin(store, &tx, &err), err);
                ck_assert_ok(hd_store_tx_event_append(tx, &e, &err), err);
                ck_assert_ok(hd_store_tx_commit(tx, &err), err);
                ck_assert_int_eq(e.seq, before + 1);
        }
}

START_TEST(test_events)
{
        _cleanup_error_ HdError *err = NULL;
        char u[HD_UUID_STRING_MAX];
        HdEvent **list = NULL;
        size_t n = 0;
        int64_t last = -1;
        HdStoreTx *tx = NULL;

        ck_assert_ok(hd_store_event_last_seq(store, &last, &err), err);
        ck_assert_int_eq(last, 0);
        hd_uuid_generate(u);

        append_events(25, u); /* retention is 10 */
        ck_assert_ok(hd_store_event_last_seq(store, &last, &err), err);
        ck_assert_int_eq(last, 25);
        ck_assert_int_eq(query_int("SELECT count(*) FROM events"), 10);

        ck_assert_ok(hd_store_events_since(store, 0, 100, &list, &n, &err), err);
        ck_assert_int_eq(n, 10);
        for (size_t k = 0; k < n; k++) {
                ck_assert_int_eq(list[k]->seq, 16 + (int64_t)k);
                ck_assert_int_eq(list[k]->time, T0 + 15 + (int64_t)k);
                ck_assert_str_eq(list[k]->type, "instance.state");
                ck_assert_str_eq(list[k]->instance_uuid, u);
                ck_assert_str_eq(list[k]->instance_name, "web-1");
                ck_assert_str_eq(list[k]->operation_id, "");
                ck_assert_str_eq(list[k]->data_json, "{\"from\":\"created\",\"to\":\"starting\"}");
        }
        hd_event_array_free(list, n);

        ck_assert_ok(hd_store_events_since(store, 20, 3, &list, &n, &err), err);
        ck_assert_int_eq(n, 3);
        ck_assert_int_eq(list[0]->seq, 21);
        ck_assert_int_eq(list[2]->seq, 23);
        hd_event_array_free(list, n);

        ck_assert_ok(hd_store_events_since(store, 25, 100, &list, &n, &err), err);
        ck_assert_int_eq(n, 0);
        hd_event_array_free(list, n);

        /* Seqs survive a restart and the deletion of every row. */
        reopen_store(10);
        ck_assert_ok(hd_store_event_last_seq(store, &last, &err), err);
        ck_assert_int_eq(last, 25);
        append_events(1, "");
        ck_assert_ok(hd_store_event_last_seq(store, &last, &err), err);
        ck_assert_int_eq(last, 26);
        ck_assert_ok(hd_store_debug_exec(store, "DELETE FROM events", &err), err);
        ck_assert_ok(hd_store_event_last_seq(store, &last, &err), err);
        ck_assert_int_eq(last, 26);

        /* An event with no instance, an operation, and default data. */
        HdEvent e = { .time = T0, .type = (char *)"operation.created" };
        hd_uuid_generate(e.operation_id);
        ck_assert_ok(hd_store_tx_begin(store, &tx, &err), err);
        ck_assert_ok(hd_store_tx_event_append(tx, &e, &err), err);
        ck_assert_ok(hd_store_tx_commit(tx, &err), err);
        ck_assert_int_eq(e.seq, 27);
        ck_assert_ok(hd_store_events_since(store, 26, 0, &list, &n, &err), err);
        ck_assert_int_eq(n, 1);
        ck_assert_str_eq(list[0]->instance_uuid, "");
        ck_assert_ptr_null(list[0]->instance_name);
        ck_assert_str_eq(list[0]->operation_id, e.operation_id);
        ck_assert_str_eq(list[0]->data_json, "{}");
        hd_event_array_free(list, n);

        /* Several appends in one transaction trim too. */
        ck_assert_ok(hd_store_tx_begin(store, &tx, &err), err);
        for (int k = 0; k < 15; k++) {
                HdEvent x = { .time = T0, .type = (char *)"instance.updated" };
                ck_assert_ok(hd_store_tx_event_append(tx, &x, &err), err);
                ck_assert_int_eq(x.seq, 28 + k);
        }
        ck_assert_ok(hd_store_tx_commit(tx, &err), err);
        ck_assert_int_eq(query_int("SELECT count(*) FROM events"), 10);
        ck_assert_int_eq(query_int("SELECT min(seq) FROM events"), 33);
}
END_TEST

/* ---- transactions ---------------------------------------------------------------- */

START_TEST(test_rollback)
{
        _cleanup_error_ HdError *err = NULL;
        _cleanup_(hd_instance_freep) HdInstance *a =
                make_instance("web-1", HD_KIND_CONTAINER, HD_STATE_CREATED);
        _cleanup_(hd_operation_freep) HdOperation *o =
                make_op(HD_ACTION_START, a->uuid, "web-1", T0);
        HdInstance *got = NULL;
        HdOperation *gop = NULL;
        int64_t last = -1;

        {
                _cleanup_tx_ HdStoreTx *tx = NULL;
                ck_assert_ok(hd_store_tx_begin(store, &tx, &err), err);
                ck_assert_ok(hd_store_tx_instance_insert(tx, a, &err), err);
                ck_assert_ok(hd_store_tx_operation_insert(tx, o, &err), err);
                HdEvent e = { .time = T0, .type = (char *)"instance.created" };
                ck_assert_ok(hd_store_tx_event_append(tx, &e, &err), err);
                ck_assert_int_eq(e.seq, 1);

                /* Visible inside, invisible to readers until commit. */
                ck_assert_ok(hd_store_tx_instance_get(tx, a->uuid, &got, &err), err);
                hd_instance_free(got);
                ck_assert_int_eq(hd_store_instance_get(store, "web-1", &got, &err), -ENOENT);
                hd_error_free(TAKE_PTR(err));
                /* Leaving the scope rolls back. */
        }

        ck_assert_int_eq(hd_store_instance_get(store, "web-1", &got, &err), -ENOENT);
        hd_error_free(TAKE_PTR(err));
        ck_assert_int_eq(hd_store_operation_get(store, o->id, &gop, &err), -ENOENT);
        hd_error_free(TAKE_PTR(err));
        ck_assert_ok(hd_store_event_last_seq(store, &last, &err), err);
        ck_assert_int_eq(last, 0);
        ck_assert_int_eq(query_int("SELECT count(*) FROM instance_labels"), 0);

        /* Explicit rollback, then the writer is usable again. */
        HdStoreTx *tx = NULL;
        ck_assert_ok(hd_store_tx_begin(store, &tx, &err), err);
        ck_assert_ok(hd_store_tx_instance_insert(tx, a, &err), err);
        hd_store_tx_rollback(tx);
        hd_store_tx_rollback(NULL);
        insert_instance(a);
        ck_assert_ok(hd_store_instance_get(store, "web-1", &got, &err), err);
        hd_instance_free(got);
}
END_TEST

/* The view cache follows commits, never rollbacks, and forgets deletes. */
START_TEST(test_view_cache)
{
        _cleanup_error_ HdError *err = NULL;
        HdInstance *i = make_instance("cached", HD_KIND_CONTAINER, HD_STATE_CREATED);
        insert_instance(i);
        HdInstanceView *v = NULL;
        for (int pass = 0; pass < 2; pass++) { /* a miss that fills, then a hit */
                ck_assert_ok(hd_store_instance_get_view(store, "cached", &v, &err), err);
                ck_assert_int_eq(v->revision, 1);
                ck_assert_ptr_nonnull(strstr(v->json, "\"state\":\"created\""));
                hd_instance_view_free(v);
        }

        HdStoreTx *tx = NULL;
        i->state = HD_STATE_RUNNING;
        ck_assert_ok(hd_store_tx_begin(store, &tx, &err), err);
        ck_assert_ok(hd_store_tx_instance_update(tx, i, 1, &err), err);
        hd_store_tx_rollback(tx);
        ck_assert_ok(hd_store_instance_get_view(store, "cached", &v, &err), err);
        ck_assert_int_eq(v->revision, 1);
        ck_assert_ptr_nonnull(strstr(v->json, "\"state\":\"created\""));
        hd_instance_view_free(v);

        ck_assert_ok(hd_store_tx_begin(store, &tx, &err), err);
        ck_assert_ok(hd_store_tx_instance_update(tx, i, 1, &err), err);
        ck_assert_ok(hd_store_tx_commit(tx, &err), err);
        ck_assert_ok(hd_store_instance_get_view(store, "cached", &v, &err), err);
        ck_assert_int_eq(v->revision, 2);
        ck_assert_ptr_nonnull(strstr(v->json, "\"state\":\"running\""));
        hd_instance_view_free(v);
        /* by uuid, from SQLite, the same */
        ck_assert_ok(hd_store_instance_get_view(store, i->uuid, &v, &err), err);
        ck_assert_int_eq(v->revision, 2);
        hd_instance_view_free(v);

        ck_assert_ok(hd_store_tx_begin(store, &tx, &err), err);
        ck_assert_ok(hd_store_tx_instance_delete(tx, i->uuid, &err), err);
        ck_assert_ok(hd_store_tx_commit(tx, &err), err);
        ck_assert_int_eq(hd_store_instance_get_view(store, "cached", &v, &err), -ENOENT);
        hd_error_free(TAKE_PTR(err));
        hd_instance_free(i);
}
END_TEST

START_TEST(test_nested_tx_refused)
{
        _cleanup_error_ HdError *err = NULL;
        HdStoreTx *tx = NULL, *tx2 = NULL;

        ck_assert_ok(hd_store_tx_begin(store, &tx, &err), err);
        ck_assert_int_eq(hd_store_tx_begin(store, &tx2, &err), -EDEADLK);
        hd_error_free(TAKE_PTR(err));
        ck_assert_ok(hd_store_tx_commit(tx, &err), err);
}
END_TEST

/* ---- concurrency ----------------------------------------------------------------- */

#define N_WRITES  60
#define N_READERS 6

typedef struct Shared {
        pthread_mutex_t lock;
        bool done;
        int failures;
        char uuid[HD_UUID_STRING_MAX];
} Shared;

static bool shared_done(Shared *sh)
{
        pthread_mutex_lock(&sh->lock);
        bool d = sh->done;
        pthread_mutex_unlock(&sh->lock);
        return d;
}

static void shared_fail(Shared *sh)
{
        pthread_mutex_lock(&sh->lock);
        sh->failures++;
        pthread_mutex_unlock(&sh->lock);
}

static void *writer_main(void *arg)
{
        Shared *sh = arg;
        HdInstance *i = make_instance("hot", HD_KIND_CONTAINER, HD_STATE_RUNNING);
        memcpy(i->uuid, sh->uuid, sizeof(i->uuid));

        for (int64_t rev = 1; rev <= N_WRITES; rev++) {
                HdError *err = NULL;
                HdStoreTx *tx = NULL;
                char v[32];
                snprintf(v, sizeof(v), "%lld", (long long)rev);
                hd_kvlist_set(&i->spec.labels, "rev", v);
                i->updated_at = T0 + rev;
                HdEvent e = { .time = T0 + rev, .type = (char *)"instance.updated" };
                if (hd_store_tx_begin(store, &tx, &err) < 0 ||
                    hd_store_tx_instance_update(tx, i, rev, &err) < 0 ||
                    hd_store_tx_event_append(tx, &e, &err) < 0 ||
                    hd_store_tx_commit(TAKE_PTR(tx), &err) < 0) {
                        hd_store_tx_rollback(tx);
                        shared_fail(sh);
                }
                hd_error_free(err);
        }
        hd_instance_free(i);
        pthread_mutex_lock(&sh->lock);
        sh->done = true;
        pthread_mutex_unlock(&sh->lock);
        return NULL;
}

static void *reader_main(void *arg)
{
        Shared *sh = arg;
        int64_t last_rev = 0;
        HdKV hot[] = { { "tier", "web" } };

        /* At least a few rounds even when the writer finishes first. */
        for (int round = 0; round < 5 || !shared_done(sh); round++) {
                HdError *err = NULL;
                HdInstance *i = NULL, **list = NULL;
                HdEvent **ev = NULL;
                size_t n = 0;
                bool more;

                if (hd_store_instance_get(store, sh->uuid, &i, &err) < 0) {
                        shared_fail(sh);
                } else {
                        /* Revisions only move forward, and the labels match them:
                         * the update from revision R writes rev=R and makes R+1. */
                        char v[32];
                        snprintf(v, sizeof(v), "%lld", (long long)i->revision - 1);
                        if (i->revision < last_rev ||
                            (i->revision > 1 &&
                             strcmp(hd_kvlist_get(&i->spec.labels, "rev") ?: "", v) != 0))
                                shared_fail(sh);
                        last_rev = i->revision;
                        hd_instance_free(i);
                }
                HdInstanceFilter f = { .kind = HD_KIND_INVALID,
                                       .state = HD_STATE_INVALID,
                                       .labels = hot,
                                       .n_labels = 1,
                                       .limit = 5 };
                if (hd_store_instance_list(store, &f, &list, &n, &more, &err) < 0 || n != 5)
                        shared_fail(sh);
                hd_instance_array_free(list, n);
                if (hd_store_events_since(store, 0, 0, &ev, &n, &err) < 0)
                        shared_fail(sh);
                hd_event_array_free(ev, n);
                hd_error_free(err);
        }
        return NULL;
}

START_TEST(test_concurrency)
{
        _cleanup_error_ HdError *err = NULL;
        Shared sh = { .lock = PTHREAD_MUTEX_INITIALIZER };
        pthread_t w, r[N_READERS];

        reopen_store(0);
        for (int k = 0; k < 10; k++) {
                char name[32];
                snprintf(name, sizeof(name), "filler-%d", k);
                _cleanup_(hd_instance_freep) HdInstance *x =
                        make_instance(name, HD_KIND_CONTAINER, HD_STATE_RUNNING);
                insert_instance(x);
        }
        _cleanup_(hd_instance_freep) HdInstance *hot =
                make_instance("hot", HD_KIND_CONTAINER, HD_STATE_RUNNING);
        insert_instance(hot);
        memcpy(sh.uuid, hot->uuid, sizeof(sh.uuid));

        for (int k = 0; k < N_READERS; k++)
                ck_assert_int_eq(pthread_create(&r[k], NULL, reader_main, &sh), 0);
        ck_assert_int_eq(pthread_create(&w, NULL, writer_main, &sh), 0);
        pthread_join(w, NULL);
        for (int k = 0; k < N_READERS; k++)
                pthread_join(r[k], NULL);
        ck_assert_int_eq(sh.failures, 0);

        HdInstance *got = NULL;
        ck_assert_ok(hd_store_instance_get(store, "hot", &got, &err), err);
        ck_assert_int_eq(got->revision, N_WRITES + 1);
        hd_instance_free(got);
        int64_t last = 0;
        ck_assert_ok(hd_store_event_last_seq(store, &last, &err), err);
        ck_assert_int_eq(last, N_WRITES);
}
END_TEST

typedef struct InsertArg {
        int base;
        int failures;
} InsertArg;

static void *inserter_main(void *arg)
{
        InsertArg *a = arg;
        for (int k = 0; k < 20; k++) {
                HdError *err = NULL;
                HdStoreTx *tx = NULL;
                char name[32];
                snprintf(name, sizeof(name), "w%d-%d", a->base, k);
                HdInstance *i = make_instance(name, HD_KIND_VM, HD_STATE_CREATED);
                if (hd_store_tx_begin(store, &tx, &err) < 0 ||
                    hd_store_tx_instance_insert(tx, i, &err) < 0 ||
                    hd_store_tx_commit(TAKE_PTR(tx), &err) < 0) {
                        hd_store_tx_rollback(tx);
                        a->failures++;
                }
                hd_error_free(err);
                hd_instance_free(i);
        }
        return NULL;
}

START_TEST(test_concurrent_writers)
{
        pthread_t t[4];
        InsertArg a[4];

        for (int k = 0; k < 4; k++) {
                a[k] = (InsertArg){ .base = k };
                ck_assert_int_eq(pthread_create(&t[k], NULL, inserter_main, &a[k]), 0);
        }
        for (int k = 0; k < 4; k++) {
                pthread_join(t[k], NULL);
                ck_assert_int_eq(a[k].failures, 0);
        }
        ck_assert_int_eq(query_int("SELECT count(*) FROM instances"), 80);
        ck_assert_int_eq(query_int("SELECT count(*) FROM instance_labels"), 160);
}
END_TEST

/* ---- persistence ----------------------------------------------------------------- */

START_TEST(test_integrity_and_reopen)
{
        _cleanup_error_ HdError *err = NULL;
        _cleanup_(hd_instance_freep) HdInstance *a =
                make_instance("web-1", HD_KIND_CONTAINER, HD_STATE_RUNNING);
        _cleanup_(hd_operation_freep) HdOperation *o =
                make_op(HD_ACTION_START, a->uuid, "web-1", T0);
        HdInstance *got = NULL;
        HdOperation *gop = NULL;
        HdStoreTx *tx = NULL;
        int version = 0;

        ck_assert_ok(hd_store_tx_begin(store, &tx, &err), err);
        ck_assert_ok(hd_store_tx_instance_insert(tx, a, &err), err);
        ck_assert_ok(hd_store_tx_operation_insert(tx, o, &err), err);
        ck_assert_ok(hd_store_tx_commit(tx, &err), err);
        ck_assert_ok(hd_store_integrity_check(store, &err), err);

        reopen_store(10);
        ck_assert_ok(hd_store_schema_version(store, &version, &err), err);
        ck_assert_int_eq(version, hd_store_schema_latest());
        ck_assert_int_eq(query_int("PRAGMA foreign_keys"), 1);
        ck_assert_int_eq(query_int("PRAGMA synchronous"), 2); /* FULL */
        ck_assert_ok(hd_store_instance_get(store, "web-1", &got, &err), err);
        assert_instance_eq(got, a);
        hd_instance_free(got);
        ck_assert_ok(hd_store_operation_get(store, o->id, &gop, &err), err);
        assert_op_eq(gop, o);
        hd_operation_free(gop);
        ck_assert_ok(hd_store_integrity_check(store, &err), err);

        hd_store_close(NULL);
}
END_TEST

START_TEST(test_open_errors)
{
        _cleanup_error_ HdError *err = NULL;
        HdStore *s = NULL;
        char *bad = NULL;

        ck_assert_int_ge(asprintf(&bad, "%s/no/such/dir/hostd.db", tmpdir), 0);
        ck_assert_int_eq(hd_store_open(bad, 10, &s, &err), -EIO);
        ck_assert_ptr_null(s);
        assert_error(&err, -EIO, "no/such/dir");
        free(bad);

        ck_assert_int_eq(hd_store_open(dbpath, -1, &s, &err), -EINVAL);
        hd_error_free(TAKE_PTR(err));
}
END_TEST

static Suite *store_suite(void)
{
        Suite *s = suite_create("store");
        TCase *tc = tcase_create("store");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, test_crud_roundtrip);
        tcase_add_test(tc, test_duplicate);
        tcase_add_test(tc, test_update_cas);
        tcase_add_test(tc, test_delete);
        tcase_add_test(tc, test_get_unknown);
        tcase_add_test(tc, test_corrupt_spec);
        tcase_add_test(tc, test_list_pagination);
        tcase_add_test(tc, test_list_filters);
        tcase_add_test(tc, test_operations);
        tcase_add_test(tc, test_events);
        tcase_add_test(tc, test_rollback);
        tcase_add_test(tc, test_view_cache);
        tcase_add_test(tc, test_nested_tx_refused);
        tcase_add_test(tc, test_concurrency);
        tcase_add_test(tc, test_concurrent_writers);
        tcase_add_test(tc, test_integrity_and_reopen);
        tcase_add_test(tc, test_open_errors);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        SRunner *sr = srunner_create(store_suite());
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
