/* Environment parsing for config.h. Numeric variables are validated strictly so
 * a typo ("SANZARU_MAX_RETRIES=two") stops the server with a clear reason
 * instead of silently becoming a default. */
#include "fmacros.h"

#include "app/config.h"
#include "core/err.h"
#include "core/parse.h"
#include "transport/http.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct sz_config *current;

const struct sz_config *sz_config_get(void)
{
    return current;
}

void sz_config_set(const struct sz_config *cfg)
{
    current = cfg;
}

static char *env_dup(const char *name, const char *fallback)
{
    const char *v = getenv(name);
    if (v == NULL || v[0] == '\0')
        v = fallback;
    return v ? strdup(v) : NULL;
}

static int env_long(const char *name, long def, long min, long max, long *out, char *errbuf,
                    size_t errlen)
{
    const char *v = getenv(name);
    char *end = NULL;
    long n;

    if (v == NULL || v[0] == '\0') {
        *out = def;
        return 0;
    }
    errno = 0;
    n = strtol(v, &end, 10);
    if (errno != 0 || end == v || *end != '\0' || n < min || n > max) {
        snprintf(errbuf, errlen, "%s must be an integer from %ld to %ld, got '%s'", name, min, max,
                 v);
        return SZ_EINVAL;
    }
    *out = n;
    return 0;
}

int sz_config_load(struct sz_config *cfg, char *errbuf, size_t errlen)
{
    long n;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int rc;
    const char *lvl;

    memset(cfg, 0, sizeof(*cfg));
    cfg->api_key = env_dup("OPENAI_API_KEY", NULL);
    cfg->base_url = env_dup("OPENAI_BASE_URL", "https://api.openai.com/v1");
    cfg->org_id = env_dup("OPENAI_ORG_ID", NULL);
    cfg->project_id = env_dup("OPENAI_PROJECT_ID", NULL);
    cfg->video_model = env_dup("SANZARU_VIDEO_MODEL", "sora-2");
    cfg->image_model = env_dup("SANZARU_IMAGE_MODEL", "gpt-image-2");
    cfg->responses_model = env_dup("SANZARU_RESPONSES_MODEL", "gpt-5.2");
    cfg->media_path = env_dup("SANZARU_MEDIA_PATH", NULL);
    cfg->video_path = env_dup("VIDEO_PATH", NULL);
    cfg->image_path = env_dup("IMAGE_PATH", NULL);
    cfg->http_token = env_dup("SANZARU_HTTP_TOKEN", NULL);
    cfg->allowed_origins = env_dup("SANZARU_ALLOWED_ORIGINS", NULL);
    if (cfg->base_url == NULL || cfg->video_model == NULL || cfg->image_model == NULL ||
        cfg->responses_model == NULL) {
        snprintf(errbuf, errlen, "out of memory reading the environment");
        rc = SZ_ENOMEM;
        goto fail;
    }
    /* "https://host/v1/" and "https://host/v1" must build the same URLs. */
    for (size_t len = strlen(cfg->base_url); len > 0 && cfg->base_url[len - 1] == '/'; len--)
        cfg->base_url[len - 1] = '\0';

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
    if ((rc = env_long("SANZARU_FSYNC", 1, 0, 1, &n, errbuf, errlen)) != 0)
        goto fail;
    cfg->fsync = (int)n;
    if ((rc = env_long("SANZARU_IMAGE_JOBS", cores > 0 ? cores : 2, 1, 256, &n, errbuf, errlen)) !=
        0)
        goto fail;
    cfg->image_jobs = (int)n;
    if ((rc = env_long("SANZARU_SHUTDOWN_GRACE_MS", 10000, 1, 3600000L, &cfg->shutdown_grace_ms,
                       errbuf, errlen)) != 0)
        goto fail;

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
    free(cfg->image_model);
    free(cfg->responses_model);
    free(cfg->media_path);
    free(cfg->video_path);
    free(cfg->image_path);
    free(cfg->http_token);
    free(cfg->allowed_origins);
    memset(cfg, 0, sizeof(*cfg));
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
