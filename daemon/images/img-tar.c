/* Tar layer extraction (contract in img-tar.h). The archive comes from strangers, so the
 * rules are few and blunt: every path is made canonical and relative (no `..`, no leading
 * `/`), every parent directory is opened one component at a time with O_NOFOLLOW from the
 * destination's fd, and every leaf is created fresh (O_EXCL, mkdirat, symlinkat, mknodat)
 * after whatever was there has been removed. Nothing is ever opened through a symlink.
 *
 * The input stream (read, decompress, hash, count) is img-input.c.
 *
 * Sections: errors · input · header fields · pax and GNU headers · paths · entries · the
 * main loop · removal. */
#include "img-tar.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "hd-util.h"
#include "img-input.h"

#define BLOCK    512
#define IO_BUF   (128 * 1024)
#define META_MAX (1024 * 1024) /* largest pax or GNU long-name header we hold in memory */

typedef struct Tar {
        int dest;
        HdImgTarLimits lim;
        HdError **err;
        bool no_openat2; /* ENOSYS once (old kernel, valgrind): walk from then on */

        HdImgInput *input; /* the uncompressed tar */
        uint64_t bytes_written, entries;
        uint8_t *buf; /* uncompressed data on its way to a file */
} Tar;

/* ---- errors ------------------------------------------------------------------------- */

/* Archive names end up in messages and logs: printable ASCII only, and not too long. */
static void printable(const char *s, char out[static 200])
{
        size_t i = 0;
        for (; *s && i < 196; s++)
                out[i++] = (*s >= 0x20 && *s < 0x7f && *s != '`') ? *s : '?';
        strcpy(out + i, *s ? "..." : "");
}

static int fail(Tar *t, int code, const char *name, const char *fmt, ...) HD_PRINTF(4, 5);

/* Sets the error (field "entry", naming the entry when known) and returns code. */
static int fail(Tar *t, int code, const char *name, const char *fmt, ...)
{
        _cleanup_free_ char *msg = NULL;
        va_list ap;
        va_start(ap, fmt);
        if (vasprintf(&msg, fmt, ap) < 0)
                msg = NULL;
        va_end(ap);
        if (!name)
                return hd_error_set_field(t->err, code, "entry", "%s", msg ? msg : fmt);
        char p[200];
        printable(name, p);
        return hd_error_set_field(t->err, code, "entry", "entry `%s`: %s", p, msg ? msg : fmt);
}

static int fail_errno(Tar *t, const char *name, const char *what)
{
        int e = errno;
        return fail(t, -e, name, "%s: %s", what, strerror(e));
}

#define corrupt(t, fmt, ...) fail((t), -EINVAL, NULL, "corrupt layer: " fmt, ##__VA_ARGS__)

/* ---- input -------------------------------------------------------------------------- */

/* Reads up to n bytes of the uncompressed tar (img-input.c hashes and counts them), fewer
 * only at the end of the stream. */
static ssize_t tar_read(Tar *t, void *buf, size_t n)
{
        return hd_img_input_read(t->input, buf, n, t->err);
}

/* Where the header just read starts in the uncompressed tar, for messages. */
static unsigned long long header_offset(const Tar *t)
{
        return (unsigned long long)(hd_img_input_bytes_uncompressed(t->input) - BLOCK);
}

/* ---- header fields ------------------------------------------------------------------ */

typedef struct Ustar {
        char name[100], mode[8], uid[8], gid[8], size[12], mtime[12], chksum[8], typeflag;
        char linkname[100], magic[6], version[2], uname[32], gname[32], devmajor[8], devminor[8],
                prefix[155], pad[12];
} Ustar;
_Static_assert(sizeof(Ustar) == BLOCK, "a ustar header is one block");

/* Octal (optionally space-padded, NUL or space terminated) or GNU base-256 (positive
 * values only). The result fits in an int64_t. */
static int parse_number(const char *field, size_t len, uint64_t *ret)
{
        const unsigned char *f = (const unsigned char *)field;
        uint64_t v = 0;
        size_t i = 0;
        if (f[0] == 0x80) {
                for (i = 1; i < len; i++) {
                        if (v >> 55)
                                return -EINVAL;
                        v = v << 8 | f[i];
                }
        } else {
                while (i < len && f[i] == ' ')
                        i++;
                for (; i < len && f[i] >= '0' && f[i] <= '7'; i++) {
                        if (v >> 60)
                                return -EINVAL;
                        v = v * 8 + (f[i] - '0');
                }
                while (i < len && (f[i] == ' ' || f[i] == '\0'))
                        i++;
                if (i != len)
                        return -EINVAL;
        }
        if (v > INT64_MAX)
                return -EINVAL;
        *ret = v;
        return 0;
}

/* The sum of the header's bytes with the checksum field read as spaces; old tars summed
 * signed chars, so either sum is accepted. */
static bool checksum_ok(const Ustar *h)
{
        uint64_t want;
        if (parse_number(h->chksum, sizeof(h->chksum), &want) < 0)
                return false;
        const unsigned char *b = (const unsigned char *)h;
        int64_t u = 0, s = 0;
        for (size_t i = 0; i < BLOCK; i++) {
                unsigned char c = i >= 148 && i < 156 ? ' ' : b[i];
                u += c;
                s += (signed char)c;
        }
        return (int64_t)want == u || (int64_t)want == s;
}

/* ---- pax and GNU headers ------------------------------------------------------------ */

/* What extended headers say about the next entry. */
typedef struct Pending {
        char *path, *link;
        bool has_size, has_uid, has_gid, has_mtime;
        uint64_t size, uid, gid;
        struct timespec mtime;
} Pending;

static void pending_clear(Pending *p)
{
        free(p->path);
        free(p->link);
        *p = (Pending){ 0 };
}

static int parse_pax_uint(const char *s, uint64_t max, uint64_t *ret)
{
        int64_t v;
        if (hd_parse_int64(s, &v) < 0 || v < 0 || (uint64_t)v > max)
                return -EINVAL;
        *ret = (uint64_t)v;
        return 0;
}

/* "SECONDS[.FRACTION]", SECONDS possibly negative. */
static int parse_pax_time(char *s, struct timespec *ret)
{
        bool negative = s[0] == '-';
        char *dot = strchr(s, '.');
        long nsec = 0;
        if (dot) {
                *dot = '\0';
                const char *f = dot + 1;
                if (!*f)
                        return -EINVAL;
                for (int i = 0; f[i]; i++) {
                        if (f[i] < '0' || f[i] > '9')
                                return -EINVAL;
                        if (i < 9)
                                nsec = nsec * 10 + (f[i] - '0');
                }
                for (size_t i = strlen(f); i < 9; i++)
                        nsec *= 10;
        }
        int64_t sec;
        if (hd_parse_int64(s, &sec) < 0)
                return -EINVAL;
        if (negative && nsec > 0) { /* -1.25 is 2 s before 0.75 */
                sec -= 1;
                nsec = 1000000000L - nsec;
        }
        *ret = (struct timespec){ .tv_sec = sec, .tv_nsec = nsec };
        return 0;
}

/* Records are "LEN KEY=VALUE\n", LEN counting the whole record. Only the keys that change
 * where or what we extract are used. Extended attributes (SCHILY.xattr.*,
 * LIBARCHIVE.xattr.*) are skipped on purpose: file capabilities and ACLs from a layer are
 * not restored. uname/gname are ignored: ownership is numeric. */
static int parse_pax(Tar *t, char *data, size_t len, Pending *p)
{
        for (size_t off = 0; off < len;) {
                char *rec = data + off;
                size_t avail = len - off, n = 0, i = 0;
                for (; i < avail && i < 18 && rec[i] >= '0' && rec[i] <= '9'; i++)
                        n = n * 10 + (size_t)(rec[i] - '0');
                if (i == 0 || i >= avail || rec[i] != ' ' || n < i + 3 || n > avail ||
                    rec[n - 1] != '\n')
                        return corrupt(t, "bad pax record");
                char *key = rec + i + 1, *end = rec + n - 1;
                char *eq = memchr(key, '=', (size_t)(end - key));
                if (!eq || eq == key || memchr(key, '\0', (size_t)(eq - key)))
                        return corrupt(t, "bad pax record");
                *eq = *end = '\0';
                char *val = eq + 1;
                size_t vlen = (size_t)(end - val);
                off += n;

                if (hd_str_startswith(key, "GNU.sparse."))
                        return fail(t, -EOPNOTSUPP, NULL, "sparse files are not supported");
                static const char *const used[] = { "path", "linkpath", "size",
                                                    "uid",  "gid",      "mtime" };
                bool is_used = false;
                for (size_t u = 0; u < HD_ARRAY_SIZE(used); u++)
                        is_used = is_used || strcmp(key, used[u]) == 0;
                if (!is_used || vlen == 0) /* empty: "use the ustar header's" */
                        continue;
                if (strlen(val) != vlen)
                        return corrupt(t, "pax %s contains a NUL byte", key);
                bool is_path = strcmp(key, "path") == 0, is_link = strcmp(key, "linkpath") == 0;
                int r = 0;
                if (is_path || is_link) {
                        char **dst = is_path ? &p->path : &p->link;
                        free(*dst);
                        *dst = strdup(val);
                        if (!*dst)
                                return fail(t, -ENOMEM, NULL, "out of memory");
                } else if (strcmp(key, "size") == 0) {
                        r = parse_pax_uint(val, INT64_MAX, &p->size);
                        p->has_size = true;
                } else if (strcmp(key, "uid") == 0) {
                        r = parse_pax_uint(val, UINT32_MAX - 1, &p->uid);
                        p->has_uid = true;
                } else if (strcmp(key, "gid") == 0) {
                        r = parse_pax_uint(val, UINT32_MAX - 1, &p->gid);
                        p->has_gid = true;
                } else if (strcmp(key, "mtime") == 0) {
                        r = parse_pax_time(val, &p->mtime);
                        p->has_mtime = true;
                }
                if (r < 0)
                        return corrupt(t, "bad pax %s", key);
        }
        return 0;
}

/* ---- paths -------------------------------------------------------------------------- */

/* Checks path (entry name's own path, or its hard link target: what says which) and
 * writes its canonical relative form to *ret ("./a//b/" → "a/b"; "" for the layer root):
 * no leading `/`, no `..`, no `.wh.` parent directory, within the length and depth
 * limits. */
static int path_canonical(Tar *t, const char *name, const char *what, const char *path, char **ret)
{
        size_t len = strlen(path);
        if (len == 0)
                return fail(t, -EINVAL, name, "empty %s", what);
        if (len > t->lim.max_path)
                return fail(t, -EINVAL, name, "%s longer than %u bytes", what, t->lim.max_path);
        if (path[0] == '/')
                return fail(t, -EINVAL, name, "absolute %s", what);
        _cleanup_free_ char *out = malloc(len + 1);
        if (!out)
                return fail(t, -ENOMEM, name, "out of memory");
        char *o = out;
        const char *last = NULL;
        unsigned depth = 0;
        for (const char *p = path; *p;) {
                const char *c = p;
                size_t n = strcspn(c, "/");
                p += n;
                if (*p == '/')
                        p++;
                if (n == 0 || (n == 1 && c[0] == '.'))
                        continue;
                if (n == 2 && c[0] == '.' && c[1] == '.')
                        return fail(t, -EINVAL, name, "%s has a `..` component", what);
                if (last && hd_str_startswith(last, ".wh."))
                        return fail(t, -EINVAL, name, "%s goes through a whiteout", what);
                if (++depth > t->lim.max_depth)
                        return fail(t, -EINVAL, name, "%s deeper than %u components", what,
                                    t->lim.max_depth);
                if (o != out)
                        *o++ = '/';
                last = c;
                memcpy(o, c, n);
                o += n;
        }
        *o = '\0';
        *ret = TAKE_PTR(out);
        return 0;
}

/* The parent directory of the canonical path in one call, the kernel refusing any
 * symlink on the way (ELOOP); -errno on failure. */
static int open_parent_fast(Tar *t, char *canon)
{
        char *slash = strrchr(canon, '/');
        if (!slash || t->no_openat2)
                return -ENOENT; /* the destination itself, or no openat2: the walk does it */
        *slash = '\0';
        struct open_how how = {
                .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
                .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
        };
        int fd = (int)syscall(SYS_openat2, t->dest, canon, &how, sizeof(how));
        *slash = '/';
        if (fd < 0 && errno == ENOSYS)
                t->no_openat2 = true;
        return fd < 0 ? -errno : fd;
}

/* Opens (O_PATH) the directory that holds the last component of the canonical path and
 * points *ret_leaf at that component, never through a symlink. Usually openat2 does it
 * in one call; where a parent is missing (or openat2 is), each parent is opened with
 * O_NOFOLLOW|O_DIRECTORY from the one before, starting at the destination, and missing
 * ones are created (0755) when create is set. */
static int open_parent(Tar *t, const char *name, char *canon, bool create, int *ret_fd,
                       const char **ret_leaf)
{
        const char *last_slash = strrchr(canon, '/');
        int r = open_parent_fast(t, canon);
        if (r >= 0) {
                *ret_leaf = last_slash + 1;
                *ret_fd = r;
                return 0;
        }
        if (r == -ELOOP || r == -ENOTDIR)
                return fail(t, -EINVAL, name, "a parent is a symlink or not a directory");

        _cleanup_close_ int fd = openat(t->dest, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return fail_errno(t, name, "opening the destination");
        char *c = canon;
        for (char *slash; (slash = strchr(c, '/')); c = slash + 1) {
                *slash = '\0';
                int next = openat(fd, c, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (next < 0 && errno == ENOENT && create) {
                        if (mkdirat(fd, c, 0755) < 0 && errno != EEXIST) {
                                *slash = '/';
                                return fail_errno(t, name, "creating a parent directory");
                        }
                        next = openat(fd, c, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                }
                *slash = '/';
                if (next < 0 && (errno == ENOTDIR || errno == ELOOP))
                        return fail(t, -EINVAL, name, "a parent is a symlink or not a directory");
                if (next < 0 && errno == ENOENT)
                        return fail(t, -EINVAL, name, "a parent directory does not exist");
                if (next < 0)
                        return fail_errno(t, name, "opening a parent directory");
                close(fd);
                fd = next;
        }
        *ret_leaf = c;
        *ret_fd = TAKE_FD(fd);
        return 0;
}

/* ---- entries ------------------------------------------------------------------------ */

typedef struct Entry {
        char type; /* ustar typeflag: '0' file, '1' hard link, '2' symlink, '3' char, '4' block,
                      '5' directory, '6' FIFO */
        char *name, *link;
        uint64_t size; /* data bytes after the header not yet consumed */
        mode_t mode;
        uid_t uid;
        gid_t gid;
        struct timespec mtime;
        dev_t rdev;
} Entry;

static void entry_clear(Entry *e)
{
        free(e->name);
        free(e->link);
}

/* Consumes size data bytes and the padding to the next block, writing the data to fd
 * unless it is -1. */
static int copy_data(Tar *t, const char *name, int fd, uint64_t size)
{
        uint64_t left = size, pad = (BLOCK - size % BLOCK) % BLOCK;
        while (left + pad > 0) {
                size_t want = left + pad < IO_BUF ? (size_t)(left + pad) : IO_BUF;
                ssize_t k = tar_read(t, t->buf, want);
                if (k < 0)
                        return (int)k;
                if ((size_t)k < want)
                        return corrupt(t, "truncated archive");
                size_t data = want < left ? want : (size_t)left;
                if (fd >= 0 && data > 0) {
                        int r = hd_write_all(fd, t->buf, data);
                        if (r < 0) {
                                errno = -r;
                                return fail_errno(t, name, "write");
                        }
                        t->bytes_written += data;
                }
                left -= data;
                pad -= want - data;
        }
        return 0;
}

/* Owner first: chown clears the set-id bits that chmod then sets. fd is the open entry,
 * or -1 to work on (pfd, leaf) without following a symlink (glibc's fchmodat does that
 * through /proc/self/fd, which the host has). */
static int apply_meta(Tar *t, const Entry *e, int fd, int pfd, const char *leaf)
{
        mode_t mode = e->mode & 07777;
        /* a setgid directory only passes its group on; that is not a privilege */
        if (!t->lim.keep_setid && e->type != '5')
                mode &= ~(mode_t)(S_ISUID | S_ISGID);
        const struct timespec ts[2] = { e->mtime, e->mtime };
        if (fd >= 0) {
                if (fchown(fd, e->uid, e->gid) < 0)
                        return fail_errno(t, e->name, "chown");
                if (fchmod(fd, mode) < 0)
                        return fail_errno(t, e->name, "chmod");
                if (futimens(fd, ts) < 0)
                        return fail_errno(t, e->name, "setting mtime");
                return 0;
        }
        if (fchownat(pfd, leaf, e->uid, e->gid, AT_SYMLINK_NOFOLLOW) < 0)
                return fail_errno(t, e->name, "chown");
        if (e->type != '2' && fchmodat(pfd, leaf, mode, AT_SYMLINK_NOFOLLOW) < 0)
                return fail_errno(t, e->name, "chmod");
        if (utimensat(pfd, leaf, ts, AT_SYMLINK_NOFOLLOW) < 0)
                return fail_errno(t, e->name, "setting mtime");
        return 0;
}

/* Clears the way for a new leaf, as tar does: an existing directory stays when a directory
 * comes, anything else is removed (a directory with everything under it). */
static int make_room(Tar *t, const char *name, int pfd, const char *leaf, bool for_dir)
{
        struct stat st;
        if (fstatat(pfd, leaf, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : fail_errno(t, name, "stat");
        if (S_ISDIR(st.st_mode) && for_dir)
                return 0;
        int r = S_ISDIR(st.st_mode) ? hd_img_rm_rf_at(pfd, leaf)
                                    : (unlinkat(pfd, leaf, 0) < 0 ? -errno : 0);
        if (r < 0) {
                errno = -r;
                return fail_errno(t, name, "removing the existing entry");
        }
        return 0;
}

/* `d/.wh.n` hides `n` of the layers below: overlayfs reads that from a 0:0 character
 * device `d/n`. When this layer already has `n`, that hides the lower one already (OCI:
 * whiteouts only apply to lower layers). `d/.wh..wh..opq` makes `d` opaque. */
static int whiteout(Tar *t, const Entry *e, int pfd, const char *leaf)
{
        if (strcmp(leaf, ".wh..wh..opq") == 0) {
                _cleanup_close_ int fd = openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (fd < 0)
                        return fail_errno(t, e->name, "opening the opaque directory");
                if (fsetxattr(fd, "trusted.overlay.opaque", "y", 1, 0) < 0)
                        return fail_errno(t, e->name, "setting trusted.overlay.opaque");
                return 0;
        }
        if (hd_str_startswith(leaf, ".wh..wh.")) /* other aufs bookkeeping: meaningless here */
                return 0;
        const char *victim = leaf + strlen(".wh.");
        if (!*victim || strcmp(victim, ".") == 0 || strcmp(victim, "..") == 0)
                return fail(t, -EINVAL, e->name, "bad whiteout name");
        if (mknodat(pfd, victim, S_IFCHR | 0, makedev(0, 0)) < 0 && errno != EEXIST)
                return fail_errno(t, e->name, "creating the whiteout");
        return 0;
}

/* Opens the hard link's target: a regular file this layer extracted, reached safely. */
static int open_link_target(Tar *t, const Entry *e, int *ret_fd)
{
        _cleanup_free_ char *canon = NULL;
        _cleanup_close_ int pfd = -1;
        const char *leaf;
        int r = path_canonical(t, e->name, "hard link target", e->link, &canon);
        if (r < 0)
                return r;
        if (!*canon)
                return fail(t, -EINVAL, e->name, "hard link target is not a regular file");
        r = open_parent(t, e->name, canon, false, &pfd, &leaf);
        if (r < 0)
                return r;
        _cleanup_close_ int fd = openat(pfd, leaf, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT)
                return fail(t, -EINVAL, e->name, "hard link target is not in this layer");
        if (fd < 0)
                return fail_errno(t, e->name, "opening the hard link target");
        struct stat st;
        if (fstat(fd, &st) < 0)
                return fail_errno(t, e->name, "stat");
        if (!S_ISREG(st.st_mode))
                return fail(t, -EINVAL, e->name, "hard link target is not a regular file");
        *ret_fd = TAKE_FD(fd);
        return 0;
}

static int extract_root(Tar *t, Entry *e)
{
        if (e->type != '5')
                return fail(t, -EINVAL, e->name, "the layer root can only be a directory");
        _cleanup_close_ int fd = openat(t->dest, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return fail_errno(t, e->name, "opening the destination");
        return apply_meta(t, e, fd, -1, NULL);
}

static int extract_entry(Tar *t, Entry *e)
{
        _cleanup_free_ char *canon = NULL;
        _cleanup_close_ int pfd = -1, fd = -1, target = -1;
        const char *leaf;

        int r = path_canonical(t, e->name, "path", e->name, &canon);
        if (r < 0)
                return r;
        if (!*canon)
                return extract_root(t, e);
        r = open_parent(t, e->name, canon, true, &pfd, &leaf);
        if (r < 0)
                return r;
        if (hd_str_startswith(leaf, ".wh."))
                return whiteout(t, e, pfd, leaf);
        if ((e->type == '3' || e->type == '4') && !t->lim.allow_devices)
                return fail(t, -EINVAL, e->name, "device nodes are not allowed");
        if (e->type == '2' && (!*e->link || strlen(e->link) > t->lim.max_path))
                return fail(t, -EINVAL, e->name, "symlink target empty or longer than %u bytes",
                            t->lim.max_path);
        if (e->type == '1') {
                r = open_link_target(t, e, &target);
                if (r < 0)
                        return r;
                struct stat a, b;
                if (fstat(target, &a) == 0 && fstatat(pfd, leaf, &b, AT_SYMLINK_NOFOLLOW) == 0 &&
                    a.st_dev == b.st_dev && a.st_ino == b.st_ino)
                        return 0; /* already that file (a link to itself, a repeated link) */
        }
        r = make_room(t, e->name, pfd, leaf, e->type == '5');
        if (r < 0)
                return r;

        switch (e->type) {
        case '0':
                fd = openat(pfd, leaf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
                if (fd < 0)
                        return fail_errno(t, e->name, "create");
                r = copy_data(t, e->name, fd, e->size);
                if (r < 0)
                        return r;
                e->size = 0;
                return apply_meta(t, e, fd, -1, NULL);
        case '5':
                if (mkdirat(pfd, leaf, 0700) < 0 && errno != EEXIST)
                        return fail_errno(t, e->name, "mkdir");
                fd = openat(pfd, leaf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0)
                        return fail_errno(t, e->name, "opening the directory");
                return apply_meta(t, e, fd, -1, NULL);
        case '1':
                /* linking the fd we checked, not a name that could have changed since */
                if (linkat(target, "", pfd, leaf, AT_EMPTY_PATH) < 0)
                        return fail_errno(t, e->name, "link");
                return 0;
        case '2':
                /* stored as-is: the extractor never follows it */
                if (symlinkat(e->link, pfd, leaf) < 0)
                        return fail_errno(t, e->name, "symlink");
                break;
        case '3':
        case '4':
        case '6': {
                mode_t kind = e->type == '3' ? S_IFCHR : e->type == '4' ? S_IFBLK : S_IFIFO;
                if (mknodat(pfd, leaf, kind | 0600, kind == S_IFIFO ? 0 : e->rdev) < 0)
                        return fail_errno(t, e->name, "mknod");
                break;
        }
        default:
                return fail(t, -EOPNOTSUPP, e->name, "unsupported entry type");
        }
        return apply_meta(t, e, -1, pfd, leaf);
}

/* ---- the main loop ------------------------------------------------------------------ */

/* Reads the data of a pax or GNU long-name header into memory. */
static int read_meta(Tar *t, uint64_t size, char **ret)
{
        if (size > META_MAX)
                return fail(t, -EINVAL, NULL, "extended header larger than %d bytes", META_MAX);
        _cleanup_free_ char *data = malloc(size + 1);
        if (!data)
                return fail(t, -ENOMEM, NULL, "out of memory");
        ssize_t k = tar_read(t, data, size);
        if (k < 0)
                return (int)k;
        if ((uint64_t)k < size)
                return corrupt(t, "truncated archive");
        data[size] = '\0';
        size_t pad = (BLOCK - size % BLOCK) % BLOCK;
        k = tar_read(t, t->buf, pad);
        if (k < 0)
                return (int)k;
        if ((size_t)k < pad)
                return corrupt(t, "truncated archive");
        *ret = TAKE_PTR(data);
        return 0;
}

/* A pax header ('x') or GNU long name ('L') or link ('K') for the next entry; a pax
 * global header ('g') sets defaults we have no use for. */
static int read_extended(Tar *t, const Ustar *h, Pending *p)
{
        uint64_t size;
        _cleanup_free_ char *data = NULL;
        if (parse_number(h->size, sizeof(h->size), &size) < 0)
                return corrupt(t, "bad extended header size at offset %llu", header_offset(t));
        int r = read_meta(t, size, &data);
        if (r < 0)
                return r;
        if (h->typeflag == 'x')
                return parse_pax(t, data, size, p);
        if (h->typeflag == 'L' || h->typeflag == 'K') {
                char **dst = h->typeflag == 'L' ? &p->path : &p->link;
                free(*dst);
                *dst = strdup(data); /* up to its NUL */
                if (!*dst)
                        return fail(t, -ENOMEM, NULL, "out of memory");
        }
        return 0;
}

static bool is_zero_block(const Ustar *h)
{
        const unsigned char *b = (const unsigned char *)h;
        for (size_t i = 0; i < BLOCK; i++)
                if (b[i])
                        return false;
        return true;
}

/* Fills e from the header and what the extended headers before it said. */
static int entry_from_header(Tar *t, const Ustar *h, Pending *p, Entry *e)
{
        uint64_t mode, uid, gid, size, mtime, major, minor;
        if (parse_number(h->mode, sizeof(h->mode), &mode) < 0 ||
            parse_number(h->uid, sizeof(h->uid), &uid) < 0 ||
            parse_number(h->gid, sizeof(h->gid), &gid) < 0 ||
            parse_number(h->size, sizeof(h->size), &size) < 0 ||
            parse_number(h->mtime, sizeof(h->mtime), &mtime) < 0 ||
            parse_number(h->devmajor, sizeof(h->devmajor), &major) < 0 ||
            parse_number(h->devminor, sizeof(h->devminor), &minor) < 0)
                return corrupt(t, "bad number in the header at offset %llu", header_offset(t));
        uid = p->has_uid ? p->uid : uid;
        gid = p->has_gid ? p->gid : gid;
        if (uid >= UINT32_MAX || gid >= UINT32_MAX || major > UINT32_MAX || minor > UINT32_MAX)
                return corrupt(t, "id out of range at offset %llu", header_offset(t));

        e->type = h->typeflag == '\0' || h->typeflag == '7' ? '0' : h->typeflag;
        /* Header-only types carry no data whatever their size field says (as Go's
         * archive/tar, which wrote most layers, reads them). */
        e->size = e->type == '0' ? (p->has_size ? p->size : size) : 0;
        e->mode = (mode_t)(mode & 07777);
        e->uid = (uid_t)uid;
        e->gid = (gid_t)gid;
        e->mtime = p->has_mtime ? p->mtime : (struct timespec){ .tv_sec = (time_t)mtime };
        e->rdev = makedev((unsigned)major, (unsigned)minor);

        if (p->path)
                e->name = TAKE_PTR(p->path);
        else if (h->magic[5] == '\0' && h->prefix[0]) { /* POSIX ustar: prefix/name */
                if (asprintf(&e->name, "%.*s/%.*s", (int)strnlen(h->prefix, 155), h->prefix,
                             (int)strnlen(h->name, 100), h->name) < 0)
                        e->name = NULL;
        } else
                e->name = strndup(h->name, sizeof(h->name));
        e->link = p->link ? TAKE_PTR(p->link) : strndup(h->linkname, sizeof(h->linkname));
        if (!e->name || !e->link)
                return fail(t, -ENOMEM, NULL, "out of memory");
        return 0;
}

static int extract_all(Tar *t)
{
        _cleanup_(pending_clear) Pending p = { 0 };
        Ustar h;
        for (;;) {
                ssize_t k = tar_read(t, &h, BLOCK);
                if (k < 0)
                        return (int)k;
                if (k < BLOCK)
                        return corrupt(t, "truncated archive (no end-of-archive marker)");
                if (is_zero_block(&h))
                        break;
                if (!checksum_ok(&h) || memcmp(h.magic, "ustar", 5) != 0)
                        return corrupt(t, "bad header checksum or magic at offset %llu",
                                       header_offset(t));

                if (strchr("xgLK", h.typeflag) && h.typeflag) {
                        int r = read_extended(t, &h, &p);
                        if (r < 0)
                                return r;
                        continue;
                }

                _cleanup_(entry_clear) Entry e = { 0 };
                int r = entry_from_header(t, &h, &p, &e);
                pending_clear(&p);
                if (r < 0)
                        return r;
                if (++t->entries > t->lim.max_entries)
                        return fail(t, -EFBIG, NULL, "layer has more than %llu entries",
                                    (unsigned long long)t->lim.max_entries);
                r = extract_entry(t, &e);
                if (r < 0)
                        return r;
                r = copy_data(t, e.name, -1, e.size); /* data of a whiteout, for one */
                if (r < 0)
                        return r;
        }
        /* The rest (the second zero block, record padding) still belongs to the diff_id
         * and the digest: read it all, ignoring its content as tar does. */
        for (;;) {
                ssize_t k = tar_read(t, t->buf, IO_BUF);
                if (k <= 0)
                        return (int)k;
        }
}

static void tar_free(Tar *t)
{
        hd_img_input_free(t->input);
        free(t->buf);
        free(t);
}
HD_DEFINE_CLEANUP(Tar *, tar_free)

int hd_img_tar_extract(int src_fd, HdImgCompression comp, int dest_dirfd,
                       const HdImgTarLimits *limits, HdImgTarResult *ret, HdError **err)
{
        _cleanup_(tar_freep) Tar *t = calloc(1, sizeof(*t));
        if (!t)
                return hd_error_set(err, -ENOMEM, "out of memory");
        t->dest = dest_dirfd;
        t->err = err;
        t->lim = limits ? *limits : (HdImgTarLimits){ 0 };
        if (!t->lim.max_bytes)
                t->lim.max_bytes = HD_IMG_TAR_DEFAULT_MAX_BYTES;
        if (!t->lim.max_entries)
                t->lim.max_entries = HD_IMG_TAR_DEFAULT_MAX_ENTRIES;
        if (!t->lim.max_depth)
                t->lim.max_depth = HD_IMG_TAR_DEFAULT_MAX_DEPTH;
        if (!t->lim.max_path)
                t->lim.max_path = HD_IMG_TAR_DEFAULT_MAX_PATH;
        if (comp < HD_IMG_COMPRESSION_NONE || comp > HD_IMG_COMPRESSION_AUTO)
                return hd_error_set(err, -EINVAL, "unknown compression %d", (int)comp);

        t->buf = malloc(IO_BUF);
        if (!t->buf)
                return hd_error_set(err, -ENOMEM, "out of memory");
        int r = hd_img_input_new(src_fd, comp, t->lim.max_bytes, &t->input, err);
        if (r < 0)
                return r;
        r = extract_all(t);
        if (r < 0)
                return r;

        if (ret) {
                *ret = (HdImgTarResult){
                        .compression = hd_img_input_compression(t->input),
                        .bytes_read = hd_img_input_bytes_read(t->input),
                        .bytes_uncompressed = hd_img_input_bytes_uncompressed(t->input),
                        .bytes_written = t->bytes_written,
                        .entries = t->entries,
                };
                if (hd_img_input_digests(t->input, ret->digest, ret->diff_id) < 0)
                        return hd_error_set(err, -EIO, "sha256 failed");
        }
        return 0;
}

const char *hd_img_compression_to_string(HdImgCompression c)
{
        switch (c) {
        case HD_IMG_COMPRESSION_NONE:
                return "none";
        case HD_IMG_COMPRESSION_GZIP:
                return "gzip";
        case HD_IMG_COMPRESSION_ZSTD:
                return "zstd";
        case HD_IMG_COMPRESSION_AUTO:
                return "auto";
        }
        return "unknown";
}

/* ---- removal ------------------------------------------------------------------------ */

static int rm_rf(int at, const char *name, const dev_t *dev)
{
        struct stat st;
        if (fstatat(at, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : -errno;
        if (!S_ISDIR(st.st_mode))
                return unlinkat(at, name, 0) < 0 && errno != ENOENT ? -errno : 0;
        if (dev && st.st_dev != *dev)
                return -EXDEV;

        int fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        DIR *d = fdopendir(fd);
        if (!d) {
                int e = errno;
                close(fd);
                return -e;
        }
        int r = 0;
        for (struct dirent *de; r >= 0 && (errno = 0, de = readdir(d));)
                if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
                        r = rm_rf(dirfd(d), de->d_name, &st.st_dev);
        if (r >= 0 && errno != 0)
                r = -errno;
        closedir(d);
        if (r < 0)
                return r;
        return unlinkat(at, name, AT_REMOVEDIR) < 0 && errno != ENOENT ? -errno : 0;
}

int hd_img_rm_rf_at(int at, const char *name)
{
        if (!name || !*name || strchr(name, '/') || strcmp(name, ".") == 0 ||
            strcmp(name, "..") == 0)
                return -EINVAL;
        return rm_rf(at, name, NULL);
}
