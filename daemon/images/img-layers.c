#include "img-layers.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hd-util.h"

#define DIGEST_PREFIX "sha256:"
#define HEX_LEN       64
#define TMP_DIR       ".tmp"
/* 32 random hex digits + NUL: a name under .tmp/ */
#define TMP_NAME_MAX (32 + 1)
/* Directory levels usage() descends; the extractor's default depth is 128. */
#define USAGE_MAX_DEPTH 1024

struct HdImgLayers {
        char *root;  /* for messages and hd_img_layers_path: every access goes through the fds */
        int root_fd; /* O_PATH | O_DIRECTORY */
        int tmp_fd;  /* root/.tmp, O_PATH | O_DIRECTORY */
};

/* ---- names -------------------------------------------------------------------------- */

static bool is_hex64(const char *s)
{
        for (size_t i = 0; i < HEX_LEN; i++)
                if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
                        return false;
        return s[HEX_LEN] == '\0';
}

/* Validates digest and, only then, returns its hex part: the layer's name under root. */
static int digest_hex(const char *digest, const char *field, const char **ret_hex, HdError **err)
{
        if (!hd_img_blob_digest_is_valid(digest))
                /* The value is untrusted: quote a bounded prefix of it. */
                return hd_error_set_field(err, -EINVAL, field,
                                          "malformed %s `%.80s`: expected sha256:<64 lowercase "
                                          "hex digits>",
                                          field, digest ? digest : "");
        *ret_hex = digest + strlen(DIGEST_PREFIX);
        return 0;
}

static int tmp_name_new(char name[static TMP_NAME_MAX])
{
        static const char hex[] = "0123456789abcdef";
        unsigned char rnd[(TMP_NAME_MAX - 1) / 2];
        if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
                return -EIO;
        for (size_t i = 0; i < sizeof(rnd); i++) {
                name[2 * i] = hex[rnd[i] >> 4];
                name[2 * i + 1] = hex[rnd[i] & 0xf];
        }
        name[TMP_NAME_MAX - 1] = '\0';
        return 0;
}

static int fail_errno(HdError **err, int e, const char *what, const char *root, const char *name)
{
        return hd_error_set(err, -e, "%s `%s/%s`: %s", what, root, name, strerror(e));
}

static int not_found(HdError **err, const char *diff_id)
{
        return hd_error_set_field(err, -ENOENT, "diff_id", "layer `%s` not found", diff_id);
}

/* ---- the store ---------------------------------------------------------------------- */

/* Removes everything in .tmp/: interrupted extractions and removals. */
static int empty_tmp(HdImgLayers *l, HdError **err)
{
        int fd = openat(l->tmp_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return fail_errno(err, errno, "cannot open", l->root, TMP_DIR);
        DIR *d = fdopendir(fd);
        if (!d) {
                int e = errno;
                close(fd);
                return fail_errno(err, e, "cannot open", l->root, TMP_DIR);
        }
        int r = 0;
        for (struct dirent *de; r == 0 && (errno = 0, de = readdir(d));) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                r = hd_img_rm_rf_at(dirfd(d), de->d_name);
                if (r < 0)
                        r = hd_error_set(err, r, "cannot remove `%s/" TMP_DIR "/%s`: %s", l->root,
                                         de->d_name, strerror(-r));
        }
        if (r == 0 && errno != 0)
                r = fail_errno(err, errno, "cannot read", l->root, TMP_DIR);
        closedir(d);
        return r;
}

int hd_img_layers_open(const char *root, HdImgLayers **ret, HdError **err)
{
        if (!root || !*root)
                return hd_error_set(err, -EINVAL, "layer store root is empty");

        _cleanup_(hd_img_layers_closep) HdImgLayers *l = calloc(1, sizeof(*l));
        if (!l)
                return hd_error_set(err, -ENOMEM, "out of memory");
        l->root_fd = l->tmp_fd = -1;
        l->root = strdup(root);
        if (!l->root)
                return hd_error_set(err, -ENOMEM, "out of memory");

        int r = hd_mkdir_p(root, 0700);
        if (r < 0)
                return hd_error_set(err, r, "cannot create `%s`: %s", root, strerror(-r));
        l->root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (l->root_fd < 0)
                return hd_error_set(err, -errno, "cannot open `%s`: %s", root, strerror(errno));
        if (mkdirat(l->root_fd, TMP_DIR, 0700) < 0 && errno != EEXIST)
                return fail_errno(err, errno, "cannot create", root, TMP_DIR);
        /* O_NOFOLLOW: a symlink named .tmp is refused (ENOTDIR), never followed. */
        l->tmp_fd = openat(l->root_fd, TMP_DIR, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (l->tmp_fd < 0)
                return fail_errno(err, errno, "cannot open", root, TMP_DIR);
        r = empty_tmp(l, err);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(l);
        return 0;
}

void hd_img_layers_close(HdImgLayers *l)
{
        if (!l)
                return;
        if (l->tmp_fd >= 0)
                close(l->tmp_fd);
        if (l->root_fd >= 0)
                close(l->root_fd);
        free(l->root);
        free(l);
}

/* ---- unpacking ---------------------------------------------------------------------- */

/* Extracts src_fd into .tmp/tmp, checks its digests, and syncs the tree to disk so that
 * it is complete before it gets its name. */
static int extract_checked(HdImgLayers *l, int src_fd, const char *tmp, const char *blob_digest,
                           const char *expected_diff_id, const HdImgTarLimits *limits,
                           HdImgTarResult *res, HdError **err)
{
        _cleanup_close_ int dest =
                openat(l->tmp_fd, tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dest < 0)
                return hd_error_set(err, -errno, "cannot open `%s/" TMP_DIR "/%s`: %s", l->root,
                                    tmp, strerror(errno));
        int r = hd_img_tar_extract(src_fd, HD_IMG_COMPRESSION_AUTO, dest, limits, res, err);
        if (r < 0) {
                hd_error_wrap(err, "cannot unpack layer `%s`", blob_digest);
                return r;
        }
        if (strcmp(res->digest, blob_digest) != 0)
                return hd_error_set_field(err, -EBADMSG, "digest",
                                          "digest mismatch: blob `%s` hashes to `%s`", blob_digest,
                                          res->digest);
        if (expected_diff_id && strcmp(res->diff_id, expected_diff_id) != 0)
                return hd_error_set_field(err, -EBADMSG, "diff_id",
                                          "diff_id mismatch: layer `%s` should unpack to `%s`, "
                                          "got `%s`",
                                          blob_digest, expected_diff_id, res->diff_id);
        /* One call for the whole tree (every file extracted is on this file system), rather
         * than an fsync per file. */
        if (syncfs(dest) < 0)
                return hd_error_set(err, -errno, "cannot sync `%s/" TMP_DIR "/%s`: %s", l->root,
                                    tmp, strerror(errno));
        return 0;
}

/* Renames .tmp/tmp to hex without replacing a layer already there: 1 when placed, 0 when
 * the layer already exists (the new tree is left for the caller to remove). */
static int place(HdImgLayers *l, const char *tmp, const char *hex, HdError **err)
{
        if (renameat2(l->tmp_fd, tmp, l->root_fd, hex, RENAME_NOREPLACE) == 0)
                return 1;
        int e = errno;
        if (e == EINVAL || e == ENOSYS) {
                /* No RENAME_NOREPLACE here. A plain rename does not replace a non-empty
                 * directory (ENOTEMPTY or EEXIST) either; an empty one is an empty layer,
                 * the same as ours. */
                if (renameat(l->tmp_fd, tmp, l->root_fd, hex) == 0)
                        return 1;
                e = errno;
        }
        if (e != EEXIST && e != ENOTEMPTY && e != ENOTDIR)
                return fail_errno(err, e, "cannot rename a new layer to", l->root, hex);
        struct stat st;
        if (fstatat(l->root_fd, hex, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return fail_errno(err, errno, "cannot stat", l->root, hex);
        if (!S_ISDIR(st.st_mode))
                return hd_error_set(err, -EEXIST, "`%s/%s` exists and is not a layer directory",
                                    l->root, hex);
        return 0;
}

static int fsync_root(HdImgLayers *l, HdError **err)
{
        _cleanup_close_ int fd = openat(l->root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 || fsync(fd) < 0)
                return hd_error_set(err, -errno, "cannot fsync `%s`: %s", l->root, strerror(errno));
        return 0;
}

int hd_img_layers_unpack(HdImgLayers *l, HdImgBlobs *blobs, const char *blob_digest,
                         const char *expected_diff_id, const HdImgTarLimits *limits,
                         char ret_diff_id[static HD_IMG_DIGEST_STRING_MAX], bool *ret_created,
                         HdError **err)
{
        const char *hex = NULL;
        int r = digest_hex(blob_digest, "digest", &hex, err);
        if (r < 0)
                return r;
        if (expected_diff_id) {
                r = digest_hex(expected_diff_id, "diff_id", &hex, err);
                if (r < 0)
                        return r;
        }

        _cleanup_close_ int src = -1;
        r = hd_img_blob_open(blobs, blob_digest, &src, NULL, err);
        if (r < 0)
                return r;

        char tmp[TMP_NAME_MAX];
        r = tmp_name_new(tmp);
        if (r < 0)
                return hd_error_set(err, r, "cannot get random bytes");
        /* The tar's own root entry, when it has one, sets the final mode. */
        if (mkdirat(l->tmp_fd, tmp, 0755) < 0)
                return hd_error_set(err, -errno, "cannot create `%s/" TMP_DIR "/%s`: %s", l->root,
                                    tmp, strerror(errno));

        HdImgTarResult res;
        r = extract_checked(l, src, tmp, blob_digest, expected_diff_id, limits, &res, err);
        if (r >= 0) {
                r = digest_hex(res.diff_id, "diff_id", &hex, err);
                if (r >= 0)
                        r = place(l, tmp, hex, err);
        }
        if (r <= 0) {
                /* Failed, or the layer is there already: drop our tree. A leftover is
                 * removed at the next open. */
                (void)hd_img_rm_rf_at(l->tmp_fd, tmp);
                if (r < 0)
                        return r;
        }
        /* Also after a dedup: the tree found may have been renamed in by a concurrent
         * unpack that has not reached its own fsync yet. */
        int k = fsync_root(l, err);
        if (k < 0)
                return k;

        memcpy(ret_diff_id, res.diff_id, HD_IMG_DIGEST_STRING_MAX);
        if (ret_created)
                *ret_created = r > 0;
        return 0;
}

/* ---- lookup and removal ------------------------------------------------------------- */

/* 1 and *ret_st when hex names a directory under root, 0 when nothing is there. */
static int stat_layer(HdImgLayers *l, const char *hex, struct stat *ret_st, HdError **err)
{
        if (fstatat(l->root_fd, hex, ret_st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : fail_errno(err, errno, "cannot stat", l->root, hex);
        return S_ISDIR(ret_st->st_mode) ? 1 : 0;
}

int hd_img_layers_path(HdImgLayers *l, const char *diff_id, char **ret_path, HdError **err)
{
        const char *hex = NULL;
        int r = digest_hex(diff_id, "diff_id", &hex, err);
        if (r < 0)
                return r;
        struct stat st;
        r = stat_layer(l, hex, &st, err);
        if (r < 0)
                return r;
        if (r == 0)
                return not_found(err, diff_id);
        if (asprintf(ret_path, "%s/%s", l->root, hex) < 0)
                return hd_error_set(err, -ENOMEM, "out of memory");
        return 0;
}

int hd_img_layers_exists(HdImgLayers *l, const char *diff_id, HdError **err)
{
        const char *hex = NULL;
        int r = digest_hex(diff_id, "diff_id", &hex, err);
        if (r < 0)
                return r;
        struct stat st;
        return stat_layer(l, hex, &st, err);
}

int hd_img_layers_remove(HdImgLayers *l, const char *diff_id, HdError **err)
{
        const char *hex = NULL;
        int r = digest_hex(diff_id, "diff_id", &hex, err);
        if (r < 0)
                return r;
        struct stat st;
        r = stat_layer(l, hex, &st, err);
        if (r < 0)
                return r;
        if (r == 0)
                return not_found(err, diff_id);

        char tmp[TMP_NAME_MAX];
        r = tmp_name_new(tmp);
        if (r < 0)
                return hd_error_set(err, r, "cannot get random bytes");
        if (renameat(l->root_fd, hex, l->tmp_fd, tmp) < 0)
                return errno == ENOENT ? not_found(err, diff_id)
                                       : fail_errno(err, errno, "cannot move away", l->root, hex);
        r = hd_img_rm_rf_at(l->tmp_fd, tmp);
        if (r < 0)
                return hd_error_set(err, r,
                                    "layer `%s` removed, but deleting its files failed (the rest "
                                    "goes at the next start): %s",
                                    diff_id, strerror(-r));
        return 0;
}

/* ---- listing and usage -------------------------------------------------------------- */

/* Calls fn for each stored layer (a directory named by 64 lowercase hex digits). */
static int scan_layers(HdImgLayers *l,
                       int (*fn)(HdImgLayers *l, int dir_fd, const char *hex, void *ud,
                                 HdError **err),
                       void *ud, HdError **err)
{
        int fd = openat(l->root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return hd_error_set(err, -errno, "cannot open `%s`: %s", l->root, strerror(errno));
        DIR *d = fdopendir(fd);
        if (!d) {
                int e = errno;
                close(fd);
                return hd_error_set(err, -e, "cannot open `%s`: %s", l->root, strerror(e));
        }
        int r = 0;
        for (struct dirent *de; (errno = 0, de = readdir(d));) {
                if (strlen(de->d_name) != HEX_LEN || !is_hex64(de->d_name))
                        continue;
                if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)
                        continue;
                struct stat st;
                if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        if (errno == ENOENT) /* removed meanwhile */
                                continue;
                        r = fail_errno(err, errno, "cannot stat", l->root, de->d_name);
                        break;
                }
                if (!S_ISDIR(st.st_mode))
                        continue;
                r = fn(l, dirfd(d), de->d_name, ud, err);
                if (r < 0)
                        break;
        }
        if (r == 0 && errno != 0)
                r = hd_error_set(err, -errno, "cannot read `%s`: %s", l->root, strerror(errno));
        closedir(d);
        return r;
}

typedef struct IdList {
        char **v;
        size_t n, cap;
} IdList;

static int list_add(HD_UNUSED HdImgLayers *l, HD_UNUSED int dir_fd, const char *hex, void *ud,
                    HdError **err)
{
        IdList *list = ud;
        if (list->n + 2 > list->cap) {
                size_t cap = list->cap ? list->cap * 2 : 64;
                char **v = reallocarray(list->v, cap, sizeof(*v));
                if (!v)
                        return hd_error_set(err, -ENOMEM, "out of memory");
                list->v = v;
                list->cap = cap;
        }
        char *s;
        if (asprintf(&s, DIGEST_PREFIX "%s", hex) < 0)
                return hd_error_set(err, -ENOMEM, "out of memory");
        list->v[list->n++] = s;
        list->v[list->n] = NULL;
        return 0;
}

static int strcmp_ptr(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

int hd_img_layers_list(HdImgLayers *l, char ***ret_diff_ids, size_t *ret_n, HdError **err)
{
        IdList list = { 0 };
        int r = scan_layers(l, list_add, &list, err);
        if (r < 0) {
                hd_img_layers_list_free(list.v);
                return r;
        }
        if (!list.v) {
                list.v = calloc(1, sizeof(*list.v));
                if (!list.v)
                        return hd_error_set(err, -ENOMEM, "out of memory");
        }
        qsort(list.v, list.n, sizeof(*list.v), strcmp_ptr);
        *ret_diff_ids = list.v;
        if (ret_n)
                *ret_n = list.n;
        return 0;
}

void hd_img_layers_list_free(char **diff_ids)
{
        if (!diff_ids)
                return;
        for (char **p = diff_ids; *p; p++)
                free(*p);
        free(diff_ids);
}

/* A file with more than one link: counted once, after the walk. */
typedef struct Inode {
        dev_t dev;
        ino_t ino;
        int64_t bytes;
} Inode;

typedef struct Usage {
        int64_t bytes; /* directories and singly linked files */
        Inode *linked;
        size_t n, cap;
} Usage;

static int usage_add(Usage *u, const struct stat *st)
{
        int64_t bytes = (int64_t)st->st_blocks * 512;
        if (S_ISDIR(st->st_mode) || st->st_nlink <= 1) {
                u->bytes += bytes;
                return 0;
        }
        if (u->n == u->cap) {
                size_t cap = u->cap ? u->cap * 2 : 64;
                Inode *v = reallocarray(u->linked, cap, sizeof(*v));
                if (!v)
                        return -ENOMEM;
                u->linked = v;
                u->cap = cap;
        }
        u->linked[u->n++] = (Inode){ .dev = st->st_dev, .ino = st->st_ino, .bytes = bytes };
        return 0;
}

static int inode_cmp(const void *a, const void *b)
{
        const Inode *x = a, *y = b;
        if (x->dev != y->dev)
                return x->dev < y->dev ? -1 : 1;
        return x->ino < y->ino ? -1 : (x->ino > y->ino ? 1 : 0);
}

/* Adds the directory name under at (whose stat is st) and everything below it that is on
 * the same file system. A name that vanished meanwhile is skipped. */
static int usage_walk(Usage *u, int at, const char *name, const struct stat *st, unsigned depth)
{
        if (depth > USAGE_MAX_DEPTH)
                return -ELOOP;
        int r = usage_add(u, st);
        if (r < 0)
                return r;
        int fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return errno == ENOENT ? 0 : -errno;
        DIR *d = fdopendir(fd);
        if (!d) {
                int e = errno;
                close(fd);
                return -e;
        }
        for (struct dirent *de; r >= 0 && (errno = 0, de = readdir(d));) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                struct stat cst;
                if (fstatat(dirfd(d), de->d_name, &cst, AT_SYMLINK_NOFOLLOW) < 0) {
                        r = errno == ENOENT ? 0 : -errno;
                        continue;
                }
                if (cst.st_dev != st->st_dev) /* a mount point: not ours */
                        continue;
                r = S_ISDIR(cst.st_mode) ? usage_walk(u, dirfd(d), de->d_name, &cst, depth + 1)
                                         : usage_add(u, &cst);
        }
        if (r >= 0 && errno != 0)
                r = -errno;
        closedir(d);
        return r;
}

static int usage_layer(HdImgLayers *l, int dir_fd, const char *hex, void *ud, HdError **err)
{
        struct stat st;
        if (fstatat(dir_fd, hex, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : fail_errno(err, errno, "cannot stat", l->root, hex);
        int r = usage_walk(ud, dir_fd, hex, &st, 0);
        if (r < 0)
                return hd_error_set(err, r, "cannot measure layer `%s/%s`: %s", l->root, hex,
                                    strerror(-r));
        return 0;
}

int hd_img_layers_usage(HdImgLayers *l, int64_t *ret_bytes, HdError **err)
{
        Usage u = { 0 };
        int r = scan_layers(l, usage_layer, &u, err);
        if (r >= 0) {
                if (u.n > 0)
                        qsort(u.linked, u.n, sizeof(*u.linked), inode_cmp);
                for (size_t i = 0; i < u.n; i++)
                        if (i == 0 || inode_cmp(&u.linked[i - 1], &u.linked[i]) != 0)
                                u.bytes += u.linked[i].bytes;
                *ret_bytes = u.bytes;
        }
        free(u.linked);
        return r;
}
