/* Unit tests for bad input to the audio jobs (audio/audio.h): empty files,
 * text, images, garbage behind a valid signature, codecs we do not decode,
 * truncation in every container that states its length, a header claiming
 * ten hours, a file that only turns out too long while decoding, too many
 * channels, descriptors that are not regular files. Each must give its
 * error code and one sentence, and leave the output empty: nothing is
 * written before the input has passed its checks. */
#include "fmacros.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdbool.h>

#include "audio/audio.h"
#include "audio_fixtures.h"

/* A temporary file holding len bytes. */
static int file_of(const void *bytes, size_t len)
{
    int fd = fx_tmpfd();

    assert_true(fd >= 0);
    if (len > 0)
        assert_int_equal(pwrite(fd, bytes, len, 0), (ssize_t)len);
    return fd;
}

/* Runs every job on in and checks each fails with want, mentions what
 * (when not NULL), and writes nothing. The cut spans the whole file: a cut
 * whose window ends before the damage of a truncated file is fine. */
static void expect_all_fail(int in, int want, const char *what)
{
    struct audio_encode enc = AUDIO_ENCODE_CONVERT(AUDIO_FORMAT_MP3);
    char err[AUDIO_ERRMSG_LEN];
    int out = fx_tmpfd();
    int rc[5];

    rc[0] = audio_convert(in, out, &enc, NULL, NULL, err, sizeof err);
    if (what != NULL && strstr(err, what) == NULL)
        fail_msg("\"%s\" does not mention \"%s\"", err, what);
    rc[1] = audio_compress(in, out, 1 << 20, NULL, NULL, err, sizeof err);
    rc[2] = audio_cut(in, out, 0.0, 3600.0, &enc, NULL, NULL, err, sizeof err);
    rc[3] = audio_concat(&in, 1, out, &enc, NULL, NULL, err, sizeof err);
    rc[4] = audio_probe(in, AUDIO_PROBE_DECODE, NULL, NULL, err, sizeof err);
    for (int i = 0; i < 5; i++)
        if (rc[i] != want)
            fail_msg("job %d returned %d, expected %d (%s)", i, rc[i], want, err);
    assert_true(strlen(err) > 10);
    assert_int_equal(fx_size(out), 0);
    close(out);
}

static void test_not_audio(void **state)
{
    static const char text[] = "Once upon a time, this was not audio at all.\n";
    static const uint8_t png[] = "\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02";
    static const uint8_t adts[] = "\xff\xf1\x50\x80\x02\x1f\xfc\x21\x00\x49\x90\x02\x19";
    uint8_t aiff[64] = "FORM\0\0\0\x2e"
                       "AIFFCOMM";
    int fd;

    (void)state;
    fd = file_of("", 0);
    expect_all_fail(fd, SZ_EUNSUPPORTED, "empty");
    close(fd);
    fd = file_of(text, sizeof text - 1);
    expect_all_fail(fd, SZ_EUNSUPPORTED, "not audio");
    close(fd);
    fd = file_of(png, sizeof png - 1);
    expect_all_fail(fd, SZ_EUNSUPPORTED, NULL);
    close(fd);
    fd = file_of(adts, sizeof adts - 1);
    expect_all_fail(fd, SZ_EUNSUPPORTED, NULL);
    close(fd);
    fd = file_of(aiff, sizeof aiff);
    expect_all_fail(fd, SZ_EUNSUPPORTED, NULL);
    close(fd);
}

/* A valid signature in front of noise. */
static void test_garbage_behind_magic(void **state)
{
    static const char *const magics[] = {"fLaC",
                                         "OggS",
                                         "\x1a\x45\xdf\xa3",
                                         "\0\0\0\x18"
                                         "ftypM4A ",
                                         "\xff\xfb\x90\x64",
                                         "\0\0\x01\xba"};
    static const size_t lens[] = {4, 4, 4, 12, 4, 4};

    (void)state;
    for (size_t i = 0; i < sizeof magics / sizeof magics[0]; i++) {
        uint8_t buf[8192];
        uint32_t seed = 99 + (uint32_t)i;
        int fd;

        for (size_t k = 0; k < sizeof buf; k++) {
            seed = seed * 1103515245u + 12345u;
            buf[k] = (uint8_t)(seed >> 16);
        }
        memcpy(buf, magics[i], lens[i]);
        fd = file_of(buf, sizeof buf);
        expect_all_fail(fd, SZ_ECORRUPT, NULL);
        close(fd);
    }
}

/* A WAV of GSM 6.10 (format tag 0x31): a codec we do not decode. */
static void test_unsupported_codec(void **state)
{
    uint8_t wav[44 + 650] = {0};
    int fd;

    (void)state;
    fx_wav_header(wav, 8000, 1, 0, 0x31, 650);
    fd = file_of(wav, sizeof wav);
    expect_all_fail(fd, SZ_EUNSUPPORTED, "gsm");
    close(fd);
}

static void truncate_to(int fd, double fraction)
{
    assert_int_equal(ftruncate(fd, (off_t)((double)fx_size(fd) * fraction)), 0);
}

/* Cut short: the header promises more than is there. */
static void test_truncated(void **state)
{
    static const enum audio_format formats[] = {
        AUDIO_FORMAT_MP3, AUDIO_FORMAT_FLAC, AUDIO_FORMAT_M4A, AUDIO_FORMAT_WEBM, AUDIO_FORMAT_OGG};
    struct audio_info info;
    char err[AUDIO_ERRMSG_LEN];
    int fd;

    (void)state;
    fd = fx_wav(16000, 1, 4.0, FX_SPEECH);
    truncate_to(fd, 0.5);
    /* A plain probe reports the 2 s that are there; decoding, which every
     * job does, finds the header's promise of 4 s broken. */
    assert_int_equal(audio_probe(fd, 0, NULL, &info, err, sizeof err), 0);
    assert_true(fabs(info.duration - 2.0) < 0.01);
    expect_all_fail(fd, SZ_ECORRUPT, "truncated");
    close(fd);
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++) {
        fd = fx_encoded(formats[i], 16000, 1, 6.0, FX_SPEECH, 0);
        assert_true(fd >= 0);
        truncate_to(fd, 0.5);
        expect_all_fail(fd, SZ_ECORRUPT, NULL);
        close(fd);
    }
}

/* A ten-hour file (sparse: 576 MB of silence that take no disk) is refused
 * from its header before any work. */
static void test_ten_hours(void **state)
{
    uint8_t h[44];
    struct audio_info info;
    char err[AUDIO_ERRMSG_LEN];
    int fd = fx_tmpfd(), out = fx_tmpfd();
    struct audio_encode enc = AUDIO_ENCODE_CONVERT(AUDIO_FORMAT_WAV);
    const uint32_t bytes = 10u * 3600u * 16000u;

    (void)state;
    fx_wav_header(h, 8000, 1, 16, 1, bytes);
    assert_int_equal(pwrite(fd, h, sizeof h, 0), (ssize_t)sizeof h);
    assert_int_equal(ftruncate(fd, (off_t)sizeof h + bytes), 0);
    assert_int_equal(audio_probe(fd, 0, NULL, &info, err, sizeof err), SZ_ETOOBIG);
    assert_true(fabs(info.duration - 36000) < 1);
    assert_non_null(strstr(err, "longer than"));
    assert_int_equal(audio_convert(fd, out, &enc, NULL, NULL, err, sizeof err), SZ_ETOOBIG);
    assert_int_equal(audio_compress(fd, out, 1 << 20, NULL, NULL, err, sizeof err), SZ_ETOOBIG);
    assert_int_equal(audio_cut(fd, out, 0, 90, &enc, NULL, NULL, err, sizeof err), SZ_ETOOBIG);
    assert_int_equal(audio_concat(&fd, 1, out, &enc, NULL, NULL, err, sizeof err), SZ_ETOOBIG);
    assert_int_equal(fx_size(out), 0);
    close(fd);
    close(out);
}

/* A header claiming ten hours over one second of data is a truncated file. */
static void test_ten_hours_claimed(void **state)
{
    uint8_t wav[44 + 16000] = {0};
    int fd;

    (void)state;
    fx_wav_header(wav, 8000, 1, 16, 1, 10u * 3600u * 16000u);
    fd = file_of(wav, sizeof wav);
    expect_all_fail(fd, SZ_ECORRUPT, "truncated");
    close(fd);
}

/* Removes the Xing/Info tag of one of our MP3s, so that the header no longer
 * states the length (libav then estimates it from the bit rate). */
static void strip_xing(int fd)
{
    uint8_t head[4096];
    ssize_t n = pread(fd, head, sizeof head, 0);

    assert_true(n > 0);
    for (ssize_t i = 0; i + 4 <= n; i++) {
        if (memcmp(head + i, "Info", 4) == 0 || memcmp(head + i, "Xing", 4) == 0) {
            assert_int_equal(pwrite(fd, "Junk", 4, i), 4);
            return;
        }
    }
    fail_msg("no Xing/Info tag in our MP3");
}

/* A file whose header does not tell its length: a probe measures it by
 * demuxing; a job stops it as soon as decoding passes the limit. */
static void test_long_found_while_decoding(void **state)
{
    struct audio_encode enc = AUDIO_ENCODE_CONVERT(AUDIO_FORMAT_WAV);
    struct audio_opts opts = {.max_duration = 4.0};
    struct audio_info info;
    char err[AUDIO_ERRMSG_LEN];
    int fd = fx_encoded(AUDIO_FORMAT_MP3, 16000, 1, 5.0, FX_SPEECH, 32000), out = fx_tmpfd();

    (void)state;
    assert_true(fd >= 0);
    strip_xing(fd);
    assert_int_equal(audio_probe(fd, 0, NULL, &info, err, sizeof err), 0);
    assert_int_equal(info.duration_source, AUDIO_DURATION_SCAN);
    assert_true(fabs(info.duration - 5.0) < 0.1);
    assert_int_equal(audio_probe(fd, 0, &opts, &info, err, sizeof err), SZ_ETOOBIG);
    assert_int_equal(audio_convert(fd, out, &enc, &opts, NULL, err, sizeof err), SZ_ETOOBIG);
    assert_non_null(strstr(err, "longer than"));
    assert_int_equal(fx_size(out), 0);
    /* Within the limit it converts. */
    opts.max_duration = 6.0;
    assert_int_equal(audio_convert(fd, out, &enc, &opts, NULL, err, sizeof err), 0);
    close(fd);
    close(out);
}

static void test_too_many_channels(void **state)
{
    int fd = fx_wav(8000, 20, 0.1, FX_TONE);

    (void)state;
    expect_all_fail(fd, SZ_ETOOBIG, "channels");
    close(fd);
}

static void test_not_regular(void **state)
{
    struct audio_encode enc = AUDIO_ENCODE_CONVERT(AUDIO_FORMAT_MP3);
    char err[AUDIO_ERRMSG_LEN];
    int p[2], wav = fx_wav(8000, 1, 0.5, FX_TONE);

    (void)state;
    assert_int_equal(pipe(p), 0);
    assert_int_equal(audio_probe(p[0], 0, NULL, NULL, err, sizeof err), SZ_EINVAL);
    assert_int_equal(audio_convert(p[0], wav, &enc, NULL, NULL, err, sizeof err), SZ_EINVAL);
    /* An output that is not a regular file is refused too (the muxers seek
     * back to fill in their headers). */
    assert_int_equal(audio_convert(wav, p[1], &enc, NULL, NULL, err, sizeof err), SZ_EINVAL);
    assert_non_null(strstr(err, "regular file"));
    assert_int_equal(audio_probe(-1, 0, NULL, NULL, err, sizeof err), SZ_EINVAL);
    /* No encoder settings, bad settings. */
    assert_int_equal(audio_convert(wav, wav, NULL, NULL, NULL, err, sizeof err), SZ_EINVAL);
    close(p[0]);
    close(p[1]);
    close(wav);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_not_audio),
        cmocka_unit_test(test_garbage_behind_magic),
        cmocka_unit_test(test_unsupported_codec),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_ten_hours),
        cmocka_unit_test(test_ten_hours_claimed),
        cmocka_unit_test(test_long_found_while_decoding),
        cmocka_unit_test(test_too_many_channels),
        cmocka_unit_test(test_not_regular),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
