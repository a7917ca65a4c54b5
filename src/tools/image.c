/* Image generation through the Responses API, as a background job:
 * create_image starts it (POST /responses, background:true, with an
 * image_generation tool), get_image_status polls it, and download_image saves
 * the first image_generation_call's result into the image directory. Run as an
 * MCP task (docs/tasks.md), create_image polls the job itself (watch.h) and ends
 * when the job has; a task its client cancels cancels the job too (POST
 * /responses/{id}/cancel); after a restart the job is waited for again.
 *
 * create_image may send input images inline as data: URLs (read through the
 * store, probed and base64-encoded on the imaging pool) and a PNG mask, which
 * is uploaded to POST /files (purpose "vision") and referenced from the tool
 * as input_image_mask:{file_id}. The caller's tool_config is never modified:
 * the tool sent is a deep copy with type and model filled in. */
#include "fmacros.h"

#include "core/err.h"
#include "mcp/server.h"
#include "openai/client.h"
#include "store/store.h"
#include "core/log.h"
#include "core/pool.h"
#include "tools/common.h"
#include "tools/image_io.h"
#include "tools/replies.h"
#include "tools/tools.h"
#include "tools/watch.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One state for the three tools: the shared chain plus what create_image
 * builds along the way. */
struct image_call {
    struct imgio io; /* first: the chain hands it back */
    json_t *tool;    /* create_image: the image_generation tool (owned) */
    const char *model;
    const char *prompt;
    const char *previous_response_id;
    char *body_text; /* the serialised request body until the request takes it */
    size_t body_len;
    char response_id[129];
    struct watch_waiter *waiter; /* create_image as a task: the watch on its response */
};

static void image_call_free(struct imgio *io)
{
    struct image_call *c = (struct image_call *)io;
    json_decref(c->tool);
    free(c->body_text);
    free(c);
}

static struct image_call *image_call_new(struct mcp_call *call, struct tools_ctx *app)
{
    struct image_call *c = calloc(1, sizeof(*c));

    if (c == NULL) {
        mcp_call_fail(call, "Out of memory");
        return NULL;
    }
    imgio_init(&c->io, call, app, image_call_free);
    return c;
}

struct response_id_args {
    const char *response_id;
};

static int check_response_id(struct mcp_call *call, const char *id)
{
    if (!oai_check_id(id)) {
        mcp_call_fail(call,
                      "Invalid response_id: '%.128s' (expected letters, digits, '_' or '-', as in "
                      "resp_...)",
                      id);
        return -1;
    }
    return 0;
}

/* ---- create_image as a task: the server waits for the response -------------------------- */

/* Replies up to this size are parsed on the loop; a completed one carries its image
 * (megabytes of base64) and is parsed on the imaging pool. */
#define POLL_PARSE_ON_LOOP_MAX (64u * 1024u)

/* One GET /responses/{id} of a watch, and its parse. */
struct rpoll {
    struct watch *w;
    struct tools_ctx *app;
    struct net_req *req;     /* in flight, or NULL */
    struct sz_pool_job *job; /* the parse on the pool, or NULL */
    char *body;              /* a large body to parse (owned, freed by the work) */
    size_t len;
    json_t *summary; /* {id, status, created_at[, error]} */
};

static bool response_final(const json_t *obj)
{
    static const char *const done[] = {"completed", "failed", "cancelled", "incomplete"};
    const char *status = json_string_value(json_object_get(obj, "status"));

    for (size_t i = 0; status != NULL && i < sizeof(done) / sizeof(done[0]); i++)
        if (strcmp(status, done[i]) == 0)
            return true;
    return false;
}

/* What a task's client is told of a Response: {id, status, created_at}, and the
 * error's sentence when it failed. Any thread. */
static json_t *response_summary(json_t *body)
{
    json_t *error = json_object_get(body, "error");
    json_t *summary = reply_response_job(body);
    const char *message =
        json_is_object(error) ? json_string_value(json_object_get(error, "message")) : NULL;

    if (message != NULL)
        json_object_set_new(summary, "error", json_string(message));
    return summary;
}

static void rpoll_work(void *data)
{
    struct rpoll *p = data;
    json_t *body = json_loadb(p->body, p->len, 0, NULL);

    free(p->body);
    p->body = NULL;
    if (json_is_object(body))
        p->summary = response_summary(body);
    json_decref(body);
}

static void rpoll_worked(void *data, int status)
{
    struct rpoll *p = data;
    struct watch *w = p->w;
    json_t *summary = p->summary;

    free(p->body);
    free(p);
    if (status != 0 || summary == NULL) {
        json_decref(summary);
        watch_polled(w, status != 0 ? status : SZ_EPROTO,
                     status != 0 ? NULL : "OpenAI returned a response that is not JSON", NULL);
        return;
    }
    watch_polled(w, 0, NULL, summary);
}

static void rpoll_sent(struct net_req *req, const struct net_result *res, void *data)
{
    struct rpoll *p = data;
    struct watch *w = p->w;
    json_t *body;
    int rc;

    (void)req;
    p->req = NULL;
    if (res->err != 0) {
        free(p);
        watch_polled(w, res->err, res->message, NULL);
        return;
    }
    if (res->body_len <= POLL_PARSE_ON_LOOP_MAX) {
        body = json_loadb(res->body ? res->body : "", res->body_len, 0, NULL);
        free(p);
        if (!json_is_object(body)) {
            json_decref(body);
            watch_polled(w, SZ_EPROTO, "OpenAI returned a response that is not JSON", NULL);
            return;
        }
        watch_polled(w, 0, NULL, response_summary(body));
        json_decref(body);
        return;
    }
    p->body = malloc(res->body_len);
    if (p->body == NULL) {
        free(p);
        watch_polled(w, SZ_ENOMEM, "Out of memory reading the OpenAI response", NULL);
        return;
    }
    memcpy(p->body, res->body, res->body_len);
    p->len = res->body_len;
    rc = sz_pool_submit(p->app->imaging, rpoll_work, rpoll_worked, p, &p->job);
    if (rc != 0) {
        free(p->body);
        free(p);
        watch_polled(w, rc, NULL, NULL);
    }
}

static int response_poll(struct tools_ctx *app, const char *id, struct watch *w, void **pinflight)
{
    struct rpoll *p = calloc(1, sizeof(*p));
    char path[160];
    int rc;

    if (p == NULL)
        return SZ_ENOMEM;
    p->w = w;
    p->app = app;
    snprintf(path, sizeof(path), "/responses/%s", id);
    rc = oai_req_new(app->oai, "GET", path, &p->req);
    if (rc != 0) {
        free(p);
        return rc;
    }
    net_req_set_raw(p->req);
    net_req_set_max_body(p->req, IMGIO_MAX_BODY);
    net_req_set_label(p->req, "create_image");
    if (net_req_start(p->req, rpoll_sent, p) != 0) {
        net_req_free(p->req);
        free(p);
        return SZ_EINVAL;
    }
    *pinflight = p;
    return 0;
}

static void response_poll_stop(void *inflight)
{
    struct rpoll *p = inflight;

    if (p->req != NULL)
        net_req_cancel(p->req);
    if (p->job != NULL)
        sz_pool_cancel(p->job);
}

/* An image takes seconds to a couple of minutes: 2 s between polls at first,
 * growing to 10 s while nothing moves; half an hour at most. */
static const struct watch_kind response_kind = {
    .name = "response",
    .noun = "image job",
    .start = response_poll,
    .stop = response_poll_stop,
    .final = response_final,
    .first_ms = 2000,
    .max_ms = 10000,
    .deadline_ms = 30u * 60u * 1000u,
};

/* The Responses API gives no percentage: the stage is the progress. */
static void response_moved(void *data, const json_t *obj)
{
    struct image_call *c = data;
    const char *status = json_string_value(json_object_get(obj, "status"));

    mcp_call_progress(c->io.call, status != NULL && strcmp(status, "in_progress") == 0 ? 50 : 0,
                      100, status);
    if (c->waiter != NULL)
        mcp_call_task_poll_interval(c->io.call, (int64_t)watch_interval(c->waiter));
}

static void response_ended(void *data, int err, const char *msg, json_t *obj)
{
    struct image_call *c = data;

    c->waiter = NULL;
    if (err != 0) {
        imgio_fail(&c->io, "%s", msg != NULL ? msg : sz_strerror(err));
        return;
    }
    mcp_call_progress(c->io.call, 100, 100, json_string_value(json_object_get(obj, "status")));
    imgio_finish(&c->io, obj);
}

static void cancel_sent(struct net_req *req, const struct net_result *res, void *data)
{
    (void)req;
    (void)data;
    if (res->err != 0)
        SZ_INFO("create_image: the cancelled task's job kept running: %s",
                res->message ? res->message : sz_strerror(res->err));
}

/* A client that cancelled its task abandoned the job: POST /responses/{id}/cancel
 * (background responses can be cancelled), answered to no one. */
static void cancel_response(struct tools_ctx *app, const char *id)
{
    struct net_req *req = NULL;
    char path[176];

    snprintf(path, sizeof(path), "/responses/%s/cancel", id);
    if (oai_req_new(app->oai, "POST", path, &req) != 0)
        return;
    net_req_set_raw(req);
    net_req_set_label(req, "create_image");
    if (net_req_start(req, cancel_sent, NULL) != 0)
        net_req_free(req);
}

static void follow_cancelled(struct mcp_call *call, void *data)
{
    struct image_call *c = data;

    c->io.cancelled = true;
    if (c->waiter != NULL) {
        watch_leave(c->waiter);
        c->waiter = NULL;
    }
    if (mcp_call_task_cancelled(call))
        cancel_response(c->io.app, c->response_id);
    imgio_fail(&c->io, "cancelled");
}

/* The call is a task: its result is the job once it ended (docs/tasks.md); a
 * restarted server needs the response id to wait again. now: poll at once. */
static void follow_response(struct image_call *c, const char *id, bool now)
{
    int rc;

    snprintf(c->response_id, sizeof(c->response_id), "%s", id);
    mcp_call_task_checkpoint(c->io.call, json_pack("{s:s}", "response_id", id));
    rc = watch_join(c->io.app, &response_kind, id, now, response_moved, response_ended, c,
                    &c->waiter);
    if (rc != 0) {
        imgio_fail(&c->io, "Could not wait for image job %s: %s", id, sz_strerror(rc));
        return;
    }
    mcp_call_on_cancel(c->io.call, follow_cancelled, c);
    mcp_call_task_poll_interval(c->io.call, (int64_t)watch_interval(c->waiter));
}

/* create_image as a task after a restart: wait for the job again. */
static void resume_image(struct mcp_call *call, const json_t *checkpoint)
{
    struct tools_ctx *app = mcp_call_tool_data(call);
    const char *id = json_string_value(json_object_get(checkpoint, "response_id"));
    struct image_call *c;

    if (imgio_check_key(call, app) != 0)
        return;
    if (id == NULL || !oai_check_id(id)) {
        mcp_call_fail(call, "The task's checkpoint names no response id");
        return;
    }
    c = image_call_new(call, app);
    if (c != NULL)
        follow_response(c, id, true);
}

/* ---- create_image -------------------------------------------------------------------- */

static void response_created(struct imgio *io, json_t *body)
{
    struct image_call *c = (struct image_call *)io;
    json_t *result;

    io->deliver_cancelled = false;
    mcp_call_on_cancel(io->call, imgio_on_cancel, io);
    if (mcp_call_cancelled(io->call)) { /* its task was cancelled while it was created */
        const char *id = json_string_value(json_object_get(body, "id"));
        if (id != NULL && oai_check_id(id))
            cancel_response(io->app, id);
        imgio_fail(io, "cancelled");
        return;
    }
    if (!json_is_string(json_object_get(body, "id"))) {
        imgio_fail(io, "OpenAI returned a response without an id");
        return;
    }
    result = reply_response_job(body);
    if (mcp_call_task_id(io->call) != NULL && !response_final(result) &&
        oai_check_id(json_string_value(json_object_get(body, "id")))) {
        response_moved(c, result);
        follow_response(c, json_string_value(json_object_get(body, "id")), false);
        json_decref(result);
        return;
    }
    imgio_finish(io, result);
}

/* Builds and serialises the POST /responses body into c->body_text (NULL when
 * out of memory). With input images the body holds megabytes of base64, so this
 * runs on the imaging pool (json_dumps over 67 MB would stall the loop for
 * seconds); it reads only c's own fields and consumes the inputs' URLs, which
 * nothing else touches while the job runs. Without inputs it runs inline. */
static void build_body(void *data)
{
    struct image_call *c = data;
    struct imgio *io = &c->io;
    json_t *body, *input;

    if (io->ninputs > 0) {
        json_t *content = json_array();
        json_array_append_new(content,
                              json_pack("{s:s, s:s}", "type", "input_text", "text", c->prompt));
        for (size_t i = 0; i < io->ninputs; i++) {
            struct imgio_input *in = &io->inputs[i];
            /* The URL is ASCII we made ourselves: skip jansson's UTF-8 scan. */
            json_array_append_new(
                content, json_pack("{s:s, s:o, s:s}", "type", "input_image", "image_url",
                                   json_stringn_nocheck(in->url, in->url_len), "detail", "auto"));
            /* The copy is in the JSON now: drop ours before the text is built. */
            free(in->url);
            in->url = NULL;
        }
        input = json_pack("[{s:s, s:o}]", "role", "user", "content", content);
    } else {
        input = json_string(c->prompt);
    }
    body = json_pack("{s:s, s:o, s:[O], s:b}", "model", c->model, "input", input, "tools", c->tool,
                     "background", 1);
    if (body != NULL && c->previous_response_id != NULL)
        json_object_set_new(body, "previous_response_id", json_string(c->previous_response_id));
    c->body_text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    c->body_len = c->body_text ? strlen(c->body_text) : 0;
    json_decref(body);
}

static void create_cancelled(struct mcp_call *call, void *data)
{
    struct image_call *c = data;

    if (mcp_call_task_cancelled(call) && c->io.req != NULL)
        return; /* response_created cancels the job it created */
    imgio_on_cancel(call, &c->io);
}

static void post_body(struct image_call *c)
{
    struct imgio *io = &c->io;
    struct net_req *req = NULL;
    int rc;

    if (c->body_text == NULL) {
        imgio_fail(io, "Out of memory building the request");
        return;
    }
    rc = oai_req_new(io->app->oai, "POST", "/responses", &req);
    if (rc == 0)
        rc = net_req_set_json_text(req, c->body_text, c->body_len);
    else
        free(c->body_text);
    c->body_text = NULL; /* the request owns it now, or it is gone */
    if (rc != 0) {
        if (req != NULL)
            net_req_free(req);
        imgio_fail(io, "Could not build the request: %s", sz_strerror(rc));
        return;
    }
    /* A task cancelled while this request is in flight lets it finish, so that the
     * job it creates upstream can be cancelled there (response_created). */
    io->deliver_cancelled = true;
    mcp_call_on_cancel(io->call, create_cancelled, c);
    imgio_send(io, req, response_created);
}

static void body_built(void *data, int status)
{
    struct image_call *c = data;
    struct imgio *io = &c->io;

    io->job = NULL;
    if (imgio_stopped(io))
        return;
    if (status != 0) {
        imgio_fail(io, "Could not build the request: %s", sz_strerror(status));
        return;
    }
    post_body(c);
}

static void send_response(struct imgio *io)
{
    struct image_call *c = (struct image_call *)io;
    int rc;

    if (io->ninputs == 0) {
        build_body(c);
        post_body(c);
        return;
    }
    rc = sz_pool_submit(io->app->imaging, build_body, body_built, c, &io->job);
    if (rc != 0)
        imgio_fail(io, "Could not build the request: %s", sz_strerror(rc));
}

static void mask_uploaded(struct imgio *io, json_t *body)
{
    struct image_call *c = (struct image_call *)io;
    json_t *id = json_object_get(body, "id");

    if (!json_is_string(id)) {
        imgio_fail(io, "OpenAI returned a file without an id for the mask");
        return;
    }
    json_object_set_new(c->tool, "input_image_mask", json_pack("{s:O}", "file_id", id));
    send_response(io);
}

static void inputs_loaded(struct imgio *io)
{
    struct net_req *req = NULL;
    int rc;

    if (!io->has_mask) {
        send_response(io);
        return;
    }
    rc = oai_req_new(io->app->oai, "POST", "/files", &req);
    if (rc == 0) {
        rc =
            net_req_add_file(req, "file", io->mask.name, "image/png", io->mask.bytes, io->mask.len);
        io->mask.bytes = NULL; /* the request owns it (freed at once on failure) */
    }
    if (rc == 0)
        rc = net_req_add_field(req, "purpose", "vision");
    if (rc != 0) {
        if (req != NULL)
            net_req_free(req);
        imgio_fail(io, "Could not build the mask upload: %s", sz_strerror(rc));
        return;
    }
    imgio_send(io, req, mask_uploaded);
}

struct create_image_args {
    const char *prompt;
    const char *model;
    const json_t *tool_config;
    const char *previous_response_id;
    struct mcp_strings input_images;
    const char *mask_filename;
};

static void create_image(struct mcp_call *call, const void *args)
{
    const struct create_image_args *a = args;
    struct tools_ctx *app = mcp_call_tool_data(call);
    const json_t *config = a->tool_config;
    const char *mask = a->mask_filename;
    size_t mask_len = mask != NULL ? strlen(mask) : 0;
    size_t ninputs = a->input_images.n;
    struct image_call *c;
    json_t *tool;

    if (imgio_check_key(call, app) != 0)
        return;
    if (mask != NULL && ninputs == 0) {
        mcp_call_fail(call, "mask_filename requires input_images parameter");
        return;
    }
    /* A deep copy: the caller's object (the validated arguments) stays as sent. */
    tool = json_is_object(config) ? json_deep_copy(config) : json_object();
    if (tool == NULL) {
        mcp_call_fail(call, "Out of memory");
        return;
    }
    json_object_set_new(tool, "type", json_string("image_generation"));
    if (!json_is_string(json_object_get(tool, "model")))
        json_object_set_new(tool, "model", json_string(app->opts.image_model));
    if (imgio_check_transparent(call, json_string_value(json_object_get(tool, "model")),
                                json_string_value(json_object_get(tool, "background"))) != 0 ||
        imgio_check_input_names(call, &a->input_images) != 0 ||
        (mask != NULL && imgio_check_mask_name(call, mask, mask_len) != 0) ||
        ((ninputs > 0 || mask != NULL) && tool_images(call, app) == NULL)) {
        json_decref(tool);
        return;
    }
    c = image_call_new(call, app);
    if (c == NULL) {
        json_decref(tool);
        return;
    }
    c->tool = tool;
    c->model = a->model != NULL ? a->model : app->opts.responses_model;
    c->prompt = a->prompt;
    c->previous_response_id = a->previous_response_id;
    /* OpenAI takes at most 50 MB of images inline in one request. */
    c->io.input_total_max = IMG_MAX_BYTES;
    if (ninputs > 0)
        imgio_load(&c->io, &a->input_images, mask, mask_len, true, inputs_loaded);
    else
        inputs_loaded(&c->io);
}

/* ---- get_image_status ------------------------------------------------------------------ */

static void status_got(struct imgio *io, json_t *body)
{
    imgio_finish(io, reply_response_job(body));
}

static void start_get(struct image_call *c, imgio_reply_fn *reply)
{
    struct net_req *req = NULL;
    char path[160];
    int rc;

    snprintf(path, sizeof(path), "/responses/%s", c->response_id);
    rc = oai_req_new(c->io.app->oai, "GET", path, &req);
    if (rc != 0) {
        imgio_fail(&c->io, "Could not build the request: %s", sz_strerror(rc));
        return;
    }
    imgio_send(&c->io, req, reply);
}

static void get_image_status(struct mcp_call *call, const void *args)
{
    const struct response_id_args *a = args;
    struct tools_ctx *app = mcp_call_tool_data(call);
    const char *id = a->response_id;
    struct image_call *c;

    if (imgio_check_key(call, app) != 0 || check_response_id(call, id) != 0)
        return;
    c = image_call_new(call, app);
    if (c == NULL)
        return;
    snprintf(c->response_id, sizeof(c->response_id), "%s", id);
    start_get(c, status_got);
}

/* ---- download_image ----------------------------------------------------------------------- */

static void response_got(struct imgio *io, json_t *body)
{
    struct image_call *c = (struct image_call *)io;
    const char *b64 = NULL;
    size_t len = 0;
    char msg[512];

    if (reply_response_image(body, c->response_id, &b64, &len, msg, sizeof(msg)) != 0) {
        imgio_fail(io, "%s", msg);
        return;
    }
    imgio_save(io, b64, len);
}

static void download_start(struct imgio *io)
{
    start_get((struct image_call *)io, response_got);
}

struct download_image_args {
    const char *response_id;
    const char *filename;
    bool overwrite;
};

static void download_image(struct mcp_call *call, const void *args)
{
    const struct download_image_args *a = args;
    struct tools_ctx *app = mcp_call_tool_data(call);
    const char *id = a->response_id;
    const char *name = a->filename;
    size_t name_len = name != NULL ? strlen(name) : 0;
    struct image_call *c;

    if (imgio_check_key(call, app) != 0 || check_response_id(call, id) != 0)
        return;
    if (name != NULL && imgio_check_output_name(call, name, name_len, IMG_FORMAT_UNKNOWN) != 0)
        return;
    if (tool_images(call, app) == NULL)
        return;
    c = image_call_new(call, app);
    if (c == NULL)
        return;
    snprintf(c->response_id, sizeof(c->response_id), "%s", id);
    c->io.prefix = "img";
    c->io.write_flags = tool_write_flags(a->overwrite);
    /* Downloading again costs nothing, so a name that would mislabel the
     * image is refused rather than written. */
    c->io.strict_ext = true;
    if (name != NULL)
        memcpy(c->io.out_name, name, name_len);
    imgio_precheck_output(&c->io, download_start);
}

/* ---- the table --------------------------------------------------------------------------- */

#define RESPONSE_ID_ROW(T)                                                                         \
    {                                                                                              \
        .name = "response_id", .type = MCP_ARG_STRING, .flags = MCP_ARG_REQUIRED,                  \
        .off = offsetof(T, response_id), .min = MCP_LIMIT(1), .max = MCP_LIMIT(128),               \
        .description = "The id create_image returned (resp_...)."                                  \
    }

static const struct mcp_arg create_rows[] = {
    {.name = "prompt",
     .type = MCP_ARG_STRING,
     .flags = MCP_ARG_REQUIRED,
     .off = offsetof(struct create_image_args, prompt),
     .min = MCP_LIMIT(1),
     .description = "What to draw; with input_images, what to change or how to combine them "
                    "(\"put the logo from the second image on the mug\")."},
    {.name = "model",
     .type = MCP_ARG_STRING,
     .flags = MCP_ARG_DEFAULT_ELSEWHERE,
     .off = offsetof(struct create_image_args, model),
     .min = MCP_LIMIT(1),
     MCP_DEFAULT_STR("gpt-5.2"),
     .description = "The mainline model that runs the image tool, e.g. gpt-5.2. Omit it for the "
                    "server's configured default."},
    {.name = "tool_config",
     .type = MCP_ARG_OBJECT,
     .off = offsetof(struct create_image_args, tool_config),
     .description = "Options for the image_generation tool, passed through as given: model "
                    "(default gpt-image-2), size, quality, output_format, background, moderation, "
                    "input_fidelity, action, ... e.g. {\"quality\": \"high\"}."},
    {.name = "previous_response_id",
     .type = MCP_ARG_STRING,
     .off = offsetof(struct create_image_args, previous_response_id),
     .min = MCP_LIMIT(1),
     .description = "The id of an earlier create_image job to refine; the prompt then says what "
                    "to change."},
    {.name = "input_images",
     .type = MCP_ARG_STRINGS,
     .off = offsetof(struct create_image_args, input_images),
     .min = MCP_LIMIT(1),
     .description = "Image files (JPEG, PNG or WEBP) in the image directory, by name, e.g. "
                    "[\"room.png\", \"sofa.jpg\"]; sent inline, 50 MB together at most. "
                    "list_reference_images shows what is there."},
    {.name = "mask_filename",
     .type = MCP_ARG_STRING,
     .off = offsetof(struct create_image_args, mask_filename),
     .min = MCP_LIMIT(1),
     .description = "A PNG with an alpha channel in the image directory, the size of the first "
                    "input image: its transparent pixels mark the area to change. Needs "
                    "input_images."},
};

static const struct mcp_arg status_rows[] = {
    RESPONSE_ID_ROW(struct response_id_args),
};

static const struct mcp_arg download_rows[] = {
    RESPONSE_ID_ROW(struct download_image_args),
    {.name = "filename",
     .type = MCP_ARG_STRING,
     .off = offsetof(struct download_image_args, filename),
     .min = MCP_LIMIT(1),
     .description = "The name to save under, in the image directory (a name, not a path), ending "
                    "in the image's format (.png unless tool_config chose another). Default "
                    "img_<unix time>.<format>."},
    TOOL_OVERWRITE_ARG(struct download_image_args),
};

static const struct mcp_field saved_fields[] = {IMGIO_SAVED_FIELDS};
static const struct mcp_field saved_result = {.types = MCP_T_OBJECT, MCP_FIELDS(saved_fields)};

static struct mcp_tool image_tools[] = {
    {
        .name = "create_image",
        .title = "Create an image (background job)",
        .description =
            "Start an image job in the background with the Responses API (a mainline model that "
            "calls the image_generation tool). Returns {id, status, created_at} at once. Next, "
            "call get_image_status with that id every 5-10 seconds until status is completed, "
            "then download_image to save the picture (nothing is saved until you do). For a "
            "single picture generate_image or edit_image is simpler: one call, no polling. "
            "create_image is for several jobs at once and for refining: pass previous_response_id "
            "and a prompt that says what to change. input_images (files in the image directory, "
            "JPEG/PNG/WEBP, 50 MB together at most) are edited or combined; mask_filename (a PNG "
            "whose transparent pixels mark the area to change; needs input_images) limits the "
            "edit. tool_config goes to the image_generation tool as given, e.g. {\"size\": "
            "\"1536x1024\", \"quality\": \"high\", \"output_format\": \"webp\"}; its model "
            "defaults to gpt-image-2, which cannot make transparent backgrounds (use "
            "gpt-image-1.5 for those). Each job is a paid generation. A client that runs this "
            "tool as an MCP task gets the job's final state (completed, failed, ...) as the "
            "task's result instead: the server polls for it.",
        MCP_ARGS(struct create_image_args, create_rows),
        .output = &reply_job_result,
        .annotations = MCP_OPEN_WORLD,
        .start = create_image,
        /* As a task it ends when the job has (docs/tasks.md). */
        .task_support = MCP_TASK_OPTIONAL,
        .resume = resume_image,
    },
    {
        .name = "get_image_status",
        .title = "Get an image job's status",
        .description =
            "Check an image job started by create_image: returns {id, status, created_at}. status "
            "is queued or in_progress while it works (usually under two minutes), then completed, "
            "failed, cancelled or incomplete. Call again every 5-10 seconds until it settles; "
            "checking starts no new work. When status is completed, call download_image with the "
            "same id; on failed or incomplete, start a new create_image (a simpler or reworded "
            "prompt often helps).",
        MCP_ARGS(struct response_id_args, status_rows),
        .output = &reply_job_result,
        .annotations = MCP_READ_ONLY | MCP_OPEN_WORLD,
        .start = get_image_status,
    },
    {
        .name = "download_image",
        .title = "Download a generated image",
        .description =
            "Save the picture of a completed create_image job (get_image_status says completed) "
            "into the image directory. The file is img_<unix time>.<format> unless filename is "
            "given (format is png unless tool_config asked for jpeg or webp); a given name must "
            "end in the real format's extension. An existing file is never replaced unless "
            "overwrite is true. Returns {filename, size: [width, height], format} and a resource "
            "link to sanzaru://images/{filename}. The saved file can go straight into edit_image, "
            "into prepare_reference_image, or into create_video as input_reference_filename when "
            "its size is exactly the video's.",
        MCP_ARGS(struct download_image_args, download_rows),
        .output = &saved_result,
        .annotations = MCP_IDEMPOTENT | MCP_OPEN_WORLD,
        .start = download_image,
    },
};

int tools_register_image(struct mcp_server *server, struct tools_ctx *ctx)
{
    return tool_register_table(server, ctx, image_tools,
                               sizeof(image_tools) / sizeof(image_tools[0]));
}
