/* transcribe_audio and transcribe_with_enhancement: speech to text through
 * POST /audio/transcriptions.
 *
 * The input is opened through the store and decoded whole on the audio pool,
 * keeping no sample (the original's "ffmpeg-decoded" duration): a file that is
 * not audio, is truncated or lasts 10 hours fails here, before any paid
 * request (an hour of MP3 decodes in about 2.5 s of one core).
 * Then one of three paths, so that nothing is ever sent to fail on OpenAI's
 * 25 MB upload limit:
 *   - at most 480 s and 25 MB: the file itself is streamed from its fd;
 *   - at most 480 s but over 25 MB (a long WAV): it is encoded to one MP3 on
 *     the pool (at most 7.7 MB) in a scratch file, which is uploaded; every
 *     response_format still works;
 *   - over 480 s: the windowed path of the original (v0.10.0): 90 s windows
 *     every 75 s, each cut and encoded to MP3 on the pool into a scratch file
 *     (at most 1.5 MB), uploaded with at most SANZARU_TRANSCRIBE_MAX_CONCURRENCY
 *     under way, and the transcripts joined on their overlap on the pool.
 * A window that still fails after the client's retries leaves a gap: the
 * call succeeds with the other windows' text, and says which windows failed
 * and why (windows[i].error, failed_windows); only when every window fails
 * does the call fail. */
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
#include <unistd.h>

/* A window's MP3: the input's rate and channels (at most stereo), 128 kbps:
 * 1.44 MB for 90 s, far inside the upload limit. */
#define WINDOW_ENCODE ((struct audio_encode){.format = AUDIO_FORMAT_MP3})

static const char *const response_formats[] = {"json", "text",          "srt", "verbose_json",
                                               "vtt",  "diarized_json", NULL};
static const char *const granularities[] = {"word", "segment", NULL};
static const char *const enhancement_types[] = {"detailed", "storytelling", "professional",
                                                "analytical", NULL};

/* The style prompts of transcribe_with_enhancement, in our words after the
 * original's four. */
static const char *const enhancement_prompts[] = {
    "The following is a detailed, verbatim transcript of an audio recording. Every spoken word "
    "is kept as it was said, including filler words such as um, uh, like and you know, false "
    "starts and repetitions. Non-speech sounds are marked in square brackets, e.g. [noise], "
    "[music], [pause], [laughs], [coughs]. Speakers are kept apart, and punctuation follows "
    "the speech closely.",
    "The following is a transcript written as flowing, readable prose, like a story being "
    "told. Sentences are complete and well punctuated, with a new paragraph for each speaker "
    "or change of scene, and the natural rhythm of the telling is kept.",
    "The following is a professional transcript of a business recording. It is written in "
    "clear, formal sentences with correct punctuation and capitalisation; names, product "
    "names, numbers and acronyms are written exactly as they are spoken, and filler words are "
    "left out.",
    "The following is an analytical transcript of a technical discussion. Technical terms, "
    "jargon, code words, numbers and units are transcribed precisely; pace, hesitation and "
    "emphasis are noted where they matter to the meaning (e.g. [slowly], [emphasis]), and "
    "the structure of the argument is reflected in the punctuation and paragraphs.",
};

struct transcribe_args {
    const char *file_path;
    const char *model;   /* NULL: the configured default */
    int response_format; /* response_formats */
    const char *prompt;
    struct mcp_strings timestamp_granularities;
    int enhancement_type; /* transcribe_with_enhancement */
};

enum win_state { WIN_WAITING, WIN_RUNNING, WIN_DONE };

struct tx;

struct window {
    struct tx *tx;
    struct audio_window span;
    enum win_state state;
    struct store_writer *scratch;
    struct audio_job *job;
    struct net_req *req;
    char *text;     /* the transcript, malloc'd; NULL when the window failed */
    char *error;    /* why it failed, malloc'd */
    uint64_t bytes; /* of its MP3 */
};

struct tx {
    struct mcp_call *call;
    struct tools_ctx *app;
    char name[STORE_PATH_MAX + 1];
    const char *model;
    const char *format; /* response_format sent (NULL: not sent) */
    const char *prompt;
    const char *const *grans;
    size_t ngrans;
    int fd;
    struct store_stat st;
    struct audio_info info;
    struct audio_job *job;
    struct net_req *req;
    struct store_writer *scratch; /* the whole file as MP3, over 25 MB */
    bool cancelled;
    /* windowed */
    struct window *win;
    size_t nwin, next, running, finished, max_running;
};

static void tx_free(struct tx *t)
{
    for (size_t i = 0; t->win != NULL && i < t->nwin; i++) {
        free(t->win[i].text);
        free(t->win[i].error);
    }
    free(t->win);
    if (t->fd >= 0)
        close(t->fd);
    free(t);
}

static void discard(struct store_writer **pw)
{
    if (*pw != NULL)
        store_writer_abort(*pw, NULL, NULL);
    *pw = NULL;
}

static void tx_fail(struct tx *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void tx_fail(struct tx *t, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    discard(&t->scratch);
    mcp_call_fail(t->call, "%s", t->cancelled || mcp_call_cancelled(t->call) ? "cancelled" : msg);
    tx_free(t);
}

/* The original's result: the fields of a transcription, then how it was made. */
static json_t *result_base(void)
{
    return json_pack("{s:s, s:n, s:n, s:n, s:n, s:n, s:n, s:b, s:n}", "text", "", "duration",
                     "language", "segments", "words", "usage", "logprobs", "chunked", 0, "windows");
}

static void copy_field(json_t *dst, const json_t *src, const char *name)
{
    json_t *v = json_object_get(src, name);
    if (v != NULL)
        json_object_set(dst, name, v);
}

/* ---- one request: the file itself or its MP3 ------------------------------------ */

static void direct_done(struct net_req *req, const struct net_result *res, void *data)
{
    struct tx *t = data;
    json_t *got = NULL, *r;
    char err[512];
    double dur;
    (void)req;

    t->req = NULL;
    discard(&t->scratch);
    if (res->err != 0) {
        tx_fail(t, "%s", res->message != NULL ? res->message : sz_strerror(res->err));
        return;
    }
    if (oai_transcription_parse(t->format, res->body, res->body_len, &got, err, sizeof(err)) != 0) {
        tx_fail(t, "%s", err);
        return;
    }
    r = result_base();
    static const char *const fields[] = {"text",  "duration", "language", "segments",
                                         "words", "usage",    "logprobs"};
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        copy_field(r, got, fields[i]);
    /* The original only logs a transcript that covers too little. */
    dur = json_number_value(json_object_get(got, "duration"));
    if (json_is_number(json_object_get(got, "duration")) && t->info.duration > 0 &&
        dur < 0.9 * t->info.duration)
        mcp_call_log(t->call, SZ_LOG_WARNING, "The transcript of %s covers %.1f s of its %.1f s",
                     t->name, dur, t->info.duration);
    json_decref(got);
    mcp_call_finish(t->call, r);
    tx_free(t);
}

static void send_direct(struct tx *t, int fd, uint64_t size, const char *upload_name,
                        const char *mime)
{
    struct oai_transcription o = {
        .model = t->model,
        .response_format = t->format,
        .prompt = t->prompt,
        .timestamp_granularities = t->grans,
        .ngranularities = t->ngrans,
        .filename = upload_name,
        .mime_type = mime,
        .fd = fd,
        .size = size,
    };
    struct net_req *req = NULL;

    if (oai_transcription_req_new(t->app->oai, &o, &req) != 0) {
        tx_fail(t, "Could not build the transcription request");
        return;
    }
    net_req_set_label(req, mcp_call_name(t->call));
    t->req = req;
    net_req_start(req, direct_done, t);
}

static void whole_encoded(struct audio_done *res, void *arg)
{
    struct tx *t = arg;
    char upload[STORE_NAME_MAX + 1];

    t->job = NULL;
    if (res->status != 0) {
        tx_fail(t, "Failed to read audio file '%s': %s", t->name, res->errmsg);
        return;
    }
    if (store_writer_set_size(t->scratch, (uint64_t)res->result.bytes) != 0 ||
        tool_audio_derive_name(t->name, "", ".mp3", upload, sizeof(upload)) != 0) {
        tx_fail(t, "Could not prepare %s for upload", t->name);
        return;
    }
    send_direct(t, store_writer_fd(t->scratch), (uint64_t)res->result.bytes, upload, "audio/mpeg");
}

static void whole_scratch(void *data, int err, const char *msg, struct store_writer *w)
{
    struct tx *t = data;
    struct audio_encode enc = WINDOW_ENCODE;

    if (err != 0) {
        tx_fail(t, "%s", msg);
        return;
    }
    t->scratch = w;
    if (t->cancelled) {
        tx_fail(t, "cancelled");
        return;
    }
    if (audio_convert_async(t->app->audio_jobs, t->fd, store_writer_fd(w), &enc, 0, whole_encoded,
                            t, &t->job) != 0)
        tx_fail(t, "Could not start encoding %s", t->name);
}

/* ---- the windowed path ------------------------------------------------------------------ */

static void window_next(struct tx *t);

static void joined(struct audio_done *res, void *arg)
{
    struct tx *t = arg;
    json_t *r, *windows, *failed;

    t->job = NULL;
    if (res->status != 0) {
        tx_fail(t, "%s", res->errmsg);
        return;
    }
    r = result_base();
    windows = json_array();
    failed = json_array();
    for (size_t i = 0; i < t->nwin; i++) {
        struct window *w = &t->win[i];
        /* Times to 2 decimals, as the original rounds them. */
        json_t *o =
            json_pack("{s:i, s:f, s:f, s:s}", "index", w->span.index, "start_s",
                      round(w->span.start * 100) / 100, "end_s", round(w->span.end * 100) / 100,
                      "text", w->text != NULL ? w->text : "");
        if (w->error != NULL) {
            json_object_set_new(o, "error", json_string(w->error));
            json_array_append_new(failed, json_integer(w->span.index));
        }
        json_array_append_new(windows, o);
    }
    json_object_set_new(r, "text", json_string(res->text));
    /* In milliseconds, as the original measures it (pydub's len() / 1000). */
    json_object_set_new(r, "duration", json_real(round(t->info.duration * 1000) / 1000));
    json_object_set_new(r, "chunked", json_true());
    json_object_set_new(r, "windows", windows);
    json_object_set_new(r, "failed_windows", failed);
    mcp_call_finish(t->call, r);
    tx_free(t);
}

static void windows_finished(struct tx *t)
{
    char **texts;
    size_t ok = 0;
    const char *first_error = NULL;

    if (t->cancelled || mcp_call_cancelled(t->call)) {
        tx_fail(t, "cancelled");
        return;
    }
    for (size_t i = 0; i < t->nwin; i++) {
        if (t->win[i].text != NULL)
            ok++;
        else if (first_error == NULL)
            first_error = t->win[i].error;
    }
    if (ok == 0) {
        tx_fail(t, "Every one of the %zu windows of %s failed; the first: %s", t->nwin, t->name,
                first_error != NULL ? first_error : "unknown error");
        return;
    }
    if (ok < t->nwin)
        mcp_call_log(t->call, SZ_LOG_WARNING,
                     "%zu of %zu windows of %s could not be transcribed; the transcript has "
                     "gaps (see failed_windows)",
                     t->nwin - ok, t->nwin, t->name);
    texts = calloc(t->nwin, sizeof(*texts));
    if (texts == NULL) {
        tx_fail(t, "Out of memory joining the transcripts");
        return;
    }
    for (size_t i = 0; i < t->nwin; i++)
        texts[i] = t->win[i].text != NULL ? strdup(t->win[i].text) : NULL;
    /* Up to 400 x 400 word comparisons a window: on the pool. */
    if (audio_join_async(t->app->audio_jobs, texts, t->nwin, joined, t, &t->job) != 0)
        tx_fail(t, "Could not join the transcripts");
}

/* Ends window w (text NULL and a reason when it failed) and starts the next. */
static void window_end(struct window *w, const char *error)
{
    struct tx *t = w->tx;

    discard(&w->scratch);
    if (error != NULL && w->error == NULL) {
        w->error = strdup(error);
        free(w->text);
        w->text = NULL;
    }
    w->state = WIN_DONE;
    t->running--;
    t->finished++;
    mcp_call_progress(t->call, (double)t->finished, (double)t->nwin, NULL);
    window_next(t);
}

static void window_sent(struct net_req *req, const struct net_result *res, void *data)
{
    struct window *w = data;
    json_t *got = NULL;
    char err[512];
    (void)req;

    w->req = NULL;
    if (res->err != 0) {
        window_end(w, res->message != NULL ? res->message : sz_strerror(res->err));
        return;
    }
    if (oai_transcription_parse("text", res->body, res->body_len, &got, err, sizeof(err)) != 0) {
        window_end(w, err);
        return;
    }
    w->text = strdup(json_string_value(json_object_get(got, "text")));
    json_decref(got);
    window_end(w, w->text == NULL ? "out of memory" : NULL);
}

static void window_cut(struct audio_done *res, void *arg)
{
    struct window *w = arg;
    struct tx *t = w->tx;
    char upload[STORE_NAME_MAX + 1], suffix[32];
    struct oai_transcription o = {.model = t->model,
                                  .response_format = "text",
                                  .prompt = t->prompt,
                                  .mime_type = "audio/mpeg"};
    struct net_req *req = NULL;

    w->job = NULL;
    if (res->status != 0) {
        window_end(w, res->errmsg);
        return;
    }
    if (t->cancelled) {
        window_end(w, "cancelled");
        return;
    }
    w->bytes = (uint64_t)res->result.bytes;
    /* <stem>_w<i>.mp3, as the original names the windows it sends. */
    snprintf(suffix, sizeof(suffix), "_w%d.mp3", w->span.index);
    if (store_writer_set_size(w->scratch, w->bytes) != 0 ||
        tool_audio_derive_name(t->name, "", suffix, upload, sizeof(upload)) != 0) {
        window_end(w, "could not prepare the window for upload");
        return;
    }
    o.filename = upload;
    o.fd = store_writer_fd(w->scratch);
    o.size = w->bytes;
    if (oai_transcription_req_new(t->app->oai, &o, &req) != 0) {
        window_end(w, "could not build the request");
        return;
    }
    net_req_set_label(req, mcp_call_name(t->call));
    w->req = req;
    net_req_start(req, window_sent, w);
}

static void window_scratch(void *data, int err, const char *msg, struct store_writer *sw)
{
    struct window *w = data;
    struct tx *t = w->tx;
    struct audio_encode enc = WINDOW_ENCODE;

    if (err != 0) {
        window_end(w, msg);
        return;
    }
    w->scratch = sw;
    if (t->cancelled) {
        window_end(w, "cancelled");
        return;
    }
    if (audio_cut_async(t->app->audio_jobs, t->fd, store_writer_fd(sw), w->span.start,
                        w->span.end - w->span.start, &enc, 0, window_cut, w, &w->job) != 0)
        window_end(w, "could not start cutting the window");
}

/* Starts windows until max_running are under way; joins when all are done.
 * The first window's failure to even start counts as its failure. */
static void window_next(struct tx *t)
{
    while (t->running < t->max_running && t->next < t->nwin && !t->cancelled) {
        struct window *w = &t->win[t->next++];

        w->state = WIN_RUNNING;
        t->running++;
        if (store_scratch_open(t->app->audio, window_scratch, w) != 0) {
            w->error = strdup("out of memory");
            w->state = WIN_DONE;
            t->running--;
            t->finished++;
        }
    }
    if (t->running == 0 && (t->finished == t->nwin || t->cancelled))
        windows_finished(t);
}

static void start_windows(struct tx *t)
{
    struct audio_window *spans = NULL;
    size_t n = 0;

    if (audio_plan_windows(t->info.duration, AUDIO_WINDOW_S, AUDIO_STRIDE_S, &spans, &n) != 0 ||
        n == 0) {
        free(spans);
        tx_fail(t, "Could not plan the windows of %s", t->name);
        return;
    }
    t->win = calloc(n, sizeof(*t->win));
    if (t->win == NULL) {
        free(spans);
        tx_fail(t, "Out of memory");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        t->win[i].tx = t;
        t->win[i].span = spans[i];
    }
    free(spans);
    t->nwin = n;
    t->max_running =
        (size_t)(t->app->opts.transcribe_concurrency > 0 ? t->app->opts.transcribe_concurrency : 4);
    mcp_call_progress(t->call, 0, (double)n, NULL);
    window_next(t);
}

/* ---- start ----------------------------------------------------------------------------- */

static void probed(struct audio_done *res, void *arg)
{
    struct tx *t = arg;

    t->job = NULL;
    if (res->status != 0) {
        tx_fail(t, "Failed to read audio file '%s': %s", t->name, res->errmsg);
        return;
    }
    t->info = res->info;
    if (t->cancelled) {
        tx_fail(t, "cancelled");
        return;
    }
    if (t->info.duration > AUDIO_WINDOW_THRESHOLD_S) {
        start_windows(t);
    } else if (t->st.size > AUDIO_UPLOAD_LIMIT_BYTES) {
        /* Never sent to fail: re-encoded to MP3, which fits. */
        if (store_scratch_open(t->app->audio, whole_scratch, t) != 0)
            tx_fail(t, "Out of memory");
    } else {
        send_direct(t, t->fd, t->st.size, tool_audio_basename(t->name), tool_audio_mime(t->name));
    }
}

/* The transcription tools and chat_with_audio say "File not found" for a name
 * that is missing, leaves the root or is a symbolic link (AUDIO.md). */
static bool not_found(int err)
{
    return err == SZ_ENOTFOUND || err == SZ_ETRAVERSAL || err == SZ_ESYMLINK;
}

static void opened(void *data, int err, const char *msg, int fd, const struct store_stat *st)
{
    struct tx *t = data;

    t->fd = fd;
    if (err != 0) {
        if (not_found(err))
            tx_fail(t, "File not found: %s", t->name);
        else
            tx_fail(t, "%s", msg);
        return;
    }
    t->st = *st;
    if (t->cancelled) {
        tx_fail(t, "cancelled");
        return;
    }
    if (audio_probe_async(t->app->audio_jobs, fd, AUDIO_PROBE_DECODE, 0, probed, t, &t->job) != 0)
        tx_fail(t, "Could not start reading %s", t->name);
}

static void tx_cancel(struct mcp_call *call, void *data)
{
    struct tx *t = data;
    (void)call;

    t->cancelled = true;
    audio_job_cancel(t->job);
    if (t->req != NULL)
        net_req_cancel(t->req);
    for (size_t i = 0; t->win != NULL && i < t->nwin; i++) {
        audio_job_cancel(t->win[i].job);
        if (t->win[i].req != NULL)
            net_req_cancel(t->win[i].req);
    }
}

static void start(struct mcp_call *call, const struct transcribe_args *a, const char *model,
                  const char *format, const char *prompt, bool timestamps)
{
    struct tools_ctx *app = mcp_call_tool_data(call);
    char msg[STORE_MSG_MAX];
    struct tx *t;
    int rc;

    if (!app->opts.have_key) {
        tool_fail_err(call, SZ_ENOKEY, oai_strerror(SZ_ENOKEY));
        return;
    }
    if (tool_audio(call, app) == NULL)
        return;
    rc = store_check_path(a->file_path, strlen(a->file_path), msg, sizeof(msg));
    if (rc == SZ_ETRAVERSAL) {
        mcp_call_fail(call, "File not found: %s", a->file_path);
        return;
    }
    if (rc != 0 ||
        tool_audio_check_input(call, a->file_path, tool_audio_exts, tool_audio_exts_label) != 0) {
        if (rc != 0)
            mcp_call_fail(call, "%s", msg);
        return;
    }
    for (size_t i = 0; timestamps && i < a->timestamp_granularities.n; i++) {
        const char *g = a->timestamp_granularities.v[i];
        if (strcmp(g, granularities[0]) != 0 && strcmp(g, granularities[1]) != 0) {
            mcp_call_fail(call,
                          "Invalid arguments for tool %s: 'timestamp_granularities[%zu]' must be "
                          "one of \"word\", \"segment\"",
                          mcp_call_name(call), i);
            return;
        }
    }
    t = calloc(1, sizeof(*t));
    if (t == NULL) {
        mcp_call_fail(call, "Out of memory");
        return;
    }
    t->call = call;
    t->app = app;
    t->fd = -1;
    t->model = model;
    t->format = format;
    t->prompt = prompt;
    if (timestamps) {
        t->grans = a->timestamp_granularities.v;
        t->ngrans = a->timestamp_granularities.n;
    }
    snprintf(t->name, sizeof(t->name), "%s", a->file_path);
    mcp_call_on_cancel(call, tx_cancel, t);
    if (store_open_read(app->audio, t->name, strlen(t->name), "Audio file", opened, t) != 0)
        tx_fail(t, "Out of memory");
}

static const char *model_of(struct mcp_call *call, const char *model)
{
    struct tools_ctx *app = mcp_call_tool_data(call);
    return model != NULL ? model : app->opts.transcribe_model;
}

static void transcribe_audio(struct mcp_call *call, const void *args)
{
    const struct transcribe_args *a = args;

    start(call, a, model_of(call, a->model), response_formats[a->response_format], a->prompt, true);
}

static void transcribe_with_enhancement(struct mcp_call *call, const void *args)
{
    const struct transcribe_args *a = args;

    start(call, a, model_of(call, a->model), "text", enhancement_prompts[a->enhancement_type],
          false);
}

/* ---- the tables ------------------------------------------------------------------------ */

#define TROW(field) .off = offsetof(struct transcribe_args, field)

#define FILE_ROW                                                                                   \
    {                                                                                              \
        .name = "file_path", .type = MCP_ARG_STRING, .flags = MCP_ARG_REQUIRED, TROW(file_path),   \
        .min = MCP_LIMIT(1),                                                                       \
        .description = "The recording: a name in the audio directory or a relative path into "     \
                       "one of its subfolders (\"calls/monday.m4a\"); FLAC, MP3, MP4, MPEG, "      \
                       "MPGA, M4A, OGG, WAV or WEBM, of any length up to 4 hours."                 \
    }
#define MODEL_ROW                                                                                  \
    {                                                                                              \
        .name = "model", .type = MCP_ARG_STRING, .flags = MCP_ARG_DEFAULT_ELSEWHERE, TROW(model),  \
        .min = MCP_LIMIT(1), MCP_DEFAULT_STR("gpt-4o-mini-transcribe"),                            \
        .description = "The transcription model: gpt-4o-mini-transcribe (default, or "             \
                       "SANZARU_TRANSCRIBE_MODEL; fast and cheap), gpt-4o-transcribe (more "       \
                       "accurate), whisper-1 (the only one with srt, vtt, verbose_json and "       \
                       "timestamps), gpt-4o-transcribe-diarize (who spoke when, with "             \
                       "diarized_json), or any newer model name."                                  \
    }

static const struct mcp_arg transcribe_rows[] = {
    FILE_ROW,
    MODEL_ROW,
    {.name = "response_format",
     .type = MCP_ARG_ENUM,
     TROW(response_format),
     .values = response_formats,
     MCP_DEFAULT_STR("text"),
     .description = "text (default: the transcript), json, verbose_json (language, duration, "
                    "segments, words), srt or vtt (subtitles, as text), diarized_json (with "
                    "gpt-4o-transcribe-diarize). Recordings over 8 minutes are always "
                    "transcribed as text."},
    {.name = "prompt",
     .type = MCP_ARG_STRING,
     TROW(prompt),
     .description = "Text that guides the model: names, terms and spellings to expect, or the "
                    "style of the previous part. Sent with every window of a long recording."},
    {.name = "timestamp_granularities",
     .type = MCP_ARG_STRINGS,
     TROW(timestamp_granularities),
     .description = "[\"word\"], [\"segment\"] or both, with response_format verbose_json and "
                    "whisper-1: timestamps for each word or segment. Ignored for recordings "
                    "over 8 minutes."},
};

static const struct mcp_arg enhancement_rows[] = {
    FILE_ROW,
    {.name = "enhancement_type",
     .type = MCP_ARG_ENUM,
     TROW(enhancement_type),
     .values = enhancement_types,
     MCP_DEFAULT_STR("detailed"),
     .description = "The style asked of the model: detailed (verbatim, with [noise], [pause], "
                    "[laughs] and filler words), storytelling (flowing prose, a paragraph per "
                    "speaker), professional (formal sentences, exact names and acronyms) or "
                    "analytical (technical terms exact, pace and emphasis noted)."},
    MODEL_ROW,
};

static const struct mcp_field any_item = {.types = MCP_T_OBJECT};
static const struct mcp_field window_fields[] = {
    {.name = "index", .types = MCP_T_INTEGER, .required = true},
    {.name = "start_s", .types = MCP_T_NUMBER, .required = true},
    {.name = "end_s", .types = MCP_T_NUMBER, .required = true},
    {.name = "text", .types = MCP_T_STRING, .required = true},
    {.name = "error", .types = MCP_T_STRING},
};
static const struct mcp_field window_item = {.types = MCP_T_OBJECT, MCP_FIELDS(window_fields)};
static const struct mcp_field int_item = {.types = MCP_T_INTEGER};
static const struct mcp_field transcribe_fields[] = {
    {.name = "text", .types = MCP_T_STRING, .required = true},
    {.name = "duration", .types = MCP_T_NUMBER | MCP_T_NULL, .required = true},
    {.name = "language", .types = MCP_T_STRING | MCP_T_NULL, .required = true},
    {.name = "segments", .types = MCP_T_ARRAY | MCP_T_NULL, .required = true, .items = &any_item},
    {.name = "words", .types = MCP_T_ARRAY | MCP_T_NULL, .required = true, .items = &any_item},
    {.name = "usage", .types = MCP_T_OBJECT | MCP_T_NULL, .required = true},
    {.name = "logprobs",
     .types = MCP_T_ARRAY | MCP_T_OBJECT | MCP_T_NULL | MCP_T_STRING | MCP_T_NUMBER,
     .required = true},
    {.name = "chunked", .types = MCP_T_BOOLEAN, .required = true},
    {.name = "windows", .types = MCP_T_ARRAY | MCP_T_NULL, .required = true, .items = &window_item},
    {.name = "failed_windows", .types = MCP_T_ARRAY, .items = &int_item},
};
static const struct mcp_field transcribe_result = {.types = MCP_T_OBJECT,
                                                   MCP_FIELDS(transcribe_fields)};

static struct mcp_tool transcribe_tools[] = {
    {
        .name = "transcribe_audio",
        .title = "Transcribe audio",
        .description =
            "Turn speech in an audio file of the audio directory into text with OpenAI's "
            "transcription API (a paid request; about a minute per hour of audio). Returns "
            "{text, duration, language, segments, words, usage, logprobs, chunked, windows}: "
            "the fields the response_format gives, null otherwise. Files over 25 MB are "
            "re-encoded to MP3 first; recordings over 8 minutes are sent as 90-second windows "
            "every 75 seconds (at most SANZARU_TRANSCRIBE_MAX_CONCURRENCY at once) and joined "
            "on their overlap: chunked is then true, windows lists each window's times and "
            "text, and a window that failed leaves a gap named in failed_windows. Up to 4 "
            "hours. Next: chat_with_audio to ask about the recording, or "
            "transcribe_with_enhancement for a styled transcript.",
        MCP_ARGS(struct transcribe_args, transcribe_rows),
        .output = &transcribe_result,
        .annotations = MCP_READ_ONLY | MCP_OPEN_WORLD,
        .start = transcribe_audio,
        /* A 20-minute recording is 16 windows of paid requests: minutes. The windows
         * are local state, so a restart fails the task with the reason. */
        .task_support = MCP_TASK_OPTIONAL,
    },
    {
        .name = "transcribe_with_enhancement",
        .title = "Transcribe audio in a style",
        .description =
            "Transcribe an audio file of the audio directory as text in a chosen style: the "
            "style is a prompt sent with the audio (detailed: verbatim with [noise] and "
            "fillers; storytelling: flowing prose; professional: formal, exact names; "
            "analytical: technical terms exact, pace and emphasis). Same limits, windows and "
            "result as transcribe_audio with response_format text (a paid request). Next: "
            "chat_with_audio to ask questions about the recording.",
        MCP_ARGS(struct transcribe_args, enhancement_rows),
        .output = &transcribe_result,
        .annotations = MCP_READ_ONLY | MCP_OPEN_WORLD,
        .start = transcribe_with_enhancement,
        .task_support = MCP_TASK_OPTIONAL, /* as transcribe_audio */
    },
};

int tools_register_audio_transcribe(struct mcp_server *server, struct tools_ctx *ctx)
{
    return tool_register_table(server, ctx, transcribe_tools,
                               sizeof(transcribe_tools) / sizeof(transcribe_tools[0]));
}
