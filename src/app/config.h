/* Configuration read from the environment once at start.
 *
 * Every knob a user can turn lives here with its default, so docs/configuration.md
 * and this struct can be checked against each other. Strings are owned by the
 * struct (sz_config_free releases them). The loaded config is read-only after
 * start and may be read from any thread. */
#ifndef SZ_CONFIG_H
#define SZ_CONFIG_H

#include <stddef.h>

#include "core/log.h"

struct sz_config {
    /* OpenAI */
    char *api_key;       /* OPENAI_API_KEY; NULL when unset or empty */
    char *base_url;      /* OPENAI_BASE_URL, no trailing slash; default https://api.openai.com/v1 */
    char *org_id;        /* OPENAI_ORG_ID */
    char *project_id;    /* OPENAI_PROJECT_ID */
    int max_retries;     /* SANZARU_MAX_RETRIES, default 2 */
    int max_concurrency; /* SANZARU_OPENAI_MAX_CONCURRENCY, default 16 */
    long connect_timeout_ms; /* SANZARU_CONNECT_TIMEOUT_MS, default 10000 */
    long request_timeout_ms; /* SANZARU_REQUEST_TIMEOUT_MS, default 600000 */
    long
        stall_timeout_ms; /* SANZARU_STALL_TIMEOUT_MS, default 60000: no byte for this long fails */

    /* Models */
    char *video_model;     /* SANZARU_VIDEO_MODEL, default sora-2 */
    char *image_model;     /* SANZARU_IMAGE_MODEL, default gpt-image-2 */
    char *responses_model; /* SANZARU_RESPONSES_MODEL, default gpt-5.2 */

    /* Media */
    char *media_path; /* SANZARU_MEDIA_PATH */
    char *video_path; /* VIDEO_PATH */
    char *image_path; /* IMAGE_PATH */
    int fsync;        /* SANZARU_FSYNC, default 1: fdatasync before a file is published */
    int image_jobs;   /* SANZARU_IMAGE_JOBS, default: number of cores */

    /* HTTP transport */
    char *http_token;      /* SANZARU_HTTP_TOKEN */
    char *allowed_origins; /* SANZARU_ALLOWED_ORIGINS, comma separated */

    long shutdown_grace_ms; /* SANZARU_SHUTDOWN_GRACE_MS, default 10000: calls' time to finish
                               after stdin ends, before they are cancelled */

    enum sz_log_level log_level; /* LOG_LEVEL, default INFO */
};

/* Fills *cfg from getenv. On a malformed value returns SZ_EINVAL and writes a
 * one-line reason naming the variable to errbuf; *cfg is then freed. */
int sz_config_load(struct sz_config *cfg, char *errbuf, size_t errlen);
void sz_config_free(struct sz_config *cfg);

/* The HTTP transport's options: http_options_init's defaults, then the SANZARU_HTTP_*
 * numbers from the environment (SANZARU_HTTP_MAX_BODY, _MAX_SESSIONS, _MAX_CONNECTIONS,
 * _MAX_CLIENT_CONNECTIONS, _CONNECTION_TIMEOUT, _HEADER_TIMEOUT, _REQUEST_TIMEOUT,
 * _SESSION_TTL), then the token and allowed
 * origins of cfg (borrowed: o's strings point into cfg, which must outlive o; cfg may be
 * NULL to set neither). Returns 0, or SZ_EINVAL with a one-line reason naming the
 * variable in err. Read only when the HTTP transport is chosen, so a stdio server does
 * not fail on an HTTP setting. */
struct http_options;
int sz_config_http(const struct sz_config *cfg, struct http_options *o, char *err, size_t errlen);

/* The process-wide configuration, set once by main (or a test) before the loop
 * runs. Borrowed; lives until exit. */
const struct sz_config *sz_config_get(void);
void sz_config_set(const struct sz_config *cfg);

#endif
