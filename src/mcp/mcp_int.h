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
    /* Tasks (tasks.c) */
    struct sz_link tasks; /* every task in memory */
    size_t ntasks;
    bool task_tools; /* some tool takes tasks: the capabilities say so */
    bool have_store;
    struct mcp_task_store store;
    int64_t task_ttl_ms, task_min_ttl_ms, task_max_ttl_ms, task_poll_ms;
    int64_t next_purge_ms;         /* wall clock of the next sweep of expired tasks */
    struct mcp_session *task_host; /* runs the tasks that have no session of their own */
    bool tasks_closing;
    mcp_tasks_closed_fn *tasks_closed;
    void *tasks_closed_data;
};

enum mcp_call_kind {
    MCP_CALL_TOOL,
    MCP_CALL_RESOURCES_LIST,
    MCP_CALL_RESOURCE_READ,
    MCP_CALL_PROMPT_GET,
    MCP_CALL_COMPLETE,
    MCP_CALL_LISTEN,      /* subscriptions/listen: lives until cancelled or the session ends */
    MCP_CALL_TASK_CREATE, /* a tools/call whose CreateTaskResult waits for the store */
    MCP_CALL_TASK_RESULT, /* tasks/result waiting for the task's end (2025-11-25) */
    MCP_CALL_TASK_LOOKUP, /* tasks/get, tasks/cancel, ... waiting for the store's answer */
};

/* Whether a tools/call may become a task (tasks.c). */
enum mcp_task_mode {
    MCP_TASK_NONE,  /* an ordinary call */
    MCP_TASK_MAYBE, /* 2026-07-28 extension: a task if it outlives its start function */
    MCP_TASK_ASKED, /* 2025-11-25 params.task: a task from the start */
};

/* Why a call was cancelled: a tool stops upstream work only for MCP_CANCEL_TASK. */
enum mcp_cancel_reason {
    MCP_CANCEL_CLIENT,   /* notifications/cancelled, a closed stream */
    MCP_CANCEL_TASK,     /* tasks/cancel */
    MCP_CANCEL_SESSION,  /* the session ended (DELETE, end of input, its TTL) */
    MCP_CANCEL_SHUTDOWN, /* the server is stopping: the task is resumed after a restart */
};

enum mcp_task_status {
    MCP_TASK_WORKING,
    MCP_TASK_INPUT_REQUIRED,
    MCP_TASK_COMPLETED,
    MCP_TASK_FAILED,
    MCP_TASK_CANCELLED,
};

/* A question a task's call asked while it runs, waiting for tasks/update
 * (2026-07-28) or for the answer to elicitation/create (2025-11-25). */
struct mcp_task_ask {
    struct sz_link link; /* in task->asks */
    char *key;
    mcp_answer_fn *fn;
    void *data;
};

/* One task (tasks.c): a call that outlives its request, then its outcome,
 * until its TTL ends. Owned by the server's list. */
struct mcp_task {
    struct sz_link link; /* in server->tasks */
    struct mcp_server *server;
    char id[MCP_TASK_ID_MAX + 1];
    char *owner;
    char *tool;
    bool modern; /* the 2026-07-28 extension's wire, else 2025-11-25's */
    enum mcp_task_status status;
    char *message; /* statusMessage, or NULL */
    int64_t created_ms, updated_ms, ttl_ms, poll_ms;
    json_t *result;            /* once completed (or a 2025-11-25 tool error): the CallToolResult */
    json_t *error;             /* once failed by a JSON-RPC error: {code, message, data?} */
    json_t *checkpoint;        /* what the tool recorded to resume, or NULL */
    json_t *inputs;            /* 2026-07-28: outstanding inputRequests, key -> {method, params} */
    struct sz_link asks;       /* questions waiting for answers (struct mcp_task_ask) */
    unsigned nasked;           /* questions asked so far */
    json_t *keys;              /* every key asked so far (object keys): unique over the task */
    struct mcp_call *call;     /* the work while it runs, else NULL */
    struct mcp_session *home;  /* 2025-11-25 on a session: where its messages go */
    struct mcp_call *creating; /* the tools/call to answer once stored, or NULL */
    struct sz_link waiters;    /* tasks/result calls (wait_link) */
    unsigned nwaiting;         /* 2025-11-25: elicitations awaiting an answer */
    unsigned pending_saves;    /* saves the CreateTaskResult waits for */
    unsigned refs;             /* the server's list, and each store operation in flight */
    bool listed;               /* in server->tasks */
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
    /* Tasks (tasks.c) */
    enum mcp_task_mode task_mode;
    int64_t task_ttl_ms;      /* 2025-11-25: the ttl asked for, or 0 */
    struct mcp_task *task;    /* the task this call is the work of, or whose answer it awaits */
    struct sz_link wait_link; /* MCP_CALL_TASK_RESULT: in task->waiters */
    enum mcp_cancel_reason cancel_reason;
    char *lookup; /* MCP_CALL_TASK_LOOKUP: the task id asked for */
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
    char owner[128]; /* whose tasks it sees (mcp_session_set_owner) */
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
/* The capabilities object of initialize (legacy: tasks for 2025-11-25) and
 * server/discover (modern: the tasks extension) (new reference). */
json_t *mcp_server_capabilities(const struct mcp_server *server, bool modern, const char *version);
/* The tools/list item of a tool (new reference); legacy lists show
 * execution.taskSupport. */
json_t *mcp_tool_listing(const struct mcp_tool_entry *e, bool modern);

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
/* notifications/message when level passes threshold (an index into mcp_levels),
 * with meta (borrowed, may be NULL) as its _meta. */
void mcp_vlog_to_client(struct mcp_session *s, const json_t *related_id, const json_t *meta,
                        int threshold, enum sz_log_level level, const char *logger, const char *fmt,
                        va_list ap) __attribute__((format(printf, 7, 0)));

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
/* Sends notifications/tasks with task (borrowed: the detailed 2026-07-28 Task) to
 * every listen of owner's sessions whose taskIds name task_id (SEP-2663). */
void mcp_listen_task(struct mcp_server *server, const char *task_id, const char *owner,
                     const json_t *task);

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
/* Keeps the struct of call alive past its finish (call->finished tells), for a
 * callback that may come later; every hold is released once. */
void mcp_call_hold(struct mcp_call *call);
void mcp_call_release(struct mcp_call *call);
/* Cancels call for reason (mcp_call_cancel is MCP_CANCEL_CLIENT). */
void mcp_call_cancel_for(struct mcp_call *call, enum mcp_cancel_reason reason);
/* Moves call to session to (the task host): it leaves its session's list. */
void mcp_call_move(struct mcp_call *call, struct mcp_session *to);
/* The id messages related to call go out with: the task's waiter while a
 * tasks/result awaits it, else the call's id (borrowed). */
const json_t *mcp_call_related_id(const struct mcp_call *call);

/* ---- tasks.c and task_methods.c ---- */

/* The tools/call of a tool that may run as a task: decides the call's
 * task_mode from the era, the client and params.task. Returns 0, or sends the
 * refusal (-32601 for a tool that cannot or must run as a task in 2025-11-25,
 * -32021 for a required one without the extension) and returns SZ_EINVAL. */
int mcp_task_mode_of(struct mcp_session *s, const struct mcp_tool_entry *tool, const json_t *id,
                     const json_t *params, enum mcp_task_mode *pmode, int64_t *pttl);
/* Makes call (of session s, while its request is dispatched) a task: a
 * CreateTaskResult answers the request once the task is stored. 0 or
 * SZ_ENOMEM (the call stays ordinary). */
int mcp_task_adopt(struct mcp_session *s, struct mcp_call *call);
/* The call of a task finished: result (stolen; the CallToolResult) or error
 * (stolen; {code, message, data?}) becomes the task's outcome. The caller
 * frees the call. */
void mcp_task_settle(struct mcp_call *call, json_t *result, json_t *error);
/* The call of a task reported progress: its statusMessage follows. */
void mcp_task_progress(struct mcp_call *call, double progress, double total, const char *message);
/* A question from the call of a 2026-07-28 task (mcp_call_ask): params
 * (stolen) becomes one of the task's inputRequests, and fn runs when
 * tasks/update answers it. 0, SZ_ECANCELLED or SZ_ENOMEM. */
int mcp_task_ask(struct mcp_call *call, const char *key, json_t *params, mcp_answer_fn *fn,
                 void *data);
/* What an elicitation result (borrowed) answers: accept, decline (decline or
 * cancel), or nothing usable (ask.c; tasks.c reads tasks/update's answers with it). */
enum mcp_answer mcp_answer_of(const json_t *result);
/* The call of a 2025-11-25 task sent (delta 1) or got the answer to (delta -1)
 * an elicitation: the task is input_required while one is open. */
void mcp_task_waiting(struct mcp_call *call, int delta);
/* The session s is closing: its tasks go with it. */
void mcp_tasks_session_closed(struct mcp_session *s);
/* A call that waits on a task is going away (cancelled, freed). */
void mcp_task_call_gone(struct mcp_call *call);
/* The _meta of a message that belongs to task (new reference). */
json_t *mcp_task_related_meta(const struct mcp_task *task);
/* Shared by tasks.c and task_methods.c. */
extern const char *const mcp_task_status_names[]; /* by enum mcp_task_status */
bool mcp_task_terminal(enum mcp_task_status status);
int64_t mcp_task_now_ms(void); /* the wall clock, Unix milliseconds */
bool mcp_task_expired(const struct mcp_task *t, int64_t now);
struct mcp_task *mcp_task_find(struct mcp_server *server, const char *id);
void mcp_task_unref(struct mcp_task *t);
/* The Task object on a wire (2025-11-25, or 2026-07-28; detailed: with its
 * inputRequests, result or error) (new reference). */
json_t *mcp_task_json(const struct mcp_task *t, bool modern, bool detailed);
/* Finishes w, a tasks/result, with what the ended task t gives (2025-11-25). */
void mcp_task_answer_result(struct mcp_call *w, struct mcp_task *t);
/* Records a change of status (and statusMessage, copied; NULL clears it on a
 * change): the store, a session's notification, the waiters at the end. */
void mcp_task_set_status(struct mcp_task *t, enum mcp_task_status st, const char *message);
/* tasks/update's answers (responses borrowed) to the task's open questions. */
void mcp_task_deliver(struct mcp_task *t, const json_t *responses);
bool mcp_task_client_declared(const struct mcp_req_ctx *rc);
bool mcp_task_legacy_session(const struct mcp_session *s);
void mcp_task_send_missing(struct mcp_session *s, const json_t *id, const char *why);
/* Forgets expired tasks, at most once a minute. */
void mcp_tasks_maybe_purge(struct mcp_server *server);
/* The session that runs tasks which have none of their own, or NULL. */
struct mcp_session *mcp_task_host(struct mcp_server *server);

/* tasks/get, tasks/result, tasks/list, tasks/cancel, tasks/update (task_methods.c). */
void mcp_handle_tasks_get(struct mcp_session *s, const json_t *id, json_t *params);
void mcp_handle_tasks_result(struct mcp_session *s, const json_t *id, json_t *params);
void mcp_handle_tasks_list(struct mcp_session *s, const json_t *id, json_t *params);
void mcp_handle_tasks_cancel(struct mcp_session *s, const json_t *id, json_t *params);
void mcp_handle_tasks_update(struct mcp_session *s, const json_t *id, json_t *params);
/* Frees every task in memory (mcp_server_free). */
void mcp_tasks_free(struct mcp_server *server);

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
