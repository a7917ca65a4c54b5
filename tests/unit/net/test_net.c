/* Unit tests of the HTTP client (src/net/): the real client on a real loop against
 * the scripted HTTP/1.1 server of tests/unit/helpers/, so a test can act at an exact
 * point of a transfer: cancel when the request arrives, reset the connection once the
 * sink has bytes, stop sending to provoke a stall, redirect to a second origin.
 *
 * Pure helpers first (summaries, the generic error sentence); then requests and
 * responses, sinks, timeouts, cancellation, concurrency, redirects and secret
 * headers, services, and the per-iteration sink budget. Multipart bodies are in
 * test_multipart.c, the retry policy in test_retry.c. */
#include "fmacros.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>
#include <jansson.h>
#include <uv.h>

#include "core/err.h"
#include "core/log.h"
#include "helpers/netfx.h"
#include "helpers/tsrv.h"
#include "net/client.h"

/* ====================================================================================
 * Pure helpers */

static void test_summarize(void **state)
{
    char out[64];
    (void)state;
    net_summarize("  hello   world  ", 17, 100, out, sizeof(out));
    assert_string_equal(out, "hello world");
    net_summarize("abcdef", 6, 3, out, sizeof(out));
    assert_string_equal(out, "abc...");
    net_summarize("abcdef", 6, 6, out, sizeof(out));
    assert_string_equal(out, "abcdef");
    net_summarize("abcdefghijklmnop", 16, 100, out, 8);
    assert_string_equal(out, "abcd...");
    net_summarize("a\x01"
                  "b\x1b[31mc\xff\n",
                  11, 100, out, sizeof(out));
    assert_string_equal(out, "a b [31mc");
}

static void test_default_error(void **state)
{
    struct net_error_in in = {404, "https://h.example:8443", "<h1>Not\r\nFound</h1>", 19};
    char out[256], code[16] = "x";
    (void)state;

    net_default_error(&in, out, sizeof(out), code, sizeof(code), NULL);
    assert_string_equal(out, "HTTP error 404 from https://h.example:8443: <h1>Not Found</h1>");
    assert_string_equal(code, "");
    in.body = NULL;
    in.len = 0;
    net_default_error(&in, out, sizeof(out), code, sizeof(code), NULL);
    assert_string_equal(out,
                        "HTTP error 404 from https://h.example:8443 with an empty response body");
    in.status = 502;
    in.body = "\r\n\t";
    in.len = 3;
    net_default_error(&in, out, sizeof(out), code, sizeof(code), NULL);
    assert_string_equal(
        out, "HTTP error 502 from https://h.example:8443 with an unreadable response body");
}

/* The parts every provider's error sentence shares: the code kept to
 * [A-Za-z0-9_.-], the message summarised, the body when the message is missing or
 * blank, the suffix after a code or a text only. */
static void test_api_error_sentence(void **state)
{
    struct net_api_error e = {.name = "Acme", .status = 429, .body = "{}", .len = 2};
    char out[256], code[16];
    (void)state;

    net_copy_code("rate_limit\r\n<b>.x-1", code, sizeof(code));
    assert_string_equal(code, "rate_limitb.x-1");
    net_copy_code(NULL, code, sizeof(code));
    assert_string_equal(code, "");
    e.code = "rate_limit";
    e.message = "  Slow\n down ";
    e.suffix = " (retry after 3s)";
    net_api_error_sentence(&e, out, sizeof(out));
    assert_string_equal(out, "Acme API error 429 (rate_limit): Slow down (retry after 3s)");
    e.code = NULL;
    e.message = " \t ";
    net_api_error_sentence(&e, out, sizeof(out));
    assert_string_equal(out, "Acme API error 429: {} (retry after 3s)");
    e.code = "quota";
    e.body = NULL;
    e.len = 0;
    e.message = NULL;
    net_api_error_sentence(&e, out, sizeof(out));
    assert_string_equal(out, "Acme API error 429 (quota) (retry after 3s)");
    e.code = "";
    net_api_error_sentence(&e, out, sizeof(out));
    assert_string_equal(out, "Acme API error 429 with an empty response body");
    e.body = "\x01\x02";
    e.len = 2;
    net_api_error_sentence(&e, out, sizeof(out));
    assert_string_equal(out, "Acme API error 429 with an unreadable response body");
}

/* Ids that go into URL paths, a base URL and its request URLs, header lines. */
static void test_provider_helpers(void **state)
{
    char long_id[130], *base = NULL, *line = NULL, *key = NULL;
    (void)state;

    assert_int_equal(net_check_id("video_68d-1"), 1);
    assert_int_equal(net_check_id(""), 0);
    assert_int_equal(net_check_id(NULL), 0);
    assert_int_equal(net_check_id("../x"), 0);
    assert_int_equal(net_check_id("a b"), 0);
    memset(long_id, 'a', 128);
    long_id[128] = '\0';
    assert_int_equal(net_check_id(long_id), 1);
    long_id[128] = 'a';
    long_id[129] = '\0';
    assert_int_equal(net_check_id(long_id), 0);

    assert_int_equal(net_base_url("https://h.example/v1//", &base), 0);
    assert_string_equal(base, "https://h.example/v1");
    free(base);
    assert_int_equal(net_base_url("ftp://h.example/v1", &base), SZ_EINVAL);
    assert_null(base);
    assert_int_equal(net_base_url("https://h.example/v1#x", &base), SZ_EINVAL);
    assert_int_equal(net_base_url("https://h.example/a b", &base), SZ_EINVAL);
    assert_int_equal(net_base_url("///", &base), SZ_EINVAL);

    assert_int_equal(net_header_line("api-key: ", "k1", &line), 0);
    assert_string_equal(line, "api-key: k1");
    free(line);
    assert_int_equal(net_header_line("api-key: ", "", &line), 0);
    assert_null(line);
    assert_int_equal(net_header_line("api-key: ", "k\r\nX-Evil: 1", &line), SZ_EINVAL);
    assert_null(line);

    assert_int_equal(net_url_origin("HTTPS://H.example/v1", NULL, &key), 0);
    assert_string_equal(key, "https://h.example:443");
    free(key);
}

/* ====================================================================================
 * Requests and responses */

static void h_video(struct fx *fx, struct tsrv_conn *c, int idx)
{
    (void)fx;
    (void)idx;
    tsrv_reply_json(
        c, 200, "x-request-id: req_1\r\n",
        "{\"id\":\"video_1\",\"object\":\"video\",\"status\":\"queued\",\"progress\":0}");
}

static void test_json_200(void **state)
{
    struct fx *fx = *state;
    struct net_req *req;

    fx->handler = h_video;
    fx_make_client(fx);
    req = fx_req(fx, "GET", "/videos/video_1");
    fx_start(fx, req, &fx->done[0]);
    assert_int_equal(fx->done[0].calls, 0); /* never inside net_req_start */
    fx_run_until(fx, &fx->done[0].calls);
    assert_int_equal(fx->done[0].err, 0);
    assert_int_equal(fx->done[0].status, 200);
    assert_string_equal(fx->done[0].message, "");
    assert_string_equal(json_string_value(json_object_get(fx->done[0].json, "id")), "video_1");
    assert_int_equal(fx->done[0].retries, 0);
    assert_int_equal(fx->srv.nreqs, 1);
    assert_string_equal(fx->srv.reqs[0].method, "GET");
    assert_string_equal(fx->srv.reqs[0].target, "/v1/videos/video_1");
    assert_string_equal(tsrv_header(&fx->srv, 0, "Accept"), "application/json");
}

static void h_echo_ok(struct fx *fx, struct tsrv_conn *c, int idx)
{
    (void)fx;
    (void)idx;
    tsrv_reply_json(c, 201, NULL, "{\"created\":true}");
}

static void test_headers_and_json_body(void **state)
{
    struct fx *fx = *state;
    struct net_req *req;
    json_t *body;

    fx->handler = h_echo_ok;
    fx_make_client(fx);
    req = fx_req(fx, "POST", "/videos");
    assert_int_equal(net_req_add_query(req, "limit", "10"), 0);
    assert_int_equal(net_req_add_query(req, "after", "a b/c&d=é~"), 0);
    body = json_pack("{s:s, s:i}", "prompt", "a \"cat\"\n", "seconds", 4);
    assert_int_equal(net_req_set_json_new(req, body), 0);
    assert_int_equal(net_req_add_header(req, "X-Extra: yes"), 0);
    assert_int_equal(net_req_add_header(req, "bad\r\nInjected: 1"), SZ_EINVAL);
    assert_int_equal(net_req_add_secret_header(req, "X-Secret: s3"), 0);
    assert_int_equal(net_req_add_secret_header(req, "X-Secret: s3\nInjected: 1"), SZ_EINVAL);
    assert_int_equal(net_req_add_header(req, "no colon"), SZ_EINVAL);
    fx_start(fx, req, &fx->done[0]);
    fx_run_until(fx, &fx->done[0].calls);
    assert_int_equal(fx->done[0].err, 0);
    assert_int_equal(fx->done[0].status, 201);

    assert_string_equal(fx->srv.reqs[0].method, "POST");
    assert_string_equal(fx->srv.reqs[0].target,
                        "/v1/videos?limit=10&after=a%20b%2Fc%26d%3D%C3%A9~");
    assert_string_equal(tsrv_header(&fx->srv, 0, "User-Agent"), "sanzaru/" SZ_VERSION);
    assert_string_equal(tsrv_header(&fx->srv, 0, "X-Secret"), "s3");
    assert_string_equal(tsrv_header(&fx->srv, 0, "Content-Type"), "application/json");
    assert_string_equal(tsrv_header(&fx->srv, 0, "X-Extra"), "yes");
    assert_null(tsrv_header(&fx->srv, 0, "Expect"));
    assert_null(tsrv_header(&fx->srv, 0, "Injected"));
    assert_string_equal(fx->srv.reqs[0].body, "{\"prompt\":\"a \\\"cat\\\"\\n\",\"seconds\":4}");
}

static void h_429_then_200(struct fx *fx, struct tsrv_conn *c, int idx)
{
    if (idx == 0) {
        fx->t_first = uv_hrtime();
        tsrv_reply_json(c, 429, "retry-after-ms: 20\r\n",
                        "{\"error\":{\"message\":\"Slow down\",\"type\":\"requests\","
                        "\"code\":\"rate_limit_exceeded\"}}");
    } else {
        fx->t_second = uv_hrtime();
        tsrv_reply_json(c, 200, NULL, "{\"id\":\"video_2\"}");
    }
}

static void test_429_retry_after_ms(void **state)
{
    struct fx *fx = *state;
    struct net_stats st;
    uint64_t waited_ms;

    fx->handler = h_429_then_200;
    fx_make_client(fx); /* random = 1: the backoff would be 375 ms */
    fx_start(fx, fx_req(fx, "GET", "/videos/video_2"), &fx->done[0]);
    fx_run_until(fx, &fx->done[0].calls);
    assert_int_equal(fx->done[0].err, 0);
    assert_int_equal(fx->done[0].status, 200);
    assert_int_equal(fx->done[0].retries, 1);
    assert_int_equal(fx->srv.nreqs, 2);
    waited_ms = (fx->t_second - fx->t_first) / 1000000u;
    assert_true(waited_ms >= 15); /* waited as told ... */
    assert_true(waited_ms < 370); /* ... and not the default backoff */
    net_client_stats(fx->client, &st);
    assert_int_equal(st.attempts, 2);
    assert_int_equal(st.retries, 1);
    assert_int_equal(st.succeeded, 1);
}

static void h_500(struct fx *fx, struct tsrv_conn *c, int idx)
{
    (void)fx;
    (void)idx;
    tsrv_reply_json(c, 500, NULL,
                    "{\"error\":{\"message\":\"Server exploded\",\"type\":\"server_error\","
                    "\"code\":null}}");
}

static void test_500_three_times(void **state)
{
    struct fx *fx = *state;
    char want[512];

    fx->handler = h_500;
    fx_make_client(fx); /* backoff 375 ms then 750 ms */
    fx_start(fx, fx_req(fx, "GET", "/videos"), &fx->done[0]);
    fx_run_until(fx, &fx->done[0].calls);
    assert_int_equal(fx->done[0].err, SZ_EUPSTREAM);
    assert_int_equal(fx->done[0].status, 500);
    assert_int_equal(fx->done[0].retries, 2);
    assert_int_equal(fx->srv.nreqs, 3);
    /* net's own sentence: the body summarised, no code (openai/ has its own) */
    snprintf(want, sizeof(want),
             "HTTP error 500 from %s: {\"error\":{\"message\":\"Server exploded\",\"type\":"
             "\"server_error\",\"code\":null}} (gave up after 2 retries)",
             fx->srv.url);
    assert_string_equal(fx->done[0].message, want);
    assert_string_equal(fx->done[0].code, "");
    assert_null(fx->done[0].json);
}

static void h_500_no_retry(struct fx *fx, struct tsrv_conn *c, int idx)
{
    (void)fx;
    (void)idx;
    tsrv_reply(c, 500, "x-should-retry: false\r\n", "oops", 4);
}

static void test_should_retry_false(void **state)
{
    struct fx *fx = *state;
    char want[128];

    fx->handler = h_500_no_retry;
    fx_make_client(fx);
    fx_start(fx, fx_req(fx, "GET", "/videos"), &fx->done[0]);
    fx_run_until(fx, &fx->done[0].calls);
    assert_int_equal(fx->done[0].err, SZ_EUPSTREAM);
    assert_int_equal(fx->srv.nreqs, 1);
    snprintf(want, sizeof(want), "HTTP error 500 from %s: oops", fx->srv.url);
    assert_string_equal(fx->done[0].message, want);
}

static void h_400_should_retry(struct fx *fx, struct tsrv_conn *c, int idx)
{
    (void)fx;
    if (idx == 0)
        tsrv_reply(c, 400, "x-should-retry: true\r\nretry-after-ms: 1\r\n", "", 0);
    else
        tsrv_reply_json(c, 200, NULL, "{}");
}

static void test_should_retry_true(void **state)
{
    struct fx *fx = *state;

    fx->handler = h_400_should_retry;
    fx_make_client(fx);
    fx_start(fx, fx_req(fx, "GET", "/videos"), &fx->done[0]);
    fx_run_until(fx, &fx->done[0].calls);
    assert_int_equal(fx->done[0].err, 0);
    assert_int_equal(fx->srv.nreqs, 2);
}

static void h_big_json(struct fx *fx, struct tsrv_conn *c, int idx)
{
    char body[5000];
    (void)fx;
    (void)idx;
    memset(body, ' ', sizeof(body));
    body[0] = '[';
    body[sizeof(body) - 1] = ']';
    tsrv_reply(c, 200, "Content-Type: application/json\r\n", body, sizeof(body));
}

static void test_body_limit(void **state)
{
    struct fx *fx = *state;
    struct net_req *req;

    fx->handler = h_big_json;
    fx_make_client(fx);
    req = fx_req(fx, "GET", "/videos");
    net_req_set_max_body(req, 1000);
    fx_start(fx, req, &fx->done[0]);
    fx_run_until(fx, &fx->done[0].calls);
    assert_int_equal(fx->done[0].err, SZ_ETOOBIG);
    assert_int_equal(fx->srv.nreqs, 1);
    assert_non_null(strstr(fx->done[0].message, "larger than 1000 bytes"));

    /* the same body within the default limit parses */
    fx_start(fx, fx_req(fx, "GET", "/videos"), &fx->done[1]);
    fx_run_until(fx, &fx->done[1].calls);
    assert_int_equal(fx->done[1].err, 0);
    assert_true(json_is_array(fx->done[1].json));
}

static void h_not_json(struct fx *fx, struct tsrv_conn *c, int idx)
{
    (void)fx;
    (void)idx;
    tsrv_reply(c, 200, "Content-Type: application/json\r\n", "{\"id\": \x01 nope", 14);
}

static void test_invalid_json_2xx(void **state)
{
    struct fx *fx = *state;
    struct net_req *req;
    char want[256];

    fx->handler = h_not_json;
    fx_make_client(fx);
    fx_start(fx, fx_req(fx, "GET", "/videos"), &fx->done[0]);
    fx_run_until(fx, &fx->done[0].calls);
    assert_int_equal(fx->done[0].err, SZ_EPROTO);
    assert_int_equal(fx->done[0].status, 200);
    assert_false(fx_has_control(fx->done[0].message));
    snprintf(want, sizeof(want),
             "%s returned status 200 with a body that is not JSON: {\"id\": nope", fx->srv.url);
    assert_string_equal(fx->done[0].message, want);

    /* raw requests get the bytes untouched */
    req = fx_req(fx, "GET", "/videos");
    net_req_set_raw(req);
    fx_start(fx, req, &fx->done[1]);
    fx_run_until(fx, &fx->done[1].calls);
    assert_int_equal(fx->done[1].err, 0);
    assert_null(fx->done[1].json);
    assert_int_equal(fx->done[1].body_len, 14);
    assert_memory_equal(fx->done[1].body, "{\"id\": \x01 nope", 14);
}

/* A request failed before it starts (as a provider does without credentials):
 * reported through the done callback, later, with no traffic. */
static void test_set_failure(void **state)
{
    struct fx *fx = *state;
    struct net_req *req;

    fx_make_client(fx);
    req = fx_req(fx, "GET", "/videos");
    assert_int_equal(net_req_set_failure(req, 0, "not an error"), SZ_EINVAL);
    assert_int_equal(net_req_set_failure(req, SZ_ENOKEY, "No key for this service"), 0);
    fx_start(fx, req, &fx->done[0]);
    assert_int_equal(fx->done[0].calls, 0);
    fx_run_until(fx, &fx->done[0].calls);
    assert_int_equal(fx->done[0].err, SZ_ENOKEY);
    assert_string_equal(fx->done[0].message, "No key for this service");
    assert_int_equal(fx->srv.nreqs, 0);
    assert_int_equal(fx->srv.nconns, 0);
}

static void test_connection_refused(void **state)
{
    struct fx *fx = *state;
    uv_tcp_t tmp;
    struct sockaddr_in addr;
    struct sockaddr_storage got;
    int len = sizeof(got), port;
    char want[128], url[64];
    struct net_req *req;

    /* a port that was just free: bind, read it, close */
    uv_tcp_init(&fx->loop, &tmp);
    uv_ip4_addr("127.0.0.1", 0, &addr);
    assert_int_equal(uv_tcp_bind(&tmp, (const struct sockaddr *)&addr, 0), 0);
    uv_tcp_getsockname(&tmp, (struct sockaddr *)&got, &len);
    port = ntohs(((struct sockaddr_in *)&got)->sin_port);
    uv_close((uv_handle_t *)&tmp, NULL);
    uv_run(&fx->loop, UV_RUN_NOWAIT);

    fx_make_client(fx);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1/videos", port);
    assert_int_equal(net_req_new(fx->client, "GET", url, &req), 0);
    net_req_set_max_retries(req, 0);
    fx_start(fx, req, &fx->done[0]);
    fx_run_until(fx, &fx->done[0].calls);
    assert_int_equal(fx->done[0].err, SZ_EIO);
    assert_int_equal(fx->done[0].status, 0);
    snprintf(want, sizeof(want), "Could not connect to http://127.0.0.1:%d: Connection refused",
             port);
    assert_string_equal(fx->done[0].message, want);
}

/* ---- sinks ---- */

static int sink_headers(struct net_req *req, long status, int64_t clen, const char *ctype,
                        void *data)
{
    struct fx *fx = data;
    (void)req;
    fx->sink_headers_calls++;
    fx->sink_status = status;
    fx->sink_clen = clen;
    snprintf(fx->sink_ctype, sizeof(fx->sink_ctype), "%s", ctype ? ctype : "");
    if (fx->sink_bytes != 0)
        fx->sink_bad_byte = 1; /* headers after data */
    return 0;
}

static void resume_cb(uv_timer_t *t)
{
    struct fx *fx = t->data;
    fx->sink_paused = 0;
    net_req_resume(fx->req);
}

static int sink_data(struct net_req *req, const char *buf, size_t len, void *data)
{
    struct fx *fx = data;

    if (fx->sink_paused)
        fx->sink_data_while_paused++;
    if (fx->sink_headers_calls != 1)
        fx->sink_bad_byte = 1;
    for (size_t i = 0; i < len; i++) {
        if ((uint8_t)buf[i] != tsrv_pattern(fx->sink_bytes + i)) {
            fx->sink_bad_byte = 1;
            break;
        }
    }
    fx->sink_bytes += len;
    assert_int_equal(net_req_received(req) + len, fx->sink_bytes);
    switch (fx->sink_pause_mode) {
    case 1: /* pause on every chunk, resume 1 ms later (a 0 ms timer chain could starve
             * the loop if the client were broken) */
        fx->sink_paused = 1;
        fx->sink_pauses++;
        uv_timer_start(&fx->resume_timer, resume_cb, 1, 0);
        return NET_SINK_PAUSE;
    case 2: /* one long pause, longer than the stall timeout */
        if (fx->sink_pauses == 0 && fx->sink_bytes > 100000) {
            fx->sink_paused = 1;
            fx->sink_pauses++;
            uv_timer_start(&fx->resume_timer, resume_cb, 400, 0);
            return NET_SINK_PAUSE;
        }
        return 0;
    case 3: /* reset the server's connection once bytes have arrived */
        if (fx->stream_conn != NULL) {
            tsrv_close_conn(fx->stream_conn, 1);
            fx->stream_conn = NULL;
        }
        return 0;
    case 4: /* cancel from inside the callback */
        net_req_cancel(req);
        return 0;
    case 5: /* pause and let the test cancel */
        fx->sink_paused = 1;
        fx->sink_pauses++;
        return NET_SINK_PAUSE;
    case 6: /* the sink fails (disk full) */
        return SZ_EIO;
    case 7: /* resume from inside on_data cancels the pause it returns */
        net_req_resume(req);
        fx->sink_pauses++;
        return NET_SINK_PAUSE;
    default:
        return 0;
    }
}

static struct net_req *sink_req(struct fx *fx, const char *path)
{
    struct net_sink sink = {sink_headers, sink_data, fx};
    struct net_req *req = fx_req(fx, "GET", path);
    net_req_set_sink(req, &sink);
    fx->req = req;
    return req;
}

#define BIG (4u * 1024u * 1024u + 12345u)

static void h_stream_big(struct fx *fx, struct tsrv_conn *c, int idx)
{
    (void)idx;
    fx->stream_conn = c;
    tsrv_stream(c, BIG, BIG, "video/mp4");
}

static void test_sink_pause_resume(void **state)
{
    struct fx *fx = *state;

    fx->handler = h_stream_big;
    fx->sink_pause_mode = 1;
    fx_make_client(fx);
    fx_start(fx, sink_req(fx, "/videos/video_1/content?variant=video"), &fx->done[0]);
    fx_run_until(fx, &fx->done[0].calls);
    assert_int_equal(fx->done[0].err, 0);
    assert_int_equal(fx->done[0].status, 200);
    assert_null(fx->done[0].json);
    assert_null(fx->done[0].body);
    assert_int_equal(fx->sink_headers_calls, 1);
    assert_int_equal(fx->sink_status, 200);
    assert_int_equal(fx->sink_clen, BIG);
    assert_string_equal(fx->sink_ctype, "video/mp4");
    assert_int_equal(fx->sink_bytes, BIG);
    assert_int_equal(fx->sink_bad_byte, 0);
    assert_int_equal(fx->sink_data_while_paused, 0);
    assert_true(fx->sink_pauses > 10);
    /* no automatic decompression on sinks */
    assert_null(tsrv_header(&fx->srv, 0, "Accept-Encoding"));
    assert_string_equal(fx->srv.reqs[0].target, "/v1/videos/video_1/content?variant=video");
}

static void test_sink_pause_is_not_a_stall(void **state)
{
    struct fx *fx = *state;

    fx->handler = h_stream_big;
    fx->sink_pause_mode = 2; /* pauses 400 ms */
    fx->opts.stall_timeout_ms = 150;
    fx_make_client(fx);
    fx_start(fx, sink_req(fx, "/videos/video_1/content"), &fx->done[0]);
    fx_run_until(fx, &fx->done[0].calls);
    assert_int_equal(fx->done[0].err, 0);
    assert_int_equal(fx->sink_pauses, 1);
    assert_int_equal(fx->sink_bytes, BIG);
    assert_int_equal(fx->sink_bad_byte, 0);
    assert_int_equal(fx->srv.nreqs, 1);
}

static void test_sink_resume_inside_on_data(void **state)
{
    struct fx *fx = *state;

    fx->handler = h_stream_big;
    fx->sink_pause_mode = 7;
    fx_make_client(fx);
    fx_start(fx, sink_req(fx, "/videos/video_1/content"), &fx->done[0]);
    fx_run_until(fx, &fx->done[0].calls);
    assert_int_equal(fx->done[0].err, 0);
    assert_int_equal(fx->sink_bytes, BIG);
    assert_int_equal(fx->sink_bad_byte, 0);
}

static void test_sink_reset_mid_body(void **state)
{
    struct fx *fx = *state;

    fx->handler = h_stream_big;
    fx->sink_pause_mode = 3;
    fx_make_client(fx);
    fx_start(fx, sink_req(fx, "/videos/video_1/content"), &fx->done[0]);
    fx_run_until(fx, &fx->done[0].calls);
    assert_int_equal(fx->done[0].err, SZ_EIO);
    assert_true(fx->sink_bytes > 0 && fx->sink_bytes < BIG);
    assert_int_equal(fx->sink_bad_byte, 0);
    assert_int_equal(fx->srv.nreqs, 1); /* never retried once the sink had bytes */
    assert_int_equal(fx->done[0].retries, 0);
    assert_non_null(strstr(fx->done[0].message, "broke"));
    assert_false(fx_has_control(fx->done[0].message));
}

static void h_redirect(struct fx *fx, struct tsrv_conn *c, int idx)
{
    if (idx == 0)
        tsrv_reply(c, 302, "Location: /v1/cdn/video.mp4\r\n", "moved", 5);
    else
        h_stream_big(fx, c, idx);
}

/* A content URL that redirects (e.g. to a CDN): followed, and the sink sees only the
 * final response. */
static void test_sink_follows_redirect(void **state)
{
    struct fx *fx = *state;

    fx->handler = h_redirect;
    fx_make_client(fx);
    fx_start(fx, sink_req(fx, "/videos/v/content"), &fx->done[0]);
    fx_run_until(fx, &fx->done[0].calls);
    assert_int_equal(fx->done[0].err, 0);
    assert_int_equal(fx->srv.nreqs, 2);
    assert_string_equal(fx->srv.reqs[1].target, "/v1/cdn/video.mp4");
    assert_int_equal(fx->sink_headers_calls, 1);
    assert_int_equal(fx->sink_status, 200);
    assert_int_equal(fx->sink_bytes, BIG);
    assert_int_equal(fx->sink_bad_byte, 0);
}

static void h_stream_stall(struct fx *fx, struct tsrv_conn *c, int idx)
{
    (void)fx;
    (void)idx;
    tsrv_stream(c, 1000000, 1000, "video/mp4");
}

static void test_sink_stall(void **state)
{
    struct fx *fx = *state;

    fx->handler = h_stream_stall;
    fx->opts.stall_timeout_ms = 100;
    fx_make_client(fx);
    fx_start(fx, sink_req(fx, "/videos/video_1/content"), &fx->done[0]);
    fx_run_until(fx, &fx->done[0].calls);
    assert_int_equal(fx->done[0].err, SZ_ETIMEOUT);
    assert_int_equal(fx->sink_bytes, 1000);
    assert_int_equal(fx->srv.nreqs, 1);
    assert_non_null(strstr(fx->done[0].message, "No data received"));
    assert_non_null(strstr(fx->done[0].message, "100 ms"));
}

static void h_stall_then_ok(struct fx *fx, struct tsrv_conn *c, int idx)
{
    (void)fx;
    if (idx == 0) {
        /* headers and 10 of 100 bytes, then silence */
        const char *h = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789";
        tsrv_write(c, h, strlen(h));
    } else {
        tsrv_reply_json(c, 200, NULL, "{\"second\":true}");
    }
}

static void test_buffered_stall_retries(void **state)
{
    struct fx *fx = *state;
    struct net_req *req;

    fx->handler = h_stall_then_ok;
    fx_make_client(fx);
    req = fx_req(fx, "GET", "/videos");
    net_req_set_timeouts(req, -1, 100);
    fx_start(fx, req, &fx->done[0]);
    fx_run_until(fx, &fx->done[0].calls);
    /* a buffered request has delivered nothing to anyone: the stall is retried */
    assert_int_equal(fx->done[0].err, 0);
    assert_int_equal(fx->done[0].retries, 1);
    assert_int_equal(fx->srv.nreqs, 2);
    assert_true(json_is_true(json_object_get(fx->done[0].json, "second")));
}

static void h_stall_always(struct fx *fx, struct tsrv_conn *c, int idx)
{
    const char *h = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789";
    (void)fx;
    (void)idx;
    tsrv_write(c, h, strlen(h));
}

static void test_buffered_stall_timeout(void **state)
{
    struct fx *fx = *state;
    struct net_req *req;

    fx->handler = h_stall_always;
    fx->opts.stall_timeout_ms = 100;
    fx->opts.max_retries = 0;
    fx_make_client(fx);
    req = fx_req(fx, "GET", "/videos");
    fx_start(fx, req, &fx->done[0]);
    fx_run_until(fx, &fx->done[0].calls);
    assert_int_equal(fx->done[0].err, SZ_ETIMEOUT);
    assert_int_equal(fx->srv.nreqs, 1);
}

static void slow_reply_cb(uv_timer_t *t)
{
    struct tsrv_conn *c = t->data;
    tsrv_reply_json(c, 200, NULL, "{\"slow\":true}");
}

static void h_think_then_reply(struct fx *fx, struct tsrv_conn *c, int idx)
{
    (void)fx;
    (void)idx;
    uv_timer_start(&c->timer, slow_reply_cb, 300, 0);
}

/* A buffered request may wait longer than the stall timeout for its first byte. */
static void test_buffered_slow_first_byte(void **state)
{
    struct fx *fx = *state;

    fx->handler = h_think_then_reply;
    fx->opts.stall_timeout_ms = 100;
    fx->opts.max_retries = 0;
    fx_make_client(fx);
    fx_start(fx, fx_req(fx, "POST", "/responses"), &fx->done[0]);
    fx_run_until(fx, &fx->done[0].calls);
    assert_int_equal(fx->done[0].err, 0);
    assert_int_equal(fx->srv.nreqs, 1);
}

static void h_silent(struct fx *fx, struct tsrv_conn *c, int idx)
{
    (void)fx;
    (void)c;
    (void)idx;
}

static void test_request_timeout(void **state)
{
    struct fx *fx = *state;
    struct net_req *req;

    fx->handler = h_silent;
    fx_make_client(fx);
    req = fx_req(fx, "GET", "/videos");
    net_req_set_timeouts(req, 150, -1);
    net_req_set_max_retries(req, 0);
    fx_start(fx, req, &fx->done[0]);
    fx_run_until(fx, &fx->done[0].calls);
    assert_int_equal(fx->done[0].err, SZ_ETIMEOUT);
    assert_non_null(strstr(fx->done[0].message, "timed out after 150 ms"));
}

static void h_stream_404(struct fx *fx, struct tsrv_conn *c, int idx)
{
    (void)fx;
    (void)idx;
    tsrv_reply_json(
        c, 404, NULL,
        "{\"error\":{\"message\":\"Video not found\",\"type\":\"invalid_request_error\","
        "\"param\":null,\"code\":\"not_found\"}}");
}

static void test_sink_error_body_is_buffered(void **state)
{
    struct fx *fx = *state;

    fx->handler = h_stream_404;
    fx_make_client(fx);
    fx_start(fx, sink_req(fx, "/videos/x/content"), &fx->done[0]);
    fx_run_until(fx, &fx->done[0].calls);
    assert_int_equal(fx->done[0].err, SZ_EUPSTREAM);
    assert_non_null(strstr(fx->done[0].message, "Video not found"));
    assert_int_equal(fx->done[0].status, 404);
    assert_int_equal(fx->sink_headers_calls, 0);
    assert_int_equal(fx->sink_bytes, 0);
}

static void test_sink_abort(void **state)
{
    struct fx *fx = *state;

    fx->handler = h_stream_big;
    fx->sink_pause_mode = 6;
    fx_make_client(fx);
    fx_start(fx, sink_req(fx, "/videos/v/content"), &fx->done[0]);
    fx_run_until(fx, &fx->done[0].calls);
    assert_int_equal(fx->done[0].err, SZ_EIO);
    assert_int_equal(fx->srv.nreqs, 1);
    assert_non_null(strstr(fx->done[0].message, "aborted"));
}

/* ---- cancellation ---- */

static void h_cancel_on_arrival(struct fx *fx, struct tsrv_conn *c, int idx)
{
    (void)c;
    (void)idx;
    net_req_cancel(fx->req);            /* the server shares the loop: the request is in flight */
    net_req_cancel(fx->req);            /* idempotent */
    fx->hold_count = fx->done[0].calls; /* never called inside net_req_cancel */
    fx->step = 1;
}

static void test_cancel_in_flight(void **state)
{
    struct fx *fx = *state;

    fx->handler = h_cancel_on_arrival;
    fx_make_client(fx);
    fx->req = fx_req(fx, "GET", "/videos");
    fx_start(fx, fx->req, &fx->done[0]);
    fx_run_until(fx, &fx->step);
    assert_int_equal(fx->hold_count, 0);
    assert_int_equal(net_client_inflight(fx->client), 0);
    fx_run_until(fx, &fx->done[0].calls);
    assert_int_equal(fx->done[0].err, SZ_ECANCELLED);
    /* close everything: still exactly one callback */
    net_client_close(fx->client, fx_on_client_closed, fx);
    fx_run_until(fx, &fx->client_closed);
    fx->client = NULL;
    assert_int_equal(fx->done[0].calls, 1);
    assert_int_equal(fx->srv.nreqs, 1);
}

static void test_cancel_inside_sink(void **state)
{
    struct fx *fx = *state;

    fx->handler = h_stream_big;
    fx->sink_pause_mode = 4;
    fx_make_client(fx);
    fx_start(fx, sink_req(fx, "/videos/v/content"), &fx->done[0]);
    fx_run_until(fx, &fx->done[0].calls);
    assert_int_equal(fx->done[0].err, SZ_ECANCELLED);
    assert_true(fx->sink_bytes > 0 && fx->sink_bytes < BIG);
    assert_int_equal(fx->srv.nreqs, 1);
}

static int sink_paused_flag(struct fx *fx)
{
    return fx->sink_paused;
}

static void test_cancel_paused(void **state)
{
    struct fx *fx = *state;

    fx->handler = h_stream_big;
    fx->sink_pause_mode = 5;
    fx_make_client(fx);
    fx_start(fx, sink_req(fx, "/videos/v/content"), &fx->done[0]);
    fx_run_until(fx, &fx->sink_paused);
    assert_true(sink_paused_flag(fx));
    assert_int_equal(net_client_inflight(fx->client), 1);
    net_req_cancel(fx->req);
    fx_run_until(fx, &fx->done[0].calls);
    assert_int_equal(fx->done[0].err, SZ_ECANCELLED);
    assert_int_equal(fx->sink_pauses, 1);
    assert_int_equal(net_client_inflight(fx->client), 0);
}

static void h_500_long_retry(struct fx *fx, struct tsrv_conn *c, int idx)
{
    (void)idx;
    tsrv_reply(c, 503, "retry-after: 30\r\n", "", 0);
    fx->step = 1;
}

static void watchdog_cb(uv_timer_t *t)
{
    struct fx *fx = t->data;
    fx->timed_out = 1;
}

static void test_cancel_waiting_retry(void **state)
{
    struct fx *fx = *state;
    struct net_stats st;
    int waiting = 0;

    fx->handler = h_500_long_retry;
    fx_make_client(fx);
    fx->req = fx_req(fx, "GET", "/videos");
    fx_start(fx, fx->req, &fx->done[0]);
    fx_run_until(fx, &fx->step);
    fx->timed_out = 0;
    uv_timer_start(&fx->watchdog, watchdog_cb, 5000, 0);
    while (!waiting && !fx->timed_out) {
        uv_run(&fx->loop, UV_RUN_ONCE);
        net_client_stats(fx->client, &st);
        waiting = st.waiting_retry == 1;
    }
    uv_timer_stop(&fx->watchdog);
    assert_true(waiting);
    net_req_cancel(fx->req);
    fx_run_until(fx, &fx->done[0].calls);
    assert_int_equal(fx->done[0].err, SZ_ECANCELLED);
    assert_int_equal(fx->srv.nreqs, 1);
    net_client_stats(fx->client, &st);
    assert_int_equal(st.waiting_retry, 0);
}

static void test_cancel_queued(void **state)
{
    struct fx *fx = *state;

    fx->handler = h_silent;
    fx->opts.max_concurrency = 1;
    fx_make_client(fx);
    fx->reqs[0] = fx_req(fx, "GET", "/a");
    fx->reqs[1] = fx_req(fx, "GET", "/b");
    fx_start(fx, fx->reqs[0], &fx->done[0]);
    fx_start(fx, fx->reqs[1], &fx->done[1]);
    assert_int_equal(net_client_inflight(fx->client), 1);
    assert_int_equal(net_client_queued(fx->client), 1);
    net_req_cancel(fx->reqs[1]);
    assert_int_equal(net_client_queued(fx->client), 0);
    fx_run_until(fx, &fx->done[1].calls);
    assert_int_equal(fx->done[1].err, SZ_ECANCELLED);
    assert_int_equal(fx->done[0].calls, 0);
    net_req_cancel(fx->reqs[0]);
    fx_run_until(fx, &fx->done[0].calls);
    assert_int_equal(fx->done[0].err, SZ_ECANCELLED);
    assert_true(fx->srv.nreqs <= 1);
    for (int i = 0; i < fx->srv.nreqs; i++)
        assert_string_equal(fx->srv.reqs[i].target, "/v1/a");
}

static void test_close_cancels_everything(void **state)
{
    struct fx *fx = *state;
    struct net_req *late;

    fx->handler = h_silent;
    fx->opts.max_concurrency = 2;
    fx_make_client(fx);
    for (int i = 0; i < 4; i++)
        fx_start(fx, fx_req(fx, "GET", "/videos"), &fx->done[i]);
    assert_int_equal(net_client_inflight(fx->client), 2);
    assert_int_equal(net_client_queued(fx->client), 2);
    net_client_close(fx->client, fx_on_client_closed, fx);
    late = fx_req(fx, "GET", "/late");
    fx_start(fx, late, &fx->done[4]);
    fx_run_until(fx, &fx->client_closed);
    fx->client = NULL;
    for (int i = 0; i < 5; i++) {
        assert_int_equal(fx->done[i].calls, 1);
        assert_int_equal(fx->done[i].err, SZ_ECANCELLED);
    }
    fx->client_closed = 0;
}

/* ---- concurrency ---- */

static void release_cb(uv_timer_t *t)
{
    struct tsrv_conn *c = t->data;
    tsrv_reply_json(c, 200, NULL, "{}");
}

static void h_hold(struct fx *fx, struct tsrv_conn *c, int idx)
{
    (void)fx;
    (void)idx;
    /* answer after 30 ms, long enough for a third request to show up if the limit
     * were not enforced */
    uv_timer_start(&c->timer, release_cb, 30, 0);
}

static void test_concurrency_limit(void **state)
{
    struct fx *fx = *state;
    int all = 0;

    fx->handler = h_hold;
    fx->opts.max_concurrency = 2;
    fx_make_client(fx);
    for (int i = 0; i < 5; i++) {
        char path[16];
        snprintf(path, sizeof(path), "/r%d", i);
        fx_start(fx, fx_req(fx, "GET", path), &fx->done[i]);
    }
    assert_int_equal(net_client_inflight(fx->client), 2);
    assert_int_equal(net_client_queued(fx->client), 3);
    fx->timed_out = 0;
    uv_timer_start(&fx->watchdog, watchdog_cb, 10000, 0);
    while (!all && !fx->timed_out) {
        uv_run(&fx->loop, UV_RUN_ONCE);
        assert_true(net_client_inflight(fx->client) <= 2);
        all = 1;
        for (int i = 0; i < 5; i++)
            all = all && fx->done[i].calls == 1;
    }
    uv_timer_stop(&fx->watchdog);
    assert_true(all);
    for (int i = 0; i < 5; i++)
        assert_int_equal(fx->done[i].err, 0);
    assert_int_equal(fx->srv.nreqs, 5);
    assert_int_equal(fx->srv.max_outstanding, 2);
    /* FIFO: the last one started is the last one the server saw */
    assert_string_equal(fx->srv.reqs[4].target, "/v1/r4");
    /* connections were reused */
    assert_true(fx->srv.nconns <= 2);
}

/* ---- many concurrent sinks with backpressure ---- */

struct dl {
    struct fx *fx;
    struct net_req *req;
    uv_timer_t timer;
    size_t bytes;
    int bad, pauses, paused, chunks;
    struct done_rec done;
};

static void dl_resume(uv_timer_t *t)
{
    struct dl *d = t->data;
    d->paused = 0;
    net_req_resume(d->req);
}

static int dl_data(struct net_req *req, const char *buf, size_t len, void *data)
{
    struct dl *d = data;
    (void)req;
    if (d->paused || memcmp(buf, tsrv_pattern_bytes() + d->bytes, len) != 0)
        d->bad = 1;
    d->bytes += len;
    /* like a disk writer with a bounded queue: pause every third chunk */
    if (++d->chunks % 3 == 0) {
        d->paused = 1;
        d->pauses++;
        uv_timer_start(&d->timer, dl_resume, 1, 0);
        return NET_SINK_PAUSE;
    }
    return 0;
}

static void dl_done(struct net_req *req, const struct net_result *res, void *data)
{
    struct dl *d = data;
    fx_on_done(req, res, &d->done);
    d->fx->step++;
}

static size_t dl_size = 1u << 20;

static void h_stream_dl(struct fx *fx, struct tsrv_conn *c, int idx)
{
    (void)fx;
    (void)idx;
    tsrv_stream(c, dl_size, dl_size, "video/mp4");
}

/* N downloads through a concurrency limit, each pausing often; every byte arrives once
 * and in order. NET_BENCH=1 makes it the load (32 x 7,691,516 bytes) and prints
 * the wall time. */
static void test_many_sinks(void **state)
{
    struct fx *fx = *state;
    int n = 12;
    struct dl *dls;
    uint64_t t0;
    const char *bench = getenv("NET_BENCH");

    if (bench != NULL && bench[0] == '1') {
        n = 32;
        dl_size = 7691516;
    }
    fx->handler = h_stream_dl;
    fx->opts.max_concurrency = bench != NULL ? 16 : 4;
    fx_make_client(fx);
    dls = calloc((size_t)n, sizeof(*dls));
    assert_non_null(dls);
    t0 = uv_hrtime();
    for (int i = 0; i < n; i++) {
        struct net_sink sink = {NULL, dl_data, &dls[i]};
        dls[i].fx = fx;
        uv_timer_init(&fx->loop, &dls[i].timer);
        dls[i].timer.data = &dls[i];
        dls[i].req = fx_req(fx, "GET", "/videos/v/content");
        net_req_set_sink(dls[i].req, &sink);
        assert_int_equal(net_req_start(dls[i].req, dl_done, &dls[i]), 0);
    }
    fx->timed_out = 0;
    uv_timer_start(&fx->watchdog, watchdog_cb, 60000, 0);
    while (fx->step < n && !fx->timed_out)
        uv_run(&fx->loop, UV_RUN_ONCE);
    uv_timer_stop(&fx->watchdog);
    if (bench != NULL)
        print_message("%d downloads of %zu bytes: %.0f ms\n", n, dl_size,
                      (double)(uv_hrtime() - t0) / 1e6);
    assert_int_equal(fx->step, n);
    for (int i = 0; i < n; i++) {
        assert_int_equal(dls[i].done.err, 0);
        assert_int_equal(dls[i].bytes, dl_size);
        assert_int_equal(dls[i].bad, 0);
        assert_true(dls[i].pauses > 0);
        uv_close((uv_handle_t *)&dls[i].timer, NULL);
        free(dls[i].done.body);
        json_decref(dls[i].done.json);
    }
    uv_run(&fx->loop, UV_RUN_NOWAIT);
    free(dls);
    assert_int_equal(fx->srv.max_outstanding, fx->opts.max_concurrency);
}

/* ---- callbacks that start or close from inside a done callback ---- */

static void on_done_chain(struct net_req *req, const struct net_result *res, void *data)
{
    struct fx *fx = data;
    fx_on_done(req, res, &fx->done[0]);
    fx_start(fx, fx_req(fx, "GET", "/second"), &fx->done[1]);
}

static void test_start_from_done(void **state)
{
    struct fx *fx = *state;

    fx_make_client(fx);
    assert_int_equal(net_req_start(fx_req(fx, "GET", "/first"), on_done_chain, fx), 0);
    fx_run_until(fx, &fx->done[1].calls);
    assert_int_equal(fx->done[0].err, 0);
    assert_int_equal(fx->done[1].err, 0);
    assert_int_equal(fx->srv.nreqs, 2);
    assert_string_equal(fx->srv.reqs[1].target, "/v1/second");
    assert_int_equal(fx->srv.nconns, 1); /* the connection was reused */
}

static void on_done_close(struct net_req *req, const struct net_result *res, void *data)
{
    struct fx *fx = data;
    fx_on_done(req, res, &fx->done[0]);
    net_client_close(fx->client, fx_on_client_closed, fx);
    net_client_close(fx->client, fx_on_client_closed, fx); /* twice is a no-op */
}

static void h_first_fast(struct fx *fx, struct tsrv_conn *c, int idx)
{
    if (strcmp(fx->srv.reqs[idx].target, "/v1/fast") == 0)
        tsrv_reply_json(c, 200, NULL, "{}");
}

static void test_close_from_done(void **state)
{
    struct fx *fx = *state;

    fx->handler = h_first_fast;
    fx_make_client(fx);
    fx_start(fx, fx_req(fx, "GET", "/slow"), &fx->done[1]);
    assert_int_equal(net_req_start(fx_req(fx, "GET", "/fast"), on_done_close, fx), 0);
    fx_run_until(fx, &fx->client_closed);
    fx->client = NULL;
    assert_int_equal(fx->done[0].calls, 1);
    assert_int_equal(fx->done[0].err, 0);
    assert_int_equal(fx->done[1].calls, 1);
    assert_int_equal(fx->done[1].err, SZ_ECANCELLED);
    assert_int_equal(fx->client_closed, 1);
    fx->client_closed = 0;
}

static void test_request_api_misuse(void **state)
{
    struct fx *fx = *state;
    struct net_req *req = NULL;
    char *bytes = malloc(4);

    fx_make_client(fx);
    assert_int_equal(net_req_new(fx->client, "GET", "videos", &req), SZ_EINVAL);
    assert_null(req);
    assert_int_equal(net_req_new(fx->client, "GET", "ftp://127.0.0.1/a", &req), SZ_EINVAL);
    assert_int_equal(net_req_new(fx->client, "GET", "http://127.0.0.1/a b", &req), SZ_EINVAL);
    assert_int_equal(net_req_new(fx->client, "GET", "http://127.0.0.1/a\r\nX: y", &req), SZ_EINVAL);
    assert_int_equal(net_req_new(fx->client, "GET", "http://127.0.0.1/a#frag", &req), SZ_EINVAL);
    assert_int_equal(net_req_new(fx->client, "G T", "http://127.0.0.1/a", &req), SZ_EINVAL);
    /* A base URL and a path: the path must start with '/' and stay one path. */
    assert_int_equal(net_req_new_at(fx->client, "GET", "http://127.0.0.1/v1", "videos", &req),
                     SZ_EINVAL);
    assert_int_equal(net_req_new_at(fx->client, "GET", "http://127.0.0.1/v1", "/a b", &req),
                     SZ_EINVAL);
    assert_int_equal(net_req_new_at(fx->client, "GET", "http://127.0.0.1/v1", "/a#b", &req),
                     SZ_EINVAL);
    assert_null(req);
    assert_int_equal(net_req_new_at(fx->client, "GET", "http://127.0.0.1/v1", "/videos", &req), 0);
    net_req_free(req);
    req = fx_req(fx, "POST", "/x");
    assert_int_equal(net_req_set_json_new(req, json_object()), 0);
    assert_int_equal(net_req_add_field(req, "a", "b"), SZ_EINVAL);
    assert_int_equal(net_req_add_file(req, "a", "f", "image/png", bytes, 4), SZ_EINVAL);
    assert_int_equal(net_req_start(req, NULL, NULL), SZ_EINVAL);
    net_req_free(req); /* never started */
}

/* ---- redirects and secret headers ---- */

/* A second origin: the same host on another port. */
static struct tsrv other;
static int other_started;

static void h_other(struct tsrv_conn *c, int idx, void *data)
{
    (void)data;
    if (strncmp(other.reqs[idx].target, "/cdn/stream", 11) == 0)
        tsrv_stream(c, BIG, BIG, "video/mp4");
    else
        tsrv_reply_json(c, 200, NULL, "{\"cdn\":true}");
}

static void other_start(struct fx *fx)
{
    tsrv_start(&other, &fx->loop, h_other, fx);
    other_started = 1;
}

/* The fixture's teardown, after stopping the second server if a test started it
 * (also when the test failed half-way). */
static int teardown(void **state)
{
    int rc;

    if (other_started)
        tsrv_stop(&other);
    rc = fx_teardown(state);
    if (other_started) {
        assert_int_equal(other.open_handles, 0);
        tsrv_free(&other);
        other_started = 0;
    }
    return rc;
}

static void h_home_then_away(struct fx *fx, struct tsrv_conn *c, int idx)
{
    char loc[160];
    (void)fx;
    if (idx == 0) {
        tsrv_reply(c, 302, "Location: /v1/moved\r\n", "", 0); /* same origin */
    } else {
        snprintf(loc, sizeof(loc), "Location: %s/cdn/%s?sig=1\r\n", other.url,
                 strstr(fx->srv.reqs[0].target, "stream") != NULL ? "stream" : "object");
        tsrv_reply(c, 302, loc, "moved", 5);
    }
}

/* A credential header is sent at home, also after a same-origin redirect, and never
 * to another origin (here: another port), while ordinary headers follow. */
static void test_secret_header_stays_home(void **state)
{
    struct fx *fx = *state;
    struct net_stats st;
    struct net_req *req;

    fx->handler = h_home_then_away;
    other_start(fx);
    fx_make_client(fx);
    req = fx_req(fx, "GET", "/object");
    assert_int_equal(net_req_add_secret_header(req, "X-Api-Key: k-123"), 0);
    assert_int_equal(net_req_add_header(req, "X-Plain: p"), 0);
    fx_start(fx, req, &fx->done[0]);
    fx_run_until(fx, &fx->done[0].calls);
    assert_int_equal(fx->done[0].err, 0);
    assert_true(json_is_true(json_object_get(fx->done[0].json, "cdn")));
    assert_int_equal(fx->srv.nreqs, 2);
    assert_string_equal(tsrv_header(&fx->srv, 0, "X-Api-Key"), "k-123");
    assert_string_equal(tsrv_header(&fx->srv, 1, "X-Api-Key"), "k-123");
    assert_string_equal(fx->srv.reqs[1].target, "/v1/moved");
    assert_int_equal(other.nreqs, 1);
    assert_string_equal(other.reqs[0].target, "/cdn/object?sig=1");
    assert_null(tsrv_header(&other, 0, "X-Api-Key"));
    assert_string_equal(tsrv_header(&other, 0, "X-Plain"), "p");
    net_client_stats(fx->client, &st);
    assert_int_equal(st.redirects, 2);
    assert_int_equal(st.attempts, 1);
}

/* The same for a download streamed into a sink (a video behind a signed URL). */
static void test_secret_header_sink_redirect(void **state)
{
    struct fx *fx = *state;
    struct net_req *req;

    fx->handler = h_home_then_away;
    other_start(fx);
    fx_make_client(fx);
    req = sink_req(fx, "/stream");
    assert_int_equal(net_req_add_secret_header(req, "Authorization: Bearer sk-secret"), 0);
    fx_start(fx, req, &fx->done[0]);
    fx_run_until(fx, &fx->done[0].calls);
    assert_int_equal(fx->done[0].err, 0);
    assert_int_equal(fx->sink_headers_calls, 1);
    assert_int_equal(fx->sink_bytes, BIG);
    assert_int_equal(fx->sink_bad_byte, 0);
    assert_string_equal(tsrv_header(&fx->srv, 1, "Authorization"), "Bearer sk-secret");
    assert_int_equal(other.nreqs, 1);
    assert_null(tsrv_header(&other, 0, "Authorization"));
}

static void h_redirect_loop(struct fx *fx, struct tsrv_conn *c, int idx)
{
    (void)fx;
    (void)idx;
    tsrv_reply(c, 302, "Location: /v1/again\r\n", "", 0);
}

static void test_too_many_redirects(void **state)
{
    struct fx *fx = *state;
    char want[128];

    fx->handler = h_redirect_loop;
    fx_make_client(fx);
    fx_start(fx, fx_req(fx, "GET", "/start"), &fx->done[0]);
    fx_run_until(fx, &fx->done[0].calls);
    assert_int_equal(fx->done[0].err, SZ_EUPSTREAM);
    assert_int_equal(fx->done[0].retries, 0);
    assert_int_equal(fx->srv.nreqs, 6); /* the request and 5 redirects */
    snprintf(want, sizeof(want), "Too many redirects from %s", fx->srv.url);
    assert_string_equal(fx->done[0].message, want);
}

static void h_redirect_methods(struct fx *fx, struct tsrv_conn *c, int idx)
{
    (void)fx;
    switch (idx) {
    case 0:
        tsrv_reply(c, 307, "Location: /v1/jobs2\r\n", "", 0); /* repeat as it was */
        break;
    case 1:
        tsrv_reply(c, 303, "Location: /v1/jobs/1\r\n", "", 0); /* see other: GET */
        break;
    case 2:
        tsrv_reply_json(c, 200, NULL, "{\"id\":1}");
        break;
    default:
        tsrv_reply(c, 302, "Location: ftp://127.0.0.1/x\r\n", "", 0);
        break;
    }
}

static void test_redirect_methods(void **state)
{
    struct fx *fx = *state;
    struct net_req *req;
    char want[160];

    fx->handler = h_redirect_methods;
    fx_make_client(fx);
    req = fx_req(fx, "POST", "/jobs");
    assert_int_equal(net_req_set_json_new(req, json_pack("{s:i}", "n", 7)), 0);
    fx_start(fx, req, &fx->done[0]);
    fx_run_until(fx, &fx->done[0].calls);
    assert_int_equal(fx->done[0].err, 0);
    assert_int_equal(fx->srv.nreqs, 3);
    assert_string_equal(fx->srv.reqs[1].method, "POST");
    assert_string_equal(fx->srv.reqs[1].target, "/v1/jobs2");
    assert_string_equal(fx->srv.reqs[1].body, "{\"n\":7}");
    assert_string_equal(fx->srv.reqs[2].method, "GET");
    assert_string_equal(fx->srv.reqs[2].target, "/v1/jobs/1");
    assert_int_equal(fx->srv.reqs[2].body_len, 0);
    assert_null(tsrv_header(&fx->srv, 2, "Content-Type"));

    /* a Location that is not http(s) is not followed */
    fx_start(fx, fx_req(fx, "GET", "/elsewhere"), &fx->done[1]);
    fx_run_until(fx, &fx->done[1].calls);
    assert_int_equal(fx->done[1].err, SZ_EUPSTREAM);
    snprintf(want, sizeof(want), "%s redirected the request to a URL that is not http(s)",
             fx->srv.url);
    assert_string_equal(fx->done[1].message, want);
    assert_int_equal(fx->srv.nreqs, 4);
}

/* ---- services: whose sentences a failure gets ---- */

static void acme_error(const struct net_error_in *in, char *buf, size_t buflen, char *code,
                       size_t codelen, void *data)
{
    snprintf(buf, buflen, "Acme said %ld (%.*s) at %s [%s]", in->status, (int)in->len, in->body,
             in->origin, (const char *)data);
    snprintf(code, codelen, "acme_%ld", in->status);
}

static char acme_ctx[] = "ctx";
static const struct net_service acme = {"Acme", acme_error, acme_ctx};
static const struct net_service plain_named = {"Plain", NULL, NULL};

static void h_404_text(struct fx *fx, struct tsrv_conn *c, int idx)
{
    (void)fx;
    if (strcmp(fx->srv.reqs[idx].target, "/v1/silent") == 0)
        return; /* cancelled by the test */
    tsrv_reply(c, 404, "x-should-retry: false\r\n", "nope", 4);
}

static void cancel_on_arrival(struct fx *fx, struct tsrv_conn *c, int idx)
{
    (void)c;
    (void)idx;
    net_req_cancel(fx->req);
}

static void test_services(void **state)
{
    struct fx *fx = *state;
    struct net_req *req;
    char want[256];

    fx->handler = h_404_text;
    fx->opts.service = &plain_named; /* the client's default */
    fx_make_client(fx);

    /* the request's own service formats its errors */
    req = fx_req(fx, "GET", "/thing");
    net_req_set_service(req, &acme);
    fx_start(fx, req, &fx->done[0]);
    fx_run_until(fx, &fx->done[0].calls);
    assert_int_equal(fx->done[0].err, SZ_EUPSTREAM);
    snprintf(want, sizeof(want), "Acme said 404 (nope) at %s [ctx]", fx->srv.url);
    assert_string_equal(fx->done[0].message, want);
    assert_string_equal(fx->done[0].code, "acme_404");

    /* the client's default: named, generic formatter */
    fx_start(fx, fx_req(fx, "GET", "/thing"), &fx->done[1]);
    fx_run_until(fx, &fx->done[1].calls);
    snprintf(want, sizeof(want), "HTTP error 404 from %s: nope", fx->srv.url);
    assert_string_equal(fx->done[1].message, want);

    /* cancellation sentences name the service */
    fx->handler = cancel_on_arrival;
    fx->req = fx_req(fx, "GET", "/silent");
    net_req_set_service(fx->req, &acme);
    fx_start(fx, fx->req, &fx->done[2]);
    fx_run_until(fx, &fx->done[2].calls);
    assert_int_equal(fx->done[2].err, SZ_ECANCELLED);
    assert_string_equal(fx->done[2].message, "The Acme request was cancelled");
}

static void test_generic_cancel_message(void **state)
{
    struct fx *fx = *state;
    char want[128];

    fx->handler = cancel_on_arrival;
    fx_make_client(fx);
    fx->req = fx_req(fx, "GET", "/x");
    fx_start(fx, fx->req, &fx->done[0]);
    fx_run_until(fx, &fx->done[0].calls);
    assert_int_equal(fx->done[0].err, SZ_ECANCELLED);
    snprintf(want, sizeof(want), "The request to %s was cancelled", fx->srv.url);
    assert_string_equal(fx->done[0].message, want);
}

/* ---- time to first byte ---- */

static void h_silent_then_ok(struct fx *fx, struct tsrv_conn *c, int idx)
{
    (void)fx;
    if (idx > 0)
        tsrv_reply_json(c, 200, NULL, "{\"second\":true}");
    /* the first request never gets a header: a hung upstream */
}

/* An upstream that sends no response header fails the attempt after the first-byte
 * limit, and the retry succeeds; without the limit this would wait for the 10 s
 * request timeout (and the test's watchdog would fail it). */
static void test_first_byte_timeout_retries(void **state)
{
    struct fx *fx = *state;

    fx->handler = h_silent_then_ok;
    fx->opts.first_byte_timeout_ms = 100;
    fx_make_client(fx);
    fx_start(fx, fx_req(fx, "POST", "/videos"), &fx->done[0]);
    fx_run_until(fx, &fx->done[0].calls);
    assert_int_equal(fx->done[0].err, 0);
    assert_int_equal(fx->done[0].retries, 1);
    assert_int_equal(fx->srv.nreqs, 2);
    assert_true(json_is_true(json_object_get(fx->done[0].json, "second")));
}

static void test_first_byte_timeout_gives_up(void **state)
{
    struct fx *fx = *state;
    char want[128];

    fx->handler = h_silent;
    fx->opts.first_byte_timeout_ms = 100;
    fx->opts.max_retries = 1;
    fx_make_client(fx);
    fx_start(fx, fx_req(fx, "GET", "/videos"), &fx->done[0]);
    fx_run_until(fx, &fx->done[0].calls);
    assert_int_equal(fx->done[0].err, SZ_ETIMEOUT);
    assert_int_equal(fx->done[0].status, 0);
    assert_int_equal(fx->done[0].retries, 1);
    assert_int_equal(fx->srv.nreqs, 2);
    snprintf(want, sizeof(want), "No response from %s within 100 ms (gave up after 1 retry)",
             fx->srv.url);
    assert_string_equal(fx->done[0].message, want);
}

/* Sinks have their own default; a per-request limit overrides either (0: none). */
static void test_first_byte_sink_and_override(void **state)
{
    struct fx *fx = *state;
    struct net_req *req;

    fx->handler = h_think_then_reply; /* answers after 300 ms */
    fx->opts.first_byte_timeout_ms = 5000;
    fx->opts.sink_first_byte_timeout_ms = 100;
    fx->opts.max_retries = 0;
    fx_make_client(fx);
    fx_start(fx, sink_req(fx, "/videos/v/content"), &fx->done[0]);
    fx_run_until(fx, &fx->done[0].calls);
    assert_int_equal(fx->done[0].err, SZ_ETIMEOUT);
    assert_non_null(strstr(fx->done[0].message, "No response from"));
    assert_int_equal(fx->sink_headers_calls, 0);

    /* the same wait is fine for a buffered request under its own limit */
    fx_start(fx, fx_req(fx, "GET", "/videos"), &fx->done[1]);
    fx_run_until(fx, &fx->done[1].calls);
    assert_int_equal(fx->done[1].err, 0);

    /* and for a request that says it may think longer */
    req = fx_req(fx, "POST", "/images/generations");
    net_req_set_first_byte_timeout(req, 0);
    fx->opts.first_byte_timeout_ms = 100; /* options are copied: no effect on the client */
    fx_start(fx, req, &fx->done[2]);
    fx_run_until(fx, &fx->done[2].calls);
    assert_int_equal(fx->done[2].err, 0);
}

/* ---- the per-iteration sink budget ---- */

/* Bytes the sink took since the last check phase, and the most in one iteration. */
static size_t turn_bytes, max_turn_bytes;
static unsigned data_turns;

static void check_cb(uv_check_t *h)
{
    (void)h;
    if (turn_bytes > max_turn_bytes)
        max_turn_bytes = turn_bytes;
    if (turn_bytes > 0)
        data_turns++;
    turn_bytes = 0;
}

static int budget_data(struct net_req *req, const char *buf, size_t len, void *data)
{
    struct fx *fx = data;
    (void)req;
    if (memcmp(buf, tsrv_pattern_bytes() + fx->sink_bytes, len) != 0)
        fx->sink_bad_byte = 1;
    fx->sink_bytes += len;
    turn_bytes += len;
    return 0;
}

/* The whole body is in the socket buffers at once (one write of 4 MB on loopback),
 * which curl would read in one go; the budget hands the loop back after ~64 KiB (plus
 * the chunk that crossed it and one redelivered chunk), so stdin is polled between. */
static void h_dump_big(struct fx *fx, struct tsrv_conn *c, int idx)
{
    char head[128];
    int n = snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Length: %u\r\n\r\n", BIG);
    (void)fx;
    (void)idx;
    tsrv_write(c, head, (size_t)n);
    tsrv_write(c, tsrv_pattern_bytes(), BIG);
}

static void test_sink_budget(void **state)
{
    struct fx *fx = *state;
    struct net_sink sink = {NULL, budget_data, fx};
    struct net_req *req;
    static uv_check_t check; /* closed during teardown's loop run */

    fx->handler = h_dump_big;
    fx_make_client(fx);
    uv_check_init(&fx->loop, &check);
    uv_check_start(&check, check_cb);
    turn_bytes = max_turn_bytes = 0;
    data_turns = 0;
    req = fx_req(fx, "GET", "/videos/v/content");
    net_req_set_sink(req, &sink);
    fx_start(fx, req, &fx->done[0]);
    fx_run_until(fx, &fx->done[0].calls);
    uv_close((uv_handle_t *)&check, NULL);
    assert_int_equal(fx->done[0].err, 0);
    assert_int_equal(fx->sink_bytes, BIG);
    assert_int_equal(fx->sink_bad_byte, 0);
    assert_true(max_turn_bytes <= 64u * 1024u + 2u * 128u * 1024u);
    assert_true(data_turns >= BIG / (64u * 1024u + 2u * 128u * 1024u));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_summarize),
        cmocka_unit_test(test_default_error),
        cmocka_unit_test(test_api_error_sentence),
        cmocka_unit_test(test_provider_helpers),
#define LOOP_TEST(t) cmocka_unit_test_setup_teardown(t, fx_setup, teardown)
        LOOP_TEST(test_json_200),
        LOOP_TEST(test_headers_and_json_body),
        LOOP_TEST(test_429_retry_after_ms),
        LOOP_TEST(test_500_three_times),
        LOOP_TEST(test_should_retry_false),
        LOOP_TEST(test_should_retry_true),
        LOOP_TEST(test_body_limit),
        LOOP_TEST(test_invalid_json_2xx),
        LOOP_TEST(test_set_failure),
        LOOP_TEST(test_connection_refused),
        LOOP_TEST(test_sink_pause_resume),
        LOOP_TEST(test_sink_pause_is_not_a_stall),
        LOOP_TEST(test_sink_resume_inside_on_data),
        LOOP_TEST(test_sink_reset_mid_body),
        LOOP_TEST(test_sink_follows_redirect),
        LOOP_TEST(test_sink_stall),
        LOOP_TEST(test_buffered_stall_retries),
        LOOP_TEST(test_buffered_stall_timeout),
        LOOP_TEST(test_buffered_slow_first_byte),
        LOOP_TEST(test_request_timeout),
        LOOP_TEST(test_sink_error_body_is_buffered),
        LOOP_TEST(test_sink_abort),
        LOOP_TEST(test_cancel_in_flight),
        LOOP_TEST(test_cancel_inside_sink),
        LOOP_TEST(test_cancel_paused),
        LOOP_TEST(test_cancel_waiting_retry),
        LOOP_TEST(test_cancel_queued),
        LOOP_TEST(test_close_cancels_everything),
        LOOP_TEST(test_concurrency_limit),
        LOOP_TEST(test_many_sinks),
        LOOP_TEST(test_start_from_done),
        LOOP_TEST(test_close_from_done),
        LOOP_TEST(test_request_api_misuse),
        LOOP_TEST(test_secret_header_stays_home),
        LOOP_TEST(test_secret_header_sink_redirect),
        LOOP_TEST(test_too_many_redirects),
        LOOP_TEST(test_redirect_methods),
        LOOP_TEST(test_services),
        LOOP_TEST(test_generic_cancel_message),
        LOOP_TEST(test_first_byte_timeout_retries),
        LOOP_TEST(test_first_byte_timeout_gives_up),
        LOOP_TEST(test_first_byte_sink_and_override),
        LOOP_TEST(test_sink_budget),
#undef LOOP_TEST
    };

    sz_log_set_level(SZ_LOG_ERROR);
    signal(SIGPIPE, SIG_IGN); /* the test server may write to a peer that went away */
    return cmocka_run_group_tests(tests, NULL, NULL);
}
