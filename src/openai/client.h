/* The OpenAI REST API on top of the HTTP client (net/client.h).
 *
 * An oai_client knows where the API is and who we are: the base URL, the API key,
 * the organisation and project. oai_req_new turns "POST /videos" into a net request
 * to <base_url>/videos that carries OpenAI's credentials as secret headers (sent to
 * the API's own origin only, never to a host a redirect names), OpenAI's name and
 * error-body sentences ("OpenAI API error 404 (not_found): Video not found"), and the
 * longer first-byte limit of the endpoints that answer only when their work is done
 * (image generation, transcription, audio chat). The audio endpoints' requests are
 * built in audio.h.
 * The caller then fills and starts it with the net_req_* functions; everything about
 * running it (retries, sinks, cancellation, the exactly-once done callback) is
 * net's, as documented in net/client.h.
 *
 * Wire details added here: "Authorization: Bearer <key>", and "OpenAI-Organization"
 * / "OpenAI-Project" when configured.
 *
 * The Azure flavour (OAI_AZURE) is the same API at an Azure OpenAI resource: the
 * base URL is <AZURE_OPENAI_ENDPOINT>/openai/v1 (Azure's v1 API, which serves
 * OpenAI's paths and bodies), the key goes in "api-key", no organisation or project
 * header is sent, and sentences say "Azure OpenAI".
 *
 * The oai_client holds no handle and no request refers to it: it may be freed while
 * requests it built are still running. THREAD: the loop thread, like net. */
#ifndef SZ_OPENAI_CLIENT_H
#define SZ_OPENAI_CLIENT_H

#include <stddef.h>

#include "net/client.h"

struct oai_client;

/* Whose API the client talks to. */
enum oai_flavour {
    OAI_OPENAI = 0, /* OpenAI, or a gateway that speaks its API */
    OAI_AZURE,      /* Azure OpenAI's v1 API */
};

/* Filled by the caller (app.c maps the environment onto it); the strings are copied. */
struct oai_options {
    const char *base_url;   /* API root, e.g. "https://api.openai.com/v1"; a trailing '/'
                             * is ignored. Required */
    const char *api_key;    /* NULL or "": every request completes with SZ_ENOKEY and
                             * oai_strerror's sentence, without network traffic */
    const char *org_id;     /* NULL or "": no OpenAI-Organization header */
    const char *project_id; /* NULL or "": no OpenAI-Project header */
    /* First-byte limit (ms) of the endpoints that answer only once their work is
     * done (minutes): POST /images/generations, /images/edits, /audio/transcriptions
     * and /chat/completions; 0 disables it. Other requests use the net client's
     * limits. */
    long image_first_byte_timeout_ms;
    enum oai_flavour flavour; /* default OAI_OPENAI */
};

/* Creates a client that builds its requests on `net` (borrowed: it must outlive
 * every request started). 0 and *pclient, SZ_EINVAL (no base URL, not an http(s)
 * URL, CR/LF in a header value) or SZ_ENOMEM. */
int oai_client_new(struct net_client *net, const struct oai_options *opts,
                   struct oai_client **pclient);

/* Frees the client (requests it built are unaffected). NULL is a no-op. */
void oai_client_free(struct oai_client *client);

/* 1 when the client has a key (its requests can be sent), else 0. */
int oai_client_has_key(const struct oai_client *client);

/* The flavour, and the base URL without a trailing '/' (borrowed), for messages. */
enum oai_flavour oai_client_flavour(const struct oai_client *client);
const char *oai_client_base_url(const struct oai_client *client);

/* Creates a net request for `method` and `path`, which must start with '/' and is
 * appended to base_url as given (it may carry a query string, e.g.
 * "/videos/abc/content?variant=video"; escape user input with net_req_add_query and
 * check ids with oai_check_id). Returns 0 and sets *preq (owned by the caller until
 * net_req_start; net_req_free drops it unstarted), or SZ_EINVAL/SZ_ENOMEM. */
int oai_req_new(struct oai_client *client, const char *method, const char *path,
                struct net_req **preq);

/* oai_req_new with `body` as its JSON body. Takes ownership of body (NULL reads as
 * SZ_ENOMEM: a json_pack that failed), whatever the outcome. */
int oai_req_new_json(struct oai_client *client, const char *method, const char *path, json_t *body,
                     struct net_req **preq);

/* ------------------------------------------------------------------------------------
 * Helpers (pure; any thread) */

/* OpenAI's sentence for an error code: SZ_ENOKEY is "OPENAI_API_KEY is not set";
 * every other code reads as sz_strerror. Static text, never NULL. */
const char *oai_strerror(int err);

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

/* The same with another service's name in place of "OpenAI" ("Azure OpenAI API
 * error 404 ..."). */
void oai_error_message_as(const char *name, long status, const char *body, size_t len, char *buf,
                          size_t buflen, char *pcode, size_t codelen);

#endif
