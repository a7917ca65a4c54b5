/* The stdio transport: newline-delimited JSON-RPC on stdin/stdout.
 *
 * One message per line, in both directions; stdout carries nothing but
 * protocol. Lines are bounded (a longer line is answered with one error and
 * skipped up to the next newline, so the stream resynchronises), and output is
 * bounded too: while more than a high-water mark of replies wait to be written,
 * stdin is not read, so a client that does not drain cannot grow our memory.
 *
 * When stdin ends, calls in flight get a grace period to finish and reply; the
 * rest are cancelled, pending output is flushed, and on_done runs. A signal
 * handler calls stdio_transport_shutdown to cancel at once instead.
 *
 * Thread: loop thread only. */
#ifndef SZ_TRANSPORT_STDIO_H
#define SZ_TRANSPORT_STDIO_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct mcp_server;
struct stdio_transport;

typedef void stdio_done_fn(void *data);

struct stdio_options {
    int in_fd;              /* usually 0 */
    int out_fd;             /* usually 1 */
    size_t max_line;        /* bytes; 0 means 16 MiB */
    size_t max_output;      /* bytes of replies waiting to be written before stdin is paused;
                               0 means 64 MiB; reading resumes below a quarter of it */
    uint64_t grace_ms;      /* after stdin ends; 0 means 10 s */
    stdio_done_fn *on_done; /* runs once, when everything is flushed and closed */
    void *data;
};

/* Starts reading. Returns 0, or a libuv error after writing why to err. */
int stdio_transport_start(uv_loop_t *loop, struct mcp_server *server,
                          const struct stdio_options *opts, struct stdio_transport **pt, char *err,
                          size_t errlen);

/* Cancels every call now and winds down (as at end of input, without grace). */
void stdio_transport_shutdown(struct stdio_transport *t);

/* Frees the transport after on_done has run. */
void stdio_transport_free(struct stdio_transport *t);

#endif
