/* Image export: an OCI image layout tar of a container image (its manifest,
 * config and layers exactly as stored, so digests match the import), written to
 * an unlinked temp file and handed over as an fd; a VM image's file as is. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hd-json.h"
#include "hd-util.h"
#include "img-store-internal.h"

/* ---- export ------------------------------------------------------------------------------- */

#define TAR_BLOCK          512
#define EXPORT_BUFSIZE     (256U << 10)
#define MT_OCI_INDEX       "application/vnd.oci.image.index.v1+json"
#define MT_OCI_MANIFEST    "application/vnd.oci.image.manifest.v1+json"
#define ANNOTATION_REF     "org.opencontainers.image.ref.name"
#define ANNOTATION_CTRD    "io.containerd.image.name"
#define OCI_LAYOUT_CONTENT "{\"imageLayoutVersion\":\"1.0.0\"}"

void hd_img_open_blobs_close(HdImgOpenBlob *a, size_t n)
{
        for (size_t k = 0; k < n; k++)
                if (a[k].fd >= 0)
                        close(a[k].fd);
        free(a);
}

/* width - 1 octal digits and a NUL. */
static void put_octal(char *field, size_t width, uint64_t v)
{
        field[width - 1] = '\0';
        for (size_t k = width - 1; k-- > 0; v >>= 3)
                field[k] = (char)('0' + (v & 7));
}

/* One ustar header: owned by root, mtime 0, so that an export is reproducible. Sizes
 * past 11 octal digits use the base-256 form GNU tar and Go's archive/tar read. */
static int tar_header(int fd, const char *name, char type, unsigned mode, uint64_t size)
{
        unsigned char h[TAR_BLOCK] = { 0 };
        size_t len = strlen(name);
        if (len >= 100)
                return -ENAMETOOLONG;
        memcpy(h, name, len);
        put_octal((char *)h + 100, 8, mode);
        put_octal((char *)h + 108, 8, 0);
        put_octal((char *)h + 116, 8, 0);
        if (size < (1ULL << 33)) {
                put_octal((char *)h + 124, 12, size);
        } else {
                h[124] = 0x80;
                for (int k = 11; k >= 1; k--, size >>= 8)
                        h[124 + k] = (unsigned char)(size & 0xff);
        }
        put_octal((char *)h + 136, 12, 0);
        h[156] = (unsigned char)type;
        memcpy(h + 257, "ustar", 6);
        memcpy(h + 263, "00", 2);
        memcpy(h + 265, "root", 4);
        memcpy(h + 297, "root", 4);
        memset(h + 148, ' ', 8);
        unsigned sum = 0;
        for (size_t k = 0; k < sizeof(h); k++)
                sum += h[k];
        put_octal((char *)h + 148, 7, sum);
        h[155] = ' ';
        return hd_write_all(fd, h, sizeof(h));
}

static int tar_pad(int fd, uint64_t size)
{
        static const char zeros[TAR_BLOCK];
        size_t rest = (size_t)(size % TAR_BLOCK);
        return rest ? hd_write_all(fd, zeros, TAR_BLOCK - rest) : 0;
}

static int tar_file_mem(int fd, const char *name, const char *data, size_t len)
{
        int r = tar_header(fd, name, '0', 0644, len);
        if (r >= 0)
                r = hd_write_all(fd, data, len);
        if (r >= 0)
                r = tar_pad(fd, len);
        return r;
}

/* Streams the blob into the tar as blobs/sha256/<hex>. */
static int tar_blob(int fd, const HdImgOpenBlob *b, char *buf)
{
        char name[100];
        snprintf(name, sizeof(name), "blobs/sha256/%s", b->digest + strlen("sha256:"));
        int r = tar_header(fd, name, '0', 0644, (uint64_t)b->size);
        if (r < 0)
                return r;
        int64_t done = 0;
        while (done < b->size) {
                ssize_t n = pread(b->fd, buf, EXPORT_BUFSIZE, done);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        return -EIO; /* blobs never shrink: the file is damaged */
                if (n > b->size - done)
                        n = (ssize_t)(b->size - done);
                if ((r = hd_write_all(fd, buf, (size_t)n)) < 0)
                        return r;
                done += n;
        }
        return tar_pad(fd, (uint64_t)b->size);
}

/* The manifest's own mediaType, or the OCI one when it names none. */
static char *manifest_media_type(const HdImgOpenBlob *m)
{
        _cleanup_close_ int fd = fcntl(m->fd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0 || lseek(fd, 0, SEEK_SET) < 0)
                return strdup(MT_OCI_MANIFEST);
        json_error_t jerr;
        _cleanup_json_ json_t *j = json_loadfd(fd, 0, &jerr);
        const char *mt = json_string_value(json_object_get(j, "mediaType"));
        return strdup(mt ? mt : MT_OCI_MANIFEST);
}

static int index_json(const HdImage *img, const HdImgOpenBlob *manifest, char **ret, HdError **err)
{
        _cleanup_free_ char *ref = NULL, *mt = manifest_media_type(manifest);
        if (!mt || asprintf(&ref, "%s:%s", img->name, img->tag) < 0)
                return hd_error_set(err, -ENOMEM, "out of memory");
        _cleanup_json_ json_t *idx =
                json_pack("{s:i, s:s, s:[{s:s, s:s, s:I, s:{s:s, s:s}}]}", "schemaVersion", 2,
                          "mediaType", MT_OCI_INDEX, "manifests", "mediaType", mt, "digest",
                          manifest->digest, "size", (json_int_t)manifest->size, "annotations",
                          ANNOTATION_REF, img->tag, ANNOTATION_CTRD, ref);
        if (!idx || !(*ret = json_dumps(idx, JSON_COMPACT | JSON_SORT_KEYS)))
                return hd_error_set(err, -ENOMEM, "out of memory");
        return 0;
}

int hd_img_store_open_blobs(HdImgStore *s, const HdImage *img, HdImgOpenBlob **ret, size_t *ret_n,
                            HdError **err)
{
        size_t n = 0, cap = img->n_layers + 2;
        HdImgOpenBlob *a = calloc(cap, sizeof(*a));
        if (!a)
                return hd_error_set(err, -ENOMEM, "out of memory");
        for (size_t k = 0; k < cap; k++)
                a[k].fd = -1;
        for (size_t k = 0; k < cap; k++) {
                const char *d = k == 0   ? img->manifest_digest
                                : k == 1 ? img->config_digest
                                         : img->layers[k - 2].digest;
                bool dup = false;
                for (size_t j = 0; j < n && !dup; j++)
                        dup = strcmp(a[j].digest, d) == 0;
                if (dup)
                        continue;
                snprintf(a[n].digest, sizeof(a[n].digest), "%s", d);
                int r = hd_img_blob_open(s->blobs, d, &a[n].fd, &a[n].size, err);
                if (r < 0) {
                        hd_img_open_blobs_close(a, n);
                        return hd_error_wrap(err, "cannot read image `%s:%s`", img->name, img->tag);
                }
                n++;
        }
        *ret = a;
        *ret_n = n;
        return 0;
}

/* An unlinked file in the images root: O_TMPFILE, or a named file removed at once (an
 * import-prefixed name, so a crash in between leaves what the next open removes). */
static int export_tmpfile(HdImgStore *s, HdError **err)
{
        int fd = openat(s->root_fd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
        if (fd >= 0)
                return fd;
        if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
                return hd_error_set(err, -errno, "cannot create a file in `%s`: %m", s->root);
        _cleanup_free_ char *path = NULL;
        if (asprintf(&path, "%s/" HD_IMG_IMPORT_TMP_PREFIX "export-XXXXXX", s->root) < 0)
                return hd_error_set(err, -ENOMEM, "out of memory");
        fd = mkostemp(path, O_CLOEXEC);
        if (fd < 0)
                return hd_error_set(err, -errno, "cannot create a file in `%s`: %m", s->root);
        (void)unlink(path);
        return fd;
}

static int write_layout(int fd, const HdImage *img, const HdImgOpenBlob *blobs, size_t n,
                        HdError **err)
{
        _cleanup_free_ char *index = NULL, *buf = malloc(EXPORT_BUFSIZE);
        if (!buf)
                return hd_error_set(err, -ENOMEM, "out of memory");
        int r = index_json(img, &blobs[0], &index, err);
        if (r < 0)
                return r;
        static const char zeros[2 * TAR_BLOCK];
        if ((r = tar_file_mem(fd, "oci-layout", OCI_LAYOUT_CONTENT, strlen(OCI_LAYOUT_CONTENT))) >=
                    0 &&
            (r = tar_file_mem(fd, "index.json", index, strlen(index))) >= 0 &&
            (r = tar_header(fd, "blobs/", '5', 0755, 0)) >= 0)
                r = tar_header(fd, "blobs/sha256/", '5', 0755, 0);
        for (size_t k = 0; r >= 0 && k < n; k++)
                r = tar_blob(fd, &blobs[k], buf);
        if (r >= 0)
                r = hd_write_all(fd, zeros, sizeof(zeros));
        if (r < 0)
                return hd_error_set(err, r, "cannot write the export of `%s:%s`: %s", img->name,
                                    img->tag, strerror(-r));
        return 0;
}

int hd_img_store_export(HdImgStore *s, const char *ref, int *ret_fd, int64_t *ret_size,
                        const char **ret_content_type, HdError **err)
{
        _cleanup_(hd_image_freep) HdImage *img = NULL;
        HdImgOpenBlob *blobs = NULL;
        size_t n = 0;
        _cleanup_close_ int vm_fd = -1;
        int64_t vm_size = 0;

        /* The blobs are opened under the lock, so no delete or prune removes one before;
         * an open blob stays readable after that, so the copy runs without it. */
        pthread_mutex_lock(&s->lock);
        int r = hd_store_image_get(s->inventory, ref, &img, err);
        if (r >= 0 && img->kind == HD_KIND_VM) {
                if (img->n_layers != 1)
                        r = hd_error_set(err, -EIO, "image `%s` has %zu files, not one", ref,
                                         img->n_layers);
                else
                        r = hd_img_blob_open(s->blobs, img->layers[0].digest, &vm_fd, &vm_size,
                                             err);
        } else if (r >= 0 && (!img->manifest_digest || !img->config_digest)) {
                r = hd_error_set(err, -EOPNOTSUPP,
                                 "image `%s` was imported before exports were supported; import "
                                 "it again",
                                 ref);
        } else if (r >= 0) {
                r = hd_img_store_open_blobs(s, img, &blobs, &n, err);
        }
        pthread_mutex_unlock(&s->lock);
        if (r < 0)
                return r;
        if (img->kind == HD_KIND_VM) {
                *ret_fd = TAKE_FD(vm_fd);
                *ret_size = vm_size;
                *ret_content_type = "application/octet-stream";
                return 0;
        }

        _cleanup_close_ int fd = export_tmpfile(s, err);
        if (fd < 0) {
                hd_img_open_blobs_close(blobs, n);
                return fd;
        }
        r = write_layout(fd, img, blobs, n, err);
        hd_img_open_blobs_close(blobs, n);
        if (r < 0)
                return r;
        struct stat st;
        if (fstat(fd, &st) < 0 || lseek(fd, 0, SEEK_SET) < 0)
                return hd_error_set(err, -errno, "cannot rewind the export of `%s`: %m", ref);
        *ret_fd = TAKE_FD(fd);
        *ret_size = st.st_size;
        *ret_content_type = "application/x-tar";
        return 0;
}
