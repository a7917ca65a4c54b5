/* The MCP protocol engine.
 *
 * A transport (stdio, HTTP, a test harness) creates an mcp_session per client
 * connection and feeds it one JSON-RPC message at a time; the engine answers
 * through the session's send function. The engine owns the lifecycle
 * (initialize, initialized, ping), dispatch, the parsing and validation of
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
    MCP_RESOURCE_NOT_FOUND = -32002,
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

/* Sends notifications/resources/updated {uri} to every session subscribed to
 * uri (resources/subscribe). */
void mcp_server_resource_updated(struct mcp_server *server, const char *uri);

/* True for a protocol version this engine speaks (for the HTTP
 * MCP-Protocol-Version header check). */
bool mcp_protocol_version_supported(const char *version);

/* ---- sessions (the transport's side) ----------------------------------- */

/* Delivers one outgoing message (compact JSON, no trailing newline; borrowed for
 * the duration of the call). related_id is the id of the client request this
 * message belongs to (a response, or a progress/log notification or a server
 * request made while serving it), or NULL when it belongs to none. final is true
 * for the response that ends that request. */
typedef void mcp_send_fn(void *ctx, const char *msg, size_t len, const json_t *related_id,
                         bool final);

struct mcp_session *mcp_session_new(struct mcp_server *server, mcp_send_fn *send, void *ctx);

/* Stateless sessions (HTTP --stateless) need no initialize handshake. */
void mcp_session_set_stateless(struct mcp_session *session, const char *protocol_version);

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
 * logging/setLevel threshold. logger may be NULL. */
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

/* notifications/message tied to this call. */
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
/* Finishes any call with a raw JSON-RPC result (stolen). Frees the call. */
void mcp_call_finish_result(struct mcp_call *call, json_t *result);
/* Finishes any call with a JSON-RPC error. Frees the call. */
void mcp_call_finish_error(struct mcp_call *call, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Finishes a resource provider's list: items (stolen) is an array of Resource
 * objects; err != 0 fails the whole resources/list. */
void mcp_call_finish_list(struct mcp_call *call, json_t *items, int err);

/* Sends a server-to-client request (sampling/createMessage, elicitation/create,
 * roots/list) related to this call and routes the answer to fn, on the loop:
 * result is the response's result (borrowed) or NULL, with error the error
 * object (borrowed) or NULL; on timeout or session close both are NULL.
 * params is stolen. timeout_ms 0 means 60 s. */
typedef void mcp_response_fn(struct mcp_call *call, const json_t *result, const json_t *error,
                             void *data);
int mcp_call_request(struct mcp_call *call, const char *method, json_t *params, uint64_t timeout_ms,
                     mcp_response_fn *fn, void *data);

#endif
