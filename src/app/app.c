/* Start-up and shutdown of the server (app.h): parse the command line, load the
 * configuration, build the layers bottom-up (stores, HTTP client and the OpenAI
 * API on it, imaging pool, engine, tools), start one transport, run the loop, then tear down in
 * reverse once the transport reports that everything is flushed. */
#include "fmacros.h"

#include "app/app.h"
#include "app/args.h"
#include "app/config.h"
#include "core/err.h"
#include "core/log.h"
#include "imaging/imaging.h"
#include "mcp/server.h"
#include "net/client.h"
#include "openai/client.h"
#include "store/store.h"
#include "tools/tools.h"
#include "transport/http.h"
#include "transport/stdio.h"

#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char sz_usage[] =
    "usage: sanzaru [--transport stdio|http] [--host H] [--port P] [--log-level L]\n"
    "               [--stateless] [--allow-unauthenticated] [--version] [--help]\n"
    "\n"
    "An MCP server for OpenAI video (Sora) and image generation.\n"
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
    "Configuration comes from the environment: OPENAI_API_KEY, OPENAI_BASE_URL,\n"
    "SANZARU_MEDIA_PATH, VIDEO_PATH, IMAGE_PATH, LOG_LEVEL and more; see\n"
    "docs/configuration.md. Logs go to stderr; stdout carries only the protocol.\n";

static const char instructions[] =
    "Sanzaru generates videos with OpenAI Sora and images with OpenAI's image models, and "
    "keeps the results in local media folders (videos and images). Typical video flow: "
    "optionally prepare a reference image (list_reference_images, then prepare_reference_image "
    "to fit it to the video size), create_video (pass input_reference_filename to animate that "
    "image), poll get_video_status until status is completed (generation takes minutes), then "
    "download_video to save it; remix_video varies a finished video. Images: generate_image or "
    "edit_image return a saved file directly; create_image starts a background job (poll "
    "get_image_status, then download_image). Filenames are plain names inside the media "
    "folders, never paths. Existing files are never replaced unless overwrite is true.";

struct app_state {
    uv_loop_t loop;
    struct sz_config cfg;
    struct tools_ctx tools;
    struct net_client *net;
    struct mcp_server *server;
    struct stdio_transport *stdio;
    struct http_transport *http;
    uv_signal_t sigint, sigterm;
    int exit_status;
};

/* The HTTP client and the OpenAI API on it, from the configuration. 0 or an error. */
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
    int rc;

    net_options_init(&net);
    net.max_concurrency = (unsigned)st->cfg.max_concurrency;
    net.max_retries = st->cfg.max_retries;
    net.connect_timeout_ms = st->cfg.connect_timeout_ms;
    net.request_timeout_ms = st->cfg.request_timeout_ms;
    net.stall_timeout_ms = st->cfg.stall_timeout_ms;
    net.first_byte_timeout_ms = st->cfg.first_byte_timeout_ms;
    net.sink_first_byte_timeout_ms = st->cfg.download_first_byte_timeout_ms;
    rc = net_client_new(&st->loop, &net, &st->net);
    if (rc == 0)
        rc = oai_client_new(st->net, &oai, &st->tools.oai);
    return rc;
}

/* Requests in flight are cancelled; the client frees itself once the loop has run
 * its close callbacks. */
static void close_clients(struct app_state *st)
{
    oai_client_free(st->tools.oai);
    st->tools.oai = NULL;
    if (st->net != NULL) {
        net_client_close(st->net, NULL, NULL);
        st->net = NULL;
    }
}

static void transport_done(void *data)
{
    struct app_state *st = data;
    if (st->tools.imaging != NULL) {
        sz_pool_close(st->tools.imaging, NULL, NULL);
        st->tools.imaging = NULL;
    }
    close_clients(st);
    uv_signal_stop(&st->sigint);
    uv_signal_stop(&st->sigterm);
    uv_close((uv_handle_t *)&st->sigint, NULL);
    uv_close((uv_handle_t *)&st->sigterm, NULL);
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

/* libuv sizes its thread pool on first use from UV_THREADPOOL_SIZE. Image jobs
 * are bounded separately, so leave room beside them for file I/O. */
static void size_thread_pool(int image_jobs)
{
    char value[16];
    if (getenv("UV_THREADPOOL_SIZE") != NULL)
        return;
    snprintf(value, sizeof(value), "%d", sz_pool_threadpool_size(image_jobs));
    setenv("UV_THREADPOOL_SIZE", value, 0);
}

/* Opens one media root as the environment says. A root that cannot be opened
 * is not fatal: the tools that need it say why (err), and the others keep
 * working. */
static struct store *open_store(uv_loop_t *loop, const struct sz_config *cfg, enum sz_media kind,
                                char *err, size_t errlen)
{
    struct store_options opts;
    struct store *store = NULL;
    char *path = NULL;

    if (sz_config_media_root(cfg, kind, &opts, &path, err, errlen) == 0 &&
        store_open(loop, &opts, &store, err, errlen) == 0)
        SZ_INFO("%s root: %s", kind == SZ_MEDIA_VIDEOS ? "video" : "image", path);
    else
        SZ_ERROR("%s", err);
    free(path);
    return store;
}

static void open_stores(struct app_state *st)
{
    st->tools.videos = open_store(&st->loop, &st->cfg, SZ_MEDIA_VIDEOS, st->tools.videos_error,
                                  sizeof(st->tools.videos_error));
    st->tools.images = open_store(&st->loop, &st->cfg, SZ_MEDIA_IMAGES, st->tools.images_error,
                                  sizeof(st->tools.images_error));
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
    SZ_INFO("sanzaru %s on http://%s:%u/mcp%s; videos: %s; images: %s", SZ_VERSION, cli->host,
            http_transport_port(st->http), cli->stateless ? " (stateless)" : "",
            st->tools.videos ? store_path(st->tools.videos) : "(unavailable)",
            st->tools.images ? store_path(st->tools.images) : "(unavailable)");
    return 0;
}

int sz_main(int argc, char **argv, sz_register_fn *extra)
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
    signal(SIGPIPE, SIG_IGN); /* a vanished client is an EPIPE, not a death */
    /* glibc gives every pool thread its own malloc arena and keeps what image
     * jobs freed there: ten concurrent resizes peaked at ~115 MB with the
     * default and ~72 MB with two arenas, at no measurable CPU cost. */
    if (getenv("MALLOC_ARENA_MAX") == NULL)
        mallopt(M_ARENA_MAX, 2);
    size_thread_pool(st.cfg.image_jobs);

    uv_loop_init(&st.loop);
    st.tools.loop = &st.loop;
    st.tools.opts = (struct tools_options){
        .video_model = st.cfg.video_model,
        .image_model = st.cfg.image_model,
        .responses_model = st.cfg.responses_model,
        .have_key = st.cfg.api_key != NULL && st.cfg.api_key[0] != '\0',
    };
    img_prepare(); /* libvips itself loads with the first image job */
    open_stores(&st);
    st.tools.imaging = sz_pool_new(&st.loop, st.cfg.image_jobs);
    if (open_clients(&st) != 0) {
        fprintf(stderr, "sanzaru: could not create the OpenAI client (OPENAI_BASE_URL=%s)\n",
                st.cfg.base_url);
        st.exit_status = 1;
        goto out;
    }
    if (st.cfg.api_key == NULL)
        SZ_WARN("OPENAI_API_KEY is not set: the tools that call OpenAI will fail until it is");
    st.server = mcp_server_new(&st.loop, "sanzaru", SZ_VERSION, instructions);
    if (st.server == NULL || st.tools.imaging == NULL) {
        fprintf(stderr, "sanzaru: out of memory\n");
        st.exit_status = 1;
        goto out;
    }
    if (tools_register_all(st.server, &st.tools) != 0) {
        fprintf(stderr, "sanzaru: could not register the tools (see the log above)\n");
        st.exit_status = 1;
        goto out;
    }
    if (extra != NULL && extra(st.server, &st.tools) != 0) {
        fprintf(stderr, "sanzaru: could not register the test tools\n");
        st.exit_status = 1;
        goto out;
    }

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
        SZ_INFO("sanzaru %s on stdio; videos: %s; images: %s", SZ_VERSION,
                st.tools.videos ? store_path(st.tools.videos) : "(unavailable)",
                st.tools.images ? store_path(st.tools.images) : "(unavailable)");
    }

    uv_signal_init(&st.loop, &st.sigint);
    uv_signal_init(&st.loop, &st.sigterm);
    st.sigint.data = &st;
    st.sigterm.data = &st;
    uv_signal_start(&st.sigint, on_signal, SIGINT);
    uv_signal_start(&st.sigterm, on_signal, SIGTERM);

    uv_run(&st.loop, UV_RUN_DEFAULT);

out:
    stdio_transport_free(st.stdio);
    mcp_server_free(st.server);
    if (st.tools.imaging != NULL)
        sz_pool_close(st.tools.imaging, NULL, NULL);
    close_clients(&st);
    store_close(st.tools.videos);
    store_close(st.tools.images);
    /* Let closing handles and pending store operations finish. */
    uv_run(&st.loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&st.loop) != 0)
        SZ_DEBUG("loop closed with handles still open");
    sz_config_free(&st.cfg);
    img_shutdown(); /* a no-op unless an image job loaded libvips */
    return st.exit_status;
}
