/* Tasks behind server.h: a tools/call that outlives its request.
 *
 * Two wires, one mechanism. MCP 2025-11-25 (experimental core, tasks.mdx): the
 * client asks per call (params.task, for a tool whose execution.taskSupport
 * allows it), gets {task} at once, polls tasks/get, awaits tasks/result, lists
 * tasks/list, cancels tasks/cancel; the server may send
 * notifications/tasks/status. MCP 2026-07-28's extension
 * io.modelcontextprotocol/tasks (SEP-2663): a client that declares the
 * extension in a request's capabilities may get a CreateTaskResult
 * (resultType "task") instead of the tool's result, when the server decides;
 * tasks/get inlines the result or the error, tasks/update answers the task's
 * questions (inputRequests), tasks/cancel is an empty acknowledgement.
 *
 * A task is built on the call object (call.c): the tools/call's call becomes
 * the task's work, its finish becomes the task's outcome (mcp_task_settle),
 * and a second, short-lived call answers the request with the
 * CreateTaskResult once the task is stored. A task of 2025-11-25 on a session
 * keeps its call there, so its progress, logs and questions (elicitation)
 * still reach the client, tagged with io.modelcontextprotocol/related-task; a
 * task of 2026-07-28 (or of a stateless request) has no session that outlives
 * its request, so its call moves to the server's task host, a session that
 * sends nothing: progress becomes the statusMessage, questions the
 * inputRequests.
 *
 * Tasks belong to an owner (mcp_session_set_owner): requests of another owner
 * get "not found", exactly as for an id that never existed. A task lives
 * until its TTL ends, counted from its creation; expired tasks are swept from
 * memory and from the store now and then (on the task methods, at most once a
 * minute). With a store (mcp_server_set_task_store) every task is saved when
 * it is created, when its status changes and when its tool records a
 * checkpoint, and a CreateTaskResult is sent only once the task is saved
 * (SEP-2663: "durably created"). After a restart tasks/get on a task this
 * process does not know asks the store: a task still working is resumed by
 * its tool from its checkpoint (an upstream job polled again), or, when its
 * work cannot be picked up (a download), fails with a sentence saying so.
 *
 * Thread: the loop thread only. */
#include "fmacros.h"

#include "mcp/mcp_int.h"
#include "core/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define META_RELATED "io.modelcontextprotocol/related-task"
/* Expired tasks are looked for at most this often. */
#define PURGE_EVERY_MS (60LL * 1000)

const char *const mcp_task_status_names[] = {"working", "input_required", "completed", "failed",
                                             "cancelled"};

bool mcp_task_terminal(enum mcp_task_status st)
{
    return st == MCP_TASK_COMPLETED || st == MCP_TASK_FAILED || st == MCP_TASK_CANCELLED;
}

int64_t mcp_task_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ISO 8601 in UTC with milliseconds: 2026-07-28T10:30:00.123Z. */
static void iso8601(int64_t ms, char *out, size_t len)
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;

    gmtime_r(&secs, &tm);
    snprintf(out, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

/* ---- life ------------------------------------------------------------------------ */

static struct mcp_task *task_new(struct mcp_server *server, const char *owner, const char *tool,
                                 bool modern)
{
    struct mcp_task *t = calloc(1, sizeof(*t));
    unsigned char raw[16];

    if (t == NULL)
        return NULL;
    /* The id is the only handle a client has: 128 random bits (tasks.mdx,
     * "Task Isolation": unguessable where binding is not possible). */
    if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw)) {
        free(t);
        return NULL;
    }
    for (size_t i = 0; i < sizeof(raw); i++)
        snprintf(t->id + 2 * i, 3, "%02x", raw[i]);
    t->server = server;
    t->owner = mcp_strdup(owner);
    t->tool = mcp_strdup(tool);
    t->modern = modern;
    t->status = MCP_TASK_WORKING;
    t->created_ms = t->updated_ms = mcp_task_now_ms();
    t->ttl_ms = server->task_ttl_ms;
    t->poll_ms = server->task_poll_ms;
    t->refs = 1; /* the server's list */
    sz_list_init(&t->asks);
    sz_list_init(&t->waiters);
    sz_list_push_back(&server->tasks, &t->link);
    server->ntasks++;
    return t;
}

static void drop_asks(struct mcp_task *t)
{
    struct sz_link *pos, *tmp;

    SZ_LIST_FOREACH_SAFE(pos, tmp, &t->asks)
    {
        struct mcp_task_ask *a = container_of(pos, struct mcp_task_ask, link);
        sz_list_remove(pos);
        free(a->key);
        free(a);
    }
    json_decref(t->inputs);
    t->inputs = NULL;
}

void mcp_task_unref(struct mcp_task *t)
{
    if (--t->refs > 0)
        return;
    drop_asks(t);
    free(t->owner);
    free(t->tool);
    free(t->message);
    json_decref(t->result);
    json_decref(t->error);
    json_decref(t->checkpoint);
    json_decref(t->keys);
    free(t);
}

/* Takes t out of memory (its row stays unless the caller removes it too). Its
 * waiters are answered "not found"; a running call is the caller's to end. */
static void task_unlist(struct mcp_task *t)
{
    struct sz_link *first;

    if (!t->listed)
        return;
    t->listed = false;
    sz_list_remove(&t->link);
    t->server->ntasks--;
    while ((first = sz_list_first(&t->waiters)) != NULL) {
        struct mcp_call *w = container_of(first, struct mcp_call, wait_link);
        sz_list_remove(first);
        w->task = NULL;
        mcp_call_finish_error(w, MCP_INVALID_PARAMS, "Failed to retrieve task: Task not found");
    }
    if (t->creating != NULL) {
        struct mcp_call *c = t->creating;
        t->creating = NULL;
        c->task = NULL;
        mcp_call_finish_error(c, MCP_INTERNAL_ERROR, "The task ended before it could be stored");
    }
    mcp_task_unref(t);
}

struct mcp_task *mcp_task_find(struct mcp_server *server, const char *id)
{
    struct sz_link *pos;

    SZ_LIST_FOREACH(pos, &server->tasks)
    {
        struct mcp_task *t = container_of(pos, struct mcp_task, link);
        if (strcmp(t->id, id) == 0)
            return t;
    }
    return NULL;
}

bool mcp_task_expired(const struct mcp_task *t, int64_t now)
{
    return t->ttl_ms > 0 && now >= t->created_ms + t->ttl_ms;
}

/* ---- the store ---------------------------------------------------------------------- */

/* What a save needs to outlive: the task, and whether a CreateTaskResult waits. */
struct save_op {
    struct mcp_task *task;
};

static void reply_creating(struct mcp_task *t);

static void saved(void *data, int err)
{
    struct save_op *op = data;
    struct mcp_task *t = op->task;

    free(op);
    if (err != 0)
        SZ_WARN("task %s: could not be saved (%s); it lives in memory only", t->id,
                sz_strerror(err));
    if (t->creating != NULL && --t->pending_saves == 0)
        reply_creating(t);
    mcp_task_unref(t);
}

/* Saves t as it is now. Without a store, or when the save cannot start, a
 * CreateTaskResult that waits for it goes out at once. */
static void task_save(struct mcp_task *t)
{
    struct mcp_server *server = t->server;
    struct mcp_task_row row = {
        .id = t->id,
        .owner = t->owner,
        .tool = t->tool,
        .modern = t->modern,
        .status = mcp_task_status_names[t->status],
        .message = t->message,
        .created_ms = t->created_ms,
        .updated_ms = t->updated_ms,
        .ttl_ms = t->ttl_ms,
        .poll_ms = t->poll_ms,
    };
    char *result = NULL, *error = NULL, *checkpoint = NULL;
    struct save_op *op;

    if (!server->have_store || server->store.save == NULL)
        return;
    result = t->result ? json_dumps(t->result, JSON_COMPACT) : NULL;
    error = t->error ? json_dumps(t->error, JSON_COMPACT) : NULL;
    checkpoint = t->checkpoint ? json_dumps(t->checkpoint, JSON_COMPACT) : NULL;
    row.result = result;
    row.error = error;
    row.checkpoint = checkpoint;
    op = malloc(sizeof(*op));
    if (op != NULL) {
        op->task = t;
        t->refs++;
        if (t->creating != NULL)
            t->pending_saves++;
        if (server->store.save(server->store.ctx, &row, saved, op) != 0) {
            SZ_WARN("task %s: could not be saved; it lives in memory only", t->id);
            if (t->creating != NULL)
                t->pending_saves--;
            t->refs--;
            free(op);
        }
    }
    free(result);
    free(error);
    free(checkpoint);
}

static void store_remove(struct mcp_task *t)
{
    struct mcp_server *server = t->server;

    if (server->have_store && server->store.remove != NULL &&
        server->store.remove(server->store.ctx, t->id) != 0)
        SZ_WARN("task %s: could not be removed from the store", t->id);
}

/* Sweeps expired tasks out of memory (a running call is stopped, its upstream
 * job left alone) and asks the store to do the same, at most once a minute. */
void mcp_tasks_maybe_purge(struct mcp_server *server)
{
    int64_t now = mcp_task_now_ms();
    struct sz_link *pos, *tmp;

    if (now < server->next_purge_ms)
        return;
    server->next_purge_ms = now + PURGE_EVERY_MS;
    SZ_LIST_FOREACH_SAFE(pos, tmp, &server->tasks)
    {
        struct mcp_task *t = container_of(pos, struct mcp_task, link);
        if (!mcp_task_expired(t, now))
            continue;
        SZ_DEBUG("task %s (%s): TTL ended; forgotten", t->id, t->tool);
        t->refs++;
        task_unlist(t);
        if (t->call != NULL) /* its settle finds the task unlisted and lets go */
            mcp_call_cancel_for(t->call, MCP_CANCEL_SESSION);
        mcp_task_unref(t);
        tmp = server->tasks.next; /* cancelling may have changed the list */
    }
    if (server->have_store && server->store.purge != NULL &&
        server->store.purge(server->store.ctx, now) != 0)
        SZ_WARN("tasks: could not purge expired tasks from the store");
}

/* ---- what clients see ------------------------------------------------------------------ */

/* The Task object of t on a wire: 2025-11-25 (ttl, pollInterval) or 2026-07-28
 * (ttlMs, pollIntervalMs; detailed: inputRequests, result or error inlined). */
json_t *mcp_task_json(const struct mcp_task *t, bool modern, bool detailed)
{
    char created[64], updated[64];
    json_t *j;

    iso8601(t->created_ms, created, sizeof(created));
    iso8601(t->updated_ms, updated, sizeof(updated));
    j = json_pack("{s:s, s:s, s:s, s:s}", "taskId", t->id, "status",
                  mcp_task_status_names[t->status], "createdAt", created, "lastUpdatedAt", updated);
    if (t->message != NULL)
        json_object_set_new(j, "statusMessage", json_string(t->message));
    json_object_set_new(j, modern ? "ttlMs" : "ttl", json_integer(t->ttl_ms));
    if (!mcp_task_terminal(t->status))
        json_object_set_new(j, modern ? "pollIntervalMs" : "pollInterval",
                            json_integer(t->poll_ms));
    if (!modern || !detailed)
        return j;
    if (t->status == MCP_TASK_INPUT_REQUIRED && t->inputs != NULL)
        json_object_set(j, "inputRequests", t->inputs);
    else if (t->status == MCP_TASK_COMPLETED && t->result != NULL)
        json_object_set(j, "result", t->result);
    else if (t->status == MCP_TASK_FAILED && t->error != NULL)
        json_object_set(j, "error", t->error);
    else if (t->status == MCP_TASK_FAILED && t->result != NULL)
        /* a 2025-11-25 tool error seen through the extension: the tool's result */
        json_object_set_new(j, "error",
                            json_pack("{s:i, s:s}", "code", MCP_INTERNAL_ERROR, "message",
                                      t->message ? t->message : "The tool failed"));
    return j;
}

json_t *mcp_task_related_meta(const struct mcp_task *task)
{
    return json_pack("{s:{s:s}}", META_RELATED, "taskId", task->id);
}

/* What tasks/result answers for a terminal t (2025-11-25): the tool's result
 * with the related-task _meta, or its JSON-RPC error. */
void mcp_task_answer_result(struct mcp_call *w, struct mcp_task *t)
{
    json_t *result, *meta;

    if (t->error != NULL) {
        json_t *data = json_object_get(t->error, "data");
        mcp_call_finish_error_data(w, (int)json_integer_value(json_object_get(t->error, "code")),
                                   data != NULL ? json_incref(data) : NULL, "%s",
                                   json_string_value(json_object_get(t->error, "message")));
        return;
    }
    if (t->result != NULL)
        result = json_deep_copy(t->result);
    else
        result = json_pack("{s:[{s:s, s:s}], s:b}", "content", "type", "text", "text",
                           t->message ? t->message : "The task was cancelled", "isError", 1);
    meta = json_object_get(result, "_meta");
    if (!json_is_object(meta)) {
        meta = json_object();
        json_object_set_new(result, "_meta", meta);
    }
    json_object_update_new(meta, mcp_task_related_meta(t));
    mcp_call_finish_result(w, result);
}

/* Records a change of t and tells who should know: the store, a 2025-11-25
 * session (notifications/tasks/status), and, at the end, every tasks/result
 * waiting. message is copied (NULL clears it). */
void mcp_task_set_status(struct mcp_task *t, enum mcp_task_status st, const char *message)
{
    struct sz_link *first;
    bool changed = t->status != st;

    t->status = st;
    if (message != NULL || changed) {
        free(t->message);
        t->message = mcp_strdup(message);
    }
    t->updated_ms = mcp_task_now_ms();
    task_save(t);
    if (changed && t->home != NULL && !t->home->closing)
        mcp_send_notification(t->home, "notifications/tasks/status", mcp_task_json(t, false, false),
                              NULL);
    if (changed) { /* 2026-07-28: to the listen streams that named the task */
        json_t *detailed = mcp_task_json(t, true, true);
        mcp_listen_task(t->server, t->id, t->owner, detailed);
        json_decref(detailed);
    }
    if (!mcp_task_terminal(st))
        return;
    drop_asks(t);
    t->refs++;
    while ((first = sz_list_first(&t->waiters)) != NULL) {
        struct mcp_call *w = container_of(first, struct mcp_call, wait_link);
        sz_list_remove(first);
        w->task = NULL;
        mcp_task_answer_result(w, t);
    }
    mcp_task_unref(t);
}

/* ---- creation --------------------------------------------------------------------------- */

bool mcp_task_client_declared(const struct mcp_req_ctx *rc)
{
    const json_t *ext = json_object_get(rc->caps, "extensions");
    return json_is_object(json_object_get(ext, MCP_TASKS_EXTENSION));
}

void mcp_task_send_missing(struct mcp_session *s, const json_t *id, const char *why)
{
    mcp_send_error_data(
        s, id, MCP_MISSING_CAPABILITY, why,
        json_pack("{s:{s:{s:{}}}}", "requiredCapabilities", "extensions", MCP_TASKS_EXTENSION));
}

/* 2025-11-25 tasks on this session: the revision that has them. */
bool mcp_task_legacy_session(const struct mcp_session *s)
{
    return strcmp(s->protocol_version, "2025-11-25") == 0;
}

int mcp_task_mode_of(struct mcp_session *s, const struct mcp_tool_entry *tool, const json_t *id,
                     const json_t *params, enum mcp_task_mode *pmode, int64_t *pttl)
{
    enum mcp_task_support support = tool->tool->task_support;
    const json_t *task = json_object_get(params, "task");

    *pmode = MCP_TASK_NONE;
    *pttl = 0;
    if (s->cur.modern) {
        /* The extension: the server decides; a 2025-11-25 `task` param is
         * ignored (SEP-2663, "Backward Compatibility"). */
        if (support == MCP_TASK_FORBIDDEN)
            return 0;
        if (mcp_task_client_declared(&s->cur)) {
            *pmode = MCP_TASK_MAYBE;
            return 0;
        }
        if (support == MCP_TASK_REQUIRED) {
            char why[256];
            snprintf(why, sizeof(why),
                     "Missing required client capability: tool %s runs only as a task (declare "
                     "the extension " MCP_TASKS_EXTENSION ")",
                     tool->tool->name);
            mcp_task_send_missing(s, id, why);
            return SZ_EINVAL;
        }
        return 0;
    }
    if (task == NULL || !mcp_task_legacy_session(s) || !s->server->task_tools) {
        if (support == MCP_TASK_REQUIRED && mcp_task_legacy_session(s)) {
            mcp_send_errorf(s, id, MCP_METHOD_NOT_FOUND,
                            "Tool %s runs only as a task: call it with params.task",
                            tool->tool->name);
            return SZ_EINVAL;
        }
        return 0;
    }
    if (support == MCP_TASK_FORBIDDEN) {
        mcp_send_errorf(s, id, MCP_METHOD_NOT_FOUND,
                        "Tool %s does not run as a task (its execution.taskSupport is forbidden): "
                        "call it without params.task",
                        tool->tool->name);
        return SZ_EINVAL;
    }
    if (!json_is_object(task)) {
        mcp_send_error(s, id, MCP_INVALID_PARAMS, "Invalid params: 'task' must be an object");
        return SZ_EINVAL;
    }
    if (json_is_integer(json_object_get(task, "ttl")))
        *pttl = (int64_t)json_integer_value(json_object_get(task, "ttl"));
    else if (json_is_real(json_object_get(task, "ttl")))
        *pttl = (int64_t)json_real_value(json_object_get(task, "ttl"));
    *pmode = MCP_TASK_ASKED;
    return 0;
}

static void creating_cancelled(struct mcp_call *call, void *data)
{
    (void)data;
    mcp_call_reply_raw(call, NULL); /* nothing is sent; the task goes on */
}

static void reply_creating(struct mcp_task *t)
{
    struct mcp_call *c = t->creating;
    json_t *result;

    t->creating = NULL;
    c->task = NULL;
    result = json_incref(c->args); /* the snapshot taken at creation */
    mcp_call_reply(c, result);
}

/* The session that runs tasks which have none of their own (created once). */
struct mcp_session *mcp_task_host(struct mcp_server *server)
{
    if (server->task_host == NULL) {
        server->task_host = mcp_session_new(server, NULL, NULL);
        if (server->task_host != NULL)
            mcp_session_set_modern_only(server->task_host);
    }
    return server->task_host;
}

int mcp_task_adopt(struct mcp_session *s, struct mcp_call *call)
{
    struct mcp_server *server = s->server;
    bool keeps_session = !call->rc.modern && !s->stateless && !s->modern_only && s->initialized;
    struct mcp_session *host = keeps_session ? s : mcp_task_host(server);
    struct mcp_task *t;
    struct mcp_call *creating;
    json_t *snapshot;

    mcp_tasks_maybe_purge(server);
    if (host == NULL)
        return SZ_ENOMEM;
    t = task_new(server, s->owner, call->name ? call->name : "", call->rc.modern);
    if (t == NULL)
        return SZ_ENOMEM;
    t->listed = true;
    if (call->task_ttl_ms > 0)
        t->ttl_ms = call->task_ttl_ms < server->task_min_ttl_ms   ? server->task_min_ttl_ms
                    : call->task_ttl_ms > server->task_max_ttl_ms ? server->task_max_ttl_ms
                                                                  : call->task_ttl_ms;
    /* The request's answer: the task as created, sent once it is stored. */
    if (call->rc.modern) {
        snapshot = mcp_task_json(t, true, false);
        json_object_set_new(snapshot, "resultType", json_string("task"));
    } else {
        snapshot = json_pack("{s:o}", "task", mcp_task_json(t, false, false));
    }
    creating = mcp_call_new(s, MCP_CALL_TASK_CREATE, call->id, call->params, 0);
    if (creating == NULL || snapshot == NULL) {
        json_decref(snapshot);
        if (creating != NULL)
            mcp_call_discard(creating);
        task_unlist(t);
        return SZ_ENOMEM;
    }
    creating->name = mcp_strdup(call->name);
    creating->args = snapshot;
    creating->task = t;
    mcp_call_on_cancel(creating, creating_cancelled, NULL);
    t->creating = creating;
    /* The call is the task's work from here: its messages carry the task's id,
     * and notifications/cancelled for the request no longer reaches it. */
    t->call = call;
    t->refs++; /* the work's: let go when it settles */
    call->task = t;
    json_decref(call->id);
    call->id = json_string(t->id);
    if (keeps_session)
        t->home = s;
    else if (call->session != host)
        mcp_call_move(call, host);
    SZ_INFO("task %s: %s started as a task (%s)", t->id, t->tool,
            t->modern ? "2026-07-28 extension" : "2025-11-25");
    task_save(t);
    if (t->creating != NULL && t->pending_saves == 0)
        reply_creating(t); /* no store: the task is as durable as this process */
    return 0;
}

/* ---- the work's end ---------------------------------------------------------------------- */

/* The first text block of a tool result, for the statusMessage of a failure. */
static const char *first_text(const json_t *result)
{
    return json_string_value(
        json_object_get(json_array_get(json_object_get(result, "content"), 0), "text"));
}

void mcp_task_settle(struct mcp_call *call, json_t *result, json_t *error)
{
    struct mcp_task *t = call->task;
    bool tool_error = result != NULL && json_is_true(json_object_get(result, "isError"));

    t->call = NULL; /* the call's reference is this function's now: each way out lets go */
    call->task = NULL;
    if (!t->listed || (call->cancelled && call->cancel_reason == MCP_CANCEL_SHUTDOWN)) {
        /* Expired, or the server is stopping: the store keeps the task as it
         * was, for a restarted server to resume or report. */
        json_decref(result);
        json_decref(error);
        mcp_task_unref(t);
        return;
    }
    if (call->cancelled && call->cancel_reason == MCP_CANCEL_SESSION) {
        /* Its session ended: nobody can reach it any more. */
        json_decref(result);
        json_decref(error);
        store_remove(t);
        task_unlist(t);
        mcp_task_unref(t);
        return;
    }
    if (mcp_task_terminal(t->status)) { /* cancelled meanwhile: it stays cancelled */
        json_decref(result);
        json_decref(error);
        mcp_task_unref(t);
        return;
    }
    if (error != NULL) {
        t->error = error;
        json_decref(result);
        mcp_task_set_status(t, MCP_TASK_FAILED,
                            json_string_value(json_object_get(error, "message")));
    } else if (result != NULL) {
        t->result = result;
        /* A tool error: 2025-11-25 calls the task failed; the extension keeps
         * "failed" for JSON-RPC errors (SEP-2663, "Task Execution Errors"). */
        mcp_task_set_status(t, tool_error && !t->modern ? MCP_TASK_FAILED : MCP_TASK_COMPLETED,
                            tool_error ? first_text(result) : NULL);
    } else {
        t->error = json_pack("{s:i, s:s}", "code", MCP_INTERNAL_ERROR, "message",
                             "The task ended without a result");
        mcp_task_set_status(t, MCP_TASK_FAILED, "The task ended without a result");
    }
    SZ_INFO("task %s: %s %s", t->id, t->tool, mcp_task_status_names[t->status]);
    mcp_task_unref(t);
}

void mcp_task_progress(struct mcp_call *call, double progress, double total, const char *message)
{
    struct mcp_task *t = call->task;
    char text[256];

    if (mcp_task_terminal(t->status))
        return;
    if (total > 0)
        snprintf(text, sizeof(text), "%s (%.0f%%)", message ? message : "working",
                 progress * 100.0 / total);
    else
        snprintf(text, sizeof(text), "%s (%.0f)", message ? message : "working", progress);
    if (t->message != NULL && strcmp(t->message, text) == 0)
        return;
    /* In memory only: a restarted server's first poll says it again. */
    free(t->message);
    t->message = mcp_strdup(text);
    t->updated_ms = mcp_task_now_ms();
}

void mcp_task_call_gone(struct mcp_call *call)
{
    struct mcp_task *t = call->task;

    call->task = NULL;
    if (t->creating == call)
        t->creating = NULL;
    sz_list_remove(&call->wait_link);
    if (t->call == call) { /* a work that never settled */
        t->call = NULL;
        mcp_task_unref(t);
    }
}

/* ---- questions ------------------------------------------------------------------------------ */

void mcp_task_waiting(struct mcp_call *call, int delta)
{
    struct mcp_task *t = call->task;

    if (delta > 0)
        t->nwaiting++;
    else if (t->nwaiting > 0)
        t->nwaiting--;
    if (mcp_task_terminal(t->status))
        return;
    if (t->nwaiting > 0 && t->status == MCP_TASK_WORKING)
        mcp_task_set_status(t, MCP_TASK_INPUT_REQUIRED, "Waiting for an answer from the user");
    else if (t->nwaiting == 0 && t->status == MCP_TASK_INPUT_REQUIRED)
        mcp_task_set_status(t, MCP_TASK_WORKING, NULL);
}

int mcp_task_ask(struct mcp_call *call, const char *key, json_t *params, mcp_answer_fn *fn,
                 void *data)
{
    struct mcp_task *t = call->task;
    struct mcp_task_ask *a;
    char unique[160];

    if (mcp_task_terminal(t->status) || call->cancelled) {
        json_decref(params);
        return SZ_ECANCELLED;
    }
    a = calloc(1, sizeof(*a));
    if (t->inputs == NULL)
        t->inputs = json_object();
    if (a == NULL || t->inputs == NULL) {
        free(a);
        json_decref(params);
        return SZ_ENOMEM;
    }
    /* A key names one question over the task's whole life (SEP-2663): one the
     * tool asks again gets a number. */
    t->nasked++;
    snprintf(unique, sizeof(unique), "%s", key);
    if (json_object_get(t->keys, unique) != NULL)
        snprintf(unique, sizeof(unique), "%s-%u", key, t->nasked);
    if (t->keys == NULL)
        t->keys = json_object();
    json_object_set_new(t->keys, unique, json_true());
    a->key = mcp_strdup(unique);
    a->fn = fn;
    a->data = data;
    sz_list_push_back(&t->asks, &a->link);
    json_object_set_new(t->inputs, a->key,
                        json_pack("{s:s, s:o}", "method", "elicitation/create", "params", params));
    if (t->status != MCP_TASK_INPUT_REQUIRED)
        mcp_task_set_status(t, MCP_TASK_INPUT_REQUIRED, "Waiting for an answer from the user");
    return 0;
}

/* tasks/update: each answer to an outstanding question goes to its asker;
 * keys that are not outstanding are ignored (SEP-2663). The task is working
 * again once no question is open. */
void mcp_task_deliver(struct mcp_task *t, const json_t *responses)
{
    struct sz_link *pos, *tmp;

    t->refs++;
    SZ_LIST_FOREACH_SAFE(pos, tmp, &t->asks)
    {
        struct mcp_task_ask *a = container_of(pos, struct mcp_task_ask, link);
        const json_t *r = json_object_get(responses, a->key);
        json_t *content;
        enum mcp_answer answer;
        struct mcp_call *call = t->call;
        if (!json_is_object(r) || call == NULL)
            continue;
        answer = mcp_answer_of(r);
        content = answer == MCP_ANSWER_ACCEPT
                      ? json_incref(json_object_get((json_t *)(uintptr_t)r, "content"))
                      : NULL;
        sz_list_remove(pos);
        json_object_del(t->inputs, a->key);
        if (sz_list_empty(&t->asks) && t->status == MCP_TASK_INPUT_REQUIRED)
            mcp_task_set_status(t, MCP_TASK_WORKING, NULL);
        a->fn(call, answer, content, a->data);
        json_decref(content);
        free(a->key);
        free(a);
        if (!t->listed || mcp_task_terminal(t->status))
            break;
        tmp = t->asks.next; /* the asker may have asked again */
    }
    mcp_task_unref(t);
}

/* ---- the call's side ---------------------------------------------------------------------------
 */

const char *mcp_call_task_id(const struct mcp_call *call)
{
    return call->task != NULL && call->task->call == call ? call->task->id : NULL;
}

void mcp_call_task_checkpoint(struct mcp_call *call, json_t *checkpoint)
{
    struct mcp_task *t = call->task;

    if (t == NULL || t->call != call || mcp_task_terminal(t->status)) {
        json_decref(checkpoint);
        return;
    }
    json_decref(t->checkpoint);
    t->checkpoint = checkpoint;
    task_save(t);
}

void mcp_call_task_poll_interval(struct mcp_call *call, int64_t ms)
{
    if (call->task != NULL && call->task->call == call && ms > 0)
        call->task->poll_ms = ms;
}

bool mcp_call_task_cancelled(const struct mcp_call *call)
{
    return call->cancelled && call->cancel_reason == MCP_CANCEL_TASK;
}

/* ---- sessions and the server
 * --------------------------------------------------------------------- */

void mcp_tasks_session_closed(struct mcp_session *s)
{
    struct sz_link *pos, *tmp;

    SZ_LIST_FOREACH_SAFE(pos, tmp, &s->server->tasks)
    {
        struct mcp_task *t = container_of(pos, struct mcp_task, link);
        if (t->home != s)
            continue;
        /* Bound to this session, so nobody can reach it any more; its call (if
         * it runs) is cancelled with the session's others and lets go. */
        t->home = NULL;
        store_remove(t);
        task_unlist(t);
        tmp = s->server->tasks.next;
    }
}

static void host_idle(void *ctx)
{
    struct mcp_server *server = ctx;
    mcp_tasks_closed_fn *done = server->tasks_closed;

    server->task_host = NULL;
    server->tasks_closed = NULL;
    if (done != NULL)
        done(server->tasks_closed_data);
}

void mcp_server_close_tasks(struct mcp_server *server, mcp_tasks_closed_fn *done, void *data)
{
    struct mcp_session *host = server->task_host;

    server->tasks_closing = true;
    if (host == NULL) {
        if (done != NULL)
            done(data);
        return;
    }
    server->tasks_closed = done;
    server->tasks_closed_data = data;
    host->ctx = server;
    mcp_session_close(host, host_idle);
}

void mcp_tasks_free(struct mcp_server *server)
{
    struct sz_link *first;

    if (server->task_host != NULL)
        mcp_server_close_tasks(server, NULL, NULL);
    while ((first = sz_list_first(&server->tasks)) != NULL) {
        struct mcp_task *t = container_of(first, struct mcp_task, link);
        struct mcp_call *call = t->call;
        t->call = NULL;
        task_unlist(t);
        if (call != NULL) { /* a work left running: it must not reach the task */
            call->task = NULL;
            mcp_task_unref(t);
        }
    }
}
