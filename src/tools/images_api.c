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
 * images and the mask (read, and probed by content on the imaging pool). */
#include "fmacros.h"

#include "core/err.h"
#include "mcp/server.h"
#include "openai/client.h"
#include "store/store.h"
#include "tools/common.h"
#include "tools/image_io.h"
#include "tools/replies.h"
#include "tools/tools.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_EDIT_IMAGES 16

/* The arguments of both tools (edit_image has no moderation; generate_image
 * no input_images, mask_filename or input_fidelity). Enums hold an index into
 * their list, -1 when absent. */
struct images_args {
    const char *prompt;
    const char *model;
    const char *size;
    int quality;
    int background;
    int output_format;
    int moderation;
    struct mcp_strings input_images;
    const char *mask_filename;
    int input_fidelity;
    const char *filename;
    bool overwrite;
};

static const char *const qualities[] = {"auto", "low", "medium", "high", NULL};
static const char *const backgrounds[] = {"auto", "transparent", "opaque", NULL};
static const char *const output_formats[] = {"png", "jpeg", "webp", NULL};
static const char *const moderations[] = {"auto", "low", NULL};
static const char *const fidelities[] = {"high", "low", NULL};

/* The options both tools pass to OpenAI only when given. */
enum { NOPTIONS = 5 };
struct option {
    const char *name;
    const char *value;
};

/* Fills opts with the options given; returns how many. Only generate_image
 * has moderation (edit_image's struct leaves it 0). */
static size_t given_options(const struct images_args *a, bool moderation,
                            struct option opts[NOPTIONS])
{
    struct option all[NOPTIONS] = {
        {"size", a->size},
        {"quality", a->quality >= 0 ? qualities[a->quality] : NULL},
        {"background", a->background >= 0 ? backgrounds[a->background] : NULL},
        {"output_format", a->output_format >= 0 ? output_formats[a->output_format] : NULL},
        {"moderation", moderation && a->moderation >= 0 ? moderations[a->moderation] : NULL},
    };
    size_t n = 0;

    for (size_t i = 0; i < NOPTIONS; i++)
        if (all[i].value != NULL)
            opts[n++] = all[i];
    return n;
}

struct api_call {
    struct imgio io;                /* first: the chain hands it back */
    const struct images_args *args; /* borrowed from the call */
    const char *model;
};

static void api_call_free(struct imgio *io)
{
    free(io);
}

/* The reply of both endpoints: {created, data:[{b64_json}], usage, ...}. */
static void image_returned(struct imgio *io, json_t *body)
{
    json_t *usage = NULL;
    const char *b64 = NULL;
    size_t len = 0;
    char msg[128];

    if (reply_images_image(body, &b64, &len, &usage, msg, sizeof(msg)) != 0) {
        imgio_fail(io, "%s", msg);
        return;
    }
    json_object_set(io->extra, "usage", usage != NULL ? usage : json_null());
    imgio_save(io, b64, len);
}

/* Checks common to both tools; returns the new state or NULL after failing
 * the call. */
static struct api_call *api_call_new(struct mcp_call *call, const struct images_args *args,
                                     const char *prefix)
{
    struct tools_ctx *app = mcp_call_tool_data(call);
    const char *model = args->model;
    const char *format = args->output_format >= 0 ? output_formats[args->output_format] : NULL;
    const char *name = args->filename;
    size_t name_len = name != NULL ? strlen(name) : 0;
    struct api_call *c;

    if (model == NULL)
        model = app->opts.image_model;
    if (imgio_check_transparent(call, model,
                                args->background >= 0 ? backgrounds[args->background] : NULL) != 0)
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
    c->io.write_flags = tool_write_flags(args->overwrite);
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
    struct net_req *req = NULL;
    struct option opts[NOPTIONS];
    size_t nopts = given_options(c->args, true, opts);
    json_t *body;
    int rc;

    body = json_pack("{s:s, s:s, s:i}", "prompt", c->args->prompt, "model", c->model, "n", 1);
    for (size_t i = 0; body != NULL && i < nopts; i++)
        json_object_set_new(body, opts[i].name, json_string(opts[i].value));
    if (body == NULL) {
        imgio_fail(io, "Out of memory building the request");
        return;
    }
    rc = oai_req_new_json(io->app->oai, "POST", "/images/generations", body, &req);
    if (rc != 0) {
        imgio_fail(io, "Could not build the request: %s", sz_strerror(rc));
        return;
    }
    imgio_send(io, req, image_returned);
}

static void generate_image(struct mcp_call *call, const void *args)
{
    struct tools_ctx *app = mcp_call_tool_data(call);
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
    const char *fidelity =
        c->args->input_fidelity >= 0 ? fidelities[c->args->input_fidelity] : NULL;
    struct option opts[NOPTIONS];
    size_t nopts = given_options(c->args, false, opts);
    struct net_req *req = NULL;
    int rc;

    rc = oai_req_new(io->app->oai, "POST", "/images/edits", &req);
    /* One image goes as "image", several as repeated "image[]", as the
     * official SDKs send them. The request takes each buffer. */
    for (size_t i = 0; rc == 0 && i < io->ninputs; i++) {
        struct imgio_input *in = &io->inputs[i];
        rc = net_req_add_file(req, io->ninputs == 1 ? "image" : "image[]", in->name,
                              img_format_mime(in->format), in->bytes, in->len);
        in->bytes = NULL;
    }
    if (rc == 0 && io->has_mask) {
        rc =
            net_req_add_file(req, "mask", io->mask.name, "image/png", io->mask.bytes, io->mask.len);
        io->mask.bytes = NULL;
    }
    if (rc == 0)
        rc = net_req_add_field(req, "prompt", c->args->prompt);
    if (rc == 0)
        rc = net_req_add_field(req, "model", c->model);
    if (rc == 0)
        rc = net_req_add_field(req, "n", "1");
    for (size_t i = 0; rc == 0 && i < nopts; i++)
        rc = net_req_add_field(req, opts[i].name, opts[i].value);
    /* gpt-image-2 always works at high fidelity and rejects the flag. */
    if (rc == 0 && fidelity != NULL && strncmp(c->model, "gpt-image-2", strlen("gpt-image-2")) != 0)
        rc = net_req_add_field(req, "input_fidelity", fidelity);
    if (rc != 0) {
        if (req != NULL)
            net_req_free(req);
        imgio_fail(io, "Could not build the request: %s", sz_strerror(rc));
        return;
    }
    imgio_send(io, req, image_returned);
}

static void edit_load(struct imgio *io)
{
    struct api_call *c = (struct api_call *)io;
    const char *mask = c->args->mask_filename;

    imgio_load(io, &c->args->input_images, mask, mask != NULL ? strlen(mask) : 0, false, edit_send);
}

static void edit_image(struct mcp_call *call, const void *args)
{
    const struct images_args *a = args;
    struct tools_ctx *app = mcp_call_tool_data(call);
    const char *mask = a->mask_filename;
    size_t mask_len = mask != NULL ? strlen(mask) : 0;
    size_t nimages = a->input_images.n;
    struct api_call *c;

    if (imgio_check_key(call, app) != 0)
        return;
    /* Counted here rather than by the schema, so the words are the original's. */
    if (nimages == 0) {
        mcp_call_fail(call, "At least one input image is required");
        return;
    }
    if (nimages > MAX_EDIT_IMAGES) {
        mcp_call_fail(call, "Maximum %d input images allowed (got %zu)", MAX_EDIT_IMAGES, nimages);
        return;
    }
    if (imgio_check_input_names(call, &a->input_images) != 0 ||
        (mask != NULL && imgio_check_mask_name(call, mask, mask_len) != 0))
        return;
    if (tool_images(call, app) == NULL)
        return;
    c = api_call_new(call, args, "edit");
    if (c != NULL)
        imgio_precheck_output(&c->io, edit_load);
}

/* ---- the table ------------------------------------------------------------------------ */

#define ROW(field) .off = offsetof(struct images_args, field)

/* The descriptions of the rows both tools share (OPTION_ROWS). */
static const char model_text[] =
    "The image model, e.g. gpt-image-2 (best quality and text; no transparent background), "
    "gpt-image-1.5, gpt-image-1, or gpt-image-1-mini (fast, cheap drafts). Omit it for the "
    "server's configured default.";
static const char size_text[] =
    "auto (the model picks), or WIDTHxHEIGHT: 1024x1024, 1536x1024 (landscape), 1024x1536 "
    "(portrait), 2048x2048, 2048x1152, 2560x1440, 1440x2560, 3840x2160, 2160x3840. gpt-image-2 "
    "also takes other sizes with edges that are multiples of 16, at most 3840, and a ratio of at "
    "most 3:1. Bigger costs more and takes longer; 4K results vary most.";
static const char quality_text[] =
    "auto, low (fast, cheapest drafts), medium or high (slowest, costs most).";
static const char background_text[] =
    "auto, opaque or transparent. transparent needs a model other than gpt-image-2 (e.g. "
    "gpt-image-1.5) and output_format png or webp.";
static const char format_text[] = "png, jpeg or webp: the saved file's format and extension.";

/* model, size, quality, background, output_format: both tools, in this order. */
#define OPTION_ROWS                                                                                \
    {.name = "model",                                                                              \
     .type = MCP_ARG_STRING,                                                                       \
     .flags = MCP_ARG_DEFAULT_ELSEWHERE,                                                           \
     ROW(model),                                                                                   \
     .min = MCP_LIMIT(1),                                                                          \
     MCP_DEFAULT_STR("gpt-image-2"),                                                               \
     .description = model_text},                                                                   \
        {.name = "size",                                                                           \
         .type = MCP_ARG_STRING,                                                                   \
         .flags = MCP_ARG_DEFAULT_ELSEWHERE,                                                       \
         ROW(size),                                                                                \
         .pattern = "^(auto|[1-9][0-9]{1,4}x[1-9][0-9]{1,4})$",                                    \
         MCP_DEFAULT_STR("auto"),                                                                  \
         .description = size_text},                                                                \
        {.name = "quality",                                                                        \
         .type = MCP_ARG_ENUM,                                                                     \
         .flags = MCP_ARG_DEFAULT_ELSEWHERE,                                                       \
         ROW(quality),                                                                             \
         .values = qualities,                                                                      \
         MCP_DEFAULT_STR("auto"),                                                                  \
         .description = quality_text},                                                             \
        {.name = "background",                                                                     \
         .type = MCP_ARG_ENUM,                                                                     \
         .flags = MCP_ARG_DEFAULT_ELSEWHERE,                                                       \
         ROW(background),                                                                          \
         .values = backgrounds,                                                                    \
         MCP_DEFAULT_STR("auto"),                                                                  \
         .description = background_text},                                                          \
    {                                                                                              \
        .name = "output_format", .type = MCP_ARG_ENUM, .flags = MCP_ARG_DEFAULT_ELSEWHERE,         \
        ROW(output_format), .values = output_formats, MCP_DEFAULT_STR("png"),                      \
        .description = format_text                                                                 \
    }

static const struct mcp_arg generate_rows[] = {
    {.name = "prompt",
     .type = MCP_ARG_STRING,
     .flags = MCP_ARG_REQUIRED,
     ROW(prompt),
     .min = MCP_LIMIT(1),
     .description = "What to draw: subject, style, composition, lighting, and any text to render "
                    "(in quotes)."},
    OPTION_ROWS,
    {.name = "moderation",
     .type = MCP_ARG_ENUM,
     .flags = MCP_ARG_DEFAULT_ELSEWHERE,
     ROW(moderation),
     .values = moderations,
     MCP_DEFAULT_STR("auto"),
     .description = "auto (standard filtering) or low (less restrictive)."},
    {.name = "filename",
     .type = MCP_ARG_STRING,
     ROW(filename),
     .min = MCP_LIMIT(1),
     .description = "The name to save under, in the image directory (a name, not a path), ending "
                    "in the output_format's extension. Default gen_<unix time>.<output_format>."},
    TOOL_OVERWRITE_ARG(struct images_args),
};

static const struct mcp_arg edit_rows[] = {
    {.name = "prompt",
     .type = MCP_ARG_STRING,
     .flags = MCP_ARG_REQUIRED,
     ROW(prompt),
     .min = MCP_LIMIT(1),
     .description = "The change to make, or how to combine the images."},
    /* Counted by the tool rather than by minItems/maxItems, so the words are
     * the original's. */
    {.name = "input_images",
     .type = MCP_ARG_STRINGS,
     .flags = MCP_ARG_REQUIRED,
     ROW(input_images),
     .min = MCP_LIMIT(1),
     .description = "1 to 16 image files (JPEG, PNG or WEBP) in the image directory, by name, "
                    "e.g. [\"photo.png\", \"logo.png\"]; a mask applies to the first."},
    OPTION_ROWS,
    {.name = "mask_filename",
     .type = MCP_ARG_STRING,
     ROW(mask_filename),
     .min = MCP_LIMIT(1),
     .description = "A PNG with an alpha channel in the image directory, the size of the first "
                    "input image: its transparent pixels mark where to change."},
    {.name = "input_fidelity",
     .type = MCP_ARG_ENUM,
     ROW(input_fidelity),
     .values = fidelities,
     .description = "high keeps faces, logos and fine detail of the inputs closer; low leaves the "
                    "model more freedom. Ignored by gpt-image-2, which always keeps them high."},
    {.name = "filename",
     .type = MCP_ARG_STRING,
     ROW(filename),
     .min = MCP_LIMIT(1),
     .description = "The name to save under, in the image directory (a name, not a path), ending "
                    "in the output_format's extension. Default edit_<unix time>.<output_format>."},
    TOOL_OVERWRITE_ARG(struct images_args),
};

static const struct mcp_field api_fields[] = {
    IMGIO_SAVED_FIELDS,
    {.name = "model", .types = MCP_T_STRING, .required = true},
    {.name = "usage", .types = MCP_T_OBJECT | MCP_T_NULL, .required = true},
};
static const struct mcp_field api_result = {.types = MCP_T_OBJECT, MCP_FIELDS(api_fields)};

static struct mcp_tool images_api_tools[] = {
    {
        .name = "generate_image",
        .title = "Generate an image",
        .description =
            "Make one image from a text prompt with the Images API and save it into the image "
            "directory. The call waits until the image is done (usually 10-60 seconds, longer for "
            "large or high-quality images): no polling, the usual way to make a picture. Returns "
            "{filename, size: [width, height], format, model, usage} and a resource link to "
            "sanzaru://images/{filename}; usage counts the tokens the provider bills. Bigger "
            "sizes and quality high cost more and take longer; quality low makes cheap drafts. "
            "background transparent needs a model other than gpt-image-2 (e.g. gpt-image-1.5) and "
            "output_format png or webp. The file is gen_<unix time>.<output_format> unless "
            "filename is given. Next: edit_image changes the result; prepare_reference_image fits "
            "it to a video size so create_video can start from it.",
        MCP_ARGS(struct images_args, generate_rows),
        .output = &api_result,
        .annotations = MCP_OPEN_WORLD,
        .start = generate_image,
        .task_support = MCP_TASK_OPTIONAL, /* a minute or two of waiting */
    },
    {
        .name = "edit_image",
        .title = "Edit images",
        .description =
            "Change or combine 1 to 16 images from the image directory with the Images API, as "
            "the prompt says, and save the result into the image directory. The call waits (no "
            "polling). Describe the change, not the whole picture; with several images, say how "
            "they combine (\"put the logo from the second image on the shirt in the first\"). "
            "mask_filename (a PNG with an alpha channel, the size of the first image) limits the "
            "change to its transparent pixels. input_fidelity high keeps faces and fine detail "
            "closer (gpt-image-2 always does and ignores it). size, quality, background and "
            "output_format work as in generate_image. Returns {filename, size, format, model, "
            "usage} and a resource link; the file is edit_<unix time>.<output_format> unless "
            "filename is given. Each call is a paid generation. list_reference_images shows the "
            "images there are.",
        MCP_ARGS(struct images_args, edit_rows),
        .output = &api_result,
        .annotations = MCP_OPEN_WORLD,
        .start = edit_image,
        .task_support = MCP_TASK_OPTIONAL, /* a minute or two of waiting */
    },
};

int tools_register_images_api(struct mcp_server *server, struct tools_ctx *ctx)
{
    return tool_register_table(server, ctx, images_api_tools,
                               sizeof(images_api_tools) / sizeof(images_api_tools[0]));
}
