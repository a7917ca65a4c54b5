/* The stdio transport behind stdio.h: libuv streams for pipes, sockets and
 * terminals; serialised uv_fs reads and writes when stdin or stdout is a
 * regular file (epoll cannot watch files, and concurrent uv_fs_write calls on
 * one fd could reorder lines). */
#include "fmacros.h"

#include "transport/stdio.h"
#include "core/err.h"
#include "core/list.h"
#include "core/log.h"
#include "mcp/server.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_MAX_LINE (16u * 1024u * 1024u)
#define DEFAULT_GRACE_MS 10000
#define READ_CHUNK       (64u * 1024u)
#define DEFAULT_MAX_OUT  (64u * 1024u * 1024u)
#define DRAIN_POLL_MS    10

union stream_handle {
    uv_handle_t handle;
    uv_stream_t stream;
    uv_pipe_t pipe;
    uv_tty_t tty;
    uv_tcp_t tcp;
};

struct out_chunk {
    struct sz_link link; /* in file_queue (file mode) */
    uv_write_t write_req;
    uv_fs_t fs_req;
    size_t len;
    char data[];
};

struct stdio_transport {
    uv_loop_t *loop;
    struct mcp_session *session;
    struct stdio_options opts;

    /* input */
    bool in_is_file;
    union stream_handle in;
    uv_fs_t in_req;
    char *in_buf; /* file mode read buffer */
    bool reading;
    bool in_eof;
    char *line;
    size_t line_len, line_cap;
    bool discarding; /* skipping the rest of an overlong line */

    /* output */
    bool out_is_file;
    union stream_handle out;
    struct sz_link file_queue; /* file mode: chunks in order; the first is being written */
    size_t out_queued;         /* bytes accepted but not yet written */
    bool out_broken;

    /* shutdown */
    uv_timer_t drain_timer;
    uint64_t eof_at;
    bool session_closed;
    bool done;
    int handles_open;
};

static void start_reading(struct stdio_transport *t);
static void stop_reading(struct stdio_transport *t);
static void maybe_done(struct stdio_transport *t);

/* ---- output ------------------------------------------------------------- */

static void output_drained(struct stdio_transport *t, size_t len)
{
    t->out_queued -= len;
    if (!t->reading && !t->in_eof && !t->session_closed && t->out_queued < t->opts.max_output / 4)
        start_reading(t);
    maybe_done(t);
}

static void stream_write_done(uv_write_t *req, int status)
{
    struct out_chunk *c = req->data;
    struct stdio_transport *t = req->handle->data;

    if (status < 0 && !t->out_broken) {
        t->out_broken = true;
        SZ_WARN("stdout: %s; the client has gone", uv_strerror(status));
    }
    output_drained(t, c->len);
    free(c);
}

static void file_write_next(struct stdio_transport *t);

static void file_write_done(uv_fs_t *req)
{
    struct out_chunk *c = req->data;
    struct stdio_transport *t = c->write_req.data;
    ssize_t n = req->result;

    uv_fs_req_cleanup(req);
    if (n < 0 && !t->out_broken) {
        t->out_broken = true;
        SZ_WARN("stdout: %s", uv_strerror((int)n));
    }
    sz_list_remove(&c->link);
    output_drained(t, c->len);
    free(c);
    file_write_next(t);
}

static void file_write_next(struct stdio_transport *t)
{
    struct sz_link *first = sz_list_first(&t->file_queue);
    struct out_chunk *c;
    uv_buf_t buf;

    if (first == NULL)
        return;
    c = container_of(first, struct out_chunk, link);
    if (t->out_broken) {
        /* Drop the rest: nobody will read it. */
        sz_list_remove(&c->link);
        output_drained(t, c->len);
        free(c);
        file_write_next(t);
        return;
    }
    buf = uv_buf_init(c->data, (unsigned)c->len);
    c->fs_req.data = c;
    c->write_req.data = t;
    if (uv_fs_write(t->loop, &c->fs_req, t->opts.out_fd, &buf, 1, -1, file_write_done) < 0) {
        t->out_broken = true;
        sz_list_remove(&c->link);
        output_drained(t, c->len);
        free(c);
    }
}

/* The engine's send function: one line per message. */
static void send_line(void *ctx, const char *msg, size_t len, const json_t *related_id, bool final)
{
    struct stdio_transport *t = ctx;
    struct out_chunk *c;
    uv_buf_t buf;

    (void)related_id;
    (void) final;
    if (t->out_broken)
        return;
    c = malloc(sizeof(*c) + len + 1);
    if (c == NULL) {
        SZ_ERROR("out of memory queueing a %zu-byte reply", len);
        return;
    }
    memcpy(c->data, msg, len);
    c->data[len] = '\n';
    c->len = len + 1;
    sz_list_init(&c->link);
    t->out_queued += c->len;
    if (t->out_queued > t->opts.max_output && t->reading)
        stop_reading(t); /* backpressure: the client is not draining stdout */

    if (t->out_is_file) {
        bool idle = sz_list_empty(&t->file_queue);
        sz_list_push_back(&t->file_queue, &c->link);
        if (idle)
            file_write_next(t);
        return;
    }
    buf = uv_buf_init(c->data, (unsigned)c->len);
    c->write_req.data = c;
    if (uv_write(&c->write_req, &t->out.stream, &buf, 1, stream_write_done) < 0) {
        t->out_broken = true;
        t->out_queued -= c->len;
        free(c);
    }
}

/* ---- input -------------------------------------------------------------- */

static void handle_line(struct stdio_transport *t, const char *p, size_t n)
{
    if (n > 0 && p[n - 1] == '\r')
        n--;
    /* Blank lines carry no message; skipping them keeps hand-typed sessions easy. */
    for (size_t i = 0; i < n; i++) {
        if (p[i] != ' ' && p[i] != '\t') {
            mcp_session_handle(t->session, p, n);
            return;
        }
    }
}

static void overlong(struct stdio_transport *t)
{
    char msg[128];

    snprintf(msg, sizeof(msg), "Message too large: a line may hold at most %zu bytes",
             t->opts.max_line);
    mcp_session_send_error(t->session, MCP_INVALID_REQUEST, msg);
    t->discarding = true;
    t->line_len = 0;
}

static void append_line(struct stdio_transport *t, const char *p, size_t n)
{
    if (t->line_len + n > t->opts.max_line) {
        overlong(t);
        return;
    }
    if (t->line_len + n > t->line_cap) {
        size_t cap = t->line_cap ? t->line_cap : READ_CHUNK;
        char *grown;
        while (cap < t->line_len + n)
            cap *= 2;
        grown = realloc(t->line, cap);
        if (grown == NULL) {
            overlong(t);
            return;
        }
        t->line = grown;
        t->line_cap = cap;
    }
    memcpy(t->line + t->line_len, p, n);
    t->line_len += n;
}

/* Splits a chunk into lines; complete lines inside the chunk are handled in
 * place without copying. */
static void consume(struct stdio_transport *t, const char *p, size_t n)
{
    while (n > 0 && !t->session_closed) {
        const char *nl = memchr(p, '\n', n);
        size_t seg = nl ? (size_t)(nl - p) : n;

        if (t->discarding) {
            if (nl != NULL)
                t->discarding = false;
        } else if (nl == NULL) {
            append_line(t, p, seg);
        } else if (t->line_len == 0) {
            if (seg > t->opts.max_line) {
                overlong(t);
                t->discarding = false; /* the newline already ends it */
            } else {
                handle_line(t, p, seg);
            }
        } else {
            append_line(t, p, seg);
            if (!t->discarding)
                handle_line(t, t->line, t->line_len);
            t->discarding = false;
            t->line_len = 0;
        }
        if (nl == NULL)
            break;
        n -= seg + 1;
        p += seg + 1;
    }
    /* Shrink a buffer that grew for one huge message. */
    if (t->line_len == 0 && t->line_cap > 4 * READ_CHUNK) {
        free(t->line);
        t->line = NULL;
        t->line_cap = 0;
    }
}

static void drain_tick(uv_timer_t *timer);

static void input_ended(struct stdio_transport *t)
{
    if (t->in_eof)
        return;
    t->in_eof = true;
    stop_reading(t);
    if (t->line_len > 0 && !t->discarding) /* a last message without its newline */
        handle_line(t, t->line, t->line_len);
    t->line_len = 0;
    t->eof_at = uv_now(t->loop);
    SZ_DEBUG("stdin closed; %zu call(s) in flight", mcp_session_calls_in_flight(t->session));
    uv_timer_start(&t->drain_timer, drain_tick, 0, DRAIN_POLL_MS);
}

static void alloc_cb(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
    (void)handle;
    (void)suggested;
    buf->base = malloc(READ_CHUNK);
    buf->len = buf->base ? READ_CHUNK : 0;
}

static void read_cb(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    struct stdio_transport *t = stream->data;

    if (nread > 0)
        consume(t, buf->base, (size_t)nread);
    free(buf->base);
    if (nread < 0) {
        if (nread != UV_EOF)
            SZ_WARN("stdin: %s", uv_strerror((int)nread));
        input_ended(t);
    }
}

static void file_read_cb(uv_fs_t *req)
{
    struct stdio_transport *t = req->data;
    ssize_t n = req->result;

    uv_fs_req_cleanup(req);
    t->reading = false;
    if (n > 0)
        consume(t, t->in_buf, (size_t)n);
    if (n <= 0) {
        if (n < 0)
            SZ_WARN("stdin: %s", uv_strerror((int)n));
        input_ended(t);
        return;
    }
    if (!t->in_eof && !t->session_closed && t->out_queued <= t->opts.max_output)
        start_reading(t);
}

static void start_reading(struct stdio_transport *t)
{
    if (t->reading || t->in_eof)
        return;
    t->reading = true;
    if (t->in_is_file) {
        uv_buf_t buf = uv_buf_init(t->in_buf, READ_CHUNK);
        t->in_req.data = t;
        if (uv_fs_read(t->loop, &t->in_req, t->opts.in_fd, &buf, 1, -1, file_read_cb) < 0) {
            t->reading = false;
            input_ended(t);
        }
        return;
    }
    if (uv_read_start(&t->in.stream, alloc_cb, read_cb) < 0) {
        t->reading = false;
        input_ended(t);
    }
}

static void stop_reading(struct stdio_transport *t)
{
    if (!t->reading)
        return;
    if (t->in_is_file)
        return; /* the read in flight completes; file_read_cb does not re-arm */
    uv_read_stop(&t->in.stream);
    t->reading = false;
}

/* ---- shutdown ----------------------------------------------------------- */

static void session_idle(void *ctx)
{
    struct stdio_transport *t = ctx;
    t->session = NULL; /* freed by the engine after this returns */
    maybe_done(t);
}

static void close_session(struct stdio_transport *t)
{
    if (t->session_closed)
        return;
    t->session_closed = true;
    stop_reading(t);
    mcp_session_close(t->session, session_idle);
}

static void drain_tick(uv_timer_t *timer)
{
    struct stdio_transport *t = timer->data;

    if (t->session_closed) {
        uv_timer_stop(timer);
        return;
    }
    if (mcp_session_calls_in_flight(t->session) == 0 ||
        uv_now(t->loop) - t->eof_at >= t->opts.grace_ms) {
        uv_timer_stop(timer);
        if (mcp_session_calls_in_flight(t->session) > 0)
            SZ_WARN("stdin closed: cancelling %zu call(s) still running after %llu ms",
                    mcp_session_calls_in_flight(t->session), (unsigned long long)t->opts.grace_ms);
        close_session(t);
    }
}

static void handle_closed(uv_handle_t *handle)
{
    struct stdio_transport *t = handle->data;
    if (--t->handles_open == 0 && t->opts.on_done != NULL)
        t->opts.on_done(t->opts.data);
}

static void maybe_done(struct stdio_transport *t)
{
    if (t->done || !t->session_closed || t->session != NULL)
        return;
    if (t->out_queued > 0 && !t->out_broken)
        return; /* flush first */
    if (t->in_is_file && t->reading)
        return; /* a read is in flight */
    if (!sz_list_empty(&t->file_queue))
        return;
    t->done = true;
    uv_close((uv_handle_t *)&t->drain_timer, handle_closed);
    if (!t->in_is_file)
        uv_close(&t->in.handle, handle_closed);
    if (!t->out_is_file)
        uv_close(&t->out.handle, handle_closed);
}

void stdio_transport_shutdown(struct stdio_transport *t)
{
    if (!t->in_eof) {
        t->in_eof = true;
        stop_reading(t);
    }
    uv_timer_stop(&t->drain_timer);
    close_session(t);
}

/* ---- setup -------------------------------------------------------------- */

static int open_stream(uv_loop_t *loop, int fd, union stream_handle *h, bool readable,
                       bool *pis_file)
{
    uv_handle_type type = uv_guess_handle(fd);
    int rc;

    *pis_file = false;
    switch (type) {
    case UV_TTY:
        return uv_tty_init(loop, &h->tty, fd, readable);
    case UV_NAMED_PIPE:
        if ((rc = uv_pipe_init(loop, &h->pipe, 0)) != 0)
            return rc;
        return uv_pipe_open(&h->pipe, fd);
    case UV_TCP:
        if ((rc = uv_tcp_init(loop, &h->tcp)) != 0)
            return rc;
        return uv_tcp_open(&h->tcp, fd);
    case UV_FILE:
        *pis_file = true;
        return 0;
    default:
        return UV_EINVAL;
    }
}

int stdio_transport_start(uv_loop_t *loop, struct mcp_server *server,
                          const struct stdio_options *opts, struct stdio_transport **pt, char *err,
                          size_t errlen)
{
    struct stdio_transport *t = calloc(1, sizeof(*t));
    int rc;

    if (t == NULL)
        return UV_ENOMEM;
    t->loop = loop;
    t->opts = *opts;
    sz_list_init(&t->file_queue);
    if (t->opts.max_line == 0)
        t->opts.max_line = DEFAULT_MAX_LINE;
    if (t->opts.grace_ms == 0)
        t->opts.grace_ms = DEFAULT_GRACE_MS;
    if (t->opts.max_output == 0)
        t->opts.max_output = DEFAULT_MAX_OUT;

    if ((rc = open_stream(loop, opts->in_fd, &t->in, true, &t->in_is_file)) != 0) {
        snprintf(err, errlen, "cannot read stdin: %s", uv_strerror(rc));
        free(t);
        return rc;
    }
    if (!t->in_is_file)
        t->handles_open++;
    if ((rc = open_stream(loop, opts->out_fd, &t->out, false, &t->out_is_file)) != 0) {
        snprintf(err, errlen, "cannot write stdout: %s", uv_strerror(rc));
        /* Leak-free bail-out is not worth the complexity here: main exits. */
        return rc;
    }
    if (!t->out_is_file)
        t->handles_open++;
    t->in.handle.data = t;
    t->out.handle.data = t;
    uv_timer_init(loop, &t->drain_timer);
    t->drain_timer.data = t;
    t->handles_open++;
    if (t->in_is_file && (t->in_buf = malloc(READ_CHUNK)) == NULL) {
        snprintf(err, errlen, "out of memory");
        return UV_ENOMEM;
    }
    t->session = mcp_session_new(server, send_line, t);
    if (t->session == NULL) {
        snprintf(err, errlen, "out of memory");
        return UV_ENOMEM;
    }
    start_reading(t);
    *pt = t;
    return 0;
}

void stdio_transport_free(struct stdio_transport *t)
{
    if (t == NULL)
        return;
    free(t->line);
    free(t->in_buf);
    free(t);
}
