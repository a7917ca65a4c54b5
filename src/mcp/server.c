/* The MCP protocol engine behind server.h: JSON-RPC framing rules, the session
 * lifecycle, dispatch of every method, calls as objects with a lifetime, and
 * the table of server-to-client requests waiting for an answer.
 *
 * Ownership in brief: a session holds its calls in a list; a call holds a
 * reference on its session (a session is freed only when the transport closed
 * it and no call or timer remains). Calls are freed by the finish functions. */
#include "fmacros.h"

#include "mcp/server.h"
#include "mcp/schema.h"
#include "core/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROGRESS_INTERVAL_MS       50
#define DEFAULT_PAGE_SIZE          100
#define DEFAULT_REQUEST_TIMEOUT_MS 60000

static const char *const supported_versions[] = {"2025-11-25", "2025-06-18", "2025-03-26",
                                                 "2024-11-05"};

/* MCP's syslog-style levels, lowest first. */
static const char *const mcp_levels[] = {"debug", "info",     "notice", "warning",
                                         "error", "critical", "alert",  "emergency"};

struct tool_entry {
    const struct mcp_tool *tool;
    json_t *input_schema;
    json_t *output_schema;
};

struct mcp_server {
    uv_loop_t *loop;
    char *name;
    char *version;
    char *instructions;
    struct tool_entry *tools;
    size_t ntools;
    const struct mcp_resource_provider **resources;
    size_t nresources;
    const struct mcp_prompt **prompts;
    size_t nprompts;
    size_t page_size;
    struct mcp_session *sessions; /* every open session, for resource updates */
};

enum call_kind {
    CALL_TOOL,
    CALL_RESOURCES_LIST,
    CALL_RESOURCE_READ,
    CALL_PROMPT_GET,
    CALL_COMPLETE,
};

struct pending_request;

struct mcp_call {
    struct mcp_call *prev, *next;
    struct mcp_session *session;
    enum call_kind kind;
    json_t *id;             /* the client's request id */
    json_t *progress_token; /* NULL when the client asked for no progress */
    json_t *args;           /* tool or prompt arguments */
    char *name;
    char *uri;
    const struct tool_entry *tool;
    mcp_cancel_fn *cancel_fn;
    void *cancel_data;
    void *data;
    bool cancelled;
    bool finished;  /* replied (or dropped); the struct lingers while held */
    unsigned holds; /* engine frames still using the struct */
    bool have_progress;
    double last_progress;
    uint64_t last_progress_ms;
    json_t *extra_content;
    /* resources/list gathers every provider's items before paging them. */
    size_t provider_index;
    size_t list_offset;
    json_t *list_items;
};

struct pending_request {
    struct pending_request *prev, *next;
    struct mcp_session *session;
    struct mcp_call *call;
    json_int_t id;
    mcp_response_fn *fn;
    void *data;
    uv_timer_t timer;
};

struct mcp_session {
    struct mcp_session *prev_session, *next_session;
    struct mcp_server *server;
    mcp_send_fn *send;
    void *ctx;
    bool initialized;
    bool stateless;
    bool closing;
    char protocol_version[16];
    json_t *client_capabilities;
    json_t *subscriptions; /* resources/subscribe URIs, as object keys */
    int log_threshold;     /* index into mcp_levels */
    struct mcp_call *calls;
    size_t ncalls;
    struct pending_request *pending;
    json_int_t next_request_id;
    unsigned refs;
    mcp_session_idle_fn *on_idle;
};

/* ---- helpers ------------------------------------------------------------ */

static char *xstrdup(const char *s)
{
    char *d = s ? strdup(s) : NULL;
    if (s != NULL && d == NULL)
        abort(); /* allocation of a few bytes failed: nothing sensible remains */
    return d;
}

static void session_unref(struct mcp_session *s);
static void send_notification(struct mcp_session *s, const char *method, json_t *params,
                              const json_t *related_id);

static void send_json(struct mcp_session *s, json_t *msg, const json_t *related_id, bool final)
{
    char *text;

    if (s->send == NULL)
        goto out;
    text = json_dumps(msg, JSON_COMPACT);
    if (text == NULL) {
        SZ_ERROR("could not serialise an outgoing message");
        goto out;
    }
    s->send(s->ctx, text, strlen(text), related_id, final);
    free(text);
out:
    json_decref(msg);
}

static void send_result(struct mcp_session *s, const json_t *id, json_t *result)
{
    json_t *msg = json_pack("{s:s, s:O, s:o}", "jsonrpc", "2.0", "id", id, "result", result);
    send_json(s, msg, id, true);
}

static void send_error(struct mcp_session *s, const json_t *id, int code, const char *message)
{
    json_t *msg = json_pack("{s:s, s:O, s:{s:i, s:s}}", "jsonrpc", "2.0", "id",
                            id ? id : json_null(), "error", "code", code, "message", message);
    send_json(s, msg, id, true);
}

static void send_errorf(struct mcp_session *s, const json_t *id, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void send_errorf(struct mcp_session *s, const json_t *id, int code, const char *fmt, ...)
{
    char message[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    send_error(s, id, code, message);
}

static int level_index(enum sz_log_level level)
{
    switch (level) {
    case SZ_LOG_DEBUG:
        return 0;
    case SZ_LOG_INFO:
        return 1;
    case SZ_LOG_WARNING:
        return 3;
    default:
        return 4;
    }
}

/* Decodes an opaque cursor ("c" + decimal offset); 0 and sets *poffset, or -1. */
static int parse_cursor(const json_t *params, size_t *poffset)
{
    json_t *cursor = json_object_get(params, "cursor");
    const char *text;
    char *end = NULL;
    unsigned long long n;

    *poffset = 0;
    if (cursor == NULL || json_is_null(cursor))
        return 0;
    text = json_string_value(cursor);
    if (text == NULL || text[0] != 'c' || text[1] < '0' || text[1] > '9')
        return -1;
    n = strtoull(text + 1, &end, 10);
    if (*end != '\0')
        return -1;
    *poffset = (size_t)n;
    return 0;
}

/* Puts items[offset .. offset+page) under key, with nextCursor when more remain. */
static json_t *page_of(json_t *items, const char *key, size_t offset, size_t page)
{
    json_t *result = json_object();
    json_t *slice = json_array();
    size_t n = json_array_size(items);

    for (size_t i = offset; i < n && i < offset + page; i++)
        json_array_append(slice, json_array_get(items, i));
    json_object_set_new(result, key, slice);
    if (offset + page < n) {
        char next[32];
        snprintf(next, sizeof(next), "c%zu", offset + page);
        json_object_set_new(result, "nextCursor", json_string(next));
    }
    return result;
}

/* ---- server ------------------------------------------------------------- */

struct mcp_server *mcp_server_new(uv_loop_t *loop, const char *name, const char *version,
                                  const char *instructions)
{
    struct mcp_server *server = calloc(1, sizeof(*server));
    if (server == NULL)
        return NULL;
    server->loop = loop;
    server->name = xstrdup(name);
    server->version = xstrdup(version);
    server->instructions = xstrdup(instructions);
    server->page_size = DEFAULT_PAGE_SIZE;
    return server;
}

void mcp_server_free(struct mcp_server *server)
{
    if (server == NULL)
        return;
    for (size_t i = 0; i < server->ntools; i++) {
        json_decref(server->tools[i].input_schema);
        json_decref(server->tools[i].output_schema);
    }
    free(server->tools);
    free(server->resources);
    free(server->prompts);
    free(server->name);
    free(server->version);
    free(server->instructions);
    free(server);
}

uv_loop_t *mcp_server_loop(struct mcp_server *server)
{
    return server->loop;
}

void mcp_server_set_page_size(struct mcp_server *server, size_t page_size)
{
    server->page_size = page_size > 0 ? page_size : DEFAULT_PAGE_SIZE;
}

static json_t *load_schema(const char *tool, const char *which, const char *text)
{
    json_error_t jerr;
    char msg[256];
    json_t *schema = json_loads(text, 0, &jerr);

    if (schema == NULL) {
        SZ_ERROR("tool %s: %s is not valid JSON: %s (line %d)", tool, which, jerr.text, jerr.line);
        return NULL;
    }
    if (mcp_schema_check(schema, msg, sizeof(msg)) != 0) {
        SZ_ERROR("tool %s: %s: %s", tool, which, msg);
        json_decref(schema);
        return NULL;
    }
    return schema;
}

int mcp_server_add_tool(struct mcp_server *server, const struct mcp_tool *tool)
{
    struct tool_entry entry = {.tool = tool};
    struct tool_entry *grown;

    entry.input_schema = load_schema(tool->name, "inputSchema", tool->input_schema);
    if (entry.input_schema == NULL)
        return SZ_EINVAL;
    if (tool->output_schema != NULL) {
        entry.output_schema = load_schema(tool->name, "outputSchema", tool->output_schema);
        if (entry.output_schema == NULL) {
            json_decref(entry.input_schema);
            return SZ_EINVAL;
        }
    }
    grown = realloc(server->tools, (server->ntools + 1) * sizeof(*grown));
    if (grown == NULL) {
        json_decref(entry.input_schema);
        json_decref(entry.output_schema);
        return SZ_ENOMEM;
    }
    server->tools = grown;
    server->tools[server->ntools++] = entry;
    return 0;
}

int mcp_server_add_resource(struct mcp_server *server, const struct mcp_resource_provider *prov)
{
    const struct mcp_resource_provider **grown =
        realloc(server->resources, (server->nresources + 1) * sizeof(*grown));
    if (grown == NULL)
        return SZ_ENOMEM;
    server->resources = grown;
    server->resources[server->nresources++] = prov;
    return 0;
}

int mcp_server_add_prompt(struct mcp_server *server, const struct mcp_prompt *prompt)
{
    const struct mcp_prompt **grown =
        realloc(server->prompts, (server->nprompts + 1) * sizeof(*grown));
    if (grown == NULL)
        return SZ_ENOMEM;
    server->prompts = grown;
    server->prompts[server->nprompts++] = prompt;
    return 0;
}

static const struct tool_entry *find_tool(const struct mcp_server *server, const char *name)
{
    for (size_t i = 0; i < server->ntools; i++)
        if (strcmp(server->tools[i].tool->name, name) == 0)
            return &server->tools[i];
    return NULL;
}

static json_t *tool_listing(const struct tool_entry *e)
{
    const struct mcp_tool *t = e->tool;
    json_t *annotations = json_object();
    json_t *item = json_object();

    json_object_set_new(item, "name", json_string(t->name));
    if (t->title)
        json_object_set_new(item, "title", json_string(t->title));
    if (t->description)
        json_object_set_new(item, "description", json_string(t->description));
    json_object_set(item, "inputSchema", e->input_schema);
    if (e->output_schema)
        json_object_set(item, "outputSchema", e->output_schema);
    if (t->title)
        json_object_set_new(annotations, "title", json_string(t->title));
    json_object_set_new(annotations, "readOnlyHint", json_boolean(t->annotations & MCP_READ_ONLY));
    if (!(t->annotations & MCP_READ_ONLY)) {
        json_object_set_new(annotations, "destructiveHint",
                            json_boolean(t->annotations & MCP_DESTRUCTIVE));
        json_object_set_new(annotations, "idempotentHint",
                            json_boolean(t->annotations & MCP_IDEMPOTENT));
    }
    json_object_set_new(annotations, "openWorldHint",
                        json_boolean(t->annotations & MCP_OPEN_WORLD));
    json_object_set_new(item, "annotations", annotations);
    return item;
}

/* ---- sessions ----------------------------------------------------------- */

struct mcp_session *mcp_session_new(struct mcp_server *server, mcp_send_fn *send, void *ctx)
{
    struct mcp_session *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->server = server;
    s->send = send;
    s->ctx = ctx;
    s->log_threshold = 1; /* info */
    s->next_request_id = 1;
    s->refs = 1;
    s->subscriptions = json_object();
    s->next_session = server->sessions;
    if (server->sessions)
        server->sessions->prev_session = s;
    server->sessions = s;
    return s;
}

bool mcp_protocol_version_supported(const char *version)
{
    for (size_t i = 0; version && i < sizeof(supported_versions) / sizeof(supported_versions[0]);
         i++)
        if (strcmp(version, supported_versions[i]) == 0)
            return true;
    return false;
}

void mcp_server_resource_updated(struct mcp_server *server, const char *uri)
{
    for (struct mcp_session *s = server->sessions; s != NULL; s = s->next_session)
        if (!s->closing && json_object_get(s->subscriptions, uri) != NULL)
            send_notification(s, "notifications/resources/updated", json_pack("{s:s}", "uri", uri),
                              NULL);
}

void mcp_session_set_stateless(struct mcp_session *s, const char *protocol_version)
{
    s->stateless = true;
    s->initialized = true;
    snprintf(s->protocol_version, sizeof(s->protocol_version), "%s",
             protocol_version ? protocol_version : supported_versions[0]);
}

const char *mcp_session_protocol_version(const struct mcp_session *s)
{
    return s->protocol_version[0] ? s->protocol_version : NULL;
}

bool mcp_session_initialized(const struct mcp_session *s)
{
    return s->initialized;
}

size_t mcp_session_calls_in_flight(const struct mcp_session *s)
{
    return s->ncalls;
}

const json_t *mcp_session_client_capabilities(const struct mcp_session *s)
{
    return s->client_capabilities;
}

static void session_free(struct mcp_session *s)
{
    json_decref(s->client_capabilities);
    json_decref(s->subscriptions);
    free(s);
}

/* noinline: GCC 12's -Wuse-after-free misreads a refcount drop inlined twice
 * into one caller as a use of freed memory. */
__attribute__((noinline)) static void session_unref(struct mcp_session *s)
{
    if (--s->refs == 0)
        session_free(s);
}

/* Runs on_idle once the session is closing and nothing is in flight. */
static void maybe_idle(struct mcp_session *s)
{
    mcp_session_idle_fn *fn;

    if (!s->closing || s->ncalls > 0 || s->on_idle == NULL)
        return;
    fn = s->on_idle;
    s->on_idle = NULL;
    fn(s->ctx);
    session_unref(s); /* the transport's reference */
}

static void pending_timer_closed(uv_handle_t *handle)
{
    struct pending_request *p = handle->data;
    struct mcp_session *s = p->session;
    free(p);
    session_unref(s);
}

/* Unlinks p and releases it; runs fn first unless quiet. */
static void pending_resolve(struct pending_request *p, const json_t *result, const json_t *error,
                            bool quiet)
{
    struct mcp_session *s = p->session;

    if (p->prev)
        p->prev->next = p->next;
    else
        s->pending = p->next;
    if (p->next)
        p->next->prev = p->prev;
    uv_timer_stop(&p->timer);
    if (!quiet && p->fn != NULL)
        p->fn(p->call, result, error, p->data);
    uv_close((uv_handle_t *)&p->timer, pending_timer_closed);
}

static void call_release(struct mcp_call *call)
{
    if (--call->holds == 0 && call->finished)
        free(call);
}

/* Marks the call cancelled and tells its handler. Either step may finish the
 * call, so the struct is held until both are done. */
static void cancel_call(struct mcp_call *call)
{
    struct pending_request *p, *next;

    if (call->cancelled || call->finished)
        return;
    call->cancelled = true;
    call->holds++;
    if (call->cancel_fn != NULL)
        call->cancel_fn(call, call->cancel_data);
    /* Server-to-client requests made for this call will never be answered
     * usefully now: resolve them as unanswered so the handler can wind down. */
    for (p = call->finished ? NULL : call->session->pending; p != NULL; p = next) {
        next = p->next;
        if (p->call == call) {
            pending_resolve(p, NULL, NULL, false);
            if (call->finished)
                break;
        }
    }
    call_release(call);
}

void mcp_session_close(struct mcp_session *s, mcp_session_idle_fn *on_idle)
{
    struct mcp_call *call;

    if (s->closing)
        return;
    s->closing = true;
    s->on_idle = on_idle;
    if (s->prev_session)
        s->prev_session->next_session = s->next_session;
    else
        s->server->sessions = s->next_session;
    if (s->next_session)
        s->next_session->prev_session = s->prev_session;
    s->send = NULL; /* nothing more goes out */
    s->refs++;      /* keep s alive while handlers react to cancellation */
    /* A handler may finish other calls while reacting, so rescan each time. */
    for (call = s->calls; call != NULL;) {
        if (call->cancelled) {
            call = call->next;
            continue;
        }
        cancel_call(call);
        call = s->calls;
    }
    while (s->pending != NULL)
        pending_resolve(s->pending, NULL, NULL, true);
    maybe_idle(s);
    session_unref(s);
}

static void send_notification(struct mcp_session *s, const char *method, json_t *params,
                              const json_t *related_id)
{
    json_t *msg = json_pack("{s:s, s:s}", "jsonrpc", "2.0", "method", method);
    if (params != NULL)
        json_object_set_new(msg, "params", params);
    send_json(s, msg, related_id, false);
}

void mcp_session_notify(struct mcp_session *s, const char *method, json_t *params)
{
    if (s->closing) {
        json_decref(params);
        return;
    }
    send_notification(s, method, params, NULL);
}

static void vlog_to_client(struct mcp_session *s, const json_t *related_id, enum sz_log_level level,
                           const char *logger, const char *fmt, va_list ap)
{
    char text[2048];
    int idx = level_index(level);
    json_t *params;

    if (s->closing || idx < s->log_threshold)
        return;
    vsnprintf(text, sizeof(text), fmt, ap);
    params = json_pack("{s:s, s:s}", "level", mcp_levels[idx], "data", text);
    if (logger != NULL)
        json_object_set_new(params, "logger", json_string(logger));
    send_notification(s, "notifications/message", params, related_id);
}

void mcp_session_log(struct mcp_session *s, enum sz_log_level level, const char *logger,
                     const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog_to_client(s, NULL, level, logger, fmt, ap);
    va_end(ap);
}

void mcp_session_send_error(struct mcp_session *s, int code, const char *message)
{
    if (!s->closing)
        send_error(s, NULL, code, message);
}

/* ---- calls -------------------------------------------------------------- */

static struct mcp_call *call_new(struct mcp_session *s, enum call_kind kind, const json_t *id,
                                 const json_t *params)
{
    struct mcp_call *call = calloc(1, sizeof(*call));
    json_t *meta = json_object_get(params, "_meta");
    json_t *token = meta ? json_object_get(meta, "progressToken") : NULL;

    if (call == NULL)
        return NULL;
    call->session = s;
    call->kind = kind;
    call->id = json_deep_copy(id);
    if (token != NULL && (json_is_string(token) || json_is_integer(token)))
        call->progress_token = json_deep_copy(token);
    call->next = s->calls;
    if (s->calls)
        s->calls->prev = call;
    s->calls = call;
    s->ncalls++;
    s->refs++;
    return call;
}

static void call_free(struct mcp_call *call)
{
    struct mcp_session *s = call->session;
    struct pending_request *p, *next;

    for (p = s->pending; p != NULL; p = next) {
        next = p->next;
        if (p->call == call)
            pending_resolve(p, NULL, NULL, true);
    }
    if (call->prev)
        call->prev->next = call->next;
    else
        s->calls = call->next;
    if (call->next)
        call->next->prev = call->prev;
    s->ncalls--;
    json_decref(call->id);
    json_decref(call->progress_token);
    json_decref(call->args);
    json_decref(call->extra_content);
    json_decref(call->list_items);
    free(call->name);
    free(call->uri);
    call->finished = true;
    if (call->holds == 0)
        free(call);
    maybe_idle(s);
    session_unref(s);
}

uv_loop_t *mcp_call_loop(const struct mcp_call *call)
{
    return call->session->server->loop;
}

struct mcp_session *mcp_call_session(const struct mcp_call *call)
{
    return call->session;
}

void *mcp_call_tool_data(const struct mcp_call *call)
{
    return call->tool ? call->tool->tool->data : NULL;
}

json_t *mcp_call_args(const struct mcp_call *call)
{
    return call->args;
}

const char *mcp_call_name(const struct mcp_call *call)
{
    return call->name;
}

const json_t *mcp_call_id(const struct mcp_call *call)
{
    return call->id;
}

void mcp_call_set_data(struct mcp_call *call, void *data)
{
    call->data = data;
}

void *mcp_call_data(const struct mcp_call *call)
{
    return call->data;
}

void mcp_call_on_cancel(struct mcp_call *call, mcp_cancel_fn *fn, void *data)
{
    call->cancel_fn = fn;
    call->cancel_data = data;
}

bool mcp_call_cancelled(const struct mcp_call *call)
{
    return call->cancelled;
}

void mcp_call_progress(struct mcp_call *call, double progress, double total, const char *message)
{
    struct mcp_session *s = call->session;
    uint64_t now;
    json_t *params;

    if (call->progress_token == NULL || call->cancelled || s->closing)
        return;
    if (call->have_progress && progress <= call->last_progress)
        return;
    now = uv_now(s->server->loop);
    if (call->have_progress && now - call->last_progress_ms < PROGRESS_INTERVAL_MS &&
        !(total > 0 && progress >= total))
        return;
    call->have_progress = true;
    call->last_progress = progress;
    call->last_progress_ms = now;
    params = json_pack("{s:O, s:f}", "progressToken", call->progress_token, "progress", progress);
    if (total > 0)
        json_object_set_new(params, "total", json_real(total));
    if (message != NULL)
        json_object_set_new(params, "message", json_string(message));
    send_notification(s, "notifications/progress", params, call->id);
}

void mcp_call_log(struct mcp_call *call, enum sz_log_level level, const char *fmt, ...)
{
    va_list ap;

    if (call->cancelled)
        return;
    va_start(ap, fmt);
    vlog_to_client(call->session, call->id, level, call->name, fmt, ap);
    va_end(ap);
}

void mcp_call_add_content(struct mcp_call *call, json_t *item)
{
    if (call->extra_content == NULL)
        call->extra_content = json_array();
    json_array_append_new(call->extra_content, item);
}

/* Sends unless the client cancelled or the session is closing, then frees. */
static void call_reply(struct mcp_call *call, json_t *result)
{
    struct mcp_session *s = call->session;

    if (!call->cancelled && !s->closing)
        send_result(s, call->id, result);
    else
        json_decref(result);
    call_free(call);
}

void mcp_call_finish(struct mcp_call *call, json_t *result)
{
    char *text = json_dumps(result, JSON_COMPACT);
    json_t *content = json_array();
    json_t *reply;
    char msg[512];

    if (call->tool != NULL && call->tool->output_schema != NULL &&
        mcp_schema_validate(call->tool->output_schema, result, msg, sizeof(msg)) != 0)
        SZ_ERROR("tool %s: result does not match its outputSchema: %s", call->name, msg);
    json_array_append_new(content,
                          json_pack("{s:s, s:s}", "type", "text", "text", text ? text : "{}"));
    free(text);
    if (call->extra_content != NULL)
        json_array_extend(content, call->extra_content);
    reply = json_pack("{s:o, s:o}", "content", content, "structuredContent", result);
    call_reply(call, reply);
}

void mcp_call_fail(struct mcp_call *call, const char *fmt, ...)
{
    char text[2048];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    SZ_INFO("tool %s failed: %s", call->name ? call->name : "?", text);
    call_reply(call, json_pack("{s:[{s:s, s:s}], s:b}", "content", "type", "text", "text", text,
                               "isError", 1));
}

void mcp_call_finish_result(struct mcp_call *call, json_t *result)
{
    call_reply(call, result);
}

void mcp_call_finish_error(struct mcp_call *call, int code, const char *fmt, ...)
{
    char text[1024];
    va_list ap;
    struct mcp_session *s = call->session;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    if (!call->cancelled && !s->closing)
        send_error(s, call->id, code, text);
    call_free(call);
}

static void next_resource_list(struct mcp_call *call);

void mcp_call_finish_list(struct mcp_call *call, json_t *items, int err)
{
    if (err != 0) {
        json_decref(items);
        mcp_call_finish_error(call, MCP_INTERNAL_ERROR, "Could not list resources: %s",
                              sz_strerror(err));
        return;
    }
    if (json_is_array(items))
        json_array_extend(call->list_items, items);
    json_decref(items);
    call->provider_index++;
    next_resource_list(call);
}

static void pending_timeout(uv_timer_t *timer)
{
    struct pending_request *p = timer->data;
    pending_resolve(p, NULL, NULL, false);
}

int mcp_call_request(struct mcp_call *call, const char *method, json_t *params, uint64_t timeout_ms,
                     mcp_response_fn *fn, void *data)
{
    struct mcp_session *s = call->session;
    struct pending_request *p;
    json_t *msg;

    if (s->closing || call->cancelled) {
        json_decref(params);
        return SZ_ECANCELLED;
    }
    p = calloc(1, sizeof(*p));
    if (p == NULL) {
        json_decref(params);
        return SZ_ENOMEM;
    }
    p->session = s;
    p->call = call;
    p->id = s->next_request_id++;
    p->fn = fn;
    p->data = data;
    uv_timer_init(s->server->loop, &p->timer);
    p->timer.data = p;
    uv_timer_start(&p->timer, pending_timeout, timeout_ms ? timeout_ms : DEFAULT_REQUEST_TIMEOUT_MS,
                   0);
    p->next = s->pending;
    if (s->pending)
        s->pending->prev = p;
    s->pending = p;
    s->refs++;
    msg = json_pack("{s:s, s:I, s:s}", "jsonrpc", "2.0", "id", p->id, "method", method);
    if (params != NULL)
        json_object_set_new(msg, "params", params);
    send_json(s, msg, call->id, false);
    return 0;
}

/* ---- method handlers ---------------------------------------------------- */

static void handle_initialize(struct mcp_session *s, const json_t *id, json_t *params)
{
    const char *requested = json_string_value(json_object_get(params, "protocolVersion"));
    const char *chosen = supported_versions[0];
    json_t *caps;
    json_t *result;

    if (s->initialized && !s->stateless) {
        send_error(s, id, MCP_INVALID_REQUEST, "The session is already initialized");
        return;
    }
    if (requested == NULL) {
        send_error(s, id, MCP_INVALID_PARAMS, "initialize: 'protocolVersion' is required");
        return;
    }
    for (size_t i = 0; i < sizeof(supported_versions) / sizeof(supported_versions[0]); i++)
        if (strcmp(requested, supported_versions[i]) == 0)
            chosen = supported_versions[i];
    snprintf(s->protocol_version, sizeof(s->protocol_version), "%s", chosen);
    json_decref(s->client_capabilities);
    s->client_capabilities = json_incref(json_object_get(params, "capabilities"));
    s->initialized = true;

    caps = json_pack("{s:{s:b}, s:{s:b, s:b}, s:{s:b}, s:{}, s:{}}", "tools", "listChanged", 0,
                     "resources", "subscribe", 1, "listChanged", 0, "prompts", "listChanged", 0,
                     "logging", "completions");
    result = json_pack("{s:s, s:o, s:{s:s, s:s, s:s}}", "protocolVersion", chosen, "capabilities",
                       caps, "serverInfo", "name", s->server->name, "title", "Sanzaru", "version",
                       s->server->version);
    if (s->server->instructions != NULL)
        json_object_set_new(result, "instructions", json_string(s->server->instructions));
    send_result(s, id, result);
}

static void handle_tools_list(struct mcp_session *s, const json_t *id, json_t *params)
{
    json_t *all;
    size_t offset;

    if (parse_cursor(params, &offset) != 0) {
        send_error(s, id, MCP_INVALID_PARAMS, "Invalid cursor");
        return;
    }
    all = json_array();
    for (size_t i = 0; i < s->server->ntools; i++)
        json_array_append_new(all, tool_listing(&s->server->tools[i]));
    send_result(s, id, page_of(all, "tools", offset, s->server->page_size));
    json_decref(all);
}

static void handle_tools_call(struct mcp_session *s, const json_t *id, json_t *params)
{
    const char *name = json_string_value(json_object_get(params, "name"));
    json_t *args = json_object_get(params, "arguments");
    const struct tool_entry *tool;
    struct mcp_call *call;
    char msg[512];

    if (name == NULL) {
        send_error(s, id, MCP_INVALID_PARAMS, "tools/call: 'name' must be a string");
        return;
    }
    tool = find_tool(s->server, name);
    if (tool == NULL) {
        send_errorf(s, id, MCP_INVALID_PARAMS, "Unknown tool: %s", name);
        return;
    }
    if (args == NULL || json_is_null(args))
        args = json_object();
    else if (!json_is_object(args)) {
        send_errorf(s, id, MCP_INVALID_PARAMS, "Invalid arguments for tool %s: %s", name,
                    "'arguments' must be an object");
        return;
    } else
        json_incref(args);
    if (mcp_schema_validate(tool->input_schema, args, msg, sizeof(msg)) != 0) {
        send_errorf(s, id, MCP_INVALID_PARAMS, "Invalid arguments for tool %s: %s", name, msg);
        json_decref(args);
        return;
    }
    call = call_new(s, CALL_TOOL, id, params);
    if (call == NULL) {
        json_decref(args);
        send_error(s, id, MCP_INTERNAL_ERROR, "out of memory");
        return;
    }
    call->tool = tool;
    call->args = args;
    call->name = xstrdup(name);
    SZ_DEBUG("tools/call %s", name);
    tool->tool->start(call, args);
}

static json_t *resource_item(const struct mcp_resource_provider *p, bool templated)
{
    json_t *item = json_object();
    if (templated)
        json_object_set_new(item, "uriTemplate", json_string(p->uri_template));
    else
        json_object_set_new(item, "uri", json_string(p->uri));
    json_object_set_new(item, "name", json_string(p->name ? p->name : ""));
    if (p->title)
        json_object_set_new(item, "title", json_string(p->title));
    if (p->description)
        json_object_set_new(item, "description", json_string(p->description));
    if (p->mime_type)
        json_object_set_new(item, "mimeType", json_string(p->mime_type));
    return item;
}

static void next_resource_list(struct mcp_call *call)
{
    struct mcp_server *server = call->session->server;

    while (call->provider_index < server->nresources) {
        const struct mcp_resource_provider *p = server->resources[call->provider_index];
        if (p->uri != NULL && p->uri_template == NULL) {
            json_array_append_new(call->list_items, resource_item(p, false));
        } else if (p->list != NULL && !call->cancelled) {
            p->list(call, p->data); /* continues in mcp_call_finish_list */
            return;
        }
        call->provider_index++;
    }
    call_reply(call, page_of(call->list_items, "resources", call->list_offset, server->page_size));
}

static void handle_resources_list(struct mcp_session *s, const json_t *id, json_t *params)
{
    size_t offset;
    struct mcp_call *call;

    if (parse_cursor(params, &offset) != 0) {
        send_error(s, id, MCP_INVALID_PARAMS, "Invalid cursor");
        return;
    }
    call = call_new(s, CALL_RESOURCES_LIST, id, params);
    if (call == NULL) {
        send_error(s, id, MCP_INTERNAL_ERROR, "out of memory");
        return;
    }
    call->name = xstrdup("resources/list");
    call->list_offset = offset;
    call->list_items = json_array();
    next_resource_list(call);
}

static void handle_templates_list(struct mcp_session *s, const json_t *id, json_t *params)
{
    json_t *all = json_array();
    size_t offset;

    if (parse_cursor(params, &offset) != 0) {
        json_decref(all);
        send_error(s, id, MCP_INVALID_PARAMS, "Invalid cursor");
        return;
    }
    for (size_t i = 0; i < s->server->nresources; i++)
        if (s->server->resources[i]->uri_template != NULL)
            json_array_append_new(all, resource_item(s->server->resources[i], true));
    send_result(s, id, page_of(all, "resourceTemplates", offset, s->server->page_size));
    json_decref(all);
}

/* A fixed resource matches its URI exactly; a template matches every URI that
 * starts with the template's text before its first '{'. */
static const struct mcp_resource_provider *find_provider(const struct mcp_server *server,
                                                         const char *uri)
{
    for (size_t i = 0; i < server->nresources; i++) {
        const struct mcp_resource_provider *p = server->resources[i];
        if (p->uri != NULL && strcmp(p->uri, uri) == 0)
            return p;
    }
    for (size_t i = 0; i < server->nresources; i++) {
        const struct mcp_resource_provider *p = server->resources[i];
        const char *brace;
        if (p->uri_template == NULL)
            continue;
        brace = strchr(p->uri_template, '{');
        if (brace != NULL && strncmp(uri, p->uri_template, (size_t)(brace - p->uri_template)) == 0)
            return p;
    }
    return NULL;
}

static void handle_resources_read(struct mcp_session *s, const json_t *id, json_t *params)
{
    const char *uri = json_string_value(json_object_get(params, "uri"));
    const struct mcp_resource_provider *p;
    struct mcp_call *call;

    if (uri == NULL) {
        send_error(s, id, MCP_INVALID_PARAMS, "resources/read: 'uri' must be a string");
        return;
    }
    p = find_provider(s->server, uri);
    if (p == NULL || p->read == NULL) {
        send_errorf(s, id, MCP_RESOURCE_NOT_FOUND, "Resource not found: %s", uri);
        return;
    }
    call = call_new(s, CALL_RESOURCE_READ, id, params);
    if (call == NULL) {
        send_error(s, id, MCP_INTERNAL_ERROR, "out of memory");
        return;
    }
    call->name = xstrdup("resources/read");
    call->uri = xstrdup(uri);
    p->read(call, call->uri, p->data);
}

static void handle_prompts_list(struct mcp_session *s, const json_t *id, json_t *params)
{
    json_t *all = json_array();
    size_t offset;

    if (parse_cursor(params, &offset) != 0) {
        json_decref(all);
        send_error(s, id, MCP_INVALID_PARAMS, "Invalid cursor");
        return;
    }
    for (size_t i = 0; i < s->server->nprompts; i++) {
        const struct mcp_prompt *p = s->server->prompts[i];
        json_t *item = json_pack("{s:s}", "name", p->name);
        if (p->title)
            json_object_set_new(item, "title", json_string(p->title));
        if (p->description)
            json_object_set_new(item, "description", json_string(p->description));
        if (p->arguments) {
            json_t *args = json_loads(p->arguments, 0, NULL);
            if (args)
                json_object_set_new(item, "arguments", args);
        }
        json_array_append_new(all, item);
    }
    send_result(s, id, page_of(all, "prompts", offset, s->server->page_size));
    json_decref(all);
}

static const struct mcp_prompt *find_prompt(const struct mcp_server *server, const char *name)
{
    for (size_t i = 0; i < server->nprompts; i++)
        if (strcmp(server->prompts[i]->name, name) == 0)
            return server->prompts[i];
    return NULL;
}

static void handle_prompts_get(struct mcp_session *s, const json_t *id, json_t *params)
{
    const char *name = json_string_value(json_object_get(params, "name"));
    json_t *args = json_object_get(params, "arguments");
    const struct mcp_prompt *p;
    struct mcp_call *call;

    if (name == NULL) {
        send_error(s, id, MCP_INVALID_PARAMS, "prompts/get: 'name' must be a string");
        return;
    }
    p = find_prompt(s->server, name);
    if (p == NULL) {
        send_errorf(s, id, MCP_INVALID_PARAMS, "Unknown prompt: %s", name);
        return;
    }
    if (args != NULL && !json_is_object(args) && !json_is_null(args)) {
        send_error(s, id, MCP_INVALID_PARAMS, "prompts/get: 'arguments' must be an object");
        return;
    }
    if (p->arguments != NULL) {
        json_t *decl = json_loads(p->arguments, 0, NULL);
        size_t i;
        json_t *a;
        json_array_foreach(decl, i, a)
        {
            const char *arg = json_string_value(json_object_get(a, "name"));
            if (arg && json_is_true(json_object_get(a, "required")) &&
                !json_is_string(json_object_get(args, arg))) {
                send_errorf(s, id, MCP_INVALID_PARAMS, "Prompt %s: argument '%s' is required", name,
                            arg);
                json_decref(decl);
                return;
            }
        }
        json_decref(decl);
    }
    call = call_new(s, CALL_PROMPT_GET, id, params);
    if (call == NULL) {
        send_error(s, id, MCP_INTERNAL_ERROR, "out of memory");
        return;
    }
    call->name = xstrdup(name);
    call->args = json_is_object(args) ? json_incref(args) : json_object();
    p->get(call, call->args, p->data);
}

static void handle_complete(struct mcp_session *s, const json_t *id, json_t *params)
{
    json_t *ref = json_object_get(params, "ref");
    json_t *argument = json_object_get(params, "argument");
    const char *type = json_string_value(json_object_get(ref, "type"));
    const char *arg_name = json_string_value(json_object_get(argument, "name"));
    const char *arg_value = json_string_value(json_object_get(argument, "value"));
    mcp_complete_fn *fn = NULL;
    void *data = NULL;
    struct mcp_call *call;

    if (type == NULL || arg_name == NULL || arg_value == NULL) {
        send_error(s, id, MCP_INVALID_PARAMS,
                   "completion/complete needs ref.type, argument.name and argument.value");
        return;
    }
    if (strcmp(type, "ref/prompt") == 0) {
        const char *name = json_string_value(json_object_get(ref, "name"));
        const struct mcp_prompt *p = name ? find_prompt(s->server, name) : NULL;
        if (p == NULL) {
            send_errorf(s, id, MCP_INVALID_PARAMS, "Unknown prompt: %s", name ? name : "");
            return;
        }
        fn = p->complete;
        data = p->data;
    } else if (strcmp(type, "ref/resource") == 0) {
        const char *uri = json_string_value(json_object_get(ref, "uri"));
        const struct mcp_resource_provider *p = NULL;
        for (size_t i = 0; uri != NULL && i < s->server->nresources; i++) {
            const struct mcp_resource_provider *r = s->server->resources[i];
            if ((r->uri_template && strcmp(r->uri_template, uri) == 0) ||
                (r->uri && strcmp(r->uri, uri) == 0))
                p = r;
        }
        if (p == NULL) {
            send_errorf(s, id, MCP_INVALID_PARAMS, "Unknown resource: %s", uri ? uri : "");
            return;
        }
        fn = p->complete;
        data = p->data;
    } else {
        send_errorf(s, id, MCP_INVALID_PARAMS, "Unknown reference type: %s", type);
        return;
    }
    if (fn == NULL) {
        send_result(s, id, json_pack("{s:{s:[], s:b}}", "completion", "values", "hasMore", 0));
        return;
    }
    call = call_new(s, CALL_COMPLETE, id, params);
    if (call == NULL) {
        send_error(s, id, MCP_INTERNAL_ERROR, "out of memory");
        return;
    }
    call->name = xstrdup("completion/complete");
    call->args = json_incref(params);
    fn(call, arg_name, arg_value, data);
}

static void handle_subscribe(struct mcp_session *s, const json_t *id, json_t *params)
{
    const char *uri = json_string_value(json_object_get(params, "uri"));
    if (uri == NULL) {
        send_error(s, id, MCP_INVALID_PARAMS, "resources/subscribe: 'uri' must be a string");
        return;
    }
    json_object_set_new(s->subscriptions, uri, json_true());
    send_result(s, id, json_object());
}

static void handle_unsubscribe(struct mcp_session *s, const json_t *id, json_t *params)
{
    const char *uri = json_string_value(json_object_get(params, "uri"));
    if (uri == NULL) {
        send_error(s, id, MCP_INVALID_PARAMS, "resources/unsubscribe: 'uri' must be a string");
        return;
    }
    json_object_del(s->subscriptions, uri);
    send_result(s, id, json_object());
}

static void handle_set_level(struct mcp_session *s, const json_t *id, json_t *params)
{
    const char *level = json_string_value(json_object_get(params, "level"));

    for (int i = 0; level != NULL && i < (int)(sizeof(mcp_levels) / sizeof(mcp_levels[0])); i++) {
        if (strcmp(level, mcp_levels[i]) == 0) {
            s->log_threshold = i;
            send_result(s, id, json_object());
            return;
        }
    }
    send_error(s, id, MCP_INVALID_PARAMS,
               "logging/setLevel: 'level' must be one of debug, info, notice, warning, error, "
               "critical, alert, emergency");
}

static struct mcp_call *find_call(struct mcp_session *s, const json_t *id)
{
    for (struct mcp_call *c = s->calls; c != NULL; c = c->next)
        if (json_equal(c->id, (json_t *)(uintptr_t)id))
            return c;
    return NULL;
}

static void handle_notification(struct mcp_session *s, const char *method, json_t *params)
{
    if (strcmp(method, "notifications/initialized") == 0)
        return;
    if (strcmp(method, "notifications/cancelled") == 0) {
        json_t *rid = json_object_get(params, "requestId");
        struct mcp_call *call = rid ? find_call(s, rid) : NULL;
        if (call != NULL) {
            SZ_DEBUG("request cancelled by the client (%s)", call->name ? call->name : "?");
            cancel_call(call);
        }
        return;
    }
    SZ_DEBUG("ignoring notification %s", method);
}

static void handle_response(struct mcp_session *s, const json_t *id, json_t *msg)
{
    struct pending_request *p;

    if (!json_is_integer(id))
        return;
    for (p = s->pending; p != NULL; p = p->next) {
        if (p->id == json_integer_value(id)) {
            pending_resolve(p, json_object_get(msg, "result"), json_object_get(msg, "error"),
                            false);
            return;
        }
    }
    SZ_DEBUG("dropping a response to an unknown request");
}

typedef void method_fn(struct mcp_session *s, const json_t *id, json_t *params);

static const struct {
    const char *method;
    method_fn *fn;
} methods[] = {
    {"initialize", handle_initialize},
    {"tools/list", handle_tools_list},
    {"tools/call", handle_tools_call},
    {"resources/list", handle_resources_list},
    {"resources/templates/list", handle_templates_list},
    {"resources/read", handle_resources_read},
    {"resources/subscribe", handle_subscribe},
    {"resources/unsubscribe", handle_unsubscribe},
    {"prompts/list", handle_prompts_list},
    {"prompts/get", handle_prompts_get},
    {"completion/complete", handle_complete},
    {"logging/setLevel", handle_set_level},
};

static void handle_request(struct mcp_session *s, const char *method, const json_t *id,
                           json_t *params)
{
    if (strcmp(method, "ping") == 0) {
        send_result(s, id, json_object());
        return;
    }
    if (!s->initialized && strcmp(method, "initialize") != 0) {
        send_errorf(s, id, MCP_INVALID_REQUEST, "Server not initialized: send initialize before %s",
                    method);
        return;
    }
    if (find_call(s, id) != NULL) {
        send_error(s, id, MCP_INVALID_REQUEST, "Request id is already in use by a pending request");
        return;
    }
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        if (strcmp(method, methods[i].method) == 0) {
            methods[i].fn(s, id, params);
            return;
        }
    }
    send_errorf(s, id, MCP_METHOD_NOT_FOUND, "Method not found: %s", method);
}

enum mcp_msg_kind mcp_session_handle(struct mcp_session *s, const char *buf, size_t len)
{
    json_error_t jerr;
    json_t *msg;
    json_t *id;
    json_t *params;
    json_t *method;
    json_t *version;
    enum mcp_msg_kind kind = MCP_MSG_INVALID;
    bool id_ok;

    if (s->closing)
        return MCP_MSG_NOTIFICATION;
    msg = json_loadb(buf, len, JSON_ALLOW_NUL | JSON_DECODE_ANY, &jerr);
    if (msg == NULL) {
        send_errorf(s, NULL, MCP_PARSE_ERROR, "Parse error: %s", jerr.text);
        return MCP_MSG_INVALID;
    }
    s->refs++; /* a handler may close the session under us */
    if (json_is_array(msg)) {
        send_error(s, NULL, MCP_INVALID_REQUEST,
                   "Invalid request: batches are not supported (removed in MCP 2025-06-18)");
        goto out;
    }
    if (!json_is_object(msg)) {
        send_error(s, NULL, MCP_INVALID_REQUEST, "Invalid request: a message must be an object");
        goto out;
    }
    id = json_object_get(msg, "id");
    method = json_object_get(msg, "method");
    params = json_object_get(msg, "params");
    version = json_object_get(msg, "jsonrpc");
    id_ok = id == NULL || json_is_string(id) || json_is_integer(id);
    if (!id_ok) {
        send_error(s, NULL, MCP_INVALID_REQUEST,
                   "Invalid request: 'id' must be a string or an integer");
        goto out;
    }
    if (!json_is_string(version) || strcmp(json_string_value(version), "2.0") != 0) {
        send_error(s, id, MCP_INVALID_REQUEST, "Invalid request: 'jsonrpc' must be \"2.0\"");
        goto out;
    }
    if (method == NULL && id != NULL &&
        (json_object_get(msg, "result") != NULL || json_object_get(msg, "error") != NULL)) {
        handle_response(s, id, msg);
        kind = MCP_MSG_NOTIFICATION;
        goto out;
    }
    if (!json_is_string(method)) {
        send_error(s, id, MCP_INVALID_REQUEST, "Invalid request: 'method' must be a string");
        goto out;
    }
    if (params != NULL && !json_is_object(params)) {
        send_error(s, id, MCP_INVALID_REQUEST, "Invalid request: 'params' must be an object");
        goto out;
    }
    if (params == NULL) {
        params = json_object();
        json_object_set_new(msg, "params", params);
    }
    if (id == NULL) {
        handle_notification(s, json_string_value(method), params);
        kind = MCP_MSG_NOTIFICATION;
        goto out;
    }
    kind = MCP_MSG_REQUEST;
    handle_request(s, json_string_value(method), id, params);
out:
    json_decref(msg);
    session_unref(s);
    return kind;
}
