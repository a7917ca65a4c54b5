/* download_video: saves a completed video (or its thumbnail or spritesheet) into the
 * video directory. The tool checks the name through the store and opens an atomic store
 * writer before any transfer (a refused or taken name fails first, or asks whether to
 * replace it), then streams the provider's bytes into it with backpressure: blocks are
 * written on the thread pool, the transfer pauses while too much waits for the disk,
 * the first bytes are checked against the variant, and the commit links the file into
 * place with its SHA-256. A cancelled download (or one whose task its client cancelled)
 * stops its transfer and the writer removes every trace of the file.
 *
 * Thread: everything here runs on the loop thread. */
#include "fmacros.h"

#include "core/err.h"
#include "mcp/server.h"
#include "store/store.h"
#include "tools/common.h"
#include "tools/tools.h"
#include "tools/video_int.h"
#include "video/video.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Download buffering: the body arrives in pieces (~16 KiB from the network,
 * 256 KiB from a decoded inline video); they are gathered into blocks so each
 * thread-pool write moves a useful amount. The transfer pauses while more than
 * its high-water mark waits for the disk and resumes once the backlog falls to a
 * quarter of it, so a slow disk bounds memory. The mark is DL_HIGH_WATER for a
 * few downloads and the store's budget split among its writers for many (see
 * dl_high_water): 32 concurrent 7.7 MB downloads with a fixed 2 MiB mark peaked
 * at ~57 MiB RSS with fsync on, most of it blocks waiting while other files were
 * fdatasync'ed. */
#define DL_BLOCK      (256u * 1024u)
#define DL_HIGH_WATER (2u * 1024u * 1024u)

/* The backlog above which the transfer pauses: DL_HIGH_WATER, or less when
 * many downloads share the disk (the store's budget split among its writers),
 * but never under one block; it resumes at a quarter of that. */
static size_t dl_high_water(const struct store_writer *w)
{
    size_t share = store_writer_queue_share(w);
    if (share > DL_HIGH_WATER)
        share = DL_HIGH_WATER;
    return share < DL_BLOCK ? DL_BLOCK : share;
}

struct dl;

/* One write's worth of body bytes; freed by its write callback. */
struct block {
    struct dl *dl;
    size_t len;
    char data[DL_BLOCK];
};

/* Life: writer opening -> transfer (job set) -> commit (committing) -> done.
 * Each stage's callback moves on or fails the call; dl is freed once the call
 * is finished and the writer has reported (every block's write callback runs
 * before the writer's commit or abort callback, so none outlives dl). */
struct dl {
    struct mcp_call *call;
    struct tools_ctx *app;
    struct video_job *job;  /* the transfer in flight, or NULL */
    struct store_writer *w; /* the open writer, or NULL */
    struct block *cur;      /* the block being filled, or NULL */
    int64_t total;          /* the length the provider declared, -1 when unknown */
    uint64_t received;
    bool paused;
    bool committing;
    bool given_name;            /* the caller named the file */
    bool checked;               /* the first bytes matched the variant */
    enum store_format expected; /* what the variant's bytes must be */
    char content_type[128];     /* the declared Content-Type, "" when none */
    int err;                    /* the first local failure (a write, memory); its sentence in msg */
    char msg[STORE_MSG_MAX];
    const char *variant; /* static */
    const char *mime;    /* static */
    char id[VIDEO_ID_MAX + 1];
    char name[STORE_NAME_MAX + 1];
    size_t name_len;
    int flags;
};

static void dl_free(struct dl *dl)
{
    free(dl->cur);
    free(dl);
}

/* Records the first local failure. */
static void dl_error(struct dl *dl, int err, const char *msg)
{
    if (dl->err != 0)
        return;
    dl->err = err;
    snprintf(dl->msg, sizeof(dl->msg), "%s", msg != NULL ? msg : sz_strerror(err));
}

static void dl_aborted(void *data, int err, const char *msg)
{
    struct dl *dl = data;
    (void)err;
    (void)msg;
    tool_fail_err(dl->call, dl->err, dl->msg);
    dl_free(dl);
}

/* Fails the call with msg (unless an earlier failure is already recorded)
 * after the writer has removed every trace of the file. */
static void dl_fail(struct dl *dl, const char *msg)
{
    dl_error(dl, SZ_EIO, msg);
    if (dl->w != NULL) {
        struct store_writer *w = dl->w;
        dl->w = NULL;
        if (store_writer_abort(w, dl_aborted, dl) == 0)
            return;
    }
    tool_fail_err(dl->call, dl->err, dl->msg);
    dl_free(dl);
}

static void block_written(void *data, int err, const char *msg)
{
    struct block *b = data;
    struct dl *dl = b->dl;

    free(b);
    if (err != 0 && err != SZ_ECANCELLED) {
        /* Disk full, I/O error: stop the transfer; its report aborts. */
        dl_error(dl, err, msg);
        if (dl->job != NULL)
            video_job_cancel(dl->job);
        return;
    }
    if (dl->paused && dl->job != NULL && dl->w != NULL &&
        store_writer_inflight(dl->w) <= dl_high_water(dl->w) / 4) {
        dl->paused = false;
        video_job_resume(dl->job);
    }
}

/* Queues the current block. Returns 0 or the writer's error (recorded). */
static int dl_flush(struct dl *dl)
{
    struct block *b = dl->cur;
    int rc;

    if (b == NULL || b->len == 0)
        return 0;
    dl->cur = NULL;
    rc = store_writer_write(dl->w, b->data, b->len, block_written, b);
    if (rc != 0) {
        const char *msg = NULL;
        store_writer_error(dl->w, &msg);
        dl_error(dl, rc, msg);
        free(b);
    }
    return rc;
}

static int dl_on_start(void *data, int64_t length, const char *content_type)
{
    struct dl *dl = data;

    dl->total = length;
    snprintf(dl->content_type, sizeof(dl->content_type), "%s",
             content_type != NULL ? content_type : "");
    return 0;
}

/* Checks the first bytes (the start of the first block, still unwritten: no
 * block is queued before it is full) and the Content-Type against the
 * variant, once, as soon as there are enough bytes or the body ended. An
 * HTML error page sent with a 200 is refused here, before it is published. */
static int dl_check(struct dl *dl)
{
    char msg[STORE_MSG_MAX];
    const char *head = dl->cur != NULL ? dl->cur->data : "";
    size_t len = dl->cur != NULL ? dl->cur->len : 0;
    int rc;

    if (dl->checked)
        return 0;
    rc = store_check_content(dl->expected, dl->content_type, head,
                             len < STORE_SNIFF_LEN ? len : STORE_SNIFF_LEN, msg, sizeof(msg));
    if (rc != 0) {
        dl_error(dl, rc, msg);
        return rc;
    }
    dl->checked = true;
    return 0;
}

static int dl_on_data(void *data, const char *buf, size_t len)
{
    struct dl *dl = data;
    int rc;

    if (dl->err != 0)
        return dl->err;
    /* No hashing here: the writer hashes each block in its write job on the
     * pool (5 ms of SHA-256 per 7.7 MB video, times 32 downloads, was the
     * loop's largest stall under load). */
    dl->received += len;
    while (len > 0) {
        size_t n;
        if (dl->cur == NULL) {
            dl->cur = malloc(sizeof(*dl->cur));
            if (dl->cur == NULL) {
                dl_error(dl, SZ_ENOMEM, "Out of memory downloading the video");
                return SZ_ENOMEM;
            }
            dl->cur->dl = dl;
            dl->cur->len = 0;
        }
        n = DL_BLOCK - dl->cur->len;
        if (n > len)
            n = len;
        memcpy(dl->cur->data + dl->cur->len, buf, n);
        dl->cur->len += n;
        buf += n;
        len -= n;
        if (!dl->checked && dl->received >= STORE_SNIFF_LEN && (rc = dl_check(dl)) != 0)
            return rc;
        if (dl->cur->len == DL_BLOCK && (rc = dl_flush(dl)) != 0)
            return rc;
    }
    mcp_call_progress(dl->call, (double)dl->received, dl->total > 0 ? (double)dl->total : 0, NULL);
    if (store_writer_inflight(dl->w) > dl_high_water(dl->w)) {
        dl->paused = true;
        return VIDEO_SINK_PAUSE;
    }
    return 0;
}

static void dl_committed(void *data, int err, const char *msg, const char *name, uint64_t size)
{
    struct dl *dl = data;
    const char *hex = err == 0 ? store_writer_sha256(dl->w) : NULL;
    json_t *result;

    dl->w = NULL;
    if (err == 0 && hex == NULL) {
        err = SZ_EIO;
        msg = "Could not hash the download";
    }
    if (err != 0) {
        mcp_call_fail(dl->call, "%s", mcp_call_cancelled(dl->call) ? "cancelled" : msg);
        dl_free(dl);
        return;
    }
    result = json_pack("{s:s, s:s, s:I, s:s}", "filename", name, "variant", dl->variant,
                       "size_bytes", (json_int_t)size, "sha256", hex);
    tool_saved(dl->call, "videos", name, dl->mime, size);
    mcp_call_finish(dl->call, result);
    dl_free(dl);
}

static void dl_done(void *data, int err, const char *msg, json_t *result)
{
    struct dl *dl = data;

    json_decref(result);
    dl->job = NULL;
    dl->paused = false;
    if (dl->err != 0) {
        dl_fail(dl, NULL);
        return;
    }
    if (err != 0) {
        dl_fail(dl, err == SZ_ECANCELLED && mcp_call_cancelled(dl->call) ? "cancelled"
                    : msg != NULL                                        ? msg
                                                                         : sz_strerror(err));
        return;
    }
    if (dl_check(dl) != 0) {
        dl_fail(dl, NULL);
        return;
    }
    if (dl_flush(dl) != 0) {
        dl_fail(dl, "Could not finish writing the video");
        return;
    }
    mcp_call_progress(dl->call, (double)dl->received, (double)dl->received, NULL);
    dl->committing = true;
    if (store_writer_commit(dl->w, dl_committed, dl) != 0)
        dl_fail(dl, "Could not publish the video file");
}

static void dl_cancel(struct mcp_call *call, void *data)
{
    struct dl *dl = data;
    (void)call;

    if (dl->job != NULL) {
        video_job_cancel(dl->job); /* dl_done aborts the writer */
    } else if (dl->committing && dl->w != NULL) {
        /* If the commit still waits for writes, this turns it into an abort and
         * dl_committed gets SZ_ECANCELLED; once it is publishing it is too late
         * (SZ_EBUSY) and the file stays. No abort callback: dl_committed is the
         * one that finishes the call. */
        store_writer_abort(dl->w, NULL, NULL);
    }
    /* While the writer opens, dl_opened sees the cancellation. */
}

static void dl_opened(void *data, int err, const char *msg, struct store_writer *w)
{
    struct dl *dl = data;
    struct video_sink sink = {dl_on_start, dl_on_data, dl};
    int rc;

    if (err != 0) {
        mcp_call_fail(dl->call, "%s", msg);
        dl_free(dl);
        return;
    }
    dl->w = w;
    if (mcp_call_cancelled(dl->call)) {
        dl_fail(dl, "cancelled");
        return;
    }
    /* A given name must end in the variant's extension (an MP4 saved as
     * fz.webp would be served as an image): refused before any request, once
     * the store has had its say about the name (exists, symlink, directory). */
    if (dl->given_name) {
        char why[48];
        char refusal[STORE_MSG_MAX];
        snprintf(why, sizeof(why), "the %s variant", dl->variant);
        if (store_check_name_format(dl->name, dl->name_len, dl->expected, why, refusal,
                                    sizeof(refusal)) != 0) {
            dl_fail(dl, refusal);
            return;
        }
    }
    rc = video_download(dl->app->video, dl->id, dl->variant, &sink, dl_done, dl, &dl->job);
    if (rc != 0)
        dl_fail(dl, "Out of memory starting download_video");
}

struct download_video_args {
    const char *video_id;
    const char *filename;
    int variant; /* index into video_variants */
    bool overwrite;
};

/* The variants, and what each one's bytes are: MP4, WebP, JPEG. */
static const char *const video_variants[] = {"video", "thumbnail", "spritesheet", NULL};
static const enum store_format variant_formats[] = {STORE_FMT_MP4, STORE_FMT_WEBP, STORE_FMT_JPEG};

/* Opens the file before the request, so a refused name or an existing file
 * fails at once, not after minutes of transfer. */
static void dl_open(struct dl *dl)
{
    if (store_writer_open(dl->app->videos, dl->name, dl->name_len, dl->flags | STORE_SHA256,
                          dl_opened, dl) != 0) {
        mcp_call_fail(dl->call, "Out of memory starting download_video");
        dl_free(dl);
    }
}

/* The answer to "replace the existing file?" (tool_confirm_overwrite). */
static void dl_decided(struct mcp_call *call, enum tool_write how, void *data)
{
    struct dl *dl = data;

    (void)call;
    if (how == TOOL_WRITE_DONE) {
        dl_free(dl);
        return;
    }
    if (how == TOOL_WRITE_REPLACE)
        dl->flags |= STORE_OVERWRITE;
    dl_open(dl);
}

static void download_video(struct mcp_call *call, const void *args)
{
    const struct download_video_args *a = args;
    struct tools_ctx *app = mcp_call_tool_data(call);
    const char *id = a->video_id;
    const char *name = a->filename;
    size_t id_len = strlen(id), name_len = name != NULL ? strlen(name) : 0;
    char msg[STORE_MSG_MAX];
    const char *ext;
    struct dl *dl;

    if (!video_tool_check_id(call, "video_id", id))
        return;
    if (name != NULL && store_check_name(name, name_len, msg, sizeof(msg)) != 0) {
        mcp_call_fail(call, "%s", msg);
        return;
    }
    if (tool_videos(call, app) == NULL || video_tool_svc(call, app) == NULL)
        return;
    if ((dl = calloc(1, sizeof(*dl))) == NULL) {
        mcp_call_fail(call, "Out of memory starting download_video");
        return;
    }
    dl->call = call;
    dl->app = app;
    dl->total = -1;
    dl->flags = tool_write_flags(a->overwrite);
    dl->expected = variant_formats[a->variant];
    dl->variant = video_variants[a->variant];
    ext = store_format_ext(dl->expected);
    dl->mime = store_format_mime(dl->expected);
    memcpy(dl->id, id, id_len);
    if (name != NULL) {
        memcpy(dl->name, name, name_len);
        dl->name_len = name_len;
        dl->given_name = true;
    } else {
        /* {video_id}.{ext}; a second download of the same video gets a free
         * "-N" name rather than failing or replacing the first. */
        dl->name_len = (size_t)snprintf(dl->name, sizeof(dl->name), "%s.%s", dl->id, ext);
        if (!(dl->flags & STORE_OVERWRITE))
            dl->flags |= STORE_UNIQUE;
    }
    mcp_call_on_cancel(call, dl_cancel, dl);
    if (dl->given_name && !(dl->flags & STORE_OVERWRITE))
        tool_confirm_overwrite(call, app->videos, "videos", dl->name, dl->name_len, dl_decided, dl);
    else
        dl_open(dl);
}

/* ---- the table ------------------------------------------------------------------ */

static const struct mcp_arg download_rows[] = {
    {.name = "video_id",
     .type = MCP_ARG_STRING,
     .flags = MCP_ARG_REQUIRED,
     .off = offsetof(struct download_video_args, video_id),
     .description = "The id of a video whose status is completed."},
    {.name = "filename",
     .type = MCP_ARG_STRING,
     .off = offsetof(struct download_video_args, filename),
     .min = MCP_LIMIT(1),
     .description = "The name to save under, in the video directory (a name, not a path), ending "
                    "in .mp4, .webp or .jpg to match variant. Default {video_id} with the "
                    "variant's extension."},
    {.name = "variant",
     .type = MCP_ARG_ENUM,
     .off = offsetof(struct download_video_args, variant),
     .values = video_variants,
     MCP_DEFAULT_STR("video"),
     .description = "What to save: video (the MP4), thumbnail (a WEBP still) or spritesheet (a "
                    "JPEG grid of frames); the last two on Sora only."},
    TOOL_OVERWRITE_ARG(struct download_video_args),
};

static const struct mcp_field download_fields[] = {
    {.name = "filename", .types = MCP_T_STRING, .required = true},
    {.name = "variant", .types = MCP_T_STRING, .required = true, .values = video_variants},
    {.name = "size_bytes", .types = MCP_T_INTEGER},
    {.name = "sha256", .types = MCP_T_STRING},
};
static const struct mcp_field download_result = {.types = MCP_T_OBJECT,
                                                 MCP_FIELDS(download_fields)};

static struct mcp_tool download_tool[] = {
    {
        .name = "download_video",
        .title = "Download a finished video",
        .description =
            "Save a completed video (get_video_status says completed) into the local video "
            "directory. variant chooses what to save: video (the MP4, default), thumbnail (a "
            "WEBP still) or spritesheet (a JPEG grid of frames); a provider without "
            "thumbnails or spritesheets says so before any transfer. The file is named "
            "{video_id}.mp4, .webp or .jpg unless "
            "filename is given; a given name must end in the variant's extension. An existing "
            "file is never replaced unless overwrite is true (a default name already taken gets "
            "a -1, -2, ... suffix instead). Returns {filename, variant, size_bytes, sha256} and "
            "a resource link to sanzaru://videos/{filename}; progress is reported while the "
            "bytes arrive. Before the video is completed this fails with the provider's error: "
            "poll get_video_status first. Afterwards, list_local_videos shows the saved files "
            "and remix_video can vary the video.",
        MCP_ARGS(struct download_video_args, download_rows),
        .output = &download_result,
        .annotations = MCP_IDEMPOTENT | MCP_OPEN_WORLD,
        .start = download_video,
        /* Its work is local (a file being written): a restart loses it, and says so. */
        .task_support = MCP_TASK_OPTIONAL,
    },
};

int tools_register_download_video(struct mcp_server *server, struct tools_ctx *app)
{
    return tool_register_table(server, app, download_tool, 1);
}
