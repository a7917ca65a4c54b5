/* Internals of the HTTP transport, shared by its files and visible to the unit tests:
 * - http.c: the loop side of libmicrohttpd (its epoll fd under a uv_poll, its timeout
 *   under a uv_timer), the sweep, start and stop;
 * - http_conn.c: the door: the listening socket, admission of each connection (caps,
 *   room made by closing idle ones, quick 503s), connection deadlines;
 * - http_request.c: the rules every request passes and the POST/GET/DELETE handlers;
 * - http_session.c: the session table, streams, the engine's send function and the SSE
 *   responses that carry streams;
 * - http_sse.c: the per-stream event log that makes streams resumable (pure);
 * - http_util.c: header checks (pure functions of strings).
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
 * - http_conn is one TCP connection (MHD's socket_context), for admission and deadlines;
 *   http_peer counts the connections of one client address.
 *
 * Thread: loop thread (the pure helpers may run anywhere). */
#ifndef SZ_TRANSPORT_HTTP_INT_H
#define SZ_TRANSPORT_HTTP_INT_H

#include <jansson.h>
#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "core/list.h"
#include "transport/http.h"

struct sockaddr;

/* ---- header helpers (http_util.c) --------------------------------------- */

/* Session ids: 128 random bits from getrandom, as 32 lowercase hex digits. */
#define HTTP_SID_LEN 32

/* True when the Accept header value lists type (e.g. "text/event-stream"), or a wildcard
 * that covers it ("text/ *", "* / *"), with a q-value other than 0. NULL is false. */
bool http_accepts(const char *accept, const char *type);

/* True when a Host header value ("name", "name:port", "[v6]:port") names this machine by a
 * loopback name: localhost, *.localhost, 127.x.y.z, [::1]. NULL is false. */
bool http_host_is_loopback(const char *host);

/* True when an Origin header value is allowed: http(s) on localhost, 127.0.0.1 or [::1]
 * with any port, or listed in extra (comma separated, compared without case; "*" allows
 * any). */
bool http_origin_allowed(const char *origin, const char *extra);

/* True when an Authorization header value is "Bearer <token>" with the given token. The
 * comparison runs in time independent of where the strings differ (both sides are hashed
 * with SHA-256 and compared with CRYPTO_memcmp). */
bool http_bearer_ok(const char *authorization, const char *token);

/* Writes HTTP_SID_LEN hex digits and a NUL to out. Returns 0 or a negative errno. */
int http_session_id_new(char out[HTTP_SID_LEN + 1]);

/* Event ids are "<stream>-<seq>" in decimal. Returns true and sets both on success. */
bool http_parse_event_id(const char *s, uint64_t *pstream, uint64_t *pseq);

/* The MCP protocol versions this server speaks, of either era (for the
 * MCP-Protocol-Version header). */
bool http_protocol_version_supported(const char *version);

/* Decodes a header value that mirrors a body value (Mcp-Name, Mcp-Param-*; MCP
 * 2026-07-28 "Value Encoding"): optional whitespace around it is dropped, and
 * "=?base64?...?=" is decoded (padded standard Base64 only). Returns 0 with
 * *pout (malloc'd, NUL-terminated; *plen bytes, which may include NULs), or
 * SZ_EINVAL for a value with characters outside visible ASCII, space and tab,
 * or bad Base64, or SZ_ENOMEM. */
int http_header_decode(const char *raw, char **pout, size_t *plen);

/* True for 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104. */
bool http_addr_is_loopback(const struct sockaddr *sa);

/* ---- SSE event log (http_sse.c) ------------------------------------------ */

/* One SSE event: "id: S-N\nevent: message\ndata: <json>\n\n". The JSON is text[data_off,
 * data_off + data_len). */
struct http_event {
    struct sz_link link;
    uint64_t seq;
    bool final; /* carries the response that ends the stream's request */
    size_t len;
    size_t data_off;
    size_t data_len;
    char text[];
};

/* The events of one stream, oldest first, bounded: when over max_bytes or max_count the
 * oldest events are dropped, except a final one, the newest one, and the one numbered
 * pinned (being written right now). Sequence numbers start at 1; 0 names the priming
 * event. */
struct http_sse_log {
    struct sz_link events;
    bool no_ids; /* modern streams are not resumable: their events carry no id */
    size_t count;
    size_t bytes;
    uint64_t next_seq;
    size_t max_bytes;
    size_t max_count;
    uint64_t dropped; /* events dropped so far */
};

void http_sse_log_init(struct http_sse_log *l, size_t max_bytes, size_t max_count);
/* Appends a copy of json as the next event of stream stream_id. pinned: sequence number
 * of an event that must not be dropped now (0: none). Returns 0 or SZ_ENOMEM. */
int http_sse_log_push(struct http_sse_log *l, uint64_t stream_id, const char *json, size_t len,
                      bool final, uint64_t pinned);
/* The first kept event whose seq >= seq, or NULL. Borrowed. */
const struct http_event *http_sse_log_find(const struct http_sse_log *l, uint64_t seq);
/* The oldest / newest kept event, or NULL when the log is empty. Borrowed. */
const struct http_event *http_sse_log_first(const struct http_sse_log *l);
const struct http_event *http_sse_log_last(const struct http_sse_log *l);
void http_sse_log_free(struct http_sse_log *l);

/* ---- the transport's objects ---------------------------------------------- */

#define HTTP_SSE_LOG_BYTES  (256u * 1024u) /* replay budget per stream (a final reply is kept) */
#define HTTP_SSE_LOG_COUNT  1024u
#define HTTP_GET_LOG_BYTES  (32u * 1024u) /* the same for the standalone GET stream */
#define HTTP_GET_LOG_COUNT  64u
#define HTTP_SSE_RETRY_MS   1000u
#define HTTP_SSE_BLOCK      (4u * 1024u)
#define HTTP_CONN_MEMORY    (16u * 1024u)      /* MHD pool per connection: headers + write buffer */
#define HTTP_LINGER_MS      (5u * 60u * 1000u) /* finished streams stay resumable this long */
#define HTTP_MAX_LINGERING  16u                /* finished streams kept per session */
#define HTTP_DISCARD_FACTOR 4u /* an oversized chunked body is read this far, then cut */

enum http_req_kind { HTTP_REQ_POST, HTTP_REQ_GET, HTTP_REQ_DELETE, HTTP_REQ_OTHER };

struct http_session;
struct http_stream;

struct http_req {
    struct http_transport *t;
    struct MHD_Connection *conn;
    int refs; /* MHD's request (until completed) + an SSE response */
    enum http_req_kind kind;
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
    uint64_t last_write;
    struct sz_link link;        /* in t->sse while it carries an SSE response */
    struct http_session *owned; /* stateless: the session this request alone uses */
};

/* Where a connection is in its request/response cycle. */
enum http_conn_state {
    HTTP_CONN_WAITING,   /* for a request's headers (new, or kept alive between requests) */
    HTTP_CONN_READING,   /* the headers are in, the body is arriving */
    HTTP_CONN_ANSWERING, /* the request is in: being answered (an SSE stream, say) */
};

/* One client address: an IPv4 address, or an IPv6 /64 ("4" or "6" then the bytes). */
#define HTTP_PEER_KEY 9
struct http_peer {
    struct sz_link hlink; /* in its bucket of t->peers */
    unsigned char key[HTTP_PEER_KEY];
    unsigned live;        /* its connections not cut */
    struct sz_link conns; /* its http_conn, oldest first */
};

/* One TCP connection, tracked so that it counts against the caps, can be closed to make
 * room while it waits for a request, and is cut when it takes too long to send one (MHD's
 * own timeout only measures silence, which a trickle of bytes defeats). */
struct http_conn {
    struct sz_link link;  /* in t->conns, oldest first */
    struct sz_link wlink; /* in t->waiting while WAITING and not cut */
    struct sz_link plink; /* in peer->conns */
    struct http_peer *peer;
    int fd;
    enum http_conn_state state;
    bool cut;       /* shut down by us; MHD closes it in its next run */
    uint64_t since; /* when it started waiting for the current request */
};

struct http_stream {
    struct http_session *s;
    struct sz_link link; /* in s->streams, newest first */
    uint64_t id;
    bool modern;        /* a 2026-07-28 request's stream: no priming event, no event ids */
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
    struct sz_link hlink; /* in its bucket of t->buckets */
    struct sz_link link;  /* in t->sessions, least recently used first */
    uint64_t last_used;
    struct sz_link streams;
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
    /* Who a stateless request's client is, for its tasks: the bearer token's
     * fingerprint, or "anonymous" without a token (docs/tasks.md). */
    char owner[80];
    struct MHD_Daemon *d;
    unsigned mhd_limit; /* MHD's own connection limit: ours plus room for cut ones */
    int epfd;           /* MHD's epoll fd, under poll */
    uv_poll_t poll;
    int lfd; /* the listening socket, under listen */
    uv_poll_t listen;
    bool listening;
    int spare_fd; /* given back to accept one connection when out of descriptors */
    uv_timer_t timer;
    uv_timer_t sweep;
    int open_handles;
    bool kicked;
    bool loopback;
    unsigned port;
    uint64_t sweep_ms;
    struct sz_link *buckets; /* session id hash table: nbuckets list heads */
    size_t nbuckets;
    struct sz_link sessions;
    size_t nsessions;
    size_t nclosing;
    struct sz_link sse;     /* http_req carrying SSE responses */
    struct sz_link conns;   /* http_conn, oldest first */
    struct sz_link waiting; /* http_conn waiting for request headers, longest first */
    unsigned live;          /* connections not cut */
    struct sz_link *peers;  /* client address hash table: npeer_buckets list heads */
    size_t npeer_buckets;
    struct sz_link refused; /* sockets answered 503, being drained */
    unsigned nrefused;
    uint64_t refusals;      /* connections answered 503 since start */
    uint64_t refuse_warned; /* when refusals were last logged */
    bool closing;
    bool finishing;
    http_closed_fn *closed_cb;
    void *closed_data;
    char mhd_error[256];
};

/* ---- the loop side (http.c) ------------------------------------------------ */

/* Makes MHD look at its connections again soon (after a resume), from the loop. */
void http_kick(struct http_transport *t);
/* Runs MHD once now (never from inside one of its callbacks). */
void http_run(struct http_transport *t);

/* Closes and frees t once every session is gone, when it is closing. */
void http_maybe_finish(struct http_transport *t);
/* The close callback of t's own handles; frees t after the last. */
void http_handle_closed(uv_handle_t *h);

/* ---- the door (http_conn.c) ---------------------------------------------------- */

/* Binds and listens on ss (not yet accepting); sets t->port. Returns 0, or SZ_EIO with
 * "cannot listen on HOST port P: why" in err. */
int http_listen_open(struct http_transport *t, const struct sockaddr_storage *ss, char *err,
                     size_t errlen);
/* Starts accepting (t->d must be running). */
void http_listen_start(struct http_transport *t);
/* Stops accepting and closes the socket (the handle counts in open_handles); idempotent. */
void http_listen_stop(struct http_transport *t);
/* MHD_OPTION_NOTIFY_CONNECTION: tracks each connection from start to close. */
void http_on_connection(void *cls, struct MHD_Connection *connection, void **socket_context,
                        enum MHD_ConnectionNotificationCode toe);
/* Records where a connection is (its headers are in, it is being answered, it waits for
 * its next request). */
void http_conn_state(struct http_transport *t, struct MHD_Connection *connection,
                     enum http_conn_state state);
/* Cuts connections past their deadlines; closes refused sockets drained long enough. */
void http_conns_sweep(struct http_transport *t, uint64_t now);

/* ---- requests (http_request.c): MHD's callbacks ------------------------------ */

enum MHD_Result http_on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                const char *method, const char *version, const char *upload,
                                size_t *upload_size, void **req_cls);
void http_on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                       enum MHD_RequestTerminationCode toe);
/* Adds the CORS headers an allowed Origin gets. */
void http_add_cors(struct http_req *r, struct MHD_Response *resp);

/* ---- sessions and streams (http_session.c) ----------------------------------- */

/* A new session (stateless: no id, no table entry). NULL when out of memory. */
struct http_session *http_session_new(struct http_transport *t, bool stateless);
/* Enters s in the table (it then counts against max_sessions). */
void http_session_register(struct http_session *s);
/* Marks s used now: it becomes the most recently used session. */
void http_session_touch(struct http_session *s);
/* Closes the least recently used session that is idle (no call in flight, no stream with
 * a connection), to make room in a full table. Returns false when every session is busy. */
bool http_session_evict_idle(struct http_transport *t);
/* The registered session with this id, or NULL. */
struct http_session *http_session_find(struct http_transport *t, const char *sid);
/* Ends a session: its streams end, its calls are cancelled; freed when the engine is
 * idle. s must not be used after this returns. */
void http_session_close(struct http_session *s);

/* A new stream of s for the request request_id (copied), or the standalone stream
 * (NULL). NULL when out of memory. */
struct http_stream *http_stream_new(struct http_session *s, const json_t *request_id);
void http_stream_free(struct http_stream *st);
/* The open stream of the request rid, or NULL. */
struct http_stream *http_stream_find_open(struct http_session *s, const json_t *rid);
/* The stream numbered id, or NULL. */
struct http_stream *http_stream_find_id(struct http_session *s, uint64_t id);
/* True when r has written every event st holds. */
bool http_stream_drained(const struct http_stream *st, const struct http_req *r);
/* Drops the oldest finished, detached streams past HTTP_MAX_LINGERING. */
void http_stream_limit_lingering(struct http_session *s);

/* Answers r with an SSE response carrying st from event number from on. */
enum MHD_Result http_start_sse(struct http_req *r, struct http_stream *st, uint64_t from);
/* Resumes a suspended SSE connection so MHD calls its content reader again. */
void http_req_wake(struct http_req *r);
/* Ends the SSE response of r (its reader returns end of stream). */
void http_req_end(struct http_req *r);
/* Stops watching r's socket for a hang-up. */
void http_req_watch_close(struct http_req *r);
void http_req_unref(struct http_req *r);

#endif
