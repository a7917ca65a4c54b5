/* Test audio for the audio unit tests, made here: no binary fixtures are
 * committed. WAV files are written by hand (a 44-byte header and 16-bit
 * samples from a generator, a few thousand frames at a time so a long file
 * costs no memory); every other format is encoded from them by the code
 * under test (audio_convert), and results are checked by decoding them again
 * (audio_probe with AUDIO_PROBE_DECODE) or, for WAV outputs, by reading the
 * samples back. Included by the test files of this folder only. */
#ifndef SZ_TESTS_AUDIO_FIXTURES_H
#define SZ_TESTS_AUDIO_FIXTURES_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audio/audio.h"
#include "core/err.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

enum fx_signal {
    FX_TONE,   /* 440 Hz, 554 Hz in the second channel, ... */
    FX_SPEECH, /* a voice-like buzz: harmonics of a gliding 100-220 Hz pitch, syllables at 4 Hz */
    FX_RAMP,   /* sample i holds (i % 20000) - 10000: positions can be read back exactly */
    FX_BURSTS, /* silence with a 20 ms 1 kHz burst at every second + 0.25 s */
    FX_NOISE,  /* white noise from a fixed seed */
};

static inline int fx_tmpfd(void)
{
    const char *dir = getenv("TMPDIR");
    char path[512];
    int fd;

    snprintf(path, sizeof path, "%s/sz-audio-XXXXXX", dir && *dir ? dir : "/tmp");
    fd = mkstemp(path);
    if (fd >= 0)
        unlink(path);
    return fd;
}

static inline int64_t fx_size(int fd)
{
    struct stat sb;

    return fstat(fd, &sb) == 0 ? (int64_t)sb.st_size : -1;
}

static inline void fx_put16(uint8_t *p, unsigned v)
{
    p[0] = (uint8_t)(v & 0xff);
    p[1] = (uint8_t)(v >> 8);
}

static inline void fx_put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* A canonical 44-byte WAV header. */
static inline void fx_wav_header(uint8_t h[44], int rate, int channels, int bits, unsigned tag,
                                 uint32_t data_bytes)
{
    memcpy(h, "RIFF", 4);
    fx_put32(h + 4, 36 + data_bytes);
    memcpy(h + 8, "WAVEfmt ", 8);
    fx_put32(h + 16, 16);
    fx_put16(h + 20, tag);
    fx_put16(h + 22, (unsigned)channels);
    fx_put32(h + 24, (uint32_t)rate);
    fx_put32(h + 28, (uint32_t)(rate * channels * bits / 8));
    fx_put16(h + 32, (unsigned)(channels * bits / 8));
    fx_put16(h + 34, (unsigned)bits);
    memcpy(h + 36, "data", 4);
    fx_put32(h + 40, data_bytes);
}

static inline int16_t fx_sample(enum fx_signal sig, int64_t i, int ch, int rate, uint32_t *seed)
{
    double t = (double)i / rate, v = 0;

    switch (sig) {
    case FX_TONE:
        v = 0.5 * sin(2 * M_PI * (440.0 + 114.0 * ch) * t);
        break;
    case FX_SPEECH: {
        /* pitch 160 +- 60 Hz: the phase is the integral of the pitch */
        double env = 0.5 + 0.5 * sin(2 * M_PI * 4.0 * t);
        double phase = 2 * M_PI * (160.0 * t - 60.0 / (2 * M_PI * 0.7) * cos(2 * M_PI * 0.7 * t));

        for (int k = 1; k <= 8; k++)
            v += sin(k * phase) / k;
        v *= 0.25 * env * env;
        break;
    }
    case FX_RAMP:
        return (int16_t)(((i % 20000) - 10000) * (ch == 0 ? 1 : -1));
    case FX_BURSTS: {
        double frac = t - floor(t);

        v = (frac >= 0.25 && frac < 0.27) ? 0.8 * sin(2 * M_PI * 1000.0 * (frac - 0.25)) : 0;
        break;
    }
    case FX_NOISE:
        *seed = *seed * 1103515245u + 12345u;
        v = ((double)((*seed >> 8) & 0xffff) / 32768.0 - 1.0) * 0.3;
        break;
    }
    return (int16_t)lrint(v * 32767.0);
}

/* Writes a 16-bit PCM WAV of frames sample frames at fd's offset 0. */
static inline int fx_write_wav_frames(int fd, int rate, int channels, int64_t frames,
                                      enum fx_signal sig)
{
    uint8_t h[44];
    uint8_t *buf = malloc((size_t)4096 * (size_t)channels * 2);
    uint32_t seed = 12345;
    off_t at = 44;

    if (buf == NULL)
        return -1;
    fx_wav_header(h, rate, channels, 16, 1, (uint32_t)(frames * channels * 2));
    if (pwrite(fd, h, sizeof h, 0) != (ssize_t)sizeof h) {
        free(buf);
        return -1;
    }
    for (int64_t i = 0; i < frames; i += 4096) {
        int64_t n = frames - i < 4096 ? frames - i : 4096;
        size_t len = (size_t)n * (size_t)channels * 2;

        for (int64_t j = 0; j < n; j++)
            for (int ch = 0; ch < channels; ch++)
                fx_put16(buf + ((size_t)j * (size_t)channels + (size_t)ch) * 2,
                         (uint16_t)fx_sample(sig, i + j, ch, rate, &seed));
        if (pwrite(fd, buf, len, at) != (ssize_t)len) {
            free(buf);
            return -1;
        }
        at += (off_t)len;
    }
    free(buf);
    return 0;
}

/* A new unlinked temporary WAV file of seconds of sig. */
static inline int fx_wav(int rate, int channels, double seconds, enum fx_signal sig)
{
    int fd = fx_tmpfd();

    if (fd < 0 || fx_write_wav_frames(fd, rate, channels, llround(seconds * rate), sig) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

/* A new temporary file holding seconds of sig encoded as format at rate and
 * channels (encoded by audio_convert from a WAV). -1 on failure. */
static inline int fx_encoded(enum audio_format format, int rate, int channels, double seconds,
                             enum fx_signal sig, int bit_rate)
{
    int wav = fx_wav(rate, channels, seconds, sig);
    int out = fx_tmpfd();
    struct audio_encode enc = {format, rate, channels, bit_rate};
    char err[AUDIO_ERRMSG_LEN] = "";
    int rc = -1;

    if (wav >= 0 && out >= 0)
        rc = audio_convert(wav, out, &enc, NULL, NULL, err, sizeof err);
    if (rc != 0)
        fprintf(stderr, "fx_encoded(%s): %d %s\n", audio_format_name(format), rc, err);
    if (wav >= 0)
        close(wav);
    if (rc != 0 && out >= 0) {
        close(out);
        out = -1;
    }
    return out;
}

/* Reads the samples of a 16-bit PCM WAV written by us (RIFF header, a fmt
 * chunk, then data). Returns a malloc'd array of *pn interleaved samples. */
static inline int16_t *fx_read_wav(int fd, int *prate, int *pchannels, size_t *pn)
{
    int64_t size = fx_size(fd);
    uint8_t *b = size > 12 ? malloc((size_t)size) : NULL;
    int16_t *s = NULL;
    size_t at = 12;

    if (b == NULL || pread(fd, b, (size_t)size, 0) != (ssize_t)size)
        goto out;
    while (at + 8 <= (size_t)size) {
        uint32_t len = (uint32_t)b[at + 4] | (uint32_t)b[at + 5] << 8 | (uint32_t)b[at + 6] << 16 |
                       (uint32_t)b[at + 7] << 24;

        if (memcmp(b + at, "fmt ", 4) == 0) {
            *pchannels = b[at + 10] | b[at + 11] << 8;
            *prate = (int)((uint32_t)b[at + 12] | (uint32_t)b[at + 13] << 8 |
                           (uint32_t)b[at + 14] << 16);
        } else if (memcmp(b + at, "data", 4) == 0) {
            if (at + 8 + len > (size_t)size)
                len = (uint32_t)((size_t)size - at - 8);
            s = malloc(len + 2);
            if (s == NULL)
                goto out;
            for (size_t i = 0; i < len / 2; i++)
                s[i] = (int16_t)(b[at + 8 + 2 * i] | b[at + 9 + 2 * i] << 8);
            *pn = len / 2;
            goto out;
        }
        at += 8 + len + (len & 1);
    }
out:
    free(b);
    return s;
}

#endif
