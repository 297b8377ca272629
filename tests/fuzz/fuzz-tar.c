/* libFuzzer target for the layer extractor: arbitrary bytes as a layer, read as plain tar
 * and then sniffed (AUTO, with devices and set-id bits allowed), each time into a fresh
 * directory that is the only child of a sentinel directory, with small limits. It must
 * never crash, never leave anything beside the destination, report every failure as a
 * proper error, and leave a tree hd_img_rm_rf_at can remove. */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "img-tar.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok, const char *what)
{
        if (!ok) {
                fprintf(stderr, "fuzz-tar: %s\n", what);
                abort();
        }
}

static int count_children(int dirfd)
{
        int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        check(fd >= 0, "cannot open the sentinel directory");
        DIR *d = fdopendir(fd);
        check(d != NULL, "fdopendir");
        int n = 0;
        for (struct dirent *de; (de = readdir(d));)
                n += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
        closedir(d);
        return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char sentinel[] = "/tmp/fuzz-tar-XXXXXX";
        check(mkdtemp(sentinel) != NULL, "mkdtemp");
        _cleanup_close_ int sfd = open(sentinel, O_PATH | O_DIRECTORY | O_CLOEXEC);
        _cleanup_close_ int src = memfd_create("fuzz-tar", MFD_CLOEXEC);
        check(sfd >= 0 && src >= 0, "cannot open the sentinel or the memfd");
        for (size_t off = 0; off < size;) {
                ssize_t w = write(src, data + off, size - off);
                check(w > 0, "write to memfd");
                off += (size_t)w;
        }

        static const HdImgCompression comps[] = { HD_IMG_COMPRESSION_NONE,
                                                  HD_IMG_COMPRESSION_AUTO };
        for (size_t i = 0; i < HD_ARRAY_SIZE(comps); i++) {
                check(mkdirat(sfd, "dest", 0700) == 0, "mkdir dest");
                _cleanup_close_ int dest = openat(sfd, "dest", O_PATH | O_DIRECTORY | O_CLOEXEC);
                check(dest >= 0 && lseek(src, 0, SEEK_SET) == 0, "open dest, rewind");
                HdImgTarLimits lim = {
                        .max_bytes = 4 << 20,
                        .max_entries = 64,
                        .max_depth = 8,
                        .max_path = 256,
                        .allow_devices = i == 1,
                        .keep_setid = i == 1,
                };
                HdImgTarResult res;
                _cleanup_error_ HdError *err = NULL;
                int r = hd_img_tar_extract(src, comps[i], dest, &lim, &res, &err);
                if (r < 0) {
                        check(err && err->code == r && err->message, "failure without an error");
                } else {
                        check(r == 0 && !err, "success with an error set");
                        check(res.bytes_read == size, "did not read the whole input");
                        check(strlen(res.digest) == 71 && strlen(res.diff_id) == 71, "bad digest");
                        check(res.entries <= lim.max_entries &&
                                      res.bytes_uncompressed <= lim.max_bytes,
                              "limits not enforced");
                }
                check(count_children(sfd) == 1 &&
                              faccessat(sfd, "dest", F_OK, AT_SYMLINK_NOFOLLOW) == 0,
                      "something was written beside the destination");
                check(hd_img_rm_rf_at(sfd, "dest") == 0, "cannot remove the destination");
        }
        check(rmdir(sentinel) == 0, "the sentinel directory is not empty");
        return 0;
}
