/* Internals shared by the engine's source files: the registry (server.c), the
 * message loop and sessions (session.c), calls and server-to-client requests
 * (call.c), the method handlers (methods.c), the argument tables (args.c) and
 * the result tables (fields.c).
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
    unsigned arg_policy;     /* MCP_ARGS_* */
    struct sz_link sessions; /* every open session, for resource updates */
};

enum mcp_call_kind {
    MCP_CALL_TOOL,
    MCP_CALL_RESOURCES_LIST,
    MCP_CALL_RESOURCE_READ,
    MCP_CALL_PROMPT_GET,
    MCP_CALL_COMPLETE,
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
    bool closing;
    char protocol_version[16];
    json_t *client_capabilities;
    json_t *subscriptions; /* resources/subscribe URIs, as object keys */
    int log_threshold;     /* index into mcp_levels */
    struct sz_link calls;
    size_t ncalls;
    struct sz_link pending;
    json_int_t next_request_id;
    unsigned refs;
    mcp_session_idle_fn *on_idle;
};

/* ---- server.c ---- */

extern const char *const mcp_supported_versions[];
extern const size_t mcp_nsupported_versions;
/* MCP's syslog-style levels, lowest first. */
extern const char *const mcp_levels[];
extern const size_t mcp_nlevels;

char *mcp_strdup(const char *s); /* aborts when a few bytes cannot be had */
const struct mcp_tool_entry *mcp_find_tool(const struct mcp_server *server, const char *name);
/* The tools/list item of a tool (new reference). */
json_t *mcp_tool_listing(const struct mcp_tool_entry *e);

/* ---- session.c: sending ---- */

/* Each steals msg/result/params. related_id is borrowed. */
void mcp_send_json(struct mcp_session *s, json_t *msg, const json_t *related_id, bool final);
/* Sends text already serialised (borrowed). */
void mcp_send_text(struct mcp_session *s, const char *text, size_t len, const json_t *related_id,
                   bool final);
void mcp_send_result(struct mcp_session *s, const json_t *id, json_t *result);
void mcp_send_error(struct mcp_session *s, const json_t *id, int code, const char *message);
void mcp_send_errorf(struct mcp_session *s, const json_t *id, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void mcp_send_notification(struct mcp_session *s, const char *method, json_t *params,
                           const json_t *related_id);
/* notifications/message when level passes the session's threshold. */
void mcp_vlog_to_client(struct mcp_session *s, const json_t *related_id, enum sz_log_level level,
                        const char *logger, const char *fmt, va_list ap)
    __attribute__((format(printf, 5, 0)));

void mcp_session_unref(struct mcp_session *s);
/* Runs on_idle once the session is closing and nothing is in flight. */
void mcp_session_maybe_idle(struct mcp_session *s);

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
/* Sends result (stolen) unless the call was cancelled, then frees the call. */
void mcp_call_reply(struct mcp_call *call, json_t *result);

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
