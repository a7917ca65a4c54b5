/* OpenAI's audio endpoints (audio.h): the requests of speech to text, audio
 * chat and text to speech, and the readers of their replies. */
#include "fmacros.h"

#include "openai/audio.h"

#include "core/base64.h"
#include "core/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int add_field(struct net_req *req, const char *name, const char *value)
{
    return value != NULL ? net_req_add_field(req, name, value) : 0;
}

int oai_transcription_req_new(struct oai_client *client, const struct oai_transcription *t,
                              struct net_req **preq)
{
    struct net_req *req = NULL;
    int rc;

    *preq = NULL;
    if (t == NULL || t->model == NULL || t->filename == NULL || t->fd < 0)
        return SZ_EINVAL;
    rc = oai_req_new(client, "POST", "/audio/transcriptions", &req);
    if (rc != 0)
        return rc;
    /* The order the official SDKs send: the file, then the fields. */
    rc = net_req_add_file_fd(req, "file", t->filename,
                             t->mime_type != NULL ? t->mime_type : "application/octet-stream",
                             t->fd, t->size);
    if (rc == 0)
        rc = net_req_add_field(req, "model", t->model);
    if (rc == 0)
        rc = add_field(req, "response_format", t->response_format);
    if (rc == 0)
        rc = add_field(req, "prompt", t->prompt);
    for (size_t i = 0; rc == 0 && i < t->ngranularities; i++)
        rc = net_req_add_field(req, "timestamp_granularities[]", t->timestamp_granularities[i]);
    if (rc != 0) {
        net_req_free(req);
        return rc;
    }
    net_req_set_raw(req);
    *preq = req;
    return 0;
}

/* Formats whose reply is the transcript itself, not JSON. */
static int plain_format(const char *f)
{
    return f != NULL && (strcmp(f, "text") == 0 || strcmp(f, "srt") == 0 || strcmp(f, "vtt") == 0);
}

int oai_transcription_parse(const char *response_format, const char *body, size_t len,
                            json_t **pout, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *root;

    *pout = NULL;
    if (body == NULL)
        len = 0;
    if (plain_format(response_format)) {
        root = json_object();
        if (root == NULL ||
            json_object_set_new(root, "text", json_stringn(body ? body : "", len)) != 0 ||
            !json_is_string(json_object_get(root, "text"))) {
            json_decref(root);
            snprintf(err, errlen, "OpenAI returned a transcript that is not valid UTF-8");
            return SZ_EPROTO;
        }
        *pout = root;
        return 0;
    }
    root = json_loadb(body != NULL ? body : "", len, 0, &jerr);
    if (!json_is_object(root) || !json_is_string(json_object_get(root, "text"))) {
        char sum[200 * 4 + 4];

        net_summarize(body != NULL ? body : "", len, 200, sum, sizeof(sum));
        snprintf(err, errlen, "OpenAI returned a transcription without text: %s",
                 sum[0] != '\0' ? sum : "(an empty body)");
        json_decref(root);
        return SZ_EPROTO;
    }
    *pout = root;
    return 0;
}

/* A placeholder for the base64 that occurs in neither prompt, so that it can
 * be found in the serialised JSON and replaced. */
static void pick_placeholder(const struct oai_chat_audio *p, char *buf, size_t len)
{
    for (unsigned i = 0;; i++) {
        snprintf(buf, len, "sz-audio-b64-%u", i);
        if ((p->system_prompt == NULL || strstr(p->system_prompt, buf) == NULL) &&
            (p->user_prompt == NULL || strstr(p->user_prompt, buf) == NULL))
            return;
    }
}

static int is_set(const char *s)
{
    return s != NULL && s[0] != '\0';
}

int oai_chat_audio_body(const struct oai_chat_audio *p, const void *audio, size_t len, char **ptext,
                        size_t *plen)
{
    char mark[32];
    json_t *messages, *content, *root = NULL;
    char *skeleton = NULL, *text = NULL, *at;
    size_t b64_len = sz_b64_encoded_len(len), head, tail;
    int rc = SZ_ENOMEM;

    *ptext = NULL;
    *plen = 0;
    if (p == NULL || p->model == NULL || p->format == NULL || (audio == NULL && len > 0) ||
        (len > 0 && b64_len == 0))
        return SZ_EINVAL;
    pick_placeholder(p, mark, sizeof(mark));
    messages = json_array();
    content = json_pack("[{s:s, s:{s:s, s:s}}]", "type", "input_audio", "input_audio", "data", mark,
                        "format", p->format);
    root = json_pack("{s:s, s:o}", "model", p->model, "messages", messages);
    if (root == NULL || content == NULL)
        goto out;
    if (is_set(p->system_prompt) &&
        json_array_append_new(
            messages, json_pack("{s:s, s:s}", "role", "system", "content", p->system_prompt)) != 0)
        goto out;
    if (is_set(p->user_prompt) &&
        json_array_append_new(content,
                              json_pack("{s:s, s:s}", "type", "text", "text", p->user_prompt)) != 0)
        goto out;
    if (json_array_append_new(messages,
                              json_pack("{s:s, s:O}", "role", "user", "content", content)) != 0)
        goto out;
    skeleton = json_dumps(root, JSON_COMPACT);
    if (skeleton == NULL)
        goto out;
    at = strstr(skeleton, mark);
    if (at == NULL) {
        rc = SZ_EINVAL;
        goto out;
    }
    head = (size_t)(at - skeleton);
    tail = strlen(at + strlen(mark));
    text = malloc(head + b64_len + tail + 1);
    if (text == NULL)
        goto out;
    memcpy(text, skeleton, head);
    sz_b64_encode(audio, len, text + head);
    memcpy(text + head + b64_len, at + strlen(mark), tail + 1);
    *ptext = text;
    *plen = head + b64_len + tail;
    rc = 0;
out:
    free(skeleton);
    json_decref(content);
    json_decref(root);
    return rc;
}

int oai_chat_req_new(struct oai_client *client, char *text, size_t len, struct net_req **preq)
{
    struct net_req *req = NULL;
    int rc;

    *preq = NULL;
    if (text == NULL) /* nothing to free */
        return SZ_EINVAL;
    rc = oai_req_new(client, "POST", "/chat/completions", &req);
    if (rc != 0) {
        free(text);
        return rc;
    }
    rc = net_req_set_json_text(req, text, len); /* takes text, also on failure */
    if (rc != 0) {
        net_req_free(req);
        return rc;
    }
    *preq = req;
    return 0;
}

const char *oai_chat_text(const json_t *body)
{
    json_t *choice = json_array_get(json_object_get(body, "choices"), 0);
    const char *text =
        json_string_value(json_object_get(json_object_get(choice, "message"), "content"));

    return text != NULL ? text : "";
}

int oai_speech_req_new(struct oai_client *client, const struct oai_speech *s, struct net_req **preq)
{
    struct net_req *req = NULL;
    json_t *body;
    int rc;

    *preq = NULL;
    if (s == NULL || s->model == NULL || s->voice == NULL || s->input == NULL)
        return SZ_EINVAL;
    body = json_pack("{s:s, s:s%, s:s, s:f, s:s}", "model", s->model, "input", s->input,
                     s->input_len, "voice", s->voice, "speed", s->speed, "response_format",
                     s->response_format != NULL ? s->response_format : "mp3");
    if (body != NULL && s->instructions != NULL &&
        json_object_set_new(body, "instructions", json_string(s->instructions)) != 0) {
        json_decref(body);
        body = NULL;
    }
    if (body == NULL)
        return SZ_EINVAL; /* text that is not UTF-8, or no memory */
    rc = oai_req_new_json(client, "POST", "/audio/speech", body, &req);
    if (rc != 0)
        return rc;
    /* The audio is any type; net's default Accept is for JSON. */
    rc = net_req_add_header(req, "Accept: application/octet-stream");
    if (rc != 0) {
        net_req_free(req);
        return rc;
    }
    *preq = req;
    return 0;
}
