/* Streamable HTTP transport (http.h): libmicrohttpd in external-epoll mode under the libuv
 * loop. This file is the loop side of libmicrohttpd (its epoll fd under a uv_poll, its
 * timeout under a uv_timer), the sweep (deadlines, keepalives, idle sessions, lingering
 * streams), and start and stop. Connections are accepted and admitted in http_conn.c,
 * requests handled in http_request.c, sessions and streams live in http_session.c; the
 * objects and their lifetimes are described in http_int.h. */
#include "fmacros.h"

#include "transport/http.h"
#include "transport/http_int.h"
#include "core/err.h"
#include "core/log.h"
#include "core/sha256.h"
#include "mcp/server.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

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
    o->max_client_connections = 256;
    o->connection_timeout_s = 30;
    o->header_timeout_s = 10;
    o->request_timeout_s = 30;
    o->session_ttl_ms = 30ull * 60ull * 1000ull;
    o->keepalive_ms = 15000;
}

/* ---- the loop side of libmicrohttpd ----------------------------------------- */

void http_run(struct http_transport *t)
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
    http_run(h->data);
}

static void on_timer(uv_timer_t *h)
{
    http_run(h->data);
}

void http_kick(struct http_transport *t)
{
    t->kicked = true;
    if (t->d != NULL)
        uv_timer_start(&t->timer, on_timer, 0, 0);
}

/* fmt comes from libmicrohttpd; the attribute tells the compiler so. */
__attribute__((format(printf, 2, 0))) static void mhd_log(void *cls, const char *fmt, va_list ap)
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

/* ---- sweeping: idle sessions, keepalives, lingering streams --------------------- */

/* Frees a session's finished streams once nobody can resume them, and closes the session
 * when it has been idle (no attached stream, no call in flight) past its TTL. */
static void sweep_session(struct http_transport *t, struct http_session *s, uint64_t now)
{
    bool attached = false;
    struct sz_link *pos, *tmp;

    SZ_LIST_FOREACH_SAFE(pos, tmp, &s->streams)
    {
        struct http_stream *st = container_of(pos, struct http_stream, link);
        if (st->conn != NULL)
            attached = true;
        else if (st->cancelled ||
                 (st->finished && st != s->get && now - st->idle_since >= HTTP_LINGER_MS))
            http_stream_free(st);
    }
    if (!attached && mcp_session_calls_in_flight(s->ms) == 0 &&
        now - s->last_used >= t->o.session_ttl_ms) {
        SZ_INFO("http: session %.8s… expired after %" PRIu64 " s idle", s->id,
                (now - s->last_used) / 1000);
        http_session_close(s);
    }
}

static void on_sweep(uv_timer_t *h)
{
    struct http_transport *t = h->data;
    uint64_t now = uv_now(t->loop);
    struct sz_link *pos, *tmp;

    http_conns_sweep(t, now);
    SZ_LIST_FOREACH(pos, &t->sse)
    {
        struct http_req *r = container_of(pos, struct http_req, link);
        if (r->stream != NULL && now - r->last_write >= t->o.keepalive_ms && !r->ping) {
            r->ping = true;
            r->last_write = now;
            http_req_wake(r);
        }
    }
    SZ_LIST_FOREACH_SAFE(pos, tmp, &t->sessions)
    {
        sweep_session(t, container_of(pos, struct http_session, link), now);
    }
}

/* ---- start and stop ---------------------------------------------------------------- */

static void transport_free(struct http_transport *t)
{
    free(t->buckets);
    free(t->peers);
    free(t->host);
    free(t->path);
    free(t->token);
    free(t->origins);
    free(t);
}

void http_handle_closed(uv_handle_t *h)
{
    struct http_transport *t = h->data;
    if (--t->open_handles > 0)
        return;
    if (t->closed_cb != NULL)
        t->closed_cb(t->closed_data);
    transport_free(t);
}

static void on_finish(uv_timer_t *h)
{
    struct http_transport *t = h->data;

    struct sz_link *pos;

    SZ_LIST_FOREACH(pos, &t->sse)
    {
        http_req_wake(container_of(pos, struct http_req, link));
    }
    uv_poll_stop(&t->poll);
    uv_timer_stop(&t->timer);
    uv_timer_stop(&t->sweep);
    if (t->d != NULL) {
        MHD_stop_daemon(t->d);
        t->d = NULL;
    }
    http_listen_stop(t);
    uv_close((uv_handle_t *)&t->poll, http_handle_closed);
    uv_close((uv_handle_t *)&t->timer, http_handle_closed);
    uv_close((uv_handle_t *)&t->sweep, http_handle_closed);
}

void http_maybe_finish(struct http_transport *t)
{
    if (!t->closing || t->finishing || t->nclosing > 0 || t->nsessions > 0)
        return;
    t->finishing = true;
    uv_timer_start(&t->sweep, on_finish, 0, 0);
}

void http_transport_close(struct http_transport *t, http_closed_fn *cb, void *data)
{
    struct sz_link *pos;

    if (t == NULL || t->closing)
        return;
    t->closing = true;
    t->closed_cb = cb;
    t->closed_data = data;
    http_listen_stop(t); /* new connections are refused by the kernel from now on */
    uv_timer_stop(&t->sweep);
    while ((pos = sz_list_first(&t->sessions)) != NULL)
        http_session_close(container_of(pos, struct http_session, link));
    SZ_LIST_FOREACH(pos, &t->sse)
    {
        struct http_req *r = container_of(pos, struct http_req, link);
        struct http_session *own = r->owned;
        r->owned = NULL;
        http_req_end(r);
        if (own != NULL)
            http_session_close(own);
    }
    http_maybe_finish(t);
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

/* A transport with its own copies of the options' strings and an empty session table;
 * NULL when out of memory. */

/* The owner of the tasks a request without a session creates: everyone who holds
 * the token is one client (the server has one token), so the token's SHA-256 names
 * it, and the token itself is never stored; without a token, "anonymous" (any
 * client that can reach the door, which then knows a task by its unguessable id
 * only). A legacy session is an owner of its own (the engine's default). */
static void set_owner(struct http_transport *t)
{
    char hex[SZ_SHA256_HEX_LEN + 1];
    struct sz_sha256 h;

    snprintf(t->owner, sizeof(t->owner), "anonymous");
    if (t->token == NULL || sz_sha256_init(&h) != 0)
        return;
    sz_sha256_update(&h, "sanzaru task owner:", strlen("sanzaru task owner:"));
    sz_sha256_update(&h, t->token, strlen(t->token));
    if (sz_sha256_final_hex(&h, hex) == 0)
        snprintf(t->owner, sizeof(t->owner), "bearer:%s", hex);
}

static struct http_transport *transport_new(uv_loop_t *loop, struct mcp_server *server,
                                            const struct http_options *opts,
                                            const struct sockaddr_storage *ss)
{
    struct http_transport *t = calloc(1, sizeof(*t));
    size_t nb = 64;
    size_t np = 64;

    if (t == NULL)
        return NULL;
    t->lfd = -1;
    t->spare_fd = -1;
    t->loop = loop;
    t->server = server;
    t->o = *opts;
    t->loopback = http_addr_is_loopback((const struct sockaddr *)ss);
    t->host = strdup(opts->host ? opts->host : "127.0.0.1");
    t->path = strdup(opts->path ? opts->path : "/mcp");
    t->token = dup_or_null(opts->token);
    t->origins = dup_or_null(opts->allowed_origins);
    t->o.host = t->host;
    t->o.path = t->path;
    t->o.token = t->token;
    t->o.allowed_origins = t->origins;
    set_owner(t);
    if (t->o.keepalive_ms == 0)
        t->o.keepalive_ms = 15000;
    if (t->o.session_ttl_ms == 0)
        t->o.session_ttl_ms = 30ull * 60ull * 1000ull;
    if (t->o.request_timeout_s == 0)
        t->o.request_timeout_s = 30;
    if (t->o.header_timeout_s == 0)
        t->o.header_timeout_s = 10;
    if (t->o.max_client_connections == 0)
        t->o.max_client_connections = t->o.max_connections;
    /* Cut connections hold MHD's slots until its next run, a handful at a time. */
    t->mhd_limit = t->o.max_connections + 64;
    while (nb < t->o.max_sessions && nb < 65536)
        nb *= 2;
    while (np < t->o.max_connections / 2 && np < 65536)
        np *= 2;
    t->nbuckets = nb;
    t->npeer_buckets = np;
    t->buckets = calloc(nb, sizeof(*t->buckets));
    t->peers = calloc(np, sizeof(*t->peers));
    sz_list_init(&t->sessions);
    sz_list_init(&t->sse);
    sz_list_init(&t->conns);
    sz_list_init(&t->waiting);
    sz_list_init(&t->refused);
    if (t->host == NULL || t->path == NULL || t->buckets == NULL || t->peers == NULL) {
        transport_free(t);
        return NULL;
    }
    for (size_t i = 0; i < nb; i++)
        sz_list_init(&t->buckets[i]);
    for (size_t i = 0; i < np; i++)
        sz_list_init(&t->peers[i]);
    return t;
}

/* Starts libmicrohttpd without threads or a listening socket of its own (http_conn.c
 * accepts and hands it each connection). Returns 0 or SZ_EIO with why. */
static int start_daemon(struct http_transport *t, char *err, size_t errlen)
{
    unsigned flags =
        MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG | MHD_USE_NO_LISTEN_SOCKET;
    const union MHD_DaemonInfo *info;

    t->d = MHD_start_daemon(flags, 0, NULL, NULL, http_on_request, t, MHD_OPTION_EXTERNAL_LOGGER,
                            mhd_log, t, MHD_OPTION_CONNECTION_LIMIT, t->mhd_limit,
                            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_CONN_MEMORY,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)t->o.connection_timeout_s,
                            MHD_OPTION_NOTIFY_COMPLETED, http_on_completed, t,
                            MHD_OPTION_NOTIFY_CONNECTION, http_on_connection, t, MHD_OPTION_END);
    if (t->d == NULL) {
        snprintf(err, errlen, "cannot listen on %s port %u: %s", t->host, t->o.port,
                 t->mhd_error[0] ? t->mhd_error : "libmicrohttpd failed to start");
        return SZ_EIO;
    }
    info = MHD_get_daemon_info(t->d, MHD_DAEMON_INFO_EPOLL_FD);
    t->epfd = info ? info->epoll_fd : -1;
    if (t->epfd < 0) {
        snprintf(err, errlen, "libmicrohttpd has no epoll fd");
        return SZ_EIO;
    }
    return 0;
}

/* The sweep runs often enough for the shortest of its deadlines: a quarter of it, within
 * [100 ms, 5 s]. */
static uint64_t sweep_interval(const struct http_transport *t)
{
    uint64_t base =
        t->o.session_ttl_ms < t->o.keepalive_ms ? t->o.session_ttl_ms : t->o.keepalive_ms;
    uint64_t ms;

    if ((uint64_t)t->o.request_timeout_s * 1000 < base)
        base = (uint64_t)t->o.request_timeout_s * 1000;
    if ((uint64_t)t->o.header_timeout_s * 1000 < base)
        base = (uint64_t)t->o.header_timeout_s * 1000;
    ms = base / 4;
    if (ms < 100)
        ms = 100;
    if (ms > 5000)
        ms = 5000;
    return ms;
}

int http_transport_start(uv_loop_t *loop, struct mcp_server *server,
                         const struct http_options *opts, struct http_transport **pt, char *err,
                         size_t errlen)
{
    struct http_transport *t = NULL;
    struct sockaddr_storage ss;
    char addr[INET6_ADDRSTRLEN];
    int rc;

    *pt = NULL;
    if (opts->port > 65535) {
        snprintf(err, errlen, "--port must be from 0 to 65535");
        return SZ_EINVAL;
    }
    if ((rc = resolve(opts->host ? opts->host : "127.0.0.1", opts->port, &ss, err, errlen)) != 0)
        return rc;
    t = transport_new(loop, server, opts, &ss);
    if (t == NULL) {
        snprintf(err, errlen, "out of memory");
        return SZ_ENOMEM;
    }
    if (!t->loopback && t->token == NULL && !t->o.allow_unauthenticated) {
        snprintf(err, errlen,
                 "refusing to serve %s (not a loopback address) without SANZARU_HTTP_TOKEN; set "
                 "a token, or pass --allow-unauthenticated if something else guards the door",
                 t->host);
        rc = SZ_EINVAL;
        goto fail;
    }
    if ((rc = start_daemon(t, err, errlen)) != 0 ||
        (rc = http_listen_open(t, &ss, err, errlen)) != 0)
        goto fail;
    uv_poll_init(loop, &t->poll, t->epfd);
    uv_timer_init(loop, &t->timer);
    uv_timer_init(loop, &t->sweep);
    t->poll.data = t->timer.data = t->sweep.data = t;
    t->open_handles = 4; /* with listen */
    uv_poll_start(&t->poll, UV_READABLE, on_poll);
    http_listen_start(t);
    t->sweep_ms = sweep_interval(t);
    uv_timer_start(&t->sweep, on_sweep, t->sweep_ms, t->sweep_ms);
    http_kick(t);
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
    transport_free(t);
    return rc;
}
