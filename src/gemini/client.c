/* The Gemini client (see client.h): request URLs from the base URL, the key as a
 * secret header that stays with the API's origin, Gemini's name and error
 * sentences. Everything that runs a request is in src/net/. */
#include "fmacros.h"

#include "gemini/client.h"

#include "core/err.h"

#include <ctype.h>
#include <curl/curl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

/* "scheme://host:port" of an http(s) url, lower case, the default port made
 * explicit (so "https://h" and "https://h:443" are one origin). 0, SZ_EINVAL or
 * SZ_ENOMEM. */
static int origin_of(const char *url, char **porigin)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL;
    int rc = SZ_ENOMEM;
    size_t n;

    *porigin = NULL;
    if (u == NULL)
        goto out;
    rc = SZ_EINVAL;
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK)
        goto out;
    if (strcasecmp(scheme, "http") != 0 && strcasecmp(scheme, "https") != 0)
        goto out;
    rc = SZ_ENOMEM;
    n = strlen(scheme) + 3 + strlen(host) + 1 + strlen(port) + 1;
    if ((*porigin = malloc(n)) == NULL)
        goto out;
    snprintf(*porigin, n, "%s://%s:%s", scheme, host, port);
    for (char *p = *porigin; *p != '\0'; p++)
        *p = (char)tolower((unsigned char)*p);
    rc = 0;
out:
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
    return rc;
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
    struct net_req *probe = NULL;
    size_t n;
    int rc = SZ_EINVAL;

    *pclient = NULL;
    if (net == NULL || opts == NULL || !is_set(opts->base_url))
        return SZ_EINVAL;
    if (is_set(opts->api_key) && strpbrk(opts->api_key, "\r\n") != NULL)
        return SZ_EINVAL;
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        return SZ_ENOMEM;
    c->net = net;
    snprintf(c->nokey, sizeof(c->nokey), "%s is not set",
             is_set(opts->key_name) ? opts->key_name : "GEMINI_API_KEY");
    c->base_url = strdup(opts->base_url);
    if (c->base_url == NULL) {
        rc = SZ_ENOMEM;
        goto fail;
    }
    for (n = strlen(c->base_url); n > 0 && c->base_url[n - 1] == '/'; n--)
        c->base_url[n - 1] = '\0';
    /* A base URL net would refuse fails here, at start, not in every later call. */
    if ((rc = net_req_new(net, "GET", c->base_url, &probe)) != 0)
        goto fail;
    net_req_free(probe);
    if ((rc = origin_of(c->base_url, &c->origin)) != 0)
        goto fail;
    if (is_set(opts->api_key)) {
        n = strlen("x-goog-api-key: ") + strlen(opts->api_key) + 1;
        if ((c->key_line = malloc(n)) == NULL) {
            rc = SZ_ENOMEM;
            goto fail;
        }
        snprintf(c->key_line, n, "x-goog-api-key: %s", opts->api_key);
    }
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
    size_t blen, plen;
    char *url;
    int rc;

    *preq = NULL;
    if (c == NULL || method == NULL || path == NULL || path[0] != '/' ||
        strpbrk(path, " \r\n#") != NULL)
        return SZ_EINVAL;
    blen = strlen(c->base_url);
    plen = strlen(path);
    url = malloc(blen + plen + 1);
    if (url == NULL)
        return SZ_ENOMEM;
    memcpy(url, c->base_url, blen);
    memcpy(url + blen, path, plen + 1);
    rc = net_req_new(c->net, method, url, &req);
    free(url);
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
    if ((rc = origin_of(url, &origin)) != 0)
        return rc;
    rc = net_req_new(c->net, "GET", url, &req);
    if (rc == 0 && (rc = dress(c, req, strcmp(origin, c->origin) == 0)) != 0)
        net_req_free(req);
    if (rc == 0)
        *preq = req;
    free(origin);
    return rc;
}
