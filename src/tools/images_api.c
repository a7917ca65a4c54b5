/* Image generation through the Images API, which answers synchronously with
 * the image: generate_image (POST /images/generations, JSON) and edit_image
 * (POST /images/edits, multipart with one "image" part or repeated "image[]"
 * parts and an optional "mask"). Both save the returned b64_json into the
 * image directory and report {filename, size, format, model, usage}.
 *
 * Everything that can be checked is checked before the request, because a
 * request costs money: the API key, background "transparent" with a
 * gpt-image-2 model, every filename, the output name against output_format,
 * an existing file under the output name (unless overwrite), the input
 * images and the mask (read and checked by content). */
#include "fmacros.h"

#include "app/config.h"
#include "core/err.h"
#include "mcp/server.h"
#include "openai/client.h"
#include "store/store.h"
#include "tools/common.h"
#include "tools/image_io.h"
#include "tools/tools.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_EDIT_IMAGES 16

/* The options both tools share, passed to OpenAI only when given. */
static const char *const image_options[] = {"size",          "quality",    "background",
                                            "output_format", "moderation", NULL};

struct api_call {
    struct imgio io; /* first: the chain hands it back */
    json_t *args;    /* the validated arguments (borrowed from the call) */
    const char *model;
};

static void api_call_free(struct imgio *io)
{
    free(io);
}

/* The reply of both endpoints: {created, data:[{b64_json}], usage, ...}. */
static void image_returned(struct imgio *io, json_t *body)
{
    json_t *first = json_array_get(json_object_get(body, "data"), 0);
    json_t *b64 = json_object_get(first, "b64_json");
    json_t *usage = json_object_get(body, "usage");

    if (!json_is_string(b64) || json_string_length(b64) == 0) {
        imgio_fail(io, "OpenAI returned no image data");
        return;
    }
    json_object_set(io->extra, "usage", json_is_object(usage) ? usage : json_null());
    imgio_save(io, json_string_value(b64), json_string_length(b64));
}

/* Checks common to both tools; returns the new state or NULL after failing
 * the call. */
static struct api_call *api_call_new(struct mcp_call *call, json_t *args, const char *prefix)
{
    struct sz_app *app = mcp_call_tool_data(call);
    const char *model = tool_arg_string(args, "model", NULL);
    const char *format = tool_arg_string(args, "output_format", NULL);
    size_t name_len = 0;
    const char *name = tool_arg_string(args, "filename", &name_len);
    struct api_call *c;

    if (model == NULL)
        model = app->cfg->image_model;
    if (imgio_check_transparent(call, model, tool_arg_string(args, "background", NULL)) != 0)
        return NULL;
    if (name != NULL &&
        imgio_check_output_name(call, name, name_len, imgio_format_from_param(format)) != 0)
        return NULL;
    c = calloc(1, sizeof(*c));
    if (c == NULL) {
        mcp_call_fail(call, "Out of memory");
        return NULL;
    }
    c->io.extra = json_pack("{s:s}", "model", model);
    if (c->io.extra == NULL) {
        free(c);
        mcp_call_fail(call, "Out of memory");
        return NULL;
    }
    imgio_init(&c->io, call, app, api_call_free);
    c->args = args;
    c->model = model;
    c->io.prefix = prefix;
    c->io.write_flags = tool_write_flags(args);
    switch (imgio_format_from_param(format)) { /* what output_format asks for */
    case IMG_FORMAT_JPEG:
        c->io.expect = STORE_FMT_JPEG;
        break;
    case IMG_FORMAT_WEBP:
        c->io.expect = STORE_FMT_WEBP;
        break;
    default:
        c->io.expect = STORE_FMT_PNG;
        break;
    }
    if (name != NULL)
        memcpy(c->io.out_name, name, name_len);
    return c;
}

/* ---- generate_image ------------------------------------------------------------------- */

static void generate_send(struct imgio *io)
{
    struct api_call *c = (struct api_call *)io;
    struct oai_req *req = NULL;
    json_t *body;
    int rc;

    body = json_pack("{s:s, s:s, s:i}", "prompt", tool_arg_string(c->args, "prompt", NULL), "model",
                     c->model, "n", 1);
    for (size_t i = 0; body != NULL && image_options[i] != NULL; i++) {
        const char *v = tool_arg_string(c->args, image_options[i], NULL);
        if (v != NULL)
            json_object_set_new(body, image_options[i], json_string(v));
    }
    if (body == NULL) {
        imgio_fail(io, "Out of memory building the request");
        return;
    }
    rc = oai_req_new(io->app->oai, "POST", "/images/generations", &req);
    if (rc == 0)
        rc = oai_req_set_json_new(req, body);
    else
        json_decref(body);
    if (rc != 0) {
        if (req != NULL)
            oai_req_free(req);
        imgio_fail(io, "Could not build the request: %s", sz_strerror(rc));
        return;
    }
    imgio_send(io, req, image_returned);
}

static void generate_image(struct mcp_call *call, json_t *args)
{
    struct sz_app *app = mcp_call_tool_data(call);
    struct api_call *c;

    if (imgio_check_key(call, app) != 0)
        return;
    if (tool_images(call, app) == NULL)
        return;
    c = api_call_new(call, args, "gen");
    if (c != NULL)
        imgio_precheck_output(&c->io, generate_send);
}

/* ---- edit_image ---------------------------------------------------------------------- */

static void edit_send(struct imgio *io)
{
    struct api_call *c = (struct api_call *)io;
    const char *fidelity = tool_arg_string(c->args, "input_fidelity", NULL);
    struct oai_req *req = NULL;
    int rc;

    rc = oai_req_new(io->app->oai, "POST", "/images/edits", &req);
    /* One image goes as "image", several as repeated "image[]", as the
     * official SDKs send them. The request takes each buffer. */
    for (size_t i = 0; rc == 0 && i < io->ninputs; i++) {
        struct imgio_input *in = &io->inputs[i];
        rc = oai_req_add_file(req, io->ninputs == 1 ? "image" : "image[]", in->name,
                              img_format_mime(in->format), in->bytes, in->len);
        in->bytes = NULL;
    }
    if (rc == 0 && io->has_mask) {
        rc =
            oai_req_add_file(req, "mask", io->mask.name, "image/png", io->mask.bytes, io->mask.len);
        io->mask.bytes = NULL;
    }
    if (rc == 0)
        rc = oai_req_add_field(req, "prompt", tool_arg_string(c->args, "prompt", NULL));
    if (rc == 0)
        rc = oai_req_add_field(req, "model", c->model);
    if (rc == 0)
        rc = oai_req_add_field(req, "n", "1");
    for (size_t i = 0; rc == 0 && image_options[i] != NULL; i++) {
        const char *v = tool_arg_string(c->args, image_options[i], NULL);
        if (v != NULL)
            rc = oai_req_add_field(req, image_options[i], v);
    }
    /* gpt-image-2 always works at high fidelity and rejects the flag. */
    if (rc == 0 && fidelity != NULL && strncmp(c->model, "gpt-image-2", strlen("gpt-image-2")) != 0)
        rc = oai_req_add_field(req, "input_fidelity", fidelity);
    if (rc != 0) {
        if (req != NULL)
            oai_req_free(req);
        imgio_fail(io, "Could not build the request: %s", sz_strerror(rc));
        return;
    }
    imgio_send(io, req, image_returned);
}

static void edit_load(struct imgio *io)
{
    struct api_call *c = (struct api_call *)io;
    size_t mask_len = 0;
    const char *mask = tool_arg_string(c->args, "mask_filename", &mask_len);

    imgio_load(io, json_object_get(c->args, "input_images"), mask, mask_len, false, edit_send);
}

static void edit_image(struct mcp_call *call, json_t *args)
{
    struct sz_app *app = mcp_call_tool_data(call);
    json_t *images = json_object_get(args, "input_images");
    size_t mask_len = 0;
    const char *mask = tool_arg_string(args, "mask_filename", &mask_len);
    struct api_call *c;

    if (imgio_check_key(call, app) != 0)
        return;
    /* Counted here rather than by the schema, so the words are the original's. */
    if (json_array_size(images) == 0) {
        mcp_call_fail(call, "At least one input image is required");
        return;
    }
    if (json_array_size(images) > MAX_EDIT_IMAGES) {
        mcp_call_fail(call, "Maximum %d input images allowed (got %zu)", MAX_EDIT_IMAGES,
                      json_array_size(images));
        return;
    }
    if (imgio_check_input_names(call, images) != 0 ||
        (mask != NULL && imgio_check_mask_name(call, mask, mask_len) != 0))
        return;
    if (tool_images(call, app) == NULL)
        return;
    c = api_call_new(call, args, "edit");
    if (c != NULL)
        imgio_precheck_output(&c->io, edit_load);
}

/* ---- the table ------------------------------------------------------------------------ */

#define IMAGE_OPTION_PROPS                                                                         \
    "\"model\":{\"type\":\"string\",\"minLength\":1,\"description\":\"Image model (default "       \
    "gpt-image-2, or SANZARU_IMAGE_MODEL).\"},"                                                    \
    "\"size\":{\"type\":\"string\",\"pattern\":\"^(auto|[1-9][0-9]{1,4}x[1-9][0-9]{1,4})$\","      \
    "\"default\":\"auto\",\"description\":\"auto, or WIDTHxHEIGHT: 1024x1024, 1536x1024, "         \
    "1024x1536, 2048x2048, 2048x1152, 2560x1440, 1440x2560, 3840x2160, 2160x3840.\"},"             \
    "\"quality\":{\"type\":\"string\",\"enum\":[\"auto\",\"low\",\"medium\",\"high\"],"            \
    "\"default\":\"auto\"},"                                                                       \
    "\"background\":{\"type\":\"string\",\"enum\":[\"auto\",\"transparent\",\"opaque\"],"          \
    "\"default\":\"auto\",\"description\":\"transparent is not supported by gpt-image-2.\"},"      \
    "\"output_format\":{\"type\":\"string\",\"enum\":[\"png\",\"jpeg\",\"webp\"],"                 \
    "\"default\":\"png\"},"

#define API_OUTPUT_SCHEMA                                                                          \
    "{\"type\":\"object\",\"properties\":{"                                                        \
    "\"filename\":{\"type\":\"string\"},"                                                          \
    "\"size\":{\"type\":\"array\",\"items\":{\"type\":\"integer\"},\"minItems\":2,"                \
    "\"maxItems\":2},"                                                                             \
    "\"format\":{\"type\":\"string\"},\"size_bytes\":{\"type\":\"integer\"},"                      \
    "\"model\":{\"type\":\"string\"},\"usage\":{\"type\":[\"object\",\"null\"]}},"                 \
    "\"required\":[\"filename\",\"size\",\"format\",\"model\",\"usage\"]}"

static struct mcp_tool images_api_tools[] = {
    {
        .name = "generate_image",
        .title = "Generate an image",
        .description =
            "Generate an image with the OpenAI Images API and save it into the image directory; "
            "the call waits for the image (up to a minute or two). Returns {filename, size, "
            "format, model, usage}. The default name is gen_<unix time>.<output_format>; a given "
            "filename must end in the output format's extension.",
        .input_schema =
            "{\"type\":\"object\",\"properties\":{"
            "\"prompt\":{\"type\":\"string\",\"minLength\":1,\"description\":\"What to "
            "draw.\"}," IMAGE_OPTION_PROPS
            "\"moderation\":{\"type\":\"string\",\"enum\":[\"auto\",\"low\"],\"default\":"
            "\"auto\"},"
            "\"filename\":{\"type\":\"string\",\"minLength\":1,\"description\":\"Name of the file "
            "to write (default gen_<unix time>.<output_format>).\"}," TOOL_OVERWRITE_PROP
            "},\"required\":[\"prompt\"],\"additionalProperties\":false}",
        .output_schema = API_OUTPUT_SCHEMA,
        .annotations = MCP_OPEN_WORLD,
        .start = generate_image,
    },
    {
        .name = "edit_image",
        .title = "Edit images",
        .description =
            "Edit or combine 1 to 16 images from the image directory with the OpenAI Images API "
            "and save the result there; the call waits for the image. mask_filename (a PNG with "
            "an alpha channel, the size of the first image) marks the area to change. "
            "input_fidelity is ignored for gpt-image-2 (always high). Returns {filename, size, "
            "format, model, usage}. The default name is edit_<unix time>.<output_format>.",
        .input_schema =
            "{\"type\":\"object\",\"properties\":{"
            "\"prompt\":{\"type\":\"string\",\"minLength\":1,\"description\":\"The edit to "
            "make.\"},"
            "\"input_images\":{\"type\":\"array\",\"items\":{\"type\":\"string\",\"minLength\":1},"
            "\"description\":\"1 to 16 image files (JPEG, PNG, WEBP) in the image "
            "directory.\"}," IMAGE_OPTION_PROPS
            "\"mask_filename\":{\"type\":\"string\",\"minLength\":1,\"description\":\"A PNG with "
            "an alpha channel in the image directory.\"},"
            "\"input_fidelity\":{\"type\":\"string\",\"enum\":[\"high\",\"low\"]},"
            "\"filename\":{\"type\":\"string\",\"minLength\":1,\"description\":\"Name of the file "
            "to write (default edit_<unix time>.<output_format>).\"}," TOOL_OVERWRITE_PROP
            "},\"required\":[\"prompt\",\"input_images\"],\"additionalProperties\":false}",
        .output_schema = API_OUTPUT_SCHEMA,
        .annotations = MCP_OPEN_WORLD,
        .start = edit_image,
    },
};

int tools_register_images_api(struct mcp_server *server, struct sz_app *app)
{
    return tool_register_table(server, app, images_api_tools,
                               sizeof(images_api_tools) / sizeof(images_api_tools[0]));
}
