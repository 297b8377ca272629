/* The layer extractor's input stream (contract in img-input.h): read, decompress, hash,
 * count.
 *
 * Sections: errors · reading the source · decompression · the stream. */
#include "img-input.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "hd-util.h"

#define IN_BUF (128 * 1024)

struct HdImgInput {
        int src;
        HdImgCompression comp;
        uint64_t max_bytes;

        uint8_t *in; /* bytes read from src, not yet decompressed */
        size_t in_pos, in_len;
        z_stream gz;
        bool gz_ready, gz_between; /* between gzip members (or before the first) */
        ZSTD_DCtx *zs;
        bool zs_between; /* between zstd frames */

        HdImgDigest *read_digest, *tar_digest;
        uint64_t bytes_read, bytes_tar;
};

/* ---- errors ------------------------------------------------------------------------- */

/* The field hd_img_tar_extract's archive errors carry (img-tar.h); the stream never knows
 * which entry it is in, so the message names none. */
#define fail(err, code, ...)   hd_error_set_field((err), (code), "entry", __VA_ARGS__)
#define corrupt(err, fmt, ...) fail((err), -EINVAL, "corrupt layer: " fmt, ##__VA_ARGS__)

/* ---- reading the source ------------------------------------------------------------- */

static ssize_t src_read(HdImgInput *in, uint8_t *p, size_t n, HdError **err)
{
        ssize_t k;
        do
                k = read(in->src, p, n);
        while (k < 0 && errno == EINTR);
        if (k < 0) {
                int e = errno;
                return fail(err, -e, "reading the layer: %s", strerror(e));
        }
        if (hd_img_digest_update(in->read_digest, p, (size_t)k) < 0)
                return fail(err, -EIO, "sha256 failed");
        in->bytes_read += (uint64_t)k;
        return k;
}

/* >0 when input is buffered, 0 at the end of the source, <0 on error. */
static int fill_in(HdImgInput *in, HdError **err)
{
        if (in->in_pos < in->in_len)
                return 1;
        ssize_t k = src_read(in, in->in, IN_BUF, err);
        if (k <= 0)
                return (int)k;
        in->in_pos = 0;
        in->in_len = (size_t)k;
        return 1;
}

/* ---- decompression ------------------------------------------------------------------ */

static ssize_t read_plain(HdImgInput *in, uint8_t *buf, size_t n, HdError **err)
{
        int r = fill_in(in, err);
        if (r <= 0)
                return r;
        size_t k = in->in_len - in->in_pos < n ? in->in_len - in->in_pos : n;
        memcpy(buf, in->in + in->in_pos, k);
        in->in_pos += k;
        return (ssize_t)k;
}

/* Concatenated gzip members are one stream, as gzip -d sees them. */
static ssize_t read_gzip(HdImgInput *in, uint8_t *buf, size_t n, HdError **err)
{
        for (;;) {
                if (in->gz_between) {
                        int r = fill_in(in, err);
                        if (r <= 0)
                                return r;
                        if (inflateReset(&in->gz) != Z_OK)
                                return corrupt(err, "gzip: cannot reset");
                        in->gz_between = false;
                }
                in->gz.next_in = in->in + in->in_pos;
                in->gz.avail_in = (uInt)(in->in_len - in->in_pos);
                in->gz.next_out = buf;
                in->gz.avail_out = (uInt)n;
                int z = inflate(&in->gz, Z_NO_FLUSH);
                in->in_pos = in->in_len - in->gz.avail_in;
                size_t got = n - in->gz.avail_out;
                if (z == Z_STREAM_END)
                        in->gz_between = true;
                else if (z != Z_OK && !(z == Z_BUF_ERROR && in->in_pos == in->in_len))
                        return corrupt(err, "gzip: %s", in->gz.msg ? in->gz.msg : "bad data");
                if (got > 0)
                        return (ssize_t)got;
                if (in->gz_between)
                        continue;
                int r = fill_in(in, err); /* inflate wants more input */
                if (r < 0)
                        return r;
                if (r == 0)
                        return corrupt(err, "gzip: truncated stream");
        }
}

/* Zstandard frames back to back are one stream too. The decoder's window is capped at
 * zstd's default (128 MiB), the same as the zstd tool without --long. */
static ssize_t read_zstd(HdImgInput *in, uint8_t *buf, size_t n, HdError **err)
{
        for (;;) {
                ZSTD_inBuffer zin = { in->in + in->in_pos, in->in_len - in->in_pos, 0 };
                ZSTD_outBuffer zout = { buf, n, 0 };
                size_t z = ZSTD_decompressStream(in->zs, &zout, &zin);
                in->in_pos += zin.pos;
                if (ZSTD_isError(z))
                        return corrupt(err, "zstd: %s", ZSTD_getErrorName(z));
                if (zin.pos > 0 || zout.pos > 0)
                        in->zs_between = z == 0; /* 0: a frame just ended */
                if (zout.pos > 0)
                        return (ssize_t)zout.pos;
                int r = fill_in(in, err);
                if (r < 0)
                        return r;
                if (r == 0)
                        return in->zs_between ? 0 : corrupt(err, "zstd: truncated stream");
        }
}

/* ---- the stream --------------------------------------------------------------------- */

ssize_t hd_img_input_read(HdImgInput *in, void *buf, size_t n, HdError **err)
{
        size_t got = 0;
        while (got < n) {
                uint8_t *p = (uint8_t *)buf + got;
                ssize_t k = in->comp == HD_IMG_COMPRESSION_GZIP   ? read_gzip(in, p, n - got, err)
                            : in->comp == HD_IMG_COMPRESSION_ZSTD ? read_zstd(in, p, n - got, err)
                                                                  : read_plain(in, p, n - got, err);
                if (k < 0)
                        return k;
                if (k == 0)
                        break;
                if (in->tar_digest && hd_img_digest_update(in->tar_digest, p, (size_t)k) < 0)
                        return fail(err, -EIO, "sha256 failed");
                in->bytes_tar += (uint64_t)k;
                if (in->bytes_tar > in->max_bytes)
                        return fail(err, -EFBIG, "layer is larger than %llu bytes uncompressed",
                                    (unsigned long long)in->max_bytes);
                got += (size_t)k;
        }
        return (ssize_t)got;
}

static int sniff(HdImgInput *in, HdError **err)
{
        static const uint8_t gzip[] = { 0x1f, 0x8b }, zstd[] = { 0x28, 0xb5, 0x2f, 0xfd };
        static const uint8_t xz[] = { 0xfd, '7', 'z', 'X', 'Z', 0 }, bzip2[] = { 'B', 'Z', 'h' };
        while (in->in_len < sizeof(xz)) {
                ssize_t k = src_read(in, in->in + in->in_len, IN_BUF - in->in_len, err);
                if (k < 0)
                        return (int)k;
                if (k == 0)
                        break;
                in->in_len += (size_t)k;
        }
#define HAS_MAGIC(m) (in->in_len >= sizeof(m) && memcmp(in->in, m, sizeof(m)) == 0)
        if (HAS_MAGIC(xz) || HAS_MAGIC(bzip2))
                return fail(err, -EOPNOTSUPP, "%s-compressed layers are not supported",
                            HAS_MAGIC(xz) ? "xz" : "bzip2");
        in->comp = HAS_MAGIC(gzip)   ? HD_IMG_COMPRESSION_GZIP
                   : HAS_MAGIC(zstd) ? HD_IMG_COMPRESSION_ZSTD
                                     : HD_IMG_COMPRESSION_NONE;
#undef HAS_MAGIC
        return 0;
}

int hd_img_input_new(int src_fd, HdImgCompression comp, uint64_t max_bytes, HdImgInput **ret,
                     HdError **err)
{
        _cleanup_(hd_img_input_freep) HdImgInput *in = calloc(1, sizeof(*in));
        if (!in)
                return hd_error_set(err, -ENOMEM, "out of memory");
        in->src = src_fd;
        in->comp = comp;
        in->max_bytes = max_bytes;
        in->in = malloc(IN_BUF);
        if (!in->in || hd_img_digest_new(&in->read_digest) < 0)
                return hd_error_set(err, -ENOMEM, "out of memory");

        if (comp == HD_IMG_COMPRESSION_AUTO) {
                int r = sniff(in, err);
                if (r < 0)
                        return r;
        }
        /* uncompressed: the layer digest is the diff_id, hashed once */
        if (in->comp != HD_IMG_COMPRESSION_NONE && hd_img_digest_new(&in->tar_digest) < 0)
                return fail(err, -ENOMEM, "out of memory");
        if (in->comp == HD_IMG_COMPRESSION_GZIP) {
                if (inflateInit2(&in->gz, 16 + MAX_WBITS) != Z_OK) /* gzip wrapper only */
                        return fail(err, -ENOMEM, "out of memory");
                in->gz_ready = in->gz_between = true;
        } else if (in->comp == HD_IMG_COMPRESSION_ZSTD) {
                in->zs = ZSTD_createDCtx();
                if (!in->zs)
                        return fail(err, -ENOMEM, "out of memory");
                in->zs_between = true;
        }
        *ret = TAKE_PTR(in);
        return 0;
}

HdImgCompression hd_img_input_compression(const HdImgInput *in)
{
        return in->comp;
}

uint64_t hd_img_input_bytes_read(const HdImgInput *in)
{
        return in->bytes_read;
}

uint64_t hd_img_input_bytes_uncompressed(const HdImgInput *in)
{
        return in->bytes_tar;
}

int hd_img_input_digests(HdImgInput *in, char digest[static HD_IMG_DIGEST_STRING_MAX],
                         char diff_id[static HD_IMG_DIGEST_STRING_MAX])
{
        if (hd_img_digest_final(in->read_digest, digest) < 0 ||
            (in->tar_digest && hd_img_digest_final(in->tar_digest, diff_id) < 0))
                return -EIO;
        if (!in->tar_digest)
                memcpy(diff_id, digest, HD_IMG_DIGEST_STRING_MAX);
        return 0;
}

void hd_img_input_free(HdImgInput *in)
{
        if (!in)
                return;
        if (in->gz_ready)
                inflateEnd(&in->gz);
        ZSTD_freeDCtx(in->zs);
        hd_img_digest_free(in->read_digest);
        hd_img_digest_free(in->tar_digest);
        free(in->in);
        free(in);
}
