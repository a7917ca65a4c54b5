/* The video provider interface: what the video layer asks of one vendor's API.
 *
 * A provider is a table of operations, each optional: create, retrieve, list,
 * delete, remix, download a variant into a streaming sink, and stop a job that
 * still runs. The service
 * (service.c) decides which provider serves a call (video.h), makes the job, does
 * what every provider shares (the ledger, the list page, the variant check,
 * deferred reports) and starts the provider's operation; the provider sends its
 * requests, maps what comes back onto the Video object and reports through
 * video_job_finish. Adapters: openai.c (OpenAI's Videos API, also at Azure), and
 * gemini.c (Google's Interactions API, with the pure mapping in gemini_map.c).
 *
 * An operation's start function returns 0 when it will report (later, never inside
 * the start function), or a negative code when it could not start (nothing will
 * report; the service says why). Its cancel function stops whatever runs; the job
 * still reports once, with SZ_ECANCELLED.
 *
 * Thread: the loop thread; jobs of the pool report back on it. */
#ifndef SZ_VIDEO_PROVIDER_H
#define SZ_VIDEO_PROVIDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/list.h"
#include "net/client.h"
#include "video/video.h"

struct net_req;
struct sz_pool_job;

enum video_op {
    VIDEO_OP_CREATE,
    VIDEO_OP_RETRIEVE,
    VIDEO_OP_LIST,
    VIDEO_OP_DELETE,
    VIDEO_OP_REMIX,
    VIDEO_OP_DOWNLOAD,
    VIDEO_OP_STOP,
};

/* One operation in flight. The service owns it; a provider keeps its own state in
 * the fields marked "provider" (and in priv) and releases it in release. */
struct video_job {
    struct video_svc *svc;
    const struct video_provider *prov;
    enum video_op op;
    video_result_fn *cb;
    void *data;
    bool cancelled;
    bool reported; /* the result went to the caller (or is scheduled to) */

    /* Inputs, copied */
    char id[VIDEO_ID_MAX + 1]; /* retrieve, delete, remix (the source), download */
    char *prompt;              /* create, remix */
    struct video_plan plan;    /* create; remix: the model (and size, seconds) to use */
    struct video_image ref;    /* create: the reference image (bytes owned), or zeroes */
    char *ref_name;
    const char *variant; /* download; static */
    struct video_sink sink;
    size_t limit; /* list */
    char *after;
    bool ascending;
    json_t *known; /* the ledger's Video object for id, or NULL */
    int sink_err;  /* the code the caller's sink stopped a download with, or 0 */

    /* A report waiting for the loop (video_job_finish_later) */
    struct sz_link later;
    int later_err;
    char *later_msg;
    json_t *later_result;

    /* Deferred runs and the memory gate (service.c) */
    struct sz_link defer;
    void (*defer_fn)(struct video_job *job);
    struct sz_link gate;
    void (*gate_wake)(struct video_job *job);
    bool gate_held;

    /* Provider */
    struct net_req *req;
    struct sz_pool_job *pool_job;
    void *priv;
};

struct video_provider {
    enum video_provider_id id;
    const char *const *variants; /* what download can fetch, NULL-terminated */
    const char *variants_text;   /* the same for a sentence: "video (MP4)" */
    /* Every length its known models make, whole seconds as strings, ascending,
     * NULL-terminated (create_video's seconds enum; check has the last word). */
    const char *const *seconds;
    /* Its list comes from the ledger (the API has none): list is NULL, and the
     * service keeps the ledger's objects current on every retrieve. */
    bool ledger_lists;
    /* Checks a create's model, size and seconds; 0, or SZ_EINVAL with a sentence
     * naming what the model can do. */
    int (*check)(const char *model, const char *size, const char *seconds, char *msg,
                 size_t msglen);
    int (*create)(struct video_job *job);
    int (*retrieve)(struct video_job *job);
    int (*list)(struct video_job *job);
    int (*remove)(struct video_job *job);
    int (*remix)(struct video_job *job);
    int (*download)(struct video_job *job);
    /* Asks the API to stop the upstream job id (a client cancelled its task);
     * reports the Video object as the API left it. NULL: the API cannot. */
    int (*stop)(struct video_job *job);
    void (*cancel)(struct video_job *job);
    void (*resume)(struct video_job *job); /* NULL: net_req_resume(job->req) */
    void (*release)(struct video_job *job);
};

extern const struct video_provider video_openai_provider;
extern const struct video_provider video_azure_provider;
extern const struct video_provider video_gemini_provider;

/* ---- for providers (service.c) ---------------------------------------------------- */

/* Reports the job's outcome (result stolen, msg copied) and frees it, after the
 * service's own bookkeeping (the ledger). Call it from a callback, never inside a
 * start function; a job reports once. */
void video_job_finish(struct video_job *job, int err, const char *msg, json_t *result);

/* The same, from the loop's next turn: for reports that would otherwise run inside
 * a call of the caller's (cancel, resume). */
void video_job_finish_later(struct video_job *job, int err, const char *msg, json_t *result);

/* Starts req (takes ownership) as the job's one request in flight (job->req, which
 * cancel reaches), labelled for the logs, with done(req, res, job) when it ends.
 * 0, or SZ_EINVAL when it could not start: req is then freed and job->req NULL. */
int video_job_start(struct video_job *job, struct net_req *req, const char *label,
                    net_done_fn *done);

/* The clients and the pool, for providers. */
struct oai_client *video_svc_openai(const struct video_svc *svc, enum video_provider_id id);
struct gem_client *video_svc_gemini(const struct video_svc *svc);
struct sz_pool *video_svc_pool(const struct video_svc *svc);

/* Runs fn(job) from the loop's next turn (used by providers to feed a sink outside
 * the caller's resume). One pending run per job; a second request is merged. */
void video_job_defer(struct video_job *job, void (*fn)(struct video_job *job));

/* Cancels a pending video_job_defer. */
void video_job_undefer(struct video_job *job);

/* The memory gate of large responses (a video inline in JSON): at most a few are
 * received, parsed and written at once. acquire returns true when the job holds a
 * slot, else queues it: wake(job) runs when a slot is its own. release gives the
 * slot back (or leaves the queue). */
bool video_gate_acquire(struct video_job *job, void (*wake)(struct video_job *job));
void video_gate_release(struct video_job *job);

#endif
