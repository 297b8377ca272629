/* Pulls: a manifest by tag or digest (an index narrowed to linux/amd64), then the config
 * and layers streamed into the blob store and recorded like an oci-archive import
 * (img-import.c does the recording). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hd-json.h"
#include "img-registry.h"
#include "img-store-internal.h"

#define PROGRESS_STEP (256 << 10)

/* ---- pull ------------------------------------------------------------------------------ */

typedef struct Pull {
        HdImgRegistry *reg;
        const char *digest;
        const char *body;
        size_t len;
        int64_t total;
        int64_t done;     /* bytes of the blobs finished */
        int64_t reported; /* the last figure given to progress */
        void (*progress)(int64_t done, int64_t total, void *ud);
        void *ud;
} Pull;

static void report(Pull *pl, int64_t now, bool force)
{
        if (!pl->progress || (!force && now - pl->reported < PROGRESS_STEP))
                return;
        pl->reported = now;
        pl->progress(now, pl->total, pl->ud);
}

static void on_blob_bytes(int64_t done, void *ud)
{
        Pull *pl = ud;
        report(pl, pl->done + done, false);
}

static int fetch(void *ud, const char *digest, int64_t size, HdImgBlobWriter *w, HdError **err)
{
        Pull *pl = ud;
        if (w) {
                int r = hd_img_registry_get_blob(pl->reg, digest, w, on_blob_bytes, pl, err);
                if (r < 0)
                        return r;
        }
        pl->done += size;
        report(pl, pl->done, true);
        return 0;
}

static int fill(HdImgImportCtx *c, HdImage *img, void *ud, HdError **err)
{
        Pull *pl = ud;
        return hd_img_import_manifest(c, img, pl->digest, pl->body, pl->len, fetch, pl, err);
}

static int sha256_of(const char *data, size_t len, char out[static HD_IMG_DIGEST_STRING_MAX],
                     HdError **err)
{
        int r = hd_img_digest_of(data, len, out);
        if (r < 0)
                return hd_error_set(err, r, "cannot hash: %s", strerror(-r));
        return 0;
}

/* Fetches the manifest reference names and checks it against expected (may be NULL);
 * ret_digest gets its digest. */
static int get_manifest(HdImgRegistry *reg, const char *reference, const char *expected,
                        char **ret_body, size_t *ret_len, char **ret_media_type,
                        char ret_digest[static HD_IMG_DIGEST_STRING_MAX], HdError **err)
{
        int r = hd_img_registry_get_manifest(reg, reference, ret_body, ret_len, ret_media_type,
                                             err);
        if (r < 0)
                return r;
        if ((r = sha256_of(*ret_body, *ret_len, ret_digest, err)) < 0)
                return r;
        if (expected && strcmp(expected, ret_digest) != 0)
                return hd_error_set_field(err, -EBADMSG, "body",
                                          "manifest `%s` does not match its digest (it is `%s`)",
                                          expected, ret_digest);
        return 0;
}

/* The bytes a manifest's config and layers add up to; 0 when it does not parse (the
 * import says why). */
static int64_t manifest_total(const char *body, size_t len)
{
        json_error_t jerr;
        _cleanup_json_ json_t *doc = json_loadb(body, len, 0, &jerr);
        int64_t total = json_integer_value(json_object_get(json_object_get(doc, "config"), "size"));
        size_t k;
        json_t *l;
        json_array_foreach (json_object_get(doc, "layers"), k, l)
                total += json_integer_value(json_object_get(l, "size"));
        return total < 0 ? 0 : total;
}

static int pull_error(HdError **err, int r, const char *ref)
{
        hd_error_wrap(err, "cannot pull `%.300s`", ref);
        return r;
}

/* The reference parsed, and the local name and tag it lands as (borrowed from p or ref). */
static int pull_names(HdImgStore *s, const HdImgPullParams *p, HdImgRef *ref, const char **ret_name,
                      const char **ret_tag, HdError **err)
{
        int r = hd_img_ref_parse(p->ref, ref, err);
        if (r < 0)
                return r;
        *ret_name = p->name                   ? p->name
                    : strrchr(ref->repo, '/') ? strrchr(ref->repo, '/') + 1
                                              : ref->repo;
        *ret_tag = p->tag ? p->tag : ref->tag ? ref->tag : "latest";
        return hd_img_store_check_new(s, *ret_name, *ret_tag, err);
}

int hd_img_store_pull_check(HdImgStore *s, const HdImgPullParams *p, char **ret_target,
                            HdError **err)
{
        _cleanup_(hd_img_ref_done) HdImgRef ref = { 0 };
        const char *name, *tag;
        int r = pull_names(s, p, &ref, &name, &tag, err);
        if (r < 0)
                return r;
        if (asprintf(ret_target, "%s:%s", name, tag) < 0)
                return hd_error_set(err, -ENOMEM, "out of memory");
        return 0;
}

int hd_img_store_pull(HdImgStore *s, const HdImgPullParams *p,
                      void (*progress)(int64_t done, int64_t total, void *ud), void *ud,
                      HdImage **ret, HdError **err)
{
        _cleanup_(hd_img_ref_done) HdImgRef ref = { 0 };
        const char *name, *tag;
        int r = pull_names(s, p, &ref, &name, &tag, err);
        if (r < 0)
                return r;

        _cleanup_(hd_img_registry_freep) HdImgRegistry *reg = NULL;
        HdImgRegistryOptions o = { .tls_verify = p->tls_verify,
                                   .username = p->username,
                                   .password = p->password,
                                   .cancel = p->cancel };
        if ((r = hd_img_registry_new(ref.host, ref.repo, &o, &reg, err)) < 0)
                return r;
        _cleanup_free_ char *body = NULL, *media_type = NULL;
        size_t len;
        char digest[HD_IMG_DIGEST_STRING_MAX];
        const char *reference = ref.digest ? ref.digest : ref.tag ? ref.tag : "latest";
        if ((r = get_manifest(reg, reference, ref.digest, &body, &len, &media_type, digest, err)) <
            0)
                return pull_error(err, r, p->ref);

        /* An index or a manifest list: the linux/amd64 manifest it names. */
        json_error_t jerr;
        _cleanup_json_ json_t *doc = json_loadb(body, len, 0, &jerr);
        if (!doc)
                return hd_error_set_field(err, -EINVAL, "body",
                                          "manifest of `%.300s` is not valid JSON: %s", p->ref,
                                          jerr.text);
        if (hd_img_is_index(media_type, doc)) {
                json_t *desc = NULL;
                if ((r = hd_img_pick_platform(doc, &desc, err)) < 0)
                        return r;
                const char *d = json_string_value(json_object_get(desc, "digest"));
                if (!d || !hd_img_blob_digest_is_valid(d))
                        return hd_error_set_field(err, -EINVAL, "body",
                                                  "image index names an invalid digest");
                _cleanup_free_ char *expected = strdup(d);
                if (!expected)
                        return hd_error_set(err, -ENOMEM, "out of memory");
                free(body);
                free(media_type);
                body = media_type = NULL;
                if ((r = get_manifest(reg, expected, expected, &body, &len, &media_type, digest,
                                      err)) < 0)
                        return pull_error(err, r, p->ref);
        }

        Pull pl = { .reg = reg,
                    .digest = digest,
                    .body = body,
                    .len = len,
                    .total = manifest_total(body, len),
                    .progress = progress,
                    .ud = ud };
        report(&pl, 0, true);
        r = hd_img_store_run_import(s, name, tag, "oci-archive", fill, &pl, ret, err);
        if (r < 0)
                return pull_error(err, r, p->ref);
        return 0;
}
