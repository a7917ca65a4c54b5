/* Unit tests of the stdio transport (src/transport/stdio.c) on a private loop, with the
 * real engine behind it and pipes (or regular files) for stdin and stdout: framing (a
 * line split across reads, several messages in one read, CRLF, blank lines, the line
 * bound and the resync at the next newline), output backpressure (stdin is not read
 * while too much output waits), end of input with a call in flight (it finishes within
 * the grace period, or is cancelled after it), and stdin/stdout as regular files.
 *
 * The test is the client: it writes requests into one pipe and reads replies from the
 * other, running the loop between. Waits are bounded by a generous guard that only turns
 * a hang into a failure; nothing asserts how long anything took. */
#include "fmacros.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <uv.h>

#include "mcp/server.h"
#include "transport/stdio.h"

#define GUARD_MS 20000 /* a wait that takes this long has hung: fail */

struct harness {
    uv_loop_t loop;
    uv_timer_t tick; /* keeps UV_RUN_ONCE from blocking for long */
    struct mcp_server *server;
    struct stdio_transport *t;
    int in_w;  /* the test writes requests here (-1 once closed) */
    int out_r; /* and reads replies here */
    char *out; /* everything read so far */
    size_t out_len, out_cap;
    size_t taken; /* offset of the first line not yet returned by next_msg */
    bool out_eof;
    bool out_is_file; /* stdout is a regular file: reading 0 bytes is not its end */
    bool done;        /* on_done ran */
    int cancelled;
};

static struct harness *current; /* for the test tool's cancel counter */

/* ---- a tool that finishes after a while, or when cancelled -------------------- */

struct later {
    uv_timer_t timer;
    struct mcp_call *call;
};

static void later_closed(uv_handle_t *h)
{
    free(h->data);
}

static void later_fire(uv_timer_t *timer)
{
    struct later *l = timer->data;
    mcp_call_finish(l->call, json_pack("{s:b}", "ok", 1));
    uv_close((uv_handle_t *)&l->timer, later_closed);
}

static void later_cancel(struct mcp_call *call, void *data)
{
    struct later *l = data;
    current->cancelled++;
    uv_timer_stop(&l->timer);
    mcp_call_fail(call, "cancelled");
    uv_close((uv_handle_t *)&l->timer, later_closed);
}

struct later_args {
    long long ms;
};

static void later_start(struct mcp_call *call, const void *args)
{
    struct later *l = calloc(1, sizeof(*l));
    long long ms = ((const struct later_args *)args)->ms;

    assert_non_null(l);
    l->call = call;
    uv_timer_init(mcp_call_loop(call), &l->timer);
    l->timer.data = l;
    uv_timer_start(&l->timer, later_fire, (uint64_t)ms, 0);
    mcp_call_on_cancel(call, later_cancel, l);
}

static const struct mcp_arg later_rows[] = {
    {.name = "ms",
     .type = MCP_ARG_INT,
     .flags = MCP_ARG_REQUIRED,
     .off = offsetof(struct later_args, ms)},
};

static const struct mcp_tool later_tool = {
    .name = "later",
    .description = "Finishes after ms milliseconds.",
    MCP_ARGS(struct later_args, later_rows),
    .annotations = MCP_READ_ONLY,
    .start = later_start,
};

/* ---- the harness ---------------------------------------------------------------- */

static void on_done(void *data)
{
    struct harness *h = data;
    h->done = true;
}

static void on_tick(uv_timer_t *timer)
{
    (void)timer;
}

static void set_nonblocking(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    assert_int_equal(fcntl(fd, F_SETFL, fl | O_NONBLOCK), 0);
}

/* Starts the transport on fresh pipes (or on in_fd/out_fd when not -1). */
static struct harness *harness_new(struct stdio_options *o, int in_fd, int out_fd)
{
    struct harness *h = calloc(1, sizeof(*h));
    char err[256];
    int in[2] = {in_fd, -1}, out[2] = {-1, out_fd};

    assert_non_null(h);
    current = h;
    assert_int_equal(uv_loop_init(&h->loop), 0);
    uv_timer_init(&h->loop, &h->tick);
    uv_timer_start(&h->tick, on_tick, 1, 1);
    h->server = mcp_server_new(&h->loop, "stdio-test", "1", NULL);
    assert_non_null(h->server);
    assert_int_equal(mcp_server_add_tool(h->server, &later_tool), 0);
    if (in_fd < 0) {
        assert_int_equal(pipe2(in, O_CLOEXEC), 0);
        fcntl(in[1], F_SETPIPE_SZ, 1 << 20); /* room for many requests; best effort */
        set_nonblocking(in[1]);
    }
    if (out_fd < 0) {
        assert_int_equal(pipe2(out, O_CLOEXEC), 0);
        set_nonblocking(out[0]);
    }
    h->in_w = in[1];
    h->out_r = out[0];
    o->in_fd = in[0];
    o->out_fd = out[1];
    o->on_done = on_done;
    o->data = h;
    assert_int_equal(stdio_transport_start(&h->loop, h->server, o, &h->t, err, sizeof(err)), 0);
    return h;
}

/* Reads whatever the transport has written so far. */
static void drain(struct harness *h)
{
    if (h->out_r < 0 || h->out_eof)
        return;
    for (;;) {
        ssize_t n;
        if (h->out_cap - h->out_len < 65536) {
            h->out_cap = h->out_cap ? h->out_cap * 2 : 1 << 20;
            h->out = realloc(h->out, h->out_cap);
            assert_non_null(h->out);
        }
        n = read(h->out_r, h->out + h->out_len, h->out_cap - h->out_len);
        if (n > 0) {
            h->out_len += (size_t)n;
            continue;
        }
        if (n == 0)
            h->out_eof = !h->out_is_file;
        else
            assert_true(errno == EAGAIN || errno == EINTR);
        return;
    }
}

/* One turn of the loop (at most about a millisecond of waiting), then reads the output. */
static void turn(struct harness *h)
{
    uv_run(&h->loop, UV_RUN_ONCE);
    drain(h);
}

typedef bool cond_fn(struct harness *h);

static void run_until(struct harness *h, cond_fn *cond)
{
    uint64_t start = uv_now(&h->loop);
    while (!cond(h)) {
        turn(h);
        assert_true(uv_now(&h->loop) - start < GUARD_MS);
    }
}

static bool has_line(struct harness *h)
{
    return memchr(h->out + h->taken, '\n', h->out_len - h->taken) != NULL;
}

/* on_done ran, and stdout (a pipe) reached its end: the transport closed it. */
static bool is_done(struct harness *h)
{
    return h->done && (h->out_eof || h->out_is_file || h->out_r < 0);
}

/* The next reply, parsed (the caller owns it); runs the loop until one is complete. */
static json_t *next_msg(struct harness *h)
{
    char *nl;
    json_t *j;
    json_error_t e;

    if (h->out == NULL)
        drain(h);
    run_until(h, has_line);
    nl = memchr(h->out + h->taken, '\n', h->out_len - h->taken);
    j = json_loadb(h->out + h->taken, (size_t)(nl - (h->out + h->taken)), 0, &e);
    if (j == NULL)
        fail_msg("reply is not JSON: %s", e.text);
    h->taken = (size_t)(nl - h->out) + 1;
    return j;
}

/* Writes all of s, running the loop whenever the pipe is full. */
static void feed(struct harness *h, const char *s, size_t len)
{
    uint64_t start = uv_now(&h->loop);
    while (len > 0) {
        ssize_t n = write(h->in_w, s, len);
        if (n > 0) {
            s += n;
            len -= (size_t)n;
            continue;
        }
        assert_true(n < 0 && errno == EAGAIN);
        turn(h);
        assert_true(uv_now(&h->loop) - start < GUARD_MS);
    }
}

static void feeds(struct harness *h, const char *s)
{
    feed(h, s, strlen(s));
}

static void close_input(struct harness *h)
{
    close(h->in_w);
    h->in_w = -1;
}

/* Lets the transport consume what it will: a few turns with nothing left to do. */
static void settle(struct harness *h)
{
    for (int i = 0; i < 50; i++) {
        uv_run(&h->loop, UV_RUN_NOWAIT);
        drain(h);
    }
}

static void harness_free(struct harness *h)
{
    if (h->in_w >= 0)
        close_input(h);
    if (!h->done)
        stdio_transport_shutdown(h->t);
    run_until(h, is_done);
    stdio_transport_free(h->t);
    mcp_server_free(h->server);
    uv_close((uv_handle_t *)&h->tick, NULL);
    uv_run(&h->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&h->loop), 0);
    if (h->out_r >= 0)
        close(h->out_r);
    free(h->out);
    free(h);
    current = NULL;
}

/* The reply to ping id: {"jsonrpc":"2.0","id":id,"result":{}}. */
static void expect_pong(struct harness *h, json_int_t id)
{
    json_t *m = next_msg(h);
    assert_int_equal(json_integer_value(json_object_get(m, "id")), id);
    assert_true(json_is_object(json_object_get(m, "result")));
    json_decref(m);
}

/* An error reply with id null and the given code. */
static void expect_error(struct harness *h, json_int_t code, const char *text)
{
    json_t *m = next_msg(h);
    json_t *err = json_object_get(m, "error");
    assert_true(json_is_null(json_object_get(m, "id")));
    assert_int_equal(json_integer_value(json_object_get(err, "code")), code);
    if (text != NULL)
        assert_non_null(strstr(json_string_value(json_object_get(err, "message")), text));
    json_decref(m);
}

static bool no_unread_reply(struct harness *h)
{
    return h->taken == h->out_len;
}

/* ---- framing ------------------------------------------------------------------- */

static void test_split_and_batched(void **state)
{
    struct stdio_options o = {0};
    struct harness *h = harness_new(&o, -1, -1);
    (void)state;

    /* A line split across reads is one message, answered once it is complete. */
    feeds(h, "{\"jsonrpc\":\"2.0\",\"id\":1,\"me");
    settle(h);
    assert_true(no_unread_reply(h));
    feeds(h, "thod\":\"pi");
    settle(h);
    assert_true(no_unread_reply(h));
    feeds(h, "ng\"}\n");
    expect_pong(h, 1);
    /* Several messages in one read, answered in order; the last ends mid-line. */
    feeds(h, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"}\n"
             "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"ping\"}\n"
             "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"ping\"}\n{\"jsonrpc\":");
    expect_pong(h, 2);
    expect_pong(h, 3);
    expect_pong(h, 4);
    settle(h);
    assert_true(no_unread_reply(h));
    feeds(h, "\"2.0\",\"id\":5,\"method\":\"ping\"}\n");
    expect_pong(h, 5);
    harness_free(h);
}

static void test_crlf_and_blank_lines(void **state)
{
    struct stdio_options o = {0};
    struct harness *h = harness_new(&o, -1, -1);
    (void)state;

    feeds(h, "\n\r\n   \n\t\n{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\r\n\r\n"
             "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"}\n \t \n");
    /* blank lines (with or without \r, spaces, tabs) carry nothing and get no reply */
    expect_pong(h, 1);
    expect_pong(h, 2);
    feeds(h, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"ping\"}\n");
    expect_pong(h, 3);
    settle(h);
    assert_true(no_unread_reply(h));
    /* garbage is one parse error, and the stream goes on */
    feeds(h, "{oops\n{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"ping\"}\n");
    expect_error(h, -32700, NULL);
    expect_pong(h, 4);
    harness_free(h);
}

/* A line of exactly n bytes: a ping with id and a _meta pad of the right size. */
static char *ping_line(json_int_t id, size_t n)
{
    char head[128];
    static const char tail[] = "\"}}}\n";
    int hn = snprintf(head, sizeof(head),
                      "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"method\":\"ping\",\"params\":{\"_meta\":"
                      "{\"pad\":\"",
                      (long long)id);
    char *line = malloc(n + 2);                       /* the line, its newline and a NUL */
    size_t pad = n - (size_t)hn - (sizeof(tail) - 2); /* the newline is not counted */

    assert_non_null(line);
    memcpy(line, head, (size_t)hn);
    memset(line + hn, 'x', pad);
    memcpy(line + (size_t)hn + pad, tail, sizeof(tail));
    assert_int_equal(strlen(line), n + 1);
    return line;
}

static void test_line_bound_default(void **state)
{
    const size_t max = 16u * 1024u * 1024u;
    struct stdio_options o = {0}; /* max_line 0: the default 16 MiB */
    struct harness *h = harness_new(&o, -1, -1);
    char *ok = ping_line(1, max);
    char *over = ping_line(2, max + 1);
    (void)state;

    /* Exactly at the bound is a message; one byte more is refused with one error, and
     * the stream resynchronises at the next newline. */
    feed(h, ok, max + 1);
    expect_pong(h, 1);
    feed(h, over, max + 2);
    feeds(h, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"ping\"}\n");
    expect_error(h, -32600, "at most 16777216 bytes");
    expect_pong(h, 3);
    settle(h);
    assert_true(no_unread_reply(h));
    free(ok);
    free(over);
    harness_free(h);
}

static void test_line_bound_small(void **state)
{
    struct stdio_options o = {.max_line = 100};
    struct harness *h = harness_new(&o, -1, -1);
    char *ok = ping_line(1, 100);
    char *over = ping_line(2, 101);
    char *big = ping_line(3, 5000);
    (void)state;

    feed(h, ok, strlen(ok));
    expect_pong(h, 1);
    /* over the bound within one read */
    feed(h, over, strlen(over));
    expect_error(h, -32600, "at most 100 bytes");
    /* over the bound across reads: one error, however many reads the rest takes */
    feed(h, big, 60);
    settle(h);
    feed(h, big + 60, 1000);
    settle(h);
    feed(h, big + 1060, strlen(big) - 1060);
    feeds(h, "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"ping\"}\n");
    expect_error(h, -32600, "at most 100 bytes");
    expect_pong(h, 4);
    settle(h);
    assert_true(no_unread_reply(h));
    free(ok);
    free(over);
    free(big);
    harness_free(h);
}

/* ---- backpressure ------------------------------------------------------------------ */

static size_t unread_input(int fd)
{
    int n = 0;
    assert_int_equal(ioctl(fd, FIONREAD, &n), 0);
    return (size_t)n;
}

static void test_output_backpressure(void **state)
{
    enum { N = 1500 };
    struct stdio_options o = {.max_output = 16 * 1024};
    struct harness *h;
    char line[64];
    int out[2];
    (void)state;

    /* The client reads nothing for now: stdout is a small pipe that fills up. */
    assert_int_equal(pipe2(out, O_CLOEXEC), 0);
    fcntl(out[1], F_SETPIPE_SZ, 4096);
    set_nonblocking(out[0]);
    h = harness_new(&o, -1, out[1]); /* h->out_r is -1: turn() reads nothing */
    /* 1000 pings (42 KB) fit in one read; their replies (38 KB) do not fit in stdout. */
    for (int i = 0; i < N; i++) {
        int n = snprintf(line, sizeof(line),
                         "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"ping\"}\n", i);
        assert_int_equal(write(h->in_w, line, (size_t)n), n);
        if (i == 999)
            settle(h);
    }
    settle(h);
    /* More than 16 KiB of replies wait, so the later requests stay unread. */
    assert_true(unread_input(o.in_fd) > 0);
    settle(h);
    assert_true(unread_input(o.in_fd) > 0);
    /* The client drains stdout: reading resumes, and every ping is answered, in order. */
    h->out_r = out[0];
    for (int i = 0; i < N; i++)
        expect_pong(h, i);
    assert_int_equal(unread_input(o.in_fd), 0);
    harness_free(h);
}

/* ---- end of input ------------------------------------------------------------------ */

static void handshake(struct harness *h)
{
    json_t *m;
    feeds(h, "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{"
             "\"protocolVersion\":\"2025-11-25\",\"capabilities\":{},"
             "\"clientInfo\":{\"name\":\"t\",\"version\":\"1\"}}}\n"
             "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n");
    m = next_msg(h);
    assert_int_equal(json_integer_value(json_object_get(m, "id")), 0);
    assert_non_null(json_object_get(m, "result"));
    json_decref(m);
}

static void test_eof_call_finishes_in_grace(void **state)
{
    struct stdio_options o = {.grace_ms = 10000};
    struct harness *h = harness_new(&o, -1, -1);
    json_t *m;
    (void)state;

    handshake(h);
    /* A call in flight and a last message without its newline, then end of input. */
    feeds(h, "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\",\"params\":{\"name\":"
             "\"later\",\"arguments\":{\"ms\":50}}}\n{\"jsonrpc\":\"2.0\",\"id\":8,"
             "\"method\":\"ping\"}");
    close_input(h);
    expect_pong(h, 8);
    m = next_msg(h);
    assert_int_equal(json_integer_value(json_object_get(m, "id")), 7);
    assert_true(json_is_true(
        json_object_get(json_object_get(json_object_get(m, "result"), "structuredContent"), "ok")));
    json_decref(m);
    run_until(h, is_done); /* then the transport winds down and closes stdout */
    assert_int_equal(h->cancelled, 0);
    assert_true(no_unread_reply(h));
    harness_free(h);
}

static void test_eof_call_cancelled_after_grace(void **state)
{
    struct stdio_options o = {.grace_ms = 20};
    struct harness *h = harness_new(&o, -1, -1);
    (void)state;

    handshake(h);
    feeds(h, "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\",\"params\":{\"name\":"
             "\"later\",\"arguments\":{\"ms\":600000}}}\n");
    settle(h);
    close_input(h);
    run_until(h, is_done);
    /* The call outlived the grace period: cancelled, and nothing was sent for it. */
    assert_int_equal(h->cancelled, 1);
    assert_true(no_unread_reply(h));
    harness_free(h);
}

static void test_shutdown_cancels_at_once(void **state)
{
    struct stdio_options o = {.grace_ms = 600000};
    struct harness *h = harness_new(&o, -1, -1);
    (void)state;

    handshake(h);
    feeds(h, "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\",\"params\":{\"name\":"
             "\"later\",\"arguments\":{\"ms\":600000}}}\n");
    settle(h);
    stdio_transport_shutdown(h->t); /* what SIGTERM does */
    run_until(h, is_done);
    assert_int_equal(h->cancelled, 1);
    assert_true(no_unread_reply(h));
    harness_free(h);
}

/* ---- regular files ------------------------------------------------------------------- */

static void test_regular_files(void **state)
{
    char in_path[] = "/tmp/sz-stdio-in-XXXXXX";
    char out_path[] = "/tmp/sz-stdio-out-XXXXXX";
    static const char input[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\n\n"
                                "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"}\r\n"
                                "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"ping\"}";
    struct stdio_options o = {0};
    struct harness *h;
    int in_fd = mkstemp(in_path);
    int out_fd = mkstemp(out_path);
    (void)state;

    assert_true(in_fd >= 0 && out_fd >= 0);
    unlink(in_path);
    assert_int_equal(write(in_fd, input, sizeof(input) - 1), (ssize_t)sizeof(input) - 1);
    assert_int_equal(lseek(in_fd, 0, SEEK_SET), 0);
    h = harness_new(&o, in_fd, out_fd);
    h->in_w = -1;
    h->out_r = open(out_path, O_RDONLY | O_CLOEXEC);
    unlink(out_path);
    assert_true(h->out_r >= 0);
    /* stdin ends after the third line; the transport finishes and stops by itself */
    h->out_is_file = true;
    run_until(h, is_done);
    close(in_fd);
    close(out_fd);
    expect_pong(h, 1);
    expect_pong(h, 2);
    expect_pong(h, 3);
    assert_true(no_unread_reply(h));
    harness_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split_and_batched),
        cmocka_unit_test(test_crlf_and_blank_lines),
        cmocka_unit_test(test_line_bound_default),
        cmocka_unit_test(test_line_bound_small),
        cmocka_unit_test(test_output_backpressure),
        cmocka_unit_test(test_eof_call_finishes_in_grace),
        cmocka_unit_test(test_eof_call_cancelled_after_grace),
        cmocka_unit_test(test_shutdown_cancels_at_once),
        cmocka_unit_test(test_regular_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
