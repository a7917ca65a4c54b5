/* A bounded job pool for CPU work on libuv's thread pool.
 *
 * libuv has one thread pool shared by uv_fs_* (every file write),
 * uv_getaddrinfo and uv_queue_work. Jobs that hold a thread for a long time
 * (decoding, resizing, transcoding) handed straight to uv_queue_work would
 * occupy every thread and file writes would queue behind them. So at most
 * max_jobs of a pool's jobs are handed to libuv at once; the rest wait here,
 * FIFO, on the loop thread.
 *
 * Sizing: set UV_THREADPOOL_SIZE (read by libuv once, on the first use of its
 * pool, so main must setenv() it before any uv_fs_* or uv_queue_work call) to
 * more than the jobs all pools may run at once. sz_pool_threadpool_size(n)
 * recommends n + 4, so the 4 threads libuv has by default stay free for file
 * I/O however busy the pools are.
 *
 * Threads: every function here is called on the loop thread. work_fn runs on a
 * pool thread and must touch only its own data (no libuv handles, no shared
 * json_t); done_fn runs on the loop thread. A pool thread runs its jobs below
 * the loop's CPU priority (sz_pool_thread_background), so that on a machine
 * whose cores are all busy with CPU jobs the loop still gets a core the
 * moment it has something to do. done_fn is never called from
 * inside sz_pool_submit, sz_pool_cancel or sz_pool_close, so callers need not
 * guard against re-entrance; it may itself submit, cancel or close. */
#ifndef SZ_CORE_POOL_H
#define SZ_CORE_POOL_H

#include <stddef.h>

#include <uv.h>

struct sz_pool;
struct sz_pool_job;

/* Runs on a pool thread. */
typedef void sz_pool_work_fn(void *data);

/* Runs on the loop thread exactly once per submitted job. status is 0 when
 * work_fn ran to completion, SZ_ECANCELLED when the job was cancelled (or the
 * pool closed) before work_fn started; work_fn then never runs. The job handle
 * is invalid once done_fn is called. */
typedef void sz_pool_done_fn(void *data, int status);

/* Called on the loop thread once the pool is fully closed and freed. */
typedef void sz_pool_closed_fn(void *arg);

/* Lowers the calling thread's CPU priority (nice +10 up to 19, once per thread; later
 * calls cost one thread-local test). Meant for the first line of any work
 * function run on libuv's pool (sz_pool's jobs call it themselves): a nice-10
 * thread weighs a tenth of the loop thread, so the loop preempts it on wake-up
 * instead of waiting for its time slice (with CPU jobs on every core, a
 * loop waiting out a slice answers in ~10 ms instead of well under 1). libuv's threads are shared,
 * so the thread stays at that priority for the file I/O it runs later, which is fine for I/O:
 * raising a priority back needs a privilege. Never call it on the loop thread. */
void sz_pool_thread_background(void);

/* The libuv thread pool size recommended for max_jobs concurrent pool jobs:
 * max_jobs + 4, capped at libuv's limit of 1024. Pure; any thread. */
int sz_pool_threadpool_size(int max_jobs);

/* Creates a pool on loop (borrowed; must outlive the pool) running at most
 * max_jobs jobs at once (values below 1 mean 1). Returns NULL on allocation
 * failure. The pool owns one libuv handle, so sz_pool_close must be called
 * (and the loop run until the pool is freed) before uv_loop_close. */
struct sz_pool *sz_pool_new(uv_loop_t *loop, int max_jobs);

/* Queues a job; it starts at once when fewer than max_jobs run, else after
 * the jobs queued before it (FIFO). data is borrowed by the pool and handed
 * back to both callbacks; work_fn and done_fn must be non-NULL. On success
 * returns 0 and, when pjob is non-NULL, a borrowed handle for sz_pool_cancel
 * that stays valid until done_fn is called (clear your copy there). Returns
 * SZ_EINVAL (bad arguments), SZ_ECANCELLED (the pool is closing) or SZ_ENOMEM;
 * on failure no callback is ever called. */
int sz_pool_submit(struct sz_pool *pool, sz_pool_work_fn *work_fn, sz_pool_done_fn *done_fn,
                   void *data, struct sz_pool_job **pjob);

/* Cancels a job that has not started. Returns 0 when work_fn will not run:
 * done_fn follows on a later loop iteration with SZ_ECANCELLED (a job waiting
 * in our queue, or one handed to libuv but still waiting for a thread). Returns
 * SZ_EBUSY when work_fn is already running or has finished: done_fn then comes
 * with status 0 and the caller discards the result. Calling it twice is
 * harmless (0 again while the cancellation is pending). */
int sz_pool_cancel(struct sz_pool_job *job);

/* Jobs handed to libuv and not yet completed (at most max_jobs), and jobs
 * waiting in our queue. */
unsigned sz_pool_running(const struct sz_pool *pool);
unsigned sz_pool_queued(const struct sz_pool *pool);
int sz_pool_max_jobs(const struct sz_pool *pool);

/* Starts closing: refuses new jobs, cancels every queued job (their done_fn
 * get SZ_ECANCELLED), lets running jobs finish (their done_fn get 0) and then
 * frees the pool and calls closed_fn(arg) (closed_fn may be NULL). Calling it
 * twice is a bug. */
void sz_pool_close(struct sz_pool *pool, sz_pool_closed_fn *closed_fn, void *arg);

#endif
