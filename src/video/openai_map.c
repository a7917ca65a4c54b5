/* The pure readings of OpenAI's Videos API (openai_map.h). */
#include "fmacros.h"

#include "video/openai_map.h"

#include <string.h>

bool voai_accepts(enum video_op op, const json_t *body)
{
    if (!json_is_object(body))
        return false;
    return op != VIDEO_OP_LIST || json_is_array(json_object_get(body, "data"));
}

bool voai_at_openai(const char *base_url)
{
    const char *host = strstr(base_url, "://");

    host = host != NULL ? host + 3 : base_url;
    return strncmp(host, "api.openai.com", 14) == 0 &&
           (host[14] == '/' || host[14] == ':' || host[14] == '\0');
}

bool voai_retired(const struct voai_failure *f)
{
    json_t *body, *err;
    const char *message;
    bool openai_error, invalid_url;

    if (!f->openai_flavour || !f->http_error)
        return false;
    if (f->status == 410)
        return true;
    if (f->api_code != NULL && strcmp(f->api_code, "model_not_found") == 0)
        return strncmp(f->model, "sora-", 5) == 0 || f->op != VIDEO_OP_CREATE;
    if (f->status != 404)
        return false;
    if (f->op == VIDEO_OP_CREATE || f->op == VIDEO_OP_LIST || voai_at_openai(f->base_url))
        return true;
    /* A 404 on one video: OpenAI's own "Invalid URL (GET /v1/videos/…)" for a route
     * it no longer has, or any body that is not OpenAI's error (a gateway's page),
     * means the route is gone; an OpenAI error naming the video means the video is. */
    body = f->body != NULL ? json_loadb(f->body, f->body_len, 0, NULL) : NULL;
    err = json_object_get(body, "error");
    openai_error = json_is_object(err);
    message = json_string_value(json_object_get(err, "message"));
    invalid_url = openai_error && message != NULL && strncmp(message, "Invalid URL", 11) == 0;
    json_decref(body);
    return !openai_error || invalid_url;
}
