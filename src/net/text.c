/* Pure text helpers of the HTTP client: the bounded, printable summary of an
 * untrusted body, the generic sentence for a non-2xx response, and the parts every
 * provider's error sentence and id check share (see client.h). No I/O; any thread.
 *
 * An error body is untrusted text of any size: a proxy's 10 KB HTML page or binary
 * garbage must never reach a user or a log whole, nor carry control characters
 * that could forge a log line. */
#include "fmacros.h"

#include "net/client.h"

#include <stdio.h>
#include <string.h>

#define SUMMARY_MAX_CHARS 200 /* a body summarised for a user */
#define MESSAGE_MAX_CHARS 500 /* a service's own error.message, bounded */
#define ID_MAX            128 /* the longest upstream id we accept */

/* Length of the valid UTF-8 sequence at s (at most avail bytes) encoding a printable
 * code point, 0 when invalid or a C1 control character. */
static size_t utf8_printable(const unsigned char *s, size_t avail)
{
    unsigned cp;
    size_t need;

    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        need = 2;
        cp = s[0] & 0x1fu;
    } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        need = 3;
        cp = s[0] & 0x0fu;
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        need = 4;
        cp = s[0] & 0x07u;
    } else {
        return 0;
    }
    if (avail < need)
        return 0;
    for (size_t i = 1; i < need; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3fu);
    }
    /* overlong forms, surrogates, beyond Unicode, C1 controls */
    if ((need == 3 && cp < 0x800) || (need == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp <= 0x9f))
        return 0;
    return need;
}

void net_summarize(const char *in, size_t len, size_t max_chars, char *buf, size_t buflen)
{
    const unsigned char *s = (const unsigned char *)in;
    size_t i = 0, out = 0, chars = 0;
    int pending_space = 0, cut = 0;

    if (buflen == 0)
        return;
    buf[0] = '\0';
    if (in == NULL)
        return;
    while (i < len) {
        size_t n;
        if (s[i] < 0x20 || s[i] == 0x7f || s[i] == ' ') {
            pending_space = out > 0; /* leading blanks dropped, runs folded */
            i++;
            continue;
        }
        n = s[i] < 0x80 ? 1 : utf8_printable(s + i, len - i);
        if (n == 0) {
            i++; /* invalid byte: dropped */
            continue;
        }
        if (chars + (size_t)pending_space + 1 > max_chars) {
            cut = 1;
            break;
        }
        if (out + (size_t)pending_space + n + 4 > buflen) {
            cut = 1;
            break;
        }
        if (pending_space) {
            buf[out++] = ' ';
            chars++;
            pending_space = 0;
        }
        memcpy(buf + out, s + i, n);
        out += n;
        chars++;
        i += n;
    }
    if (cut) {
        memcpy(buf + out, "...", 3);
        out += 3;
    }
    buf[out] = '\0';
}

void net_default_error(const struct net_error_in *in, char *buf, size_t buflen, char *code,
                       size_t codelen, void *data)
{
    char text[SUMMARY_MAX_CHARS * 4 + 8];

    (void)data;
    if (code != NULL && codelen > 0)
        code[0] = '\0';
    if (buflen == 0)
        return;
    text[0] = '\0';
    if (in->body != NULL && in->len > 0)
        net_summarize(in->body, in->len, SUMMARY_MAX_CHARS, text, sizeof(text));
    if (text[0] != '\0')
        snprintf(buf, buflen, "HTTP error %ld from %s: %s", in->status, in->origin, text);
    else if (in->body == NULL || in->len == 0)
        snprintf(buf, buflen, "HTTP error %ld from %s with an empty response body", in->status,
                 in->origin);
    else
        snprintf(buf, buflen, "HTTP error %ld from %s with an unreadable response body", in->status,
                 in->origin);
}

/* [A-Za-z0-9]: spelled out, as isalnum() follows the locale. */
static int is_alnum(unsigned char ch)
{
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
}

int net_check_id(const char *id)
{
    size_t n = 0;

    if (id == NULL)
        return 0;
    for (; id[n] != '\0'; n++) {
        unsigned char ch = (unsigned char)id[n];
        if (!(is_alnum(ch) || ch == '_' || ch == '-') || n >= ID_MAX)
            return 0;
    }
    return n >= 1;
}

void net_copy_code(const char *src, char *dst, size_t dstlen)
{
    size_t o = 0;

    if (dstlen == 0)
        return;
    for (; src != NULL && *src != '\0' && o + 1 < dstlen; src++) {
        unsigned char ch = (unsigned char)*src;
        if (is_alnum(ch) || ch == '_' || ch == '.' || ch == '-')
            dst[o++] = (char)ch;
    }
    dst[o] = '\0';
}

void net_api_error_sentence(const struct net_api_error *e, char *buf, size_t buflen)
{
    char text[MESSAGE_MAX_CHARS * 4 + 8];
    const char *code = e->code != NULL ? e->code : "";
    const char *suffix = e->suffix != NULL ? e->suffix : "";
    int have_body = e->body != NULL && e->len > 0;

    if (buflen == 0)
        return;
    text[0] = '\0';
    if (e->message != NULL)
        net_summarize(e->message, strlen(e->message), MESSAGE_MAX_CHARS, text, sizeof(text));
    if (text[0] == '\0' && have_body)
        net_summarize(e->body, e->len, SUMMARY_MAX_CHARS, text, sizeof(text));

    if (text[0] != '\0' && code[0] != '\0')
        snprintf(buf, buflen, "%s API error %ld (%s): %s%s", e->name, e->status, code, text,
                 suffix);
    else if (text[0] != '\0')
        snprintf(buf, buflen, "%s API error %ld: %s%s", e->name, e->status, text, suffix);
    else if (code[0] != '\0')
        snprintf(buf, buflen, "%s API error %ld (%s)%s", e->name, e->status, code, suffix);
    else if (!have_body)
        snprintf(buf, buflen, "%s API error %ld with an empty response body", e->name, e->status);
    else
        snprintf(buf, buflen, "%s API error %ld with an unreadable response body", e->name,
                 e->status);
}
