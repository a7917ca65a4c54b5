/* sanzaru-testserver: the real server plus test-only tools, so end-to-end tests
 * can exercise progress, cancellation, concurrency and argument validation
 * without OpenAI. Not installed; built only with the tests.
 *
 *   sleepy {ms, steps?, fail?}  waits ms in `steps` timer steps, reporting
 *                                progress after each; honours cancellation.
 *   echo {text, mode?, count?}  returns its arguments (schema-validation target).
 *   notify {text}                logs `text` to the client and returns. */
#include "fmacros.h"

#include "app/app.h"
#include "mcp/server.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

struct sleepy {
    uv_timer_t timer;
    struct mcp_call *call;
    json_int_t step, steps, ms;
    int fail;
    int cancelled;
};

static void sleepy_closed(uv_handle_t *h)
{
    free(h->data);
}

static void sleepy_end(struct sleepy *s)
{
    struct mcp_call *call = s->call;

    uv_timer_stop(&s->timer);
    uv_close((uv_handle_t *)&s->timer, sleepy_closed);
    if (s->cancelled)
        mcp_call_fail(call, "cancelled");
    else if (s->fail)
        mcp_call_fail(call, "sleepy failed on purpose after %lld ms", (long long)s->ms);
    else
        mcp_call_finish(call, json_pack("{s:I, s:I}", "slept_ms", s->ms, "steps", s->steps));
}

static void sleepy_tick(uv_timer_t *timer)
{
    struct sleepy *s = timer->data;

    s->step++;
    mcp_call_progress(s->call, (double)s->step, (double)s->steps, "sleeping");
    if (s->step >= s->steps)
        sleepy_end(s);
}

static void sleepy_cancel(struct mcp_call *call, void *data)
{
    struct sleepy *s = data;
    (void)call;
    s->cancelled = 1;
    sleepy_end(s);
}

struct sleepy_args {
    long long ms;
    long long steps; /* 0 when absent: one step */
    bool fail;
};

static void sleepy_start(struct mcp_call *call, const void *args)
{
    const struct sleepy_args *a = args;
    struct sleepy *s = calloc(1, sizeof(*s));
    uint64_t interval;

    if (s == NULL) {
        mcp_call_fail(call, "out of memory");
        return;
    }
    s->call = call;
    s->ms = a->ms;
    s->steps = a->steps > 0 ? a->steps : 1;
    s->fail = a->fail;
    interval = (uint64_t)(s->ms / s->steps);
    uv_timer_init(mcp_call_loop(call), &s->timer);
    s->timer.data = s;
    mcp_call_on_cancel(call, sleepy_cancel, s);
    uv_timer_start(&s->timer, sleepy_tick, interval, interval ? interval : 1);
}

struct echo_args {
    const char *text;
    int mode;
    long long count;
    struct mcp_strings tags;
};

static void echo_start(struct mcp_call *call, const void *args)
{
    (void)args; /* validated; the result is the arguments as sent */
    mcp_call_finish(call, json_deep_copy(mcp_call_args(call)));
}

struct text_args {
    const char *text;
};

static void notify_start(struct mcp_call *call, const void *args)
{
    const struct text_args *a = args;
    mcp_call_log(call, SZ_LOG_INFO, "%s", a->text);
    mcp_call_finish(call, json_pack("{s:s}", "text", a->text));
}

static const struct mcp_arg sleepy_rows[] = {
    {.name = "ms",
     .type = MCP_ARG_INT,
     .flags = MCP_ARG_REQUIRED,
     .off = offsetof(struct sleepy_args, ms),
     .min = MCP_LIMIT(0),
     .max = MCP_LIMIT(600000)},
    {.name = "steps",
     .type = MCP_ARG_INT,
     .off = offsetof(struct sleepy_args, steps),
     .min = MCP_LIMIT(1),
     .max = MCP_LIMIT(10000)},
    {.name = "fail", .type = MCP_ARG_BOOL, .off = offsetof(struct sleepy_args, fail)},
};
static const struct mcp_field sleepy_fields[] = {
    {.name = "slept_ms", .types = MCP_T_INTEGER, .required = true},
    {.name = "steps", .types = MCP_T_INTEGER, .required = true},
};
static const struct mcp_field sleepy_result = {.types = MCP_T_OBJECT, MCP_FIELDS(sleepy_fields)};

static const char *const echo_modes[] = {"a", "b", NULL};
static const struct mcp_arg echo_rows[] = {
    {.name = "text",
     .type = MCP_ARG_STRING,
     .flags = MCP_ARG_REQUIRED,
     .off = offsetof(struct echo_args, text),
     .min = MCP_LIMIT(1)},
    {.name = "mode",
     .type = MCP_ARG_ENUM,
     .off = offsetof(struct echo_args, mode),
     .values = echo_modes},
    {.name = "count",
     .type = MCP_ARG_INT,
     .off = offsetof(struct echo_args, count),
     .min = MCP_LIMIT(1),
     .max = MCP_LIMIT(5)},
    {.name = "tags",
     .type = MCP_ARG_STRINGS,
     .off = offsetof(struct echo_args, tags),
     .max_items = 3},
};
static const struct mcp_field text_fields[] = {
    {.name = "text", .types = MCP_T_STRING, .required = true},
};
static const struct mcp_field text_result = {.types = MCP_T_OBJECT, MCP_FIELDS(text_fields)};

static const struct mcp_arg notify_rows[] = {
    {.name = "text",
     .type = MCP_ARG_STRING,
     .flags = MCP_ARG_REQUIRED,
     .off = offsetof(struct text_args, text)},
};

static const struct mcp_tool test_tools[] = {
    {
        .name = "sleepy",
        .title = "Sleep (test)",
        .description = "Test tool: waits, reporting progress; honours cancellation.",
        MCP_ARGS(struct sleepy_args, sleepy_rows),
        .output = &sleepy_result,
        .annotations = MCP_READ_ONLY,
        .start = sleepy_start,
    },
    {
        .name = "echo",
        .title = "Echo (test)",
        .description = "Test tool: returns its arguments.",
        MCP_ARGS(struct echo_args, echo_rows),
        .output = &text_result,
        .annotations = MCP_READ_ONLY,
        .start = echo_start,
    },
    {
        .name = "notify",
        .title = "Log (test)",
        .description = "Test tool: sends its text as a log notification.",
        MCP_ARGS(struct text_args, notify_rows),
        .annotations = MCP_READ_ONLY,
        .start = notify_start,
    },
};

static int register_test_tools(struct mcp_server *server, struct tools_ctx *tools)
{
    (void)tools;
    for (size_t i = 0; i < sizeof(test_tools) / sizeof(test_tools[0]); i++)
        if (mcp_server_add_tool(server, &test_tools[i]) != 0)
            return -1;
    return 0;
}

int main(int argc, char **argv)
{
    return sz_main(argc, argv, register_test_tools);
}
