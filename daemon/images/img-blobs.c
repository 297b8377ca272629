#include "img-blobs.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "hd-util.h"

#define DIGEST_PREFIX "sha256:"
#define HEX_LEN       64
/* "sha256/" + 64 hex + NUL, and "tmp/" + 32 hex + NUL */
#define BLOB_PATH_MAX (sizeof("sha256/") + HEX_LEN)
#define TMP_PATH_MAX  (sizeof("tmp/") + 32)
#define READ_CHUNK    (128 * 1024)
#define RM_MAX_DEPTH  32

struct HdImgBlobs {
        char *root;   /* for messages only: every access goes through root_fd */
        int root_fd;  /* O_PATH | O_DIRECTORY */
        bool tmpfile; /* O_TMPFILE works in tmp/ and its files can be linked */
};

struct HdImgBlobWriter {
        HdImgBlobs *blobs;
        int fd;                      /* the temp file; -1 once finished */
        char tmp_path[TMP_PATH_MAX]; /* "tmp/<random>", or "" for an O_TMPFILE file */
        HdImgDigest *digest;
        char expected_digest[HD_IMG_DIGEST_STRING_MAX]; /* "" when none */
        int64_t expected_size;                          /* -1 when none */
        int64_t max_size;                               /* -1 when none */
        int64_t size;                                   /* bytes written so far */
        int error;                                      /* first failure; 0 while healthy */
        bool committed;
};

/* ---- names -------------------------------------------------------------------------- */

static bool is_hex64(const char *s)
{
        for (size_t i = 0; i < HEX_LEN; i++)
                if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
                        return false;
        return s[HEX_LEN] == '\0';
}

bool hd_img_blob_digest_is_valid(const char *s)
{
        return s && hd_str_startswith(s, DIGEST_PREFIX) && is_hex64(s + strlen(DIGEST_PREFIX));
}

/* Validates digest and, only then, writes its path relative to the root into path. */
static int blob_path(const char *digest, char path[static BLOB_PATH_MAX], HdError **err)
{
        if (!hd_img_blob_digest_is_valid(digest))
                /* The value is untrusted: quote a bounded prefix of it. */
                return hd_error_set_field(err, -EINVAL, "digest",
                                          "malformed digest `%.80s`: expected sha256:<64 "
                                          "lowercase hex digits>",
                                          digest ? digest : "");
        snprintf(path, BLOB_PATH_MAX, "sha256/%s", digest + strlen(DIGEST_PREFIX));
        return 0;
}

static int tmp_path_new(char path[static TMP_PATH_MAX])
{
        static const char hex[] = "0123456789abcdef";
        unsigned char rnd[16];
        if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
                return -EIO;
        char *p = path + sprintf(path, "tmp/");
        for (size_t i = 0; i < sizeof(rnd); i++) {
                *p++ = hex[rnd[i] >> 4];
                *p++ = hex[rnd[i] & 0xf];
        }
        *p = '\0';
        return 0;
}

static int fail_errno(HdError **err, int e, const char *what, const char *root, const char *name)
{
        return hd_error_set(err, -e, "%s `%s/%s`: %s", what, root, name, strerror(e));
}

/* ---- file system helpers ------------------------------------------------------------ */

static int fsync_dir_at(int root_fd, const char *name)
{
        _cleanup_close_ int fd = openat(root_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 || fsync(fd) < 0)
                return -errno;
        return 0;
}

/* Gives the unnamed (O_TMPFILE) file fd the name path under dir_fd; -EEXIST when taken.
 * AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH; /proc/self/fd works without it. */
static int link_tmpfile(int fd, int dir_fd, const char *path)
{
        if (linkat(fd, "", dir_fd, path, AT_EMPTY_PATH) == 0)
                return 0;
        if (errno != ENOENT && errno != EPERM)
                return -errno;
        char proc[64];
        snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
        return linkat(AT_FDCWD, proc, dir_fd, path, AT_SYMLINK_FOLLOW) < 0 ? -errno : 0;
}

/* Removes everything in the directory name under dir_fd (and, with remove_self, the
 * directory itself), without following symlinks or leaving the file system. */
static int rm_rf_at(int dir_fd, const char *name, bool remove_self, unsigned depth)
{
        if (depth > RM_MAX_DEPTH)
                return -ELOOP;
        struct stat parent, st;
        if (fstat(dir_fd, &parent) < 0)
                return -errno;
        int fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return errno == ENOENT ? 0 : -errno;
        int r = fstat(fd, &st) < 0 ? -errno : (st.st_dev != parent.st_dev ? -EXDEV : 0);
        DIR *d = r < 0 ? NULL : fdopendir(fd);
        if (!d) {
                r = r < 0 ? r : -errno;
                close(fd);
                return r;
        }
        for (struct dirent *de; (errno = 0, de = readdir(d));) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                int k = 0;
                if (unlinkat(dirfd(d), de->d_name, 0) < 0)
                        k = errno == EISDIR ? rm_rf_at(dirfd(d), de->d_name, true, depth + 1)
                                            : (errno == ENOENT ? 0 : -errno);
                if (k < 0 && r == 0)
                        r = k;
        }
        if (errno != 0 && r == 0)
                r = -errno;
        closedir(d);
        if (r == 0 && remove_self && unlinkat(dir_fd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
                r = -errno;
        return r;
}

/* Whether writers can use O_TMPFILE: the file system must support it and the process
 * must be able to link such a file (AT_EMPTY_PATH or /proc). */
static bool probe_tmpfile(HdImgBlobs *b)
{
        _cleanup_close_ int fd = openat(b->root_fd, "tmp", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
        if (fd < 0)
                return false;
        char path[TMP_PATH_MAX];
        if (tmp_path_new(path) < 0 || link_tmpfile(fd, b->root_fd, path) < 0)
                return false;
        (void)unlinkat(b->root_fd, path, 0);
        return true;
}

static int make_subdir(HdImgBlobs *b, const char *name, HdError **err)
{
        if (mkdirat(b->root_fd, name, 0700) < 0 && errno != EEXIST)
                return fail_errno(err, errno, "cannot create", b->root, name);
        struct stat st;
        if (fstatat(b->root_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return fail_errno(err, errno, "cannot stat", b->root, name);
        if (!S_ISDIR(st.st_mode))
                return hd_error_set(err, -ENOTDIR, "`%s/%s` is not a directory", b->root, name);
        return 0;
}

/* ---- the store ---------------------------------------------------------------------- */

int hd_img_blobs_open(const char *root, HdImgBlobs **ret, HdError **err)
{
        if (!root || !*root)
                return hd_error_set(err, -EINVAL, "blob store root is empty");

        _cleanup_(hd_img_blobs_closep) HdImgBlobs *b = calloc(1, sizeof(*b));
        if (!b)
                return hd_error_set(err, -ENOMEM, "out of memory");
        b->root_fd = -1;
        b->root = strdup(root);
        if (!b->root)
                return hd_error_set(err, -ENOMEM, "out of memory");

        int r = hd_mkdir_p(root, 0700);
        if (r < 0)
                return hd_error_set(err, r, "cannot create `%s`: %s", root, strerror(-r));
        b->root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (b->root_fd < 0)
                return hd_error_set(err, -errno, "cannot open `%s`: %s", root, strerror(errno));
        r = make_subdir(b, "sha256", err);
        if (r < 0)
                return r;
        r = make_subdir(b, "tmp", err);
        if (r < 0)
                return r;
        /* Whatever is in tmp/ is an interrupted write. */
        r = rm_rf_at(b->root_fd, "tmp", false, 0);
        if (r < 0)
                return hd_error_set(err, r, "cannot empty `%s/tmp`: %s", root, strerror(-r));
        b->tmpfile = probe_tmpfile(b);

        *ret = TAKE_PTR(b);
        return 0;
}

void hd_img_blobs_close(HdImgBlobs *b)
{
        if (!b)
                return;
        if (b->root_fd >= 0)
                close(b->root_fd);
        free(b->root);
        free(b);
}

void hd_img_blobs_disable_tmpfile(HdImgBlobs *b)
{
        b->tmpfile = false;
}

/* ---- writing ------------------------------------------------------------------------ */

/* Drops the temp file; the writer stays allocated until abort. */
static void writer_discard(HdImgBlobWriter *w)
{
        if (w->fd >= 0) {
                close(w->fd);
                w->fd = -1;
        }
        if (w->tmp_path[0]) {
                (void)unlinkat(w->blobs->root_fd, w->tmp_path, 0);
                w->tmp_path[0] = '\0';
        }
}

/* Discards the blob and remembers why: every later call fails the same way. */
static int writer_fail(HdImgBlobWriter *w, int code)
{
        writer_discard(w);
        if (w->error == 0)
                w->error = code;
        return code;
}

static int writer_check(HdImgBlobWriter *w, HdError **err)
{
        if (w->error)
                return hd_error_set(err, w->error, "blob write already failed: %s",
                                    strerror(-w->error));
        if (w->committed)
                return hd_error_set(err, -EINVAL, "blob writer already committed");
        return 0;
}

int hd_img_blob_writer_new(HdImgBlobs *b, const char *expected_digest, int64_t expected_size,
                           int64_t max_size, HdImgBlobWriter **ret, HdError **err)
{
        char path[BLOB_PATH_MAX];
        if (expected_digest) {
                int r = blob_path(expected_digest, path, err);
                if (r < 0)
                        return r;
        }
        if (expected_size < -1)
                return hd_error_set_field(err, -EINVAL, "size", "invalid expected size %lld",
                                          (long long)expected_size);
        if (max_size < -1)
                return hd_error_set(err, -EINVAL, "invalid maximum size %lld", (long long)max_size);
        if (expected_size >= 0 && max_size >= 0 && expected_size > max_size)
                return hd_error_set_field(err, -EFBIG, "size",
                                          "blob of %lld bytes exceeds the maximum of %lld",
                                          (long long)expected_size, (long long)max_size);

        _cleanup_blob_writer_ HdImgBlobWriter *w = calloc(1, sizeof(*w));
        if (!w)
                return hd_error_set(err, -ENOMEM, "out of memory");
        w->blobs = b;
        w->fd = -1;
        w->expected_size = expected_size;
        w->max_size = max_size;
        if (expected_digest)
                snprintf(w->expected_digest, sizeof(w->expected_digest), "%s", expected_digest);
        int r = hd_img_digest_new(&w->digest);
        if (r < 0)
                return hd_error_set(err, r, "cannot start a sha256 digest");

        if (b->tmpfile)
                w->fd = openat(b->root_fd, "tmp", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
        if (w->fd < 0) {
                r = tmp_path_new(w->tmp_path);
                if (r < 0)
                        return hd_error_set(err, r, "cannot get random bytes");
                w->fd = openat(b->root_fd, w->tmp_path,
                               O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
                if (w->fd < 0) {
                        r = fail_errno(err, errno, "cannot create", b->root, w->tmp_path);
                        w->tmp_path[0] = '\0'; /* not ours: nothing to remove */
                        return r;
                }
        }

        *ret = TAKE_PTR(w);
        return 0;
}

int hd_img_blob_writer_write(HdImgBlobWriter *w, const void *data, size_t len, HdError **err)
{
        int r = writer_check(w, err);
        if (r < 0)
                return r;
        if (w->max_size >= 0 && (uint64_t)len > (uint64_t)(w->max_size - w->size))
                return hd_error_set_field(err, writer_fail(w, -EFBIG), "size",
                                          "blob exceeds the maximum size of %lld bytes",
                                          (long long)w->max_size);
        if (w->expected_size >= 0 && (uint64_t)len > (uint64_t)(w->expected_size - w->size))
                return hd_error_set_field(err, writer_fail(w, -EBADMSG), "size",
                                          "size mismatch: blob is longer than the expected %lld "
                                          "bytes",
                                          (long long)w->expected_size);
        if ((uint64_t)len > (uint64_t)(INT64_MAX - w->size))
                return hd_error_set(err, writer_fail(w, -EFBIG), "blob too large");

        r = hd_img_digest_update(w->digest, data, len);
        if (r < 0)
                return hd_error_set(err, writer_fail(w, r), "sha256 update failed");
        for (const char *p = data; len > 0;) {
                ssize_t n = write(w->fd, p, len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        int e = errno;
                        return hd_error_set(err, writer_fail(w, -e),
                                            "cannot write blob in `%s`: %s", w->blobs->root,
                                            strerror(e));
                }
                p += n;
                len -= (size_t)n;
                w->size += n;
        }
        return 0;
}

/* Whether the blob already at path is sound enough to keep instead of ours: a regular
 * file of the same size (its name says its content matches; a short one is damaged). */
static bool existing_is_sound(HdImgBlobWriter *w, const char *path)
{
        struct stat st;
        return fstatat(w->blobs->root_fd, path, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
               S_ISREG(st.st_mode) && st.st_size == w->size;
}

/* Puts the temp file at path without replacing a blob already there (-EEXIST). */
static int place_noreplace(HdImgBlobWriter *w, const char *path)
{
        int root_fd = w->blobs->root_fd;
        if (!w->tmp_path[0])
                return link_tmpfile(w->fd, root_fd, path);
        if (renameat2(root_fd, w->tmp_path, root_fd, path, RENAME_NOREPLACE) == 0) {
                w->tmp_path[0] = '\0';
                return 0;
        }
        if (errno != EINVAL && errno != ENOSYS)
                return -errno;
        /* No RENAME_NOREPLACE here: a hard link does not replace either. */
        if (linkat(root_fd, w->tmp_path, root_fd, path, 0) < 0)
                return -errno;
        (void)unlinkat(root_fd, w->tmp_path, 0);
        w->tmp_path[0] = '\0';
        return 0;
}

/* Links the finished temp file in as path. When a sound copy of the blob is there
 * already, that one is kept and the temp file is left for the caller to drop. */
static int place(HdImgBlobWriter *w, const char *path)
{
        int root_fd = w->blobs->root_fd;
        int r = place_noreplace(w, path);
        if (r != -EEXIST || existing_is_sound(w, path))
                return r == -EEXIST ? 0 : r;
        /* The stored copy is damaged (say, truncated by a disk fault): replace it. */
        if (!w->tmp_path[0]) {
                r = tmp_path_new(w->tmp_path);
                if (r < 0)
                        return r;
                r = link_tmpfile(w->fd, root_fd, w->tmp_path);
                if (r < 0) {
                        w->tmp_path[0] = '\0';
                        return r;
                }
        }
        if (renameat(root_fd, w->tmp_path, root_fd, path) < 0)
                return -errno;
        w->tmp_path[0] = '\0';
        return 0;
}

int hd_img_blob_writer_commit(HdImgBlobWriter *w, char ret_digest[static HD_IMG_DIGEST_STRING_MAX],
                              HdError **err)
{
        int r = writer_check(w, err);
        if (r < 0)
                return r;

        char digest[HD_IMG_DIGEST_STRING_MAX];
        r = hd_img_digest_final(w->digest, digest);
        if (r < 0)
                return hd_error_set(err, writer_fail(w, r), "sha256 final failed");
        if (w->expected_size >= 0 && w->size != w->expected_size)
                return hd_error_set_field(err, writer_fail(w, -EBADMSG), "size",
                                          "size mismatch: expected %lld bytes, got %lld",
                                          (long long)w->expected_size, (long long)w->size);
        if (w->expected_digest[0] && strcmp(w->expected_digest, digest) != 0)
                return hd_error_set_field(err, writer_fail(w, -EBADMSG), "digest",
                                          "digest mismatch: expected `%s`, got `%s`",
                                          w->expected_digest, digest);
        if (fsync(w->fd) < 0) {
                int e = errno;
                return hd_error_set(err, writer_fail(w, -e), "cannot fsync blob `%s`: %s", digest,
                                    strerror(e));
        }

        char path[BLOB_PATH_MAX];
        r = blob_path(digest, path, err);
        if (r < 0)
                return writer_fail(w, r);
        r = place(w, path);
        if (r < 0)
                return hd_error_set(err, writer_fail(w, r), "cannot store blob `%s` in `%s`: %s",
                                    digest, w->blobs->root, strerror(-r));
        /* Also after a dedup: the blob found may have been linked by a writer that has not
         * reached its own directory fsync yet. */
        r = fsync_dir_at(w->blobs->root_fd, "sha256");
        if (r < 0)
                return hd_error_set(err, writer_fail(w, r), "cannot fsync `%s/sha256`: %s",
                                    w->blobs->root, strerror(-r));

        writer_discard(w); /* closes the fd; after a dedup also drops our copy */
        w->committed = true;
        memcpy(ret_digest, digest, sizeof(digest));
        return 0;
}

void hd_img_blob_writer_abort(HdImgBlobWriter *w)
{
        if (!w)
                return;
        writer_discard(w);
        hd_img_digest_free(w->digest);
        free(w);
}

/* ---- reading and maintenance -------------------------------------------------------- */

static int open_blob(HdImgBlobs *b, const char *digest, int *ret_fd, struct stat *ret_st,
                     HdError **err)
{
        char path[BLOB_PATH_MAX];
        int r = blob_path(digest, path, err);
        if (r < 0)
                return r;
        _cleanup_close_ int fd = openat(b->root_fd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT)
                return hd_error_set_field(err, -ENOENT, "digest", "blob `%s` not found", digest);
        if (fd < 0)
                return fail_errno(err, errno, "cannot open", b->root, path);
        if (fstat(fd, ret_st) < 0)
                return fail_errno(err, errno, "cannot stat", b->root, path);
        if (!S_ISREG(ret_st->st_mode))
                return hd_error_set(err, -EIO, "`%s/%s` is not a regular file", b->root, path);
        *ret_fd = TAKE_FD(fd);
        return 0;
}

int hd_img_blob_open(HdImgBlobs *b, const char *digest, int *ret_fd, int64_t *ret_size,
                     HdError **err)
{
        struct stat st;
        int r = open_blob(b, digest, ret_fd, &st, err);
        if (r < 0)
                return r;
        if (ret_size)
                *ret_size = st.st_size;
        return 0;
}

int hd_img_blob_exists(HdImgBlobs *b, const char *digest, HdError **err)
{
        char path[BLOB_PATH_MAX];
        int r = blob_path(digest, path, err);
        if (r < 0)
                return r;
        struct stat st;
        if (fstatat(b->root_fd, path, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : fail_errno(err, errno, "cannot stat", b->root, path);
        return S_ISREG(st.st_mode) ? 1 : 0;
}

int hd_img_blob_remove(HdImgBlobs *b, const char *digest, HdError **err)
{
        char path[BLOB_PATH_MAX];
        int r = blob_path(digest, path, err);
        if (r < 0)
                return r;
        if (unlinkat(b->root_fd, path, 0) < 0) {
                if (errno == ENOENT)
                        return hd_error_set_field(err, -ENOENT, "digest", "blob `%s` not found",
                                                  digest);
                return fail_errno(err, errno, "cannot remove", b->root, path);
        }
        return 0;
}

int hd_img_blob_verify(HdImgBlobs *b, const char *digest, HdError **err)
{
        _cleanup_close_ int fd = -1;
        struct stat st;
        int r = open_blob(b, digest, &fd, &st, err);
        if (r < 0)
                return r;
        _cleanup_(hd_img_digest_freep) HdImgDigest *d = NULL;
        _cleanup_free_ char *buf = malloc(READ_CHUNK);
        if (!buf || hd_img_digest_new(&d) < 0)
                return hd_error_set(err, -ENOMEM, "out of memory");
        for (;;) {
                ssize_t n = read(fd, buf, READ_CHUNK);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return hd_error_set(err, -errno, "cannot read blob `%s`: %s", digest,
                                            strerror(errno));
                if (n == 0)
                        break;
                r = hd_img_digest_update(d, buf, (size_t)n);
                if (r < 0)
                        return hd_error_set(err, r, "sha256 update failed");
        }
        char actual[HD_IMG_DIGEST_STRING_MAX];
        r = hd_img_digest_final(d, actual);
        if (r < 0)
                return hd_error_set(err, r, "sha256 final failed");
        if (strcmp(actual, digest) != 0)
                return hd_error_set_field(err, -EBADMSG, "digest",
                                          "blob `%s` is corrupt: its content hashes to `%s`",
                                          digest, actual);
        return 0;
}

/* Calls fn for each stored blob (a regular file named by 64 lowercase hex digits). */
static int scan_blobs(HdImgBlobs *b, int (*fn)(const char *hex, const struct stat *st, void *ud),
                      void *ud, HdError **err)
{
        int fd = openat(b->root_fd, "sha256", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return fail_errno(err, errno, "cannot open", b->root, "sha256");
        DIR *d = fdopendir(fd);
        if (!d) {
                int e = errno;
                close(fd);
                return fail_errno(err, e, "cannot open", b->root, "sha256");
        }
        int r = 0;
        for (struct dirent *de; (errno = 0, de = readdir(d));) {
                if (strlen(de->d_name) != HEX_LEN || !is_hex64(de->d_name))
                        continue;
                struct stat st;
                if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        if (errno == ENOENT) /* removed meanwhile */
                                continue;
                        r = fail_errno(err, errno, "cannot stat", b->root, de->d_name);
                        break;
                }
                if (!S_ISREG(st.st_mode))
                        continue;
                r = fn(de->d_name, &st, ud);
                if (r < 0) {
                        r = hd_error_set(err, r, "out of memory");
                        break;
                }
        }
        if (r == 0 && errno != 0)
                r = fail_errno(err, errno, "cannot read", b->root, "sha256");
        closedir(d);
        return r;
}

typedef struct DigestList {
        char **v;
        size_t n, cap;
} DigestList;

static int list_add(const char *hex, HD_UNUSED const struct stat *st, void *ud)
{
        DigestList *l = ud;
        if (l->n + 2 > l->cap) {
                size_t cap = l->cap ? l->cap * 2 : 64;
                char **v = reallocarray(l->v, cap, sizeof(*v));
                if (!v)
                        return -ENOMEM;
                l->v = v;
                l->cap = cap;
        }
        char *s;
        if (asprintf(&s, DIGEST_PREFIX "%s", hex) < 0)
                return -ENOMEM;
        l->v[l->n++] = s;
        l->v[l->n] = NULL;
        return 0;
}

static int strcmp_ptr(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

int hd_img_blobs_list(HdImgBlobs *b, char ***ret_digests, size_t *ret_n, HdError **err)
{
        DigestList l = { 0 };
        int r = scan_blobs(b, list_add, &l, err);
        if (r < 0) {
                hd_img_blob_digests_free(l.v);
                return r;
        }
        if (!l.v) {
                l.v = calloc(1, sizeof(*l.v));
                if (!l.v)
                        return hd_error_set(err, -ENOMEM, "out of memory");
        }
        qsort(l.v, l.n, sizeof(*l.v), strcmp_ptr);
        *ret_digests = l.v;
        if (ret_n)
                *ret_n = l.n;
        return 0;
}

void hd_img_blob_digests_free(char **digests)
{
        if (!digests)
                return;
        for (char **p = digests; *p; p++)
                free(*p);
        free(digests);
}

typedef struct Usage {
        int64_t bytes, count;
} Usage;

static int usage_add(HD_UNUSED const char *hex, const struct stat *st, void *ud)
{
        Usage *u = ud;
        u->bytes += st->st_size;
        u->count++;
        return 0;
}

int hd_img_blobs_usage(HdImgBlobs *b, int64_t *ret_bytes, int64_t *ret_count, HdError **err)
{
        Usage u = { 0 };
        int r = scan_blobs(b, usage_add, &u, err);
        if (r < 0)
                return r;
        if (ret_bytes)
                *ret_bytes = u.bytes;
        if (ret_count)
                *ret_count = u.count;
        return 0;
}

int hd_img_blob_path(HdImgBlobs *b, const char *digest, char **ret, HdError **err)
{
        int r = hd_img_blob_exists(b, digest, err);
        if (r < 0)
                return r;
        if (r == 0)
                return hd_error_set(err, -ENOENT, "blob `%s` is not stored", digest);
        char rel[BLOB_PATH_MAX];
        if ((r = blob_path(digest, rel, err)) < 0)
                return r;
        if (asprintf(ret, "%s/%s", b->root, rel) < 0)
                return hd_error_set(err, -ENOMEM, "out of memory");
        return 0;
}
