/* Start-up and shutdown of the server (app.h): parse the command line, load the
 * configuration, build the layers bottom-up (stores, HTTP client and the OpenAI
 * API on it, imaging pool, engine, tools), start one transport, run the loop, then tear down in
 * reverse once the transport reports that everything is flushed. */
#include "fmacros.h"

#include "app/app.h"
#include "app/app_int.h"
#include "app/args.h"
#include "app/config.h"
#include "app/taskstore.h"
#include "core/err.h"
#include "cli/cli.h"
#include "core/log.h"
#include "gemini/client.h"
#include "imaging/imaging.h"
#include "mcp/server.h"
#include "net/client.h"
#include "openai/client.h"
#include "state/ledger.h"
#include "state/state.h"
#include "state/taskdb.h"
#include "store/store.h"
#include "tools/tools.h"
#include "transport/http.h"
#include "transport/stdio.h"
#include "video/video.h"

#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char sz_usage[] =
    "usage: sanzaru [serve] [--transport stdio|http] [--host H] [--port P] [--log-level L]\n"
    "                       [--stateless] [--allow-unauthenticated] [--version] [--help]\n"
    "       sanzaru COMMAND [ARGS] [flags]   (the agent command line: below, docs/cli.md)\n"
    "\n"
    "An MCP server for video (Google's Gemini Omni; OpenAI Sora on Azure OpenAI or a\n"
    "gateway), image and audio generation (OpenAI).\n"
    "\n"
    "  --transport stdio|http   stdio (default) or Streamable HTTP at /mcp\n"
    "  --host H                 HTTP bind address (default 127.0.0.1)\n"
    "  --port P                 HTTP port (default 8000)\n"
    "  --log-level L            DEBUG, INFO, WARNING or ERROR (default: LOG_LEVEL or INFO)\n"
    "  --stateless              HTTP without sessions (for load-balanced deployments)\n"
    "  --allow-unauthenticated  allow a non-loopback HTTP bind without SANZARU_HTTP_TOKEN\n"
    "  --version                print the version and exit\n"
    "  --help                   print this help and exit\n"
    "\n"
    "Video providers (docs/providers.md): GEMINI_API_KEY (or GOOGLE_API_KEY) for\n"
    "Gemini Omni; AZURE_OPENAI_ENDPOINT and AZURE_OPENAI_API_KEY for Sora on Azure\n"
    "OpenAI; OPENAI_API_KEY with OPENAI_BASE_URL at a gateway that still serves\n"
    "/v1/videos. OpenAI retired its own Videos API (sora-2, sora-2-pro) on 2026-09-24:\n"
    "an OpenAI key alone makes images, not videos. SANZARU_VIDEO_PROVIDER (openai,\n"
    "azure, gemini) and SANZARU_VIDEO_MODEL choose the default.\n"
    "\n"
    "Configuration comes from the environment: OPENAI_API_KEY, OPENAI_BASE_URL,\n"
    "SANZARU_MEDIA_PATH, VIDEO_PATH, IMAGE_PATH, AUDIO_PATH, SANZARU_STATE_PATH,\n"
    "LOG_LEVEL and more; see docs/configuration.md. Logs go to stderr; stdout carries\n"
    "only the protocol.\n";

/* What a model reads before any tool: the workflows that span several tools
 * (tools/list carries the details of each). */
static const char instructions[] =
    "sanzaru makes videos, images and audio and keeps them in three local folders, the video, "
    "image and audio directories. Every file argument is a plain name inside one of them, never a "
    "path (audio names may go into subfolders of the audio directory).\n\n"
    "Videos are jobs on the configured video provider and take minutes: (1) optionally pick a "
    "first frame with list_reference_images and fit it with prepare_reference_image (target_size "
    "= the video's size), or make one with generate_image first; (2) create_video returns a video "
    "id with status queued; (3) call get_video_status with that id every 10-20 seconds until "
    "status is completed, or failed (then read error.message, adjust the prompt and create "
    "again); (4) download_video saves the MP4, or its thumbnail or spritesheet, into the video "
    "directory (thumbnails and spritesheets exist on Sora only). remix_video changes a completed "
    "video with a new prompt and is polled the same "
    "way under its new id. list_videos finds jobs (and lost ids) on the provider; "
    "list_local_videos lists saved files; delete_video removes a job from the provider for good. "
    "Every create_video and remix_video is a paid generation: after a timeout, check "
    "get_video_status or list_videos before creating again. OpenAI retired its own Sora Videos "
    "API on 2026-09-24: an error saying the videos endpoint is gone or retired means the server "
    "must be configured with another provider, so tell the user rather than retrying.\n\n"
    "Images: generate_image (from text) and edit_image (change or combine 1-16 images) wait for "
    "the picture and save it in one call, the usual choice. create_image runs the same kind of "
    "work as a background job (for several at once, or to refine an earlier result with "
    "previous_response_id): poll get_image_status every 5-10 seconds until completed, then "
    "download_image. Saved images appear in list_reference_images and can be edited again or "
    "become a video's first frame.\n\n"
    "Audio: list_audio_files or get_latest_audio find recordings in the audio directory; "
    "transcribe_audio (recordings over 8 minutes in overlapping windows) and "
    "transcribe_with_enhancement turn speech into text; chat_with_audio asks an audio model "
    "about an MP3 or WAV; convert_audio makes MP3 or WAV of other formats and compress_audio "
    "makes a file fit a size (25 MB for OpenAI's uploads); create_audio speaks a text into an "
    "MP3. Transcription, chat and speech are paid requests; the rest is local.\n\n"
    "Files are never replaced unless overwrite is true; default names that are taken get a -1, "
    "-2, ... suffix. Saved files are also resources: sanzaru://videos/{filename} and "
    "sanzaru://images/{filename} and sanzaru://audio/{filename}. Optional arguments can be left "
    "out or sent as null. An argument "
    "the tool cannot use comes back as a tool error that names it and says what was expected: "
    "correct the call and try again.";

/* The HTTP client and the APIs on it (OpenAI; Azure OpenAI and Gemini for video),
 * from the configuration. 0, or an error after saying which on stderr. */
static int open_clients(struct app_state *st)
{
    struct net_options net;
    struct oai_options oai = {
        .base_url = st->cfg.base_url,
        .api_key = st->cfg.api_key,
        .org_id = st->cfg.org_id,
        .project_id = st->cfg.project_id,
        .image_first_byte_timeout_ms = st->cfg.image_first_byte_timeout_ms,
    };
    struct oai_options azure = {
        .base_url = st->cfg.azure_base_url,
        .api_key = st->cfg.azure_api_key,
        .flavour = OAI_AZURE,
    };
    struct gem_options gem = {
        .base_url = st->cfg.gemini_base_url,
        .api_key = st->cfg.gemini_api_key,
        .key_name = st->cfg.gemini_key_name,
    };
    int rc;

    net_options_init(&net);
    net.max_concurrency = (unsigned)st->cfg.max_concurrency;
    net.max_retries = st->cfg.max_retries;
    net.connect_timeout_ms = st->cfg.connect_timeout_ms;
    net.request_timeout_ms = st->cfg.request_timeout_ms;
    net.stall_timeout_ms = st->cfg.stall_timeout_ms;
    net.first_byte_timeout_ms = st->cfg.first_byte_timeout_ms;
    net.sink_first_byte_timeout_ms = st->cfg.download_first_byte_timeout_ms;
    if ((rc = net_client_new(&st->loop, &net, &st->net)) != 0) {
        fprintf(stderr, "sanzaru: could not create the HTTP client\n");
        return rc;
    }
    if ((rc = oai_client_new(st->net, &oai, &st->tools.oai)) != 0) {
        fprintf(stderr, "sanzaru: could not create the OpenAI client (OPENAI_BASE_URL=%s)\n",
                st->cfg.base_url);
        return rc;
    }
    if (st->cfg.azure_base_url != NULL && (rc = oai_client_new(st->net, &azure, &st->azure)) != 0) {
        fprintf(stderr,
                "sanzaru: could not create the Azure OpenAI client (AZURE_OPENAI_ENDPOINT=%s)\n",
                st->cfg.azure_endpoint);
        return rc;
    }
    if ((rc = gem_client_new(st->net, &gem, &st->gemini)) != 0) {
        fprintf(stderr, "sanzaru: could not create the Gemini client (GEMINI_BASE_URL=%s)\n",
                st->cfg.gemini_base_url);
        return rc;
    }
    return 0;
}

/* The state database (opened by its first job, on the pool) and the video layer on
 * the clients. A state that cannot be placed is not fatal: the video tools work
 * without a ledger, but for Gemini's list_videos. 0 or an error after saying why. */
static int open_video(struct app_state *st)
{
    struct video_options vo = {
        .loop = &st->loop,
        .pool = st->tools.imaging,
        .openai = st->tools.oai,
        .azure = st->azure,
        .gemini = st->gemini,
        .default_provider = -1,
        .default_model = st->cfg.video_model,
    };
    struct state_options so;
    enum video_provider_id def;
    char err[512];
    char *path = NULL;
    int rc;

    if (sz_config_state_path(&st->cfg, &path, err, sizeof(err)) != 0) {
        SZ_WARN("%s; the video ledger is off", err);
    } else {
        so.path = path;
        if (state_new(&st->loop, &so, &st->state) != 0 || ledger_attach(st->state) != 0 ||
            taskdb_attach(st->state) != 0) {
            fprintf(stderr, "sanzaru: out of memory\n");
            free(path);
            return SZ_ENOMEM;
        }
        free(path);
    }
    vo.state = st->state;
    if (st->cfg.video_provider != NULL && video_provider_parse(st->cfg.video_provider, &def) == 0)
        vo.default_provider = (int)def;
    if ((rc = video_svc_new(&vo, &st->tools.video)) != 0) {
        fprintf(stderr, "sanzaru: could not start the video layer\n");
        return rc;
    }
    def = video_default_provider(st->tools.video);
    SZ_INFO("videos: %s (%s)%s; state: %s", video_provider_name(def),
            video_default_model(st->tools.video),
            video_provider_configured(st->tools.video, def) ? "" : ", not configured",
            st->state != NULL ? state_path(st->state) : "(none)");
    if (st->cfg.azure_api_key != NULL && st->cfg.azure_endpoint == NULL)
        SZ_WARN("AZURE_OPENAI_API_KEY is set but AZURE_OPENAI_ENDPOINT is not: Azure is off");
    if (def == VIDEO_OPENAI && video_provider_configured(st->tools.video, def) &&
        strcmp(st->cfg.base_url, "https://api.openai.com/v1") == 0)
        SZ_WARN("videos go to OpenAI, which retired its Videos API on 2026-09-24: set "
                "GEMINI_API_KEY, or AZURE_OPENAI_ENDPOINT and AZURE_OPENAI_API_KEY, or "
                "OPENAI_BASE_URL at a gateway that still serves /v1/videos");
    return 0;
}

/* The video layer and the state database wait for nothing; the clients' requests in
 * flight are cancelled, and each frees itself once the loop has run its close
 * callbacks. */
static void close_clients(struct app_state *st)
{
    video_svc_close(st->tools.video, NULL, NULL);
    st->tools.video = NULL;
    state_close(st->state, NULL, NULL);
    st->state = NULL;
    oai_client_free(st->tools.oai);
    st->tools.oai = NULL;
    oai_client_free(st->azure);
    st->azure = NULL;
    gem_client_free(st->gemini);
    st->gemini = NULL;
    if (st->net != NULL) {
        net_client_close(st->net, NULL, NULL);
        st->net = NULL;
    }
}

static void tasks_closed(void *data)
{
    struct app_state *st = data;
    /* The video layer first: it may still hand a job to the pool it borrows. */
    close_clients(st);
    if (st->tools.imaging != NULL) {
        sz_pool_close(st->tools.imaging, NULL, NULL);
        st->tools.imaging = NULL;
    }
    if (st->tools.audio_jobs != NULL) {
        sz_pool_close(st->tools.audio_jobs, NULL, NULL);
        st->tools.audio_jobs = NULL;
    }
    uv_signal_stop(&st->sigint);
    uv_signal_stop(&st->sigterm);
    uv_close((uv_handle_t *)&st->sigint, NULL);
    uv_close((uv_handle_t *)&st->sigterm, NULL);
}

static void transport_done(void *data)
{
    struct app_state *st = data;
    /* Tasks that outlived their requests stop before the layers their tools use;
     * their state stays in the database, for the next run (docs/tasks.md). */
    mcp_server_close_tasks(st->server, tasks_closed, st);
}

static void on_signal(uv_signal_t *handle, int signum)
{
    struct app_state *st = handle->data;
    SZ_INFO("received %s; shutting down", signum == SIGINT ? "SIGINT" : "SIGTERM");
    if (st->stdio != NULL)
        stdio_transport_shutdown(st->stdio);
    if (st->http != NULL) {
        struct http_transport *http = st->http;
        st->http = NULL; /* freed by the transport when it has closed */
        http_transport_close(http, transport_done, st);
    }
}

/* libuv sizes its thread pool on first use from UV_THREADPOOL_SIZE. Image and
 * audio jobs are bounded separately, so leave room beside them for file I/O. */
static void size_thread_pool(int jobs)
{
    char value[16];
    if (getenv("UV_THREADPOOL_SIZE") != NULL)
        return;
    snprintf(value, sizeof(value), "%d", sz_pool_threadpool_size(jobs));
    setenv("UV_THREADPOOL_SIZE", value, 0);
}

/* Opens one media root as the environment says, or at dir when the command
 * line moved it there (a CLI command's -o directory: it must exist, and takes
 * the kind's store flags). A root that cannot be opened is not fatal: the
 * tools that need it say why (err), and the others keep working. */
static struct store *open_store(uv_loop_t *loop, const struct sz_config *cfg, enum sz_media kind,
                                const char *dir, char *err, size_t errlen)
{
    struct store_options opts;
    struct store *store = NULL;
    char *path = NULL;
    int rc = sz_config_media_root(cfg, kind, &opts, &path, err, errlen);

    if (dir != NULL) {
        /* The kind's flags (audio's subfolders), but the directory must exist. */
        opts.flags = (rc == 0 ? opts.flags & ~STORE_OPEN_CREATE : 0) | STORE_OPEN_NOFOLLOW |
                     (cfg->fsync ? 0 : STORE_OPEN_NO_FSYNC);
        opts.path = dir;
        opts.label = "The -o directory";
        rc = 0;
    }
    if (rc == 0 && store_open(loop, &opts, &store, err, errlen) == 0)
        SZ_INFO("%s root: %s",
                kind == SZ_MEDIA_VIDEOS   ? "video"
                : kind == SZ_MEDIA_IMAGES ? "image"
                                          : "audio",
                opts.path);
    else
        SZ_ERROR("%s", err);
    free(path);
    return store;
}

void app_open_stores(struct app_state *st, int moved, const char *dir)
{
    st->tools.videos =
        open_store(&st->loop, &st->cfg, SZ_MEDIA_VIDEOS, moved == SZ_MEDIA_VIDEOS ? dir : NULL,
                   st->tools.videos_error, sizeof(st->tools.videos_error));
    st->tools.images =
        open_store(&st->loop, &st->cfg, SZ_MEDIA_IMAGES, moved == SZ_MEDIA_IMAGES ? dir : NULL,
                   st->tools.images_error, sizeof(st->tools.images_error));
    st->tools.audio =
        open_store(&st->loop, &st->cfg, SZ_MEDIA_AUDIO, moved == SZ_MEDIA_AUDIO ? dir : NULL,
                   st->tools.audio_error, sizeof(st->tools.audio_error));
}

/* A media root for the start-up line: its path, or "(unavailable)" when it could
 * not be opened (its tools then fail with the reason). */
static const char *root_or_none(const struct store *store)
{
    return store != NULL ? store_path(store) : "(unavailable)";
}

/* Maps the SANZARU_HTTP_* settings and the command line onto the HTTP transport's options
 * and starts it. Returns 0, or the exit status after saying why on stderr: 2 for a bad
 * setting, 1 when the transport could not start. */
static int start_http(struct app_state *st, const struct sz_args *cli)
{
    struct http_options opts;
    char err[512];

    if (sz_config_http(&st->cfg, &opts, err, sizeof(err)) != 0) {
        fprintf(stderr, "sanzaru: %s\n", err);
        return 2;
    }
    opts.host = cli->host;
    opts.port = (unsigned)cli->port;
    opts.stateless = cli->stateless;
    opts.allow_unauthenticated = cli->allow_unauthenticated;
    if (http_transport_start(&st->loop, st->server, &opts, &st->http, err, sizeof(err)) != 0) {
        fprintf(stderr, "sanzaru: %s\n", err);
        return 1;
    }
    SZ_INFO("sanzaru %s on http://%s:%u/mcp%s; videos: %s; images: %s; audio: %s", SZ_VERSION,
            cli->host, http_transport_port(st->http), cli->stateless ? " (stateless)" : "",
            root_or_none(st->tools.videos), root_or_none(st->tools.images),
            root_or_none(st->tools.audio));
    return 0;
}

/* The floors every mode needs: the loop, the job pools, the HTTP clients, the
 * video layer, the engine and every tool. The media roots are opened apart
 * (app_open_stores), because a CLI command's -o may move one. Returns 0, or 1
 * after saying why on stderr. */
int app_open_floors(struct app_state *st, sz_register_fn *extra)
{
    signal(SIGPIPE, SIG_IGN); /* a vanished client is an EPIPE, not a death */
    /* glibc gives every pool thread its own malloc arena and keeps what image
     * jobs freed there: ten concurrent resizes peaked at ~115 MB with the
     * default and ~72 MB with two arenas, at no measurable CPU cost. */
    if (getenv("MALLOC_ARENA_MAX") == NULL)
        mallopt(M_ARENA_MAX, 2);
    /* A fixed mmap threshold: buffers of a megabyte or more (a Gemini video inline in
     * its JSON, ~11 MB, then its 8 MB decoded; an image being resized) are mapped and
     * given back when freed. glibc's default raises the threshold to the largest block
     * freed so far, after which such buffers come from the heaps and their pages stay:
     * 32 inline 8 MB downloads peaked at ~195 MiB RSS that way, ~54 MiB with this. */
    if (getenv("MALLOC_MMAP_THRESHOLD_") == NULL)
        mallopt(M_MMAP_THRESHOLD, 1024 * 1024);
    size_thread_pool(st->cfg.image_jobs + st->cfg.audio_jobs);

    uv_loop_init(&st->loop);
    st->loop_open = true;
    st->tools.loop = &st->loop;
    st->tools.opts = (struct tools_options){
        .image_model = st->cfg.image_model,
        .responses_model = st->cfg.responses_model,
        .transcribe_model = st->cfg.transcribe_model,
        .speech_model = st->cfg.speech_model,
        .audio_chat_model = st->cfg.audio_chat_model,
        .transcribe_concurrency = st->cfg.transcribe_concurrency,
        .have_key = st->cfg.api_key != NULL && st->cfg.api_key[0] != '\0',
    };
    img_prepare(); /* libvips itself loads with the first image job */
    st->tools.imaging = sz_pool_new(&st->loop, st->cfg.image_jobs);
    st->tools.audio_jobs = sz_pool_new(&st->loop, st->cfg.audio_jobs);
    if (st->tools.imaging == NULL || st->tools.audio_jobs == NULL || open_clients(st) != 0 ||
        open_video(st) != 0)
        return 1;
    st->server = mcp_server_new(&st->loop, "sanzaru", SZ_VERSION, instructions);
    if (st->server == NULL || st->tools.imaging == NULL || st->tools.audio_jobs == NULL) {
        fprintf(stderr, "sanzaru: out of memory\n");
        return 1;
    }
    if (st->cfg.request_state_key != NULL)
        mcp_server_set_state_key(st->server, st->cfg.request_state_key,
                                 strlen(st->cfg.request_state_key));
    if (st->state != NULL)
        sz_taskstore_attach(st->server, st->state);
    mcp_server_set_task_times(st->server, st->cfg.task_ttl_ms, 0, 0, 0);
    st->tools.poll_ms = (uint64_t)st->cfg.task_poll_ms;
    if (tools_register_all(st->server, &st->tools) != 0) {
        fprintf(stderr, "sanzaru: could not register the tools (see the log above)\n");
        return 1;
    }
    if (extra != NULL && extra(st->server, &st->tools) != 0) {
        fprintf(stderr, "sanzaru: could not register the test tools\n");
        return 1;
    }
    return 0;
}

void app_close_floors(struct app_state *st)
{
    stdio_transport_free(st->stdio);
    mcp_server_free(st->server);
    close_clients(st);
    if (st->tools.imaging != NULL)
        sz_pool_close(st->tools.imaging, NULL, NULL);
    if (st->tools.audio_jobs != NULL)
        sz_pool_close(st->tools.audio_jobs, NULL, NULL);
    store_close(st->tools.videos);
    store_close(st->tools.images);
    store_close(st->tools.audio);
    if (st->loop_open) {
        /* Let closing handles and pending store operations finish. */
        uv_run(&st->loop, UV_RUN_DEFAULT);
        if (uv_loop_close(&st->loop) != 0)
            SZ_DEBUG("loop closed with handles still open");
    }
    sz_config_free(&st->cfg);
    img_shutdown(); /* a no-op unless an image job loaded libvips */
}

/* The MCP server: `sanzaru [serve] [flags]`. */
static int serve(int argc, char **argv, sz_register_fn *extra)
{
    struct app_state st;
    struct sz_args cli;
    char err[512];
    int rc;

    memset(&st, 0, sizeof(st));
    if (sz_args_parse(argc, argv, &cli, err, sizeof(err)) != 0) {
        fprintf(stderr, "sanzaru: %s\n", err);
        return 2;
    }
    if (cli.help) {
        fputs(sz_usage, stdout);
        return 0;
    }
    if (cli.version) {
        printf("sanzaru %s\n", SZ_VERSION);
        return 0;
    }
    if (sz_config_load(&st.cfg, err, sizeof(err)) != 0) {
        fprintf(stderr, "sanzaru: %s\n", err);
        return 2;
    }
    sz_log_set_ident("sanzaru");
    sz_log_set_level(cli.log_level_set ? cli.log_level : st.cfg.log_level);
    if (app_open_floors(&st, extra) != 0) {
        st.exit_status = 1;
        goto out;
    }
    app_open_stores(&st, -1, NULL);
    if (st.cfg.api_key == NULL)
        SZ_WARN("OPENAI_API_KEY is not set: the image and audio tools will fail until it is");

    if (cli.transport == SZ_TRANSPORT_HTTP) {
        st.exit_status = start_http(&st, &cli);
        if (st.exit_status != 0)
            goto out;
    } else {
        struct stdio_options opts = {
            .in_fd = 0,
            .out_fd = 1,
            .grace_ms = (uint64_t)st.cfg.shutdown_grace_ms,
            .on_done = transport_done,
            .data = &st,
        };
        rc = stdio_transport_start(&st.loop, st.server, &opts, &st.stdio, err, sizeof(err));
        if (rc != 0) {
            fprintf(stderr, "sanzaru: %s\n", err);
            st.exit_status = 1;
            goto out;
        }
        SZ_INFO("sanzaru %s on stdio; videos: %s; images: %s; audio: %s", SZ_VERSION,
                root_or_none(st.tools.videos), root_or_none(st.tools.images),
                root_or_none(st.tools.audio));
    }

    uv_signal_init(&st.loop, &st.sigint);
    uv_signal_init(&st.loop, &st.sigterm);
    st.sigint.data = &st;
    st.sigterm.data = &st;
    uv_signal_start(&st.sigint, on_signal, SIGINT);
    uv_signal_start(&st.sigterm, on_signal, SIGTERM);

    uv_run(&st.loop, UV_RUN_DEFAULT);

out:
    app_close_floors(&st);
    return st.exit_status;
}

int sz_main(int argc, char **argv, sz_register_fn *extra)
{
    /* `sanzaru video ...`, `sanzaru help`, and `sanzaru --help` alone, which
     * lists the commands too: the agent command line. */
    if (argc > 1 && cli_is_command(argv[1]))
        return app_cli_main(argc - 1, argv + 1, extra);
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        static char word[] = "help";
        char *help[] = {word, NULL};
        return app_cli_main(1, help, extra);
    }
    /* `sanzaru serve [flags]` is `sanzaru [flags]`. */
    if (argc > 1 && strcmp(argv[1], "serve") == 0) {
        argv[1] = argv[0];
        return serve(argc - 1, argv + 1, extra);
    }
    return serve(argc, argv, extra);
}
