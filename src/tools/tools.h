/* The tool layer: thin adapters from MCP calls to the store, the OpenAI client,
 * the video layer and imaging. Each tool group registers its table rows here; every row's data
 * pointer is the shared tools_ctx. */
#ifndef SZ_TOOLS_H
#define SZ_TOOLS_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

struct mcp_server;
struct store;
struct oai_client;
struct sz_pool;
struct video_svc;
struct watch_hub;

/* What the tools are told by whoever starts them (the app, from the
 * environment). Strings are borrowed and must outlive the tools. */
struct tools_options {
    const char *image_model;      /* the image model of generate_image, edit_image, create_image */
    const char *responses_model;  /* create_image's mainline model when none is given */
    const char *transcribe_model; /* the transcribe tools' model when none is given */
    const char *speech_model;     /* create_audio's model when none is given */
    const char *audio_chat_model; /* chat_with_audio's model when none is given */
    int transcribe_concurrency;   /* windows of one long transcription uploaded at once */
    bool have_key;                /* an OpenAI API key is configured */
};

/* Everything a tool needs, owned by the app (or a test harness) and borrowed
 * by every call. */
struct tools_ctx {
    uv_loop_t *loop;
    struct tools_options opts;
    struct store *videos;   /* the video root; NULL when it could not be opened */
    struct store *images;   /* the image root (reference images live here too); or NULL */
    struct store *audio;    /* the audio root (relative paths into subdirectories); or NULL */
    char videos_error[512]; /* why videos is NULL, for the tools to say */
    char images_error[512];
    char audio_error[512];
    struct oai_client *oai;  /* NULL-safe: tools report OPENAI_API_KEY is not set */
    struct video_svc *video; /* the video providers (video/video.h); NULL: unavailable */
    struct sz_pool *imaging;
    struct sz_pool *audio_jobs; /* libav jobs and the audio tools' other pool work */
    struct watch_hub *watches;  /* upstream jobs being polled (watch.h); NULL when none */
    /* The first interval of every watch in ms (0: each kind's own, docs/tasks.md);
     * the largest is four times it. */
    uint64_t poll_ms;
};

/* Each returns 0 or a negative error after logging why. */
int tools_register_video(struct mcp_server *server, struct tools_ctx *ctx);
int tools_register_image(struct mcp_server *server, struct tools_ctx *ctx);      /* Responses API */
int tools_register_images_api(struct mcp_server *server, struct tools_ctx *ctx); /* Images API */
int tools_register_reference(struct mcp_server *server, struct tools_ctx *ctx);
int tools_register_local(struct mcp_server *server, struct tools_ctx *ctx); /* the list tools */
/* list_audio_files, get_latest_audio, convert_audio, compress_audio */
int tools_register_audio_files(struct mcp_server *server, struct tools_ctx *ctx);
/* transcribe_audio, transcribe_with_enhancement */
int tools_register_audio_transcribe(struct mcp_server *server, struct tools_ctx *ctx);
int tools_register_audio_chat(struct mcp_server *server,
                              struct tools_ctx *ctx); /* chat_with_audio */
int tools_register_audio_speech(struct mcp_server *server,
                                struct tools_ctx *ctx); /* create_audio */
int tools_register_resources(struct mcp_server *server, struct tools_ctx *ctx);

/* Registers everything above, in the order tools/list shows them. */
int tools_register_all(struct mcp_server *server, struct tools_ctx *ctx);

#endif
