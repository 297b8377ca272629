/* Tests for daemon/images/img-store.c and img-import.c: imports of every format into a
 * fresh store and inventory per test, dedup of shared layers, rejection of corrupt
 * archives without leftovers, delete while in use, crash leftovers and prune. Archives
 * are made by a small Python script (tarfile, gzip, hashlib, json). Needs root (the
 * extractor sets ownership) and python3. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hd-util.h"
#include "img-store.h"

/* ---- fixture ------------------------------------------------------------------------ */

static char work[64];
static char root[128]; /* work/images */
static HdStore *inv;
static HdImgStore *store;
static HdImgStoreConfig config;

/* The archive generator, shared with the other image tests. */
#define GEN_PY HD_TEST_DATA_DIR "/gen-images.py"

static void sh(const char *fmt, ...) HD_PRINTF(1, 2);

static void sh(const char *fmt, ...)
{
        _cleanup_free_ char *cmd = NULL;
        va_list ap;
        va_start(ap, fmt);
        ck_assert_int_ge(vasprintf(&cmd, fmt, ap), 0);
        va_end(ap);
        ck_assert_msg(system(cmd) == 0, "failed: %s", cmd);
}

/* Runs gen.py and returns its first output line (a digest), or "" when none. */
static void gen(char out[static 128], const char *fmt, ...) HD_PRINTF(2, 3);

static void gen(char out[static 128], const char *fmt, ...)
{
        _cleanup_free_ char *args = NULL, *cmd = NULL;
        va_list ap;
        va_start(ap, fmt);
        ck_assert_int_ge(vasprintf(&args, fmt, ap), 0);
        va_end(ap);
        ck_assert_int_ge(asprintf(&cmd, "cd %s && python3 gen.py %s", work, args), 0);
        FILE *f = popen(cmd, "r");
        ck_assert_ptr_nonnull(f);
        out[0] = '\0';
        if (fgets(out, 128, f))
                out[strcspn(out, "\n")] = '\0';
        ck_assert_int_eq(pclose(f), 0);
}

static void open_store(void)
{
        HdError *err = NULL;
        int r = hd_img_store_open(root, inv, &config, &store, &err);
        ck_assert_msg(r == 0, "open: %s", err ? err->message : "?");
}

static void setup(void)
{
        snprintf(work, sizeof(work), "/tmp/test-img-store-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(work));
        snprintf(root, sizeof(root), "%s/images", work);
        char p[128];
        snprintf(p, sizeof(p), "%s/gen.py", work);
        ck_assert_int_eq(symlink(GEN_PY, p), 0);
        snprintf(p, sizeof(p), "%s/hostd.db", work);
        HdError *err = NULL;
        ck_assert_int_eq(hd_store_open(p, 100, &inv, &err), 0);
        config = (HdImgStoreConfig){ 0 };
        open_store();
}

static void teardown(void)
{
        hd_img_store_close(store);
        store = NULL;
        hd_store_close(inv);
        inv = NULL;
        _cleanup_close_ int tmp = open("/tmp", O_PATH | O_DIRECTORY | O_CLOEXEC);
        ck_assert_int_eq(hd_img_rm_rf_at(tmp, work + strlen("/tmp/")), 0);
}

/* ---- helpers ------------------------------------------------------------------------ */

#define ck_assert_ok(expr, err)                                               \
        do {                                                                  \
                int _r = (expr);                                              \
                ck_assert_msg(_r >= 0, "%s failed: %d %s", #expr, _r,         \
                              (err) && (err)->message ? (err)->message : ""); \
        } while (0)

/* Imports work/<file> as name:tag; returns what finish (or begin/write) returned. */
static int import_file(const char *ref_name, const char *tag, HdKind kind, const char *format,
                       const char *file, HdImage **ret, HdError **err)
{
        HdImgImportParams p = { .name = ref_name, .tag = tag, .kind = kind, .format = format };
        HdImgImport *imp = NULL;
        int r = hd_img_import_begin(store, &p, &imp, err);
        if (r < 0)
                return r;
        char path[256];
        snprintf(path, sizeof(path), "%s/%s", work, file);
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        ck_assert_int_ge(fd, 0);
        char buf[4096]; /* small, so uploads arrive in several writes */
        ssize_t n;
        while ((n = read(fd, buf, sizeof(buf))) > 0) {
                r = hd_img_import_write(imp, buf, (size_t)n, err);
                if (r < 0) {
                        hd_img_import_abort(imp);
                        return r;
                }
        }
        ck_assert_int_eq(n, 0);
        HdImage *img = NULL;
        r = hd_img_import_finish(imp, &img, err);
        if (r >= 0 && ret)
                *ret = img;
        else
                hd_image_free(img);
        return r;
}

static HdImage *import_ok(const char *ref_name, HdKind kind, const char *format, const char *file)
{
        HdError *err = NULL;
        HdImage *img = NULL;
        int r = import_file(ref_name, NULL, kind, format, file, &img, &err);
        ck_assert_msg(r == 0, "import %s: %d %s", file, r, err ? err->message : "");
        ck_assert_ptr_nonnull(img);
        return img;
}

static void import_fails(const char *ref_name, HdKind kind, const char *format, const char *file,
                         int code, const char *field)
{
        HdError *err = NULL;
        int r = import_file(ref_name, NULL, kind, format, file, NULL, &err);
        ck_assert_int_eq(r, code);
        ck_assert_ptr_nonnull(err);
        ck_assert_int_eq(err->code, code);
        if (field) {
                ck_assert_ptr_nonnull(err->field);
                ck_assert_str_eq(err->field, field);
        }
        hd_error_free(err);
}

/* Entries of work/images/<sub> named like a blob or layer (64 characters). */
static int count(const char *sub)
{
        char p[256];
        snprintf(p, sizeof(p), "%s/%s", root, sub);
        DIR *d = opendir(p);
        ck_assert_ptr_nonnull(d);
        int n = 0;
        struct dirent *de;
        while ((de = readdir(d)))
                n += strlen(de->d_name) == 64;
        closedir(d);
        return n;
}

static int count_import_dirs(void)
{
        DIR *d = opendir(root);
        ck_assert_ptr_nonnull(d);
        int n = 0;
        struct dirent *de;
        while ((de = readdir(d)))
                n += hd_str_startswith(de->d_name, ".import-");
        closedir(d);
        return n;
}

static size_t layer_rows(void)
{
        HdError *err = NULL;
        char **a = NULL;
        size_t n = 0;
        ck_assert_ok(hd_store_layer_digests(inv, &a, &n, &err), err);
        for (size_t k = 0; k < n; k++)
                free(a[k]);
        free(a);
        return n;
}

static void assert_state(int blobs, int trees, size_t rows)
{
        ck_assert_int_eq(count("blobs/sha256"), blobs);
        ck_assert_int_eq(count("layers"), trees);
        ck_assert_uint_eq(layer_rows(), rows);
        ck_assert_int_eq(count_import_dirs(), 0);
}

static bool layer_has(const char *diff_id, const char *file)
{
        char p[512];
        struct stat st;
        snprintf(p, sizeof(p), "%s/layers/%s/%s", root, diff_id + strlen("sha256:"), file);
        return stat(p, &st) == 0;
}

static bool blob_exists(const char *digest)
{
        char p[512];
        struct stat st;
        snprintf(p, sizeof(p), "%s/blobs/sha256/%s", root, digest + strlen("sha256:"));
        return stat(p, &st) == 0;
}

static const char defaults_empty[] = "{\"entrypoint\":[],\"cmd\":[],\"env\":[],\"workdir\":\"\","
                                     "\"user\":\"\",\"exposed_ports\":[],\"labels\":{}}";
static const char defaults_gen[] =
        "{\"entrypoint\":[\"/bin/sh\"],\"cmd\":[\"-c\",\"echo hi\"],\"env\":[\"PATH=/bin\"],"
        "\"workdir\":\"/l\",\"user\":\"1000\",\"exposed_ports\":[\"80/tcp\"],"
        "\"labels\":{\"a\":\"b\"}}";

/* ---- rootfs ------------------------------------------------------------------------- */

START_TEST(test_rootfs)
{
        char out[128];
        gen(out, "rootfs plain.tar");
        gen(out, "rootfs plain.tar.gz gz");
        HdImage *a = import_ok("base/a", HD_KIND_CONTAINER, "rootfs", "plain.tar");
        ck_assert_str_eq(a->name, "base/a");
        ck_assert_str_eq(a->tag, "latest");
        ck_assert_str_eq(a->format, "rootfs");
        ck_assert_int_gt(a->id, 0);
        ck_assert_uint_eq(a->n_layers, 1);
        ck_assert_str_eq(a->layers[0].media_type, "application/vnd.oci.image.layer.v1.tar");
        ck_assert_str_eq(a->layers[0].digest, a->layers[0].diff_id);
        ck_assert_int_eq(a->layers[0].unpacked_size, 3 + 7);
        ck_assert_int_eq(a->size, a->layers[0].size);
        ck_assert_str_eq(a->config_json, defaults_empty);
        ck_assert(layer_has(a->layers[0].diff_id, "etc/hello"));
        ck_assert(layer_has(a->layers[0].diff_id, "bin/sh"));
        /* The layer, the generated config (the image digest) and manifest. */
        ck_assert_str_eq(a->config_digest, a->digest);
        ck_assert(blob_exists(a->config_digest));
        ck_assert(blob_exists(a->manifest_digest));
        assert_state(3, 1, 1);

        /* The same bytes under another name: same digest, nothing new on disk. */
        HdImage *b = import_ok("base/b", HD_KIND_CONTAINER, "rootfs", "plain.tar");
        ck_assert_str_eq(b->digest, a->digest);
        ck_assert_str_eq(b->manifest_digest, a->manifest_digest);
        assert_state(3, 1, 1);

        /* Gzipped: another blob, the same tree and image digest. */
        HdImage *c = import_ok("base/c", HD_KIND_CONTAINER, "rootfs", "plain.tar.gz");
        ck_assert_str_eq(c->digest, a->digest);
        ck_assert_str_eq(c->layers[0].diff_id, a->layers[0].diff_id);
        ck_assert_str_ne(c->layers[0].digest, a->layers[0].digest);
        ck_assert_str_eq(c->layers[0].media_type, "application/vnd.oci.image.layer.v1.tar+gzip");
        ck_assert_str_eq(c->config_digest, a->config_digest);
        ck_assert_str_ne(c->manifest_digest, a->manifest_digest);
        assert_state(5, 1, 2);

        HdImage *got = NULL;
        HdError *err = NULL;
        ck_assert_ok(hd_store_image_get(inv, "base/c:latest", &got, &err), err);
        ck_assert_str_eq(got->digest, a->digest);
        ck_assert_str_eq(got->config_json, defaults_empty);
        hd_image_free(got);

        int64_t blob_bytes = 0, layer_bytes = 0;
        ck_assert_ok(hd_img_store_usage(store, &blob_bytes, &layer_bytes, &err), err);
        ck_assert_int_gt(blob_bytes, a->layers[0].size + c->layers[0].size);
        ck_assert_int_gt(layer_bytes, 0);

        /* Not a tar at all. */
        sh("head -c 3000 /dev/urandom > %s/junk", work);
        import_fails("junk", HD_KIND_CONTAINER, "rootfs", "junk", -EINVAL, "body");
        assert_state(5, 1, 2);
        hd_image_free(a);
        hd_image_free(b);
        hd_image_free(c);
}
END_TEST

/* ---- oci-archive and docker-archive --------------------------------------------------- */

START_TEST(test_oci_shared)
{
        char d1[128], d2[128];
        gen(d1, "oci x.tar base app1");
        gen(d2, "oci y.tar base app2");
        HdImage *x = import_ok("x", HD_KIND_CONTAINER, "oci-archive", "x.tar");
        ck_assert_str_eq(x->digest, d1);
        ck_assert_uint_eq(x->n_layers, 2);
        ck_assert_str_eq(x->config_json, defaults_gen);
        ck_assert_str_eq(x->layers[1].media_type, "application/vnd.oci.image.layer.v1.tar+gzip");
        ck_assert(layer_has(x->layers[0].diff_id, "l/base.txt"));
        ck_assert(layer_has(x->layers[1].diff_id, "l/app1.txt"));
        /* The manifest and config are kept as blobs, for exports. */
        ck_assert_str_eq(x->manifest_digest, x->digest);
        ck_assert(blob_exists(x->digest));
        ck_assert(blob_exists(x->config_digest));
        assert_state(4, 2, 2);

        HdImage *y = import_ok("y", HD_KIND_CONTAINER, "oci-archive", "y.tar");
        ck_assert_str_eq(y->digest, d2);
        ck_assert_str_eq(y->layers[0].digest, x->layers[0].digest);
        assert_state(7, 3, 3);
        hd_image_free(x);
        hd_image_free(y);
}
END_TEST

START_TEST(test_oci_corrupt)
{
        char d[128];
        gen(d, "oci bad.tar base evil --corrupt");
        import_fails("bad", HD_KIND_CONTAINER, "oci-archive", "bad.tar", -EINVAL, "body");
        assert_state(0, 0, 0);

        /* With the good base stored, a corrupt import leaves the base alone. */
        gen(d, "oci good.tar base app1");
        HdImage *g = import_ok("good", HD_KIND_CONTAINER, "oci-archive", "good.tar");
        assert_state(4, 2, 2);
        import_fails("bad", HD_KIND_CONTAINER, "oci-archive", "bad.tar", -EINVAL, "body");
        assert_state(4, 2, 2);
        ck_assert(layer_has(g->layers[0].diff_id, "l/base.txt"));

        /* A docker archive is not an OCI layout. */
        gen(d, "docker dock.tar base");
        import_fails("dock", HD_KIND_CONTAINER, "oci-archive", "dock.tar", -EINVAL, "body");
        assert_state(4, 2, 2);
        hd_image_free(g);
}
END_TEST

START_TEST(test_docker)
{
        char d[128];
        gen(d, "docker d.tar base app1");
        HdImage *i = import_ok("dock", HD_KIND_CONTAINER, "docker-archive", "d.tar");
        ck_assert_str_eq(i->digest, d);
        ck_assert_str_eq(i->format, "docker-archive");
        ck_assert_uint_eq(i->n_layers, 2);
        ck_assert_str_eq(i->layers[0].digest, i->layers[0].diff_id);
        ck_assert_str_eq(i->layers[0].media_type, "application/vnd.oci.image.layer.v1.tar");
        ck_assert_str_eq(i->config_json, defaults_gen);
        ck_assert(layer_has(i->layers[1].diff_id, "l/app1.txt"));
        /* The config file as it was, and a generated manifest. */
        ck_assert_str_eq(i->config_digest, i->digest);
        ck_assert_str_ne(i->manifest_digest, i->digest);
        assert_state(4, 2, 2);

        /* The same layers from an OCI archive (gzipped blobs) share the trees, and the
         * config too (the same bytes). */
        gen(d, "oci o.tar base app1");
        HdImage *o = import_ok("oci", HD_KIND_CONTAINER, "oci-archive", "o.tar");
        ck_assert_str_eq(o->layers[0].diff_id, i->layers[0].diff_id);
        ck_assert_str_eq(o->config_digest, i->config_digest);
        assert_state(7, 2, 4);

        /* Deleting one keeps the trees the other lists, and the config it shares. */
        HdError *err = NULL;
        ck_assert_ok(hd_img_store_delete(store, "dock", &err), err);
        assert_state(4, 2, 2);
        ck_assert(blob_exists(o->config_digest));
        ck_assert(!blob_exists(i->manifest_digest));
        ck_assert(layer_has(o->layers[1].diff_id, "l/app1.txt"));
        hd_image_free(i);
        hd_image_free(o);
}
END_TEST

/* ---- parameters ----------------------------------------------------------------------- */

static void begin_fails(const char *name, const char *tag, HdKind kind, const char *format,
                        int code, const char *field)
{
        HdImgImportParams p = { .name = name, .tag = tag, .kind = kind, .format = format };
        HdImgImport *imp = NULL;
        HdError *err = NULL;
        ck_assert_int_eq(hd_img_import_begin(store, &p, &imp, &err), code);
        ck_assert_ptr_null(imp);
        ck_assert_ptr_nonnull(err);
        if (field) {
                ck_assert_ptr_nonnull(err->field);
                ck_assert_str_eq(err->field, field);
        }
        hd_error_free(err);
}

START_TEST(test_begin_errors)
{
        char out[128];
        gen(out, "rootfs r.tar");
        HdImage *i = import_ok("taken", HD_KIND_CONTAINER, "rootfs", "r.tar");
        begin_fails("taken", NULL, HD_KIND_CONTAINER, "rootfs", -EEXIST, NULL);
        begin_fails("taken", "latest", HD_KIND_VM, "raw", -EEXIST, NULL);
        begin_fails("Upper", NULL, HD_KIND_CONTAINER, "rootfs", -EINVAL, "name");
        begin_fails("a//b", NULL, HD_KIND_CONTAINER, "rootfs", -EINVAL, "name");
        begin_fails("a-", NULL, HD_KIND_CONTAINER, "rootfs", -EINVAL, "name");
        begin_fails("", NULL, HD_KIND_CONTAINER, "rootfs", -EINVAL, "name");
        begin_fails(NULL, NULL, HD_KIND_CONTAINER, "rootfs", -EINVAL, "name");
        begin_fails("ok", "-x", HD_KIND_CONTAINER, "rootfs", -EINVAL, "tag");
        begin_fails("ok", "a:b", HD_KIND_CONTAINER, "rootfs", -EINVAL, "tag");
        begin_fails("ok", NULL, HD_KIND_INVALID, "rootfs", -EINVAL, "kind");
        begin_fails("ok", NULL, HD_KIND_CONTAINER, "qcow2", -EINVAL, "format");
        begin_fails("ok", NULL, HD_KIND_VM, "rootfs", -EINVAL, "format");
        begin_fails("ok", NULL, HD_KIND_VM, "oci-archive", -EINVAL, "format");
        begin_fails("ok", NULL, HD_KIND_CONTAINER, "tarball", -EINVAL, "format");
        begin_fails("ok", NULL, HD_KIND_CONTAINER, NULL, -EINVAL, "format");

        /* Another tag of the same name is fine; aborting leaves nothing. */
        HdImgImportParams p = {
                .name = "taken", .tag = "v2", .kind = HD_KIND_CONTAINER, .format = "rootfs"
        };
        HdImgImport *imp = NULL;
        HdError *err = NULL;
        ck_assert_ok(hd_img_import_begin(store, &p, &imp, &err), err);
        ck_assert_ok(hd_img_import_write(imp, "abc", 3, &err), err);
        hd_img_import_abort(imp);
        hd_img_import_abort(NULL);
        assert_state(3, 1, 1);
        hd_image_free(i);
}
END_TEST

START_TEST(test_upload_limit)
{
        hd_img_store_close(store);
        config.max_upload_bytes = 5000;
        open_store();
        char out[128];
        gen(out, "rootfs r.tar");
        import_fails("big", HD_KIND_CONTAINER, "rootfs", "r.tar", -EFBIG, NULL);
        assert_state(0, 0, 0);
}
END_TEST

/* ---- delete ----------------------------------------------------------------------------- */

static void insert_instance(const char *uuid_out[static 1], char uuid[static 64], const char *image)
{
        HdError *err = NULL;
        HdInstance *i = calloc(1, sizeof(*i));
        ck_assert_ptr_nonnull(i);
        ck_assert_int_eq(hd_uuid_generate(i->uuid), 0);
        i->spec.name = strdup("c-1");
        i->spec.kind = HD_KIND_CONTAINER;
        i->spec.image = strdup(image);
        i->spec.hostname = strdup("c-1");
        hd_strv_push(&i->spec.command, "sleep");
        i->spec.resources = (HdResources){ .vcpus = 1, .memory_mb = 128, .pids_max = 64 };
        i->state = HD_STATE_STOPPED;
        i->created_at = i->updated_at = 1700000000000LL;
        i->placement.host = strdup("local");
        HdStoreTx *tx = NULL;
        ck_assert_ok(hd_store_tx_begin(inv, &tx, &err), err);
        ck_assert_ok(hd_store_tx_instance_insert(tx, i, &err), err);
        ck_assert_ok(hd_store_tx_commit(tx, &err), err);
        snprintf(uuid, 64, "%s", i->uuid);
        *uuid_out = uuid;
        hd_instance_free(i);
}

START_TEST(test_delete)
{
        char d[128], uuid[64];
        const char *u;
        gen(d, "oci x.tar base app1");
        gen(d, "oci y.tar base app2");
        HdImage *x = import_ok("x", HD_KIND_CONTAINER, "oci-archive", "x.tar");
        HdImage *y = import_ok("y", HD_KIND_CONTAINER, "oci-archive", "y.tar");
        insert_instance(&u, uuid, "x:latest");

        HdError *err = NULL;
        ck_assert_int_eq(hd_img_store_delete(store, "x", &err), -EBUSY);
        ck_assert_ptr_nonnull(strstr(err->message, "used by 1 instance(s)"));
        hd_error_free(err);
        err = NULL;
        assert_state(7, 3, 3);

        HdStoreTx *tx = NULL;
        ck_assert_ok(hd_store_tx_begin(inv, &tx, &err), err);
        ck_assert_ok(hd_store_tx_instance_delete(tx, u, &err), err);
        ck_assert_ok(hd_store_tx_commit(tx, &err), err);

        ck_assert_ok(hd_img_store_delete(store, "x:latest", &err), err);
        assert_state(4, 2, 2);
        ck_assert(!blob_exists(x->manifest_digest));
        ck_assert(!blob_exists(x->config_digest));
        ck_assert(!blob_exists(x->layers[1].digest));
        ck_assert(!layer_has(x->layers[1].diff_id, "."));
        ck_assert(layer_has(x->layers[0].diff_id, "l/base.txt"));
        ck_assert(layer_has(y->layers[1].diff_id, "l/app2.txt"));

        ck_assert_int_eq(hd_img_store_delete(store, "x", &err), -ENOENT);
        hd_error_free(err);
        err = NULL;
        ck_assert_ok(hd_img_store_delete(store, y->digest, &err), err);
        assert_state(0, 0, 0);
        hd_image_free(x);
        hd_image_free(y);
}
END_TEST

/* ---- crash leftovers and prune ---------------------------------------------------------- */

START_TEST(test_crash_leftovers)
{
        char d[128];
        gen(d, "oci x.tar base");
        HdImage *x = import_ok("x", HD_KIND_CONTAINER, "oci-archive", "x.tar");
        const char *hex = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        sh("echo stray > %s/blobs/sha256/%s", root, hex);
        sh("mkdir -p %s/layers/%s/etc && echo x > %s/layers/%s/etc/f", root, hex, root, hex);
        sh("mkdir -p %s/.import-abc123/blobs && echo x > %s/.import-abc123/blobs/f", root, root);
        ck_assert_int_eq(count("blobs/sha256"), 4);
        ck_assert_int_eq(count("layers"), 2);

        hd_img_store_close(store);
        open_store();
        assert_state(3, 1, 1);
        ck_assert(blob_exists(x->manifest_digest));
        ck_assert(blob_exists(x->config_digest));
        ck_assert(layer_has(x->layers[0].diff_id, "l/base.txt"));
        hd_image_free(x);
}
END_TEST

START_TEST(test_prune)
{
        char d[128];
        gen(d, "oci x.tar base app1");
        HdImage *x = import_ok("x", HD_KIND_CONTAINER, "oci-archive", "x.tar");
        HdError *err = NULL;
        HdImgPruneResult res;
        ck_assert_ok(hd_img_store_prune(store, &res, &err), err);
        ck_assert_int_eq(res.layers_removed, 0);
        ck_assert_int_eq(res.blobs_removed, 0);
        assert_state(4, 2, 2);

        /* The tag goes behind the image store's back: its layers become unreferenced. */
        HdStoreTx *tx = NULL;
        ck_assert_ok(hd_store_tx_begin(inv, &tx, &err), err);
        ck_assert_ok(hd_store_tx_image_delete(tx, x->id, &err), err);
        ck_assert_ok(hd_store_tx_commit(tx, &err), err);
        const char *hex = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";
        sh("echo stray > %s/blobs/sha256/%s", root, hex);

        ck_assert_ok(hd_img_store_prune(store, &res, &err), err);
        ck_assert_int_eq(res.layers_removed, 2);
        ck_assert_int_eq(res.blobs_removed, 5); /* 2 layers, manifest, config, stray */
        ck_assert_int_gt(res.bytes_freed, 0);
        assert_state(0, 0, 0);
        int64_t b = -1, l = -1;
        ck_assert_ok(hd_img_store_usage(store, &b, &l, &err), err);
        ck_assert_int_eq(b, 0);
        ck_assert_int_eq(l, 0);
        hd_image_free(x);
}
END_TEST

/* ---- VM images -------------------------------------------------------------------------- */

START_TEST(test_vm)
{
        char out[128];
        sh("cd %s && printf 'QFI\\373rest-of-a-header' > disk.qcow2 && printf 'nope' > bad.qcow2"
           " && : > empty.raw && printf 'sectors' > disk.raw",
           work);
        HdImage *q = import_ok("vm/disk", HD_KIND_VM, "qcow2", "disk.qcow2");
        ck_assert_str_eq(q->format, "qcow2");
        ck_assert_uint_eq(q->n_layers, 1);
        ck_assert_str_eq(q->digest, q->layers[0].digest);
        ck_assert_str_eq(q->layers[0].diff_id, q->layers[0].digest);
        ck_assert_str_eq(q->layers[0].media_type, "application/vnd.hostd.vm.qcow2");
        ck_assert_int_eq(q->size, 20);
        ck_assert_str_eq(q->config_json, "{}");
        assert_state(1, 0, 1);

        import_fails("vm/bad", HD_KIND_VM, "qcow2", "bad.qcow2", -EINVAL, "body");
        import_fails("vm/empty", HD_KIND_VM, "raw", "empty.raw", -EINVAL, "body");
        HdImage *r = import_ok("vm/raw", HD_KIND_VM, "raw", "disk.raw");
        assert_state(2, 0, 2);

        gen(out, "kernel k.tar");
        gen(out, "kernel nok.tar novmlinuz");
        HdImage *k = import_ok("vm/kernel", HD_KIND_VM, "kernel", "k.tar");
        ck_assert_str_eq(k->config_json, "{\"cmdline\":\"console=ttyS0 quiet\"}");
        ck_assert(blob_exists(k->digest));
        import_fails("vm/nok", HD_KIND_VM, "kernel", "nok.tar", -EINVAL, "body");
        assert_state(3, 0, 3);

        /* A reopen keeps VM files: they are their image's layer. */
        hd_img_store_close(store);
        open_store();
        assert_state(3, 0, 3);
        HdError *err = NULL;
        ck_assert_ok(hd_img_store_delete(store, "vm/kernel", &err), err);
        assert_state(2, 0, 2);
        hd_image_free(q);
        hd_image_free(r);
        hd_image_free(k);
}
END_TEST

/* ---- export ------------------------------------------------------------------------------ */

/* Exports ref into work/<file>: an OCI layout tar whose entries come in order. */
static void export_to(const HdImage *img, const char *file)
{
        HdError *err = NULL;
        int fd = -1;
        int64_t size = -1;
        const char *ct = NULL;
        char ref[512], path[256];
        snprintf(ref, sizeof(ref), "%s:%s", img->name, img->tag);
        ck_assert_ok(hd_img_store_export(store, ref, &fd, &size, &ct, &err), err);
        ck_assert_str_eq(ct, "application/x-tar");
        struct stat st;
        ck_assert_int_eq(fstat(fd, &st), 0);
        ck_assert_int_eq(st.st_size, size);
        ck_assert_int_eq(size % 512, 0);
        ck_assert_int_eq(lseek(fd, 0, SEEK_CUR), 0);
        snprintf(path, sizeof(path), "%s/%s", work, file);
        _cleanup_close_ int out = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        ck_assert_int_ge(out, 0);
        char buf[8192];
        ssize_t n;
        while ((n = read(fd, buf, sizeof(buf))) > 0)
                ck_assert_int_eq(write(out, buf, (size_t)n), n);
        ck_assert_int_eq(n, 0);
        close(fd);
        ck_assert_int_eq(count_import_dirs(), 0);

        /* oci-layout, index.json, the directories, manifest, config, distinct layers. */
        _cleanup_free_ char *want = strdup("oci-layout\nindex.json\nblobs/\nblobs/sha256/\n");
        ck_assert_ptr_nonnull(want);
        for (size_t k = 0; k < img->n_layers + 2; k++) {
                const char *d = k == 0   ? img->manifest_digest
                                : k == 1 ? img->config_digest
                                         : img->layers[k - 2].digest;
                char line[128];
                snprintf(line, sizeof(line), "blobs/sha256/%s\n", d + strlen("sha256:"));
                if (strstr(want, line))
                        continue;
                char *nw = NULL;
                ck_assert_int_ge(asprintf(&nw, "%s%s", want, line), 0);
                free(want);
                want = nw;
        }
        _cleanup_free_ char *cmd = NULL;
        ck_assert_int_ge(asprintf(&cmd, "tar -tf %s", path), 0);
        FILE *f = popen(cmd, "r");
        ck_assert_ptr_nonnull(f);
        char got[4096];
        size_t len = fread(got, 1, sizeof(got) - 1, f);
        got[len] = '\0';
        ck_assert_int_eq(pclose(f), 0);
        ck_assert_str_eq(got, want);

        if (system("command -v skopeo >/dev/null 2>&1") == 0)
                sh("skopeo inspect oci-archive:%s >/dev/null", path);
}

/* Exports img and imports the export as the oci-archive name: the same manifest,
 * config and layers. */
static void export_roundtrip(const HdImage *img, const char *file, const char *name)
{
        export_to(img, file);
        HdImage *again = import_ok(name, HD_KIND_CONTAINER, "oci-archive", file);
        ck_assert_str_eq(again->digest, img->manifest_digest);
        ck_assert_str_eq(again->manifest_digest, img->manifest_digest);
        ck_assert_str_eq(again->config_digest, img->config_digest);
        ck_assert_str_eq(again->config_json, img->config_json);
        ck_assert_uint_eq(again->n_layers, img->n_layers);
        for (size_t k = 0; k < img->n_layers; k++) {
                ck_assert_str_eq(again->layers[k].digest, img->layers[k].digest);
                ck_assert_str_eq(again->layers[k].diff_id, img->layers[k].diff_id);
        }
        hd_image_free(again);
}

START_TEST(test_export)
{
        char d[128];
        gen(d, "rootfs plain.tar.gz gz");
        HdImage *r = import_ok("r", HD_KIND_CONTAINER, "rootfs", "plain.tar.gz");
        export_roundtrip(r, "r.oci.tar", "r2");

        gen(d, "oci x.tar base app1");
        HdImage *x = import_ok("x", HD_KIND_CONTAINER, "oci-archive", "x.tar");
        export_roundtrip(x, "x.oci.tar", "x2");
        ck_assert_str_eq(x->manifest_digest, d);

        gen(d, "docker d.tar base app2");
        HdImage *k = import_ok("dock", HD_KIND_CONTAINER, "docker-archive", "d.tar");
        ck_assert_str_eq(k->digest, d);
        export_roundtrip(k, "d.oci.tar", "dock2");

        /* An export of the re-import carries the same blobs (only the names differ). */
        HdImage *x2 = NULL;
        HdError *err = NULL;
        ck_assert_ok(hd_store_image_get(inv, "x2", &x2, &err), err);
        export_to(x2, "x2.oci.tar");
        sh("cd %s && [ \"$(tar -xOf x.oci.tar --wildcards 'blobs/sha256/*' | sha256sum)\" = "
           "\"$(tar -xOf x2.oci.tar --wildcards 'blobs/sha256/*' | sha256sum)\" ]",
           work);

        /* A reopen keeps every image's manifest and config. */
        hd_img_store_close(store);
        open_store();
        const HdImage *all[] = { r, x, k };
        for (size_t j = 0; j < HD_ARRAY_SIZE(all); j++) {
                ck_assert(blob_exists(all[j]->manifest_digest));
                ck_assert(blob_exists(all[j]->config_digest));
        }

        /* Errors: unknown, and imported before manifests were kept. */
        int fd = -1;
        int64_t size;
        const char *ct;
        ck_assert_int_eq(hd_img_store_export(store, "nope", &fd, &size, &ct, &err), -ENOENT);
        hd_error_free(err);
        err = NULL;
        HdImage old = { .name = "old",
                        .tag = "latest",
                        .digest = r->digest,
                        .kind = HD_KIND_CONTAINER,
                        .format = "rootfs" };
        HdStoreTx *tx = NULL;
        ck_assert_ok(hd_store_tx_begin(inv, &tx, &err), err);
        ck_assert_ok(hd_store_tx_image_insert(tx, &old, &err), err);
        ck_assert_ok(hd_store_tx_commit(tx, &err), err);
        ck_assert_int_eq(hd_img_store_export(store, "old", &fd, &size, &ct, &err), -EOPNOTSUPP);
        ck_assert_ptr_nonnull(strstr(err->message, "import it again"));
        ck_assert_int_eq(fd, -1);
        hd_error_free(err);
        err = NULL;

        /* Deleting every image and pruning leaves no blob. */
        const char *refs[] = { "r", "r2", "x", "x2", "dock", "dock2", "old" };
        for (size_t j = 0; j < HD_ARRAY_SIZE(refs); j++)
                ck_assert_ok(hd_img_store_delete(store, refs[j], &err), err);
        HdImgPruneResult res;
        ck_assert_ok(hd_img_store_prune(store, &res, &err), err);
        assert_state(0, 0, 0);
        hd_image_free(r);
        hd_image_free(x);
        hd_image_free(x2);
        hd_image_free(k);
}
END_TEST

START_TEST(test_export_vm)
{
        sh("cd %s && printf 'QFI\\373rest-of-a-header' > disk.qcow2", work);
        HdImage *q = import_ok("vm/disk", HD_KIND_VM, "qcow2", "disk.qcow2");
        ck_assert_ptr_null(q->manifest_digest);
        ck_assert_ptr_null(q->config_digest);
        HdError *err = NULL;
        int fd = -1;
        int64_t size = -1;
        const char *ct = NULL;
        ck_assert_ok(hd_img_store_export(store, "vm/disk", &fd, &size, &ct, &err), err);
        ck_assert_str_eq(ct, "application/octet-stream");
        ck_assert_int_eq(size, 20);
        char buf[64];
        ck_assert_int_eq(read(fd, buf, sizeof(buf)), 20);
        ck_assert_int_eq(memcmp(buf, "QFI\373rest-of-a-header", 20), 0);
        ck_assert_int_eq(write(fd, "x", 1), -1); /* read-only */
        close(fd);
        hd_image_free(q);
}
END_TEST

/* ---- the real base images (optional) ------------------------------------------------------ */

/* Runs when HD_TEST_BUSYBOX_DIR holds the output of packaging/images/build-busybox-oci.sh. */
START_TEST(test_busybox)
{
        const char *dir = getenv("HD_TEST_BUSYBOX_DIR");
        if (!dir || !*dir)
                return;
        sh("cp %s/busybox.oci.tar %s/busybox-extra.oci.tar %s/busybox-rootfs.tar.gz %s/", dir, dir,
           dir, work);
        HdImage *b = import_ok("busybox", HD_KIND_CONTAINER, "oci-archive", "busybox.oci.tar");
        ck_assert(layer_has(b->layers[0].diff_id, "bin/busybox"));
        HdImage *e = import_ok("busybox-extra", HD_KIND_CONTAINER, "oci-archive",
                               "busybox-extra.oci.tar");
        ck_assert_uint_eq(e->n_layers, 2);
        ck_assert_str_eq(e->layers[0].digest, b->layers[0].digest);
        assert_state(6, 2, 2); /* 2 layers, a manifest and a config each */
        /* The rootfs tarball is the base layer's blob: no new layer. */
        HdImage *r =
                import_ok("busybox-rootfs", HD_KIND_CONTAINER, "rootfs", "busybox-rootfs.tar.gz");
        ck_assert_str_eq(r->layers[0].digest, b->layers[0].digest);
        assert_state(8, 2, 2); /* its generated config and manifest */
        hd_image_free(b);
        hd_image_free(e);
        hd_image_free(r);
}
END_TEST

static Suite *img_store_suite(void)
{
        Suite *s = suite_create("img-store");
        TCase *tc = tcase_create("store");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_rootfs);
        tcase_add_test(tc, test_oci_shared);
        tcase_add_test(tc, test_oci_corrupt);
        tcase_add_test(tc, test_docker);
        tcase_add_test(tc, test_begin_errors);
        tcase_add_test(tc, test_upload_limit);
        tcase_add_test(tc, test_delete);
        tcase_add_test(tc, test_crash_leftovers);
        tcase_add_test(tc, test_prune);
        tcase_add_test(tc, test_vm);
        tcase_add_test(tc, test_export);
        tcase_add_test(tc, test_export_vm);
        tcase_add_test(tc, test_busybox);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        SRunner *sr = srunner_create(img_store_suite());
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
