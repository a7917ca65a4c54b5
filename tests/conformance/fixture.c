/* sanzaru-conformance: the fixture server for the official MCP conformance suite
 * (@modelcontextprotocol/conformance 0.1.16, "active" server scenarios, and 0.2.0-alpha.12,
 * every server scenario of 2025-11-25 and 2026-07-28; the rows only the 2026-07-28
 * scenarios call live in fixture_modern.c).
 *
 * It is the real engine and the real Streamable HTTP transport with the tools, resources
 * and prompts that the suite's scenarios call by name (the same set as the suite's own
 * everything-server), so a failing scenario points at the engine or the transport, never
 * at a stand-in. Usage:
 *   sanzaru-conformance [--host H] [--port P] [--stateless] [--log-level L]
 * It logs "http: listening on http://H:P/mcp" to stderr once it accepts connections and
 * shuts down cleanly on SIGINT/SIGTERM. */
#include "fmacros.h"

#include "app/config.h"
#include "core/err.h"
#include "core/log.h"
#include "fixture.h"
#include "mcp/server.h"
#include "transport/http.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

/* A 1x1 red PNG and a tiny WAV, base64, as in the suite's reference server. */
static const char TEST_PNG[] =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAF"
    "BQIAX8jx0gAAAABJRU5ErkJggg==";
static const char TEST_WAV[] = "UklGRiYAAABXQVZFZm10IBAAAAABAAEAQB8AAAB9AAACABAAZGF0YQIAAAA=";

static json_t *text_block(const char *text)
{
    return json_pack("{s:s, s:s}", "type", "text", "text", text);
}

static json_t *image_block(void)
{
    return json_pack("{s:s, s:s, s:s}", "type", "image", "data", TEST_PNG, "mimeType", "image/png");
}

static void finish_text(struct mcp_call *call, const char *text)
{
    mcp_call_finish_result(call, json_pack("{s:[o]}", "content", text_block(text)));
}

/* ---- content tools ------------------------------------------------------------ */

static void tool_simple_text(struct mcp_call *call, const void *args)
{
    (void)args;
    finish_text(call, "This is a simple text response for testing.");
}

static void tool_image(struct mcp_call *call, const void *args)
{
    (void)args;
    mcp_call_finish_result(call, json_pack("{s:[o]}", "content", image_block()));
}

static void tool_audio(struct mcp_call *call, const void *args)
{
    (void)args;
    mcp_call_finish_result(call, json_pack("{s:[{s:s, s:s, s:s}]}", "content", "type", "audio",
                                           "data", TEST_WAV, "mimeType", "audio/wav"));
}

static void tool_embedded_resource(struct mcp_call *call, const void *args)
{
    (void)args;
    mcp_call_finish_result(call, json_pack("{s:[{s:s, s:{s:s, s:s, s:s}}]}", "content", "type",
                                           "resource", "resource", "uri",
                                           "test://embedded-resource", "mimeType", "text/plain",
                                           "text", "This is an embedded resource content."));
}

static void tool_multiple(struct mcp_call *call, const void *args)
{
    (void)args;
    mcp_call_finish_result(
        call, json_pack("{s:[o, o, {s:s, s:{s:s, s:s, s:s}}]}", "content",
                        text_block("Multiple content types test:"), image_block(), "type",
                        "resource", "resource", "uri", "test://mixed-content-resource", "mimeType",
                        "application/json", "text", "{\"test\":\"data\",\"value\":123}"));
}

static void tool_error(struct mcp_call *call, const void *args)
{
    (void)args;
    mcp_call_fail(call, "This tool intentionally returns an error for testing");
}

/* ---- timed tools: logging and progress ---------------------------------------- */

/* Steps a call through a few timer ticks; honours cancellation. */
struct stepper {
    uv_timer_t timer;
    struct mcp_call *call; /* NULL once finished */
    int step;
    bool progress; /* progress steps, else log steps */
};

static void stepper_closed(uv_handle_t *h)
{
    free(h->data);
}

static void stepper_done(struct stepper *st)
{
    st->call = NULL;
    uv_timer_stop(&st->timer);
    uv_close((uv_handle_t *)&st->timer, stepper_closed);
}

static void stepper_cancel(struct mcp_call *call, void *data)
{
    struct stepper *st = data;
    (void)call;
    if (st->call == NULL)
        return;
    mcp_call_fail(st->call, "cancelled");
    stepper_done(st);
}

static void stepper_tick(uv_timer_t *h)
{
    static const char *const logs[] = {"Tool execution started", "Tool processing data",
                                       "Tool execution completed"};
    struct stepper *st = h->data;
    struct mcp_call *call = st->call;

    if (st->progress)
        mcp_call_progress(call, st->step * 50.0, 100.0, NULL);
    else
        mcp_call_log(call, SZ_LOG_INFO, "%s", logs[st->step]);
    if (++st->step < 3) {
        /* 60 ms: the engine thins progress to one per 50 ms */
        uv_timer_start(&st->timer, stepper_tick, 60, 0);
        return;
    }
    stepper_done(st);
    finish_text(call, st->progress ? "Tool with progress executed successfully"
                                   : "Tool with logging executed successfully");
}

static void start_stepper(struct mcp_call *call, bool progress)
{
    struct stepper *st = calloc(1, sizeof(*st));
    if (st == NULL) {
        mcp_call_fail(call, "out of memory");
        return;
    }
    st->call = call;
    st->progress = progress;
    uv_timer_init(mcp_call_loop(call), &st->timer);
    st->timer.data = st;
    mcp_call_on_cancel(call, stepper_cancel, st);
    stepper_tick(&st->timer);
}

static void tool_logging(struct mcp_call *call, const void *args)
{
    (void)args;
    start_stepper(call, false);
}

static void tool_progress(struct mcp_call *call, const void *args)
{
    (void)args;
    start_stepper(call, true);
}

/* ---- server-to-client requests: sampling and elicitation ------------------------ */

static void on_sampling(struct mcp_call *call, const json_t *result, const json_t *error,
                        void *data)
{
    const char *text = NULL;
    char buf[1024];

    (void)data;
    if (result != NULL)
        text = json_string_value(json_object_get(json_object_get(result, "content"), "text"));
    if (text != NULL)
        snprintf(buf, sizeof(buf), "LLM response: %s", text);
    else
        snprintf(buf, sizeof(buf), "Sampling not supported or error: %s",
                 error ? json_string_value(json_object_get(error, "message")) : "no answer");
    finish_text(call, buf);
}

/* The tools that take one string: prompt, message or text. */
struct one_arg {
    const char *value;
};

static void tool_sampling(struct mcp_call *call, const void *args)
{
    const char *prompt = ((const struct one_arg *)args)->value;
    json_t *params =
        json_pack("{s:[{s:s, s:{s:s, s:s}}], s:i}", "messages", "role", "user", "content", "type",
                  "text", "text", prompt ? prompt : "", "maxTokens", 100);
    if (mcp_call_request(call, "sampling/createMessage", params, 0, on_sampling, NULL) != 0)
        finish_text(call, "Sampling not supported or error: the request could not be sent");
}

static void on_elicited(struct mcp_call *call, const json_t *result, const json_t *error,
                        void *data)
{
    char buf[2048];
    char *content = NULL;

    (void)data;
    if (result != NULL) {
        const json_t *c = json_object_get(result, "content");
        content = c ? json_dumps(c, JSON_COMPACT) : NULL;
        snprintf(buf, sizeof(buf), "%s: action=%s, content=%s",
                 (const char *)mcp_call_tool_data(call),
                 json_string_value(json_object_get(result, "action")), content ? content : "{}");
    } else {
        snprintf(buf, sizeof(buf), "Elicitation not supported or error: %s",
                 error ? json_string_value(json_object_get(error, "message")) : "no answer");
    }
    free(content);
    finish_text(call, buf);
}

static void elicit(struct mcp_call *call, const char *message, const char *schema_text)
{
    json_t *schema = json_loads(schema_text, 0, NULL);
    json_t *params = json_pack("{s:s, s:o}", "message", message, "requestedSchema", schema);
    if (mcp_call_request(call, "elicitation/create", params, 0, on_elicited, NULL) != 0)
        finish_text(call, "Elicitation not supported or error: the request could not be sent");
}

static void tool_elicitation(struct mcp_call *call, const void *args)
{
    const char *message = ((const struct one_arg *)args)->value;
    elicit(call, message ? message : "",
           "{\"type\":\"object\",\"properties\":{"
           "\"username\":{\"type\":\"string\",\"description\":\"User's response\"},"
           "\"email\":{\"type\":\"string\",\"description\":\"User's email address\"}},"
           "\"required\":[\"username\",\"email\"]}");
}

static void tool_elicitation_defaults(struct mcp_call *call, const void *args)
{
    (void)args;
    elicit(call, "Please review and update the form fields with defaults",
           "{\"type\":\"object\",\"properties\":{"
           "\"name\":{\"type\":\"string\",\"description\":\"User name\",\"default\":\"John "
           "Doe\"},"
           "\"age\":{\"type\":\"integer\",\"description\":\"User age\",\"default\":30},"
           "\"score\":{\"type\":\"number\",\"description\":\"User score\",\"default\":95.5},"
           "\"status\":{\"type\":\"string\",\"description\":\"User status\","
           "\"enum\":[\"active\",\"inactive\",\"pending\"],\"default\":\"active\"},"
           "\"verified\":{\"type\":\"boolean\",\"description\":\"Verification "
           "status\",\"default\":true}},"
           "\"required\":[]}");
}

static void tool_elicitation_enums(struct mcp_call *call, const void *args)
{
    (void)args;
    elicit(call, "Please select options from the enum fields",
           "{\"type\":\"object\",\"properties\":{"
           "\"untitledSingle\":{\"type\":\"string\",\"description\":\"Select one option\","
           "\"enum\":[\"option1\",\"option2\",\"option3\"]},"
           "\"titledSingle\":{\"type\":\"string\",\"description\":\"Select one option with "
           "titles\",\"oneOf\":[{\"const\":\"value1\",\"title\":\"First Option\"},"
           "{\"const\":\"value2\",\"title\":\"Second Option\"},"
           "{\"const\":\"value3\",\"title\":\"Third Option\"}]},"
           "\"legacyEnum\":{\"type\":\"string\",\"description\":\"Select one option (legacy)\","
           "\"enum\":[\"opt1\",\"opt2\",\"opt3\"],"
           "\"enumNames\":[\"Option One\",\"Option Two\",\"Option Three\"]},"
           "\"untitledMulti\":{\"type\":\"array\",\"description\":\"Select multiple options\","
           "\"minItems\":1,\"maxItems\":3,\"items\":{\"type\":\"string\","
           "\"enum\":[\"option1\",\"option2\",\"option3\"]}},"
           "\"titledMulti\":{\"type\":\"array\",\"description\":\"Select multiple options with "
           "titles\",\"minItems\":1,\"maxItems\":3,\"items\":{\"anyOf\":["
           "{\"const\":\"value1\",\"title\":\"First Choice\"},"
           "{\"const\":\"value2\",\"title\":\"Second Choice\"},"
           "{\"const\":\"value3\",\"title\":\"Third Choice\"}]}}},"
           "\"required\":[]}");
}

/* Not used by the suite: sends a log that belongs to no request, which the HTTP transport
 * must route to the session's GET stream (the HTTP end-to-end tests check that). */
static void tool_session_log(struct mcp_call *call, const void *args)
{
    const char *text = ((const struct one_arg *)args)->value;
    mcp_session_log(mcp_call_session(call), SZ_LOG_WARNING, "fixture", "%s", text ? text : "");
    finish_text(call, "logged");
}

#define ONE_ARG(argname, desc)                                                                     \
    {                                                                                              \
        .name = (argname), .type = MCP_ARG_STRING, .flags = MCP_ARG_REQUIRED,                      \
        .off = offsetof(struct one_arg, value), .description = (desc)                              \
    }

static const struct mcp_arg prompt_arg[] = {ONE_ARG("prompt", "The prompt to send to the LLM")};
static const struct mcp_arg message_arg[] = {ONE_ARG("message", "The message to show the user")};
static const struct mcp_arg text_arg[] = {ONE_ARG("text", "The message")};

/* A tool of the suite's everything-server: no output schema, read-only. */
#define TOOL(tname, ttitle, tdesc, fn)                                                             \
    .name = (tname), .title = (ttitle), .description = (tdesc), .annotations = MCP_READ_ONLY,      \
    .start = (fn)

static const struct mcp_tool tools[] = {
    {TOOL("test_simple_text", "Simple text", "Tests simple text content response",
          tool_simple_text)},
    {TOOL("test_image_content", "Image content", "Tests image content response", tool_image)},
    {TOOL("test_audio_content", "Audio content", "Tests audio content response", tool_audio)},
    {TOOL("test_embedded_resource", "Embedded resource", "Tests embedded resource content response",
          tool_embedded_resource)},
    {TOOL("test_multiple_content_types", "Multiple content types",
          "Tests response with multiple content types (text, image, resource)", tool_multiple)},
    {TOOL("test_tool_with_logging", "Logging",
          "Tests tool that emits log messages during execution", tool_logging)},
    {TOOL("test_tool_with_progress", "Progress", "Tests tool that reports progress notifications",
          tool_progress)},
    {TOOL("test_error_handling", "Error", "Tests error response handling", tool_error)},
    {TOOL("test_sampling", "Sampling", "Tests server-initiated sampling (LLM completion request)",
          tool_sampling),
     MCP_ARGS(struct one_arg, prompt_arg)},
    {TOOL("test_elicitation", "Elicitation",
          "Tests server-initiated elicitation (user input request)", tool_elicitation),
     MCP_ARGS(struct one_arg, message_arg), .data = (void *)(uintptr_t) "User response"},
    {TOOL("test_elicitation_sep1034_defaults", "Elicitation defaults",
          "Tests elicitation with default values per SEP-1034", tool_elicitation_defaults),
     .data = (void *)(uintptr_t) "Elicitation completed"},
    {TOOL("test_elicitation_sep1330_enums", "Elicitation enums",
          "Tests elicitation with enum schema improvements per SEP-1330", tool_elicitation_enums),
     .data = (void *)(uintptr_t) "Elicitation completed"},
    {TOOL("fixture_session_log", "Session log", "Sends a log message that belongs to no request",
          tool_session_log),
     MCP_ARGS(struct one_arg, text_arg)},
};

/* ---- resources ------------------------------------------------------------------- */

static void list_one(struct mcp_call *call, void *data)
{
    const struct mcp_resource_provider *p = data;
    json_t *item = json_pack("{s:s, s:s, s:s, s:s, s:s}", "uri", p->uri, "name", p->name, "title",
                             p->title, "description", p->description, "mimeType", p->mime_type);
    mcp_call_finish_list(call, json_pack("[o]", item), 0);
}

static void read_static(struct mcp_call *call, const char *uri, void *data)
{
    const struct mcp_resource_provider *p = data;
    json_t *content = json_pack("{s:s, s:s}", "uri", uri, "mimeType", p->mime_type);

    if (strcmp(uri, "test://static-binary") == 0)
        json_object_set_new(content, "blob", json_string(TEST_PNG));
    else if (strcmp(uri, "test://static-text") == 0)
        json_object_set_new(content, "text",
                            json_string("This is the content of the static text resource."));
    else
        json_object_set_new(content, "text", json_string("Watched resource content"));
    mcp_call_finish_result(call, json_pack("{s:[o]}", "contents", content));
}

static void read_template(struct mcp_call *call, const char *uri, void *data)
{
    static const char prefix[] = "test://template/";
    static const char suffix[] = "/data";
    size_t n = strlen(uri);
    size_t plen = sizeof(prefix) - 1, slen = sizeof(suffix) - 1;
    char id[256];
    json_t *text;
    char *dumped;

    (void)data;
    if (n <= plen + slen || strncmp(uri, prefix, plen) != 0 ||
        strcmp(uri + n - slen, suffix) != 0 || n - plen - slen >= sizeof(id)) {
        mcp_call_finish_error(call, MCP_RESOURCE_NOT_FOUND, "Resource not found: %s", uri);
        return;
    }
    memcpy(id, uri + plen, n - plen - slen);
    id[n - plen - slen] = '\0';
    text = json_pack("{s:s, s:b, s:s+}", "id", id, "templateTest", 1, "data", "Data for ID: ", id);
    dumped = json_dumps(text, JSON_COMPACT);
    json_decref(text);
    mcp_call_finish_result(call,
                           json_pack("{s:[{s:s, s:s, s:s}]}", "contents", "uri", uri, "mimeType",
                                     "application/json", "text", dumped ? dumped : "{}"));
    free(dumped);
}

static struct mcp_resource_provider resources[] = {
    {"test://static-text", NULL, "static-text", "Static Text Resource",
     "A static text resource for testing", "text/plain", list_one, read_static, NULL, NULL},
    {"test://static-binary", NULL, "static-binary", "Static Binary Resource",
     "A static binary resource (image) for testing", "image/png", list_one, read_static, NULL,
     NULL},
    {"test://watched-resource", NULL, "watched-resource", "Watched Resource",
     "A resource that can be subscribed to", "text/plain", list_one, read_static, NULL, NULL},
    {NULL, "test://template/{id}/data", "template", "Resource Template",
     "A resource template with parameter substitution", "application/json", NULL, read_template,
     NULL, NULL},
};

/* ---- prompts ---------------------------------------------------------------------- */

static json_t *user_message(json_t *content)
{
    return json_pack("{s:s, s:o}", "role", "user", "content", content);
}

static void prompt_simple(struct mcp_call *call, json_t *args, void *data)
{
    (void)args;
    (void)data;
    mcp_call_finish_result(
        call, json_pack("{s:[o]}", "messages",
                        user_message(text_block("This is a simple prompt for testing."))));
}

static void prompt_args(struct mcp_call *call, json_t *args, void *data)
{
    char buf[1024];
    const char *a1 = json_string_value(json_object_get(args, "arg1"));
    const char *a2 = json_string_value(json_object_get(args, "arg2"));
    (void)data;
    snprintf(buf, sizeof(buf), "Prompt with arguments: arg1='%s', arg2='%s'", a1 ? a1 : "",
             a2 ? a2 : "");
    mcp_call_finish_result(call, json_pack("{s:[o]}", "messages", user_message(text_block(buf))));
}

static void prompt_embedded(struct mcp_call *call, json_t *args, void *data)
{
    const char *uri = json_string_value(json_object_get(args, "resourceUri"));
    (void)data;
    mcp_call_finish_result(
        call, json_pack("{s:[o, o]}", "messages",
                        user_message(json_pack("{s:s, s:{s:s, s:s, s:s}}", "type", "resource",
                                               "resource", "uri", uri ? uri : "test://example",
                                               "mimeType", "text/plain", "text",
                                               "Embedded resource content for testing.")),
                        user_message(text_block("Please process the embedded resource above."))));
}

static void prompt_image(struct mcp_call *call, json_t *args, void *data)
{
    (void)args;
    (void)data;
    mcp_call_finish_result(call,
                           json_pack("{s:[o, o]}", "messages", user_message(image_block()),
                                     user_message(text_block("Please analyze the image above."))));
}

/* Suggests values for arg1/arg2 that start with what was typed. */
static void complete_args(struct mcp_call *call, const char *argument, const char *value,
                          void *data)
{
    static const char *const words[] = {"paris", "park", "party", "test-value", "testing"};
    json_t *values = json_array();
    (void)argument;
    (void)data;
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (value == NULL || strncmp(words[i], value, strlen(value)) == 0)
            json_array_append_new(values, json_string(words[i]));
    mcp_call_finish_result(call,
                           json_pack("{s:{s:o, s:I, s:b}}", "completion", "values", values, "total",
                                     (json_int_t)json_array_size(values), "hasMore", 0));
}

static const struct mcp_prompt prompts[] = {
    {"test_simple_prompt", "Simple Test Prompt", "A simple prompt without arguments", NULL,
     prompt_simple, NULL, NULL},
    {"test_prompt_with_arguments", "Prompt With Arguments", "A prompt with required arguments",
     "[{\"name\":\"arg1\",\"description\":\"First test argument\",\"required\":true},"
     "{\"name\":\"arg2\",\"description\":\"Second test argument\",\"required\":true}]",
     prompt_args, complete_args, NULL},
    {"test_prompt_with_embedded_resource", "Prompt With Embedded Resource",
     "A prompt that includes an embedded resource",
     "[{\"name\":\"resourceUri\",\"description\":\"URI of the resource to "
     "embed\",\"required\":true}]",
     prompt_embedded, NULL, NULL},
    {"test_prompt_with_image", "Prompt With Image", "A prompt that includes image content", NULL,
     prompt_image, NULL, NULL},
};

/* ---- main ------------------------------------------------------------------------- */

struct app {
    uv_signal_t sigint;
    uv_signal_t sigterm;
    struct http_transport *http;
    struct mcp_server *server;
};

static void on_http_closed(void *data)
{
    struct app *app = data;
    app->http = NULL;
    /* Tasks still running stop too (their timers close); then nothing is left. */
    mcp_server_close_tasks(app->server, NULL, NULL);
    uv_close((uv_handle_t *)&app->sigint, NULL);
    uv_close((uv_handle_t *)&app->sigterm, NULL);
}

static void on_signal(uv_signal_t *h, int signum)
{
    struct app *app = h->data;
    SZ_INFO("conformance fixture: signal %d, shutting down", signum);
    uv_signal_stop(&app->sigint);
    uv_signal_stop(&app->sigterm);
    http_transport_close(app->http, on_http_closed, app);
}

static int usage(const char *why)
{
    fprintf(stderr,
            "sanzaru-conformance: %s\nusage: sanzaru-conformance [--host H] [--port P] "
            "[--stateless] [--log-level L]\n",
            why);
    return 2;
}

int main(int argc, char **argv)
{
    uv_loop_t *loop = uv_default_loop();
    struct mcp_server *server;
    struct http_options o;
    struct app app;
    char err[512];
    enum sz_log_level level = SZ_LOG_INFO;
    const char *env_level = getenv("LOG_LEVEL");
    int rc;

    memset(&app, 0, sizeof(app));
    if (env_level != NULL && sz_log_parse_level(env_level, &level) != 0)
        return usage("LOG_LEVEL is not a level");
    if (sz_config_http(NULL, &o, err, sizeof(err)) != 0)
        return usage(err);
    o.token = getenv("SANZARU_HTTP_TOKEN");
    o.allowed_origins = getenv("SANZARU_ALLOWED_ORIGINS");
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--stateless") == 0) {
            o.stateless = true;
        } else if (strcmp(a, "--host") == 0 && v != NULL) {
            o.host = v;
            i++;
        } else if (strcmp(a, "--port") == 0 && v != NULL) {
            char *end = NULL;
            unsigned long p = strtoul(v, &end, 10);
            if (end == v || *end != '\0' || p > 65535)
                return usage("--port needs a number from 0 to 65535");
            o.port = (unsigned)p;
            i++;
        } else if (strcmp(a, "--log-level") == 0 && v != NULL) {
            if (sz_log_parse_level(v, &level) != 0)
                return usage("--log-level needs debug, info, warning or error");
            i++;
        } else {
            return usage("unknown argument");
        }
    }
    sz_log_set_level(level);

    server = mcp_server_new(loop, "sanzaru-conformance", SZ_VERSION,
                            "Fixture server for the MCP conformance suite.");
    if (server == NULL)
        return 1;
    for (size_t i = 0; i < sizeof(tools) / sizeof(tools[0]); i++)
        if (mcp_server_add_tool(server, &tools[i]) != 0)
            return 1;
    for (size_t i = 0; i < sizeof(resources) / sizeof(resources[0]); i++) {
        resources[i].data = &resources[i];
        if (mcp_server_add_resource(server, &resources[i]) != 0)
            return 1;
    }
    for (size_t i = 0; i < sizeof(prompts) / sizeof(prompts[0]); i++)
        if (mcp_server_add_prompt(server, &prompts[i]) != 0)
            return 1;
    if (fixture_modern_register(server) != 0 || fixture_tasks_register(server) != 0)
        return 1;
    app.server = server;

    rc = http_transport_start(loop, server, &o, &app.http, err, sizeof(err));
    if (rc != 0) {
        fprintf(stderr, "sanzaru-conformance: %s\n", err);
        mcp_server_free(server);
        return 1;
    }
    uv_signal_init(loop, &app.sigint);
    uv_signal_init(loop, &app.sigterm);
    app.sigint.data = app.sigterm.data = &app;
    uv_signal_start(&app.sigint, on_signal, SIGINT);
    uv_signal_start(&app.sigterm, on_signal, SIGTERM);
    uv_run(loop, UV_RUN_DEFAULT);
    mcp_server_free(server);
    rc = uv_loop_close(loop);
    if (rc != 0)
        SZ_WARN("conformance fixture: loop closed with handles open: %s", uv_strerror(rc));
    return 0;
}
