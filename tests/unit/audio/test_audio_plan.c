/* Unit tests for the pure half of the audio layer (audio/audio.h): the
 * windows of long transcriptions (AUDIO.md: 90 s every 75 s, the last one
 * ending at the end and lasting 15-90 s), the MP3 size estimate and
 * compress_audio's ladder, the join of overlapping transcripts (difflib's
 * longest match, ties, the 4-word threshold, punctuation and case), and the
 * chunking of long text-to-speech input (separator priority, last
 * occurrence, hard cuts on code points). No libav is loaded here. */
#include "fmacros.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audio/audio.h"
#include "audio/av_dl.h"
#include "core/err.h"

/* ---- windows ---- */

static void expect_windows(double duration, const double (*want)[2], size_t n)
{
    struct audio_window *w = NULL;
    size_t count = 99;

    assert_int_equal(audio_plan_windows(duration, AUDIO_WINDOW_S, AUDIO_STRIDE_S, &w, &count), 0);
    assert_int_equal(count, n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(w[i].index, (int)i);
        assert_true(fabs(w[i].start - want[i][0]) < 1e-9);
        assert_true(fabs(w[i].end - want[i][1]) < 1e-9);
    }
    free(w);
}

static void test_windows_table(void **state)
{
    static const double one[][2] = {{0, 60}};
    static const double exact[][2] = {{0, 90}};
    static const double two[][2] = {{0, 90}, {75, 91}};
    static const double pinned[][2] = {{0, 90}, {75, 165}};
    static const double three[][2] = {{0, 90}, {75, 165}, {150, 165.5}};

    (void)state;
    expect_windows(60, one, 1);
    expect_windows(90, exact, 1);
    expect_windows(91, two, 2);
    expect_windows(165, pinned, 2);
    expect_windows(165.5, three, 3);
    expect_windows(0, NULL, 0);
    expect_windows(-3, NULL, 0);
}

/* Every duration from just over the threshold to 20 minutes: windows start
 * every 75 s from 0, last 90 s except the last, which ends at the end and
 * lasts more than 15 s; together they cover everything with 15 s overlaps. */
static void test_windows_properties(void **state)
{
    (void)state;
    for (double d = AUDIO_WINDOW_THRESHOLD_S + 0.25; d < 1200; d += 7.3) {
        struct audio_window *w = NULL;
        size_t n = 0;

        assert_int_equal(audio_plan_windows(d, AUDIO_WINDOW_S, AUDIO_STRIDE_S, &w, &n), 0);
        assert_true(n >= 2);
        for (size_t i = 0; i < n; i++) {
            assert_true(fabs(w[i].start - 75.0 * (double)i) < 1e-9);
            if (i + 1 < n)
                assert_true(fabs(w[i].end - w[i].start - 90.0) < 1e-9);
        }
        assert_true(w[n - 1].end == d);
        assert_true(w[n - 1].end - w[n - 1].start > 15.0);
        assert_true(w[n - 1].end - w[n - 1].start <= 90.0);
        free(w);
    }
}

static void test_windows_bad_args(void **state)
{
    struct audio_window *w = (struct audio_window *)1;
    size_t n = 7;

    (void)state;
    assert_int_equal(audio_plan_windows(100, 90, 0, &w, &n), SZ_EINVAL);
    assert_null(w);
    assert_int_equal(n, 0);
    assert_int_equal(audio_plan_windows(100, 75, 90, &w, &n), SZ_EINVAL);
    assert_int_equal(audio_plan_windows(NAN, 90, 75, &w, &n), SZ_EINVAL);
    assert_int_equal(audio_plan_windows(INFINITY, 90, 75, &w, &n), SZ_EINVAL);
    assert_int_equal(audio_plan_windows(1e12, 90, 75, &w, &n), SZ_EINVAL);
}

/* ---- compress plan ---- */

static void test_mp3_estimate(void **state)
{
    struct audio_mp3_setting s = {128000, 44100, 2};
    int64_t e60 = audio_mp3_estimate(60, &s);

    (void)state;
    /* 60 s at 128 kbps is 960,000 bytes of frames: the estimate bounds it
     * from above, by little. */
    assert_true(e60 > 960000);
    assert_true(e60 < 960000 * 102 / 100 + 16384);
    s = (struct audio_mp3_setting){8000, 8000, 1};
    assert_true(audio_mp3_estimate(3600, &s) > 3600000);
    assert_true(audio_mp3_estimate(3600, &s) < 3700000 + 16384);
}

static void test_mp3_bit_rates(void **state)
{
    (void)state;
    assert_int_equal(audio_mp3_bit_rate(128000, 44100), 128000);
    assert_int_equal(audio_mp3_bit_rate(8000, 44100), 32000);
    assert_int_equal(audio_mp3_bit_rate(640000, 48000), 320000);
    assert_int_equal(audio_mp3_bit_rate(192000, 24000), 160000);
    assert_int_equal(audio_mp3_bit_rate(128000, 11025), 64000);
    assert_int_equal(audio_mp3_bit_rate(8000, 8000), 8000);
}

static void test_compress_ladder(void **state)
{
    struct audio_mp3_setting s;
    const int64_t mb = 1048576;
    int tier;

    (void)state;
    /* A minute of CD audio fits 25 MB at the top setting. */
    tier = 0;
    assert_int_equal(audio_plan_compress(60, 44100, 2, 25 * mb, &s, &tier), 0);
    assert_int_equal(tier, 0);
    assert_int_equal(s.bit_rate, 128000);
    assert_int_equal(s.channels, 2);
    assert_int_equal(s.sample_rate, 44100);
    /* An hour in 25 MB: 25 MiB / 3600 s = 58 kbps -> 48k mono 32 kHz. */
    tier = 0;
    assert_int_equal(audio_plan_compress(3600, 48000, 2, 25 * mb, &s, &tier), 0);
    assert_int_equal(s.bit_rate, 48000);
    assert_int_equal(s.channels, 1);
    assert_int_equal(s.sample_rate, 32000);
    assert_true(audio_mp3_estimate(3600, &s) <= 25 * mb);
    /* Four hours in 25 MB: 14.6 kbps -> 8k. */
    tier = 0;
    assert_int_equal(audio_plan_compress(4 * 3600, 44100, 2, 25 * mb, &s, &tier), 0);
    assert_int_equal(s.bit_rate, 8000);
    assert_int_equal(s.sample_rate, 8000);
    /* A 48 kHz input keeps 48 kHz at the top; a mono one stays mono; a
     * 24 kHz one (OpenAI speech) is never raised to 44.1 kHz. */
    tier = 0;
    assert_int_equal(audio_plan_compress(10, 48000, 1, 25 * mb, &s, &tier), 0);
    assert_int_equal(s.sample_rate, 48000);
    assert_int_equal(s.channels, 1);
    tier = 0;
    assert_int_equal(audio_plan_compress(10, 24000, 1, 25 * mb, &s, &tier), 0);
    assert_int_equal(s.sample_rate, 24000);
    /* Stepping down from a given tier. */
    tier = 1;
    assert_int_equal(audio_plan_compress(60, 44100, 2, 25 * mb, &s, &tier), 0);
    assert_int_equal(tier, 1);
    assert_int_equal(s.bit_rate, 96000);
    /* Nothing fits: 20 minutes in 1 MB needs 7 kbps. */
    tier = 0;
    assert_int_equal(audio_plan_compress(1200, 44100, 2, mb, &s, &tier), SZ_ETOOBIG);
    tier = 8;
    assert_int_equal(audio_plan_compress(1, 44100, 2, 25 * mb, &s, &tier), SZ_ETOOBIG);
    tier = 0;
    assert_int_equal(audio_plan_compress(NAN, 44100, 2, mb, &s, &tier), SZ_EINVAL);
    assert_int_equal(audio_plan_compress(10, 0, 2, mb, &s, &tier), SZ_EINVAL);
}

/* Every tier chosen for a range of durations and limits fits the limit. */
static void test_compress_fits_everywhere(void **state)
{
    (void)state;
    for (int mbs = 1; mbs <= 1000; mbs = mbs * 3 + 1) {
        for (double d = 1; d < 4 * 3600; d *= 1.7) {
            struct audio_mp3_setting s;
            int tier = 0;
            int rc = audio_plan_compress(d, 44100, 2, (int64_t)mbs * 1048576, &s, &tier);

            if (rc == 0)
                assert_true(audio_mp3_estimate(d, &s) <= (int64_t)mbs * 1048576);
            else
                assert_true(d * 1000.0 > (double)mbs * 1048576 * 0.9); /* past 8 kbps */
        }
    }
}

/* ---- the join ---- */

static void expect_join(const char *const *texts, size_t n, const char *want)
{
    char *got = NULL;

    assert_int_equal(audio_join_transcripts(texts, n, &got), 0);
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

static void test_join_overlap(void **state)
{
    (void)state;
    {
        /* Four words of overlap, with case and punctuation differing. */
        const char *t[] = {"We went to the old mill by the river.",
                           "mill, by the River and then we walked home."};
        expect_join(t, 2, "We went to the old mill by the river. and then we walked home.");
    }
    {
        /* Three words are not enough: everything is kept. */
        const char *t[] = {"one two three four by the river", "by the river five six"};
        expect_join(t, 2, "one two three four by the river by the river five six");
    }
    {
        /* Empty and missing windows are skipped; whitespace collapses. */
        const char *t[] = {"", "  alpha  beta\tgamma\n", NULL, "   ", "delta"};
        expect_join(t, 5, "alpha beta gamma delta");
    }
    {
        const char *t[] = {NULL};
        expect_join(t, 1, "");
    }
    {
        /* Unicode dashes and ellipses are stripped like ASCII punctuation. */
        const char *t[] = {"so it goes \xe2\x80\x94 and then\xe2\x80\xa6 we ran",
                           "and then we ran \xe2\x80\x93"
                           "fast"};
        expect_join(t, 2,
                    "so it goes \xe2\x80\x94 and then\xe2\x80\xa6 we ran \xe2\x80\x93"
                    "fast");
    }
}

/* A longer run wins over an earlier one; of equal runs, the earliest in the
 * merged words wins (difflib's rule). */
static void test_join_ties(void **state)
{
    (void)state;
    {
        /* The longest run decides, not the earliest: n1..n5 (5 words) over
         * m1..m4 (4), so the new words resume after n5. */
        const char *t[] = {"m1 m2 m3 m4 z n1 n2 n3 n4 n5", "n1 n2 n3 n4 n5 y m1 m2 m3 m4 k"};
        expect_join(t, 2, "m1 m2 m3 m4 z n1 n2 n3 n4 n5 y m1 m2 m3 m4 k");
    }
    {
        /* The same run twice in the new words: the earliest there wins, so
         * the words after its first occurrence are kept. */
        const char *t[] = {"x y z w p1 p2 p3 p4 p5 p6", "x y z w q x y z w r"};
        expect_join(t, 2, "x y z w p1 p2 p3 p4 p5 p6 q x y z w r");
    }
    {
        /* Two different runs of equal length: the one starting earliest in
         * the merged words decides where the new words resume. */
        const char *t[] = {"k1 k2 k3 k4 j j j1 j2 j3 j4", "j1 j2 j3 j4 mid k1 k2 k3 k4 end"};
        expect_join(t, 2, "k1 k2 k3 k4 j j j1 j2 j3 j4 end");
    }
}

/* At most the last/first 400 words are compared: a run 450 words back is
 * not an overlap, although it would be with a longer span. */
static void test_join_span(void **state)
{
    char *a = malloc(8 * 1000 + 64), *b = malloc(8 * 600 + 64), *got = NULL;
    size_t la = 0, lb = 0;
    const char *t[2];

    (void)state;
    assert_non_null(a);
    assert_non_null(b);
    for (int i = 0; i < 1000; i++)
        la += (size_t)sprintf(a + la, "%sw%d", i ? " " : "", i);
    lb += (size_t)sprintf(b, "w550 w551 w552 w553 w554");
    for (int i = 0; i < 495; i++)
        lb += (size_t)sprintf(b + lb, " n%d", i);
    t[0] = a;
    t[1] = b;
    assert_int_equal(audio_join_transcripts(t, 2, &got), 0);
    assert_non_null(strstr(got, "w999 w550 w551 w552 w553 w554 n0 "));
    free(got);
    /* Within the span it is one: w995..w999 begin the new words. */
    lb = (size_t)sprintf(b, "w995 w996 w997 w998 w999 n0 n1");
    assert_int_equal(audio_join_transcripts(t, 2, &got), 0);
    assert_non_null(strstr(got, "w998 w999 n0 n1"));
    assert_null(strstr(got, "w999 w995"));
    free(got);
    free(a);
    free(b);
}

/* ---- TTS chunks ---- */

static char *spans_text(const char *text, const struct audio_span *s)
{
    char *c = malloc(s->len + 1);

    assert_non_null(c);
    memcpy(c, text + s->off, s->len);
    c[s->len] = '\0';
    return c;
}

static void test_tts_short(void **state)
{
    struct audio_span *s = NULL;
    size_t n = 0;

    (void)state;
    assert_int_equal(audio_split_tts("Hello there.", 12, 4000, &s, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(s[0].off, 0);
    assert_int_equal(s[0].len, 12);
    free(s);
    assert_int_equal(audio_split_tts("", 0, 4000, &s, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(s[0].len, 0);
    free(s);
    assert_int_equal(audio_split_tts("x", 1, 0, &s, &n), SZ_EINVAL);
}

static void test_tts_priority(void **state)
{
    /* max 20: "Hi, there! Is it. " has ", " and "! " and ". "; ". " comes
     * first in the priority list, and its LAST occurrence counts. */
    const char *text = "A b. Hi, there! Is it. More words follow";
    struct audio_span *s = NULL;
    size_t n = 0;
    char *c0;

    (void)state;
    assert_int_equal(audio_split_tts(text, strlen(text), 24, &s, &n), 0);
    assert_true(n >= 2);
    c0 = spans_text(text, &s[0]);
    assert_string_equal(c0, "A b. Hi, there! Is it. ");
    free(c0);
    /* The spans tile the text. */
    {
        size_t at = 0;

        for (size_t i = 0; i < n; i++) {
            assert_int_equal(s[i].off, at);
            at += s[i].len;
        }
        assert_int_equal(at, strlen(text));
    }
    free(s);
}

static void test_tts_fallbacks(void **state)
{
    struct audio_span *s = NULL;
    size_t n = 0;
    char *c;

    (void)state;
    /* No sentence end: ", " then a newline then a space. */
    {
        const char *text = "aaa, bbb ccc\nddd eee fff";
        assert_int_equal(audio_split_tts(text, strlen(text), 10, &s, &n), 0);
        c = spans_text(text, &s[0]);
        assert_string_equal(c, "aaa, ");
        free(c);
        free(s);
    }
    {
        const char *text = "abc def\nghijklmnopq";
        assert_int_equal(audio_split_tts(text, strlen(text), 10, &s, &n), 0);
        c = spans_text(text, &s[0]);
        assert_string_equal(c, "abc def\n");
        free(c);
        free(s);
    }
    /* No separator at all: a hard cut at max code points, never inside one
     * (each "é" is 2 bytes). */
    {
        char text[64];

        for (int i = 0; i < 25; i++)
            memcpy(text + 2 * i, "\xc3\xa9", 2);
        assert_int_equal(audio_split_tts(text, 50, 10, &s, &n), 0);
        assert_int_equal(n, 3);
        assert_int_equal(s[0].len, 20);
        assert_int_equal(s[1].off, 20);
        assert_int_equal(s[1].len, 20);
        assert_int_equal(s[2].len, 10);
        free(s);
    }
    /* A separator straddling the window's end does not count. */
    {
        const char *text = "abcdefghi. jkl";
        assert_int_equal(audio_split_tts(text, strlen(text), 10, &s, &n), 0);
        c = spans_text(text, &s[0]);
        assert_string_equal(c, "abcdefghi.");
        free(c);
        free(s);
    }
}

/* 9,000 characters of sentences become three chunks, each at most 4000
 * code points and ending at a sentence. */
static void test_tts_long(void **state)
{
    char *text = malloc(9100);
    size_t len = 0, n = 0;
    struct audio_span *s = NULL;

    (void)state;
    assert_non_null(text);
    while (len < 9000)
        len += (size_t)sprintf(text + len, "Sentence number %zu is here. ", len);
    assert_int_equal(audio_split_tts(text, len, AUDIO_TTS_CHUNK_CHARS, &s, &n), 0);
    assert_int_equal(n, 3);
    for (size_t i = 0; i < n; i++) {
        assert_true(s[i].len <= AUDIO_TTS_CHUNK_CHARS);
        if (i + 1 < n)
            assert_memory_equal(text + s[i].off + s[i].len - 2, ". ", 2);
    }
    free(s);
    free(text);
}

/* Nothing here loaded libav. */
static void test_no_libav(void **state)
{
    (void)state;
    assert_false(sz_av_loaded());
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_windows_table),
        cmocka_unit_test(test_windows_properties),
        cmocka_unit_test(test_windows_bad_args),
        cmocka_unit_test(test_mp3_estimate),
        cmocka_unit_test(test_mp3_bit_rates),
        cmocka_unit_test(test_compress_ladder),
        cmocka_unit_test(test_compress_fits_everywhere),
        cmocka_unit_test(test_join_overlap),
        cmocka_unit_test(test_join_ties),
        cmocka_unit_test(test_join_span),
        cmocka_unit_test(test_tts_short),
        cmocka_unit_test(test_tts_priority),
        cmocka_unit_test(test_tts_fallbacks),
        cmocka_unit_test(test_tts_long),
        cmocka_unit_test(test_no_libav),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
