/* The MCP protocol engine.
 *
 * A transport (stdio, HTTP, a test harness) creates an mcp_session per client
 * connection and feeds it one JSON-RPC message at a time; the engine answers
 * through the session's send function. The engine speaks both protocol eras
 * on every session, choosing per request: a request whose params._meta carries
 * io.modelcontextprotocol/protocolVersion is served statelessly by the
 * 2026-07-28 rules ("modern"); initialize opens a session of a 2025-11-25 or
 * earlier revision ("legacy") and the requests without that _meta are served
 * by its rules. The engine owns the lifecycle
 * (initialize, initialized, ping, server/discover), dispatch, the parsing and validation of
 * tool arguments from each tool's argument table (table.h), the check of its
 * results against its result table, pagination, progress, logging,
 * cancellation and server-to-client requests. It knows nothing of framing or
 * HTTP.
 *
 * Tools, resource providers and prompts are table rows registered on an
 * mcp_server, which many sessions share. Every request that completes later
 * (tools/call, resources/read, prompts/get, completion/complete, ...) is an
 * mcp_call: an object that lives until it finishes exactly once. A handler
 * starts asynchronous work and returns; when the work completes, on the loop
 * thread, it calls one of the mcp_call_finish* functions, which sends the reply
 * (unless the client cancelled) and frees the call.
 *
 * Thread: everything here runs on the loop thread only. */
#ifndef SZ_MCP_SERVER_H
#define SZ_MCP_SERVER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "core/log.h"
#include "mcp/table.h"

struct mcp_server;
struct mcp_session;
struct mcp_call;

/* JSON-RPC error codes. */
enum {
    MCP_PARSE_ERROR = -32700,
    MCP_INVALID_REQUEST = -32600,
    MCP_METHOD_NOT_FOUND = -32601,
    MCP_INVALID_PARAMS = -32602,
    MCP_INTERNAL_ERROR = -32603,
    MCP_RESOURCE_NOT_FOUND = -32002, /* legacy; the modern era says -32602 with data.uri */
    /* MCP 2026-07-28 (basic/index.mdx, "Error Codes") */
    MCP_HEADER_MISMATCH = -32020,
    MCP_MISSING_CAPABILITY = -32021,
    MCP_UNSUPPORTED_VERSION = -32022,
};

/* The lists whose changes a server announces (list_changed notifications). */
enum {
    MCP_LIST_TOOLS = 1u << 0,
    MCP_LIST_PROMPTS = 1u << 1,
    MCP_LIST_RESOURCES = 1u << 2,
};

/* Tool annotation flags (MCP ToolAnnotations hints). A tool without
 * MCP_READ_ONLY is a writing tool; closed-world tools omit MCP_OPEN_WORLD. */
enum {
    MCP_READ_ONLY = 1u << 0,
    MCP_DESTRUCTIVE = 1u << 1,
    MCP_IDEMPOTENT = 1u << 2,
    MCP_OPEN_WORLD = 1u << 3,
};

/* ---- registration ------------------------------------------------------ */

/* Starts a tool. args points to the tool's arguments struct (args_size
 * bytes), validated and filled from the argument table before the call; it is
 * borrowed and valid until the call finishes, like every string in it. The raw
 * arguments object stays available through mcp_call_args. The handler must
 * eventually finish the call exactly once, possibly before it returns. */
typedef void mcp_tool_start_fn(struct mcp_call *call, const void *args);

/* Picks up a task's work after a restart (tasks.c): call is a task's call that
 * belongs to no request, checkpoint (borrowed, valid until the call finishes)
 * what the tool recorded with mcp_call_task_checkpoint. The handler finishes
 * the call exactly once, as from start. */
typedef void mcp_tool_resume_fn(struct mcp_call *call, const json_t *checkpoint);

/* Whether a tool runs as an MCP task (tasks.c). In 2025-11-25 the client asks
 * per call (params.task) and tools/list shows execution.taskSupport; in the
 * 2026-07-28 extension io.modelcontextprotocol/tasks the server decides: a call
 * of a tool that takes tasks, from a client that declared the extension,
 * becomes a task when it outlives its start function. */
enum mcp_task_support {
    MCP_TASK_FORBIDDEN = 0, /* a quick call; never a task (the default) */
    MCP_TASK_OPTIONAL,      /* a task when the client can take one, else an ordinary call */
    MCP_TASK_REQUIRED,      /* only as a task: refused (-32601, -32021) otherwise */
};

struct mcp_tool {
    const char *name;
    const char *title;
    const char *description;
    const struct mcp_arg *args; /* the argument table (table.h), or NULL for none */
    size_t nargs;
    size_t args_size;               /* sizeof the struct the rows' offsets point into */
    const struct mcp_field *output; /* the result object, or NULL for no outputSchema */
    unsigned annotations;           /* MCP_READ_ONLY | ... */
    mcp_tool_start_fn *start;
    void *data; /* handed back by mcp_call_tool_data */
    /* A JSON Schema text shown as the inputSchema instead of one built from the
     * argument table (which must then be empty): the arguments reach the tool
     * unchecked, through mcp_call_args. For test fixtures and schemas the
     * table cannot say. */
    const char *input_schema;
    enum mcp_task_support task_support;
    /* Continues a task after a restart from its checkpoint, or NULL: such a
     * task then fails with a sentence saying its work was lost. */
    mcp_tool_resume_fn *resume;
};

/* .args, .nargs and .args_size of a tool from its struct type and row array. */
#define MCP_ARGS(type, rows) .args = (rows), .nargs = MCP_COUNT(rows), .args_size = sizeof(type)

/* How arguments are taken. MCP_ARGS_DEFAULT, every flag, is how the Python
 * original takes them (FastMCP: pydantic's lax mode after its JSON pre-parse)
 * and what MCP 2025-11-25 asks of servers (SEP-1303); it is what a server
 * starts with. 0 is strict JSON Schema with JSON-RPC errors, the behaviour of
 * 2025-06-18 servers, kept for tests of the validator itself. */
enum {
    /* null for an optional argument means absent; the schema declares every
     * optional argument nullable (anyOf [T, null]), with default null when
     * it has no other. */
    MCP_ARGS_NULL_IS_ABSENT = 1u << 0,
    /* An integer argument may arrive as a decimal string ("5"), and a string
     * enum argument as an integer whose digits are one of its values (8 for
     * "8"). */
    MCP_ARGS_NUMERIC_STRINGS = 1u << 1,
    /* Arguments that fail validation are a tool result with isError:true
     * (SEP-1303) rather than a JSON-RPC -32602 error. */
    MCP_ARGS_ERRORS_AS_RESULTS = 1u << 2,
    /* An unknown argument's message names the closest known one, or when
     * none is close, every argument the tool takes. */
    MCP_ARGS_SUGGEST = 1u << 3,
    /* An array or object argument may arrive as its JSON text
     * ("[\"a.png\"]"), which some clients send and FastMCP decodes. */
    MCP_ARGS_JSON_TEXT = 1u << 4,
    MCP_ARGS_DEFAULT = MCP_ARGS_NULL_IS_ABSENT | MCP_ARGS_NUMERIC_STRINGS |
                       MCP_ARGS_ERRORS_AS_RESULTS | MCP_ARGS_SUGGEST | MCP_ARGS_JSON_TEXT,
};

/* Lists resources of one provider: finish with mcp_call_finish_list(). */
typedef void mcp_resource_list_fn(struct mcp_call *call, void *data);
/* Reads uri (borrowed, valid until finish): finish with mcp_call_finish_result()
 * carrying {contents:[...]}, or mcp_call_finish_error(MCP_RESOURCE_NOT_FOUND). */
typedef void mcp_resource_read_fn(struct mcp_call *call, const char *uri, void *data);
/* Completes a value of a template argument: finish with mcp_call_finish_result()
 * carrying {completion:{values:[...], hasMore, total}}. */
typedef void mcp_complete_fn(struct mcp_call *call, const char *argument, const char *value,
                             void *data);

struct mcp_resource_provider {
    /* Either a fixed resource (uri set, uri_template NULL) or a template. A
     * template provider matches every URI that starts with the text of the
     * template before its first '{'. */
    const char *uri;
    const char *uri_template;
    const char *name;
    const char *title;
    const char *description;
    const char *mime_type;      /* NULL when it varies per resource */
    mcp_resource_list_fn *list; /* may be NULL: contributes nothing to resources/list */
    mcp_resource_read_fn *read;
    mcp_complete_fn *complete; /* may be NULL */
    void *data;
};

/* Renders a prompt: args is the arguments object (borrowed, may be empty);
 * finish with mcp_call_finish_result() carrying {description?, messages:[...]}. */
typedef void mcp_prompt_get_fn(struct mcp_call *call, json_t *args, void *data);

struct mcp_prompt {
    const char *name;
    const char *title;
    const char *description;
    const char *arguments; /* JSON text: [{name, description, required}], or NULL */
    mcp_prompt_get_fn *get;
    mcp_complete_fn *complete; /* may be NULL */
    void *data;
};

/* Creates the registry. name/version/instructions are copied. */
struct mcp_server *mcp_server_new(uv_loop_t *loop, const char *name, const char *version,
                                  const char *instructions);
/* Frees the registry; every session must be gone first. */
void mcp_server_free(struct mcp_server *server);
uv_loop_t *mcp_server_loop(struct mcp_server *server);

/* Registers a row. The struct and its tables are borrowed and must outlive
 * the server (static tables are the norm). The argument table is checked and
 * compiled here: returns 0, or SZ_EINVAL (and logs why) for a bad row. */
int mcp_server_add_tool(struct mcp_server *server, const struct mcp_tool *tool);
int mcp_server_add_resource(struct mcp_server *server, const struct mcp_resource_provider *prov);
int mcp_server_add_prompt(struct mcp_server *server, const struct mcp_prompt *prompt);
/* Sets how every tool takes its arguments (MCP_ARGS_* flags; default
 * MCP_ARGS_DEFAULT). The schemas tools/list shows follow. 0, or SZ_ENOMEM
 * (nothing changed). */
int mcp_server_set_arg_policy(struct mcp_server *server, unsigned flags);
/* Page size of tools/list, resources/list, prompts/list (default 100). */
void mcp_server_set_page_size(struct mcp_server *server, size_t page_size);

/* Sends notifications/resources/updated {uri} to every legacy session
 * subscribed to uri (resources/subscribe) and every subscriptions/listen whose
 * resourceSubscriptions name it. */
void mcp_server_resource_updated(struct mcp_server *server, const char *uri);

/* Declares which lists may change (MCP_LIST_*; default: resources only, the
 * media files): the capabilities say listChanged for them. */
void mcp_server_set_list_changed(struct mcp_server *server, unsigned lists);
/* Announces that lists (MCP_LIST_*, among those declared) changed: a
 * notifications/<list>/list_changed to every initialized legacy session and
 * every subscriptions/listen that asked for it. */
void mcp_server_list_changed(struct mcp_server *server, unsigned lists);

/* Sets the key that seals requestState (HMAC-SHA-256; at least 16 bytes,
 * copied; hashed to 32). By default a random key per process, so state sealed
 * by one instance is refused by another: instances behind one load balancer
 * share a key (SANZARU_REQUEST_STATE_KEY). 0 or SZ_EINVAL. */
int mcp_server_set_state_key(struct mcp_server *server, const void *key, size_t len);
/* How long sealed requestState stays valid (default 10 minutes). */
void mcp_server_set_state_ttl(struct mcp_server *server, uint64_t ttl_ms);

/* ---- tasks (tasks.c) ------------------------------------------------------ */

/* The extension identifier of MCP tasks in 2026-07-28 (SEP-2663). */
#define MCP_TASKS_EXTENSION "io.modelcontextprotocol/tasks"

/* Longest task id, terminator excluded (32 hex digits today). */
#define MCP_TASK_ID_MAX 64

/* A task as a store keeps it; every pointer borrowed for the duration of the
 * call that hands it over. status is "working", "input_required",
 * "completed", "failed" or "cancelled"; result, error and checkpoint are JSON
 * texts or NULL. Times are Unix milliseconds. */
struct mcp_task_row {
    const char *id;
    const char *owner; /* who may see it (mcp_session_set_owner) */
    const char *tool;
    bool modern; /* created through the 2026-07-28 extension */
    const char *status;
    const char *message; /* statusMessage, or NULL */
    int64_t created_ms;
    int64_t updated_ms;
    int64_t ttl_ms;
    int64_t poll_ms;
    const char *result;     /* the tool's result, once completed */
    const char *error;      /* the JSON-RPC error, once failed */
    const char *checkpoint; /* what the tool needs to resume */
};

/* err 0 or a negative code, on the loop. */
typedef void mcp_task_saved_fn(void *data, int err);
/* row is NULL when the store has no such task; borrowed for the call. */
typedef void mcp_task_found_fn(void *data, int err, const struct mcp_task_row *row);

/* Where tasks outlive the process (app wires the state database). Every
 * operation runs its I/O off the loop and reports on the loop, never inside
 * the call; each returns 0 (the callback will run) or a negative code
 * (nothing runs). save inserts or replaces by id; remove and purge report to
 * no one (failures are the store's to log). */
struct mcp_task_store {
    int (*save)(void *ctx, const struct mcp_task_row *row, mcp_task_saved_fn *done, void *data);
    int (*find)(void *ctx, const char *id, mcp_task_found_fn *cb, void *data);
    int (*remove)(void *ctx, const char *id);
    int (*purge)(void *ctx, int64_t now_ms); /* drops every task whose TTL ended */
    void *ctx;
};

/* Makes tasks durable: store (copied; its ctx borrowed, to outlive the
 * server) keeps every task, so that after a restart tasks/get finds it, and
 * resumes its tool (mcp_tool.resume) or reports that its work was lost.
 * Without a store tasks live in memory only. */
void mcp_server_set_task_store(struct mcp_server *server, const struct mcp_task_store *store);

/* Task timing: ttl_ms, the lifetime of a task from its creation (default one
 * hour; a 2025-11-25 client may ask for between min_ttl_ms and max_ttl_ms),
 * and poll_ms, the pollInterval suggested until a tool says otherwise
 * (default 1000). 0 leaves a value as it is. */
void mcp_server_set_task_times(struct mcp_server *server, int64_t ttl_ms, int64_t min_ttl_ms,
                               int64_t max_ttl_ms, int64_t poll_ms);

typedef void mcp_tasks_closed_fn(void *data);

/* Stops every task's work for a shutdown: their calls are cancelled (tools
 * stop local work and leave upstream jobs running) and nothing of their state
 * changes in the store, so a restarted server resumes or reports them. done
 * runs on the loop once the last call finished (possibly before this
 * returns). Call it after the transports closed and before the layers the
 * tools use are closed; then mcp_server_free. */
void mcp_server_close_tasks(struct mcp_server *server, mcp_tasks_closed_fn *done, void *data);

/* True for a protocol version this engine speaks, of either era (for the HTTP
 * MCP-Protocol-Version header check). */
bool mcp_protocol_version_supported(const char *version);
/* True for a modern revision (per-request _meta, no initialize). */
bool mcp_protocol_version_modern(const char *version);

/* Calls fn(ctx, argument, header) for every argument of tool that names an
 * HTTP header (the argument row's .header; x-mcp-header in its schema), so
 * the HTTP transport can check Mcp-Param-{header} against the body. Returns
 * 0, or SZ_ENOTFOUND when there is no such tool. */
typedef void mcp_header_arg_fn(void *ctx, const char *argument, const char *header);
int mcp_server_tool_header_args(const struct mcp_server *server, const char *tool,
                                mcp_header_arg_fn *fn, void *ctx);

/* ---- sessions (the transport's side) ----------------------------------- */

/* Delivers one outgoing message (compact JSON, no trailing newline; borrowed for
 * the duration of the call). related_id is the id of the client request this
 * message belongs to (a response, or a progress/log notification or a server
 * request made while serving it), or NULL when it belongs to none. final is true
 * for the response that ends that request. */
typedef void mcp_send_fn(void *ctx, const char *msg, size_t len, const json_t *related_id,
                         bool final);

struct mcp_session *mcp_session_new(struct mcp_server *server, mcp_send_fn *send, void *ctx);

/* Stateless sessions (HTTP --stateless) need no initialize handshake: their
 * requests without modern _meta are served by the rules of protocol_version,
 * a legacy revision. */
void mcp_session_set_stateless(struct mcp_session *session, const char *protocol_version);

/* Every request of this session is served by the modern rules: one without
 * the _meta envelope is refused with -32602 (an HTTP POST whose
 * MCP-Protocol-Version header names a modern revision). */
void mcp_session_set_modern_only(struct mcp_session *session);

/* Names who the session's client is, for the tasks it creates: only requests
 * of a session with the same owner see, await or cancel them. By default each
 * session is an owner of its own (a stdio process, a legacy HTTP session);
 * the HTTP transport gives its per-request sessions the bearer token's
 * identity. owner is copied (at most 127 bytes are kept). */
void mcp_session_set_owner(struct mcp_session *session, const char *owner);

/* What a handled message was, so an HTTP transport can choose its status. */
enum mcp_msg_kind {
    MCP_MSG_REQUEST,      /* a request: exactly one final reply will be sent */
    MCP_MSG_NOTIFICATION, /* a notification or a response: nothing will be sent */
    MCP_MSG_INVALID,      /* malformed: an error reply (id null or the request's) was sent */
};

/* Handles one message of len bytes (not NUL-terminated). Any reply may be sent
 * before this returns. */
enum mcp_msg_kind mcp_session_handle(struct mcp_session *session, const char *buf, size_t len);

/* The same for a message the transport already parsed (any JSON value;
 * borrowed, not modified; the engine takes its own references). */
enum mcp_msg_kind mcp_session_handle_json(struct mcp_session *session, json_t *msg);

/* Sends the error reply for a message the transport could not frame (a line
 * over the limit): {"jsonrpc":"2.0","id":null,"error":{code,message}}. */
void mcp_session_send_error(struct mcp_session *session, int code, const char *message);

/* True when the last message handled was a request refused for its envelope:
 * a missing or malformed modern _meta, an unsupported version or a bad
 * requestState (over HTTP: 400 Bad Request, whatever the code). */
bool mcp_session_envelope_refused(const struct mcp_session *session);

/* The session's negotiated protocol version, or NULL before initialize. */
const char *mcp_session_protocol_version(const struct mcp_session *session);
bool mcp_session_initialized(const struct mcp_session *session);
size_t mcp_session_calls_in_flight(const struct mcp_session *session);
/* The capabilities object the client sent with initialize (borrowed), or NULL. */
const json_t *mcp_session_client_capabilities(const struct mcp_session *session);

/* Ends the session: every call in flight is cancelled (its handler's cancel
 * callback runs), nothing more is sent, and on_idle runs once no call remains
 * (possibly before this returns). The session is freed after on_idle returns;
 * the transport must not use it afterwards. */
typedef void mcp_session_idle_fn(void *ctx);
void mcp_session_close(struct mcp_session *session, mcp_session_idle_fn *on_idle);

/* Sends notifications/message to the client when level passes the session's
 * logging/setLevel threshold (legacy sessions only: the modern era logs only
 * for a request that asked, through mcp_call_log). logger may be NULL. */
void mcp_session_log(struct mcp_session *session, enum sz_log_level level, const char *logger,
                     const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Sends a notification with no related request (list_changed and the like).
 * params is stolen (may be NULL). */
void mcp_session_notify(struct mcp_session *session, const char *method, json_t *params);

/* ---- calls (the handler's side) ---------------------------------------- */

/* Called when the client cancels the call or the session closes. The handler
 * stops its work and still finishes the call (any finish; nothing is sent). */
typedef void mcp_cancel_fn(struct mcp_call *call, void *data);

uv_loop_t *mcp_call_loop(const struct mcp_call *call);
struct mcp_server *mcp_call_server(const struct mcp_call *call);
struct mcp_session *mcp_call_session(const struct mcp_call *call);
void *mcp_call_tool_data(const struct mcp_call *call);
json_t *mcp_call_args(const struct mcp_call *call);     /* borrowed */
const char *mcp_call_name(const struct mcp_call *call); /* tool, prompt or method name */
const json_t *mcp_call_id(const struct mcp_call *call);

/* A slot for the handler's own state. */
void mcp_call_set_data(struct mcp_call *call, void *data);
void *mcp_call_data(const struct mcp_call *call);

void mcp_call_on_cancel(struct mcp_call *call, mcp_cancel_fn *fn, void *data);
bool mcp_call_cancelled(const struct mcp_call *call);

/* Reports progress when the request carried _meta.progressToken. Values that do
 * not increase are dropped; total <= 0 means unknown; message may be NULL.
 * Notifications are thinned to one per 50 ms except when progress == total. */
void mcp_call_progress(struct mcp_call *call, double progress, double total, const char *message);

/* notifications/message tied to this call: legacy, when level passes the
 * session's threshold; modern, only when the request carried
 * io.modelcontextprotocol/logLevel and level passes it. */
void mcp_call_log(struct mcp_call *call, enum sz_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Appends a content block (a resource_link, an image, ...) to a tool result,
 * after the text block. item is stolen. */
void mcp_call_add_content(struct mcp_call *call, json_t *item);

/* Finishes a tools/call successfully: structuredContent = result and the same
 * JSON as a text block (serialised once). result is stolen. Frees the call. */
void mcp_call_finish(struct mcp_call *call, json_t *result);
/* Checks value (borrowed) against the tool's output schema. Returns 0, or
 * SZ_EINVAL with one sentence naming the field in msg (e.g. "'id' must be a
 * string, not an integer"); 0 for a tool without one. For tools that pass an
 * upstream object through: a malformed one becomes a tool error that says
 * which field is wrong, rather than structuredContent that breaks the schema
 * clients were promised. */
int mcp_call_check_output(const struct mcp_call *call, const json_t *value, char *msg,
                          size_t msglen);
/* Finishes a tools/call with isError:true and one sentence. Frees the call. */
void mcp_call_fail(struct mcp_call *call, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* What kind of failure a tool error is, for a program to act on without reading
 * the sentence (the agent CLI's exit status 3 is MCP_ERROR_CONFIGURATION). It
 * travels as _meta[MCP_META_ERROR_KIND] = the kind's name on the isError
 * result (docs/tools.md, "Error kinds"). */
#define MCP_META_ERROR_KIND "sanzaru/errorKind"
enum mcp_error_kind {
    MCP_ERROR_UNKNOWN = 0,   /* not classified: no _meta */
    MCP_ERROR_CONFIGURATION, /* "configuration": the server's settings (an API key, a provider,
                                a media directory, an API the provider retired) */
    MCP_ERROR_INPUT,         /* "input": the arguments, or the file they name, are refused */
    MCP_ERROR_NOT_FOUND,     /* "not_found": a file or a job that does not exist */
    MCP_ERROR_UPSTREAM,      /* "upstream": the provider failed, refused or timed out */
    MCP_ERROR_CANCELLED,     /* "cancelled": the call or its task was cancelled */
    MCP_ERROR_INTERNAL,      /* "internal": out of memory, a local I/O error */
};
/* The kind's name ("configuration", ...), or NULL for MCP_ERROR_UNKNOWN. */
const char *mcp_error_kind_name(enum mcp_error_kind kind);
/* The kind a name stands for; MCP_ERROR_UNKNOWN for NULL or an unknown name. */
enum mcp_error_kind mcp_error_kind_parse(const char *name);
/* The kind of a tool result (borrowed): its _meta[MCP_META_ERROR_KIND], or
 * MCP_ERROR_UNKNOWN when it is not an isError result or says none. */
enum mcp_error_kind mcp_result_error_kind(const json_t *result);
/* mcp_call_fail with the error's kind in the result's _meta (none for
 * MCP_ERROR_UNKNOWN). Frees the call. */
void mcp_call_fail_kind(struct mcp_call *call, enum mcp_error_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Finishes any call with a raw JSON-RPC result (stolen). Frees the call. */
void mcp_call_finish_result(struct mcp_call *call, json_t *result);
/* Finishes any call with a JSON-RPC error. Frees the call. */
void mcp_call_finish_error(struct mcp_call *call, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Finishes a resource provider's list: items (stolen) is an array of Resource
 * objects; err != 0 fails the whole resources/list. */
void mcp_call_finish_list(struct mcp_call *call, json_t *items, int err);

/* Sends a server-to-client request (sampling/createMessage, elicitation/create,
 * roots/list) related to this call and routes the answer to fn, on the loop
 * (legacy calls only: a modern call returns SZ_EUNSUPPORTED; it asks through
 * mcp_call_ask or mcp_call_finish_input_required instead):
 * result is the response's result (borrowed) or NULL, with error the error
 * object (borrowed) or NULL; on timeout or session close both are NULL.
 * params is stolen. timeout_ms 0 means 60 s. */
typedef void mcp_response_fn(struct mcp_call *call, const json_t *result, const json_t *error,
                             void *data);
int mcp_call_request(struct mcp_call *call, const char *method, json_t *params, uint64_t timeout_ms,
                     mcp_response_fn *fn, void *data);

/* ---- the era of a call, and questions to the client ---------------------- */

/* True when the call's request was served by the 2026-07-28 rules. */
bool mcp_call_modern(const struct mcp_call *call);
/* True when the client declared capability (e.g. "elicitation"): modern, in
 * this request's _meta; legacy, at initialize. */
bool mcp_call_client_supports(const struct mcp_call *call, const char *capability);
/* Modern retries of a multi round-trip request: the client's answer to the
 * input request named key (params.inputResponses[key], borrowed, an object),
 * or NULL. */
const json_t *mcp_call_input_response(const struct mcp_call *call, const char *key);
/* The payload this server sealed into the requestState the retry carries
 * (verified: its MAC, its expiry, and that it was issued for this method,
 * name and arguments), borrowed; NULL when the request carried none. */
const json_t *mcp_call_request_state(const struct mcp_call *call);
/* Finishes a modern tools/call, prompts/get or resources/read with an
 * InputRequiredResult: requests (stolen) maps keys to {method, params};
 * state (stolen, may be NULL) is sealed into requestState. At least one of
 * them must be given. Frees the call. */
void mcp_call_finish_input_required(struct mcp_call *call, json_t *requests, json_t *state);
/* Finishes a call with a JSON-RPC error carrying data (stolen, may be NULL). */
void mcp_call_finish_error_data(struct mcp_call *call, int code, json_t *data, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Finishes a call with MissingRequiredClientCapabilityError (-32021) whose
 * data.requiredCapabilities names capability. Frees the call. */
void mcp_call_finish_missing_capability(struct mcp_call *call, const char *capability);

/* The client's answer to a question. */
enum mcp_answer {
    MCP_ANSWER_ACCEPT,  /* content holds the answer */
    MCP_ANSWER_DECLINE, /* declined or cancelled by the user */
    MCP_ANSWER_NONE,    /* no answer: an error, a timeout, the call was cancelled */
};
typedef void mcp_answer_fn(struct mcp_call *call, enum mcp_answer answer, const json_t *content,
                           void *data);
/* Asks the client one question (a form elicitation: message and the
 * requestedSchema, stolen), the same way in both eras:
 * - a legacy client that declared elicitation gets elicitation/create, and
 *   fn runs with its answer (later, on the loop); returns 0;
 * - a modern request that already carries the answer (inputResponses[key] of
 *   a retry) runs fn with it before this returns; returns 0;
 * - a modern request from a client that declared elicitation is finished with
 *   an InputRequiredResult asking key, and SZ_EPENDING is returned: the call
 *   is gone, the caller releases its own state and does nothing more; the
 *   client retries the request with the answer;
 * - a client that cannot answer: SZ_EUNSUPPORTED, nothing happens.
 * content passed to fn is borrowed for the duration of fn. */
int mcp_call_ask(struct mcp_call *call, const char *key, const char *message, json_t *schema,
                 mcp_answer_fn *fn, void *data);

/* ---- calls that run as tasks (tasks.c) -------------------------------------
 *
 * A task is a call that outlives its request: the client got a CreateTaskResult
 * and polls (tasks/get), awaits (tasks/result, 2025-11-25) or cancels
 * (tasks/cancel) it, and the call's finish becomes the task's result. A tool
 * needs to know only what follows; everything else (progress, logs, questions,
 * finishing) works as for any call. A task in 2025-11-25 keeps its session's
 * channel: progress, logs and questions reach the client tagged with
 * io.modelcontextprotocol/related-task. A task of the 2026-07-28 extension has
 * none: progress becomes its statusMessage, a question its inputRequests
 * (answered with tasks/update). */

/* The call's task id (borrowed), or NULL when it is an ordinary call. A call
 * becomes a task when its start function returns without finishing it, so
 * from a start function this is NULL unless the client asked for a task
 * (2025-11-25); from any later callback it says for good. */
const char *mcp_call_task_id(const struct mcp_call *call);

/* Records what the tool needs to pick the work up again after a restart
 * (resume on its row): checkpoint (stolen, a JSON object) is stored with the
 * task. A no-op for an ordinary call. */
void mcp_call_task_checkpoint(struct mcp_call *call, json_t *checkpoint);

/* Suggests how often the client should poll the task (pollInterval,
 * pollIntervalMs): the tool's own upstream polling interval is a good value.
 * A no-op for an ordinary call. */
void mcp_call_task_poll_interval(struct mcp_call *call, int64_t ms);

/* True when the client cancelled the task (tasks/cancel), as opposed to a
 * cancellation that ends the connection or the server: only then does a tool
 * also stop the upstream job where the provider can (the client chose to
 * abandon it). Meaningful in and after the cancel callback. */
bool mcp_call_task_cancelled(const struct mcp_call *call);

#endif
