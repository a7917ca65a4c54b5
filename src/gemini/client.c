/* The Gemini client (see client.h): request URLs from the base URL, the key as a
 * secret header that stays with the API's origin, Gemini's name and error
 * sentences. Everything that runs a request is in src/net/. */
#include "fmacros.h"

#include "gemini/client.h"

#include "core/err.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct gem_client {
    struct net_client *net;
    char *base_url; /* no trailing '/' */
    char *origin;   /* "scheme://host:port" of base_url, lower case, port explicit */
    char *key_line; /* "x-goog-api-key: <key>", or NULL */
    char nokey[96]; /* "<key_name> is not set" */
};

static void format_error(const struct net_error_in *in, char *buf, size_t buflen, char *code,
                         size_t codelen, void *data)
{
    (void)data;
    gem_error_message(in->status, in->body, in->len, buf, buflen, code, codelen);
}

static const struct net_service gem_service = {"Gemini", format_error, NULL};

static bool is_set(const char *s)
{
    return s != NULL && s[0] != '\0';
}

void gem_client_free(struct gem_client *c)
{
    if (c == NULL)
        return;
    free(c->base_url);
    free(c->origin);
    free(c->key_line);
    free(c);
}

int gem_client_new(struct net_client *net, const struct gem_options *opts,
                   struct gem_client **pclient)
{
    struct gem_client *c;
    int rc;

    *pclient = NULL;
    if (net == NULL || opts == NULL || !is_set(opts->base_url))
        return SZ_EINVAL;
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        return SZ_ENOMEM;
    c->net = net;
    snprintf(c->nokey, sizeof(c->nokey), "%s is not set",
             is_set(opts->key_name) ? opts->key_name : "GEMINI_API_KEY");
    if ((rc = net_base_url(opts->base_url, &c->base_url)) != 0)
        goto fail;
    if ((rc = net_url_origin(c->base_url, NULL, &c->origin)) != 0)
        goto fail;
    if ((rc = net_header_line("x-goog-api-key: ", opts->api_key, &c->key_line)) != 0)
        goto fail;
    *pclient = c;
    return 0;
fail:
    gem_client_free(c);
    return rc;
}

int gem_client_has_key(const struct gem_client *c)
{
    return c != NULL && c->key_line != NULL;
}

const char *gem_client_base_url(const struct gem_client *c)
{
    return c->base_url;
}

/* Gemini's service, label and, when home, the key (or the missing-key failure). */
static int dress(const struct gem_client *c, struct net_req *req, bool home)
{
    int rc;

    net_req_set_service(req, &gem_service);
    if ((rc = net_req_set_label(req, "gemini")) != 0)
        return rc;
    if (!home)
        return 0;
    if (c->key_line == NULL)
        return net_req_set_failure(req, SZ_ENOKEY, c->nokey);
    return net_req_add_secret_header(req, c->key_line);
}

int gem_req_new(struct gem_client *c, const char *method, const char *path, struct net_req **preq)
{
    struct net_req *req = NULL;
    int rc;

    *preq = NULL;
    if (c == NULL || method == NULL)
        return SZ_EINVAL;
    rc = net_req_new_at(c->net, method, c->base_url, path, &req);
    if (rc == 0 && (rc = dress(c, req, true)) != 0)
        net_req_free(req);
    if (rc == 0)
        *preq = req;
    return rc;
}

int gem_req_new_url(struct gem_client *c, const char *url, struct net_req **preq)
{
    struct net_req *req = NULL;
    char *origin = NULL;
    int rc;

    *preq = NULL;
    if (c == NULL || url == NULL)
        return SZ_EINVAL;
    /* net refuses whitespace, control characters and fragments itself. */
    if ((rc = net_url_origin(url, NULL, &origin)) != 0)
        return rc;
    rc = net_req_new(c->net, "GET", url, &req);
    if (rc == 0 && (rc = dress(c, req, strcmp(origin, c->origin) == 0)) != 0)
        net_req_free(req);
    if (rc == 0)
        *preq = req;
    free(origin);
    return rc;
}
