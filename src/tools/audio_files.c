/* The local audio tools: list_audio_files and get_latest_audio (the audio
 * root's files with their durations), convert_audio (mp3 <-> wav and every
 * transcription format in) and compress_audio (an MP3 that fits max_mb,
 * chosen from the duration and checked).
 *
 * Listing reads the directory on libuv's pool (store_list), then opens each
 * candidate through the store and probes its header on the audio pool, a few
 * at a time; nothing is decoded. Conversions open the input through the
 * store, open a writer for the output (so an existing name fails before any
 * work), encode on the audio pool straight into the writer's temporary file,
 * and publish it once its first bytes have been checked. */
#include "fmacros.h"

#include "audio/audio.h"
#include "core/err.h"
#include "core/pool.h"
#include "mcp/server.h"
#include "store/store.h"
#include "tools/audio_common.h"
#include "tools/common.h"
#include "tools/tools.h"

#include <errno.h>
#include <math.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* Files probed at once while listing. */
#define PROBES_AT_ONCE 4
/* The original's bounds on compress_audio's max_mb. */
#define MAX_MB_MIN 1
#define MAX_MB_MAX 1000

/* ---- listing ------------------------------------------------------------------ */

static const char *const sort_keys[] = {"name",          "size",   "duration",
                                        "modified_time", "format", NULL};
enum { SORT_NAME, SORT_SIZE, SORT_DURATION, SORT_MTIME, SORT_FORMAT };

struct list_args {
    const char *pattern;
    long long min_size_bytes, max_size_bytes;
    double min_duration_seconds, max_duration_seconds;
    double min_modified_time, max_modified_time;
    const char *format;
    int sort_by;
    bool reverse;
};

struct entry {
    char *name;
    char ext[16];
    uint64_t size;
    double mtime;
    double duration; /* < 0: unknown (null) */
    size_t index;    /* listing order, for a stable sort */
    bool keep;
    int fd;
};

struct listing {
    struct mcp_call *call;
    struct tools_ctx *app;
    bool latest; /* get_latest_audio */
    regex_t re;
    bool has_re;
    bool min_size_set, max_size_set;
    struct list_args a;
    int sort_by;
    struct entry *v;
    size_t n;
    size_t next;     /* next entry to probe */
    size_t inflight; /* opens and probes under way */
    bool cancelled;
};

static void listing_free(struct listing *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].name);
        if (l->v[i].fd >= 0)
            close(l->v[i].fd);
    }
    free(l->v);
    if (l->has_re)
        regfree(&l->re);
    free(l);
}

/* Python's re.search patterns, as far as POSIX extended regexes go: \d and \D
 * (outside brackets) become [0-9] and [^0-9]; glibc knows \w \W \s \S \b \B.
 * Back-references are refused (they make matching exponential). Returns 0, or
 * -1 with a sentence in msg. */
static int compile_pattern(const char *p, regex_t *re, char *msg, size_t msglen)
{
    char out[STORE_PATTERN_MAX * 5 + 1];
    size_t o = 0;
    bool in_bracket = false;
    int rc;

    if (strlen(p) > STORE_PATTERN_MAX) {
        snprintf(msg, msglen, "pattern is longer than %d bytes", STORE_PATTERN_MAX);
        return -1;
    }
    for (size_t i = 0; p[i] != '\0'; i++) {
        const char *sub = NULL;
        if (p[i] == '\\' && p[i + 1] != '\0') {
            char c = p[i + 1];
            if (c >= '1' && c <= '9') {
                snprintf(msg, msglen, "Invalid pattern '%s': back-references are not supported", p);
                return -1;
            }
            if (!in_bracket && c == 'd')
                sub = "[0-9]";
            else if (!in_bracket && c == 'D')
                sub = "[^0-9]";
            if (sub != NULL) {
                memcpy(out + o, sub, strlen(sub));
                o += strlen(sub);
            } else {
                out[o++] = p[i];
                out[o++] = c;
            }
            i++;
            continue;
        }
        if (p[i] == '[' && !in_bracket)
            in_bracket = true;
        else if (p[i] == ']' && in_bracket && !(o > 0 && out[o - 1] == '['))
            in_bracket = false;
        out[o++] = p[i];
    }
    out[o] = '\0';
    rc = regcomp(re, out, REG_EXTENDED | REG_NOSUB);
    if (rc != 0) {
        char why[128];
        regerror(rc, re, why, sizeof(why));
        snprintf(msg, msglen, "Invalid pattern '%s': %s", p, why);
        return -1;
    }
    return 0;
}

static int cmp_entries(const void *x, const void *y, void *arg)
{
    const struct entry *a = x, *b = y;
    const struct listing *l = arg;
    int c = 0;

    switch (l->sort_by) {
    case SORT_NAME:
        c = strcmp(a->name, b->name); /* UTF-8 byte order is code point order */
        break;
    case SORT_SIZE:
        c = (a->size > b->size) - (a->size < b->size);
        break;
    case SORT_DURATION: {
        double da = a->duration < 0 ? 0 : a->duration, db = b->duration < 0 ? 0 : b->duration;
        c = (da > db) - (da < db);
        break;
    }
    case SORT_MTIME:
        c = (a->mtime > b->mtime) - (a->mtime < b->mtime);
        break;
    case SORT_FORMAT:
        c = strcmp(a->ext, b->ext);
        break;
    }
    if (l->a.reverse)
        c = -c;
    /* Python's sort is stable, also with reverse=True. */
    return c != 0 ? c : (a->index > b->index) - (a->index < b->index);
}

static bool in_range(double x, double lo, double hi)
{
    return (isnan(lo) || x >= lo) && (isnan(hi) || x <= hi);
}

static void listing_finish(struct listing *l)
{
    json_t *data;
    size_t kept = 0;

    if (l->cancelled || mcp_call_cancelled(l->call)) {
        mcp_call_fail(l->call, "cancelled");
        listing_free(l);
        return;
    }
    for (size_t i = 0; i < l->n; i++) {
        struct entry *e = &l->v[i];
        /* A duration that could not be read passes the duration bounds. */
        bool keep = e->keep &&
                    (e->duration < 0 ||
                     in_range(e->duration, l->a.min_duration_seconds, l->a.max_duration_seconds)) &&
                    in_range(e->mtime, l->a.min_modified_time, l->a.max_modified_time);

        if (!keep) {
            free(e->name);
            e->name = NULL;
            continue;
        }
        if (&l->v[kept] != e) {
            l->v[kept] = *e;
            e->name = NULL; /* moved */
        }
        kept++;
    }
    l->n = kept;
    if (l->latest) {
        if (kept == 0) {
            mcp_call_fail(l->call, "No supported audio files found");
        } else {
            struct entry *e = &l->v[0];
            mcp_call_finish(l->call, tool_audio_file_info(e->name, e->size, e->mtime, e->duration));
        }
        listing_free(l);
        return;
    }
    qsort_r(l->v, l->n, sizeof(*l->v), cmp_entries, l);
    data = json_array();
    for (size_t i = 0; i < l->n; i++)
        json_array_append_new(data, tool_audio_file_info(l->v[i].name, l->v[i].size, l->v[i].mtime,
                                                         l->v[i].duration));
    mcp_call_finish(l->call, json_pack("{s:o}", "data", data));
    listing_free(l);
}

static void probe_next(struct listing *l);

/* The per-probe context: which listing and which entry. */
struct probe_ctx {
    struct listing *l;
    struct entry *e;
};

static void probe_done(struct audio_done *res, void *arg)
{
    struct probe_ctx *p = arg;
    struct listing *l = p->l;
    struct entry *e = p->e;

    free(p);
    if (res->status == 0 || (res->status == SZ_ETOOBIG && res->info.duration > 0))
        e->duration = res->info.duration;
    if (res->status == SZ_ECANCELLED)
        l->cancelled = true;
    close(e->fd);
    e->fd = -1;
    l->inflight--;
    probe_next(l);
}

static void probe_opened(void *data, int err, const char *msg, int fd, const struct store_stat *st)
{
    struct probe_ctx *p = data;
    struct listing *l = p->l;
    struct entry *e = p->e;
    (void)msg;

    if (err != 0 || l->cancelled || mcp_call_cancelled(l->call)) {
        /* Gone or swapped since the listing: it is no longer a file to show. */
        if (fd >= 0)
            close(fd);
        e->keep = false;
        free(p);
        l->inflight--;
        probe_next(l);
        return;
    }
    e->fd = fd;
    e->size = st->size;
    e->mtime = st->mtime;
    if (audio_probe_async(l->app->audio_jobs, fd, 0, 0, probe_done, p, NULL) != 0) {
        close(fd);
        e->fd = -1;
        free(p);
        l->inflight--;
        probe_next(l);
    }
}

/* Starts opening and probing entries until PROBES_AT_ONCE are under way;
 * finishes when every kept entry has been probed. */
static void probe_next(struct listing *l)
{
    while (l->inflight < PROBES_AT_ONCE && l->next < l->n && !l->cancelled) {
        struct entry *e = &l->v[l->next++];
        struct probe_ctx *p;

        if (!e->keep)
            continue;
        p = malloc(sizeof(*p));
        if (p == NULL || store_open_read(l->app->audio, e->name, strlen(e->name), "Audio file",
                                         probe_opened, p) != 0) {
            free(p);
            e->keep = false;
            continue;
        }
        p->l = l;
        p->e = e;
        l->inflight++;
    }
    if (l->inflight == 0)
        listing_finish(l);
}

/* Whether a listed entry passes the filters known before probing. */
static bool prefilter(const struct listing *l, const struct entry *e)
{
    if (l->has_re && regexec(&l->re, e->name, 0, NULL, 0) != 0)
        return false;
    if (l->a.format != NULL && strcasecmp(l->a.format, e->ext) != 0)
        return false;
    if (l->min_size_set && (long long)e->size < l->a.min_size_bytes)
        return false;
    if (l->max_size_set && (long long)e->size > l->a.max_size_bytes)
        return false;
    return true;
}

static void listed(void *data, int err, const char *msg, json_t *list, size_t total)
{
    struct listing *l = data;
    size_t i;
    json_t *item;
    (void)total;

    if (err != 0) {
        if (l->latest)
            mcp_call_fail(l->call, "Failed to get latest audio file: %s", msg);
        else
            mcp_call_fail(l->call, "%s", msg);
        listing_free(l);
        return;
    }
    l->v = calloc(json_array_size(list) + 1, sizeof(*l->v));
    if (l->v == NULL) {
        json_decref(list);
        mcp_call_fail(l->call, "Out of memory listing the audio files");
        listing_free(l);
        return;
    }
    json_array_foreach(list, i, item)
    {
        struct entry *e = &l->v[l->n];
        const char *name = json_string_value(json_object_get(item, "filename"));
        const char *ext = json_string_value(json_object_get(item, "file_type"));

        e->fd = -1;
        e->duration = -1;
        e->index = i;
        e->name = strdup(name != NULL ? name : "");
        if (e->name == NULL)
            continue;
        snprintf(e->ext, sizeof(e->ext), "%s", ext != NULL ? ext : "");
        e->size = (uint64_t)json_integer_value(json_object_get(item, "size_bytes"));
        l->n++;
        e->keep = prefilter(l, e);
    }
    json_decref(list);
    probe_next(l);
}

static void listing_cancel(struct mcp_call *call, void *data)
{
    struct listing *l = data;
    (void)call;
    l->cancelled = true; /* probes under way finish; nothing new starts */
}

static struct listing *listing_new(struct mcp_call *call)
{
    struct listing *l = calloc(1, sizeof(*l));

    if (l == NULL) {
        mcp_call_fail(call, "Out of memory");
        return NULL;
    }
    l->call = call;
    l->app = mcp_call_tool_data(call);
    l->a.min_duration_seconds = l->a.max_duration_seconds = NAN;
    l->a.min_modified_time = l->a.max_modified_time = NAN;
    return l;
}

/* An optional integer argument that was given (null means absent): the
 * table's 0 cannot tell an absent max_size_bytes from a given 0. */
static bool given(struct mcp_call *call, const char *name)
{
    json_t *v = json_object_get(mcp_call_args(call), name);
    return v != NULL && !json_is_null(v);
}

static void list_audio_files(struct mcp_call *call, const void *args)
{
    const struct list_args *a = args;
    struct store_list_opts opts = {
        .exts = tool_audio_exts, .sort = STORE_SORT_NAME, .limit = SIZE_MAX};
    char msg[512];
    struct listing *l;

    if (tool_audio(call, mcp_call_tool_data(call)) == NULL || (l = listing_new(call)) == NULL)
        return;
    l->a = *a;
    l->sort_by = a->sort_by;
    l->min_size_set = given(call, "min_size_bytes");
    l->max_size_set = given(call, "max_size_bytes");
    if (a->pattern != NULL) {
        if (compile_pattern(a->pattern, &l->re, msg, sizeof(msg)) != 0) {
            mcp_call_fail(call, "%s", msg);
            listing_free(l);
            return;
        }
        l->has_re = true;
    }
    mcp_call_on_cancel(call, listing_cancel, l);
    if (store_list(l->app->audio, &opts, listed, l) != 0) {
        mcp_call_fail(call, "Out of memory");
        listing_free(l);
    }
}

static void get_latest_audio(struct mcp_call *call, const void *args)
{
    /* The newest by the exact mtime (the store sorts by it), then probed. */
    struct store_list_opts opts = {
        .exts = tool_audio_exts, .sort = STORE_SORT_MODIFIED, .descending = true, .limit = 1};
    struct listing *l;
    (void)args;

    if (tool_audio(call, mcp_call_tool_data(call)) == NULL || (l = listing_new(call)) == NULL)
        return;
    l->latest = true;
    mcp_call_on_cancel(call, listing_cancel, l);
    if (store_list(l->app->audio, &opts, listed, l) != 0) {
        mcp_call_fail(call, "Out of memory");
        listing_free(l);
    }
}

/* ---- convert_audio ---------------------------------------------------------------- */

static const char *const convert_formats[] = {"mp3", "wav", NULL};

struct convert_args {
    const char *input_path;
    int output_format;
    bool overwrite;
};

/* Input-side failures read as the original's load error, the rest as its
 * conversion error. */
static bool input_failure(int status)
{
    return status == SZ_EUNSUPPORTED || status == SZ_ECORRUPT || status == SZ_ETOOBIG ||
           status == SZ_EIO;
}

static void converted(struct audio_xfer *x, const char *name, uint64_t size)
{
    json_t *r = json_pack("{s:s, s:s, s:f, s:i, s:i, s:I}", "output_file", name, "format",
                          audio_format_name(x->res.format), "duration_seconds", x->res.duration,
                          "sample_rate", x->res.sample_rate, "channels", x->res.channels,
                          "size_bytes", (json_int_t)size);
    mcp_call_finish(x->call, r);
}

static void convert_done(struct audio_done *res, void *arg)
{
    struct audio_xfer *x = arg;
    const char *fmt = x->res.format == AUDIO_FORMAT_WAV ? "wav" : "mp3";

    x->job = NULL;
    if (res->status != 0) {
        if (input_failure(res->status))
            audio_xfer_fail(x, "Failed to load audio file %s: %s", x->in_name, res->errmsg);
        else
            audio_xfer_fail(x, "Audio conversion to %s failed: %s", fmt, res->errmsg);
        return;
    }
    x->res = res->result;
    audio_xfer_publish(x, (uint64_t)res->result.bytes);
}

static void convert_write(struct audio_xfer *x)
{
    struct audio_encode enc = AUDIO_ENCODE_CONVERT(x->res.format);

    if (audio_convert_async(x->app->audio_jobs, x->in_fd, store_writer_fd(x->w), &enc, 0,
                            convert_done, x, &x->job) != 0)
        audio_xfer_fail(x, "Could not start the conversion");
}

static void convert_audio(struct mcp_call *call, const void *args)
{
    const struct convert_args *a = args;
    struct tools_ctx *app = mcp_call_tool_data(call);
    const char *fmt = convert_formats[a->output_format];
    char suffix[8];
    struct audio_xfer *x;

    if (tool_audio(call, app) == NULL ||
        tool_audio_check_input(call, a->input_path, tool_audio_exts, tool_audio_exts_label) != 0 ||
        (x = audio_xfer_new(call, app)) == NULL)
        return;
    snprintf(x->in_name, sizeof(x->in_name), "%s", a->input_path);
    snprintf(suffix, sizeof(suffix), ".%s", fmt);
    /* <stem>.<fmt> at the top of the root, as the original names it. */
    if (tool_audio_derive_name(a->input_path, "", suffix, x->out_name, sizeof(x->out_name)) != 0) {
        audio_xfer_fail(x, "Invalid filename: %s is too long to derive an output name",
                        a->input_path);
        return;
    }
    /* A taken name gets a free -N name rather than replacing anything
     * (converting a.mp3 to mp3 included), unless overwrite. */
    x->write_flags = a->overwrite ? STORE_OVERWRITE : STORE_UNIQUE;
    x->res.format = a->output_format == 1 ? AUDIO_FORMAT_WAV : AUDIO_FORMAT_MP3;
    x->expect = a->output_format == 1 ? AUDIO_CONTAINER_WAV : AUDIO_CONTAINER_MP3;
    x->out_mime = audio_format_mime(x->res.format);
    x->opened = audio_xfer_open_writer;
    x->writing = convert_write;
    x->done = converted;
    audio_xfer_start(x);
}

/* ---- compress_audio ---------------------------------------------------------------- */

struct compress_args {
    const char *input_path;
    long long max_mb;
    const char *output_filename;
    bool overwrite;
};

struct compress {
    bool given_out;
    int64_t limit;
    long long max_mb;
    bool copy;
    /* copy job */
    int in_fd, out_fd;
    uint64_t copied;
    int copy_err;
    enum audio_container container;
};

static void compressed(struct audio_xfer *x, const char *name, uint64_t size)
{
    struct compress *c = x->data;
    json_t *r;

    if (c->copy)
        r = json_pack("{s:s, s:b, s:I, s:I, s:n, s:n, s:n}", "output_file", name, "compressed", 0,
                      "size_bytes", (json_int_t)size, "max_mb", (json_int_t)c->max_mb,
                      "bit_rate_kbps", "sample_rate", "channels");
    else
        r = json_pack("{s:s, s:b, s:I, s:I, s:i, s:i, s:i, s:f}", "output_file", name, "compressed",
                      1, "size_bytes", (json_int_t)size, "max_mb", (json_int_t)c->max_mb,
                      "bit_rate_kbps", x->res.bit_rate / 1000, "sample_rate", x->res.sample_rate,
                      "channels", x->res.channels, "duration_seconds", x->res.duration);
    free(c);
    x->data = NULL;
    mcp_call_finish(x->call, r);
}

static void compress_done(struct audio_done *res, void *arg)
{
    struct audio_xfer *x = arg;

    x->job = NULL;
    if (res->status != 0) {
        if (res->status == SZ_EUNSUPPORTED || res->status == SZ_ECORRUPT || res->status == SZ_EIO)
            audio_xfer_fail(x, "Failed to load audio file %s: %s", x->in_name, res->errmsg);
        else
            audio_xfer_fail(x, "MP3 compression failed: %s", res->errmsg);
        return;
    }
    x->res = res->result;
    audio_xfer_publish(x, (uint64_t)res->result.bytes);
}

/* Pool thread: copies the input into the writer's file and sniffs it. */
static void copy_work(void *data)
{
    struct compress *c = data;
    char buf[65536];
    off_t off = 0;

    for (;;) {
        ssize_t n = pread(c->in_fd, buf, sizeof(buf), off), w = 0;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            c->copy_err = -errno;
            return;
        }
        if (n == 0)
            break;
        if (off == 0)
            c->container = audio_sniff(buf, (size_t)n);
        while (w < n) {
            ssize_t k = pwrite(c->out_fd, buf + w, (size_t)(n - w), off + w);
            if (k < 0 && errno == EINTR)
                continue;
            if (k <= 0) {
                c->copy_err = k < 0 ? -errno : UV_EIO;
                return;
            }
            w += k;
        }
        off += n;
    }
    c->copied = (uint64_t)off;
}

struct copy_ctx {
    struct audio_xfer *x;
    struct compress *c;
};

static void copy_job(void *data)
{
    struct copy_ctx *cc = data;
    copy_work(cc->c);
}

static void copy_after(void *data, int status)
{
    struct copy_ctx *cc = data;
    struct audio_xfer *x = cc->x;
    struct compress *c = cc->c;

    free(cc);
    if (status != 0 || mcp_call_cancelled(x->call)) {
        audio_xfer_fail(x, "cancelled");
        return;
    }
    if (c->copy_err != 0) {
        audio_xfer_fail(x, "Could not copy %s to %s: %s", x->in_name, x->out_name,
                        uv_strerror(c->copy_err));
        return;
    }
    if (c->container == AUDIO_CONTAINER_UNKNOWN) {
        audio_xfer_fail(x,
                        "Failed to load audio file %s: The file is not audio in a format we "
                        "read",
                        x->in_name);
        return;
    }
    x->expect = c->container;
    audio_xfer_publish(x, c->copied);
}

static void compress_write(struct audio_xfer *x)
{
    struct compress *c = x->data;

    if (c->copy) {
        struct copy_ctx *cc = malloc(sizeof(*cc));
        c->in_fd = x->in_fd;
        c->out_fd = store_writer_fd(x->w);
        if (cc == NULL) {
            audio_xfer_fail(x, "Out of memory");
            return;
        }
        cc->x = x;
        cc->c = c;
        if (sz_pool_submit(x->app->audio_jobs, copy_job, copy_after, cc, NULL) != 0) {
            free(cc);
            audio_xfer_fail(x, "Could not start the copy");
        }
        return;
    }
    if (audio_compress_async(x->app->audio_jobs, x->in_fd, store_writer_fd(x->w), c->limit, 0,
                             compress_done, x, &x->job) != 0)
        audio_xfer_fail(x, "Could not start the compression");
}

static bool ext_is(const char *name, const char *ext)
{
    char e[16];
    return strcmp(store_name_ext(name, strlen(name), e, sizeof(e)), ext) == 0;
}

/* The input is known to be audio: keep it, copy it, or encode it. */
static void compress_decide(struct audio_xfer *x)
{
    struct compress *c = x->data;
    char in_ext[16], out_ext[16];

    store_name_ext(x->in_name, strlen(x->in_name), in_ext, sizeof(in_ext));
    if (x->in_st.size <= (uint64_t)c->limit) {
        /* Small enough already: the file itself, or a copy under the new name. */
        if (!c->given_out || strcmp(x->out_name, x->in_name) == 0) {
            json_t *r =
                json_pack("{s:s, s:b, s:I, s:I, s:n, s:n, s:n}", "output_file", x->in_name,
                          "compressed", 0, "size_bytes", (json_int_t)x->in_st.size, "max_mb",
                          (json_int_t)c->max_mb, "bit_rate_kbps", "sample_rate", "channels");
            free(c);
            x->data = NULL;
            audio_xfer_finish(x, r);
            return;
        }
        store_name_ext(x->out_name, strlen(x->out_name), out_ext, sizeof(out_ext));
        if (strcmp(in_ext, out_ext) == 0) {
            c->copy = true;
            x->out_mime = tool_audio_mime(x->out_name);
            audio_xfer_open_writer(x);
            return;
        }
    }
    if (!ext_is(x->out_name, "mp3")) {
        audio_xfer_fail(x,
                        "output_filename must end in .mp3: the compressed file is MP3 (or, for "
                        "a file already small enough, in .%s like the input)",
                        in_ext);
        return;
    }
    audio_xfer_open_writer(x);
}

static void compress_probed(struct audio_done *res, void *arg)
{
    struct audio_xfer *x = arg;

    x->job = NULL;
    if (res->status != 0) {
        audio_xfer_fail(x, "Failed to load audio file %s: %s", x->in_name, res->errmsg);
        return;
    }
    compress_decide(x);
}

/* The input is probed first, so that a file that is not audio, or lasts longer
 * than the server accepts, fails as a file that cannot be loaded (and an
 * SZ_ETOOBIG from the encoder can only mean that max_mb is too small). A file
 * small enough is kept or copied as it is, so it is decoded whole (without
 * keeping a sample): a truncated one is refused here as it would be when
 * encoded. A larger one only has its header read: the encoder decodes it. */
static void compress_opened(struct audio_xfer *x)
{
    struct compress *c = x->data;
    unsigned flags = x->in_st.size <= (uint64_t)c->limit ? AUDIO_PROBE_DECODE : 0;

    if (audio_probe_async(x->app->audio_jobs, x->in_fd, flags, 0, compress_probed, x, &x->job) != 0)
        audio_xfer_fail(x, "Could not start reading %s", x->in_name);
}

/* The answer to "replace the existing file?" (tool_confirm_overwrite). */
static void compress_asked(struct mcp_call *call, enum tool_write how, void *data)
{
    struct audio_xfer *x = data;

    (void)call;
    if (how == TOOL_WRITE_DONE) {
        audio_xfer_drop(x); /* frees x->data too */
        return;
    }
    if (how == TOOL_WRITE_REPLACE)
        x->write_flags |= STORE_OVERWRITE;
    audio_xfer_start(x);
}

static void compress_audio(struct mcp_call *call, const void *args)
{
    const struct compress_args *a = args;
    struct tools_ctx *app = mcp_call_tool_data(call);
    char msg[STORE_MSG_MAX];
    struct audio_xfer *x;
    struct compress *c;

    if (a->max_mb < MAX_MB_MIN || a->max_mb > MAX_MB_MAX) {
        mcp_call_fail(call, "max_mb must be between %d and %d, got %lld", MAX_MB_MIN, MAX_MB_MAX,
                      a->max_mb);
        return;
    }
    if (tool_audio(call, app) == NULL ||
        tool_audio_check_input(call, a->input_path, tool_audio_exts, tool_audio_exts_label) != 0)
        return;
    if (a->output_filename != NULL &&
        store_check_path(a->output_filename, strlen(a->output_filename), msg, sizeof(msg)) != 0) {
        mcp_call_fail(call, "%s", msg);
        return;
    }
    if ((c = calloc(1, sizeof(*c))) == NULL) {
        mcp_call_fail(call, "Out of memory");
        return;
    }
    if ((x = audio_xfer_new(call, app)) == NULL) {
        free(c);
        return;
    }
    x->data = c;
    c->max_mb = a->max_mb;
    c->limit = (int64_t)a->max_mb * 1048576;
    c->given_out = a->output_filename != NULL;
    snprintf(x->in_name, sizeof(x->in_name), "%s", a->input_path);
    x->write_flags = a->overwrite ? STORE_OVERWRITE : 0;
    if (c->given_out) {
        snprintf(x->out_name, sizeof(x->out_name), "%s", a->output_filename);
    } else {
        if (!a->overwrite)
            x->write_flags |= STORE_UNIQUE; /* a default name never replaces anything */
        if (tool_audio_derive_name(a->input_path, "compressed_", ".mp3", x->out_name,
                                   sizeof(x->out_name)) != 0) {
            free(c);
            x->data = NULL;
            audio_xfer_fail(x, "Invalid filename: %s is too long to derive an output name",
                            a->input_path);
            return;
        }
    }
    x->expect = AUDIO_CONTAINER_MP3;
    x->out_mime = "audio/mpeg";
    x->opened = compress_opened;
    x->writing = compress_write;
    x->done = compressed;
    if (c->given_out && !a->overwrite)
        /* Ask about an existing output before the work, not after it. */
        tool_confirm_overwrite(call, app->audio, "audio", x->out_name, strlen(x->out_name),
                               compress_asked, x);
    else
        audio_xfer_start(x);
}

/* ---- the tables ---------------------------------------------------------------------- */

#define LROW(field) .off = offsetof(struct list_args, field)

static const struct mcp_arg list_rows[] = {
    {.name = "pattern",
     .type = MCP_ARG_STRING,
     LROW(pattern),
     .description = "A regular expression searched for in the file name (Python re.search "
                    "style: anywhere in the name unless anchored with ^ or $), e.g. "
                    "\"^meeting\" or \"\\\\d{4}\". Omit it to list every file."},
    {.name = "min_size_bytes",
     .type = MCP_ARG_INT,
     LROW(min_size_bytes),
     .description = "Only files of at least this many bytes."},
    {.name = "max_size_bytes",
     .type = MCP_ARG_INT,
     LROW(max_size_bytes),
     .description = "Only files of at most this many bytes (25 MB = 26214400 fits one "
                    "transcription request)."},
    {.name = "min_duration_seconds",
     .type = MCP_ARG_NUMBER,
     LROW(min_duration_seconds),
     .description = "Only files lasting at least this many seconds (files whose length cannot "
                    "be read are kept)."},
    {.name = "max_duration_seconds",
     .type = MCP_ARG_NUMBER,
     LROW(max_duration_seconds),
     .description = "Only files lasting at most this many seconds."},
    {.name = "min_modified_time",
     .type = MCP_ARG_NUMBER,
     LROW(min_modified_time),
     .description = "Only files modified at or after this Unix time (seconds)."},
    {.name = "max_modified_time",
     .type = MCP_ARG_NUMBER,
     LROW(max_modified_time),
     .description = "Only files modified at or before this Unix time (seconds)."},
    {.name = "format",
     .type = MCP_ARG_STRING,
     LROW(format),
     .description = "Only files with this extension, any case, without the dot: mp3, wav, "
                    "flac, m4a, ogg, webm, mp4, mpeg or mpga."},
    {.name = "sort_by",
     .type = MCP_ARG_ENUM,
     LROW(sort_by),
     .values = sort_keys,
     MCP_DEFAULT_STR("name"),
     .description = "Sort key: name, size, duration (unknown counts as 0), modified_time or "
                    "format."},
    {.name = "reverse",
     .type = MCP_ARG_BOOL,
     LROW(reverse),
     MCP_DEFAULT_BOOL(false),
     .description = "true sorts in descending order."},
};

static const struct mcp_arg convert_rows[] = {
    {.name = "input_path",
     .type = MCP_ARG_STRING,
     .flags = MCP_ARG_REQUIRED,
     .off = offsetof(struct convert_args, input_path),
     .min = MCP_LIMIT(1),
     .description = "The audio file to convert: a name in the audio directory, or a relative "
                    "path into one of its subfolders (\"talks/intro.m4a\"). FLAC, MP3, MP4, "
                    "MPEG, MPGA, M4A, OGG, WAV or WEBM."},
    {.name = "output_format",
     .type = MCP_ARG_ENUM,
     .flags = MCP_ARG_REQUIRED,
     .off = offsetof(struct convert_args, output_format),
     .values = convert_formats,
     .description = "mp3 (128 kbps) or wav (16-bit PCM)."},
    {.name = "overwrite",
     .type = MCP_ARG_BOOL,
     .off = offsetof(struct convert_args, overwrite),
     MCP_DEFAULT_BOOL(false),
     .description = "true replaces an existing file named like the output. By default nothing "
                    "is replaced: a taken name gets a -1, -2, ... suffix."},
};

static const struct mcp_arg compress_rows[] = {
    {.name = "input_path",
     .type = MCP_ARG_STRING,
     .flags = MCP_ARG_REQUIRED,
     .off = offsetof(struct compress_args, input_path),
     .min = MCP_LIMIT(1),
     .description = "The audio file to shrink: a name in the audio directory or a relative path "
                    "into one of its subfolders; any format convert_audio reads."},
    /* Bounds checked by the tool, in the original's words. */
    {.name = "max_mb",
     .type = MCP_ARG_INT,
     .off = offsetof(struct compress_args, max_mb),
     MCP_DEFAULT_INT(25),
     .description = "The largest size wanted, in MiB (1 to 1000). 25 fits OpenAI's upload limit "
                    "for transcription."},
    {.name = "output_filename",
     .type = MCP_ARG_STRING,
     .off = offsetof(struct compress_args, output_filename),
     .min = MCP_LIMIT(1),
     .description = "Name of the MP3 to write (a name or a relative path into an existing "
                    "subfolder). Default compressed_<stem>.mp3."},
    {.name = "overwrite",
     .type = MCP_ARG_BOOL,
     .off = offsetof(struct compress_args, overwrite),
     MCP_DEFAULT_BOOL(false),
     .description = "true replaces an existing output_filename. By default a given name that is "
                    "taken fails the call, and the default name gets a -1, -2, ... suffix."},
};

static const struct mcp_field str_item = {.types = MCP_T_STRING};
static const struct mcp_field file_info_fields[] = {
    {.name = "file_name", .types = MCP_T_STRING, .required = true},
    {.name = "transcription_support",
     .types = MCP_T_ARRAY | MCP_T_NULL,
     .required = true,
     .items = &str_item},
    {.name = "chat_support",
     .types = MCP_T_ARRAY | MCP_T_NULL,
     .required = true,
     .items = &str_item},
    {.name = "modified_time", .types = MCP_T_NUMBER, .required = true},
    {.name = "size_bytes", .types = MCP_T_INTEGER, .required = true},
    {.name = "format", .types = MCP_T_STRING, .required = true},
    {.name = "duration_seconds", .types = MCP_T_NUMBER | MCP_T_NULL, .required = true},
};
static const struct mcp_field file_info = {.types = MCP_T_OBJECT, MCP_FIELDS(file_info_fields)};
static const struct mcp_field list_fields[] = {
    {.name = "data", .types = MCP_T_ARRAY, .required = true, .items = &file_info},
};
static const struct mcp_field list_result = {.types = MCP_T_OBJECT, MCP_FIELDS(list_fields)};

static const struct mcp_field convert_fields[] = {
    {.name = "output_file", .types = MCP_T_STRING, .required = true},
    {.name = "format", .types = MCP_T_STRING},
    {.name = "duration_seconds", .types = MCP_T_NUMBER},
    {.name = "sample_rate", .types = MCP_T_INTEGER},
    {.name = "channels", .types = MCP_T_INTEGER},
    {.name = "size_bytes", .types = MCP_T_INTEGER},
};
static const struct mcp_field convert_result = {.types = MCP_T_OBJECT, MCP_FIELDS(convert_fields)};

static const struct mcp_field compress_fields[] = {
    {.name = "output_file", .types = MCP_T_STRING, .required = true},
    {.name = "compressed", .types = MCP_T_BOOLEAN},
    {.name = "size_bytes", .types = MCP_T_INTEGER},
    {.name = "max_mb", .types = MCP_T_INTEGER},
    {.name = "bit_rate_kbps", .types = MCP_T_INTEGER | MCP_T_NULL},
    {.name = "sample_rate", .types = MCP_T_INTEGER | MCP_T_NULL},
    {.name = "channels", .types = MCP_T_INTEGER | MCP_T_NULL},
    {.name = "duration_seconds", .types = MCP_T_NUMBER},
};
static const struct mcp_field compress_result = {.types = MCP_T_OBJECT,
                                                 MCP_FIELDS(compress_fields)};

static struct mcp_tool audio_file_tools[] = {
    {
        .name = "list_audio_files",
        .title = "List audio files",
        .description =
            "List the audio files in the audio directory (its top level; FLAC, MP3, MP4, MPEG, "
            "MPGA, M4A, OGG, WAV and WEBM) with what each is good for: file_name, "
            "transcription_support and chat_support (the models that take it), modified_time, "
            "size_bytes, format and duration_seconds (read from the file's header; null when "
            "it cannot be read). Filter by a regular expression on the name, format, size, "
            "duration and modification time; sort by any of them. Local and free. Next: "
            "transcribe_audio or chat_with_audio with a file_name, or compress_audio for files "
            "over 25 MB.",
        MCP_ARGS(struct list_args, list_rows),
        .output = &list_result,
        .annotations = MCP_READ_ONLY,
        .start = list_audio_files,
    },
    {
        .name = "get_latest_audio",
        .title = "Get the newest audio file",
        .description =
            "Return the most recently modified audio file of the audio directory as a FileInfo "
            "(file_name, transcription_support, chat_support, modified_time, size_bytes, format, "
            "duration_seconds), e.g. the recording just made. Local and free. Fails with 'No "
            "supported audio files found' when there is none. Next: transcribe_audio or "
            "chat_with_audio with its file_name.",
        .output = &file_info,
        .annotations = MCP_READ_ONLY,
        .start = get_latest_audio,
    },
    {
        .name = "convert_audio",
        .title = "Convert audio to MP3 or WAV",
        .description =
            "Convert an audio file (FLAC, MP3, MP4, MPEG, MPGA, M4A, OGG, WAV or WEBM) to MP3 "
            "(128 kbps) or WAV (16-bit PCM), in stereo at the input's sample rate, as "
            "<stem>.mp3 or <stem>.wav at the top of the audio directory. Local and free; a "
            "minute of audio takes about half a second. Nothing is replaced unless overwrite is "
            "true (a taken name gets a -1, -2, ... suffix). Returns {output_file, format, "
            "duration_seconds, sample_rate, channels, size_bytes} and a resource link. Next: "
            "chat_with_audio takes MP3 and WAV; transcribe_audio takes every input format as it "
            "is.",
        MCP_ARGS(struct convert_args, convert_rows),
        .output = &convert_result,
        .annotations = MCP_IDEMPOTENT,
        .start = convert_audio,
        /* Local work of seconds to minutes (an hour of FLAC): a task when the client
         * wants one. Its output is written to an unnamed temporary until the commit,
         * so a cancel or a restart leaves nothing; a restart fails the task. */
        .task_support = MCP_TASK_OPTIONAL,
    },
    {
        .name = "compress_audio",
        .title = "Compress audio to fit a size",
        .description =
            "Make an MP3 of an audio file that fits max_mb (default 25, OpenAI's upload limit): "
            "the bit rate, sample rate and channels are chosen from the duration (128 kbps "
            "stereo when it fits, down to 8 kbps mono 8 kHz, which holds 7 hours in 25 MB), the "
            "size written is checked, and the result says what was chosen: {output_file, "
            "compressed, size_bytes, max_mb, bit_rate_kbps, sample_rate, channels, "
            "duration_seconds}. A file already small enough is returned as it is (compressed: "
            "false), or copied when output_filename names another file of its type. Local and "
            "free. Next: transcribe_audio or chat_with_audio with output_file.",
        MCP_ARGS(struct compress_args, compress_rows),
        .output = &compress_result,
        .annotations = MCP_IDEMPOTENT,
        .start = compress_audio,
        .task_support = MCP_TASK_OPTIONAL, /* as convert_audio */
    },
};

int tools_register_audio_files(struct mcp_server *server, struct tools_ctx *ctx)
{
    return tool_register_table(server, ctx, audio_file_tools,
                               sizeof(audio_file_tools) / sizeof(audio_file_tools[0]));
}
