/* Unit tests of the gemini provider's pure half (src/video/gemini_map.c): what each model
 * makes and the refusals that name it, the create body, the image spliced into it, the cut
 * of large base64 strings out of a response (and what must not be cut), the mapping of an
 * Interaction onto the Video object for every status, and ISO 8601 times. */
#include "fmacros.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "core/base64.h"
#include "core/err.h"
#include "video/gemini_map.h"

/* ---- limits ------------------------------------------------------------------------ */

static void refused(const char *model, const char *size, const char *seconds, const char *want)
{
    char msg[512] = "";
    assert_int_equal(vgem_check(model, size, seconds, msg, sizeof(msg)), SZ_EINVAL);
    assert_string_equal(msg, want);
}

static void test_check(void **state)
{
    char msg[512];
    (void)state;

    assert_int_equal(vgem_check("gemini-omni-1.1-flash", NULL, NULL, msg, sizeof(msg)), 0);
    assert_int_equal(vgem_check("gemini-omni-1.1-flash", "1920x1080", "8", msg, sizeof(msg)), 0);
    assert_int_equal(vgem_check("gemini-omni-1.1-flash", "720x1280", "4", msg, sizeof(msg)), 0);
    assert_int_equal(vgem_check("gemini-omni-1.2-flash", "1080x1920", "12", msg, sizeof(msg)), 0);
    assert_int_equal(vgem_check("gemini-omni-flash-preview", "1280x720", "8", msg, sizeof(msg)), 0);
    /* a model we do not know: only what the API cannot express is refused */
    assert_int_equal(vgem_check("gemini-omni-2.0", "1920x1080", "60", msg, sizeof(msg)), 0);
    refused("gemini-omni-2.0", "1024x1792", NULL,
            "gemini-omni-2.0 cannot make size 1024x1792: Gemini Omni makes 16:9 and 9:16 videos "
            "(size 1280x720, 720x1280, 1920x1080 or 1080x1920)");
    refused("gemini-omni-1.1-flash", "1792x1024", NULL,
            "gemini-omni-1.1-flash cannot make size 1792x1024: Gemini Omni makes 16:9 and 9:16 "
            "videos (size 1280x720, 720x1280, 1920x1080 or 1080x1920)");
    refused("gemini-omni-1.1-flash", NULL, "12",
            "gemini-omni-1.1-flash cannot make 12 seconds: it makes 3 to 10 seconds");
    refused("gemini-omni-1.2-flash", NULL, "16",
            "gemini-omni-1.2-flash cannot make 16 seconds: it makes 3 to 15 seconds");
    refused("gemini-omni-flash-preview", "1080x1920", NULL,
            "gemini-omni-flash-preview cannot make size 1080x1920: it makes 720p only (size "
            "1280x720 or 720x1280)");
    refused("gemini-omni-1.1-flash", NULL, "8.5",
            "Invalid seconds '8.5': a whole number of seconds");
}

/* ---- the create body --------------------------------------------------------------- */

static void body_is(json_t *body, const char *want)
{
    json_t *w = json_loads(want, 0, NULL);
    char *got = json_dumps(body, JSON_SORT_KEYS | JSON_COMPACT);

    assert_non_null(w);
    if (!json_equal(body, w))
        fail_msg("body %s, want %s", got, want);
    free(got);
    json_decref(w);
    json_decref(body);
}

/* vgem_seconds is what create_video offers with Gemini configured: every value some
 * known model makes, and none that no known model makes. */
static void test_seconds_offered(void **state)
{
    static const char *const models[] = {"gemini-omni-1.1-flash", "gemini-omni-1.2-flash",
                                         "gemini-omni-flash-preview"};
    char msg[512], text[8];
    size_t n = 0;
    (void)state;

    for (long s = 1; s <= 20; s++) {
        bool some = false;
        snprintf(text, sizeof(text), "%ld", s);
        for (size_t m = 0; m < sizeof(models) / sizeof(models[0]); m++)
            some = some || vgem_check(models[m], NULL, text, msg, sizeof(msg)) == 0;
        if (some) {
            assert_non_null(vgem_seconds[n]);
            assert_string_equal(vgem_seconds[n], text); /* ascending, no gap */
            n++;
        }
    }
    assert_null(vgem_seconds[n]);
    assert_int_equal(n, 13); /* 3 to 15 */
}

static void test_request(void **state)
{
    const char *text;
    char *spliced;
    size_t len;
    json_t *b;
    (void)state;

    body_is(vgem_request("gemini-omni-1.1-flash", "a cat", NULL, NULL, NULL, NULL),
            "{\"model\":\"gemini-omni-1.1-flash\",\"input\":\"a cat\",\"background\":true}");
    body_is(vgem_request("m", "a cat", NULL, NULL, "", ""),
            "{\"model\":\"m\",\"input\":\"a cat\",\"background\":true}");
    body_is(vgem_request("m", "p", NULL, "v1_prev", "1080x1920", "8"),
            "{\"model\":\"m\",\"input\":\"p\",\"background\":true,\"previous_interaction_id\":"
            "\"v1_prev\",\"response_format\":{\"type\":\"video\",\"aspect_ratio\":\"9:16\","
            "\"resolution\":\"1080p\",\"duration\":\"8s\"}}");
    body_is(vgem_request("m", "p", NULL, NULL, NULL, "4"),
            "{\"model\":\"m\",\"input\":\"p\",\"background\":true,\"response_format\":{\"type\":"
            "\"video\",\"duration\":\"4s\"}}");
    body_is(vgem_request("m", "p", "image/png", NULL, "1280x720", NULL),
            "{\"model\":\"m\",\"input\":[{\"type\":\"text\",\"text\":\"p\"},{\"type\":\"image\","
            "\"mime_type\":\"image/png\",\"data\":\"" VGEM_IMAGE_MARKER "\"}],\"background\":true,"
            "\"response_format\":{\"type\":\"video\",\"aspect_ratio\":\"16:9\",\"resolution\":"
            "\"720p\"}}");

    text = "{\"input\":[{\"data\":\"" VGEM_IMAGE_MARKER "\"}],\"x\":1}";
    spliced = vgem_splice_image(text, strlen(text), "QUJD", 4, &len);
    assert_non_null(spliced);
    assert_string_equal(spliced, "{\"input\":[{\"data\":\"QUJD\"}],\"x\":1}");
    assert_int_equal(len, strlen(spliced));
    b = json_loads(spliced, 0, NULL);
    assert_non_null(b);
    json_decref(b);
    free(spliced);
    assert_null(vgem_splice_image("{}", 2, "QUJD", 4, &len));
}

/* ---- cutting large strings out ----------------------------------------------------- */

/* len bytes of base64 of a pattern, with "\/" in place of every '/' when escape. */
static char *b64_of(size_t n, bool escape, uint8_t **praw)
{
    uint8_t *raw = malloc(n);
    char *b64 = NULL, *out;
    size_t blen, o = 0;

    for (size_t i = 0; i < n; i++)
        raw[i] = (uint8_t)(i * 7 + 0xfc); /* plenty of '/' and '+' */
    assert_int_equal(sz_b64_encode_alloc(raw, n, &b64, &blen), 0);
    out = malloc(blen * 2 + 1);
    for (size_t i = 0; i < blen; i++) {
        if (escape && b64[i] == '/')
            out[o++] = '\\';
        out[o++] = b64[i];
    }
    out[o] = '\0';
    free(b64);
    *praw = raw;
    return out;
}

static void test_cut_media(void **state)
{
    uint8_t *raw1, *raw2;
    char *big1 = b64_of(100000, false, &raw1);
    char *big2 = b64_of(70000, true, &raw2);
    size_t n = 2 * strlen(big1) + strlen(big2) + 1024;
    char *text = malloc(n);
    struct vgem_media media;
    json_t *doc;
    int len;
    (void)state;

    len = snprintf(text, n,
                   "{\"note\":\"\\\"data\\\": \\\"not a key\\\"\",\"small\":{\"data\":\"QUJD\"},"
                   "\"steps\":[{\"content\":[{\"type\":\"video\",\"data\" : \"%s\"},"
                   "{\"data\":{\"inner\":\"x\"}},{\"type\":\"image\",\"data\":\"%s\"}]}],"
                   "\"other\":\"%s\"}",
                   big1, big2, big1);
    assert_int_equal(vgem_cut_media(text, (size_t)len, true, &media), 0);
    assert_int_equal(media.count, 2);
    assert_int_equal(media.item[0].len, 100000);
    assert_memory_equal(media.item[0].bytes, raw1, 100000);
    assert_false(media.item[0].corrupt);
    assert_int_equal(media.item[1].len, 70000); /* the "\/" escapes were undone */
    assert_memory_equal(media.item[1].bytes, raw2, 70000);
    doc = json_loadb(text, (size_t)len, 0, NULL);
    assert_non_null(doc);
    assert_string_equal(
        json_string_value(json_object_get(
            json_array_get(
                json_object_get(json_array_get(json_object_get(doc, "steps"), 0), "content"), 0),
            "data")),
        "@sanzaru:media:0");
    /* small data strings, strings that only mention "data", and other keys' strings stay */
    assert_string_equal(json_string_value(json_object_get(json_object_get(doc, "small"), "data")),
                        "QUJD");
    assert_string_equal(json_string_value(json_object_get(doc, "note")), "\"data\": \"not a key\"");
    assert_int_equal(strlen(json_string_value(json_object_get(doc, "other"))), strlen(big1));
    json_decref(doc);
    vgem_media_free(&media);

    /* without decoding: markers only */
    len = snprintf(text, n, "{\"data\":\"%s\"}", big1);
    assert_int_equal(vgem_cut_media(text, (size_t)len, false, &media), 0);
    assert_int_equal(media.count, 1);
    assert_null(media.item[0].bytes);
    vgem_media_free(&media);

    /* not base64: cut, marked corrupt; another escape: left for jansson */
    memset(big1, '!', 70000);
    big1[70000] = '\0';
    len = snprintf(text, n, "{\"data\":\"%s\",\"more\":{\"data\":\"\\u0041%s\"}}", big1, big2);
    assert_int_equal(vgem_cut_media(text, (size_t)len, true, &media), 0);
    assert_int_equal(media.count, 1);
    assert_true(media.item[0].corrupt);
    doc = json_loadb(text, (size_t)len, 0, NULL);
    assert_non_null(doc);
    assert_int_equal(json_string_value(json_object_get(json_object_get(doc, "more"), "data"))[0],
                     'A');
    json_decref(doc);
    vgem_media_free(&media);
    free(text);
    free(big1);
    free(big2);
    free(raw1);
    free(raw2);
}

/* ---- the Interaction onto the Video object ----------------------------------------- */

static json_t *map(const char *it_text, struct vgem_output *out, int want_rc, char *msg)
{
    json_t *it = json_loads(it_text, 0, NULL);
    json_t *video = NULL;
    char buf[512] = "";

    assert_non_null(it);
    assert_int_equal(vgem_map(it, NULL, &video, out, buf, sizeof(buf)), want_rc);
    if (msg != NULL)
        strcpy(msg, buf);
    json_decref(it);
    return video;
}

static void field_is(const json_t *v, const char *key, const char *want_json)
{
    json_t *w = json_loads(want_json, JSON_DECODE_ANY, NULL);
    json_t *got = json_object_get(v, key);
    char *g = json_dumps(got, JSON_ENCODE_ANY | JSON_COMPACT);
    if (!json_equal(got, w))
        fail_msg("%s: %s, want %s", key, g != NULL ? g : "(absent)", want_json);
    free(g);
    json_decref(w);
}

static void test_map_statuses(void **state)
{
    struct vgem_output out;
    char msg[512];
    json_t *v;
    (void)state;

    v = map("{\"id\":\"v1_a\",\"status\":\"queued\",\"model\":\"gemini-omni-1.1-flash\","
            "\"created\":\"2026-11-02T10:00:00Z\",\"updated\":\"2026-11-02T10:00:00Z\","
            "\"response_format\":{\"type\":\"video\",\"aspect_ratio\":\"9:16\",\"resolution\":"
            "\"1080p\",\"duration\":\"8s\"},\"steps\":[]}",
            NULL, 0, NULL);
    field_is(v, "id", "\"v1_a\"");
    field_is(v, "object", "\"video\"");
    field_is(v, "model", "\"gemini-omni-1.1-flash\"");
    field_is(v, "status", "\"queued\"");
    field_is(v, "progress", "0");
    field_is(v, "created_at", "1793613600");
    field_is(v, "completed_at", "null");
    field_is(v, "expires_at", "null");
    field_is(v, "prompt", "null");
    field_is(v, "size", "\"1080x1920\"");
    field_is(v, "seconds", "\"8\"");
    field_is(v, "remixed_from_video_id", "null");
    field_is(v, "error", "null");
    json_decref(v);

    v = map("{\"id\":\"v1_b\",\"status\":\"in_progress\",\"previous_interaction_id\":\"v1_a\","
            "\"response_format\":[{\"type\":\"text\"},{\"type\":\"video\",\"aspect_ratio\":"
            "\"16:9\"}]}",
            NULL, 0, NULL);
    field_is(v, "status", "\"in_progress\"");
    field_is(v, "progress", "50");
    field_is(v, "size", "\"1280x720\""); /* the API's default resolution */
    field_is(v, "seconds", "null");
    field_is(v, "remixed_from_video_id", "\"v1_a\"");
    field_is(v, "model", "null");
    json_decref(v);

    memset(&out, 0, sizeof(out));
    v = map("{\"id\":\"v1_c\",\"status\":\"completed\",\"created\":\"2026-11-02T10:00:00Z\","
            "\"updated\":\"2026-11-02T10:01:30.250+01:00\",\"response_format\":{\"aspect_ratio\":"
            "\"16:9\",\"resolution\":\"4k\"},\"steps\":[{\"type\":\"model_output\",\"content\":"
            "[{\"type\":\"video\",\"mime_type\":\"video/mp4\",\"uri\":\"https://old\"}]},"
            "{\"type\":\"user_input\",\"content\":[]},{\"type\":\"model_output\",\"content\":"
            "[{\"type\":\"text\",\"text\":\"here\"},{\"type\":\"video\",\"mime_type\":"
            "\"video/mp4\",\"data\":\"AAAAGGZ0eXA=\"},{\"type\":\"text\",\"text\":\"bye\"}]}]}",
            &out, 0, NULL);
    field_is(v, "status", "\"completed\"");
    field_is(v, "progress", "100");
    field_is(v, "completed_at", "1793610090");
    field_is(v, "size", "\"3840x2160\"");
    assert_string_equal(out.mime, "video/mp4");
    assert_null(out.uri);
    assert_int_equal(out.len, 8);
    assert_memory_equal(out.bytes,
                        "\0\0\0\x18"
                        "ftyp",
                        8);
    vgem_output_free(&out);
    json_decref(v);

    v = map("{\"id\":\"v1_d\",\"status\":\"completed\",\"steps\":[{\"type\":\"model_output\","
            "\"content\":[{\"type\":\"video\",\"uri\":\"https://h/f:download?alt=media\"}]}]}",
            &out, 0, NULL);
    assert_string_equal(out.uri, "https://h/f:download?alt=media");
    assert_string_equal(out.mime, "");
    vgem_output_free(&out);
    json_decref(v);

    v = map("{\"id\":\"v1_e\",\"status\":\"completed\",\"steps\":[{\"type\":\"model_output\","
            "\"content\":[{\"type\":\"video\",\"data\":\"@@@\"}]}]}",
            &out, 0, NULL);
    assert_true(out.corrupt);
    vgem_output_free(&out);
    json_decref(v);

    v = map("{\"id\":\"v1_f\",\"status\":\"completed\",\"steps\":[{\"type\":\"model_output\","
            "\"content\":[{\"type\":\"text\",\"text\":\"sorry\"}]}]}",
            NULL, 0, NULL);
    field_is(v, "status", "\"failed\"");
    field_is(v, "error",
             "{\"code\":\"no_video\",\"message\":\"Gemini completed the interaction without a "
             "video\"}");
    json_decref(v);

    (void)msg;
}

static void test_map_failures(void **state)
{
    char msg[512];
    json_t *v;
    (void)state;

    v = map("{\"id\":\"v1_a\",\"status\":\"failed\",\"errors\":[{\"code\":\"internal_error\","
            "\"message\":\"Boom\"}],\"steps\":[{\"type\":\"model_output\",\"error\":{\"code\":13,"
            "\"message\":\"Other\"}}]}",
            NULL, 0, NULL);
    field_is(v, "status", "\"failed\"");
    field_is(v, "progress", "100");
    field_is(v, "error", "{\"code\":\"internal_error\",\"message\":\"Boom\"}");
    json_decref(v);

    /* no errors[]: the step's google.rpc code by name */
    v = map("{\"id\":\"v1_a\",\"status\":\"failed\",\"steps\":[{\"type\":\"model_output\","
            "\"error\":{\"code\":4,\"message\":\"Too slow\"}}]}",
            NULL, 0, NULL);
    field_is(v, "error", "{\"code\":\"DEADLINE_EXCEEDED\",\"message\":\"Too slow\"}");
    json_decref(v);

    v = map("{\"id\":\"v1_a\",\"status\":\"failed\",\"errors\":[{\"code\":\"safety\",\"message\":"
            "\"Blocked.\"}]}",
            NULL, 0, NULL);
    field_is(v, "error",
             "{\"code\":\"safety\",\"message\":\"Blocked by Gemini's safety filters: Blocked.\"}");
    json_decref(v);

    v = map("{\"id\":\"v1_a\",\"status\":\"failed\",\"steps\":[{\"type\":\"model_output\","
            "\"error\":{\"code\":3,\"message\":\"The output was blocked by Safety filters.\"}}]}",
            NULL, 0, NULL);
    field_is(v, "error",
             "{\"code\":\"safety\",\"message\":\"Blocked by Gemini's safety filters: The output "
             "was blocked by Safety filters.\"}");
    json_decref(v);

    v = map("{\"id\":\"v1_a\",\"status\":\"failed\"}", NULL, 0, NULL);
    field_is(v, "error", "{\"code\":\"failed\",\"message\":\"Gemini reported a failure\"}");
    json_decref(v);

    v = map("{\"id\":\"v1_a\",\"status\":\"incomplete\",\"errors\":[{\"code\":\"incomplete\","
            "\"message\":\"Ran out.\"}]}",
            NULL, 0, NULL);
    field_is(v, "status", "\"failed\"");
    field_is(v, "error",
             "{\"code\":\"incomplete\",\"message\":\"Gemini ended the interaction incomplete, "
             "without a video: Ran out.\"}");
    json_decref(v);

    v = map("{\"id\":\"v1_a\",\"status\":\"cancelled\"}", NULL, 0, NULL);
    field_is(v, "error",
             "{\"code\":\"cancelled\",\"message\":\"The Gemini interaction was cancelled before "
             "the video was made\"}");
    json_decref(v);

    v = map("{\"id\":\"v1_a\",\"status\":\"requires_action\"}", NULL, 0, NULL);
    field_is(v, "status", "\"failed\"");
    field_is(v, "error",
             "{\"code\":\"unexpected_status\",\"message\":\"Gemini stopped the interaction with "
             "status requires_action, which a video job does not expect\"}");
    json_decref(v);

    assert_null(map("{\"status\":\"queued\"}", NULL, SZ_EPROTO, msg));
    assert_string_equal(msg, "Gemini returned something that is not an interaction (no id)");
    assert_null(map("{\"id\":\"../x\",\"status\":\"queued\"}", NULL, SZ_EPROTO, msg));
    assert_string_equal(msg,
                        "Gemini returned something that is not an interaction (an id that is not "
                        "one)");
    assert_null(map("{\"id\":\"v1_a\"}", NULL, SZ_EPROTO, msg));
    assert_null(map("[1]", NULL, SZ_EPROTO, msg));
}

static void test_merge_and_times(void **state)
{
    json_t *v =
        json_pack("{s:s, s:n, s:s, s:n}", "id", "v1_a", "prompt", "size", "1280x720", "seconds");
    json_t *known =
        json_pack("{s:s, s:s, s:s}", "prompt", "a cat", "size", "720x1280", "seconds", "8");
    int64_t t;
    (void)state;

    vgem_merge_known(v, known);
    field_is(v, "prompt", "\"a cat\"");
    field_is(v, "size", "\"1280x720\""); /* what the API says wins */
    field_is(v, "seconds", "\"8\"");
    vgem_merge_known(v, NULL);
    json_decref(v);
    json_decref(known);

    assert_int_equal(vgem_parse_time("1970-01-01T00:00:00Z", &t), 0);
    assert_int_equal(t, 0);
    assert_int_equal(vgem_parse_time("2026-11-02T10:00:00.123456Z", &t), 0);
    assert_int_equal(t, 1793613600);
    assert_int_equal(vgem_parse_time("2026-11-02T11:30:00+01:30", &t), 0);
    assert_int_equal(t, 1793613600);
    assert_int_equal(vgem_parse_time("2026-11-02T08:00:00-02:00", &t), 0);
    assert_int_equal(t, 1793613600);
    assert_int_equal(vgem_parse_time("2026-11-02 10:00:00", &t), SZ_EINVAL);
    assert_int_equal(vgem_parse_time("2026-11-02T10:00:00", &t), SZ_EINVAL);
    assert_int_equal(vgem_parse_time("2026-13-02T10:00:00Z", &t), SZ_EINVAL);
    assert_int_equal(vgem_parse_time("2026-11-02T10:00:00Zjunk", &t), SZ_EINVAL);
    assert_int_equal(vgem_parse_time(NULL, &t), SZ_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check),           cmocka_unit_test(test_seconds_offered),
        cmocka_unit_test(test_request),         cmocka_unit_test(test_cut_media),
        cmocka_unit_test(test_map_statuses),    cmocka_unit_test(test_map_failures),
        cmocka_unit_test(test_merge_and_times),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
