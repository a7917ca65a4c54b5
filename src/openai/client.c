/* The OpenAI client (see client.h): request URLs from the base URL, OpenAI's
 * credential headers, its name and error sentences, and the per-endpoint first-byte
 * limit. Everything that runs a request is in src/net/.
 */
#include "fmacros.h"

#include "openai/client.h"

#include "core/err.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOKEY_MESSAGE       "OPENAI_API_KEY is not set"
#define AZURE_NOKEY_MESSAGE "AZURE_OPENAI_API_KEY is not set"

struct oai_client {
    struct net_client *net;
    char *base_url; /* no trailing '/' */
    bool has_key;
    char *auth_line;    /* "Authorization: Bearer <key>", or NULL */
    char *org_line;     /* "OpenAI-Organization: <id>", or NULL */
    char *project_line; /* "OpenAI-Project: <id>", or NULL */
    long image_first_byte_timeout_ms;
    enum oai_flavour flavour;
};

static void format_error(const struct net_error_in *in, char *buf, size_t buflen, char *code,
                         size_t codelen, void *data)
{
    (void)data;
    oai_error_message(in->status, in->body, in->len, buf, buflen, code, codelen);
}

static void format_azure_error(const struct net_error_in *in, char *buf, size_t buflen, char *code,
                               size_t codelen, void *data)
{
    (void)data;
    oai_error_message_as("Azure OpenAI", in->status, in->body, in->len, buf, buflen, code, codelen);
}

static const struct net_service oai_service = {"OpenAI", format_error, NULL};
static const struct net_service azure_service = {"Azure OpenAI", format_azure_error, NULL};

const char *oai_strerror(int err)
{
    return err == SZ_ENOKEY ? NOKEY_MESSAGE : sz_strerror(err);
}

static bool is_set(const char *s)
{
    return s != NULL && s[0] != '\0';
}

void oai_client_free(struct oai_client *c)
{
    if (c == NULL)
        return;
    free(c->base_url);
    free(c->auth_line);
    free(c->org_line);
    free(c->project_line);
    free(c);
}

int oai_client_new(struct net_client *net, const struct oai_options *opts,
                   struct oai_client **pclient)
{
    struct oai_client *c;
    int rc;

    *pclient = NULL;
    if (net == NULL || opts == NULL || !is_set(opts->base_url))
        return SZ_EINVAL;
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        return SZ_ENOMEM;
    c->net = net;
    c->flavour = opts->flavour;
    c->has_key = is_set(opts->api_key);
    c->image_first_byte_timeout_ms =
        opts->image_first_byte_timeout_ms > 0 ? opts->image_first_byte_timeout_ms : 0;
    if ((rc = net_base_url(opts->base_url, &c->base_url)) != 0)
        goto fail;
    if (c->flavour == OAI_AZURE) {
        if ((rc = net_header_line("api-key: ", opts->api_key, &c->auth_line)) != 0)
            goto fail;
    } else if ((rc = net_header_line("Authorization: Bearer ", opts->api_key, &c->auth_line)) !=
                   0 ||
               (rc = net_header_line("OpenAI-Organization: ", opts->org_id, &c->org_line)) != 0 ||
               (rc = net_header_line("OpenAI-Project: ", opts->project_id, &c->project_line)) !=
                   0) {
        goto fail;
    }
    *pclient = c;
    return 0;
fail:
    oai_client_free(c);
    return rc;
}

int oai_client_has_key(const struct oai_client *c)
{
    return c != NULL && c->has_key;
}

enum oai_flavour oai_client_flavour(const struct oai_client *c)
{
    return c->flavour;
}

const char *oai_client_base_url(const struct oai_client *c)
{
    return c->base_url;
}

/* The endpoints that answer only once their work is done: an image generated,
 * a recording transcribed or listened to (minutes for a 25 MB upload). */
static bool answers_when_done(const char *method, const char *path)
{
    return strcmp(method, "POST") == 0 &&
           (strcmp(path, "/images/generations") == 0 || strcmp(path, "/images/edits") == 0 ||
            strcmp(path, "/audio/transcriptions") == 0 || strcmp(path, "/chat/completions") == 0);
}

/* OpenAI's headers (secret: they stay with the API's origin), or the missing key. */
static int add_identity(const struct oai_client *c, struct net_req *req)
{
    const char *lines[3] = {c->auth_line, c->org_line, c->project_line};
    int rc = 0;

    if (!c->has_key)
        return net_req_set_failure(req, SZ_ENOKEY,
                                   c->flavour == OAI_AZURE ? AZURE_NOKEY_MESSAGE : NOKEY_MESSAGE);
    for (size_t i = 0; i < 3 && rc == 0; i++) {
        if (lines[i] != NULL)
            rc = net_req_add_secret_header(req, lines[i]);
    }
    return rc;
}

int oai_req_new(struct oai_client *c, const char *method, const char *path, struct net_req **preq)
{
    struct net_req *req = NULL;
    int rc;

    *preq = NULL;
    if (c == NULL || method == NULL)
        return SZ_EINVAL;
    rc = net_req_new_at(c->net, method, c->base_url, path, &req);
    if (rc != 0)
        return rc;
    net_req_set_service(req, c->flavour == OAI_AZURE ? &azure_service : &oai_service);
    rc = net_req_set_label(req, c->flavour == OAI_AZURE ? "azure" : "openai");
    if (rc == 0)
        rc = add_identity(c, req);
    if (rc != 0) {
        net_req_free(req);
        return rc;
    }
    if (answers_when_done(method, path))
        net_req_set_first_byte_timeout(req, c->image_first_byte_timeout_ms);
    *preq = req;
    return 0;
}

int oai_req_new_json(struct oai_client *c, const char *method, const char *path, json_t *body,
                     struct net_req **preq)
{
    int rc;

    *preq = NULL;
    if (body == NULL)
        return SZ_ENOMEM;
    rc = oai_req_new(c, method, path, preq);
    if (rc != 0) {
        json_decref(body);
        return rc;
    }
    rc = net_req_set_json_new(*preq, body);
    if (rc != 0) {
        net_req_free(*preq);
        *preq = NULL;
    }
    return rc;
}
