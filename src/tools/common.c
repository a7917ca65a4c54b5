/* Shared tool helpers (common.h). Percent-encoding is libcurl's: the same
 * unreserved set (RFC 3986) as every URL we send. */
#include "fmacros.h"

#include "tools/common.h"
#include "mcp/server.h"
#include "store/store.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const tool_video_sizes[] = {"720x1280", "1280x720", "1024x1792", "1792x1024", NULL};

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

int tool_write_flags(bool overwrite)
{
    return overwrite ? STORE_OVERWRITE : 0;
}

struct store *tool_videos(struct mcp_call *call, struct tools_ctx *ctx)
{
    if (ctx->videos == NULL)
        mcp_call_fail(call, "%s",
                      ctx->videos_error[0] ? ctx->videos_error
                                           : "The video directory is not available");
    return ctx->videos;
}

struct store *tool_images(struct mcp_call *call, struct tools_ctx *ctx)
{
    if (ctx->images == NULL)
        mcp_call_fail(call, "%s",
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
