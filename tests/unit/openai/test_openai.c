/* Unit tests of the OpenAI client (src/openai/).
 *
 * Pure parts first: the retry policy table, HTTP dates, id checks and error messages.
 * Then the real client on a real loop against a tiny scripted HTTP/1.1 server written
 * here (a uv_tcp listener on 127.0.0.1:0 in the same loop), so a test can act at an
 * exact point of a transfer: cancel when the request arrives, reset the connection
 * once the sink has bytes, stop sending to provoke a stall. */
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

#include "app/config.h"
#include "core/err.h"
#include "core/log.h"
#include "openai/client.h"
#include "openai/retry.h"

/* ====================================================================================
 * Retry policy */

struct retry_row {
    int line;
    int transport;
    long status;
    const char *should_retry, *ra_ms, *ra;
    int sink_started, done, max;
    double rnd;
    int expect;
    long delay;
};

#define NOW 1700000000L /* Tue, 14 Nov 2023 22:13:20 GMT */

static void test_retry_table(void **state)
{
    static const struct retry_row rows[] = {
        /* statuses, no headers, random 0: first backoff is 500 ms */
        {__LINE__, 0, 200, NULL, NULL, NULL, 0, 0, 2, 0, 0, 0},
        {__LINE__, 0, 201, NULL, NULL, NULL, 0, 0, 2, 0, 0, 0},
        {__LINE__, 0, 204, NULL, NULL, NULL, 0, 0, 2, 0, 0, 0},
        {__LINE__, 0, 400, NULL, NULL, NULL, 0, 0, 2, 0, 0, 0},
        {__LINE__, 0, 401, NULL, NULL, NULL, 0, 0, 2, 0, 0, 0},
        {__LINE__, 0, 403, NULL, NULL, NULL, 0, 0, 2, 0, 0, 0},
        {__LINE__, 0, 404, NULL, NULL, NULL, 0, 0, 2, 0, 0, 0},
        {__LINE__, 0, 407, NULL, NULL, NULL, 0, 0, 2, 0, 0, 0},
        {__LINE__, 0, 408, NULL, NULL, NULL, 0, 0, 2, 0, 1, 500},
        {__LINE__, 0, 409, NULL, NULL, NULL, 0, 0, 2, 0, 1, 500},
        {__LINE__, 0, 410, NULL, NULL, NULL, 0, 0, 2, 0, 0, 0},
        {__LINE__, 0, 422, NULL, NULL, NULL, 0, 0, 2, 0, 0, 0},
        {__LINE__, 0, 429, NULL, NULL, NULL, 0, 0, 2, 0, 1, 500},
        {__LINE__, 0, 499, NULL, NULL, NULL, 0, 0, 2, 0, 0, 0},
        {__LINE__, 0, 500, NULL, NULL, NULL, 0, 0, 2, 0, 1, 500},
        {__LINE__, 0, 502, NULL, NULL, NULL, 0, 0, 2, 0, 1, 500},
        {__LINE__, 0, 503, NULL, NULL, NULL, 0, 0, 2, 0, 1, 500},
        {__LINE__, 0, 504, NULL, NULL, NULL, 0, 0, 2, 0, 1, 500},
        {__LINE__, 0, 599, NULL, NULL, NULL, 0, 0, 2, 0, 1, 500},
        /* x-should-retry overrides the status, both ways; exact "true"/"false" only */
        {__LINE__, 0, 400, "true", NULL, NULL, 0, 0, 2, 0, 1, 500},
        {__LINE__, 0, 404, "true", NULL, NULL, 0, 0, 2, 0, 1, 500},
        {__LINE__, 0, 500, "false", NULL, NULL, 0, 0, 2, 0, 0, 0},
        {__LINE__, 0, 429, "false", NULL, NULL, 0, 0, 2, 0, 0, 0},
        {__LINE__, 0, 503, "false", "10", NULL, 0, 0, 2, 0, 0, 0},
        {__LINE__, 0, 400, "TRUE", NULL, NULL, 0, 0, 2, 0, 0, 0},
        {__LINE__, 0, 500, "yes", NULL, NULL, 0, 0, 2, 0, 1, 500},
        {__LINE__, 0, 200, "true", NULL, NULL, 0, 0, 2, 0, 0, 0},
        /* transport errors retry, with backoff only */
        {__LINE__, 1, 0, NULL, NULL, NULL, 0, 0, 2, 0, 1, 500},
        {__LINE__, 1, 0, NULL, "20", "5", 0, 0, 2, 0, 1, 500},
        /* attempt limits */
        {__LINE__, 0, 500, NULL, NULL, NULL, 0, 1, 2, 0, 1, 1000},
        {__LINE__, 0, 500, NULL, NULL, NULL, 0, 2, 2, 0, 0, 0},
        {__LINE__, 0, 500, NULL, NULL, NULL, 0, 3, 2, 0, 0, 0},
        {__LINE__, 0, 500, NULL, NULL, NULL, 0, 0, 0, 0, 0, 0},
        {__LINE__, 1, 0, NULL, NULL, NULL, 0, 2, 2, 0, 0, 0},
        {__LINE__, 0, 429, "true", "10", NULL, 0, 5, 5, 0, 0, 0},
        /* a sink that saw the response is never retried */
        {__LINE__, 1, 0, NULL, NULL, NULL, 1, 0, 2, 0, 0, 0},
        {__LINE__, 0, 500, "true", NULL, NULL, 1, 0, 2, 0, 0, 0},
        /* retry-after-ms */
        {__LINE__, 0, 429, NULL, "20", NULL, 0, 0, 2, 0, 1, 20},
        {__LINE__, 0, 429, NULL, "20.5", NULL, 0, 0, 2, 0, 1, 21},
        {__LINE__, 0, 429, NULL, " 7 ", NULL, 0, 0, 2, 0, 1, 7},
        {__LINE__, 0, 429, NULL, "0.4", NULL, 0, 0, 2, 0, 1, 1},
        {__LINE__, 0, 429, NULL, "60000", NULL, 0, 0, 2, 0, 1, 60000},
        {__LINE__, 0, 429, NULL, "60001", NULL, 0, 0, 2, 0, 1, 500},
        {__LINE__, 0, 429, NULL, "0", NULL, 0, 0, 2, 0, 1, 500},
        {__LINE__, 0, 429, NULL, "-5", NULL, 0, 0, 2, 0, 1, 500},
        {__LINE__, 0, 429, NULL, "nan", NULL, 0, 0, 2, 0, 1, 500},
        {__LINE__, 0, 429, NULL, "inf", NULL, 0, 0, 2, 0, 1, 500},
        {__LINE__, 0, 429, NULL, "1e12", NULL, 0, 0, 2, 0, 1, 500},
        /* retry-after-ms wins over retry-after; unparsable falls through to it */
        {__LINE__, 0, 429, NULL, "30", "2", 0, 0, 2, 0, 1, 30},
        {__LINE__, 0, 429, NULL, "abc", "2", 0, 0, 2, 0, 1, 2000},
        {__LINE__, 0, 429, NULL, "", "2", 0, 0, 2, 0, 1, 2000},
        {__LINE__, 0, 429, NULL, "12ms", "3", 0, 0, 2, 0, 1, 3000},
        /* a parsable but out-of-range retry-after-ms does not fall back to retry-after */
        {__LINE__, 0, 429, NULL, "-1", "2", 0, 0, 2, 0, 1, 500},
        /* retry-after in seconds */
        {__LINE__, 0, 503, NULL, NULL, "2", 0, 0, 2, 0, 1, 2000},
        {__LINE__, 0, 503, NULL, NULL, "0.25", 0, 0, 2, 0, 1, 250},
        {__LINE__, 0, 503, NULL, NULL, "60", 0, 0, 2, 0, 1, 60000},
        {__LINE__, 0, 503, NULL, NULL, "61", 0, 0, 2, 0, 1, 500},
        {__LINE__, 0, 503, NULL, NULL, "120", 0, 0, 2, 0, 1, 500},
        {__LINE__, 0, 503, NULL, NULL, "0", 0, 0, 2, 0, 1, 500},
        {__LINE__, 0, 503, NULL, NULL, "-1", 0, 0, 2, 0, 1, 500},
        {__LINE__, 0, 503, NULL, NULL, "99999999999999999999", 0, 0, 2, 0, 1, 500},
        {__LINE__, 0, 503, NULL, NULL, "soon", 0, 0, 2, 0, 1, 500},
        /* retry-after as an HTTP date, relative to NOW */
        {__LINE__, 0, 503, NULL, NULL, "Tue, 14 Nov 2023 22:13:50 GMT", 0, 0, 2, 0, 1, 30000},
        {__LINE__, 0, 503, NULL, NULL, "Tuesday, 14-Nov-23 22:13:25 GMT", 0, 0, 2, 0, 1, 5000},
        {__LINE__, 0, 503, NULL, NULL, "Tue Nov 14 22:14:20 2023", 0, 0, 2, 0, 1, 60000},
        {__LINE__, 0, 503, NULL, NULL, "Tue, 14 Nov 2023 22:14:21 GMT", 0, 0, 2, 0, 1, 500},
        {__LINE__, 0, 503, NULL, NULL, "Tue, 14 Nov 2023 22:13:10 GMT", 0, 0, 2, 0, 1, 500},
        {__LINE__, 0, 503, NULL, NULL, "Tue, 14 Nov 2023 22:13:20 GMT", 0, 0, 2, 0, 1, 500},
        {__LINE__, 0, 503, NULL, NULL, "Wed, 15 Nov 2023 22:13:20 GMT", 0, 0, 2, 0, 1, 500},
        {__LINE__, 0, 503, NULL, NULL, "Tue, 14 Nov 2023 22:13:50 PST", 0, 0, 2, 0, 1, 500},
        /* backoff: min(0.5 * 2^n, 8) * (1 - 0.25 * random) */
        {__LINE__, 0, 500, NULL, NULL, NULL, 0, 0, 10, 0.0, 1, 500},
        {__LINE__, 0, 500, NULL, NULL, NULL, 0, 1, 10, 0.0, 1, 1000},
        {__LINE__, 0, 500, NULL, NULL, NULL, 0, 2, 10, 0.0, 1, 2000},
        {__LINE__, 0, 500, NULL, NULL, NULL, 0, 3, 10, 0.0, 1, 4000},
        {__LINE__, 0, 500, NULL, NULL, NULL, 0, 4, 10, 0.0, 1, 8000},
        {__LINE__, 0, 500, NULL, NULL, NULL, 0, 5, 10, 0.0, 1, 8000},
        {__LINE__, 0, 500, NULL, NULL, NULL, 0, 9, 10, 0.0, 1, 8000},
        {__LINE__, 0, 500, NULL, NULL, NULL, 0, 0, 10, 1.0, 1, 375},
        {__LINE__, 0, 500, NULL, NULL, NULL, 0, 1, 10, 1.0, 1, 750},
        {__LINE__, 0, 500, NULL, NULL, NULL, 0, 4, 10, 1.0, 1, 6000},
        {__LINE__, 0, 500, NULL, NULL, NULL, 0, 7, 10, 1.0, 1, 6000},
        {__LINE__, 0, 500, NULL, NULL, NULL, 0, 0, 10, 0.5, 1, 438},
        {__LINE__, 1, 0, NULL, NULL, NULL, 0, 1, 10, 1.0, 1, 750},
        {__LINE__, 0, 500, NULL, NULL, NULL, 0, 5000, 100000, 0.0, 1, 8000},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const struct retry_row *r = &rows[i];
        struct oai_retry_in in;
        long delay = -1;
        int got;

        memset(&in, 0, sizeof(in));
        in.transport_error = r->transport;
        in.status = r->status;
        in.should_retry = r->should_retry;
        in.retry_after_ms = r->ra_ms;
        in.retry_after = r->ra;
        in.sink_started = r->sink_started;
        in.retries_done = r->done;
        in.max_retries = r->max;
        in.random = r->rnd;
        in.now = (time_t)NOW;
        got = oai_retry_decide(&in, &delay);
        if (got != r->expect || delay != r->delay)
            fail_msg("row at line %d: got retry=%d delay=%ld, want retry=%d delay=%ld", r->line,
                     got, delay, r->expect, r->delay);
    }
}

/* Jitter stays inside its bounds for every random in [0, 1). */
static void test_retry_backoff_bounds(void **state)
{
    (void)state;
    for (int n = 0; n < 8; n++) {
        double base = 500.0 * (double)(1 << n);
        if (base > 8000.0)
            base = 8000.0;
        for (int k = 0; k <= 100; k++) {
            struct oai_retry_in in = {.status = 500, .retries_done = n, .max_retries = 100};
            long d = -1;
            in.random = k / 100.0;
            assert_int_equal(oai_retry_decide(&in, &d), 1);
            assert_true(d >= (long)(base * 0.75) && d <= (long)base);
        }
    }
}

static void test_http_date(void **state)
{
    time_t t = 0;
    (void)state;
    assert_int_equal(oai_parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT", &t), 0);
    assert_int_equal((long)t, 784111777L);
    assert_int_equal(oai_parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT", &t), 0);
    assert_int_equal((long)t, 784111777L);
    assert_int_equal(oai_parse_http_date("Sun Nov  6 08:49:37 1994", &t), 0);
    assert_int_equal((long)t, 784111777L);
    assert_int_equal(oai_parse_http_date("Tue, 14 Nov 2023 22:13:20 GMT", &t), 0);
    assert_int_equal((long)t, NOW);
    assert_int_equal(oai_parse_http_date("Sun, 06 Nov 1994 08:49:37", &t), SZ_EINVAL);
    assert_int_equal(oai_parse_http_date("Sun, 06 Foo 1994 08:49:37 GMT", &t), SZ_EINVAL);
    assert_int_equal(oai_parse_http_date("Sun, 06 Nov 1994 25:49:37 GMT", &t), SZ_EINVAL);
    assert_int_equal(oai_parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT trailing", &t), SZ_EINVAL);
    assert_int_equal(oai_parse_http_date("", &t), SZ_EINVAL);
    assert_int_equal(oai_parse_http_date("12", &t), SZ_EINVAL);
    assert_int_equal(oai_parse_http_date(NULL, &t), SZ_EINVAL);
}

/* ====================================================================================
 * Ids */

static void test_check_id(void **state)
{
    char buf[200];
    (void)state;
    assert_true(oai_check_id("video_68d7512d07848190b3e45da0ecbebcde004da08e1e0678d5"));
    assert_true(oai_check_id("resp-ABC_123"));
    assert_true(oai_check_id("a"));
    memset(buf, 'x', 128);
    buf[128] = '\0';
    assert_true(oai_check_id(buf));
    buf[128] = 'x';
    buf[129] = '\0';
    assert_false(oai_check_id(buf));
    assert_false(oai_check_id(""));
    assert_false(oai_check_id(NULL));
    assert_false(oai_check_id("a/b"));
    assert_false(oai_check_id(".."));
    assert_false(oai_check_id("../etc"));
    assert_false(oai_check_id("a?b"));
    assert_false(oai_check_id("a b"));
    assert_false(oai_check_id("a%2fb"));
    assert_false(oai_check_id("a#b"));
    assert_false(oai_check_id("a.b"));
    assert_false(oai_check_id("vid\xc3\xa9o"));
    assert_false(oai_check_id("a\nb"));
    assert_false(oai_check_id("a\\b"));
}

/* ====================================================================================
 * Error messages */

static void errmsg(long status, const char *body, size_t len, char *out, size_t outlen, char *code)
{
    oai_error_message(status, body, len, out, outlen, code, 64);
}

static int has_control(const char *s)
{
    for (; *s != '\0'; s++) {
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 1;
    }
    return 0;
}

static void test_error_message_json(void **state)
{
    char out[1024], code[64];
    const char *b;
    (void)state;

    b = "{\"error\":{\"message\":\"Video not found\",\"type\":\"invalid_request_error\","
        "\"param\":null,\"code\":\"not_found\"}}";
    errmsg(404, b, strlen(b), out, sizeof(out), code);
    assert_string_equal(out, "OpenAI API error 404 (not_found): Video not found");
    assert_string_equal(code, "not_found");

    b = "{\"error\":{\"message\":\"Bad size\",\"type\":\"invalid_request_error\",\"code\":null}}";
    errmsg(400, b, strlen(b), out, sizeof(out), code);
    assert_string_equal(out, "OpenAI API error 400 (invalid_request_error): Bad size");

    b = "{\"error\":{\"message\":\"Boom\"}}";
    errmsg(500, b, strlen(b), out, sizeof(out), code);
    assert_string_equal(out, "OpenAI API error 500: Boom");
    assert_string_equal(code, "");

    b = "{\"error\":{\"message\":\"line one\\nline\\ttwo\\u0007  end \","
        "\"code\":\"rate<limit>\"}}";
    errmsg(429, b, strlen(b), out, sizeof(out), code);
    assert_string_equal(out, "OpenAI API error 429 (ratelimit): line one line two end");

    b = "{\"error\":\"plain string\"}";
    errmsg(401, b, strlen(b), out, sizeof(out), code);
    assert_string_equal(out, "OpenAI API error 401: plain string");

    b = "{\"error\":{\"code\":\"only_code\"}}";
    errmsg(403, b, strlen(b), out, sizeof(out), code);
    assert_string_equal(out,
                        "OpenAI API error 403 (only_code): {\"error\":{\"code\":\"only_code\"}}");

    /* JSON but not OpenAI's shape: summarised as text */
    b = "[1, 2, 3]";
    errmsg(502, b, strlen(b), out, sizeof(out), code);
    assert_string_equal(out, "OpenAI API error 502: [1, 2, 3]");
}

static void test_error_message_long_json_message(void **state)
{
    char body[4096], out[1024], code[64];
    size_t n;
    (void)state;
    n = (size_t)snprintf(body, sizeof(body), "{\"error\":{\"message\":\"");
    for (int i = 0; i < 2000; i++)
        body[n++] = 'm';
    n += (size_t)snprintf(body + n, sizeof(body) - n, "\",\"code\":\"x\"}}");
    errmsg(400, body, n, out, sizeof(out), code);
    assert_true(strncmp(out, "OpenAI API error 400 (x): mmm", 29) == 0);
    assert_true(strlen(out) < 600);
    assert_string_equal(out + strlen(out) - 3, "...");
}

static void test_error_message_text(void **state)
{
    char out[1024], code[64];
    char *big;
    const char *b;
    (void)state;

    b = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n\x01\x02<body>nginx\x7f</body>";
    errmsg(502, b, strlen(b), out, sizeof(out), code);
    assert_string_equal(out, "OpenAI API error 502: <html> <head><title>502 Bad Gateway</title>"
                             "</head> <body>nginx </body>");
    assert_false(has_control(out));

    /* 10 KB of text with control characters all through it */
    big = malloc(10 * 1024);
    assert_non_null(big);
    for (size_t i = 0; i < 10 * 1024; i++)
        big[i] = (i % 37 == 0) ? '\x1b' : (i % 53 == 0) ? '\n' : (char)('a' + (int)(i % 26));
    errmsg(503, big, 10 * 1024, out, sizeof(out), code);
    assert_false(has_control(out));
    assert_true(strncmp(out, "OpenAI API error 503: ", 22) == 0);
    assert_true(strlen(out) <= 22 + 200 + 3);
    assert_true(strlen(out) >= 22 + 190);
    assert_string_equal(out + strlen(out) - 3, "...");
    free(big);

    /* invalid UTF-8 dropped, valid kept */
    b = "caf\xc3\xa9 \xff\xfe ok \xc2\x85!";
    errmsg(500, b, strlen(b), out, sizeof(out), code);
    assert_string_equal(out, "OpenAI API error 500: caf\xc3\xa9 ok !");

    /* NUL bytes inside the body do not cut the summary */
    errmsg(500, "a\0b", 3, out, sizeof(out), code);
    assert_string_equal(out, "OpenAI API error 500: a b");
}

static void test_error_message_empty(void **state)
{
    char out[256], code[64];
    char small[40];
    (void)state;
    errmsg(503, "", 0, out, sizeof(out), code);
    assert_string_equal(out, "OpenAI API error 503 with an empty response body");
    errmsg(503, NULL, 0, out, sizeof(out), code);
    assert_string_equal(out, "OpenAI API error 503 with an empty response body");
    errmsg(500, " \r\n\t ", 5, out, sizeof(out), code);
    assert_string_equal(out, "OpenAI API error 500 with an unreadable response body");
    /* the output buffer bounds everything */
    errmsg(404, "{\"error\":{\"message\":\"Video not found\",\"code\":\"not_found\"}}", 56, small,
           sizeof(small), code);
    assert_int_equal(strlen(small), sizeof(small) - 1);
}

static void test_summarize(void **state)
{
    char out[64];
    (void)state;
    oai_summarize("  hello   world  ", 17, 100, out, sizeof(out));
    assert_string_equal(out, "hello world");
    oai_summarize("abcdef", 6, 3, out, sizeof(out));
    assert_string_equal(out, "abc...");
    oai_summarize("abcdef", 6, 6, out, sizeof(out));
    assert_string_equal(out, "abcdef");
    oai_summarize("abcdefghijklmnop", 16, 100, out, 8);
    assert_string_equal(out, "abcd...");
}

/* ====================================================================================
 * A scripted HTTP/1.1 server on the test's loop */

struct fx;
struct sconn;

struct sreq {
    char method[16];
    char target[512];
    char *head; /* request line and headers, NUL-terminated */
    char *body;
    size_t body_len;
    int conn_id;
};

typedef void handler_fn(struct fx *fx, struct sconn *c, int idx);

#define MAX_SREQ  64
#define MAX_CONNS 64

struct srv {
    uv_tcp_t listener;
    int port;
    char url[64];
    struct sreq reqs[MAX_SREQ];
    int nreqs;
    int outstanding, max_outstanding;
    struct sconn *conns[MAX_CONNS];
    int nconns;
    int open_handles;
};

struct sconn {
    uv_tcp_t tcp;
    uv_timer_t timer;
    struct fx *fx;
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
    int sync; /* called while oai_req_start was still running */
};

struct fx {
    uv_loop_t loop;
    struct srv srv;
    struct sz_config cfg;
    struct oai_client *client;
    int client_closed;
    uv_timer_t watchdog;
    int timed_out;
    handler_fn *handler;
    int in_start;

    /* per-test scratch */
    struct oai_req *req;
    struct oai_req *reqs[8];
    struct done_rec done[8];
    int step;
    int hold_count;
    struct sconn *held[8];
    uint64_t t_first, t_second;
    /* sink state */
    int sink_headers_calls;
    long sink_status;
    int64_t sink_clen;
    char sink_ctype[64];
    size_t sink_bytes;
    int sink_bad_byte;
    int sink_paused, sink_pauses, sink_data_while_paused;
    int sink_pause_mode; /* 0 none, 1 every chunk briefly, 2 once for long, 3 cancel */
    uv_timer_t resume_timer;
    int resume_timer_open;
    struct sconn *stream_conn;
};

#define PATTERN_LEN (8u * 1024u * 1024u)
static uint8_t *pattern_buf; /* pattern(i) for i < PATTERN_LEN, built once */

static uint8_t pattern(size_t i)
{
    return (uint8_t)((i * 7u + i / 251u) & 0xffu);
}

struct wreq {
    uv_write_t w;
    struct sconn *c;
    char data[];
};

static void stream_more(struct sconn *c);
static void conn_process(struct sconn *c);

static void write_cb(uv_write_t *w, int status)
{
    struct wreq *wr = (struct wreq *)w;
    struct sconn *c = wr->c;
    free(wr);
    if (status == 0 && c->streaming && !c->closing)
        stream_more(c);
}

static void conn_write(struct sconn *c, const void *data, size_t len)
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
    struct sconn *c = h->data;
    struct srv *s = &c->fx->srv;
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

static void conn_close(struct sconn *c, int reset)
{
    if (c->closing)
        return;
    c->closing = 1;
    if (c->cur_req >= 0) {
        c->fx->srv.outstanding--;
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
static void conn_done(struct sconn *c)
{
    if (c->cur_req >= 0) {
        c->fx->srv.outstanding--;
        c->cur_req = -1;
    }
    c->busy = 0;
    conn_process(c);
}

static void reply(struct sconn *c, int status, const char *extra_headers, const char *body,
                  size_t len)
{
    char head[2048];
    int n = snprintf(head, sizeof(head), "HTTP/1.1 %d X\r\nContent-Length: %zu\r\n%s\r\n", status,
                     len, extra_headers != NULL ? extra_headers : "");
    conn_write(c, head, (size_t)n);
    conn_write(c, body, len);
    conn_done(c);
}

static void reply_json(struct sconn *c, int status, const char *extra, const char *json)
{
    char hdrs[1024];
    snprintf(hdrs, sizeof(hdrs), "Content-Type: application/json\r\n%s", extra ? extra : "");
    reply(c, status, hdrs, json, strlen(json));
}

/* Writes at most two 64 KiB chunks per call (the next ones from the write callbacks),
 * so the server never holds the loop for long, even under sanitizers. */
static void stream_more(struct sconn *c)
{
    int budget = 2;

    while (!c->closing && c->streaming && c->stream_sent < c->stream_stop_at && budget-- > 0 &&
           uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) < 256 * 1024) {
        size_t n = c->stream_stop_at - c->stream_sent;
        if (n > 65536)
            n = 65536;
        assert_true(c->stream_sent + n <= PATTERN_LEN);
        conn_write(c, pattern_buf + c->stream_sent, n);
        c->stream_sent += n;
    }
    if (!c->closing && c->streaming && c->stream_sent == c->stream_total) {
        c->streaming = 0;
        conn_done(c);
    }
}

/* Sends a pattern body of `total` bytes with backpressure; stops (stalls) after
 * stop_at bytes when stop_at < total. */
static void stream_body(struct sconn *c, size_t total, size_t stop_at, const char *ctype)
{
    char head[512];
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: %zu\r\n\r\n", ctype,
                     total);
    conn_write(c, head, (size_t)n);
    c->stream_total = total;
    c->stream_sent = 0;
    c->stream_stop_at = stop_at < total ? stop_at : total;
    c->streaming = 1;
    stream_more(c);
}

static const char *find_header(const char *head, const char *name, size_t *plen)
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

/* Copy of header `name` of recorded request idx, or "" when absent. */
static const char *req_header(struct fx *fx, int idx, const char *name)
{
    static char val[1024];
    size_t len = 0;
    const char *v = find_header(fx->srv.reqs[idx].head, name, &len);
    if (v == NULL)
        return NULL;
    if (len >= sizeof(val))
        len = sizeof(val) - 1;
    memcpy(val, v, len);
    val[len] = '\0';
    return val;
}

/* Parses complete requests out of the input buffer, one at a time. */
static void conn_process(struct sconn *c)
{
    struct srv *s = &c->fx->srv;
    char *end;
    size_t head_len, body_len = 0, vlen;
    const char *cl;
    struct sreq *r;
    int idx;

    if (c->busy || c->closing || c->inlen == 0)
        return;
    c->in[c->inlen] = '\0';
    end = strstr(c->in, "\r\n\r\n");
    if (end == NULL)
        return;
    head_len = (size_t)(end - c->in) + 4;
    c->in[head_len - 2] = '\0';
    cl = find_header(c->in, "Content-Length", &vlen);
    if (cl != NULL)
        body_len = strtoul(cl, NULL, 10);
    assert_null(find_header(c->in, "Transfer-Encoding", &vlen));
    if (c->inlen < head_len + body_len) {
        c->in[head_len - 2] = '\r';
        return;
    }
    assert_true(s->nreqs < MAX_SREQ);
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
    c->fx->handler(c->fx, c, idx);
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct sconn *c = h->data;
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
    struct sconn *c = st->data;
    (void)buf;
    if (n < 0) {
        conn_close(c, 0);
        return;
    }
    c->inlen += (size_t)n;
    conn_process(c);
}

static void on_connection(uv_stream_t *server, int status)
{
    struct fx *fx = server->data;
    struct srv *s = &fx->srv;
    struct sconn *c;

    assert_int_equal(status, 0);
    c = calloc(1, sizeof(*c));
    assert_non_null(c);
    c->fx = fx;
    c->cur_req = -1;
    c->handles = 2;
    uv_tcp_init(&fx->loop, &c->tcp);
    uv_timer_init(&fx->loop, &c->timer);
    c->tcp.data = c;
    c->timer.data = c;
    s->open_handles += 2;
    assert_true(s->nconns < MAX_CONNS);
    c->id = s->nconns;
    s->conns[s->nconns++] = c;
    assert_int_equal(uv_accept(server, (uv_stream_t *)&c->tcp), 0);
    uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb);
}

static void listener_closed(uv_handle_t *h)
{
    struct fx *fx = h->data;
    fx->srv.open_handles--;
}

static void srv_start(struct fx *fx)
{
    struct sockaddr_in addr;
    struct sockaddr_storage got;
    int len = sizeof(got);

    uv_tcp_init(&fx->loop, &fx->srv.listener);
    fx->srv.listener.data = fx;
    fx->srv.open_handles = 1;
    uv_ip4_addr("127.0.0.1", 0, &addr);
    assert_int_equal(uv_tcp_bind(&fx->srv.listener, (const struct sockaddr *)&addr, 0), 0);
    assert_int_equal(uv_listen((uv_stream_t *)&fx->srv.listener, 64, on_connection), 0);
    uv_tcp_getsockname(&fx->srv.listener, (struct sockaddr *)&got, &len);
    fx->srv.port = ntohs(((struct sockaddr_in *)&got)->sin_port);
    snprintf(fx->srv.url, sizeof(fx->srv.url), "http://127.0.0.1:%d/v1", fx->srv.port);
}

static void srv_stop(struct fx *fx)
{
    for (int i = 0; i < fx->srv.nconns; i++) {
        if (fx->srv.conns[i] != NULL)
            conn_close(fx->srv.conns[i], 0);
    }
    if (!uv_is_closing((uv_handle_t *)&fx->srv.listener))
        uv_close((uv_handle_t *)&fx->srv.listener, listener_closed);
}

/* ====================================================================================
 * Fixture */

static void default_handler(struct fx *fx, struct sconn *c, int idx)
{
    (void)fx;
    (void)idx;
    reply_json(c, 200, NULL, "{\"ok\":true}");
}

static int setup(void **state)
{
    struct fx *fx = calloc(1, sizeof(*fx));
    assert_non_null(fx);
    assert_int_equal(uv_loop_init(&fx->loop), 0);
    srv_start(fx);
    fx->handler = default_handler;
    fx->cfg.base_url = strdup(fx->srv.url);
    fx->cfg.api_key = strdup("sk-test-123");
    fx->cfg.org_id = strdup("org-abc");
    fx->cfg.project_id = strdup("proj_xyz");
    fx->cfg.max_retries = 2;
    fx->cfg.max_concurrency = 16;
    fx->cfg.connect_timeout_ms = 5000;
    fx->cfg.request_timeout_ms = 10000;
    fx->cfg.stall_timeout_ms = 5000;
    uv_timer_init(&fx->loop, &fx->watchdog);
    fx->watchdog.data = fx;
    uv_timer_init(&fx->loop, &fx->resume_timer);
    fx->resume_timer.data = fx;
    *state = fx;
    return 0;
}

static double random_one(void *data)
{
    (void)data;
    return 0.9999999;
}

static void make_client(struct fx *fx)
{
    assert_int_equal(oai_client_new(&fx->loop, &fx->cfg, &fx->client), 0);
    oai_client_set_random(fx->client, random_one, NULL);
}

static void on_client_closed(struct oai_client *client, void *data)
{
    struct fx *fx = data;
    (void)client;
    fx->client_closed++;
}

static int teardown(void **state)
{
    struct fx *fx = *state;

    if (fx->client != NULL)
        oai_client_close(fx->client, on_client_closed, fx);
    srv_stop(fx);
    uv_close((uv_handle_t *)&fx->watchdog, NULL);
    uv_close((uv_handle_t *)&fx->resume_timer, NULL);
    uv_run(&fx->loop, UV_RUN_DEFAULT);
    if (fx->client != NULL)
        assert_int_equal(fx->client_closed, 1);
    assert_int_equal(fx->srv.open_handles, 0);
    assert_int_equal(uv_loop_close(&fx->loop), 0);
    for (int i = 0; i < fx->srv.nreqs; i++) {
        free(fx->srv.reqs[i].head);
        free(fx->srv.reqs[i].body);
    }
    for (int i = 0; i < 8; i++) {
        json_decref(fx->done[i].json);
        free(fx->done[i].body);
    }
    sz_config_free(&fx->cfg);
    free(fx);
    return 0;
}

static void watchdog_cb(uv_timer_t *t)
{
    struct fx *fx = t->data;
    fx->timed_out = 1;
}

/* Runs the loop until *flag becomes nonzero (10 s watchdog). */
static void run_until(struct fx *fx, const int *flag)
{
    fx->timed_out = 0;
    uv_timer_start(&fx->watchdog, watchdog_cb, 10000, 0);
    while (!*flag && !fx->timed_out)
        uv_run(&fx->loop, UV_RUN_ONCE);
    uv_timer_stop(&fx->watchdog);
    if (fx->timed_out)
        fail_msg("timed out waiting for the loop");
}

static void on_done(struct oai_req *req, const struct oai_result *res, void *data)
{
    struct done_rec *d = data;
    (void)req;
    d->calls++;
    d->err = res->err;
    d->status = res->status;
    d->retries = res->retries;
    snprintf(d->message, sizeof(d->message), "%s", res->message ? res->message : "");
    snprintf(d->code, sizeof(d->code), "%s", res->api_code ? res->api_code : "");
    json_decref(d->json);
    d->json = res->json != NULL ? json_incref(res->json) : NULL;
    free(d->body);
    d->body = NULL;
    d->body_len = res->body_len;
    if (res->body != NULL) {
        d->body = malloc(res->body_len + 1);
        memcpy(d->body, res->body, res->body_len + 1);
    }
}

static struct oai_req *new_req(struct fx *fx, const char *method, const char *path)
{
    struct oai_req *req = NULL;
    assert_int_equal(oai_req_new(fx->client, method, path, &req), 0);
    return req;
}

static void start(struct fx *fx, struct oai_req *req, struct done_rec *d)
{
    fx->in_start = 1;
    assert_int_equal(oai_req_start(req, on_done, d), 0);
    fx->in_start = 0;
}

/* ====================================================================================
 * Loop tests */

static void h_video(struct fx *fx, struct sconn *c, int idx)
{
    (void)fx;
    (void)idx;
    reply_json(c, 200, "x-request-id: req_1\r\n",
               "{\"id\":\"video_1\",\"object\":\"video\",\"status\":\"queued\",\"progress\":0}");
}

static void test_json_200(void **state)
{
    struct fx *fx = *state;
    struct oai_req *req;

    fx->handler = h_video;
    make_client(fx);
    req = new_req(fx, "GET", "/videos/video_1");
    start(fx, req, &fx->done[0]);
    assert_int_equal(fx->done[0].calls, 0); /* never inside oai_req_start */
    run_until(fx, &fx->done[0].calls);
    assert_int_equal(fx->done[0].err, 0);
    assert_int_equal(fx->done[0].status, 200);
    assert_string_equal(fx->done[0].message, "");
    assert_string_equal(json_string_value(json_object_get(fx->done[0].json, "id")), "video_1");
    assert_int_equal(fx->done[0].retries, 0);
    assert_int_equal(fx->srv.nreqs, 1);
    assert_string_equal(fx->srv.reqs[0].method, "GET");
    assert_string_equal(fx->srv.reqs[0].target, "/v1/videos/video_1");
    assert_string_equal(req_header(fx, 0, "Accept"), "application/json");
}

static void h_echo_ok(struct fx *fx, struct sconn *c, int idx)
{
    (void)fx;
    (void)idx;
    reply_json(c, 201, NULL, "{\"created\":true}");
}

static void test_headers_and_json_body(void **state)
{
    struct fx *fx = *state;
    struct oai_req *req;
    json_t *body;

    fx->handler = h_echo_ok;
    make_client(fx);
    req = new_req(fx, "POST", "/videos");
    assert_int_equal(oai_req_add_query(req, "limit", "10"), 0);
    assert_int_equal(oai_req_add_query(req, "after", "a b/c&d=é~"), 0);
    body = json_pack("{s:s, s:i}", "prompt", "a \"cat\"\n", "seconds", 4);
    assert_int_equal(oai_req_set_json_new(req, body), 0);
    assert_int_equal(oai_req_add_header(req, "X-Extra: yes"), 0);
    assert_int_equal(oai_req_add_header(req, "bad\r\nInjected: 1"), SZ_EINVAL);
    start(fx, req, &fx->done[0]);
    run_until(fx, &fx->done[0].calls);
    assert_int_equal(fx->done[0].err, 0);
    assert_int_equal(fx->done[0].status, 201);

    assert_string_equal(fx->srv.reqs[0].method, "POST");
    assert_string_equal(fx->srv.reqs[0].target,
                        "/v1/videos?limit=10&after=a%20b%2Fc%26d%3D%C3%A9~");
    assert_string_equal(req_header(fx, 0, "Authorization"), "Bearer sk-test-123");
    assert_string_equal(req_header(fx, 0, "User-Agent"), "sanzaru/" SZ_VERSION);
    assert_string_equal(req_header(fx, 0, "OpenAI-Organization"), "org-abc");
    assert_string_equal(req_header(fx, 0, "OpenAI-Project"), "proj_xyz");
    assert_string_equal(req_header(fx, 0, "Content-Type"), "application/json");
    assert_string_equal(req_header(fx, 0, "X-Extra"), "yes");
    assert_null(req_header(fx, 0, "Expect"));
    assert_null(req_header(fx, 0, "Injected"));
    assert_string_equal(fx->srv.reqs[0].body, "{\"prompt\":\"a \\\"cat\\\"\\n\",\"seconds\":4}");
}

static void test_no_org_headers_when_unset(void **state)
{
    struct fx *fx = *state;

    free(fx->cfg.org_id);
    free(fx->cfg.project_id);
    fx->cfg.org_id = NULL;
    fx->cfg.project_id = NULL;
    make_client(fx);
    start(fx, new_req(fx, "DELETE", "/videos/video_9"), &fx->done[0]);
    run_until(fx, &fx->done[0].calls);
    assert_int_equal(fx->done[0].err, 0);
    assert_string_equal(fx->srv.reqs[0].method, "DELETE");
    assert_null(req_header(fx, 0, "OpenAI-Organization"));
    assert_null(req_header(fx, 0, "OpenAI-Project"));
    assert_non_null(req_header(fx, 0, "Authorization"));
}

static void h_429_then_200(struct fx *fx, struct sconn *c, int idx)
{
    if (idx == 0) {
        fx->t_first = uv_hrtime();
        reply_json(c, 429, "retry-after-ms: 20\r\n",
                   "{\"error\":{\"message\":\"Slow down\",\"type\":\"requests\","
                   "\"code\":\"rate_limit_exceeded\"}}");
    } else {
        fx->t_second = uv_hrtime();
        reply_json(c, 200, NULL, "{\"id\":\"video_2\"}");
    }
}

static void test_429_retry_after_ms(void **state)
{
    struct fx *fx = *state;
    struct oai_stats st;
    uint64_t waited_ms;

    fx->handler = h_429_then_200;
    make_client(fx); /* random = 1: the backoff would be 375 ms */
    start(fx, new_req(fx, "GET", "/videos/video_2"), &fx->done[0]);
    run_until(fx, &fx->done[0].calls);
    assert_int_equal(fx->done[0].err, 0);
    assert_int_equal(fx->done[0].status, 200);
    assert_int_equal(fx->done[0].retries, 1);
    assert_int_equal(fx->srv.nreqs, 2);
    waited_ms = (fx->t_second - fx->t_first) / 1000000u;
    assert_true(waited_ms >= 15); /* waited as told ... */
    assert_true(waited_ms < 370); /* ... and not the default backoff */
    oai_client_stats(fx->client, &st);
    assert_int_equal(st.attempts, 2);
    assert_int_equal(st.retries, 1);
    assert_int_equal(st.succeeded, 1);
}

static void h_500(struct fx *fx, struct sconn *c, int idx)
{
    (void)fx;
    (void)idx;
    reply_json(c, 500, NULL,
               "{\"error\":{\"message\":\"Server exploded\",\"type\":\"server_error\","
               "\"code\":null}}");
}

static void test_500_three_times(void **state)
{
    struct fx *fx = *state;

    fx->handler = h_500;
    make_client(fx); /* backoff 375 ms then 750 ms */
    start(fx, new_req(fx, "GET", "/videos"), &fx->done[0]);
    run_until(fx, &fx->done[0].calls);
    assert_int_equal(fx->done[0].err, SZ_EUPSTREAM);
    assert_int_equal(fx->done[0].status, 500);
    assert_int_equal(fx->done[0].retries, 2);
    assert_int_equal(fx->srv.nreqs, 3);
    assert_string_equal(fx->done[0].message, "OpenAI API error 500 (server_error): Server "
                                             "exploded (gave up after 2 retries)");
    assert_string_equal(fx->done[0].code, "server_error");
    assert_null(fx->done[0].json);
}

static void h_500_no_retry(struct fx *fx, struct sconn *c, int idx)
{
    (void)fx;
    (void)idx;
    reply(c, 500, "x-should-retry: false\r\n", "oops", 4);
}

static void test_should_retry_false(void **state)
{
    struct fx *fx = *state;

    fx->handler = h_500_no_retry;
    make_client(fx);
    start(fx, new_req(fx, "GET", "/videos"), &fx->done[0]);
    run_until(fx, &fx->done[0].calls);
    assert_int_equal(fx->done[0].err, SZ_EUPSTREAM);
    assert_int_equal(fx->srv.nreqs, 1);
    assert_string_equal(fx->done[0].message, "OpenAI API error 500: oops");
}

static void h_400_should_retry(struct fx *fx, struct sconn *c, int idx)
{
    (void)fx;
    if (idx == 0)
        reply(c, 400, "x-should-retry: true\r\nretry-after-ms: 1\r\n", "", 0);
    else
        reply_json(c, 200, NULL, "{}");
}

static void test_should_retry_true(void **state)
{
    struct fx *fx = *state;

    fx->handler = h_400_should_retry;
    make_client(fx);
    start(fx, new_req(fx, "GET", "/videos"), &fx->done[0]);
    run_until(fx, &fx->done[0].calls);
    assert_int_equal(fx->done[0].err, 0);
    assert_int_equal(fx->srv.nreqs, 2);
}

static void h_404(struct fx *fx, struct sconn *c, int idx)
{
    (void)fx;
    (void)idx;
    reply_json(c, 404, NULL,
               "{\"error\":{\"message\":\"Video not found\",\"type\":\"invalid_request_error\","
               "\"param\":null,\"code\":\"not_found\"}}");
}

static void test_404_message(void **state)
{
    struct fx *fx = *state;

    fx->handler = h_404;
    make_client(fx);
    start(fx, new_req(fx, "GET", "/videos/nope"), &fx->done[0]);
    run_until(fx, &fx->done[0].calls);
    assert_int_equal(fx->done[0].err, SZ_EUPSTREAM);
    assert_int_equal(fx->done[0].status, 404);
    assert_string_equal(fx->done[0].message, "OpenAI API error 404 (not_found): Video not found");
    assert_string_equal(fx->done[0].code, "not_found");
    assert_int_equal(fx->srv.nreqs, 1);
}

static void h_big_json(struct fx *fx, struct sconn *c, int idx)
{
    char body[5000];
    (void)fx;
    (void)idx;
    memset(body, ' ', sizeof(body));
    body[0] = '[';
    body[sizeof(body) - 1] = ']';
    reply(c, 200, "Content-Type: application/json\r\n", body, sizeof(body));
}

static void test_body_limit(void **state)
{
    struct fx *fx = *state;
    struct oai_req *req;

    fx->handler = h_big_json;
    make_client(fx);
    req = new_req(fx, "GET", "/videos");
    oai_req_set_max_body(req, 1000);
    start(fx, req, &fx->done[0]);
    run_until(fx, &fx->done[0].calls);
    assert_int_equal(fx->done[0].err, SZ_ETOOBIG);
    assert_int_equal(fx->srv.nreqs, 1);
    assert_non_null(strstr(fx->done[0].message, "larger than 1000 bytes"));

    /* the same body within the default limit parses */
    start(fx, new_req(fx, "GET", "/videos"), &fx->done[1]);
    run_until(fx, &fx->done[1].calls);
    assert_int_equal(fx->done[1].err, 0);
    assert_true(json_is_array(fx->done[1].json));
}

static void h_not_json(struct fx *fx, struct sconn *c, int idx)
{
    (void)fx;
    (void)idx;
    reply(c, 200, "Content-Type: application/json\r\n", "{\"id\": \x01 nope", 14);
}

static void test_invalid_json_2xx(void **state)
{
    struct fx *fx = *state;
    struct oai_req *req;

    fx->handler = h_not_json;
    make_client(fx);
    start(fx, new_req(fx, "GET", "/videos"), &fx->done[0]);
    run_until(fx, &fx->done[0].calls);
    assert_int_equal(fx->done[0].err, SZ_EPROTO);
    assert_int_equal(fx->done[0].status, 200);
    assert_false(has_control(fx->done[0].message));
    assert_non_null(strstr(fx->done[0].message, "not JSON"));

    /* raw requests get the bytes untouched */
    req = new_req(fx, "GET", "/videos");
    oai_req_set_raw(req);
    start(fx, req, &fx->done[1]);
    run_until(fx, &fx->done[1].calls);
    assert_int_equal(fx->done[1].err, 0);
    assert_null(fx->done[1].json);
    assert_int_equal(fx->done[1].body_len, 14);
    assert_memory_equal(fx->done[1].body, "{\"id\": \x01 nope", 14);
}

static void test_no_api_key(void **state)
{
    struct fx *fx = *state;

    free(fx->cfg.api_key);
    fx->cfg.api_key = NULL;
    make_client(fx);
    start(fx, new_req(fx, "GET", "/videos"), &fx->done[0]);
    assert_int_equal(fx->done[0].calls, 0);
    run_until(fx, &fx->done[0].calls);
    assert_int_equal(fx->done[0].err, SZ_ENOKEY);
    assert_string_equal(fx->done[0].message, "OPENAI_API_KEY is not set");
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
    char want[128];
    struct oai_req *req;

    /* a port that was just free: bind, read it, close */
    uv_tcp_init(&fx->loop, &tmp);
    uv_ip4_addr("127.0.0.1", 0, &addr);
    assert_int_equal(uv_tcp_bind(&tmp, (const struct sockaddr *)&addr, 0), 0);
    uv_tcp_getsockname(&tmp, (struct sockaddr *)&got, &len);
    port = ntohs(((struct sockaddr_in *)&got)->sin_port);
    uv_close((uv_handle_t *)&tmp, NULL);
    uv_run(&fx->loop, UV_RUN_NOWAIT);

    free(fx->cfg.base_url);
    fx->cfg.base_url = malloc(64);
    snprintf(fx->cfg.base_url, 64, "http://127.0.0.1:%d/v1/", port);
    make_client(fx);
    req = new_req(fx, "GET", "/videos");
    oai_req_set_max_retries(req, 0);
    start(fx, req, &fx->done[0]);
    run_until(fx, &fx->done[0].calls);
    assert_int_equal(fx->done[0].err, SZ_EIO);
    assert_int_equal(fx->done[0].status, 0);
    snprintf(want, sizeof(want), "Could not connect to http://127.0.0.1:%d: Connection refused",
             port);
    assert_string_equal(fx->done[0].message, want);
}

/* ---- sinks ---- */

static int sink_headers(struct oai_req *req, long status, int64_t clen, const char *ctype,
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
    oai_req_resume(fx->req);
}

static int sink_data(struct oai_req *req, const char *buf, size_t len, void *data)
{
    struct fx *fx = data;

    if (fx->sink_paused)
        fx->sink_data_while_paused++;
    if (fx->sink_headers_calls != 1)
        fx->sink_bad_byte = 1;
    for (size_t i = 0; i < len; i++) {
        if ((uint8_t)buf[i] != pattern(fx->sink_bytes + i)) {
            fx->sink_bad_byte = 1;
            break;
        }
    }
    fx->sink_bytes += len;
    assert_int_equal(oai_req_received(req) + len, fx->sink_bytes);
    switch (fx->sink_pause_mode) {
    case 1: /* pause on every chunk, resume 1 ms later (a 0 ms timer chain could starve
             * the loop if the client were broken) */
        fx->sink_paused = 1;
        fx->sink_pauses++;
        uv_timer_start(&fx->resume_timer, resume_cb, 1, 0);
        return OAI_SINK_PAUSE;
    case 2: /* one long pause, longer than the stall timeout */
        if (fx->sink_pauses == 0 && fx->sink_bytes > 100000) {
            fx->sink_paused = 1;
            fx->sink_pauses++;
            uv_timer_start(&fx->resume_timer, resume_cb, 400, 0);
            return OAI_SINK_PAUSE;
        }
        return 0;
    case 3: /* reset the server's connection once bytes have arrived */
        if (fx->stream_conn != NULL) {
            conn_close(fx->stream_conn, 1);
            fx->stream_conn = NULL;
        }
        return 0;
    case 4: /* cancel from inside the callback */
        oai_req_cancel(req);
        return 0;
    case 5: /* pause and let the test cancel */
        fx->sink_paused = 1;
        fx->sink_pauses++;
        return OAI_SINK_PAUSE;
    case 6: /* the sink fails (disk full) */
        return SZ_EIO;
    case 7: /* resume from inside on_data cancels the pause it returns */
        oai_req_resume(req);
        fx->sink_pauses++;
        return OAI_SINK_PAUSE;
    default:
        return 0;
    }
}

static struct oai_req *sink_req(struct fx *fx, const char *path)
{
    struct oai_sink sink = {sink_headers, sink_data, fx};
    struct oai_req *req = new_req(fx, "GET", path);
    oai_req_set_sink(req, &sink);
    fx->req = req;
    return req;
}

#define BIG (4u * 1024u * 1024u + 12345u)

static void h_stream_big(struct fx *fx, struct sconn *c, int idx)
{
    (void)idx;
    fx->stream_conn = c;
    stream_body(c, BIG, BIG, "video/mp4");
}

static void test_sink_pause_resume(void **state)
{
    struct fx *fx = *state;

    fx->handler = h_stream_big;
    fx->sink_pause_mode = 1;
    make_client(fx);
    start(fx, sink_req(fx, "/videos/video_1/content?variant=video"), &fx->done[0]);
    run_until(fx, &fx->done[0].calls);
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
    assert_null(req_header(fx, 0, "Accept-Encoding"));
    assert_string_equal(fx->srv.reqs[0].target, "/v1/videos/video_1/content?variant=video");
}

static void test_sink_pause_is_not_a_stall(void **state)
{
    struct fx *fx = *state;

    fx->handler = h_stream_big;
    fx->sink_pause_mode = 2; /* pauses 400 ms */
    fx->cfg.stall_timeout_ms = 150;
    make_client(fx);
    start(fx, sink_req(fx, "/videos/video_1/content"), &fx->done[0]);
    run_until(fx, &fx->done[0].calls);
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
    make_client(fx);
    start(fx, sink_req(fx, "/videos/video_1/content"), &fx->done[0]);
    run_until(fx, &fx->done[0].calls);
    assert_int_equal(fx->done[0].err, 0);
    assert_int_equal(fx->sink_bytes, BIG);
    assert_int_equal(fx->sink_bad_byte, 0);
}

static void test_sink_reset_mid_body(void **state)
{
    struct fx *fx = *state;

    fx->handler = h_stream_big;
    fx->sink_pause_mode = 3;
    make_client(fx);
    start(fx, sink_req(fx, "/videos/video_1/content"), &fx->done[0]);
    run_until(fx, &fx->done[0].calls);
    assert_int_equal(fx->done[0].err, SZ_EIO);
    assert_true(fx->sink_bytes > 0 && fx->sink_bytes < BIG);
    assert_int_equal(fx->sink_bad_byte, 0);
    assert_int_equal(fx->srv.nreqs, 1); /* never retried once the sink had bytes */
    assert_int_equal(fx->done[0].retries, 0);
    assert_non_null(strstr(fx->done[0].message, "broke"));
    assert_false(has_control(fx->done[0].message));
}

static void h_redirect(struct fx *fx, struct sconn *c, int idx)
{
    if (idx == 0)
        reply(c, 302, "Location: /v1/cdn/video.mp4\r\n", "moved", 5);
    else
        h_stream_big(fx, c, idx);
}

/* A content URL that redirects (e.g. to a CDN): followed, and the sink sees only the
 * final response. */
static void test_sink_follows_redirect(void **state)
{
    struct fx *fx = *state;

    fx->handler = h_redirect;
    make_client(fx);
    start(fx, sink_req(fx, "/videos/v/content"), &fx->done[0]);
    run_until(fx, &fx->done[0].calls);
    assert_int_equal(fx->done[0].err, 0);
    assert_int_equal(fx->srv.nreqs, 2);
    assert_string_equal(fx->srv.reqs[1].target, "/v1/cdn/video.mp4");
    assert_int_equal(fx->sink_headers_calls, 1);
    assert_int_equal(fx->sink_status, 200);
    assert_int_equal(fx->sink_bytes, BIG);
    assert_int_equal(fx->sink_bad_byte, 0);
}

static void h_stream_stall(struct fx *fx, struct sconn *c, int idx)
{
    (void)fx;
    (void)idx;
    stream_body(c, 1000000, 1000, "video/mp4");
}

static void test_sink_stall(void **state)
{
    struct fx *fx = *state;

    fx->handler = h_stream_stall;
    fx->cfg.stall_timeout_ms = 100;
    make_client(fx);
    start(fx, sink_req(fx, "/videos/video_1/content"), &fx->done[0]);
    run_until(fx, &fx->done[0].calls);
    assert_int_equal(fx->done[0].err, SZ_ETIMEOUT);
    assert_int_equal(fx->sink_bytes, 1000);
    assert_int_equal(fx->srv.nreqs, 1);
    assert_non_null(strstr(fx->done[0].message, "No data received"));
    assert_non_null(strstr(fx->done[0].message, "100 ms"));
}

static void h_stall_then_ok(struct fx *fx, struct sconn *c, int idx)
{
    (void)fx;
    if (idx == 0) {
        /* headers and 10 of 100 bytes, then silence */
        const char *h = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789";
        conn_write(c, h, strlen(h));
    } else {
        reply_json(c, 200, NULL, "{\"second\":true}");
    }
}

static void test_buffered_stall_retries(void **state)
{
    struct fx *fx = *state;
    struct oai_req *req;

    fx->handler = h_stall_then_ok;
    make_client(fx);
    req = new_req(fx, "GET", "/videos");
    oai_req_set_timeouts(req, -1, 100);
    start(fx, req, &fx->done[0]);
    run_until(fx, &fx->done[0].calls);
    /* a buffered request has delivered nothing to anyone: the stall is retried */
    assert_int_equal(fx->done[0].err, 0);
    assert_int_equal(fx->done[0].retries, 1);
    assert_int_equal(fx->srv.nreqs, 2);
    assert_true(json_is_true(json_object_get(fx->done[0].json, "second")));
}

static void h_stall_always(struct fx *fx, struct sconn *c, int idx)
{
    const char *h = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789";
    (void)fx;
    (void)idx;
    conn_write(c, h, strlen(h));
}

static void test_buffered_stall_timeout(void **state)
{
    struct fx *fx = *state;
    struct oai_req *req;

    fx->handler = h_stall_always;
    fx->cfg.stall_timeout_ms = 100;
    fx->cfg.max_retries = 0;
    make_client(fx);
    req = new_req(fx, "GET", "/videos");
    start(fx, req, &fx->done[0]);
    run_until(fx, &fx->done[0].calls);
    assert_int_equal(fx->done[0].err, SZ_ETIMEOUT);
    assert_int_equal(fx->srv.nreqs, 1);
}

static void slow_reply_cb(uv_timer_t *t)
{
    struct sconn *c = t->data;
    reply_json(c, 200, NULL, "{\"slow\":true}");
}

static void h_think_then_reply(struct fx *fx, struct sconn *c, int idx)
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
    fx->cfg.stall_timeout_ms = 100;
    fx->cfg.max_retries = 0;
    make_client(fx);
    start(fx, new_req(fx, "POST", "/responses"), &fx->done[0]);
    run_until(fx, &fx->done[0].calls);
    assert_int_equal(fx->done[0].err, 0);
    assert_int_equal(fx->srv.nreqs, 1);
}

static void h_silent(struct fx *fx, struct sconn *c, int idx)
{
    (void)fx;
    (void)c;
    (void)idx;
}

static void test_request_timeout(void **state)
{
    struct fx *fx = *state;
    struct oai_req *req;

    fx->handler = h_silent;
    make_client(fx);
    req = new_req(fx, "GET", "/videos");
    oai_req_set_timeouts(req, 150, -1);
    oai_req_set_max_retries(req, 0);
    start(fx, req, &fx->done[0]);
    run_until(fx, &fx->done[0].calls);
    assert_int_equal(fx->done[0].err, SZ_ETIMEOUT);
    assert_non_null(strstr(fx->done[0].message, "timed out after 150 ms"));
}

static void h_stream_404(struct fx *fx, struct sconn *c, int idx)
{
    h_404(fx, c, idx);
}

static void test_sink_error_body_is_buffered(void **state)
{
    struct fx *fx = *state;

    fx->handler = h_stream_404;
    make_client(fx);
    start(fx, sink_req(fx, "/videos/x/content"), &fx->done[0]);
    run_until(fx, &fx->done[0].calls);
    assert_int_equal(fx->done[0].err, SZ_EUPSTREAM);
    assert_string_equal(fx->done[0].message, "OpenAI API error 404 (not_found): Video not found");
    assert_int_equal(fx->sink_headers_calls, 0);
    assert_int_equal(fx->sink_bytes, 0);
}

static void test_sink_abort(void **state)
{
    struct fx *fx = *state;

    fx->handler = h_stream_big;
    fx->sink_pause_mode = 6;
    make_client(fx);
    start(fx, sink_req(fx, "/videos/v/content"), &fx->done[0]);
    run_until(fx, &fx->done[0].calls);
    assert_int_equal(fx->done[0].err, SZ_EIO);
    assert_int_equal(fx->srv.nreqs, 1);
    assert_non_null(strstr(fx->done[0].message, "aborted"));
}

/* ---- cancellation ---- */

static void h_cancel_on_arrival(struct fx *fx, struct sconn *c, int idx)
{
    (void)c;
    (void)idx;
    oai_req_cancel(fx->req);            /* the server shares the loop: the request is in flight */
    oai_req_cancel(fx->req);            /* idempotent */
    fx->hold_count = fx->done[0].calls; /* never called inside oai_req_cancel */
    fx->step = 1;
}

static void test_cancel_in_flight(void **state)
{
    struct fx *fx = *state;

    fx->handler = h_cancel_on_arrival;
    make_client(fx);
    fx->req = new_req(fx, "GET", "/videos");
    start(fx, fx->req, &fx->done[0]);
    run_until(fx, &fx->step);
    assert_int_equal(fx->hold_count, 0);
    assert_int_equal(oai_client_inflight(fx->client), 0);
    run_until(fx, &fx->done[0].calls);
    assert_int_equal(fx->done[0].err, SZ_ECANCELLED);
    /* close everything: still exactly one callback */
    oai_client_close(fx->client, on_client_closed, fx);
    run_until(fx, &fx->client_closed);
    fx->client = NULL;
    assert_int_equal(fx->done[0].calls, 1);
    assert_int_equal(fx->srv.nreqs, 1);
}

static void test_cancel_inside_sink(void **state)
{
    struct fx *fx = *state;

    fx->handler = h_stream_big;
    fx->sink_pause_mode = 4;
    make_client(fx);
    start(fx, sink_req(fx, "/videos/v/content"), &fx->done[0]);
    run_until(fx, &fx->done[0].calls);
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
    make_client(fx);
    start(fx, sink_req(fx, "/videos/v/content"), &fx->done[0]);
    run_until(fx, &fx->sink_paused);
    assert_true(sink_paused_flag(fx));
    assert_int_equal(oai_client_inflight(fx->client), 1);
    oai_req_cancel(fx->req);
    run_until(fx, &fx->done[0].calls);
    assert_int_equal(fx->done[0].err, SZ_ECANCELLED);
    assert_int_equal(fx->sink_pauses, 1);
    assert_int_equal(oai_client_inflight(fx->client), 0);
}

static void h_500_long_retry(struct fx *fx, struct sconn *c, int idx)
{
    (void)idx;
    reply(c, 503, "retry-after: 30\r\n", "", 0);
    fx->step = 1;
}

static void test_cancel_waiting_retry(void **state)
{
    struct fx *fx = *state;
    struct oai_stats st;
    int waiting = 0;

    fx->handler = h_500_long_retry;
    make_client(fx);
    fx->req = new_req(fx, "GET", "/videos");
    start(fx, fx->req, &fx->done[0]);
    run_until(fx, &fx->step);
    fx->timed_out = 0;
    uv_timer_start(&fx->watchdog, watchdog_cb, 5000, 0);
    while (!waiting && !fx->timed_out) {
        uv_run(&fx->loop, UV_RUN_ONCE);
        oai_client_stats(fx->client, &st);
        waiting = st.waiting_retry == 1;
    }
    uv_timer_stop(&fx->watchdog);
    assert_true(waiting);
    oai_req_cancel(fx->req);
    run_until(fx, &fx->done[0].calls);
    assert_int_equal(fx->done[0].err, SZ_ECANCELLED);
    assert_int_equal(fx->srv.nreqs, 1);
    oai_client_stats(fx->client, &st);
    assert_int_equal(st.waiting_retry, 0);
}

static void test_cancel_queued(void **state)
{
    struct fx *fx = *state;

    fx->handler = h_silent;
    fx->cfg.max_concurrency = 1;
    make_client(fx);
    fx->reqs[0] = new_req(fx, "GET", "/a");
    fx->reqs[1] = new_req(fx, "GET", "/b");
    start(fx, fx->reqs[0], &fx->done[0]);
    start(fx, fx->reqs[1], &fx->done[1]);
    assert_int_equal(oai_client_inflight(fx->client), 1);
    assert_int_equal(oai_client_queued(fx->client), 1);
    oai_req_cancel(fx->reqs[1]);
    assert_int_equal(oai_client_queued(fx->client), 0);
    run_until(fx, &fx->done[1].calls);
    assert_int_equal(fx->done[1].err, SZ_ECANCELLED);
    assert_int_equal(fx->done[0].calls, 0);
    oai_req_cancel(fx->reqs[0]);
    run_until(fx, &fx->done[0].calls);
    assert_int_equal(fx->done[0].err, SZ_ECANCELLED);
    assert_true(fx->srv.nreqs <= 1);
    for (int i = 0; i < fx->srv.nreqs; i++)
        assert_string_equal(fx->srv.reqs[i].target, "/v1/a");
}

static void test_close_cancels_everything(void **state)
{
    struct fx *fx = *state;
    struct oai_req *late;

    fx->handler = h_silent;
    fx->cfg.max_concurrency = 2;
    make_client(fx);
    for (int i = 0; i < 4; i++)
        start(fx, new_req(fx, "GET", "/videos"), &fx->done[i]);
    assert_int_equal(oai_client_inflight(fx->client), 2);
    assert_int_equal(oai_client_queued(fx->client), 2);
    oai_client_close(fx->client, on_client_closed, fx);
    late = new_req(fx, "GET", "/late");
    start(fx, late, &fx->done[4]);
    run_until(fx, &fx->client_closed);
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
    struct sconn *c = t->data;
    reply_json(c, 200, NULL, "{}");
}

static void h_hold(struct fx *fx, struct sconn *c, int idx)
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
    fx->cfg.max_concurrency = 2;
    make_client(fx);
    for (int i = 0; i < 5; i++) {
        char path[16];
        snprintf(path, sizeof(path), "/r%d", i);
        start(fx, new_req(fx, "GET", path), &fx->done[i]);
    }
    assert_int_equal(oai_client_inflight(fx->client), 2);
    assert_int_equal(oai_client_queued(fx->client), 3);
    fx->timed_out = 0;
    uv_timer_start(&fx->watchdog, watchdog_cb, 10000, 0);
    while (!all && !fx->timed_out) {
        uv_run(&fx->loop, UV_RUN_ONCE);
        assert_true(oai_client_inflight(fx->client) <= 2);
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

/* ---- multipart ---- */

struct mpart {
    char name[64], filename[64], ctype[64];
    const char *data;
    size_t len;
};

/* Splits a multipart/form-data body; returns the number of parts. */
static int parse_multipart(const char *ctype, const char *body, size_t len, struct mpart *parts,
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
        const char *hstart = p + dlen, *hend, *dstart, *next;
        const char *v;
        size_t vlen;
        char head[1024];
        if (hstart + 2 <= end && memcmp(hstart, "--", 2) == 0)
            break; /* closing delimiter */
        hend = memmem(hstart, (size_t)(end - hstart), "\r\n\r\n", 4);
        assert_non_null(hend);
        assert_true((size_t)(hend - hstart) < sizeof(head));
        memcpy(head, hstart, (size_t)(hend - hstart));
        head[hend - hstart] = '\0';
        strcat(head, "\r\n");
        dstart = hend + 4;
        next = memmem(dstart, (size_t)(end - dstart), delim, dlen);
        assert_non_null(next);
        memset(&parts[n], 0, sizeof(parts[n]));
        parts[n].data = dstart;
        parts[n].len = (size_t)(next - dstart) - 2; /* CRLF before the delimiter */
        v = find_header(head, "Content-Disposition", &vlen);
        assert_non_null(v);
        {
            const char *nm = strstr(v, "name=\"");
            const char *fn = strstr(v, "filename=\"");
            assert_non_null(nm);
            sscanf(nm + 6, "%63[^\"]", parts[n].name);
            if (fn != NULL)
                sscanf(fn + 10, "%63[^\"]", parts[n].filename);
        }
        v = find_header(head, "Content-Type", &vlen);
        if (v != NULL)
            snprintf(parts[n].ctype, sizeof(parts[n].ctype), "%.*s", (int)vlen, v);
        n++;
        p = next;
    }
    return n;
}

static void h_multipart(struct fx *fx, struct sconn *c, int idx)
{
    (void)fx;
    if (idx == 0)
        reply(c, 503, "retry-after-ms: 1\r\n", "", 0);
    else
        reply_json(c, 200, NULL, "{\"id\":\"video_mp\"}");
}

static void test_multipart(void **state)
{
    struct fx *fx = *state;
    struct oai_req *req;
    static const char png[] = "\x89PNG\r\n\x1a\n\0\0\0\rIHDR--boundary?\r\n--";
    char *img1 = malloc(sizeof(png) - 1), *img2 = malloc(3);
    struct mpart parts[8];
    int n;

    memcpy(img1, png, sizeof(png) - 1);
    memcpy(img2, "abc", 3);
    fx->handler = h_multipart;
    make_client(fx);
    req = new_req(fx, "POST", "/videos");
    assert_int_equal(oai_req_add_field(req, "prompt", "a fox, \"running\"\r\nfast"), 0);
    assert_int_equal(oai_req_add_field(req, "model", "sora-2"), 0);
    assert_int_equal(
        oai_req_add_file(req, "image[]", "ref.png", "image/png", img1, sizeof(png) - 1), 0);
    assert_int_equal(oai_req_add_file(req, "image[]", "b.webp", "image/webp", img2, 3), 0);
    assert_int_equal(oai_req_set_json_new(req, json_object()), SZ_EINVAL);
    start(fx, req, &fx->done[0]);
    run_until(fx, &fx->done[0].calls);
    assert_int_equal(fx->done[0].err, 0);
    assert_int_equal(fx->srv.nreqs, 2); /* the body was resent on the retry */
    for (int r = 0; r < 2; r++) {
        const char *ct = req_header(fx, r, "Content-Type");
        assert_non_null(ct);
        assert_true(strncmp(ct, "multipart/form-data; boundary=", 30) == 0);
        n = parse_multipart(ct, fx->srv.reqs[r].body, fx->srv.reqs[r].body_len, parts, 8);
        assert_int_equal(n, 4);
        assert_string_equal(parts[0].name, "prompt");
        assert_string_equal(parts[0].filename, "");
        assert_int_equal(parts[0].len, strlen("a fox, \"running\"\r\nfast"));
        assert_memory_equal(parts[0].data, "a fox, \"running\"\r\nfast", parts[0].len);
        assert_string_equal(parts[1].name, "model");
        assert_int_equal(parts[1].len, 6);
        assert_memory_equal(parts[1].data, "sora-2", 6);
        assert_string_equal(parts[2].name, "image[]");
        assert_string_equal(parts[2].filename, "ref.png");
        assert_string_equal(parts[2].ctype, "image/png");
        assert_int_equal(parts[2].len, sizeof(png) - 1);
        assert_memory_equal(parts[2].data, png, sizeof(png) - 1);
        assert_string_equal(parts[3].name, "image[]");
        assert_string_equal(parts[3].filename, "b.webp");
        assert_string_equal(parts[3].ctype, "image/webp");
        assert_int_equal(parts[3].len, 3);
        assert_memory_equal(parts[3].data, "abc", 3);
        assert_null(req_header(fx, r, "Expect"));
    }
}

/* ---- many concurrent sinks with backpressure ---- */

struct dl {
    struct fx *fx;
    struct oai_req *req;
    uv_timer_t timer;
    size_t bytes;
    int bad, pauses, paused, chunks;
    struct done_rec done;
};

static void dl_resume(uv_timer_t *t)
{
    struct dl *d = t->data;
    d->paused = 0;
    oai_req_resume(d->req);
}

static int dl_data(struct oai_req *req, const char *buf, size_t len, void *data)
{
    struct dl *d = data;
    (void)req;
    if (d->paused || memcmp(buf, pattern_buf + d->bytes, len) != 0)
        d->bad = 1;
    d->bytes += len;
    /* like a disk writer with a bounded queue: pause every third chunk */
    if (++d->chunks % 3 == 0) {
        d->paused = 1;
        d->pauses++;
        uv_timer_start(&d->timer, dl_resume, 1, 0);
        return OAI_SINK_PAUSE;
    }
    return 0;
}

static void dl_done(struct oai_req *req, const struct oai_result *res, void *data)
{
    struct dl *d = data;
    on_done(req, res, &d->done);
    d->fx->step++;
}

static size_t dl_size = 1u << 20;

static void h_stream_dl(struct fx *fx, struct sconn *c, int idx)
{
    (void)fx;
    (void)idx;
    stream_body(c, dl_size, dl_size, "video/mp4");
}

/* N downloads through a concurrency limit, each pausing often; every byte arrives once
 * and in order. OAI_BENCH=1 makes it the load (32 x 7,691,516 bytes) and prints
 * the wall time. */
static void test_many_sinks(void **state)
{
    struct fx *fx = *state;
    int n = 12;
    struct dl *dls;
    uint64_t t0;
    const char *bench = getenv("OAI_BENCH");

    if (bench != NULL && bench[0] == '1') {
        n = 32;
        dl_size = 7691516;
    }
    fx->handler = h_stream_dl;
    fx->cfg.max_concurrency = bench != NULL ? 16 : 4;
    make_client(fx);
    dls = calloc((size_t)n, sizeof(*dls));
    assert_non_null(dls);
    t0 = uv_hrtime();
    for (int i = 0; i < n; i++) {
        struct oai_sink sink = {NULL, dl_data, &dls[i]};
        dls[i].fx = fx;
        uv_timer_init(&fx->loop, &dls[i].timer);
        dls[i].timer.data = &dls[i];
        dls[i].req = new_req(fx, "GET", "/videos/v/content");
        oai_req_set_sink(dls[i].req, &sink);
        assert_int_equal(oai_req_start(dls[i].req, dl_done, &dls[i]), 0);
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
    assert_int_equal(fx->srv.max_outstanding, fx->cfg.max_concurrency);
}

/* ---- callbacks that start or close from inside a done callback ---- */

static void on_done_chain(struct oai_req *req, const struct oai_result *res, void *data)
{
    struct fx *fx = data;
    on_done(req, res, &fx->done[0]);
    start(fx, new_req(fx, "GET", "/second"), &fx->done[1]);
}

static void test_start_from_done(void **state)
{
    struct fx *fx = *state;

    make_client(fx);
    assert_int_equal(oai_req_start(new_req(fx, "GET", "/first"), on_done_chain, fx), 0);
    run_until(fx, &fx->done[1].calls);
    assert_int_equal(fx->done[0].err, 0);
    assert_int_equal(fx->done[1].err, 0);
    assert_int_equal(fx->srv.nreqs, 2);
    assert_string_equal(fx->srv.reqs[1].target, "/v1/second");
    assert_int_equal(fx->srv.nconns, 1); /* the connection was reused */
}

static void on_done_close(struct oai_req *req, const struct oai_result *res, void *data)
{
    struct fx *fx = data;
    on_done(req, res, &fx->done[0]);
    oai_client_close(fx->client, on_client_closed, fx);
    oai_client_close(fx->client, on_client_closed, fx); /* twice is a no-op */
}

static void h_first_fast(struct fx *fx, struct sconn *c, int idx)
{
    if (strcmp(fx->srv.reqs[idx].target, "/v1/fast") == 0)
        reply_json(c, 200, NULL, "{}");
}

static void test_close_from_done(void **state)
{
    struct fx *fx = *state;

    fx->handler = h_first_fast;
    make_client(fx);
    start(fx, new_req(fx, "GET", "/slow"), &fx->done[1]);
    assert_int_equal(oai_req_start(new_req(fx, "GET", "/fast"), on_done_close, fx), 0);
    run_until(fx, &fx->client_closed);
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
    struct oai_req *req = NULL;
    char *bytes = malloc(4);

    make_client(fx);
    assert_int_equal(oai_req_new(fx->client, "GET", "videos", &req), SZ_EINVAL);
    assert_null(req);
    assert_int_equal(oai_req_new(fx->client, "GET", "/a b", &req), SZ_EINVAL);
    assert_int_equal(oai_req_new(fx->client, "G T", "/a", &req), SZ_EINVAL);
    req = new_req(fx, "POST", "/x");
    assert_int_equal(oai_req_set_json_new(req, json_object()), 0);
    assert_int_equal(oai_req_add_field(req, "a", "b"), SZ_EINVAL);
    assert_int_equal(oai_req_add_file(req, "a", "f", "image/png", bytes, 4), SZ_EINVAL);
    assert_int_equal(oai_req_start(req, NULL, NULL), SZ_EINVAL);
    oai_req_free(req); /* never started */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_retry_table),
        cmocka_unit_test(test_retry_backoff_bounds),
        cmocka_unit_test(test_http_date),
        cmocka_unit_test(test_check_id),
        cmocka_unit_test(test_error_message_json),
        cmocka_unit_test(test_error_message_long_json_message),
        cmocka_unit_test(test_error_message_text),
        cmocka_unit_test(test_error_message_empty),
        cmocka_unit_test(test_summarize),
#define LOOP_TEST(t) cmocka_unit_test_setup_teardown(t, setup, teardown)
        LOOP_TEST(test_json_200),
        LOOP_TEST(test_headers_and_json_body),
        LOOP_TEST(test_no_org_headers_when_unset),
        LOOP_TEST(test_429_retry_after_ms),
        LOOP_TEST(test_500_three_times),
        LOOP_TEST(test_should_retry_false),
        LOOP_TEST(test_should_retry_true),
        LOOP_TEST(test_404_message),
        LOOP_TEST(test_body_limit),
        LOOP_TEST(test_invalid_json_2xx),
        LOOP_TEST(test_no_api_key),
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
        LOOP_TEST(test_multipart),
        LOOP_TEST(test_many_sinks),
        LOOP_TEST(test_start_from_done),
        LOOP_TEST(test_close_from_done),
        LOOP_TEST(test_request_api_misuse),
#undef LOOP_TEST
    };
    int rc;

    sz_log_set_level(SZ_LOG_ERROR);
    signal(SIGPIPE, SIG_IGN); /* the test server may write to a peer that went away */
    pattern_buf = malloc(PATTERN_LEN);
    for (size_t i = 0; i < PATTERN_LEN; i++)
        pattern_buf[i] = pattern(i);
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    free(pattern_buf);
    return rc;
}
