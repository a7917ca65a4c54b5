/* The environment, parsed (app/config.c): every variable's default, every
 * numeric variable's bounds and the one-line refusal of each kind of bad
 * value, string variables (trimming, trailing slashes, empty means unset), and
 * the rules that choose the media roots, down to the store's messages that
 * name the variable. Each test starts from an environment without any of the
 * variables below. */
#include "fmacros.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ftw.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "app/config.h"
#include "core/err.h"
#include "store/store.h"

static const char *const all_vars[] = {
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "OPENAI_ORG_ID",
    "OPENAI_PROJECT_ID",
    "SANZARU_MAX_RETRIES",
    "SANZARU_OPENAI_MAX_CONCURRENCY",
    "SANZARU_CONNECT_TIMEOUT_MS",
    "SANZARU_REQUEST_TIMEOUT_MS",
    "SANZARU_STALL_TIMEOUT_MS",
    "SANZARU_FIRST_BYTE_TIMEOUT_MS",
    "SANZARU_DOWNLOAD_FIRST_BYTE_TIMEOUT_MS",
    "SANZARU_IMAGE_FIRST_BYTE_TIMEOUT_MS",
    "SANZARU_VIDEO_MODEL",
    "SANZARU_VIDEO_PROVIDER",
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY",
    "GEMINI_BASE_URL",
    "AZURE_OPENAI_ENDPOINT",
    "AZURE_OPENAI_API_KEY",
    "SANZARU_STATE_PATH",
    "SANZARU_IMAGE_MODEL",
    "SANZARU_RESPONSES_MODEL",
    "SANZARU_TRANSCRIBE_MODEL",
    "SANZARU_SPEECH_MODEL",
    "SANZARU_AUDIO_CHAT_MODEL",
    "SANZARU_MEDIA_PATH",
    "VIDEO_PATH",
    "IMAGE_PATH",
    "AUDIO_PATH",
    "XDG_DATA_HOME",
    "SANZARU_FSYNC",
    "SANZARU_IMAGE_JOBS",
    "SANZARU_AUDIO_JOBS",
    "SANZARU_TRANSCRIBE_MAX_CONCURRENCY",
    "SANZARU_HTTP_TOKEN",
    "SANZARU_ALLOWED_ORIGINS",
    "SANZARU_SHUTDOWN_GRACE_MS",
    "SANZARU_TASK_TTL_MS",
    "SANZARU_TASK_POLL_MS",
    "SANZARU_REQUEST_STATE_KEY",
    "LOG_LEVEL",
};

static char saved_home[PATH_MAX];

static int clean_env(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(all_vars) / sizeof(all_vars[0]); i++)
        unsetenv(all_vars[i]);
    setenv("HOME", saved_home, 1);
    return 0;
}

static void load_ok(struct sz_config *cfg)
{
    char err[256] = "";
    int rc = sz_config_load(cfg, err, sizeof(err));
    if (rc != 0)
        fail_msg("sz_config_load: %s", err);
}

/* ---- numbers ------------------------------------------------------------------------- */

struct num_var {
    const char *name;
    long long def; /* -1: the number of cores */
    long long min, max;
};

static const struct num_var num_vars[] = {
    {"SANZARU_MAX_RETRIES", 2, 0, 10},
    {"SANZARU_OPENAI_MAX_CONCURRENCY", 16, 1, 1024},
    {"SANZARU_CONNECT_TIMEOUT_MS", 10000, 1, 600000},
    {"SANZARU_REQUEST_TIMEOUT_MS", 600000, 1, 86400000},
    {"SANZARU_STALL_TIMEOUT_MS", 60000, 1, 3600000},
    {"SANZARU_FSYNC", 1, 0, 1},
    {"SANZARU_IMAGE_JOBS", -1, 1, 256},
    {"SANZARU_SHUTDOWN_GRACE_MS", 10000, 1, 3600000},
    {"SANZARU_FIRST_BYTE_TIMEOUT_MS", 60000, 0, 86400000},
    {"SANZARU_DOWNLOAD_FIRST_BYTE_TIMEOUT_MS", 30000, 0, 86400000},
    {"SANZARU_IMAGE_FIRST_BYTE_TIMEOUT_MS", 300000, 0, 86400000},
    {"SANZARU_AUDIO_JOBS", -1, 1, 256},
    {"SANZARU_TRANSCRIBE_MAX_CONCURRENCY", 4, 1, 64},
    {"SANZARU_TASK_TTL_MS", 3600000, 1000, 86400000},
    {"SANZARU_TASK_POLL_MS", 0, 0, 600000},
};

/* The parsed value of the variable at index i of num_vars. */
static long long num_value(const struct sz_config *cfg, size_t i)
{
    switch (i) {
    case 0:
        return cfg->max_retries;
    case 1:
        return cfg->max_concurrency;
    case 2:
        return cfg->connect_timeout_ms;
    case 3:
        return cfg->request_timeout_ms;
    case 4:
        return cfg->stall_timeout_ms;
    case 5:
        return cfg->fsync;
    case 6:
        return cfg->image_jobs;
    case 7:
        return cfg->shutdown_grace_ms;
    case 8:
        return cfg->first_byte_timeout_ms;
    case 9:
        return cfg->download_first_byte_timeout_ms;
    case 10:
        return cfg->image_first_byte_timeout_ms;
    case 11:
        return cfg->audio_jobs;
    case 12:
        return cfg->transcribe_concurrency;
    case 13:
        return cfg->task_ttl_ms;
    case 14:
        return cfg->task_poll_ms;
    }
    fail();
    return 0;
}

static void test_number_defaults(void **state)
{
    struct sz_config cfg;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    (void)state;

    load_ok(&cfg);
    for (size_t i = 0; i < sizeof(num_vars) / sizeof(num_vars[0]); i++) {
        long long def = num_vars[i].def < 0 ? (cores > 0 ? cores : 2) : num_vars[i].def;
        assert_int_equal(num_value(&cfg, i), def);
    }
    sz_config_free(&cfg);

    /* Empty means unset, not zero. */
    for (size_t i = 0; i < sizeof(num_vars) / sizeof(num_vars[0]); i++)
        setenv(num_vars[i].name, "", 1);
    load_ok(&cfg);
    assert_int_equal(cfg.max_retries, 2);
    assert_int_equal(cfg.fsync, 1);
    sz_config_free(&cfg);
}

static void test_number_bounds(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(num_vars) / sizeof(num_vars[0]); i++) {
        const struct num_var *v = &num_vars[i];
        char text[32];
        struct sz_config cfg;

        snprintf(text, sizeof(text), "%lld", v->min);
        setenv(v->name, text, 1);
        load_ok(&cfg);
        assert_int_equal(num_value(&cfg, i), v->min);
        sz_config_free(&cfg);

        snprintf(text, sizeof(text), "%lld", v->max);
        setenv(v->name, text, 1);
        load_ok(&cfg);
        assert_int_equal(num_value(&cfg, i), v->max);
        sz_config_free(&cfg);
        unsetenv(v->name);
    }
}

static void test_number_refusals(void **state)
{
    static const char *const bad[] = {
        "two", "12abc", " 1", "1 ", "+1", "0x10", "1.5", "1e3", "-", "99999999999999999999999",
    };
    (void)state;

    for (size_t i = 0; i < sizeof(num_vars) / sizeof(num_vars[0]); i++) {
        const struct num_var *v = &num_vars[i];
        char below[32], above[32];
        const char *values[sizeof(bad) / sizeof(bad[0]) + 2];
        size_t n = 0;

        snprintf(below, sizeof(below), "%lld", v->min - 1);
        snprintf(above, sizeof(above), "%lld", v->max + 1);
        values[n++] = below;
        values[n++] = above;
        for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++)
            values[n++] = bad[k];
        for (size_t k = 0; k < n; k++) {
            struct sz_config cfg;
            char err[256] = "";
            char want[256];

            setenv(v->name, values[k], 1);
            assert_int_equal(sz_config_load(&cfg, err, sizeof(err)), SZ_EINVAL);
            snprintf(want, sizeof(want), "%s must be an integer from %lld to %lld, got '%s'",
                     v->name, v->min, v->max, values[k]);
            assert_string_equal(err, want);
            /* Nothing is left to free, and freeing again is harmless. */
            assert_null(cfg.base_url);
            sz_config_free(&cfg);
        }
        unsetenv(v->name);
    }
}

/* ---- strings and the log level --------------------------------------------------------- */

static void test_string_defaults(void **state)
{
    struct sz_config cfg;
    (void)state;

    load_ok(&cfg);
    assert_null(cfg.api_key);
    assert_string_equal(cfg.base_url, "https://api.openai.com/v1");
    assert_null(cfg.org_id);
    assert_null(cfg.project_id);
    assert_null(cfg.video_model); /* the video provider's default */
    assert_null(cfg.video_provider);
    assert_null(cfg.gemini_api_key);
    assert_null(cfg.gemini_key_name);
    assert_string_equal(cfg.gemini_base_url, "https://generativelanguage.googleapis.com/v1beta");
    assert_null(cfg.azure_endpoint);
    assert_null(cfg.azure_base_url);
    assert_null(cfg.azure_api_key);
    assert_null(cfg.state_path);
    assert_string_equal(cfg.image_model, "gpt-image-2");
    assert_string_equal(cfg.responses_model, "gpt-5.2");
    assert_string_equal(cfg.transcribe_model, "gpt-4o-mini-transcribe");
    assert_string_equal(cfg.speech_model, "gpt-4o-mini-tts");
    assert_string_equal(cfg.audio_chat_model, "gpt-4o-audio-preview");
    assert_null(cfg.audio_path);
    assert_null(cfg.media_path);
    assert_null(cfg.video_path);
    assert_null(cfg.image_path);
    assert_null(cfg.data_home);
    assert_string_equal(cfg.home, saved_home);
    assert_null(cfg.http_token);
    assert_null(cfg.allowed_origins);
    assert_null(cfg.request_state_key);
    assert_int_equal(cfg.log_level, SZ_LOG_INFO);
    sz_config_free(&cfg);
}

static void test_string_values(void **state)
{
    struct sz_config cfg;
    (void)state;

    setenv("OPENAI_API_KEY", "sk-test", 1);
    setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1///", 1);
    setenv("OPENAI_ORG_ID", "org-1", 1);
    setenv("OPENAI_PROJECT_ID", "proj-1", 1);
    setenv("SANZARU_VIDEO_MODEL", "sora-2-pro", 1);
    setenv("SANZARU_IMAGE_MODEL", "gpt-image-1", 1);
    setenv("SANZARU_RESPONSES_MODEL", "gpt-5", 1);
    setenv("SANZARU_TRANSCRIBE_MODEL", "whisper-1", 1);
    setenv("SANZARU_SPEECH_MODEL", "tts-1-hd", 1);
    setenv("SANZARU_AUDIO_CHAT_MODEL", "gpt-4o-mini-audio-preview", 1);
    setenv("AUDIO_PATH", " /srv/a ", 1);
    setenv("SANZARU_MEDIA_PATH", " \t/srv/media \n", 1);
    setenv("VIDEO_PATH", "/srv/v", 1);
    setenv("IMAGE_PATH", "   ", 1); /* blank: unset */
    setenv("XDG_DATA_HOME", "/srv/xdg", 1);
    setenv("SANZARU_HTTP_TOKEN", "tok", 1);
    setenv("SANZARU_ALLOWED_ORIGINS", "https://a.example,https://b.example", 1);
    setenv("SANZARU_REQUEST_STATE_KEY", "shared-by-every-instance", 1);
    load_ok(&cfg);
    assert_string_equal(cfg.api_key, "sk-test");
    assert_string_equal(cfg.base_url, "http://127.0.0.1:9/v1"); /* trailing slashes go */
    assert_string_equal(cfg.org_id, "org-1");
    assert_string_equal(cfg.project_id, "proj-1");
    assert_string_equal(cfg.video_model, "sora-2-pro");
    assert_string_equal(cfg.image_model, "gpt-image-1");
    assert_string_equal(cfg.responses_model, "gpt-5");
    assert_string_equal(cfg.transcribe_model, "whisper-1");
    assert_string_equal(cfg.speech_model, "tts-1-hd");
    assert_string_equal(cfg.audio_chat_model, "gpt-4o-mini-audio-preview");
    assert_string_equal(cfg.audio_path, "/srv/a");
    assert_string_equal(cfg.media_path, "/srv/media"); /* blanks trimmed */
    assert_string_equal(cfg.video_path, "/srv/v");
    assert_null(cfg.image_path);
    assert_string_equal(cfg.data_home, "/srv/xdg");
    assert_string_equal(cfg.http_token, "tok");
    assert_string_equal(cfg.allowed_origins, "https://a.example,https://b.example");
    assert_string_equal(cfg.request_state_key, "shared-by-every-instance");
    sz_config_free(&cfg);

    /* A state key short enough to guess is refused, by name. */
    setenv("SANZARU_REQUEST_STATE_KEY", "short", 1);
    {
        char err[256];
        assert_int_equal(sz_config_load(&cfg, err, sizeof(err)), SZ_EINVAL);
        assert_non_null(strstr(err, "SANZARU_REQUEST_STATE_KEY"));
    }
    unsetenv("SANZARU_REQUEST_STATE_KEY");

    /* Empty strings are unset: defaults come back. */
    setenv("OPENAI_API_KEY", "", 1);
    setenv("OPENAI_BASE_URL", "", 1);
    setenv("SANZARU_VIDEO_MODEL", "", 1);
    setenv("XDG_DATA_HOME", "relative/xdg", 1); /* the XDG spec: ignored */
    load_ok(&cfg);
    assert_null(cfg.api_key);
    assert_string_equal(cfg.base_url, "https://api.openai.com/v1");
    assert_null(cfg.video_model);
    assert_null(cfg.data_home);
    sz_config_free(&cfg);
}

static void test_video_providers(void **state)
{
    struct sz_config cfg;
    char err[256] = "";
    char *path = NULL;
    (void)state;

    setenv("GEMINI_API_KEY", "g-key", 1);
    setenv("GEMINI_BASE_URL", "http://127.0.0.1:9/v1beta/", 1);
    setenv("AZURE_OPENAI_ENDPOINT", " https://res.openai.azure.com/ ", 1);
    setenv("AZURE_OPENAI_API_KEY", "az-key", 1);
    setenv("SANZARU_VIDEO_PROVIDER", "azure", 1);
    setenv("SANZARU_STATE_PATH", "/srv/state/s.db", 1);
    load_ok(&cfg);
    assert_string_equal(cfg.gemini_api_key, "g-key");
    assert_string_equal(cfg.gemini_key_name, "GEMINI_API_KEY");
    assert_string_equal(cfg.gemini_base_url, "http://127.0.0.1:9/v1beta");
    assert_string_equal(cfg.azure_endpoint, "https://res.openai.azure.com");
    assert_string_equal(cfg.azure_base_url, "https://res.openai.azure.com/openai/v1");
    assert_string_equal(cfg.azure_api_key, "az-key");
    assert_string_equal(cfg.video_provider, "azure");
    assert_int_equal(sz_config_state_path(&cfg, &path, err, sizeof(err)), 0);
    assert_string_equal(path, "/srv/state/s.db");
    free(path);
    sz_config_free(&cfg);

    /* GOOGLE_API_KEY wins, as in Google's SDK; an endpoint with the path keeps it. */
    setenv("GOOGLE_API_KEY", "goog-key", 1);
    setenv("AZURE_OPENAI_ENDPOINT", "https://res.openai.azure.com/openai/v1/", 1);
    unsetenv("SANZARU_STATE_PATH");
    setenv("SANZARU_MEDIA_PATH", "/srv/media", 1);
    load_ok(&cfg);
    assert_string_equal(cfg.gemini_api_key, "goog-key");
    assert_string_equal(cfg.gemini_key_name, "GOOGLE_API_KEY");
    assert_string_equal(cfg.azure_base_url, "https://res.openai.azure.com/openai/v1");
    assert_int_equal(sz_config_state_path(&cfg, &path, err, sizeof(err)), 0);
    assert_string_equal(path, "/srv/media/.sanzaru/state.db");
    free(path);
    sz_config_free(&cfg);

    /* The state's default follows the media root's. */
    unsetenv("SANZARU_MEDIA_PATH");
    setenv("XDG_DATA_HOME", "/srv/xdg", 1);
    load_ok(&cfg);
    assert_int_equal(sz_config_state_path(&cfg, &path, err, sizeof(err)), 0);
    assert_string_equal(path, "/srv/xdg/sanzaru/.sanzaru/state.db");
    free(path);
    sz_config_free(&cfg);
    unsetenv("XDG_DATA_HOME");
    load_ok(&cfg);
    assert_int_equal(sz_config_state_path(&cfg, &path, err, sizeof(err)), 0);
    assert_string_equal(path + strlen(saved_home), "/.local/share/sanzaru/.sanzaru/state.db");
    free(path);
    sz_config_free(&cfg);

    /* Refusals name the variable. */
    setenv("SANZARU_VIDEO_PROVIDER", "sora", 1);
    assert_int_equal(sz_config_load(&cfg, err, sizeof(err)), SZ_EINVAL);
    assert_string_equal(err, "SANZARU_VIDEO_PROVIDER must be openai, azure or gemini, got 'sora'");
    unsetenv("SANZARU_VIDEO_PROVIDER");
    setenv("AZURE_OPENAI_ENDPOINT", "res.openai.azure.com", 1);
    assert_int_equal(sz_config_load(&cfg, err, sizeof(err)), SZ_EINVAL);
    assert_string_equal(err, "AZURE_OPENAI_ENDPOINT must be an https URL such as "
                             "https://NAME.openai.azure.com, got 'res.openai.azure.com'");
}

static void test_home_fallback(void **state)
{
    struct sz_config cfg;
    struct passwd *pw = getpwuid(getuid());
    (void)state;

    unsetenv("HOME");
    load_ok(&cfg);
    if (pw != NULL && pw->pw_dir != NULL && pw->pw_dir[0] != '\0')
        assert_string_equal(cfg.home, pw->pw_dir);
    else
        assert_null(cfg.home);
    sz_config_free(&cfg);
}

static void test_log_level(void **state)
{
    static const struct {
        const char *text;
        enum sz_log_level level;
    } ok[] = {
        {"DEBUG", SZ_LOG_DEBUG},  {"info", SZ_LOG_INFO},   {"Warning", SZ_LOG_WARNING},
        {"WARN", SZ_LOG_WARNING}, {"error", SZ_LOG_ERROR}, {"", SZ_LOG_INFO},
    };
    static const char *const bad[] = {"verbose", "INFO ", "5", "trace"};
    (void)state;

    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        struct sz_config cfg;
        setenv("LOG_LEVEL", ok[i].text, 1);
        load_ok(&cfg);
        assert_int_equal(cfg.log_level, ok[i].level);
        sz_config_free(&cfg);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct sz_config cfg;
        char err[256];
        char want[256];
        setenv("LOG_LEVEL", bad[i], 1);
        assert_int_equal(sz_config_load(&cfg, err, sizeof(err)), SZ_EINVAL);
        snprintf(want, sizeof(want), "LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, got '%s'",
                 bad[i]);
        assert_string_equal(err, want);
    }
}

/* ---- media roots ------------------------------------------------------------------------ */

static void expect_root(const struct sz_config *cfg, enum sz_media kind, const char *path,
                        int flags, const char *label)
{
    struct store_options o;
    char *got = NULL;
    char err[256];

    assert_int_equal(sz_config_media_root(cfg, kind, &o, &got, err, sizeof(err)), 0);
    assert_string_equal(got, path);
    assert_ptr_equal(o.path, got);
    assert_int_equal(o.flags, flags);
    assert_string_equal(o.label, label);
    free(got);
}

static void test_media_root_order(void **state)
{
    struct sz_config cfg;
    const int dflt = STORE_OPEN_CREATE | STORE_OPEN_NOFOLLOW;
    (void)state;

    /* VIDEO_PATH wins for videos; images fall back to the media root. */
    setenv("VIDEO_PATH", "  /srv/v  ", 1);
    setenv("SANZARU_MEDIA_PATH", "/srv/m", 1);
    setenv("XDG_DATA_HOME", "/srv/xdg", 1);
    setenv("HOME", "/srv/home", 1);
    load_ok(&cfg);
    expect_root(&cfg, SZ_MEDIA_VIDEOS, "/srv/v", STORE_OPEN_NOFOLLOW, "VIDEO_PATH");
    expect_root(&cfg, SZ_MEDIA_IMAGES, "/srv/m/images", dflt, "SANZARU_MEDIA_PATH");
    sz_config_free(&cfg);

    /* IMAGE_PATH likewise. */
    unsetenv("VIDEO_PATH");
    setenv("IMAGE_PATH", "/srv/i", 1);
    load_ok(&cfg);
    expect_root(&cfg, SZ_MEDIA_VIDEOS, "/srv/m/videos", dflt, "SANZARU_MEDIA_PATH");
    expect_root(&cfg, SZ_MEDIA_IMAGES, "/srv/i", STORE_OPEN_NOFOLLOW, "IMAGE_PATH");
    sz_config_free(&cfg);

    /* Then XDG_DATA_HOME when absolute ... */
    unsetenv("IMAGE_PATH");
    unsetenv("SANZARU_MEDIA_PATH");
    load_ok(&cfg);
    expect_root(&cfg, SZ_MEDIA_VIDEOS, "/srv/xdg/sanzaru/videos", dflt, "Video directory");
    expect_root(&cfg, SZ_MEDIA_IMAGES, "/srv/xdg/sanzaru/images", dflt, "Image directory");
    sz_config_free(&cfg);

    /* ... then HOME (a relative XDG_DATA_HOME is ignored). */
    setenv("XDG_DATA_HOME", "relative", 1);
    load_ok(&cfg);
    expect_root(&cfg, SZ_MEDIA_IMAGES, "/srv/home/.local/share/sanzaru/images", dflt,
                "Image directory");
    sz_config_free(&cfg);

    /* The audio root: AUDIO_PATH, else the media root's audio/, else the
     * default's; always with subdirectories, in the original's words. */
    load_ok(&cfg);
    expect_root(&cfg, SZ_MEDIA_AUDIO, "/srv/home/.local/share/sanzaru/audio",
                dflt | STORE_OPEN_SUBDIRS, "Audio files directory");
    sz_config_free(&cfg);
    setenv("SANZARU_MEDIA_PATH", "/srv/m", 1);
    load_ok(&cfg);
    expect_root(&cfg, SZ_MEDIA_AUDIO, "/srv/m/audio", dflt | STORE_OPEN_SUBDIRS,
                "SANZARU_MEDIA_PATH: Audio files directory");
    sz_config_free(&cfg);
    setenv("AUDIO_PATH", "/srv/a", 1);
    load_ok(&cfg);
    expect_root(&cfg, SZ_MEDIA_AUDIO, "/srv/a", STORE_OPEN_NOFOLLOW | STORE_OPEN_SUBDIRS,
                "AUDIO_PATH: Audio files directory");
    expect_root(&cfg, SZ_MEDIA_IMAGES, "/srv/m/images", dflt, "SANZARU_MEDIA_PATH");
    sz_config_free(&cfg);
    unsetenv("AUDIO_PATH");
    unsetenv("SANZARU_MEDIA_PATH");

    /* SANZARU_FSYNC=0 reaches the store as a flag. */
    setenv("SANZARU_FSYNC", "0", 1);
    load_ok(&cfg);
    expect_root(&cfg, SZ_MEDIA_VIDEOS, "/srv/home/.local/share/sanzaru/videos",
                dflt | STORE_OPEN_NO_FSYNC, "Video directory");
    sz_config_free(&cfg);
}

static void test_media_root_no_home(void **state)
{
    struct sz_config cfg = {.fsync = 1}; /* nothing set, no home known */
    struct store_options o;
    char *got = (char *)1;
    char err[256];
    (void)state;

    assert_int_equal(sz_config_media_root(&cfg, SZ_MEDIA_VIDEOS, &o, &got, err, sizeof(err)),
                     SZ_EINVAL);
    assert_null(got);
    assert_string_equal(err, "Cannot find a place for media files: set VIDEO_PATH or "
                             "SANZARU_MEDIA_PATH (HOME is not set)");
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Opens the root of kind as the environment says; returns store_open's code
 * with its message in err. */
static int open_root(uv_loop_t *loop, enum sz_media kind, char *err, size_t errlen)
{
    struct sz_config cfg;
    struct store_options o;
    struct store *s = NULL;
    char *path = NULL;
    int rc;

    load_ok(&cfg);
    assert_int_equal(sz_config_media_root(&cfg, kind, &o, &path, err, errlen), 0);
    rc = store_open(loop, &o, &s, err, errlen);
    store_close(s);
    free(path);
    sz_config_free(&cfg);
    return rc;
}

/* What a user sees when a variable names a bad place: the message names it. */
static void test_media_root_messages(void **state)
{
    uv_loop_t loop;
    char root[] = "/tmp/sz-config-XXXXXX";
    char a[PATH_MAX], b[PATH_MAX];
    char err[STORE_MSG_MAX];
    char want[2 * PATH_MAX];
    struct stat st;
    FILE *f;
    (void)state;

    assert_int_equal(uv_loop_init(&loop), 0);
    assert_non_null(mkdtemp(root));

    snprintf(a, sizeof(a), "%s/missing", root);
    setenv("VIDEO_PATH", a, 1);
    assert_int_equal(open_root(&loop, SZ_MEDIA_VIDEOS, err, sizeof(err)), SZ_ENOTFOUND);
    snprintf(want, sizeof(want), "VIDEO_PATH does not exist: %s", a);
    assert_string_equal(err, want);
    unsetenv("VIDEO_PATH");

    snprintf(a, sizeof(a), "%s/plain", root);
    assert_non_null(f = fopen(a, "w"));
    fclose(f);
    setenv("IMAGE_PATH", a, 1);
    assert_int_equal(open_root(&loop, SZ_MEDIA_IMAGES, err, sizeof(err)), SZ_ENOTREG);
    snprintf(want, sizeof(want), "IMAGE_PATH is not a directory: %s", a);
    assert_string_equal(err, want);
    unsetenv("IMAGE_PATH");

    /* SANZARU_MEDIA_PATH whose videos/ is a symlink. */
    snprintf(a, sizeof(a), "%s/media", root);
    assert_int_equal(mkdir(a, 0755), 0);
    snprintf(b, sizeof(b), "%s/media/videos", root);
    assert_int_equal(symlink("/tmp", b), 0);
    setenv("SANZARU_MEDIA_PATH", a, 1);
    assert_int_equal(open_root(&loop, SZ_MEDIA_VIDEOS, err, sizeof(err)), SZ_ESYMLINK);
    snprintf(want, sizeof(want), "SANZARU_MEDIA_PATH cannot be a symbolic link: %s", b);
    assert_string_equal(err, want);
    /* Its images/ is created on first use. */
    assert_int_equal(open_root(&loop, SZ_MEDIA_IMAGES, err, sizeof(err)), 0);
    snprintf(b, sizeof(b), "%s/media/images", root);
    assert_int_equal(stat(b, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    unsetenv("SANZARU_MEDIA_PATH");

    /* AUDIO_PATH in the original's words. */
    snprintf(a, sizeof(a), "%s/no-audio", root);
    setenv("AUDIO_PATH", a, 1);
    assert_int_equal(open_root(&loop, SZ_MEDIA_AUDIO, err, sizeof(err)), SZ_ENOTFOUND);
    snprintf(want, sizeof(want), "AUDIO_PATH: Audio files directory does not exist: %s", a);
    assert_string_equal(err, want);
    unsetenv("AUDIO_PATH");

    /* The HOME default is created, parents included. */
    snprintf(a, sizeof(a), "%s/home", root);
    setenv("HOME", a, 1);
    assert_int_equal(open_root(&loop, SZ_MEDIA_VIDEOS, err, sizeof(err)), 0);
    snprintf(b, sizeof(b), "%s/home/.local/share/sanzaru/videos", root);
    assert_int_equal(stat(b, &st), 0);

    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

#define T(f) cmocka_unit_test_setup(f, clean_env)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_number_defaults),    T(test_number_bounds),       T(test_number_refusals),
        T(test_string_defaults),    T(test_string_values),       T(test_video_providers),
        T(test_home_fallback),      T(test_log_level),           T(test_media_root_order),
        T(test_media_root_no_home), T(test_media_root_messages),
    };
    const char *home = getenv("HOME");

    snprintf(saved_home, sizeof(saved_home), "%s", home != NULL && home[0] ? home : "/nonexistent");
    return cmocka_run_group_tests(tests, NULL, NULL);
}
