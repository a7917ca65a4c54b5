/* Async imaging jobs on the bounded pool (see imaging.h): fit, probe, base64
 * decode and probe, probe and base64 encode as a data URL.
 *
 * A job owns its inputs from submission: the work function releases them on
 * the pool thread as soon as it is done with them (so a large input does not
 * outlive its use), and the done function releases whatever is left — all of
 * it when the job was cancelled before running. */
#include "fmacros.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/base64.h"
#include "core/err.h"
#include "imaging/imaging.h"

enum job_kind { KIND_FIT, KIND_PROBE, KIND_DECODE_PROBE, KIND_ENCODE };

struct async_job {
    enum job_kind kind;
    img_result_fn *cb;
    void *arg;

    /* inputs, owned */
    void *in;
    size_t in_len;
    const void *borrowed; /* KIND_PROBE: the caller's bytes (in_len of them) */
    int fd;
    int tw, th;
    enum img_fit_mode mode;

    /* outputs */
    int status;
    void *out;
    size_t out_len;
    struct img_info info;
    char errbuf[IMG_ERRMSG_LEN];
};

static void release_inputs(struct async_job *job)
{
    free(job->in);
    job->in = NULL;
    if (job->fd >= 0) {
        close(job->fd);
        job->fd = -1;
    }
}

static void work_fit(struct async_job *job)
{
    uint8_t *png = NULL;
    size_t len = 0;

    if (job->fd >= 0)
        job->status = img_fit_fd(job->fd, job->tw, job->th, job->mode, &png, &len, &job->info,
                                 job->errbuf, sizeof job->errbuf);
    else
        job->status = img_fit_buffer(job->in, job->in_len, job->tw, job->th, job->mode, &png, &len,
                                     &job->info, job->errbuf, sizeof job->errbuf);
    job->out = png;
    job->out_len = len;
}

/* What an upload must pass: a header that reads, and a file that is not cut off. */
static int check_upload(const void *buf, size_t len, struct img_info *pinfo, char *errbuf,
                        size_t errlen)
{
    int rc = img_probe(buf, len, pinfo, errbuf, errlen);

    if (rc == 0)
        rc = img_check_whole(buf, len, errbuf, errlen);
    return rc;
}

static void work_probe(struct async_job *job)
{
    job->status =
        check_upload(job->borrowed, job->in_len, &job->info, job->errbuf, sizeof job->errbuf);
}

static void work_decode_probe(struct async_job *job)
{
    uint8_t *bytes = NULL;
    size_t len = 0;
    int rc = sz_b64_decode_alloc(job->in, job->in_len, &bytes, &len);

    /* The base64 text can be as large as the image: drop it now. */
    free(job->in);
    job->in = NULL;
    if (rc < 0) {
        job->status = rc;
        snprintf(job->errbuf, sizeof job->errbuf, "%s",
                 rc == SZ_ENOMEM ? "Out of memory decoding image data"
                                 : "Invalid base64 image data");
        return;
    }
    rc = img_probe(bytes, len, &job->info, job->errbuf, sizeof job->errbuf);
    if (rc < 0) {
        free(bytes);
        job->status = rc;
        return;
    }
    job->out = bytes;
    job->out_len = len;
    job->status = 0;
}

static void work_encode(struct async_job *job)
{
    const char *mime;
    size_t prefix_len, b64_len;
    char *url;
    int rc = check_upload(job->in, job->in_len, &job->info, job->errbuf, sizeof job->errbuf);

    if (rc < 0) {
        job->status = rc;
        return;
    }
    mime = img_format_mime(job->info.format);
    prefix_len = strlen("data:") + strlen(mime) + strlen(";base64,");
    b64_len = sz_b64_encoded_len(job->in_len);
    url = malloc(prefix_len + b64_len + 1);
    if (url == NULL) {
        job->status = SZ_ENOMEM;
        snprintf(job->errbuf, sizeof job->errbuf, "Out of memory encoding image");
        return;
    }
    snprintf(url, prefix_len + 1, "data:%s;base64,", mime);
    b64_len = sz_b64_encode(job->in, job->in_len, url + prefix_len);
    job->out = url;
    job->out_len = prefix_len + b64_len;
    job->status = 0;
}

static void work_cb(void *data)
{
    struct async_job *job = data;

    switch (job->kind) {
    case KIND_FIT:
        work_fit(job);
        break;
    case KIND_PROBE:
        work_probe(job);
        break;
    case KIND_DECODE_PROBE:
        work_decode_probe(job);
        break;
    case KIND_ENCODE:
        work_encode(job);
        break;
    }
    release_inputs(job);
}

static void done_cb(void *data, int status)
{
    struct async_job *job = data;
    struct img_result res;

    if (status == SZ_ECANCELLED) {
        job->status = SZ_ECANCELLED;
        snprintf(job->errbuf, sizeof job->errbuf, "cancelled");
    }
    /* Inputs are already gone unless the job never ran; closing a regular
     * file's fd on the loop is a cheap, non-blocking syscall. */
    release_inputs(job);
    if (job->status < 0) {
        free(job->out);
        job->out = NULL;
        job->out_len = 0;
    }
    res = (struct img_result){
        .status = job->status,
        .errmsg = job->status < 0 ? job->errbuf : "",
        .data = job->out,
        .len = job->out_len,
        .info = job->info,
    };
    job->cb(&res, job->arg);
    free(res.data);
    free(job);
}

/* Submits job, or releases it and its inputs. */
static int submit(struct sz_pool *pool, struct async_job *job, struct sz_pool_job **pjob)
{
    int rc = sz_pool_submit(pool, work_cb, done_cb, job, pjob);

    if (rc < 0) {
        release_inputs(job);
        free(job);
    }
    return rc;
}

static struct async_job *job_new(enum job_kind kind, img_result_fn *cb, void *arg)
{
    struct async_job *job = calloc(1, sizeof *job);

    if (job == NULL)
        return NULL;
    job->kind = kind;
    job->cb = cb;
    job->arg = arg;
    job->fd = -1;
    return job;
}

int img_fit_async(struct sz_pool *pool, void *buf, size_t len, int target_w, int target_h,
                  enum img_fit_mode mode, img_result_fn *cb, void *arg, struct sz_pool_job **pjob)
{
    struct async_job *job;

    if (pool == NULL || cb == NULL || (buf == NULL && len > 0)) {
        free(buf);
        return SZ_EINVAL;
    }
    job = job_new(KIND_FIT, cb, arg);
    if (job == NULL) {
        free(buf);
        return SZ_ENOMEM;
    }
    job->in = buf;
    job->in_len = len;
    job->tw = target_w;
    job->th = target_h;
    job->mode = mode;
    return submit(pool, job, pjob);
}

int img_fit_fd_async(struct sz_pool *pool, int fd, int target_w, int target_h,
                     enum img_fit_mode mode, img_result_fn *cb, void *arg,
                     struct sz_pool_job **pjob)
{
    struct async_job *job;

    if (pool == NULL || cb == NULL || fd < 0) {
        if (fd >= 0)
            close(fd);
        return SZ_EINVAL;
    }
    job = job_new(KIND_FIT, cb, arg);
    if (job == NULL) {
        close(fd);
        return SZ_ENOMEM;
    }
    job->fd = fd;
    job->tw = target_w;
    job->th = target_h;
    job->mode = mode;
    return submit(pool, job, pjob);
}

int img_probe_async(struct sz_pool *pool, const void *buf, size_t len, img_result_fn *cb, void *arg,
                    struct sz_pool_job **pjob)
{
    struct async_job *job;

    if (pool == NULL || cb == NULL || (buf == NULL && len > 0))
        return SZ_EINVAL;
    job = job_new(KIND_PROBE, cb, arg);
    if (job == NULL)
        return SZ_ENOMEM;
    job->borrowed = buf;
    job->in_len = len;
    return submit(pool, job, pjob);
}

int img_b64_decode_probe_async(struct sz_pool *pool, const char *b64, size_t len, img_result_fn *cb,
                               void *arg, struct sz_pool_job **pjob)
{
    struct async_job *job;

    if (pool == NULL || cb == NULL || (b64 == NULL && len > 0))
        return SZ_EINVAL;
    /* Twice the encoded size of the largest image allows for any sane line
     * wrapping; beyond that, refuse before copying. */
    if (len / 2 > sz_b64_encoded_len(IMG_MAX_BYTES))
        return SZ_ETOOBIG;
    job = job_new(KIND_DECODE_PROBE, cb, arg);
    if (job == NULL)
        return SZ_ENOMEM;
    job->in = malloc(len ? len : 1);
    if (job->in == NULL) {
        free(job);
        return SZ_ENOMEM;
    }
    if (len > 0)
        memcpy(job->in, b64, len);
    job->in_len = len;
    return submit(pool, job, pjob);
}

int img_b64_encode_async(struct sz_pool *pool, void *bytes, size_t len, img_result_fn *cb,
                         void *arg, struct sz_pool_job **pjob)
{
    struct async_job *job;

    if (pool == NULL || cb == NULL || (bytes == NULL && len > 0)) {
        free(bytes);
        return SZ_EINVAL;
    }
    job = job_new(KIND_ENCODE, cb, arg);
    if (job == NULL) {
        free(bytes);
        return SZ_ENOMEM;
    }
    job->in = bytes;
    job->in_len = len;
    return submit(pool, job, pjob);
}
