/* Helpers shared by the audio tools (audio_common.h). */
#include "fmacros.h"

#include "tools/audio_common.h"

#include "core/err.h"
#include "mcp/server.h"
#include "tools/common.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

const char *const tool_audio_exts[] = {"flac", "mp3", "mp4", "mpeg", "mpga",
                                       "m4a",  "ogg", "wav", "webm", NULL};
const char *const tool_audio_chat_exts[] = {"mp3", "wav", NULL};
const char tool_audio_exts_label[] = "FLAC, MP3, MP4, MPEG, MPGA, M4A, OGG, WAV or WEBM";

const char *const tool_transcription_models[] = {
    "whisper-1", "gpt-4o-transcribe", "gpt-4o-mini-transcribe", "gpt-4o-transcribe-diarize", NULL};
const char *const tool_audio_chat_models[] = {"gpt-4o-audio-preview",
                                              "gpt-4o-audio-preview-2024-10-01",
                                              "gpt-4o-audio-preview-2024-12-17",
                                              "gpt-4o-audio-preview-2025-06-03",
                                              "gpt-4o-mini-audio-preview",
                                              "gpt-4o-mini-audio-preview-2024-12-17",
                                              NULL};

struct store *tool_audio(struct mcp_call *call, struct tools_ctx *ctx)
{
    if (ctx->audio == NULL)
        mcp_call_fail_kind(call, MCP_ERROR_CONFIGURATION, "%s",
                           ctx->audio_error[0] ? ctx->audio_error
                                               : "Audio files directory not configured. Set "
                                                 "AUDIO_PATH or SANZARU_MEDIA_PATH");
    return ctx->audio;
}

const char *tool_audio_mime(const char *name)
{
    static const struct {
        const char *ext;
        const char *mime;
    } map[] = {
        {"mp3", "audio/mpeg"},  {"mpga", "audio/mpeg"}, {"wav", "audio/wav"},
        {"flac", "audio/flac"}, {"ogg", "audio/ogg"},   {"m4a", "audio/mp4"},
        {"mp4", "video/mp4"},   {"mpeg", "video/mpeg"}, {"webm", "audio/webm"},
    };
    char ext[8];

    store_name_ext(name, strlen(name), ext, sizeof(ext));
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (strcmp(map[i].ext, ext) == 0)
            return map[i].mime;
    return "application/octet-stream";
}

int tool_audio_check_input(struct mcp_call *call, const char *name, const char *const *exts,
                           const char *label)
{
    char msg[STORE_MSG_MAX];
    size_t len = strlen(name);
    int rc = store_check_path(name, len, msg, sizeof(msg));

    if (rc == 0)
        rc = store_check_ext(name, len, exts, label, msg, sizeof(msg));
    if (rc != 0)
        mcp_call_fail(call, "%s", msg);
    return rc;
}

const char *tool_audio_basename(const char *name)
{
    const char *slash = strrchr(name, '/');
    return slash != NULL ? slash + 1 : name;
}

int tool_audio_derive_name(const char *name, const char *prefix, const char *suffix, char *out,
                           size_t outlen)
{
    const char *base = tool_audio_basename(name);
    const char *dot = strrchr(base, '.');
    int stem = (int)(dot != NULL && dot != base ? (size_t)(dot - base) : strlen(base));
    int n = snprintf(out, outlen, "%s%.*s%s", prefix, stem, base, suffix);

    return n < 0 || (size_t)n >= outlen || (size_t)n > STORE_NAME_MAX ? -1 : 0;
}

static json_t *string_list(const char *const *values)
{
    json_t *list = json_array();
    for (size_t i = 0; list != NULL && values[i] != NULL; i++)
        json_array_append_new(list, json_string(values[i]));
    return list;
}

json_t *tool_audio_file_info(const char *name, uint64_t size, double mtime, double duration)
{
    char ext[16];
    bool chat;
    json_t *info;

    store_name_ext(name, strlen(name), ext, sizeof(ext));
    chat = strcmp(ext, "mp3") == 0 || strcmp(ext, "wav") == 0;
    info = json_object();
    /* Built field by field: the order is the original's. */
    json_object_set_new(info, "file_name", json_string(name));
    json_object_set_new(info, "transcription_support", string_list(tool_transcription_models));
    json_object_set_new(info, "chat_support",
                        chat ? string_list(tool_audio_chat_models) : json_null());
    json_object_set_new(info, "modified_time", json_real(mtime));
    json_object_set_new(info, "size_bytes", json_integer((json_int_t)size));
    json_object_set_new(info, "format", json_string(ext));
    json_object_set_new(info, "duration_seconds",
                        duration >= 0 ? json_real(duration) : json_null());
    return info;
}

int tool_audio_check_content(const void *head, size_t len, char *msg, size_t msglen, void *arg)
{
    enum audio_container want = (enum audio_container)(intptr_t)arg;
    enum audio_container got = audio_sniff(head, len);

    if (got == want)
        return 0;
    snprintf(msg, msglen, "The audio written is not %s data (it starts as %s); nothing was saved",
             audio_container_name(want),
             got == AUDIO_CONTAINER_UNKNOWN ? "something else" : audio_container_name(got));
    return SZ_EUNSUPPORTED;
}

/* ---- the transfer chain ------------------------------------------------------- */

static void xfer_free(struct audio_xfer *x)
{
    if (x->in_fd >= 0)
        close(x->in_fd); /* a regular file: no I/O on close */
    free(x->data);
    free(x);
}

static void xfer_aborted(void *data, int err, const char *msg)
{
    (void)data;
    (void)err;
    (void)msg;
}

void audio_xfer_fail(struct audio_xfer *x, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (x->w != NULL)
        store_writer_abort(x->w, xfer_aborted, NULL);
    x->w = NULL;
    mcp_call_fail(x->call, "%s", mcp_call_cancelled(x->call) ? "cancelled" : msg);
    xfer_free(x);
}

void audio_xfer_finish(struct audio_xfer *x, json_t *result)
{
    if (x->w != NULL)
        store_writer_abort(x->w, xfer_aborted, NULL);
    x->w = NULL;
    mcp_call_finish(x->call, result);
    xfer_free(x);
}

void audio_xfer_drop(struct audio_xfer *x)
{
    xfer_free(x);
}

static void xfer_cancel(struct mcp_call *call, void *data)
{
    struct audio_xfer *x = data;
    (void)call;

    if (x->job != NULL)
        audio_job_cancel(x->job); /* its callback fails the call */
    else if (x->w != NULL && x->finished)
        store_writer_abort(x->w, NULL, NULL); /* the commit callback reports it */
}

struct audio_xfer *audio_xfer_new(struct mcp_call *call, struct tools_ctx *app)
{
    struct audio_xfer *x = calloc(1, sizeof(*x));

    if (x == NULL) {
        mcp_call_fail(call, "Out of memory");
        return NULL;
    }
    x->call = call;
    x->app = app;
    x->in_fd = -1;
    x->in_what = "Audio file";
    mcp_call_on_cancel(call, xfer_cancel, x);
    return x;
}

static void xfer_in_opened(void *data, int err, const char *msg, int fd,
                           const struct store_stat *st)
{
    struct audio_xfer *x = data;

    x->in_fd = fd;
    if (err != 0) {
        audio_xfer_fail(x, "%s", msg);
        return;
    }
    x->in_st = *st;
    if (mcp_call_cancelled(x->call)) {
        audio_xfer_fail(x, "cancelled");
        return;
    }
    x->opened(x);
}

void audio_xfer_start(struct audio_xfer *x)
{
    if (store_open_read(x->app->audio, x->in_name, strlen(x->in_name), x->in_what, xfer_in_opened,
                        x) != 0)
        audio_xfer_fail(x, "Out of memory");
}

static void xfer_w_opened(void *data, int err, const char *msg, struct store_writer *w)
{
    struct audio_xfer *x = data;

    if (err != 0) {
        audio_xfer_fail(x, "%s", msg);
        return;
    }
    x->w = w;
    if (mcp_call_cancelled(x->call)) {
        audio_xfer_fail(x, "cancelled");
        return;
    }
    x->writing(x);
}

void audio_xfer_open_writer(struct audio_xfer *x)
{
    if (store_writer_open(x->app->audio, x->out_name, strlen(x->out_name), x->write_flags,
                          xfer_w_opened, x) != 0)
        audio_xfer_fail(x, "Out of memory");
}

static void xfer_committed(void *data, int err, const char *msg, const char *name, uint64_t size)
{
    struct audio_xfer *x = data;

    x->w = NULL; /* gone with the commit */
    if (err != 0) {
        audio_xfer_fail(x, "%s", msg);
        return;
    }
    tool_saved(x->call, "audio", name, x->out_mime, size);
    x->done(x, name, size);
    xfer_free(x);
}

void audio_xfer_publish(struct audio_xfer *x, uint64_t bytes)
{
    if (store_writer_set_size(x->w, bytes) != 0) {
        audio_xfer_fail(x, "Could not record the size of %s", x->out_name);
        return;
    }
    if (x->in_fd >= 0) { /* read whole already: let it go before the fdatasync */
        close(x->in_fd);
        x->in_fd = -1;
    }
    store_writer_set_check(x->w, tool_audio_check_content, TOOL_AUDIO_EXPECT(x->expect));
    x->finished = true;
    if (store_writer_commit(x->w, xfer_committed, x) != 0)
        audio_xfer_fail(x, "Could not publish %s", x->out_name);
}
