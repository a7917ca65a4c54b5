/* What arrives, checked before it is published: the formats a media file may
 * be (MP4, WebP, JPEG, PNG), their signatures, the Content-Type a server may
 * send with them, and the extensions that name them. A download that brings an
 * HTML error page, or JPEG bytes for a PNG, is refused with a sentence that
 * says what came instead, and nothing is published under a media name.
 * Pure; any thread. */
#include "fmacros.h"

#include "store/store_int.h"

#include "core/err.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* How many leading bytes a message shows. */
#define HEAD_SHOWN 16

struct format {
    const char *what; /* "an MP4 video" */
    const char *mime; /* the Content-Type servers send */
    const char *ext;  /* the extension a file of it gets */
    const char *alt;  /* a second extension, or NULL */
};

static const struct format formats[] = {
    [STORE_FMT_MP4] = {"an MP4 video", "video/mp4", "mp4", NULL},
    [STORE_FMT_WEBP] = {"a WebP image", "image/webp", "webp", NULL},
    [STORE_FMT_JPEG] = {"a JPEG image", "image/jpeg", "jpg", "jpeg"},
    [STORE_FMT_PNG] = {"a PNG image", "image/png", "png", NULL},
    [STORE_FMT_IMAGE] = {"a PNG, JPEG or WebP image", "", "", NULL},
};

static bool valid(enum store_format f)
{
    return f > STORE_FMT_NONE && f <= STORE_FMT_IMAGE;
}

/* Whether bytes sniffed as got are acceptable as f. */
static bool sniff_fits(enum store_format f, enum store_format got)
{
    if (f == STORE_FMT_IMAGE)
        return got == STORE_FMT_WEBP || got == STORE_FMT_JPEG || got == STORE_FMT_PNG;
    return got == f;
}

enum store_format store_sniff(const void *head, size_t len)
{
    const unsigned char *p = head;

    if (len >= 8 && memcmp(p, "\x89PNG\r\n\x1a\n", 8) == 0)
        return STORE_FMT_PNG;
    if (len >= 3 && p[0] == 0xff && p[1] == 0xd8 && p[2] == 0xff)
        return STORE_FMT_JPEG;
    if (len >= 12 && memcmp(p, "RIFF", 4) == 0 && memcmp(p + 8, "WEBP", 4) == 0)
        return STORE_FMT_WEBP;
    /* ISO base media: the first box is "ftyp" (4 bytes of size, then the type). */
    if (len >= 8 && memcmp(p + 4, "ftyp", 4) == 0)
        return STORE_FMT_MP4;
    return STORE_FMT_NONE;
}

const char *store_format_ext(enum store_format f)
{
    return valid(f) ? formats[f].ext : "";
}

const char *store_format_mime(enum store_format f)
{
    return valid(f) && formats[f].mime[0] != '\0' ? formats[f].mime : "application/octet-stream";
}

enum store_format store_format_of_name(const char *name, size_t len)
{
    char ext[8];

    store_name_ext(name, len, ext, sizeof(ext));
    for (int f = STORE_FMT_MP4; f <= STORE_FMT_PNG; f++)
        if (strcmp(ext, formats[f].ext) == 0 ||
            (formats[f].alt != NULL && strcmp(ext, formats[f].alt) == 0))
            return (enum store_format)f;
    return STORE_FMT_NONE;
}

int store_check_name_format(const char *name, size_t len, enum store_format expected,
                            const char *why, char *err, size_t errlen)
{
    char disp[STORE_MSG_MAX / 2];

    if (!valid(expected) || expected == STORE_FMT_IMAGE ||
        store_format_of_name(name, len) == expected)
        return 0;
    store_fmt_name(disp, sizeof(disp), name, len);
    if (formats[expected].alt != NULL)
        snprintf(err, errlen,
                 "Filename '%s' does not match %s (%s): use a name ending in .%s or .%s", disp, why,
                 formats[expected].what, formats[expected].ext, formats[expected].alt);
    else
        snprintf(err, errlen, "Filename '%s' does not match %s (%s): use a name ending in .%s",
                 disp, why, formats[expected].what, formats[expected].ext);
    return SZ_EINVAL;
}

/* Whether a Content-Type (parameters and case aside) may come with f: its own
 * MIME type, or a generic binary one. */
static bool type_fits(enum store_format f, const char *ct)
{
    static const char *const generic[] = {"application/octet-stream", "binary/octet-stream"};
    size_t n = strcspn(ct, "; \t");

    if (f == STORE_FMT_IMAGE)
        return type_fits(STORE_FMT_WEBP, ct) || type_fits(STORE_FMT_JPEG, ct) ||
               type_fits(STORE_FMT_PNG, ct);
    if (strlen(formats[f].mime) == n && strncasecmp(ct, formats[f].mime, n) == 0)
        return true;
    for (size_t i = 0; i < sizeof(generic) / sizeof(generic[0]); i++)
        if (strlen(generic[i]) == n && strncasecmp(ct, generic[i], n) == 0)
            return true;
    return false;
}

/* The first bytes for a message: printable ASCII as it is, the rest as \xNN. */
static void show_head(const unsigned char *p, size_t len, char *out, size_t outlen)
{
    size_t o = 0;

    for (size_t i = 0; i < len && i < HEAD_SHOWN && o + 5 < outlen; i++) {
        if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\'' && p[i] != '\\')
            out[o++] = (char)p[i];
        else
            o += (size_t)snprintf(out + o, outlen - o, "\\x%02x", p[i]);
    }
    out[o] = '\0';
}

int store_check_content(enum store_format expected, const char *content_type, const void *head,
                        size_t len, char *err, size_t errlen)
{
    char shown[HEAD_SHOWN * 4 + 1];
    char type[64];
    bool type_ok;

    if (!valid(expected))
        return SZ_EINVAL;
    type_ok = content_type == NULL || content_type[0] == '\0' || type_fits(expected, content_type);
    if (type_ok && sniff_fits(expected, store_sniff(head, len)))
        return 0;
    /* Name what came: its Content-Type when that is what is wrong, else "data". */
    if (!type_ok)
        show_head((const unsigned char *)content_type, strcspn(content_type, ";"), type,
                  sizeof(type));
    else
        snprintf(type, sizeof(type), "data");
    if (len == 0 && type_ok) {
        snprintf(err, errlen, "expected %s, got an empty body", formats[expected].what);
    } else if (len == 0) {
        snprintf(err, errlen, "expected %s, got %s with an empty body", formats[expected].what,
                 type);
    } else {
        show_head(head, len, shown, sizeof(shown));
        snprintf(err, errlen, "expected %s, got %s starting with '%s'", formats[expected].what,
                 type, shown);
    }
    return SZ_EUNSUPPORTED;
}
