/* Unit tests for the bounded job pool (core/pool.h): the max_jobs bound
 * under load, FIFO order, cancellation of queued jobs and of jobs waiting in
 * libuv's own queue, refusal to cancel running jobs, and closing with work
 * queued and running.
 *
 * Jobs block on a semaphore the test posts from the loop thread, so every
 * state the assertions look at is reached deterministically, never by
 * timing. libuv's pool is sized by UV_THREADPOOL_SIZE, set in main before the
 * first use. */
#include "fmacros.h"

#include <errno.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cmocka.h>
#include <uv.h>

#include "core/err.h"
#include "core/pool.h"

#define UV_THREADS 6

/* Shared by the blocking jobs of one test. */
static atomic_int in_work;     /* jobs inside work_fn now */
static atomic_int max_in_work; /* the most seen at once */
static atomic_int started;     /* work_fn entries */
static uv_sem_t release;       /* one post lets one blocked job finish */

struct tjob {
    int id;
    bool block;
    int done_status;
    int done_calls;
    int work_calls; /* written on the pool thread, read after done */
    struct sz_pool_job *handle;
    int *order; /* start order log, shared */
    int *norder;
    void *ctx; /* the test's context, for callbacks */
};

static void blocking_work(void *data)
{
    struct tjob *t = data;
    int now = atomic_fetch_add(&in_work, 1) + 1;
    int seen = atomic_load(&max_in_work);

    while (now > seen && !atomic_compare_exchange_weak(&max_in_work, &seen, now))
        ;
    t->work_calls++;
    if (t->order != NULL)
        t->order[(*t->norder)++] = t->id; /* max_jobs == 1 where used: no race */
    atomic_fetch_add(&started, 1);
    if (t->block)
        uv_sem_wait(&release);
    atomic_fetch_sub(&in_work, 1);
}

static void record_done(void *data, int status)
{
    struct tjob *t = data;
    t->done_status = status;
    t->done_calls++;
    t->handle = NULL;
}

/* Fresh counters and a fresh semaphore, so no post leaks between tests. */
static void reset_counters(void)
{
    uv_sem_destroy(&release);
    uv_sem_init(&release, 0);
    atomic_store(&in_work, 0);
    atomic_store(&max_in_work, 0);
    atomic_store(&started, 0);
}

/* Waits (yielding) until n work functions have started. */
static void wait_started(int n)
{
    while (atomic_load(&started) < n)
        sched_yield();
}

static void test_threadpool_size(void **state)
{
    (void)state;
    assert_int_equal(sz_pool_threadpool_size(2), 6);
    assert_int_equal(sz_pool_threadpool_size(0), 5);
    assert_int_equal(sz_pool_threadpool_size(5000), 1024);
}

/* --- the bound --- */

struct bound_ctx {
    struct sz_pool *pool;
    struct tjob jobs[12];
    int max_jobs;
    int finished;
    unsigned max_running_seen;
    unsigned queued_at_full;
    bool release_pending; /* posted, and that job has not reported yet */
    uv_timer_t tick;
};

/* On the loop: once every dispatched job is blocked inside work_fn, check the
 * counters and let one job go. */
static void bound_tick(uv_timer_t *timer)
{
    struct bound_ctx *c = timer->data;
    unsigned running = sz_pool_running(c->pool);

    if (running > c->max_running_seen)
        c->max_running_seen = running;
    if (!c->release_pending && running > 0 && (unsigned)atomic_load(&in_work) == running) {
        if (running == (unsigned)c->max_jobs && c->queued_at_full == 0)
            c->queued_at_full = sz_pool_queued(c->pool);
        c->release_pending = true;
        uv_sem_post(&release);
    }
}

static void bound_done(void *data, int status)
{
    struct tjob *t = data;
    struct bound_ctx *c = t->ctx;

    record_done(data, status);
    c->release_pending = false;
    if (++c->finished == 12)
        uv_close((uv_handle_t *)&c->tick, NULL);
}

static void test_max_jobs_bound(void **state)
{
    uv_loop_t loop;
    struct bound_ctx c;
    (void)state;

    memset(&c, 0, sizeof c);
    reset_counters();
    assert_int_equal(uv_loop_init(&loop), 0);
    c.max_jobs = 3;
    c.pool = sz_pool_new(&loop, c.max_jobs);
    assert_non_null(c.pool);
    assert_int_equal(sz_pool_max_jobs(c.pool), 3);
    for (int i = 0; i < 12; i++) {
        c.jobs[i].id = i;
        c.jobs[i].block = true;
        c.jobs[i].ctx = &c;
        assert_int_equal(sz_pool_submit(c.pool, blocking_work, bound_done, &c.jobs[i], NULL), 0);
    }
    /* Submission dispatches at once: 3 handed to libuv, 9 waiting here, even
     * though libuv has UV_THREADS threads free. */
    assert_int_equal(sz_pool_running(c.pool), 3);
    assert_int_equal(sz_pool_queued(c.pool), 9);
    wait_started(3);

    uv_timer_init(&loop, &c.tick);
    c.tick.data = &c;
    uv_timer_start(&c.tick, bound_tick, 1, 1);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);

    assert_int_equal(c.finished, 12);
    for (int i = 0; i < 12; i++) {
        assert_int_equal(c.jobs[i].done_calls, 1);
        assert_int_equal(c.jobs[i].done_status, 0);
        assert_int_equal(c.jobs[i].work_calls, 1);
    }
    assert_int_equal(atomic_load(&max_in_work), 3);
    assert_int_equal(c.max_running_seen, 3);
    assert_int_equal(c.queued_at_full, 9);
    assert_int_equal(sz_pool_running(c.pool), 0);
    assert_int_equal(sz_pool_queued(c.pool), 0);

    sz_pool_close(c.pool, NULL, NULL);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* --- FIFO order and cancellation --- */

static void test_fifo_and_cancel_queued(void **state)
{
    uv_loop_t loop;
    struct sz_pool *pool;
    struct tjob a = {.id = 0, .block = true}, j[5];
    int order[8], norder = 0;
    (void)state;

    reset_counters();
    assert_int_equal(uv_loop_init(&loop), 0);
    pool = sz_pool_new(&loop, 1);
    assert_non_null(pool);
    a.order = order;
    a.norder = &norder;
    assert_int_equal(sz_pool_submit(pool, blocking_work, record_done, &a, &a.handle), 0);
    for (int i = 0; i < 5; i++) {
        j[i] = (struct tjob){.id = i + 1, .order = order, .norder = &norder};
        assert_int_equal(sz_pool_submit(pool, blocking_work, record_done, &j[i], &j[i].handle), 0);
    }
    assert_int_equal(sz_pool_running(pool), 1);
    assert_int_equal(sz_pool_queued(pool), 5);
    wait_started(1);

    /* A is running: it cannot be cancelled. */
    assert_int_equal(sz_pool_cancel(a.handle), SZ_EBUSY);
    /* Queued jobs can; the callback is deferred to the loop, not called
     * from inside sz_pool_cancel. */
    assert_int_equal(sz_pool_cancel(j[1].handle), 0);
    assert_int_equal(sz_pool_cancel(j[3].handle), 0);
    assert_int_equal(sz_pool_cancel(j[3].handle), 0); /* twice is harmless */
    assert_int_equal(j[1].done_calls, 0);
    assert_int_equal(j[3].done_calls, 0);
    assert_int_equal(sz_pool_queued(pool), 3);

    uv_sem_post(&release);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);

    assert_int_equal(a.done_calls, 1);
    assert_int_equal(a.done_status, 0);
    for (int i = 0; i < 5; i++)
        assert_int_equal(j[i].done_calls, 1);
    assert_int_equal(j[1].done_status, SZ_ECANCELLED);
    assert_int_equal(j[3].done_status, SZ_ECANCELLED);
    assert_int_equal(j[1].work_calls, 0);
    assert_int_equal(j[3].work_calls, 0);
    assert_int_equal(j[0].done_status, 0);
    assert_int_equal(j[2].done_status, 0);
    assert_int_equal(j[4].done_status, 0);
    /* One at a time, in submission order, skipping the cancelled. */
    assert_int_equal(norder, 4);
    assert_int_equal(order[0], 0);
    assert_int_equal(order[1], 1);
    assert_int_equal(order[2], 3);
    assert_int_equal(order[3], 5);
    assert_int_equal(atomic_load(&max_in_work), 1);

    sz_pool_close(pool, NULL, NULL);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* --- a job handed to libuv but waiting for a thread --- */

static void raw_block(uv_work_t *req)
{
    (void)req;
    atomic_fetch_add(&started, 1);
    uv_sem_wait(&release);
}

static void raw_after(uv_work_t *req, int status)
{
    (void)req;
    (void)status;
}

static void test_cancel_waiting_in_libuv(void **state)
{
    uv_loop_t loop;
    uv_work_t raw[UV_THREADS];
    struct sz_pool *pool;
    struct tjob t = {.id = 1};
    (void)state;

    reset_counters();
    assert_int_equal(uv_loop_init(&loop), 0);
    /* Occupy every libuv thread, as a burst of file writes could. */
    for (int i = 0; i < UV_THREADS; i++)
        assert_int_equal(uv_queue_work(&loop, &raw[i], raw_block, raw_after), 0);
    wait_started(UV_THREADS);

    pool = sz_pool_new(&loop, 2);
    assert_non_null(pool);
    assert_int_equal(sz_pool_submit(pool, blocking_work, record_done, &t, &t.handle), 0);
    assert_int_equal(sz_pool_running(pool), 1);    /* handed to libuv... */
    assert_int_equal(sz_pool_cancel(t.handle), 0); /* ...but no thread took it */
    assert_int_equal(t.done_calls, 0);

    for (int i = 0; i < UV_THREADS; i++)
        uv_sem_post(&release);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(t.done_calls, 1);
    assert_int_equal(t.done_status, SZ_ECANCELLED);
    assert_int_equal(t.work_calls, 0);
    assert_int_equal(sz_pool_running(pool), 0);

    sz_pool_close(pool, NULL, NULL);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* --- closing --- */

struct close_ctx {
    int closed_calls;
    int done_calls_at_close;
    struct tjob *jobs;
    int njobs;
};

static void on_closed(void *arg)
{
    struct close_ctx *c = arg;
    c->closed_calls++;
    for (int i = 0; i < c->njobs; i++)
        c->done_calls_at_close += c->jobs[i].done_calls;
}

static void test_close_with_work(void **state)
{
    uv_loop_t loop;
    struct sz_pool *pool;
    struct tjob jobs[5];
    struct close_ctx c = {.jobs = jobs, .njobs = 5};
    struct tjob late = {.id = 9};
    (void)state;

    reset_counters();
    assert_int_equal(uv_loop_init(&loop), 0);
    pool = sz_pool_new(&loop, 2);
    assert_non_null(pool);
    for (int i = 0; i < 5; i++) {
        jobs[i] = (struct tjob){.id = i, .block = true};
        assert_int_equal(sz_pool_submit(pool, blocking_work, record_done, &jobs[i], NULL), 0);
    }
    wait_started(2);
    sz_pool_close(pool, on_closed, &c);
    /* Closing refuses new work; nothing is reported synchronously. */
    assert_int_equal(sz_pool_submit(pool, blocking_work, record_done, &late, NULL), SZ_ECANCELLED);
    for (int i = 0; i < 5; i++)
        assert_int_equal(jobs[i].done_calls, 0);
    assert_int_equal(c.closed_calls, 0);

    uv_sem_post(&release);
    uv_sem_post(&release);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);

    /* Running jobs completed, queued ones were cancelled, and the close
     * callback came after every done callback. */
    assert_int_equal(c.closed_calls, 1);
    assert_int_equal(c.done_calls_at_close, 5);
    assert_int_equal(jobs[0].done_status, 0);
    assert_int_equal(jobs[1].done_status, 0);
    for (int i = 2; i < 5; i++) {
        assert_int_equal(jobs[i].done_status, SZ_ECANCELLED);
        assert_int_equal(jobs[i].work_calls, 0);
    }
    assert_int_equal(late.done_calls, 0);
    assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_close_idle_and_bad_args(void **state)
{
    uv_loop_t loop;
    struct sz_pool *pool;
    struct close_ctx c = {0};
    struct tjob t = {0};
    (void)state;

    assert_int_equal(uv_loop_init(&loop), 0);
    pool = sz_pool_new(&loop, 0); /* below 1 means 1 */
    assert_non_null(pool);
    assert_int_equal(sz_pool_max_jobs(pool), 1);
    assert_int_equal(sz_pool_submit(pool, NULL, record_done, &t, NULL), SZ_EINVAL);
    assert_int_equal(sz_pool_submit(pool, blocking_work, NULL, &t, NULL), SZ_EINVAL);
    assert_int_equal(sz_pool_submit(NULL, blocking_work, record_done, &t, NULL), SZ_EINVAL);
    /* An idle pool keeps no loop alive... */
    assert_int_equal(uv_run(&loop, UV_RUN_NOWAIT), 0);
    sz_pool_close(pool, on_closed, &c);
    assert_int_equal(c.closed_calls, 0); /* ...and closes on the next turn. */
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(c.closed_calls, 1);
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* A done_fn that closes the pool, and one that submits more work. */
struct chain_ctx {
    struct sz_pool *pool;
    struct tjob first, second;
    int closed;
};

static void chain_closed(void *arg)
{
    struct chain_ctx *c = arg;
    c->closed++;
}

static void chain_second_done_real(void *data, int status)
{
    struct chain_ctx *c = (struct chain_ctx *)((char *)data - offsetof(struct chain_ctx, second));
    record_done(data, status);
    sz_pool_close(c->pool, chain_closed, c);
}

static void chain_first_done(void *data, int status)
{
    struct chain_ctx *c = (struct chain_ctx *)((char *)data - offsetof(struct chain_ctx, first));
    record_done(data, status);
    assert_int_equal(
        sz_pool_submit(c->pool, blocking_work, chain_second_done_real, &c->second, NULL), 0);
}

static void test_callbacks_reenter(void **state)
{
    uv_loop_t loop;
    struct chain_ctx c;
    (void)state;

    memset(&c, 0, sizeof c);
    reset_counters();
    assert_int_equal(uv_loop_init(&loop), 0);
    c.pool = sz_pool_new(&loop, 1);
    assert_non_null(c.pool);
    assert_int_equal(sz_pool_submit(c.pool, blocking_work, chain_first_done, &c.first, NULL), 0);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(c.first.done_calls, 1);
    assert_int_equal(c.second.done_calls, 1);
    assert_int_equal(c.second.done_status, 0);
    assert_int_equal(c.second.work_calls, 1);
    assert_int_equal(c.closed, 1);
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* Jobs run below the loop's priority (nice 10), the caller's thread stays. */
static int job_nice = -100;

static void nice_work(void *data)
{
    (void)data;
    errno = 0;
    job_nice = getpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid));
}

static void test_jobs_run_in_background(void **state)
{
    uv_loop_t loop;
    struct sz_pool *pool;
    struct tjob t = {0};
    int mine;
    (void)state;

    errno = 0;
    mine = getpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid));
    assert_int_equal(uv_loop_init(&loop), 0);
    pool = sz_pool_new(&loop, 1);
    assert_non_null(pool);
    assert_int_equal(sz_pool_submit(pool, nice_work, record_done, &t, NULL), 0);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(t.done_status, 0);
    assert_int_equal(job_nice, mine + 10 > 19 ? 19 : mine + 10);
    errno = 0;
    assert_int_equal(getpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid)), mine);
    sz_pool_close(pool, NULL, NULL);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threadpool_size),
        cmocka_unit_test(test_max_jobs_bound),
        cmocka_unit_test(test_fifo_and_cancel_queued),
        cmocka_unit_test(test_cancel_waiting_in_libuv),
        cmocka_unit_test(test_close_with_work),
        cmocka_unit_test(test_close_idle_and_bad_args),
        cmocka_unit_test(test_callbacks_reenter),
        cmocka_unit_test(test_jobs_run_in_background),
    };
    int rc;

    /* libuv reads this once, at the first use of its pool. */
    setenv("UV_THREADPOOL_SIZE", "6", 1);
    uv_sem_init(&release, 0);
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    uv_sem_destroy(&release);
    return rc;
}
