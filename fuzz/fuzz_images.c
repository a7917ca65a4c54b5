/* What OpenAI's Responses and Images APIs send back, as the image tools read it
 * (tools/replies.h): get_image_status' {id, status, created_at} of a Response,
 * download_image's walk to the first image_generation_call, generate_image's and
 * edit_image's data[0].b64_json and usage, the first bytes of the base64 image
 * against output_format, and then the decoded image's structure
 * (imaging/imaging.h: img_check_whole; libvips' header decode is fuzz_sniff's).
 *
 * Input: byte 0 is the format output_format asked for (value % 4: any, PNG, JPEG,
 * WEBP); bytes 1-2 an HTTP status (unused by these readers, kept so the seeds match
 * the other upstream drivers'); the rest the body. Seeds: fuzz/make-seeds.mjs, from
 * tests/fake-openai.
 *
 * Beyond "no crash": the job result of any Response fits get_image_status'
 * outputSchema, an image found is never empty, usage is an object or absent, and
 * every refusal says why. */
#include "fmacros.h"

#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/base64.h"
#include "core/err.h"
#include "imaging/imaging.h"
#include "mcp/mcp_int.h"
#include "tools/replies.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

/* An image found in a reply: its head against what was asked, then decoded. */
static void image_found(enum store_format want, const char *b64, size_t len)
{
    char msg[512];
    uint8_t *bytes = NULL;
    size_t n = 0;
    int rc;

    if (b64 == NULL || len == 0)
        abort(); /* the readers promise a non-empty string */
    msg[0] = '\0';
    rc = reply_image_head(want, b64, len, msg, sizeof msg);
    if (rc != 0 && (msg[0] == '\0' || (rc != SZ_EUNSUPPORTED && rc != SZ_ECORRUPT)))
        abort();
    if (sz_b64_decode_alloc(b64, len, &bytes, &n) == 0) {
        (void)img_check_whole(bytes, n, msg, sizeof msg);
        free(bytes);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const enum store_format wants[] = {STORE_FMT_NONE, STORE_FMT_PNG, STORE_FMT_JPEG,
                                              STORE_FMT_WEBP};
    enum store_format want;
    json_t *body, *job, *usage = NULL;
    const char *b64 = NULL;
    size_t len = 0;
    char msg[512];

    if (size < 3)
        return 0;
    want = wants[data[0] % 4];
    data += 3;
    size -= 3;
    body = json_loadb((const char *)data, size, 0, NULL);
    if (body == NULL)
        return 0;

    job = reply_response_job(body);
    if (job != NULL && mcp_field_check(&reply_job_result, job, msg, sizeof msg) != 0)
        abort(); /* get_image_status' result fits its schema, whatever came */
    json_decref(job);

    msg[0] = '\0';
    if (reply_response_image(body, "resp_fuzz", &b64, &len, msg, sizeof msg) == 0)
        image_found(want, b64, len);
    else if (msg[0] == '\0')
        abort();

    msg[0] = '\0';
    if (reply_images_image(body, &b64, &len, &usage, msg, sizeof msg) == 0) {
        if (usage != NULL && !json_is_object(usage))
            abort();
        image_found(want, b64, len);
    } else if (msg[0] == '\0') {
        abort();
    }
    json_decref(body);
    return 0;
}
