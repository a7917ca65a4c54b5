/* The HTTP client's engine (see client.h and net_int.h): the client's lifetime,
 * curl multi on the libuv loop, the concurrency queue, completion, and the state
 * machine of a request's timer. What happens on the wire during one attempt is in
 * transfer.c.
 *
 * curl tells us which sockets to watch (socket callback -> one uv_poll each) and when
 * to wake it (timer callback -> one uv_timer); whenever either fires we call
 * curl_multi_socket_action and then drain curl_multi_info_read, where finished
 * transfers show up (also after a timer fire: that is how timeouts end). */
#include "fmacros.h"

#include "net/net_int.h"

#include "core/err.h"
#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef SZ_VERSION
#define SZ_VERSION "0"
#endif

struct sock_ctx {
    uv_poll_t poll;
    curl_socket_t fd;
    struct net_client *client;
    struct sz_link link;
};

static const struct net_service generic_service = {NULL, NULL, NULL};

static void maybe_free_client(struct net_client *c);

/* ------------------------------------------------------------------------------------
 * Small helpers */

static double default_random(struct net_client *c)
{
    /* xorshift64*: jitter needs no cryptographic quality */
    uint64_t x = c->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    c->rng = x;
    return (double)((x * 0x2545F4914F6CDD1DULL) >> 11) * (1.0 / 9007199254740992.0);
}

double net_next_random(struct net_client *c)
{
    double r = c->rand_fn != NULL ? c->rand_fn(c->rand_data) : default_random(c);
    if (!(r >= 0.0))
        r = 0.0;
    if (r >= 1.0)
        r = 0.999999999;
    return r;
}

const char *net_req_name(const struct net_req *req)
{
    return req->label != NULL ? req->label : "http";
}

const char *net_req_path(const struct net_req *req)
{
    const char *p = strstr(req->url, "://");

    p = p != NULL ? p + 3 : req->url;
    return p + strcspn(p, "/?");
}

const struct net_service *net_req_service(const struct net_req *req)
{
    if (req->service != NULL)
        return req->service;
    if (req->client->service != NULL)
        return req->client->service;
    return &generic_service;
}

/* ------------------------------------------------------------------------------------
 * Completion */

void net_req_destroy(struct net_req *req)
{
    struct net_client *c = req->client;

    if (req->fs_pending > 0) {
        req->zombie = true; /* the last file read's callback frees it */
        return;
    }
    net_req_free_memory(req);
    c->live_reqs--;
    maybe_free_client(c);
}

static void req_timer_closed(uv_handle_t *h)
{
    net_req_destroy(h->data);
}

void net_complete(struct net_req *req, int err, const char *fmt, ...)
{
    struct net_client *c = req->client;
    va_list ap;

    if (req->state == NET_ST_QUEUED || req->state == NET_ST_WAIT_RETRY)
        sz_list_remove(&req->link);
    req->state = NET_ST_FINISHED;
    c->n_finished++;
    req->res.err = err;
    req->message[0] = '\0';
    if (err != 0 && fmt != NULL) {
        va_start(ap, fmt);
        vsnprintf(req->message, sizeof(req->message), fmt, ap);
        va_end(ap);
    }
    uv_timer_stop(&req->timer);
    uv_timer_start(&req->timer, net_req_timer_cb, 0, 0);
}

static void cancel_message(struct net_req *req, char *buf, size_t len)
{
    const struct net_service *svc = net_req_service(req);

    if (svc->name != NULL)
        snprintf(buf, len, "The %s request was cancelled", svc->name);
    else
        snprintf(buf, len, "The request to %s was cancelled", req->origin);
}

void net_complete_cancelled(struct net_req *req)
{
    char msg[NET_MESSAGE_LEN];

    cancel_message(req, msg, sizeof(msg));
    net_complete(req, SZ_ECANCELLED, "%s", msg);
}

static void deliver(struct net_req *req)
{
    struct net_client *c = req->client;
    struct net_result *res = &req->res;

    c->n_finished--;
    if (req->cancelled) {
        res->err = SZ_ECANCELLED;
        cancel_message(req, req->message, sizeof(req->message));
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
    SZ_DEBUG("%s: %s %s -> %s (status %ld, %d retries)", net_req_name(req), req->method,
             net_req_path(req), sz_errname(res->err), res->status, req->retries);
    req->done(req, res, req->done_data);
    uv_close((uv_handle_t *)&req->timer, req_timer_closed);
}

/* ------------------------------------------------------------------------------------
 * The request's timer: clocks, retry sleep, deferred work, done callback */

static void timer_active(struct net_req *req)
{
    if (req->cancel_pending) {
        net_detach(req);
        net_complete_cancelled(req);
        return;
    }
    if (req->resume_pending) {
        req->resume_pending = false;
        if (req->paused) {
            req->paused = false;
            req->last_rx = uv_now(req->client->loop); /* a pause is not a stall */
            net_apply_pause(req, false);
        } else {
            net_clock_arm(req);
        }
        return;
    }
    net_clock_check(req);
}

void net_req_timer_cb(uv_timer_t *t)
{
    struct net_req *req = t->data;
    struct net_client *c = req->client;

    switch (req->state) {
    case NET_ST_FINISHED:
        deliver(req);
        return;
    case NET_ST_WAIT_RETRY:
        sz_list_remove(&req->link);
        c->stats.waiting_retry--;
        req->state = NET_ST_QUEUED;
        sz_list_push_front(&c->queue, &req->link);
        c->stats.queued++;
        net_pump(c);
        return;
    case NET_ST_QUEUED:
        net_pump(c);
        return;
    case NET_ST_ACTIVE:
        timer_active(req);
        return;
    case NET_ST_NEW:
    default:
        return;
    }
}

/* ------------------------------------------------------------------------------------
 * Queue */

void net_pump(struct net_client *c)
{
    if (c->closing)
        return;
    if (c->in_curl > 0) {
        net_schedule_defer(c);
        return;
    }
    while (c->stats.inflight < c->max_concurrency && !sz_list_empty(&c->queue)) {
        struct net_req *req = container_of(c->queue.next, struct net_req, link);
        sz_list_remove(&req->link);
        c->stats.queued--;
        net_attempt_start(req);
    }
}

/* ------------------------------------------------------------------------------------
 * Loop integration */

static void drain(struct net_client *c)
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
            net_attempt_done((struct net_req *)(void *)priv, code);
    }
    net_pump(c);
}

static void socket_action(struct net_client *c, curl_socket_t fd, int flags)
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
    struct net_client *c = s->client;

    free(s);
    c->open_handles--;
    maybe_free_client(c);
}

static void sock_close(struct sock_ctx *s)
{
    uv_poll_stop(&s->poll);
    sz_list_remove(&s->link);
    uv_close((uv_handle_t *)&s->poll, sock_closed);
}

static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    struct net_client *c = userp;
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
        sz_list_push_back(&c->sockets, &s->link);
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
    struct net_client *c = t->data;
    socket_action(c, CURL_SOCKET_TIMEOUT, 0);
}

static int on_timer(CURLM *multi, long timeout_ms, void *userp)
{
    struct net_client *c = userp;

    (void)multi;
    if (timeout_ms < 0)
        uv_timer_stop(&c->curl_timer);
    else
        uv_timer_start(&c->curl_timer, curl_timer_cb, (uint64_t)timeout_ms, 0);
    return 0;
}

/* A new iteration begins for the sink budgets (transfer.c), and the transfers that
 * spent theirs resume: their data flows once this iteration has polled every fd. */
static void turn_idle_cb(uv_idle_t *idle)
{
    struct net_client *c = idle->data;
    struct sz_link *l;
    bool any = false;

    c->turn++;
    SZ_LIST_FOREACH(l, &c->active)
    {
        struct net_req *req = container_of(l, struct net_req, link);
        if (req->budget_paused) {
            req->budget_paused = false;
            any = true;
            net_req_resume(req);
        }
    }
    if (!any)
        uv_idle_stop(idle);
}

void net_turn_idle_start(struct net_client *c)
{
    if (!uv_is_active((uv_handle_t *)&c->turn_idle))
        uv_idle_start(&c->turn_idle, turn_idle_cb);
}

/* ------------------------------------------------------------------------------------
 * Client lifetime */

static void client_timer_closed(uv_handle_t *h)
{
    struct net_client *c = h->data;
    c->open_handles--;
    maybe_free_client(c);
}

/* Once closing and every transfer is off the multi: free curl's state (closing its
 * connections, which removes their polls) and close our handles. */
static void teardown(struct net_client *c)
{
    c->torn_down = true;
    c->in_curl++;
    curl_multi_cleanup(c->multi);
    c->in_curl--;
    c->multi = NULL;
    while (!sz_list_empty(&c->sockets))
        sock_close(container_of(c->sockets.next, struct sock_ctx, link));
    uv_close((uv_handle_t *)&c->curl_timer, client_timer_closed);
    uv_close((uv_handle_t *)&c->defer_timer, client_timer_closed);
    uv_close((uv_handle_t *)&c->turn_idle, client_timer_closed);
}

static void defer_cb(uv_timer_t *t)
{
    struct net_client *c = t->data;

    net_pump(c);
    if (c->closing && !c->torn_down && sz_list_empty(&c->active) && sz_list_empty(&c->queue) &&
        sz_list_empty(&c->waiting))
        teardown(c);
}

void net_schedule_defer(struct net_client *c)
{
    if (c->torn_down || uv_is_active((uv_handle_t *)&c->defer_timer))
        return;
    uv_timer_start(&c->defer_timer, defer_cb, 0, 0);
}

static void free_client(struct net_client *c)
{
    free(c->user_agent_line);
    free(c);
}

static void maybe_free_client(struct net_client *c)
{
    if (!c->torn_down || c->open_handles > 0 || c->live_reqs > 0 || c->freed)
        return;
    c->freed = true;
    if (c->close_cb != NULL)
        c->close_cb(c, c->close_data);
    free_client(c);
    curl_global_cleanup();
}

void net_options_init(struct net_options *opts)
{
    memset(opts, 0, sizeof(*opts));
    opts->max_concurrency = 16;
    opts->max_retries = 2;
    opts->connect_timeout_ms = 10000;
    opts->request_timeout_ms = 600000;
    opts->stall_timeout_ms = 60000;
    opts->first_byte_timeout_ms = 60000;
    opts->sink_first_byte_timeout_ms = 30000;
}

static long nonneg(long v)
{
    return v > 0 ? v : 0;
}

/* Copies the options into c. 0, SZ_EINVAL or SZ_ENOMEM. */
static int take_options(struct net_client *c, const struct net_options *o)
{
    const char *ua = o->user_agent != NULL ? o->user_agent : "sanzaru/" SZ_VERSION;
    size_t n = strlen("User-Agent: ") + strlen(ua) + 1;

    if (o->max_concurrency < 1 || o->max_retries < 0 || strpbrk(ua, "\r\n") != NULL)
        return SZ_EINVAL;
    c->user_agent_line = malloc(n);
    if (c->user_agent_line == NULL)
        return SZ_ENOMEM;
    snprintf(c->user_agent_line, n, "User-Agent: %s", ua);
    c->max_retries = o->max_retries;
    c->max_concurrency = o->max_concurrency;
    c->connect_timeout_ms = nonneg(o->connect_timeout_ms);
    c->request_timeout_ms = nonneg(o->request_timeout_ms);
    c->stall_timeout_ms = nonneg(o->stall_timeout_ms);
    c->first_byte_timeout_ms = nonneg(o->first_byte_timeout_ms);
    c->sink_first_byte_timeout_ms = nonneg(o->sink_first_byte_timeout_ms);
    c->service = o->service;
    return 0;
}

int net_client_new(uv_loop_t *loop, const struct net_options *opts, struct net_client **pclient)
{
    struct net_client *c = NULL;
    int rc = SZ_EINVAL;

    *pclient = NULL;
    if (loop == NULL || opts == NULL)
        return SZ_EINVAL;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return SZ_ENOMEM;
    c = calloc(1, sizeof(*c));
    if (c == NULL) {
        rc = SZ_ENOMEM;
        goto fail;
    }
    c->loop = loop;
    sz_list_init(&c->queue);
    sz_list_init(&c->active);
    sz_list_init(&c->waiting);
    sz_list_init(&c->sockets);
    c->rng = (uv_hrtime() ^ (uint64_t)(uintptr_t)c) | 1u;
    if ((rc = take_options(c, opts)) != 0)
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
    if (c != NULL)
        free_client(c);
    curl_global_cleanup();
    return rc;
}

static void cancel_all(struct sz_link *head)
{
    while (!sz_list_empty(head)) {
        struct net_req *req = container_of(head->next, struct net_req, link);
        net_req_cancel(req);
        if (head->next == &req->link)
            break; /* stays listed until its deferred removal (inside curl) */
    }
}

void net_client_close(struct net_client *c, net_close_fn *cb, void *data)
{
    struct sz_link *l, *next;

    if (c == NULL || c->closing)
        return;
    c->closing = true;
    c->close_cb = cb;
    c->close_data = data;
    cancel_all(&c->queue);
    cancel_all(&c->waiting);
    /* Active requests: removal may have to wait for the curl callback to return. */
    SZ_LIST_FOREACH_SAFE(l, next, &c->active)
    {
        net_req_cancel(container_of(l, struct net_req, link));
    }
    net_schedule_defer(c);
}

void net_client_stats(const struct net_client *c, struct net_stats *pstats)
{
    *pstats = c->stats;
    pstats->pending_done = c->n_finished;
}

unsigned net_client_inflight(const struct net_client *c)
{
    return c->stats.inflight;
}

unsigned net_client_queued(const struct net_client *c)
{
    return c->stats.queued;
}

void net_client_set_random(struct net_client *c, net_random_fn *fn, void *data)
{
    c->rand_fn = fn;
    c->rand_data = data;
}

/* ------------------------------------------------------------------------------------
 * Running requests */

int net_req_start(struct net_req *req, net_done_fn *done, void *data)
{
    struct net_client *c;

    if (req == NULL || done == NULL || req->state != NET_ST_NEW)
        return SZ_EINVAL;
    c = req->client;
    req->done = done;
    req->done_data = data;
    uv_timer_init(c->loop, &req->timer);
    req->timer.data = req;
    c->live_reqs++;
    c->stats.started++;

    if (c->closing) {
        req->cancelled = true; /* reads as any cancellation */
        net_complete_cancelled(req);
        return 0;
    }
    if (req->fail_err != 0) {
        net_complete(req, req->fail_err, "%s",
                     req->fail_msg != NULL ? req->fail_msg : sz_strerror(req->fail_err));
        return 0;
    }
    req->state = NET_ST_QUEUED;
    sz_list_push_back(&c->queue, &req->link);
    c->stats.queued++;
    if (c->in_curl > 0)
        net_schedule_defer(c);
    else
        net_pump(c);
    return 0;
}

void net_req_cancel(struct net_req *req)
{
    struct net_client *c;

    if (req == NULL || req->state == NET_ST_NEW || req->cancelled)
        return;
    c = req->client;
    req->cancelled = true;
    switch (req->state) {
    case NET_ST_QUEUED:
        c->stats.queued--;
        net_complete_cancelled(req);
        break;
    case NET_ST_WAIT_RETRY:
        c->stats.waiting_retry--;
        net_complete_cancelled(req);
        break;
    case NET_ST_ACTIVE:
        if (c->in_curl > 0) {
            /* Inside a curl callback: the handle cannot leave the multi now. The
             * transfer's own callbacks abort it; the timer finishes the job. */
            req->cancel_pending = true;
            uv_timer_start(&req->timer, net_req_timer_cb, 0, 0);
        } else {
            net_detach(req);
            net_complete_cancelled(req);
            net_pump(c);
        }
        break;
    case NET_ST_FINISHED: /* reported as cancelled by deliver() */
    case NET_ST_NEW:
    default:
        break;
    }
}

void net_req_resume(struct net_req *req)
{
    if (req == NULL || req->state != NET_ST_ACTIVE || req->cancelled)
        return;
    if (req->in_on_data) {
        req->resumed_in_cb = true;
        return;
    }
    if (!req->paused || req->resume_pending)
        return;
    req->resume_pending = true;
    uv_timer_start(&req->timer, net_req_timer_cb, 0, 0);
}

const char *net_req_header(const struct net_req *req, const char *name)
{
    for (size_t i = 0; i < req->n_hdrs; i++) {
        if (strcasecmp(req->hdrs[i].name, name) == 0)
            return req->hdrs[i].value;
    }
    return NULL;
}

uint64_t net_req_received(const struct net_req *req)
{
    return req->received;
}
