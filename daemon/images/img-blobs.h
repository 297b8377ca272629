/* The content-addressed blob store: image manifests, configs and layer archives kept by
 * their sha256 digest under a root directory (`<state-dir>/images/blobs`):
 *
 *   ROOT/sha256/<64 lowercase hex>   committed blobs, never modified in place
 *   ROOT/tmp/                        writes in progress (emptied when the store is opened)
 *
 * A blob appears under sha256/ only complete, fsynced and with its digest checked, so a
 * crash at any point leaves either the whole blob or nothing. Every digest passed in is
 * validated ("sha256:" + 64 lowercase hex) before it is used to build a path; a malformed
 * one is -EINVAL with field "digest". One process owns a root at a time. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hd-error.h"
#include "img-digest.h"

typedef struct HdImgBlobs HdImgBlobs;
typedef struct HdImgBlobWriter HdImgBlobWriter;

/* True when s is "sha256:" followed by exactly 64 lowercase hex digits. */
bool hd_img_blob_digest_is_valid(const char *s);

/* ---- the store ---------------------------------------------------------------------- */

/* Opens the store at root, creating root (and missing parents), root/sha256 and root/tmp
 * with mode 0700, and removes whatever an interrupted write left in root/tmp. The store
 * keeps an O_PATH fd of root for all later access, so root may be renamed afterwards.
 * Free with hd_img_blobs_close. */
int hd_img_blobs_open(const char *root, HdImgBlobs **ret, HdError **err);
void hd_img_blobs_close(HdImgBlobs *b);
HD_DEFINE_CLEANUP(HdImgBlobs *, hd_img_blobs_close)

/* Makes writers use named temp files (tmp/<random>) instead of O_TMPFILE. The store
 * already does so by itself where O_TMPFILE files cannot be linked; this is for tests. */
void hd_img_blobs_disable_tmpfile(HdImgBlobs *b);

/* ---- writing ------------------------------------------------------------------------ */

/* Starts a blob. expected_digest (or NULL) and expected_size (or -1) are checked at
 * commit; max_size (or -1 for no limit) caps the bytes accepted. The writer borrows b,
 * which must outlive it. -EINVAL for a malformed expected_digest (field "digest") or a
 * negative size other than -1, -EFBIG when expected_size is above max_size. */
int hd_img_blob_writer_new(HdImgBlobs *b, const char *expected_digest, int64_t expected_size,
                           int64_t max_size, HdImgBlobWriter **ret, HdError **err);

/* Appends len bytes, hashing them on the way; nothing is buffered in memory. -EFBIG past
 * max_size, -EBADMSG past expected_size, -errno from the file system. After a failure the
 * blob is discarded: further writes and the commit fail with the same code. */
int hd_img_blob_writer_write(HdImgBlobWriter *w, const void *data, size_t len, HdError **err);

/* Finishes the blob: fsyncs it, checks it against the expected digest and size (-EBADMSG
 * on a mismatch, field "digest" or "size"), then links it into sha256/ atomically and
 * fsyncs the directory. If the blob is already stored, the existing file is kept and this
 * copy dropped; that is a success. ret_digest receives the blob's digest. Whatever the
 * outcome, the writer is finished (w must still be released with hd_img_blob_writer_abort),
 * and a blob that failed its checks leaves nothing on disk. */
int hd_img_blob_writer_commit(HdImgBlobWriter *w, char ret_digest[static HD_IMG_DIGEST_STRING_MAX],
                              HdError **err);

/* Releases w: an uncommitted blob is discarded (its temp file removed); after a commit
 * this only frees. NULL is fine, so it serves as the cleanup function. */
void hd_img_blob_writer_abort(HdImgBlobWriter *w);
HD_DEFINE_CLEANUP(HdImgBlobWriter *, hd_img_blob_writer_abort)
#define _cleanup_blob_writer_ _cleanup_(hd_img_blob_writer_abortp)

/* ---- reading and maintenance -------------------------------------------------------- */

/* Opens the blob read-only (O_CLOEXEC) into *ret_fd (the caller closes it) and its size
 * into *ret_size (may be NULL). -ENOENT naming the digest when it is not stored. */
int hd_img_blob_open(HdImgBlobs *b, const char *digest, int *ret_fd, int64_t *ret_size,
                     HdError **err);

/* The blob's absolute path, for a reader that needs a name (a VM's backing file). It is
 * read-only by contract: nothing may write through it. -ENOENT when not stored. */
int hd_img_blob_path(HdImgBlobs *b, const char *digest, char **ret, HdError **err);

/* 1 when the blob is stored, 0 when not, <0 on error (-EINVAL for a malformed digest). */
int hd_img_blob_exists(HdImgBlobs *b, const char *digest, HdError **err);

/* Removes the blob; -ENOENT naming the digest when it is not stored. Not fsynced: a crash
 * may bring a removed blob back, which a later prune removes again. Readers holding it
 * open keep reading it. */
int hd_img_blob_remove(HdImgBlobs *b, const char *digest, HdError **err);

/* Rehashes the stored blob: -EBADMSG (field "digest") when its content does not match its
 * name, -ENOENT when it is not stored. */
int hd_img_blob_verify(HdImgBlobs *b, const char *digest, HdError **err);

/* The digests of all stored blobs, sorted, in a NULL-terminated array of *ret_n strings
 * (free with hd_img_blob_digests_free). Files in sha256/ that are not named like a blob
 * or are not regular files are skipped. */
int hd_img_blobs_list(HdImgBlobs *b, char ***ret_digests, size_t *ret_n, HdError **err);
void hd_img_blob_digests_free(char **digests);

/* Total apparent size (st_size) and number of the stored blobs; either pointer may be
 * NULL. Counts the same files as hd_img_blobs_list. */
int hd_img_blobs_usage(HdImgBlobs *b, int64_t *ret_bytes, int64_t *ret_count, HdError **err);
