/* Pure helpers of the OpenAI client: id checks and the one-sentence error messages
 * built from upstream error bodies (see client.h). No I/O; any thread.
 *
 * An error body is untrusted text of any size: it is parsed here as OpenAI's error
 * JSON when it is one; the sentence, and the bounded summary of a body that is not
 * (a proxy's 10 KB HTML page, binary garbage), are net's (net_api_error_sentence). */
#include "fmacros.h"

#include "openai/client.h"

#include <stdio.h>
#include <string.h>

int oai_check_id(const char *id)
{
    return net_check_id(id);
}

void oai_error_message(long status, const char *body, size_t len, char *buf, size_t buflen,
                       char *pcode, size_t codelen)
{
    oai_error_message_as("OpenAI", status, body, len, buf, buflen, pcode, codelen);
}

void oai_error_message_as(const char *name, long status, const char *body, size_t len, char *buf,
                          size_t buflen, char *pcode, size_t codelen)
{
    char code[64] = "";
    struct net_api_error e = {.name = name, .status = status, .body = body, .len = len};
    json_t *root = NULL, *err;

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
                net_copy_code(json_string_value(c), code, sizeof(code));
            e.message = json_string_value(json_object_get(err, "message"));
        } else if (json_is_string(err)) {
            e.message = json_string_value(err);
        } else {
            e.message = json_string_value(json_object_get(root, "message"));
        }
    }
    e.code = code;
    net_api_error_sentence(&e, buf, buflen);
    if (pcode != NULL)
        net_copy_code(code, pcode, codelen);
    json_decref(root);
}
