/* Unit tests of the openai and azure providers' pure half (src/video/openai_map.c): which
 * 2xx bodies an operation takes, and when a failure means that OpenAI's Videos API is
 * retired (docs/providers.md lists the cases) rather than that one video is gone. */
#include "fmacros.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "video/openai_map.h"

static void test_accepts(void **state)
{
    json_t *video = json_pack("{s:s, s:s}", "id", "video_1", "status", "queued");
    json_t *page = json_pack("{s:[], s:b}", "data", "has_more", 0);
    json_t *bad_page = json_pack("{s:s}", "data", "nope");
    json_t *array = json_array();
    (void)state;

    for (int op = VIDEO_OP_CREATE; op <= VIDEO_OP_DOWNLOAD; op++) {
        assert_false(voai_accepts((enum video_op)op, NULL));
        assert_false(voai_accepts((enum video_op)op, array));
    }
    assert_true(voai_accepts(VIDEO_OP_CREATE, video));
    assert_true(voai_accepts(VIDEO_OP_RETRIEVE, video));
    assert_true(voai_accepts(VIDEO_OP_LIST, page));
    assert_false(voai_accepts(VIDEO_OP_LIST, video)); /* no data array */
    assert_false(voai_accepts(VIDEO_OP_LIST, bad_page));
    /* the fields themselves are the tool's to check */
    assert_true(voai_accepts(VIDEO_OP_RETRIEVE, bad_page));
    json_decref(video);
    json_decref(page);
    json_decref(bad_page);
    json_decref(array);
}

static void test_at_openai(void **state)
{
    (void)state;
    assert_true(voai_at_openai("https://api.openai.com/v1"));
    assert_true(voai_at_openai("https://api.openai.com:443/v1"));
    assert_true(voai_at_openai("api.openai.com"));
    assert_false(voai_at_openai("https://api.openai.com.evil.example/v1"));
    assert_false(voai_at_openai("https://gateway.example.com/v1"));
    assert_false(voai_at_openai("http://127.0.0.1:8080/v1"));
}

static bool retired_with(long status, const char *code, enum video_op op, const char *model,
                         const char *base, const char *body)
{
    struct voai_failure f = {
        .openai_flavour = true,
        .http_error = true,
        .status = status,
        .api_code = code,
        .op = op,
        .model = model,
        .base_url = base,
        .body = body,
        .body_len = body != NULL ? strlen(body) : 0,
    };
    return voai_retired(&f);
}

static void test_retired(void **state)
{
    const char *gw = "https://gateway.example.com/v1", *oa = "https://api.openai.com/v1";
    const char *not_found = "{\"error\":{\"message\":\"Video not found\",\"code\":null}}";
    const char *invalid_url = "{\"error\":{\"message\":\"Invalid URL (GET /v1/videos/x)\"}}";
    struct voai_failure azure = {.openai_flavour = false,
                                 .http_error = true,
                                 .status = 410,
                                 .op = VIDEO_OP_CREATE,
                                 .model = "sora-2",
                                 .base_url = gw};
    struct voai_failure reset = {.openai_flavour = true,
                                 .http_error = false,
                                 .status = 0,
                                 .op = VIDEO_OP_CREATE,
                                 .model = "sora-2",
                                 .base_url = oa};
    (void)state;

    /* gone, whatever else */
    assert_true(retired_with(410, NULL, VIDEO_OP_RETRIEVE, "", gw, NULL));
    /* model_not_found: for a Sora model, or on an id */
    assert_true(retired_with(404, "model_not_found", VIDEO_OP_CREATE, "sora-2", gw, NULL));
    assert_false(retired_with(404, "model_not_found", VIDEO_OP_CREATE, "veo-3", gw, NULL));
    assert_true(retired_with(400, "model_not_found", VIDEO_OP_REMIX, "", gw, NULL));
    /* 404 for the collection, or at api.openai.com */
    assert_true(retired_with(404, NULL, VIDEO_OP_CREATE, "sora-2", gw, not_found));
    assert_true(retired_with(404, NULL, VIDEO_OP_LIST, "", gw, not_found));
    assert_true(retired_with(404, NULL, VIDEO_OP_RETRIEVE, "", oa, not_found));
    /* a 404 for one video at a gateway: gone only for a missing route */
    assert_false(retired_with(404, NULL, VIDEO_OP_RETRIEVE, "", gw, not_found));
    assert_true(retired_with(404, NULL, VIDEO_OP_DOWNLOAD, "", gw, invalid_url));
    assert_true(retired_with(404, NULL, VIDEO_OP_DELETE, "", gw, "<html>Not Found</html>"));
    assert_true(retired_with(404, NULL, VIDEO_OP_DELETE, "", gw, NULL));
    /* other statuses, Azure, and errors without a status are what they are */
    assert_false(retired_with(500, NULL, VIDEO_OP_CREATE, "sora-2", oa, NULL));
    assert_false(retired_with(429, NULL, VIDEO_OP_LIST, "", oa, NULL));
    assert_false(voai_retired(&azure));
    assert_false(voai_retired(&reset));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepts),
        cmocka_unit_test(test_at_openai),
        cmocka_unit_test(test_retired),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
