/* The output side of every audio job: resampler, encoder and muxer into an fd.
 *
 * Decoded frames go through libswresample (format, rate and channel layout
 * to the encoder's; rebuilt whenever the input's change, as between the parts
 * of a concat), into a FIFO that hands the encoder exactly its frame size,
 * and the packets go to the muxer, which writes with pwrite() through a
 * seekable AVIOContext: the MP3 muxer goes back to fill in its Xing/LAME
 * header (frame count and gapless padding, so decoders know the exact
 * length), the WAV muxer its chunk sizes, the MP4 muxer writes its index at
 * the end. Memory is bounded by one input frame, one encoder frame and the
 * 64 KiB I/O buffer. */
#include "fmacros.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audio/audio_int.h"
#include "core/err.h"
#include "core/log.h"

#define IO_BUF_SIZE    (64 * 1024)
#define PCM_FRAME_SIZE 4096 /* samples per frame for encoders that take any size */
#define MP3_BIT_RATE   128000
#define OTHER_BIT_RATE 96000 /* per channel: Vorbis, AAC, Opus */

static const struct {
    enum audio_format format;
    const char *muxer;
    const char *encoder;
    bool lossy;
} formats[] = {
    {AUDIO_FORMAT_MP3, "mp3", "libmp3lame", true}, {AUDIO_FORMAT_WAV, "wav", "pcm_s16le", false},
    {AUDIO_FORMAT_FLAC, "flac", "flac", false},    {AUDIO_FORMAT_OGG, "ogg", "libvorbis", true},
    {AUDIO_FORMAT_M4A, "ipod", "aac", true},       {AUDIO_FORMAT_WEBM, "webm", "libopus", true},
};

/* ---- I/O callbacks ---- */

static int write_cb(void *opaque, uint8_t *buf, int size)
{
    struct audio_out *out = opaque;
    size_t done = 0;

    while (done < (size_t)size) {
        ssize_t n =
            pwrite(out->fd, buf + done, (size_t)size - done, (off_t)out->wpos + (off_t)done);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (out->werrno == 0)
                out->werrno = n < 0 ? errno : EIO;
            return AVERROR(out->werrno);
        }
        done += (size_t)n;
    }
    out->wpos += size;
    if (out->wpos > out->wsize)
        out->wsize = out->wpos;
    return size;
}

static int64_t seek_cb(void *opaque, int64_t offset, int whence)
{
    struct audio_out *out = opaque;
    int64_t base;

    switch (whence & ~AVSEEK_FORCE) {
    case AVSEEK_SIZE:
        return out->wsize;
    case SEEK_SET:
        base = 0;
        break;
    case SEEK_CUR:
        base = out->wpos;
        break;
    case SEEK_END:
        base = out->wsize;
        break;
    default:
        return AVERROR(EINVAL);
    }
    if ((offset > 0 && base > INT64_MAX - offset) || base + offset < 0)
        return AVERROR(EINVAL);
    out->wpos = base + offset;
    return out->wpos;
}

/* A failed libav call while writing: the disk's error when there was one. */
static int write_failure(struct audio_out *out, int averr, const char *what)
{
    char text[128];

    if (out->werrno != 0)
        return audio_fail(-out->werrno, out->err, out->errlen,
                          "Writing the audio output failed: %s.", strerror(out->werrno));
    if (averr == AVERROR(ENOMEM))
        return audio_fail(SZ_ENOMEM, out->err, out->errlen, "Out of memory encoding audio.");
    return audio_fail(SZ_EIO, out->err, out->errlen, "%s failed (%s).", what,
                      audio_last_log()[0] ? audio_last_log()
                                          : audio_averr(averr, text, sizeof text));
}

/* ---- opening ---- */

/* The rate the encoder takes nearest to want (ties go up). */
static int pick_rate(const AVCodec *codec, int want)
{
    int best = want;
    long best_diff = LONG_MAX;

    if (codec->supported_samplerates == NULL)
        return want;
    for (const int *r = codec->supported_samplerates; *r != 0; r++) {
        long diff = labs((long)*r - want);

        if (diff < best_diff || (diff == best_diff && *r > best)) {
            best = *r;
            best_diff = diff;
        }
    }
    return best;
}

/* Planar float when the encoder takes it (libswresample's native format, and
 * LAME's), else its first choice. */
static enum AVSampleFormat pick_format(const AVCodec *codec)
{
    if (codec->sample_fmts == NULL)
        return AV_SAMPLE_FMT_FLTP;
    for (const enum AVSampleFormat *f = codec->sample_fmts; *f != AV_SAMPLE_FMT_NONE; f++)
        if (*f == AV_SAMPLE_FMT_FLTP)
            return *f;
    return codec->sample_fmts[0];
}

static int open_encoder(struct audio_out *out, const AVCodec *codec, bool lossy,
                        const struct audio_encode *enc, int in_rate, int in_channels)
{
    char text[128];
    int rc;

    out->channels = enc->channels != 0 ? enc->channels : (in_channels >= 2 ? 2 : 1);
    if (out->channels != 1 && out->channels != 2)
        return audio_fail(SZ_EINVAL, out->err, out->errlen,
                          "Audio can be written with 1 or 2 channels, not %d.", enc->channels);
    if (enc->sample_rate < 0 || enc->sample_rate > 768000 || enc->bit_rate < 0 ||
        enc->bit_rate > 640000)
        return audio_fail(SZ_EINVAL, out->err, out->errlen,
                          "The sample rate or bit rate asked for is out of range.");
    out->rate = pick_rate(codec, enc->sample_rate != 0 ? enc->sample_rate : in_rate);
    out->bit_rate = 0;
    if (lossy)
        out->bit_rate = enc->bit_rate != 0                ? enc->bit_rate
                        : out->format == AUDIO_FORMAT_MP3 ? MP3_BIT_RATE
                                                          : OTHER_BIT_RATE * out->channels;
    if (out->format == AUDIO_FORMAT_MP3)
        out->bit_rate = audio_mp3_bit_rate(out->bit_rate, out->rate); /* report what LAME does */
    out->enc = avcodec_alloc_context3(codec);
    if (out->enc == NULL)
        return audio_fail(SZ_ENOMEM, out->err, out->errlen, "Out of memory opening the encoder.");
    out->enc->sample_fmt = pick_format(codec);
    av_channel_layout_default(&out->enc->ch_layout, out->channels);
    out->enc->sample_rate = out->rate;
    out->enc->time_base = (AVRational){1, out->rate};
    out->enc->bit_rate = out->bit_rate;
    out->enc->thread_count = 1;
    out->enc->flags |= AV_CODEC_FLAG_BITEXACT;
    if (out->mux->oformat->flags & AVFMT_GLOBALHEADER)
        out->enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    rc = avcodec_open2(out->enc, codec, NULL);
    if (rc < 0)
        return audio_fail(SZ_EINVAL, out->err, out->errlen,
                          "The %s encoder refused %d Hz, %d channel(s) at %d bit/s (%s).",
                          codec->name, out->rate, out->channels, out->bit_rate,
                          audio_last_log()[0] ? audio_last_log()
                                              : audio_averr(rc, text, sizeof text));
    out->small_last = out->enc->frame_size == 0 ||
                      (codec->capabilities &
                       (AV_CODEC_CAP_SMALL_LAST_FRAME | AV_CODEC_CAP_VARIABLE_FRAME_SIZE)) != 0;
    out->frame_size = out->enc->frame_size > 0 ? out->enc->frame_size : PCM_FRAME_SIZE;
    return 0;
}

static int alloc_buffers(struct audio_out *out)
{
    out->pkt = av_packet_alloc();
    out->eframe = av_frame_alloc();
    out->fifo = av_audio_fifo_alloc(out->enc->sample_fmt, out->channels, 2 * out->frame_size);
    if (out->pkt == NULL || out->eframe == NULL || out->fifo == NULL)
        return SZ_ENOMEM;
    out->eframe->nb_samples = out->frame_size;
    out->eframe->format = out->enc->sample_fmt;
    out->eframe->sample_rate = out->rate;
    if (av_channel_layout_copy(&out->eframe->ch_layout, &out->enc->ch_layout) < 0 ||
        av_frame_get_buffer(out->eframe, 0) < 0)
        return SZ_ENOMEM;
    return 0;
}

int audio_out_open(struct audio_out *out, int fd, const struct audio_encode *enc, int in_rate,
                   int in_channels, char *err, size_t errlen)
{
    const AVCodec *codec = NULL;
    AVDictionary *mopts = NULL;
    unsigned char *buf = NULL;
    struct stat sb;
    size_t i;
    int rc;

    memset(out, 0, sizeof *out);
    out->fd = fd;
    out->err = err;
    out->errlen = errlen;
    out->format = enc != NULL ? enc->format : 0;
    for (i = 0; i < sizeof formats / sizeof formats[0]; i++)
        if (formats[i].format == out->format)
            break;
    if (i == sizeof formats / sizeof formats[0]) {
        rc = audio_fail(SZ_EINVAL, err, errlen, "Unknown audio output format.");
        goto out;
    }
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        rc = audio_fail(SZ_EINVAL, err, errlen, "The audio output is not a regular file.");
        goto out;
    }
    codec = avcodec_find_encoder_by_name(formats[i].encoder);
    if (codec == NULL) {
        rc = audio_fail(SZ_EUNSUPPORTED, err, errlen, "This FFmpeg has no %s encoder.",
                        formats[i].encoder);
        goto out;
    }
    rc = avformat_alloc_output_context2(&out->mux, NULL, formats[i].muxer, NULL);
    if (rc < 0 || out->mux == NULL) {
        rc = audio_fail(SZ_EUNSUPPORTED, err, errlen, "This FFmpeg cannot write %s files.",
                        formats[i].muxer);
        goto out;
    }
    rc = open_encoder(out, codec, formats[i].lossy, enc, in_rate, in_channels);
    if (rc != 0)
        goto out;
    out->st = avformat_new_stream(out->mux, NULL);
    buf = av_malloc(IO_BUF_SIZE);
    out->avio = buf ? avio_alloc_context(buf, IO_BUF_SIZE, 1, out, NULL, write_cb, seek_cb) : NULL;
    if (out->avio == NULL)
        av_free(buf);
    if (out->st == NULL || out->avio == NULL || alloc_buffers(out) != 0 ||
        avcodec_parameters_from_context(out->st->codecpar, out->enc) < 0) {
        rc = audio_fail(SZ_ENOMEM, err, errlen, "Out of memory opening the audio output.");
        goto out;
    }
    out->st->time_base = out->enc->time_base;
    out->mux->pb = out->avio;
    /* No "Lavf59..." tags: the same input gives the same bytes. */
    out->mux->flags |= AVFMT_FLAG_BITEXACT;
    if (out->format == AUDIO_FORMAT_WAV)
        av_dict_set(&mopts, "rf64", "auto", 0); /* past 4 GiB a RIFF size field overflows */
    rc = avformat_write_header(out->mux, &mopts);
    av_dict_free(&mopts);
    if (rc < 0) {
        rc = write_failure(out, rc, "Writing the audio header");
        goto out;
    }
    out->header_written = true;
    rc = 0;
out:
    return rc;
}

/* ---- writing ---- */

/* Sends frame (NULL: drain) and writes every packet the encoder has. */
static int encode(struct audio_out *out, AVFrame *frame)
{
    int rc = avcodec_send_frame(out->enc, frame);

    if (rc < 0)
        return write_failure(out, rc, "Encoding audio");
    for (;;) {
        rc = avcodec_receive_packet(out->enc, out->pkt);
        if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF)
            return 0;
        if (rc < 0)
            return write_failure(out, rc, "Encoding audio");
        av_packet_rescale_ts(out->pkt, out->enc->time_base, out->st->time_base);
        out->pkt->stream_index = out->st->index;
        rc = av_write_frame(out->mux, out->pkt);
        av_packet_unref(out->pkt);
        if (rc < 0)
            return write_failure(out, rc, "Writing audio");
    }
}

/* Hands the encoder every full frame in the FIFO; with last, the rest too
 * (padded with silence for encoders that need full frames). */
static int drain_fifo(struct audio_out *out, bool last)
{
    int rc;

    for (;;) {
        int avail = av_audio_fifo_size(out->fifo);
        int n = avail < out->frame_size ? avail : out->frame_size;

        if (n == 0 || (n < out->frame_size && !last))
            return 0;
        out->eframe->nb_samples = out->frame_size;
        if (av_frame_make_writable(out->eframe) < 0)
            return audio_fail(SZ_ENOMEM, out->err, out->errlen, "Out of memory encoding audio.");
        if (av_audio_fifo_read(out->fifo, (void **)out->eframe->data, n) != n)
            return audio_fail(SZ_EIO, out->err, out->errlen, "The audio FIFO lost samples.");
        if (n < out->frame_size) {
            if (out->small_last)
                out->eframe->nb_samples = n;
            else
                av_samples_set_silence(out->eframe->data, n, out->frame_size - n, out->channels,
                                       out->enc->sample_fmt);
        }
        out->eframe->pts = out->next_pts;
        out->next_pts += n;
        rc = encode(out, out->eframe);
        if (rc != 0)
            return rc;
    }
}

/* Appends n converted samples to the FIFO. */
static int queue(struct audio_out *out, int n)
{
    if (n < 0)
        return audio_fail(SZ_EIO, out->err, out->errlen, "The audio resampler failed.");
    if (n > 0 && av_audio_fifo_write(out->fifo, (void **)out->cbuf, n) != n)
        return audio_fail(SZ_ENOMEM, out->err, out->errlen, "Out of memory resampling.");
    return 0;
}

/* Converts count input samples into the FIFO; with in NULL, drains what the
 * resampler holds (its filter's delay) instead. The conversion buffer grows
 * to the resampler's bound for count, so one call takes all the input (a
 * second call with NULL would mean "flush"). */
static int convert(struct audio_out *out, const uint8_t **in, int count)
{
    int need = swr_get_out_samples(out->swr, count);
    int n, rc;

    if (need < 0)
        return audio_fail(SZ_EIO, out->err, out->errlen, "The audio resampler failed.");
    if (need < 1024)
        need = 1024;
    if (need > out->cbuf_cap) {
        if (out->cbuf != NULL)
            av_freep(&out->cbuf[0]);
        av_freep(&out->cbuf);
        out->cbuf_cap = 0;
        if (av_samples_alloc_array_and_samples(&out->cbuf, NULL, out->channels, need,
                                               out->enc->sample_fmt, 0) < 0)
            return audio_fail(SZ_ENOMEM, out->err, out->errlen, "Out of memory resampling.");
        out->cbuf_cap = need;
    }
    n = swr_convert(out->swr, out->cbuf, out->cbuf_cap, in, count);
    rc = queue(out, n);
    while (rc == 0 && in == NULL && n > 0) {
        n = swr_convert(out->swr, out->cbuf, out->cbuf_cap, NULL, 0);
        rc = queue(out, n);
    }
    return rc;
}

/* Flushes what the resampler holds into the FIFO. */
static int flush_resampler(struct audio_out *out)
{
    return out->swr != NULL ? convert(out, NULL, 0) : 0;
}

/* (Re)builds the resampler when frame's format, rate or layout is not the
 * current input's. */
static int ensure_resampler(struct audio_out *out, const AVFrame *frame)
{
    AVChannelLayout layout = {0};
    int rc;

    if (out->swr != NULL && frame->format == out->in_fmt && frame->sample_rate == out->in_rate &&
        av_channel_layout_compare(&frame->ch_layout, &out->in_layout) == 0)
        return 0;
    rc = flush_resampler(out);
    if (rc != 0)
        return rc;
    swr_free(&out->swr);
    av_channel_layout_uninit(&out->in_layout);
    if (frame->ch_layout.order == AV_CHANNEL_ORDER_UNSPEC)
        av_channel_layout_default(&layout, frame->ch_layout.nb_channels);
    else if (av_channel_layout_copy(&layout, &frame->ch_layout) < 0)
        return audio_fail(SZ_ENOMEM, out->err, out->errlen, "Out of memory resampling.");
    rc = swr_alloc_set_opts2(&out->swr, &out->enc->ch_layout, out->enc->sample_fmt, out->rate,
                             &layout, frame->format, frame->sample_rate, 0, NULL);
    if (rc >= 0)
        rc = swr_init(out->swr);
    av_channel_layout_uninit(&layout);
    if (rc < 0)
        return audio_fail(SZ_EIO, out->err, out->errlen,
                          "The resampler cannot convert this audio (%d Hz, %d channels).",
                          frame->sample_rate, frame->ch_layout.nb_channels);
    /* Compared with the next frames' layout as the decoder gives it (an
     * unspecified order stays unspecified), or the resampler would be
     * rebuilt, and flushed, on every frame. */
    if (av_channel_layout_copy(&out->in_layout, &frame->ch_layout) < 0)
        return audio_fail(SZ_ENOMEM, out->err, out->errlen, "Out of memory resampling.");
    out->in_fmt = frame->format;
    out->in_rate = frame->sample_rate;
    return 0;
}

int audio_out_write(struct audio_out *out, const AVFrame *frame, int offset, int count)
{
    const uint8_t *in[AUDIO_MAX_CHANNELS];
    int channels = frame->ch_layout.nb_channels;
    int bps = av_get_bytes_per_sample(frame->format);
    int rc;

    if (count <= 0)
        return 0;
    if (channels < 1 || channels > AUDIO_MAX_CHANNELS || bps <= 0 || offset < 0 ||
        offset + count > frame->nb_samples)
        return audio_fail(SZ_EINVAL, out->err, out->errlen, "Bad audio frame.");
    rc = ensure_resampler(out, frame);
    if (rc != 0)
        return rc;
    if (av_sample_fmt_is_planar(frame->format)) {
        for (int ch = 0; ch < channels; ch++)
            in[ch] = frame->extended_data[ch] + (size_t)offset * (size_t)bps;
    } else {
        in[0] = frame->extended_data[0] + (size_t)offset * (size_t)bps * (size_t)channels;
    }
    rc = convert(out, in, count);
    if (rc == 0)
        rc = drain_fifo(out, false);
    return rc;
}

int audio_out_finish(struct audio_out *out)
{
    int rc = flush_resampler(out);

    if (rc == 0)
        rc = drain_fifo(out, true);
    if (rc == 0)
        rc = encode(out, NULL);
    if (rc != 0)
        return rc;
    rc = av_write_trailer(out->mux);
    if (rc < 0)
        return write_failure(out, rc, "Finishing the audio file");
    avio_flush(out->avio);
    if (out->werrno != 0 || out->avio->error < 0)
        return write_failure(out, out->avio->error, "Writing the audio file");
    if (ftruncate(out->fd, (off_t)out->wsize) != 0) {
        out->werrno = errno;
        return write_failure(out, 0, "Truncating the audio file");
    }
    return 0;
}

double audio_out_seconds(const struct audio_out *out)
{
    return out->rate > 0 ? (double)out->next_pts / out->rate : 0;
}

void audio_out_close(struct audio_out *out)
{
    if (out->mux != NULL)
        avformat_free_context(out->mux); /* leaves our AVIOContext alone */
    out->mux = NULL;
    if (out->avio != NULL) {
        av_freep(&out->avio->buffer);
        avio_context_free(&out->avio);
    }
    avcodec_free_context(&out->enc);
    swr_free(&out->swr);
    if (out->fifo != NULL)
        av_audio_fifo_free(out->fifo);
    out->fifo = NULL;
    if (out->cbuf != NULL)
        av_freep(&out->cbuf[0]);
    av_freep(&out->cbuf);
    av_frame_free(&out->eframe);
    av_packet_free(&out->pkt);
    av_channel_layout_uninit(&out->in_layout);
}
