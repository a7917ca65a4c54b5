/* The order tools/list shows: video first (the product's heart), then images
 * (Responses API, then Images API), then the local reference helpers, then
 * audio (files, transcription, speech); resources last. */
#include "fmacros.h"

#include "tools/tools.h"

int tools_register_all(struct mcp_server *server, struct tools_ctx *ctx)
{
    int (*const groups[])(struct mcp_server *, struct tools_ctx *) = {
        tools_register_video,
        tools_register_image,
        tools_register_images_api,
        tools_register_local,
        tools_register_reference,
        tools_register_audio_files,
        tools_register_audio_transcribe,
        tools_register_audio_chat,
        tools_register_audio_speech,
        tools_register_resources,
    };

    for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
        int rc = groups[i](server, ctx);
        if (rc != 0)
            return rc;
    }
    return 0;
}
