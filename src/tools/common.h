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

#include "imaging/imaging.h"
#include "mcp/server.h"
#include "mcp/table.h"
#include "tools/tools.h"

struct mcp_call;
struct mcp_server;
struct mcp_tool;
struct store;

/* The video sizes, "WIDTHxHEIGHT" (NULL-terminated), defined once for create_video's
 * size and prepare_reference_image's target_size, so a reference can be fitted to
 * every size a video can have. */
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

/* The sentence for an image that was to be uploaded (create_video's reference,
 * edit_image's and create_image's inputs and masks) and failed its probe on the
 * imaging pool, so nothing was sent: what ("Reference image", "Input image", "Mask")
 * and name (borrowed) say which file. A corrupt or truncated one (status
 * SZ_ECORRUPT) reads "<what> '<name>' is not a readable <FORMAT>: <why>", format being
 * what its first bytes claim ("image" when UNKNOWN); any other failure "<what> '<name>' cannot be
 * sent: <why>". why is the probe's sentence. Writes into msg (msglen bytes). */
void tool_upload_refusal(char *msg, size_t msglen, const char *what, const char *name,
                         enum img_format format, int status, const char *why);

/* The kind of a failure (mcp_call_fail_kind) from its code: SZ_ENOKEY and
 * SZ_ERETIRED are configuration; refused names, types and contents input;
 * SZ_ENOTFOUND and ENOENT not_found; upstream replies, time-outs and protocol
 * errors upstream; SZ_ECANCELLED cancelled; anything else internal (0:
 * unknown). */
enum mcp_error_kind tool_error_kind(int err);

/* Fails the call with msg (or err's text when msg is NULL), of err's kind. */
void tool_fail_err(struct mcp_call *call, int err, const char *msg);

/* STORE_OVERWRITE when overwrite, else 0. */
int tool_write_flags(bool overwrite);

/* The store for kind, or NULL after failing the call with the reason the root
 * could not be opened (a configuration error). */
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

/* A file was saved: adds its resource_link to the call's result and tells the
 * clients that listen (resources/updated for its URI, resources/list_changed),
 * in both protocol eras. Every writing tool calls this once per saved file. */
void tool_saved(struct mcp_call *call, const char *kind, const char *name, const char *mime,
                uint64_t size);

/* What a writing tool does about an existing file of the output name. */
enum tool_write {
    TOOL_WRITE_AS_ASKED, /* go on with the flags it has: nothing exists, or nobody could be
                            asked (the store then refuses an existing file, as before) */
    TOOL_WRITE_REPLACE,  /* the user said replace it: go on with STORE_OVERWRITE */
    TOOL_WRITE_DONE,     /* the call is finished (declined, cancelled, or a modern client
                            was asked and will retry): release your state, touch nothing */
};
typedef void tool_write_fn(struct mcp_call *call, enum tool_write how, void *data);

/* The overwrite question, one helper for every tool that writes a file. When
 * name (len bytes) exists in store (kind "videos" or "images") and the client
 * can answer (a legacy client that declared elicitation, or a modern request
 * that did), the user is asked "`name` already exists in the kind folder.
 * Replace it?" (mcp_call_ask): a yes gives TOOL_WRITE_REPLACE; a no fails the
 * call with today's "File already exists" sentence. Otherwise fn gets
 * TOOL_WRITE_AS_ASKED. fn runs exactly once, possibly before this returns. Call
 * it only when the tool was not told overwrite: true. */
void tool_confirm_overwrite(struct mcp_call *call, struct store *store, const char *kind,
                            const char *name, size_t len, tool_write_fn *fn, void *data);
/* The same for a file the tool already found to exist. */
void tool_ask_overwrite(struct mcp_call *call, const char *kind, const char *name,
                        tool_write_fn *fn, void *data);

#endif
