/* The plumbing the five OpenAI image tools share (image.c, images_api.c): one
 * call's life around a chain of asynchronous steps, reading input images from
 * the image directory, sending one OpenAI request at a time, and saving a
 * generated image (base64 decoded and probed on the imaging pool, written
 * atomically through the store).
 *
 * A tool embeds a struct imgio as the FIRST member of its own state, fills it
 * with imgio_init, and then runs one asynchronous step at a time: at every
 * moment at most one of an OpenAI request, an imaging job or a store
 * operation is outstanding, so a step's callback may finish the call. The
 * call is finished exactly once, by imgio_fail or imgio_finish (directly or
 * through imgio_save), which release everything and then call the tool's
 * free function.
 *
 * Cancellation: the cancel callback stops the request in flight
 * (net_req_cancel) or the queued imaging job (sz_pool_cancel); a store
 * operation cannot be stopped, so every step checks imgio_stopped first. A
 * file being written is aborted (nothing appears under its name) unless its
 * commit has already begun.
 *
 * Thread: the loop thread only. */
#ifndef SZ_TOOLS_IMAGE_IO_H
#define SZ_TOOLS_IMAGE_IO_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imaging/imaging.h"
#include "mcp/table.h"
#include "store/store.h"
#include "tools/tools.h"

struct mcp_call;
struct net_req;
struct store_writer;
struct imgio;

/* Per request (OpenAI): generated images come back as base64 inside JSON, and a
 * 4K PNG is tens of megabytes of it. */
#define IMGIO_MAX_BODY (128u * 1024u * 1024u)

/* The result fields imgio_save reports, as rows for a tool's result table:
 * filename, size [width, height], format, size_bytes. */
extern const struct mcp_field imgio_dimension; /* an item of size */
#define IMGIO_SAVED_FIELDS                                                                         \
    {.name = "filename", .types = MCP_T_STRING, .required = true},                                 \
        {.name = "size",                                                                           \
         .types = MCP_T_ARRAY,                                                                     \
         .required = true,                                                                         \
         .items = &imgio_dimension,                                                                \
         .min_items = 2,                                                                           \
         .max_items = 2},                                                                          \
        {.name = "format", .types = MCP_T_STRING, .required = true},                               \
    {                                                                                              \
        .name = "size_bytes", .types = MCP_T_INTEGER                                               \
    }

/* What an image tool's own state gets back from the chain. */
typedef void imgio_next_fn(struct imgio *io);
/* Called with the parsed 2xx JSON body (borrowed, valid during the call). */
typedef void imgio_reply_fn(struct imgio *io, json_t *body);
/* Frees the tool's state that embeds io, once the call has finished. */
typedef void imgio_free_fn(struct imgio *io);

/* One input image read from the image directory. */
struct imgio_input {
    char name[STORE_NAME_MAX + 1];
    size_t name_len;
    uint8_t *bytes; /* raw mode: the file's bytes (owned; NULL once handed on) */
    size_t len;
    char *url; /* data-URL mode: "data:<mime>;base64,..." (owned), else NULL */
    size_t url_len;
    enum img_format format; /* by content */
    bool has_alpha;         /* the mask only: probed on the pool */
};

struct imgio {
    struct mcp_call *call;
    struct tools_ctx *app;
    imgio_free_fn *free_fn;
    bool cancelled;
    /* The reply of the request in flight reaches the tool even when the call was
     * cancelled meanwhile (the tool checks mcp_call_cancelled itself): a job that
     * exists upstream once its create returns can then be cancelled there. */
    bool deliver_cancelled;

    /* The one asynchronous operation that can be stopped, when outstanding. */
    struct net_req *req;
    struct sz_pool_job *job;
    struct store_writer *writer;

    /* Inputs (imgio_load). */
    struct imgio_input *inputs;
    size_t ninputs;
    size_t loaded;
    struct imgio_input mask;
    bool has_mask;
    bool data_urls;
    uint64_t input_total;
    uint64_t input_total_max; /* 0: no cap beyond the per-file one */
    imgio_next_fn *next;
    imgio_reply_fn *reply;

    /* Output (imgio_save). */
    char out_name[STORE_NAME_MAX + 1]; /* the caller's filename, "" for a default */
    const char *prefix;                /* default names: <prefix>_<unix>.<fmt> */
    int write_flags;
    bool strict_ext;          /* refuse a given name whose extension disagrees with the image */
    enum store_format expect; /* what the bytes must be (output_format); NONE: any image */
    json_t *extra;            /* fields added to the result (owned), or NULL */
    uint8_t *image;           /* decoded image being written (owned) */
    size_t image_len;
    struct img_info info;
};

/* Sets io up for call and registers the cancel callback. app is borrowed.
 * free_fn(io) runs after the call has finished (it frees the containing
 * state; imgio releases its own members first). */
void imgio_init(struct imgio *io, struct mcp_call *call, struct tools_ctx *app,
                imgio_free_fn *free_fn);

/* The cancel callback imgio_init registers: stops the request or the pool job in
 * flight (each reports later and the step that receives it finishes the call). For a
 * tool's own cancel callback that falls back to it. */
void imgio_on_cancel(struct mcp_call *call, void *data);

/* Finishes the call with a tool error and frees everything. */
void imgio_fail(struct imgio *io, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Finishes the call successfully with result (stolen) and frees everything. */
void imgio_finish(struct imgio *io, json_t *result);
/* When the call was cancelled, finishes it and returns true: the step must
 * then return without touching io. */
bool imgio_stopped(struct imgio *io);

/* ---- checks made before any work (they fail the call and return -1) ---- */

/* The API key is set. */
int imgio_check_key(struct mcp_call *call, struct tools_ctx *app);
/* A JPEG/PNG/WEBP input filename: one safe component with an image extension. */
int imgio_check_input_name(struct mcp_call *call, const char *name, size_t len);
/* A mask filename: one safe component ending in .png. */
int imgio_check_mask_name(struct mcp_call *call, const char *name, size_t len);
/* Every element of names (borrowed). */
int imgio_check_input_names(struct mcp_call *call, const struct mcp_strings *names);
/* An output filename: one safe component with an image extension; when
 * expected is not UNKNOWN the extension must name that format (.jpg and
 * .jpeg both name JPEG). */
int imgio_check_output_name(struct mcp_call *call, const char *name, size_t len,
                            enum img_format expected);
/* background "transparent" with a gpt-image-2* model, refused as the original
 * does (model and background may be NULL). */
int imgio_check_transparent(struct mcp_call *call, const char *model, const char *background);

/* ---- steps (each ends in next/reply, or finishes the call) ---- */

/* When io->out_name is set and names an existing entry, fails the call unless
 * overwrite was asked (and even then when it is not a regular file), so no
 * money is spent on an image that cannot be saved; then calls next. The final
 * word is the store's race-free check at commit. */
void imgio_precheck_output(struct imgio *io, imgio_next_fn *next);

/* Reads the input images named by names (borrowed; may be empty) and the
 * mask (may be NULL), each capped at IMG_MAX_BYTES, checked by content (PNG,
 * JPEG or WEBP by its first bytes) and probed on the imaging pool (a header
 * decode): a corrupt or truncated file fails the call with a sentence naming it
 * (tool_upload_refusal), before any request. With data_urls each input is
 * turned into a data: URL on the pool (the same job probes it); otherwise its
 * bytes are kept. The mask must be a PNG with an alpha channel. Then calls
 * next. */
void imgio_load(struct imgio *io, const struct mcp_strings *names, const char *mask,
                size_t mask_len, bool data_urls, imgio_next_fn *next);

/* Starts req (ownership taken) with the standard body limit and label; on a
 * 2xx JSON object reply calls reply, otherwise fails the call with the
 * client's sentence (HTTP status and OpenAI's message). The reply is taken
 * raw and parsed on the loop when small, on the imaging pool when large (a
 * generated image is megabytes of base64 inside the JSON). */
void imgio_send(struct imgio *io, struct net_req *req, imgio_reply_fn *reply);

/* Decodes the base64 image b64 (len bytes, borrowed: copied at once) on the
 * pool, writes it under io->out_name (or a default name from io->prefix and
 * the decoded format, made unique on collision) and finishes the call with
 * {filename, size:[w,h], format, size_bytes, ...io->extra} and a
 * resource_link to sanzaru://images/<filename>. */
void imgio_save(struct imgio *io, const char *b64, size_t len);

/* The image format a name's extension claims (.png, .jpg/.jpeg, .webp), or
 * UNKNOWN; "png", "jpeg", "webp" as output_format values. */
enum img_format imgio_format_from_param(const char *output_format);

#endif
