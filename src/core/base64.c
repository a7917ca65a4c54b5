/* Base64 codec (see base64.h for the decoding rules and for why encoding is
 * OpenSSL's and decoding is ours).
 *
 * Decoding is table driven, with a fast path that converts whole 4-character groups while they
 * hold only alphabet characters (the common case: one long unbroken line) and
 * a character-at-a-time path that handles whitespace and the final, possibly
 * padded, group. */
#include "fmacros.h"

#include "core/base64.h"
#include "core/err.h"

#include <stdint.h>
#include <stdlib.h>

#include <openssl/evp.h>

/* Input bytes per EVP_EncodeBlock call: a multiple of 3 whose output (4/3 of
 * it, plus the NUL) stays below INT_MAX. */
#define ENC_CHUNK ((size_t)3 << 28)

/* Decoding classes above the 6-bit values; each has bit 6 or 7 set so that
 * OR-ing four table entries tells at once whether a group is plain data. */
#define XX 0xff /* not base64 */
#define WS 0x40 /* whitespace, skipped */
#define PD 0x41 /* "=" padding */

/* Indexed by byte value: the 6-bit value of each alphabet character
 * ("A-Za-z0-9+/"), plus the classes above. */
/* clang-format off */
static const uint8_t dec_table[256] = {
    XX, XX, XX, XX, XX, XX, XX, XX, XX, WS, WS, WS, WS, WS, XX, XX,
    XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX,
    WS, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, 62, XX, XX, XX, 63,
    52, 53, 54, 55, 56, 57, 58, 59, 60, 61, XX, XX, XX, PD, XX, XX,
    XX,  0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11, 12, 13, 14,
    15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, XX, XX, XX, XX, XX,
    XX, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
    41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, XX, XX, XX, XX, XX,
    XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX,
    XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX,
    XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX,
    XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX,
    XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX,
    XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX,
    XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX,
    XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX,
};
/* clang-format on */

size_t sz_b64_encoded_len(size_t n)
{
    size_t groups = n / 3 + (n % 3 != 0);
    if (groups > (SIZE_MAX - 1) / 4)
        return 0;
    return groups * 4;
}

size_t sz_b64_encode(const void *src, size_t n, char *dst)
{
    const unsigned char *in = src;
    unsigned char *out = (unsigned char *)dst;

    /* EVP_EncodeBlock takes an int length: feed it whole groups of 3 bytes at
     * most ENC_CHUNK at a time, so the output of each call fits an int too. */
    *out = '\0';
    while (n > 0) {
        size_t chunk = n < ENC_CHUNK ? n : ENC_CHUNK;
        int k = EVP_EncodeBlock(out, in, (int)chunk); /* NUL-terminates */
        out += k;
        in += chunk;
        n -= chunk;
    }
    return (size_t)(out - (unsigned char *)dst);
}

int sz_b64_encode_alloc(const void *src, size_t n, char **pout, size_t *plen)
{
    size_t len = sz_b64_encoded_len(n);
    char *out;

    *pout = NULL;
    if (len == 0 && n != 0)
        return SZ_ETOOBIG;
    out = malloc(len + 1);
    if (out == NULL)
        return SZ_ENOMEM;
    len = sz_b64_encode(src, n, out);
    *pout = out;
    if (plen != NULL)
        *plen = len;
    return 0;
}

size_t sz_b64_decoded_maxlen(size_t n)
{
    return n / 4 * 3 + n % 4 * 3 / 4;
}

int sz_b64_decode(const char *src, size_t n, uint8_t *dst, size_t *pdstlen)
{
    const unsigned char *in = (const unsigned char *)src;
    uint8_t *out = dst;
    uint32_t acc = 0; /* bits of the current group, 6 per character */
    int nq = 0;       /* characters in the current group */
    size_t i = 0;
    int pads = 0;

    while (i < n) {
        unsigned v;

        /* Fast path: whole groups of four alphabet characters. */
        if (nq == 0) {
            while (i + 4 <= n) {
                unsigned a = dec_table[in[i]], b = dec_table[in[i + 1]];
                unsigned c = dec_table[in[i + 2]], d = dec_table[in[i + 3]];
                uint32_t w;
                if ((a | b | c | d) & 0xc0)
                    break;
                w = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 | d;
                out[0] = (uint8_t)(w >> 16);
                out[1] = (uint8_t)(w >> 8);
                out[2] = (uint8_t)w;
                out += 3;
                i += 4;
            }
            if (i >= n)
                break;
        }

        v = dec_table[in[i]];
        if (v < 64) {
            acc = acc << 6 | v;
            if (++nq == 4) {
                out[0] = (uint8_t)(acc >> 16);
                out[1] = (uint8_t)(acc >> 8);
                out[2] = (uint8_t)acc;
                out += 3;
                acc = 0;
                nq = 0;
            }
            i++;
        } else if (v == WS) {
            i++;
        } else if (v == PD) {
            break;
        } else {
            return SZ_ECORRUPT;
        }
    }

    /* Padding: only whitespace and exactly 4 - nq "=" may follow. */
    for (; i < n; i++) {
        unsigned v = dec_table[in[i]];
        if (v == PD)
            pads++;
        else if (v != WS)
            return SZ_ECORRUPT;
    }
    if (nq == 1)
        return SZ_ECORRUPT;
    if (pads != 0 && (nq == 0 || pads != 4 - nq))
        return SZ_ECORRUPT;

    if (nq == 2) {
        *out++ = (uint8_t)(acc >> 4);
    } else if (nq == 3) {
        *out++ = (uint8_t)(acc >> 10);
        *out++ = (uint8_t)(acc >> 2);
    }
    *pdstlen = (size_t)(out - dst);
    return 0;
}

int sz_b64_decode_alloc(const char *src, size_t n, uint8_t **pout, size_t *plen)
{
    size_t cap = sz_b64_decoded_maxlen(n);
    uint8_t *out = malloc(cap ? cap : 1);
    int rc;

    *pout = NULL;
    if (out == NULL)
        return SZ_ENOMEM;
    rc = sz_b64_decode(src, n, out, plen);
    if (rc < 0) {
        free(out);
        return rc;
    }
    *pout = out;
    return 0;
}
