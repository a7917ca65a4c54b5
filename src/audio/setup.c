/* Setup of libav once loaded (log routing, the decoder whitelist), error
 * text, options, and the cheap helpers of audio.h: sniffing and names. */
#include "fmacros.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "audio/audio_int.h"
#include "core/err.h"
#include "core/log.h"

/* The codecs we decode: what the containers of AUDIO.md's formats carry in
 * practice. Each decoder is code that parses hostile input, so the list is
 * short on purpose; anything else is SZ_EUNSUPPORTED with its name. */
static const enum AVCodecID allowed_codecs[] = {
    AV_CODEC_ID_MP1,       AV_CODEC_ID_MP2,       AV_CODEC_ID_MP3,       AV_CODEC_ID_AAC,
    AV_CODEC_ID_ALAC,      AV_CODEC_ID_FLAC,      AV_CODEC_ID_VORBIS,    AV_CODEC_ID_OPUS,
    AV_CODEC_ID_PCM_S16LE, AV_CODEC_ID_PCM_S16BE, AV_CODEC_ID_PCM_U8,    AV_CODEC_ID_PCM_S8,
    AV_CODEC_ID_PCM_S24LE, AV_CODEC_ID_PCM_S24BE, AV_CODEC_ID_PCM_S32LE, AV_CODEC_ID_PCM_S32BE,
    AV_CODEC_ID_PCM_F32LE, AV_CODEC_ID_PCM_F32BE, AV_CODEC_ID_PCM_F64LE, AV_CODEC_ID_PCM_F64BE,
    AV_CODEC_ID_PCM_MULAW, AV_CODEC_ID_PCM_ALAW,  AV_CODEC_ID_ADPCM_MS,  AV_CODEC_ID_ADPCM_IMA_WAV,
};

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_status = SZ_EIO;
static char init_error[256] = "FFmpeg's libraries are not available";
/* Names of the decoders libav picks for allowed_codecs, for the demuxer's
 * codec_whitelist (what avformat_find_stream_info may open). Written once in
 * init, read-only afterwards. */
static char whitelist[512];

static _Thread_local char last_log[200];

/* libav's log lines go to our log at DEBUG (libav writes to stderr by
 * default, which is fine for the protocol but not for our format); errors are
 * also kept per thread for messages. Runs on whichever thread logs. */
static void log_cb(void *avcl, int level, const char *fmt, va_list vl)
{
    char line[512];
    int prefix = 1;
    va_list copy;
    size_t n;

    if (level > AV_LOG_WARNING)
        return;
    va_copy(copy, vl);
    av_log_format_line2(avcl, level, fmt, vl, line, (int)sizeof line, &prefix);
    n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    SZ_DEBUG("libav: %s", line);
    if (level <= AV_LOG_ERROR) {
        prefix = 0;
        av_log_format_line2(avcl, level, fmt, copy, last_log, (int)sizeof last_log, &prefix);
        n = strlen(last_log);
        while (n > 0 && (last_log[n - 1] == '\n' || last_log[n - 1] == '\r' ||
                         last_log[n - 1] == ' ' || last_log[n - 1] == '.'))
            last_log[--n] = '\0';
    }
    va_end(copy);
}

static void init(void)
{
    size_t used = 0;

    if (sz_av_load(init_error, sizeof init_error) != 0)
        return;
    av_log_set_level(AV_LOG_WARNING);
    av_log_set_callback(log_cb);
    for (size_t i = 0; i < sizeof allowed_codecs / sizeof allowed_codecs[0]; i++) {
        const AVCodec *c = avcodec_find_decoder(allowed_codecs[i]);
        int n;

        if (c == NULL)
            continue; /* not built into this libavcodec: such files fail as unsupported */
        n = snprintf(whitelist + used, sizeof whitelist - used, "%s%s", used ? "," : "", c->name);
        if (n < 0 || (size_t)n >= sizeof whitelist - used) {
            snprintf(init_error, sizeof init_error, "too many audio decoders for the whitelist");
            return;
        }
        used += (size_t)n;
    }
    init_status = 0;
}

int audio_ensure(char *err, size_t errlen)
{
    pthread_once(&init_once, init);
    if (init_status != 0)
        return audio_fail(SZ_EIO, err, errlen, "%s", init_error);
    return 0;
}

int audio_load(char *errbuf, size_t errlen)
{
    return audio_ensure(errbuf, errlen);
}

int audio_fail(int rc, char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (err != NULL && errlen > 0) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return rc;
}

const char *audio_averr(int averr, char *buf, size_t len)
{
    if (av_strerror(averr, buf, len) < 0)
        snprintf(buf, len, "libav error %d", averr);
    return buf;
}

const char *audio_last_log(void)
{
    return last_log;
}

void audio_clear_log(void)
{
    last_log[0] = '\0';
}

const char *audio_codec_whitelist(void)
{
    return whitelist;
}

bool audio_codec_allowed(enum AVCodecID id)
{
    for (size_t i = 0; i < sizeof allowed_codecs / sizeof allowed_codecs[0]; i++)
        if (allowed_codecs[i] == id)
            return true;
    return false;
}

void audio_opts_resolve(const struct audio_opts *opts, struct audio_opts *pout)
{
    memset(pout, 0, sizeof *pout);
    if (opts != NULL)
        *pout = *opts;
    if (!(pout->max_duration > 0))
        pout->max_duration = AUDIO_MAX_DURATION_S;
}

bool audio_cancelled(const struct audio_opts *opts)
{
    return opts != NULL && opts->cancel != NULL && atomic_load(opts->cancel);
}

/* ---- sniffing ---- */

/* An MPEG audio frame header: 11 sync bits, a version and layer that exist,
 * a bit rate index that is neither free format nor invalid, a known sample
 * rate. ADTS AAC (layer bits 00) does not pass. */
static bool mpa_header(const unsigned char *p)
{
    return p[0] == 0xff && (p[1] & 0xe0) == 0xe0 && ((p[1] >> 3) & 3) != 1 &&
           ((p[1] >> 1) & 3) != 0 && (p[2] >> 4) != 0 && (p[2] >> 4) != 0xf &&
           ((p[2] >> 2) & 3) != 3;
}

static enum audio_container sniff_plain(const unsigned char *p, size_t n)
{
    if (n >= 12 &&
        (memcmp(p, "RIFF", 4) == 0 || memcmp(p, "RF64", 4) == 0 || memcmp(p, "BW64", 4) == 0) &&
        memcmp(p + 8, "WAVE", 4) == 0)
        return AUDIO_CONTAINER_WAV;
    if (n >= 4 && memcmp(p, "fLaC", 4) == 0)
        return AUDIO_CONTAINER_FLAC;
    if (n >= 4 && memcmp(p, "OggS", 4) == 0)
        return AUDIO_CONTAINER_OGG;
    if (n >= 4 && memcmp(p, "\x1a\x45\xdf\xa3", 4) == 0)
        return AUDIO_CONTAINER_WEBM;
    if (n >= 8 && memcmp(p + 4, "ftyp", 4) == 0)
        return AUDIO_CONTAINER_MP4;
    if (n >= 4 && memcmp(p, "\x00\x00\x01\xba", 4) == 0)
        return AUDIO_CONTAINER_MPEG;
    if (n >= 4 && mpa_header(p))
        return AUDIO_CONTAINER_MP3;
    return AUDIO_CONTAINER_UNKNOWN;
}

/* Bytes taken by an ID3v2 tag at p (header, syncsafe size, footer), or 0. */
static size_t id3v2_length(const unsigned char *p, size_t n)
{
    size_t size;

    if (n < 10 || memcmp(p, "ID3", 3) != 0 || p[3] == 0xff || p[4] == 0xff ||
        ((p[6] | p[7] | p[8] | p[9]) & 0x80) != 0)
        return 0;
    size = ((size_t)p[6] << 21) | ((size_t)p[7] << 14) | ((size_t)p[8] << 7) | (size_t)p[9];
    return 10 + size + ((p[5] & 0x10) ? 10 : 0);
}

enum audio_container audio_sniff(const void *buf, size_t len)
{
    const unsigned char *p = buf;
    size_t skip = buf != NULL ? id3v2_length(p, len) : 0;
    enum audio_container c;

    if (buf == NULL)
        return AUDIO_CONTAINER_UNKNOWN;
    if (skip == 0)
        return sniff_plain(p, len);
    if (skip >= len)
        return AUDIO_CONTAINER_MP3;
    c = sniff_plain(p + skip, len - skip);
    /* Padding or junk between the tag and the first frame is common in MP3
     * files, which the MP3 demuxer skips; a tag is how they begin. */
    return c == AUDIO_CONTAINER_UNKNOWN ? AUDIO_CONTAINER_MP3 : c;
}

const char *audio_container_name(enum audio_container container)
{
    switch (container) {
    case AUDIO_CONTAINER_WAV:
        return "wav";
    case AUDIO_CONTAINER_MP3:
        return "mp3";
    case AUDIO_CONTAINER_FLAC:
        return "flac";
    case AUDIO_CONTAINER_OGG:
        return "ogg";
    case AUDIO_CONTAINER_MP4:
        return "mp4";
    case AUDIO_CONTAINER_WEBM:
        return "webm";
    case AUDIO_CONTAINER_MPEG:
        return "mpeg";
    case AUDIO_CONTAINER_UNKNOWN:
        break;
    }
    return "unknown";
}

static const struct {
    enum audio_format format;
    const char *name;
    const char *mime;
} formats[] = {
    {AUDIO_FORMAT_MP3, "mp3", "audio/mpeg"},   {AUDIO_FORMAT_WAV, "wav", "audio/wav"},
    {AUDIO_FORMAT_FLAC, "flac", "audio/flac"}, {AUDIO_FORMAT_OGG, "ogg", "audio/ogg"},
    {AUDIO_FORMAT_M4A, "m4a", "audio/mp4"},    {AUDIO_FORMAT_WEBM, "webm", "audio/webm"},
};

const char *audio_format_name(enum audio_format format)
{
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++)
        if (formats[i].format == format)
            return formats[i].name;
    return "unknown";
}

const char *audio_format_mime(enum audio_format format)
{
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++)
        if (formats[i].format == format)
            return formats[i].mime;
    return "application/octet-stream";
}

int audio_format_parse(const char *name, enum audio_format *pformat)
{
    for (size_t i = 0; name != NULL && i < sizeof formats / sizeof formats[0]; i++) {
        if (strcasecmp(formats[i].name, name) == 0) {
            *pformat = formats[i].format;
            return 0;
        }
    }
    return SZ_EINVAL;
}
