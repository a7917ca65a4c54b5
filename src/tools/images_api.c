/* Placeholder until the tools of this group land; registers nothing. */
#include "fmacros.h"

#include "tools/tools.h"

int tools_register_images_api(struct mcp_server *server, struct sz_app *app)
{
    (void)server;
    (void)app;
    return 0;
}
