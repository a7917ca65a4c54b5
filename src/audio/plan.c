/* The pure functions of audio.h: windows for long transcriptions, the MP3
 * size estimate and compress_audio's ladder, the join of overlapping window
 * transcripts, the chunking of long text-to-speech input. No libav here:
 * these run anywhere, the loop thread included, and are tested as tables. */
#include "fmacros.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "audio/audio.h"
#include "core/err.h"

#define MAX_WINDOWS 100000

int audio_plan_windows(double duration, double window, double stride, struct audio_window **pwins,
                       size_t *pcount)
{
    struct audio_window *w = NULL;
    size_t n = 0, cap;
    int rc = 0;

    *pwins = NULL;
    *pcount = 0;
    if (!isfinite(duration) || !isfinite(window) || !isfinite(stride) || window <= 0 ||
        stride <= 0 || stride > window) {
        rc = SZ_EINVAL;
        goto out;
    }
    if (duration <= 0)
        goto out;
    if (duration / stride > MAX_WINDOWS) {
        rc = SZ_EINVAL;
        goto out;
    }
    cap = duration <= window ? 1 : (size_t)ceil((duration - window) / stride) + 2;
    w = calloc(cap, sizeof *w);
    if (w == NULL) {
        rc = SZ_ENOMEM;
        goto out;
    }
    /* Starts are i * stride, not a running sum, so they stay exact. */
    for (;;) {
        double start = (double)n * stride;
        double end = fmin(start + window, duration);

        w[n].index = (int)n;
        w[n].start = start;
        w[n].end = end;
        n++;
        if (end >= duration || n == cap)
            break;
    }
    *pwins = w;
    *pcount = n;
out:
    return rc;
}

/* ---- compress_audio ---- */

int audio_mp3_bit_rate(int bit_rate, int sample_rate)
{
    int lo = sample_rate >= 32000 ? 32000 : 8000;
    int hi = sample_rate >= 32000 ? 320000 : sample_rate >= 16000 ? 160000 : 64000;

    return bit_rate < lo ? lo : bit_rate > hi ? hi : bit_rate;
}

int64_t audio_mp3_estimate(double duration, const struct audio_mp3_setting *s)
{
    /* MPEG-1 (32-48 kHz) frames hold 1152 samples, MPEG-2 and 2.5 ones 576;
     * a CBR frame is spf/8 * bit_rate / rate bytes, plus a padding byte at
     * most. LAME adds its priming and padding (under two frames), the muxer
     * one Xing/LAME frame and a small ID3v2 tag. */
    double spf = s->sample_rate >= 32000 ? 1152.0 : 576.0;
    double frame = spf / 8.0 * s->bit_rate / s->sample_rate + 1.0;
    double frames = ceil(fmax(duration, 0) * s->sample_rate / spf) + 3.0;

    return (int64_t)ceil((frames * frame + 256.0) * 1.01 + 8192.0);
}

static const struct audio_mp3_setting ladder[] = {
    {128000, 44100, 2}, {96000, 44100, 2}, {64000, 44100, 1}, {48000, 32000, 1},
    {32000, 22050, 1},  {24000, 16000, 1}, {16000, 11025, 1}, {8000, 8000, 1},
};

/* The highest MP3 sample rate not above rate (8000 for anything lower). */
static int mp3_rate_at_most(int rate)
{
    static const int rates[] = {48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000};

    for (size_t i = 0; i < sizeof rates / sizeof rates[0]; i++)
        if (rates[i] <= rate)
            return rates[i];
    return 8000;
}

int audio_plan_compress(double duration, int in_rate, int in_channels, int64_t max_bytes,
                        struct audio_mp3_setting *pset, int *ptier)
{
    int top = mp3_rate_at_most(in_rate);

    if (!isfinite(duration) || duration < 0 || in_rate <= 0 || in_channels <= 0 || max_bytes <= 0 ||
        *ptier < 0)
        return SZ_EINVAL;
    for (int t = *ptier; t < (int)(sizeof ladder / sizeof ladder[0]); t++) {
        struct audio_mp3_setting s = ladder[t];

        /* The 44.1 kHz tiers mean "full rate": a 48 or 32 kHz input keeps
         * its own; no tier resamples up. */
        s.sample_rate = s.sample_rate == 44100 ? top : (s.sample_rate < top ? s.sample_rate : top);
        if (s.channels > in_channels)
            s.channels = in_channels >= 2 ? 2 : 1;
        s.bit_rate = audio_mp3_bit_rate(s.bit_rate, s.sample_rate);
        if (audio_mp3_estimate(duration, &s) <= max_bytes) {
            *pset = s;
            *ptier = t;
            return 0;
        }
    }
    return SZ_ETOOBIG;
}

/* ---- the join of window transcripts ---- */

struct token {
    const char *raw; /* the word as transcribed */
    size_t raw_len;
    const char *key; /* inside raw: stripped of edge punctuation, compared ignoring ASCII case */
    size_t key_len;
};

static bool is_space(unsigned char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f);
}

/* Length of the edge character at p (n bytes left) if it is one of
 * .,!?;:"'()[]{}…—–- , else 0. */
static size_t edge_char(const char *p, size_t n)
{
    static const char ascii[] = ".,!?;:\"'()[]{}-";

    if (n >= 1 && *p != '\0' && strchr(ascii, *p) != NULL)
        return 1;
    if (n >= 3 && (unsigned char)p[0] == 0xe2 && (unsigned char)p[1] == 0x80 &&
        ((unsigned char)p[2] == 0xa6 || (unsigned char)p[2] == 0x94 || (unsigned char)p[2] == 0x93))
        return 3; /* … — – */
    return 0;
}

/* Length of an edge character ending just before p + n (n bytes), or 0. */
static size_t edge_char_before(const char *p, size_t n)
{
    if (n >= 1 && edge_char(p + n - 1, 1) == 1)
        return 1;
    if (n >= 3 && edge_char(p + n - 3, 3) == 3)
        return 3;
    return 0;
}

static void set_key(struct token *t)
{
    const char *k = t->raw;
    size_t n = t->raw_len, e;

    for (;;) {
        e = edge_char(k, n);
        if (e == 0)
            break;
        k += e;
        n -= e;
    }
    for (;;) {
        e = edge_char_before(k, n);
        if (e == 0)
            break;
        n -= e;
    }
    t->key = k;
    t->key_len = n;
}

static bool same_key(const struct token *a, const struct token *b)
{
    if (a->key_len != b->key_len)
        return false;
    for (size_t i = 0; i < a->key_len; i++) {
        unsigned char x = (unsigned char)a->key[i], y = (unsigned char)b->key[i];

        if (x >= 'A' && x <= 'Z')
            x = (unsigned char)(x + 32);
        if (y >= 'A' && y <= 'Z')
            y = (unsigned char)(y + 32);
        if (x != y)
            return false;
    }
    return true;
}

struct tokens {
    struct token *v;
    size_t n, cap;
};

static int tokenize(const char *text, struct tokens *out)
{
    const char *p = text;

    out->n = 0;
    while (*p != '\0') {
        const char *s;

        while (*p != '\0' && is_space((unsigned char)*p))
            p++;
        if (*p == '\0')
            break;
        s = p;
        while (*p != '\0' && !is_space((unsigned char)*p))
            p++;
        if (out->n == out->cap) {
            size_t cap = out->cap ? out->cap * 2 : 64;
            struct token *v = realloc(out->v, cap * sizeof *v);

            if (v == NULL)
                return SZ_ENOMEM;
            out->v = v;
            out->cap = cap;
        }
        out->v[out->n].raw = s;
        out->v[out->n].raw_len = (size_t)(p - s);
        set_key(&out->v[out->n]);
        out->n++;
    }
    return 0;
}

static int append(struct tokens *dst, const struct token *src, size_t n)
{
    if (dst->n + n > dst->cap) {
        size_t cap = dst->cap ? dst->cap : 64;
        struct token *v;

        while (cap < dst->n + n)
            cap *= 2;
        v = realloc(dst->v, cap * sizeof *v);
        if (v == NULL)
            return SZ_ENOMEM;
        dst->v = v;
        dst->cap = cap;
    }
    memcpy(dst->v + dst->n, src, n * sizeof *src);
    dst->n += n;
    return 0;
}

/* The longest common run of a[0..na) and b[0..nb): its end in b (exclusive)
 * and its length. Dynamic programming over two rows; scanning a, then b, in
 * order and keeping only strictly longer runs gives the earliest start in a,
 * then in b, as difflib's find_longest_match does. */
static size_t longest_run(const struct token *a, size_t na, const struct token *b, size_t nb,
                          size_t *pb_end, size_t *row_prev, size_t *row)
{
    size_t best = 0;

    *pb_end = 0;
    memset(row_prev, 0, (nb + 1) * sizeof *row_prev);
    for (size_t i = 1; i <= na; i++) {
        row[0] = 0;
        for (size_t j = 1; j <= nb; j++) {
            row[j] = same_key(&a[i - 1], &b[j - 1]) ? row_prev[j - 1] + 1 : 0;
            if (row[j] > best) {
                best = row[j];
                *pb_end = j;
            }
        }
        memcpy(row_prev, row, (nb + 1) * sizeof *row);
    }
    return best;
}

static int merge_window(struct tokens *merged, const struct tokens *next, size_t *rows)
{
    size_t span = merged->n < next->n ? merged->n : next->n;
    size_t b_end = 0, run;

    if (span > AUDIO_OVERLAP_SPAN_WORDS)
        span = AUDIO_OVERLAP_SPAN_WORDS;
    run = longest_run(merged->v + merged->n - span, span, next->v, span, &b_end, rows,
                      rows + AUDIO_OVERLAP_SPAN_WORDS + 1);
    if (run >= AUDIO_MIN_OVERLAP_WORDS)
        return append(merged, next->v + b_end, next->n - b_end);
    return append(merged, next->v, next->n);
}

static char *join_words(const struct tokens *t)
{
    size_t len = 0, at = 0;
    char *s;

    for (size_t i = 0; i < t->n; i++)
        len += t->v[i].raw_len + 1;
    s = malloc(len + 1);
    if (s == NULL)
        return NULL;
    for (size_t i = 0; i < t->n; i++) {
        if (i > 0)
            s[at++] = ' ';
        memcpy(s + at, t->v[i].raw, t->v[i].raw_len);
        at += t->v[i].raw_len;
    }
    s[at] = '\0';
    return s;
}

int audio_join_transcripts(const char *const *texts, size_t n, char **pout)
{
    struct tokens merged = {0}, next = {0};
    size_t *rows = malloc(2 * (AUDIO_OVERLAP_SPAN_WORDS + 1) * sizeof *rows);
    int rc = rows != NULL ? 0 : SZ_ENOMEM;

    *pout = NULL;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (texts[i] == NULL)
            continue;
        rc = tokenize(texts[i], &next);
        if (rc != 0 || next.n == 0)
            continue;
        if (merged.n == 0)
            rc = append(&merged, next.v, next.n);
        else
            rc = merge_window(&merged, &next, rows);
    }
    if (rc == 0) {
        *pout = join_words(&merged);
        if (*pout == NULL)
            rc = SZ_ENOMEM;
    }
    free(merged.v);
    free(next.v);
    free(rows);
    return rc;
}

/* ---- create_audio's text chunks ---- */

/* Byte offset just past max code points from p (len bytes), and how many
 * code points that is. */
static size_t advance_chars(const char *p, size_t len, size_t max, size_t *pcount)
{
    size_t i = 0, count = 0;

    while (i < len && count < max) {
        i++;
        while (i < len && ((unsigned char)p[i] & 0xc0) == 0x80)
            i++;
        count++;
    }
    *pcount = count;
    return i;
}

/* Offset just past the last whole occurrence of sep in p[0..n), or 0. */
static size_t cut_after_last(const char *p, size_t n, const char *sep)
{
    size_t m = strlen(sep);

    for (size_t i = n; i >= m; i--)
        if (memcmp(p + i - m, sep, m) == 0)
            return i;
    return 0;
}

int audio_split_tts(const char *text, size_t len, size_t max_chars, struct audio_span **pspans,
                    size_t *pcount)
{
    static const char *const seps[] = {". ", "? ",  "! ",  ".\n", "?\n", "!\n",
                                       ", ", ";\n", ":\n", "\n",  " "};
    struct audio_span *v = NULL;
    size_t n = 0, cap = 0, pos = 0, chars;
    int rc = 0;

    *pspans = NULL;
    *pcount = 0;
    if (max_chars == 0)
        return SZ_EINVAL;
    for (;;) {
        size_t window = advance_chars(text + pos, len - pos, max_chars, &chars);
        size_t cut = len - pos;

        /* More than max_chars left: cut inside the first max_chars. */
        if (window < len - pos) {
            cut = 0;
            for (size_t s = 0; s < sizeof seps / sizeof seps[0] && cut == 0; s++)
                cut = cut_after_last(text + pos, window, seps[s]);
            if (cut == 0)
                cut = window;
        }
        if (n == cap) {
            struct audio_span *nv;

            cap = cap ? cap * 2 : 8;
            nv = realloc(v, cap * sizeof *nv);
            if (nv == NULL) {
                rc = SZ_ENOMEM;
                break;
            }
            v = nv;
        }
        v[n].off = pos;
        v[n].len = cut;
        n++;
        pos += cut;
        if (pos >= len)
            break;
    }
    if (rc != 0) {
        free(v);
        return rc;
    }
    *pspans = v;
    *pcount = n;
    return 0;
}
