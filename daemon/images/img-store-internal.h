/* Shared between img-store.c (the store: open, reconcile, delete, prune, the import's
 * bookkeeping) and img-import.c (what each upload format turns into). Not for other
 * modules. */
#pragma once

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

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
