/* The scripted HTTP/1.1 server of the unit tests (see tsrv.h). */
#include "fmacros.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include "helpers/tsrv.h"

static uint8_t *pattern_buf;

uint8_t tsrv_pattern(size_t i)
{
    return (uint8_t)((i * 7u + i / 251u) & 0xffu);
}

static void free_pattern(void)
{
    free(pattern_buf);
    pattern_buf = NULL;
}

const uint8_t *tsrv_pattern_bytes(void)
{
    if (pattern_buf == NULL) {
        pattern_buf = malloc(TSRV_PATTERN_LEN);
        assert_non_null(pattern_buf);
        for (size_t i = 0; i < TSRV_PATTERN_LEN; i++)
            pattern_buf[i] = tsrv_pattern(i);
        atexit(free_pattern);
    }
    return pattern_buf;
}

struct wreq {
    uv_write_t w;
    struct tsrv_conn *c;
    char data[];
};

static void stream_more(struct tsrv_conn *c);
static void conn_process(struct tsrv_conn *c);

static void write_cb(uv_write_t *w, int status)
{
    struct wreq *wr = (struct wreq *)w;
    struct tsrv_conn *c = wr->c;
    free(wr);
    if (status == 0 && c->streaming && !c->closing)
        stream_more(c);
}

void tsrv_write(struct tsrv_conn *c, const void *data, size_t len)
{
    struct wreq *wr;
    uv_buf_t b;

    if (c->closing || len == 0)
        return;
    wr = malloc(sizeof(*wr) + len);
    assert_non_null(wr);
    wr->c = c;
    memcpy(wr->data, data, len);
    b = uv_buf_init(wr->data, (unsigned)len);
    if (uv_write(&wr->w, (uv_stream_t *)&c->tcp, &b, 1, write_cb) != 0)
        free(wr);
}

static void conn_handle_closed(uv_handle_t *h)
{
    struct tsrv_conn *c = h->data;
    struct tsrv *s = c->srv;
    s->open_handles--;
    if (--c->handles == 0) {
        for (int i = 0; i < s->nconns; i++) {
            if (s->conns[i] == c)
                s->conns[i] = NULL;
        }
        free(c->in);
        free(c);
    }
}

void tsrv_close_conn(struct tsrv_conn *c, int reset)
{
    if (c->closing)
        return;
    c->closing = 1;
    if (c->cur_req >= 0) {
        c->srv->outstanding--;
        c->cur_req = -1;
    }
    c->busy = 0;
    c->streaming = 0;
    uv_close((uv_handle_t *)&c->timer, conn_handle_closed);
    if (reset)
        uv_tcp_close_reset(&c->tcp, conn_handle_closed);
    else
        uv_close((uv_handle_t *)&c->tcp, conn_handle_closed);
}

/* The current request has been answered completely. */
static void conn_done(struct tsrv_conn *c)
{
    if (c->cur_req >= 0) {
        c->srv->outstanding--;
        c->cur_req = -1;
    }
    c->busy = 0;
    conn_process(c);
}

void tsrv_reply(struct tsrv_conn *c, int status, const char *extra_headers, const char *body,
                size_t len)
{
    char head[2048];
    int n = snprintf(head, sizeof(head), "HTTP/1.1 %d X\r\nContent-Length: %zu\r\n%s\r\n", status,
                     len, extra_headers != NULL ? extra_headers : "");
    tsrv_write(c, head, (size_t)n);
    tsrv_write(c, body, len);
    conn_done(c);
}

void tsrv_reply_json(struct tsrv_conn *c, int status, const char *extra, const char *json)
{
    char hdrs[1024];
    snprintf(hdrs, sizeof(hdrs), "Content-Type: application/json\r\n%s", extra ? extra : "");
    tsrv_reply(c, status, hdrs, json, strlen(json));
}

/* Writes at most two 64 KiB chunks per call (the next ones from the write callbacks),
 * so the server never holds the loop for long, even under sanitizers. */
static void stream_more(struct tsrv_conn *c)
{
    const uint8_t *pat = tsrv_pattern_bytes();
    int budget = 2;

    while (!c->closing && c->streaming && c->stream_sent < c->stream_stop_at && budget-- > 0 &&
           uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) < 256 * 1024) {
        size_t n = c->stream_stop_at - c->stream_sent;
        if (n > 65536)
            n = 65536;
        assert_true(c->stream_sent + n <= TSRV_PATTERN_LEN);
        tsrv_write(c, pat + c->stream_sent, n);
        c->stream_sent += n;
    }
    if (!c->closing && c->streaming && c->stream_sent == c->stream_total) {
        c->streaming = 0;
        conn_done(c);
    }
}

void tsrv_stream(struct tsrv_conn *c, size_t total, size_t stop_at, const char *ctype)
{
    char head[512];
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: %zu\r\n\r\n", ctype,
                     total);
    tsrv_write(c, head, (size_t)n);
    c->stream_total = total;
    c->stream_sent = 0;
    c->stream_stop_at = stop_at < total ? stop_at : total;
    c->streaming = 1;
    stream_more(c);
}

const char *tsrv_find_header(const char *head, const char *name, size_t *plen)
{
    size_t nlen = strlen(name);
    const char *p = strstr(head, "\r\n");

    while (p != NULL && p[2] != '\0') {
        p += 2;
        if (strncasecmp(p, name, nlen) == 0 && p[nlen] == ':') {
            const char *v = p + nlen + 1;
            const char *e;
            while (*v == ' ')
                v++;
            e = strstr(v, "\r\n");
            *plen = e != NULL ? (size_t)(e - v) : strlen(v);
            return v;
        }
        p = strstr(p, "\r\n");
    }
    return NULL;
}

const char *tsrv_header(const struct tsrv *srv, int idx, const char *name)
{
    static char val[1024];
    size_t len = 0;
    const char *v = tsrv_find_header(srv->reqs[idx].head, name, &len);
    if (v == NULL)
        return NULL;
    if (len >= sizeof(val))
        len = sizeof(val) - 1;
    memcpy(val, v, len);
    val[len] = '\0';
    return val;
}

/* Parses complete requests out of the input buffer, one at a time. */
static void conn_process(struct tsrv_conn *c)
{
    struct tsrv *s = c->srv;
    char *end;
    size_t head_len, body_len = 0, vlen;
    const char *cl;
    struct tsrv_req *r;
    int idx;

    if (c->busy || c->closing || c->inlen == 0)
        return;
    c->in[c->inlen] = '\0';
    end = strstr(c->in, "\r\n\r\n");
    if (end == NULL)
        return;
    head_len = (size_t)(end - c->in) + 4;
    c->in[head_len - 2] = '\0';
    cl = tsrv_find_header(c->in, "Content-Length", &vlen);
    if (cl != NULL)
        body_len = strtoul(cl, NULL, 10);
    assert_null(tsrv_find_header(c->in, "Transfer-Encoding", &vlen));
    if (c->inlen < head_len + body_len) {
        c->in[head_len - 2] = '\r';
        return;
    }
    assert_true(s->nreqs < TSRV_MAX_REQS);
    idx = s->nreqs++;
    r = &s->reqs[idx];
    sscanf(c->in, "%15s %511s", r->method, r->target);
    r->head = strdup(c->in);
    r->body = malloc(body_len + 1);
    assert_non_null(r->body);
    memcpy(r->body, c->in + head_len, body_len);
    r->body[body_len] = '\0';
    r->body_len = body_len;
    r->conn_id = c->id;
    memmove(c->in, c->in + head_len + body_len, c->inlen - head_len - body_len);
    c->inlen -= head_len + body_len;

    c->busy = 1;
    c->cur_req = idx;
    s->outstanding++;
    if (s->outstanding > s->max_outstanding)
        s->max_outstanding = s->outstanding;
    s->handler(c, idx, s->data);
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct tsrv_conn *c = h->data;
    (void)suggested;
    if (c->incap - c->inlen < 65536 + 1) {
        c->incap = c->incap * 2 + 65536 + 1;
        c->in = realloc(c->in, c->incap);
        assert_non_null(c->in);
    }
    *buf = uv_buf_init(c->in + c->inlen, (unsigned)(c->incap - c->inlen - 1));
}

static void read_cb(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
    struct tsrv_conn *c = st->data;
    (void)buf;
    if (n < 0) {
        tsrv_close_conn(c, 0);
        return;
    }
    c->inlen += (size_t)n;
    conn_process(c);
}

static void on_connection(uv_stream_t *server, int status)
{
    struct tsrv *s = server->data;
    struct tsrv_conn *c;

    assert_int_equal(status, 0);
    c = calloc(1, sizeof(*c));
    assert_non_null(c);
    c->srv = s;
    c->cur_req = -1;
    c->handles = 2;
    uv_tcp_init(s->loop, &c->tcp);
    uv_timer_init(s->loop, &c->timer);
    c->tcp.data = c;
    c->timer.data = c;
    s->open_handles += 2;
    assert_true(s->nconns < TSRV_MAX_CONNS);
    c->id = s->nconns;
    s->conns[s->nconns++] = c;
    assert_int_equal(uv_accept(server, (uv_stream_t *)&c->tcp), 0);
    uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb);
}

static void listener_closed(uv_handle_t *h)
{
    struct tsrv *s = h->data;
    s->open_handles--;
}

void tsrv_start(struct tsrv *s, uv_loop_t *loop, tsrv_handler_fn *handler, void *data)
{
    struct sockaddr_in addr;
    struct sockaddr_storage got;
    int len = sizeof(got);

    memset(s, 0, sizeof(*s));
    s->loop = loop;
    s->handler = handler;
    s->data = data;
    uv_tcp_init(loop, &s->listener);
    s->listener.data = s;
    s->open_handles = 1;
    uv_ip4_addr("127.0.0.1", 0, &addr);
    assert_int_equal(uv_tcp_bind(&s->listener, (const struct sockaddr *)&addr, 0), 0);
    assert_int_equal(uv_listen((uv_stream_t *)&s->listener, 64, on_connection), 0);
    uv_tcp_getsockname(&s->listener, (struct sockaddr *)&got, &len);
    s->port = ntohs(((struct sockaddr_in *)&got)->sin_port);
    snprintf(s->url, sizeof(s->url), "http://127.0.0.1:%d", s->port);
}

void tsrv_stop(struct tsrv *s)
{
    for (int i = 0; i < s->nconns; i++) {
        if (s->conns[i] != NULL)
            tsrv_close_conn(s->conns[i], 0);
    }
    if (!uv_is_closing((uv_handle_t *)&s->listener))
        uv_close((uv_handle_t *)&s->listener, listener_closed);
}

void tsrv_free(struct tsrv *s)
{
    for (int i = 0; i < s->nreqs; i++) {
        free(s->reqs[i].head);
        free(s->reqs[i].body);
    }
    s->nreqs = 0;
}

int tsrv_parse_multipart(const char *ctype, const char *body, size_t len, struct tsrv_part *parts,
                         int max)
{
    char delim[200];
    const char *b = strstr(ctype, "boundary=");
    const char *p, *end = body + len;
    int n = 0;
    size_t dlen;

    assert_non_null(b);
    dlen = (size_t)snprintf(delim, sizeof(delim), "--%s", b + 9);
    p = memmem(body, len, delim, dlen);
    assert_ptr_equal(p, body);
    while (p != NULL && n < max) {
        const char *hstart = p + dlen, *hend, *dstart, *next, *v;
        size_t vlen;
        char head[1024];
        if (hstart + 2 <= end && memcmp(hstart, "--", 2) == 0)
            break; /* closing delimiter */
        hend = memmem(hstart, (size_t)(end - hstart), "\r\n\r\n", 4);
        assert_non_null(hend);
        assert_true((size_t)(hend - hstart) < sizeof(head) - 3);
        memcpy(head, hstart, (size_t)(hend - hstart));
        head[hend - hstart] = '\0';
        strcat(head, "\r\n");
        dstart = hend + 4;
        next = memmem(dstart, (size_t)(end - dstart), delim, dlen);
        assert_non_null(next);
        memset(&parts[n], 0, sizeof(parts[n]));
        parts[n].data = dstart;
        parts[n].len = (size_t)(next - dstart) - 2; /* CRLF before the delimiter */
        v = tsrv_find_header(head, "Content-Disposition", &vlen);
        assert_non_null(v);
        {
            const char *nm = strstr(v, "name=\"");
            const char *fn = strstr(v, "filename=\"");
            assert_non_null(nm);
            sscanf(nm + 6, "%63[^\"]", parts[n].name);
            if (fn != NULL)
                sscanf(fn + 10, "%63[^\"]", parts[n].filename);
        }
        v = tsrv_find_header(head, "Content-Type", &vlen);
        if (v != NULL)
            snprintf(parts[n].ctype, sizeof(parts[n].ctype), "%.*s", (int)vlen, v);
        n++;
        p = next;
    }
    return n;
}
