/* The tool layer: thin adapters from MCP calls to the store, the OpenAI client
 * and imaging. Each tool group registers its table rows here; every row's data
 * pointer is the shared sz_app. */
#ifndef SZ_TOOLS_H
#define SZ_TOOLS_H

#include <uv.h>

struct mcp_server;
struct sz_config;
struct store;
struct oai_client;
struct sz_pool;

/* Everything a tool needs, owned by main (or a test harness) and borrowed by
 * every call. */
struct sz_app {
    uv_loop_t *loop;
    const struct sz_config *cfg;
    struct store *videos;   /* the video root; NULL when it could not be opened */
    struct store *images;   /* the image root (reference images live here too); or NULL */
    char videos_error[512]; /* why videos is NULL, for the tools to say */
    char images_error[512];
    struct oai_client *oai; /* NULL-safe: tools report OPENAI_API_KEY is not set */
    struct sz_pool *imaging;
};

/* Each returns 0 or a negative error after logging why. */
int tools_register_video(struct mcp_server *server, struct sz_app *app);
int tools_register_image(struct mcp_server *server, struct sz_app *app);      /* Responses API */
int tools_register_images_api(struct mcp_server *server, struct sz_app *app); /* Images API */
int tools_register_reference(struct mcp_server *server, struct sz_app *app);
int tools_register_local(struct mcp_server *server, struct sz_app *app); /* the two list tools */
int tools_register_resources(struct mcp_server *server, struct sz_app *app);

/* Registers everything above, in the order tools/list shows them. */
int tools_register_all(struct mcp_server *server, struct sz_app *app);

#endif
