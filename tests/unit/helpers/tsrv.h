/* A scripted HTTP/1.1 server for unit tests, on the test's own libuv loop.
 *
 * A uv_tcp listener on 127.0.0.1:0 that parses each request (head and a
 * Content-Length body; chunked uploads are refused with a test failure), records it,
 * and hands it to the test's handler, which answers at its leisure: at once, after a
 * timer, byte by byte, never, or by resetting the connection. So a test can act at an
 * exact point of a transfer: cancel when the request arrives, reset once the client
 * has bytes, stop sending to provoke a stall, redirect to a second server.
 *
 * Requests on one connection are answered in order, one at a time. Everything runs
 * on the loop thread; failures are cmocka assertions. */
#ifndef SZ_TEST_TSRV_H
#define SZ_TEST_TSRV_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#define TSRV_MAX_REQS  64
#define TSRV_MAX_CONNS 64

struct tsrv;
struct tsrv_conn;

/* A request as received. */
struct tsrv_req {
    char method[16];
    char target[512];
    char *head; /* request line and headers, NUL-terminated */
    char *body;
    size_t body_len;
    int conn_id;
};

/* Called once per request with its index in srv->reqs; must eventually answer
 * (tsrv_reply, tsrv_stream) or close the connection, or never answer at all. */
typedef void tsrv_handler_fn(struct tsrv_conn *c, int idx, void *data);

struct tsrv {
    uv_loop_t *loop;
    uv_tcp_t listener;
    int port;
    char url[64]; /* "http://127.0.0.1:<port>" */
    tsrv_handler_fn *handler;
    void *data;
    struct tsrv_req reqs[TSRV_MAX_REQS];
    int nreqs;
    int outstanding, max_outstanding; /* requests being answered, at once */
    struct tsrv_conn *conns[TSRV_MAX_CONNS];
    int nconns;
    int open_handles;
};

struct tsrv_conn {
    uv_tcp_t tcp;
    uv_timer_t timer; /* free for the handler (delayed answers) */
    struct tsrv *srv;
    int id;
    char *in;
    size_t inlen, incap;
    int busy; /* a request is being answered */
    int closing;
    int handles; /* open libuv handles (tcp, timer) */
    int cur_req; /* index of the request being answered */
    /* streaming */
    size_t stream_total, stream_sent, stream_stop_at;
    int streaming;
};

/* Starts listening on 127.0.0.1 (a free port). */
void tsrv_start(struct tsrv *srv, uv_loop_t *loop, tsrv_handler_fn *handler, void *data);

/* Closes the listener and every connection; the caller runs the loop until
 * srv->open_handles is 0, then calls tsrv_free. */
void tsrv_stop(struct tsrv *srv);

/* Frees the recorded requests. */
void tsrv_free(struct tsrv *srv);

/* Writes raw bytes (copied) to the connection. */
void tsrv_write(struct tsrv_conn *c, const void *data, size_t len);

/* Answers the current request: status line, Content-Length, extra header lines
 * ("Name: value\r\n" each, or NULL), the body. */
void tsrv_reply(struct tsrv_conn *c, int status, const char *extra_headers, const char *body,
                size_t len);

/* The same with "Content-Type: application/json" and a NUL-terminated body. */
void tsrv_reply_json(struct tsrv_conn *c, int status, const char *extra_headers, const char *json);

/* Answers 200 with a body of `total` pattern bytes (tsrv_pattern) sent with
 * backpressure, stopping (a stall) after stop_at bytes when stop_at < total. */
void tsrv_stream(struct tsrv_conn *c, size_t total, size_t stop_at, const char *ctype);

/* Closes the connection, with a TCP reset when `reset`. */
void tsrv_close_conn(struct tsrv_conn *c, int reset);

/* Header `name` of recorded request idx (a static copy, overwritten by the next
 * call), or NULL when absent. */
const char *tsrv_header(const struct tsrv *srv, int idx, const char *name);

/* Finds header `name` in a head ("line\r\nName: value\r\n..."); its value and length
 * (*plen), or NULL. */
const char *tsrv_find_header(const char *head, const char *name, size_t *plen);

/* The test pattern: byte i of every streamed body. tsrv_pattern_bytes() holds the
 * first TSRV_PATTERN_LEN of them (built on first use, freed at exit). */
#define TSRV_PATTERN_LEN (8u * 1024u * 1024u)
uint8_t tsrv_pattern(size_t i);
const uint8_t *tsrv_pattern_bytes(void);

/* One part of a multipart/form-data body (pointers into the body). */
struct tsrv_part {
    char name[64], filename[64], ctype[64];
    const char *data;
    size_t len;
};

/* Splits a multipart/form-data body whose Content-Type is ctype; returns the number
 * of parts (at most max). */
int tsrv_parse_multipart(const char *ctype, const char *body, size_t len, struct tsrv_part *parts,
                         int max);

#endif
