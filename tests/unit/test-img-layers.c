/* Tests for daemon/images/img-layers.c: the store of unpacked layers, on a fresh directory
 * per test, fed from a real blob store. Archives are made with Python's tarfile and gzip;
 * diff_ids are checked against `gzip -dc | sha256sum` and usage against du(1). Needs root
 * (the extractor sets ownership), python3, gzip, sha256sum and du. */
#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hd-util.h"
#include "img-layers.h"

/* ---- fixture ------------------------------------------------------------------------ */

static char work[64];  /* per test: blobs/, layers/ (the store root) and scratch files */
static char root[128]; /* work/layers */
static HdImgBlobs *blobs;
static HdImgLayers *layers;

static void open_layers(void)
{
        HdError *err = NULL;
        ck_assert_int_eq(hd_img_layers_open(root, &layers, &err), 0);
        ck_assert_ptr_null(err);
}

static void setup(void)
{
        snprintf(work, sizeof(work), "/tmp/test-img-layers-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(work));
        char p[128];
        snprintf(p, sizeof(p), "%s/blobs", work);
        HdError *err = NULL;
        ck_assert_int_eq(hd_img_blobs_open(p, &blobs, &err), 0);
        ck_assert_ptr_null(err);
        snprintf(root, sizeof(root), "%s/layers", work);
        open_layers();
}

static void teardown(void)
{
        hd_img_layers_close(layers);
        layers = NULL;
        hd_img_blobs_close(blobs);
        blobs = NULL;
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

/* The first word printed by the shell command. */
static void sh_word(char *out, size_t size, const char *fmt, ...) HD_PRINTF(3, 4);

static void sh_word(char *out, size_t size, const char *fmt, ...)
{
        _cleanup_free_ char *cmd = NULL;
        va_list ap;
        va_start(ap, fmt);
        ck_assert_int_ge(vasprintf(&cmd, fmt, ap), 0);
        va_end(ap);
        FILE *f = popen(cmd, "r");
        ck_assert_ptr_nonnull(f);
        char line[256];
        ck_assert_ptr_nonnull(fgets(line, sizeof(line), f));
        line[strcspn(line, " \t\n")] = '\0';
        ck_assert_uint_gt(strlen(line), 0);
        ck_assert_uint_lt(strlen(line), size);
        memcpy(out, line, strlen(line) + 1);
        ck_assert_int_eq(pclose(f), 0);
}

/* Writes work/NAME.tar.gz from a Python body: `t` is an open tarfile, `add` adds an
 * entry, W is the work directory. */
static const char PRELUDE[] = "import io, sys, tarfile\n"
                              "W = sys.argv[2]\n"
                              "def add(t, name, data=b'', type=tarfile.REGTYPE, **kw):\n"
                              "    ti = tarfile.TarInfo(name)\n"
                              "    ti.type = type\n"
                              "    ti.mtime = 1000000000\n"
                              "    ti.mode = 0o644\n"
                              "    for k, v in kw.items():\n"
                              "        setattr(ti, k, v)\n"
                              "    ti.size = len(data) if type == tarfile.REGTYPE else 0\n"
                              "    t.addfile(ti, io.BytesIO(data))\n"
                              "t = tarfile.open(sys.argv[1], 'w', format=tarfile.PAX_FORMAT)\n";

static void make_tar_gz(const char *name, const char *body)
{
        char p[128];
        snprintf(p, sizeof(p), "%s/gen.py", work);
        FILE *f = fopen(p, "we");
        ck_assert_ptr_nonnull(f);
        fputs(PRELUDE, f);
        fputs(body, f);
        fputs("t.close()\n", f);
        ck_assert_int_eq(fclose(f), 0);
        sh("python3 %s/gen.py %s/%s.tar %s && gzip -nf %s/%s.tar", work, work, name, work, work,
           name);
}

/* Stores work/FILE in the blob store; its digest in out. */
static void put_blob(const char *file, char out[static HD_IMG_DIGEST_STRING_MAX])
{
        char p[128];
        snprintf(p, sizeof(p), "%s/%s", work, file);
        _cleanup_close_ int fd = open(p, O_RDONLY | O_CLOEXEC);
        ck_assert_int_ge(fd, 0);
        _cleanup_blob_writer_ HdImgBlobWriter *w = NULL;
        ck_assert_int_eq(hd_img_blob_writer_new(blobs, NULL, -1, -1, &w, NULL), 0);
        char buf[4096];
        for (ssize_t n; (n = read(fd, buf, sizeof(buf))) > 0;)
                ck_assert_int_eq(hd_img_blob_writer_write(w, buf, (size_t)n, NULL), 0);
        ck_assert_int_eq(hd_img_blob_writer_commit(w, out, NULL), 0);
}

/* "sha256:" + sha256 of the decompressed work/FILE. */
static void diff_id_of(const char *file, char out[static HD_IMG_DIGEST_STRING_MAX])
{
        char hex[65];
        sh_word(hex, sizeof(hex), "gzip -dc %s/%s | sha256sum", work, file);
        snprintf(out, HD_IMG_DIGEST_STRING_MAX, "sha256:%s", hex);
}

/* The sample layer: a directory, a file, a symlink. */
static void make_sample(const char *name, const char *content)
{
        char body[512];
        snprintf(body, sizeof(body),
                 "add(t, 'etc/', type=tarfile.DIRTYPE, mode=0o755)\n"
                 "add(t, 'etc/hostname', b'%s', uid=12, gid=34)\n"
                 "add(t, 'etc/link', type=tarfile.SYMTYPE, linkname='hostname')\n",
                 content);
        make_tar_gz(name, body);
}

static int unpack(const char *blob, const char *expected, char diff_id[HD_IMG_DIGEST_STRING_MAX],
                  bool *created, HdError **err)
{
        int r = hd_img_layers_unpack(layers, blobs, blob, expected, NULL, diff_id, created, err);
        if (r < 0)
                ck_assert(err && *err && (*err)->code == r && (*err)->message);
        else
                ck_assert(!err || !*err);
        return r;
}

static size_t count_entries(const char *sub)
{
        char p[256];
        snprintf(p, sizeof(p), "%s/%s", root, sub);
        DIR *d = opendir(p);
        ck_assert_ptr_nonnull(d);
        size_t n = 0;
        for (struct dirent *de; (de = readdir(d));)
                if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
                        n++;
        closedir(d);
        return n;
}

/* root holds .tmp/ and n layers; .tmp/ is empty. */
static void assert_layers(size_t n)
{
        ck_assert_uint_eq(count_entries(""), n + 1);
        ck_assert_uint_eq(count_entries(".tmp"), 0);
}

static char *read_file_at(const char *path)
{
        char *buf = NULL;
        ck_assert_int_eq(hd_read_file(path, 4096, &buf, NULL), 0);
        return buf;
}

/* ---- unpacking ---------------------------------------------------------------------- */

START_TEST(test_unpack)
{
        char blob[HD_IMG_DIGEST_STRING_MAX], want[HD_IMG_DIGEST_STRING_MAX];
        char diff_id[HD_IMG_DIGEST_STRING_MAX];
        make_sample("a", "box");
        put_blob("a.tar.gz", blob);
        diff_id_of("a.tar.gz", want);
        ck_assert_str_ne(blob, want);

        bool created = false;
        ck_assert_int_eq(unpack(blob, NULL, diff_id, &created, NULL), 0);
        ck_assert(created);
        ck_assert_str_eq(diff_id, want);
        assert_layers(1);

        _cleanup_free_ char *path = NULL;
        ck_assert_int_eq(hd_img_layers_path(layers, diff_id, &path, NULL), 0);
        char expect_path[256];
        snprintf(expect_path, sizeof(expect_path), "%s/%s", root, diff_id + strlen("sha256:"));
        ck_assert_str_eq(path, expect_path);
        ck_assert_int_eq(hd_img_layers_exists(layers, diff_id, NULL), 1);

        char p[320];
        snprintf(p, sizeof(p), "%s/etc/hostname", path);
        _cleanup_free_ char *content = read_file_at(p);
        ck_assert_str_eq(content, "box");
        struct stat st;
        ck_assert_int_eq(lstat(p, &st), 0);
        ck_assert_uint_eq(st.st_uid, 12);
        ck_assert_uint_eq(st.st_gid, 34);
        snprintf(p, sizeof(p), "%s/etc/link", path);
        char target[32] = { 0 };
        ck_assert_int_eq(readlink(p, target, sizeof(target) - 1), (ssize_t)strlen("hostname"));
        ck_assert_str_eq(target, "hostname");

        /* With the right expected diff_id, and NULL ret_created. */
        ck_assert_int_eq(hd_img_layers_remove(layers, diff_id, NULL), 0);
        char again[HD_IMG_DIGEST_STRING_MAX];
        ck_assert_int_eq(unpack(blob, want, again, NULL, NULL), 0);
        ck_assert_str_eq(again, want);
        assert_layers(1);
}
END_TEST

START_TEST(test_plain_tar)
{
        /* An uncompressed layer: its digest is its diff_id. */
        make_sample("a", "plain");
        sh("gzip -d %s/a.tar.gz", work);
        char blob[HD_IMG_DIGEST_STRING_MAX], diff_id[HD_IMG_DIGEST_STRING_MAX];
        put_blob("a.tar", blob);
        bool created = false;
        ck_assert_int_eq(unpack(blob, blob, diff_id, &created, NULL), 0);
        ck_assert(created);
        ck_assert_str_eq(diff_id, blob);
        assert_layers(1);
}
END_TEST

START_TEST(test_unpack_twice)
{
        char blob[HD_IMG_DIGEST_STRING_MAX], d1[HD_IMG_DIGEST_STRING_MAX];
        char d2[HD_IMG_DIGEST_STRING_MAX];
        make_sample("a", "box");
        put_blob("a.tar.gz", blob);
        bool created = false;
        ck_assert_int_eq(unpack(blob, NULL, d1, &created, NULL), 0);
        ck_assert(created);

        /* Mark the stored tree: the second unpack must keep it, not replace it. */
        _cleanup_free_ char *path = NULL;
        ck_assert_int_eq(hd_img_layers_path(layers, d1, &path, NULL), 0);
        char mark[320];
        snprintf(mark, sizeof(mark), "%s/mark", path);
        ck_assert_int_eq(hd_write_file_atomic(mark, "x", 1, 0600), 0);

        created = true;
        ck_assert_int_eq(unpack(blob, d1, d2, &created, NULL), 0);
        ck_assert(!created);
        ck_assert_str_eq(d1, d2);
        assert_layers(1);
        ck_assert_int_eq(access(mark, F_OK), 0);

        /* The same content compressed differently is the same layer. */
        char blob2[HD_IMG_DIGEST_STRING_MAX];
        sh("gzip -dc %s/a.tar.gz | gzip -9 -n > %s/b.tar.gz", work, work);
        put_blob("b.tar.gz", blob2);
        created = true;
        ck_assert_int_eq(unpack(blob2, NULL, d2, &created, NULL), 0);
        ck_assert(!created);
        ck_assert_str_eq(d1, d2);
        assert_layers(1);
}
END_TEST

START_TEST(test_wrong_diff_id)
{
        char blob[HD_IMG_DIGEST_STRING_MAX], diff_id[HD_IMG_DIGEST_STRING_MAX];
        make_sample("a", "box");
        put_blob("a.tar.gz", blob);
        const char *wrong =
                "sha256:0000000000000000000000000000000000000000000000000000000000000000";
        _cleanup_error_ HdError *err = NULL;
        ck_assert_int_eq(unpack(blob, wrong, diff_id, NULL, &err), -EBADMSG);
        ck_assert_str_eq(err->field, "diff_id");
        ck_assert_ptr_nonnull(strstr(err->message, wrong));
        assert_layers(0);
        ck_assert_int_eq(hd_img_layers_exists(layers, wrong, NULL), 0);
}
END_TEST

START_TEST(test_corrupt_blob)
{
        /* A stored blob whose content no longer matches its name (a disk fault). */
        char blob[HD_IMG_DIGEST_STRING_MAX], other[HD_IMG_DIGEST_STRING_MAX];
        char diff_id[HD_IMG_DIGEST_STRING_MAX];
        make_sample("a", "box");
        make_sample("b", "other");
        put_blob("a.tar.gz", blob);
        sh("cp %s/b.tar.gz %s/blobs/sha256/%s", work, work, blob + strlen("sha256:"));
        _cleanup_error_ HdError *err = NULL;
        ck_assert_int_eq(unpack(blob, NULL, diff_id, NULL, &err), -EBADMSG);
        ck_assert_str_eq(err->field, "digest");
        assert_layers(0);

        /* A blob that is not stored. */
        hd_error_free(TAKE_PTR(err));
        diff_id_of("b.tar.gz", other);
        ck_assert_int_eq(unpack(other, NULL, diff_id, NULL, &err), -ENOENT);
        assert_layers(0);
}
END_TEST

START_TEST(test_malicious)
{
        char blob[HD_IMG_DIGEST_STRING_MAX], diff_id[HD_IMG_DIGEST_STRING_MAX];
        static const char *const bodies[] = {
                "add(t, 'ok', b'fine')\nadd(t, W + '/evil', b'evil')\n",
                "add(t, 'ok', b'fine')\nadd(t, '../../evil', b'evil')\n",
                "add(t, 'l', type=tarfile.SYMTYPE, linkname='/tmp')\nadd(t, 'l/evil', b'x')\n",
        };
        for (size_t i = 0; i < HD_ARRAY_SIZE(bodies); i++) {
                make_tar_gz("m", bodies[i]);
                put_blob("m.tar.gz", blob);
                _cleanup_error_ HdError *err = NULL;
                ck_assert_int_eq(unpack(blob, NULL, diff_id, NULL, &err), -EINVAL);
                ck_assert_str_eq(err->field, "entry");
                ck_assert_ptr_nonnull(strstr(err->message, blob)); /* names the layer */
                assert_layers(0);
                char p[128];
                snprintf(p, sizeof(p), "%s/evil", work);
                ck_assert_int_ne(access(p, F_OK), 0);
                ck_assert_int_ne(access("/tmp/evil", F_OK), 0);
        }

        /* A truncated archive. */
        make_sample("a", "box");
        sh("head -c 60 %s/a.tar.gz > %s/t.tar.gz", work, work);
        put_blob("t.tar.gz", blob);
        _cleanup_error_ HdError *err = NULL;
        ck_assert_int_lt(unpack(blob, NULL, diff_id, NULL, &err), 0);
        assert_layers(0);
}
END_TEST

START_TEST(test_limits)
{
        char blob[HD_IMG_DIGEST_STRING_MAX], diff_id[HD_IMG_DIGEST_STRING_MAX];
        make_tar_gz("a", "for i in range(5):\n    add(t, 'f%d' % i, b'x')\n");
        put_blob("a.tar.gz", blob);
        HdImgTarLimits lim = { .max_entries = 3 };
        _cleanup_error_ HdError *err = NULL;
        ck_assert_int_eq(hd_img_layers_unpack(layers, blobs, blob, NULL, &lim, diff_id, NULL, &err),
                         -EFBIG);
        assert_layers(0);
        lim.max_entries = 5;
        ck_assert_int_eq(hd_img_layers_unpack(layers, blobs, blob, NULL, &lim, diff_id, NULL, NULL),
                         0);
        assert_layers(1);
}
END_TEST

/* ---- crash recovery, removal, listing, usage ---------------------------------------- */

START_TEST(test_crash_leftovers)
{
        /* What an interrupted extraction or removal leaves, including a symlink that must
         * not be followed when emptying .tmp/. */
        char outside[128];
        snprintf(outside, sizeof(outside), "%s/outside", work);
        sh("mkdir -p %s/.tmp/0123/a/b && echo x > %s/.tmp/0123/a/b/f && touch %s/.tmp/file", root,
           root, root);
        sh("mkdir %s && touch %s/keep && ln -s %s %s/.tmp/0123/a/out", outside, outside, outside,
           root);
        ck_assert_uint_eq(count_entries(".tmp"), 2);
        hd_img_layers_close(layers);
        layers = NULL;
        open_layers();
        assert_layers(0);
        char keep[160];
        snprintf(keep, sizeof(keep), "%s/keep", outside);
        ck_assert_int_eq(access(keep, F_OK), 0);

        /* A layer survives a reopen. */
        char blob[HD_IMG_DIGEST_STRING_MAX], diff_id[HD_IMG_DIGEST_STRING_MAX];
        make_sample("a", "box");
        put_blob("a.tar.gz", blob);
        ck_assert_int_eq(unpack(blob, NULL, diff_id, NULL, NULL), 0);
        hd_img_layers_close(layers);
        layers = NULL;
        open_layers();
        assert_layers(1);
        ck_assert_int_eq(hd_img_layers_exists(layers, diff_id, NULL), 1);
}
END_TEST

START_TEST(test_open_errors)
{
        HdImgLayers *l = NULL;
        _cleanup_error_ HdError *err = NULL;
        ck_assert_int_eq(hd_img_layers_open("", &l, &err), -EINVAL);
        hd_error_free(TAKE_PTR(err));
        char p[128];
        snprintf(p, sizeof(p), "%s/file", work);
        sh("touch %s", p);
        ck_assert_int_lt(hd_img_layers_open(p, &l, &err), 0);
        ck_assert_ptr_nonnull(err);
        ck_assert_ptr_null(l);
        hd_error_free(TAKE_PTR(err));
        /* A .tmp that is a symlink is refused, not followed. */
        snprintf(p, sizeof(p), "%s/other", work);
        sh("mkdir -p %s/target && touch %s/target/keep && ln -s %s/target %s/.tmp", p, p, p, p);
        ck_assert_int_lt(hd_img_layers_open(p, &l, &err), 0);
        ck_assert_ptr_null(l);
        sh("test -e %s/target/keep", p);
}
END_TEST

START_TEST(test_remove)
{
        char blob[HD_IMG_DIGEST_STRING_MAX], diff_id[HD_IMG_DIGEST_STRING_MAX];
        make_sample("a", "box");
        put_blob("a.tar.gz", blob);
        ck_assert_int_eq(unpack(blob, NULL, diff_id, NULL, NULL), 0);
        assert_layers(1);

        ck_assert_int_eq(hd_img_layers_remove(layers, diff_id, NULL), 0);
        assert_layers(0);
        ck_assert_int_eq(hd_img_layers_exists(layers, diff_id, NULL), 0);

        _cleanup_error_ HdError *err = NULL;
        char *path = NULL;
        ck_assert_int_eq(hd_img_layers_path(layers, diff_id, &path, &err), -ENOENT);
        ck_assert_ptr_null(path);
        ck_assert_str_eq(err->field, "diff_id");
        hd_error_free(TAKE_PTR(err));
        ck_assert_int_eq(hd_img_layers_remove(layers, diff_id, &err), -ENOENT);
        ck_assert_str_eq(err->field, "diff_id");

        /* Unpacking after removal creates it anew. */
        bool created = false;
        ck_assert_int_eq(unpack(blob, NULL, diff_id, &created, NULL), 0);
        ck_assert(created);
        assert_layers(1);
}
END_TEST

START_TEST(test_list)
{
        char **ids = NULL;
        size_t n = 99;
        ck_assert_int_eq(hd_img_layers_list(layers, &ids, &n, NULL), 0);
        ck_assert_uint_eq(n, 0);
        ck_assert_ptr_null(ids[0]);
        hd_img_layers_list_free(ids);

        char blob[HD_IMG_DIGEST_STRING_MAX], d[3][HD_IMG_DIGEST_STRING_MAX];
        static const char *const contents[] = { "one", "two", "three" };
        for (size_t i = 0; i < 3; i++) {
                char name[8];
                snprintf(name, sizeof(name), "l%zu", i);
                make_sample(name, contents[i]);
                char file[16];
                snprintf(file, sizeof(file), "%s.tar.gz", name);
                put_blob(file, blob);
                ck_assert_int_eq(unpack(blob, NULL, d[i], NULL, NULL), 0);
        }
        /* Things that are not layers. */
        const char *hex_file = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
        sh("touch %s/%s && mkdir %s/notalayer %s/ABCDEFABCDEFABCDEFABCDEFABCDEFABCDEFABCDEFABCDEF"
           "ABCDEFABCDEFABCD",
           root, hex_file, root, root);

        ck_assert_int_eq(hd_img_layers_list(layers, &ids, &n, NULL), 0);
        ck_assert_uint_eq(n, 3);
        for (size_t i = 0; i < 3; i++) {
                ck_assert(hd_img_blob_digest_is_valid(ids[i]));
                if (i > 0)
                        ck_assert_int_lt(strcmp(ids[i - 1], ids[i]), 0);
                bool found = false;
                for (size_t j = 0; j < 3; j++)
                        found = found || strcmp(ids[i], d[j]) == 0;
                ck_assert(found);
        }
        ck_assert_ptr_null(ids[3]);
        hd_img_layers_list_free(ids);
        hd_img_layers_list_free(NULL);

        char hex_id[HD_IMG_DIGEST_STRING_MAX];
        snprintf(hex_id, sizeof(hex_id), "sha256:%s", hex_file);
        ck_assert_int_eq(hd_img_layers_exists(layers, hex_id, NULL), 0);
}
END_TEST

START_TEST(test_usage)
{
        int64_t bytes = -1;
        ck_assert_int_eq(hd_img_layers_usage(layers, &bytes, NULL), 0);
        ck_assert_int_eq(bytes, 0);

        /* 256 KiB of non-zero data, hard linked twice: counted once, like du does. */
        char blob[HD_IMG_DIGEST_STRING_MAX], diff_id[HD_IMG_DIGEST_STRING_MAX];
        make_tar_gz("a", "add(t, 'd/', type=tarfile.DIRTYPE, mode=0o755)\n"
                         "add(t, 'd/big', b'x' * 262144)\n"
                         "add(t, 'd/hl1', type=tarfile.LNKTYPE, linkname='d/big')\n"
                         "add(t, 'hl2', type=tarfile.LNKTYPE, linkname='d/big')\n"
                         "add(t, 'small', b'y')\n");
        put_blob("a.tar.gz", blob);
        ck_assert_int_eq(unpack(blob, NULL, diff_id, NULL, NULL), 0);
        ck_assert_int_eq(hd_img_layers_usage(layers, &bytes, NULL), 0);
        ck_assert_int_ge(bytes, 262144);
        ck_assert_int_lt(bytes, 2 * 262144);

        char du[32];
        sh_word(du, sizeof(du), "du -s -B1 %s/%s", root, diff_id + strlen("sha256:"));
        int64_t want = -1;
        ck_assert_int_eq(hd_parse_int64(du, &want), 0);
        ck_assert_int_eq(bytes, want);

        /* A second layer adds its own; .tmp/ and non-layers are not counted. */
        make_sample("b", "box");
        put_blob("b.tar.gz", blob);
        char d2[HD_IMG_DIGEST_STRING_MAX];
        ck_assert_int_eq(unpack(blob, NULL, d2, NULL, NULL), 0);
        sh("head -c 100000 /dev/urandom > %s/.tmp/junk && head -c 100000 /dev/urandom > "
           "%s/junk",
           root, root);
        int64_t both = -1;
        ck_assert_int_eq(hd_img_layers_usage(layers, &both, NULL), 0);
        sh_word(du, sizeof(du), "du -s -B1 %s/%s", root, d2 + strlen("sha256:"));
        ck_assert_int_eq(hd_parse_int64(du, &want), 0);
        ck_assert_int_eq(both, bytes + want);
}
END_TEST

START_TEST(test_malformed)
{
        static const char *const bad[] = {
                "",
                "sha256:",
                "sha256:../../../../etc",
                "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde",
                "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0",
                "sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",
                "sha512:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde/",
                NULL,
        };
        const char *good =
                "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        char diff_id[HD_IMG_DIGEST_STRING_MAX];
        for (size_t i = 0; i < HD_ARRAY_SIZE(bad); i++) {
                _cleanup_error_ HdError *err = NULL;
                ck_assert_int_eq(unpack(bad[i], NULL, diff_id, NULL, &err), -EINVAL);
                ck_assert_str_eq(err->field, "digest");
                hd_error_free(TAKE_PTR(err));
                if (bad[i]) {
                        ck_assert_int_eq(unpack(good, bad[i], diff_id, NULL, &err), -EINVAL);
                        ck_assert_str_eq(err->field, "diff_id");
                        hd_error_free(TAKE_PTR(err));
                }
                char *path = NULL;
                ck_assert_int_eq(hd_img_layers_path(layers, bad[i], &path, &err), -EINVAL);
                ck_assert_str_eq(err->field, "diff_id");
                ck_assert_ptr_null(path);
                hd_error_free(TAKE_PTR(err));
                ck_assert_int_eq(hd_img_layers_exists(layers, bad[i], &err), -EINVAL);
                ck_assert_str_eq(err->field, "diff_id");
                hd_error_free(TAKE_PTR(err));
                ck_assert_int_eq(hd_img_layers_remove(layers, bad[i], &err), -EINVAL);
                ck_assert_str_eq(err->field, "diff_id");
        }
        /* A well-formed unknown id. */
        ck_assert_int_eq(hd_img_layers_exists(layers, good, NULL), 0);
        _cleanup_error_ HdError *err = NULL;
        ck_assert_int_eq(hd_img_layers_remove(layers, good, &err), -ENOENT);
        assert_layers(0);
}
END_TEST

static Suite *img_layers_suite(void)
{
        Suite *s = suite_create("img-layers");
        TCase *tc = tcase_create("layers");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_unpack);
        tcase_add_test(tc, test_plain_tar);
        tcase_add_test(tc, test_unpack_twice);
        tcase_add_test(tc, test_wrong_diff_id);
        tcase_add_test(tc, test_corrupt_blob);
        tcase_add_test(tc, test_malicious);
        tcase_add_test(tc, test_limits);
        tcase_add_test(tc, test_crash_leftovers);
        tcase_add_test(tc, test_open_errors);
        tcase_add_test(tc, test_remove);
        tcase_add_test(tc, test_list);
        tcase_add_test(tc, test_usage);
        tcase_add_test(tc, test_malformed);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        SRunner *sr = srunner_create(img_layers_suite());
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
