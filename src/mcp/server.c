/* The registry behind server.h: a server holds the rows registered on it
 * (tools with their compiled argument tables and built schemas, resource
 * providers, prompts), what it tells clients about itself (versions,
 * capabilities, identity), the key that seals requestState, and the list of
 * open sessions, to which it announces changes. The message loop lives in
 * session.c, the eras in era.c, calls in call.c, the method handlers in
 * methods.c. */
#include "fmacros.h"

#include "mcp/mcp_int.h"
#include "core/err.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define DEFAULT_STATE_TTL_MS (10u * 60u * 1000u)

/* Tasks (docs/tasks.md): kept an hour from their creation unless a 2025-11-25
 * client asks otherwise, within a minute and a day; polled every second until a
 * tool suggests its own pace. */
#define DEFAULT_TASK_TTL_MS  (60LL * 60 * 1000)
#define MIN_TASK_TTL_MS      (60LL * 1000)
#define MAX_TASK_TTL_MS      (24LL * 60 * 60 * 1000)
#define DEFAULT_TASK_POLL_MS 1000

const char *const mcp_modern_versions[] = {"2026-07-28"};
const size_t mcp_nmodern_versions = sizeof(mcp_modern_versions) / sizeof(mcp_modern_versions[0]);

const char *const mcp_supported_versions[] = {"2025-11-25", "2025-06-18", "2025-03-26",
                                              "2024-11-05"};
const size_t mcp_nsupported_versions =
    sizeof(mcp_supported_versions) / sizeof(mcp_supported_versions[0]);

const char *const mcp_levels[] = {"debug", "info",     "notice", "warning",
                                  "error", "critical", "alert",  "emergency"};
const size_t mcp_nlevels = sizeof(mcp_levels) / sizeof(mcp_levels[0]);

char *mcp_strdup(const char *s)
{
    char *d = s ? strdup(s) : NULL;
    if (s != NULL && d == NULL)
        abort(); /* allocation of a few bytes failed: nothing sensible remains */
    return d;
}

struct mcp_server *mcp_server_new(uv_loop_t *loop, const char *name, const char *version,
                                  const char *instructions)
{
    struct mcp_server *server = calloc(1, sizeof(*server));
    if (server == NULL)
        return NULL;
    server->loop = loop;
    server->name = mcp_strdup(name);
    server->version = mcp_strdup(version);
    server->instructions = mcp_strdup(instructions);
    server->page_size = MCP_DEFAULT_PAGE_SIZE;
    server->arg_policy = MCP_ARGS_DEFAULT;
    server->list_changed = MCP_LIST_RESOURCES;
    server->state_ttl_ms = DEFAULT_STATE_TTL_MS;
    server->task_ttl_ms = DEFAULT_TASK_TTL_MS;
    server->task_min_ttl_ms = MIN_TASK_TTL_MS;
    server->task_max_ttl_ms = MAX_TASK_TTL_MS;
    server->task_poll_ms = DEFAULT_TASK_POLL_MS;
    sz_list_init(&server->sessions);
    sz_list_init(&server->tasks);
    /* A random key per process: state sealed here is refused elsewhere unless
     * the instances share one (mcp_server_set_state_key). */
    if (getrandom(server->state_key, sizeof(server->state_key), 0) !=
        (ssize_t)sizeof(server->state_key))
        abort(); /* no entropy at start-up: nothing could be sealed safely */
    server->server_info =
        json_pack("{s:s, s:s, s:s}", "name", server->name ? server->name : "", "title", "Sanzaru",
                  "version", server->version ? server->version : "");
    server->modern_tail = mcp_era_tail(server);
    if (server->server_info == NULL || server->modern_tail == NULL) {
        mcp_server_free(server);
        return NULL;
    }
    return server;
}

int mcp_server_set_state_key(struct mcp_server *server, const void *key, size_t len)
{
    if (key == NULL || len < 16)
        return SZ_EINVAL;
    SHA256(key, len, server->state_key);
    return 0;
}

void mcp_server_set_state_ttl(struct mcp_server *server, uint64_t ttl_ms)
{
    server->state_ttl_ms = ttl_ms > 0 ? ttl_ms : DEFAULT_STATE_TTL_MS;
}

void mcp_server_set_list_changed(struct mcp_server *server, unsigned lists)
{
    server->list_changed = lists;
}

json_t *mcp_server_capabilities(const struct mcp_server *server, bool modern, const char *version)
{
    json_t *caps = json_pack(
        "{s:{s:b}, s:{s:b, s:b}, s:{s:b}, s:{}, s:{}}", "tools", "listChanged",
        (server->list_changed & MCP_LIST_TOOLS) != 0, "resources", "subscribe", 1, "listChanged",
        (server->list_changed & MCP_LIST_RESOURCES) != 0, "prompts", "listChanged",
        (server->list_changed & MCP_LIST_PROMPTS) != 0, "logging", "completions");

    if (!server->task_tools || caps == NULL)
        return caps;
    /* Tasks: 2025-11-25's capability (experimental core), or 2026-07-28's
     * extension; never both on one wire (SEP-2663, "Backward Compatibility"). */
    if (modern)
        json_object_set_new(caps, "extensions", json_pack("{s:{}}", MCP_TASKS_EXTENSION));
    else if (version != NULL && strcmp(version, "2025-11-25") == 0)
        json_object_set_new(
            caps, "tasks",
            json_pack("{s:{}, s:{}, s:{s:{s:{}}}}", "list", "cancel", "requests", "tools", "call"));
    return caps;
}

void mcp_server_set_task_store(struct mcp_server *server, const struct mcp_task_store *store)
{
    server->have_store = store != NULL;
    if (store != NULL)
        server->store = *store;
}

void mcp_server_set_task_times(struct mcp_server *server, int64_t ttl_ms, int64_t min_ttl_ms,
                               int64_t max_ttl_ms, int64_t poll_ms)
{
    if (ttl_ms > 0)
        server->task_ttl_ms = ttl_ms;
    if (min_ttl_ms > 0)
        server->task_min_ttl_ms = min_ttl_ms;
    if (max_ttl_ms > 0)
        server->task_max_ttl_ms = max_ttl_ms;
    if (poll_ms > 0)
        server->task_poll_ms = poll_ms;
}

static void entry_free(struct mcp_tool_entry *e)
{
    json_decref(e->input_schema);
    json_decref(e->output_schema);
    mcp_args_free(e);
}

void mcp_server_free(struct mcp_server *server)
{
    if (server == NULL)
        return;
    mcp_tasks_free(server);
    for (size_t i = 0; i < server->ntools; i++)
        entry_free(&server->tools[i]);
    free(server->tools);
    free(server->resources);
    free(server->prompts);
    free(server->name);
    free(server->version);
    free(server->instructions);
    json_decref(server->server_info);
    free(server->modern_tail);
    OPENSSL_cleanse(server->state_key, sizeof(server->state_key));
    free(server);
}

uv_loop_t *mcp_server_loop(struct mcp_server *server)
{
    return server->loop;
}

void mcp_server_set_page_size(struct mcp_server *server, size_t page_size)
{
    server->page_size = page_size > 0 ? page_size : MCP_DEFAULT_PAGE_SIZE;
}

/* The inputSchema of e: its own text, or built from its table for policy. */
static json_t *entry_schema(const struct mcp_tool_entry *e, unsigned policy)
{
    if (e->tool->input_schema != NULL)
        return json_loads(e->tool->input_schema, 0, NULL);
    return mcp_args_schema(e, policy);
}

int mcp_server_set_arg_policy(struct mcp_server *server, unsigned flags)
{
    json_t **schemas = calloc(server->ntools + 1, sizeof(*schemas));
    int rc = 0;

    if (schemas == NULL)
        return SZ_ENOMEM;
    /* The input schemas say how arguments are taken: build them all anew, and
     * switch only when every one could be built. */
    for (size_t i = 0; i < server->ntools; i++) {
        schemas[i] = entry_schema(&server->tools[i], flags);
        if (schemas[i] == NULL) {
            rc = SZ_ENOMEM;
            goto out;
        }
    }
    server->arg_policy = flags;
    for (size_t i = 0; i < server->ntools; i++) {
        json_decref(server->tools[i].input_schema);
        server->tools[i].input_schema = schemas[i];
        schemas[i] = NULL;
    }
out:
    for (size_t i = 0; i < server->ntools; i++)
        json_decref(schemas[i]);
    free(schemas);
    return rc;
}

int mcp_server_add_tool(struct mcp_server *server, const struct mcp_tool *tool)
{
    struct mcp_tool_entry entry = {.tool = tool};
    struct mcp_tool_entry *grown;
    int rc;

    if (tool->input_schema != NULL && tool->nargs > 0) {
        SZ_ERROR("tool %s: an input_schema text goes without an argument table", tool->name);
        return SZ_EINVAL;
    }
    rc = mcp_args_compile(&entry);
    if (rc != 0)
        goto fail;
    entry.input_schema = entry_schema(&entry, server->arg_policy);
    if (tool->output != NULL)
        entry.output_schema = mcp_field_schema(tool->output);
    if (entry.input_schema == NULL || (tool->output != NULL && entry.output_schema == NULL)) {
        rc = SZ_ENOMEM;
        goto fail;
    }
    grown = realloc(server->tools, (server->ntools + 1) * sizeof(*grown));
    if (grown == NULL) {
        rc = SZ_ENOMEM;
        goto fail;
    }
    server->tools = grown;
    server->tools[server->ntools++] = entry;
    if (tool->task_support != MCP_TASK_FORBIDDEN)
        server->task_tools = true;
    return 0;
fail:
    entry_free(&entry);
    return rc;
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

const struct mcp_tool_entry *mcp_find_tool(const struct mcp_server *server, const char *name)
{
    for (size_t i = 0; i < server->ntools; i++)
        if (strcmp(server->tools[i].tool->name, name) == 0)
            return &server->tools[i];
    return NULL;
}

json_t *mcp_tool_listing(const struct mcp_tool_entry *e, bool modern)
{
    static const char *const support[] = {"forbidden", "optional", "required"};
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
    /* 2025-11-25 negotiates tasks per tool; the 2026-07-28 extension has no
     * such field (the server decides per call). */
    if (!modern && t->task_support != MCP_TASK_FORBIDDEN)
        json_object_set_new(item, "execution",
                            json_pack("{s:s}", "taskSupport", support[t->task_support]));
    return item;
}

bool mcp_protocol_version_modern(const char *version)
{
    for (size_t i = 0; version && i < mcp_nmodern_versions; i++)
        if (strcmp(version, mcp_modern_versions[i]) == 0)
            return true;
    return false;
}

bool mcp_protocol_version_supported(const char *version)
{
    for (size_t i = 0; version && i < mcp_nsupported_versions; i++)
        if (strcmp(version, mcp_supported_versions[i]) == 0)
            return true;
    return mcp_protocol_version_modern(version);
}

int mcp_server_tool_header_args(const struct mcp_server *server, const char *tool,
                                mcp_header_arg_fn *fn, void *ctx)
{
    const struct mcp_tool_entry *e = mcp_find_tool(server, tool);

    if (e == NULL)
        return SZ_ENOTFOUND;
    for (size_t i = 0; i < e->tool->nargs; i++)
        if (e->tool->args[i].header != NULL)
            fn(ctx, e->tool->args[i].name, e->tool->args[i].header);
    return 0;
}

/* A legacy session that announcements reach: initialized, with a channel of
 * its own for messages that belong to no request. */
static bool legacy_listener(const struct mcp_session *s)
{
    return !s->closing && s->initialized && !s->stateless && !s->modern_only;
}

void mcp_server_resource_updated(struct mcp_server *server, const char *uri)
{
    struct sz_link *pos;

    SZ_LIST_FOREACH(pos, &server->sessions)
    {
        struct mcp_session *s = container_of(pos, struct mcp_session, link);
        if (legacy_listener(s) && json_object_get(s->subscriptions, uri) != NULL)
            mcp_send_notification(s, "notifications/resources/updated",
                                  json_pack("{s:s}", "uri", uri), NULL);
    }
    mcp_listen_broadcast(server, NULL, uri, "notifications/resources/updated",
                         json_pack("{s:s}", "uri", uri));
}

void mcp_server_list_changed(struct mcp_server *server, unsigned lists)
{
    static const struct {
        unsigned list;
        const char *key;
        const char *method;
    } kinds[] = {
        {MCP_LIST_TOOLS, "toolsListChanged", "notifications/tools/list_changed"},
        {MCP_LIST_PROMPTS, "promptsListChanged", "notifications/prompts/list_changed"},
        {MCP_LIST_RESOURCES, "resourcesListChanged", "notifications/resources/list_changed"},
    };
    struct sz_link *pos;

    lists &= server->list_changed;
    for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
        if (!(lists & kinds[k].list))
            continue;
        SZ_LIST_FOREACH(pos, &server->sessions)
        {
            struct mcp_session *s = container_of(pos, struct mcp_session, link);
            if (legacy_listener(s))
                mcp_send_notification(s, kinds[k].method, NULL, NULL);
        }
        mcp_listen_broadcast(server, kinds[k].key, NULL, kinds[k].method, NULL);
    }
}
