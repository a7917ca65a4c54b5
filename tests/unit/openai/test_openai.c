/* Unit tests of the OpenAI layer (src/openai/): ids, the sentences built from
 * OpenAI's error bodies, and, on a real loop against the scripted server of
 * tests/unit/helpers/, what oai_req_new adds to a net request: the URL under the
 * base URL, the credential headers (kept away from other origins), OpenAI's
 * sentences for failures, and the missing-key path. The engine itself is tested in
 * tests/unit/net/. */
#include "fmacros.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <uv.h>

#include "core/err.h"
#include "core/log.h"
#include "helpers/netfx.h"
#include "helpers/tsrv.h"
#include "net/client.h"
#include "openai/client.h"

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
    assert_false(fx_has_control(out));

    /* 10 KB of text with control characters all through it */
    big = malloc(10 * 1024);
    assert_non_null(big);
    for (size_t i = 0; i < 10 * 1024; i++)
        big[i] = (i % 37 == 0) ? '\x1b' : (i % 53 == 0) ? '\n' : (char)('a' + (int)(i % 26));
    errmsg(503, big, 10 * 1024, out, sizeof(out), code);
    assert_false(fx_has_control(out));
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

static void test_strerror(void **state)
{
    (void)state;
    assert_string_equal(oai_strerror(SZ_ENOKEY), "OPENAI_API_KEY is not set");
    /* core's own text knows no product */
    assert_string_equal(sz_strerror(SZ_ENOKEY), "API key is not configured");
    assert_string_equal(oai_strerror(SZ_ETIMEOUT), sz_strerror(SZ_ETIMEOUT));
}

/* ====================================================================================
 * Requests built by oai_req_new, on a loop */

static struct oai_client *oai;
static struct oai_options oai_opts;

static int setup(void **state)
{
    int rc = fx_setup(state);
    struct fx *fx = *state;
    static char base[128];

    snprintf(base, sizeof(base), "%s/", fx->base); /* a trailing '/' is ignored */
    oai_opts.base_url = base;
    oai_opts.api_key = "sk-test-123";
    oai_opts.org_id = "org-abc";
    oai_opts.project_id = "proj_xyz";
    oai_opts.image_first_byte_timeout_ms = 0;
    oai_opts.flavour = OAI_OPENAI;
    return rc;
}

static struct tsrv cdn; /* another origin, for the tests that start it */
static int cdn_started;

static int teardown(void **state)
{
    int rc;

    oai_client_free(oai);
    oai = NULL;
    if (cdn_started)
        tsrv_stop(&cdn); /* also when a test failed half-way */
    rc = fx_teardown(state);
    if (cdn_started) {
        tsrv_free(&cdn);
        cdn_started = 0;
    }
    return rc;
}

static void make_clients(struct fx *fx)
{
    fx_make_client(fx);
    assert_int_equal(oai_client_new(fx->client, &oai_opts, &oai), 0);
}

static struct net_req *new_req(const char *method, const char *path)
{
    struct net_req *req = NULL;
    assert_int_equal(oai_req_new(oai, method, path, &req), 0);
    return req;
}

static void h_video(struct fx *fx, struct tsrv_conn *c, int idx)
{
    (void)fx;
    (void)idx;
    tsrv_reply_json(c, 200, "x-request-id: req_1\r\n",
                    "{\"id\":\"video_1\",\"object\":\"video\",\"status\":\"queued\"}");
}

static void test_url_and_headers(void **state)
{
    struct fx *fx = *state;
    struct net_req *req;

    fx->handler = h_video;
    make_clients(fx);
    req = new_req("GET", "/videos/video_1");
    assert_int_equal(net_req_add_query(req, "variant", "a b"), 0);
    fx_start(fx, req, &fx->done[0]);
    fx_run_until(fx, &fx->done[0].calls);
    assert_int_equal(fx->done[0].err, 0);
    assert_string_equal(json_string_value(json_object_get(fx->done[0].json, "id")), "video_1");
    assert_string_equal(fx->srv.reqs[0].target, "/v1/videos/video_1?variant=a%20b");
    assert_string_equal(tsrv_header(&fx->srv, 0, "Authorization"), "Bearer sk-test-123");
    assert_string_equal(tsrv_header(&fx->srv, 0, "User-Agent"), "sanzaru/" SZ_VERSION);
    assert_string_equal(tsrv_header(&fx->srv, 0, "OpenAI-Organization"), "org-abc");
    assert_string_equal(tsrv_header(&fx->srv, 0, "OpenAI-Project"), "proj_xyz");
    assert_string_equal(tsrv_header(&fx->srv, 0, "Accept"), "application/json");
}

static void test_no_org_headers_when_unset(void **state)
{
    struct fx *fx = *state;

    oai_opts.org_id = NULL;
    oai_opts.project_id = "";
    make_clients(fx);
    fx_start(fx, new_req("DELETE", "/videos/video_9"), &fx->done[0]);
    fx_run_until(fx, &fx->done[0].calls);
    assert_int_equal(fx->done[0].err, 0);
    assert_string_equal(fx->srv.reqs[0].method, "DELETE");
    assert_null(tsrv_header(&fx->srv, 0, "OpenAI-Organization"));
    assert_null(tsrv_header(&fx->srv, 0, "OpenAI-Project"));
    assert_non_null(tsrv_header(&fx->srv, 0, "Authorization"));
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

    fx->handler = h_500;
    make_clients(fx); /* backoff 375 ms then 750 ms */
    fx_start(fx, new_req("GET", "/videos"), &fx->done[0]);
    fx_run_until(fx, &fx->done[0].calls);
    assert_int_equal(fx->done[0].err, SZ_EUPSTREAM);
    assert_int_equal(fx->done[0].status, 500);
    assert_int_equal(fx->done[0].retries, 2);
    assert_int_equal(fx->srv.nreqs, 3);
    assert_string_equal(fx->done[0].message, "OpenAI API error 500 (server_error): Server "
                                             "exploded (gave up after 2 retries)");
    assert_string_equal(fx->done[0].code, "server_error");
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

    fx->handler = h_500_no_retry;
    make_clients(fx);
    fx_start(fx, new_req("GET", "/videos"), &fx->done[0]);
    fx_run_until(fx, &fx->done[0].calls);
    assert_int_equal(fx->done[0].err, SZ_EUPSTREAM);
    assert_int_equal(fx->srv.nreqs, 1);
    assert_string_equal(fx->done[0].message, "OpenAI API error 500: oops");
}

static void h_404(struct fx *fx, struct tsrv_conn *c, int idx)
{
    (void)fx;
    (void)idx;
    tsrv_reply_json(
        c, 404, NULL,
        "{\"error\":{\"message\":\"Video not found\",\"type\":\"invalid_request_error\","
        "\"param\":null,\"code\":\"not_found\"}}");
}

static void test_404_message(void **state)
{
    struct fx *fx = *state;

    fx->handler = h_404;
    make_clients(fx);
    fx_start(fx, new_req("GET", "/videos/nope"), &fx->done[0]);
    fx_run_until(fx, &fx->done[0].calls);
    assert_int_equal(fx->done[0].err, SZ_EUPSTREAM);
    assert_int_equal(fx->done[0].status, 404);
    assert_string_equal(fx->done[0].message, "OpenAI API error 404 (not_found): Video not found");
    assert_string_equal(fx->done[0].code, "not_found");
    assert_int_equal(fx->srv.nreqs, 1);
}

static int sink_data(struct net_req *req, const char *buf, size_t len, void *data)
{
    struct fx *fx = data;
    (void)req;
    (void)buf;
    fx->sink_bytes += len;
    return 0;
}

static void test_sink_error_body_is_buffered(void **state)
{
    struct fx *fx = *state;
    struct net_sink sink = {NULL, sink_data, fx};
    struct net_req *req;

    fx->handler = h_404;
    make_clients(fx);
    req = new_req("GET", "/videos/x/content");
    net_req_set_sink(req, &sink);
    fx_start(fx, req, &fx->done[0]);
    fx_run_until(fx, &fx->done[0].calls);
    assert_int_equal(fx->done[0].err, SZ_EUPSTREAM);
    assert_string_equal(fx->done[0].message, "OpenAI API error 404 (not_found): Video not found");
    assert_int_equal(fx->sink_bytes, 0);
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

    fx->handler = h_not_json;
    make_clients(fx);
    fx_start(fx, new_req("GET", "/videos"), &fx->done[0]);
    fx_run_until(fx, &fx->done[0].calls);
    assert_int_equal(fx->done[0].err, SZ_EPROTO);
    assert_string_equal(
        fx->done[0].message,
        "OpenAI API returned status 200 with a body that is not JSON: {\"id\": nope");
}

static void test_no_api_key(void **state)
{
    struct fx *fx = *state;

    oai_opts.api_key = NULL;
    make_clients(fx);
    fx_start(fx, new_req("GET", "/videos"), &fx->done[0]);
    assert_int_equal(fx->done[0].calls, 0);
    fx_run_until(fx, &fx->done[0].calls);
    assert_int_equal(fx->done[0].err, SZ_ENOKEY);
    assert_string_equal(fx->done[0].message, "OPENAI_API_KEY is not set");
    assert_int_equal(fx->srv.nreqs, 0);
    assert_int_equal(fx->srv.nconns, 0);

    /* an empty key is no key */
    oai_client_free(oai);
    oai_opts.api_key = "";
    assert_int_equal(oai_client_new(fx->client, &oai_opts, &oai), 0);
    fx_start(fx, new_req("POST", "/videos"), &fx->done[1]);
    fx_run_until(fx, &fx->done[1].calls);
    assert_int_equal(fx->done[1].err, SZ_ENOKEY);
    assert_string_equal(fx->done[1].message, "OPENAI_API_KEY is not set");
    assert_int_equal(fx->srv.nreqs, 0);
}

static void cancel_on_arrival(struct fx *fx, struct tsrv_conn *c, int idx)
{
    (void)c;
    (void)idx;
    net_req_cancel(fx->req);
}

static void test_cancel_sentences(void **state)
{
    struct fx *fx = *state;

    fx->handler = cancel_on_arrival;
    make_clients(fx);
    fx->req = new_req("GET", "/videos");
    fx_start(fx, fx->req, &fx->done[0]);
    fx_run_until(fx, &fx->done[0].calls);
    assert_int_equal(fx->done[0].err, SZ_ECANCELLED);
    assert_string_equal(fx->done[0].message, "The OpenAI request was cancelled");

    net_client_close(fx->client, fx_on_client_closed, fx);
    fx_start(fx, new_req("GET", "/videos"), &fx->done[1]);
    fx_run_until(fx, &fx->client_closed);
    fx->client = NULL;
    assert_int_equal(fx->done[1].err, SZ_ECANCELLED);
    assert_string_equal(fx->done[1].message, "The OpenAI request was cancelled");
    fx->client_closed = 0;
}

static void h_cdn(struct tsrv_conn *c, int idx, void *data)
{
    (void)idx;
    (void)data;
    tsrv_reply(c, 200, "Content-Type: video/mp4\r\n", "MP4!", 4);
}

static void h_redirect_to_cdn(struct fx *fx, struct tsrv_conn *c, int idx)
{
    char loc[128];
    (void)fx;
    if (idx == 0) {
        tsrv_reply(c, 302, "Location: /v1/videos/v/content2\r\n", "", 0);
    } else {
        snprintf(loc, sizeof(loc), "Location: %s/signed/v.mp4\r\n", cdn.url);
        tsrv_reply(c, 302, loc, "", 0);
    }
}

/* OpenAI's credentials go to the API's origin only: kept across a redirect within
 * it, dropped on a redirect to another (the content of a video may live on a CDN). */
static void test_credentials_stay_home(void **state)
{
    struct fx *fx = *state;
    struct net_sink sink = {NULL, sink_data, fx};
    struct net_req *req;

    fx->handler = h_redirect_to_cdn;
    tsrv_start(&cdn, &fx->loop, h_cdn, fx);
    cdn_started = 1;
    make_clients(fx);
    req = new_req("GET", "/videos/v/content");
    net_req_set_sink(req, &sink);
    fx_start(fx, req, &fx->done[0]);
    fx_run_until(fx, &fx->done[0].calls);
    assert_int_equal(fx->done[0].err, 0);
    assert_int_equal(fx->sink_bytes, 4);
    assert_int_equal(fx->srv.nreqs, 2);
    assert_string_equal(tsrv_header(&fx->srv, 1, "Authorization"), "Bearer sk-test-123");
    assert_string_equal(tsrv_header(&fx->srv, 1, "OpenAI-Project"), "proj_xyz");
    assert_int_equal(cdn.nreqs, 1);
    assert_null(tsrv_header(&cdn, 0, "Authorization"));
    assert_null(tsrv_header(&cdn, 0, "OpenAI-Organization"));
    assert_null(tsrv_header(&cdn, 0, "OpenAI-Project"));
    assert_string_equal(tsrv_header(&cdn, 0, "User-Agent"), "sanzaru/" SZ_VERSION);
}

static void slow_reply_cb(uv_timer_t *t)
{
    struct tsrv_conn *c = t->data;
    tsrv_reply_json(c, 200, NULL, "{\"created\":1}");
}

static void h_think(struct fx *fx, struct tsrv_conn *c, int idx)
{
    (void)fx;
    (void)idx;
    uv_timer_start(&c->timer, slow_reply_cb, 300, 0);
}

/* Image generation answers only once the image exists: its endpoints get their own,
 * longer first-byte limit; every other call keeps the client's. */
static void test_image_first_byte_limit(void **state)
{
    struct fx *fx = *state;
    char want[128];

    fx->handler = h_think;
    fx->opts.first_byte_timeout_ms = 100;
    fx->opts.max_retries = 0;
    oai_opts.image_first_byte_timeout_ms = 5000;
    make_clients(fx);
    fx_start(fx, new_req("POST", "/images/generations"), &fx->done[0]);
    fx_start(fx, new_req("POST", "/images/edits"), &fx->done[1]);
    fx_start(fx, new_req("POST", "/videos"), &fx->done[2]);
    fx_run_until(fx, &fx->done[0].calls);
    fx_run_until(fx, &fx->done[1].calls);
    fx_run_until(fx, &fx->done[2].calls);
    assert_int_equal(fx->done[0].err, 0);
    assert_int_equal(fx->done[1].err, 0);
    assert_int_equal(fx->done[2].err, SZ_ETIMEOUT);
    snprintf(want, sizeof(want), "No response from %s within 100 ms", fx->srv.url);
    assert_string_equal(fx->done[2].message, want);
}

/* The Azure flavour: the key in api-key (kept home like OpenAI's), no bearer token and
 * no organisation headers, Azure's name in sentences and its variable when missing. */
static void test_azure_flavour(void **state)
{
    struct fx *fx = *state;
    struct net_sink sink = {NULL, sink_data, fx};
    struct net_req *req;

    fx->handler = h_redirect_to_cdn;
    tsrv_start(&cdn, &fx->loop, h_cdn, fx);
    cdn_started = 1;
    oai_opts.flavour = OAI_AZURE;
    make_clients(fx);
    assert_int_equal(oai_client_flavour(oai), OAI_AZURE);
    assert_true(oai_client_has_key(oai));
    req = new_req("GET", "/videos/v/content");
    net_req_set_sink(req, &sink);
    fx_start(fx, req, &fx->done[0]);
    fx_run_until(fx, &fx->done[0].calls);
    assert_int_equal(fx->done[0].err, 0);
    assert_string_equal(tsrv_header(&fx->srv, 0, "api-key"), "sk-test-123");
    assert_null(tsrv_header(&fx->srv, 0, "Authorization"));
    assert_null(tsrv_header(&fx->srv, 0, "OpenAI-Organization"));
    assert_string_equal(tsrv_header(&fx->srv, 1, "api-key"), "sk-test-123");
    assert_null(tsrv_header(&cdn, 0, "api-key"));

    fx->handler = h_404;
    fx_start(fx, new_req("GET", "/videos/nope"), &fx->done[1]);
    fx_run_until(fx, &fx->done[1].calls);
    assert_string_equal(fx->done[1].message,
                        "Azure OpenAI API error 404 (not_found): Video not found");

    oai_client_free(oai);
    oai_opts.api_key = NULL;
    assert_int_equal(oai_client_new(fx->client, &oai_opts, &oai), 0);
    assert_false(oai_client_has_key(oai));
    fx_start(fx, new_req("GET", "/videos"), &fx->done[2]);
    fx_run_until(fx, &fx->done[2].calls);
    assert_int_equal(fx->done[2].err, SZ_ENOKEY);
    assert_string_equal(fx->done[2].message, "AZURE_OPENAI_API_KEY is not set");
    oai_opts.flavour = OAI_OPENAI;
}

static void test_request_api_misuse(void **state)
{
    struct fx *fx = *state;
    struct net_req *req = NULL;
    struct oai_client *bad = NULL;
    struct oai_options o = oai_opts;

    make_clients(fx);
    assert_int_equal(oai_req_new(oai, "GET", "videos", &req), SZ_EINVAL);
    assert_null(req);
    assert_int_equal(oai_req_new(oai, "GET", "/a b", &req), SZ_EINVAL);
    assert_int_equal(oai_req_new(oai, "GET", "/a#b", &req), SZ_EINVAL);
    assert_int_equal(oai_req_new(oai, "G T", "/a", &req), SZ_EINVAL);
    assert_null(req);
    o.api_key = "sk\r\nX-Injected: 1";
    assert_int_equal(oai_client_new(fx->client, &o, &bad), SZ_EINVAL);
    o = oai_opts;
    o.base_url = "ftp://example.com/v1";
    assert_int_equal(oai_client_new(fx->client, &o, &bad), SZ_EINVAL);
    o.base_url = "";
    assert_int_equal(oai_client_new(fx->client, &o, &bad), SZ_EINVAL);
    assert_null(bad);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_id),
        cmocka_unit_test(test_error_message_json),
        cmocka_unit_test(test_error_message_long_json_message),
        cmocka_unit_test(test_error_message_text),
        cmocka_unit_test(test_error_message_empty),
        cmocka_unit_test(test_strerror),
#define LOOP_TEST(t) cmocka_unit_test_setup_teardown(t, setup, teardown)
        LOOP_TEST(test_url_and_headers),
        LOOP_TEST(test_no_org_headers_when_unset),
        LOOP_TEST(test_500_three_times),
        LOOP_TEST(test_should_retry_false),
        LOOP_TEST(test_404_message),
        LOOP_TEST(test_sink_error_body_is_buffered),
        LOOP_TEST(test_invalid_json_2xx),
        LOOP_TEST(test_no_api_key),
        LOOP_TEST(test_cancel_sentences),
        LOOP_TEST(test_credentials_stay_home),
        LOOP_TEST(test_image_first_byte_limit),
        LOOP_TEST(test_azure_flavour),
        LOOP_TEST(test_request_api_misuse),
#undef LOOP_TEST
    };

    sz_log_set_level(SZ_LOG_ERROR);
    signal(SIGPIPE, SIG_IGN); /* the test server may write to a peer that went away */
    return cmocka_run_group_tests(tests, NULL, NULL);
}
