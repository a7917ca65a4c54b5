/* Whether an encoded image is whole (img_check_whole, imaging.h): a walk over its
 * container's structure, no decoding. libvips' header probe stops at the header, so
 * a file cut inside its pixel data (a copy or download that stopped half-way)
 * probes fine; each format says where it ends, and a file that stops before that
 * point is truncated:
 *
 * - PNG: chunks (length, type, data, CRC) from byte 8 until IEND (the PNG
 *   specification's chunk layout); bytes after IEND are ignored, as decoders do.
 * - JPEG: marker segments, and after each start-of-scan the entropy-coded data, in
 *   which 0xFF is followed by 0x00 (stuffing), a restart marker or a fill byte, so
 *   any other marker ends the scan (ITU-T T.81, annex B); the file is whole at an
 *   end-of-image marker after a scan. Data after it (thumbnails some cameras
 *   append) is ignored, and so are stray bytes between segments, which libjpeg
 *   skips with a warning.
 * - WEBP: the size in the RIFF header (RFC 9649) fits in the file.
 *
 * Pure; any thread; linear in the bytes (a JPEG's entropy data is scanned for 0xFF
 * with memchr). */
#include "fmacros.h"

#include "imaging/imaging.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"

static int cut(char *errbuf, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int cut(char *errbuf, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (errbuf != NULL && errlen > 0) {
        va_start(ap, fmt);
        vsnprintf(errbuf, errlen, fmt, ap);
        va_end(ap);
    }
    return SZ_ECORRUPT;
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int png_whole(const unsigned char *p, size_t len, char *errbuf, size_t errlen)
{
    size_t off = 8;

    while (off + 8 <= len) {
        uint32_t n = be32(p + off);
        char type[5];

        memcpy(type, p + off + 4, 4);
        type[4] = '\0';
        for (int i = 0; i < 4; i++) /* chunk types are ASCII letters: name only those */
            if (!((type[i] >= 'A' && type[i] <= 'Z') || (type[i] >= 'a' && type[i] <= 'z')))
                return cut(errbuf, errlen, "Corrupt image: not a PNG chunk at byte %zu", off);
        if (n > 0x7fffffffu)
            return cut(errbuf, errlen, "Corrupt image: the PNG's %s chunk claims %u bytes", type,
                       (unsigned)n);
        if ((size_t)n + 12 > len - off)
            return cut(errbuf, errlen,
                       "Truncated image: the PNG ends inside its %s chunk (%zu bytes in all)", type,
                       len);
        if (memcmp(type, "IEND", 4) == 0)
            return 0;
        off += (size_t)n + 12;
    }
    return cut(errbuf, errlen, "Truncated image: the PNG ends before its IEND chunk (%zu bytes)",
               len);
}

/* After a start-of-scan segment: the offset of the marker that ends the entropy-
 * coded data (its 0xFF), or len when the data runs to the end. */
static size_t scan_end(const unsigned char *p, size_t off, size_t len)
{
    while (off < len) {
        const unsigned char *ff = memchr(p + off, 0xff, len - off);
        size_t at;

        if (ff == NULL)
            return len;
        at = (size_t)(ff - p);
        if (at + 1 >= len)
            return len;
        if (p[at + 1] == 0x00 || (p[at + 1] >= 0xd0 && p[at + 1] <= 0xd7)) {
            off = at + 2; /* stuffing, or a restart marker inside the scan */
            continue;
        }
        if (p[at + 1] == 0xff) {
            off = at + 1; /* a fill byte before a marker */
            continue;
        }
        return at;
    }
    return len;
}

static int jpeg_whole(const unsigned char *p, size_t len, char *errbuf, size_t errlen)
{
    size_t off = 2; /* after SOI */
    bool scanned = false;

    while (off < len) {
        unsigned char m;
        size_t seg;

        if (p[off] != 0xff) {
            const unsigned char *ff = memchr(p + off, 0xff, len - off);
            if (ff == NULL)
                break;
            off = (size_t)(ff - p);
        }
        while (off < len && p[off] == 0xff)
            off++;
        if (off >= len)
            break;
        m = p[off++];
        if (m == 0xd9) {
            if (scanned)
                return 0;
            return cut(errbuf, errlen, "Corrupt image: the JPEG ends before any image data");
        }
        if ((m >= 0xd0 && m <= 0xd7) || m == 0x01)
            continue; /* no length */
        if (off + 2 > len)
            break;
        seg = (size_t)p[off] << 8 | p[off + 1];
        if (seg < 2)
            return cut(errbuf, errlen, "Corrupt image: a JPEG segment of %zu bytes at byte %zu",
                       seg, off);
        if (seg > len - off)
            break;
        off += seg;
        if (m == 0xda) {
            scanned = true;
            off = scan_end(p, off, len);
        }
    }
    return cut(errbuf, errlen,
               "Truncated image: the JPEG ends before its end-of-image marker (%zu bytes)", len);
}

static int webp_whole(const unsigned char *p, size_t len, char *errbuf, size_t errlen)
{
    uint32_t riff =
        (uint32_t)p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 | (uint32_t)p[7] << 24;

    if (riff < 4)
        return cut(errbuf, errlen, "Corrupt image: the WEBP's RIFF size is %u", (unsigned)riff);
    if ((size_t)riff > len - 8)
        return cut(errbuf, errlen,
                   "Truncated image: the WEBP is %zu bytes, its RIFF header says %llu", len,
                   (unsigned long long)riff + 8);
    return 0;
}

int img_check_whole(const void *buf, size_t len, char *errbuf, size_t errlen)
{
    if (buf == NULL && len > 0)
        return cut(errbuf, errlen, "No image data");
    switch (img_sniff(buf, len)) {
    case IMG_FORMAT_PNG:
        return png_whole(buf, len, errbuf, errlen);
    case IMG_FORMAT_JPEG:
        return jpeg_whole(buf, len, errbuf, errlen);
    case IMG_FORMAT_WEBP:
        return webp_whole(buf, len, errbuf, errlen);
    default:
        break;
    }
    if (errbuf != NULL && errlen > 0)
        snprintf(errbuf, errlen, "Unsupported image content: not a PNG, JPEG or WEBP image");
    return SZ_EUNSUPPORTED;
}
