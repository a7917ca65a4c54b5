/* The openai and azure video providers: OpenAI's Videos API (POST /videos, GET
 * /videos/{id}, GET /videos, DELETE /videos/{id}, POST /videos/{id}/remix, GET
 * /videos/{id}/content?variant=), at OpenAI (or a gateway) and at Azure OpenAI's v1
 * API, which serves the same paths and bodies. The Video object passes through
 * whole: it is already the shape of TOOLS.md.
 *
 * OpenAI retired the Videos API on 2026-09-24. A video call that meets the
 * retirement (410; a 404 for the collection itself, at api.openai.com, or for a URL
 * the server does not know; model_not_found for a Sora model) reads as a sentence
 * that says so and how to go on, instead of a bare 404, with SZ_ERETIRED (a
 * configuration problem: only another provider's settings answer it). Azure still
 * serves Sora and its 404s read as they are. */
#include "fmacros.h"

#include "video/openai_map.h"
#include "video/provider.h"

#include "core/err.h"
#include "net/client.h"
#include "openai/client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const sora_variants[] = {"video", "thumbnail", "spritesheet", NULL};

/* The sizes Sora makes (OpenAI's spec); create_video also offers Gemini's 1080p. */
static const char *const sora_sizes[] = {"720x1280", "1280x720", "1024x1792", "1792x1024", NULL};
static const char *const sora_seconds[] = {"4", "8", "12", NULL};

static bool listed(const char *const *list, const char *v)
{
    for (size_t i = 0; list[i] != NULL; i++)
        if (strcmp(list[i], v) == 0)
            return true;
    return false;
}

static int check(const char *model, const char *size, const char *seconds, char *msg, size_t msglen)
{
    /* Other models (a gateway's) are the gateway's to judge. */
    if (strncmp(model, "sora-", 5) != 0)
        return 0;
    if (size != NULL && !listed(sora_sizes, size)) {
        snprintf(msg, msglen,
                 "%s cannot make size %s: Sora makes 720x1280 and 1280x720 (sora-2-pro also "
                 "1024x1792 and 1792x1024)",
                 model, size);
        return SZ_EINVAL;
    }
    if (seconds != NULL && !listed(sora_seconds, seconds)) {
        snprintf(msg, msglen, "%s cannot make %s seconds: Sora makes 4, 8 or 12", model, seconds);
        return SZ_EINVAL;
    }
    return 0;
}

/* ---- retirement -------------------------------------------------------------------- */

/* Did the response say that the Videos API is gone (rather than that one video is)? */
static bool retired(const struct video_job *job, const struct net_result *res)
{
    const struct oai_client *c = video_svc_openai(job->svc, job->prov->id);
    struct voai_failure f = {
        .openai_flavour = oai_client_flavour(c) == OAI_OPENAI,
        .http_error = res->err == SZ_EUPSTREAM,
        .status = res->status,
        .api_code = res->api_code,
        .op = job->op,
        .model = job->plan.model,
        .base_url = oai_client_base_url(c),
        .body = res->body,
        .body_len = res->body_len,
    };

    return voai_retired(&f);
}

static void retirement_message(const struct video_job *job, const struct net_result *res, char *msg,
                               size_t msglen)
{
    const char *base = oai_client_base_url(video_svc_openai(job->svc, job->prov->id));

    snprintf(msg, msglen,
             "OpenAI retired the Videos API (sora-2, sora-2-pro) on 2026-09-24: %s no longer "
             "makes videos (%s). To keep making videos set GEMINI_API_KEY for Google's Gemini "
             "Omni (gemini-omni-1.1-flash), or AZURE_OPENAI_ENDPOINT and AZURE_OPENAI_API_KEY "
             "for Sora on Azure OpenAI, or OPENAI_BASE_URL to a gateway that still serves "
             "/v1/videos; see docs/providers.md",
             base, res->message != NULL ? res->message : "no response");
}

/* ---- one JSON request, one object ------------------------------------------------ */

static const char *op_tool(enum video_op op)
{
    static const char *const tools[] = {"create_video", "get_video_status", "list_videos",
                                        "delete_video", "remix_video",      "download_video"};
    return tools[op];
}

static void done(struct net_req *req, const struct net_result *res, void *data)
{
    struct video_job *job = data;
    const char *service = job->prov->id == VIDEO_AZURE ? "Azure OpenAI" : "OpenAI";
    char msg[VIDEO_MSG_MAX * 2];
    (void)req;

    job->req = NULL;
    if (res->err != 0) {
        if (retired(job, res)) {
            retirement_message(job, res, msg, sizeof(msg));
            video_job_finish(job, SZ_ERETIRED, msg, NULL);
        } else {
            video_job_finish(job, res->err, job->cancelled ? NULL : res->message, NULL);
        }
        return;
    }
    /* The fields themselves are checked by the tool against its result schema. */
    if (!voai_accepts(job->op, res->json)) {
        snprintf(msg, sizeof(msg), "%s returned an unexpected response to %s", service,
                 op_tool(job->op));
        video_job_finish(job, SZ_EPROTO, msg, NULL);
        return;
    }
    video_job_finish(job, 0, NULL, json_incref(res->json));
}

/* A request for method and "/videos[/<id>]<suffix>", or NULL (SZ_ENOMEM). */
static struct net_req *video_req(struct video_job *job, const char *method, const char *id,
                                 const char *suffix)
{
    struct oai_client *c = video_svc_openai(job->svc, job->prov->id);
    struct net_req *req = NULL;
    char path[VIDEO_ID_MAX + 64];

    snprintf(path, sizeof(path), "/videos%s%s%s", id != NULL ? "/" : "", id != NULL ? id : "",
             suffix);
    if (oai_req_new(c, method, path, &req) != 0)
        return NULL;
    return req;
}

static int run(struct video_job *job, struct net_req *req, const char *label)
{
    return video_job_start(job, req, label, done);
}

static int create(struct video_job *job)
{
    struct net_req *req = video_req(job, "POST", NULL, "");
    int rc;

    if (req == NULL)
        return SZ_ENOMEM;
    /* The official SDK's multipart shape: text fields, then the file part; seconds
     * and size only when given, so the API's own defaults apply otherwise. */
    rc = net_req_add_field(req, "prompt", job->prompt);
    if (rc == 0)
        rc = net_req_add_field(req, "model", job->plan.model);
    if (rc == 0 && job->plan.seconds[0] != '\0')
        rc = net_req_add_field(req, "seconds", job->plan.seconds);
    if (rc == 0 && job->plan.size[0] != '\0')
        rc = net_req_add_field(req, "size", job->plan.size);
    if (rc == 0 && job->ref.bytes != NULL) {
        /* add_file owns the bytes from here, even on failure. */
        rc = net_req_add_file(req, "input_reference", job->ref.name, job->ref.mime, job->ref.bytes,
                              job->ref.len);
        job->ref.bytes = NULL;
    }
    if (rc != 0) {
        net_req_free(req);
        return rc;
    }
    return run(job, req, "create_video");
}

static int retrieve(struct video_job *job)
{
    struct net_req *req = video_req(job, "GET", job->id, "");
    return req != NULL ? run(job, req, "get_video_status") : SZ_ENOMEM;
}

static int remove_video(struct video_job *job)
{
    struct net_req *req = video_req(job, "DELETE", job->id, "");
    return req != NULL ? run(job, req, "delete_video") : SZ_ENOMEM;
}

static int remix(struct video_job *job)
{
    struct net_req *req = video_req(job, "POST", job->id, "/remix");

    if (req == NULL)
        return SZ_ENOMEM;
    if (net_req_set_json_new(req, json_pack("{s:s}", "prompt", job->prompt)) != 0) {
        net_req_free(req);
        return SZ_ENOMEM;
    }
    return run(job, req, "remix_video");
}

static int list(struct video_job *job)
{
    struct net_req *req = video_req(job, "GET", NULL, "");
    char limit[24];
    int rc;

    if (req == NULL)
        return SZ_ENOMEM;
    snprintf(limit, sizeof(limit), "%zu", job->limit);
    rc = net_req_add_query(req, "limit", limit);
    if (rc == 0 && job->after != NULL)
        rc = net_req_add_query(req, "after", job->after);
    if (rc == 0)
        rc = net_req_add_query(req, "order", job->ascending ? "asc" : "desc");
    if (rc != 0) {
        net_req_free(req);
        return rc;
    }
    return run(job, req, "list_videos");
}

/* ---- download ---------------------------------------------------------------------- */

static int sink_headers(struct net_req *req, long status, int64_t length, const char *ctype,
                        void *data)
{
    struct video_job *job = data;
    int rc;
    (void)req;
    (void)status;

    rc = job->sink.on_start(job->sink.data, length, ctype);
    if (rc < 0)
        job->sink_err = rc;
    return rc < 0 ? rc : 0;
}

static int sink_data(struct net_req *req, const char *buf, size_t len, void *data)
{
    struct video_job *job = data;
    int rc;
    (void)req;

    rc = job->sink.on_data(job->sink.data, buf, len);
    if (rc < 0)
        job->sink_err = rc;
    return rc == VIDEO_SINK_PAUSE ? NET_SINK_PAUSE : rc;
}

static void downloaded(struct net_req *req, const struct net_result *res, void *data)
{
    struct video_job *job = data;
    char msg[VIDEO_MSG_MAX * 2];
    (void)req;

    job->req = NULL;
    if (job->sink_err != 0) {
        video_job_finish(job, job->sink_err, NULL, NULL);
    } else if (res->err != 0 && retired(job, res)) {
        retirement_message(job, res, msg, sizeof(msg));
        video_job_finish(job, SZ_ERETIRED, msg, NULL);
    } else {
        video_job_finish(job, res->err, res->err != 0 && !job->cancelled ? res->message : NULL,
                         NULL);
    }
}

static int download(struct video_job *job)
{
    struct net_req *req = video_req(job, "GET", job->id, "/content");
    struct net_sink sink = {sink_headers, sink_data, job};

    if (req == NULL)
        return SZ_ENOMEM;
    if (net_req_add_query(req, "variant", job->variant) != 0) {
        net_req_free(req);
        return SZ_ENOMEM;
    }
    net_req_set_sink(req, &sink);
    return video_job_start(job, req, "download_video", downloaded);
}

static void cancel(struct video_job *job)
{
    if (job->req != NULL)
        net_req_cancel(job->req); /* its done callback reports */
}

/* OpenAI and Azure serve the same Videos API through the same client: one table,
 * two ids (the id picks the client and the name in messages). */
#define SORA_PROVIDER(provider_id)                                                                 \
    {                                                                                              \
        .id = (provider_id), .variants = sora_variants,                                            \
        .variants_text = "video (MP4), thumbnail (WEBP) and spritesheet (JPEG)",                   \
        .seconds = sora_seconds, .check = check, .create = create, .retrieve = retrieve,           \
        .list = list, .remove = remove_video, .remix = remix, .download = download,                \
        .cancel = cancel,                                                                          \
    }

const struct video_provider video_openai_provider = SORA_PROVIDER(VIDEO_OPENAI);
const struct video_provider video_azure_provider = SORA_PROVIDER(VIDEO_AZURE);
