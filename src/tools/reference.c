/* prepare_reference_image: fits an image from the image directory to a video
 * size (crop, pad or rescale) and saves it as a new PNG beside it. The input is
 * opened through the store's sandbox and handed to libvips as an fd on the
 * bounded imaging pool; the PNG is published atomically by the store. */
#include "fmacros.h"

#include "core/err.h"
#include "imaging/imaging.h"
#include "mcp/server.h"
#include "store/store.h"
#include "tools/common.h"
#include "tools/tools.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct prepare {
    struct mcp_call *call;
    struct tools_ctx *app;
    struct sz_pool_job *job;
    enum img_fit_mode mode;
    int width, height;
    int orig_w, orig_h;
    int write_flags;
    uint8_t *png;
    size_t png_len;
    char input[STORE_NAME_MAX + 1];
    char output[STORE_NAME_MAX + 1];
};

static void prepare_free(struct prepare *p)
{
    free(p->png);
    free(p);
}

static void on_cancel(struct mcp_call *call, void *data)
{
    struct prepare *p = data;
    (void)call;
    /* A queued resize is dropped at once; a running one finishes and its result
     * is discarded (the stages below check mcp_call_cancelled). */
    if (p->job != NULL)
        sz_pool_cancel(p->job);
}

static void written(void *data, int err, const char *msg, const char *name, uint64_t size)
{
    struct prepare *p = data;
    json_t *result;

    if (err != 0) {
        mcp_call_fail(p->call, "%s", msg);
        prepare_free(p);
        return;
    }
    result = json_pack("{s:s, s:[i,i], s:[i,i], s:s, s:I}", "output_filename", name,
                       "original_size", p->orig_w, p->orig_h, "target_size", p->width, p->height,
                       "resize_mode", img_fit_mode_name(p->mode), "size_bytes", (json_int_t)size);
    tool_saved(p->call, "images", name, "image/png", size);
    mcp_call_finish(p->call, result);
    prepare_free(p);
}

static void fitted(struct img_result *res, void *arg)
{
    struct prepare *p = arg;

    p->job = NULL;
    if (res->status != 0 || mcp_call_cancelled(p->call)) {
        if (res->status == SZ_ECANCELLED || mcp_call_cancelled(p->call))
            mcp_call_fail(p->call, "cancelled");
        else
            mcp_call_fail(p->call, "Could not prepare %s: %s", p->input, res->errmsg);
        prepare_free(p);
        return;
    }
    p->png = res->data;
    p->png_len = res->len;
    res->data = NULL;
    p->orig_w = res->info.width;
    p->orig_h = res->info.height;
    if (store_write_file(p->app->images, p->output, strlen(p->output), p->write_flags, p->png,
                         p->png_len, written, p) != 0) {
        mcp_call_fail(p->call, "Out of memory saving %s", p->output);
        prepare_free(p);
    }
}

static void opened(void *data, int err, const char *msg, int fd, const struct store_stat *st)
{
    struct prepare *p = data;
    int rc;

    if (err != 0 || mcp_call_cancelled(p->call)) {
        if (fd >= 0)
            close(fd); /* an already-open fd: closing it costs nothing */
        mcp_call_fail(p->call, "%s", err ? msg : "cancelled");
        prepare_free(p);
        return;
    }
    if (st->size > IMG_MAX_BYTES) {
        close(fd);
        mcp_call_fail(p->call, "Image too large: %s is %llu bytes; the limit is 50 MB", p->input,
                      (unsigned long long)st->size);
        prepare_free(p);
        return;
    }
    rc = img_fit_fd_async(p->app->imaging, fd, p->width, p->height, p->mode, fitted, p, &p->job);
    if (rc != 0) {
        mcp_call_fail(p->call, "Could not start preparing %s: %s", p->input, sz_strerror(rc));
        prepare_free(p);
    }
}

struct prepare_args {
    const char *input_filename;
    int target_size; /* index into tool_video_sizes */
    const char *output_filename;
    int resize_mode; /* index into resize_modes */
    bool overwrite;
};

/* The names img_fit_mode_parse takes. */
static const char *const resize_modes[] = {"crop", "pad", "rescale", NULL};

static void read_input(struct prepare *p)
{
    if (store_open_read(p->app->images, p->input, strlen(p->input), "Reference image", opened, p) !=
        0) {
        mcp_call_fail(p->call, "out of memory");
        prepare_free(p);
    }
}

/* The answer to "replace the existing file?" (tool_confirm_overwrite). */
static void decided(struct mcp_call *call, enum tool_write how, void *data)
{
    struct prepare *p = data;

    (void)call;
    if (how == TOOL_WRITE_DONE) {
        prepare_free(p);
        return;
    }
    if (how == TOOL_WRITE_REPLACE)
        p->write_flags |= STORE_OVERWRITE;
    read_input(p);
}

static void prepare_reference_image(struct mcp_call *call, const void *args)
{
    const struct prepare_args *a = args;
    struct tools_ctx *app = mcp_call_tool_data(call);
    static const char *const png_only[] = {"png", NULL};
    const char *input = a->input_filename;
    const char *output = a->output_filename;
    size_t in_len = strlen(input), out_len = output != NULL ? strlen(output) : 0;
    char msg[STORE_MSG_MAX];
    struct prepare *p;

    if (tool_images(call, app) == NULL)
        return;
    if (store_check_name(input, in_len, msg, sizeof(msg)) != 0 ||
        store_check_ext(input, in_len, store_image_exts, "JPEG, PNG, or WEBP", msg, sizeof(msg)) !=
            0) {
        mcp_call_fail(call, "%s", msg);
        return;
    }
    if (output != NULL &&
        (store_check_name(output, out_len, msg, sizeof(msg)) != 0 ||
         store_check_ext(output, out_len, png_only, "PNG (the output is always PNG)", msg,
                         sizeof(msg)) != 0)) {
        mcp_call_fail(call, "%s", msg);
        return;
    }
    p = calloc(1, sizeof(*p));
    if (p == NULL) {
        mcp_call_fail(call, "out of memory");
        return;
    }
    p->call = call;
    p->app = app;
    p->write_flags = tool_write_flags(a->overwrite);
    sscanf(tool_video_sizes[a->target_size], "%dx%d", &p->width, &p->height);
    if (img_fit_mode_parse(resize_modes[a->resize_mode], &p->mode) != 0)
        p->mode = IMG_FIT_CROP;
    memcpy(p->input, input, in_len);
    if (output != NULL) {
        memcpy(p->output, output, out_len);
    } else {
        /* {stem}_{WxH}.png, as the original names it; a free name is picked on
         * collision rather than replacing an earlier result. */
        const char *dot = strrchr(p->input, '.');
        int stem = (int)(dot ? (size_t)(dot - p->input) : in_len);
        int n = snprintf(p->output, sizeof(p->output), "%.*s_%dx%d.png", stem, p->input, p->width,
                         p->height);
        if (n < 0 || (size_t)n >= sizeof(p->output)) {
            mcp_call_fail(call, "Invalid filename: %s is too long to derive an output name", input);
            prepare_free(p);
            return;
        }
        if (!(p->write_flags & STORE_OVERWRITE))
            p->write_flags |= STORE_UNIQUE;
    }
    mcp_call_on_cancel(call, on_cancel, p);
    if (output != NULL && !(p->write_flags & STORE_OVERWRITE))
        /* Ask about an existing output before the work, not after it. */
        tool_confirm_overwrite(call, app->images, "images", p->output, out_len, decided, p);
    else
        read_input(p);
}

static const struct mcp_arg prepare_rows[] = {
    {.name = "input_filename",
     .type = MCP_ARG_STRING,
     .flags = MCP_ARG_REQUIRED,
     .off = offsetof(struct prepare_args, input_filename),
     .min = MCP_LIMIT(1),
     .description = "The image to fit: a JPEG, PNG or WEBP file in the image directory, by name "
                    "(list_reference_images shows them)."},
    {.name = "target_size",
     .type = MCP_ARG_ENUM,
     .flags = MCP_ARG_REQUIRED,
     .off = offsetof(struct prepare_args, target_size),
     .values = tool_video_sizes,
     .description = "The video size to fit, WIDTHxHEIGHT: 1280x720, 1792x1024 or 1920x1080 "
                    "(landscape), 720x1280, 1024x1792 or 1080x1920 (portrait). Use the same value "
                    "as create_video's size."},
    {.name = "output_filename",
     .type = MCP_ARG_STRING,
     .off = offsetof(struct prepare_args, output_filename),
     .min = MCP_LIMIT(1),
     .description = "The name of the PNG to write, in the image directory (a name, not a path), "
                    "ending in .png. Default {stem}_{WxH}.png."},
    {.name = "resize_mode",
     .type = MCP_ARG_ENUM,
     .off = offsetof(struct prepare_args, resize_mode),
     .values = resize_modes,
     MCP_DEFAULT_STR("crop"),
     .description = "crop (fill the frame, trim the overflow), pad (fit inside, black bars) or "
                    "rescale (stretch to the frame)."},
    TOOL_OVERWRITE_ARG(struct prepare_args),
};

static const struct mcp_field pair = {.types = MCP_T_INTEGER};
static const struct mcp_field prepare_fields[] = {
    {.name = "output_filename", .types = MCP_T_STRING, .required = true},
    {.name = "original_size",
     .types = MCP_T_ARRAY,
     .required = true,
     .items = &pair,
     .min_items = 2,
     .max_items = 2},
    {.name = "target_size",
     .types = MCP_T_ARRAY,
     .required = true,
     .items = &pair,
     .min_items = 2,
     .max_items = 2},
    {.name = "resize_mode", .types = MCP_T_STRING, .required = true, .values = resize_modes},
    {.name = "size_bytes", .types = MCP_T_INTEGER},
};
static const struct mcp_field prepare_result = {.types = MCP_T_OBJECT, MCP_FIELDS(prepare_fields)};

static struct mcp_tool reference_tools[] = {
    {
        .name = "prepare_reference_image",
        .title = "Fit an image to a video size",
        .description =
            "Make a copy of an image from the image directory at exactly one of the video sizes, "
            "so a video can start from it: pass the result's output_filename to create_video as "
            "input_reference_filename, with size equal to target_size. Choose target_size by the "
            "picture's shape and the video's size: 1280x720, 1792x1024 or 1920x1080 for "
            "landscape, 720x1280, 1024x1792 or 1080x1920 for portrait. resize_mode: crop (default) "
            "fills the frame and trims what sticks out; pad "
            "shows the whole picture, scaled to fit, on black bars; rescale stretches it to the "
            "frame, distorting its proportions. The original is kept; the copy is an RGB PNG "
            "named {stem}_{WxH}.png unless output_filename is given (it must end in .png), and an "
            "existing file is never replaced unless overwrite is true. Returns {output_filename, "
            "original_size, target_size, resize_mode}. Runs locally: no upload, no cost.",
        MCP_ARGS(struct prepare_args, prepare_rows),
        .output = &prepare_result,
        .annotations = MCP_IDEMPOTENT,
        .start = prepare_reference_image,
    },
};

int tools_register_reference(struct mcp_server *server, struct tools_ctx *ctx)
{
    return tool_register_table(server, ctx, reference_tools,
                               sizeof(reference_tools) / sizeof(reference_tools[0]));
}
