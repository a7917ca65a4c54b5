/* Gemini's Interactions API as the video tools see it: pure functions, no I/O, any
 * thread (the parser runs on the pool for responses of megabytes).
 *
 * - What each Gemini Omni model can make, and the check of a create's size and
 *   seconds against it (a refusal names what the model can do).
 * - The create request: model, input (the prompt as a string, or a text block and an
 *   image block), background, previous_interaction_id (a remix) and a video
 *   response_format (aspect_ratio, resolution, duration "8s"), as Google's SDK sends
 *   it for the same parameters (tests/fake-gemini/sdk-request.mjs).
 * - The response: an Interaction whose video is the last model_output step's
 *   {type:"video", mime_type, data | uri} block. A video inline is ~11 MB of base64
 *   inside the JSON, so vgem_cut_media first takes every large "data" string out of
 *   the text (decoding it when asked) and leaves a short marker in its place; jansson
 *   then parses a document of a few kilobytes instead of holding two more copies of
 *   the base64 (the text being parsed, and the string it makes).
 * - The mapping of an Interaction onto the Video object (docs/providers.md says it
 *   field by field). */
#ifndef SZ_VIDEO_GEMINI_MAP_H
#define SZ_VIDEO_GEMINI_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* Progress the API does not report: a job's stage instead. */
#define VGEM_PROGRESS_QUEUED      0
#define VGEM_PROGRESS_IN_PROGRESS 50
#define VGEM_PROGRESS_DONE        100

/* The marker that stands for the reference image's base64 in a create body. */
#define VGEM_IMAGE_MARKER "@sanzaru:image"

/* Every length some known Omni model makes, in whole seconds ("3" to "15", ascending,
 * NULL-terminated): what create_video offers when Gemini is configured. */
extern const char *const vgem_seconds[];

/* Checks size ("1280x720" or NULL) and seconds ("8" or NULL) against model. 0, or
 * SZ_EINVAL with a sentence in msg that names what the model makes. Models that are
 * not known Omni models are checked only for what the API can express (16:9 or 9:16
 * sizes). */
int vgem_check(const char *model, const char *size, const char *seconds, char *msg, size_t msglen);

/* The create body for model and prompt (copied into the new object), with a text and
 * an image block whose data is VGEM_IMAGE_MARKER when image_mime is not NULL, the
 * previous interaction when previous_id is not NULL, and response_format when size or
 * seconds is set ("" counts as unset). A new object, or NULL (out of memory). */
json_t *vgem_request(const char *model, const char *prompt, const char *image_mime,
                     const char *previous_id, const char *size, const char *seconds);

/* Splices base64 (b64, b64_len) in place of the quoted marker in text; a new
 * malloc'd text of *plen bytes, or NULL (no marker, out of memory). */
char *vgem_splice_image(const char *text, size_t len, const char *b64, size_t b64_len,
                        size_t *plen);

/* Large base64 strings cut out of a response. */
#define VGEM_MEDIA_MAX 8
struct vgem_media {
    size_t count;
    struct {
        uint8_t *bytes; /* decoded (malloc'd), or NULL when not decoded or corrupt */
        size_t len;
        bool corrupt;
    } item[VGEM_MEDIA_MAX];
};

/* Strings of at least this many bytes are cut. */
#define VGEM_CUT_MIN (64u * 1024u)

/* Replaces, in the JSON text (len bytes, modified in place), each string value of a
 * "data" member at least VGEM_CUT_MIN long with "@sanzaru:media:N" and spaces, so the
 * text stays valid JSON of the same length; decodes it into media->item[N] when
 * decode is true. Strings with escapes other than "\/" are left alone (jansson reads
 * them). Returns 0, or SZ_ENOMEM. */
int vgem_cut_media(char *text, size_t len, bool decode, struct vgem_media *media);

/* Frees what vgem_cut_media decoded. */
void vgem_media_free(struct vgem_media *media);

/* Where the video of an Interaction is. */
struct vgem_output {
    char mime[64];  /* "video/mp4", or "" */
    char *uri;      /* malloc'd, or NULL */
    uint8_t *bytes; /* malloc'd, decoded, or NULL */
    size_t len;
    bool corrupt; /* the data was there but is not base64 */
};

void vgem_output_free(struct vgem_output *out);

/* Maps an Interaction (borrowed) onto a new Video object (*pvideo) and, when out is
 * not NULL, finds its video (moving a decoded media item into out, or decoding a
 * small inline one). Returns 0, or SZ_EPROTO with a sentence in msg when it is not
 * an Interaction (no string id that passes gem_check_id, no string status), or
 * SZ_ENOMEM. */
int vgem_map(const json_t *interaction, struct vgem_media *media, json_t **pvideo,
             struct vgem_output *out, char *msg, size_t msglen);

/* Fills what the API does not send back from what the ledger knows (known may be
 * NULL): prompt, and size and seconds when the Interaction did not echo them. */
void vgem_merge_known(json_t *video, const json_t *known);

/* Parses an ISO 8601 UTC time ("2026-11-02T10:00:00Z", fractions and +hh:mm
 * offsets allowed) into *pt (seconds since the epoch). 0 or SZ_EINVAL. */
int vgem_parse_time(const char *s, int64_t *pt);

#endif
