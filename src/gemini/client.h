/* Google's Gemini API on top of the HTTP client (net/client.h).
 *
 * A gem_client knows where the API is (GEMINI_BASE_URL, default
 * https://generativelanguage.googleapis.com/v1beta) and the API key. gem_req_new
 * turns "GET /interactions/v1_abc" into a net request to <base_url>/interactions/v1_abc
 * that carries the key in "x-goog-api-key" as a secret header (sent to the API's own
 * origin only, never to a host a redirect names, never in a URL), Gemini's name and
 * its error-body sentences. gem_req_new_url does the same for a URL the API handed
 * out (a video file's URI): the key goes along only when that URL is at the API's own
 * origin. Running the request is net's business, as documented in net/client.h.
 *
 * Google answers errors in two shapes, and both read as one sentence here: the API
 * front end's google.rpc.Status ({"error":{"code":429,"message":…,"status":
 * "RESOURCE_EXHAUSTED","details":[…RetryInfo…]}}) and the Interactions service's own
 * ({"error":{"message":…,"code":"invalid_request"}}); see tests/fake-gemini/README.md.
 *
 * The gem_client holds no handle and no request refers to it. THREAD: the loop
 * thread, like net; the helpers at the end are pure (any thread). */
#ifndef SZ_GEMINI_CLIENT_H
#define SZ_GEMINI_CLIENT_H

#include <stddef.h>

#include "net/client.h"

struct gem_client;

/* Filled by the caller (app maps the environment onto it); strings are copied. */
struct gem_options {
    const char *base_url; /* API root with its version, e.g.
                           * "https://generativelanguage.googleapis.com/v1beta"; a trailing
                           * '/' is ignored. Required */
    const char *api_key;  /* NULL or "": every request completes with SZ_ENOKEY and the
                           * sentence "<key_name> is not set", without network traffic */
    const char *key_name; /* the variable the key came from, for that sentence; NULL:
                           * "GEMINI_API_KEY" */
};

/* Creates a client that builds its requests on `net` (borrowed: it must outlive
 * every request started). 0 and *pclient, SZ_EINVAL (no base URL, not an http(s)
 * URL, CR/LF in the key) or SZ_ENOMEM. */
int gem_client_new(struct net_client *net, const struct gem_options *opts,
                   struct gem_client **pclient);

/* Frees the client (requests it built are unaffected). NULL is a no-op. */
void gem_client_free(struct gem_client *client);

/* 1 when the client has a key. */
int gem_client_has_key(const struct gem_client *client);

/* The base URL as configured, without a trailing '/'. Borrowed. */
const char *gem_client_base_url(const struct gem_client *client);

/* A net request for method and path, which must start with '/' and is appended to
 * base_url as given (check ids with gem_check_id first; add query parameters with
 * net_req_add_query). 0 and *preq (the caller's until net_req_start), SZ_EINVAL or
 * SZ_ENOMEM. */
int gem_req_new(struct gem_client *client, const char *method, const char *path,
                struct net_req **preq);

/* A GET of an absolute http(s) url that the API returned (a video's uri). The key
 * is attached (as a secret header) only when url has the origin of base_url, so a
 * URI at a storage host never sees it, and a redirect off the API's origin drops it.
 * 0 and *preq, SZ_EINVAL (not an http(s) URL, whitespace or control characters, a
 * fragment) or SZ_ENOMEM. */
int gem_req_new_url(struct gem_client *client, const char *url, struct net_req **preq);

/* ------------------------------------------------------------------------------------
 * Helpers (pure; any thread) */

/* 1 if id matches ^[A-Za-z0-9_-]{1,128}$ (an interaction id, safe in a URL path
 * segment), else 0. */
int gem_check_id(const char *id);

/* The sentence for a non-2xx response into buf (always NUL-terminated, truncated to
 * buflen), and Google's code (the status name, e.g. "RESOURCE_EXHAUSTED", or the
 * service's code, e.g. "invalid_request"; "" when none) into pcode when not NULL:
 *   google.rpc.Status -> "Gemini API error 429 (RESOURCE_EXHAUSTED): <message> (retry
 *                        after 30s)" — the retry part only with a RetryInfo detail
 *   service error     -> "Gemini API error 400 (invalid_request): <message>"
 *   other bodies      -> "Gemini API error 502: <summary of the body>"
 *   an empty body     -> "Gemini API error 503 with an empty response body" */
void gem_error_message(long status, const char *body, size_t len, char *buf, size_t buflen,
                       char *pcode, size_t codelen);

#endif
