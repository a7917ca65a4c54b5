/* The video service of video.h: which provider serves a call, the job's life around
 * the provider's operation (the ledger before and after it, reports on the loop's
 * next turn where a report would otherwise run inside a caller's call), the list
 * page of providers without a listing, and the memory gate of large responses. */
#include "fmacros.h"

#include "video/provider.h"

#include "core/err.h"
#include "core/log.h"
#include "gemini/client.h"
#include "net/client.h"
#include "openai/client.h"
#include "state/ledger.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Large responses (a video inline in its JSON) received, parsed and written at
 * once. Each holds its body (~11 MB for an 8 MB video) and then the decoded video
 * until the sink has it: two keep 32 concurrent downloads of such videos under
 * 96 MiB, and two cores are busy decoding anyway. */
#define GATE_SLOTS 2

struct video_svc {
    uv_loop_t *loop;
    struct sz_pool *pool;
    struct state *state;
    struct oai_client *oai[2]; /* VIDEO_OPENAI, VIDEO_AZURE */
    struct gem_client *gemini;
    enum video_provider_id def;
    const char *default_model; /* borrowed, or NULL */
    uv_idle_t idle;            /* runs the later and deferred lists */
    struct sz_link later;
    struct sz_link deferred;
    unsigned gate_used;
    struct sz_link gate_waiting;
    unsigned jobs;
    bool closing;
    void (*closed_cb)(void *arg);
    void *closed_arg;
};

static const struct video_provider *const providers[VIDEO_PROVIDER_COUNT] = {
    &video_openai_provider,
    &video_azure_provider,
    &video_gemini_provider,
};

static const char *const provider_names[VIDEO_PROVIDER_COUNT] = {"openai", "azure", "gemini"};

const char *video_provider_name(enum video_provider_id id)
{
    return (unsigned)id < VIDEO_PROVIDER_COUNT ? provider_names[id] : "unknown";
}

int video_provider_parse(const char *name, enum video_provider_id *pid)
{
    for (int i = 0; name != NULL && i < VIDEO_PROVIDER_COUNT; i++) {
        if (strcmp(name, provider_names[i]) == 0) {
            *pid = (enum video_provider_id)i;
            return 0;
        }
    }
    return SZ_EINVAL;
}

const char *video_provider_default_model(enum video_provider_id id)
{
    return id == VIDEO_GEMINI ? "gemini-omni-1.1-flash" : "sora-2";
}

int video_check_id(const char *id)
{
    /* Both vendors' ids are [A-Za-z0-9_-]; the two checks are one rule. */
    return gem_check_id(id) && oai_check_id(id);
}

bool video_provider_configured(const struct video_svc *svc, enum video_provider_id id)
{
    switch (id) {
    case VIDEO_OPENAI:
    case VIDEO_AZURE:
        return oai_client_has_key(svc->oai[id]) != 0;
    case VIDEO_GEMINI:
        return gem_client_has_key(svc->gemini) != 0;
    default:
        return false;
    }
}

enum video_provider_id video_default_provider(const struct video_svc *svc)
{
    return svc->def;
}

const char *video_default_model(const struct video_svc *svc)
{
    return svc->default_model != NULL ? svc->default_model : video_provider_default_model(svc->def);
}

size_t video_seconds_offered(const struct video_svc *svc, const char **out, size_t n)
{
    const char *const *lists[VIDEO_PROVIDER_COUNT + 1];
    size_t nlists = 0, k = 0;
    long last = 0;

    lists[nlists++] = video_openai_provider.seconds;
    for (int i = 0; i < VIDEO_PROVIDER_COUNT; i++)
        if (video_provider_configured(svc, (enum video_provider_id)i))
            lists[nlists++] = providers[i]->seconds;
    /* A merge: each round takes the smallest value above the last one taken, so
     * the lists' duplicates ("8" on every provider) appear once. */
    while (k + 1 < n) {
        const char *next = NULL;
        long best = 0;
        for (size_t l = 0; l < nlists; l++) {
            for (size_t i = 0; lists[l] != NULL && lists[l][i] != NULL; i++) {
                long v = strtol(lists[l][i], NULL, 10);
                if (v > last && (next == NULL || v < best)) {
                    next = lists[l][i];
                    best = v;
                }
            }
        }
        if (next == NULL)
            break;
        out[k++] = next;
        last = best;
    }
    out[k] = NULL;
    return k;
}

struct oai_client *video_svc_openai(const struct video_svc *svc, enum video_provider_id id)
{
    return id == VIDEO_AZURE ? svc->oai[1] : svc->oai[0];
}

struct gem_client *video_svc_gemini(const struct video_svc *svc)
{
    return svc->gemini;
}

struct sz_pool *video_svc_pool(const struct video_svc *svc)
{
    return svc->pool;
}

/* ---- who serves what --------------------------------------------------------------- */

static bool starts_with(const char *s, const char *prefix)
{
    return s != NULL && strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Sora on OpenAI's API: the default provider when it is one of the two, else Azure
 * when it is configured (OpenAI's own Videos API is retired), else OpenAI. */
static enum video_provider_id openai_family(const struct video_svc *svc)
{
    if (svc->def == VIDEO_OPENAI || svc->def == VIDEO_AZURE)
        return svc->def;
    if (video_provider_configured(svc, VIDEO_AZURE))
        return VIDEO_AZURE;
    return VIDEO_OPENAI;
}

static enum video_provider_id provider_for_model(const struct video_svc *svc, const char *model)
{
    if (starts_with(model, "gemini-"))
        return VIDEO_GEMINI;
    if (starts_with(model, "sora-"))
        return openai_family(svc);
    return svc->def;
}

/* An id the ledger does not know. "video_" ids made before the ledger existed are
 * OpenAI's (the only provider then), so they go to OpenAI when it is configured; Azure
 * ids are in the ledger from their create on. */
static enum video_provider_id provider_for_id(const struct video_svc *svc, const char *id)
{
    if (starts_with(id, "v1_"))
        return VIDEO_GEMINI;
    if (starts_with(id, "video_"))
        return video_provider_configured(svc, VIDEO_OPENAI) ||
                       !video_provider_configured(svc, VIDEO_AZURE)
                   ? VIDEO_OPENAI
                   : VIDEO_AZURE;
    return svc->def;
}

static enum video_provider_id choose_default(const struct video_svc *svc,
                                             const struct video_options *o)
{
    static const enum video_provider_id order[] = {VIDEO_GEMINI, VIDEO_AZURE, VIDEO_OPENAI};

    if (o->default_provider >= 0 && o->default_provider < VIDEO_PROVIDER_COUNT)
        return (enum video_provider_id)o->default_provider;
    if (starts_with(o->default_model, "gemini-"))
        return VIDEO_GEMINI;
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
        if (starts_with(o->default_model, "sora-") && order[i] == VIDEO_GEMINI)
            continue;
        if (video_provider_configured(svc, order[i]))
            return order[i];
    }
    return VIDEO_OPENAI;
}

/* Why provider id cannot be used: the variable to set, and what else would work when
 * nothing is configured at all. */
static void no_key_message(const struct video_svc *svc, enum video_provider_id id,
                           const char *model, char *msg, size_t msglen)
{
    bool any = false;

    for (int i = 0; i < VIDEO_PROVIDER_COUNT; i++)
        any = any || video_provider_configured(svc, (enum video_provider_id)i);
    if (!any) {
        snprintf(msg, msglen,
                 "No video provider is configured: set GEMINI_API_KEY for Google's Gemini Omni, "
                 "AZURE_OPENAI_ENDPOINT and AZURE_OPENAI_API_KEY for Sora on Azure OpenAI, or "
                 "OPENAI_API_KEY (with OPENAI_BASE_URL at a gateway that still serves "
                 "/v1/videos); see docs/providers.md");
        return;
    }
    switch (id) {
    case VIDEO_GEMINI:
        if (model != NULL)
            snprintf(msg, msglen,
                     "GEMINI_API_KEY is not set: the model %s runs on Google's Gemini API (set "
                     "GEMINI_API_KEY or GOOGLE_API_KEY)",
                     model);
        else
            snprintf(msg, msglen,
                     "GEMINI_API_KEY is not set: this video is on Google's Gemini API (set "
                     "GEMINI_API_KEY or GOOGLE_API_KEY)");
        break;
    case VIDEO_AZURE:
        snprintf(msg, msglen, "%s",
                 svc->oai[1] != NULL ? "AZURE_OPENAI_API_KEY is not set"
                                     : "Azure OpenAI is not configured: set "
                                       "AZURE_OPENAI_ENDPOINT and AZURE_OPENAI_API_KEY");
        break;
    default:
        snprintf(msg, msglen, "OPENAI_API_KEY is not set");
        break;
    }
}

int video_plan_create(const struct video_svc *svc, const char *model, const char *size,
                      const char *seconds, struct video_plan *plan, char *msg, size_t msglen)
{
    const struct video_provider *prov;

    memset(plan, 0, sizeof(*plan));
    if (model == NULL)
        model = video_default_model(svc);
    if (strlen(model) > VIDEO_MODEL_MAX) {
        snprintf(msg, msglen, "Invalid model: longer than %d characters", VIDEO_MODEL_MAX);
        return SZ_EINVAL;
    }
    plan->provider = provider_for_model(svc, model);
    snprintf(plan->model, sizeof(plan->model), "%s", model);
    snprintf(plan->size, sizeof(plan->size), "%s", size != NULL ? size : "");
    snprintf(plan->seconds, sizeof(plan->seconds), "%s", seconds != NULL ? seconds : "");
    if (!video_provider_configured(svc, plan->provider)) {
        no_key_message(svc, plan->provider, model, msg, msglen);
        return SZ_ENOKEY;
    }
    prov = providers[plan->provider];
    return prov->check(plan->model, size, seconds, msg, msglen);
}

/* ---- the idle handle: later reports and deferred runs ------------------------------ */

static void svc_closed(uv_handle_t *h)
{
    struct video_svc *svc = h->data;
    void (*cb)(void *) = svc->closed_cb;
    void *arg = svc->closed_arg;

    free(svc);
    if (cb != NULL)
        cb(arg);
}

static void free_job(struct video_job *job)
{
    struct video_svc *svc = job->svc;

    if (job->prov != NULL && job->prov->release != NULL)
        job->prov->release(job);
    free(job->prompt);
    free(job->ref.bytes);
    free(job->ref_name);
    free(job->after);
    free(job->later_msg);
    json_decref(job->known);
    json_decref(job->later_result);
    free(job);
    svc->jobs--;
    if (svc->closing && svc->jobs == 0 && !uv_is_closing((uv_handle_t *)&svc->idle))
        uv_close((uv_handle_t *)&svc->idle, svc_closed);
}

static void on_idle(uv_idle_t *idle)
{
    struct video_svc *svc = idle->data;
    struct sz_link later, deferred, *pos, *tmp;

    sz_list_init(&later);
    sz_list_init(&deferred);
    sz_list_splice_back(&later, &svc->later);
    sz_list_splice_back(&deferred, &svc->deferred);
    SZ_LIST_FOREACH_SAFE(pos, tmp, &deferred)
    {
        struct video_job *job = container_of(pos, struct video_job, defer);
        void (*fn)(struct video_job *) = job->defer_fn;
        sz_list_remove(pos);
        job->defer_fn = NULL;
        fn(job);
    }
    SZ_LIST_FOREACH_SAFE(pos, tmp, &later)
    {
        struct video_job *job = container_of(pos, struct video_job, later);
        json_t *result = job->later_result;
        sz_list_remove(pos);
        job->later_result = NULL;
        job->reported = false;
        video_job_finish(job, job->later_err, job->later_msg, result);
    }
    if (sz_list_empty(&svc->later) && sz_list_empty(&svc->deferred))
        uv_idle_stop(&svc->idle);
}

static void wake_idle(struct video_svc *svc)
{
    if (!uv_is_active((uv_handle_t *)&svc->idle))
        uv_idle_start(&svc->idle, on_idle);
}

void video_job_defer(struct video_job *job, void (*fn)(struct video_job *job))
{
    job->defer_fn = fn;
    if (sz_list_empty(&job->defer))
        sz_list_push_back(&job->svc->deferred, &job->defer);
    wake_idle(job->svc);
}

void video_job_undefer(struct video_job *job)
{
    sz_list_remove(&job->defer);
    job->defer_fn = NULL;
}

void video_job_finish_later(struct video_job *job, int err, const char *msg, json_t *result)
{
    if (job->reported) {
        json_decref(result);
        return;
    }
    job->reported = true;
    video_job_undefer(job);
    video_gate_release(job);
    job->later_err = err;
    free(job->later_msg);
    job->later_msg = msg != NULL ? strdup(msg) : NULL;
    json_decref(job->later_result);
    job->later_result = result;
    sz_list_push_back(&job->svc->later, &job->later);
    wake_idle(job->svc);
}

/* ---- the memory gate --------------------------------------------------------------- */

bool video_gate_acquire(struct video_job *job, void (*wake)(struct video_job *job))
{
    struct video_svc *svc = job->svc;

    if (job->gate_held)
        return true;
    if (svc->gate_used < GATE_SLOTS && sz_list_empty(&svc->gate_waiting)) {
        svc->gate_used++;
        job->gate_held = true;
        return true;
    }
    job->gate_wake = wake;
    if (sz_list_empty(&job->gate))
        sz_list_push_back(&svc->gate_waiting, &job->gate);
    return false;
}

void video_gate_release(struct video_job *job)
{
    struct video_svc *svc = job->svc;
    struct sz_link *first;
    struct video_job *next;

    sz_list_remove(&job->gate);
    if (!job->gate_held)
        return;
    job->gate_held = false;
    svc->gate_used--;
    if ((first = sz_list_first(&svc->gate_waiting)) == NULL)
        return;
    next = container_of(first, struct video_job, gate);
    sz_list_remove(first);
    svc->gate_used++;
    next->gate_held = true;
    /* From the loop's next turn: the releaser may be inside a caller's call. */
    video_job_defer(next, next->gate_wake);
}

/* ---- the job's end ----------------------------------------------------------------- */

int video_job_start(struct video_job *job, struct net_req *req, const char *label,
                    net_done_fn *done)
{
    net_req_set_label(req, label);
    job->req = req;
    if (net_req_start(req, done, job) != 0) {
        job->req = NULL;
        net_req_free(req);
        return SZ_EINVAL;
    }
    return 0;
}

void video_job_finish(struct video_job *job, int err, const char *msg, json_t *result)
{
    struct video_svc *svc = job->svc;
    const char *name = job->prov != NULL ? video_provider_name(job->prov->id) : NULL;

    if (job->reported) { /* a second report is a provider's bug; the first one stands */
        json_decref(result);
        return;
    }
    job->reported = true;
    video_job_undefer(job);
    video_gate_release(job);
    if (err == SZ_ECANCELLED && msg == NULL)
        msg = "cancelled";
    if (err == 0 && svc->state != NULL && name != NULL) {
        /* Fire and forget: the jobs of the state database run in order, so a call
         * that follows this one sees the write; a failure is logged. */
        /* A status refreshes a job the ledger has; one made elsewhere is not added
         * (the ledger lists the jobs this server created). */
        if ((job->op == VIDEO_OP_CREATE || job->op == VIDEO_OP_REMIX ||
             (job->op == VIDEO_OP_RETRIEVE && job->prov->ledger_lists && job->known != NULL)) &&
            result != NULL)
            ledger_put(svc->state, name, result, NULL, NULL);
        else if (job->op == VIDEO_OP_DELETE)
            ledger_forget(svc->state, job->id, NULL, NULL);
    }
    job->cb(job->data, err, msg, result);
    free_job(job);
}

/* ---- starting -------------------------------------------------------------------- */

static struct video_job *new_job(struct video_svc *svc, enum video_op op, video_result_fn *cb,
                                 void *data)
{
    struct video_job *job;

    if (svc->closing || cb == NULL)
        return NULL;
    job = calloc(1, sizeof(*job));
    if (job == NULL)
        return NULL;
    job->svc = svc;
    job->op = op;
    job->cb = cb;
    job->data = data;
    sz_list_init(&job->later);
    sz_list_init(&job->defer);
    sz_list_init(&job->gate);
    svc->jobs++;
    return job;
}

static const char *start_failure(int rc)
{
    return rc == SZ_ENOMEM ? "Out of memory starting the request" : sz_strerror(rc);
}

/* Runs the job's operation on its provider (job->prov set); reports any failure. */
static void start_op(struct video_job *job)
{
    const struct video_provider *prov = job->prov;
    char msg[VIDEO_MSG_MAX];
    int (*fn)(struct video_job *) = NULL;
    int rc;

    if (job->cancelled) {
        video_job_finish(job, SZ_ECANCELLED, NULL, NULL);
        return;
    }
    if (!video_provider_configured(job->svc, prov->id)) {
        no_key_message(job->svc, prov->id, NULL, msg, sizeof(msg));
        video_job_finish(job, SZ_ENOKEY, msg, NULL);
        return;
    }
    switch (job->op) {
    case VIDEO_OP_RETRIEVE:
        fn = prov->retrieve;
        break;
    case VIDEO_OP_DELETE:
        fn = prov->remove;
        break;
    case VIDEO_OP_REMIX:
        fn = prov->remix;
        break;
    case VIDEO_OP_DOWNLOAD:
        fn = prov->download;
        break;
    case VIDEO_OP_LIST:
        fn = prov->list;
        break;
    case VIDEO_OP_CREATE:
        fn = prov->create;
        break;
    case VIDEO_OP_STOP:
        fn = prov->stop;
        if (fn == NULL) {
            snprintf(msg, sizeof(msg),
                     "%s cannot stop a video job once it started: %s runs to its end",
                     video_job_service_name(job), job->id);
            video_job_finish(job, SZ_EUNSUPPORTED, msg, NULL);
            return;
        }
        break;
    }
    if (job->op == VIDEO_OP_DOWNLOAD) {
        bool offered = false;
        for (size_t i = 0; prov->variants[i] != NULL; i++)
            offered = offered || strcmp(prov->variants[i], job->variant) == 0;
        if (!offered) {
            snprintf(msg, sizeof(msg),
                     "Video %s is on %s, which offers only %s: variant '%s' is not available "
                     "there",
                     job->id, video_provider_name(prov->id), prov->variants_text, job->variant);
            video_job_finish(job, SZ_EINVAL, msg, NULL);
            return;
        }
    }
    if (fn == NULL) {
        snprintf(msg, sizeof(msg), "The %s video provider cannot do that",
                 video_provider_name(prov->id));
        video_job_finish(job, SZ_EINVAL, msg, NULL);
        return;
    }
    if ((rc = fn(job)) != 0)
        video_job_finish(job, rc, start_failure(rc), NULL);
}

/* A remix keeps what the ledger knows of its source: the model, size and length. */
static void plan_remix(struct video_job *job)
{
    const char *model = json_string_value(json_object_get(job->known, "model"));
    const char *size = json_string_value(json_object_get(job->known, "size"));
    const char *seconds = json_string_value(json_object_get(job->known, "seconds"));

    job->plan.provider = job->prov->id;
    snprintf(job->plan.model, sizeof(job->plan.model), "%s",
             model != NULL && strlen(model) <= VIDEO_MODEL_MAX
                 ? model
                 : video_provider_default_model(job->prov->id));
    snprintf(job->plan.size, sizeof(job->plan.size), "%s", size != NULL ? size : "");
    snprintf(job->plan.seconds, sizeof(job->plan.seconds), "%s", seconds != NULL ? seconds : "");
}

static void routed(struct video_job *job)
{
    if (job->op == VIDEO_OP_REMIX)
        plan_remix(job);
    start_op(job);
}

static void found(void *data, int err, const char *msg, const char *provider, json_t *video)
{
    struct video_job *job = data;
    enum video_provider_id id;

    if (err != 0)
        SZ_DEBUG("ledger lookup of %s: %s", job->id, msg);
    job->known = video;
    if (provider != NULL && video_provider_parse(provider, &id) == 0)
        job->prov = providers[id];
    else
        job->prov = providers[provider_for_id(job->svc, job->id)];
    routed(job);
}

/* No ledger: route by the id's shape, from the loop's next turn. */
static void route_by_shape(struct video_job *job)
{
    job->prov = providers[provider_for_id(job->svc, job->id)];
    routed(job);
}

static int start_by_id(struct video_job *job, struct video_job **pjob)
{
    struct video_svc *svc = job->svc;

    if (svc->state == NULL || ledger_find(svc->state, job->id, found, job) != 0)
        video_job_defer(job, route_by_shape);
    *pjob = job;
    return 0;
}

static struct video_job *id_job(struct video_svc *svc, enum video_op op, const char *id,
                                video_result_fn *cb, void *data)
{
    struct video_job *job;

    if (id == NULL || strlen(id) > VIDEO_ID_MAX)
        return NULL;
    job = new_job(svc, op, cb, data);
    if (job != NULL)
        snprintf(job->id, sizeof(job->id), "%s", id);
    return job;
}

int video_retrieve(struct video_svc *svc, const char *id, video_result_fn *cb, void *data,
                   struct video_job **pjob)
{
    struct video_job *job = id_job(svc, VIDEO_OP_RETRIEVE, id, cb, data);

    *pjob = NULL;
    if (job == NULL)
        return SZ_ENOMEM;
    return start_by_id(job, pjob);
}

int video_delete(struct video_svc *svc, const char *id, video_result_fn *cb, void *data,
                 struct video_job **pjob)
{
    struct video_job *job = id_job(svc, VIDEO_OP_DELETE, id, cb, data);

    *pjob = NULL;
    if (job == NULL)
        return SZ_ENOMEM;
    return start_by_id(job, pjob);
}

int video_stop(struct video_svc *svc, const char *id, video_result_fn *cb, void *data,
               struct video_job **pjob)
{
    struct video_job *job = id_job(svc, VIDEO_OP_STOP, id, cb, data);

    *pjob = NULL;
    if (job == NULL)
        return SZ_ENOMEM;
    return start_by_id(job, pjob);
}

int video_remix(struct video_svc *svc, const char *id, const char *prompt, video_result_fn *cb,
                void *data, struct video_job **pjob)
{
    struct video_job *job = id_job(svc, VIDEO_OP_REMIX, id, cb, data);

    *pjob = NULL;
    if (job == NULL)
        return SZ_ENOMEM;
    if ((job->prompt = strdup(prompt)) == NULL) {
        free_job(job);
        return SZ_ENOMEM;
    }
    return start_by_id(job, pjob);
}

int video_download(struct video_svc *svc, const char *id, const char *variant,
                   const struct video_sink *sink, video_result_fn *cb, void *data,
                   struct video_job **pjob)
{
    struct video_job *job = id_job(svc, VIDEO_OP_DOWNLOAD, id, cb, data);

    *pjob = NULL;
    if (job == NULL)
        return SZ_ENOMEM;
    job->variant = variant;
    job->sink = *sink;
    return start_by_id(job, pjob);
}

int video_create(struct video_svc *svc, const struct video_plan *plan, const char *prompt,
                 struct video_image *ref, video_result_fn *cb, void *data, struct video_job **pjob)
{
    struct video_job *job = new_job(svc, VIDEO_OP_CREATE, cb, data);
    int rc;

    *pjob = NULL;
    if (job == NULL) {
        if (ref != NULL)
            free(ref->bytes);
        return SZ_ENOMEM;
    }
    job->plan = *plan;
    job->prov = providers[plan->provider];
    if (ref != NULL) {
        job->ref = *ref;
        ref->bytes = NULL;
        job->ref_name = strdup(ref->name != NULL ? ref->name : "reference");
        job->ref.name = job->ref_name;
    }
    job->prompt = strdup(prompt);
    if (job->prompt == NULL || (ref != NULL && job->ref_name == NULL)) {
        free_job(job);
        return SZ_ENOMEM;
    }
    if ((rc = job->prov->create(job)) != 0) {
        free_job(job);
        return rc;
    }
    *pjob = job;
    return 0;
}

/* ---- list ------------------------------------------------------------------------ */

static void listed(void *data, int err, const char *msg, json_t *videos, bool has_more)
{
    struct video_job *job = data;
    json_t *last, *page;

    if (job->cancelled) {
        json_decref(videos);
        video_job_finish(job, SZ_ECANCELLED, NULL, NULL);
        return;
    }
    if (err != 0) {
        video_job_finish(job, err, msg, NULL);
        return;
    }
    last = json_object_get(json_array_get(videos, json_array_size(videos) - 1), "id");
    page = json_pack("{s:s, s:o, s:b, s:O}", "object", "list", "data", videos, "has_more", has_more,
                     "last_id", json_is_string(last) ? last : json_null());
    if (page == NULL)
        video_job_finish(job, SZ_ENOMEM, "Out of memory listing videos", NULL);
    else
        video_job_finish(job, 0, NULL, page);
}

static void list_from_ledger(struct video_job *job)
{
    struct ledger_page page = {
        .provider = video_provider_name(job->prov->id),
        .limit = job->limit,
        .after = job->after,
        .ascending = job->ascending,
    };
    char msg[VIDEO_MSG_MAX];
    int rc;

    if (job->cancelled) {
        video_job_finish(job, SZ_ECANCELLED, NULL, NULL);
        return;
    }
    if (!video_provider_configured(job->svc, job->prov->id)) {
        no_key_message(job->svc, job->prov->id, NULL, msg, sizeof(msg));
        video_job_finish(job, SZ_ENOKEY, msg, NULL);
        return;
    }
    if (job->svc->state == NULL) {
        snprintf(msg, sizeof(msg),
                 "%s has no listing of videos and this server keeps no ledger of its jobs "
                 "(the state database is not available)",
                 video_provider_name(job->prov->id));
        video_job_finish(job, SZ_EIO, msg, NULL);
        return;
    }
    rc = ledger_list(job->svc->state, &page, listed, job);
    if (rc != 0)
        video_job_finish(job, rc, start_failure(rc), NULL);
}

int video_list(struct video_svc *svc, size_t limit, const char *after, bool ascending,
               video_result_fn *cb, void *data, struct video_job **pjob)
{
    struct video_job *job = new_job(svc, VIDEO_OP_LIST, cb, data);

    *pjob = NULL;
    if (job == NULL)
        return SZ_ENOMEM;
    job->prov = providers[svc->def];
    job->limit = limit;
    job->ascending = ascending;
    if (after != NULL && (job->after = strdup(after)) == NULL) {
        free_job(job);
        return SZ_ENOMEM;
    }
    video_job_defer(job, job->prov->ledger_lists ? list_from_ledger : start_op);
    *pjob = job;
    return 0;
}

/* ---- control --------------------------------------------------------------------- */

void video_job_cancel(struct video_job *job)
{
    if (job == NULL || job->cancelled || job->reported)
        return;
    job->cancelled = true;
    /* A provider stops what it runs (a provider's cancel is a no-op before its
     * operation started); a step of the service in progress (a ledger lookup, a
     * deferred start) sees the flag when it returns. */
    if (job->prov != NULL && job->prov->cancel != NULL)
        job->prov->cancel(job);
}

const char *video_job_service_name(const struct video_job *job)
{
    static const char *const names[VIDEO_PROVIDER_COUNT] = {"OpenAI", "Azure OpenAI", "Gemini"};
    return job->prov != NULL ? names[job->prov->id] : "the video provider";
}

void video_job_resume(struct video_job *job)
{
    if (job == NULL || job->reported)
        return;
    if (job->prov != NULL && job->prov->resume != NULL)
        job->prov->resume(job);
    else if (job->req != NULL)
        net_req_resume(job->req);
}

int video_svc_new(const struct video_options *o, struct video_svc **psvc)
{
    struct video_svc *svc;

    *psvc = NULL;
    if (o == NULL || o->loop == NULL || o->pool == NULL)
        return SZ_EINVAL;
    svc = calloc(1, sizeof(*svc));
    if (svc == NULL)
        return SZ_ENOMEM;
    svc->loop = o->loop;
    svc->pool = o->pool;
    svc->state = o->state;
    svc->oai[0] = o->openai;
    svc->oai[1] = o->azure;
    svc->gemini = o->gemini;
    svc->default_model = o->default_model;
    sz_list_init(&svc->later);
    sz_list_init(&svc->deferred);
    sz_list_init(&svc->gate_waiting);
    svc->def = choose_default(svc, o);
    uv_idle_init(o->loop, &svc->idle);
    svc->idle.data = svc;
    *psvc = svc;
    return 0;
}

void video_svc_close(struct video_svc *svc, void (*cb)(void *arg), void *arg)
{
    if (svc == NULL || svc->closing)
        return;
    svc->closing = true;
    svc->closed_cb = cb;
    svc->closed_arg = arg;
    svc->idle.data = svc;
    /* The handle's close callback frees the service; until then jobs may still report. */
    if (svc->jobs == 0)
        uv_close((uv_handle_t *)&svc->idle, svc_closed);
}
