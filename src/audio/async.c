/* Async audio jobs (audio.h): each job of this layer (probe, convert,
 * compress, cut, concat) and the transcript join, run on a bounded pool of
 * core/pool.h with the outcome reported on the loop thread.
 *
 * A job copies its parameters at submission (the caller's structs and
 * arrays may go at once) and borrows the file descriptors until its callback
 * has run. Cancelling sets the job's flag, which a running libav job sees at
 * its next packet, and drops a job that has not started; either way the
 * callback comes once, with SZ_ECANCELLED unless the work had finished. */
#include "fmacros.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audio/audio.h"
#include "core/err.h"
#include "core/pool.h"

enum job_kind { KIND_PROBE, KIND_CONVERT, KIND_COMPRESS, KIND_CUT, KIND_CONCAT, KIND_JOIN };

struct audio_job {
    enum job_kind kind;
    audio_done_fn *cb;
    void *arg;
    struct sz_pool_job *pjob; /* until done_cb */
    atomic_bool cancel;

    /* inputs */
    int in_fd, out_fd;
    int *in_fds; /* concat: owned copy */
    size_t n;
    unsigned flags;
    struct audio_encode enc;
    double max_duration;
    double start, length;
    int64_t max_bytes;
    char **texts; /* join: owned */

    /* outputs */
    struct audio_done done;
    char errbuf[AUDIO_ERRMSG_LEN];
};

static void job_free(struct audio_job *job)
{
    if (job->texts != NULL) {
        for (size_t i = 0; i < job->n; i++)
            free(job->texts[i]);
        free(job->texts);
    }
    free(job->in_fds);
    free(job->done.text);
    free(job);
}

static void work_cb(void *data)
{
    struct audio_job *job = data;
    struct audio_opts opts = {.cancel = &job->cancel, .max_duration = job->max_duration};
    char *eb = job->errbuf;
    size_t el = sizeof job->errbuf;
    int rc = SZ_EINVAL;

    switch (job->kind) {
    case KIND_PROBE:
        rc = audio_probe(job->in_fd, job->flags, &opts, &job->done.info, eb, el);
        break;
    case KIND_CONVERT:
        rc = audio_convert(job->in_fd, job->out_fd, &job->enc, &opts, &job->done.result, eb, el);
        break;
    case KIND_COMPRESS:
        rc = audio_compress(job->in_fd, job->out_fd, job->max_bytes, &opts, &job->done.result, eb,
                            el);
        break;
    case KIND_CUT:
        rc = audio_cut(job->in_fd, job->out_fd, job->start, job->length, &job->enc, &opts,
                       &job->done.result, eb, el);
        break;
    case KIND_CONCAT:
        rc = audio_concat(job->in_fds, job->n, job->out_fd, &job->enc, &opts, &job->done.result, eb,
                          el);
        break;
    case KIND_JOIN:
        rc = audio_join_transcripts((const char *const *)job->texts, job->n, &job->done.text);
        if (rc != 0)
            snprintf(eb, el, "Out of memory joining the transcripts");
        break;
    }
    job->done.status = rc;
}

static void done_cb(void *data, int status)
{
    struct audio_job *job = data;

    job->pjob = NULL;
    if (status == SZ_ECANCELLED || (atomic_load(&job->cancel) && job->done.status != 0)) {
        job->done.status = SZ_ECANCELLED;
        snprintf(job->errbuf, sizeof job->errbuf, "cancelled");
    }
    if (job->done.status != 0) {
        free(job->done.text);
        job->done.text = NULL;
    }
    job->done.errmsg = job->done.status != 0 ? job->errbuf : "";
    job->cb(&job->done, job->arg);
    job_free(job);
}

static struct audio_job *job_new(enum job_kind kind, audio_done_fn *cb, void *arg)
{
    struct audio_job *job = calloc(1, sizeof(*job));

    if (job == NULL)
        return NULL;
    job->kind = kind;
    job->cb = cb;
    job->arg = arg;
    job->in_fd = -1;
    job->out_fd = -1;
    atomic_init(&job->cancel, false);
    return job;
}

/* Submits job, or frees it. */
static int submit(struct sz_pool *pool, struct audio_job *job, struct audio_job **pjob)
{
    int rc = sz_pool_submit(pool, work_cb, done_cb, job, &job->pjob);

    if (rc != 0) {
        job_free(job);
        return rc;
    }
    if (pjob != NULL)
        *pjob = job;
    return 0;
}

void audio_job_cancel(struct audio_job *job)
{
    if (job == NULL)
        return;
    atomic_store(&job->cancel, true);
    if (job->pjob != NULL)
        (void)sz_pool_cancel(job->pjob); /* SZ_EBUSY when running: the flag stops it */
}

int audio_probe_async(struct sz_pool *pool, int fd, unsigned flags, double max_duration,
                      audio_done_fn *cb, void *arg, struct audio_job **pjob)
{
    struct audio_job *job;

    if (pool == NULL || fd < 0 || cb == NULL)
        return SZ_EINVAL;
    if ((job = job_new(KIND_PROBE, cb, arg)) == NULL)
        return SZ_ENOMEM;
    job->in_fd = fd;
    job->flags = flags;
    job->max_duration = max_duration;
    return submit(pool, job, pjob);
}

int audio_convert_async(struct sz_pool *pool, int in_fd, int out_fd, const struct audio_encode *enc,
                        double max_duration, audio_done_fn *cb, void *arg, struct audio_job **pjob)
{
    struct audio_job *job;

    if (pool == NULL || in_fd < 0 || out_fd < 0 || enc == NULL || cb == NULL)
        return SZ_EINVAL;
    if ((job = job_new(KIND_CONVERT, cb, arg)) == NULL)
        return SZ_ENOMEM;
    job->in_fd = in_fd;
    job->out_fd = out_fd;
    job->enc = *enc;
    job->max_duration = max_duration;
    return submit(pool, job, pjob);
}

int audio_compress_async(struct sz_pool *pool, int in_fd, int out_fd, int64_t max_bytes,
                         double max_duration, audio_done_fn *cb, void *arg, struct audio_job **pjob)
{
    struct audio_job *job;

    if (pool == NULL || in_fd < 0 || out_fd < 0 || cb == NULL)
        return SZ_EINVAL;
    if ((job = job_new(KIND_COMPRESS, cb, arg)) == NULL)
        return SZ_ENOMEM;
    job->in_fd = in_fd;
    job->out_fd = out_fd;
    job->max_bytes = max_bytes;
    job->max_duration = max_duration;
    return submit(pool, job, pjob);
}

int audio_cut_async(struct sz_pool *pool, int in_fd, int out_fd, double start, double length,
                    const struct audio_encode *enc, double max_duration, audio_done_fn *cb,
                    void *arg, struct audio_job **pjob)
{
    struct audio_job *job;

    if (pool == NULL || in_fd < 0 || out_fd < 0 || enc == NULL || cb == NULL)
        return SZ_EINVAL;
    if ((job = job_new(KIND_CUT, cb, arg)) == NULL)
        return SZ_ENOMEM;
    job->in_fd = in_fd;
    job->out_fd = out_fd;
    job->start = start;
    job->length = length;
    job->enc = *enc;
    job->max_duration = max_duration;
    return submit(pool, job, pjob);
}

int audio_concat_async(struct sz_pool *pool, const int *in_fds, size_t n, int out_fd,
                       const struct audio_encode *enc, double max_duration, audio_done_fn *cb,
                       void *arg, struct audio_job **pjob)
{
    struct audio_job *job;

    if (pool == NULL || in_fds == NULL || n == 0 || out_fd < 0 || enc == NULL || cb == NULL)
        return SZ_EINVAL;
    if ((job = job_new(KIND_CONCAT, cb, arg)) == NULL)
        return SZ_ENOMEM;
    job->in_fds = malloc(n * sizeof(*job->in_fds));
    if (job->in_fds == NULL) {
        job_free(job);
        return SZ_ENOMEM;
    }
    memcpy(job->in_fds, in_fds, n * sizeof(*in_fds));
    job->n = n;
    job->out_fd = out_fd;
    job->enc = *enc;
    job->max_duration = max_duration;
    return submit(pool, job, pjob);
}

int audio_join_async(struct sz_pool *pool, char **texts, size_t n, audio_done_fn *cb, void *arg,
                     struct audio_job **pjob)
{
    struct audio_job *job = NULL;
    int rc = SZ_EINVAL;

    if (pool != NULL && cb != NULL && (texts != NULL || n == 0)) {
        job = job_new(KIND_JOIN, cb, arg);
        rc = job != NULL ? 0 : SZ_ENOMEM;
    }
    if (rc != 0) { /* the texts are ours either way */
        for (size_t i = 0; texts != NULL && i < n; i++)
            free(texts[i]);
        free(texts);
        return rc;
    }
    job->texts = texts;
    job->n = n;
    return submit(pool, job, pjob);
}
