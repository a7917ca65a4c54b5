/* The two protocol eras behind server.h. A request whose params._meta names a
 * protocol version is "modern" (MCP 2026-07-28): it carries its own version,
 * client capabilities and log level, and is served without any session state.
 * Everything else is "legacy" (2025-11-25 and earlier): served by the rules
 * the session's initialize chose. This file reads a request's envelope,
 * decorates modern results (resultType, serverInfo, cache hints), and serves
 * the two methods only the modern era has: server/discover and
 * subscriptions/listen (which also carries the tasks extension's
 * notifications/tasks for the task ids a stream names).
 *
 * Cache hints (server/utilities/caching.mdx). The tool, prompt and template
 * lists and server/discover depend on nothing but the binary and its
 * configuration at start-up: "public" (no user data; any cache may share
 * them) for an hour, after which a client asks again and so finds an upgraded
 * server within the hour. resources/list and resources/read show the user's
 * media files, which change whenever a tool writes one: "private" and 0 ms
 * (a client re-reads when it needs them; a listen stream tells it when the
 * list changed). */
#include "fmacros.h"

#include "mcp/mcp_int.h"
#include "core/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STATIC_TTL_MS 3600000

/* ---- the request context ------------------------------------------------- */

void mcp_req_ctx_copy(struct mcp_req_ctx *dst, const struct mcp_req_ctx *src)
{
    *dst = *src;
    json_incref(dst->caps);
    json_incref(dst->input_responses);
    json_incref(dst->state);
}

void mcp_req_ctx_clear(struct mcp_req_ctx *rc)
{
    json_decref(rc->caps);
    json_decref(rc->input_responses);
    json_decref(rc->state);
    memset(rc, 0, sizeof(*rc));
}

static json_t *version_list(void)
{
    json_t *list = json_array();

    for (size_t i = 0; i < mcp_nmodern_versions; i++)
        json_array_append_new(list, json_string(mcp_modern_versions[i]));
    for (size_t i = 0; i < mcp_nsupported_versions; i++)
        json_array_append_new(list, json_string(mcp_supported_versions[i]));
    return list;
}

/* The MRTR fields of a retry (mrtr.mdx): inputResponses must be an object,
 * and requestState must be one this server sealed for this very request. */
static int read_retry(struct mcp_session *s, const char *method, const json_t *id,
                      const json_t *params, struct mcp_req_ctx *rc)
{
    const json_t *responses = json_object_get(params, "inputResponses");
    const json_t *state = json_object_get(params, "requestState");
    char why[256];

    if (responses != NULL && !json_is_object(responses)) {
        mcp_send_error(s, id, MCP_INVALID_PARAMS,
                       "Invalid params: 'inputResponses' must be an object mapping the keys of "
                       "inputRequests to their results");
        return SZ_EINVAL;
    }
    if (state != NULL && !json_is_string(state)) {
        mcp_send_error(s, id, MCP_INVALID_PARAMS,
                       "Invalid params: 'requestState' must be the string the server sent");
        return SZ_EINVAL;
    }
    if (state != NULL && mcp_state_open(s->server, method, params, json_string_value(state),
                                        &rc->state, why, sizeof(why)) != 0) {
        mcp_send_errorf(s, id, MCP_INVALID_PARAMS, "Invalid requestState: %s", why);
        return SZ_EINVAL;
    }
    rc->input_responses = json_incref((json_t *)(uintptr_t)responses);
    return 0;
}

int mcp_era_classify(struct mcp_session *s, const char *method, const json_t *id,
                     const json_t *params, struct mcp_req_ctx *rc)
{
    const json_t *meta = json_object_get(params, "_meta");
    const json_t *version = json_object_get(meta, MCP_META_VERSION);
    const json_t *caps = json_object_get(meta, MCP_META_CAPABILITIES);
    const json_t *level = json_object_get(meta, MCP_META_LOG_LEVEL);
    const char *v;

    memset(rc, 0, sizeof(*rc));
    rc->log_threshold = s->log_threshold;
    /* Modern when the envelope says so (either of its required keys), when the
     * transport knows it (an HTTP POST with a modern MCP-Protocol-Version), or
     * for the methods only the modern era has. */
    rc->modern = version != NULL || caps != NULL || s->modern_only ||
                 strcmp(method, "server/discover") == 0 ||
                 strcmp(method, "subscriptions/listen") == 0;
    if (!rc->modern)
        return 0;
    if (!json_is_string(version) || !json_is_object(caps)) {
        mcp_send_error(s, id, MCP_INVALID_PARAMS,
                       "Invalid params: a request of MCP 2026-07-28 carries _meta with "
                       "io.modelcontextprotocol/protocolVersion (a string) and "
                       "io.modelcontextprotocol/clientCapabilities (an object); clients of "
                       "2025-11-25 and earlier send initialize first");
        return SZ_EINVAL;
    }
    v = json_string_value(version);
    if (!mcp_protocol_version_modern(v)) {
        char msg[160];
        snprintf(msg, sizeof(msg),
                 mcp_protocol_version_supported(v)
                     ? "Unsupported protocol version: %.40s is served only after initialize"
                     : "Unsupported protocol version: %.40s",
                 v);
        mcp_send_error_data(s, id, MCP_UNSUPPORTED_VERSION, msg,
                            json_pack("{s:o, s:s}", "supported", version_list(), "requested", v));
        return SZ_EINVAL;
    }
    rc->log_threshold = MCP_LOG_OFF;
    if (level != NULL) {
        const char *name = json_string_value(level);
        for (size_t i = 0; name != NULL && i < mcp_nlevels; i++)
            if (strcmp(name, mcp_levels[i]) == 0)
                rc->log_threshold = (int)i;
        if (rc->log_threshold == MCP_LOG_OFF) {
            mcp_send_error(s, id, MCP_INVALID_PARAMS,
                           "Invalid params: io.modelcontextprotocol/logLevel must be one of "
                           "debug, info, notice, warning, error, critical, alert, emergency");
            return SZ_EINVAL;
        }
    }
    rc->caps = json_incref((json_t *)(uintptr_t)caps);
    if (strcmp(method, "tools/call") == 0 || strcmp(method, "prompts/get") == 0 ||
        strcmp(method, "resources/read") == 0) {
        if (read_retry(s, method, id, params, rc) != 0) {
            mcp_req_ctx_clear(rc);
            return SZ_EINVAL;
        }
    }
    return 0;
}

bool mcp_ctx_supports(const struct mcp_session *s, const struct mcp_req_ctx *rc, const char *name)
{
    const json_t *caps = rc->modern ? rc->caps : s->client_capabilities;
    return json_is_object(json_object_get(caps, name));
}

/* ---- results ---------------------------------------------------------------- */

void mcp_era_decorate(const struct mcp_server *server, json_t *result, enum mcp_cache cache)
{
    json_t *meta = json_object_get(result, "_meta");

    if (!json_is_object(result))
        return;
    if (json_object_get(result, "resultType") == NULL)
        json_object_set_new(result, "resultType", json_string("complete"));
    if (!json_is_object(meta)) {
        meta = json_object();
        json_object_set_new(result, "_meta", meta);
    }
    json_object_set(meta, MCP_META_SERVER_INFO, server->server_info);
    if (cache == MCP_CACHE_STATIC) {
        json_object_set_new(result, "ttlMs", json_integer(STATIC_TTL_MS));
        json_object_set_new(result, "cacheScope", json_string("public"));
    } else if (cache == MCP_CACHE_PRIVATE) {
        json_object_set_new(result, "ttlMs", json_integer(0));
        json_object_set_new(result, "cacheScope", json_string("private"));
    }
}

char *mcp_era_tail(const struct mcp_server *server)
{
    char *info = json_dumps(server->server_info, JSON_COMPACT);
    static const char head[] =
        ",\"resultType\":\"complete\",\"_meta\":{\"" MCP_META_SERVER_INFO "\":";
    char *tail = NULL;
    size_t n;

    if (info == NULL)
        return NULL;
    n = sizeof(head) - 1 + strlen(info) + 2;
    tail = malloc(n);
    if (tail != NULL)
        snprintf(tail, n, "%s%s}", head, info);
    free(info);
    return tail;
}

/* ---- server/discover ---------------------------------------------------------- */

void mcp_handle_discover(struct mcp_session *s, const json_t *id, json_t *params)
{
    json_t *result;

    (void)params;
    result = json_pack("{s:o, s:o}", "supportedVersions", version_list(), "capabilities",
                       mcp_server_capabilities(s->server, true, NULL));
    if (s->server->instructions != NULL)
        json_object_set_new(result, "instructions", json_string(s->server->instructions));
    mcp_reply(s, id, result, MCP_CACHE_STATIC);
}

/* ---- subscriptions/listen ------------------------------------------------------ */

/* The filter fields this server honours, and the list each stands for. */
static const struct {
    const char *key;
    unsigned list;
} list_keys[] = {
    {"toolsListChanged", MCP_LIST_TOOLS},
    {"promptsListChanged", MCP_LIST_PROMPTS},
    {"resourcesListChanged", MCP_LIST_RESOURCES},
};

static void listen_cancelled(struct mcp_call *call, void *data)
{
    (void)data;
    mcp_call_reply_raw(call, NULL); /* cancelled: nothing is sent, the call is freed */
}

/* The acknowledged filter: the requested fields this server can honour. */
static json_t *accepted_filter(const struct mcp_server *server, const json_t *asked)
{
    json_t *ack = json_object();
    json_t *uris = json_object_get(asked, "resourceSubscriptions");

    for (size_t i = 0; i < sizeof(list_keys) / sizeof(list_keys[0]); i++)
        if (json_is_true(json_object_get(asked, list_keys[i].key)) &&
            (server->list_changed & list_keys[i].list))
            json_object_set_new(ack, list_keys[i].key, json_true());
    if (json_is_array(uris)) {
        json_t *kept = json_array();
        size_t i;
        json_t *u;
        json_array_foreach(uris, i, u)
        {
            if (json_is_string(u))
                json_array_append(kept, u);
        }
        json_object_set_new(ack, "resourceSubscriptions", kept);
    }
    /* The tasks extension's notifications/tasks, for the tasks named (SEP-2663). */
    if (server->task_tools && json_is_array(json_object_get(asked, "taskIds"))) {
        json_t *kept = json_array();
        size_t i;
        json_t *t;
        json_array_foreach(json_object_get(asked, "taskIds"), i, t)
        {
            if (json_is_string(t))
                json_array_append(kept, t);
        }
        json_object_set_new(ack, "taskIds", kept);
    }
    return ack;
}

void mcp_handle_listen(struct mcp_session *s, const json_t *id, json_t *params)
{
    json_t *asked = json_object_get(params, "notifications");
    struct mcp_call *call;
    json_t *ack;

    if (asked != NULL && !json_is_object(asked)) {
        mcp_send_error(s, id, MCP_INVALID_PARAMS,
                       "Invalid params: 'notifications' must be an object (toolsListChanged, "
                       "promptsListChanged, resourcesListChanged, resourceSubscriptions)");
        return;
    }
    if (json_object_get(asked, "taskIds") != NULL && s->server->task_tools &&
        !mcp_task_client_declared(&s->cur)) {
        mcp_task_send_missing(s, id,
                              "Missing required client capability: task notifications need the "
                              "extension " MCP_TASKS_EXTENSION " in clientCapabilities");
        return;
    }
    call = mcp_call_new(s, MCP_CALL_LISTEN, id, params, 0);
    if (call == NULL) {
        mcp_send_error(s, id, MCP_INTERNAL_ERROR, "out of memory");
        return;
    }
    call->name = mcp_strdup("subscriptions/listen");
    call->args = accepted_filter(s->server, asked);
    s->nlisten++;
    mcp_call_on_cancel(call, listen_cancelled, NULL);
    ack = json_pack("{s:{s:O}, s:O}", "_meta", MCP_META_SUBSCRIPTION, call->id, "notifications",
                    call->args);
    mcp_send_notification(s, "notifications/subscriptions/acknowledged", ack, call->id);
}

void mcp_listen_end_all(struct mcp_session *s)
{
    struct sz_link *pos, *tmp;

    SZ_LIST_FOREACH_SAFE(pos, tmp, &s->calls)
    {
        struct mcp_call *call = container_of(pos, struct mcp_call, link);
        json_t *result;
        if (call->kind != MCP_CALL_LISTEN || call->cancelled)
            continue;
        /* subscriptions.mdx, "Graceful Closure": a result tagged with the
         * subscription's id tells the client the end was ours, not a drop. */
        result = json_pack("{s:s, s:{s:O, s:O}}", "resultType", "complete", "_meta",
                           MCP_META_SUBSCRIPTION, call->id, MCP_META_SERVER_INFO,
                           s->server->server_info);
        mcp_call_reply_raw(call, result);
        tmp = s->calls.next; /* replying may have changed the list: start over */
    }
}

/* True when a listen's accepted filter takes this notification. */
static bool filter_takes(const json_t *filter, const char *key, const char *uri)
{
    json_t *uris;
    size_t i;
    json_t *u;

    if (key != NULL)
        return json_is_true(json_object_get(filter, key));
    uris = json_object_get(filter, "resourceSubscriptions");
    json_array_foreach(uris, i, u)
    {
        if (strcmp(json_string_value(u), uri) == 0)
            return true;
    }
    return false;
}

void mcp_listen_task(struct mcp_server *server, const char *task_id, const char *owner,
                     const json_t *task)
{
    struct sz_link *spos, *cpos;

    SZ_LIST_FOREACH(spos, &server->sessions)
    {
        struct mcp_session *s = container_of(spos, struct mcp_session, link);
        if (s->closing || s->nlisten == 0 || strcmp(s->owner, owner) != 0)
            continue;
        SZ_LIST_FOREACH(cpos, &s->calls)
        {
            struct mcp_call *call = container_of(cpos, struct mcp_call, link);
            json_t *ids = json_object_get(call->args, "taskIds"), *p, *t;
            size_t i;
            bool wanted = false;
            if (call->kind != MCP_CALL_LISTEN || call->cancelled)
                continue;
            json_array_foreach(ids, i, t)
            {
                wanted = wanted || strcmp(json_string_value(t), task_id) == 0;
            }
            if (!wanted)
                continue;
            p = json_deep_copy(task);
            json_object_set_new(p, "_meta", json_pack("{s:O}", MCP_META_SUBSCRIPTION, call->id));
            mcp_send_notification(s, "notifications/tasks", p, call->id);
        }
    }
}

void mcp_listen_broadcast(struct mcp_server *server, const char *key, const char *uri,
                          const char *method, json_t *params)
{
    struct sz_link *spos, *cpos;

    SZ_LIST_FOREACH(spos, &server->sessions)
    {
        struct mcp_session *s = container_of(spos, struct mcp_session, link);
        if (s->closing || s->nlisten == 0)
            continue;
        SZ_LIST_FOREACH(cpos, &s->calls)
        {
            struct mcp_call *call = container_of(cpos, struct mcp_call, link);
            json_t *p;
            if (call->kind != MCP_CALL_LISTEN || call->cancelled ||
                !filter_takes(call->args, key, uri))
                continue;
            p = params != NULL ? json_deep_copy(params) : json_object();
            json_object_set_new(p, "_meta", json_pack("{s:O}", MCP_META_SUBSCRIPTION, call->id));
            /* Sending never runs a handler, so the lists stay as they are. */
            mcp_send_notification(s, method, p, call->id);
        }
    }
    json_decref(params);
}
