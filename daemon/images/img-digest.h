/* Streaming sha256 in the OCI digest form ("sha256:<64 lowercase hex>"). */
#pragma once

#include <stddef.h>

#include "hd-macro.h"

/* "sha256:" + 64 hex digits + NUL */
#define HD_IMG_DIGEST_STRING_MAX 72

typedef struct HdImgDigest HdImgDigest;

/* A fresh sha256 context in *ret; -ENOMEM on failure. Free with hd_img_digest_free. */
int hd_img_digest_new(HdImgDigest **ret);
/* Feeds bytes; -EIO if the crypto library fails. */
int hd_img_digest_update(HdImgDigest *d, const void *data, size_t len);
/* Writes "sha256:<hex>" of everything fed so far into out; the context cannot be fed
 * again afterwards. */
int hd_img_digest_final(HdImgDigest *d, char out[static HD_IMG_DIGEST_STRING_MAX]);
/* The digest of len bytes at data, in one call. */
int hd_img_digest_of(const void *data, size_t len, char out[static HD_IMG_DIGEST_STRING_MAX]);
void hd_img_digest_free(HdImgDigest *d);
HD_DEFINE_CLEANUP(HdImgDigest *, hd_img_digest_free)
