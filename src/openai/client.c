/* The OpenAI client's engine: curl multi on the libuv loop (see client.h).
 *
 * curl tells us which sockets to watch (socket callback -> one uv_poll each) and when
 * to wake it (timer callback -> one uv_timer); whenever either fires we call
 * curl_multi_socket_action and then drain curl_multi_info_read, where finished
 * transfers show up (also after a timer fire: that is how timeouts end).
 *
 * A request moves NEW -> QUEUED -> ACTIVE -> (WAIT_RETRY -> QUEUED -> ACTIVE)* ->
 * FINISHED. Each request owns one uv_timer that serves, by state, as the stall clock
 * (ACTIVE), the retry sleep (WAIT_RETRY), a wake-up for work that could not be done
 * inside a curl callback (ACTIVE: cancel or resume; QUEUED: start), and the deferral of
 * the done callback (FINISHED). The request is freed in that timer's close callback.
 *
 * Nothing that calls into curl's multi API may run inside a curl callback; `in_curl`
 * counts how deep we are in curl, and work asked for while it is nonzero is deferred
 * to the request's timer or to the client's defer timer. */
#include "fmacros.h"

#include "openai/client.h"
#include "app/config.h"
#include "core/err.h"
#include "core/log.h"

#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#ifndef SZ_VERSION
#define SZ_VERSION "0"
#endif

#define DEFAULT_MAX_BODY ((size_t)64 * 1024 * 1024)
#define ERROR_BODY_MAX   ((size_t)64 * 1024) /* kept of a non-2xx body; the rest dropped */
#define MAX_HEADERS      128
#define MAX_HEADER_BYTES ((size_t)64 * 1024)
#define MAX_REDIRECTS    5L
#define MESSAGE_LEN      1024
#define SINK_BUFFER_SIZE (128L * 1024) /* bigger chunks: fewer callbacks and pauses */
/* Bytes one sink transfer may take per loop iteration. curl's read loop keeps
 * reading a readable socket while the sink accepts, so on loopback one socket
 * event could feed megabytes (and their hashing and copying) to the loop before
 * it looks at stdin again: a ping waited hundreds of ms behind 32 downloads.
 * Past this budget the transfer pauses itself; a uv_idle handle counts the
 * iterations and resumes it on the next one, after the loop has polled every
 * fd (an active idle handle also keeps that poll from blocking). A 0 ms timer
 * alone would not do: in libuv 1.44 a timer started from a timer callback
 * runs again in the same pass, so the iteration would never end. */
#define SINK_TURN_BUDGET (64u * 1024u)

/* ------------------------------------------------------------------------------------
 * Intrusive doubly linked lists */

struct link {
    struct link *prev, *next;
};

static void list_init(struct link *head)
{
    head->prev = head->next = head;
}

static bool list_empty(const struct link *head)
{
    return head->next == head;
}

static void list_insert_after(struct link *pos, struct link *l)
{
    l->prev = pos;
    l->next = pos->next;
    pos->next->prev = l;
    pos->next = l;
}

static void list_push_back(struct link *head, struct link *l)
{
    list_insert_after(head->prev, l);
}

static void list_push_front(struct link *head, struct link *l)
{
    list_insert_after(head, l);
}

static void list_remove(struct link *l)
{
    l->prev->next = l->next;
    l->next->prev = l->prev;
    l->prev = l->next = l;
}

#define container_of(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

/* ------------------------------------------------------------------------------------
 * Types */

enum req_state { ST_NEW, ST_QUEUED, ST_ACTIVE, ST_WAIT_RETRY, ST_FINISHED };

struct part {
    struct part *next;
    char *name;
    char *filename;  /* file parts only */
    char *mime_type; /* file parts only */
    char *bytes;     /* field: NUL-terminated copy; file: owned buffer */
    size_t len;
    bool is_file;
};

struct header {
    char *name; /* "name\0value" in one allocation */
    const char *value;
};

struct buf {
    char *data;
    size_t len, cap;
};

struct sock_ctx {
    uv_poll_t poll;
    curl_socket_t fd;
    struct oai_client *client;
    struct link link;
};

struct oai_client {
    uv_loop_t *loop;
    CURLM *multi;
    uv_timer_t curl_timer;  /* curl's single timeout */
    uv_timer_t defer_timer; /* client-level work deferred out of curl callbacks */
    uv_idle_t turn_idle;    /* starts a loop iteration: resumes budget-paused sinks */
    uint64_t turn;          /* loop iterations counted by turn_idle while it runs */

    char *base_url;
    char *origin; /* scheme://host[:port] for messages */
    char *api_key;
    struct curl_slist *auth_headers; /* Authorization, OpenAI-Organization, -Project, UA */
    int max_retries;
    unsigned max_concurrency;
    bool tls; /* base_url is https */
    long connect_timeout_ms, request_timeout_ms, stall_timeout_ms;

    struct link queue;   /* ST_QUEUED, FIFO */
    struct link active;  /* ST_ACTIVE */
    struct link waiting; /* ST_WAIT_RETRY */
    struct link sockets; /* struct sock_ctx */
    unsigned n_finished;
    unsigned live_reqs; /* started requests not yet freed */
    unsigned open_handles;
    int in_curl;

    bool closing, torn_down, freed;
    oai_close_fn *close_cb;
    void *close_data;

    oai_random_fn *rand_fn;
    void *rand_data;
    uint64_t rng;

    struct oai_stats stats;
};

struct oai_req {
    struct oai_client *client;
    struct link link;
    enum req_state state;
    uv_timer_t timer;

    /* description */
    char *method;
    char *url;
    bool has_query;
    char *label;
    struct curl_slist *user_headers;
    char *json_body;
    size_t json_len;
    bool has_json;
    struct part *parts, **parts_tail;
    bool has_sink;
    struct oai_sink sink;
    size_t max_body;
    bool raw;
    long request_timeout_ms, stall_timeout_ms; /* -1: client default */
    int max_retries;                           /* -1: client default */
    oai_done_fn *done;
    void *done_data;

    /* request-wide progress */
    int retries;
    bool cancelled;
    bool sink_started;          /* the sink saw on_headers: no more retries */
    uint64_t received;          /* body bytes given to the sink */
    struct curl_slist *headers; /* everything sent, built at start */

    /* current attempt */
    CURL *easy;
    curl_mime *mime;
    char errbuf[CURL_ERROR_SIZE];
    long status;        /* status of the header block being read */
    bool final_headers; /* the final response's headers are complete */
    bool sink_mode;     /* body bytes go to the sink */
    bool rx_started;    /* a response byte arrived (starts the stall clock) */
    bool paused;
    bool in_on_data;
    bool resume_pending;
    bool cancel_pending; /* cancelled inside a curl callback: remove at next wake-up */
    bool stalled;
    bool resumed_in_cb;
    int abort_err;      /* set by a callback that made curl abort the transfer */
    size_t skip;        /* bytes curl will redeliver after a pause that the sink already has */
    uint64_t turn;      /* the loop iteration that turn_bytes counts */
    size_t turn_bytes;  /* bytes given to the sink in that iteration */
    bool budget_paused; /* paused by SINK_TURN_BUDGET; turn_idle_cb resumes it */
    uint64_t last_rx;
    struct header *hdrs;
    size_t n_hdrs, hdr_bytes;
    struct buf body;
    bool body_truncated;

    /* outcome */
    struct oai_result res;
    json_t *json;
    char message[MESSAGE_LEN];
    char api_code[64];
};

static void attempt_done(struct oai_req *req, CURLcode code);
static void req_timer_cb(uv_timer_t *t);
static void turn_idle_cb(uv_idle_t *idle);
static void pump(struct oai_client *c);
static void maybe_free_client(struct oai_client *c);
static void schedule_defer(struct oai_client *c);

/* ------------------------------------------------------------------------------------
 * Small helpers */

static char *xstrdup(const char *s)
{
    return s != NULL ? strdup(s) : NULL;
}

static double default_random(struct oai_client *c)
{
    /* xorshift64*: jitter needs no cryptographic quality */
    uint64_t x = c->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    c->rng = x;
    return (double)((x * 0x2545F4914F6CDD1DULL) >> 11) * (1.0 / 9007199254740992.0);
}

static double next_random(struct oai_client *c)
{
    double r = c->rand_fn != NULL ? c->rand_fn(c->rand_data) : default_random(c);
    if (!(r >= 0.0))
        r = 0.0;
    if (r >= 1.0)
        r = 0.999999999;
    return r;
}

static int buf_append(struct buf *b, const char *data, size_t len)
{
    if (b->len + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        char *p;
        while (cap < b->len + len + 1)
            cap *= 2;
        p = realloc(b->data, cap);
        if (p == NULL)
            return SZ_ENOMEM;
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return 0;
}

static void buf_reset(struct buf *b)
{
    free(b->data);
    memset(b, 0, sizeof(*b));
}

static void headers_clear(struct oai_req *req)
{
    for (size_t i = 0; i < req->n_hdrs; i++)
        free(req->hdrs[i].name);
    free(req->hdrs);
    req->hdrs = NULL;
    req->n_hdrs = 0;
    req->hdr_bytes = 0;
}

static const char *req_name(const struct oai_req *req)
{
    return req->label != NULL ? req->label : "openai";
}

/* The part of the URL after the origin, for log lines. */
static const char *req_path(const struct oai_req *req)
{
    return req->url + strlen(req->client->base_url);
}

/* ------------------------------------------------------------------------------------
 * Completion */

static void free_req_memory(struct oai_req *req)
{
    struct part *p = req->parts;
    while (p != NULL) {
        struct part *next = p->next;
        free(p->name);
        free(p->filename);
        free(p->mime_type);
        free(p->bytes);
        free(p);
        p = next;
    }
    curl_slist_free_all(req->user_headers);
    curl_slist_free_all(req->headers);
    headers_clear(req);
    buf_reset(&req->body);
    json_decref(req->json);
    free(req->json_body);
    free(req->method);
    free(req->url);
    free(req->label);
    free(req);
}

static void req_timer_closed(uv_handle_t *h)
{
    struct oai_req *req = h->data;
    struct oai_client *c = req->client;

    free_req_memory(req);
    c->live_reqs--;
    maybe_free_client(c);
}

/* Records the outcome and schedules the done callback on the request's timer. The
 * transfer must already be off the multi. */
static void complete(struct oai_req *req, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void complete(struct oai_req *req, int err, const char *fmt, ...)
{
    struct oai_client *c = req->client;
    va_list ap;

    if (req->state == ST_QUEUED || req->state == ST_WAIT_RETRY)
        list_remove(&req->link);
    req->state = ST_FINISHED;
    c->n_finished++;
    req->res.err = err;
    req->message[0] = '\0';
    if (err != 0 && fmt != NULL) {
        va_start(ap, fmt);
        vsnprintf(req->message, sizeof(req->message), fmt, ap);
        va_end(ap);
    }
    uv_timer_stop(&req->timer);
    uv_timer_start(&req->timer, req_timer_cb, 0, 0);
}

static void deliver(struct oai_req *req)
{
    struct oai_client *c = req->client;
    struct oai_result *res = &req->res;

    c->n_finished--;
    if (req->cancelled) {
        res->err = SZ_ECANCELLED;
        snprintf(req->message, sizeof(req->message), "The OpenAI request was cancelled");
        res->api_code = NULL;
    }
    res->retries = req->retries;
    if (res->err != 0) {
        res->message = req->message[0] != '\0' ? req->message : sz_strerror(res->err);
        json_decref(req->json);
        req->json = NULL;
        c->stats.failed++;
    } else {
        res->message = NULL;
        res->api_code = NULL;
        c->stats.succeeded++;
    }
    res->json = req->json;
    if (req->has_sink && res->err == 0) {
        res->body = NULL;
        res->body_len = 0;
    } else {
        res->body = req->body.data;
        res->body_len = req->body.len;
    }
    SZ_DEBUG("%s: %s %s -> %s (status %ld, %d retries)", req_name(req), req->method, req_path(req),
             sz_errname(res->err), res->status, req->retries);
    req->done(req, res, req->done_data);
    uv_close((uv_handle_t *)&req->timer, req_timer_closed);
}

/* ------------------------------------------------------------------------------------
 * Attempts */

static void stall_arm(struct oai_req *req, uint64_t remaining)
{
    uv_timer_start(&req->timer, req_timer_cb, remaining, 0);
}

static long eff_stall(const struct oai_req *req)
{
    return req->stall_timeout_ms >= 0 ? req->stall_timeout_ms : req->client->stall_timeout_ms;
}

/* Starts (or restarts) the stall clock when it applies to this attempt. */
static void stall_start(struct oai_req *req)
{
    long ms = eff_stall(req);

    if (ms <= 0 || req->paused)
        return;
    req->last_rx = uv_now(req->client->loop);
    stall_arm(req, (uint64_t)ms);
}

/* Takes the current attempt off the multi and frees its curl objects. */
static void detach(struct oai_req *req)
{
    struct oai_client *c = req->client;

    if (req->easy != NULL) {
        c->in_curl++;
        curl_multi_remove_handle(c->multi, req->easy);
        curl_easy_cleanup(req->easy);
        c->in_curl--;
        req->easy = NULL;
    }
    curl_mime_free(req->mime);
    req->mime = NULL;
    uv_timer_stop(&req->timer);
    list_remove(&req->link);
    c->stats.inflight--;
    req->paused = false;
    req->resume_pending = false;
    req->cancel_pending = false;
    if (c->closing)
        schedule_defer(c);
}

static size_t mime_read(char *buf, size_t size, size_t nitems, void *arg);
static int mime_seek(void *arg, curl_off_t offset, int origin);

struct mime_cursor {
    const char *data;
    size_t len, pos;
};

static size_t mime_read(char *buf, size_t size, size_t nitems, void *arg)
{
    struct mime_cursor *cur = arg;
    size_t n = size * nitems;

    if (n > cur->len - cur->pos)
        n = cur->len - cur->pos;
    memcpy(buf, cur->data + cur->pos, n);
    cur->pos += n;
    return n;
}

static int mime_seek(void *arg, curl_off_t offset, int origin)
{
    struct mime_cursor *cur = arg;

    if (origin != SEEK_SET || offset < 0 || (uint64_t)offset > cur->len)
        return CURL_SEEKFUNC_FAIL;
    cur->pos = (size_t)offset;
    return CURL_SEEKFUNC_OK;
}

static int build_mime(struct oai_req *req)
{
    curl_mime *mime = curl_mime_init(req->easy);

    if (mime == NULL)
        return SZ_ENOMEM;
    req->mime = mime;
    for (struct part *p = req->parts; p != NULL; p = p->next) {
        curl_mimepart *mp = curl_mime_addpart(mime);
        if (mp == NULL || curl_mime_name(mp, p->name) != CURLE_OK)
            return SZ_ENOMEM;
        if (p->is_file) {
            struct mime_cursor *cur = calloc(1, sizeof(*cur));
            if (cur == NULL)
                return SZ_ENOMEM;
            cur->data = p->bytes;
            cur->len = p->len;
            if (curl_mime_data_cb(mp, (curl_off_t)p->len, mime_read, mime_seek, free, cur) !=
                CURLE_OK) {
                free(cur);
                return SZ_ENOMEM;
            }
            if (curl_mime_filename(mp, p->filename) != CURLE_OK ||
                curl_mime_type(mp, p->mime_type) != CURLE_OK)
                return SZ_ENOMEM;
        } else if (curl_mime_data(mp, p->bytes, p->len) != CURLE_OK) {
            return SZ_ENOMEM;
        }
    }
    return curl_easy_setopt(req->easy, CURLOPT_MIMEPOST, mime) == CURLE_OK ? 0 : SZ_ENOMEM;
}

static size_t on_header(char *buf, size_t size, size_t n, void *ud);
static size_t on_body(char *buf, size_t size, size_t n, void *ud);

static int setup_easy(struct oai_req *req)
{
    struct oai_client *c = req->client;
    CURL *e = curl_easy_init();
    long req_to = req->request_timeout_ms >= 0 ? req->request_timeout_ms : c->request_timeout_ms;
    int rc = SZ_ENOMEM;
    CURLcode cc = CURLE_OK;

    if (e == NULL)
        return SZ_ENOMEM;
    req->easy = e;
    req->errbuf[0] = '\0';
#define SET(opt, val)                                                                              \
    do {                                                                                           \
        if (cc == CURLE_OK)                                                                        \
            cc = curl_easy_setopt(e, opt, val);                                                    \
    } while (0)
    SET(CURLOPT_PRIVATE, req);
    SET(CURLOPT_URL, req->url);
    SET(CURLOPT_ERRORBUFFER, req->errbuf);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_FOLLOWLOCATION, 1L);
    SET(CURLOPT_MAXREDIRS, MAX_REDIRECTS);
    /* API calls multiplex over HTTP/2 where the server offers it. Sink downloads use
     * HTTP/1.1 on their own connection: a paused HTTP/1.1 transfer stops reading its
     * socket, so TCP holds the rest back, whereas libcurl keeps receiving a paused
     * HTTP/2 stream into memory up to its 32 MB stream window, which defeats the
     * sink's backpressure (and pausing multiplexed streams is fragile in libcurl
     * 7.88). */
    SET(CURLOPT_HTTP_VERSION,
        req->has_sink ? (long)CURL_HTTP_VERSION_1_1 : (long)CURL_HTTP_VERSION_2TLS);
    /* Wait for a connection that may multiplex rather than open another one; only
     * over TLS, where ALPN tells at once whether HTTP/2 is on. In cleartext curl
     * would hold every request back until the first response's headers arrive. */
    if (c->tls && !req->has_sink)
        SET(CURLOPT_PIPEWAIT, 1L);
    SET(CURLOPT_TCP_KEEPALIVE, 1L);
    SET(CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
    SET(CURLOPT_TIMEOUT_MS, req_to > 0 ? req_to : 0L);
    SET(CURLOPT_HTTPHEADER, req->headers);
    SET(CURLOPT_HEADERFUNCTION, on_header);
    SET(CURLOPT_HEADERDATA, req);
    SET(CURLOPT_WRITEFUNCTION, on_body);
    SET(CURLOPT_WRITEDATA, req);
    /* Compressed JSON saves bandwidth; a sink gets the bytes exactly as sent, because
     * a paused decompressing transfer is fragile and Content-Length would lie. */
    if (!req->has_sink)
        SET(CURLOPT_ACCEPT_ENCODING, "");
    else
        SET(CURLOPT_BUFFERSIZE, SINK_BUFFER_SIZE);
    if (strcmp(req->method, "GET") == 0) {
        SET(CURLOPT_HTTPGET, 1L);
    } else if (strcmp(req->method, "HEAD") == 0) {
        SET(CURLOPT_NOBODY, 1L);
    } else {
        if (strcmp(req->method, "POST") != 0)
            SET(CURLOPT_CUSTOMREQUEST, req->method);
        if (req->has_json) {
            SET(CURLOPT_POSTFIELDS, req->json_body);
            SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->json_len);
        } else if (req->parts == NULL && strcmp(req->method, "POST") == 0) {
            SET(CURLOPT_POSTFIELDS, "");
            SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
        }
    }
#undef SET
    if (cc != CURLE_OK) {
        rc = cc == CURLE_OUT_OF_MEMORY ? SZ_ENOMEM : SZ_EINVAL;
        goto out;
    }
    if (req->parts != NULL && (rc = build_mime(req)) != 0)
        goto out;
    rc = 0;
out:
    return rc;
}

static void reset_attempt(struct oai_req *req)
{
    req->status = 0;
    req->final_headers = false;
    req->sink_mode = false;
    req->rx_started = false;
    req->paused = false;
    req->resume_pending = false;
    req->cancel_pending = false;
    req->stalled = false;
    req->abort_err = 0;
    req->skip = 0;
    req->body_truncated = false;
    req->res.status = 0;
    req->res.api_code = NULL;
    req->api_code[0] = '\0';
    headers_clear(req);
    buf_reset(&req->body);
}

/* Puts a queued request on the wire. Not inside a curl callback. */
static void attempt_start(struct oai_req *req)
{
    struct oai_client *c = req->client;
    CURLMcode mc;
    int rc;

    reset_attempt(req);
    rc = setup_easy(req);
    if (rc == 0) {
        c->in_curl++;
        mc = curl_multi_add_handle(c->multi, req->easy);
        c->in_curl--;
        if (mc != CURLM_OK)
            rc = mc == CURLM_OUT_OF_MEMORY ? SZ_ENOMEM : SZ_EIO;
    }
    if (rc != 0) {
        if (req->easy != NULL)
            curl_easy_cleanup(req->easy);
        req->easy = NULL;
        curl_mime_free(req->mime);
        req->mime = NULL;
        complete(req, rc, "Could not start the request to %s: %s", c->origin, sz_strerror(rc));
        return;
    }
    req->state = ST_ACTIVE;
    list_push_back(&c->active, &req->link);
    c->stats.inflight++;
    c->stats.attempts++;
    if (req->has_sink)
        stall_start(req);
    SZ_DEBUG("%s: %s %s (attempt %d)", req_name(req), req->method, req_path(req), req->retries + 1);
}

static void pump(struct oai_client *c)
{
    if (c->closing)
        return;
    if (c->in_curl > 0) {
        schedule_defer(c);
        return;
    }
    while (c->stats.inflight < c->max_concurrency && !list_empty(&c->queue)) {
        struct oai_req *req = container_of(c->queue.next, struct oai_req, link);
        list_remove(&req->link);
        c->stats.queued--;
        attempt_start(req);
    }
}

/* ------------------------------------------------------------------------------------
 * curl callbacks (in_curl > 0 while they run) */

static size_t on_header(char *buf, size_t size, size_t n, void *ud)
{
    struct oai_req *req = ud;
    size_t len = size * n;
    struct header *h;
    const char *colon;
    size_t nlen, vstart, vend;

    req->last_rx = uv_now(req->client->loop);
    if (!req->rx_started) {
        req->rx_started = true;
        if (!req->has_sink)
            stall_start(req);
    }
    if (req->cancelled)
        return 0;
    if (len >= 5 && memcmp(buf, "HTTP/", 5) == 0) {
        const char *sp = memchr(buf, ' ', len);
        headers_clear(req);
        req->final_headers = false;
        req->status = 0;
        if (sp != NULL)
            req->status = strtol(sp + 1, NULL, 10);
        return len;
    }
    if (req->final_headers)
        return len; /* trailers */
    if (len <= 2 && (buf[0] == '\r' || buf[0] == '\n')) {
        long status = req->status;
        int rc = 0;
        if (status / 100 == 1)
            return len;
        if (status / 100 == 3 && oai_req_header(req, "location") != NULL)
            return len; /* curl follows it */
        req->final_headers = true;
        if (req->has_sink && status / 100 == 2) {
            const char *cl = oai_req_header(req, "content-length");
            int64_t clen = -1;
            if (cl != NULL) {
                char *end = NULL;
                long long v = strtoll(cl, &end, 10);
                if (end != cl && *end == '\0' && v >= 0)
                    clen = v;
            }
            req->sink_mode = true;
            req->sink_started = true;
            if (req->sink.on_headers != NULL)
                rc = req->sink.on_headers(req, status, clen, oai_req_header(req, "content-type"),
                                          req->sink.data);
            if (req->cancelled)
                return 0;
            if (rc < 0) {
                req->abort_err = rc;
                return 0;
            }
        }
        return len;
    }
    /* "Name: value\r\n" */
    colon = memchr(buf, ':', len);
    if (colon == NULL || req->n_hdrs >= MAX_HEADERS || req->hdr_bytes + len > MAX_HEADER_BYTES)
        return len;
    nlen = (size_t)(colon - buf);
    vstart = nlen + 1;
    vend = len;
    while (vstart < vend && (buf[vstart] == ' ' || buf[vstart] == '\t'))
        vstart++;
    while (vend > vstart && (buf[vend - 1] == '\r' || buf[vend - 1] == '\n' ||
                             buf[vend - 1] == ' ' || buf[vend - 1] == '\t'))
        vend--;
    h = realloc(req->hdrs, (req->n_hdrs + 1) * sizeof(*h));
    if (h == NULL)
        return len;
    req->hdrs = h;
    h = &req->hdrs[req->n_hdrs];
    h->name = malloc(nlen + 1 + (vend - vstart) + 1);
    if (h->name == NULL)
        return len;
    memcpy(h->name, buf, nlen);
    h->name[nlen] = '\0';
    memcpy(h->name + nlen + 1, buf + vstart, vend - vstart);
    h->name[nlen + 1 + (vend - vstart)] = '\0';
    h->value = h->name + nlen + 1;
    req->n_hdrs++;
    req->hdr_bytes += len;
    return len;
}

static size_t on_body(char *buf, size_t size, size_t n, void *ud)
{
    struct oai_req *req = ud;
    size_t len = size * n;
    int rc;

    req->last_rx = uv_now(req->client->loop);
    if (req->cancelled || req->abort_err != 0)
        return 0;
    if (!req->sink_mode) {
        bool ok2xx = req->status / 100 == 2;
        size_t limit = ok2xx ? req->max_body : ERROR_BODY_MAX;
        if (req->body.len + len > limit) {
            if (ok2xx) {
                req->abort_err = SZ_ETOOBIG;
                return 0;
            }
            req->body_truncated = true;
            len = limit - req->body.len;
            if (len == 0)
                return size * n;
        }
        if (buf_append(&req->body, buf, len) != 0) {
            req->abort_err = SZ_ENOMEM;
            return 0;
        }
        return size * n;
    }

    /* Sink: after a pause curl hands back the very bytes the sink already took. */
    if (req->skip > 0) {
        size_t k = req->skip < len ? req->skip : len;
        req->skip -= k;
        buf += k;
        len -= k;
        if (len == 0)
            return size * n;
    }
    req->in_on_data = true;
    req->resumed_in_cb = false;
    rc = req->sink.on_data(req, buf, len, req->sink.data);
    req->in_on_data = false;
    req->received += len;
    if (req->turn != req->client->turn) {
        req->turn = req->client->turn;
        req->turn_bytes = 0;
    }
    req->turn_bytes += len;
    if (req->cancelled)
        return 0;
    if (rc < 0) {
        req->abort_err = rc;
        return 0;
    }
    if (rc == OAI_SINK_PAUSE && !req->resumed_in_cb) {
        /* curl keeps the whole chunk and redelivers it on unpause; the sink has it. */
        req->skip = size * n;
        req->paused = true;
        uv_timer_stop(&req->timer);
        return CURL_WRITEFUNC_PAUSE;
    }
    if (rc == 0 && req->turn_bytes >= SINK_TURN_BUDGET) {
        /* Enough for this iteration: pause; turn_idle_cb resumes it. */
        req->skip = size * n;
        req->paused = true;
        req->budget_paused = true;
        uv_timer_stop(&req->timer);
        if (!uv_is_active((uv_handle_t *)&req->client->turn_idle))
            uv_idle_start(&req->client->turn_idle, turn_idle_cb);
        return CURL_WRITEFUNC_PAUSE;
    }
    return size * n;
}

/* ------------------------------------------------------------------------------------
 * Loop integration */

static void drain(struct oai_client *c)
{
    CURLMsg *msg;
    int left;

    if (c->multi == NULL)
        return;
    while ((msg = curl_multi_info_read(c->multi, &left)) != NULL) {
        char *priv = NULL;
        CURLcode code;
        if (msg->msg != CURLMSG_DONE)
            continue;
        code = msg->data.result;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
        if (priv != NULL)
            attempt_done((struct oai_req *)(void *)priv, code);
    }
    pump(c);
}

static void socket_action(struct oai_client *c, curl_socket_t fd, int flags)
{
    int running = 0;

    c->in_curl++;
    curl_multi_socket_action(c->multi, fd, flags, &running);
    c->in_curl--;
    drain(c);
}

static void poll_cb(uv_poll_t *h, int status, int events)
{
    struct sock_ctx *s = h->data;
    int flags = 0;

    if (status < 0)
        flags = CURL_CSELECT_ERR;
    if (events & UV_READABLE)
        flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE)
        flags |= CURL_CSELECT_OUT;
    socket_action(s->client, s->fd, flags);
}

static void sock_closed(uv_handle_t *h)
{
    struct sock_ctx *s = h->data;
    struct oai_client *c = s->client;

    free(s);
    c->open_handles--;
    maybe_free_client(c);
}

static void sock_close(struct sock_ctx *s)
{
    uv_poll_stop(&s->poll);
    list_remove(&s->link);
    uv_close((uv_handle_t *)&s->poll, sock_closed);
}

static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    struct oai_client *c = userp;
    struct sock_ctx *s = socketp;
    int events = 0;

    (void)easy;
    if (what == CURL_POLL_REMOVE) {
        if (s != NULL) {
            curl_multi_assign(c->multi, fd, NULL);
            sock_close(s);
        }
        return 0;
    }
    if (s == NULL) {
        s = calloc(1, sizeof(*s));
        if (s == NULL)
            return -1;
        if (uv_poll_init_socket(c->loop, &s->poll, fd) != 0) {
            free(s);
            return -1;
        }
        s->fd = fd;
        s->client = c;
        s->poll.data = s;
        list_push_back(&c->sockets, &s->link);
        c->open_handles++;
        curl_multi_assign(c->multi, fd, s);
    }
    if (what & CURL_POLL_IN)
        events |= UV_READABLE;
    if (what & CURL_POLL_OUT)
        events |= UV_WRITABLE;
    uv_poll_start(&s->poll, events, poll_cb);
    return 0;
}

static void curl_timer_cb(uv_timer_t *t)
{
    struct oai_client *c = t->data;
    socket_action(c, CURL_SOCKET_TIMEOUT, 0);
}

static int on_timer(CURLM *multi, long timeout_ms, void *userp)
{
    struct oai_client *c = userp;

    (void)multi;
    if (timeout_ms < 0)
        uv_timer_stop(&c->curl_timer);
    else
        uv_timer_start(&c->curl_timer, curl_timer_cb, (uint64_t)timeout_ms, 0);
    return 0;
}

/* ------------------------------------------------------------------------------------
 * Outcome of an attempt */

static int map_curl_code(CURLcode code)
{
    switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
        return SZ_ETIMEOUT;
    case CURLE_OUT_OF_MEMORY:
        return SZ_ENOMEM;
    case CURLE_TOO_MANY_REDIRECTS:
        return SZ_EUPSTREAM;
    default:
        return SZ_EIO;
    }
}

static bool curl_code_retryable(CURLcode code)
{
    switch (code) {
    case CURLE_OUT_OF_MEMORY:
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_NOT_BUILT_IN:
    case CURLE_BAD_FUNCTION_ARGUMENT:
    case CURLE_TOO_MANY_REDIRECTS:
    case CURLE_WRITE_ERROR:
    case CURLE_ABORTED_BY_CALLBACK:
    case CURLE_FUNCTION_NOT_FOUND:
    case CURLE_UNKNOWN_OPTION:
        return false;
    default:
        return true;
    }
}

/* One sentence about a transport failure into buf. */
static void transport_message(struct oai_req *req, CURLcode code, char *buf, size_t len)
{
    struct oai_client *c = req->client;
    const char *detail = req->errbuf[0] != '\0' ? req->errbuf : curl_easy_strerror(code);
    long os_errno = 0;
    curl_off_t connect_us = 0;
    long req_to = req->request_timeout_ms >= 0 ? req->request_timeout_ms : c->request_timeout_ms;

    if (req->easy != NULL) {
        curl_easy_getinfo(req->easy, CURLINFO_OS_ERRNO, &os_errno);
        curl_easy_getinfo(req->easy, CURLINFO_CONNECT_TIME_T, &connect_us);
    }
    switch (code) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        snprintf(buf, len, "Could not resolve the host of %s: %s", c->origin, detail);
        break;
    case CURLE_COULDNT_CONNECT:
        snprintf(buf, len, "Could not connect to %s: %s", c->origin,
                 os_errno != 0 ? strerror((int)os_errno) : detail);
        break;
    case CURLE_OPERATION_TIMEDOUT:
        if (connect_us == 0 && !req->rx_started)
            snprintf(buf, len, "Timed out connecting to %s after %ld ms", c->origin,
                     c->connect_timeout_ms);
        else
            snprintf(buf, len, "The request to %s timed out after %ld ms", c->origin, req_to);
        break;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
        snprintf(buf, len, "TLS error talking to %s: %s", c->origin, detail);
        break;
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        if (req->sink_started)
            snprintf(buf, len, "The connection to %s broke after %" PRIu64 " bytes: %s", c->origin,
                     req->received, detail);
        else
            snprintf(buf, len, "The connection to %s broke: %s", c->origin, detail);
        break;
    case CURLE_TOO_MANY_REDIRECTS:
        snprintf(buf, len, "Too many redirects from %s", c->origin);
        break;
    default:
        snprintf(buf, len, "The request to %s failed: %s", c->origin, detail);
        break;
    }
}

/* Decides retry vs completion for a failed attempt (already detached). */
static void retry_or_fail(struct oai_req *req, int transport_error, int err, const char *msg)
{
    struct oai_client *c = req->client;
    struct oai_retry_in in;
    long delay = 0;

    memset(&in, 0, sizeof(in));
    in.transport_error = transport_error;
    in.status = req->status;
    if (!transport_error) {
        in.should_retry = oai_req_header(req, "x-should-retry");
        in.retry_after_ms = oai_req_header(req, "retry-after-ms");
        in.retry_after = oai_req_header(req, "retry-after");
    }
    in.sink_started = req->sink_started;
    in.retries_done = req->retries;
    in.max_retries = req->max_retries >= 0 ? req->max_retries : c->max_retries;
    in.random = next_random(c);
    in.now = time(NULL);

    if (!c->closing && oai_retry_decide(&in, &delay)) {
        SZ_WARN("%s: %s %s: %s; retry %d of %d in %ld ms", req_name(req), req->method,
                req_path(req), msg, req->retries + 1, in.max_retries, delay);
        req->retries++;
        c->stats.retries++;
        req->state = ST_WAIT_RETRY;
        list_push_back(&c->waiting, &req->link);
        c->stats.waiting_retry++;
        uv_timer_start(&req->timer, req_timer_cb, (uint64_t)delay, 0);
        return;
    }
    if (req->retries > 0)
        complete(req, err, "%s (gave up after %d %s)", msg, req->retries,
                 req->retries == 1 ? "retry" : "retries");
    else
        complete(req, err, "%s", msg);
}

static void finish_success(struct oai_req *req)
{
    json_error_t jerr;
    char summary[256];

    if (req->has_sink || req->raw || req->body.len == 0) {
        complete(req, 0, NULL);
        return;
    }
    req->json = json_loadb(req->body.data, req->body.len, 0, &jerr);
    if (req->json == NULL) {
        oai_summarize(req->body.data, req->body.len, 60, summary, sizeof(summary));
        complete(req, SZ_EPROTO, "OpenAI API returned status %ld with a body that is not JSON: %s",
                 req->status, summary);
        return;
    }
    complete(req, 0, NULL);
}

static void attempt_done(struct oai_req *req, CURLcode code)
{
    char msg[MESSAGE_LEN];
    long status = 0;

    if (req->easy != NULL)
        curl_easy_getinfo(req->easy, CURLINFO_RESPONSE_CODE, &status);
    if (status != 0)
        req->status = status;
    req->res.status = req->status;

    if (req->cancelled) {
        detach(req);
        complete(req, SZ_ECANCELLED, "The OpenAI request was cancelled");
        return;
    }
    if (req->abort_err != 0) {
        int err = req->abort_err;
        if (err == SZ_ETOOBIG)
            snprintf(msg, sizeof(msg), "The response from %s is larger than %zu bytes",
                     req->client->origin, req->max_body);
        else
            snprintf(msg, sizeof(msg), "The download from %s was aborted: %s", req->client->origin,
                     sz_strerror(err));
        detach(req);
        complete(req, err, "%s", msg);
        return;
    }
    if (code == CURLE_OK && req->status / 100 == 2) {
        detach(req);
        finish_success(req);
        return;
    }
    if (code == CURLE_OK) {
        oai_error_message(req->status, req->body.data, req->body.len, msg, sizeof(msg),
                          req->api_code, sizeof(req->api_code));
        req->res.api_code = req->api_code[0] != '\0' ? req->api_code : NULL;
        detach(req);
        retry_or_fail(req, 0, SZ_EUPSTREAM, msg);
        return;
    }
    transport_message(req, code, msg, sizeof(msg));
    detach(req);
    if (!req->sink_started)
        req->res.status = 0;
    if (curl_code_retryable(code)) {
        retry_or_fail(req, 1, map_curl_code(code), msg);
    } else {
        complete(req, map_curl_code(code), "%s", msg);
    }
}

/* The request's own timer: stall clock, retry sleep, deferred work, done callback. */
static void req_timer_cb(uv_timer_t *t)
{
    struct oai_req *req = t->data;
    struct oai_client *c = req->client;
    uint64_t now, idle;
    long stall;

    switch (req->state) {
    case ST_FINISHED:
        deliver(req);
        return;
    case ST_WAIT_RETRY:
        list_remove(&req->link);
        c->stats.waiting_retry--;
        req->state = ST_QUEUED;
        list_push_front(&c->queue, &req->link);
        c->stats.queued++;
        pump(c);
        return;
    case ST_QUEUED:
        pump(c);
        return;
    case ST_ACTIVE:
        break;
    case ST_NEW:
    default:
        return;
    }
    if (req->cancel_pending) {
        detach(req);
        complete(req, SZ_ECANCELLED, "The OpenAI request was cancelled");
        return;
    }
    if (req->resume_pending) {
        req->resume_pending = false;
        if (req->paused) {
            CURLcode cc;
            req->paused = false;
            /* curl hands the bytes it kept back to on_body from inside this call. */
            c->in_curl++;
            cc = curl_easy_pause(req->easy, CURLPAUSE_CONT);
            c->in_curl--;
            if (req->cancel_pending) {
                detach(req);
                complete(req, SZ_ECANCELLED, "The OpenAI request was cancelled");
                return;
            }
            if (cc != CURLE_OK) {
                /* A callback failed during redelivery; curl does not end the
                 * transfer for that, so we do. */
                attempt_done(req, cc);
                return;
            }
        }
        if (!req->paused && (req->has_sink || req->rx_started))
            stall_start(req);
        return;
    }
    /* stall clock */
    stall = eff_stall(req);
    if (stall <= 0 || req->paused)
        return;
    now = uv_now(c->loop);
    idle = now - req->last_rx;
    if (idle < (uint64_t)stall) {
        stall_arm(req, (uint64_t)stall - idle);
        return;
    }
    {
        char msg[MESSAGE_LEN];
        snprintf(msg, sizeof(msg), "No data received from %s for %ld ms", c->origin, stall);
        req->stalled = true;
        if (!req->sink_started)
            req->res.status = 0;
        detach(req);
        retry_or_fail(req, 1, SZ_ETIMEOUT, msg);
    }
}

/* ------------------------------------------------------------------------------------
 * Client lifetime */

static void client_timer_closed(uv_handle_t *h)
{
    struct oai_client *c = h->data;
    c->open_handles--;
    maybe_free_client(c);
}

/* Once closing and every transfer is off the multi: free curl's state (closing its
 * connections, which removes their polls) and close our handles. */
static void teardown(struct oai_client *c)
{
    c->torn_down = true;
    c->in_curl++;
    curl_multi_cleanup(c->multi);
    c->in_curl--;
    c->multi = NULL;
    while (!list_empty(&c->sockets))
        sock_close(container_of(c->sockets.next, struct sock_ctx, link));
    uv_close((uv_handle_t *)&c->curl_timer, client_timer_closed);
    uv_close((uv_handle_t *)&c->defer_timer, client_timer_closed);
    uv_close((uv_handle_t *)&c->turn_idle, client_timer_closed);
}

static void defer_cb(uv_timer_t *t)
{
    struct oai_client *c = t->data;

    pump(c);
    if (c->closing && !c->torn_down && list_empty(&c->active) && list_empty(&c->queue) &&
        list_empty(&c->waiting))
        teardown(c);
}

/* A new iteration begins for the budgets, and the transfers that spent theirs
 * resume (their data flows once this iteration has polled every fd). */
static void turn_idle_cb(uv_idle_t *idle)
{
    struct oai_client *c = idle->data;
    bool any = false;

    c->turn++;
    for (struct link *l = c->active.next; l != &c->active; l = l->next) {
        struct oai_req *req = container_of(l, struct oai_req, link);
        if (req->budget_paused) {
            req->budget_paused = false;
            any = true;
            oai_req_resume(req);
        }
    }
    if (!any)
        uv_idle_stop(idle);
}

static void schedule_defer(struct oai_client *c)
{
    if (c->torn_down || uv_is_active((uv_handle_t *)&c->defer_timer))
        return;
    uv_timer_start(&c->defer_timer, defer_cb, 0, 0);
}

static void maybe_free_client(struct oai_client *c)
{
    if (!c->torn_down || c->open_handles > 0 || c->live_reqs > 0 || c->freed)
        return;
    c->freed = true;
    if (c->close_cb != NULL)
        c->close_cb(c, c->close_data);
    curl_slist_free_all(c->auth_headers);
    free(c->base_url);
    free(c->origin);
    free(c->api_key);
    free(c);
    curl_global_cleanup();
}

static char *origin_of(const char *url)
{
    const char *p = strstr(url, "://");
    size_t n;

    p = p != NULL ? p + 3 : url;
    n = strcspn(p, "/?#");
    return strndup(url, (size_t)(p - url) + n);
}

/* Appends "<prefix><value>" to *plist. */
static int add_header(struct curl_slist **plist, const char *prefix, const char *value)
{
    char line[2048];
    struct curl_slist *l;

    if (snprintf(line, sizeof(line), "%s%s", prefix, value) >= (int)sizeof(line))
        return SZ_EINVAL;
    l = curl_slist_append(*plist, line);
    if (l == NULL)
        return SZ_ENOMEM;
    *plist = l;
    return 0;
}

/* A header value may not carry CR/LF (header injection from the environment). */
static bool header_safe(const char *v)
{
    return v == NULL || strpbrk(v, "\r\n") == NULL;
}

int oai_client_new(uv_loop_t *loop, const struct sz_config *cfg, struct oai_client **pclient)
{
    struct oai_client *c = NULL;
    int rc = SZ_ENOMEM;
    bool global = false;

    *pclient = NULL;
    if (loop == NULL || cfg == NULL || cfg->base_url == NULL || cfg->base_url[0] == '\0' ||
        cfg->max_concurrency < 1 || cfg->max_retries < 0 || !header_safe(cfg->api_key) ||
        !header_safe(cfg->org_id) || !header_safe(cfg->project_id))
        return SZ_EINVAL;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return SZ_ENOMEM;
    global = true;
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        goto fail;
    c->loop = loop;
    list_init(&c->queue);
    list_init(&c->active);
    list_init(&c->waiting);
    list_init(&c->sockets);
    c->base_url = strdup(cfg->base_url);
    c->api_key = xstrdup(cfg->api_key);
    if (c->base_url == NULL || (cfg->api_key != NULL && c->api_key == NULL))
        goto fail;
    for (size_t n = strlen(c->base_url); n > 0 && c->base_url[n - 1] == '/'; n--)
        c->base_url[n - 1] = '\0';
    c->tls = strncasecmp(c->base_url, "https://", 8) == 0;
    c->origin = origin_of(c->base_url);
    if (c->origin == NULL)
        goto fail;
    c->max_retries = cfg->max_retries;
    c->max_concurrency = (unsigned)cfg->max_concurrency;
    c->connect_timeout_ms = cfg->connect_timeout_ms > 0 ? cfg->connect_timeout_ms : 0;
    c->request_timeout_ms = cfg->request_timeout_ms > 0 ? cfg->request_timeout_ms : 0;
    c->stall_timeout_ms = cfg->stall_timeout_ms > 0 ? cfg->stall_timeout_ms : 0;
    c->rng = (uv_hrtime() ^ (uint64_t)(uintptr_t)c) | 1u;

    if ((c->api_key != NULL &&
         (rc = add_header(&c->auth_headers, "Authorization: Bearer ", c->api_key)) != 0) ||
        (cfg->org_id != NULL && cfg->org_id[0] != '\0' &&
         (rc = add_header(&c->auth_headers, "OpenAI-Organization: ", cfg->org_id)) != 0) ||
        (cfg->project_id != NULL && cfg->project_id[0] != '\0' &&
         (rc = add_header(&c->auth_headers, "OpenAI-Project: ", cfg->project_id)) != 0) ||
        (rc = add_header(&c->auth_headers, "User-Agent: sanzaru/", SZ_VERSION)) != 0)
        goto fail;

    rc = SZ_ENOMEM;
    c->multi = curl_multi_init();
    if (c->multi == NULL)
        goto fail;
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, on_timer);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
    curl_multi_setopt(c->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);

    uv_timer_init(loop, &c->curl_timer);
    uv_timer_init(loop, &c->defer_timer);
    uv_idle_init(loop, &c->turn_idle);
    c->curl_timer.data = c;
    c->defer_timer.data = c;
    c->turn_idle.data = c;
    c->open_handles = 3;
    *pclient = c;
    return 0;

fail:
    if (c != NULL) {
        if (c->multi != NULL)
            curl_multi_cleanup(c->multi);
        curl_slist_free_all(c->auth_headers);
        free(c->base_url);
        free(c->origin);
        free(c->api_key);
        free(c);
    }
    if (global)
        curl_global_cleanup();
    return rc;
}

static void cancel_all(struct link *head)
{
    while (!list_empty(head)) {
        struct oai_req *req = container_of(head->next, struct oai_req, link);
        oai_req_cancel(req);
        if (head->next == &req->link)
            break; /* stays listed until its deferred removal (inside curl) */
    }
}

void oai_client_close(struct oai_client *c, oai_close_fn *cb, void *data)
{
    if (c == NULL || c->closing)
        return;
    c->closing = true;
    c->close_cb = cb;
    c->close_data = data;
    cancel_all(&c->queue);
    cancel_all(&c->waiting);
    /* Active requests: removal may have to wait for the curl callback to return. */
    for (struct link *l = c->active.next; l != &c->active;) {
        struct link *next = l->next;
        oai_req_cancel(container_of(l, struct oai_req, link));
        l = next;
    }
    schedule_defer(c);
}

void oai_client_stats(const struct oai_client *c, struct oai_stats *pstats)
{
    *pstats = c->stats;
    pstats->pending_done = c->n_finished;
}

unsigned oai_client_inflight(const struct oai_client *c)
{
    return c->stats.inflight;
}

unsigned oai_client_queued(const struct oai_client *c)
{
    return c->stats.queued;
}

void oai_client_set_random(struct oai_client *c, oai_random_fn *fn, void *data)
{
    c->rand_fn = fn;
    c->rand_data = data;
}

/* ------------------------------------------------------------------------------------
 * Requests */

int oai_req_new(struct oai_client *c, const char *method, const char *path, struct oai_req **preq)
{
    struct oai_req *req;
    size_t blen, plen;

    *preq = NULL;
    if (c == NULL || method == NULL || path == NULL || path[0] != '/' || method[0] == '\0' ||
        strpbrk(method, " \r\n") != NULL || strpbrk(path, " \r\n#") != NULL)
        return SZ_EINVAL;
    req = calloc(1, sizeof(*req));
    if (req == NULL)
        return SZ_ENOMEM;
    req->client = c;
    req->state = ST_NEW;
    req->link.prev = req->link.next = &req->link;
    req->parts_tail = &req->parts;
    req->max_body = DEFAULT_MAX_BODY;
    req->request_timeout_ms = -1;
    req->stall_timeout_ms = -1;
    req->max_retries = -1;
    req->method = strdup(method);
    blen = strlen(c->base_url);
    plen = strlen(path);
    req->url = malloc(blen + plen + 1);
    if (req->method == NULL || req->url == NULL) {
        free_req_memory(req);
        return SZ_ENOMEM;
    }
    memcpy(req->url, c->base_url, blen);
    memcpy(req->url + blen, path, plen + 1);
    req->has_query = strchr(path, '?') != NULL;
    *preq = req;
    return 0;
}

void oai_req_free(struct oai_req *req)
{
    if (req != NULL && req->state == ST_NEW)
        free_req_memory(req);
}

static size_t escape_into(char *dst, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;

    for (; *s != '\0'; s++) {
        unsigned char ch = (unsigned char)*s;
        if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
            ch == '-' || ch == '_' || ch == '.' || ch == '~') {
            dst[o++] = (char)ch;
        } else {
            dst[o++] = '%';
            dst[o++] = hex[ch >> 4];
            dst[o++] = hex[ch & 15];
        }
    }
    return o;
}

int oai_req_add_query(struct oai_req *req, const char *name, const char *value)
{
    size_t ulen, need;
    char *url;

    if (req == NULL || name == NULL || value == NULL || req->state != ST_NEW)
        return SZ_EINVAL;
    ulen = strlen(req->url);
    need = ulen + 1 + 3 * strlen(name) + 1 + 3 * strlen(value) + 1;
    url = realloc(req->url, need);
    if (url == NULL)
        return SZ_ENOMEM;
    req->url = url;
    url[ulen++] = req->has_query ? '&' : '?';
    ulen += escape_into(url + ulen, name);
    url[ulen++] = '=';
    ulen += escape_into(url + ulen, value);
    url[ulen] = '\0';
    req->has_query = true;
    return 0;
}

int oai_req_add_header(struct oai_req *req, const char *line)
{
    struct curl_slist *l;
    const char *colon;

    if (req == NULL || line == NULL || req->state != ST_NEW || !header_safe(line))
        return SZ_EINVAL;
    colon = strchr(line, ':');
    if (colon == NULL || colon == line)
        return SZ_EINVAL;
    l = curl_slist_append(req->user_headers, line);
    if (l == NULL)
        return SZ_ENOMEM;
    req->user_headers = l;
    return 0;
}

int oai_req_set_json_text(struct oai_req *req, char *text, size_t len)
{
    if (req == NULL || text == NULL || req->state != ST_NEW || req->parts != NULL ||
        req->has_json) {
        free(text);
        return SZ_EINVAL;
    }
    req->json_body = text;
    req->json_len = len;
    req->has_json = true;
    return 0;
}

int oai_req_set_json_new(struct oai_req *req, json_t *body)
{
    char *s;

    if (req == NULL || body == NULL || req->state != ST_NEW || req->parts != NULL ||
        req->has_json) {
        json_decref(body);
        return SZ_EINVAL;
    }
    s = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (s == NULL)
        return SZ_ENOMEM;
    return oai_req_set_json_text(req, s, strlen(s));
}

static int add_part(struct oai_req *req, struct part *p)
{
    *req->parts_tail = p;
    req->parts_tail = &p->next;
    return 0;
}

int oai_req_add_field(struct oai_req *req, const char *name, const char *value)
{
    struct part *p;

    if (req == NULL || name == NULL || value == NULL || req->state != ST_NEW || req->has_json)
        return SZ_EINVAL;
    p = calloc(1, sizeof(*p));
    if (p == NULL)
        return SZ_ENOMEM;
    p->name = strdup(name);
    p->bytes = strdup(value);
    if (p->name == NULL || p->bytes == NULL) {
        free(p->name);
        free(p->bytes);
        free(p);
        return SZ_ENOMEM;
    }
    p->len = strlen(value);
    return add_part(req, p);
}

int oai_req_add_file(struct oai_req *req, const char *name, const char *filename,
                     const char *mime_type, void *bytes, size_t len)
{
    struct part *p;

    if (req == NULL || name == NULL || filename == NULL || mime_type == NULL ||
        (bytes == NULL && len > 0) || req->state != ST_NEW || req->has_json ||
        !header_safe(filename) || !header_safe(mime_type)) {
        free(bytes);
        return SZ_EINVAL;
    }
    p = calloc(1, sizeof(*p));
    if (p == NULL) {
        free(bytes);
        return SZ_ENOMEM;
    }
    p->is_file = true;
    p->bytes = bytes;
    p->len = len;
    p->name = strdup(name);
    p->filename = strdup(filename);
    p->mime_type = strdup(mime_type);
    if (p->name == NULL || p->filename == NULL || p->mime_type == NULL) {
        free(p->name);
        free(p->filename);
        free(p->mime_type);
        free(p->bytes);
        free(p);
        return SZ_ENOMEM;
    }
    return add_part(req, p);
}

void oai_req_set_sink(struct oai_req *req, const struct oai_sink *sink)
{
    if (req == NULL || sink == NULL || req->state != ST_NEW)
        return;
    req->sink = *sink;
    req->has_sink = sink->on_data != NULL;
}

void oai_req_set_max_body(struct oai_req *req, size_t max_bytes)
{
    req->max_body = max_bytes;
}

void oai_req_set_raw(struct oai_req *req)
{
    req->raw = true;
}

void oai_req_set_timeouts(struct oai_req *req, long request_timeout_ms, long stall_timeout_ms)
{
    if (request_timeout_ms >= 0)
        req->request_timeout_ms = request_timeout_ms;
    if (stall_timeout_ms >= 0)
        req->stall_timeout_ms = stall_timeout_ms;
}

void oai_req_set_max_retries(struct oai_req *req, int max_retries)
{
    req->max_retries = max_retries < 0 ? 0 : max_retries;
}

int oai_req_set_label(struct oai_req *req, const char *label)
{
    char *l = xstrdup(label);
    if (label != NULL && l == NULL)
        return SZ_ENOMEM;
    free(req->label);
    req->label = l;
    return 0;
}

/* Case-insensitive: does `list` set header `name` (the part before ':' of `line`)? */
static bool user_sets(const struct curl_slist *list, const char *line)
{
    size_t n = strcspn(line, ":");

    for (; list != NULL; list = list->next) {
        if (strncasecmp(list->data, line, n) == 0 && list->data[n] == ':')
            return true;
    }
    return false;
}

static int build_headers(struct oai_req *req)
{
    struct oai_client *c = req->client;
    const char *defaults[4];
    size_t nd = 0;
    struct curl_slist *l;

    defaults[nd++] = req->has_sink ? "Accept: */*" : "Accept: application/json";
    if (req->has_json)
        defaults[nd++] = "Content-Type: application/json";
    /* No "Expect: 100-continue" round trip before uploads. */
    defaults[nd++] = "Expect:";
    for (const struct curl_slist *a = c->auth_headers; a != NULL; a = a->next) {
        if (user_sets(req->user_headers, a->data))
            continue;
        l = curl_slist_append(req->headers, a->data);
        if (l == NULL)
            return SZ_ENOMEM;
        req->headers = l;
    }
    for (size_t i = 0; i < nd; i++) {
        if (user_sets(req->user_headers, defaults[i]))
            continue;
        l = curl_slist_append(req->headers, defaults[i]);
        if (l == NULL)
            return SZ_ENOMEM;
        req->headers = l;
    }
    for (const struct curl_slist *u = req->user_headers; u != NULL; u = u->next) {
        l = curl_slist_append(req->headers, u->data);
        if (l == NULL)
            return SZ_ENOMEM;
        req->headers = l;
    }
    return 0;
}

int oai_req_start(struct oai_req *req, oai_done_fn *done, void *data)
{
    struct oai_client *c;
    int rc;

    if (req == NULL || done == NULL || req->state != ST_NEW)
        return SZ_EINVAL;
    c = req->client;
    req->done = done;
    req->done_data = data;
    uv_timer_init(c->loop, &req->timer);
    req->timer.data = req;
    c->live_reqs++;
    c->stats.started++;

    if (c->closing) {
        req->cancelled = true;
        complete(req, SZ_ECANCELLED, "The OpenAI client is shutting down");
        return 0;
    }
    if (c->api_key == NULL) {
        complete(req, SZ_ENOKEY, "OPENAI_API_KEY is not set");
        return 0;
    }
    rc = build_headers(req);
    if (rc != 0) {
        complete(req, rc, "Could not prepare the OpenAI request: %s", sz_strerror(rc));
        return 0;
    }
    req->state = ST_QUEUED;
    list_push_back(&c->queue, &req->link);
    c->stats.queued++;
    if (c->in_curl > 0)
        schedule_defer(c);
    else
        pump(c);
    return 0;
}

void oai_req_cancel(struct oai_req *req)
{
    struct oai_client *c;

    if (req == NULL || req->state == ST_NEW || req->cancelled)
        return;
    c = req->client;
    req->cancelled = true;
    switch (req->state) {
    case ST_QUEUED:
        c->stats.queued--;
        complete(req, SZ_ECANCELLED, "The OpenAI request was cancelled");
        break;
    case ST_WAIT_RETRY:
        c->stats.waiting_retry--;
        complete(req, SZ_ECANCELLED, "The OpenAI request was cancelled");
        break;
    case ST_ACTIVE:
        if (c->in_curl > 0) {
            /* Inside a curl callback: the handle cannot leave the multi now. The
             * transfer's own callbacks abort it; the timer finishes the job. */
            req->cancel_pending = true;
            uv_timer_start(&req->timer, req_timer_cb, 0, 0);
        } else {
            detach(req);
            complete(req, SZ_ECANCELLED, "The OpenAI request was cancelled");
            pump(c);
        }
        break;
    case ST_FINISHED: /* reported as cancelled by deliver() */
    case ST_NEW:
    default:
        break;
    }
}

void oai_req_resume(struct oai_req *req)
{
    if (req == NULL || req->state != ST_ACTIVE || req->cancelled)
        return;
    if (req->in_on_data) {
        req->resumed_in_cb = true;
        return;
    }
    if (!req->paused || req->resume_pending)
        return;
    req->resume_pending = true;
    uv_timer_start(&req->timer, req_timer_cb, 0, 0);
}

const char *oai_req_header(const struct oai_req *req, const char *name)
{
    for (size_t i = 0; i < req->n_hdrs; i++) {
        if (strcasecmp(req->hdrs[i].name, name) == 0)
            return req->hdrs[i].value;
    }
    return NULL;
}

uint64_t oai_req_received(const struct oai_req *req)
{
    return req->received;
}
