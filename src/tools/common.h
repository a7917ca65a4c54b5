/* Helpers shared by the tool groups: the rows and lists more than one tool
 * declares (the video sizes, the `overwrite` flag, the listing result),
 * resource links and URIs for saved media, and the checks every tool makes
 * before it touches a store. Loop thread only. */
#ifndef SZ_TOOLS_COMMON_H
#define SZ_TOOLS_COMMON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mcp/table.h"
#include "tools/tools.h"

struct mcp_call;
struct mcp_server;
struct mcp_tool;
struct store;

/* The video sizes, "WIDTHxHEIGHT" (NULL-terminated): create_video's size and
 * prepare_reference_image's target_size. */
extern const char *const tool_video_sizes[];

/* The optional `overwrite` argument of every writing tool, for an args struct
 * type with a bool member named overwrite. */
#define TOOL_OVERWRITE_ARG(T)                                                                      \
    {                                                                                              \
        .name = "overwrite", .type = MCP_ARG_BOOL, .off = offsetof(T, overwrite),                  \
        MCP_DEFAULT_BOOL(false), .description = tool_overwrite_text                                \
    }
extern const char tool_overwrite_text[];

/* The result of the two listing tools: {data:[{filename, size_bytes,
 * modified_timestamp, file_type}]}. */
extern const struct mcp_field tool_listing_result;

/* Registers a group's table of n tools, each with ctx as its data (the rows
 * are static and must outlive the server). Returns 0 or the first error. */
int tool_register_table(struct mcp_server *server, struct tools_ctx *ctx, struct mcp_tool *tools,
                        size_t n);

/* STORE_OVERWRITE when overwrite, else 0. */
int tool_write_flags(bool overwrite);

/* The store for kind, or NULL after failing the call with the reason the root
 * could not be opened. */
struct store *tool_videos(struct mcp_call *call, struct tools_ctx *ctx);
struct store *tool_images(struct mcp_call *call, struct tools_ctx *ctx);

/* "sanzaru://<kind>/<percent-encoded name>" (kind is "videos" or "images");
 * malloc'd, caller frees; NULL when out of memory. */
char *tool_media_uri(const char *kind, const char *name);
/* Decodes the name from such a URI into out. Returns 0, or -1 when uri does not
 * start with prefix or the name is empty, holds a NUL or does not fit. */
int tool_uri_name(const char *uri, const char *prefix, char *out, size_t outlen);

/* A resource_link content block for a saved file (new reference). */
json_t *tool_resource_link(const char *kind, const char *name, const char *mime, uint64_t size);

#endif
