/* The store of unpacked container layers: each layer is extracted once, named by its
 * diff_id (the sha256 of its uncompressed tar), and shared read-only by every image that
 * lists it, as an overlayfs lowerdir. Layout under a root (`<state-dir>/images/layers`):
 *
 *   ROOT/<64 lowercase hex>/   a finished layer tree, never modified in place
 *   ROOT/.tmp/                 extractions and removals in progress (emptied at open)
 *
 * A tree appears under its name only complete, synced and with its digests checked, so a
 * crash at any point leaves either the whole layer or nothing. Every digest passed in is
 * validated ("sha256:" + 64 lowercase hex) before it is used to build a path; a malformed
 * one is -EINVAL with field "digest" (a blob) or "diff_id" (a layer). One process owns a
 * root at a time; within it the calls are safe from several threads. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hd-error.h"
#include "img-blobs.h"
#include "img-digest.h"
#include "img-tar.h"

typedef struct HdImgLayers HdImgLayers;

/* Opens the store at root, creating root (and missing parents) and root/.tmp with mode
 * 0700, and removes whatever an interrupted extraction or removal left in root/.tmp. The
 * store keeps an O_PATH fd of root for all later access. Free with hd_img_layers_close. */
int hd_img_layers_open(const char *root, HdImgLayers **ret, HdError **err);
void hd_img_layers_close(HdImgLayers *l);
HD_DEFINE_CLEANUP(HdImgLayers *, hd_img_layers_close)

/* Unpacks the layer archive blob_digest from blobs (compression sniffed) into a fresh
 * directory under .tmp/, checks that the archive hashes to blob_digest and, when
 * expected_diff_id is not NULL, that its uncompressed tar hashes to expected_diff_id
 * (-EBADMSG, field "digest" or "diff_id"), syncs the tree and renames it to its diff_id
 * atomically. If that layer is already stored (an earlier or concurrent unpack), the
 * stored tree is kept, the new one dropped and *ret_created set to false; that is a
 * success. ret_diff_id receives the diff_id; ret_created may be NULL. limits is passed to
 * hd_img_tar_extract (NULL: defaults); its errors are passed on with the blob named.
 * Whatever the outcome, no partial tree is left behind. The whole archive is always read
 * and checked: a caller that knows the diff_id and wants to skip a stored layer asks
 * hd_img_layers_exists first. Needs root (see hd_img_tar_extract). */
int hd_img_layers_unpack(HdImgLayers *l, HdImgBlobs *blobs, const char *blob_digest,
                         const char *expected_diff_id, const HdImgTarLimits *limits,
                         char ret_diff_id[static HD_IMG_DIGEST_STRING_MAX], bool *ret_created,
                         HdError **err);

/* The absolute path of the stored layer's tree in *ret_path (the caller frees it), built
 * from the root as given to hd_img_layers_open. -ENOENT (field "diff_id") when absent. */
int hd_img_layers_path(HdImgLayers *l, const char *diff_id, char **ret_path, HdError **err);

/* 1 when the layer is stored, 0 when not, <0 on error (-EINVAL for a malformed diff_id). */
int hd_img_layers_exists(HdImgLayers *l, const char *diff_id, HdError **err);

/* Removes the layer: its tree is first renamed into .tmp/ (so it is never seen half
 * deleted under its name), then deleted without following symlinks or crossing mounts.
 * -ENOENT (field "diff_id") when absent. The caller makes sure that no instance uses the
 * layer any more. If the rename succeeded but the deletion did not finish, the layer is
 * gone, the error says so, and the rest is deleted at the next open. Not fsynced: a crash
 * may bring a removed layer back, whole, for a later garbage collection to remove again. */
int hd_img_layers_remove(HdImgLayers *l, const char *diff_id, HdError **err);

/* The diff_ids of all stored layers, sorted, in a NULL-terminated array of *ret_n strings
 * (ret_n may be NULL; free with hd_img_layers_list_free). Entries of root that are not
 * directories named by 64 lowercase hex digits are skipped. */
int hd_img_layers_list(HdImgLayers *l, char ***ret_diff_ids, size_t *ret_n, HdError **err);
void hd_img_layers_list_free(char **diff_ids);

/* Disk usage of the stored layers, like du(1): the sum of st_blocks * 512 over every
 * file and directory of the trees, each inode counted once (hard links), without
 * following symlinks or crossing into other mounts. Layers removed during the walk may or
 * may not be counted. */
int hd_img_layers_usage(HdImgLayers *l, int64_t *ret_bytes, HdError **err);
