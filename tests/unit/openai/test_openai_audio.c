/* Unit tests of OpenAI's audio endpoints (src/openai/audio.c): what each
 * request puts on the wire (against the scripted server of
 * tests/unit/helpers/: path, headers, multipart parts with the file streamed
 * from an fd, JSON bodies with only the fields given), the chat body with its
 * base64 spliced in whole, and the readers of the replies. */
#include "fmacros.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <uv.h>

#include "core/base64.h"
#include "core/err.h"
#include "helpers/netfx.h"
#include "helpers/tsrv.h"
#include "net/client.h"
#include "openai/audio.h"
#include "openai/client.h"

static struct oai_client *oai;

static int setup(void **state)
{
    return fx_setup(state);
}

static int teardown(void **state)
{
    oai_client_free(oai);
    oai = NULL;
    return fx_teardown(state);
}

static void make_clients(struct fx *fx)
{
    struct oai_options o = {.base_url = fx->base, .api_key = "sk-audio"};

    fx_make_client(fx);
    assert_int_equal(oai_client_new(fx->client, &o, &oai), 0);
}

static void h_text(struct fx *fx, struct tsrv_conn *c, int idx)
{
    static const char body[] = "Hello from the recording.\n";
    (void)fx;
    (void)idx;
    tsrv_reply(c, 200, "Content-Type: text/plain; charset=utf-8\r\n", body, sizeof body - 1);
}

static int tmp_with(const void *bytes, size_t len)
{
    char path[] = "/tmp/sz-oai-audio-XXXXXX";
    int fd = mkstemp(path);

    assert_true(fd >= 0);
    unlink(path);
    assert_int_equal(pwrite(fd, bytes, len, 0), (ssize_t)len);
    return fd;
}

static void test_transcription_request(void **state)
{
    struct fx *fx = *state;
    static const char audio[] = "ID3\x04\x00\x00\x00\x00\x00\x00 pretend mp3 bytes";
    static const char *const grans[] = {"word", "segment"};
    struct oai_transcription t = {
        .model = "gpt-4o-mini-transcribe",
        .response_format = "text",
        .prompt = "Names: Sanzaru.",
        .timestamp_granularities = grans,
        .ngranularities = 2,
        .filename = "talks/intro.mp3",
        .mime_type = "audio/mpeg",
    };
    struct tsrv_part parts[8];
    struct net_req *req;
    const char *ctype;
    json_t *out = NULL;
    char err[256];
    int n;

    fx->handler = h_text;
    make_clients(fx);
    t.fd = tmp_with(audio, sizeof audio - 1);
    t.size = sizeof audio - 1;
    assert_int_equal(oai_transcription_req_new(oai, &t, &req), 0);
    fx_start(fx, req, &fx->done[0]);
    fx_run_until(fx, &fx->done[0].calls);
    close(t.fd);
    assert_int_equal(fx->done[0].err, 0);
    assert_string_equal(fx->srv.reqs[0].method, "POST");
    assert_string_equal(fx->srv.reqs[0].target, "/v1/audio/transcriptions");
    assert_string_equal(tsrv_header(&fx->srv, 0, "Authorization"), "Bearer sk-audio");
    ctype = tsrv_header(&fx->srv, 0, "Content-Type");
    assert_non_null(strstr(ctype, "multipart/form-data"));
    n = tsrv_parse_multipart(ctype, fx->srv.reqs[0].body, fx->srv.reqs[0].body_len, parts, 8);
    assert_int_equal(n, 6);
    assert_string_equal(parts[0].name, "file");
    assert_string_equal(parts[0].filename, "talks/intro.mp3");
    assert_string_equal(parts[0].ctype, "audio/mpeg");
    assert_int_equal(parts[0].len, sizeof audio - 1);
    assert_memory_equal(parts[0].data, audio, sizeof audio - 1);
    assert_string_equal(parts[1].name, "model");
    assert_int_equal(parts[1].len, strlen("gpt-4o-mini-transcribe"));
    assert_string_equal(parts[2].name, "response_format");
    assert_string_equal(parts[3].name, "prompt");
    assert_memory_equal(parts[3].data, "Names: Sanzaru.", 15);
    assert_string_equal(parts[4].name, "timestamp_granularities[]");
    assert_memory_equal(parts[4].data, "word", 4);
    assert_string_equal(parts[5].name, "timestamp_granularities[]");
    assert_memory_equal(parts[5].data, "segment", 7);

    /* A text reply is the transcript; it is not parsed as JSON. */
    assert_null(fx->done[0].json);
    assert_int_equal(oai_transcription_parse("text", fx->done[0].body, fx->done[0].body_len, &out,
                                             err, sizeof err),
                     0);
    assert_string_equal(json_string_value(json_object_get(out, "text")),
                        "Hello from the recording.\n");
    json_decref(out);
}

static void test_transcription_minimal(void **state)
{
    struct fx *fx = *state;
    struct oai_transcription t = {.model = "whisper-1", .filename = "a.wav"};
    struct tsrv_part parts[8];
    struct net_req *req;
    int n;

    make_clients(fx); /* the default server answers {"ok":true} */
    t.fd = tmp_with("RIFF", 4);
    t.size = 4;
    assert_int_equal(oai_transcription_req_new(oai, &t, &req), 0);
    fx_start(fx, req, &fx->done[0]);
    fx_run_until(fx, &fx->done[0].calls);
    close(t.fd);
    n = tsrv_parse_multipart(tsrv_header(&fx->srv, 0, "Content-Type"), fx->srv.reqs[0].body,
                             fx->srv.reqs[0].body_len, parts, 8);
    assert_int_equal(n, 2); /* only file and model: nothing unset is sent */
    assert_string_equal(parts[0].ctype, "application/octet-stream");
    t.model = NULL;
    assert_int_equal(oai_transcription_req_new(oai, &t, &req), SZ_EINVAL);
}

static void test_transcription_parse(void **state)
{
    json_t *out = NULL;
    char err[256];
    static const char verbose[] =
        "{\"task\":\"transcribe\",\"language\":\"english\",\"duration\":2.5,\"text\":\"Hi.\","
        "\"segments\":[{\"id\":0,\"start\":0.0,\"end\":2.5,\"text\":\"Hi.\"}]}";
    (void)state;

    assert_int_equal(
        oai_transcription_parse("verbose_json", verbose, sizeof verbose - 1, &out, err, sizeof err),
        0);
    assert_string_equal(json_string_value(json_object_get(out, "language")), "english");
    assert_true(json_is_array(json_object_get(out, "segments")));
    json_decref(out);
    /* The API's default format is json. */
    assert_int_equal(oai_transcription_parse(NULL, "{\"text\":\"x\"}", 12, &out, err, sizeof err),
                     0);
    json_decref(out);
    assert_int_equal(
        oai_transcription_parse("json", "<html>busy</html>", 17, &out, err, sizeof err), SZ_EPROTO);
    assert_null(out);
    assert_non_null(strstr(err, "without text: <html>busy</html>"));
    assert_int_equal(oai_transcription_parse("json", "{\"words\":[]}", 12, &out, err, sizeof err),
                     SZ_EPROTO);
    assert_int_equal(oai_transcription_parse("srt", "\xff\xfe", 2, &out, err, sizeof err),
                     SZ_EPROTO);
    assert_int_equal(oai_transcription_parse("vtt", "", 0, &out, err, sizeof err), 0);
    assert_string_equal(json_string_value(json_object_get(out, "text")), "");
    json_decref(out);
}

static void test_chat_body(void **state)
{
    unsigned char audio[1000];
    struct oai_chat_audio p = {
        .model = "gpt-4o-audio-preview",
        .system_prompt = "Be brief. sz-audio-b64-0 is just text.",
        .user_prompt = "What is said?",
        .format = "wav",
    };
    char *text = NULL, *b64 = NULL;
    size_t len = 0;
    json_t *root, *msgs, *user;
    (void)state;

    for (size_t i = 0; i < sizeof audio; i++)
        audio[i] = (unsigned char)(i * 7 + 3);
    assert_int_equal(oai_chat_audio_body(&p, audio, sizeof audio, &text, &len), 0);
    assert_int_equal(strlen(text), len);
    root = json_loads(text, 0, NULL);
    assert_non_null(root);
    assert_string_equal(json_string_value(json_object_get(root, "model")), "gpt-4o-audio-preview");
    msgs = json_object_get(root, "messages");
    assert_int_equal(json_array_size(msgs), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(msgs, 0), "role")),
                        "system");
    assert_string_equal(json_string_value(json_object_get(json_array_get(msgs, 0), "content")),
                        p.system_prompt); /* the placeholder in a prompt is left alone */
    user = json_array_get(msgs, 1);
    assert_string_equal(json_string_value(json_object_get(user, "role")), "user");
    assert_int_equal(json_array_size(json_object_get(user, "content")), 2);
    {
        json_t *part = json_array_get(json_object_get(user, "content"), 0);
        json_t *ia = json_object_get(part, "input_audio");
        assert_string_equal(json_string_value(json_object_get(part, "type")), "input_audio");
        assert_string_equal(json_string_value(json_object_get(ia, "format")), "wav");
        assert_int_equal(sz_b64_encode_alloc(audio, sizeof audio, &b64, NULL), 0);
        assert_string_equal(json_string_value(json_object_get(ia, "data")), b64);
        part = json_array_get(json_object_get(user, "content"), 1);
        assert_string_equal(json_string_value(json_object_get(part, "text")), "What is said?");
    }
    free(b64);
    json_decref(root);
    free(text);

    /* Without prompts: one message with one part (empty prompts count as none). */
    p.system_prompt = "";
    p.user_prompt = NULL;
    assert_int_equal(oai_chat_audio_body(&p, audio, 3, &text, &len), 0);
    root = json_loads(text, 0, NULL);
    assert_int_equal(json_array_size(json_object_get(root, "messages")), 1);
    assert_int_equal(json_array_size(json_object_get(
                         json_array_get(json_object_get(root, "messages"), 0), "content")),
                     1);
    json_decref(root);
    free(text);
}

static void h_chat(struct fx *fx, struct tsrv_conn *c, int idx)
{
    (void)fx;
    (void)idx;
    tsrv_reply_json(c, 200, NULL,
                    "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"choices\":[{\"index\":"
                    "0,\"message\":{\"role\":\"assistant\",\"content\":\"A dog barks.\"},"
                    "\"finish_reason\":\"stop\"}]}");
}

static void test_chat_request(void **state)
{
    struct fx *fx = *state;
    struct oai_chat_audio p = {.model = "gpt-4o-audio-preview", .format = "mp3"};
    struct net_req *req;
    char *text;
    size_t len;
    json_t *sent;

    fx->handler = h_chat;
    make_clients(fx);
    assert_int_equal(oai_chat_audio_body(&p, "abc", 3, &text, &len), 0);
    assert_int_equal(oai_chat_req_new(oai, text, len, &req), 0);
    fx_start(fx, req, &fx->done[0]);
    fx_run_until(fx, &fx->done[0].calls);
    assert_int_equal(fx->done[0].err, 0);
    assert_string_equal(fx->srv.reqs[0].target, "/v1/chat/completions");
    assert_non_null(strstr(tsrv_header(&fx->srv, 0, "Content-Type"), "application/json"));
    sent = json_loadb(fx->srv.reqs[0].body, fx->srv.reqs[0].body_len, 0, NULL);
    assert_non_null(sent);
    json_decref(sent);
    assert_string_equal(oai_chat_text(fx->done[0].json), "A dog barks.");
    /* No choices, or content null: "" as the original answers. */
    sent = json_pack("{s:[{s:{s:n}}]}", "choices", "message", "content");
    assert_string_equal(oai_chat_text(sent), "");
    json_decref(sent);
    assert_string_equal(oai_chat_text(NULL), "");
    assert_int_equal(oai_chat_req_new(oai, NULL, 0, &req), SZ_EINVAL);
}

static void h_speech(struct fx *fx, struct tsrv_conn *c, int idx)
{
    (void)fx;
    (void)idx;
    tsrv_stream(c, 5000, 5000, "audio/mpeg");
}

static size_t speech_bytes;

static int speech_data(struct net_req *req, const char *buf, size_t len, void *data)
{
    (void)req;
    (void)buf;
    (void)data;
    speech_bytes += len;
    return 0;
}

static void test_speech_request(void **state)
{
    struct fx *fx = *state;
    static const char text[] = "Hello there. And more text that is not sent";
    struct oai_speech s = {
        .model = "gpt-4o-mini-tts", .voice = "coral", .input = text, .input_len = 12, .speed = 1.0};
    struct net_sink sink = {NULL, speech_data, NULL};
    struct net_req *req;
    json_t *body;

    fx->handler = h_speech;
    make_clients(fx);
    assert_int_equal(oai_speech_req_new(oai, &s, &req), 0);
    net_req_set_sink(req, &sink);
    fx_start(fx, req, &fx->done[0]);
    fx_run_until(fx, &fx->done[0].calls);
    assert_int_equal(fx->done[0].err, 0);
    assert_int_equal(speech_bytes, 5000);
    assert_string_equal(fx->srv.reqs[0].target, "/v1/audio/speech");
    assert_string_equal(tsrv_header(&fx->srv, 0, "Accept"), "application/octet-stream");
    body = json_loadb(fx->srv.reqs[0].body, fx->srv.reqs[0].body_len, 0, NULL);
    assert_non_null(body);
    assert_string_equal(json_string_value(json_object_get(body, "input")), "Hello there.");
    assert_string_equal(json_string_value(json_object_get(body, "model")), "gpt-4o-mini-tts");
    assert_string_equal(json_string_value(json_object_get(body, "voice")), "coral");
    assert_string_equal(json_string_value(json_object_get(body, "response_format")), "mp3");
    assert_true(json_is_real(json_object_get(body, "speed")));
    assert_null(json_object_get(body, "instructions")); /* only when given */
    assert_int_equal(json_object_size(body), 5);
    json_decref(body);

    /* Text that is not UTF-8 is refused before any request. */
    s.input = "\xff\xfe";
    s.input_len = 2;
    assert_int_equal(oai_speech_req_new(oai, &s, &req), SZ_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_transcription_request, setup, teardown),
        cmocka_unit_test_setup_teardown(test_transcription_minimal, setup, teardown),
        cmocka_unit_test(test_transcription_parse),
        cmocka_unit_test(test_chat_body),
        cmocka_unit_test_setup_teardown(test_chat_request, setup, teardown),
        cmocka_unit_test_setup_teardown(test_speech_request, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
