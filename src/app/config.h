/* The parsed environment: every variable a user can set, read once at start.
 *
 * app/ is the only code that reads the environment. sz_config_load turns it
 * into this struct (strictly: a malformed value stops the server with a
 * reason), and app.c maps the struct onto each layer's own options (the
 * store's, the OpenAI client's, the HTTP transport's, the job pool's size).
 * Nothing below app/ includes this header, so docs/configuration.md and this
 * struct can be checked against each other in one place.
 *
 * Strings are owned by the struct (sz_config_free releases them). A loaded
 * config is read-only and may be read from any thread. */
#ifndef SZ_CONFIG_H
#define SZ_CONFIG_H

#include <stddef.h>

#include "core/log.h"

struct http_options;
struct store_options;

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
    /* No response header this long after the request was sent fails (0: no limit). */
    long first_byte_timeout_ms;          /* SANZARU_FIRST_BYTE_TIMEOUT_MS, default 60000 */
    long download_first_byte_timeout_ms; /* SANZARU_DOWNLOAD_FIRST_BYTE_TIMEOUT_MS, 30000 */
    long image_first_byte_timeout_ms;    /* SANZARU_IMAGE_FIRST_BYTE_TIMEOUT_MS, 300000 */

    /* Video providers (docs/providers.md) */
    char *gemini_api_key;        /* GOOGLE_API_KEY, else GEMINI_API_KEY (the SDK's order) */
    const char *gemini_key_name; /* which of the two it came from (static), or NULL */
    char *gemini_base_url;       /* GEMINI_BASE_URL, no trailing slash; default
                                    https://generativelanguage.googleapis.com/v1beta */
    char *azure_endpoint;        /* AZURE_OPENAI_ENDPOINT, no trailing slash */
    char *azure_base_url;        /* <endpoint>/openai/v1 (unless the endpoint ends so), or NULL */
    char *azure_api_key;         /* AZURE_OPENAI_API_KEY */
    char *video_provider;        /* SANZARU_VIDEO_PROVIDER: openai, azure or gemini; NULL: choose */
    char *state_path; /* SANZARU_STATE_PATH, or NULL for the default (sz_config_state_path) */

    /* Models */
    char *video_model;      /* SANZARU_VIDEO_MODEL; NULL: the video provider's default */
    char *image_model;      /* SANZARU_IMAGE_MODEL, default gpt-image-2 */
    char *responses_model;  /* SANZARU_RESPONSES_MODEL, default gpt-5.2 */
    char *transcribe_model; /* SANZARU_TRANSCRIBE_MODEL, default gpt-4o-mini-transcribe */
    char *speech_model;     /* SANZARU_SPEECH_MODEL, default gpt-4o-mini-tts */
    char *audio_chat_model; /* SANZARU_AUDIO_CHAT_MODEL, default gpt-4o-audio-preview */

    /* Media */
    char *media_path; /* SANZARU_MEDIA_PATH, blanks trimmed; NULL when unset or blank */
    char *video_path; /* VIDEO_PATH, likewise */
    char *image_path; /* IMAGE_PATH, likewise */
    char *audio_path; /* AUDIO_PATH, likewise */
    char *data_home;  /* XDG_DATA_HOME when absolute (a relative one is ignored), else NULL */
    char *home;       /* HOME, else the passwd entry's home; NULL when neither is known */
    int fsync;        /* SANZARU_FSYNC, default 1: fdatasync before a file is published */
    int image_jobs;   /* SANZARU_IMAGE_JOBS, default: number of cores */
    int audio_jobs;   /* SANZARU_AUDIO_JOBS, default: number of cores */
    int transcribe_concurrency; /* SANZARU_TRANSCRIBE_MAX_CONCURRENCY, default 4: windows of
                                   one long transcription uploaded at once */

    /* HTTP transport */
    char *http_token;        /* SANZARU_HTTP_TOKEN */
    char *allowed_origins;   /* SANZARU_ALLOWED_ORIGINS, comma separated */
    char *request_state_key; /* SANZARU_REQUEST_STATE_KEY: seals MCP requestState; NULL: a random
                        key per process. At least 16 characters. */

    long shutdown_grace_ms; /* SANZARU_SHUTDOWN_GRACE_MS, default 10000: calls' time to finish
                               after stdin ends, before they are cancelled */

    /* MCP tasks (docs/tasks.md) */
    long task_ttl_ms;  /* SANZARU_TASK_TTL_MS, default 3600000: a task's life from creation */
    long task_poll_ms; /* SANZARU_TASK_POLL_MS, default 0: the first interval of the server's
                          own upstream polling (0: 5 s for videos, 2 s for images) */

    enum sz_log_level log_level; /* LOG_LEVEL, default INFO */
};

/* Fills *cfg from the environment (getenv; main thread, at start). On a
 * malformed value returns SZ_EINVAL and writes a one-line reason naming the
 * variable to errbuf ("SANZARU_FSYNC must be an integer from 0 to 1, got
 * 'yes'"); on SZ_ENOMEM "out of memory reading the environment". On failure
 * *cfg holds nothing to free. */
int sz_config_load(struct sz_config *cfg, char *errbuf, size_t errlen);

/* Releases the strings; *cfg is zeroed. */
void sz_config_free(struct sz_config *cfg);

/* The state database's file (malloc'd into *ppath, the caller frees it):
 * SANZARU_STATE_PATH, else <media root>/.sanzaru/state.db where the media root is
 * SANZARU_MEDIA_PATH, else XDG_DATA_HOME/sanzaru, else HOME/.local/share/sanzaru.
 * Returns 0, SZ_EINVAL (none of them is known; a sentence in err) or SZ_ENOMEM.
 * Pure; any thread. */
int sz_config_state_path(const struct sz_config *cfg, char **ppath, char *err, size_t errlen);

/* The HTTP transport's options: http_options_init's defaults, then the SANZARU_HTTP_*
 * numbers from the environment (SANZARU_HTTP_MAX_BODY, _MAX_SESSIONS, _MAX_CONNECTIONS,
 * _MAX_CLIENT_CONNECTIONS, _CONNECTION_TIMEOUT, _HEADER_TIMEOUT, _REQUEST_TIMEOUT,
 * _SESSION_TTL), then the token and allowed
 * origins of cfg (borrowed: o's strings point into cfg, which must outlive o; cfg may be
 * NULL to set neither). Returns 0, or SZ_EINVAL with a one-line reason naming the
 * variable in err. Read only when the HTTP transport is chosen, so a stdio server does
 * not fail on an HTTP setting. */
int sz_config_http(const struct sz_config *cfg, struct http_options *o, char *err, size_t errlen);

enum sz_media { SZ_MEDIA_VIDEOS, SZ_MEDIA_IMAGES, SZ_MEDIA_AUDIO };

/* The store options of the media root of one kind, in this order:
 *   VIDEO_PATH / IMAGE_PATH / AUDIO_PATH: must exist, must not be a symlink;
 *   else SANZARU_MEDIA_PATH/{videos,images,audio},
 *   else XDG_DATA_HOME/sanzaru/{videos,images,audio},
 *   else HOME/.local/share/sanzaru/{videos,images,audio}, each created when missing.
 * The audio root takes relative paths into its subdirectories
 * (STORE_OPEN_SUBDIRS), as the original's audio tools do, and its messages
 * use the original's words ("AUDIO_PATH: Audio files directory does not
 * exist: /srv/a").
 * A root that is itself a symlink is refused in every case; SANZARU_FSYNC=0
 * adds STORE_OPEN_NO_FSYNC. Messages name the variable that chose the path
 * ("VIDEO_PATH does not exist: /srv/v"; "Video directory" for the XDG and
 * HOME defaults). On success *ppath is malloc'd (the caller frees it) and
 * opts->path points at it; opts->label is static. Returns 0, SZ_EINVAL (no
 * HOME either; a sentence in err) or SZ_ENOMEM. Pure; any thread. */
int sz_config_media_root(const struct sz_config *cfg, enum sz_media kind,
                         struct store_options *opts, char **ppath, char *err, size_t errlen);

#endif
