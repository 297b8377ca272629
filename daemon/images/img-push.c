/* Pushes: a container image's config and layers uploaded to an OCI Distribution (v2)
 * registry (those it has already are skipped), then its manifest under a tag, byte for
 * byte as stored so that its digest is the same on both sides. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hd-json.h"
#include "img-registry.h"
#include "img-store-internal.h"

#define MANIFEST_MAX    (4U << 20)
#define MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"

typedef struct Push {
        int64_t total;
        int64_t done; /* bytes of the blobs finished */
        void (*progress)(int64_t done, int64_t total, void *ud);
        void *ud;
} Push;

static void on_sent(int64_t done, void *ud)
{
        Push *ps = ud;
        if (ps->progress)
                ps->progress(ps->done + done, ps->total, ps->ud);
}

static int read_manifest(const HdImgOpenBlob *m, char **ret_body, char **ret_media_type,
                         HdError **err)
{
        if (m->size <= 0 || m->size > (int64_t)MANIFEST_MAX)
                return hd_error_set(err, -EIO, "stored manifest `%s` has an impossible size",
                                    m->digest);
        _cleanup_free_ char *body = malloc((size_t)m->size + 1);
        if (!body)
                return hd_error_set(err, -ENOMEM, "out of memory");
        int64_t got = 0;
        while (got < m->size) {
                ssize_t n = pread(m->fd, body + got, (size_t)(m->size - got), got);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return hd_error_set(err, -EIO, "cannot read stored manifest `%s`",
                                            m->digest);
                got += n;
        }
        body[m->size] = '\0';
        json_error_t jerr;
        _cleanup_json_ json_t *doc = json_loadb(body, (size_t)m->size, 0, &jerr);
        const char *mt = json_string_value(json_object_get(doc, "mediaType"));
        if (!(*ret_media_type = strdup(mt ? mt : MT_OCI_MANIFEST)))
                return hd_error_set(err, -ENOMEM, "out of memory");
        *ret_body = TAKE_PTR(body);
        return 0;
}

static int push_blobs(HdImgStore *s, const HdImgPushParams *p, HdImgOpenBlob **ret, size_t *ret_n,
                      HdError **err)
{
        pthread_mutex_lock(&s->lock);
        _cleanup_(hd_image_freep) HdImage *found = NULL;
        int r = hd_store_image_get(s->inventory, p->image, &found, err);
        if (r >= 0 && found->kind != HD_KIND_CONTAINER)
                r = hd_error_set_field(err, -EINVAL, "image",
                                       "image `%s` is a VM image; only container images can be "
                                       "pushed to an OCI registry",
                                       p->image);
        else if (r >= 0 && (!found->manifest_digest || !found->config_digest))
                r = hd_error_set_field(err, -EINVAL, "image",
                                       "image `%s` was imported before pushes were supported; "
                                       "import it again",
                                       p->image);
        else if (r >= 0)
                r = hd_img_store_open_blobs(s, found, ret, ret_n, err);
        pthread_mutex_unlock(&s->lock);
        return r;
}

/* A push's destination: HOST[:PORT]/REPO[:TAG], never a digest. */
static int parse_dest(const HdImgPushParams *p, HdImgRef *ref, HdError **err)
{
        int r = hd_img_ref_parse(p->ref, ref, err);
        if (r >= 0 && ref->digest)
                r = hd_error_set_field(err, -EINVAL, "ref",
                                       "a push goes to a tag, not to a digest (`%.300s`)", p->ref);
        return r;
}

int hd_img_store_push_check(HdImgStore *s, const HdImgPushParams *p, HdError **err)
{
        _cleanup_(hd_img_ref_done) HdImgRef ref = { 0 };
        int r = parse_dest(p, &ref, err);
        if (r < 0)
                return r;
        HdImgOpenBlob *blobs = NULL;
        size_t n = 0;
        if ((r = push_blobs(s, p, &blobs, &n, err)) < 0)
                return r;
        hd_img_open_blobs_close(blobs, n);
        return 0;
}

int hd_img_store_push(HdImgStore *s, const HdImgPushParams *p,
                      void (*progress)(int64_t done, int64_t total, void *ud), void *ud,
                      char ret_digest[static HD_IMG_DIGEST_STRING_MAX], HdError **err)
{
        _cleanup_(hd_img_ref_done) HdImgRef ref = { 0 };
        int r = parse_dest(p, &ref, err);
        if (r < 0)
                return r;

        /* The blobs are opened under the store's lock, so a delete cannot take one away
         * halfway; an open blob stays readable after that. */
        HdImgOpenBlob *blobs = NULL;
        size_t n = 0;
        if ((r = push_blobs(s, p, &blobs, &n, err)) < 0)
                return r;
        _cleanup_free_ char *manifest = NULL, *media_type = NULL;
        r = read_manifest(&blobs[0], &manifest, &media_type, err);

        _cleanup_free_ char *tag = NULL;
        if (r >= 0 && !ref.tag) {
                /* No tag given: the local one, as docker push does. */
                const char *colon = strrchr(p->image, ':');
                tag = strdup(colon && !strchr(colon, '/') ? colon + 1 : "latest");
                if (!tag)
                        r = hd_error_set(err, -ENOMEM, "out of memory");
        }
        _cleanup_(hd_img_registry_freep) HdImgRegistry *reg = NULL;
        HdImgRegistryOptions o = { .tls_verify = p->tls_verify,
                                   .username = p->username,
                                   .password = p->password,
                                   .cancel = p->cancel };
        if (r >= 0)
                r = hd_img_registry_new(ref.host, ref.repo, &o, &reg, err);

        Push ps = { .progress = progress, .ud = ud };
        for (size_t k = 1; k < n; k++)
                ps.total += blobs[k].size;
        if (progress && r >= 0)
                progress(0, ps.total, ud);
        /* Config first, then the layers: the manifest goes last, once the registry
         * holds everything it names. */
        for (size_t k = 1; r >= 0 && k < n; k++) {
                bool has = false;
                r = hd_img_registry_has_blob(reg, blobs[k].digest, blobs[k].size, &has, err);
                if (r >= 0 && !has)
                        r = hd_img_registry_put_blob(reg, blobs[k].digest, blobs[k].fd,
                                                     blobs[k].size, on_sent, &ps, err);
                ps.done += blobs[k].size;
                if (r >= 0 && progress)
                        progress(ps.done, ps.total, ud);
        }
        if (r >= 0)
                r = hd_img_registry_put_manifest(reg, ref.tag ? ref.tag : tag, media_type, manifest,
                                                 strlen(manifest), blobs[0].digest, err);
        if (r >= 0)
                snprintf(ret_digest, HD_IMG_DIGEST_STRING_MAX, "%s", blobs[0].digest);
        hd_img_open_blobs_close(blobs, n);
        if (r < 0 && r != -ECANCELED)
                hd_error_wrap(err, "cannot push `%s` to `%.300s`", p->image, p->ref);
        return r;
}
