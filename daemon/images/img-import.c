/* What each upload format becomes: layers in the blob and layer stores, an image digest
 * and the defaults an instance made from the image starts with. The archives come from
 * strangers: they are unpacked with the safe extractor, every file is opened without
 * following symlinks, and every digest and size is checked before anything is recorded. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hd-json.h"
#include "img-store-internal.h"

#define JSON_MAX     (4U << 20) /* index, manifest, config */
#define CMDLINE_MAX  4096U
#define COPY_BUFSIZE (256U << 10)

#define MT_OCI_LAYER        "application/vnd.oci.image.layer.v1.tar"
#define MT_OCI_INDEX        "application/vnd.oci.image.index.v1+json"
#define MT_OCI_MANIFEST     "application/vnd.oci.image.manifest.v1+json"
#define MT_OCI_CONFIG       "application/vnd.oci.image.config.v1+json"
#define MT_DOCKER_LIST      "application/vnd.docker.distribution.manifest.list.v2+json"
#define ANNOTATION_REF_NAME "org.opencontainers.image.ref.name"

/* ---- errors ------------------------------------------------------------------------- */

static int body_error(HdError **err, const char *fmt, ...) HD_PRINTF(2, 3);

static int body_error(HdError **err, const char *fmt, ...)
{
        _cleanup_free_ char *msg = NULL;
        va_list ap;
        va_start(ap, fmt);
        int r = vasprintf(&msg, fmt, ap);
        va_end(ap);
        if (r < 0)
                return hd_error_set(err, -ENOMEM, "out of memory");
        return hd_error_set_field(err, -EINVAL, "body", "%s", msg);
}

/* An error from a lower layer about the upload's content (a corrupt archive, a digest
 * mismatch) becomes -EINVAL naming "body"; anything else (disk, memory, limits) is
 * passed on as it is. Consumes *inner. */
static int pass_error(HdError **err, HdError **inner, int r, const char *context)
{
        if (r == -EINVAL || r == -EBADMSG || r == -EOPNOTSUPP) {
                r = body_error(err, "%s: %s", context,
                               *inner && (*inner)->message ? (*inner)->message : "invalid");
                hd_error_free(*inner);
                *inner = NULL;
                return r;
        }
        if (!*inner)
                return hd_error_set(err, r, "%s: %s", context, strerror(-r));
        hd_error_wrap(inner, "%s", context);
        return hd_error_propagate(err, inner);
}

/* ---- reading the unpacked archive ----------------------------------------------------- */

/* Opens the regular file at relpath under dirfd for reading, never following a symlink
 * and refusing absolute paths and `..`. A missing or odd file is -EINVAL naming "body". */
static int open_in(int dirfd, const char *relpath, int *ret_fd, HdError **err)
{
        if (!relpath || !*relpath || relpath[0] == '/' || strlen(relpath) > 4096)
                return body_error(err, "archive path `%.200s` is invalid", relpath ? relpath : "");
        _cleanup_free_ char *copy = strdup(relpath);
        if (!copy)
                return hd_error_set(err, -ENOMEM, "out of memory");

        _cleanup_close_ int cur = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
        if (cur < 0)
                return hd_error_set(err, -errno, "cannot duplicate a directory fd: %m");
        char *save = NULL;
        char *comp = strtok_r(copy, "/", &save);
        while (comp) {
                char *next = strtok_r(NULL, "/", &save);
                if (strcmp(comp, ".") == 0) {
                        comp = next;
                        continue;
                }
                if (strcmp(comp, "..") == 0)
                        return body_error(err, "archive path `%.200s` leaves the archive", relpath);
                int flags = next ? O_PATH | O_DIRECTORY : O_RDONLY | O_NONBLOCK | O_NOCTTY;
                int fd = openat(cur, comp, flags | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0) {
                        int e = errno;
                        if (e == ENOENT || e == ELOOP || e == ENOTDIR)
                                return body_error(err, "archive lacks `%.200s`", relpath);
                        return hd_error_set(err, -e, "cannot open `%.200s` in the archive: %s",
                                            relpath, strerror(e));
                }
                close(cur);
                cur = fd;
                comp = next;
        }
        struct stat st;
        if (fstat(cur, &st) < 0)
                return hd_error_set(err, -errno, "cannot stat `%.200s`: %m", relpath);
        if (!S_ISREG(st.st_mode))
                return body_error(err, "archive member `%.200s` is not a regular file", relpath);
        *ret_fd = TAKE_FD(cur);
        return 0;
}

/* Reads all of fd, at most max bytes (else -EINVAL naming "body"), NUL-terminated. */
static int read_small(int fd, size_t max, const char *what, char **ret, size_t *ret_len,
                      HdError **err)
{
        _cleanup_free_ char *buf = malloc(max + 1);
        if (!buf)
                return hd_error_set(err, -ENOMEM, "out of memory");
        size_t len = 0;
        for (;;) {
                ssize_t n = read(fd, buf + len, max + 1 - len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return hd_error_set(err, -errno, "cannot read %s: %m", what);
                }
                if (n == 0)
                        break;
                len += (size_t)n;
                if (len > max)
                        return body_error(err, "%s is larger than %zu bytes", what, max);
        }
        buf[len] = '\0';
        *ret = TAKE_PTR(buf);
        *ret_len = len;
        return 0;
}

static int sha256_of(const void *data, size_t len, char out[static HD_IMG_DIGEST_STRING_MAX],
                     HdError **err)
{
        _cleanup_(hd_img_digest_freep) HdImgDigest *d = NULL;
        int r = hd_img_digest_new(&d);
        if (r >= 0)
                r = hd_img_digest_update(d, data, len);
        if (r >= 0)
                r = hd_img_digest_final(d, out);
        if (r < 0)
                return hd_error_set(err, r, "cannot hash: %s", strerror(-r));
        return 0;
}

static int parse_json(const char *buf, size_t len, const char *what, json_t **ret, HdError **err)
{
        json_error_t jerr;
        json_t *j = json_loadb(buf, len, 0, &jerr);
        if (!j)
                return body_error(err, "%s is not valid JSON: %s", what, jerr.text);
        *ret = j;
        return 0;
}

/* Reads the JSON file at relpath; *ret_digest (may be NULL) gets the sha256 of its bytes. */
static int read_json_file(int dirfd, const char *relpath, json_t **ret,
                          char ret_digest[HD_IMG_DIGEST_STRING_MAX], int64_t *ret_size,
                          HdError **err)
{
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *buf = NULL;
        size_t len;
        int r = open_in(dirfd, relpath, &fd, err);
        if (r < 0)
                return r;
        r = read_small(fd, JSON_MAX, relpath, &buf, &len, err);
        if (r < 0)
                return r;
        if (ret_digest && (r = sha256_of(buf, len, ret_digest, err)) < 0)
                return r;
        if (ret_size)
                *ret_size = (int64_t)len;
        return parse_json(buf, len, relpath, ret, err);
}

/* The path of a layout blob: blobs/sha256/<hex>. */
static int layout_path(const char *digest, char out[static 96], HdError **err)
{
        if (!hd_img_blob_digest_is_valid(digest))
                return body_error(err, "digest `%.100s` is not sha256:<64 lowercase hex>", digest);
        snprintf(out, 96, "blobs/sha256/%s", digest + strlen("sha256:"));
        return 0;
}

/* Reads a JSON blob of the layout and checks it against its descriptor. */
static int read_layout_json(int dirfd, const char *digest, int64_t size, json_t **ret,
                            HdError **err)
{
        char path[96], got[HD_IMG_DIGEST_STRING_MAX];
        int64_t got_size;
        _cleanup_json_ json_t *j = NULL;
        int r = layout_path(digest, path, err);
        if (r < 0)
                return r;
        r = read_json_file(dirfd, path, &j, got, &got_size, err);
        if (r < 0)
                return r;
        if (strcmp(got, digest) != 0)
                return body_error(err, "blob `%s` does not match its digest (it is `%s`)", digest,
                                  got);
        if (got_size != size)
                return body_error(err, "blob `%s` has %lld bytes, its descriptor says %lld", digest,
                                  (long long)got_size, (long long)size);
        *ret = TAKE_PTR(j);
        return 0;
}

/* A descriptor's digest, size and media type (may be NULL). */
static int get_descriptor(json_t *d, const char *what, const char **ret_digest, int64_t *ret_size,
                          const char **ret_media_type, HdError **err)
{
        json_t *digest = json_object_get(d, "digest");
        json_t *size = json_object_get(d, "size");
        json_t *mt = json_object_get(d, "mediaType");
        if (!json_is_object(d) || !json_is_string(digest) || !json_is_integer(size) ||
            json_integer_value(size) < 0 || (mt && !json_is_string(mt)))
                return body_error(err, "%s is not a valid descriptor", what);
        if (!hd_img_blob_digest_is_valid(json_string_value(digest)))
                return body_error(err, "%s digest `%.100s` is not sha256:<64 lowercase hex>", what,
                                  json_string_value(digest));
        *ret_digest = json_string_value(digest);
        *ret_size = json_integer_value(size);
        if (ret_media_type)
                *ret_media_type = mt ? json_string_value(mt) : NULL;
        return 0;
}

/* ---- layers --------------------------------------------------------------------------- */

/* Copies size bytes of fd into the blob store, checked against expected_digest when it is
 * not NULL; ret_digest gets the blob's digest. */
static int copy_to_blob(HdImgImportCtx *c, int fd, const char *expected_digest, int64_t size,
                        const char *what, char ret_digest[static HD_IMG_DIGEST_STRING_MAX],
                        HdError **err)
{
        _cleanup_blob_writer_ HdImgBlobWriter *w = NULL;
        _cleanup_error_ HdError *e = NULL;
        int r = hd_img_blob_writer_new(c->s->blobs, expected_digest, size, -1, &w, &e);
        if (r < 0)
                return pass_error(err, &e, r, what);
        _cleanup_free_ char *buf = malloc(COPY_BUFSIZE);
        if (!buf)
                return hd_error_set(err, -ENOMEM, "out of memory");
        for (;;) {
                ssize_t n = read(fd, buf, COPY_BUFSIZE);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return hd_error_set(err, -errno, "cannot read %s: %m", what);
                }
                if (n == 0)
                        break;
                r = hd_img_blob_writer_write(w, buf, (size_t)n, &e);
                if (r < 0)
                        return pass_error(err, &e, r, what);
        }
        r = hd_img_blob_writer_commit(w, ret_digest, &e);
        if (r == -EBADMSG)
                return body_error(err, "%s `%s` does not match its digest or size", what,
                                  expected_digest ? expected_digest : "");
        if (r < 0)
                return pass_error(err, &e, r, what);
        return hd_img_ctx_track_blob(c, ret_digest, err);
}

static _Thread_local int64_t tree_bytes;

static int add_size(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        (void)path;
        (void)ftw;
        if (flag == FTW_F && S_ISREG(st->st_mode))
                tree_bytes += st->st_size;
        return 0;
}

/* The bytes of the regular files of a stored layer tree; 0 when it cannot be walked. */
static int64_t tree_size(HdImgLayers *layers, const char *diff_id)
{
        _cleanup_free_ char *path = NULL;
        if (hd_img_layers_path(layers, diff_id, &path, NULL) < 0)
                return 0;
        tree_bytes = 0;
        if (nftw(path, add_size, 16, FTW_PHYS | FTW_MOUNT) != 0)
                return 0;
        return tree_bytes;
}

static const char *sniff_media_type(HdImgBlobs *blobs, const char *digest)
{
        _cleanup_close_ int fd = -1;
        unsigned char m[4] = { 0 };
        if (hd_img_blob_open(blobs, digest, &fd, NULL, NULL) < 0 ||
            pread(fd, m, sizeof(m), 0) != (ssize_t)sizeof(m))
                return MT_OCI_LAYER;
        if (m[0] == 0x1f && m[1] == 0x8b)
                return MT_OCI_LAYER "+gzip";
        if (m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f && m[3] == 0xfd)
                return MT_OCI_LAYER "+zstd";
        return MT_OCI_LAYER;
}

static int add_layer(HdImage *img, const char *digest, const char *diff_id, const char *media_type,
                     int64_t size, int64_t unpacked_size, HdError **err)
{
        HdImageLayer *a = realloc(img->layers, (img->n_layers + 1) * sizeof(*a));
        if (!a)
                return hd_error_set(err, -ENOMEM, "out of memory");
        img->layers = a;
        HdImageLayer *l = &a[img->n_layers];
        *l = (HdImageLayer){ .digest = strdup(digest),
                             .diff_id = strdup(diff_id),
                             .media_type = strdup(media_type),
                             .size = size,
                             .unpacked_size = unpacked_size };
        img->n_layers++;
        if (!l->digest || !l->diff_id || !l->media_type)
                return hd_error_set(err, -ENOMEM, "out of memory");
        img->size += size;
        return 0;
}

/* Unpacks the stored blob as the image's next layer (checked against expected_diff_id
 * when not NULL) and appends it to img. ret_diff_id may be NULL. */
static int unpack_layer(HdImgImportCtx *c, HdImage *img, const char *digest,
                        const char *expected_diff_id, const char *media_type,
                        char ret_diff_id[HD_IMG_DIGEST_STRING_MAX], HdError **err)
{
        char diff_id[HD_IMG_DIGEST_STRING_MAX];
        bool created = false;
        int64_t size = 0;
        _cleanup_error_ HdError *e = NULL;
        int r = hd_img_layers_unpack(c->s->layers, c->s->blobs, digest, expected_diff_id,
                                     &c->s->layer_limits, diff_id, &created, &e);
        if (r == -EBADMSG)
                return body_error(err, "layer `%s` does not match diff_id `%s`", digest,
                                  expected_diff_id ? expected_diff_id : "");
        if (r < 0)
                return pass_error(err, &e, r, "layer");
        if (created && (r = hd_img_ctx_track_tree(c, diff_id, err)) < 0)
                return r;
        _cleanup_close_ int fd = -1;
        r = hd_img_blob_open(c->s->blobs, digest, &fd, &size, err);
        if (r < 0)
                return r;
        if (!media_type)
                media_type = sniff_media_type(c->s->blobs, digest);
        r = add_layer(img, digest, diff_id, media_type, size, tree_size(c->s->layers, diff_id),
                      err);
        if (r < 0)
                return r;
        if (ret_diff_id)
                memcpy(ret_diff_id, diff_id, sizeof(diff_id));
        return 0;
}

/* ---- manifest and config blobs ---------------------------------------------------------- */

/* Stores len bytes of data as a blob, checked against expected_digest; ret_digest gets
 * its digest. */
static int put_blob(HdImgImportCtx *c, const void *data, size_t len, const char *expected_digest,
                    char ret_digest[static HD_IMG_DIGEST_STRING_MAX], HdError **err)
{
        _cleanup_blob_writer_ HdImgBlobWriter *w = NULL;
        int r = hd_img_blob_writer_new(c->s->blobs, expected_digest, (int64_t)len, -1, &w, err);
        if (r >= 0)
                r = hd_img_blob_writer_write(w, data, len, err);
        if (r >= 0)
                r = hd_img_blob_writer_commit(w, ret_digest, err);
        if (r < 0)
                return r;
        return hd_img_ctx_track_blob(c, ret_digest, err);
}

/* Keeps the file at relpath of the unpacked upload as a blob of the given digest and
 * size (already checked when it was read). */
static int keep_file(HdImgImportCtx *c, const char *relpath, const char *digest, int64_t size,
                     const char *what, HdError **err)
{
        _cleanup_close_ int fd = -1;
        char got[HD_IMG_DIGEST_STRING_MAX];
        int r = open_in(c->tmp_fd, relpath, &fd, err);
        if (r < 0)
                return r;
        return copy_to_blob(c, fd, digest, size, what, got, err);
}

/* Generates the OCI manifest of an image whose config blob is stored and whose layers
 * are img's, stores it as a blob and records both digests in img. The manifest is
 * compact JSON with sorted keys, so the same image always gets the same manifest. */
static int put_manifest(HdImgImportCtx *c, HdImage *img, const char *cfg_digest, int64_t cfg_size,
                        HdError **err)
{
        _cleanup_json_ json_t *m =
                json_pack("{s:i, s:s, s:{s:s, s:s, s:I}, s:[]}", "schemaVersion", 2, "mediaType",
                          MT_OCI_MANIFEST, "config", "mediaType", MT_OCI_CONFIG, "digest",
                          cfg_digest, "size", (json_int_t)cfg_size, "layers");
        if (!m)
                return hd_error_set(err, -ENOMEM, "out of memory");
        json_t *layers = json_object_get(m, "layers");
        for (size_t k = 0; k < img->n_layers; k++) {
                const HdImageLayer *l = &img->layers[k];
                if (json_array_append_new(layers,
                                          json_pack("{s:s, s:s, s:I}", "mediaType",
                                                    l->media_type ? l->media_type : MT_OCI_LAYER,
                                                    "digest", l->digest, "size",
                                                    (json_int_t)l->size)) < 0)
                        return hd_error_set(err, -ENOMEM, "out of memory");
        }
        _cleanup_free_ char *text = json_dumps(m, JSON_COMPACT | JSON_SORT_KEYS);
        if (!text)
                return hd_error_set(err, -ENOMEM, "out of memory");
        char digest[HD_IMG_DIGEST_STRING_MAX];
        int r = put_blob(c, text, strlen(text), NULL, digest, err);
        if (r < 0)
                return r;
        if (!(img->manifest_digest = strdup(digest)) || !(img->config_digest = strdup(cfg_digest)))
                return hd_error_set(err, -ENOMEM, "out of memory");
        return 0;
}

/* ---- image config --------------------------------------------------------------------- */

static int copy_strings(json_t *src, const char *what, json_t *dst, HdError **err)
{
        size_t k;
        json_t *v;
        if (!src || json_is_null(src))
                return 0;
        if (!json_is_array(src))
                return body_error(err, "image config %s is not an array", what);
        json_array_foreach (src, k, v) {
                if (!json_is_string(v))
                        return body_error(err, "image config %s holds a non-string", what);
                if (json_array_append(dst, v) < 0)
                        return hd_error_set(err, -ENOMEM, "out of memory");
        }
        return 0;
}

static int copy_string(json_t *src, const char *what, json_t *dst, const char *key, HdError **err)
{
        if (src && !json_is_null(src) && !json_is_string(src))
                return body_error(err, "image config %s is not a string", what);
        if (json_object_set_new(dst, key, json_string(src ? json_string_value(src) ?: "" : "")) < 0)
                return hd_error_set(err, -ENOMEM, "out of memory");
        return 0;
}

/* hostd's instance defaults from an OCI/Docker image config's "config" object (NULL:
 * all empty), as compact JSON in *ret. */
static int build_defaults(json_t *cfg, char **ret, HdError **err)
{
        if (cfg && !json_is_null(cfg) && !json_is_object(cfg))
                return body_error(err, "image config `config` is not an object");
        if (cfg && json_is_null(cfg))
                cfg = NULL;
        _cleanup_json_ json_t *out = json_object();
        json_t *entrypoint = json_array(), *cmd = json_array(), *env = json_array(),
               *ports = json_array(), *labels = json_object();
        if (!out || json_object_set_new(out, "entrypoint", entrypoint) < 0 ||
            json_object_set_new(out, "cmd", cmd) < 0 || json_object_set_new(out, "env", env) < 0)
                return hd_error_set(err, -ENOMEM, "out of memory");
        int r;
        if ((r = copy_strings(json_object_get(cfg, "Entrypoint"), "Entrypoint", entrypoint, err)) <
                    0 ||
            (r = copy_strings(json_object_get(cfg, "Cmd"), "Cmd", cmd, err)) < 0 ||
            (r = copy_strings(json_object_get(cfg, "Env"), "Env", env, err)) < 0 ||
            (r = copy_string(json_object_get(cfg, "WorkingDir"), "WorkingDir", out, "workdir",
                             err)) < 0 ||
            (r = copy_string(json_object_get(cfg, "User"), "User", out, "user", err)) < 0) {
                json_decref(ports);
                json_decref(labels);
                return r;
        }
        if (json_object_set_new(out, "exposed_ports", ports) < 0 ||
            json_object_set_new(out, "labels", labels) < 0)
                return hd_error_set(err, -ENOMEM, "out of memory");

        const char *key;
        json_t *v;
        json_t *src = json_object_get(cfg, "ExposedPorts");
        if (src && !json_is_null(src)) {
                if (!json_is_object(src))
                        return body_error(err, "image config ExposedPorts is not an object");
                json_object_foreach (src, key, v) {
                        if (json_array_append_new(ports, json_string(key)) < 0)
                                return hd_error_set(err, -ENOMEM, "out of memory");
                }
        }
        src = json_object_get(cfg, "Labels");
        if (src && !json_is_null(src)) {
                if (!json_is_object(src))
                        return body_error(err, "image config Labels is not an object");
                json_object_foreach (src, key, v) {
                        if (!json_is_string(v))
                                return body_error(err,
                                                  "image config label `%.100s` is not a "
                                                  "string",
                                                  key);
                        if (json_object_set(labels, key, v) < 0)
                                return hd_error_set(err, -ENOMEM, "out of memory");
                }
        }
        *ret = json_dumps(out, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (!*ret)
                return hd_error_set(err, -ENOMEM, "out of memory");
        return 0;
}

/* The diff_ids of an image config, which must list n_layers of them. */
static int config_diff_ids(json_t *config, size_t n_layers, json_t **ret, HdError **err)
{
        json_t *ids = json_object_get(json_object_get(config, "rootfs"), "diff_ids");
        if (!json_is_array(ids))
                return body_error(err, "image config lacks rootfs.diff_ids");
        if (json_array_size(ids) != n_layers)
                return body_error(err, "image config lists %zu diff_ids for %zu layers",
                                  json_array_size(ids), n_layers);
        for (size_t k = 0; k < n_layers; k++) {
                const char *s = json_string_value(json_array_get(ids, k));
                if (!s || !hd_img_blob_digest_is_valid(s))
                        return body_error(err,
                                          "image config diff_id %zu is not "
                                          "sha256:<64 lowercase hex>",
                                          k);
        }
        *ret = ids;
        return 0;
}

/* ---- rootfs ----------------------------------------------------------------------------- */

int hd_img_import_rootfs(HdImgImportCtx *c, HdImage *img, HdError **err)
{
        char diff_id[HD_IMG_DIGEST_STRING_MAX];
        int r = unpack_layer(c, img, c->upload, NULL, NULL, diff_id, err);
        if (r < 0)
                return r;

        /* The image digest is that of the OCI config such an image would carry, so the same
         * bytes imported twice get the same digest. */
        _cleanup_json_ json_t *config =
                json_pack("{s:s, s:s, s:{}, s:{s:s, s:[s]}}", "architecture", "amd64", "os",
                          "linux", "config", "rootfs", "type", "layers", "diff_ids", diff_id);
        if (!config)
                return hd_error_set(err, -ENOMEM, "out of memory");
        _cleanup_free_ char *text = json_dumps(config, JSON_COMPACT | JSON_SORT_KEYS);
        if (!text)
                return hd_error_set(err, -ENOMEM, "out of memory");
        char digest[HD_IMG_DIGEST_STRING_MAX];
        if ((r = sha256_of(text, strlen(text), digest, err)) < 0)
                return r;
        if (!(img->digest = strdup(digest)))
                return hd_error_set(err, -ENOMEM, "out of memory");
        /* The config is kept with a manifest naming it, for exports. */
        char got[HD_IMG_DIGEST_STRING_MAX];
        if ((r = put_blob(c, text, strlen(text), digest, got, err)) < 0 ||
            (r = put_manifest(c, img, digest, (int64_t)strlen(text), err)) < 0)
                return r;
        return build_defaults(NULL, &img->config_json, err);
}

/* ---- oci-archive ------------------------------------------------------------------------ */

bool hd_img_is_index(const char *media_type, json_t *doc)
{
        if (media_type &&
            (strcmp(media_type, MT_OCI_INDEX) == 0 || strcmp(media_type, MT_DOCKER_LIST) == 0))
                return true;
        return json_is_array(json_object_get(doc, "manifests")) && !json_object_get(doc, "layers");
}

/* The manifest an index.json names: the one annotated with the tag being imported, else
 * the only one annotated, else the only one. */
static int pick_from_index(json_t *index, const char *tag, json_t **ret, HdError **err)
{
        json_t *manifests = json_object_get(index, "manifests");
        if (!json_is_array(manifests) || json_array_size(manifests) == 0)
                return body_error(err, "index.json lists no manifests");
        if (json_array_size(manifests) == 1) {
                *ret = json_array_get(manifests, 0);
                return 0;
        }
        json_t *named = NULL, *m;
        size_t k, n_named = 0;
        json_array_foreach (manifests, k, m) {
                const char *ref = json_string_value(
                        json_object_get(json_object_get(m, "annotations"), ANNOTATION_REF_NAME));
                if (!ref)
                        continue;
                if (strcmp(ref, tag) == 0) {
                        *ret = m;
                        return 0;
                }
                named = m;
                n_named++;
        }
        if (n_named != 1)
                return body_error(err,
                                  "index.json lists %zu manifests: name one with the "
                                  "annotation " ANNOTATION_REF_NAME " = `%s`",
                                  json_array_size(manifests), tag);
        *ret = named;
        return 0;
}

/* linux/amd64 from a nested index. */
int hd_img_pick_platform(json_t *index, json_t **ret, HdError **err)
{
        json_t *manifests = json_object_get(index, "manifests"), *m;
        size_t k;
        json_array_foreach (manifests, k, m) {
                json_t *p = json_object_get(m, "platform");
                const char *os = json_string_value(json_object_get(p, "os"));
                const char *arch = json_string_value(json_object_get(p, "architecture"));
                if (os && arch && strcmp(os, "linux") == 0 && strcmp(arch, "amd64") == 0) {
                        *ret = m;
                        return 0;
                }
        }
        return body_error(err, "the image index has no linux/amd64 manifest");
}

int hd_img_import_oci(HdImgImportCtx *c, HdImage *img, HdError **err)
{
        int r = hd_img_ctx_extract_upload(c, err);
        if (r < 0)
                return r;
        _cleanup_json_ json_t *index = NULL, *doc = NULL, *config = NULL;
        if ((r = read_json_file(c->tmp_fd, "index.json", &index, NULL, NULL, err)) < 0)
                return r;
        json_t *desc = NULL;
        if ((r = pick_from_index(index, c->tag, &desc, err)) < 0)
                return r;

        /* Follow at most two nested indexes down to a manifest. The descriptor's strings
         * belong to the document before, which goes: the digest is copied. */
        const char *mt = NULL, *d = NULL;
        char digest[HD_IMG_DIGEST_STRING_MAX];
        int64_t size;
        for (int depth = 0;; depth++) {
                if ((r = get_descriptor(desc, "manifest", &d, &size, &mt, err)) < 0)
                        return r;
                snprintf(digest, sizeof(digest), "%s", d);
                json_t *next = NULL;
                if ((r = read_layout_json(c->tmp_fd, digest, size, &next, err)) < 0)
                        return r;
                json_decref(doc);
                doc = next;
                if (!hd_img_is_index(mt, doc))
                        break;
                if (depth == 2)
                        return body_error(err, "image indexes are nested too deeply");
                if ((r = hd_img_pick_platform(doc, &desc, err)) < 0)
                        return r;
        }
        if (!(img->digest = strdup(digest)))
                return hd_error_set(err, -ENOMEM, "out of memory");

        const char *cfg_digest;
        int64_t cfg_size;
        json_t *layers = json_object_get(doc, "layers");
        if (!json_is_array(layers))
                return body_error(err, "manifest `%s` lists no layers", img->digest);
        if ((r = get_descriptor(json_object_get(doc, "config"), "config", &cfg_digest, &cfg_size,
                                NULL, err)) < 0 ||
            (r = read_layout_json(c->tmp_fd, cfg_digest, cfg_size, &config, err)) < 0)
                return r;
        json_t *diff_ids = NULL;
        if ((r = config_diff_ids(config, json_array_size(layers), &diff_ids, err)) < 0)
                return r;

        for (size_t k = 0; k < json_array_size(layers); k++) {
                const char *ldigest, *lmt;
                int64_t lsize;
                char path[96], got[HD_IMG_DIGEST_STRING_MAX];
                _cleanup_close_ int fd = -1;
                if ((r = get_descriptor(json_array_get(layers, k), "layer", &ldigest, &lsize, &lmt,
                                        err)) < 0 ||
                    (r = layout_path(ldigest, path, err)) < 0 ||
                    (r = open_in(c->tmp_fd, path, &fd, err)) < 0 ||
                    (r = copy_to_blob(c, fd, ldigest, lsize, "layer", got, err)) < 0 ||
                    (r = unpack_layer(c, img, ldigest,
                                      json_string_value(json_array_get(diff_ids, k)), lmt, NULL,
                                      err)) < 0)
                        return r;
        }

        /* The manifest and config as they are in the archive, for exports. */
        char path[96];
        if ((r = layout_path(digest, path, err)) < 0 ||
            (r = keep_file(c, path, digest, size, "manifest", err)) < 0 ||
            (r = layout_path(cfg_digest, path, err)) < 0 ||
            (r = keep_file(c, path, cfg_digest, cfg_size, "config", err)) < 0)
                return r;
        if (!(img->manifest_digest = strdup(digest)) || !(img->config_digest = strdup(cfg_digest)))
                return hd_error_set(err, -ENOMEM, "out of memory");
        return build_defaults(json_object_get(config, "config"), &img->config_json, err);
}

/* ---- registry manifests ------------------------------------------------------------------ */

/* Fetches a blob into the store (unless it is stored already) and tracks it. A blob that is
 * not what its descriptor says is -EBADMSG naming "body". */
static int fetch_blob(HdImgImportCtx *c, const char *digest, int64_t size, const char *what,
                      HdImgFetchFn fetch, void *ud, HdError **err)
{
        _cleanup_error_ HdError *e = NULL;
        int r = hd_img_blob_exists(c->s->blobs, digest, &e);
        if (r < 0)
                return pass_error(err, &e, r, what);
        if (r > 0) {
                if ((r = fetch(ud, digest, size, NULL, err)) < 0)
                        return r;
                return hd_img_ctx_track_blob(c, digest, err);
        }
        _cleanup_blob_writer_ HdImgBlobWriter *w = NULL;
        char got[HD_IMG_DIGEST_STRING_MAX];
        r = hd_img_blob_writer_new(c->s->blobs, digest, size, -1, &w, &e);
        if (r < 0)
                return pass_error(err, &e, r, what);
        if ((r = fetch(ud, digest, size, w, err)) < 0)
                return r;
        r = hd_img_blob_writer_commit(w, got, &e);
        if (r == -EBADMSG)
                return hd_error_set_field(err, -EBADMSG, "body",
                                          "%s `%s` does not match its digest or size: %s", what,
                                          digest, e && e->message ? e->message : "mismatch");
        if (r < 0)
                return pass_error(err, &e, r, what);
        return hd_img_ctx_track_blob(c, got, err);
}

/* Reads a stored JSON blob. */
static int read_blob_json(HdImgImportCtx *c, const char *digest, const char *what, json_t **ret,
                          HdError **err)
{
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *buf = NULL;
        size_t len;
        int r = hd_img_blob_open(c->s->blobs, digest, &fd, NULL, err);
        if (r < 0)
                return r;
        if ((r = read_small(fd, JSON_MAX, what, &buf, &len, err)) < 0)
                return r;
        return parse_json(buf, len, what, ret, err);
}

int hd_img_import_manifest(HdImgImportCtx *c, HdImage *img, const char *digest, const char *text,
                           size_t len, HdImgFetchFn fetch, void *ud, HdError **err)
{
        _cleanup_json_ json_t *doc = NULL, *config = NULL;
        char got[HD_IMG_DIGEST_STRING_MAX];
        int r = parse_json(text, len, "manifest", &doc, err);
        if (r < 0)
                return r;
        if (hd_img_is_index(json_string_value(json_object_get(doc, "mediaType")), doc))
                return body_error(err, "manifest `%s` is an index", digest);
        json_t *layers = json_object_get(doc, "layers");
        if (!json_is_array(layers))
                return body_error(err, "manifest `%s` lists no layers", digest);
        const char *cfg_digest;
        int64_t cfg_size;
        if ((r = get_descriptor(json_object_get(doc, "config"), "config", &cfg_digest, &cfg_size,
                                NULL, err)) < 0)
                return r;
        if ((r = put_blob(c, text, len, digest, got, err)) < 0)
                return r;
        if (!(img->digest = strdup(digest)))
                return hd_error_set(err, -ENOMEM, "out of memory");
        if ((r = fetch_blob(c, cfg_digest, cfg_size, "config", fetch, ud, err)) < 0 ||
            (r = read_blob_json(c, cfg_digest, "image config", &config, err)) < 0)
                return r;
        json_t *diff_ids = NULL;
        if ((r = config_diff_ids(config, json_array_size(layers), &diff_ids, err)) < 0)
                return r;
        for (size_t k = 0; k < json_array_size(layers); k++) {
                const char *ldigest, *lmt;
                int64_t lsize;
                if ((r = get_descriptor(json_array_get(layers, k), "layer", &ldigest, &lsize, &lmt,
                                        err)) < 0 ||
                    (r = fetch_blob(c, ldigest, lsize, "layer", fetch, ud, err)) < 0 ||
                    (r = unpack_layer(c, img, ldigest,
                                      json_string_value(json_array_get(diff_ids, k)), lmt, NULL,
                                      err)) < 0)
                        return r;
        }
        if (!(img->manifest_digest = strdup(digest)) || !(img->config_digest = strdup(cfg_digest)))
                return hd_error_set(err, -ENOMEM, "out of memory");
        return build_defaults(json_object_get(config, "config"), &img->config_json, err);
}

/* ---- docker-archive ----------------------------------------------------------------------- */

/* The manifest.json entry to import: the only one, else the one tagged with the tag being
 * imported. */
static int pick_docker_entry(json_t *manifest, const char *tag, json_t **ret, HdError **err)
{
        if (!json_is_array(manifest) || json_array_size(manifest) == 0)
                return body_error(err, "manifest.json is not a non-empty array");
        if (json_array_size(manifest) == 1) {
                *ret = json_array_get(manifest, 0);
                return 0;
        }
        size_t k, j;
        json_t *e, *t;
        json_array_foreach (manifest, k, e) {
                json_array_foreach (json_object_get(e, "RepoTags"), j, t) {
                        const char *s = json_string_value(t);
                        const char *colon = s ? strrchr(s, ':') : NULL;
                        if (colon && !strchr(colon, '/') && strcmp(colon + 1, tag) == 0) {
                                *ret = e;
                                return 0;
                        }
                }
        }
        return body_error(err, "manifest.json lists %zu images and none is tagged `%s`",
                          json_array_size(manifest), tag);
}

int hd_img_import_docker(HdImgImportCtx *c, HdImage *img, HdError **err)
{
        int r = hd_img_ctx_extract_upload(c, err);
        if (r < 0)
                return r;
        _cleanup_json_ json_t *manifest = NULL, *config = NULL;
        if ((r = read_json_file(c->tmp_fd, "manifest.json", &manifest, NULL, NULL, err)) < 0)
                return r;
        json_t *entry = NULL;
        if ((r = pick_docker_entry(manifest, c->tag, &entry, err)) < 0)
                return r;
        const char *cfg_path = json_string_value(json_object_get(entry, "Config"));
        json_t *layers = json_object_get(entry, "Layers");
        if (!cfg_path || !json_is_array(layers))
                return body_error(err, "manifest.json lacks Config or Layers");

        /* Like Docker's image ID: the digest of the config file. */
        char digest[HD_IMG_DIGEST_STRING_MAX];
        int64_t cfg_size;
        if ((r = read_json_file(c->tmp_fd, cfg_path, &config, digest, &cfg_size, err)) < 0)
                return r;
        if (!(img->digest = strdup(digest)))
                return hd_error_set(err, -ENOMEM, "out of memory");
        json_t *diff_ids = NULL;
        if ((r = config_diff_ids(config, json_array_size(layers), &diff_ids, err)) < 0)
                return r;

        for (size_t k = 0; k < json_array_size(layers); k++) {
                const char *path = json_string_value(json_array_get(layers, k));
                char got[HD_IMG_DIGEST_STRING_MAX];
                _cleanup_close_ int fd = -1;
                struct stat st;
                if (!path)
                        return body_error(err, "manifest.json layer %zu is not a path", k);
                if ((r = open_in(c->tmp_fd, path, &fd, err)) < 0)
                        return r;
                if (fstat(fd, &st) < 0)
                        return hd_error_set(err, -errno, "cannot stat `%.200s`: %m", path);
                /* The expected diff_id is checked as the layer is unpacked. */
                if ((r = copy_to_blob(c, fd, NULL, st.st_size, "layer", got, err)) < 0 ||
                    (r = unpack_layer(c, img, got, json_string_value(json_array_get(diff_ids, k)),
                                      NULL, NULL, err)) < 0)
                        return r;
        }
        /* The config file as it is, with an OCI manifest naming it, for exports. */
        if ((r = keep_file(c, cfg_path, digest, cfg_size, "config", err)) < 0 ||
            (r = put_manifest(c, img, digest, cfg_size, err)) < 0)
                return r;
        return build_defaults(json_object_get(config, "config"), &img->config_json, err);
}

/* ---- VM images ------------------------------------------------------------------------- */

static int check_kernel_bundle(HdImgImportCtx *c, char **ret_cmdline, HdError **err)
{
        int r = hd_img_ctx_extract_upload(c, err);
        if (r < 0)
                return r;
        struct stat st;
        if (fstatat(c->tmp_fd, "vmlinuz", &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
                return body_error(err, "kernel bundle lacks a regular file `vmlinuz`");
        if (fstatat(c->tmp_fd, "initrd", &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISREG(st.st_mode))
                return body_error(err, "kernel bundle `initrd` is not a regular file");
        if (fstatat(c->tmp_fd, "cmdline", &st, AT_SYMLINK_NOFOLLOW) < 0)
                return 0;
        _cleanup_close_ int fd = -1;
        size_t len;
        if ((r = open_in(c->tmp_fd, "cmdline", &fd, err)) < 0 ||
            (r = read_small(fd, CMDLINE_MAX, "kernel bundle `cmdline`", ret_cmdline, &len, err)) <
                    0)
                return r;
        while (len > 0 && strchr(" \t\r\n", (*ret_cmdline)[len - 1]))
                (*ret_cmdline)[--len] = '\0';
        if (strlen(*ret_cmdline) != len)
                return body_error(err, "kernel bundle `cmdline` holds a NUL byte");
        return 0;
}

int hd_img_import_vm(HdImgImportCtx *c, HdImage *img, HdError **err)
{
        _cleanup_free_ char *cmdline = NULL;
        int r;
        if (strcmp(c->format, "qcow2") == 0) {
                _cleanup_close_ int fd = -1;
                unsigned char magic[4];
                if ((r = hd_img_blob_open(c->s->blobs, c->upload, &fd, NULL, err)) < 0)
                        return r;
                if (pread(fd, magic, sizeof(magic), 0) != (ssize_t)sizeof(magic) ||
                    memcmp(magic, "QFI\xfb", 4) != 0)
                        return body_error(err, "upload is not a qcow2 image");
        } else if (strcmp(c->format, "raw") == 0) {
                if (c->upload_size == 0)
                        return body_error(err, "upload is empty");
        } else if ((r = check_kernel_bundle(c, &cmdline, err)) < 0) {
                return r;
        }

        _cleanup_json_ json_t *config = json_object();
        if (!config)
                return hd_error_set(err, -ENOMEM, "out of memory");
        if (cmdline) {
                json_t *s = json_string(cmdline);
                if (!s)
                        return body_error(err, "kernel bundle `cmdline` is not UTF-8");
                if (json_object_set_new(config, "cmdline", s) < 0)
                        return hd_error_set(err, -ENOMEM, "out of memory");
        }
        if (!(img->config_json = json_dumps(config, JSON_COMPACT)) ||
            !(img->digest = strdup(c->upload)))
                return hd_error_set(err, -ENOMEM, "out of memory");
        char media_type[64];
        snprintf(media_type, sizeof(media_type), "application/vnd.hostd.vm.%s", c->format);
        /* Stored whole: the file is the image's single layer and is never unpacked. */
        return add_layer(img, c->upload, c->upload, media_type, c->upload_size, c->upload_size,
                         err);
}
