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

static void sleepy_start(struct mcp_call *call, json_t *args)
{
    struct sleepy *s = calloc(1, sizeof(*s));
    json_t *steps = json_object_get(args, "steps");
    uint64_t interval;

    if (s == NULL) {
        mcp_call_fail(call, "out of memory");
        return;
    }
    s->call = call;
    s->ms = json_integer_value(json_object_get(args, "ms"));
    s->steps = steps ? json_integer_value(steps) : 1;
    s->fail = json_is_true(json_object_get(args, "fail"));
    interval = (uint64_t)(s->ms / s->steps);
    uv_timer_init(mcp_call_loop(call), &s->timer);
    s->timer.data = s;
    mcp_call_on_cancel(call, sleepy_cancel, s);
    uv_timer_start(&s->timer, sleepy_tick, interval, interval ? interval : 1);
}

static void echo_start(struct mcp_call *call, json_t *args)
{
    mcp_call_finish(call, json_deep_copy(args));
}

static void notify_start(struct mcp_call *call, json_t *args)
{
    const char *text = json_string_value(json_object_get(args, "text"));
    mcp_call_log(call, SZ_LOG_INFO, "%s", text);
    mcp_call_finish(call, json_pack("{s:s}", "text", text));
}

static const struct mcp_tool test_tools[] = {
    {
        .name = "sleepy",
        .title = "Sleep (test)",
        .description = "Test tool: waits, reporting progress; honours cancellation.",
        .input_schema = "{\"type\":\"object\",\"properties\":{"
                        "\"ms\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":600000},"
                        "\"steps\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":10000},"
                        "\"fail\":{\"type\":\"boolean\"}},"
                        "\"required\":[\"ms\"],\"additionalProperties\":false}",
        .output_schema = "{\"type\":\"object\",\"properties\":{"
                         "\"slept_ms\":{\"type\":\"integer\"},\"steps\":{\"type\":\"integer\"}},"
                         "\"required\":[\"slept_ms\",\"steps\"]}",
        .annotations = MCP_READ_ONLY,
        .start = sleepy_start,
    },
    {
        .name = "echo",
        .title = "Echo (test)",
        .description = "Test tool: returns its arguments.",
        .input_schema = "{\"type\":\"object\",\"properties\":{"
                        "\"text\":{\"type\":\"string\",\"minLength\":1},"
                        "\"mode\":{\"type\":\"string\",\"enum\":[\"a\",\"b\"]},"
                        "\"count\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":5},"
                        "\"tags\":{\"type\":\"array\",\"items\":{\"type\":\"string\"},"
                        "\"maxItems\":3}},"
                        "\"required\":[\"text\"],\"additionalProperties\":false}",
        .output_schema = "{\"type\":\"object\",\"properties\":{\"text\":{\"type\":\"string\"}},"
                         "\"required\":[\"text\"]}",
        .annotations = MCP_READ_ONLY,
        .start = echo_start,
    },
    {
        .name = "notify",
        .title = "Log (test)",
        .description = "Test tool: sends its text as a log notification.",
        .input_schema = "{\"type\":\"object\",\"properties\":{\"text\":{\"type\":\"string\"}},"
                        "\"required\":[\"text\"],\"additionalProperties\":false}",
        .output_schema = NULL,
        .annotations = MCP_READ_ONLY,
        .start = notify_start,
    },
};

static int register_test_tools(struct mcp_server *server, struct sz_app *app)
{
    (void)app;
    for (size_t i = 0; i < sizeof(test_tools) / sizeof(test_tools[0]); i++)
        if (mcp_server_add_tool(server, &test_tools[i]) != 0)
            return -1;
    return 0;
}

int main(int argc, char **argv)
{
    return sz_main(argc, argv, register_test_tools);
}
