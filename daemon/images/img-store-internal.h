/* Shared between img-store.c (the store: open, reconcile, delete, prune, the import's
 * bookkeeping) and img-import.c (what each upload format turns into). Not for other
 * modules. */
#pragma once

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "hd-json.h"
#include "img-blobs.h"
#include "img-layers.h"
#include "img-store.h"

struct HdImgStore {
        char *root;
        int root_fd; /* O_RDONLY|O_DIRECTORY */
        HdStore *inventory;
        int64_t max_upload_bytes;
        HdImgTarLimits layer_limits;   /* the configured limits, devices and setid bits */
        HdImgTarLimits archive_limits; /* for unpacking the archives that carry layers */
        HdImgBlobs *blobs;
        HdImgLayers *layers;
        /* Held through an import's finish, a delete and a prune, so that no blob or
         * tree one of them is about to reference is taken for an orphan by another. */
        pthread_mutex_t lock;
};

/* One import's finish: what the upload was and what it has put on disk so far, so that
 * whatever no inventory row references in the end is removed again. */
typedef struct HdImgImportCtx {
        HdImgStore *s;
        const char *name;
        const char *tag;
        HdKind kind;
        const char *format;
        char upload[HD_IMG_DIGEST_STRING_MAX]; /* the committed upload blob */
        int64_t upload_size;
        char **blobs; /* blobs this import committed */
        size_t n_blobs;
        char **trees; /* layer trees it unpacked (diff_ids) */
        size_t n_trees;
        char *tmp_name; /* ROOT/<tmp_name>: the unpacked upload, or NULL */
        int tmp_fd;
} HdImgImportCtx;

#define HD_IMG_IMPORT_TMP_PREFIX ".import-"

int hd_img_ctx_track_blob(HdImgImportCtx *c, const char *digest, HdError **err);
int hd_img_ctx_track_tree(HdImgImportCtx *c, const char *diff_id, HdError **err);
/* Unpacks the upload blob into a fresh ROOT/.import-XXXXXX (c->tmp_fd). */
int hd_img_ctx_extract_upload(HdImgImportCtx *c, HdError **err);

/* Each fills img's digest, size, config_json and layers from c's upload. Errors:
 * -EINVAL naming "body" for an upload that is not what the format says. */
int hd_img_import_rootfs(HdImgImportCtx *c, HdImage *img, HdError **err);
int hd_img_import_oci(HdImgImportCtx *c, HdImage *img, HdError **err);
int hd_img_import_docker(HdImgImportCtx *c, HdImage *img, HdError **err);
int hd_img_import_vm(HdImgImportCtx *c, HdImage *img, HdError **err);

/* Checks a new image's name and tag (-EINVAL naming "name" or "tag") and that name:tag is
 * free (-EEXIST). */
int hd_img_store_check_new(HdImgStore *s, const char *name, const char *tag, HdError **err);

/* Runs fill under the store's lock with a fresh container import context and records the
 * image it fills as name:tag in format; whatever fill put on disk (tracked in the context)
 * and no row references is removed afterwards, so a failure leaves nothing behind. *ret
 * gets the recorded image. */
typedef int (*HdImgFillFn)(HdImgImportCtx *c, HdImage *img, void *ud, HdError **err);
int hd_img_store_run_import(HdImgStore *s, const char *name, const char *tag, const char *format,
                            HdImgFillFn fill, void *ud, HdImage **ret, HdError **err);

/* Where the blobs of an image manifest come from (a registry): writes the blob digest of
 * size bytes into w, which checks both at commit. w is NULL when the blob is already
 * stored (for progress accounting only). */
typedef int (*HdImgFetchFn)(void *ud, const char *digest, int64_t size, HdImgBlobWriter *w,
                            HdError **err);

/* Fills img from an OCI or Docker schema2 image manifest (not an index) of the given
 * digest (len bytes at text, already checked against it): keeps the manifest, fetches the
 * config and the layers not yet stored, unpacks the layers. A blob that does not match its
 * digest or size is -EBADMSG naming "body"; a manifest or config that is not what it should
 * be, -EINVAL naming "body". */
int hd_img_import_manifest(HdImgImportCtx *c, HdImage *img, const char *digest, const char *text,
                           size_t len, HdImgFetchFn fetch, void *ud, HdError **err);

/* True when the document (of the given media type, may be NULL) is an OCI index or a
 * Docker manifest list rather than a manifest. */
bool hd_img_is_index(const char *media_type, json_t *doc);
/* The descriptor of index's linux/amd64 manifest (borrowed from index); -EINVAL naming
 * "body" when it has none. */
int hd_img_pick_platform(json_t *index, json_t **ret, HdError **err);

/* An image's blob, opened for reading. */
typedef struct HdImgOpenBlob {
        char digest[HD_IMG_DIGEST_STRING_MAX];
        int fd;
        int64_t size;
} HdImgOpenBlob;

/* Opens the manifest, config and each distinct layer blob of a container image, in that
 * order (call under s->lock; an open blob stays readable after a delete). */
int hd_img_store_open_blobs(HdImgStore *s, const HdImage *img, HdImgOpenBlob **ret, size_t *ret_n,
                            HdError **err);
void hd_img_open_blobs_close(HdImgOpenBlob *a, size_t n);
