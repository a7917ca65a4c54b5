/* What OpenAI's Videos API (or Azure's, or a gateway's) sends back, as the openai
 * provider and the video tools read it: whether a 2xx body is the object the
 * operation expects (video/openai_map.h), list_videos' summary of a page, the check of
 * the result against the outputSchema the tool promises (tools/replies.h), the JSON
 * text the client gets, and whether a failure means the Videos API is retired.
 *
 * Input: byte 0 is the operation (value % 6, enum video_op) and flags (value / 6: 1
 * OpenAI itself rather than Azure, 2 an HTTP error status, 4 a Sora model, 8 the base
 * URL at api.openai.com); bytes 1-2 the HTTP status (100 + value % 500); the rest the
 * body. Seeds: fuzz/make-seeds.mjs, from tests/fake-openai.
 *
 * Beyond "no crash": the summary of any page has the shape list_videos promises
 * (data an array, has_more a boolean, last a string or null), a result that passes
 * its check has the required fields, a failed check says why, and Azure is never
 * said to be retired. */
#include "fmacros.h"

#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "mcp/mcp_int.h"
#include "tools/replies.h"
#include "video/openai_map.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

static const struct mcp_field *schema_of(enum video_op op)
{
    if (op == VIDEO_OP_LIST)
        return &reply_list_result;
    return op == VIDEO_OP_DELETE ? &reply_deleted_result : &reply_video_result;
}

/* The tool's side of a 2xx: summary (for a list), check, serialisation. */
static void as_the_tool(enum video_op op, json_t *body)
{
    json_t *result = op == VIDEO_OP_LIST ? reply_video_summary(body) : json_incref(body);
    char msg[512];
    char *text;

    if (result == NULL)
        return; /* out of memory */
    if (op == VIDEO_OP_LIST) {
        json_t *last = json_object_get(result, "last");
        if (!json_is_array(json_object_get(result, "data")) ||
            !json_is_boolean(json_object_get(result, "has_more")) ||
            !(json_is_string(last) || json_is_null(last)))
            abort(); /* the summary's own shape */
    }
    msg[0] = '\0';
    if (mcp_field_check(schema_of(op), result, msg, sizeof msg) == 0) {
        if (op != VIDEO_OP_LIST && !json_is_string(json_object_get(result, "id")))
            abort(); /* required by both result shapes */
        if (op != VIDEO_OP_LIST && op != VIDEO_OP_DELETE &&
            !json_is_string(json_object_get(result, "status")))
            abort();
    } else if (msg[0] == '\0') {
        abort(); /* a refusal says which field */
    }
    text = json_dumps(result, JSON_COMPACT);
    free(text);
    json_decref(result);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    enum video_op op;
    unsigned flags;
    long status;
    json_t *body;
    struct voai_failure f;

    if (size < 3)
        return 0;
    op = (enum video_op)(data[0] % 6);
    flags = data[0] / 6u;
    status = 100 + (long)((data[1] << 8 | data[2]) % 500);
    data += 3;
    size -= 3;

    body = json_loadb((const char *)data, size, 0, NULL);
    if (voai_accepts(op, body))
        as_the_tool(op, body);
    f = (struct voai_failure){
        .openai_flavour = (flags & 1) != 0,
        .http_error = (flags & 2) != 0,
        .status = status,
        .api_code = json_string_value(json_object_get(json_object_get(body, "error"), "code")),
        .op = op,
        .model = (flags & 4) != 0 ? "sora-2" : "gateway-video-1",
        .base_url = (flags & 8) != 0 ? "https://api.openai.com/v1" : "https://gw.example/v1",
        .body = (const char *)data,
        .body_len = size,
    };
    if (voai_retired(&f) && !f.openai_flavour)
        abort(); /* Azure still serves Sora */
    json_decref(body);
    return 0;
}
