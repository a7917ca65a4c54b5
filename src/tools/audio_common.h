/* Helpers shared by the audio tools (audio_files.c, audio_transcribe.c,
 * audio_speech.c): the audio root, the extension sets and their MIME types,
 * name checks in the original's words, FileInfo, the content check every
 * written audio file passes before it is published, and a small chain that
 * opens an input and a writer before a pool job runs between them.
 *
 * Loop thread only, except tool_audio_check_content (a store_check_fn, run on
 * a pool thread). */
#ifndef SZ_TOOLS_AUDIO_COMMON_H
#define SZ_TOOLS_AUDIO_COMMON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audio/audio.h"
#include "store/store.h"
#include "tools/tools.h"

struct mcp_call;

/* The extensions the transcription tools accept (AUDIO.md): flac mp3 mp4 mpeg
 * mpga m4a ogg wav webm; and chat_with_audio's: mp3 wav. NULL-terminated. */
extern const char *const tool_audio_exts[];
extern const char *const tool_audio_chat_exts[];
/* "FLAC, MP3, MP4, MPEG, MPGA, M4A, OGG, WAV or WEBM" for messages. */
extern const char tool_audio_exts_label[];

/* The models each file format can be transcribed or discussed with, as the
 * original's FileInfo lists them (NULL-terminated). */
extern const char *const tool_transcription_models[];
extern const char *const tool_audio_chat_models[];

/* The audio root, or NULL after failing the call with why it is missing. */
struct store *tool_audio(struct mcp_call *call, struct tools_ctx *ctx);

/* The MIME type of an audio name by extension (audio/mpeg, audio/wav,
 * audio/flac, audio/ogg, audio/mp4, video/mp4, video/mpeg, audio/webm), else
 * application/octet-stream. Static. */
const char *tool_audio_mime(const char *name);

/* Checks a relative audio path (store_check_path) and its extension against
 * exts (label for the message). 0, or fails the call and returns the code. */
int tool_audio_check_input(struct mcp_call *call, const char *name, const char *const *exts,
                           const char *label);

/* The last component of a relative path (borrowed from name). */
const char *tool_audio_basename(const char *name);

/* "<basename of name without its last extension><suffix>" into out, e.g.
 * ("talks/a.wav", "", ".mp3") -> "a.mp3", ("a.b.wav", "compressed_", ".mp3")
 * -> "compressed_a.b.mp3". 0, or -1 when it does not fit in a name. */
int tool_audio_derive_name(const char *name, const char *prefix, const char *suffix, char *out,
                           size_t outlen);

/* The original's FileInfo: {file_name, transcription_support, chat_support,
 * modified_time, size_bytes, format, duration_seconds} in that order;
 * duration < 0 gives null. A new reference. */
json_t *tool_audio_file_info(const char *name, uint64_t size, double mtime, double duration);

/* A store_check_fn: the first bytes must be the container arg names
 * ((void *)(intptr_t) an enum audio_container); any thread. */
int tool_audio_check_content(const void *head, size_t len, char *msg, size_t msglen, void *arg);
#define TOOL_AUDIO_EXPECT(container) ((void *)(intptr_t)(container))

/* ---- an input, a writer, and a pool job between them --------------------- */

struct audio_xfer;

/* Runs once both are open: the input fd and the writer's fd are valid; the
 * step starts its pool job and later calls audio_xfer_publish or
 * audio_xfer_fail. */
typedef void audio_xfer_step_fn(struct audio_xfer *x);
/* Builds the result once the file is published (name: the final name, size:
 * its bytes); must finish the call (mcp_call_finish) and nothing else. */
typedef void audio_xfer_done_fn(struct audio_xfer *x, const char *name, uint64_t size);

struct audio_xfer {
    struct mcp_call *call;
    struct tools_ctx *app;
    char in_name[STORE_PATH_MAX + 1];
    char out_name[STORE_PATH_MAX + 1];
    int write_flags;
    const char *in_what; /* "Audio file" */
    int in_fd;           /* owned; -1 when closed */
    struct store_stat in_st;
    struct store_writer *w;
    struct audio_job *job;
    enum audio_container expect; /* the output's container, checked before publishing */
    const char *out_mime;
    audio_xfer_step_fn *opened;  /* after the input opened: may finish or call
                                    audio_xfer_open_writer */
    audio_xfer_step_fn *writing; /* after the writer opened */
    audio_xfer_done_fn *done;
    void *data; /* the tool's own, malloc'd: freed with x (free()) */
    /* the job's outcome, for done */
    struct audio_result res;
    bool finished;
};

/* Allocates a transfer for call (zeroed, in_fd -1) and registers its cancel
 * handler. NULL after failing the call (out of memory). */
struct audio_xfer *audio_xfer_new(struct mcp_call *call, struct tools_ctx *app);

/* Opens x->in_name in the audio root, then calls x->opened (or fails the call
 * with the store's sentence). */
void audio_xfer_start(struct audio_xfer *x);

/* Opens the writer for x->out_name with x->write_flags, then calls
 * x->writing (or fails the call). */
void audio_xfer_open_writer(struct audio_xfer *x);

/* Records that the job wrote bytes through the writer's fd and publishes it
 * (checked against x->expect); x->done then builds the result, with a
 * resource link added here. */
void audio_xfer_publish(struct audio_xfer *x, uint64_t bytes);

/* Fails the call with a sentence, discarding the writer and closing the
 * input; frees x. */
void audio_xfer_fail(struct audio_xfer *x, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Frees x when the call is already finished (the overwrite question's
 * TOOL_WRITE_DONE): touches neither the call nor any writer (none is open yet). */
void audio_xfer_drop(struct audio_xfer *x);

/* Finishes the call with result (stolen) and frees x (for steps that end
 * without writing, e.g. a file already small enough). */
void audio_xfer_finish(struct audio_xfer *x, json_t *result);

#endif
