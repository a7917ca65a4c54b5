/* What app.c shares with the command line's start-up (app_cli.c): the state
 * of a running process and the steps that build and tear down its floors, so
 * the server and the CLI are one start-up with two ends.
 *
 * Thread: the main thread, which runs the loop. */
#ifndef SZ_APP_INT_H
#define SZ_APP_INT_H

#include <stdbool.h>
#include <uv.h>

#include "app/app.h"
#include "app/config.h"
#include "tools/tools.h"

struct net_client;
struct gem_client;
struct oai_client;
struct state;
struct stdio_transport;
struct http_transport;

struct app_state {
    uv_loop_t loop;
    bool loop_open;
    struct sz_config cfg;
    struct tools_ctx tools;
    struct net_client *net;
    struct gem_client *gemini;
    struct oai_client *azure;
    struct state *state;
    struct mcp_server *server;
    struct stdio_transport *stdio;
    struct http_transport *http;
    uv_signal_t sigint, sigterm;
    int exit_status;
};

/* With st->cfg loaded: the loop, the pools, the clients, the engine and every
 * tool (and extra's, may be NULL). Returns 0, or 1 after saying why on
 * stderr; app_close_floors cleans up either way. */
int app_open_floors(struct app_state *st, sz_register_fn *extra);

/* Opens the media roots as the environment says; the root of kind moved (an
 * enum sz_media, or -1 for none) opens at dir instead, which must exist. A
 * root that cannot be opened is NULL with the reason in tools.*_error. */
void app_open_stores(struct app_state *st, int moved, const char *dir);

/* Frees what app_open_floors and app_open_stores made, runs the loop until
 * every handle has closed, and frees the configuration. */
void app_close_floors(struct app_state *st);

/* The agent command line (src/cli): argv[0] is the command word. Returns the
 * exit status. */
int app_cli_main(int argc, char **argv, sz_register_fn *extra);

#endif
