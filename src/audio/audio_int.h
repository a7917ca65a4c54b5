/* Internals of the audio layer shared by its files: the input side (a
 * demuxer and decoder over an fd, input.c), the output side (resampler,
 * encoder and muxer into an fd, output.c) and small helpers (setup.c).
 * Not for use outside src/audio/. Everything here runs on the job's thread;
 * each struct belongs to one job. */
#ifndef SZ_AUDIO_AUDIO_INT_H
#define SZ_AUDIO_AUDIO_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "audio/audio.h"
#include "audio/av_dl.h"

/* ---- setup.c ---- */

/* Loads libav and sets it up (log routing, codec lists) once; later calls
 * are cheap. 0 or SZ_EIO with a sentence in err. */
int audio_ensure(char *err, size_t errlen);

/* Writes the sentence and returns rc. */
__attribute__((format(printf, 4, 5))) int audio_fail(int rc, char *err, size_t errlen,
                                                     const char *fmt, ...);

/* libav's text for an AVERROR code, into buf. */
const char *audio_averr(int averr, char *buf, size_t len);

/* The last error line libav logged on this thread since audio_clear_log ("" when
 * none), without its "[ctx @ 0x...]" prefix. Lets a message say what the
 * demuxer found ("moov atom not found") rather than only "invalid data". */
const char *audio_last_log(void);
void audio_clear_log(void);

/* The decoder whitelist (libav names, comma-separated) for
 * AVFormatContext.codec_whitelist, and whether a codec id is one we decode. */
const char *audio_codec_whitelist(void);
bool audio_codec_allowed(enum AVCodecID id);

/* The options with defaults applied (NULL opts allowed). */
void audio_opts_resolve(const struct audio_opts *opts, struct audio_opts *pout);

/* True when the job's cancel flag is set. */
bool audio_cancelled(const struct audio_opts *opts);

/* ---- input.c ---- */

struct audio_in {
    int fd;
    int64_t size;
    int64_t rpos; /* read cursor of our AVIOContext */
    struct audio_opts opts;
    char *err;
    size_t errlen;

    AVIOContext *avio;
    AVFormatContext *fmt;
    AVCodecContext *dec;
    AVStream *st;
    int stream;
    AVPacket *pkt;
    AVFrame *frame;

    struct audio_info info;
    bool known;    /* info.duration is the header's or measured, not a bit-rate estimate */
    bool declared; /* info.duration was promised by the header: fewer samples are truncation */
    double header_duration;

    /* decoding */
    bool draining;
    bool eof;
    bool io_error; /* our read callback failed (not a plain end of file) */
    int io_errno;
    int demux_error; /* the demuxer stopped on an error other than the end of the file */
    int64_t packets, bad_packets;

    /* position of the next sample, in seconds: base + samples / rate, so a
     * long decode does not accumulate rounding */
    bool pos_known;
    bool seeked; /* the next frame's timestamp sets the position */
    double pos_base;
    int64_t pos_samples;
    int pos_rate;
    double frame_start; /* seconds at which in->frame starts */
    double decoded;     /* seconds decoded so far */
    double next_progress;
    double progress_offset; /* progress reports end - offset ... */
    double progress_total;  /* ... of this total (0: unknown); set by the job */
};

/* Opens fd (borrowed) as audio: sniffs the container, opens the demuxer over
 * pread with every outside access refused, finds the audio stream, opens its
 * decoder and fills in->info from the header. opts may be NULL. When scan is
 * true and the header does not tell the length, demuxes the whole input to
 * measure it (and reopens). Refuses an input longer than max_duration
 * (SZ_ETOOBIG) unless allow_long. On failure the message is in err and
 * audio_in_close must still be called. */
int audio_in_open(struct audio_in *in, int fd, const struct audio_opts *opts, bool scan,
                  bool allow_long, char *err, size_t errlen);

/* Decodes the next frame into in->frame, starting at in->frame_start
 * seconds. Returns 0 (a frame), 1 (end of input: decoded whole; call
 * audio_in_check_end) or an error with its message. Reports progress and sees
 * cancellation between packets. */
int audio_in_next(struct audio_in *in);

/* After the end: SZ_ECORRUPT when nothing decoded, too many packets failed,
 * or fewer seconds came than the header promised (truncation). */
int audio_in_check_end(struct audio_in *in);

/* Seeks so that the next frames start at or before t seconds (at least
 * preroll before it for codecs whose first frame after a seek is not clean),
 * and resets the position. */
int audio_in_seek(struct audio_in *in, double t);

void audio_in_close(struct audio_in *in);

/* ---- output.c ---- */

struct audio_out {
    int fd;
    int64_t wpos;  /* write cursor of our AVIOContext */
    int64_t wsize; /* highest byte written + 1: the file's size */
    int werrno;    /* first write error */
    char *err;
    size_t errlen;

    enum audio_format format;
    int rate, channels, bit_rate;
    AVIOContext *avio;
    AVFormatContext *mux;
    AVCodecContext *enc;
    AVStream *st;
    AVPacket *pkt;
    AVFrame *eframe; /* one encoder frame */
    int frame_size;  /* samples per encoder frame */
    bool small_last; /* the encoder takes a short last frame */
    bool header_written;

    /* resampler, rebuilt when the input's format changes */
    struct SwrContext *swr;
    enum AVSampleFormat in_fmt;
    int in_rate;
    AVChannelLayout in_layout;
    AVAudioFifo *fifo;
    uint8_t **cbuf; /* conversion buffer */
    int cbuf_cap;   /* its capacity in samples */

    int64_t next_pts; /* samples sent to the encoder */
};

/* Resolves enc's defaults against the input's rate and channels, opens the
 * encoder and the muxer over fd (borrowed; must be a regular file) and writes
 * the container header. On failure the message is in err and audio_out_close
 * must still be called. */
int audio_out_open(struct audio_out *out, int fd, const struct audio_encode *enc, int in_rate,
                   int in_channels, char *err, size_t errlen);

/* Queues count samples of frame starting at sample offset (0 <= offset,
 * offset + count <= nb_samples): resamples them and encodes every full
 * encoder frame. The frame may differ in format, rate or layout from the
 * previous one (the resampler is rebuilt). */
int audio_out_write(struct audio_out *out, const AVFrame *frame, int offset, int count);

/* Drains the resampler and encoder, writes the trailer and truncates the file
 * to its size. */
int audio_out_finish(struct audio_out *out);

/* Seconds of audio sent to the encoder so far. */
double audio_out_seconds(const struct audio_out *out);

void audio_out_close(struct audio_out *out);

#endif
