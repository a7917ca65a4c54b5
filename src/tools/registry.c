/* The order tools/list shows: video first (the product's heart), then images,
 * then the local reference helpers; resources last. */
#include "fmacros.h"

#include "tools/tools.h"

int tools_register_all(struct mcp_server *server, struct sz_app *app)
{
    int rc;

    if ((rc = tools_register_local(server, app)) != 0)
        return rc;
    if ((rc = tools_register_reference(server, app)) != 0)
        return rc;
    return tools_register_resources(server, app);
}
