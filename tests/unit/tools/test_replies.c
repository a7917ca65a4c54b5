/* Unit tests of the tools' readings of upstream replies (src/tools/replies.c):
 * list_videos' summary of a page and the result shapes it must fit, get_image_status'
 * job, download_image's walk of a Response (every sentence it can say), the Images
 * API's data[0].b64_json and usage, and the first bytes of a base64 image against
 * output_format. */
#include "fmacros.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "core/err.h"
#include "mcp/mcp_int.h"
#include "tools/replies.h"

static json_t *parse(const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text, 0, &e);
    if (j == NULL)
        fail_msg("bad test JSON: %s", e.text);
    return j;
}

static void assert_json(const json_t *got, const char *want_text)
{
    json_t *want = json_loads(want_text, JSON_DECODE_ANY, NULL);
    char *g = json_dumps(got, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY);
    char *w = json_dumps(want, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY);
    assert_string_equal(g, w);
    free(g);
    free(w);
    json_decref(want);
}

static void test_video_summary(void **state)
{
    char msg[256];
    json_t *page =
        parse("{\"data\":[{\"id\":\"video_1\",\"object\":\"video\",\"status\":\"queued\","
              "\"created_at\":1,\"seconds\":\"4\",\"size\":\"720x1280\",\"model\":"
              "\"sora-2\",\"progress\":0,\"prompt\":\"not in the summary\"},{\"id\":"
              "\"video_2\"}],\"has_more\":true,\"last_id\":\"video_2\"}");
    json_t *no_last = parse("{\"data\":[{\"id\":\"video_9\"}]}");
    json_t *empty = parse("{\"data\":[]}");
    json_t *s;
    (void)state;

    s = reply_video_summary(page);
    assert_json(s, "{\"data\":[{\"id\":\"video_1\",\"status\":\"queued\",\"created_at\":1,"
                   "\"seconds\":\"4\",\"size\":\"720x1280\",\"model\":\"sora-2\",\"progress\":0},"
                   "{\"id\":\"video_2\",\"status\":null,\"created_at\":null,\"seconds\":null,"
                   "\"size\":null,\"model\":null,\"progress\":null}],\"has_more\":true,"
                   "\"last\":\"video_2\"}");
    assert_int_equal(mcp_field_check(&reply_list_result, s, msg, sizeof msg), 0);
    json_decref(s);
    /* no last_id: the last item's id; nothing at all: null */
    s = reply_video_summary(no_last);
    assert_json(json_object_get(s, "last"), "\"video_9\"");
    json_decref(s);
    s = reply_video_summary(empty);
    assert_true(json_is_null(json_object_get(s, "last")));
    assert_false(json_is_true(json_object_get(s, "has_more")));
    json_decref(s);
    /* a malformed item fails the shape, naming the field */
    json_array_append_new(json_object_get(empty, "data"), parse("{\"id\":5}"));
    s = reply_video_summary(empty);
    assert_int_equal(mcp_field_check(&reply_list_result, s, msg, sizeof msg), SZ_EINVAL);
    assert_non_null(strstr(msg, "data[0].id"));
    json_decref(s);
    json_decref(page);
    json_decref(no_last);
    json_decref(empty);
}

static void test_video_result_shape(void **state)
{
    char msg[256];
    json_t *ok = parse("{\"id\":\"video_1\",\"status\":\"completed\",\"progress\":100,"
                       "\"brand_new_field\":[1,2]}");
    json_t *bad = parse("{\"id\":5,\"status\":[]}");
    json_t *deleted = parse("{\"id\":\"video_1\",\"object\":\"video.deleted\",\"deleted\":true}");
    (void)state;

    assert_int_equal(mcp_field_check(&reply_video_result, ok, msg, sizeof msg), 0);
    assert_int_equal(mcp_field_check(&reply_video_result, bad, msg, sizeof msg), SZ_EINVAL);
    assert_non_null(strstr(msg, "'id'"));
    assert_int_equal(mcp_field_check(&reply_deleted_result, deleted, msg, sizeof msg), 0);
    assert_int_equal(mcp_field_check(&reply_deleted_result, ok, msg, sizeof msg), SZ_EINVAL);
    json_decref(ok);
    json_decref(bad);
    json_decref(deleted);
}

static void test_response_job(void **state)
{
    char msg[256];
    json_t *r = parse("{\"id\":\"resp_1\",\"status\":\"queued\",\"created_at\":17}");
    json_t *odd = parse("{\"id\":7,\"status\":null,\"created_at\":\"yesterday\"}");
    json_t *j;
    (void)state;

    j = reply_response_job(r);
    assert_json(j, "{\"id\":\"resp_1\",\"status\":\"queued\",\"created_at\":17}");
    assert_int_equal(mcp_field_check(&reply_job_result, j, msg, sizeof msg), 0);
    json_decref(j);
    j = reply_response_job(odd);
    assert_json(j, "{\"id\":\"\",\"status\":\"unknown\",\"created_at\":null}");
    assert_int_equal(mcp_field_check(&reply_job_result, j, msg, sizeof msg), 0);
    json_decref(j);
    j = reply_response_job(NULL);
    assert_int_equal(mcp_field_check(&reply_job_result, j, msg, sizeof msg), 0);
    json_decref(j);
    json_decref(r);
    json_decref(odd);
}

static void response_says(const char *text, const char *want)
{
    json_t *r = parse(text);
    const char *b64 = NULL;
    size_t len = 0;
    char msg[512] = "";

    assert_int_equal(reply_response_image(r, "resp_1", &b64, &len, msg, sizeof msg), SZ_EPROTO);
    assert_string_equal(msg, want);
    json_decref(r);
}

static void test_response_image(void **state)
{
    json_t *r = parse("{\"status\":\"completed\",\"output\":[{\"type\":\"reasoning\"},{\"type\":"
                      "\"image_generation_call\",\"status\":\"completed\",\"result\":\"iVBORw==\"},"
                      "{\"type\":\"image_generation_call\",\"status\":\"completed\",\"result\":"
                      "\"second\"}]}");
    const char *b64 = NULL;
    size_t len = 0;
    char msg[256];
    (void)state;

    /* the first image call */
    assert_int_equal(reply_response_image(r, "resp_1", &b64, &len, msg, sizeof msg), 0);
    assert_int_equal(len, 8);
    assert_memory_equal(b64, "iVBORw==", 8);
    json_decref(r);

    response_says("{\"status\":\"in_progress\",\"output\":[]}",
                  "Image generation not completed (status: in_progress)");
    response_says("{\"status\":\"failed\",\"error\":{\"message\":\"boom\"}}",
                  "No image generation found in response resp_1 (response status: failed: boom)");
    response_says("{\"status\":\"incomplete\",\"incomplete_details\":{\"reason\":\"max_tokens\"}}",
                  "No image generation found in response resp_1 (response status: incomplete: "
                  "max_tokens)");
    response_says("{\"status\":\"completed\",\"output\":[{\"type\":\"message\"}]}",
                  "No image generation found in response resp_1");
    response_says("[]", "No image generation found in response resp_1");
    response_says("{\"output\":[{\"type\":\"image_generation_call\",\"status\":\"failed\","
                  "\"error\":\"policy\"}]}",
                  "Image generation not completed (status: failed): policy");
    response_says("{\"output\":[{\"type\":\"image_generation_call\"}]}",
                  "Image generation not completed (status: unknown)");
    response_says("{\"output\":[{\"type\":\"image_generation_call\",\"status\":\"completed\","
                  "\"result\":\"\"}]}",
                  "Image generation completed but response resp_1 carries no image data");
    response_says("{\"output\":[{\"type\":\"image_generation_call\",\"status\":\"completed\","
                  "\"result\":42}]}",
                  "Image generation completed but response resp_1 carries no image data");
}

static void test_images_image(void **state)
{
    json_t *body = parse("{\"created\":1,\"data\":[{\"b64_json\":\"QUJD\"}],\"usage\":{"
                         "\"total_tokens\":3}}");
    json_t *no_usage = parse("{\"data\":[{\"b64_json\":\"QUJD\"}],\"usage\":\"lots\"}");
    json_t *none = parse("{\"data\":[{\"url\":\"https://x\"}]}");
    json_t *usage = NULL;
    const char *b64 = NULL;
    size_t len = 0;
    char msg[128];
    (void)state;

    assert_int_equal(reply_images_image(body, &b64, &len, &usage, msg, sizeof msg), 0);
    assert_int_equal(len, 4);
    assert_memory_equal(b64, "QUJD", 4);
    assert_ptr_equal(usage, json_object_get(body, "usage"));
    assert_int_equal(reply_images_image(no_usage, &b64, &len, &usage, msg, sizeof msg), 0);
    assert_null(usage);
    assert_int_equal(reply_images_image(none, &b64, &len, &usage, msg, sizeof msg), SZ_EPROTO);
    assert_string_equal(msg, "OpenAI returned no image data");
    assert_int_equal(reply_images_image(NULL, &b64, &len, &usage, msg, sizeof msg), SZ_EPROTO);
    json_decref(body);
    json_decref(no_usage);
    json_decref(none);
}

static void test_image_head(void **state)
{
    /* base64 of a PNG signature + IHDR start, of a JPEG's first bytes, of HTML */
    const char *png = "iVBORw0KGgoAAAANSUhEUgAAAEAAAAAw";
    const char *jpeg = "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBD";
    const char *html = "PCFET0NUWVBFIGh0bWw+PGh0bWw+PGhl";
    char msg[256];
    (void)state;

    assert_int_equal(reply_image_head(STORE_FMT_PNG, png, strlen(png), msg, sizeof msg), 0);
    assert_int_equal(reply_image_head(STORE_FMT_NONE, jpeg, strlen(jpeg), msg, sizeof msg), 0);
    assert_int_equal(reply_image_head(STORE_FMT_PNG, jpeg, strlen(jpeg), msg, sizeof msg),
                     SZ_EUNSUPPORTED);
    assert_non_null(strstr(msg, "expected a PNG image, got data starting with"));
    assert_int_equal(reply_image_head(STORE_FMT_PNG, html, strlen(html), msg, sizeof msg),
                     SZ_ECORRUPT);
    /* too short, or not base64: left to the decode job */
    assert_int_equal(reply_image_head(STORE_FMT_PNG, "iVB", 3, msg, sizeof msg), 0);
    assert_int_equal(reply_image_head(STORE_FMT_PNG, "@@@@@@@@", 8, msg, sizeof msg), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_video_summary), cmocka_unit_test(test_video_result_shape),
        cmocka_unit_test(test_response_job),  cmocka_unit_test(test_response_image),
        cmocka_unit_test(test_images_image),  cmocka_unit_test(test_image_head),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
