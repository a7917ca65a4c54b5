/* Pure helpers of the OpenAI client: id checks and the one-sentence error messages
 * built from upstream error bodies (see client.h). No I/O; any thread.
 *
 * An error body is untrusted text of any size: it is parsed as OpenAI's error JSON
 * when it is one, otherwise summarised to a bounded run of printable characters so a
 * proxy's 10 KB HTML page or binary garbage never reaches a user or a log whole. */
#include "fmacros.h"

#include "openai/client.h"

#include <stdio.h>
#include <string.h>

#define MESSAGE_MAX_CHARS 500 /* error.message as sent by OpenAI, bounded */
#define SUMMARY_MAX_CHARS 200 /* non-JSON bodies */

int oai_check_id(const char *id)
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

/* Copies a code/type string, keeping only [A-Za-z0-9_.-]. */
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

void oai_error_message(long status, const char *body, size_t len, char *buf, size_t buflen,
                       char *pcode, size_t codelen)
{
    oai_error_message_as("OpenAI", status, body, len, buf, buflen, pcode, codelen);
}

void oai_error_message_as(const char *name, long status, const char *body, size_t len, char *buf,
                          size_t buflen, char *pcode, size_t codelen)
{
    char text[MESSAGE_MAX_CHARS * 4 + 8];
    char code[64] = "";
    const char *msg = NULL;
    json_t *root = NULL, *err;
    int have_text = 0;

    if (pcode != NULL && codelen > 0)
        pcode[0] = '\0';
    if (buflen == 0)
        return;

    if (body != NULL && len > 0)
        root = json_loadb(body, len, JSON_DECODE_ANY, NULL);
    if (json_is_object(root)) {
        err = json_object_get(root, "error");
        if (json_is_object(err)) {
            json_t *c = json_object_get(err, "code");
            if (!json_is_string(c))
                c = json_object_get(err, "type");
            if (json_is_string(c))
                copy_code(json_string_value(c), code, sizeof(code));
            msg = json_string_value(json_object_get(err, "message"));
        } else if (json_is_string(err)) {
            msg = json_string_value(err);
        } else {
            msg = json_string_value(json_object_get(root, "message"));
        }
        if (msg != NULL) {
            net_summarize(msg, strlen(msg), MESSAGE_MAX_CHARS, text, sizeof(text));
            have_text = text[0] != '\0';
        }
    }
    if (!have_text && body != NULL && len > 0) {
        net_summarize(body, len, SUMMARY_MAX_CHARS, text, sizeof(text));
        have_text = text[0] != '\0';
    }

    if (have_text && code[0] != '\0')
        snprintf(buf, buflen, "%s API error %ld (%s): %s", name, status, code, text);
    else if (have_text)
        snprintf(buf, buflen, "%s API error %ld: %s", name, status, text);
    else if (code[0] != '\0')
        snprintf(buf, buflen, "%s API error %ld (%s)", name, status, code);
    else if (body == NULL || len == 0)
        snprintf(buf, buflen, "%s API error %ld with an empty response body", name, status);
    else
        snprintf(buf, buflen, "%s API error %ld with an unreadable response body", name, status);
    if (pcode != NULL)
        copy_code(code, pcode, codelen);
    json_decref(root);
}
