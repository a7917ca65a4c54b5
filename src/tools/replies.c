/* The tools' readings of upstream replies (replies.h): the Video object's result
 * shapes and list summary, the Responses API's Response, the Images API's result and
 * the first bytes of a base64 image. Pure; any thread. */
#include "fmacros.h"

#include "tools/replies.h"

#include "core/base64.h"
#include "core/err.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* ---- the Video object ------------------------------------------------------------ */

/* The Video object, passed through: unknown fields are the API's to add. */
static const struct mcp_field video_fields[] = {
    {.name = "id", .types = MCP_T_STRING, .required = true},
    {.name = "object", .types = MCP_T_STRING},
    {.name = "model", .types = MCP_T_STRING | MCP_T_NULL},
    {.name = "status",
     .types = MCP_T_STRING,
     .required = true,
     .description = "queued, in_progress, completed or failed"},
    {.name = "progress", .types = MCP_T_NUMBER | MCP_T_NULL},
    {.name = "created_at", .types = MCP_T_INTEGER | MCP_T_NULL},
    {.name = "completed_at", .types = MCP_T_INTEGER | MCP_T_NULL},
    {.name = "expires_at", .types = MCP_T_INTEGER | MCP_T_NULL},
    {.name = "prompt", .types = MCP_T_STRING | MCP_T_NULL},
    {.name = "size", .types = MCP_T_STRING | MCP_T_NULL},
    {.name = "seconds", .types = MCP_T_STRING | MCP_T_NULL},
    {.name = "remixed_from_video_id", .types = MCP_T_STRING | MCP_T_NULL},
    {.name = "error", .types = MCP_T_OBJECT | MCP_T_NULL},
};
const struct mcp_field reply_video_result = {.types = MCP_T_OBJECT, MCP_FIELDS(video_fields)};

static const struct mcp_field summary_fields[] = {
    {.name = "id", .types = MCP_T_STRING | MCP_T_NULL},
    {.name = "status", .types = MCP_T_STRING | MCP_T_NULL},
    {.name = "created_at", .types = MCP_T_INTEGER | MCP_T_NULL},
    {.name = "seconds", .types = MCP_T_STRING | MCP_T_NULL},
    {.name = "size", .types = MCP_T_STRING | MCP_T_NULL},
    {.name = "model", .types = MCP_T_STRING | MCP_T_NULL},
    {.name = "progress", .types = MCP_T_NUMBER | MCP_T_NULL},
};
static const struct mcp_field summary = {.types = MCP_T_OBJECT, MCP_FIELDS(summary_fields)};
static const struct mcp_field list_fields[] = {
    {.name = "data", .types = MCP_T_ARRAY, .required = true, .items = &summary},
    {.name = "has_more", .types = MCP_T_BOOLEAN, .required = true},
    {.name = "last", .types = MCP_T_STRING | MCP_T_NULL, .required = true},
};
const struct mcp_field reply_list_result = {.types = MCP_T_OBJECT, MCP_FIELDS(list_fields)};

static const struct mcp_field deleted_fields[] = {
    {.name = "id", .types = MCP_T_STRING, .required = true},
    {.name = "object", .types = MCP_T_STRING},
    {.name = "deleted", .types = MCP_T_BOOLEAN, .required = true},
};
const struct mcp_field reply_deleted_result = {.types = MCP_T_OBJECT, MCP_FIELDS(deleted_fields)};

static json_t *field_or_null(const json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return v != NULL ? json_incref(v) : json_null();
}

json_t *reply_video_summary(const json_t *page)
{
    static const char *const keys[] = {"id",   "status", "created_at", "seconds",
                                       "size", "model",  "progress"};
    json_t *data = json_object_get(page, "data");
    json_t *items = json_array();
    json_t *last = json_object_get(page, "last_id");
    json_t *item;
    size_t i;

    json_array_foreach(data, i, item)
    {
        json_t *s = json_object();
        for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
            json_object_set_new(s, keys[k], field_or_null(item, keys[k]));
        json_array_append_new(items, s);
    }
    if (!json_is_string(last)) {
        json_t *tail = json_array_get(data, json_array_size(data) - 1);
        last = json_object_get(tail, "id");
    }
    return json_pack("{s:o, s:b, s:O}", "data", items, "has_more",
                     json_is_true(json_object_get(page, "has_more")), "last",
                     json_is_string(last) ? last : json_null());
}

/* ---- the Responses API ----------------------------------------------------------- */

static const struct mcp_field job_fields[] = {
    {.name = "id", .types = MCP_T_STRING, .required = true},
    {.name = "status", .types = MCP_T_STRING, .required = true},
    {.name = "created_at", .types = MCP_T_INTEGER | MCP_T_NUMBER | MCP_T_NULL, .required = true},
};
const struct mcp_field reply_job_result = {.types = MCP_T_OBJECT, MCP_FIELDS(job_fields)};

json_t *reply_response_job(const json_t *response)
{
    json_t *id = json_object_get(response, "id");
    json_t *status = json_object_get(response, "status");
    json_t *created = json_object_get(response, "created_at");

    return json_pack("{s:s, s:s, s:O}", "id", json_is_string(id) ? json_string_value(id) : "",
                     "status", json_is_string(status) ? json_string_value(status) : "unknown",
                     "created_at", json_is_number(created) ? created : json_null());
}

/* error (a string, or an object with a message) as text, or NULL. */
static const char *error_text(const json_t *error)
{
    if (json_is_string(error))
        return json_string_value(error);
    if (json_is_object(error) && json_is_string(json_object_get(error, "message")))
        return json_string_value(json_object_get(error, "message"));
    return NULL;
}

int reply_response_image(const json_t *response, const char *response_id, const char **pb64,
                         size_t *plen, char *msg, size_t msglen)
{
    const char *rstatus = json_string_value(json_object_get(response, "status"));
    json_t *output = json_object_get(response, "output");
    json_t *item, *gen = NULL, *result;
    const char *status, *err;
    size_t i;

    json_array_foreach(output, i, item)
    {
        const char *type = json_string_value(json_object_get(item, "type"));
        if (type != NULL && strcmp(type, "image_generation_call") == 0) {
            gen = item;
            break;
        }
    }
    if (gen == NULL) {
        if (rstatus != NULL &&
            (strcmp(rstatus, "queued") == 0 || strcmp(rstatus, "in_progress") == 0)) {
            snprintf(msg, msglen, "Image generation not completed (status: %s)", rstatus);
            return SZ_EPROTO;
        }
        err = error_text(json_object_get(response, "error"));
        if (err == NULL)
            err = json_string_value(
                json_object_get(json_object_get(response, "incomplete_details"), "reason"));
        if (rstatus != NULL && strcmp(rstatus, "completed") != 0)
            snprintf(msg, msglen,
                     "No image generation found in response %s (response status: %s%s%s)",
                     response_id, rstatus, err ? ": " : "", err ? err : "");
        else
            snprintf(msg, msglen, "No image generation found in response %s", response_id);
        return SZ_EPROTO;
    }
    status = json_string_value(json_object_get(gen, "status"));
    if (status == NULL || strcmp(status, "completed") != 0) {
        err = error_text(json_object_get(gen, "error"));
        snprintf(msg, msglen, "Image generation not completed (status: %s)%s%s",
                 status ? status : "unknown", err ? ": " : "", err ? err : "");
        return SZ_EPROTO;
    }
    result = json_object_get(gen, "result");
    if (!json_is_string(result) || json_string_length(result) == 0) {
        snprintf(msg, msglen, "Image generation completed but response %s carries no image data",
                 response_id);
        return SZ_EPROTO;
    }
    *pb64 = json_string_value(result);
    *plen = json_string_length(result);
    return 0;
}

/* ---- the Images API ---------------------------------------------------------------- */

int reply_images_image(const json_t *body, const char **pb64, size_t *plen, json_t **pusage,
                       char *msg, size_t msglen)
{
    json_t *first = json_array_get(json_object_get(body, "data"), 0);
    json_t *b64 = json_object_get(first, "b64_json");
    json_t *usage = json_object_get(body, "usage");

    if (!json_is_string(b64) || json_string_length(b64) == 0) {
        snprintf(msg, msglen, "OpenAI returned no image data");
        return SZ_EPROTO;
    }
    *pb64 = json_string_value(b64);
    *plen = json_string_length(b64);
    *pusage = json_is_object(usage) ? usage : NULL;
    return 0;
}

/* ---- the first bytes of a base64 image --------------------------------------------------- */

int reply_image_head(enum store_format want, const char *b64, size_t len, char *msg, size_t msglen)
{
    uint8_t head[STORE_SNIFF_LEN + 2];
    size_t n = len < 24 ? len & ~(size_t)3 : 24, hlen = 0;

    if (want == STORE_FMT_NONE)
        want = STORE_FMT_IMAGE;
    /* 24 characters are 18 bytes: enough for every signature we check. */
    if (n == 0 || sz_b64_decode(b64, n, head, &hlen) != 0)
        return 0;
    if (store_check_content(want, NULL, head, hlen, msg, msglen) == 0)
        return 0;
    return store_sniff(head, hlen) != STORE_FMT_NONE ? SZ_EUNSUPPORTED : SZ_ECORRUPT;
}
