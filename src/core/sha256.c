/* SHA-256 via OpenSSL EVP (see sha256.h). EVP_MD_fetch is avoided on
 * purpose: EVP_sha256() returns a static method that needs no freeing and
 * works with the default provider OpenSSL 3 loads on first use. */
#include "fmacros.h"

#include "core/sha256.h"
#include "core/err.h"

#include <openssl/evp.h>

int sz_sha256_init(struct sz_sha256 *h)
{
    h->ctx = EVP_MD_CTX_new();
    if (h->ctx == NULL)
        return SZ_ENOMEM;
    if (EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1) {
        sz_sha256_discard(h);
        return SZ_EIO;
    }
    return 0;
}

int sz_sha256_update(struct sz_sha256 *h, const void *data, size_t len)
{
    if (h->ctx == NULL)
        return SZ_EINVAL;
    if (len == 0)
        return 0;
    if (EVP_DigestUpdate(h->ctx, data, len) != 1)
        return SZ_EIO;
    return 0;
}

int sz_sha256_final_hex(struct sz_sha256 *h, char hex[SZ_SHA256_HEX_LEN + 1])
{
    static const char digits[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    int rc = 0;

    if (h->ctx == NULL)
        return SZ_EINVAL;
    if (EVP_DigestFinal_ex(h->ctx, md, &mdlen) != 1 || mdlen != SZ_SHA256_HEX_LEN / 2) {
        rc = SZ_EIO;
        goto out;
    }
    for (unsigned int i = 0; i < mdlen; i++) {
        hex[2 * i] = digits[md[i] >> 4];
        hex[2 * i + 1] = digits[md[i] & 15];
    }
    hex[SZ_SHA256_HEX_LEN] = '\0';
out:
    sz_sha256_discard(h);
    return rc;
}

void sz_sha256_discard(struct sz_sha256 *h)
{
    EVP_MD_CTX_free(h->ctx);
    h->ctx = NULL;
}

int sz_sha256_hex(const void *data, size_t len, char hex[SZ_SHA256_HEX_LEN + 1])
{
    struct sz_sha256 h;
    int rc = sz_sha256_init(&h);

    if (rc < 0)
        return rc;
    rc = sz_sha256_update(&h, data, len);
    if (rc < 0) {
        sz_sha256_discard(&h);
        return rc;
    }
    return sz_sha256_final_hex(&h, hex);
}
