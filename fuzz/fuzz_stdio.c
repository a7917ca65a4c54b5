/* A client on stdio: the input is the byte stream a client writes. It goes
 * through the real stdio transport (framing: split lines, CRLF, blank lines,
 * the line bound and resync) into the engine (JSON-RPC shape, lifecycle,
 * dispatch) with every real tool registered, so tools/call arguments meet
 * each tool's own argument table. Nothing reaches OpenAI or the disk: there
 * is no API key and no media directory, so a call that passes validation
 * ends in the tool's error for that.
 *
 * One iteration: the input is written to a pipe and the write end closed;
 * the transport reads it to the end, answers into /dev/null, cancels what is
 * still running after a 1 ms grace, and reports done. */
#include "fmacros.h"

#include "fuzz.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "app/config.h"
#include "imaging/imaging.h"
#include "mcp/server.h"
#include "tools/tools.h"
#include "transport/stdio.h"

/* The pipe must take the whole input before the transport reads it. */
#define MAX_STREAM (60u * 1024u)

static uv_loop_t loop;
static struct sz_config cfg;
static struct sz_app app;
static struct mcp_server *server;
static int devnull = -1;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char err[256];

    (void)argc;
    (void)argv;
    unsetenv("OPENAI_API_KEY");
    setenv("SANZARU_MEDIA_PATH", "/nonexistent/sanzaru-fuzz", 1);
    if (sz_config_load(&cfg, err, sizeof err) != 0) {
        fprintf(stderr, "fuzz_stdio: %s\n", err);
        return 1;
    }
    sz_config_set(&cfg);
    uv_loop_init(&loop);
    app.loop = &loop;
    app.cfg = &cfg;
    snprintf(app.videos_error, sizeof app.videos_error, "no media directory while fuzzing");
    snprintf(app.images_error, sizeof app.images_error, "no media directory while fuzzing");
    app.imaging = img_pool_new(&loop, 1);
    server = mcp_server_new(&loop, "sanzaru", SZ_VERSION, "fuzzing");
    devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (app.imaging == NULL || server == NULL || devnull < 0 ||
        tools_register_all(server, &app) != 0)
        return 1;
    return 0;
}

static void done(void *data)
{
    *(int *)data = 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct stdio_options o = {0};
    struct stdio_transport *t = NULL;
    char err[256];
    int fds[2];
    int finished = 0;

    if (size > MAX_STREAM || pipe2(fds, O_CLOEXEC) != 0)
        return 0;
    if (size > 0 && write(fds[1], data, size) != (ssize_t)size) {
        close(fds[0]);
        close(fds[1]);
        return 0;
    }
    close(fds[1]);
    o.in_fd = fds[0];
    o.out_fd = dup(devnull);
    o.max_line = 4096; /* small, so the fuzzer reaches the bound and the resync */
    o.grace_ms = 1;
    o.on_done = done;
    o.data = &finished;
    if (stdio_transport_start(&loop, server, &o, &t, err, sizeof err) != 0) {
        close(fds[0]);
        close(o.out_fd);
        return 0;
    }
    while (!finished)
        uv_run(&loop, UV_RUN_ONCE);
    stdio_transport_free(t);
    uv_run(&loop, UV_RUN_NOWAIT);
    close(o.out_fd); /* a file: the transport closes only the handles it opened */
    return 0;
}
