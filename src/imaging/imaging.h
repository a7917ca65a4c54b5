/* Imaging: libvips behind a small, thread-safe API, plus async jobs on the
 * bounded pool of core/pool.h.
 *
 * Three kinds of function live here:
 * - process setup (img_init / img_shutdown), on the main thread;
 * - cheap, pure helpers usable on any thread including the loop (sniffing,
 *   names, parsing);
 * - pure, thread-safe, CPU-heavy functions (img_probe, img_fit_*) meant to
 *   run INSIDE pool jobs, never on the loop thread; and their async wrappers
 *   (img_*_async), called on the loop thread, whose callbacks run on the loop.
 *
 * Limits (decompression bombs): inputs over IMG_MAX_BYTES or whose header
 * claims more than IMG_MAX_PIXELS are refused with SZ_ETOOBIG before any
 * pixel is decoded. Only PNG, JPEG and WEBP are accepted, by content (magic
 * bytes), whatever the file is called. A truncated or corrupt image is an
 * error (SZ_ECORRUPT) with a message, never a crash.
 *
 * Memory: fitting decodes line by line and shrinks each line as it comes
 * (PNG) or shrinks on load (JPEG DCT scaling, WEBP scaled decode), so the
 * memory it takes depends on the width, not the pixel count. Two more limits
 * keep any image under IMG_MAX_PIXELS within a few tens of MB: a width over
 * IMG_MAX_WIDTH, and an image that must be decoded whole (an interlaced PNG,
 * a progressive JPEG) needing more than IMG_MAX_DECODE_BYTES for it, are
 * refused (SZ_ETOOBIG) by img_fit_* before any pixel is decoded. img_probe
 * decodes nothing and does not apply them.
 *
 * Errors: every heavy function returns 0 or a negative code from
 * core/err.h and writes one user-readable sentence to errbuf (which may be
 * NULL when errlen is 0); IMG_ERRMSG_LEN bytes are always enough. */
#ifndef SZ_IMAGING_H
#define SZ_IMAGING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/pool.h"

#define IMG_MAX_PIXELS       100000000LL           /* 100 megapixels */
#define IMG_MAX_BYTES        (50u * 1024u * 1024u) /* "50 MB" in messages */
#define IMG_MAX_SIDE         16384                 /* largest accepted target width/height */
#define IMG_MAX_WIDTH        32768                 /* widest input img_fit_* decodes */
#define IMG_MAX_DECODE_BYTES (32u * 1024u * 1024u) /* whole-image decode buffer, "32 MB" */
#define IMG_ERRMSG_LEN       256

enum img_format { IMG_FORMAT_UNKNOWN = 0, IMG_FORMAT_PNG, IMG_FORMAT_JPEG, IMG_FORMAT_WEBP };

/* crop: scale to cover the target, centre-crop. pad: scale to fit inside
 * (enlarging a small image too, unlike the Python original), centre on black.
 * rescale: stretch to exactly the target (aspect ratio not kept). */
enum img_fit_mode { IMG_FIT_CROP = 0, IMG_FIT_PAD, IMG_FIT_RESCALE };

struct img_info {
    int width, height; /* as stored: before any EXIF orientation is applied */
    enum img_format format;
    bool has_alpha;
};

/* ---- process setup (main thread) ---- */

/* Prepares the environment libvips will read when it is loaded (no module
 * directory). Main thread, before any thread starts; cheap: libvips itself is
 * not loaded here (see vips_dl.h). */
void img_prepare(void);

/* Loads and initialises libvips now (img_prepare included). The heavy
 * functions below do this themselves on first use, on whatever thread runs
 * them, so the server never calls it: tests and tools that want libvips up
 * front do. Sets process-wide libvips policy: no operation cache, one worker
 * thread per pipeline, only the PNG/JPEG/WEBP loaders enabled, vips warnings
 * routed to our log at DEBUG. Returns 0, or SZ_EIO when libvips cannot be
 * loaded or started (the heavy functions then fail with that reason). */
int img_init(void);

/* Releases libvips' global state at exit (after the pool is closed and the
 * loop has stopped). libvips cannot be initialised again afterwards. */
void img_shutdown(void);

/* ---- cheap helpers (any thread) ---- */

/* The format by magic bytes: PNG "\x89PNG\r\n\x1a\n", JPEG "\xff\xd8\xff",
 * WEBP "RIFF....WEBP". buf is borrowed; fewer bytes than a signature give
 * UNKNOWN. Cheap enough for the loop thread. */
enum img_format img_sniff(const void *buf, size_t len);

/* Whether an encoded image in buf (borrowed, len bytes) is whole, by its
 * container's structure, without decoding (whole.c): a PNG's chunks run to IEND,
 * a JPEG reaches its end-of-image marker after a scan, a WEBP holds the bytes its
 * RIFF header claims. The header probe cannot tell: a file cut inside its pixel
 * data probes fine. Returns 0, SZ_ECORRUPT with a sentence ("Truncated image: the
 * PNG ends inside its IDAT chunk (… bytes in all)") or SZ_EUNSUPPORTED (not PNG,
 * JPEG or WEBP by its first bytes). Linear in len; any thread, but meant for the
 * pool on uploads of megabytes. */
int img_check_whole(const void *buf, size_t len, char *errbuf, size_t errlen);

/* The format a filename's extension names (.png, .jpg, .jpeg, .webp; any
 * case), or UNKNOWN. */
enum img_format img_format_from_filename(const char *filename);

/* True when filename's extension names exactly the sniffed format (a .jpg
 * holding a PNG is false, as is any unknown format). */
bool img_filename_matches(const char *filename, enum img_format sniffed);

/* "png", "jpeg", "webp"; "unknown" otherwise. Static strings. */
const char *img_format_name(enum img_format format);
/* "PNG", "JPEG", "WEBP" (Pillow's Image.format spelling); "UNKNOWN". */
const char *img_format_upper_name(enum img_format format);
/* "image/png", "image/jpeg", "image/webp"; "application/octet-stream". */
const char *img_format_mime(enum img_format format);

/* "crop", "pad", "rescale" → 0 and *pmode; anything else SZ_EINVAL. */
int img_fit_mode_parse(const char *name, enum img_fit_mode *pmode);
const char *img_fit_mode_name(enum img_fit_mode mode);

/* ---- heavy, thread-safe (pool threads only) ---- */

/* Reads the header of an encoded image in buf (borrowed, len bytes) into
 * *pinfo without decoding pixels. Returns 0, SZ_ETOOBIG (over IMG_MAX_BYTES
 * or IMG_MAX_PIXELS), SZ_EUNSUPPORTED (not PNG/JPEG/WEBP) or SZ_ECORRUPT
 * (header unreadable). Only the header is checked: a file truncated in its
 * pixel data can still probe fine. */
int img_probe(const void *buf, size_t len, struct img_info *pinfo, char *errbuf, size_t errlen);

/* Fits an encoded image to exactly target_w x target_h (1..IMG_MAX_SIDE) with
 * mode, using Lanczos3 resampling and shrink-on-load where the format allows.
 * The output is an 8-bit sRGB, 3-band RGB PNG (adaptive filtering, zlib
 * level 3, metadata stripped): alpha is flattened onto black (so transparent areas become black
 * like pad's borders, rather than showing whatever colour hides under them);
 * 16-bit, greyscale, CMYK and ICC-tagged inputs are converted to sRGB; EXIF
 * orientation is applied before fitting.
 *
 * In: buf (borrowed, len bytes; must stay valid during the call) or fd (a
 * regular file, borrowed: not closed, its file offset is undefined after).
 * Out on success: *ppng is a new buffer of *ppng_len bytes, owned by the
 * caller, released with free() (libvips allocates it with g_malloc, which is
 * the system malloc since GLib 2.46); *porig (may be NULL) gets the input's
 * header info. On failure *ppng is NULL. Returns 0, SZ_EINVAL (bad target
 * size or not a regular file), SZ_ETOOBIG, SZ_EUNSUPPORTED, SZ_ECORRUPT (bad
 * header or pixel data, truncation included), SZ_EIO (reading fd) or
 * SZ_ENOMEM. */
int img_fit_buffer(const void *buf, size_t len, int target_w, int target_h, enum img_fit_mode mode,
                   uint8_t **ppng, size_t *ppng_len, struct img_info *porig, char *errbuf,
                   size_t errlen);
int img_fit_fd(int fd, int target_w, int target_h, enum img_fit_mode mode, uint8_t **ppng,
               size_t *ppng_len, struct img_info *porig, char *errbuf, size_t errlen);

/* ---- async jobs (call on the loop thread; callbacks on the loop thread) ---- */

/* What an async job reports. Owned by the job and valid only during the
 * callback, except data, which the callback may take: copy the pointer and
 * set res->data = NULL, then release it later with free(). Anything left in
 * res->data is freed when the callback returns.
 *
 * status: 0; SZ_ECANCELLED when the job was cancelled (sz_pool_cancel or
 * sz_pool_close) before it started; else the error of the underlying
 * function. errmsg: never NULL; "" on success. On any failure data is NULL. */
struct img_result {
    int status;
    const char *errmsg;
    void *data; /* per job, below */
    size_t len; /* bytes in data (excluding any NUL) */
    struct img_info info;
};

typedef void img_result_fn(struct img_result *res, void *arg);

/* Each submits one job and returns 0 and (when pjob is non-NULL) a handle for
 * sz_pool_cancel, valid until cb is called; cb(res, arg) then runs exactly
 * once. On a non-zero return (SZ_EINVAL, SZ_ENOMEM, SZ_ECANCELLED: pool
 * closing, SZ_ETOOBIG) cb is never called, and inputs the function takes
 * ownership of have already been released. A running job cannot be
 * stopped: cancel returns SZ_EBUSY and the caller ignores the result. */

/* img_fit_buffer on buf (takes ownership: freed with free() by the job, on
 * every path). Result: data = the PNG (png bytes), info = the ORIGINAL
 * image's header info (width, height, format, has_alpha); the output size is
 * target_w x target_h by contract. */
int img_fit_async(struct sz_pool *pool, void *buf, size_t len, int target_w, int target_h,
                  enum img_fit_mode mode, img_result_fn *cb, void *arg, struct sz_pool_job **pjob);

/* img_fit_fd on fd (takes ownership: closed by the job, on every path).
 * Result as img_fit_async. */
int img_fit_fd_async(struct sz_pool *pool, int fd, int target_w, int target_h,
                     enum img_fit_mode mode, img_result_fn *cb, void *arg,
                     struct sz_pool_job **pjob);

/* Checks an image about to be uploaded, whose bytes then go into the request:
 * img_probe, then img_check_whole (a header that reads and a file that is not cut
 * off). buf (len bytes) stays the caller's: borrowed, it must stay valid and
 * unchanged until cb has run (also when the job is cancelled). Result: data NULL,
 * info = the probe; a failure's status and errmsg are the first check's that
 * failed. */
int img_probe_async(struct sz_pool *pool, const void *buf, size_t len, img_result_fn *cb, void *arg,
                    struct sz_pool_job **pjob);

/* Decodes base64 text (b64, len bytes, borrowed: copied before returning, so
 * the caller may free it at once) and probes the decoded image — for the
 * b64_json / result fields of generated images. Result: data = the decoded
 * bytes (len of them), info = the probe. Invalid base64 → SZ_ECORRUPT; an
 * image that does not probe → its error, and data is NULL. Text obviously
 * larger than IMG_MAX_BYTES encoded → SZ_ETOOBIG at once, nothing copied. */
int img_b64_decode_probe_async(struct sz_pool *pool, const char *b64, size_t len, img_result_fn *cb,
                               void *arg, struct sz_pool_job **pjob);

/* Checks an encoded image as img_probe_async does (bytes, takes ownership: freed
 * with free() by the job) and encodes it as a data URL "data:<mime>;base64,<...>"
 * — for input_images of create_image, which are uploaded inline. Result: data =
 * the NUL-terminated URL (char *, len excludes the NUL), info = the probe. Not
 * PNG/JPEG/WEBP → SZ_EUNSUPPORTED; unreadable or cut off → SZ_ECORRUPT. */
int img_b64_encode_async(struct sz_pool *pool, void *bytes, size_t len, img_result_fn *cb,
                         void *arg, struct sz_pool_job **pjob);

#endif
