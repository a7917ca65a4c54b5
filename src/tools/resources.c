/* Saved media as MCP resources: sanzaru://videos/{filename},
 * sanzaru://images/{filename} and sanzaru://audio/{filename} (an audio name
 * may be a relative path into a subfolder, its '/' percent-encoded). resources/list shows what is
 * on disk, resources/read returns a file's bytes as a base64 blob with its MIME type, and
 * completion/complete suggests file names. Reads go through the store (the same openat2 sandbox as
 * the tools); the base64 encoding of up to RESOURCE_MAX_BYTES runs on the thread pool. */
#include "fmacros.h"

#include "core/base64.h"
#include "core/err.h"
#include "mcp/server.h"
#include "store/store.h"
#include "tools/audio_common.h"
#include "tools/common.h"
#include "tools/tools.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Base64 inflates by a third and the JSON reply is held whole: keep reads to a
 * size every client can take. Larger files stay reachable as files. */
#define RESOURCE_MAX_BYTES (64u * 1024u * 1024u)
#define COMPLETE_MAX       100

enum media { MEDIA_VIDEOS, MEDIA_IMAGES, MEDIA_AUDIO };

struct media_kind {
    const char *kind;   /* "videos" / "images" / "audio" */
    const char *prefix; /* "sanzaru://videos/" */
    enum media media;
    const char *what; /* in messages */
    struct tools_ctx *ctx;
};

static struct media_kind video_kind = {"videos", "sanzaru://videos/", MEDIA_VIDEOS, "Video", NULL};
static struct media_kind image_kind = {"images", "sanzaru://images/", MEDIA_IMAGES, "Image", NULL};
static struct media_kind audio_kind = {"audio", "sanzaru://audio/", MEDIA_AUDIO, "Audio file",
                                       NULL};

static struct store *kind_store(const struct media_kind *k)
{
    switch (k->media) {
    case MEDIA_VIDEOS:
        return k->ctx->videos;
    case MEDIA_IMAGES:
        return k->ctx->images;
    case MEDIA_AUDIO:
        break;
    }
    return k->ctx->audio;
}

static const char *const *kind_exts(const struct media_kind *k)
{
    return k->media == MEDIA_VIDEOS   ? store_video_exts
           : k->media == MEDIA_IMAGES ? store_image_exts
                                      : tool_audio_exts;
}

static const char *kind_mime(const struct media_kind *k, const char *name)
{
    return k->media == MEDIA_AUDIO ? tool_audio_mime(name) : store_mime_type(name, strlen(name));
}

static const char *kind_error(const struct media_kind *k)
{
    return k->media == MEDIA_VIDEOS   ? k->ctx->videos_error
           : k->media == MEDIA_IMAGES ? k->ctx->images_error
                                      : k->ctx->audio_error;
}

/* ---- resources/list ------------------------------------------------------- */

struct list_ctx {
    struct mcp_call *call;
    const struct media_kind *kind;
};

static void list_done(void *data, int err, const char *msg, json_t *list, size_t total)
{
    struct list_ctx *ctx = data;
    json_t *items = json_array();
    size_t i;
    json_t *entry;

    (void)msg;
    (void)total;
    if (err == 0) {
        json_array_foreach(list, i, entry)
        {
            const char *name = json_string_value(json_object_get(entry, "filename"));
            char *uri = tool_media_uri(ctx->kind->kind, name);
            json_t *size = json_object_get(entry, "size_bytes");
            json_array_append_new(items, json_pack("{s:s, s:s, s:s, s:O}", "uri", uri ? uri : "",
                                                   "name", name, "mimeType",
                                                   kind_mime(ctx->kind, name), "size", size));
            free(uri);
        }
    }
    json_decref(list);
    /* A root that cannot be listed contributes nothing rather than failing the
     * whole listing: the other kind's files are still worth showing. */
    mcp_call_finish_list(ctx->call, items, 0);
    free(ctx);
}

static void media_list(struct mcp_call *call, void *data)
{
    const struct media_kind *k = data;
    struct store *store = kind_store(k);
    struct store_list_opts opts = {
        .exts = kind_exts(k),
        .sort = STORE_SORT_MODIFIED,
        .descending = true,
        .limit = SIZE_MAX,
    };
    struct list_ctx *ctx;

    if (store == NULL || (ctx = malloc(sizeof(*ctx))) == NULL) {
        mcp_call_finish_list(call, json_array(), 0);
        return;
    }
    ctx->call = call;
    ctx->kind = k;
    if (store_list(store, &opts, list_done, ctx) != 0) {
        free(ctx);
        mcp_call_finish_list(call, json_array(), 0);
    }
}

/* ---- resources/read ------------------------------------------------------- */

struct read_ctx {
    uv_work_t work;
    const struct media_kind *kind;
    struct mcp_call *call;
    char *bytes;
    size_t len;
    char *b64;
    size_t b64_len;
    char *uri;
    int rc;
    char name[STORE_PATH_MAX + 1];
};

static void read_ctx_free(struct read_ctx *ctx)
{
    free(ctx->uri);
    free(ctx);
}

static void encode_work(uv_work_t *req)
{
    struct read_ctx *ctx = req->data;
    ctx->rc = sz_b64_encode_alloc(ctx->bytes, ctx->len, &ctx->b64, &ctx->b64_len);
}

static void encode_done(uv_work_t *req, int status)
{
    struct read_ctx *ctx = req->data;

    free(ctx->bytes);
    if (status != 0 || ctx->rc != 0) {
        mcp_call_finish_error(ctx->call, MCP_INTERNAL_ERROR, "Could not encode %s", ctx->name);
    } else {
        /* The blob is base64 we made: skip jansson's UTF-8 scan of megabytes. */
        json_t *blob = json_stringn_nocheck(ctx->b64, ctx->b64_len);
        mcp_call_finish_result(ctx->call, json_pack("{s:[{s:s, s:s, s:o}]}", "contents", "uri",
                                                    ctx->uri, "mimeType",
                                                    kind_mime(ctx->kind, ctx->name), "blob", blob));
    }
    free(ctx->b64);
    read_ctx_free(ctx);
}

static void read_done(void *data, int err, const char *msg, char *buf, size_t len,
                      const struct store_stat *st)
{
    struct read_ctx *ctx = data;

    (void)st;
    if (err != 0) {
        int code = (err == SZ_ENOTFOUND || err == SZ_ETRAVERSAL || err == SZ_ESYMLINK ||
                    err == SZ_ENOTREG || err == SZ_EINVAL)
                       ? MCP_RESOURCE_NOT_FOUND
                       : MCP_INTERNAL_ERROR;
        mcp_call_finish_error(ctx->call, code, "%s", msg ? msg : "Could not read the resource");
        read_ctx_free(ctx);
        return;
    }
    ctx->bytes = buf;
    ctx->len = len;
    ctx->work.data = ctx;
    if (uv_queue_work(mcp_call_loop(ctx->call), &ctx->work, encode_work, encode_done) != 0) {
        free(buf);
        mcp_call_finish_error(ctx->call, MCP_INTERNAL_ERROR, "Could not encode %s", ctx->name);
        read_ctx_free(ctx);
    }
}

static void media_read(struct mcp_call *call, const char *uri, void *data)
{
    const struct media_kind *k = data;
    struct store *store = kind_store(k);
    struct read_ctx *ctx = calloc(1, sizeof(*ctx));

    if (ctx == NULL) {
        mcp_call_finish_error(call, MCP_INTERNAL_ERROR, "out of memory");
        return;
    }
    ctx->call = call;
    ctx->kind = k;
    ctx->uri = strdup(uri);
    if (ctx->uri == NULL || tool_uri_name(uri, k->prefix, ctx->name, sizeof(ctx->name)) != 0) {
        read_ctx_free(ctx);
        mcp_call_finish_error(call, MCP_RESOURCE_NOT_FOUND, "Resource not found: %s", uri);
        return;
    }
    if (store == NULL) {
        read_ctx_free(ctx);
        mcp_call_finish_error(call, MCP_RESOURCE_NOT_FOUND, "%s", kind_error(k));
        return;
    }
    if (store_read_file(store, ctx->name, strlen(ctx->name), k->what, RESOURCE_MAX_BYTES, read_done,
                        ctx) != 0) {
        read_ctx_free(ctx);
        mcp_call_finish_error(call, MCP_INTERNAL_ERROR, "out of memory");
    }
}

/* ---- completion/complete -------------------------------------------------- */

struct complete_ctx {
    struct mcp_call *call;
};

static void complete_done(void *data, int err, const char *msg, json_t *list, size_t total)
{
    struct complete_ctx *ctx = data;
    json_t *values = json_array();
    size_t i;
    json_t *entry;

    (void)msg;
    if (err == 0) {
        json_array_foreach(list, i, entry)
            json_array_append(values, json_object_get(entry, "filename"));
    }
    mcp_call_finish_result(ctx->call,
                           json_pack("{s:{s:o, s:I, s:b}}", "completion", "values", values, "total",
                                     (json_int_t)total, "hasMore", total > json_array_size(list)));
    json_decref(list);
    free(ctx);
}

static void media_complete(struct mcp_call *call, const char *argument, const char *value,
                           void *data)
{
    const struct media_kind *k = data;
    struct store *store = kind_store(k);
    char pattern[STORE_PATTERN_MAX + 2];
    size_t o = 0;
    struct store_list_opts opts = {
        .pattern = pattern,
        .exts = kind_exts(k),
        .sort = STORE_SORT_NAME,
        .limit = COMPLETE_MAX,
    };
    struct complete_ctx *ctx;

    (void)argument;
    /* A prefix match: escape the glob characters of what was typed, add '*'. */
    for (const char *p = value; *p != '\0' && o + 3 < sizeof(pattern); p++) {
        if (strchr("*?[]\\", *p) != NULL)
            pattern[o++] = '\\';
        pattern[o++] = *p;
    }
    pattern[o++] = '*';
    pattern[o] = '\0';
    if (store == NULL || (ctx = malloc(sizeof(*ctx))) == NULL) {
        mcp_call_finish_result(call,
                               json_pack("{s:{s:[], s:b}}", "completion", "values", "hasMore", 0));
        return;
    }
    ctx->call = call;
    if (store_list(store, &opts, complete_done, ctx) != 0) {
        free(ctx);
        mcp_call_finish_result(call,
                               json_pack("{s:{s:[], s:b}}", "completion", "values", "hasMore", 0));
    }
}

static const struct mcp_resource_provider providers[] = {
    {
        .uri_template = "sanzaru://videos/{filename}",
        .name = "videos",
        .title = "Saved videos",
        .description = "Videos saved by download_video in the video directory.",
        .list = media_list,
        .read = media_read,
        .complete = media_complete,
        .data = &video_kind,
    },
    {
        .uri_template = "sanzaru://images/{filename}",
        .name = "images",
        .title = "Saved images",
        .description = "Images in the image directory: generated, edited, prepared or "
                       "provided as references.",
        .list = media_list,
        .read = media_read,
        .complete = media_complete,
        .data = &image_kind,
    },
    {
        .uri_template = "sanzaru://audio/{filename}",
        .name = "audio",
        .title = "Audio files",
        .description = "Audio files in the audio directory: recordings to transcribe or discuss, "
                       "conversions, compressed copies and speech made by create_audio.",
        .list = media_list,
        .read = media_read,
        .complete = media_complete,
        .data = &audio_kind,
    },
};

int tools_register_resources(struct mcp_server *server, struct tools_ctx *ctx)
{
    video_kind.ctx = ctx;
    image_kind.ctx = ctx;
    audio_kind.ctx = ctx;
    for (size_t i = 0; i < sizeof(providers) / sizeof(providers[0]); i++) {
        int rc = mcp_server_add_resource(server, &providers[i]);
        if (rc != 0)
            return rc;
    }
    return 0;
}
