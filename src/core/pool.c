/* The bounded job pool of pool.h.
 *
 * A job is in exactly one place: our FIFO (QUEUED), libuv's hands (SUBMITTED:
 * waiting for or running on a thread), or the list of cancelled jobs whose
 * done_fn is still owed (CANCELLED). Cancelled jobs are reported from an idle
 * handle on the next loop iteration rather than from inside sz_pool_cancel, so
 * no callback ever runs inside a call the user is still making. */
#include "fmacros.h"

#include "core/pool.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/err.h"
#include "core/list.h"

/* How much nicer pool threads are than the thread that started them. */
#define BACKGROUND_NICE 10

/* libuv's MAX_THREADPOOL_SIZE. */
#define UV_POOL_LIMIT 1024

enum job_state { JOB_QUEUED, JOB_SUBMITTED, JOB_UV_CANCELLED, JOB_CANCELLED };

struct sz_pool_job {
    uv_work_t req; /* req.data points back to the job */
    struct sz_pool *pool;
    sz_pool_work_fn *work_fn;
    sz_pool_done_fn *done_fn;
    void *data;
    enum job_state state;
    struct sz_link link; /* in the queue or the cancelled list; O(1) removal */
};

struct sz_pool {
    uv_loop_t *loop;
    uv_idle_t idle; /* delivers done_fn of cancelled jobs; started only when needed */
    int max_jobs;
    unsigned running; /* handed to libuv, after_work not yet run */
    struct sz_link queue;
    unsigned queued;
    struct sz_link cancelled;
    bool closing;
    bool close_started;
    sz_pool_closed_fn *closed_fn;
    void *closed_arg;
};

int sz_pool_threadpool_size(int max_jobs)
{
    if (max_jobs < 1)
        max_jobs = 1;
    if (max_jobs > UV_POOL_LIMIT - 4)
        return UV_POOL_LIMIT;
    return max_jobs + 4;
}

static void on_idle_closed(uv_handle_t *handle)
{
    struct sz_pool *pool = handle->data;
    sz_pool_closed_fn *fn = pool->closed_fn;
    void *arg = pool->closed_arg;

    free(pool);
    if (fn != NULL)
        fn(arg);
}

static void maybe_finish_close(struct sz_pool *pool)
{
    if (!pool->closing || pool->close_started)
        return;
    if (pool->running != 0 || !sz_list_empty(&pool->queue) || !sz_list_empty(&pool->cancelled))
        return;
    pool->close_started = true;
    uv_close((uv_handle_t *)&pool->idle, on_idle_closed);
}

void sz_pool_thread_background(void)
{
    static _Thread_local bool done;
    id_t tid;
    int nice;

    if (done)
        return;
    done = true;
    /* On Linux the nice value is per thread: PRIO_PROCESS with a thread id
     * reads and changes that thread alone. Failure only costs latency. */
    tid = (id_t)syscall(SYS_gettid);
    errno = 0;
    nice = getpriority(PRIO_PROCESS, tid);
    if (nice == -1 && errno != 0)
        return;
    nice += BACKGROUND_NICE;
    (void)setpriority(PRIO_PROCESS, tid, nice > 19 ? 19 : nice);
}

static void work_cb(uv_work_t *req)
{
    struct sz_pool_job *job = req->data;
    sz_pool_thread_background();
    job->work_fn(job->data);
}

static void pump(struct sz_pool *pool);

static void after_work_cb(uv_work_t *req, int status)
{
    struct sz_pool_job *job = req->data;
    struct sz_pool *pool = job->pool;

    pool->running--;
    /* Start the next job before reporting this one, so a slow done_fn does
     * not leave a thread idle. */
    pump(pool);
    job->done_fn(job->data, status == UV_ECANCELED ? SZ_ECANCELLED : 0);
    free(job);
    maybe_finish_close(pool);
}

static void pump(struct sz_pool *pool)
{
    struct sz_link *l;

    while (!pool->closing && pool->running < (unsigned)pool->max_jobs &&
           (l = sz_list_first(&pool->queue)) != NULL) {
        struct sz_pool_job *job = container_of(l, struct sz_pool_job, link);
        sz_list_remove(l);
        pool->queued--;
        job->state = JOB_SUBMITTED;
        pool->running++;
        /* Fails only for a NULL work_cb. */
        (void)uv_queue_work(pool->loop, &job->req, work_cb, after_work_cb);
    }
}

static void idle_cb(uv_idle_t *handle)
{
    struct sz_pool *pool = handle->data;
    struct sz_link batch, *l;

    /* Take the whole list first: a done_fn may cancel more jobs, which then
     * land on a fresh list and restart the idle handle. */
    sz_list_init(&batch);
    sz_list_splice_back(&batch, &pool->cancelled);
    uv_idle_stop(handle);
    while ((l = sz_list_first(&batch)) != NULL) {
        struct sz_pool_job *job = container_of(l, struct sz_pool_job, link);
        sz_list_remove(l);
        job->done_fn(job->data, SZ_ECANCELLED);
        free(job);
    }
    maybe_finish_close(pool);
}

static void defer_cancelled(struct sz_pool *pool, struct sz_pool_job *job)
{
    job->state = JOB_CANCELLED;
    sz_list_push_back(&pool->cancelled, &job->link);
    uv_idle_start(&pool->idle, idle_cb);
}

struct sz_pool *sz_pool_new(uv_loop_t *loop, int max_jobs)
{
    struct sz_pool *pool = calloc(1, sizeof *pool);

    if (pool == NULL)
        return NULL;
    pool->loop = loop;
    pool->max_jobs = max_jobs < 1 ? 1 : max_jobs;
    sz_list_init(&pool->queue);
    sz_list_init(&pool->cancelled);
    uv_idle_init(loop, &pool->idle);
    pool->idle.data = pool;
    return pool;
}

int sz_pool_submit(struct sz_pool *pool, sz_pool_work_fn *work_fn, sz_pool_done_fn *done_fn,
                   void *data, struct sz_pool_job **pjob)
{
    struct sz_pool_job *job;

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
    sz_list_push_back(&pool->queue, &job->link);
    pool->queued++;
    if (pjob != NULL)
        *pjob = job;
    pump(pool);
    return 0;
}

int sz_pool_cancel(struct sz_pool_job *job)
{
    switch (job->state) {
    case JOB_QUEUED:
        sz_list_remove(&job->link);
        job->pool->queued--;
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

unsigned sz_pool_running(const struct sz_pool *pool)
{
    return pool->running;
}

unsigned sz_pool_queued(const struct sz_pool *pool)
{
    return pool->queued;
}

int sz_pool_max_jobs(const struct sz_pool *pool)
{
    return pool->max_jobs;
}

void sz_pool_close(struct sz_pool *pool, sz_pool_closed_fn *closed_fn, void *arg)
{
    struct sz_link *l;

    pool->closing = true;
    pool->closed_fn = closed_fn;
    pool->closed_arg = arg;
    while ((l = sz_list_first(&pool->queue)) != NULL) {
        struct sz_pool_job *job = container_of(l, struct sz_pool_job, link);
        sz_list_remove(l);
        pool->queued--;
        defer_cancelled(pool, job);
    }
    maybe_finish_close(pool);
}
