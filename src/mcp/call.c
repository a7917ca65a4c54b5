/* Calls behind server.h: every request that completes later is an mcp_call,
 * an object that lives until it finishes exactly once. This file creates and
 * frees calls, cancels them, reports their progress and logs, sends their
 * results, and keeps the server-to-client requests made on their behalf
 * (sampling, elicitation, roots) until they are answered or time out.
 *
 * The call of a task (tasks.c) finishes the same way, but its outcome goes to
 * the task instead of the request (mcp_task_settle), and what it sends on the
 * way carries the task's related-task _meta.
 *
 * A call is held (call->holds) by engine frames that may see it finish under
 * them, so the struct outlives its finish until they let go. */
#include "fmacros.h"

#include "mcp/mcp_int.h"
#include "core/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROGRESS_INTERVAL_MS       50
#define DEFAULT_REQUEST_TIMEOUT_MS 60000

/* ---- life ---------------------------------------------------------------- */

struct mcp_call *mcp_call_new(struct mcp_session *s, enum mcp_call_kind kind, const json_t *id,
                              const json_t *params, size_t extra)
{
    /* The parsed arguments live right after the struct: one allocation. */
    size_t head = (sizeof(struct mcp_call) + _Alignof(max_align_t) - 1) / _Alignof(max_align_t) *
                  _Alignof(max_align_t);
    struct mcp_call *call = calloc(1, head + extra);
    json_t *meta = json_object_get(params, "_meta");
    json_t *token = meta ? json_object_get(meta, "progressToken") : NULL;

    if (call == NULL)
        return NULL;
    call->session = s;
    call->kind = kind;
    call->id = json_deep_copy(id);
    mcp_req_ctx_copy(&call->rc, &s->cur);
    call->method = mcp_strdup(s->cur_method);
    call->params = json_incref((json_t *)(uintptr_t)params);
    if (extra > 0)
        call->parsed = (char *)call + head;
    if (token != NULL && (json_is_string(token) || json_is_integer(token)))
        call->progress_token = json_deep_copy(token);
    sz_list_init(&call->wait_link);
    sz_list_push_front(&s->calls, &call->link);
    s->ncalls++;
    s->refs++;
    return call;
}

struct mcp_call *mcp_call_find(struct mcp_session *s, const json_t *id)
{
    struct sz_link *pos;

    SZ_LIST_FOREACH(pos, &s->calls)
    {
        struct mcp_call *c = container_of(pos, struct mcp_call, link);
        if (json_equal(c->id, (json_t *)(uintptr_t)id))
            return c;
    }
    return NULL;
}

void mcp_call_hold(struct mcp_call *call)
{
    call->holds++;
}

void mcp_call_release(struct mcp_call *call)
{
    if (--call->holds == 0 && call->finished)
        free(call);
}

/* Resolves every server-to-client request of call, as unanswered; stops early
 * when the call finishes meanwhile (unless quiet, the handler runs). */
static void resolve_requests_of(struct mcp_call *call, bool quiet)
{
    struct sz_link *pos, *tmp;

    SZ_LIST_FOREACH_SAFE(pos, tmp, &call->session->pending)
    {
        struct mcp_pending *p = container_of(pos, struct mcp_pending, link);
        if (p->call != call)
            continue;
        /* Resolving runs a handler that may resolve others: walk afresh. */
        mcp_pending_resolve(p, NULL, NULL, quiet);
        if (call->finished)
            return;
        tmp = call->session->pending.next;
    }
}

/* True for the call that does a task's work (not one that waits on a task). */
static bool task_work(const struct mcp_call *call)
{
    return call->task != NULL && call->task->call == call;
}

void mcp_call_cancel(struct mcp_call *call)
{
    mcp_call_cancel_for(call, MCP_CANCEL_CLIENT);
}

void mcp_call_cancel_for(struct mcp_call *call, enum mcp_cancel_reason reason)
{
    if (call->cancelled || call->finished)
        return;
    call->cancelled = true;
    call->cancel_reason = reason;
    call->holds++; /* either step below may finish the call */
    if (call->cancel_fn != NULL)
        call->cancel_fn(call, call->cancel_data);
    /* Server-to-client requests made for this call will never be answered
     * usefully now: resolve them as unanswered so the handler can wind down. */
    if (!call->finished)
        resolve_requests_of(call, false);
    mcp_call_release(call);
}

static void call_free(struct mcp_call *call)
{
    struct mcp_session *s = call->session;

    resolve_requests_of(call, true);
    if (call->task != NULL)
        mcp_task_call_gone(call);
    sz_list_remove(&call->link);
    s->ncalls--;
    if (call->parsed != NULL && call->tool != NULL)
        mcp_args_release(call->tool, call->parsed);
    json_decref(call->id);
    json_decref(call->progress_token);
    json_decref(call->args);
    json_decref(call->extra_content);
    json_decref(call->list_items);
    json_decref(call->params);
    mcp_req_ctx_clear(&call->rc);
    if (call->kind == MCP_CALL_LISTEN)
        s->nlisten--;
    free(call->name);
    free(call->method);
    free(call->uri);
    free(call->lookup);
    call->finished = true;
    if (call->holds == 0)
        free(call);
    mcp_session_maybe_idle(s);
    mcp_session_unref(s);
}

void mcp_call_discard(struct mcp_call *call)
{
    call_free(call);
}

void mcp_call_move(struct mcp_call *call, struct mcp_session *to)
{
    struct mcp_session *from = call->session;

    sz_list_remove(&call->link);
    from->ncalls--;
    call->session = to;
    sz_list_push_front(&to->calls, &call->link);
    to->ncalls++;
    to->refs++;
    mcp_session_unref(from);
}

const json_t *mcp_call_related_id(const struct mcp_call *call)
{
    struct sz_link *first;

    if (call->task != NULL && (first = sz_list_first(&call->task->waiters)) != NULL)
        return container_of(first, struct mcp_call, wait_link)->id;
    return call->id;
}

/* ---- accessors ------------------------------------------------------------ */

uv_loop_t *mcp_call_loop(const struct mcp_call *call)
{
    return call->session->server->loop;
}

struct mcp_server *mcp_call_server(const struct mcp_call *call)
{
    return call->session->server;
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

/* ---- progress and logs ---------------------------------------------------- */

void mcp_call_progress(struct mcp_call *call, double progress, double total, const char *message)
{
    struct mcp_session *s = call->session;
    uint64_t now;
    json_t *params;

    if (task_work(call) && !call->cancelled)
        mcp_task_progress(call, progress, total, message);
    if (call->progress_token == NULL || call->cancelled || s->closing)
        return;
    /* Progress of a 2026-07-28 task is its statusMessage only (SEP-2663); nor does a
     * notification name a task its client has not heard of yet (still being stored). */
    if (task_work(call) && (call->task->modern || call->task->creating != NULL))
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
    if (task_work(call))
        json_object_set_new(params, "_meta", mcp_task_related_meta(call->task));
    mcp_send_notification(s, "notifications/progress", params, mcp_call_related_id(call));
}

void mcp_call_log(struct mcp_call *call, enum sz_log_level level, const char *fmt, ...)
{
    va_list ap;
    int threshold = call->rc.modern ? call->rc.log_threshold : call->session->log_threshold;
    json_t *meta = task_work(call) ? mcp_task_related_meta(call->task) : NULL;

    if (call->cancelled || (task_work(call) && call->task->modern))
        threshold = MCP_LOG_OFF; /* no logs on 2026-07-28 tasks (SEP-2663) */
    va_start(ap, fmt);
    mcp_vlog_to_client(call->session, mcp_call_related_id(call), meta, threshold, level, call->name,
                       fmt, ap);
    va_end(ap);
    json_decref(meta);
}

/* ---- finishing ------------------------------------------------------------- */

void mcp_call_reply_raw(struct mcp_call *call, json_t *result)
{
    struct mcp_session *s = call->session;

    if (task_work(call)) {
        mcp_task_settle(call, result, NULL);
        call_free(call);
        return;
    }
    if (!call->cancelled && !s->closing && result != NULL)
        mcp_send_result(s, call->id, result);
    else
        json_decref(result);
    call_free(call);
}

void mcp_call_reply(struct mcp_call *call, json_t *result)
{
    if (call->rc.modern && !task_work(call))
        mcp_era_decorate(call->session->server, result,
                         call->kind == MCP_CALL_RESOURCES_LIST ||
                                 call->kind == MCP_CALL_RESOURCE_READ
                             ? MCP_CACHE_PRIVATE
                             : MCP_CACHE_NONE);
    mcp_call_reply_raw(call, result);
}

void mcp_call_add_content(struct mcp_call *call, json_t *item)
{
    if (call->extra_content == NULL)
        call->extra_content = json_array();
    json_array_append_new(call->extra_content, item);
}

int mcp_call_check_output(const struct mcp_call *call, const json_t *value, char *msg,
                          size_t msglen)
{
    msg[0] = '\0';
    if (call->tool == NULL || call->tool->tool->output == NULL)
        return 0;
    return mcp_field_check(call->tool->tool->output, value, msg, msglen);
}

/* Compact JSON of v, NUL-terminated: into the stack buffer stack (size bytes)
 * when it fits, else into a malloc'd one (*pheap, to free). Sets *plen; NULL
 * when out of memory. json_dumpb's own sink is a bare memcpy, the cheapest
 * jansson has. */
static const char *dump(const json_t *v, char *stack, size_t size, char **pheap, size_t *plen)
{
    size_t n = json_dumpb(v, stack, size, JSON_COMPACT | JSON_ENCODE_ANY);

    *pheap = NULL;
    *plen = n;
    if (n == 0)
        return NULL;
    if (n < size) {
        stack[n] = '\0';
        return stack;
    }
    *pheap = malloc(n + 1);
    if (*pheap == NULL || json_dumpb(v, *pheap, n, JSON_COMPACT | JSON_ENCODE_ANY) != n)
        return NULL;
    (*pheap)[n] = '\0';
    return *pheap;
}

static bool must_escape(unsigned char c)
{
    return c == '"' || c == '\\' || c < 0x20;
}

/* How long text (len bytes) is once escaped as the body of a JSON string. */
static size_t escaped_length(const char *text, size_t len)
{
    size_t n = len;

    for (size_t i = 0; i < len; i++)
        if (must_escape((unsigned char)text[i]))
            n += text[i] == '"' || text[i] == '\\' ? 1 : 5; /* \" or \u00XX */
    return n;
}

/* Writes text (len bytes) escaped as the body of a JSON string at out;
 * returns the end. */
static char *put_escaped(char *out, const char *text, size_t len)
{
    static const char hex[] = "0123456789abcdef";

    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (!must_escape(c)) {
            *out++ = (char)c;
        } else if (c == '"' || c == '\\') {
            *out++ = '\\';
            *out++ = (char)c;
        } else {
            memcpy(out, "\\u00", 4);
            out[4] = hex[c >> 4];
            out[5] = hex[c & 15];
            out += 6;
        }
    }
    return out;
}

static char *put(char *out, const char *s, size_t n)
{
    memcpy(out, s, n);
    return out + n;
}

#define PUT_LIT(out, lit) put((out), (lit), sizeof(lit) - 1)

/* The response to a tools/call, with the result serialised once: the text
 * block is that serialisation escaped as a string and structuredContent is
 * the same bytes, assembled into one buffer of the exact size (malloc'd into
 * *pmsg, *plen bytes). 0 or SZ_ENOMEM. */
static int tool_reply_text(const struct mcp_call *call, const json_t *result, char **pmsg,
                           size_t *plen)
{
    static const char head[] = "{\"jsonrpc\":\"2.0\",\"id\":";
    static const char text_open[] = ",\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"";
    static const char text_close[] = "\"}";
    static const char structured[] = "],\"structuredContent\":";
    static const char tail[] = "}}";
    char stack[16384], id_stack[256];
    char *heap = NULL, *id_heap = NULL, *extra_heap = NULL, *msg = NULL, *o;
    const char *text, *id, *extra = NULL;
    const char *era = call->rc.modern ? call->session->server->modern_tail : "";
    size_t text_len, id_len, extra_len = 0, total, era_len = strlen(era);
    int rc = SZ_ENOMEM;

    text = dump(result, stack, sizeof(stack), &heap, &text_len);
    id = dump(call->id, id_stack, sizeof(id_stack), &id_heap, &id_len);
    if (text == NULL || id == NULL)
        goto out;
    if (call->extra_content != NULL) {
        /* "[a,b]" without its brackets follows the text block. */
        extra = dump(call->extra_content, NULL, 0, &extra_heap, &extra_len);
        if (extra == NULL)
            goto out;
    }
    total = sizeof(head) - 1 + id_len + sizeof(text_open) - 1 + escaped_length(text, text_len) +
            sizeof(text_close) - 1 + (extra_len > 2 ? extra_len - 1 : 0) + sizeof(structured) - 1 +
            text_len + era_len + sizeof(tail) - 1;
    msg = malloc(total + 1);
    if (msg == NULL)
        goto out;
    o = PUT_LIT(msg, head);
    o = put(o, id, id_len);
    o = PUT_LIT(o, text_open);
    o = put_escaped(o, text, text_len);
    o = PUT_LIT(o, text_close);
    if (extra_len > 2) {
        *o++ = ',';
        o = put(o, extra + 1, extra_len - 2);
    }
    o = PUT_LIT(o, structured);
    o = put(o, text, text_len);
    o = put(o, era, era_len);
    o = PUT_LIT(o, tail);
    *o = '\0';
    *pmsg = msg;
    *plen = (size_t)(o - msg);
    rc = 0;
out:
    free(heap);
    free(id_heap);
    free(extra_heap);
    return rc;
}

/* A task's copy of what mcp_call_finish would send: {content: [text, extra...],
 * structuredContent} (result stolen). NULL when out of memory. */
static json_t *tool_result_json(struct mcp_call *call, json_t *result)
{
    char *text = json_dumps(result, JSON_COMPACT | JSON_ENCODE_ANY);
    json_t *content = json_array();
    json_t *out = NULL;

    if (text == NULL || content == NULL)
        goto out;
    json_array_append_new(content, json_pack("{s:s, s:s}", "type", "text", "text", text));
    if (call->extra_content != NULL)
        json_array_extend(content, call->extra_content);
    out = json_pack("{s:O, s:O}", "content", content, "structuredContent", result);
out:
    free(text);
    json_decref(content);
    json_decref(result);
    return out;
}

void mcp_call_finish(struct mcp_call *call, json_t *result)
{
    struct mcp_session *s = call->session;
    char *text = NULL;
    size_t len = 0;
    char msg[512];

    if (mcp_call_check_output(call, result, msg, sizeof(msg)) != 0)
        SZ_ERROR("tool %s: result does not match its outputSchema: %s", call->name, msg);
    if (task_work(call)) {
        json_t *full = tool_result_json(call, result);
        if (full != NULL)
            mcp_task_settle(call, full, NULL);
        else
            mcp_task_settle(
                call, NULL,
                json_pack("{s:i, s:s}", "code", MCP_INTERNAL_ERROR, "message", "out of memory"));
        call_free(call);
        return;
    }
    if (call->cancelled || s->closing) {
        json_decref(result);
        call_free(call);
        return;
    }
    if (tool_reply_text(call, result, &text, &len) != 0) {
        json_decref(result);
        mcp_call_finish_error(call, MCP_INTERNAL_ERROR, "out of memory");
        return;
    }
    mcp_send_text(s, text, len, call->id, true);
    free(text);
    json_decref(result);
    call_free(call);
}

static const char *const error_kind_names[] = {
    [MCP_ERROR_CONFIGURATION] = "configuration", [MCP_ERROR_INPUT] = "input",
    [MCP_ERROR_NOT_FOUND] = "not_found",         [MCP_ERROR_UPSTREAM] = "upstream",
    [MCP_ERROR_CANCELLED] = "cancelled",         [MCP_ERROR_INTERNAL] = "internal",
};

const char *mcp_error_kind_name(enum mcp_error_kind kind)
{
    if ((size_t)kind >= sizeof(error_kind_names) / sizeof(error_kind_names[0]))
        return NULL;
    return error_kind_names[kind];
}

enum mcp_error_kind mcp_error_kind_parse(const char *name)
{
    for (size_t k = 1; name != NULL && k < sizeof(error_kind_names) / sizeof(error_kind_names[0]);
         k++)
        if (strcmp(name, error_kind_names[k]) == 0)
            return (enum mcp_error_kind)k;
    return MCP_ERROR_UNKNOWN;
}

enum mcp_error_kind mcp_result_error_kind(const json_t *result)
{
    const json_t *meta = json_object_get(result, "_meta");

    if (!json_is_true(json_object_get(result, "isError")))
        return MCP_ERROR_UNKNOWN;
    return mcp_error_kind_parse(json_string_value(json_object_get(meta, MCP_META_ERROR_KIND)));
}

static void vfail(struct mcp_call *call, enum mcp_error_kind kind, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
static void vfail(struct mcp_call *call, enum mcp_error_kind kind, const char *fmt, va_list ap)
{
    const char *name = mcp_error_kind_name(kind);
    char text[2048];
    json_t *result;

    vsnprintf(text, sizeof(text), fmt, ap);
    SZ_INFO("tool %s failed: %s%s%s%s", call->name ? call->name : "?", text, name ? " (" : "",
            name ? name : "", name ? ")" : "");
    result =
        json_pack("{s:[{s:s, s:s}], s:b}", "content", "type", "text", "text", text, "isError", 1);
    /* The engine's own _meta (serverInfo, related-task) is merged into this later. */
    if (result != NULL && name != NULL)
        json_object_set_new(result, "_meta", json_pack("{s:s}", MCP_META_ERROR_KIND, name));
    mcp_call_reply(call, result);
}

void mcp_call_fail(struct mcp_call *call, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vfail(call, MCP_ERROR_UNKNOWN, fmt, ap);
    va_end(ap);
}

void mcp_call_fail_kind(struct mcp_call *call, enum mcp_error_kind kind, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vfail(call, kind, fmt, ap);
    va_end(ap);
}

void mcp_call_finish_result(struct mcp_call *call, json_t *result)
{
    mcp_call_reply(call, result);
}

static void vfinish_error(struct mcp_call *call, int code, json_t *data, const char *fmt,
                          va_list ap) __attribute__((format(printf, 4, 0)));

static void vfinish_error(struct mcp_call *call, int code, json_t *data, const char *fmt,
                          va_list ap)
{
    char text[1024];
    struct mcp_session *s = call->session;

    vsnprintf(text, sizeof(text), fmt, ap);
    if (task_work(call)) {
        json_t *error = json_pack("{s:i, s:s}", "code", code, "message", text);
        if (data != NULL)
            json_object_set_new(error, "data", data);
        mcp_task_settle(call, NULL, error);
        call_free(call);
        return;
    }
    /* The modern era says "resource not found" with -32602 and the URI in
     * data (2026-07-28 server/resources.mdx, "Error Handling"). */
    if (call->rc.modern && code == MCP_RESOURCE_NOT_FOUND) {
        code = MCP_INVALID_PARAMS;
        if (data == NULL && call->uri != NULL)
            data = json_pack("{s:s}", "uri", call->uri);
    }
    if (!call->cancelled && !s->closing)
        mcp_send_error_data(s, call->id, code, text, data);
    else
        json_decref(data);
    call_free(call);
}

void mcp_call_finish_error(struct mcp_call *call, int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vfinish_error(call, code, NULL, fmt, ap);
    va_end(ap);
}

void mcp_call_finish_error_data(struct mcp_call *call, int code, json_t *data, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vfinish_error(call, code, data, fmt, ap);
    va_end(ap);
}

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
    mcp_resources_list_next(call);
}

/* ---- server-to-client requests ------------------------------------------------ */

static void pending_timer_closed(uv_handle_t *handle)
{
    struct mcp_pending *p = handle->data;
    struct mcp_session *s = p->session;
    free(p);
    mcp_session_unref(s);
}

void mcp_pending_resolve(struct mcp_pending *p, const json_t *result, const json_t *error,
                         bool quiet)
{
    sz_list_remove(&p->link);
    uv_timer_stop(&p->timer);
    if (!quiet && p->fn != NULL)
        p->fn(p->call, result, error, p->data);
    uv_close((uv_handle_t *)&p->timer, pending_timer_closed);
}

static void pending_timeout(uv_timer_t *timer)
{
    mcp_pending_resolve(timer->data, NULL, NULL, false);
}

int mcp_call_request(struct mcp_call *call, const char *method, json_t *params, uint64_t timeout_ms,
                     mcp_response_fn *fn, void *data)
{
    struct mcp_session *s = call->session;
    struct mcp_pending *p;
    json_t *msg;

    if (s->closing || call->cancelled) {
        json_decref(params);
        return SZ_ECANCELLED;
    }
    if (call->rc.modern) {
        /* The 2026-07-28 era has no server-to-client requests (mrtr.mdx). */
        json_decref(params);
        return SZ_EUNSUPPORTED;
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
    sz_list_push_front(&s->pending, &p->link);
    s->refs++;
    if (task_work(call)) {
        /* Every message of a task carries its id (2025-11-25 tasks.mdx). */
        json_t *meta;
        if (params == NULL)
            params = json_object();
        meta = json_object_get(params, "_meta");
        if (!json_is_object(meta)) {
            meta = json_object();
            json_object_set_new(params, "_meta", meta);
        }
        json_object_update_new(meta, mcp_task_related_meta(call->task));
    }
    msg = json_pack("{s:s, s:I, s:s}", "jsonrpc", "2.0", "id", p->id, "method", method);
    if (params != NULL)
        json_object_set_new(msg, "params", params);
    mcp_send_json(s, msg, mcp_call_related_id(call), false);
    return 0;
}
