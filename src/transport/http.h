/* Streamable HTTP transport (MCP 2025-11-25) on libmicrohttpd, driven by the libuv loop.
 *
 * One endpoint (default /mcp) takes POST (one JSON-RPC message per request), GET (an SSE
 * stream for messages that belong to no request, and resumption of any stream with
 * Last-Event-ID) and DELETE (ends a session). Each client gets an mcp_session of the
 * engine behind an Mcp-Session-Id issued at initialize, unless the transport runs
 * stateless. A request whose reply is ready before mcp_session_handle returns is answered
 * with one JSON body; any other request gets an SSE stream that carries its progress,
 * logs and server-to-client requests and ends with its response.
 *
 * libmicrohttpd runs without threads of its own: its epoll fd is watched by a uv_poll and
 * its timeout by a uv_timer, so every callback, and all protocol work, runs on the loop
 * thread. SSE connections that have nothing to send are suspended, and resumed when the
 * engine sends.
 *
 * Security: optional bearer token (401 + WWW-Authenticate), Origin allow-list (403), Host
 * check when bound to loopback (403, against DNS rebinding), refusal to listen on a
 * non-loopback address without a token unless allowed explicitly. Limits: body size (413),
 * sessions (the least recently used idle one makes room; 503 when none is idle),
 * connections in all and per client address (an idle one makes room; 503 when none is
 * idle), deadlines for request headers, whole requests and silence. See docs/http.md and
 * docs/security.md.
 *
 * Thread: everything here runs on the loop thread. */
#ifndef SZ_TRANSPORT_HTTP_H
#define SZ_TRANSPORT_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct mcp_server;
struct http_transport;

struct http_options {
    const char *host;            /* address or name to bind; default "127.0.0.1" */
    unsigned port;               /* default 8000; 0 picks a free port (see http_transport_port) */
    const char *path;            /* endpoint path; default "/mcp" */
    bool stateless;              /* --stateless: no sessions; GET and DELETE answer 405 */
    bool allow_unauthenticated;  /* --allow-unauthenticated: non-loopback bind without token */
    const char *token;           /* SANZARU_HTTP_TOKEN, or NULL: no authentication */
    const char *allowed_origins; /* SANZARU_ALLOWED_ORIGINS: comma separated; "*" = any */
    size_t max_body;             /* SANZARU_HTTP_MAX_BODY bytes; default 4 MiB */
    unsigned max_sessions;       /* SANZARU_HTTP_MAX_SESSIONS; default 10000 */
    unsigned max_connections;    /* SANZARU_HTTP_MAX_CONNECTIONS; default 1000 */
    unsigned max_client_connections; /* SANZARU_HTTP_MAX_CLIENT_CONNECTIONS: from one client
                                        address (IPv4, or IPv6 /64); default 256 */
    unsigned connection_timeout_s;   /* SANZARU_HTTP_CONNECTION_TIMEOUT; idle seconds, default 30 */
    unsigned header_timeout_s;       /* SANZARU_HTTP_HEADER_TIMEOUT: seconds to send a request's
                                        headers, from connecting or the previous answer;
                                        default 10 */
    unsigned request_timeout_s;      /* SANZARU_HTTP_REQUEST_TIMEOUT: seconds to send a whole
                                        request, headers and body; default 30 */
    uint64_t session_ttl_ms;         /* SANZARU_HTTP_SESSION_TTL (seconds); default 30 min */
    uint64_t keepalive_ms;           /* SSE comment on idle streams; default 15 s */
};

/* Fills *o with the defaults above (host/path/token/origins point to static or NULL). The
 * transport reads no environment: app/ maps the SANZARU_HTTP_* variables onto these
 * fields (sz_config_http). */
void http_options_init(struct http_options *o);

/* Binds and starts serving on loop. server is borrowed and must outlive the transport.
 * opts is copied (strings too). On success returns 0 and sets *pt. On failure returns a
 * negative code and writes a one-line reason to err: a bad host, a port in use, or a
 * non-loopback address without a token and without allow_unauthenticated. Logs one INFO
 * line "http: listening on http://HOST:PORT/PATH". */
int http_transport_start(uv_loop_t *loop, struct mcp_server *server,
                         const struct http_options *opts, struct http_transport **pt, char *err,
                         size_t errlen);

/* The bound port (useful with port 0). */
unsigned http_transport_port(const struct http_transport *t);

/* Open sessions (registered, not yet closing). */
size_t http_transport_session_count(const struct http_transport *t);

/* Shuts down: stops accepting, ends every SSE stream, closes every session (their calls
 * are cancelled), waits until the engine reports each session idle, stops the daemon and
 * closes the libuv handles; then calls cb(data) and frees t. Idempotent: a second call
 * does nothing. The loop must keep running until cb. */
typedef void http_closed_fn(void *data);
void http_transport_close(struct http_transport *t, http_closed_fn *cb, void *data);

#endif
