/* Gemini's Interactions API for the video tools (gemini_map.h): model limits, the
 * create body, the cut of large base64 strings out of a response, and the mapping of
 * an Interaction onto the Video object. Pure; any thread.
 *
 * Sources: the @google/genai 3.1.0 types (Interaction, Step, VideoContent,
 * VideoResponseFormat) and Google's Omni pages, as tests/fake-gemini/README.md maps
 * them; where Google's material is silent the choices are docs/providers.md's. */
#include "fmacros.h"

#include "video/gemini_map.h"

#include "core/base64.h"
#include "core/err.h"
#include "gemini/client.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* ---- what each model makes ------------------------------------------------------- */

struct caps {
    const char *model;
    int min_seconds, max_seconds;
    bool only_720p; /* the preview: "supported resolutions 720p" */
};

/* Durations: cloud-omni's "maximum video length 10 seconds" for the preview; 1.1 and
 * 1.2 as third-party model pages give them (tests/fake-gemini/README.md, assumption
 * 11). Aspect ratios 16:9 and 9:16 for all. */
static const struct caps known_models[] = {
    {"gemini-omni-1.1-flash", 3, 10, false},
    {"gemini-omni-1.2-flash", 3, 15, false},
    {"gemini-omni-flash-preview", 3, 10, true},
};

/* From the shortest minimum to the longest maximum of known_models. */
const char *const vgem_seconds[] = {"3",  "4",  "5",  "6",  "7",  "8",  "9",
                                    "10", "11", "12", "13", "14", "15", NULL};

static const struct caps *caps_of(const char *model)
{
    for (size_t i = 0; i < sizeof(known_models) / sizeof(known_models[0]); i++)
        if (strcmp(known_models[i].model, model) == 0)
            return &known_models[i];
    return NULL;
}

/* "WxH" onto an aspect ratio and a resolution; false when the API cannot say it. */
static bool size_format(const char *size, const char **paspect, const char **pres)
{
    unsigned long w, h, shorter;
    char *end;

    w = strtoul(size, &end, 10);
    if (end == size || *end != 'x')
        return false;
    h = strtoul(end + 1, &end, 10);
    if (*end != '\0' || w == 0 || h == 0)
        return false;
    if (w * 9 == h * 16)
        *paspect = "16:9";
    else if (h * 9 == w * 16)
        *paspect = "9:16";
    else
        return false;
    shorter = w < h ? w : h;
    *pres = shorter == 360    ? "360p"
            : shorter == 720  ? "720p"
            : shorter == 1080 ? "1080p"
            : shorter == 2160 ? "4k"
                              : NULL;
    return *pres != NULL;
}

/* Whole seconds from "8"; -1 when it is not one. */
static long whole_seconds(const char *s)
{
    char *end;
    long n = strtol(s, &end, 10);
    return end != s && *end == '\0' && n > 0 && n < 100000 ? n : -1;
}

int vgem_check(const char *model, const char *size, const char *seconds, char *msg, size_t msglen)
{
    const struct caps *c = caps_of(model);
    const char *aspect = NULL, *res = NULL;
    long s;

    if (size != NULL && size[0] != '\0') {
        if (!size_format(size, &aspect, &res)) {
            snprintf(msg, msglen,
                     "%s cannot make size %s: Gemini Omni makes 16:9 and 9:16 videos (size "
                     "1280x720, 720x1280, 1920x1080 or 1080x1920)",
                     model, size);
            return SZ_EINVAL;
        }
        if (c != NULL && c->only_720p && strcmp(res, "720p") != 0) {
            snprintf(msg, msglen,
                     "%s cannot make size %s: it makes 720p only (size 1280x720 or 720x1280)",
                     model, size);
            return SZ_EINVAL;
        }
    }
    if (seconds != NULL && seconds[0] != '\0') {
        s = whole_seconds(seconds);
        if (s < 0) {
            snprintf(msg, msglen, "Invalid seconds '%s': a whole number of seconds", seconds);
            return SZ_EINVAL;
        }
        if (c != NULL && (s < c->min_seconds || s > c->max_seconds)) {
            snprintf(msg, msglen, "%s cannot make %ld seconds: it makes %d to %d seconds", model, s,
                     c->min_seconds, c->max_seconds);
            return SZ_EINVAL;
        }
    }
    return 0;
}

/* ---- the create request ------------------------------------------------------------ */

json_t *vgem_request(const char *model, const char *prompt, const char *image_mime,
                     const char *previous_id, const char *size, const char *seconds)
{
    json_t *body = json_object(), *input, *fmt = NULL;
    const char *aspect = NULL, *res = NULL;
    char duration[24];

    if (body == NULL)
        return NULL;
    if (image_mime != NULL)
        input = json_pack("[{s:s, s:s}, {s:s, s:s, s:s}]", "type", "text", "text", prompt, "type",
                          "image", "mime_type", image_mime, "data", VGEM_IMAGE_MARKER);
    else
        input = json_string(prompt);
    json_object_set_new(body, "model", json_string(model));
    json_object_set_new(body, "input", input);
    json_object_set_new(body, "background", json_true());
    if (previous_id != NULL)
        json_object_set_new(body, "previous_interaction_id", json_string(previous_id));
    if ((size != NULL && size[0] != '\0') || (seconds != NULL && seconds[0] != '\0')) {
        fmt = json_pack("{s:s}", "type", "video");
        if (size != NULL && size[0] != '\0' && size_format(size, &aspect, &res)) {
            json_object_set_new(fmt, "aspect_ratio", json_string(aspect));
            json_object_set_new(fmt, "resolution", json_string(res));
        }
        if (seconds != NULL && seconds[0] != '\0') {
            /* A google.protobuf.Duration in JSON: "8s". */
            snprintf(duration, sizeof(duration), "%ss", seconds);
            json_object_set_new(fmt, "duration", json_string(duration));
        }
        json_object_set_new(body, "response_format", fmt);
    }
    if (input == NULL || ((size != NULL && size[0] != '\0') ||
                          (seconds != NULL && seconds[0] != '\0')) != (fmt != NULL)) {
        json_decref(body);
        return NULL;
    }
    return body;
}

char *vgem_splice_image(const char *text, size_t len, const char *b64, size_t b64_len, size_t *plen)
{
    static const char marker[] = "\"" VGEM_IMAGE_MARKER "\"";
    const size_t inner = sizeof(marker) - 3; /* the marker without its quotes */
    const char *at = memmem(text, len, marker, sizeof(marker) - 1);
    size_t head, tail, n;
    char *out;

    *plen = 0;
    if (at == NULL)
        return NULL;
    head = (size_t)(at - text) + 1; /* up to and with the opening quote */
    tail = len - head - inner;      /* from the closing quote on */
    n = head + b64_len + tail;
    out = malloc(n + 1);
    if (out == NULL)
        return NULL;
    memcpy(out, text, head);
    memcpy(out + head, b64, b64_len);
    memcpy(out + head + b64_len, text + head + inner, tail);
    out[n] = '\0';
    *plen = n;
    return out;
}

/* ---- cutting large strings out ----------------------------------------------------- */

/* Index of the closing quote of the string whose opening quote is at i, or len;
 * *pesc is set when it holds an escape. */
static size_t string_end(const char *t, size_t len, size_t i, bool *pesc)
{
    size_t j = i + 1;

    *pesc = false;
    while (j < len && t[j] != '"') {
        if (t[j] == '\\') {
            *pesc = true;
            j++;
        }
        j++;
    }
    return j < len ? j : len;
}

/* Removes "\/" escapes from t[s, e) in place (the only escape base64 can carry);
 * returns the new length, or (size_t)-1 when another escape is there. */
static size_t unescape_slashes(char *t, size_t s, size_t e)
{
    size_t o = s;

    for (size_t i = s; i < e; i++) {
        if (t[i] == '\\') {
            if (i + 1 >= e || t[i + 1] != '/')
                return (size_t)-1;
            i++;
        }
        t[o++] = t[i];
    }
    return o - s;
}

int vgem_cut_media(char *t, size_t len, bool decode, struct vgem_media *media)
{
    bool after_data_key = false;

    memset(media, 0, sizeof(*media));
    for (size_t i = 0; i < len; i++) {
        size_t e, k, n;
        bool esc, is_key;
        char marker[32];
        int mlen;

        if (t[i] != '"')
            continue;
        e = string_end(t, len, i, &esc);
        if (e >= len)
            break;
        for (k = e + 1; k < len && isspace((unsigned char)t[k]); k++)
            ;
        is_key = k < len && t[k] == ':';
        if (is_key) {
            after_data_key = e - i - 1 == 4 && memcmp(t + i + 1, "data", 4) == 0;
            i = e;
            continue;
        }
        if (!after_data_key || e - i - 1 < VGEM_CUT_MIN || media->count == VGEM_MEDIA_MAX) {
            after_data_key = false;
            i = e;
            continue;
        }
        after_data_key = false;
        n = esc ? unescape_slashes(t, i + 1, e) : e - i - 1;
        if (n == (size_t)-1) {
            i = e;
            continue;
        }
        if (decode) {
            size_t idx = media->count;
            int rc =
                sz_b64_decode_alloc(t + i + 1, n, &media->item[idx].bytes, &media->item[idx].len);
            if (rc == SZ_ENOMEM)
                return rc;
            media->item[idx].corrupt = rc != 0;
        }
        mlen = snprintf(marker, sizeof(marker), "\"@sanzaru:media:%zu\"", media->count++);
        memcpy(t + i, marker, (size_t)mlen);
        memset(t + i + mlen, ' ', e + 1 - i - (size_t)mlen);
        i = e;
    }
    return 0;
}

void vgem_media_free(struct vgem_media *media)
{
    for (size_t i = 0; i < media->count; i++)
        free(media->item[i].bytes);
    memset(media, 0, sizeof(*media));
}

void vgem_output_free(struct vgem_output *out)
{
    free(out->uri);
    free(out->bytes);
    memset(out, 0, sizeof(*out));
}

/* ---- the Interaction onto the Video object ----------------------------------------- */

int vgem_parse_time(const char *s, int64_t *pt)
{
    struct tm tm;
    int y, mo, d, h, mi, sec, n = 0, oh = 0, om = 0;
    const char *p;
    time_t t;

    if (s == NULL || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6)
        return SZ_EINVAL;
    p = s + n;
    if (*p == '.')
        for (p++; isdigit((unsigned char)*p); p++)
            ;
    if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1;
        if (sscanf(p + 1, "%2d:%2d", &oh, &om) != 2)
            return SZ_EINVAL;
        oh *= sign;
        om *= sign;
        p += 6;
    } else if (*p == 'Z' || *p == 'z') {
        p++;
    } else {
        return SZ_EINVAL;
    }
    if (*p != '\0' || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
        return SZ_EINVAL;
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    t = timegm(&tm);
    *pt = (int64_t)t - (int64_t)oh * 3600 - (int64_t)om * 60;
    return 0;
}

static json_t *time_or_null(const json_t *v)
{
    int64_t t;
    return vgem_parse_time(json_string_value(v), &t) == 0 ? json_integer((json_int_t)t)
                                                          : json_null();
}

/* The video response_format of the Interaction (an object, or one in a list). */
static const json_t *video_format(const json_t *it)
{
    const json_t *rf = json_object_get(it, "response_format");
    size_t i;
    json_t *f;

    if (json_is_object(rf))
        return rf;
    json_array_foreach(rf, i, f)
    {
        const char *type = json_string_value(json_object_get(f, "type"));
        if (type != NULL && strcmp(type, "video") == 0)
            return f;
    }
    return NULL;
}

/* size from aspect_ratio and resolution (720p when only the aspect is given: the
 * API's default resolution), or NULL. */
static json_t *size_of(const json_t *fmt, char *buf, size_t buflen)
{
    const char *aspect = json_string_value(json_object_get(fmt, "aspect_ratio"));
    const char *res = json_string_value(json_object_get(fmt, "resolution"));
    static const struct {
        const char *res;
        int w, h;
    } sizes[] = {
        {"360p", 640, 360}, {"720p", 1280, 720}, {"1080p", 1920, 1080}, {"4k", 3840, 2160}};

    if (aspect == NULL)
        return json_null();
    if (res == NULL)
        res = "720p";
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        if (strcmp(sizes[i].res, res) != 0)
            continue;
        if (strcmp(aspect, "16:9") == 0)
            snprintf(buf, buflen, "%dx%d", sizes[i].w, sizes[i].h);
        else if (strcmp(aspect, "9:16") == 0)
            snprintf(buf, buflen, "%dx%d", sizes[i].h, sizes[i].w);
        else
            return json_null();
        return json_string(buf);
    }
    return json_null();
}

/* seconds from a duration "8s" (whole or fractional), or NULL. */
static json_t *seconds_of(const json_t *fmt)
{
    const char *d = json_string_value(json_object_get(fmt, "duration"));
    char buf[24];
    size_t n;

    if (d == NULL || (n = strlen(d)) < 2 || n >= sizeof(buf) || d[n - 1] != 's' ||
        strspn(d, "0123456789.") != n - 1)
        return json_null();
    memcpy(buf, d, n - 1);
    buf[n - 1] = '\0';
    return json_string(buf);
}

static const char *rpc_name(json_int_t code)
{
    static const char *const names[] = {
        "OK",
        "CANCELLED",
        "UNKNOWN",
        "INVALID_ARGUMENT",
        "DEADLINE_EXCEEDED",
        "NOT_FOUND",
        "ALREADY_EXISTS",
        "PERMISSION_DENIED",
        "RESOURCE_EXHAUSTED",
        "FAILED_PRECONDITION",
        "ABORTED",
        "OUT_OF_RANGE",
        "UNIMPLEMENTED",
        "INTERNAL",
        "UNAVAILABLE",
        "DATA_LOSS",
        "UNAUTHENTICATED",
    };
    return code >= 0 && code < (json_int_t)(sizeof(names) / sizeof(names[0])) ? names[code]
                                                                              : "UNKNOWN";
}

/* The last model_output step, or NULL. */
static const json_t *last_output(const json_t *it)
{
    const json_t *steps = json_object_get(it, "steps");
    size_t n = json_array_size(steps);

    while (n-- > 0) {
        const json_t *s = json_array_get(steps, n);
        const char *type = json_string_value(json_object_get(s, "type"));
        if (type != NULL && strcmp(type, "model_output") == 0)
            return s;
        if (type != NULL && strcmp(type, "user_input") == 0)
            break; /* outputs before the last input answer an earlier turn */
    }
    return NULL;
}

/* The last video block of the last model_output step, or NULL. */
static const json_t *video_block(const json_t *it)
{
    const json_t *content = json_object_get(last_output(it), "content");
    size_t n = json_array_size(content);

    while (n-- > 0) {
        const json_t *c = json_array_get(content, n);
        const char *type = json_string_value(json_object_get(c, "type"));
        if (type != NULL && strcmp(type, "video") == 0)
            return c;
    }
    return NULL;
}

/* Why a job failed: errors[0], else the last model_output step's error. */
static void failure_reason(const json_t *it, const char **pcode, const char **pmsg)
{
    const json_t *e = json_array_get(json_object_get(it, "errors"), 0);
    const json_t *step_err = json_object_get(last_output(it), "error");
    const json_t *code;

    *pcode = NULL;
    *pmsg = NULL;
    if (json_is_object(e)) {
        *pcode = json_string_value(json_object_get(e, "code"));
        *pmsg = json_string_value(json_object_get(e, "message"));
    }
    if (json_is_object(step_err)) {
        code = json_object_get(step_err, "code");
        if (*pcode == NULL)
            *pcode = json_is_integer(code) ? rpc_name(json_integer_value(code))
                                           : json_string_value(code);
        if (*pmsg == NULL)
            *pmsg = json_string_value(json_object_get(step_err, "message"));
    }
}

static bool mentions_safety(const char *code, const char *msg)
{
    return (code != NULL && strcasecmp(code, "safety") == 0) ||
           (msg != NULL && strcasestr(msg, "safety") != NULL);
}

/* status, progress and error of the Video object from the Interaction's status. */
static void map_status(const json_t *it, bool has_video, json_t *video)
{
    const char *s = json_string_value(json_object_get(it, "status"));
    const char *code = NULL, *why = NULL;
    char msg[700];
    const char *status = "failed";
    int progress = VGEM_PROGRESS_DONE;

    msg[0] = '\0';
    if (strcmp(s, "queued") == 0) {
        status = "queued";
        progress = VGEM_PROGRESS_QUEUED;
    } else if (strcmp(s, "in_progress") == 0) {
        status = "in_progress";
        progress = VGEM_PROGRESS_IN_PROGRESS;
    } else if (strcmp(s, "completed") == 0 && has_video) {
        status = "completed";
    } else if (strcmp(s, "completed") == 0) {
        code = "no_video";
        snprintf(msg, sizeof(msg), "Gemini completed the interaction without a video");
    } else if (strcmp(s, "failed") == 0) {
        failure_reason(it, &code, &why);
        if (mentions_safety(code, why)) {
            snprintf(msg, sizeof(msg), "Blocked by Gemini's safety filters: %.600s",
                     why != NULL ? why : "the prompt or the video was blocked");
            code = "safety";
        } else {
            snprintf(msg, sizeof(msg), "%.600s", why != NULL ? why : "Gemini reported a failure");
            if (code == NULL)
                code = "failed";
        }
    } else if (strcmp(s, "cancelled") == 0) {
        code = "cancelled";
        snprintf(msg, sizeof(msg),
                 "The Gemini interaction was cancelled before the video "
                 "was made");
    } else if (strcmp(s, "incomplete") == 0) {
        failure_reason(it, &code, &why);
        code = "incomplete";
        snprintf(msg, sizeof(msg),
                 "Gemini ended the interaction incomplete, without a video%s%.500s",
                 why != NULL ? ": " : "", why != NULL ? why : "");
    } else {
        code = "unexpected_status";
        snprintf(msg, sizeof(msg),
                 "Gemini stopped the interaction with status %.64s, which a video job does not "
                 "expect",
                 s);
    }
    json_object_set_new(video, "status", json_string(status));
    json_object_set_new(video, "progress", json_integer(progress));
    if (code != NULL)
        json_object_set_new(video, "error", json_pack("{s:s, s:s}", "code", code, "message", msg));
    else
        json_object_set_new(video, "error", json_null());
}

/* Finds the video of the Interaction for out. */
static int find_output(const json_t *it, struct vgem_media *media, struct vgem_output *out)
{
    const json_t *block = video_block(it);
    const char *mime, *data, *uri;
    size_t idx;

    if (block == NULL)
        return 0;
    mime = json_string_value(json_object_get(block, "mime_type"));
    data = json_string_value(json_object_get(block, "data"));
    uri = json_string_value(json_object_get(block, "uri"));
    snprintf(out->mime, sizeof(out->mime), "%s", mime != NULL ? mime : "");
    if (data != NULL && sscanf(data, "@sanzaru:media:%zu", &idx) == 1 && media != NULL &&
        idx < media->count) {
        out->bytes = media->item[idx].bytes;
        out->len = media->item[idx].len;
        out->corrupt = media->item[idx].corrupt || out->bytes == NULL;
        media->item[idx].bytes = NULL;
        return 0;
    }
    if (data != NULL) {
        int rc = sz_b64_decode_alloc(data, strlen(data), &out->bytes, &out->len);
        if (rc == SZ_ENOMEM)
            return rc;
        out->corrupt = rc != 0;
        return 0;
    }
    if (uri != NULL && (out->uri = strdup(uri)) == NULL)
        return SZ_ENOMEM;
    return 0;
}

int vgem_map(const json_t *it, struct vgem_media *media, json_t **pvideo, struct vgem_output *out,
             char *msg, size_t msglen)
{
    const char *id = json_string_value(json_object_get(it, "id"));
    const char *status = json_string_value(json_object_get(it, "status"));
    const char *model = json_string_value(json_object_get(it, "model"));
    const char *prev = json_string_value(json_object_get(it, "previous_interaction_id"));
    const json_t *fmt = video_format(it);
    json_t *video;
    char size[32];
    int rc;

    *pvideo = NULL;
    if (!json_is_object(it) || !gem_check_id(id) || status == NULL) {
        snprintf(msg, msglen, "Gemini returned something that is not an interaction (%s)",
                 !json_is_object(it) ? "not an object"
                 : id == NULL        ? "no id"
                 : !gem_check_id(id) ? "an id that is not one"
                                     : "no status");
        return SZ_EPROTO;
    }
    video = json_pack("{s:s, s:s}", "id", id, "object", "video");
    if (video == NULL)
        return SZ_ENOMEM;
    json_object_set_new(video, "model", model != NULL ? json_string(model) : json_null());
    json_object_set_new(video, "created_at", time_or_null(json_object_get(it, "created")));
    json_object_set_new(video, "completed_at",
                        strcmp(status, "completed") == 0
                            ? time_or_null(json_object_get(it, "updated"))
                            : json_null());
    json_object_set_new(video, "expires_at", json_null());
    json_object_set_new(video, "prompt", json_null());
    json_object_set_new(video, "size", size_of(fmt, size, sizeof(size)));
    json_object_set_new(video, "seconds", seconds_of(fmt));
    json_object_set_new(video, "remixed_from_video_id",
                        prev != NULL ? json_string(prev) : json_null());
    map_status(it, video_block(it) != NULL, video);
    if (out != NULL && (rc = find_output(it, media, out)) != 0) {
        json_decref(video);
        return rc;
    }
    *pvideo = video;
    return 0;
}

void vgem_merge_known(json_t *video, const json_t *known)
{
    static const char *const keys[] = {"prompt", "size", "seconds"};

    for (size_t i = 0; known != NULL && i < sizeof(keys) / sizeof(keys[0]); i++) {
        json_t *k = json_object_get(known, keys[i]);
        if (json_is_string(k) && !json_is_string(json_object_get(video, keys[i])))
            json_object_set(video, keys[i], k);
    }
}
