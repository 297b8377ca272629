/* Unit tests of the store's images and layers (schema v4): insert and get by every
 * ref form, shared layers stored once, conflicts, list filters, tag deletion,
 * unreferenced layers for prune, users among instances, rollback, validation and
 * the migration from v3. */
#include <check.h>
#include <errno.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>

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

static void setup(void)
{
        _cleanup_error_ HdError *err = NULL;
        char tmpl[] = "/tmp/hd-test-store-images-XXXXXX";
        ck_assert_ptr_nonnull(mkdtemp(tmpl));
        tmpdir = strdup(tmpl);
        ck_assert_int_ge(asprintf(&dbpath, "%s/hostd.db", tmpdir), 0);
        int r = hd_store_open(dbpath, 100, &store, &err);
        ck_assert_msg(r == 0, "open: %s", err ? err->message : "?");
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

/* ---- helpers ------------------------------------------------------------------- */

#define ck_assert_ok(expr, err)                                               \
        do {                                                                  \
                int _r = (expr);                                              \
                ck_assert_msg(_r >= 0, "%s failed: %d %s", #expr, _r,         \
                              (err) && (err)->message ? (err)->message : ""); \
        } while (0)

static void assert_error(HdError **err, int code, const char *field, const char *substring)
{
        ck_assert_ptr_nonnull(*err);
        ck_assert_int_eq((*err)->code, code);
        ck_assert_msg(strstr((*err)->message, substring), "message `%s` lacks `%s`",
                      (*err)->message, substring);
        if (field) {
                ck_assert_ptr_nonnull((*err)->field);
                ck_assert_str_eq((*err)->field, field);
        }
        hd_error_free(*err);
        *err = NULL;
}

/* "sha256:" and 64 copies of c. */
static char *digest_of(char c)
{
        char *d = malloc(7 + 64 + 1);
        ck_assert_ptr_nonnull(d);
        memcpy(d, "sha256:", 7);
        memset(d + 7, c, 64);
        d[71] = '\0';
        return d;
}

/* An image whose layers are digest_of() each char of layer_chars, bottom first. */
static HdImage *make_image(const char *name, const char *tag, char digest_char, HdKind kind,
                           const char *layer_chars)
{
        HdImage *i = calloc(1, sizeof(*i));
        ck_assert_ptr_nonnull(i);
        i->name = strdup(name);
        i->tag = strdup(tag);
        i->digest = digest_of(digest_char);
        i->kind = kind;
        i->format = strdup(kind == HD_KIND_VM ? "qcow2" : "oci-archive");
        i->config_json = strdup("{\"Cmd\":[\"sh\"],\"Env\":[\"PATH=/bin\"]}");
        i->created_at = T0;
        i->n_layers = strlen(layer_chars);
        i->layers = calloc(i->n_layers ? i->n_layers : 1, sizeof(*i->layers));
        ck_assert_ptr_nonnull(i->layers);
        for (size_t k = 0; k < i->n_layers; k++) {
                HdImageLayer *l = &i->layers[k];
                l->digest = digest_of(layer_chars[k]);
                l->diff_id = digest_of(layer_chars[k] == 'f' ? 'e' : 'f');
                l->media_type = strdup("application/vnd.oci.image.layer.v1.tar+gzip");
                /* Sizes follow the digest, as a blob's would. */
                l->size = 1000 * (int64_t)(layer_chars[k] - 'a' + 1);
                l->unpacked_size = 3 * l->size;
                i->size += l->size;
        }
        return i;
}

static int64_t insert_image(HdImage *i)
{
        _cleanup_error_ HdError *err = NULL;
        HdStoreTx *tx = NULL;
        ck_assert_ok(hd_store_tx_begin(store, &tx, &err), err);
        ck_assert_ok(hd_store_tx_image_insert(tx, i, &err), err);
        ck_assert_ok(hd_store_tx_commit(tx, &err), err);
        ck_assert_int_gt(i->id, 0);
        return i->id;
}

static void delete_image(int64_t id)
{
        _cleanup_error_ HdError *err = NULL;
        HdStoreTx *tx = NULL;
        ck_assert_ok(hd_store_tx_begin(store, &tx, &err), err);
        ck_assert_ok(hd_store_tx_image_delete(tx, id, &err), err);
        ck_assert_ok(hd_store_tx_commit(tx, &err), err);
}

static int64_t query_int(const char *sql)
{
        _cleanup_error_ HdError *err = NULL;
        int64_t v = -1;
        ck_assert_ok(hd_store_debug_query_int64(store, sql, &v, &err), err);
        return v;
}

static void assert_str_eq_null(const char *a, const char *b)
{
        if (!a || !b)
                ck_assert_ptr_eq(a, b);
        else
                ck_assert_str_eq(a, b);
}

static void assert_image_eq(const HdImage *a, const HdImage *b)
{
        ck_assert_int_eq(a->id, b->id);
        ck_assert_str_eq(a->name, b->name);
        ck_assert_str_eq(a->tag, b->tag);
        ck_assert_str_eq(a->digest, b->digest);
        ck_assert_int_eq(a->kind, b->kind);
        ck_assert_str_eq(a->format, b->format);
        ck_assert_int_eq(a->size, b->size);
        ck_assert_str_eq(a->config_json ? a->config_json : "{}",
                         b->config_json ? b->config_json : "{}");
        ck_assert_int_eq(a->created_at, b->created_at);
        ck_assert_uint_eq(a->n_layers, b->n_layers);
        for (size_t k = 0; k < a->n_layers; k++) {
                ck_assert_str_eq(a->layers[k].digest, b->layers[k].digest);
                ck_assert_str_eq(a->layers[k].diff_id ? a->layers[k].diff_id : a->layers[k].digest,
                                 b->layers[k].diff_id ? b->layers[k].diff_id : b->layers[k].digest);
                assert_str_eq_null(a->layers[k].media_type, b->layers[k].media_type);
                ck_assert_int_eq(a->layers[k].size, b->layers[k].size);
                ck_assert_int_eq(a->layers[k].unpacked_size, b->layers[k].unpacked_size);
        }
}

static HdImage *get_image(const char *ref)
{
        _cleanup_error_ HdError *err = NULL;
        HdImage *got = NULL;
        ck_assert_ok(hd_store_image_get(store, ref, &got, &err), err);
        ck_assert_ptr_nonnull(got);
        return got;
}

static HdInstance *make_instance(const char *name, const char *image)
{
        HdInstance *i = calloc(1, sizeof(*i));
        ck_assert_ptr_nonnull(i);
        ck_assert_int_eq(hd_uuid_generate(i->uuid), 0);
        i->spec.name = strdup(name);
        i->spec.kind = HD_KIND_CONTAINER;
        i->spec.image = strdup(image);
        i->spec.hostname = strdup(name);
        hd_strv_push(&i->spec.command, "sleep");
        hd_strv_push(&i->spec.command, "1000");
        i->spec.resources = (HdResources){ .vcpus = 1, .memory_mb = 128, .pids_max = 64 };
        i->state = HD_STATE_STOPPED;
        i->created_at = T0;
        i->updated_at = T0;
        i->placement.host = strdup("local");
        return i;
}

static void insert_instance(const char *name, const char *image)
{
        _cleanup_error_ HdError *err = NULL;
        _cleanup_(hd_instance_freep) HdInstance *i = make_instance(name, image);
        HdStoreTx *tx = NULL;
        ck_assert_ok(hd_store_tx_begin(store, &tx, &err), err);
        ck_assert_ok(hd_store_tx_instance_insert(tx, i, &err), err);
        ck_assert_ok(hd_store_tx_commit(tx, &err), err);
}

static int64_t users_of(const char *ref)
{
        _cleanup_error_ HdError *err = NULL;
        _cleanup_(hd_image_freep) HdImage *i = get_image(ref);
        HdStoreTx *tx = NULL;
        int64_t n = -1;
        ck_assert_ok(hd_store_tx_begin(store, &tx, &err), err);
        ck_assert_ok(hd_store_tx_image_users(tx, i, &n, &err), err);
        hd_store_tx_rollback(tx);
        return n;
}

static void unreferenced(HdImageLayer **ret, size_t *n)
{
        _cleanup_error_ HdError *err = NULL;
        HdStoreTx *tx = NULL;
        ck_assert_ok(hd_store_tx_begin(store, &tx, &err), err);
        ck_assert_ok(hd_store_tx_layers_unreferenced(tx, ret, n, &err), err);
        hd_store_tx_rollback(tx);
}

/* ---- tests ---------------------------------------------------------------------- */

START_TEST(test_insert_get)
{
        _cleanup_error_ HdError *err = NULL;
        _cleanup_(hd_image_freep) HdImage *v136 =
                make_image("library/busybox", "1.36", '1', HD_KIND_CONTAINER, "abc");
        _cleanup_(hd_image_freep) HdImage *latest =
                make_image("library/busybox", "latest", '2', HD_KIND_CONTAINER, "abd");
        HdImage *got = NULL;

        /* A NULL diff_id means the digest; a NULL media type stays NULL. */
        free(TAKE_PTR(v136->layers[2].diff_id));
        free(TAKE_PTR(v136->layers[2].media_type));
        latest->created_at = 0;
        insert_image(v136);
        insert_image(latest);
        ck_assert_int_ne(v136->id, latest->id);
        ck_assert_int_gt(latest->created_at, T0); /* set at insert */

        got = get_image("library/busybox:1.36");
        assert_image_eq(got, v136);
        ck_assert_str_eq(got->layers[2].diff_id, got->layers[2].digest);
        ck_assert_ptr_null(got->layers[2].media_type);
        ck_assert_str_eq(got->config_json, v136->config_json);
        hd_image_free(got);

        got = get_image("library/busybox");
        assert_image_eq(got, latest);
        hd_image_free(got);
        got = get_image("library/busybox:latest");
        assert_image_eq(got, latest);
        hd_image_free(got);

        _cleanup_free_ char *d1 = digest_of('1');
        got = get_image(d1);
        assert_image_eq(got, v136);
        hd_image_free(got);

        /* The transaction sees its own writes. */
        _cleanup_(hd_image_freep) HdImage *vm = make_image("debian", "12", '3', HD_KIND_VM, "");
        free(TAKE_PTR(vm->config_json));
        HdStoreTx *tx = NULL;
        ck_assert_ok(hd_store_tx_begin(store, &tx, &err), err);
        ck_assert_ok(hd_store_tx_image_insert(tx, vm, &err), err);
        ck_assert_ok(hd_store_tx_image_get(tx, "debian:12", &got, &err), err);
        assert_image_eq(got, vm);
        ck_assert_str_eq(got->config_json, "{}");
        ck_assert_uint_eq(got->n_layers, 0);
        ck_assert_ptr_null(got->layers);
        hd_image_free(TAKE_PTR(got));
        ck_assert_ok(hd_store_tx_commit(tx, &err), err);

        /* Misses name the ref. */
        ck_assert_int_eq(hd_store_image_get(store, "library/busybox:1.37", &got, &err), -ENOENT);
        assert_error(&err, -ENOENT, NULL, "library/busybox:1.37");
        ck_assert_int_eq(hd_store_image_get(store, "alpine", &got, &err), -ENOENT);
        assert_error(&err, -ENOENT, NULL, "`alpine`");
        _cleanup_free_ char *d9 = digest_of('9');
        ck_assert_int_eq(hd_store_image_get(store, d9, &got, &err), -ENOENT);
        assert_error(&err, -ENOENT, NULL, d9);
        ck_assert_ptr_null(got);
}
END_TEST

START_TEST(test_digest_oldest_tag)
{
        _cleanup_(hd_image_freep) HdImage *a =
                make_image("busybox", "b", '1', HD_KIND_CONTAINER, "a");
        _cleanup_(hd_image_freep) HdImage *b =
                make_image("busybox", "a", '1', HD_KIND_CONTAINER, "a");
        a->created_at = T0;
        b->created_at = T0 + 10;
        insert_image(a);
        insert_image(b);
        _cleanup_free_ char *d = digest_of('1');
        _cleanup_(hd_image_freep) HdImage *got = get_image(d);
        ck_assert_str_eq(got->tag, "b");
}
END_TEST

START_TEST(test_shared_layers)
{
        _cleanup_(hd_image_freep) HdImage *a =
                make_image("app", "1", '1', HD_KIND_CONTAINER, "abc");
        _cleanup_(hd_image_freep) HdImage *b =
                make_image("app", "2", '2', HD_KIND_CONTAINER, "abd");
        /* The same layer twice in one image is stored once too. */
        _cleanup_(hd_image_freep) HdImage *c =
                make_image("odd", "1", '3', HD_KIND_CONTAINER, "aea");

        insert_image(a);
        insert_image(b);
        ck_assert_int_eq(query_int("SELECT count(*) FROM layers"), 4);
        ck_assert_int_eq(query_int("SELECT count(*) FROM image_layers"), 6);
        insert_image(c);
        ck_assert_int_eq(query_int("SELECT count(*) FROM layers"), 5);
        ck_assert_int_eq(query_int("SELECT count(*) FROM image_layers"), 9);

        _cleanup_(hd_image_freep) HdImage *got = get_image("odd:1");
        assert_image_eq(got, c);
}
END_TEST

START_TEST(test_duplicate)
{
        _cleanup_error_ HdError *err = NULL;
        _cleanup_(hd_image_freep) HdImage *a =
                make_image("busybox", "1.36", '1', HD_KIND_CONTAINER, "ab");
        _cleanup_(hd_image_freep) HdImage *b = make_image("busybox", "1.36", '2', HD_KIND_VM, "c");
        HdStoreTx *tx = NULL;

        insert_image(a);
        ck_assert_ok(hd_store_tx_begin(store, &tx, &err), err);
        ck_assert_int_eq(hd_store_tx_image_insert(tx, b, &err), -EEXIST);
        assert_error(&err, -EEXIST, NULL, "image `busybox:1.36` already exists");
        hd_store_tx_rollback(tx);

        ck_assert_int_eq(query_int("SELECT count(*) FROM images"), 1);
        ck_assert_int_eq(query_int("SELECT count(*) FROM layers"), 2);
        _cleanup_(hd_image_freep) HdImage *got = get_image("busybox:1.36");
        assert_image_eq(got, a);
}
END_TEST

START_TEST(test_list)
{
        _cleanup_error_ HdError *err = NULL;
        HdImage *imgs[] = {
                make_image("debian", "12", '1', HD_KIND_VM, "a"),
                make_image("busybox", "latest", '2', HD_KIND_CONTAINER, "bc"),
                make_image("alpine", "3.19", '3', HD_KIND_CONTAINER, "d"),
                make_image("busybox", "1.36", '2', HD_KIND_CONTAINER, "bc"),
                make_image("cirros", "0.6", '4', HD_KIND_VM, ""),
        };
        HdImage **list = NULL;
        size_t n = 0;

        ck_assert_ok(hd_store_image_list(store, HD_KIND_INVALID, &list, &n, &err), err);
        ck_assert_uint_eq(n, 0);
        hd_image_array_free(list, n);

        for (size_t k = 0; k < HD_ARRAY_SIZE(imgs); k++)
                insert_image(imgs[k]);

        ck_assert_ok(hd_store_image_list(store, HD_KIND_INVALID, &list, &n, &err), err);
        ck_assert_uint_eq(n, 5);
        const char *want_all[] = { "alpine:3.19", "busybox:1.36", "busybox:latest", "cirros:0.6",
                                   "debian:12" };
        for (size_t k = 0; k < n; k++) {
                char ref[64];
                snprintf(ref, sizeof(ref), "%s:%s", list[k]->name, list[k]->tag);
                ck_assert_str_eq(ref, want_all[k]);
                for (size_t m = 0; m < HD_ARRAY_SIZE(imgs); m++)
                        if (imgs[m]->id == list[k]->id)
                                assert_image_eq(list[k], imgs[m]);
        }
        hd_image_array_free(list, n);

        ck_assert_ok(hd_store_image_list(store, HD_KIND_VM, &list, &n, &err), err);
        ck_assert_uint_eq(n, 2);
        ck_assert_str_eq(list[0]->name, "cirros");
        ck_assert_uint_eq(list[0]->n_layers, 0);
        ck_assert_str_eq(list[1]->name, "debian");
        ck_assert_uint_eq(list[1]->n_layers, 1);
        hd_image_array_free(list, n);

        ck_assert_ok(hd_store_image_list(store, HD_KIND_CONTAINER, &list, &n, &err), err);
        ck_assert_uint_eq(n, 3);
        for (size_t k = 0; k < n; k++)
                ck_assert_int_eq(list[k]->kind, HD_KIND_CONTAINER);
        hd_image_array_free(list, n);

        ck_assert_int_eq(hd_store_image_list(store, (HdKind)7, &list, &n, &err), -EINVAL);
        assert_error(&err, -EINVAL, "kind", "kind");

        for (size_t k = 0; k < HD_ARRAY_SIZE(imgs); k++)
                hd_image_free(imgs[k]);
}
END_TEST

START_TEST(test_delete_tag)
{
        _cleanup_error_ HdError *err = NULL;
        _cleanup_(hd_image_freep) HdImage *a =
                make_image("busybox", "latest", '1', HD_KIND_CONTAINER, "ab");
        _cleanup_(hd_image_freep) HdImage *b =
                make_image("busybox", "1.36", '1', HD_KIND_CONTAINER, "ab");
        HdImage *got = NULL;
        HdStoreTx *tx = NULL;

        insert_image(a);
        insert_image(b);
        delete_image(a->id);

        ck_assert_int_eq(hd_store_image_get(store, "busybox", &got, &err), -ENOENT);
        assert_error(&err, -ENOENT, NULL, "busybox");
        got = get_image("busybox:1.36");
        assert_image_eq(got, b);
        hd_image_free(got);
        _cleanup_free_ char *d = digest_of('1');
        got = get_image(d); /* the remaining tag answers for the digest */
        assert_image_eq(got, b);
        hd_image_free(got);
        ck_assert_int_eq(query_int("SELECT count(*) FROM layers"), 2);
        ck_assert_int_eq(query_int("SELECT count(*) FROM image_layers"), 2);

        ck_assert_ok(hd_store_tx_begin(store, &tx, &err), err);
        ck_assert_int_eq(hd_store_tx_image_delete(tx, a->id, &err), -ENOENT);
        assert_error(&err, -ENOENT, NULL, "not found");
        hd_store_tx_rollback(tx);

        /* Ids are never handed out again. */
        delete_image(b->id);
        _cleanup_(hd_image_freep) HdImage *c =
                make_image("busybox", "1.36", '1', HD_KIND_CONTAINER, "ab");
        insert_image(c);
        ck_assert_int_gt(c->id, b->id);
        ck_assert_int_eq(query_int("SELECT count(*) FROM layers"), 2);
}
END_TEST

START_TEST(test_unreferenced_layers)
{
        _cleanup_error_ HdError *err = NULL;
        _cleanup_(hd_image_freep) HdImage *a = make_image("app", "1", '1', HD_KIND_CONTAINER, "ab");
        _cleanup_(hd_image_freep) HdImage *b = make_image("app", "2", '2', HD_KIND_CONTAINER, "bc");
        _cleanup_free_ char *la = digest_of('a'), *lb = digest_of('b'), *lc = digest_of('c');
        HdImageLayer *layers = NULL;
        char **digests = NULL;
        size_t n = 99;
        HdStoreTx *tx = NULL;

        insert_image(a);
        insert_image(b);
        unreferenced(&layers, &n);
        ck_assert_uint_eq(n, 0);
        hd_image_layers_free(layers, n);

        ck_assert_ok(hd_store_layer_digests(store, &digests, &n, &err), err);
        ck_assert_uint_eq(n, 3);
        ck_assert_str_eq(digests[0], la);
        ck_assert_str_eq(digests[1], lb);
        ck_assert_str_eq(digests[2], lc);
        for (size_t k = 0; k < n; k++)
                free(digests[k]);
        free(digests);

        delete_image(a->id);
        unreferenced(&layers, &n);
        ck_assert_uint_eq(n, 1);
        ck_assert_str_eq(layers[0].digest, la);
        ck_assert_int_eq(layers[0].size, 1000);
        ck_assert_int_eq(layers[0].unpacked_size, 3000);
        ck_assert_str_eq(layers[0].media_type, "application/vnd.oci.image.layer.v1.tar+gzip");
        hd_image_layers_free(layers, n);

        /* A layer still in use cannot go. */
        ck_assert_ok(hd_store_tx_begin(store, &tx, &err), err);
        ck_assert_int_eq(hd_store_tx_layer_delete(tx, lb, &err), -EBUSY);
        assert_error(&err, -EBUSY, NULL, lb);
        hd_store_tx_rollback(tx);

        delete_image(b->id);
        unreferenced(&layers, &n);
        ck_assert_uint_eq(n, 3);
        ck_assert_ok(hd_store_tx_begin(store, &tx, &err), err);
        for (size_t k = 0; k < n; k++)
                ck_assert_ok(hd_store_tx_layer_delete(tx, layers[k].digest, &err), err);
        ck_assert_int_eq(hd_store_tx_layer_delete(tx, la, &err), -ENOENT);
        assert_error(&err, -ENOENT, NULL, la);
        ck_assert_int_eq(hd_store_tx_layer_delete(tx, "sha256:nope", &err), -EINVAL);
        assert_error(&err, -EINVAL, "digest", "sha256:nope");
        ck_assert_ok(hd_store_tx_commit(tx, &err), err);
        hd_image_layers_free(layers, n);

        ck_assert_ok(hd_store_layer_digests(store, &digests, &n, &err), err);
        ck_assert_uint_eq(n, 0);
        free(digests);
        ck_assert_int_eq(query_int("SELECT count(*) FROM layers"), 0);
}
END_TEST

START_TEST(test_users)
{
        _cleanup_(hd_image_freep) HdImage *latest =
                make_image("busybox", "latest", '1', HD_KIND_CONTAINER, "a");
        _cleanup_(hd_image_freep) HdImage *v136 =
                make_image("busybox", "1.36", '1', HD_KIND_CONTAINER, "a");
        _cleanup_(hd_image_freep) HdImage *alpine =
                make_image("alpine", "latest", '2', HD_KIND_CONTAINER, "b");
        _cleanup_free_ char *d = digest_of('1');

        insert_image(latest);
        insert_image(v136);
        insert_image(alpine);
        ck_assert_int_eq(users_of("busybox"), 0);

        insert_instance("c-1", "busybox");
        insert_instance("c-2", "busybox:latest");
        insert_instance("c-3", "busybox:1.36");
        insert_instance("c-4", d);
        insert_instance("c-5", "alpine:3.19");
        insert_instance("c-6", "busybox:1.36");

        /* The digest does not count while another tag still carries it. */
        ck_assert_int_eq(users_of("busybox:latest"), 2);
        ck_assert_int_eq(users_of("busybox:1.36"), 2);
        ck_assert_int_eq(users_of("alpine"), 0);

        delete_image(latest->id);
        ck_assert_int_eq(users_of("busybox:1.36"), 3);
}
END_TEST

START_TEST(test_rollback)
{
        _cleanup_error_ HdError *err = NULL;
        _cleanup_(hd_image_freep) HdImage *a =
                make_image("busybox", "1.36", '1', HD_KIND_CONTAINER, "abc");
        HdImage *got = NULL;
        HdStoreTx *tx = NULL;

        ck_assert_ok(hd_store_tx_begin(store, &tx, &err), err);
        ck_assert_ok(hd_store_tx_image_insert(tx, a, &err), err);
        ck_assert_ok(hd_store_tx_image_get(tx, "busybox:1.36", &got, &err), err);
        hd_image_free(got);
        hd_store_tx_rollback(tx);

        ck_assert_int_eq(query_int("SELECT count(*) FROM images"), 0);
        ck_assert_int_eq(query_int("SELECT count(*) FROM layers"), 0);
        ck_assert_int_eq(query_int("SELECT count(*) FROM image_layers"), 0);
        ck_assert_int_eq(hd_store_image_get(store, "busybox:1.36", &got, &err), -ENOENT);
        assert_error(&err, -ENOENT, NULL, "busybox:1.36");
}
END_TEST

/* Inserts i, expecting -EINVAL naming field. */
static void insert_invalid(HdImage *i, const char *field, const char *substring)
{
        _cleanup_error_ HdError *err = NULL;
        HdStoreTx *tx = NULL;
        ck_assert_ok(hd_store_tx_begin(store, &tx, &err), err);
        ck_assert_int_eq(hd_store_tx_image_insert(tx, i, &err), -EINVAL);
        assert_error(&err, -EINVAL, field, substring);
        hd_store_tx_rollback(tx);
}

static void set_str(char **p, const char *v)
{
        free(*p);
        *p = v ? strdup(v) : NULL;
}

START_TEST(test_validation)
{
        _cleanup_error_ HdError *err = NULL;
        _cleanup_(hd_image_freep) HdImage *i = make_image("ok", "ok", '1', HD_KIND_CONTAINER, "ab");
        HdImage *got = NULL;
        char long_name[300], long_tag[140];

        memset(long_name, 'a', 256);
        long_name[256] = '\0';
        memset(long_tag, 'a', 129);
        long_tag[129] = '\0';

        const char *bad_names[] = { "Busybox", "-a",     "a-",  "a//b", "/a",      "a/",
                                    "..",      "a/../b", "a b", "a:b",  long_name, "" };
        for (size_t k = 0; k < HD_ARRAY_SIZE(bad_names); k++) {
                set_str(&i->name, bad_names[k]);
                insert_invalid(i, "name", "image name");
        }
        set_str(&i->name, NULL);
        insert_invalid(i, "name", "image name");
        const char *good_names[] = { "library/busybox", "my.registry/team_x/app-1", "a",
                                     "a.b_c-d" };
        for (size_t k = 0; k < HD_ARRAY_SIZE(good_names); k++) {
                set_str(&i->name, good_names[k]);
                insert_image(i);
        }

        set_str(&i->name, "fresh");
        const char *bad_tags[] = { "-x", ".x", "", "a/b", "a:b", long_tag };
        for (size_t k = 0; k < HD_ARRAY_SIZE(bad_tags); k++) {
                set_str(&i->tag, bad_tags[k]);
                insert_invalid(i, "tag", "image tag");
        }
        long_tag[128] = '\0';
        set_str(&i->tag, long_tag);
        insert_image(i);
        set_str(&i->tag, "_V1.2-rc");

        const char *bad_digests[] = {
                "sha256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                "sha256:aaaa",
                "sha512:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                "",
        };
        for (size_t k = 0; k < HD_ARRAY_SIZE(bad_digests); k++) {
                set_str(&i->digest, bad_digests[k]);
                insert_invalid(i, "digest", "image digest");
        }
        free(i->digest);
        i->digest = digest_of('7');

        set_str(&i->format, "vmdk");
        insert_invalid(i, "format", "vmdk");
        set_str(&i->format, "rootfs");

        set_str(&i->config_json, "[1]");
        insert_invalid(i, "config", "json object");
        set_str(&i->config_json, "{\"a\":1,\"a\":2}");
        insert_invalid(i, "config", "json object");

        set_str(&i->config_json, "{}");
        i->size = -1;
        insert_invalid(i, "size", "negative");
        i->size = 0;
        i->kind = HD_KIND_INVALID;
        insert_invalid(i, "kind", "kind");
        i->kind = HD_KIND_CONTAINER;

        set_str(&i->layers[1].digest, "sha256:xyz");
        insert_invalid(i, "layers[1].digest", "sha256:xyz");
        free(i->layers[1].digest);
        i->layers[1].digest = digest_of('b');
        set_str(&i->layers[0].diff_id, "md5:1");
        insert_invalid(i, "layers[0].diff_id", "md5:1");
        set_str(&i->layers[0].diff_id, NULL);
        set_str(&i->layers[0].media_type, "a b");
        insert_invalid(i, "layers[0].media_type", "media type");
        set_str(&i->layers[0].media_type, NULL);
        i->layers[1].unpacked_size = -5;
        insert_invalid(i, "layers[1].size", "negative");
        i->layers[1].unpacked_size = 5;
        insert_image(i);
        ck_assert_int_eq(query_int("SELECT count(*) FROM images"), 6);

        /* Refs. */
        const char *bad_refs[] = { "Busybox",    "sha256:xyz", "busybox:",
                                   "busybox:-x", ":tag",       "a@sha256:aaaa" };
        for (size_t k = 0; k < HD_ARRAY_SIZE(bad_refs); k++) {
                ck_assert_int_eq(hd_store_image_get(store, bad_refs[k], &got, &err), -EINVAL);
                assert_error(&err, -EINVAL, NULL, bad_refs[k]);
        }
        ck_assert_int_eq(hd_store_image_get(store, NULL, &got, &err), -EINVAL);
        assert_error(&err, -EINVAL, NULL, "no image reference");
        ck_assert_ptr_null(got);
        got = get_image("fresh:_V1.2-rc");
        hd_image_free(got);
}
END_TEST

START_TEST(test_migrate_from_v3)
{
        _cleanup_error_ HdError *err = NULL;
        int v = 0;

        hd_store_close(store);
        store = NULL;
        nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
        ck_assert_int_eq(mkdir(tmpdir, 0700), 0);

        ck_assert_ok(hd_store_open_version(dbpath, 3, &store, &err), err);
        ck_assert_ok(hd_store_schema_version(store, &v, &err), err);
        ck_assert_int_eq(v, 3);
        ck_assert_int_eq(query_int("SELECT count(*) FROM sqlite_master WHERE name = 'images'"), 0);
        insert_instance("keep-1", "busybox");
        insert_instance("keep-2", "busybox:1.36");
        hd_store_close(store);
        store = NULL;

        ck_assert_ok(hd_store_open(dbpath, 100, &store, &err), err);
        ck_assert_ok(hd_store_schema_version(store, &v, &err), err);
        ck_assert_int_eq(v, hd_store_schema_latest());
        ck_assert_int_ge(hd_store_schema_latest(), 5);
        ck_assert_int_eq(query_int("SELECT count(*) FROM sqlite_master WHERE name IN ('images', "
                                   "'layers', 'image_layers', 'images_digest', "
                                   "'image_layers_layer')"),
                         5);
        ck_assert_int_eq(query_int("SELECT count(*) FROM instances"), 2);
        HdInstance *inst = NULL;
        ck_assert_ok(hd_store_instance_get(store, "keep-2", &inst, &err), err);
        ck_assert_str_eq(inst->spec.image, "busybox:1.36");
        hd_instance_free(inst);

        _cleanup_(hd_image_freep) HdImage *a =
                make_image("busybox", "1.36", '1', HD_KIND_CONTAINER, "a");
        insert_image(a);
        ck_assert_int_eq(users_of("busybox:1.36"), 1);
        ck_assert_ok(hd_store_integrity_check(store, &err), err);
        ck_assert_int_eq(query_int("SELECT count(*) FROM pragma_foreign_key_check"), 0);
}
END_TEST

static Suite *images_suite(void)
{
        Suite *s = suite_create("store-images");
        TCase *tc = tcase_create("images");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, test_insert_get);
        tcase_add_test(tc, test_digest_oldest_tag);
        tcase_add_test(tc, test_shared_layers);
        tcase_add_test(tc, test_duplicate);
        tcase_add_test(tc, test_list);
        tcase_add_test(tc, test_delete_tag);
        tcase_add_test(tc, test_unreferenced_layers);
        tcase_add_test(tc, test_users);
        tcase_add_test(tc, test_rollback);
        tcase_add_test(tc, test_validation);
        tcase_add_test(tc, test_migrate_from_v3);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        SRunner *sr = srunner_create(images_suite());
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
