/* The two listing tools: list_local_videos and list_reference_images. They
 * read only the media directories (closed world) through the store's listing,
 * which runs on the thread pool. */
#include "fmacros.h"

#include "mcp/server.h"
#include "store/store.h"
#include "tools/common.h"
#include "tools/tools.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct list_args {
    const char *pattern;
    int file_type; /* index into the tool's type list */
    int sort_by;   /* index into sort_keys */
    int order;     /* index into sort_orders */
    long long limit;
};

static const char *const sort_keys[] = {"name", "size", "modified", NULL};
static const char *const sort_orders[] = {"asc", "desc", NULL};
static const char *const video_types[] = {"mp4", "webm", "mov", "all", NULL};
static const char *const image_types[] = {"jpeg", "png", "webp", "all", NULL};

static void list_done(void *data, int err, const char *msg, json_t *list, size_t total)
{
    struct mcp_call *call = data;
    (void)total;
    if (err != 0) {
        mcp_call_fail(call, "%s", msg ? msg : "Could not list the directory");
        return;
    }
    mcp_call_finish(call, json_pack("{s:o}", "data", list));
}

static void start_listing(struct mcp_call *call, const struct list_args *a, struct store *store,
                          const char *const *exts)
{
    static const enum store_sort sorts[] = {STORE_SORT_NAME, STORE_SORT_SIZE, STORE_SORT_MODIFIED};
    char msg[STORE_MSG_MAX];
    struct store_list_opts opts = {
        .pattern = a->pattern,
        .exts = exts,
        .sort = sorts[a->sort_by],
        .descending = strcmp(sort_orders[a->order], "desc") == 0,
        .limit = (size_t)a->limit,
    };

    if (a->pattern != NULL &&
        store_check_pattern(a->pattern, strlen(a->pattern), msg, sizeof(msg)) != 0) {
        mcp_call_fail(call, "%s", msg);
        return;
    }
    if (store_list(store, &opts, list_done, call) != 0)
        mcp_call_fail(call, "Out of memory listing files");
}

static void list_local_videos(struct mcp_call *call, const void *args)
{
    const struct list_args *a = args;
    struct store *store = tool_videos(call, mcp_call_tool_data(call));

    if (store != NULL)
        start_listing(call, a, store, store_video_filter(video_types[a->file_type]));
}

static void list_reference_images(struct mcp_call *call, const void *args)
{
    const struct list_args *a = args;
    struct store *store = tool_images(call, mcp_call_tool_data(call));

    if (store != NULL)
        start_listing(call, a, store, store_image_filter(image_types[a->file_type]));
}

/* The rows both tools share after pattern and file_type. */
#define SORT_BY_ROW                                                                                \
    {                                                                                              \
        .name = "sort_by", .type = MCP_ARG_ENUM, .off = offsetof(struct list_args, sort_by),       \
        .values = sort_keys, MCP_DEFAULT_STR("modified"),                                          \
        .description = "modified (time of the last change), name or size."                         \
    }
#define ORDER_ROW                                                                                  \
    {                                                                                              \
        .name = "order", .type = MCP_ARG_ENUM, .off = offsetof(struct list_args, order),           \
        .values = sort_orders, MCP_DEFAULT_STR("desc"),                                            \
        .description = "desc (newest, largest or last in the alphabet first) or asc."              \
    }
#define LIMIT_ROW                                                                                  \
    {                                                                                              \
        .name = "limit", .type = MCP_ARG_INT, .off = offsetof(struct list_args, limit),            \
        .min = MCP_LIMIT(1), .max = MCP_LIMIT(10000), MCP_DEFAULT_INT(50),                         \
        .description = "At most this many entries, 1 to 10000."                                    \
    }

static const struct mcp_arg video_rows[] = {
    {.name = "pattern",
     .type = MCP_ARG_STRING,
     .off = offsetof(struct list_args, pattern),
     .description = "A glob on the file name: * matches any run of characters, ? one character, "
                    "[abc] one of a set; e.g. \"sunset*\" or \"*.mp4\". Omit it for every file."},
    {.name = "file_type",
     .type = MCP_ARG_ENUM,
     .off = offsetof(struct list_args, file_type),
     .values = video_types,
     MCP_DEFAULT_STR("all"),
     .description = "mp4, webm, mov, or all."},
    SORT_BY_ROW,
    ORDER_ROW,
    LIMIT_ROW,
};

static const struct mcp_arg image_rows[] = {
    {.name = "pattern",
     .type = MCP_ARG_STRING,
     .off = offsetof(struct list_args, pattern),
     .description = "A glob on the file name: * matches any run of characters, ? one character, "
                    "[abc] one of a set; e.g. \"cat*\" or \"*_1280x720.png\". Omit it for every "
                    "file."},
    {.name = "file_type",
     .type = MCP_ARG_ENUM,
     .off = offsetof(struct list_args, file_type),
     .values = image_types,
     MCP_DEFAULT_STR("all"),
     .description = "jpeg (.jpg and .jpeg), png, webp, or all."},
    SORT_BY_ROW,
    ORDER_ROW,
    LIMIT_ROW,
};

static struct mcp_tool local_tools[] = {
    {
        .name = "list_local_videos",
        .title = "List downloaded videos",
        .description =
            "List the video files saved in the local video directory (by download_video), each "
            "with filename, size_bytes, modified_timestamp (Unix seconds) and file_type. Narrow "
            "the list with a glob pattern on the name (e.g. \"sunset*\" or \"*.mp4\") and "
            "file_type; sort by modified (default, newest first), name or size; at most limit "
            "entries (default 50). Reads only the local folder and costs nothing: list_videos "
            "lists the jobs kept by the video provider instead. Each file is also readable as the "
            "resource sanzaru://videos/{filename}.",
        MCP_ARGS(struct list_args, video_rows),
        .output = &tool_listing_result,
        .annotations = MCP_READ_ONLY,
        .start = list_local_videos,
    },
    {
        .name = "list_reference_images",
        .title = "List local images",
        .description =
            "List the image files in the local image directory: pictures saved by generate_image, "
            "edit_image and download_image, copies made by prepare_reference_image, and any the "
            "user put there. Each entry has filename, size_bytes, modified_timestamp (Unix "
            "seconds) and file_type. The names are what edit_image and create_image take as "
            "input_images, what prepare_reference_image takes as input_filename, and what "
            "create_video takes as input_reference_filename (an image of exactly the video's "
            "size, such as the {stem}_{WxH}.png copies prepare_reference_image writes). Narrow "
            "the list with a glob pattern and file_type; sort by modified (default, newest "
            "first), name or size; at most limit entries (default 50). Local only; costs nothing.",
        MCP_ARGS(struct list_args, image_rows),
        .output = &tool_listing_result,
        .annotations = MCP_READ_ONLY,
        .start = list_reference_images,
    },
};

int tools_register_local(struct mcp_server *server, struct tools_ctx *ctx)
{
    return tool_register_table(server, ctx, local_tools,
                               sizeof(local_tools) / sizeof(local_tools[0]));
}
