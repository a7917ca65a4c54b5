/* Pure helpers of the Gemini client: id checks and the one sentence built from
 * either of Google's error bodies (see client.h). No I/O; any thread.
 *
 * An error body is untrusted text of any size: parsed when it is one of Google's
 * shapes, otherwise summarised to a bounded run of printable characters. */
#include "fmacros.h"

#include "gemini/client.h"

#include <stdio.h>
#include <string.h>

#define MESSAGE_MAX_CHARS 500 /* error.message, bounded */
#define SUMMARY_MAX_CHARS 200 /* bodies that are not Google's JSON */

int gem_check_id(const char *id)
{
    size_t n = 0;

    if (id == NULL)
        return 0;
    for (; id[n] != '\0'; n++) {
        unsigned char ch = (unsigned char)id[n];
        int ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
                 ch == '_' || ch == '-';
        if (!ok || n >= 128)
            return 0;
    }
    return n >= 1;
}

/* Copies a code, keeping only [A-Za-z0-9_.-]. */
static void copy_code(const char *src, char *dst, size_t dstlen)
{
    size_t o = 0;

    if (dstlen == 0)
        return;
    for (; src != NULL && *src != '\0' && o + 1 < dstlen; src++) {
        unsigned char ch = (unsigned char)*src;
        if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
            ch == '_' || ch == '.' || ch == '-')
            dst[o++] = (char)ch;
    }
    dst[o] = '\0';
}

/* The retryDelay of a google.rpc.RetryInfo detail ("30s"), checked to be a plain
 * duration, into buf; "" when there is none. */
static void retry_delay(const json_t *details, char *buf, size_t buflen)
{
    size_t i;
    json_t *d;

    buf[0] = '\0';
    json_array_foreach(details, i, d)
    {
        const char *type = json_string_value(json_object_get(d, "@type"));
        const char *delay = json_string_value(json_object_get(d, "retryDelay"));
        size_t n;
        if (type == NULL || delay == NULL || strstr(type, "google.rpc.RetryInfo") == NULL)
            continue;
        n = strlen(delay);
        if (n < 2 || n > 16 || delay[n - 1] != 's' || strspn(delay, "0123456789.") != n - 1)
            continue;
        snprintf(buf, buflen, "%s", delay);
        return;
    }
}

void gem_error_message(long status, const char *body, size_t len, char *buf, size_t buflen,
                       char *pcode, size_t codelen)
{
    char text[MESSAGE_MAX_CHARS * 4 + 8];
    char code[64] = "", delay[24] = "", retry[48] = "";
    json_t *root = NULL, *err = NULL;
    int have_text = 0;

    if (pcode != NULL && codelen > 0)
        pcode[0] = '\0';
    if (buflen == 0)
        return;
    if (body != NULL && len > 0)
        root = json_loadb(body, len, JSON_DECODE_ANY, NULL);
    /* Some front ends wrap the Status in a one-element array. */
    err = json_object_get(json_is_array(root) ? json_array_get(root, 0) : root, "error");
    if (json_is_object(err)) {
        json_t *c = json_object_get(err, "code");
        const char *msg = json_string_value(json_object_get(err, "message"));
        /* google.rpc.Status: a numeric code and the status name; the service's own
         * errors: a string code. */
        if (json_is_string(c))
            copy_code(json_string_value(c), code, sizeof(code));
        else
            copy_code(json_string_value(json_object_get(err, "status")), code, sizeof(code));
        retry_delay(json_object_get(err, "details"), delay, sizeof(delay));
        if (msg != NULL) {
            net_summarize(msg, strlen(msg), MESSAGE_MAX_CHARS, text, sizeof(text));
            have_text = text[0] != '\0';
        }
    }
    if (!have_text && body != NULL && len > 0) {
        net_summarize(body, len, SUMMARY_MAX_CHARS, text, sizeof(text));
        have_text = text[0] != '\0';
    }
    if (delay[0] != '\0')
        snprintf(retry, sizeof(retry), " (retry after %s)", delay);

    if (have_text && code[0] != '\0')
        snprintf(buf, buflen, "Gemini API error %ld (%s): %s%s", status, code, text, retry);
    else if (have_text)
        snprintf(buf, buflen, "Gemini API error %ld: %s%s", status, text, retry);
    else if (code[0] != '\0')
        snprintf(buf, buflen, "Gemini API error %ld (%s)%s", status, code, retry);
    else if (body == NULL || len == 0)
        snprintf(buf, buflen, "Gemini API error %ld with an empty response body", status);
    else
        snprintf(buf, buflen, "Gemini API error %ld with an unreadable response body", status);
    if (pcode != NULL)
        copy_code(code, pcode, codelen);
    json_decref(root);
}
