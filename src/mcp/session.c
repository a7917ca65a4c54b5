/* The message loop behind server.h: sessions, the JSON-RPC shape of every
 * incoming message, the era of each request (era.c), dispatch of requests (to
 * methods.c), notifications and responses to our own requests, and the
 * sending of every outgoing message. Framing is the transport's business:
 * this file sees one message at a time. */
#include "fmacros.h"

#include "mcp/mcp_int.h"
#include "core/err.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

/* ---- sending ------------------------------------------------------------ */

void mcp_send_text(struct mcp_session *s, const char *text, size_t len, const json_t *related_id,
                   bool final)
{
    if (s->send != NULL)
        s->send(s->ctx, text, len, related_id, final);
}

void mcp_send_json(struct mcp_session *s, json_t *msg, const json_t *related_id, bool final)
{
    char *text;

    if (s->send == NULL)
        goto out;
    text = json_dumps(msg, JSON_COMPACT);
    if (text == NULL) {
        SZ_ERROR("could not serialise an outgoing message");
        goto out;
    }
    mcp_send_text(s, text, strlen(text), related_id, final);
    free(text);
out:
    json_decref(msg);
}

void mcp_send_result(struct mcp_session *s, const json_t *id, json_t *result)
{
    json_t *msg = json_pack("{s:s, s:O, s:o}", "jsonrpc", "2.0", "id", id, "result", result);
    mcp_send_json(s, msg, id, true);
}

void mcp_reply(struct mcp_session *s, const json_t *id, json_t *result, enum mcp_cache cache)
{
    if (s->cur.modern)
        mcp_era_decorate(s->server, result, cache);
    mcp_send_result(s, id, result);
}

void mcp_send_error_data(struct mcp_session *s, const json_t *id, int code, const char *message,
                         json_t *data)
{
    json_t *msg = json_pack("{s:s, s:O, s:{s:i, s:s}}", "jsonrpc", "2.0", "id",
                            id ? id : json_null(), "error", "code", code, "message", message);
    if (data != NULL)
        json_object_set_new(json_object_get(msg, "error"), "data", data);
    mcp_send_json(s, msg, id, true);
}

void mcp_send_error(struct mcp_session *s, const json_t *id, int code, const char *message)
{
    mcp_send_error_data(s, id, code, message, NULL);
}

void mcp_send_errorf(struct mcp_session *s, const json_t *id, int code, const char *fmt, ...)
{
    char message[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    mcp_send_error(s, id, code, message);
}

void mcp_send_notification(struct mcp_session *s, const char *method, json_t *params,
                           const json_t *related_id)
{
    json_t *msg = json_pack("{s:s, s:s}", "jsonrpc", "2.0", "method", method);
    if (params != NULL)
        json_object_set_new(msg, "params", params);
    mcp_send_json(s, msg, related_id, false);
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

void mcp_vlog_to_client(struct mcp_session *s, const json_t *related_id, const json_t *meta,
                        int threshold, enum sz_log_level level, const char *logger, const char *fmt,
                        va_list ap)
{
    char text[2048];
    int idx = level_index(level);
    json_t *params;

    if (s->closing || idx < threshold)
        return;
    vsnprintf(text, sizeof(text), fmt, ap);
    params = json_pack("{s:s, s:s}", "level", mcp_levels[idx], "data", text);
    if (logger != NULL)
        json_object_set_new(params, "logger", json_string(logger));
    if (meta != NULL)
        json_object_set(params, "_meta", (json_t *)(uintptr_t)meta);
    mcp_send_notification(s, "notifications/message", params, related_id);
}

/* ---- sessions ----------------------------------------------------------- */

struct mcp_session *mcp_session_new(struct mcp_server *server, mcp_send_fn *send, void *ctx)
{
    struct mcp_session *s = calloc(1, sizeof(*s));
    uint64_t nonce;

    if (s == NULL)
        return NULL;
    s->server = server;
    s->send = send;
    s->ctx = ctx;
    s->log_threshold = 1; /* info */
    s->next_request_id = 1;
    s->refs = 1;
    s->subscriptions = json_object();
    sz_list_init(&s->calls);
    sz_list_init(&s->pending);
    sz_list_push_front(&server->sessions, &s->link);
    /* An owner of its own until the transport says who the client is: its
     * tasks are its alone (a stdio process, a legacy HTTP session). */
    if (getrandom(&nonce, sizeof(nonce), 0) != (ssize_t)sizeof(nonce))
        nonce = uv_hrtime() ^ (uint64_t)(uintptr_t)s; /* never the same twice in a process */
    snprintf(s->owner, sizeof(s->owner), "session:%016llx", (unsigned long long)nonce);
    return s;
}

void mcp_session_set_owner(struct mcp_session *s, const char *owner)
{
    snprintf(s->owner, sizeof(s->owner), "%s", owner != NULL ? owner : "");
}

void mcp_session_set_stateless(struct mcp_session *s, const char *protocol_version)
{
    s->stateless = true;
    s->initialized = true;
    snprintf(s->protocol_version, sizeof(s->protocol_version), "%s",
             protocol_version ? protocol_version : mcp_supported_versions[0]);
}

void mcp_session_set_modern_only(struct mcp_session *s)
{
    s->modern_only = true;
}

const char *mcp_session_protocol_version(const struct mcp_session *s)
{
    return s->protocol_version[0] ? s->protocol_version : NULL;
}

bool mcp_session_envelope_refused(const struct mcp_session *s)
{
    return s->envelope_refused;
}

bool mcp_session_initialized(const struct mcp_session *s)
{
    return s->initialized;
}

size_t mcp_session_calls_in_flight(const struct mcp_session *s)
{
    return s->ncalls - s->nlisten; /* a listen stream is no work in flight */
}

const json_t *mcp_session_client_capabilities(const struct mcp_session *s)
{
    return s->client_capabilities;
}

static void session_free(struct mcp_session *s)
{
    mcp_req_ctx_clear(&s->cur);
    json_decref(s->client_capabilities);
    json_decref(s->subscriptions);
    free(s);
}

/* noinline: GCC 12's -Wuse-after-free misreads a refcount drop inlined twice
 * into one caller as a use of freed memory. */
__attribute__((noinline)) void mcp_session_unref(struct mcp_session *s)
{
    if (--s->refs == 0)
        session_free(s);
}

void mcp_session_maybe_idle(struct mcp_session *s)
{
    mcp_session_idle_fn *fn;

    if (!s->closing || s->ncalls > 0 || s->on_idle == NULL)
        return;
    fn = s->on_idle;
    s->on_idle = NULL;
    fn(s->ctx);
    mcp_session_unref(s); /* the transport's reference */
}

/* The first call not yet cancelled, or NULL. */
static struct mcp_call *first_live_call(struct mcp_session *s)
{
    struct sz_link *pos;

    SZ_LIST_FOREACH(pos, &s->calls)
    {
        struct mcp_call *call = container_of(pos, struct mcp_call, link);
        if (!call->cancelled)
            return call;
    }
    return NULL;
}

void mcp_session_close(struct mcp_session *s, mcp_session_idle_fn *on_idle)
{
    struct mcp_call *call;
    struct sz_link *first;

    if (s->closing)
        return;
    s->refs++;
    mcp_listen_end_all(s); /* a graceful end, while something can still be sent */
    s->refs--;
    s->closing = true;
    s->on_idle = on_idle;
    sz_list_remove(&s->link);
    s->send = NULL; /* nothing more goes out */
    s->refs++;      /* keep s alive while handlers react to cancellation */
    mcp_tasks_session_closed(s);
    /* A handler may finish other calls while reacting, so rescan each time. */
    while ((call = first_live_call(s)) != NULL)
        mcp_call_cancel_for(call,
                            s == s->server->task_host ? MCP_CANCEL_SHUTDOWN : MCP_CANCEL_SESSION);
    while ((first = sz_list_first(&s->pending)) != NULL)
        mcp_pending_resolve(container_of(first, struct mcp_pending, link), NULL, NULL, true);
    mcp_session_maybe_idle(s);
    mcp_session_unref(s);
}

void mcp_session_notify(struct mcp_session *s, const char *method, json_t *params)
{
    if (s->closing) {
        json_decref(params);
        return;
    }
    mcp_send_notification(s, method, params, NULL);
}

void mcp_session_log(struct mcp_session *s, enum sz_log_level level, const char *logger,
                     const char *fmt, ...)
{
    va_list ap;

    if (!s->initialized || s->modern_only)
        return; /* the modern era has no session to log to */
    va_start(ap, fmt);
    mcp_vlog_to_client(s, NULL, NULL, s->log_threshold, level, logger, fmt, ap);
    va_end(ap);
}

void mcp_session_send_error(struct mcp_session *s, int code, const char *message)
{
    if (!s->closing)
        mcp_send_error(s, NULL, code, message);
}

/* ---- the message loop ----------------------------------------------------- */

static void handle_notification(struct mcp_session *s, const char *method, const json_t *params)
{
    if (strcmp(method, "notifications/initialized") == 0)
        return;
    if (strcmp(method, "notifications/cancelled") == 0) {
        json_t *rid = json_object_get(params, "requestId");
        struct mcp_call *call = rid ? mcp_call_find(s, rid) : NULL;
        if (call != NULL) {
            SZ_DEBUG("request cancelled by the client (%s)", call->name ? call->name : "?");
            mcp_call_cancel(call);
        }
        return;
    }
    SZ_DEBUG("ignoring notification %s", method);
}

static void handle_response(struct mcp_session *s, const json_t *id, const json_t *msg)
{
    struct sz_link *pos;

    if (!json_is_integer(id))
        return;
    SZ_LIST_FOREACH(pos, &s->pending)
    {
        struct mcp_pending *p = container_of(pos, struct mcp_pending, link);
        if (p->id == json_integer_value(id)) {
            mcp_pending_resolve(p, json_object_get(msg, "result"), json_object_get(msg, "error"),
                                false);
            return;
        }
    }
    SZ_DEBUG("dropping a response to an unknown request");
}

/* A request: its era first (a modern one is checked and served on its own
 * terms), then, for a legacy one, the lifecycle. */
static void handle_request(struct mcp_session *s, const char *method, const json_t *id,
                           json_t *params)
{
    if (mcp_era_classify(s, method, id, params, &s->cur) != 0) {
        s->envelope_refused = true; /* the error is sent */
        return;
    }
    if (!s->cur.modern && strcmp(method, "ping") == 0) {
        mcp_send_result(s, id, json_object());
        goto out;
    }
    if (!s->cur.modern && !s->initialized && strcmp(method, "initialize") != 0) {
        mcp_send_errorf(s, id, MCP_INVALID_REQUEST,
                        "Server not initialized: send initialize before %s (MCP 2025-11-25 and "
                        "earlier), or carry _meta io.modelcontextprotocol/protocolVersion "
                        "2026-07-28 in every request",
                        method);
        goto out;
    }
    if (mcp_call_find(s, id) != NULL) {
        mcp_send_error(s, id, MCP_INVALID_REQUEST,
                       "Request id is already in use by a pending request");
        goto out;
    }
    s->cur_method = method;
    mcp_methods_dispatch(s, method, id, params);
out:
    s->cur_method = NULL;
    mcp_req_ctx_clear(&s->cur);
}

/* Classifies and serves one message; s is held by the caller. */
static enum mcp_msg_kind handle_message(struct mcp_session *s, json_t *msg)
{
    json_t *id, *params, *method, *version;

    if (json_is_array(msg)) {
        mcp_send_error(s, NULL, MCP_INVALID_REQUEST,
                       "Invalid request: batches are not supported (removed in MCP 2025-06-18)");
        return MCP_MSG_INVALID;
    }
    if (!json_is_object(msg)) {
        mcp_send_error(s, NULL, MCP_INVALID_REQUEST,
                       "Invalid request: a message must be an object");
        return MCP_MSG_INVALID;
    }
    id = json_object_get(msg, "id");
    method = json_object_get(msg, "method");
    params = json_object_get(msg, "params");
    version = json_object_get(msg, "jsonrpc");
    if (id != NULL && !json_is_string(id) && !json_is_integer(id)) {
        mcp_send_error(s, NULL, MCP_INVALID_REQUEST,
                       "Invalid request: 'id' must be a string or an integer");
        return MCP_MSG_INVALID;
    }
    if (!json_is_string(version) || strcmp(json_string_value(version), "2.0") != 0) {
        mcp_send_error(s, id, MCP_INVALID_REQUEST, "Invalid request: 'jsonrpc' must be \"2.0\"");
        return MCP_MSG_INVALID;
    }
    if (method == NULL && id != NULL &&
        (json_object_get(msg, "result") != NULL || json_object_get(msg, "error") != NULL)) {
        handle_response(s, id, msg);
        return MCP_MSG_NOTIFICATION;
    }
    if (!json_is_string(method)) {
        mcp_send_error(s, id, MCP_INVALID_REQUEST, "Invalid request: 'method' must be a string");
        return MCP_MSG_INVALID;
    }
    if (params != NULL && !json_is_object(params)) {
        mcp_send_error(s, id, MCP_INVALID_REQUEST, "Invalid request: 'params' must be an object");
        return MCP_MSG_INVALID;
    }
    if (id == NULL) {
        handle_notification(s, json_string_value(method), params);
        return MCP_MSG_NOTIFICATION;
    }
    if (params == NULL) {
        /* Handlers always see an object; the message itself stays as sent. */
        json_t *empty = json_object();
        handle_request(s, json_string_value(method), id, empty);
        json_decref(empty);
    } else {
        handle_request(s, json_string_value(method), id, params);
    }
    return MCP_MSG_REQUEST;
}

enum mcp_msg_kind mcp_session_handle_json(struct mcp_session *s, json_t *msg)
{
    enum mcp_msg_kind kind;

    if (s->closing)
        return MCP_MSG_NOTIFICATION;
    s->envelope_refused = false;
    s->refs++; /* a handler may close the session under us */
    kind = handle_message(s, msg);
    mcp_session_unref(s);
    return kind;
}

enum mcp_msg_kind mcp_session_handle(struct mcp_session *s, const char *buf, size_t len)
{
    json_error_t jerr;
    json_t *msg;
    enum mcp_msg_kind kind;

    if (s->closing)
        return MCP_MSG_NOTIFICATION;
    msg = json_loadb(buf, len, JSON_ALLOW_NUL | JSON_DECODE_ANY, &jerr);
    if (msg == NULL) {
        mcp_send_errorf(s, NULL, MCP_PARSE_ERROR, "Parse error: %s", jerr.text);
        return MCP_MSG_INVALID;
    }
    kind = mcp_session_handle_json(s, msg);
    json_decref(msg);
    return kind;
}
