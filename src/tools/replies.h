/* What the tools read out of upstream replies, as pure functions (no call, no I/O,
 * any thread), so that tests and the fuzzers (fuzz/fuzz_videos.c, fuzz_images.c)
 * reach them without a server:
 *
 * - the Video object a provider returns and the result shapes the video tools
 *   promise for it (the outputSchema a malformed object is checked against), and
 *   list_videos' summary of a page;
 * - the Responses API's Response object: get_image_status' {id, status,
 *   created_at}, and download_image's walk to the first image_generation_call;
 * - the Images API's reply to generate_image and edit_image: data[0].b64_json and
 *   usage;
 * - the first bytes of a base64 image, against the format asked for, before a job
 *   decodes it all.
 *
 * Every json_t given is borrowed; strings handed back point into it. */
#ifndef SZ_TOOLS_REPLIES_H
#define SZ_TOOLS_REPLIES_H

#include <jansson.h>
#include <stddef.h>

#include "mcp/table.h"
#include "store/store.h"

/* The results the video tools promise (their outputSchema): the Video object (create,
 * status, remix; unknown fields pass through), a deletion, list_videos' summary. */
extern const struct mcp_field reply_video_result;
extern const struct mcp_field reply_deleted_result;
extern const struct mcp_field reply_list_result;

/* list_videos' result from a page (borrowed) of Video objects: {data: [{id, status,
 * created_at, seconds, size, model, progress}, each null when absent], has_more,
 * last} where last is the page's last_id, else the last item's id, else null. A new
 * object; NULL only when out of memory. */
json_t *reply_video_summary(const json_t *page);

/* get_image_status' and create_image's result, {id, status, created_at}. */
extern const struct mcp_field reply_job_result;

/* {id, status, created_at} of a Response object (borrowed): id "" and status
 * "unknown" when they are not strings, created_at null when not a number. A new
 * object; NULL only when out of memory. */
json_t *reply_response_job(const json_t *response);

/* download_image's reading of a Response (borrowed): the first output item of type
 * image_generation_call must be completed and carry a non-empty base64 result. 0 with
 * *pb64 (pointing into response) and *plen, or SZ_EPROTO with the user's sentence in
 * msg, which names response_id and says why (still running, failed with its error or
 * incomplete_details, no image call, no data). */
int reply_response_image(const json_t *response, const char *response_id, const char **pb64,
                         size_t *plen, char *msg, size_t msglen);

/* The Images API's reply ({created, data: [{b64_json}], usage, ...}, borrowed): 0 with
 * *pb64 and *plen (data[0].b64_json, non-empty) and *pusage (the usage object, or
 * NULL when there is none), or SZ_EPROTO with "OpenAI returned no image data". */
int reply_images_image(const json_t *body, const char **pb64, size_t *plen, json_t **pusage,
                       char *msg, size_t msglen);

/* The first bytes of base64 image text (b64, len bytes) against want (STORE_FMT_NONE:
 * any image): 0 when they fit, or when they do not decode (the decode job that follows
 * says why); SZ_EUNSUPPORTED when they are another format (msg says which, as
 * store_check_content does), SZ_ECORRUPT when they are no image at all. */
int reply_image_head(enum store_format want, const char *b64, size_t len, char *msg, size_t msglen);

#endif
