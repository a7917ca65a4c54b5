/* Internals of the HTTP transport shared by http.c and its helpers, and visible to the
 * unit tests: header checks (pure functions of strings) and the per-stream SSE event log
 * that makes streams resumable with Last-Event-ID.
 *
 * Thread: loop thread (the helpers are pure and may run anywhere). */
#ifndef SZ_TRANSPORT_HTTP_INT_H
#define SZ_TRANSPORT_HTTP_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

/* The MCP protocol versions this server speaks (for the MCP-Protocol-Version header). */
bool http_protocol_version_supported(const char *version);

/* True for 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104. */
bool http_addr_is_loopback(const struct sockaddr *sa);

/* ---- SSE event log (http_sse.c) ------------------------------------------ */

/* One SSE event: "id: S-N\nevent: message\ndata: <json>\n\n". The JSON is text[data_off,
 * data_off + data_len). */
struct http_event {
    struct http_event *next;
    uint64_t seq;
    bool final; /* carries the response that ends the stream's request */
    size_t len;
    size_t data_off;
    size_t data_len;
    char text[];
};

/* The events of one stream, oldest first, bounded: when over max_bytes or max_count the
 * oldest events are dropped, except a final one and the one numbered pinned (being written
 * right now). Sequence numbers start at 1; 0 names the priming event. */
struct http_sse_log {
    struct http_event *head;
    struct http_event *tail;
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
void http_sse_log_free(struct http_sse_log *l);

#endif
