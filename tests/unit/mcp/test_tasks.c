/* Tasks across a restart (src/mcp/tasks.c, task_methods.c), with a task store in memory
 * that answers on the loop like the state database does: every task is saved when it is
 * created, when its status changes and when its tool records a checkpoint; a server that
 * stops (mcp_server_close_tasks) leaves its working tasks as they were; a new server on
 * the same store finds them for their owner only, resumes the one whose tool can resume
 * from its checkpoint, fails the one whose work was lost with a sentence that says so,
 * serves a finished one's result, and forgets an expired one. */
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
#include "mcp/server.h"

/* ---- a store in memory, answering from the loop's next turn ---------------------------- */

struct fstore {
    uv_loop_t *loop;
    json_t *rows; /* id -> the row as JSON */
    unsigned saves, purges, removes;
};

struct fop {
    uv_timer_t timer;
    struct fstore *st;
    mcp_task_saved_fn *saved;
    mcp_task_found_fn *found;
    void *data;
    char id[80];
};

static void fop_closed(uv_handle_t *h)
{
    free(h->data);
}

static const char *str(const json_t *row, const char *key)
{
    return json_string_value(json_object_get(row, key));
}

static void fop_fire(uv_timer_t *t)
{
    struct fop *op = t->data;

    if (op->saved != NULL) {
        op->saved(op->data, 0);
    } else {
        const json_t *r = json_object_get(op->st->rows, op->id);
        struct mcp_task_row row;
        if (r == NULL) {
            op->found(op->data, 0, NULL);
        } else {
            row = (struct mcp_task_row){
                .id = str(r, "id"),
                .owner = str(r, "owner"),
                .tool = str(r, "tool"),
                .modern = json_is_true(json_object_get(r, "modern")),
                .status = str(r, "status"),
                .message = str(r, "message"),
                .created_ms = json_integer_value(json_object_get(r, "created_ms")),
                .updated_ms = json_integer_value(json_object_get(r, "updated_ms")),
                .ttl_ms = json_integer_value(json_object_get(r, "ttl_ms")),
                .poll_ms = json_integer_value(json_object_get(r, "poll_ms")),
                .result = str(r, "result"),
                .error = str(r, "error"),
                .checkpoint = str(r, "checkpoint"),
            };
            op->found(op->data, 0, &row);
        }
    }
    uv_close((uv_handle_t *)t, fop_closed);
}

static struct fop *fop_new(struct fstore *st, void *data)
{
    struct fop *op = calloc(1, sizeof(*op));
    assert_non_null(op);
    op->st = st;
    op->data = data;
    uv_timer_init(st->loop, &op->timer);
    op->timer.data = op;
    uv_timer_start(&op->timer, fop_fire, 0, 0);
    return op;
}

static int fsave(void *ctx, const struct mcp_task_row *r, mcp_task_saved_fn *done, void *data)
{
    struct fstore *st = ctx;
    json_t *row = json_pack("{s:s, s:s, s:s, s:b, s:s, s:s?, s:I, s:I, s:I, s:I, s:s?, s:s?, s:s?}",
                            "id", r->id, "owner", r->owner, "tool", r->tool, "modern", r->modern,
                            "status", r->status, "message", r->message, "created_ms",
                            (json_int_t)r->created_ms, "updated_ms", (json_int_t)r->updated_ms,
                            "ttl_ms", (json_int_t)r->ttl_ms, "poll_ms", (json_int_t)r->poll_ms,
                            "result", r->result, "error", r->error, "checkpoint", r->checkpoint);

    assert_non_null(row);
    json_object_set_new(st->rows, r->id, row);
    st->saves++;
    fop_new(st, data)->saved = done;
    return 0;
}

static int ffind(void *ctx, const char *id, mcp_task_found_fn *cb, void *data)
{
    struct fop *op = fop_new(ctx, data);
    op->found = cb;
    snprintf(op->id, sizeof(op->id), "%s", id);
    return 0;
}

static int fremove(void *ctx, const char *id)
{
    struct fstore *st = ctx;
    json_object_del(st->rows, id);
    st->removes++;
    return 0;
}

static int fpurge(void *ctx, int64_t now_ms)
{
    struct fstore *st = ctx;
    (void)now_ms;
    st->purges++;
    return 0;
}

/* ---- tools: one that resumes from its checkpoint, one that cannot ------------------------ */

struct wait {
    uv_timer_t timer;
    struct mcp_call *call;
    long long n;
};

static void wait_closed(uv_handle_t *h)
{
    free(h->data);
}

static void wait_fire(uv_timer_t *t)
{
    struct wait *w = t->data;
    /* First step: the task exists; record how to pick this up again. Then wait long. */
    if (w->n >= 0) {
        mcp_call_task_checkpoint(w->call, json_pack("{s:I}", "n", (json_int_t)w->n));
        w->n = -1;
        uv_timer_start(&w->timer, wait_fire, 60000, 0);
        return;
    }
    uv_close((uv_handle_t *)t, wait_closed);
    mcp_call_finish(w->call, json_pack("{s:s}", "outcome", "waited"));
}

static void wait_cancel(struct mcp_call *call, void *data)
{
    struct wait *w = data;
    uv_timer_stop(&w->timer);
    uv_close((uv_handle_t *)&w->timer, wait_closed);
    mcp_call_fail(call, "stopped");
}

struct n_args {
    long long n;
};

static void wait_start(struct mcp_call *call, const void *args)
{
    const struct n_args *a = args;
    struct wait *w = calloc(1, sizeof(*w));

    assert_non_null(w);
    w->call = call;
    w->n = a->n;
    uv_timer_init(mcp_call_loop(call), &w->timer);
    w->timer.data = w;
    mcp_call_on_cancel(call, wait_cancel, w);
    uv_timer_start(&w->timer, wait_fire, 1, 0);
}

static void wait_resume(struct mcp_call *call, const json_t *checkpoint)
{
    mcp_call_finish(
        call, json_pack("{s:s, s:O}", "outcome", "resumed", "n", json_object_get(checkpoint, "n")));
}

static const struct mcp_arg n_rows[] = {
    {.name = "n", .type = MCP_ARG_INT, .off = offsetof(struct n_args, n), MCP_DEFAULT_INT(1)},
};

static const struct mcp_tool tools[] = {
    {.name = "resumable",
     MCP_ARGS(struct n_args, n_rows),
     .task_support = MCP_TASK_OPTIONAL,
     .start = wait_start,
     .resume = wait_resume},
    {.name = "fragile",
     MCP_ARGS(struct n_args, n_rows),
     .task_support = MCP_TASK_OPTIONAL,
     .start = wait_start},
};

/* ---- a client: one modern request at a time ---------------------------------------------- */

struct client {
    uv_loop_t *loop;
    struct mcp_session *s;
    json_t *got; /* every message received */
    int idle;
};

static void on_send(void *ctx, const char *msg, size_t len, const json_t *rid, bool final)
{
    struct client *c = ctx;
    (void)rid;
    (void) final;
    json_array_append_new(c->got, json_loadb(msg, len, 0, NULL));
}

static void on_idle(void *ctx)
{
    struct client *c = ctx;
    c->idle = 1;
}

static json_int_t next_id = 1;

/* Sends method with params (stolen; the modern envelope with the tasks extension is
 * added) and returns the reply (owned). */
static json_t *call(struct client *c, const char *method, json_t *params)
{
    json_int_t id = next_id++;
    json_t *msg = json_pack("{s:s, s:I, s:s, s:o}", "jsonrpc", "2.0", "id", id, "method", method,
                            "params", params);
    uint64_t deadline;

    json_object_set_new(params, "_meta",
                        json_pack("{s:s, s:{s:{s:{}}}}", "io.modelcontextprotocol/protocolVersion",
                                  "2026-07-28", "io.modelcontextprotocol/clientCapabilities",
                                  "extensions", MCP_TASKS_EXTENSION));
    mcp_session_handle_json(c->s, msg);
    json_decref(msg);
    deadline = uv_now(c->loop) + 3000;
    for (;;) {
        size_t i;
        json_t *m;
        json_array_foreach(c->got, i, m)
        {
            if (json_integer_value(json_object_get(m, "id")) == id) {
                json_incref(m);
                json_array_remove(c->got, i);
                return m;
            }
        }
        if (uv_now(c->loop) > deadline)
            fail_msg("no reply to %s", method);
        uv_run(c->loop, UV_RUN_ONCE);
    }
}

static void run_for(uv_loop_t *loop, uint64_t ms)
{
    uint64_t end = uv_now(loop) + ms;
    while (uv_now(loop) < end) {
        uv_run(loop, UV_RUN_NOWAIT);
        uv_sleep(1);
        uv_update_time(loop);
    }
}

static json_t *task_get(struct client *c, const char *id)
{
    return call(c, "tasks/get", json_pack("{s:s}", "taskId", id));
}

static struct client *client_new(uv_loop_t *loop, struct mcp_server *server, const char *owner)
{
    struct client *c = calloc(1, sizeof(*c));
    assert_non_null(c);
    c->loop = loop;
    c->got = json_array();
    c->s = mcp_session_new(server, on_send, c);
    mcp_session_set_owner(c->s, owner);
    return c;
}

static void client_free(struct client *c)
{
    mcp_session_close(c->s, on_idle);
    uv_run(c->loop, UV_RUN_NOWAIT);
    json_decref(c->got);
    free(c);
}

static struct mcp_server *server_new(uv_loop_t *loop, struct fstore *st)
{
    const struct mcp_task_store store = {fsave, ffind, fremove, fpurge, st};
    struct mcp_server *server = mcp_server_new(loop, "t", "0", NULL);

    for (size_t i = 0; i < sizeof(tools) / sizeof(tools[0]); i++)
        assert_int_equal(mcp_server_add_tool(server, &tools[i]), 0);
    mcp_server_set_task_store(server, &store);
    return server;
}

static void closed(void *data)
{
    (*(int *)data)++;
}

static void stop_server(uv_loop_t *loop, struct mcp_server *server)
{
    int done = 0;
    mcp_server_close_tasks(server, closed, &done);
    uv_run(loop, UV_RUN_DEFAULT);
    assert_int_equal(done, 1);
    mcp_server_free(server);
}

static const char *field(const json_t *reply, const char *key)
{
    return json_string_value(json_object_get(json_object_get(reply, "result"), key));
}

/* ---- the test -------------------------------------------------------------------------------- */

static void test_restart(void **state)
{
    uv_loop_t loop;
    struct fstore st = {.loop = &loop, .rows = json_object()};
    struct mcp_server *server;
    struct client *c, *other;
    json_t *r, *row;
    char resumable[80], fragile[80];
    (void)state;

    uv_loop_init(&loop);
    server = server_new(&loop, &st);
    c = client_new(&loop, server, "bearer:abc");

    /* Two tasks; the CreateTaskResult comes once the task is saved. */
    r = call(c, "tools/call",
             json_pack("{s:s, s:{s:i}}", "name", "resumable", "arguments", "n", 7));
    assert_string_equal(field(r, "resultType"), "task");
    snprintf(resumable, sizeof(resumable), "%s", field(r, "taskId"));
    assert_non_null(json_object_get(st.rows, resumable));
    json_decref(r);
    r = call(c, "tools/call", json_pack("{s:s, s:{}}", "name", "fragile", "arguments"));
    snprintf(fragile, sizeof(fragile), "%s", field(r, "taskId"));
    json_decref(r);
    run_for(&loop, 30); /* the tools record their checkpoints */
    row = json_object_get(st.rows, resumable);
    assert_string_equal(str(row, "status"), "working");
    assert_string_equal(str(row, "owner"), "bearer:abc");
    assert_string_equal(str(row, "checkpoint"), "{\"n\":7}");

    /* The server stops: its working tasks stay as they were in the store. */
    client_free(c);
    stop_server(&loop, server);
    assert_string_equal(str(json_object_get(st.rows, resumable), "status"), "working");
    assert_string_equal(str(json_object_get(st.rows, fragile), "status"), "working");

    /* A new server on the same store. Another owner sees nothing. */
    server = server_new(&loop, &st);
    other = client_new(&loop, server, "bearer:someone-else");
    r = task_get(other, resumable);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(r, "error"), "code")),
                     MCP_INVALID_PARAMS);
    json_decref(r);
    client_free(other);

    /* Its owner: the resumable task is picked up from its checkpoint and completes... */
    c = client_new(&loop, server, "bearer:abc");
    r = task_get(c, resumable);
    assert_string_equal(field(r, "status"), "completed");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_object_get(json_object_get(r, "result"), "result"),
                                            "structuredContent"),
                            "outcome")),
                        "resumed");
    json_decref(r);
    assert_string_equal(str(json_object_get(st.rows, resumable), "status"), "completed");

    /* ...the one whose work was lost failed, and says why; asking again says the same. */
    for (int i = 0; i < 2; i++) {
        r = task_get(c, fragile);
        assert_string_equal(field(r, "status"), "failed");
        assert_non_null(strstr(field(r, "statusMessage"), "The server stopped while this task"));
        assert_int_equal(json_integer_value(json_object_get(
                             json_object_get(json_object_get(r, "result"), "error"), "code")),
                         MCP_INTERNAL_ERROR);
        json_decref(r);
    }
    assert_string_equal(str(json_object_get(st.rows, fragile), "status"), "failed");

    /* A task whose TTL ended is not found, even though the store still has its row. */
    row = json_deep_copy(json_object_get(st.rows, fragile));
    json_object_set_new(row, "id", json_string("expired-task"));
    json_object_set_new(row, "created_ms", json_integer(1000));
    json_object_set_new(st.rows, "expired-task", row);
    r = task_get(c, "expired-task");
    assert_non_null(json_object_get(r, "error"));
    json_decref(r);
    assert_true(st.purges >= 1); /* expired tasks are purged from the store */

    client_free(c);
    stop_server(&loop, server);
    assert_int_equal(uv_loop_close(&loop), 0);
    json_decref(st.rows);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_restart),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
