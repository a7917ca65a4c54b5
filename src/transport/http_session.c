/* Sessions and streams of the HTTP transport (http_int.h): the session table keyed by
 * Mcp-Session-Id, the engine's send function that files every outgoing message under the
 * stream it belongs to, and the SSE responses that carry a stream to a client.
 *
 * An SSE connection with nothing to write is suspended in the content reader and resumed
 * when its stream gets an event, a keepalive is due, or the stream goes away. While it is
 * suspended MHD does not notice the client leaving, so a uv_poll watches the socket for a
 * hang-up. */
#include "fmacros.h"

#include "transport/http_int.h"
#include "core/err.h"
#include "core/log.h"
#include "mcp/server.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char PING[] = ": keepalive\n\n";

/* ---- session table -------------------------------------------------------- */

static size_t sid_hash(const char *sid, size_t nbuckets)
{
    uint64_t h = 1469598103934665603ull;
    for (const char *p = sid; *p != '\0'; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ull;
    return (size_t)(h & (nbuckets - 1));
}

struct http_session *http_session_find(struct http_transport *t, const char *sid)
{
    struct sz_link *head = &t->buckets[sid_hash(sid, t->nbuckets)];
    struct sz_link *pos;

    SZ_LIST_FOREACH(pos, head)
    {
        struct http_session *s = container_of(pos, struct http_session, hlink);
        if (strcmp(s->id, sid) == 0)
            return s;
    }
    return NULL;
}

void http_session_register(struct http_session *s)
{
    struct http_transport *t = s->t;

    sz_list_push_front(&t->buckets[sid_hash(s->id, t->nbuckets)], &s->hlink);
    sz_list_push_back(&t->sessions, &s->link);
    t->nsessions++;
    s->registered = true;
}

void http_session_touch(struct http_session *s)
{
    s->last_used = uv_now(s->t->loop);
    if (s->registered) { /* most recently used last */
        sz_list_remove(&s->link);
        sz_list_push_back(&s->t->sessions, &s->link);
    }
}

/* True when nothing of s is running or attached: no call in flight, no stream with a
 * connection. Such a session loses nothing but its id when it is closed. */
static bool session_idle(const struct http_session *s)
{
    struct sz_link *pos;

    if (mcp_session_calls_in_flight(s->ms) > 0)
        return false;
    SZ_LIST_FOREACH(pos, &s->streams)
    {
        if (container_of(pos, struct http_stream, link)->conn != NULL)
            return false;
    }
    return true;
}

bool http_session_evict_idle(struct http_transport *t)
{
    struct sz_link *pos;

    SZ_LIST_FOREACH(pos, &t->sessions)
    {
        struct http_session *s = container_of(pos, struct http_session, link);
        if (session_idle(s)) {
            SZ_INFO("http: session %.8s… closed to make room for a new one (the least recently "
                    "used idle session; SANZARU_HTTP_MAX_SESSIONS is %u)",
                    s->id, t->o.max_sessions);
            http_session_close(s);
            return true;
        }
    }
    return false;
}

static void session_unregister(struct http_session *s)
{
    sz_list_remove(&s->hlink);
    sz_list_remove(&s->link);
    s->t->nsessions--;
    s->registered = false;
}

/* ---- streams ---------------------------------------------------------------- */

struct http_stream *http_stream_new(struct http_session *s, const json_t *request_id)
{
    struct http_stream *st = calloc(1, sizeof(*st));
    if (st == NULL)
        return NULL;
    st->s = s;
    st->id = s->next_stream_id++;
    st->request_id = request_id ? json_deep_copy(request_id) : NULL;
    if (request_id != NULL)
        http_sse_log_init(&st->log, HTTP_SSE_LOG_BYTES, HTTP_SSE_LOG_COUNT);
    else /* many clients never open the GET stream: keep little for them */
        http_sse_log_init(&st->log, HTTP_GET_LOG_BYTES, HTTP_GET_LOG_COUNT);
    st->idle_since = uv_now(s->t->loop);
    sz_list_push_front(&s->streams, &st->link);
    return st;
}

void http_stream_free(struct http_stream *st)
{
    struct http_session *s = st->s;

    sz_list_remove(&st->link);
    if (st->conn != NULL)
        http_req_end(st->conn);
    if (s->handling == st)
        s->handling = NULL;
    if (s->get == st)
        s->get = NULL;
    if (s->solo == st)
        s->solo = NULL;
    http_sse_log_free(&st->log);
    json_decref(st->request_id);
    free(st);
}

bool http_stream_drained(const struct http_stream *st, const struct http_req *r)
{
    return http_sse_log_find(&st->log, r->wseq) == NULL;
}

struct http_stream *http_stream_find_open(struct http_session *s, const json_t *rid)
{
    struct http_stream *found = NULL;
    struct sz_link *pos;

    /* The list is newest first; an id reused after its request finished never matches a
     * finished stream, and among open ones the oldest is the one the engine serves. */
    SZ_LIST_FOREACH(pos, &s->streams)
    {
        struct http_stream *st = container_of(pos, struct http_stream, link);
        if (!st->finished && !st->cancelled && st->request_id != NULL &&
            json_equal(st->request_id, rid))
            found = st;
    }
    return found;
}

struct http_stream *http_stream_find_id(struct http_session *s, uint64_t id)
{
    struct sz_link *pos;

    SZ_LIST_FOREACH(pos, &s->streams)
    {
        struct http_stream *st = container_of(pos, struct http_stream, link);
        if (st->id == id)
            return st;
    }
    return NULL;
}

void http_stream_limit_lingering(struct http_session *s)
{
    size_t n = 0;
    struct http_stream *oldest = NULL;
    struct sz_link *pos;

    SZ_LIST_FOREACH(pos, &s->streams)
    {
        struct http_stream *st = container_of(pos, struct http_stream, link);
        if (st->finished && st->conn == NULL && st != s->get) {
            n++;
            oldest = st; /* newest first: the last one seen is the oldest */
        }
    }
    if (n > HTTP_MAX_LINGERING && oldest != NULL)
        http_stream_free(oldest);
}

/* ---- the engine's send function ------------------------------------------- */

/* Keeps the error reply to the message being handled, which is no request we track. */
static void keep_invalid(struct http_session *s, const char *msg, size_t len)
{
    char *copy = malloc(len + 1);

    if (copy == NULL)
        return;
    memcpy(copy, msg, len);
    copy[len] = '\0';
    free(s->invalid);
    s->invalid = copy;
    s->invalid_len = len;
}

static void on_send(void *ctx, const char *msg, size_t len, const json_t *rid, bool final)
{
    struct http_session *s = ctx;
    struct http_stream *st = NULL;
    uint64_t pinned = 0;

    if (s->closing)
        return;
    if (rid != NULL) {
        if (s->handling != NULL && json_equal(s->handling->request_id, rid))
            st = s->handling;
        else
            st = http_stream_find_open(s, rid);
    }
    if (st == NULL && s->in_handle && final) {
        keep_invalid(s, msg, len);
        return;
    }
    if (st == NULL) {
        if (final) {
            SZ_DEBUG("http: a response found no stream (its request is gone); dropped");
            return;
        }
        st = s->stateless ? s->solo : s->get;
        if (st == NULL)
            return;
    }
    if (st->conn != NULL && st->conn->woff > 0)
        pinned = st->conn->wseq;
    if (http_sse_log_push(&st->log, st->id, msg, len, final, pinned) != 0) {
        SZ_ERROR("http: out of memory queueing a message");
        return;
    }
    if (final) {
        st->finished = true;
        http_session_touch(s);
    }
    if (st->conn != NULL)
        http_req_wake(st->conn);
}

/* ---- sessions ----------------------------------------------------------------- */

struct http_session *http_session_new(struct http_transport *t, bool stateless)
{
    struct http_session *s = calloc(1, sizeof(*s));

    if (s == NULL)
        return NULL;
    s->t = t;
    s->stateless = stateless;
    s->last_used = uv_now(t->loop);
    sz_list_init(&s->hlink);
    sz_list_init(&s->link);
    sz_list_init(&s->streams);
    if (!stateless && http_session_id_new(s->id) != 0) {
        free(s);
        return NULL;
    }
    s->get = http_stream_new(s, NULL);
    s->ms = mcp_session_new(t->server, on_send, s);
    if (s->get == NULL || s->ms == NULL) {
        if (s->get != NULL)
            http_stream_free(s->get);
        free(s);
        return NULL;
    }
    return s;
}

static void on_session_idle(void *ctx)
{
    struct http_session *s = ctx;
    struct http_transport *t = s->t;

    t->nclosing--;
    free(s->invalid);
    free(s);
    http_maybe_finish(t);
}

void http_session_close(struct http_session *s)
{
    struct http_transport *t = s->t;
    struct sz_link *pos;

    if (s->closing)
        return;
    s->closing = true;
    if (s->registered)
        session_unregister(s);
    while ((pos = sz_list_first(&s->streams)) != NULL)
        http_stream_free(container_of(pos, struct http_stream, link));
    t->nclosing++;
    mcp_session_close(s->ms, on_session_idle);
}

/* ---- SSE connections ------------------------------------------------------------ */

void http_req_unref(struct http_req *r)
{
    if (--r->refs > 0)
        return;
    free(r->body);
    free(r);
}

static void on_watch(uv_poll_t *h, int status, int events)
{
    struct http_req *r = h->data;
    (void)status;
    (void)events;
    /* The client hung up (or the socket failed) while MHD was not looking: let MHD close the
     * connection now rather than at the next keepalive. */
    r->peer_gone = true;
    http_req_wake(r);
}

static void watch_closed(uv_handle_t *h)
{
    free(h);
}

/* While a connection is suspended MHD does not notice the client leaving, so the loop
 * watches the socket for a hang-up itself. The watch lives exactly as long as the
 * suspension and is closed on resume, while MHD still holds the fd open: closing a poll
 * handle after its fd was closed (and maybe reused) would unregister the new owner's fd. */
static void watch_start(struct http_req *r)
{
    const union MHD_ConnectionInfo *ci;

    if (r->watch != NULL)
        return;
    ci = MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (ci == NULL)
        return;
    r->watch = malloc(sizeof(*r->watch));
    if (r->watch == NULL)
        return;
    if (uv_poll_init_socket(r->t->loop, r->watch, ci->connect_fd) != 0) {
        free(r->watch);
        r->watch = NULL;
        return;
    }
    r->watch->data = r;
    uv_poll_start(r->watch, UV_DISCONNECT, on_watch);
}

void http_req_watch_close(struct http_req *r)
{
    if (r->watch != NULL) {
        uv_poll_stop(r->watch);
        r->watch->data = NULL;
        uv_close((uv_handle_t *)r->watch, watch_closed);
        r->watch = NULL;
    }
}

void http_req_wake(struct http_req *r)
{
    http_req_watch_close(r);
    if (r->suspended) {
        r->suspended = false;
        MHD_resume_connection(r->conn);
        http_kick(r->t);
    }
}

void http_req_end(struct http_req *r)
{
    if (r->stream != NULL) {
        r->stream->conn = NULL;
        r->stream->idle_since = uv_now(r->t->loop);
        r->stream = NULL;
    }
    http_req_wake(r);
}

/* Copies as much of what is owed to the client as fits: the priming event, then the
 * stream's events from r->wseq on (a partly written one first), or else a keepalive.
 * Returns the byte count. */
static size_t fill(struct http_req *r, char *buf, size_t max)
{
    struct http_stream *st = r->stream;
    size_t n = 0;

    if (r->prime_off < r->prime_len) {
        size_t k = r->prime_len - r->prime_off;
        if (k > max)
            k = max;
        memcpy(buf, r->prime + r->prime_off, k);
        r->prime_off += k;
        n += k;
    }
    while (st != NULL && n < max) {
        const struct http_event *ev = http_sse_log_find(&st->log, r->wseq);
        size_t k;
        if (ev == NULL)
            break;
        if (ev->seq != r->wseq) { /* what we were at was dropped: go on with the next */
            r->wseq = ev->seq;
            r->woff = 0;
        }
        k = ev->len - r->woff;
        if (k > max - n)
            k = max - n;
        memcpy(buf + n, ev->text + r->woff, k);
        n += k;
        r->woff += k;
        if (r->woff == ev->len) {
            if (ev->seq > st->written)
                st->written = ev->seq;
            r->wseq = ev->seq + 1;
            r->woff = 0;
        }
    }
    if (n == 0 && r->ping) {
        size_t k = sizeof(PING) - 1 - r->ping_off;
        if (k > max)
            k = max;
        memcpy(buf, PING + r->ping_off, k);
        r->ping_off += k;
        n = k;
        if (r->ping_off == sizeof(PING) - 1) {
            r->ping = false;
            r->ping_off = 0;
        }
    }
    return n;
}

static ssize_t sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct http_req *r = cls;
    struct http_stream *st = r->stream;
    size_t n;

    (void)pos;
    if (r->peer_gone)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    n = fill(r, buf, max);
    if (n > 0) {
        r->last_write = uv_now(r->t->loop);
        return (ssize_t)n;
    }
    if (st == NULL || (st->finished && http_stream_drained(st, r)))
        return MHD_CONTENT_READER_END_OF_STREAM;
    r->suspended = true;
    MHD_suspend_connection(r->conn);
    watch_start(r);
    return 0;
}

static void sse_free(void *cls)
{
    http_req_unref(cls);
}

enum MHD_Result http_start_sse(struct http_req *r, struct http_stream *st, uint64_t from)
{
    struct http_session *s = st->s;
    struct MHD_Response *resp;
    enum MHD_Result ret;
    int n;

    /* The priming event gives a legacy client an id to resume from; a modern
     * stream cannot be resumed (2026-07-28 streamable-http.mdx), so it has none. */
    n = st->modern ? 0
                   : snprintf(r->prime, sizeof(r->prime),
                              "id: %" PRIu64 "-%" PRIu64 "\nretry: %u\ndata: \n\n", st->id,
                              from - 1, HTTP_SSE_RETRY_MS);
    r->prime_len = n > 0 ? (size_t)n : 0;
    r->prime_off = 0;
    r->wseq = from;
    r->woff = 0;
    r->stream = st;
    st->conn = r;
    r->last_write = uv_now(r->t->loop);
    resp =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, HTTP_SSE_BLOCK, sse_read, r, sse_free);
    if (resp == NULL) {
        r->stream = NULL;
        st->conn = NULL;
        return MHD_NO;
    }
    r->refs++;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache, no-transform");
    MHD_add_response_header(resp, "X-Accel-Buffering", "no");
    if (!s->stateless)
        MHD_add_response_header(resp, "Mcp-Session-Id", s->id);
    http_add_cors(r, resp);
    sz_list_push_front(&r->t->sse, &r->link);
    ret = MHD_queue_response(r->conn, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    r->responded = true;
    return ret;
}
