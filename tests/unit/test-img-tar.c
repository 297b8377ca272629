/* Tests for daemon/images/img-tar.c: the layer extractor against archives written by
 * Python's tarfile (ustar, pax and GNU formats, plus hand-made malicious ones), compressed
 * with the gzip and zstd tools; every outcome is checked on the extracted tree. Needs
 * root (ownership, device nodes, trusted xattrs), python3, gzip, zstd and sha256sum. */
#include <check.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "hd-util.h"
#include "img-tar.h"

/* ---- fixture ------------------------------------------------------------------------ */

static char work[64]; /* per test: a.tar, dest/, outside/ */
static int dest_fd = -1;

static void setup(void)
{
        snprintf(work, sizeof(work), "/tmp/test-img-tar-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(work));
        char p[128];
        snprintf(p, sizeof(p), "%s/dest", work);
        ck_assert_int_eq(mkdir(p, 0700), 0);
        dest_fd = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC);
        ck_assert_int_ge(dest_fd, 0);
        snprintf(p, sizeof(p), "%s/outside", work);
        ck_assert_int_eq(mkdir(p, 0700), 0);
}

static void teardown(void)
{
        close(dest_fd);
        _cleanup_close_ int tmp = open("/tmp", O_PATH | O_DIRECTORY | O_CLOEXEC);
        ck_assert_int_eq(hd_img_rm_rf_at(tmp, work + strlen("/tmp/")), 0);
}

static void sh(const char *fmt, ...) HD_PRINTF(1, 2);

static void sh(const char *fmt, ...)
{
        _cleanup_free_ char *cmd = NULL;
        va_list ap;
        va_start(ap, fmt);
        ck_assert_int_ge(vasprintf(&cmd, fmt, ap), 0);
        va_end(ap);
        ck_assert_msg(system(cmd) == 0, "failed: %s", cmd);
}

/* Writes work/a.tar with a Python body; `t` is an open tarfile (format fmt), `add`
 * adds an entry, W is the work directory. */
static const char PRELUDE[] =
        "import io, sys, tarfile\n"
        "W = sys.argv[2]\n"
        "def add(t, name, data=b'', type=tarfile.REGTYPE, **kw):\n"
        "    ti = tarfile.TarInfo(name)\n"
        "    ti.type = type\n"
        "    ti.mtime = 1000000000\n"
        "    ti.mode = 0o644\n"
        "    for k, v in kw.items():\n"
        "        setattr(ti, k, v)\n"
        "    ti.size = len(data) if type in (tarfile.REGTYPE, tarfile.XHDTYPE) else 0\n"
        "    t.addfile(ti, io.BytesIO(data))\n"
        "def open_tar(fmt=tarfile.PAX_FORMAT):\n"
        "    return tarfile.open(sys.argv[1], 'w', format=fmt)\n";

static void make_tar(const char *body)
{
        char p[128];
        snprintf(p, sizeof(p), "%s/gen.py", work);
        FILE *f = fopen(p, "we");
        ck_assert_ptr_nonnull(f);
        fputs(PRELUDE, f);
        fputs(body, f);
        ck_assert_int_eq(fclose(f), 0);
        sh("python3 %s/gen.py %s/a.tar %s", work, work, work);
}

static int extract_file(const char *file, HdImgCompression comp, const HdImgTarLimits *lim,
                        HdImgTarResult *res, HdError **err)
{
        char p[128];
        snprintf(p, sizeof(p), "%s/%s", work, file);
        _cleanup_close_ int fd = open(p, O_RDONLY | O_CLOEXEC);
        ck_assert_int_ge(fd, 0);
        int r = hd_img_tar_extract(fd, comp, dest_fd, lim, res, err);
        if (r < 0)
                ck_assert(err && *err && (*err)->message);
        else
                ck_assert(!err || !*err);
        return r;
}

static int extract(const HdImgTarLimits *lim, HdError **err)
{
        return extract_file("a.tar", HD_IMG_COMPRESSION_NONE, lim, NULL, err);
}

/* The archive is refused with code, the field "entry" and a message containing what. */
static void expect_refused(const HdImgTarLimits *lim, int code, const char *what)
{
        _cleanup_error_ HdError *err = NULL;
        ck_assert_int_eq(extract(lim, &err), code);
        ck_assert_int_eq(err->code, code);
        ck_assert_str_eq(err->field, "entry");
        ck_assert_msg(strstr(err->message, what), "`%s` not in: %s", what, err->message);
}

static void clear_dest(void)
{
        char p[128];
        snprintf(p, sizeof(p), "%s/dest", work);
        _cleanup_close_ int w = open(work, O_PATH | O_DIRECTORY | O_CLOEXEC);
        ck_assert_int_eq(hd_img_rm_rf_at(w, "dest"), 0);
        ck_assert_int_eq(mkdir(p, 0700), 0);
        close(dest_fd);
        dest_fd = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC);
        ck_assert_int_ge(dest_fd, 0);
}

static int count_children(const char *rel)
{
        char cmd[192];
        snprintf(cmd, sizeof(cmd), "ls -A %s/%s | wc -l", work, rel);
        FILE *f = popen(cmd, "r");
        ck_assert_ptr_nonnull(f);
        int n = -1;
        ck_assert_int_eq(fscanf(f, "%d", &n), 1);
        pclose(f);
        return n;
}

/* Nothing escaped: the work dir holds exactly what the test made, outside/ is as left. */
static void assert_contained(int outside_children)
{
        ck_assert_int_eq(count_children("outside"), outside_children);
        ck_assert_int_eq(count_children(""), 4); /* a.tar gen.py dest outside */
}

static struct stat lstat_in(const char *rel)
{
        struct stat st;
        ck_assert_msg(fstatat(dest_fd, rel, &st, AT_SYMLINK_NOFOLLOW) == 0, "%s: %s", rel,
                      strerror(errno));
        return st;
}

static bool exists_in(const char *rel)
{
        struct stat st;
        return fstatat(dest_fd, rel, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static char *read_in(const char *rel)
{
        _cleanup_close_ int fd = openat(dest_fd, rel, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        ck_assert_msg(fd >= 0, "%s: %s", rel, strerror(errno));
        static char buf[4096];
        ssize_t n = read(fd, buf, sizeof(buf) - 1);
        ck_assert_int_ge(n, 0);
        buf[n] = '\0';
        return buf;
}

static void sha256sum(const char *file, char out[static HD_IMG_DIGEST_STRING_MAX])
{
        char cmd[192];
        snprintf(cmd, sizeof(cmd), "sha256sum %s/%s", work, file);
        FILE *f = popen(cmd, "r");
        ck_assert_ptr_nonnull(f);
        char hex[65] = { 0 };
        ck_assert_int_eq(fscanf(f, "%64s", hex), 1);
        pclose(f);
        snprintf(out, HD_IMG_DIGEST_STRING_MAX, "sha256:%s", hex);
}

static uint64_t file_size(const char *file)
{
        char p[128];
        struct stat st;
        snprintf(p, sizeof(p), "%s/%s", work, file);
        ck_assert_int_eq(stat(p, &st), 0);
        return (uint64_t)st.st_size;
}

/* ---- normal extraction -------------------------------------------------------------- */

START_TEST(test_regular)
{
        make_tar("t = open_tar()\n"
                 "add(t, './', type=tarfile.DIRTYPE, mode=0o755, mtime=1234)\n"
                 "add(t, 'd/', type=tarfile.DIRTYPE, mode=0o750, uid=1234, gid=5678)\n"
                 "add(t, 'd/f', b'hello', mode=0o640, uid=1000, gid=1001)\n"
                 "add(t, 'd/sub/deep.txt', b'deep')\n" /* parents implied */
                 "add(t, './dot//x', b'dot')\n"
                 "add(t, 'empty', b'')\n"
                 "add(t, 'big', bytes(i % 251 for i in range(300000)), mode=0o600)\n"
                 "add(t, 'frac', b'', mtime=1000000000.5)\n"
                 "add(t, 'd/ln', type=tarfile.SYMTYPE, linkname='f', uid=7, gid=8, "
                 "mtime=999)\n"
                 "add(t, 'abs', type=tarfile.SYMTYPE, linkname='/etc/passwd')\n"
                 "add(t, 'd/hl', type=tarfile.LNKTYPE, linkname='d/f')\n"
                 "add(t, 'fifo', type=tarfile.FIFOTYPE, mode=0o620, uid=3)\n"
                 "add(t, 'emptydir', type=tarfile.DIRTYPE, mode=0o711, mtime=4242)\n"
                 "t.close()\n");
        HdImgTarResult res;
        _cleanup_error_ HdError *err = NULL;
        ck_assert_msg(extract_file("a.tar", HD_IMG_COMPRESSION_NONE, NULL, &res, &err) == 0, "%s",
                      err->message);
        ck_assert_uint_eq(res.entries, 13);
        ck_assert_uint_eq(res.bytes_written, 5 + 4 + 3 + 300000);
        ck_assert_uint_eq(res.bytes_read, file_size("a.tar"));
        ck_assert_uint_eq(res.bytes_uncompressed, file_size("a.tar"));
        ck_assert_int_eq(res.compression, HD_IMG_COMPRESSION_NONE);

        struct stat st = lstat_in(".");
        ck_assert_int_eq(st.st_mode & 07777, 0755);

        st = lstat_in("d");
        ck_assert(S_ISDIR(st.st_mode));
        ck_assert_int_eq(st.st_mode & 07777, 0750);
        ck_assert_int_eq(st.st_uid, 1234);
        ck_assert_int_eq(st.st_gid, 5678);

        st = lstat_in("d/f");
        ck_assert(S_ISREG(st.st_mode));
        ck_assert_int_eq(st.st_mode & 07777, 0640);
        ck_assert_int_eq(st.st_uid, 1000);
        ck_assert_int_eq(st.st_gid, 1001);
        ck_assert_int_eq(st.st_mtime, 1000000000);
        ck_assert_int_eq(st.st_nlink, 2);
        ck_assert_str_eq(read_in("d/f"), "hello");
        ck_assert_int_eq(lstat_in("d/hl").st_ino, st.st_ino);

        ck_assert_str_eq(read_in("d/sub/deep.txt"), "deep");
        ck_assert_int_eq(lstat_in("d/sub").st_mode & 07777, 0755);
        ck_assert_str_eq(read_in("dot/x"), "dot");
        ck_assert_int_eq(lstat_in("empty").st_size, 0);

        st = lstat_in("big");
        ck_assert_int_eq(st.st_size, 300000);
        ck_assert_int_eq(st.st_mode & 07777, 0600);
        _cleanup_close_ int fd = openat(dest_fd, "big", O_RDONLY | O_CLOEXEC);
        _cleanup_free_ uint8_t *big = malloc(300000);
        ck_assert_int_eq(read(fd, big, 300000), 300000);
        for (int i = 0; i < 300000; i++)
                ck_assert_int_eq(big[i], i % 251);

        st = lstat_in("frac");
        ck_assert_int_eq(st.st_mtim.tv_sec, 1000000000);
        ck_assert_int_eq(st.st_mtim.tv_nsec, 500000000);

        char target[64];
        st = lstat_in("d/ln");
        ck_assert(S_ISLNK(st.st_mode));
        ck_assert_int_eq(st.st_uid, 7);
        ck_assert_int_eq(st.st_gid, 8);
        ck_assert_int_eq(st.st_mtime, 999);
        ck_assert_int_eq(readlinkat(dest_fd, "d/ln", target, sizeof(target)), 1);
        ck_assert_int_eq(readlinkat(dest_fd, "abs", target, sizeof(target)), 11);
        ck_assert(memcmp(target, "/etc/passwd", 11) == 0);

        st = lstat_in("fifo");
        ck_assert(S_ISFIFO(st.st_mode));
        ck_assert_int_eq(st.st_mode & 07777, 0620);
        ck_assert_int_eq(st.st_uid, 3);

        st = lstat_in("emptydir");
        ck_assert_int_eq(st.st_mode & 07777, 0711);
        ck_assert_int_eq(st.st_mtime, 4242);
        assert_contained(0);
}
END_TEST

/* Long names and links through pax records, GNU L/K headers and the ustar prefix, and
 * ids too large for octal (pax records, GNU base-256). */
START_TEST(test_long_names)
{
        static const char *const formats[] = { "PAX_FORMAT", "GNU_FORMAT", "USTAR_FORMAT" };
        for (size_t i = 0; i < HD_ARRAY_SIZE(formats); i++) {
                bool ustar = i == 2;
                char body[1024];
                snprintf(body, sizeof(body),
                         "t = open_tar(tarfile.%s)\n"
                         "long = '/'.join(['c%%02d' %% i + 'x' * 46 for i in range(%d)])\n"
                         "add(t, long + '/file', b'long', uid=%d, gid=%d)\n"
                         "add(t, 'sym', type=tarfile.SYMTYPE, linkname=%s)\n"
                         "add(t, 'short', b'short')\n"
                         "add(t, 'hard', type=tarfile.LNKTYPE, linkname=%s)\n"
                         "t.close()\n",
                         formats[i], ustar ? 2 : 5, ustar ? 1 : 3000000, ustar ? 2 : 4000000,
                         ustar ? "'short'" : "'/' + 'y' * 300",
                         ustar ? "'short'" : "long + '/file'");
                make_tar(body);
                _cleanup_error_ HdError *err = NULL;
                ck_assert_msg(extract(NULL, &err) == 0, "%s: %s", formats[i], err->message);

                char name[512] = "";
                for (int c = 0; c < (ustar ? 2 : 5); c++)
                        snprintf(name + strlen(name), sizeof(name) - strlen(name),
                                 "c%02dxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx/", c);
                strcat(name, "file");
                ck_assert_str_eq(read_in(name), "long");
                struct stat st = lstat_in(name);
                ck_assert_int_eq(st.st_uid, ustar ? 1 : 3000000);
                ck_assert_int_eq(st.st_gid, ustar ? 2 : 4000000);
                ck_assert_int_eq(lstat_in("hard").st_ino, lstat_in(ustar ? "short" : name).st_ino);
                char target[512];
                ssize_t n = readlinkat(dest_fd, "sym", target, sizeof(target));
                ck_assert_int_eq(n, ustar ? 5 : 301);
                clear_dest();
        }
}
END_TEST

/* A later entry replaces an earlier one, as tar does, without writing through it. */
START_TEST(test_replace)
{
        char body[1024];
        snprintf(body, sizeof(body),
                 "open(W + '/outside/victim', 'w').write('keep')\n"
                 "t = open_tar()\n"
                 "add(t, 'f', b'one')\n"
                 "add(t, 'f', b'two')\n"
                 "add(t, 'd/x', b'x')\n"
                 "add(t, 'd', b'now a file')\n"
                 "add(t, 'e', b'file')\n"
                 "add(t, 'e/', type=tarfile.DIRTYPE)\n"
                 "add(t, 'orig', b'orig')\n"
                 "add(t, 'h', type=tarfile.LNKTYPE, linkname='orig')\n"
                 "add(t, 'h', b'new')\n"
                 "add(t, 's', type=tarfile.SYMTYPE, linkname=W + '/outside/victim')\n"
                 "add(t, 's', b'not through')\n"
                 "add(t, 'self', b'self')\n"
                 "add(t, 'self', type=tarfile.LNKTYPE, linkname='self')\n"
                 "t.close()\n");
        make_tar(body);
        _cleanup_error_ HdError *err = NULL;
        ck_assert_msg(extract(NULL, &err) == 0, "%s", err->message);
        ck_assert_str_eq(read_in("f"), "two");
        ck_assert_str_eq(read_in("d"), "now a file");
        ck_assert(S_ISDIR(lstat_in("e").st_mode));
        ck_assert_str_eq(read_in("orig"), "orig");
        ck_assert_str_eq(read_in("h"), "new");
        ck_assert_str_eq(read_in("s"), "not through");
        ck_assert_str_eq(read_in("self"), "self");
        char p[128];
        snprintf(p, sizeof(p), "%s/outside/victim", work);
        _cleanup_free_ char *v = NULL;
        ck_assert_int_eq(hd_read_file(p, 100, &v, NULL), 0);
        ck_assert_str_eq(v, "keep");
}
END_TEST

START_TEST(test_root_entry)
{
        make_tar("t = open_tar()\n"
                 "add(t, '.', b'a file at the root')\n"
                 "t.close()\n");
        expect_refused(NULL, -EINVAL, "entry `.`: the layer root can only be a directory");
}
END_TEST

/* ---- refusals ----------------------------------------------------------------------- */

START_TEST(test_absolute)
{
        char body[256];
        snprintf(body, sizeof(body),
                 "t = open_tar()\n"
                 "add(t, W + '/outside/abs', b'evil')\n"
                 "t.close()\n");
        make_tar(body);
        expect_refused(NULL, -EINVAL, "/outside/abs`: absolute path");
        assert_contained(0);
}
END_TEST

START_TEST(test_dotdot)
{
        static const char *const names[] = { "../outside/evil", "a/../../outside/evil", "a/..",
                                             "..", "./a/../b" };
        for (size_t i = 0; i < HD_ARRAY_SIZE(names); i++) {
                char body[256], want[128];
                snprintf(body, sizeof(body),
                         "t = open_tar()\n"
                         "add(t, 'a/', type=tarfile.DIRTYPE)\n"
                         "add(t, '%s', b'evil')\n"
                         "t.close()\n",
                         names[i]);
                make_tar(body);
                snprintf(want, sizeof(want), "entry `%s`: path has a `..` component", names[i]);
                expect_refused(NULL, -EINVAL, want);
                assert_contained(0);
                clear_dest();
        }
}
END_TEST

/* A symlink the archive made is never a way out: not as a parent, absolute or relative. */
START_TEST(test_symlink_parent)
{
        static const char *const targets[] = { "W + '/outside'", "'../outside'", "'.'", "'/tmp'" };
        for (size_t i = 0; i < HD_ARRAY_SIZE(targets); i++) {
                char body[512];
                snprintf(body, sizeof(body),
                         "t = open_tar()\n"
                         "add(t, 'link', type=tarfile.SYMTYPE, linkname=%s)\n"
                         "add(t, 'link/evil', b'evil')\n"
                         "t.close()\n",
                         targets[i]);
                make_tar(body);
                expect_refused(NULL, -EINVAL,
                               "entry `link/evil`: a parent is a symlink or not a directory");
                assert_contained(0);
                ck_assert_int_eq(access("/tmp/evil", F_OK), -1);
                clear_dest();
        }
        /* deeper, with a directory made through the symlink's name */
        make_tar("t = open_tar()\n"
                 "add(t, 'a/', type=tarfile.DIRTYPE)\n"
                 "add(t, 'a/b', type=tarfile.SYMTYPE, linkname=W + '/outside')\n"
                 "add(t, 'a/b/c/', type=tarfile.DIRTYPE)\n"
                 "t.close()\n");
        expect_refused(NULL, -EINVAL, "entry `a/b/c/`");
        assert_contained(0);
        /* a file as a parent */
        clear_dest();
        make_tar("t = open_tar()\n"
                 "add(t, 'f', b'x')\n"
                 "add(t, 'f/g', b'x')\n"
                 "t.close()\n");
        expect_refused(NULL, -EINVAL, "entry `f/g`: a parent is a symlink or not a directory");
}
END_TEST

START_TEST(test_hardlink_refusals)
{
        static const struct {
                const char *target, *why;
        } cases[] = {
                { "'/etc/passwd'", "absolute hard link target" },
                { "'../outside/f'", "hard link target has a `..` component" },
                { "W + '/outside/f'", "absolute hard link target" },
                { "'missing'", "hard link target is not in this layer" },
                { "'sym'", "hard link target is not a regular file" },
                { "'sym/f'", "a parent is a symlink or not a directory" },
                { "'dir'", "hard link target is not a regular file" },
                { "'./'", "hard link target is not a regular file" },
                { "'fifo'", "hard link target is not a regular file" },
        };
        for (size_t i = 0; i < HD_ARRAY_SIZE(cases); i++) {
                char body[512];
                snprintf(body, sizeof(body),
                         "open(W + '/outside/f', 'w').write('secret')\n"
                         "t = open_tar()\n"
                         "add(t, 'sym', type=tarfile.SYMTYPE, linkname=W + '/outside')\n"
                         "add(t, 'dir', type=tarfile.DIRTYPE)\n"
                         "add(t, 'fifo', type=tarfile.FIFOTYPE)\n"
                         "add(t, 'hl', type=tarfile.LNKTYPE, linkname=%s)\n"
                         "t.close()\n",
                         cases[i].target);
                make_tar(body);
                char want[128];
                snprintf(want, sizeof(want), "entry `hl`: %s", cases[i].why);
                expect_refused(NULL, -EINVAL, want);
                ck_assert(!exists_in("hl"));
                char p[128];
                struct stat st;
                snprintf(p, sizeof(p), "%s/outside/f", work);
                ck_assert_int_eq(stat(p, &st), 0);
                ck_assert_int_eq(st.st_nlink, 1);
                assert_contained(1);
                clear_dest();
        }
}
END_TEST

START_TEST(test_devices)
{
        make_tar("t = open_tar()\n"
                 "add(t, 'dev/null', type=tarfile.CHRTYPE, devmajor=1, devminor=3, mode=0o666)\n"
                 "add(t, 'dev/loop0', type=tarfile.BLKTYPE, devmajor=7, devminor=0)\n"
                 "t.close()\n");
        expect_refused(NULL, -EINVAL, "entry `dev/null`: device nodes are not allowed");
        ck_assert(!exists_in("dev/null"));
        clear_dest();

        HdImgTarLimits lim = { .allow_devices = true };
        _cleanup_error_ HdError *err = NULL;
        ck_assert_int_eq(extract(&lim, &err), 0);
        struct stat st = lstat_in("dev/null");
        ck_assert(S_ISCHR(st.st_mode));
        ck_assert_int_eq(st.st_rdev, makedev(1, 3));
        ck_assert_int_eq(st.st_mode & 07777, 0666);
        st = lstat_in("dev/loop0");
        ck_assert(S_ISBLK(st.st_mode));
        ck_assert_int_eq(st.st_rdev, makedev(7, 0));
        clear_dest();

        make_tar("t = open_tar()\n"
                 "add(t, 'sda', type=tarfile.BLKTYPE, devmajor=8, devminor=0)\n"
                 "t.close()\n");
        expect_refused(NULL, -EINVAL, "entry `sda`: device nodes are not allowed");
        ck_assert(!exists_in("sda"));
}
END_TEST

START_TEST(test_setid)
{
        make_tar("t = open_tar()\n"
                 "add(t, 'suid', b'x', mode=0o4755)\n"
                 "add(t, 'sgid', b'x', mode=0o2711)\n"
                 "add(t, 'sticky', type=tarfile.DIRTYPE, mode=0o1777)\n"
                 "add(t, 'sgiddir', type=tarfile.DIRTYPE, mode=0o2775)\n"
                 "t.close()\n");
        _cleanup_error_ HdError *err = NULL;
        ck_assert_msg(extract(NULL, &err) == 0, "%s", err->message);
        ck_assert_int_eq(lstat_in("suid").st_mode & 07777, 0755);
        ck_assert_int_eq(lstat_in("sgid").st_mode & 07777, 0711);
        ck_assert_int_eq(lstat_in("sticky").st_mode & 07777, 01777);
        ck_assert_int_eq(lstat_in("sgiddir").st_mode & 07777, 02775);
        clear_dest();

        HdImgTarLimits lim = { .keep_setid = true };
        ck_assert_int_eq(extract(&lim, &err), 0);
        ck_assert_int_eq(lstat_in("suid").st_mode & 07777, 04755);
        ck_assert_int_eq(lstat_in("sgid").st_mode & 07777, 02711);
}
END_TEST

/* ---- whiteouts ---------------------------------------------------------------------- */

static void assert_whiteout(const char *rel)
{
        struct stat st = lstat_in(rel);
        ck_assert_msg(S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0), "%s", rel);
}

START_TEST(test_whiteouts)
{
        make_tar("t = open_tar()\n"
                 "add(t, 'd/', type=tarfile.DIRTYPE)\n"
                 "add(t, 'd/.wh.gone', b'')\n"
                 "add(t, '.wh.top', b'ignored data')\n"
                 "add(t, 'o/', type=tarfile.DIRTYPE)\n"
                 "add(t, 'o/keep', b'k')\n"
                 "add(t, 'o/.wh..wh..opq', b'')\n"
                 "add(t, 'implied/.wh..wh..opq', b'')\n"
                 "add(t, '.wh..wh.plnk/', type=tarfile.DIRTYPE)\n"
                 "add(t, 'mine', b'this layer')\n"
                 "add(t, '.wh.mine', b'')\n"
                 "add(t, '.wh.later', b'')\n"
                 "add(t, 'later', b'recreated')\n"
                 "t.close()\n");
        _cleanup_error_ HdError *err = NULL;
        ck_assert_msg(extract(NULL, &err) == 0, "%s", err->message); /* allow_devices is off */
        assert_whiteout("d/gone");
        assert_whiteout("top");
        ck_assert(!exists_in("d/.wh.gone"));
        ck_assert(!exists_in(".wh.top"));
        ck_assert(!exists_in(".wh..wh.plnk"));
        ck_assert(!exists_in("o/.wh..wh..opq"));
        ck_assert_str_eq(read_in("o/keep"), "k");
        ck_assert_str_eq(read_in("mine"), "this layer");
        ck_assert_str_eq(read_in("later"), "recreated");

        static const char *const opaque[] = { "o", "implied" };
        for (size_t i = 0; i < HD_ARRAY_SIZE(opaque); i++) {
                char p[128], v[8] = { 0 };
                snprintf(p, sizeof(p), "%s/dest/%s", work, opaque[i]);
                ck_assert_int_eq(lgetxattr(p, "trusted.overlay.opaque", v, sizeof(v)), 1);
                ck_assert_str_eq(v, "y");
        }
        char p[128], v[8];
        snprintf(p, sizeof(p), "%s/dest/d", work);
        ck_assert_int_lt(lgetxattr(p, "trusted.overlay.opaque", v, sizeof(v)), 0);
        clear_dest();

        make_tar("t = open_tar()\n"
                 "add(t, 'a/.wh.b/c', b'')\n"
                 "t.close()\n");
        expect_refused(NULL, -EINVAL, "entry `a/.wh.b/c`: path goes through a whiteout");
        clear_dest();
        make_tar("t = open_tar()\n"
                 "add(t, 'a/.wh...', b'')\n"
                 "t.close()\n");
        expect_refused(NULL, -EINVAL, "entry `a/.wh...`: bad whiteout name");
}
END_TEST

/* ---- limits ------------------------------------------------------------------------- */

START_TEST(test_caps)
{
        make_tar("t = open_tar()\n"
                 "for i in range(5):\n"
                 "    add(t, 'f%d' % i, b'x' * 3000)\n"
                 "t.close()\n");
        HdImgTarLimits lim = { .max_entries = 5 };
        _cleanup_error_ HdError *err = NULL;
        ck_assert_int_eq(extract(&lim, &err), 0);
        clear_dest();
        lim.max_entries = 4;
        expect_refused(&lim, -EFBIG, "layer has more than 4 entries");
        clear_dest();

        lim = (HdImgTarLimits){ .max_bytes = 10000 };
        expect_refused(&lim, -EFBIG, "layer is larger than 10000 bytes uncompressed");
        clear_dest();
        lim.max_bytes = file_size("a.tar");
        ck_assert_int_eq(extract(&lim, &err), 0);
        clear_dest();

        make_tar("t = open_tar()\n"
                 "add(t, 'a/b/c', b'')\n"
                 "add(t, 'a/b/c/d/', type=tarfile.DIRTYPE)\n"
                 "t.close()\n");
        lim = (HdImgTarLimits){ .max_depth = 3 };
        expect_refused(&lim, -EINVAL, "entry `a/b/c/d/`: path deeper than 3 components");
        clear_dest();

        make_tar("t = open_tar()\n"
                 "add(t, 'n' * 200, b'')\n"
                 "add(t, 'n' * 201, b'')\n"
                 "t.close()\n");
        lim = (HdImgTarLimits){ .max_path = 200 };
        expect_refused(&lim, -EINVAL, "path longer than 200 bytes");
        ck_assert(exists_in("nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn"
                            "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn"
                            "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn"));
        clear_dest();

        make_tar("t = open_tar()\n"
                 "add(t, 's', type=tarfile.SYMTYPE, linkname='t' * 201)\n"
                 "t.close()\n");
        expect_refused(&lim, -EINVAL, "entry `s`: symlink target empty or longer than 200");
}
END_TEST

/* ---- compression and digests -------------------------------------------------------- */

START_TEST(test_compression)
{
        make_tar("t = open_tar()\n"
                 "add(t, 'd/f', b'compressed ' * 1000)\n"
                 "add(t, 'g', bytes(range(256)) * 2000)\n"
                 "t.close()\n");
        sh("cd %s && gzip -n -c a.tar > a.tar.gz && zstd -q -c a.tar > a.tar.zst", work);
        /* two gzip members and two zstd frames, split at a block boundary */
        sh("cd %s && head -c 1024 a.tar | gzip -c > two.gz && tail -c +1025 a.tar | gzip -c >> "
           "two.gz && head -c 1536 a.tar | zstd -q -c > two.zst && tail -c +1537 a.tar | "
           "zstd -q -c >> two.zst",
           work);
        char diff_id[HD_IMG_DIGEST_STRING_MAX];
        sha256sum("a.tar", diff_id);

        static const struct {
                const char *file;
                HdImgCompression comp, want;
        } cases[] = {
                { "a.tar", HD_IMG_COMPRESSION_NONE, HD_IMG_COMPRESSION_NONE },
                { "a.tar", HD_IMG_COMPRESSION_AUTO, HD_IMG_COMPRESSION_NONE },
                { "a.tar.gz", HD_IMG_COMPRESSION_GZIP, HD_IMG_COMPRESSION_GZIP },
                { "a.tar.gz", HD_IMG_COMPRESSION_AUTO, HD_IMG_COMPRESSION_GZIP },
                { "a.tar.zst", HD_IMG_COMPRESSION_ZSTD, HD_IMG_COMPRESSION_ZSTD },
                { "a.tar.zst", HD_IMG_COMPRESSION_AUTO, HD_IMG_COMPRESSION_ZSTD },
                { "two.gz", HD_IMG_COMPRESSION_AUTO, HD_IMG_COMPRESSION_GZIP },
                { "two.zst", HD_IMG_COMPRESSION_AUTO, HD_IMG_COMPRESSION_ZSTD },
        };
        for (size_t i = 0; i < HD_ARRAY_SIZE(cases); i++) {
                HdImgTarResult res;
                _cleanup_error_ HdError *err = NULL;
                int r = extract_file(cases[i].file, cases[i].comp, NULL, &res, &err);
                ck_assert_msg(r == 0, "%s: %s", cases[i].file, err ? err->message : "");
                char digest[HD_IMG_DIGEST_STRING_MAX];
                sha256sum(cases[i].file, digest);
                ck_assert_str_eq(res.digest, digest);
                ck_assert_str_eq(res.diff_id, diff_id);
                ck_assert_int_eq(res.compression, cases[i].want);
                ck_assert_uint_eq(res.bytes_read, file_size(cases[i].file));
                ck_assert_uint_eq(res.bytes_uncompressed, file_size("a.tar"));
                ck_assert_uint_eq(res.bytes_written, 11000 + 512000);
                ck_assert_uint_eq(res.entries, 2);
                ck_assert_int_eq(lstat_in("g").st_size, 512000);
                ck_assert(strncmp(read_in("d/f"), "compressed compressed", 21) == 0);
                clear_dest();
        }

        /* a bomb stops at max_bytes */
        sh("cd %s && head -c 50000000 /dev/zero | gzip -c > bomb.gz", work);
        HdImgTarLimits lim = { .max_bytes = 1 << 20 };
        _cleanup_error_ HdError *err = NULL;
        ck_assert_int_eq(extract_file("bomb.gz", HD_IMG_COMPRESSION_AUTO, &lim, NULL, &err),
                         -EFBIG);
        hd_error_free(TAKE_PTR(err));

        /* declared wrong, or not supported */
        ck_assert_int_eq(extract_file("a.tar", HD_IMG_COMPRESSION_GZIP, NULL, NULL, &err), -EINVAL);
        ck_assert(strstr(err->message, "corrupt layer: gzip"));
        hd_error_free(TAKE_PTR(err));
        ck_assert_int_eq(extract_file("a.tar.gz", HD_IMG_COMPRESSION_ZSTD, NULL, NULL, &err),
                         -EINVAL);
        ck_assert(strstr(err->message, "corrupt layer: zstd"));
        hd_error_free(TAKE_PTR(err));
        sh("printf '\\3757zXZ\\000rest' > %s/x.xz", work);
        ck_assert_int_eq(extract_file("x.xz", HD_IMG_COMPRESSION_AUTO, NULL, NULL, &err),
                         -EOPNOTSUPP);
        ck_assert_str_eq(err->message, "xz-compressed layers are not supported");
}
END_TEST

/* ---- corrupt archives --------------------------------------------------------------- */

static void expect_corrupt(const char *file, HdImgCompression comp, const char *what)
{
        _cleanup_error_ HdError *err = NULL;
        ck_assert_int_eq(extract_file(file, comp, NULL, NULL, &err), -EINVAL);
        ck_assert_msg(strstr(err->message, what), "%s: `%s` not in: %s", file, what, err->message);
        ck_assert(hd_str_startswith(err->message, "corrupt layer: "));
        clear_dest();
}

START_TEST(test_corrupt)
{
        make_tar("t = open_tar()\n"
                 "add(t, 'f', b'x' * 5000)\n"
                 "add(t, 'g', b'y' * 100)\n"
                 "t.close()\n");
        sh("cd %s && head -c 3000 a.tar > mid-data && head -c 6656 a.tar > no-trailer && "
           "head -c 7000 a.tar > mid-header && : > empty && "
           "gzip -n -c a.tar | head -c 100 > short.gz && zstd -q -c a.tar | head -c 60 > "
           "short.zst && printf '\\037\\213garbage-garbage-garbage' > junk.gz && "
           "cp a.tar badsum && printf Z | dd of=badsum bs=1 seek=0 conv=notrunc 2>/dev/null && "
           "cp a.tar badmagic && printf X | dd of=badmagic bs=1 seek=257 conv=notrunc "
           "2>/dev/null && cp a.tar badnum && printf 9 | dd of=badnum bs=1 seek=124 "
           "conv=notrunc 2>/dev/null && (cat a.tar; echo trailing) > trailing.gz.src",
           work);
        expect_corrupt("mid-data", HD_IMG_COMPRESSION_NONE, "truncated archive");
        expect_corrupt("no-trailer", HD_IMG_COMPRESSION_NONE, "no end-of-archive marker");
        expect_corrupt("mid-header", HD_IMG_COMPRESSION_NONE, "truncated archive");
        expect_corrupt("empty", HD_IMG_COMPRESSION_AUTO, "truncated archive");
        expect_corrupt("short.gz", HD_IMG_COMPRESSION_AUTO, "gzip: truncated stream");
        expect_corrupt("short.zst", HD_IMG_COMPRESSION_AUTO, "zstd: truncated stream");
        expect_corrupt("junk.gz", HD_IMG_COMPRESSION_AUTO, "gzip:");
        expect_corrupt("badsum", HD_IMG_COMPRESSION_NONE,
                       "bad header checksum or magic at "
                       "offset 0");
        /* recompute the checksum so only the magic or the number is wrong */
        sh("cd %s && python3 -c \"import sys\n"
           "for n in sys.argv[1:]:\n"
           "  b = bytearray(open(n, 'rb').read()); b[148:156] = b' ' * 8\n"
           "  b[148:156] = b'%%06o\\0 ' %% sum(b[:512]); open(n, 'wb').write(b)\" badmagic "
           "badnum",
           work);
        expect_corrupt("badmagic", HD_IMG_COMPRESSION_NONE, "magic at offset 0");
        expect_corrupt("badnum", HD_IMG_COMPRESSION_NONE, "bad number in the header");

        /* data after the end-of-archive marker is read and hashed, not interpreted */
        sh("cd %s && gzip -n -c trailing.gz.src > trailing.gz", work);
        HdImgTarResult res;
        _cleanup_error_ HdError *err = NULL;
        ck_assert_int_eq(extract_file("trailing.gz", HD_IMG_COMPRESSION_AUTO, NULL, &res, &err), 0);
        char d[HD_IMG_DIGEST_STRING_MAX];
        sha256sum("trailing.gz.src", d);
        ck_assert_str_eq(res.diff_id, d);
}
END_TEST

START_TEST(test_pax_records)
{
        make_tar("t = open_tar()\n"
                 "ti = tarfile.TarInfo('x')\n"
                 "ti.pax_headers = {'SCHILY.xattr.user.k': 'v\\x00bin', 'uname': 'who',\n"
                 "                  'comment': 'skipped', 'path': 'renamed'}\n"
                 "ti.size = 2\n"
                 "t.addfile(ti, io.BytesIO(b'ok'))\n"
                 "t.close()\n");
        _cleanup_error_ HdError *err = NULL;
        ck_assert_msg(extract(NULL, &err) == 0, "%s", err->message);
        ck_assert_str_eq(read_in("renamed"), "ok");
        ck_assert(!exists_in("x"));
        clear_dest();

        /* a pax size overrides the header's; a global header ('g') changes nothing */
        make_tar("t = tarfile.open(sys.argv[1], 'w', format=tarfile.PAX_FORMAT,\n"
                 "                 pax_headers={'path': 'global', 'uid': '77'})\n"
                 "add(t, 'pax', b'9 size=5\\n', type=tarfile.XHDTYPE)\n"
                 "add(t, 'sized', b'')\n" /* header size 0, then a data block */
                 "t.fileobj.write(b'hello'.ljust(512, b'\\0'))\n"
                 "t.offset += 512\n"
                 "add(t, 'after', b'a')\n"
                 "t.close()\n");
        ck_assert_msg(extract(NULL, &err) == 0, "%s", err->message);
        ck_assert_str_eq(read_in("sized"), "hello");
        ck_assert_str_eq(read_in("after"), "a");
        ck_assert_int_eq(lstat_in("after").st_uid, 0);
        ck_assert(!exists_in("global"));
        clear_dest();

        static const struct {
                const char *records;
                int code;
                const char *why;
        } cases[] = {
                { "b'99 path=x\\n'", -EINVAL, "corrupt layer: bad pax record" },
                { "b'5 k\\n'", -EINVAL, "corrupt layer: bad pax record" },
                { "b'x path=y\\n'", -EINVAL, "corrupt layer: bad pax record" },
                { "b'10 =value\\n'", -EINVAL, "corrupt layer: bad pax record" },
                { "b'12 path=a\\x00b\\n'", -EINVAL, "pax path contains a NUL byte" },
                { "b'13 size=-100\\n'", -EINVAL, "corrupt layer: bad pax size" },
                { "b'16 mtime=1.2.3x\\n'", -EINVAL, "corrupt layer: bad pax mtime" },
                { "b'18 uid=4294967295\\n'", -EINVAL, "corrupt layer: bad pax uid" },
                { "b'22 GNU.sparse.major=1\\n'", -EOPNOTSUPP, "sparse files are not supported" },
        };
        for (size_t i = 0; i < HD_ARRAY_SIZE(cases); i++) {
                char body[512];
                snprintf(body, sizeof(body),
                         "t = open_tar()\n"
                         "add(t, 'pax', %s, type=tarfile.XHDTYPE)\n"
                         "add(t, 'file', b'f')\n"
                         "t.close()\n",
                         cases[i].records);
                make_tar(body);
                expect_refused(NULL, cases[i].code, cases[i].why);
                clear_dest();
        }

        make_tar("t = open_tar()\n"
                 "add(t, 'weird', b'', type=b'V')\n"
                 "t.close()\n");
        expect_refused(NULL, -EOPNOTSUPP, "entry `weird`: unsupported entry type");
}
END_TEST

/* ---- removal ------------------------------------------------------------------------ */

START_TEST(test_rm_rf)
{
        sh("cd %s && echo precious > outside/f && mkdir -p dest/a/b/c && echo x > dest/a/b/c/f "
           "&& ln -s %s/outside dest/a/out && ln -s %s/outside/f dest/a/b/outf && "
           "mkfifo dest/a/fifo && chmod 000 dest/a/b",
           work, work, work);
        _cleanup_close_ int w = open(work, O_PATH | O_DIRECTORY | O_CLOEXEC);
        ck_assert_int_eq(hd_img_rm_rf_at(w, "dest"), 0);
        ck_assert_int_eq(faccessat(w, "dest", F_OK, AT_SYMLINK_NOFOLLOW), -1);
        ck_assert_int_eq(faccessat(w, "outside/f", F_OK, 0), 0);
        ck_assert_int_eq(hd_img_rm_rf_at(w, "dest"), 0); /* gone already */
        ck_assert_int_eq(hd_img_rm_rf_at(w, "outside/f"), -EINVAL);
        ck_assert_int_eq(hd_img_rm_rf_at(w, ".."), -EINVAL);
        ck_assert_int_eq(hd_img_rm_rf_at(w, ""), -EINVAL);
        /* a symlink itself is removed, not what it points at */
        ck_assert_int_eq(symlinkat("outside", w, "link"), 0);
        ck_assert_int_eq(hd_img_rm_rf_at(w, "link"), 0);
        ck_assert_int_eq(faccessat(w, "outside/f", F_OK, 0), 0);
        char p[128];
        snprintf(p, sizeof(p), "%s/dest", work);
        ck_assert_int_eq(mkdir(p, 0700), 0); /* for teardown's sake */
}
END_TEST

static Suite *img_tar_suite(void)
{
        Suite *s = suite_create("img-tar");
        TCase *tc = tcase_create("extract");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_regular);
        tcase_add_test(tc, test_long_names);
        tcase_add_test(tc, test_replace);
        tcase_add_test(tc, test_root_entry);
        tcase_add_test(tc, test_absolute);
        tcase_add_test(tc, test_dotdot);
        tcase_add_test(tc, test_symlink_parent);
        tcase_add_test(tc, test_hardlink_refusals);
        tcase_add_test(tc, test_devices);
        tcase_add_test(tc, test_setid);
        tcase_add_test(tc, test_whiteouts);
        tcase_add_test(tc, test_caps);
        tcase_add_test(tc, test_compression);
        tcase_add_test(tc, test_corrupt);
        tcase_add_test(tc, test_pax_records);
        tcase_add_test(tc, test_rm_rf);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        SRunner *sr = srunner_create(img_tar_suite());
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
