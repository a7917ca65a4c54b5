/* The server's start-up and shutdown, shared by the real binary and test
 * builds: command line, configuration, the loop, the layers, the transport.
 *
 * A test binary passes a hook that registers extra (test-only) tools on the
 * same server, so end-to-end tests exercise the real start-up path. */
#ifndef SZ_APP_H
#define SZ_APP_H

struct mcp_server;
struct tools_ctx;

/* Registers extra rows on the server after the real tools; returns 0 or an error. */
typedef int sz_register_fn(struct mcp_server *server, struct tools_ctx *tools);

/* Runs the server to completion. Returns the process exit status: 0 after a
 * clean shutdown, 1 when start-up failed, 2 for a bad command line. */
int sz_main(int argc, char **argv, sz_register_fn *extra);

/* The text of --help. */
extern const char sz_usage[];

#endif
