/* The image store: ties the blob store, the layer store and the inventory together.
 * The inventory is the truth: a blob is kept while a layer row or an image's manifest or
 * config digest names it, a layer tree
 * while an image lists its diff_id; everything else on disk is an orphan (of a crash, a
 * failed import or a delete) and goes at open and at prune. What each upload format
 * becomes is in img-import.c. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hd-json.h"
#include "hd-util.h"
#include "img-store-internal.h"

#define DEFAULT_MAX_UPLOAD (64LL << 30)

/* ---- what the inventory references -------------------------------------------------- */

typedef struct Refs {
        char **digests; /* layer, manifest and config blobs */
        size_t n_digests;
        char **diff_ids; /* layer trees */
        size_t n_diff_ids;
} Refs;

static void refs_done(Refs *r)
{
        for (size_t k = 0; k < r->n_digests; k++)
                free(r->digests[k]);
        free(r->digests);
        for (size_t k = 0; k < r->n_diff_ids; k++)
                free(r->diff_ids[k]);
        free(r->diff_ids);
        *r = (Refs){ 0 };
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool in_sorted(char **a, size_t n, const char *s)
{
        return n > 0 && bsearch(&s, a, n, sizeof(*a), cmp_str) != NULL;
}

static int refs_load(HdImgStore *s, Refs *ret, HdError **err)
{
        Refs r = { 0 };
        HdImage **images = NULL;
        size_t n_images = 0, n = 0;
        int rc = hd_store_layer_digests(s->inventory, &r.digests, &r.n_digests, err);
        if (rc < 0)
                return rc;
        rc = hd_store_image_list(s->inventory, HD_KIND_INVALID, &images, &n_images, err);
        if (rc < 0)
                goto fail;
        for (size_t k = 0; k < n_images; k++) {
                const char *blobs[] = { images[k]->manifest_digest, images[k]->config_digest };
                for (size_t j = 0; j < HD_ARRAY_SIZE(blobs); j++) {
                        if (!blobs[j])
                                continue;
                        char **na = realloc(r.digests, (r.n_digests + 1) * sizeof(*na));
                        if (!na) {
                                rc = hd_error_set(err, -ENOMEM, "out of memory");
                                goto fail;
                        }
                        r.digests = na;
                        if (!(na[r.n_digests] = strdup(blobs[j]))) {
                                rc = hd_error_set(err, -ENOMEM, "out of memory");
                                goto fail;
                        }
                        r.n_digests++;
                }
        }
        for (size_t k = 0; k < n_images; k++)
                n += images[k]->n_layers;
        r.diff_ids = calloc(n ? n : 1, sizeof(*r.diff_ids));
        if (!r.diff_ids) {
                rc = hd_error_set(err, -ENOMEM, "out of memory");
                goto fail;
        }
        for (size_t k = 0; k < n_images; k++)
                for (size_t j = 0; j < images[k]->n_layers; j++) {
                        const HdImageLayer *l = &images[k]->layers[j];
                        r.diff_ids[r.n_diff_ids] = strdup(l->diff_id ? l->diff_id : l->digest);
                        if (!r.diff_ids[r.n_diff_ids]) {
                                rc = hd_error_set(err, -ENOMEM, "out of memory");
                                goto fail;
                        }
                        r.n_diff_ids++;
                }
        hd_image_array_free(images, n_images);
        if (r.n_digests)
                qsort(r.digests, r.n_digests, sizeof(*r.digests), cmp_str);
        if (r.n_diff_ids)
                qsort(r.diff_ids, r.n_diff_ids, sizeof(*r.diff_ids), cmp_str);
        *ret = r;
        return 0;

fail:
        hd_image_array_free(images, n_images);
        refs_done(&r);
        return rc;
}

/* Removes the blob unless a layer row or an image names it; 1 when removed. */
static int drop_blob(HdImgStore *s, const Refs *refs, const char *digest, HdError **err)
{
        if (in_sorted(refs->digests, refs->n_digests, digest))
                return 0;
        _cleanup_error_ HdError *e = NULL;
        int r = hd_img_blob_remove(s->blobs, digest, &e);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return hd_error_propagate(err, &e);
        return 1;
}

/* Removes the layer tree unless an image lists its diff_id; 1 when removed. */
static int drop_tree(HdImgStore *s, const Refs *refs, const char *diff_id, HdError **err)
{
        if (in_sorted(refs->diff_ids, refs->n_diff_ids, diff_id))
                return 0;
        _cleanup_error_ HdError *e = NULL;
        int r = hd_img_layers_remove(s->layers, diff_id, &e);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return hd_error_propagate(err, &e);
        return 1;
}

/* Removes the import directories an interrupted import left under root. */
static int remove_import_dirs(HdImgStore *s, HdError **err)
{
        int fd = openat(s->root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return hd_error_set(err, -errno, "cannot open `%s`: %m", s->root);
        DIR *d = fdopendir(fd);
        if (!d) {
                close(fd);
                return hd_error_set(err, -errno, "cannot open `%s`: %m", s->root);
        }
        int r = 0;
        struct dirent *de;
        while ((de = readdir(d))) {
                if (!hd_str_startswith(de->d_name, HD_IMG_IMPORT_TMP_PREFIX))
                        continue;
                int q = hd_img_rm_rf_at(s->root_fd, de->d_name);
                if (q < 0 && r == 0)
                        r = hd_error_set(err, q, "cannot remove `%s/%s`: %s", s->root, de->d_name,
                                         strerror(-q));
        }
        closedir(d);
        return r;
}

/* Removes every blob and tree the inventory does not reference. ret_trees_extra counts
 * the trees removed whose diff_id is not among deleted[] (layer rows just deleted). */
static int reconcile(HdImgStore *s, const HdImageLayer *deleted, size_t n_deleted,
                     int64_t *ret_blobs, int64_t *ret_trees_extra, HdError **err)
{
        Refs refs = { 0 };
        char **list = NULL;
        size_t n = 0;
        int64_t blobs = 0, trees = 0;
        int r = refs_load(s, &refs, err);
        if (r < 0)
                return r;

        r = hd_img_blobs_list(s->blobs, &list, &n, err);
        if (r < 0)
                goto out;
        for (size_t k = 0; k < n && r >= 0; k++) {
                r = drop_blob(s, &refs, list[k], err);
                blobs += r > 0;
        }
        hd_img_blob_digests_free(list);
        list = NULL;
        if (r < 0)
                goto out;

        r = hd_img_layers_list(s->layers, &list, &n, err);
        if (r < 0)
                goto out;
        for (size_t k = 0; k < n && r >= 0; k++) {
                r = drop_tree(s, &refs, list[k], err);
                if (r <= 0)
                        continue;
                bool known = false;
                for (size_t j = 0; j < n_deleted && !known; j++)
                        known = deleted[j].diff_id && strcmp(deleted[j].diff_id, list[k]) == 0;
                trees += !known;
        }
        hd_img_layers_list_free(list);
        if (r < 0)
                goto out;
        r = remove_import_dirs(s, err);
out:
        refs_done(&refs);
        if (ret_blobs)
                *ret_blobs = blobs;
        if (ret_trees_extra)
                *ret_trees_extra = trees;
        return r < 0 ? r : 0;
}

/* ---- open and close -------------------------------------------------------------------- */

int hd_img_store_open(const char *root, HdStore *inventory, const HdImgStoreConfig *cfg,
                      HdImgStore **ret, HdError **err)
{
        static const HdImgStoreConfig defaults = { 0 };
        if (!cfg)
                cfg = &defaults;
        if (!root || !*root || !inventory)
                return hd_error_set(err, -EINVAL, "image store root or inventory is missing");

        HdImgStore *s = calloc(1, sizeof(*s));
        if (!s)
                return hd_error_set(err, -ENOMEM, "out of memory");
        s->root_fd = -1;
        s->inventory = inventory;
        pthread_mutex_init(&s->lock, NULL);
        _cleanup_(hd_img_store_closep) HdImgStore *owned = s;

        s->max_upload_bytes =
                cfg->max_upload_bytes > 0 ? cfg->max_upload_bytes : DEFAULT_MAX_UPLOAD;
        s->layer_limits = cfg->tar_limits;
        s->layer_limits.allow_devices = cfg->allow_devices;
        s->layer_limits.keep_setid = cfg->keep_setid;
        /* The archives around layers (OCI layouts, docker save, kernel bundles) never need
         * devices or setid bits. */
        s->archive_limits = cfg->tar_limits;
        s->archive_limits.allow_devices = false;
        s->archive_limits.keep_setid = false;

        if (!(s->root = strdup(root)))
                return hd_error_set(err, -ENOMEM, "out of memory");
        int r = hd_mkdir_p(root, 0700);
        if (r < 0)
                return hd_error_set(err, r, "cannot create `%s`: %s", root, strerror(-r));
        s->root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (s->root_fd < 0)
                return hd_error_set(err, -errno, "cannot open `%s`: %m", root);

        _cleanup_free_ char *blobs = NULL, *layers = NULL;
        if (asprintf(&blobs, "%s/blobs", root) < 0 || asprintf(&layers, "%s/layers", root) < 0)
                return hd_error_set(err, -ENOMEM, "out of memory");
        if ((r = hd_img_blobs_open(blobs, &s->blobs, err)) < 0 ||
            (r = hd_img_layers_open(layers, &s->layers, err)) < 0)
                return r;
        if ((r = reconcile(s, NULL, 0, NULL, NULL, err)) < 0)
                return hd_error_wrap(err, "cannot clean up the image store");
        *ret = TAKE_PTR(owned);
        return 0;
}

void hd_img_store_close(HdImgStore *s)
{
        if (!s)
                return;
        hd_img_layers_close(s->layers);
        hd_img_blobs_close(s->blobs);
        if (s->root_fd >= 0)
                close(s->root_fd);
        pthread_mutex_destroy(&s->lock);
        free(s->root);
        free(s);
}

/* ---- import ------------------------------------------------------------------------------ */

struct HdImgImport {
        HdImgStore *s;
        char *name;
        char *tag;
        HdKind kind;
        char *format;
        HdImgBlobWriter *w;
};

static bool is_lower_alnum(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* [a-z0-9]+([._/-][a-z0-9]+)*, at most 255 bytes. */
static bool name_is_valid(const char *s)
{
        size_t n = strlen(s);
        if (n == 0 || n > 255 || !is_lower_alnum(s[0]) || !is_lower_alnum(s[n - 1]))
                return false;
        for (size_t k = 1; k < n; k++)
                if (!is_lower_alnum(s[k]) && (!strchr("._/-", s[k]) || !is_lower_alnum(s[k - 1])))
                        return false;
        return true;
}

/* [A-Za-z0-9_][A-Za-z0-9._-]{0,127} */
static bool tag_is_valid(const char *s)
{
        size_t n = strlen(s);
        if (n == 0 || n > 128)
                return false;
        for (size_t k = 0; k < n; k++) {
                char c = s[k];
                bool ok = is_lower_alnum(c) || (c >= 'A' && c <= 'Z') || c == '_' ||
                          (k > 0 && (c == '.' || c == '-'));
                if (!ok)
                        return false;
        }
        return true;
}

static bool format_fits(HdKind kind, const char *format)
{
        static const char *const ct[] = { "rootfs", "oci-archive", "docker-archive" };
        static const char *const vm[] = { "qcow2", "raw", "kernel" };
        const char *const *a = kind == HD_KIND_VM ? vm : ct;
        for (size_t k = 0; k < 3; k++)
                if (strcmp(format, a[k]) == 0)
                        return true;
        return false;
}

int hd_img_store_check_new(HdImgStore *s, const char *name, const char *tag, HdError **err)
{
        if (!name || !name_is_valid(name))
                return hd_error_set_field(err, -EINVAL, "name",
                                          "image name `%.300s` is invalid: use lowercase letters, "
                                          "digits and single separators (._/-) between them",
                                          name ? name : "");
        if (!tag_is_valid(tag))
                return hd_error_set_field(err, -EINVAL, "tag",
                                          "image tag `%.300s` is invalid: use letters, digits, "
                                          "_, . and - (not first), at most 128",
                                          tag);
        _cleanup_free_ char *ref = NULL;
        if (asprintf(&ref, "%s:%s", name, tag) < 0)
                return hd_error_set(err, -ENOMEM, "out of memory");
        HdImage *existing = NULL;
        _cleanup_error_ HdError *e = NULL;
        int r = hd_store_image_get(s->inventory, ref, &existing, &e);
        if (r >= 0) {
                hd_image_free(existing);
                return hd_error_set(err, -EEXIST, "image `%s` already exists", ref);
        }
        if (r != -ENOENT)
                return hd_error_propagate(err, &e);
        return 0;
}

int hd_img_import_begin(HdImgStore *s, const HdImgImportParams *p, HdImgImport **ret, HdError **err)
{
        const char *tag = p->tag ? p->tag : "latest";
        if (!p->name || !name_is_valid(p->name))
                return hd_error_set_field(err, -EINVAL, "name",
                                          "image name `%.300s` is invalid: use lowercase letters, "
                                          "digits and single separators (._/-) between them",
                                          p->name ? p->name : "");
        if (!tag_is_valid(tag))
                return hd_error_set_field(err, -EINVAL, "tag",
                                          "image tag `%.300s` is invalid: use letters, digits, "
                                          "_, . and - (not first), at most 128",
                                          tag);
        if (p->kind != HD_KIND_CONTAINER && p->kind != HD_KIND_VM)
                return hd_error_set_field(err, -EINVAL, "kind", "image kind is invalid");
        if (!p->format || !format_fits(p->kind, p->format))
                return hd_error_set_field(err, -EINVAL, "format",
                                          "format `%.100s` cannot be imported as a %s image (use "
                                          "%s)",
                                          p->format ? p->format : "", hd_kind_to_string(p->kind),
                                          p->kind == HD_KIND_VM
                                                  ? "qcow2, raw or kernel"
                                                  : "rootfs, oci-archive or docker-archive");

        _cleanup_free_ char *ref = NULL;
        if (asprintf(&ref, "%s:%s", p->name, tag) < 0)
                return hd_error_set(err, -ENOMEM, "out of memory");
        HdImage *existing = NULL;
        _cleanup_error_ HdError *e = NULL;
        int r = hd_store_image_get(s->inventory, ref, &existing, &e);
        if (r >= 0) {
                hd_image_free(existing);
                return hd_error_set(err, -EEXIST, "image `%s` already exists", ref);
        }
        if (r != -ENOENT)
                return hd_error_propagate(err, &e);

        _cleanup_(hd_img_import_abortp) HdImgImport *imp = calloc(1, sizeof(*imp));
        if (!imp)
                return hd_error_set(err, -ENOMEM, "out of memory");
        imp->s = s;
        imp->kind = p->kind;
        if (!(imp->name = strdup(p->name)) || !(imp->tag = strdup(tag)) ||
            !(imp->format = strdup(p->format)))
                return hd_error_set(err, -ENOMEM, "out of memory");
        r = hd_img_blob_writer_new(s->blobs, NULL, -1, s->max_upload_bytes, &imp->w, err);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(imp);
        return 0;
}

int hd_img_import_write(HdImgImport *imp, const void *data, size_t len, HdError **err)
{
        int r = hd_img_blob_writer_write(imp->w, data, len, err);
        if (r == -EFBIG)
                return hd_error_wrap(err, "upload is larger than %lld bytes",
                                     (long long)imp->s->max_upload_bytes);
        return r;
}

void hd_img_import_abort(HdImgImport *imp)
{
        if (!imp)
                return;
        hd_img_blob_writer_abort(imp->w);
        free(imp->name);
        free(imp->tag);
        free(imp->format);
        free(imp);
}

static int push_str(char ***a, size_t *n, const char *s, HdError **err)
{
        char **na = realloc(*a, (*n + 1) * sizeof(**a));
        if (!na)
                return hd_error_set(err, -ENOMEM, "out of memory");
        *a = na;
        if (!(na[*n] = strdup(s)))
                return hd_error_set(err, -ENOMEM, "out of memory");
        (*n)++;
        return 0;
}

int hd_img_ctx_track_blob(HdImgImportCtx *c, const char *digest, HdError **err)
{
        return push_str(&c->blobs, &c->n_blobs, digest, err);
}

int hd_img_ctx_track_tree(HdImgImportCtx *c, const char *diff_id, HdError **err)
{
        return push_str(&c->trees, &c->n_trees, diff_id, err);
}

int hd_img_ctx_extract_upload(HdImgImportCtx *c, HdError **err)
{
        _cleanup_free_ char *path = NULL;
        if (asprintf(&path, "%s/" HD_IMG_IMPORT_TMP_PREFIX "XXXXXX", c->s->root) < 0)
                return hd_error_set(err, -ENOMEM, "out of memory");
        if (!mkdtemp(path))
                return hd_error_set(err, -errno, "cannot create a directory in `%s`: %m",
                                    c->s->root);
        if (!(c->tmp_name = strdup(strrchr(path, '/') + 1)))
                return hd_error_set(err, -ENOMEM, "out of memory");
        c->tmp_fd =
                openat(c->s->root_fd, c->tmp_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (c->tmp_fd < 0)
                return hd_error_set(err, -errno, "cannot open `%s`: %m", path);

        _cleanup_close_ int fd = -1;
        int r = hd_img_blob_open(c->s->blobs, c->upload, &fd, NULL, err);
        if (r < 0)
                return r;
        _cleanup_error_ HdError *e = NULL;
        r = hd_img_tar_extract(fd, HD_IMG_COMPRESSION_AUTO, c->tmp_fd, &c->s->archive_limits, NULL,
                               &e);
        if (r == -EINVAL || r == -EOPNOTSUPP) {
                r = hd_error_set_field(err, -EINVAL, "body", "upload is not a valid %s: %s",
                                       c->format, e && e->message ? e->message : "corrupt");
                return r;
        }
        if (r < 0)
                return hd_error_propagate(err, &e);
        return 0;
}

/* Removes what the import put on disk and no inventory row references: on success the
 * wrapping upload of an archive, on failure everything it added. */
static void ctx_done(HdImgImportCtx *c)
{
        if (c->tmp_fd >= 0)
                close(c->tmp_fd);
        if (c->tmp_name)
                (void)hd_img_rm_rf_at(c->s->root_fd, c->tmp_name);
        Refs refs = { 0 };
        /* Without the references nothing can be told apart: leave the rest to prune. */
        if (refs_load(c->s, &refs, NULL) >= 0) {
                for (size_t k = 0; k < c->n_trees; k++)
                        (void)drop_tree(c->s, &refs, c->trees[k], NULL);
                for (size_t k = 0; k < c->n_blobs; k++)
                        (void)drop_blob(c->s, &refs, c->blobs[k], NULL);
                refs_done(&refs);
        }
        for (size_t k = 0; k < c->n_trees; k++)
                free(c->trees[k]);
        free(c->trees);
        for (size_t k = 0; k < c->n_blobs; k++)
                free(c->blobs[k]);
        free(c->blobs);
        free(c->tmp_name);
}

static int record(HdImgStore *s, HdImage *img, HdError **err)
{
        _cleanup_tx_ HdStoreTx *tx = NULL;
        int r = hd_store_tx_begin(s->inventory, &tx, err);
        if (r >= 0)
                r = hd_store_tx_image_insert(tx, img, err);
        if (r >= 0)
                r = hd_store_tx_commit(TAKE_PTR(tx), err);
        return r;
}

int hd_img_import_finish(HdImgImport *imp, HdImage **ret, HdError **err)
{
        _cleanup_(hd_img_import_abortp) HdImgImport *owned = imp;
        HdImgStore *s = imp->s;
        HdImgImportCtx c = { .s = s,
                             .name = imp->name,
                             .tag = imp->tag,
                             .kind = imp->kind,
                             .format = imp->format,
                             .tmp_fd = -1 };
        _cleanup_(hd_image_freep) HdImage *img = calloc(1, sizeof(*img));
        if (!img)
                return hd_error_set(err, -ENOMEM, "out of memory");

        pthread_mutex_lock(&s->lock);
        int r = hd_img_blob_writer_commit(imp->w, c.upload, err);
        if (r >= 0)
                r = hd_img_ctx_track_blob(&c, c.upload, err);
        if (r >= 0) {
                _cleanup_close_ int fd = -1;
                r = hd_img_blob_open(s->blobs, c.upload, &fd, &c.upload_size, err);
        }
        if (r >= 0) {
                if (strcmp(c.format, "rootfs") == 0)
                        r = hd_img_import_rootfs(&c, img, err);
                else if (strcmp(c.format, "oci-archive") == 0)
                        r = hd_img_import_oci(&c, img, err);
                else if (strcmp(c.format, "docker-archive") == 0)
                        r = hd_img_import_docker(&c, img, err);
                else
                        r = hd_img_import_vm(&c, img, err);
        }
        if (r >= 0) {
                img->kind = c.kind;
                if (!(img->name = strdup(c.name)) || !(img->tag = strdup(c.tag)) ||
                    !(img->format = strdup(c.format)))
                        r = hd_error_set(err, -ENOMEM, "out of memory");
        }
        if (r >= 0)
                r = record(s, img, err);
        ctx_done(&c);
        pthread_mutex_unlock(&s->lock);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(img);
        return 0;
}

int hd_img_store_run_import(HdImgStore *s, const char *name, const char *tag, const char *format,
                            HdImgFillFn fill, void *ud, HdImage **ret, HdError **err)
{
        HdImgImportCtx c = { .s = s,
                             .name = name,
                             .tag = tag,
                             .kind = HD_KIND_CONTAINER,
                             .format = format,
                             .tmp_fd = -1 };
        _cleanup_(hd_image_freep) HdImage *img = calloc(1, sizeof(*img));
        if (!img)
                return hd_error_set(err, -ENOMEM, "out of memory");

        pthread_mutex_lock(&s->lock);
        int r = fill(&c, img, ud, err);
        if (r >= 0) {
                img->kind = c.kind;
                if (!(img->name = strdup(name)) || !(img->tag = strdup(tag)) ||
                    !(img->format = strdup(format)))
                        r = hd_error_set(err, -ENOMEM, "out of memory");
        }
        if (r >= 0)
                r = record(s, img, err);
        ctx_done(&c);
        pthread_mutex_unlock(&s->lock);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(img);
        return 0;
}

/* ---- delete and prune ------------------------------------------------------------------- */

/* Deletes the layer rows no image references any more; *ret gets them. */
static int delete_unreferenced(HdStoreTx *tx, HdImageLayer **ret, size_t *ret_n, HdError **err)
{
        HdImageLayer *a = NULL;
        size_t n = 0;
        int r = hd_store_tx_layers_unreferenced(tx, &a, &n, err);
        for (size_t k = 0; r >= 0 && k < n; k++)
                r = hd_store_tx_layer_delete(tx, a[k].digest, err);
        if (r < 0) {
                hd_image_layers_free(a, n);
                return r;
        }
        *ret = a;
        *ret_n = n;
        return 0;
}

int hd_img_store_delete(HdImgStore *s, const char *ref, HdError **err)
{
        _cleanup_(hd_image_freep) HdImage *img = NULL;
        HdImageLayer *gone = NULL;
        size_t n_gone = 0;
        int64_t users = 0;

        pthread_mutex_lock(&s->lock);
        _cleanup_tx_ HdStoreTx *tx = NULL;
        int r = hd_store_tx_begin(s->inventory, &tx, err);
        if (r >= 0)
                r = hd_store_tx_image_get(tx, ref, &img, err);
        if (r >= 0)
                r = hd_store_tx_image_users(tx, img, &users, err);
        if (r >= 0 && users > 0)
                r = hd_error_set(err, -EBUSY, "image `%s` is used by %lld instance(s)", ref,
                                 (long long)users);
        if (r >= 0)
                r = hd_store_tx_image_delete(tx, img->id, err);
        if (r >= 0)
                r = delete_unreferenced(tx, &gone, &n_gone, err);
        if (r >= 0)
                r = hd_store_tx_commit(TAKE_PTR(tx), err);
        if (r < 0) {
                hd_store_tx_rollback(TAKE_PTR(tx));
                pthread_mutex_unlock(&s->lock);
                return r;
        }

        /* The tag is gone. What cannot be removed from disk now is an orphan that the next
         * prune or open removes, so it does not fail the delete. */
        Refs refs = { 0 };
        if (refs_load(s, &refs, NULL) >= 0) {
                for (size_t k = 0; k < n_gone; k++) {
                        const char *diff_id = gone[k].diff_id ? gone[k].diff_id : gone[k].digest;
                        (void)drop_tree(s, &refs, diff_id, NULL);
                        (void)drop_blob(s, &refs, gone[k].digest, NULL);
                }
                /* Its manifest and config, unless another tag of the image keeps them. */
                if (img->manifest_digest)
                        (void)drop_blob(s, &refs, img->manifest_digest, NULL);
                if (img->config_digest)
                        (void)drop_blob(s, &refs, img->config_digest, NULL);
                refs_done(&refs);
        }
        hd_image_layers_free(gone, n_gone);
        pthread_mutex_unlock(&s->lock);
        return 0;
}

static int usage_total(HdImgStore *s, int64_t *ret, HdError **err)
{
        int64_t b = 0, l = 0;
        int r = hd_img_store_usage(s, &b, &l, err);
        if (r < 0)
                return r;
        *ret = b + l;
        return 0;
}

int hd_img_store_prune(HdImgStore *s, HdImgPruneResult *ret, HdError **err)
{
        HdImageLayer *gone = NULL;
        size_t n_gone = 0;
        int64_t before = 0, after = 0, blobs = 0, trees = 0;

        pthread_mutex_lock(&s->lock);
        _cleanup_tx_ HdStoreTx *tx = NULL;
        int r = usage_total(s, &before, err);
        if (r >= 0)
                r = hd_store_tx_begin(s->inventory, &tx, err);
        if (r >= 0)
                r = delete_unreferenced(tx, &gone, &n_gone, err);
        if (r >= 0)
                r = hd_store_tx_commit(TAKE_PTR(tx), err);
        hd_store_tx_rollback(TAKE_PTR(tx));
        if (r >= 0)
                r = reconcile(s, gone, n_gone, &blobs, &trees, err);
        if (r >= 0)
                r = usage_total(s, &after, err);
        hd_image_layers_free(gone, n_gone);
        pthread_mutex_unlock(&s->lock);
        if (r < 0)
                return r;
        *ret = (HdImgPruneResult){ .layers_removed = (int64_t)n_gone + trees,
                                   .blobs_removed = blobs,
                                   .bytes_freed = before > after ? before - after : 0 };
        return 0;
}

int hd_img_store_rootfs(HdImgStore *s, const char *ref, HdImgRootfs *ret, HdError **err)
{
        *ret = (HdImgRootfs){ 0 };
        _cleanup_(hd_img_rootfs_clear) HdImgRootfs rf = { 0 };
        pthread_mutex_lock(&s->lock);
        int r = hd_store_image_get(s->inventory, ref, &rf.image, err);
        if (r >= 0 && rf.image->kind != HD_KIND_CONTAINER)
                r = hd_error_set_field(err, -EINVAL, "image",
                                       "image `%s` is a VM image, not a container image", ref);
        if (r >= 0 && !(rf.lower = calloc(rf.image->n_layers + 1, sizeof(char *))))
                r = hd_error_set(err, -ENOMEM, "out of memory");
        /* overlayfs lists the top layer first; the image lists the base first. */
        for (size_t k = 0; r >= 0 && k < rf.image->n_layers; k++) {
                const HdImageLayer *l = &rf.image->layers[rf.image->n_layers - 1 - k];
                r = hd_img_layers_path(s->layers, l->diff_id, &rf.lower[k], err);
                if (r >= 0)
                        rf.n_lower++;
        }
        pthread_mutex_unlock(&s->lock);
        if (r < 0)
                return r;
        if (rf.n_lower == 0)
                return hd_error_set_field(err, -EINVAL, "image", "image `%s` has no layers", ref);
        *ret = rf;
        rf = (HdImgRootfs){ 0 };
        return 0;
}

void hd_img_rootfs_clear(HdImgRootfs *r)
{
        if (!r)
                return;
        for (size_t k = 0; r->lower && k < r->n_lower; k++)
                free(r->lower[k]);
        free(r->lower);
        hd_image_free(r->image);
        *r = (HdImgRootfs){ 0 };
}

int hd_img_store_vm_file(HdImgStore *s, const char *ref, HdImgVmFile *ret, HdError **err)
{
        *ret = (HdImgVmFile){ 0 };
        _cleanup_(hd_image_freep) HdImage *img = NULL;
        _cleanup_(hd_img_vm_file_clear) HdImgVmFile f = { 0 };
        pthread_mutex_lock(&s->lock);
        int r = hd_store_image_get(s->inventory, ref, &img, err);
        if (r >= 0 && img->kind != HD_KIND_VM)
                r = hd_error_set_field(err, -EINVAL, "image",
                                       "image `%s` is a container image, not a VM image", ref);
        if (r >= 0 && img->n_layers != 1)
                r = hd_error_set(err, -EIO, "VM image `%s` has %zu files, not one", ref,
                                 img->n_layers);
        if (r >= 0)
                r = hd_img_blob_path(s->blobs, img->layers[0].digest, &f.path, err);
        pthread_mutex_unlock(&s->lock);
        if (r < 0)
                return r;
        json_error_t jerr;
        _cleanup_json_ json_t *cfg =
                img->config_json ? json_loads(img->config_json, 0, &jerr) : NULL;
        const char *cmdline = json_string_value(json_object_get(cfg, "cmdline"));
        f.size = img->layers[0].size;
        if (!(f.format = strdup(img->format)) || !(f.digest = strdup(img->layers[0].digest)) ||
            (strcmp(img->format, "kernel") == 0 && !(f.cmdline = strdup(cmdline ? cmdline : ""))))
                return hd_error_set(err, -ENOMEM, "out of memory");
        *ret = f;
        f = (HdImgVmFile){ 0 };
        return 0;
}

void hd_img_vm_file_clear(HdImgVmFile *f)
{
        if (!f)
                return;
        free(f->path);
        free(f->format);
        free(f->digest);
        free(f->cmdline);
        *f = (HdImgVmFile){ 0 };
}

int hd_img_store_usage(HdImgStore *s, int64_t *ret_blob_bytes, int64_t *ret_layer_bytes,
                       HdError **err)
{
        int64_t b = 0, l = 0;
        int r = hd_img_blobs_usage(s->blobs, &b, NULL, err);
        if (r >= 0)
                r = hd_img_layers_usage(s->layers, &l, err);
        if (r < 0)
                return r;
        if (ret_blob_bytes)
                *ret_blob_bytes = b;
        if (ret_layer_bytes)
                *ret_layer_bytes = l;
        return 0;
}
