/* Streamable HTTP transport: libmicrohttpd in external-epoll mode under the libuv loop,
 * sessions keyed by Mcp-Session-Id, one SSE stream per pending request plus one per
 * session for unrelated messages, each with a bounded replay log for Last-Event-ID.
 *
 * Objects and lifetimes:
 * - http_transport owns the daemon, three libuv handles and the session table.
 * - http_session wraps one mcp_session. It is freed only when the engine reports it idle
 *   (mcp_session_close's on_idle); until then it is "closing" and sends nothing.
 * - http_stream is a logical SSE stream: the session's standalone stream (id 0, fed by
 *   messages that belong to no request) or one per POSTed request (fed by that request's
 *   progress, logs, server requests and finally its response). A stream outlives the
 *   HTTP connection that carries it, so a client can reattach with GET + Last-Event-ID.
 * - http_req is one HTTP request (MHD's req_cls). When it carries an SSE response it is
 *   attached to a stream and also referenced by the response, hence the refcount.
 * An SSE connection with nothing to write is suspended in the content reader and resumed
 * when its stream gets an event, a keepalive is due, or the stream goes away. */
#include "fmacros.h"

#include "transport/http.h"
#include "transport/http_int.h"
#include "app/config.h"
#include "core/err.h"
#include "core/log.h"
#include "mcp/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define SSE_LOG_BYTES  (256u * 1024u) /* replay budget per stream (a final reply is kept anyway) */
#define SSE_LOG_COUNT  1024u
#define GET_LOG_BYTES  (32u * 1024u) /* the same for the standalone GET stream */
#define GET_LOG_COUNT  64u
#define SSE_RETRY_MS   1000u
#define SSE_BLOCK      (4u * 1024u)
#define CONN_MEMORY    (16u * 1024u)      /* MHD pool per connection: headers + write buffer */
#define LINGER_MS      (5u * 60u * 1000u) /* finished streams stay resumable this long */
#define MAX_LINGERING  16u                /* finished streams kept per session */
#define DISCARD_FACTOR 4u                 /* an oversized chunked body is read this far, then cut */

static const char PING[] = ": keepalive\n\n";

enum req_kind { REQ_POST, REQ_GET, REQ_DELETE, REQ_OTHER };

struct http_session;
struct http_stream;

struct http_req {
    struct http_transport *t;
    struct MHD_Connection *conn;
    int refs; /* MHD's request (until completed) + an SSE response */
    enum req_kind kind;
    bool responded;
    bool too_large;
    bool has_sid;
    char sid[HTTP_SID_LEN + 1];
    char *body;
    size_t len;
    size_t cap;
    size_t discarded;
    /* SSE state */
    struct http_stream *stream; /* NULL once the stream is over for this connection */
    uint64_t wseq;              /* next event to write */
    size_t woff;                /* bytes of it already written */
    char prime[96];
    size_t prime_len;
    size_t prime_off;
    bool ping;
    size_t ping_off;
    bool suspended;
    bool peer_gone;   /* the watch saw the client hang up while we were suspended */
    uv_poll_t *watch; /* watches the socket for a hang-up while suspended */
    bool linked;
    uint64_t last_write;
    struct http_req *prev;
    struct http_req *next;
    struct http_session *owned; /* stateless: the session this request alone uses */
};

/* One TCP connection, tracked so a client that takes too long to send a whole request
 * (headers and body, slowly, to hold a connection slot) can be cut off: MHD's own
 * timeout only measures silence. */
struct http_conn {
    struct http_conn *prev;
    struct http_conn *next;
    int fd;
    bool reading; /* between the start of a request and the end of its body */
    bool cut;
    uint64_t since; /* when the current request (or the connection) started */
};

struct http_stream {
    struct http_session *s;
    struct http_stream *next;
    uint64_t id;
    json_t *request_id; /* NULL for the standalone stream */
    bool finished;
    bool cancelled; /* the client cancelled the request: nothing more will come */
    struct http_sse_log log;
    uint64_t written;      /* highest seq written out in full */
    struct http_req *conn; /* the connection carrying it, if any */
    uint64_t idle_since;
};

struct http_session {
    struct http_transport *t;
    struct mcp_session *ms;
    char id[HTTP_SID_LEN + 1];
    struct http_session *hnext;
    struct http_session *prev;
    struct http_session *next;
    uint64_t last_used;
    struct http_stream *streams;
    struct http_stream *get;
    struct http_stream *solo; /* stateless: the one POST stream */
    uint64_t next_stream_id;
    struct http_stream *handling; /* stream of the request being handled right now */
    bool in_handle;
    char *invalid; /* error reply sent for a message that had no stream */
    size_t invalid_len;
    bool stateless;
    bool closing;
    bool registered;
};

struct http_transport {
    uv_loop_t *loop;
    struct mcp_server *server;
    struct http_options o;
    char *host;
    char *path;
    char *token;
    char *origins;
    struct MHD_Daemon *d;
    uv_poll_t poll;
    uv_timer_t timer;
    uv_timer_t sweep;
    int open_handles;
    bool kicked;
    bool loopback;
    unsigned port;
    uint64_t sweep_ms;
    struct http_session **buckets;
    size_t nbuckets;
    struct http_session *sessions;
    size_t nsessions;
    size_t nclosing;
    struct http_req *sse;
    struct http_conn *conns;
    bool closing;
    bool finishing;
    http_closed_fn *closed_cb;
    void *closed_data;
    char mhd_error[256];
};

static void session_close(struct http_session *s);
static void on_timer(uv_timer_t *h);

/* ---- options --------------------------------------------------------------- */

void http_options_init(struct http_options *o)
{
    memset(o, 0, sizeof(*o));
    o->host = "127.0.0.1";
    o->port = 8000;
    o->path = "/mcp";
    o->max_body = 4u * 1024u * 1024u;
    o->max_sessions = 10000;
    o->max_connections = 1000;
    o->connection_timeout_s = 30;
    o->request_timeout_s = 30;
    o->session_ttl_ms = 30ull * 60ull * 1000ull;
    o->keepalive_ms = 15000;
}

static int env_num(const char *name, unsigned long long min, unsigned long long max,
                   unsigned long long *out, char *err, size_t errlen)
{
    const char *v = getenv(name);
    char *end = NULL;
    unsigned long long n;

    if (v == NULL || v[0] == '\0')
        return 0;
    errno = 0;
    n = strtoull(v, &end, 10);
    if (errno != 0 || end == v || *end != '\0' || v[0] == '-' || n < min || n > max) {
        snprintf(err, errlen, "%s must be an integer from %llu to %llu, got '%s'", name, min, max,
                 v);
        return SZ_EINVAL;
    }
    *out = n;
    return 0;
}

int http_options_load(struct http_options *o, const struct sz_config *cfg, char *err, size_t errlen)
{
    unsigned long long n;
    int rc;

    http_options_init(o);
    if (cfg != NULL) {
        o->token = cfg->http_token;
        o->allowed_origins = cfg->allowed_origins;
    }
    n = o->max_body;
    if ((rc = env_num("SANZARU_HTTP_MAX_BODY", 1024, 1ull << 30, &n, err, errlen)) != 0)
        return rc;
    o->max_body = (size_t)n;
    n = o->max_sessions;
    if ((rc = env_num("SANZARU_HTTP_MAX_SESSIONS", 1, 1000000, &n, err, errlen)) != 0)
        return rc;
    o->max_sessions = (unsigned)n;
    n = o->max_connections;
    if ((rc = env_num("SANZARU_HTTP_MAX_CONNECTIONS", 1, 1000000, &n, err, errlen)) != 0)
        return rc;
    o->max_connections = (unsigned)n;
    n = o->connection_timeout_s;
    if ((rc = env_num("SANZARU_HTTP_CONNECTION_TIMEOUT", 1, 86400, &n, err, errlen)) != 0)
        return rc;
    o->connection_timeout_s = (unsigned)n;
    n = o->request_timeout_s;
    if ((rc = env_num("SANZARU_HTTP_REQUEST_TIMEOUT", 1, 86400, &n, err, errlen)) != 0)
        return rc;
    o->request_timeout_s = (unsigned)n;
    n = o->session_ttl_ms / 1000;
    if ((rc = env_num("SANZARU_HTTP_SESSION_TTL", 1, 31ull * 86400ull, &n, err, errlen)) != 0)
        return rc;
    o->session_ttl_ms = n * 1000;
    return 0;
}

/* ---- the loop side of libmicrohttpd ----------------------------------------- */

static void run_mhd(struct http_transport *t)
{
    MHD_UNSIGNED_LONG_LONG to = 0;

    if (t->d == NULL)
        return;
    t->kicked = false;
    MHD_run(t->d);
    if (t->kicked)
        uv_timer_start(&t->timer, on_timer, 0, 0);
    else if (MHD_get_timeout(t->d, &to) == MHD_YES)
        uv_timer_start(&t->timer, on_timer, to > 3600000 ? 3600000 : (uint64_t)to, 0);
    else
        uv_timer_stop(&t->timer);
}

static void on_poll(uv_poll_t *h, int status, int events)
{
    (void)status;
    (void)events;
    run_mhd(h->data);
}

static void on_timer(uv_timer_t *h)
{
    run_mhd(h->data);
}

/* Makes MHD look at its connections again soon (after a resume), from the loop. */
static void kick(struct http_transport *t)
{
    t->kicked = true;
    if (t->d != NULL)
        uv_timer_start(&t->timer, on_timer, 0, 0);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    struct http_transport *t = cls;
    char line[256];
    size_t n;

    vsnprintf(line, sizeof(line), fmt, ap);
    n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    snprintf(t->mhd_error, sizeof(t->mhd_error), "%s", line);
    SZ_DEBUG("http: libmicrohttpd: %s", line);
}

/* ---- session table -------------------------------------------------------- */

static size_t sid_hash(const char *sid, size_t nbuckets)
{
    uint64_t h = 1469598103934665603ull;
    for (const char *p = sid; *p != '\0'; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ull;
    return (size_t)(h & (nbuckets - 1));
}

static struct http_session *session_find(struct http_transport *t, const char *sid)
{
    struct http_session *s = t->buckets[sid_hash(sid, t->nbuckets)];
    while (s != NULL && strcmp(s->id, sid) != 0)
        s = s->hnext;
    return s;
}

static void session_register(struct http_session *s)
{
    struct http_transport *t = s->t;
    size_t b = sid_hash(s->id, t->nbuckets);

    s->hnext = t->buckets[b];
    t->buckets[b] = s;
    s->prev = NULL;
    s->next = t->sessions;
    if (t->sessions != NULL)
        t->sessions->prev = s;
    t->sessions = s;
    t->nsessions++;
    s->registered = true;
}

static void session_unregister(struct http_session *s)
{
    struct http_transport *t = s->t;
    struct http_session **pp = &t->buckets[sid_hash(s->id, t->nbuckets)];

    while (*pp != NULL && *pp != s)
        pp = &(*pp)->hnext;
    if (*pp == s)
        *pp = s->hnext;
    if (s->prev != NULL)
        s->prev->next = s->next;
    else
        t->sessions = s->next;
    if (s->next != NULL)
        s->next->prev = s->prev;
    t->nsessions--;
    s->registered = false;
}

/* ---- streams ---------------------------------------------------------------- */

static struct http_stream *stream_new(struct http_session *s, const json_t *request_id)
{
    struct http_stream *st = calloc(1, sizeof(*st));
    if (st == NULL)
        return NULL;
    st->s = s;
    st->id = s->next_stream_id++;
    st->request_id = request_id ? json_deep_copy(request_id) : NULL;
    if (request_id != NULL)
        http_sse_log_init(&st->log, SSE_LOG_BYTES, SSE_LOG_COUNT);
    else /* many clients never open the GET stream: keep little for them */
        http_sse_log_init(&st->log, GET_LOG_BYTES, GET_LOG_COUNT);
    st->idle_since = uv_now(s->t->loop);
    st->next = s->streams;
    s->streams = st;
    return st;
}

static void watch_close(struct http_req *r);

/* Resumes a suspended SSE connection so MHD calls its content reader again. */
static void wake_req(struct http_req *r)
{
    watch_close(r);
    if (r->suspended) {
        r->suspended = false;
        MHD_resume_connection(r->conn);
        kick(r->t);
    }
}

/* Ends the SSE response of r (its reader returns end of stream). */
static void end_conn(struct http_req *r)
{
    if (r->stream != NULL) {
        r->stream->conn = NULL;
        r->stream->idle_since = uv_now(r->t->loop);
        r->stream = NULL;
    }
    wake_req(r);
}

static void stream_free(struct http_stream *st)
{
    struct http_session *s = st->s;
    struct http_stream **pp = &s->streams;

    while (*pp != NULL && *pp != st)
        pp = &(*pp)->next;
    if (*pp == st)
        *pp = st->next;
    if (st->conn != NULL)
        end_conn(st->conn);
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

static bool stream_drained(const struct http_stream *st, const struct http_req *r)
{
    return http_sse_log_find(&st->log, r->wseq) == NULL;
}

static struct http_stream *find_open_stream(struct http_session *s, const json_t *rid)
{
    struct http_stream *found = NULL;
    /* The list is newest first; an id reused after its request finished never matches a
     * finished stream, and among open ones the oldest is the one the engine serves. */
    for (struct http_stream *st = s->streams; st != NULL; st = st->next)
        if (!st->finished && !st->cancelled && st->request_id != NULL &&
            json_equal(st->request_id, rid))
            found = st;
    return found;
}

static struct http_stream *find_stream_id(struct http_session *s, uint64_t id)
{
    for (struct http_stream *st = s->streams; st != NULL; st = st->next)
        if (st->id == id)
            return st;
    return NULL;
}

/* Drops the oldest finished, detached streams past MAX_LINGERING. */
static void limit_lingering(struct http_session *s)
{
    size_t n = 0;
    struct http_stream *oldest = NULL;

    for (struct http_stream *st = s->streams; st != NULL; st = st->next) {
        if (st->finished && st->conn == NULL && st != s->get) {
            n++;
            oldest = st; /* newest first: the last one seen is the oldest */
        }
    }
    if (n > MAX_LINGERING && oldest != NULL)
        stream_free(oldest);
}

/* ---- the engine's send function ------------------------------------------- */

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
            st = find_open_stream(s, rid);
    }
    if (st == NULL && s->in_handle && final) {
        /* The error reply to the message being handled, which is no request we track. */
        char *copy = malloc(len + 1);
        if (copy != NULL) {
            memcpy(copy, msg, len);
            copy[len] = '\0';
            free(s->invalid);
            s->invalid = copy;
            s->invalid_len = len;
        }
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
        s->last_used = uv_now(s->t->loop);
    }
    if (st->conn != NULL)
        wake_req(st->conn);
}

/* ---- sessions ----------------------------------------------------------------- */

static struct http_session *session_new(struct http_transport *t, bool stateless)
{
    struct http_session *s = calloc(1, sizeof(*s));

    if (s == NULL)
        return NULL;
    s->t = t;
    s->stateless = stateless;
    s->last_used = uv_now(t->loop);
    if (!stateless && http_session_id_new(s->id) != 0) {
        free(s);
        return NULL;
    }
    s->get = stream_new(s, NULL);
    s->ms = mcp_session_new(t->server, on_send, s);
    if (s->get == NULL || s->ms == NULL) {
        if (s->get != NULL)
            stream_free(s->get);
        free(s);
        return NULL;
    }
    return s;
}

static void maybe_finish(struct http_transport *t);

static void on_session_idle(void *ctx)
{
    struct http_session *s = ctx;
    struct http_transport *t = s->t;

    t->nclosing--;
    free(s->invalid);
    free(s);
    maybe_finish(t);
}

/* Ends a session: its streams end, its calls are cancelled; freed when the engine is
 * idle. s must not be used after this returns. */
static void session_close(struct http_session *s)
{
    struct http_transport *t = s->t;

    if (s->closing)
        return;
    s->closing = true;
    if (s->registered)
        session_unregister(s);
    while (s->streams != NULL)
        stream_free(s->streams);
    t->nclosing++;
    mcp_session_close(s->ms, on_session_idle);
}

/* ---- responses ---------------------------------------------------------------- */

static void add_cors(struct http_req *r, struct MHD_Response *resp)
{
    const char *origin = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Origin");
    if (origin != NULL && http_origin_allowed(origin, r->t->origins)) {
        MHD_add_response_header(resp, "Access-Control-Allow-Origin", origin);
        MHD_add_response_header(resp, "Vary", "Origin");
        MHD_add_response_header(resp, "Access-Control-Expose-Headers",
                                "Mcp-Session-Id, WWW-Authenticate");
    }
}

/* Queues a buffered response. headers: NULL, or name/value pairs ending with NULL. */
static enum MHD_Result respond(struct http_req *r, unsigned status, const char *ctype,
                               const char *body, size_t len, const char *sid,
                               const char *const *headers)
{
    struct MHD_Response *resp;
    enum MHD_Result ret;

    resp = MHD_create_response_from_buffer(len, (void *)(uintptr_t)body, MHD_RESPMEM_MUST_COPY);
    if (resp == NULL)
        return MHD_NO;
    if (ctype != NULL)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    if (sid != NULL)
        MHD_add_response_header(resp, "Mcp-Session-Id", sid);
    for (size_t i = 0; headers != NULL && headers[i] != NULL; i += 2)
        MHD_add_response_header(resp, headers[i], headers[i + 1]);
    add_cors(r, resp);
    ret = MHD_queue_response(r->conn, status, resp);
    MHD_destroy_response(resp);
    r->responded = true;
    return ret;
}

/* Queues {"jsonrpc":"2.0","id":null,"error":{code,message}} with the given status. */
__attribute__((format(printf, 5, 6))) static enum MHD_Result
respond_error(struct http_req *r, unsigned status, const char *const *headers, int code,
              const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    json_t *j;
    char *text;
    enum MHD_Result ret;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    j = json_pack("{s:s, s:n, s:{s:i, s:s}}", "jsonrpc", "2.0", "id", "error", "code", code,
                  "message", msg);
    text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    SZ_DEBUG("http: %u %s", status, msg);
    ret = respond(r, status, "application/json", text ? text : "", text ? strlen(text) : 0, NULL,
                  headers);
    free(text);
    return ret;
}

static void req_unref(struct http_req *r)
{
    if (--r->refs > 0)
        return;
    free(r->body);
    free(r);
}

static void req_link(struct http_req *r)
{
    struct http_transport *t = r->t;
    r->prev = NULL;
    r->next = t->sse;
    if (t->sse != NULL)
        t->sse->prev = r;
    t->sse = r;
    r->linked = true;
}

static void req_unlink(struct http_req *r)
{
    struct http_transport *t = r->t;
    if (!r->linked)
        return;
    if (r->prev != NULL)
        r->prev->next = r->next;
    else
        t->sse = r->next;
    if (r->next != NULL)
        r->next->prev = r->prev;
    r->linked = false;
}

static void on_watch(uv_poll_t *h, int status, int events)
{
    struct http_req *r = h->data;
    (void)status;
    (void)events;
    /* The client hung up (or the socket failed) while MHD was not looking: let MHD close the
     * connection now rather than at the next keepalive. */
    r->peer_gone = true;
    wake_req(r);
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

static void watch_close(struct http_req *r)
{
    if (r->watch != NULL) {
        uv_poll_stop(r->watch);
        r->watch->data = NULL;
        uv_close((uv_handle_t *)r->watch, watch_closed);
        r->watch = NULL;
    }
}

static ssize_t sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct http_req *r = cls;
    struct http_stream *st = r->stream;
    size_t n = 0;

    (void)pos;
    if (r->peer_gone)
        return MHD_CONTENT_READER_END_WITH_ERROR;
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
    if (n > 0) {
        r->last_write = uv_now(r->t->loop);
        return (ssize_t)n;
    }
    if (st == NULL || (st->finished && stream_drained(st, r)))
        return MHD_CONTENT_READER_END_OF_STREAM;
    r->suspended = true;
    MHD_suspend_connection(r->conn);
    watch_start(r);
    return 0;
}

static void sse_free(void *cls)
{
    req_unref(cls);
}

/* Answers r with an SSE response carrying st from event number from on. */
static enum MHD_Result start_sse(struct http_req *r, struct http_stream *st, uint64_t from)
{
    struct http_session *s = st->s;
    struct MHD_Response *resp;
    enum MHD_Result ret;
    int n;

    n = snprintf(r->prime, sizeof(r->prime), "id: %" PRIu64 "-%" PRIu64 "\nretry: %u\ndata: \n\n",
                 st->id, from - 1, SSE_RETRY_MS);
    r->prime_len = n > 0 ? (size_t)n : 0;
    r->prime_off = 0;
    r->wseq = from;
    r->woff = 0;
    r->stream = st;
    st->conn = r;
    r->last_write = uv_now(r->t->loop);
    resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, SSE_BLOCK, sse_read, r, sse_free);
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
    add_cors(r, resp);
    req_link(r);
    ret = MHD_queue_response(r->conn, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    r->responded = true;
    return ret;
}

/* ---- request handling ------------------------------------------------------------ */

static const char *header(struct http_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

static bool is_json_type(const char *ctype)
{
    size_t n = strlen("application/json");
    if (ctype == NULL)
        return false;
    while (*ctype == ' ')
        ctype++;
    return strncasecmp(ctype, "application/json", n) == 0 &&
           (ctype[n] == '\0' || ctype[n] == ';' || ctype[n] == ' ');
}

static enum MHD_Result handle_get(struct http_req *r, struct http_session *s)
{
    struct http_transport *t = r->t;
    static const char *const allow_post[] = {"Allow", "POST", NULL};
    const char *last;
    struct http_stream *st = NULL;
    uint64_t sid = 0, seq = 0, from = 1;

    if (t->o.stateless)
        return respond_error(r, MHD_HTTP_METHOD_NOT_ALLOWED, allow_post, -32000,
                             "Method Not Allowed: this server is stateless and offers no GET "
                             "stream");
    if (!http_accepts(header(r, "Accept"), "text/event-stream"))
        return respond_error(r, MHD_HTTP_NOT_ACCEPTABLE, NULL, -32000,
                             "Not Acceptable: GET needs Accept: text/event-stream");
    if (s == NULL)
        return respond_error(r, MHD_HTTP_BAD_REQUEST, NULL, -32000,
                             "Bad Request: Mcp-Session-Id header is required");
    last = header(r, "Last-Event-ID");
    if (last != NULL && http_parse_event_id(last, &sid, &seq)) {
        st = find_stream_id(s, sid);
        from = seq + 1;
    }
    if (st == NULL) {
        st = s->get;
        if (st == NULL)
            return respond_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL, -32603,
                                 "Internal error: the session has no stream");
        if (st->conn != NULL)
            return respond_error(r, MHD_HTTP_CONFLICT, NULL, -32000,
                                 "Conflict: this session already has a GET stream; resume it "
                                 "with Last-Event-ID");
        from = st->written + 1;
    } else if (st->conn != NULL) {
        end_conn(st->conn); /* the client came back on a new connection */
    }
    s->last_used = uv_now(t->loop);
    return start_sse(r, st, from);
}

static enum MHD_Result handle_delete(struct http_req *r, struct http_session *s)
{
    static const char *const allow_post[] = {"Allow", "POST", NULL};

    if (r->t->o.stateless)
        return respond_error(r, MHD_HTTP_METHOD_NOT_ALLOWED, allow_post, -32000,
                             "Method Not Allowed: this server is stateless and has no sessions");
    if (s == NULL)
        return respond_error(r, MHD_HTTP_BAD_REQUEST, NULL, -32000,
                             "Bad Request: Mcp-Session-Id header is required");
    SZ_DEBUG("http: session %.8s… deleted by the client", s->id);
    session_close(s);
    return respond(r, MHD_HTTP_OK, NULL, "", 0, NULL, NULL);
}

/* notifications/cancelled: the engine sends nothing more for that request, so its stream
 * is over. Its connection is left open, as the client expects (a stream that ends without
 * a response invites a resumption attempt), and the stream is freed with the connection. */
static void mark_cancelled(struct http_session *s, const json_t *msg)
{
    const char *method = json_string_value(json_object_get(msg, "method"));
    const json_t *rid = json_object_get(json_object_get(msg, "params"), "requestId");
    struct http_stream *st;

    if (rid == NULL || method == NULL || strcmp(method, "notifications/cancelled") != 0)
        return;
    st = find_open_stream(s, rid);
    if (st != NULL) {
        st->cancelled = true;
        if (st->conn == NULL)
            stream_free(st);
    }
}

/* The body of a POST is complete: hand the message to a session and answer. */
static enum MHD_Result handle_post(struct http_req *r)
{
    struct http_transport *t = r->t;
    struct http_session *s = NULL;
    struct http_stream *st = NULL;
    json_t *msg = NULL;
    json_t *method;
    json_t *id = NULL;
    bool is_init = false;
    bool is_request = false;
    bool new_session = false;
    const char *proto = header(r, "MCP-Protocol-Version");
    enum mcp_msg_kind kind;
    enum MHD_Result ret;

    if (r->too_large)
        return respond_error(r, MHD_HTTP_CONTENT_TOO_LARGE, NULL, -32000,
                             "Payload Too Large: the body exceeds %zu bytes", t->o.max_body);
    msg = json_loadb(r->body ? r->body : "", r->len, 0, NULL);
    if (json_is_object(msg)) {
        method = json_object_get(msg, "method");
        id = json_object_get(msg, "id");
        is_request = json_is_string(method) && id != NULL;
        is_init = is_request && strcmp(json_string_value(method), "initialize") == 0;
    }

    if (t->o.stateless) {
        s = session_new(t, true);
        if (s == NULL) {
            ret = respond_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL, -32603,
                                "Internal error: out of memory");
            goto out;
        }
        r->owned = s;
        if (!is_init)
            mcp_session_set_stateless(s->ms, http_protocol_version_supported(proto) ? proto
                                                                                    : "2025-03-26");
    } else if (r->has_sid) {
        s = session_find(t, r->sid);
        if (s == NULL) {
            ret = respond_error(r, MHD_HTTP_NOT_FOUND, NULL, -32001,
                                "Session not found: it expired or was deleted; initialize a new "
                                "session");
            goto out;
        }
    } else if (is_init) {
        if (t->nsessions >= t->o.max_sessions) {
            static const char *const retry[] = {"Retry-After", "5", NULL};
            ret = respond_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, retry, -32000,
                                "Service Unavailable: too many sessions (%u); try again later",
                                t->o.max_sessions);
            goto out;
        }
        s = session_new(t, false);
        if (s == NULL) {
            ret = respond_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL, -32603,
                                "Internal error: could not create a session");
            goto out;
        }
        session_register(s);
        new_session = true;
    } else if (msg == NULL) {
        ret = respond_error(r, MHD_HTTP_BAD_REQUEST, NULL, MCP_PARSE_ERROR,
                            "Parse error: the body is not valid JSON");
        goto out;
    } else {
        ret = respond_error(r, MHD_HTTP_BAD_REQUEST, NULL, -32000,
                            "Bad Request: Mcp-Session-Id header is required (initialize first)");
        goto out;
    }

    s->last_used = uv_now(t->loop);
    if (is_request) {
        st = stream_new(s, id);
        if (st == NULL) {
            ret = respond_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL, -32603,
                                "Internal error: out of memory");
            goto out;
        }
        if (s->stateless)
            s->solo = st;
    }
    free(s->invalid);
    s->invalid = NULL;
    s->handling = st;
    s->in_handle = true;
    kind = mcp_session_handle(s->ms, r->body ? r->body : "", r->len);
    s->in_handle = false;
    st = s->handling; /* NULL if the stream went away meanwhile */
    s->handling = NULL;

    switch (kind) {
    case MCP_MSG_NOTIFICATION:
        if (st != NULL)
            stream_free(st);
        mark_cancelled(s, msg);
        ret = respond(r, MHD_HTTP_ACCEPTED, NULL, "", 0, s->stateless ? NULL : s->id, NULL);
        break;
    case MCP_MSG_INVALID:
        if (st != NULL && st->log.tail != NULL && st->log.tail->final) {
            const struct http_event *ev = st->log.tail;
            ret = respond(r, MHD_HTTP_BAD_REQUEST, "application/json", ev->text + ev->data_off,
                          ev->data_len, NULL, NULL);
        } else if (s->invalid != NULL) {
            ret = respond(r, MHD_HTTP_BAD_REQUEST, "application/json", s->invalid, s->invalid_len,
                          NULL, NULL);
        } else {
            ret = respond_error(r, MHD_HTTP_BAD_REQUEST, NULL, MCP_INVALID_REQUEST,
                                "Invalid Request");
        }
        if (st != NULL)
            stream_free(st);
        if (new_session) {
            session_close(s);
            s = NULL;
        }
        break;
    case MCP_MSG_REQUEST:
    default:
        if (st == NULL) {
            ret = respond_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL, -32603,
                                "Internal error: the request has no stream");
            break;
        }
        if (new_session && !mcp_session_initialized(s->ms) && st->finished) {
            /* initialize failed: answer its error and forget the session */
            const struct http_event *ev = st->log.tail;
            ret = respond(r, MHD_HTTP_OK, "application/json", ev->text + ev->data_off, ev->data_len,
                          NULL, NULL);
            session_close(s);
            s = NULL;
            break;
        }
        if (st->finished && st->log.count == 1 && st->log.head->final) {
            const struct http_event *ev = st->log.head;
            ret = respond(r, MHD_HTTP_OK, "application/json", ev->text + ev->data_off, ev->data_len,
                          s->stateless ? NULL : s->id, NULL);
            stream_free(st);
            break;
        }
        ret = start_sse(r, st, 1);
        if (new_session)
            SZ_DEBUG("http: session %.8s… opened", s->id);
        json_decref(msg);
        return ret; /* a stateless session lives until the SSE response ends */
    }
    if (new_session && s != NULL)
        SZ_DEBUG("http: session %.8s… opened", s->id);
out:
    if (r->owned != NULL) {
        struct http_session *own = r->owned;
        r->owned = NULL;
        session_close(own);
    }
    json_decref(msg);
    return ret;
}

/* First call for a request: every check that needs only the headers. */
static enum MHD_Result on_headers(struct http_req *r, const char *url, const char *method)
{
    struct http_transport *t = r->t;
    static const char *const allow[] = {"Allow", "GET, POST, DELETE", NULL};
    static const char *const www_auth[] = {"WWW-Authenticate", "Bearer realm=\"mcp\"", NULL};
    const char *host = header(r, "Host");
    const char *origin = header(r, "Origin");
    const char *proto;
    const char *sid;
    struct http_session *s = NULL;

    if (t->closing)
        return respond_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, NULL, -32000,
                             "Service Unavailable: the server is shutting down");
    if (t->loopback && host != NULL && !http_host_is_loopback(host))
        return respond_error(r, MHD_HTTP_FORBIDDEN, NULL, -32000,
                             "Forbidden: Host '%.100s' is not a loopback name (DNS rebinding "
                             "protection)",
                             host);
    if (origin != NULL && !http_origin_allowed(origin, t->origins))
        return respond_error(r, MHD_HTTP_FORBIDDEN, NULL, -32000,
                             "Forbidden: Origin '%.100s' is not allowed (set "
                             "SANZARU_ALLOWED_ORIGINS)",
                             origin);
    if (strcmp(url, t->path) != 0)
        return respond_error(r, MHD_HTTP_NOT_FOUND, NULL, -32000,
                             "Not Found: the MCP endpoint is %s", t->path);
    if (strcmp(method, "OPTIONS") == 0) {
        static const char *const cors[] = {
            "Access-Control-Allow-Methods",
            "GET, POST, DELETE, OPTIONS",
            "Access-Control-Allow-Headers",
            "Authorization, Content-Type, Accept, Mcp-Session-Id, MCP-Protocol-Version, "
            "Last-Event-ID",
            "Access-Control-Max-Age",
            "600",
            NULL};
        return respond(r, MHD_HTTP_NO_CONTENT, NULL, "", 0, NULL, cors);
    }
    if (t->token != NULL && !http_bearer_ok(header(r, "Authorization"), t->token))
        return respond_error(r, MHD_HTTP_UNAUTHORIZED, www_auth, -32000,
                             "Unauthorized: send Authorization: Bearer <SANZARU_HTTP_TOKEN>");
    if (r->kind == REQ_OTHER)
        return respond_error(r, MHD_HTTP_METHOD_NOT_ALLOWED, allow, -32000,
                             "Method Not Allowed: use POST, GET or DELETE");
    proto = header(r, "MCP-Protocol-Version");
    if (proto != NULL && !http_protocol_version_supported(proto))
        return respond_error(r, MHD_HTTP_BAD_REQUEST, NULL, -32000,
                             "Bad Request: unsupported MCP-Protocol-Version '%.40s'", proto);
    sid = header(r, "Mcp-Session-Id");
    if (sid != NULL && !t->o.stateless) {
        if (strlen(sid) != HTTP_SID_LEN || (s = session_find(t, sid)) == NULL)
            return respond_error(r, MHD_HTTP_NOT_FOUND, NULL, -32001,
                                 "Session not found: it expired or was deleted; initialize a "
                                 "new session");
        memcpy(r->sid, sid, HTTP_SID_LEN + 1);
        r->has_sid = true;
    }
    if (r->kind == REQ_GET)
        return handle_get(r, s);
    if (r->kind == REQ_DELETE)
        return handle_delete(r, s);

    /* POST: check what can be checked before the body arrives. */
    if (!http_accepts(header(r, "Accept"), "application/json") ||
        !http_accepts(header(r, "Accept"), "text/event-stream"))
        return respond_error(r, MHD_HTTP_NOT_ACCEPTABLE, NULL, -32000,
                             "Not Acceptable: the client must accept both application/json "
                             "and text/event-stream");
    if (!is_json_type(header(r, "Content-Type")))
        return respond_error(r, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, NULL, -32000,
                             "Unsupported Media Type: Content-Type must be application/json");
    {
        const char *cl = header(r, "Content-Length");
        if (cl != NULL) {
            char *end = NULL;
            unsigned long long n = strtoull(cl, &end, 10);
            if (end != cl && n > (unsigned long long)DISCARD_FACTOR * t->o.max_body) {
                /* Far too large to be worth reading: answer now and close. */
                static const char *const close_hdr[] = {"Connection", "close", NULL};
                return respond_error(r, MHD_HTTP_CONTENT_TOO_LARGE, close_hdr, -32000,
                                     "Payload Too Large: the body exceeds %zu bytes",
                                     t->o.max_body);
            }
            /* A little too large: read and drop it, then answer 413, so the client is not
             * reset while it is still sending and does see the answer. */
            if (end != cl && n > t->o.max_body)
                r->too_large = true;
            if (end != cl && n > 0 && n <= t->o.max_body) {
                r->body = malloc((size_t)n);
                r->cap = r->body ? (size_t)n : 0;
            }
        }
    }
    return MHD_YES;
}

static enum MHD_Result on_body(struct http_req *r, const char *data, size_t *size)
{
    size_t n = *size;
    *size = 0;
    if (r->too_large || r->len + n > r->t->o.max_body) {
        r->too_large = true;
        r->discarded += n;
        /* Stop reading a body far past the limit: drop the connection. */
        return r->discarded > (size_t)DISCARD_FACTOR * r->t->o.max_body ? MHD_NO : MHD_YES;
    }
    if (r->len + n > r->cap) {
        size_t cap = r->cap ? r->cap : 4096;
        char *nb;
        while (cap < r->len + n)
            cap *= 2;
        if (cap > r->t->o.max_body)
            cap = r->t->o.max_body;
        nb = realloc(r->body, cap);
        if (nb == NULL)
            return MHD_NO;
        r->body = nb;
        r->cap = cap;
    }
    memcpy(r->body + r->len, data, n);
    r->len += n;
    return MHD_YES;
}

/* ---- connections: the whole-request deadline ---------------------------------- */

static void on_connection(void *cls, struct MHD_Connection *connection, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    struct http_transport *t = cls;
    struct http_conn *c = *socket_context;

    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
        c = calloc(1, sizeof(*c));
        if (c == NULL || ci == NULL) {
            free(c);
            return;
        }
        c->fd = ci->connect_fd;
        c->reading = true;
        c->since = uv_now(t->loop);
        c->next = t->conns;
        if (t->conns != NULL)
            t->conns->prev = c;
        t->conns = c;
        *socket_context = c;
        return;
    }
    if (c == NULL)
        return;
    /* MHD closes the fd only after this returns, so the sweep never touches a stale fd. */
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        t->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    free(c);
    *socket_context = NULL;
}

static struct http_conn *conn_of(struct MHD_Connection *connection)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(connection, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci != NULL ? ci->socket_context : NULL;
}

/* Marks where the connection is: reading a request, or past it (answering). */
static void conn_reading(struct http_transport *t, struct MHD_Connection *connection, bool reading)
{
    struct http_conn *c = conn_of(connection);
    if (c == NULL || c->reading == reading)
        return;
    c->reading = reading;
    c->since = uv_now(t->loop);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **req_cls)
{
    struct http_transport *t = cls;
    struct http_req *r = *req_cls;
    enum MHD_Result ret;

    (void)version;
    if (r == NULL) {
        r = calloc(1, sizeof(*r));
        if (r == NULL)
            return MHD_NO;
        r->t = t;
        r->conn = conn;
        r->refs = 1;
        if (strcmp(method, "POST") == 0)
            r->kind = REQ_POST;
        else if (strcmp(method, "GET") == 0)
            r->kind = REQ_GET;
        else if (strcmp(method, "DELETE") == 0)
            r->kind = REQ_DELETE;
        else
            r->kind = REQ_OTHER;
        *req_cls = r;
        ret = on_headers(r, url, method);
        if (r->responded)
            conn_reading(t, conn, false);
        return ret;
    }
    if (r->responded) {
        *upload_size = 0; /* a body after an early answer is ignored */
        return MHD_YES;
    }
    if (*upload_size > 0)
        return on_body(r, upload, upload_size);
    conn_reading(t, conn, false); /* the whole request is in */
    if (r->kind != REQ_POST)
        return respond_error(r, MHD_HTTP_BAD_REQUEST, NULL, -32000, "Bad Request");
    return handle_post(r);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct http_req *r = *req_cls;

    /* MHD frees the connection at the end of this run and only then may listen again when it
     * was at its connection limit: run it once more right after. */
    kick(cls);
    conn_reading(cls, conn, true); /* a kept-alive connection waits for its next request */
    if (r == NULL)
        return;
    *req_cls = NULL;
    if (r->stream != NULL) {
        struct http_stream *st = r->stream;
        struct http_session *s = st->s;
        bool done = toe == MHD_REQUEST_TERMINATED_COMPLETED_OK && st->finished &&
                    stream_drained(st, r) && r->woff == 0;
        st->conn = NULL;
        st->idle_since = uv_now(r->t->loop);
        r->stream = NULL;
        s->last_used = st->idle_since;
        if ((done || st->cancelled) && st != s->get)
            stream_free(st);
        else if (st->finished)
            limit_lingering(s);
    }
    r->suspended = false;
    watch_close(r);
    req_unlink(r);
    if (r->owned != NULL) {
        struct http_session *own = r->owned;
        r->owned = NULL;
        session_close(own); /* stateless: the request is over, so is its session */
    }
    req_unref(r);
}

/* ---- sweeping: idle sessions, keepalives, lingering streams --------------------- */

static void on_sweep(uv_timer_t *h)
{
    struct http_transport *t = h->data;
    uint64_t now = uv_now(t->loop);
    struct http_session *s, *next;

    for (struct http_conn *c = t->conns; c != NULL; c = c->next) {
        if (c->reading && !c->cut && now - c->since >= (uint64_t)t->o.request_timeout_s * 1000) {
            /* shutdown, not close: the fd stays MHD's, which then sees the end and closes */
            SZ_DEBUG("http: a request took over %u s to arrive; connection cut",
                     t->o.request_timeout_s);
            shutdown(c->fd, SHUT_RDWR);
            c->cut = true;
        }
    }
    for (struct http_req *r = t->sse; r != NULL; r = r->next) {
        if (r->stream != NULL && now - r->last_write >= t->o.keepalive_ms && !r->ping) {
            r->ping = true;
            r->last_write = now;
            wake_req(r);
        }
    }
    for (s = t->sessions; s != NULL; s = next) {
        bool attached = false;
        struct http_stream *st, *stnext;
        next = s->next;
        for (st = s->streams; st != NULL; st = stnext) {
            stnext = st->next;
            if (st->conn != NULL)
                attached = true;
            else if (st->cancelled ||
                     (st->finished && st != s->get && now - st->idle_since >= LINGER_MS))
                stream_free(st);
        }
        if (!attached && mcp_session_calls_in_flight(s->ms) == 0 &&
            now - s->last_used >= t->o.session_ttl_ms) {
            SZ_INFO("http: session %.8s… expired after %" PRIu64 " s idle", s->id,
                    (now - s->last_used) / 1000);
            session_close(s);
        }
    }
}

/* ---- start and stop ---------------------------------------------------------------- */

static void on_handle_closed(uv_handle_t *h)
{
    struct http_transport *t = h->data;
    if (--t->open_handles > 0)
        return;
    if (t->closed_cb != NULL)
        t->closed_cb(t->closed_data);
    free(t->buckets);
    free(t->host);
    free(t->path);
    free(t->token);
    free(t->origins);
    free(t);
}

static void on_finish(uv_timer_t *h)
{
    struct http_transport *t = h->data;

    for (struct http_req *r = t->sse; r != NULL; r = r->next)
        wake_req(r);
    uv_poll_stop(&t->poll);
    uv_timer_stop(&t->timer);
    uv_timer_stop(&t->sweep);
    if (t->d != NULL) {
        MHD_stop_daemon(t->d);
        t->d = NULL;
    }
    uv_close((uv_handle_t *)&t->poll, on_handle_closed);
    uv_close((uv_handle_t *)&t->timer, on_handle_closed);
    uv_close((uv_handle_t *)&t->sweep, on_handle_closed);
}

static void maybe_finish(struct http_transport *t)
{
    if (!t->closing || t->finishing || t->nclosing > 0 || t->nsessions > 0)
        return;
    t->finishing = true;
    uv_timer_start(&t->sweep, on_finish, 0, 0);
}

void http_transport_close(struct http_transport *t, http_closed_fn *cb, void *data)
{
    if (t == NULL || t->closing)
        return;
    t->closing = true;
    t->closed_cb = cb;
    t->closed_data = data;
    if (t->d != NULL) {
        MHD_socket fd = MHD_quiesce_daemon(t->d);
        if (fd != MHD_INVALID_SOCKET)
            close(fd);
    }
    uv_timer_stop(&t->sweep);
    while (t->sessions != NULL)
        session_close(t->sessions);
    for (struct http_req *r = t->sse; r != NULL; r = r->next) {
        struct http_session *own = r->owned;
        r->owned = NULL;
        end_conn(r);
        if (own != NULL)
            session_close(own);
    }
    maybe_finish(t);
}

unsigned http_transport_port(const struct http_transport *t)
{
    return t->port;
}

size_t http_transport_session_count(const struct http_transport *t)
{
    return t->nsessions;
}

static char *dup_or_null(const char *s)
{
    return (s != NULL && s[0] != '\0') ? strdup(s) : NULL;
}

/* Resolves host to one address, preferring IPv4 (so "localhost" serves 127.0.0.1). */
static int resolve(const char *host, unsigned port, struct sockaddr_storage *ss, char *err,
                   size_t errlen)
{
    struct addrinfo hints, *res = NULL, *pick = NULL;
    int rc;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    rc = getaddrinfo(host, NULL, &hints, &res);
    if (rc != 0) {
        snprintf(err, errlen, "cannot resolve --host %s: %s", host, gai_strerror(rc));
        return SZ_EINVAL;
    }
    for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next)
        if (ai->ai_family == AF_INET && pick == NULL)
            pick = ai;
    for (struct addrinfo *ai = res; ai != NULL && pick == NULL; ai = ai->ai_next)
        if (ai->ai_family == AF_INET6)
            pick = ai;
    if (pick == NULL || pick->ai_addrlen > sizeof(*ss)) {
        freeaddrinfo(res);
        snprintf(err, errlen, "--host %s has no IPv4 or IPv6 address", host);
        return SZ_EINVAL;
    }
    memset(ss, 0, sizeof(*ss));
    memcpy(ss, pick->ai_addr, pick->ai_addrlen);
    if (ss->ss_family == AF_INET)
        ((struct sockaddr_in *)(void *)ss)->sin_port = htons((uint16_t)port);
    else
        ((struct sockaddr_in6 *)(void *)ss)->sin6_port = htons((uint16_t)port);
    freeaddrinfo(res);
    return 0;
}

int http_transport_start(uv_loop_t *loop, struct mcp_server *server,
                         const struct http_options *opts, struct http_transport **pt, char *err,
                         size_t errlen)
{
    struct http_transport *t = NULL;
    struct sockaddr_storage ss;
    const union MHD_DaemonInfo *info;
    unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    char addr[INET6_ADDRSTRLEN];
    size_t nb = 64;
    int rc = SZ_EINVAL;
    int epfd;

    *pt = NULL;
    if (opts->port > 65535) {
        snprintf(err, errlen, "--port must be from 0 to 65535");
        return SZ_EINVAL;
    }
    if ((rc = resolve(opts->host ? opts->host : "127.0.0.1", opts->port, &ss, err, errlen)) != 0)
        return rc;
    t = calloc(1, sizeof(*t));
    if (t == NULL)
        return SZ_ENOMEM;
    t->loop = loop;
    t->server = server;
    t->o = *opts;
    t->loopback = http_addr_is_loopback((const struct sockaddr *)&ss);
    t->host = strdup(opts->host ? opts->host : "127.0.0.1");
    t->path = strdup(opts->path ? opts->path : "/mcp");
    t->token = dup_or_null(opts->token);
    t->origins = dup_or_null(opts->allowed_origins);
    t->o.host = t->host;
    t->o.path = t->path;
    t->o.token = t->token;
    t->o.allowed_origins = t->origins;
    if (t->o.keepalive_ms == 0)
        t->o.keepalive_ms = 15000;
    if (t->o.session_ttl_ms == 0)
        t->o.session_ttl_ms = 30ull * 60ull * 1000ull;
    while (nb < t->o.max_sessions && nb < 65536)
        nb *= 2;
    t->nbuckets = nb;
    t->buckets = calloc(nb, sizeof(*t->buckets));
    if (t->host == NULL || t->path == NULL || t->buckets == NULL) {
        rc = SZ_ENOMEM;
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (!t->loopback && t->token == NULL && !t->o.allow_unauthenticated) {
        snprintf(err, errlen,
                 "refusing to serve %s (not a loopback address) without SANZARU_HTTP_TOKEN; set "
                 "a token, or pass --allow-unauthenticated if something else guards the door",
                 t->host);
        rc = SZ_EINVAL;
        goto fail;
    }
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    t->d = MHD_start_daemon(
        flags, (uint16_t)opts->port, NULL, NULL, on_request, t, MHD_OPTION_EXTERNAL_LOGGER, mhd_log,
        t, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)t->o.max_connections, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONN_MEMORY,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)t->o.connection_timeout_s,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, t, MHD_OPTION_NOTIFY_CONNECTION, on_connection,
        t, MHD_OPTION_END);
    if (t->d == NULL) {
        snprintf(err, errlen, "cannot listen on %s port %u: %s", t->host, opts->port,
                 t->mhd_error[0] ? t->mhd_error : "libmicrohttpd failed to start");
        rc = SZ_EIO;
        goto fail;
    }
    info = MHD_get_daemon_info(t->d, MHD_DAEMON_INFO_EPOLL_FD);
    epfd = info ? info->epoll_fd : -1;
    info = MHD_get_daemon_info(t->d, MHD_DAEMON_INFO_BIND_PORT);
    t->port = info ? info->port : opts->port;
    if (epfd < 0) {
        snprintf(err, errlen, "libmicrohttpd has no epoll fd");
        rc = SZ_EIO;
        goto fail;
    }
    uv_poll_init(loop, &t->poll, epfd);
    uv_timer_init(loop, &t->timer);
    uv_timer_init(loop, &t->sweep);
    t->poll.data = t->timer.data = t->sweep.data = t;
    t->open_handles = 3;
    uv_poll_start(&t->poll, UV_READABLE, on_poll);
    {
        uint64_t base =
            t->o.session_ttl_ms < t->o.keepalive_ms ? t->o.session_ttl_ms : t->o.keepalive_ms;
        if (t->o.request_timeout_s == 0)
            t->o.request_timeout_s = 30;
        if ((uint64_t)t->o.request_timeout_s * 1000 < base)
            base = (uint64_t)t->o.request_timeout_s * 1000;
        t->sweep_ms = base / 4;
        if (t->sweep_ms < 100)
            t->sweep_ms = 100;
        if (t->sweep_ms > 5000)
            t->sweep_ms = 5000;
    }
    uv_timer_start(&t->sweep, on_sweep, t->sweep_ms, t->sweep_ms);
    kick(t);
    if (ss.ss_family == AF_INET6)
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)(void *)&ss)->sin6_addr, addr, sizeof(addr));
    else
        inet_ntop(AF_INET, &((struct sockaddr_in *)(void *)&ss)->sin_addr, addr, sizeof(addr));
    SZ_INFO("http: listening on http://%s%s%s:%u%s%s%s", ss.ss_family == AF_INET6 ? "[" : "", addr,
            ss.ss_family == AF_INET6 ? "]" : "", t->port, t->path,
            t->o.stateless ? " (stateless)" : "", t->token ? " (bearer token required)" : "");
    *pt = t;
    return 0;
fail:
    if (t->d != NULL)
        MHD_stop_daemon(t->d);
    free(t->buckets);
    free(t->host);
    free(t->path);
    free(t->token);
    free(t->origins);
    free(t);
    return rc;
}
