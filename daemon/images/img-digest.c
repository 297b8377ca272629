#include "img-digest.h"

#include <errno.h>
#include <openssl/evp.h>

struct HdImgDigest {
        EVP_MD_CTX *ctx;
};

int hd_img_digest_new(HdImgDigest **ret)
{
        HdImgDigest *d = calloc(1, sizeof(*d));
        if (!d)
                return -ENOMEM;
        d->ctx = EVP_MD_CTX_new();
        if (!d->ctx || EVP_DigestInit_ex(d->ctx, EVP_sha256(), NULL) != 1) {
                hd_img_digest_free(d);
                return -ENOMEM;
        }
        *ret = d;
        return 0;
}

int hd_img_digest_update(HdImgDigest *d, const void *data, size_t len)
{
        if (len == 0)
                return 0;
        return EVP_DigestUpdate(d->ctx, data, len) == 1 ? 0 : -EIO;
}

int hd_img_digest_final(HdImgDigest *d, char out[static HD_IMG_DIGEST_STRING_MAX])
{
        static const char hex[] = "0123456789abcdef";
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int n = 0;
        if (EVP_DigestFinal_ex(d->ctx, md, &n) != 1 || n != 32)
                return -EIO;
        char *p = out + sprintf(out, "sha256:");
        for (unsigned int i = 0; i < n; i++) {
                *p++ = hex[md[i] >> 4];
                *p++ = hex[md[i] & 0xf];
        }
        *p = '\0';
        return 0;
}

void hd_img_digest_free(HdImgDigest *d)
{
        if (!d)
                return;
        EVP_MD_CTX_free(d->ctx);
        free(d);
}

int hd_img_digest_of(const void *data, size_t len, char out[static HD_IMG_DIGEST_STRING_MAX])
{
        _cleanup_(hd_img_digest_freep) HdImgDigest *d = NULL;
        int r = hd_img_digest_new(&d);
        if (r >= 0)
                r = hd_img_digest_update(d, data, len);
        if (r >= 0)
                r = hd_img_digest_final(d, out);
        return r;
}
