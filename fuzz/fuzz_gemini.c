/* What Google's Gemini API sends back, as the gemini video provider reads it: an
 * error body in either of Google's shapes, and an Interaction, whose large "data"
 * strings are cut out (and decoded) before jansson parses the rest and the result is
 * mapped onto the Video object (src/video/gemini_map.h). The first two bytes give the
 * HTTP status; the rest is the body. Two properties are checked beyond "no crash": a
 * body that is valid JSON stays valid JSON after the cut, and a mapped Video object
 * fits the outputSchema the video tools promise (tools/replies.h), whatever Gemini
 * sent. */
#include "fmacros.h"

#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "gemini/client.h"
#include "mcp/mcp_int.h"
#include "tools/replies.h"
#include "video/gemini_map.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char msg[512], code[64];
    struct vgem_media media;
    struct vgem_output out;
    json_t *before, *it, *video = NULL;
    long status = 200;
    char *text;

    if (size >= 2) {
        status = 100 + (long)((data[0] << 8 | data[1]) % 500);
        data += 2;
        size -= 2;
    }
    gem_error_message(status, (const char *)data, size, msg, sizeof msg, code, sizeof code);
    text = malloc(size + 1);
    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    before = json_loadb(text, size, 0, NULL);
    if (vgem_cut_media(text, size, (status & 1) != 0, &media) != 0) {
        json_decref(before);
        free(text);
        return 0;
    }
    it = json_loadb(text, size, 0, NULL);
    if (before != NULL && it == NULL)
        abort(); /* the cut broke a valid document */
    memset(&out, 0, sizeof(out));
    if (it != NULL && vgem_map(it, &media, &video, &out, msg, sizeof msg) == 0) {
        json_t *known = json_pack("{s:s, s:s}", "prompt", "p", "size", "1280x720");
        if (mcp_field_check(&reply_video_result, video, msg, sizeof msg) != 0)
            abort(); /* our mapping broke the promised shape */
        vgem_merge_known(video, known);
        json_decref(known);
        if (mcp_field_check(&reply_video_result, video, msg, sizeof msg) != 0)
            abort();
    }
    vgem_output_free(&out);
    vgem_media_free(&media);
    json_decref(video);
    json_decref(it);
    json_decref(before);
    free(text);
    return 0;
}
