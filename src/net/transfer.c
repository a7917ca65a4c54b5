/* One attempt of a request on the wire (see net_int.h): the curl easy handle and its
 * options, the headers sent, curl's header, body and progress callbacks, the
 * attempt's clocks (first byte, stall), redirects, and what an attempt's end means: success,
 * a redirect to follow, a retry, or the request's outcome.
 *
 * Redirects are followed here, not by libcurl: libcurl would forward every custom
 * header to whatever host a Location names, and a credential header must stay with
 * the origin it was meant for (net_req_add_secret_header). A hop is a new easy handle
 * for the same attempt; it keeps the concurrency slot and the whole-request clock. */
#include "fmacros.h"

#include "net/net_int.h"
#include "net/retry.h"

#include "core/err.h"
#include "core/log.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define ERROR_BODY_MAX   ((size_t)64 * 1024) /* kept of a non-2xx body; the rest dropped */
#define MAX_HEADERS      128
#define MAX_HEADER_BYTES ((size_t)64 * 1024)
#define SINK_BUFFER_SIZE (128L * 1024) /* bigger chunks: fewer callbacks and pauses */
/* Bytes one sink transfer may take per loop iteration. curl's read loop keeps
 * reading a readable socket while the sink accepts, so on loopback one socket
 * event could feed megabytes (and their hashing and copying) to the loop before
 * it looks at stdin again: a ping waited hundreds of ms behind 32 downloads.
 * Past this budget the transfer pauses itself; a uv_idle handle counts the
 * iterations and resumes it on the next one, after the loop has polled every
 * fd (an active idle handle also keeps that poll from blocking). A 0 ms timer
 * alone would not do: in libuv 1.44 a timer started from a timer callback
 * runs again in the same pass, so the iteration would never end. */
#define SINK_TURN_BUDGET (64u * 1024u)

/* ------------------------------------------------------------------------------------
 * Effective settings */

static long whole_timeout(const struct net_req *req)
{
    return req->request_timeout_ms >= 0 ? req->request_timeout_ms : req->client->request_timeout_ms;
}

static long stall_timeout(const struct net_req *req)
{
    return req->stall_timeout_ms >= 0 ? req->stall_timeout_ms : req->client->stall_timeout_ms;
}

static long first_byte_timeout(const struct net_req *req)
{
    if (req->first_byte_timeout_ms >= 0)
        return req->first_byte_timeout_ms;
    return req->has_sink ? req->client->sink_first_byte_timeout_ms
                         : req->client->first_byte_timeout_ms;
}

static const char *hop_url(const struct net_req *req)
{
    return req->hop_url != NULL ? req->hop_url : req->url;
}

static bool sends_body(const struct net_req *req)
{
    return !req->hop_get && (req->has_json || req->parts != NULL);
}

void net_headers_clear(struct net_req *req)
{
    for (size_t i = 0; i < req->n_hdrs; i++)
        free(req->hdrs[i].name);
    free(req->hdrs);
    req->hdrs = NULL;
    req->n_hdrs = 0;
    req->hdr_bytes = 0;
}

/* ------------------------------------------------------------------------------------
 * Setting up a hop */

/* Case-insensitive: does `list` set header `name` (the part before ':' of `line`)? */
static bool user_sets(const struct curl_slist *list, const char *line)
{
    size_t n = strcspn(line, ":");

    for (; list != NULL; list = list->next) {
        if (strncasecmp(list->data, line, n) == 0 && list->data[n] == ':')
            return true;
    }
    return false;
}

static int append(struct curl_slist **plist, const char *line)
{
    struct curl_slist *l = curl_slist_append(*plist, line);
    if (l == NULL)
        return SZ_ENOMEM;
    *plist = l;
    return 0;
}

/* Are secret headers allowed on this hop? Only at the request URL's own origin. */
static int at_home(const struct net_req *req, bool *phome)
{
    char *key = NULL;
    int rc;

    *phome = true;
    if (req->hop_url == NULL)
        return 0;
    rc = net_url_origin(req->hop_url, NULL, &key);
    if (rc != 0)
        return rc;
    *phome = strcmp(key, req->origin_key) == 0;
    free(key);
    return 0;
}

/* The header list of this hop: defaults (unless the caller set the same name),
 * secret headers when at home, the caller's headers. */
static int build_headers(struct net_req *req)
{
    const char *defaults[4];
    size_t nd = 0;
    bool home;
    int rc;

    curl_slist_free_all(req->headers);
    req->headers = NULL;
    defaults[nd++] = req->has_sink ? "Accept: */*" : "Accept: application/json";
    if (req->has_json && !req->hop_get)
        defaults[nd++] = "Content-Type: application/json";
    /* No "Expect: 100-continue" round trip before uploads. */
    defaults[nd++] = "Expect:";
    defaults[nd++] = req->client->user_agent_line;
    if ((rc = at_home(req, &home)) != 0)
        return rc;
    for (const struct curl_slist *s = home ? req->secret_headers : NULL; s != NULL; s = s->next) {
        if (!user_sets(req->user_headers, s->data) && (rc = append(&req->headers, s->data)) != 0)
            return rc;
    }
    for (size_t i = 0; i < nd; i++) {
        if (!user_sets(req->user_headers, defaults[i]) &&
            (rc = append(&req->headers, defaults[i])) != 0)
            return rc;
    }
    for (const struct curl_slist *u = req->user_headers; u != NULL; u = u->next) {
        if ((rc = append(&req->headers, u->data)) != 0)
            return rc;
    }
    return 0;
}

static size_t on_header(char *buf, size_t size, size_t n, void *ud);
static size_t on_body(char *buf, size_t size, size_t n, void *ud);
static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow);

/* The method and body options of this hop. */
static CURLcode set_method(struct net_req *req, CURL *e)
{
    CURLcode cc = CURLE_OK;
    const char *method = req->hop_get ? "GET" : req->method;

    if (strcmp(method, "GET") == 0)
        return curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    if (strcmp(method, "HEAD") == 0)
        return curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    if (strcmp(method, "POST") != 0)
        cc = curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    if (cc == CURLE_OK && req->has_json) {
        cc = curl_easy_setopt(e, CURLOPT_POSTFIELDS, req->json_body);
        if (cc == CURLE_OK)
            cc = curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->json_len);
    } else if (cc == CURLE_OK && req->parts == NULL && strcmp(method, "POST") == 0) {
        cc = curl_easy_setopt(e, CURLOPT_POSTFIELDS, "");
        if (cc == CURLE_OK)
            cc = curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
    }
    return cc;
}

static int setup_easy(struct net_req *req)
{
    struct net_client *c = req->client;
    CURL *e = curl_easy_init();
    const char *url = hop_url(req);
    long whole = whole_timeout(req), left = 0;
    bool streamed = req->has_sink || req->has_fd_parts;
    CURLcode cc = CURLE_OK;
    int rc;

    if (e == NULL)
        return SZ_ENOMEM;
    req->easy = e;
    req->errbuf[0] = '\0';
    if (whole > 0) {
        /* Redirect hops share the request's clock. */
        uint64_t spent = uv_now(c->loop) - req->t_attempt;
        left = spent < (uint64_t)whole ? whole - (long)spent : 1;
    }
    if ((rc = build_headers(req)) != 0)
        return rc;
#define SET(opt, val)                                                                              \
    do {                                                                                           \
        if (cc == CURLE_OK)                                                                        \
            cc = curl_easy_setopt(e, opt, val);                                                    \
    } while (0)
    SET(CURLOPT_PRIVATE, req);
    SET(CURLOPT_URL, url);
    SET(CURLOPT_ERRORBUFFER, req->errbuf);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
    /* API calls multiplex over HTTP/2 where the server offers it. Sink downloads use
     * HTTP/1.1 on their own connection: a paused HTTP/1.1 transfer stops reading its
     * socket, so TCP holds the rest back, whereas libcurl keeps receiving a paused
     * HTTP/2 stream into memory up to its 32 MB stream window, which defeats the
     * sink's backpressure (and pausing multiplexed streams is fragile in libcurl
     * 7.88). Uploads streamed from a file pause their sending side while a chunk is
     * read, which is the same fragile path: HTTP/1.1 too. */
    SET(CURLOPT_HTTP_VERSION,
        streamed ? (long)CURL_HTTP_VERSION_1_1 : (long)CURL_HTTP_VERSION_2TLS);
    /* Wait for a connection that may multiplex rather than open another one; only
     * over TLS, where ALPN tells at once whether HTTP/2 is on. In cleartext curl
     * would hold every request back until the first response's headers arrive. */
    if (!streamed && strncasecmp(url, "https://", 8) == 0)
        SET(CURLOPT_PIPEWAIT, 1L);
    SET(CURLOPT_TCP_KEEPALIVE, 1L);
    SET(CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
    SET(CURLOPT_TIMEOUT_MS, left);
    SET(CURLOPT_HTTPHEADER, req->headers);
    SET(CURLOPT_HEADERFUNCTION, on_header);
    SET(CURLOPT_HEADERDATA, req);
    SET(CURLOPT_WRITEFUNCTION, on_body);
    SET(CURLOPT_WRITEDATA, req);
    /* Compressed JSON saves bandwidth; a sink gets the bytes exactly as sent, because
     * a paused decompressing transfer is fragile and Content-Length would lie. */
    if (!req->has_sink)
        SET(CURLOPT_ACCEPT_ENCODING, "");
    else
        SET(CURLOPT_BUFFERSIZE, SINK_BUFFER_SIZE);
    if (sends_body(req)) {
        /* Upload progress moves the first-byte clock: the server cannot answer
         * before it has the whole request, and a big upload may take minutes. */
        SET(CURLOPT_XFERINFOFUNCTION, on_progress);
        SET(CURLOPT_XFERINFODATA, req);
        SET(CURLOPT_NOPROGRESS, 0L);
    }
    if (cc == CURLE_OK)
        cc = set_method(req, e);
#undef SET
    if (cc != CURLE_OK)
        return cc == CURLE_OUT_OF_MEMORY ? SZ_ENOMEM : SZ_EINVAL;
    if (sends_body(req) && req->parts != NULL)
        return net_mime_build(req);
    return 0;
}

/* Forgets what the previous hop received. */
static void reset_hop(struct net_req *req)
{
    req->status = 0;
    req->final_headers = false;
    req->redirecting = false;
    req->sink_mode = false;
    req->rx_started = false;
    req->paused = false;
    req->send_paused = false;
    req->resume_pending = false;
    req->cancel_pending = false;
    req->abort_err = 0;
    req->abort_msg[0] = '\0';
    req->skip = 0;
    req->res.status = 0;
    req->res.api_code = NULL;
    req->api_code[0] = '\0';
    net_headers_clear(req);
    sz_buf_free(&req->body);
}

/* Frees the hop's curl objects (taking the handle off the multi first). */
static void release_easy(struct net_req *req)
{
    struct net_client *c = req->client;

    if (req->easy != NULL) {
        c->in_curl++;
        curl_multi_remove_handle(c->multi, req->easy);
        curl_easy_cleanup(req->easy);
        c->in_curl--;
        req->easy = NULL;
    }
    curl_mime_free(req->mime);
    req->mime = NULL;
}

void net_detach(struct net_req *req)
{
    struct net_client *c = req->client;

    release_easy(req);
    uv_timer_stop(&req->timer);
    sz_list_remove(&req->link);
    c->stats.inflight--;
    req->paused = false;
    req->send_paused = false;
    req->resume_pending = false;
    req->cancel_pending = false;
    if (c->closing)
        net_schedule_defer(c);
}

/* Puts the current hop on the wire (the request is ACTIVE). */
static void hop_start(struct net_req *req)
{
    struct net_client *c = req->client;
    CURLMcode mc;
    int rc;

    reset_hop(req);
    req->t_sent = uv_now(c->loop);
    req->last_rx = req->t_sent;
    req->ul_last = 0;
    rc = setup_easy(req);
    if (rc == 0) {
        c->in_curl++;
        mc = curl_multi_add_handle(c->multi, req->easy);
        c->in_curl--;
        if (mc != CURLM_OK)
            rc = mc == CURLM_OUT_OF_MEMORY ? SZ_ENOMEM : SZ_EIO;
    }
    if (rc != 0) {
        if (req->easy != NULL)
            curl_easy_cleanup(req->easy);
        req->easy = NULL;
        net_detach(req);
        net_complete(req, rc, "Could not start the request to %s: %s", req->origin,
                     sz_strerror(rc));
        return;
    }
    net_clock_arm(req);
}

void net_attempt_start(struct net_req *req)
{
    struct net_client *c = req->client;

    req->state = NET_ST_ACTIVE;
    sz_list_push_back(&c->active, &req->link);
    c->stats.inflight++;
    c->stats.attempts++;
    req->t_attempt = uv_now(c->loop);
    req->redirects = 0;
    req->hop_get = false;
    free(req->hop_url);
    req->hop_url = NULL;
    SZ_DEBUG("%s: %s %s (attempt %d)", net_req_name(req), req->method, net_req_path(req),
             req->retries + 1);
    hop_start(req);
}

/* ------------------------------------------------------------------------------------
 * curl callbacks (in_curl > 0 while they run) */

/* The final header block is complete: hand a 2xx to the sink. 0 or an abort. */
static size_t headers_done(struct net_req *req, size_t len)
{
    long status = req->status;
    const char *cl;
    int64_t clen = -1;
    int rc = 0;

    if (status / 100 == 1)
        return len;
    if (status / 100 == 3 && net_req_header(req, "location") != NULL) {
        req->redirecting = true; /* followed once this response has ended */
        return len;
    }
    req->final_headers = true;
    if (!req->has_sink || status / 100 != 2)
        return len;
    cl = net_req_header(req, "content-length");
    if (cl != NULL) {
        char *end = NULL;
        long long v = strtoll(cl, &end, 10);
        if (end != cl && *end == '\0' && v >= 0)
            clen = v;
    }
    req->sink_mode = true;
    req->sink_started = true;
    if (req->sink.on_headers != NULL)
        rc = req->sink.on_headers(req, status, clen, net_req_header(req, "content-type"),
                                  req->sink.data);
    if (req->cancelled)
        return 0;
    if (rc < 0) {
        req->abort_err = rc;
        return 0;
    }
    return len;
}

/* Stores one "Name: value\r\n" line (bounded in number and bytes). */
static void store_header(struct net_req *req, const char *buf, size_t len)
{
    const char *colon = memchr(buf, ':', len);
    struct net_header *h;
    size_t nlen, vstart, vend;

    if (colon == NULL || req->n_hdrs >= MAX_HEADERS || req->hdr_bytes + len > MAX_HEADER_BYTES)
        return;
    nlen = (size_t)(colon - buf);
    vstart = nlen + 1;
    vend = len;
    while (vstart < vend && (buf[vstart] == ' ' || buf[vstart] == '\t'))
        vstart++;
    while (vend > vstart && (buf[vend - 1] == '\r' || buf[vend - 1] == '\n' ||
                             buf[vend - 1] == ' ' || buf[vend - 1] == '\t'))
        vend--;
    h = realloc(req->hdrs, (req->n_hdrs + 1) * sizeof(*h));
    if (h == NULL)
        return;
    req->hdrs = h;
    h = &req->hdrs[req->n_hdrs];
    h->name = malloc(nlen + 1 + (vend - vstart) + 1);
    if (h->name == NULL)
        return;
    memcpy(h->name, buf, nlen);
    h->name[nlen] = '\0';
    memcpy(h->name + nlen + 1, buf + vstart, vend - vstart);
    h->name[nlen + 1 + (vend - vstart)] = '\0';
    h->value = h->name + nlen + 1;
    req->n_hdrs++;
    req->hdr_bytes += len;
}

static size_t on_header(char *buf, size_t size, size_t n, void *ud)
{
    struct net_req *req = ud;
    size_t len = size * n;

    req->last_rx = uv_now(req->client->loop);
    if (!req->rx_started) {
        req->rx_started = true; /* the first-byte clock stops; a buffered stall clock starts */
        net_clock_arm(req);
    }
    if (req->cancelled)
        return 0;
    if (len >= 5 && memcmp(buf, "HTTP/", 5) == 0) {
        const char *sp = memchr(buf, ' ', len);
        net_headers_clear(req);
        req->final_headers = false;
        req->status = 0;
        if (sp != NULL)
            req->status = strtol(sp + 1, NULL, 10);
        return len;
    }
    if (req->final_headers || req->redirecting)
        return len; /* trailers */
    if (len <= 2 && (buf[0] == '\r' || buf[0] == '\n'))
        return headers_done(req, len);
    store_header(req, buf, len);
    return len;
}

/* A buffered body: 2xx up to max_body (else SZ_ETOOBIG), an error body truncated. */
static size_t buffer_body(struct net_req *req, const char *buf, size_t len)
{
    size_t total = len;
    bool ok2xx = req->status / 100 == 2;
    size_t limit = ok2xx ? req->max_body : ERROR_BODY_MAX;

    if (req->redirecting)
        return total; /* a redirect's body is read (for reuse of the connection), not kept */
    if (req->body.len + len > limit) {
        if (ok2xx) {
            req->abort_err = SZ_ETOOBIG;
            return 0;
        }
        len = limit - req->body.len;
        if (len == 0)
            return total;
    }
    if (sz_buf_append(&req->body, buf, len) != 0) {
        req->abort_err = SZ_ENOMEM;
        return 0;
    }
    return total;
}

/* Pauses receiving: the sink's own pause, or the end of this iteration's budget. */
static size_t pause_rx(struct net_req *req, size_t chunk, bool budget)
{
    /* curl keeps the whole chunk and redelivers it on unpause; the sink has it. */
    req->skip = chunk;
    req->paused = true;
    if (budget) {
        req->budget_paused = true;
        net_turn_idle_start(req->client);
    }
    net_clock_arm(req); /* no stall clock while paused */
    return CURL_WRITEFUNC_PAUSE;
}

static size_t on_body(char *buf, size_t size, size_t n, void *ud)
{
    struct net_req *req = ud;
    size_t len = size * n;
    int rc;

    req->last_rx = uv_now(req->client->loop);
    if (req->cancelled || req->abort_err != 0)
        return 0;
    if (!req->sink_mode)
        return buffer_body(req, buf, len);
    /* Sink: after a pause curl hands back the very bytes the sink already took. */
    if (req->skip > 0) {
        size_t k = req->skip < len ? req->skip : len;
        req->skip -= k;
        buf += k;
        len -= k;
        if (len == 0)
            return size * n;
    }
    req->in_on_data = true;
    req->resumed_in_cb = false;
    rc = req->sink.on_data(req, buf, len, req->sink.data);
    req->in_on_data = false;
    req->received += len;
    if (req->turn != req->client->turn) {
        req->turn = req->client->turn;
        req->turn_bytes = 0;
    }
    req->turn_bytes += len;
    if (req->cancelled)
        return 0;
    if (rc < 0) {
        req->abort_err = rc;
        return 0;
    }
    if (rc == NET_SINK_PAUSE && !req->resumed_in_cb)
        return pause_rx(req, size * n, false);
    if (rc == 0 && req->turn_bytes >= SINK_TURN_BUDGET)
        return pause_rx(req, size * n, true); /* enough for this iteration */
    return size * n;
}

static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    struct net_req *req = ud;

    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    if (ulnow != req->ul_last) {
        req->ul_last = ulnow;
        req->t_sent = uv_now(req->client->loop);
    }
    return req->cancelled ? 1 : 0;
}

/* ------------------------------------------------------------------------------------
 * Pausing and clocks (on the loop, outside curl) */

void net_apply_pause(struct net_req *req, bool unpause_send)
{
    struct net_client *c = req->client;
    int flags = (req->paused ? CURLPAUSE_RECV : 0) | (req->send_paused ? CURLPAUSE_SEND : 0);
    CURLcode cc = CURLE_OK;

    /* curl hands the bytes it kept back to on_body, and asks fd parts for more, from
     * inside this call. */
    c->in_curl++;
    /* A mime part that returned CURL_READFUNC_PAUSE stays paused inside libcurl's
     * mime reader (7.88) until curl_easy_pause lifts a send pause of the transfer;
     * but when the part paused after other bytes of the body had filled curl's
     * buffer, the transfer itself was never marked paused, and unpausing it would
     * be a no-op that leaves the part paused for good. So pause sending first,
     * then lift it: that always reaches the part. */
    if (unpause_send)
        cc = curl_easy_pause(req->easy, flags | CURLPAUSE_SEND);
    if (cc == CURLE_OK)
        cc = curl_easy_pause(req->easy, flags);
    c->in_curl--;
    if (req->cancel_pending) {
        net_detach(req);
        net_complete_cancelled(req);
        return;
    }
    if (cc != CURLE_OK) {
        /* A callback failed during redelivery; curl does not end the transfer for
         * that, so we do. */
        net_attempt_done(req, cc);
        return;
    }
    net_clock_arm(req);
}

static bool first_byte_applies(const struct net_req *req)
{
    return !req->rx_started && first_byte_timeout(req) > 0;
}

static bool stall_applies(const struct net_req *req)
{
    return !req->paused && (req->has_sink || req->rx_started) && stall_timeout(req) > 0;
}

void net_clock_arm(struct net_req *req)
{
    uint64_t now = uv_now(req->client->loop), due = UINT64_MAX;

    if (req->cancel_pending || req->resume_pending) {
        uv_timer_start(&req->timer, net_req_timer_cb, 0, 0); /* work first */
        return;
    }
    if (first_byte_applies(req))
        due = req->t_sent + (uint64_t)first_byte_timeout(req);
    if (stall_applies(req) && req->last_rx + (uint64_t)stall_timeout(req) < due)
        due = req->last_rx + (uint64_t)stall_timeout(req);
    if (due == UINT64_MAX)
        uv_timer_stop(&req->timer);
    else
        uv_timer_start(&req->timer, net_req_timer_cb, due > now ? due - now : 0, 0);
}

static void retry_or_fail(struct net_req *req, int transport_error, int err, const char *msg);

void net_clock_check(struct net_req *req)
{
    uint64_t now = uv_now(req->client->loop);
    char msg[NET_MESSAGE_LEN];

    if (first_byte_applies(req) && now - req->t_sent >= (uint64_t)first_byte_timeout(req)) {
        snprintf(msg, sizeof(msg), "No response from %s within %ld ms", req->origin,
                 first_byte_timeout(req));
    } else if (stall_applies(req) && now - req->last_rx >= (uint64_t)stall_timeout(req)) {
        snprintf(msg, sizeof(msg), "No data received from %s for %ld ms", req->origin,
                 stall_timeout(req));
    } else {
        net_clock_arm(req);
        return;
    }
    if (!req->sink_started)
        req->res.status = 0;
    net_detach(req);
    retry_or_fail(req, 1, SZ_ETIMEOUT, msg);
}

/* ------------------------------------------------------------------------------------
 * Outcome of an attempt */

static int map_curl_code(CURLcode code)
{
    switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
        return SZ_ETIMEOUT;
    case CURLE_OUT_OF_MEMORY:
        return SZ_ENOMEM;
    default:
        return SZ_EIO;
    }
}

static bool curl_code_retryable(CURLcode code)
{
    switch (code) {
    case CURLE_OUT_OF_MEMORY:
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_NOT_BUILT_IN:
    case CURLE_BAD_FUNCTION_ARGUMENT:
    case CURLE_TOO_MANY_REDIRECTS:
    case CURLE_WRITE_ERROR:
    case CURLE_ABORTED_BY_CALLBACK:
    case CURLE_FUNCTION_NOT_FOUND:
    case CURLE_UNKNOWN_OPTION:
        return false;
    default:
        return true;
    }
}

/* One sentence about a transport failure into buf. */
static void transport_message(struct net_req *req, CURLcode code, char *buf, size_t len)
{
    const char *detail = req->errbuf[0] != '\0' ? req->errbuf : curl_easy_strerror(code);
    long os_errno = 0;
    curl_off_t connect_us = 0;

    if (req->easy != NULL) {
        curl_easy_getinfo(req->easy, CURLINFO_OS_ERRNO, &os_errno);
        curl_easy_getinfo(req->easy, CURLINFO_CONNECT_TIME_T, &connect_us);
    }
    switch (code) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        snprintf(buf, len, "Could not resolve the host of %s: %s", req->origin, detail);
        break;
    case CURLE_COULDNT_CONNECT:
        snprintf(buf, len, "Could not connect to %s: %s", req->origin,
                 os_errno != 0 ? strerror((int)os_errno) : detail);
        break;
    case CURLE_OPERATION_TIMEDOUT:
        if (connect_us == 0 && !req->rx_started)
            snprintf(buf, len, "Timed out connecting to %s after %ld ms", req->origin,
                     req->client->connect_timeout_ms);
        else
            snprintf(buf, len, "The request to %s timed out after %ld ms", req->origin,
                     whole_timeout(req));
        break;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
        snprintf(buf, len, "TLS error talking to %s: %s", req->origin, detail);
        break;
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        if (req->sink_started)
            snprintf(buf, len, "The connection to %s broke after %" PRIu64 " bytes: %s",
                     req->origin, req->received, detail);
        else
            snprintf(buf, len, "The connection to %s broke: %s", req->origin, detail);
        break;
    default:
        snprintf(buf, len, "The request to %s failed: %s", req->origin, detail);
        break;
    }
}

/* Decides retry vs completion for a failed attempt (already detached). */
static void retry_or_fail(struct net_req *req, int transport_error, int err, const char *msg)
{
    struct net_client *c = req->client;
    struct net_retry_in in;
    long delay = 0;

    memset(&in, 0, sizeof(in));
    in.transport_error = transport_error;
    in.status = req->status;
    if (!transport_error) {
        in.should_retry = net_req_header(req, "x-should-retry");
        in.retry_after_ms = net_req_header(req, "retry-after-ms");
        in.retry_after = net_req_header(req, "retry-after");
    }
    in.sink_started = req->sink_started;
    in.retries_done = req->retries;
    in.max_retries = req->max_retries >= 0 ? req->max_retries : c->max_retries;
    in.random = net_next_random(c);
    in.now = time(NULL);

    if (!c->closing && net_retry_decide(&in, &delay)) {
        SZ_WARN("%s: %s %s: %s; retry %d of %d in %ld ms", net_req_name(req), req->method,
                net_req_path(req), msg, req->retries + 1, in.max_retries, delay);
        req->retries++;
        c->stats.retries++;
        req->state = NET_ST_WAIT_RETRY;
        sz_list_push_back(&c->waiting, &req->link);
        c->stats.waiting_retry++;
        uv_timer_start(&req->timer, net_req_timer_cb, (uint64_t)delay, 0);
        return;
    }
    if (req->retries > 0)
        net_complete(req, err, "%s (gave up after %d %s)", msg, req->retries,
                     req->retries == 1 ? "retry" : "retries");
    else
        net_complete(req, err, "%s", msg);
}

static void finish_success(struct net_req *req)
{
    const struct net_service *svc = net_req_service(req);
    json_error_t jerr;
    char summary[256];

    if (req->has_sink || req->raw || req->body.len == 0) {
        net_complete(req, 0, NULL);
        return;
    }
    req->json = json_loadb(req->body.data, req->body.len, 0, &jerr);
    if (req->json != NULL) {
        net_complete(req, 0, NULL);
        return;
    }
    net_summarize(req->body.data, req->body.len, 60, summary, sizeof(summary));
    net_complete(req, SZ_EPROTO, "%s%s returned status %ld with a body that is not JSON: %s",
                 svc->name != NULL ? svc->name : req->origin, svc->name != NULL ? " API" : "",
                 req->status, summary);
}

/* The response is a redirect: the next hop, or the reason not to take it. */
static void follow(struct net_req *req)
{
    struct net_client *c = req->client;
    char *target = NULL, *url;

    if (req->redirects >= NET_MAX_REDIRECTS) {
        net_detach(req);
        net_complete(req, SZ_EUPSTREAM, "Too many redirects from %s", req->origin);
        return;
    }
    curl_easy_getinfo(req->easy, CURLINFO_REDIRECT_URL, &target);
    if (target == NULL || net_url_origin(target, NULL, NULL) != 0) {
        net_detach(req);
        net_complete(req, SZ_EUPSTREAM, "%s redirected the request to a URL that is not http(s)",
                     req->origin);
        return;
    }
    url = strdup(target); /* owned by the easy handle, which goes now */
    if (url == NULL) {
        net_detach(req);
        net_complete(req, SZ_ENOMEM, "Out of memory following a redirect from %s", req->origin);
        return;
    }
    /* What browsers and libcurl do: 303 fetches the target, and a POST answered with
     * 301 or 302 becomes a GET; 307 and 308 repeat the request as it was. */
    if ((req->status == 303 && strcmp(req->method, "HEAD") != 0) ||
        ((req->status == 301 || req->status == 302) && strcmp(req->method, "POST") == 0))
        req->hop_get = true;
    release_easy(req);
    free(req->hop_url);
    req->hop_url = url;
    req->redirects++;
    c->stats.redirects++;
    SZ_DEBUG("%s: %s %s: redirected (%ld)", net_req_name(req), req->method, net_req_path(req),
             req->status);
    hop_start(req);
}

/* A non-2xx final response: the service's sentence, then maybe a retry. */
static void upstream_error(struct net_req *req)
{
    const struct net_service *svc = net_req_service(req);
    net_error_fn *fmt = svc->error_message != NULL ? svc->error_message : net_default_error;
    struct net_error_in in = {req->status, req->origin, req->body.data, req->body.len};
    char msg[NET_MESSAGE_LEN];

    fmt(&in, msg, sizeof(msg), req->api_code, sizeof(req->api_code), svc->data);
    req->res.api_code = req->api_code[0] != '\0' ? req->api_code : NULL;
    net_detach(req);
    retry_or_fail(req, 0, SZ_EUPSTREAM, msg);
}

void net_attempt_done(struct net_req *req, CURLcode code)
{
    char msg[NET_MESSAGE_LEN];
    long status = 0;

    if (req->easy != NULL)
        curl_easy_getinfo(req->easy, CURLINFO_RESPONSE_CODE, &status);
    if (status != 0)
        req->status = status;
    req->res.status = req->status;

    if (req->cancelled) {
        net_detach(req);
        net_complete_cancelled(req);
        return;
    }
    if (req->abort_err != 0) {
        int err = req->abort_err;
        if (req->abort_msg[0] != '\0')
            snprintf(msg, sizeof(msg), "%s", req->abort_msg);
        else if (err == SZ_ETOOBIG)
            snprintf(msg, sizeof(msg), "The response from %s is larger than %zu bytes", req->origin,
                     req->max_body);
        else
            snprintf(msg, sizeof(msg), "The download from %s was aborted: %s", req->origin,
                     sz_strerror(err));
        net_detach(req);
        net_complete(req, err, "%s", msg);
        return;
    }
    if (code == CURLE_OK && req->redirecting) {
        follow(req);
        return;
    }
    if (code == CURLE_OK && req->status / 100 == 2) {
        net_detach(req);
        finish_success(req);
        return;
    }
    if (code == CURLE_OK) {
        upstream_error(req);
        return;
    }
    transport_message(req, code, msg, sizeof(msg));
    net_detach(req);
    if (!req->sink_started)
        req->res.status = 0;
    if (curl_code_retryable(code))
        retry_or_fail(req, 1, map_curl_code(code), msg);
    else
        net_complete(req, map_curl_code(code), "%s", msg);
}
