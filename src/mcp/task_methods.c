/* The tasks methods behind server.h (tasks/get, tasks/result, tasks/list,
 * tasks/cancel, tasks/update) and the tasks an earlier run left in the store:
 * each request names a task by its id, which is looked for in memory, then in
 * the store (a task of an earlier run, brought back in memory: resumed by its
 * tool from its checkpoint when it was working, or failed with a sentence when
 * its work cannot be picked up), and is visible to its owner only. The tasks
 * themselves (creation, status, outcome, questions) are tasks.c's.
 *
 * Thread: the loop thread only. */
#include "fmacros.h"

#include "mcp/mcp_int.h"
#include "core/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- after a restart ------------------------------------------------------------------------ */

static enum mcp_task_status status_of(const char *name)
{
    for (size_t i = 0; i <= MCP_TASK_CANCELLED; i++)
        if (name != NULL && strcmp(name, mcp_task_status_names[i]) == 0)
            return (enum mcp_task_status)i;
    return MCP_TASK_FAILED;
}

static json_t *parse_or_null(const char *text)
{
    return text != NULL ? json_loads(text, 0, NULL) : NULL;
}

/* A task this process did not create, as the store kept it, in memory. */
static struct mcp_task *materialize(struct mcp_server *server, const struct mcp_task_row *row)
{
    struct mcp_task *t = calloc(1, sizeof(*t));

    if (t == NULL)
        return NULL;
    snprintf(t->id, sizeof(t->id), "%s", row->id);
    t->server = server;
    t->owner = mcp_strdup(row->owner ? row->owner : "");
    t->tool = mcp_strdup(row->tool ? row->tool : "");
    t->modern = row->modern;
    t->status = status_of(row->status);
    t->message = mcp_strdup(row->message);
    t->created_ms = row->created_ms;
    t->updated_ms = row->updated_ms;
    t->ttl_ms = row->ttl_ms;
    t->poll_ms = row->poll_ms > 0 ? row->poll_ms : server->task_poll_ms;
    t->result = parse_or_null(row->result);
    t->error = parse_or_null(row->error);
    t->checkpoint = parse_or_null(row->checkpoint);
    t->refs = 1;
    t->listed = true;
    sz_list_init(&t->asks);
    sz_list_init(&t->waiters);
    sz_list_push_back(&server->tasks, &t->link);
    server->ntasks++;
    return t;
}

/* A task that was working when the server stopped: its tool picks it up from
 * its checkpoint, or it failed, and says why. */
static void revive(struct mcp_task *t)
{
    struct mcp_server *server = t->server;
    const struct mcp_tool_entry *e = mcp_find_tool(server, t->tool);
    struct mcp_session *host = NULL;
    struct mcp_call *call = NULL;
    json_t *id;
    char msg[512];

    if (e != NULL && e->tool->resume != NULL && json_is_object(t->checkpoint))
        host = mcp_task_host(server);
    if (host != NULL) {
        id = json_string(t->id);
        call = mcp_call_new(host, MCP_CALL_TOOL, id, NULL, 0);
        json_decref(id);
    }
    if (call != NULL) {
        call->name = mcp_strdup(t->tool);
        call->tool = e;
        call->args = json_incref(t->checkpoint);
        call->rc.modern = t->modern;
        call->task = t;
        t->call = call;
        t->refs++;
        t->nwaiting = 0;
        if (t->status == MCP_TASK_INPUT_REQUIRED)
            mcp_task_set_status(t, MCP_TASK_WORKING, NULL);
        SZ_INFO("task %s: %s resumed after a restart", t->id, t->tool);
        e->tool->resume(call, call->args);
        return;
    }
    snprintf(msg, sizeof(msg),
             "The server stopped while this task was running, and %s cannot pick its work up "
             "again: it was lost, and nothing it was making was kept. Call %s again.",
             t->tool, t->tool);
    t->error = json_pack("{s:i, s:s}", "code", MCP_INTERNAL_ERROR, "message", msg);
    mcp_task_set_status(t, MCP_TASK_FAILED, msg);
    SZ_INFO("task %s: %s failed: its work was lost when the server stopped", t->id, t->tool);
}

/* ---- the methods ------------------------------------------------------------------------------
 */

/* Whether the tasks methods exist for this request; sends the refusal if not. */
static bool tasks_available(struct mcp_session *s, const json_t *id, const char *method)
{
    if (!s->server->task_tools) {
        mcp_send_errorf(s, id, MCP_METHOD_NOT_FOUND, "Method not found: %s", method);
        return false;
    }
    if (s->cur.modern) {
        if (mcp_task_client_declared(&s->cur))
            return true;
        mcp_task_send_missing(s, id,
                              "Missing required client capability: the tasks methods need the "
                              "extension " MCP_TASKS_EXTENSION " in clientCapabilities");
        return false;
    }
    if (mcp_task_legacy_session(s))
        return true;
    mcp_send_errorf(s, id, MCP_METHOD_NOT_FOUND,
                    "Method not found: %s (tasks are part of MCP 2025-11-25)", method);
    return false;
}

static void lookup_cancelled(struct mcp_call *call, void *data)
{
    (void)data;
    mcp_call_reply_raw(call, NULL);
}

static void not_found(struct mcp_call *c)
{
    /* The same words for an id that never existed, one that expired and one of
     * another owner: nothing tells them apart (tasks.mdx, "Task Isolation"). */
    mcp_call_finish_error(c, MCP_INVALID_PARAMS,
                          "Failed to retrieve task: Task not found (unknown, expired, or not "
                          "yours): %s",
                          c->lookup);
}

/* A task visible to this call's client, in memory; NULL when none. */
static struct mcp_task *visible(struct mcp_call *c)
{
    struct mcp_task *t = mcp_task_find(c->session->server, c->lookup);

    if (t == NULL || strcmp(t->owner, c->session->owner) != 0 ||
        mcp_task_expired(t, mcp_task_now_ms()))
        return NULL;
    return t;
}

static void op_get(struct mcp_call *c, struct mcp_task *t)
{
    mcp_call_reply(c, mcp_task_json(t, c->rc.modern, true));
}

static void waiter_cancelled(struct mcp_call *call, void *data)
{
    (void)data;
    mcp_call_reply_raw(call, NULL); /* leaves task->waiters as it is freed */
}

static void op_result(struct mcp_call *c, struct mcp_task *t)
{
    if (mcp_task_terminal(t->status)) {
        mcp_task_answer_result(c, t);
        return;
    }
    /* tasks.mdx: tasks/result blocks until the task ends; meanwhile the task's
     * own messages (progress, elicitation) travel with this request. */
    c->task = t;
    sz_list_push_back(&t->waiters, &c->wait_link);
    mcp_call_on_cancel(c, waiter_cancelled, NULL);
}

static void op_cancel(struct mcp_call *c, struct mcp_task *t)
{
    bool modern = c->rc.modern;

    if (mcp_task_terminal(t->status)) {
        /* 2025-11-25 refuses; the extension acknowledges again (idempotent). */
        if (modern)
            mcp_call_reply(c, json_object());
        else
            mcp_call_finish_error(c, MCP_INVALID_PARAMS,
                                  "Cannot cancel task: already in terminal status '%s'",
                                  mcp_task_status_names[t->status]);
        return;
    }
    t->refs++;
    mcp_task_set_status(t, MCP_TASK_CANCELLED, "The task was cancelled by request.");
    SZ_INFO("task %s: %s cancelled by the client", t->id, t->tool);
    if (t->call != NULL) /* its tool stops, upstream too where it can; the task stays cancelled */
        mcp_call_cancel_for(t->call, MCP_CANCEL_TASK);
    mcp_call_reply(c, modern ? json_object() : mcp_task_json(t, false, false));
    mcp_task_unref(t);
}

static void op_update(struct mcp_call *c, struct mcp_task *t)
{
    json_t *responses = json_object_get(c->args, "inputResponses");

    if (!json_is_object(responses)) {
        mcp_call_finish_error(c, MCP_INVALID_PARAMS,
                              "Invalid params: 'inputResponses' must be an object mapping the "
                              "keys of the task's inputRequests to their results");
        return;
    }
    json_incref(responses);
    /* Acknowledged first: the answers take effect as they may (SEP-2663). */
    mcp_call_reply(c, json_object());
    if (!mcp_task_terminal(t->status))
        mcp_task_deliver(t, responses);
    json_decref(responses);
}

static void run_op(struct mcp_call *c, struct mcp_task *t)
{
    if (strcmp(c->method, "tasks/get") == 0)
        op_get(c, t);
    else if (strcmp(c->method, "tasks/result") == 0)
        op_result(c, t);
    else if (strcmp(c->method, "tasks/cancel") == 0)
        op_cancel(c, t);
    else
        op_update(c, t);
}

static void found(void *data, int err, const struct mcp_task_row *row)
{
    struct mcp_call *c = data;
    struct mcp_task *t;

    if (c->finished) { /* cancelled meanwhile */
        mcp_call_release(c);
        return;
    }
    mcp_call_release(c);
    if (err != 0) {
        mcp_call_finish_error(c, MCP_INTERNAL_ERROR, "Could not read the task store: %s",
                              sz_strerror(err));
        return;
    }
    t = visible(c); /* another request may have brought it in meanwhile */
    if (t == NULL && row != NULL && mcp_task_find(c->session->server, row->id) == NULL &&
        row->owner != NULL && strcmp(row->owner, c->session->owner) == 0 &&
        !(row->ttl_ms > 0 && mcp_task_now_ms() >= row->created_ms + row->ttl_ms)) {
        t = materialize(c->session->server, row);
        if (t != NULL && !mcp_task_terminal(t->status)) {
            t->refs++;
            revive(t);
            if (!t->listed) {
                mcp_task_unref(t);
                t = NULL;
            } else {
                mcp_task_unref(t);
            }
        }
    }
    if (t == NULL) {
        not_found(c);
        return;
    }
    run_op(c, t);
}

/* tasks/get, tasks/result, tasks/cancel, tasks/update: the task named by
 * params.taskId, in memory or in the store, for its owner only. */
static void handle_task_request(struct mcp_session *s, const json_t *id, json_t *params,
                                const char *method)
{
    const char *task_id = json_string_value(json_object_get(params, "taskId"));
    struct mcp_server *server = s->server;
    struct mcp_call *c;
    struct mcp_task *t;

    if (!tasks_available(s, id, method))
        return;
    if (task_id == NULL) {
        mcp_send_errorf(s, id, MCP_INVALID_PARAMS, "Invalid params: %s needs 'taskId' (a string)",
                        method);
        return;
    }
    mcp_tasks_maybe_purge(server);
    c = mcp_call_new(s, MCP_CALL_TASK_LOOKUP, id, params, 0);
    if (c == NULL) {
        mcp_send_error(s, id, MCP_INTERNAL_ERROR, "out of memory");
        return;
    }
    c->name = mcp_strdup(method);
    c->args = json_incref(params);
    c->lookup = mcp_strdup(task_id);
    mcp_call_on_cancel(c, lookup_cancelled, NULL);
    t = visible(c);
    if (t != NULL) {
        run_op(c, t);
        return;
    }
    /* Not in memory: a task of an earlier run, perhaps (never one this process
     * knows under another owner, nor one too long to be an id). */
    if (mcp_task_find(server, task_id) != NULL || strlen(task_id) > MCP_TASK_ID_MAX ||
        !server->have_store || server->store.find == NULL) {
        not_found(c);
        return;
    }
    mcp_call_hold(c);
    if (server->store.find(server->store.ctx, task_id, found, c) != 0) {
        mcp_call_release(c);
        mcp_call_finish_error(c, MCP_INTERNAL_ERROR, "Could not read the task store");
    }
}

void mcp_handle_tasks_get(struct mcp_session *s, const json_t *id, json_t *params)
{
    handle_task_request(s, id, params, "tasks/get");
}

void mcp_handle_tasks_result(struct mcp_session *s, const json_t *id, json_t *params)
{
    handle_task_request(s, id, params, "tasks/result");
}

void mcp_handle_tasks_cancel(struct mcp_session *s, const json_t *id, json_t *params)
{
    handle_task_request(s, id, params, "tasks/cancel");
}

void mcp_handle_tasks_update(struct mcp_session *s, const json_t *id, json_t *params)
{
    handle_task_request(s, id, params, "tasks/update");
}

void mcp_handle_tasks_list(struct mcp_session *s, const json_t *id, json_t *params)
{
    json_t *cursor = json_object_get(params, "cursor");
    json_t *tasks, *result;
    size_t offset = 0, index = 0, page = s->server->page_size;
    int64_t now = mcp_task_now_ms();
    struct sz_link *pos;
    const char *text;
    char *end;

    if (!tasks_available(s, id, "tasks/list"))
        return;
    if (cursor != NULL && !json_is_null(cursor)) {
        text = json_string_value(cursor);
        if (text == NULL || text[0] != 't' || text[1] < '0' || text[1] > '9') {
            mcp_send_error(s, id, MCP_INVALID_PARAMS, "Invalid cursor");
            return;
        }
        offset = (size_t)strtoull(text + 1, &end, 10);
        if (*end != '\0') {
            mcp_send_error(s, id, MCP_INVALID_PARAMS, "Invalid cursor");
            return;
        }
    }
    mcp_tasks_maybe_purge(s->server);
    tasks = json_array();
    result = json_object();
    SZ_LIST_FOREACH(pos, &s->server->tasks)
    {
        struct mcp_task *t = container_of(pos, struct mcp_task, link);
        if (strcmp(t->owner, s->owner) != 0 || mcp_task_expired(t, now))
            continue;
        if (index >= offset && json_array_size(tasks) < page) {
            json_array_append_new(tasks, mcp_task_json(t, false, false));
        } else if (index >= offset) {
            char next[32];
            snprintf(next, sizeof(next), "t%zu", index);
            json_object_set_new(result, "nextCursor", json_string(next));
            break;
        }
        index++;
    }
    json_object_set_new(result, "tasks", tasks);
    mcp_reply(s, id, result, MCP_CACHE_NONE);
}
