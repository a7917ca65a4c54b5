/* The two listing tools: list_local_videos and list_reference_images. They
 * read only the media directories (closed world) through the store's listing,
 * which runs on the thread pool. */
#include "fmacros.h"

#include "mcp/server.h"
#include "store/store.h"
#include "tools/common.h"
#include "tools/tools.h"

#include <stdint.h>
#include <string.h>

#define LIST_SORT_PROPS                                                                            \
    "\"sort_by\":{\"type\":\"string\",\"enum\":[\"name\",\"size\",\"modified\"],"                  \
    "\"default\":\"modified\",\"description\":\"Sort key.\"},"                                     \
    "\"order\":{\"type\":\"string\",\"enum\":[\"asc\",\"desc\"],\"default\":\"desc\","             \
    "\"description\":\"Sort direction.\"},"                                                        \
    "\"limit\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":10000,\"default\":50,"              \
    "\"description\":\"Most entries to return.\"}"

#define LIST_OUTPUT_SCHEMA                                                                         \
    "{\"type\":\"object\",\"properties\":{\"data\":{\"type\":\"array\","                           \
    "\"items\":" TOOL_FILE_ITEM_SCHEMA "}},\"required\":[\"data\"]}"

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

static void start_listing(struct mcp_call *call, json_t *args, struct store *store,
                          const char *const *exts)
{
    const char *sort = tool_arg_string(args, "sort_by", NULL);
    const char *order = tool_arg_string(args, "order", NULL);
    size_t plen = 0;
    const char *pattern = tool_arg_string(args, "pattern", &plen);
    char msg[STORE_MSG_MAX];
    struct store_list_opts opts = {
        .pattern = pattern,
        .exts = exts,
        .sort = STORE_SORT_MODIFIED,
        .descending = order == NULL || strcmp(order, "desc") == 0,
        .limit = (size_t)tool_arg_int(args, "limit", 50),
    };

    if (sort != NULL && strcmp(sort, "name") == 0)
        opts.sort = STORE_SORT_NAME;
    else if (sort != NULL && strcmp(sort, "size") == 0)
        opts.sort = STORE_SORT_SIZE;
    if (pattern != NULL && store_check_pattern(pattern, plen, msg, sizeof(msg)) != 0) {
        mcp_call_fail(call, "%s", msg);
        return;
    }
    if (store_list(store, &opts, list_done, call) != 0)
        mcp_call_fail(call, "Out of memory listing files");
}

static void list_local_videos(struct mcp_call *call, json_t *args)
{
    struct sz_app *app = mcp_call_tool_data(call);
    const char *type = tool_arg_string(args, "file_type", NULL);
    struct store *store = tool_videos(call, app);

    if (store != NULL)
        start_listing(call, args, store, store_video_filter(type ? type : "all"));
}

static void list_reference_images(struct mcp_call *call, json_t *args)
{
    struct sz_app *app = mcp_call_tool_data(call);
    const char *type = tool_arg_string(args, "file_type", NULL);
    struct store *store = tool_images(call, app);

    if (store != NULL)
        start_listing(call, args, store, store_image_filter(type ? type : "all"));
}

static struct mcp_tool local_tools[] = {
    {
        .name = "list_local_videos",
        .title = "List downloaded videos",
        .description =
            "List video files saved in the local video directory (downloaded with "
            "download_video), with size and modification time. Filter with a glob pattern "
            "(e.g. \"sunset*\") and a file type; sort and limit the result.",
        .input_schema =
            "{\"type\":\"object\",\"properties\":{"
            "\"pattern\":{\"type\":\"string\",\"description\":\"Glob pattern on the file name, "
            "e.g. \\\"*.mp4\\\" or \\\"cat_*\\\".\"},"
            "\"file_type\":{\"type\":\"string\",\"enum\":[\"mp4\",\"webm\",\"mov\",\"all\"],"
            "\"default\":\"all\",\"description\":\"Only files of this type.\"}," LIST_SORT_PROPS
            "},\"additionalProperties\":false}",
        .output_schema = LIST_OUTPUT_SCHEMA,
        .annotations = MCP_READ_ONLY,
        .start = list_local_videos,
    },
    {
        .name = "list_reference_images",
        .title = "List reference images",
        .description =
            "List image files in the local image directory that can serve as video reference "
            "images (input_reference_filename of create_video) or as inputs to "
            "prepare_reference_image, edit_image and create_image. Filter with a glob pattern "
            "and a file type; sort and limit the result.",
        .input_schema =
            "{\"type\":\"object\",\"properties\":{"
            "\"pattern\":{\"type\":\"string\",\"description\":\"Glob pattern on the file name, "
            "e.g. \\\"*.png\\\".\"},"
            "\"file_type\":{\"type\":\"string\",\"enum\":[\"jpeg\",\"png\",\"webp\",\"all\"],"
            "\"default\":\"all\",\"description\":\"Only files of this type (jpeg covers .jpg "
            "and .jpeg).\"}," LIST_SORT_PROPS "},\"additionalProperties\":false}",
        .output_schema = LIST_OUTPUT_SCHEMA,
        .annotations = MCP_READ_ONLY,
        .start = list_reference_images,
    },
};

int tools_register_local(struct mcp_server *server, struct sz_app *app)
{
    return tool_register_table(server, app, local_tools,
                               sizeof(local_tools) / sizeof(local_tools[0]));
}
