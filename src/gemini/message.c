/* Pure helpers of the Gemini client: id checks and the one sentence built from
 * either of Google's error bodies (see client.h). No I/O; any thread.
 *
 * An error body is untrusted text of any size: parsed here when it is one of
 * Google's shapes; the sentence, and the summary of a body that is not, are net's
 * (net_api_error_sentence), shared with every provider. */
#include "fmacros.h"

#include "gemini/client.h"

#include <stdio.h>
#include <string.h>

int gem_check_id(const char *id)
{
    return net_check_id(id);
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
    char code[64] = "", delay[24] = "", retry[48] = "";
    struct net_api_error e = {.name = "Gemini", .status = status, .body = body, .len = len};
    json_t *root = NULL, *err = NULL;

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
        /* google.rpc.Status: a numeric code and the status name; the service's own
         * errors: a string code. */
        if (json_is_string(c))
            net_copy_code(json_string_value(c), code, sizeof(code));
        else
            net_copy_code(json_string_value(json_object_get(err, "status")), code, sizeof(code));
        retry_delay(json_object_get(err, "details"), delay, sizeof(delay));
        e.message = json_string_value(json_object_get(err, "message"));
    }
    if (delay[0] != '\0')
        snprintf(retry, sizeof(retry), " (retry after %s)", delay);
    e.code = code;
    e.suffix = retry;
    net_api_error_sentence(&e, buf, buflen);
    if (pcode != NULL)
        net_copy_code(code, pcode, codelen);
    json_decref(root);
}
