/* Unit tests for imaging (imaging/imaging.h): sniffing, probing, the three
 * fit modes on wide, tall, square, tiny, needle and large inputs for every
 * video size, colour handling (alpha, 16-bit, greyscale, CMYK, WEBP), the
 * limits against decompression bombs, corrupt and truncated inputs, the fd
 * variant, and the async jobs on the pool.
 *
 * Every input image is generated here with libvips, so no binary fixtures
 * are committed. Outputs are verified by parsing the PNG header bytes and by
 * decoding them again with libvips. */
#include "fmacros.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include <cmocka.h>
#include <uv.h>
#include <vips/vips.h>

#include "core/base64.h"
#include "core/err.h"
#include "imaging/imaging.h"

/* ---- generating inputs ---- */

struct blob {
    uint8_t *data;
    size_t len;
};

static void blob_free(struct blob *b)
{
    g_free(b->data);
    b->data = NULL;
    b->len = 0;
}

/* Wraps pixel memory as an image (copied), with an interpretation. */
static VipsImage *from_memory(const void *px, int w, int h, int bands, VipsBandFormat fmt,
                              VipsInterpretation type)
{
    size_t bytes = (size_t)w * (size_t)h * (size_t)bands * (fmt == VIPS_FORMAT_USHORT ? 2u : 1u);
    VipsImage *img = vips_image_new_from_memory_copy(px, bytes, w, h, bands, fmt);
    VipsImage *out = NULL;

    assert_non_null(img);
    assert_int_equal(vips_copy(img, &out, "interpretation", type, NULL), 0);
    g_object_unref(img);
    return out;
}

/* A w x h RGB gradient: red grows left to right, green top to bottom. */
static VipsImage *gradient(int w, int h)
{
    uint8_t *px = malloc((size_t)w * (size_t)h * 3);
    VipsImage *img;

    assert_non_null(px);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *p = px + ((size_t)y * (size_t)w + (size_t)x) * 3;
            p[0] = (uint8_t)(w > 1 ? x * 255 / (w - 1) : 200);
            p[1] = (uint8_t)(h > 1 ? y * 255 / (h - 1) : 100);
            p[2] = 128;
        }
    img = from_memory(px, w, h, 3, VIPS_FORMAT_UCHAR, VIPS_INTERPRETATION_sRGB);
    free(px);
    return img;
}

/* Left half colour a, right half colour b (RGB). */
static VipsImage *halves(int w, int h, const uint8_t a[3], const uint8_t b[3])
{
    uint8_t *px = malloc((size_t)w * (size_t)h * 3);
    VipsImage *img;

    assert_non_null(px);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            memcpy(px + ((size_t)y * (size_t)w + (size_t)x) * 3, x < w / 2 ? a : b, 3);
    img = from_memory(px, w, h, 3, VIPS_FORMAT_UCHAR, VIPS_INTERPRETATION_sRGB);
    free(px);
    return img;
}

/* A large image without holding its pixels: coordinates mod 256, plus a
 * constant blue band, all computed lazily while the encoder pulls rows. */
static VipsImage *lazy_pattern(int w, int h)
{
    VipsImage *xyz = NULL, *mod = NULL, *three = NULL, *u8 = NULL, *out = NULL;

    assert_int_equal(vips_xyz(&xyz, w, h, NULL), 0);
    assert_int_equal(vips_remainder_const1(xyz, &mod, 256, NULL), 0);
    assert_int_equal(vips_bandjoin_const1(mod, &three, 128, NULL), 0);
    assert_int_equal(vips_cast_uchar(three, &u8, NULL), 0);
    assert_int_equal(vips_copy(u8, &out, "interpretation", VIPS_INTERPRETATION_sRGB, NULL), 0);
    g_object_unref(xyz);
    g_object_unref(mod);
    g_object_unref(three);
    g_object_unref(u8);
    return out;
}

/* Encodes img (consumed) with a saver chosen by suffix (".png", ".jpg[Q=90]",
 * ".webp[lossless]"). */
static struct blob encode(VipsImage *img, const char *suffix)
{
    struct blob b = {0};
    void *buf = NULL;

    assert_int_equal(vips_image_write_to_buffer(img, suffix, &buf, &b.len, NULL), 0);
    b.data = buf;
    g_object_unref(img);
    return b;
}

/* ---- checking outputs ---- */

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Asserts png is an 8-bit RGB PNG of exactly w x h, both by its IHDR bytes
 * and by decoding it fully; returns the decoded image (caller unrefs). */
static VipsImage *check_png(const uint8_t *png, size_t len, int w, int h)
{
    VipsImage *img = NULL;

    assert_non_null(png);
    assert_true(len > 33);
    assert_memory_equal(png, "\x89PNG\r\n\x1a\n", 8);
    assert_memory_equal(png + 12, "IHDR", 4);
    assert_int_equal(be32(png + 16), (uint32_t)w);
    assert_int_equal(be32(png + 20), (uint32_t)h);
    assert_int_equal(png[24], 8); /* bit depth */
    assert_int_equal(png[25], 2); /* colour type: truecolour, no alpha */

    assert_int_equal(vips_pngload_buffer((void *)(uintptr_t)png, len, &img, NULL), 0);
    assert_int_equal(img->Xsize, w);
    assert_int_equal(img->Ysize, h);
    assert_int_equal(img->Bands, 3);
    assert_int_equal(img->BandFmt, VIPS_FORMAT_UCHAR);
    assert_int_equal(img->Type, VIPS_INTERPRETATION_sRGB);
    /* Decode every pixel into memory (a broken stream fails here), so
     * pixel() can read them directly. */
    assert_int_equal(vips_image_wio_input(img), 0);
    assert_non_null(img->data);
    return img;
}

/* One pixel of an image check_png returned (3 bands, uchar, in memory). */
static void pixel(VipsImage *img, int x, int y, double rgb[3])
{
    const uint8_t *p;

    assert_true(x >= 0 && x < img->Xsize && y >= 0 && y < img->Ysize);
    p = (const uint8_t *)img->data + (size_t)y * (size_t)img->Xsize * 3 + (size_t)x * 3;
    for (int i = 0; i < 3; i++)
        rgb[i] = p[i];
}

static bool near(const double rgb[3], double r, double g, double b, double tol)
{
    return rgb[0] > r - tol && rgb[0] < r + tol && rgb[1] > g - tol && rgb[1] < g + tol &&
           rgb[2] > b - tol && rgb[2] < b + tol;
}

/* Fits in, checks the output format and size, returns the decoded output. */
static VipsImage *fit_ok(const struct blob *in, int w, int h, enum img_fit_mode mode,
                         struct img_info *porig)
{
    uint8_t *png = NULL;
    size_t len = 0;
    char err[IMG_ERRMSG_LEN] = "";
    VipsImage *out;
    int rc = img_fit_buffer(in->data, in->len, w, h, mode, &png, &len, porig, err, sizeof err);

    if (rc != 0)
        fail_msg("fit %dx%d %s: %s (%s)", w, h, img_fit_mode_name(mode), sz_errname(rc), err);
    out = check_png(png, len, w, h);
    free(png);
    return out;
}

static int fit_err(const void *buf, size_t len, char *err, size_t errlen)
{
    uint8_t *png = (uint8_t *)1;
    size_t plen = 99;
    int rc = img_fit_buffer(buf, len, 1280, 720, IMG_FIT_CROP, &png, &plen, NULL, err, errlen);

    if (rc == 0)
        fail_msg("fit of %zu bytes succeeded, expected an error", len);
    assert_null(png);
    assert_int_equal(plen, 0);
    return rc;
}

static const int video_sizes[][2] = {{720, 1280}, {1280, 720}, {1024, 1792}, {1792, 1024}};
static const enum img_fit_mode modes[] = {IMG_FIT_CROP, IMG_FIT_PAD, IMG_FIT_RESCALE};

/* ---- sniffing and names ---- */

static void test_sniff(void **state)
{
    (void)state;
    assert_int_equal(img_sniff("\x89PNG\r\n\x1a\n", 8), IMG_FORMAT_PNG);
    assert_int_equal(img_sniff("\x89PNG\r\n\x1a", 7), IMG_FORMAT_UNKNOWN);
    assert_int_equal(img_sniff("\x89PNG\r\n\x1b\n", 8), IMG_FORMAT_UNKNOWN);
    assert_int_equal(img_sniff("\xff\xd8\xff\xe0", 4), IMG_FORMAT_JPEG);
    assert_int_equal(img_sniff("\xff\xd8\xff", 3), IMG_FORMAT_JPEG);
    assert_int_equal(img_sniff("\xff\xd8", 2), IMG_FORMAT_UNKNOWN);
    assert_int_equal(img_sniff("RIFF\x10\0\0\0WEBPVP8 ", 16), IMG_FORMAT_WEBP);
    assert_int_equal(img_sniff("RIFF\x10\0\0\0WAVEfmt ", 16), IMG_FORMAT_UNKNOWN);
    assert_int_equal(img_sniff("RIFF\x10\0\0\0WEB", 11), IMG_FORMAT_UNKNOWN);
    assert_int_equal(img_sniff("GIF89a", 6), IMG_FORMAT_UNKNOWN);
    assert_int_equal(img_sniff("<svg xmlns=", 11), IMG_FORMAT_UNKNOWN);
    assert_int_equal(img_sniff("", 0), IMG_FORMAT_UNKNOWN);
    assert_int_equal(img_sniff(NULL, 0), IMG_FORMAT_UNKNOWN);

    assert_string_equal(img_format_name(IMG_FORMAT_PNG), "png");
    assert_string_equal(img_format_name(IMG_FORMAT_JPEG), "jpeg");
    assert_string_equal(img_format_name(IMG_FORMAT_WEBP), "webp");
    assert_string_equal(img_format_name(IMG_FORMAT_UNKNOWN), "unknown");
    assert_string_equal(img_format_upper_name(IMG_FORMAT_JPEG), "JPEG");
    assert_string_equal(img_format_mime(IMG_FORMAT_PNG), "image/png");
    assert_string_equal(img_format_mime(IMG_FORMAT_JPEG), "image/jpeg");
    assert_string_equal(img_format_mime(IMG_FORMAT_WEBP), "image/webp");
}

static void test_filename_extension(void **state)
{
    (void)state;
    assert_int_equal(img_format_from_filename("a.png"), IMG_FORMAT_PNG);
    assert_int_equal(img_format_from_filename("a.PNG"), IMG_FORMAT_PNG);
    assert_int_equal(img_format_from_filename("a.b.JpEg"), IMG_FORMAT_JPEG);
    assert_int_equal(img_format_from_filename("a.jpg"), IMG_FORMAT_JPEG);
    assert_int_equal(img_format_from_filename("a.webp"), IMG_FORMAT_WEBP);
    assert_int_equal(img_format_from_filename("a.gif"), IMG_FORMAT_UNKNOWN);
    assert_int_equal(img_format_from_filename("png"), IMG_FORMAT_UNKNOWN);
    assert_int_equal(img_format_from_filename("a.png.txt"), IMG_FORMAT_UNKNOWN);
    assert_int_equal(img_format_from_filename("dir.png/file"), IMG_FORMAT_UNKNOWN);
    assert_int_equal(img_format_from_filename(NULL), IMG_FORMAT_UNKNOWN);

    assert_true(img_filename_matches("x.jpg", IMG_FORMAT_JPEG));
    assert_true(img_filename_matches("x.JPEG", IMG_FORMAT_JPEG));
    assert_true(img_filename_matches("x.Png", IMG_FORMAT_PNG));
    assert_false(img_filename_matches("x.jpg", IMG_FORMAT_PNG));
    assert_false(img_filename_matches("x.png", IMG_FORMAT_WEBP));
    assert_false(img_filename_matches("x.gif", IMG_FORMAT_UNKNOWN));
    assert_false(img_filename_matches("x", IMG_FORMAT_UNKNOWN));
}

static void test_mode_names(void **state)
{
    enum img_fit_mode m = IMG_FIT_RESCALE;
    (void)state;
    assert_int_equal(img_fit_mode_parse("crop", &m), 0);
    assert_int_equal(m, IMG_FIT_CROP);
    assert_int_equal(img_fit_mode_parse("pad", &m), 0);
    assert_int_equal(m, IMG_FIT_PAD);
    assert_int_equal(img_fit_mode_parse("rescale", &m), 0);
    assert_int_equal(m, IMG_FIT_RESCALE);
    assert_int_equal(img_fit_mode_parse("Crop", &m), SZ_EINVAL);
    assert_int_equal(img_fit_mode_parse("stretch", &m), SZ_EINVAL);
    assert_int_equal(img_fit_mode_parse(NULL, &m), SZ_EINVAL);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(img_fit_mode_parse(img_fit_mode_name(modes[i]), &m), 0);
        assert_int_equal(m, modes[i]);
    }
}

/* ---- the size matrix ---- */

static void fit_matrix(const struct blob *in, int ow, int oh, enum img_format fmt)
{
    for (size_t s = 0; s < 4; s++)
        for (size_t m = 0; m < 3; m++) {
            struct img_info orig = {0};
            VipsImage *out = fit_ok(in, video_sizes[s][0], video_sizes[s][1], modes[m], &orig);
            assert_int_equal(orig.width, ow);
            assert_int_equal(orig.height, oh);
            assert_int_equal(orig.format, fmt);
            assert_false(orig.has_alpha);
            g_object_unref(out);
        }
}

static void test_matrix_wide(void **state)
{
    struct blob b = encode(gradient(3000, 1000), ".png");
    (void)state;
    fit_matrix(&b, 3000, 1000, IMG_FORMAT_PNG);
    blob_free(&b);
}

static void test_matrix_tall(void **state)
{
    struct blob b = encode(gradient(1000, 3000), ".png");
    (void)state;
    fit_matrix(&b, 1000, 3000, IMG_FORMAT_PNG);
    blob_free(&b);
}

static void test_matrix_square(void **state)
{
    struct blob b = encode(gradient(2048, 2048), ".png");
    (void)state;
    fit_matrix(&b, 2048, 2048, IMG_FORMAT_PNG);
    blob_free(&b);
}

static void test_matrix_tiny(void **state)
{
    struct blob b = encode(gradient(1, 1), ".png");
    (void)state;
    fit_matrix(&b, 1, 1, IMG_FORMAT_PNG);
    blob_free(&b);
}

/* One-pixel-thin images: fitting must not round a side down to zero. */
static void test_matrix_needles(void **state)
{
    struct blob h = encode(gradient(3000, 1), ".png");
    struct blob v = encode(gradient(1, 3000), ".png");
    (void)state;
    fit_matrix(&h, 3000, 1, IMG_FORMAT_PNG);
    fit_matrix(&v, 1, 3000, IMG_FORMAT_PNG);
    blob_free(&h);
    blob_free(&v);
}

/* 6000x4000 = 24 megapixels, as JPEG (shrink-on-load) and as PNG. */
static void test_matrix_large(void **state)
{
    struct blob j = encode(lazy_pattern(6000, 4000), ".jpg[Q=85]");
    (void)state;
    fit_matrix(&j, 6000, 4000, IMG_FORMAT_JPEG);
    blob_free(&j);
}

static void test_large_png(void **state)
{
    struct blob p = encode(lazy_pattern(6000, 4000), ".png[compression=1]");
    struct img_info orig = {0};
    VipsImage *out;
    (void)state;
    out = fit_ok(&p, 1792, 1024, IMG_FIT_CROP, &orig);
    assert_int_equal(orig.width, 6000);
    assert_int_equal(orig.height, 4000);
    g_object_unref(out);
    blob_free(&p);
}

/* ---- geometry of each mode ---- */

static const uint8_t RED[3] = {255, 0, 0};
static const uint8_t BLUE[3] = {0, 0, 255};
static const uint8_t GREEN[3] = {0, 255, 0};

/* Counts pixels of row y that are clearly red and clearly blue. */
static void count_row(VipsImage *img, int y, int *pred, int *pblue)
{
    *pred = *pblue = 0;
    for (int x = 0; x < img->Xsize; x++) {
        double p[3];
        pixel(img, x, y, p);
        if (near(p, 255, 0, 0, 40))
            (*pred)++;
        else if (near(p, 0, 0, 255, 40))
            (*pblue)++;
    }
}

/* Left half red, right half blue, cropped to a narrower aspect: the centre
 * crop keeps both colours in equal measure. */
static void test_crop_is_centred(void **state)
{
    struct blob b = encode(halves(2000, 1000, RED, BLUE), ".png");
    (void)state;
    for (size_t s = 0; s < 4; s++) {
        int w = video_sizes[s][0], h = video_sizes[s][1];
        VipsImage *out = fit_ok(&b, w, h, IMG_FIT_CROP, NULL);
        double p[3];
        int red, blue;

        count_row(out, h / 2, &red, &blue);
        /* Only the Lanczos transition around the seam is neither colour. */
        assert_true(red + blue >= w - 8);
        assert_true(abs(red - blue) <= 2);
        /* Edges are the image's own colours, never letterbox black. */
        pixel(out, 0, 0, p);
        assert_true(near(p, 255, 0, 0, 20));
        pixel(out, w - 1, h - 1, p);
        assert_true(near(p, 0, 0, 255, 20));
        g_object_unref(out);
    }
    blob_free(&b);
}

/* Crop of a wide image to landscape keeps the full height and loses the
 * sides equally: a gradient's centre column stays at the centre. */
static void test_crop_wide_keeps_middle(void **state)
{
    struct blob b = encode(gradient(3000, 1000), ".png");
    VipsImage *out;
    double p[3];
    (void)state;
    out = fit_ok(&b, 1280, 720, IMG_FIT_CROP, NULL);
    pixel(out, 640, 360, p);
    assert_true(p[0] > 127 - 4 && p[0] < 127 + 4); /* red = x: centre is ~127 */
    pixel(out, 640, 0, p);
    assert_true(p[1] < 6); /* green = y: the top row survives */
    pixel(out, 640, 719, p);
    assert_true(p[1] > 249);
    g_object_unref(out);
    blob_free(&b);
}

/* A small image padded into a large frame is enlarged until it touches both
 * edges of one dimension (the Python original would leave it small). */
static void test_pad_enlarges_small(void **state)
{
    struct blob b = encode(halves(100, 100, GREEN, GREEN), ".png");
    VipsImage *out;
    double p[3];
    (void)state;

    out = fit_ok(&b, 1280, 720, IMG_FIT_PAD, NULL);
    /* 720x720 of content centred: columns 280..999 green. */
    pixel(out, 640, 1, p); /* middle of the top edge */
    assert_true(near(p, 0, 255, 0, 30));
    pixel(out, 640, 718, p); /* middle of the bottom edge */
    assert_true(near(p, 0, 255, 0, 30));
    pixel(out, 290, 360, p);
    assert_true(near(p, 0, 255, 0, 30));
    pixel(out, 10, 360, p); /* letterbox left */
    assert_true(near(p, 0, 0, 0, 1));
    pixel(out, 1270, 360, p); /* letterbox right */
    assert_true(near(p, 0, 0, 0, 1));
    pixel(out, 270, 360, p);
    assert_true(near(p, 0, 0, 0, 1));
    g_object_unref(out);

    out = fit_ok(&b, 720, 1280, IMG_FIT_PAD, NULL);
    pixel(out, 1, 640, p); /* middle of the left edge */
    assert_true(near(p, 0, 255, 0, 30));
    pixel(out, 360, 10, p); /* letterbox top */
    assert_true(near(p, 0, 0, 0, 1));
    g_object_unref(out);
    blob_free(&b);
}

/* A wide image padded into landscape: black bars above and below only. */
static void test_pad_letterbox(void **state)
{
    struct blob b = encode(halves(3000, 1000, RED, BLUE), ".png");
    VipsImage *out;
    double p[3];
    (void)state;
    out = fit_ok(&b, 1280, 720, IMG_FIT_PAD, NULL);
    /* Content is 1280x427 in rows 146..572. */
    pixel(out, 640, 20, p);
    assert_true(near(p, 0, 0, 0, 1));
    pixel(out, 640, 700, p);
    assert_true(near(p, 0, 0, 0, 1));
    pixel(out, 0, 360, p); /* the content touches the left... */
    assert_true(near(p, 255, 0, 0, 30));
    pixel(out, 1279, 360, p); /* ...and right edges */
    assert_true(near(p, 0, 0, 255, 30));
    g_object_unref(out);
    blob_free(&b);
}

/* Rescale stretches: a left/right split stays at the middle whatever the
 * aspect, and nothing is black. */
static void test_rescale_stretches(void **state)
{
    struct blob b = encode(halves(100, 400, RED, BLUE), ".png");
    (void)state;
    for (size_t s = 0; s < 4; s++) {
        int w = video_sizes[s][0], h = video_sizes[s][1];
        VipsImage *out = fit_ok(&b, w, h, IMG_FIT_RESCALE, NULL);
        double p[3];
        int red, blue;
        pixel(out, 0, 0, p);
        assert_true(near(p, 255, 0, 0, 20));
        pixel(out, w - 1, h - 1, p);
        assert_true(near(p, 0, 0, 255, 20));
        pixel(out, w / 2, 0, p);
        assert_false(near(p, 0, 0, 0, 20));
        count_row(out, h / 2, &red, &blue);
        assert_true(abs(red - blue) <= 2);
        g_object_unref(out);
    }
    blob_free(&b);
}

/* Encodes img (consumed) as a JPEG whose EXIF says "rotate 90 degrees
 * clockwise to display" (orientation 6). */
static struct blob jpeg_rotated(VipsImage *img)
{
    VipsImage *copy = NULL, *back = NULL;
    struct blob b;

    assert_int_equal(vips_copy(img, &copy, NULL), 0);
    g_object_unref(img);
    vips_image_set_int(copy, VIPS_META_ORIENTATION, 6);
    b = encode(copy, ".jpg[Q=95]");
    assert_int_equal(vips_jpegload_buffer(b.data, b.len, &back, NULL), 0);
    assert_int_equal(vips_image_get_orientation(back), 6);
    g_object_unref(back);
    return b;
}

/* EXIF orientation is applied: a stored 300x200 landscape displays as
 * 200x300 portrait, so padding it into 1280x720 pillarboxes it. The
 * reported original size is the stored one. */
static void test_exif_orientation(void **state)
{
    struct blob b = jpeg_rotated(halves(300, 200, GREEN, GREEN));
    struct img_info orig = {0};
    VipsImage *out;
    double p[3];
    (void)state;

    out = fit_ok(&b, 1280, 720, IMG_FIT_PAD, &orig);
    assert_int_equal(orig.width, 300);
    assert_int_equal(orig.height, 200);
    /* Displayed 200x300 fits as 480x720 in columns 400..879. */
    pixel(out, 200, 360, p);
    assert_true(near(p, 0, 0, 0, 2));
    pixel(out, 640, 360, p);
    assert_true(near(p, 0, 255, 0, 30));
    g_object_unref(out);
    blob_free(&b);
}

/* The same through the pre-cut crop of extreme aspect ratios: stored
 * 3000x100 with stripes 64 px wide along x displays as 100x3000 with
 * horizontal stripes. A 1280x720 crop of the displayed image spans rows
 * 1472..1528, inside one stripe (1472..1535), so the output is one colour;
 * choosing the region in stored orientation would span three stripes. */
static void test_exif_orientation_precut(void **state)
{
    uint8_t *px = malloc(3000 * 100 * 3);
    struct blob b;
    VipsImage *out;
    double p[3];
    int blue = 0;
    (void)state;

    assert_non_null(px);
    for (int y = 0; y < 100; y++)
        for (int x = 0; x < 3000; x++)
            memcpy(px + ((size_t)y * 3000 + (size_t)x) * 3, (x / 64) % 2 ? BLUE : RED, 3);
    b = jpeg_rotated(from_memory(px, 3000, 100, 3, VIPS_FORMAT_UCHAR, VIPS_INTERPRETATION_sRGB));
    free(px);
    out = fit_ok(&b, 1280, 720, IMG_FIT_CROP, NULL);
    for (int y = 0; y < 720; y += 8) {
        pixel(out, 640, y, p);
        blue += near(p, 0, 0, 255, 60);
    }
    assert_int_equal(blue, 90); /* every sampled row */
    g_object_unref(out);
    blob_free(&b);
}

/* ---- colour handling ---- */

/* RGBA in three vertical bands: transparent white, half-transparent white,
 * opaque green. Alpha is flattened onto black: the transparent band becomes
 * black and the half-transparent one mid grey (dropping the alpha band
 * instead would leave it white). */
static void test_alpha_flattened(void **state)
{
    uint8_t *px = malloc(600 * 200 * 4);
    struct blob b;
    struct img_info orig = {0}, info = {0};
    VipsImage *out;
    double p[3];
    (void)state;

    assert_non_null(px);
    for (int i = 0; i < 600 * 200; i++) {
        uint8_t *q = px + i * 4;
        int band = (i % 600) / 200;
        q[0] = band < 2 ? 255 : 0;
        q[1] = 255;
        q[2] = band < 2 ? 255 : 0;
        q[3] = band == 0 ? 0 : band == 1 ? 128 : 255;
    }
    b = encode(from_memory(px, 600, 200, 4, VIPS_FORMAT_UCHAR, VIPS_INTERPRETATION_sRGB), ".png");
    free(px);
    assert_int_equal(b.data[25], 6); /* the input really is RGBA */
    assert_int_equal(img_probe(b.data, b.len, &info, NULL, 0), 0);
    assert_true(info.has_alpha);

    /* rescale keeps the bands at thirds of the width. */
    out = fit_ok(&b, 1280, 720, IMG_FIT_RESCALE, &orig);
    assert_true(orig.has_alpha);
    pixel(out, 1280 / 6, 360, p);
    assert_true(near(p, 0, 0, 0, 2));
    pixel(out, 1280 / 2, 360, p);
    assert_true(near(p, 128, 128, 128, 4));
    pixel(out, 1280 * 5 / 6, 360, p);
    assert_true(near(p, 0, 255, 0, 2));
    g_object_unref(out);
    /* The same through crop and pad (centre band stays at the centre). */
    for (size_t m = 0; m < 2; m++) {
        out = fit_ok(&b, 1792, 1024, modes[m], NULL);
        pixel(out, 896, 512, p);
        assert_true(near(p, 128, 128, 128, 4));
        g_object_unref(out);
    }
    blob_free(&b);
}

/* Grey + alpha (two bands) also becomes RGB. */
static void test_grey_alpha(void **state)
{
    uint8_t *px = malloc(64 * 64 * 2);
    struct blob b;
    VipsImage *out;
    double p[3];
    (void)state;
    assert_non_null(px);
    for (int i = 0; i < 64 * 64; i++) {
        px[i * 2] = 200;
        px[i * 2 + 1] = 255;
    }
    b = encode(from_memory(px, 64, 64, 2, VIPS_FORMAT_UCHAR, VIPS_INTERPRETATION_B_W), ".png");
    free(px);
    assert_int_equal(b.data[25], 4); /* grey + alpha */
    out = fit_ok(&b, 720, 1280, IMG_FIT_RESCALE, NULL);
    pixel(out, 360, 640, p);
    assert_true(near(p, 200, 200, 200, 3));
    g_object_unref(out);
    blob_free(&b);
}

static void test_16bit_png(void **state)
{
    uint16_t *px = malloc(300 * 200 * 3 * sizeof *px);
    struct blob b;
    VipsImage *out;
    double p[3];
    (void)state;
    assert_non_null(px);
    for (int i = 0; i < 300 * 200; i++) {
        px[i * 3] = 65535;
        px[i * 3 + 1] = 32896; /* 128 * 257 */
        px[i * 3 + 2] = 0;
    }
    b = encode(from_memory(px, 300, 200, 3, VIPS_FORMAT_USHORT, VIPS_INTERPRETATION_RGB16), ".png");
    free(px);
    assert_int_equal(b.data[24], 16); /* the input really is 16-bit */
    for (size_t m = 0; m < 3; m++) {
        out = fit_ok(&b, 1792, 1024, modes[m], NULL);
        pixel(out, 896, 512, p);
        assert_true(near(p, 255, 128, 0, 3));
        g_object_unref(out);
    }
    blob_free(&b);
}

/* 16-bit RGBA too: flatten must use the 16-bit alpha range. */
static void test_16bit_rgba_png(void **state)
{
    uint16_t *px = malloc(100 * 100 * 4 * sizeof *px);
    struct blob b;
    VipsImage *out;
    double p[3];
    (void)state;
    assert_non_null(px);
    for (int i = 0; i < 100 * 100; i++) {
        px[i * 4] = 0;
        px[i * 4 + 1] = 0;
        px[i * 4 + 2] = 65535;
        px[i * 4 + 3] = 65535;
    }
    b = encode(from_memory(px, 100, 100, 4, VIPS_FORMAT_USHORT, VIPS_INTERPRETATION_RGB16), ".png");
    free(px);
    assert_int_equal(b.data[24], 16);
    assert_int_equal(b.data[25], 6);
    out = fit_ok(&b, 1280, 720, IMG_FIT_CROP, NULL);
    pixel(out, 640, 360, p);
    assert_true(near(p, 0, 0, 255, 3));
    g_object_unref(out);
    blob_free(&b);
}

static void test_greyscale_jpeg(void **state)
{
    uint8_t *px = malloc(500 * 300);
    struct blob b;
    VipsImage *in = NULL, *out;
    struct img_info orig = {0};
    double p[3];
    (void)state;
    assert_non_null(px);
    memset(px, 200, 500 * 300);
    b = encode(from_memory(px, 500, 300, 1, VIPS_FORMAT_UCHAR, VIPS_INTERPRETATION_B_W),
               ".jpg[Q=95]");
    free(px);
    assert_int_equal(vips_jpegload_buffer(b.data, b.len, &in, NULL), 0);
    assert_int_equal(in->Bands, 1); /* the input really is greyscale */
    g_object_unref(in);
    for (size_t m = 0; m < 3; m++) {
        out = fit_ok(&b, 720, 1280, modes[m], &orig);
        assert_int_equal(orig.format, IMG_FORMAT_JPEG);
        pixel(out, 360, 640, p);
        assert_true(near(p, 200, 200, 200, 4));
        g_object_unref(out);
    }
    blob_free(&b);
}

static void test_cmyk_jpeg(void **state)
{
    VipsImage *rgb = halves(400, 400, RED, RED), *cmyk = NULL, *in = NULL, *out;
    struct blob b;
    double p[3];
    (void)state;
    assert_int_equal(vips_colourspace(rgb, &cmyk, VIPS_INTERPRETATION_CMYK, NULL), 0);
    g_object_unref(rgb);
    b = encode(cmyk, ".jpg[Q=95]");
    assert_int_equal(vips_jpegload_buffer(b.data, b.len, &in, NULL), 0);
    assert_int_equal(in->Bands, 4); /* the input really is CMYK */
    assert_int_equal(in->Type, VIPS_INTERPRETATION_CMYK);
    g_object_unref(in);
    out = fit_ok(&b, 1024, 1792, IMG_FIT_CROP, NULL);
    pixel(out, 512, 896, p);
    /* Through a CMYK profile and back: clearly red, if not exactly 255,0,0. */
    assert_true(p[0] > 180 && p[1] < 90 && p[2] < 90);
    g_object_unref(out);
    blob_free(&b);
}

static void test_webp(void **state)
{
    struct blob lossy = encode(gradient(1200, 800), ".webp[Q=80]");
    VipsImage *out;
    struct img_info info = {0};
    (void)state;
    assert_int_equal(img_sniff(lossy.data, lossy.len), IMG_FORMAT_WEBP);
    fit_matrix(&lossy, 1200, 800, IMG_FORMAT_WEBP);
    blob_free(&lossy);

    /* Lossless with alpha. */
    {
        uint8_t *px = calloc(1, 64 * 64 * 4);
        struct blob b;
        double p[3];
        assert_non_null(px);
        for (int i = 0; i < 64 * 64; i++) {
            px[i * 4 + 2] = 255;
            px[i * 4 + 3] = (i % 64) < 32 ? 0 : 255;
        }
        b = encode(from_memory(px, 64, 64, 4, VIPS_FORMAT_UCHAR, VIPS_INTERPRETATION_sRGB),
                   ".webp[lossless]");
        free(px);
        assert_int_equal(img_probe(b.data, b.len, &info, NULL, 0), 0);
        assert_int_equal(info.format, IMG_FORMAT_WEBP);
        assert_true(info.has_alpha);
        out = fit_ok(&b, 1280, 720, IMG_FIT_PAD, NULL);
        pixel(out, 640 - 180, 360, p); /* transparent → black */
        assert_true(near(p, 0, 0, 0, 3));
        pixel(out, 640 + 180, 360, p);
        assert_true(near(p, 0, 0, 255, 3));
        g_object_unref(out);
        blob_free(&b);
    }
}

/* ---- probing ---- */

static void test_probe(void **state)
{
    struct blob png = encode(gradient(321, 123), ".png");
    struct blob jpg = encode(gradient(77, 55), ".jpg");
    struct img_info info = {0};
    char err[IMG_ERRMSG_LEN];
    (void)state;

    assert_int_equal(img_probe(png.data, png.len, &info, err, sizeof err), 0);
    assert_int_equal(info.width, 321);
    assert_int_equal(info.height, 123);
    assert_int_equal(info.format, IMG_FORMAT_PNG);
    assert_string_equal(img_format_name(info.format), "png");
    assert_false(info.has_alpha);
    assert_int_equal(img_probe(jpg.data, jpg.len, &info, err, sizeof err), 0);
    assert_int_equal(info.width, 77);
    assert_int_equal(info.height, 55);
    assert_int_equal(info.format, IMG_FORMAT_JPEG);

    /* A header is enough: the probe of a PNG cut after its first IDAT bytes
     * succeeds, while fitting the same bytes fails (see the corrupt tests). */
    assert_int_equal(img_probe(png.data, png.len / 2, &info, err, sizeof err), 0);
    assert_int_equal(info.width, 321);

    assert_int_equal(img_probe("GIF89a\1\0\1\0\0\0\0", 13, &info, err, sizeof err),
                     SZ_EUNSUPPORTED);
    assert_non_null(strstr(err, "PNG, JPEG or WEBP"));
    assert_int_equal(img_probe("", 0, &info, err, sizeof err), SZ_ECORRUPT);
    blob_free(&png);
    blob_free(&jpg);
}

/* ---- limits ---- */

static uint32_t crc32_bytes(const uint8_t *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
    }
    return c ^ 0xffffffffu;
}

static size_t put_chunk(uint8_t *out, const char type[4], const uint8_t *data, uint32_t len)
{
    uint32_t crc;
    out[0] = (uint8_t)(len >> 24);
    out[1] = (uint8_t)(len >> 16);
    out[2] = (uint8_t)(len >> 8);
    out[3] = (uint8_t)len;
    memcpy(out + 4, type, 4);
    if (len > 0)
        memcpy(out + 8, data, len);
    crc = crc32_bytes(out + 4, 4 + (size_t)len);
    out[8 + len] = (uint8_t)(crc >> 24);
    out[9 + len] = (uint8_t)(crc >> 16);
    out[10 + len] = (uint8_t)(crc >> 8);
    out[11 + len] = (uint8_t)crc;
    return 12 + (size_t)len;
}

/* A well-formed PNG header for w x h RGB whose IDAT holds one empty zlib
 * stream: the header reads fine, any attempt to decode pixels fails. */
static size_t craft_png(uint8_t *out, uint32_t w, uint32_t h)
{
    static const uint8_t empty_zlib[] = {0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01};
    uint8_t ihdr[13] = {0};
    size_t n = 0;

    memcpy(out, "\x89PNG\r\n\x1a\n", 8);
    n = 8;
    for (int i = 0; i < 4; i++) {
        ihdr[i] = (uint8_t)(w >> (24 - 8 * i));
        ihdr[4 + i] = (uint8_t)(h >> (24 - 8 * i));
    }
    ihdr[8] = 8; /* bit depth */
    ihdr[9] = 2; /* RGB */
    n += put_chunk(out + n, "IHDR", ihdr, 13);
    n += put_chunk(out + n, "IDAT", empty_zlib, sizeof empty_zlib);
    n += put_chunk(out + n, "IEND", NULL, 0);
    return n;
}

static void test_bomb_refused_before_decoding(void **state)
{
    uint8_t png[128];
    size_t n = craft_png(png, 20000, 20000);
    struct img_info info = {0};
    char err[IMG_ERRMSG_LEN] = "";
    (void)state;

    assert_int_equal(img_probe(png, n, &info, err, sizeof err), SZ_ETOOBIG);
    assert_non_null(strstr(err, "too large"));
    assert_non_null(strstr(err, "20000x20000"));
    assert_non_null(strstr(err, "100 megapixels"));
    /* Refused by the header check, not by a failed decode (which would
     * report SZ_ECORRUPT): the pixel data here is empty. */
    assert_int_equal(fit_err(png, n, err, sizeof err), SZ_ETOOBIG);
    assert_non_null(strstr(err, "too large"));

    /* The limit is exact: 100,010,000 pixels refused... */
    n = craft_png(png, 10001, 10000);
    assert_int_equal(fit_err(png, n, err, sizeof err), SZ_ETOOBIG);
    /* ...100,000,000 accepted by the gate, then fails decoding the empty
     * IDAT, proving the gate let it through. */
    n = craft_png(png, 10000, 10000);
    assert_int_equal(img_probe(png, n, &info, err, sizeof err), 0);
    assert_int_equal(info.width, 10000);
    assert_int_equal(fit_err(png, n, err, sizeof err), SZ_ECORRUPT);
    n = craft_png(png, 1, 1);
    assert_int_equal(fit_err(png, n, err, sizeof err), SZ_ECORRUPT);
}

static void test_too_many_bytes(void **state)
{
    size_t n = IMG_MAX_BYTES + 1;
    uint8_t *buf = calloc(1, n);
    struct img_info info;
    char err[IMG_ERRMSG_LEN] = "";
    (void)state;

    assert_non_null(buf);
    n = craft_png(buf, 64, 64); /* a valid header, then padding to 50 MB + 1 */
    (void)n;
    assert_int_equal(img_probe(buf, IMG_MAX_BYTES + 1, &info, err, sizeof err), SZ_ETOOBIG);
    assert_non_null(strstr(err, "too large"));
    assert_non_null(strstr(err, "50 MB"));
    assert_int_equal(fit_err(buf, IMG_MAX_BYTES + 1, err, sizeof err), SZ_ETOOBIG);
    free(buf);
}

static void test_bad_targets(void **state)
{
    struct blob b = encode(gradient(10, 10), ".png");
    uint8_t *png = NULL;
    size_t len = 0;
    char err[IMG_ERRMSG_LEN] = "";
    (void)state;
    assert_int_equal(
        img_fit_buffer(b.data, b.len, 0, 720, IMG_FIT_CROP, &png, &len, NULL, err, sizeof err),
        SZ_EINVAL);
    assert_int_equal(
        img_fit_buffer(b.data, b.len, 1280, -1, IMG_FIT_PAD, &png, &len, NULL, err, sizeof err),
        SZ_EINVAL);
    assert_int_equal(img_fit_buffer(b.data, b.len, IMG_MAX_SIDE + 1, 720, IMG_FIT_PAD, &png, &len,
                                    NULL, err, sizeof err),
                     SZ_EINVAL);
    assert_int_equal(img_fit_buffer(b.data, b.len, 64, 64, (enum img_fit_mode)7, &png, &len, NULL,
                                    err, sizeof err),
                     SZ_EINVAL);
    assert_null(png);
    blob_free(&b);
}

/* ---- corrupt input ---- */

static void test_corrupt_inputs(void **state)
{
    uint8_t junk[4096];
    uint64_t x = 88172645463325252u;
    struct blob png = encode(gradient(500, 500), ".png");
    struct blob jpg = encode(gradient(500, 500), ".jpg[Q=90]");
    struct blob webp = encode(gradient(500, 500), ".webp[Q=90]");
    char err[IMG_ERRMSG_LEN];
    (void)state;

    /* Random bytes behind each magic. */
    for (int k = 0; k < 3; k++) {
        for (size_t i = 0; i < sizeof junk; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            junk[i] = (uint8_t)x;
        }
        if (k == 0)
            memcpy(junk, "\x89PNG\r\n\x1a\n", 8);
        else if (k == 1)
            memcpy(junk, "\xff\xd8\xff\xe0", 4);
        else
            memcpy(junk, "RIFF\xf8\x0f\0\0WEBPVP8 ", 16);
        err[0] = '\0';
        assert_int_equal(fit_err(junk, sizeof junk, err, sizeof err), SZ_ECORRUPT);
        assert_non_null(strstr(err, "Corrupt"));
    }

    /* Truncations at several points, of each format. The last cut loses
     * the final bytes of pixel data (PNG: its 12-byte IEND chunk holds no
     * pixels and libvips never reads it, so cut into the last IDAT). */
    {
        const struct blob *all[] = {&png, &jpg, &webp};
        for (size_t f = 0; f < 3; f++) {
            size_t cuts[] = {all[f]->len / 10, all[f]->len / 2, all[f]->len * 9 / 10,
                             all[f]->len - (f == 0 ? 20 : 1)};
            for (size_t c = 0; c < 4; c++) {
                int rc = fit_err(all[f]->data, cuts[c], err, sizeof err);
                if (rc != SZ_ECORRUPT)
                    fail_msg("format %zu cut at %zu of %zu: %s", f, cuts[c], all[f]->len,
                             sz_errname(rc));
            }
        }
    }

    /* A flipped byte inside PNG pixel data (its CRC no longer matches). */
    {
        uint8_t *bad = malloc(png.len);
        assert_non_null(bad);
        memcpy(bad, png.data, png.len);
        bad[png.len / 2] ^= 0x55;
        assert_int_equal(fit_err(bad, png.len, err, sizeof err), SZ_ECORRUPT);
        free(bad);
    }

    /* Magic alone, and nothing at all. */
    assert_int_equal(fit_err("\x89PNG\r\n\x1a\n", 8, err, sizeof err), SZ_ECORRUPT);
    assert_int_equal(fit_err("\xff\xd8\xff", 3, err, sizeof err), SZ_ECORRUPT);
    assert_int_equal(fit_err("", 0, err, sizeof err), SZ_ECORRUPT);
    /* Other formats libvips could read are refused by content. */
    assert_int_equal(fit_err("GIF89a\1\0\1\0\0\0\0", 13, err, sizeof err), SZ_EUNSUPPORTED);
    {
        const char *svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" height=\"10\"/>";
        assert_int_equal(fit_err(svg, strlen(svg), err, sizeof err), SZ_EUNSUPPORTED);
    }
    blob_free(&png);
    blob_free(&jpg);
    blob_free(&webp);
}

/* ---- the fd variant ---- */

static void test_fit_fd(void **state)
{
    struct blob b = encode(gradient(1000, 3000), ".png");
    char path[] = "/tmp/sz_imaging_XXXXXX";
    int fd = mkstemp(path);
    uint8_t *png = NULL;
    size_t len = 0;
    struct img_info orig = {0};
    char err[IMG_ERRMSG_LEN] = "";
    VipsImage *out;
    int pipefd[2];
    (void)state;

    assert_true(fd >= 0);
    unlink(path);
    assert_int_equal(write(fd, b.data, b.len), (ssize_t)b.len);
    /* The file offset is at the end: the fd variant must not depend on it. */
    for (size_t m = 0; m < 3; m++) {
        int rc = img_fit_fd(fd, 1280, 720, modes[m], &png, &len, &orig, err, sizeof err);
        if (rc != 0)
            fail_msg("fd fit: %s (%s)", sz_errname(rc), err);
        out = check_png(png, len, 1280, 720);
        assert_int_equal(orig.width, 1000);
        assert_int_equal(orig.height, 3000);
        g_object_unref(out);
        free(png);
    }
    /* Truncated file. */
    assert_int_equal(ftruncate(fd, (off_t)(b.len / 2)), 0);
    assert_int_equal(img_fit_fd(fd, 64, 64, IMG_FIT_CROP, &png, &len, NULL, err, sizeof err),
                     SZ_ECORRUPT);
    assert_null(png);
    close(fd);

    /* Not a regular file. */
    assert_int_equal(pipe(pipefd), 0);
    assert_int_equal(img_fit_fd(pipefd[0], 64, 64, IMG_FIT_CROP, &png, &len, NULL, err, sizeof err),
                     SZ_EINVAL);
    close(pipefd[0]);
    close(pipefd[1]);
    assert_int_equal(img_fit_fd(-1, 64, 64, IMG_FIT_CROP, &png, &len, NULL, err, sizeof err),
                     SZ_EINVAL);
    blob_free(&b);
}

/* ---- async jobs ---- */

struct acall {
    int calls;
    int status;
    char errmsg[IMG_ERRMSG_LEN];
    void *data; /* taken from the result when take is set */
    size_t len;
    bool take;
    bool data_was_null;
    struct img_info info;
};

static void on_result(struct img_result *res, void *arg)
{
    struct acall *c = arg;
    c->calls++;
    c->status = res->status;
    snprintf(c->errmsg, sizeof c->errmsg, "%s", res->errmsg);
    c->info = res->info;
    c->len = res->len;
    c->data_was_null = res->data == NULL;
    if (c->take) {
        c->data = res->data;
        res->data = NULL;
    }
}

static uint8_t *dup_blob(const struct blob *b)
{
    uint8_t *p = malloc(b->len);
    assert_non_null(p);
    memcpy(p, b->data, b->len);
    return p;
}

static void test_async_jobs(void **state)
{
    uv_loop_t loop;
    struct sz_pool *pool;
    struct blob png = encode(gradient(2048, 2048), ".png");
    struct blob jpg = encode(gradient(640, 480), ".jpg");
    struct acall fit = {.take = true}, fit_left = {0}, bad = {0}, dec = {.take = true};
    struct acall dec_bad = {0}, dec_gif = {0}, enc = {.take = true}, enc_bad = {0};
    struct acall cancelled = {0};
    struct sz_pool_job *job = NULL;
    char *b64 = NULL;
    size_t b64len = 0;
    (void)state;

    assert_int_equal(uv_loop_init(&loop), 0);
    pool = sz_pool_new(&loop, 2);
    assert_non_null(pool);

    /* fit: ownership of the input passes to the job. */
    assert_int_equal(img_fit_async(pool, dup_blob(&png), png.len, 1280, 720, IMG_FIT_CROP,
                                   on_result, &fit, NULL),
                     0);
    /* A result left in res->data is freed by the job (ASan checks). */
    assert_int_equal(img_fit_async(pool, dup_blob(&png), png.len, 720, 1280, IMG_FIT_PAD, on_result,
                                   &fit_left, NULL),
                     0);
    {
        uint8_t *junk = malloc(100);
        assert_non_null(junk);
        memset(junk, 7, 100);
        memcpy(junk, "\x89PNG\r\n\x1a\n", 8);
        assert_int_equal(
            img_fit_async(pool, junk, 100, 64, 64, IMG_FIT_RESCALE, on_result, &bad, NULL), 0);
    }
    /* The third fit waits behind two; cancel a fourth while it is queued. */
    assert_int_equal(img_fit_async(pool, dup_blob(&png), png.len, 64, 64, IMG_FIT_CROP, on_result,
                                   &cancelled, &job),
                     0);
    assert_int_equal(sz_pool_queued(pool), 2);
    assert_int_equal(sz_pool_cancel(job), 0);

    /* base64 decode + probe: the text is copied, so free ours at once. */
    assert_int_equal(sz_b64_encode_alloc(jpg.data, jpg.len, &b64, &b64len), 0);
    assert_int_equal(img_b64_decode_probe_async(pool, b64, b64len, on_result, &dec, NULL), 0);
    free(b64);
    assert_int_equal(img_b64_decode_probe_async(pool, "@@@@", 4, on_result, &dec_bad, NULL), 0);
    assert_int_equal(
        img_b64_decode_probe_async(pool, "R0lGODlhAQABAAAAACw=", 20, on_result, &dec_gif, NULL), 0);

    /* encode as a data URL. */
    assert_int_equal(img_b64_encode_async(pool, dup_blob(&jpg), jpg.len, on_result, &enc, NULL), 0);
    {
        char *txt = strdup("just some text, not an image");
        assert_non_null(txt);
        assert_int_equal(img_b64_encode_async(pool, txt, strlen(txt), on_result, &enc_bad, NULL),
                         0);
    }
    /* Argument errors are synchronous and release what was handed over. */
    assert_int_equal(
        img_fit_async(pool, dup_blob(&png), png.len, 64, 64, IMG_FIT_CROP, NULL, NULL, NULL),
        SZ_EINVAL);
    assert_int_equal(img_b64_decode_probe_async(pool, "QQ==", SIZE_MAX / 2, on_result, &bad, NULL),
                     SZ_ETOOBIG);

    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);

    assert_int_equal(fit.calls, 1);
    assert_int_equal(fit.status, 0);
    assert_string_equal(fit.errmsg, "");
    assert_int_equal(fit.info.width, 2048);
    assert_int_equal(fit.info.height, 2048);
    assert_int_equal(fit.info.format, IMG_FORMAT_PNG);
    g_object_unref(check_png(fit.data, fit.len, 1280, 720));
    free(fit.data);

    assert_int_equal(fit_left.calls, 1);
    assert_int_equal(fit_left.status, 0);
    assert_false(fit_left.data_was_null);

    assert_int_equal(bad.calls, 1);
    assert_int_equal(bad.status, SZ_ECORRUPT);
    assert_true(bad.data_was_null);
    assert_non_null(strstr(bad.errmsg, "Corrupt"));

    assert_int_equal(cancelled.calls, 1);
    assert_int_equal(cancelled.status, SZ_ECANCELLED);
    assert_true(cancelled.data_was_null);

    assert_int_equal(dec.calls, 1);
    assert_int_equal(dec.status, 0);
    assert_int_equal(dec.len, jpg.len);
    assert_memory_equal(dec.data, jpg.data, jpg.len);
    assert_int_equal(dec.info.width, 640);
    assert_int_equal(dec.info.height, 480);
    assert_int_equal(dec.info.format, IMG_FORMAT_JPEG);
    free(dec.data);

    assert_int_equal(dec_bad.status, SZ_ECORRUPT);
    assert_non_null(strstr(dec_bad.errmsg, "base64"));
    assert_true(dec_bad.data_was_null);
    assert_int_equal(dec_gif.status, SZ_EUNSUPPORTED);
    assert_true(dec_gif.data_was_null);

    assert_int_equal(enc.calls, 1);
    assert_int_equal(enc.status, 0);
    assert_int_equal(enc.info.format, IMG_FORMAT_JPEG);
    assert_int_equal(enc.info.width, 640);
    {
        const char *url = enc.data;
        const char *prefix = "data:image/jpeg;base64,";
        uint8_t *raw = NULL;
        size_t rawlen = 0;
        assert_int_equal(strlen(url), enc.len);
        assert_memory_equal(url, prefix, strlen(prefix));
        assert_int_equal(
            sz_b64_decode_alloc(url + strlen(prefix), enc.len - strlen(prefix), &raw, &rawlen), 0);
        assert_int_equal(rawlen, jpg.len);
        assert_memory_equal(raw, jpg.data, jpg.len);
        free(raw);
    }
    free(enc.data);
    assert_int_equal(enc_bad.status, SZ_EUNSUPPORTED);

    sz_pool_close(pool, NULL, NULL);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(uv_loop_close(&loop), 0);
    blob_free(&png);
    blob_free(&jpg);
}

/* img_check_whole on every prefix of a whole file: whole only at its full length
 * (and with bytes appended); every shorter cut is SZ_ECORRUPT with a sentence. */
static void assert_whole_only_in_full(const struct blob *b, const char *what)
{
    char err[IMG_ERRMSG_LEN];
    uint8_t *longer = malloc(b->len + 64);

    assert_non_null(longer);
    err[0] = '\0';
    assert_int_equal(img_check_whole(b->data, b->len, err, sizeof err), 0);
    for (size_t n = 12; n < b->len; n++) {
        err[0] = '\0';
        if (img_check_whole(b->data, n, err, sizeof err) != SZ_ECORRUPT)
            fail_msg("%s cut at %zu of %zu bytes passes", what, n, b->len);
        assert_true(err[0] != '\0');
    }
    /* bytes after the end (a camera's trailer, padding) do not matter */
    memcpy(longer, b->data, b->len);
    memset(longer + b->len, 0xab, 64);
    assert_int_equal(img_check_whole(longer, b->len + 64, err, sizeof err), 0);
    free(longer);
}

static void test_check_whole(void **state)
{
    struct blob png = encode(gradient(97, 61), ".png");
    struct blob ipng = encode(gradient(97, 61), ".png[interlace]");
    struct blob jpg = encode(gradient(97, 61), ".jpg");
    struct blob pjpg = encode(gradient(97, 61), ".jpg[interlace]");
    struct blob rjpg = encode(gradient(97, 61), ".jpg[restart_interval=1]");
    struct blob webp = encode(gradient(97, 61), ".webp");
    struct blob lwebp = encode(gradient(97, 61), ".webp[lossless]");
    char err[IMG_ERRMSG_LEN];
    uint8_t *p;
    (void)state;

    assert_whole_only_in_full(&png, "PNG");
    assert_whole_only_in_full(&ipng, "interlaced PNG");
    assert_whole_only_in_full(&jpg, "JPEG");
    assert_whole_only_in_full(&pjpg, "progressive JPEG");
    assert_whole_only_in_full(&rjpg, "JPEG with restart markers");
    assert_whole_only_in_full(&webp, "WEBP");
    assert_whole_only_in_full(&lwebp, "lossless WEBP");

    /* what the sentences say */
    assert_int_equal(img_check_whole(png.data, png.len / 2, err, sizeof err), SZ_ECORRUPT);
    assert_non_null(strstr(err, "Truncated image: the PNG ends inside its IDAT chunk"));
    assert_int_equal(img_check_whole(jpg.data, jpg.len - 2, err, sizeof err), SZ_ECORRUPT);
    assert_non_null(strstr(err, "Truncated image: the JPEG ends before its end-of-image marker"));
    assert_int_equal(img_check_whole(webp.data, webp.len - 1, err, sizeof err), SZ_ECORRUPT);
    assert_non_null(strstr(err, "Truncated image: the WEBP is"));

    /* an end-of-image marker before any scan; a PNG chunk whose length is absurd */
    assert_int_equal(img_check_whole("\xff\xd8\xff\xd9", 4, err, sizeof err), SZ_ECORRUPT);
    assert_non_null(strstr(err, "before any image data"));
    p = malloc(png.len);
    assert_non_null(p);
    memcpy(p, png.data, png.len);
    memset(p + 8, 0xff, 4); /* IHDR's length */
    assert_int_equal(img_check_whole(p, png.len, err, sizeof err), SZ_ECORRUPT);
    assert_non_null(strstr(err, "claims"));
    free(p);

    /* not an image we take; nothing at all; errbuf may be NULL */
    assert_int_equal(img_check_whole("GIF89a", 6, err, sizeof err), SZ_EUNSUPPORTED);
    assert_int_equal(img_check_whole("", 0, err, sizeof err), SZ_EUNSUPPORTED);
    assert_int_equal(img_check_whole(png.data, 100, NULL, 0), SZ_ECORRUPT);

    blob_free(&png);
    blob_free(&ipng);
    blob_free(&jpg);
    blob_free(&pjpg);
    blob_free(&rjpg);
    blob_free(&webp);
    blob_free(&lwebp);
}

/* The probe job borrows the caller's bytes (an upload's, which go on to the request):
 * they come back untouched, the job frees nothing (ASan checks), and a cancelled probe
 * still reports once. */
static void test_async_probe(void **state)
{
    uv_loop_t loop;
    struct sz_pool *pool;
    struct blob png = encode(gradient(320, 200), ".png");
    uint8_t *bytes = dup_blob(&png);
    uint8_t corrupt[64], cut[40];
    struct acall good = {0}, bad = {0}, shortened = {0}, text = {0}, half = {0}, first = {0};
    struct acall queued = {0};
    struct sz_pool_job *job = NULL;
    (void)state;

    memset(corrupt, 0x5a, sizeof corrupt);
    memcpy(corrupt, "\x89PNG\r\n\x1a\n", 8);
    memcpy(cut, png.data, sizeof cut); /* the signature and part of IHDR */
    assert_int_equal(uv_loop_init(&loop), 0);
    pool = sz_pool_new(&loop, 1);
    assert_non_null(pool);
    assert_int_equal(img_probe_async(pool, bytes, png.len, on_result, &good, NULL), 0);
    assert_int_equal(img_probe_async(pool, corrupt, sizeof corrupt, on_result, &bad, NULL), 0);
    assert_int_equal(img_probe_async(pool, cut, sizeof cut, on_result, &shortened, NULL), 0);
    assert_int_equal(img_probe_async(pool, "GIF89a, not ours", 16, on_result, &text, NULL), 0);
    /* the header reads, the pixel data is cut: refused too */
    assert_int_equal(img_probe_async(pool, bytes, png.len / 2, on_result, &half, NULL), 0);
    assert_int_equal(img_probe_async(pool, bytes, png.len, on_result, &first, NULL), 0);
    assert_int_equal(img_probe_async(pool, bytes, png.len, on_result, &queued, &job), 0);
    assert_int_equal(sz_pool_cancel(job), 0);
    assert_int_equal(img_probe_async(pool, NULL, 1, on_result, &good, NULL), SZ_EINVAL);
    assert_int_equal(img_probe_async(NULL, bytes, png.len, on_result, &good, NULL), SZ_EINVAL);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);

    assert_int_equal(good.calls, 1);
    assert_int_equal(good.status, 0);
    assert_true(good.data_was_null);
    assert_int_equal(good.info.width, 320);
    assert_int_equal(good.info.height, 200);
    assert_int_equal(good.info.format, IMG_FORMAT_PNG);
    assert_memory_equal(bytes, png.data, png.len);
    assert_int_equal(bad.status, SZ_ECORRUPT);
    assert_non_null(strstr(bad.errmsg, "Corrupt or truncated"));
    assert_int_equal(shortened.status, SZ_ECORRUPT);
    assert_int_equal(text.status, SZ_EUNSUPPORTED);
    assert_int_equal(half.status, SZ_ECORRUPT);
    assert_non_null(strstr(half.errmsg, "Truncated image"));
    assert_int_equal(half.info.width, 320); /* its header did read */
    assert_int_equal(first.status, 0);
    assert_int_equal(queued.calls, 1);
    assert_int_equal(queued.status, SZ_ECANCELLED);

    sz_pool_close(pool, NULL, NULL);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(uv_loop_close(&loop), 0);
    free(bytes);
    blob_free(&png);
}

/* The fd job takes ownership of the descriptor, also when cancelled. */
static void test_async_fd(void **state)
{
    uv_loop_t loop;
    struct sz_pool *pool;
    struct blob b = encode(gradient(300, 200), ".webp");
    char path[] = "/tmp/sz_imaging_XXXXXX";
    int fd = mkstemp(path), fd2;
    struct acall a = {0}, c = {0}, first = {0};
    struct sz_pool_job *job = NULL;
    (void)state;

    assert_true(fd >= 0);
    assert_int_equal(write(fd, b.data, b.len), (ssize_t)b.len);
    fd2 = open(path, O_RDONLY);
    assert_true(fd2 >= 0);
    unlink(path);

    assert_int_equal(uv_loop_init(&loop), 0);
    pool = sz_pool_new(&loop, 1);
    assert_non_null(pool);
    assert_int_equal(
        img_fit_async(pool, dup_blob(&b), b.len, 32, 32, IMG_FIT_PAD, on_result, &first, NULL), 0);
    assert_int_equal(img_fit_fd_async(pool, fd, 1792, 1024, IMG_FIT_CROP, on_result, &a, NULL), 0);
    assert_int_equal(img_fit_fd_async(pool, fd2, 1792, 1024, IMG_FIT_CROP, on_result, &c, &job), 0);
    assert_int_equal(sz_pool_cancel(job), 0);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(first.status, 0);
    assert_int_equal(a.status, 0);
    assert_int_equal(a.info.format, IMG_FORMAT_WEBP);
    assert_int_equal(c.status, SZ_ECANCELLED);
    /* Both descriptors were closed by the jobs. */
    assert_int_equal(fcntl(fd, F_GETFD), -1);
    assert_int_equal(fcntl(fd2, F_GETFD), -1);

    sz_pool_close(pool, NULL, NULL);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(uv_loop_close(&loop), 0);
    blob_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sniff),
        cmocka_unit_test(test_filename_extension),
        cmocka_unit_test(test_mode_names),
        cmocka_unit_test(test_matrix_wide),
        cmocka_unit_test(test_matrix_tall),
        cmocka_unit_test(test_matrix_square),
        cmocka_unit_test(test_matrix_tiny),
        cmocka_unit_test(test_matrix_needles),
        cmocka_unit_test(test_matrix_large),
        cmocka_unit_test(test_large_png),
        cmocka_unit_test(test_crop_is_centred),
        cmocka_unit_test(test_crop_wide_keeps_middle),
        cmocka_unit_test(test_pad_enlarges_small),
        cmocka_unit_test(test_pad_letterbox),
        cmocka_unit_test(test_rescale_stretches),
        cmocka_unit_test(test_exif_orientation),
        cmocka_unit_test(test_exif_orientation_precut),
        cmocka_unit_test(test_alpha_flattened),
        cmocka_unit_test(test_grey_alpha),
        cmocka_unit_test(test_16bit_png),
        cmocka_unit_test(test_16bit_rgba_png),
        cmocka_unit_test(test_greyscale_jpeg),
        cmocka_unit_test(test_cmyk_jpeg),
        cmocka_unit_test(test_webp),
        cmocka_unit_test(test_probe),
        cmocka_unit_test(test_bomb_refused_before_decoding),
        cmocka_unit_test(test_too_many_bytes),
        cmocka_unit_test(test_bad_targets),
        cmocka_unit_test(test_corrupt_inputs),
        cmocka_unit_test(test_fit_fd),
        cmocka_unit_test(test_async_jobs),
        cmocka_unit_test(test_check_whole),
        cmocka_unit_test(test_async_probe),
        cmocka_unit_test(test_async_fd),
    };
    int rc;

    /* SZ_TEST_FILTER=test_webp runs one test (a cmocka glob). */
    if (getenv("SZ_TEST_FILTER") != NULL)
        cmocka_set_test_filter(getenv("SZ_TEST_FILTER"));
    setenv("UV_THREADPOOL_SIZE", "6", 1);
    if (img_init() != 0)
        return 1;
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    img_shutdown();
    return rc;
}
