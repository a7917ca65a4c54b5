/* Asynchronous OpenAI REST client: libcurl's multi interface driven by the libuv loop.
 *
 * One client per process owns one curl multi handle (so connections, TLS sessions and
 * HTTP/2 streams are reused), one uv_timer for curl's timeouts and one uv_poll per
 * socket curl asks us to watch. A request is an object the caller fills (method, path,
 * query, headers, a JSON or multipart body, optionally a sink for streaming the
 * response) and then starts; from then on the client owns it until its done callback
 * has returned.
 *
 * Retries follow the official OpenAI SDKs (see oai_retry_decide in retry.h); at most
 * max_concurrency requests are on the wire at once and the rest wait in FIFO order.
 *
 * Wire details: every request sends "Authorization: Bearer <key>", "User-Agent:
 * sanzaru/<SZ_VERSION>", "OpenAI-Organization"/"OpenAI-Project" when configured,
 * "Accept: application/json" (sinks accept any type), no "Expect: 100-continue".
 * Buffered requests ask for compressed bodies and use HTTP/2 where the server offers
 * it (multiplexed on one connection; PIPEWAIT over https); sink downloads use
 * HTTP/1.1 without compression so that pausing really stops the bytes. Redirects are
 * followed (at most 5; libcurl does not forward Authorization to another host).
 * The process should ignore SIGPIPE (libcurl uses MSG_NOSIGNAL, libuv does not).
 *
 * THREAD: every function here must be called on the loop thread, and every callback
 * runs there.
 *
 * RE-ENTRANCY: no callback (done, on_headers, on_data, close) ever runs inside an
 * oai_* call. A done callback runs from a loop callback (a socket event, a timer, or
 * the client's "deferred work" timer), so it may freely start, cancel or resume other
 * requests and may even close the client.
 *
 * COMPLETION: every started request gets exactly one done callback, whatever happens
 * (success, HTTP error, network error, timeout, cancellation, client closing). The
 * request is freed right after its done callback returns; the caller must forget the
 * pointer there. */
#ifndef SZ_OPENAI_CLIENT_H
#define SZ_OPENAI_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <uv.h>

#include "openai/retry.h"

struct sz_config;
struct oai_client;
struct oai_req;

/* ------------------------------------------------------------------------------------
 * Results */

/* What a done callback is told. Everything is borrowed and valid only during the
 * callback (json_incref the body to keep it). */
struct oai_result {
    /* 0 on success (a 2xx response); otherwise a negative code:
     *   SZ_ENOKEY     no API key configured (no network traffic happened)
     *   SZ_EUPSTREAM  the API answered with a non-2xx status (after any retries)
     *   SZ_ETIMEOUT   connect, whole-request or stall timeout
     *   SZ_EIO        connection failed or broke (refused, reset, DNS, TLS, truncated)
     *   SZ_ECANCELLED oai_req_cancel or oai_client_close
     *   SZ_ETOOBIG    the buffered body exceeded its limit (oai_req_set_max_body)
     *   SZ_EPROTO     a 2xx body that is not valid JSON (buffered, non-raw requests)
     *   SZ_ENOMEM     allocation failure
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
    const char *api_code; /* OpenAI's error.code (else error.type) on an API error, or NULL */
    int retries;          /* retries performed (attempts - 1) */
};

/* Called exactly once per started request, on the loop thread, never from inside an
 * oai_* call. `req` is still valid here (oai_req_header works) and is freed when the
 * callback returns. */
typedef void oai_done_fn(struct oai_req *req, const struct oai_result *res, void *data);

/* ------------------------------------------------------------------------------------
 * Sinks: streaming a 2xx response body to the caller instead of buffering it */

/* on_data return values (besides 0 = keep going and negative = abort with that code). */
#define OAI_SINK_PAUSE 1

struct oai_sink {
    /* Called once, before the first body byte, when the final response is 2xx.
     * content_length is -1 when unknown; content_type may be NULL. Return 0 to go on
     * or a negative code to abort the request with that code (no retry). Optional. */
    int (*on_headers)(struct oai_req *req, long status, int64_t content_length,
                      const char *content_type, void *data);
    /* Body bytes, in order. The callee always takes all `len` bytes (copy them if they
     * must outlive the call). Return 0 for more, OAI_SINK_PAUSE to receive nothing
     * more until oai_req_resume(req), or a negative code to abort (no retry). */
    int (*on_data)(struct oai_req *req, const char *buf, size_t len, void *data);
    void *data;
};

/* ------------------------------------------------------------------------------------
 * Client */

/* Counters for tests and benchmarks. */
struct oai_stats {
    unsigned inflight;      /* requests whose transfer is on the wire (includes paused) */
    unsigned queued;        /* started requests waiting for a concurrency slot */
    unsigned waiting_retry; /* requests sleeping before their next attempt */
    unsigned pending_done;  /* finished requests whose done callback has not run yet */
    uint64_t started;       /* oai_req_start calls */
    uint64_t attempts;      /* transfers begun (first attempts and retries) */
    uint64_t retries;       /* retries scheduled */
    uint64_t succeeded;     /* done callbacks with err == 0 */
    uint64_t failed;        /* done callbacks with err != 0 (cancellations included) */
};

/* Creates a client on `loop` from cfg (base_url, api_key, org_id, project_id,
 * max_retries, max_concurrency, connect/request/stall timeouts). The strings are
 * copied; cfg may be freed afterwards. An unset api_key is allowed: every request then
 * completes with SZ_ENOKEY. Calls curl_global_init (reference counted by libcurl).
 * Returns 0 and sets *pclient, or SZ_ENOMEM / SZ_EINVAL (no base_url, bad limits). */
int oai_client_new(uv_loop_t *loop, const struct sz_config *cfg, struct oai_client **pclient);

typedef void oai_close_fn(struct oai_client *client, void *data);

/* Cancels every request (each gets its done callback with SZ_ECANCELLED), tears down
 * the curl multi and closes every libuv handle. The client is freed after the loop
 * has run the close callbacks; `cb` (optional) runs just before that. Requests started
 * after this call complete with SZ_ECANCELLED. The caller must keep running the loop
 * (uv_run) until `cb` has run. Calling it twice is a no-op. */
void oai_client_close(struct oai_client *client, oai_close_fn *cb, void *data);

void oai_client_stats(const struct oai_client *client, struct oai_stats *pstats);
unsigned oai_client_inflight(const struct oai_client *client);
unsigned oai_client_queued(const struct oai_client *client);

/* Injects the random source used for backoff jitter (a value in [0, 1)). Tests use it
 * to make delays exact; NULL restores the default PRNG. */
typedef double oai_random_fn(void *data);
void oai_client_set_random(struct oai_client *client, oai_random_fn *fn, void *data);

/* ------------------------------------------------------------------------------------
 * Requests */

/* Creates a request for `method` ("GET", "POST", "DELETE", ...) and `path`, which must
 * start with '/' and is appended to base_url as given (it may carry a query string,
 * e.g. "/videos/abc/content?variant=video"; escape user input with oai_req_add_query
 * and check ids with oai_check_id). Returns 0 and sets *preq, or SZ_EINVAL/SZ_ENOMEM.
 * The caller owns the request until oai_req_start (oai_req_free drops it unstarted). */
int oai_req_new(struct oai_client *client, const char *method, const char *path,
                struct oai_req **preq);

/* Frees a request that was never started. Do not call after oai_req_start. */
void oai_req_free(struct oai_req *req);

/* Appends "name=value" to the query string, both URL-escaped (RFC 3986 unreserved
 * characters kept). Copies both. 0 or SZ_ENOMEM. */
int oai_req_add_query(struct oai_req *req, const char *name, const char *value);

/* Adds a raw request header line "Name: value" (copied). Overrides a default header
 * of the same name (e.g. "Accept: application/octet-stream"). 0, SZ_EINVAL, SZ_ENOMEM. */
int oai_req_add_header(struct oai_req *req, const char *line);

/* Sets a JSON body (Content-Type: application/json). Takes ownership of `body` (a
 * reference is stolen even on failure). Serialised once, resent as is on retries.
 * Not combinable with multipart. 0, SZ_EINVAL, SZ_ENOMEM. */
int oai_req_set_json_new(struct oai_req *req, json_t *body);

/* Sets a JSON body that is already serialised (Content-Type: application/json):
 * for bodies of megabytes, built and serialised on the thread pool so the loop
 * never runs json_dumps over them. TAKES OWNERSHIP of text (malloc'd, len bytes;
 * freed with the request, or at once on failure). Not combinable with multipart.
 * 0, SZ_EINVAL, SZ_ENOMEM. */
int oai_req_set_json_text(struct oai_req *req, char *text, size_t len);

/* Multipart/form-data body, described here and turned into a curl_mime on every
 * attempt (so retries resend it). Parts are sent in the order added; a name may
 * repeat (e.g. "image[]").
 * add_field copies name and value.
 * add_file copies name, filename and mime_type and TAKES OWNERSHIP of `bytes` (a
 * malloc'd buffer of `len` bytes), freeing it with the request, or at once on failure.
 * Both return 0, SZ_EINVAL (JSON body already set, NULL name) or SZ_ENOMEM. */
int oai_req_add_field(struct oai_req *req, const char *name, const char *value);
int oai_req_add_file(struct oai_req *req, const char *name, const char *filename,
                     const char *mime_type, void *bytes, size_t len);

/* Streams a 2xx response body into `sink` (copied) instead of buffering it. Error
 * bodies are still buffered and parsed for the message. Automatic decompression is
 * never enabled for sink requests, and they go over HTTP/1.1 (see above). Once the
 * sink has seen on_headers the request is never retried: a later failure is reported
 * instead. The stall clock stops while the sink is paused; the whole-request timeout
 * does not. */
void oai_req_set_sink(struct oai_req *req, const struct oai_sink *sink);

/* Buffered 2xx bodies above max_bytes fail with SZ_ETOOBIG (default 64 MiB). */
void oai_req_set_max_body(struct oai_req *req, size_t max_bytes);

/* Buffered 2xx bodies are handed over raw (res->body) without JSON parsing. */
void oai_req_set_raw(struct oai_req *req);

/* Per-request overrides of the client's timeouts (ms; 0 disables, -1 keeps the
 * default). request = whole attempt (CURLOPT_TIMEOUT_MS); stall = no byte received for
 * that long. The stall clock runs from the start of each attempt for sink requests and
 * from the first response byte for buffered ones (a server may think for minutes before
 * answering, e.g. image generation); it stops while the sink is paused. */
void oai_req_set_timeouts(struct oai_req *req, long request_timeout_ms, long stall_timeout_ms);

/* Overrides the client's max_retries for this request (0 = never retry). */
void oai_req_set_max_retries(struct oai_req *req, int max_retries);

/* A short label used in log lines (e.g. the MCP call id or tool name); copied. */
int oai_req_set_label(struct oai_req *req, const char *label);

/* Starts the request; the client owns it from now on. Returns 0, and every outcome,
 * including a missing API key or a client that is closing, is then reported once
 * through `done` (never before this function has returned). Returns SZ_EINVAL only
 * for misuse (done == NULL, request already started); the caller then still owns
 * the request. */
int oai_req_start(struct oai_req *req, oai_done_fn *done, void *data);

/* Cancels a started request in any state (queued, in flight, paused, waiting for a
 * retry, finished but not yet reported). Its done callback then runs once, later,
 * with SZ_ECANCELLED; the transfer stops at once (its easy handle is removed from the
 * multi, or aborted at the next curl callback when called from inside a sink
 * callback). Idempotent until the done callback has run; invalid after it. */
void oai_req_cancel(struct oai_req *req);

/* Resumes a sink that returned OAI_SINK_PAUSE. Safe at any time: a no-op when not
 * paused; when called from inside on_data it cancels the pause that call returns.
 * The transfer continues from the loop shortly after (never inside this call). */
void oai_req_resume(struct oai_req *req);

/* Response header of the final response (case-insensitive name; value trimmed), or
 * NULL. Borrowed: valid until the next header block or the end of the done callback.
 * Usable from on_headers, on_data and the done callback. */
const char *oai_req_header(const struct oai_req *req, const char *name);

/* Body bytes the sink has received so far (for progress reports). */
uint64_t oai_req_received(const struct oai_req *req);

/* ------------------------------------------------------------------------------------
 * Helpers (pure; any thread) */

/* 1 if id matches ^[A-Za-z0-9_-]{1,128}$ (safe inside a URL path segment), else 0. */
int oai_check_id(const char *id);

/* Builds the user-facing sentence for an HTTP error response into buf (always
 * NUL-terminated, truncated to buflen):
 *   JSON {"error":{"message":M,"code":C}} -> "OpenAI API error <status> (<C>): <M>"
 *   (C falls back to error.type; without either: "OpenAI API error <status>: <M>");
 *   any other body -> "OpenAI API error <status>: <summary>" where the summary is the
 *   first ~200 printable characters with control characters and runs of whitespace
 *   folded to single spaces, "..." appended when cut;
 *   an empty body -> "OpenAI API error <status> with an empty response body".
 * If pcode is not NULL it receives the code/type (or "") truncated to codelen. */
void oai_error_message(long status, const char *body, size_t len, char *buf, size_t buflen,
                       char *pcode, size_t codelen);

/* Writes at most max_chars printable characters of `in` to buf (control characters
 * and whitespace runs folded to one space, trimmed; invalid UTF-8 bytes dropped; "..."
 * appended when cut). buf must hold max_chars * 4 + 4 bytes or is truncated. */
void oai_summarize(const char *in, size_t len, size_t max_chars, char *buf, size_t buflen);

#endif
