/* Upstream polling behind watch.h: a list of watches per tools_ctx, each a timer, the
 * poll in flight and its waiters.
 *
 * Life of a watch: created by its first waiter; polls on its timer; ends when the job
 * is final (every waiter gets the object), when polling failed three times in a row or
 * its deadline passed (every waiter gets the sentence), or when its last waiter left.
 * An ending watch leaves the list at once (a new waiter starts a new one), stops the
 * poll in flight, and is freed once that poll has reported and its timer is closed. */
#include "fmacros.h"

#include "tools/watch.h"

#include "core/err.h"
#include "core/list.h"
#include "core/log.h"
#include "tools/tools.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Polls that fail in a row before the waiters are told. */
#define MAX_FAILURES 3

struct watch_hub {
    struct sz_link watches;
    unsigned n;
};

struct watch {
    struct sz_link link; /* in hub->watches while it polls */
    struct tools_ctx *app;
    const struct watch_kind *kind;
    char id[129];
    struct sz_link waiters;
    uv_timer_t timer;
    uint64_t interval, max;
    uint64_t started;
    void *inflight;
    bool polling;  /* a poll is in flight */
    bool ending;   /* left the list: no new waiter, no new poll */
    bool closed;   /* the timer is closing */
    unsigned busy; /* frames running waiters' callbacks */
    json_t *last;
    int failures;
};

struct watch_waiter {
    struct sz_link link; /* in watch->waiters */
    struct watch *w;
    watch_update_fn *update;
    watch_done_fn *done;
    void *data;
};

static void timer_closed(uv_handle_t *h)
{
    struct watch *w = h->data;
    json_decref(w->last);
    free(w);
}

/* Frees w once nothing runs on it: no poll in flight, no callback frame. */
static void maybe_free(struct watch *w)
{
    if (!w->ending || w->polling || w->busy > 0 || w->closed)
        return;
    w->closed = true;
    uv_timer_stop(&w->timer);
    uv_close((uv_handle_t *)&w->timer, timer_closed);
}

/* Takes w out of the list: it polls no more, and its poll in flight is stopped. */
static void end(struct watch *w)
{
    struct watch_hub *hub = w->app->watches;

    if (w->ending)
        return;
    w->ending = true;
    sz_list_remove(&w->link);
    if (--hub->n == 0) {
        free(hub);
        w->app->watches = NULL;
    }
    uv_timer_stop(&w->timer);
    if (w->polling && w->kind->stop != NULL && w->inflight != NULL)
        w->kind->stop(w->inflight);
}

/* Tells every waiter the outcome: obj (stolen; each gets a copy) or err and msg. */
static void finish(struct watch *w, int err, const char *msg, json_t *obj)
{
    struct sz_link *first;

    end(w);
    w->busy++;
    while ((first = sz_list_first(&w->waiters)) != NULL) {
        struct watch_waiter *wt = container_of(first, struct watch_waiter, link);
        json_t *mine = NULL;
        sz_list_remove(first);
        if (obj != NULL)
            mine = sz_list_empty(&w->waiters) ? json_incref(obj) : json_deep_copy(obj);
        wt->done(wt->data, err, msg, mine);
        free(wt);
    }
    json_decref(obj);
    w->busy--;
    maybe_free(w);
}

static void tick(uv_timer_t *t);

/* The next poll, after the interval; or the end, past the deadline. */
static void schedule(struct watch *w)
{
    uint64_t waited = uv_now(w->app->loop) - w->started;
    char msg[256];

    if (w->kind->deadline_ms > 0 && waited >= w->kind->deadline_ms) {
        const char *status = json_string_value(json_object_get(w->last, "status"));
        snprintf(msg, sizeof(msg),
                 "The %s %s is still %s after %llu minutes: it may yet finish; check it again "
                 "later",
                 w->kind->noun, w->id, status ? status : "unfinished",
                 (unsigned long long)(waited / 60000u));
        finish(w, SZ_ETIMEOUT, msg, NULL);
        return;
    }
    uv_timer_start(&w->timer, tick, w->interval, 0);
}

static void tick(uv_timer_t *t)
{
    struct watch *w = t->data;
    int rc;

    if (w->ending || w->polling)
        return;
    w->polling = true;
    w->inflight = NULL;
    rc = w->kind->start(w->app, w->id, w, &w->inflight);
    if (rc != 0) {
        w->polling = false;
        watch_polled(w, rc, NULL, NULL);
    }
}

/* Whether obj shows the job moving since last: its status or progress changed. */
static bool moved(const json_t *last, const json_t *obj)
{
    if (last == NULL)
        return true;
    return !json_equal(json_object_get(last, "status"), json_object_get(obj, "status")) ||
           !json_equal(json_object_get(last, "progress"), json_object_get(obj, "progress"));
}

void watch_polled(struct watch *w, int err, const char *msg, json_t *obj)
{
    struct sz_link *pos, *tmp;
    char why[256];

    w->polling = false;
    w->inflight = NULL;
    if (w->ending) {
        json_decref(obj);
        maybe_free(w);
        return;
    }
    if (err != 0 || obj == NULL) {
        if (++w->failures < MAX_FAILURES) {
            SZ_INFO("watch %s %s: a poll failed (%s); trying again", w->kind->name, w->id,
                    msg ? msg : sz_strerror(err));
            schedule(w);
            return;
        }
        snprintf(why, sizeof(why), "%s", msg ? msg : sz_strerror(err ? err : SZ_EPROTO));
        finish(w, err ? err : SZ_EPROTO, why, NULL);
        return;
    }
    w->failures = 0;
    if (w->kind->final(obj)) {
        finish(w, 0, NULL, obj);
        return;
    }
    if (!moved(w->last, obj)) {
        w->interval += w->interval / 2;
        if (w->interval > w->max)
            w->interval = w->max;
    }
    json_decref(w->last);
    w->last = obj;
    w->busy++;
    SZ_LIST_FOREACH_SAFE(pos, tmp, &w->waiters)
    {
        struct watch_waiter *wt = container_of(pos, struct watch_waiter, link);
        wt->update(wt->data, obj); /* it may leave, itself only */
    }
    w->busy--;
    if (w->ending)
        maybe_free(w);
    else
        schedule(w);
}

static struct watch *find(struct watch_hub *hub, const struct watch_kind *kind, const char *id)
{
    struct sz_link *pos;

    if (hub == NULL)
        return NULL;
    SZ_LIST_FOREACH(pos, &hub->watches)
    {
        struct watch *w = container_of(pos, struct watch, link);
        if (w->kind == kind && strcmp(w->id, id) == 0)
            return w;
    }
    return NULL;
}

int watch_join(struct tools_ctx *app, const struct watch_kind *kind, const char *id, bool now,
               watch_update_fn *update, watch_done_fn *done, void *data, struct watch_waiter **pw)
{
    struct watch_waiter *wt;
    struct watch *w;

    *pw = NULL;
    if (id == NULL || strlen(id) >= sizeof(w->id) || done == NULL || update == NULL)
        return SZ_EINVAL;
    wt = calloc(1, sizeof(*wt));
    if (wt == NULL)
        return SZ_ENOMEM;
    w = find(app->watches, kind, id);
    if (w == NULL) {
        if (app->watches == NULL) {
            app->watches = calloc(1, sizeof(*app->watches));
            if (app->watches == NULL) {
                free(wt);
                return SZ_ENOMEM;
            }
            sz_list_init(&app->watches->watches);
        }
        w = calloc(1, sizeof(*w));
        if (w == NULL) {
            free(wt);
            return SZ_ENOMEM;
        }
        w->app = app;
        w->kind = kind;
        snprintf(w->id, sizeof(w->id), "%s", id);
        sz_list_init(&w->waiters);
        /* The app may set the pace of every kind (SANZARU_TASK_POLL_MS). */
        w->interval = app->poll_ms > 0 ? app->poll_ms : kind->first_ms;
        w->max = app->poll_ms > 0 ? 4 * app->poll_ms : kind->max_ms;
        w->started = uv_now(app->loop);
        uv_timer_init(app->loop, &w->timer);
        w->timer.data = w;
        sz_list_push_back(&app->watches->watches, &w->link);
        app->watches->n++;
        uv_timer_start(&w->timer, tick, now ? 0 : w->interval, 0);
        SZ_DEBUG("watch %s %s: polling every %llu ms and up", kind->name, id,
                 (unsigned long long)w->interval);
    }
    wt->w = w;
    wt->update = update;
    wt->done = done;
    wt->data = data;
    sz_list_push_back(&w->waiters, &wt->link);
    *pw = wt;
    return 0;
}

void watch_leave(struct watch_waiter *wt)
{
    struct watch *w;

    if (wt == NULL)
        return;
    w = wt->w;
    sz_list_remove(&wt->link);
    free(wt);
    if (!sz_list_empty(&w->waiters))
        return;
    end(w);
    maybe_free(w);
}

uint64_t watch_interval(const struct watch_waiter *wt)
{
    return wt->w->interval;
}

unsigned watch_count(const struct tools_ctx *app)
{
    return app->watches != NULL ? app->watches->n : 0;
}
