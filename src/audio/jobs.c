/* The audio jobs of audio.h: probe, convert, compress, cut and concat, each
 * one input side (input.c) pumped into one output side (output.c). */
#include "fmacros.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "audio/audio_int.h"
#include "core/err.h"
#include "core/log.h"

#define MAX_PARTS    1024
#define MAX_ATTEMPTS 3

int audio_probe(int fd, unsigned flags, const struct audio_opts *opts, struct audio_info *pinfo,
                char *errbuf, size_t errlen)
{
    bool decode = (flags & AUDIO_PROBE_DECODE) != 0;
    struct audio_in in;
    int rc;

    rc = audio_in_open(&in, fd, opts, !decode, false, errbuf, errlen);
    if (rc == 0 && decode) {
        in.progress_total = in.info.duration;
        do
            rc = audio_in_next(&in);
        while (rc == 0);
        if (rc == 1)
            rc = audio_in_check_end(&in);
        if (rc == 0) {
            in.info.duration = in.decoded;
            in.info.duration_source = AUDIO_DURATION_DECODE;
        }
    }
    if (pinfo != NULL)
        *pinfo = in.info;
    audio_in_close(&in);
    return rc;
}

/* Moves the samples of the input in [start, end) seconds to the output.
 * Returns 1 at the end of the input, 2 once past end, or an error. */
static int pump(struct audio_in *in, struct audio_out *out, double start, double end)
{
    for (;;) {
        int rc = audio_in_next(in);
        const AVFrame *f = in->frame;
        double rate, fend;
        int64_t first = 0, last;

        if (rc != 0)
            return rc;
        rate = f->sample_rate;
        last = f->nb_samples;
        fend = in->frame_start + (double)f->nb_samples / rate;
        if (in->frame_start < start)
            first = llround((start - in->frame_start) * rate);
        if (isfinite(end) && fend > end)
            last = llround((end - in->frame_start) * rate);
        if (first < 0)
            first = 0;
        if (last > f->nb_samples)
            last = f->nb_samples;
        if (last > first) {
            rc = audio_out_write(out, f, (int)first, (int)(last - first));
            if (rc != 0)
                return rc;
        }
        if (isfinite(end) && fend >= end)
            return 2;
    }
}

static void fill_result(struct audio_result *pres, const struct audio_in *in,
                        const struct audio_out *out, double input_seconds, int attempts)
{
    if (pres == NULL)
        return;
    memset(pres, 0, sizeof *pres);
    pres->input = in->info;
    if (in->eof && !in->seeked && in->decoded > 0) {
        /* Decoded whole: the count is better than any header. */
        pres->input.duration = in->decoded;
        pres->input.duration_source = AUDIO_DURATION_DECODE;
    }
    pres->input_seconds = input_seconds;
    pres->duration = audio_out_seconds(out);
    pres->format = out->format;
    pres->sample_rate = out->rate;
    pres->channels = out->channels;
    pres->bit_rate = out->bit_rate;
    pres->bytes = out->wsize;
    pres->attempts = attempts;
}

/* Whole input to a fresh output; the input is open, the output not. */
static int transcode(struct audio_in *in, struct audio_out *out, int out_fd,
                     const struct audio_encode *enc, char *errbuf, size_t errlen)
{
    int rc =
        audio_out_open(out, out_fd, enc, in->info.sample_rate, in->info.channels, errbuf, errlen);

    if (rc != 0)
        return rc;
    in->progress_total = in->info.duration;
    rc = pump(in, out, 0, INFINITY);
    if (rc == 1)
        rc = audio_in_check_end(in);
    if (rc == 0)
        rc = audio_out_finish(out);
    return rc;
}

/* After a failure nothing of the output is worth keeping: leave it empty so
 * a caller that forgets to discard it publishes nothing playable. */
static void discard_output(int fd)
{
    if (ftruncate(fd, 0) != 0)
        SZ_DEBUG("audio: could not empty the failed output");
}

int audio_convert(int in_fd, int out_fd, const struct audio_encode *enc,
                  const struct audio_opts *opts, struct audio_result *pres, char *errbuf,
                  size_t errlen)
{
    struct audio_in in;
    struct audio_out out;
    int rc;

    memset(&out, 0, sizeof out);
    rc = audio_in_open(&in, in_fd, opts, false, false, errbuf, errlen);
    if (rc == 0)
        rc = transcode(&in, &out, out_fd, enc, errbuf, errlen);
    if (rc == 0)
        fill_result(pres, &in, &out, in.decoded, 1);
    else if (out.header_written)
        discard_output(out_fd);
    audio_out_close(&out);
    audio_in_close(&in);
    return rc;
}

static int compress_attempt(struct audio_in *in, int in_fd, int out_fd, int attempt,
                            const struct audio_mp3_setting *set, const struct audio_opts *opts,
                            struct audio_out *out, char *errbuf, size_t errlen)
{
    struct audio_encode enc = {AUDIO_FORMAT_MP3, set->sample_rate, set->channels, set->bit_rate};
    int rc = 0;

    if (attempt > 1) {
        /* The last encode came out too big: start over, one setting lower. */
        struct audio_info info = in->info;

        audio_out_close(out);
        audio_in_close(in);
        if (ftruncate(out_fd, 0) != 0)
            return audio_fail(SZ_EIO, errbuf, errlen, "Could not empty the audio output.");
        rc = audio_in_open(in, in_fd, opts, false, true, errbuf, errlen);
        in->info = info; /* keep the measured duration */
    }
    if (rc == 0)
        rc = transcode(in, out, out_fd, &enc, errbuf, errlen);
    return rc;
}

int audio_compress(int in_fd, int out_fd, int64_t max_bytes, const struct audio_opts *opts,
                   struct audio_result *pres, char *errbuf, size_t errlen)
{
    struct audio_mp3_setting set;
    struct audio_in in;
    struct audio_out out;
    int tier = 0, attempt = 0, rc;
    bool no_fit = false; /* the plan ran out of settings */

    memset(&out, 0, sizeof out);
    memset(&in, 0, sizeof in);
    in.stream = -1;
    if (max_bytes <= 0) {
        rc = audio_fail(SZ_EINVAL, errbuf, errlen, "The size limit must be positive.");
        goto out;
    }
    /* The plan needs the real duration: scan when the header has none. */
    rc = audio_in_open(&in, in_fd, opts, true, false, errbuf, errlen);
    if (rc != 0)
        goto out;
    rc = audio_plan_compress(in.info.duration, in.info.sample_rate, in.info.channels, max_bytes,
                             &set, &tier);
    no_fit = rc == SZ_ETOOBIG;
    while (rc == 0 && ++attempt <= MAX_ATTEMPTS) {
        rc = compress_attempt(&in, in_fd, out_fd, attempt, &set, opts, &out, errbuf, errlen);
        if (rc != 0 || out.wsize <= max_bytes)
            break;
        SZ_INFO("audio: %d bit/s gave %lld bytes, over %lld; trying lower", set.bit_rate,
                (long long)out.wsize, (long long)max_bytes);
        tier++;
        rc = audio_plan_compress(in.info.duration, in.info.sample_rate, in.info.channels, max_bytes,
                                 &set, &tier);
        no_fit = rc == SZ_ETOOBIG;
    }
    if ((rc == 0 || no_fit) && attempt > 0 && out.wsize > max_bytes) {
        rc = audio_fail(SZ_ETOOBIG, errbuf, errlen,
                        "The compressed audio still came out at %.2f MB, over the %.2f MB "
                        "allowed.",
                        (double)out.wsize / 1048576.0, (double)max_bytes / 1048576.0);
    } else if (no_fit) {
        struct audio_mp3_setting least = {8000, 8000, 1};

        rc = audio_fail(SZ_ETOOBIG, errbuf, errlen,
                        "%.0f s of audio cannot fit in %.2f MB: even at 8 kbps mono 8 kHz it "
                        "needs about %.2f MB.",
                        in.info.duration, (double)max_bytes / 1048576.0,
                        (double)audio_mp3_estimate(in.info.duration, &least) / 1048576.0);
    }
    if (rc == 0)
        fill_result(pres, &in, &out, in.decoded, attempt);
out:
    if (rc != 0 && out.header_written)
        discard_output(out_fd);
    audio_out_close(&out);
    audio_in_close(&in);
    return rc;
}

int audio_cut(int in_fd, int out_fd, double start, double length, const struct audio_encode *enc,
              const struct audio_opts *opts, struct audio_result *pres, char *errbuf, size_t errlen)
{
    struct audio_in in;
    struct audio_out out;
    int rc;

    memset(&out, 0, sizeof out);
    memset(&in, 0, sizeof in);
    in.stream = -1;
    if (!isfinite(start) || !isfinite(length) || start < 0 || length <= 0) {
        rc = audio_fail(SZ_EINVAL, errbuf, errlen,
                        "A cut needs a start of at least 0 s and a positive length.");
        goto out;
    }
    rc = audio_in_open(&in, in_fd, opts, false, false, errbuf, errlen);
    if (rc != 0)
        goto out;
    if (in.known && start >= in.info.duration) {
        rc = audio_fail(SZ_EINVAL, errbuf, errlen,
                        "The cut starts at %.2f s but the audio lasts %.2f s.", start,
                        in.info.duration);
        goto out;
    }
    rc = audio_out_open(&out, out_fd, enc, in.info.sample_rate, in.info.channels, errbuf, errlen);
    if (rc == 0)
        rc = audio_in_seek(&in, start);
    if (rc != 0)
        goto out;
    in.progress_offset = start;
    in.progress_total = length;
    rc = pump(&in, &out, start, start + length);
    if (rc == 1)
        rc = audio_in_check_end(&in);
    else if (rc == 2)
        rc = 0;
    if (rc == 0 && out.next_pts == 0)
        rc = audio_fail(SZ_EINVAL, errbuf, errlen,
                        "The cut starts at %.2f s, past the end of the audio.", start);
    if (rc == 0)
        rc = audio_out_finish(&out);
    if (rc == 0)
        fill_result(pres, &in, &out, audio_out_seconds(&out), 1);
out:
    if (rc != 0 && out.header_written)
        discard_output(out_fd);
    audio_out_close(&out);
    audio_in_close(&in);
    return rc;
}

/* Rewrites errbuf as "Part i of n: <what it said>". */
static int name_part(int rc, size_t i, size_t n, char *errbuf, size_t errlen)
{
    char said[AUDIO_ERRMSG_LEN];

    if (errbuf == NULL || errlen == 0)
        return rc;
    snprintf(said, sizeof said, "%s", errbuf);
    snprintf(errbuf, errlen, "Part %zu of %zu: %s", i + 1, n, said);
    return rc;
}

/* Opens every part once before writing anything, so a bad part fails the
 * job before the output is touched; adds up their durations. */
static int check_parts(const int *in_fds, size_t n, const struct audio_opts *opts,
                       struct audio_info *pfirst, double *ptotal, char *errbuf, size_t errlen)
{
    struct audio_opts o;
    double total = 0;

    audio_opts_resolve(opts, &o);
    for (size_t i = 0; i < n; i++) {
        struct audio_in in;
        int rc = audio_in_open(&in, in_fds[i], opts, false, true, errbuf, errlen);

        if (rc == 0 && i == 0)
            *pfirst = in.info;
        total += in.info.duration;
        audio_in_close(&in);
        if (rc != 0)
            return name_part(rc, i, n, errbuf, errlen);
    }
    *ptotal = total;
    if (total > o.max_duration)
        return audio_fail(SZ_ETOOBIG, errbuf, errlen,
                          "The parts last %.0f s together, longer than the %.0f s this server "
                          "accepts.",
                          total, o.max_duration);
    return 0;
}

int audio_concat(const int *in_fds, size_t n, int out_fd, const struct audio_encode *enc,
                 const struct audio_opts *opts, struct audio_result *pres, char *errbuf,
                 size_t errlen)
{
    struct audio_info first = {0};
    struct audio_in in;
    struct audio_out out;
    double total = 0, done = 0;
    int rc;

    memset(&out, 0, sizeof out);
    memset(&in, 0, sizeof in);
    in.stream = -1;
    if (in_fds == NULL || n == 0 || n > MAX_PARTS) {
        rc = audio_fail(SZ_EINVAL, errbuf, errlen, "A concat takes 1 to %d parts.", MAX_PARTS);
        goto out;
    }
    rc = check_parts(in_fds, n, opts, &first, &total, errbuf, errlen);
    if (rc == 0)
        rc = audio_out_open(&out, out_fd, enc, first.sample_rate, first.channels, errbuf, errlen);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        /* The limit applies to the sum: each part may use what is left. */
        struct audio_opts o;

        audio_opts_resolve(opts, &o);
        o.max_duration = fmax(o.max_duration - done, 1e-3);
        rc = audio_in_open(&in, in_fds[i], &o, false, true, errbuf, errlen);
        in.progress_offset = -done;
        in.progress_total = total;
        if (rc == 0)
            rc = pump(&in, &out, 0, INFINITY);
        if (rc == 1)
            rc = audio_in_check_end(&in);
        done += in.decoded;
        audio_in_close(&in);
        if (rc != 0)
            rc = name_part(rc, i, n, errbuf, errlen);
    }
    if (rc == 0)
        rc = audio_out_finish(&out);
    if (rc == 0) {
        in.info = first; /* the first part's probe, not the last part's decode */
        in.eof = false;
        fill_result(pres, &in, &out, done, 1);
    }
out:
    if (rc != 0 && out.header_written)
        discard_output(out_fd);
    audio_out_close(&out);
    return rc;
}
