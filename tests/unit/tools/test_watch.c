/* Unit tests of upstream polling (src/tools/watch.c) on a real loop with a scripted kind:
 * one poll per job however many wait on it (each waiter gets every update and its own
 * copy of the final object), the backoff (growing by half while nothing moves, up to the
 * maximum; steady while the job moves; the app's pace overriding the kind's), a waiter
 * that leaves (the others go on; the last one stops the poll in flight), failures (two
 * are retried, the third ends the watch with its sentence), the deadline, and a new
 * watch for a job whose watch ended. */
#include "fmacros.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <uv.h>

#include "core/err.h"
#include "tools/tools.h"
#include "tools/watch.h"

/* ---- a scripted upstream: each poll answers after 1 ms with the next step ------------- */

struct step {
    const char *status; /* NULL: the poll fails */
    int progress;
};

static struct {
    const struct step *steps;
    size_t nsteps;
    size_t next;
    unsigned starts;   /* polls started */
    unsigned stops;    /* polls stopped in flight */
    uint64_t delay_ms; /* how long a poll takes (0: 1 ms) */
    uint64_t at[32];   /* uv_now of each start */
} up;

struct poll {
    uv_timer_t timer;
    struct watch *w;
    bool stopped;
};

static void poll_closed(uv_handle_t *h)
{
    free(h->data);
}

static void poll_fire(uv_timer_t *t)
{
    struct poll *p = t->data;
    const struct step *s = up.next < up.nsteps ? &up.steps[up.next++] : NULL;

    uv_close((uv_handle_t *)t, poll_closed);
    if (p->stopped)
        watch_polled(p->w, SZ_ECANCELLED, "stopped", NULL);
    else if (s == NULL || s->status == NULL)
        watch_polled(p->w, SZ_EUPSTREAM, "upstream said no", NULL);
    else
        watch_polled(p->w, 0, NULL,
                     json_pack("{s:s, s:s, s:i}", "id", "job_1", "status", s->status, "progress",
                               s->progress));
}

static int poll_start(struct tools_ctx *app, const char *id, struct watch *w, void **pinflight)
{
    struct poll *p = calloc(1, sizeof(*p));

    assert_non_null(p);
    assert_string_equal(id, "job_1");
    if (up.starts < 32)
        up.at[up.starts] = uv_now(app->loop);
    up.starts++;
    p->w = w;
    uv_timer_init(app->loop, &p->timer);
    p->timer.data = p;
    uv_timer_start(&p->timer, poll_fire, up.delay_ms > 0 ? up.delay_ms : 1, 0);
    *pinflight = p;
    return 0;
}

static void poll_stop(void *inflight)
{
    struct poll *p = inflight;
    p->stopped = true;
    up.stops++;
}

static bool final(const json_t *obj)
{
    return strcmp(json_string_value(json_object_get(obj, "status")), "done") == 0;
}

static const struct watch_kind kind = {
    .name = "test",
    .noun = "test job",
    .start = poll_start,
    .stop = poll_stop,
    .final = final,
    .first_ms = 10,
    .max_ms = 30,
    .deadline_ms = 5000,
};

/* ---- waiters ----------------------------------------------------------------------------- */

struct waiter {
    struct watch_waiter *w;
    uint64_t intervals[16]; /* watch_interval at each update */
    unsigned updates;
    int last_progress;
    int done;
    int err;
    char msg[256];
    json_t *obj;
};

static void on_update(void *data, const json_t *obj)
{
    struct waiter *w = data;
    if (w->updates < 16)
        w->intervals[w->updates] = watch_interval(w->w);
    w->updates++;
    w->last_progress = (int)json_integer_value(json_object_get(obj, "progress"));
}

static void on_done(void *data, int err, const char *msg, json_t *obj)
{
    struct waiter *w = data;
    w->done++;
    w->err = err;
    snprintf(w->msg, sizeof(w->msg), "%s", msg ? msg : "");
    w->obj = obj;
    w->w = NULL;
}

static void script(const struct step *steps, size_t n)
{
    memset(&up, 0, sizeof(up));
    up.steps = steps;
    up.nsteps = n;
}

static void run(struct tools_ctx *app)
{
    uv_run(app->loop, UV_RUN_DEFAULT);
}

static struct tools_ctx *app_new(void)
{
    struct tools_ctx *app = calloc(1, sizeof(*app));
    assert_non_null(app);
    app->loop = calloc(1, sizeof(*app->loop));
    assert_non_null(app->loop);
    assert_int_equal(uv_loop_init(app->loop), 0);
    return app;
}

static void app_free(struct tools_ctx *app)
{
    assert_null(app->watches); /* every watch ended and let go of the list */
    assert_int_equal(uv_loop_close(app->loop), 0);
    free(app->loop);
    free(app);
}

/* ---- tests --------------------------------------------------------------------------------- */

static void test_shared(void **state)
{
    static const struct step steps[] = {
        {"queued", 0}, {"running", 40}, {"running", 80}, {"done", 100}};
    struct tools_ctx *app = app_new();
    struct waiter a = {0}, b = {0};
    (void)state;

    script(steps, 4);
    assert_int_equal(watch_join(app, &kind, "job_1", false, on_update, on_done, &a, &a.w), 0);
    assert_int_equal(watch_join(app, &kind, "job_1", false, on_update, on_done, &b, &b.w), 0);
    assert_int_equal(watch_count(app), 1); /* one watch for the two */
    run(app);
    assert_int_equal(up.starts, 4); /* one poll per step, not two */
    assert_int_equal(a.done, 1);
    assert_int_equal(b.done, 1);
    assert_int_equal(a.err, 0);
    assert_int_equal(a.updates, 3);
    assert_int_equal(b.updates, 3);
    assert_int_equal(a.last_progress, 80);
    assert_non_null(a.obj);
    assert_non_null(b.obj);
    assert_ptr_not_equal(a.obj, b.obj); /* each its own copy */
    assert_string_equal(json_string_value(json_object_get(b.obj, "status")), "done");
    json_decref(a.obj);
    json_decref(b.obj);
    app_free(app);
}

static void test_backoff(void **state)
{
    /* The first poll is new (it moved): 10. Then nothing moves: 15, 22, 33 -> 30 (the
     * maximum), 30. Then it moves twice: 30, 30 (no growth while it moves). */
    static const struct step steps[] = {{"queued", 0},   {"queued", 0}, {"queued", 0},
                                        {"queued", 0},   {"queued", 0}, {"running", 50},
                                        {"running", 60}, {"done", 100}};
    static const uint64_t want[] = {10, 15, 22, 30, 30, 30, 30};
    struct tools_ctx *app = app_new();
    struct waiter a = {0};
    (void)state;

    script(steps, 8);
    assert_int_equal(watch_join(app, &kind, "job_1", true, on_update, on_done, &a, &a.w), 0);
    run(app);
    assert_int_equal(up.starts, 8);
    assert_int_equal(a.done, 1);
    assert_int_equal(a.updates, 7);
    for (unsigned i = 0; i < 7; i++)
        assert_int_equal(a.intervals[i], want[i]);
    /* a timer never fires early: each poll waited at least the interval before it */
    for (unsigned i = 1; i < 8; i++)
        assert_true(up.at[i] - up.at[i - 1] >= want[i - 1]);
    json_decref(a.obj);

    /* The app's pace wins over the kind's: 50 ms, at most 200. */
    script(steps + 4, 4);
    app->poll_ms = 50;
    memset(&a, 0, sizeof(a));
    assert_int_equal(watch_join(app, &kind, "job_1", false, on_update, on_done, &a, &a.w), 0);
    run(app);
    assert_int_equal(a.intervals[0], 50);
    json_decref(a.obj);
    app_free(app);
}

static void test_leave(void **state)
{
    static const struct step steps[] = {
        {"queued", 0}, {"queued", 0}, {"queued", 0}, {"queued", 0}, {"done", 100}};
    struct tools_ctx *app = app_new();
    struct waiter a = {0}, b = {0};
    (void)state;

    script(steps, 5);
    assert_int_equal(watch_join(app, &kind, "job_1", true, on_update, on_done, &a, &a.w), 0);
    assert_int_equal(watch_join(app, &kind, "job_1", true, on_update, on_done, &b, &b.w), 0);
    watch_leave(a.w); /* the other goes on */
    run(app);
    assert_int_equal(a.done, 0);
    assert_int_equal(a.updates, 0);
    assert_int_equal(b.done, 1);
    json_decref(b.obj);

    /* The last waiter leaves while a poll is in flight: it is stopped, and nothing more. */
    script(steps, 5);
    memset(&a, 0, sizeof(a));
    assert_int_equal(watch_join(app, &kind, "job_1", true, on_update, on_done, &a, &a.w), 0);
    up.delay_ms = 200;                /* the poll will be in flight for a while */
    uv_run(app->loop, UV_RUN_NOWAIT); /* the first poll starts */
    assert_int_equal(up.starts, 1);
    watch_leave(a.w);
    assert_int_equal(up.stops, 1);
    assert_int_equal(watch_count(app), 0);
    run(app);
    assert_int_equal(up.starts, 1);
    assert_int_equal(a.done, 0);
    app_free(app);
}

static void test_failures(void **state)
{
    static const struct step flaky[] = {{NULL, 0}, {NULL, 0}, {"running", 10}, {"done", 100}};
    static const struct step broken[] = {{"running", 10}, {NULL, 0}, {NULL, 0}, {NULL, 0}};
    struct tools_ctx *app = app_new();
    struct waiter a = {0};
    (void)state;

    script(flaky, 4); /* two failures are tried again */
    assert_int_equal(watch_join(app, &kind, "job_1", true, on_update, on_done, &a, &a.w), 0);
    run(app);
    assert_int_equal(a.err, 0);
    assert_non_null(a.obj);
    json_decref(a.obj);

    script(broken, 4); /* the third in a row ends it, with the upstream's sentence */
    memset(&a, 0, sizeof(a));
    assert_int_equal(watch_join(app, &kind, "job_1", true, on_update, on_done, &a, &a.w), 0);
    run(app);
    assert_int_equal(up.starts, 4);
    assert_int_equal(a.done, 1);
    assert_int_equal(a.err, SZ_EUPSTREAM);
    assert_string_equal(a.msg, "upstream said no");
    assert_null(a.obj);
    app_free(app);
}

static void test_deadline(void **state)
{
    static const struct step steps[] = {{"queued", 0}, {"queued", 0}, {"queued", 0},
                                        {"queued", 0}, {"queued", 0}, {"queued", 0}};
    struct watch_kind quick = kind;
    struct tools_ctx *app = app_new();
    struct waiter a = {0};
    (void)state;

    quick.deadline_ms = 40;
    script(steps, 6);
    assert_int_equal(watch_join(app, &quick, "job_1", true, on_update, on_done, &a, &a.w), 0);
    run(app);
    assert_int_equal(a.done, 1);
    assert_int_equal(a.err, SZ_ETIMEOUT);
    assert_non_null(strstr(a.msg, "The test job job_1 is still queued after 0 minutes"));
    assert_true(up.starts < 6);
    app_free(app);
}

static void test_bad_join(void **state)
{
    struct tools_ctx *app = app_new();
    struct watch_waiter *w;
    char long_id[200];
    (void)state;

    memset(long_id, 'x', sizeof(long_id) - 1);
    long_id[sizeof(long_id) - 1] = '\0';
    assert_int_equal(watch_join(app, &kind, long_id, false, on_update, on_done, NULL, &w),
                     SZ_EINVAL);
    assert_int_equal(watch_join(app, &kind, NULL, false, on_update, on_done, NULL, &w), SZ_EINVAL);
    assert_int_equal(watch_count(app), 0);
    watch_leave(NULL);
    app_free(app);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shared),   cmocka_unit_test(test_backoff),
        cmocka_unit_test(test_leave),    cmocka_unit_test(test_failures),
        cmocka_unit_test(test_deadline), cmocka_unit_test(test_bad_join),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
