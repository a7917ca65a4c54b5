/* Upstream polling on a client's behalf: one poll per upstream job, however many
 * wait on it.
 *
 * A task of create_video, remix_video or create_image is done when its upstream job
 * is (docs/tasks.md): the server polls the job until it completes or fails, so the
 * client polls only the task. A watch polls one job (a kind and an id: "video",
 * video_...) with adaptive backoff: the first poll after the kind's first interval,
 * then the interval grows by half each time a poll shows no change (neither the
 * status nor the progress moved), up to the kind's maximum, and stays put while the
 * job moves. Every waiter on the same job shares the one watch: two tasks waiting on
 * one video (a task resumed after a restart beside one still running, say) cost one
 * request per interval, not two. A poll that fails is tried again at the next
 * interval; three failures in a row end the watch with the last one's sentence, and so
 * does the kind's deadline.
 *
 * A kind is a table: how to start one poll (and stop it), and whether an object is
 * final. A poll reports through watch_polled, on the loop, never inside its start.
 *
 * Thread: the loop thread only. */
#ifndef SZ_TOOLS_WATCH_H
#define SZ_TOOLS_WATCH_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct tools_ctx;
struct watch;
struct watch_waiter;

/* Starts one poll of id (borrowed for the call): 0, and the poll reports through
 * watch_polled later with *pinflight as the handle watch_stop_fn gets; or a negative
 * code (nothing will report). */
typedef int watch_start_fn(struct tools_ctx *app, const char *id, struct watch *w,
                           void **pinflight);
/* Stops the poll in flight (it still reports, with any error). */
typedef void watch_stop_fn(void *inflight);
/* True when obj (borrowed) is the job's final state. */
typedef bool watch_final_fn(const json_t *obj);

struct watch_kind {
    const char *name; /* "video", "response": part of the key */
    const char *noun; /* "video", "image job": for sentences */
    watch_start_fn *start;
    watch_stop_fn *stop;
    watch_final_fn *final;
    uint64_t first_ms, max_ms; /* the backoff's first and largest intervals */
    uint64_t deadline_ms;      /* give up after this long */
};

/* Each poll's object while the job runs (borrowed for the call). */
typedef void watch_update_fn(void *data, const json_t *obj);
/* Once: the final object (owned by the callback), or err with a sentence (borrowed).
 * The waiter is gone when this runs. */
typedef void watch_done_fn(void *data, int err, const char *msg, json_t *obj);

/* Waits for the job id (copied; at most 128 bytes) of kind (static), joining its
 * watch or starting one; now polls at once (a job not seen yet, as after a restart)
 * rather than after the first interval. app is borrowed and must outlive the watch.
 * 0 and *pw (the waiter, until done runs or watch_leave), or SZ_EINVAL/SZ_ENOMEM
 * (nothing will run). */
int watch_join(struct tools_ctx *app, const struct watch_kind *kind, const char *id, bool now,
               watch_update_fn *update, watch_done_fn *done, void *data, struct watch_waiter **pw);

/* Stops waiting: nothing of this waiter runs after this. The watch stops polling once
 * nobody waits. */
void watch_leave(struct watch_waiter *waiter);

/* The watch's current interval (ms): the pace a client polling the task might keep. */
uint64_t watch_interval(const struct watch_waiter *waiter);

/* A poll's report: obj (stolen; NULL when err != 0) and err with msg (borrowed, may be
 * NULL). Call it once per started poll, on the loop, never inside the start function. */
void watch_polled(struct watch *w, int err, const char *msg, json_t *obj);

/* How many watches are polling (for tests). */
unsigned watch_count(const struct tools_ctx *app);

#endif
