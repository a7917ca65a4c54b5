/* OpenAI's Videos API as the openai and azure providers read it (openai.c): pure
 * functions, no I/O, any thread, so tests and fuzz/fuzz_videos.c reach them.
 *
 * - Whether a 2xx body is the object an operation expects. The Video object itself
 *   passes through whole (it is already the shape of TOOLS.md); its fields are the
 *   tool's to check against its result schema (tools/replies.h).
 * - Whether a failure means the Videos API is gone (OpenAI retired it on
 *   2026-09-24), which docs/providers.md states case by case. */
#ifndef SZ_VIDEO_OPENAI_MAP_H
#define SZ_VIDEO_OPENAI_MAP_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "video/provider.h"

/* True when body (borrowed; may be NULL) is what op's 2xx answer must be: a JSON
 * object, and for a list one whose data is an array. */
bool voai_accepts(enum video_op op, const json_t *body);

/* True when base_url (e.g. "https://api.openai.com/v1") is OpenAI's own API host. */
bool voai_at_openai(const char *base_url);

/* A failed request of the openai or azure provider, as the retirement check reads it.
 * Strings are borrowed and may be NULL, except model and base_url. */
struct voai_failure {
    bool openai_flavour; /* OpenAI itself (or a gateway), not Azure, which still serves Sora */
    bool http_error;     /* the request got an HTTP error status (SZ_EUPSTREAM) */
    long status;
    const char *api_code; /* OpenAI's error code, e.g. "model_not_found" */
    enum video_op op;
    const char *model;    /* the job's model ("" when it has none) */
    const char *base_url; /* the client's */
    const char *body;     /* the error body (not NUL-terminated), or NULL */
    size_t body_len;
};

/* Did the response say that the Videos API is gone rather than one video? A 410; a
 * model_not_found for a Sora model (or any model on an id); a 404 for the collection
 * (create, list), or at api.openai.com, or whose body is OpenAI's "Invalid URL (…)"
 * error or not OpenAI's error JSON at all (a gateway's page). Never for Azure. */
bool voai_retired(const struct voai_failure *f);

#endif
