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

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define VIDEO_SIZES_ENUM "[\"720x1280\",\"1280x720\",\"1024x1792\",\"1792x1024\"]"

struct prepare {
    struct mcp_call *call;
    struct sz_app *app;
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
    mcp_call_add_content(p->call, tool_resource_link("images", name, "image/png", size));
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

static void prepare_reference_image(struct mcp_call *call, json_t *args)
{
    struct sz_app *app = mcp_call_tool_data(call);
    static const char *const png_only[] = {"png", NULL};
    size_t in_len = 0, out_len = 0;
    const char *input = tool_arg_string(args, "input_filename", &in_len);
    const char *output = tool_arg_string(args, "output_filename", &out_len);
    const char *size = tool_arg_string(args, "target_size", NULL);
    const char *mode = tool_arg_string(args, "resize_mode", NULL);
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
    p->write_flags = tool_write_flags(args);
    sscanf(size, "%dx%d", &p->width, &p->height);
    if (img_fit_mode_parse(mode ? mode : "crop", &p->mode) != 0)
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
    if (store_open_read(app->images, p->input, in_len, "Reference image", opened, p) != 0) {
        mcp_call_fail(call, "out of memory");
        prepare_free(p);
    }
}

static struct mcp_tool reference_tools[] = {
    {
        .name = "prepare_reference_image",
        .title = "Prepare a reference image",
        .description =
            "Fit an image from the image directory to an exact video size so it can be used as "
            "create_video's input_reference_filename. resize_mode: crop (scale to cover, centre "
            "crop; default), pad (scale to fit, centred on black bars; small images are "
            "enlarged), rescale (stretch, ignoring aspect ratio). Writes an RGB PNG named "
            "{stem}_{WxH}.png unless output_filename is given.",
        .input_schema =
            "{\"type\":\"object\",\"properties\":{"
            "\"input_filename\":{\"type\":\"string\",\"minLength\":1,\"description\":\"An image "
            "(JPEG, PNG or WEBP) in the image directory.\"},"
            "\"target_size\":{\"type\":\"string\",\"enum\":" VIDEO_SIZES_ENUM
            ",\"description\":\"The video size to fit.\"},"
            "\"output_filename\":{\"type\":\"string\",\"minLength\":1,\"description\":\"Name of "
            "the PNG to write (default {stem}_{WxH}.png).\"},"
            "\"resize_mode\":{\"type\":\"string\",\"enum\":[\"crop\",\"pad\",\"rescale\"],"
            "\"default\":\"crop\"}," TOOL_OVERWRITE_PROP
            "},\"required\":[\"input_filename\",\"target_size\"],\"additionalProperties\":false}",
        .output_schema =
            "{\"type\":\"object\",\"properties\":{"
            "\"output_filename\":{\"type\":\"string\"},"
            "\"original_size\":{\"type\":\"array\",\"items\":{\"type\":\"integer\"},"
            "\"minItems\":2,\"maxItems\":2},"
            "\"target_size\":{\"type\":\"array\",\"items\":{\"type\":\"integer\"},"
            "\"minItems\":2,\"maxItems\":2},"
            "\"resize_mode\":{\"type\":\"string\",\"enum\":[\"crop\",\"pad\",\"rescale\"]},"
            "\"size_bytes\":{\"type\":\"integer\"}},"
            "\"required\":[\"output_filename\",\"original_size\",\"target_size\","
            "\"resize_mode\"]}",
        .annotations = MCP_IDEMPOTENT,
        .start = prepare_reference_image,
    },
};

int tools_register_reference(struct mcp_server *server, struct sz_app *app)
{
    return tool_register_table(server, app, reference_tools,
                               sizeof(reference_tools) / sizeof(reference_tools[0]));
}
