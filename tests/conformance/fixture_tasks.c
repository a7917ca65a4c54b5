/* The conformance fixture's rows for the tasks extension (io.modelcontextprotocol/tasks,
 * SEP-2663) of @modelcontextprotocol/conformance 0.2.0-alpha.12: the tools its tasks-*
 * scenarios call by name, each doing what the scenario's description asks through the
 * engine's public API (task_support on the row, mcp_call_ask, the finish functions):
 *
 *   greet               ordinary: "Hello, {name}!"
 *   slow_compute        takes a task: sleeps `seconds`, then a result; 0 answers at once
 *   failing_job         only as a task: a tool error after ~1 s
 *   protocol_error_job  takes a task: a JSON-RPC error after a moment
 *   confirm_delete      takes a task: asks one question once it runs, then completes
 *   multi_input         takes a task: asks two questions at once, completes when both came
 *   test_tool_with_task only as a task: asks the user's name first (an InputRequiredResult,
 *                       before any task), then becomes a task that greets that name
 *
 * Every tool honours cancellation, so a cancelled task's work stops at once. */
#include "fmacros.h"

#include "fixture.h"
#include "mcp/server.h"

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *text_result(const char *text)
{
    return json_pack("{s:[{s:s, s:s}]}", "content", "type", "text", "text", text);
}

/* ---- one timer per call -------------------------------------------------------------- */

struct job;
typedef void job_fn(struct job *j);

/* A call that waits: a timer, what to do when it fires, and the questions asked. */
struct job {
    uv_timer_t timer;
    struct mcp_call *call; /* NULL once finished */
    job_fn *fire;
    char text[256];
    int asked;    /* questions open */
    int answered; /* answers received */
    bool declined;
};

static void job_closed(uv_handle_t *h)
{
    free(h->data);
}

/* Finishes the job's timer; the caller finishes the call. */
static void job_done(struct job *j)
{
    j->call = NULL;
    uv_timer_stop(&j->timer);
    uv_close((uv_handle_t *)&j->timer, job_closed);
}

static void job_tick(uv_timer_t *h)
{
    struct job *j = h->data;
    j->fire(j);
}

static void job_cancel(struct mcp_call *call, void *data)
{
    struct job *j = data;

    if (j->call == NULL)
        return;
    /* A 2025-11-25 question in flight is answered "none" by the engine: finish there. */
    if (j->asked > 0 && !mcp_call_modern(call))
        return;
    job_done(j);
    mcp_call_fail(call, "cancelled");
}

/* Starts a job that runs fire after ms milliseconds. */
static struct job *job_start(struct mcp_call *call, uint64_t ms, job_fn *fire)
{
    struct job *j = calloc(1, sizeof(*j));

    if (j == NULL) {
        mcp_call_fail(call, "out of memory");
        return NULL;
    }
    j->call = call;
    j->fire = fire;
    uv_timer_init(mcp_call_loop(call), &j->timer);
    j->timer.data = j;
    mcp_call_on_cancel(call, job_cancel, j);
    uv_timer_start(&j->timer, job_tick, ms, 0);
    return j;
}

/* ---- greet, slow_compute, failing_job, protocol_error_job ----------------------------- */

struct greet_args {
    const char *name;
};

static void tool_greet(struct mcp_call *call, const void *args)
{
    const struct greet_args *a = args;
    char text[256];

    snprintf(text, sizeof(text), "Hello, %s!", a->name);
    mcp_call_finish_result(call, text_result(text));
}

static void fire_text(struct job *j)
{
    struct mcp_call *call = j->call;
    char text[256];

    snprintf(text, sizeof(text), "%s", j->text);
    job_done(j);
    mcp_call_finish_result(call, text_result(text));
}

struct slow_args {
    long long seconds;
    const char *label;
};

static void tool_slow_compute(struct mcp_call *call, const void *args)
{
    const struct slow_args *a = args;
    struct job *j;

    if (a->seconds == 0) { /* SEP-2663's immediate-result shortcut: no task */
        mcp_call_finish_result(call, text_result("computed at once"));
        return;
    }
    j = job_start(call, (uint64_t)a->seconds * 1000u, fire_text);
    if (j != NULL)
        snprintf(j->text, sizeof(j->text), "computed %s in %lld s", a->label ? a->label : "",
                 a->seconds);
}

static void fire_tool_error(struct job *j)
{
    struct mcp_call *call = j->call;
    job_done(j);
    mcp_call_fail(call, "failing_job failed, as it always does");
}

static void tool_failing_job(struct mcp_call *call, const void *args)
{
    (void)args;
    job_start(call, 1000, fire_tool_error);
}

static void fire_protocol_error(struct job *j)
{
    struct mcp_call *call = j->call;
    job_done(j);
    mcp_call_finish_error(call, MCP_INTERNAL_ERROR, "protocol_error_job: an internal error");
}

static void tool_protocol_error_job(struct mcp_call *call, const void *args)
{
    (void)args;
    job_start(call, 200, fire_protocol_error);
}

/* ---- confirm_delete, multi_input: questions once the task runs ------------------------- */

static void answered(struct mcp_call *call, enum mcp_answer answer, const json_t *content,
                     void *data)
{
    struct job *j = data;
    (void)content;

    j->asked--;
    j->answered++;
    if (answer != MCP_ANSWER_ACCEPT)
        j->declined = true;
    if (j->asked > 0)
        return; /* the other question is still open */
    job_done(j);
    if (j->declined)
        mcp_call_fail(call, "not confirmed: nothing was deleted");
    else
        mcp_call_finish_result(call, text_result(j->text));
}

static json_t *schema_of(const char *field, const char *type)
{
    return json_pack("{s:s, s:{s:{s:s}}, s:[s]}", "type", "object", "properties", field, "type",
                     type, "required", field);
}

/* Asks key/message for field; on failure finishes the call. */
static bool ask(struct job *j, const char *key, const char *message, const char *field,
                const char *type)
{
    struct mcp_call *call = j->call;
    int rc;

    j->asked++;
    rc = mcp_call_ask(call, key, message, schema_of(field, type), answered, j);
    if (rc == 0)
        return true;
    j->asked--;
    job_done(j);
    mcp_call_fail(call, "could not ask (%d): declare the elicitation capability", rc);
    return false;
}

static void fire_confirm(struct job *j)
{
    char message[300];

    snprintf(message, sizeof(message), "Delete %s?", j->text);
    snprintf(j->text, sizeof(j->text), "deleted (as confirmed)");
    ask(j, "confirm", message, "confirm", "boolean");
}

struct delete_args {
    const char *filename;
};

static void tool_confirm_delete(struct mcp_call *call, const void *args)
{
    const struct delete_args *a = args;
    /* The question waits for the loop's next turn: by then the call is a task. */
    struct job *j = job_start(call, 0, fire_confirm);

    if (j != NULL)
        snprintf(j->text, sizeof(j->text), "%s", a->filename);
}

static void fire_two(struct job *j)
{
    snprintf(j->text, sizeof(j->text), "both inputs received");
    if (ask(j, "name", "What is your name?", "name", "string"))
        ask(j, "confirm", "Proceed?", "confirm", "boolean");
}

static void tool_multi_input(struct mcp_call *call, const void *args)
{
    (void)args;
    job_start(call, 0, fire_two);
}

/* ---- test_tool_with_task: MRTR first, then a task ------------------------------------------ */

static void tool_with_task(struct mcp_call *call, const void *args)
{
    const json_t *r = mcp_call_input_response(call, "user_name");
    const char *name = json_string_value(json_object_get(json_object_get(r, "content"), "name"));
    struct job *j;

    (void)args;
    if (name == NULL) { /* round 1: answered at once, so no task yet */
        mcp_call_finish_input_required(call,
                                       json_pack("{s:{s:s, s:{s:s, s:o}}}", "user_name", "method",
                                                 "elicitation/create", "params", "message",
                                                 "What is your name?", "requestedSchema",
                                                 schema_of("name", "string")),
                                       NULL);
        return;
    }
    j = job_start(call, 300, fire_text); /* round 2 outlives its start: a task */
    if (j != NULL)
        snprintf(j->text, sizeof(j->text), "Hello, %s! (from a task)", name);
}

/* ---- the table --------------------------------------------------------------------------- */

static const struct mcp_arg greet_rows[] = {
    {.name = "name",
     .type = MCP_ARG_STRING,
     .flags = MCP_ARG_REQUIRED,
     .off = offsetof(struct greet_args, name)},
};
static const struct mcp_arg slow_rows[] = {
    {.name = "seconds",
     .type = MCP_ARG_INT,
     .off = offsetof(struct slow_args, seconds),
     .min = MCP_LIMIT(0),
     .max = MCP_LIMIT(3600),
     MCP_DEFAULT_INT(1)},
    {.name = "label", .type = MCP_ARG_STRING, .off = offsetof(struct slow_args, label)},
};
static const struct mcp_arg delete_rows[] = {
    {.name = "filename",
     .type = MCP_ARG_STRING,
     .flags = MCP_ARG_REQUIRED,
     .off = offsetof(struct delete_args, filename)},
};

static const struct mcp_tool task_tools[] = {
    {.name = "greet",
     .description = "Says hello (an ordinary tool)",
     MCP_ARGS(struct greet_args, greet_rows),
     .annotations = MCP_READ_ONLY,
     .start = tool_greet},
    {.name = "slow_compute",
     .description = "Sleeps `seconds`, then answers (a task; 0 answers at once)",
     MCP_ARGS(struct slow_args, slow_rows),
     .annotations = MCP_READ_ONLY,
     .task_support = MCP_TASK_OPTIONAL,
     .start = tool_slow_compute},
    {.name = "failing_job",
     .description = "Fails with a tool error after a second (only as a task)",
     .annotations = MCP_READ_ONLY,
     .task_support = MCP_TASK_REQUIRED,
     .start = tool_failing_job},
    {.name = "protocol_error_job",
     .description = "Ends with a JSON-RPC error (a task)",
     .annotations = MCP_READ_ONLY,
     .task_support = MCP_TASK_OPTIONAL,
     .start = tool_protocol_error_job},
    {.name = "confirm_delete",
     .description = "Asks before it deletes (a task that needs input)",
     MCP_ARGS(struct delete_args, delete_rows),
     .task_support = MCP_TASK_OPTIONAL,
     .start = tool_confirm_delete},
    {.name = "multi_input",
     .description = "Asks two questions at once (a task)",
     .annotations = MCP_READ_ONLY,
     .task_support = MCP_TASK_OPTIONAL,
     .start = tool_multi_input},
    {.name = "test_tool_with_task",
     .description = "Asks the user's name, then greets it from a task",
     .annotations = MCP_READ_ONLY,
     .task_support = MCP_TASK_REQUIRED,
     .start = tool_with_task},
};

int fixture_tasks_register(struct mcp_server *server)
{
    for (size_t i = 0; i < sizeof(task_tools) / sizeof(task_tools[0]); i++)
        if (mcp_server_add_tool(server, &task_tools[i]) != 0)
            return -1;
    return 0;
}
