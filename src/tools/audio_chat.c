/* chat_with_audio: asks an audio model about a recording through POST
 * /chat/completions, with the file inline as base64 (input_audio).
 *
 * The file is opened through the store; a pool job reads it, checks that its
 * bytes are the MP3 or WAV its extension says, and builds the whole JSON body
 * with the base64 in it (megabytes: never on the loop). The body is capped at
 * what 25 MB of audio makes; a larger file is refused before any request,
 * pointing at compress_audio. */
#include "fmacros.h"

#include "audio/audio.h"
#include "core/err.h"
#include "core/pool.h"
#include "mcp/server.h"
#include "net/client.h"
#include "openai/audio.h"
#include "openai/client.h"
#include "store/store.h"
#include "tools/audio_common.h"
#include "tools/common.h"
#include "tools/tools.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The most audio sent inline: OpenAI's upload limit, as for transcriptions. */
#define CHAT_MAX_BYTES AUDIO_UPLOAD_LIMIT_BYTES

struct chat_args {
    const char *file_path;
    const char *model;
    const char *system_prompt;
    const char *user_prompt;
};

struct chat {
    struct mcp_call *call;
    struct tools_ctx *app;
    char name[STORE_PATH_MAX + 1];
    char format[16];         /* mp3 | wav */
    struct oai_chat_audio p; /* its strings: the copies below (the pool job reads them) */
    char *model, *system_prompt, *user_prompt;
    int fd;
    uint64_t size;
    struct sz_pool_job *job;
    struct net_req *req;
    bool cancelled;
    /* the pool job's outcome */
    int rc;
    char err[STORE_PATH_MAX + 300];
    char *body;
    size_t body_len;
};

static void chat_free(struct chat *c)
{
    if (c->fd >= 0)
        close(c->fd);
    free(c->model);
    free(c->system_prompt);
    free(c->user_prompt);
    free(c->body);
    free(c);
}

static void chat_fail(struct chat *c, const char *msg)
{
    mcp_call_fail(c->call, "%s", c->cancelled || mcp_call_cancelled(c->call) ? "cancelled" : msg);
    chat_free(c);
}

/* Pool thread: reads the whole file, checks its bytes, builds the body. */
static void build_body(void *data)
{
    struct chat *c = data;
    size_t len = (size_t)c->size, got = 0;
    char *bytes = malloc(len > 0 ? len : 1);
    enum audio_container want =
        strcmp(c->format, "wav") == 0 ? AUDIO_CONTAINER_WAV : AUDIO_CONTAINER_MP3;

    if (bytes == NULL) {
        c->rc = SZ_ENOMEM;
        snprintf(c->err, sizeof(c->err), "Out of memory reading %s", c->name);
        return;
    }
    while (got < len) {
        ssize_t n = pread(c->fd, bytes + got, len - got, (off_t)got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    if (got != len) {
        c->rc = SZ_EIO;
        snprintf(c->err, sizeof(c->err), "Could not read all of %s", c->name);
    } else if (audio_sniff(bytes, len) != want) {
        c->rc = SZ_EUNSUPPORTED;
        snprintf(c->err, sizeof(c->err),
                 "%s is not %s audio (its bytes are %s); convert_audio makes an MP3 or WAV of it",
                 c->name, c->format,
                 audio_sniff(bytes, len) == AUDIO_CONTAINER_UNKNOWN
                     ? "not audio"
                     : audio_container_name(audio_sniff(bytes, len)));
    } else {
        c->rc = oai_chat_audio_body(&c->p, bytes, len, &c->body, &c->body_len);
        if (c->rc != 0)
            snprintf(c->err, sizeof(c->err), "Could not build the request: %s", sz_strerror(c->rc));
    }
    free(bytes);
}

static void answered(struct net_req *req, const struct net_result *res, void *data)
{
    struct chat *c = data;
    (void)req;

    c->req = NULL;
    if (res->err != 0) {
        chat_fail(c, res->message != NULL ? res->message : sz_strerror(res->err));
        return;
    }
    mcp_call_finish(c->call, json_pack("{s:s}", "text", oai_chat_text(res->json)));
    chat_free(c);
}

static void body_built(void *data, int status)
{
    struct chat *c = data;
    struct net_req *req = NULL;
    char *body = c->body;

    c->job = NULL;
    c->body = NULL;
    close(c->fd); /* read whole */
    c->fd = -1;
    if (status != 0 || c->cancelled) {
        free(body);
        chat_fail(c, "cancelled");
        return;
    }
    if (c->rc != 0) {
        free(body);
        chat_fail(c, c->err);
        return;
    }
    if (oai_chat_req_new(c->app->oai, body, c->body_len, &req) != 0) { /* takes body */
        chat_fail(c, "Could not build the request");
        return;
    }
    net_req_set_label(req, "chat_with_audio");
    c->req = req;
    net_req_start(req, answered, c);
}

static void opened(void *data, int err, const char *msg, int fd, const struct store_stat *st)
{
    struct chat *c = data;
    char limit[64];

    c->fd = fd;
    if (err != 0) {
        if (err == SZ_ENOTFOUND || err == SZ_ETRAVERSAL || err == SZ_ESYMLINK) {
            snprintf(c->err, sizeof(c->err), "File not found: %s", c->name);
            chat_fail(c, c->err);
        } else {
            chat_fail(c, msg);
        }
        return;
    }
    c->size = st->size;
    if (c->size > CHAT_MAX_BYTES) {
        snprintf(limit, sizeof(limit), "%.1f MB", (double)c->size / 1048576.0);
        snprintf(c->err, sizeof(c->err),
                 "%s is %s; chat_with_audio sends the audio inline and takes at most 25 MB: "
                 "compress_audio makes a smaller MP3 of it",
                 c->name, limit);
        chat_fail(c, c->err);
        return;
    }
    if (c->cancelled) {
        chat_fail(c, "cancelled");
        return;
    }
    if (sz_pool_submit(c->app->audio_jobs, build_body, body_built, c, &c->job) != 0)
        chat_fail(c, "Could not start reading the file");
}

static void chat_cancel(struct mcp_call *call, void *data)
{
    struct chat *c = data;
    (void)call;

    c->cancelled = true;
    if (c->job != NULL)
        (void)sz_pool_cancel(c->job); /* a running read finishes; its result is dropped */
    if (c->req != NULL)
        net_req_cancel(c->req);
}

static void chat_with_audio(struct mcp_call *call, const void *args)
{
    const struct chat_args *a = args;
    struct tools_ctx *app = mcp_call_tool_data(call);
    char msg[STORE_MSG_MAX], ext[16];
    size_t len = strlen(a->file_path);
    struct chat *c;
    int rc;

    if (!app->opts.have_key) {
        tool_fail_err(call, SZ_ENOKEY, oai_strerror(SZ_ENOKEY));
        return;
    }
    store_name_ext(a->file_path, len, ext, sizeof(ext));
    if (strcmp(ext, "mp3") != 0 && strcmp(ext, "wav") != 0) {
        mcp_call_fail(call, "Expected mp3 or wav extension, but got %s%s", ext[0] ? "." : "",
                      ext[0] ? ext : "no extension");
        return;
    }
    rc = store_check_path(a->file_path, len, msg, sizeof(msg));
    if (rc != 0) {
        if (rc == SZ_ETRAVERSAL)
            mcp_call_fail(call, "File not found: %s", a->file_path);
        else
            mcp_call_fail(call, "%s", msg);
        return;
    }
    if (tool_audio(call, app) == NULL)
        return;
    if ((c = calloc(1, sizeof(*c))) == NULL) {
        mcp_call_fail(call, "Out of memory");
        return;
    }
    c->call = call;
    c->app = app;
    c->fd = -1;
    snprintf(c->name, sizeof(c->name), "%s", a->file_path);
    snprintf(c->format, sizeof(c->format), "%s", ext);
    /* Copies: the pool job builds the body from them, off the loop. */
    c->model = strdup(a->model != NULL ? a->model : app->opts.audio_chat_model);
    c->system_prompt = a->system_prompt != NULL ? strdup(a->system_prompt) : NULL;
    c->user_prompt = a->user_prompt != NULL ? strdup(a->user_prompt) : NULL;
    if (c->model == NULL || (a->system_prompt != NULL && c->system_prompt == NULL) ||
        (a->user_prompt != NULL && c->user_prompt == NULL)) {
        chat_fail(c, "Out of memory");
        return;
    }
    c->p.model = c->model;
    c->p.system_prompt = c->system_prompt;
    c->p.user_prompt = c->user_prompt;
    c->p.format = c->format;
    mcp_call_on_cancel(call, chat_cancel, c);
    if (store_open_read(app->audio, c->name, len, "Audio file", opened, c) != 0)
        chat_fail(c, "Out of memory");
}

static const struct mcp_arg chat_rows[] = {
    {.name = "file_path",
     .type = MCP_ARG_STRING,
     .flags = MCP_ARG_REQUIRED,
     .off = offsetof(struct chat_args, file_path),
     .min = MCP_LIMIT(1),
     .description = "An MP3 or WAV file in the audio directory (a name, or a relative path into "
                    "a subfolder), at most 25 MB. convert_audio makes an MP3 of other formats; "
                    "compress_audio makes a large one smaller."},
    {.name = "model",
     .type = MCP_ARG_STRING,
     .flags = MCP_ARG_DEFAULT_ELSEWHERE,
     .off = offsetof(struct chat_args, model),
     .min = MCP_LIMIT(1),
     MCP_DEFAULT_STR("gpt-4o-audio-preview"),
     .description = "The audio model: gpt-4o-audio-preview (default, or SANZARU_AUDIO_CHAT_MODEL), "
                    "gpt-4o-mini-audio-preview (cheaper), or a dated snapshot such as "
                    "gpt-4o-audio-preview-2025-06-03."},
    {.name = "system_prompt",
     .type = MCP_ARG_STRING,
     .off = offsetof(struct chat_args, system_prompt),
     .description = "Instructions for the model's role and answer, e.g. \"You are a meeting "
                    "assistant; answer in bullet points.\" Omitted when empty."},
    {.name = "user_prompt",
     .type = MCP_ARG_STRING,
     .off = offsetof(struct chat_args, user_prompt),
     .description = "The question about the recording, e.g. \"Who speaks, and what do they "
                    "decide?\" Without it the model responds to the audio alone."},
};

static const struct mcp_field chat_fields[] = {
    {.name = "text", .types = MCP_T_STRING, .required = true},
};
static const struct mcp_field chat_result = {.types = MCP_T_OBJECT, MCP_FIELDS(chat_fields)};

static struct mcp_tool chat_tools[] = {
    {
        .name = "chat_with_audio",
        .title = "Ask about a recording",
        .description =
            "Ask an OpenAI audio model about an MP3 or WAV file of the audio directory: it hears "
            "the recording itself (tone, speakers, sounds, music), not only the words. The file "
            "goes inline with the request (at most 25 MB; compress_audio shrinks larger ones, "
            "convert_audio turns other formats into MP3). A paid request that takes seconds to "
            "a minute. Returns {text}: the model's answer. Next: ask again with another "
            "user_prompt, or transcribe_audio for a full transcript.",
        MCP_ARGS(struct chat_args, chat_rows),
        .output = &chat_result,
        .annotations = MCP_READ_ONLY | MCP_OPEN_WORLD,
        .start = chat_with_audio,
        /* Seconds to a minute of a paid request: a client may leave it running. A
         * restart loses the request (no upstream job to poll again), and says so. */
        .task_support = MCP_TASK_OPTIONAL,
    },
};

int tools_register_audio_chat(struct mcp_server *server, struct tools_ctx *ctx)
{
    return tool_register_table(server, ctx, chat_tools, sizeof(chat_tools) / sizeof(chat_tools[0]));
}
