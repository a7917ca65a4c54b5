/* Building a request (see client.h): URL and query, headers, bodies and the
 * per-request settings. Everything here runs before net_req_start, on the loop
 * thread, and touches no curl handle of a transfer; URLs are parsed and escaped by
 * libcurl's URL API rather than by hand. */
#include "fmacros.h"

#include "net/net_int.h"

#include "core/err.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DEFAULT_MAX_BODY ((size_t)64 * 1024 * 1024)

static char *xstrdup(const char *s)
{
    return s != NULL ? strdup(s) : NULL;
}

/* No whitespace or control characters: such bytes in a URL or a header would let
 * input split the request. */
static bool clean(const char *s)
{
    for (; *s != '\0'; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch <= 0x20 || ch == 0x7f)
            return false;
    }
    return true;
}

/* A header value may not carry CR/LF (header injection). */
static bool header_safe(const char *v)
{
    return v == NULL || strpbrk(v, "\r\n") == NULL;
}

int net_url_origin(const char *url, char **pdisplay, char **pkey)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL, *dport = NULL;
    char *display = NULL, *key = NULL;
    size_t n;
    int rc = SZ_ENOMEM;

    if (u == NULL)
        goto out;
    rc = SZ_EINVAL;
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_PORT, &dport, CURLU_DEFAULT_PORT) != CURLUE_OK)
        goto out;
    if (strcasecmp(scheme, "http") != 0 && strcasecmp(scheme, "https") != 0)
        goto out;
    if (curl_url_get(u, CURLUPART_PORT, &port, 0) != CURLUE_OK)
        port = NULL; /* not given: the scheme's default */
    rc = SZ_ENOMEM;
    n = strlen(scheme) + 3 + strlen(host) + 1 + strlen(dport) + 1;
    display = malloc(n);
    key = malloc(n);
    if (display == NULL || key == NULL)
        goto out;
    snprintf(display, n, "%s://%s%s%s", scheme, host, port != NULL ? ":" : "",
             port != NULL ? port : "");
    snprintf(key, n, "%s://%s:%s", scheme, host, dport);
    for (char *p = key; *p != '\0'; p++)
        *p = (char)tolower((unsigned char)*p);
    if (pdisplay != NULL) {
        *pdisplay = display;
        display = NULL;
    }
    if (pkey != NULL) {
        *pkey = key;
        key = NULL;
    }
    rc = 0;
out:
    free(display);
    free(key);
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_free(dport);
    curl_url_cleanup(u);
    return rc;
}

int net_req_new(struct net_client *c, const char *method, const char *url, struct net_req **preq)
{
    struct net_req *req = NULL;
    int rc = SZ_EINVAL;

    *preq = NULL;
    if (c == NULL || method == NULL || url == NULL || method[0] == '\0' || !clean(method) ||
        !clean(url) || strchr(url, '#') != NULL)
        return SZ_EINVAL;
    req = calloc(1, sizeof(*req));
    if (req == NULL)
        return SZ_ENOMEM;
    req->client = c;
    req->state = NET_ST_NEW;
    sz_list_init(&req->link);
    req->parts_tail = &req->parts;
    req->max_body = DEFAULT_MAX_BODY;
    req->request_timeout_ms = -1;
    req->stall_timeout_ms = -1;
    req->first_byte_timeout_ms = -1;
    req->max_retries = -1;
    req->method = strdup(method);
    req->url = strdup(url);
    if (req->method == NULL || req->url == NULL) {
        rc = SZ_ENOMEM;
        goto fail;
    }
    rc = net_url_origin(url, &req->origin, &req->origin_key);
    if (rc != 0)
        goto fail;
    *preq = req;
    return 0;
fail:
    net_req_free_memory(req);
    return rc;
}

int net_base_url(const char *url, char **pbase)
{
    char *base;

    *pbase = NULL;
    if (url == NULL)
        return SZ_EINVAL;
    base = strdup(url);
    if (base == NULL)
        return SZ_ENOMEM;
    for (size_t n = strlen(base); n > 0 && base[n - 1] == '/'; n--)
        base[n - 1] = '\0';
    /* What net_req_new checks of a URL. */
    if (base[0] == '\0' || !clean(base) || strchr(base, '#') != NULL ||
        net_url_origin(base, NULL, NULL) != 0) {
        free(base);
        return SZ_EINVAL;
    }
    *pbase = base;
    return 0;
}

int net_req_new_at(struct net_client *client, const char *method, const char *base,
                   const char *path, struct net_req **preq)
{
    size_t blen, plen;
    char *url;
    int rc;

    *preq = NULL;
    if (base == NULL || path == NULL || path[0] != '/' || strpbrk(path, " \r\n#") != NULL)
        return SZ_EINVAL;
    blen = strlen(base);
    plen = strlen(path);
    url = malloc(blen + plen + 1);
    if (url == NULL)
        return SZ_ENOMEM;
    memcpy(url, base, blen);
    memcpy(url + blen, path, plen + 1);
    rc = net_req_new(client, method, url, preq);
    free(url);
    return rc;
}

int net_header_line(const char *prefix, const char *value, char **pline)
{
    size_t n;

    *pline = NULL;
    if (value == NULL || value[0] == '\0')
        return 0;
    if (!header_safe(value))
        return SZ_EINVAL;
    n = strlen(prefix) + strlen(value) + 1;
    *pline = malloc(n);
    if (*pline == NULL)
        return SZ_ENOMEM;
    snprintf(*pline, n, "%s%s", prefix, value);
    return 0;
}

void net_req_free_memory(struct net_req *req)
{
    net_parts_free(req->parts);
    curl_slist_free_all(req->user_headers);
    curl_slist_free_all(req->secret_headers);
    curl_slist_free_all(req->headers);
    net_headers_clear(req);
    sz_buf_free(&req->body);
    json_decref(req->json);
    free(req->json_body);
    free(req->method);
    free(req->url);
    free(req->origin);
    free(req->origin_key);
    free(req->hop_url);
    free(req->label);
    free(req->fail_msg);
    free(req);
}

void net_req_free(struct net_req *req)
{
    if (req != NULL && req->state == NET_ST_NEW)
        net_req_free_memory(req);
}

int net_req_add_query(struct net_req *req, const char *name, const char *value)
{
    char *en = NULL, *ev = NULL, *url = NULL;
    size_t ulen;
    int rc = SZ_EINVAL;

    if (req == NULL || name == NULL || value == NULL || req->state != NET_ST_NEW)
        goto out;
    rc = SZ_ENOMEM;
    /* curl_easy_escape keeps exactly RFC 3986's unreserved characters. */
    en = curl_easy_escape(NULL, name, 0);
    ev = curl_easy_escape(NULL, value, 0);
    if (en == NULL || ev == NULL)
        goto out;
    ulen = strlen(req->url);
    url = realloc(req->url, ulen + 1 + strlen(en) + 1 + strlen(ev) + 1);
    if (url == NULL)
        goto out;
    req->url = url;
    url[ulen] = strchr(url, '?') != NULL ? '&' : '?';
    strcpy(url + ulen + 1, en);
    strcat(url, "=");
    strcat(url, ev);
    rc = 0;
out:
    curl_free(en);
    curl_free(ev);
    return rc;
}

static int add_line(struct net_req *req, struct curl_slist **plist, const char *line)
{
    struct curl_slist *l;
    const char *colon;

    if (req == NULL || line == NULL || req->state != NET_ST_NEW || !header_safe(line))
        return SZ_EINVAL;
    colon = strchr(line, ':');
    if (colon == NULL || colon == line)
        return SZ_EINVAL;
    l = curl_slist_append(*plist, line);
    if (l == NULL)
        return SZ_ENOMEM;
    *plist = l;
    return 0;
}

int net_req_add_header(struct net_req *req, const char *line)
{
    return add_line(req, req != NULL ? &req->user_headers : NULL, line);
}

int net_req_add_secret_header(struct net_req *req, const char *line)
{
    return add_line(req, req != NULL ? &req->secret_headers : NULL, line);
}

int net_req_set_json_text(struct net_req *req, char *text, size_t len)
{
    if (req == NULL || text == NULL || req->state != NET_ST_NEW || req->parts != NULL ||
        req->has_json) {
        free(text);
        return SZ_EINVAL;
    }
    req->json_body = text;
    req->json_len = len;
    req->has_json = true;
    return 0;
}

int net_req_set_json_new(struct net_req *req, json_t *body)
{
    char *s;

    if (req == NULL || body == NULL || req->state != NET_ST_NEW || req->parts != NULL ||
        req->has_json) {
        json_decref(body);
        return SZ_EINVAL;
    }
    s = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (s == NULL)
        return SZ_ENOMEM;
    return net_req_set_json_text(req, s, strlen(s));
}

/* A new part of `kind` named `name`, appended; NULL on misuse or no memory (*prc). */
static struct net_part *add_part(struct net_req *req, enum net_part_kind kind, const char *name,
                                 const char *filename, const char *mime_type, int *prc)
{
    struct net_part *p;

    *prc = SZ_EINVAL;
    if (req == NULL || name == NULL || req->state != NET_ST_NEW || req->has_json ||
        !header_safe(name) ||
        (kind != NET_PART_FIELD && (filename == NULL || mime_type == NULL ||
                                    !header_safe(filename) || !header_safe(mime_type))))
        return NULL;
    *prc = SZ_ENOMEM;
    p = calloc(1, sizeof(*p));
    if (p == NULL)
        return NULL;
    p->req = req;
    p->kind = kind;
    p->fd = -1;
    p->name = strdup(name);
    p->filename = xstrdup(filename);
    p->mime_type = xstrdup(mime_type);
    if (p->name == NULL || (filename != NULL && p->filename == NULL) ||
        (mime_type != NULL && p->mime_type == NULL)) {
        net_parts_free(p);
        return NULL;
    }
    *req->parts_tail = p;
    req->parts_tail = &p->next;
    *prc = 0;
    return p;
}

int net_req_add_field(struct net_req *req, const char *name, const char *value)
{
    struct net_part *p;
    char *copy;
    int rc;

    if (value == NULL)
        return SZ_EINVAL;
    copy = strdup(value);
    if (copy == NULL)
        return SZ_ENOMEM;
    p = add_part(req, NET_PART_FIELD, name, NULL, NULL, &rc);
    if (p == NULL) {
        free(copy);
        return rc;
    }
    p->bytes = copy;
    p->len = strlen(copy);
    return 0;
}

int net_req_add_file(struct net_req *req, const char *name, const char *filename,
                     const char *mime_type, void *bytes, size_t len)
{
    struct net_part *p;
    int rc;

    if (bytes == NULL && len > 0) {
        free(bytes);
        return SZ_EINVAL;
    }
    p = add_part(req, NET_PART_BYTES, name, filename, mime_type, &rc);
    if (p == NULL) {
        free(bytes);
        return rc;
    }
    p->bytes = bytes;
    p->len = len;
    return 0;
}

int net_req_add_file_fd(struct net_req *req, const char *name, const char *filename,
                        const char *mime_type, uv_file fd, uint64_t size)
{
    struct net_part *p;
    int rc;

    if (fd < 0 || size > (uint64_t)INT64_MAX)
        return SZ_EINVAL;
    p = add_part(req, NET_PART_FD, name, filename, mime_type, &rc);
    if (p == NULL)
        return rc;
    p->fd = fd;
    p->size = size;
    req->has_fd_parts = true;
    return 0;
}

void net_req_set_sink(struct net_req *req, const struct net_sink *sink)
{
    if (req == NULL || sink == NULL || req->state != NET_ST_NEW)
        return;
    req->sink = *sink;
    req->has_sink = sink->on_data != NULL;
}

void net_req_set_max_body(struct net_req *req, size_t max_bytes)
{
    req->max_body = max_bytes;
}

void net_req_set_raw(struct net_req *req)
{
    req->raw = true;
}

void net_req_set_timeouts(struct net_req *req, long request_timeout_ms, long stall_timeout_ms)
{
    if (request_timeout_ms >= 0)
        req->request_timeout_ms = request_timeout_ms;
    if (stall_timeout_ms >= 0)
        req->stall_timeout_ms = stall_timeout_ms;
}

void net_req_set_first_byte_timeout(struct net_req *req, long first_byte_timeout_ms)
{
    if (first_byte_timeout_ms >= 0)
        req->first_byte_timeout_ms = first_byte_timeout_ms;
}

void net_req_set_max_retries(struct net_req *req, int max_retries)
{
    req->max_retries = max_retries < 0 ? 0 : max_retries;
}

int net_req_set_label(struct net_req *req, const char *label)
{
    char *l = xstrdup(label);
    if (label != NULL && l == NULL)
        return SZ_ENOMEM;
    free(req->label);
    req->label = l;
    return 0;
}

void net_req_set_service(struct net_req *req, const struct net_service *service)
{
    req->service = service;
}

int net_req_set_failure(struct net_req *req, int err, const char *message)
{
    char *m;

    if (req == NULL || err >= 0 || req->state != NET_ST_NEW)
        return SZ_EINVAL;
    m = xstrdup(message);
    if (message != NULL && m == NULL)
        return SZ_ENOMEM;
    free(req->fail_msg);
    req->fail_msg = m;
    req->fail_err = err;
    return 0;
}
