/* The gemini video provider: Google's Interactions API (POST /interactions in the
 * background, GET and DELETE /interactions/{id}, POST /interactions/{id}/cancel)
 * mapped onto the video workflow.
 *
 * create and remix send one create (remix: with previous_interaction_id; the
 * reference image as an image block whose base64 is made on the pool); retrieve
 * gets the Interaction and maps it (gemini_map.h); delete deletes it; download gets
 * the Interaction again and takes its video: inline base64, decoded on the pool and
 * handed to the sink in slices as it asks for them, or a URI, streamed into the sink
 * with the key sent only to the API's own origin (gemini/client.h). The API has no
 * listing: the service lists from the ledger.
 *
 * Every Interaction is received through a sink into a buffer of our own (so a body
 * of megabytes is not copied again), then parsed on the loop when small and on the
 * pool when not: a completed job with its video inline is ~11 MB of JSON for an
 * 8 MB video. Such large bodies pass the service's memory gate (provider.h): the
 * transfer pauses until a slot is free, and keeps it until the video is handed on. */
#include "fmacros.h"

#include "video/provider.h"

#include "core/base64.h"
#include "core/err.h"
#include "core/pool.h"
#include "gemini/client.h"
#include "net/client.h"
#include "video/gemini_map.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bodies up to this size are parsed on the loop (a queued or failed Interaction is a
 * few hundred bytes; a URI output a few more). */
#define PARSE_ON_LOOP_MAX (256u * 1024u)
/* Bodies past this size wait for a slot of the memory gate. */
#define GATE_MIN (1024u * 1024u)
/* The largest Interaction accepted: a 4k video of 15 s is ~100 MB; its base64 more. */
#define BODY_MAX (512u * 1024u * 1024u)
/* Decoded video handed to the sink per call. */
#define FEED_SLICE (256u * 1024u)

static const char *const gemini_variants[] = {"video", NULL};

struct gpriv {
    /* the response body */
    char *body;
    size_t len, cap;
    int64_t expect;
    bool want_media;
    void (*parsed)(struct video_job *job);
    /* what the parse found */
    int perr;
    char pmsg[VIDEO_MSG_MAX];
    json_t *video;
    struct vgem_output out;
    /* a create body with an image, built on the pool */
    struct net_req *pending; /* the create request, not started yet */
    char *marked;            /* the body with VGEM_IMAGE_MARKER */
    size_t marked_len;
    char *text; /* the body with the image */
    size_t text_len;
    /* an inline video going to the sink */
    bool feeding, paused;
    size_t off;
};

static struct gpriv *priv_of(struct video_job *job)
{
    if (job->priv == NULL)
        job->priv = calloc(1, sizeof(struct gpriv));
    return job->priv;
}

static void release(struct video_job *job)
{
    struct gpriv *p = job->priv;

    if (p == NULL)
        return;
    free(p->body);
    json_decref(p->video);
    vgem_output_free(&p->out);
    if (p->pending != NULL)
        net_req_free(p->pending);
    free(p->marked);
    free(p->text);
    free(p);
    job->priv = NULL;
}

/* ---- receiving and parsing an Interaction ----------------------------------------- */

static void gate_woken(struct video_job *job)
{
    if (job->req != NULL)
        net_req_resume(job->req);
}

static int fetch_headers(struct net_req *req, long status, int64_t length, const char *ctype,
                         void *data)
{
    struct video_job *job = data;
    struct gpriv *p = job->priv;
    (void)req;
    (void)status;
    (void)ctype;

    if (length > (int64_t)BODY_MAX) {
        snprintf(p->pmsg, sizeof(p->pmsg),
                 "Gemini's answer is too large: %lld bytes (at most %u MiB)", (long long)length,
                 BODY_MAX >> 20);
        return p->perr = SZ_ETOOBIG;
    }
    p->expect = length;
    if (length > 0) {
        p->body = malloc((size_t)length + 1);
        if (p->body == NULL)
            return p->perr = SZ_ENOMEM;
        p->cap = (size_t)length + 1;
    }
    return 0;
}

static int append(struct gpriv *p, const char *buf, size_t len)
{
    if (len > BODY_MAX - p->len) {
        snprintf(p->pmsg, sizeof(p->pmsg), "Gemini's answer is too large (more than %u MiB)",
                 BODY_MAX >> 20);
        return p->perr = SZ_ETOOBIG;
    }
    if (p->len + len + 1 > p->cap) {
        size_t cap = p->cap != 0 ? p->cap : 16384;
        char *nb;
        while (cap < p->len + len + 1)
            cap *= 2;
        if ((nb = realloc(p->body, cap)) == NULL)
            return p->perr = SZ_ENOMEM;
        p->body = nb;
        p->cap = cap;
    }
    memcpy(p->body + p->len, buf, len);
    p->len += len;
    p->body[p->len] = '\0';
    return 0;
}

static int fetch_data(struct net_req *req, const char *buf, size_t len, void *data)
{
    struct video_job *job = data;
    struct gpriv *p = job->priv;
    bool wait = false;
    int rc;
    (void)req;

    if (!job->gate_held && (p->expect > (int64_t)GATE_MIN || p->len + len > GATE_MIN))
        wait = !video_gate_acquire(job, gate_woken);
    if ((rc = append(p, buf, len)) != 0)
        return rc;
    return wait ? NET_SINK_PAUSE : 0;
}

/* Parses p->body (freed here) into p->video and, for downloads, p->out. Any thread. */
static void parse_body(struct gpriv *p)
{
    struct vgem_media media;
    json_error_t jerr;
    json_t *it = NULL;
    char summary[256];

    if (p->len == 0) {
        p->perr = SZ_EPROTO;
        snprintf(p->pmsg, sizeof(p->pmsg), "Gemini returned an empty answer");
        goto out;
    }
    if ((p->perr = vgem_cut_media(p->body, p->len, p->want_media, &media)) != 0)
        goto out;
    it = json_loadb(p->body, p->len, 0, &jerr);
    if (it == NULL) {
        net_summarize(p->body, p->len, 60, summary, sizeof(summary));
        p->perr = SZ_EPROTO;
        snprintf(p->pmsg, sizeof(p->pmsg),
                 "Gemini API returned status 200 with a body that is not JSON: %s", summary);
    }
    free(p->body);
    p->body = NULL;
    p->len = p->cap = 0;
    if (it != NULL)
        p->perr = vgem_map(it, &media, &p->video, p->want_media ? &p->out : NULL, p->pmsg,
                           sizeof(p->pmsg));
    vgem_media_free(&media);
out:
    json_decref(it);
    if (p->perr == SZ_ENOMEM && p->pmsg[0] == '\0')
        snprintf(p->pmsg, sizeof(p->pmsg), "Out of memory reading Gemini's answer");
}

static void parse_work(void *data)
{
    struct video_job *job = data;
    parse_body(job->priv);
}

static void parse_done(void *data, int status)
{
    struct video_job *job = data;
    struct gpriv *p = job->priv;

    job->pool_job = NULL;
    if (status != 0 || job->cancelled) {
        video_job_finish(job, SZ_ECANCELLED, NULL, NULL);
        return;
    }
    if (p->perr != 0) {
        video_job_finish(job, p->perr, p->pmsg, NULL);
        return;
    }
    p->parsed(job);
}

static void fetched(struct net_req *req, const struct net_result *res, void *data)
{
    struct video_job *job = data;
    struct gpriv *p = job->priv;
    int rc;
    (void)req;

    job->req = NULL;
    if (job->cancelled) {
        video_job_finish(job, SZ_ECANCELLED, NULL, NULL);
        return;
    }
    if (p->perr != 0) {
        video_job_finish(job, p->perr, p->pmsg, NULL);
        return;
    }
    if (res->err != 0) {
        video_job_finish(job, res->err, res->message, NULL);
        return;
    }
    if (p->len <= PARSE_ON_LOOP_MAX) {
        parse_body(p);
        parse_done(job, 0);
        return;
    }
    rc = sz_pool_submit(video_svc_pool(job->svc), parse_work, parse_done, job, &job->pool_job);
    if (rc != 0)
        video_job_finish(job, rc, "Could not read Gemini's answer: the job pool is closing", NULL);
}

/* Starts req (owned) and parses its Interaction, then runs parsed(job). */
static int fetch(struct video_job *job, struct net_req *req, bool want_media, const char *label,
                 void (*parsed)(struct video_job *job))
{
    struct gpriv *p = job->priv;
    struct net_sink sink = {fetch_headers, fetch_data, job};

    p->want_media = want_media;
    p->parsed = parsed;
    p->expect = -1;
    net_req_set_sink(req, &sink);
    return video_job_start(job, req, label, fetched);
}

/* "/interactions/<id>" into buf. */
static const char *id_path(const struct video_job *job, char *buf, size_t buflen)
{
    snprintf(buf, buflen, "/interactions/%s", job->id);
    return buf;
}

/* GET the job's interaction and parse it (with its media for downloads), then
 * parsed(job): what get_video_status and download_video both start with. */
static int get_interaction(struct video_job *job, bool want_media, const char *label,
                           void (*parsed)(struct video_job *job))
{
    struct net_req *req = NULL;
    char path[VIDEO_ID_MAX + 32];
    int rc;

    if (priv_of(job) == NULL)
        return SZ_ENOMEM;
    rc = gem_req_new(video_svc_gemini(job->svc), "GET", id_path(job, path, sizeof(path)), &req);
    return rc != 0 ? rc : fetch(job, req, want_media, label, parsed);
}

/* ---- create and remix ------------------------------------------------------------- */

static void created(struct video_job *job)
{
    struct gpriv *p = job->priv;
    json_t *video = p->video;

    p->video = NULL;
    json_object_set_new(video, "prompt", json_string(job->prompt));
    if (!json_is_string(json_object_get(video, "size")) && job->plan.size[0] != '\0')
        json_object_set_new(video, "size", json_string(job->plan.size));
    if (!json_is_string(json_object_get(video, "seconds")) && job->plan.seconds[0] != '\0')
        json_object_set_new(video, "seconds", json_string(job->plan.seconds));
    if (job->op == VIDEO_OP_REMIX)
        json_object_set_new(video, "remixed_from_video_id", json_string(job->id));
    video_job_finish(job, 0, NULL, video);
}

/* On the pool: the image's base64 spliced into the body. */
static void build_work(void *data)
{
    struct video_job *job = data;
    struct gpriv *p = job->priv;
    char *b64 = NULL;
    size_t b64_len = 0;

    if (sz_b64_encode_alloc(job->ref.bytes, job->ref.len, &b64, &b64_len) != 0)
        return;
    p->text = vgem_splice_image(p->marked, p->marked_len, b64, b64_len, &p->text_len);
    free(b64);
}

static void build_done(void *data, int status)
{
    struct video_job *job = data;
    struct gpriv *p = job->priv;
    struct net_req *req = p->pending;
    int rc;

    job->pool_job = NULL;
    if (status != 0 || job->cancelled) {
        video_job_finish(job, SZ_ECANCELLED, NULL, NULL);
        return;
    }
    if (p->text == NULL) {
        video_job_finish(job, SZ_ENOMEM, "Out of memory encoding the reference image", NULL);
        return;
    }
    p->pending = NULL;
    /* set_json_text owns the text from here, even on failure. */
    rc = net_req_set_json_text(req, p->text, p->text_len);
    p->text = NULL;
    if (rc == 0)
        rc = fetch(job, req, false, "create_video", created);
    else
        net_req_free(req);
    if (rc != 0)
        video_job_finish(job, rc, "Out of memory starting create_video", NULL);
}

static int send_create(struct video_job *job)
{
    struct gem_client *c = video_svc_gemini(job->svc);
    struct gpriv *p = priv_of(job);
    bool remix = job->op == VIDEO_OP_REMIX;
    const char *mime = job->ref.bytes != NULL ? job->ref.mime : NULL;
    struct net_req *req = NULL;
    json_t *body;
    int rc;

    if (p == NULL)
        return SZ_ENOMEM;
    body = vgem_request(job->plan.model, job->prompt, mime, remix ? job->id : NULL, job->plan.size,
                        job->plan.seconds);
    if (body == NULL)
        return SZ_ENOMEM;
    if ((rc = gem_req_new(c, "POST", "/interactions", &req)) != 0) {
        json_decref(body);
        return rc;
    }
    if (mime == NULL) {
        if ((rc = net_req_set_json_new(req, body)) != 0) {
            net_req_free(req);
            return rc;
        }
        return fetch(job, req, false, remix ? "remix_video" : "create_video", created);
    }
    /* Megabytes of base64 are made on the pool; the body is small until then. */
    p->marked = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (p->marked == NULL) {
        net_req_free(req);
        return SZ_ENOMEM;
    }
    p->marked_len = strlen(p->marked);
    p->pending = req;
    rc = sz_pool_submit(video_svc_pool(job->svc), build_work, build_done, job, &job->pool_job);
    if (rc != 0) {
        p->pending = NULL;
        net_req_free(req);
    }
    return rc;
}

/* ---- retrieve and delete ------------------------------------------------------------ */

static void retrieved(struct video_job *job)
{
    struct gpriv *p = job->priv;
    json_t *video = p->video;

    p->video = NULL;
    vgem_merge_known(video, job->known);
    video_job_finish(job, 0, NULL, video);
}

static int retrieve(struct video_job *job)
{
    return get_interaction(job, false, "get_video_status", retrieved);
}

static void deleted(struct net_req *req, const struct net_result *res, void *data)
{
    struct video_job *job = data;
    (void)req;

    job->req = NULL;
    if (res->err != 0) {
        video_job_finish(job, res->err, job->cancelled ? NULL : res->message, NULL);
        return;
    }
    /* google.protobuf.Empty; the SDK ignores the body too. */
    video_job_finish(
        job, 0, NULL,
        json_pack("{s:s, s:s, s:b}", "id", job->id, "object", "video.deleted", "deleted", 1));
}

static int remove_video(struct video_job *job)
{
    struct net_req *req = NULL;
    char path[VIDEO_ID_MAX + 32];
    int rc;

    rc = gem_req_new(video_svc_gemini(job->svc), "DELETE", id_path(job, path, sizeof(path)), &req);
    if (rc != 0)
        return rc;
    net_req_set_raw(req);
    return video_job_start(job, req, "delete_video", deleted);
}

/* Google's cancel of a background interaction (@google/genai's interactions.cancel):
 * the Interaction comes back, cancelled, and is mapped like any other. */
static int stop_job(struct video_job *job)
{
    struct net_req *req = NULL;
    char path[VIDEO_ID_MAX + 32];
    int rc;

    if (priv_of(job) == NULL)
        return SZ_ENOMEM;
    snprintf(path, sizeof(path), "/interactions/%s/cancel", job->id);
    rc = gem_req_new(video_svc_gemini(job->svc), "POST", path, &req);
    return rc != 0 ? rc : fetch(job, req, false, "cancel", retrieved);
}

/* ---- download ---------------------------------------------------------------------- */

static void feed(struct video_job *job)
{
    struct gpriv *p = job->priv;

    if (job->cancelled) {
        video_job_finish(job, SZ_ECANCELLED, NULL, NULL);
        return;
    }
    while (p->off < p->out.len) {
        size_t n = p->out.len - p->off < FEED_SLICE ? p->out.len - p->off : FEED_SLICE;
        int rc = job->sink.on_data(job->sink.data, (const char *)p->out.bytes + p->off, n);
        p->off += n;
        if (rc < 0) {
            job->sink_err = rc;
            video_job_finish(job, rc, NULL, NULL);
            return;
        }
        if (rc == VIDEO_SINK_PAUSE) {
            p->paused = true;
            return;
        }
    }
    /* Handed on whole: the memory goes before the report. */
    free(p->out.bytes);
    p->out.bytes = NULL;
    video_job_finish(job, 0, NULL, NULL);
}

static int pass_headers(struct net_req *req, long status, int64_t length, const char *ctype,
                        void *data)
{
    struct video_job *job = data;
    int rc = job->sink.on_start(job->sink.data, length, ctype);
    (void)req;
    (void)status;

    if (rc < 0)
        job->sink_err = rc;
    return rc < 0 ? rc : 0;
}

static int pass_data(struct net_req *req, const char *buf, size_t len, void *data)
{
    struct video_job *job = data;
    int rc = job->sink.on_data(job->sink.data, buf, len);
    (void)req;

    if (rc < 0)
        job->sink_err = rc;
    return rc == VIDEO_SINK_PAUSE ? NET_SINK_PAUSE : rc;
}

static void streamed(struct net_req *req, const struct net_result *res, void *data)
{
    struct video_job *job = data;
    (void)req;

    job->req = NULL;
    if (job->sink_err != 0)
        video_job_finish(job, job->sink_err, NULL, NULL);
    else
        video_job_finish(job, res->err, res->err != 0 && !job->cancelled ? res->message : NULL,
                         NULL);
}

static void stream_uri(struct video_job *job)
{
    struct gpriv *p = job->priv;
    struct net_sink sink = {pass_headers, pass_data, job};
    struct net_req *req = NULL;
    char msg[VIDEO_MSG_MAX];
    int rc;

    /* A URI body is small: the gate is for inline videos. */
    video_gate_release(job);
    rc = gem_req_new_url(video_svc_gemini(job->svc), p->out.uri, &req);
    if (rc != 0) {
        snprintf(msg, sizeof(msg), "Gemini gave video %s at a URI sanzaru cannot fetch: %.200s",
                 job->id, p->out.uri);
        video_job_finish(job, rc, rc == SZ_ENOMEM ? "Out of memory" : msg, NULL);
        return;
    }
    net_req_set_sink(req, &sink);
    if (video_job_start(job, req, "download_video", streamed) != 0)
        video_job_finish(job, SZ_EINVAL, "Could not start the download", NULL);
}

static void to_download(struct video_job *job)
{
    struct gpriv *p = job->priv;
    const char *status = json_string_value(json_object_get(p->video, "status"));
    const char *why =
        json_string_value(json_object_get(json_object_get(p->video, "error"), "message"));
    char msg[VIDEO_MSG_MAX];
    int rc;

    if (p->out.corrupt) {
        snprintf(msg, sizeof(msg), "Gemini returned video %s as data that is not valid base64",
                 job->id);
        video_job_finish(job, SZ_ECORRUPT, msg, NULL);
    } else if (p->out.bytes != NULL) {
        rc = job->sink.on_start(job->sink.data, (int64_t)p->out.len,
                                p->out.mime[0] != '\0' ? p->out.mime : NULL);
        if (rc < 0) {
            job->sink_err = rc;
            video_job_finish(job, rc, NULL, NULL);
            return;
        }
        p->feeding = true;
        feed(job);
    } else if (p->out.uri != NULL) {
        stream_uri(job);
    } else if (status != NULL && strcmp(status, "failed") == 0) {
        snprintf(msg, sizeof(msg), "Video %s failed and has nothing to download: %.300s", job->id,
                 why != NULL ? why : "no reason given");
        video_job_finish(job, SZ_EUPSTREAM, msg, NULL);
    } else {
        snprintf(msg, sizeof(msg),
                 "Video %s is not ready to download: its status is %s (poll get_video_status "
                 "until it is completed)",
                 job->id, status != NULL ? status : "unknown");
        video_job_finish(job, SZ_EUPSTREAM, msg, NULL);
    }
}

static int download(struct video_job *job)
{
    return get_interaction(job, true, "download_video", to_download);
}

/* ---- control ------------------------------------------------------------------------ */

static void cancel(struct video_job *job)
{
    struct gpriv *p = job->priv;

    if (job->req != NULL) {
        net_req_cancel(job->req); /* its done callback reports */
    } else if (job->pool_job != NULL) {
        /* Cancelled before it ran, or it finishes and its done sees the flag. */
        sz_pool_cancel(job->pool_job);
    } else if (p != NULL && p->feeding) {
        video_job_finish_later(job, SZ_ECANCELLED, NULL, NULL);
    }
}

static void resume(struct video_job *job)
{
    struct gpriv *p = job->priv;

    if (p != NULL && p->feeding) {
        if (p->paused) {
            p->paused = false;
            video_job_defer(job, feed);
        }
    } else if (job->req != NULL) {
        net_req_resume(job->req);
    }
}

const struct video_provider video_gemini_provider = {
    .id = VIDEO_GEMINI,
    .variants = gemini_variants,
    .variants_text = "the video itself (MP4)",
    .seconds = vgem_seconds,
    .ledger_lists = true,
    .check = vgem_check,
    .create = send_create,
    .retrieve = retrieve,
    .remove = remove_video,
    .remix = send_create,
    .download = download,
    .stop = stop_job,
    .cancel = cancel,
    .resume = resume,
    .release = release,
};
