/* The image importer's layer extractor: streams a (compressed) tar from an fd into a
 * directory, refusing anything that could write outside it, and computes the OCI layer
 * digest and diff_id on the way. Input is untrusted. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "hd-error.h"
#include "img-digest.h"

typedef enum HdImgCompression {
        HD_IMG_COMPRESSION_NONE,
        HD_IMG_COMPRESSION_GZIP,
        HD_IMG_COMPRESSION_ZSTD,
        HD_IMG_COMPRESSION_AUTO, /* sniff the magic bytes; plain tar otherwise */
} HdImgCompression;

/* A zero field takes the default below. */
typedef struct HdImgTarLimits {
        uint64_t max_bytes;   /* uncompressed tar stream, headers and padding included */
        uint64_t max_entries; /* entries extracted (pax/GNU meta headers not counted) */
        unsigned max_depth;   /* path components of an entry */
        unsigned max_path;    /* bytes of an entry's path and of a link's target */
        bool allow_devices;   /* extract char/block devices (FIFOs are always allowed) */
        bool keep_setid;      /* keep S_ISUID/S_ISGID on non-directories */
} HdImgTarLimits;

#define HD_IMG_TAR_DEFAULT_MAX_BYTES   (64ULL << 30)
#define HD_IMG_TAR_DEFAULT_MAX_ENTRIES 1000000ULL
#define HD_IMG_TAR_DEFAULT_MAX_DEPTH   128U
#define HD_IMG_TAR_DEFAULT_MAX_PATH    4096U

typedef struct HdImgTarResult {
        char digest[HD_IMG_DIGEST_STRING_MAX];  /* sha256 of the bytes read from src_fd */
        char diff_id[HD_IMG_DIGEST_STRING_MAX]; /* sha256 of the uncompressed tar */
        HdImgCompression compression;           /* the one used (AUTO resolved) */
        uint64_t bytes_read;                    /* from src_fd */
        uint64_t bytes_uncompressed;            /* the tar stream */
        uint64_t bytes_written;                 /* regular file contents */
        uint64_t entries;
} HdImgTarResult;

/* Extracts the tar read from src_fd (to its end) into the directory dest_dirfd, which
 * should be empty: hard links may only point at files this layer extracted. Memory use is
 * constant: 256 KiB of buffers, one pax or long-name header (at most 1 MiB) and the
 * decompressor's window (zstd's default cap, 128 MiB).
 *
 * Supports ustar, pax extended headers (path, linkpath, size, uid, gid, mtime) and GNU
 * long names (L/K). Applies owner, mode and mtime (a directory's mtime moves again when
 * later entries land in it). OCI whiteouts become overlayfs markers: `d/.wh.n` a 0:0
 * character device `d/n`, `d/.wh..wh..opq` the xattr trusted.overlay.opaque=y on `d`.
 * Needs root (ownership, whiteouts, trusted xattrs).
 *
 * limits may be NULL (all defaults); ret may be NULL and is filled only on success.
 * Errors: -EINVAL for a refused or corrupt archive (field "entry", the message names the
 * entry or "corrupt layer: …"), -EFBIG past max_bytes or max_entries, -EOPNOTSUPP for an
 * unsupported compression or entry type, other -errno from the file system. On failure a
 * partial tree is left in dest_dirfd: the caller removes it (hd_img_rm_rf_at). */
int hd_img_tar_extract(int src_fd, HdImgCompression comp, int dest_dirfd,
                       const HdImgTarLimits *limits, HdImgTarResult *ret, HdError **err);

/* Removes name (a single path component) under dirfd and, if it is a directory,
 * everything below it, without following symlinks or crossing into other mounts
 * (-EXDEV). A missing name is not an error. */
int hd_img_rm_rf_at(int dirfd, const char *name);

const char *hd_img_compression_to_string(HdImgCompression c);
