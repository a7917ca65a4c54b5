/* The video layer: one workflow (create, status, download, list, delete, remix) over
 * every video provider, so the video tools never know which vendor serves them.
 *
 * A video_svc holds the configured providers (openai, azure, gemini; see
 * provider.h for what each one is) and the ledger of the jobs this server created
 * (state/ledger.h). It decides who serves a call:
 *   - create_video: by model: gemini-* -> gemini; sora-* -> azure or openai (the
 *     default provider when it is one of them, else the configured one, openai
 *     first); any other model -> the default provider;
 *   - a call on an id: the provider the ledger recorded for it; an id the ledger
 *     does not know goes by its shape (Gemini's interaction ids start "v1_" and go
 *     to gemini; "video_" ids, made by OpenAI before the ledger existed, go to
 *     openai, or to azure when only Azure is configured), else to the default
 *     provider;
 *     so an id one provider made is never sent to another, and ids made before the
 *     ledger existed keep going to OpenAI;
 *   - list_videos: the default provider.
 * The default provider is the configured one (SANZARU_VIDEO_PROVIDER), else the
 * provider of the configured default model, else the first with credentials in the
 * order gemini, azure, openai (OpenAI's own Videos API is retired), else openai.
 *
 * Every operation maps the provider's objects onto the Video object of TOOLS.md
 * (id, object, model, status, progress, created_at, completed_at, expires_at,
 * prompt, size, seconds, remixed_from_video_id, error) and reports once, on the
 * loop, through a video_result_fn, never inside the call that started it. A
 * started operation is a video_job the caller may cancel (it still reports, with
 * SZ_ECANCELLED) and, for downloads, resume.
 *
 * Thread: the loop thread; CPU work (base64 of images and videos, parsing
 * responses of megabytes) runs on the pool given in the options. */
#ifndef SZ_VIDEO_H
#define SZ_VIDEO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <uv.h>

struct video_svc;
struct video_job;
struct oai_client;
struct gem_client;
struct state;
struct sz_pool;

enum video_provider_id {
    VIDEO_OPENAI = 0,
    VIDEO_AZURE,
    VIDEO_GEMINI,
    VIDEO_PROVIDER_COUNT,
};

/* Longest id and model name accepted. */
#define VIDEO_ID_MAX    128
#define VIDEO_MODEL_MAX 128

/* Room for a refusal sentence, terminator included. */
#define VIDEO_MSG_MAX 512

/* "openai", "azure", "gemini". Static. */
const char *video_provider_name(enum video_provider_id id);

/* Parses a provider name (exact, lower case). 0 and *pid, or SZ_EINVAL. */
int video_provider_parse(const char *name, enum video_provider_id *pid);

/* The model a provider uses when none is named: sora-2 (openai, azure),
 * gemini-omni-1.1-flash (gemini). Static. */
const char *video_provider_default_model(enum video_provider_id id);

/* What the service is built from; everything borrowed, to outlive the service. */
struct video_options {
    uv_loop_t *loop;
    struct sz_pool *pool;      /* base64 and large JSON, off the loop */
    struct state *state;       /* the ledger's database, with ledger_attach done; or NULL */
    struct oai_client *openai; /* NULL when not configured */
    struct oai_client *azure;  /* Azure OpenAI (OAI_AZURE), or NULL */
    struct gem_client *gemini; /* or NULL */
    int default_provider;      /* an enum video_provider_id, or -1 to choose as above */
    const char *default_model; /* SANZARU_VIDEO_MODEL, or NULL for the provider's default */
};

/* Creates the service (one libuv handle: close it with video_svc_close). 0 and
 * *psvc, SZ_EINVAL or SZ_ENOMEM. */
int video_svc_new(const struct video_options *opts, struct video_svc **psvc);

/* Closes the service once every job has reported (jobs still running are the
 * caller's to cancel first); cb (may be NULL) runs after it is freed. The loop must
 * run until then. NULL is a no-op. */
void video_svc_close(struct video_svc *svc, void (*cb)(void *arg), void *arg);

/* Whether a provider has credentials; the default provider and model. */
bool video_provider_configured(const struct video_svc *svc, enum video_provider_id id);
enum video_provider_id video_default_provider(const struct video_svc *svc);
const char *video_default_model(const struct video_svc *svc);

/* The lengths create_video offers (its seconds enum): Sora's "4", "8" and "12" (the
 * original's, so the enum only ever grows), and every length a known model of a
 * configured provider makes, ascending by value. Fills out with at most n - 1
 * pointers to static strings and a NULL (n >= 1); returns how many. */
size_t video_seconds_offered(const struct video_svc *svc, const char **out, size_t n);

/* 1 if id can be an id of any provider: ^[A-Za-z0-9_-]{1,128}$ (safe in a URL path). */
int video_check_id(const char *id);

/* ---- operations ------------------------------------------------------------------ */

/* Called once per started operation, on the loop. err 0: result is the Video object
 * (create, remix, retrieve), {id, object, deleted} (delete), a page {data: [Video
 * objects], has_more, last_id} (list) or NULL (a finished download); the callback
 * owns it. Otherwise msg is one sentence for the user (borrowed), or NULL when the
 * failure came from the caller's own sink (which knows why). The job is freed after
 * the callback returns. */
typedef void video_result_fn(void *data, int err, const char *msg, json_t *result);

/* What create_video will do, settled before any file is read or request is sent. */
struct video_plan {
    enum video_provider_id provider;
    char model[VIDEO_MODEL_MAX + 1];
    char size[16];   /* "1280x720", or "" for the provider's default */
    char seconds[8]; /* "8", or "" */
};

/* Chooses the provider and model for a create (model, size and seconds may be NULL)
 * and checks that it can be done: the provider has credentials, and the model takes
 * that size and length (a refusal names what it can do). 0 and *plan, or SZ_ENOKEY /
 * SZ_EINVAL with a sentence in msg (msglen >= VIDEO_MSG_MAX). Pure but for the
 * service's configuration. */
int video_plan_create(const struct video_svc *svc, const char *model, const char *size,
                      const char *seconds, struct video_plan *plan, char *msg, size_t msglen);

/* A reference image for create. The service takes ownership of bytes (malloc'd) as
 * soon as video_create is called, whatever it returns. */
struct video_image {
    const char *name; /* the file's name, for the upload (copied) */
    const char *mime; /* image/png, image/jpeg or image/webp (static) */
    void *bytes;
    size_t len;
};

/* Starts a create from a plan. prompt is copied. 0 (cb will run; *pjob is the job
 * until then), SZ_EINVAL or SZ_ENOMEM (cb will not run). */
int video_create(struct video_svc *svc, const struct video_plan *plan, const char *prompt,
                 struct video_image *ref, video_result_fn *cb, void *data, struct video_job **pjob);

/* get_video_status, delete_video, remix_video on an id (checked with video_check_id
 * by the caller; copied). Same results as video_create. */
int video_retrieve(struct video_svc *svc, const char *id, video_result_fn *cb, void *data,
                   struct video_job **pjob);
int video_delete(struct video_svc *svc, const char *id, video_result_fn *cb, void *data,
                 struct video_job **pjob);
int video_remix(struct video_svc *svc, const char *id, const char *prompt, video_result_fn *cb,
                void *data, struct video_job **pjob);

/* Asks the provider that made id to stop the job, for a client that cancelled its
 * task (docs/tasks.md): Gemini cancels the interaction (POST
 * /interactions/{id}/cancel); OpenAI's and Azure's Videos API have no cancel, so
 * there it fails with SZ_EUNSUPPORTED and a sentence, before any request. Reports
 * the Video object as the API left it. */
int video_stop(struct video_svc *svc, const char *id, video_result_fn *cb, void *data,
               struct video_job **pjob);

/* One page of the default provider's videos. after is copied. */
int video_list(struct video_svc *svc, size_t limit, const char *after, bool ascending,
               video_result_fn *cb, void *data, struct video_job **pjob);

/* Where a download's bytes go, with backpressure. */
#define VIDEO_SINK_PAUSE 1
struct video_sink {
    /* Once, before the first byte: the length (-1 when unknown) and the type the
     * provider declared (may be NULL). 0 to go on, a negative code to stop. */
    int (*on_start)(void *data, int64_t length, const char *content_type);
    /* Bytes in order (copy them to keep them). 0 for more, VIDEO_SINK_PAUSE to get
     * nothing until video_job_resume, a negative code to stop (the job then reports
     * that code with msg NULL). */
    int (*on_data)(void *data, const char *buf, size_t len);
    void *data;
};

/* Streams variant ("video", "thumbnail", "spritesheet"; static) of id into sink
 * (copied). A provider that has no such variant fails with a sentence naming what
 * it offers, before it sends a request. Reports with result NULL once the last byte
 * has been handed to the sink. */
int video_download(struct video_svc *svc, const char *id, const char *variant,
                   const struct video_sink *sink, video_result_fn *cb, void *data,
                   struct video_job **pjob);

/* Who served the job, as a user reads it: "OpenAI", "Azure OpenAI", "Gemini" (static);
 * "the video provider" before it was routed. Valid until the job has reported (and
 * inside its callback). */
const char *video_job_service_name(const struct video_job *job);

/* Stops a job in any state; it reports SZ_ECANCELLED later (never inside this
 * call). Invalid after its callback ran. */
void video_job_cancel(struct video_job *job);

/* A paused download's sink wants more. Safe at any time; the bytes come later, never
 * inside this call. */
void video_job_resume(struct video_job *job);

#endif
