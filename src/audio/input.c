/* The input side of every audio job: a demuxer and a decoder over an fd.
 *
 * The gate, before libav parses anything: the fd must be a regular file that
 * is not empty, and its magic bytes must name one of our containers. The
 * demuxer for that container is then chosen explicitly (libav's own format
 * probing, which considers every demuxer it has, never runs), reads only
 * through pread() on the fd, and any attempt to open another resource (a
 * playlist entry, an MP4 data reference, an HLS segment) is refused by an
 * io_open callback; format_whitelist and codec_whitelist say the same again
 * inside libav. Only the decoders of setup.c's list are opened.
 *
 * Positions are counted in samples from the first decoded frame (after a
 * seek, from that frame's timestamp), not taken from every frame's
 * timestamp: sample counts are exact where timestamps of some formats are
 * rounded. */
#include "fmacros.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audio/audio_int.h"
#include "core/err.h"
#include "core/log.h"

#define IO_BUF_SIZE     (64 * 1024)
#define PROBE_SIZE      (1 << 20) /* bytes avformat_find_stream_info may read (and buffer) */
#define MAX_SAMPLE_RATE 768000
#define PREROLL_S       0.5 /* decoded and dropped before a cut in a lossy stream */
#define PROGRESS_STEP_S 0.5

/* Demuxers by container, and the whitelist naming all of them. */
static const char *const demuxer_names[] = {
    [AUDIO_CONTAINER_WAV] = "wav",   [AUDIO_CONTAINER_MP3] = "mp3", [AUDIO_CONTAINER_FLAC] = "flac",
    [AUDIO_CONTAINER_OGG] = "ogg",   [AUDIO_CONTAINER_MP4] = "mp4", [AUDIO_CONTAINER_WEBM] = "webm",
    [AUDIO_CONTAINER_MPEG] = "mpeg",
};
#define DEMUXER_WHITELIST "wav,mp3,flac,ogg,mov,mp4,m4a,matroska,webm,mpeg"

static const char *const container_titles[] = {
    [AUDIO_CONTAINER_WAV] = "WAV",   [AUDIO_CONTAINER_MP3] = "MP3",
    [AUDIO_CONTAINER_FLAC] = "FLAC", [AUDIO_CONTAINER_OGG] = "Ogg",
    [AUDIO_CONTAINER_MP4] = "MP4",   [AUDIO_CONTAINER_WEBM] = "WebM/Matroska",
    [AUDIO_CONTAINER_MPEG] = "MPEG",
};

/* ---- I/O callbacks (run inside libav calls on the job's thread) ---- */

static int read_cb(void *opaque, uint8_t *buf, int size)
{
    struct audio_in *in = opaque;
    ssize_t n;

    if (audio_cancelled(&in->opts))
        return AVERROR_EXIT;
    do
        n = pread(in->fd, buf, (size_t)size, (off_t)in->rpos);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        in->io_error = true;
        in->io_errno = errno;
        return AVERROR(errno);
    }
    if (n == 0)
        return AVERROR_EOF;
    in->rpos += n;
    return (int)n;
}

static int64_t seek_cb(void *opaque, int64_t offset, int whence)
{
    struct audio_in *in = opaque;
    int64_t base;

    switch (whence & ~AVSEEK_FORCE) {
    case AVSEEK_SIZE:
        return in->size;
    case SEEK_SET:
        base = 0;
        break;
    case SEEK_CUR:
        base = in->rpos;
        break;
    case SEEK_END:
        base = in->size;
        break;
    default:
        return AVERROR(EINVAL);
    }
    if ((offset > 0 && base > INT64_MAX - offset) || base + offset < 0)
        return AVERROR(EINVAL);
    in->rpos = base + offset;
    return in->rpos;
}

/* The demuxer asks to open another resource: never. */
static int refuse_open(struct AVFormatContext *s, AVIOContext **pb, const char *url, int flags,
                       AVDictionary **options)
{
    (void)s;
    (void)pb;
    (void)url;
    (void)flags;
    (void)options;
    SZ_DEBUG("audio: refused the demuxer's request to open another resource");
    return AVERROR(EPERM);
}

static int interrupt_cb(void *opaque)
{
    struct audio_in *in = opaque;

    return audio_cancelled(&in->opts);
}

/* ---- opening ---- */

static enum audio_container sniff_fd(struct audio_in *in)
{
    unsigned char head[4096];
    unsigned char after[64];
    ssize_t n, m;
    size_t tag;

    n = pread(in->fd, head, sizeof head, 0);
    if (n <= 0)
        return AUDIO_CONTAINER_UNKNOWN;
    if (n < 10 || memcmp(head, "ID3", 3) != 0 || (size_t)n > 0x7fffffff)
        return audio_sniff(head, (size_t)n);
    tag = 10 +
          (((size_t)head[6] & 0x7f) << 21 | ((size_t)head[7] & 0x7f) << 14 |
           ((size_t)head[8] & 0x7f) << 7 | ((size_t)head[9] & 0x7f)) +
          ((head[5] & 0x10) ? 10 : 0);
    if (tag < (size_t)n)
        return audio_sniff(head, (size_t)n);
    /* A long tag (cover art): look at what follows it. */
    m = pread(in->fd, after, sizeof after, (off_t)tag);
    if (m > 0 && audio_sniff(after, (size_t)m) == AUDIO_CONTAINER_FLAC)
        return AUDIO_CONTAINER_FLAC;
    return AUDIO_CONTAINER_MP3;
}

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* libav sizes a WAV's data by the file when the header claims more, which
 * would hide truncation (and a header claiming hours over a few seconds of
 * data): read the claim ourselves. Sets in->header_duration and
 * in->declared when the data chunk's stated end lies past the file's end. */
static void wav_claim(struct audio_in *in)
{
    unsigned char b[4096];
    ssize_t n = pread(in->fd, b, sizeof b, 0);
    uint32_t byte_rate = 0;
    size_t at = 12;

    if (n < 12 || memcmp(b, "RIFF", 4) != 0)
        return; /* RF64 and BW64 state 64-bit sizes elsewhere: left to libav */
    while (at + 8 <= (size_t)n) {
        uint32_t len = le32(b + at + 4);

        if (memcmp(b + at, "fmt ", 4) == 0 && at + 20 <= (size_t)n) {
            byte_rate = le32(b + at + 16);
        } else if (memcmp(b + at, "data", 4) == 0) {
            if (byte_rate > 0 && len > 0 && len != 0xffffffffu &&
                (int64_t)at + 8 + (int64_t)len > in->size) {
                in->header_duration = (double)len / byte_rate;
                in->declared = true;
            }
            return;
        }
        at += 8 + (size_t)len + (len & 1);
    }
}

/* A failed libav call while reading: cancelled, an I/O error, or data the
 * demuxer or decoder could not parse (with libav's own words when it logged
 * any). */
static int read_failure(struct audio_in *in, int averr, const char *what)
{
    char text[128];
    const char *detail =
        audio_last_log()[0] ? audio_last_log() : audio_averr(averr, text, sizeof text);

    if (averr == AVERROR_EXIT || audio_cancelled(&in->opts))
        return audio_fail(SZ_ECANCELLED, in->err, in->errlen, "The audio job was cancelled.");
    if (in->io_error)
        return audio_fail(SZ_EIO, in->err, in->errlen, "Reading the audio file failed: %s.",
                          strerror(in->io_errno));
    if (averr == AVERROR(ENOMEM))
        return audio_fail(SZ_ENOMEM, in->err, in->errlen, "Out of memory reading the audio file.");
    return audio_fail(SZ_ECORRUPT, in->err, in->errlen, "The file looks like %s but %s (%s).",
                      container_titles[in->info.container], what, detail);
}

static int open_demuxer(struct audio_in *in)
{
    const AVInputFormat *ifmt = av_find_input_format(demuxer_names[in->info.container]);
    unsigned char *buf = NULL;
    int rc;

    if (ifmt == NULL)
        return audio_fail(SZ_EUNSUPPORTED, in->err, in->errlen, "This FFmpeg cannot read %s files.",
                          container_titles[in->info.container]);
    buf = av_malloc(IO_BUF_SIZE);
    in->avio = buf ? avio_alloc_context(buf, IO_BUF_SIZE, 0, in, read_cb, NULL, seek_cb) : NULL;
    in->fmt = avformat_alloc_context();
    if (in->avio == NULL || in->fmt == NULL) {
        if (in->avio == NULL)
            av_free(buf);
        return audio_fail(SZ_ENOMEM, in->err, in->errlen, "Out of memory opening the audio file.");
    }
    in->rpos = 0;
    in->fmt->pb = in->avio;
    in->fmt->flags |= AVFMT_FLAG_CUSTOM_IO;
    in->fmt->io_open = refuse_open;
    in->fmt->interrupt_callback.callback = interrupt_cb;
    in->fmt->interrupt_callback.opaque = in;
    in->fmt->probesize = PROBE_SIZE;
    in->fmt->format_whitelist = av_strdup(DEMUXER_WHITELIST);
    in->fmt->codec_whitelist = av_strdup(audio_codec_whitelist());
    in->fmt->protocol_whitelist = av_strdup("none");
    if (in->fmt->format_whitelist == NULL || in->fmt->codec_whitelist == NULL ||
        in->fmt->protocol_whitelist == NULL)
        return audio_fail(SZ_ENOMEM, in->err, in->errlen, "Out of memory opening the audio file.");
    /* On failure avformat_open_input frees the context (not our AVIOContext). */
    rc = avformat_open_input(&in->fmt, NULL, ifmt, NULL);
    if (rc < 0)
        return read_failure(in, rc, "its header cannot be read");
    rc = avformat_find_stream_info(in->fmt, NULL);
    if (rc < 0)
        return read_failure(in, rc, "its streams cannot be read");
    rc = av_find_best_stream(in->fmt, AVMEDIA_TYPE_AUDIO, -1, -1, NULL, 0);
    if (rc < 0) {
        if (audio_cancelled(&in->opts))
            return read_failure(in, AVERROR_EXIT, "");
        return audio_fail(SZ_EUNSUPPORTED, in->err, in->errlen,
                          "The %s file holds no audio stream.",
                          container_titles[in->info.container]);
    }
    in->stream = rc;
    in->st = in->fmt->streams[rc];
    for (unsigned i = 0; i < in->fmt->nb_streams; i++)
        if ((int)i != in->stream)
            in->fmt->streams[i]->discard = AVDISCARD_ALL;
    return 0;
}

static int open_decoder(struct audio_in *in)
{
    const AVCodecParameters *par = in->st->codecpar;
    const AVCodec *codec;
    int channels = par->ch_layout.nb_channels;
    char text[128];
    int rc;

    codec = audio_codec_allowed(par->codec_id) ? avcodec_find_decoder(par->codec_id) : NULL;
    if (codec == NULL)
        return audio_fail(SZ_EUNSUPPORTED, in->err, in->errlen,
                          "The file's audio is %s, which is not a codec we decode.",
                          avcodec_get_name(par->codec_id));
    if (channels > AUDIO_MAX_CHANNELS)
        return audio_fail(SZ_ETOOBIG, in->err, in->errlen,
                          "The audio has %d channels; at most %d are supported.", channels,
                          AUDIO_MAX_CHANNELS);
    if (channels < 1 || par->sample_rate < 1 || par->sample_rate > MAX_SAMPLE_RATE)
        return audio_fail(SZ_ECORRUPT, in->err, in->errlen,
                          "The %s header gives no usable sample rate or channel count.",
                          container_titles[in->info.container]);
    in->dec = avcodec_alloc_context3(codec);
    in->pkt = av_packet_alloc();
    in->frame = av_frame_alloc();
    if (in->dec == NULL || in->pkt == NULL || in->frame == NULL)
        return audio_fail(SZ_ENOMEM, in->err, in->errlen, "Out of memory opening the decoder.");
    rc = avcodec_parameters_to_context(in->dec, par);
    if (rc >= 0) {
        in->dec->pkt_timebase = in->st->time_base;
        in->dec->thread_count = 1; /* we parallelise across jobs */
        rc = avcodec_open2(in->dec, codec, NULL);
    }
    if (rc < 0)
        return audio_fail(SZ_ECORRUPT, in->err, in->errlen, "The %s audio cannot be decoded (%s).",
                          avcodec_get_name(par->codec_id),
                          audio_last_log()[0] ? audio_last_log()
                                              : audio_averr(rc, text, sizeof text));
    return 0;
}

/* Fills in->info from the headers; the duration only where the container
 * states it (or libav measured it from timestamps), not a guess from the
 * bit rate. Returns true when the duration is known. */
static bool fill_info(struct audio_in *in)
{
    const AVCodecParameters *par = in->st->codecpar;
    AVFormatContext *fmt = in->fmt;
    double d = -1;

    snprintf(in->info.codec, sizeof in->info.codec, "%s", avcodec_get_name(par->codec_id));
    in->info.sample_rate = par->sample_rate;
    in->info.channels = par->ch_layout.nb_channels;
    in->info.bit_rate = par->bit_rate > 0 ? par->bit_rate : fmt->bit_rate > 0 ? fmt->bit_rate : 0;
    in->info.size = in->size;
    if (fmt->duration_estimation_method != AVFMT_DURATION_FROM_BITRATE) {
        if (in->st->duration != AV_NOPTS_VALUE && in->st->duration > 0)
            d = (double)in->st->duration * av_q2d(in->st->time_base);
        else if (fmt->duration != AV_NOPTS_VALUE && fmt->duration > 0)
            d = (double)fmt->duration / AV_TIME_BASE;
    }
    in->declared = d > 0 && fmt->duration_estimation_method == AVFMT_DURATION_FROM_STREAM;
    in->header_duration = d;
    if (in->info.container == AUDIO_CONTAINER_WAV)
        wav_claim(in);
    in->info.duration = d > 0 ? d : 0;
    in->info.duration_source = AUDIO_DURATION_HEADER;
    if (d <= 0 && fmt->duration != AV_NOPTS_VALUE && fmt->duration > 0)
        in->info.duration = (double)fmt->duration / AV_TIME_BASE; /* an estimate, for now */
    return d > 0;
}

static void close_libav(struct audio_in *in)
{
    avcodec_free_context(&in->dec);
    if (in->fmt != NULL)
        avformat_close_input(&in->fmt);
    if (in->avio != NULL) {
        av_freep(&in->avio->buffer);
        avio_context_free(&in->avio);
    }
    av_packet_free(&in->pkt);
    av_frame_free(&in->frame);
    in->st = NULL;
    in->stream = -1;
}

/* Everything but the fd and the info back to a freshly opened input. */
static int reopen(struct audio_in *in)
{
    int rc;

    close_libav(in);
    in->draining = in->eof = in->io_error = in->seeked = false;
    in->packets = in->bad_packets = 0;
    in->demux_error = 0;
    in->pos_known = false;
    in->decoded = 0;
    in->next_progress = 0;
    rc = open_demuxer(in);
    if (rc == 0)
        rc = open_decoder(in);
    return rc;
}

static double packet_end(const struct audio_in *in, const AVPacket *pkt, int64_t *psum)
{
    double tb = av_q2d(in->st->time_base);
    int64_t start = in->st->start_time != AV_NOPTS_VALUE ? in->st->start_time : 0;

    if (pkt->duration > 0)
        *psum += pkt->duration;
    if (pkt->pts != AV_NOPTS_VALUE)
        return (double)(pkt->pts - start + (pkt->duration > 0 ? pkt->duration : 0)) * tb;
    return (double)*psum * tb;
}

/* Measures the duration of a file whose header does not state it by
 * demuxing every packet of the stream (no decoding: packets carry their
 * timestamps and durations), then reopens. Stops past max_duration. */
static int scan(struct audio_in *in)
{
    double end = 0;
    int64_t sum = 0;
    int rc;

    for (;;) {
        rc = av_read_frame(in->fmt, in->pkt);
        if (rc < 0)
            break;
        if (in->pkt->stream_index == in->stream) {
            double e = packet_end(in, in->pkt, &sum);

            if (e > end)
                end = e;
        }
        av_packet_unref(in->pkt);
        if (end > in->opts.max_duration)
            break;
        if (audio_cancelled(&in->opts)) {
            rc = AVERROR_EXIT;
            break;
        }
    }
    if (rc < 0 && rc != AVERROR_EOF && (rc == AVERROR_EXIT || in->io_error))
        return read_failure(in, rc, "");
    if (end <= 0)
        return audio_fail(SZ_ECORRUPT, in->err, in->errlen,
                          "The %s file holds no readable audio packets.",
                          container_titles[in->info.container]);
    in->info.duration = end;
    in->info.duration_source = AUDIO_DURATION_SCAN;
    return reopen(in);
}

int audio_in_open(struct audio_in *in, int fd, const struct audio_opts *opts, bool do_scan,
                  bool allow_long, char *err, size_t errlen)
{
    struct stat sb;
    bool known;
    int rc;

    memset(in, 0, sizeof *in);
    in->fd = fd;
    in->stream = -1;
    in->err = err;
    in->errlen = errlen;
    audio_opts_resolve(opts, &in->opts);
    rc = audio_ensure(err, errlen);
    if (rc != 0)
        goto out;
    audio_clear_log();
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        rc = audio_fail(SZ_EINVAL, err, errlen, "The audio input is not a regular file.");
        goto out;
    }
    in->size = sb.st_size;
    if (in->size == 0) {
        rc = audio_fail(SZ_EUNSUPPORTED, err, errlen, "The file is empty (0 bytes), not audio.");
        goto out;
    }
    in->info.container = sniff_fd(in);
    if (in->info.container == AUDIO_CONTAINER_UNKNOWN) {
        rc = audio_fail(SZ_EUNSUPPORTED, err, errlen,
                        "The file is not audio in a format we read (MP3, WAV, FLAC, Ogg, "
                        "M4A/MP4, WebM or MPEG).");
        goto out;
    }
    rc = open_demuxer(in);
    if (rc == 0)
        rc = open_decoder(in);
    if (rc != 0)
        goto out;
    known = fill_info(in);
    if (!known && do_scan) {
        rc = scan(in);
        if (rc != 0)
            goto out;
    }
    in->known = known || do_scan;
    /* A duration from the header is refused at the limit; an estimate from
     * the bit rate only when far past it (decoding stops at the limit anyway). */
    if (!allow_long && in->info.duration > in->opts.max_duration * (known || do_scan ? 1.0 : 1.5))
        rc = audio_fail(SZ_ETOOBIG, err, errlen,
                        "The audio lasts %.0f s, longer than the %.0f s this server accepts.",
                        in->info.duration, in->opts.max_duration);
out:
    return rc;
}

/* ---- decoding ---- */

/* Places the frame just decoded on the timeline and reports progress.
 * After a seek the first frame's timestamp gives the position; when it has
 * none the caller starts over from the beginning. */
static int account(struct audio_in *in)
{
    AVFrame *f = in->frame;
    double end;

    if (f->sample_rate < 1 || f->sample_rate > MAX_SAMPLE_RATE || f->nb_samples < 0 ||
        f->ch_layout.nb_channels < 1 || f->ch_layout.nb_channels > AUDIO_MAX_CHANNELS)
        return audio_fail(SZ_ECORRUPT, in->err, in->errlen,
                          "The decoder produced audio with an impossible format.");
    if (!in->pos_known) {
        in->pos_base = 0;
        if (in->seeked) {
            int64_t ts = f->best_effort_timestamp;
            int64_t start = in->st->start_time != AV_NOPTS_VALUE ? in->st->start_time : 0;

            if (ts == AV_NOPTS_VALUE)
                return 1;
            in->pos_base = (double)(ts - start) * av_q2d(in->st->time_base);
        }
        in->pos_samples = 0;
        in->pos_rate = f->sample_rate;
        in->pos_known = true;
    } else if (f->sample_rate != in->pos_rate) {
        in->pos_base += (double)in->pos_samples / in->pos_rate;
        in->pos_samples = 0;
        in->pos_rate = f->sample_rate;
    }
    in->frame_start = in->pos_base + (double)in->pos_samples / in->pos_rate;
    in->pos_samples += f->nb_samples;
    in->decoded += (double)f->nb_samples / f->sample_rate;
    end = in->pos_base + (double)in->pos_samples / in->pos_rate;
    if (end > in->opts.max_duration)
        return audio_fail(SZ_ETOOBIG, in->err, in->errlen,
                          "The audio lasts longer than the %.0f s this server accepts.",
                          in->opts.max_duration);
    if (in->opts.progress != NULL && end >= in->next_progress) {
        in->opts.progress(in->opts.progress_arg, end - in->progress_offset, in->progress_total);
        in->next_progress = end + PROGRESS_STEP_S;
    }
    return 0;
}

/* Feeds the decoder one packet of our stream. 0: fed (or skipped as bad),
 * 1: end of input (the decoder is being drained), <0: error. */
static int feed(struct audio_in *in)
{
    int rc;

    for (;;) {
        if (audio_cancelled(&in->opts))
            return read_failure(in, AVERROR_EXIT, "");
        rc = av_read_frame(in->fmt, in->pkt);
        if (rc < 0) {
            if (rc == AVERROR_EXIT || in->io_error || rc == AVERROR(ENOMEM))
                return read_failure(in, rc, "");
            if (rc != AVERROR_EOF)
                in->demux_error = rc; /* damaged: judged in audio_in_check_end */
            in->draining = true;
            avcodec_send_packet(in->dec, NULL);
            return 1;
        }
        if (in->pkt->stream_index == in->stream)
            break;
        av_packet_unref(in->pkt);
    }
    in->packets++;
    rc = avcodec_send_packet(in->dec, in->pkt);
    av_packet_unref(in->pkt);
    if (rc == AVERROR(ENOMEM))
        return read_failure(in, rc, "");
    if (rc < 0)
        in->bad_packets++;
    return 0;
}

int audio_in_next(struct audio_in *in)
{
    int rc;

    for (;;) {
        rc = avcodec_receive_frame(in->dec, in->frame);
        if (rc == 0) {
            rc = account(in);
            if (rc != 1)
                return rc;
            /* No timestamp after a seek: start over and count from 0. */
            rc = reopen(in);
            if (rc != 0)
                return rc;
            in->seeked = false;
            continue;
        }
        if (rc == AVERROR_EOF) {
            in->eof = true;
            return 1;
        }
        if (rc == AVERROR(ENOMEM))
            return read_failure(in, rc, "");
        if (rc != AVERROR(EAGAIN)) {
            /* A frame the decoder rejected; it goes on with the next packet. */
            if (++in->bad_packets > in->packets + 64)
                return read_failure(in, rc, "its audio cannot be decoded");
            continue;
        }
        if (in->draining) {
            in->eof = true;
            return 1;
        }
        rc = feed(in);
        if (rc < 0)
            return rc;
    }
}

/* Ogg states no length in its headers, but a complete stream ends with a
 * page flagged end-of-stream; a recording cut short does not. Looks at the
 * last page header in the file's last 64 KiB. */
static bool ogg_ends_cleanly(const struct audio_in *in)
{
    unsigned char tail[65536];
    int64_t from = in->size > (int64_t)sizeof tail ? in->size - (int64_t)sizeof tail : 0;
    ssize_t n = pread(in->fd, tail, sizeof tail, (off_t)from);

    for (ssize_t i = n - 6; i >= 0; i--)
        if (memcmp(tail + i, "OggS", 4) == 0 && tail[i + 4] == 0)
            return (tail[i + 5] & 0x04) != 0;
    return true; /* no page header found: not ours to judge */
}

int audio_in_check_end(struct audio_in *in)
{
    double end = in->pos_known ? in->pos_base + (double)in->pos_samples / in->pos_rate : 0;
    double slack = fmax(0.5, 0.01 * in->header_duration);
    char text[128];

    if (in->decoded <= 0)
        return audio_fail(SZ_ECORRUPT, in->err, in->errlen,
                          "No audio could be decoded from the %s file (%s).",
                          container_titles[in->info.container],
                          audio_last_log()[0] ? audio_last_log() : "no valid frames");
    if (in->bad_packets > 2 && in->bad_packets * 100 > in->packets)
        return audio_fail(SZ_ECORRUPT, in->err, in->errlen,
                          "The %s file is damaged: %lld of its %lld audio packets cannot be "
                          "decoded.",
                          container_titles[in->info.container], (long long)in->bad_packets,
                          (long long)in->packets);
    if (in->declared && end < in->header_duration - slack)
        return audio_fail(SZ_ECORRUPT, in->err, in->errlen,
                          "The %s file is truncated: its header promises %.1f s of audio but "
                          "only %.1f s are there.",
                          container_titles[in->info.container], in->header_duration, end);
    if (in->info.container == AUDIO_CONTAINER_OGG && !ogg_ends_cleanly(in))
        return audio_fail(SZ_ECORRUPT, in->err, in->errlen,
                          "The Ogg file is truncated: it stops after %.1f s without the page "
                          "that ends its stream.",
                          end);
    if (in->demux_error != 0)
        return audio_fail(SZ_ECORRUPT, in->err, in->errlen,
                          "The %s file is damaged after %.1f s (%s).",
                          container_titles[in->info.container], end,
                          audio_last_log()[0] ? audio_last_log()
                                              : audio_averr(in->demux_error, text, sizeof text));
    return 0;
}

/* PCM (libav numbers all its PCM codecs below the first ADPCM one) and
 * FLAC/ALAC decode cleanly from any packet; everything else gets a preroll. */
static bool clean_restart(enum AVCodecID id)
{
    if (id >= AV_CODEC_ID_PCM_S16LE && id < AV_CODEC_ID_ADPCM_IMA_QT)
        return true;
    return id == AV_CODEC_ID_FLAC || id == AV_CODEC_ID_ALAC;
}

int audio_in_seek(struct audio_in *in, double t)
{
    double target = t - (clean_restart(in->st->codecpar->codec_id) ? 0 : PREROLL_S);
    int64_t start = in->st->start_time != AV_NOPTS_VALUE ? in->st->start_time : 0;
    int64_t ts;
    int rc;

    if (target <= 0)
        return 0; /* decoding from the beginning reaches t anyway */
    ts = start + (int64_t)floor(target / av_q2d(in->st->time_base));
    rc = av_seek_frame(in->fmt, in->stream, ts, AVSEEK_FLAG_BACKWARD);
    if (rc < 0) {
        /* Not seekable: decode from the start, dropping what precedes t. */
        if (audio_cancelled(&in->opts) || in->io_error)
            return read_failure(in, rc, "");
        SZ_DEBUG("audio: seek failed, decoding from the start");
        return reopen(in);
    }
    avcodec_flush_buffers(in->dec);
    in->draining = in->eof = false;
    in->pos_known = false;
    in->seeked = true;
    return 0;
}

void audio_in_close(struct audio_in *in)
{
    close_libav(in);
}
