/* Shared tool helpers (common.h). Percent-encoding is libcurl's: the same
 * unreserved set (RFC 3986) as every URL we send. The overwrite question is
 * asked through the engine's mcp_call_ask, which speaks both protocol eras. */
#include "fmacros.h"

#include "tools/common.h"
#include "core/err.h"
#include "mcp/server.h"
#include "store/store.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Sora's four sizes, then Gemini Omni's 1080p ones; each provider refuses what its
 * model cannot make, before any request. */
const char *const tool_video_sizes[] = {"720x1280",  "1280x720",  "1024x1792", "1792x1024",
                                        "1920x1080", "1080x1920", NULL};

const char tool_overwrite_text[] =
    "true replaces an existing file of the same name. By default nothing is replaced: a given "
    "name that is taken fails the call (pick another or ask the user), and a default name that is "
    "taken gets a -1, -2, ... suffix.";

static const struct mcp_field file_item_fields[] = {
    {.name = "filename", .types = MCP_T_STRING, .required = true},
    {.name = "size_bytes", .types = MCP_T_INTEGER, .required = true},
    {.name = "modified_timestamp", .types = MCP_T_INTEGER, .required = true},
    {.name = "file_type", .types = MCP_T_STRING, .required = true},
};
static const struct mcp_field file_item = {.types = MCP_T_OBJECT, MCP_FIELDS(file_item_fields)};
static const struct mcp_field listing_fields[] = {
    {.name = "data", .types = MCP_T_ARRAY, .required = true, .items = &file_item},
};
const struct mcp_field tool_listing_result = {.types = MCP_T_OBJECT, MCP_FIELDS(listing_fields)};

int tool_register_table(struct mcp_server *server, struct tools_ctx *ctx, struct mcp_tool *tools,
                        size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int rc;
        tools[i].data = ctx;
        if ((rc = mcp_server_add_tool(server, &tools[i])) != 0)
            return rc;
    }
    return 0;
}

void tool_upload_refusal(char *msg, size_t msglen, const char *what, const char *name,
                         enum img_format format, int status, const char *why)
{
    if (status == SZ_ECORRUPT)
        snprintf(msg, msglen, "%s '%s' is not a readable %s: %s", what, name,
                 format != IMG_FORMAT_UNKNOWN ? img_format_upper_name(format) : "image", why);
    else
        snprintf(msg, msglen, "%s '%s' cannot be sent: %s", what, name, why);
}

int tool_write_flags(bool overwrite)
{
    return overwrite ? STORE_OVERWRITE : 0;
}

enum mcp_error_kind tool_error_kind(int err)
{
    switch (err) {
    case 0:
        return MCP_ERROR_UNKNOWN;
    case SZ_ENOKEY:
    case SZ_ERETIRED:
        return MCP_ERROR_CONFIGURATION;
    case SZ_EINVAL:
    case SZ_EEXISTS:
    case SZ_ETRAVERSAL:
    case SZ_ESYMLINK:
    case SZ_ENOTREG:
    case SZ_ETOOBIG:
    case SZ_EUNSUPPORTED:
    case SZ_ECORRUPT:
        return MCP_ERROR_INPUT;
    case SZ_ENOTFOUND:
    case UV_ENOENT:
        return MCP_ERROR_NOT_FOUND;
    case SZ_EUPSTREAM:
    case SZ_ETIMEOUT:
    case SZ_EPROTO:
        return MCP_ERROR_UPSTREAM;
    case SZ_ECANCELLED:
        return MCP_ERROR_CANCELLED;
    default:
        return MCP_ERROR_INTERNAL;
    }
}

void tool_fail_err(struct mcp_call *call, int err, const char *msg)
{
    mcp_call_fail_kind(call, tool_error_kind(err), "%s", msg != NULL ? msg : sz_strerror(err));
}

struct store *tool_videos(struct mcp_call *call, struct tools_ctx *ctx)
{
    if (ctx->videos == NULL)
        mcp_call_fail_kind(call, MCP_ERROR_CONFIGURATION, "%s",
                           ctx->videos_error[0] ? ctx->videos_error
                                                : "The video directory is not available");
    return ctx->videos;
}

struct store *tool_images(struct mcp_call *call, struct tools_ctx *ctx)
{
    if (ctx->images == NULL)
        mcp_call_fail_kind(call, MCP_ERROR_CONFIGURATION, "%s",
                           ctx->images_error[0] ? ctx->images_error
                                                : "The image directory is not available");
    return ctx->images;
}

char *tool_media_uri(const char *kind, const char *name)
{
    /* curl ignores the handle here (7.82 and later). */
    char *escaped = curl_easy_escape(NULL, name, (int)strlen(name));
    char *uri = NULL;
    size_t n;

    if (escaped == NULL)
        return NULL;
    n = strlen("sanzaru://") + strlen(kind) + 1 + strlen(escaped) + 1;
    uri = malloc(n);
    if (uri != NULL)
        snprintf(uri, n, "sanzaru://%s/%s", kind, escaped);
    curl_free(escaped);
    return uri;
}

int tool_uri_name(const char *uri, const char *prefix, char *out, size_t outlen)
{
    size_t n = strlen(prefix);
    char *name = NULL;
    int len = 0;
    int rc = -1;

    if (strncmp(uri, prefix, n) != 0 || uri[n] == '\0')
        goto out;
    name = curl_easy_unescape(NULL, uri + n, 0, &len);
    /* A NUL would silently shorten the name. */
    if (name == NULL || len <= 0 || (size_t)len >= outlen || memchr(name, '\0', (size_t)len))
        goto out;
    memcpy(out, name, (size_t)len);
    out[len] = '\0';
    rc = 0;
out:
    curl_free(name);
    return rc;
}

json_t *tool_resource_link(const char *kind, const char *name, const char *mime, uint64_t size)
{
    char *uri = tool_media_uri(kind, name);
    json_t *link =
        json_pack("{s:s, s:s, s:s, s:s, s:I}", "type", "resource_link", "uri", uri ? uri : "",
                  "name", name, "mimeType", mime, "size", (json_int_t)size);
    free(uri);
    return link;
}

void tool_saved(struct mcp_call *call, const char *kind, const char *name, const char *mime,
                uint64_t size)
{
    struct mcp_server *server = mcp_call_server(call);
    char *uri = tool_media_uri(kind, name);

    mcp_call_add_content(call, tool_resource_link(kind, name, mime, size));
    if (uri != NULL) {
        mcp_server_resource_updated(server, uri);
        mcp_server_list_changed(server, MCP_LIST_RESOURCES);
    }
    free(uri);
}

/* ---- the overwrite question ------------------------------------------------------ */

#define OVERWRITE_KEY "overwrite"

struct ask_overwrite {
    struct mcp_call *call;
    char kind[16];
    char name[STORE_NAME_MAX + 1];
    tool_write_fn *fn;
    void *data;
};

static void refuse(struct ask_overwrite *q, const char *why)
{
    mcp_call_fail(q->call, "File already exists: %s (%s; pass overwrite: true to replace it)",
                  q->name, why);
    q->fn(NULL, TOOL_WRITE_DONE, q->data);
    free(q);
}

static void answered(struct mcp_call *call, enum mcp_answer answer, const json_t *content,
                     void *data)
{
    struct ask_overwrite *q = data;
    tool_write_fn *fn = q->fn;
    void *fn_data = q->data;

    if (mcp_call_cancelled(call)) {
        mcp_call_fail(call, "cancelled");
        fn(NULL, TOOL_WRITE_DONE, fn_data);
        free(q);
        return;
    }
    if (answer == MCP_ANSWER_ACCEPT && json_is_true(json_object_get(content, "replace"))) {
        free(q);
        fn(call, TOOL_WRITE_REPLACE, fn_data);
        return;
    }
    refuse(q, answer == MCP_ANSWER_NONE ? "the question about replacing it went unanswered"
                                        : "kept: the user chose not to replace it");
}

void tool_ask_overwrite(struct mcp_call *call, const char *kind, const char *name,
                        tool_write_fn *fn, void *data)
{
    struct ask_overwrite *q;
    char message[STORE_NAME_MAX + 96];
    json_t *schema;
    int rc;

    if (!mcp_call_client_supports(call, "elicitation") || (q = calloc(1, sizeof(*q))) == NULL) {
        fn(call, TOOL_WRITE_AS_ASKED, data);
        return;
    }
    q->call = call;
    q->fn = fn;
    q->data = data;
    snprintf(q->kind, sizeof(q->kind), "%s", kind);
    snprintf(q->name, sizeof(q->name), "%s", name);
    snprintf(message, sizeof(message), "`%s` already exists in the %s folder. Replace it?", name,
             kind);
    schema = json_pack("{s:s, s:{s:{s:s, s:s, s:s, s:b}}, s:[s]}", "type", "object", "properties",
                       "replace", "type", "boolean", "title", "Replace the existing file",
                       "description", "Yes replaces the file; no keeps it and the call fails.",
                       "default", 0, "required", "replace");
    rc = mcp_call_ask(call, OVERWRITE_KEY, message, schema, answered, q);
    if (rc == SZ_EPENDING) { /* a modern client was asked; the call is over until it retries */
        free(q);
        fn(NULL, TOOL_WRITE_DONE, data);
    } else if (rc != 0) { /* could not ask after all: as without the question */
        free(q);
        fn(call, TOOL_WRITE_AS_ASKED, data);
    }
}

struct confirm {
    struct mcp_call *call;
    char kind[16];
    char name[STORE_NAME_MAX + 1];
    tool_write_fn *fn;
    void *data;
};

static void statted(void *data, int err, const char *msg, const struct store_stat *st)
{
    struct confirm c = *(struct confirm *)data;

    (void)msg;
    (void)st;
    free(data);
    if (err == 0 && !mcp_call_cancelled(c.call))
        tool_ask_overwrite(c.call, c.kind, c.name, c.fn, c.data);
    else /* absent, or not a plain file: the store says why when the tool writes */
        c.fn(c.call, TOOL_WRITE_AS_ASKED, c.data);
}

void tool_confirm_overwrite(struct mcp_call *call, struct store *store, const char *kind,
                            const char *name, size_t len, tool_write_fn *fn, void *data)
{
    struct confirm *c;

    if (!mcp_call_client_supports(call, "elicitation") || len > STORE_NAME_MAX ||
        (c = calloc(1, sizeof(*c))) == NULL) {
        fn(call, TOOL_WRITE_AS_ASKED, data);
        return;
    }
    c->call = call;
    c->fn = fn;
    c->data = data;
    snprintf(c->kind, sizeof(c->kind), "%s", kind);
    memcpy(c->name, name, len);
    c->name[len] = '\0';
    if (store_stat(store, c->name, len, "Output file", statted, c) != 0) {
        free(c);
        fn(call, TOOL_WRITE_AS_ASKED, data);
    }
}
