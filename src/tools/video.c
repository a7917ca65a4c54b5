/* The video tools: create_video, get_video_status, download_video (video_download.c),
 * list_videos, delete_video and remix_video (list_local_videos lives in local.c). Each
 * is a thin adapter: check the arguments, start one operation of the video layer
 * (src/video/, which picks the provider: Gemini, Azure OpenAI or OpenAI) and turn its
 * outcome into the result shape of TOOLS.md. create_video reads its optional reference
 * image through the image store's sandbox first and checks it on the imaging pool
 * (img_probe_async: a header that reads, a file not cut off), so an unusable file is
 * refused by name before anything is uploaded. Every call is cancellable: the
 * operation in flight is cancelled.
 *
 * Run as an MCP task (docs/tasks.md), create_video and remix_video wait for the video
 * they started (watch.h) and end with it finished; a task cancelled by its client
 * stops the video upstream where the provider can; after a restart the video is waited
 * for again (resume_video).
 *
 * Thread: everything here runs on the loop thread. */
#include "fmacros.h"

#include "core/err.h"
#include "core/utf8.h"
#include "imaging/imaging.h"
#include "mcp/server.h"
#include "store/store.h"
#include "tools/common.h"
#include "tools/replies.h"
#include "tools/tools.h"
#include "tools/video_int.h"
#include "tools/watch.h"
#include "video/video.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The reference image is sent whole in the request body; the video APIs take
 * images far smaller than this, so the cap only stops a mistaken multi-GB file. */
#define REF_MAX_BYTES (50u * 1024u * 1024u)

/* Longest part of a rejected argument echoed in a message. */
#define ECHO_MAX 80

/* ---- shared helpers -------------------------------------------------------- */

/* How many of len bytes of s to echo: at most ECHO_MAX, never splitting a UTF-8
 * sequence (the message must stay valid UTF-8 for JSON). */
static int echo_len(const char *s, size_t len)
{
    return (int)sz_utf8_prefix(s, len, ECHO_MAX);
}

/* Checks an id bound for a URL path; fails the call and returns false if it is
 * not one. */
bool video_tool_check_id(struct mcp_call *call, const char *param, const char *id)
{
    size_t len = strlen(id);

    if (video_check_id(id))
        return true;
    mcp_call_fail(call, "Invalid %s: '%.*s%s' (expected 1 to 128 letters, digits, '_' or '-')",
                  param, echo_len(id, len), id, (size_t)echo_len(id, len) < len ? "..." : "");
    return false;
}

/* The video service, or NULL after failing the call (it could not be built). */
struct video_svc *video_tool_svc(struct mcp_call *call, struct tools_ctx *app)
{
    if (app->video == NULL)
        mcp_call_fail(call, "The video tools are not available (see the server's log)");
    return app->video;
}

/* ---- one operation, one result ------------------------------------------- */

enum shape {
    SHAPE_VIDEO,   /* the Video object */
    SHAPE_DELETED, /* {id, object, deleted} */
    SHAPE_LIST,    /* list_videos' summary */
};

/* One call in flight: the job, and for create_video with a reference image the
 * read that comes first; as a task, then the watch on the new video (follow). */
struct vcall {
    struct mcp_call *call;
    struct tools_ctx *app;
    struct video_job *job; /* NULL until started and after its report */
    enum shape shape;
    bool reading;
    bool cancelled;
    bool follow;                 /* create_video, remix_video: a task waits for the video */
    struct watch_waiter *waiter; /* the watch on the video, while a task waits */
    char id[VIDEO_ID_MAX + 1];   /* the video a task waits for */
    const char *service;         /* who answered ("Gemini"; static), for sentences */
    struct video_plan plan;
    char *prompt;
    char ref[STORE_NAME_MAX + 1];
    size_t ref_len;
    struct sz_pool_job *probe; /* the reference's probe, while it runs */
    void *ref_bytes;           /* the reference read, until video_create takes it */
    size_t ref_bytes_len;
    enum img_format ref_format;
};

static void vcall_free(struct vcall *v)
{
    free(v->prompt);
    free(v->ref_bytes);
    free(v);
}

static void stopped(void *data, int err, const char *msg, json_t *result)
{
    (void)data;
    if (err != 0)
        SZ_INFO("the cancelled task's video kept running: %s", msg ? msg : sz_strerror(err));
    json_decref(result);
}

/* A client that cancelled its task (tasks/cancel) abandoned the video: stop it
 * upstream where the provider can (Gemini); otherwise it runs to its end. */
static void stop_upstream(struct vcall *v)
{
    struct video_job *job;

    if (v->id[0] == '\0' || v->app->video == NULL || !mcp_call_task_cancelled(v->call))
        return;
    if (video_stop(v->app->video, v->id, stopped, NULL, &job) != 0)
        SZ_WARN("could not ask to stop video %s", v->id);
}

static void vcall_cancel(struct mcp_call *call, void *data)
{
    struct vcall *v = data;
    (void)call;
    /* A reference read in progress is not interruptible; its callback sees the
     * cancellation. A queued probe reports SZ_ECANCELLED, a running one its result,
     * which is then dropped. A started job reports SZ_ECANCELLED. */
    v->cancelled = true;
    if (v->probe != NULL)
        sz_pool_cancel(v->probe);
    /* A task cancelled while its video is being created lets the create finish, so
     * that the video it makes can be stopped upstream (vcall_done). */
    if (v->job != NULL && !(v->follow && mcp_call_task_cancelled(call)))
        video_job_cancel(v->job);
    if (v->waiter != NULL) { /* a task waiting for its video: nothing else runs */
        watch_leave(v->waiter);
        v->waiter = NULL;
        stop_upstream(v);
        mcp_call_fail(v->call, "cancelled");
        vcall_free(v);
    }
}

/* What each shape's object is called when a provider sends a malformed one. */
static const char *const shape_nouns[] = {"video", "deletion result", "video list"};

/* ---- as a task: the server waits for the video ------------------------------------ */

static void video_polled(void *data, int err, const char *msg, json_t *video)
{
    watch_polled(data, err, msg, video);
}

static int video_poll(struct tools_ctx *app, const char *id, struct watch *w, void **pinflight)
{
    struct video_job *job = NULL;
    int rc;

    if (app->video == NULL)
        return SZ_EINVAL;
    rc = video_retrieve(app->video, id, video_polled, w, &job);
    *pinflight = job;
    return rc;
}

static void video_poll_stop(void *inflight)
{
    video_job_cancel(inflight);
}

static bool video_final(const json_t *video)
{
    const char *status = json_string_value(json_object_get(video, "status"));
    return status != NULL && (strcmp(status, "completed") == 0 || strcmp(status, "failed") == 0);
}

/* Videos take minutes: 5 s between polls at first, growing to 20 s while nothing
 * moves; an hour at most (the task's own TTL is an hour by default). */
static const struct watch_kind video_kind = {
    .name = "video",
    .noun = "video",
    .start = video_poll,
    .stop = video_poll_stop,
    .final = video_final,
    .first_ms = 5000,
    .max_ms = 20000,
    .deadline_ms = 60u * 60u * 1000u,
};

/* The video moved: its progress is the task's (a notification, or its statusMessage). */
static void followed(void *data, const json_t *video)
{
    struct vcall *v = data;
    const json_t *progress = json_object_get(video, "progress");
    const char *status = json_string_value(json_object_get(video, "status"));

    if (json_is_number(progress))
        mcp_call_progress(v->call, json_number_value(progress), 100, status);
    if (v->waiter != NULL)
        mcp_call_task_poll_interval(v->call, (int64_t)watch_interval(v->waiter));
}

static void finish_video(struct vcall *v, json_t *obj);

static void arrived(void *data, int err, const char *msg, json_t *video)
{
    struct vcall *v = data;

    v->waiter = NULL;
    if (err != 0) {
        tool_fail_err(v->call, err, msg);
        vcall_free(v);
        return;
    }
    mcp_call_progress(v->call, 100, 100, json_string_value(json_object_get(video, "status")));
    finish_video(v, video);
}

/* The call is a task: the result is the video once it completed or failed, so the
 * client polls the task, not the video (docs/tasks.md). What a restarted server
 * needs to wait again is the video's id. now: poll at once (a resumed task). */
static void follow(struct vcall *v, const char *id, bool now)
{
    int rc;

    snprintf(v->id, sizeof(v->id), "%s", id);
    mcp_call_task_checkpoint(v->call, json_pack("{s:s}", "video_id", id));
    rc = watch_join(v->app, &video_kind, id, now, followed, arrived, v, &v->waiter);
    if (rc != 0) {
        mcp_call_fail(v->call, "Could not wait for video %s: %s", id, sz_strerror(rc));
        vcall_free(v);
        return;
    }
    mcp_call_on_cancel(v->call, vcall_cancel, v);
    mcp_call_task_poll_interval(v->call, (int64_t)watch_interval(v->waiter));
}

static void vcall_done(void *data, int err, const char *msg, json_t *obj)
{
    struct vcall *v = data;

    v->service = video_job_service_name(v->job);
    v->job = NULL;
    if (err != 0) {
        if (err == SZ_ECANCELLED && mcp_call_cancelled(v->call))
            mcp_call_fail(v->call, "cancelled");
        else
            tool_fail_err(v->call, err, msg);
        json_decref(obj);
        vcall_free(v);
        return;
    }
    if (v->follow && mcp_call_cancelled(v->call)) { /* its task was cancelled meanwhile */
        const char *id = json_string_value(json_object_get(obj, "id"));
        if (id != NULL && video_check_id(id)) {
            snprintf(v->id, sizeof(v->id), "%s", id);
            stop_upstream(v);
        }
        mcp_call_fail(v->call, "cancelled");
        json_decref(obj);
        vcall_free(v);
        return;
    }
    if (v->follow && mcp_call_task_id(v->call) != NULL && !mcp_call_cancelled(v->call) &&
        json_is_string(json_object_get(obj, "id")) && !video_final(obj) &&
        video_check_id(json_string_value(json_object_get(obj, "id")))) {
        followed(v, obj);
        follow(v, json_string_value(json_object_get(obj, "id")), false);
        json_decref(obj);
        return;
    }
    finish_video(v, obj);
}

/* Finishes the call with obj (stolen), shaped and checked, and frees v. */
static void finish_video(struct vcall *v, json_t *obj)
{
    json_t *result = NULL;
    char why[256];

    /* Unknown fields are the API's to add: a Video object passes through whole.
     * The fields we declare must hold what we promised clients, though. */
    result = v->shape == SHAPE_LIST ? reply_video_summary(obj) : json_incref(obj);
    if (mcp_call_check_output(v->call, result, why, sizeof(why)) != 0) {
        mcp_call_fail(v->call, "%s returned a malformed %s: %s", v->service, shape_nouns[v->shape],
                      why);
        json_decref(result);
        goto out;
    }
    mcp_call_finish(v->call, result);
out:
    json_decref(obj);
    vcall_free(v);
}

/* A call context, or NULL after failing the call. */
static struct vcall *vcall_new(struct mcp_call *call, struct tools_ctx *app, enum shape shape)
{
    struct vcall *v = calloc(1, sizeof(*v));

    if (v == NULL) {
        mcp_call_fail(call, "Out of memory starting %s", mcp_call_name(call));
        return NULL;
    }
    v->call = call;
    v->app = app;
    v->shape = shape;
    v->service = "The video provider";
    return v;
}

/* After a video_* start: on failure fails the call and frees v. */
static void vcall_started(struct vcall *v, int rc)
{
    if (rc == 0) {
        mcp_call_on_cancel(v->call, vcall_cancel, v);
        return;
    }
    mcp_call_fail(v->call, "%s starting %s", rc == SZ_ENOMEM ? "Out of memory" : sz_strerror(rc),
                  mcp_call_name(v->call));
    vcall_free(v);
}

/* ---- create_video ----------------------------------------------------------- */

static void reference_probed(struct img_result *res, void *arg)
{
    struct vcall *v = arg;
    struct video_image image;
    char msg[STORE_NAME_MAX + IMG_ERRMSG_LEN + 64];
    int rc;

    v->probe = NULL;
    if (mcp_call_cancelled(v->call) || v->cancelled || res->status != 0) {
        if (res->status != 0 && res->status != SZ_ECANCELLED)
            tool_upload_refusal(msg, sizeof(msg), "Reference image", v->ref, v->ref_format,
                                res->status, res->errmsg);
        else
            snprintf(msg, sizeof(msg), "cancelled");
        mcp_call_fail(v->call, "%s", msg);
        vcall_free(v);
        return;
    }
    image = (struct video_image){v->ref, img_format_mime(v->ref_format), v->ref_bytes,
                                 v->ref_bytes_len};
    v->ref_bytes = NULL; /* video_create owns the bytes from here */
    rc = video_create(v->app->video, &v->plan, v->prompt, &image, vcall_done, v, &v->job);
    if (rc != 0) {
        mcp_call_fail(v->call, "%s starting create_video",
                      rc == SZ_ENOMEM ? "Out of memory" : sz_strerror(rc));
        vcall_free(v);
    }
}

static void reference_read(void *data, int err, const char *msg, char *buf, size_t len,
                           const struct store_stat *st)
{
    struct vcall *v = data;
    enum img_format want = img_format_from_filename(v->ref);
    enum img_format got;
    int rc;
    (void)st;

    v->reading = false;
    if (mcp_call_cancelled(v->call) || v->cancelled || err != 0) {
        free(buf);
        mcp_call_fail(v->call, "%s", err != 0 ? msg : "cancelled");
        vcall_free(v);
        return;
    }
    got = img_sniff(buf, len);
    if (got != want) {
        /* Upstream would refuse it too, with a vaguer message and after an upload. */
        free(buf);
        if (got == IMG_FORMAT_UNKNOWN)
            mcp_call_fail(v->call,
                          "Reference image %s is not a valid %s image: its content does not "
                          "match its extension",
                          v->ref, img_format_upper_name(want));
        else
            mcp_call_fail(v->call,
                          "Reference image %s holds %s data but is named as %s: rename it "
                          "with the right extension",
                          v->ref, img_format_upper_name(got), img_format_upper_name(want));
        vcall_free(v);
        return;
    }
    /* Content, not only magic bytes: a header decode on the pool, which borrows the
     * bytes, before anything is uploaded. */
    v->ref_bytes = buf;
    v->ref_bytes_len = len;
    v->ref_format = got;
    rc = img_probe_async(v->app->imaging, buf, len, reference_probed, v, &v->probe);
    if (rc != 0) {
        mcp_call_fail(v->call, "Could not check reference image %s: %s", v->ref, sz_strerror(rc));
        vcall_free(v);
    }
}

struct create_video_args {
    const char *prompt;
    const char *model;
    int seconds; /* index into seconds_values, or -1 */
    int size;    /* index into tool_video_sizes, or -1 */
    const char *input_reference_filename;
};

/* create_video's lengths: the original's until tools_register_video offers what the
 * configured providers make (video_seconds_offered). */
static const char *const original_seconds[] = {"4", "8", "12", NULL};
static const char *offered_seconds[32];
static const char *const *seconds_values = original_seconds;

static void create_video(struct mcp_call *call, const void *args)
{
    const struct create_video_args *a = args;
    struct tools_ctx *app = mcp_call_tool_data(call);
    const char *ref = a->input_reference_filename;
    size_t ref_len = ref != NULL ? strlen(ref) : 0;
    char msg[VIDEO_MSG_MAX];
    struct video_svc *svc;
    struct video_plan plan;
    struct vcall *v;
    int rc;

    if (ref != NULL) {
        if (tool_images(call, app) == NULL)
            return;
        if (store_check_name(ref, ref_len, msg, sizeof(msg)) != 0 ||
            store_check_ext(ref, ref_len, store_image_exts, "JPEG, PNG, or WEBP", msg,
                            sizeof(msg)) != 0) {
            mcp_call_fail(call, "%s", msg);
            return;
        }
    }
    if ((svc = video_tool_svc(call, app)) == NULL)
        return;
    /* Provider, credentials, size and length: said before any file is read. */
    rc = video_plan_create(svc, a->model, a->size >= 0 ? tool_video_sizes[a->size] : NULL,
                           a->seconds >= 0 ? seconds_values[a->seconds] : NULL, &plan, msg,
                           sizeof(msg));
    if (rc != 0) { /* SZ_ENOKEY: no provider for it (configuration); SZ_EINVAL: the arguments */
        tool_fail_err(call, rc, msg);
        return;
    }
    if ((v = vcall_new(call, app, SHAPE_VIDEO)) == NULL)
        return;
    v->plan = plan;
    v->follow = true;
    if (ref == NULL) {
        vcall_started(v, video_create(svc, &plan, a->prompt, NULL, vcall_done, v, &v->job));
        return;
    }
    if ((v->prompt = strdup(a->prompt)) == NULL) {
        vcall_started(v, SZ_ENOMEM);
        return;
    }
    v->reading = true;
    memcpy(v->ref, ref, ref_len);
    v->ref_len = ref_len;
    mcp_call_on_cancel(call, vcall_cancel, v);
    if (store_read_file(app->images, v->ref, ref_len, "Reference image", REF_MAX_BYTES,
                        reference_read, v) != 0) {
        mcp_call_fail(call, "Out of memory reading %s", v->ref);
        vcall_free(v);
    }
}

/* ---- get_video_status, delete_video, remix_video, list_videos ---------------- */

struct video_id_args {
    const char *video_id;
};

typedef int by_id_fn(struct video_svc *svc, const char *id, video_result_fn *cb, void *data,
                     struct video_job **pjob);

static void video_by_id(struct mcp_call *call, const void *args, by_id_fn *fn, enum shape shape)
{
    const struct video_id_args *a = args;
    struct tools_ctx *app = mcp_call_tool_data(call);
    struct video_svc *svc;
    struct vcall *v;

    if (!video_tool_check_id(call, "video_id", a->video_id) ||
        (svc = video_tool_svc(call, app)) == NULL)
        return;
    if ((v = vcall_new(call, app, shape)) != NULL)
        vcall_started(v, fn(svc, a->video_id, vcall_done, v, &v->job));
}

static void get_video_status(struct mcp_call *call, const void *args)
{
    video_by_id(call, args, video_retrieve, SHAPE_VIDEO);
}

static void delete_video(struct mcp_call *call, const void *args)
{
    video_by_id(call, args, video_delete, SHAPE_DELETED);
}

struct remix_video_args {
    const char *previous_video_id;
    const char *prompt;
};

static void remix_video(struct mcp_call *call, const void *args)
{
    const struct remix_video_args *a = args;
    struct tools_ctx *app = mcp_call_tool_data(call);
    struct video_svc *svc;
    struct vcall *v;

    if (!video_tool_check_id(call, "previous_video_id", a->previous_video_id) ||
        (svc = video_tool_svc(call, app)) == NULL)
        return;
    if ((v = vcall_new(call, app, SHAPE_VIDEO)) == NULL)
        return;
    v->follow = true;
    vcall_started(v, video_remix(svc, a->previous_video_id, a->prompt, vcall_done, v, &v->job));
}

/* create_video and remix_video as tasks after a restart: wait for the video again. */
static void resume_video(struct mcp_call *call, const json_t *checkpoint)
{
    struct tools_ctx *app = mcp_call_tool_data(call);
    const char *id = json_string_value(json_object_get(checkpoint, "video_id"));
    struct vcall *v;

    if (id == NULL || !video_tool_check_id(call, "video_id", id) ||
        video_tool_svc(call, app) == NULL)
        return;
    if ((v = vcall_new(call, app, SHAPE_VIDEO)) != NULL)
        follow(v, id, true);
}

struct list_videos_args {
    long long limit;
    const char *after;
    int order; /* index into sort_orders */
};

static const char *const sort_orders[] = {"asc", "desc", NULL};

static void list_videos(struct mcp_call *call, const void *args)
{
    const struct list_videos_args *a = args;
    struct tools_ctx *app = mcp_call_tool_data(call);
    struct video_svc *svc;
    struct vcall *v;

    if ((svc = video_tool_svc(call, app)) == NULL)
        return;
    if ((v = vcall_new(call, app, SHAPE_LIST)) != NULL)
        vcall_started(
            v, video_list(svc, (size_t)a->limit, a->after, a->order == 0, vcall_done, v, &v->job));
}

/* ---- the table ------------------------------------------------------------------ */

/* Not const: the model's default is the configured provider's, set at registration. */
static struct mcp_arg create_video_rows[] = {
    {.name = "prompt",
     .type = MCP_ARG_STRING,
     .flags = MCP_ARG_REQUIRED,
     .off = offsetof(struct create_video_args, prompt),
     .min = MCP_LIMIT(1),
     .description = "What the video shows: subject, setting, action, camera movement, lighting "
                    "and style, in one or a few sentences."},
    {.name = "model",
     .type = MCP_ARG_STRING,
     .flags = MCP_ARG_DEFAULT_ELSEWHERE,
     .off = offsetof(struct create_video_args, model),
     .min = MCP_LIMIT(1),
     MCP_DEFAULT_STR("sora-2"),
     .description = "The video model, which also picks the provider: gemini-omni-1.1-flash (or "
                    "another gemini-omni model) on Google's Gemini API; sora-2 (faster, cheaper) "
                    "or sora-2-pro (higher quality, slower, costs more) on Azure OpenAI or an "
                    "OpenAI-compatible gateway. Omit it for the server's configured default."},
    {.name = "seconds",
     .type = MCP_ARG_ENUM,
     .off = offsetof(struct create_video_args, seconds),
     .values = original_seconds,
     .description = "Length in seconds, as a string. Sora makes 4, 8 or 12; Gemini Omni 3 to 10 "
                    "(gemini-omni-1.2-flash 3 to 15), offered when Gemini is configured. Omit it "
                    "for the model's default (4 on Sora). Longer videos cost more."},
    {.name = "size",
     .type = MCP_ARG_ENUM,
     .off = offsetof(struct create_video_args, size),
     .values = tool_video_sizes,
     .description = "Width x height in pixels: 720x1280 (portrait) or 1280x720 (landscape); on "
                    "Sora also the larger 1024x1792 and 1792x1024 (sora-2-pro only), on Gemini "
                    "Omni 1920x1080 and 1080x1920. Omit it for the model's default (720x1280 on "
                    "Sora)."},
    {.name = "input_reference_filename",
     .type = MCP_ARG_STRING,
     .off = offsetof(struct create_video_args, input_reference_filename),
     .min = MCP_LIMIT(1),
     .description = "A picture to start from: a JPEG, PNG or WEBP file in the image directory (a "
                    "name, not a path) of exactly the video's size. prepare_reference_image fits "
                    "any image to a video size."},
};

static const struct mcp_arg status_rows[] = {
    {.name = "video_id",
     .type = MCP_ARG_STRING,
     .flags = MCP_ARG_REQUIRED,
     .off = offsetof(struct video_id_args, video_id),
     .description = "The id create_video or remix_video returned, e.g. video_68d7512d07848190 "
                    "or v1_ChdXS0ZKYWNQ."},
};

static const struct mcp_arg list_rows[] = {
    {.name = "limit",
     .type = MCP_ARG_INT,
     .off = offsetof(struct list_videos_args, limit),
     .min = MCP_LIMIT(1),
     .max = MCP_LIMIT(100),
     MCP_DEFAULT_INT(20),
     .description = "Videos per page, 1 to 100."},
    {.name = "after",
     .type = MCP_ARG_STRING,
     .off = offsetof(struct list_videos_args, after),
     .min = MCP_LIMIT(1),
     .description = "For the next page: the last value of the previous page."},
    {.name = "order",
     .type = MCP_ARG_ENUM,
     .off = offsetof(struct list_videos_args, order),
     .values = sort_orders,
     MCP_DEFAULT_STR("desc"),
     .description = "By creation time: desc (newest first) or asc."},
};

static const struct mcp_arg delete_rows[] = {
    {.name = "video_id",
     .type = MCP_ARG_STRING,
     .flags = MCP_ARG_REQUIRED,
     .off = offsetof(struct video_id_args, video_id),
     .description = "The id of the video job to delete."},
};

static const struct mcp_arg remix_rows[] = {
    {.name = "previous_video_id",
     .type = MCP_ARG_STRING,
     .flags = MCP_ARG_REQUIRED,
     .off = offsetof(struct remix_video_args, previous_video_id),
     .description = "The id of the completed video to change."},
    {.name = "prompt",
     .type = MCP_ARG_STRING,
     .flags = MCP_ARG_REQUIRED,
     .off = offsetof(struct remix_video_args, prompt),
     .min = MCP_LIMIT(1),
     .description = "The change to make, e.g. \"the same scene at night, in the rain\"."},
};

/* In the order tools/list shows them: these two, download_video (video_download.c),
 * then the rest. */
static struct mcp_tool video_tools[] = {
    {
        .name = "create_video",
        .title = "Create a video",
        .description =
            "Start generating a video from a text prompt on the configured video provider (the "
            "model, when given, picks the provider). Returns at once with the Video object: keep "
            "its id; status starts as queued. "
            "Generation takes one to several minutes. Next, call get_video_status with that id "
            "every 10-20 seconds until status is completed, then call download_video to save "
            "the file (nothing is saved until you do). If status becomes failed, error.message "
            "says why: change the prompt and create again. Each call starts a new paid "
            "generation, billed by the second of video (longer videos and pro models cost "
            "more): after a timeout or an unclear error, look with get_video_status or "
            "list_videos before creating again. A size or length the model cannot make is "
            "refused at once, naming what it can make. To start from a picture, pass "
            "input_reference_filename: an image in the image directory of exactly the video's "
            "size (prepare_reference_image makes one, list_reference_images shows what is "
            "there). Prompts work best when they say subject, setting, action, camera movement, "
            "lighting and style. A client that runs this tool as an MCP task gets the finished "
            "Video object (completed or failed) as the task's result instead: the server polls "
            "for it.",
        MCP_ARGS(struct create_video_args, create_video_rows),
        .output = &reply_video_result,
        .annotations = MCP_OPEN_WORLD,
        .start = create_video,
        /* As a task it ends with the finished video (docs/tasks.md). */
        .task_support = MCP_TASK_OPTIONAL,
        .resume = resume_video,
    },
    {
        .name = "get_video_status",
        .title = "Get a video's status",
        .description =
            "Check a video job started by create_video or remix_video. Returns the Video "
            "object: status (queued, in_progress, completed or failed), progress (0-100; a "
            "provider that reports none gives the stage: 0, 50, 100) and, on failure, error {code, "
            "message}. While status "
            "is queued or in_progress, call again every 10-20 seconds; checking starts no new "
            "generation. When status is completed, call download_video with the same id (before "
            "expires_at, a Unix time, when one is given). When it is failed, read "
            "error.message, adjust the prompt and start a new video.",
        MCP_ARGS(struct video_id_args, status_rows),
        .output = &reply_video_result,
        .annotations = MCP_READ_ONLY | MCP_OPEN_WORLD,
        .start = get_video_status,
    },
};

static struct mcp_tool video_tools_rest[] = {
    {
        .name = "list_videos",
        .title = "List video jobs",
        .description =
            "List the video jobs of the configured video provider, newest first by default, "
            "each with id, status, progress, created_at, seconds, size and model. Use it to "
            "find an id you no longer have, or to check before creating a video again. One page "
            "at a time: while has_more is true, call again with after set to the returned last. "
            "A provider that keeps no such list shows the jobs this server created instead "
            "(status as last checked). These are "
            "remote jobs; list_local_videos lists the files already downloaded.",
        MCP_ARGS(struct list_videos_args, list_rows),
        .output = &reply_list_result,
        .annotations = MCP_READ_ONLY | MCP_OPEN_WORLD,
        .start = list_videos,
    },
    {
        .name = "delete_video",
        .title = "Delete a video job",
        .description =
            "Delete a video job and its output from the provider's storage, for good: it can no "
            "longer be checked, downloaded or remixed. Files already saved with download_video "
            "stay in the local video directory. Delete only what the user asked to delete. "
            "Returns {id, object, deleted}; deleting an id again reports the provider's "
            "not-found error.",
        MCP_ARGS(struct video_id_args, delete_rows),
        .output = &reply_deleted_result,
        .annotations = MCP_DESTRUCTIVE | MCP_IDEMPOTENT | MCP_OPEN_WORLD,
        .start = delete_video,
    },
    {
        .name = "remix_video",
        .title = "Remix a finished video",
        .description =
            "Start a new video that changes a completed one as a new prompt says, keeping what "
            "the prompt does not mention; describe only the change (\"make it night\", \"the dog "
            "is now a cat\"). Returns a new Video object with a new id and status queued: poll "
            "get_video_status with the new id every 10-20 seconds until completed, then "
            "download_video it. The source video is left as it is and must be completed and not "
            "expired. A remix is a paid generation like create_video, on the provider that made "
            "the source.",
        MCP_ARGS(struct remix_video_args, remix_rows),
        .output = &reply_video_result,
        .annotations = MCP_OPEN_WORLD,
        .start = remix_video,
        .task_support = MCP_TASK_OPTIONAL,
        .resume = resume_video,
    },
};

int tools_register_video(struct mcp_server *server, struct tools_ctx *app)
{
    /* tools/list shows the model create_video uses when none is given, and offers
     * every length a configured provider makes (rows 1 and 2: model, seconds). */
    seconds_values = original_seconds;
    if (app->video != NULL) {
        create_video_rows[1].def_str = video_default_model(app->video);
        video_seconds_offered(app->video, offered_seconds,
                              sizeof(offered_seconds) / sizeof(offered_seconds[0]));
        seconds_values = offered_seconds;
    }
    create_video_rows[2].values = seconds_values;
    if (tool_register_table(server, app, video_tools,
                            sizeof(video_tools) / sizeof(video_tools[0])) != 0 ||
        tools_register_download_video(server, app) != 0)
        return SZ_EINVAL;
    return tool_register_table(server, app, video_tools_rest,
                               sizeof(video_tools_rest) / sizeof(video_tools_rest[0]));
}
