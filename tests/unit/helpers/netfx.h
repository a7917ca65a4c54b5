/* The fixture of the HTTP client's unit tests (net and openai): a loop, a scripted
 * server (tsrv.h) and a net client on that loop, plus the bookkeeping most tests
 * need (done records, a watchdog, sink counters).
 *
 * Use fx_setup/fx_teardown as cmocka setup and teardown; the test fills fx->opts,
 * then calls fx_make_client. Teardown closes the client, checks that it closed
 * exactly once and that no handle is left on the loop. */
#ifndef SZ_TEST_NETFX_H
#define SZ_TEST_NETFX_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <uv.h>

#include "helpers/tsrv.h"
#include "net/client.h"

/* What one done callback reported (copied). */
struct done_rec {
    int calls;
    int err;
    long status;
    int retries;
    char message[1100];
    char code[64];
    json_t *json;
    char *body;
    size_t body_len;
};

struct fx;
typedef void fx_handler_fn(struct fx *fx, struct tsrv_conn *c, int idx);

struct fx {
    uv_loop_t loop;
    struct tsrv srv;
    char base[96]; /* srv.url + "/v1": what the requests' paths follow */
    fx_handler_fn *handler;
    struct net_options opts;
    struct net_client *client;
    int client_closed;
    uv_timer_t watchdog;
    int timed_out;

    /* per-test scratch */
    struct net_req *req;
    struct net_req *reqs[8];
    struct done_rec done[8];
    int step;
    int hold_count;
    uint64_t t_first, t_second;
    /* sink state */
    int sink_headers_calls;
    long sink_status;
    int64_t sink_clen;
    char sink_ctype[64];
    size_t sink_bytes;
    int sink_bad_byte;
    int sink_paused, sink_pauses, sink_data_while_paused;
    int sink_pause_mode;
    uv_timer_t resume_timer;
    struct tsrv_conn *stream_conn;
};

/* cmocka setup/teardown: a server answering {"ok":true}, the default options
 * (retries 2, 16 at once, connect 5 s, request 10 s, stall 5 s). */
int fx_setup(void **state);
int fx_teardown(void **state);

/* Creates fx->client from fx->opts, with a jitter source of 1 (backoff 375 ms,
 * 750 ms, ...). */
void fx_make_client(struct fx *fx);

/* Runs the loop until *flag is nonzero; fails the test after 10 s. */
void fx_run_until(struct fx *fx, const int *flag);

/* A request for method and fx->base + path. */
struct net_req *fx_req(struct fx *fx, const char *method, const char *path);

/* Starts req with fx_on_done recording into d. */
void fx_start(struct fx *fx, struct net_req *req, struct done_rec *d);

/* A done callback recording into the struct done_rec given as data. */
void fx_on_done(struct net_req *req, const struct net_result *res, void *data);

/* A close callback counting fx->client_closed (data is fx). */
void fx_on_client_closed(struct net_client *client, void *data);

/* 1 if s holds a control character. */
int fx_has_control(const char *s);

#endif
