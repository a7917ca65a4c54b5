/* sanzaru: an MCP server for OpenAI video and image generation. Everything
 * lives in the library; see src/app/app.c for start-up. */
#include "fmacros.h"

#include "app/app.h"

#include <stddef.h>

int main(int argc, char **argv)
{
    return sz_main(argc, argv, NULL);
}
