/* Memory of fitting big images (imaging/imaging.h, issue 10 item 10): an
 * 81 MP PNG of a few hundred KB took 213 MB of peak RSS to fit, because every
 * stage of libvips' pipeline held hundreds of full-width lines, cutting the
 * middle out of a needle cached every line above it, and interlaced PNGs and
 * progressive JPEGs are decoded whole.
 *
 * Each fit runs in a child process that starts libvips fresh, so two figures
 * are exact for that one fit: libvips' tracked-memory high-water mark
 * (vips_tracked_get_mem_highwater: every pixel buffer libvips allocates,
 * deterministic), and the growth of the process's peak RSS (VmHWM, reset
 * through /proc/self/clear_refs just before the fit), which also counts what
 * the decoders allocate outside libvips (libjpeg's coefficients, libpng's
 * rows). The inputs are written once by another child, so their encoding
 * (which needs whole images in memory for interlaced output) is counted
 * nowhere. The parent never loads libvips. */
#include "fmacros.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <vips/vips.h>

#include "core/err.h"
#include "imaging/imaging.h"

/* Bounds for one fit of any accepted image. Measured after the change:
 * highwater 3-23 MB, RSS growth 3-19 MB; before it: 45-138 MB and
 * 40-280 MB. */
#define MAX_TRACKED_MB  32.0
#define MAX_RSS_GROW_MB 40.0

/* Sanitizers add shadow memory and quarantines to every allocation, so RSS
 * says nothing there; libvips' own count is unaffected and still checked. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define CHECK_RSS 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define CHECK_RSS 0
#endif
#endif
#ifndef CHECK_RSS
#define CHECK_RSS 1
#endif

static char dir[] = "/tmp/sz-imgmem-XXXXXX";

struct fixture {
    const char *name; /* file under dir; the suffix picks libvips' saver */
    const char *save; /* saver options */
    int w, h;
    int bands;
};

static const struct fixture fixtures[] = {
    {"81mp.png", "[compression=9]", 9000, 9000, 3},
    {"81mp-rgba.png", "[compression=9]", 9000, 9000, 4},
    {"tall.png", "[compression=9]", 3000, 32768, 3},
    {"wide.png", "[compression=9]", 32768, 3000, 3},
    {"toowide.png", "[compression=9]", 40000, 100, 3},
    {"81mp.jpg", "[Q=80]", 9000, 9000, 3},
    {"81mp-prog.jpg", "[Q=80,interlace]", 9000, 9000, 3},
    {"81mp-interlaced.png", "[compression=9,interlace]", 9000, 9000, 3},
    {"small-interlaced.png", "[interlace]", 1500, 1500, 3},
    {"small-prog.jpg", "[Q=80,interlace]", 2000, 2000, 3},
};

/* A pattern computed lazily while the saver pulls rows: x and y mod 256. */
static int write_fixture(const struct fixture *f)
{
    VipsImage *xyz = NULL, *mod = NULL, *more = NULL, *u8 = NULL, *out = NULL;
    char path[256];
    int rc = -1;

    snprintf(path, sizeof path, "%s/%s%s", dir, f->name, f->save);
    if (vips_xyz(&xyz, f->w, f->h, NULL) != 0 || vips_remainder_const1(xyz, &mod, 256, NULL) != 0)
        goto out;
    if (f->bands > 2) {
        double c[2] = {128, 255};
        if (vips_bandjoin_const(mod, &more, c, f->bands - 2, NULL) != 0)
            goto out;
    } else {
        more = mod;
        g_object_ref(more);
    }
    if (vips_cast_uchar(more, &u8, NULL) != 0 ||
        vips_copy(u8, &out, "interpretation", VIPS_INTERPRETATION_sRGB, NULL) != 0)
        goto out;
    rc = vips_image_write_to_file(out, path, NULL);
out:
    if (rc != 0)
        fprintf(stderr, "writing %s: %s\n", path, vips_error_buffer());
    if (xyz)
        g_object_unref(xyz);
    if (mod)
        g_object_unref(mod);
    if (more)
        g_object_unref(more);
    if (u8)
        g_object_unref(u8);
    if (out)
        g_object_unref(out);
    return rc;
}

static int setup(void **state)
{
    pid_t pid;
    int status = 0;

    (void)state;
    if (mkdtemp(dir) == NULL)
        return -1;
    pid = fork();
    if (pid == 0) {
        if (VIPS_INIT("test_imaging_memory") != 0)
            _exit(1);
        for (size_t i = 0; i < sizeof fixtures / sizeof fixtures[0]; i++)
            if (write_fixture(&fixtures[i]) != 0)
                _exit(1);
        _exit(0);
    }
    if (pid < 0 || waitpid(pid, &status, 0) != pid)
        return -1;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    char path[256];

    (void)state;
    for (size_t i = 0; i < sizeof fixtures / sizeof fixtures[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, fixtures[i].name);
        unlink(path);
    }
    rmdir(dir);
    return 0;
}

/* A field of /proc/self/status in kB, or -1. */
static long status_kb(const char *field)
{
    char line[256];
    size_t n = strlen(field);
    long kb = -1;
    FILE *f = fopen("/proc/self/status", "r");

    if (f == NULL)
        return -1;
    while (fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, field, n) == 0 && line[n] == ':')
            kb = strtol(line + n + 1, NULL, 10);
    fclose(f);
    return kb;
}

static int reset_peak_rss(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "w");

    if (f == NULL)
        return -1;
    fputs("5", f);
    return fclose(f);
}

struct measure {
    int rc;
    char err[IMG_ERRMSG_LEN];
    double tracked_mb;  /* libvips' high-water mark during the fit */
    double rss_grow_mb; /* peak RSS during the fit minus RSS before it */
};

/* Fits dir/name to tw x th in a fresh child process; the figures come back
 * through a pipe. */
static struct measure measure_fit(const char *name, int tw, int th, enum img_fit_mode mode)
{
    struct measure m = {.rc = SZ_EIO};
    int fds[2];
    pid_t pid;

    assert_int_equal(pipe(fds), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char path[256];
        uint8_t *png = NULL;
        size_t len = 0;
        int fd;
        long rss;

        close(fds[0]);
        snprintf(path, sizeof path, "%s/%s", dir, name);
        fd = open(path, O_RDONLY);
        /* libvips' one-time allocations (its types, the loaders' tables)
         * happen in a first fit of four bytes (refused), not in the
         * measured one. */
        if (fd < 0 || img_init() != 0 ||
            img_fit_buffer("\x89PNG", 4, 8, 8, IMG_FIT_CROP, &png, &len, NULL, NULL, 0) == 0)
            _exit(1);
        if (reset_peak_rss() != 0)
            _exit(2);
        rss = status_kb("VmRSS");
        m.rc = img_fit_fd(fd, tw, th, mode, &png, &len, NULL, m.err, sizeof m.err);
        m.rss_grow_mb = (double)(status_kb("VmHWM") - rss) / 1024.0;
        m.tracked_mb = (double)vips_tracked_get_mem_highwater() / (1024.0 * 1024.0);
        free(png);
        if (write(fds[1], &m, sizeof m) != (ssize_t)sizeof m)
            _exit(3);
        _exit(0);
    }
    close(fds[1]);
    assert_int_equal(read(fds[0], &m, sizeof m), (ssize_t)sizeof m);
    close(fds[0]);
    assert_int_equal(waitpid(pid, NULL, 0), pid);
    print_message("%-22s -> %dx%d %-7s %s tracked %.1f MB, RSS +%.1f MB\n", name, tw, th,
                  img_fit_mode_name(mode), m.rc == 0 ? "ok" : sz_errname(m.rc), m.tracked_mb,
                  m.rss_grow_mb);
    return m;
}

static void assert_small(const struct measure *m)
{
    if (m->tracked_mb > MAX_TRACKED_MB || (CHECK_RSS && m->rss_grow_mb > MAX_RSS_GROW_MB))
        fail_msg("fit took %.1f MB tracked (limit %.0f), RSS +%.1f MB (limit %.0f)", m->tracked_mb,
                 MAX_TRACKED_MB, m->rss_grow_mb, MAX_RSS_GROW_MB);
}

static void fits_small(const char *name, int tw, int th, enum img_fit_mode mode)
{
    struct measure m = measure_fit(name, tw, th, mode);

    if (m.rc != 0)
        fail_msg("fit of %s: %s (%s)", name, sz_errname(m.rc), m.err);
    assert_small(&m);
}

/* The case: an 81 MP PNG of a few hundred KB, in every mode. */
static void test_81mp_png(void **state)
{
    (void)state;
    fits_small("81mp.png", 1280, 720, IMG_FIT_CROP);
    fits_small("81mp.png", 720, 1280, IMG_FIT_PAD);
    fits_small("81mp.png", 1792, 1024, IMG_FIT_RESCALE);
    fits_small("81mp-rgba.png", 1280, 720, IMG_FIT_CROP);
}

/* The widest accepted image, and the middle of a tall one (a crop that cuts
 * its area out of the source, after 15,000 lines nobody needs). */
static void test_extremes(void **state)
{
    (void)state;
    fits_small("wide.png", 1280, 720, IMG_FIT_CROP);
    fits_small("wide.png", 1280, 720, IMG_FIT_PAD);
    fits_small("tall.png", 1280, 720, IMG_FIT_CROP);
    fits_small("tall.png", 720, 1280, IMG_FIT_RESCALE);
}

static void test_81mp_jpeg(void **state)
{
    (void)state;
    fits_small("81mp.jpg", 1280, 720, IMG_FIT_CROP);
    fits_small("81mp.jpg", 1024, 1792, IMG_FIT_PAD);
}

/* Images that only decode whole are refused past IMG_MAX_DECODE_BYTES, before
 * anything is decoded, with a sentence that says what would work; small ones
 * still fit. */
static void test_whole_image_decoders(void **state)
{
    struct measure m;

    (void)state;
    m = measure_fit("81mp-interlaced.png", 1280, 720, IMG_FIT_CROP);
    assert_int_equal(m.rc, SZ_ETOOBIG);
    assert_non_null(strstr(m.err, "interlaced PNG"));
    assert_non_null(strstr(m.err, "non-interlaced"));
    assert_small(&m);
    m = measure_fit("81mp-prog.jpg", 1280, 720, IMG_FIT_CROP);
    assert_int_equal(m.rc, SZ_ETOOBIG);
    assert_non_null(strstr(m.err, "progressive JPEG"));
    assert_non_null(strstr(m.err, "baseline JPEG"));
    assert_small(&m);
    fits_small("small-interlaced.png", 1280, 720, IMG_FIT_CROP);
    fits_small("small-prog.jpg", 1280, 720, IMG_FIT_PAD);
}

static void test_too_wide(void **state)
{
    struct measure m = measure_fit("toowide.png", 1280, 720, IMG_FIT_PAD);

    (void)state;
    assert_int_equal(m.rc, SZ_ETOOBIG);
    assert_non_null(strstr(m.err, "too wide"));
    assert_small(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_81mp_png),  cmocka_unit_test(test_extremes),
        cmocka_unit_test(test_81mp_jpeg), cmocka_unit_test(test_whole_image_decoders),
        cmocka_unit_test(test_too_wide),
    };

    if (getenv("SZ_TEST_FILTER") != NULL)
        cmocka_set_test_filter(getenv("SZ_TEST_FILTER"));
    return cmocka_run_group_tests(tests, setup, teardown);
}
