/* Helpers shared by the tool groups: argument access, the `overwrite` flag,
 * resource links and URIs for saved media, and the checks every tool makes
 * before it touches a store or OpenAI. Loop thread only. */
#ifndef SZ_TOOLS_COMMON_H
#define SZ_TOOLS_COMMON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tools/tools.h"

struct mcp_call;
struct mcp_server;
struct mcp_tool;
struct store;

/* JSON Schema text of the optional `overwrite` parameter every writing tool takes. */
#define TOOL_OVERWRITE_PROP                                                                        \
    "\"overwrite\":{\"type\":\"boolean\",\"default\":false,\"description\":"                       \
    "\"Replace an existing file of the same name. By default an existing file is never "           \
    "replaced and the call fails instead.\"}"

/* Schema of one listed media file, shared by the list tools' output schemas. */
#define TOOL_FILE_ITEM_SCHEMA                                                                      \
    "{\"type\":\"object\",\"properties\":{\"filename\":{\"type\":\"string\"},"                     \
    "\"size_bytes\":{\"type\":\"integer\"},\"modified_timestamp\":{\"type\":\"number\"},"          \
    "\"file_type\":{\"type\":\"string\"}},"                                                        \
    "\"required\":[\"filename\",\"size_bytes\",\"modified_timestamp\",\"file_type\"]}"

/* Registers a group's table of n tools, each with app as its data (the rows
 * are static and must outlive the server). Returns 0 or the first error. */
int tool_register_table(struct mcp_server *server, struct sz_app *app, struct mcp_tool *tools,
                        size_t n);

/* A string argument (borrowed) and its byte length, or NULL when absent. */
const char *tool_arg_string(const json_t *args, const char *key, size_t *plen);
/* An integer argument, or def when absent. */
long long tool_arg_int(const json_t *args, const char *key, long long def);

/* STORE_OVERWRITE when args.overwrite is true, else 0. */
int tool_write_flags(const json_t *args);

/* The store for kind, or NULL after failing the call with the reason the root
 * could not be opened. */
struct store *tool_videos(struct mcp_call *call, struct sz_app *app);
struct store *tool_images(struct mcp_call *call, struct sz_app *app);

/* "sanzaru://<kind>/<percent-encoded name>" (kind is "videos" or "images");
 * malloc'd, caller frees. */
char *tool_media_uri(const char *kind, const char *name);
/* Decodes the name from such a URI into out. Returns 0, or -1 when uri does not
 * start with prefix or the name is empty or does not fit. */
int tool_uri_name(const char *uri, const char *prefix, char *out, size_t outlen);

/* A resource_link content block for a saved file (new reference). */
json_t *tool_resource_link(const char *kind, const char *name, const char *mime, uint64_t size);

#endif
