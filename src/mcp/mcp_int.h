/* Internals shared by the engine's source files: the registry (server.c), the
 * message loop and sessions (session.c), the two protocol eras (era.c),
 * calls and server-to-client requests (call.c), questions to the client and
 * multi round-trip requests (ask.c), sealed request state (state.c), the
 * method handlers (methods.c), the argument tables (args.c) and the result
 * tables (fields.c).
 *
 * Ownership in brief: the server holds its open sessions in a list; a session
 * holds its calls and its pending server-to-client requests in lists; a call
 * and a pending request each hold a reference on their session, so a session
 * is freed only when the transport closed it and nothing of it remains. Calls
 * are freed by the finish functions (call.c).
 *
 * Thread: the loop thread only. */
#ifndef SZ_MCP_INT_H
#define SZ_MCP_INT_H

#include <regex.h>
#include <stdarg.h>

#include "core/list.h"
#include "mcp/server.h"

#define MCP_DEFAULT_PAGE_SIZE 100

/* The _meta keys of MCP 2026-07-28 (basic/index.mdx, "Per-request protocol fields"). */
#define MCP_META_VERSION      "io.modelcontextprotocol/protocolVersion"
#define MCP_META_CAPABILITIES "io.modelcontextprotocol/clientCapabilities"
#define MCP_META_CLIENT_INFO  "io.modelcontextprotocol/clientInfo"
#define MCP_META_LOG_LEVEL    "io.modelcontextprotocol/logLevel"
#define MCP_META_SERVER_INFO  "io.modelcontextprotocol/serverInfo"
#define MCP_META_SUBSCRIPTION "io.modelcontextprotocol/subscriptionId"

/* No log notification passes this threshold (a modern request without logLevel). */
#define MCP_LOG_OFF 1000

/* How a result may be cached (2026-07-28 CacheableResult; see era.c for the values). */
enum mcp_cache {
    MCP_CACHE_NONE,    /* not a cacheable result */
    MCP_CACHE_STATIC,  /* the same for every caller until the binary changes */
    MCP_CACHE_PRIVATE, /* the user's media: changes whenever a tool writes a file */
};

/* The era and envelope of the request being served: set by the message loop
 * for each request (session->cur) and copied into the calls it starts. */
struct mcp_req_ctx {
    bool modern;             /* served by the 2026-07-28 rules, statelessly */
    json_t *caps;            /* modern: the request's clientCapabilities (a reference) */
    int log_threshold;       /* index into mcp_levels, or MCP_LOG_OFF */
    json_t *input_responses; /* modern retry: params.inputResponses (a reference), or NULL */
    json_t *state;           /* modern retry: the verified requestState payload, or NULL */
};

/* What the engine compiled from one argument row at registration. */
struct mcp_arg_info {
    int def_index; /* MCP_ARG_ENUM with a default: the default's index, else -1 */
    bool has_re;
    regex_t re; /* the row's pattern, compiled once */
};

struct mcp_tool_entry {
    const struct mcp_tool *tool;
    json_t *input_schema;      /* built from the argument table for the server's policy */
    json_t *output_schema;     /* built from tool->output, or NULL */
    struct mcp_arg_info *info; /* one per argument row */
};

struct mcp_server {
    uv_loop_t *loop;
    char *name;
    char *version;
    char *instructions;
    struct mcp_tool_entry *tools;
    size_t ntools;
    const struct mcp_resource_provider **resources;
    size_t nresources;
    const struct mcp_prompt **prompts;
    size_t nprompts;
    size_t page_size;
    unsigned arg_policy;         /* MCP_ARGS_* */
    unsigned list_changed;       /* MCP_LIST_* the server announces */
    struct sz_link sessions;     /* every open session, for resource updates */
    unsigned char state_key[32]; /* HMAC-SHA-256 key of requestState (state.c) */
    uint64_t state_ttl_ms;
    json_t *server_info; /* {name, title, version}, for every modern result's _meta */
    char *modern_tail;   /* mcp_era_tail: the end of every modern tool result */
};

enum mcp_call_kind {
    MCP_CALL_TOOL,
    MCP_CALL_RESOURCES_LIST,
    MCP_CALL_RESOURCE_READ,
    MCP_CALL_PROMPT_GET,
    MCP_CALL_COMPLETE,
    MCP_CALL_LISTEN, /* subscriptions/listen: lives until cancelled or the session ends */
};

struct mcp_call {
    struct sz_link link; /* in session->calls */
    struct mcp_session *session;
    enum mcp_call_kind kind;
    json_t *id;             /* the client's request id */
    json_t *progress_token; /* NULL when the client asked for no progress */
    json_t *args;           /* tool or prompt arguments */
    void *parsed;           /* a tool's parsed arguments (tool->args_size bytes), or NULL */
    char *name;
    char *uri;
    const struct mcp_tool_entry *tool;
    mcp_cancel_fn *cancel_fn;
    void *cancel_data;
    void *data;
    bool cancelled;
    bool finished;  /* replied (or dropped); the struct lingers while held */
    unsigned holds; /* engine frames still using the struct */
    bool have_progress;
    double last_progress;
    uint64_t last_progress_ms;
    json_t *extra_content;
    struct mcp_req_ctx rc; /* the request's era and envelope */
    char *method;          /* the request's method */
    json_t *params;        /* the request's params (modern: bound into requestState) */
    /* resources/list gathers every provider's items before paging them. */
    size_t provider_index;
    size_t list_offset;
    json_t *list_items;
};

struct mcp_pending {
    struct sz_link link; /* in session->pending */
    struct mcp_session *session;
    struct mcp_call *call;
    json_int_t id;
    mcp_response_fn *fn;
    void *data;
    uv_timer_t timer;
};

struct mcp_session {
    struct sz_link link; /* in server->sessions while open */
    struct mcp_server *server;
    mcp_send_fn *send;
    void *ctx;
    bool initialized;
    bool stateless;
    bool modern_only;      /* every request is modern (mcp_session_set_modern_only) */
    bool envelope_refused; /* the last message was refused for its _meta envelope */
    bool closing;
    char protocol_version[16];
    json_t *client_capabilities;
    json_t *subscriptions;  /* resources/subscribe URIs, as object keys */
    int log_threshold;      /* index into mcp_levels */
    struct mcp_req_ctx cur; /* the request being dispatched right now */
    const char *cur_method; /* its method (borrowed while it is dispatched) */
    struct sz_link calls;
    size_t ncalls;
    size_t nlisten; /* of which subscriptions/listen (no work in flight) */
    struct sz_link pending;
    json_int_t next_request_id;
    unsigned refs;
    mcp_session_idle_fn *on_idle;
};

/* ---- server.c ---- */

/* The legacy revisions (initialize), newest first. */
extern const char *const mcp_supported_versions[];
extern const size_t mcp_nsupported_versions;
/* The modern revisions (per-request _meta), newest first. */
extern const char *const mcp_modern_versions[];
extern const size_t mcp_nmodern_versions;
/* MCP's syslog-style levels, lowest first. */
extern const char *const mcp_levels[];
extern const size_t mcp_nlevels;

char *mcp_strdup(const char *s); /* aborts when a few bytes cannot be had */
const struct mcp_tool_entry *mcp_find_tool(const struct mcp_server *server, const char *name);
/* The capabilities object of initialize and server/discover (new reference). */
json_t *mcp_server_capabilities(const struct mcp_server *server);
/* The tools/list item of a tool (new reference). */
json_t *mcp_tool_listing(const struct mcp_tool_entry *e);

/* ---- session.c: sending ---- */

/* Each steals msg/result/params. related_id is borrowed. */
void mcp_send_json(struct mcp_session *s, json_t *msg, const json_t *related_id, bool final);
/* Sends text already serialised (borrowed). */
void mcp_send_text(struct mcp_session *s, const char *text, size_t len, const json_t *related_id,
                   bool final);
void mcp_send_result(struct mcp_session *s, const json_t *id, json_t *result);
/* Sends result (stolen) for the request being dispatched (s->cur): modern
 * results get resultType, serverInfo and, per cache, ttlMs/cacheScope. */
void mcp_reply(struct mcp_session *s, const json_t *id, json_t *result, enum mcp_cache cache);
/* An error with data (stolen, may be NULL). */
void mcp_send_error_data(struct mcp_session *s, const json_t *id, int code, const char *message,
                         json_t *data);
void mcp_send_error(struct mcp_session *s, const json_t *id, int code, const char *message);
void mcp_send_errorf(struct mcp_session *s, const json_t *id, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void mcp_send_notification(struct mcp_session *s, const char *method, json_t *params,
                           const json_t *related_id);
/* notifications/message when level passes threshold (an index into mcp_levels). */
void mcp_vlog_to_client(struct mcp_session *s, const json_t *related_id, int threshold,
                        enum sz_log_level level, const char *logger, const char *fmt, va_list ap)
    __attribute__((format(printf, 6, 0)));

void mcp_session_unref(struct mcp_session *s);
/* Runs on_idle once the session is closing and nothing is in flight. */
void mcp_session_maybe_idle(struct mcp_session *s);

/* ---- era.c ---- */

/* Reads the era of a request: fills *rc (references taken; release with
 * mcp_req_ctx_clear). Returns 0 when it may be served, or sends the error
 * (missing or malformed _meta: -32602; unsupported version: -32022; a bad
 * requestState: -32602) and returns SZ_EINVAL. */
int mcp_era_classify(struct mcp_session *s, const char *method, const json_t *id,
                     const json_t *params, struct mcp_req_ctx *rc);
void mcp_req_ctx_copy(struct mcp_req_ctx *dst, const struct mcp_req_ctx *src);
void mcp_req_ctx_clear(struct mcp_req_ctx *rc);
/* Adds resultType, _meta serverInfo and the cache hints of cache to a modern
 * result (in place). */
void mcp_era_decorate(const struct mcp_server *server, json_t *result, enum mcp_cache cache);
/* The JSON text (after a leading comma) that a modern tool result ends with:
 * ,"resultType":"complete","_meta":{...}. malloc'd; NULL when out of memory. */
char *mcp_era_tail(const struct mcp_server *server);
/* True when the client of this request declared capability name. */
bool mcp_ctx_supports(const struct mcp_session *s, const struct mcp_req_ctx *rc, const char *name);
/* server/discover and subscriptions/listen. */
void mcp_handle_discover(struct mcp_session *s, const json_t *id, json_t *params);
void mcp_handle_listen(struct mcp_session *s, const json_t *id, json_t *params);
/* Finishes every subscriptions/listen call of s with its graceful result. */
void mcp_listen_end_all(struct mcp_session *s);
/* Sends notification method (params stolen) to every listen call whose filter
 * takes it: key is the filter field ("resourcesListChanged", ...); uri, when
 * not NULL, must be among its resourceSubscriptions instead. */
void mcp_listen_broadcast(struct mcp_server *server, const char *key, const char *uri,
                          const char *method, json_t *params);

/* ---- state.c ---- */

/* Seals payload (borrowed) for call into an opaque, integrity-protected
 * string (malloc'd): HMAC-SHA-256 over the payload, the method, the name and
 * arguments of the call, and an expiry. NULL when out of memory. */
char *mcp_state_seal(const struct mcp_server *server, const char *method, const json_t *params,
                     const json_t *payload);
/* Opens a sealed string presented with method/params: 0 and *ppayload (new
 * reference), or SZ_EINVAL with a sentence in why (tampered, expired, for
 * another request, malformed). */
int mcp_state_open(const struct mcp_server *server, const char *method, const json_t *params,
                   const char *sealed, json_t **ppayload, char *why, size_t whylen);

/* ---- call.c ---- */

/* A new call for request id of session s (params borrowed, for _meta), with
 * extra bytes of zeroed storage for parsed arguments at call->parsed. */
struct mcp_call *mcp_call_new(struct mcp_session *s, enum mcp_call_kind kind, const json_t *id,
                              const json_t *params, size_t extra);
struct mcp_call *mcp_call_find(struct mcp_session *s, const json_t *id);
/* Marks the call cancelled and tells its handler. */
void mcp_call_cancel(struct mcp_call *call);
/* Resolves p with the answer (borrowed), or as unanswered; runs fn unless quiet. */
void mcp_pending_resolve(struct mcp_pending *p, const json_t *result, const json_t *error,
                         bool quiet);
/* Frees a call that never started (nothing is sent). */
void mcp_call_discard(struct mcp_call *call);
/* Sends result (stolen) unless the call was cancelled, then frees the call.
 * A modern result is decorated (resultType, serverInfo, cache hints). */
void mcp_call_reply(struct mcp_call *call, json_t *result);
/* Like mcp_call_reply, without decoration (an InputRequiredResult, a listen's end). */
void mcp_call_reply_raw(struct mcp_call *call, json_t *result);

/* ---- methods.c ---- */

/* Serves request method with id (borrowed) and params (borrowed object). */
void mcp_methods_dispatch(struct mcp_session *s, const char *method, const json_t *id,
                          json_t *params);
/* Continues resources/list with the next provider, or replies. */
void mcp_resources_list_next(struct mcp_call *call);

/* ---- args.c ---- */

/* Compiles e->tool's argument table: checks every row, compiles patterns and
 * enum defaults into e->info. 0, or SZ_EINVAL after logging why. */
int mcp_args_compile(struct mcp_tool_entry *e);
void mcp_args_free(struct mcp_tool_entry *e);
/* The inputSchema of e for policy (MCP_ARGS_*) (new reference). */
json_t *mcp_args_schema(const struct mcp_tool_entry *e, unsigned policy);
/* A JSON array of the strings of a NULL-terminated list (new reference). */
json_t *mcp_string_list(const char *const *values);
/* "a string", "an integer", "null", ...: what v is, for messages. */
const char *mcp_value_kind(const json_t *v);
/* Validates *pargs (an object; the caller owns the reference) against e's
 * table under policy (MCP_ARGS_*) and fills out (tool->args_size zeroed
 * bytes). Strings and objects in out point into *pargs. When a value had to
 * be decoded from JSON text (MCP_ARGS_JSON_TEXT), *pargs is replaced by a
 * shallow copy that holds the decoded values (the old reference released;
 * the caller's message is never modified), so out stays valid for as long as
 * the caller keeps *pargs. Returns 0, or SZ_EINVAL with one sentence naming
 * the argument in msg (nothing to release), or SZ_ENOMEM. */
int mcp_args_parse(const struct mcp_tool_entry *e, json_t **pargs, unsigned policy, void *out,
                   char *msg, size_t msglen);
/* Frees what mcp_args_parse allocated in out (string vectors). */
void mcp_args_release(const struct mcp_tool_entry *e, void *out);

/* ---- fields.c ---- */

/* The outputSchema of a result field (new reference). */
json_t *mcp_field_schema(const struct mcp_field *f);
/* Checks value (borrowed) against f. 0, or SZ_EINVAL with one sentence naming
 * the field by its path in msg ("'data[0].id' must be a string, not an
 * integer"). Fields f does not declare are allowed. */
int mcp_field_check(const struct mcp_field *f, const json_t *value, char *msg, size_t msglen);

#endif
