/* The shared life of an OpenAI image tool call (image_io.h): checks, reading
 * input images through the store, one OpenAI request at a time, and saving a
 * base64 image (decoded and probed on the imaging pool, written atomically). */
#include "fmacros.h"

#include "tools/image_io.h"
#include "core/err.h"
#include "core/log.h"
#include "mcp/server.h"
#include "openai/client.h"
#include "tools/common.h"
#include "tools/replies.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const struct mcp_field imgio_dimension = {.types = MCP_T_INTEGER};

/* ---- life ----------------------------------------------------------------- */

void imgio_on_cancel(struct mcp_call *call, void *data)
{
    struct imgio *io = data;

    (void)call;
    io->cancelled = true;
    /* Both report later (SZ_ECANCELLED, or a result to discard); the step that
     * receives it finishes the call. */
    if (io->req != NULL)
        net_req_cancel(io->req);
    if (io->job != NULL)
        sz_pool_cancel(io->job);
}

void imgio_init(struct imgio *io, struct mcp_call *call, struct tools_ctx *app,
                imgio_free_fn *free_fn)
{
    io->call = call;
    io->app = app;
    io->free_fn = free_fn;
    mcp_call_on_cancel(call, imgio_on_cancel, io);
}

static void free_input(struct imgio_input *in)
{
    free(in->bytes);
    in->bytes = NULL;
    free(in->url);
    in->url = NULL;
}

/* Releases everything io owns (nothing asynchronous is outstanding when this
 * runs, except possibly an idle writer) and hands the state to free_fn. */
static void release(struct imgio *io)
{
    if (io->writer != NULL) {
        /* Not committing (the commit takes the writer): the temporary goes and
         * nothing appears under the final name. */
        store_writer_abort(io->writer, NULL, NULL);
        io->writer = NULL;
    }
    for (size_t i = 0; i < io->ninputs; i++)
        free_input(&io->inputs[i]);
    free(io->inputs);
    free_input(&io->mask);
    free(io->image);
    json_decref(io->extra);
    io->free_fn(io);
}

void imgio_fail(struct imgio *io, const char *fmt, ...)
{
    char text[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    mcp_call_fail(io->call, "%s", text);
    release(io);
}

void imgio_finish(struct imgio *io, json_t *result)
{
    mcp_call_finish(io->call, result);
    release(io);
}

bool imgio_stopped(struct imgio *io)
{
    if (!io->cancelled && !mcp_call_cancelled(io->call))
        return false;
    imgio_fail(io, "cancelled");
    return true;
}

/* ---- checks ----------------------------------------------------------------- */

int imgio_check_key(struct mcp_call *call, struct tools_ctx *app)
{
    if (!app->opts.have_key) {
        tool_fail_err(call, SZ_ENOKEY, "OPENAI_API_KEY is not set");
        return -1;
    }
    return 0;
}

int imgio_check_input_name(struct mcp_call *call, const char *name, size_t len)
{
    char msg[STORE_MSG_MAX];

    if (store_check_name(name, len, msg, sizeof(msg)) != 0 ||
        store_check_ext(name, len, store_image_exts, "JPEG, PNG, or WEBP", msg, sizeof(msg)) != 0) {
        mcp_call_fail(call, "%s", msg);
        return -1;
    }
    return 0;
}

int imgio_check_mask_name(struct mcp_call *call, const char *name, size_t len)
{
    static const char *const png_only[] = {"png", NULL};
    char msg[STORE_MSG_MAX];

    if (store_check_name(name, len, msg, sizeof(msg)) != 0) {
        mcp_call_fail(call, "%s", msg);
        return -1;
    }
    if (store_check_ext(name, len, png_only, "PNG", NULL, 0) != 0) {
        mcp_call_fail(call, "Mask must be PNG format with alpha channel");
        return -1;
    }
    return 0;
}

int imgio_check_input_names(struct mcp_call *call, const struct mcp_strings *names)
{
    for (size_t i = 0; i < names->n; i++)
        if (imgio_check_input_name(call, names->v[i], strlen(names->v[i])) != 0)
            return -1;
    return 0;
}

int imgio_check_output_name(struct mcp_call *call, const char *name, size_t len,
                            enum img_format expected)
{
    char msg[STORE_MSG_MAX];

    if (store_check_name(name, len, msg, sizeof(msg)) != 0 ||
        store_check_ext(name, len, store_image_exts, "PNG, JPEG, or WEBP", msg, sizeof(msg)) != 0) {
        mcp_call_fail(call, "%s", msg);
        return -1;
    }
    /* The name's extension decides the MIME type the file is served with, so
     * it must agree with what will be in it. */
    if (expected != IMG_FORMAT_UNKNOWN && !img_filename_matches(name, expected)) {
        mcp_call_fail(call,
                      "Filename '%s' does not match output_format %s: use a name ending in .%s",
                      name, img_format_name(expected),
                      expected == IMG_FORMAT_JPEG ? "jpg or .jpeg" : img_format_name(expected));
        return -1;
    }
    return 0;
}

int imgio_check_transparent(struct mcp_call *call, const char *model, const char *background)
{
    if (model != NULL && background != NULL && strcmp(background, "transparent") == 0 &&
        strncmp(model, "gpt-image-2", strlen("gpt-image-2")) == 0) {
        mcp_call_fail(call,
                      "%s does not support transparent backgrounds. Use gpt-image-1.5 for "
                      "transparent output.",
                      model);
        return -1;
    }
    return 0;
}

enum img_format imgio_format_from_param(const char *output_format)
{
    if (output_format == NULL || strcmp(output_format, "png") == 0)
        return IMG_FORMAT_PNG;
    if (strcmp(output_format, "jpeg") == 0)
        return IMG_FORMAT_JPEG;
    if (strcmp(output_format, "webp") == 0)
        return IMG_FORMAT_WEBP;
    return IMG_FORMAT_UNKNOWN;
}

/* ---- precheck of the output name ------------------------------------------------ */

/* The answer to "replace the existing file?" (tool_ask_overwrite). */
static void precheck_decided(struct mcp_call *call, enum tool_write how, void *data)
{
    struct imgio *io = data;

    (void)call;
    if (how == TOOL_WRITE_DONE) { /* the call is finished: only our state remains */
        release(io);
        return;
    }
    if (how == TOOL_WRITE_AS_ASKED) {
        imgio_fail(io, "File already exists: %s (pass overwrite: true to replace it)",
                   io->out_name);
        return;
    }
    io->write_flags |= STORE_OVERWRITE;
    io->next(io);
}

static void precheck_statted(void *data, int err, const char *msg, const struct store_stat *st)
{
    struct imgio *io = data;

    (void)st;
    if (imgio_stopped(io))
        return;
    if (err == SZ_ENOTFOUND) {
        io->next(io);
        return;
    }
    if (err != 0) {
        imgio_fail(io, "%s", msg ? msg : sz_strerror(err));
        return;
    }
    if (!(io->write_flags & STORE_OVERWRITE)) {
        tool_ask_overwrite(io->call, "images", io->out_name, precheck_decided, io);
        return;
    }
    io->next(io);
}

void imgio_precheck_output(struct imgio *io, imgio_next_fn *next)
{
    io->next = next;
    if (io->out_name[0] == '\0') {
        next(io);
        return;
    }
    if (store_stat(io->app->images, io->out_name, strlen(io->out_name), "Output file",
                   precheck_statted, io) != 0)
        imgio_fail(io, "Out of memory checking %s", io->out_name);
}

/* ---- loading inputs --------------------------------------------------------------- */

static void load_step(struct imgio *io);

/* Every image to be uploaded is checked on the pool (a header decode and a walk of its
 * container: img_probe_async; libvips must not run on the loop) before any request: a
 * corrupt or truncated file is refused, naming it, rather than sent and paid for. */
static void refuse(struct imgio *io, const char *what, const struct imgio_input *in,
                   const struct img_result *res)
{
    char msg[STORE_MSG_MAX + IMG_ERRMSG_LEN + 64];

    tool_upload_refusal(msg, sizeof(msg), what, in->name, in->format, res->status, res->errmsg);
    imgio_fail(io, "%s", msg);
}

static void mask_probed(struct img_result *res, void *arg)
{
    struct imgio *io = arg;

    io->job = NULL;
    if (imgio_stopped(io))
        return;
    if (res->status != 0) {
        refuse(io, "Mask", &io->mask, res);
        return;
    }
    if (res->info.format != IMG_FORMAT_PNG || !res->info.has_alpha) {
        imgio_fail(io, "Mask must be PNG format with alpha channel");
        return;
    }
    io->mask.has_alpha = true;
    io->loaded++;
    load_step(io);
}

static void mask_read(void *data, int err, const char *msg, char *buf, size_t len,
                      const struct store_stat *st)
{
    struct imgio *io = data;
    int rc;

    (void)st;
    if (imgio_stopped(io)) {
        free(buf);
        return;
    }
    if (err != 0) {
        imgio_fail(io, "%s", msg ? msg : sz_strerror(err));
        return;
    }
    io->mask.bytes = (uint8_t *)buf;
    io->mask.len = len;
    io->mask.format = img_sniff(buf, len);
    if (io->mask.format != IMG_FORMAT_PNG) {
        imgio_fail(io, "Mask must be PNG format with alpha channel");
        return;
    }
    /* The job borrows the bytes, which stay in io->mask for the upload. */
    rc = img_probe_async(io->app->imaging, io->mask.bytes, len, mask_probed, io, &io->job);
    if (rc != 0)
        imgio_fail(io, "Could not check the mask: %s", sz_strerror(rc));
}

/* Raw mode: the probe borrowed in->bytes, which go into the request as they are. */
static void input_probed(struct img_result *res, void *arg)
{
    struct imgio *io = arg;
    struct imgio_input *in = &io->inputs[io->loaded];

    io->job = NULL;
    if (imgio_stopped(io))
        return;
    if (res->status != 0) {
        refuse(io, "Input image", in, res);
        return;
    }
    io->loaded++;
    load_step(io);
}

static void input_encoded(struct img_result *res, void *arg)
{
    struct imgio *io = arg;
    struct imgio_input *in = &io->inputs[io->loaded];

    io->job = NULL;
    if (imgio_stopped(io))
        return;
    if (res->status != 0) {
        refuse(io, "Input image", in, res);
        return;
    }
    in->url = res->data;
    in->url_len = res->len;
    res->data = NULL;
    in->format = res->info.format;
    io->loaded++;
    load_step(io);
}

static void input_read(void *data, int err, const char *msg, char *buf, size_t len,
                       const struct store_stat *st)
{
    struct imgio *io = data;
    struct imgio_input *in = &io->inputs[io->loaded];
    int rc;

    (void)st;
    if (imgio_stopped(io)) {
        free(buf);
        return;
    }
    if (err != 0) {
        imgio_fail(io, "%s", msg ? msg : sz_strerror(err));
        return;
    }
    io->input_total += len;
    if (io->input_total_max != 0 && io->input_total > io->input_total_max) {
        free(buf);
        imgio_fail(io,
                   "Input images total %llu bytes; at most 50 MB of images can be sent in one "
                   "request",
                   (unsigned long long)io->input_total);
        return;
    }
    in->format = img_sniff(buf, len);
    if (in->format == IMG_FORMAT_UNKNOWN) {
        free(buf);
        imgio_fail(io, "Unsupported image content: %s is not a PNG, JPEG or WEBP image", in->name);
        return;
    }
    if (io->data_urls) {
        /* The probe and the base64 of up to 50 MB run on the pool; the job
         * takes buf. The data URL's MIME type comes from the content. */
        rc = img_b64_encode_async(io->app->imaging, buf, len, input_encoded, io, &io->job);
        if (rc != 0)
            imgio_fail(io, "Could not encode input image %s: %s", in->name, sz_strerror(rc));
        return;
    }
    in->bytes = (uint8_t *)buf;
    in->len = len;
    rc = img_probe_async(io->app->imaging, in->bytes, len, input_probed, io, &io->job);
    if (rc != 0)
        imgio_fail(io, "Could not check input image %s: %s", in->name, sz_strerror(rc));
}

static void load_step(struct imgio *io)
{
    struct store *images = io->app->images;
    int rc;

    if (io->loaded < io->ninputs) {
        struct imgio_input *in = &io->inputs[io->loaded];
        rc = store_read_file(images, in->name, in->name_len, "Input image", IMG_MAX_BYTES,
                             input_read, io);
    } else if (io->has_mask && io->loaded == io->ninputs) {
        rc = store_read_file(images, io->mask.name, io->mask.name_len, "Mask", IMG_MAX_BYTES,
                             mask_read, io);
    } else {
        io->next(io);
        return;
    }
    if (rc != 0)
        imgio_fail(io, "Out of memory reading input images");
}

void imgio_load(struct imgio *io, const struct mcp_strings *names, const char *mask,
                size_t mask_len, bool data_urls, imgio_next_fn *next)
{
    size_t n = names->n;

    io->next = next;
    io->data_urls = data_urls;
    if (n > 0) {
        io->inputs = calloc(n, sizeof(*io->inputs));
        if (io->inputs == NULL) {
            imgio_fail(io, "Out of memory");
            return;
        }
        io->ninputs = n;
        for (size_t i = 0; i < n; i++) {
            /* Checked by imgio_check_input_name: fits, no NUL. */
            io->inputs[i].name_len = strlen(names->v[i]);
            memcpy(io->inputs[i].name, names->v[i], io->inputs[i].name_len);
        }
    }
    if (mask != NULL) {
        io->has_mask = true;
        io->mask.name_len = mask_len;
        memcpy(io->mask.name, mask, mask_len);
    }
    load_step(io);
}

/* ---- one OpenAI request ------------------------------------------------------------ */

/* Replies up to this size are parsed on the loop; larger ones (a generated image
 * is megabytes of base64 inside the JSON) on the imaging pool, so the loop never
 * spends hundreds of milliseconds in a JSON parser. */
#define PARSE_ON_LOOP_MAX (256u * 1024u)

/* A JSON parse on the pool. */
struct parse_job {
    struct imgio *io;
    char *body; /* owned, freed by the work */
    size_t len;
    long status;
    json_t *json; /* the result, owned */
    char err[320];
};

static void reply_with(struct imgio *io, json_t *json, long status, const char *body, size_t len)
{
    char summary[256];

    if (json == NULL) {
        net_summarize(body, len, 60, summary, sizeof(summary));
        imgio_fail(io, "OpenAI API returned status %ld with a body that is not JSON: %s", status,
                   summary);
        return;
    }
    if (!json_is_object(json)) {
        imgio_fail(io, "OpenAI returned an unexpected response (not a JSON object)");
        return;
    }
    io->reply(io, json);
}

static void parse_work(void *data)
{
    struct parse_job *p = data;
    json_error_t jerr;

    p->json = json_loadb(p->body, p->len, 0, &jerr);
    if (p->json == NULL)
        net_summarize(p->body, p->len, 60, p->err, sizeof(p->err));
    free(p->body);
    p->body = NULL;
}

static void parse_done(void *data, int status)
{
    struct parse_job *p = data;
    struct imgio *io = p->io;

    io->job = NULL;
    if (!(io->deliver_cancelled && status == 0) && imgio_stopped(io))
        goto out;
    if (status != 0)
        imgio_fail(io, "Could not read the OpenAI response: %s", sz_strerror(status));
    else if (p->json == NULL)
        imgio_fail(io, "OpenAI API returned status %ld with a body that is not JSON: %s", p->status,
                   p->err);
    else
        reply_with(io, p->json, p->status, NULL, 0);
out:
    json_decref(p->json);
    free(p->body);
    free(p);
}

static void sent(struct net_req *req, const struct net_result *res, void *data)
{
    struct imgio *io = data;
    struct parse_job *p;
    json_error_t jerr;
    json_t *json;
    int rc;

    (void)req;
    io->req = NULL;
    if (!(io->deliver_cancelled && res->err == 0) && imgio_stopped(io))
        return;
    if (res->err != 0) {
        imgio_fail(io, "%s", res->message ? res->message : sz_strerror(res->err));
        return;
    }
    if (res->body_len <= PARSE_ON_LOOP_MAX) {
        json = json_loadb(res->body ? res->body : "", res->body_len, 0, &jerr);
        reply_with(io, json, res->status, res->body ? res->body : "", res->body_len);
        json_decref(json);
        return;
    }
    /* The body is borrowed for this callback only: one copy, then the parse
     * runs on the pool. */
    p = calloc(1, sizeof(*p));
    if (p != NULL)
        p->body = malloc(res->body_len);
    if (p == NULL || p->body == NULL) {
        free(p);
        imgio_fail(io, "Out of memory reading the OpenAI response");
        return;
    }
    memcpy(p->body, res->body, res->body_len);
    p->len = res->body_len;
    p->status = res->status;
    p->io = io;
    rc = sz_pool_submit(io->app->imaging, parse_work, parse_done, p, &io->job);
    if (rc != 0) {
        free(p->body);
        free(p);
        imgio_fail(io, "Could not read the OpenAI response: %s", sz_strerror(rc));
    }
}

void imgio_send(struct imgio *io, struct net_req *req, imgio_reply_fn *reply)
{
    const char *name = mcp_call_name(io->call);

    net_req_set_max_body(req, IMGIO_MAX_BODY);
    /* Handed over unparsed: see PARSE_ON_LOOP_MAX. */
    net_req_set_raw(req);
    if (name != NULL)
        net_req_set_label(req, name);
    io->reply = reply;
    io->req = req;
    net_req_start(req, sent, io);
}

/* ---- saving the image -------------------------------------------------------------- */

static void committed(void *data, int err, const char *msg, const char *name, uint64_t size)
{
    struct imgio *io = data;
    json_t *result;

    if (err != 0) {
        imgio_fail(io, "%s", msg ? msg : sz_strerror(err));
        return;
    }
    result = json_pack("{s:s, s:[i,i], s:s, s:I}", "filename", name, "size", io->info.width,
                       io->info.height, "format", img_format_name(io->info.format), "size_bytes",
                       (json_int_t)size);
    if (result == NULL) {
        imgio_fail(io, "Out of memory");
        return;
    }
    if (io->extra != NULL)
        json_object_update(result, io->extra);
    tool_saved(io->call, "images", name, store_mime_type(name, strlen(name)), size);
    imgio_finish(io, result);
}

static void wrote(void *data, int err, const char *msg)
{
    struct imgio *io = data;
    struct store_writer *w;
    int rc;

    if (imgio_stopped(io))
        return; /* release aborts the writer: nothing is published */
    if (err != 0) {
        imgio_fail(io, "%s", msg ? msg : sz_strerror(err));
        return;
    }
    w = io->writer;
    io->writer = NULL; /* the commit owns it now */
    rc = store_writer_commit(w, committed, io);
    if (rc != 0)
        imgio_fail(io, "Could not save %s: %s", io->out_name, sz_strerror(rc));
}

static void writer_opened(void *data, int err, const char *msg, struct store_writer *w)
{
    struct imgio *io = data;
    const char *werr = NULL;
    int rc;

    io->writer = w;
    if (imgio_stopped(io))
        return;
    if (err != 0) {
        imgio_fail(io, "%s", msg ? msg : sz_strerror(err));
        return;
    }
    rc = store_writer_write(w, io->image, io->image_len, wrote, io);
    if (rc != 0) {
        store_writer_error(w, &werr);
        imgio_fail(io, "%s", werr ? werr : sz_strerror(rc));
    }
}

static void decoded(struct img_result *res, void *arg)
{
    struct imgio *io = arg;
    enum img_format fmt;

    io->job = NULL;
    if (imgio_stopped(io))
        return;
    if (res->status != 0) {
        imgio_fail(io, "OpenAI returned image data that could not be read: %s", res->errmsg);
        return;
    }
    io->image = res->data;
    io->image_len = res->len;
    res->data = NULL;
    io->info = res->info;
    fmt = io->info.format;
    if (io->out_name[0] == '\0') {
        /* <prefix>_<unix>.<format>, named after what the bytes are; a free
         * name is picked on collision rather than replacing an earlier one. */
        snprintf(io->out_name, sizeof(io->out_name), "%s_%lld.%s", io->prefix,
                 (long long)time(NULL), img_format_name(fmt));
        if (!(io->write_flags & STORE_OVERWRITE))
            io->write_flags |= STORE_UNIQUE;
    } else if (!img_filename_matches(io->out_name, fmt)) {
        if (io->strict_ext) {
            imgio_fail(io,
                       "The image is %s but the filename '%s' names another format: use a name "
                       "ending in .%s",
                       img_format_upper_name(fmt), io->out_name,
                       fmt == IMG_FORMAT_JPEG ? "jpg or .jpeg" : img_format_name(fmt));
            return;
        }
        /* The image is paid for: keep it under the name asked for, and say
         * what it really is in the result. */
        SZ_WARN("%s: OpenAI returned %s data for %s", mcp_call_name(io->call),
                img_format_upper_name(fmt), io->out_name);
    }
    if (store_writer_open(io->app->images, io->out_name, strlen(io->out_name), io->write_flags,
                          writer_opened, io) != 0)
        imgio_fail(io, "Out of memory saving %s", io->out_name);
}

/* Checks the first bytes of the base64 text against what was asked for,
 * before a job decodes it all: an error page or another format is refused
 * with what came instead, and nothing is written. Text whose start does not
 * decode is left to the job, which says why. Returns 0 or -1 (call failed). */
static int check_head(struct imgio *io, const char *b64, size_t len)
{
    char msg[STORE_MSG_MAX];
    int rc = reply_image_head(io->expect, b64, len, msg, sizeof(msg));

    if (rc == 0)
        return 0;
    if (rc == SZ_EUNSUPPORTED)
        imgio_fail(
            io, "OpenAI returned an image in another format than output_format asked for: %s", msg);
    else
        imgio_fail(io, "OpenAI returned image data that could not be read: %s", msg);
    return -1;
}

void imgio_save(struct imgio *io, const char *b64, size_t len)
{
    int rc;

    if (check_head(io, b64, len) != 0)
        return;
    rc = img_b64_decode_probe_async(io->app->imaging, b64, len, decoded, io, &io->job);

    if (rc == SZ_ETOOBIG)
        imgio_fail(io, "The image OpenAI returned is larger than 50 MB");
    else if (rc != 0)
        imgio_fail(io, "Could not decode the image: %s", sz_strerror(rc));
}
