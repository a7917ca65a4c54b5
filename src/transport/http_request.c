/* Request handling of the HTTP transport (http_int.h): the rules every request passes, in
 * the order docs/http.md lists them (shutdown, Host, Origin, path, CORS preflight, token,
 * method, protocol version, session id, then per method), the body of a POST read within
 * its limit, and the POST, GET and DELETE handlers. A POST is first classified by era
 * (docs/http.md, "Which era a POST belongs to"): a modern one (MCP 2026-07-28) has its
 * Mcp-Method, Mcp-Name, Mcp-Param-* and MCP-Protocol-Version headers checked against its
 * body and is served by a session of its own that lives as long as the request; a legacy
 * one goes to the session its Mcp-Session-Id names (or opens one with initialize). The
 * reply is answered as one JSON body when it is ready before the engine returns, and as
 * an SSE stream otherwise. */
#include "fmacros.h"

#include "transport/http_int.h"
#include "core/err.h"
#include "core/log.h"
#include "mcp/server.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- responses ---------------------------------------------------------------- */

void http_add_cors(struct http_req *r, struct MHD_Response *resp)
{
    const char *origin = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Origin");
    if (origin != NULL && http_origin_allowed(origin, r->t->origins)) {
        MHD_add_response_header(resp, "Access-Control-Allow-Origin", origin);
        MHD_add_response_header(resp, "Vary", "Origin");
        MHD_add_response_header(resp, "Access-Control-Expose-Headers",
                                "Mcp-Session-Id, WWW-Authenticate");
    }
}

/* Queues a buffered response. headers: NULL, or name/value pairs ending with NULL. */
static enum MHD_Result respond(struct http_req *r, unsigned status, const char *ctype,
                               const char *body, size_t len, const char *sid,
                               const char *const *headers)
{
    struct MHD_Response *resp;
    enum MHD_Result ret;

    resp = MHD_create_response_from_buffer(len, (void *)(uintptr_t)body, MHD_RESPMEM_MUST_COPY);
    if (resp == NULL)
        return MHD_NO;
    if (ctype != NULL)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    if (sid != NULL)
        MHD_add_response_header(resp, "Mcp-Session-Id", sid);
    for (size_t i = 0; headers != NULL && headers[i] != NULL; i += 2)
        MHD_add_response_header(resp, headers[i], headers[i + 1]);
    http_add_cors(r, resp);
    ret = MHD_queue_response(r->conn, status, resp);
    MHD_destroy_response(resp);
    r->responded = true;
    return ret;
}

/* Queues {"jsonrpc":"2.0","id":id,"error":{code,message}} (id NULL: null) with the
 * given status. */
static enum MHD_Result vrespond_error(struct http_req *r, unsigned status,
                                      const char *const *headers, const json_t *id, int code,
                                      const char *fmt, va_list ap)
    __attribute__((format(printf, 6, 0)));
static enum MHD_Result vrespond_error(struct http_req *r, unsigned status,
                                      const char *const *headers, const json_t *id, int code,
                                      const char *fmt, va_list ap)
{
    char msg[512];
    json_t *j;
    char *text;
    enum MHD_Result ret;

    vsnprintf(msg, sizeof(msg), fmt, ap);
    j = json_pack("{s:s, s:O, s:{s:i, s:s}}", "jsonrpc", "2.0", "id", id ? id : json_null(),
                  "error", "code", code, "message", msg);
    text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    SZ_DEBUG("http: %u %s", status, msg);
    ret = respond(r, status, "application/json", text ? text : "", text ? strlen(text) : 0, NULL,
                  headers);
    free(text);
    return ret;
}

/* Queues {"jsonrpc":"2.0","id":null,"error":{code,message}} with the given status. */
__attribute__((format(printf, 5, 6))) static enum MHD_Result
respond_error(struct http_req *r, unsigned status, const char *const *headers, int code,
              const char *fmt, ...)
{
    va_list ap;
    enum MHD_Result ret;

    va_start(ap, fmt);
    ret = vrespond_error(r, status, headers, NULL, code, fmt, ap);
    va_end(ap);
    return ret;
}

/* Answers with the final event of a stream (the JSON-RPC reply) as one JSON body. */
static enum MHD_Result respond_event(struct http_req *r, unsigned status,
                                     const struct http_event *ev, const char *sid)
{
    return respond(r, status, "application/json", ev->text + ev->data_off, ev->data_len, sid, NULL);
}

/* ---- GET and DELETE -------------------------------------------------------------- */

static const char *header(struct http_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

static bool is_json_type(const char *ctype)
{
    size_t n = strlen("application/json");
    if (ctype == NULL)
        return false;
    while (*ctype == ' ')
        ctype++;
    return strncasecmp(ctype, "application/json", n) == 0 &&
           (ctype[n] == '\0' || ctype[n] == ';' || ctype[n] == ' ');
}

static enum MHD_Result handle_get(struct http_req *r, struct http_session *s)
{
    struct http_transport *t = r->t;
    static const char *const allow_post[] = {"Allow", "POST", NULL};
    const char *last;
    struct http_stream *st = NULL;
    uint64_t sid = 0, seq = 0, from = 1;

    if (t->o.stateless)
        return respond_error(r, MHD_HTTP_METHOD_NOT_ALLOWED, allow_post, -32000,
                             "Method Not Allowed: this server is stateless and offers no GET "
                             "stream");
    if (!http_accepts(header(r, "Accept"), "text/event-stream"))
        return respond_error(r, MHD_HTTP_NOT_ACCEPTABLE, NULL, -32000,
                             "Not Acceptable: GET needs Accept: text/event-stream");
    if (s == NULL)
        return respond_error(r, MHD_HTTP_BAD_REQUEST, NULL, -32000,
                             "Bad Request: Mcp-Session-Id header is required");
    last = header(r, "Last-Event-ID");
    if (last != NULL && http_parse_event_id(last, &sid, &seq)) {
        st = http_stream_find_id(s, sid);
        from = seq + 1;
    }
    if (st == NULL) {
        st = s->get;
        if (st == NULL)
            return respond_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL, -32603,
                                 "Internal error: the session has no stream");
        if (st->conn != NULL)
            return respond_error(r, MHD_HTTP_CONFLICT, NULL, -32000,
                                 "Conflict: this session already has a GET stream; resume it "
                                 "with Last-Event-ID");
        from = st->written + 1;
    } else if (st->conn != NULL) {
        http_req_end(st->conn); /* the client came back on a new connection */
    }
    http_session_touch(s);
    return http_start_sse(r, st, from);
}

static enum MHD_Result handle_delete(struct http_req *r, struct http_session *s)
{
    static const char *const allow_post[] = {"Allow", "POST", NULL};

    if (r->t->o.stateless)
        return respond_error(r, MHD_HTTP_METHOD_NOT_ALLOWED, allow_post, -32000,
                             "Method Not Allowed: this server is stateless and has no sessions");
    if (s == NULL)
        return respond_error(r, MHD_HTTP_BAD_REQUEST, NULL, -32000,
                             "Bad Request: Mcp-Session-Id header is required");
    SZ_DEBUG("http: session %.8s… deleted by the client", s->id);
    http_session_close(s);
    return respond(r, MHD_HTTP_OK, NULL, "", 0, NULL, NULL);
}

/* ---- POST ------------------------------------------------------------------------- */

/* notifications/cancelled: the engine sends nothing more for that request, so its stream
 * is over. Its connection is left open, as the client expects (a stream that ends without
 * a response invites a resumption attempt), and the stream is freed with the connection. */
static void mark_cancelled(struct http_session *s, const json_t *msg)
{
    const char *method = json_string_value(json_object_get(msg, "method"));
    const json_t *rid = json_object_get(json_object_get(msg, "params"), "requestId");
    struct http_stream *st;

    if (rid == NULL || method == NULL || strcmp(method, "notifications/cancelled") != 0)
        return;
    st = http_stream_find_open(s, rid);
    if (st != NULL) {
        st->cancelled = true;
        if (st->conn == NULL)
            http_stream_free(st);
    }
}

/* What a POSTed message is, from a first look at it. */
struct post_peek {
    json_t *msg; /* the parsed body, or NULL when it is not JSON */
    json_t *id;  /* borrowed from msg */
    const char *method;
    bool is_request;
    bool is_init;
    bool modern; /* served by the 2026-07-28 rules, without a session */
};

/* Classifies a POST (docs/http.md, "Which era a POST belongs to"). A body whose _meta
 * carries the modern envelope is modern; else initialize is legacy; a request with an
 * Mcp-Session-Id is legacy, and one without is modern when its MCP-Protocol-Version header
 * is not a legacy revision or its method exists only in the modern era. */
static bool post_is_modern(struct http_req *r, const struct post_peek *pk)
{
    const json_t *meta = json_object_get(json_object_get(pk->msg, "params"), "_meta");
    const char *proto = header(r, "MCP-Protocol-Version");

    if (json_object_get(meta, "io.modelcontextprotocol/protocolVersion") != NULL ||
        json_object_get(meta, "io.modelcontextprotocol/clientCapabilities") != NULL)
        return true; /* even initialize: the modern era refuses it (-32601, 404) */
    if (pk->is_init)
        return false;
    if (r->has_sid || r->t->o.stateless)
        return false;
    if (proto != NULL &&
        (mcp_protocol_version_modern(proto) || !http_protocol_version_supported(proto)))
        return true;
    return pk->method != NULL && (strcmp(pk->method, "server/discover") == 0 ||
                                  strcmp(pk->method, "subscriptions/listen") == 0);
}

/* ---- the headers of a modern POST --------------------------------------------------- */

/* Answers 400 with a HeaderMismatch error (-32020) for the request id. */
__attribute__((format(printf, 3, 4))) static enum MHD_Result
respond_mismatch(struct http_req *r, const json_t *id, const char *fmt, ...)
{
    va_list ap;
    enum MHD_Result ret;

    va_start(ap, fmt);
    ret = vrespond_error(r, MHD_HTTP_BAD_REQUEST, NULL, id, MCP_HEADER_MISMATCH, fmt, ap);
    va_end(ap);
    return ret;
}

/* True when header (decoded) says exactly value (len bytes). */
static bool header_matches(const char *raw, const char *value, size_t len, bool *pbad)
{
    char *dec = NULL;
    size_t n = 0;
    bool same;

    *pbad = http_header_decode(raw, &dec, &n) != 0;
    same = !*pbad && n == len && memcmp(dec, value, len) == 0;
    free(dec);
    return same;
}

struct param_check {
    struct http_req *r;
    const json_t *args;
    char why[256];
};

/* One x-mcp-header argument: when the body gives a value, Mcp-Param-{header} must be
 * there and say the same (an integer compares as a number: "42.0" is 42). */
static void check_param(void *ctx, const char *argument, const char *hdr)
{
    struct param_check *pc = ctx;
    const json_t *v = json_object_get(pc->args, argument);
    char name[128], text[32], *dec = NULL;
    const char *raw;
    size_t n = 0;
    bool ok = false;

    if (pc->why[0] != '\0' || v == NULL || json_is_null(v))
        return; /* no value in the body: no header expected */
    snprintf(name, sizeof(name), "Mcp-Param-%s", hdr);
    raw = header(pc->r, name);
    if (raw == NULL) {
        snprintf(pc->why, sizeof(pc->why), "Header mismatch: %s is missing but '%s' is given", name,
                 argument);
        return;
    }
    if (http_header_decode(raw, &dec, &n) != 0) {
        snprintf(pc->why, sizeof(pc->why), "Header mismatch: %s is not a valid header value", name);
        return;
    }
    if (json_is_string(v)) {
        ok = n == json_string_length(v) && memcmp(dec, json_string_value(v), n) == 0;
    } else if (json_is_integer(v)) {
        char *end = NULL;
        double d = strtod(dec, &end);
        ok = end != dec && *end == '\0' && d == (double)json_integer_value(v);
    } else if (json_is_boolean(v)) {
        snprintf(text, sizeof(text), "%s", json_is_true(v) ? "true" : "false");
        ok = strcmp(dec, text) == 0;
    }
    if (!ok)
        snprintf(pc->why, sizeof(pc->why),
                 "Header mismatch: %s does not match the value of '%s' in the body", name,
                 argument);
    free(dec);
}

/* Checks the headers of a modern POST against its body (2026-07-28 streamable-http.mdx,
 * "Server Validation"). Returns true when they agree; otherwise answers 400 -32020. A
 * body without the modern envelope is left to the engine (-32602). */
static bool modern_headers_ok(struct http_req *r, const struct post_peek *pk, enum MHD_Result *pret)
{
    const json_t *params = json_object_get(pk->msg, "params");
    const char *version = json_string_value(json_object_get(
        json_object_get(params, "_meta"), "io.modelcontextprotocol/protocolVersion"));
    const char *proto = header(r, "MCP-Protocol-Version");
    const char *method = header(r, "Mcp-Method");
    const char *name = header(r, "Mcp-Name");
    const char *target = NULL;
    bool bad = false;

    /* Notifications have no header rules in 2026-07-28 (streamable-http.mdx: "header
     * requirements for notification POSTs are not defined"). */
    if (!json_is_object(pk->msg) || !pk->is_request || version == NULL)
        return true;
    if (proto == NULL || strcmp(proto, version) != 0) {
        *pret = respond_mismatch(r, pk->id,
                                 "Header mismatch: MCP-Protocol-Version %s does not match "
                                 "_meta io.modelcontextprotocol/protocolVersion '%.40s'",
                                 proto ? "header" : "header is missing and", version);
        return false;
    }
    if (method == NULL || !header_matches(method, pk->method, strlen(pk->method), &bad)) {
        *pret =
            respond_mismatch(r, pk->id, "Header mismatch: Mcp-Method %s the body's method '%.60s'",
                             method ? "does not match" : "is missing; it must be", pk->method);
        return false;
    }
    if (strcmp(pk->method, "tools/call") == 0 || strcmp(pk->method, "prompts/get") == 0)
        target = json_string_value(json_object_get(params, "name"));
    else if (strcmp(pk->method, "resources/read") == 0)
        target = json_string_value(json_object_get(params, "uri"));
    else if (strcmp(pk->method, "tasks/get") == 0 || strcmp(pk->method, "tasks/update") == 0 ||
             strcmp(pk->method, "tasks/cancel") == 0)
        /* SEP-2663, "Streamable HTTP: Routing Headers": Mcp-Name is the task id, so a
         * load balancer can send every request of a task to one instance. */
        target = json_string_value(json_object_get(params, "taskId"));
    if (target != NULL && (name == NULL || !header_matches(name, target, strlen(target), &bad))) {
        *pret = respond_mismatch(r, pk->id, "Header mismatch: Mcp-Name %s",
                                 name == NULL ? "is missing"
                                 : bad        ? "is not a valid header value"
                                              : "does not match the body");
        return false;
    }
    if (target != NULL && strcmp(pk->method, "tools/call") == 0) {
        struct param_check pc = {.r = r, .args = json_object_get(params, "arguments")};
        mcp_server_tool_header_args(r->t->server, target, check_param, &pc);
        if (pc.why[0] != '\0') {
            *pret = respond_mismatch(r, pk->id, "%s", pc.why);
            return false;
        }
    }
    return true;
}

/* Finds the session a POST goes to, or creates one (stateless, or for initialize). Sets
 * *ps and returns MHD_YES with nothing answered, or answers the request itself (an unknown
 * session, a missing session id, a full table) and leaves *ps NULL. */
static enum MHD_Result post_session(struct http_req *r, const struct post_peek *pk,
                                    struct http_session **ps, bool *pnew)
{
    struct http_transport *t = r->t;
    const char *proto = header(r, "MCP-Protocol-Version");
    struct http_session *s;

    *ps = NULL;
    *pnew = false;
    if (pk->modern || t->o.stateless) {
        /* A session of its own that lives as long as this request. */
        s = http_session_new(t, true);
        if (s == NULL)
            return respond_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL, -32603,
                                 "Internal error: out of memory");
        r->owned = s;
        mcp_session_set_owner(s->ms, t->owner); /* its tasks outlive it */
        if (pk->modern)
            mcp_session_set_modern_only(s->ms);
        else if (!pk->is_init)
            mcp_session_set_stateless(s->ms, http_protocol_version_supported(proto) &&
                                                     !mcp_protocol_version_modern(proto)
                                                 ? proto
                                                 : "2025-03-26");
    } else if (r->has_sid) {
        s = http_session_find(t, r->sid);
        if (s == NULL)
            return respond_error(r, MHD_HTTP_NOT_FOUND, NULL, -32001,
                                 "Session not found: it expired or was deleted; initialize a new "
                                 "session");
    } else if (pk->is_init) {
        /* A full table makes room by closing its least recently used idle session; it is
         * full for good only while every session is busy. */
        if (t->nsessions >= t->o.max_sessions && !http_session_evict_idle(t)) {
            static const char *const retry[] = {"Retry-After", "5", NULL};
            return respond_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, retry, -32000,
                                 "Service Unavailable: too many sessions (%u), all of them busy; "
                                 "try again later",
                                 t->o.max_sessions);
        }
        s = http_session_new(t, false);
        if (s == NULL)
            return respond_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL, -32603,
                                 "Internal error: could not create a session");
        http_session_register(s);
        *pnew = true;
    } else if (pk->msg == NULL) {
        return respond_error(r, MHD_HTTP_BAD_REQUEST, NULL, MCP_PARSE_ERROR,
                             "Parse error: the body is not valid JSON");
    } else {
        return respond_error(r, MHD_HTTP_BAD_REQUEST, NULL, -32000,
                             "Bad Request: Mcp-Session-Id header is required (initialize first)");
    }
    *ps = s;
    return MHD_YES;
}

/* The HTTP status of a modern request's reply that is one JSON body (2026-07-28
 * streamable-http.mdx): 404 for an unknown method; 400 for a request refused for its
 * envelope (missing _meta fields, version, requestState), its headers or a capability
 * the client lacks; 200 for anything else, results and errors of the method alike. Our
 * own serialisation puts "error" right after "id", so the code is found near the start. */
static unsigned modern_status(const struct http_event *ev, bool envelope_refused)
{
    static const char key[] = "\"error\":{\"code\":";
    size_t n = ev->data_len < 512 ? ev->data_len : 512;
    char head[513];
    const char *at;
    long code;

    memcpy(head, ev->text + ev->data_off, n);
    head[n] = '\0';
    at = strstr(head, key);
    if (at == NULL || strstr(head, "\"result\":") != NULL)
        return MHD_HTTP_OK;
    code = strtol(at + sizeof(key) - 1, NULL, 10);
    if (code == MCP_METHOD_NOT_FOUND)
        return MHD_HTTP_NOT_FOUND;
    if (envelope_refused || code == MCP_HEADER_MISMATCH || code == MCP_MISSING_CAPABILITY ||
        code == MCP_UNSUPPORTED_VERSION)
        return MHD_HTTP_BAD_REQUEST;
    return MHD_HTTP_OK;
}

/* Answers a POST after the engine has handled it: 202 for a notification, 400 with the
 * engine's error for an invalid message, the reply as JSON when it is ready, or else an
 * SSE stream. st is the request's stream (NULL if there is none or it went away). A new
 * session whose initialize failed is forgotten. */
static enum MHD_Result post_answer(struct http_req *r, struct http_session *s,
                                   struct http_stream *st, enum mcp_msg_kind kind,
                                   const json_t *msg, bool new_session)
{
    const struct http_event *last = st != NULL ? http_sse_log_last(&st->log) : NULL;
    const char *sid = s->stateless ? NULL : s->id;
    enum MHD_Result ret;

    switch (kind) {
    case MCP_MSG_NOTIFICATION:
        if (st != NULL)
            http_stream_free(st);
        mark_cancelled(s, msg);
        return respond(r, MHD_HTTP_ACCEPTED, NULL, "", 0, sid, NULL);
    case MCP_MSG_INVALID:
        if (last != NULL && last->final)
            ret = respond_event(r, MHD_HTTP_BAD_REQUEST, last, NULL);
        else if (s->invalid != NULL)
            ret = respond(r, MHD_HTTP_BAD_REQUEST, "application/json", s->invalid, s->invalid_len,
                          NULL, NULL);
        else
            ret = respond_error(r, MHD_HTTP_BAD_REQUEST, NULL, MCP_INVALID_REQUEST,
                                "Invalid Request");
        if (st != NULL)
            http_stream_free(st);
        if (new_session)
            http_session_close(s);
        return ret;
    case MCP_MSG_REQUEST:
    default:
        break;
    }
    if (st == NULL)
        return respond_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL, -32603,
                             "Internal error: the request has no stream");
    if (new_session && !mcp_session_initialized(s->ms) && st->finished) {
        /* initialize failed: answer its error and forget the session */
        ret = respond_event(r, MHD_HTTP_OK, last, NULL);
        http_session_close(s);
        return ret;
    }
    if (new_session)
        SZ_DEBUG("http: session %.8s… opened", s->id);
    if (st->finished && st->log.count == 1 && http_sse_log_first(&st->log)->final) {
        ret = respond_event(
            r, st->modern ? modern_status(last, mcp_session_envelope_refused(s->ms)) : MHD_HTTP_OK,
            last, sid);
        http_stream_free(st);
        return ret;
    }
    return http_start_sse(r, st, 1);
}

/* The body of a POST is complete: hand the message to a session and answer. */
static enum MHD_Result handle_post(struct http_req *r)
{
    struct http_transport *t = r->t;
    const char *proto = header(r, "MCP-Protocol-Version");
    struct http_session *s = NULL;
    struct http_stream *st = NULL;
    struct post_peek pk = {0};
    bool new_session = false;
    enum mcp_msg_kind kind;
    enum MHD_Result ret;

    if (r->too_large)
        return respond_error(r, MHD_HTTP_CONTENT_TOO_LARGE, NULL, -32000,
                             "Payload Too Large: the body exceeds %zu bytes", t->o.max_body);
    /* Parsed once, with the engine's own flags: the first look here and the engine's
     * handling below share it. */
    pk.msg = json_loadb(r->body ? r->body : "", r->len, JSON_ALLOW_NUL | JSON_DECODE_ANY, NULL);
    if (json_is_object(pk.msg)) {
        json_t *method = json_object_get(pk.msg, "method");
        pk.id = json_object_get(pk.msg, "id");
        pk.method = json_string_value(method);
        pk.is_request = json_is_string(method) && pk.id != NULL;
        pk.is_init = pk.is_request && strcmp(json_string_value(method), "initialize") == 0;
    }
    pk.modern = post_is_modern(r, &pk);
    if (!pk.modern && proto != NULL && !http_protocol_version_supported(proto)) {
        ret = respond_error(r, MHD_HTTP_BAD_REQUEST, NULL, -32000,
                            "Bad Request: unsupported MCP-Protocol-Version '%.40s'", proto);
        goto out;
    }
    if (pk.modern && !modern_headers_ok(r, &pk, &ret))
        goto out;
    ret = post_session(r, &pk, &s, &new_session);
    if (s == NULL)
        goto out;
    http_session_touch(s);
    if (pk.is_request) {
        st = http_stream_new(s, pk.id);
        if (st == NULL) {
            ret = respond_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL, -32603,
                                "Internal error: out of memory");
            if (new_session)
                http_session_close(s);
            goto out;
        }
        if (s->stateless)
            s->solo = st;
        st->modern = pk.modern;
        st->log.no_ids = pk.modern;
    }
    free(s->invalid);
    s->invalid = NULL;
    s->handling = st;
    s->in_handle = true;
    /* A body that is not JSON goes to the engine as it came, for the parse error that
     * says what is wrong with it. */
    kind = pk.msg != NULL ? mcp_session_handle_json(s->ms, pk.msg)
                          : mcp_session_handle(s->ms, r->body ? r->body : "", r->len);
    s->in_handle = false;
    st = s->handling; /* NULL if the stream went away meanwhile */
    s->handling = NULL;
    ret = post_answer(r, s, st, kind, pk.msg, new_session);
out:
    /* Stateless: the session lives until the request ends, with its SSE response if it has
     * one (on_completed closes it); a request answered here is over now. */
    if (r->owned != NULL && r->stream == NULL) {
        struct http_session *own = r->owned;
        r->owned = NULL;
        http_session_close(own);
    }
    json_decref(pk.msg);
    return ret;
}

/* ---- the rules, in order ------------------------------------------------------------ */

/* The rules every request passes before its method matters. Returns true when one of them
 * answered the request (*pret holds what to return to MHD). */
static bool check_common(struct http_req *r, const char *url, const char *method,
                         enum MHD_Result *pret)
{
    struct http_transport *t = r->t;
    static const char *const allow[] = {"Allow", "GET, POST, DELETE", NULL};
    static const char *const www_auth[] = {"WWW-Authenticate", "Bearer realm=\"mcp\"", NULL};
    static const char *const cors[] = {
        "Access-Control-Allow-Methods",
        "GET, POST, DELETE, OPTIONS",
        "Access-Control-Allow-Headers",
        "Authorization, Content-Type, Accept, Mcp-Session-Id, MCP-Protocol-Version, "
        "Last-Event-ID, Mcp-Method, Mcp-Name",
        "Access-Control-Max-Age",
        "600",
        NULL};
    const char *host = header(r, "Host");
    const char *origin = header(r, "Origin");
    const char *proto = header(r, "MCP-Protocol-Version");

    if (t->closing)
        *pret = respond_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, NULL, -32000,
                              "Service Unavailable: the server is shutting down");
    else if (t->loopback && host != NULL && !http_host_is_loopback(host))
        *pret = respond_error(r, MHD_HTTP_FORBIDDEN, NULL, -32000,
                              "Forbidden: Host '%.100s' is not a loopback name (DNS rebinding "
                              "protection)",
                              host);
    else if (origin != NULL && !http_origin_allowed(origin, t->origins))
        *pret = respond_error(r, MHD_HTTP_FORBIDDEN, NULL, -32000,
                              "Forbidden: Origin '%.100s' is not allowed (set "
                              "SANZARU_ALLOWED_ORIGINS)",
                              origin);
    else if (strcmp(url, t->path) != 0)
        *pret = respond_error(r, MHD_HTTP_NOT_FOUND, NULL, -32000,
                              "Not Found: the MCP endpoint is %s", t->path);
    else if (strcmp(method, "OPTIONS") == 0)
        *pret = respond(r, MHD_HTTP_NO_CONTENT, NULL, "", 0, NULL, cors);
    else if (t->token != NULL && !http_bearer_ok(header(r, "Authorization"), t->token))
        *pret = respond_error(r, MHD_HTTP_UNAUTHORIZED, www_auth, -32000,
                              "Unauthorized: send Authorization: Bearer <SANZARU_HTTP_TOKEN>");
    else if (r->kind == HTTP_REQ_OTHER)
        *pret = respond_error(r, MHD_HTTP_METHOD_NOT_ALLOWED, allow, -32000,
                              "Method Not Allowed: use POST, GET or DELETE");
    else if (r->kind != HTTP_REQ_POST && proto != NULL && !http_protocol_version_supported(proto))
        *pret = respond_error(r, MHD_HTTP_BAD_REQUEST, NULL, -32000,
                              "Bad Request: unsupported MCP-Protocol-Version '%.40s'", proto);
    else
        return false;
    return true;
}

/* POST: checks what can be checked before the body arrives, and sizes the body buffer. */
static enum MHD_Result check_post(struct http_req *r)
{
    struct http_transport *t = r->t;
    const char *cl = header(r, "Content-Length");
    char *end = NULL;
    unsigned long long n;

    if (!http_accepts(header(r, "Accept"), "application/json") ||
        !http_accepts(header(r, "Accept"), "text/event-stream"))
        return respond_error(r, MHD_HTTP_NOT_ACCEPTABLE, NULL, -32000,
                             "Not Acceptable: the client must accept both application/json "
                             "and text/event-stream");
    if (!is_json_type(header(r, "Content-Type")))
        return respond_error(r, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, NULL, -32000,
                             "Unsupported Media Type: Content-Type must be application/json");
    if (cl == NULL)
        return MHD_YES;
    n = strtoull(cl, &end, 10);
    if (end != cl && n > (unsigned long long)HTTP_DISCARD_FACTOR * t->o.max_body) {
        /* Far too large to be worth reading: answer now and close. */
        static const char *const close_hdr[] = {"Connection", "close", NULL};
        return respond_error(r, MHD_HTTP_CONTENT_TOO_LARGE, close_hdr, -32000,
                             "Payload Too Large: the body exceeds %zu bytes", t->o.max_body);
    }
    /* A little too large: read and drop it, then answer 413, so the client is not reset
     * while it is still sending and does see the answer. */
    if (end != cl && n > t->o.max_body)
        r->too_large = true;
    if (end != cl && n > 0 && n <= t->o.max_body) {
        r->body = malloc((size_t)n);
        r->cap = r->body ? (size_t)n : 0;
    }
    return MHD_YES;
}

/* First call for a request: every check that needs only the headers. */
static enum MHD_Result on_headers(struct http_req *r, const char *url, const char *method)
{
    struct http_transport *t = r->t;
    const char *sid;
    struct http_session *s = NULL;
    enum MHD_Result ret;

    if (check_common(r, url, method, &ret))
        return ret;
    sid = header(r, "Mcp-Session-Id");
    if (sid != NULL && !t->o.stateless) {
        if (strlen(sid) != HTTP_SID_LEN || (s = http_session_find(t, sid)) == NULL)
            return respond_error(r, MHD_HTTP_NOT_FOUND, NULL, -32001,
                                 "Session not found: it expired or was deleted; initialize a "
                                 "new session");
        memcpy(r->sid, sid, HTTP_SID_LEN + 1);
        r->has_sid = true;
    }
    if (r->kind == HTTP_REQ_GET)
        return handle_get(r, s);
    if (r->kind == HTTP_REQ_DELETE)
        return handle_delete(r, s);
    return check_post(r);
}

static enum MHD_Result on_body(struct http_req *r, const char *data, size_t *size)
{
    size_t n = *size;
    *size = 0;
    if (r->too_large || r->len + n > r->t->o.max_body) {
        r->too_large = true;
        r->discarded += n;
        /* Stop reading a body far past the limit: drop the connection. */
        return r->discarded > (size_t)HTTP_DISCARD_FACTOR * r->t->o.max_body ? MHD_NO : MHD_YES;
    }
    if (r->len + n > r->cap) {
        size_t cap = r->cap ? r->cap : 4096;
        char *nb;
        while (cap < r->len + n)
            cap *= 2;
        if (cap > r->t->o.max_body)
            cap = r->t->o.max_body;
        nb = realloc(r->body, cap);
        if (nb == NULL)
            return MHD_NO;
        r->body = nb;
        r->cap = cap;
    }
    memcpy(r->body + r->len, data, n);
    r->len += n;
    return MHD_YES;
}

/* ---- MHD's callbacks ------------------------------------------------------------------ */

static enum http_req_kind kind_of(const char *method)
{
    if (strcmp(method, "POST") == 0)
        return HTTP_REQ_POST;
    if (strcmp(method, "GET") == 0)
        return HTTP_REQ_GET;
    if (strcmp(method, "DELETE") == 0)
        return HTTP_REQ_DELETE;
    return HTTP_REQ_OTHER;
}

enum MHD_Result http_on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                const char *method, const char *version, const char *upload,
                                size_t *upload_size, void **req_cls)
{
    struct http_transport *t = cls;
    struct http_req *r = *req_cls;
    enum MHD_Result ret;

    (void)version;
    if (r == NULL) {
        r = calloc(1, sizeof(*r));
        if (r == NULL)
            return MHD_NO;
        r->t = t;
        r->conn = conn;
        r->refs = 1;
        r->kind = kind_of(method);
        sz_list_init(&r->link);
        *req_cls = r;
        http_conn_state(t, conn, HTTP_CONN_READING); /* the headers are in */
        ret = on_headers(r, url, method);
        if (r->responded)
            http_conn_state(t, conn, HTTP_CONN_ANSWERING);
        return ret;
    }
    if (r->responded) {
        *upload_size = 0; /* a body after an early answer is ignored */
        return MHD_YES;
    }
    if (*upload_size > 0)
        return on_body(r, upload, upload_size);
    http_conn_state(t, conn, HTTP_CONN_ANSWERING); /* the whole request is in */
    if (r->kind != HTTP_REQ_POST)
        return respond_error(r, MHD_HTTP_BAD_REQUEST, NULL, -32000, "Bad Request");
    return handle_post(r);
}

void http_on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                       enum MHD_RequestTerminationCode toe)
{
    struct http_req *r = *req_cls;

    http_conn_state(cls, conn, HTTP_CONN_WAITING); /* kept alive: waits for its next request */
    if (r == NULL)
        return;
    *req_cls = NULL;
    if (r->stream != NULL) {
        struct http_stream *st = r->stream;
        struct http_session *s = st->s;
        bool done = toe == MHD_REQUEST_TERMINATED_COMPLETED_OK && st->finished &&
                    http_stream_drained(st, r) && r->woff == 0;
        st->conn = NULL;
        st->idle_since = uv_now(r->t->loop);
        r->stream = NULL;
        http_session_touch(s);
        if ((done || st->cancelled) && st != s->get)
            http_stream_free(st);
        else if (st->finished)
            http_stream_limit_lingering(s);
    }
    r->suspended = false;
    http_req_watch_close(r);
    sz_list_remove(&r->link);
    if (r->owned != NULL) {
        struct http_session *own = r->owned;
        r->owned = NULL;
        http_session_close(own); /* stateless: the request is over, so is its session */
    }
    http_req_unref(r);
}
