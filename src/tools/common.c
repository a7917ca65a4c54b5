/* Shared tool helpers (common.h). */
#include "fmacros.h"

#include "tools/common.h"
#include "mcp/server.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int tool_register_table(struct mcp_server *server, struct sz_app *app, struct mcp_tool *tools,
                        size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int rc;
        tools[i].data = app;
        if ((rc = mcp_server_add_tool(server, &tools[i])) != 0)
            return rc;
    }
    return 0;
}

const char *tool_arg_string(const json_t *args, const char *key, size_t *plen)
{
    json_t *v = json_object_get(args, key);
    if (!json_is_string(v))
        return NULL;
    if (plen != NULL)
        *plen = json_string_length(v);
    return json_string_value(v);
}

long long tool_arg_int(const json_t *args, const char *key, long long def)
{
    json_t *v = json_object_get(args, key);
    if (json_is_integer(v))
        return json_integer_value(v);
    if (json_is_real(v))
        return (long long)json_real_value(v);
    return def;
}

int tool_write_flags(const json_t *args)
{
    return json_is_true(json_object_get(args, "overwrite")) ? STORE_OVERWRITE : 0;
}

struct store *tool_videos(struct mcp_call *call, struct sz_app *app)
{
    if (app->videos == NULL)
        mcp_call_fail(call, "%s",
                      app->videos_error[0] ? app->videos_error
                                           : "The video directory is not available");
    return app->videos;
}

struct store *tool_images(struct mcp_call *call, struct sz_app *app)
{
    if (app->images == NULL)
        mcp_call_fail(call, "%s",
                      app->images_error[0] ? app->images_error
                                           : "The image directory is not available");
    return app->images;
}

/* RFC 3986 unreserved characters pass; everything else is %XX. */
char *tool_media_uri(const char *kind, const char *name)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(name);
    size_t prefix = strlen("sanzaru://") + strlen(kind) + 1;
    char *uri = malloc(prefix + 3 * n + 1);
    char *p;

    if (uri == NULL)
        return NULL;
    p = uri + sprintf(uri, "sanzaru://%s/", kind);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~') {
            *p++ = (char)c;
        } else {
            *p++ = '%';
            *p++ = hex[c >> 4];
            *p++ = hex[c & 15];
        }
    }
    *p = '\0';
    return uri;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int tool_uri_name(const char *uri, const char *prefix, char *out, size_t outlen)
{
    size_t n = strlen(prefix);
    const char *p;
    size_t o = 0;

    if (strncmp(uri, prefix, n) != 0)
        return -1;
    for (p = uri + n; *p != '\0'; p++) {
        int c = (unsigned char)*p;
        if (c == '%') {
            int hi = hexval(p[1]);
            int lo = hi < 0 ? -1 : hexval(p[2]);
            if (lo < 0)
                return -1;
            c = hi * 16 + lo;
            p += 2;
            if (c == 0)
                return -1; /* a NUL would silently shorten the name */
        }
        if (o + 1 >= outlen)
            return -1;
        out[o++] = (char)c;
    }
    out[o] = '\0';
    return o == 0 ? -1 : 0;
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
