/* The image store: imports images (streamed, never held in memory), keeps their
 * blobs and unpacked layers on disk (img-blobs, img-layers) and their records in
 * the inventory (store.h), deletes and prunes them, and cleans up after a crash.
 *
 * Layout under root (<state-dir>/images): blobs/ (content-addressed) and layers/
 * (one unpacked tree per container layer diff_id). Layer blobs, VM image files and each
 * container image's manifest and config (for exports) are kept as blobs; the instance
 * defaults taken from the config are kept in its inventory row. */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "hd-error.h"
#include "img-tar.h"
#include "store.h"

typedef struct HdImgStore HdImgStore;

typedef struct HdImgStoreConfig {
        bool allow_devices;        /* device nodes in layers (default refused) */
        bool keep_setid;           /* setuid/setgid bits in layers (default dropped) */
        int64_t max_upload_bytes;  /* 0 = 64 GiB */
        HdImgTarLimits tar_limits; /* zeroes = the extractor's defaults */
} HdImgStoreConfig;

/* Opens (creating) the store and removes what a crash left: blobs and layer trees
 * that no inventory row references, and interrupted writes. */
int hd_img_store_open(const char *root, HdStore *inventory, const HdImgStoreConfig *cfg,
                      HdImgStore **ret, HdError **err);
void hd_img_store_close(HdImgStore *s);
HD_DEFINE_CLEANUP(HdImgStore *, hd_img_store_close)

/* ---- import ---------------------------------------------------------------------- */

typedef struct HdImgImportParams {
        const char *name;   /* required */
        const char *tag;    /* NULL = "latest" */
        HdKind kind;        /* container or vm */
        const char *format; /* container: rootfs, oci-archive, docker-archive;
                             * vm: qcow2, raw, kernel */
} HdImgImportParams;

typedef struct HdImgImport HdImgImport;

/* Checks the parameters before a byte is read: -EINVAL naming "name", "tag",
 * "kind" or "format" (a format the kind cannot use included); -EEXIST when
 * name:tag is taken. */
int hd_img_import_begin(HdImgStore *s, const HdImgImportParams *p, HdImgImport **ret,
                        HdError **err);
/* Streams the next bytes of the upload to disk. -EFBIG past max_upload_bytes. */
int hd_img_import_write(HdImgImport *imp, const void *data, size_t len, HdError **err);
/* Verifies and unpacks what was uploaded and records the image; *ret gets it with
 * its layers. Always frees imp; on failure nothing of the import is left (-EINVAL
 * naming "body" for an archive that is not what format says). */
int hd_img_import_finish(HdImgImport *imp, HdImage **ret, HdError **err);
/* Drops an import (the client went away, or the request was refused). NULL is fine. */
void hd_img_import_abort(HdImgImport *imp);
HD_DEFINE_CLEANUP(HdImgImport *, hd_img_import_abort)

/* ---- delete and prune ------------------------------------------------------------ */

/* Removes one tag. -EBUSY (message gives the count) while instances use it. Layers
 * no other image references are removed with it (row, unpacked tree and blob). */
int hd_img_store_delete(HdImgStore *s, const char *ref, HdError **err);

typedef struct HdImgPruneResult {
        int64_t layers_removed;
        int64_t blobs_removed;
        int64_t bytes_freed;
} HdImgPruneResult;

/* Removes every layer and blob that no image references. */
int hd_img_store_prune(HdImgStore *s, HdImgPruneResult *ret, HdError **err);

/* Bytes on disk: blobs, and unpacked layer trees. */
int hd_img_store_usage(HdImgStore *s, int64_t *ret_blob_bytes, int64_t *ret_layer_bytes,
                       HdError **err);

/* ---- export ---------------------------------------------------------------------------- */

/* Exports the image ref names (as hd_store_image_get reads it). A container image becomes
 * an OCI image layout tar (oci-layout, index.json naming the manifest with its tag, then
 * blobs/sha256/ with manifest, config and layers) whose digests are those imported; it is
 * written to an unlinked file in the store's root, streamed from the blobs. A VM image is
 * its single file, opened read-only. *ret_fd (the caller closes it) is at offset 0;
 * *ret_size gets its size and *ret_content_type a static "application/x-tar" or
 * "application/octet-stream". -ENOENT for an unknown ref, -EOPNOTSUPP for a container
 * image imported before manifests were kept. */
int hd_img_store_export(HdImgStore *s, const char *ref, int *ret_fd, int64_t *ret_size,
                        const char **ret_content_type, HdError **err);

/* ---- containers ------------------------------------------------------------------------- */

/* What a container is made from: the unpacked layer trees, top first as overlayfs's
 * lowerdir lists them, and the image record (its config holds the defaults: entrypoint,
 * cmd, env, workdir, user). */
typedef struct HdImgRootfs {
        char **lower; /* absolute paths, NULL-terminated */
        size_t n_lower;
        HdImage *image;
} HdImgRootfs;

/* Resolves a container image reference. -ENOENT for an unknown image; -EINVAL naming
 * "image" for a VM image. */
int hd_img_store_rootfs(HdImgStore *s, const char *ref, HdImgRootfs *ret, HdError **err);
void hd_img_rootfs_clear(HdImgRootfs *r);

/* What a VM is made from: the image file (qcow2, raw, or a kernel bundle tar), stored
 * whole and never written (an instance writes an overlay backed by it). */
typedef struct HdImgVmFile {
        char *path;    /* absolute, read-only by contract */
        char *format;  /* "qcow2", "raw" or "kernel" */
        char *digest;  /* the file's sha256: a stable name for caches */
        char *cmdline; /* kernel bundles: the bundle's cmdline (may be ""), else NULL */
        int64_t size;
} HdImgVmFile;

/* Resolves a VM image reference. -ENOENT for an unknown image; -EINVAL naming "image" for
 * a container image. */
int hd_img_store_vm_file(HdImgStore *s, const char *ref, HdImgVmFile *ret, HdError **err);
void hd_img_vm_file_clear(HdImgVmFile *f);

/* ---- push ------------------------------------------------------------------------------ */

typedef struct HdImgPushParams {
        const char *image;    /* the local image: name[:tag] or a digest */
        const char *ref;      /* HOST[:PORT]/REPO[:TAG]; the tag defaults to the local one */
        bool tls_verify;      /* false: unverified certificates and plain http accepted */
        const char *username; /* NULL: anonymous (bearer tokens are still fetched) */
        const char *password;
        const atomic_bool *cancel; /* may be NULL */
} HdImgPushParams;

/* Pushes a container image to an OCI Distribution (v2) registry: the config and layers
 * the registry lacks (checked with HEAD), each uploaded whole and verified by the
 * registry, then the manifest exactly as stored, so the image has the same digest there
 * (ret_digest). progress (may be NULL) gets bytes done of total. Errors: -EINVAL naming
 * "ref" (malformed, or a digest) or "image" (a VM image); -ENOENT for an unknown image;
 * -EACCES when the registry refuses us; -ECONNREFUSED/-EHOSTUNREACH when it cannot be
 * reached; -ECANCELED once cancel is set; -EBADMSG when the registry stored something
 * else. */
/* The checks of a push that need no network (the reference, the image and its kind), so
 * that a request can be refused before a transfer is queued. */
int hd_img_store_push_check(HdImgStore *s, const HdImgPushParams *p, HdError **err);
int hd_img_store_push(HdImgStore *s, const HdImgPushParams *p,
                      void (*progress)(int64_t done, int64_t total, void *ud), void *ud,
                      char ret_digest[static HD_IMG_DIGEST_STRING_MAX], HdError **err);

/* ---- pull ------------------------------------------------------------------------------ */

typedef struct HdImgPullParams {
        const char *ref;      /* HOST[:PORT]/REPO[:TAG|@sha256:…]; the tag defaults to latest */
        const char *name;     /* local name; NULL = the repository's last path component */
        const char *tag;      /* local tag; NULL = the remote tag, or latest */
        bool tls_verify;      /* false: unverified certificates and plain http accepted */
        const char *username; /* NULL: anonymous (bearer tokens are still fetched) */
        const char *password;
        const atomic_bool *cancel; /* may be NULL */
} HdImgPullParams;

/* Pulls a container image from an OCI Distribution (v2) registry (an index narrowed to
 * linux/amd64) and records it as name:tag like an oci-archive import: its digest is the
 * manifest's, the manifest and config blobs are kept, layers already stored are neither
 * fetched again nor duplicated. Blobs are streamed to disk and every digest is checked.
 * progress (may be NULL) gets the bytes done of total (config and layers) now and then, on
 * the calling thread. On failure nothing of the pull is left. *ret gets the image. Errors:
 * -EINVAL naming "ref" (a malformed reference), "name" or "tag"; -EEXIST when name:tag is
 * taken; -ENOENT for an unknown repository or tag; -EACCES when the registry refuses us;
 * -ECONNREFUSED or -EHOSTUNREACH (with curl's message) when it cannot be reached;
 * -EBADMSG naming "body" for a digest mismatch; -EINVAL naming "body" for a manifest or
 * config that is not valid. */
/* The checks of a pull that need no network: the reference, and the local name and tag
 * (free). *ret_target gets "name:tag". */
int hd_img_store_pull_check(HdImgStore *s, const HdImgPullParams *p, char **ret_target,
                            HdError **err);
int hd_img_store_pull(HdImgStore *s, const HdImgPullParams *p,
                      void (*progress)(int64_t done, int64_t total, void *ud), void *ud,
                      HdImage **ret, HdError **err);
