/* Audio: FFmpeg's libraries (libavformat, libavcodec, libswresample) behind a
 * small API of synchronous jobs, plus the pure planning and text functions
 * the eight audio tools need (windows for long transcriptions, the size plan
 * of compress_audio, the join of overlapping transcripts, the split of long
 * text-to-speech input).
 *
 * Four kinds of function live here:
 * - cheap, pure helpers usable on any thread including the loop (sniffing,
 *   names, planning, text);
 * - jobs (audio_probe, audio_convert, audio_compress, audio_cut,
 *   audio_concat): synchronous, thread-safe, CPU- and I/O-heavy, meant to run
 *   INSIDE a pool job, never on the loop thread. Any number may run at once
 *   on different threads; each uses one thread (libav's own threads are off:
 *   we parallelise across jobs);
 * - their async wrappers (audio_*_async), called on the loop thread: each
 *   runs one job on a core/pool.h pool and reports on the loop;
 * - audio_load, which the jobs call themselves: the first job dlopen()s
 *   libav (~40 ms, see av_dl.h); a server that never runs one never loads it.
 *
 * Inputs and outputs are file descriptors opened by the store: libav never
 * opens a path. An input is read through a custom AVIOContext with pread()
 * (the descriptor's file offset is neither used nor changed), its container is
 * chosen by its magic bytes among AUDIO_CONTAINERS below, whatever the file is
 * called, and the demuxer may open nothing else (no protocols, no references
 * to other files: a crafted playlist, MP4 data reference or HLS stream can
 * make libav read nothing but the descriptor). Only the audio codecs listed in
 * docs/audio.md are decoded. An output must be a regular file opened for
 * writing (the temporary file the store will publish); it is written with
 * pwrite() from offset 0 and truncated to the bytes written.
 *
 * Everything streams: a job holds a few packets and frames at a time (a
 * 64 KiB read buffer, one decoded frame, the resampler's and encoder's
 * state), never the file; memory does not grow with the input's length.
 *
 * Limits: an input longer than max_duration (AUDIO_MAX_DURATION_S unless the
 * caller says otherwise) is refused before any output is written when its
 * header tells its length, and stopped as soon as decoding passes the limit
 * when it does not. More than AUDIO_MAX_CHANNELS channels, or sample rates
 * outside 1 Hz..768 kHz, are refused too.
 *
 * Errors: every job returns 0 or a negative code from core/err.h and writes
 * one user-readable sentence to errbuf (which may be NULL when errlen is 0);
 * AUDIO_ERRMSG_LEN bytes are always enough. Sentences name no path (the
 * caller knows the file's name). Codes:
 *   SZ_EUNSUPPORTED  not audio we read: empty file, unknown magic bytes, no
 *                    audio stream, an audio codec we do not decode;
 *   SZ_ECORRUPT      recognised but unreadable: bad header, undecodable
 *                    data, or truncated (fewer samples than the header
 *                    promises, by more than max(0.5 s, 1 %); an Ogg
 *                    stream without its end-of-stream page);
 *   SZ_ETOOBIG       longer than max_duration, too many channels, or (for
 *                    audio_compress) cannot fit max_bytes even at the
 *                    smallest settings;
 *   SZ_EINVAL        bad arguments (an output that is not a regular file,
 *                    encoder settings out of range, a cut window outside the
 *                    audio);
 *   SZ_ECANCELLED    the cancel flag was seen set;
 *   SZ_EIO           libav could not be loaded, or reading the input failed;
 *   a negative errno (UV_ENOSPC, UV_EIO, ...) when writing the output failed;
 *   SZ_ENOMEM.
 * After a failure the output's contents are undefined (usually truncated to
 * zero bytes): the caller discards it (store_writer_abort) and nothing is
 * published. No job writes a single byte of output before its input has been
 * opened, probed and checked against the limits. */
#ifndef SZ_AUDIO_AUDIO_H
#define SZ_AUDIO_AUDIO_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AUDIO_ERRMSG_LEN     256
#define AUDIO_MAX_DURATION_S (4.0 * 3600.0) /* default limit on an input's length */
#define AUDIO_MAX_CHANNELS   16

/* Windowed transcription (AUDIO.md): files longer than the threshold are sent
 * as 90 s windows every 75 s; overlaps of at least 4 words are removed. */
#define AUDIO_WINDOW_THRESHOLD_S 480.0
#define AUDIO_WINDOW_S           90.0
#define AUDIO_STRIDE_S           75.0
#define AUDIO_MIN_OVERLAP_WORDS  4
#define AUDIO_OVERLAP_SPAN_WORDS 400
/* OpenAI's upload limit for /audio/transcriptions (25 MB, in MiB as the API
 * counts it). A 90 s window is at most 3.6 MB even at 320 kbps. */
#define AUDIO_UPLOAD_LIMIT_BYTES (25 * 1024 * 1024)
/* Text-to-speech input per request (OpenAI allows 4096 characters). */
#define AUDIO_TTS_CHUNK_CHARS 4000

/* Containers we read, by magic bytes. */
enum audio_container {
    AUDIO_CONTAINER_UNKNOWN = 0,
    AUDIO_CONTAINER_WAV,  /* RIFF/RF64/BW64 ... WAVE */
    AUDIO_CONTAINER_MP3,  /* MPEG audio layer I/II/III frames, optionally after an ID3v2 tag */
    AUDIO_CONTAINER_FLAC, /* fLaC */
    AUDIO_CONTAINER_OGG,  /* OggS (Vorbis, Opus, FLAC) */
    AUDIO_CONTAINER_MP4,  /* ISO BMFF with an ftyp box: .mp4, .m4a */
    AUDIO_CONTAINER_WEBM, /* EBML: WebM and Matroska */
    AUDIO_CONTAINER_MPEG, /* MPEG program stream (.mpeg with MPEG audio) */
};

/* Formats we write. The tools offer mp3 and wav (AUDIO.md); the others are
 * here because the pipeline is generic over them and the tests use them to
 * make inputs in every container we read. */
enum audio_format {
    AUDIO_FORMAT_MP3 =
        1, /* MPEG-1/2 layer III by LAME, CBR, Xing/LAME header (gapless, exact length) */
    AUDIO_FORMAT_WAV, /* 16-bit PCM (RF64 past 4 GiB) */
    AUDIO_FORMAT_FLAC,
    AUDIO_FORMAT_OGG,  /* Vorbis */
    AUDIO_FORMAT_M4A,  /* AAC in MP4 */
    AUDIO_FORMAT_WEBM, /* Opus */
};

/* Where audio_info.duration comes from. */
enum audio_duration_source {
    AUDIO_DURATION_HEADER = 1, /* the container's header (exact for WAV, FLAC, MP4, MP3 with a
                                  Xing/VBRI header, Ogg's last page, Matroska's Duration) */
    AUDIO_DURATION_SCAN,       /* demuxed packet by packet, nothing decoded: the header had no
                                  length (MP3 without Xing, WebM from a browser) */
    AUDIO_DURATION_DECODE,     /* every sample decoded and counted (AUDIO_PROBE_DECODE) */
};

struct audio_info {
    enum audio_container container;
    char codec[32];  /* libav's codec name: "mp3", "pcm_s16le", "aac", "opus", ... */
    double duration; /* seconds */
    enum audio_duration_source duration_source;
    int sample_rate;  /* Hz */
    int channels;     /* 1..AUDIO_MAX_CHANNELS */
    int64_t bit_rate; /* bits/s, the container's overall rate or the stream's; 0 if unknown */
    int64_t size;     /* bytes of the input file */
};

/* Called on the job's thread, at most every ~0.5 s of audio processed, with
 * the seconds done and the total expected (0 when unknown). Must be cheap
 * and thread-safe: store into an atomic or uv_async_send, nothing more. */
typedef void audio_progress_fn(void *arg, double done_s, double total_s);

/* Per-job controls; a NULL pointer means all defaults. Borrowed for the
 * duration of the call. */
struct audio_opts {
    const atomic_bool *cancel; /* may be NULL; set by any thread to stop the job, which then
                                  returns SZ_ECANCELLED at the next packet (within
                                  milliseconds) */
    double max_duration; /* refuse inputs longer than this, seconds; 0: AUDIO_MAX_DURATION_S */
    audio_progress_fn *progress; /* may be NULL */
    void *progress_arg;
};

/* What to write. Zero fields take the defaults given. */
struct audio_encode {
    enum audio_format format;
    int sample_rate; /* Hz; 0: the input's when the encoder takes it, else the nearest rate it
                        takes (MP3: 8000-48000; Opus: 8000-48000 in its steps) */
    int channels;    /* 1 or 2; 0: the input's, at most 2 (more are downmixed to stereo) */
    int bit_rate;    /* bits/s for MP3, Vorbis, AAC, Opus; 0: 128000 for MP3 (LAME's default,
                        what the original's pydub export produced), 96000 per channel for
                        the others. MP3 rates are clamped by audio_mp3_bit_rate. Ignored
                        for WAV and FLAC. */
};

/* The convert_audio rule of the original (AUDIO.md): stereo ("-ac 2"), the
 * input's sample rate, the encoder's default bit rate. */
#define AUDIO_ENCODE_CONVERT(fmt) ((struct audio_encode){.format = (fmt), .channels = 2})

/* What a job wrote. */
struct audio_result {
    struct audio_info input; /* the (first) input's probe, as audio_probe reports it; its
                                duration counted by decoding when the job decoded it whole */
    double input_seconds;    /* seconds of input decoded and used (all inputs for concat;
                                the part of the window present for a cut) */
    double duration;         /* seconds of audio written */
    enum audio_format format;
    int sample_rate;
    int channels;
    int bit_rate;  /* bits/s asked of the encoder (0 for PCM/FLAC) */
    int64_t bytes; /* size of the output file */
    int attempts;  /* encodes run: 1, or for audio_compress up to 3 when an estimate missed */
};

/* ---- loading (any thread) ---- */

/* Loads libav now. The jobs do this themselves on first use; tests and
 * benchmarks that want it up front call this. Returns 0, or SZ_EIO with the
 * reason (the libraries are missing or do not match the build). */
int audio_load(char *errbuf, size_t errlen);

/* ---- cheap helpers (any thread, including the loop) ---- */

/* The container by magic bytes (buf borrowed, len bytes; 64 are enough
 * unless an ID3v2 tag comes first: a tag whose end lies past len counts as
 * MP3, which is how MP3 files begin). UNKNOWN for anything else. */
enum audio_container audio_sniff(const void *buf, size_t len);

/* "wav", "mp3", "flac", "ogg", "mp4", "webm", "mpeg"; "unknown". Static. */
const char *audio_container_name(enum audio_container container);

/* "mp3", "wav", "flac", "ogg", "m4a", "webm": also the file extension.
 * "unknown" for anything else. Static. */
const char *audio_format_name(enum audio_format format);
/* "audio/mpeg", "audio/wav", "audio/flac", "audio/ogg", "audio/mp4",
 * "audio/webm"; "application/octet-stream". Static. */
const char *audio_format_mime(enum audio_format format);
/* The name (any case) of a format above → 0 and *pformat; else SZ_EINVAL. */
int audio_format_parse(const char *name, enum audio_format *pformat);

/* ---- jobs (pool threads only) ---- */

enum audio_probe_flags {
    /* Decode every sample and count them (the original's "ffmpeg-decoded"
     * duration), which also proves the whole file decodes: a truncated or
     * corrupt file fails. Costs a full decode (an hour of MP3: seconds);
     * without it a probe reads headers, or demuxes without decoding when the
     * header does not tell the length (milliseconds). */
    AUDIO_PROBE_DECODE = 1 << 0,
};

/* Reads fd's container, codec, duration, sample rate, channels and bit rate
 * into *pinfo. fd: a regular file, borrowed (not closed, its offset
 * untouched). opts may be NULL. Returns 0 or an error above; SZ_ETOOBIG when
 * the input is longer than max_duration (*pinfo then holds what was learnt,
 * its duration at least the limit). */
int audio_probe(int fd, unsigned flags, const struct audio_opts *opts, struct audio_info *pinfo,
                char *errbuf, size_t errlen);

/* Decodes in_fd whole and encodes it into out_fd as enc says (streaming:
 * decode -> resample -> encode, a frame at a time). Fails with SZ_ECORRUPT
 * when the input is truncated or undecodable, leaving nothing usable. in_fd
 * and out_fd borrowed; opts may be NULL; *pres (may be NULL) filled on
 * success. */
int audio_convert(int in_fd, int out_fd, const struct audio_encode *enc,
                  const struct audio_opts *opts, struct audio_result *pres, char *errbuf,
                  size_t errlen);

/* Encodes in_fd as MP3 small enough to fit max_bytes (compress_audio's
 * max_mb * 1048576), choosing bit rate, sample rate and channels from the
 * input's duration with audio_plan_compress (the best setting whose estimated
 * size fits), then checks the size written; should an estimate ever miss, it
 * encodes again one setting lower (at most 3 encodes). *pres reports the
 * setting chosen (bit_rate, sample_rate, channels), the bytes and attempts.
 * When even the smallest setting (8 kbps mono 8 kHz, ~1 KB/s) cannot fit,
 * returns SZ_ETOOBIG with a sentence giving the size needed, before writing
 * anything. It always encodes: whether a file small enough should be left
 * alone is the tool's decision. Other arguments as audio_convert. */
int audio_compress(int in_fd, int out_fd, int64_t max_bytes, const struct audio_opts *opts,
                   struct audio_result *pres, char *errbuf, size_t errlen);

/* Encodes the window [start, start + length) seconds of in_fd into out_fd,
 * sample-accurate (the input is sought to just before start, decoded, and
 * trimmed to the samples of the window). A window running past the end
 * gives what is there (pres->input_seconds says how much), as the original's
 * pydub slice does; start at or past the end is SZ_EINVAL. start >= 0,
 * length > 0. Other arguments as audio_convert. */
int audio_cut(int in_fd, int out_fd, double start, double length, const struct audio_encode *enc,
              const struct audio_opts *opts, struct audio_result *pres, char *errbuf,
              size_t errlen);

/* Joins n inputs (1..1024, in order) into one output without gaps: each is
 * decoded in turn into ONE encoder, so the output holds exactly the samples
 * of the inputs, one after the other (encoder priming and padding of the
 * inputs are removed where their headers record them, as LAME's and Opus'
 * do). Chosen over copying MP3 frames because copied frames from separate
 * encodes carry each encode's priming silence and padding, and the first
 * frame of each part refers to a bit reservoir that the previous part's
 * last frame does not hold: an audible gap and glitch at every join.
 * Inputs may differ in format, rate and channels (each is resampled to the
 * output's, which by default are the first input's). max_duration applies
 * to the sum. A failing input is named in the message ("Part 2 of 3: ...").
 * in_fds borrowed. Other arguments as audio_convert. */
int audio_concat(const int *in_fds, size_t n, int out_fd, const struct audio_encode *enc,
                 const struct audio_opts *opts, struct audio_result *pres, char *errbuf,
                 size_t errlen);

/* ---- async jobs (loop thread; callbacks on the loop thread) ---- */

struct sz_pool;
struct audio_job;

/* What an async job reports, on the loop thread. Owned by the job and valid
 * only during the callback, except text, which the callback may take (copy
 * the pointer, set it to NULL, free() it later).
 *   status  0, SZ_ECANCELLED when the job was cancelled (or its pool closed)
 *           before it finished, else the job's own error code (see above);
 *   errmsg  one sentence when status != 0, "" otherwise;
 *   info    audio_probe_async: what the probe found (also on SZ_ETOOBIG);
 *   result  convert, compress, cut, concat: what was written;
 *   text    audio_join_async: the joined transcript (malloc'd). */
struct audio_done {
    int status;
    const char *errmsg;
    struct audio_info info;
    struct audio_result result;
    char *text;
};

typedef void audio_done_fn(struct audio_done *res, void *arg);

/* Each submits one job to pool (a pool of core/pool.h on the loop, borrowed)
 * and returns 0 and, when pjob is non-NULL, a handle for audio_job_cancel,
 * valid until cb runs; cb(res, arg) then runs exactly once, on the loop
 * thread. File descriptors are BORROWED: keep them open until cb has run.
 * Everything else is copied. max_duration as audio_opts' (0: the default
 * limit). On a non-zero return (SZ_EINVAL, SZ_ENOMEM, SZ_ECANCELLED: the pool
 * is closing) cb is never called. The jobs are those of the synchronous API
 * above, with the same errors and sentences. */
int audio_probe_async(struct sz_pool *pool, int fd, unsigned flags, double max_duration,
                      audio_done_fn *cb, void *arg, struct audio_job **pjob);
int audio_convert_async(struct sz_pool *pool, int in_fd, int out_fd, const struct audio_encode *enc,
                        double max_duration, audio_done_fn *cb, void *arg, struct audio_job **pjob);
int audio_compress_async(struct sz_pool *pool, int in_fd, int out_fd, int64_t max_bytes,
                         double max_duration, audio_done_fn *cb, void *arg,
                         struct audio_job **pjob);
int audio_cut_async(struct sz_pool *pool, int in_fd, int out_fd, double start, double length,
                    const struct audio_encode *enc, double max_duration, audio_done_fn *cb,
                    void *arg, struct audio_job **pjob);
/* in_fds: n descriptors, the array copied, the descriptors borrowed. */
int audio_concat_async(struct sz_pool *pool, const int *in_fds, size_t n, int out_fd,
                       const struct audio_encode *enc, double max_duration, audio_done_fn *cb,
                       void *arg, struct audio_job **pjob);
/* audio_join_transcripts of n texts on the pool. TAKES OWNERSHIP of texts (a
 * malloc'd array of n malloc'd strings or NULLs), also on failure. */
int audio_join_async(struct sz_pool *pool, char **texts, size_t n, audio_done_fn *cb, void *arg,
                     struct audio_job **pjob);

/* Stops a job: one not yet started never runs, a running libav job stops at
 * its next packet (within milliseconds). cb still runs once, with
 * SZ_ECANCELLED unless the job had already finished. NULL is a no-op; call it
 * only before cb has run. */
void audio_job_cancel(struct audio_job *job);

/* ---- planning and text (pure; any thread) ---- */

struct audio_window {
    int index;
    double start; /* seconds */
    double end;   /* seconds, > start */
};

/* The windows covering [0, duration): window seconds long, every stride
 * seconds (0 < stride <= window), the last one ending at duration (it then
 * lasts more than window - stride). duration <= window gives one window
 * [0, duration]; duration <= 0 gives none. On success *pwins is a malloc'd
 * array of *pcount windows (NULL when none) that the caller frees. Returns 0,
 * SZ_EINVAL (bad window/stride, or over 100000 windows) or SZ_ENOMEM. */
int audio_plan_windows(double duration, double window, double stride, struct audio_window **pwins,
                       size_t *pcount);

/* One MP3 encoder setting. */
struct audio_mp3_setting {
    int bit_rate;    /* bits/s, CBR */
    int sample_rate; /* Hz */
    int channels;    /* 1 or 2 */
};

/* The bit rate LAME really encodes at for a request at sample_rate: MPEG-1
 * rates (32-48 kHz) take 32-320 kbps, MPEG-2 (16-24 kHz) 8-160, MPEG-2.5
 * (8-12 kHz) 8-64; outside that LAME clamps, so do we. Pure. */
int audio_mp3_bit_rate(int bit_rate, int sample_rate);

/* The largest size an MP3 of duration seconds at setting s can have: the
 * frames (CBR, so duration * bit_rate / 8 plus the encoder's priming and
 * padding frames), its Xing/LAME frame and ID3 tag, plus 1 % and 8 KiB of
 * margin. Pure arithmetic. */
int64_t audio_mp3_estimate(double duration, const struct audio_mp3_setting *s);

/* compress_audio's choice: the first setting of the ladder below, starting at
 * index *ptier (0 for the best), whose audio_mp3_estimate fits max_bytes.
 * Ladder (bit rate, channels, rate): 128k stereo full rate, 96k stereo full
 * rate, 64k mono full rate, 48k mono 32k, 32k mono 22.05k, 24k mono 16k,
 * 16k mono 11.025k (the original's one setting), 8k mono 8k. "Full rate" is
 * the highest MP3 rate at or below the input's (44.1k for CDs, 48k for
 * video, 24k for OpenAI's speech); no tier raises the rate or the channels
 * above the input's. On success *pset is the setting and *ptier its index
 * (pass *ptier + 1 to step down). SZ_ETOOBIG when no setting from *ptier on
 * fits; SZ_EINVAL for bad arguments. */
int audio_plan_compress(double duration, int in_rate, int in_channels, int64_t max_bytes,
                        struct audio_mp3_setting *pset, int *ptier);

/* Joins the transcripts of consecutive overlapping windows (texts[0..n),
 * NUL-terminated UTF-8, borrowed; NULL or empty entries are skipped, as
 * failed windows are) into one text, as AUDIO.md's windowed transcription
 * does: words are split on whitespace and compared lowercased (ASCII) with
 * .,!?;:"'()[]{}…—–- stripped from both ends; between what is merged so far
 * and the next window, the longest common run of words among the last n
 * merged and first n new words (n = min of both, at most 400; the run
 * starting earliest in the merged words, then in the new, wins a tie) is
 * the overlap: when it is at least 4 words, only the new words after it are
 * appended; otherwise all are. Words are joined with single spaces. On
 * success *pout is a malloc'd string the caller frees. Returns 0 or
 * SZ_ENOMEM. Pure text: it lives here because only windowed transcription
 * needs it. Cost: up to 400 x 400 word comparisons per window (about a
 * millisecond); join many windows on the pool, not the loop. */
int audio_join_transcripts(const char *const *texts, size_t n, char **pout);

/* A chunk of text: len bytes from off. */
struct audio_span {
    size_t off;
    size_t len;
};

/* create_audio's chunking (AUDIO.md): while more than max_chars code points
 * remain, look at the first max_chars of them for the first of ". ", "? ",
 * "! ", ".\n", "?\n", "!\n", ", ", ";\n", ":\n", "\n", " " that occurs, and
 * cut after its last occurrence there; with none, cut at max_chars. text is
 * UTF-8 (len bytes, borrowed); spans are byte ranges of it, never splitting a
 * code point. On success *pspans is a malloc'd array of *pcount spans (one
 * span for text of at most max_chars, even empty) that the caller frees.
 * Returns 0, SZ_EINVAL (max_chars 0) or SZ_ENOMEM. */
int audio_split_tts(const char *text, size_t len, size_t max_chars, struct audio_span **pspans,
                    size_t *pcount);

#endif
