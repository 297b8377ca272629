/* An OCI Distribution (v2) registry client on libcurl, for pulls and pushes: image references,
 * manifests fetched into memory (they are small and capped), blobs streamed straight into
 * the blob store. Handles bearer-token and basic-auth challenges, follows blob redirects,
 * and with tls_verify off accepts unverified certificates or plain http (as skopeo's
 * --tls-verify=false does). Not for other modules than the image store. */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hd-error.h"
#include "img-blobs.h"

/* HOST[:PORT]/REPO[:TAG|@sha256:HEX]. */
typedef struct HdImgRef {
        char *host;   /* host[:port] */
        char *repo;   /* path components, lowercase */
        char *tag;    /* NULL when neither tag nor digest was given ("latest" is meant) */
        char *digest; /* NULL unless the reference is by digest */
} HdImgRef;

/* Parses s into ret (free with hd_img_ref_done). -EINVAL naming "ref" when it is not
 * HOST[:PORT]/REPO[:TAG|@sha256:<64 lowercase hex>]. */
int hd_img_ref_parse(const char *s, HdImgRef *ret, HdError **err);
void hd_img_ref_done(HdImgRef *r);

typedef struct HdImgRegistry HdImgRegistry;

typedef struct HdImgRegistryOptions {
        bool tls_verify;      /* false: unverified certificates and plain http accepted */
        const char *username; /* NULL: anonymous */
        const char *password;
        const atomic_bool *cancel; /* set: transfers stop with -ECANCELED; may be NULL */
} HdImgRegistryOptions;

/* A client for one repository of one registry. Copies what it keeps of o. */
int hd_img_registry_new(const char *host, const char *repo, const HdImgRegistryOptions *o,
                        HdImgRegistry **ret, HdError **err);
void hd_img_registry_free(HdImgRegistry *r);
HD_DEFINE_CLEANUP(HdImgRegistry *, hd_img_registry_free)

/* GET /v2/<repo>/manifests/<reference> (a tag or a digest), accepting OCI manifests and
 * indexes and Docker schema2 manifests and lists. *ret_body (NUL-terminated, *ret_len
 * bytes) and *ret_media_type (may be NULL) are the caller's to free. Errors: -ENOENT for
 * an unknown repository or reference, -EACCES when the registry refuses us,
 * -ECONNREFUSED/-EHOSTUNREACH (with curl's message) when it cannot be reached, -EBADMSG
 * naming "body" for a manifest larger than 4 MiB, -EIO for other HTTP answers. */
int hd_img_registry_get_manifest(HdImgRegistry *r, const char *reference, char **ret_body,
                                 size_t *ret_len, char **ret_media_type, HdError **err);

/* GET /v2/<repo>/blobs/<digest>, following redirects, written into w as it arrives.
 * progress (may be NULL) gets the bytes of this blob received so far. Errors as for
 * manifests; a blob larger than w expects is -EBADMSG naming "body". w is not committed. */
int hd_img_registry_get_blob(HdImgRegistry *r, const char *digest, HdImgBlobWriter *w,
                             void (*progress)(int64_t done, void *ud), void *ud, HdError **err);

/* HEAD /v2/<repo>/blobs/<digest>: *ret tells whether the registry has the blob. */
int hd_img_registry_has_blob(HdImgRegistry *r, const char *digest, int64_t size, bool *ret,
                             HdError **err);

/* Uploads size bytes read from fd (with pread, from offset 0) as the blob digest: POST
 * /v2/<repo>/blobs/uploads/, then one PUT with ?digest=; the registry verifies the
 * digest. progress (may be NULL) gets the bytes sent so far. */
int hd_img_registry_put_blob(HdImgRegistry *r, const char *digest, int fd, int64_t size,
                             void (*progress)(int64_t done, void *ud), void *ud, HdError **err);

/* PUT /v2/<repo>/manifests/<reference> of len bytes at body with its media type; -EBADMSG
 * when the registry says it stored something other than digest. */
int hd_img_registry_put_manifest(HdImgRegistry *r, const char *reference, const char *media_type,
                                 const char *body, size_t len, const char *digest, HdError **err);
