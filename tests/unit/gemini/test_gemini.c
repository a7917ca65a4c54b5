/* Unit tests of the Gemini layer (src/gemini/): ids, the sentences built from Google's two
 * error shapes, and, on a real loop against the scripted server of tests/unit/helpers/,
 * what gem_req_new adds to a net request: the URL under the base URL, the key in
 * x-goog-api-key and never in the URL, kept from other origins (a redirect, and a file URI
 * at another host), Gemini's sentences, and the missing-key path naming its variable. */
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
#include "gemini/client.h"
#include "helpers/netfx.h"
#include "helpers/tsrv.h"
#include "net/client.h"

/* ---- ids and sentences ------------------------------------------------------------- */

static void test_check_id(void **state)
{
    char buf[200];
    (void)state;
    assert_true(gem_check_id("v1_ChdXS0ZKYWNQWUY5WDVpd1BfYmd4YzZRRRIX"));
    assert_true(gem_check_id("a-b_c"));
    memset(buf, 'x', 128);
    buf[128] = '\0';
    assert_true(gem_check_id(buf));
    buf[128] = 'x';
    buf[129] = '\0';
    assert_false(gem_check_id(buf));
    assert_false(gem_check_id(""));
    assert_false(gem_check_id(NULL));
    assert_false(gem_check_id("v1_a/b"));
    assert_false(gem_check_id(".."));
    assert_false(gem_check_id("v1_%2e"));
    assert_false(gem_check_id("v1_a?key=x"));
    assert_false(gem_check_id("v1 a"));
    assert_false(gem_check_id("v1_\xc3\xa9"));
}

static void msg(long status, const char *body, char *out, size_t outlen, char *code)
{
    gem_error_message(status, body, body != NULL ? strlen(body) : 0, out, outlen, code, 64);
}

static void test_error_shapes(void **state)
{
    char out[1024], code[64];
    (void)state;

    /* google.rpc.Status, with RetryInfo among other details */
    msg(429,
        "{\"error\":{\"code\":429,\"message\":\"You exceeded your current quota.\",\"status\":"
        "\"RESOURCE_EXHAUSTED\",\"details\":[{\"@type\":\"type.googleapis.com/google.rpc."
        "QuotaFailure\",\"violations\":[]},{\"@type\":\"type.googleapis.com/google.rpc.RetryInfo"
        "\",\"retryDelay\":\"30s\"}]}}",
        out, sizeof(out), code);
    assert_string_equal(out, "Gemini API error 429 (RESOURCE_EXHAUSTED): You exceeded your "
                             "current quota. (retry after 30s)");
    assert_string_equal(code, "RESOURCE_EXHAUSTED");

    msg(400,
        "{\"error\":{\"code\":400,\"message\":\"API key not valid. Please pass a valid API "
        "key.\",\"status\":\"INVALID_ARGUMENT\",\"details\":[{\"@type\":\"type.googleapis.com/"
        "google.rpc.ErrorInfo\",\"reason\":\"API_KEY_INVALID\"}]}}",
        out, sizeof(out), code);
    assert_string_equal(out, "Gemini API error 400 (INVALID_ARGUMENT): API key not valid. Please "
                             "pass a valid API key.");

    /* the Interactions service's own shape */
    msg(400, "{\"error\":{\"message\":\"Bad \\n field\",\"code\":\"invalid_request\"}}", out,
        sizeof(out), code);
    assert_string_equal(out, "Gemini API error 400 (invalid_request): Bad field");
    assert_string_equal(code, "invalid_request");

    /* wrapped in an array, as some front ends send it */
    msg(503, "[{\"error\":{\"code\":503,\"message\":\"Overloaded\",\"status\":\"UNAVAILABLE\"}}]",
        out, sizeof(out), code);
    assert_string_equal(out, "Gemini API error 503 (UNAVAILABLE): Overloaded");

    /* a RetryInfo that is not a plain duration is left out */
    msg(429,
        "{\"error\":{\"code\":429,\"message\":\"m\",\"status\":\"RESOURCE_EXHAUSTED\",\"details\":"
        "[{\"@type\":\"type.googleapis.com/google.rpc.RetryInfo\",\"retryDelay\":\"30s; rm\"}]}}",
        out, sizeof(out), code);
    assert_string_equal(out, "Gemini API error 429 (RESOURCE_EXHAUSTED): m");

    /* not Google's JSON */
    msg(502, "<html><h1>502</h1>\r\n\x01</html>", out, sizeof(out), code);
    assert_string_equal(out, "Gemini API error 502: <html><h1>502</h1> </html>");
    assert_string_equal(code, "");
    msg(503, "", out, sizeof(out), code);
    assert_string_equal(out, "Gemini API error 503 with an empty response body");
    msg(500, NULL, out, sizeof(out), code);
    assert_string_equal(out, "Gemini API error 500 with an empty response body");
    msg(500, "{\"error\":{\"code\":500}}", out, sizeof(out), code);
    assert_string_equal(out, "Gemini API error 500: {\"error\":{\"code\":500}}");
    /* bounded by the buffer */
    msg(400, "{\"error\":{\"message\":\"a long message indeed\",\"code\":\"x\"}}", out, 20, code);
    assert_int_equal(strlen(out), 19);
}

/* ---- requests on a loop ------------------------------------------------------------- */

static struct gem_client *gem;
static struct gem_options gem_opts;
static struct tsrv cdn;
static int cdn_started;

static int setup(void **state)
{
    int rc = fx_setup(state);
    struct fx *fx = *state;
    static char base[128];

    snprintf(base, sizeof(base), "%s/", fx->base);
    gem_opts.base_url = base;
    gem_opts.api_key = "gk-123";
    gem_opts.key_name = NULL;
    return rc;
}

static int teardown(void **state)
{
    int rc;

    gem_client_free(gem);
    gem = NULL;
    if (cdn_started)
        tsrv_stop(&cdn);
    rc = fx_teardown(state);
    if (cdn_started) {
        tsrv_free(&cdn);
        cdn_started = 0;
    }
    return rc;
}

static void make(struct fx *fx)
{
    fx_make_client(fx);
    assert_int_equal(gem_client_new(fx->client, &gem_opts, &gem), 0);
}

static struct net_req *new_req(const char *method, const char *path)
{
    struct net_req *req = NULL;
    assert_int_equal(gem_req_new(gem, method, path, &req), 0);
    return req;
}

static void h_interaction(struct fx *fx, struct tsrv_conn *c, int idx)
{
    (void)fx;
    (void)idx;
    tsrv_reply_json(c, 200, NULL, "{\"id\":\"v1_a\",\"status\":\"queued\"}");
}

static void test_url_and_key(void **state)
{
    struct fx *fx = *state;

    fx->handler = h_interaction;
    make(fx);
    assert_true(gem_client_has_key(gem));
    assert_string_equal(gem_client_base_url(gem), fx->base); /* the '/' goes */
    fx_start(fx, new_req("GET", "/interactions/v1_a"), &fx->done[0]);
    fx_run_until(fx, &fx->done[0].calls);
    assert_int_equal(fx->done[0].err, 0);
    assert_string_equal(fx->srv.reqs[0].target, "/v1/interactions/v1_a");
    assert_string_equal(tsrv_header(&fx->srv, 0, "x-goog-api-key"), "gk-123");
    assert_null(strstr(fx->srv.reqs[0].target, "key"));
    assert_null(tsrv_header(&fx->srv, 0, "Authorization"));
}

static void h_error(struct fx *fx, struct tsrv_conn *c, int idx)
{
    (void)fx;
    (void)idx;
    tsrv_reply_json(c, 403, NULL,
                    "{\"error\":{\"code\":403,\"message\":\"The caller does not have permission\","
                    "\"status\":\"PERMISSION_DENIED\"}}");
}

static void test_error_and_no_key(void **state)
{
    struct fx *fx = *state;

    fx->handler = h_error;
    make(fx);
    fx_start(fx, new_req("POST", "/interactions"), &fx->done[0]);
    fx_run_until(fx, &fx->done[0].calls);
    assert_int_equal(fx->done[0].err, SZ_EUPSTREAM);
    assert_string_equal(fx->done[0].message,
                        "Gemini API error 403 (PERMISSION_DENIED): The caller does not have "
                        "permission");
    assert_string_equal(fx->done[0].code, "PERMISSION_DENIED");

    gem_client_free(gem);
    gem_opts.api_key = "";
    gem_opts.key_name = "GOOGLE_API_KEY";
    assert_int_equal(gem_client_new(fx->client, &gem_opts, &gem), 0);
    assert_false(gem_client_has_key(gem));
    fx_start(fx, new_req("GET", "/interactions/v1_a"), &fx->done[1]);
    fx_run_until(fx, &fx->done[1].calls);
    assert_int_equal(fx->done[1].err, SZ_ENOKEY);
    assert_string_equal(fx->done[1].message, "GOOGLE_API_KEY is not set");
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

static void h_cdn(struct tsrv_conn *c, int idx, void *data)
{
    (void)idx;
    (void)data;
    tsrv_reply(c, 200, "Content-Type: video/mp4\r\n", "MP4!", 4);
}

static void h_file_redirect(struct fx *fx, struct tsrv_conn *c, int idx)
{
    char loc[160];
    (void)fx;
    (void)idx;
    snprintf(loc, sizeof(loc), "Location: %s/gemini-media/f.mp4?Signature=s\r\n", cdn.url);
    tsrv_reply(c, 302, loc, "", 0);
}

/* A file URI at the API's origin gets the key, and its redirect to storage does not; a
 * URI at another origin never gets it. */
static void test_uri_key_stays_home(void **state)
{
    struct fx *fx = *state;
    struct net_sink sink = {NULL, sink_data, fx};
    struct net_req *req = NULL;
    char uri[256];

    fx->handler = h_file_redirect;
    tsrv_start(&cdn, &fx->loop, h_cdn, fx);
    cdn_started = 1;
    make(fx);
    snprintf(uri, sizeof(uri), "%s/files/abc:download?alt=media", fx->base);
    assert_int_equal(gem_req_new_url(gem, uri, &req), 0);
    net_req_set_sink(req, &sink);
    fx_start(fx, req, &fx->done[0]);
    fx_run_until(fx, &fx->done[0].calls);
    assert_int_equal(fx->done[0].err, 0);
    assert_int_equal(fx->sink_bytes, 4);
    assert_string_equal(tsrv_header(&fx->srv, 0, "x-goog-api-key"), "gk-123");
    assert_int_equal(cdn.nreqs, 1);
    assert_null(tsrv_header(&cdn, 0, "x-goog-api-key"));

    snprintf(uri, sizeof(uri), "%s/gemini-media/g.mp4?Signature=t", cdn.url);
    assert_int_equal(gem_req_new_url(gem, uri, &req), 0);
    net_req_set_sink(req, &sink);
    fx_start(fx, req, &fx->done[1]);
    fx_run_until(fx, &fx->done[1].calls);
    assert_int_equal(fx->done[1].err, 0);
    assert_int_equal(cdn.nreqs, 2);
    assert_null(tsrv_header(&cdn, 1, "x-goog-api-key"));

    /* not http(s), or not a URL */
    req = NULL;
    assert_int_equal(gem_req_new_url(gem, "gs://bucket/v.mp4", &req), SZ_EINVAL);
    assert_int_equal(gem_req_new_url(gem, "https://h/a b", &req), SZ_EINVAL);
    assert_int_equal(gem_req_new_url(gem, "", &req), SZ_EINVAL);
    assert_null(req);
}

static void test_misuse(void **state)
{
    struct fx *fx = *state;
    struct gem_options o = gem_opts;
    struct gem_client *bad = NULL;
    struct net_req *req = NULL;

    make(fx);
    assert_int_equal(gem_req_new(gem, "GET", "interactions", &req), SZ_EINVAL);
    assert_int_equal(gem_req_new(gem, "GET", "/a b", &req), SZ_EINVAL);
    assert_int_equal(gem_req_new(gem, "GET", "/a#b", &req), SZ_EINVAL);
    assert_null(req);
    o.api_key = "k\r\nX-Injected: 1";
    assert_int_equal(gem_client_new(fx->client, &o, &bad), SZ_EINVAL);
    o = gem_opts;
    o.base_url = "ftp://example.com/v1beta";
    assert_int_equal(gem_client_new(fx->client, &o, &bad), SZ_EINVAL);
    o.base_url = NULL;
    assert_int_equal(gem_client_new(fx->client, &o, &bad), SZ_EINVAL);
    assert_null(bad);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_id),    cmocka_unit_test(test_error_shapes),
#define LOOP_TEST(t) cmocka_unit_test_setup_teardown(t, setup, teardown)
        LOOP_TEST(test_url_and_key),        LOOP_TEST(test_error_and_no_key),
        LOOP_TEST(test_uri_key_stays_home), LOOP_TEST(test_misuse),
#undef LOOP_TEST
    };

    sz_log_set_level(SZ_LOG_ERROR);
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
