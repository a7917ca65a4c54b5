/* The ledger: the video jobs this server created, in the state database.
 *
 * Some video APIs cannot list a user's jobs (Gemini's Interactions API has no
 * listing), and ids alone do not say which provider made them (OpenAI's and Azure's
 * are alike). So every job the server creates is recorded here with the provider
 * that made it and the last Video object seen for it: list_videos reads a page of
 * them, every call on an id asks which provider it belongs to, and
 * get_video_status keeps the object current. One table, video_jobs (id primary key,
 * provider, created_at, status, the Video object as JSON text, updated_at), in the
 * database of state.h; its schema is registered by ledger_attach.
 *
 * Every function queues one state job (one statement, or a few in a transaction) and
 * reports on the loop. JSON crosses threads only as text one way and as a new object
 * handed over in the callback the other way.
 *
 * Thread: loop thread only; callbacks on the loop, never inside the call. */
#ifndef SZ_LEDGER_H
#define SZ_LEDGER_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "state/state.h"

/* Registers the ledger's table with st (state_add_schema). 0 or a code. */
int ledger_attach(struct state *st);

/* Records a job, or updates it: provider ("gemini", ...; copied) and the Video
 * object (borrowed; serialised before this returns; its "id" must be a string, its
 * "created_at" an integer or absent, its "status" a string or absent). A known id
 * keeps its place in listings. done may be NULL (failures are then logged). Returns
 * 0 (done will run), SZ_EINVAL (no id) or what state_run returns. */
int ledger_put(struct state *st, const char *provider, const json_t *video, state_done_fn *done,
               void *data);

/* provider: borrowed for the call, NULL when the id is not in the ledger; video: a
 * new reference the callback owns (NULL when unknown or on failure). */
typedef void ledger_find_fn(void *data, int err, const char *msg, const char *provider,
                            json_t *video);

/* Looks id up (copied). Returns 0 (cb will run) or what state_run returns. */
int ledger_find(struct state *st, const char *id, ledger_find_fn *cb, void *data);

struct ledger_page {
    const char *provider; /* whose jobs (copied) */
    size_t limit;         /* 1..100 */
    const char *after;    /* list after this id (copied), or NULL */
    bool ascending;       /* oldest first (else newest first) */
};

/* videos: a new array of Video objects the callback owns (NULL on failure);
 * has_more: more follow the last one. An `after` id that is not in the ledger
 * fails with SZ_ENOTFOUND and a sentence that names it. */
typedef void ledger_list_fn(void *data, int err, const char *msg, json_t *videos, bool has_more);

/* Reads one page of a provider's jobs, by creation time (then by insertion order).
 * Returns 0 (cb will run), SZ_EINVAL or what state_run returns. */
int ledger_list(struct state *st, const struct ledger_page *page, ledger_list_fn *cb, void *data);

/* Removes id (copied); removing an unknown id is not an error. done may be NULL. */
int ledger_forget(struct state *st, const char *id, state_done_fn *done, void *data);

#endif
