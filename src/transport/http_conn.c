/* The door of the HTTP transport (http_int.h): the listening socket, admission of every
 * new connection, and the deadlines of connections that have not sent a whole request.
 *
 * The transport accepts connections itself and hands each one to libmicrohttpd with
 * MHD_add_connection (the daemon has no listening socket of its own). libmicrohttpd
 * takes its listening socket out of its epoll set when it reaches its connection limit
 * and puts it back only at the start of a later MHD_run; when the connections that freed
 * the slots closed in one run and nothing else was pending, no later run came, and the
 * server never accepted again. Here the listening socket is the loop's, always watched.
 *
 * Admission: past SANZARU_HTTP_MAX_CONNECTIONS, or past SANZARU_HTTP_MAX_CLIENT_CONNECTIONS
 * from one client address (an IPv4 address, or an IPv6 /64), the oldest connection that
 * is still waiting for a request's headers (a fresh idle socket, a slowloris, a kept-alive
 * connection between requests) is closed to make room; when every slot is doing real
 * work, the newcomer gets a quick 503 with Retry-After instead of a wait in the kernel's
 * listen queue. So idle sockets cannot lock real clients out, however many there are.
 * Deadlines: a connection must deliver a request's headers within
 * SANZARU_HTTP_HEADER_TIMEOUT seconds of starting to wait for it, and the whole request
 * within SANZARU_HTTP_REQUEST_TIMEOUT; the sweep cuts those that do not.
 *
 * A refused socket is answered, shut for writing, and drained for a moment before it is
 * closed (closing a socket with unread input sends a reset, which can destroy the answer
 * before the client reads it). */
#include "fmacros.h"

#include "transport/http_int.h"
#include "core/err.h"
#include "core/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define ACCEPT_BATCH     64u    /* accepts per readiness callback, then the loop goes on */
#define REFUSED_MAX      256u   /* refused sockets draining at once; past it, closed at once */
#define REFUSED_LINGER   2000u  /* ms a refused socket is drained before it is closed */
#define REFUSED_DRAIN    65536u /* bytes read from a refused socket at most */
#define WARN_INTERVAL_MS 10000u /* at most one warning about refusals this often */
#define FD_RESERVE       256u   /* descriptors kept for everything but connections */

/* A connection that was answered 503 and is being drained before it is closed. */
struct refused {
    struct sz_link link; /* in t->refused, oldest first */
    struct http_transport *t;
    uv_poll_t poll;
    int fd;
    size_t drained;
    uint64_t since;
};

/* ---- client addresses ------------------------------------------------------------ */

/* The key of a client address: 4 bytes of IPv4 (IPv4-mapped IPv6 included) or the first
 * 8 bytes (the /64) of IPv6, which one holder usually gets whole. */
static void peer_key(const struct sockaddr *sa, unsigned char key[HTTP_PEER_KEY])
{
    memset(key, 0, HTTP_PEER_KEY);
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
        key[0] = 4;
        memcpy(key + 1, &in->sin_addr, 4);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
        if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
            key[0] = 4;
            memcpy(key + 1, in6->sin6_addr.s6_addr + 12, 4);
        } else {
            key[0] = 6;
            memcpy(key + 1, in6->sin6_addr.s6_addr, 8);
        }
    }
}

static size_t peer_hash(const unsigned char key[HTTP_PEER_KEY], size_t nbuckets)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < HTTP_PEER_KEY; i++)
        h = (h ^ key[i]) * 1099511628211ull;
    return (size_t)(h & (nbuckets - 1));
}

static struct http_peer *peer_find(struct http_transport *t, const unsigned char key[HTTP_PEER_KEY])
{
    struct sz_link *pos;

    SZ_LIST_FOREACH(pos, &t->peers[peer_hash(key, t->npeer_buckets)])
    {
        struct http_peer *p = container_of(pos, struct http_peer, hlink);
        if (memcmp(p->key, key, HTTP_PEER_KEY) == 0)
            return p;
    }
    return NULL;
}

static struct http_peer *peer_get(struct http_transport *t, const unsigned char key[HTTP_PEER_KEY])
{
    struct http_peer *p = peer_find(t, key);

    if (p != NULL)
        return p;
    p = calloc(1, sizeof(*p));
    if (p == NULL)
        return NULL;
    memcpy(p->key, key, HTTP_PEER_KEY);
    sz_list_init(&p->conns);
    sz_list_push_front(&t->peers[peer_hash(key, t->npeer_buckets)], &p->hlink);
    return p;
}

static void refused_end(struct http_transport *t, struct refused *f);

/* ---- connections ---------------------------------------------------------------- */

static void conn_track(struct http_transport *t, struct MHD_Connection *connection,
                       void **socket_context)
{
    const union MHD_ConnectionInfo *fd =
        MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
    const union MHD_ConnectionInfo *addr =
        MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    unsigned char key[HTTP_PEER_KEY];
    struct http_conn *c;

    if (fd == NULL || addr == NULL || addr->client_addr == NULL)
        return;
    c = calloc(1, sizeof(*c));
    peer_key(addr->client_addr, key);
    if (c == NULL || (c->peer = peer_get(t, key)) == NULL) {
        free(c);
        return;
    }
    c->fd = fd->connect_fd;
    c->state = HTTP_CONN_WAITING;
    c->since = uv_now(t->loop);
    sz_list_push_back(&t->conns, &c->link);
    sz_list_push_back(&t->waiting, &c->wlink);
    sz_list_push_back(&c->peer->conns, &c->plink);
    c->peer->live++;
    t->live++;
    *socket_context = c;
}

/* Closes c's socket under MHD (shutdown, not close: the fd stays MHD's, which sees the
 * end and closes it in its next run). It no longer counts against the caps. */
static void conn_cut(struct http_transport *t, struct http_conn *c, const char *why)
{
    if (c->cut)
        return;
    SZ_DEBUG("http: connection cut: %s", why);
    shutdown(c->fd, SHUT_RDWR);
    c->cut = true;
    sz_list_remove(&c->wlink);
    c->peer->live--;
    t->live--;
    http_kick(t);
}

void http_on_connection(void *cls, struct MHD_Connection *connection, void **socket_context,
                        enum MHD_ConnectionNotificationCode toe)
{
    struct http_transport *t = cls;
    struct http_conn *c = *socket_context;

    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        conn_track(t, connection, socket_context);
        return;
    }
    if (c == NULL)
        return;
    /* MHD closes the fd only after this returns, so the sweep never touches a stale fd. */
    sz_list_remove(&c->link);
    sz_list_remove(&c->wlink);
    sz_list_remove(&c->plink);
    if (!c->cut) {
        c->peer->live--;
        t->live--;
    }
    if (sz_list_empty(&c->peer->conns)) {
        sz_list_remove(&c->peer->hlink);
        free(c->peer);
    }
    free(c);
    *socket_context = NULL;
}

void http_conn_state(struct http_transport *t, struct MHD_Connection *connection,
                     enum http_conn_state state)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(connection, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    struct http_conn *c = ci != NULL ? ci->socket_context : NULL;

    if (c == NULL || c->state == state)
        return;
    if (state == HTTP_CONN_WAITING) {
        /* waits for its next request: the deadlines start again */
        c->since = uv_now(t->loop);
        if (!c->cut)
            sz_list_push_back(&t->waiting, &c->wlink);
    } else if (c->state == HTTP_CONN_WAITING) {
        sz_list_remove(&c->wlink); /* the headers are in: no longer a candidate to close */
    }
    if (state == HTTP_CONN_ANSWERING)
        c->since = uv_now(t->loop);
    c->state = state;
}

void http_conns_sweep(struct http_transport *t, uint64_t now)
{
    uint64_t header_ms = (uint64_t)t->o.header_timeout_s * 1000;
    uint64_t request_ms = (uint64_t)t->o.request_timeout_s * 1000;
    struct sz_link *pos, *tmp;

    if (header_ms > request_ms)
        header_ms = request_ms;
    SZ_LIST_FOREACH(pos, &t->conns)
    {
        struct http_conn *c = container_of(pos, struct http_conn, link);
        if (c->cut || c->state == HTTP_CONN_ANSWERING)
            continue;
        if (c->state == HTTP_CONN_WAITING && now - c->since >= header_ms)
            conn_cut(t, c, "no request headers in time (SANZARU_HTTP_HEADER_TIMEOUT)");
        else if (now - c->since >= request_ms)
            conn_cut(t, c, "a request took too long to arrive (SANZARU_HTTP_REQUEST_TIMEOUT)");
    }
    SZ_LIST_FOREACH_SAFE(pos, tmp, &t->refused)
    {
        struct refused *f = container_of(pos, struct refused, link);
        if (now - f->since < REFUSED_LINGER)
            break; /* oldest first */
        refused_end(t, f);
    }
}

/* ---- refusing ----------------------------------------------------------------------- */

static void refused_closed(uv_handle_t *h)
{
    struct refused *f = h->data;
    close(f->fd);
    free(f);
}

static void refused_end(struct http_transport *t, struct refused *f)
{
    sz_list_remove(&f->link);
    t->nrefused--;
    uv_poll_stop(&f->poll);
    uv_close((uv_handle_t *)&f->poll, refused_closed);
}

static void on_refused(uv_poll_t *h, int status, int events)
{
    struct refused *f = h->data;
    struct http_transport *t = f->t;
    char buf[4096];

    (void)events;
    for (;;) {
        ssize_t n = status < 0 ? -1 : recv(f->fd, buf, sizeof(buf), 0);
        if (n > 0 && f->drained + (size_t)n <= REFUSED_DRAIN) {
            f->drained += (size_t)n;
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR) && status >= 0)
            return;
        break; /* the client is done (or sends too much): close */
    }
    refused_end(t, f);
}

/* Answers fd with a 503 and closes it, draining it first when there is room. */
static void refuse(struct http_transport *t, int fd, bool client, bool linger)
{
    char body[256];
    char resp[512];
    int blen, rlen;
    struct refused *f;
    uint64_t now = uv_now(t->loop);

    blen = snprintf(body, sizeof(body),
                    "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32000,\"message\":"
                    "\"Service Unavailable: too many connections%s (%u); try again later\"}}",
                    client ? " from your address" : "",
                    client ? t->o.max_client_connections : t->o.max_connections);
    rlen = snprintf(resp, sizeof(resp),
                    "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                    "Retry-After: 1\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s",
                    blen, body);
    (void)send(fd, resp, (size_t)rlen, MSG_NOSIGNAL | MSG_DONTWAIT);
    shutdown(fd, SHUT_WR);
    t->refusals++;
    if (now - t->refuse_warned >= WARN_INTERVAL_MS || t->refuse_warned == 0) {
        SZ_WARN("http: %s; %" PRIu64 " connection(s) answered 503 so far",
                client ? "a client address is at SANZARU_HTTP_MAX_CLIENT_CONNECTIONS"
                       : "at SANZARU_HTTP_MAX_CONNECTIONS with every connection busy",
                t->refusals);
        t->refuse_warned = now;
    }
    f = linger && t->nrefused < REFUSED_MAX && !t->closing ? calloc(1, sizeof(*f)) : NULL;
    if (f == NULL || uv_poll_init_socket(t->loop, &f->poll, fd) != 0) {
        free(f);
        close(fd);
        return;
    }
    f->t = t;
    f->fd = fd;
    f->since = now;
    f->poll.data = f;
    sz_list_push_back(&t->refused, &f->link);
    t->nrefused++;
    uv_poll_start(&f->poll, UV_READABLE | UV_DISCONNECT, on_refused);
}

/* ---- admission ------------------------------------------------------------------------ */

/* The oldest connection of p (or of anyone, when p is NULL) still waiting for a request's
 * headers, or NULL. */
static struct http_conn *oldest_waiting(struct http_transport *t, struct http_peer *p)
{
    struct sz_link *pos;

    if (p == NULL) {
        pos = sz_list_first(&t->waiting);
        return pos != NULL ? container_of(pos, struct http_conn, wlink) : NULL;
    }
    SZ_LIST_FOREACH(pos, &p->conns)
    {
        struct http_conn *c = container_of(pos, struct http_conn, plink);
        if (!c->cut && c->state == HTTP_CONN_WAITING)
            return c;
    }
    return NULL;
}

static unsigned mhd_connections(struct http_transport *t)
{
    const union MHD_DaemonInfo *info =
        MHD_get_daemon_info(t->d, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
    return info != NULL ? info->num_connections : 0;
}

/* A new connection: hands it to MHD, after making room if a cap is reached, or refuses
 * it. Takes ownership of fd. */
static void admit(struct http_transport *t, int fd, const struct sockaddr_storage *ss,
                  socklen_t len)
{
    unsigned char key[HTTP_PEER_KEY];
    struct http_peer *p;
    struct http_conn *victim = NULL;
    bool client_full, all_full;

    peer_key((const struct sockaddr *)ss, key);
    p = peer_find(t, key);
    client_full = p != NULL && p->live >= t->o.max_client_connections;
    all_full = t->live >= t->o.max_connections;
    if (client_full || all_full) {
        victim = oldest_waiting(t, client_full ? p : NULL);
        if (victim == NULL) {
            refuse(t, fd, client_full, true);
            return;
        }
        conn_cut(t, victim,
                 client_full ? "making room for a new connection from its address"
                             : "making room for a new connection");
    }
    /* Cut connections still hold MHD's slots until its next run: reap them first. */
    if (mhd_connections(t) >= t->mhd_limit)
        http_run(t);
    if (mhd_connections(t) >= t->mhd_limit) {
        refuse(t, fd, false, true);
        return;
    }
    if (MHD_add_connection(t->d, fd, (const struct sockaddr *)ss, len) != MHD_YES)
        SZ_DEBUG("http: libmicrohttpd did not take a connection: %s", strerror(errno));
}

/* Out of descriptors: the pending connection would make the listening socket readable
 * forever. Give back the spare descriptor, accept it, refuse it at once, take the spare
 * again. Returns false when there is no spare to give. */
static bool refuse_without_fds(struct http_transport *t)
{
    int fd;

    if (t->spare_fd < 0)
        return false;
    close(t->spare_fd);
    t->spare_fd = -1;
    fd = accept4(t->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0)
        refuse(t, fd, false, false);
    t->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    return true;
}

static void on_listen(uv_poll_t *h, int status, int events)
{
    struct http_transport *t = h->data;

    (void)events;
    if (status < 0 || t->d == NULL)
        return;
    for (unsigned i = 0; i < ACCEPT_BATCH && !t->closing; i++) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof(ss);
        int fd = accept4(t->lfd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            admit(t, fd, &ss, len);
            continue;
        }
        if (errno == EINTR || errno == ECONNABORTED)
            continue;
        if (errno == EMFILE || errno == ENFILE) {
            SZ_WARN("http: out of file descriptors accepting a connection");
            if (refuse_without_fds(t))
                continue;
            break; /* the next readiness callback tries again */
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            SZ_WARN("http: accept: %s", strerror(errno));
        break;
    }
}

/* ---- the listening socket -------------------------------------------------------------- */

/* Raises the soft limit on open files to what the caps need, when the hard limit allows:
 * a default soft limit of 1024 would run out before 1000 connections. */
static void raise_fd_limit(const struct http_transport *t)
{
    struct rlimit rl;
    rlim_t need = (rlim_t)t->mhd_limit + REFUSED_MAX + FD_RESERVE;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= need)
        return;
    rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= need ? need : rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur < need)
        SZ_WARN("http: the open-file limit (%llu) is below what %u connections need (%llu); "
                "connections past it are answered 503",
                (unsigned long long)rl.rlim_cur, t->o.max_connections, (unsigned long long)need);
}

int http_listen_open(struct http_transport *t, const struct sockaddr_storage *ss, char *err,
                     size_t errlen)
{
    socklen_t len =
        ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    struct sockaddr_storage bound;
    socklen_t blen = sizeof(bound);
    int one = 1;
    int rc;

    t->lfd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (t->lfd < 0)
        goto fail;
    setsockopt(t->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (ss->ss_family == AF_INET6)
        setsockopt(t->lfd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    if (bind(t->lfd, (const struct sockaddr *)ss, len) != 0 || listen(t->lfd, SOMAXCONN) != 0 ||
        getsockname(t->lfd, (struct sockaddr *)&bound, &blen) != 0)
        goto fail;
    t->port = ntohs(bound.ss_family == AF_INET6
                        ? ((const struct sockaddr_in6 *)(const void *)&bound)->sin6_port
                        : ((const struct sockaddr_in *)(const void *)&bound)->sin_port);
    rc = uv_poll_init_socket(t->loop, &t->listen, t->lfd);
    if (rc != 0) {
        errno = -rc;
        goto fail;
    }
    t->listen.data = t;
    return 0;
fail:
    snprintf(err, errlen, "cannot listen on %s port %u: %s", t->host, t->o.port, strerror(errno));
    if (t->lfd >= 0)
        close(t->lfd);
    t->lfd = -1;
    return SZ_EIO;
}

void http_listen_start(struct http_transport *t)
{
    t->listening = true;
    t->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    raise_fd_limit(t);
    uv_poll_start(&t->listen, UV_READABLE, on_listen);
}

static void listen_closed(uv_handle_t *h)
{
    struct http_transport *t = h->data;

    close(t->lfd);
    t->lfd = -1;
    http_handle_closed(h);
}

void http_listen_stop(struct http_transport *t)
{
    struct sz_link *pos;

    if (!t->listening)
        return;
    t->listening = false;
    uv_poll_stop(&t->listen);
    uv_close((uv_handle_t *)&t->listen, listen_closed);
    if (t->spare_fd >= 0)
        close(t->spare_fd);
    t->spare_fd = -1;
    while ((pos = sz_list_first(&t->refused)) != NULL)
        refused_end(t, container_of(pos, struct refused, link));
}
