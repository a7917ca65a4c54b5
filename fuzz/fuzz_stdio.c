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

#include "core/pool.h"
#include "mcp/server.h"
#include "tools/tools.h"
#include "transport/stdio.h"

/* The pipe must take the whole input before the transport reads it. */
#define MAX_STREAM (60u * 1024u)

static uv_loop_t loop;
static struct tools_ctx ctx;
static struct mcp_server *server;
static int devnull = -1;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    uv_loop_init(&loop);
    ctx.loop = &loop;
    ctx.opts.image_model = "gpt-image-2";
    ctx.opts.responses_model = "gpt-5.2";
    ctx.opts.have_key = false;
    snprintf(ctx.videos_error, sizeof ctx.videos_error, "no media directory while fuzzing");
    snprintf(ctx.images_error, sizeof ctx.images_error, "no media directory while fuzzing");
    ctx.imaging = sz_pool_new(&loop, 1);
    server = mcp_server_new(&loop, "sanzaru", SZ_VERSION, "fuzzing");
    devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (ctx.imaging == NULL || server == NULL || devnull < 0 ||
        tools_register_all(server, &ctx) != 0)
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
