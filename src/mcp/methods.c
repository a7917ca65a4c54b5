/* The method handlers behind server.h: initialize, tools/list and tools/call
 * (arguments checked and parsed from the tool's table; a call that may run as
 * a task becomes one here), resources/list, read, templates, subscribe and
 * unsubscribe, prompts/list and get, completion/complete and logging/setLevel
 * (server/discover and subscriptions/listen are era.c's, the tasks methods
 * tasks.c's). The message loop (session.c) has already
 * checked the JSON-RPC shape, the era, the lifecycle and the request id; a
 * handler replies through mcp_reply, which shapes a modern result. */
#include "fmacros.h"

#include "mcp/mcp_int.h"
#include "core/err.h"
#include "core/parse.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Decodes an opaque cursor ("c" + decimal offset); 0 and sets *poffset, or -1. */
static int parse_cursor(const json_t *params, size_t *poffset)
{
    json_t *cursor = json_object_get(params, "cursor");
    const char *text;
    unsigned long long n;

    *poffset = 0;
    if (cursor == NULL || json_is_null(cursor))
        return 0;
    text = json_string_value(cursor);
    if (text == NULL || text[0] != 'c' || sz_parse_ull(text + 1, 0, SIZE_MAX, &n) != 0)
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

static void handle_initialize(struct mcp_session *s, const json_t *id, json_t *params)
{
    const char *requested = json_string_value(json_object_get(params, "protocolVersion"));
    const char *chosen = mcp_supported_versions[0];
    json_t *caps;
    json_t *result;

    if (s->initialized && !s->stateless) {
        mcp_send_error(s, id, MCP_INVALID_REQUEST, "The session is already initialized");
        return;
    }
    if (requested == NULL) {
        mcp_send_error(s, id, MCP_INVALID_PARAMS, "initialize: 'protocolVersion' is required");
        return;
    }
    for (size_t i = 0; i < mcp_nsupported_versions; i++)
        if (strcmp(requested, mcp_supported_versions[i]) == 0)
            chosen = mcp_supported_versions[i];
    snprintf(s->protocol_version, sizeof(s->protocol_version), "%s", chosen);
    json_decref(s->client_capabilities);
    s->client_capabilities = json_incref(json_object_get(params, "capabilities"));
    s->initialized = true;

    caps = mcp_server_capabilities(s->server, false, chosen);
    result = json_pack("{s:s, s:o, s:{s:s, s:s, s:s}}", "protocolVersion", chosen, "capabilities",
                       caps, "serverInfo", "name", s->server->name, "title", "Sanzaru", "version",
                       s->server->version);
    if (s->server->instructions != NULL)
        json_object_set_new(result, "instructions", json_string(s->server->instructions));
    mcp_send_result(s, id, result);
}

static void handle_tools_list(struct mcp_session *s, const json_t *id, json_t *params)
{
    json_t *all;
    size_t offset;

    if (parse_cursor(params, &offset) != 0) {
        mcp_send_error(s, id, MCP_INVALID_PARAMS, "Invalid cursor");
        return;
    }
    all = json_array();
    for (size_t i = 0; i < s->server->ntools; i++)
        json_array_append_new(all, mcp_tool_listing(&s->server->tools[i], s->cur.modern));
    mcp_reply(s, id, page_of(all, "tools", offset, s->server->page_size), MCP_CACHE_STATIC);
    json_decref(all);
}

/* A tools/call whose arguments failed validation: a JSON-RPC error, or under
 * MCP_ARGS_ERRORS_AS_RESULTS a tool result the model can read and act on, of the
 * error kind "input". */
static void refuse_arguments(struct mcp_session *s, const json_t *id, const char *tool,
                             const char *msg)
{
    char text[1024];

    snprintf(text, sizeof(text), "Invalid arguments for tool %s: %s", tool, msg);
    if (s->server->arg_policy & MCP_ARGS_ERRORS_AS_RESULTS)
        mcp_reply(s, id,
                  json_pack("{s:[{s:s, s:s}], s:b, s:{s:s}}", "content", "type", "text", "text",
                            text, "isError", 1, "_meta", MCP_META_ERROR_KIND,
                            mcp_error_kind_name(MCP_ERROR_INPUT)),
                  MCP_CACHE_NONE);
    else
        mcp_send_error(s, id, MCP_INVALID_PARAMS, text);
}

static void handle_tools_call(struct mcp_session *s, const json_t *id, json_t *params)
{
    const char *name = json_string_value(json_object_get(params, "name"));
    json_t *args = json_object_get(params, "arguments");
    const struct mcp_tool_entry *tool;
    struct mcp_call *call;
    enum mcp_task_mode mode;
    int64_t ttl;
    char msg[512];
    int rc;

    if (name == NULL) {
        mcp_send_error(s, id, MCP_INVALID_PARAMS, "tools/call: 'name' must be a string");
        return;
    }
    tool = mcp_find_tool(s->server, name);
    if (tool == NULL) {
        mcp_send_errorf(s, id, MCP_INVALID_PARAMS, "Unknown tool: %s", name);
        return;
    }
    if (args != NULL && !json_is_null(args) && !json_is_object(args)) {
        refuse_arguments(s, id, name, "'arguments' must be an object");
        return;
    }
    if (mcp_task_mode_of(s, tool, id, params, &mode, &ttl) != 0)
        return; /* refused: the tool cannot, or must, run as a task */
    call = mcp_call_new(s, MCP_CALL_TOOL, id, params, tool->tool->args_size);
    if (call == NULL) {
        mcp_send_error(s, id, MCP_INTERNAL_ERROR, "out of memory");
        return;
    }
    call->args = json_is_object(args) ? json_incref(args) : json_object();
    call->name = mcp_strdup(name);
    call->task_mode = mode;
    call->task_ttl_ms = ttl;
    rc = mcp_args_parse(tool, &call->args, s->server->arg_policy, call->parsed, msg, sizeof(msg));
    if (rc == SZ_EINVAL && mode == MCP_TASK_ASKED &&
        (s->server->arg_policy & MCP_ARGS_ERRORS_AS_RESULTS) && mcp_task_adopt(s, call) == 0) {
        /* A 2025-11-25 client asked for a task: it gets one, whose result is
         * the sentence it would have got at once. */
        mcp_call_fail(call, "Invalid arguments for tool %s: %s", name, msg);
        return;
    }
    if (rc != 0) {
        /* Not a call after all: nothing was started, nothing to cancel. */
        mcp_call_discard(call);
        if (rc == SZ_EINVAL)
            refuse_arguments(s, id, name, msg);
        else
            mcp_send_error(s, id, MCP_INTERNAL_ERROR, "out of memory");
        return;
    }
    call->tool = tool;
    if (mode == MCP_TASK_ASKED && mcp_task_adopt(s, call) != 0) {
        mcp_call_discard(call);
        mcp_send_error(s, id, MCP_INTERNAL_ERROR, "out of memory");
        return;
    }
    SZ_DEBUG("tools/call %s", name);
    mcp_call_hold(call); /* start may finish it */
    tool->tool->start(call, call->parsed);
    /* The extension's tasks: a call that outlives its start function becomes a
     * task (SEP-2663: the server decides; a quick call answers at once). */
    if (!call->finished && mode == MCP_TASK_MAYBE && call->task == NULL &&
        mcp_task_adopt(s, call) != 0)
        SZ_WARN("tools/call %s: could not become a task (out of memory); it answers when done",
                name);
    mcp_call_release(call);
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

void mcp_resources_list_next(struct mcp_call *call)
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
    mcp_call_reply(call,
                   page_of(call->list_items, "resources", call->list_offset, server->page_size));
}

static void handle_resources_list(struct mcp_session *s, const json_t *id, json_t *params)
{
    size_t offset;
    struct mcp_call *call;

    if (parse_cursor(params, &offset) != 0) {
        mcp_send_error(s, id, MCP_INVALID_PARAMS, "Invalid cursor");
        return;
    }
    call = mcp_call_new(s, MCP_CALL_RESOURCES_LIST, id, params, 0);
    if (call == NULL) {
        mcp_send_error(s, id, MCP_INTERNAL_ERROR, "out of memory");
        return;
    }
    call->name = mcp_strdup("resources/list");
    call->list_offset = offset;
    call->list_items = json_array();
    mcp_resources_list_next(call);
}

static void handle_templates_list(struct mcp_session *s, const json_t *id, json_t *params)
{
    json_t *all = json_array();
    size_t offset;

    if (parse_cursor(params, &offset) != 0) {
        json_decref(all);
        mcp_send_error(s, id, MCP_INVALID_PARAMS, "Invalid cursor");
        return;
    }
    for (size_t i = 0; i < s->server->nresources; i++)
        if (s->server->resources[i]->uri_template != NULL)
            json_array_append_new(all, resource_item(s->server->resources[i], true));
    mcp_reply(s, id, page_of(all, "resourceTemplates", offset, s->server->page_size),
              MCP_CACHE_STATIC);
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
        mcp_send_error(s, id, MCP_INVALID_PARAMS, "resources/read: 'uri' must be a string");
        return;
    }
    p = find_provider(s->server, uri);
    if (p == NULL || p->read == NULL) {
        char msg[512];
        snprintf(msg, sizeof(msg), "Resource not found: %s", uri);
        if (s->cur.modern) /* -32602 with the URI (2026-07-28 server/resources.mdx) */
            mcp_send_error_data(s, id, MCP_INVALID_PARAMS, msg, json_pack("{s:s}", "uri", uri));
        else
            mcp_send_error(s, id, MCP_RESOURCE_NOT_FOUND, msg);
        return;
    }
    call = mcp_call_new(s, MCP_CALL_RESOURCE_READ, id, params, 0);
    if (call == NULL) {
        mcp_send_error(s, id, MCP_INTERNAL_ERROR, "out of memory");
        return;
    }
    call->name = mcp_strdup("resources/read");
    call->uri = mcp_strdup(uri);
    p->read(call, call->uri, p->data);
}

static void handle_prompts_list(struct mcp_session *s, const json_t *id, json_t *params)
{
    json_t *all = json_array();
    size_t offset;

    if (parse_cursor(params, &offset) != 0) {
        json_decref(all);
        mcp_send_error(s, id, MCP_INVALID_PARAMS, "Invalid cursor");
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
    mcp_reply(s, id, page_of(all, "prompts", offset, s->server->page_size), MCP_CACHE_STATIC);
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
        mcp_send_error(s, id, MCP_INVALID_PARAMS, "prompts/get: 'name' must be a string");
        return;
    }
    p = find_prompt(s->server, name);
    if (p == NULL) {
        mcp_send_errorf(s, id, MCP_INVALID_PARAMS, "Unknown prompt: %s", name);
        return;
    }
    if (args != NULL && !json_is_object(args) && !json_is_null(args)) {
        mcp_send_error(s, id, MCP_INVALID_PARAMS, "prompts/get: 'arguments' must be an object");
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
                mcp_send_errorf(s, id, MCP_INVALID_PARAMS, "Prompt %s: argument '%s' is required",
                                name, arg);
                json_decref(decl);
                return;
            }
        }
        json_decref(decl);
    }
    call = mcp_call_new(s, MCP_CALL_PROMPT_GET, id, params, 0);
    if (call == NULL) {
        mcp_send_error(s, id, MCP_INTERNAL_ERROR, "out of memory");
        return;
    }
    call->name = mcp_strdup(name);
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
        mcp_send_error(s, id, MCP_INVALID_PARAMS,
                       "completion/complete needs ref.type, argument.name and argument.value");
        return;
    }
    if (strcmp(type, "ref/prompt") == 0) {
        const char *name = json_string_value(json_object_get(ref, "name"));
        const struct mcp_prompt *p = name ? find_prompt(s->server, name) : NULL;
        if (p == NULL) {
            mcp_send_errorf(s, id, MCP_INVALID_PARAMS, "Unknown prompt: %s", name ? name : "");
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
            mcp_send_errorf(s, id, MCP_INVALID_PARAMS, "Unknown resource: %s", uri ? uri : "");
            return;
        }
        fn = p->complete;
        data = p->data;
    } else {
        mcp_send_errorf(s, id, MCP_INVALID_PARAMS, "Unknown reference type: %s", type);
        return;
    }
    if (fn == NULL) {
        mcp_reply(s, id, json_pack("{s:{s:[], s:b}}", "completion", "values", "hasMore", 0),
                  MCP_CACHE_NONE);
        return;
    }
    call = mcp_call_new(s, MCP_CALL_COMPLETE, id, params, 0);
    if (call == NULL) {
        mcp_send_error(s, id, MCP_INTERNAL_ERROR, "out of memory");
        return;
    }
    call->name = mcp_strdup("completion/complete");
    call->args = json_incref(params);
    fn(call, arg_name, arg_value, data);
}

static void handle_subscribe(struct mcp_session *s, const json_t *id, json_t *params)
{
    const char *uri = json_string_value(json_object_get(params, "uri"));
    if (uri == NULL) {
        mcp_send_error(s, id, MCP_INVALID_PARAMS, "resources/subscribe: 'uri' must be a string");
        return;
    }
    json_object_set_new(s->subscriptions, uri, json_true());
    mcp_send_result(s, id, json_object());
}

static void handle_unsubscribe(struct mcp_session *s, const json_t *id, json_t *params)
{
    const char *uri = json_string_value(json_object_get(params, "uri"));
    if (uri == NULL) {
        mcp_send_error(s, id, MCP_INVALID_PARAMS, "resources/unsubscribe: 'uri' must be a string");
        return;
    }
    json_object_del(s->subscriptions, uri);
    mcp_send_result(s, id, json_object());
}

static void handle_set_level(struct mcp_session *s, const json_t *id, json_t *params)
{
    const char *level = json_string_value(json_object_get(params, "level"));

    for (size_t i = 0; level != NULL && i < mcp_nlevels; i++) {
        if (strcmp(level, mcp_levels[i]) == 0) {
            s->log_threshold = (int)i;
            mcp_send_result(s, id, json_object());
            return;
        }
    }
    mcp_send_error(s, id, MCP_INVALID_PARAMS,
                   "logging/setLevel: 'level' must be one of debug, info, notice, warning, error, "
                   "critical, alert, emergency");
}

typedef void method_fn(struct mcp_session *s, const json_t *id, json_t *params);

/* Which era serves a method: legacy only (removed by 2026-07-28: the
 * handshake, ping, logging/setLevel and the subscribe pair, which
 * subscriptions/listen replaces), modern only, or both. */
enum { LEGACY = 1u << 0, MODERN = 1u << 1, BOTH = LEGACY | MODERN };

static const struct {
    const char *method;
    method_fn *fn;
    unsigned eras;
} methods[] = {
    {"initialize", handle_initialize, LEGACY},
    {"server/discover", mcp_handle_discover, MODERN},
    {"subscriptions/listen", mcp_handle_listen, MODERN},
    {"tools/list", handle_tools_list, BOTH},
    {"tools/call", handle_tools_call, BOTH},
    {"resources/list", handle_resources_list, BOTH},
    {"resources/templates/list", handle_templates_list, BOTH},
    {"resources/read", handle_resources_read, BOTH},
    {"resources/subscribe", handle_subscribe, LEGACY},
    {"resources/unsubscribe", handle_unsubscribe, LEGACY},
    {"prompts/list", handle_prompts_list, BOTH},
    {"prompts/get", handle_prompts_get, BOTH},
    {"completion/complete", handle_complete, BOTH},
    {"logging/setLevel", handle_set_level, LEGACY},
    {"tasks/get", mcp_handle_tasks_get, BOTH},
    {"tasks/cancel", mcp_handle_tasks_cancel, BOTH},
    {"tasks/result", mcp_handle_tasks_result, LEGACY}, /* removed by SEP-2663 */
    {"tasks/list", mcp_handle_tasks_list, LEGACY},     /* removed by SEP-2663 */
    {"tasks/update", mcp_handle_tasks_update, MODERN},
};

void mcp_methods_dispatch(struct mcp_session *s, const char *method, const json_t *id,
                          json_t *params)
{
    unsigned era = s->cur.modern ? MODERN : LEGACY;

    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        if (strcmp(method, methods[i].method) != 0)
            continue;
        if (methods[i].eras & era) {
            methods[i].fn(s, id, params);
            return;
        }
        if (era == MODERN) {
            mcp_send_errorf(s, id, MCP_METHOD_NOT_FOUND,
                            "Method not found: %s (not part of MCP 2026-07-28; it needs a "
                            "session opened by initialize)",
                            method);
            return;
        }
        break;
    }
    mcp_send_errorf(s, id, MCP_METHOD_NOT_FOUND, "Method not found: %s", method);
}
