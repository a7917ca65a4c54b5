/* The task table: MCP tasks that outlive the process, in the state database.
 *
 * The engine keeps its tasks in memory while it runs; this table is their durable
 * copy, so that a restarted server can answer tasks/get for a task an earlier run
 * created (docs/tasks.md): one row per task (id primary key), with its owner, its
 * tool, its status and statusMessage, its times (Unix milliseconds; expires_ms is
 * created_ms + ttl_ms, indexed for the purge), the tool's result or the JSON-RPC
 * error once it ended, and the checkpoint its tool recorded to resume it. The
 * engine's JSON crosses threads as text only. The table knows nothing of MCP: app
 * maps the engine's rows onto these (src/app/taskstore.c).
 *
 * Every function queues one state job and reports on the loop.
 *
 * Thread: loop thread only; callbacks on the loop, never inside the call. */
#ifndef SZ_TASKDB_H
#define SZ_TASKDB_H

#include <stdbool.h>
#include <stdint.h>

#include "state/state.h"

/* Registers the table with st (state_add_schema). 0 or a code. */
int taskdb_attach(struct state *st);

/* One task. Strings may be NULL where the column allows it (message, result,
 * error, checkpoint); times are Unix milliseconds; ttl_ms 0 means no expiry. */
struct taskdb_row {
    const char *id;
    const char *owner;
    const char *tool;
    bool modern;
    const char *status;
    const char *message;
    int64_t created_ms;
    int64_t updated_ms;
    int64_t ttl_ms;
    int64_t poll_ms;
    const char *result;
    const char *error;
    const char *checkpoint;
};

/* Inserts the task, or replaces the row of its id. row and its strings are copied
 * before this returns. done may be NULL (a failure is then logged). Returns 0
 * (done will run), SZ_EINVAL (no id, owner, tool or status), SZ_ENOMEM or what
 * state_run returns. */
int taskdb_save(struct state *st, const struct taskdb_row *row, state_done_fn *done, void *data);

/* row: the task (borrowed for the call), or NULL when there is no such id. */
typedef void taskdb_found_fn(void *data, int err, const char *msg, const struct taskdb_row *row);

/* Reads the task id (copied). Returns 0 (cb will run) or what state_run returns. */
int taskdb_find(struct state *st, const char *id, taskdb_found_fn *cb, void *data);

/* Removes the task id (copied); an unknown id is not an error. done may be NULL. */
int taskdb_remove(struct state *st, const char *id, state_done_fn *done, void *data);

/* Removes every task whose expires_ms is at or before now_ms. done may be NULL. */
int taskdb_purge(struct state *st, int64_t now_ms, state_done_fn *done, void *data);

#endif
