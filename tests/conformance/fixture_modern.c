/* The conformance fixture's rows for MCP 2026-07-28 (@modelcontextprotocol/conformance
 * 0.2.0-alpha.12): the diagnostic tools and the prompt its server-stateless,
 * input-required-result-*, http-custom-header-server-validation and json-schema-2020-12
 * scenarios call by name. Each does exactly what the scenario's description asks, through
 * the engine's public API (mcp_call_input_response, mcp_call_request_state,
 * mcp_call_finish_input_required, mcp_call_finish_missing_capability,
 * mcp_server_list_changed), so a failing scenario points at the engine. */
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

/* An elicitation/create input request asking for one string (or boolean) field. */
static json_t *elicit_req(const char *message, const char *field, const char *type)
{
    return json_pack("{s:s, s:{s:s, s:{s:s, s:{s:{s:s}}, s:[s]}}}", "method", "elicitation/create",
                     "params", "message", message, "requestedSchema", "type", "object",
                     "properties", field, "type", type, "required", field);
}

static json_t *sampling_req(const char *text, int max_tokens)
{
    return json_pack("{s:s, s:{s:[{s:s, s:{s:s, s:s}}], s:i}}", "method", "sampling/createMessage",
                     "params", "messages", "role", "user", "content", "type", "text", "text", text,
                     "maxTokens", max_tokens);
}

static json_t *roots_req(void)
{
    return json_pack("{s:s, s:{}}", "method", "roots/list", "params");
}

/* The accepted content field of an elicitation answer, or NULL. */
static const char *answer_field(const struct mcp_call *call, const char *key, const char *field)
{
    const json_t *r = mcp_call_input_response(call, key);
    return json_string_value(json_object_get(json_object_get(r, "content"), field));
}

static void tool_irr_elicitation(struct mcp_call *call, const void *args)
{
    const char *name = answer_field(call, "user_name", "name");
    char text[256];

    (void)args;
    if (name == NULL) {
        mcp_call_finish_input_required(
            call,
            json_pack("{s:o}", "user_name", elicit_req("What is your name?", "name", "string")),
            NULL);
        return;
    }
    snprintf(text, sizeof(text), "Hello, %s!", name);
    mcp_call_finish_result(call, text_result(text));
}

static void tool_irr_sampling(struct mcp_call *call, const void *args)
{
    const json_t *r = mcp_call_input_response(call, "capital_question");
    const char *text = json_string_value(json_object_get(json_object_get(r, "content"), "text"));

    (void)args;
    if (text == NULL) {
        mcp_call_finish_input_required(
            call,
            json_pack("{s:o}", "capital_question",
                      sampling_req("What is the capital of France?", 100)),
            NULL);
        return;
    }
    mcp_call_finish_result(call, text_result(text));
}

static void tool_irr_roots(struct mcp_call *call, const void *args)
{
    const json_t *roots = json_object_get(mcp_call_input_response(call, "client_roots"), "roots");
    char text[512];

    (void)args;
    if (!json_is_array(roots)) {
        mcp_call_finish_input_required(call, json_pack("{s:o}", "client_roots", roots_req()), NULL);
        return;
    }
    snprintf(text, sizeof(text), "Roots: %zu (first: %s)", json_array_size(roots),
             json_string_value(json_object_get(json_array_get(roots, 0), "uri"))
                 ? json_string_value(json_object_get(json_array_get(roots, 0), "uri"))
                 : "none");
    mcp_call_finish_result(call, text_result(text));
}

/* Round 1 asks "confirm" with sealed state {round:1}; round 2 needs both back. Also the
 * tampered-state tool: the engine refuses altered state before this runs. */
static void tool_irr_request_state(struct mcp_call *call, const void *args)
{
    const json_t *state = mcp_call_request_state(call);

    (void)args;
    if (state == NULL || json_integer_value(json_object_get(state, "round")) != 1 ||
        mcp_call_input_response(call, "confirm") == NULL) {
        mcp_call_finish_input_required(
            call, json_pack("{s:o}", "confirm", elicit_req("Please confirm", "ok", "boolean")),
            json_pack("{s:i}", "round", 1));
        return;
    }
    mcp_call_finish_result(call, text_result("state-ok: the requestState came back intact"));
}

static void tool_irr_multiple(struct mcp_call *call, const void *args)
{
    (void)args;
    if (mcp_call_request_state(call) == NULL ||
        mcp_call_input_response(call, "user_name") == NULL ||
        mcp_call_input_response(call, "greeting") == NULL ||
        mcp_call_input_response(call, "client_roots") == NULL) {
        mcp_call_finish_input_required(
            call,
            json_pack("{s:o, s:o, s:o}", "user_name",
                      elicit_req("What is your name?", "name", "string"), "greeting",
                      sampling_req("Generate a greeting", 50), "client_roots", roots_req()),
            json_pack("{s:s}", "asked", "user_name,greeting,client_roots"));
        return;
    }
    mcp_call_finish_result(call, text_result("All three inputs received"));
}

static void tool_irr_multi_round(struct mcp_call *call, const void *args)
{
    const json_t *state = mcp_call_request_state(call);
    json_int_t step = json_integer_value(json_object_get(state, "step"));
    const char *name = answer_field(call, "step1", "name");
    const char *color = answer_field(call, "step2", "color");
    char text[256];

    (void)args;
    if (step == 1 && name != NULL) {
        mcp_call_finish_input_required(
            call,
            json_pack("{s:o}", "step2",
                      elicit_req("Step 2: What is your favorite color?", "color", "string")),
            json_pack("{s:i, s:s}", "step", 2, "name", name));
        return;
    }
    if (step == 2 && color != NULL) {
        snprintf(text, sizeof(text), "%s likes %s",
                 json_string_value(json_object_get(state, "name")), color);
        mcp_call_finish_result(call, text_result(text));
        return;
    }
    mcp_call_finish_input_required(
        call,
        json_pack("{s:o}", "step1", elicit_req("Step 1: What is your name?", "name", "string")),
        json_pack("{s:i}", "step", 1));
}

/* Asks only for what the request's clientCapabilities declare. */
static void tool_irr_capabilities(struct mcp_call *call, const void *args)
{
    json_t *requests = json_object();

    (void)args;
    if (mcp_call_client_supports(call, "sampling") &&
        mcp_call_input_response(call, "greeting") == NULL)
        json_object_set_new(requests, "greeting", sampling_req("Generate a greeting", 50));
    if (mcp_call_client_supports(call, "elicitation") &&
        mcp_call_input_response(call, "user_name") == NULL)
        json_object_set_new(requests, "user_name",
                            elicit_req("What is your name?", "name", "string"));
    if (json_object_size(requests) == 0) {
        json_decref(requests);
        mcp_call_finish_result(call, text_result("Nothing to ask this client"));
        return;
    }
    mcp_call_finish_input_required(call, requests, NULL);
}

static void tool_missing_capability(struct mcp_call *call, const void *args)
{
    (void)args;
    if (!mcp_call_client_supports(call, "sampling")) {
        mcp_call_finish_missing_capability(call, "sampling");
        return;
    }
    mcp_call_finish_result(call, text_result("The client declared sampling"));
}

/* Progress first, then an InputRequiredResult: the response stream carries only
 * notifications and the result, never a request of ours. */
static void tool_streaming_elicitation(struct mcp_call *call, const void *args)
{
    (void)args;
    mcp_call_progress(call, 1, 2, "about to ask");
    if (mcp_call_input_response(call, "answer") != NULL) {
        mcp_call_finish_result(call, text_result("Answered"));
        return;
    }
    mcp_call_finish_input_required(
        call, json_pack("{s:o}", "answer", elicit_req("Anything to add?", "text", "string")), NULL);
}

static void tool_logging(struct mcp_call *call, const void *args)
{
    (void)args;
    mcp_call_log(call, SZ_LOG_INFO, "Tool execution started");
    mcp_call_log(call, SZ_LOG_INFO, "Tool processing data");
    mcp_call_log(call, SZ_LOG_INFO, "Tool execution completed");
    mcp_call_finish_result(call, text_result("Logged three messages (if the request asked)"));
}

static void tool_trigger_tools(struct mcp_call *call, const void *args)
{
    (void)args;
    mcp_server_list_changed(fixture_server(call), MCP_LIST_TOOLS);
    mcp_call_finish_result(call, text_result("tools/list_changed sent"));
}

static void tool_trigger_prompts(struct mcp_call *call, const void *args)
{
    (void)args;
    mcp_server_list_changed(fixture_server(call), MCP_LIST_PROMPTS);
    mcp_call_finish_result(call, text_result("prompts/list_changed sent"));
}

struct header_args {
    const char *region;
};

static const struct mcp_arg header_arg[] = {
    {.name = "region",
     .type = MCP_ARG_STRING,
     .flags = MCP_ARG_REQUIRED, /* a plain "type": "string" (an optional row is nullable) */
     .off = offsetof(struct header_args, region),
     .description = "A region, mirrored into the Mcp-Param-Region header",
     .header = "Region"},
};

static void tool_header_param(struct mcp_call *call, const void *args)
{
    const struct header_args *a = args;
    char text[256];

    snprintf(text, sizeof(text), "region: %s", a->region ? a->region : "(none)");
    mcp_call_finish_result(call, text_result(text));
}

static void tool_echo_args(struct mcp_call *call, const void *args)
{
    char *text = json_dumps(mcp_call_args(call), JSON_COMPACT);

    (void)args;
    mcp_call_finish_result(call, text_result(text ? text : "{}"));
    free(text);
}

static const char JSON_SCHEMA_2020_12[] =
    "{\"$schema\":\"https://json-schema.org/draft/2020-12/schema\",\"type\":\"object\","
    "\"$defs\":{\"address\":{\"$anchor\":\"addressDef\",\"type\":\"object\",\"properties\":"
    "{\"street\":{\"type\":\"string\"},\"city\":{\"type\":\"string\"}}}},"
    "\"properties\":{\"name\":{\"type\":\"string\"},\"address\":{\"$ref\":\"#/$defs/address\"},"
    "\"contactMethod\":{\"type\":\"string\",\"enum\":[\"phone\",\"email\"]},"
    "\"phone\":{\"type\":\"string\"},\"email\":{\"type\":\"string\"}},"
    "\"allOf\":[{\"anyOf\":[{\"required\":[\"phone\"]},{\"required\":[\"email\"]}]}],"
    "\"if\":{\"properties\":{\"contactMethod\":{\"const\":\"phone\"}},\"required\":"
    "[\"contactMethod\"]},\"then\":{\"required\":[\"phone\"]},\"else\":{\"required\":"
    "[\"email\"]},\"additionalProperties\":false}";

#define DIAG(tname, tdesc, fn)                                                                     \
    .name = (tname), .description = (tdesc), .annotations = MCP_READ_ONLY, .start = (fn)

static struct mcp_tool modern_tools[] = {
    {DIAG("test_input_required_result_elicitation", "Asks the user's name (MRTR elicitation)",
          tool_irr_elicitation)},
    {DIAG("test_input_required_result_sampling", "Asks the client's LLM (MRTR sampling)",
          tool_irr_sampling)},
    {DIAG("test_input_required_result_list_roots", "Asks for the client's roots (MRTR roots/list)",
          tool_irr_roots)},
    {DIAG("test_input_required_result_request_state", "Round-trips a sealed requestState",
          tool_irr_request_state)},
    {DIAG("test_input_required_result_tampered_state",
          "Issues a sealed requestState; altered state is refused", tool_irr_request_state)},
    {DIAG("test_input_required_result_multiple_inputs",
          "Asks three things at once (elicitation, sampling, roots)", tool_irr_multiple)},
    {DIAG("test_input_required_result_multi_round", "Asks twice, carrying state across rounds",
          tool_irr_multi_round)},
    {DIAG("test_input_required_result_capabilities",
          "Asks only what the request's clientCapabilities allow", tool_irr_capabilities)},
    {DIAG("test_missing_capability", "Needs the sampling capability (-32021 without it)",
          tool_missing_capability)},
    {DIAG("test_streaming_elicitation", "Reports progress, then asks (MRTR) on its stream",
          tool_streaming_elicitation)},
    {DIAG("test_logging_tool", "Logs three messages, only for a request that set a logLevel",
          tool_logging)},
    {DIAG("test_trigger_tool_change", "Announces a change of the tool list", tool_trigger_tools)},
    {DIAG("test_trigger_prompt_change", "Announces a change of the prompt list",
          tool_trigger_prompts)},
    {DIAG("test_header_param", "Takes a region mirrored into the Mcp-Param-Region header",
          tool_header_param),
     MCP_ARGS(struct header_args, header_arg)},
    {DIAG("json_schema_2020_12_tool", "Tool with JSON Schema 2020-12 features", tool_echo_args),
     .input_schema = JSON_SCHEMA_2020_12},
};

static void prompt_irr(struct mcp_call *call, json_t *args, void *data)
{
    const char *context = answer_field(call, "user_context", "context");

    (void)args;
    (void)data;
    if (context == NULL) {
        mcp_call_finish_input_required(
            call,
            json_pack("{s:o}", "user_context",
                      elicit_req("What context should the prompt use?", "context", "string")),
            NULL);
        return;
    }
    mcp_call_finish_result(call, json_pack("{s:[{s:s, s:{s:s, s:s}}]}", "messages", "role", "user",
                                           "content", "type", "text", "text", context));
}

static const struct mcp_prompt modern_prompts[] = {
    {"test_input_required_result_prompt", "MRTR prompt",
     "A prompt that asks the user for context first (MRTR)", NULL, prompt_irr, NULL, NULL},
};

int fixture_modern_register(struct mcp_server *server)
{
    mcp_server_set_list_changed(server, MCP_LIST_TOOLS | MCP_LIST_PROMPTS | MCP_LIST_RESOURCES);
    for (size_t i = 0; i < sizeof(modern_tools) / sizeof(modern_tools[0]); i++) {
        modern_tools[i].data = server;
        if (mcp_server_add_tool(server, &modern_tools[i]) != 0)
            return -1;
    }
    for (size_t i = 0; i < sizeof(modern_prompts) / sizeof(modern_prompts[0]); i++)
        if (mcp_server_add_prompt(server, &modern_prompts[i]) != 0)
            return -1;
    return 0;
}

struct mcp_server *fixture_server(const struct mcp_call *call)
{
    return mcp_call_tool_data(call);
}
