/* Asynchronous HTTP client: libcurl's multi interface driven by the libuv loop.
 *
 * Knows no vendor. A provider (src/openai/, later src/gemini/) builds requests on
 * it: a full URL, headers (some of them secret: sent only to the URL's own origin),
 * a JSON or multipart body (file parts streamed from an open fd, never read whole),
 * and either a buffered response or a sink that streams the body with pause/resume
 * backpressure. The provider also says how a failure reads to a user (its name and
 * an error-body formatter, struct net_service).
 *
 * One client per process owns one curl multi handle (so connections, TLS sessions and
 * HTTP/2 streams are reused), one uv_timer for curl's timeouts and one uv_poll per
 * socket curl asks us to watch. A request is an object the caller fills and then
 * starts; from then on the client owns it until its done callback has returned.
 *
 * Retries follow the official OpenAI SDKs (see net_retry_decide in net/retry.h); at
 * most max_concurrency requests are on the wire at once and the rest wait in FIFO
 * order.
 *
 * Wire details: every request sends "User-Agent" (net_options.user_agent), "Accept:
 * application/json" (sinks accept any type), no "Expect: 100-continue". Buffered
 * requests ask for compressed bodies and use HTTP/2 where the server offers it
 * (multiplexed on one connection; PIPEWAIT over https); sink downloads and uploads
 * streamed from a file use HTTP/1.1 without compression so that pausing really stops
 * the bytes. Redirects (at most 5) are followed here rather than by libcurl, so that
 * secret headers never reach another origin (libcurl forwards custom headers to any
 * host it is redirected to). The process should ignore SIGPIPE (libcurl uses
 * MSG_NOSIGNAL, libuv does not).
 *
 * Clocks of an attempt: connect timeout; whole-request timeout (redirect hops share
 * it); first byte (no response header within the limit after the last request byte
 * was sent: a hung upstream fails in a minute, not in ten; image generation deserves
 * minutes, a download seconds); stall (no body byte for that long once the response
 * started, or from the start for sinks; stopped while a sink is paused). Each failure
 * of these is retried like a connection error.
 *
 * THREAD: every function here must be called on the loop thread, and every callback
 * runs there.
 *
 * RE-ENTRANCY: no callback (done, on_headers, on_data, close) ever runs inside a
 * net_* call. A done callback runs from a loop callback (a socket event, a timer, or
 * the client's "deferred work" timer), so it may freely start, cancel or resume other
 * requests and may even close the client.
 *
 * COMPLETION: every started request gets exactly one done callback, whatever happens
 * (success, HTTP error, network error, timeout, cancellation, client closing). The
 * request is freed right after its done callback returns; the caller must forget the
 * pointer there. */
#ifndef SZ_NET_CLIENT_H
#define SZ_NET_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <uv.h>

struct net_client;
struct net_req;

/* ------------------------------------------------------------------------------------
 * Results */

/* What a done callback is told. Everything is borrowed and valid only during the
 * callback (json_incref the body to keep it). */
struct net_result {
    /* 0 on success (a 2xx response); otherwise a negative code:
     *   SZ_EUPSTREAM  the server answered with a non-2xx status (after any retries),
     *                 or redirected too often or to a URL that is not http(s)
     *   SZ_ETIMEOUT   connect, whole-request, first-byte or stall timeout
     *   SZ_EIO        connection failed or broke (refused, reset, DNS, TLS, truncated),
     *                 or a file part could not be read
     *   SZ_ECANCELLED net_req_cancel or net_client_close
     *   SZ_ETOOBIG    the buffered body exceeded its limit (net_req_set_max_body)
     *   SZ_EPROTO     a 2xx body that is not valid JSON (buffered, non-raw requests)
     *   SZ_ENOMEM     allocation failure
     *   the code given to net_req_set_failure
     *   any negative code returned by the sink's on_headers/on_data */
    int err;
    long status;      /* final HTTP status; 0 when no response was received */
    json_t *json;     /* parsed body of a 2xx buffered response; NULL for sinks, raw
                       * requests, empty bodies and failures */
    const char *body; /* raw buffered body (NUL-terminated), NULL for sink downloads;
                       * for failures the (possibly truncated) error body */
    size_t body_len;
    const char *message;  /* one sentence for a user on failure, NULL on success, e.g.
                           * "OpenAI API error 404 (not_found): Video not found" */
    const char *api_code; /* the service's error code from an error body, or NULL */
    int retries;          /* retries performed (attempts - 1) */
};

/* Called exactly once per started request, on the loop thread, never from inside a
 * net_* call. `req` is still valid here (net_req_header works) and is freed when the
 * callback returns. */
typedef void net_done_fn(struct net_req *req, const struct net_result *res, void *data);

/* ------------------------------------------------------------------------------------
 * How failures read: the service behind a request */

/* A non-2xx response, for an error formatter. Borrowed, valid during the call. */
struct net_error_in {
    long status;
    const char *origin; /* "https://host[:port]" of the request URL */
    const char *body;   /* the (possibly truncated) error body; may be NULL */
    size_t len;
};

/* Writes one sentence for a user about `in` into buf (always NUL-terminated,
 * truncated to buflen) and the service's error code, or "", into code (codelen > 0).
 * Pure; must not keep any pointer. */
typedef void net_error_fn(const struct net_error_in *in, char *buf, size_t buflen, char *code,
                          size_t codelen, void *data);

/* Who a request talks to, as a user reads it. Held by pointer: it must outlive every
 * request that uses it (a static struct in the provider). */
struct net_service {
    /* The service's name in sentences ("The OpenAI request was cancelled", "OpenAI API
     * returned status 200 with a body that is not JSON: ..."); NULL gives generic
     * sentences naming the URL's origin instead. */
    const char *name;
    /* Non-2xx bodies to sentences; NULL: net_default_error. */
    net_error_fn *error_message;
    void *data;
};

/* The generic formatter: "HTTP error 404 from <origin>: <summary of the body>", or
 * "HTTP error 404 from <origin> with an empty response body"; no code. */
void net_default_error(const struct net_error_in *in, char *buf, size_t buflen, char *code,
                       size_t codelen, void *data);

/* ------------------------------------------------------------------------------------
 * Sinks: streaming a 2xx response body to the caller instead of buffering it */

/* on_data return values (besides 0 = keep going and negative = abort with that code). */
#define NET_SINK_PAUSE 1

/* Called once, before the first body byte, when the final response is 2xx.
 * content_length is -1 when unknown; content_type may be NULL. Return 0 to go on or
 * a negative code to abort the request with that code (no retry). */
typedef int net_sink_headers_fn(struct net_req *req, long status, int64_t content_length,
                                const char *content_type, void *data);

/* Body bytes, in order. The callee always takes all `len` bytes (copy them if they
 * must outlive the call). Return 0 for more, NET_SINK_PAUSE to receive nothing more
 * until net_req_resume(req), or a negative code to abort (no retry). */
typedef int net_sink_data_fn(struct net_req *req, const char *buf, size_t len, void *data);

struct net_sink {
    net_sink_headers_fn *on_headers; /* optional */
    net_sink_data_fn *on_data;
    void *data;
};

/* ------------------------------------------------------------------------------------
 * Client */

/* Everything the client needs, filled by its creator (net never reads the
 * environment). Start from net_options_init. Timeouts in ms; 0 disables one. */
struct net_options {
    unsigned max_concurrency;          /* requests on the wire at once (>= 1); default 16 */
    int max_retries;                   /* default 2 */
    long connect_timeout_ms;           /* default 10000 (0: libcurl's own, 300 s) */
    long request_timeout_ms;           /* whole request, redirects included; default 600000 */
    long stall_timeout_ms;             /* no body byte for this long; default 60000 */
    long first_byte_timeout_ms;        /* buffered requests: no response header this
                                        * long after the request was sent; 60000 */
    long sink_first_byte_timeout_ms;   /* the same for sink requests; default 30000 */
    const char *user_agent;            /* copied; NULL: "sanzaru/<version>" */
    const struct net_service *service; /* default for requests; NULL: generic */
};

/* Fills *opts with the defaults above. */
void net_options_init(struct net_options *opts);

/* Creates a client on `loop` from opts (copied; opts may be freed afterwards). Calls
 * curl_global_init (reference counted by libcurl). Returns 0 and sets *pclient, or
 * SZ_ENOMEM / SZ_EINVAL (bad limits, a user agent with CR/LF). */
int net_client_new(uv_loop_t *loop, const struct net_options *opts, struct net_client **pclient);

typedef void net_close_fn(struct net_client *client, void *data);

/* Cancels every request (each gets its done callback with SZ_ECANCELLED), tears down
 * the curl multi and closes every libuv handle. The client is freed after the loop
 * has run the close callbacks; `cb` (optional) runs just before that. Requests started
 * after this call complete with SZ_ECANCELLED. The caller must keep running the loop
 * (uv_run) until `cb` has run. Calling it twice is a no-op. */
void net_client_close(struct net_client *client, net_close_fn *cb, void *data);

/* Counters for tests and benchmarks. */
struct net_stats {
    unsigned inflight;      /* requests whose transfer is on the wire (includes paused) */
    unsigned queued;        /* started requests waiting for a concurrency slot */
    unsigned waiting_retry; /* requests sleeping before their next attempt */
    unsigned pending_done;  /* finished requests whose done callback has not run yet */
    uint64_t started;       /* net_req_start calls */
    uint64_t attempts;      /* transfers begun (first attempts and retries) */
    uint64_t retries;       /* retries scheduled */
    uint64_t redirects;     /* redirects followed */
    uint64_t succeeded;     /* done callbacks with err == 0 */
    uint64_t failed;        /* done callbacks with err != 0 (cancellations included) */
};

void net_client_stats(const struct net_client *client, struct net_stats *pstats);
unsigned net_client_inflight(const struct net_client *client);
unsigned net_client_queued(const struct net_client *client);

/* Injects the random source used for backoff jitter (a value in [0, 1)). Tests use it
 * to make delays exact; NULL restores the default PRNG. */
typedef double net_random_fn(void *data);
void net_client_set_random(struct net_client *client, net_random_fn *fn, void *data);

/* ------------------------------------------------------------------------------------
 * Requests: building (the caller owns the request until net_req_start) */

/* Creates a request for `method` ("GET", "POST", "DELETE", ...) and an absolute http
 * or https `url` (copied; no whitespace, control characters or fragment; escape user
 * input with net_req_add_query). Returns 0 and sets *preq, or SZ_EINVAL/SZ_ENOMEM. */
int net_req_new(struct net_client *client, const char *method, const char *url,
                struct net_req **preq);

/* For a provider, whose requests are a base URL and a path: */

/* A copy of the base URL url without its trailing '/'s ("https://host/v1/" and
 * "https://host/v1" build the same URLs), checked to be one net_req_new accepts, so a
 * bad base URL fails when the provider starts rather than in every call. 0 and *pbase
 * (the caller frees it), SZ_EINVAL or SZ_ENOMEM. */
int net_base_url(const char *url, char **pbase);

/* net_req_new for base (from net_base_url) followed by path, which must start with
 * '/' and hold no space, CR, LF or '#' (SZ_EINVAL). Both borrowed. */
int net_req_new_at(struct net_client *client, const char *method, const char *base,
                   const char *path, struct net_req **preq);

/* "<prefix><value>" as a new header line for net_req_add_secret_header (the caller
 * frees it), or NULL when value is NULL or "". 0, SZ_EINVAL (value holds CR or LF:
 * it would split the header) or SZ_ENOMEM. */
int net_header_line(const char *prefix, const char *value, char **pline);

/* Origin of an http(s) URL: display form "scheme://host[:port]" and comparison key
 * "scheme://host:port" (lowercase, default port filled in), each for the caller to
 * free. Either out pointer may be NULL. 0, SZ_EINVAL (not an http(s) URL) or
 * SZ_ENOMEM. */
int net_url_origin(const char *url, char **pdisplay, char **pkey);

/* Frees a request that was never started. Do not call after net_req_start. */
void net_req_free(struct net_req *req);

/* Appends "name=value" to the query string, both percent-encoded by libcurl (RFC 3986
 * unreserved characters kept). Copies both. 0, SZ_EINVAL or SZ_ENOMEM. */
int net_req_add_query(struct net_req *req, const char *name, const char *value);

/* Adds a request header line "Name: value" (copied). Overrides a default header of
 * the same name (e.g. "Accept: application/octet-stream"). Sent to every host the
 * request is redirected to. 0, SZ_EINVAL (no name, CR/LF), SZ_ENOMEM. */
int net_req_add_header(struct net_req *req, const char *line);

/* Adds a credential header line "Name: value" (copied) that stays home: it is sent
 * only while the URL being fetched has the origin (scheme, host, port) of the
 * request URL, and dropped on a redirect to any other origin. 0, SZ_EINVAL, SZ_ENOMEM. */
int net_req_add_secret_header(struct net_req *req, const char *line);

/* Sets a JSON body (Content-Type: application/json). Takes ownership of `body` (a
 * reference is stolen even on failure). Serialised once, resent as is on retries.
 * Not combinable with multipart. 0, SZ_EINVAL, SZ_ENOMEM. */
int net_req_set_json_new(struct net_req *req, json_t *body);

/* Sets a JSON body that is already serialised (Content-Type: application/json):
 * for bodies of megabytes, built and serialised on the thread pool so the loop
 * never runs json_dumps over them. TAKES OWNERSHIP of text (malloc'd, len bytes;
 * freed with the request, or at once on failure). Not combinable with multipart.
 * 0, SZ_EINVAL, SZ_ENOMEM. */
int net_req_set_json_text(struct net_req *req, char *text, size_t len);

/* Multipart/form-data body, described here and turned into a curl_mime on every
 * attempt (so retries resend it). Parts are sent in the order added; a name may
 * repeat (e.g. "image[]"). Each returns 0, SZ_EINVAL (JSON body already set, NULL
 * name, CR/LF in a filename or type) or SZ_ENOMEM.
 *
 * add_field copies name and value.
 * add_file (small in-memory parts) copies name, filename and mime_type and TAKES
 * OWNERSHIP of `bytes` (a malloc'd buffer of `len` bytes), freeing it with the
 * request, or at once on failure.
 * add_file_fd streams `size` bytes of the open regular file `fd` from offset 0
 * (copies the strings). The fd is BORROWED: keep it open until the done callback has
 * run (or the request is freed unstarted); its file position is never used. The file
 * is read in small chunks on libuv's thread pool while the upload pauses, never
 * whole; a retry reads it again from the start. A file shorter than `size` fails the
 * request (SZ_EIO, no retry). */
int net_req_add_field(struct net_req *req, const char *name, const char *value);
int net_req_add_file(struct net_req *req, const char *name, const char *filename,
                     const char *mime_type, void *bytes, size_t len);
int net_req_add_file_fd(struct net_req *req, const char *name, const char *filename,
                        const char *mime_type, uv_file fd, uint64_t size);

/* Streams a 2xx response body into `sink` (copied) instead of buffering it. Error
 * bodies are still buffered and parsed for the message. Automatic decompression is
 * never enabled for sink requests, and they go over HTTP/1.1 (see above). Once the
 * sink has seen on_headers the request is never retried: a later failure is reported
 * instead. The stall clock stops while the sink is paused; the whole-request timeout
 * does not. */
void net_req_set_sink(struct net_req *req, const struct net_sink *sink);

/* Buffered 2xx bodies above max_bytes fail with SZ_ETOOBIG (default 64 MiB). */
void net_req_set_max_body(struct net_req *req, size_t max_bytes);

/* Buffered 2xx bodies are handed over raw (res->body) without JSON parsing. */
void net_req_set_raw(struct net_req *req);

/* Per-request overrides of the client's timeouts (ms; 0 disables, -1 keeps the
 * default). request = whole request; stall = no byte received for that long. The
 * stall clock runs from the start of each attempt for sink requests and from the
 * first response byte for buffered ones; it stops while the sink is paused. */
void net_req_set_timeouts(struct net_req *req, long request_timeout_ms, long stall_timeout_ms);

/* Per-request first-byte limit (ms; 0 disables, -1 keeps the client's default for the
 * request's kind): the response's first header must arrive this long after the last
 * request byte was sent (upload progress restarts the clock). For requests that
 * legitimately think for minutes before answering. */
void net_req_set_first_byte_timeout(struct net_req *req, long first_byte_timeout_ms);

/* Overrides the client's max_retries for this request (0 = never retry). */
void net_req_set_max_retries(struct net_req *req, int max_retries);

/* A short label used in log lines (e.g. the MCP call id or tool name); copied. */
int net_req_set_label(struct net_req *req, const char *label);

/* The service this request talks to (borrowed; see struct net_service). */
void net_req_set_service(struct net_req *req, const struct net_service *service);

/* Fails the request before it starts: net_req_start then reports err (negative) and
 * message (copied) through the done callback, without any network traffic. For a
 * provider that knows up front that a request cannot succeed (no API key), so its
 * callers keep one completion path. 0, SZ_EINVAL or SZ_ENOMEM. */
int net_req_set_failure(struct net_req *req, int err, const char *message);

/* ------------------------------------------------------------------------------------
 * Requests: running */

/* Starts the request; the client owns it from now on. Returns 0, and every outcome,
 * including a client that is closing, is then reported once through `done` (never
 * before this function has returned). Returns SZ_EINVAL only for misuse (done ==
 * NULL, request already started); the caller then still owns the request. */
int net_req_start(struct net_req *req, net_done_fn *done, void *data);

/* Cancels a started request in any state (queued, in flight, paused, waiting for a
 * retry, finished but not yet reported). Its done callback then runs once, later,
 * with SZ_ECANCELLED; the transfer stops at once (its easy handle is removed from the
 * multi, or aborted at the next curl callback when called from inside a sink
 * callback). Idempotent until the done callback has run; invalid after it. */
void net_req_cancel(struct net_req *req);

/* Resumes a sink that returned NET_SINK_PAUSE. Safe at any time: a no-op when not
 * paused; when called from inside on_data it cancels the pause that call returns.
 * The transfer continues from the loop shortly after (never inside this call). */
void net_req_resume(struct net_req *req);

/* Response header of the final response (case-insensitive name; value trimmed), or
 * NULL. Borrowed: valid until the next header block or the end of the done callback.
 * Usable from on_headers, on_data and the done callback. */
const char *net_req_header(const struct net_req *req, const char *name);

/* Body bytes the sink has received so far (for progress reports). */
uint64_t net_req_received(const struct net_req *req);

/* ------------------------------------------------------------------------------------
 * Helpers (pure; any thread) */

/* Writes at most max_chars printable characters of `in` to buf (control characters
 * and whitespace runs folded to one space, trimmed; invalid UTF-8 bytes dropped; "..."
 * appended when cut). buf must hold max_chars * 4 + 4 bytes or is truncated. For
 * untrusted text (error bodies) on its way to a user or a log. */
void net_summarize(const char *in, size_t len, size_t max_chars, char *buf, size_t buflen);

/* 1 when id is an upstream object id safe to put in a URL path: 1 to 128 of
 * [A-Za-z0-9_-]; 0 otherwise (NULL included). */
int net_check_id(const char *id);

/* Copies an error code or type from an untrusted body into dst (dstlen > 0: always
 * NUL-terminated, truncated), keeping only [A-Za-z0-9_.-]. src may be NULL (""). */
void net_copy_code(const char *src, char *dst, size_t dstlen);

/* An API's error, as a provider read it from its own error shape. Borrowed. */
struct net_api_error {
    const char *name;    /* the service ("OpenAI"): "<name> API error <status> ..." */
    long status;         /* the HTTP status */
    const char *body;    /* the whole body (may be NULL), summarised when message is */
    size_t len;          /*   missing or prints as nothing */
    const char *code;    /* the service's code, already through net_copy_code, or NULL */
    const char *message; /* the service's message (untrusted; summarised), or NULL */
    const char *suffix;  /* appended to a sentence that has a code or a text, or NULL */
};

/* The one sentence for a user about e, into buf (always NUL-terminated when buflen >
 * 0): "<name> API error <status> (<code>): <message><suffix>", without the parts it
 * lacks, or "... with an empty response body" / "... with an unreadable response
 * body" when there is neither a code nor a text. */
void net_api_error_sentence(const struct net_api_error *e, char *buf, size_t buflen);

#endif
