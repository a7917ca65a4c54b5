/* Environment parsing for config.h, and the rules that turn it into the media
 * roots' store options. Numbers go through core/parse.h, strictly, so a typo
 * ("SANZARU_MAX_RETRIES=two", "10 ") stops the server with a clear reason
 * instead of silently becoming a default. */
#include "fmacros.h"

#include "app/config.h"
#include "core/err.h"
#include "core/parse.h"
#include "store/store.h"
#include "transport/http.h"

#include <ctype.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A copy of the variable, or of fallback when it is unset or empty; NULL when
 * both are. Sets *pnomem when a copy could not be made. */
static char *env_dup(const char *name, const char *fallback, bool *pnomem)
{
    const char *v = getenv(name);
    char *r;

    if (v == NULL || v[0] == '\0')
        v = fallback;
    if (v == NULL)
        return NULL;
    r = strdup(v);
    if (r == NULL)
        *pnomem = true;
    return r;
}

/* A copy of the variable without surrounding blanks (as the Python original
 * strips the path variables), or NULL when that leaves nothing. */
static char *env_trimmed(const char *name, bool *pnomem)
{
    const char *s = getenv(name);
    size_t b = 0, e;
    char *r;

    if (s == NULL)
        return NULL;
    e = strlen(s);
    while (b < e && isspace((unsigned char)s[b]))
        b++;
    while (e > b && isspace((unsigned char)s[e - 1]))
        e--;
    if (e == b)
        return NULL;
    r = strndup(s + b, e - b);
    if (r == NULL)
        *pnomem = true;
    return r;
}

/* An integer variable within [min, max]; def when unset or empty. */
static int env_long(const char *name, long def, long min, long max, long *out, char *errbuf,
                    size_t errlen)
{
    long long n = def;
    int rc = sz_parse_setting(name, getenv(name), min, max, &n, errbuf, errlen);

    if (rc == 0)
        *out = (long)n;
    return rc;
}

/* HOME, else the passwd entry's home directory; NULL when neither is known. */
static char *home_dir(bool *pnomem)
{
    char *home = env_dup("HOME", NULL, pnomem);
    struct passwd pw, *ppw = NULL;
    char pwbuf[4096];

    if (home != NULL || *pnomem)
        return home;
    if (getpwuid_r(getuid(), &pw, pwbuf, sizeof(pwbuf), &ppw) != 0 || ppw == NULL ||
        ppw->pw_dir == NULL || ppw->pw_dir[0] == '\0')
        return NULL;
    home = strdup(ppw->pw_dir);
    if (home == NULL)
        *pnomem = true;
    return home;
}

static void trim_slashes(char *s)
{
    for (size_t len = s != NULL ? strlen(s) : 0; len > 0 && s[len - 1] == '/'; len--)
        s[len - 1] = '\0';
}

/* Azure OpenAI's v1 API lives at <endpoint>/openai/v1; an endpoint given with that
 * path already is taken as it is. */
static int azure_base(struct sz_config *cfg, char *errbuf, size_t errlen)
{
    static const char suffix[] = "/openai/v1";
    size_t n;

    if (cfg->azure_endpoint == NULL)
        return 0;
    trim_slashes(cfg->azure_endpoint);
    if (strncmp(cfg->azure_endpoint, "https://", 8) != 0 &&
        strncmp(cfg->azure_endpoint, "http://", 7) != 0) {
        snprintf(errbuf, errlen,
                 "AZURE_OPENAI_ENDPOINT must be an https URL such as "
                 "https://NAME.openai.azure.com, got '%.200s'",
                 cfg->azure_endpoint);
        return SZ_EINVAL;
    }
    n = strlen(cfg->azure_endpoint);
    if (n >= sizeof(suffix) - 1 &&
        strcmp(cfg->azure_endpoint + n - (sizeof(suffix) - 1), suffix) == 0)
        cfg->azure_base_url = strdup(cfg->azure_endpoint);
    else if ((cfg->azure_base_url = malloc(n + sizeof(suffix))) != NULL)
        snprintf(cfg->azure_base_url, n + sizeof(suffix), "%s%s", cfg->azure_endpoint, suffix);
    if (cfg->azure_base_url == NULL) {
        snprintf(errbuf, errlen, "out of memory reading the environment");
        return SZ_ENOMEM;
    }
    return 0;
}

static int load_strings(struct sz_config *cfg, char *errbuf, size_t errlen)
{
    bool nomem = false;
    char *xdg;

    cfg->api_key = env_dup("OPENAI_API_KEY", NULL, &nomem);
    cfg->base_url = env_dup("OPENAI_BASE_URL", "https://api.openai.com/v1", &nomem);
    cfg->org_id = env_dup("OPENAI_ORG_ID", NULL, &nomem);
    cfg->project_id = env_dup("OPENAI_PROJECT_ID", NULL, &nomem);
    cfg->video_model = env_dup("SANZARU_VIDEO_MODEL", NULL, &nomem);
    /* Google's SDK reads GOOGLE_API_KEY first when both are set; so do we. */
    cfg->gemini_key_name =
        getenv("GOOGLE_API_KEY") != NULL && getenv("GOOGLE_API_KEY")[0] != '\0'   ? "GOOGLE_API_KEY"
        : getenv("GEMINI_API_KEY") != NULL && getenv("GEMINI_API_KEY")[0] != '\0' ? "GEMINI_API_KEY"
                                                                                  : NULL;
    if (cfg->gemini_key_name != NULL)
        cfg->gemini_api_key = env_dup(cfg->gemini_key_name, NULL, &nomem);
    cfg->gemini_base_url =
        env_dup("GEMINI_BASE_URL", "https://generativelanguage.googleapis.com/v1beta", &nomem);
    cfg->azure_endpoint = env_trimmed("AZURE_OPENAI_ENDPOINT", &nomem);
    cfg->azure_api_key = env_dup("AZURE_OPENAI_API_KEY", NULL, &nomem);
    cfg->video_provider = env_dup("SANZARU_VIDEO_PROVIDER", NULL, &nomem);
    cfg->state_path = env_trimmed("SANZARU_STATE_PATH", &nomem);
    cfg->image_model = env_dup("SANZARU_IMAGE_MODEL", "gpt-image-2", &nomem);
    cfg->responses_model = env_dup("SANZARU_RESPONSES_MODEL", "gpt-5.2", &nomem);
    cfg->transcribe_model = env_dup("SANZARU_TRANSCRIBE_MODEL", "gpt-4o-mini-transcribe", &nomem);
    cfg->speech_model = env_dup("SANZARU_SPEECH_MODEL", "gpt-4o-mini-tts", &nomem);
    cfg->audio_chat_model = env_dup("SANZARU_AUDIO_CHAT_MODEL", "gpt-4o-audio-preview", &nomem);
    cfg->media_path = env_trimmed("SANZARU_MEDIA_PATH", &nomem);
    cfg->video_path = env_trimmed("VIDEO_PATH", &nomem);
    cfg->image_path = env_trimmed("IMAGE_PATH", &nomem);
    cfg->audio_path = env_trimmed("AUDIO_PATH", &nomem);
    xdg = env_dup("XDG_DATA_HOME", NULL, &nomem);
    if (xdg != NULL && xdg[0] != '/') { /* the XDG spec: a relative value is ignored */
        free(xdg);
        xdg = NULL;
    }
    cfg->data_home = xdg;
    cfg->home = home_dir(&nomem);
    cfg->http_token = env_dup("SANZARU_HTTP_TOKEN", NULL, &nomem);
    cfg->allowed_origins = env_dup("SANZARU_ALLOWED_ORIGINS", NULL, &nomem);
    cfg->request_state_key = env_dup("SANZARU_REQUEST_STATE_KEY", NULL, &nomem);
    if (nomem) {
        snprintf(errbuf, errlen, "out of memory reading the environment");
        return SZ_ENOMEM;
    }
    /* "https://host/v1/" and "https://host/v1" must build the same URLs. */
    trim_slashes(cfg->base_url);
    trim_slashes(cfg->gemini_base_url);
    return azure_base(cfg, errbuf, errlen);
}

int sz_config_load(struct sz_config *cfg, char *errbuf, size_t errlen)
{
    long n;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int rc;
    const char *lvl;

    memset(cfg, 0, sizeof(*cfg));
    if ((rc = load_strings(cfg, errbuf, errlen)) != 0)
        goto fail;

    if ((rc = env_long("SANZARU_MAX_RETRIES", 2, 0, 10, &n, errbuf, errlen)) != 0)
        goto fail;
    cfg->max_retries = (int)n;
    if ((rc = env_long("SANZARU_OPENAI_MAX_CONCURRENCY", 16, 1, 1024, &n, errbuf, errlen)) != 0)
        goto fail;
    cfg->max_concurrency = (int)n;
    if ((rc = env_long("SANZARU_CONNECT_TIMEOUT_MS", 10000, 1, 600000, &cfg->connect_timeout_ms,
                       errbuf, errlen)) != 0)
        goto fail;
    if ((rc = env_long("SANZARU_REQUEST_TIMEOUT_MS", 600000, 1, 86400000L, &cfg->request_timeout_ms,
                       errbuf, errlen)) != 0)
        goto fail;
    if ((rc = env_long("SANZARU_STALL_TIMEOUT_MS", 60000, 1, 3600000L, &cfg->stall_timeout_ms,
                       errbuf, errlen)) != 0)
        goto fail;
    if ((rc = env_long("SANZARU_FIRST_BYTE_TIMEOUT_MS", 60000, 0, 86400000L,
                       &cfg->first_byte_timeout_ms, errbuf, errlen)) != 0 ||
        (rc = env_long("SANZARU_DOWNLOAD_FIRST_BYTE_TIMEOUT_MS", 30000, 0, 86400000L,
                       &cfg->download_first_byte_timeout_ms, errbuf, errlen)) != 0 ||
        (rc = env_long("SANZARU_IMAGE_FIRST_BYTE_TIMEOUT_MS", 300000, 0, 86400000L,
                       &cfg->image_first_byte_timeout_ms, errbuf, errlen)) != 0)
        goto fail;
    if ((rc = env_long("SANZARU_FSYNC", 1, 0, 1, &n, errbuf, errlen)) != 0)
        goto fail;
    cfg->fsync = (int)n;
    if ((rc = env_long("SANZARU_IMAGE_JOBS", cores > 0 ? cores : 2, 1, 256, &n, errbuf, errlen)) !=
        0)
        goto fail;
    cfg->image_jobs = (int)n;
    if ((rc = env_long("SANZARU_AUDIO_JOBS", cores > 0 ? cores : 2, 1, 256, &n, errbuf, errlen)) !=
        0)
        goto fail;
    cfg->audio_jobs = (int)n;
    /* The original hangs on 0 and ignores bad values; both are refused here. */
    if ((rc = env_long("SANZARU_TRANSCRIBE_MAX_CONCURRENCY", 4, 1, 64, &n, errbuf, errlen)) != 0)
        goto fail;
    cfg->transcribe_concurrency = (int)n;
    if ((rc = env_long("SANZARU_SHUTDOWN_GRACE_MS", 10000, 1, 3600000L, &cfg->shutdown_grace_ms,
                       errbuf, errlen)) != 0)
        goto fail;
    if ((rc = env_long("SANZARU_TASK_TTL_MS", 3600000L, 1000, 86400000L, &cfg->task_ttl_ms, errbuf,
                       errlen)) != 0 ||
        (rc = env_long("SANZARU_TASK_POLL_MS", 0, 0, 600000L, &cfg->task_poll_ms, errbuf,
                       errlen)) != 0)
        goto fail;
    if (cfg->request_state_key != NULL && strlen(cfg->request_state_key) < 16) {
        /* A short key could be guessed, and sealed state forged with it. */
        snprintf(errbuf, errlen, "SANZARU_REQUEST_STATE_KEY must be at least 16 characters");
        rc = SZ_EINVAL;
        goto fail;
    }

    if (cfg->video_provider != NULL && strcmp(cfg->video_provider, "openai") != 0 &&
        strcmp(cfg->video_provider, "azure") != 0 && strcmp(cfg->video_provider, "gemini") != 0) {
        snprintf(errbuf, errlen,
                 "SANZARU_VIDEO_PROVIDER must be openai, azure or gemini, got '%.64s'",
                 cfg->video_provider);
        rc = SZ_EINVAL;
        goto fail;
    }

    cfg->log_level = SZ_LOG_INFO;
    lvl = getenv("LOG_LEVEL");
    if (lvl != NULL && lvl[0] != '\0' && sz_log_parse_level(lvl, &cfg->log_level) != 0) {
        snprintf(errbuf, errlen, "LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, got '%s'", lvl);
        rc = SZ_EINVAL;
        goto fail;
    }
    return 0;

fail:
    sz_config_free(cfg);
    return rc;
}

void sz_config_free(struct sz_config *cfg)
{
    free(cfg->api_key);
    free(cfg->base_url);
    free(cfg->org_id);
    free(cfg->project_id);
    free(cfg->video_model);
    free(cfg->gemini_api_key);
    free(cfg->gemini_base_url);
    free(cfg->azure_endpoint);
    free(cfg->azure_base_url);
    free(cfg->azure_api_key);
    free(cfg->video_provider);
    free(cfg->state_path);
    free(cfg->image_model);
    free(cfg->responses_model);
    free(cfg->transcribe_model);
    free(cfg->speech_model);
    free(cfg->audio_chat_model);
    free(cfg->media_path);
    free(cfg->video_path);
    free(cfg->image_path);
    free(cfg->audio_path);
    free(cfg->data_home);
    free(cfg->home);
    free(cfg->http_token);
    free(cfg->allowed_origins);
    if (cfg->request_state_key != NULL)
        memset(cfg->request_state_key, 0, strlen(cfg->request_state_key));
    free(cfg->request_state_key);
    memset(cfg, 0, sizeof(*cfg));
}

static char *join(const char *a, const char *b)
{
    size_t n = strlen(a) + 1 + strlen(b) + 1;
    char *r = malloc(n);
    if (r != NULL)
        snprintf(r, n, "%s/%s", a, b);
    return r;
}

/* What differs between the media kinds: the variable of their own, the
 * subdirectory of a media root, the labels of messages, extra store flags. */
struct kind {
    const char *var;         /* VIDEO_PATH */
    const char *sub;         /* "videos" */
    const char *own_label;   /* chosen by var */
    const char *media_label; /* chosen by SANZARU_MEDIA_PATH */
    const char *dflt_label;  /* the XDG and HOME defaults */
    int flags;
};

static const struct kind kinds[] = {
    [SZ_MEDIA_VIDEOS] = {"VIDEO_PATH", "videos", "VIDEO_PATH", "SANZARU_MEDIA_PATH",
                         "Video directory", 0},
    [SZ_MEDIA_IMAGES] = {"IMAGE_PATH", "images", "IMAGE_PATH", "SANZARU_MEDIA_PATH",
                         "Image directory", 0},
    /* The original's words: "<VAR>: Audio files directory does not exist: <path>". */
    [SZ_MEDIA_AUDIO] = {"AUDIO_PATH", "audio", "AUDIO_PATH: Audio files directory",
                        "SANZARU_MEDIA_PATH: Audio files directory", "Audio files directory",
                        STORE_OPEN_SUBDIRS},
};

int sz_config_media_root(const struct sz_config *cfg, enum sz_media kind,
                         struct store_options *opts, char **ppath, char *err, size_t errlen)
{
    const struct kind *k = &kinds[kind];
    const char *own = kind == SZ_MEDIA_VIDEOS   ? cfg->video_path
                      : kind == SZ_MEDIA_IMAGES ? cfg->image_path
                                                : cfg->audio_path;
    char sub[64];
    char *path = NULL;
    int rc = 0;

    *ppath = NULL;
    memset(opts, 0, sizeof(*opts));
    opts->flags =
        STORE_OPEN_CREATE | STORE_OPEN_NOFOLLOW | k->flags | (cfg->fsync ? 0 : STORE_OPEN_NO_FSYNC);
    if (own != NULL) {
        path = strdup(own);
        opts->flags &= ~STORE_OPEN_CREATE;
        opts->label = k->own_label;
    } else if (cfg->media_path != NULL) {
        path = join(cfg->media_path, k->sub);
        opts->label = k->media_label;
    } else if (cfg->data_home != NULL || cfg->home != NULL) {
        snprintf(sub, sizeof(sub), "%s/%s",
                 cfg->data_home != NULL ? "sanzaru" : ".local/share/sanzaru", k->sub);
        path = join(cfg->data_home != NULL ? cfg->data_home : cfg->home, sub);
        opts->label = k->dflt_label;
    } else {
        snprintf(err, errlen,
                 "Cannot find a place for media files: set %s or SANZARU_MEDIA_PATH (HOME is "
                 "not set)",
                 k->var);
        rc = SZ_EINVAL;
        goto out;
    }
    if (path == NULL) {
        snprintf(err, errlen, "out of memory");
        rc = SZ_ENOMEM;
        goto out;
    }
    opts->path = path;
    *ppath = path;
out:
    return rc;
}

int sz_config_state_path(const struct sz_config *cfg, char **ppath, char *err, size_t errlen)
{
    *ppath = NULL;
    if (cfg->state_path != NULL)
        *ppath = strdup(cfg->state_path);
    else if (cfg->media_path != NULL)
        *ppath = join(cfg->media_path, ".sanzaru/state.db");
    else if (cfg->data_home != NULL)
        *ppath = join(cfg->data_home, "sanzaru/.sanzaru/state.db");
    else if (cfg->home != NULL)
        *ppath = join(cfg->home, ".local/share/sanzaru/.sanzaru/state.db");
    else {
        snprintf(err, errlen,
                 "Cannot find a place for the state database: set SANZARU_STATE_PATH or "
                 "SANZARU_MEDIA_PATH (HOME is not set)");
        return SZ_EINVAL;
    }
    if (*ppath == NULL) {
        snprintf(err, errlen, "out of memory");
        return SZ_ENOMEM;
    }
    return 0;
}

/* One SANZARU_HTTP_* number: *pv keeps its value when the variable is unset or empty. */
static int http_num(const char *name, long long min, long long max, long long *pv, char *err,
                    size_t errlen)
{
    return sz_parse_setting(name, getenv(name), min, max, pv, err, errlen);
}

int sz_config_http(const struct sz_config *cfg, struct http_options *o, char *err, size_t errlen)
{
    long long body, sessions, conns, client, idle, header, request, ttl;
    int rc;

    http_options_init(o);
    body = (long long)o->max_body;
    sessions = o->max_sessions;
    conns = o->max_connections;
    client = o->max_client_connections;
    idle = o->connection_timeout_s;
    header = o->header_timeout_s;
    request = o->request_timeout_s;
    ttl = (long long)(o->session_ttl_ms / 1000);
    if ((rc = http_num("SANZARU_HTTP_MAX_BODY", 1024, 1ll << 30, &body, err, errlen)) != 0 ||
        (rc = http_num("SANZARU_HTTP_MAX_SESSIONS", 1, 1000000, &sessions, err, errlen)) != 0 ||
        (rc = http_num("SANZARU_HTTP_MAX_CONNECTIONS", 1, 1000000, &conns, err, errlen)) != 0 ||
        (rc = http_num("SANZARU_HTTP_MAX_CLIENT_CONNECTIONS", 1, 1000000, &client, err, errlen)) !=
            0 ||
        (rc = http_num("SANZARU_HTTP_CONNECTION_TIMEOUT", 1, 86400, &idle, err, errlen)) != 0 ||
        (rc = http_num("SANZARU_HTTP_HEADER_TIMEOUT", 1, 86400, &header, err, errlen)) != 0 ||
        (rc = http_num("SANZARU_HTTP_REQUEST_TIMEOUT", 1, 86400, &request, err, errlen)) != 0 ||
        (rc = http_num("SANZARU_HTTP_SESSION_TTL", 1, 31ll * 86400, &ttl, err, errlen)) != 0)
        return rc;
    o->max_body = (size_t)body;
    o->max_sessions = (unsigned)sessions;
    o->max_connections = (unsigned)conns;
    o->max_client_connections = (unsigned)client;
    o->connection_timeout_s = (unsigned)idle;
    o->header_timeout_s = (unsigned)header;
    o->request_timeout_s = (unsigned)request;
    o->session_ttl_ms = (uint64_t)ttl * 1000;
    if (cfg != NULL) {
        o->token = cfg->http_token;
        o->allowed_origins = cfg->allowed_origins;
    }
    return 0;
}
