/* The CLI's client of the engine: an in-process "transport". It opens an
 * mcp_session on the server, hands it JSON-RPC messages as a transport would
 * (mcp_session_handle_json) and receives what the engine sends through the
 * session's send function.
 *
 * Replies are not acted on inside the send function: the engine may be in the
 * middle of handling a message (a refusal is sent before handle returns), so
 * received messages are queued and delivered from a uv_idle on the next turn
 * of the loop, where the reply's function may send the next request freely. */
#include "fmacros.h"

#include "cli/cli_int.h"
#include "core/err.h"
#include "core/log.h"
#include "mcp/server.h"

#include <stdlib.h>
#include <string.h>

struct pending {
    struct sz_link link;
    long long id;
    cli_reply_fn *fn;
    void *data;
};

struct cli_rpc {
    uv_loop_t *loop;
    struct mcp_session *session;
    uv_idle_t idle;
    json_t *inbox; /* messages received, not yet delivered */
    struct sz_link pending;
    long long next_id;
    cli_progress_fn *on_progress;
    void *data;
    bool closing;
    cli_rpc_done_fn *done;
    void *done_data;
};

static void on_idle(uv_idle_t *idle);

static void on_send(void *ctx, const char *msg, size_t len, const json_t *related_id, bool final)
{
    struct cli_rpc *rpc = ctx;
    json_error_t jerr;
    json_t *m = json_loadb(msg, len, 0, &jerr);

    (void)related_id;
    (void) final;
    if (m == NULL) {
        SZ_ERROR("cli: the engine sent what is not JSON: %s", jerr.text);
        return;
    }
    json_array_append_new(rpc->inbox, m);
    uv_idle_start(&rpc->idle, on_idle);
}

static struct pending *take_pending(struct cli_rpc *rpc, long long id)
{
    struct sz_link *pos;

    SZ_LIST_FOREACH(pos, &rpc->pending)
    {
        struct pending *p = container_of(pos, struct pending, link);
        if (p->id == id) {
            sz_list_remove(pos);
            return p;
        }
    }
    return NULL;
}

/* A request of the server to us (elicitation, sampling, roots): we declared
 * no capability, so none should come; answer it rather than leave it hanging. */
static void refuse_request(struct cli_rpc *rpc, const json_t *id)
{
    json_t *reply =
        json_pack("{s:s, s:O, s:{s:i, s:s}}", "jsonrpc", "2.0", "id", cli_mut(id), "error", "code",
                  MCP_METHOD_NOT_FOUND, "message", "the sanzaru command line answers no requests");
    if (reply != NULL)
        mcp_session_handle_json(rpc->session, reply);
    json_decref(reply);
}

static void deliver(struct cli_rpc *rpc, const json_t *m)
{
    const json_t *id = json_object_get(m, "id");
    const char *method = json_string_value(json_object_get(m, "method"));

    if (method != NULL && id != NULL) {
        refuse_request(rpc, id);
    } else if (method != NULL) {
        const json_t *params = json_object_get(m, "params");
        if (strcmp(method, "notifications/progress") == 0 && rpc->on_progress != NULL &&
            json_is_integer(json_object_get(params, "progressToken")))
            rpc->on_progress(rpc->data,
                             json_integer_value(json_object_get(params, "progressToken")),
                             json_number_value(json_object_get(params, "progress")),
                             json_number_value(json_object_get(params, "total")));
        /* Log notifications and list_changed announcements are not for us. */
    } else if (json_is_integer(id)) {
        struct pending *p = take_pending(rpc, json_integer_value(id));
        if (p != NULL) {
            p->fn(p->data, json_object_get(m, "result"), json_object_get(m, "error"));
            free(p);
        }
    }
}

static void on_idle(uv_idle_t *idle)
{
    struct cli_rpc *rpc = idle->data;
    json_t *batch = rpc->inbox;
    size_t i;
    json_t *m;

    rpc->inbox = json_array();
    uv_idle_stop(idle);
    json_array_foreach(batch, i, m)
    {
        if (rpc->closing)
            break;
        deliver(rpc, m);
    }
    json_decref(batch);
}

int cli_rpc_new(uv_loop_t *loop, struct mcp_server *server, cli_progress_fn *on_progress,
                void *data, struct cli_rpc **prpc)
{
    struct cli_rpc *rpc = calloc(1, sizeof(*rpc));

    *prpc = NULL;
    if (rpc == NULL)
        return SZ_ENOMEM;
    rpc->loop = loop;
    rpc->inbox = json_array();
    rpc->session = mcp_session_new(server, on_send, rpc);
    if (rpc->inbox == NULL || rpc->session == NULL) {
        json_decref(rpc->inbox);
        if (rpc->session != NULL)
            mcp_session_close(rpc->session, NULL);
        free(rpc);
        return SZ_ENOMEM;
    }
    sz_list_init(&rpc->pending);
    rpc->next_id = 1;
    rpc->on_progress = on_progress;
    rpc->data = data;
    uv_idle_init(loop, &rpc->idle);
    rpc->idle.data = rpc;
    *prpc = rpc;
    return 0;
}

long long cli_rpc_call(struct cli_rpc *rpc, const char *method, json_t *params, cli_reply_fn *fn,
                       void *data)
{
    struct pending *p = NULL;
    long long id = rpc->next_id++;
    json_t *m = NULL;

    if (rpc->closing || params == NULL || (p = calloc(1, sizeof(*p))) == NULL ||
        (m = json_pack("{s:s, s:I, s:s}", "jsonrpc", "2.0", "id", (json_int_t)id, "method",
                       method)) == NULL) {
        free(p);
        json_decref(params);
        return 0;
    }
    if (strcmp(method, "tools/call") == 0)
        json_object_set_new(params, "_meta", json_pack("{s:I}", "progressToken", (json_int_t)id));
    json_object_set_new(m, "params", params);
    p->id = id;
    p->fn = fn;
    p->data = data;
    sz_list_push_back(&rpc->pending, &p->link);
    mcp_session_handle_json(rpc->session, m);
    json_decref(m);
    return id;
}

void cli_rpc_notify(struct cli_rpc *rpc, const char *method, json_t *params)
{
    json_t *m = json_pack("{s:s, s:s}", "jsonrpc", "2.0", "method", method);

    if (m != NULL && params != NULL)
        json_object_set(m, "params", params);
    json_decref(params);
    if (m != NULL && !rpc->closing)
        mcp_session_handle_json(rpc->session, m);
    json_decref(m);
}

static void on_idle_closed(uv_handle_t *h)
{
    struct cli_rpc *rpc = h->data;
    cli_rpc_done_fn *done = rpc->done;
    void *data = rpc->done_data;

    json_decref(rpc->inbox);
    free(rpc);
    if (done != NULL)
        done(data);
}

static void on_session_idle(void *ctx)
{
    struct cli_rpc *rpc = ctx;
    struct sz_link *pos, *tmp;

    SZ_LIST_FOREACH_SAFE(pos, tmp, &rpc->pending)
    {
        sz_list_remove(pos);
        free(container_of(pos, struct pending, link));
    }
    rpc->session = NULL;
    uv_close((uv_handle_t *)&rpc->idle, on_idle_closed);
}

void cli_rpc_close(struct cli_rpc *rpc, cli_rpc_done_fn *done, void *data)
{
    rpc->closing = true;
    rpc->done = done;
    rpc->done_data = data;
    uv_idle_stop(&rpc->idle);
    mcp_session_close(rpc->session, on_session_idle);
}
