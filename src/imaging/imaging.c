/* libvips setup, sniffing, probing and fitting (see imaging.h).
 *
 * Every input goes through the same gate before a pixel is decoded: size in
 * bytes, magic bytes (PNG/JPEG/WEBP only, opened with that format's own
 * loader), then the header's dimensions against IMG_MAX_PIXELS. Only then
 * does vips_thumbnail run, which shrinks on load where it can (JPEG DCT
 * scaling, WEBP scaled decode) and resamples with Lanczos3 (vips_resize's
 * default kernel). Loads are sequential and fail on the first decoder error,
 * so truncation surfaces as an error from the final PNG encode, which is
 * where the pixels are actually pulled through the pipeline. */
#include "fmacros.h"

#include "imaging/imaging.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <pthread.h>
#include <stdlib.h>
#include <vips/vips.h>

#include "imaging/vips_dl.h"

#include "core/err.h"
#include "core/log.h"

/* libvips policy, applied once in img_init:
 *
 * - Operation cache off (vips_cache_set_max(0)): the cache keeps recent
 *   operations and their images alive to speed up repeated identical calls,
 *   which never happen here; it would only hold memory (tens of MB per
 *   cached decode) beyond the job that made it.
 * - One worker thread per pipeline (vips_concurrency_set(1)): we parallelise
 *   across jobs on our pool (SANZARU_IMAGE_JOBS, default one per core), so
 *   per-image threads would only oversubscribe the cores. Measured on this
 *   2-core machine, 2048x2048 PNG -> 1280x720 crop, 1 vs 2 vips threads: one
 *   image ~360 vs ~390 ms, ten at once through the pool ~2.3 vs ~2.2 s, same
 *   CPU time and peak memory; no gain from more threads, because PNG decode
 *   and zlib encode are sequential anyway.
 * - Loaders: untrusted loaders blocked and every loader but PNG, JPEG and
 *   WEBP blocked, so a file that sniffs as one of those can never be routed to
 *   SVG, PDF, TIFF, matrix or other parsers by libvips' own detection.
 * - Tiles of 16 lines instead of 128 (libvips' hidden --vips-tile-height
 *   option). Every line cache in a sequential pipeline (the loader's, the
 *   one thumbnail adds, those of shrink and reduce) keeps four times the
 *   "lines per request" libvips derives from the tile height: 512 full-width
 *   lines at 128, 64 at 16. For an 81 MP PNG that took libvips' tracked memory
 *   from 64 MB to 17 MB; a 2048x2048 fit is no slower. */
#define VIPS_THREADS     1
#define VIPS_TILE_HEIGHT "16"

static bool vips_started;

static void vips_log_handler(const gchar *domain, GLogLevelFlags level, const gchar *message,
                             gpointer user)
{
    (void)domain;
    (void)level;
    (void)user;
    SZ_DEBUG("vips: %s", message);
}

void img_prepare(void)
{
    /* libvips loads every module in $VIPSHOME/lib/vips-modules-X.Y at start
     * (ImageMagick, HEIF, JPEG XL, OpenSlide, Poppler on Debian): they cost
     * ~70 ms and megabytes of RSS, and we block their loaders anyway. PNG,
     * JPEG and WEBP live in libvips itself, so point VIPSHOME at a directory
     * that holds no modules. setenv is not thread-safe: main calls this
     * before any thread starts; libvips reads it later, on a pool thread. */
    setenv("VIPSHOME", "/nonexistent/sanzaru-no-vips-modules", 1);
}

__attribute__((format(printf, 4, 5))) static int fail(int rc, char *errbuf, size_t errlen,
                                                      const char *fmt, ...);

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_status = SZ_EIO;
static char init_error[256] = "libvips is not available";

/* Sets libvips' tile height through its own (hidden) command-line option:
 * the variable behind it is not exported. Before vips_init, like any option. */
static void set_tile_height(void)
{
    char opt[] = "--vips-tile-height=" VIPS_TILE_HEIGHT;
    char prog[] = "sanzaru";
    char *argv[] = {prog, opt, NULL};
    char **pargv = argv;
    int argc = 2;
    GOptionContext *ctx = g_option_context_new(NULL);
    GOptionGroup *group = g_option_group_new("vips", "libvips", "libvips options", NULL, NULL);
    GError *gerr = NULL;

    vips_add_option_entries(group);
    g_option_context_set_main_group(ctx, group); /* ctx owns group now */
    if (!g_option_context_parse(ctx, &argc, &pargv, &gerr)) {
        SZ_WARN("libvips ignored its tile height option: %s", gerr->message);
        g_error_free(gerr);
    }
    g_option_context_free(ctx);
}

static void init_vips(void)
{
    if (img_vips_load(init_error, sizeof(init_error)) != 0)
        return;
    set_tile_height();
    if (vips_init("sanzaru") != 0) {
        snprintf(init_error, sizeof(init_error), "libvips failed to start: %s",
                 vips_error_buffer());
        SZ_ERROR("%s", init_error);
        vips_error_clear();
        return;
    }
    vips_cache_set_max(0);
    vips_cache_set_max_mem(0);
    vips_cache_set_max_files(0);
    vips_concurrency_set(VIPS_THREADS);
    vips_block_untrusted_set(TRUE);
    vips_operation_block_set("VipsForeignLoad", TRUE);
    vips_operation_block_set("VipsForeignLoadPng", FALSE);
    vips_operation_block_set("VipsForeignLoadJpeg", FALSE);
    vips_operation_block_set("VipsForeignLoadWebp", FALSE);
    /* Decoder warnings ("premature end of data", unknown chunks) go to our
     * stderr log, at DEBUG: the user sees the error we return instead. */
    g_log_set_handler(
        "VIPS", G_LOG_LEVEL_WARNING | G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_INFO | G_LOG_LEVEL_DEBUG,
        vips_log_handler, NULL);
    vips_started = true;
    init_status = 0;
}

/* Loads and starts libvips on first use (any thread); later calls are cheap. */
static int ensure_vips(char *errbuf, size_t errlen)
{
    pthread_once(&init_once, init_vips);
    if (init_status != 0)
        return fail(SZ_EIO, errbuf, errlen, "%s", init_error);
    return 0;
}

int img_init(void)
{
    img_prepare();
    return ensure_vips(NULL, 0);
}

void img_shutdown(void)
{
    if (vips_started)
        vips_shutdown();
}

/* ---- cheap helpers ---- */

enum img_format img_sniff(const void *buf, size_t len)
{
    const unsigned char *p = buf;

    if (len >= 8 && memcmp(p, "\x89PNG\r\n\x1a\n", 8) == 0)
        return IMG_FORMAT_PNG;
    if (len >= 3 && p[0] == 0xff && p[1] == 0xd8 && p[2] == 0xff)
        return IMG_FORMAT_JPEG;
    if (len >= 12 && memcmp(p, "RIFF", 4) == 0 && memcmp(p + 8, "WEBP", 4) == 0)
        return IMG_FORMAT_WEBP;
    return IMG_FORMAT_UNKNOWN;
}

enum img_format img_format_from_filename(const char *filename)
{
    const char *dot = filename ? strrchr(filename, '.') : NULL;

    if (dot == NULL || strchr(dot, '/') != NULL)
        return IMG_FORMAT_UNKNOWN;
    if (strcasecmp(dot, ".png") == 0)
        return IMG_FORMAT_PNG;
    if (strcasecmp(dot, ".jpg") == 0 || strcasecmp(dot, ".jpeg") == 0)
        return IMG_FORMAT_JPEG;
    if (strcasecmp(dot, ".webp") == 0)
        return IMG_FORMAT_WEBP;
    return IMG_FORMAT_UNKNOWN;
}

bool img_filename_matches(const char *filename, enum img_format sniffed)
{
    return sniffed != IMG_FORMAT_UNKNOWN && img_format_from_filename(filename) == sniffed;
}

const char *img_format_name(enum img_format format)
{
    switch (format) {
    case IMG_FORMAT_PNG:
        return "png";
    case IMG_FORMAT_JPEG:
        return "jpeg";
    case IMG_FORMAT_WEBP:
        return "webp";
    case IMG_FORMAT_UNKNOWN:
        break;
    }
    return "unknown";
}

const char *img_format_upper_name(enum img_format format)
{
    switch (format) {
    case IMG_FORMAT_PNG:
        return "PNG";
    case IMG_FORMAT_JPEG:
        return "JPEG";
    case IMG_FORMAT_WEBP:
        return "WEBP";
    case IMG_FORMAT_UNKNOWN:
        break;
    }
    return "UNKNOWN";
}

const char *img_format_mime(enum img_format format)
{
    switch (format) {
    case IMG_FORMAT_PNG:
        return "image/png";
    case IMG_FORMAT_JPEG:
        return "image/jpeg";
    case IMG_FORMAT_WEBP:
        return "image/webp";
    case IMG_FORMAT_UNKNOWN:
        break;
    }
    return "application/octet-stream";
}

int img_fit_mode_parse(const char *name, enum img_fit_mode *pmode)
{
    if (name == NULL)
        return SZ_EINVAL;
    if (strcmp(name, "crop") == 0)
        *pmode = IMG_FIT_CROP;
    else if (strcmp(name, "pad") == 0)
        *pmode = IMG_FIT_PAD;
    else if (strcmp(name, "rescale") == 0)
        *pmode = IMG_FIT_RESCALE;
    else
        return SZ_EINVAL;
    return 0;
}

const char *img_fit_mode_name(enum img_fit_mode mode)
{
    switch (mode) {
    case IMG_FIT_CROP:
        return "crop";
    case IMG_FIT_PAD:
        return "pad";
    case IMG_FIT_RESCALE:
        return "rescale";
    }
    return "unknown";
}

/* ---- errors ---- */

__attribute__((format(printf, 4, 5))) static int fail(int rc, char *errbuf, size_t errlen,
                                                      const char *fmt, ...)
{
    va_list ap;

    if (errbuf != NULL && errlen > 0) {
        va_start(ap, fmt);
        vsnprintf(errbuf, errlen, fmt, ap);
        va_end(ap);
    }
    return rc;
}

/* The last line of libvips' error buffer, which the failing operation has
 * just appended to, and clears it. The buffer is process-wide and of fixed
 * size, so each operation clears it when it starts (stale text from earlier
 * work must not fill it or masquerade as this failure's cause). Under
 * concurrency another job's line can still land here, or be cleared away
 * (then a generic phrase is used): that only affects the detail text of a
 * message that is an error either way. */
static void vips_detail(char *out, size_t outlen)
{
    char *all = vips_error_buffer_copy();
    const char *line = "";
    size_t n = 0;

    if (all != NULL) {
        size_t len = strlen(all);
        while (len > 0 && (all[len - 1] == '\n' || all[len - 1] == ' '))
            all[--len] = '\0';
        line = strrchr(all, '\n');
        line = line != NULL ? line + 1 : all;
        n = strlen(line);
    }
    if (n == 0) {
        line = "unreadable image data";
        n = strlen(line);
    }
    if (n >= outlen)
        n = outlen - 1;
    memcpy(out, line, n);
    out[n] = '\0';
    g_free(all);
}

static int fail_vips(int rc, char *errbuf, size_t errlen, const char *what)
{
    char detail[160];

    vips_detail(detail, sizeof detail);
    return fail(rc, errbuf, errlen, "%s: %s", what, detail);
}

/* ---- loading ---- */

/* An encoded image: a memory buffer, or a regular file (fd >= 0). */
struct input {
    const void *buf;
    size_t len;
    int fd;
};

/* libvips' buffer loaders take a non-const pointer but only read. */
static void *unconst(const void *p)
{
    return (void *)(uintptr_t)p;
}

/* Opens the image lazily (header only) with the loader of fmt. A new source
 * per call: each open rewinds and reads from the start of the file. */
static VipsImage *open_header(const struct input *in, enum img_format fmt)
{
    VipsImage *img = NULL;
    VipsSource *src = NULL;
    int rc = -1;

    if (in->fd >= 0) {
        src = vips_source_new_from_descriptor(in->fd);
        if (src == NULL)
            return NULL;
    }
#define LOAD_OPTS "access", VIPS_ACCESS_SEQUENTIAL, "fail_on", VIPS_FAIL_ON_ERROR, NULL
    switch (fmt) {
    case IMG_FORMAT_PNG:
        rc = src ? vips_pngload_source(src, &img, LOAD_OPTS)
                 : vips_pngload_buffer(unconst(in->buf), in->len, &img, LOAD_OPTS);
        break;
    case IMG_FORMAT_JPEG:
        rc = src ? vips_jpegload_source(src, &img, LOAD_OPTS)
                 : vips_jpegload_buffer(unconst(in->buf), in->len, &img, LOAD_OPTS);
        break;
    case IMG_FORMAT_WEBP:
        rc = src ? vips_webpload_source(src, &img, LOAD_OPTS)
                 : vips_webpload_buffer(unconst(in->buf), in->len, &img, LOAD_OPTS);
        break;
    case IMG_FORMAT_UNKNOWN:
        break;
    }
#undef LOAD_OPTS
    if (src != NULL)
        g_object_unref(src);
    return rc == 0 ? img : NULL;
}

/* The gate: byte size, magic bytes, header, pixel count. Fills *pinfo. */
/* Bytes a decoder must hold at once to decode img whole before the first
 * line comes out: libvips decodes an interlaced (Adam7) PNG into one memory
 * image, and libjpeg keeps every DCT coefficient (2 bytes each, one per pixel
 * per component at its sampling) of a progressive JPEG until its last scan.
 * 0 for images that decode line by line. */
static double whole_image_bytes(VipsImage *img, enum img_format fmt)
{
    double pixels = (double)img->Xsize * img->Ysize;
    int interlaced = 0;
    const char *sub = NULL;
    double chroma = 1.0; /* chroma samples per pixel, per chroma component */

    if (vips_image_get_typeof(img, "interlaced") == 0 ||
        vips_image_get_int(img, "interlaced", &interlaced) != 0 || !interlaced)
        return 0;
    if (fmt == IMG_FORMAT_PNG)
        return pixels * img->Bands * (img->BandFmt == VIPS_FORMAT_USHORT ? 2.0 : 1.0);
    if (fmt != IMG_FORMAT_JPEG)
        return 0;
    if (vips_image_get_typeof(img, "jpeg-chroma-subsample") != 0 &&
        vips_image_get_string(img, "jpeg-chroma-subsample", &sub) == 0 && sub != NULL) {
        if (strncmp(sub, "4:2:0", 5) == 0)
            chroma = 0.25;
        else if (strncmp(sub, "4:2:2", 5) == 0)
            chroma = 0.5;
    }
    return 2.0 * pixels * (1.0 + (img->Bands - 1) * (img->Bands >= 3 ? chroma : 1.0));
}

static int check_input(const struct input *in, struct img_info *pinfo, double *pwhole, char *errbuf,
                       size_t errlen)
{
    unsigned char magic[16];
    size_t nmagic;
    enum img_format fmt;
    VipsImage *img;
    long long pixels;
    size_t size = in->len;

    if (in->fd >= 0) {
        struct stat st;
        ssize_t n;
        if (fstat(in->fd, &st) != 0)
            return fail(SZ_EIO, errbuf, errlen, "Cannot read image: %s", strerror(errno));
        if (!S_ISREG(st.st_mode))
            return fail(SZ_EINVAL, errbuf, errlen, "Image is not a regular file");
        size = (size_t)st.st_size;
        if (size <= IMG_MAX_BYTES) {
            do {
                n = pread(in->fd, magic, sizeof magic, 0);
            } while (n < 0 && errno == EINTR);
            if (n < 0)
                return fail(SZ_EIO, errbuf, errlen, "Cannot read image: %s", strerror(errno));
            nmagic = (size_t)n;
        } else {
            nmagic = 0;
        }
    } else {
        nmagic = in->len < sizeof magic ? in->len : sizeof magic;
        if (nmagic > 0)
            memcpy(magic, in->buf, nmagic);
    }

    if (size > IMG_MAX_BYTES)
        return fail(SZ_ETOOBIG, errbuf, errlen, "Image file too large: %.1f MB (limit %u MB)",
                    (double)size / (1024.0 * 1024.0), IMG_MAX_BYTES / (1024u * 1024u));
    if (size == 0)
        return fail(SZ_ECORRUPT, errbuf, errlen, "Image file is empty");
    fmt = img_sniff(magic, nmagic);
    if (fmt == IMG_FORMAT_UNKNOWN)
        return fail(SZ_EUNSUPPORTED, errbuf, errlen,
                    "Unsupported image content: not a PNG, JPEG or WEBP image");

    img = open_header(in, fmt);
    if (img == NULL)
        return fail_vips(SZ_ECORRUPT, errbuf, errlen, "Corrupt or truncated image");
    pinfo->width = vips_image_get_width(img);
    pinfo->height = vips_image_get_height(img);
    pinfo->format = fmt;
    pinfo->has_alpha = vips_image_hasalpha(img) != 0;
    *pwhole = whole_image_bytes(img, fmt);
    g_object_unref(img);

    pixels = (long long)pinfo->width * pinfo->height;
    if (pixels > IMG_MAX_PIXELS)
        return fail(SZ_ETOOBIG, errbuf, errlen,
                    "Image too large: %dx%d is %.1f megapixels (limit %lld megapixels)",
                    pinfo->width, pinfo->height, (double)pixels / 1e6, IMG_MAX_PIXELS / 1000000);
    if (pinfo->width < 1 || pinfo->height < 1)
        return fail(SZ_ECORRUPT, errbuf, errlen, "Corrupt image: empty dimensions");
    return 0;
}

int img_probe(const void *buf, size_t len, struct img_info *pinfo, char *errbuf, size_t errlen)
{
    struct input in = {.buf = buf, .len = len, .fd = -1};
    struct img_info info = {0};
    double whole = 0;
    int rc;

    if (buf == NULL && len > 0)
        return fail(SZ_EINVAL, errbuf, errlen, "No image data");
    if ((rc = ensure_vips(errbuf, errlen)) != 0)
        return rc;
    vips_error_clear();
    rc = check_input(&in, &info, &whole, errbuf, errlen);
    if (rc == 0)
        *pinfo = info;
    return rc;
}

/* ---- fitting ---- */

/* Replaces *pimg by next (taking ownership of next) after a successful step. */
static void step(VipsImage **pimg, VipsImage *next)
{
    g_object_unref(*pimg);
    *pimg = next;
}

/* Crop through thumbnail's own "cover then crop" materialises the cover
 * image in memory, which for an extreme aspect ratio is unbounded: a 3000x1
 * PNG of a few hundred bytes covering 720x1280 would be 3.8 million pixels
 * wide. Up to this many times the target area we let thumbnail do it (and
 * keep shrink-on-load); beyond, we crop the source first. 4x covers every
 * photo-like aspect against every video size (16:9 to 9:16 is 3.2x). */
#define CROP_COVER_MAX_RATIO 4.0

static bool crop_needs_precut(const struct img_info *info, int tw, int th)
{
    double w = info->width, h = info->height;
    double s = fmax(tw / w, th / h);

    return w * s * h * s > CROP_COVER_MAX_RATIO * tw * th;
}

/* An extract_area for sequential images that reaches its area by reading
 * the lines above it in steps of DRAIN_STEP. libvips' own extract asks the
 * loader's sequential cache for every skipped line in one request, and the
 * cache grows to hold all of them: cutting the middle out of a 3000x32768
 * PNG cached 138 MB of lines nobody needed. */
#define DRAIN_STEP 16

struct drain {
    pthread_mutex_t lock; /* regions of one image may be asked for on two threads */
    VipsImage *in;        /* a reference: regions on it live as long as we do */
    int left, top;        /* of the area, in the input */
    int pos;              /* first input line not read yet */
};

static int drain_free(void *data, void *area)
{
    struct drain *d = data;

    (void)area;
    pthread_mutex_destroy(&d->lock);
    g_object_unref(d->in);
    free(d);
    return 0;
}

static int drain_gen(VipsRegion *out, void *seq, void *a, void *b, gboolean *stop)
{
    VipsRegion *ir = seq;
    struct drain *d = b;
    VipsRect need = {out->valid.left + d->left, out->valid.top + d->top, out->valid.width,
                     out->valid.height};
    int rc = 0;

    (void)a;
    (void)stop;
    pthread_mutex_lock(&d->lock);
    while (rc == 0 && d->pos < need.top) {
        VipsRect line = {0, d->pos, 1,
                         need.top - d->pos < DRAIN_STEP ? need.top - d->pos : DRAIN_STEP};
        rc = vips_region_prepare(ir, &line);
        d->pos += line.height;
    }
    if (rc == 0)
        rc = vips_region_prepare(ir, &need);
    if (rc == 0)
        rc = vips_region_region(out, ir, &out->valid, need.left, need.top);
    if (rc == 0 && need.top + need.height > d->pos)
        d->pos = need.top + need.height;
    pthread_mutex_unlock(&d->lock);
    return rc;
}

/* The area (left, top, w, h) of in, as a new image in *pout. Returns 0 or -1. */
static int drain_area(VipsImage *in, int left, int top, int w, int h, VipsImage **pout)
{
    VipsImage *out = vips_image_new();
    struct drain *d = NULL;

    /* Copies in's header and metadata into out, replacing out's. */
    if (vips_image_pipelinev(out, VIPS_DEMAND_STYLE_THINSTRIP, in, NULL) != 0)
        goto fail;
    out->Xsize = w;
    out->Ysize = h;
    d = calloc(1, sizeof *d);
    if (d == NULL)
        goto fail;
    pthread_mutex_init(&d->lock, NULL);
    d->in = in;
    g_object_ref(in);
    d->left = left;
    d->top = top;
    /* out's metadata owns d from here: it is freed with the last image
     * that carries it (metadata travels down the pipeline). */
    vips_image_set_area(out, "sanzaru-drain", drain_free, d);
    if (vips_image_generate(out, vips_start_one, drain_gen, vips_stop_one, in, d) != 0)
        goto fail;
    *pout = out;
    return 0;
fail:
    g_object_unref(out);
    return -1;
}

/* Crop for extreme aspect ratios: cut the centred region of the target's
 * aspect out of the (lazily decoded) source, then resize it to exactly
 * tw x th. EXIF orientation is honoured: the region is chosen in displayed
 * orientation, and thumbnail rotates the result. */
static int crop_precut(const struct input *in, const struct img_info *info, int tw, int th,
                       VipsImage **pout)
{
    VipsImage *img = open_header(in, info->format);
    VipsImage *area = NULL;
    bool swap;
    double W, H, cw, ch;
    int icw, ich;
    int rc = -1;

    if (img == NULL)
        return -1;
    swap = vips_image_get_orientation_swap(img) != 0;
    W = swap ? info->height : info->width;
    H = swap ? info->width : info->height;
    if (W * th > H * tw) {
        ch = H;
        cw = H * tw / th;
    } else {
        cw = W;
        ch = W * th / tw;
    }
    icw = (int)fmin(fmax(round(cw), 1.0), W);
    ich = (int)fmin(fmax(round(ch), 1.0), H);
    if (swap) {
        int t = icw;
        icw = ich;
        ich = t;
    }
    if (drain_area(img, (info->width - icw) / 2, (info->height - ich) / 2, icw, ich, &area) != 0)
        goto out;
    rc = vips_thumbnail_image(area, pout, tw, "height", th, "size", VIPS_SIZE_FORCE, NULL);
out:
    if (area != NULL)
        g_object_unref(area);
    g_object_unref(img);
    return rc;
}

/* The integer box shrink libvips' reduce would take first on an axis going
 * from in to out pixels: it leaves at least a 2x Lanczos3 reduction (reduce's
 * "gap" of 2.0), so the result matches what vips_resize computes. */
static int box_shrink(int in, double out)
{
    double f = floor(in / fmax(out, 1.0) / 2.0);

    return f >= 2.0 ? (int)fmin(f, (double)in) : 1;
}

/* Box-shrinks a sequentially loaded image horizontally, then vertically, by
 * the integer part of the scale thumbnail would use for mode. thumbnail (and
 * vips_resize) reduce vertically first, so every stage between the loader and
 * the horizontal reduction holds full-width lines: for an 81 MP PNG that is
 * hundreds of lines of 9000 pixels (45 MB of line buffers), for a wide one
 * more. Shrinking each line as it is decoded keeps every buffer after the
 * loader's own line cache narrow. *pimg is replaced by the result (the
 * caller releases whatever *pimg holds, on failure too); the residual
 * Lanczos3 reduction, the crop or pad, and EXIF rotation are left to
 * vips_thumbnail_image. Returns 0 or -1 (vips error set). */
static int preshrink(VipsImage **pimg, int tw, int th, enum img_fit_mode mode)
{
    VipsImage *next = NULL;
    bool swap = vips_image_get_orientation_swap(*pimg) != 0;
    double W = swap ? (*pimg)->Ysize : (*pimg)->Xsize; /* as displayed */
    double H = swap ? (*pimg)->Xsize : (*pimg)->Ysize;
    double sx = tw / W, sy = th / H;
    int hshrink, vshrink;

    if (mode == IMG_FIT_CROP)
        sx = sy = fmax(sx, sy);
    else if (mode == IMG_FIT_PAD)
        sx = sy = fmin(sx, sy);
    hshrink = box_shrink((*pimg)->Xsize, swap ? H * sy : W * sx);
    vshrink = box_shrink((*pimg)->Ysize, swap ? W * sx : H * sy);
    if (hshrink > 1) {
        if (vips_shrinkh(*pimg, &next, hshrink, "ceil", TRUE, NULL) != 0)
            return -1;
        step(pimg, next);
    }
    if (vshrink > 1) {
        if (vips_shrinkv(*pimg, &next, vshrink, "ceil", TRUE, NULL) != 0)
            return -1;
        step(pimg, next);
    }
    return 0;
}

/* A PNG cannot shrink on load, so it is opened sequentially and pre-shrunk
 * line by line (preshrink) before thumbnail finishes the job. */
static int thumbnail_png(const struct input *in, int tw, int th, enum img_fit_mode mode,
                         VipsImage **pout)
{
    VipsSize size = mode == IMG_FIT_RESCALE ? VIPS_SIZE_FORCE : VIPS_SIZE_BOTH;
    VipsInteresting crop = mode == IMG_FIT_CROP ? VIPS_INTERESTING_CENTRE : VIPS_INTERESTING_NONE;
    VipsImage *img = open_header(in, IMG_FORMAT_PNG);
    int rc = -1;

    if (img == NULL)
        return -1;
    if (preshrink(&img, tw, th, mode) != 0)
        goto out;
    rc = vips_thumbnail_image(img, pout, tw, "height", th, "size", size, "crop", crop, NULL);
out:
    g_object_unref(img);
    return rc;
}

static int thumbnail(const struct input *in, const struct img_info *info, int tw, int th,
                     enum img_fit_mode mode, VipsImage **pout)
{
    VipsSource *src = NULL;
    VipsSize size = mode == IMG_FIT_RESCALE ? VIPS_SIZE_FORCE : VIPS_SIZE_BOTH;
    VipsInteresting crop = mode == IMG_FIT_CROP ? VIPS_INTERESTING_CENTRE : VIPS_INTERESTING_NONE;
    int rc;

    if (mode == IMG_FIT_CROP && crop_needs_precut(info, tw, th))
        return crop_precut(in, info, tw, th, pout);
    if (info->format == IMG_FORMAT_PNG)
        return thumbnail_png(in, tw, th, mode, pout);
        /* JPEG and WEBP shrink on load (DCT scaling, libwebp's scaled decode).
         * libvips 8.14 forgets thumbnail's own "fail_on" when it opens a buffer
         * or a source (only files get it), and a truncated JPEG then "decodes"
         * to grey. The loader option string does reach the loader. */
#define THUMB_OPTS                                                                                 \
    "height", th, "size", size, "crop", crop, "fail_on", VIPS_FAIL_ON_ERROR, "option_string",      \
        "fail_on=error", NULL
    if (in->fd >= 0) {
        src = vips_source_new_from_descriptor(in->fd);
        if (src == NULL)
            return -1;
        rc = vips_thumbnail_source(src, pout, tw, THUMB_OPTS);
        g_object_unref(src);
    } else {
        rc = vips_thumbnail_buffer(unconst(in->buf), in->len, pout, tw, THUMB_OPTS);
    }
#undef THUMB_OPTS
    return rc;
}

/* Turns whatever thumbnail produced into 3-band 8-bit sRGB of exactly
 * tw x th. Returns 0 or -1 (vips error set). */
static int normalise(VipsImage **pimg, int tw, int th)
{
    VipsImage *next = NULL;

    if (vips_image_hasalpha(*pimg)) {
        /* Flatten onto black (flatten's default background is 0). */
        if (vips_flatten(*pimg, &next, NULL) != 0)
            return -1;
        step(pimg, next);
    }
    if ((*pimg)->Type != VIPS_INTERPRETATION_sRGB || (*pimg)->BandFmt != VIPS_FORMAT_UCHAR) {
        /* Greyscale, 16-bit, CMYK (via its profile or libvips' built-in
         * one) and flatten's float output all land in 8-bit sRGB here. */
        if (vips_colourspace(*pimg, &next, VIPS_INTERPRETATION_sRGB, NULL) != 0)
            return -1;
        step(pimg, next);
    }
    if ((*pimg)->BandFmt != VIPS_FORMAT_UCHAR) {
        if (vips_cast_uchar(*pimg, &next, NULL) != 0)
            return -1;
        step(pimg, next);
    }
    if ((*pimg)->Bands > 3) {
        if (vips_extract_band(*pimg, &next, 0, "n", 3, NULL) != 0)
            return -1;
        step(pimg, next);
    } else if ((*pimg)->Bands < 3) {
        VipsImage *three[3] = {*pimg, *pimg, *pimg};
        if (vips_bandjoin(three, &next, 3, NULL) != 0)
            return -1;
        step(pimg, next);
    }
    if ((*pimg)->Xsize != tw || (*pimg)->Ysize != th) {
        /* pad's letterbox; for crop and rescale a guard against rounding in
         * thumbnail (a centred crop or a black edge of a pixel). */
        if (vips_gravity(*pimg, &next, VIPS_COMPASS_DIRECTION_CENTRE, tw, th, "extend",
                         VIPS_EXTEND_BLACK, NULL) != 0)
            return -1;
        step(pimg, next);
    }
    return 0;
}

/* The limits on decoding memory (imaging.h): line buffers grow with the
 * width, and some images can only be decoded whole. */
static int check_decode_memory(const struct img_info *info, double whole, char *errbuf,
                               size_t errlen)
{
    const char *kind = info->format == IMG_FORMAT_PNG ? "interlaced PNG" : "progressive JPEG";
    const char *instead =
        info->format == IMG_FORMAT_PNG ? "a non-interlaced PNG" : "a baseline JPEG";

    if (info->width > IMG_MAX_WIDTH)
        return fail(SZ_ETOOBIG, errbuf, errlen,
                    "Image too wide: %d pixels (limit %d); crop or scale it down first",
                    info->width, IMG_MAX_WIDTH);
    if (whole > (double)IMG_MAX_DECODE_BYTES)
        return fail(SZ_ETOOBIG, errbuf, errlen,
                    "Image too large for its encoding: a %dx%d %s must be decoded whole (%.0f MB, "
                    "limit %u MB); save it as %s",
                    info->width, info->height, kind, whole / (1024.0 * 1024.0),
                    IMG_MAX_DECODE_BYTES / (1024u * 1024u), instead);
    return 0;
}

static int fit(const struct input *in, int tw, int th, enum img_fit_mode mode, uint8_t **ppng,
               size_t *ppng_len, struct img_info *porig, char *errbuf, size_t errlen)
{
    struct img_info info = {0};
    double whole = 0;
    VipsImage *img = NULL;
    void *png = NULL;
    size_t png_len = 0;
    int rc;

    *ppng = NULL;
    *ppng_len = 0;
    if (tw < 1 || th < 1 || tw > IMG_MAX_SIDE || th > IMG_MAX_SIDE) {
        rc = fail(SZ_EINVAL, errbuf, errlen, "Invalid target size %dx%d", tw, th);
        goto out;
    }
    if ((rc = ensure_vips(errbuf, errlen)) != 0) {
        goto out;
    }
    if (mode != IMG_FIT_CROP && mode != IMG_FIT_PAD && mode != IMG_FIT_RESCALE) {
        rc = fail(SZ_EINVAL, errbuf, errlen, "Invalid resize mode");
        goto out;
    }
    vips_error_clear();
    rc = check_input(in, &info, &whole, errbuf, errlen);
    if (rc < 0)
        goto out;
    if ((rc = check_decode_memory(&info, whole, errbuf, errlen)) != 0)
        goto out;
    if (thumbnail(in, &info, tw, th, mode, &img) != 0) {
        rc = fail_vips(SZ_ECORRUPT, errbuf, errlen, "Corrupt or truncated image");
        goto out;
    }
    if (normalise(&img, tw, th) != 0) {
        rc = fail_vips(SZ_ECORRUPT, errbuf, errlen, "Cannot convert image");
        goto out;
    }
    /* Decoding happens here, as the encoder pulls pixels. Adaptive row
     * filtering with zlib level 3: measured on 1280x720 photo-like output,
     * it costs less CPU than libvips' default (no filter, level 6) and the
     * file is 35-40% smaller (about Pillow's size at its level 6). */
    if (vips_pngsave_buffer(img, &png, &png_len, "compression", 3, "filter",
                            VIPS_FOREIGN_PNG_FILTER_ALL, "strip", TRUE, NULL) != 0) {
        rc = fail_vips(SZ_ECORRUPT, errbuf, errlen, "Corrupt or truncated image");
        goto out;
    }
    *ppng = png;
    *ppng_len = png_len;
    if (porig != NULL)
        *porig = info;
    rc = 0;
out:
    if (img != NULL)
        g_object_unref(img);
    return rc;
}

int img_fit_buffer(const void *buf, size_t len, int target_w, int target_h, enum img_fit_mode mode,
                   uint8_t **ppng, size_t *ppng_len, struct img_info *porig, char *errbuf,
                   size_t errlen)
{
    struct input in = {.buf = buf, .len = len, .fd = -1};

    if (buf == NULL && len > 0) {
        *ppng = NULL;
        *ppng_len = 0;
        return fail(SZ_EINVAL, errbuf, errlen, "No image data");
    }
    return fit(&in, target_w, target_h, mode, ppng, ppng_len, porig, errbuf, errlen);
}

int img_fit_fd(int fd, int target_w, int target_h, enum img_fit_mode mode, uint8_t **ppng,
               size_t *ppng_len, struct img_info *porig, char *errbuf, size_t errlen)
{
    struct input in = {.buf = NULL, .len = 0, .fd = fd};

    if (fd < 0) {
        *ppng = NULL;
        *ppng_len = 0;
        return fail(SZ_EINVAL, errbuf, errlen, "No image file");
    }
    return fit(&in, target_w, target_h, mode, ppng, ppng_len, porig, errbuf, errlen);
}
