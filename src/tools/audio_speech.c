/* create_audio: text to speech through POST /audio/speech (provider openai).
 *
 * Text longer than 4000 characters is cut at sentence, clause, line or word
 * boundaries as the original cuts it (audio_split_tts). The output file's
 * writer is opened first, so a taken name fails before anything is paid for.
 * Each chunk's MP3 streams from the network into a store writer in 64 KiB
 * blocks with backpressure (the network pauses while the disk lags), and its
 * first bytes are checked to be MP3 before it is kept: one chunk streams into
 * the output file itself; several stream into scratch files, at most
 * SPEECH_AT_ONCE at a time, and are then joined on the audio pool into the
 * output without gaps (decoded and re-encoded once: MP3 frames copied from
 * separate encodes would leave a gap and a glitch at every join). The output
 * is published only after its first bytes are checked again. */
#include "fmacros.h"

#include "audio/audio.h"
#include "core/err.h"
#include "mcp/server.h"
#include "net/client.h"
#include "openai/audio.h"
#include "openai/client.h"
#include "store/store.h"
#include "tools/audio_common.h"
#include "tools/common.h"
#include "tools/tools.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Chunks of one call requested at once (within SANZARU_OPENAI_MAX_CONCURRENCY
 * for the whole server). */
#define SPEECH_AT_ONCE 4
#define BLOCK          (64 * 1024)
/* A chunk's bytes queued to the disk before its download pauses. */
#define HIGH_WATER (1024 * 1024)
/* The longest text taken: 50 requests, about three and a half hours of speech
 * (the joined file stays within the audio layer's 4-hour limit). */
#define MAX_TEXT_CHARS 200000

static const char *const providers[] = {"openai", "elevenlabs", NULL};
static const char *const known_voices[] = {"alloy", "ash",   "ballad", "coral", "echo",
                                           "fable", "nova",  "onyx",   "sage",  "shimmer",
                                           "verse", "marin", "cedar",  NULL};

struct speech_args {
    const char *text_prompt;
    const char *model;
    const char *voice;
    const char *instructions;
    double speed;
    const char *output_filename;
    int provider;
    const json_t *voice_settings;
    bool overwrite;
};

struct speech;

struct block {
    struct chunk *chunk;
    size_t len;
    char data[BLOCK];
};

struct chunk {
    struct speech *sp;
    size_t index;
    struct audio_span span;
    struct store_writer *w; /* the output (one chunk) or a scratch file */
    struct net_req *req;
    struct block *cur;
    size_t writes; /* blocks queued and not yet written */
    bool paused, checked, received, done;
    uint64_t bytes;
    char *error;
};

struct speech {
    struct mcp_call *call;
    struct tools_ctx *app;
    const struct speech_args *a; /* borrowed from the call */
    const char *model;
    const char *voice;
    char out_name[STORE_PATH_MAX + 1];
    int flags;
    size_t characters;
    struct store_writer *out;
    struct chunk *chunks;
    size_t n, next, running, finished;
    struct audio_job *job;
    size_t failed; /* the chunk whose failure stopped the others */
    bool cancelled, failing, committing;
};

static void chunk_next(struct speech *sp);

static void speech_free(struct speech *sp)
{
    for (size_t i = 0; sp->chunks != NULL && i < sp->n; i++) {
        free(sp->chunks[i].cur);
        free(sp->chunks[i].error);
    }
    free(sp->chunks);
    free(sp);
}

/* Drops every scratch file (and, unless published, the output). */
static void drop_writers(struct speech *sp)
{
    for (size_t i = 0; sp->chunks != NULL && i < sp->n; i++) {
        struct chunk *c = &sp->chunks[i];
        if (c->w != NULL && c->w != sp->out)
            store_writer_abort(c->w, NULL, NULL);
        c->w = NULL;
    }
    if (sp->out != NULL)
        store_writer_abort(sp->out, NULL, NULL);
    sp->out = NULL;
}

static void speech_fail(struct speech *sp, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void speech_fail(struct speech *sp, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    drop_writers(sp);
    mcp_call_fail(sp->call, "%s",
                  sp->cancelled || mcp_call_cancelled(sp->call) ? "cancelled" : msg);
    speech_free(sp);
}

/* ---- publishing ------------------------------------------------------------------------ */

static void published(void *data, int err, const char *msg, const char *name, uint64_t size)
{
    struct speech *sp = data;
    json_t *r;

    sp->out = NULL;
    if (sp->n == 1)
        sp->chunks[0].w = NULL;
    if (err != 0) {
        speech_fail(sp, "Failed to write audio file '%s': %s", sp->out_name, msg);
        return;
    }
    r = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I}", "output_file", name, "provider", "openai",
                  "model", sp->model, "characters", (json_int_t)sp->characters, "requests",
                  (json_int_t)sp->n, "size_bytes", (json_int_t)size);
    tool_saved(sp->call, "audio", name, "audio/mpeg", size);
    mcp_call_finish(sp->call, r);
    drop_writers(sp);
    speech_free(sp);
}

static void commit_output(struct speech *sp)
{
    store_writer_set_check(sp->out, tool_audio_check_content,
                           TOOL_AUDIO_EXPECT(AUDIO_CONTAINER_MP3));
    sp->committing = true;
    if (store_writer_commit(sp->out, published, sp) != 0)
        speech_fail(sp, "Failed to write audio file '%s': could not publish it", sp->out_name);
}

static void concatenated(struct audio_done *res, void *arg)
{
    struct speech *sp = arg;

    sp->job = NULL;
    if (res->status != 0) {
        speech_fail(sp, "Failed to write audio file '%s': joining the %zu parts failed: %s",
                    sp->out_name, sp->n, res->errmsg);
        return;
    }
    if (store_writer_set_size(sp->out, (uint64_t)res->result.bytes) != 0) {
        speech_fail(sp, "Failed to write audio file '%s': could not record its size", sp->out_name);
        return;
    }
    commit_output(sp);
}

/* Every chunk is in: publish one, or join several into the output. */
static void all_received(struct speech *sp)
{
    struct audio_encode enc = {.format = AUDIO_FORMAT_MP3};
    int *fds;

    if (sp->n == 1) {
        commit_output(sp);
        return;
    }
    fds = calloc(sp->n, sizeof(*fds));
    if (fds == NULL) {
        speech_fail(sp, "Out of memory");
        return;
    }
    for (size_t i = 0; i < sp->n; i++)
        fds[i] = store_writer_fd(sp->chunks[i].w);
    /* The first part's rate and channels (24 kHz mono from OpenAI), 128 kbps. */
    if (audio_concat_async(sp->app->audio_jobs, fds, sp->n, store_writer_fd(sp->out), &enc, 0,
                           concatenated, sp, &sp->job) != 0)
        speech_fail(sp, "Could not start joining the parts");
    free(fds);
}

/* ---- one chunk, streamed into its writer ------------------------------------------------- */

/* A chunk is over when its response ended (or failed) and its writes drained. */
static void chunk_maybe_done(struct chunk *c)
{
    struct speech *sp = c->sp;

    if (c->done || c->req != NULL || c->writes > 0)
        return;
    c->done = true;
    sp->running--;
    sp->finished++;
    if (c->error != NULL && !sp->failing) {
        sp->failing = true;
        sp->failed = c->index;
        /* Stop the others; the last one to finish fails the call. */
        for (size_t i = 0; i < sp->n; i++)
            if (sp->chunks[i].req != NULL)
                net_req_cancel(sp->chunks[i].req);
    }
    mcp_call_progress(sp->call, (double)sp->finished, (double)sp->n, NULL);
    chunk_next(sp);
}

static void chunk_error(struct chunk *c, const char *msg)
{
    if (c->error == NULL)
        c->error = strdup(msg);
}

static void block_written(void *data, int err, const char *msg)
{
    struct block *b = data;
    struct chunk *c = b->chunk;

    free(b);
    c->writes--;
    if (err != 0)
        chunk_error(c, msg != NULL ? msg : sz_strerror(err));
    if (c->paused && c->req != NULL && store_writer_inflight(c->w) <= HIGH_WATER / 2) {
        c->paused = false;
        net_req_resume(c->req);
    }
    chunk_maybe_done(c);
}

/* Queues the current block. 0 or an error. */
static int flush_block(struct chunk *c)
{
    struct block *b = c->cur;
    int rc;

    if (b == NULL || b->len == 0)
        return 0;
    c->cur = NULL;
    rc = store_writer_write(c->w, b->data, b->len, block_written, b);
    if (rc != 0) {
        free(b);
        return rc;
    }
    c->writes++;
    return 0;
}

/* The first bytes must be MP3 (response_format mp3), before anything is kept. */
static int check_head(struct chunk *c)
{
    const char *head = c->cur != NULL ? c->cur->data : "";
    size_t len = c->cur != NULL ? c->cur->len : 0;
    char msg[256];

    if (c->checked)
        return 0;
    if (audio_sniff(head, len) != AUDIO_CONTAINER_MP3) {
        char sum[32 * 4 + 4];
        net_summarize(head, len < 32 ? len : 32, 32, sum, sizeof(sum));
        snprintf(msg, sizeof(msg), "OpenAI returned speech that is not MP3 (it starts with '%s')",
                 sum);
        chunk_error(c, msg);
        return SZ_EUNSUPPORTED;
    }
    c->checked = true;
    return 0;
}

static int on_data(struct net_req *req, const char *buf, size_t len, void *data)
{
    struct chunk *c = data;
    int rc;
    (void)req;

    if (c->error != NULL)
        return SZ_ECANCELLED;
    c->bytes += len;
    while (len > 0) {
        size_t n;
        if (c->cur == NULL) {
            c->cur = malloc(sizeof(*c->cur));
            if (c->cur == NULL) {
                chunk_error(c, "Out of memory");
                return SZ_ENOMEM;
            }
            c->cur->chunk = c;
            c->cur->len = 0;
        }
        n = BLOCK - c->cur->len < len ? BLOCK - c->cur->len : len;
        memcpy(c->cur->data + c->cur->len, buf, n);
        c->cur->len += n;
        buf += n;
        len -= n;
        /* An ID3 tag may come first: sniff once a block is full or the body ends. */
        if (c->cur->len == BLOCK) {
            if ((rc = check_head(c)) != 0)
                return rc;
            if ((rc = flush_block(c)) != 0) {
                chunk_error(c, "Could not write the speech");
                return rc;
            }
        }
    }
    if (store_writer_inflight(c->w) > HIGH_WATER) {
        c->paused = true;
        return NET_SINK_PAUSE;
    }
    return 0;
}

static void chunk_sent(struct net_req *req, const struct net_result *res, void *data)
{
    struct chunk *c = data;
    (void)req;

    c->req = NULL;
    c->paused = false;
    if (res->err != 0) {
        chunk_error(c, res->message != NULL ? res->message : sz_strerror(res->err));
    } else if (check_head(c) == 0 && flush_block(c) != 0) {
        chunk_error(c, "Could not write the speech");
    } else if (c->bytes == 0) {
        chunk_error(c, "OpenAI returned no audio");
    }
    chunk_maybe_done(c);
}

static void chunk_request(struct chunk *c)
{
    struct speech *sp = c->sp;
    struct oai_speech s = {
        .model = sp->model,
        .voice = sp->voice,
        .input = sp->a->text_prompt + c->span.off,
        .input_len = c->span.len,
        .instructions = sp->a->instructions,
        .speed = sp->a->speed,
    };
    struct net_sink sink = {NULL, on_data, c};
    struct net_req *req = NULL;

    if (oai_speech_req_new(sp->app->oai, &s, &req) != 0) {
        chunk_error(c, "Could not build the speech request");
        chunk_maybe_done(c);
        return;
    }
    net_req_set_sink(req, &sink);
    net_req_set_label(req, "create_audio");
    c->req = req;
    net_req_start(req, chunk_sent, c);
}

static void scratch_opened(void *data, int err, const char *msg, struct store_writer *w)
{
    struct chunk *c = data;

    if (err != 0) {
        chunk_error(c, msg);
        chunk_maybe_done(c);
        return;
    }
    c->w = w;
    if (c->sp->failing || c->sp->cancelled) {
        chunk_error(c, "cancelled");
        chunk_maybe_done(c);
        return;
    }
    chunk_request(c);
}

/* Starts chunks until SPEECH_AT_ONCE are under way; when every one is over,
 * publishes or fails. */
static void chunk_next(struct speech *sp)
{
    while (sp->running < SPEECH_AT_ONCE && sp->next < sp->n && !sp->failing && !sp->cancelled) {
        struct chunk *c = &sp->chunks[sp->next++];

        sp->running++;
        if (sp->n == 1) {
            c->w = sp->out;
            chunk_request(c);
        } else if (store_scratch_open(sp->app->audio, scratch_opened, c) != 0) {
            chunk_error(c, "Out of memory");
            chunk_maybe_done(c);
            return; /* chunk_maybe_done called chunk_next */
        }
    }
    if (sp->running > 0)
        return;
    if (sp->failing || sp->cancelled || sp->finished < sp->n) {
        size_t which = sp->failing ? sp->failed : 0;
        const char *why =
            sp->failing && sp->chunks[which].error != NULL ? sp->chunks[which].error : "cancelled";
        if (sp->n > 1)
            speech_fail(sp, "Failed to write audio file '%s': part %zu of %zu failed: %s",
                        sp->out_name, which + 1, sp->n, why);
        else
            speech_fail(sp, "%s", why);
        return;
    }
    all_received(sp);
}

/* ---- start ---------------------------------------------------------------------------------- */

static void out_opened(void *data, int err, const char *msg, struct store_writer *w)
{
    struct speech *sp = data;

    if (err != 0) {
        speech_fail(sp, "%s", msg);
        return;
    }
    sp->out = w;
    if (sp->cancelled) {
        speech_fail(sp, "cancelled");
        return;
    }
    mcp_call_progress(sp->call, 0, (double)sp->n, NULL);
    chunk_next(sp);
}

static void speech_cancel(struct mcp_call *call, void *data)
{
    struct speech *sp = data;
    (void)call;

    sp->cancelled = true;
    for (size_t i = 0; sp->chunks != NULL && i < sp->n; i++)
        if (sp->chunks[i].req != NULL)
            net_req_cancel(sp->chunks[i].req);
    audio_job_cancel(sp->job);
    if (sp->committing && sp->out != NULL)
        store_writer_abort(sp->out, NULL, NULL); /* too late once publishing: it stays */
}

/* Python's repr of a float, for the original's speed message: 5.0, 0.1, 1e-05. */
static void py_float(double x, char *buf, size_t len)
{
    snprintf(buf, len, "%.15g", x);
    if (strpbrk(buf, ".en") == NULL && strlen(buf) + 2 < len)
        strcat(buf, ".0");
}

static size_t code_points(const char *s)
{
    size_t n = 0;
    for (; *s != '\0'; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

/* The checks of the original, in its words, and ours on the name. 0 or fails
 * the call. */
static int check_args(struct mcp_call *call, const struct speech_args *a)
{
    char msg[STORE_MSG_MAX], num[64];
    const char *name = a->output_filename;

    if (a->provider == 1) {
        mcp_call_fail(call, "provider 'elevenlabs' is not supported by this server; use "
                            "provider 'openai'");
        return -1;
    }
    if (!((struct tools_ctx *)mcp_call_tool_data(call))->opts.have_key) {
        tool_fail_err(call, SZ_ENOKEY, oai_strerror(SZ_ENOKEY));
        return -1;
    }
    if (!(a->speed >= 0.25 && a->speed <= 4.0)) {
        py_float(a->speed, num, sizeof(num));
        mcp_call_fail(call, "speed must be between 0.25 and 4.0 for provider='openai', got %s",
                      num);
        return -1;
    }
    if (a->voice_settings != NULL && json_object_size(a->voice_settings) > 0) {
        mcp_call_fail(call, "voice_settings is an ElevenLabs-only option; provider='openai' does "
                            "not accept it");
        return -1;
    }
    if (code_points(a->text_prompt) > MAX_TEXT_CHARS) {
        mcp_call_fail(call,
                      "text_prompt is %zu characters; create_audio takes at most %d (about "
                      "3.5 hours of speech): split it into several files",
                      code_points(a->text_prompt), MAX_TEXT_CHARS);
        return -1;
    }
    if (name != NULL) {
        static const char *const mp3_only[] = {"mp3", NULL};
        size_t len = strlen(name);
        if (store_check_path(name, len, msg, sizeof(msg)) != 0 ||
            store_check_ext(name, len, mp3_only, "MP3 (create_audio writes MP3)", msg,
                            sizeof(msg)) != 0) {
            mcp_call_fail(call, "%s", msg);
            return -1;
        }
    }
    return 0;
}

static void open_output(struct speech *sp)
{
    if (store_writer_open(sp->app->audio, sp->out_name, strlen(sp->out_name), sp->flags, out_opened,
                          sp) != 0)
        speech_fail(sp, "Out of memory");
}

/* The answer to "replace the existing file?" (tool_confirm_overwrite). */
static void asked(struct mcp_call *call, enum tool_write how, void *data)
{
    struct speech *sp = data;

    (void)call;
    if (how == TOOL_WRITE_DONE) {
        speech_free(sp);
        return;
    }
    if (how == TOOL_WRITE_REPLACE)
        sp->flags |= STORE_OVERWRITE;
    open_output(sp);
}

static void create_audio(struct mcp_call *call, const void *args)
{
    const struct speech_args *a = args;
    struct tools_ctx *app = mcp_call_tool_data(call);
    struct audio_span *spans = NULL;
    struct speech *sp;
    size_t n = 0;
    bool known = false;

    if (check_args(call, a) != 0 || tool_audio(call, app) == NULL)
        return;
    if ((sp = calloc(1, sizeof(*sp))) == NULL) {
        mcp_call_fail(call, "Out of memory");
        return;
    }
    sp->call = call;
    sp->app = app;
    sp->a = a;
    sp->model = a->model != NULL ? a->model : app->opts.speech_model;
    sp->voice = a->voice != NULL && a->voice[0] != '\0' ? a->voice : "alloy";
    sp->characters = code_points(a->text_prompt);
    for (size_t i = 0; known_voices[i] != NULL; i++)
        known = known || strcmp(known_voices[i], sp->voice) == 0;
    if (!known) /* the original only warns: new voices appear */
        mcp_call_log(call, SZ_LOG_WARNING, "voice '%s' is not one of the known OpenAI voices",
                     sp->voice);
    if (audio_split_tts(a->text_prompt, strlen(a->text_prompt), AUDIO_TTS_CHUNK_CHARS, &spans,
                        &n) != 0 ||
        (sp->chunks = calloc(n, sizeof(*sp->chunks))) == NULL) {
        free(spans);
        speech_free(sp);
        mcp_call_fail(call, "Out of memory");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        sp->chunks[i].sp = sp;
        sp->chunks[i].index = i;
        sp->chunks[i].span = spans[i];
    }
    free(spans);
    sp->n = n;
    sp->flags = a->overwrite ? STORE_OVERWRITE : 0;
    if (a->output_filename != NULL) {
        snprintf(sp->out_name, sizeof(sp->out_name), "%s", a->output_filename);
    } else {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        snprintf(sp->out_name, sizeof(sp->out_name), "speech_%lld.mp3",
                 (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
        if (!a->overwrite)
            sp->flags |= STORE_UNIQUE;
    }
    mcp_call_on_cancel(call, speech_cancel, sp);
    if (a->output_filename != NULL && !a->overwrite)
        /* Ask about an existing output before anything is paid for. */
        tool_confirm_overwrite(call, app->audio, "audio", sp->out_name, strlen(sp->out_name), asked,
                               sp);
    else
        open_output(sp);
}

/* ---- the table ---------------------------------------------------------------------------- */

#define SROW(field) .off = offsetof(struct speech_args, field)

static const struct mcp_arg speech_rows[] = {
    {.name = "text_prompt",
     .type = MCP_ARG_STRING,
     .flags = MCP_ARG_REQUIRED,
     SROW(text_prompt),
     .min = MCP_LIMIT(1),
     .description = "The text to speak, up to 200,000 characters; longer than 4000 it is sent "
                    "in parts cut at sentence boundaries and joined into one file."},
    {.name = "model",
     .type = MCP_ARG_STRING,
     .flags = MCP_ARG_DEFAULT_ELSEWHERE,
     SROW(model),
     .min = MCP_LIMIT(1),
     MCP_DEFAULT_STR("gpt-4o-mini-tts"),
     .description = "The speech model: gpt-4o-mini-tts (default, or SANZARU_SPEECH_MODEL; "
                    "follows instructions), tts-1 (fast) or tts-1-hd (higher quality)."},
    {.name = "voice",
     .type = MCP_ARG_STRING,
     SROW(voice),
     MCP_DEFAULT_STR("alloy"),
     .flags = MCP_ARG_DEFAULT_ELSEWHERE,
     .description = "alloy (default), ash, ballad, coral, echo, fable, nova, onyx, sage, "
                    "shimmer, or another voice the model knows."},
    {.name = "instructions",
     .type = MCP_ARG_STRING,
     SROW(instructions),
     .description = "How to speak (gpt-4o-mini-tts): tone, pace, accent, emotion, e.g. \"Calm "
                    "and warm, like a bedtime story.\""},
    {.name = "speed",
     .type = MCP_ARG_NUMBER,
     SROW(speed),
     MCP_DEFAULT_NUM(1.0),
     .description = "Speaking rate from 0.25 to 4.0 (1.0 is normal)."},
    {.name = "output_filename",
     .type = MCP_ARG_STRING,
     SROW(output_filename),
     .min = MCP_LIMIT(1),
     .description = "The MP3 to write, ending in .mp3 (a name or a relative path into an "
                    "existing subfolder of the audio directory). Default speech_<Unix ms>.mp3."},
    {.name = "provider",
     .type = MCP_ARG_ENUM,
     SROW(provider),
     .values = providers,
     MCP_DEFAULT_STR("openai"),
     .description = "openai. (elevenlabs is not supported by this server.)"},
    {.name = "voice_settings",
     .type = MCP_ARG_OBJECT,
     SROW(voice_settings),
     .description = "ElevenLabs voice options; refused with provider openai."},
    {.name = "overwrite",
     .type = MCP_ARG_BOOL,
     SROW(overwrite),
     MCP_DEFAULT_BOOL(false),
     .description = "true replaces an existing output_filename. By default a given name that is "
                    "taken fails the call before any request, and the default name gets a "
                    "-1, -2, ... suffix."},
};

static const struct mcp_field speech_fields[] = {
    {.name = "output_file", .types = MCP_T_STRING, .required = true},
    {.name = "provider", .types = MCP_T_STRING, .required = true},
    {.name = "model", .types = MCP_T_STRING, .required = true},
    {.name = "characters", .types = MCP_T_INTEGER, .required = true},
    {.name = "requests", .types = MCP_T_INTEGER, .required = true},
    {.name = "size_bytes", .types = MCP_T_INTEGER},
};
static const struct mcp_field speech_result = {.types = MCP_T_OBJECT, MCP_FIELDS(speech_fields)};

static struct mcp_tool speech_tools[] = {
    {
        .name = "create_audio",
        .title = "Create speech from text",
        .description =
            "Speak a text with OpenAI's text-to-speech and save it as an MP3 in the audio "
            "directory (a paid request; a few seconds per minute of speech). Long texts are sent "
            "in parts of at most 4000 characters, cut at sentence boundaries, and joined into "
            "one file without gaps. Returns {output_file, provider, model, characters, "
            "requests, size_bytes} and a resource link to sanzaru://audio/<output_file>. Nothing "
            "is replaced unless overwrite is true. Next: list_audio_files shows the file; "
            "chat_with_audio can listen to it.",
        MCP_ARGS(struct speech_args, speech_rows),
        .output = &speech_result,
        .annotations = MCP_OPEN_WORLD,
        .start = create_audio,
        /* A long text is many paid requests in a row: minutes. Nothing upstream
         * outlives them, so a restart fails the task with the reason. */
        .task_support = MCP_TASK_OPTIONAL,
    },
};

int tools_register_audio_speech(struct mcp_server *server, struct tools_ctx *ctx)
{
    return tool_register_table(server, ctx, speech_tools,
                               sizeof(speech_tools) / sizeof(speech_tools[0]));
}
