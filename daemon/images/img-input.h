/* The layer extractor's input stream, private to hd_images_tar: reads a layer from an fd,
 * decompresses it on the fly (gzip, zstd or none; AUTO sniffs the magic bytes) and hashes
 * both the bytes read (the OCI layer digest) and the uncompressed tar (the diff_id),
 * counting the latter against a limit. The input comes from strangers.
 *
 * Errors set with the field "entry" and no entry name, as hd_img_tar_extract promises for
 * every refused or corrupt archive (img-tar.h). */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "hd-error.h"
#include "img-digest.h"
#include "img-tar.h"

typedef struct HdImgInput HdImgInput;

/* Opens a stream on src_fd, which stays the caller's and is read to its end. comp is NONE,
 * GZIP, ZSTD or AUTO; with AUTO the first bytes are read now to pick one, and xz or bzip2
 * is -EOPNOTSUPP. max_bytes caps the uncompressed stream (see hd_img_input_read). On
 * success *ret is the stream, to free with hd_img_input_free; -ENOMEM, or -errno from
 * reading src_fd, otherwise. */
int hd_img_input_new(int src_fd, HdImgCompression comp, uint64_t max_bytes, HdImgInput **ret,
                     HdError **err);

/* Reads up to n uncompressed bytes into buf, fewer only at the end of the stream (0 there).
 * Every byte is hashed into the diff_id and counted against max_bytes. Errors: -EINVAL
 * "corrupt layer: …" for bad or truncated compressed data, -EFBIG past max_bytes, -EIO if
 * hashing fails, -errno from reading src_fd. */
ssize_t hd_img_input_read(HdImgInput *in, void *buf, size_t n, HdError **err);

/* The compression in use (AUTO resolved). */
HdImgCompression hd_img_input_compression(const HdImgInput *in);
/* Bytes read from src_fd so far. */
uint64_t hd_img_input_bytes_read(const HdImgInput *in);
/* Uncompressed bytes returned by hd_img_input_read so far. */
uint64_t hd_img_input_bytes_uncompressed(const HdImgInput *in);

/* Writes the sha256 of the bytes read from src_fd (digest) and of the uncompressed bytes
 * (diff_id: the same when there is no compression). Call once, after the last read: the
 * hashes cannot be fed afterwards. -EIO if the crypto library fails; sets no error. */
int hd_img_input_digests(HdImgInput *in, char digest[static HD_IMG_DIGEST_STRING_MAX],
                         char diff_id[static HD_IMG_DIGEST_STRING_MAX]);

/* Frees the stream (NULL is fine); src_fd is left open. */
void hd_img_input_free(HdImgInput *in);
HD_DEFINE_CLEANUP(HdImgInput *, hd_img_input_free)
