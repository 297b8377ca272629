/* Tests for daemon/images/img-blobs.c: the content-addressed blob store, on a fresh
 * directory per test. Digests are checked against sha256sum(1). The tests that write run
 * twice: with O_TMPFILE temp files (where the file system has them) and with named ones. */
#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>

#include "hd-util.h"
#include "img-blobs.h"

/* ---- fixture ------------------------------------------------------------------------ */

static char work[64]; /* per test: blobs/ (the store root) and scratch files */
static char root[128];
static HdImgBlobs *blobs;

static void setup(void)
{
        snprintf(work, sizeof(work), "/tmp/test-img-blobs-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(work));
        snprintf(root, sizeof(root), "%s/images/blobs", work);
        HdError *err = NULL;
        ck_assert_int_eq(hd_img_blobs_open(root, &blobs, &err), 0);
        ck_assert_ptr_null(err);
}

static void teardown(void)
{
        hd_img_blobs_close(blobs);
        blobs = NULL;
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", work);
        ck_assert_int_eq(system(cmd), 0);
}

/* Loop tests: iteration 1 forces named temp files. */
static void set_mode(int i)
{
        if (i == 1)
                hd_img_blobs_disable_tmpfile(blobs);
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

static void assert_store_empty(void)
{
        ck_assert_uint_eq(count_entries("sha256"), 0);
        ck_assert_uint_eq(count_entries("tmp"), 0);
}

/* Deterministic bytes that differ per seed. */
static void fill(unsigned char *buf, size_t len, unsigned seed)
{
        uint32_t x = 2463534242u ^ (seed * 2654435761u);
        for (size_t i = 0; i < len; i++) {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                buf[i] = (unsigned char)x;
        }
}

/* "sha256:" + sha256sum(1) of the file at path. */
static void sha256sum_file(const char *path, char out[static HD_IMG_DIGEST_STRING_MAX])
{
        char cmd[256], line[128];
        snprintf(cmd, sizeof(cmd), "sha256sum '%s'", path);
        FILE *f = popen(cmd, "r");
        ck_assert_ptr_nonnull(f);
        ck_assert_ptr_nonnull(fgets(line, sizeof(line), f));
        ck_assert_int_eq(pclose(f), 0);
        ck_assert_ptr_nonnull(strchr(line, ' '));
        *strchr(line, ' ') = '\0';
        ck_assert_uint_eq(strlen(line), 64);
        memcpy(out, "sha256:", 7);
        memcpy(out + 7, line, 65);
}

static void sha256sum_data(const void *data, size_t len, char out[static HD_IMG_DIGEST_STRING_MAX])
{
        char p[128];
        snprintf(p, sizeof(p), "%s/data", work);
        _cleanup_close_ int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
        sha256sum_file(p, out);
}

static void blob_file(const char *digest, char out[static 256])
{
        snprintf(out, 256, "%s/sha256/%s", root, digest + strlen("sha256:"));
}

/* Writes data as one blob (in chunks of 1000 bytes) and commits it. */
static int put(const void *data, size_t len, const char *expected, int64_t expected_size,
               char digest[static HD_IMG_DIGEST_STRING_MAX], HdError **err)
{
        _cleanup_blob_writer_ HdImgBlobWriter *w = NULL;
        int r = hd_img_blob_writer_new(blobs, expected, expected_size, -1, &w, err);
        if (r < 0)
                return r;
        for (size_t off = 0; off < len; off += 1000) {
                size_t n = len - off < 1000 ? len - off : 1000;
                r = hd_img_blob_writer_write(w, (const char *)data + off, n, err);
                if (r < 0)
                        return r;
        }
        return hd_img_blob_writer_commit(w, digest, err);
}

/* Whether the file system under work/ has O_TMPFILE. */
static bool have_tmpfile(void)
{
        int fd = open(work, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
        if (fd < 0)
                return false;
        close(fd);
        return true;
}

/* ---- writing ------------------------------------------------------------------------ */

START_TEST(test_round_trip)
{
        set_mode(_i);
        static unsigned char data[100000];
        fill(data, sizeof(data), 1);
        char want[HD_IMG_DIGEST_STRING_MAX], got[HD_IMG_DIGEST_STRING_MAX];
        sha256sum_data(data, sizeof(data), want);

        HdError *err = NULL;
        _cleanup_blob_writer_ HdImgBlobWriter *w = NULL;
        ck_assert_int_eq(hd_img_blob_writer_new(blobs, NULL, -1, -1, &w, &err), 0);
        /* O_TMPFILE leaves no name in tmp/ while writing; a named temp file does. */
        ck_assert_uint_eq(count_entries("tmp"), _i == 0 && have_tmpfile() ? 0 : 1);
        ck_assert_int_eq(hd_img_blob_writer_write(w, data, 10, &err), 0);
        ck_assert_int_eq(hd_img_blob_writer_write(w, data + 10, 0, &err), 0);
        ck_assert_int_eq(hd_img_blob_writer_write(w, data + 10, sizeof(data) - 10, &err), 0);
        ck_assert_int_eq(hd_img_blob_writer_commit(w, got, &err), 0);
        ck_assert_ptr_null(err);
        ck_assert_str_eq(got, want);
        ck_assert_uint_eq(count_entries("tmp"), 0);
        ck_assert_uint_eq(count_entries("sha256"), 1);

        /* A finished writer takes nothing more. */
        ck_assert_int_eq(hd_img_blob_writer_write(w, data, 1, &err), -EINVAL);
        hd_error_free(TAKE_PTR(err));
        ck_assert_int_eq(hd_img_blob_writer_commit(w, got, &err), -EINVAL);
        hd_error_free(TAKE_PTR(err));

        ck_assert_int_eq(hd_img_blob_exists(blobs, got, &err), 1);
        _cleanup_close_ int fd = -1;
        int64_t size = 0;
        ck_assert_int_eq(hd_img_blob_open(blobs, got, &fd, &size, &err), 0);
        ck_assert_int_eq(size, (int64_t)sizeof(data));
        ck_assert_int_ne(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
        ck_assert_int_eq(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDONLY);
        static unsigned char back[sizeof(data) + 1];
        ck_assert_int_eq(read(fd, back, sizeof(back)), (ssize_t)sizeof(data));
        ck_assert_mem_eq(back, data, sizeof(data));

        char p[256];
        blob_file(got, p);
        struct stat st;
        ck_assert_int_eq(stat(p, &st), 0);
        ck_assert_uint_eq(st.st_mode & 07777, 0600);
        ck_assert_int_eq(hd_img_blob_verify(blobs, got, &err), 0);
}
END_TEST

START_TEST(test_empty_blob)
{
        set_mode(_i);
        char got[HD_IMG_DIGEST_STRING_MAX];
        HdError *err = NULL;
        ck_assert_int_eq(
                put("", 0,
                    "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", 0,
                    got, &err),
                0);
        ck_assert_str_eq(got,
                         "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        ck_assert_int_eq(hd_img_blob_verify(blobs, got, &err), 0);
        ck_assert_ptr_null(err);
}
END_TEST

START_TEST(test_expected_digest_mismatch)
{
        set_mode(_i);
        unsigned char a[5000], b[5000];
        fill(a, sizeof(a), 2);
        fill(b, sizeof(b), 3);
        char digest_b[HD_IMG_DIGEST_STRING_MAX], got[HD_IMG_DIGEST_STRING_MAX];
        sha256sum_data(b, sizeof(b), digest_b);

        HdError *err = NULL;
        ck_assert_int_eq(put(a, sizeof(a), digest_b, -1, got, &err), -EBADMSG);
        ck_assert_ptr_nonnull(err);
        ck_assert_int_eq(err->code, -EBADMSG);
        ck_assert_str_eq(err->field, "digest");
        ck_assert_ptr_nonnull(strstr(err->message, digest_b));
        hd_error_free(TAKE_PTR(err));
        assert_store_empty();

        /* The expected digest given, and right. */
        ck_assert_int_eq(put(b, sizeof(b), digest_b, sizeof(b), got, &err), 0);
        ck_assert_str_eq(got, digest_b);
        ck_assert_ptr_null(err);
}
END_TEST

START_TEST(test_expected_size_mismatch)
{
        set_mode(_i);
        unsigned char a[3000];
        fill(a, sizeof(a), 4);
        char got[HD_IMG_DIGEST_STRING_MAX];
        HdError *err = NULL;

        /* Short: found at commit. */
        ck_assert_int_eq(put(a, sizeof(a), NULL, sizeof(a) + 1, got, &err), -EBADMSG);
        ck_assert_str_eq(err->field, "size");
        hd_error_free(TAKE_PTR(err));
        assert_store_empty();

        /* Long: refused by the write that passes it, and the writer stays failed. */
        _cleanup_blob_writer_ HdImgBlobWriter *w = NULL;
        ck_assert_int_eq(hd_img_blob_writer_new(blobs, NULL, 2999, -1, &w, &err), 0);
        ck_assert_int_eq(hd_img_blob_writer_write(w, a, 2000, &err), 0);
        ck_assert_int_eq(hd_img_blob_writer_write(w, a, 1000, &err), -EBADMSG);
        ck_assert_str_eq(err->field, "size");
        hd_error_free(TAKE_PTR(err));
        assert_store_empty();
        ck_assert_int_eq(hd_img_blob_writer_write(w, a, 1, &err), -EBADMSG);
        hd_error_free(TAKE_PTR(err));
        ck_assert_int_eq(hd_img_blob_writer_commit(w, got, &err), -EBADMSG);
        hd_error_free(TAKE_PTR(err));
        assert_store_empty();

        /* Bad arguments. */
        HdImgBlobWriter *bad = NULL;
        ck_assert_int_eq(hd_img_blob_writer_new(blobs, NULL, -2, -1, &bad, &err), -EINVAL);
        hd_error_free(TAKE_PTR(err));
        ck_assert_int_eq(hd_img_blob_writer_new(blobs, NULL, -1, -5, &bad, &err), -EINVAL);
        hd_error_free(TAKE_PTR(err));
        ck_assert_ptr_null(bad);
}
END_TEST

START_TEST(test_max_size)
{
        set_mode(_i);
        unsigned char a[1000];
        fill(a, sizeof(a), 5);
        char got[HD_IMG_DIGEST_STRING_MAX];
        HdError *err = NULL;

        _cleanup_blob_writer_ HdImgBlobWriter *w = NULL;
        ck_assert_int_eq(hd_img_blob_writer_new(blobs, NULL, -1, 1000, &w, &err), 0);
        ck_assert_int_eq(hd_img_blob_writer_write(w, a, 600, &err), 0);
        ck_assert_int_eq(hd_img_blob_writer_write(w, a, 600, &err), -EFBIG);
        ck_assert_int_eq(err->code, -EFBIG);
        hd_error_free(TAKE_PTR(err));
        assert_store_empty();
        ck_assert_int_eq(hd_img_blob_writer_commit(w, got, &err), -EFBIG);
        hd_error_free(TAKE_PTR(err));
        assert_store_empty();

        /* Exactly the maximum is fine. */
        _cleanup_blob_writer_ HdImgBlobWriter *w2 = NULL;
        ck_assert_int_eq(hd_img_blob_writer_new(blobs, NULL, 1000, 1000, &w2, &err), 0);
        ck_assert_int_eq(hd_img_blob_writer_write(w2, a, 1000, &err), 0);
        ck_assert_int_eq(hd_img_blob_writer_commit(w2, got, &err), 0);
        ck_assert_ptr_null(err);

        /* An expected size above the maximum is refused up front. */
        HdImgBlobWriter *w3 = NULL;
        ck_assert_int_eq(hd_img_blob_writer_new(blobs, NULL, 1001, 1000, &w3, &err), -EFBIG);
        ck_assert_ptr_null(w3);
        hd_error_free(TAKE_PTR(err));
}
END_TEST

START_TEST(test_dedup)
{
        set_mode(_i);
        unsigned char a[20000];
        fill(a, sizeof(a), 6);
        char d1[HD_IMG_DIGEST_STRING_MAX], d2[HD_IMG_DIGEST_STRING_MAX],
                d3[HD_IMG_DIGEST_STRING_MAX];
        HdError *err = NULL;

        /* Two writers of the same bytes in flight at once. */
        _cleanup_blob_writer_ HdImgBlobWriter *w1 = NULL;
        _cleanup_blob_writer_ HdImgBlobWriter *w2 = NULL;
        ck_assert_int_eq(hd_img_blob_writer_new(blobs, NULL, -1, -1, &w1, &err), 0);
        ck_assert_int_eq(hd_img_blob_writer_new(blobs, NULL, -1, -1, &w2, &err), 0);
        ck_assert_int_eq(hd_img_blob_writer_write(w1, a, sizeof(a), &err), 0);
        ck_assert_int_eq(hd_img_blob_writer_write(w2, a, sizeof(a), &err), 0);
        ck_assert_int_eq(hd_img_blob_writer_commit(w1, d1, &err), 0);

        char p[256];
        blob_file(d1, p);
        struct stat st1, st2;
        ck_assert_int_eq(stat(p, &st1), 0);

        ck_assert_int_eq(hd_img_blob_writer_commit(w2, d2, &err), 0);
        ck_assert_int_eq(put(a, sizeof(a), d1, sizeof(a), d3, &err), 0);
        ck_assert_ptr_null(err);
        ck_assert_str_eq(d1, d2);
        ck_assert_str_eq(d1, d3);
        ck_assert_uint_eq(count_entries("sha256"), 1);
        ck_assert_uint_eq(count_entries("tmp"), 0);
        /* The first copy is the one kept. */
        ck_assert_int_eq(stat(p, &st2), 0);
        ck_assert_uint_eq(st1.st_ino, st2.st_ino);
        ck_assert_int_eq(st2.st_nlink, 1);
}
END_TEST

START_TEST(test_damaged_copy_replaced)
{
        set_mode(_i);
        unsigned char a[20000];
        fill(a, sizeof(a), 7);
        char d1[HD_IMG_DIGEST_STRING_MAX], d2[HD_IMG_DIGEST_STRING_MAX];
        HdError *err = NULL;
        ck_assert_int_eq(put(a, sizeof(a), NULL, -1, d1, &err), 0);
        char p[256];
        blob_file(d1, p);
        ck_assert_int_eq(truncate(p, 100), 0);
        ck_assert_int_eq(hd_img_blob_verify(blobs, d1, &err), -EBADMSG);
        hd_error_free(TAKE_PTR(err));

        /* Storing the blob again repairs it instead of keeping the short copy. */
        ck_assert_int_eq(put(a, sizeof(a), d1, -1, d2, &err), 0);
        ck_assert_str_eq(d1, d2);
        ck_assert_int_eq(hd_img_blob_verify(blobs, d1, &err), 0);
        ck_assert_ptr_null(err);
        ck_assert_uint_eq(count_entries("sha256"), 1);
        ck_assert_uint_eq(count_entries("tmp"), 0);
}
END_TEST

START_TEST(test_abort)
{
        set_mode(_i);
        unsigned char a[5000];
        fill(a, sizeof(a), 8);
        HdError *err = NULL;

        HdImgBlobWriter *w = NULL;
        ck_assert_int_eq(hd_img_blob_writer_new(blobs, NULL, -1, -1, &w, &err), 0);
        ck_assert_int_eq(hd_img_blob_writer_write(w, a, sizeof(a), &err), 0);
        hd_img_blob_writer_abort(w);
        assert_store_empty();
        hd_img_blob_writer_abort(NULL);

        /* Going out of scope uncommitted is an abort. */
        {
                _cleanup_blob_writer_ HdImgBlobWriter *w2 = NULL;
                ck_assert_int_eq(hd_img_blob_writer_new(blobs, NULL, -1, -1, &w2, &err), 0);
                ck_assert_int_eq(hd_img_blob_writer_write(w2, a, sizeof(a), &err), 0);
        }
        assert_store_empty();
        ck_assert_ptr_null(err);
}
END_TEST

/* ---- the store ---------------------------------------------------------------------- */

START_TEST(test_reopen_cleans_tmp)
{
        unsigned char a[5000];
        fill(a, sizeof(a), 9);
        char d[HD_IMG_DIGEST_STRING_MAX];
        HdError *err = NULL;
        ck_assert_int_eq(put(a, sizeof(a), NULL, -1, d, &err), 0);

        /* What a crash in the middle of writes leaves behind. */
        hd_img_blobs_close(blobs);
        blobs = NULL;
        char p[256];
        snprintf(p, sizeof(p), "%s/tmp/0123456789abcdef0123456789abcdef", root);
        ck_assert_int_eq(hd_write_file_atomic(p, "partial", 7, 0600), 0);
        snprintf(p, sizeof(p), "%s/tmp/dir", root);
        ck_assert_int_eq(mkdir(p, 0700), 0);
        snprintf(p, sizeof(p), "%s/tmp/dir/sub", root);
        ck_assert_int_eq(mkdir(p, 0700), 0);
        snprintf(p, sizeof(p), "%s/tmp/dir/sub/f", root);
        ck_assert_int_eq(hd_write_file_atomic(p, "x", 1, 0600), 0);
        snprintf(p, sizeof(p), "%s/tmp/link", root);
        ck_assert_int_eq(symlink(work, p), 0);
        ck_assert_uint_eq(count_entries("tmp"), 3);

        ck_assert_int_eq(hd_img_blobs_open(root, &blobs, &err), 0);
        ck_assert_ptr_null(err);
        ck_assert_uint_eq(count_entries("tmp"), 0);
        /* Committed blobs stay, and the symlink's target was not touched. */
        ck_assert_int_eq(hd_img_blob_verify(blobs, d, &err), 0);
        struct stat st;
        ck_assert_int_eq(stat(work, &st), 0);
        ck_assert_ptr_null(err);
}
END_TEST

START_TEST(test_open_errors)
{
        HdError *err = NULL;
        HdImgBlobs *b = NULL;
        ck_assert_int_eq(hd_img_blobs_open("", &b, &err), -EINVAL);
        hd_error_free(TAKE_PTR(err));

        char p[256];
        snprintf(p, sizeof(p), "%s/file", work);
        ck_assert_int_eq(hd_write_file_atomic(p, "x", 1, 0600), 0);
        ck_assert_int_lt(hd_img_blobs_open(p, &b, &err), 0);
        ck_assert_ptr_nonnull(err);
        hd_error_free(TAKE_PTR(err));

        /* sha256 must be a real directory. */
        snprintf(p, sizeof(p), "%s/other", work);
        ck_assert_int_eq(mkdir(p, 0700), 0);
        snprintf(p, sizeof(p), "%s/other/sha256", work);
        ck_assert_int_eq(symlink(root, p), 0);
        snprintf(p, sizeof(p), "%s/other", work);
        ck_assert_int_eq(hd_img_blobs_open(p, &b, &err), -ENOTDIR);
        hd_error_free(TAKE_PTR(err));
        ck_assert_ptr_null(b);

        hd_img_blobs_close(NULL);
}
END_TEST

START_TEST(test_malformed_digests)
{
        static const char *const bad[] = {
                "sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
                "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85",
                "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b8555",
                "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85g",
                "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n",
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                "sha512:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                "SHA256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                "sha256:../../../../../../../../../../../../../../../../../../../../etc/passwd",
                "sha256:..",
                "..",
                "sha256:",
                "sha256",
                "",
                NULL,
        };
        /* The blob the first malformed forms spell differently is stored: still refused. */
        char d[HD_IMG_DIGEST_STRING_MAX];
        HdError *err = NULL;
        ck_assert_int_eq(put("", 0, NULL, -1, d, &err), 0);

        for (size_t i = 0; i < HD_ARRAY_SIZE(bad); i++) {
                const char *s = bad[i];
                ck_assert_msg(!hd_img_blob_digest_is_valid(s), "accepted `%s`", s ? s : "NULL");
                int fd = -1;
                HdImgBlobWriter *w = NULL;
                int rs[] = {
                        hd_img_blob_open(blobs, s, &fd, NULL, &err),
                        hd_img_blob_exists(blobs, s, &err),
                        hd_img_blob_remove(blobs, s, &err),
                        hd_img_blob_verify(blobs, s, &err),
                        /* NULL is "no expected digest" there */
                        s ? hd_img_blob_writer_new(blobs, s, -1, -1, &w, &err) : -EINVAL,
                };
                for (size_t j = 0; j < HD_ARRAY_SIZE(rs); j++)
                        ck_assert_msg(rs[j] == -EINVAL, "`%s`: call %zu returned %d",
                                      s ? s : "NULL", j, rs[j]);
                ck_assert_int_eq(fd, -1);
                ck_assert_ptr_null(w);
                ck_assert_ptr_nonnull(err);
                ck_assert_int_eq(err->code, -EINVAL);
                ck_assert_str_eq(err->field, "digest");
                hd_error_free(TAKE_PTR(err));
        }
        ck_assert(hd_img_blob_digest_is_valid(d));
        ck_assert_int_eq(hd_img_blob_exists(blobs, d, &err), 1);
}
END_TEST

START_TEST(test_remove)
{
        unsigned char a[5000];
        fill(a, sizeof(a), 10);
        char d[HD_IMG_DIGEST_STRING_MAX];
        HdError *err = NULL;
        ck_assert_int_eq(put(a, sizeof(a), NULL, -1, d, &err), 0);

        /* A reader holding the blob open keeps reading it after the removal. */
        _cleanup_close_ int fd = -1;
        ck_assert_int_eq(hd_img_blob_open(blobs, d, &fd, NULL, &err), 0);
        ck_assert_int_eq(hd_img_blob_remove(blobs, d, &err), 0);
        ck_assert_int_eq(hd_img_blob_exists(blobs, d, &err), 0);
        unsigned char back[sizeof(a)];
        ck_assert_int_eq(read(fd, back, sizeof(back)), (ssize_t)sizeof(a));
        ck_assert_mem_eq(back, a, sizeof(a));
        ck_assert_ptr_null(err);

        ck_assert_int_eq(hd_img_blob_remove(blobs, d, &err), -ENOENT);
        ck_assert_ptr_nonnull(strstr(err->message, d));
        hd_error_free(TAKE_PTR(err));

        int fd2 = -1;
        ck_assert_int_eq(hd_img_blob_open(blobs, d, &fd2, NULL, &err), -ENOENT);
        ck_assert_int_eq(fd2, -1);
        ck_assert_ptr_nonnull(strstr(err->message, d));
        hd_error_free(TAKE_PTR(err));
        assert_store_empty();
}
END_TEST

START_TEST(test_verify)
{
        unsigned char a[300000];
        fill(a, sizeof(a), 11);
        char d[HD_IMG_DIGEST_STRING_MAX];
        HdError *err = NULL;
        ck_assert_int_eq(put(a, sizeof(a), NULL, -1, d, &err), 0);
        ck_assert_int_eq(hd_img_blob_verify(blobs, d, &err), 0);
        ck_assert_ptr_null(err);

        /* Flip one bit on disk. */
        char p[256];
        blob_file(d, p);
        _cleanup_close_ int fd = open(p, O_RDWR | O_CLOEXEC);
        ck_assert_int_ge(fd, 0);
        unsigned char c = a[200000] ^ 1;
        ck_assert_int_eq(pwrite(fd, &c, 1, 200000), 1);
        ck_assert_int_eq(hd_img_blob_verify(blobs, d, &err), -EBADMSG);
        ck_assert_str_eq(err->field, "digest");
        ck_assert_ptr_nonnull(strstr(err->message, d));
        hd_error_free(TAKE_PTR(err));

        ck_assert_int_eq(
                hd_img_blob_verify(
                        blobs,
                        "sha256:0000000000000000000000000000000000000000000000000000000000000000",
                        &err),
                -ENOENT);
        hd_error_free(TAKE_PTR(err));

        /* Something that is not a regular file where a blob should be. */
        static const char dir_digest[] =
                "sha256:1111111111111111111111111111111111111111111111111111111111111111";
        blob_file(dir_digest, p);
        ck_assert_int_eq(mkdir(p, 0700), 0);
        ck_assert_int_eq(hd_img_blob_verify(blobs, dir_digest, &err), -EIO);
        hd_error_free(TAKE_PTR(err));
        ck_assert_int_eq(hd_img_blob_exists(blobs, dir_digest, &err), 0);
        ck_assert_ptr_null(err);
}
END_TEST

static int cmp_digest(const void *a, const void *b)
{
        return strcmp(a, b);
}

START_TEST(test_list_usage)
{
        HdError *err = NULL;
        char **v = NULL;
        size_t n = 99;
        int64_t bytes = -1, count = -1;
        ck_assert_int_eq(hd_img_blobs_list(blobs, &v, &n, &err), 0);
        ck_assert_uint_eq(n, 0);
        ck_assert_ptr_null(v[0]);
        hd_img_blob_digests_free(TAKE_PTR(v));
        ck_assert_int_eq(hd_img_blobs_usage(blobs, &bytes, &count, &err), 0);
        ck_assert_int_eq(bytes, 0);
        ck_assert_int_eq(count, 0);

        enum { N = 70 }; /* more than the list's first allocation */
        char want[N][HD_IMG_DIGEST_STRING_MAX];
        int64_t want_bytes = 0;
        static unsigned char a[N * 10];
        for (unsigned i = 0; i < N; i++) {
                fill(a, i * 10 + 1, 100 + i);
                ck_assert_int_eq(put(a, i * 10 + 1, NULL, -1, want[i], &err), 0);
                want_bytes += i * 10 + 1;
        }
        qsort(want, N, sizeof(want[0]), cmp_digest);

        /* Strays that are not blobs are skipped. */
        char p[256];
        snprintf(p, sizeof(p), "%s/sha256/README", root);
        ck_assert_int_eq(hd_write_file_atomic(p, "x", 1, 0600), 0);
        snprintf(p, sizeof(p), "%s/sha256/%s", root,
                 "2222222222222222222222222222222222222222222222222222222222222222");
        ck_assert_int_eq(mkdir(p, 0700), 0);
        snprintf(p, sizeof(p), "%s/sha256/%s", root,
                 "3333333333333333333333333333333333333333333333333333333333333333");
        ck_assert_int_eq(symlink("/etc/passwd", p), 0);

        ck_assert_int_eq(hd_img_blobs_list(blobs, &v, &n, &err), 0);
        ck_assert_uint_eq(n, N);
        for (size_t i = 0; i < N; i++)
                ck_assert_str_eq(v[i], want[i]);
        ck_assert_ptr_null(v[N]);
        hd_img_blob_digests_free(TAKE_PTR(v));
        ck_assert_int_eq(hd_img_blobs_list(blobs, &v, NULL, &err), 0);
        hd_img_blob_digests_free(TAKE_PTR(v));

        ck_assert_int_eq(hd_img_blobs_usage(blobs, &bytes, &count, &err), 0);
        ck_assert_int_eq(bytes, want_bytes);
        ck_assert_int_eq(count, N);
        ck_assert_int_eq(hd_img_blobs_usage(blobs, NULL, NULL, &err), 0);
        ck_assert_ptr_null(err);
}
END_TEST

START_TEST(test_large_stream)
{
        set_mode(_i);
        enum { CHUNK = 1 << 20, CHUNKS = 64 };
        _cleanup_free_ unsigned char *buf = malloc(CHUNK);
        ck_assert_ptr_nonnull(buf);
        HdError *err = NULL;
        _cleanup_blob_writer_ HdImgBlobWriter *w = NULL;
        ck_assert_int_eq(hd_img_blob_writer_new(blobs, NULL, (int64_t)CHUNK * CHUNKS,
                                                (int64_t)CHUNK * CHUNKS, &w, &err),
                         0);
        for (unsigned i = 0; i < CHUNKS; i++) {
                fill(buf, CHUNK, 1000 + i);
                ck_assert_int_eq(hd_img_blob_writer_write(w, buf, CHUNK, &err), 0);
        }
        char d[HD_IMG_DIGEST_STRING_MAX], want[HD_IMG_DIGEST_STRING_MAX];
        ck_assert_int_eq(hd_img_blob_writer_commit(w, d, &err), 0);
        ck_assert_ptr_null(err);

        char p[256];
        blob_file(d, p);
        sha256sum_file(p, want);
        ck_assert_str_eq(d, want);
        int64_t bytes = 0;
        ck_assert_int_eq(hd_img_blobs_usage(blobs, &bytes, NULL, &err), 0);
        ck_assert_int_eq(bytes, (int64_t)CHUNK * CHUNKS);
        ck_assert_int_eq(hd_img_blob_verify(blobs, d, &err), 0);
        ck_assert_ptr_null(err);
}
END_TEST

/* ---- runner ------------------------------------------------------------------------- */

static Suite *img_blobs_suite(void)
{
        Suite *s = suite_create("img-blobs");
        TCase *tc = tcase_create("blobs");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 120);
        /* Iteration 0: the store's own choice of temp files; 1: named temp files. */
        tcase_add_loop_test(tc, test_round_trip, 0, 2);
        tcase_add_loop_test(tc, test_empty_blob, 0, 2);
        tcase_add_loop_test(tc, test_expected_digest_mismatch, 0, 2);
        tcase_add_loop_test(tc, test_expected_size_mismatch, 0, 2);
        tcase_add_loop_test(tc, test_max_size, 0, 2);
        tcase_add_loop_test(tc, test_dedup, 0, 2);
        tcase_add_loop_test(tc, test_damaged_copy_replaced, 0, 2);
        tcase_add_loop_test(tc, test_abort, 0, 2);
        tcase_add_test(tc, test_reopen_cleans_tmp);
        tcase_add_test(tc, test_open_errors);
        tcase_add_test(tc, test_malformed_digests);
        tcase_add_test(tc, test_remove);
        tcase_add_test(tc, test_verify);
        tcase_add_test(tc, test_list_usage);
        tcase_add_loop_test(tc, test_large_stream, 0, 2);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        SRunner *sr = srunner_create(img_blobs_suite());
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
