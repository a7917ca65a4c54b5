/* The bounded job pool of pool.h.
 *
 * A job is in exactly one place: our FIFO (QUEUED), libuv's hands (SUBMITTED:
 * waiting for or running on a thread), or the list of cancelled jobs whose
 * done_fn is still owed (CANCELLED). Cancelled jobs are reported from an idle
 * handle on the next loop iteration rather than from inside img_job_cancel,
 * so no callback ever runs inside a call the user is still making. */
#include "fmacros.h"

#include "imaging/pool.h"

#include <stdbool.h>
#include <stdlib.h>

#include "core/err.h"

/* libuv's MAX_THREADPOOL_SIZE. */
#define UV_POOL_LIMIT 1024

enum job_state { JOB_QUEUED, JOB_SUBMITTED, JOB_UV_CANCELLED, JOB_CANCELLED };

struct img_job {
    uv_work_t req; /* req.data points back to the job */
    struct img_pool *pool;
    img_work_fn *work_fn;
    img_done_fn *done_fn;
    void *data;
    enum job_state state;
    struct img_job *prev, *next; /* in the queue or the cancelled list */
};

/* A doubly linked FIFO so a queued job can be cancelled in O(1). */
struct job_list {
    struct img_job *head, *tail;
    unsigned count;
};

struct img_pool {
    uv_loop_t *loop;
    uv_idle_t idle; /* delivers done_fn of cancelled jobs; started only when needed */
    int max_jobs;
    unsigned running; /* handed to libuv, after_work not yet run */
    struct job_list queue;
    struct job_list cancelled;
    bool closing;
    bool close_started;
    img_pool_closed_fn *closed_fn;
    void *closed_arg;
};

static void list_push(struct job_list *l, struct img_job *j)
{
    j->next = NULL;
    j->prev = l->tail;
    if (l->tail != NULL)
        l->tail->next = j;
    else
        l->head = j;
    l->tail = j;
    l->count++;
}

static void list_remove(struct job_list *l, struct img_job *j)
{
    if (j->prev != NULL)
        j->prev->next = j->next;
    else
        l->head = j->next;
    if (j->next != NULL)
        j->next->prev = j->prev;
    else
        l->tail = j->prev;
    j->prev = j->next = NULL;
    l->count--;
}

int img_pool_threadpool_size(int max_jobs)
{
    if (max_jobs < 1)
        max_jobs = 1;
    if (max_jobs > UV_POOL_LIMIT - 4)
        return UV_POOL_LIMIT;
    return max_jobs + 4;
}

static void on_idle_closed(uv_handle_t *handle)
{
    struct img_pool *pool = handle->data;
    img_pool_closed_fn *fn = pool->closed_fn;
    void *arg = pool->closed_arg;

    free(pool);
    if (fn != NULL)
        fn(arg);
}

static void maybe_finish_close(struct img_pool *pool)
{
    if (!pool->closing || pool->close_started)
        return;
    if (pool->running != 0 || pool->queue.count != 0 || pool->cancelled.count != 0)
        return;
    pool->close_started = true;
    uv_close((uv_handle_t *)&pool->idle, on_idle_closed);
}

static void work_cb(uv_work_t *req)
{
    struct img_job *job = req->data;
    job->work_fn(job->data);
}

static void pump(struct img_pool *pool);

static void after_work_cb(uv_work_t *req, int status)
{
    struct img_job *job = req->data;
    struct img_pool *pool = job->pool;

    pool->running--;
    /* Start the next job before reporting this one, so a slow done_fn does
     * not leave a thread idle. */
    pump(pool);
    job->done_fn(job->data, status == UV_ECANCELED ? SZ_ECANCELLED : 0);
    free(job);
    maybe_finish_close(pool);
}

static void pump(struct img_pool *pool)
{
    while (!pool->closing && pool->running < (unsigned)pool->max_jobs && pool->queue.head != NULL) {
        struct img_job *job = pool->queue.head;
        list_remove(&pool->queue, job);
        job->state = JOB_SUBMITTED;
        pool->running++;
        /* Fails only for a NULL work_cb. */
        (void)uv_queue_work(pool->loop, &job->req, work_cb, after_work_cb);
    }
}

static void idle_cb(uv_idle_t *handle)
{
    struct img_pool *pool = handle->data;
    struct job_list batch = pool->cancelled;

    /* Take the whole list first: a done_fn may cancel more jobs, which then
     * land on a fresh list and restart the idle handle. */
    pool->cancelled = (struct job_list){0};
    uv_idle_stop(handle);
    while (batch.head != NULL) {
        struct img_job *job = batch.head;
        list_remove(&batch, job);
        job->done_fn(job->data, SZ_ECANCELLED);
        free(job);
    }
    maybe_finish_close(pool);
}

static void defer_cancelled(struct img_pool *pool, struct img_job *job)
{
    job->state = JOB_CANCELLED;
    list_push(&pool->cancelled, job);
    uv_idle_start(&pool->idle, idle_cb);
}

struct img_pool *img_pool_new(uv_loop_t *loop, int max_jobs)
{
    struct img_pool *pool = calloc(1, sizeof *pool);

    if (pool == NULL)
        return NULL;
    pool->loop = loop;
    pool->max_jobs = max_jobs < 1 ? 1 : max_jobs;
    uv_idle_init(loop, &pool->idle);
    pool->idle.data = pool;
    return pool;
}

int img_pool_submit(struct img_pool *pool, img_work_fn *work_fn, img_done_fn *done_fn, void *data,
                    struct img_job **pjob)
{
    struct img_job *job;

    if (pool == NULL || work_fn == NULL || done_fn == NULL)
        return SZ_EINVAL;
    if (pool->closing)
        return SZ_ECANCELLED;
    job = calloc(1, sizeof *job);
    if (job == NULL)
        return SZ_ENOMEM;
    job->req.data = job;
    job->pool = pool;
    job->work_fn = work_fn;
    job->done_fn = done_fn;
    job->data = data;
    job->state = JOB_QUEUED;
    list_push(&pool->queue, job);
    if (pjob != NULL)
        *pjob = job;
    pump(pool);
    return 0;
}

int img_job_cancel(struct img_job *job)
{
    switch (job->state) {
    case JOB_QUEUED:
        list_remove(&job->pool->queue, job);
        defer_cancelled(job->pool, job);
        return 0;
    case JOB_SUBMITTED:
        /* libuv cancels only work that no thread has picked up; after_work_cb
         * then runs with UV_ECANCELED. */
        if (uv_cancel((uv_req_t *)&job->req) == 0) {
            job->state = JOB_UV_CANCELLED;
            return 0;
        }
        return SZ_EBUSY;
    case JOB_UV_CANCELLED:
    case JOB_CANCELLED:
        return 0;
    }
    return SZ_EINVAL;
}

unsigned img_pool_running(const struct img_pool *pool)
{
    return pool->running;
}

unsigned img_pool_queued(const struct img_pool *pool)
{
    return pool->queue.count;
}

int img_pool_max_jobs(const struct img_pool *pool)
{
    return pool->max_jobs;
}

void img_pool_close(struct img_pool *pool, img_pool_closed_fn *closed_fn, void *arg)
{
    pool->closing = true;
    pool->closed_fn = closed_fn;
    pool->closed_arg = arg;
    while (pool->queue.head != NULL) {
        struct img_job *job = pool->queue.head;
        list_remove(&pool->queue, job);
        defer_cancelled(pool, job);
    }
    maybe_finish_close(pool);
}
